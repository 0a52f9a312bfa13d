/*
 * test_query_fn.c -- the built-in functions and aggregates of queries
 * (query/fn.c through exec.h): at least one case per function and per
 * aggregate with exact results, the edge cases (long overflow, NaN,
 * INT64_MIN, empty and non-ASCII strings, invalid regexes, huge indices)
 * and the functions that read a database (get-else, get-some, missing?)
 * against a real database in a temp dir.
 *
 * Arguments are handed over as table cells are: texts without a NUL
 * after them (allocated to their exact length, so reading past one shows
 * under ASan).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "dbutil.h"
#include "exec.h"
#include "parse.h"

static dq_fnctx *ctx;

/* {====== Helpers ====== */

/* Reads EDN keeping unknown tags (#regex "..."). */
static dt_value rd(const char *text) {
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.keep_unknown_tags = 1;
    dt_value v = DT_VALUE_NIL;
    if (dt_edn_read_opts(text, strlen(text), &o, &v) != DT_OK)
        fail_msg("edn %s: %s", text, dt_errmsg(NULL));
    return v;
}

/* A copy of src whose texts are exactly len bytes (no NUL after). */
static void bor(const dt_value *src, dt_value *dst) {
    *dst = *src;
    switch (src->type) {
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BIGINT:
    case DT_BIGDEC:
    case DT_BYTES:
        dst->u.s.ptr = malloc(src->u.s.len ? src->u.s.len : 1);
        assert_non_null(dst->u.s.ptr);
        memcpy(dst->u.s.ptr, src->u.s.ptr, src->u.s.len);
        break;
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED:
        dst->u.seq.items = malloc((src->u.seq.n ? src->u.seq.n : 1) * sizeof(dt_value));
        assert_non_null(dst->u.seq.items);
        for (size_t i = 0; i < src->u.seq.n; i++) bor(&src->u.seq.items[i], &dst->u.seq.items[i]);
        break;
    default:
        break;
    }
}

static void bor_free(dt_value *v) {
    switch (v->type) {
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BIGINT:
    case DT_BIGDEC:
    case DT_BYTES:
        free(v->u.s.ptr);
        break;
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED:
        for (size_t i = 0; i < v->u.seq.n; i++) bor_free(&v->u.seq.items[i]);
        free(v->u.seq.items);
        break;
    default:
        break;
    }
}

/* The result of calling `fn` on the arguments in the EDN vector `args`:
 * its EDN text, or "error: <message>" (malloc'd).  Source functions get
 * the snapshot db. */
static int no_print; /* test_every_type: results are not printed */

static char *call_db(dt_db *db, const char *fn, const char *args) {
    const dq_builtin *bi = dq_builtin_find(fn, strlen(fn));
    if (!bi) fail_msg("no built-in %s", fn);
    dt_value a = rd(args), b;
    assert_true(a.type == DT_VECTOR);
    bor(&a, &b);
    dt_value out;
    out.type = DT_LONG; /* must be overwritten */
    int rc = bi->kind == DQ_FNK_SOURCE
                 ? dq_call_source(ctx, bi->id, db, b.u.seq.items, b.u.seq.n, &out)
                 : dq_call(ctx, bi->id, b.u.seq.items, b.u.seq.n, &out);
    bor_free(&b);
    dt_value_free(&a);
    char *s;
    if (rc != DT_OK) {
        assert_int_equal(out.type, DT_NIL);
        size_t n = strlen(dt_errmsg(NULL)) + 16;
        s = malloc(n);
        snprintf(s, n, "error: %s", dt_errmsg(NULL));
        if (rc != DT_INVALID) fail_msg("%s %s: rc %d (%s)", fn, args, rc, s);
    } else {
        s = no_print ? strdup("") : tu_edn(&out);
        dt_value_free(&out);
    }
    return s;
}

static void check_db(dt_db *db, const char *fn, const char *args, const char *want) {
    char *got = call_db(db, fn, args);
    if (strcmp(got, want) != 0) fail_msg("(%s %s): got %s, want %s", fn, args, got, want);
    free(got);
}

/* CALL: the exact EDN of the result.  ERR: an error whose message
 * contains `needle`. */
static void CALL(const char *fn, const char *args, const char *want) {
    check_db(NULL, fn, args, want);
}

static void ERR_DB(dt_db *db, const char *fn, const char *args, const char *needle) {
    char *got = call_db(db, fn, args);
    if (strncmp(got, "error: ", 7) != 0 || !strstr(got, needle))
        fail_msg("(%s %s): got %s, want an error with \"%s\"", fn, args, got, needle);
    free(got);
}
static void ERR(const char *fn, const char *args, const char *needle) {
    ERR_DB(NULL, fn, args, needle);
}

/* The aggregate `agg` with parameters `params` over the values of the
 * EDN vector `vals`: EDN text or "error: ..." (malloc'd). */
static char *agg_run(const char *agg, const char *params, const char *vals) {
    const dq_aggregate *ag = dq_aggregate_find(agg, strlen(agg));
    if (!ag) fail_msg("no aggregate %s", agg);
    dt_value p = rd(params), v = rd(vals), pb, vb, out;
    bor(&p, &pb);
    bor(&v, &vb);
    int rc =
        dq_agg_apply(ctx, ag->id, pb.u.seq.items, pb.u.seq.n, vb.u.seq.items, vb.u.seq.n, &out);
    bor_free(&pb);
    bor_free(&vb);
    dt_value_free(&p);
    dt_value_free(&v);
    char *s;
    if (rc != DT_OK) {
        if (rc != DT_INVALID) fail_msg("aggregate %s: rc %d", agg, rc);
        size_t n = strlen(dt_errmsg(NULL)) + 16;
        s = malloc(n);
        snprintf(s, n, "error: %s", dt_errmsg(NULL));
    } else {
        s = tu_edn(&out);
        dt_value_free(&out);
    }
    return s;
}

static void AGG(const char *agg, const char *params, const char *vals, const char *want) {
    char *got = agg_run(agg, params, vals);
    if (strcmp(got, want) != 0)
        fail_msg("(%s %s %s): got %s, want %s", agg, params, vals, got, want);
    free(got);
}

static void AGG_ERR(const char *agg, const char *params, const char *vals, const char *needle) {
    char *got = agg_run(agg, params, vals);
    if (strncmp(got, "error: ", 7) != 0 || !strstr(got, needle))
        fail_msg("(%s %s): got %s, want an error with \"%s\"", agg, vals, got, needle);
    free(got);
}

/* A double result compared within a relative 1e-12. */
static void AGG_NEAR(const char *agg, const char *vals, double want) {
    char *got = agg_run(agg, "[]", vals);
    double d = strtod(got, NULL);
    if (!(fabs(d - want) <= 1e-12 * fabs(want)))
        fail_msg("(%s %s): got %s, want %.17g", agg, vals, got, want);
    free(got);
}

/* }====== */

/* {====== Comparisons ====== */

static void test_equality(void **state) {
    (void)state;
    CALL("=", "[1]", "true");
    CALL("=", "[1 1 1]", "true");
    CALL("=", "[1 1 2]", "false");
    CALL("=", "[1 1.0]", "true"); /* DataScript: one number type */
    CALL("=", "[[1 2] [1.0 2]]", "true");
    CALL("not=", "[1 1.0]", "false");
    CALL("=", "[1 1N]", "true");
    CALL("=", "[1.5M 1.50M]", "true");
    CALL("=", "[\"a\" \"a\"]", "true");
    CALL("=", "[\"a\" :a]", "false");
    CALL("=", "[:female :female]", "true");
    CALL("=", "[nil nil]", "true");
    CALL("=", "[nil false]", "false");
    CALL("=", "[[1 2] (1 2)]", "true");
    CALL("=", "[[1 2] [1 2.0]]", "true");
    CALL("=", "[#{1 2} #{2 1}]", "true");
    CALL("=", "[{:a 1 :b 2} {:b 2 :a 1}]", "true");
    CALL("=", "[{:a 1} {:a 2}]", "false");
    CALL("=", "[##NaN ##NaN]", "false");
    CALL("==", "[1 1.0 1N]", "true");
    CALL("==", "[1 2]", "false");
    CALL("==", "[##NaN ##NaN]", "false");
    CALL("==", "[7]", "true");
    /* with anything but numbers, as = (DataScript) */
    CALL("==", "[1 \"1\"]", "false");
    CALL("==", "[\"a\" \"a\"]", "true");
    CALL("==", "[\"Anna\" \"Z\"]", "false");
    CALL("==", "[:a :a :a]", "true");
    CALL("not=", "[1 2]", "true");
    CALL("not=", "[1 1 1]", "false");
    CALL("not=", "[\"Ivan\" \"Ivan\"]", "false");
    CALL("!=", "[\"Ivan\" \"Olga\"]", "true");
    CALL("!=", "[1]", "false");
}

static void test_order(void **state) {
    (void)state;
    CALL("<", "[1 2 3]", "true");
    CALL("<", "[1 3 2]", "false");
    CALL("<", "[1 1]", "false");
    CALL("<", "[5]", "true");
    CALL("<=", "[1 1 2]", "true");
    CALL(">", "[3 2 1]", "true");
    CALL(">", "[3 3]", "false");
    CALL(">=", "[3 3 1]", "true");
    CALL(">=", "[3 4]", "false");
    /* numbers of different types compare numerically */
    CALL("<", "[1 1.5 2N 2.5M]", "true");
    CALL("<", "[9007199254740993 9007199254740992.0]", "false"); /* exact, no rounding */
    CALL(">", "[9007199254740993 9007199254740992.0]", "true");
    CALL("<", "[1 ##Inf]", "true");
    CALL("<", "[1 ##NaN]", "false");
    CALL(">=", "[##NaN 1]", "false");
    /* other comparable types: Clojure's compare */
    CALL("<", "[\"Anna\" \"J\"]", "true");
    CALL("<", "[\"b\" \"J\"]", "false");
    CALL("<", "[:a :b]", "true");
    CALL("<", "[:b :a/a]", "true"); /* no namespace first */
    CALL("<", "[false true]", "true");
    CALL("<", "[[1 2] [1 3]]", "true");
    CALL("<", "[[9] [1 1]]", "true");          /* vectors: shorter first */
    ERR("<", "[nil 1]", "cannot compare nil"); /* as DataScript, which fails */
    ERR(">=", "[2 1 nil]", "cannot compare nil");
    CALL("<", "[#inst \"2020-01-01T00:00:00Z\" #inst \"2021-01-01T00:00:00Z\"]", "true");
    ERR(">", "[\"a\" 1]", "query: (> \"a\" 1): cannot compare string and long");
    ERR("<", "[1 2 :x]", "cannot compare long and keyword");
    ERR("<", "[#{1} #{2}]", "cannot compare values of type set");
    ERR("<", "[(1) (2)]", "cannot compare values of type list");
}

static void test_compare(void **state) {
    (void)state;
    CALL("compare", "[1 2]", "-1");
    CALL("compare", "[2 2.0]", "0");
    CALL("compare", "[3 2]", "1");
    CALL("compare", "[\"a\" \"d\"]", "-3"); /* Java's String.compareTo */
    CALL("compare", "[\"abc\" \"a\"]", "2");
    CALL("compare", "[nil 1]", "-1");
    CALL("compare", "[1 nil]", "1");
    CALL("compare", "[:a/b :a/b]", "0");
    CALL("compare", "[[1 2] [1 2 3]]", "-1");
    CALL("compare", "[\\a \\c]", "-2");
    CALL("compare", "[true false]", "1");
    ERR("compare", "[1 \"a\"]", "cannot compare long and string");
}

/* }====== */

/* {====== Arithmetic ====== */

static void test_add_sub_mul(void **state) {
    (void)state;
    CALL("+", "[]", "0");
    CALL("+", "[25 60000 1]", "60026");
    CALL("+", "[1 0.5]", "1.5");
    CALL("+", "[9223372036854775806 1]", "9223372036854775807");
    ERR("+", "[9223372036854775807 1]", "query: (+ 9223372036854775807 1): long overflow");
    ERR("+", "[1 nil]", "not a number: nil");
    ERR("+", "[1 \"2\"]", "not a number: string");
    /* bigint and bigdec: exact, as Clojure's BigInt and BigDecimal */
    CALL("+", "[1 2N]", "3N");
    CALL("+", "[9223372036854775807 1N]", "9223372036854775808N");
    CALL("+", "[1.50M 1]", "2.50M");
    CALL("+", "[0.1M 0.2M]", "0.3M");
    CALL("+", "[1N 2.5M]", "3.5M");
    CALL("+", "[1N 0.5]", "1.5"); /* a double makes a double */
    CALL("-", "[5N]", "-5N");
    CALL("-", "[1N 3 2]", "-4N");
    CALL("-", "[1.5M 1.5M]", "0.0M");
    CALL("-", "[-0.05M 0.05M]", "-0.10M");
    CALL("*", "[99999999999999999999N 99999999999999999999N]",
         "9999999999999999999800000000000000000001N");
    CALL("*", "[1.5M 2]", "3.0M");
    CALL("*", "[-1.5M 0.25M]", "-0.375M");
    CALL("*", "[0N -7]", "0N");
    CALL("+", "[1E5M 1]", "100001M");
    CALL("inc", "[9223372036854775807N]", "9223372036854775808N");
    CALL("dec", "[0.5M]", "-0.5M");
    CALL("*", "[1E99999M 1E99999M 1E99999M]", "1E299997M"); /* scales add: no digits */
    ERR("+", "[1E200000M 1]", "result of more than 100000 digits");
    ERR("/", "[1N 2]", "bigint is not supported by /");
    ERR("quot", "[1.5M 2]", "bigdec is not supported by quot");
    CALL("quot", "[100000000000000000000N 3]", "33333333333333333333N");
    CALL("rem", "[100000000000000000000N 3]", "1N");
    CALL("quot", "[-7N 2]", "-3N");
    CALL("rem", "[-7N 2]", "-1N");
    CALL("mod", "[-7N 2]", "1N");
    CALL("mod", "[7 -2N]", "-1N");
    CALL("mod", "[-8N 2]", "0N");
    CALL("quot", "[1N 7]", "0N");
    CALL("quot", "[-9223372036854775808N -1]", "9223372036854775808N");
    CALL("quot", "[7N 2.0]", "3.0");
    ERR("quot", "[7N 0]", "divide by zero");
    ERR("mod", "[7N 0N]", "divide by zero");
    CALL("-", "[5]", "-5");
    CALL("-", "[10 1 2]", "7");
    CALL("-", "[1.5]", "-1.5");
    ERR("-", "[-9223372036854775808]", "long overflow");
    ERR("-", "[-9223372036854775807 2]", "long overflow");
    CALL("*", "[]", "1");
    CALL("*", "[2 3 7]", "42");
    CALL("*", "[2 0.25]", "0.5");
    ERR("*", "[4611686018427387904 2]", "long overflow");
    ERR("*", "[-9223372036854775808 -1]", "long overflow");
    CALL("+", "[##NaN 1]", "##NaN");
}

static void test_div(void **state) {
    (void)state;
    CALL("/", "[6 3]", "2");
    CALL("/", "[7 2]", "3.5"); /* Clojure: 7/2; Datolite has no ratios */
    CALL("/", "[2]", "0.5");
    CALL("/", "[1]", "1");
    CALL("/", "[60 2 3]", "10");
    CALL("/", "[60 7 2]", "4.285714285714286");
    CALL("/", "[1.0 4]", "0.25");
    ERR("/", "[1 0]", "query: (/ 1 0): divide by zero");
    ERR("/", "[1.0 0.0]", "divide by zero");
    ERR("/", "[0]", "divide by zero");
    ERR("/", "[-9223372036854775808 -1]", "long overflow");
    CALL("/", "[##NaN 2]", "##NaN");
}

static void test_quot_rem_mod(void **state) {
    (void)state;
    CALL("quot", "[7 2]", "3");
    CALL("quot", "[-7 2]", "-3");
    CALL("rem", "[7 2]", "1");
    CALL("rem", "[-7 2]", "-1");
    CALL("mod", "[-7 2]", "1");
    CALL("mod", "[7 -2]", "-1");
    CALL("mod", "[-8 2]", "0");
    CALL("quot", "[7.5 2]", "3.0");
    CALL("rem", "[7.5 2]", "1.5");
    CALL("mod", "[-7.5 2]", "0.5");
    ERR("quot", "[-9223372036854775808 -1]", "long overflow");
    CALL("rem", "[-9223372036854775808 -1]", "0");
    CALL("mod", "[-9223372036854775808 -1]", "0");
    ERR("quot", "[1 0]", "divide by zero");
    ERR("rem", "[1 0]", "divide by zero");
    ERR("mod", "[1 0.0]", "divide by zero");
    ERR("mod", "[##NaN 2]", "not a finite number");
    ERR("quot", "[\"7\" 2]", "not a number: string");
}

static void test_inc_dec_min_max(void **state) {
    (void)state;
    CALL("inc", "[41]", "42");
    CALL("inc", "[1.5]", "2.5");
    ERR("inc", "[9223372036854775807]", "query: (inc 9223372036854775807): long overflow");
    CALL("dec", "[0]", "-1");
    ERR("dec", "[-9223372036854775808]", "long overflow");
    ERR("inc", "[nil]", "not a number: nil");
    CALL("min", "[3 1 2]", "1");
    CALL("min", "[3]", "3");
    CALL("min", "[2 1.5]", "1.5");
    CALL("max", "[25 50000]", "50000");
    CALL("max", "[1 2.0 2]", "2"); /* the last of equal maxima, as Clojure */
    CALL("min", "[2 1 1.0]", "1.0");
    CALL("max", "[1 ##NaN 3]", "##NaN");
    /* other values compare in value order, as DataScript's min and max */
    CALL("max", "[\"a\" \"b\"]", "\"b\"");
    CALL("min", "[\"b\" \"a\" \"c\"]", "\"a\"");
    CALL("max", "[:b :a]", ":b");
    CALL("min", "[:b :a]", ":a");
    CALL("max", "[3 \"a\"]", "\"a\""); /* types order: numbers before strings */
}

static void test_number_predicates(void **state) {
    (void)state;
    CALL("zero?", "[0]", "true");
    CALL("zero?", "[0.0]", "true");
    CALL("zero?", "[-0.0]", "true");
    CALL("zero?", "[0M]", "true");
    CALL("zero?", "[1]", "false");
    CALL("pos?", "[1]", "true");
    CALL("pos?", "[0]", "false");
    CALL("pos?", "[##NaN]", "false");
    CALL("neg?", "[-1.5]", "true");
    CALL("neg?", "[-1N]", "true");
    CALL("neg?", "[##NaN]", "false");
    CALL("even?", "[4]", "true");
    CALL("even?", "[-3]", "false");
    CALL("even?", "[12345678901234567890N]", "true");
    CALL("odd?", "[-3]", "true");
    CALL("odd?", "[0]", "false");
    ERR("even?", "[1.0]", "argument must be an integer");
    ERR("zero?", "[nil]", "not a number: nil");
    ERR("pos?", "[\"1\"]", "not a number: string");
}

/* }====== */

/* {====== Strings ====== */

static void test_str(void **state) {
    (void)state;
    CALL("str", "[]", "\"\"");
    CALL("str", "[\"age=\" 25]", "\"age=25\"");
    CALL("str", "[nil \"a\" nil]", "\"a\"");
    CALL("str", "[:a/b \" \" sym \" \" \\x]", "\":a/b sym x\"");
    CALL("str", "[1.0 \" \" 0.1 \" \" 1.5E10 \" \" 1.0E-5 \" \" 1234567.0 \" \" 0.001]",
         "\"1.0 0.1 1.5E10 1.0E-5 1234567.0 0.001\"");
    CALL("str", "[##NaN ##Inf ##-Inf -0.0]", "\"NaNInfinity-Infinity-0.0\"");
    CALL("str", "[true false]", "\"truefalse\"");
    CALL("str", "[12345678901234567890N]", "\"12345678901234567890\"");
    CALL("str", "[[1 \"a\" :k]]", "\"[1 \\\"a\\\" :k]\"");
    CALL("str", "[#uuid \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\"]",
         "\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\"");
    CALL("str", "[\"é\" \"☃\"]", "\"é☃\"");
}

static void test_subs(void **state) {
    (void)state;
    CALL("subs", "[\"Hello\" 1]", "\"ello\"");
    CALL("subs", "[\"Hello\" 1 3]", "\"el\"");
    CALL("subs", "[\"Hello\" 5]", "\"\"");
    CALL("subs", "[\"\" 0 0]", "\"\"");
    CALL("subs", "[\"héllo\" 1 2]", "\"é\"");
    CALL("subs", "[\"a😀b\" 1 3]", "\"😀\""); /* UTF-16 units, as Java */
    ERR("subs", "[\"a😀b\" 2]", "splits a surrogate pair");
    ERR("subs", "[\"Hello\" 6]", "string index out of range");
    ERR("subs", "[\"Hello\" 3 2]", "string index out of range");
    ERR("subs", "[\"Hello\" -1]", "string index out of range");
    ERR("subs", "[\"Hello\" 0 9223372036854775807]", "string index out of range");
    ERR("subs", "[\"Hello\" 1.0]", "index is not a long");
    ERR("subs", "[:Hello 1]", "not a string: keyword");
}

static void test_count(void **state) {
    (void)state;
    CALL("count", "[\"Anna\"]", "4");
    CALL("count", "[\"\"]", "0");
    CALL("count", "[\"日本\"]", "2");
    CALL("count", "[\"😀\"]", "2"); /* UTF-16 units, as Java */
    CALL("count", "[nil]", "0");
    CALL("count", "[[1 2 3]]", "3");
    CALL("count", "[(1)]", "1");
    CALL("count", "[#{1 2}]", "2");
    CALL("count", "[{:a 1 :b 2}]", "2");
    ERR("count", "[42]", "query: (count 42): count not supported on long");
}

static void test_clojure_string(void **state) {
    (void)state;
    CALL("clojure.string/starts-with?", "[\"Oleg\" \"O\"]", "true");
    CALL("clojure.string/starts-with?", "[\"Oleg\" \"\"]", "true");
    CALL("clojure.string/starts-with?", "[\"O\" \"Ol\"]", "false");
    CALL("clojure.string/ends-with?", "[\"Oleg\" \"eg\"]", "true");
    CALL("clojure.string/ends-with?", "[\"Oleg\" \"O\"]", "false");
    CALL("clojure.string/includes?", "[\"Oleg\" \"le\"]", "true");
    CALL("clojure.string/includes?", "[\"Oleg\" \"\"]", "true");
    CALL("clojure.string/includes?", "[\"\" \"x\"]", "false");
    ERR("clojure.string/includes?", "[\"Oleg\" nil]", "not a string: nil");
    ERR("clojure.string/starts-with?", "[:Oleg \"O\"]", "not a string: keyword");
    CALL("clojure.string/blank?", "[\"\"]", "true");
    CALL("clojure.string/blank?", "[nil]", "true");
    CALL("clojure.string/blank?", "[\" \\t\\n\"]", "true");
    CALL("clojure.string/blank?", "[\" x \"]", "false");
    CALL("clojure.string/blank?", "[\"\u2003\"]", "true"); /* em space */
    ERR("clojure.string/blank?", "[1]", "not a string: long");
    CALL("clojure.string/lower-case", "[\"Hello World\"]", "\"hello world\"");
    CALL("clojure.string/upper-case", "[\"Hello World\"]", "\"HELLO WORLD\"");
    CALL("clojure.string/lower-case", "[\"\"]", "\"\"");
    CALL("clojure.string/upper-case", "[\"straße 1\"]", "\"STRAßE 1\""); /* one to one only */
    ERR("clojure.string/upper-case", "[nil]", "not a string: nil");
}

/* Case mapping outside ASCII needs the C.UTF-8 locale, which Debian's
 * glibc has built in. */
static void test_case_unicode(void **state) {
    (void)state;
    CALL("clojure.string/lower-case", "[\"ÀÉÎ Привет ΣΑΣ\"]", "\"àéî привет σασ\"");
    CALL("clojure.string/upper-case", "[\"àéî привет\"]", "\"ÀÉÎ ПРИВЕТ\"");
}

/* }====== */

/* {====== Names ====== */

static void test_keyword_name_namespace(void **state) {
    (void)state;
    CALL("keyword", "[\"a\"]", ":a");
    CALL("keyword", "[\"user/name\"]", ":user/name");
    CALL("keyword", "[\"user\" \"name\"]", ":user/name");
    CALL("keyword", "[nil \"name\"]", ":name");
    CALL("keyword", "[:k]", ":k");
    CALL("keyword", "[sym]", ":sym");
    CALL("keyword", "[nil]", "nil");
    ERR("keyword", "[1]", "cannot make a keyword of long");
    ERR("keyword", "[\"\"]", "empty keyword");
    CALL("name", "[:user/name]", "\"name\"");
    CALL("name", "[:name]", "\"name\"");
    CALL("name", "[my.ns/sym]", "\"sym\"");
    CALL("name", "[\"str\"]", "\"str\"");
    ERR("name", "[1]", "not a keyword or symbol: long");
    CALL("namespace", "[:user/name]", "\"user\"");
    CALL("namespace", "[:name]", "nil");
    CALL("namespace", "[my.ns/sym]", "\"my.ns\"");
    ERR("namespace", "[\"a/b\"]", "not a keyword or symbol: string");
}

/* }====== */

/* {====== Regexes ====== */

static void test_regex(void **state) {
    (void)state;
    CALL("re-pattern", "[\"a+\"]", "#regex \"a+\"");
    CALL("re-pattern", "[#regex \"a+\"]", "#regex \"a+\"");
    ERR("re-pattern", "[\"(\"]",
        "query: (re-pattern \"(\"): invalid regex: missing closing parenthesis");
    ERR("re-pattern", "[1]", "not a string: long");
    CALL("re-find", "[#regex \"\\\\d+\" \"abc 123 45\"]", "\"123\"");
    CALL("re-find", "[\"\\\\d+\" \"abc 123 45\"]", "\"123\""); /* a string pattern works too */
    CALL("re-find", "[#regex \"\\\\d+\" \"abc\"]", "nil");
    CALL("re-find", "[#regex \"(\\\\w+)@(\\\\w+)\\\\.ru\" \"mail: ivan@ivanov.ru\"]",
         "[\"ivan@ivanov.ru\" \"ivan\" \"ivanov\"]");
    CALL("re-find", "[#regex \"(a)|(b)\" \"b\"]", "[\"b\" nil \"b\"]");
    CALL("re-find", "[#regex \"(?i)IVAN\" \"ivan\"]", "\"ivan\"");
    CALL("re-find", "[#regex \"é.\" \"café!\"]", "\"é!\"");
    CALL("re-matches", "[#regex \"\\\\d+\" \"123\"]", "\"123\"");
    CALL("re-matches", "[#regex \"\\\\d+\" \"123a\"]", "nil");
    CALL("re-matches", "[#regex \"a|ab\" \"ab\"]", "\"ab\""); /* backtracks to the whole string */
    CALL("re-matches", "[#regex \"(\\\\d)(\\\\d)\" \"12\"]", "[\"12\" \"1\" \"2\"]");
    CALL("re-seq", "[#regex \"\\\\d+\" \"a1b22c333\"]", "(\"1\" \"22\" \"333\")");
    CALL("re-seq", "[#regex \"\\\\d+\" \"abc\"]", "nil");
    CALL("re-seq", "[#regex \"a*\" \"baa\"]", "(\"\" \"aa\" \"\")");
    CALL("re-seq", "[#regex \"\" \"é😀\"]", "(\"\" \"\" \"\")");
    CALL("re-seq", "[#regex \"(\\\\w)(\\\\d)\" \"a1 b2\"]",
         "([\"a1\" \"a\" \"1\"] [\"b2\" \"b\" \"2\"])");
    ERR("re-find", "[#regex \"(\" \"x\"]", "invalid regex");
    ERR("re-find", "[#regex \"a\" nil]", "not a string: nil");
    ERR("re-find", "[1 \"a\"]", "not a regex: long");
    /* catastrophic backtracking stops at the match limit with an error */
    ERR("re-find", "[#regex \"(a+)+$\" \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\"]",
        "regex match failed");
}

/* More patterns than the cache holds: evicted ones compile again. */
static void test_regex_cache(void **state) {
    (void)state;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 40; i++) {
            char args[64], want[32];
            snprintf(args, sizeof args, "[#regex \"x%d\" \"ax%dz\"]", i, i);
            snprintf(want, sizeof want, "\"x%d\"", i);
            CALL("re-find", args, want);
        }
}

/* }====== */

/* {====== Values and collections ====== */

static void test_values(void **state) {
    (void)state;
    CALL("ground", "[[[\"x\" 1] [\"y\" 2]]]", "[[\"x\" 1] [\"y\" 2]]");
    CALL("ground", "[42]", "42");
    CALL("identity", "[:a]", ":a");
    CALL("identity", "[nil]", "nil");
    CALL("vector", "[]", "[]");
    CALL("vector", "[1 \"a\" nil]", "[1 \"a\" nil]");
    CALL("list", "[1 2]", "(1 2)");
    CALL("list", "[]", "()");
    CALL("hash-map", "[]", "{}");
    CALL("hash-map", "[:a 1 :b 2]", "{:a 1, :b 2}");
    CALL("hash-map", "[:a 1 :a 2]", "{:a 2}"); /* the last value wins */
    CALL("tuple", "[1 :a]", "[1 :a]");
    CALL("untuple", "[[1 :a]]", "[1 :a]");
    ERR("untuple", "[1]", "not a tuple: long");
    CALL("nil?", "[nil]", "true");
    CALL("nil?", "[false]", "false");
    CALL("some?", "[false]", "true");
    CALL("some?", "[nil]", "false");
    CALL("true?", "[true]", "true");
    CALL("true?", "[1]", "false");
    CALL("false?", "[false]", "true");
    CALL("false?", "[nil]", "false");
    CALL("not", "[nil]", "true");
    CALL("not", "[false]", "true");
    CALL("not", "[0]", "false");
}

/* tuple gives a DT_TUPLE (comparable with tuple attribute values). */
static void test_tuple_type(void **state) {
    (void)state;
    dt_value a[2];
    dt_value_long(1, &a[0]);
    dt_value_long(2, &a[1]);
    dt_value out;
    assert_int_equal(dq_call(ctx, DQ_FN_TUPLE, a, 2, &out), DT_OK);
    assert_int_equal(out.type, DT_TUPLE);
    assert_int_equal(out.u.seq.n, 2);
    dt_value_free(&out);
}

static void test_range(void **state) {
    (void)state;
    CALL("range", "[3]", "(0 1 2)");
    CALL("range", "[0]", "()");
    CALL("range", "[-2]", "()");
    CALL("range", "[2 5]", "(2 3 4)");
    CALL("range", "[0 10 3]", "(0 3 6 9)");
    CALL("range", "[5 0 -2]", "(5 3 1)");
    CALL("range", "[0 5 -1]", "()");
    CALL("range", "[3 3 0]", "()");
    CALL("range", "[0 1 0.25]", "(0.0 0.25 0.5 0.75)");
    CALL("range", "[9223372036854775805 9223372036854775807]",
         "(9223372036854775805 9223372036854775806)");
    CALL("range", "[-9223372036854775808 9223372036854775807 9223372036854775807]",
         "(-9223372036854775808 -1 9223372036854775806)");
    ERR("range", "[0 1 0]", "infinite");
    ERR("range", "[9223372036854775807]", "more than 100000000 elements");
    ERR("range", "[\"a\"]", "not a number: string");
    ERR("range", "[0 ##NaN]", "NaN");
}

static void test_contains_get(void **state) {
    (void)state;
    CALL("contains?", "[#{\"Oleg\" \"Olga\"} \"Oleg\"]", "true");
    CALL("contains?", "[#{\"Oleg\" \"Olga\"} \"Ivan\"]", "false");
    CALL("contains?", "[#{1} 1.0]", "true"); /* one number type, as DataScript */
    CALL("contains?", "[{:a 1} :a]", "true");
    CALL("contains?", "[{:a 1} :b]", "false");
    CALL("contains?", "[[5 6] 1]", "true"); /* vectors: by index */
    CALL("contains?", "[[5 6] 5]", "false");
    CALL("contains?", "[\"abc\" 2]", "true");
    CALL("contains?", "[\"abc\" 3]", "false");
    ERR("contains?", "[\"abc\" \"a\"]", "contains? on a string takes an index, not a string");
    CALL("contains?", "[[5 6] :a]", "false");
    CALL("contains?", "[nil 1]", "false");
    ERR("contains?", "[(1 2) 1]", "contains? not supported on list");
    ERR("contains?", "[42 1]", "contains? not supported on long");
    CALL("get", "[{:a 1} :a]", "1");
    CALL("get", "[{:a 1} :b]", "nil");
    CALL("get", "[{:a 1} :b 0]", "0");
    CALL("get", "[[5 6] 1]", "6");
    CALL("get", "[[5 6] 9 :none]", ":none");
    CALL("get", "[[5 6] -1]", "nil");
    CALL("get", "[#{:x} :x]", ":x");
    CALL("get", "[\"héllo\" 1]", "\\u00e9");
    CALL("get", "[nil :a 3]", "3");
    CALL("get", "[42 :a]", "nil");
}

static void test_empty_set(void **state) {
    (void)state;
    CALL("empty?", "[nil]", "true");
    CALL("empty?", "[\"\"]", "true");
    CALL("empty?", "[[]]", "true");
    CALL("empty?", "[{}]", "true");
    CALL("empty?", "[[1]]", "false");
    CALL("empty?", "[\"a\"]", "false");
    ERR("empty?", "[1]", "empty? not supported on long");
    CALL("set", "[[1 2 1 3]]", "#{1 2 3}");
    CALL("set", "[[1 1.0]]", "#{1}");
    CALL("set", "[nil]", "#{}");
    CALL("set", "[\"aba\"]", "#{\\a \\b}");
    CALL("set", "[{:a 1}]", "#{[:a 1]}");
    ERR("set", "[1]", "cannot make a set of long");
}

/* set and count-distinct sort rather than compare pairwise: 200k values
 * take milliseconds, not minutes. */
static void test_large_set(void **state) {
    (void)state;
    size_t n = 200000;
    dt_value v, out;
    assert_int_equal(dt_value_seq(DT_VECTOR, n, &v), DT_OK);
    for (size_t i = 0; i < n; i++) dt_value_long((int64_t)(i % 150000), &v.u.seq.items[i]);
    assert_int_equal(dq_call(ctx, DQ_FN_SET, &v, 1, &out), DT_OK);
    assert_int_equal(out.type, DT_SET);
    assert_int_equal(out.u.seq.n, 150000);
    assert_int_equal(out.u.seq.items[149999].u.i, 149999);
    dt_value_free(&out);
    assert_int_equal(dq_agg_apply(ctx, DQ_AGG_COUNT_DISTINCT, NULL, 0, v.u.seq.items, n, &out),
                     DT_OK);
    assert_int_equal(out.u.i, 150000);
    assert_int_equal(dq_agg_apply(ctx, DQ_AGG_MEDIAN, NULL, 0, v.u.seq.items, n, &out), DT_OK);
    assert_int_equal(out.type, DT_DOUBLE); /* sorted: ... 49999 49999 | 50000 50001 ... */
    assert_true(out.u.d == 49999.5);
    dt_value_free(&v);
}

/* Calls with the wrong number of arguments fail cleanly (the parser
 * rejects them first, but dq_call must not trust its caller). */
static void test_arity(void **state) {
    (void)state;
    ERR("inc", "[1 2]", "query: (inc 1 2): wrong number of arguments (2)");
    ERR("<", "[]", "wrong number of arguments (0)");
    ERR("hash-map", "[:a]", "wrong number of arguments (1)");
    dt_value out;
    assert_int_equal(dq_call(ctx, (dq_fn_id)DQ_FN_COUNT_, NULL, 0, &out), DT_INVALID);
    assert_int_equal(dq_call(ctx, DQ_FN_GET_ELSE, NULL, 0, &out), DT_INVALID);
    dt_value two[2];
    dt_value_long(1, &two[0]);
    dt_value_long(2, &two[1]);
    assert_int_equal(dq_call(NULL, DQ_FN_ADD, two, 2, &out), DT_OK); /* no context needed */
    assert_int_equal(out.u.i, 3);
    assert_int_equal(dq_call(NULL, DQ_FN_RE_FIND, two, 2, &out), DT_MISUSE);
    assert_int_equal(out.type, DT_NIL);
    assert_int_equal(dq_agg_apply(NULL, DQ_AGG_RAND, NULL, 0, two, 2, &out), DT_MISUSE);
    assert_int_equal(dq_agg_apply(NULL, DQ_AGG_MAX, NULL, 0, two, 2, &out), DT_OK);
    assert_int_equal(out.u.i, 2);
}

/* Every value type through every function: results or clean errors,
 * nothing else (ASan/UBSan watch the rest). */
static void test_every_type(void **state) {
    (void)state;
    static const char *vals[] = {"nil",
                                 "true",
                                 "0",
                                 "-9223372036854775808",
                                 "9223372036854775807",
                                 "##NaN",
                                 "##-Inf",
                                 "-0.0",
                                 "1.5",
                                 "12345678901234567890123N",
                                 "-1.50M",
                                 "\"\"",
                                 "\"é😀\"",
                                 ":k",
                                 ":a/b",
                                 "sym",
                                 "\\x",
                                 "#uuid \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\"",
                                 "#inst \"2020-01-01T00:00:00Z\"",
                                 "[]",
                                 "[1 [2]]",
                                 "(1)",
                                 "#{}",
                                 "{:a 1}",
                                 "#regex \"a(\"",
                                 "#regex \"a\"",
                                 "#bytes \"AAE=\""};
    size_t nv = sizeof vals / sizeof vals[0];
    no_print = 1;
    for (int id = 0; id < DQ_FN_COUNT_; id++) {
        const dq_builtin *bi = &dq_builtins[id];
        if (bi->kind == DQ_FNK_SOURCE) continue;
        for (size_t i = 0; i < nv; i++)
            for (size_t j = 0; j < nv; j++) {
                int nargs = bi->min_args > 2 ? bi->min_args : 2;
                if (bi->max_args >= 0 && nargs > bi->max_args) nargs = bi->max_args;
                char text[512];
                if (nargs == 1)
                    snprintf(text, sizeof text, "[%s]", vals[i]);
                else if (nargs == 2)
                    snprintf(text, sizeof text, "[%s %s]", vals[i], vals[j]);
                else
                    snprintf(text, sizeof text, "[%s %s %s]", vals[i], vals[j], vals[j]);
                char *r = call_db(NULL, bi->name, text);
                if (strstr(r, "internal")) fail_msg("(%s %s): %s", bi->name, text, r);
                free(r);
                if (nargs == 1) break;
            }
    }
    no_print = 0;
}

/* }====== */

/* {====== Functions that read a database ====== */

#define SCHEMA                                                                                     \
    "{:email {:db/unique :db.unique/identity}"                                                     \
    " :alias {:db/cardinality :db.cardinality/many}"                                               \
    " :friend {:db/valueType :db.type/ref}}"

TU_DB_FIXTURE(SCHEMA)

static dt_db *snapshot(void **state) {
    tu_tx(C(state),
          "[{:db/id 1 :name \"Ivan\" :email \"ivan@x.ru\" :age 25 :alias [\"Vanya\" \"Johnny\"]"
          "  :friend 2}"
          " {:db/id 2 :name \"Olga\" :email \"olga@x.ru\"}"
          " {:db/id 3 :db/ident :the-third :name \"Third\" :active false}]",
          DT_OK, 0);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(C(state), &db), DT_OK);
    return db;
}

static void test_get_else(void **state) {
    dt_db *db = snapshot(state);
    check_db(db, "get-else", "[1 :age 0]", "25");
    check_db(db, "get-else", "[2 :age 0]", "0");
    check_db(db, "get-else", "[2 :age \"n/a\"]", "\"n/a\"");
    check_db(db, "get-else", "[1 :friend 0]", "2");
    check_db(db, "get-else", "[1 :alias \"\"]", "\"Johnny\""); /* many: the first value */
    check_db(db, "get-else", "[[:email \"olga@x.ru\"] :name \"\"]", "\"Olga\"");
    check_db(db, "get-else", "[:the-third :name \"\"]", "\"Third\"");
    check_db(db, "get-else", "[3 :active true]", "false");
    check_db(db, "get-else", "[1 :no-such-attr 7]", "7");
    check_db(db, "get-else", "[99 :name \"none\"]", "\"none\"");
    check_db(db, "get-else", "[-1 :name \"none\"]", "\"none\"");
    check_db(db, "get-else", "[-9223372036854775808 :name 0]", "0");
    ERR_DB(db, "get-else", "[1 :age nil]", "nil default value is not supported");
    ERR_DB(db, "get-else", "[[:email \"nobody@x.ru\"] :name \"\"]", "no entity matches");
    ERR_DB(db, "get-else", "[[:name \"Ivan\"] :name \"\"]", "not :db/unique");
    ERR_DB(db, "get-else", "[\"1\" :name \"\"]", "not an entity: string");
    ERR_DB(db, "get-else", "[1 \"name\" \"\"]", "attribute is not a keyword: string");
    ERR_DB(db, "get-else", "[1 :name]", "wrong number of arguments");
    dt_db_close(db);
}

static void test_get_some(void **state) {
    dt_db *db = snapshot(state);
    check_db(db, "get-some", "[1 :nickname :name]", "[:name \"Ivan\"]");
    check_db(db, "get-some", "[1 :age :name]", "[:age 25]");
    check_db(db, "get-some", "[2 :age :nickname]", "nil");
    check_db(db, "get-some", "[[:email \"ivan@x.ru\"] :email]", "[:email \"ivan@x.ru\"]");
    ERR_DB(db, "get-some", "[1]", "wrong number of arguments");
    dt_db_close(db);
}

static void test_missing(void **state) {
    dt_db *db = snapshot(state);
    check_db(db, "missing?", "[1 :age]", "false");
    check_db(db, "missing?", "[2 :age]", "true");
    check_db(db, "missing?", "[2 :no-such-attr]", "true");
    check_db(db, "missing?", "[3 :active]", "false"); /* a false value is present */
    check_db(db, "missing?", "[:the-third :name]", "false");
    ERR_DB(db, "missing?", "[nil :age]", "not an entity: nil");
    ERR("missing?", "[1 :age]", "no database");
    dt_db_close(db);
}

/* Long values (kept whole only in the giants table) come back whole. */
static void test_get_else_long_value(void **state) {
    char *big = malloc(3000 + 1);
    memset(big, 'x', 3000);
    big[3000] = 0;
    char *tx = malloc(3100), *want = malloc(3100);
    snprintf(tx, 3100, "[{:db/id 5 :text \"%s\"}]", big);
    tu_tx(C(state), tx, DT_OK, 0);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(C(state), &db), DT_OK);
    snprintf(want, 3100, "\"%s\"", big);
    check_db(db, "get-else", "[5 :text \"\"]", want);
    dt_db_close(db);
    free(big);
    free(tx);
    free(want);
}

/* Inside a write block, the view of the block sees its own writes. */
static void test_source_in_block(void **state) {
    dt_db *db = snapshot(state);
    dt_db_close(db);
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(C(state), &tx), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[{:db/id 2 :age 31} [:db/retract 1 :age 25]]", NULL),
                     DT_OK);
    assert_int_equal(dt_txn_db(tx, &db), DT_OK);
    check_db(db, "get-else", "[2 :age 0]", "31");
    check_db(db, "missing?", "[1 :age]", "true");
    check_db(db, "get-some", "[1 :age :email]", "[:email \"ivan@x.ru\"]");
    dt_db_close(db);
    dt_txn_abort(tx);
    /* the snapshot after the abort: as before */
    assert_int_equal(dt_conn_db(C(state), &db), DT_OK);
    check_db(db, "get-else", "[2 :age 0]", "0");
    check_db(db, "missing?", "[1 :age]", "false");
    dt_db_close(db);
}

/* }====== */

/* {====== Aggregates ====== */

static void test_agg_count(void **state) {
    (void)state;
    AGG("count", "[]", "[]", "0");
    AGG("count", "[]", "[1 1 nil 2]", "4");
    AGG("count-distinct", "[]", "[1 1 nil 2 nil]", "3");
    AGG("count-distinct", "[]", "[3 1 1 1]", "2");
    AGG("count-distinct", "[]", "[1 1.0 \"1\" :a :a]", "3"); /* 1 and 1.0 are = (DataScript) */
    AGG("count-distinct", "[]", "[]", "0");
}

static void test_agg_sum_avg(void **state) {
    (void)state;
    AGG("sum", "[]", "[3 1 1 1]", "6");
    AGG("sum", "[]", "[1 2.5]", "3.5");
    AGG("sum", "[]", "[]", "0");
    AGG_ERR("sum", "[]", "[9223372036854775807 1]", "query: aggregate (sum ...): long overflow");
    AGG_ERR("sum", "[]", "[1 \"a\"]", "not a number: string");
    AGG_ERR("sum", "[]", "[1 nil]", "not a number: nil");
    AGG("avg", "[]", "[1 2]", "1.5");
    AGG("avg", "[]", "[2 4]", "3.0");
    AGG("avg", "[]", "[9223372036854775807 9223372036854775807]", "9.223372036854776e+18");
    AGG_ERR("avg", "[]", "[:a]", "not a number: keyword");
    AGG("sum", "[]", "[1N 2 0.5M]", "3.5M");
    AGG("sum", "[]", "[9223372036854775807 9223372036854775807N]", "18446744073709551614N");
    AGG("sum", "[]", "[1N 0.5]", "1.5");
    AGG("avg", "[]", "[1N 2M]", "1.5");
}

static void test_agg_median(void **state) {
    (void)state;
    AGG("median", "[]", "[3 1 2]", "2");
    AGG("median", "[]", "[4 1 3 2]", "2.5");
    AGG("median", "[]", "[1 3 5 100]", "4");
    AGG("median", "[]", "[1.0 2]", "1.5");
    AGG("median", "[]", "[7]", "7");
    AGG("median", "[]", "[9223372036854775807 9223372036854775807]", "9223372036854775807");
    AGG_ERR("median", "[]", "[\"a\" \"b\"]", "not a number: string");
    AGG("median", "[]", "[3N 1 2M]", "2M");
    AGG("median", "[]", "[4N 1 3 2]", "2.5");
}

static void test_agg_variance(void **state) {
    (void)state;
    /* the conformance case agg-013: ages of the people dataset */
    AGG_NEAR("variance", "[25 30 35 40 25 28 45 19 60 25]", 134.76000000000002);
    AGG_NEAR("stddev", "[25 30 35 40 25 28 45 19 60 25]", 11.608617488745162);
    AGG("variance", "[]", "[5]", "0.0");
    AGG("variance", "[]", "[1 3]", "1.0");
    AGG("stddev", "[]", "[1 3]", "1.0");
    AGG("variance", "[]", "[1.5 ##NaN]", "##NaN");
    AGG_ERR("stddev", "[]", "[1 :a]", "not a number: keyword");
}

static void test_agg_min_max(void **state) {
    (void)state;
    AGG("min", "[]", "[3 1 2]", "1");
    AGG("max", "[]", "[3 1 2]", "3");
    AGG("min", "[]", "[\"Petr\" \"Anna\" \"Ivan\"]", "\"Anna\"");
    AGG("max", "[]", "[\"Petr\" \"Anna\" \"Ivan\"]", "\"Petr\"");
    AGG("max", "[]", "[1 2.5 2]", "2.5");
    AGG("min", "[]", "[:b :a]", ":a");
    AGG("min", "[]", "[3 nil]", "nil");
    AGG("min", "[]", "[]", "nil");
    AGG_ERR("max", "[]", "[1 \"a\"]", "cannot compare string and long");
    AGG("max", "[3]", "[55000 60000 70000 45000 80000 90000 50000]", "[70000 80000 90000]");
    AGG("min", "[3]", "[55000 60000 70000 45000 80000 90000 50000]", "[45000 50000 55000]");
    AGG("max", "[2]", "[7 8]", "[7 8]");
    AGG("max", "[5]", "[7 8]", "[7 8]");
    AGG("min", "[0]", "[7 8]", "[]");
    AGG("min", "[2]", "[1 1 2]", "[1 1]");
    AGG("max", "[2]", "[\"b\" \"a\" \"c\"]", "[\"b\" \"c\"]");
    AGG_ERR("max", "[-1]", "[7 8]", "the count must be a non-negative long");
    AGG_ERR("max", "[\"2\"]", "[7 8]", "the count must be a non-negative long");
    AGG_ERR("min", "[2]", "[1 :a 2]", "cannot compare");
}

static void test_agg_distinct(void **state) {
    (void)state;
    AGG("distinct", "[]", "[3 1 3 2 1]", "#{1 2 3}");
    AGG("distinct", "[]", "[]", "#{}");
    AGG("distinct", "[]", "[1 1.0 nil nil]", "#{nil 1}");
}

/* rand and sample: results come from the values; counts are exact. */
static void test_agg_rand_sample(void **state) {
    (void)state;
    for (int k = 0; k < 50; k++) {
        char *r = agg_run("rand", "[]", "[1 2 3]");
        assert_true(!strcmp(r, "1") || !strcmp(r, "2") || !strcmp(r, "3"));
        free(r);
    }
    AGG("rand", "[]", "[7]", "7");
    AGG("rand", "[]", "[]", "nil");
    AGG("rand", "[3]", "[7]", "[7 7 7]");
    AGG("rand", "[2]", "[]", "[]");
    AGG("sample", "[5]", "[7 7 7]", "[7]");
    AGG("sample", "[0]", "[1 2]", "[]");
    AGG_ERR("sample", "[]", "[1 2]", "takes one parameter");
    AGG_ERR("rand", "[-1]", "[1 2]", "the count must be a non-negative long");
    /* sample gives distinct values; over many runs every value shows up */
    int seen[4] = {0};
    for (int k = 0; k < 200; k++) {
        dt_value vals = rd("[1 2 3 4]"), p = rd("[2]"), out;
        assert_int_equal(
            dq_agg_apply(ctx, DQ_AGG_SAMPLE, p.u.seq.items, 1, vals.u.seq.items, 4, &out), DT_OK);
        assert_int_equal(out.type, DT_VECTOR);
        assert_int_equal(out.u.seq.n, 2);
        assert_true(out.u.seq.items[0].u.i != out.u.seq.items[1].u.i);
        for (int i = 0; i < 2; i++) seen[out.u.seq.items[i].u.i - 1]++;
        dt_value_free(&out);
        dt_value_free(&vals);
        dt_value_free(&p);
    }
    for (int i = 0; i < 4; i++) assert_true(seen[i] > 0);
}

/* Random longs (extremes included): + - * agree with 128-bit arithmetic
 * or report the overflow; quot and rem recompose the dividend; mod has
 * the divisor's sign; < agrees with compare, which is antisymmetric
 * across longs and doubles. */
static void test_properties(void **state) {
    (void)state;
    uint64_t seed = 7;
    static const int64_t edge[] = {0,
                                   1,
                                   -1,
                                   2,
                                   -2,
                                   INT64_MAX,
                                   INT64_MIN,
                                   INT64_MAX - 1,
                                   INT64_MIN + 1,
                                   (int64_t)1 << 32,
                                   -((int64_t)1 << 32),
                                   3037000499,
                                   -3037000500};
    for (int it = 0; it < 20000; it++) {
        int64_t x[2];
        for (int k = 0; k < 2; k++) {
            uint64_t r = tu_rand(&seed);
            switch (r % 4) {
            case 0:
                x[k] = edge[(r >> 8) % (sizeof edge / sizeof edge[0])];
                break;
            case 1:
                x[k] = (int64_t)(r >> 2) % 1000;
                break;
            case 2:
                x[k] = (int64_t)tu_rand(&seed) >> (r >> 8) % 63;
                break;
            default:
                x[k] = (int64_t)tu_rand(&seed);
                break;
            }
        }
        dt_value a[2], out;
        dt_value_long(x[0], &a[0]);
        dt_value_long(x[1], &a[1]);
        static const dq_fn_id ops[] = {DQ_FN_ADD, DQ_FN_SUB, DQ_FN_MUL};
        for (int o = 0; o < 3; o++) {
            __int128 w = o == 0   ? (__int128)x[0] + x[1]
                         : o == 1 ? (__int128)x[0] - x[1]
                                  : (__int128)x[0] * x[1];
            int rc = dq_call(ctx, ops[o], a, 2, &out);
            if (w > INT64_MAX || w < INT64_MIN)
                assert_int_equal(rc, DT_INVALID);
            else {
                assert_int_equal(rc, DT_OK);
                assert_int_equal(out.type, DT_LONG);
                assert_true(out.u.i == (int64_t)w);
            }
        }
        /* the same with the first as a bigint: exact, compared with 128 bits */
        {
            char t[48];
            dt_value bg[2];
            snprintf(t, sizeof t, "%lld", (long long)x[0]);
            assert_int_equal(dt_value_text(DT_BIGINT, t, strlen(t), &bg[0]), DT_OK);
            bg[1] = a[1];
            static const dq_fn_id bops[] = {DQ_FN_ADD,  DQ_FN_SUB, DQ_FN_MUL,
                                            DQ_FN_QUOT, DQ_FN_REM, DQ_FN_MOD};
            for (int o = 0; o < (x[1] ? 6 : 3); o++) {
                __int128 X = x[0], Y = x[1];
                __int128 w = o == 0   ? X + Y
                             : o == 1 ? X - Y
                             : o == 2 ? X * Y
                             : o == 3 ? X / Y
                                      : X % Y;
                if (o == 5 && w != 0 && ((w < 0) != (Y < 0))) w += Y;
                char want[64], *p = want + sizeof want;
                *--p = 0;
                unsigned __int128 u = w < 0 ? -(unsigned __int128)w : (unsigned __int128)w;
                do *--p = (char)('0' + (int)(u % 10));
                while ((u /= 10) != 0);
                if (w < 0) *--p = '-';
                assert_int_equal(dq_call(ctx, bops[o], bg, 2, &out), DT_OK);
                assert_int_equal(out.type, DT_BIGINT);
                if (strlen(p) != out.u.s.len || memcmp(p, out.u.s.ptr, out.u.s.len))
                    fail_msg("op %d on %lld %lld: %.*s, want %s", o, (long long)x[0],
                             (long long)x[1], (int)out.u.s.len, out.u.s.ptr, p);
                dt_value_free(&out);
            }
            dt_value_free(&bg[0]);
        }
        if (x[1] != 0 && !(x[0] == INT64_MIN && x[1] == -1)) {
            dt_value q, r, m;
            assert_int_equal(dq_call(ctx, DQ_FN_QUOT, a, 2, &q), DT_OK);
            assert_int_equal(dq_call(ctx, DQ_FN_REM, a, 2, &r), DT_OK);
            assert_int_equal(dq_call(ctx, DQ_FN_MOD, a, 2, &m), DT_OK);
            assert_true((__int128)q.u.i * x[1] + r.u.i == x[0]);
            assert_true(m.u.i == 0 || (m.u.i < 0) == (x[1] < 0));
            assert_true(((__int128)m.u.i - r.u.i) % x[1] == 0);
        }
        /* the second value as a double half of the time */
        if (tu_rand(&seed) & 1) dt_value_double((double)x[1] + 0.5, &a[1]);
        dt_value c1, c2, lt;
        assert_int_equal(dq_call(ctx, DQ_FN_COMPARE, a, 2, &c1), DT_OK);
        dt_value b[2] = {a[1], a[0]};
        assert_int_equal(dq_call(ctx, DQ_FN_COMPARE, b, 2, &c2), DT_OK);
        assert_true(c1.u.i == -c2.u.i);
        assert_int_equal(dq_call(ctx, DQ_FN_LT, a, 2, &lt), DT_OK);
        assert_int_equal(lt.u.b, c1.u.i < 0);
        if (a[1].type == DT_DOUBLE) { /* exact: the long against the double */
            long double ex = (long double)x[0], ey = (long double)a[1].u.d;
            assert_int_equal(c1.u.i, ex < ey ? -1 : ex > ey);
        }
    }
}

/* Every allocation failing in turn: DT_OK or DT_NOMEM with a nil
 * result, never a crash or a leak (ASan checks the leaks). */
static void test_alloc_failures(void **state) {
    (void)state;
    static const struct {
        const char *fn, *args;
    } calls[] = {
        {"str", "[\"a\" 1 1.5 :k [1 2] #inst \"2020-01-01T00:00:00Z\"]"},
        {"subs", "[\"héllo\" 1 3]"},
        {"vector", "[1 \"a\" [2]]"},
        {"hash-map", "[:a 1 :b \"x\" :a 2]"},
        {"set", "[[1 2 \"x\" 1]]"},
        {"set", "[{:a 1 :b 2}]"},
        {"set", "[\"abca\"]"},
        {"re-pattern", "[\"b+\"]"},
        {"re-find", "[\"(a)(b)?\" \"xa\"]"},
        {"re-seq", "[\"(\\\\w)(\\\\d)\" \"a1 b2 c3\"]"},
        {"range", "[5]"},
        {"keyword", "[\"ns\" \"n\"]"},
        {"clojure.string/upper-case", "[\"straße\"]"},
        {"=", "[1.5M 1.50M]"},
        {"<", "[1N 2 3.5M]"},
        {"get", "[{:a [1 2]} :a]"},
        {"+", "[1.5M 2N 3]"},
        {"*", "[99999999999999999999N -3N]"},
        {"inc", "[1.5M]"},
        {"mod", "[-100000000000000000000N 7]"},
    };
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        const dq_builtin *bi = dq_builtin_find(calls[c].fn, strlen(calls[c].fn));
        assert_non_null(bi);
        dt_value a = rd(calls[c].args);
        int ok = 0;
        for (long k = 0; k < 200 && !ok; k++) {
            dq_fnctx *fc = NULL;
            if (dq_fnctx_new(&fc) != DT_OK) fail_msg("fnctx");
            dt_value out;
            dt__alloc_fail_at(k);
            int rc = dq_call(fc, bi->id, a.u.seq.items, a.u.seq.n, &out);
            dt__alloc_fail_at(-1);
            if (rc != DT_OK && rc != DT_NOMEM)
                fail_msg("(%s %s) at %ld: rc %d %s", calls[c].fn, calls[c].args, k, rc,
                         dt_errmsg(NULL));
            if (rc == DT_NOMEM) assert_int_equal(out.type, DT_NIL);
            ok = rc == DT_OK;
            dt_value_free(&out);
            dq_fnctx_free(fc);
        }
        assert_true(ok);
        dt_value_free(&a);
    }
    static const struct {
        dq_agg_id agg;
        const char *params, *vals;
    } aggs[] = {
        {DQ_AGG_DISTINCT, "[]", "[3 1 \"a\" 1]"}, {DQ_AGG_COUNT_DISTINCT, "[]", "[3 1 1]"},
        {DQ_AGG_MEDIAN, "[]", "[3 1 2 2]"},       {DQ_AGG_MAX, "[2]", "[\"b\" \"a\" \"c\"]"},
        {DQ_AGG_MIN, "[]", "[[1 2] [1 1]]"},      {DQ_AGG_SAMPLE, "[2]", "[[1] [2] [3]]"},
        {DQ_AGG_RAND, "[2]", "[\"x\"]"},          {DQ_AGG_SUM, "[]", "[1N 2.5M]"},
    };
    for (size_t c = 0; c < sizeof aggs / sizeof aggs[0]; c++) {
        dt_value p = rd(aggs[c].params), v = rd(aggs[c].vals);
        int ok = 0;
        for (long k = 0; k < 200 && !ok; k++) {
            dt_value out;
            dt__alloc_fail_at(k);
            int rc = dq_agg_apply(ctx, aggs[c].agg, p.u.seq.items, p.u.seq.n, v.u.seq.items,
                                  v.u.seq.n, &out);
            dt__alloc_fail_at(-1);
            if (rc != DT_OK && rc != DT_NOMEM)
                fail_msg("aggregate %d at %ld: rc %d", (int)aggs[c].agg, k, rc);
            if (rc == DT_NOMEM) assert_int_equal(out.type, DT_NIL);
            ok = rc == DT_OK;
            dt_value_free(&out);
        }
        assert_true(ok);
        dt_value_free(&p);
        dt_value_free(&v);
    }
}

/* }====== */

static int group_setup(void **state) {
    (void)state;
    return dq_fnctx_new(&ctx) == DT_OK ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    dq_fnctx_free(ctx);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_add_sub_mul),
        cmocka_unit_test(test_div),
        cmocka_unit_test(test_quot_rem_mod),
        cmocka_unit_test(test_inc_dec_min_max),
        cmocka_unit_test(test_number_predicates),
        cmocka_unit_test(test_str),
        cmocka_unit_test(test_subs),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_clojure_string),
        cmocka_unit_test(test_case_unicode),
        cmocka_unit_test(test_keyword_name_namespace),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_regex_cache),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_tuple_type),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_contains_get),
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_large_set),
        cmocka_unit_test(test_arity),
        cmocka_unit_test(test_every_type),
        cmocka_unit_test_setup_teardown(test_get_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_some, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_else_long_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_in_block, setup, teardown),
        cmocka_unit_test(test_agg_count),
        cmocka_unit_test(test_agg_sum_avg),
        cmocka_unit_test(test_agg_median),
        cmocka_unit_test(test_agg_variance),
        cmocka_unit_test(test_agg_min_max),
        cmocka_unit_test(test_agg_distinct),
        cmocka_unit_test(test_agg_rand_sample),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
