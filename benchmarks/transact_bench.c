/*
 * transact_bench.c -- durable transaction throughput of dt_transact next
 * to raw LMDB in the same run, and loading the people20k dataset.
 *
 * (b) durable transact: transactions of 1, 10, 100 and 1000 new entities,
 *     each entity map {:e/n long, :e/s string, :e/k keyword}, with the
 *     default environment flags (fsync at every commit).  Reported: tx/s,
 *     entities/s, datoms/s, p50/p99 latency of one dt_transact call.
 *     Measured twice: without a report (out = NULL) and with one.
 *     The reference, in the same run and on the same file system: raw
 *     LMDB (mdb_txn_begin, mdb_put..., mdb_txn_commit, default flags) with,
 *     per transaction, exactly the puts Datolite makes for n entities:
 *       2 * (3n + 1)  eav + ave entries (3n datoms + the :db/txInstant)
 *       + 4           statistics records (3 attributes + :db/txInstant)
 *       + 1           tx-log record
 *       + 2           meta next_eid, next_t
 *       = 6n + 9 puts (15 for one entity), keys and values of the same
 *     shapes (index keys e|aid|value and aid|value|e with values encoded
 *     as Datolite does: ascending longs, random 13-character strings, one
 *     of 16 keywords, the tx instant; 8-byte values; 4/8-byte keys and
 *     16/8-byte values for statistics and meta; a tx-log value of 30 bytes
 *     per datom).  Raw LMDB makes no reads: Datolite's reads (ids, uniqueness,
 *     existing values) are part of what the ratio measures.
 * (c) people20k: ../shared/bench/people20k.edn loaded into a fresh
 *     database (bench-schema.edn) as one dt_transact of the whole text, and
 *     through dt_import_edn in batches of 1000 forms; seconds per load.
 *
 * Fixed seeds, one warm-up run, then `runs` runs; each figure is the
 * median over the runs (latency percentiles are taken within a run, then
 * the median over runs is reported).  One JSON line per result, then a
 * table.
 *
 * usage: transact_bench [nosync] [runs [dir [shared-dir]]]
 *        nosync: only (b), both sides without fsync (MDB_NOSYNC and
 *        DT_KV_NOSYNC), 4x the transactions, plus Datolite given parsed
 *        tx-data (dt_transact_value); medians of per-run ratios
 *        (defaults: 5, $TMPDIR or /tmp, $DT_SHARED_DIR or the shared/ folder
 *        beside the source tree, as configured by CMake)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <ftw.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datolite.h"

#define MAP_SIZE ((uint64_t)1 << 30)
#define MAX_RUNS 31

static const char *SCHEMA = "{:e/n {:db/valueType :db.type/long}"
                            " :e/s {:db/valueType :db.type/string}"
                            " :e/k {:db/valueType :db.type/keyword}}";

static const int SIZES[] = {1, 10, 100, 1000};
/* transactions per run for each size (about the same time per run) */
static const int TXS[] = {2000, 600, 120, 24};
#define NSIZES 4

static const char *base_dir;
static int runs;
/* `nosync` mode: both sides open without fsync (MDB_NOSYNC and
 * DT_KV_NOSYNC), so that the CPU path is measured */
static int nosync;

/* {====== Utilities ====== */

static void die(const char *what, int rc, const char *msg) {
    fprintf(stderr, "transact_bench: %s failed: %d %s\n", what, rc, msg ? msg : "");
    exit(1);
}

static char *fresh_dir(const char *tag) {
    static unsigned seq;
    char *p = malloc(strlen(base_dir) + 64);
    if (!p) die("malloc", 0, NULL);
    sprintf(p, "%s/dt-tbench-%ld-%s-%u", base_dir, (long)getpid(), tag, seq++);
    bench_rm_rf(p);
    if (mkdir(p, 0755) != 0) die("mkdir", 0, p);
    return p;
}

static void remove_dir(char *p) {
    bench_rm_rf(p);
    free(p);
}

/* The q-quantile (0..1) of v[0..n) (sorts v); nearest rank. */
static double quantile(double *v, size_t n, double q) {
    qsort(v, n, sizeof *v, bench_cmp_double);
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i == 0) i = 1;
    if (i > n) i = n;
    return v[i - 1];
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* }====== */

/* {====== The data ====== */

/*
 * The tx-data texts of one run: `ntx` transactions of n entities each.
 * Entities are numbered globally (i) so every run writes the same data:
 *   {:e/n i :e/s "name-<random hex>" :e/k :k/<one of 16>}
 */
static char **make_txs(int n, int ntx, uint64_t seed) {
    char **t = calloc((size_t)ntx, sizeof *t);
    if (!t) die("malloc", 0, NULL);
    uint64_t s = seed;
    long i = 0;
    for (int x = 0; x < ntx; x++) {
        size_t cap = (size_t)n * 80 + 8;
        char *p = malloc(cap), *q = p;
        if (!p) die("malloc", 0, NULL);
        *q++ = '[';
        for (int k = 0; k < n; k++, i++) {
            uint64_t r = bench_rng(&s);
            q += sprintf(q, "{:e/n %ld :e/s \"name-%08llx\" :e/k :k/v%d}", i,
                         (unsigned long long)(r >> 32), (int)(r & 15));
        }
        *q++ = ']';
        *q = '\0';
        t[x] = p;
    }
    return t;
}

static void free_txs(char **t, int ntx) {
    for (int x = 0; x < ntx; x++) free(t[x]);
    free(t);
}

/* }====== */

/* {====== One run: the three implementations, transaction by transaction ====== */

static void chk(int rc, const char *what) {
    if (rc != MDB_SUCCESS) die(what, rc, mdb_strerror(rc));
}

/* Raw LMDB: an environment with the dbis Datolite writes to per transaction. */
typedef struct raw_env {
    char *dir;
    MDB_env *env;
    MDB_dbi eav, ave, stats, txlog, meta;
    uint64_t s, e;
    uint8_t *logv;
    size_t logcap;
} raw_env;

static void raw_open(raw_env *r, int n) {
    memset(r, 0, sizeof *r);
    r->dir = fresh_dir("raw");
    chk(mdb_env_create(&r->env), "mdb_env_create");
    chk(mdb_env_set_mapsize(r->env, MAP_SIZE), "mdb_env_set_mapsize");
    chk(mdb_env_set_maxdbs(r->env, 8), "mdb_env_set_maxdbs");
    chk(mdb_env_open(r->env, r->dir, nosync ? MDB_NOSYNC : 0, 0644), "mdb_env_open");
    MDB_txn *txn;
    chk(mdb_txn_begin(r->env, NULL, 0, &txn), "mdb_txn_begin");
    chk(mdb_dbi_open(txn, "eav", MDB_CREATE, &r->eav), "mdb_dbi_open");
    chk(mdb_dbi_open(txn, "ave", MDB_CREATE, &r->ave), "mdb_dbi_open");
    chk(mdb_dbi_open(txn, "stats", MDB_CREATE, &r->stats), "mdb_dbi_open");
    chk(mdb_dbi_open(txn, "txlog", MDB_CREATE, &r->txlog), "mdb_dbi_open");
    chk(mdb_dbi_open(txn, "meta", MDB_CREATE, &r->meta), "mdb_dbi_open");
    chk(mdb_txn_commit(txn), "mdb_txn_commit");
    r->s = 777;
    r->logcap = (size_t)(3 * n + 1) * 30;
    r->logv = calloc(1, r->logcap);
    if (!r->logv) die("malloc", 0, NULL);
}

/* One durable commit of the 6n + 9 puts Datolite makes for transaction x
 * of n entities (see the top of the file). */
static void raw_tx(raw_env *r, int n, int x) {
    MDB_txn *txn;
    uint64_t e = r->e, s = r->s;
    MDB_dbi eav = r->eav, ave = r->ave, stats = r->stats, txlog = r->txlog, meta = r->meta;
    size_t logcap = r->logcap;
    uint8_t *logv = r->logv;
    chk(mdb_txn_begin(r->env, NULL, 0, &txn), "mdb_txn_begin");
    uint8_t v[16] = {0};
    MDB_val mv = {8, v};
    for (int i = 0; i <= 3 * n; i++) {
        /* the value part as Datolite encodes it: a long (9 bytes,
         * ascending), a 13-character random string (15 bytes), one of
         * 16 keywords (7 bytes); last the tx's instant (9 bytes) */
        uint8_t val[16], k[32], a[32];
        size_t vl;
        uint32_t aid;
        uint64_t id;
        if (i == 3 * n) {
            aid = 2;
            id = ((uint64_t)1 << 42) + (uint64_t)x;
            val[0] = 7;
            for (int b = 0; b < 8; b++)
                val[1 + b] = (uint8_t)((1700000000000ull + (uint64_t)x) >> (56 - 8 * b));
            vl = 9;
        } else {
            aid = 16 + (uint32_t)(i % 3);
            id = e + (uint64_t)i / 3 + 1;
            uint64_t rv = bench_rng(&s);
            if (i % 3 == 0) {
                val[0] = 2;
                for (int b = 0; b < 8; b++) val[1 + b] = (uint8_t)(id >> (56 - 8 * b));
                vl = 9;
            } else if (i % 3 == 1) {
                val[0] = 8;
                vl = 1 +
                     (size_t)sprintf((char *)val + 1, "name-%08llx",
                                     (unsigned long long)(rv >> 32)) +
                     1;
            } else {
                val[0] = 9;
                vl = 1 + (size_t)sprintf((char *)val + 1, "k/v%x", (unsigned)(rv & 15)) + 1;
            }
        }
        uint8_t a4[4] = {0, 0, (uint8_t)(aid >> 8), (uint8_t)aid}, e8[8];
        for (int b = 0; b < 8; b++) e8[b] = (uint8_t)(id >> (56 - 8 * b));
        memcpy(k, e8, 8);
        memcpy(k + 8, a4, 4);
        memcpy(k + 12, val, vl);
        MDB_val mk = {12 + vl, k};
        chk(mdb_put(txn, eav, &mk, &mv, 0), "mdb_put eav");
        memcpy(a, a4, 4);
        memcpy(a + 4, val, vl);
        memcpy(a + 4 + vl, e8, 8);
        MDB_val ma = {12 + vl, a};
        chk(mdb_put(txn, ave, &ma, &mv, 0), "mdb_put ave");
    }
    e += (uint64_t)n;
    for (uint32_t aid = 0; aid < 4; aid++) {
        uint8_t sk[4] = {0, 0, 0, (uint8_t)(aid + 2)};
        MDB_val msk = {4, sk}, msv = {16, v};
        chk(mdb_put(txn, stats, &msk, &msv, 0), "mdb_put stats");
    }
    uint8_t tk[8];
    for (int b = 0; b < 8; b++)
        tk[b] = (uint8_t)((((uint64_t)1 << 42) + (uint64_t)x) >> (56 - 8 * b));
    MDB_val mtk = {8, tk}, mtv = {logcap, logv};
    chk(mdb_put(txn, txlog, &mtk, &mtv, 0), "mdb_put txlog");
    MDB_val m1 = {8, "next_eid"}, m2 = {6, "next_t"}, m8 = {8, v};
    chk(mdb_put(txn, meta, &m1, &m8, 0), "mdb_put meta");
    chk(mdb_put(txn, meta, &m2, &m8, 0), "mdb_put meta");
    chk(mdb_txn_commit(txn), "mdb_txn_commit");
    r->e = e;
    r->s = s;
}

static void raw_close(raw_env *r) {
    mdb_env_close(r->env);
    free(r->logv);
    remove_dir(r->dir);
}

typedef struct bench_db {
    char *dir;
    dt_conn *c;
} bench_db;

static void bench_db_open(bench_db *d) {
    d->dir = fresh_dir("dt");
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = MAP_SIZE;
    if (nosync) o.kv.flags = DT_KV_NOSYNC;
    int rc = dt_conn_open(d->dir, SCHEMA, &o, &d->c);
    if (rc != DT_OK) die("dt_conn_open", rc, dt_errmsg(NULL));
}

static void bench_db_tx(bench_db *d, const char *tx, int n, int with_report) {
    dt_report *r = NULL;
    int rc = dt_transact(d->c, tx, with_report ? &r : NULL);
    if (rc != DT_OK) die("dt_transact", rc, dt_errmsg(d->c));
    if (with_report && dt_report_count(r) != (size_t)(3 * n + 1)) die("report count", 0, NULL);
    dt_report_close(r);
}

static void bench_db_close(bench_db *d) {
    int rc = dt_conn_close(d->c);
    if (rc != DT_OK) die("dt_conn_close", rc, NULL);
    remove_dir(d->dir);
}

/* The tx-data already parsed (dt_transact_value): Datolite without its
 * EDN reader. */
static void bench_db_tx_value(bench_db *d, const dt_value *tx) {
    int rc = dt_transact_value(d->c, tx, NULL);
    if (rc != DT_OK) die("dt_transact_value", rc, dt_errmsg(d->c));
}

enum { IMPL_RAW, IMPL_DT, IMPL_DT_REPORT, IMPL_DT_VALUE, NIMPL };
static const char *impl_names[NIMPL] = {"lmdb_raw", "datolite", "datolite_report",
                                        "datolite_value"};

typedef struct run_result {
    double secs;     /* sum of the transactions' latencies */
    double p50, p99; /* seconds per transaction */
} run_result;

static void finish(run_result *r, double *lat, int ntx) {
    r->secs = 0;
    for (int i = 0; i < ntx; i++) r->secs += lat[i];
    r->p99 = quantile(lat, (size_t)ntx, 0.99);
    r->p50 = quantile(lat, (size_t)ntx, 0.50);
}

/*
 * One run: fresh databases for the three implementations, then ntx
 * transactions each, interleaved (raw, datolite, datolite with report for
 * x = 0, 1, ...), so that the disk's ups and downs hit all three alike.
 */
static void one_run(int n, int ntx, char **txs, run_result out[NIMPL]) {
    raw_env raw;
    bench_db dt, dtr, dtv;
    raw_open(&raw, n);
    bench_db_open(&dt);
    bench_db_open(&dtr);
    if (nosync) bench_db_open(&dtv);
    dt_value *parsed = NULL;
    if (nosync) {
        parsed = calloc((size_t)ntx, sizeof *parsed);
        if (!parsed) die("malloc", 0, NULL);
        for (int x = 0; x < ntx; x++)
            if (dt_edn_read(txs[x], strlen(txs[x]), &parsed[x]) != DT_OK) die("parse", 0, NULL);
    }
    double *lat[NIMPL];
    for (int k = 0; k < NIMPL; k++) {
        lat[k] = malloc((size_t)ntx * sizeof *lat[k]);
        if (!lat[k]) die("malloc", 0, NULL);
    }
    for (int x = 0; x < ntx; x++) {
        double t0 = bench_now();
        raw_tx(&raw, n, x);
        double t1 = bench_now();
        bench_db_tx(&dt, txs[x], n, 0);
        double t2 = bench_now();
        bench_db_tx(&dtr, txs[x], n, 1);
        double t3 = bench_now();
        lat[IMPL_RAW][x] = t1 - t0;
        lat[IMPL_DT][x] = t2 - t1;
        lat[IMPL_DT_REPORT][x] = t3 - t2;
        lat[IMPL_DT_VALUE][x] = 0;
        if (nosync) {
            bench_db_tx_value(&dtv, &parsed[x]);
            lat[IMPL_DT_VALUE][x] = bench_now() - t3;
        }
    }
    for (int k = 0; k < NIMPL; k++) {
        finish(&out[k], lat[k], ntx);
        free(lat[k]);
    }
    raw_close(&raw);
    bench_db_close(&dt);
    bench_db_close(&dtr);
    if (nosync) {
        bench_db_close(&dtv);
        for (int x = 0; x < ntx; x++) dt_value_free(&parsed[x]);
        free(parsed);
    }
}

/* }====== */

/* {====== (b) durable transact ====== */

typedef struct summary {
    double tx_s, p50_ms, p99_ms;
} summary;

/* Median over runs of throughput and latency percentiles. */
static summary summarize(run_result *r, int nr, int ntx) {
    double a[MAX_RUNS], b[MAX_RUNS], c[MAX_RUNS];
    for (int i = 0; i < nr; i++) {
        a[i] = ntx / r[i].secs;
        b[i] = r[i].p50 * 1e3;
        c[i] = r[i].p99 * 1e3;
    }
    return (summary){median(a, (size_t)nr), median(b, (size_t)nr), median(c, (size_t)nr)};
}

static void json_line(const char *impl, int n, int puts, summary s) {
    printf("{\"bench\":\"transact\",\"case\":\"durable_tx\",\"impl\":\"%s\",\"entities_per_tx\":%d,"
           "\"puts_per_tx\":%d,\"runs\":%d,\"tx_per_s\":%.1f,\"entities_per_s\":%.1f,"
           "\"datoms_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
           impl, n, puts, runs, s.tx_s, s.tx_s * n, s.tx_s * (3 * n + 1), s.p50_ms, s.p99_ms);
    fflush(stdout);
}

static summary res[NSIZES][NIMPL];
/* per-run ratios of time per transaction, Datolite over raw: median and
 * range over the runs */
static bench_spread rstat[NSIZES][NIMPL];
/* the same for the per-run median latencies (robust to preemption on a
 * loaded machine, which puts a few slow transactions in every run) */
static bench_spread pstat[NSIZES][NIMPL];

static void bench_durable(void) {
    for (int si = 0; si < NSIZES; si++) {
        int n = SIZES[si], ntx = TXS[si] * (nosync ? 4 : 1);
        char **txs = make_txs(n, ntx, 42 + (uint64_t)n);
        run_result r[MAX_RUNS][NIMPL], warm[NIMPL];
        one_run(n, ntx, txs, warm); /* warm-up */
        for (int i = 0; i < runs; i++) one_run(n, ntx, txs, r[i]);
        for (int k = 1; k < NIMPL; k++) {
            double q[MAX_RUNS];
            for (int i = 0; i < runs; i++) q[i] = r[i][k].secs / r[i][IMPL_RAW].secs;
            rstat[si][k] = bench_ratio_stats(q, (size_t)runs);
            for (int i = 0; i < runs; i++) q[i] = r[i][k].p50 / r[i][IMPL_RAW].p50;
            pstat[si][k] = bench_ratio_stats(q, (size_t)runs);
        }
        for (int k = 0; k < NIMPL; k++) {
            if (k == IMPL_DT_VALUE && !nosync) continue;
            run_result per[MAX_RUNS];
            for (int i = 0; i < runs; i++) per[i] = r[i][k];
            res[si][k] = summarize(per, runs, ntx);
            json_line(impl_names[k], n, 6 * n + 9, res[si][k]);
        }
        free_txs(txs, ntx);
    }
}

/* }====== */

/* {====== (c) people20k ====== */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[n] = '\0';
    if (len) *len = (size_t)n;
    return b;
}

static double people_once(const char *schema, const char *text, size_t len, int import) {
    char *dir = fresh_dir("people");
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = MAP_SIZE;
    dt_conn *c = NULL;
    int rc = dt_conn_open(dir, schema, &o, &c);
    if (rc != DT_OK) die("dt_conn_open", rc, dt_errmsg(NULL));
    double t0 = bench_now();
    if (import) {
        uint64_t ntx = 0;
        rc = dt_import_edn(c, text, len, 1000, &ntx);
        if (rc == DT_OK && ntx != 20) die("dt_import_edn tx count", (int)ntx, NULL);
    } else {
        rc = dt_transact(c, text, NULL);
    }
    double secs = bench_now() - t0;
    if (rc != DT_OK) die(import ? "dt_import_edn" : "dt_transact people20k", rc, dt_errmsg(c));
    dt_db *db;
    uint64_t count = 0;
    if (dt_conn_db(c, &db) != DT_OK ||
        dt_db_count_datoms(db, DT_INDEX_EAV, NULL, 0, &count) != DT_OK)
        die("count", 0, dt_errmsg(c));
    dt_db_close(db);
    /* 191,654 datoms + one :db/txInstant per transaction */
    if (count != 191654 + (import ? 20u : 1u)) die("people20k datom count", (int)count, NULL);
    dt_conn_close(c);
    remove_dir(dir);
    return secs;
}

static double people_med[2], people_p99[2];

static void bench_people(const char *shared) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bench/bench-schema.edn", shared);
    char *schema = read_file(path, NULL);
    if (!schema) die("reading", 0, path);
    snprintf(path, sizeof path, "%s/bench/people20k.edn", shared);
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) die("reading", 0, path);
    static const char *names[2] = {"people20k_one_transact", "people20k_import_edn_1000"};
    for (int m = 0; m < 2; m++) {
        double t[MAX_RUNS];
        people_once(schema, text, len, m); /* warm-up */
        for (int r = 0; r < runs; r++) t[r] = people_once(schema, text, len, m);
        people_p99[m] = quantile(t, (size_t)runs, 0.99);
        people_med[m] = median(t, (size_t)runs);
        printf("{\"bench\":\"transact\",\"case\":\"%s\",\"impl\":\"datolite\",\"runs\":%d,"
               "\"median_s\":%.4f,\"p99_s\":%.4f,\"entities_per_s\":%.0f}\n",
               names[m], runs, people_med[m], people_p99[m], 20000 / people_med[m]);
        fflush(stdout);
    }
    free(text);
    free(schema);
}

/* }====== */

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "nosync") == 0) {
        nosync = 1;
        argc--;
        argv++;
    }
    runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > MAX_RUNS) die("runs must be 1..31", runs, NULL);
    base_dir = argc > 2 ? argv[2] : getenv("TMPDIR");
    if (!base_dir || !*base_dir) base_dir = "/tmp";
    const char *shared = argc > 3 ? argv[3] : getenv("DT_SHARED_DIR");
#ifdef DT_BENCH_SHARED_DIR
    if (!shared || !*shared) shared = DT_BENCH_SHARED_DIR;
#endif
    if (!shared || !*shared) shared = "../shared";

    bench_durable();
    if (nosync) {
        printf("\ntransactions without fsync (MDB_NOSYNC / DT_KV_NOSYNC), interleaved transaction "
               "by transaction; time per transaction over raw LMDB's: median of %d per-run "
               "ratios [min, max]\n",
               runs);
        printf("%-7s %-6s %12s %22s %22s %22s\n", "ent/tx", "of", "raw", "dt_transact",
               "dt_transact + report", "dt_transact_value");
        for (int si = 0; si < NSIZES; si++) {
            for (int m = 0; m < 2; m++) {
                bench_spread *st = m ? pstat[si] : rstat[si];
                char cell[3][32];
                for (int k = 1; k < NIMPL; k++)
                    snprintf(cell[k - 1], sizeof cell[k - 1], "%.2fx [%.2f, %.2f]", st[k].median,
                             st[k].min, st[k].max);
                char raw[32];
                snprintf(raw, sizeof raw, m ? "%.1f us p50" : "%.0f tx/s",
                         m ? res[si][IMPL_RAW].p50_ms * 1e3 : res[si][IMPL_RAW].tx_s);
                printf("%-7d %-6s %12s %22s %22s %22s\n", SIZES[si], m ? "p50" : "total", raw,
                       cell[0], cell[1], cell[2]);
            }
        }
        return 0;
    }
    bench_people(shared);

    printf("\ndurable transactions (fsync per commit), median of %d runs\n", runs);
    printf("%-9s %-16s %9s %11s %11s %9s %9s %7s\n", "ent/tx", "impl", "tx/s", "entities/s",
           "datoms/s", "p50 ms", "p99 ms", "ratio");
    for (int si = 0; si < NSIZES; si++) {
        int n = SIZES[si];
        const char *names[3] = {"lmdb raw", "datolite", "datolite+report"};
        summary *rs[3] = {&res[si][IMPL_RAW], &res[si][IMPL_DT], &res[si][IMPL_DT_REPORT]};
        for (int k = 0; k < 3; k++) {
            char ratio[16] = "";
            if (k) snprintf(ratio, sizeof ratio, "%.0f%%", 100 * rs[k]->tx_s / rs[0]->tx_s);
            printf("%-9d %-16s %9.1f %11.0f %11.0f %9.3f %9.3f %7s\n", n, names[k], rs[k]->tx_s,
                   rs[k]->tx_s * n, rs[k]->tx_s * (3 * n + 1), rs[k]->p50_ms, rs[k]->p99_ms, ratio);
        }
    }
    printf("\npeople20k (20,000 entities, 191,654 datoms), median of %d runs\n", runs);
    printf("%-32s %9s %9s\n", "load", "median s", "p99 s");
    printf("%-32s %9.3f %9.3f\n", "one dt_transact", people_med[0], people_p99[0]);
    printf("%-32s %9.3f %9.3f\n", "dt_import_edn, batch 1000", people_med[1], people_p99[1]);
    return 0;
}
