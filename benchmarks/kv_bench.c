/*
 * kv_bench.c -- the KV store against raw LMDB on the same data in the same
 * run: sequential (append) puts, random puts, random point gets and a full
 * forward scan.  Both sides use the same transaction granularity (10,000
 * puts per write txn; all gets / the scan in one read txn), the same map
 * size and NOSYNC, so the CPU path is what is measured.  Deterministic data
 * (fixed seeds): 16-byte keys, 100-byte values.  Read operations keep the
 * fastest of 3 passes within a run.
 *
 * usage: kv_bench [N [runs [dir]]]   (defaults: 1000000 5 $TMPDIR)
 * Output: one JSON line per (operation, implementation) with the median,
 * min and max of `runs` runs, then a table with the median, min and max
 * of the per-run ratios datolite/raw (each run measures both sides back
 * to back, alternating which goes first), and a JSON line of those.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>

#include "datolite.h"

enum { KLEN = 16, VLEN = 100, PER_TXN = 10000 };
#define MAP_SIZE ((uint64_t)4 << 30)

enum { OP_SEQ_PUT, OP_RAND_PUT, OP_GET, OP_SCAN, NOPS };
static const char *op_names[NOPS] = {"seq_put", "rand_put", "point_get", "range_scan"};

static size_t N;
static unsigned char *keys; /* N keys in sorted order */
static unsigned char *vals; /* N values */
static uint32_t *perm;      /* a random permutation of 0..N-1 */
static volatile uint64_t sink;

static void make_data(void) {
    keys = malloc(N * KLEN);
    vals = malloc(N * VLEN);
    perm = malloc(N * sizeof *perm);
    if (!keys || !vals || !perm) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    uint64_t s = 12345;
    for (size_t i = 0; i < N; i++) {
        unsigned char *k = keys + i * KLEN;
        for (int b = 0; b < 8; b++)
            k[b] = (unsigned char)(i >> (56 - 8 * b)); /* big-endian: sorted */
        uint64_t h = bench_rng(&s);
        memcpy(k + 8, &h, 8);
        for (int j = 0; j < VLEN; j += 4) {
            uint64_t x = bench_rng(&s);
            memcpy(vals + i * VLEN + j, &x, 4);
        }
        perm[i] = (uint32_t)i;
    }
    s = 777;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = bench_rng(&s) % (i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Read operations run READ_PASSES times per run and keep the fastest pass
 * (the same on both sides), to damp scheduler noise on shared machines. */
enum { READ_PASSES = 3 };

static void best(double *secs, double s) {
    if (*secs == 0 || s < *secs) *secs = s;
}

static void die(const char *what, int rc, const char *msg) {
    fprintf(stderr, "kv_bench: %s failed: %d %s\n", what, rc, msg);
    exit(1);
}

/* {====== Datolite side ====== */

static void dt_run(const char *dir, int op, double *secs) {
    dt_kv *kv;
    dt_kv_dbi db;
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.map_size = MAP_SIZE;
    o.flags = DT_KV_NOSYNC;
    int rc;
    if ((rc = dt_kv_open(dir, &o, &kv)) != DT_OK) die("dt_kv_open", rc, dt_errmsg(NULL));
    if ((rc = dt_kv_dbi_open(kv, "bench", DT_KV_DBI_CREATE, &db)) != DT_OK)
        die("dbi_open", rc, dt_errmsg(kv));
    int rand_order = op == OP_RAND_PUT;
    double t0 = bench_now();
    for (size_t i = 0; i < N;) {
        dt_kv_txn *t;
        if ((rc = dt_kv_txn_begin(kv, DT_KV_TXN_WRITE, &t)) != DT_OK)
            die("txn_begin", rc, dt_errmsg(kv));
        size_t end = i + PER_TXN < N ? i + PER_TXN : N;
        for (; i < end; i++) {
            size_t j = rand_order ? perm[i] : i;
            rc = dt_kv_put(kv, t, db, keys + j * KLEN, KLEN, vals + j * VLEN, VLEN,
                           rand_order ? 0 : DT_KV_APPEND);
            if (rc != DT_OK) die("put", rc, dt_errmsg(kv));
        }
        if ((rc = dt_kv_txn_commit(t)) != DT_OK) die("commit", rc, dt_errmsg(kv));
    }
    double t1 = bench_now();
    if (op == OP_SEQ_PUT || op == OP_RAND_PUT) {
        *secs = t1 - t0;
    } else if (op == OP_GET) {
        for (int pass = 0; pass < READ_PASSES; pass++) {
            dt_kv_txn *t;
            dt_kv_txn_begin(kv, DT_KV_TXN_RDONLY, &t);
            uint64_t sum = 0;
            t0 = bench_now();
            for (size_t i = 0; i < N; i++) {
                dt_kv_bytes v;
                size_t j = perm[i];
                if ((rc = dt_kv_get_view(kv, t, db, keys + j * KLEN, KLEN, &v)) != DT_OK)
                    die("get", rc, dt_errmsg(kv));
                sum += v.len + ((const unsigned char *)v.ptr)[0];
            }
            best(secs, bench_now() - t0);
            sink += sum;
            dt_kv_txn_abort(t);
        }
    } else {
        for (int pass = 0; pass < READ_PASSES; pass++) {
            dt_kv_txn *t;
            dt_kv_iter *it;
            dt_kv_txn_begin(kv, DT_KV_TXN_RDONLY, &t);
            uint64_t sum = 0, n = 0;
            t0 = bench_now();
            dt_kv_iter_open(kv, t, db, NULL, &it);
            /* the scan API: entries in batches, one handle check per batch */
            dt_kv_entry batch[256];
            size_t got;
            while (dt_kv_iter_next_batch(it, 256, batch, &got) == DT_ROW) {
                for (size_t i = 0; i < got; i++) sum += batch[i].key.len + batch[i].val.len;
                n += got;
            }
            dt_kv_iter_close(it);
            best(secs, bench_now() - t0);
            if (n != N) die("scan", (int)n, "wrong count");
            sink += sum;
            dt_kv_txn_abort(t);
        }
    }
    if ((rc = dt_kv_close(kv)) != DT_OK) die("close", rc, dt_errmsg(kv));
}

/* }====== */

/* {====== Raw LMDB side ====== */

static void chk(int rc, const char *what) {
    if (rc) die(what, rc, mdb_strerror(rc));
}

static void raw_run(const char *dir, int op, double *secs) {
    MDB_env *env;
    MDB_dbi db;
    MDB_txn *t;
    chk(mdb_env_create(&env), "env_create");
    chk(mdb_env_set_mapsize(env, MAP_SIZE), "set_mapsize");
    chk(mdb_env_set_maxdbs(env, 128), "set_maxdbs");
    chk(mdb_env_open(env, dir, MDB_NOSYNC | MDB_NOTLS, 0644), "env_open");
    chk(mdb_txn_begin(env, NULL, 0, &t), "txn_begin");
    chk(mdb_dbi_open(t, "bench", MDB_CREATE, &db), "dbi_open");
    chk(mdb_txn_commit(t), "commit");
    int rand_order = op == OP_RAND_PUT;
    double t0 = bench_now();
    for (size_t i = 0; i < N;) {
        chk(mdb_txn_begin(env, NULL, 0, &t), "txn_begin");
        size_t end = i + PER_TXN < N ? i + PER_TXN : N;
        for (; i < end; i++) {
            size_t j = rand_order ? perm[i] : i;
            MDB_val k = {KLEN, keys + j * KLEN}, v = {VLEN, vals + j * VLEN};
            chk(mdb_put(t, db, &k, &v, rand_order ? 0 : MDB_APPEND), "put");
        }
        chk(mdb_txn_commit(t), "commit");
    }
    double t1 = bench_now();
    if (op == OP_SEQ_PUT || op == OP_RAND_PUT) {
        *secs = t1 - t0;
    } else if (op == OP_GET) {
        for (int pass = 0; pass < READ_PASSES; pass++) {
            chk(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), "txn_begin");
            uint64_t sum = 0;
            t0 = bench_now();
            for (size_t i = 0; i < N; i++) {
                size_t j = perm[i];
                MDB_val k = {KLEN, keys + j * KLEN}, v;
                chk(mdb_get(t, db, &k, &v), "get");
                sum += v.mv_size + ((const unsigned char *)v.mv_data)[0];
            }
            best(secs, bench_now() - t0);
            sink += sum;
            mdb_txn_abort(t);
        }
    } else {
        for (int pass = 0; pass < READ_PASSES; pass++) {
            MDB_cursor *c;
            chk(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), "txn_begin");
            uint64_t sum = 0, n = 0;
            t0 = bench_now();
            chk(mdb_cursor_open(t, db, &c), "cursor_open");
            MDB_val k, v;
            while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
                sum += k.mv_size + v.mv_size;
                n++;
            }
            mdb_cursor_close(c);
            best(secs, bench_now() - t0);
            if (n != N) die("scan", (int)n, "wrong count");
            sink += sum;
            mdb_txn_abort(t);
        }
    }
    mdb_env_close(env);
}

/* }====== */

int main(int argc, char **argv) {
    N = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    const char *base = argc > 3 ? argv[3] : getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    if (N < 1 || runs < 1) {
        fprintf(stderr, "usage: kv_bench [N [runs [dir]]]\n");
        return 2;
    }
    make_data();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/kv-bench-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* rates[op][impl][run] in operations per second; impl 0 = datolite */
    double *rates = calloc((size_t)NOPS * 2 * (size_t)runs, sizeof *rates);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/db", dir);
    /* warm-up: one small pass of each side */
    for (int run = -1; run < runs; run++) {
        for (int op = 0; op < NOPS; op++) {
            for (int k = 0; k < 2; k++) {
                /* alternate which side goes first */
                int impl = (run + op + k) % 2;
                bench_rm_rf(sub);
                mkdir(sub, 0755);
                double secs = 0;
                if (impl == 0)
                    dt_run(sub, op, &secs);
                else
                    raw_run(sub, op, &secs);
                if (run >= 0)
                    rates[((size_t)op * 2 + (size_t)impl) * (size_t)runs + (size_t)run] =
                        (double)N / secs;
            }
        }
    }
    bench_rm_rf(dir);

    /* per-run pairs, kept before the per-side sorts below */
    double *pair_dt = calloc((size_t)NOPS * (size_t)runs, sizeof *pair_dt);
    double *pair_raw = calloc((size_t)NOPS * (size_t)runs, sizeof *pair_raw);
    if (!pair_dt || !pair_raw) {
        fprintf(stderr, "kv_bench: out of memory\n");
        return 1;
    }
    for (int op = 0; op < NOPS; op++)
        for (int run = 0; run < runs; run++) {
            pair_dt[(size_t)op * (size_t)runs + (size_t)run] =
                rates[((size_t)op * 2) * (size_t)runs + (size_t)run];
            pair_raw[(size_t)op * (size_t)runs + (size_t)run] =
                rates[((size_t)op * 2 + 1) * (size_t)runs + (size_t)run];
        }
    double med[NOPS][2];
    for (int op = 0; op < NOPS; op++) {
        for (int impl = 0; impl < 2; impl++) {
            double *r = rates + ((size_t)op * 2 + (size_t)impl) * (size_t)runs;
            qsort(r, (size_t)runs, sizeof *r, bench_cmp_double);
            med[op][impl] = runs % 2 ? r[runs / 2] : (r[runs / 2 - 1] + r[runs / 2]) / 2;
            printf(
                "{\"bench\":\"kv_bench\",\"op\":\"%s\",\"impl\":\"%s\",\"n\":%zu,\"key_bytes\":%d,"
                "\"val_bytes\":%d,\"per_txn\":%d,\"runs\":%d,\"median_ops_per_s\":%.0f,"
                "\"min_ops_per_s\":%.0f,\"max_ops_per_s\":%.0f}\n",
                op_names[op], impl ? "lmdb" : "datolite", N, KLEN, VLEN, PER_TXN, runs,
                med[op][impl], r[0], r[runs - 1]);
        }
    }
    /* the ratio of each run's pair (the two sides ran back to back), then
     * the median of those: a slow fsync hits one pair, not one side */
    printf("\n%-12s %16s %16s %8s %8s %8s\n", "operation", "datolite ops/s", "raw lmdb ops/s",
           "ratio", "min", "max");
    double *ratios = calloc((size_t)runs, sizeof *ratios);
    for (int op = 0; op < NOPS && ratios; op++) {
        for (int run = 0; run < runs; run++)
            ratios[run] = pair_dt[(size_t)op * (size_t)runs + (size_t)run] /
                          pair_raw[(size_t)op * (size_t)runs + (size_t)run];
        bench_spread sp = bench_ratio_stats(ratios, (size_t)runs);
        printf("%-12s %16.0f %16.0f %8.3f %8.3f %8.3f\n", op_names[op], med[op][0], med[op][1],
               sp.median, sp.min, sp.max);
        printf("{\"bench\":\"kv_bench\",\"op\":\"%s\",\"ratio_median\":%.3f,\"ratio_min\":%.3f,"
               "\"ratio_max\":%.3f}\n",
               op_names[op], sp.median, sp.min, sp.max);
    }
    free(ratios);
    free(pair_dt);
    free(pair_raw);
    free(rates);
    free(keys);
    free(vals);
    free(perm);
    return 0;
}
