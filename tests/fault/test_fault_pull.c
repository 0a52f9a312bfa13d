/*
 * test_fault_pull.c -- pulls with the Nth allocation failing, for every N
 * until the pull succeeds: on the heap (dt_pull, dt_pull_many), into an
 * arena (dt_pull_in, dt_pull_many_in, dt_arena_new) and in a query's
 * :find.  Each failure is DT_NOMEM with an "out of memory" message of its
 * own, leaks nothing (ASan) and changes nothing; the result of the run
 * that succeeds is checked against a pull made with no failure.
 */
#include "faultutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:p/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/name {:db/valueType :db.type/string}"
    " :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :p/pet {:db/valueType :db.type/ref :db/isComponent true}"
    " :p/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}}";

static const char *PATTERN = "[* {:p/friend ...} :_p/friend (default :p/nick \"none\")]";

/* The results with no allocation failing. */
static dt_value want_one, want_many;

static int op_heap(dt_conn *c, const void **msg_on) {
    (void)msg_on;
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_value e = DT_VALUE_NIL, eids = DT_VALUE_NIL, one = DT_VALUE_NIL, many = DT_VALUE_NIL;
    rc = tu_fault_on(c, NULL, dt_edn_read("[:p/email \"a@x\"]", 16, &e));
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_edn_read("[1 2 3 999]", 11, &eids));
    if (rc == DT_OK) rc = tu_fault_on(c, db, dt_pull(db, PATTERN, strlen(PATTERN), &e, &one));
    if (rc == DT_OK)
        rc = tu_fault_on(c, db,
                         dt_pull_many(db, PATTERN, strlen(PATTERN), eids.u.seq.items, 4, &many));
    if (rc == DT_OK) {
        assert_true(dt_value_equal(&want_one, &one));
        assert_true(dt_value_equal(&want_many, &many));
    }
    dt_value_free(&one);
    dt_value_free(&many);
    dt_value_free(&e);
    dt_value_free(&eids);
    dt_db_close(db);
    return rc;
}

static int op_arena(dt_conn *c, const void **msg_on) {
    (void)msg_on;
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_arena *a = NULL;
    dt_value e = DT_VALUE_NIL, eids = DT_VALUE_NIL, one = DT_VALUE_NIL, many = DT_VALUE_NIL;
    rc = tu_fault_on(c, NULL, dt_arena_new(&a));
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_edn_read("[:p/email \"a@x\"]", 16, &e));
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_edn_read("[1 2 3 999]", 11, &eids));
    if (rc == DT_OK) rc = tu_fault_on(c, db, dt_pull_in(db, PATTERN, strlen(PATTERN), &e, a, &one));
    if (rc != DT_OK) assert_int_equal(one.type, DT_NIL);
    if (rc == DT_OK)
        rc = tu_fault_on(
            c, db, dt_pull_many_in(db, PATTERN, strlen(PATTERN), eids.u.seq.items, 4, a, &many));
    if (rc != DT_OK) assert_int_equal(many.type, DT_NIL);
    if (rc == DT_OK) {
        assert_true(dt_value_equal(&want_one, &one));
        assert_true(dt_value_equal(&want_many, &many));
    }
    dt_arena_free(a);
    dt_value_free(&e);
    dt_value_free(&eids);
    dt_db_close(db);
    return rc;
}

static int op_query(dt_conn *c, const void **msg_on) {
    (void)msg_on;
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_result *r = NULL;
    char q[256];
    snprintf(q, sizeof q, "[:find (pull ?e %s) . :where [?e :p/email \"a@x\"]]", PATTERN);
    rc = tu_fault_on(c, NULL, dt_q(db, q, &r));
    dt_value got = DT_VALUE_NIL;
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_result_value(r, &got));
    if (rc == DT_OK) assert_true(dt_value_equal(&want_one, &got));
    dt_value_free(&got);
    dt_result_free(r);
    dt_db_close(db);
    return rc;
}

static void test_pulls_fail_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn,
          "[{:db/id 1 :p/email \"a@x\" :p/name \"A\" :p/tags [:x :y] :p/friend [2 3]"
          "  :p/pet {:p/name \"Rex\"}}"
          " {:db/id 2 :p/email \"b@x\" :p/name \"B\" :p/friend [3]}"
          " {:db/id 3 :p/email \"c@x\" :p/name \"C\" :p/friend [1]}]",
          DT_OK, 0);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_value e = tu_read("[:p/email \"a@x\"]"), eids = tu_read("[1 2 3 999]");
    assert_int_equal(dt_pull(db, PATTERN, strlen(PATTERN), &e, &want_one), DT_OK);
    assert_int_equal(dt_pull_many(db, PATTERN, strlen(PATTERN), eids.u.seq.items, 4, &want_many),
                     DT_OK);
    assert_int_equal(want_one.type, DT_MAP);
    dt_value_free(&e);
    dt_value_free(&eids);
    dt_db_close(db);
    assert_true(tu_fail_each_alloc(d, op_heap, NULL, "pulls on the heap") > 10);
    assert_true(tu_fail_each_alloc(d, op_arena, NULL, "pulls into an arena") > 3);
    assert_true(tu_fail_each_alloc(d, op_query, NULL, "a pull in :find") > 3);
    dt_value_free(&want_one);
    dt_value_free(&want_many);
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pulls_fail_cleanly_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
