/*
 * test_udf_qthreads.c -- query functions called from many threads at
 * once: 4 threads run queries that call a Lua and a C query function, in
 * both evaluators, on fresh snapshots, while a writer transacts new
 * entities.  Every row must carry the values both functions compute, and
 * every answer must match its snapshot.  Runs under ThreadSanitizer in CI
 * (label threads).
 */
#include "udfutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA = "{:p/n {:db/valueType :db.type/long}}";

#define THREADS 4
#define ROUNDS  60
#define WRITES  120

static atomic_long c_calls;

/* (c/mix a b): a * 1000 + b; counts its calls (thread-safe). */
static int c_mix(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    atomic_long *calls = ud;
    atomic_fetch_add(calls, 1);
    if (nargs != 2 || args[0].type != DT_LONG || args[1].type != DT_LONG)
        return dt_errmsg_set(NULL, DT_INVALID, "mix takes two longs");
    dt_value_long(args[0].u.i * 1000 + args[1].u.i, out);
    return DT_OK;
}

static const dt_fn_def FNS[] = {
    {"c/mix", DT_FN_C, NULL, &c_calls, NULL, "query-fn", c_mix},
    {"lua/mix", DT_FN_LUA, NULL, NULL,
     "local calls = 0\n"
     "return function(a, b) calls = calls + 1; return a * 1000 + b end",
     "query-fn", NULL},
    {"lua/odd?", DT_FN_LUA, NULL, NULL, "return function(a) return a % 2 == 1 end", "query-fn",
     NULL},
};

typedef struct shared {
    dt_conn *conn;
    atomic_int failed;
    atomic_int writer_done;
    char msg[512];
} shared;

static void fail_with(shared *s, const char *what, const char *detail) {
    if (atomic_exchange(&s->failed, 1) == 0)
        snprintf(s->msg, sizeof s->msg, "%s: %s", what, detail);
}

/* Runs q on db with plan mode `naive`; *out the result or NULL. */
static int run(dt_db *db, const char *q, int naive, dt_result **out) {
    dt_input in = {db, NULL, NULL, 0};
    dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, naive ? DT_PLAN_NAIVE : DT_PLAN_AUTO,
                          NULL};
    return dt_q_inputs(q, strlen(q), &in, 1, &o, out);
}

static void *reader(void *arg) {
    shared *s = arg;
    const char *rows_q = "[:find ?e ?n ?x ?y :where [?e :p/n ?n] [(lua/mix ?n 7) ?x] "
                         "[(c/mix ?n 7) ?y]]";
    const char *odd_q = "[:find (count ?e) . :where [?e :p/n ?n] [(lua/odd? ?n)]]";
    const char *all_q = "[:find ?n :where [?e :p/n ?n]]";
    for (int r = 0; r < ROUNDS && !atomic_load(&s->failed); r++) {
        dt_db *db = NULL;
        if (dt_conn_db(s->conn, &db) != DT_OK) {
            fail_with(s, "dt_conn_db", dt_errmsg(s->conn));
            break;
        }
        dt_result *rows = NULL, *odd = NULL, *all = NULL;
        int naive = r % 2;
        if (run(db, rows_q, naive, &rows) != DT_OK || run(db, odd_q, naive, &odd) != DT_OK ||
            run(db, all_q, 0, &all) != DT_OK) {
            fail_with(s, "query", dt_errmsg(NULL));
        } else {
            size_t n = dt_result_count(all), nodd = 0;
            for (size_t i = 0; i < n; i++) nodd += dt_result_get(all, i, 0)->u.i % 2 == 1;
            if (dt_result_count(rows) != n) fail_with(s, "rows", "count differs from the snapshot");
            for (size_t i = 0; i < dt_result_count(rows); i++) {
                int64_t v = dt_result_get(rows, i, 1)->u.i;
                if (dt_result_get(rows, i, 2)->u.i != v * 1000 + 7 ||
                    dt_result_get(rows, i, 3)->u.i != v * 1000 + 7)
                    fail_with(s, "rows", "a function gave a wrong value");
            }
            const dt_value *k = odd ? dt_result_get(odd, 0, 0) : NULL;
            int64_t got = k ? k->u.i : 0;
            if ((size_t)got != nodd) fail_with(s, "odd", "count differs from the snapshot");
        }
        dt_result_free(rows);
        dt_result_free(odd);
        dt_result_free(all);
        dt_db_close(db);
    }
    return NULL;
}

static void *writer(void *arg) {
    shared *s = arg;
    for (int i = 0; i < WRITES && !atomic_load(&s->failed); i++) {
        char tx[64];
        snprintf(tx, sizeof tx, "[{:p/n %d}]", i);
        if (dt_transact(s->conn, tx, NULL) != DT_OK) fail_with(s, "transact", dt_errmsg(s->conn));
    }
    atomic_store(&s->writer_done, 1);
    return NULL;
}

static void test_queries_call_functions_from_many_threads(void **state) {
    (void)state;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fns = FNS;
    o.nfns = sizeof FNS / sizeof FNS[0];
    tu_db *d = uu_open(SCHEMA, &o);
    tu_tx(d->conn, "[{:p/n 1000} {:p/n 1001}]", DT_OK, 0);
    atomic_store(&c_calls, 0);
    shared s;
    memset(&s, 0, sizeof s);
    s.conn = d->conn;
    pthread_t th[THREADS + 1];
    for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_create(&th[i], NULL, reader, &s), 0);
    assert_int_equal(pthread_create(&th[THREADS], NULL, writer, &s), 0);
    for (int i = 0; i <= THREADS; i++) pthread_join(th[i], NULL);
    if (atomic_load(&s.failed)) fail_msg("%s", s.msg);
    /* every round called the C function at least for the two first rows */
    assert_true(atomic_load(&c_calls) >= THREADS * ROUNDS * 2);
    /* after the writer: all rows, in both evaluators */
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    for (int naive = 0; naive < 2; naive++) {
        dt_result *r = NULL;
        assert_int_equal(
            run(db, "[:find (sum ?x) . :where [?e :p/n ?n] [(lua/mix ?n 0) ?x]]", naive, &r),
            DT_OK);
        /* sum of n*1000 over n = 0..119, 1000, 1001 */
        int64_t want = (int64_t)(119 * 120 / 2 + 1000 + 1001) * 1000;
        assert_int_equal(dt_result_get(r, 0, 0)->u.i, want);
        dt_result_free(r);
    }
    dt_db_close(db);
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queries_call_functions_from_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
