/* test_txn_extsort.c -- the external merge sorter used by bulk load:
 * in-memory and spilled sorts give the exact sorted sequence, stable for
 * equal keys, with bounded memory and no files left behind. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extsort.h"

typedef struct rec {
    uint8_t key[24];
    size_t klen;
    uint32_t seq;
} rec;

static int rec_order(const void *x, const void *y) {
    const rec *a = x, *b = y;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->key, b->key, n);
    if (c) return c;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sorts n random records (keys of 0..24 bytes from a small alphabet so
 * that duplicates and prefixes are common) and checks the exact order. */
static void check_sequence(txn_sorter *s, const rec *recs, size_t n);

static void sort_and_check(size_t n, size_t budget, int expect_spill) {
    uint64_t st = 0x1234567u + n;
    rec *recs = malloc(n * sizeof *recs);
    assert_non_null(recs);
    txn_sorter *s = NULL;
    assert_int_equal(txn_sorter_new(budget, NULL, &s), DT_OK);
    for (size_t i = 0; i < n; i++) {
        recs[i].klen = tu_rand(&st) % 25;
        for (size_t j = 0; j < recs[i].klen; j++) recs[i].key[j] = (uint8_t)(tu_rand(&st) % 3);
        recs[i].seq = (uint32_t)i;
        assert_int_equal(txn_sorter_add(s, recs[i].key, recs[i].klen, &recs[i].seq, 4), DT_OK);
    }
    assert_int_equal(txn_sorter_finish(s), DT_OK);
    if (expect_spill)
        assert_true(txn_sorter_runs(s) > 1);
    else
        assert_int_equal(txn_sorter_runs(s), 0);
    assert_int_equal(txn_sorter_count(s), n);
    qsort(recs, n, sizeof *recs, rec_order);
    check_sequence(s, recs, n);
    txn_sorter_free(s);
    free(recs);
}

static void test_sorts_in_memory_when_it_fits(void **state) {
    (void)state;
    sort_and_check(5000, 64u << 20, 0);
}

static void test_spills_runs_and_merges_them_in_order(void **state) {
    (void)state;
    /* 1 MiB budget (the minimum) and ~40 bytes a record: many runs. */
    sort_and_check(200000, 1, 1);
}

/* Reads the sorted sequence of s and checks it against recs[0..n). */
static void check_sequence(txn_sorter *s, const rec *recs, size_t n) {
    const uint8_t *k, *v;
    size_t kl, vl, i = 0;
    int rc;
    while ((rc = txn_sorter_next(s, &k, &kl, &v, &vl)) == DT_ROW) {
        assert_true(i < n);
        assert_int_equal(kl, recs[i].klen);
        assert_memory_equal(k, recs[i].key, kl);
        uint32_t seq;
        assert_int_equal(vl, 4);
        memcpy(&seq, v, 4);
        assert_int_equal(seq, recs[i].seq); /* stable */
        i++;
    }
    assert_int_equal(rc, DT_DONE);
    assert_int_equal(i, n);
    assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_DONE);
}

/* Sorts, reads part of the sequence, rewinds and reads it all, twice. */
static void rewind_and_check(size_t n, size_t budget, int expect_spill) {
    uint64_t st = 0xabcdefu + n;
    rec *recs = malloc(n * sizeof *recs);
    assert_non_null(recs);
    txn_sorter *s = NULL;
    assert_int_equal(txn_sorter_new(budget, NULL, &s), DT_OK);
    assert_int_equal(txn_sorter_rewind(s), DT_MISUSE); /* not finished */
    for (size_t i = 0; i < n; i++) {
        recs[i].klen = 1 + tu_rand(&st) % 24;
        for (size_t j = 0; j < recs[i].klen; j++) recs[i].key[j] = (uint8_t)(tu_rand(&st) % 4);
        recs[i].seq = (uint32_t)i;
        assert_int_equal(txn_sorter_add(s, recs[i].key, recs[i].klen, &recs[i].seq, 4), DT_OK);
    }
    assert_int_equal(txn_sorter_finish(s), DT_OK);
    assert_int_equal(txn_sorter_runs(s) > 1, expect_spill);
    qsort(recs, n, sizeof *recs, rec_order);
    const uint8_t *k, *v;
    size_t kl, vl;
    for (size_t i = 0; i < n / 3; i++)
        assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_ROW);
    assert_int_equal(txn_sorter_rewind(s), DT_OK);
    check_sequence(s, recs, n);
    assert_int_equal(txn_sorter_rewind(s), DT_OK);
    check_sequence(s, recs, n);
    txn_sorter_free(s);
    free(recs);
}

static void test_rewind_replays_the_sequence_in_memory(void **state) {
    (void)state;
    rewind_and_check(20000, 64u << 20, 0);
}

static void test_rewind_replays_the_sequence_from_runs(void **state) {
    (void)state;
    rewind_and_check(150000, 1, 1);
}

/* Sorts n records, then reads the sequence in pieces, marking at every
 * piece's start and going back to the mark once per piece: each record
 * must come in order, exactly as if read straight through. */
static void mark_and_check(size_t n, size_t budget, int expect_spill) {
    uint64_t st = 0x5eedu + n;
    rec *recs = malloc(n * sizeof *recs);
    assert_non_null(recs);
    txn_sorter *s = NULL;
    assert_int_equal(txn_sorter_new(budget, NULL, &s), DT_OK);
    assert_int_equal(txn_sorter_mark(s), DT_MISUSE); /* not finished */
    assert_int_equal(txn_sorter_to_mark(s), DT_MISUSE);
    for (size_t i = 0; i < n; i++) {
        recs[i].klen = 1 + tu_rand(&st) % 24;
        for (size_t j = 0; j < recs[i].klen; j++) recs[i].key[j] = (uint8_t)(tu_rand(&st) % 4);
        recs[i].seq = (uint32_t)i;
        assert_int_equal(txn_sorter_add(s, recs[i].key, recs[i].klen, &recs[i].seq, 4), DT_OK);
    }
    assert_int_equal(txn_sorter_finish(s), DT_OK);
    assert_int_equal(txn_sorter_runs(s) > 1, expect_spill);
    qsort(recs, n, sizeof *recs, rec_order);
    const uint8_t *k, *v;
    size_t kl, vl;
    /* nothing marked yet: to_mark is a rewind */
    for (size_t i = 0; i < 10; i++) assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_ROW);
    assert_int_equal(txn_sorter_to_mark(s), DT_OK);
    size_t at = 0, piece = 1;
    while (at < n) {
        assert_int_equal(txn_sorter_mark(s), DT_OK);
        size_t len = piece < n - at ? piece : n - at;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = at; i < at + len; i++) {
                assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_ROW);
                uint32_t seq;
                memcpy(&seq, v, 4);
                assert_int_equal(seq, recs[i].seq);
                assert_int_equal(kl, recs[i].klen);
            }
            if (pass == 0) assert_int_equal(txn_sorter_to_mark(s), DT_OK);
        }
        at += len;
        piece = piece * 3 + 1;
    }
    assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_DONE);
    /* a mark at the end stays at the end */
    assert_int_equal(txn_sorter_mark(s), DT_OK);
    assert_int_equal(txn_sorter_to_mark(s), DT_OK);
    assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_DONE);
    txn_sorter_free(s);
    free(recs);
}

static void test_mark_resumes_the_sequence_in_memory(void **state) {
    (void)state;
    mark_and_check(20000, 64u << 20, 0);
}

static void test_mark_resumes_the_sequence_from_runs(void **state) {
    (void)state;
    mark_and_check(150000, 1, 1);
}

/* Long keys sharing long prefixes exercise every radix depth and the
 * comparison fallback for ties deeper than it goes. */
static void test_long_keys_with_long_common_prefixes_sort_exactly(void **state) {
    (void)state;
    enum { N = 3000, MAXK = 700 };
    uint8_t(*keys)[MAXK] = calloc(N, MAXK);
    size_t *lens = calloc(N, sizeof *lens);
    uint32_t *order = calloc(N, sizeof *order);
    assert_true(keys && lens && order);
    uint64_t st = 99;
    txn_sorter *s = NULL;
    assert_int_equal(txn_sorter_new(64u << 20, NULL, &s), DT_OK);
    for (uint32_t i = 0; i < N; i++) {
        lens[i] = MAXK - 8 + tu_rand(&st) % 9; /* 692..700: ties reach past depth 512 */
        memset(keys[i], 0x41, lens[i]);
        size_t at = tu_rand(&st) % 2 ? lens[i] - 1 - tu_rand(&st) % 8 : tu_rand(&st) % lens[i];
        keys[i][at] = (uint8_t)(tu_rand(&st) % 3 + 0x40);
        order[i] = i;
        assert_int_equal(txn_sorter_add(s, keys[i], lens[i], &i, 4), DT_OK);
    }
    assert_int_equal(txn_sorter_finish(s), DT_OK);
    /* expected order: insertion sort on (key, insertion) */
    for (uint32_t i = 1; i < N; i++) {
        uint32_t x = order[i];
        uint32_t j = i;
        while (j > 0) {
            uint32_t y = order[j - 1];
            size_t m = lens[x] < lens[y] ? lens[x] : lens[y];
            int c = memcmp(keys[x], keys[y], m);
            if (!c) c = (lens[x] > lens[y]) - (lens[x] < lens[y]);
            if (!c) c = (x > y) - (x < y);
            if (c >= 0) break;
            order[j] = y;
            j--;
        }
        order[j] = x;
    }
    const uint8_t *k, *v;
    size_t kl, vl;
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_ROW);
        uint32_t seq;
        memcpy(&seq, v, 4);
        assert_int_equal(seq, order[i]);
        assert_int_equal(kl, lens[order[i]]);
    }
    assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_DONE);
    txn_sorter_free(s);
    free(keys);
    free(lens);
    free(order);
}

static void test_empty_input_yields_done(void **state) {
    (void)state;
    txn_sorter *s = NULL;
    assert_int_equal(txn_sorter_new(0, NULL, &s), DT_OK);
    assert_int_equal(txn_sorter_finish(s), DT_OK);
    const uint8_t *k, *v;
    size_t kl, vl;
    assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_DONE);
    txn_sorter_free(s);
}

static void test_misuse_is_reported(void **state) {
    (void)state;
    txn_sorter *s = NULL;
    const uint8_t *k, *v;
    size_t kl, vl;
    assert_int_equal(txn_sorter_new(0, NULL, &s), DT_OK);
    assert_int_equal(txn_sorter_next(s, &k, &kl, &v, &vl), DT_MISUSE);
    static uint8_t big[70000];
    assert_int_equal(txn_sorter_add(s, big, sizeof big, "", 0), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "70000"));
    assert_int_equal(txn_sorter_finish(s), DT_OK);
    assert_int_equal(txn_sorter_add(s, "a", 1, "", 0), DT_MISUSE);
    assert_int_equal(txn_sorter_finish(s), DT_MISUSE);
    txn_sorter_free(s);
    txn_sorter_free(NULL);
}

static void test_unwritable_tmpdir_gives_io_error(void **state) {
    (void)state;
    txn_sorter *s = NULL;
    assert_int_equal(txn_sorter_new(1, "/nonexistent-dir-for-datolite-tests", &s), DT_OK);
    uint8_t key[100] = {0};
    int rc = DT_OK;
    for (int i = 0; i < 100000 && rc == DT_OK; i++) {
        key[0] = (uint8_t)i;
        rc = txn_sorter_add(s, key, sizeof key, NULL, 0);
    }
    assert_int_equal(rc, DT_IO);
    assert_non_null(strstr(dt_errmsg(NULL), "nonexistent-dir-for-datolite-tests"));
    txn_sorter_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sorts_in_memory_when_it_fits),
        cmocka_unit_test(test_spills_runs_and_merges_them_in_order),
        cmocka_unit_test(test_rewind_replays_the_sequence_in_memory),
        cmocka_unit_test(test_rewind_replays_the_sequence_from_runs),
        cmocka_unit_test(test_mark_resumes_the_sequence_in_memory),
        cmocka_unit_test(test_mark_resumes_the_sequence_from_runs),
        cmocka_unit_test(test_long_keys_with_long_common_prefixes_sort_exactly),
        cmocka_unit_test(test_empty_input_yields_done),
        cmocka_unit_test(test_misuse_is_reported),
        cmocka_unit_test(test_unwritable_tmpdir_gives_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
