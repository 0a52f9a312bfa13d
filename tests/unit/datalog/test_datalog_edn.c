/* test_datalog_edn.c -- the EDN reader and printer: every literal kind,
 * errors with positions, limits, streaming, round trips, the shared data. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "edn.h"
#include "edn_testgen.h"
#include "testutil.h"

/* {====== Helpers ====== */

/* Reads s from an exactly-sized heap copy, so ASan sees any over-read. */
static int rd(const char *s, dt_value *out) {
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    int rc = dt_edn_read(copy, n, out);
    free(copy);
    return rc;
}

static int rd_opts(const char *s, const dt_edn_options *o, dt_value *out) {
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    int rc = dt_edn_read_opts(copy, n, o, out);
    free(copy);
    return rc;
}

static void expect_error(const char *text, int code, const char *msg_part) {
    dt_value v;
    int rc = rd(text, &v);
    if (rc != code || !strstr(dt_errmsg(NULL), msg_part))
        fail_msg("reading <%s>: rc %d (want %d), message \"%s\" (want \"%s\")", text, rc, code,
                 dt_errmsg(NULL), msg_part);
    assert_int_equal(v.type, DT_NIL);
}

static dt_value read_ok(const char *text) {
    dt_value v;
    int rc = rd(text, &v);
    if (rc != DT_OK) fail_msg("reading <%s>: rc %d: %s", text, rc, dt_errmsg(NULL));
    return v;
}

static void expect_long(const char *text, int64_t want) {
    dt_value v = read_ok(text);
    assert_int_equal(v.type, DT_LONG);
    assert_true(v.u.i == want);
}

static void expect_text(const char *text, dt_type type, const char *want, size_t want_len) {
    dt_value v = read_ok(text);
    if (v.type != type)
        fail_msg("<%s>: type %s, want %s", text, dt_type_name(v.type), dt_type_name(type));
    assert_int_equal(v.u.s.len, want_len);
    assert_memory_equal(v.u.s.ptr, want, want_len);
    assert_int_equal(v.u.s.ptr[want_len], '\0');
    dt_value_free(&v);
}

static void expect_char(const char *text, uint32_t cp) {
    dt_value v = read_ok(text);
    assert_int_equal(v.type, DT_CHAR);
    assert_int_equal(v.u.c, cp);
}

static void expect_instant(const char *ts, int64_t ms) {
    char buf[128];
    snprintf(buf, sizeof buf, "#inst \"%s\"", ts);
    dt_value v = read_ok(buf);
    assert_int_equal(v.type, DT_INSTANT);
    if (v.u.i != ms) fail_msg("%s: got %lld ms, want %lld", ts, (long long)v.u.i, (long long)ms);
}

static char *write_str(const dt_value *v, int flags) {
    char *out = NULL;
    size_t len = 0;
    int rc = dt_edn_write(v, flags, &out, &len);
    if (rc != DT_OK) fail_msg("dt_edn_write: rc %d: %s", rc, dt_errmsg(NULL));
    assert_int_equal(strlen(out), len);
    return out;
}

static void expect_prints(const char *text, const char *want) {
    dt_value v = read_ok(text);
    char *s = write_str(&v, DT_EDN_COMPACT);
    if (strcmp(s, want)) fail_msg("<%s> printed <%s>, want <%s>", text, s, want);
    dt_free(s);
    dt_value_free(&v);
}

/* print (both styles), read back with unknown tags kept, compare */
static void roundtrip(const dt_value *v) {
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.keep_unknown_tags = 1;
    static const int styles[] = {DT_EDN_COMPACT, DT_EDN_PRETTY};
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++) {
        char *s = write_str(v, styles[i]);
        dt_value back;
        int rc = dt_edn_read_opts(s, strlen(s), &o, &back);
        if (rc != DT_OK) fail_msg("re-reading <%s>: %s", s, dt_errmsg(NULL));
        if (!dt_value_equal(v, &back)) fail_msg("round trip changed the value: <%s>", s);
        dt_value_free(&back);
        dt_free(s);
    }
}

/* }====== */

/* {====== Literals ====== */

static void test_reads_nil_booleans_and_integers(void **state) {
    (void)state;
    dt_value v = read_ok("nil");
    assert_int_equal(v.type, DT_NIL);
    v = read_ok("true");
    assert_true(v.type == DT_BOOL && v.u.b == 1);
    v = read_ok("false");
    assert_true(v.type == DT_BOOL && v.u.b == 0);
    expect_long("0", 0);
    expect_long("-0", 0);
    expect_long("+42", 42);
    expect_long("-17", -17);
    expect_long("9223372036854775807", INT64_MAX);
    expect_long("-9223372036854775808", INT64_MIN);
    expect_text("9223372036854775808", DT_BIGINT, "9223372036854775808", 19);
    expect_text("-9223372036854775809", DT_BIGINT, "-9223372036854775809", 20);
    expect_text("123456789012345678901234567890", DT_BIGINT, "123456789012345678901234567890", 30);
    expect_text("7N", DT_BIGINT, "7", 1);
    expect_text("-0N", DT_BIGINT, "0", 1);
    expect_text("+12N", DT_BIGINT, "12", 2);
}

static void test_reads_floats_bigdecs_and_symbolic_values(void **state) {
    (void)state;
    struct {
        const char *text;
        double d;
    } cases[] = {{"1.5", 1.5},   {"-2.25", -2.25},  {"1e3", 1000.0},
                 {"1E-2", 0.01}, {"2.5e+2", 250.0}, {"1.", 1.0},
                 {"0.1", 0.1},   {"00.5", 0.5},     {"1e400", INFINITY}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dt_value v = read_ok(cases[i].text);
        assert_int_equal(v.type, DT_DOUBLE);
        assert_true(v.u.d == cases[i].d);
    }
    dt_value v = read_ok("-0.0");
    assert_true(v.type == DT_DOUBLE && v.u.d == 0.0 && signbit(v.u.d));
    v = read_ok("##Inf");
    assert_true(v.type == DT_DOUBLE && isinf(v.u.d) && v.u.d > 0);
    v = read_ok("##-Inf");
    assert_true(v.type == DT_DOUBLE && isinf(v.u.d) && v.u.d < 0);
    v = read_ok("##NaN");
    assert_true(v.type == DT_DOUBLE && isnan(v.u.d));
    expect_text("1.50M", DT_BIGDEC, "1.50", 4);
    expect_text("-0.001M", DT_BIGDEC, "-0.001", 6);
    expect_text("3M", DT_BIGDEC, "3", 1);
    expect_text("1.5e3M", DT_BIGDEC, "15E2", 4);
    expect_error("##Foo", DT_INVALID, "unknown symbolic value '##Foo' at 1:1");
}

static void test_rejects_malformed_numbers(void **state) {
    (void)state;
    expect_error("12x", DT_INVALID, "invalid number '12x' at 1:1");
    expect_error("[1 007]", DT_INVALID, "leading zeros are not allowed) at 1:4");
    expect_error("0x1F", DT_INVALID, "hexadecimal is not supported");
    expect_error("2r101", DT_INVALID, "radix numbers are not supported");
    expect_error("1/2", DT_INVALID, "ratios are not supported");
    expect_error("1.5N", DT_INVALID, "invalid number '1.5N'");
    expect_error("1e", DT_INVALID, "invalid number '1e'");
    expect_error("1e5e5", DT_INVALID, "invalid number");
    expect_error("-1.2.3", DT_INVALID, "invalid number");
    expect_error(".5", DT_INVALID, "invalid symbol '.5'");
}

static void test_reads_every_string_escape(void **state) {
    (void)state;
    expect_text("\"\"", DT_STRING, "", 0);
    expect_text("\"plain text\"", DT_STRING, "plain text", 10);
    expect_text("\"a\\tb\\rc\\nd\\\\e\\\"f\\bg\\fh\"", DT_STRING, "a\tb\rc\nd\\e\"f\bg\fh", 15);
    expect_text("\"\\u00e9\\u20AC\"", DT_STRING, "\xc3\xa9\xe2\x82\xac", 5);
    expect_text("\"\\ud83d\\ude00!\"", DT_STRING, "\xf0\x9f\x98\x80!", 5);
    expect_text("\"nul\\u0000byte\"", DT_STRING, "nul\0byte", 8);
    expect_text("\"multi\nline\"", DT_STRING, "multi\nline", 10);
    expect_text("\"caf\xc3\xa9\"", DT_STRING, "caf\xc3\xa9", 5);
    expect_error("\"a\\qb\"", DT_INVALID, "unsupported escape '\\q' in string at 1:3");
    expect_error("\"\\u12\"", DT_INVALID, "expected four hex digits after \\u in string at 1:2");
    expect_error("\"\\ud83d\"", DT_INVALID,
                 "high surrogate \\uD83D not followed by a low surrogate at 1:2");
    expect_error("\"\\ude00\"", DT_INVALID, "unpaired low surrogate \\uDE00");
    expect_error("[\"abc", DT_INVALID,
                 "unterminated string starting at 1:2, got end of input at 1:6");
    expect_error("\"abc\\\"", DT_INVALID, "unterminated string starting at 1:1");
}

static void test_reads_characters(void **state) {
    (void)state;
    expect_char("\\a", 'a');
    expect_char("\\Z", 'Z');
    expect_char("\\(", '(');
    expect_char("\\,", ',');
    expect_char("\\\\", '\\');
    expect_char("\\\"", '"');
    expect_char("\\newline", '\n');
    expect_char("\\space", ' ');
    expect_char("\\tab", '\t');
    expect_char("\\return", '\r');
    expect_char("\\backspace", '\b');
    expect_char("\\formfeed", '\f');
    expect_char("\\u00e9", 0xe9);
    expect_char("\\uFFFF", 0xffff);
    expect_char("\\o377", 0xff);
    expect_char("\\o7", 7);
    expect_char("\\u", 'u');
    expect_char("\\o", 'o');
    expect_char("\\\xc3\xa9", 0xe9);
    expect_char("\\\xf0\x9f\x98\x80", 0x1f600);
    dt_value v = read_ok("[\\a\\b \\c]");
    assert_int_equal(v.u.seq.n, 3);
    assert_int_equal(v.u.seq.items[1].u.c, 'b');
    dt_value_free(&v);
    expect_error("\\ab", DT_INVALID, "unsupported character '\\ab' at 1:1");
    expect_error("\\o400", DT_INVALID, "unsupported character '\\o400'");
    expect_error("\\u12", DT_INVALID, "unsupported character '\\u12'");
    expect_error("[\\ ]", DT_INVALID, "expected a character after '\\' at 1:2");
    expect_error("\\", DT_INVALID, "expected a character after '\\' at 1:1");
    expect_error("\\\xc3", DT_INVALID, "malformed UTF-8");
}

static void test_reads_keywords_and_symbols(void **state) {
    (void)state;
    const char *syms[] = {"a",
                          "/",
                          "ns/name",
                          "?x",
                          "$",
                          "%",
                          "...",
                          "_",
                          ".",
                          "+",
                          "-",
                          "-a",
                          "+b",
                          ".c",
                          "a.b.c/d-e",
                          "<=",
                          "*ok*",
                          "a#",
                          "x'",
                          "clojure.core//",
                          "db.fn/retractEntity",
                          "\xc3\xa9t\xc3\xa9",
                          "a:b",
                          "!$%&*"};
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
        expect_text(syms[i], DT_SYMBOL, syms[i], strlen(syms[i]));
    const char *kws[] = {":a", ":db/id", ":db.type/ref", ":?x", ":1", ":nil", ":a.b/c-d", ":_"};
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
        expect_text(kws[i], DT_KEYWORD, kws[i] + 1, strlen(kws[i]) - 1);
    expect_error("::foo", DT_INVALID, "auto-resolved keyword '::foo' is not EDN at 1:1");
    expect_error(":", DT_INVALID, "invalid keyword ':'");
    expect_error(":a/", DT_INVALID, "invalid keyword ':a/'");
    expect_error("a/", DT_INVALID, "invalid symbol 'a/'");
    expect_error("/a", DT_INVALID, "invalid symbol '/a'");
    expect_error("a/b/c", DT_INVALID, "invalid symbol 'a/b/c'");
    expect_error("-1a", DT_INVALID, "invalid number");
    expect_error("a|b", DT_INVALID, "invalid symbol 'a|b'");
    expect_error("'a", DT_INVALID, "reader macro ''' is not EDN at 1:1");
    expect_error("@a", DT_INVALID, "reader macro '@' is not EDN");
}

static void test_reads_nested_collections(void **state) {
    (void)state;
    dt_value v = read_ok("{:a [1 (2 3) #{4}] \"k\" {} nil ()}");
    assert_int_equal(v.type, DT_MAP);
    assert_int_equal(v.u.seq.n, 6);
    dt_value *it = v.u.seq.items;
    assert_int_equal(it[0].type, DT_KEYWORD);
    assert_int_equal(it[1].type, DT_VECTOR);
    assert_int_equal(it[1].u.seq.n, 3);
    assert_int_equal(it[1].u.seq.items[1].type, DT_LIST);
    assert_int_equal(it[1].u.seq.items[2].type, DT_SET);
    assert_int_equal(it[1].u.seq.items[2].u.seq.items[0].u.i, 4);
    assert_int_equal(it[2].type, DT_STRING);
    assert_true(it[3].type == DT_MAP && it[3].u.seq.n == 0);
    assert_int_equal(it[4].type, DT_NIL);
    assert_true(it[5].type == DT_LIST && it[5].u.seq.n == 0);
    dt_value_free(&v);
    /* keys compare by value and type: 1 and 1.0 and "1" are different keys */
    v = read_ok("{1 :a 1.0 :b \"1\" :c :1 :d}");
    assert_int_equal(v.u.seq.n, 8);
    dt_value_free(&v);
    expect_error("{:a 1 :b 2 :a 3}", DT_INVALID, "duplicate key :a in map literal at 1:1");
    expect_error("[#{[1 2] [1 2]}]", DT_INVALID, "duplicate element [1 2] in set literal at 1:2");
    expect_error("{:a}", DT_INVALID, "map literal needs an even number of forms, has 1 at 1:1");
    /* duplicate detection in a large set (the sorting path) */
    char big[4096];
    size_t k = 0;
    k += (size_t)snprintf(big + k, sizeof big - k, "#{");
    for (int i = 0; i < 300; i++) k += (size_t)snprintf(big + k, sizeof big - k, "%d ", i * 7);
    snprintf(big + k, sizeof big - k, "}");
    v = read_ok(big);
    assert_int_equal(v.u.seq.n, 300);
    dt_value_free(&v);
    snprintf(big + k, sizeof big - k, "693}");
    expect_error(big, DT_INVALID, "duplicate element 693");
}

static void test_comments_commas_and_discard(void **state) {
    (void)state;
    dt_value v =
        read_ok("; leading comment\n[1, 2,,3 ; trailing\n #_ 4 5 #_ #_ 6 7 8 #_[9 10]]\n; end");
    assert_int_equal(v.u.seq.n, 5);
    int64_t want[] = {1, 2, 3, 5, 8};
    for (int i = 0; i < 5; i++) assert_int_equal(v.u.seq.items[i].u.i, want[i]);
    dt_value_free(&v);
    v = read_ok("#_ x #_ #_ y z 42 #_ w");
    assert_true(v.type == DT_LONG && v.u.i == 42);
    v = read_ok("{:a #_ :ignored 1}");
    assert_int_equal(v.u.seq.n, 2);
    dt_value_free(&v);
    v = read_ok("#!shebang line\n7");
    assert_int_equal(v.u.i, 7);
    v = read_ok("#_ #foo 1 #_ #inst \"bad\" 2"); /* no tag reader runs inside #_ */
    assert_int_equal(v.u.i, 2);
    expect_error("[1 #_]", DT_INVALID, "expected a form after #_ at 1:4, got ']' at 1:6");
    expect_error("1 #_", DT_INVALID, "expected a form after #_ at 1:3, got end of input at 1:5");
    expect_error("", DT_INVALID, "expected a form, got end of input at 1:1");
    expect_error(" ; only a comment", DT_INVALID, "expected a form, got end of input");
    expect_error("#_ 1", DT_INVALID, "expected a form, got end of input");
}

/* }====== */

/* {====== Tags ====== */

static void test_inst_with_offsets_and_fractions(void **state) {
    (void)state;
    expect_instant("1970-01-01T00:00:00Z", 0);
    expect_instant("1970-01-01T00:00:00.000-00:00", 0);
    expect_instant("2020-01-01T00:00:00Z", 1577836800000LL);
    expect_instant("2020-01-01T00:00:00.5+01:00", 1577836800000LL - 3600000 + 500);
    expect_instant("2020-01-01T00:00:00.123456789Z", 1577836800123LL);
    expect_instant("2020-01-01T00:00:00.12-05:30", 1577836800120LL + 19800000);
    expect_instant("2000-02-29T23:59:59.999z", 951868799999LL);
    expect_instant("1969-12-31T23:59:59.999Z", -1);
    expect_instant("1900-01-01T00:00:00Z", -2208988800000LL);
    expect_instant("0001-01-01T00:00:00Z", -62135596800000LL);
    expect_instant("2020", 1577836800000LL);
    expect_instant("2020-02", 1580515200000LL);
    expect_instant("2020-02-03", 1580688000000LL);
    expect_instant("2020-02-03T04:05", 1580688000000LL + (4 * 60 + 5) * 60000LL);
    expect_instant("2020-02-03t04:05:06+00:00", 1580688000000LL + ((4 * 60 + 5) * 60 + 6) * 1000LL);
    expect_instant("-0001-01-01T00:00:00.000-00:00", -62198755200000LL);
    expect_instant("+292278994-08-17T07:12:55.807-00:00", INT64_MAX);
    expect_instant("-292275055-05-16T16:47:04.192-00:00", INT64_MIN);
    const char *bad[] = {"2020-13-01T00:00:00Z",
                         "2021-02-29T00:00:00Z",
                         "2020-04-31",
                         "2020-01-01T24:00:00Z",
                         "2020-01-01T00:60:00Z",
                         "2020-01-01T00:00:60Z",
                         "2020-01-01T00:00:00+24:00",
                         "2020-01-01T00:00:00.Z",
                         "20-01-01",
                         "2020-1-01",
                         "2020-01-01T00:00:00 Z",
                         "",
                         "+292278994-08-17T07:12:55.808Z",
                         "2020-01-01X"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[96];
        snprintf(buf, sizeof buf, "[#inst \"%s\"]", bad[i]);
        expect_error(buf, DT_INVALID, "#inst expects an RFC 3339 timestamp string, got \"");
        assert_non_null(strstr(dt_errmsg(NULL), " at 1:2"));
    }
    expect_error("#inst 5", DT_INVALID,
                 "#inst expects an RFC 3339 timestamp string, got a long at 1:1");
}

static void test_uuid_and_bytes_tags(void **state) {
    (void)state;
    dt_value v = read_ok("#uuid \"8F7F1A60-0d3e-4c5c-9f6a-0123456789ab\"");
    assert_int_equal(v.type, DT_UUID);
    const uint8_t want[16] = {0x8f, 0x7f, 0x1a, 0x60, 0x0d, 0x3e, 0x4c, 0x5c,
                              0x9f, 0x6a, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab};
    assert_memory_equal(v.u.uuid, want, 16);
    expect_error("#uuid \"8f7f1a60-0d3e-4c5c-9f6a-0123456789a\"", DT_INVALID,
                 "#uuid expects a uuid string");
    expect_error("#uuid \"8f7f1a60x0d3e-4c5c-9f6a-0123456789ab\"", DT_INVALID, "#uuid expects");
    expect_error("#uuid \"8f7f1a60-0d3e-4c5c-9f6a-0123456789ag\"", DT_INVALID, "#uuid expects");
    expect_text("#bytes \"aGVsbG8=\"", DT_BYTES, "hello", 5);
    expect_text("#bytes \"\"", DT_BYTES, "", 0);
    expect_text("#bytes \"AP8=\"", DT_BYTES, "\0\xff", 2);
    expect_text("#bytes \"YWJj\"", DT_BYTES, "abc", 3);
    expect_error("#bytes \"aGVsbG8\"", DT_INVALID, "#bytes expects a base64 string");
    expect_error("#bytes \"a=GV\"", DT_INVALID, "#bytes expects a base64 string");
}

typedef struct handler_log {
    int calls;
} handler_log;

/* #my/point [x y] -> {:x x :y y}; declines other tags; fails #my/bad */
static int point_handler(const char *tag, size_t tag_len, dt_value *value, dt_value *out,
                         void *ud) {
    handler_log *log = ud;
    log->calls++;
    assert_int_equal(strlen(tag), tag_len);
    if (!strcmp(tag, "my/bad")) return DT_CONFLICT;
    if (strcmp(tag, "my/point")) return DT_NOTFOUND;
    if (value->type != DT_VECTOR || value->u.seq.n != 2) return DT_INVALID;
    assert_int_equal(dt_value_seq(DT_MAP, 4, out), DT_OK);
    assert_int_equal(dt_value_text(DT_KEYWORD, "x", 1, &out->u.seq.items[0]), DT_OK);
    out->u.seq.items[1] = value->u.seq.items[0];
    assert_int_equal(dt_value_text(DT_KEYWORD, "y", 1, &out->u.seq.items[2]), DT_OK);
    out->u.seq.items[3] = value->u.seq.items[1];
    value->u.seq.n = 0; /* items moved out; the reader clears the rest */
    return DT_OK;
}

static void test_tag_handler_and_unknown_tags(void **state) {
    (void)state;
    handler_log log = {0};
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.tag_handler = point_handler;
    o.tag_userdata = &log;
    dt_value v;
    assert_int_equal(rd_opts("[#my/point [1 2] #inst \"1970-01-01T00:00:00.001Z\"]", &o, &v),
                     DT_OK);
    assert_int_equal(log.calls, 1); /* built-in tags never reach the handler */
    assert_int_equal(v.u.seq.items[0].type, DT_MAP);
    assert_int_equal(v.u.seq.items[0].u.seq.items[3].u.i, 2);
    assert_int_equal(v.u.seq.items[1].u.i, 1);
    dt_value_free(&v);
    /* the handler's value is read back by the same rules as any other */
    assert_int_equal(rd_opts("#{#my/point [1 2] {:x 1 :y 2}}", &o, &v), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "duplicate element {:x 1, :y 2}"));
    assert_int_equal(rd_opts("[1\n #my/point [1 2 3]]", &o, &v), DT_INVALID);
    assert_non_null(
        strstr(dt_errmsg(NULL), "edn: reader for tag #my/point failed (invalid input) at 2:2"));
    assert_int_equal(rd_opts("#my/bad 1", &o, &v), DT_CONFLICT);
    assert_non_null(strstr(dt_errmsg(NULL), "reader for tag #my/bad failed (conflict) at 1:1"));
    /* declined and no keep: the unknown-tag error */
    assert_int_equal(rd_opts("#other/x {:a 1}", &o, &v), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "edn: no reader for tag #other/x at 1:1"));
    expect_error("[1 #foo 2]", DT_INVALID, "edn: no reader for tag #foo at 1:4");
    expect_error("#foo", DT_INVALID, "expected a form after #foo at 1:1, got end of input at 1:5");
    expect_error("[#foo]", DT_INVALID, "expected a form after #foo at 1:2, got ']' at 1:6");
    expect_error("#1foo 2", DT_INVALID, "unsupported dispatch '#1'");
    expect_error("#\"re\"", DT_INVALID, "unsupported dispatch '#\"'");
    expect_error("#(inc %)", DT_INVALID, "unsupported dispatch '#('");
    /* keep_unknown_tags: declined tags become DT_TAGGED */
    o.keep_unknown_tags = 1;
    assert_int_equal(rd_opts("#other/x #another {:a 1}", &o, &v), DT_OK);
    assert_int_equal(v.type, DT_TAGGED);
    assert_string_equal(v.u.seq.items[0].u.s.ptr, "other/x");
    assert_int_equal(v.u.seq.items[0].type, DT_SYMBOL);
    assert_int_equal(v.u.seq.items[1].type, DT_TAGGED);
    assert_string_equal(v.u.seq.items[1].u.seq.items[0].u.s.ptr, "another");
    assert_int_equal(v.u.seq.items[1].u.seq.items[1].type, DT_MAP);
    char *s = write_str(&v, DT_EDN_COMPACT);
    assert_string_equal(s, "#other/x #another {:a 1}");
    dt_free(s);
    dt_value_free(&v);
}

static void test_namespaced_maps(void **state) {
    (void)state;
    expect_prints("#:person{:name \"A\" :_/id 1 :other/x 2 sym 3 \"s\" 4}",
                  "{:person/name \"A\", :id 1, :other/x 2, person/sym 3, \"s\" 4}");
    expect_prints("#:a {:b 1}", "{:a/b 1}");
    expect_error("#::{:a 1}", DT_INVALID, "auto-resolved namespaced map '#::' is not EDN");
    expect_error("#:a [1]", DT_INVALID, "expected '{' after '#:a', got '[' at 1:5");
    expect_error("#:a/b{:c 1}", DT_INVALID, "invalid namespace in '#:a/b'");
    expect_error("#:p{:a 1 :p/a 2}", DT_INVALID, "duplicate key :p/a in map literal at 1:1");
    expect_error("#:p{:a 1", DT_INVALID,
                 "expected '}' to close '#:p{' opened at 1:1, got end of input at 1:9");
}

/* }====== */

/* {====== Errors, limits, robustness ====== */

static void test_error_messages_carry_line_and_column(void **state) {
    (void)state;
    expect_error("[1 2\n  (3 4)\n    ", DT_INVALID,
                 "edn: expected ']' to close '[' opened at 1:1, got end of input at 3:5");
    expect_error("{:a [1\n 2)}", DT_INVALID,
                 "edn: expected ']' to close '[' opened at 1:5, got ')' at 2:3");
    expect_error("(1 2]", DT_INVALID, "expected ')' to close '(' opened at 1:1, got ']' at 1:5");
    expect_error("#{1 2)", DT_INVALID, "expected '}' to close '#{' opened at 1:1, got ')' at 1:6");
    expect_error("\"\xc3\xa9\xc3\xa9\" )", DT_INVALID,
                 "edn: unexpected ')' at 1:6"); /* columns count code points */
    expect_error("[]\n]", DT_INVALID, "edn: unexpected ']' at 2:1");
    expect_error("1 2", DT_INVALID, "expected end of input after the form, got '2' at 1:3");
    expect_error("{:a 1}\n\n  :extra", DT_INVALID, "got ':extra' at 3:3");
    expect_error("\r\n\t[x\r\n y", DT_INVALID, "opened at 2:2, got end of input at 3:3");
    dt_value v;
    assert_int_equal(dt_edn_read("[1 ]]", 4, &v), DT_OK); /* len bounds the input */
    dt_value_free(&v);
}

/* Every proper prefix of a document that is one form must fail cleanly. */
static void test_every_truncated_prefix_is_an_error(void **state) {
    (void)state;
    const char *doc =
        "[{:db/id -1 :name \"Ann \\\"A\\\" \\u00e9\\ud83d\\ude00\" :tags #{:a :b}\n"
        "  :born #inst \"1980-05-06T07:08:09.123+02:00\" :id #uuid "
        "\"8f7f1a60-0d3e-4c5c-9f6a-0123456789ab\"}\n"
        " (1 -2 3.5 -4e10 5N 6.25M ##Inf ##NaN \\a \\newline \\u00e9 \\o101) ; comment\n"
        " #_ {:skip [1 2]} #:ns{:k 1 :_/j 2} nil true false sym/bol ?x ... #bytes \"aGk=\"\n"
        " [[[[]]]] {\"k\" [\\space]} 12345678901234567890123]";
    size_t n = strlen(doc);
    dt_value full = read_ok(doc);
    assert_int_equal(full.u.seq.n, 13);
    for (size_t len = 0; len < n; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, doc, len);
        dt_value v;
        int rc = dt_edn_read(copy, len, &v);
        if (rc != DT_INVALID) fail_msg("prefix of %zu bytes: rc %d", len, rc);
        assert_true(strncmp(dt_errmsg(NULL), "edn: ", 5) == 0);
        assert_int_equal(v.type, DT_NIL);
        free(copy);
    }
    roundtrip(&full);
    dt_value_free(&full);
}

/* Found by fuzzing: closing an empty collection before any value was
 * kept computed NULL + 0 (undefined behaviour; clang's UBSan reports it,
 * tests/fuzz/regressions/edn replays the input in the fuzz build). */
static void test_empty_collection_before_any_value(void **state) {
    (void)state;
    expect_error("() 2(1 ", DT_INVALID, "expected end of input after the form, got '2' at 1:4");
    const char *empty[] = {"()", "[]", "{}", "#{}", "(())", "[[] {} #{} ()]"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        dt_value v = read_ok(empty[i]);
        roundtrip(&v);
        dt_value_free(&v);
    }
}

/* Random edits of a valid document: any result, but no crash, leak or over-read. */
static void test_random_mutations_never_crash(void **state) {
    (void)state;
    const char *doc = "[{:a \"s\\n\\u00e9\" :b #{1 2.5 3N} :c #inst \"2020-01-01T00:00:00Z\"} "
                      "(\\a \\newline #_ x ##Inf) #:n{:k [1M -2]} #uuid "
                      "\"8f7f1a60-0d3e-4c5c-9f6a-0123456789ab\" ; c\n sym/b :kw]";
    const char alphabet[] = "[](){}#_\"\\:;, \n0123456789.eEMN+-/abu{}";
    size_t n = strlen(doc);
    uint64_t seed = 99;
    int ok = 0, bad = 0;
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.keep_unknown_tags = 1;
    for (int i = 0; i < 20000; i++) {
        char *copy = malloc(n);
        memcpy(copy, doc, n);
        int edits = 1 + (int)(tu_rand(&seed) % 3);
        for (int e = 0; e < edits; e++)
            copy[tu_rand(&seed) % n] = tu_rand(&seed) % 4
                                           ? alphabet[tu_rand(&seed) % (sizeof alphabet - 1)]
                                           : (char)tu_rand(&seed);
        size_t len = (size_t)(tu_rand(&seed) % (n + 1));
        dt_value v;
        int rc = dt_edn_read_opts(copy, len, i % 2 ? &o : NULL, &v);
        assert_true(rc == DT_OK || rc == DT_INVALID || rc == DT_LIMIT);
        if (rc == DT_OK) {
            ok++;
            roundtrip(&v);
            dt_value_free(&v);
        } else
            bad++;
        free(copy);
    }
    assert_true(ok > 0 && bad > 0);
}

static void test_nesting_depth_limit(void **state) {
    (void)state;
    size_t n = 200000;
    char *deep = malloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        deep[i] = '[';
        deep[2 * n - 1 - i] = ']';
    }
    dt_value v;
    assert_int_equal(dt_edn_read(deep + n - 1000, 2000, &v), DT_OK); /* exactly 1000 deep */
    dt_value_free(&v);
    assert_int_equal(dt_edn_read(deep + n - 1001, 2002, &v), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(NULL), "edn: nesting deeper than 1000 at 1:1001"));
    assert_int_equal(dt_edn_read(deep, 2 * n, &v), DT_LIMIT);
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.max_depth = 3;
    assert_int_equal(rd_opts("[[[1]]]", &o, &v), DT_OK);
    dt_value_free(&v);
    assert_int_equal(rd_opts("[[[[1]]]]", &o, &v), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(NULL), "nesting deeper than 3 at 1:4"));
    assert_int_equal(rd_opts("[[#_ [1] 2]]", &o, &v), DT_LIMIT);
    o.max_depth = DT_EDN_DEPTH_MAX;
    assert_int_equal(dt_edn_read_opts(deep + n - 4096, 8192, &o, &v), DT_OK);
    /* the printer and the msgpack encoder handle the deepest readable value */
    char *s = write_str(&v, DT_EDN_PRETTY);
    assert_int_equal(strlen(s), 8192);
    dt_free(s);
    void *mp;
    size_t mplen;
    assert_int_equal(dt_msgpack_encode(&v, &mp, &mplen), DT_OK);
    dt_free(mp);
    /* one level more than the maximum cannot be printed */
    dt_value outer;
    assert_int_equal(dt_value_seq(DT_VECTOR, 1, &outer), DT_OK);
    outer.u.seq.items[0] = v;
    char *bad = (char *)1;
    assert_int_equal(dt_edn_write(&outer, 0, &bad, NULL), DT_LIMIT);
    assert_null(bad);
    assert_non_null(strstr(dt_errmsg(NULL), "nested deeper than 4096"));
    dt_value_free(&outer);
    o.max_depth = DT_EDN_DEPTH_MAX + 1;
    assert_int_equal(rd_opts("1", &o, &v), DT_MISUSE);
    o.max_depth = -1;
    assert_int_equal(rd_opts("1", &o, &v), DT_MISUSE);
    free(deep);
}

static void test_streaming_reader_reports_positions(void **state) {
    (void)state;
    const char *text = "1 :two\n  \"three\" ; c\n[4\n 5] #_ 6 {:s #{7}}\n  ";
    dt_edn_reader *r = NULL;
    assert_int_equal(dt_edn_reader_new(text, strlen(text), NULL, &r), DT_OK);
    int line, col;
    size_t off;
    assert_int_equal(dt_edn_reader_pos(r, &line, &col, &off), DT_OK);
    assert_true(line == 1 && col == 1 && off == 0);
    struct {
        dt_type type;
        int line, col;
        size_t off;
    } want[] = {{DT_LONG, 1, 1, 0},
                {DT_KEYWORD, 1, 3, 2},
                {DT_STRING, 2, 3, 9},
                {DT_VECTOR, 3, 1, 21},
                {DT_MAP, 4, 10, 33}};
    dt_value v;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(dt_edn_reader_next(r, &v), DT_ROW);
        assert_int_equal(v.type, want[i].type);
        assert_int_equal(dt_edn_reader_pos(r, &line, &col, &off), DT_OK);
        if (line != want[i].line || col != want[i].col || off != want[i].off)
            fail_msg("form %zu at %d:%d (+%zu)", i, line, col, off);
        dt_value_free(&v);
    }
    assert_int_equal(dt_edn_reader_next(r, &v), DT_DONE);
    assert_int_equal(dt_edn_reader_next(r, &v), DT_DONE);
    assert_int_equal(v.type, DT_NIL);
    assert_int_equal(dt_edn_reader_pos(r, &line, &col, NULL), DT_OK);
    assert_true(line == 5 && col == 3);
    dt_edn_reader_free(r);

    /* errors go to the reader handle, are sticky, and leave earlier forms intact */
    text = "[1] {:a 1 :a 2} [3]";
    assert_int_equal(dt_edn_reader_new(text, strlen(text), NULL, &r), DT_OK);
    assert_int_equal(dt_edn_reader_next(r, &v), DT_ROW);
    dt_value_free(&v);
    dt_value other;
    assert_int_equal(dt_edn_read("]", 1, &other), DT_INVALID); /* a handle-less error meanwhile */
    assert_int_equal(dt_edn_reader_next(r, &v), DT_INVALID);
    assert_string_equal(dt_errmsg(r), "edn: duplicate key :a in map literal at 1:5");
    assert_non_null(strstr(dt_errmsg(NULL), "unexpected ']'"));
    assert_int_equal(dt_edn_reader_pos(r, &line, &col, NULL), DT_OK);
    assert_true(line == 1 && col == 5);
    assert_int_equal(dt_edn_reader_next(r, &v), DT_INVALID);
    dt_edn_reader_free(r);
    assert_string_equal(dt_errmsg(r), ""); /* forgotten with the reader */

    /* many forms: the position cache keeps pos() cheap */
    size_t n = 30000;
    char *many = malloc(n * 4);
    for (size_t i = 0; i < n; i++) memcpy(many + 4 * i, ":k\n ", 4);
    assert_int_equal(dt_edn_reader_new(many, n * 4, NULL, &r), DT_OK);
    size_t count = 0;
    while (dt_edn_reader_next(r, &v) == DT_ROW) {
        count++;
        assert_int_equal(dt_edn_reader_pos(r, &line, &col, NULL), DT_OK);
        assert_true(line == (int)count && col == (count == 1 ? 1 : 2));
        dt_value_free(&v);
    }
    assert_int_equal(count, n);
    dt_edn_reader_free(r);
    free(many);

    assert_int_equal(dt_edn_reader_new("", 0, NULL, &r), DT_OK);
    assert_int_equal(dt_edn_reader_next(r, &v), DT_DONE);
    dt_edn_reader_free(r);
    dt_edn_reader_free(NULL);
}

static void test_misuse_is_reported(void **state) {
    (void)state;
    dt_value v;
    assert_int_equal(dt_edn_read("1", 1, NULL), DT_MISUSE);
    assert_int_equal(dt_edn_read(NULL, 1, &v), DT_MISUSE);
    assert_int_equal(dt_edn_read(NULL, 0, &v), DT_INVALID); /* empty input */
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.version = 99;
    assert_int_equal(dt_edn_read_opts("1", 1, &o, &v), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "options version 99 unknown (library knows 1..1)"));
    dt_edn_reader *r = (dt_edn_reader *)&o;
    assert_int_equal(dt_edn_reader_new("1", 1, &o, &r), DT_INVALID);
    assert_null(r);
    assert_int_equal(dt_edn_reader_new("1", 1, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_edn_reader_next(NULL, &v), DT_MISUSE);
    assert_int_equal(dt_edn_reader_next((dt_edn_reader *)&o, &v), DT_MISUSE); /* wrong kind */
    assert_int_equal(dt_edn_reader_pos(NULL, NULL, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_edn_reader_new("1", 1, NULL, &r), DT_OK);
    assert_int_equal(dt_edn_reader_next(r, NULL), DT_MISUSE);
    dt_edn_reader_free(r);
    char *s;
    assert_int_equal(dt_edn_write(NULL, 0, &s, NULL), DT_MISUSE);
    dt_value_long(1, &v);
    assert_int_equal(dt_edn_write(&v, 0, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_edn_write(&v, 8, &s, NULL), DT_INVALID);
}

/* Fails the Nth allocation for every N until reading succeeds: no leak, no crash. */
static void test_out_of_memory_at_every_allocation(void **state) {
    (void)state;
    const char *doc =
        "[{:a \"s\\n\" :b #{1 2 3} :c #my/t (x y)} 123456789012345678901N 1.5M #:n{:k [\\a]}]";
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.keep_unknown_tags = 1;
    dt_value v;
    int rc = DT_NOMEM;
    long i;
    for (i = 0; rc == DT_NOMEM; i++) {
        dt__alloc_fail_at(i);
        rc = dt_edn_read_opts(doc, strlen(doc), &o, &v);
        dt__alloc_fail_at(-1);
        if (rc == DT_NOMEM) assert_string_equal(dt_errmsg(NULL), "edn: out of memory");
    }
    assert_int_equal(rc, DT_OK);
    assert_true(i > 10);
    char *s;
    rc = DT_NOMEM;
    for (i = 0; rc == DT_NOMEM; i++) {
        dt__alloc_fail_at(i);
        rc = dt_edn_write(&v, DT_EDN_PRETTY, &s, NULL);
        dt__alloc_fail_at(-1);
    }
    assert_int_equal(rc, DT_OK);
    dt_free(s);
    dt_value_free(&v);
}

/* }====== */

/* {====== Printer ====== */

static void test_printer_formats_scalars(void **state) {
    (void)state;
    expect_prints("nil", "nil");
    expect_prints("[true false]", "[true false]");
    expect_prints("-9223372036854775808", "-9223372036854775808");
    expect_prints("0.1", "0.1");
    expect_prints("1.0", "1.0");
    expect_prints("100.0", "100.0");
    expect_prints("-0.0", "-0.0");
    expect_prints("1e300", "1e+300");
    expect_prints("1e22", "1e+22");
    expect_prints("0.30000000000000004", "0.30000000000000004");
    expect_prints("5e-324", "4.94065645841247e-324");
    expect_prints("[##Inf ##-Inf ##NaN]", "[##Inf ##-Inf ##NaN]");
    expect_prints("123456789012345678901234567890", "123456789012345678901234567890N");
    expect_prints("1.50M", "1.50M");
    expect_prints("\"q\\\"b\\\\ \\t\\n\\r\\b\\f\\u0001\\u001F\\u007f\xc3\xa9\"",
                  "\"q\\\"b\\\\ \\t\\n\\r\\b\\f\\u0001\\u001f\\u007f\xc3\xa9\"");
    expect_prints("\"\\u0000\"", "\"\\u0000\"");
    expect_prints("[\\a \\newline \\space \\tab \\return \\backspace \\formfeed \\u0000 \\u00e9 "
                  "\\\xf0\x9f\x98\x80 \\\\ \\\"]",
                  "[\\a \\newline \\space \\tab \\return \\backspace \\formfeed \\u0000 \\u00e9 "
                  "\\\xf0\x9f\x98\x80 \\\\ \\\"]");
    expect_prints("#inst \"2020-01-01T10:00:00.5+10:00\"",
                  "#inst \"2020-01-01T00:00:00.500-00:00\"");
    expect_prints("#inst \"1969-12-31T23:59:59.999Z\"", "#inst \"1969-12-31T23:59:59.999-00:00\"");
    expect_prints("#inst \"+10000-01-01\"", "#inst \"+10000-01-01T00:00:00.000-00:00\"");
    expect_prints("#inst \"-0044-03-15\"", "#inst \"-0044-03-15T00:00:00.000-00:00\"");
    expect_prints("#uuid \"8F7F1A60-0D3E-4C5C-9F6A-0123456789AB\"",
                  "#uuid \"8f7f1a60-0d3e-4c5c-9f6a-0123456789ab\"");
    expect_prints("{:a 1 :b [1 (2) #{3}]}", "{:a 1, :b [1 (2) #{3}]}");
    expect_prints("[:kw sym ns/sym / ...]", "[:kw sym ns/sym / ...]");
    expect_prints("#bytes \"aGVsbG8=\"", "#bytes \"aGVsbG8=\"");
}

/* DT_REF, DT_TUPLE and DT_FLOAT have no EDN syntax: what they read back as. */
static void test_printer_documented_non_identity_mappings(void **state) {
    (void)state;
    dt_value v, back;
    dt_value_ref(123456789012LL, &v);
    char *s = write_str(&v, 0);
    assert_string_equal(s, "123456789012");
    assert_int_equal(rd(s, &back), DT_OK);
    assert_true(back.type == DT_LONG && back.u.i == 123456789012LL);
    dt_free(s);

    assert_int_equal(dt_value_seq(DT_TUPLE, 2, &v), DT_OK);
    dt_value_long(1, &v.u.seq.items[0]);
    assert_int_equal(dt_value_text(DT_STRING, "x", 1, &v.u.seq.items[1]), DT_OK);
    s = write_str(&v, 0);
    assert_string_equal(s, "[1 \"x\"]");
    assert_int_equal(rd(s, &back), DT_OK);
    assert_int_equal(back.type, DT_VECTOR);
    v.type = DT_VECTOR;
    assert_true(dt_value_equal(&v, &back));
    dt_value_free(&back);
    dt_value_free(&v);
    dt_free(s);

    const float floats[] = {1.1f, 0.1f, 3.4028235e38f, 1e-45f, -2.5f, 16777216.0f, 0.0f};
    const char *want[] = {"1.1", "0.1", "3.4028235e+38", "1.4013e-45", "-2.5", "16777216.0", "0.0"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        dt_value_float(floats[i], &v);
        s = write_str(&v, 0);
        assert_string_equal(s, want[i]);
        assert_int_equal(rd(s, &back), DT_OK);
        assert_int_equal(back.type, DT_DOUBLE);
        assert_true((float)back.u.d == floats[i]);
        dt_free(s);
    }
    uint64_t seed = 7;
    for (int i = 0; i < 20000; i++) {
        uint32_t bits = (uint32_t)tu_rand(&seed);
        float f;
        memcpy(&f, &bits, 4);
        char buf[32];
        dl_edn_format_float(f, buf);
        float back_f = (float)dl_edn_strtod(buf, NULL);
        if (!isnan(f) && memcmp(&back_f, &f, 4)) fail_msg("float %a printed %s", (double)f, buf);
        double d;
        uint64_t dbits = tu_rand(&seed);
        memcpy(&d, &dbits, 8);
        dl_edn_format_double(d, buf);
        if (isnan(d)) continue;
        dt_value dv;
        assert_int_equal(rd(buf, &dv), DT_OK);
        assert_int_equal(dv.type, DT_DOUBLE);
        if (memcmp(&dv.u.d, &d, 8)) fail_msg("double %a printed %s", d, buf);
    }

    assert_int_equal(dt_value_text(DT_BYTES, "\0\1\2\xff", 4, &v), DT_OK);
    s = write_str(&v, 0);
    assert_string_equal(s, "#bytes \"AAEC/w==\"");
    dt_free(s);
    roundtrip(&v);
    dt_value_free(&v);
}

static void test_printer_rejects_unprintable_values(void **state) {
    (void)state;
    dt_value v;
    char *s = (char *)1;
    const struct {
        dt_type t;
        const char *text;
    } bad[] = {{DT_KEYWORD, "a b"}, {DT_KEYWORD, ""},  {DT_KEYWORD, ":x"},   {DT_SYMBOL, "true"},
               {DT_SYMBOL, "nil"},  {DT_SYMBOL, "1x"}, {DT_SYMBOL, "a/b/c"}, {DT_SYMBOL, "-1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dt_value_text(bad[i].t, bad[i].text, strlen(bad[i].text), &v), DT_OK);
        assert_int_equal(dt_edn_write(&v, 0, &s, NULL), DT_INVALID);
        assert_null(s);
        assert_non_null(strstr(dt_errmsg(NULL), "cannot be printed as EDN"));
        dt_value_free(&v);
    }
    dt_value_char(0x110000, &v);
    assert_int_equal(dt_edn_write(&v, 0, &s, NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "beyond Unicode"));
    assert_int_equal(dt_value_seq(DT_MAP, 2, &v), DT_OK);
    v.u.seq.n = 1; /* a malformed map, built by hand */
    assert_int_equal(dt_edn_write(&v, 0, &s, NULL), DT_INVALID);
    v.u.seq.n = 2;
    dt_value_free(&v);
    assert_int_equal(dt_value_seq(DT_TAGGED, 2, &v), DT_OK);
    assert_int_equal(dt_value_text(DT_SYMBOL, "_x", 2, &v.u.seq.items[0]), DT_OK);
    assert_int_equal(dt_edn_write(&v, 0, &s, NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "symbol tag starting with a letter"));
    dt_value_free(&v);
}

static void test_pretty_printer_breaks_long_collections(void **state) {
    (void)state;
    dt_value v =
        read_ok("{:short [1 2 3], :long [\"aaaaaaaaaaaaaaaaaaaa\" \"bbbbbbbbbbbbbbbbbbbb\" "
                "\"cccccccccccccccccccc\" \"dddddddddddddddddddd\"], :m {:x 1}}");
    char *s = write_str(&v, DT_EDN_PRETTY);
    assert_string_equal(s, "{:short [1 2 3],\n"
                           " :long [\"aaaaaaaaaaaaaaaaaaaa\"\n"
                           "        \"bbbbbbbbbbbbbbbbbbbb\"\n"
                           "        \"cccccccccccccccccccc\"\n"
                           "        \"dddddddddddddddddddd\"],\n"
                           " :m {:x 1}}");
    dt_free(s);
    s = write_str(&v, DT_EDN_COMPACT);
    assert_null(strchr(s, '\n'));
    dt_free(s);
    dt_value_free(&v);
    v = read_ok("[1 2 3]");
    s = write_str(&v, DT_EDN_PRETTY);
    assert_string_equal(s, "[1 2 3]");
    dt_free(s);
    dt_value_free(&v);
}

static void test_roundtrip_corpus(void **state) {
    (void)state;
    const char *corpus[] = {
        "nil",
        "[]",
        "()",
        "{}",
        "#{}",
        "[[] () {} #{}]",
        "-1",
        "1.5",
        "##NaN",
        "\"\"",
        "\\u0000",
        "\"\\u0000\\u0001 \\\" \\\\ \\n \xe2\x82\xac \xf0\x9f\x98\x80\"",
        ":a/b",
        "a/b",
        "/",
        "#inst \"2024-02-29T12:34:56.789Z\"",
        "#uuid \"00000000-0000-0000-0000-000000000000\"",
        "123456789012345678901234567890N",
        "-1.000M",
        "1E+5M",
        "#bytes \"\"",
        "{:db/id -1 :person/name \"x\" :person/friends #{[:person/id 1] [:person/id 2]}}",
        "[:find ?e ?n :in $ % :where [?e :name ?n] (rule ?e) [(> ?n 3)]]",
        "#my/tag {:k #other [1 2]}",
        "{nil nil, false 0, true 1}",
        "(\\a \\b (\\c))",
        "#{1 1.0 1N 1M \"1\" :1}"};
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        dt_edn_options o = DT_EDN_OPTIONS_INIT;
        o.keep_unknown_tags = 1;
        dt_value v;
        if (rd_opts(corpus[i], &o, &v) != DT_OK) fail_msg("<%s>: %s", corpus[i], dt_errmsg(NULL));
        roundtrip(&v);
        dt_value_free(&v);
    }
}

static void test_roundtrip_random_trees(void **state) {
    (void)state;
    uint64_t seed = 0x5eed2024ULL;
    for (int i = 0; i < 3000; i++) {
        dt_value v;
        gen_value(&seed, GEN_EDN_EXACT, 1 + i % 5, &v);
        roundtrip(&v);
        dt_value_free(&v);
    }
}

/* }====== */

/* {====== The shared data later issues read ====== */

static size_t count_occurrences(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++) n++;
    return n;
}

static void test_reads_conformance_cases(void **state) {
    (void)state;
    char *path = tu_shared_path("conformance/cases.edn");
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text) fail_msg("cannot read %s (set DT_SHARED_DIR)", path);
    dt_value v;
    if (dt_edn_read(text, len, &v) != DT_OK) fail_msg("%s: %s", path, dt_errmsg(NULL));
    assert_int_equal(v.type, DT_VECTOR);
    /* each case is a map that starts a line with {:id "..." */
    size_t want = count_occurrences(text, "\n{:id \"");
    assert_true(want >= 100);
    assert_int_equal(v.u.seq.n, want);
    for (size_t i = 0; i < v.u.seq.n; i++) {
        dt_value *c = &v.u.seq.items[i];
        assert_int_equal(c->type, DT_MAP);
        assert_int_equal(c->u.seq.items[0].type, DT_KEYWORD);
        assert_string_equal(c->u.seq.items[0].u.s.ptr, "id");
        assert_int_equal(c->u.seq.items[1].type, DT_STRING);
        /* queries and inputs are EDN inside strings: they must read too */
        for (size_t k = 0; k + 1 < c->u.seq.n; k += 2) {
            const char *key = c->u.seq.items[k].u.s.ptr;
            dt_value *val = &c->u.seq.items[k + 1];
            if (!strcmp(key, "query") && val->type == DT_STRING) {
                dt_value q;
                if (dt_edn_read(val->u.s.ptr, val->u.s.len, &q) != DT_OK)
                    fail_msg("case %zu query: %s", i, dt_errmsg(NULL));
                dt_value_free(&q);
            }
        }
    }
    roundtrip(&v);
    dt_value_free(&v);
    free(text);
    free(path);

    /* and every dataset and schema beside it */
    char *dir = tu_shared_path("conformance/datasets");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".edn")) continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        text = tu_read_file(full, &len);
        assert_non_null(text);
        if (dt_edn_read(text, len, &v) != DT_OK) fail_msg("%s: %s", full, dt_errmsg(NULL));
        assert_true(v.type == DT_VECTOR || v.type == DT_MAP);
        dt_value_free(&v);
        free(text);
        files++;
    }
    closedir(d);
    assert_true(files > 0);
    free(dir);
}

static void test_reads_people20k_bench_data(void **state) {
    (void)state;
    char *path = tu_shared_path("bench/people20k.edn");
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text) fail_msg("cannot read %s (set DT_SHARED_DIR)", path);
    dt_value v;
    if (dt_edn_read(text, len, &v) != DT_OK) fail_msg("%s: %s", path, dt_errmsg(NULL));
    assert_int_equal(v.type, DT_VECTOR);
    assert_int_equal(v.u.seq.n, 20000);
    for (size_t i = 0; i < v.u.seq.n; i++) {
        dt_value *m = &v.u.seq.items[i];
        assert_int_equal(m->type, DT_MAP);
        assert_int_equal(m->u.seq.n, 16);
        assert_string_equal(m->u.seq.items[0].u.s.ptr, "db/id");
        assert_int_equal(m->u.seq.items[1].type, DT_LONG);
        assert_true(m->u.seq.items[1].u.i < 0);
        assert_int_equal(m->u.seq.items[9].type, DT_VECTOR); /* :alias */
    }
    /* the first entity, exactly */
    char *s = write_str(&v.u.seq.items[0], 0);
    assert_string_equal(
        s, "{:db/id -7775, :name \"Petr\", :last-name \"Ivanov\", :full-name \"Petr Ivanov\", "
           ":alias [], :sex :female, :age 67, :salary 85172}");
    dt_free(s);
    /* the streaming reader sees one form */
    dt_edn_reader *r;
    assert_int_equal(dt_edn_reader_new(text, len, NULL, &r), DT_OK);
    dt_value w;
    assert_int_equal(dt_edn_reader_next(r, &w), DT_ROW);
    int line, col;
    dt_edn_reader_pos(r, &line, &col, NULL);
    assert_int_equal(line, 3); /* after two comment lines */
    assert_true(dt_value_equal(&v, &w));
    dt_value_free(&w);
    assert_int_equal(dt_edn_reader_next(r, &w), DT_DONE);
    dt_edn_reader_free(r);
    dt_value_free(&v);
    free(text);
    free(path);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_nil_booleans_and_integers),
        cmocka_unit_test(test_reads_floats_bigdecs_and_symbolic_values),
        cmocka_unit_test(test_rejects_malformed_numbers),
        cmocka_unit_test(test_reads_every_string_escape),
        cmocka_unit_test(test_reads_characters),
        cmocka_unit_test(test_reads_keywords_and_symbols),
        cmocka_unit_test(test_reads_nested_collections),
        cmocka_unit_test(test_comments_commas_and_discard),
        cmocka_unit_test(test_inst_with_offsets_and_fractions),
        cmocka_unit_test(test_uuid_and_bytes_tags),
        cmocka_unit_test(test_tag_handler_and_unknown_tags),
        cmocka_unit_test(test_namespaced_maps),
        cmocka_unit_test(test_error_messages_carry_line_and_column),
        cmocka_unit_test(test_every_truncated_prefix_is_an_error),
        cmocka_unit_test(test_random_mutations_never_crash),
        cmocka_unit_test(test_empty_collection_before_any_value),
        cmocka_unit_test(test_nesting_depth_limit),
        cmocka_unit_test(test_streaming_reader_reports_positions),
        cmocka_unit_test(test_misuse_is_reported),
        cmocka_unit_test(test_out_of_memory_at_every_allocation),
        cmocka_unit_test(test_printer_formats_scalars),
        cmocka_unit_test(test_printer_documented_non_identity_mappings),
        cmocka_unit_test(test_printer_rejects_unprintable_values),
        cmocka_unit_test(test_pretty_printer_breaks_long_collections),
        cmocka_unit_test(test_roundtrip_corpus),
        cmocka_unit_test(test_roundtrip_random_trees),
        cmocka_unit_test(test_reads_conformance_cases),
        cmocka_unit_test(test_reads_people20k_bench_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
