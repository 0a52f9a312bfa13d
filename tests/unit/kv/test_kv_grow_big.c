/* test_kv_grow_big.c -- writes 100 MB (100,000 values of 1 KiB, in batches
 * of 1,000) into an environment opened with a 64 KiB map and checks every
 * entry afterwards: nothing lost, nothing duplicated.  Label: slow. */
#include "kvtest.h"

enum { N = 100000, VLEN = 1024, BATCH = 1000 };

static void fill_val(unsigned char *v, int i) {
    uint64_t s = (uint64_t)i * 0x9E3779B97F4A7C15ull + 1;
    for (int j = 0; j < VLEN; j += 8) {
        uint64_t x = tu_rand(&s);
        memcpy(v + j, &x, 8);
    }
}

static void test_100mb_into_a_64k_map(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.map_size = 64 << 10;
    o.flags = DT_KV_NOSYNC;
    dt_kv *kv;
    dt_kv_dbi db;
    assert_int_equal(dt_kv_open(dir, &o, &kv), DT_OK);
    assert_int_equal(dt_kv_dbi_open(kv, "big", DT_KV_DBI_CREATE, &db), DT_OK);
    static unsigned char vals[BATCH][VLEN];
    static char keys[BATCH][16];
    static dt_kv_op ops[BATCH];
    for (int b = 0; b < N / BATCH; b++) {
        for (int j = 0; j < BATCH; j++) {
            int i = b * BATCH + j;
            /* a scattered key order, so pages split everywhere */
            snprintf(keys[j], sizeof keys[j], "%08d", (int)(((uint64_t)i * 7919u) % N));
            fill_val(vals[j], i);
            ops[j] = (dt_kv_op){DT_KV_OP_PUT, db, DT_KV_NOOVERWRITE, {keys[j], 8}, {vals[j], VLEN}};
        }
        assert_int_equal(dt_kv_batch(kv, NULL, ops, BATCH), DT_OK);
    }
    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(kv, &st), DT_OK);
    assert_true(st.map_size >= (uint64_t)N * VLEN);
    assert_true(st.used_bytes >= (uint64_t)N * VLEN);

    /* every key once, in order, with its value */
    dt_kv_iter *it;
    assert_int_equal(dt_kv_iter_open(kv, NULL, db, NULL, &it), DT_OK);
    dt_kv_bytes k, v;
    int n = 0, rc;
    unsigned char want[VLEN];
    char wkey[16];
    while ((rc = dt_kv_iter_next(it, &k, &v)) == DT_ROW) {
        snprintf(wkey, sizeof wkey, "%08d", n);
        assert_int_equal(k.len, 8);
        assert_memory_equal(k.ptr, wkey, 8);
        /* key n was written as item i with i * 7919 = n (mod N) */
        int i = (int)(((uint64_t)n * 17679u) % N); /* 7919^-1 mod 100000 */
        assert_int_equal((int)(((uint64_t)i * 7919u) % N), n);
        fill_val(want, i);
        assert_int_equal(v.len, VLEN);
        assert_memory_equal(v.ptr, want, VLEN);
        n++;
    }
    assert_int_equal(rc, DT_DONE);
    assert_int_equal(n, N);
    dt_kv_iter_close(it);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_100mb_into_a_64k_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
