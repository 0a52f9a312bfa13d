/*
 * fn.c -- the built-in functions and aggregates of queries (query layer):
 * dq_call, dq_call_source and dq_agg_apply of exec.h, with the semantics
 * of Clojure as Datomic and DataScript give them (docs/query.md lists
 * every function and where Datolite differs).
 *
 * Values.  Arguments are borrowed table cells: text is read through
 * u.s.len only.  Results are new values the caller owns.  Numbers: long
 * (and an entity id, DT_REF, which is a long to every function here),
 * double and float (computed as double), bigint and bigdec (compared
 * exactly; + - * inc dec and sum compute them exactly on decimal digit
 * strings, quot rem mod bigints; the rest of the arithmetic refuses
 * them).  Long arithmetic
 * that overflows is an error, never a silent wrap.
 *
 * Regexes.  A regex value is DT_TAGGED with the tag symbol `regex` and
 * the pattern string: what re-pattern returns and what re-find, re-matches
 * and re-seq take (they also take a plain string as the pattern).
 * Patterns are compiled with PCRE2 in UTF mode (Java's syntax is close to
 * Perl's) and kept in the dq_fnctx, so a query compiles each pattern once.
 *
 * Errors are DT_INVALID on the NULL handle with the call shown:
 * "query: (> \"a\" 1): cannot compare string and long".
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <locale.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "codec.h"
#include "db.h"
#include "coerce.h"
#include "exec.h"
#include "index.h"
#include "store.h"
#include "txlog.h"
#include "value.h"

/* {====== Context ====== */

#define RE_CACHE 16

typedef struct re_ent {
    char *pat;
    size_t len;
    pcre2_code *code;
    pcre2_match_data *md;
} re_ent;

struct dq_fnctx {
    re_ent re[RE_CACHE];
    size_t nre, next;
    pcre2_match_context *mctx;
    uint64_t rng; /* xorshift64* state for rand and sample */
};

int dq_fnctx_new(dq_fnctx **out) {
    *out = NULL;
    dq_fnctx *c = dt__calloc(1, sizeof *c);
    if (!c) return dt__seterr(NULL, DT_NOMEM, "query: out of memory");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)c;
    if (!c->rng) c->rng = 0x9e3779b97f4a7c15ull;
    *out = c;
    return DT_OK;
}

void dq_fnctx_free(dq_fnctx *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nre; i++) {
        dt__free(c->re[i].pat);
        pcre2_match_data_free(c->re[i].md);
        pcre2_code_free(c->re[i].code);
    }
    pcre2_match_context_free(c->mctx);
    dt__free(c);
}

static uint64_t rng_next(dq_fnctx *c) {
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* A uniform integer in [0, n), n > 0. */
static size_t rng_below(dq_fnctx *c, size_t n) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, r;
    do r = rng_next(c);
    while (r >= lim);
    return (size_t)(r % n);
}

/* }====== */

/* {====== Errors ====== */

/* A regex value: #regex "pattern" (see the top of the file). */
static int is_regex(const dt_value *v) {
    return v->type == DT_TAGGED && v->u.seq.n == 2 && v->u.seq.items[0].type == DT_SYMBOL &&
           v->u.seq.items[0].u.s.len == 5 && memcmp(v->u.seq.items[0].u.s.ptr, "regex", 5) == 0 &&
           v->u.seq.items[1].type == DT_STRING;
}

/* Appends the EDN of v to b, cut to about `room` bytes. */
static void show_value(dt_buf *b, const dt_value *v, size_t room) {
    char *s = NULL;
    size_t n = 0;
    if (is_regex(v)) {
        dt_buf_putc(b, '#');
        show_value(b, &v->u.seq.items[1], room);
        return;
    }
    if (dt_edn_write(v, DT_EDN_COMPACT, &s, &n) != DT_OK) {
        dt_buf_printf(b, "#<%s>", dt_type_name(v->type));
        return;
    }
    if (n > room) {
        while (room > 0 && ((unsigned char)s[room] & 0xc0) == 0x80) room--; /* whole characters */
        dt_buf_append(b, s, room);
        dt_buf_append(b, "...", 3);
    } else
        dt_buf_append(b, s, n);
    dt_free(s);
}

/* Records DT_INVALID "query: (name args...): <fmt>" and returns it. */
static int call_err(const char *name, const dt_value *args, size_t nargs, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int call_err(const char *name, const dt_value *args, size_t nargs, const char *fmt, ...) {
    dt_buf b = DT_BUF_INIT;
    dt_buf_printf(&b, "(%s", name);
    size_t shown = nargs < 8 ? nargs : 8;
    for (size_t i = 0; i < shown; i++) {
        dt_buf_putc(&b, ' ');
        show_value(&b, &args[i], 60);
    }
    if (shown < nargs) dt_buf_append(&b, " ...", 4);
    dt_buf_putc(&b, ')');
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int rc;
    if (dt_buf_terminate(&b) != DT_OK)
        rc = dt__seterr(NULL, DT_INVALID, "query: (%s ...): %s", name, msg);
    else
        rc = dt__seterr(NULL, DT_INVALID, "query: %s: %s", (const char *)b.p, msg);
    dt_buf_release(&b);
    return rc;
}

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "query: out of memory"); }

/* The name of a value's type in messages: "long", "string", "regex". */
static const char *tname(const dt_value *v) {
    if (v->type == DT_REF) return "long";
    if (is_regex(v)) return "regex";
    return dt_type_name(v->type);
}

/* }====== */

/* {====== Small helpers ====== */

/* A built-in id without a case in a dispatch switch (a table entry
 * added without its code). */
static int no_impl(const char *name) {
    return dt__seterr(NULL, DT_INVALID, "query: internal: no implementation of %s", name);
}

static int is_seqish(const dt_value *v) {
    return v->type == DT_VECTOR || v->type == DT_TUPLE || v->type == DT_LIST;
}
static int is_vecish(const dt_value *v) { return v->type == DT_VECTOR || v->type == DT_TUPLE; }

static int is_num(const dt_value *v) {
    switch (v->type) {
    case DT_LONG:
    case DT_REF:
    case DT_DOUBLE:
    case DT_FLOAT:
    case DT_BIGINT:
    case DT_BIGDEC:
        return 1;
    default:
        return 0;
    }
}
static int is_int(const dt_value *v) { return v->type == DT_LONG || v->type == DT_REF; }
static int is_flo(const dt_value *v) { return v->type == DT_DOUBLE || v->type == DT_FLOAT; }
static int is_big(const dt_value *v) { return v->type == DT_BIGINT || v->type == DT_BIGDEC; }
static double flo(const dt_value *v) { return v->type == DT_DOUBLE ? v->u.d : (double)v->u.f; }

static int mk_string(const char *s, size_t n, dt_value *out) {
    int rc = dt_value_text(DT_STRING, s, n, out);
    return rc == DT_NOMEM ? nomem() : rc;
}

/* A compound of type t holding copies of items[0..n). */
static int mk_seq(dt_type t, const dt_value *items, size_t n, dt_value *out) {
    if (dt_value_seq(t, n, out) != DT_OK) return nomem();
    for (size_t i = 0; i < n; i++)
        if (dt_value_copy(&items[i], &out->u.seq.items[i]) != DT_OK) {
            dt_value_free(out);
            return nomem();
        }
    return DT_OK;
}

/* A bigint/bigdec (or a long) as a decimal, trailing zeros dropped, so
 * that numerically equal decimals are equal field by field. */
static int to_decimal(const dt_value *v, dl_decimal *d) {
    char tmp[32];
    const char *s;
    size_t n;
    if (is_int(v)) {
        n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        s = tmp;
    } else {
        s = v->u.s.ptr;
        n = v->u.s.len;
    }
    int rc = dl_decimal_parse(s, n, v->type == DT_BIGDEC, d);
    if (rc != DT_OK) return rc;
    while (d->ndigits > 1 && d->digits[d->ndigits - 1] == '0') {
        d->ndigits--;
        d->scale--;
    }
    if (d->ndigits == 1 && d->digits[0] == '0') d->scale = 0, d->neg = 0;
    return DT_OK;
}

/* A bigint/bigdec as the nearest double. */
static double big_double(const dt_value *v) {
    char tmp[64];
    size_t n = v->u.s.len < sizeof tmp - 1 ? v->u.s.len : 0;
    if (n == 0 && v->u.s.len) {
        char *s = dt__strndup(v->u.s.ptr, v->u.s.len);
        if (!s) return NAN;
        double d = strtod(s, NULL);
        dt__free(s);
        return d;
    }
    memcpy(tmp, v->u.s.ptr, n);
    tmp[n] = 0;
    return strtod(tmp, NULL);
}

/* Any number as a double. */
static double num_double(const dt_value *v) {
    if (is_int(v)) return (double)v->u.i;
    if (is_flo(v)) return flo(v);
    return big_double(v);
}

static int sign3i(long long x) { return x < 0 ? -1 : x > 0; }

/* }====== */

/* {====== Text (UTF-8 read as Java's UTF-16 units) ====== */

/* Decodes the code point at s[*i] (lenient: a bad byte is itself). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i) {
    unsigned char c = s[*i];
    size_t need;
    uint32_t cp;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xe0) == 0xc0) {
        need = 1;
        cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        need = 2;
        cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        need = 3;
        cp = c & 0x07;
    } else {
        (*i)++;
        return c;
    }
    if (*i + need > n - 1) {
        (*i)++;
        return c;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xc0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3f);
    }
    *i += need + 1;
    return cp;
}

static size_t utf16_units(uint32_t cp) { return cp >= 0x10000 ? 2 : 1; }

/* Number of UTF-16 units of s[0..n). */
static size_t text_units(const char *s, size_t n) {
    size_t i = 0, u = 0;
    while (i < n) u += utf16_units(utf8_next((const unsigned char *)s, n, &i));
    return u;
}

static int put_utf8(dt_buf *b, uint32_t cp) {
    uint8_t t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (uint8_t)(0xc0 | (cp >> 6));
        t[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (uint8_t)(0xe0 | (cp >> 12));
        t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        t[0] = (uint8_t)(0xf0 | (cp >> 18));
        t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return dt_buf_append(b, t, n);
}

/*
 * Java's String.compareTo on UTF-8 texts: the difference of the first
 * differing UTF-16 units, else the difference of the lengths in units.
 */
static int text_compare(const char *a, size_t na, const char *b, size_t nb) {
    size_t i = 0, j = 0;
    uint16_t pa[2], pb[2];
    size_t ka = 0, kb = 0, ia = 0, ib = 0; /* pending units of the current code points */
    long long ua = 0, ub = 0;
    for (;;) {
        if (ia == ka) {
            if (i >= na) break;
            uint32_t c = utf8_next((const unsigned char *)a, na, &i);
            if (c >= 0x10000) {
                c -= 0x10000;
                pa[0] = (uint16_t)(0xd800 | (c >> 10));
                pa[1] = (uint16_t)(0xdc00 | (c & 0x3ff));
                ka = 2;
            } else {
                pa[0] = (uint16_t)c;
                ka = 1;
            }
            ia = 0;
        }
        if (ib == kb) {
            if (j >= nb) break;
            uint32_t c = utf8_next((const unsigned char *)b, nb, &j);
            if (c >= 0x10000) {
                c -= 0x10000;
                pb[0] = (uint16_t)(0xd800 | (c >> 10));
                pb[1] = (uint16_t)(0xdc00 | (c & 0x3ff));
                kb = 2;
            } else {
                pb[0] = (uint16_t)c;
                kb = 1;
            }
            ib = 0;
        }
        if (pa[ia] != pb[ib]) return (int)pa[ia] - (int)pb[ib];
        ia++, ib++, ua++, ub++;
    }
    ua += (long long)(ka - ia) + (long long)text_units(a + i, na - i);
    ub += (long long)(kb - ib) + (long long)text_units(b + j, nb - j);
    long long d = ua - ub;
    return d < -1000000000 ? -1000000000 : d > 1000000000 ? 1000000000 : (int)d;
}

/* Splits keyword/symbol text at its first '/' (not a lone "/"). */
static void split_name(const dt_value *v, const char **ns, size_t *nsl, const char **nm,
                       size_t *nml) {
    const char *s = v->u.s.ptr;
    size_t n = v->u.s.len;
    const char *sl = n > 1 ? memchr(s, '/', n) : NULL;
    if (sl) {
        *ns = s;
        *nsl = (size_t)(sl - s);
        *nm = sl + 1;
        *nml = n - *nsl - 1;
    } else {
        *ns = NULL;
        *nsl = 0;
        *nm = s;
        *nml = n;
    }
}

/* }====== */

/* {====== Equality and order ====== */

/* Clojure's number categories for `=`: integer, floating, decimal. */
/* Exact numeric comparison of two numbers where one is a bigint or
 * bigdec and neither is floating: *out = -1/0/1.  DT_OK or DT_NOMEM /
 * DT_INVALID (malformed text). */
static int big_cmp(const dt_value *a, const dt_value *b, int *out) {
    dl_decimal da, db;
    int rc = to_decimal(a, &da);
    if (rc != DT_OK) return rc;
    rc = to_decimal(b, &db);
    if (rc != DT_OK) {
        dl_decimal_release(&da);
        return rc;
    }
    *out = dl_decimal_compare(&da, &db);
    dl_decimal_release(&da);
    dl_decimal_release(&db);
    return DT_OK;
}

/*
 * Numeric comparison: *out -1/0/1; *unordered when a NaN takes part
 * (then *out orders NaN above every number, as Java's Double.compare).
 */
static int num_cmp(const dt_value *a, const dt_value *b, int *out, int *unordered) {
    *unordered = 0;
    if (is_int(a) && is_int(b)) {
        *out = a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
        return DT_OK;
    }
    if (!is_flo(a) && !is_flo(b)) {
        int rc = big_cmp(a, b, out);
        return rc == DT_NOMEM ? nomem() : rc;
    }
    if (is_int(a) && is_flo(b) && !isnan(flo(b))) {
        /* exact: compare the long with the double without rounding the long */
        double d = flo(b);
        if (d >= 9223372036854775808.0)
            *out = -1;
        else if (d < -9223372036854775808.0)
            *out = 1;
        else {
            double t = trunc(d);
            int64_t ti = (int64_t)t;
            if (a->u.i != ti)
                *out = a->u.i < ti ? -1 : 1;
            else
                *out = d > t ? -1 : d < t ? 1 : 0;
        }
        return DT_OK;
    }
    if (is_flo(a) && is_int(b) && !isnan(flo(a))) {
        int r, u;
        num_cmp(b, a, &r, &u);
        *out = -r;
        return DT_OK;
    }
    double x = num_double(a), y = num_double(b);
    if (isnan(x) || isnan(y)) {
        *unordered = 1;
        *out = isnan(x) && isnan(y) ? 0 : isnan(x) ? 1 : -1;
        return DT_OK;
    }
    *out = x < y ? -1 : x > y;
    return DT_OK;
}

/* `=` as DataScript's: numbers numerically (1, 1.0 and 1N are equal: the
 * reference runs on JavaScript's one number type; Clojure on the JVM
 * would tell 1 and 1.0 apart), sequential collections by elements, sets
 * and maps by content.  *out 1/0. */
static int clj_equal(const dt_value *a, const dt_value *b, int *out);

/* Index of an element of set s `=` to v, or -1 (rc in *rc). */
static long set_find(const dt_value *s, const dt_value *v, int *rc) {
    *rc = DT_OK;
    for (size_t i = 0; i < s->u.seq.n; i++) {
        int eq;
        *rc = clj_equal(&s->u.seq.items[i], v, &eq);
        if (*rc != DT_OK) return -1;
        if (eq) return (long)i;
    }
    return -1;
}

/* Index of the entry of map m whose key is `=` to k, or -1. */
static long map_find(const dt_value *m, const dt_value *k, int *rc) {
    *rc = DT_OK;
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2) {
        int eq;
        *rc = clj_equal(&m->u.seq.items[i], k, &eq);
        if (*rc != DT_OK) return -1;
        if (eq) return (long)i;
    }
    return -1;
}

static int clj_equal(const dt_value *a, const dt_value *b, int *out) {
    *out = 0;
    if (is_num(a) || is_num(b)) {
        if (!is_num(a) || !is_num(b)) return DT_OK; /* 1 and 1.0 are = (DataScript) */
        int c, u;
        int rc = num_cmp(a, b, &c, &u);
        if (rc != DT_OK) return rc;
        *out = !u && c == 0;
        return DT_OK;
    }
    if (is_seqish(a) || is_seqish(b)) {
        if (!is_seqish(a) || !is_seqish(b) || a->u.seq.n != b->u.seq.n) return DT_OK;
        for (size_t i = 0; i < a->u.seq.n; i++) {
            int rc = clj_equal(&a->u.seq.items[i], &b->u.seq.items[i], out);
            if (rc != DT_OK || !*out) return rc;
        }
        *out = 1;
        return DT_OK;
    }
    if (a->type != b->type) return DT_OK;
    switch (a->type) {
    case DT_NIL:
        *out = 1;
        return DT_OK;
    case DT_BOOL:
        *out = !a->u.b == !b->u.b;
        return DT_OK;
    case DT_INSTANT:
        *out = a->u.i == b->u.i;
        return DT_OK;
    case DT_CHAR:
        *out = a->u.c == b->u.c;
        return DT_OK;
    case DT_UUID:
        *out = memcmp(a->u.uuid, b->u.uuid, 16) == 0;
        return DT_OK;
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BYTES:
        *out = a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
        return DT_OK;
    case DT_SET: {
        if (a->u.seq.n != b->u.seq.n) return DT_OK;
        for (size_t i = 0; i < a->u.seq.n; i++) {
            int rc;
            if (set_find(b, &a->u.seq.items[i], &rc) < 0) return rc;
        }
        *out = 1;
        return DT_OK;
    }
    case DT_MAP: {
        if (a->u.seq.n != b->u.seq.n) return DT_OK;
        for (size_t i = 0; i + 1 < a->u.seq.n; i += 2) {
            int rc;
            long j = map_find(b, &a->u.seq.items[i], &rc);
            if (j < 0) return rc;
            rc = clj_equal(&a->u.seq.items[i + 1], &b->u.seq.items[j + 1], out);
            if (rc != DT_OK || !*out) return rc;
        }
        *out = 1;
        return DT_OK;
    }
    case DT_TAGGED:
        if (a->u.seq.n != 2 || b->u.seq.n != 2) {
            *out = dt_value_equal(a, b);
            return DT_OK;
        }
        {
            int rc = clj_equal(&a->u.seq.items[0], &b->u.seq.items[0], out);
            if (rc != DT_OK || !*out) return rc;
            return clj_equal(&a->u.seq.items[1], &b->u.seq.items[1], out);
        }
    default:
        *out = dt_value_equal(a, b);
        return DT_OK;
    }
}

/*
 * Clojure's `compare`: *out < 0, 0, > 0 (the values Clojure's compare
 * gives: -1/0/1 for numbers, Java's compareTo differences for strings,
 * keywords and chars).  nil sorts first; numbers compare numerically
 * across types (NaN above every number); vectors by length, then element
 * by element.  Values Clojure cannot compare (different types, lists,
 * sets, maps) set *bad and leave DT_OK: the caller names the call.
 */
static int clj_compare(const dt_value *a, const dt_value *b, int *out, const dt_value **bad1,
                       const dt_value **bad2) {
    *out = 0;
    if (a->type == DT_NIL || b->type == DT_NIL) {
        *out = (a->type != DT_NIL) - (b->type != DT_NIL);
        return DT_OK;
    }
    if (is_num(a) && is_num(b)) {
        int u;
        return num_cmp(a, b, out, &u);
    }
    if (is_vecish(a) && is_vecish(b)) {
        if (a->u.seq.n != b->u.seq.n) {
            *out = a->u.seq.n < b->u.seq.n ? -1 : 1;
            return DT_OK;
        }
        for (size_t i = 0; i < a->u.seq.n; i++) {
            int rc = clj_compare(&a->u.seq.items[i], &b->u.seq.items[i], out, bad1, bad2);
            if (rc != DT_OK || *bad1 || *out) return rc;
        }
        return DT_OK;
    }
    if (a->type != b->type) goto bad;
    switch (a->type) {
    case DT_BOOL:
        *out = (!!a->u.b) - (!!b->u.b);
        return DT_OK;
    case DT_INSTANT:
        *out = a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
        return DT_OK;
    case DT_CHAR:
        *out = (int)a->u.c - (int)b->u.c;
        return DT_OK;
    case DT_STRING:
        *out = text_compare(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
        return DT_OK;
    case DT_KEYWORD:
    case DT_SYMBOL: {
        const char *ans, *anm, *bns, *bnm;
        size_t ansl, anml, bnsl, bnml;
        split_name(a, &ans, &ansl, &anm, &anml);
        split_name(b, &bns, &bnsl, &bnm, &bnml);
        if (!ans && bns) {
            *out = -1;
            return DT_OK;
        }
        if (ans && !bns) {
            *out = 1;
            return DT_OK;
        }
        if (ans) {
            *out = text_compare(ans, ansl, bns, bnsl);
            if (*out) return DT_OK;
        }
        *out = text_compare(anm, anml, bnm, bnml);
        return DT_OK;
    }
    case DT_UUID: {
        /* java.util.UUID: the two signed 64-bit halves */
        for (int h = 0; h < 2; h++) {
            uint64_t x = 0, y = 0;
            for (int k = 0; k < 8; k++) {
                x = (x << 8) | a->u.uuid[h * 8 + k];
                y = (y << 8) | b->u.uuid[h * 8 + k];
            }
            int64_t sx = (int64_t)x, sy = (int64_t)y;
            if (sx != sy) {
                *out = sx < sy ? -1 : 1;
                return DT_OK;
            }
        }
        return DT_OK;
    }
    default:
        break;
    }
bad:
    *bad1 = a;
    *bad2 = b;
    return DT_OK;
}

/* clj_compare for a call: an incomparable pair is the call's error. */
static int compare_for(const char *name, const dt_value *args, size_t nargs, const dt_value *a,
                       const dt_value *b, int *out) {
    const dt_value *x = NULL, *y = NULL;
    int rc = clj_compare(a, b, out, &x, &y);
    if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, nargs, "bad number");
    if (x) {
        if (x->type == y->type)
            return call_err(name, args, nargs, "cannot compare values of type %s", tname(x));
        return call_err(name, args, nargs, "cannot compare %s and %s", tname(x), tname(y));
    }
    return DT_OK;
}

/* }====== */

/* {====== Comparisons ====== */

static int fn_compare_chain(dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                            dt_value *out) {
    int ok = 1;
    int all_num = 1;
    for (size_t i = 0; fn == DQ_FN_NUM_EQ && i < n; i++) all_num = all_num && is_num(&args[i]);
    /* = not= !=, and == with anything but numbers (as DataScript: (== "a"
     * "b") is false) */
    if (fn != DQ_FN_NUM_EQ ? fn == DQ_FN_EQ || fn == DQ_FN_NOT_EQ || fn == DQ_FN_BANG_EQ
                           : !all_num) {
        for (size_t i = 0; i + 1 < n && ok; i++) {
            int rc = clj_equal(&args[i], &args[i + 1], &ok);
            if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, n, "bad number");
        }
        dt_value_bool(fn == DQ_FN_NOT_EQ || fn == DQ_FN_BANG_EQ ? !ok : ok, out);
        return DT_OK;
    }
    if (fn == DQ_FN_NUM_EQ) {
        for (size_t i = 0; i + 1 < n && ok; i++) {
            int c, u;
            int rc = num_cmp(&args[i], &args[i + 1], &c, &u);
            if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, n, "bad number");
            ok = !u && c == 0;
        }
        dt_value_bool(ok, out);
        return DT_OK;
    }
    /* < > <= >=: every pair must be comparable (checked even when the
     * answer is already known, so an error does not depend on data order);
     * nil is not (DataScript fails, Clojure throws) */
    for (size_t i = 0; i < n; i++)
        if (args[i].type == DT_NIL) return call_err(name, args, n, "cannot compare nil");
    for (size_t i = 0; i + 1 < n; i++) {
        const dt_value *a = &args[i], *b = &args[i + 1];
        int c, unordered = 0;
        if (is_num(a) && is_num(b)) {
            int rc = num_cmp(a, b, &c, &unordered);
            if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, n, "bad number");
        } else {
            int rc = compare_for(name, args, n, a, b, &c);
            if (rc != DT_OK) return rc;
        }
        int r;
        switch (fn) {
        case DQ_FN_LT:
            r = c < 0;
            break;
        case DQ_FN_GT:
            r = c > 0;
            break;
        case DQ_FN_LE:
            r = c <= 0;
            break;
        default:
            r = c >= 0;
            break;
        }
        if (unordered) r = 0;
        ok = ok && r;
    }
    dt_value_bool(ok, out);
    return DT_OK;
}

/* }====== */

/* {====== Arithmetic ====== */

/* Checks that every argument is a number; bigint and bigdec only where
 * `big` allows them (+ - * inc dec compute them exactly). */
static int need_nums_big(const char *name, const dt_value *args, size_t n, int big) {
    for (size_t i = 0; i < n; i++) {
        if (!is_num(&args[i])) return call_err(name, args, n, "not a number: %s", tname(&args[i]));
        if (is_big(&args[i]) && !big)
            return call_err(name, args, n, "%s is not supported by %s", tname(&args[i]), name);
    }
    return DT_OK;
}
static int need_nums(const char *name, const dt_value *args, size_t n) {
    return need_nums_big(name, args, n, 0);
}

/* {------ Exact arithmetic on bigint and bigdec ------ */

/* The most digits a big result may have (beyond: an error, not a
 * gigabyte of digits). */
#define BIG_MAX_DIGITS 100000

/* v (a long, bigint or bigdec) as a decimal with its scale kept. */
static int dec_of(const dt_value *v, dl_decimal *d) {
    char tmp[32];
    if (is_int(v)) {
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        return dl_decimal_parse(tmp, (size_t)n, 0, d);
    }
    return dl_decimal_parse(v->u.s.ptr, v->u.s.len, v->type == DT_BIGDEC, d);
}

/* Magnitudes: ASCII digit strings, most significant first, no leading
 * zeros (but "0"). */
static int mag_cmp(const char *x, size_t nx, const char *y, size_t ny) {
    if (nx != ny) return nx < ny ? -1 : 1;
    int c = memcmp(x, y, nx);
    return c < 0 ? -1 : c > 0;
}

static void mag_trim(char *s, size_t *n) {
    size_t lead = 0;
    while (lead + 1 < *n && s[lead] == '0') lead++;
    if (lead) memmove(s, s + lead, *n - lead);
    *n -= lead;
    s[*n] = 0;
}

/* x + y, or x - y when sub (then x >= y); malloc'd (dt__free). */
static char *mag_addsub(const char *x, size_t nx, const char *y, size_t ny, int sub, size_t *nr) {
    size_t n = (nx > ny ? nx : ny) + 1;
    char *r = dt__malloc(n + 1);
    if (!r) return NULL;
    int carry = 0;
    for (size_t k = 0; k < n; k++) {
        int a = k < nx ? x[nx - 1 - k] - '0' : 0, b = k < ny ? y[ny - 1 - k] - '0' : 0;
        int d = sub ? a - b - carry : a + b + carry;
        carry = sub ? d < 0 : d > 9;
        if (sub && d < 0) d += 10;
        if (!sub && d > 9) d -= 10;
        r[n - 1 - k] = (char)('0' + d);
    }
    *nr = n;
    mag_trim(r, nr);
    return r;
}

static char *mag_mul(const char *x, size_t nx, const char *y, size_t ny, size_t *nr) {
    size_t n = nx + ny;
    uint32_t *acc = dt__calloc(n, sizeof *acc);
    char *r = dt__malloc(n + 1);
    if (!acc || !r) {
        dt__free(acc);
        dt__free(r);
        return NULL;
    }
    for (size_t i = 0; i < nx; i++) {
        uint32_t a = (uint32_t)(x[nx - 1 - i] - '0');
        if (!a) continue;
        for (size_t j = 0; j < ny; j++) acc[i + j] += a * (uint32_t)(y[ny - 1 - j] - '0');
        /* keep the cells small: carry after every row */
        for (size_t k = i; k < i + ny + 1 && k + 1 < n; k++) {
            acc[k + 1] += acc[k] / 10;
            acc[k] %= 10;
        }
    }
    for (size_t k = 0; k + 1 < n; k++) {
        acc[k + 1] += acc[k] / 10;
        acc[k] %= 10;
    }
    for (size_t k = 0; k < n; k++) r[n - 1 - k] = (char)('0' + acc[k]);
    dt__free(acc);
    *nr = n;
    mag_trim(r, nr);
    return r;
}

/* digits of d followed by z zeros (malloc'd). */
static char *mag_shift(const dl_decimal *d, int64_t z) {
    char *r = dt__malloc(d->ndigits + (size_t)z + 1);
    if (!r) return NULL;
    memcpy(r, d->digits, d->ndigits);
    memset(r + d->ndigits, '0', (size_t)z);
    r[d->ndigits + (size_t)z] = 0;
    return r;
}

/* *r = a op b for op '+', '-', '*' (r owns its digits): DT_OK, DT_NOMEM,
 * or DT_LIMIT when the result would pass BIG_MAX_DIGITS. */
static int dec_op(int op, const dl_decimal *a, const dl_decimal *b, dl_decimal *r) {
    memset(r, 0, sizeof *r);
    size_t nr = 0;
    char *digits;
    if (op == '*') {
        if (a->ndigits + b->ndigits > BIG_MAX_DIGITS) return DT_LIMIT;
        digits = mag_mul(a->digits, a->ndigits, b->digits, b->ndigits, &nr);
        r->neg = a->neg != b->neg;
        r->scale = a->scale + b->scale;
    } else {
        int64_t s = a->scale > b->scale ? a->scale : b->scale;
        int64_t za = s - a->scale, zb = s - b->scale;
        if ((int64_t)a->ndigits + za > BIG_MAX_DIGITS || (int64_t)b->ndigits + zb > BIG_MAX_DIGITS)
            return DT_LIMIT;
        char *x = mag_shift(a, za), *y = mag_shift(b, zb);
        if (!x || !y) {
            dt__free(x);
            dt__free(y);
            return DT_NOMEM;
        }
        size_t nx = a->ndigits + (size_t)za, ny = b->ndigits + (size_t)zb;
        mag_trim(x, &nx);
        mag_trim(y, &ny);
        int bneg = b->neg ^ (op == '-');
        if (a->neg == bneg) {
            digits = mag_addsub(x, nx, y, ny, 0, &nr);
            r->neg = a->neg;
        } else if (mag_cmp(x, nx, y, ny) >= 0) {
            digits = mag_addsub(x, nx, y, ny, 1, &nr);
            r->neg = a->neg;
        } else {
            digits = mag_addsub(y, ny, x, nx, 1, &nr);
            r->neg = bneg;
        }
        dt__free(x);
        dt__free(y);
        r->scale = s;
    }
    if (!digits) return DT_NOMEM;
    r->digits = digits;
    r->ndigits = nr;
    if (nr == 1 && digits[0] == '0') r->neg = 0;
    return DT_OK;
}

/*
 * + - * (and inc/dec through them) when a bigint or bigdec takes part and
 * no double does: exact, as Clojure's BigInt and BigDecimal.  The result
 * is a bigdec when a bigdec takes part (scale: the larger for + and -,
 * the sum for *), else a bigint.
 */
static int big_arith(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    int anydec = 0;
    for (size_t i = 0; i < n; i++) anydec |= args[i].type == DT_BIGDEC;
    int op = fn == DQ_FN_MUL ? '*' : fn == DQ_FN_SUB ? '-' : '+';
    dl_decimal acc, x, r;
    dt_value first;
    dt_value_long(fn == DQ_FN_MUL ? 1 : 0, &first);
    size_t i = 0;
    int rc = dec_of(fn == DQ_FN_SUB && n > 1 ? &args[i++] : &first, &acc);
    if (rc != DT_OK) return rc == DT_NOMEM ? nomem() : call_err(name, args, n, "bad number");
    for (; i < n && rc == DT_OK; i++) {
        if ((rc = dec_of(&args[i], &x)) != DT_OK) break;
        rc = dec_op(op, &acc, &x, &r);
        dl_decimal_release(&x);
        if (rc != DT_OK) break;
        dl_decimal_release(&acc);
        acc = r;
    }
    dt_buf b = DT_BUF_INIT;
    if (rc == DT_OK) rc = dl_decimal_format(&acc, !anydec, &b);
    if (rc == DT_OK)
        rc = dt_value_text(anydec ? DT_BIGDEC : DT_BIGINT, (const char *)b.p, b.len, out);
    dt_buf_release(&b);
    dl_decimal_release(&acc);
    if (rc == DT_NOMEM) return nomem();
    if (rc == DT_LIMIT)
        return call_err(name, args, n, "result of more than %d digits", BIG_MAX_DIGITS);
    if (rc != DT_OK) return call_err(name, args, n, "bad number");
    return DT_OK;
}

/* ------} */

static int overflow(const char *name, const dt_value *args, size_t n) {
    return call_err(name, args, n, "long overflow");
}

static int fn_arith(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    int rc = need_nums_big(name, args, n, fn != DQ_FN_DIV);
    if (rc != DT_OK) return rc;
    int anyd = 0, anybig = 0;
    for (size_t i = 0; i < n; i++) anyd |= is_flo(&args[i]), anybig |= is_big(&args[i]);
    if (anybig && !anyd) return big_arith(fn, name, args, n, out);
    if (fn == DQ_FN_ADD || fn == DQ_FN_MUL) {
        if (anyd) {
            double acc = fn == DQ_FN_ADD ? 0.0 : 1.0;
            for (size_t i = 0; i < n; i++)
                acc = fn == DQ_FN_ADD ? acc + num_double(&args[i]) : acc * num_double(&args[i]);
            dt_value_double(acc, out);
            return DT_OK;
        }
        int64_t acc = fn == DQ_FN_ADD ? 0 : 1;
        for (size_t i = 0; i < n; i++) {
            int o = fn == DQ_FN_ADD ? __builtin_add_overflow(acc, args[i].u.i, &acc)
                                    : __builtin_mul_overflow(acc, args[i].u.i, &acc);
            if (o) return overflow(name, args, n);
        }
        dt_value_long(acc, out);
        return DT_OK;
    }
    if (fn == DQ_FN_SUB) {
        if (anyd) {
            double acc = n == 1 ? -num_double(&args[0]) : num_double(&args[0]);
            for (size_t i = 1; i < n; i++) acc -= num_double(&args[i]);
            dt_value_double(acc, out);
            return DT_OK;
        }
        int64_t acc = args[0].u.i;
        if (n == 1) {
            if (acc == INT64_MIN) return overflow(name, args, n);
            acc = -acc;
        }
        for (size_t i = 1; i < n; i++)
            if (__builtin_sub_overflow(acc, args[i].u.i, &acc)) return overflow(name, args, n);
        dt_value_long(acc, out);
        return DT_OK;
    }
    /* DQ_FN_DIV: longs stay longs when they divide evenly, else a double
     * (Clojure gives a ratio, which Datolite has no type for); a zero
     * divisor is an error for doubles too, as Clojure's boxed division */
    for (size_t i = n == 1 ? 0 : 1; i < n; i++)
        if (num_double(&args[i]) == 0.0) return call_err(name, args, n, "divide by zero");
    if (anyd) {
        double acc = n == 1 ? 1.0 : num_double(&args[0]);
        for (size_t i = n == 1 ? 0 : 1; i < n; i++) acc /= num_double(&args[i]);
        dt_value_double(acc, out);
        return DT_OK;
    }
    /* all longs: exact while it divides, then double */
    int64_t acc = n == 1 ? 1 : args[0].u.i;
    size_t i = n == 1 ? 0 : 1;
    for (; i < n; i++) {
        int64_t d = args[i].u.i;
        if (d == -1 && acc == INT64_MIN) return overflow(name, args, n);
        if (acc % d != 0) break;
        acc /= d;
    }
    if (i == n) {
        dt_value_long(acc, out);
        return DT_OK;
    }
    double dacc = (double)acc;
    for (; i < n; i++) {
        dacc /= (double)args[i].u.i;
    }
    dt_value_double(dacc, out);
    return DT_OK;
}

/* quot rem mod */
/* The most digits of a bigint quot/rem/mod operand (schoolbook
 * division costs digits^2). */
#define BIG_MAX_DIV_DIGITS 4000

/* quot rem mod of integers where a bigint takes part: exact, a bigint. */
static int big_qrm(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    dl_decimal x, y;
    int rc = dec_of(&args[0], &x);
    if (rc != DT_OK) return rc == DT_NOMEM ? nomem() : call_err(name, args, n, "bad number");
    if ((rc = dec_of(&args[1], &y)) != DT_OK) {
        dl_decimal_release(&x);
        return rc == DT_NOMEM ? nomem() : call_err(name, args, n, "bad number");
    }
    char *q = NULL, *r = NULL;
    size_t nq = 0, nr = 1;
    if (y.ndigits == 1 && y.digits[0] == '0')
        rc = call_err(name, args, n, "divide by zero");
    else if (x.ndigits > BIG_MAX_DIV_DIGITS || y.ndigits > BIG_MAX_DIV_DIGITS)
        rc = call_err(name, args, n, "operands of more than %d digits", BIG_MAX_DIV_DIGITS);
    else if (!(q = dt__malloc(x.ndigits + 1)) || !(r = dt__malloc(x.ndigits + y.ndigits + 2)))
        rc = nomem();
    else {
        /* schoolbook: bring down a digit, subtract the divisor while it fits */
        r[0] = '0';
        for (size_t i = 0; i < x.ndigits && rc == DT_OK; i++) {
            r[nr++] = x.digits[i];
            mag_trim(r, &nr);
            int cnt = 0;
            while (mag_cmp(r, nr, y.digits, y.ndigits) >= 0) {
                size_t nd;
                char *d = mag_addsub(r, nr, y.digits, y.ndigits, 1, &nd);
                if (!d) {
                    rc = nomem();
                    break;
                }
                memcpy(r, d, nd + 1);
                nr = nd;
                dt__free(d);
                cnt++;
            }
            q[nq++] = (char)('0' + cnt);
        }
        q[nq] = 0;
        mag_trim(q, &nq);
    }
    if (rc == DT_OK) {
        /* quot truncates; rem has the dividend's sign; mod the divisor's */
        dl_decimal res = {0, NULL, 0, 0};
        char *sum = NULL;
        int rzero = nr == 1 && r[0] == '0';
        if (fn == DQ_FN_QUOT) {
            res.digits = q;
            res.ndigits = nq;
            res.neg = x.neg != y.neg && !(nq == 1 && q[0] == '0');
        } else {
            res.digits = r;
            res.ndigits = nr;
            res.neg = x.neg && !rzero;
            if (fn == DQ_FN_MOD && !rzero && x.neg != y.neg) {
                /* r + y with r and y of opposite signs: |y| - |r|, sign of y */
                size_t ns;
                sum = mag_addsub(y.digits, y.ndigits, r, nr, 1, &ns);
                if (!sum)
                    rc = nomem();
                else {
                    res.digits = sum;
                    res.ndigits = ns;
                    res.neg = y.neg;
                }
            }
        }
        dt_buf b = DT_BUF_INIT;
        if (rc == DT_OK && dl_decimal_format(&res, 1, &b) != DT_OK) rc = nomem();
        if (rc == DT_OK && dt_value_text(DT_BIGINT, (const char *)b.p, b.len, out) != DT_OK)
            rc = nomem();
        dt_buf_release(&b);
        dt__free(sum);
    }
    dt__free(q);
    dt__free(r);
    dl_decimal_release(&x);
    dl_decimal_release(&y);
    return rc;
}

static int fn_qrm(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    int rc = need_nums_big(name, args, n, 1);
    if (rc != DT_OK) return rc;
    const dt_value *a = &args[0], *b = &args[1];
    if (a->type == DT_BIGDEC || b->type == DT_BIGDEC)
        return call_err(name, args, n, "bigdec is not supported by %s", name);
    if ((a->type == DT_BIGINT && !is_flo(b)) || (b->type == DT_BIGINT && !is_flo(a)))
        return big_qrm(fn, name, args, n, out);
    if (is_int(a) && is_int(b)) {
        int64_t x = a->u.i, y = b->u.i, r;
        if (y == 0) return call_err(name, args, n, "divide by zero");
        if (y == -1) {
            if (fn == DQ_FN_QUOT) {
                if (x == INT64_MIN) return overflow(name, args, n);
                dt_value_long(-x, out);
            } else
                dt_value_long(0, out);
            return DT_OK;
        }
        if (fn == DQ_FN_QUOT)
            r = x / y;
        else {
            r = x % y;
            if (fn == DQ_FN_MOD && r != 0 && ((r < 0) != (y < 0))) r += y;
        }
        dt_value_long(r, out);
        return DT_OK;
    }
    double x = num_double(a), y = num_double(b);
    if (y == 0.0) return call_err(name, args, n, "divide by zero");
    if (!isfinite(x) || isnan(y)) return call_err(name, args, n, "not a finite number");
    double q = trunc(x / y);
    double r;
    if (fn == DQ_FN_QUOT)
        r = q;
    else {
        r = fmod(x, y);
        if (fn == DQ_FN_MOD && r != 0.0 && ((r < 0) != (y < 0))) r += y;
    }
    dt_value_double(r, out);
    return DT_OK;
}

static int fn_incdec(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    int rc = need_nums_big(name, args, n, 1);
    if (rc != DT_OK) return rc;
    int64_t d = fn == DQ_FN_INC ? 1 : -1;
    if (is_big(&args[0])) {
        dt_value two[2];
        two[0] = args[0];
        dt_value_long(d, &two[1]);
        rc = big_arith(DQ_FN_ADD, name, two, 2, out);
        /* a message would show the added 1: name the call as written */
        return rc == DT_INVALID ? call_err(name, args, n, "%s", "result too large") : rc;
    }
    if (is_flo(&args[0])) {
        dt_value_double(flo(&args[0]) + (double)d, out);
        return DT_OK;
    }
    int64_t r;
    if (__builtin_add_overflow(args[0].u.i, d, &r)) return overflow(name, args, n);
    dt_value_long(r, out);
    return DT_OK;
}

/* min / max: the winning argument as it is (of equal ones the last).
 * Numbers compare numerically (NaN wins); with any other value among the
 * arguments, all compare in value order (dt_value_compare), as
 * DataScript's min and max compare any values: (max :b :a) is :b. */
static int fn_minmax(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    size_t best = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_num(&args[i])) {
            for (size_t k = 1; k < n; k++) {
                int c = dt_value_compare(&args[k], &args[best]);
                if (fn == DQ_FN_MIN ? c <= 0 : c >= 0) best = k;
            }
            return dt_value_copy(&args[best], out) == DT_OK ? DT_OK : nomem();
        }
    for (size_t i = 1; i < n; i++) {
        int c, u;
        int rc = num_cmp(&args[i], &args[best], &c, &u);
        if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, n, "bad number");
        if (u) {
            if (isnan(num_double(&args[i]))) best = i;
            continue;
        }
        if (isnan(num_double(&args[best]))) continue;
        if (fn == DQ_FN_MIN ? c <= 0 : c >= 0) best = i; /* ties: the later, as Clojure */
    }
    return dt_value_copy(&args[best], out) == DT_OK ? DT_OK : nomem();
}

/* zero? pos? neg? even? odd? */
static int fn_numpred(dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                      dt_value *out) {
    const dt_value *a = &args[0];
    if (!is_num(a)) return call_err(name, args, n, "not a number: %s", tname(a));
    if (fn == DQ_FN_EVEN_P || fn == DQ_FN_ODD_P) {
        int even;
        if (is_int(a))
            even = (a->u.i & 1) == 0;
        else if (a->type == DT_BIGINT) {
            char last = a->u.s.len ? a->u.s.ptr[a->u.s.len - 1] : '0';
            even = ((last - '0') & 1) == 0;
        } else
            return call_err(name, args, n, "argument must be an integer: %s", tname(a));
        dt_value_bool(fn == DQ_FN_EVEN_P ? even : !even, out);
        return DT_OK;
    }
    int s;
    if (is_int(a))
        s = sign3i(a->u.i);
    else if (is_flo(a)) {
        double d = flo(a);
        s = d < 0 ? -1 : d > 0 ? 1 : (d == 0 ? 0 : 2); /* 2: NaN, none of them */
    } else {
        dt_value z;
        dt_value_long(0, &z);
        int rc = big_cmp(a, &z, &s);
        if (rc != DT_OK) return rc == DT_NOMEM ? nomem() : call_err(name, args, n, "bad number");
    }
    int r = fn == DQ_FN_ZERO_P ? s == 0 : fn == DQ_FN_POS_P ? s == 1 : s == -1;
    dt_value_bool(r, out);
    return DT_OK;
}

/* }====== */

/* {====== Strings ====== */

/*
 * Java's Double.toString / Float.toString: the shortest decimal that
 * reads back, plain between 10^-3 and 10^7 ("1.0", "0.001"), otherwise
 * computerized scientific notation ("1.0E7", "1.5E-4"); "NaN",
 * "Infinity", "-Infinity".
 */
static int fmt_double(dt_buf *b, double d, int is_float) {
    if (isnan(d)) return dt_buf_append(b, "NaN", 3);
    if (isinf(d)) return d < 0 ? dt_buf_append(b, "-Infinity", 9) : dt_buf_append(b, "Infinity", 8);
    if (d == 0) return signbit(d) ? dt_buf_append(b, "-0.0", 4) : dt_buf_append(b, "0.0", 3);
    char t[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*e", prec - 1, d);
        double back = strtod(t, NULL);
        if (is_float ? (float)back == (float)d : back == d) break;
    }
    /* t = [-]D[.DDD]e[+-]XX: the digits and the decimal exponent */
    char digits[32];
    size_t nd = 0;
    const char *p = t;
    int neg = 0;
    if (*p == '-') neg = 1, p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int rc = DT_OK;
    if (neg) rc |= dt_buf_putc(b, '-');
    if (exp10 >= -3 && exp10 < 7) {
        if (exp10 < 0) {
            rc |= dt_buf_append(b, "0.", 2);
            for (int k = -1; k > exp10; k--) rc |= dt_buf_putc(b, '0');
            rc |= dt_buf_append(b, digits, nd);
        } else {
            size_t intd = (size_t)exp10 + 1;
            for (size_t k = 0; k < intd; k++)
                rc |= dt_buf_putc(b, k < nd ? (uint8_t)digits[k] : '0');
            rc |= dt_buf_putc(b, '.');
            if (nd > intd)
                rc |= dt_buf_append(b, digits + intd, nd - intd);
            else
                rc |= dt_buf_putc(b, '0');
        }
    } else {
        rc |= dt_buf_putc(b, (uint8_t)digits[0]);
        rc |= dt_buf_putc(b, '.');
        if (nd > 1)
            rc |= dt_buf_append(b, digits + 1, nd - 1);
        else
            rc |= dt_buf_putc(b, '0');
        rc |= dt_buf_printf(b, "E%d", exp10);
    }
    return rc ? DT_NOMEM : DT_OK;
}

/* Appends Clojure's (str v) of one value. */
static int str_of(dt_buf *b, const dt_value *v) {
    switch (v->type) {
    case DT_NIL:
        return DT_OK;
    case DT_BOOL:
        return v->u.b ? dt_buf_append(b, "true", 4) : dt_buf_append(b, "false", 5);
    case DT_LONG:
    case DT_REF:
        return dt_buf_printf(b, "%lld", (long long)v->u.i);
    case DT_DOUBLE:
        return fmt_double(b, v->u.d, 0);
    case DT_FLOAT:
        return fmt_double(b, (double)v->u.f, 1);
    case DT_STRING:
    case DT_SYMBOL:
    case DT_BIGINT:
    case DT_BIGDEC:
        return dt_buf_append(b, v->u.s.ptr, v->u.s.len);
    case DT_KEYWORD:
        return dt_buf_putc(b, ':') | dt_buf_append(b, v->u.s.ptr, v->u.s.len);
    case DT_CHAR:
        return put_utf8(b, v->u.c);
    case DT_UUID: {
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10)
                if (dt_buf_putc(b, '-') != DT_OK) return DT_NOMEM;
            if (dt_buf_printf(b, "%02x", v->u.uuid[k]) != DT_OK) return DT_NOMEM;
        }
        return DT_OK;
    }
    default:
        break;
    }
    if (is_regex(v)) return dt_buf_append(b, v->u.seq.items[1].u.s.ptr, v->u.seq.items[1].u.s.len);
    /* instants and collections: their EDN text (an instant without its
     * #inst tag) */
    char *s = NULL;
    size_t n = 0;
    int rc = dt_edn_write(v, DT_EDN_COMPACT, &s, &n);
    if (rc == DT_NOMEM) return DT_NOMEM;
    if (rc != DT_OK) return dt_buf_printf(b, "#<%s>", tname(v));
    if (v->type == DT_INSTANT && n > 8 && s[n - 1] == '"') {
        const char *q = memchr(s, '"', n);
        rc = dt_buf_append(b, q + 1, (size_t)(s + n - 1 - (q + 1)));
    } else
        rc = dt_buf_append(b, s, n);
    dt_free(s);
    return rc;
}

static int fn_str(const dt_value *args, size_t n, dt_value *out) {
    dt_buf b = DT_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        if (str_of(&b, &args[i]) != DT_OK) {
            dt_buf_release(&b);
            return nomem();
        }
    int rc = mk_string(b.p ? (const char *)b.p : "", b.len, out);
    dt_buf_release(&b);
    return rc;
}

/* Byte offset of UTF-16 unit index u in s[0..n); -1 when u falls inside
 * a surrogate pair; n when u is the length. */
static long unit_offset(const char *s, size_t n, int64_t u) {
    size_t i = 0;
    int64_t k = 0;
    while (k < u && i < n) {
        uint32_t c = utf8_next((const unsigned char *)s, n, &i);
        k += (int64_t)utf16_units(c);
    }
    return k == u ? (long)i : -1;
}

static int fn_subs(const char *name, const dt_value *args, size_t n, dt_value *out) {
    const dt_value *s = &args[0];
    if (s->type != DT_STRING) return call_err(name, args, n, "not a string: %s", tname(s));
    for (size_t i = 1; i < n; i++)
        if (!is_int(&args[i]))
            return call_err(name, args, n, "index is not a long: %s", tname(&args[i]));
    int64_t len = (int64_t)text_units(s->u.s.ptr, s->u.s.len);
    int64_t from = args[1].u.i, to = n == 3 ? args[2].u.i : len;
    if (from < 0 || to > len || from > to)
        return call_err(name, args, n,
                        "string index out of range: begin %lld, end %lld, length %lld",
                        (long long)from, (long long)to, (long long)len);
    long a = unit_offset(s->u.s.ptr, s->u.s.len, from);
    long z = unit_offset(s->u.s.ptr, s->u.s.len, to);
    if (a < 0 || z < 0) return call_err(name, args, n, "index splits a surrogate pair");
    return mk_string(s->u.s.ptr + a, (size_t)(z - a), out);
}

static int fn_count(const char *name, const dt_value *args, size_t n, dt_value *out) {
    const dt_value *v = &args[0];
    switch (v->type) {
    case DT_NIL:
        dt_value_long(0, out);
        return DT_OK;
    case DT_STRING:
        dt_value_long((int64_t)text_units(v->u.s.ptr, v->u.s.len), out);
        return DT_OK;
    case DT_BYTES:
        dt_value_long((int64_t)v->u.s.len, out);
        return DT_OK;
    case DT_VECTOR:
    case DT_TUPLE:
    case DT_LIST:
    case DT_SET:
        dt_value_long((int64_t)v->u.seq.n, out);
        return DT_OK;
    case DT_MAP:
        dt_value_long((int64_t)(v->u.seq.n / 2), out);
        return DT_OK;
    default:
        return call_err(name, args, n, "count not supported on %s", tname(v));
    }
}

/* keyword, name, namespace */
static int fn_names(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    if (fn == DQ_FN_KEYWORD) {
        if (n == 1) {
            const dt_value *v = &args[0];
            if (v->type == DT_KEYWORD) return dt_value_copy(v, out) == DT_OK ? DT_OK : nomem();
            if (v->type == DT_NIL) return DT_OK;
            if (v->type != DT_STRING && v->type != DT_SYMBOL)
                return call_err(name, args, n, "cannot make a keyword of %s", tname(v));
            if (v->u.s.len == 0) return call_err(name, args, n, "empty keyword");
            int rc = dt_value_text(DT_KEYWORD, v->u.s.ptr, v->u.s.len, out);
            return rc == DT_OK      ? DT_OK
                   : rc == DT_NOMEM ? nomem()
                                    : call_err(name, args, n, "bad keyword");
        }
        const dt_value *ns = &args[0], *nm = &args[1];
        if (ns->type != DT_NIL && ns->type != DT_STRING)
            return call_err(name, args, n, "namespace is not a string: %s", tname(ns));
        if (nm->type != DT_STRING)
            return call_err(name, args, n, "name is not a string: %s", tname(nm));
        if (nm->u.s.len == 0) return call_err(name, args, n, "empty keyword name");
        dt_buf b = DT_BUF_INIT;
        int rc = DT_OK;
        if (ns->type == DT_STRING)
            rc |= dt_buf_append(&b, ns->u.s.ptr, ns->u.s.len) | dt_buf_putc(&b, '/');
        rc |= dt_buf_append(&b, nm->u.s.ptr, nm->u.s.len);
        if (rc == DT_OK) rc = dt_value_text(DT_KEYWORD, (const char *)b.p, b.len, out);
        dt_buf_release(&b);
        return rc == DT_OK ? DT_OK : nomem();
    }
    const dt_value *v = &args[0];
    if (fn == DQ_FN_NAME && v->type == DT_STRING)
        return dt_value_copy(v, out) == DT_OK ? DT_OK : nomem();
    if (v->type != DT_KEYWORD && v->type != DT_SYMBOL)
        return call_err(name, args, n, "not a keyword or symbol: %s", tname(v));
    const char *ns, *nm;
    size_t nsl, nml;
    split_name(v, &ns, &nsl, &nm, &nml);
    if (fn == DQ_FN_NAME) return mk_string(nm, nml, out);
    if (!ns) return DT_OK;
    return mk_string(ns, nsl, out);
}

/* Java's Character.isWhitespace for a code point. */
static int is_space_cp(uint32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0x00a0 || c == 0x2007 || c == 0x202f) return 0; /* no-break spaces */
    return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x205f || c == 0x3000;
}

/* The locale whose case tables lower-case/upper-case use (C.UTF-8: the
 * Unicode simple case mappings), or 0 when the system lacks it (then
 * only ASCII letters change case). */
static locale_t case_locale(void) {
    static locale_t loc;
    static int tried;
    if (!__atomic_load_n(&tried, __ATOMIC_ACQUIRE)) {
        locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        locale_t none = (locale_t)0;
        if (l &&
            !__atomic_compare_exchange_n(&loc, &none, l, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            freelocale(l);
        __atomic_store_n(&tried, 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
}

static int fn_strings(dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                      dt_value *out) {
    const dt_value *s = &args[0];
    if (fn == DQ_FN_BLANK_P) {
        if (s->type == DT_NIL) {
            dt_value_bool(1, out);
            return DT_OK;
        }
        if (s->type != DT_STRING) return call_err(name, args, n, "not a string: %s", tname(s));
        size_t i = 0;
        int blank = 1;
        while (i < s->u.s.len && blank)
            blank = is_space_cp(utf8_next((const unsigned char *)s->u.s.ptr, s->u.s.len, &i));
        dt_value_bool(blank, out);
        return DT_OK;
    }
    if (s->type != DT_STRING) return call_err(name, args, n, "not a string: %s", tname(s));
    if (fn == DQ_FN_LOWER_CASE || fn == DQ_FN_UPPER_CASE) {
        locale_t loc = case_locale();
        dt_buf b = DT_BUF_INIT;
        int rc = dt_buf_reserve(&b, s->u.s.len + 1);
        size_t i = 0;
        while (i < s->u.s.len && rc == DT_OK) {
            uint32_t c = utf8_next((const unsigned char *)s->u.s.ptr, s->u.s.len, &i);
            uint32_t m = c;
            if (loc)
                m = (uint32_t)(fn == DQ_FN_LOWER_CASE ? towlower_l((wint_t)c, loc)
                                                      : towupper_l((wint_t)c, loc));
            else if (c < 0x80)
                m = fn == DQ_FN_LOWER_CASE ? (c >= 'A' && c <= 'Z' ? c + 32 : c)
                                           : (c >= 'a' && c <= 'z' ? c - 32 : c);
            rc = put_utf8(&b, m);
        }
        if (rc == DT_OK)
            rc = mk_string(b.p ? (const char *)b.p : "", b.len, out);
        else
            rc = nomem();
        dt_buf_release(&b);
        return rc;
    }
    const dt_value *t = &args[1];
    if (t->type != DT_STRING) return call_err(name, args, n, "not a string: %s", tname(t));
    const char *a = s->u.s.ptr, *x = t->u.s.ptr;
    size_t na = s->u.s.len, nx = t->u.s.len;
    int r = 0;
    if (fn == DQ_FN_STARTS_WITH)
        r = nx <= na && memcmp(a, x, nx) == 0;
    else if (fn == DQ_FN_ENDS_WITH)
        r = nx <= na && memcmp(a + na - nx, x, nx) == 0;
    else if (nx == 0)
        r = 1;
    else
        for (size_t i = 0; i + nx <= na && !r; i++) r = memcmp(a + i, x, nx) == 0;
    dt_value_bool(r, out);
    return DT_OK;
}

/* }====== */

/* {====== Regexes ====== */

/* The compiled pattern of a regex or string argument, from the cache or
 * compiled now.  *e gets the cache entry. */
static int regex_get(dq_fnctx *c, const char *name, const dt_value *args, size_t n,
                     const dt_value *p, re_ent **e) {
    const dt_value *s = is_regex(p) ? &p->u.seq.items[1] : p;
    if (s->type != DT_STRING) return call_err(name, args, n, "not a regex: %s", tname(p));
    for (size_t i = 0; i < c->nre; i++)
        if (c->re[i].len == s->u.s.len && memcmp(c->re[i].pat, s->u.s.ptr, s->u.s.len) == 0) {
            *e = &c->re[i];
            return DT_OK;
        }
    int err;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)(s->u.s.len ? s->u.s.ptr : ""), s->u.s.len,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(err, msg, sizeof msg) < 0) strcpy((char *)msg, "error");
        if (err == PCRE2_ERROR_NOMEMORY) return nomem();
        return call_err(name, args, n, "invalid regex: %s at offset %zu", (const char *)msg,
                        (size_t)off);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    char *pat = dt__strndup(s->u.s.len ? s->u.s.ptr : "", s->u.s.len);
    if (!c->mctx) {
        c->mctx = pcre2_match_context_create(NULL);
        if (c->mctx) pcre2_set_match_limit(c->mctx, 5000000);
    }
    if (!md || !pat || !c->mctx) {
        pcre2_match_data_free(md);
        pcre2_code_free(code);
        dt__free(pat);
        return nomem();
    }
    size_t slot;
    if (c->nre < RE_CACHE)
        slot = c->nre++;
    else {
        slot = c->next;
        c->next = (c->next + 1) % RE_CACHE;
        dt__free(c->re[slot].pat);
        pcre2_match_data_free(c->re[slot].md);
        pcre2_code_free(c->re[slot].code);
    }
    c->re[slot] = (re_ent){pat, s->u.s.len, code, md};
    *e = &c->re[slot];
    return DT_OK;
}

/* The match in md as re-find gives it: the text, or with groups a vector
 * [whole g1 g2 ...] (nil for a group that did not take part). */
static int match_value(pcre2_code *code, pcre2_match_data *md, const char *subj, dt_value *out) {
    uint32_t ng = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ng);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (ng == 0) return mk_string(subj + ov[0], ov[1] - ov[0], out);
    if (dt_value_seq(DT_VECTOR, (size_t)ng + 1, out) != DT_OK) return nomem();
    for (uint32_t g = 0; g <= ng; g++) {
        if (ov[2 * g] == PCRE2_UNSET) continue;
        if (mk_string(subj + ov[2 * g], ov[2 * g + 1] - ov[2 * g], &out->u.seq.items[g]) != DT_OK) {
            dt_value_free(out);
            return nomem();
        }
    }
    return DT_OK;
}

/* One match attempt from `start`: 1 matched, 0 not, or an error (< 0 as
 * -rc). */
static int re_run(dq_fnctx *c, re_ent *e, const char *name, const dt_value *args, size_t n,
                  const dt_value *s, size_t start, uint32_t opts, int *rcp) {
    *rcp = DT_OK;
    int r = pcre2_match(e->code, (PCRE2_SPTR)(s->u.s.len ? s->u.s.ptr : ""), s->u.s.len, start,
                        opts, e->md, c->mctx);
    if (r >= 0) return 1;
    if (r == PCRE2_ERROR_NOMATCH) return 0;
    if (r == PCRE2_ERROR_NOMEMORY) {
        *rcp = nomem();
        return 0;
    }
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(r, msg, sizeof msg) < 0) strcpy((char *)msg, "error");
    *rcp = call_err(name, args, n, "regex match failed: %s", (const char *)msg);
    return 0;
}

static int fn_regex(dq_fnctx *c, dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                    dt_value *out) {
    if (!c) return dt__seterr(NULL, DT_MISUSE, "query: %s needs a function context", name);
    if (fn == DQ_FN_RE_PATTERN) {
        const dt_value *p = &args[0];
        if (is_regex(p)) return dt_value_copy(p, out) == DT_OK ? DT_OK : nomem();
        if (p->type != DT_STRING) return call_err(name, args, n, "not a string: %s", tname(p));
        re_ent *e;
        int rc = regex_get(c, name, args, n, p, &e); /* reject invalid patterns now */
        if (rc != DT_OK) return rc;
        if (dt_value_seq(DT_TAGGED, 2, out) != DT_OK) return nomem();
        if (dt_value_text(DT_SYMBOL, "regex", 5, &out->u.seq.items[0]) != DT_OK ||
            dt_value_copy(p, &out->u.seq.items[1]) != DT_OK) {
            dt_value_free(out);
            return nomem();
        }
        return DT_OK;
    }
    const dt_value *s = &args[1];
    if (s->type != DT_STRING) return call_err(name, args, n, "not a string: %s", tname(s));
    re_ent *e;
    int rc = regex_get(c, name, args, n, &args[0], &e);
    if (rc != DT_OK) return rc;
    const char *subj = s->u.s.len ? s->u.s.ptr : "";
    if (fn != DQ_FN_RE_SEQ) {
        uint32_t opts = fn == DQ_FN_RE_MATCHES ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0;
        if (!re_run(c, e, name, args, n, s, 0, opts, &rc)) return rc;
        return match_value(e->code, e->md, subj, out);
    }
    /* re-seq: every match, as Java's Matcher.find: after an empty match the
     * next search starts one character further */
    dt_buf items = DT_BUF_INIT; /* dt_values */
    size_t start = 0, count = 0;
    while (start <= s->u.s.len) {
        if (!re_run(c, e, name, args, n, s, start, 0, &rc)) break;
        dt_value m;
        if ((rc = match_value(e->code, e->md, subj, &m)) != DT_OK) break;
        if (dt_buf_append(&items, &m, sizeof m) != DT_OK) {
            dt_value_free(&m);
            rc = nomem();
            break;
        }
        count++;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        if (ov[1] > ov[0])
            start = ov[1];
        else {
            start = ov[1];
            if (start >= s->u.s.len) break;
            utf8_next((const unsigned char *)subj, s->u.s.len, &start);
        }
    }
    dt_value *iv = (dt_value *)items.p;
    if (rc == DT_OK && count) {
        if (dt_value_seq(DT_LIST, count, out) != DT_OK)
            rc = nomem();
        else
            for (size_t i = 0; i < count; i++) out->u.seq.items[i] = iv[i], iv[i].type = DT_NIL;
    }
    for (size_t i = 0; i < count; i++) dt_value_free(&iv[i]);
    dt_buf_release(&items);
    return rc;
}

/* }====== */

/* {====== Collections ====== */

/* A set of copies of items[0..n) without `=` duplicates (first kept). */
static int distinct_of(dq_agg_id agg, const dt_value *vals, size_t n, const dt_value ***out,
                       size_t *k);
static int mk_seq_ptr(dt_type t, const dt_value **p, size_t n, dt_value *out);

/* A set of copies of the distinct (by `=`) items[0..n), in a stable
 * order (sorting, not pairwise comparison: large inputs stay fast). */
static int mk_set(const dt_value *items, size_t n, dt_value *out) {
    const dt_value **p = NULL;
    size_t k = 0;
    int rc = distinct_of(DQ_AGG_DISTINCT, items, n, &p, &k);
    if (rc != DT_OK) return rc;
    rc = mk_seq_ptr(DT_SET, p, k, out);
    dt__free(p);
    return rc;
}

static int fn_hash_map(const dt_value *args, size_t n, dt_value *out) {
    if (dt_value_seq(DT_MAP, n, out) != DT_OK) return nomem();
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int rc;
        out->u.seq.n = k;
        long at = map_find(out, &args[i], &rc);
        out->u.seq.n = n;
        if (rc != DT_OK) {
            dt_value_free(out);
            return rc == DT_NOMEM ? nomem() : rc;
        }
        size_t slot = at >= 0 ? (size_t)at : k;
        dt_value_free(&out->u.seq.items[slot + 1]);
        if ((at < 0 && dt_value_copy(&args[i], &out->u.seq.items[slot]) != DT_OK) ||
            dt_value_copy(&args[i + 1], &out->u.seq.items[slot + 1]) != DT_OK) {
            dt_value_free(out);
            return nomem();
        }
        if (at < 0) k += 2;
    }
    out->u.seq.n = k;
    return DT_OK;
}

/* The largest collection range and the collection functions build. */
#define DQ_RANGE_MAX 100000000

static int fn_range(const char *name, const dt_value *args, size_t n, dt_value *out) {
    int rc = need_nums(name, args, n);
    if (rc != DT_OK) return rc;
    int anyd = 0;
    for (size_t i = 0; i < n; i++) anyd |= is_flo(&args[i]);
    if (!anyd) {
        int64_t start = n == 1 ? 0 : args[0].u.i, end = n == 1 ? args[0].u.i : args[1].u.i;
        int64_t step = n == 3 ? args[2].u.i : 1;
        if (step == 0 && start != end)
            return call_err(name, args, n, "a step of 0 gives an infinite sequence");
        uint64_t cnt = 0;
        if (step > 0 && start < end)
            cnt = ((uint64_t)end - (uint64_t)start - 1) / (uint64_t)step + 1;
        else if (step < 0 && start > end)
            cnt = ((uint64_t)start - (uint64_t)end - 1) / (uint64_t)(-(step + 1) + 1ull) + 1;
        if (cnt > DQ_RANGE_MAX)
            return call_err(name, args, n, "more than %d elements", DQ_RANGE_MAX);
        if (dt_value_seq(DT_LIST, (size_t)cnt, out) != DT_OK) return nomem();
        for (uint64_t i = 0; i < cnt; i++)
            dt_value_long((int64_t)((uint64_t)start + i * (uint64_t)step), &out->u.seq.items[i]);
        return DT_OK;
    }
    double start = n == 1 ? 0 : num_double(&args[0]),
           end = n == 1 ? num_double(&args[0]) : num_double(&args[1]);
    double step = n == 3 ? num_double(&args[2]) : 1;
    if (isnan(start) || isnan(end) || isnan(step)) return call_err(name, args, n, "NaN bound");
    if (step == 0 && start != end)
        return call_err(name, args, n, "a step of 0 gives an infinite sequence");
    double cntd = 0;
    if ((step > 0 && start < end) || (step < 0 && start > end)) cntd = ceil((end - start) / step);
    if (!(cntd <= DQ_RANGE_MAX))
        return call_err(name, args, n, "more than %d elements", DQ_RANGE_MAX);
    size_t cnt = (size_t)cntd;
    if (dt_value_seq(DT_LIST, cnt, out) != DT_OK) return nomem();
    /* Clojure adds the step repeatedly */
    double x = start;
    size_t k = 0;
    for (; k < cnt && (step > 0 ? x < end : x > end); k++, x += step)
        dt_value_double(x, &out->u.seq.items[k]);
    out->u.seq.n = k;
    return DT_OK;
}

static int fn_coll(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    const dt_value *c = &args[0];
    switch (fn) {
    case DQ_FN_CONTAINS_P:
    case DQ_FN_GET: {
        const dt_value *k = &args[1];
        const dt_value *found = NULL;
        dt_value ch = DT_VALUE_NIL;
        int has = 0, rc = DT_OK;
        if (c->type == DT_MAP) {
            long at = map_find(c, k, &rc);
            if (at >= 0) has = 1, found = &c->u.seq.items[at + 1];
        } else if (c->type == DT_SET) {
            long at = set_find(c, k, &rc);
            if (at >= 0) has = 1, found = &c->u.seq.items[at];
        } else if (is_vecish(c) || c->type == DT_STRING) {
            if (c->type == DT_STRING && !is_int(k) && fn == DQ_FN_CONTAINS_P)
                return call_err(name, args, n, "contains? on a string takes an index, not a %s",
                                tname(k));
            if (is_int(k)) {
                int64_t len = c->type == DT_STRING ? (int64_t)text_units(c->u.s.ptr, c->u.s.len)
                                                   : (int64_t)c->u.seq.n;
                if (k->u.i >= 0 && k->u.i < len) {
                    has = 1;
                    if (c->type != DT_STRING)
                        found = &c->u.seq.items[k->u.i];
                    else {
                        /* the UTF-16 unit at that index, as a char */
                        size_t i = 0;
                        int64_t u = 0;
                        for (;;) {
                            uint32_t cp =
                                utf8_next((const unsigned char *)c->u.s.ptr, c->u.s.len, &i);
                            if (cp >= 0x10000 && u + 1 == k->u.i) {
                                dt_value_char(0xdc00 | ((cp - 0x10000) & 0x3ff), &ch);
                                break;
                            }
                            if (u == k->u.i) {
                                dt_value_char(cp >= 0x10000 ? 0xd800 | ((cp - 0x10000) >> 10) : cp,
                                              &ch);
                                break;
                            }
                            u += (int64_t)utf16_units(cp);
                        }
                        found = &ch;
                    }
                }
            }
        } else if (c->type != DT_NIL && fn == DQ_FN_CONTAINS_P)
            return call_err(name, args, n, "contains? not supported on %s", tname(c));
        if (rc != DT_OK) return rc == DT_NOMEM ? nomem() : rc;
        if (fn == DQ_FN_CONTAINS_P) {
            dt_value_bool(has, out);
            return DT_OK;
        }
        if (!has) found = n == 3 ? &args[2] : NULL;
        if (!found) return DT_OK;
        return dt_value_copy(found, out) == DT_OK ? DT_OK : nomem();
    }
    case DQ_FN_EMPTY_P:
        switch (c->type) {
        case DT_NIL:
            dt_value_bool(1, out);
            return DT_OK;
        case DT_STRING:
        case DT_BYTES:
            dt_value_bool(c->u.s.len == 0, out);
            return DT_OK;
        case DT_VECTOR:
        case DT_TUPLE:
        case DT_LIST:
        case DT_SET:
        case DT_MAP:
            dt_value_bool(c->u.seq.n == 0, out);
            return DT_OK;
        default:
            return call_err(name, args, n, "empty? not supported on %s", tname(c));
        }
    case DQ_FN_SET:
        switch (c->type) {
        case DT_NIL:
            return mk_set(NULL, 0, out);
        case DT_VECTOR:
        case DT_TUPLE:
        case DT_LIST:
        case DT_SET:
            return mk_set(c->u.seq.items, c->u.seq.n, out);
        case DT_MAP: {
            /* the entries as [k v] vectors */
            size_t m = c->u.seq.n / 2;
            dt_value *ents = dt__calloc(m ? m : 1, sizeof *ents);
            if (!ents) return nomem();
            int rc = DT_OK;
            for (size_t i = 0; i < m && rc == DT_OK; i++)
                rc = mk_seq(DT_VECTOR, &c->u.seq.items[2 * i], 2, &ents[i]);
            if (rc == DT_OK) rc = mk_set(ents, m, out);
            for (size_t i = 0; i < m; i++) dt_value_free(&ents[i]);
            dt__free(ents);
            return rc;
        }
        case DT_STRING: {
            size_t i = 0, k = 0;
            dt_value *chars = dt__calloc(c->u.s.len ? c->u.s.len : 1, sizeof *chars);
            if (!chars) return nomem();
            while (i < c->u.s.len)
                dt_value_char(utf8_next((const unsigned char *)c->u.s.ptr, c->u.s.len, &i),
                              &chars[k++]);
            int rc = mk_set(chars, k, out);
            dt__free(chars);
            return rc;
        }
        default:
            return call_err(name, args, n, "cannot make a set of %s", tname(c));
        }
    case DQ_FN_UNTUPLE:
        if (!is_seqish(c)) return call_err(name, args, n, "not a tuple: %s", tname(c));
        return dt_value_copy(c, out) == DT_OK ? DT_OK : nomem();
    default:
        return no_impl(name);
    }
}

/* }====== */

/* {====== Binding a result ====== */

int dq_bind_items(const dq_binding *b, const dt_value *v, const dt_value **items, size_t *n,
                  int *entries) {
    *entries = 0;
    if (v->type == DT_NIL) return 0;
    int tuple = b->kind == DQ_BIND_TUPLE;
    const char *form = tuple ? "tuple" : "collection";
    switch (v->type) {
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
        *items = v->u.seq.items;
        *n = v->u.seq.n;
        break;
    case DT_MAP:
        if (!tuple) {
            *items = v->u.seq.items;
            *n = v->u.seq.n / 2;
            *entries = 1;
            return 1;
        }
        /* fall through */
    default: {
        char shown[160];
        dl_show(v, shown, sizeof shown);
        return -dt__seterr(NULL, DT_INVALID, "cannot bind value %s to a %s", shown, form);
    }
    }
    if (tuple && *n < b->n) {
        char shown[160];
        dl_show(v, shown, sizeof shown);
        return -dt__seterr(NULL, DT_INVALID,
                           "not enough elements in %s to bind a tuple of %zu (%zu)", shown, b->n,
                           *n);
    }
    return 1;
}

int dq_bind_check(const dq_binding *b, const dt_value *v) {
    if (b->kind == DQ_BIND_VAR || b->kind == DQ_BIND_BLANK) return DT_OK;
    const dt_value *items;
    size_t n;
    int entries, fit = dq_bind_items(b, v, &items, &n, &entries);
    if (fit <= 0) return -fit;
    if (b->kind == DQ_BIND_TUPLE) {
        for (size_t i = 0; i < b->n; i++) {
            int rc = dq_bind_check(&b->items[i], &items[i]);
            if (rc != DT_OK) return rc;
        }
        return DT_OK;
    }
    dq_binding tb = {DQ_BIND_TUPLE, DQ_NOVAR, b->n, b->items};
    const dq_binding *each = b->kind == DQ_BIND_COLL ? &b->items[0] : &tb;
    for (size_t i = 0; i < n; i++) {
        dt_value entry = {.type = DT_VECTOR}; /* a map's entry [k v] */
        entry.u.seq.items = (dt_value *)&items[2 * i];
        entry.u.seq.n = 2;
        int rc = dq_bind_check(each, entries ? &entry : &items[i]);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/* }====== */

/* {====== Dispatch ====== */

int dq_call(dq_fnctx *ctx, dq_fn_id fn, const dt_value *args, size_t nargs, dt_value *out) {
    /* the common case first: two longs (or entity ids) compared or added */
    _Static_assert(DQ_FN_EQ == 0 && DQ_FN_NUM_EQ == 1 && DQ_FN_NOT_EQ == 2 && DQ_FN_BANG_EQ == 3 &&
                       DQ_FN_LT == 4 && DQ_FN_GT == 5 && DQ_FN_LE == 6 && DQ_FN_GE == 7 &&
                       DQ_FN_ADD == 8,
                   "the fast path below relies on the order of the ids");
    if (nargs == 2 && (unsigned)fn <= DQ_FN_BANG_EQ && fn != DQ_FN_NUM_EQ &&
        args[0].type == args[1].type && (args[0].type == DT_STRING || args[0].type == DT_KEYWORD)) {
        int eq = args[0].u.s.len == args[1].u.s.len &&
                 (args[0].u.s.len == 0 ||
                  memcmp(args[0].u.s.ptr, args[1].u.s.ptr, args[0].u.s.len) == 0);
        out->type = DT_BOOL;
        out->u.b = fn == DQ_FN_EQ ? eq : !eq;
        return DT_OK;
    }
    if (nargs == 2 && is_int(&args[0]) && is_int(&args[1]) && (unsigned)fn <= DQ_FN_ADD) {
        int64_t x = args[0].u.i, y = args[1].u.i;
        out->type = DT_BOOL;
        switch (fn) {
        case DQ_FN_EQ:
        case DQ_FN_NUM_EQ:
            out->u.b = x == y;
            return DT_OK;
        case DQ_FN_NOT_EQ:
        case DQ_FN_BANG_EQ:
            out->u.b = x != y;
            return DT_OK;
        case DQ_FN_LT:
            out->u.b = x < y;
            return DT_OK;
        case DQ_FN_GT:
            out->u.b = x > y;
            return DT_OK;
        case DQ_FN_LE:
            out->u.b = x <= y;
            return DT_OK;
        case DQ_FN_GE:
            out->u.b = x >= y;
            return DT_OK;
        default:
            out->type = DT_LONG;
            if (!__builtin_add_overflow(x, y, &out->u.i)) return DT_OK;
            break; /* the general path reports the overflow */
        }
    }
    dt_value_nil(out);
    if ((unsigned)fn >= DQ_FN_COUNT_)
        return dt__seterr(NULL, DT_INVALID, "query: unknown function id %d", (int)fn);
    const dq_builtin *bi = &dq_builtins[fn];
    const char *name = bi->name;
    if ((int)nargs < bi->min_args || (bi->max_args >= 0 && (int)nargs > bi->max_args) ||
        (bi->even_args && nargs % 2))
        return call_err(name, args, nargs, "wrong number of arguments (%zu)", nargs);
    if (bi->kind == DQ_FNK_SOURCE)
        return call_err(name, args, nargs, "needs a database (dq_call_source)");
    switch (fn) {
    case DQ_FN_EQ:
    case DQ_FN_NUM_EQ:
    case DQ_FN_NOT_EQ:
    case DQ_FN_BANG_EQ:
    case DQ_FN_LT:
    case DQ_FN_GT:
    case DQ_FN_LE:
    case DQ_FN_GE:
        return fn_compare_chain(fn, name, args, nargs, out);
    case DQ_FN_ADD:
    case DQ_FN_SUB:
    case DQ_FN_MUL:
    case DQ_FN_DIV:
        return fn_arith(fn, name, args, nargs, out);
    case DQ_FN_QUOT:
    case DQ_FN_REM:
    case DQ_FN_MOD:
        return fn_qrm(fn, name, args, nargs, out);
    case DQ_FN_INC:
    case DQ_FN_DEC:
        return fn_incdec(fn, name, args, nargs, out);
    case DQ_FN_MIN:
    case DQ_FN_MAX:
        return fn_minmax(fn, name, args, nargs, out);
    case DQ_FN_ZERO_P:
    case DQ_FN_POS_P:
    case DQ_FN_NEG_P:
    case DQ_FN_EVEN_P:
    case DQ_FN_ODD_P:
        return fn_numpred(fn, name, args, nargs, out);
    case DQ_FN_STR:
        return fn_str(args, nargs, out);
    case DQ_FN_SUBS:
        return fn_subs(name, args, nargs, out);
    case DQ_FN_COUNT:
        return fn_count(name, args, nargs, out);
    case DQ_FN_GROUND:
    case DQ_FN_IDENTITY:
        return dt_value_copy(&args[0], out) == DT_OK ? DT_OK : nomem();
    case DQ_FN_VECTOR:
        return mk_seq(DT_VECTOR, args, nargs, out);
    case DQ_FN_LIST:
        return mk_seq(DT_LIST, args, nargs, out);
    case DQ_FN_TUPLE:
        return mk_seq(DT_TUPLE, args, nargs, out);
    case DQ_FN_HASH_MAP:
        return fn_hash_map(args, nargs, out);
    case DQ_FN_KEYWORD:
    case DQ_FN_NAME:
    case DQ_FN_NAMESPACE:
        return fn_names(fn, name, args, nargs, out);
    case DQ_FN_RE_FIND:
    case DQ_FN_RE_MATCHES:
    case DQ_FN_RE_SEQ:
    case DQ_FN_RE_PATTERN:
        return fn_regex(ctx, fn, name, args, nargs, out);
    case DQ_FN_STARTS_WITH:
    case DQ_FN_ENDS_WITH:
    case DQ_FN_INCLUDES:
    case DQ_FN_BLANK_P:
    case DQ_FN_LOWER_CASE:
    case DQ_FN_UPPER_CASE:
        return fn_strings(fn, name, args, nargs, out);
    case DQ_FN_NIL_P:
        dt_value_bool(args[0].type == DT_NIL, out);
        return DT_OK;
    case DQ_FN_SOME_P:
        dt_value_bool(args[0].type != DT_NIL, out);
        return DT_OK;
    case DQ_FN_TRUE_P:
        dt_value_bool(args[0].type == DT_BOOL && args[0].u.b, out);
        return DT_OK;
    case DQ_FN_FALSE_P:
        dt_value_bool(args[0].type == DT_BOOL && !args[0].u.b, out);
        return DT_OK;
    case DQ_FN_NOT:
        dt_value_bool(!dq_truthy(&args[0]), out);
        return DT_OK;
    case DQ_FN_RANGE:
        return fn_range(name, args, nargs, out);
    case DQ_FN_COMPARE: {
        int c;
        int rc = compare_for(name, args, nargs, &args[0], &args[1], &c);
        if (rc != DT_OK) return rc;
        dt_value_long(c, out);
        return DT_OK;
    }
    case DQ_FN_CONTAINS_P:
    case DQ_FN_GET:
    case DQ_FN_EMPTY_P:
    case DQ_FN_SET:
    case DQ_FN_UNTUPLE:
        return fn_coll(fn, name, args, nargs, out);
    default:
        return no_impl(name);
    }
}

/* {====== Functions that read a database ====== */

/* The entity an argument names: an id, or an ident or lookup ref resolved
 * in db (one that matches nothing is an error, as in Datomic). */
static int src_entity(const char *name, const dt_value *args, size_t n, dt_db *db,
                      const dt_value *e, int64_t *eid) {
    if (is_int(e)) {
        *eid = e->u.i;
        return DT_OK;
    }
    if (e->type != DT_KEYWORD && !is_seqish(e))
        return call_err(name, args, n, "not an entity: %s", tname(e));
    /* a copy: text NUL-terminated, a tuple cell read as a vector */
    dt_value ref;
    if (dt_value_copy(e, &ref) != DT_OK) return nomem();
    if (ref.type == DT_TUPLE) ref.type = DT_VECTOR;
    int rc = dl_db_resolve_eref(db, &ref, eid);
    dt_value_free(&ref);
    if (rc == DT_NOMEM) return nomem();
    if (rc == DT_NOTFOUND) return call_err(name, args, n, "no entity matches %s", "the reference");
    if (rc != DT_OK) {
        char why[DT__ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", dt_errmsg(NULL));
        return call_err(name, args, n, "%s", why);
    }
    return DT_OK;
}

/*
 * The first value (in index order) of attribute `a` (a keyword) of
 * entity eid into *out (owned); *found 0 when there is none.  An
 * attribute the schema does not know has no values.
 */
static int src_first(const char *name, const dt_value *args, size_t n, dt_db *db, int64_t eid,
                     const dt_value *a, dt_value *out, int *found) {
    *found = 0;
    dt_value_nil(out);
    if (a->type != DT_KEYWORD)
        return call_err(name, args, n, "attribute is not a keyword: %s", tname(a));
    const dl_attr *at = dl_schema_by_ident(dl_db_schema(db), a->u.s.ptr, a->u.s.len);
    if (!at || eid <= 0) return DT_OK;
    dt_kv_txn *txn = dl_db_txn(db);
    if (!txn) return call_err(name, args, n, "the database snapshot is closed");
    dl_cursor c;
    int rc = dl_db_cursor_open(&c, db, DL_INDEX_EAV);
    if (rc != DT_OK) return rc == DT_NOMEM ? nomem() : rc;
    dl_ikey from = {.n = 2, .e = eid, .aid = at->aid, .v = NULL, .vlen = 0};
    rc = dl_cursor_seek(&c, &from, 2, NULL);
    dl_datom d;
    if (rc == DT_OK) rc = dl_cursor_next(&c, &d);
    if (rc == DT_ROW) {
        dt_kv_bytes full;
        size_t used;
        rc = dl_cursor_value(&c, &full);
        if (rc == DT_OK) rc = dl_codec_decode(full.ptr, full.len, out, &used);
        if (rc == DT_OK) *found = 1;
    } else if (rc == DT_DONE)
        rc = DT_OK;
    dl_cursor_close(&c);
    return rc == DT_NOMEM ? nomem() : rc;
}

/* {------ The tx-log: tx-ids and tx-data ------ */

/* One end of a tx-ids range: open (nil), a tx id or an instant (ms). */
enum { END_OPEN = 0, END_TX, END_MS };

/*
 * log_tx_arg: a transaction named by a long: a transaction id (from 2^42
 * + 1), or a t, the transaction's number (1, 2, ...: the id less 2^42).
 */
static int log_tx_arg(const char *name, const dt_value *args, size_t n, const dt_value *v,
                      const char *what, int64_t *tx) {
    if (!is_int(v))
        return call_err(name, args, n, "the %s must be a transaction id or a t, got %s", what,
                        tname(v));
    if (v->u.i <= 0 || v->u.i > DL_MAX_TX || v->u.i == DL_TX0)
        return call_err(name, args, n,
                        "the %s must be a transaction id or a t, got %lld (no transaction)", what,
                        (long long)v->u.i);
    *tx = v->u.i < DL_TX0 ? DL_TX0 + v->u.i : v->u.i;
    return DT_OK;
}

static int log_end(const char *name, const dt_value *args, size_t n, const dt_value *v,
                   const char *what, int *kind, int64_t *at) {
    *kind = END_OPEN;
    *at = 0;
    if (v->type == DT_NIL) return DT_OK;
    if (v->type == DT_INSTANT) {
        *kind = END_MS;
        *at = v->u.i;
        return DT_OK;
    }
    if (!is_int(v))
        return call_err(name, args, n,
                        "the %s must be a transaction id, a t, an #inst or nil, got %s", what,
                        tname(v));
    *kind = END_TX;
    return log_tx_arg(name, args, n, v, what, at);
}

/* Appends a copy of v (a ref as the long it holds) to the vector *out,
 * whose capacity is *cap. */
static int vec_push(dt_value *out, size_t *cap, dt_value *item) {
    if (out->u.seq.n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        dt_value *ni = dt__realloc(out->u.seq.items, nc * sizeof *ni);
        if (!ni) return DT_NOMEM;
        out->u.seq.items = ni;
        *cap = nc;
    }
    out->u.seq.items[out->u.seq.n++] = *item;
    return DT_OK;
}

/* A log error: DT_CORRUPT and KV errors keep their code and message,
 * named after the call. */
static int log_fail(const char *name, int rc) {
    if (rc == DT_NOMEM) return nomem();
    char why[DT__ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", dt_errmsg(NULL));
    return dt__seterr(NULL, rc, "query: (%s ...): %s", name, why);
}

/*
 * (tx-ids $ start end): the ids of the transactions from start
 * (inclusive) to end (exclusive), in order, as a vector of longs.  Each
 * end is a tx id or t (compared with the transaction's id), an #inst
 * (compared with its :db/txInstant) or nil (open).
 */
static int fn_tx_ids(const char *name, const dt_value *args, size_t n, dt_db *db, dt_value *out) {
    int k1, k2;
    int64_t a1, a2;
    int rc = log_end(name, args, n, &args[0], "start", &k1, &a1);
    if (rc == DT_OK) rc = log_end(name, args, n, &args[1], "end", &k2, &a2);
    if (rc != DT_OK) return rc;
    int64_t from_tx = 0, to_tx = INT64_MAX, from_ms = INT64_MIN, to_ms = INT64_MAX;
    int empty = 0;
    if (k1 == END_TX) from_tx = a1;
    if (k1 == END_MS) from_ms = a1;
    if (k2 == END_TX) to_tx = a2 - 1;
    if (k2 == END_MS) {
        if (a2 == INT64_MIN)
            empty = 1;
        else
            to_ms = a2 - 1;
    }
    if ((rc = dt_value_seq(DT_VECTOR, 0, out)) != DT_OK) return nomem();
    if (empty) return DT_OK;
    dl_log l;
    if ((rc = dl_log_open(&l, dl_db_store(db), dl_db_txn(db), from_tx, to_tx, from_ms, to_ms)) !=
        DT_OK)
        return log_fail(name, rc);
    size_t cap = 0;
    int64_t tx, instant;
    while ((rc = dl_log_next_tx(&l, &tx, &instant)) == DT_ROW) {
        dt_value v;
        dt_value_long(tx, &v);
        if (vec_push(out, &cap, &v) != DT_OK) {
            rc = DT_NOMEM;
            break;
        }
    }
    dl_log_close(&l);
    if (rc == DT_DONE) return DT_OK;
    dt_value_free(out);
    return log_fail(name, rc);
}

/*
 * (tx-data $ tx): the datoms transaction tx added and retracted, in the
 * order it made them, as a vector of [e attr v tx added] (attr as its
 * keyword, refs as longs); empty for a transaction the log does not have
 * and for a bulk load (whose entry lists no datoms).
 */
static int fn_tx_data(const char *name, const dt_value *args, size_t n, dt_db *db, dt_value *out) {
    int64_t tx = 0;
    int rc = log_tx_arg(name, args, n, &args[0], "transaction", &tx);
    if (rc != DT_OK) return rc;
    if ((rc = dt_value_seq(DT_VECTOR, 0, out)) != DT_OK) return nomem();
    dl_log l;
    if ((rc = dl_log_open(&l, dl_db_store(db), dl_db_txn(db), tx, tx, INT64_MIN, INT64_MAX)) !=
        DT_OK)
        return log_fail(name, rc);
    dt_log_tx t;
    rc = dl_log_next(&l, &t);
    if (rc == DT_ROW) {
        rc = DT_OK;
        if (t.n_datoms) {
            dt_value_free(out);
            if (dt_value_seq(DT_VECTOR, t.n_datoms, out) != DT_OK) rc = DT_NOMEM;
            for (size_t i = 0; i < t.n_datoms && rc == DT_OK; i++) {
                const dt_datom *d = &t.datoms[i];
                dt_value *row = &out->u.seq.items[i];
                if (dt_value_seq(DT_VECTOR, 5, row) != DT_OK) {
                    rc = DT_NOMEM;
                    break;
                }
                dt_value *it = row->u.seq.items;
                dt_value_long(d->e, &it[0]);
                if (dt_value_text(DT_KEYWORD, d->a, strlen(d->a), &it[1]) != DT_OK ||
                    dt_value_copy(&d->v, &it[2]) != DT_OK) {
                    rc = DT_NOMEM;
                    break;
                }
                if (it[2].type == DT_REF) it[2].type = DT_LONG;
                dt_value_long(d->tx, &it[3]);
                dt_value_bool(d->added, &it[4]);
            }
        }
    } else if (rc == DT_DONE) {
        rc = DT_OK;
    }
    dl_log_close(&l);
    if (rc == DT_OK) return DT_OK;
    dt_value_free(out);
    return log_fail(name, rc);
}

/* }------ */

int dq_call_source(dq_fnctx *ctx, dq_fn_id fn, dt_db *db, const dt_value *args, size_t nargs,
                   dt_value *out) {
    (void)ctx;
    dt_value_nil(out);
    if ((unsigned)fn >= DQ_FN_COUNT_)
        return dt__seterr(NULL, DT_INVALID, "query: unknown function id %d", (int)fn);
    const dq_builtin *bi = &dq_builtins[fn];
    const char *name = bi->name;
    if (bi->kind != DQ_FNK_SOURCE) return call_err(name, args, nargs, "takes no database");
    if ((int)nargs + 1 < bi->min_args || (bi->max_args >= 0 && (int)nargs + 1 > bi->max_args))
        return call_err(name, args, nargs, "wrong number of arguments (%zu with the database)",
                        nargs + 1);
    if (!db || !dl_db_ok(db)) return call_err(name, args, nargs, "no database");
    if (fn == DQ_FN_TX_IDS) return fn_tx_ids("tx-ids $", args, nargs, db, out);
    if (fn == DQ_FN_TX_DATA) return fn_tx_data("tx-data $", args, nargs, db, out);
    if (fn == DQ_FN_GET_ELSE && args[2].type == DT_NIL)
        return call_err(name, args, nargs, "nil default value is not supported");
    int64_t eid;
    int rc = src_entity(name, args, nargs, db, &args[0], &eid);
    if (rc != DT_OK) return rc;
    int found = 0;
    dt_value v;
    switch (fn) {
    case DQ_FN_GET_ELSE:
        rc = src_first(name, args, nargs, db, eid, &args[1], &v, &found);
        if (rc != DT_OK) return rc;
        if (found) {
            *out = v;
            return DT_OK;
        }
        return dt_value_copy(&args[2], out) == DT_OK ? DT_OK : nomem();
    case DQ_FN_MISSING_P:
        rc = src_first(name, args, nargs, db, eid, &args[1], &v, &found);
        dt_value_free(&v);
        if (rc != DT_OK) return rc;
        dt_value_bool(!found, out);
        return DT_OK;
    default: /* get-some: [attr value] of the first attribute with a value */
        for (size_t i = 1; i < nargs; i++) {
            rc = src_first(name, args, nargs, db, eid, &args[i], &v, &found);
            if (rc != DT_OK) return rc;
            if (!found) continue;
            if (dt_value_seq(DT_VECTOR, 2, out) != DT_OK) {
                dt_value_free(&v);
                return nomem();
            }
            out->u.seq.items[1] = v;
            if (dt_value_copy(&args[i], &out->u.seq.items[0]) != DT_OK) {
                dt_value_free(out);
                return nomem();
            }
            return DT_OK;
        }
        return DT_OK;
    }
}

/* }====== */

/* {====== Aggregates ====== */

static int agg_err(dq_agg_id agg, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int agg_err(dq_agg_id agg, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dt__seterr(NULL, DT_INVALID, "query: aggregate (%s ...): %s", dq_aggregates[agg].name,
                      msg);
}

/* Aggregated values must be numbers.  *kinds: 0 all longs, else the
 * bits NUMS_DOUBLE (a double or float takes part), NUMS_BIG (a bigint or
 * bigdec does). */
#define NUMS_DOUBLE 1
#define NUMS_BIG    2
static int agg_nums(dq_agg_id agg, const dt_value *vals, size_t n, int *kinds) {
    *kinds = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_num(&vals[i])) return agg_err(agg, "not a number: %s", tname(&vals[i]));
        *kinds |= is_flo(&vals[i]) ? NUMS_DOUBLE : is_big(&vals[i]) ? NUMS_BIG : 0;
    }
    return DT_OK;
}

/* Sum of vals: a long (overflow: error); when a double takes part a
 * double; else when a bigint or bigdec does, exact as + gives it. */
static int agg_sum(dq_agg_id agg, const dt_value *vals, size_t n, dt_value *out) {
    int anyd;
    int rc = agg_nums(agg, vals, n, &anyd);
    if (rc != DT_OK) return rc;
    if (anyd == NUMS_BIG) return big_arith(DQ_FN_ADD, "sum", vals, n, out);
    if (anyd) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += num_double(&vals[i]);
        dt_value_double(s, out);
        return DT_OK;
    }
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        if (__builtin_add_overflow(s, vals[i].u.i, &s)) return agg_err(agg, "long overflow");
    dt_value_long(s, out);
    return DT_OK;
}

/* The mean of numbers as a double (long sums kept exact in 128 bits;
 * anyd: not all longs). */
static double mean_of(const dt_value *vals, size_t n, int anyd) {
    if (anyd) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += num_double(&vals[i]);
        return s / (double)n;
    }
    __int128 s = 0;
    for (size_t i = 0; i < n; i++) s += vals[i].u.i;
    return (double)s / (double)n;
}

/* A comparison for sorting: rc DT_OK and *out, or an error recorded. */
typedef int (*agg_cmp_fn)(dq_agg_id agg, const dt_value *a, const dt_value *b, int *out);

/* Clojure's compare; incomparable values are an error. */
static int cmp_clj(dq_agg_id agg, const dt_value *a, const dt_value *b, int *out) {
    const dt_value *x = NULL, *y = NULL;
    int rc = clj_compare(a, b, out, &x, &y);
    if (rc == DT_NOMEM) return nomem();
    if (rc != DT_OK) return agg_err(agg, "malformed number");
    if (x) {
        if (x->type == y->type) return agg_err(agg, "cannot compare values of type %s", tname(x));
        return agg_err(agg, "cannot compare %s and %s", tname(x), tname(y));
    }
    return DT_OK;
}

/* A total order in which `=` values are neighbours: entity ids with
 * longs, then dt_value_compare. */
static int cmp_total(dq_agg_id agg, const dt_value *a, const dt_value *b, int *out) {
    (void)agg;
    if (is_int(a) && is_int(b))
        *out = a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    else
        *out = dt_value_compare(a->type == DT_REF ? &(dt_value){DT_LONG, {.i = a->u.i}} : a,
                                b->type == DT_REF ? &(dt_value){DT_LONG, {.i = b->u.i}} : b);
    return DT_OK;
}

/* Stable merge sort of p[0..n) (pointers into the values). */
static int msort(dq_agg_id agg, const dt_value **p, size_t n, agg_cmp_fn cmp) {
    if (n < 2) return DT_OK;
    const dt_value **tmp = dt__malloc(n * sizeof *tmp);
    if (!tmp) return nomem();
    int rc = DT_OK;
    for (size_t w = 1; w < n && rc == DT_OK; w *= 2) {
        for (size_t lo = 0; lo < n && rc == DT_OK; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int c = 0;
                if ((rc = cmp(agg, p[j], p[i], &c)) != DT_OK) break;
                tmp[k++] = c < 0 ? p[j++] : p[i++];
            }
            if (rc != DT_OK) break;
            while (i < mid) tmp[k++] = p[i++];
            while (j < hi) tmp[k++] = p[j++];
            memcpy(p + lo, tmp + lo, (hi - lo) * sizeof *p);
        }
    }
    dt__free(tmp);
    return rc;
}

/* Pointers to vals[0..n), sorted by cmp; *out malloc'd. */
static int sorted(dq_agg_id agg, const dt_value *vals, size_t n, agg_cmp_fn cmp,
                  const dt_value ***out) {
    const dt_value **p = dt__malloc((n ? n : 1) * sizeof *p);
    if (!p) return nomem();
    for (size_t i = 0; i < n; i++) p[i] = &vals[i];
    int rc = msort(agg, p, n, cmp);
    if (rc != DT_OK) {
        dt__free(p);
        return rc;
    }
    *out = p;
    return DT_OK;
}

/* The distinct values (by `=`) of vals, sorted by cmp_total: pointers
 * into vals, *k of them. */
static int distinct_of(dq_agg_id agg, const dt_value *vals, size_t n, const dt_value ***out,
                       size_t *k) {
    const dt_value **p = NULL;
    int rc = sorted(agg, vals, n, cmp_total, &p);
    if (rc != DT_OK) return rc;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int eq = 0;
        if (m) {
            rc = clj_equal(p[m - 1], p[i], &eq);
            if (rc != DT_OK) {
                dt__free(p);
                return rc == DT_NOMEM ? nomem() : agg_err(agg, "malformed number");
            }
        }
        if (!eq) p[m++] = p[i];
    }
    *out = p;
    *k = m;
    return DT_OK;
}

/* A compound of type t of copies of *p[0..n). */
static int mk_seq_ptr(dt_type t, const dt_value **p, size_t n, dt_value *out) {
    if (dt_value_seq(t, n, out) != DT_OK) return nomem();
    for (size_t i = 0; i < n; i++)
        if (dt_value_copy(p[i], &out->u.seq.items[i]) != DT_OK) {
            dt_value_free(out);
            return nomem();
        }
    return DT_OK;
}

/* Numbers ordered numerically, NaN last. */
static int cmp_num(dq_agg_id agg, const dt_value *a, const dt_value *b, int *out) {
    int u;
    int rc = num_cmp(a, b, out, &u);
    if (rc == DT_NOMEM) return nomem();
    return rc == DT_OK ? DT_OK : agg_err(agg, "malformed number");
}

static int cmp_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int agg_median(dq_agg_id agg, const dt_value *vals, size_t n, dt_value *out) {
    int anyd;
    int rc = agg_nums(agg, vals, n, &anyd);
    if (rc != DT_OK || n == 0) return rc;
    if (!anyd) { /* longs only: sort the numbers themselves */
        int64_t *x = dt__malloc(n * sizeof *x);
        if (!x) return nomem();
        for (size_t i = 0; i < n; i++) x[i] = vals[i].u.i;
        qsort(x, n, sizeof *x, cmp_int64);
        if (n % 2)
            dt_value_long(x[n / 2], out);
        else {
            __int128 s = (__int128)x[n / 2 - 1] + x[n / 2];
            if (s % 2 == 0)
                dt_value_long((int64_t)(s / 2), out);
            else
                dt_value_double((double)s / 2.0, out);
        }
        dt__free(x);
        return DT_OK;
    }
    const dt_value **p = NULL;
    if ((rc = sorted(agg, vals, n, cmp_num, &p)) != DT_OK) return rc;
    const dt_value *hi = p[n / 2];
    if (n % 2) {
        rc = dt_value_copy(hi, out) == DT_OK ? DT_OK : nomem();
    } else {
        const dt_value *lo = p[n / 2 - 1];
        if (is_int(lo) && is_int(hi)) {
            __int128 s = (__int128)lo->u.i + hi->u.i;
            if (s % 2 == 0)
                dt_value_long((int64_t)(s / 2), out);
            else
                dt_value_double((double)s / 2.0, out);
        } else
            dt_value_double((num_double(lo) + num_double(hi)) / 2.0, out);
    }
    dt__free(p);
    return rc;
}

/* The n of (min n ?x), (rand n ?x), (sample n ?x). */
static int agg_count_param(dq_agg_id agg, const dt_value *params, size_t nparams, size_t *k) {
    if (nparams != 1) return agg_err(agg, "takes one parameter, got %zu", nparams);
    const dt_value *p = &params[0];
    if (!is_int(p) || p->u.i < 0)
        return agg_err(agg, "the count must be a non-negative long, got %s", tname(p));
    *k = (uint64_t)p->u.i <= SIZE_MAX ? (size_t)p->u.i : SIZE_MAX;
    return DT_OK;
}

int dq_agg_apply(dq_fnctx *ctx, dq_agg_id agg, const dt_value *params, size_t nparams,
                 const dt_value *vals, size_t n, dt_value *out) {
    dt_value_nil(out);
    if ((unsigned)agg >= DQ_AGG_COUNT_)
        return dt__seterr(NULL, DT_INVALID, "query: unknown aggregate id %d", (int)agg);
    if (!vals && n) return dt__seterr(NULL, DT_MISUSE, "query: aggregate without values");
    int rc, anyd;
    const dt_value **p = NULL;
    size_t k = 0, m = 0;
    switch (agg) {
    case DQ_AGG_COUNT:
        dt_value_long((int64_t)n, out);
        return DT_OK;
    case DQ_AGG_COUNT_DISTINCT:
        if ((rc = distinct_of(agg, vals, n, &p, &m)) != DT_OK) return rc;
        dt__free(p);
        dt_value_long((int64_t)m, out);
        return DT_OK;
    case DQ_AGG_SUM:
        return agg_sum(agg, vals, n, out);
    case DQ_AGG_AVG:
    case DQ_AGG_VARIANCE:
    case DQ_AGG_STDDEV: {
        if ((rc = agg_nums(agg, vals, n, &anyd)) != DT_OK || n == 0) return rc;
        double mean = mean_of(vals, n, anyd);
        if (agg == DQ_AGG_AVG) {
            dt_value_double(mean, out);
            return DT_OK;
        }
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            double dlt = num_double(&vals[i]) - mean;
            s += dlt * dlt;
        }
        double var = s / (double)n;
        dt_value_double(agg == DQ_AGG_VARIANCE ? var : sqrt(var), out);
        return DT_OK;
    }
    case DQ_AGG_MEDIAN:
        return agg_median(agg, vals, n, out);
    case DQ_AGG_MIN:
    case DQ_AGG_MAX:
        if (nparams == 0) {
            if (n == 0) return DT_OK;
            size_t best = 0;
            for (size_t i = 1; i < n; i++) {
                int c;
                if ((rc = cmp_clj(agg, &vals[i], &vals[best], &c)) != DT_OK) return rc;
                if (agg == DQ_AGG_MIN ? c < 0 : c > 0) best = i;
            }
            return dt_value_copy(&vals[best], out) == DT_OK ? DT_OK : nomem();
        }
        if ((rc = agg_count_param(agg, params, nparams, &k)) != DT_OK) return rc;
        if ((rc = sorted(agg, vals, n, cmp_clj, &p)) != DT_OK) return rc;
        if (k > n) k = n;
        rc = mk_seq_ptr(DT_VECTOR, agg == DQ_AGG_MIN ? p : p + (n - k), k, out);
        dt__free(p);
        return rc;
    case DQ_AGG_DISTINCT:
        if ((rc = distinct_of(agg, vals, n, &p, &m)) != DT_OK) return rc;
        rc = mk_seq_ptr(DT_SET, p, m, out);
        dt__free(p);
        return rc;
    case DQ_AGG_RAND:
        if (!ctx) return dt__seterr(NULL, DT_MISUSE, "query: rand needs a function context");
        if (nparams == 0) {
            if (n == 0) return DT_OK;
            return dt_value_copy(&vals[rng_below(ctx, n)], out) == DT_OK ? DT_OK : nomem();
        }
        if ((rc = agg_count_param(agg, params, nparams, &k)) != DT_OK) return rc;
        if (n == 0) k = 0;
        if (k > DQ_RANGE_MAX) return agg_err(agg, "more than %d values", DQ_RANGE_MAX);
        if (dt_value_seq(DT_VECTOR, k, out) != DT_OK) return nomem();
        for (size_t i = 0; i < k; i++)
            if (dt_value_copy(&vals[rng_below(ctx, n)], &out->u.seq.items[i]) != DT_OK) {
                dt_value_free(out);
                return nomem();
            }
        return DT_OK;
    default: /* DQ_AGG_SAMPLE: up to n distinct values in random order */
        if (!ctx) return dt__seterr(NULL, DT_MISUSE, "query: sample needs a function context");
        if ((rc = agg_count_param(agg, params, nparams, &k)) != DT_OK) return rc;
        if ((rc = distinct_of(agg, vals, n, &p, &m)) != DT_OK) return rc;
        if (k > m) k = m;
        for (size_t i = 0; i < k; i++) { /* partial Fisher-Yates */
            size_t j = i + rng_below(ctx, m - i);
            const dt_value *t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        rc = mk_seq_ptr(DT_VECTOR, p, k, out);
        dt__free(p);
        return rc;
    }
}

/* }====== */
