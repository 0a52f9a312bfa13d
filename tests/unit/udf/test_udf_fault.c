/*
 * test_udf_fault.c -- a Lua function call with the Nth allocation failing
 * (and every later one), for every N until the call succeeds, on a fresh
 * connection each time (so the Lua state is built, and the function
 * compiled, under the failure too): each failure is DT_NOMEM with an
 * "out of memory" message, leaks nothing (ASan), and leaves the database
 * exactly as before.
 */
#include "faultutil.h"
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA = "{:a/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :a/n {:db/valueType :db.type/long}"
                            " :a/tags {:db/valueType :db.type/string :db/cardinality "
                            ":db.cardinality/many}}";

static const char *FN =
    "return function(db, id, k)\n"
    "  local e = db:entity({dt.kw'a/id', id})\n"
    "  local tags = e['a/tags']\n"
    "  local ds = db:datoms('eavt', e['db/id'])\n"
    "  return {dt.add(e['db/id'], 'a/n', e['a/n'] + k + #tags + #ds),\n"
    "          {['db/id'] = dt.tempid('x'), ['a/tags'] = {'u', tostring(dt.kw'q/r')}}}\n"
    "end";

static int op_call(dt_conn *c, const void **msg_on) { return dt_transact(c, "[[:t/f 1 5]]", NULL); }

static void test_call_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[{:a/id 1 :a/n 10 :a/tags [\"p\" \"q\"]}]", DT_OK, 0);
    uu_install(d->conn, "t/f", FN);
    /* a fresh Lua state for each run */
    long n = tu_fail_each_alloc(d, op_call, tu_db_reopen, "a stored function call");
    assert_true(n > 100);
    char *dump = tu_dump(d->conn, 0);
    if (!strstr(dump, "[1 :a/n 21]")) fail_msg("%s", dump);
    free(dump);
    tu_db_close(d);
}

/* (c/pair a): [a "a"], built with allocations that may fail. */
static int c_pair(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud, (void)nargs;
    int rc = dt_value_seq(DT_VECTOR, 2, out);
    if (rc != DT_OK) return rc;
    dt_value_long(args[0].u.i, &out->u.seq.items[0]);
    return dt_value_text(DT_STRING, "a", 1, &out->u.seq.items[1]);
}

static const dt_fn_def QFNS[] = {
    {"c/pair", DT_FN_C, NULL, NULL, NULL, "query-fn", c_pair},
    {"lua/tag", DT_FN_LUA, NULL, NULL,
     "return function(n, s) return {n + 1, s .. '!', dt.kw('t/' .. s)} end", "query-fn", NULL},
};

/* The state of the query runs: the connection's options, a snapshot
 * taken before each run, and the result of the one that succeeds. */
static dt_conn_options qopts;
static dt_db *qdb;
static dt_result *qres;

static const char *Q = "[:find ?x ?y ?k :where [?e :a/n ?n] [(c/pair ?n) [?m ?s]] "
                       "[(lua/tag ?m ?s) [?x ?y ?k]]]";

/* A freshly opened connection (the pool's Lua state is built and the
 * function compiled under the failure) and a snapshot of it. */
static void fresh_snapshot(tu_db *d) {
    dt_db_close(qdb);
    qdb = NULL;
    assert_int_equal(dt_conn_close(d->conn), DT_OK);
    d->conn = NULL;
    if (dt_conn_open(d->dir, NULL, &qopts, &d->conn) != DT_OK) fail_msg("%s", dt_errmsg(NULL));
    assert_int_equal(dt_conn_db(d->conn, &qdb), DT_OK);
}

static int op_query(dt_conn *c, const void **msg_on) {
    dt_input in = {qdb, NULL, NULL, 0};
    int rc = dt_q_inputs(Q, strlen(Q), &in, 1, NULL, &qres);
    if (rc != DT_OK) dt_errmsg_set(c, rc, "%s", dt_errmsg(NULL)); /* reported on the NULL slot */
    return rc;
}

/* A query calling a C and a Lua query function, with the Nth allocation
 * failing, on a freshly opened connection each time: DT_NOMEM with "out
 * of memory", no leak, and the next run answers right. */
static void test_query_function_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    qopts = o;
    qopts.fns = QFNS;
    qopts.nfns = 2;
    tu_db *d = uu_open(SCHEMA, &qopts);
    tu_tx(d->conn, "[{:a/id 1 :a/n 10} {:a/id 2 :a/n 20}]", DT_OK, 0);
    long n = tu_fail_each_alloc(d, op_query, fresh_snapshot, "a query calling query functions");
    assert_true(n > 200); /* the Lua state alone takes hundreds */
    char *edn = NULL;
    assert_int_equal(dt_result_edn(qres, &edn, NULL), DT_OK);
    if (!strstr(edn, "[11 \"a!\" :t/a]") || !strstr(edn, "[21 \"a!\" :t/a]")) fail_msg("%s", edn);
    dt_free(edn);
    dt_result_free(qres);
    qres = NULL;
    dt_db_close(qdb);
    qdb = NULL;
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_fails_cleanly_at_every_allocation),
        cmocka_unit_test(test_query_function_fails_cleanly_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
