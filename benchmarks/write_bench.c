/*
 * write_bench.c -- the write path under concurrency, after Datalevin's
 * write benchmark: sync and async transact with 1, 8 and 64 producers,
 * 1, 10 and 100 datoms per transaction, in each durability mode; a
 * concurrent table benchmark on the KV store; and raw LMDB (one put per
 * transaction) in the same run as the reference.
 *
 * Modes (environment flags given at open):
 *   durable     default: fsync at every commit
 *   nometasync  DT_KV_NOMETASYNC
 *   nosync      DT_KV_NOSYNC
 *   writemap    DT_KV_WRITEMAP | DT_KV_MAPASYNC
 *
 * Datalog cells: a fresh database per cell; each transaction is k entity
 * maps {:w/n <long>} (k datoms, plus the transaction's :db/txInstant).
 *   sync   each producer calls dt_transact(conn, edn, NULL) in a loop;
 *          latency = the call.
 *   async  each producer calls dt_transact_async with a callback, keeping
 *          at most WINDOW (16) of its transactions in flight; latency =
 *          submission to callback (after the batch's commit).
 * The transactions of a cell are split evenly among the producers; tx/s
 * is transactions over the wall time from the first submission to the
 * last completion.
 *
 * KV table cells (8 threads, 10,000 preloaded 16-byte keys with 100-byte
 * values, uniformly random keys): pure reads (dt_kv_get with no txn: a
 * pooled snapshot per read), 80/20 reads/writes and pure writes, writes
 * through dt_kv_put autocommit or dt_kv_transact_async (window 16 per
 * thread); ops/s and p50/p99 latency per operation.
 *
 * Raw LMDB reference per mode: mdb_txn_begin, one mdb_put (8-byte key,
 * 16-byte value), mdb_txn_commit, with the mode's env flags.
 *
 * usage: write_bench [scale [dir]]          the full grid; scale multiplies
 *                                           the transaction counts (1.0)
 *        write_bench targets [runs [dir]]   only the target cells (durable:
 *                                           raw LMDB, sync 1 producer, async
 *                                           64 producers, 1 datom), `runs`
 *                                           times interleaved (5), medians;
 *                                           plus the same transaction as a
 *                                           block on the calling thread, and
 *                                           the raw group-commit ceiling: 64
 *                                           producers, one writer thread
 *                                           committing whatever is queued
 *        write_bench ceiling [runs [dir [mode]]]  only async transact (64
 *                                           producers, 1 datom) against the
 *                                           raw group-commit ceiling, `runs`
 *                                           times interleaved (5), in `mode`
 *                                           (durable, nometasync, nosync,
 *                                           writemap); per-run ratios
 * One JSON line per result on stdout, then a human table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datolite.h"

#define WINDOW     16
#define KV_THREADS 8
#define KV_KEYS    10000
#define KV_VAL     100
#define MAX_RUNS   31

/* {====== Utilities ====== */

static const char *base_dir;

static void die(const char *what, int rc, const char *msg) {
    fprintf(stderr, "write_bench: %s: %d %s\n", what, rc, msg ? msg : "");
    exit(1);
}

static char *fresh_dir(const char *tag) {
    static int seq;
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/write_bench_%d_%s_%d", base_dir, (int)getpid(), tag, seq++);
    bench_rm_rf(p);
    if (mkdir(p, 0755) != 0) die("mkdir", 0, p);
    return p;
}

static void remove_dir(char *p) {
    bench_rm_rf(p);
    free(p);
}

/* The q-quantile of v[0..n) (sorts v). */
static double quantile(double *v, size_t n, double q) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static double median(double *v, size_t n) { return quantile(v, n, 0.5); }

/* }====== */

/* {====== Modes and results ====== */

typedef struct mode {
    const char *name;
    unsigned dt_flags;
    unsigned mdb_flags;
} mode;

static const mode MODES[] = {
    {"durable", 0, 0},
    {"nometasync", DT_KV_NOMETASYNC, MDB_NOMETASYNC},
    {"nosync", DT_KV_NOSYNC, MDB_NOSYNC},
    {"writemap", DT_KV_WRITEMAP | DT_KV_MAPASYNC, MDB_WRITEMAP | MDB_MAPASYNC},
};
#define NMODES 4

typedef struct result {
    const char *mode;
    const char *bench; /* "transact", "kv", "lmdb_raw" */
    const char *kind;  /* sync/async; kv mix; "put" */
    int datoms, producers;
    long ops;
    double per_s, datoms_per_s, p50_ms, p99_ms;
} result;

static result results[512];
static int nresults;

static void emit(result r) {
    printf(
        "{\"bench\":\"write_bench\",\"mode\":\"%s\",\"what\":\"%s\",\"kind\":\"%s\",\"datoms\":%d,"
        "\"producers\":%d,\"ops\":%ld,\"per_s\":%.1f,\"datoms_per_s\":%.1f,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f}\n",
        r.mode, r.bench, r.kind, r.datoms, r.producers, r.ops, r.per_s, r.datoms_per_s, r.p50_ms,
        r.p99_ms);
    fflush(stdout);
    if (nresults < (int)(sizeof results / sizeof *results)) results[nresults++] = r;
}

/* }====== */

/* {====== Raw LMDB ====== */

static result raw_lmdb(const mode *m, int ntx) {
    char *dir = fresh_dir("raw");
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_mapsize(env, (size_t)256 << 20);
    if (!rc) rc = mdb_env_open(env, dir, m->mdb_flags | MDB_NOTLS, 0644);
    if (!rc) rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc) rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (!rc) rc = mdb_txn_commit(txn);
    if (rc) die("lmdb open", rc, mdb_strerror(rc));
    double *lat = malloc((size_t)ntx * sizeof *lat);
    uint64_t seed = 42;
    double t0 = bench_now();
    for (int i = 0; i < ntx; i++) {
        double s = bench_now();
        uint64_t k = __builtin_bswap64((uint64_t)i), v[2] = {bench_rng(&seed), bench_rng(&seed)};
        MDB_val key = {sizeof k, &k}, val = {sizeof v, v};
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (!rc) rc = mdb_put(txn, dbi, &key, &val, 0);
        if (!rc) rc = mdb_txn_commit(txn);
        if (rc) die("lmdb put", rc, mdb_strerror(rc));
        lat[i] = bench_now() - s;
    }
    double secs = bench_now() - t0;
    mdb_env_close(env);
    remove_dir(dir);
    result r = {m->name,
                "lmdb_raw",
                "put",
                1,
                1,
                ntx,
                ntx / secs,
                ntx / secs,
                quantile(lat, (size_t)ntx, 0.5) * 1e3,
                quantile(lat, (size_t)ntx, 0.99) * 1e3};
    free(lat);
    return r;
}

/* The 9 puts over 5 named dbis one Datolite transaction of one datom
 * makes (EAV and AVE entries of the datom and of the transaction's
 * :db/txInstant, 2 statistics records, a tx-log record and the 2 meta
 * counters), for transaction number i with random bits r. */
static int puts_like_datolite(MDB_txn *txn, const MDB_dbi dbi[5], uint64_t i, uint64_t r) {
    uint64_t e = __builtin_bswap64(i + 1), tx = __builtin_bswap64(((uint64_t)1 << 42) + i);
    uint8_t k1[24], k2[24], v8[16];
    memcpy(v8, &r, 8);
    memcpy(v8 + 8, &r, 8);
    int rc = 0;
    for (int p = 0; p < 2 && !rc; p++) {
        uint64_t ent = p ? tx : e;
        memcpy(k1, &ent, 8);
        k1[8] = (uint8_t)(10 + p);
        memcpy(k1 + 9, &r, 8);
        memcpy(k2, k1 + 8, 9);
        memcpy(k2 + 9, &ent, 8);
        MDB_val a = {17, k1}, b = {17, k2}, v = {8, v8};
        rc = mdb_put(txn, dbi[0], &a, &v, 0);
        if (!rc) rc = mdb_put(txn, dbi[1], &b, &v, 0);
        uint32_t aid = (uint32_t)(10 + p);
        MDB_val sk = {4, &aid}, sv = {16, v8};
        if (!rc) rc = mdb_put(txn, dbi[2], &sk, &sv, 0);
    }
    MDB_val lk = {8, &tx}, lv = {8, v8}, m1 = {8, "next_eid"}, m2 = {6, "next_t"}, mv = {8, &e};
    if (!rc) rc = mdb_put(txn, dbi[3], &lk, &lv, 0);
    if (!rc) rc = mdb_put(txn, dbi[4], &m1, &mv, 0);
    if (!rc) rc = mdb_put(txn, dbi[4], &m2, &mv, 0);
    return rc;
}

/*
 * The puts one Datolite transaction of one datom makes, in raw LMDB: 9
 * puts over 5 named dbis (EAV and AVE entries of the datom and of the
 * transaction's :db/txInstant, 2 statistics records, a tx-log record and
 * the 2 meta counters).  A diagnostic for the sync target: the same
 * commit as Datolite's, without Datolite.
 */
static result raw_lmdb_like_datolite(const mode *m, int ntx) {
    char *dir = fresh_dir("raw9");
    static const char *names[5] = {"eav", "ave", "stats", "txlog", "meta"};
    MDB_env *env;
    MDB_dbi dbi[5];
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_mapsize(env, (size_t)256 << 20);
    if (!rc) rc = mdb_env_set_maxdbs(env, 8);
    if (!rc) rc = mdb_env_open(env, dir, m->mdb_flags | MDB_NOTLS, 0644);
    if (!rc) rc = mdb_txn_begin(env, NULL, 0, &txn);
    for (int i = 0; i < 5 && !rc; i++) rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &dbi[i]);
    if (!rc) rc = mdb_txn_commit(txn);
    if (rc) die("lmdb open", rc, mdb_strerror(rc));
    double *lat = malloc((size_t)ntx * sizeof *lat);
    uint64_t seed = 42;
    double t0 = bench_now();
    for (int i = 0; i < ntx; i++) {
        double s = bench_now();
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (!rc) rc = puts_like_datolite(txn, dbi, (uint64_t)i, bench_rng(&seed));
        if (!rc) rc = mdb_txn_commit(txn);
        if (rc) die("lmdb put", rc, mdb_strerror(rc));
        lat[i] = bench_now() - s;
    }
    double secs = bench_now() - t0;
    mdb_env_close(env);
    remove_dir(dir);
    result res = {m->name,
                  "lmdb_raw",
                  "9puts_5dbis",
                  1,
                  1,
                  ntx,
                  ntx / secs,
                  ntx / secs,
                  quantile(lat, (size_t)ntx, 0.5) * 1e3,
                  quantile(lat, (size_t)ntx, 0.99) * 1e3};
    free(lat);
    return res;
}

/* }====== */

/* {====== Transact cells ====== */

typedef struct producer producer;

typedef struct slot {
    producer *p;
    double t0;
    int i;
} slot;

struct producer {
    dt_conn *conn;
    int async;
    int datoms;
    int first, count; /* transactions [first, first + count) */
    double *lat;      /* count latencies */
    slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    int failed;
};

/* tx-data of transaction number x: `datoms` entity maps. */
static void make_tx(char *buf, size_t cap, int datoms, int x) {
    size_t n = 0;
    buf[n++] = '[';
    for (int d = 0; d < datoms; d++)
        n += (size_t)snprintf(buf + n, cap - n, "{:w/n %lld}", (long long)x * 1000 + d);
    buf[n++] = ']';
    buf[n] = '\0';
}

static void tx_done(int rc, const dt_report *r, void *ud) {
    (void)r;
    slot *s = ud;
    producer *p = s->p;
    p->lat[s->i] = bench_now() - s->t0;
    pthread_mutex_lock(&p->mu);
    if (rc != DT_OK) p->failed = rc;
    p->inflight--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *producer_main(void *arg) {
    producer *p = arg;
    size_t cap = (size_t)p->datoms * 32 + 16;
    char *buf = malloc(cap);
    for (int i = 0; i < p->count; i++) {
        make_tx(buf, cap, p->datoms, p->first + i);
        if (!p->async) {
            double s = bench_now();
            int rc = dt_transact(p->conn, buf, NULL);
            p->lat[i] = bench_now() - s;
            if (rc != DT_OK) die("dt_transact", rc, dt_errmsg(p->conn));
            continue;
        }
        pthread_mutex_lock(&p->mu);
        while (p->inflight >= WINDOW) pthread_cond_wait(&p->cv, &p->mu);
        p->inflight++;
        pthread_mutex_unlock(&p->mu);
        p->slots[i] = (slot){p, bench_now(), i};
        int rc = dt_transact_async(p->conn, buf, tx_done, &p->slots[i], NULL);
        if (rc != DT_OK) die("dt_transact_async", rc, dt_errmsg(p->conn));
    }
    pthread_mutex_lock(&p->mu);
    while (p->inflight > 0) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    if (p->failed) die("async transaction", p->failed, "");
    free(buf);
    return NULL;
}

static result transact_cell(const mode *m, int async, int datoms, int producers, int ntx) {
    char *dir = fresh_dir("dt");
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = m->dt_flags;
    o.kv.map_size = (uint64_t)256 << 20;
    dt_conn *conn = NULL;
    int rc = dt_conn_open(dir, "{:w/n {:db/valueType :db.type/long}}", &o, &conn);
    if (rc != DT_OK) die("dt_conn_open", rc, dt_errmsg(NULL));
    ntx -= ntx % producers;
    double *lat = malloc((size_t)ntx * sizeof *lat);
    slot *slots = malloc((size_t)ntx * sizeof *slots);
    producer *ps = calloc((size_t)producers, sizeof *ps);
    pthread_t *th = malloc((size_t)producers * sizeof *th);
    int per = ntx / producers;
    for (int i = 0; i < producers; i++) {
        producer *p = &ps[i];
        p->conn = conn;
        p->async = async;
        p->datoms = datoms;
        p->first = i * per;
        p->count = per;
        p->lat = lat + (size_t)i * per;
        p->slots = slots + (size_t)i * per;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
    }
    double t0 = bench_now();
    for (int i = 0; i < producers; i++)
        if (pthread_create(&th[i], NULL, producer_main, &ps[i]) != 0) die("pthread_create", 0, "");
    for (int i = 0; i < producers; i++) pthread_join(th[i], NULL);
    double secs = bench_now() - t0;
    for (int i = 0; i < producers; i++) {
        pthread_mutex_destroy(&ps[i].mu);
        pthread_cond_destroy(&ps[i].cv);
    }
    if ((rc = dt_conn_close(conn)) != DT_OK) die("dt_conn_close", rc, dt_errmsg(conn));
    remove_dir(dir);
    result r = {m->name,
                "transact",
                async ? "async" : "sync",
                datoms,
                producers,
                ntx,
                ntx / secs,
                (double)ntx * datoms / secs,
                quantile(lat, (size_t)ntx, 0.5) * 1e3,
                quantile(lat, (size_t)ntx, 0.99) * 1e3};
    free(lat);
    free(slots);
    free(ps);
    free(th);
    return r;
}

/*
 * The raw group-commit ceiling: what async transact could reach if
 * Datolite cost nothing.  `producers` threads submit requests (window
 * WINDOW each, as the async cells) to a queue; one writer thread takes
 * everything queued, makes for each request the 9 puts over 5 dbis one
 * Datolite transaction of one datom makes (see raw_lmdb_like_datolite),
 * commits once, and completes the batch.  Same latencies as the async
 * cells: submission to completion after the batch's commit.
 */
typedef struct gc_req {
    struct gc_prod *p;
    double t0;
    int i;
} gc_req;

typedef struct gc_prod {
    struct gc_queue *q;
    int first, count;
    double *lat;
    gc_req *reqs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
} gc_prod;

typedef struct gc_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    gc_req **items;
    size_t n, cap;
    int stop;
    MDB_env *env;
    MDB_dbi dbi[5];
    uint64_t seq;
    long batches;
} gc_queue;

static void *gc_producer(void *arg) {
    gc_prod *p = arg;
    for (int i = 0; i < p->count; i++) {
        pthread_mutex_lock(&p->mu);
        while (p->inflight >= WINDOW) pthread_cond_wait(&p->cv, &p->mu);
        p->inflight++;
        pthread_mutex_unlock(&p->mu);
        p->reqs[i] = (gc_req){p, bench_now(), i};
        gc_queue *q = p->q;
        pthread_mutex_lock(&q->mu);
        q->items[q->n++] = &p->reqs[i];
        pthread_cond_signal(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    pthread_mutex_lock(&p->mu);
    while (p->inflight > 0) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *gc_writer(void *arg) {
    gc_queue *q = arg;
    size_t cap = q->cap;
    gc_req **batch = malloc(cap * sizeof *batch);
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (q->n == 0 && !q->stop) pthread_cond_wait(&q->cv, &q->mu);
        if (q->n == 0 && q->stop) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        size_t n = q->n;
        memcpy(batch, q->items, n * sizeof *batch);
        q->n = 0;
        pthread_mutex_unlock(&q->mu);
        MDB_txn *txn;
        int rc = mdb_txn_begin(q->env, NULL, 0, &txn);
        for (size_t j = 0; j < n && !rc; j++) {
            uint64_t i = q->seq++;
            rc = puts_like_datolite(txn, q->dbi, i, i * 0x9e3779b97f4a7c15ULL);
        }
        if (!rc) rc = mdb_txn_commit(txn);
        if (rc) die("lmdb group commit", rc, mdb_strerror(rc));
        q->batches++;
        double now = bench_now();
        for (size_t j = 0; j < n; j++) {
            gc_req *rq = batch[j];
            gc_prod *p = rq->p;
            p->lat[rq->i] = now - rq->t0;
            pthread_mutex_lock(&p->mu);
            p->inflight--;
            pthread_cond_signal(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    free(batch);
    return NULL;
}

static result raw_group_commit(const mode *m, int producers, int ntx) {
    char *dir = fresh_dir("rawgc");
    static const char *names[5] = {"eav", "ave", "stats", "txlog", "meta"};
    gc_queue q;
    memset(&q, 0, sizeof q);
    MDB_txn *txn;
    int rc = mdb_env_create(&q.env);
    if (!rc) rc = mdb_env_set_mapsize(q.env, (size_t)256 << 20);
    if (!rc) rc = mdb_env_set_maxdbs(q.env, 8);
    if (!rc) rc = mdb_env_open(q.env, dir, m->mdb_flags | MDB_NOTLS, 0644);
    if (!rc) rc = mdb_txn_begin(q.env, NULL, 0, &txn);
    for (int i = 0; i < 5 && !rc; i++) rc = mdb_dbi_open(txn, names[i], MDB_CREATE, &q.dbi[i]);
    if (!rc) rc = mdb_txn_commit(txn);
    if (rc) die("lmdb open", rc, mdb_strerror(rc));
    ntx -= ntx % producers;
    q.cap = (size_t)producers * WINDOW + 1;
    q.items = malloc(q.cap * sizeof *q.items);
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv, NULL);
    double *lat = malloc((size_t)ntx * sizeof *lat);
    gc_req *reqs = malloc((size_t)ntx * sizeof *reqs);
    gc_prod *ps = calloc((size_t)producers, sizeof *ps);
    pthread_t *th = malloc((size_t)producers * sizeof *th), wt;
    int per = ntx / producers;
    for (int i = 0; i < producers; i++) {
        gc_prod *p = &ps[i];
        p->q = &q;
        p->first = i * per;
        p->count = per;
        p->lat = lat + (size_t)i * per;
        p->reqs = reqs + (size_t)i * per;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
    }
    double t0 = bench_now();
    if (pthread_create(&wt, NULL, gc_writer, &q) != 0) die("pthread_create", 0, "");
    for (int i = 0; i < producers; i++)
        if (pthread_create(&th[i], NULL, gc_producer, &ps[i]) != 0) die("pthread_create", 0, "");
    for (int i = 0; i < producers; i++) pthread_join(th[i], NULL);
    double secs = bench_now() - t0;
    pthread_mutex_lock(&q.mu);
    q.stop = 1;
    pthread_cond_signal(&q.cv);
    pthread_mutex_unlock(&q.mu);
    pthread_join(wt, NULL);
    for (int i = 0; i < producers; i++) {
        pthread_mutex_destroy(&ps[i].mu);
        pthread_cond_destroy(&ps[i].cv);
    }
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.cv);
    mdb_env_close(q.env);
    remove_dir(dir);
    result r = {m->name,
                "lmdb_raw",
                "group_commit",
                1,
                producers,
                ntx,
                ntx / secs,
                ntx / secs,
                quantile(lat, (size_t)ntx, 0.5) * 1e3,
                quantile(lat, (size_t)ntx, 0.99) * 1e3};
    free(lat);
    free(reqs);
    free(ps);
    free(th);
    free(q.items);
    return r;
}

/* The same as a sync cell with one producer, through a block on the
 * calling thread (dt_txn_begin, dt_txn_transact, dt_txn_commit): no hand-off
 * to the writer thread.  A diagnostic for the targets. */
static result block_cell(const mode *m, int datoms, int ntx) {
    char *dir = fresh_dir("blk");
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = m->dt_flags;
    o.kv.map_size = (uint64_t)256 << 20;
    dt_conn *conn = NULL;
    int rc = dt_conn_open(dir, "{:w/n {:db/valueType :db.type/long}}", &o, &conn);
    if (rc != DT_OK) die("dt_conn_open", rc, dt_errmsg(NULL));
    double *lat = malloc((size_t)ntx * sizeof *lat);
    size_t cap = (size_t)datoms * 32 + 16;
    char *buf = malloc(cap);
    double t0 = bench_now();
    for (int i = 0; i < ntx; i++) {
        make_tx(buf, cap, datoms, i);
        double s = bench_now();
        dt_txn *tx = NULL;
        rc = dt_txn_begin(conn, &tx);
        if (rc == DT_OK) rc = dt_txn_transact(tx, buf, NULL);
        if (rc == DT_OK)
            rc = dt_txn_commit(tx);
        else
            dt_txn_abort(tx);
        if (rc != DT_OK) die("block", rc, dt_errmsg(conn));
        lat[i] = bench_now() - s;
    }
    double secs = bench_now() - t0;
    if ((rc = dt_conn_close(conn)) != DT_OK) die("dt_conn_close", rc, dt_errmsg(conn));
    remove_dir(dir);
    result r = {m->name,
                "transact",
                "block",
                datoms,
                1,
                ntx,
                ntx / secs,
                (double)ntx * datoms / secs,
                quantile(lat, (size_t)ntx, 0.5) * 1e3,
                quantile(lat, (size_t)ntx, 0.99) * 1e3};
    free(lat);
    free(buf);
    return r;
}

/* }====== */

/* {====== KV table cells ====== */

typedef struct kv_worker kv_worker;

typedef struct kv_slot {
    kv_worker *w;
    double t0;
    long i;
} kv_slot;

struct kv_worker {
    dt_kv *kv;
    dt_kv_dbi dbi;
    int read_pct; /* share of reads, 0..100 */
    int async;    /* writes through dt_kv_transact_async */
    long count;
    double *lat;
    kv_slot *slots;
    uint64_t seed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight, failed;
};

static void kv_done(int rc, void *ud) {
    kv_slot *s = ud;
    kv_worker *w = s->w;
    w->lat[s->i] = bench_now() - s->t0;
    pthread_mutex_lock(&w->mu);
    if (rc != DT_OK) w->failed = rc;
    w->inflight--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void kv_key(uint8_t key[16], uint64_t k) {
    uint64_t be = __builtin_bswap64(k), tail = k * 0x9E3779B97F4A7C15ull;
    memcpy(key, &be, 8);
    memcpy(key + 8, &tail, 8);
}

static void *kv_worker_main(void *arg) {
    kv_worker *w = arg;
    uint8_t key[16], val[KV_VAL];
    for (long i = 0; i < w->count; i++) {
        uint64_t r = bench_rng(&w->seed);
        kv_key(key, r % KV_KEYS);
        int write = (int)((r >> 32) % 100) >= w->read_pct;
        double s = bench_now();
        int rc;
        if (!write) {
            void *v = NULL;
            size_t len = 0;
            rc = dt_kv_get(w->kv, NULL, w->dbi, key, sizeof key, &v, &len);
            dt_free(v);
            w->lat[i] = bench_now() - s;
            if (rc != DT_OK) die("dt_kv_get", rc, dt_errmsg(w->kv));
            continue;
        }
        memset(val, (int)(r & 0xff), sizeof val);
        if (!w->async) {
            rc = dt_kv_put(w->kv, NULL, w->dbi, key, sizeof key, val, sizeof val, 0);
            w->lat[i] = bench_now() - s;
            if (rc != DT_OK) die("dt_kv_put", rc, dt_errmsg(w->kv));
            continue;
        }
        pthread_mutex_lock(&w->mu);
        while (w->inflight >= WINDOW) pthread_cond_wait(&w->cv, &w->mu);
        w->inflight++;
        pthread_mutex_unlock(&w->mu);
        w->slots[i] = (kv_slot){w, s, i};
        dt_kv_op op = {DT_KV_OP_PUT, w->dbi, 0, {key, sizeof key}, {val, sizeof val}};
        rc = dt_kv_transact_async(w->kv, &op, 1, kv_done, &w->slots[i], NULL);
        if (rc != DT_OK) die("dt_kv_transact_async", rc, dt_errmsg(w->kv));
    }
    pthread_mutex_lock(&w->mu);
    while (w->inflight > 0) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (w->failed) die("async kv write", w->failed, "");
    return NULL;
}

static result kv_cell(const mode *m, const char *kind, int read_pct, int async, long ops) {
    char *dir = fresh_dir("kv");
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.flags = m->dt_flags;
    o.map_size = (uint64_t)256 << 20;
    dt_kv *kv = NULL;
    dt_kv_dbi dbi;
    int rc = dt_kv_open(dir, &o, &kv);
    if (rc == DT_OK) rc = dt_kv_dbi_open(kv, "t", DT_KV_DBI_CREATE, &dbi);
    if (rc != DT_OK) die("dt_kv_open", rc, dt_errmsg(NULL));
    /* preload in one transaction */
    dt_kv_txn *txn = NULL;
    if ((rc = dt_kv_txn_begin(kv, DT_KV_TXN_WRITE, &txn)) != DT_OK)
        die("preload", rc, dt_errmsg(kv));
    uint8_t key[16], val[KV_VAL];
    memset(val, 'v', sizeof val);
    for (uint64_t k = 0; k < KV_KEYS; k++) {
        kv_key(key, k);
        if ((rc = dt_kv_put(kv, txn, dbi, key, sizeof key, val, sizeof val, 0)) != DT_OK)
            die("preload put", rc, dt_errmsg(kv));
    }
    if ((rc = dt_kv_txn_commit(txn)) != DT_OK) die("preload commit", rc, dt_errmsg(kv));
    ops -= ops % KV_THREADS;
    double *lat = malloc((size_t)ops * sizeof *lat);
    kv_slot *slots = malloc((size_t)ops * sizeof *slots);
    kv_worker ws[KV_THREADS];
    pthread_t th[KV_THREADS];
    long per = ops / KV_THREADS;
    for (int i = 0; i < KV_THREADS; i++) {
        ws[i] = (kv_worker){kv,
                            dbi,
                            read_pct,
                            async,
                            per,
                            lat + i * per,
                            slots + i * per,
                            1000 + (uint64_t)i,
                            PTHREAD_MUTEX_INITIALIZER,
                            PTHREAD_COND_INITIALIZER,
                            0,
                            0};
    }
    double t0 = bench_now();
    for (int i = 0; i < KV_THREADS; i++)
        if (pthread_create(&th[i], NULL, kv_worker_main, &ws[i]) != 0) die("pthread_create", 0, "");
    for (int i = 0; i < KV_THREADS; i++) pthread_join(th[i], NULL);
    double secs = bench_now() - t0;
    if ((rc = dt_kv_close(kv)) != DT_OK) die("dt_kv_close", rc, dt_errmsg(kv));
    remove_dir(dir);
    result r = {m->name,
                "kv",
                kind,
                0,
                KV_THREADS,
                ops,
                ops / secs,
                0,
                quantile(lat, (size_t)ops, 0.5) * 1e3,
                quantile(lat, (size_t)ops, 0.99) * 1e3};
    free(lat);
    free(slots);
    return r;
}

/* }====== */

/* {====== Tables ====== */

static void print_table(void) {
    printf("\n| mode | what | kind | datoms/tx | producers | ops | ops/s | datoms/s | p50 ms | p99 "
           "ms |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < nresults; i++) {
        result *r = &results[i];
        printf("| %s | %s | %s | %d | %d | %ld | %.0f | %.0f | %.3f | %.3f |\n", r->mode, r->bench,
               r->kind, r->datoms, r->producers, r->ops, r->per_s, r->datoms_per_s, r->p50_ms,
               r->p99_ms);
    }
}

/* Transactions per cell for each size and mode class (sync-heavy modes
 * get fewer). */
static int cell_txs(const mode *m, int datoms, double scale) {
    int fast = (m->dt_flags & (DT_KV_NOSYNC | DT_KV_MAPASYNC)) != 0;
    int base = datoms == 1 ? 2000 : datoms == 10 ? 1000 : 300;
    if (fast) base *= 4;
    int n = (int)(base * scale);
    return n < 64 ? 64 : n;
}

static void full_grid(double scale) {
    static const int SIZES[] = {1, 10, 100}, PRODUCERS[] = {1, 8, 64};
    for (int mi = 0; mi < NMODES; mi++) {
        const mode *m = &MODES[mi];
        int fast = (m->dt_flags & (DT_KV_NOSYNC | DT_KV_MAPASYNC)) != 0;
        /* warm-up: the page cache and the first database of the mode */
        (void)raw_lmdb(m, 200);
        emit(raw_lmdb(m, cell_txs(m, 1, scale)));
        emit(block_cell(m, 1, cell_txs(m, 1, scale))); /* no hand-off: diagnostic */
        for (int si = 0; si < 3; si++)
            for (int pi = 0; pi < 3; pi++)
                for (int async = 0; async < 2; async++)
                    emit(transact_cell(m, async, SIZES[si], PRODUCERS[pi],
                                       cell_txs(m, SIZES[si], scale)));
        long wops = (long)((fast ? 40000 : 4000) * scale);
        if (wops < KV_THREADS * 8) wops = KV_THREADS * 8;
        emit(kv_cell(m, "read100", 100, 0, wops * 25));
        emit(kv_cell(m, "read80_put20", 80, 0, wops * 5));
        emit(kv_cell(m, "read80_async20", 80, 1, wops * 5));
        emit(kv_cell(m, "put100", 0, 0, wops));
        emit(kv_cell(m, "async100", 0, 1, wops));
    }
    print_table();
}

/* The target cells, interleaved `runs` times; medians of per-run ratios. */
static void targets(int runs) {
    const mode *m = &MODES[0];
    double raw[MAX_RUNS], sync1[MAX_RUNS], async64[MAX_RUNS], async64_p99[MAX_RUNS],
        sync1_p99[MAX_RUNS];
    double block1[MAX_RUNS], raw9[MAX_RUNS], fsync_ms[MAX_RUNS], rawgc[MAX_RUNS],
        rawgc_p99[MAX_RUNS];
    (void)raw_lmdb(m, 200);
    for (int r = 0; r < runs; r++) {
        result a = raw_lmdb(m, 2000), b = transact_cell(m, 0, 1, 1, 2000),
               c = transact_cell(m, 1, 1, 64, 8192), g = raw_group_commit(m, 64, 8192);
        emit(a);
        emit(b);
        emit(c);
        emit(g);
        rawgc[r] = g.per_s;
        rawgc_p99[r] = g.p99_ms;
        result d = block_cell(m, 1, 2000);
        emit(d);
        block1[r] = d.per_s;
        result e = raw_lmdb_like_datolite(m, 2000);
        emit(e);
        raw9[r] = e.per_s;
        raw[r] = a.per_s;
        fsync_ms[r] = a.p50_ms;
        sync1[r] = b.per_s;
        sync1_p99[r] = b.p99_ms;
        async64[r] = c.per_s;
        async64_p99[r] = c.p99_ms;
    }
    print_table();
    /* ratios within each run (its cells ran back to back), then their
     * median and spread: one slow fsync spoils one run's pair, not a side */
    double r_sync[MAX_RUNS], r_async[MAX_RUNS], r_block[MAX_RUNS], r_raw9[MAX_RUNS],
        r_sync9[MAX_RUNS], r_gc[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        r_sync[r] = sync1[r] / raw[r];
        r_async[r] = async64[r] / sync1[r];
        r_block[r] = block1[r] / raw[r];
        r_raw9[r] = raw9[r] / raw[r];
        r_sync9[r] = sync1[r] / raw9[r];
        r_gc[r] = async64[r] / rawgc[r];
    }
    double mr = median(raw, (size_t)runs), ms = median(sync1, (size_t)runs),
           ma = median(async64, (size_t)runs);
    double ma99 = median(async64_p99, (size_t)runs), ms99 = median(sync1_p99, (size_t)runs);
    bench_spread ss = bench_ratio_stats(r_sync, (size_t)runs);
    bench_spread sa = bench_ratio_stats(r_async, (size_t)runs);
    bench_spread sb = bench_ratio_stats(r_block, (size_t)runs);
    bench_spread s9 = bench_ratio_stats(r_raw9, (size_t)runs);
    bench_spread ss9 = bench_ratio_stats(r_sync9, (size_t)runs);
    bench_spread fs = bench_ratio_stats(fsync_ms, (size_t)runs);
    bench_spread sg = bench_ratio_stats(r_gc, (size_t)runs);
    double mg = median(rawgc, (size_t)runs), mg99 = median(rawgc_p99, (size_t)runs);
    printf("\n%d interleaved runs (durable, 1 datom/tx); ratios are medians of per-run ratios "
           "[min, max]:\n",
           runs);
    printf("  fsync latency seen (raw LMDB commit of one put, p50 per run): median %.3f ms "
           "[%.3f, %.3f]\n",
           fs.median, fs.min, fs.max);
    printf("  raw LMDB one put/commit   %10.0f tx/s (median)\n", mr);
    printf("  sync transact, 1 producer %10.0f tx/s  p99 %.3f ms  = %.0f%% of raw [%.0f%%, %.0f%%] "
           "(target >= 80%%): %s\n",
           ms, ms99, 100 * ss.median, 100 * ss.min, 100 * ss.max,
           ss.median >= 0.8 ? "met" : "MISSED");
    printf("  async transact, 64 prod.  %10.0f tx/s  p99 %.3f ms  = %.1fx sync [%.1f, %.1f] "
           "(target >= 20x, p99 < 50 ms): %s\n",
           ma, ma99, sa.median, sa.min, sa.max, sa.median >= 20 && ma99 < 50 ? "met" : "MISSED");
    printf(
        "  raw group commit, 64 prod.%10.0f tx/s  p99 %.3f ms (9 puts in 5 dbis per request, one "
        "commit per batch)\n",
        mg, mg99);
    printf("  async transact vs that ceiling = %.0f%% [%.0f%%, %.0f%%] (target >= 80%%): %s\n",
           100 * sg.median, 100 * sg.min, 100 * sg.max, sg.median >= 0.8 ? "met" : "MISSED");
    printf("  (diagnostic) block, 1 thr  = %.0f%% of raw [%.0f%%, %.0f%%]\n", 100 * sb.median,
           100 * sb.min, 100 * sb.max);
    printf("  (diagnostic) raw LMDB, Datolite's 9 puts in 5 dbis per commit = %.0f%% of 1-put raw "
           "[%.0f%%, %.0f%%]; sync transact = %.0f%% of it\n",
           100 * s9.median, 100 * s9.min, 100 * s9.max, 100 * ss9.median);
}

/*
 * The async target alone: async transact (64 producers, 1 datom) and the
 * raw group-commit ceiling, `runs` times interleaved in the given mode,
 * alternating which goes first; median and range of the per-run ratios.
 */
static double sys_secs_total;

static double cpu_secs(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    sys_secs_total = (double)u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + sys_secs_total;
}

static void ceiling(int runs, const mode *m) {
    double rg[MAX_RUNS], ra[MAX_RUNS], ga[MAX_RUNS], g[MAX_RUNS], a99[MAX_RUNS], g99[MAX_RUNS];
    double rc[MAX_RUNS], ca[MAX_RUNS], cg[MAX_RUNS], sa[MAX_RUNS], sg[MAX_RUNS];
    int ntx = (m->dt_flags & (DT_KV_NOSYNC | DT_KV_MAPASYNC)) ? 32768 : 8192;
    (void)raw_lmdb(m, 200);
    for (int r = 0; r < runs; r++) {
        result a, b;
        double c0 = cpu_secs(), s0 = sys_secs_total, c1, s1, c2;
        if (r % 2) {
            b = raw_group_commit(m, 64, ntx);
            c1 = cpu_secs();
            s1 = sys_secs_total;
            a = transact_cell(m, 1, 1, 64, ntx);
            c2 = cpu_secs();
            cg[r] = (c1 - c0) / ntx;
            ca[r] = (c2 - c1) / ntx;
            sg[r] = (s1 - s0) / ntx;
            sa[r] = (sys_secs_total - s1) / ntx;
        } else {
            a = transact_cell(m, 1, 1, 64, ntx);
            c1 = cpu_secs();
            s1 = sys_secs_total;
            b = raw_group_commit(m, 64, ntx);
            c2 = cpu_secs();
            ca[r] = (c1 - c0) / ntx;
            cg[r] = (c2 - c1) / ntx;
            sa[r] = (s1 - s0) / ntx;
            sg[r] = (sys_secs_total - s1) / ntx;
        }
        rc[r] = ca[r] / cg[r];
        emit(a);
        emit(b);
        ga[r] = a.per_s;
        g[r] = b.per_s;
        a99[r] = a.p99_ms;
        g99[r] = b.p99_ms;
        rg[r] = a.per_s / b.per_s;
    }
    memcpy(ra, rg, sizeof rg);
    bench_spread s = bench_ratio_stats(ra, (size_t)runs);
    printf("\n%d interleaved runs (%s, 64 producers, 1 datom/tx, %d tx per cell):\n", runs, m->name,
           ntx);
    printf("  async transact   %10.0f tx/s  p99 %.3f ms (medians)\n", median(ga, (size_t)runs),
           median(a99, (size_t)runs));
    printf("  raw group commit %10.0f tx/s  p99 %.3f ms (medians)\n", median(g, (size_t)runs),
           median(g99, (size_t)runs));
    printf("  async / ceiling = %.0f%% [%.0f%%, %.0f%%] (median of per-run ratios; target >= "
           "80%%): %s\n",
           100 * s.median, 100 * s.min, 100 * s.max, s.median >= 0.8 ? "met" : "MISSED");
    double cam = median(ca, (size_t)runs) * 1e6, cgm = median(cg, (size_t)runs) * 1e6;
    bench_spread sc = bench_ratio_stats(rc, (size_t)runs);
    printf("  CPU per transaction (user + sys, all threads): async %.1f us (sys %.1f), raw %.1f us "
           "(sys %.1f); ratio %.2f [%.2f, %.2f]\n",
           cam, median(sa, (size_t)runs) * 1e6, cgm, median(sg, (size_t)runs) * 1e6, sc.median,
           sc.min, sc.max);
}

/* }====== */

int main(int argc, char **argv) {
    int target_mode = argc > 1 && strcmp(argv[1], "targets") == 0;
    if (argc > 1 && strcmp(argv[1], "ceiling") == 0) {
        int runs = argc > 2 ? atoi(argv[2]) : 5;
        base_dir = argc > 3 ? argv[3] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        const mode *m = &MODES[0];
        for (int i = 0; argc > 4 && i < NMODES; i++)
            if (strcmp(argv[4], MODES[i].name) == 0) m = &MODES[i];
        if (runs < 1) runs = 1;
        if (runs > MAX_RUNS) runs = MAX_RUNS;
        ceiling(runs, m);
        return 0;
    }
    const char *dir_arg = argc > 2 ? argv[2] : NULL;
    base_dir = dir_arg ? dir_arg : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (target_mode) {
        int runs = argc > 2 ? atoi(argv[2]) : 5;
        base_dir = argc > 3 ? argv[3] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        if (runs < 1) runs = 1;
        if (runs > MAX_RUNS) runs = MAX_RUNS;
        targets(runs);
    } else {
        double scale = argc > 1 ? atof(argv[1]) : 1.0;
        if (scale <= 0) scale = 1.0;
        full_grid(scale);
    }
    return 0;
}
