/*
 * test_txn_writepath.c -- the write path through the public API, on real
 * databases in temporary directories with real threads: with-transaction
 * blocks (callback and handle form) over datoms and KV entries, savepoints,
 * async transact with futures and callbacks (Datalog and KV), durability
 * modes changed at run time and WRITEMAP at open, and snapshot isolation.
 */
#include "dbutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *SCHEMA = "{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :acct/bal {:db/valueType :db.type/long}"
                            " :item/name {:db/valueType :db.type/string}}";

/* {====== Fixture ====== */

typedef struct fx {
    char *dir;
    dt_conn *conn;
    dt_kv_dbi dbi; /* "side": KV entries next to the datoms */
    unsigned kvflags;
} fx;

static void fx_open(fx *f) {
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = f->kvflags;
    int rc = dt_conn_open(f->dir, SCHEMA, &o, &f->conn);
    if (rc != DT_OK) fail_msg("dt_conn_open: %s", dt_errmsg(NULL));
    rc = dt_kv_dbi_open(dt_conn_kv(f->conn), "side", DT_KV_DBI_CREATE, &f->dbi);
    if (rc != DT_OK) fail_msg("dt_kv_dbi_open: %s", dt_errmsg(dt_conn_kv(f->conn)));
}

static fx *fx_new(unsigned kvflags) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_tmpdir();
    assert_non_null(f->dir);
    f->kvflags = kvflags;
    fx_open(f);
    return f;
}

static void fx_reopen(fx *f) {
    assert_int_equal(dt_conn_close(f->conn), DT_OK);
    f->conn = NULL;
    fx_open(f);
}

static int setup(void **state) {
    *state = fx_new(0);
    return 0;
}

static int setup_writemap(void **state) {
    *state = fx_new(DT_KV_WRITEMAP | DT_KV_MAPASYNC);
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    assert_int_equal(dt_conn_close(f->conn), DT_OK);
    tu_rmdir_free(f->dir);
    free(f);
    return 0;
}

static fx *F(void **state) { return *state; }

/* }====== */

/* {====== Helpers ====== */

/* The user datoms of `db` in tu_dump's format (so the two compare). */
static char *dump_db(dt_db *db) { return tu_dump_db(db, 0); }

/* The block's current datoms (through a dt_txn_db view, released). */
static char *dump_tx(dt_txn *tx) {
    dt_db *db = NULL;
    assert_int_equal(dt_txn_db(tx, &db), DT_OK);
    char *s = dump_db(db);
    dt_db_close(db);
    return s;
}

/* Every entry of the "side" dbi as "key=value" lines; txn may be NULL. */
static char *dump_kv(fx *f, dt_kv_txn *txn) {
    dt_kv_list list = DT_KV_LIST_INIT;
    assert_int_equal(dt_kv_get_range(dt_conn_kv(f->conn), txn, f->dbi, NULL, &list), DT_OK);
    tu_lines l = {0};
    for (size_t i = 0; i < list.n; i++) {
        size_t n = list.items[i].key.len + list.items[i].val.len + 2;
        char *s = malloc(n);
        snprintf(s, n, "%.*s=%.*s", (int)list.items[i].key.len, (const char *)list.items[i].key.ptr,
                 (int)list.items[i].val.len, (const char *)list.items[i].val.ptr);
        tu_lines_add(&l, s);
    }
    dt_kv_list_free(&list);
    return tu_lines_join(&l);
}

static void assert_str(char *got, const char *want, const char *what) {
    if (strcmp(got, want) != 0)
        fail_msg("%s differ.\n--- got:\n%s\n--- wanted:\n%s", what, got, want);
    free(got);
}

#define assert_datoms(conn, want)  assert_str(tu_dump(conn, 0), want, "datoms")
#define assert_tx_datoms(tx, want) assert_str(dump_tx(tx), want, "block datoms")
#define assert_kv(f, txn, want)    assert_str(dump_kv(f, txn), want, "kv entries")

static int kv_put_s(fx *f, dt_kv_txn *txn, const char *k, const char *v) {
    return dt_kv_put(dt_conn_kv(f->conn), txn, f->dbi, k, strlen(k), v, strlen(v), 0);
}

/* The long value of [e attr] in db, or INT64_MIN when there is none. */
static int64_t get_long(dt_db *db, int64_t e, const char *attr) {
    dt_value c[2];
    dt_value_long(e, &c[0]);
    assert_int_equal(dt_value_text(DT_KEYWORD, attr, strlen(attr), &c[1]), DT_OK);
    dt_datom_iter *it = NULL;
    int rc = dt_db_datoms(db, DT_INDEX_EAV, c, 2, &it);
    dt_value_free(&c[1]);
    if (rc != DT_OK) return INT64_MIN;
    dt_datom d;
    int64_t v = INT64_MIN;
    if (dt_datom_iter_next(it, &d) == DT_ROW && d.v.type == DT_LONG) v = d.v.u.i;
    dt_datom_iter_close(it);
    return v;
}

static int64_t tx_long(dt_txn *tx, int64_t e, const char *attr) {
    dt_db *db = NULL;
    assert_int_equal(dt_txn_db(tx, &db), DT_OK);
    int64_t v = get_long(db, e, attr);
    dt_db_close(db);
    return v;
}

static int64_t conn_long(dt_conn *c, int64_t e, const char *attr) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    int64_t v = get_long(db, e, attr);
    dt_db_close(db);
    return v;
}

static uint64_t lmdb_txn_id(fx *f) {
    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(dt_conn_kv(f->conn), &st), DT_OK);
    return st.last_txn_id;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void tx_ok(dt_txn *tx, const char *edn) {
    int rc = dt_txn_transact(tx, edn, NULL);
    if (rc != DT_OK) fail_msg("dt_txn_transact %s: %d %s", edn, rc, dt_errmsg(tx));
}

/*
 * A thread that holds the connection's writer with an open block until
 * told to commit: async transactions submitted meanwhile queue up (and
 * then run as one batch).
 */
typedef struct blocker {
    dt_conn *conn;
    pthread_t th;
    atomic_int state; /* 0 starting, 1 holding, 2 release asked, 3 done */
    int rc;
} blocker;

static void *blocker_main(void *p) {
    blocker *b = p;
    dt_txn *tx = NULL;
    b->rc = dt_txn_begin(b->conn, &tx);
    atomic_store(&b->state, 1);
    while (atomic_load(&b->state) != 2) sleep_ms(1);
    if (b->rc == DT_OK) b->rc = dt_txn_transact(tx, "[{:item/name \"blocker\"}]", NULL);
    if (b->rc == DT_OK)
        b->rc = dt_txn_commit(tx);
    else
        dt_txn_abort(tx);
    atomic_store(&b->state, 3);
    return NULL;
}

static void blocker_start(blocker *b, dt_conn *conn) {
    memset(b, 0, sizeof *b);
    b->conn = conn;
    assert_int_equal(pthread_create(&b->th, NULL, blocker_main, b), 0);
    while (atomic_load(&b->state) == 0) sleep_ms(1);
    assert_int_equal(b->rc, DT_OK);
}

static void blocker_finish(blocker *b) {
    atomic_store(&b->state, 2);
    pthread_join(b->th, NULL);
    assert_int_equal(b->rc, DT_OK);
}

/* }====== */

/* {====== Blocks ====== */

static void test_block_handle_form_writes_datoms_and_kv_in_one_transaction(void **state) {
    fx *f = F(state);
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :acct/id 1 :acct/bal 100}]");
    tx_ok(tx, "[{:db/id 2 :acct/id 2 :acct/bal 50}]");
    dt_report *r = NULL;
    assert_int_equal(dt_txn_transact(tx, "[[:db/add 1 :acct/bal 90]]", &r), DT_OK);
    assert_non_null(r);
    assert_true(dt_report_tx(r) > DT_TX0);
    assert_null(dt_report_db_before(r));
    assert_null(dt_report_db_after(r));
    dt_report_close(r);
    dt_kv_txn *kt = dt_txn_kv_txn(tx);
    assert_non_null(kt);
    assert_int_equal(kv_put_s(f, kt, "k1", "v1"), DT_OK);
    assert_int_equal(kv_put_s(f, kt, "k2", "v2"), DT_OK);
    /* the block reads its own writes, datoms and KV alike */
    assert_tx_datoms(tx, "[1 :acct/bal 90]\n[1 :acct/id 1]\n[2 :acct/bal 50]\n[2 :acct/id 2]");
    assert_kv(f, kt, "k1=v1\nk2=v2");
    assert_int_equal(tx_long(tx, 1, "acct/bal"), 90);
    /* nobody else does, before the commit */
    assert_datoms(f->conn, "");
    assert_kv(f, NULL, "");
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_datoms(f->conn, "[1 :acct/bal 90]\n[1 :acct/id 1]\n[2 :acct/bal 50]\n[2 :acct/id 2]");
    assert_kv(f, NULL, "k1=v1\nk2=v2");
    fx_reopen(f);
    assert_datoms(f->conn, "[1 :acct/bal 90]\n[1 :acct/id 1]\n[2 :acct/bal 50]\n[2 :acct/id 2]");
    assert_kv(f, NULL, "k1=v1\nk2=v2");
}

typedef struct block_arg {
    fx *f;
    int fail_with; /* the callback's result code */
    int ran;
    int64_t seen_bal;
} block_arg;

static int block_fn(dt_txn *tx, void *ud) {
    block_arg *a = ud;
    a->ran++;
    int rc = dt_txn_transact(tx, "[{:db/id 3 :acct/id 3 :acct/bal 7} {:item/name \"x\"}]", NULL);
    if (rc != DT_OK) return rc;
    if ((rc = kv_put_s(a->f, dt_txn_kv_txn(tx), "cb", "yes")) != DT_OK) return rc;
    dt_db *db = NULL;
    if ((rc = dt_txn_db(tx, &db)) != DT_OK) return rc;
    a->seen_bal = get_long(db, 3, "acct/bal");
    dt_db_close(db);
    return a->fail_with;
}

static void test_with_tx_commits_when_the_callback_succeeds(void **state) {
    fx *f = F(state);
    block_arg a = {f, DT_OK, 0, 0};
    assert_int_equal(dt_with_txn(f->conn, block_fn, &a), DT_OK);
    assert_int_equal(a.ran, 1);
    assert_int_equal(a.seen_bal, 7); /* read its own write */
    assert_int_equal(conn_long(f->conn, 3, "acct/bal"), 7);
    assert_kv(f, NULL, "cb=yes");
}

static void test_with_tx_error_and_abort_leave_nothing_behind(void **state) {
    fx *f = F(state);
    tu_tx(f->conn, "[{:db/id 1 :acct/id 1 :acct/bal 100}]", DT_OK, 0);
    assert_int_equal(kv_put_s(f, NULL, "base", "1"), DT_OK);
    char *dump0 = tu_dump(f->conn, 1), *kv0 = dump_kv(f, NULL);
    uint64_t id0 = lmdb_txn_id(f);

    /* an error returned by the callback aborts, and is returned */
    block_arg a = {f, DT_CONFLICT, 0, 0};
    assert_int_equal(dt_with_txn(f->conn, block_fn, &a), DT_CONFLICT);
    assert_int_equal(a.ran, 1);
    assert_int_equal(a.seen_bal, 7);
    a.fail_with = 12345; /* any nonzero code, not only ours */
    assert_int_equal(dt_with_txn(f->conn, block_fn, &a), 12345);

    /* the handle form's abort */
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[[:db/retractEntity 1] {:db/id 9 :acct/id 9 :acct/bal 1}]");
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "base", "2"), DT_OK);
    assert_int_equal(dt_kv_del(dt_conn_kv(f->conn), dt_txn_kv_txn(tx), f->dbi, "base", 4, NULL, 0),
                     DT_OK);
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "new", "3"), DT_OK);
    assert_tx_datoms(tx, "[9 :acct/bal 1]\n[9 :acct/id 9]");
    dt_txn_abort(tx);
    dt_txn_abort(NULL);

    assert_str(tu_dump(f->conn, 1), dump0, "datoms with tx entities");
    assert_kv(f, NULL, kv0);
    assert_int_equal(lmdb_txn_id(f), id0); /* not even an empty commit */
    fx_reopen(f);
    assert_str(tu_dump(f->conn, 1), dump0, "datoms after reopen");
    assert_kv(f, NULL, kv0);
    free(dump0);
    free(kv0);
}

static void test_cas_in_a_block_sees_the_block_state(void **state) {
    fx *f = F(state);
    tu_tx(f->conn, "[{:db/id 1 :acct/id 1 :acct/bal 10}]", DT_OK, 0);
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[[:db/add 1 :acct/bal 20]]");
    /* the committed value is 10, but the block's is 20 */
    assert_int_equal(dt_txn_transact(tx, "[[:db/cas 1 :acct/bal 10 30]]", NULL), DT_CONFLICT);
    assert_true(strlen(dt_errmsg(tx)) > 0);
    tx_ok(tx, "[[:db/cas 1 :acct/bal 20 30]]");
    assert_int_equal(tx_long(tx, 1, "acct/bal"), 30);
    assert_int_equal(conn_long(f->conn, 1, "acct/bal"), 10);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_int_equal(conn_long(f->conn, 1, "acct/bal"), 30);
}

static void test_failing_transact_leaves_the_block_usable_and_unchanged(void **state) {
    fx *f = F(state);
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :acct/id 1 :acct/bal 10}]");
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "a", "1"), DT_OK);
    const char *before = "[1 :acct/bal 10]\n[1 :acct/id 1]";
    /* the first form would apply, the second fails: none of it stays */
    assert_int_equal(
        dt_txn_transact(tx, "[{:db/id 5 :acct/id 5 :acct/bal 1} [:db/cas 1 :acct/bal 99 0]]", NULL),
        DT_CONFLICT);
    assert_tx_datoms(tx, before);
    assert_int_equal(dt_txn_transact(tx, "[{:db/id 6 :acct/bal \"not a long\"}]", NULL),
                     DT_INVALID);
    assert_int_equal(dt_txn_transact(tx, "[{:db/id 7 :acct/id 1}]", NULL),
                     DT_CONFLICT);                                        /* unique */
    assert_int_equal(dt_txn_transact(tx, "[[:db/add", NULL), DT_INVALID); /* not EDN */
    assert_int_equal(dt_txn_transact(tx, "[[:db/frobnicate 1]]", NULL), DT_INVALID);
    assert_tx_datoms(tx, before);
    assert_kv(f, dt_txn_kv_txn(tx), "a=1");
    /* still usable */
    tx_ok(tx, "[{:db/id 2 :acct/id 2 :acct/bal 20}]");
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "b", "2"), DT_OK);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_datoms(f->conn, "[1 :acct/bal 10]\n[1 :acct/id 1]\n[2 :acct/bal 20]\n[2 :acct/id 2]");
    assert_kv(f, NULL, "a=1\nb=2");
}

/* The transact count of each block increment, for the counter test. */
enum { COUNTER_THREADS = 4, COUNTER_INCS = 40 };

typedef struct counter_arg {
    dt_conn *conn;
    atomic_int errors;
    int first_rc;
} counter_arg;

/* Read-modify-write without :db/cas: correct only if blocks exclude each
 * other for their whole length. */
static int incr_fn(dt_txn *tx, void *ud) {
    (void)ud;
    dt_db *db = NULL;
    int rc = dt_txn_db(tx, &db);
    if (rc != DT_OK) return rc;
    int64_t v = get_long(db, 1, "acct/bal");
    dt_db_close(db);
    sched_yield(); /* widen the window a lost update would need */
    char edn[96];
    snprintf(edn, sizeof edn, "[[:db/add 1 :acct/bal %lld]]", (long long)v + 1);
    return dt_txn_transact(tx, edn, NULL);
}

static void *counter_main(void *p) {
    counter_arg *a = p;
    for (int i = 0; i < COUNTER_INCS; i++) {
        int rc = dt_with_txn(a->conn, incr_fn, NULL);
        if (rc != DT_OK) {
            a->first_rc = rc;
            atomic_fetch_add(&a->errors, 1);
        }
    }
    return NULL;
}

static void test_blocks_make_read_check_write_atomic_across_threads(void **state) {
    fx *f = F(state);
    assert_int_equal(dt_conn_set_flags(f->conn, DT_KV_NOSYNC, 1), DT_OK);
    tu_tx(f->conn, "[{:db/id 1 :acct/id 1 :acct/bal 0}]", DT_OK, 0);
    counter_arg a = {f->conn, 0, 0};
    pthread_t th[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, counter_main, &a), 0);
    for (int i = 0; i < COUNTER_THREADS; i++) pthread_join(th[i], NULL);
    if (atomic_load(&a.errors)) fail_msg("a block failed with %d", a.first_rc);
    assert_int_equal(conn_long(f->conn, 1, "acct/bal"), COUNTER_THREADS * COUNTER_INCS);
}

static void test_transact_and_wait_inside_own_block_are_misuse(void **state) {
    fx *f = F(state);
    dt_kv *kv = dt_conn_kv(f->conn);
    dt_txn *tx = NULL, *tx2 = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :acct/id 1 :acct/bal 1}]");
    /* would wait for itself: an error, not a hang */
    assert_int_equal(dt_transact(f->conn, "[{:db/id 2 :acct/id 2}]", NULL), DT_MISUSE);
    assert_true(strlen(dt_errmsg(f->conn)) > 0);
    assert_int_equal(dt_txn_begin(f->conn, &tx2), DT_MISUSE);
    assert_null(tx2);
    assert_int_equal(dt_import_edn(f->conn, "[{:db/id 3 :acct/id 3}]", 23, 0, NULL), DT_MISUSE);
    /* async submission is fine; waiting for it here is not */
    dt_future *fu = NULL, *kfu = NULL;
    assert_int_equal(dt_transact_async(f->conn, "[{:db/id 4 :acct/id 4}]", NULL, NULL, &fu), DT_OK);
    assert_int_equal(dt_future_wait(fu), DT_MISUSE);
    assert_int_equal(dt_future_wait_timeout(fu, 10), DT_MISUSE);
    /* the same for the KV store's async writes on the connection's env */
    dt_kv_op op = {DT_KV_OP_PUT, f->dbi, 0, {"ak", 2}, {"av", 2}};
    assert_int_equal(dt_kv_transact_async(kv, &op, 1, NULL, NULL, &kfu), DT_OK);
    assert_int_equal(dt_future_wait(kfu), DT_MISUSE);
    /* and autocommit KV writes from this thread would deadlock too */
    assert_int_equal(kv_put_s(f, NULL, "x", "y"), DT_MISUSE);
    /* the block itself is intact */
    assert_tx_datoms(tx, "[1 :acct/bal 1]\n[1 :acct/id 1]");
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_int_equal(dt_future_wait(fu), DT_OK);
    assert_int_equal(dt_future_wait(kfu), DT_OK);
    dt_future_free(fu);
    dt_future_free(kfu);
    assert_datoms(f->conn, "[1 :acct/bal 1]\n[1 :acct/id 1]\n[4 :acct/id 4]");
    assert_kv(f, NULL, "ak=av");
}

static void test_views_must_be_released_before_commit(void **state) {
    fx *f = F(state);
    dt_txn *tx = NULL;
    dt_savepoint *sp = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :acct/id 1 :acct/bal 1}]");
    dt_db *v1 = NULL, *v2 = NULL;
    assert_int_equal(dt_txn_db(tx, &v1), DT_OK);
    assert_int_equal(dt_txn_db(tx, &v2), DT_OK);
    assert_int_equal(dt_txn_commit(tx), DT_MISUSE);
    assert_int_equal(dt_savepoint_create(tx, &sp), DT_MISUSE);
    assert_int_equal(dt_txn_transact(tx, "[{:db/id 2 :acct/id 2}]", NULL), DT_MISUSE);
    /* refresh is for connection snapshots only */
    assert_int_equal(dt_db_refresh(v1), DT_MISUSE);
    /* the block is still open and its views still read */
    assert_int_equal(get_long(v1, 1, "acct/bal"), 1);
    dt_db_close(v1);
    assert_int_equal(dt_txn_commit(tx), DT_MISUSE);
    dt_db_close(v2);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_datoms(f->conn, "[1 :acct/bal 1]\n[1 :acct/id 1]");
}

typedef struct kvfn_arg {
    dt_kv_dbi dbi;
    int fail;
    int seen;
} kvfn_arg;

static dt_kv *g_kv; /* the environment kv_work writes to */

/* The KV store's own block: two puts, a read of its own write. */
static int kv_work(dt_kv_txn *txn, void *ud) {
    kvfn_arg *a = ud;
    int rc = dt_kv_put(g_kv, txn, a->dbi, "w1", 2, "1", 1, 0);
    if (rc == DT_OK) rc = dt_kv_put(g_kv, txn, a->dbi, "w2", 2, "2", 1, 0);
    if (rc != DT_OK) return rc;
    dt_kv_bytes v;
    if (dt_kv_get_view(g_kv, txn, a->dbi, "w2", 2, &v) == DT_OK && v.len == 1) a->seen = 1;
    return a->fail;
}

static void test_kv_store_blocks_read_own_writes_and_abort_cleanly(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(dir, NULL, &kv), DT_OK);
    g_kv = kv;
    kvfn_arg a = {0, DT_CONFLICT, 0};
    assert_int_equal(dt_kv_dbi_open(kv, "t", DT_KV_DBI_CREATE, &a.dbi), DT_OK);
    assert_int_equal(dt_kv_with_txn(kv, kv_work, &a), DT_CONFLICT);
    assert_int_equal(a.seen, 1);
    uint64_t n = 99;
    assert_int_equal(dt_kv_range_count(kv, NULL, a.dbi, NULL, &n), DT_OK);
    assert_int_equal(n, 0);
    a.fail = DT_OK;
    a.seen = 0;
    assert_int_equal(dt_kv_with_txn(kv, kv_work, &a), DT_OK);
    assert_int_equal(a.seen, 1);
    assert_int_equal(dt_kv_range_count(kv, NULL, a.dbi, NULL, &n), DT_OK);
    assert_int_equal(n, 2);
    /* handle form: abort */
    dt_kv_txn *t = NULL;
    assert_int_equal(dt_kv_txn_begin(kv, DT_KV_TXN_WRITE, &t), DT_OK);
    assert_int_equal(dt_kv_put(kv, t, a.dbi, "w3", 2, "3", 1, 0), DT_OK);
    assert_int_equal(dt_kv_del(kv, t, a.dbi, "w1", 2, NULL, 0), DT_OK);
    assert_int_equal(dt_kv_range_count(kv, t, a.dbi, NULL, &n), DT_OK);
    assert_int_equal(n, 2);
    dt_kv_txn_abort(t);
    void *val = NULL;
    size_t len = 0;
    assert_int_equal(dt_kv_get(kv, NULL, a.dbi, "w1", 2, &val, &len), DT_OK);
    dt_free(val);
    assert_int_equal(dt_kv_get(kv, NULL, a.dbi, "w3", 2, &val, &len), DT_NOTFOUND);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== Savepoints ====== */

static void test_savepoint_rollback_undoes_later_work_only(void **state) {
    fx *f = F(state);
    tu_tx(f->conn, "[{:db/id 1 :acct/id 1 :acct/bal 1}]", DT_OK, 0);
    dt_txn *tx = NULL;
    dt_savepoint *sp1 = NULL, *sp2 = NULL, *sp3 = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 2 :acct/id 2 :acct/bal 2}]"); /* A */
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "A", "a"), DT_OK);
    const char *at_sp1 = "[1 :acct/bal 1]\n[1 :acct/id 1]\n[2 :acct/bal 2]\n[2 :acct/id 2]";
    assert_int_equal(dt_savepoint_create(tx, &sp1), DT_OK);
    tx_ok(tx, "[{:db/id 3 :acct/id 3 :acct/bal 3} [:db/add 2 :acct/bal 22]]"); /* B */
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "B", "b"), DT_OK);
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "A", "changed"), DT_OK);
    assert_int_equal(dt_savepoint_create(tx, &sp2), DT_OK);
    tx_ok(tx, "[[:db/retractEntity 1]]"); /* C */
    assert_int_equal(dt_savepoint_create(tx, &sp3), DT_OK);
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "C", "c"), DT_OK);
    assert_tx_datoms(tx, "[2 :acct/bal 22]\n[2 :acct/id 2]\n[3 :acct/bal 3]\n[3 :acct/id 3]");

    assert_int_equal(dt_savepoint_rollback(tx, sp1), DT_OK);
    assert_tx_datoms(tx, at_sp1);
    assert_kv(f, dt_txn_kv_txn(tx), "A=a");
    /* the nested savepoints went with it */
    assert_int_equal(dt_savepoint_rollback(tx, sp2), DT_MISUSE);
    assert_int_equal(dt_savepoint_release(tx, sp3), DT_MISUSE);
    assert_int_equal(dt_savepoint_rollback(tx, NULL), DT_MISUSE);

    /* sp1 stays usable, as often as wanted */
    tx_ok(tx, "[{:db/id 4 :acct/id 4 :acct/bal 4}]"); /* D */
    assert_int_equal(dt_savepoint_rollback(tx, sp1), DT_OK);
    assert_tx_datoms(tx, at_sp1);
    tx_ok(tx, "[{:db/id 5 :acct/id 5 :acct/bal 5}]"); /* E */
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "E", "e"), DT_OK);
    /* a new savepoint at sp2's old depth does not revive sp2 */
    dt_savepoint *sp4 = NULL;
    assert_int_equal(dt_savepoint_create(tx, &sp4), DT_OK);
    assert_int_equal(dt_savepoint_rollback(tx, sp2), DT_MISUSE);
    tx_ok(tx, "[{:db/id 6 :acct/id 6}]");
    assert_int_equal(dt_savepoint_release(tx, sp1), DT_OK); /* keeps E and 6, forgets sp4 */
    assert_int_equal(dt_savepoint_rollback(tx, sp1), DT_MISUSE);
    assert_int_equal(dt_savepoint_rollback(tx, sp4), DT_MISUSE);
    assert_int_equal(dt_savepoint_release(tx, sp4), DT_MISUSE);
    const char *final = "[1 :acct/bal 1]\n[1 :acct/id 1]\n[2 :acct/bal 2]\n[2 :acct/id 2]\n"
                        "[5 :acct/bal 5]\n[5 :acct/id 5]\n[6 :acct/id 6]";
    assert_tx_datoms(tx, final);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_datoms(f->conn, final);
    assert_kv(f, NULL, "A=a\nE=e");
}

static void test_savepoint_rollback_of_the_outer_level_and_failing_transact(void **state) {
    fx *f = F(state);
    dt_txn *tx = NULL;
    dt_savepoint *sp = NULL, *inner = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    assert_int_equal(dt_savepoint_create(tx, &sp), DT_OK); /* nothing before it */
    tx_ok(tx, "[{:db/id 1 :acct/id 1 :acct/bal 1}]");
    assert_int_equal(dt_savepoint_create(tx, &inner), DT_OK);
    /* a failing transact inside a savepoint undoes only itself */
    assert_int_equal(dt_txn_transact(tx, "[[:db/cas 1 :acct/bal 5 6]]", NULL), DT_CONFLICT);
    assert_tx_datoms(tx, "[1 :acct/bal 1]\n[1 :acct/id 1]");
    tx_ok(tx, "[[:db/add 1 :acct/bal 2]]");
    assert_int_equal(dt_savepoint_rollback(tx, inner), DT_OK);
    assert_int_equal(tx_long(tx, 1, "acct/bal"), 1);
    assert_int_equal(dt_savepoint_release(tx, inner), DT_OK);
    assert_int_equal(dt_savepoint_rollback(tx, sp), DT_OK);
    assert_tx_datoms(tx, "");
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_datoms(f->conn, "");
}

/* The number of datoms of attribute `attr` the block sees (from the
 * attribute's statistics), or -1 when the block's schema has no `attr`. */
static int64_t attr_count(dt_txn *tx, const char *attr) {
    dt_db *db = NULL;
    assert_int_equal(dt_txn_db(tx, &db), DT_OK);
    dt_attr_stats st;
    int rc = dt_db_attr_stats(db, attr, &st);
    int64_t n = rc == DT_OK ? (int64_t)st.count : -1;
    if (rc == DT_OK)
        dt_attr_stats_free(&st);
    else
        assert_int_equal(rc, DT_INVALID); /* unknown attribute */
    dt_db_close(db);
    return n;
}

static void test_savepoint_rollback_undoes_implicit_attributes(void **state) {
    fx *f = F(state);
    char *schema0 = NULL;
    assert_int_equal(dt_conn_schema(f->conn, &schema0), DT_OK);
    assert_null(strstr(schema0, "new/attr"));
    dt_txn *tx = NULL;
    dt_savepoint *sp = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :acct/id 1}]");
    assert_int_equal(dt_savepoint_create(tx, &sp), DT_OK);
    /* creates the undeclared attribute :new/attr */
    tx_ok(tx, "[{:db/id 1 :new/attr \"text\"}]");
    assert_tx_datoms(tx, "[1 :acct/id 1]\n[1 :new/attr \"text\"]");
    assert_int_equal(attr_count(tx, "new/attr"), 1);
    assert_int_equal(attr_count(tx, "never/seen"), -1);
    assert_int_equal(dt_savepoint_rollback(tx, sp), DT_OK);
    assert_tx_datoms(tx, "[1 :acct/id 1]");
    /* the block's schema no longer knows it */
    assert_int_equal(attr_count(tx, "new/attr"), -1);
    tx_ok(tx, "[{:db/id 2 :new/other 5}]");
    assert_int_equal(attr_count(tx, "new/other"), 1);
    assert_int_equal(dt_savepoint_rollback(tx, sp), DT_OK);
    assert_int_equal(attr_count(tx, "new/other"), -1);
    assert_int_equal(attr_count(tx, "acct/id"), 1);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    char *schema1 = NULL;
    assert_int_equal(dt_conn_schema(f->conn, &schema1), DT_OK);
    assert_string_equal(schema1, schema0);
    dt_free(schema1);
    fx_reopen(f);
    assert_int_equal(dt_conn_schema(f->conn, &schema1), DT_OK);
    assert_string_equal(schema1, schema0);
    dt_free(schema1);
    /* and it can be created again with another type */
    tu_tx(f->conn, "[{:db/id 1 :new/attr 42}]", DT_OK, 0);
    assert_int_equal(conn_long(f->conn, 1, "new/attr"), 42);
    dt_free(schema0);
}

static void test_savepoint_rollback_keeps_schema_changes_made_before_it(void **state) {
    fx *f = F(state);
    dt_txn *tx = NULL;
    dt_savepoint *sp = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :early/attr 1}]");
    assert_int_equal(dt_savepoint_create(tx, &sp), DT_OK);
    tx_ok(tx, "[{:db/id 1 :late/attr 2}]");
    assert_int_equal(dt_savepoint_rollback(tx, sp), DT_OK);
    assert_int_equal(attr_count(tx, "late/attr"), -1);
    assert_int_equal(attr_count(tx, "early/attr"), 1);
    tx_ok(tx, "[{:db/id 2 :early/attr 3}]");
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    char *schema = NULL;
    assert_int_equal(dt_conn_schema(f->conn, &schema), DT_OK);
    assert_non_null(strstr(schema, "early/attr"));
    assert_null(strstr(schema, "late/attr"));
    dt_free(schema);
    assert_datoms(f->conn, "[1 :early/attr 1]\n[2 :early/attr 3]");
}

/* }====== */

/* {====== Async transact ====== */

static void test_future_accessors_success_failure_and_timeout(void **state) {
    fx *f = F(state);
    dt_future *ok = NULL, *bad = NULL, *late = NULL;
    assert_int_equal(
        dt_transact_async(f->conn, "[{:db/id \"a\" :acct/id 1 :acct/bal 5}]", NULL, NULL, &ok),
        DT_OK);
    assert_int_equal(dt_transact_async(f->conn, "[{:db/id 2 :acct/bal \"x\"}]", NULL, NULL, &bad),
                     DT_OK);
    assert_int_equal(dt_future_wait(ok), DT_OK);
    assert_int_equal(dt_future_ready(ok), 1);
    assert_true(dt_future_tx(ok) > DT_TX0);
    const dt_report *r = dt_future_report(ok);
    assert_non_null(r);
    assert_int_equal(dt_report_tx(r), dt_future_tx(ok));
    assert_string_equal(dt_future_errmsg(ok), "");
    assert_int_equal(dt_future_wait(ok), DT_OK); /* again */
    assert_int_equal(dt_future_wait(bad), DT_INVALID);
    assert_int_equal(dt_future_ready(bad), 1);
    assert_int_equal(dt_future_tx(bad), 0);
    assert_null(dt_future_report(bad));
    assert_true(strstr(dt_future_errmsg(bad), "acct/bal") != NULL);
    dt_future_free(ok);
    dt_future_free(bad);
    dt_future_free(NULL);

    /* not EDN: refused at once, nothing queued */
    dt_future *nf = (dt_future *)1;
    assert_int_equal(dt_transact_async(f->conn, "[{:db/id", NULL, NULL, &nf), DT_INVALID);
    assert_null(nf);
    assert_int_equal(dt_transact_async(NULL, "[]", NULL, NULL, &nf), DT_MISUSE);
    assert_int_equal(dt_future_wait(NULL), DT_MISUSE);
    assert_int_equal(dt_future_ready(NULL), 0);

    /* a future that cannot complete yet: another thread holds the writer */
    blocker b;
    blocker_start(&b, f->conn);
    assert_int_equal(dt_transact_async(f->conn, "[{:db/id 3 :acct/id 3}]", NULL, NULL, &late),
                     DT_OK);
    assert_int_equal(dt_future_wait_timeout(late, 50), DT_TIMEOUT);
    assert_int_equal(dt_future_ready(late), 0);
    assert_int_equal(dt_future_tx(late), 0);
    assert_null(dt_future_report(late));
    assert_int_equal(dt_future_wait_timeout(late, 0), DT_TIMEOUT);
    blocker_finish(&b);
    assert_int_equal(dt_future_wait_timeout(late, 60000), DT_OK);
    assert_true(dt_future_tx(late) > DT_TX0);
    dt_future_free(late);
    assert_datoms(f->conn,
                  "[1 :acct/bal 5]\n[1 :acct/id 1]\n[2 :item/name \"blocker\"]\n[3 :acct/id 3]");
}

/* What callbacks recorded, in the order they ran. */
enum { CB_MAX = 256 };
typedef struct cb_log {
    dt_conn *conn;
    atomic_int n;
    int idx[CB_MAX];
    int rc[CB_MAX];
    int64_t tx[CB_MAX];
    int visible[CB_MAX]; /* a snapshot taken in the callback sees it */
} cb_log;

typedef struct cb_arg {
    cb_log *log;
    int idx;
} cb_arg;

static void log_cb(int rc, const dt_report *report, void *ud) {
    cb_arg *a = ud;
    cb_log *l = a->log;
    int k = atomic_load(&l->n);
    l->idx[k] = a->idx;
    l->rc[k] = rc;
    l->tx[k] = report ? dt_report_tx(report) : 0;
    l->visible[k] = -1;
    if (rc == DT_OK && l->conn) {
        dt_db *db = NULL;
        if (dt_conn_db(l->conn, &db) == DT_OK) {
            l->visible[k] = dt_db_basis_tx(db) >= l->tx[k];
            dt_db_close(db);
        }
    }
    atomic_store(&l->n, k + 1);
}

static void wait_count(atomic_int *n, int want) {
    for (int i = 0; i < 60000 && atomic_load(n) < want; i++) sleep_ms(1);
    assert_int_equal(atomic_load(n), want);
}

/*
 * Submits 50 transactions while another thread holds the writer (so they
 * queue up and commit as one batch); every 5th fails.  Each gets its own
 * outcome; exactly the valid ones are committed.
 */
static void check_batch_with_failures(fx *f) {
    enum { N = 50 };
    static cb_log log;
    memset(&log, 0, sizeof log);
    log.conn = f->conn;
    cb_arg args[N];
    dt_future *fu[N];
    blocker b;
    blocker_start(&b, f->conn);
    uint64_t id0 = lmdb_txn_id(f);
    for (int i = 0; i < N; i++) {
        char edn[128];
        if (i % 10 == 4)
            snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d :acct/bal \"bad\"}]", 100 + i, i);
        else if (i % 10 == 9)
            snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d} [:db/cas 1 :acct/bal 7 8]]",
                     100 + i, i);
        else
            snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d :acct/bal %d}]", 100 + i, i, i);
        args[i] = (cb_arg){&log, i};
        assert_int_equal(dt_transact_async(f->conn, edn, log_cb, &args[i], &fu[i]), DT_OK);
    }
    blocker_finish(&b);
    int64_t last_tx = 0;
    for (int i = 0; i < N; i++) {
        int rc = dt_future_wait(fu[i]);
        if (i % 5 == 4) {
            assert_int_equal(rc, i % 10 == 4 ? DT_INVALID : DT_CONFLICT);
            assert_int_equal(dt_future_tx(fu[i]), 0);
            assert_true(strlen(dt_future_errmsg(fu[i])) > 0);
        } else {
            if (rc != DT_OK) fail_msg("transaction %d: %d %s", i, rc, dt_future_errmsg(fu[i]));
            assert_true(dt_future_tx(fu[i]) > last_tx); /* in submission order */
            last_tx = dt_future_tx(fu[i]);
        }
        dt_future_free(fu[i]);
    }
    /* the blocker's commit, then at most two batches (the writer may have
     * taken the first job before the others arrived) */
    uint64_t commits = lmdb_txn_id(f) - id0;
    print_message("batch of %d: %llu LMDB commits\n", N, (unsigned long long)commits);
    assert_true(commits <= 3);
    /* callbacks: all ran, in submission order, after commit */
    wait_count(&log.n, N);
    for (int k = 0; k < N; k++) {
        assert_int_equal(log.idx[k], k);
        assert_int_equal(log.rc[k], k % 5 == 4 ? (k % 10 == 4 ? DT_INVALID : DT_CONFLICT) : DT_OK);
        if (log.rc[k] == DT_OK)
            assert_int_equal(log.visible[k], 1);
        else
            assert_int_equal(log.tx[k], 0);
    }
    /* exactly the valid ones are in the database */
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(f->conn, &db), DT_OK);
    for (int i = 0; i < N; i++) {
        int64_t id = get_long(db, 100 + i, "acct/id");
        if (i % 5 == 4)
            assert_true(id == INT64_MIN);
        else {
            assert_int_equal(id, i);
            assert_int_equal(get_long(db, 100 + i, "acct/bal"), i);
        }
    }
    dt_db_close(db);
}

static void test_async_batch_with_failing_transactions_commits_the_others(void **state) {
    check_batch_with_failures(F(state));
}

static void test_writemap_async_batch_reruns_without_the_failing_ones(void **state) {
    check_batch_with_failures(F(state));
    fx_reopen(F(state));
    assert_int_equal(conn_long(F(state)->conn, 100, "acct/bal"), 0);
    assert_int_equal(conn_long(F(state)->conn, 148, "acct/bal"), 48);
}

typedef struct kv_cb_log {
    atomic_int n;
    int idx[64];
    int rc[64];
} kv_cb_log;

typedef struct kv_cb_arg {
    kv_cb_log *log;
    int idx;
} kv_cb_arg;

static void kv_log_cb(int rc, void *ud) {
    kv_cb_arg *a = ud;
    int k = atomic_load(&a->log->n);
    a->log->idx[k] = a->idx;
    a->log->rc[k] = rc;
    atomic_store(&a->log->n, k + 1);
}

static void test_kv_transact_async_fails_only_the_failing_batches(void **state) {
    fx *f = F(state);
    enum { N = 50 };
    dt_kv *kv = dt_conn_kv(f->conn);
    assert_int_equal(kv_put_s(f, NULL, "taken", "0"), DT_OK);
    static kv_cb_log log;
    memset(&log, 0, sizeof log);
    kv_cb_arg args[N];
    dt_future *fu[N];
    char keys[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02d", i);
        /* two ops; every 5th job's second op fails (NOOVERWRITE on a taken
         * key), which must undo its first op too */
        dt_kv_op ops[2] = {
            {DT_KV_OP_PUT, f->dbi, 0, {keys[i], strlen(keys[i])}, {"v", 1}},
            {DT_KV_OP_PUT,
             f->dbi,
             i % 5 == 4 ? DT_KV_NOOVERWRITE : 0,
             {i % 5 == 4 ? "taken" : keys[i], i % 5 == 4 ? 5 : strlen(keys[i])},
             {"w", 1}},
        };
        args[i] = (kv_cb_arg){&log, i};
        assert_int_equal(dt_kv_transact_async(kv, ops, 2, kv_log_cb, &args[i], &fu[i]), DT_OK);
        keys[i][0] = 'X'; /* the ops were copied */
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(dt_future_wait(fu[i]), i % 5 == 4 ? DT_CONFLICT : DT_OK);
        assert_int_equal(dt_future_tx(fu[i]), 0);
        if (i % 5 == 4) assert_true(strlen(dt_future_errmsg(fu[i])) > 0);
        dt_future_free(fu[i]);
    }
    wait_count(&log.n, N);
    for (int k = 0; k < N; k++) {
        assert_int_equal(log.idx[k], k);
        assert_int_equal(log.rc[k], k % 5 == 4 ? DT_CONFLICT : DT_OK);
    }
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%02d", i);
        void *v = NULL;
        size_t len = 0;
        int rc = dt_kv_get(kv, NULL, f->dbi, k, strlen(k), &v, &len);
        if (i % 5 == 4)
            assert_int_equal(rc, DT_NOTFOUND);
        else {
            assert_int_equal(rc, DT_OK);
            assert_memory_equal(v, "w", 1);
        }
        dt_free(v);
    }
    void *v = NULL;
    size_t len;
    assert_int_equal(dt_kv_get(kv, NULL, f->dbi, "taken", 5, &v, &len), DT_OK);
    assert_memory_equal(v, "0", 1);
    dt_free(v);
    /* misuse */
    assert_int_equal(dt_kv_transact_async(NULL, NULL, 0, NULL, NULL, NULL), DT_MISUSE);
}

static atomic_int g_done_cbs;

static void count_cb(int rc, const dt_report *r, void *ud) {
    (void)r;
    (void)ud;
    if (rc == DT_OK) atomic_fetch_add(&g_done_cbs, 1);
}

static void kv_count_cb(int rc, void *ud) {
    (void)ud;
    if (rc == DT_OK) atomic_fetch_add(&g_done_cbs, 1);
}

static void test_close_completes_every_pending_async_transaction(void **state) {
    fx *f = F(state);
    enum { N = 300, K = 100 };
    atomic_store(&g_done_cbs, 0);
    dt_future **fu = calloc(N + K, sizeof *fu);
    /* freeing a future before completion is allowed; keep every other */
    for (int i = 0; i < N; i++) {
        char edn[96];
        snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d :acct/bal %d}]", 1 + i, 1 + i, i);
        assert_int_equal(dt_transact_async(f->conn, edn, count_cb, NULL, &fu[i]), DT_OK);
        if (i % 2) {
            dt_future_free(fu[i]);
            fu[i] = NULL;
        }
    }
    for (int i = 0; i < K; i++) {
        char k[16];
        snprintf(k, sizeof k, "p%03d", i);
        dt_kv_op op = {DT_KV_OP_PUT, f->dbi, 0, {k, strlen(k)}, {"1", 1}};
        assert_int_equal(
            dt_kv_transact_async(dt_conn_kv(f->conn), &op, 1, kv_count_cb, NULL, &fu[N + i]),
            DT_OK);
    }
    assert_int_equal(dt_conn_close(f->conn), DT_OK);
    f->conn = NULL;
    assert_int_equal(atomic_load(&g_done_cbs), N + K);
    for (int i = 0; i < N + K; i++) {
        if (!fu[i]) continue;
        assert_int_equal(dt_future_ready(fu[i]), 1);
        assert_int_equal(dt_future_wait(fu[i]), DT_OK);
        dt_future_free(fu[i]);
    }
    free(fu);
    fx_open(f);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(f->conn, &db), DT_OK);
    for (int i = 0; i < N; i++) assert_int_equal(get_long(db, 1 + i, "acct/bal"), i);
    dt_db_close(db);
    uint64_t n = 0;
    assert_int_equal(dt_kv_range_count(dt_conn_kv(f->conn), NULL, f->dbi, NULL, &n), DT_OK);
    assert_int_equal(n, K);
}

/* A chain: each callback submits the next transaction. */
typedef struct chain {
    dt_conn *conn;
    int len;         /* how many to run in all */
    atomic_int done; /* callbacks that ran */
    atomic_int submit_fail;
    int transact_rc; /* what dt_transact returned inside a callback */
    int begin_rc;    /* what dt_txn_begin returned inside a callback */
    int wait_rc;     /* waiting in a callback for a not yet done future */
    int close_rc;
} chain;

static void chain_cb(int rc, const dt_report *r, void *ud) {
    (void)r;
    chain *c = ud;
    int k = atomic_fetch_add(&c->done, 1) + 1;
    if (rc != DT_OK) atomic_fetch_add(&c->submit_fail, 1);
    if (k == 1) {
        c->transact_rc = dt_transact(c->conn, "[{:db/id 999 :acct/id 999}]", NULL);
        dt_txn *tx = NULL;
        c->begin_rc = dt_txn_begin(c->conn, &tx);
        if (tx) dt_txn_abort(tx);
        c->close_rc = dt_conn_close(c->conn);
        dt_future *fu = NULL;
        if (dt_transact_async(c->conn, "[{:db/id 998 :acct/id 998}]", NULL, NULL, &fu) == DT_OK) {
            c->wait_rc = dt_future_wait(fu);
            dt_future_free(fu);
        }
    }
    if (k < c->len) {
        char edn[64];
        snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d}]", 1 + k, 1 + k);
        if (dt_transact_async(c->conn, edn, chain_cb, c, NULL) != DT_OK)
            atomic_fetch_add(&c->submit_fail, 1);
    }
}

static void test_callbacks_may_submit_but_not_transact_or_wait(void **state) {
    fx *f = F(state);
    chain c;
    memset(&c, 0, sizeof c);
    c.conn = f->conn;
    c.len = 20;
    assert_int_equal(dt_transact_async(f->conn, "[{:db/id 1 :acct/id 1}]", chain_cb, &c, NULL),
                     DT_OK);
    wait_count(&c.done, c.len);
    assert_int_equal(atomic_load(&c.submit_fail), 0);
    assert_int_equal(c.transact_rc, DT_MISUSE);
    assert_int_equal(c.begin_rc, DT_MISUSE);
    assert_int_equal(c.close_rc, DT_MISUSE);
    assert_int_equal(c.wait_rc, DT_MISUSE);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(f->conn, &db), DT_OK);
    for (int i = 1; i <= c.len; i++) assert_int_equal(get_long(db, i, "acct/id"), i);
    assert_int_equal(get_long(db, 998, "acct/id"), 998); /* queued, then run */
    assert_true(get_long(db, 999, "acct/id") == INT64_MIN);
    dt_db_close(db);
}

/* A chain still running when the connection closes: close neither hangs
 * nor leaks; submissions after close began are refused (DT_MISUSE) or
 * completed, and every acknowledged one is in the database. */
typedef struct close_chain {
    dt_conn *conn;
    atomic_int acked;
    atomic_int refused;
    atomic_int ids[1000];
} close_chain;

static void close_chain_cb(int rc, const dt_report *r, void *ud) {
    (void)r;
    close_chain *c = ud;
    if (rc != DT_OK) return;
    int k = atomic_fetch_add(&c->acked, 1) + 1;
    if (k >= 1000) return;
    char edn[64];
    snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d}]", 1 + k, 1 + k);
    if (dt_transact_async(c->conn, edn, close_chain_cb, c, NULL) != DT_OK)
        atomic_fetch_add(&c->refused, 1);
}

static void test_close_while_callbacks_keep_submitting(void **state) {
    fx *f = F(state);
    static close_chain c;
    memset(&c, 0, sizeof c);
    c.conn = f->conn;
    assert_int_equal(
        dt_transact_async(f->conn, "[{:db/id 1 :acct/id 1}]", close_chain_cb, &c, NULL), DT_OK);
    while (atomic_load(&c.acked) < 5) sleep_ms(1);
    assert_int_equal(dt_conn_close(f->conn), DT_OK);
    f->conn = NULL;
    int acked = atomic_load(&c.acked);
    print_message("chain at close: %d acknowledged, %d refused\n", acked, atomic_load(&c.refused));
    assert_true(acked == 1000 || atomic_load(&c.refused) == 1);
    sleep_ms(50);
    assert_int_equal(atomic_load(&c.acked), acked); /* nothing runs after close */
    fx_open(f);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(f->conn, &db), DT_OK);
    for (int i = 1; i <= acked; i++) assert_int_equal(get_long(db, i, "acct/id"), i);
    dt_db_close(db);
}

/* The same for the KV store's async writes: a callback that submits the
 * next write, and one that waits for a future of its own writer. */
typedef struct kv_chain {
    dt_kv *kv;
    dt_kv_dbi dbi;
    atomic_int acked;
    atomic_int refused;
    int wait_rc;
} kv_chain;

static void kv_chain_cb(int rc, void *ud) {
    kv_chain *c = ud;
    if (rc != DT_OK) return;
    int k = atomic_fetch_add(&c->acked, 1) + 1;
    if (k >= 1000) return;
    char key[16];
    snprintf(key, sizeof key, "c%04d", k);
    dt_kv_op op = {DT_KV_OP_PUT, c->dbi, 0, {key, strlen(key)}, {"1", 1}};
    dt_future *fu = NULL;
    if (dt_kv_transact_async(c->kv, &op, 1, kv_chain_cb, c, k == 1 ? &fu : NULL) != DT_OK)
        atomic_fetch_add(&c->refused, 1);
    if (fu) {
        c->wait_rc = dt_future_wait(fu);
        dt_future_free(fu);
    }
}

static void test_close_while_kv_callbacks_keep_submitting(void **state) {
    fx *f = F(state);
    static kv_chain c;
    memset(&c, 0, sizeof c);
    c.kv = dt_conn_kv(f->conn);
    c.dbi = f->dbi;
    dt_kv_op op = {DT_KV_OP_PUT, f->dbi, 0, {"c0000", 5}, {"1", 1}};
    assert_int_equal(dt_kv_transact_async(c.kv, &op, 1, kv_chain_cb, &c, NULL), DT_OK);
    while (atomic_load(&c.acked) < 5) sleep_ms(1);
    assert_int_equal(c.wait_rc, DT_MISUSE);
    assert_int_equal(dt_conn_close(f->conn), DT_OK);
    f->conn = NULL;
    int acked = atomic_load(&c.acked);
    print_message("kv chain at close: %d acknowledged, %d refused\n", acked,
                  atomic_load(&c.refused));
    assert_true(acked == 1000 || atomic_load(&c.refused) == 1);
    fx_open(f);
    uint64_t n = 0;
    assert_int_equal(dt_kv_range_count(dt_conn_kv(f->conn), NULL, f->dbi, NULL, &n), DT_OK);
    assert_int_equal(n, (uint64_t)acked);
}

/* }====== */

/* {====== Durability ====== */

static void test_durability_flags_change_at_run_time(void **state) {
    fx *f = F(state);
    dt_kv *kv = dt_conn_kv(f->conn);
    unsigned fl = 0;
    const unsigned modes[] = {DT_KV_NOSYNC, DT_KV_NOMETASYNC, DT_KV_NOSYNC | DT_KV_NOMETASYNC};
    int e = 1;
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        assert_int_equal(dt_conn_set_flags(f->conn, modes[m], 1), DT_OK);
        assert_int_equal(dt_kv_get_flags(kv, &fl), DT_OK);
        assert_int_equal(fl & modes[m], modes[m]);
        for (int i = 0; i < 5; i++, e++) {
            char edn[64];
            snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d}]", e, e);
            tu_tx(f->conn, edn, DT_OK, 0);
        }
        dt_future *fu = NULL;
        char edn[64];
        snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d}]", e, e);
        e++;
        assert_int_equal(dt_transact_async(f->conn, edn, NULL, NULL, &fu), DT_OK);
        assert_int_equal(dt_future_wait(fu), DT_OK);
        dt_future_free(fu);
        assert_int_equal(dt_conn_sync(f->conn, 0), DT_OK);
        assert_int_equal(dt_conn_sync(f->conn, 1), DT_OK);
        assert_int_equal(dt_conn_set_flags(f->conn, modes[m], 0), DT_OK);
        assert_int_equal(dt_kv_get_flags(kv, &fl), DT_OK);
        assert_int_equal(fl & (DT_KV_NOSYNC | DT_KV_NOMETASYNC), 0);
        snprintf(edn, sizeof edn, "[{:db/id %d :acct/id %d}]", e, e);
        e++;
        tu_tx(f->conn, edn, DT_OK, 0); /* durable again */
    }
    /* WRITEMAP is chosen at open only */
    assert_int_equal(dt_conn_set_flags(f->conn, DT_KV_WRITEMAP, 1), DT_INVALID);
    assert_int_equal(dt_conn_set_flags(NULL, DT_KV_NOSYNC, 1), DT_MISUSE);
    assert_int_equal(dt_conn_sync(NULL, 1), DT_MISUSE);
    assert_null(dt_conn_kv(NULL));
    fx_reopen(f);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(f->conn, &db), DT_OK);
    for (int i = 1; i < e; i++) assert_int_equal(get_long(db, i, "acct/id"), i);
    dt_db_close(db);
}

static void test_writemap_blocks_work_and_savepoints_are_misuse(void **state) {
    fx *f = F(state);
    unsigned fl = 0;
    assert_int_equal(dt_kv_get_flags(dt_conn_kv(f->conn), &fl), DT_OK);
    assert_int_equal(fl & (DT_KV_WRITEMAP | DT_KV_MAPASYNC), DT_KV_WRITEMAP | DT_KV_MAPASYNC);
    dt_txn *tx = NULL;
    dt_savepoint *sp = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 1 :acct/id 1 :acct/bal 1}]");
    assert_int_equal(kv_put_s(f, dt_txn_kv_txn(tx), "w", "1"), DT_OK);
    assert_int_equal(dt_savepoint_create(tx, &sp), DT_MISUSE);
    assert_null(sp);
    assert_int_equal(tx_long(tx, 1, "acct/bal"), 1);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    /* without nested transactions a failing transact spoils the block */
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[{:db/id 2 :acct/id 2}]");
    assert_int_equal(dt_txn_transact(tx, "[[:db/cas 1 :acct/bal 5 6]]", NULL), DT_CONFLICT);
    assert_int_not_equal(dt_txn_transact(tx, "[{:db/id 3 :acct/id 3}]", NULL), DT_OK);
    assert_int_not_equal(dt_txn_commit(tx), DT_OK);
    assert_datoms(f->conn, "[1 :acct/bal 1]\n[1 :acct/id 1]");
    /* sync transacts, async, flags and sync */
    tu_tx(f->conn, "[{:db/id 4 :acct/id 4}]", DT_OK, 0);
    tu_tx(f->conn, "[{:db/id 5 :acct/id 4}]", DT_CONFLICT, 0);
    assert_int_equal(dt_conn_set_flags(f->conn, DT_KV_MAPASYNC, 0), DT_OK);
    tu_tx(f->conn, "[{:db/id 5 :acct/id 5}]", DT_OK, 0);
    assert_int_equal(dt_conn_set_flags(f->conn, DT_KV_MAPASYNC, 1), DT_OK);
    assert_int_equal(dt_conn_sync(f->conn, 1), DT_OK);
    fx_reopen(f);
    assert_datoms(f->conn, "[1 :acct/bal 1]\n[1 :acct/id 1]\n[4 :acct/id 4]\n[5 :acct/id 5]");
    assert_kv(f, NULL, "w=1");
}

/* }====== */

/* {====== Isolation ====== */

static void test_snapshots_repeat_reads_and_refresh_moves_forward(void **state) {
    fx *f = F(state);
    tu_tx(f->conn, "[{:db/id 1 :acct/id 1 :acct/bal 1}]", DT_OK, 0);
    dt_db *snap = NULL;
    assert_int_equal(dt_conn_db(f->conn, &snap), DT_OK);
    int64_t basis = dt_db_basis_tx(snap);
    char *first = dump_db(snap);
    tu_tx(f->conn, "[[:db/add 1 :acct/bal 2] {:db/id 2 :acct/id 2}]", DT_OK, 0);
    /* a block commits too, and another thread writes */
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    tx_ok(tx, "[[:db/retractEntity 1]]");
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    blocker b;
    blocker_start(&b, f->conn);
    blocker_finish(&b);
    assert_str(dump_db(snap), first, "repeated read");
    assert_int_equal(get_long(snap, 1, "acct/bal"), 1);
    assert_int_equal(dt_db_basis_tx(snap), basis);
    assert_int_equal(dt_db_refresh(snap), DT_OK);
    assert_true(dt_db_basis_tx(snap) > basis);
    assert_str(dump_db(snap), "[2 :acct/id 2]\n[3 :item/name \"blocker\"]", "refreshed");
    assert_str(tu_dump(f->conn, 0), "[2 :acct/id 2]\n[3 :item/name \"blocker\"]", "latest");
    assert_int_equal(dt_db_refresh(NULL), DT_MISUSE);
    dt_db_close(snap);
    free(first);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_block_handle_form_writes_datoms_and_kv_in_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_with_tx_commits_when_the_callback_succeeds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_with_tx_error_and_abort_leave_nothing_behind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cas_in_a_block_sees_the_block_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_transact_leaves_the_block_usable_and_unchanged,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocks_make_read_check_write_atomic_across_threads,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_transact_and_wait_inside_own_block_are_misuse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_views_must_be_released_before_commit, setup, teardown),
        cmocka_unit_test(test_kv_store_blocks_read_own_writes_and_abort_cleanly),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback_undoes_later_work_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_savepoint_rollback_of_the_outer_level_and_failing_transact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback_undoes_implicit_attributes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback_keeps_schema_changes_made_before_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_accessors_success_failure_and_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_async_batch_with_failing_transactions_commits_the_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writemap_async_batch_reruns_without_the_failing_ones,
                                        setup_writemap, teardown),
        cmocka_unit_test_setup_teardown(test_kv_transact_async_fails_only_the_failing_batches,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_completes_every_pending_async_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_may_submit_but_not_transact_or_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_while_callbacks_keep_submitting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_close_while_kv_callbacks_keep_submitting, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_durability_flags_change_at_run_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writemap_blocks_work_and_savepoints_are_misuse,
                                        setup_writemap, teardown),
        cmocka_unit_test_setup_teardown(test_snapshots_repeat_reads_and_refresh_moves_forward,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
