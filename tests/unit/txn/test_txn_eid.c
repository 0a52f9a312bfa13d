/*
 * test_txn_eid.c -- the entity-id range and the tempid allocator.  User
 * entity ids are 1 .. 2^42-1, transaction ids 2^42+1 .. up to the current
 * transaction; anything else is refused as an entity or a ref value, by
 * transact, import, init-db/fill-db and reads.  Using the top id (as an
 * entity, a ref value or through init-db) must not stop tempids from
 * working: they then take free ids, never one that a datom, history, a
 * ref value or the transaction itself uses.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "store.h"

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/friend {:db/valueType :db.type/ref}"
                            " :p/n {:db/valueType :db.type/long}}";

#define TOP "4398046511103" /* 2^42 - 1 */

TU_DB_FIXTURE(SCHEMA)

/* The id the tempid "t" gets in a new entity. */
static int64_t new_entity(dt_conn *c, const char *name) {
    char edn[128];
    snprintf(edn, sizeof edn, "[{:db/id \"t\" :p/name \"%s\"}]", name);
    dt_report *r = tu_tx(c, edn, DT_OK, 1);
    int64_t id = tu_tempid(r, "t");
    dt_report_close(r);
    return id;
}

static void test_top_entity_id_does_not_exhaust_tempids(void **state) {
    dt_conn *c = C(state);
    assert_int_equal(new_entity(c, "one"), 1);
    tu_tx(c, "[[:db/add " TOP " :p/n 1]]", DT_OK, 0);
    /* from now on: free ids, from the bottom */
    assert_int_equal(new_entity(c, "two"), 2);
    dt_report *r =
        tu_tx(c, "[{:db/id \"a\" :p/name \"a\"} {:db/id \"b\" :p/name \"b\"}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "a"), 3);
    assert_int_equal(tu_tempid(r, "b"), 4);
    dt_report_close(r);
    /* retracting the top entity does not matter either, and the position
     * is kept across reopening */
    tu_tx(c, "[[:db/retract " TOP " :p/n 1]]", DT_OK, 0);
    tu_db_reopen(*state);
    c = C(state);
    assert_int_equal(new_entity(c, "five"), 5);
    tu_assert_dump(c, "[1 :p/name \"one\"]\n[2 :p/name \"two\"]\n[3 :p/name \"a\"]\n"
                      "[4 :p/name \"b\"]\n[5 :p/name \"five\"]");
}

static void test_top_id_as_ref_value(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(c, "[{:db/id \"a\" :p/friend " TOP "}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "a"), 1);
    dt_report_close(r);
    assert_int_equal(new_entity(c, "x"), 2);
    tu_assert_dump(c, "[1 :p/friend " TOP "]\n[2 :p/name \"x\"]");
}

/* Free ids skip what datoms, history, ref values and the transaction use. */
static void test_free_ids_skip_used_ones(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/name \"1\"] [:db/add 3 :p/n 3] [:db/add 5 :p/n 5]]", DT_OK, 0);
    tu_tx(c, "[[:db/retract 3 :p/n 3] [:db/add 1 :p/friend 4]]", DT_OK, 0);
    tu_tx(c, "[[:db/add " TOP " :p/n 1]]", DT_OK, 0);
    /* 2 is free; 3 has history, 4 is a ref value, 5 a datom, 6 named by the
     * transaction itself, 7 free */
    dt_report *r = tu_tx(c,
                         "[{:db/id \"a\" :p/name \"a\"} {:db/id \"b\" :p/name \"b\"}"
                         " [:db/add 6 :p/n 6]]",
                         DT_OK, 1);
    assert_int_equal(tu_tempid(r, "a"), 2);
    assert_int_equal(tu_tempid(r, "b"), 7);
    dt_report_close(r);
    assert_int_equal(new_entity(c, "c"), 8);
}

/* The counter reaches the top inside one transaction: the ids the
 * transaction names, and those it gave already, are not free. */
static void test_top_reached_within_a_transaction(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/n 1] [:db/add 4398046511100 :p/n 0]]", DT_OK, 0);
    dt_report *r = tu_tx(c,
                         "[{:db/id \"a\" :p/n 10} {:db/id \"b\" :p/n 11} {:db/id \"c\" :p/n 12}"
                         " {:db/id \"d\" :p/n 13} [:db/add 2 :p/n 2]]",
                         DT_OK, 1);
    assert_int_equal(tu_tempid(r, "a"), 4398046511101LL);
    assert_int_equal(tu_tempid(r, "b"), 4398046511102LL);
    assert_int_equal(tu_tempid(r, "c"), 4398046511103LL);
    assert_int_equal(tu_tempid(r, "d"), 3);
    dt_report_close(r);
    tu_assert_dump(c, "[1 :p/n 1]\n[2 :p/n 2]\n[3 :p/n 13]\n[4398046511100 :p/n 0]\n"
                      "[4398046511101 :p/n 10]\n[4398046511102 :p/n 11]\n"
                      "[4398046511103 :p/n 12]");
}

/* The probe wraps around from the top to 1. */
static void test_free_ids_wrap_around(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/n 1] [:db/add 4398046511102 :p/n 2] [:db/add " TOP " :p/n 3]]", DT_OK,
          0);
    dt_kv_txn *t = NULL;
    assert_int_equal(dt_kv_txn_begin(c->kv, DT_KV_TXN_WRITE, &t), DT_OK);
    assert_int_equal(dl_meta_put_u64(&c->st, t, "eid_gap", (uint64_t)DL_MAX_EID - 1), DT_OK);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    assert_int_equal(new_entity(c, "w"), 2);
    assert_int_equal(new_entity(c, "x"), 3);
}

static void test_entity_positions_out_of_range_are_refused(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/n 1]]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[[:db/add 4398046511104 :p/n 1]]", DT_INVALID, "out of range");
    tu_assert_fails_unchanged(c, "[[:db/add 8796093022208 :p/n 1]]", DT_INVALID, "out of range");
    tu_assert_fails_unchanged(c, "[[:db/add 9223372036854775807 :p/n 1]]", DT_INVALID,
                              "out of range");
    tu_assert_fails_unchanged(c, "[{:db/id 4398046511104 :p/n 1}]", DT_INVALID, "out of range");
    tu_assert_fails_unchanged(c, "[[:db/add 0 :p/n 1]]", DT_INVALID, "0");
}

static void test_ref_values_out_of_range_are_refused(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/n 1]]", DT_OK, 0); /* transaction 2^42 + 1 */
    const char *bad[] = {"4398046511104",       /* 2^42: no entity */
                         "4398046511107",       /* a future one (the current is 2^42+2) */
                         "8796093022207",       /* 2^43 - 1 */
                         "8796093022208",       /* 2^43 */
                         "9223372036854775807", /* 2^63 - 1 */
                         NULL};
    for (int i = 0; bad[i]; i++) {
        char edn[128];
        snprintf(edn, sizeof edn, "[[:db/add 1 :p/friend %s]]", bad[i]);
        tu_assert_fails_unchanged(c, edn, DT_INVALID, "is not an entity id");
        snprintf(edn, sizeof edn, "[{:db/id \"t\" :p/friend %s}]", bad[i]);
        tu_assert_fails_unchanged(c, edn, DT_INVALID, "is not an entity id");
    }
    /* an earlier transaction, the current one, the top user id */
    tu_tx(c, "[[:db/add 1 :p/friend 4398046511105]]", DT_OK, 0);
    tu_tx(c, "[[:db/add 2 :p/friend 4398046511107]]", DT_OK, 0); /* tx 2^42 + 3 itself */
    tu_tx(c, "[[:db/add 3 :p/friend " TOP "]]", DT_OK, 0);
    /* a lookup of an out-of-range id, as a value of a ref in a lookup ref */
    tu_assert_fails_unchanged(c, "[[:db/retract 1 :p/friend 9223372036854775807]]", DT_INVALID,
                              "is not an entity id");
}

static void test_import_after_top_id(void **state) {
    dt_conn *c = C(state);
    const char *text = "[[:db/add " TOP " :p/n 1] {:db/id \"a\" :p/name \"a\"}"
                       " {:db/id \"b\" :p/name \"b\" :p/friend \"a\"}]";
    uint64_t ntx = 0;
    assert_int_equal(dt_import_edn(c, text, strlen(text), 1, &ntx), DT_OK);
    assert_int_equal(ntx, 3);
    tu_assert_dump(c, "[1 :p/name \"a\"]\n[2 :p/friend 1]\n[2 :p/name \"b\"]\n[" TOP " :p/n 1]");
    const char *bad = "[[:db/add 1 :p/friend 4398046511104]]";
    assert_int_equal(dt_import_edn(c, bad, strlen(bad), 0, NULL), DT_INVALID);
}

static int load(dt_conn *c, dt_load_mode mode, int64_t e, const char *attr, const dt_value *v,
                char *msg, size_t cap) {
    dt_loader *ld = NULL;
    int rc = dt_loader_open(c, mode, NULL, &ld);
    if (rc == DT_OK) rc = dt_loader_add(ld, e, attr, v);
    if (rc == DT_OK) rc = dt_loader_finish(ld, NULL);
    snprintf(msg, cap, "%s", rc == DT_OK ? "" : ld ? dt_errmsg(ld) : dt_errmsg(c));
    dt_loader_close(ld);
    return rc;
}

static void test_bulk_loads_check_the_range(void **state) {
    dt_conn *c = C(state);
    char msg[512];
    dt_value v;
    dt_value_long(4398046511104LL, &v);
    assert_int_equal(load(c, DT_LOAD_INIT, 1, "p/friend", &v, msg, sizeof msg), DT_INVALID);
    assert_non_null(strstr(msg, "is not an entity id"));
    dt_value_long(INT64_MAX, &v);
    assert_int_equal(load(c, DT_LOAD_FILL, 1, "p/friend", &v, msg, sizeof msg), DT_INVALID);
    assert_non_null(strstr(msg, "is not an entity id"));
    dt_value_long(1, &v);
    assert_int_equal(load(c, DT_LOAD_INIT, 4398046511104LL, "p/n", &v, msg, sizeof msg),
                     DT_INVALID);
    assert_non_null(strstr(msg, "out of range"));
    tu_assert_dump(c, "");
    /* init-db of the top id, then tempids still work */
    dt_value_long(4398046511103LL, &v);
    assert_int_equal(load(c, DT_LOAD_INIT, 4398046511103LL, "p/friend", &v, msg, sizeof msg),
                     DT_OK);
    assert_int_equal(new_entity(c, "after"), 1);
    /* fill-db with a ref to the top id too */
    assert_int_equal(load(c, DT_LOAD_FILL, 7, "p/friend", &v, msg, sizeof msg), DT_OK);
    assert_int_equal(new_entity(c, "again"), 2);
}

static void test_reads_refuse_ids_out_of_range(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/n 1]]", DT_OK, 0);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value e;
    int64_t out = 0;
    dt_value_long(8796093022208LL, &e);
    assert_int_equal(dt_db_entid(db, &e, &out), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(db), "out of range"));
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, &e, 1, &it), DT_INVALID);
    assert_null(it);
    dt_value_long(1, &e);
    assert_int_equal(dt_db_entid(db, &e, &out), DT_OK);
    assert_int_equal(out, 1);
    dt_db_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_top_entity_id_does_not_exhaust_tempids),
        T(test_top_id_as_ref_value),
        T(test_free_ids_skip_used_ones),
        T(test_free_ids_wrap_around),
        T(test_top_reached_within_a_transaction),
        T(test_entity_positions_out_of_range_are_refused),
        T(test_ref_values_out_of_range_are_refused),
        T(test_import_after_top_id),
        T(test_bulk_loads_check_the_range),
        T(test_reads_refuse_ids_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
