/* test_kv_range.c -- range functions and iterators: bounds open, closed
 * and absent, both directions, limits, DUPSORT, views and lifetimes. */
#include "kvtest.h"

/* The keys (and values, "k=v") of a list as one comma-separated string. */
static char *list_str(const dt_kv_list *l, int with_vals) {
    static char buf[4096];
    size_t n = 0;
    buf[0] = 0;
    for (size_t i = 0; i < l->n; i++) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.*s", i ? "," : "",
                              (int)l->items[i].key.len, (const char *)l->items[i].key.ptr);
        if (with_vals)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "=%.*s", (int)l->items[i].val.len,
                                  (const char *)l->items[i].val.ptr);
    }
    return buf;
}

static dt_kv_range rng(const char *lo, dt_kv_bound lb, const char *hi, dt_kv_bound hb, int back,
                       size_t limit) {
    dt_kv_range r = DT_KV_RANGE_ALL;
    if (lo) {
        r.lo.ptr = lo;
        r.lo.len = strlen(lo);
    }
    if (hi) {
        r.hi.ptr = hi;
        r.hi.len = strlen(hi);
    }
    r.lo_bound = lb;
    r.hi_bound = hb;
    r.backward = back;
    r.limit = limit;
    return r;
}

static const char *keys_of(kvfix *f, dt_kv_dbi db, dt_kv_range r) {
    dt_kv_list l = DT_KV_LIST_INIT;
    assert_int_equal(dt_kv_get_range(f->kv, NULL, db, &r, &l), DT_OK);
    const char *s = list_str(&l, 0);
    /* the count agrees with the list */
    uint64_t n;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, db, &r, &n), DT_OK);
    assert_int_equal(n, l.n);
    dt_kv_list_free(&l);
    return s;
}

static int range_setup(void **state) {
    if (kv_setup(state) != 0) return -1;
    kvfix *f = *state;
    const char *keys[] = {"b", "d", "dd", "f", "h", "j"};
    for (int i = 0; i < 6; i++)
        if (PUTS(f, f->db, keys[i], keys[i]) != DT_OK) return -1;
    const char *dk[] = {"b", "b", "b", "d", "f", "f"};
    const char *dv[] = {"1", "2", "3", "1", "1", "2"};
    for (int i = 0; i < 6; i++)
        if (PUTS(f, f->dup, dk[i], dv[i]) != DT_OK) return -1;
    return 0;
}

#define U DT_KV_UNBOUNDED
#define C DT_KV_CLOSED
#define O DT_KV_OPEN

static void test_forward_ranges_with_every_bound_kind(void **state) {
    kvfix *f = *state;
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, NULL, U, 0, 0)), "b,d,dd,f,h,j");
    assert_string_equal(keys_of(f, f->db, rng("d", C, "h", C, 0, 0)), "d,dd,f,h");
    assert_string_equal(keys_of(f, f->db, rng("d", O, "h", C, 0, 0)), "dd,f,h");
    assert_string_equal(keys_of(f, f->db, rng("d", C, "h", O, 0, 0)), "d,dd,f");
    assert_string_equal(keys_of(f, f->db, rng("d", O, "h", O, 0, 0)), "dd,f");
    assert_string_equal(keys_of(f, f->db, rng("c", C, "g", C, 0, 0)), "d,dd,f");
    assert_string_equal(keys_of(f, f->db, rng("c", O, "g", O, 0, 0)), "d,dd,f");
    assert_string_equal(keys_of(f, f->db, rng("e", C, NULL, U, 0, 0)), "f,h,j");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "d", C, 0, 0)), "b,d");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "d", O, 0, 0)), "b");
    assert_string_equal(keys_of(f, f->db, rng("d", C, "d", C, 0, 0)), "d");
    assert_string_equal(keys_of(f, f->db, rng("d", O, "d", C, 0, 0)), "");
    assert_string_equal(keys_of(f, f->db, rng("h", C, "d", C, 0, 0)), ""); /* lo > hi */
    assert_string_equal(keys_of(f, f->db, rng("k", C, NULL, U, 0, 0)), "");
    assert_string_equal(keys_of(f, f->db, rng("", C, "c", C, 0, 0)), "b");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "", C, 0, 0)), "");
    assert_string_equal(keys_of(f, f->db, rng("b", C, "j", C, 0, 3)), "b,d,dd");
    assert_string_equal(keys_of(f, f->db, rng("d", O, NULL, U, 0, 1)), "dd");
}

static void test_backward_ranges_with_every_bound_kind(void **state) {
    kvfix *f = *state;
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, NULL, U, 1, 0)), "j,h,f,dd,d,b");
    assert_string_equal(keys_of(f, f->db, rng("d", C, "h", C, 1, 0)), "h,f,dd,d");
    assert_string_equal(keys_of(f, f->db, rng("d", O, "h", C, 1, 0)), "h,f,dd");
    assert_string_equal(keys_of(f, f->db, rng("d", C, "h", O, 1, 0)), "f,dd,d");
    assert_string_equal(keys_of(f, f->db, rng("d", O, "h", O, 1, 0)), "f,dd");
    assert_string_equal(keys_of(f, f->db, rng("c", C, "g", C, 1, 0)), "f,dd,d");
    assert_string_equal(keys_of(f, f->db, rng("c", O, "g", O, 1, 0)), "f,dd,d");
    assert_string_equal(keys_of(f, f->db, rng("e", C, NULL, U, 1, 0)), "j,h,f");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "e", C, 1, 0)), "dd,d,b");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "z", O, 1, 0)), "j,h,f,dd,d,b");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "b", O, 1, 0)), "");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "b", C, 1, 0)), "b");
    assert_string_equal(keys_of(f, f->db, rng("h", C, "d", C, 1, 0)), "");
    assert_string_equal(keys_of(f, f->db, rng("b", C, "j", C, 1, 2)), "j,h");
    assert_string_equal(keys_of(f, f->db, rng("b", O, "j", O, 1, 2)), "h,f");
    assert_string_equal(keys_of(f, f->db, rng(NULL, U, "a", C, 1, 0)), "");
}

static void test_dupsort_ranges_visit_values_in_order(void **state) {
    kvfix *f = *state;
    dt_kv_list l = DT_KV_LIST_INIT;
    dt_kv_range r = rng(NULL, U, NULL, U, 0, 0);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "b=1,b=2,b=3,d=1,f=1,f=2");
    r = rng(NULL, U, NULL, U, 1, 0);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "f=2,f=1,d=1,b=3,b=2,b=1");
    r = rng("b", C, "d", C, 1, 0);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "d=1,b=3,b=2,b=1");
    r = rng("b", O, "f", C, 1, 0);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "f=2,f=1,d=1");
    r = rng("b", C, "f", O, 1, 2);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "d=1,b=3");
    r = rng("b", O, NULL, U, 0, 0);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "d=1,f=1,f=2");
    /* keys only: each key once */
    r = rng(NULL, U, NULL, U, 0, 0);
    assert_int_equal(dt_kv_key_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 0), "b,d,f");
    assert_null(l.items[0].val.ptr);
    r = rng(NULL, U, NULL, U, 1, 2);
    assert_int_equal(dt_kv_key_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 0), "f,d");
    r = rng("b", O, "f", C, 1, 0);
    assert_int_equal(dt_kv_key_range(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 0), "f,d");
    uint64_t n;
    r = rng("b", C, "b", C, 0, 0);
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->dup, &r, &n), DT_OK);
    assert_int_equal(n, 3);
    dt_kv_list_free(&l);
}

static void test_get_first_in_both_directions(void **state) {
    kvfix *f = *state;
    dt_kv_list l = DT_KV_LIST_INIT;
    dt_kv_range r = rng("c", C, "g", C, 0, 0);
    assert_int_equal(dt_kv_get_first(f->kv, NULL, f->db, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "d=d");
    r.backward = 1;
    assert_int_equal(dt_kv_get_first(f->kv, NULL, f->db, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "f=f");
    r = rng("x", C, NULL, U, 0, 0);
    assert_int_equal(dt_kv_get_first(f->kv, NULL, f->db, &r, &l), DT_NOTFOUND);
    assert_int_equal(l.n, 0);
    r = rng(NULL, U, NULL, U, 1, 0);
    assert_int_equal(dt_kv_get_first(f->kv, NULL, f->dup, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 1), "f=2");
    dt_kv_list_free(&l);
}

static void test_bad_ranges_are_rejected(void **state) {
    kvfix *f = *state;
    dt_kv_list l = DT_KV_LIST_INIT;
    dt_kv_range r = rng("a", (dt_kv_bound)7, NULL, U, 0, 0);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->db, &r, &l), DT_INVALID);
    r = rng(NULL, C, NULL, U, 0, 0);
    r.lo.len = 3;
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->db, &r, &l), DT_MISUSE);
    assert_int_equal(dt_kv_get_range(f->kv, NULL, f->db, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->db, NULL, NULL), DT_MISUSE);
    dt_kv_iter *it;
    assert_int_equal(dt_kv_iter_open(f->kv, NULL, f->db, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_kv_iter_open(f->kv, NULL, 12345, NULL, &it), DT_MISUSE);
    assert_null(it);
}

static void test_iterator_yields_views_in_range_order(void **state) {
    kvfix *f = *state;
    char lo[2] = "c", hi[2] = "i";
    dt_kv_range r = rng(lo, O, hi, O, 1, 0);
    dt_kv_iter *it;
    assert_int_equal(dt_kv_iter_open(f->kv, NULL, f->db, &r, &it), DT_OK);
    lo[0] = hi[0] = 'x'; /* the bounds were copied */
    dt_kv_bytes k, v;
    char got[64] = "";
    int rc;
    while ((rc = dt_kv_iter_next(it, &k, &v)) == DT_ROW) {
        assert_int_equal(k.len, v.len);
        assert_memory_equal(k.ptr, v.ptr, k.len);
        strncat(got, k.ptr, k.len);
        strcat(got, " ");
    }
    assert_int_equal(rc, DT_DONE);
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_DONE);
    assert_string_equal(got, "h f dd d ");
    /* the iterator's own snapshot ignores later writes, and keeps the
     * environment from closing */
    assert_int_equal(dt_kv_close(f->kv), DT_BUSY);
    dt_kv_iter_close(it);
    assert_int_equal(dt_kv_iter_open(f->kv, NULL, f->db, NULL, &it), DT_OK);
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_ROW);
    assert_int_equal(PUTS(f, f->db, "a", "a"), DT_OK);
    int n = 1;
    while (dt_kv_iter_next(it, &k, NULL) == DT_ROW) n++;
    assert_int_equal(n, 6);
    dt_kv_iter_close(it);
}

static void test_iterator_in_txn_sees_txn_writes_and_dies_with_it(void **state) {
    kvfix *f = *state;
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, 0, &t), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, t, f->db, "c", 1, "c", 1, 0), DT_OK);
    dt_kv_range r = rng("b", C, "d", C, 0, 0);
    dt_kv_iter *it;
    assert_int_equal(dt_kv_iter_open(f->kv, t, f->db, &r, &it), DT_OK);
    dt_kv_bytes k;
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_ROW);
    assert_memory_equal(k.ptr, "b", 1);
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_ROW);
    assert_memory_equal(k.ptr, "c", 1);
    dt_kv_list l = DT_KV_LIST_INIT;
    assert_int_equal(dt_kv_get_range(f->kv, t, f->db, &r, &l), DT_OK);
    assert_string_equal(list_str(&l, 0), "b,c,d");
    dt_kv_list_free(&l);
    dt_kv_txn_abort(t);
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(it), "ended"));
    dt_kv_iter_close(it);
    /* and in a read txn that ends first */
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t), DT_OK);
    assert_int_equal(dt_kv_iter_open(f->kv, t, f->dup, NULL, &it), DT_OK);
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_ROW);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    assert_int_equal(dt_kv_iter_next(it, &k, NULL), DT_MISUSE);
    dt_kv_iter_close(it);
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
}

/* Keys visited by iter_next_batch with batches of `max`, comma-joined. */
static const char *batch_keys(kvfix *f, dt_kv_dbi db, dt_kv_range r, size_t max) {
    static char buf[4096];
    size_t len = 0;
    buf[0] = 0;
    dt_kv_iter *it = NULL;
    assert_int_equal(dt_kv_iter_open(f->kv, NULL, db, &r, &it), DT_OK);
    dt_kv_entry e[8];
    size_t n = 99;
    int rc;
    while ((rc = dt_kv_iter_next_batch(it, max, e, &n)) == DT_ROW) {
        assert_true(n >= 1 && n <= max);
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s", len ? "," : "",
                                    (int)e[i].key.len, (const char *)e[i].key.ptr);
    }
    assert_int_equal(rc, DT_DONE);
    assert_int_equal(n, 0);
    assert_int_equal(dt_kv_iter_next_batch(it, max, e, &n), DT_DONE); /* stays done */
    assert_int_equal(dt_kv_iter_next_batch(it, 0, e, &n), DT_MISUSE);
    dt_kv_iter_close(it);
    return buf;
}

static void test_batch_iteration_matches_single_steps(void **state) {
    kvfix *f = *state;
    for (size_t max = 1; max <= 8; max++) {
        assert_string_equal(batch_keys(f, f->db, rng(NULL, U, NULL, U, 0, 0), max), "b,d,dd,f,h,j");
        assert_string_equal(batch_keys(f, f->db, rng("d", O, "h", C, 0, 0), max), "dd,f,h");
        assert_string_equal(batch_keys(f, f->db, rng("c", C, "i", O, 1, 0), max), "h,f,dd,d");
        assert_string_equal(batch_keys(f, f->db, rng(NULL, U, NULL, U, 0, 4), max), "b,d,dd,f");
        assert_string_equal(batch_keys(f, f->dup, rng("b", C, "d", C, 0, 0), max), "b,b,b,d");
        assert_string_equal(batch_keys(f, f->db, rng("x", C, NULL, U, 0, 0), max), "");
    }
    size_t n = 7;
    dt_kv_entry e[1];
    assert_int_equal(dt_kv_iter_next_batch(NULL, 1, e, &n), DT_MISUSE);
    assert_int_equal(n, 0);
}

static void test_random_ranges_match_a_model(void **state) {
    kvfix *f = *state;
    /* 200 random 1..3-byte keys over "abcd" besides the fixture's; every
     * range is checked against a filter over the whole (sorted) dbi */
    uint64_t seed = 42;
    for (int i = 0; i < 200; i++) {
        int len = 1 + (int)(tu_rand(&seed) % 3);
        char k[4] = {0};
        for (int j = 0; j < len; j++) k[j] = (char)('a' + tu_rand(&seed) % 4);
        assert_int_equal(dt_kv_put(f->kv, NULL, f->db, k, (size_t)len, k, (size_t)len, 0), DT_OK);
    }
    for (int t = 0; t < 300; t++) {
        char lo[4] = {0}, hi[4] = {0};
        for (int j = 0; j < 1 + (int)(tu_rand(&seed) % 3); j++)
            lo[j] = (char)('a' + tu_rand(&seed) % 5);
        for (int j = 0; j < 1 + (int)(tu_rand(&seed) % 3); j++)
            hi[j] = (char)('a' + tu_rand(&seed) % 5);
        dt_kv_bound lb = (dt_kv_bound)(tu_rand(&seed) % 3), hb = (dt_kv_bound)(tu_rand(&seed) % 3);
        int back = (int)(tu_rand(&seed) % 2);
        size_t limit = tu_rand(&seed) % 4 == 0 ? 1 + tu_rand(&seed) % 5 : 0;
        dt_kv_range r = rng(lo, lb, hi, hb, back, limit);
        dt_kv_list l = DT_KV_LIST_INIT;
        assert_int_equal(dt_kv_get_range(f->kv, NULL, f->db, &r, &l), DT_OK);
        /* model: scan all keys through an unbounded forward list */
        dt_kv_list all = DT_KV_LIST_INIT;
        assert_int_equal(dt_kv_get_range(f->kv, NULL, f->db, NULL, &all), DT_OK);
        size_t m = 0;
        for (size_t i = 0; i < all.n; i++) {
            size_t idx = back ? all.n - 1 - i : i;
            const dt_kv_bytes *k = &all.items[idx].key;
            char ks[4] = {0};
            memcpy(ks, k->ptr, k->len);
            int cl = strcmp(ks, lo), ch = strcmp(ks, hi);
            if (lb == C && cl < 0) continue;
            if (lb == O && cl <= 0) continue;
            if (hb == C && ch > 0) continue;
            if (hb == O && ch >= 0) continue;
            if (limit && m >= limit) break;
            assert_true(m < l.n);
            assert_int_equal(l.items[m].key.len, k->len);
            assert_memory_equal(l.items[m].key.ptr, k->ptr, k->len);
            m++;
        }
        assert_int_equal(m, l.n);
        dt_kv_list_free(&l);
        dt_kv_list_free(&all);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_ranges_with_every_bound_kind, range_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_backward_ranges_with_every_bound_kind, range_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_dupsort_ranges_visit_values_in_order, range_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_get_first_in_both_directions, range_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_bad_ranges_are_rejected, range_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_iterator_yields_views_in_range_order, range_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_iterator_in_txn_sees_txn_writes_and_dies_with_it,
                                        range_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_random_ranges_match_a_model, range_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_batch_iteration_matches_single_steps, range_setup,
                                        kv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
