/* test_kv_grow.c -- automatic map growth: autocommit writes, batches,
 * with_txn replays, explicit txns (DT_MAPFULL_RETRY), the max_map_size cap
 * and the wait for open transactions. */
#include "kvtest.h"

static int grow_setup(void **state) {
    kvfix *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.map_size = 64 << 10;
    o.flags = DT_KV_NOSYNC;
    o.grow_timeout_ms = 300;
    if (!f->dir || kvfix_open(f, &o) != 0) return -1;
    *state = f;
    return 0;
}

static void fill_val(char *v, size_t n, int i) {
    for (size_t j = 0; j < n; j++) v[j] = (char)('a' + (i * 31 + (int)j) % 26);
}

static void check_all(kvfix *f, int n, size_t vlen) {
    char key[16], want[2048];
    uint64_t cnt;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->db, NULL, &cnt), DT_OK);
    assert_int_equal(cnt, (uint64_t)n);
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t), DT_OK);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "k%08d", i);
        fill_val(want, vlen, i);
        dt_kv_bytes v;
        assert_int_equal(dt_kv_get_view(f->kv, t, f->db, key, strlen(key), &v), DT_OK);
        assert_int_equal(v.len, vlen);
        assert_memory_equal(v.ptr, want, vlen);
    }
    dt_kv_txn_abort(t);
}

static void test_autocommit_puts_grow_the_map(void **state) {
    kvfix *f = *state;
    char key[16], val[1024];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%08d", i);
        fill_val(val, sizeof val, i);
        assert_int_equal(dt_kv_put(f->kv, NULL, f->db, key, strlen(key), val, sizeof val, 0),
                         DT_OK);
    }
    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(f->kv, &st), DT_OK);
    assert_true(st.map_size >= 2000u * 1024u);
    check_all(f, 2000, sizeof val);
}

static void test_batch_grows_and_applies_once(void **state) {
    kvfix *f = *state;
    enum { N = 3000 };
    static char vals[N][512];
    static char keys[N][16];
    dt_kv_op *ops = calloc(N, sizeof *ops);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%08d", i);
        fill_val(vals[i], 512, i);
        ops[i] = (dt_kv_op){
            DT_KV_OP_PUT, f->db, DT_KV_NOOVERWRITE, {keys[i], strlen(keys[i])}, {vals[i], 512}};
    }
    /* NOOVERWRITE proves the replay starts from scratch: a half-applied
     * first attempt would make the retry conflict */
    assert_int_equal(dt_kv_batch(f->kv, NULL, ops, N), DT_OK);
    free(ops);
    check_all(f, N, 512);
}

typedef struct fill_ctx {
    kvfix *f;
    int from, n, calls;
} fill_ctx;

static int fill_fn(dt_kv_txn *t, void *ud) {
    fill_ctx *c = ud;
    c->calls++;
    char key[16], val[1024];
    for (int i = c->from; i < c->from + c->n; i++) {
        snprintf(key, sizeof key, "k%08d", i);
        fill_val(val, sizeof val, i);
        int rc =
            dt_kv_put(c->f->kv, t, c->f->db, key, strlen(key), val, sizeof val, DT_KV_NOOVERWRITE);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

static void test_with_txn_replays_the_callback(void **state) {
    kvfix *f = *state;
    fill_ctx c = {f, 0, 1000, 0};
    assert_int_equal(dt_kv_with_txn(f->kv, fill_fn, &c), DT_OK);
    assert_true(c.calls > 1); /* 1 MB does not fit in 64 KiB: replayed */
    check_all(f, 1000, 1024);
}

static void test_explicit_txn_gets_mapfull_retry(void **state) {
    kvfix *f = *state;
    fill_ctx c = {f, 0, 500, 0};
    int rc, attempts = 0;
    do {
        dt_kv_txn *t;
        assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
        rc = fill_fn(t, &c);
        if (rc == DT_OK) {
            rc = dt_kv_txn_commit(t);
        } else {
            assert_int_equal(rc, DT_MAPFULL_RETRY);
            assert_int_equal(rc & 0xff, DT_MAPFULL);
            assert_string_equal(dt_errstr(rc), "map full");
            assert_non_null(strstr(dt_errmsg(t), "run it again"));
            /* the failed txn is unusable until aborted */
            assert_int_equal(dt_kv_put(f->kv, t, f->db, "x", 1, "y", 1, 0), DT_MAPFULL_RETRY);
            assert_int_equal(dt_kv_txn_commit(t), DT_MAPFULL_RETRY); /* frees it */
        }
        attempts++;
    } while (rc == DT_MAPFULL_RETRY);
    assert_int_equal(rc, DT_OK);
    assert_true(attempts > 1);
    check_all(f, 500, 1024);
}

static void test_nested_txn_mapfull_fails_the_tree(void **state) {
    kvfix *f = *state;
    dt_kv_txn *t, *child;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
    assert_int_equal(kv_txn_begin(f->kv, t, 0, &child), DT_OK);
    fill_ctx c = {f, 0, 500, 0};
    assert_int_equal(fill_fn(child, &c), DT_MAPFULL_RETRY);
    assert_int_equal(kv_txn_failed(t), DT_MAPFULL_RETRY);
    assert_int_equal(kv_txn_commit(child), DT_MAPFULL_RETRY);
    assert_int_equal(dt_kv_txn_commit(t), DT_MAPFULL_RETRY);
    uint64_t n;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->db, NULL, &n), DT_OK);
    assert_int_equal(n, 0);
}

static void test_capped_growth_gives_mapfull_and_keeps_data(void **state) {
    kvfix *f = *state;
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.map_size = 64 << 10;
    o.max_map_size = 1 << 20;
    o.flags = DT_KV_NOSYNC;
    assert_int_equal(kvfix_open(f, &o), 0);
    char key[16], val[1024];
    int i, rc = DT_OK;
    for (i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%08d", i);
        fill_val(val, sizeof val, i);
        rc = dt_kv_put(f->kv, NULL, f->db, key, strlen(key), val, sizeof val, 0);
        if (rc != DT_OK) break;
    }
    assert_int_equal(rc, DT_MAPFULL);
    assert_non_null(strstr(dt_errmsg(f->kv), "max_map_size"));
    assert_true(i > 100);
    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(f->kv, &st), DT_OK);
    assert_int_equal(st.map_size, 1 << 20);
    check_all(f, i, sizeof val); /* everything committed before is intact */
    /* a batch that does not fit writes nothing */
    dt_kv_op op = {DT_KV_OP_PUT, f->db, 0, {"zzz", 3}, {val, sizeof val}};
    dt_kv_op ops[64];
    for (int j = 0; j < 64; j++) ops[j] = op;
    assert_int_equal(dt_kv_batch(f->kv, NULL, ops, 64), DT_MAPFULL);
    check_all(f, i, sizeof val);
    /* deleting still works and makes room */
    assert_int_equal(dt_kv_dbi_clear(f->kv, NULL, f->db), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "k", 1, val, sizeof val, 0), DT_OK);
}

static void test_growth_waits_for_open_readers_then_gives_busy(void **state) {
    kvfix *f = *state;
    dt_kv_txn *r;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &r), DT_OK);
    char key[16], val[1024];
    int i, rc = DT_OK;
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%08d", i);
        fill_val(val, sizeof val, i);
        rc = dt_kv_put(f->kv, NULL, f->db, key, strlen(key), val, sizeof val, 0);
        if (rc != DT_OK) break;
    }
    /* this thread's own reader blocks the remap: DT_BUSY after the timeout */
    assert_int_equal(rc, DT_BUSY);
    assert_non_null(strstr(dt_errmsg(f->kv), "open transaction"));
    dt_kv_txn_abort(r);
    rc = dt_kv_put(f->kv, NULL, f->db, key, strlen(key), val, sizeof val, 0);
    assert_int_equal(rc, DT_OK);
    check_all(f, i + 1, sizeof val);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_autocommit_puts_grow_the_map, grow_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_batch_grows_and_applies_once, grow_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_with_txn_replays_the_callback, grow_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_explicit_txn_gets_mapfull_retry, grow_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_nested_txn_mapfull_fails_the_tree, grow_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_capped_growth_gives_mapfull_and_keeps_data, grow_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_growth_waits_for_open_readers_then_gives_busy,
                                        grow_setup, kv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
