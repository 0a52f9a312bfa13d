/*
 * scan_bench.c -- how much a long read slows the writers down: durable
 * dt_transact throughput alone, then the same transactions while another
 * thread scans a snapshot (every datom, over and over) that was taken
 * before them.  Readers never block the writer in LMDB, so the ratio
 * shows the cost of sharing the CPU and of the pages the old snapshot
 * keeps alive.  (This measurement used to be an assertion in
 * tests/unit/txn/test_txn_stress.c.)
 *
 * usage: scan_bench [transactions [runs [dir]]]   (1000, 5, $TMPDIR)
 * Each run: a fresh database of 3000 documents; N transactions alone;
 * N more during the scan.  One JSON line per run, then the medians.
 */
#include "bench_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datolite.h"

enum { DOCS = 3000, MAX_RUNS = 31 };

static void die(const char *what, const char *msg) {
    fprintf(stderr, "scan_bench: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

typedef struct scan_arg {
    dt_db *snap;
    atomic_int stop;
    long passes;
} scan_arg;

static void *scan_main(void *p) {
    scan_arg *s = p;
    while (!atomic_load(&s->stop)) {
        dt_datom_iter *it = NULL;
        if (dt_db_datoms(s->snap, DT_INDEX_EAV, NULL, 0, &it) != DT_OK) die("scan", NULL);
        dt_datom d;
        while (dt_datom_iter_next(it, &d) == DT_ROW) {
        }
        dt_datom_iter_close(it);
        s->passes++;
    }
    return NULL;
}

/* n transactions; tx/s. */
static double burst(dt_conn *conn, int n, int round) {
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        char edn[200];
        snprintf(edn, sizeof edn, "[[:db/add %d :doc/n %d] {:doc/n %d :doc/title \"new %d.%d\"}]",
                 1 + (i * 7) % DOCS, round * 100000 + i, -i, round, i);
        if (dt_transact(conn, edn, NULL) != DT_OK) die("transact", dt_errmsg(conn));
    }
    return n / (bench_now() - t0);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    const char *tmp = argc > 3 ? argv[3] : getenv("TMPDIR");
    if (!tmp) tmp = "/tmp";
    if (n < 1 || runs < 1 || runs > MAX_RUNS)
        die("usage", "scan_bench [transactions [runs [dir]]]");
    double alone[MAX_RUNS], during[MAX_RUNS], ratio[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/scan_bench_%d_%d", tmp, (int)getpid(), r);
        dt_conn *conn = NULL;
        if (dt_conn_open(dir,
                         "{:doc/n {:db/valueType :db.type/long}"
                         " :doc/title {:db/valueType :db.type/string}}",
                         NULL, &conn) != DT_OK)
            die("open", dt_errmsg(NULL));
        char *tx = malloc((size_t)DOCS * 64 + 8), *p = tx;
        p += sprintf(p, "[");
        for (int i = 1; i <= DOCS; i++)
            p += sprintf(p, "{:db/id %d :doc/n %d :doc/title \"doc %d\"}", i, i, i);
        sprintf(p, "]");
        if (dt_transact(conn, tx, NULL) != DT_OK) die("load", dt_errmsg(conn));
        free(tx);
        alone[r] = burst(conn, n, 1);
        scan_arg s;
        memset(&s, 0, sizeof s);
        if (dt_conn_db(conn, &s.snap) != DT_OK) die("snapshot", dt_errmsg(conn));
        pthread_t th;
        pthread_create(&th, NULL, scan_main, &s);
        during[r] = burst(conn, n, 2);
        atomic_store(&s.stop, 1);
        pthread_join(th, NULL);
        dt_db_close(s.snap);
        dt_conn_close(conn);
        bench_rm_rf(dir);
        ratio[r] = during[r] / alone[r];
        printf("{\"bench\":\"scan\",\"run\":%d,\"tx\":%d,\"alone_tx_s\":%.0f,"
               "\"during_scan_tx_s\":%.0f,\"ratio\":%.3f,\"scan_passes\":%ld}\n",
               r, n, alone[r], during[r], ratio[r], s.passes);
    }
    qsort(alone, (size_t)runs, sizeof *alone, bench_cmp_double);
    qsort(during, (size_t)runs, sizeof *during, bench_cmp_double);
    qsort(ratio, (size_t)runs, sizeof *ratio, bench_cmp_double);
    printf("\n| transactions | alone tx/s | during a scan tx/s | ratio (median) |\n"
           "|---:|---:|---:|---:|\n| %d | %.0f | %.0f | %.2f |\n",
           n, alone[runs / 2], during[runs / 2], ratio[runs / 2]);
    return 0;
}
