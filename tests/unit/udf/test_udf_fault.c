/*
 * test_udf_fault.c -- a Lua function call with the Nth allocation failing
 * (and every later one), for every N until the call succeeds, on a fresh
 * connection each time (so the Lua state is built, and the function
 * compiled, under the failure too): each failure is DT_NOMEM with an
 * "out of memory" message, leaks nothing (ASan), and leaves the database
 * exactly as before.
 */
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

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

static void test_call_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[{:a/id 1 :a/n 10 :a/tags [\"p\" \"q\"]}]", DT_OK, 0);
    uu_install(d->conn, "t/f", FN);
    long n;
    for (n = 0; n < 200000; n++) {
        tu_db_reopen(d); /* a fresh Lua state */
        char *before = tu_dump(d->conn, 1);
        dt__alloc_fail_at(n);
        int rc = dt_transact(d->conn, "[[:t/f 1 5]]", NULL);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            free(before);
            break;
        }
        const char *msg = dt_errmsg(d->conn);
        if (rc != DT_NOMEM || !strstr(msg, "out of memory"))
            fail_msg("allocation %ld failing: rc %s: %s", n, dt_errstr(rc), msg);
        char *after = tu_dump(d->conn, 1);
        if (strcmp(before, after)) fail_msg("allocation %ld failing changed the database", n);
        free(before);
        free(after);
    }
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

/* A query calling a C and a Lua query function, with the Nth allocation
 * failing, on a freshly opened connection each time (so the pool's Lua
 * state is built and the function compiled under the failure): DT_NOMEM
 * with "out of memory", no leak, and the next run answers right. */
static void test_query_function_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fns = QFNS;
    o.nfns = 2;
    tu_db *d = uu_open(SCHEMA, &o);
    tu_tx(d->conn, "[{:a/id 1 :a/n 10} {:a/id 2 :a/n 20}]", DT_OK, 0);
    const char *q = "[:find ?x ?y ?k :where [?e :a/n ?n] [(c/pair ?n) [?m ?s]] "
                    "[(lua/tag ?m ?s) [?x ?y ?k]]]";
    long n;
    for (n = 0; n < 200000; n++) {
        assert_int_equal(dt_conn_close(d->conn), DT_OK);
        d->conn = NULL;
        if (dt_conn_open(d->dir, NULL, &o, &d->conn) != DT_OK) fail_msg("%s", dt_errmsg(NULL));
        dt_db *db = NULL;
        assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
        dt_input in = {db, NULL, NULL, 0};
        dt_result *r = NULL;
        dt__alloc_fail_at(n);
        int rc = dt_q_inputs(q, strlen(q), &in, 1, NULL, &r);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            char *edn = NULL;
            assert_int_equal(dt_result_edn(r, &edn, NULL), DT_OK);
            if (!strstr(edn, "[11 \"a!\" :t/a]") || !strstr(edn, "[21 \"a!\" :t/a]"))
                fail_msg("%s", edn);
            dt_free(edn);
            dt_result_free(r);
            dt_db_close(db);
            break;
        }
        const char *msg = dt_errmsg(NULL);
        if (rc != DT_NOMEM || !strstr(msg, "out of memory"))
            fail_msg("allocation %ld failing: rc %s: %s", n, dt_errstr(rc), msg);
        dt_db_close(db);
    }
    assert_true(n > 200); /* the Lua state alone takes hundreds */
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_fails_cleanly_at_every_allocation),
        cmocka_unit_test(test_query_function_fails_cleanly_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
