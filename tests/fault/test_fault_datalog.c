/*
 * test_fault_datalog.c -- transact, bulk load, snapshots and reads with
 * the Nth allocation failing, for every N until the operation succeeds:
 * each failure returns an error (never crashes), leaks nothing (ASan
 * checks), and leaves the database exactly as before.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static const char *SCHEMA =
    "{:p/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :p/pet {:db/valueType :db.type/ref :db/isComponent true}"
    " :p/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}}";

#define TEN10                                                                                      \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"                                                                                   \
    "0123456789"
/* a value too long for a key: stored once in full */
#define BIG TEN10 TEN10 TEN10 TEN10 TEN10

static const char *TX =
    "[{:db/id \"a\" :p/email \"a@x\" :p/name \"A\" :p/friend [\"b\"] :p/pet {:pet/name \"Rex\"}}"
    " {:db/id \"b\" :p/email \"b@x\" :p/tags #{:x :y} :p/big \"" BIG "\"}"
    " [:db/cas 1 :p/n nil 5] [:db/retractEntity 3]]";

/* Runs op with allocation n failing, for n = 0.. until it succeeds. */
static void until_success(tu_db *d, int (*op)(dt_conn *), const char *what) {
    for (long n = 0; n < 100000; n++) {
        char *before = tu_dump(d->conn, 1);
        dt__alloc_fail_at(n);
        int rc = op(d->conn);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            free(before);
            return;
        }
        if (rc != DT_NOMEM)
            fail_msg("%s with allocation %ld failing: rc %d (%s), wanted DT_NOMEM", what, n, rc,
                     dt_errmsg(d->conn));
        char *after = tu_dump(d->conn, 1);
        if (strcmp(before, after) != 0)
            fail_msg("%s with allocation %ld failing changed the database", what, n);
        free(before);
        free(after);
    }
    fail_msg("%s never succeeded", what);
}

static int op_transact(dt_conn *c) { return dt_transact(c, TX, NULL); }

static int op_transact_report(dt_conn *c) {
    dt_report *r = NULL;
    int rc = dt_transact(c, "[{:db/id \"n\" :p/email \"n@x\"} [:db/add 1 :p/name \"A2\"]]", &r);
    dt_report_free(r);
    return rc;
}

static int op_read(dt_conn *c) {
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_datom_iter *it = NULL;
    rc = dt_datoms(db, DT_INDEX_EAV, NULL, 0, &it);
    dt_datom d;
    while (rc == DT_OK && (rc = dt_datom_iter_next(it, &d)) == DT_ROW) rc = DT_OK;
    if (rc == DT_DONE) rc = DT_OK;
    dt_datom_iter_free(it);
    dt_db_release(db);
    return rc;
}

static int op_schema(dt_conn *c) {
    return dt_conn_update_schema(c, "{:p/age {:db/valueType :db.type/long}}");
}

static void test_transact_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[{:db/id 3 :p/name \"gone\"}]", DT_OK, 0);
    until_success(d, op_transact, "transact");
    until_success(d, op_transact_report, "transact with report");
    until_success(d, op_schema, "schema update");
    until_success(d, op_read, "snapshot read");
    /* explicit id 3 makes the tempids start at 4; entity 3 was retracted */
    char *want = malloc(2048);
    snprintf(want, 2048,
             "[1 :p/n 5]\n[1 :p/name \"A2\"]\n[4 :p/email \"a@x\"]\n[4 :p/friend 5]\n"
             "[4 :p/name \"A\"]\n[4 :p/pet 6]\n[5 :p/big \"%s\"]\n[5 :p/email \"b@x\"]\n"
             "[5 :p/tags :x]\n[5 :p/tags :y]\n[6 :pet/name \"Rex\"]\n[7 :p/email \"n@x\"]",
             BIG);
    tu_assert_dump(d->conn, want);
    free(want);
    tu_db_close(d);
}

static int op_load(dt_conn *c) {
    dt_loader *ld = NULL;
    int rc = dt_loader_open(c, DT_LOAD_INIT, NULL, &ld);
    if (rc == DT_OK)
        rc = dt_loader_add_edn(ld, "[1 :p/email \"a@x\"]\n[1 :p/friend 2]\n[2 :q 1.5]", 45);
    if (rc == DT_OK) rc = dt_loader_finish(ld, NULL);
    dt_loader_free(ld);
    return rc;
}

static void test_bulk_load_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    until_success(d, op_load, "init-db");
    tu_assert_dump(d->conn, "[1 :p/email \"a@x\"]\n[1 :p/friend 2]\n[2 :q 1.5]");
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transact_fails_cleanly_at_every_allocation),
        cmocka_unit_test(test_bulk_load_fails_cleanly_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
