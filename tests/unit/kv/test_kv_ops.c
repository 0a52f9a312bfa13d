/* test_kv_ops.c -- dbis, point reads and writes, batches, DUPSORT,
 * explicit and callback transactions, nested transactions and cursors. */
#include "kvtest.h"

static void test_put_get_overwrite_and_delete(void **state) {
    kvfix *f = *state;
    assert_int_equal(PUTS(f, f->db, "alpha", "1"), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "alpha", "1");
    assert_int_equal(PUTS(f, f->db, "alpha", "22"), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "alpha", "22");
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "empty", 5, NULL, 0, 0), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "empty", "");
    assert_int_equal(dt_kv_del(f->kv, NULL, f->db, "alpha", 5, NULL, 0), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "alpha", NULL);
    assert_int_equal(dt_kv_del(f->kv, NULL, f->db, "alpha", 5, NULL, 0), DT_NOTFOUND);
    assert_non_null(strstr(dt_errmsg(f->kv), "'main'"));
    void *p = (void *)1;
    size_t n = 9;
    assert_int_equal(dt_kv_get(f->kv, NULL, f->db, "nope", 4, &p, &n), DT_NOTFOUND);
    assert_null(p);
    assert_int_equal(n, 0);
}

static void test_key_size_limits_give_invalid_with_length(void **state) {
    kvfix *f = *state;
    char big[600];
    memset(big, 'k', sizeof big);
    assert_int_equal(kv_max_key_size(f->kv), 511);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, big, 511, "v", 1, 0), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, big, 512, "v", 1, 0), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(f->kv), "512 bytes"));
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, big, 600, "v", 1, 0), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(f->kv), "600 bytes"));
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "", 0, "v", 1, 0), DT_INVALID);
    void *p;
    size_t n;
    assert_int_equal(dt_kv_get(f->kv, NULL, f->db, big, 600, &p, &n), DT_INVALID);
    assert_int_equal(dt_kv_del(f->kv, NULL, f->db, big, 600, NULL, 0), DT_INVALID);
    /* DUPSORT values are keys too */
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "k", 1, big, 512, 0), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(f->kv), "DUPSORT"));
    /* plain dbis take big values */
    static char huge[100000];
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "h", 1, huge, sizeof huge, 0), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "k", 1, "v", 1, 0x100), DT_INVALID);
}

static void test_nooverwrite_and_append_flags(void **state) {
    kvfix *f = *state;
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "a", 1, "1", 1, DT_KV_NOOVERWRITE), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "a", 1, "2", 1, DT_KV_NOOVERWRITE), DT_CONFLICT);
    ASSERT_VAL(f, NULL, f->db, "a", "1");
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "b", 1, "1", 1, DT_KV_APPEND), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "c", 1, "1", 1, DT_KV_APPEND), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "bb", 2, "1", 1, DT_KV_APPEND), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(f->kv), "APPEND"));
    ASSERT_VAL(f, NULL, f->db, "bb", NULL);
    /* DUPSORT append: values of the last key in order, then new keys */
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "k", 1, "1", 1, DT_KV_APPEND), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "k", 1, "2", 1, DT_KV_APPEND), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "l", 1, "0", 1, DT_KV_APPEND), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "l", 1, "/", 1, DT_KV_APPEND), DT_INVALID);
    uint64_t n;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->dup, NULL, &n), DT_OK);
    assert_int_equal(n, 3);
}

static void test_dupsort_values_and_pair_delete(void **state) {
    kvfix *f = *state;
    const char *vals[] = {"m", "a", "z", "c"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "key", 3, vals[i], 1, 0), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "key", 3, "a", 1, DT_KV_NODUPDATA),
                     DT_CONFLICT);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "key", 3, "a", 1, 0),
                     DT_OK);                 /* no duplicate pair */
    ASSERT_VAL(f, NULL, f->dup, "key", "a"); /* first value in order */
    dt_kv_list l = DT_KV_LIST_INIT;
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, NULL, &l), DT_OK);
    assert_int_equal(l.n, 4);
    const char *want = "acmz";
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(l.items[i].key.len, 3);
        assert_memory_equal(l.items[i].val.ptr, want + i, 1);
    }
    assert_int_equal(dt_kv_del(f->kv, NULL, f->dup, "key", 3, "m", 1), DT_OK);
    assert_int_equal(dt_kv_del(f->kv, NULL, f->dup, "key", 3, "m", 1), DT_NOTFOUND);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, NULL, &l), DT_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(dt_kv_del(f->kv, NULL, f->dup, "key", 3, NULL, 0), DT_OK); /* all values */
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, NULL, &l), DT_OK);
    assert_int_equal(l.n, 0);
    dt_kv_list_free(&l);
    /* kv cursor count of dups */
    for (int i = 0; i < 4; i++)
        assert_int_equal(dt_kv_put(f->kv, NULL, f->dup, "q", 1, vals[i], 1, 0), DT_OK);
    dt_kv_txn *t;
    kv_cursor *c;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t), DT_OK);
    assert_int_equal(kv_cursor_open(t, f->dup, &c), DT_OK);
    dt_kv_bytes k = {"q", 1}, v = {"b", 1};
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_GET_BOTH_RANGE), DT_OK);
    assert_memory_equal(v.ptr, "c", 1);
    size_t cnt;
    assert_int_equal(kv_cursor_count(c, &cnt), DT_OK);
    assert_int_equal(cnt, 4);
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_LAST_DUP), DT_OK);
    assert_memory_equal(v.ptr, "z", 1);
    kv_cursor_close(c);
    dt_kv_txn_abort(t);
}

static void test_dbi_open_drop_clear(void **state) {
    kvfix *f = *state;
    dt_kv_dbi again, other, x;
    assert_int_equal(dt_kv_dbi_open(f->kv, "main", 0, &again), DT_OK);
    assert_int_equal(again, f->db);
    assert_int_equal(dt_kv_dbi_open(f->kv, "main", DT_KV_DBI_DUPSORT, &x), DT_INVALID);
    assert_int_equal(dt_kv_dbi_open(f->kv, "nope", 0, &x), DT_NOTFOUND);
    assert_int_equal(x, DT_KV_DBI_NONE);
    assert_int_equal(dt_kv_dbi_open(f->kv, "", DT_KV_DBI_CREATE, &x), DT_INVALID);
    assert_int_equal(dt_kv_dbi_open(f->kv, NULL, DT_KV_DBI_CREATE, &x), DT_MISUSE);
    assert_int_equal(dt_kv_dbi_open(f->kv, "other", DT_KV_DBI_CREATE, &other), DT_OK);
    assert_int_not_equal(other, f->db);
    assert_int_equal(PUTS(f, other, "a", "1"), DT_OK);
    assert_int_equal(PUTS(f, other, "b", "2"), DT_OK);
    /* clear in an aborted txn leaves everything */
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
    assert_int_equal(dt_kv_dbi_clear(f->kv, t, other), DT_OK);
    ASSERT_VAL(f, t, other, "a", NULL);
    dt_kv_txn_abort(t);
    ASSERT_VAL(f, NULL, other, "a", "1");
    assert_int_equal(dt_kv_dbi_clear(f->kv, NULL, other), DT_OK);
    ASSERT_VAL(f, NULL, other, "a", NULL);
    assert_int_equal(PUTS(f, other, "c", "3"), DT_OK);
    assert_int_equal(dt_kv_dbi_drop(f->kv, other), DT_OK);
    /* the handle is dead; the name is gone */
    assert_int_equal(PUTS(f, other, "d", "4"), DT_MISUSE);
    assert_int_equal(dt_kv_dbi_drop(f->kv, other), DT_MISUSE);
    assert_int_equal(dt_kv_dbi_open(f->kv, "other", 0, &x), DT_NOTFOUND);
    /* recreated: empty, new handle, old one still dead */
    assert_int_equal(dt_kv_dbi_open(f->kv, "other", DT_KV_DBI_CREATE | DT_KV_DBI_DUPSORT, &x),
                     DT_OK);
    assert_int_not_equal(x, other);
    ASSERT_VAL(f, NULL, x, "c", NULL);
    assert_int_equal(PUTS(f, other, "d", "4"), DT_MISUSE);
}

static void test_max_dbs_limit(void **state) {
    kvfix *f = *state;
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.max_dbs = 3;
    assert_int_equal(kvfix_open(f, &o), 0);
    dt_kv_dbi x;
    assert_int_equal(dt_kv_dbi_open(f->kv, "third", DT_KV_DBI_CREATE, &x), DT_OK);
    assert_int_equal(dt_kv_dbi_open(f->kv, "fourth", DT_KV_DBI_CREATE, &x), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(f->kv), "max_dbs"));
}

static void test_batch_is_atomic(void **state) {
    kvfix *f = *state;
    assert_int_equal(PUTS(f, f->db, "x", "old"), DT_OK);
    dt_kv_op ops[] = {
        {DT_KV_OP_PUT, f->db, 0, {"a", 1}, {"1", 1}},
        {DT_KV_OP_DEL, f->db, 0, {"x", 1}, {NULL, 0}},
        {DT_KV_OP_DEL, f->db, 0, {"missing", 7}, {NULL, 0}}, /* not an error */
        {DT_KV_OP_PUT, f->dup, 0, {"d", 1}, {"1", 1}},
        {DT_KV_OP_PUT, f->dup, 0, {"d", 1}, {"2", 1}},
        {DT_KV_OP_PUT, f->db, DT_KV_NOOVERWRITE, {"a", 1}, {"2", 1}}, /* fails */
    };
    assert_int_equal(dt_kv_batch(f->kv, NULL, ops, 6), DT_CONFLICT);
    assert_non_null(strstr(dt_errmsg(f->kv), "batch op 5"));
    ASSERT_VAL(f, NULL, f->db, "a", NULL);
    ASSERT_VAL(f, NULL, f->db, "x", "old");
    ASSERT_VAL(f, NULL, f->dup, "d", NULL);
    assert_int_equal(dt_kv_batch(f->kv, NULL, ops, 5), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "a", "1");
    ASSERT_VAL(f, NULL, f->db, "x", NULL);
    uint64_t n;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->dup, NULL, &n), DT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(dt_kv_batch(f->kv, NULL, NULL, 0), DT_OK);
    assert_int_equal(dt_kv_batch(f->kv, NULL, NULL, 1), DT_MISUSE);
    dt_kv_op bad = {(dt_kv_op_type)9, f->db, 0, {"a", 1}, {"1", 1}};
    assert_int_equal(dt_kv_batch(f->kv, NULL, &bad, 1), DT_INVALID);
    dt_kv_op badkey = {DT_KV_OP_PUT, f->db, 0, {"", 0}, {"1", 1}};
    assert_int_equal(dt_kv_batch(f->kv, NULL, &badkey, 1), DT_INVALID);
    /* in an explicit txn */
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
    assert_int_equal(dt_kv_batch(f->kv, t, ops, 1), DT_OK);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
}

static void test_abort_leaves_nothing_and_commit_keeps_all(void **state) {
    kvfix *f = *state;
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_WRITE, &t), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, t, f->db, "a", 1, "1", 1, 0), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, t, f->dup, "b", 1, "2", 1, 0), DT_OK);
    ASSERT_VAL(f, t, f->db, "a", "1");     /* the txn sees its writes */
    ASSERT_VAL(f, NULL, f->db, "a", NULL); /* others do not */
    dt_kv_txn_abort(t);
    ASSERT_VAL(f, NULL, f->db, "a", NULL);
    ASSERT_VAL(f, NULL, f->dup, "b", NULL);
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_WRITE, &t), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, t, f->db, "a", 1, "1", 1, 0), DT_OK);
    assert_int_equal(dt_kv_del(f->kv, t, f->db, "zz", 2, NULL, 0), DT_NOTFOUND); /* not sticky */
    assert_int_equal(dt_kv_put(f->kv, t, f->db, "b", 1, "2", 1, 0), DT_OK);
    /* a second write txn in this thread would deadlock: refused */
    dt_kv_txn *t2;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t2), DT_MISUSE);
    assert_int_equal(PUTS(f, f->db, "c", "3"), DT_MISUSE);
    dt_kv_dbi x;
    assert_int_equal(dt_kv_dbi_open(f->kv, "new", DT_KV_DBI_CREATE, &x), DT_MISUSE);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "a", "1");
    ASSERT_VAL(f, NULL, f->db, "b", "2");
}

static void test_read_txn_is_a_snapshot_and_rejects_writes(void **state) {
    kvfix *f = *state;
    assert_int_equal(PUTS(f, f->db, "a", "1"), DT_OK);
    dt_kv_txn *r;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &r), DT_OK);
    assert_int_equal(PUTS(f, f->db, "a", "2"), DT_OK);
    dt_kv_bytes v;
    assert_int_equal(dt_kv_get_view(f->kv, r, f->db, "a", 1, &v), DT_OK);
    assert_int_equal(v.len, 1);
    assert_memory_equal(v.ptr, "1", 1);
    assert_int_equal(dt_kv_put(f->kv, r, f->db, "a", 1, "3", 1, 0), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(r), "read-only"));
    assert_int_equal(dt_kv_get_view(f->kv, NULL, f->db, "a", 1, &v), DT_MISUSE);
    assert_int_equal(dt_kv_get_view(f->kv, r, f->db, "b", 1, &v), DT_NOTFOUND);
    assert_int_equal(dt_kv_txn_commit(r), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "a", "2");
    assert_int_equal(dt_kv_txn_begin(f->kv, 0x80, &r), DT_INVALID);
    /* many read txns reuse pooled LMDB txns */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &r), DT_OK);
        assert_int_equal(dt_kv_get_view(f->kv, r, f->db, "a", 1, &v), DT_OK);
        dt_kv_txn_abort(r);
    }
}

typedef struct with_ctx {
    kvfix *f;
    int calls;
    int fail_with;
} with_ctx;

static int with_fn(dt_kv_txn *t, void *ud) {
    with_ctx *c = ud;
    c->calls++;
    kvfix *f = c->f;
    int rc = dt_kv_put(f->kv, t, f->db, "w", 1, "1", 1, 0);
    if (rc != DT_OK) return rc;
    dt_kv_bytes v;
    rc = dt_kv_get_view(f->kv, t, f->db, "w", 1, &v); /* sees its own write */
    if (rc != DT_OK || v.len != 1 || memcmp(v.ptr, "1", 1) != 0) return DT_INTERNAL;
    if ((rc = dt_kv_put(f->kv, t, f->db, "w2", 2, "2", 1, 0)) != DT_OK) return rc;
    return c->fail_with;
}

static void test_with_txn_reads_own_writes_and_aborts_on_error(void **state) {
    kvfix *f = *state;
    with_ctx c = {f, 0, DT_CONFLICT};
    assert_int_equal(dt_kv_with_txn(f->kv, with_fn, &c), DT_CONFLICT);
    assert_int_equal(c.calls, 1);
    ASSERT_VAL(f, NULL, f->db, "w", NULL);
    ASSERT_VAL(f, NULL, f->db, "w2", NULL);
    c.fail_with = 42;
    assert_int_equal(dt_kv_with_txn(f->kv, with_fn, &c), 42);
    ASSERT_VAL(f, NULL, f->db, "w", NULL);
    c.fail_with = DT_OK;
    assert_int_equal(dt_kv_with_txn(f->kv, with_fn, &c), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "w", "1");
    ASSERT_VAL(f, NULL, f->db, "w2", "2");
    assert_int_equal(dt_kv_with_txn(f->kv, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_kv_with_txn(NULL, with_fn, &c), DT_MISUSE);
}

static void test_nested_txns_are_savepoints(void **state) {
    kvfix *f = *state;
    dt_kv_txn *t, *c1, *c2;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, t, f->db, "p", 1, "1", 1, 0), DT_OK);
    assert_int_equal(kv_txn_begin(f->kv, t, 0, &c1), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, c1, f->db, "c1", 2, "1", 1, 0), DT_OK);
    ASSERT_VAL(f, c1, f->db, "p", "1");
    /* the parent is unusable while a child is open */
    assert_int_equal(dt_kv_put(f->kv, t, f->db, "x", 1, "1", 1, 0), DT_MISUSE);
    assert_int_equal(dt_kv_txn_commit(t), DT_MISUSE);
    assert_int_equal(kv_txn_commit(c1), DT_OK);
    assert_int_equal(kv_txn_begin(f->kv, t, 0, &c2), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, c2, f->db, "c2", 2, "1", 1, 0), DT_OK);
    kv_txn_abort(c2);
    ASSERT_VAL(f, t, f->db, "c1", "1");
    ASSERT_VAL(f, t, f->db, "c2", NULL);
    assert_int_equal(kv_txn_failed(t), DT_OK);
    assert_int_equal(kv_txn_rdonly(t), 0);
    assert_ptr_equal(kv_txn_env(t), f->kv);
    assert_true(kv_txn_id(t) > 0);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    ASSERT_VAL(f, NULL, f->db, "p", "1");
    ASSERT_VAL(f, NULL, f->db, "c1", "1");
    ASSERT_VAL(f, NULL, f->db, "c2", NULL);
    dt_kv_txn *r;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &r), DT_OK);
    assert_int_equal(kv_txn_begin(f->kv, r, 0, &c1), DT_MISUSE);
    dt_kv_txn_abort(r);
}

static void test_cursors_walk_put_and_delete(void **state) {
    kvfix *f = *state;
    dt_kv_txn *t;
    kv_cursor *c;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
    assert_int_equal(kv_cursor_open(t, f->db, &c), DT_OK);
    char key[8];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        dt_kv_bytes k = {key, 2}, v = {key, 2};
        assert_int_equal(kv_cursor_put(c, &k, &v, DT_KV_APPEND), DT_OK);
    }
    dt_kv_bytes k = {"k5", 2}, v;
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_SET), DT_OK);
    assert_int_equal(kv_cursor_del(c, 0), DT_OK);
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_GET_CURRENT), DT_OK);
    assert_memory_equal(k.ptr, "k6", 2);
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_PREV), DT_OK);
    assert_memory_equal(k.ptr, "k4", 2);
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_LAST), DT_OK);
    assert_memory_equal(k.ptr, "k9", 2);
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_NEXT), DT_NOTFOUND);
    k.ptr = "k55";
    k.len = 3;
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_SET_RANGE), DT_OK);
    assert_memory_equal(k.ptr, "k6", 2);
    size_t n;
    assert_int_equal(kv_cursor_count(c, &n), DT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    /* the cursor outlived its txn: unusable, still closable */
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_FIRST), DT_MISUSE);
    kv_cursor_close(c);
    uint64_t cnt;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->db, NULL, &cnt), DT_OK);
    assert_int_equal(cnt, 9);
    /* read txn cursors too */
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t), DT_OK);
    assert_int_equal(kv_cursor_open(t, f->db, &c), DT_OK);
    assert_int_equal(kv_cursor_get(c, &k, &v, KV_FIRST), DT_OK);
    assert_memory_equal(k.ptr, "k0", 2);
    assert_int_equal(kv_cursor_put(c, &k, &v, 0), DT_MISUSE);
    dt_kv_txn_abort(t);
    kv_cursor_close(c);
}

static void test_writes_survive_failing_allocations(void **state) {
    kvfix *f = *state;
    char key[16];
    int ok_put = 0, ok_range = 0, ok_iter = 0, ok_txn = 0;
    for (long n = 0; n < 50; n++) {
        snprintf(key, sizeof key, "f%02ld", n);
        dt__alloc_fail_at(n);
        int rc = dt_kv_put(f->kv, NULL, f->db, key, strlen(key), "v", 1, 0);
        dt__alloc_fail_at(-1);
        assert_true(rc == DT_OK || rc == DT_NOMEM);
        if (rc == DT_OK) ok_put++;
        dt_kv_list l = DT_KV_LIST_INIT;
        dt__alloc_fail_at(n);
        rc = dt_kv_get_range(f->kv, NULL, f->db, NULL, &l);
        dt__alloc_fail_at(-1);
        assert_true(rc == DT_OK || rc == DT_NOMEM);
        if (rc == DT_OK)
            ok_range++;
        else
            assert_int_equal(l.n, 0);
        dt_kv_list_free(&l);
        dt_kv_iter *it = NULL;
        dt__alloc_fail_at(n);
        rc = dt_kv_iter_open(f->kv, NULL, f->db, NULL, &it);
        dt__alloc_fail_at(-1);
        assert_true(rc == DT_OK || rc == DT_NOMEM);
        if (rc == DT_OK) ok_iter++;
        dt_kv_iter_close(it);
        dt_kv_txn *t = NULL;
        dt__alloc_fail_at(n);
        rc = dt_kv_txn_begin(f->kv, n % 2 ? DT_KV_TXN_RDONLY : 0, &t);
        if (rc == DT_OK && n % 2 == 0) rc = dt_kv_put(f->kv, t, f->db, "t", 1, "v", 1, 0);
        dt__alloc_fail_at(-1);
        assert_true(rc == DT_OK || rc == DT_NOMEM);
        if (rc == DT_OK) ok_txn++;
        dt_kv_txn_abort(t);
    }
    assert_true(ok_put > 0 && ok_range > 0 && ok_iter > 0 && ok_txn > 0);
    assert_int_equal(dt_kv_close(f->kv), DT_OK); /* nothing leaked open */
    f->kv = NULL;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_overwrite_and_delete, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_key_size_limits_give_invalid_with_length, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_nooverwrite_and_append_flags, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_dupsort_values_and_pair_delete, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_dbi_open_drop_clear, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_max_dbs_limit, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_batch_is_atomic, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing_and_commit_keeps_all, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_read_txn_is_a_snapshot_and_rejects_writes, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_with_txn_reads_own_writes_and_aborts_on_error,
                                        kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_nested_txns_are_savepoints, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_cursors_walk_put_and_delete, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_writes_survive_failing_allocations, kv_setup,
                                        kv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
