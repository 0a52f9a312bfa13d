/*
 * test_txn_stress.c -- the write path under load, with real threads on a
 * real database: bank transfers through blocks and through async :db/cas
 * while readers check the invariant total on snapshots; a long scan on a
 * snapshot while a thousand transactions commit; and ten thousand async
 * transactions from eight threads whose callbacks must see increasing
 * transaction ids, all of them durable across close and reopen.
 *
 * The thread counts are fixed; the amounts of work scale with the
 * environment variable DT_STRESS_SCALE (a factor, default 1: about 3 s in
 * a Release build and 15 s under ASan on two cores).
 */
#include "dbutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* n scaled by DT_STRESS_SCALE, at least 1. */
static int scaled(int n) {
    const char *s = getenv("DT_STRESS_SCALE");
    double f = s && *s ? atof(s) : 1.0;
    int r = (int)(n * f);
    return r < 1 ? 1 : r;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* {====== Failures from threads ====== */

/* cmocka asserts must stay on the main thread: threads record the first
 * failure here and the main thread reports it. */
static pthread_mutex_t g_fail_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_failed;
static char g_first_error[512];

static void thread_fail(const char *fmt, ...) {
    pthread_mutex_lock(&g_fail_mu);
    if (!atomic_load(&g_failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_first_error, sizeof g_first_error, fmt, ap);
        va_end(ap);
    }
    atomic_store(&g_failed, 1);
    pthread_mutex_unlock(&g_fail_mu);
}

static void check_threads_ok(void) {
    if (atomic_load(&g_failed)) fail_msg("%s", g_first_error);
}

static int setup(void **state) {
    (void)state;
    atomic_store(&g_failed, 0);
    g_first_error[0] = '\0';
    return 0;
}

/* }====== */

/* {====== Reading ====== */

/* The long value of [e attr] in db, or INT64_MIN (and a failure). */
static int64_t get_long(dt_db *db, int64_t e, const char *attr) {
    dt_value c[2];
    dt_value_long(e, &c[0]);
    if (dt_value_text(DT_KEYWORD, attr, strlen(attr), &c[1]) != DT_OK) return INT64_MIN;
    dt_datom_iter *it = NULL;
    int64_t v = INT64_MIN;
    int rc = dt_db_datoms(db, DT_INDEX_EAV, c, 2, &it);
    dt_value_free(&c[1]);
    if (rc != DT_OK) {
        thread_fail("dt_db_datoms: %d %s", rc, dt_errmsg(db));
        return INT64_MIN;
    }
    dt_datom d;
    if (dt_datom_iter_next(it, &d) == DT_ROW && d.v.type == DT_LONG)
        v = d.v.u.i;
    else
        thread_fail("entity %lld has no %s", (long long)e, attr);
    dt_datom_iter_close(it);
    return v;
}

/* Sums every value of `attr` in db (AVE scan) into *sum; the number of
 * datoms, or -1 after a failure. */
static long sum_attr(dt_db *db, const char *attr, int64_t *sum) {
    dt_value a;
    if (dt_value_text(DT_KEYWORD, attr, strlen(attr), &a) != DT_OK) return -1;
    dt_datom_iter *it = NULL;
    int rc = dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it);
    dt_value_free(&a);
    if (rc != DT_OK) {
        thread_fail("dt_db_datoms AVE: %d %s", rc, dt_errmsg(db));
        return -1;
    }
    long n = 0;
    *sum = 0;
    dt_datom d;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        *sum += d.v.u.i;
        n++;
    }
    dt_datom_iter_close(it);
    if (rc != DT_DONE) {
        thread_fail("iterating: %d", rc);
        return -1;
    }
    return n;
}

/* }====== */

/* {====== (a) Bank transfers: blocks and async :db/cas ====== */

enum { ACCOUNTS = 100, START_BAL = 1000, BANK_WRITERS = 8, BANK_READERS = 4 };

static const char *BANK_SCHEMA =
    "{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
    " :acct/bal {:db/valueType :db.type/long}}";

typedef struct transfer {
    int from, to;
    int64_t amount;
} transfer;

typedef struct bank {
    dt_conn *conn;
    int per_writer;
    atomic_int writers_left;
    transfer *done[BANK_WRITERS];
    int ndone[BANK_WRITERS];
    atomic_long sums, conflicts, blocks;
} bank;

typedef struct bank_arg {
    bank *b;
    int index;
    uint64_t seed;
    transfer cur; /* the transfer a block is making */
} bank_arg;

/* A transfer inside a block: read both balances on the block's view,
 * write the new ones.  Atomic because the block holds the writer. */
static int transfer_fn(dt_txn *tx, void *ud) {
    bank_arg *a = ud;
    dt_db *db = NULL;
    int rc = dt_txn_db(tx, &db);
    if (rc != DT_OK) return rc;
    int64_t bf = get_long(db, a->cur.from, "acct/bal"), bt = get_long(db, a->cur.to, "acct/bal");
    dt_db_close(db);
    if (bf == INT64_MIN || bt == INT64_MIN) return DT_INTERNAL;
    char edn[160];
    snprintf(edn, sizeof edn, "[[:db/add %d :acct/bal %lld] [:db/add %d :acct/bal %lld]]",
             a->cur.from, (long long)(bf - a->cur.amount), a->cur.to,
             (long long)(bt + a->cur.amount));
    return dt_txn_transact(tx, edn, NULL);
}

/* An async transfer: read a snapshot, submit two :db/cas, wait; retried
 * on DT_CONFLICT with fresh values. */
static int async_transfer(bank_arg *a) {
    bank *b = a->b;
    for (int attempt = 0; attempt < 10000; attempt++) {
        dt_db *db = NULL;
        int rc = dt_conn_db(b->conn, &db);
        if (rc != DT_OK) return rc;
        int64_t bf = get_long(db, a->cur.from, "acct/bal"),
                bt = get_long(db, a->cur.to, "acct/bal");
        dt_db_close(db);
        if (bf == INT64_MIN || bt == INT64_MIN) return DT_INTERNAL;
        char edn[200];
        snprintf(edn, sizeof edn,
                 "[[:db/cas %d :acct/bal %lld %lld] [:db/cas %d :acct/bal %lld %lld]]", a->cur.from,
                 (long long)bf, (long long)(bf - a->cur.amount), a->cur.to, (long long)bt,
                 (long long)(bt + a->cur.amount));
        dt_future *fu = NULL;
        if ((rc = dt_transact_async(b->conn, edn, NULL, NULL, &fu)) != DT_OK) return rc;
        rc = dt_future_wait(fu);
        if (rc != DT_OK && rc != DT_CONFLICT)
            thread_fail("async transfer: %d %s", rc, dt_future_errmsg(fu));
        dt_future_free(fu);
        if (rc != DT_CONFLICT) return rc;
        atomic_fetch_add(&b->conflicts, 1);
    }
    thread_fail("async transfer: no progress after 10000 conflicts");
    return DT_INTERNAL;
}

static void *bank_writer(void *p) {
    bank_arg *a = p;
    bank *b = a->b;
    uint64_t rs = a->seed;
    for (int n = 0; n < b->per_writer && !atomic_load(&g_failed); n++) {
        a->cur.from = 1 + (int)(tu_rand(&rs) % ACCOUNTS);
        do a->cur.to = 1 + (int)(tu_rand(&rs) % ACCOUNTS);
        while (a->cur.to == a->cur.from);
        a->cur.amount = 1 + (int64_t)(tu_rand(&rs) % 50);
        int rc;
        if (a->index % 2 == 0) { /* half through blocks */
            rc = dt_with_txn(b->conn, transfer_fn, a);
            if (rc != DT_OK)
                thread_fail("block transfer: %d %s", rc, dt_errmsg(b->conn));
            else
                atomic_fetch_add(&b->blocks, 1);
        } else {
            rc = async_transfer(a);
        }
        if (rc != DT_OK) break;
        b->done[a->index][b->ndone[a->index]++] = a->cur;
    }
    atomic_fetch_sub(&b->writers_left, 1);
    return NULL;
}

static void *bank_reader(void *p) {
    bank *b = p;
    int last = 0;
    while (!atomic_load(&g_failed) && !last) {
        last = atomic_load(&b->writers_left) == 0; /* one pass after the end */
        dt_db *db = NULL;
        if (dt_conn_db(b->conn, &db) != DT_OK) {
            thread_fail("dt_conn_db: %s", dt_errmsg(b->conn));
            break;
        }
        int64_t sum = 0;
        long n = sum_attr(db, "acct/bal", &sum);
        /* the same snapshot read again gives the same sum */
        int64_t again = 0;
        long n2 = sum_attr(db, "acct/bal", &again);
        dt_db_close(db);
        if (n < 0 || n2 < 0) break;
        if (n != ACCOUNTS || sum != (int64_t)ACCOUNTS * START_BAL || again != sum) {
            thread_fail("a snapshot shows %ld balances summing to %lld (then %lld), not %d", n,
                        (long long)sum, (long long)again, ACCOUNTS * START_BAL);
            break;
        }
        atomic_fetch_add(&b->sums, 1);
    }
    return NULL;
}

static void test_bank_transfers_through_blocks_and_async_cas(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = (uint64_t)256 << 20;
    bank b;
    memset(&b, 0, sizeof b);
    b.per_writer = scaled(250);
    int rc = dt_conn_open(dir, BANK_SCHEMA, &o, &b.conn);
    if (rc != DT_OK) fail_msg("open: %s", dt_errmsg(NULL));
    char *tx = malloc(ACCOUNTS * 64 + 8), *p = tx;
    p += sprintf(p, "[");
    for (int i = 1; i <= ACCOUNTS; i++)
        p += sprintf(p, "{:db/id %d :acct/id %d :acct/bal %d}", i, i, START_BAL);
    sprintf(p, "]");
    tu_tx(b.conn, tx, DT_OK, 0);
    free(tx);

    double t0 = now_s();
    pthread_t wt[BANK_WRITERS], rt[BANK_READERS];
    bank_arg wa[BANK_WRITERS];
    atomic_store(&b.writers_left, BANK_WRITERS);
    for (int i = 0; i < BANK_WRITERS; i++) {
        b.done[i] = calloc((size_t)b.per_writer, sizeof(transfer));
        wa[i] = (bank_arg){&b, i, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1), {0, 0, 0}};
    }
    for (int i = 0; i < BANK_READERS; i++)
        assert_int_equal(pthread_create(&rt[i], NULL, bank_reader, &b), 0);
    for (int i = 0; i < BANK_WRITERS; i++)
        assert_int_equal(pthread_create(&wt[i], NULL, bank_writer, &wa[i]), 0);
    for (int i = 0; i < BANK_WRITERS; i++) pthread_join(wt[i], NULL);
    for (int i = 0; i < BANK_READERS; i++) pthread_join(rt[i], NULL);
    double secs = now_s() - t0;
    check_threads_ok();
    print_message("bank: %d transfers (%ld in blocks) in %.2f s, %ld snapshot sums, %ld cas "
                  "conflicts retried\n",
                  BANK_WRITERS * b.per_writer, (long)atomic_load(&b.blocks), secs,
                  (long)atomic_load(&b.sums), (long)atomic_load(&b.conflicts));
    assert_true(atomic_load(&b.sums) >= BANK_READERS);

    int64_t want[ACCOUNTS + 1];
    for (int i = 1; i <= ACCOUNTS; i++) want[i] = START_BAL;
    for (int w = 0; w < BANK_WRITERS; w++) {
        assert_int_equal(b.ndone[w], b.per_writer);
        for (int i = 0; i < b.ndone[w]; i++) {
            want[b.done[w][i].from] -= b.done[w][i].amount;
            want[b.done[w][i].to] += b.done[w][i].amount;
        }
        free(b.done[w]);
    }
    /* exact after close and reopen too */
    assert_int_equal(dt_conn_close(b.conn), DT_OK);
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &b.conn), DT_OK);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(b.conn, &db), DT_OK);
    for (int i = 1; i <= ACCOUNTS; i++) {
        int64_t got = get_long(db, i, "acct/bal");
        if (got != want[i])
            fail_msg("account %d: balance %lld, transfers imply %lld", i, (long long)got,
                     (long long)want[i]);
    }
    /* one transaction per transfer plus the initial one: no retry of a
     * conflicting cas committed anything */
    assert_int_equal(dt_db_basis_tx(db), DT_TX0 + 1 + BANK_WRITERS * b.per_writer);
    dt_db_close(db);
    assert_int_equal(dt_conn_close(b.conn), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== (b) A long scan on a snapshot while writes commit ====== */

static const char *SCAN_SCHEMA = "{:doc/n {:db/valueType :db.type/long}"
                                 " :doc/title {:db/valueType :db.type/string}}";

/* Every user datom of db as one string (EAV order). NULL after a failure. */
static char *scan_all(dt_db *db) {
    dt_datom_iter *it = NULL;
    if (dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it) != DT_OK) {
        thread_fail("scan: %s", dt_errmsg(db));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (d.e >= DT_TX0) continue;
        char line[256];
        int n = d.v.type == DT_LONG ? snprintf(line, sizeof line, "%lld %s %lld\n", (long long)d.e,
                                               d.a, (long long)d.v.u.i)
                                    : snprintf(line, sizeof line, "%lld %s %.*s\n", (long long)d.e,
                                               d.a, (int)d.v.u.s.len, d.v.u.s.ptr);
        if (len + (size_t)n + 1 > cap) out = realloc(out, cap *= 2);
        memcpy(out + len, line, (size_t)n);
        len += (size_t)n;
    }
    out[len] = '\0';
    dt_datom_iter_close(it);
    if (rc != DT_DONE) {
        thread_fail("scan: iterating gave %d", rc);
        free(out);
        return NULL;
    }
    return out;
}

typedef struct scan_arg {
    dt_db *snap;
    const char *expect;
    atomic_int stop;
    atomic_int passes;
} scan_arg;

/* The long query: full scans of the snapshot, over and over, until told
 * to stop (at least three); each must equal the state at its start. */
static void *scan_main(void *p) {
    scan_arg *s = p;
    while (!atomic_load(&g_failed) && (atomic_load(&s->passes) < 3 || !atomic_load(&s->stop))) {
        char *got = scan_all(s->snap);
        if (!got) break;
        if (strcmp(got, s->expect) != 0)
            thread_fail("pass %d of the scan differs from its start", s->passes);
        free(got);
        atomic_fetch_add(&s->passes, 1);
    }
    return NULL;
}

/* n transactions changing existing documents and adding new ones (how
 * fast a scan lets them run is measured by benchmarks/scan_bench.c). */
static void write_burst(dt_conn *conn, int n, int docs, int round) {
    for (int i = 0; i < n; i++) {
        char edn[200];
        int e = 1 + (i * 7) % docs;
        snprintf(edn, sizeof edn, "[[:db/add %d :doc/n %d] {:doc/n %d :doc/title \"new %d.%d\"}]",
                 e, round * 100000 + i, -i, round, i);
        int rc = dt_transact(conn, edn, NULL);
        if (rc != DT_OK) fail_msg("transact %s: %d %s", edn, rc, dt_errmsg(conn));
    }
}

static void test_long_scan_on_a_snapshot_while_transactions_commit(void **state) {
    (void)state;
    enum { DOCS = 3000 };
    int n = scaled(1000) < 200 ? 200 : scaled(1000);
    if (n > DOCS) n = DOCS;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = (uint64_t)256 << 20;
    dt_conn *conn = NULL;
    assert_int_equal(dt_conn_open(dir, SCAN_SCHEMA, &o, &conn), DT_OK);
    size_t cap = (size_t)DOCS * 64 + 8;
    char *tx = malloc(cap), *p = tx;
    p += sprintf(p, "[");
    for (int i = 1; i <= DOCS; i++)
        p += sprintf(p, "{:db/id %d :doc/n %d :doc/title \"doc %d\"}", i, i, i);
    sprintf(p, "]");
    tu_tx(conn, tx, DT_OK, 0);
    free(tx);

    /* a first round of writes, before the snapshot */
    write_burst(conn, n, DOCS, 1);

    /* the same writes while the scan runs on a snapshot taken before them */
    scan_arg s;
    memset(&s, 0, sizeof s);
    assert_int_equal(dt_conn_db(conn, &s.snap), DT_OK);
    char *expect = scan_all(s.snap);
    assert_non_null(expect);
    s.expect = expect;
    double t0 = now_s();
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, scan_main, &s), 0);
    write_burst(conn, n, DOCS, 2);
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    double scan_secs = now_s() - t0;
    check_threads_ok();
    print_message("scan: %d passes in %.2f s while %d transactions committed\n",
                  atomic_load(&s.passes), scan_secs, n);
    assert_true(atomic_load(&s.passes) >= 3);
    /* the scan's snapshot still shows its start; the latest state moved */
    char *after = scan_all(s.snap);
    assert_string_equal(after, expect);
    free(after);
    assert_int_equal(dt_db_refresh(s.snap), DT_OK);
    after = scan_all(s.snap);
    assert_string_not_equal(after, expect);
    free(after);
    dt_db_close(s.snap);
    free(expect);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    /* write i of round 2 set document 1 + 7i mod DOCS (n <= DOCS) */
    assert_int_equal(get_long(db, 1, "doc/n"), 200000);
    assert_int_equal(get_long(db, 8, "doc/n"), 200001);
    assert_int_equal(get_long(db, 1 + (7 * (n - 1)) % DOCS, "doc/n"), 200000 + n - 1);
    dt_db_close(db);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== (c) Async ordering and durability ====== */

enum { ORD_THREADS = 8 };

static const char *ORD_SCHEMA =
    "{:ord/key {:db/valueType :db.type/long :db/unique :db.unique/identity}}";

typedef struct ord_thread {
    int64_t last_tx; /* written by callbacks only (one writer thread) */
    int acked;
    int bad_order;
} ord_thread;

typedef struct ord_ud {
    ord_thread *t;
    int key;
    unsigned char *acked; /* acked[key] = 1 */
} ord_ud;

static atomic_int g_ord_callbacks;
static atomic_llong g_ord_last_global;

static void ord_cb(int rc, const dt_report *r, void *p) {
    ord_ud *u = p;
    atomic_fetch_add(&g_ord_callbacks, 1);
    if (rc != DT_OK) {
        thread_fail("async transaction %d failed: %d", u->key, rc);
        return;
    }
    int64_t tx = dt_report_tx(r);
    if (tx <= u->t->last_tx) u->t->bad_order++;
    u->t->last_tx = tx;
    if (tx <= atomic_load(&g_ord_last_global)) u->t->bad_order++;
    atomic_store(&g_ord_last_global, tx);
    u->t->acked++;
    u->acked[u->key] = 1;
}

typedef struct ord_prod {
    dt_conn *conn;
    int index, per_thread;
    ord_thread *t;
    ord_ud *uds;
    unsigned char *acked;
} ord_prod;

static void *ord_producer(void *p) {
    ord_prod *a = p;
    for (int i = 0; i < a->per_thread && !atomic_load(&g_failed); i++) {
        int key = a->index * a->per_thread + i;
        ord_ud *u = &a->uds[key];
        *u = (ord_ud){a->t, key, a->acked};
        char edn[64];
        snprintf(edn, sizeof edn, "[{:ord/key %d}]", key);
        /* every 50th also through a future the producer waits for, so
         * that producers and the writer interleave */
        dt_future *fu = NULL;
        int rc = dt_transact_async(a->conn, edn, ord_cb, u, i % 50 == 49 ? &fu : NULL);
        if (rc != DT_OK) thread_fail("dt_transact_async: %d %s", rc, dt_errmsg(a->conn));
        if (fu && (rc = dt_future_wait(fu)) != DT_OK) thread_fail("future of %d: %d", key, rc);
        dt_future_free(fu);
    }
    return NULL;
}

static void test_async_ordering_and_durability_from_eight_threads(void **state) {
    (void)state;
    int per_thread = scaled(10000) / ORD_THREADS;
    int total = per_thread * ORD_THREADS;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = (uint64_t)256 << 20;
    dt_conn *conn = NULL;
    assert_int_equal(dt_conn_open(dir, ORD_SCHEMA, &o, &conn), DT_OK);
    ord_thread th[ORD_THREADS];
    ord_prod prod[ORD_THREADS];
    pthread_t pt[ORD_THREADS];
    memset(th, 0, sizeof th);
    ord_ud *uds = calloc((size_t)total, sizeof *uds);
    unsigned char *acked = calloc((size_t)total, 1);
    atomic_store(&g_ord_callbacks, 0);
    atomic_store(&g_ord_last_global, 0);
    uint64_t id0 = 0;
    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(dt_conn_kv(conn), &st), DT_OK);
    id0 = st.last_txn_id;
    double t0 = now_s();
    for (int i = 0; i < ORD_THREADS; i++) {
        prod[i] = (ord_prod){conn, i, per_thread, &th[i], uds, acked};
        assert_int_equal(pthread_create(&pt[i], NULL, ord_producer, &prod[i]), 0);
    }
    for (int i = 0; i < ORD_THREADS; i++) pthread_join(pt[i], NULL);
    /* the last few are probably still queued: close completes them */
    assert_int_equal(dt_conn_close(conn), DT_OK);
    double secs = now_s() - t0;
    check_threads_ok();
    assert_int_equal(atomic_load(&g_ord_callbacks), total);
    for (int i = 0; i < ORD_THREADS; i++) {
        assert_int_equal(th[i].bad_order, 0);
        assert_int_equal(th[i].acked, per_thread);
    }
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &conn), DT_OK);
    assert_int_equal(dt_kv_stat(dt_conn_kv(conn), &st), DT_OK);
    print_message("async: %d transactions from %d threads in %.2f s (%.0f tx/s) in %llu commits\n",
                  total, ORD_THREADS, secs, total / secs,
                  (unsigned long long)(st.last_txn_id - id0));
    /* every acknowledged transaction is there, exactly once */
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, "ord/key", 7, &a), DT_OK);
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    dt_value_free(&a);
    unsigned char *seen = calloc((size_t)total, 1);
    dt_datom d;
    int rc, n = 0;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        assert_int_equal(d.v.type, DT_LONG);
        assert_true(d.v.u.i >= 0 && d.v.u.i < total);
        assert_int_equal(seen[d.v.u.i], 0);
        seen[d.v.u.i] = 1;
        n++;
    }
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    for (int k = 0; k < total; k++)
        if (acked[k] && !seen[k])
            fail_msg("acknowledged transaction %d is missing after reopen", k);
    assert_int_equal(n, total);
    assert_int_equal(dt_db_basis_tx(db), DT_TX0 + total);
    dt_db_close(db);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    free(seen);
    free(acked);
    free(uds);
    tu_rmdir_free(dir);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bank_transfers_through_blocks_and_async_cas, setup),
        cmocka_unit_test_setup(test_long_scan_on_a_snapshot_while_transactions_commit, setup),
        cmocka_unit_test_setup(test_async_ordering_and_durability_from_eight_threads, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
