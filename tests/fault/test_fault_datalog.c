/*
 * test_fault_datalog.c -- transact, bulk load, snapshots and reads with
 * the Nth allocation failing, for every N until the operation succeeds:
 * each failure returns an error (never crashes), leaks nothing (ASan
 * checks), and leaves the database exactly as before.
 */
#include "faultutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int op_transact(dt_conn *c, const void **msg_on) { return dt_transact(c, TX, NULL); }

static int op_transact_async(dt_conn *c, const void **msg_on) {
    dt_future *f = NULL;
    int rc = dt_transact_async(c, "[{:db/id \"q\" :p/email \"q@x\" :p/tags [:z]}]", NULL, NULL, &f);
    if (rc != DT_OK) return rc;
    rc = dt_future_wait(f);
    if (rc != DT_OK) dt_errmsg_set(c, rc, "%s", dt_future_errmsg(f));
    dt_future_free(f);
    return rc;
}

static int op_block(dt_conn *c, const void **msg_on) {
    dt_txn *tx = NULL;
    int rc = dt_txn_begin(c, &tx);
    if (rc != DT_OK) return rc;
    dt_savepoint *sp = NULL;
    rc = dt_txn_transact(tx, "[{:db/id \"w\" :p/email \"w@x\"}]", NULL);
    if (rc == DT_OK) rc = dt_savepoint_create(tx, &sp);
    if (rc == DT_OK) rc = dt_txn_transact(tx, "[[:db/add 1 :p/tags :w]]", NULL);
    if (rc == DT_OK) rc = dt_savepoint_release(tx, sp);
    dt_db *view = NULL;
    if (rc == DT_OK) rc = dt_txn_db(tx, &view);
    dt_db_close(view);
    if (rc != DT_OK) {
        dt_errmsg_set(c, rc, "%s", dt_errmsg(tx));
        dt_txn_abort(tx);
        return rc;
    }
    return dt_txn_commit(tx);
}

static int op_import(dt_conn *c, const void **msg_on) {
    static const char text[] = "[{:db/id \"i\" :p/email \"i@x\"} [:db/add \"i\" :p/tags :i]]";
    return dt_import_edn(c, text, sizeof text - 1, 0, NULL); /* one batch: all or nothing */
}

static int op_kv(dt_conn *c, const void **msg_on) {
    dt_kv *kv = dt_conn_kv(c);
    *msg_on = kv;
    dt_kv_dbi d;
    int rc = dt_kv_dbi_open(kv, "app", DT_KV_DBI_CREATE, &d);
    if (rc == DT_OK) rc = dt_kv_put(kv, NULL, d, "k", 1, "v", 1, 0);
    void *v = NULL;
    size_t n = 0;
    if (rc == DT_OK) rc = dt_kv_get(kv, NULL, d, "k", 1, &v, &n);
    dt_free(v);
    dt_kv_list l = DT_KV_LIST_INIT;
    if (rc == DT_OK) rc = dt_kv_get_range(kv, NULL, d, NULL, &l);
    dt_kv_list_free(&l);
    return rc;
}

static int op_schema_read(dt_conn *c, const void **msg_on) {
    char *s = NULL;
    int rc = dt_conn_schema(c, &s);
    dt_free(s);
    return rc;
}

static int op_edn(dt_conn *c, const void **msg_on) {
    (void)c;
    static char slot; /* the NULL slot's message is copied here */
    *msg_on = &slot;
    dt_value v = DT_VALUE_NIL;
    static const char text[] = "{:a [1 2.5 \"s\" #{:k} #inst \"2020-01-01\"] :b (x y)}";
    int rc = dt_edn_read(text, sizeof text - 1, &v);
    char *out = NULL;
    if (rc == DT_OK) rc = dt_edn_write(&v, DT_EDN_PRETTY, &out, NULL);
    dt_free(out);
    dt_value_free(&v);
    if (rc != DT_OK) dt_errmsg_set(&slot, rc, "%s", dt_errmsg(NULL));
    return rc;
}

static int op_transact_report(dt_conn *c, const void **msg_on) {
    dt_report *r = NULL;
    int rc = dt_transact(c, "[{:db/id \"n\" :p/email \"n@x\"} [:db/add 1 :p/name \"A2\"]]", &r);
    dt_report_close(r);
    return rc;
}

static int op_read(dt_conn *c, const void **msg_on) {
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_datom_iter *it = NULL;
    rc = dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it);
    if (rc != DT_OK) dt_errmsg_set(c, rc, "%s", dt_errmsg(db)); /* reported on the snapshot */
    dt_datom d;
    while (rc == DT_OK && (rc = dt_datom_iter_next(it, &d)) == DT_ROW) rc = DT_OK;
    if (rc == DT_DONE) rc = DT_OK;
    if (rc != DT_OK && it) dt_errmsg_set(c, rc, "%s", dt_errmsg(it)); /* on the iterator */
    dt_datom_iter_close(it);
    dt_db_close(db);
    return rc;
}

static int op_schema(dt_conn *c, const void **msg_on) {
    return dt_conn_update_schema(c, "{:p/age {:db/valueType :db.type/long}}");
}

static void test_transact_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[{:db/id 3 :p/name \"gone\"}]", DT_OK, 0);
    tu_fail_each_alloc(d, op_transact, NULL, "transact");
    tu_fail_each_alloc(d, op_transact_report, NULL, "transact with report");
    tu_fail_each_alloc(d, op_schema, NULL, "schema update");
    tu_fail_each_alloc(d, op_read, NULL, "snapshot read");
    tu_fail_each_alloc(d, op_transact_async, NULL, "async transact");
    tu_fail_each_alloc(d, op_block, NULL, "block with a savepoint");
    tu_fail_each_alloc(d, op_import, NULL, "import");
    tu_fail_each_alloc(d, op_kv, NULL, "kv on the connection's environment");
    tu_fail_each_alloc(d, op_schema_read, NULL, "schema read");
    tu_fail_each_alloc(d, op_edn, NULL, "EDN read and write");
    /* explicit id 3 makes the tempids start at 4; entity 3 was retracted */
    char *want = malloc(2048);
    snprintf(want, 2048,
             "[1 :p/n 5]\n[1 :p/name \"A2\"]\n[1 :p/tags :w]\n[10 :p/email \"i@x\"]\n"
             "[10 :p/tags :i]\n[4 :p/email \"a@x\"]\n[4 :p/friend 5]\n"
             "[4 :p/name \"A\"]\n[4 :p/pet 6]\n[5 :p/big \"%s\"]\n[5 :p/email \"b@x\"]\n"
             "[5 :p/tags :x]\n[5 :p/tags :y]\n[6 :pet/name \"Rex\"]\n[7 :p/email \"n@x\"]\n"
             "[8 :p/email \"q@x\"]\n[8 :p/tags :z]\n[9 :p/email \"w@x\"]",
             BIG);
    tu_assert_dump(d->conn, want);
    free(want);
    tu_db_close(d);
}

static int op_load(dt_conn *c, const void **msg_on) {
    dt_loader *ld = NULL;
    int rc = dt_loader_open(c, DT_LOAD_INIT, NULL, &ld);
    if (rc == DT_OK)
        rc = dt_loader_add_edn(ld, "[1 :p/email \"a@x\"]\n[1 :p/friend 2]\n[2 :q 1.5]", 45);
    if (rc == DT_OK) rc = dt_loader_finish(ld, NULL);
    if (rc != DT_OK && ld) dt_errmsg_set(c, rc, "%s", dt_errmsg(ld)); /* reported on the loader */
    dt_loader_close(ld);
    return rc;
}

static void test_bulk_load_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_fail_each_alloc(d, op_load, NULL, "init-db");
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
