/*
 * time_bench.c -- reading the past: queries on an as-of view against the
 * same queries on the current database, on people20k after U updates
 * (default 100,000) of :age and :salary, which leave U retracted datoms
 * in dt/history.
 *
 * The as-of view is taken at the tx right after the load (the state
 * before any update: the most history to merge, every updated datom is
 * visible there only through dt/history) and, for comparison, at the tx
 * halfway through the updates.  Each run times the current database and
 * the view alternately (A B A B ...) for T ms each, keeping the median
 * time per call, and the ratio view/current of that run; the table gives
 * the median of the per-run ratios with their minimum and maximum.
 * `fresh view` takes a new view for every call (so its one-time index of
 * the history an attribute scan needs is built every time); the other
 * rows reuse one view.  CPU time of the calling thread.
 *
 * Usage: time_bench [-u updates] [-r runs] [-t ms] [-d dir] [-s shared]
 * (TIME_BENCH_EXPLAIN=1: the plans on stderr; TIME_BENCH_ONLY=id: the
 * workloads whose id starts with it)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "datolite.h"

#ifndef DT_BENCH_SHARED_DIR
#define DT_BENCH_SHARED_DIR "../shared"
#endif

static void die(const char *what, int rc, const void *h) {
    fprintf(stderr, "time_bench: %s: %s (%s)\n", what, dt_errstr(rc), dt_errmsg(h));
    exit(1);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "time_bench: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) exit(1);
    s[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return s;
}

typedef struct work {
    const char *id, *text;
    int fresh; /* a new view per call */
} work;

static const work WORK[] = {
    {"q2 name+age", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", 0},
    {"q4 4 attrs",
     "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]",
     0},
    {"age range", "[:find ?e ?a :where [?e :age ?a] [(> ?a 90)]]", 0},
    {"salary sum", "[:find (sum ?s) . :where [?e :salary ?s]]", 0},
    {"q2 fresh view", "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", 1},
    {"age range fresh view", "[:find ?e ?a :where [?e :age ?a] [(> ?a 90)]]", 1},
};
#define NWORK (sizeof WORK / sizeof *WORK)

/* One call: the query on db (or on a new as-of view of it at tx). */
static size_t call(const dt_query *q, dt_db *db, int64_t fresh_tx) {
    dt_db *v = NULL;
    if (fresh_tx) {
        int rc = dt_db_as_of(db, fresh_tx, &v);
        if (rc != DT_OK) die("as-of", rc, db);
        db = v;
    }
    dt_input in = {db, NULL, NULL, 0};
    dt_result *r = NULL;
    int rc = dt_query_run(q, &in, 1, NULL, &r);
    if (rc != DT_OK) die("query", rc, NULL);
    size_t n = dt_result_count(r);
    dt_result_free(r);
    dt_db_close(v);
    return n;
}

/* Median CPU seconds per call over about ms milliseconds of calls. */
static double time_calls(const dt_query *q, dt_db *db, int64_t fresh_tx, double ms) {
    double t[4096];
    size_t n = 0;
    double start = bench_cpu_now();
    do {
        double t0 = bench_cpu_now();
        call(q, db, fresh_tx);
        t[n++] = bench_cpu_now() - t0;
    } while (n < 4096 && (bench_cpu_now() - start) * 1000 < ms);
    qsort(t, n, sizeof *t, bench_cmp_double);
    return t[n / 2];
}

int main(int argc, char **argv) {
    long updates = 100000;
    int runs = 7;
    double ms = 150;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *shared = DT_BENCH_SHARED_DIR;
    int opt;
    while ((opt = getopt(argc, argv, "u:r:t:d:s:")) != -1) {
        switch (opt) {
        case 'u':
            updates = atol(optarg);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        case 't':
            ms = atof(optarg);
            break;
        case 'd':
            dir = optarg;
            break;
        case 's':
            shared = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: time_bench [-u updates] [-r runs] [-t ms] [-d dir] [-s shared]\n");
            return 1;
        }
    }
    if (runs < 1 || runs > 99) runs = 7;
    char path[4096], dbdir[4096];
    snprintf(dbdir, sizeof dbdir, "%s/time_bench.%d", dir, (int)getpid());
    bench_rm_rf(dbdir);
    snprintf(path, sizeof path, "%s/bench/bench-schema.edn", shared);
    char *schema = read_file(path, NULL);
    snprintf(path, sizeof path, "%s/bench/people20k.edn", shared);
    size_t len;
    char *people = read_file(path, &len);
    dt_conn *c = NULL;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags |= DT_KV_NOSYNC;
    int rc = dt_conn_open(dbdir, schema, &o, &c);
    if (rc != DT_OK) die("open", rc, NULL);
    double t0 = bench_now();
    if ((rc = dt_import_edn(c, people, len, 0, NULL)) != DT_OK) die("import", rc, c);
    free(people);
    free(schema);
    dt_db *db = NULL;
    if ((rc = dt_conn_db(c, &db)) != DT_OK) die("db", rc, c);
    int64_t tx_load = dt_db_basis_tx(db);
    /* the entities: every one with a :name */
    dt_value attr;
    dt_value_text(DT_KEYWORD, "name", 4, &attr);
    dt_datom_iter *it = NULL;
    if ((rc = dt_db_datoms(db, DT_INDEX_AVE, &attr, 1, &it)) != DT_OK) die("datoms", rc, db);
    int64_t *ents = malloc(20000 * 2 * sizeof *ents);
    size_t nent = 0;
    dt_datom d;
    while (nent < 40000 && dt_datom_iter_next(it, &d) == DT_ROW) ents[nent++] = d.e;
    dt_datom_iter_close(it);
    dt_value_free(&attr);
    dt_db_close(db);
    /* the updates: 1000 per transaction, distinct entities in each */
    uint64_t seed = 42;
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    int64_t tx_mid = 0;
    long done = 0;
    while (done < updates) {
        size_t l = (size_t)snprintf(buf, cap, "[");
        size_t first = bench_rng(&seed) % nent;
        for (int k = 0; k < 1000 && done < updates; k++, done++) {
            int64_t e = ents[(first + (size_t)k) % nent];
            uint64_t r = bench_rng(&seed);
            if (r & 1)
                l += (size_t)snprintf(buf + l, cap - l, "[:db/add %lld :age %d]", (long long)e,
                                      (int)(r >> 8) % 100);
            else
                l += (size_t)snprintf(buf + l, cap - l, "[:db/add %lld :salary %d]", (long long)e,
                                      (int)(r >> 8) % 100000);
        }
        snprintf(buf + l, cap - l, "]");
        dt_report *rep = NULL;
        if ((rc = dt_transact(c, buf, &rep)) != DT_OK) die("update", rc, c);
        if (done >= updates / 2 && !tx_mid) tx_mid = dt_report_tx(rep);
        dt_report_close(rep);
    }
    free(buf);
    free(ents);
    printf("people20k loaded and %ld updates made in %.1f s; as-of tx %lld (after the load) "
           "and %lld (halfway)\n",
           updates, bench_now() - t0, (long long)tx_load, (long long)tx_mid);
    if ((rc = dt_conn_db(c, &db)) != DT_OK) die("db", rc, c);
    dt_db *past = NULL, *mid = NULL;
    {
        /* the first read by attribute builds the snapshot's history cache */
        dt_db *v = NULL;
        uint64_t n = 0;
        dt_value a;
        dt_value_text(DT_KEYWORD, "age", 3, &a);
        double c0 = bench_cpu_now();
        if ((rc = dt_db_as_of(db, tx_load, &v)) != DT_OK) die("as-of", rc, db);
        if ((rc = dt_db_count_datoms(v, DT_INDEX_AVE, &a, 1, &n)) != DT_OK) die("count", rc, v);
        double c1 = bench_cpu_now();
        dt_db_close(v);
        if ((rc = dt_db_as_of(db, tx_load, &v)) != DT_OK) die("as-of", rc, db);
        if ((rc = dt_db_count_datoms(v, DT_INDEX_AVE, &a, 1, &n)) != DT_OK) die("count", rc, v);
        double c2 = bench_cpu_now();
        dt_db_close(v);
        dt_value_free(&a);
        printf("first as-of count of :age (builds the history cache): %.1f ms; with a new view "
               "once it is built: %.1f ms (%llu datoms)\n",
               (c1 - c0) * 1000, (c2 - c1) * 1000, (unsigned long long)n);
    }
    if ((rc = dt_db_as_of(db, tx_load, &past)) != DT_OK) die("as-of", rc, db);
    if ((rc = dt_db_as_of(db, tx_mid, &mid)) != DT_OK) die("as-of", rc, db);
    printf("\n| query | as-of | current ms | as-of ms | ratio median | min | max | rows now | "
           "rows then |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    const char *only = getenv("TIME_BENCH_ONLY"); /* a workload id prefix (profiling) */
    for (size_t w = 0; w < NWORK; w++) {
        if (only && strncmp(WORK[w].id, only, strlen(only)) != 0) continue;
        dt_query *q = NULL;
        if ((rc = dt_query_prepare(WORK[w].text, strlen(WORK[w].text), &q)) != DT_OK)
            die("prepare", rc, NULL);
        for (int which = 0; which < 2; which++) {
            if (WORK[w].fresh && which == 1) break;
            dt_db *view = which ? mid : past;
            int64_t vtx = which ? tx_mid : tx_load;
            int64_t fresh = WORK[w].fresh ? vtx : 0;
            size_t rows_now = call(q, db, 0), rows_then = call(q, fresh ? db : view, fresh);
            if (getenv("TIME_BENCH_EXPLAIN")) {
                for (int k = 0; k < 2; k++) {
                    dt_input in = {k ? view : db, NULL, NULL, 0};
                    char *plan = NULL;
                    size_t plen = 0;
                    if (dt_explain(WORK[w].text, strlen(WORK[w].text), &in, 1, NULL, &plan,
                                   &plen) == DT_OK)
                        fprintf(stderr, "%s %s: %s\n", WORK[w].id, k ? "as-of" : "now", plan);
                    dt_free(plan);
                }
            }
            double ratio[99], cur[99], old[99];
            for (int r = 0; r < runs; r++) {
                if (r % 2 == 0) {
                    cur[r] = time_calls(q, db, 0, ms);
                    old[r] = time_calls(q, fresh ? db : view, fresh, ms);
                } else {
                    old[r] = time_calls(q, fresh ? db : view, fresh, ms);
                    cur[r] = time_calls(q, db, 0, ms);
                }
                ratio[r] = old[r] / cur[r];
            }
            bench_spread s = bench_ratio_stats(ratio, (size_t)runs);
            bench_spread sc = bench_ratio_stats(cur, (size_t)runs);
            bench_spread so = bench_ratio_stats(old, (size_t)runs);
            printf("| %s | %s | %.3f | %.3f | %.2f | %.2f | %.2f | %zu | %zu |\n", WORK[w].id,
                   which ? "halfway" : "after load", sc.median * 1000, so.median * 1000, s.median,
                   s.min, s.max, rows_now, rows_then);
            fflush(stdout);
        }
        dt_query_free(q);
    }
    dt_db_close(mid);
    dt_db_close(past);
    dt_db_close(db);
    dt_conn_close(c);
    bench_rm_rf(dbdir);
    return 0;
}
