/*
 * test_datalog_codec.c -- property tests of the order-preserving key codec
 * (datalog/codec.c): byte order equals dt_value_compare order, decode
 * inverts encode, encodings are self-delimiting, oversized values become
 * bounded truncated keys, and malformed bytes are refused safely.
 */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "value.h"

#define PAIRS 5000

/* {====== Helpers ====== */

static uint64_t rnd(uint64_t *rng, uint64_t n) { return tu_rand(rng) % n; }

static void hexdump(const char *label, const uint8_t *p, size_t n) {
    fprintf(stderr, "%s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 96; i++) fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, n > 96 ? " ...\n" : "\n");
}

static void show(const char *label, const dt_value *v) {
    dt_buf b = DT_BUF_INIT;
    if (dl_codec_encode(v, &b) == DT_OK)
        hexdump(label, b.p, b.len);
    else
        fprintf(stderr, "%s: (not encodable: %s)\n", label, dt_errmsg(NULL));
    dt_buf_release(&b);
}

/* Full encoding of v in a malloc'd buffer. */
static uint8_t *enc(const dt_value *v, size_t *len) {
    dt_buf b = DT_BUF_INIT;
    int rc = dl_codec_encode(v, &b);
    if (rc != DT_OK) fprintf(stderr, "encode failed: %s\n", dt_errmsg(NULL));
    assert_int_equal(rc, DT_OK);
    *len = b.len;
    return b.p;
}

static int sign(int x) { return (x > 0) - (x < 0); }

/* memcmp order with a shorter prefix first: LMDB's default key order. */
static int keycmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return sign(c);
    return (na > nb) - (na < nb);
}

/* Equal, and doubles/floats bit-exact unless NaN. */
static int same_bits(const dt_value *a, const dt_value *b) {
    if (a->type != b->type) return 0;
    if (a->type == DT_DOUBLE) {
        if (isnan(a->u.d)) return isnan(b->u.d);
        return memcmp(&a->u.d, &b->u.d, sizeof a->u.d) == 0;
    }
    if (a->type == DT_FLOAT) {
        if (isnan(a->u.f)) return isnan(b->u.f);
        return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
    }
    if (a->type == DT_TUPLE) {
        if (a->u.seq.n != b->u.seq.n) return 0;
        for (size_t i = 0; i < a->u.seq.n; i++)
            if (!same_bits(&a->u.seq.items[i], &b->u.seq.items[i])) return 0;
        return 1;
    }
    return dt_value_equal(a, b);
}

/* decode(encode(v)) == v, consumed == length, with trailing bytes too. */
static void check_roundtrip(const dt_value *v) {
    size_t n, used = 99;
    uint8_t *e = enc(v, &n);
    uint8_t *ext = malloc(n + 3);
    assert_non_null(ext);
    memcpy(ext, e, n);
    memcpy(ext + n, "\x00\x01\xff", 3);
    for (int trail = 0; trail < 2; trail++) {
        dt_value d;
        int rc = dl_codec_decode(trail ? ext : e, n + (trail ? 3 : 0), &d, &used);
        if (rc != DT_OK || used != n || !same_bits(v, &d)) {
            show("value", v);
            fprintf(stderr, "rc %d used %zu: %s\n", rc, used, dt_errmsg(NULL));
            fail_msg("round trip failed");
        }
        if (v->type == DT_BIGINT || v->type == DT_BIGDEC) {
            /* decoded text is canonical: what dt_value_text makes of it */
            dt_value canon;
            assert_int_equal(dt_value_text(v->type, v->u.s.ptr, v->u.s.len, &canon), DT_OK);
            assert_int_equal(d.u.s.len, canon.u.s.len);
            assert_memory_equal(d.u.s.ptr, canon.u.s.ptr, canon.u.s.len);
            dt_value_free(&canon);
        }
        dt_value_free(&d);
    }
    size_t len2 = 0;
    assert_int_equal(dl_codec_encoded_len(v, &len2), DT_OK);
    assert_int_equal(len2, n);
    dl_codec_info info;
    assert_int_equal(dl_codec_scan(ext, n + 3, &info), DT_OK);
    assert_int_equal(info.len, n);
    assert_int_equal(info.truncated, 0);
    assert_int_equal(info.type, v->type);
    free(ext);
    free(e);
}

static void check_pair(const dt_value *a, const dt_value *b) {
    size_t na, nb;
    uint8_t *ea = enc(a, &na), *eb = enc(b, &nb);
    int bytes = keycmp(ea, na, eb, nb), values = sign(dt_value_compare(a, b));
    if (bytes != values) {
        show("a", a);
        show("b", b);
        fail_msg("byte order %d but value order %d", bytes, values);
    }
    free(ea);
    free(eb);
}

/* }====== */

/* {====== Generators ====== */

typedef void (*gen_fn)(uint64_t *rng, dt_value *out);

static int64_t gen_i64(uint64_t *rng) {
    static const int64_t specials[] = {
        INT64_MIN, INT64_MIN + 1, -256, -255, -2, -1, 0, 1, 2, 255, 256, INT64_MAX - 1, INT64_MAX};
    switch (rnd(rng, 4)) {
    case 0:
        return specials[rnd(rng, sizeof specials / sizeof *specials)];
    case 1:
        return (int64_t)rnd(rng, 11) - 5;
    case 2:
        return (int64_t)tu_rand(rng);
    default:
        return (int64_t)(tu_rand(rng) >> rnd(rng, 64)) * (rnd(rng, 2) ? 1 : -1);
    }
}

static void gen_long(uint64_t *rng, dt_value *out) { dt_value_long(gen_i64(rng), out); }
static void gen_instant(uint64_t *rng, dt_value *out) { dt_value_instant(gen_i64(rng), out); }
static void gen_ref(uint64_t *rng, dt_value *out) { dt_value_ref(gen_i64(rng), out); }
static void gen_nil(uint64_t *rng, dt_value *out) {
    (void)rng;
    dt_value_nil(out);
}
static void gen_bool(uint64_t *rng, dt_value *out) { dt_value_bool((int)rnd(rng, 2), out); }

static double bits_double(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static float bits_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void gen_double(uint64_t *rng, dt_value *out) {
    static const uint64_t special_bits[] = {
        0x0000000000000000ULL, 0x8000000000000000ULL,                        /* +-0 */
        0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff0000000000001ULL, /* NaNs */
        0xfff0000000000001ULL, 0x7ff4000000000000ULL, 0xffffffffffffffffULL,
        0x7fffffffffffffffULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL, /* +-inf */
        0x0000000000000001ULL, 0x8000000000000001ULL, 0x000fffffffffffffULL, /* denormals */
        0x800fffffffffffffULL, 0x0010000000000000ULL, 0x8010000000000000ULL,
        0x7fefffffffffffffULL, 0xffefffffffffffffULL};
    double d;
    switch (rnd(rng, 5)) {
    case 0:
        d = bits_double(special_bits[rnd(rng, sizeof special_bits / sizeof *special_bits)]);
        break;
    case 1:
        d = (double)((int64_t)rnd(rng, 21) - 10);
        break;
    case 2:
        d = ((double)(int64_t)tu_rand(rng)) / (double)(1 + rnd(rng, 1000));
        break;
    default:
        d = bits_double(tu_rand(rng));
        break;
    }
    dt_value_double(d, out);
}

static void gen_float(uint64_t *rng, dt_value *out) {
    static const uint32_t special_bits[] = {
        0x00000000u, 0x80000000u, 0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u,
        0x7fa00000u, 0xffffffffu, 0x7f800000u, 0xff800000u, 0x00000001u, 0x80000001u,
        0x007fffffu, 0x807fffffu, 0x00800000u, 0x7f7fffffu, 0xff7fffffu};
    float f;
    switch (rnd(rng, 5)) {
    case 0:
        f = bits_float(special_bits[rnd(rng, sizeof special_bits / sizeof *special_bits)]);
        break;
    case 1:
        f = (float)((int)rnd(rng, 21) - 10);
        break;
    case 2:
        f = (float)((double)(int32_t)tu_rand(rng) / (double)(1 + rnd(rng, 1000)));
        break;
    default:
        f = bits_float((uint32_t)tu_rand(rng));
        break;
    }
    dt_value_float(f, out);
}

/* digits from a small alphabet so that pairs share prefixes and zeros */
static size_t gen_digits(uint64_t *rng, char *dst, size_t maxn) {
    static const char alpha[] = "0019";
    size_t n = (size_t)rnd(rng, maxn + 1);
    int wide = rnd(rng, 3) == 0;
    for (size_t i = 0; i < n; i++) dst[i] = wide ? (char)('0' + rnd(rng, 10)) : alpha[rnd(rng, 4)];
    return n;
}

static void make_text(dt_type t, const char *s, size_t n, dt_value *out) {
    int rc = dt_value_text(t, s, n, out);
    if (rc != DT_OK) fprintf(stderr, "make_text \"%.*s\": %s\n", (int)n, s, dt_errmsg(NULL));
    assert_int_equal(rc, DT_OK);
}

static void gen_bigint(uint64_t *rng, dt_value *out) {
    static const char *const specials[] = {
        "0",
        "-0",
        "1",
        "-1",
        "007",
        "-007",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "10",
        "100",
        "99",
        "-99",
        "-100",
        "123456789012345678901234567890123456789012345678901234567890"};
    char buf[200];
    size_t n = 0;
    if (rnd(rng, 4) == 0) {
        const char *s = specials[rnd(rng, sizeof specials / sizeof *specials)];
        make_text(DT_BIGINT, s, strlen(s), out);
        return;
    }
    if (rnd(rng, 2)) buf[n++] = '-';
    size_t nd = gen_digits(rng, buf + n, rnd(rng, 4) ? 22 : 70);
    if (!nd) buf[n + nd++] = (char)('0' + rnd(rng, 10));
    make_text(DT_BIGINT, buf, n + nd, out);
}

static void gen_bigdec(uint64_t *rng, dt_value *out) {
    static const char *const specials[] = {
        "1.5",   "1.50",   "-1.5", "-1.50", "0",     "0.00", "-0.0",  "0E5",  "1e3", "1000",
        "1.0e3", "1000.0", "15E2", "1500",  "0.001", "1e-3", "-1e-3", "9.99", "10.0"};
    char buf[200];
    size_t n = 0;
    if (rnd(rng, 4) == 0) {
        const char *s = specials[rnd(rng, sizeof specials / sizeof *specials)];
        make_text(DT_BIGDEC, s, strlen(s), out);
        return;
    }
    if (rnd(rng, 2)) buf[n++] = '-';
    size_t ni = gen_digits(rng, buf + n, rnd(rng, 4) ? 6 : 40);
    n += ni;
    int frac = (int)rnd(rng, 2);
    if (frac) {
        buf[n++] = '.';
        n += gen_digits(rng, buf + n, 6);
    }
    if (!ni && (!frac || buf[n - 1] == '.')) buf[n++] = '0';
    if (rnd(rng, 3) == 0) n += (size_t)sprintf(buf + n, "e%d", (int)rnd(rng, 25) - 12);
    make_text(DT_BIGDEC, buf, n, out);
}

static void gen_text_of(dt_type t, uint64_t *rng, dt_value *out) {
    static const uint8_t alpha[] = {0x00, 0x01, 'a', 'b', 0x7f, 0xff, 0xc3, 0xa9, 0xfe};
    uint8_t buf[64];
    size_t n = (size_t)rnd(rng, rnd(rng, 5) ? 10 : 64);
    int wide = rnd(rng, 4) == 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = wide ? (uint8_t)tu_rand(rng) : alpha[rnd(rng, sizeof alpha)];
    make_text(t, (const char *)buf, n, out);
}

static void gen_string(uint64_t *rng, dt_value *out) { gen_text_of(DT_STRING, rng, out); }
static void gen_keyword(uint64_t *rng, dt_value *out) { gen_text_of(DT_KEYWORD, rng, out); }
static void gen_symbol(uint64_t *rng, dt_value *out) { gen_text_of(DT_SYMBOL, rng, out); }
static void gen_bytes(uint64_t *rng, dt_value *out) { gen_text_of(DT_BYTES, rng, out); }

static void gen_uuid(uint64_t *rng, dt_value *out) {
    static const uint8_t alpha[] = {0x00, 0x01, 0x80, 0xff};
    uint8_t u[16];
    int wide = rnd(rng, 4) == 0;
    for (int i = 0; i < 16; i++) u[i] = wide ? (uint8_t)tu_rand(rng) : alpha[rnd(rng, 4)];
    dt_value_uuid(u, out);
}

static void gen_any(uint64_t *rng, dt_value *out);

static void gen_tuple_depth(uint64_t *rng, dt_value *out, int depth) {
    size_t n = (size_t)rnd(rng, 5);
    assert_int_equal(dt_value_seq(DT_TUPLE, n, out), DT_OK);
    for (size_t i = 0; i < n; i++) {
        if (depth < 3 && rnd(rng, 5) == 0)
            gen_tuple_depth(rng, &out->u.seq.items[i], depth + 1);
        else
            gen_any(rng, &out->u.seq.items[i]);
    }
}

static void gen_tuple(uint64_t *rng, dt_value *out) { gen_tuple_depth(rng, out, 0); }

/* Scalars of every datom type, drawn from small domains. */
static void gen_any(uint64_t *rng, dt_value *out) {
    static const gen_fn scalars[] = {gen_nil,    gen_bool,   gen_long,    gen_double, gen_float,
                                     gen_bigint, gen_bigdec, gen_instant, gen_string, gen_keyword,
                                     gen_symbol, gen_uuid,   gen_ref,     gen_bytes};
    if (rnd(rng, 10) == 0) {
        gen_tuple_depth(rng, out, 2);
        return;
    }
    scalars[rnd(rng, sizeof scalars / sizeof *scalars)](rng, out);
}

/* A tuple close to a: a copy with its last item dropped, changed, or one
 * item appended, so prefixes and nested prefixes are common. */
static void mutate_tuple(uint64_t *rng, const dt_value *a, dt_value *out) {
    size_t n = a->u.seq.n;
    size_t m = n;
    int how = (int)rnd(rng, 3);
    if (how == 0 && n) m = n - 1;
    if (how == 1) m = n + 1;
    assert_int_equal(dt_value_seq(DT_TUPLE, m, out), DT_OK);
    for (size_t i = 0; i < m && i < n; i++)
        assert_int_equal(dt_value_copy(&a->u.seq.items[i], &out->u.seq.items[i]), DT_OK);
    if (how == 1) gen_any(rng, &out->u.seq.items[n]);
    if (how == 2 && n) {
        dt_value *last = &out->u.seq.items[n - 1];
        if (last->type == DT_TUPLE && rnd(rng, 2)) {
            dt_value inner;
            mutate_tuple(rng, last, &inner);
            dt_value_free(last);
            *last = inner;
        } else {
            dt_value_free(last);
            gen_any(rng, last);
        }
    }
}

/* A bigdec of the same value as a with 1..3 more fraction digits (1.5 ->
 * 1.500, 15E2 -> 1500E0 = 1500), so scale tie-breaks are common. */
static void rescale_bigdec(uint64_t *rng, const dt_value *a, dt_value *out) {
    dl_decimal d;
    assert_int_equal(dl_decimal_parse(a->u.s.ptr, a->u.s.len, 1, &d), DT_OK);
    int more = 1 + (int)rnd(rng, 3);
    int zero = d.ndigits == 1 && d.digits[0] == '0';
    char *digits = malloc(d.ndigits + 4);
    assert_non_null(digits);
    memcpy(digits, d.digits, d.ndigits);
    size_t n = d.ndigits;
    for (int i = 0; i < more && !zero; i++) digits[n++] = '0';
    digits[n] = '\0';
    dl_decimal r = d;
    r.digits = digits;
    r.ndigits = n;
    r.scale = d.scale + more;
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dl_decimal_format(&r, 0, &b), DT_OK);
    make_text(DT_BIGDEC, (const char *)b.p, b.len, out);
    assert_true(dt_value_compare(a, out) < 0);
    dt_buf_release(&b);
    free(digits);
    dl_decimal_release(&d);
}

/* PAIRS pairs from gen (b sometimes a copy of a), checking order and
 * round trip of both. */
static void run_pairs(gen_fn gen, uint64_t seed) {
    uint64_t rng = seed;
    for (int i = 0; i < PAIRS; i++) {
        dt_value a, b;
        gen(&rng, &a);
        int how = (int)rnd(&rng, 8);
        if (how == 0)
            assert_int_equal(dt_value_copy(&a, &b), DT_OK);
        else if (how <= 3 && a.type == DT_TUPLE)
            mutate_tuple(&rng, &a, &b);
        else if (how <= 3 && a.type == DT_BIGDEC)
            rescale_bigdec(&rng, &a, &b);
        else
            gen(&rng, &b);
        check_pair(&a, &b);
        check_pair(&b, &a);
        check_roundtrip(&a);
        check_roundtrip(&b);
        dt_value_free(&a);
        dt_value_free(&b);
    }
}

/* }====== */

/* {====== Order and round trip per type ====== */

static void test_long_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_long, 1);
}
static void test_double_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_double, 2);
}
static void test_float_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_float, 3);
}
static void test_bigint_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_bigint, 4);
}
static void test_bigdec_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_bigdec, 5);
}
static void test_string_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_string, 6);
}
static void test_keyword_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_keyword, 7);
}
static void test_symbol_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_symbol, 8);
}
static void test_bytes_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_bytes, 9);
}
static void test_uuid_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_uuid, 10);
}
static void test_instant_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_instant, 11);
}
static void test_ref_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_ref, 12);
}
static void test_bool_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_bool, 13);
}
static void test_tuple_bytes_order_like_values(void **state) {
    (void)state;
    run_pairs(gen_tuple, 14);
}
static void test_mixed_types_order_by_type_then_value(void **state) {
    (void)state;
    run_pairs(gen_any, 15);
}

static void test_nil_encodes_as_its_tag(void **state) {
    (void)state;
    dt_value v = DT_VALUE_NIL;
    size_t n;
    uint8_t *e = enc(&v, &n);
    assert_int_equal(n, 1);
    assert_int_equal(e[0], 0x10);
    free(e);
    check_roundtrip(&v);
}

static void test_decimal_scale_ties_sort_smaller_scale_first(void **state) {
    (void)state;
    static const char *const ordered[][2] = {
        {"1.5", "1.50"}, {"-1.5", "-1.50"},  {"0", "0.00"},           {"0E5", "0"},
        {"1e3", "1000"}, {"15E2", "1500.0"}, {"-0.0001", "-0.00010"}, {"-1.50", "-1.4"},
        {"9.99", "10.0"}};
    for (size_t i = 0; i < sizeof ordered / sizeof *ordered; i++) {
        dt_value a, b;
        make_text(DT_BIGDEC, ordered[i][0], strlen(ordered[i][0]), &a);
        make_text(DT_BIGDEC, ordered[i][1], strlen(ordered[i][1]), &b);
        assert_true(dt_value_compare(&a, &b) < 0);
        check_pair(&a, &b);
        check_roundtrip(&a);
        check_roundtrip(&b);
        dt_value_free(&a);
        dt_value_free(&b);
    }
    dt_value v;
    make_text(DT_BIGDEC, "1.50", 4, &v);
    size_t n;
    uint8_t *e = enc(&v, &n);
    dt_value d;
    size_t used;
    assert_int_equal(dl_codec_decode(e, n, &d, &used), DT_OK);
    assert_string_equal(d.u.s.ptr, "1.50");
    dt_value_free(&d);
    dt_value_free(&v);
    free(e);
}

static void test_nan_decodes_as_nan_and_negative_zero_stays(void **state) {
    (void)state;
    dt_value a, b, d;
    size_t na, nb, used;
    dt_value_double(bits_double(0xfff0000000000123ULL), &a);
    dt_value_double(NAN, &b);
    uint8_t *ea = enc(&a, &na), *eb = enc(&b, &nb);
    assert_memory_equal(ea, eb, 9); /* every NaN has one encoding */
    assert_int_equal(dl_codec_decode(ea, na, &d, &used), DT_OK);
    assert_true(isnan(d.u.d));
    free(ea);
    free(eb);
    dt_value_double(-0.0, &a);
    ea = enc(&a, &na);
    assert_int_equal(dl_codec_decode(ea, na, &d, &used), DT_OK);
    assert_true(d.u.d == 0.0 && signbit(d.u.d));
    free(ea);
    dt_value_float(-0.0f, &a);
    ea = enc(&a, &na);
    assert_int_equal(dl_codec_decode(ea, na, &d, &used), DT_OK);
    assert_true(d.u.f == 0.0f && signbit(d.u.f));
    free(ea);
}

/* The documented layouts (docs/format.md), byte for byte. */
static void test_encodings_match_the_documented_layout(void **state) {
    (void)state;
    struct {
        dt_type type;
        const char *text;
        size_t n;
        const char *bytes;
        size_t nbytes;
    } cases[] = {
        {DT_STRING, "a\0b", 3,
         "\x18"
         "a\x00\xff"
         "b\x00\x00",
         7},
        {DT_KEYWORD, "", 0, "\x19\x00\x00", 3},
        {DT_BIGINT, "0", 1, "\x15\x02", 2},
        {DT_BIGINT, "120", 3, "\x15\x03\x81\x02\x23\x00", 6},
        {DT_BIGINT, "-12", 3, "\x15\x01\x7e\xfe\xdc\xff", 6},
        {DT_BIGDEC, "1.50", 4, "\x16\x03\x80\x26\x00\x81\x02", 7},
        {DT_BIGDEC, "0.00", 4, "\x16\x02\x81\x02", 4},
        {DT_BIGDEC, "1E3", 3, "\x16\x03\x81\x03\x20\x7e\xfd", 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dt_value v;
        size_t n;
        make_text(cases[i].type, cases[i].text, cases[i].n, &v);
        uint8_t *e = enc(&v, &n);
        if (n != cases[i].nbytes || memcmp(e, cases[i].bytes, n) != 0) {
            hexdump("got", e, n);
            hexdump("want", (const uint8_t *)cases[i].bytes, cases[i].nbytes);
            fail_msg("case %zu", i);
        }
        free(e);
        dt_value_free(&v);
    }
    uint8_t b[DL_CODEC_SCALAR_MAX];
    assert_int_equal(dl_codec_put_int(DT_REF, 1, b), 9);
    assert_memory_equal(b, "\x1c\x80\x00\x00\x00\x00\x00\x00\x01", 9);
    assert_int_equal(dl_codec_get_int(b), 1);
    assert_int_equal(dl_codec_put_int(DT_LONG, -1, b), 9);
    assert_memory_equal(b, "\x12\x7f\xff\xff\xff\xff\xff\xff\xff", 9);
    dt_value v;
    size_t n;
    dt_value_bool(1, &v);
    uint8_t *e = enc(&v, &n);
    assert_memory_equal(e, "\x11\x01", 2);
    free(e);
    dt_value_double(1.0, &v);
    e = enc(&v, &n);
    assert_memory_equal(e, "\x13\xbf\xf0\x00\x00\x00\x00\x00\x00", 9);
    free(e);
    dt_value_float(-1.0f, &v);
    e = enc(&v, &n);
    assert_memory_equal(e, "\x14\x40\x7f\xff\xff", 5);
    free(e);
    assert_int_equal(dt_value_seq(DT_TUPLE, 2, &v), DT_OK);
    dt_value_long(0, &v.u.seq.items[0]);
    e = enc(&v, &n);
    assert_memory_equal(e, "\x1e\x12\x80\x00\x00\x00\x00\x00\x00\x00\x10\x00", 12);
    free(e);
    dt_value_free(&v);
}

/* }====== */

/* {====== Self-delimiting ====== */

static void test_concatenated_keys_order_by_first_value(void **state) {
    (void)state;
    uint64_t rng = 77;
    for (int i = 0; i < PAIRS; i++) {
        dt_value a, b, e1, e2;
        gen_any(&rng, &a);
        if (rnd(&rng, 3) == 0)
            assert_int_equal(dt_value_copy(&a, &b), DT_OK);
        else if (a.type == DT_TUPLE)
            mutate_tuple(&rng, &a, &b);
        else
            gen_any(&rng, &b);
        gen_any(&rng, &e1);
        gen_any(&rng, &e2);
        dt_buf ka = DT_BUF_INIT, kb = DT_BUF_INIT;
        assert_int_equal(dl_codec_encode(&a, &ka), DT_OK);
        size_t alen = ka.len;
        assert_int_equal(dl_codec_encode(&e1, &ka), DT_OK);
        assert_int_equal(dl_codec_encode(&b, &kb), DT_OK);
        assert_int_equal(dl_codec_encode(&e2, &kb), DT_OK);
        int want = sign(dt_value_compare(&a, &b));
        if (!want) want = sign(dt_value_compare(&e1, &e2));
        assert_int_equal(keycmp(ka.p, ka.len, kb.p, kb.len), want);
        /* and a decoder finds where a ends */
        dt_value d;
        size_t used;
        assert_int_equal(dl_codec_decode(ka.p, ka.len, &d, &used), DT_OK);
        assert_int_equal(used, alen);
        assert_true(same_bits(&d, &a));
        dt_value_free(&d);
        dt_buf_release(&ka);
        dt_buf_release(&kb);
        dt_value_free(&a);
        dt_value_free(&b);
        dt_value_free(&e1);
        dt_value_free(&e2);
    }
}

/* }====== */

/* {====== Truncated keys ====== */

#define MAX_KEY 480

static void long_text(dt_type t, size_t n, uint8_t fill, size_t pos, uint8_t at, dt_value *out) {
    uint8_t *s = malloc(n ? n : 1);
    assert_non_null(s);
    memset(s, fill, n);
    if (pos < n) s[pos] = at;
    make_text(t, (const char *)s, n, out);
    free(s);
}

static uint8_t *key_of(const dt_value *v, size_t *len, int *truncated) {
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dl_codec_encode_key(v, MAX_KEY, &b, truncated), DT_OK);
    assert_true(b.len <= MAX_KEY);
    *len = b.len;
    return b.p;
}

/* A key followed by an entity id still parses: scan/decode stop at its end. */
static void check_key_delimits(const uint8_t *k, size_t n, int truncated) {
    uint8_t *ext = malloc(n + 9);
    assert_non_null(ext);
    memcpy(ext, k, n);
    dl_codec_put_int(DT_REF, 42, ext + n);
    dl_codec_info info;
    assert_int_equal(dl_codec_scan(ext, n + 9, &info), DT_OK);
    assert_int_equal(info.len, n);
    assert_int_equal(info.truncated, truncated);
    assert_int_equal(dl_codec_is_truncated(ext, n + 9), truncated);
    dt_value d;
    size_t used = 0;
    assert_int_equal(dl_codec_decode(ext, n + 9, &d, &used), truncated ? DT_NOTFOUND : DT_OK);
    assert_int_equal(used, n);
    if (truncated) {
        assert_int_equal(d.type, DT_NIL);
        assert_true(info.prefix_len < n);
        size_t marker = n - info.prefix_len - DL_CODEC_HASH_LEN;
        assert_true(marker == 1 || marker == 2);
    }
    dt_value_free(&d);
    assert_int_equal(dl_codec_get_int(ext + n), 42);
    free(ext);
}

static void test_equal_long_strings_give_equal_truncated_keys(void **state) {
    (void)state;
    dt_value a, b;
    long_text(DT_STRING, 2000, 'x', 1500, 0, &a);
    long_text(DT_STRING, 2000, 'x', 1500, 0, &b);
    size_t na, nb;
    int ta, tb;
    uint8_t *ka = key_of(&a, &na, &ta), *kb = key_of(&b, &nb, &tb);
    assert_true(ta && tb);
    assert_int_equal(na, nb);
    assert_memory_equal(ka, kb, na);
    check_key_delimits(ka, na, 1);
    dl_codec_info info;
    assert_int_equal(dl_codec_scan(ka, na, &info), DT_OK);
    size_t fn;
    uint8_t *full = enc(&a, &fn);
    assert_true(info.hash == dl_codec_hash(full, fn));
    assert_memory_equal(ka, full, info.prefix_len);
    assert_int_equal(info.type, DT_STRING);
    free(full);
    free(ka);
    free(kb);
    dt_value_free(&a);
    dt_value_free(&b);
}

static void test_long_strings_sharing_a_prefix_give_different_keys(void **state) {
    (void)state;
    static const dt_type types[] = {DT_STRING, DT_KEYWORD, DT_SYMBOL, DT_BYTES};
    for (size_t t = 0; t < 4; t++) {
        dt_value a, b, c;
        long_text(types[t], 900, 'q', 700, 'a', &a);
        long_text(types[t], 900, 'q', 700, 'b', &b);
        long_text(types[t], 601, 'q', 600, 0, &c);
        size_t na, nb, nc;
        int ta, tb, tc;
        uint8_t *ka = key_of(&a, &na, &ta), *kb = key_of(&b, &nb, &tb), *kc = key_of(&c, &nc, &tc);
        assert_true(ta && tb && tc);
        assert_true(keycmp(ka, na, kb, nb) != 0);
        assert_true(keycmp(ka, na, kc, nc) != 0);
        assert_true(keycmp(kb, nb, kc, nc) != 0);
        check_key_delimits(ka, na, 1);
        check_key_delimits(kb, nb, 1);
        check_key_delimits(kc, nc, 1);
        /* a short value still orders against them by its bytes */
        dt_value s;
        size_t ns;
        int ts;
        long_text(types[t], 3, 'r', 9, 0, &s);
        uint8_t *ks = key_of(&s, &ns, &ts);
        assert_false(ts);
        assert_true(keycmp(ka, na, ks, ns) < 0);
        check_key_delimits(ks, ns, 0);
        free(ka);
        free(kb);
        free(kc);
        free(ks);
        dt_value_free(&a);
        dt_value_free(&b);
        dt_value_free(&c);
        dt_value_free(&s);
    }
}

/* Giant values of several shapes: keys fit, delimit, and keep order
 * wherever the two full encodings differ inside both kept prefixes. */
static void gen_giant(uint64_t *rng, dt_value *out) {
    char *buf = malloc(1400);
    assert_non_null(buf);
    size_t n = 0;
    int kind = (int)rnd(rng, 5);
    if (kind <= 1) { /* text around the limit with shared prefixes */
        n = 400 + (size_t)rnd(rng, 700);
        for (size_t i = 0; i < n; i++) buf[i] = rnd(rng, 50) ? 'k' : (char)rnd(rng, 3);
        make_text(kind ? DT_BYTES : DT_STRING, buf, n, out);
    } else if (kind == 2) { /* huge bigints and bigdecs */
        dt_type t = rnd(rng, 2) ? DT_BIGINT : DT_BIGDEC;
        if (rnd(rng, 2)) buf[n++] = '-';
        size_t nd = 800 + (size_t)rnd(rng, 400);
        buf[n++] = '1';
        for (size_t i = 1; i < nd; i++) buf[n++] = rnd(rng, 40) ? '5' : (char)('0' + rnd(rng, 10));
        if (t == DT_BIGDEC && rnd(rng, 2)) n += (size_t)sprintf(buf + n, ".%d", (int)rnd(rng, 100));
        make_text(t, buf, n, out);
    } else { /* tuples holding long text, numbers, nested tuples */
        size_t items = 1 + (size_t)rnd(rng, 4);
        assert_int_equal(dt_value_seq(DT_TUPLE, items, out), DT_OK);
        for (size_t i = 0; i < items; i++) {
            int k = (int)rnd(rng, 4);
            if (k == 0) {
                size_t m = (size_t)rnd(rng, 500);
                memset(buf, 'z', m);
                if (m && rnd(rng, 2)) buf[rnd(rng, m)] = 'a';
                make_text(DT_STRING, buf, m, &out->u.seq.items[i]);
            } else if (k == 1) {
                dt_value_long((int64_t)rnd(rng, 3), &out->u.seq.items[i]);
            } else if (k == 2) {
                gen_giant(rng, &out->u.seq.items[i]);
            } else {
                gen_any(rng, &out->u.seq.items[i]);
            }
        }
    }
    free(buf);
}

static void test_truncated_keys_fit_delimit_and_keep_prefix_order(void **state) {
    (void)state;
    uint64_t rng = 4242;
    int truncations = 0;
    for (int i = 0; i < 600; i++) {
        dt_value a, b;
        gen_giant(&rng, &a);
        if (rnd(&rng, 4) == 0)
            assert_int_equal(dt_value_copy(&a, &b), DT_OK);
        else
            gen_giant(&rng, &b);
        size_t na, nb, fa, fb;
        int ta, tb;
        uint8_t *ka = key_of(&a, &na, &ta), *kb = key_of(&b, &nb, &tb);
        uint8_t *ea = enc(&a, &fa), *eb = enc(&b, &fb);
        truncations += ta + tb;
        assert_int_equal(ta, fa > MAX_KEY);
        check_key_delimits(ka, na, ta);
        check_key_delimits(kb, nb, tb);
        dl_codec_info ia, ib;
        assert_int_equal(dl_codec_scan(ka, na, &ia), DT_OK);
        assert_int_equal(dl_codec_scan(kb, nb, &ib), DT_OK);
        size_t keep_a = ta ? ia.prefix_len : fa, keep_b = tb ? ib.prefix_len : fb;
        if (ta) assert_memory_equal(ka, ea, keep_a);
        int c = sign(dt_value_compare(&a, &b));
        assert_int_equal(keycmp(ka, na, kb, nb) == 0, c == 0);
        size_t d = 0;
        while (d < fa && d < fb && ea[d] == eb[d]) d++;
        if (c != 0 && d < keep_a && d < keep_b) assert_int_equal(keycmp(ka, na, kb, nb), c);
        free(ka);
        free(kb);
        free(ea);
        free(eb);
        dt_value_free(&a);
        dt_value_free(&b);
    }
    assert_true(truncations > 300);
}

static void test_encode_key_refuses_tiny_limits(void **state) {
    (void)state;
    dt_value v;
    dt_buf b = DT_BUF_INIT;
    int t = 7;
    dt_value_long(1, &v);
    assert_int_equal(dl_codec_encode_key(&v, DL_CODEC_MIN_KEY - 1, &b, &t), DT_MISUSE);
    assert_int_equal(t, 0);
    assert_int_equal(dl_codec_encode_key(&v, DL_CODEC_MIN_KEY, &b, &t), DT_OK);
    assert_int_equal(b.len, 9);
    dt_buf_release(&b);
    /* at the minimum limit every shape still truncates safely */
    uint64_t rng = 9;
    for (int i = 0; i < 200; i++) {
        dt_value g;
        gen_giant(&rng, &g);
        assert_int_equal(dl_codec_encode_key(&g, DL_CODEC_MIN_KEY, &b, &t), DT_OK);
        assert_true(b.len <= DL_CODEC_MIN_KEY);
        check_key_delimits(b.p, b.len, t);
        b.len = 0;
        dt_value_free(&g);
    }
    dt_buf_release(&b);
}

/* }====== */

/* {====== Refusals and malformed input ====== */

static void test_edn_only_kinds_are_refused_with_their_name(void **state) {
    (void)state;
    static const dt_type kinds[] = {DT_LIST, DT_VECTOR, DT_SET, DT_MAP, DT_TAGGED};
    dt_buf b = DT_BUF_INIT;
    dt_value v;
    dt_value_char('x', &v);
    assert_int_equal(dl_codec_encode(&v, &b), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "char"));
    assert_int_equal(b.len, 0);
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        assert_int_equal(dt_value_seq(kinds[i], 0, &v), DT_OK);
        assert_int_equal(dl_codec_encode(&v, &b), DT_INVALID);
        assert_non_null(strstr(dt_errmsg(NULL), dt_type_name(kinds[i])));
        dt_value_free(&v);
    }
    /* inside a tuple too, and nothing is left in the buffer */
    assert_int_equal(dt_value_seq(DT_TUPLE, 2, &v), DT_OK);
    dt_value_long(5, &v.u.seq.items[0]);
    assert_int_equal(dt_value_seq(DT_SET, 0, &v.u.seq.items[1]), DT_OK);
    assert_int_equal(dl_codec_encode(&v, &b), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "set"));
    assert_int_equal(b.len, 0);
    dt_value_free(&v);
    dt_buf_release(&b);
}

static void test_tuples_nested_too_deep_are_refused(void **state) {
    (void)state;
    dt_value root;
    dt_value *cur = &root;
    for (int d = 0; d <= DL_CODEC_MAX_DEPTH; d++) {
        assert_int_equal(dt_value_seq(DT_TUPLE, 1, cur), DT_OK);
        cur = &cur->u.seq.items[0];
    }
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dl_codec_encode(&root, &b), DT_LIMIT);
    /* one level less is fine */
    dt_value *inner = &root.u.seq.items[0];
    assert_int_equal(dl_codec_encode(inner, &b), DT_OK);
    check_roundtrip(inner);
    dt_buf_release(&b);
    dt_value_free(&root);
    /* a decoder facing deep nesting refuses it */
    uint8_t deep[200];
    memset(deep, DL_CODEC_TAG(DT_TUPLE), sizeof deep);
    dt_value d;
    size_t used;
    assert_int_equal(dl_codec_decode(deep, sizeof deep, &d, &used), DT_CORRUPT);
}

static void test_every_proper_prefix_of_an_encoding_is_corrupt(void **state) {
    (void)state;
    uint64_t rng = 31337;
    for (int i = 0; i < 1500; i++) {
        dt_value v;
        if (i % 10 == 0)
            gen_giant(&rng, &v);
        else
            gen_any(&rng, &v);
        dt_buf b = DT_BUF_INIT;
        int trunc = 0;
        if (i % 10 == 0)
            assert_int_equal(dl_codec_encode_key(&v, MAX_KEY, &b, &trunc), DT_OK);
        else
            assert_int_equal(dl_codec_encode(&v, &b), DT_OK);
        for (size_t n = 0; n < b.len; n++) {
            /* a copy of exactly n bytes, so ASan sees any overread */
            uint8_t *p = malloc(n ? n : 1);
            assert_non_null(p);
            memcpy(p, b.p, n);
            dt_value d;
            size_t used = 7;
            int rc = dl_codec_decode(p, n, &d, &used);
            if (rc != DT_CORRUPT) {
                hexdump("prefix", p, n);
                fail_msg("prefix of %zu/%zu bytes gave %d", n, b.len, rc);
            }
            assert_int_equal(used, 0);
            assert_int_equal(d.type, DT_NIL);
            assert_false(dl_codec_is_truncated(p, n));
            free(p);
        }
        dt_buf_release(&b);
        dt_value_free(&v);
    }
}

/* Bytes that decode are canonical: re-encoding gives them back. */
/* An allocator for dl_codec_decode_in that keeps its blocks until
 * test_alloc_free (as an arena) and fails after `budget` blocks. */
typedef struct test_alloc {
    void *blk[1024];
    size_t n, budget;
} test_alloc;

static void *test_alloc_fn(void *ctx, size_t n) {
    test_alloc *t = ctx;
    if (t->n >= t->budget || t->n == sizeof t->blk / sizeof t->blk[0]) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) t->blk[t->n++] = p;
    return p;
}

static void test_alloc_free(test_alloc *t) {
    while (t->n) free(t->blk[--t->n]);
}

/* dl_codec_decode_in through an allocator agrees with dl_codec_decode:
 * the same result, length and value. */
static void check_decode_in(const uint8_t *p, size_t n, int rc, size_t used, const dt_value *d) {
    static test_alloc t;
    t.n = 0;
    t.budget = (size_t)-1;
    dl_alloc al = {test_alloc_fn, &t};
    dt_value w;
    size_t wused = 0;
    int wrc = dl_codec_decode_in(p, n, &al, &w, &wused);
    if (wrc == DT_NOMEM && t.n == sizeof t.blk / sizeof t.blk[0]) { /* too many parts */
        test_alloc_free(&t);
        return;
    }
    assert_int_equal(wrc, rc);
    assert_int_equal(wused, used);
    if (rc == DT_OK && !dt_value_equal(d, &w)) {
        show("decode", d);
        show("decode_in", &w);
        fail_msg("dl_codec_decode_in gave another value");
    }
    if (rc != DT_OK) assert_int_equal(w.type, DT_NIL);
    test_alloc_free(&t);
}

/* Vectors (at any depth) become tuples: the codec's compound. */
static void to_tuples(dt_value *v) {
    if (v->type != DT_VECTOR) return;
    v->type = DT_TUPLE;
    for (size_t i = 0; i < v->u.seq.n; i++) to_tuples(&v->u.seq.items[i]);
}

/* Decoding into an allocator: the value borrows its memory; an allocator
 * that fails gives DT_NOMEM and a nil value at every step (the fast paths
 * of ids and texts, escapes, decimals, nested tuples). */
static void test_decode_in_an_allocator(void **state) {
    (void)state;
    const char *edn[] = {"42",   "-7",   "#inst \"2020-01-01T00:00:00Z\"",  "\"plain\"", ":kw/name",
                         "sym",  "\"\"", "123456789012345678901234567890N", "3.25M",     "1.5",
                         "true", "nil",  "[1 \"a\" [:b [2.5M \"c\"]]]"};
    for (size_t i = 0; i < sizeof edn / sizeof edn[0] + 1; i++) {
        dt_value v = DT_VALUE_NIL;
        if (i < sizeof edn / sizeof edn[0]) {
            assert_int_equal(dt_edn_read(edn[i], strlen(edn[i]), &v), DT_OK);
            to_tuples(&v);
        } else { /* a text with an escaped NUL: the general path */
            assert_int_equal(dt_value_text(DT_STRING, "a\0b", 3, &v), DT_OK);
        }
        size_t len;
        uint8_t *e = enc(&v, &len);
        check_decode_in(e, len, DT_OK, len, &v);
        /* every allocation failing in turn */
        for (size_t budget = 0;; budget++) {
            test_alloc t = {.budget = budget};
            dl_alloc al = {test_alloc_fn, &t};
            dt_value w;
            size_t used = 0;
            int rc = dl_codec_decode_in(e, len, &al, &w, &used);
            if (rc == DT_OK) {
                assert_true(dt_value_equal(&v, &w));
                test_alloc_free(&t);
                break;
            }
            assert_int_equal(rc, DT_NOMEM);
            assert_int_equal(w.type, DT_NIL);
            assert_int_equal(used, 0);
            test_alloc_free(&t);
            assert_true(budget < 16);
        }
        free(e);
        dt_value_free(&v);
    }
}

static void check_arbitrary_bytes(const uint8_t *p, size_t n) {
    dt_value d;
    size_t used = 0;
    int rc = dl_codec_decode(p, n, &d, &used);
    check_decode_in(p, n, rc, used, &d);
    assert_true(rc == DT_OK || rc == DT_CORRUPT || rc == DT_NOTFOUND);
    dl_codec_info info;
    int src = dl_codec_scan(p, n, &info);
    if (rc == DT_CORRUPT) {
        assert_int_equal(src, DT_CORRUPT);
        assert_non_null(strstr(dt_errmsg(NULL), "byte"));
        return;
    }
    assert_int_equal(src, DT_OK);
    assert_int_equal(info.len, used);
    assert_int_equal(info.truncated, rc == DT_NOTFOUND);
    if (rc == DT_OK) {
        size_t m;
        uint8_t *e = enc(&d, &m);
        if (m != used || memcmp(e, p, m) != 0) {
            hexdump("input", p, used);
            hexdump("re-encoded", e, m);
            fail_msg("decoded bytes are not canonical");
        }
        free(e);
        dt_value_free(&d);
    }
}

static void test_random_and_mutated_bytes_never_crash(void **state) {
    (void)state;
    uint64_t rng = 2024;
    for (int i = 0; i < 60000; i++) {
        size_t n = (size_t)rnd(&rng, 40);
        uint8_t *p = malloc(n ? n : 1);
        assert_non_null(p);
        for (size_t k = 0; k < n; k++) p[k] = (uint8_t)tu_rand(&rng);
        if (n && rnd(&rng, 2)) p[0] = (uint8_t)(DL_CODEC_TAG_MIN + rnd(&rng, 15));
        check_arbitrary_bytes(p, n);
        free(p);
    }
    for (int i = 0; i < 30000; i++) {
        dt_value v;
        if (i % 8 == 0)
            gen_giant(&rng, &v);
        else
            gen_any(&rng, &v);
        dt_buf b = DT_BUF_INIT;
        int trunc;
        assert_int_equal(dl_codec_encode_key(&v, MAX_KEY, &b, &trunc), DT_OK);
        int edits = 1 + (int)rnd(&rng, 3);
        for (int k = 0; k < edits && b.len; k++) {
            size_t at = (size_t)rnd(&rng, b.len);
            switch (rnd(&rng, 4)) {
            case 0:
                b.p[at] = (uint8_t)tu_rand(&rng);
                break;
            case 1:
                b.p[at] ^= (uint8_t)(1u << rnd(&rng, 8));
                break;
            case 2:
                b.len = at;
                break;
            default:
                b.p[at] = (uint8_t)(rnd(&rng, 2) ? 0x00 : 0xff);
                break;
            }
        }
        uint8_t *p = malloc(b.len ? b.len : 1);
        assert_non_null(p);
        memcpy(p, b.p, b.len);
        check_arbitrary_bytes(p, b.len);
        free(p);
        dt_buf_release(&b);
        dt_value_free(&v);
    }
}

static void test_corrupt_messages_name_position_and_tag(void **state) {
    (void)state;
    dt_value d;
    size_t used;
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x18"
                                                      "abc",
                                     4, &d, &used),
                     DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "unterminated text at byte 4"));
    assert_non_null(strstr(dt_errmsg(NULL), "string"));
    assert_non_null(strstr(dt_errmsg(NULL), "0x18"));
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x1e\x12\x00", 3, &d, &used), DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "at byte 2"));
    assert_non_null(strstr(dt_errmsg(NULL), "long"));
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x05", 1, &d, &used), DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "invalid tag 0x05 at byte 0"));
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x18"
                                                      "a\x00\x07",
                                     4, &d, &used),
                     DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "escape"));
    /* non-canonical forms are refused, so equal values have equal bytes */
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x15\x03\x81\x00\x20", 5, &d, &used),
                     DT_CORRUPT); /* exponent 0 written with a byte */
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x15\x03\x81\x01\x21\x00", 6, &d, &used),
                     DT_CORRUPT); /* "10" with the trailing zero in the mantissa */
    assert_int_equal(dl_codec_decode((const uint8_t *)"\x11\x02", 2, &d, &used), DT_CORRUPT);
    assert_int_equal(dl_codec_decode(NULL, 0, &d, &used), DT_CORRUPT);
}

/* }====== */

/* {====== Public API ====== */

static void test_public_encode_decode_round_trip(void **state) {
    (void)state;
    uint64_t rng = 555;
    for (int i = 0; i < 500; i++) {
        dt_value v, d;
        gen_any(&rng, &v);
        void *p = NULL;
        size_t n = 0, used = 0, need = 0;
        assert_int_equal(dt_value_encode(&v, &p, &n), DT_OK);
        assert_int_equal(dt_value_encode_to(&v, NULL, 0, &need), DT_LIMIT);
        assert_int_equal(need, n);
        uint8_t *q = malloc(n);
        assert_non_null(q);
        assert_int_equal(dt_value_encode_to(&v, q, n, &need), DT_OK);
        assert_memory_equal(p, q, n);
        assert_int_equal(dt_value_decode(q, n, &d, &used), DT_OK);
        assert_int_equal(used, n);
        assert_true(same_bits(&v, &d));
        dt_value_free(&d);
        assert_int_equal(dt_value_decode(q, n, &d, NULL), DT_OK);
        dt_value_free(&d);
        dt_free(p);
        free(q);
        dt_value_free(&v);
    }
}

static void test_public_api_reports_misuse_and_truncated_keys(void **state) {
    (void)state;
    dt_value v, d;
    void *p = (void *)1;
    size_t n = 5;
    dt_value_long(3, &v);
    assert_int_equal(dt_value_encode(NULL, &p, &n), DT_MISUSE);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_int_equal(dt_value_encode(&v, NULL, &n), DT_MISUSE);
    assert_int_equal(dt_value_encode_to(&v, NULL, 4, &n), DT_MISUSE);
    assert_int_equal(dt_value_decode("x", 1, NULL, &n), DT_MISUSE);
    assert_int_equal(dt_value_decode(NULL, 3, &d, &n), DT_MISUSE);
    dt_value_char('c', &v);
    assert_int_equal(dt_value_encode(&v, &p, &n), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "char"));
    long_text(DT_STRING, 1000, 'w', 0, 'w', &v);
    dt_buf b = DT_BUF_INIT;
    int t;
    assert_int_equal(dl_codec_encode_key(&v, MAX_KEY, &b, &t), DT_OK);
    assert_int_equal(dt_value_decode(b.p, b.len, &d, &n), DT_NOTFOUND);
    assert_int_equal(n, b.len);
    assert_int_equal(d.type, DT_NIL);
    assert_non_null(strstr(dt_errmsg(NULL), "truncated"));
    dt_buf_release(&b);
    dt_value_free(&v);
}

/* }====== */

/* Found by fuzz_codec (tests/fuzz/regressions/codec): 13 bytes whose
 * exponent says 15,460,868 digits.  A valid bigint; it decodes (the zeros
 * in one fill, not a call per digit) and encodes back to the same bytes. */
static void test_short_key_with_a_huge_exponent(void **state) {
    (void)state;
    static const uint8_t key[] = {0x15, 0x03, 0x83, 0xeb, 0xea, 0x03, 0x83,
                                  0x16, 0x45, 0x67, 0x23, 0x89, 0x00};
    dt_value v;
    size_t used = 0;
    assert_int_equal(dl_codec_decode(key, sizeof key, &v, &used), DT_OK);
    assert_int_equal(used, sizeof key);
    assert_int_equal(v.type, DT_BIGINT);
    assert_int_equal(v.u.s.len, 15460868);
    assert_memory_equal(v.u.s.ptr, "720534561278", 12);
    for (size_t i = 12; i < v.u.s.len; i++)
        if (v.u.s.ptr[i] != '0') fail_msg("digit %zu is '%c'", i, v.u.s.ptr[i]);
    dt_buf enc = DT_BUF_INIT;
    assert_int_equal(dl_codec_encode(&v, &enc), DT_OK);
    assert_int_equal(enc.len, sizeof key);
    assert_memory_equal(enc.p, key, sizeof key);
    dt_buf_release(&enc);
    dt_value_free(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_bytes_order_like_values),
        cmocka_unit_test(test_double_bytes_order_like_values),
        cmocka_unit_test(test_float_bytes_order_like_values),
        cmocka_unit_test(test_bigint_bytes_order_like_values),
        cmocka_unit_test(test_bigdec_bytes_order_like_values),
        cmocka_unit_test(test_string_bytes_order_like_values),
        cmocka_unit_test(test_keyword_bytes_order_like_values),
        cmocka_unit_test(test_symbol_bytes_order_like_values),
        cmocka_unit_test(test_bytes_bytes_order_like_values),
        cmocka_unit_test(test_uuid_bytes_order_like_values),
        cmocka_unit_test(test_instant_bytes_order_like_values),
        cmocka_unit_test(test_ref_bytes_order_like_values),
        cmocka_unit_test(test_bool_bytes_order_like_values),
        cmocka_unit_test(test_tuple_bytes_order_like_values),
        cmocka_unit_test(test_mixed_types_order_by_type_then_value),
        cmocka_unit_test(test_nil_encodes_as_its_tag),
        cmocka_unit_test(test_decimal_scale_ties_sort_smaller_scale_first),
        cmocka_unit_test(test_nan_decodes_as_nan_and_negative_zero_stays),
        cmocka_unit_test(test_encodings_match_the_documented_layout),
        cmocka_unit_test(test_concatenated_keys_order_by_first_value),
        cmocka_unit_test(test_equal_long_strings_give_equal_truncated_keys),
        cmocka_unit_test(test_long_strings_sharing_a_prefix_give_different_keys),
        cmocka_unit_test(test_truncated_keys_fit_delimit_and_keep_prefix_order),
        cmocka_unit_test(test_encode_key_refuses_tiny_limits),
        cmocka_unit_test(test_edn_only_kinds_are_refused_with_their_name),
        cmocka_unit_test(test_tuples_nested_too_deep_are_refused),
        cmocka_unit_test(test_every_proper_prefix_of_an_encoding_is_corrupt),
        cmocka_unit_test(test_random_and_mutated_bytes_never_crash),
        cmocka_unit_test(test_corrupt_messages_name_position_and_tag),
        cmocka_unit_test(test_public_encode_decode_round_trip),
        cmocka_unit_test(test_decode_in_an_allocator),
        cmocka_unit_test(test_public_api_reports_misuse_and_truncated_keys),
        cmocka_unit_test(test_short_key_with_a_huge_exponent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
