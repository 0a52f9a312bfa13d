/* test_datalog_msgpack.c -- the msgpack wire format: exact round trips of
 * every type, stable bytes, and hostile input that must never crash. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "edn_testgen.h"
#include "testutil.h"

/* {====== Helpers ====== */

static dt_value edn(const char *text) {
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.keep_unknown_tags = 1;
    dt_value v;
    if (dt_edn_read_opts(text, strlen(text), &o, &v) != DT_OK)
        fail_msg("<%s>: %s", text, dt_errmsg(NULL));
    return v;
}

/* Decodes from an exactly-sized heap copy so ASan sees any over-read. */
static int decode(const uint8_t *bytes, size_t len, dt_value *out, size_t *consumed) {
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, bytes, len);
    int rc = dt_msgpack_decode(copy, len, out, consumed);
    free(copy);
    return rc;
}

static void roundtrip(const dt_value *v) {
    void *bytes;
    size_t len;
    int rc = dt_msgpack_encode(v, &bytes, &len);
    if (rc != DT_OK) fail_msg("encode: rc %d: %s", rc, dt_errmsg(NULL));
    dt_value back;
    size_t used = 0;
    rc = decode(bytes, len, &back, &used);
    if (rc != DT_OK) fail_msg("decode: rc %d: %s", rc, dt_errmsg(NULL));
    assert_int_equal(used, len);
    if (back.type != v->type || !dt_value_equal(v, &back)) {
        char *s = NULL;
        dt_edn_write(v, 0, &s, NULL);
        fail_msg("msgpack round trip changed %s", s ? s : "?");
    }
    dt_value_free(&back);
    dt_free(bytes);
}

static void expect_bytes(const dt_value *v, const char *hex) {
    void *bytes;
    size_t len;
    assert_int_equal(dt_msgpack_encode(v, &bytes, &len), DT_OK);
    char got[1024];
    size_t k = 0;
    for (size_t i = 0; i < len && k + 3 < sizeof got; i++)
        k += (size_t)snprintf(got + k, sizeof got - k, "%s%02x", i ? " " : "",
                              ((uint8_t *)bytes)[i]);
    got[k] = '\0';
    if (strcmp(got, hex)) fail_msg("encoded <%s>, want <%s>", got, hex);
    dt_free(bytes);
    roundtrip(v);
}

static void expect_edn_bytes(const char *text, const char *hex) {
    dt_value v = edn(text);
    expect_bytes(&v, hex);
    dt_value_free(&v);
}

/* Parses "c0 91 ..." into buf; returns the length. */
static size_t unhex(const char *hex, uint8_t *buf) {
    size_t n = 0;
    unsigned x;
    int used;
    while (sscanf(hex, " %2x%n", &x, &used) == 1) {
        buf[n++] = (uint8_t)x;
        hex += used;
    }
    return n;
}

static void expect_corrupt(const char *hex, const char *msg_part) {
    uint8_t buf[256];
    size_t n = unhex(hex, buf);
    dt_value v;
    int rc = decode(buf, n, &v, NULL);
    if (rc != DT_CORRUPT || !strstr(dt_errmsg(NULL), msg_part))
        fail_msg("<%s>: rc %d, message \"%s\", want \"%s\"", hex, rc, dt_errmsg(NULL), msg_part);
    assert_int_equal(v.type, DT_NIL);
}

/* }====== */

static void test_encodes_stable_bytes_for_every_type(void **state) {
    (void)state;
    expect_edn_bytes("nil", "c0");
    expect_edn_bytes("[true false]", "92 c3 c2");
    expect_edn_bytes("[0 127 128 -1 -32 -33 65536]", "97 00 7f cc 80 ff e0 d0 df ce 00 01 00 00");
    expect_edn_bytes("-9223372036854775808", "d3 80 00 00 00 00 00 00 00");
    expect_edn_bytes("1.5", "cb 3f f8 00 00 00 00 00 00");
    expect_edn_bytes("\"hi\"", "a2 68 69");
    expect_edn_bytes("{:a 1}", "81 d4 01 61 01");
    expect_edn_bytes(":ab", "d5 01 61 62");
    expect_edn_bytes(":abc", "c7 03 01 61 62 63");
    expect_edn_bytes("?x", "d5 02 3f 78");
    expect_edn_bytes("#uuid \"00112233-4455-6677-8899-aabbccddeeff\"",
                     "d8 03 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff");
    expect_edn_bytes("#inst \"1970-01-01T00:00:01.000Z\"", "d7 04 00 00 00 00 00 00 03 e8");
    expect_edn_bytes("#inst \"1969-12-31T23:59:59.999Z\"", "d7 04 ff ff ff ff ff ff ff ff");
    expect_edn_bytes("12345678901234567890N",
                     "c7 14 05 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35 36 37 38 39 30");
    expect_edn_bytes("1.50M", "d6 06 31 2e 35 30");
    expect_edn_bytes("\\A", "d6 08 00 00 00 41");
    expect_edn_bytes("(1 2)", "c7 03 09 92 01 02");
    expect_edn_bytes("()", "d4 09 90");
    expect_edn_bytes("#{1}", "d5 0a 91 01");
    expect_edn_bytes("#foo 1", "c7 06 0c 92 a3 66 6f 6f 01");
    expect_edn_bytes("#bytes \"AAE=\"", "c4 02 00 01");
    expect_edn_bytes("[(())]", "91 d6 09 91 d4 09 90");
    dt_value v;
    dt_value_ref(5, &v);
    expect_bytes(&v, "d7 07 00 00 00 00 00 00 00 05");
    dt_value_float(1.5f, &v);
    expect_bytes(&v, "ca 3f c0 00 00");
    assert_int_equal(dt_value_seq(DT_TUPLE, 2, &v), DT_OK);
    dt_value_long(1, &v.u.seq.items[0]);
    expect_bytes(&v, "c7 03 0b 92 01 c0");
    dt_value_free(&v);
    /* a long wrapped payload takes the smallest ext header that fits */
    assert_int_equal(dt_value_seq(DT_LIST, 300, &v), DT_OK);
    void *bytes;
    size_t len;
    assert_int_equal(dt_msgpack_encode(&v, &bytes, &len), DT_OK);
    assert_int_equal(len, 4 + 3 + 300);
    const uint8_t head[] = {0xc8, 0x01, 0x2f, 0x09, 0xdc, 0x01, 0x2c, 0xc0};
    assert_memory_equal(bytes, head, sizeof head);
    dt_free(bytes);
    roundtrip(&v);
    dt_value_free(&v);
    /* the enum values are the wire numbers */
    assert_int_equal(DT_MSGPACK_EXT_KEYWORD, 1);
    assert_int_equal(DT_MSGPACK_EXT_TAGGED, 12);
}

static void test_roundtrips_every_type(void **state) {
    (void)state;
    const char *corpus[] = {"nil",
                            "true",
                            "-1",
                            "9223372036854775807",
                            "##NaN",
                            "##-Inf",
                            "-0.0",
                            "\"\"",
                            "\"\\u0000 \xc3\xa9 \xf0\x9f\x98\x80\"",
                            ":k",
                            ":ns/k",
                            "sym",
                            "ns/sym",
                            "#uuid \"8f7f1a60-0d3e-4c5c-9f6a-0123456789ab\"",
                            "#inst \"2020-01-01T00:00:00.123Z\"",
                            "-123456789012345678901234567890N",
                            "0.000001M",
                            "1E+5M",
                            "\\u0000",
                            "\\\xf0\x9f\x98\x80",
                            "#bytes \"\"",
                            "#bytes \"AP8A/w==\"",
                            "[]",
                            "()",
                            "#{}",
                            "{}",
                            "#t/x #u [1 #{2} (3) {4 5}]",
                            "{[1 2] {:a #{:b}} \"k\" (nil)}"};
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        dt_value v = edn(corpus[i]);
        roundtrip(&v);
        dt_value_free(&v);
    }
    dt_value v;
    dt_value_ref(INT64_MIN, &v);
    roundtrip(&v);
    dt_value_instant(INT64_MAX, &v);
    roundtrip(&v);
    dt_value_float(-INFINITY, &v);
    roundtrip(&v);
    dt_value_char(0x10FFFF, &v);
    roundtrip(&v);
    /* a large string and bytes take the 16/32-bit length forms */
    char *big = malloc(70000);
    memset(big, 'x', 70000);
    assert_int_equal(dt_value_text(DT_STRING, big, 70000, &v), DT_OK);
    roundtrip(&v);
    dt_value_free(&v);
    assert_int_equal(dt_value_text(DT_BYTES, big, 300, &v), DT_OK);
    roundtrip(&v);
    dt_value_free(&v);
    assert_int_equal(dt_value_text(DT_KEYWORD, big, 70000, &v), DT_OK);
    roundtrip(&v);
    dt_value_free(&v);
    free(big);
}

static void test_roundtrips_random_trees(void **state) {
    (void)state;
    uint64_t seed = 0xfeedbeefULL;
    for (int i = 0; i < 3000; i++) {
        dt_value v;
        gen_value(&seed, GEN_ALL, 1 + i % 6, &v);
        roundtrip(&v);
        dt_value_free(&v);
    }
}

/* Every proper prefix of a valid encoding is corrupt; never a crash. */
static void test_every_truncated_prefix_is_corrupt(void **state) {
    (void)state;
    uint64_t seed = 42;
    for (int i = 0; i < 300; i++) {
        dt_value v;
        gen_value(&seed, GEN_ALL, 4, &v);
        void *bytes;
        size_t len;
        assert_int_equal(dt_msgpack_encode(&v, &bytes, &len), DT_OK);
        for (size_t n = 0; n < len; n++) {
            dt_value back;
            size_t used = 99;
            int rc = decode(bytes, n, &back, &used);
            if (rc != DT_CORRUPT) fail_msg("prefix %zu of %zu: rc %d", n, len, rc);
            assert_int_equal(back.type, DT_NIL);
            assert_int_equal(used, 0);
            assert_true(strncmp(dt_errmsg(NULL), "msgpack: ", 9) == 0);
        }
        dt_free(bytes);
        dt_value_free(&v);
    }
    expect_corrupt("", "msgpack: truncated input at byte 0 (1 more bytes needed)");
    expect_corrupt("92 01", "msgpack: truncated input at byte 1 (1 more bytes needed)");
}

/* Random byte flips and garbage: any result code, but no crash or leak. */
static void test_random_mutations_never_crash(void **state) {
    (void)state;
    uint64_t seed = 1234;
    int ok = 0, corrupt = 0;
    for (int i = 0; i < 3000; i++) {
        dt_value v;
        gen_value(&seed, GEN_ALL, 3, &v);
        void *bytes;
        size_t len;
        assert_int_equal(dt_msgpack_encode(&v, &bytes, &len), DT_OK);
        uint8_t *b = bytes;
        int flips = 1 + (int)(tu_rand(&seed) % 3);
        for (int f = 0; f < flips; f++) b[tu_rand(&seed) % len] = (uint8_t)tu_rand(&seed);
        dt_value back;
        size_t used;
        int rc = decode(b, len, &back, &used);
        assert_true(rc == DT_OK || rc == DT_CORRUPT || rc == DT_LIMIT);
        if (rc == DT_OK) {
            ok++;
            assert_true(used <= len);
            dt_value_free(&back);
        } else
            corrupt++;
        dt_free(bytes);
        dt_value_free(&v);
    }
    assert_true(ok > 0 && corrupt > 0);
    for (int i = 0; i < 3000; i++) {
        uint8_t junk[64];
        size_t n = (size_t)(tu_rand(&seed) % sizeof junk);
        for (size_t k = 0; k < n; k++) junk[k] = (uint8_t)tu_rand(&seed);
        dt_value back;
        if (decode(junk, n, &back, NULL) == DT_OK) dt_value_free(&back);
    }
}

static void test_rejects_malformed_input(void **state) {
    (void)state;
    expect_corrupt("c1", "msgpack: invalid type byte 0xc1 at byte 0");
    expect_corrupt("92 01 c1", "invalid type byte 0xc1 at byte 2");
    expect_corrupt("d4 63 00", "msgpack: unknown ext type 99 at byte 0");
    expect_corrupt("dd ff ff ff ff 01",
                   "msgpack: truncated input at byte 5"); /* no 4G allocation */
    expect_corrupt("df ff ff ff ff", "truncated input");
    expect_corrupt("c9 ff ff ff ff 01", "truncated input at byte 6");
    expect_corrupt("db ff ff ff ff 61", "truncated input");
    expect_corrupt("d6 03 00 00 00 00", "ext type 3 needs 16 bytes, has 4 at byte 0");
    expect_corrupt("d5 04 00 00", "ext type 4 needs 8 bytes, has 2");
    expect_corrupt("d6 08 00 11 00 00", "character U+110000 out of range");
    expect_corrupt("d5 05 31 78", "invalid bigint text at byte 2");
    expect_corrupt("d6 06 31 2e 2e 32", "invalid bigdec text");
    expect_corrupt("d4 09 01", "ext type 9 must hold an array");
    expect_corrupt("d6 09 91 01 01 01", "2 stray bytes in ext type 9");
    expect_corrupt("c7 03 0a 92 01 01", "duplicate element in the set at byte 0");
    expect_corrupt("82 a1 61 01 a1 61 02", "duplicate key in the map at byte 0");
    expect_corrupt("c7 03 0c 92 01 02", "a tagged value must be [tag-string value]");
    expect_corrupt("d4 0c 90", "a tagged value must be [tag-string value]");
    expect_corrupt("c0 c0", "msgpack: 1 trailing bytes after the value at byte 1");
    expect_corrupt("d6 ff 00 00 00 00 00", "trailing"); /* a 4-byte timestamp, then junk */
    expect_corrupt("c7 05 ff 00 00 00 00 00", "timestamp of 5 bytes");
    expect_corrupt("d7 ff ff ff ff fc 00 00 00 00", "timestamp out of range");
    /* nested truncation inside an ext payload is reported, not over-read */
    expect_corrupt("d5 09 92 01", "truncated input at byte 3");
}

static void test_decodes_foreign_encodings(void **state) {
    (void)state;
    uint8_t buf[64];
    dt_value v;
    struct {
        const char *hex;
        const char *edn;
    } cases[] = {
        {"cf ff ff ff ff ff ff ff ff", "18446744073709551615N"}, /* uint64 beyond int64 */
        {"cf 00 00 00 00 00 00 00 05", "5"},
        {"d0 80", "-128"},
        {"d1 80 00", "-32768"},
        {"d2 80 00 00 00", "-2147483648"},
        {"cd ff ff", "65535"},
        {"d9 02 68 69", "\"hi\""},
        {"da 00 02 68 69", "\"hi\""},
        {"db 00 00 00 02 68 69", "\"hi\""},
        {"dc 00 01 01", "[1]"},
        {"dd 00 00 00 01 01", "[1]"},
        {"de 00 01 01 02", "{1 2}"},
        {"c5 00 01 41", "#bytes \"QQ==\""},
        {"d6 ff 00 00 00 01", "#inst \"1970-01-01T00:00:01.000Z\""},             /* timestamp 32 */
        {"d7 ff 0b eb c2 00 00 00 00 02", "#inst \"1970-01-01T00:00:02.050Z\""}, /* timestamp 64 */
        {"c7 0c ff 00 00 00 00 ff ff ff ff ff ff ff ff",
         "#inst \"1969-12-31T23:59:59.000Z\""}, /* 96 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = unhex(cases[i].hex, buf);
        if (decode(buf, n, &v, NULL) != DT_OK) fail_msg("<%s>: %s", cases[i].hex, dt_errmsg(NULL));
        dt_value want = edn(cases[i].edn);
        if (!dt_value_equal(&v, &want)) fail_msg("<%s> is not %s", cases[i].hex, cases[i].edn);
        dt_value_free(&v);
        dt_value_free(&want);
    }
}

static void test_consumed_allows_a_stream_of_values(void **state) {
    (void)state;
    uint8_t buf[16];
    size_t n = unhex("01 a1 78 92 c3 c0 ff", buf);
    size_t at = 0, used;
    dt_value v;
    int count = 0;
    while (at < n) {
        assert_int_equal(decode(buf + at, n - at, &v, &used), DT_OK);
        assert_true(used > 0);
        at += used;
        count++;
        dt_value_free(&v);
    }
    assert_int_equal(count, 4);
    assert_int_equal(decode(buf, n, &v, NULL), DT_CORRUPT);
}

static void test_depth_limit_and_misuse(void **state) {
    (void)state;
    size_t n = DT_EDN_DEPTH_MAX + 10;
    uint8_t *deep = malloc(n + 1);
    memset(deep, 0x91, n);
    deep[n] = 0xc0;
    dt_value v;
    assert_int_equal(dt_msgpack_decode(deep, n + 1, &v, NULL), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(NULL), "nested deeper than 4096 at byte 4096"));
    assert_int_equal(dt_msgpack_decode(deep + 10, n - 9, &v, NULL), DT_OK);
    void *bytes;
    size_t len;
    assert_int_equal(dt_msgpack_encode(&v, &bytes, &len), DT_OK);
    assert_int_equal(len, n - 9);
    assert_memory_equal(bytes, deep + 10, len);
    dt_free(bytes);
    dt_value outer;
    assert_int_equal(dt_value_seq(DT_VECTOR, 1, &outer), DT_OK);
    outer.u.seq.items[0] = v;
    bytes = (void *)1;
    assert_int_equal(dt_msgpack_encode(&outer, &bytes, &len), DT_LIMIT);
    assert_null(bytes);
    dt_value_free(&outer);
    free(deep);

    assert_int_equal(dt_msgpack_encode(NULL, &bytes, &len), DT_MISUSE);
    dt_value_nil(&v);
    assert_int_equal(dt_msgpack_encode(&v, NULL, &len), DT_MISUSE);
    assert_int_equal(dt_msgpack_decode(NULL, 1, &v, NULL), DT_MISUSE);
    assert_int_equal(dt_msgpack_decode("\xc0", 1, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_value_seq(DT_MAP, 2, &v), DT_OK);
    v.u.seq.n = 1;
    assert_int_equal(dt_msgpack_encode(&v, &bytes, &len), DT_INVALID);
    v.u.seq.n = 2;
    dt_value_free(&v);
}

static void test_out_of_memory_at_every_allocation(void **state) {
    (void)state;
    dt_value v = edn("[{:a \"s\" :b #{1 2 3} :c #my/t (x y)} 123456789012345678901N 1.5M [1 2]]");
    void *bytes = NULL;
    size_t len = 0;
    int rc = DT_NOMEM;
    for (long i = 0; rc == DT_NOMEM; i++) {
        dt__alloc_fail_at(i);
        rc = dt_msgpack_encode(&v, &bytes, &len);
        dt__alloc_fail_at(-1);
    }
    assert_int_equal(rc, DT_OK);
    dt_value back;
    rc = DT_NOMEM;
    for (long i = 0; rc == DT_NOMEM; i++) {
        dt__alloc_fail_at(i);
        rc = dt_msgpack_decode(bytes, len, &back, NULL);
        dt__alloc_fail_at(-1);
    }
    assert_int_equal(rc, DT_OK);
    assert_true(dt_value_equal(&v, &back));
    dt_value_free(&back);
    dt_value_free(&v);
    dt_free(bytes);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encodes_stable_bytes_for_every_type),
        cmocka_unit_test(test_roundtrips_every_type),
        cmocka_unit_test(test_roundtrips_random_trees),
        cmocka_unit_test(test_every_truncated_prefix_is_corrupt),
        cmocka_unit_test(test_random_mutations_never_crash),
        cmocka_unit_test(test_rejects_malformed_input),
        cmocka_unit_test(test_decodes_foreign_encodings),
        cmocka_unit_test(test_consumed_allows_a_stream_of_values),
        cmocka_unit_test(test_depth_limit_and_misuse),
        cmocka_unit_test(test_out_of_memory_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
