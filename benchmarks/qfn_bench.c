/*
 * qfn_bench.c -- the cost of a query function call (docs/functions.md,
 * "Query functions"): one query over N entities with a predicate on each
 * row, the predicate being
 *
 *   base     none (the scan alone: subtracted from the others)
 *   builtin  (odd? ?n)
 *   c        (c/odd? ?n)    a C query function
 *   lua      (lua/odd? ?n)  a Lua query function
 *
 * Every :b/n is odd, so each predicate keeps every row and the four
 * queries build results of the same size.  All through the public API (dt_q_inputs on a snapshot),
 * in one process, on the same database.  A run times each of the four once, in a rotating order (so
 * none always goes first), in thread CPU time; the figure per call is (case - base) / N, the median
 * over R runs; the ratio of the whole query's time to the base query's is taken per run (median,
 * min, max), which stays meaningful when a call costs little.
 *
 * usage: qfn_bench [N [R [dir]]]   (N = 100000, R = 7)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datolite.h"

static int c_odd(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 1 || args[0].type != DT_LONG)
        return dt_errmsg_set(NULL, DT_INVALID, "odd? takes a long");
    dt_value_bool(args[0].u.i % 2 != 0, out);
    return DT_OK;
}

static const dt_fn_def FNS[] = {
    {"c/odd?", DT_FN_C, NULL, NULL, NULL, "query-fn", c_odd},
    {"lua/odd?", DT_FN_LUA, NULL, NULL, "return function(n) return n % 2 ~= 0 end", "query-fn",
     NULL},
};

static const char *const QUERIES[4] = {
    "[:find (count ?e) . :where [?e :b/n ?n]]",
    "[:find (count ?e) . :where [?e :b/n ?n] [(odd? ?n)]]",
    "[:find (count ?e) . :where [?e :b/n ?n] [(c/odd? ?n)]]",
    "[:find (count ?e) . :where [?e :b/n ?n] [(lua/odd? ?n)]]",
};
static const char *const NAMES[4] = {"base", "builtin", "c", "lua"};

static double run_one(dt_db *db, int which, long n) {
    dt_input in = {db, NULL, NULL, 0};
    dt_result *r = NULL;
    double t0 = bench_cpu_now();
    int rc = dt_q_inputs(QUERIES[which], strlen(QUERIES[which]), &in, 1, NULL, &r);
    double t = bench_cpu_now() - t0;
    if (rc != DT_OK) {
        fprintf(stderr, "%s: %s\n", NAMES[which], dt_errmsg(NULL));
        exit(1);
    }
    long want = n; /* every value is odd: all rows pass, results are the same size */
    if (dt_result_get(r, 0, 0)->u.i != want) {
        fprintf(stderr, "%s: count %lld, expected %ld\n", NAMES[which],
                (long long)dt_result_get(r, 0, 0)->u.i, want);
        exit(1);
    }
    dt_result_free(r);
    return t;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/qfn_bench.%d", argc > 3 ? argv[3] : "/tmp", (int)getpid());
    if (n < 1 || runs < 1 || runs > 99) {
        fprintf(stderr, "usage: qfn_bench [N [R [dir]]]\n");
        return 2;
    }
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fns = FNS;
    o.nfns = 2;
    o.kv.flags |= DT_KV_NOSYNC;
    dt_conn *conn = NULL;
    if (dt_conn_open(dir, "{:b/n {:db/valueType :db.type/long}}", &o, &conn) != DT_OK) {
        fprintf(stderr, "open: %s\n", dt_errmsg(NULL));
        return 1;
    }
    /* N entities with :b/n 1, 3, 5, ..., 10,000 per transaction */
    char *tx = malloc(32 * 10000 + 16);
    for (long i = 0; i < n;) {
        size_t len = 0;
        tx[len++] = '[';
        for (long k = 0; k < 10000 && i < n; k++, i++)
            len += (size_t)sprintf(tx + len, "{:b/n %ld}", 2 * i + 1);
        tx[len++] = ']';
        tx[len] = 0;
        if (dt_transact(conn, tx, NULL) != DT_OK) {
            fprintf(stderr, "load: %s\n", dt_errmsg(conn));
            return 1;
        }
    }
    free(tx);
    dt_db *db = NULL;
    dt_conn_db(conn, &db);
    for (int w = 0; w < 4; w++) run_one(db, w, n); /* warm-up: caches, Lua states */
    double per[4][99], ratio[4][99];
    for (int r = 0; r < runs; r++) {
        double t[4];
        for (int k = 0; k < 4; k++) {
            int w = (r + k) % 4;
            t[w] = run_one(db, w, n);
        }
        for (int w = 1; w < 4; w++) per[w][r] = (t[w] - t[0]) / (double)n * 1e9;
        for (int w = 1; w < 4; w++) ratio[w][r] = t[w] / t[0];
        per[0][r] = t[0] / (double)n * 1e9;
    }
    printf("%-8s %12s %12s %24s\n", "case", "ns/row", "ns/call", "query time / base");
    for (int w = 0; w < 4; w++) {
        bench_spread s = bench_ratio_stats(per[w], (size_t)runs);
        if (w == 0) {
            printf("%-8s %12.1f %12s %22s\n", NAMES[w], s.median, "-", "-");
            printf("{\"bench\":\"qfn\",\"case\":\"base\",\"n\":%ld,\"ns_per_row\":%.1f}\n", n,
                   s.median);
            continue;
        }
        bench_spread q = bench_ratio_stats(ratio[w], (size_t)runs);
        printf("%-8s %12s %12.1f %10.2f (%.2f-%.2f)\n", NAMES[w], "", s.median, q.median, q.min,
               q.max);
        printf("{\"bench\":\"qfn\",\"case\":\"%s\",\"n\":%ld,\"ns_per_call\":%.1f,\"min\":%.1f,"
               "\"max\":%.1f,\"ratio\":%.2f}\n",
               NAMES[w], n, s.median, s.min, s.max, q.median);
    }
    dt_db_close(db);
    dt_conn_close(conn);
    bench_rm_rf(dir);
    return 0;
}
