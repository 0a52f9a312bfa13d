/*
 * cursor_bench.c -- the datom cursor of datalog/index.h against raw LMDB
 * cursors doing the same work on the same database in the same run:
 *   ave_scan   all AVE datoms of one attribute (seek to the attribute,
 *              step to its end), reading e, aid, value bytes and tx;
 *   eav_seek   seeks to random entities in EAV, reading the first datom
 *              of each (e, aid, value bytes, tx).
 * The database is built once with the bulk loader: N entities (argv[1],
 * default 1,000,000), each with :b/v (a random long) and :b/s (a short
 * string).  Runs alternate the two sides (A B, then B A, ...) on the same
 * directory; each side opens its own environment handle, so the page
 * cache is shared and warm.  A scan pass reads the attribute 4 times and
 * a run keeps the fastest of 3 passes; a seek pass is 1,000,000 seeks and
 * a run keeps the faster of 2 (a fresh environment handle maps pages on
 * first touch, which the first pass pays).
 * Times are the thread's CPU time (the machine is shared; wall time would
 * count other processes).  Reported: per-run ratios cursor/raw (ops/s),
 * their median, min and max, one JSON line per operation and a table.
 *
 * usage: cursor_bench [N [runs [dir [op]]]]   (defaults: 1000000 9 $TMPDIR, both ops)
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
#include <unistd.h>

#include "datolite.h"
#include "db.h"
#include "index.h"

/* A scan pass reads the attribute SCAN_REPS times; a run keeps the best
 * of SCAN_PASSES passes.  A seek pass is NSEEK seeks; a run keeps the
 * best of SEEK_PASSES (the first maps the pages the seeks touch). */
enum { SCAN_REPS = 4, SCAN_PASSES = 3, NSEEK = 1000000, SEEK_PASSES = 2 };
enum { OP_SCAN, OP_SEEK, NOPS };
static const char *op_names[NOPS] = {"ave_scan", "eav_seek"};

static size_t N;
static int64_t *seeks; /* NSEEK random entity ids */
static volatile uint64_t sink;

static void die(const char *what, int rc, const char *msg) {
    fprintf(stderr, "cursor_bench: %s failed: %d %s\n", what, rc, msg);
    exit(1);
}

static uint64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Builds the database with the bulk loader; returns the aid of :b/v. */
static void build(const char *dir) {
    dt_conn *c;
    int rc = dt_conn_open(dir,
                          "{:b/v {:db/valueType :db.type/long}"
                          " :b/s {:db/valueType :db.type/string}}",
                          NULL, &c);
    if (rc != DT_OK) die("dt_conn_open", rc, dt_errmsg(NULL));
    dt_loader *ld;
    if ((rc = dt_loader_open(c, DT_LOAD_INIT, NULL, &ld)) != DT_OK)
        die("dt_loader_open", rc, dt_errmsg(c));
    uint64_t s = 4242;
    for (size_t i = 0; i < N; i++) {
        int64_t e = (int64_t)i + 1;
        dt_value v;
        dt_value_long((int64_t)(bench_rng(&s) % 1000000000), &v);
        if ((rc = dt_loader_add(ld, e, "b/v", &v)) != DT_OK) die("add", rc, dt_errmsg(ld));
        char name[32];
        int n = snprintf(name, sizeof name, "name-%llx", (unsigned long long)bench_rng(&s));
        dt_value_text(DT_STRING, name, (size_t)n, &v);
        if ((rc = dt_loader_add(ld, e, "b/s", &v)) != DT_OK) die("add", rc, dt_errmsg(ld));
        dt_value_free(&v);
    }
    if ((rc = dt_loader_finish(ld, NULL)) != DT_OK) die("finish", rc, dt_errmsg(ld));
    dt_loader_close(ld);
    if ((rc = dt_conn_close(c)) != DT_OK) die("close", rc, "");
}

/* {====== The cursor ====== */

static double cursor_run(const char *dir, int op) {
    dt_conn *c;
    dt_db *db;
    int rc = dt_conn_open(dir, NULL, NULL, &c);
    if (rc != DT_OK) die("dt_conn_open", rc, dt_errmsg(NULL));
    if ((rc = dt_conn_db(c, &db)) != DT_OK) die("dt_conn_db", rc, dt_errmsg(c));
    uint32_t aid = dl_schema_by_ident(dl_db_schema(db), "b/v", 3)->aid;
    dl_cursor cur;
    rc = dl_cursor_open(&cur, dl_db_store(db), dl_db_txn(db),
                        op == OP_SCAN ? DL_INDEX_AVE : DL_INDEX_EAV);
    if (rc != DT_OK) die("dl_cursor_open", rc, dt_errmsg(NULL));
    double best = 0;
    for (int pass = 0; pass < (op == OP_SCAN ? SCAN_PASSES : SEEK_PASSES); pass++) {
        uint64_t sum = 0, n = 0;
        dl_datom d;
        double t0 = bench_cpu_now();
        if (op == OP_SCAN) {
            for (int rep = 0; rep < SCAN_REPS; rep++) {
                dl_ikey k = {1, 0, aid, NULL, 0};
                if ((rc = dl_cursor_seek(&cur, &k, 1, NULL)) != DT_OK)
                    die("seek", rc, dt_errmsg(NULL));
                while ((rc = dl_cursor_next(&cur, &d)) == DT_ROW) {
                    sum += (uint64_t)d.e + d.aid + d.vlen + (uint64_t)d.tx + d.v[0];
                    n++;
                }
                if (rc != DT_DONE) die("next", rc, dt_errmsg(NULL));
            }
        } else {
            for (size_t i = 0; i < NSEEK; i++) {
                dl_ikey k = {1, seeks[i], 0, NULL, 0};
                if ((rc = dl_cursor_seek(&cur, &k, 1, NULL)) != DT_OK)
                    die("seek", rc, dt_errmsg(NULL));
                if ((rc = dl_cursor_next(&cur, &d)) != DT_ROW) die("next", rc, dt_errmsg(NULL));
                sum += (uint64_t)d.e + d.aid + d.vlen + (uint64_t)d.tx + d.v[0];
                n++;
            }
        }
        double t = bench_cpu_now() - t0;
        if (n != (op == OP_SCAN ? SCAN_REPS * N : NSEEK))
            die("count", (int)n, "wrong number of datoms");
        sink += sum;
        if (best == 0 || t < best) best = t;
    }
    dl_cursor_close(&cur);
    dt_db_close(db);
    dt_conn_close(c);
    return best;
}

/* }====== */

/* {====== Raw LMDB ====== */

static void chk(int rc, const char *what) {
    if (rc) die(what, rc, mdb_strerror(rc));
}

static double raw_run(const char *dir, int op, uint32_t aid) {
    MDB_env *env;
    MDB_txn *t;
    MDB_dbi dbi;
    MDB_cursor *mc;
    chk(mdb_env_create(&env), "env_create");
    chk(mdb_env_set_maxdbs(env, 16), "set_maxdbs");
    chk(mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0644), "env_open");
    chk(mdb_txn_begin(env, NULL, MDB_RDONLY, &t), "txn_begin");
    chk(mdb_dbi_open(t, op == OP_SCAN ? "dt/ave" : "dt/eav", 0, &dbi), "dbi_open");
    chk(mdb_cursor_open(t, dbi, &mc), "cursor_open");
    double best = 0;
    for (int pass = 0; pass < (op == OP_SCAN ? SCAN_PASSES : SEEK_PASSES); pass++) {
        uint64_t sum = 0, n = 0;
        double t0 = bench_cpu_now();
        if (op == OP_SCAN) {
            /* aid(4) | v | e(8) -> tx(8), from the first key of the aid */
            uint8_t pre[4] = {(uint8_t)(aid >> 24), (uint8_t)(aid >> 16), (uint8_t)(aid >> 8),
                              (uint8_t)aid};
            for (int rep = 0; rep < SCAN_REPS; rep++) {
                MDB_val k = {4, pre}, v;
                int rc = mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE);
                while (rc == 0 && k.mv_size > 12 && memcmp(k.mv_data, pre, 4) == 0) {
                    const uint8_t *p = k.mv_data;
                    sum += be64(p + k.mv_size - 8) + be32(p) + (k.mv_size - 12) + be64(v.mv_data) +
                           p[4];
                    n++;
                    rc = mdb_cursor_get(mc, &k, &v, MDB_NEXT);
                }
                if (rc != 0 && rc != MDB_NOTFOUND) chk(rc, "cursor_get");
            }
        } else {
            /* e(8) | aid(4) | v -> tx(8), the first key of the entity */
            for (size_t i = 0; i < NSEEK; i++) {
                uint8_t pre[8];
                uint64_t e = (uint64_t)seeks[i];
                for (int b = 7; b >= 0; b--) {
                    pre[b] = (uint8_t)e;
                    e >>= 8;
                }
                MDB_val k = {8, pre}, v;
                chk(mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE), "seek");
                if (k.mv_size <= 12 || memcmp(k.mv_data, pre, 8) != 0) die("seek", 0, "missed");
                const uint8_t *p = k.mv_data;
                sum += be64(p) + be32(p + 8) + (k.mv_size - 12) + be64(v.mv_data) + p[12];
                n++;
            }
        }
        double tt = bench_cpu_now() - t0;
        if (n != (op == OP_SCAN ? SCAN_REPS * N : NSEEK))
            die("count", (int)n, "wrong number of datoms");
        sink += sum;
        if (best == 0 || tt < best) best = tt;
    }
    mdb_cursor_close(mc);
    mdb_txn_abort(t);
    mdb_env_close(env);
    return best;
}

/* }====== */

static int cmp_d(const void *a, const void *b) { return bench_cmp_double(a, b); }

int main(int argc, char **argv) {
    N = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    int runs = argc > 2 ? atoi(argv[2]) : 9;
    const char *tmp = argc > 3 ? argv[3] : getenv("TMPDIR");
    if (!tmp) tmp = "/tmp";
    if (N < 1 || runs < 1) {
        fprintf(stderr, "usage: cursor_bench [N [runs [dir]]]\n");
        return 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cursor_bench.%d", tmp, (int)getpid());
    bench_rm_rf(dir);
    build(dir);
    seeks = malloc(NSEEK * sizeof *seeks);
    uint64_t s = 99;
    for (size_t i = 0; i < NSEEK; i++) seeks[i] = 1 + (int64_t)(bench_rng(&s) % N);
    /* the aid of :b/v, as the cursor side resolves it */
    uint32_t aid;
    {
        dt_conn *c;
        dt_db *db;
        if (dt_conn_open(dir, NULL, NULL, &c) != DT_OK || dt_conn_db(c, &db) != DT_OK)
            die("open", 0, dt_errmsg(NULL));
        aid = dl_schema_by_ident(dl_db_schema(db), "b/v", 3)->aid;
        dt_db_close(db);
        dt_conn_close(c);
    }
    /* warm-up: one run of each side */
    cursor_run(dir, OP_SCAN);
    raw_run(dir, OP_SCAN, aid);
    printf("# cursor_bench N=%zu runs=%d (ops/s; ratio = cursor / raw per run)\n", N, runs);
    double *ratio = malloc((size_t)runs * sizeof *ratio), *rc_ops = malloc((size_t)runs * 8),
           *rw_ops = malloc((size_t)runs * 8);
    double med[NOPS][3], lo[NOPS], hi[NOPS];
    const char *only = argc > 4 ? argv[4] : NULL;
    for (int op = 0; op < NOPS; op++) {
        if (only && strcmp(only, op_names[op]) != 0) continue;
        double work = op == OP_SCAN ? (double)N * SCAN_REPS : (double)NSEEK;
        for (int r = 0; r < runs; r++) {
            double tc, tr;
            if (r % 2 == 0) {
                tc = cursor_run(dir, op);
                tr = raw_run(dir, op, aid);
            } else {
                tr = raw_run(dir, op, aid);
                tc = cursor_run(dir, op);
            }
            rc_ops[r] = work / tc;
            rw_ops[r] = work / tr;
            ratio[r] = tr / tc;
        }
        qsort(ratio, (size_t)runs, sizeof *ratio, cmp_d);
        qsort(rc_ops, (size_t)runs, sizeof *rc_ops, cmp_d);
        qsort(rw_ops, (size_t)runs, sizeof *rw_ops, cmp_d);
        med[op][0] = rc_ops[runs / 2];
        med[op][1] = rw_ops[runs / 2];
        med[op][2] = ratio[runs / 2];
        lo[op] = ratio[0];
        hi[op] = ratio[runs - 1];
        printf("{\"bench\":\"cursor\",\"op\":\"%s\",\"n\":%.0f,\"runs\":%d,\"cursor_ops\":%.0f,"
               "\"raw_ops\":%.0f,\"ratio_median\":%.3f,\"ratio_min\":%.3f,\"ratio_max\":%.3f}\n",
               op_names[op], work, runs, med[op][0], med[op][1], med[op][2], lo[op], hi[op]);
    }
    printf(
        "\n| operation | cursor ops/s | raw LMDB ops/s | ratio median | ratio min | ratio max |\n"
        "|---|---:|---:|---:|---:|---:|\n");
    for (int op = 0; op < NOPS; op++)
        if (!only || strcmp(only, op_names[op]) == 0)
            printf("| %s | %.0f | %.0f | %.2f | %.2f | %.2f |\n", op_names[op], med[op][0],
                   med[op][1], med[op][2], lo[op], hi[op]);
    if (!getenv("CURSOR_BENCH_KEEP")) bench_rm_rf(dir);
    free(ratio);
    free(rc_ops);
    free(rw_ops);
    free(seeks);
    return (int)(sink & 0);
}
