/*
 * test_datalog_value.c -- dt_value constructors, deep copy and clear, the
 * canonical text of bigint/bigdec, and the total order dt_value_compare
 * documents in datolite.h (datalog/value.c).
 */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "base.h"
#include "value.h"

/* {====== Helpers ====== */

static void text(dt_type t, const char *s, dt_value *out) {
    int rc = dt_value_text(t, s, strlen(s), out);
    if (rc != DT_OK) fail_msg("dt_value_text(%s, \"%s\"): %s", dt_type_name(t), s, dt_errmsg(NULL));
}

static void assert_canonical(dt_type t, const char *in, const char *want) {
    dt_value v;
    text(t, in, &v);
    if (strcmp(v.u.s.ptr, want) != 0 || v.u.s.len != strlen(want))
        fail_msg("%s \"%s\" became \"%s\", expected \"%s\"", dt_type_name(t), in, v.u.s.ptr, want);
    dt_value_free(&v);
}

static void assert_refused(dt_type t, const char *in) {
    dt_value v;
    int rc = dt_value_text(t, in, strlen(in), &v);
    if (rc != DT_INVALID) fail_msg("%s \"%s\" accepted (rc %d)", dt_type_name(t), in, rc);
    assert_int_equal(v.type, DT_NIL);
    if (!strstr(dt_errmsg(NULL), in)) fail_msg("message \"%s\" lacks \"%s\"", dt_errmsg(NULL), in);
}

/* values[i] < values[i+1] for the whole list, and each equals itself */
static void assert_ascending(const dt_value *values, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int c = dt_value_compare(&values[i], &values[j]);
            int want = (i > j) - (i < j);
            if ((c > 0) - (c < 0) != want) fail_msg("compare(#%zu, #%zu) = %d", i, j, c);
            assert_int_equal(dt_value_equal(&values[i], &values[j]), i == j);
        }
    }
}

static void clear_all(dt_value *values, size_t n) {
    for (size_t i = 0; i < n; i++) dt_value_free(&values[i]);
}

/* }====== */

/* {====== Constructors, copy, clear ====== */

static void test_scalar_constructors_set_type_and_payload(void **state) {
    (void)state;
    dt_value v;
    uint8_t u[16];
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)(i * 17);
    dt_value_nil(&v);
    assert_int_equal(v.type, DT_NIL);
    dt_value_bool(42, &v);
    assert_int_equal(v.type, DT_BOOL);
    assert_int_equal(v.u.b, 1);
    dt_value_long(INT64_MIN, &v);
    assert_int_equal(v.type, DT_LONG);
    assert_true(v.u.i == INT64_MIN);
    dt_value_double(-0.0, &v);
    assert_int_equal(v.type, DT_DOUBLE);
    assert_true(signbit(v.u.d));
    dt_value_float(1.5f, &v);
    assert_int_equal(v.type, DT_FLOAT);
    assert_true(v.u.f == 1.5f);
    dt_value_instant(1700000000000LL, &v);
    assert_int_equal(v.type, DT_INSTANT);
    assert_true(v.u.i == 1700000000000LL);
    dt_value_ref(77, &v);
    assert_int_equal(v.type, DT_REF);
    assert_true(v.u.i == 77);
    dt_value_char(0xe9, &v);
    assert_int_equal(v.type, DT_CHAR);
    assert_int_equal(v.u.c, 0xe9);
    dt_value_uuid(u, &v);
    assert_int_equal(v.type, DT_UUID);
    assert_memory_equal(v.u.uuid, u, 16);
    dt_value nil = DT_VALUE_NIL;
    assert_int_equal(nil.type, DT_NIL);
}

static void test_text_constructors_copy_len_bytes_and_terminate(void **state) {
    (void)state;
    char src[] = {'a', 0, 'b', 'c', 'X'};
    dt_value v;
    assert_int_equal(dt_value_text(DT_BYTES, src, 4, &v), DT_OK);
    assert_int_equal(v.type, DT_BYTES);
    assert_int_equal(v.u.s.len, 4);
    assert_memory_equal(v.u.s.ptr, src, 4);
    assert_int_equal(v.u.s.ptr[4], '\0');
    src[0] = 'z'; /* a copy, not a view */
    assert_int_equal(v.u.s.ptr[0], 'a');
    dt_value_free(&v);
    assert_int_equal(v.type, DT_NIL);
    assert_int_equal(dt_value_text(DT_STRING, NULL, 0, &v), DT_OK);
    assert_int_equal(v.u.s.len, 0);
    assert_string_equal(v.u.s.ptr, "");
    dt_value_free(&v);
    assert_int_equal(dt_value_text(DT_KEYWORD, "user/name", 9, &v), DT_OK);
    assert_string_equal(v.u.s.ptr, "user/name");
    dt_value_free(&v);
    assert_int_equal(dt_value_text(DT_LONG, "1", 1, &v), DT_MISUSE);
    assert_int_equal(v.type, DT_NIL);
    assert_int_equal(dt_value_text(DT_STRING, NULL, 3, &v), DT_MISUSE);
}

static void test_seq_constructor_makes_nil_items(void **state) {
    (void)state;
    dt_value v;
    assert_int_equal(dt_value_seq(DT_TUPLE, 3, &v), DT_OK);
    assert_int_equal(v.type, DT_TUPLE);
    assert_int_equal(v.u.seq.n, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(v.u.seq.items[i].type, DT_NIL);
    dt_value_free(&v);
    assert_int_equal(dt_value_seq(DT_VECTOR, 0, &v), DT_OK);
    assert_int_equal(v.u.seq.n, 0);
    dt_value_free(&v);
    assert_int_equal(dt_value_seq(DT_MAP, 3, &v), DT_MISUSE);
    assert_int_equal(dt_value_seq(DT_STRING, 1, &v), DT_MISUSE);
    assert_int_equal(v.type, DT_NIL);
}

/* [1 "two" [#{:k} 3.5M] nil] with every kind of owned memory */
static void build_nested(dt_value *v) {
    assert_int_equal(dt_value_seq(DT_TUPLE, 4, v), DT_OK);
    dt_value_long(1, &v->u.seq.items[0]);
    text(DT_STRING, "two", &v->u.seq.items[1]);
    dt_value *inner = &v->u.seq.items[2];
    assert_int_equal(dt_value_seq(DT_VECTOR, 2, inner), DT_OK);
    assert_int_equal(dt_value_seq(DT_SET, 1, &inner->u.seq.items[0]), DT_OK);
    text(DT_KEYWORD, "k", &inner->u.seq.items[0].u.seq.items[0]);
    text(DT_BIGDEC, "3.5", &inner->u.seq.items[1]);
}

static void test_copy_is_deep_and_clear_frees_everything(void **state) {
    (void)state;
    dt_value a, b;
    build_nested(&a);
    assert_int_equal(dt_value_copy(&a, &b), DT_OK);
    assert_true(dt_value_equal(&a, &b));
    assert_ptr_not_equal(a.u.seq.items, b.u.seq.items);
    assert_ptr_not_equal(a.u.seq.items[1].u.s.ptr, b.u.seq.items[1].u.s.ptr);
    b.u.seq.items[1].u.s.ptr[0] = 'T';
    assert_string_equal(a.u.seq.items[1].u.s.ptr, "two");
    assert_true(dt_value_compare(&a, &b) > 0); /* "two" > "Two" */
    dt_value_free(&a);
    dt_value_free(&b);
    assert_int_equal(a.type, DT_NIL);
    dt_value_free(NULL);
    dt_value_free(&a); /* clearing nil twice is harmless */
    assert_int_equal(dt_value_copy(NULL, &a), DT_MISUSE);
}

static void test_copy_out_of_memory_leaves_nil_and_leaks_nothing(void **state) {
    (void)state;
    dt_value a;
    build_nested(&a);
    for (long n = 0;; n++) {
        dt_value b;
        dt__alloc_fail_at(n);
        int rc = dt_value_copy(&a, &b);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            assert_true(dt_value_equal(&a, &b));
            dt_value_free(&b);
            assert_true(n > 3);
            break;
        }
        assert_int_equal(rc, DT_NOMEM);
        assert_int_equal(b.type, DT_NIL);
    }
    for (long n = 0;; n++) {
        dt_value b;
        dt__alloc_fail_at(n);
        int rc = dt_value_text(DT_BIGDEC, "-12.50e1", 8, &b);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            assert_string_equal(b.u.s.ptr, "-125.0");
            dt_value_free(&b);
            break;
        }
        assert_int_equal(rc, DT_NOMEM);
        assert_int_equal(b.type, DT_NIL);
    }
    dt_value_free(&a);
}

/* }====== */

/* {====== Decimal text ====== */

static void test_bigint_text_is_canonicalised(void **state) {
    (void)state;
    assert_canonical(DT_BIGINT, "-0", "0");
    assert_canonical(DT_BIGINT, "+0", "0");
    assert_canonical(DT_BIGINT, "000", "0");
    assert_canonical(DT_BIGINT, "007", "7");
    assert_canonical(DT_BIGINT, "-007", "-7");
    assert_canonical(DT_BIGINT, "+42", "42");
    assert_canonical(DT_BIGINT, "100", "100");
    assert_canonical(DT_BIGINT, "-123456789012345678901234567890",
                     "-123456789012345678901234567890");
}

static void test_bigdec_text_is_canonicalised_and_keeps_scale(void **state) {
    (void)state;
    assert_canonical(DT_BIGDEC, "1.50", "1.50");
    assert_canonical(DT_BIGDEC, "1.5", "1.5");
    assert_canonical(DT_BIGDEC, "-0.0", "0.0");
    assert_canonical(DT_BIGDEC, "0.00", "0.00");
    assert_canonical(DT_BIGDEC, "00.50", "0.50");
    assert_canonical(DT_BIGDEC, ".5", "0.5");
    assert_canonical(DT_BIGDEC, "5.", "5");
    assert_canonical(DT_BIGDEC, "1e3", "1E3");
    assert_canonical(DT_BIGDEC, "1E+3", "1E3");
    assert_canonical(DT_BIGDEC, "1.5e3", "15E2");
    assert_canonical(DT_BIGDEC, "1.5e1", "15");
    assert_canonical(DT_BIGDEC, "1.23e-5", "0.0000123");
    assert_canonical(DT_BIGDEC, "-12.50e1", "-125.0");
    assert_canonical(DT_BIGDEC, "0e5", "0E5");
    assert_canonical(DT_BIGDEC, "150E1", "150E1");
    assert_canonical(DT_BIGDEC, "+7", "7");
    /* canonical text is a fixed point */
    static const char *const fixed[] = {"1.50", "1E3", "15E2", "0.0000123", "-125.0", "0E5"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        assert_canonical(DT_BIGDEC, fixed[i], fixed[i]);
}

static void test_invalid_decimal_text_is_refused_naming_the_text(void **state) {
    (void)state;
    assert_refused(DT_BIGINT, "12x");
    assert_refused(DT_BIGINT, "abc");
    assert_refused(DT_BIGINT, "-");
    assert_refused(DT_BIGINT, "1.5");
    assert_refused(DT_BIGINT, "1e3");
    assert_refused(DT_BIGINT, " 1");
    assert_refused(DT_BIGDEC, "1.2.3");
    assert_refused(DT_BIGDEC, "1e");
    assert_refused(DT_BIGDEC, "e5");
    assert_refused(DT_BIGDEC, ".");
    assert_refused(DT_BIGDEC, "1e99999999");
    assert_refused(DT_BIGDEC, "--1");
    dt_value v;
    assert_int_equal(dt_value_text(DT_BIGINT, "", 0, &v), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "bigint"));
}

static void test_decimal_parts_and_format(void **state) {
    (void)state;
    dl_decimal d;
    assert_int_equal(dl_decimal_parse("-0012.340", 9, 1, &d), DT_OK);
    assert_int_equal(d.neg, 1);
    assert_string_equal(d.digits, "12340");
    assert_int_equal(d.ndigits, 5);
    assert_int_equal(d.scale, 3);
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dl_decimal_format(&d, 0, &b), DT_OK);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.p, "-12.340", 7);
    dl_decimal_release(&d);
    dt_buf_release(&b);
    assert_int_equal(dl_decimal_parse("-000", 4, 0, &d), DT_OK);
    assert_int_equal(d.neg, 0);
    assert_string_equal(d.digits, "0");
    dl_decimal_release(&d);
}

/* }====== */

/* {====== Order ====== */

static void test_types_order_by_dt_type(void **state) {
    (void)state;
    dt_value v[DT_TUPLE + 1];
    uint8_t u[16] = {0};
    dt_value_nil(&v[DT_NIL]);
    dt_value_bool(1, &v[DT_BOOL]);
    dt_value_long(INT64_MAX, &v[DT_LONG]);
    dt_value_double(INFINITY, &v[DT_DOUBLE]);
    dt_value_float(-INFINITY, &v[DT_FLOAT]);
    text(DT_BIGINT, "-99999999999999999999", &v[DT_BIGINT]);
    text(DT_BIGDEC, "1e100", &v[DT_BIGDEC]);
    dt_value_instant(INT64_MIN, &v[DT_INSTANT]);
    text(DT_STRING, "zzz", &v[DT_STRING]);
    text(DT_KEYWORD, "", &v[DT_KEYWORD]);
    text(DT_SYMBOL, "a", &v[DT_SYMBOL]);
    dt_value_uuid(u, &v[DT_UUID]);
    dt_value_ref(-5, &v[DT_REF]);
    text(DT_BYTES, "\xff", &v[DT_BYTES]);
    assert_int_equal(dt_value_seq(DT_TUPLE, 0, &v[DT_TUPLE]), DT_OK);
    assert_ascending(v, DT_TUPLE + 1);
    clear_all(v, DT_TUPLE + 1);
}

static void test_booleans_and_integers_order_naturally(void **state) {
    (void)state;
    dt_value v[6];
    dt_value_bool(0, &v[0]);
    dt_value_bool(1, &v[1]);
    assert_ascending(v, 2);
    int64_t ints[] = {INT64_MIN, -1, 0, 1, 255, INT64_MAX};
    for (dt_type t = DT_LONG; t <= DT_REF; t++) {
        if (t != DT_LONG && t != DT_INSTANT && t != DT_REF) continue;
        for (int i = 0; i < 6; i++) {
            dt_value_long(ints[i], &v[i]);
            v[i].type = t;
        }
        assert_ascending(v, 6);
    }
}

static void test_doubles_order_with_signed_zero_and_nan_last(void **state) {
    (void)state;
    double ds[] = {-INFINITY, -DBL_MAX, -1.0, -DBL_MIN, -4.9e-324, -0.0, 0.0,
                   4.9e-324,  DBL_MIN,  1.0,  DBL_MAX,  INFINITY,  NAN};
    dt_value v[13];
    for (int i = 0; i < 13; i++) dt_value_double(ds[i], &v[i]);
    assert_ascending(v, 13);
    dt_value a, b;
    dt_value_double(NAN, &a);
    dt_value_double(-NAN, &b);
    assert_true(dt_value_equal(&a, &b)); /* all NaNs are equal */
    float fs[] = {-INFINITY, -FLT_MAX, -1.0f,   -FLT_MIN, -0.0f, 0.0f,
                  FLT_MIN,   1.0f,     FLT_MAX, INFINITY, NAN};
    for (int i = 0; i < 11; i++) dt_value_float(fs[i], &v[i]);
    assert_ascending(v, 11);
}

static void test_float_keys_invert_and_order(void **state) {
    (void)state;
    double ds[] = {-INFINITY, -1e300, -1.0, -0.0, 0.0, 5e-324, 1.0, 1e300, INFINITY};
    for (int i = 0; i < 9; i++) {
        double back = dl_double_from_key(dl_double_key(ds[i]));
        assert_memory_equal(&back, &ds[i], sizeof back);
        if (i) assert_true(dl_double_key(ds[i - 1]) < dl_double_key(ds[i]));
    }
    assert_true(dl_double_key(INFINITY) < dl_double_key(NAN));
    assert_true(isnan(dl_double_from_key(dl_double_key(NAN))));
    float fs[] = {-INFINITY, -1.0f, -0.0f, 0.0f, 1e-45f, 1.0f, INFINITY};
    for (int i = 0; i < 7; i++) {
        float back = dl_float_from_key(dl_float_key(fs[i]));
        assert_memory_equal(&back, &fs[i], sizeof back);
        if (i) assert_true(dl_float_key(fs[i - 1]) < dl_float_key(fs[i]));
    }
    assert_true(dl_float_key(INFINITY) < dl_float_key(NAN));
}

static void test_bigints_order_numerically(void **state) {
    (void)state;
    static const char *const s[] = {
        "-100000000000000000000", "-9223372036854775809", "-10", "-9", "-1", "0", "1", "9", "10",
        "9223372036854775808",    "100000000000000000000"};
    dt_value v[11];
    for (int i = 0; i < 11; i++) text(DT_BIGINT, s[i], &v[i]);
    assert_ascending(v, 11);
    clear_all(v, 11);
}

static void test_bigdecs_order_numerically_then_smaller_scale_first(void **state) {
    (void)state;
    static const char *const s[] = {"-10", "-1.5", "-1.50",  "-1.4", "-0.001", "0E5",
                                    "0",   "0.0",  "0.001",  "1.5",  "1.50",   "1.51",
                                    "1E3", "1000", "1000.0", "1e100"};
    dt_value v[16];
    for (int i = 0; i < 16; i++) text(DT_BIGDEC, s[i], &v[i]);
    assert_ascending(v, 16);
    clear_all(v, 16);
}

static void test_text_and_bytes_order_bytewise_shorter_first(void **state) {
    (void)state;
    static const dt_type types[] = {DT_STRING, DT_KEYWORD, DT_SYMBOL, DT_BYTES};
    /* "z" < "é" because UTF-8 byte order is code point order */
    static const char *const s[] = {"",   "\x00", "\x00\x00", "\x01",     "a",   "a\x00",
                                    "ab", "b",    "z",        "\xc3\xa9", "\xff"};
    static const size_t n[] = {0, 1, 2, 1, 1, 2, 2, 1, 1, 2, 1};
    for (size_t t = 0; t < 4; t++) {
        dt_value v[11];
        for (int i = 0; i < 11; i++)
            assert_int_equal(dt_value_text(types[t], s[i], n[i], &v[i]), DT_OK);
        assert_ascending(v, 11);
        clear_all(v, 11);
    }
}

static void test_uuids_order_bytewise(void **state) {
    (void)state;
    dt_value v[3];
    uint8_t u[16] = {0};
    dt_value_uuid(u, &v[0]);
    u[15] = 1;
    dt_value_uuid(u, &v[1]);
    u[0] = 0x80;
    u[15] = 0;
    dt_value_uuid(u, &v[2]);
    assert_ascending(v, 3);
}

static void tuple_of_longs(dt_value *out, size_t n, const int64_t *xs) {
    assert_int_equal(dt_value_seq(DT_TUPLE, n, out), DT_OK);
    for (size_t i = 0; i < n; i++) dt_value_long(xs[i], &out->u.seq.items[i]);
}

static void test_compounds_order_item_by_item_shorter_first(void **state) {
    (void)state;
    const int64_t one[] = {1}, one_two[] = {1, 2}, one_three[] = {1, 3}, two[] = {2};
    dt_value v[6];
    assert_int_equal(dt_value_seq(DT_TUPLE, 0, &v[0]), DT_OK);
    tuple_of_longs(&v[1], 1, one);
    /* [1 []] sorts after [1 3]: items compare by type first, long < tuple */
    tuple_of_longs(&v[2], 2, one_two);
    tuple_of_longs(&v[3], 2, one_three);
    assert_int_equal(dt_value_seq(DT_TUPLE, 2, &v[4]), DT_OK);
    dt_value_long(1, &v[4].u.seq.items[0]);
    tuple_of_longs(&v[4].u.seq.items[1], 0, NULL);
    tuple_of_longs(&v[5], 1, two);
    assert_ascending(v, 6);
    clear_all(v, 6);
    /* lists, vectors, sets, maps compare the same way within their kind */
    dt_value a, b;
    assert_int_equal(dt_value_seq(DT_VECTOR, 1, &a), DT_OK);
    assert_int_equal(dt_value_seq(DT_VECTOR, 2, &b), DT_OK);
    assert_true(dt_value_compare(&a, &b) < 0);
    dt_value_free(&b);
    assert_int_equal(dt_value_seq(DT_LIST, 0, &b), DT_OK);
    assert_true(dt_value_compare(&a, &b) > 0); /* vector after list: by dt_type */
    dt_value_free(&a);
    dt_value_free(&b);
}

static void test_type_names(void **state) {
    (void)state;
    assert_string_equal(dt_type_name(DT_NIL), "nil");
    assert_string_equal(dt_type_name(DT_BOOL), "boolean");
    assert_string_equal(dt_type_name(DT_BIGDEC), "bigdec");
    assert_string_equal(dt_type_name(DT_TUPLE), "tuple");
    assert_string_equal(dt_type_name(DT_TAGGED), "tagged");
    assert_string_equal(dt_type_name((dt_type)99), "unknown");
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_constructors_set_type_and_payload),
        cmocka_unit_test(test_text_constructors_copy_len_bytes_and_terminate),
        cmocka_unit_test(test_seq_constructor_makes_nil_items),
        cmocka_unit_test(test_copy_is_deep_and_clear_frees_everything),
        cmocka_unit_test(test_copy_out_of_memory_leaves_nil_and_leaks_nothing),
        cmocka_unit_test(test_bigint_text_is_canonicalised),
        cmocka_unit_test(test_bigdec_text_is_canonicalised_and_keeps_scale),
        cmocka_unit_test(test_invalid_decimal_text_is_refused_naming_the_text),
        cmocka_unit_test(test_decimal_parts_and_format),
        cmocka_unit_test(test_types_order_by_dt_type),
        cmocka_unit_test(test_booleans_and_integers_order_naturally),
        cmocka_unit_test(test_doubles_order_with_signed_zero_and_nan_last),
        cmocka_unit_test(test_float_keys_invert_and_order),
        cmocka_unit_test(test_bigints_order_numerically),
        cmocka_unit_test(test_bigdecs_order_numerically_then_smaller_scale_first),
        cmocka_unit_test(test_text_and_bytes_order_bytewise_shorter_first),
        cmocka_unit_test(test_uuids_order_bytewise),
        cmocka_unit_test(test_compounds_order_item_by_item_shorter_first),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
