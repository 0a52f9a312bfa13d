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
 * exactly, not computed with).  Long arithmetic that overflows is an
 * error, never a silent wrap.
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
#include "exec.h"
#include "index.h"
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

/* Appends the EDN of v to b, cut to about `room` bytes. */
static void show_value(dt_buf *b, const dt_value *v, size_t room) {
    char *s = NULL;
    size_t n = 0;
    if (v->type == DT_TAGGED && v->u.seq.n == 2 && v->u.seq.items[0].type == DT_SYMBOL &&
        v->u.seq.items[0].u.s.len == 5 && memcmp(v->u.seq.items[0].u.s.ptr, "regex", 5) == 0 &&
        v->u.seq.items[1].type == DT_STRING) {
        dt_buf_putc(b, '#');
        show_value(b, &v->u.seq.items[1], room);
        return;
    }
    if (dt_edn_write(v, DT_EDN_COMPACT, &s, &n) != DT_OK) {
        dt_buf_printf(b, "#<%s>", dt_type_name(v->type));
        return;
    }
    if (n > room) {
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
static int is_regex(const dt_value *v);
static const char *tname(const dt_value *v) {
    if (v->type == DT_REF) return "long";
    if (is_regex(v)) return "regex";
    return dt_type_name(v->type);
}

/* }====== */

/* {====== Small helpers ====== */


static int is_regex(const dt_value *v) {
    return v->type == DT_TAGGED && v->u.seq.n == 2 && v->u.seq.items[0].type == DT_SYMBOL &&
           v->u.seq.items[0].u.s.len == 5 && memcmp(v->u.seq.items[0].u.s.ptr, "regex", 5) == 0 &&
           v->u.seq.items[1].type == DT_STRING;
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
    case DT_BIGDEC: return 1;
    default: return 0;
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
static int num_cat(const dt_value *v) {
    if (is_int(v) || v->type == DT_BIGINT) return 0;
    if (is_flo(v)) return 1;
    return 2;
}

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

/* Clojure's `=`: 1 and 1.0 differ, 1 and 1N do not; sequential
 * collections by elements, sets and maps by content.  *out 1/0. */
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
        if (!is_num(a) || !is_num(b) || num_cat(a) != num_cat(b)) return DT_OK;
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
    case DT_NIL: *out = 1; return DT_OK;
    case DT_BOOL: *out = !a->u.b == !b->u.b; return DT_OK;
    case DT_INSTANT: *out = a->u.i == b->u.i; return DT_OK;
    case DT_CHAR: *out = a->u.c == b->u.c; return DT_OK;
    case DT_UUID: *out = memcmp(a->u.uuid, b->u.uuid, 16) == 0; return DT_OK;
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
    default: *out = dt_value_equal(a, b); return DT_OK;
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
    case DT_BOOL: *out = (!!a->u.b) - (!!b->u.b); return DT_OK;
    case DT_INSTANT: *out = a->u.i < b->u.i ? -1 : a->u.i > b->u.i; return DT_OK;
    case DT_CHAR: *out = (int)a->u.c - (int)b->u.c; return DT_OK;
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
    default: break;
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
    if (fn == DQ_FN_EQ || fn == DQ_FN_NOT_EQ || fn == DQ_FN_BANG_EQ) {
        for (size_t i = 0; i + 1 < n && ok; i++) {
            int rc = clj_equal(&args[i], &args[i + 1], &ok);
            if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, n, "bad number");
        }
        dt_value_bool(fn == DQ_FN_EQ ? ok : !ok, out);
        return DT_OK;
    }
    if (fn == DQ_FN_NUM_EQ) {
        for (size_t i = 0; i < n; i++)
            if (!is_num(&args[i]))
                return call_err(name, args, n, "not a number: %s", tname(&args[i]));
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
     * answer is already known, so an error does not depend on data order) */
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
        case DQ_FN_LT: r = c < 0; break;
        case DQ_FN_GT: r = c > 0; break;
        case DQ_FN_LE: r = c <= 0; break;
        default: r = c >= 0; break;
        }
        if (unordered) r = 0;
        ok = ok && r;
    }
    dt_value_bool(ok, out);
    return DT_OK;
}

/* }====== */

/* {====== Arithmetic ====== */

/* Checks that every argument is a number we compute with. */
static int need_nums(const char *name, const dt_value *args, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!is_num(&args[i]))
            return call_err(name, args, n, "not a number: %s", tname(&args[i]));
        if (is_big(&args[i]))
            return call_err(name, args, n, "arithmetic on %s is not supported",
                            tname(&args[i]));
    }
    return DT_OK;
}

static int overflow(const char *name, const dt_value *args, size_t n) {
    return call_err(name, args, n, "long overflow");
}

static int fn_arith(dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                    dt_value *out) {
    int rc = need_nums(name, args, n);
    if (rc != DT_OK) return rc;
    int anyd = 0;
    for (size_t i = 0; i < n; i++) anyd |= is_flo(&args[i]);
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
static int fn_qrm(dq_fn_id fn, const char *name, const dt_value *args, size_t n, dt_value *out) {
    int rc = need_nums(name, args, n);
    if (rc != DT_OK) return rc;
    const dt_value *a = &args[0], *b = &args[1];
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
    if (!isfinite(x) || isnan(y))
        return call_err(name, args, n, "not a finite number");
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

static int fn_incdec(dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                     dt_value *out) {
    int rc = need_nums(name, args, n);
    if (rc != DT_OK) return rc;
    int64_t d = fn == DQ_FN_INC ? 1 : -1;
    if (is_flo(&args[0])) {
        dt_value_double(flo(&args[0]) + (double)d, out);
        return DT_OK;
    }
    int64_t r;
    if (__builtin_add_overflow(args[0].u.i, d, &r)) return overflow(name, args, n);
    dt_value_long(r, out);
    return DT_OK;
}

/* min / max of numbers: the winning argument as it is; NaN wins. */
static int fn_minmax(dq_fn_id fn, const char *name, const dt_value *args, size_t n,
                     dt_value *out) {
    for (size_t i = 0; i < n; i++)
        if (!is_num(&args[i])) return call_err(name, args, n, "not a number: %s", tname(&args[i]));
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        int c, u;
        int rc = num_cmp(&args[i], &args[best], &c, &u);
        if (rc != DT_OK) return rc == DT_NOMEM ? rc : call_err(name, args, n, "bad number");
        if (u) {
            if (isnan(num_double(&args[i]))) best = i;
            continue;
        }
        if (isnan(num_double(&args[best]))) continue;
        if (fn == DQ_FN_MIN ? c < 0 : c > 0) best = i;
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

/* {====== Dispatch ====== */

static int not_yet(const char *name) {
    return dt__seterr(NULL, DT_INVALID, "query: function %s is not available yet", name);
}

int dq_call(dq_fnctx *ctx, dq_fn_id fn, const dt_value *args, size_t nargs, dt_value *out) {
    (void)ctx;
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
    case DQ_FN_GE: return fn_compare_chain(fn, name, args, nargs, out);
    case DQ_FN_ADD:
    case DQ_FN_SUB:
    case DQ_FN_MUL:
    case DQ_FN_DIV: return fn_arith(fn, name, args, nargs, out);
    case DQ_FN_QUOT:
    case DQ_FN_REM:
    case DQ_FN_MOD: return fn_qrm(fn, name, args, nargs, out);
    case DQ_FN_INC:
    case DQ_FN_DEC: return fn_incdec(fn, name, args, nargs, out);
    case DQ_FN_MIN:
    case DQ_FN_MAX: return fn_minmax(fn, name, args, nargs, out);
    case DQ_FN_ZERO_P:
    case DQ_FN_POS_P:
    case DQ_FN_NEG_P:
    case DQ_FN_EVEN_P:
    case DQ_FN_ODD_P: return fn_numpred(fn, name, args, nargs, out);
    default: return not_yet(name);
    }
}

int dq_call_source(dq_fnctx *ctx, dq_fn_id fn, dt_db *db, const dt_value *args, size_t nargs,
                   dt_value *out) {
    (void)ctx;
    (void)db;
    (void)args;
    (void)nargs;
    dt_value_nil(out);
    if ((unsigned)fn >= DQ_FN_COUNT_)
        return dt__seterr(NULL, DT_INVALID, "query: unknown function id %d", (int)fn);
    return not_yet(dq_builtins[fn].name);
}

/* }====== */

/* {====== Aggregates ====== */

static int agg_err(dq_agg_id agg, const dt_value *bad, const char *fmt, const char *what) {
    dt_buf b = DT_BUF_INIT;
    if (bad) show_value(&b, bad, 60);
    dt_buf_terminate(&b);
    int rc = dt__seterr(NULL, DT_INVALID, "query: aggregate %s: %s%s%s", dq_aggregates[agg].name,
                        fmt ? fmt : "", what ? what : "", b.p ? (const char *)b.p : "");
    dt_buf_release(&b);
    return rc;
}

/* Sum of vals as a long (overflow: error) or, when a double takes part,
 * a double. */
static int agg_sum(dq_agg_id agg, const dt_value *vals, size_t n, dt_value *out) {
    int anyd = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_num(&vals[i]) || is_big(&vals[i]))
            return agg_err(agg, &vals[i], "not a number: ", NULL);
        anyd |= is_flo(&vals[i]);
    }
    if (anyd) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += num_double(&vals[i]);
        dt_value_double(s, out);
        return DT_OK;
    }
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        if (__builtin_add_overflow(s, vals[i].u.i, &s))
            return agg_err(agg, NULL, "long overflow", NULL);
    dt_value_long(s, out);
    return DT_OK;
}

/* min/max (no n) by Clojure's compare. */
static int agg_extreme(dq_agg_id agg, const dt_value *vals, size_t n, dt_value *out) {
    if (n == 0) return DT_OK;
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        int c;
        const dt_value *x = NULL, *y = NULL;
        int rc = clj_compare(&vals[i], &vals[best], &c, &x, &y);
        if (rc == DT_NOMEM) return nomem();
        if (rc != DT_OK) return agg_err(agg, NULL, "bad number", NULL);
        if (x) return agg_err(agg, NULL, "cannot compare ", x->type == y->type ? tname(x) : "values of different types");
        if (agg == DQ_AGG_MIN ? c < 0 : c > 0) best = i;
    }
    return dt_value_copy(&vals[best], out) == DT_OK ? DT_OK : nomem();
}

int dq_agg_apply(dq_fnctx *ctx, dq_agg_id agg, const dt_value *params, size_t nparams,
                 const dt_value *vals, size_t n, dt_value *out) {
    (void)ctx;
    (void)params;
    dt_value_nil(out);
    if ((unsigned)agg >= DQ_AGG_COUNT_)
        return dt__seterr(NULL, DT_INVALID, "query: unknown aggregate id %d", (int)agg);
    switch (agg) {
    case DQ_AGG_COUNT: dt_value_long((int64_t)n, out); return DT_OK;
    case DQ_AGG_SUM: return agg_sum(agg, vals, n, out);
    case DQ_AGG_MIN:
    case DQ_AGG_MAX:
        if (nparams == 0) return agg_extreme(agg, vals, n, out);
        /* fallthrough */
    default:
        return dt__seterr(NULL, DT_INVALID, "query: aggregate %s is not available yet",
                          dq_aggregates[agg].name);
    }
}

/* }====== */
