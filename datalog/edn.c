/*
 * edn.c -- the EDN reader and printer (datalog layer): text <-> dt_value
 * trees.  The reader is iterative (an explicit frame stack), so deep input
 * costs heap, not C stack, and is cut off at the configured depth.
 */
#include "edn.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDN_MAGIC 0x65646e72u /* "ednr" */

/* {====== Character classes ====== */

enum { C_WS = 1, C_DELIM = 2, C_SYM = 4, C_DIGIT = 8, C_ALPHA = 16, C_HEX = 32 };

static unsigned char cls[256];
static pthread_once_t cls_once = PTHREAD_ONCE_INIT;

static void cls_init(void) {
    for (int c = 0; c < 256; c++) {
        unsigned char k = 0;
        if (c >= '0' && c <= '9') k |= C_DIGIT | C_SYM | C_HEX;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) k |= C_ALPHA | C_SYM;
        if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) k |= C_HEX;
        if (c >= 0x80) k |= C_SYM;
        if (strchr(".*+!-_?$%&=<>:#'/", c) && c) k |= C_SYM;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ',')
            k |= C_WS | C_DELIM;
        if (c && strchr("()[]{}\";\\@^`~", c)) k |= C_DELIM;
        cls[c] = k;
    }
}

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

/* }====== */

/* {====== Locale-independent numbers ====== */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

double dl_edn_strtod(const char *s, char **end) {
    pthread_once(&c_locale_once, c_locale_init);
    if (c_locale) return strtod_l(s, end, c_locale);
    return strtod(s, end);
}

/*
 * snprintf follows LC_NUMERIC; turn whatever the locale used as decimal
 * point (possibly several bytes) back into '.'.
 */
static size_t normalize_number(char *s) {
    size_t j = 0;
    int in_point = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if ((c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '+' || c == '-') {
            s[j++] = c;
            in_point = 0;
        } else if (!in_point) {
            s[j++] = '.';
            in_point = 1;
        }
    }
    s[j] = '\0';
    return j;
}

static size_t ensure_fraction(char *s, size_t n) {
    if (!strpbrk(s, ".e")) {
        memcpy(s + n, ".0", 3);
        n += 2;
    }
    return n;
}

static size_t special_value(double d, char out[32]) {
    const char *t = isnan(d) ? "##NaN" : d > 0 ? "##Inf" : "##-Inf";
    size_t n = strlen(t);
    memcpy(out, t, n + 1);
    return n;
}

size_t dl_edn_format_double(double d, char out[32]) {
    if (isnan(d) || isinf(d)) return special_value(d, out);
    size_t n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, d);
        n = normalize_number(out);
        double back = dl_edn_strtod(out, NULL);
        if (memcmp(&back, &d, sizeof d) == 0) break;
    }
    return ensure_fraction(out, n);
}

size_t dl_edn_format_float(float f, char out[32]) {
    if (isnan(f) || isinf(f)) return special_value(f, out);
    size_t n = 0;
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(out, 32, "%.*g", prec, (double)f);
        n = normalize_number(out);
        float back = (float)dl_edn_strtod(out, NULL);
        if (memcmp(&back, &f, sizeof f) == 0) break;
    }
    return ensure_fraction(out, n);
}

/* }====== */

/* {====== Symbols, instants, uuids, base64 ====== */

static int name_part_ok(const char *s, size_t n, int keyword) {
    if (n == 0) return 0;
    unsigned char c0 = (unsigned char)s[0];
    if (!keyword && IS(c0, C_DIGIT)) return 0;
    if ((c0 == '+' || c0 == '-' || c0 == '.') && n > 1 && IS(s[1], C_DIGIT) && !keyword) return 0;
    if (c0 == ':' || c0 == '#' || c0 == '\'') return 0;
    if (s[n - 1] == ':') return 0;
    for (size_t i = 0; i < n; i++)
        if (!IS(s[i], C_SYM) || s[i] == '/') return 0;
    return 1;
}

int dl_edn_symbol_ok(const char *s, size_t n, int keyword) {
    pthread_once(&cls_once, cls_init);
    if (!s) return 0;
    if (n == 1 && s[0] == '/') return 1;
    if (!keyword && ((n == 3 && !memcmp(s, "nil", 3)) || (n == 4 && !memcmp(s, "true", 4)) ||
                     (n == 5 && !memcmp(s, "false", 5))))
        return 0;
    const char *slash = memchr(s, '/', n);
    if (!slash) return name_part_ok(s, n, keyword);
    size_t p = (size_t)(slash - s);
    if (!name_part_ok(s, p, keyword)) return 0;
    const char *name = slash + 1;
    size_t nn = n - p - 1;
    if (nn == 1 && name[0] == '/') return 1; /* clojure.core// */
    return name_part_ok(name, nn, keyword);
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Reads exactly `count` digits at s[*i]; -1 when they are not there. */
static int64_t fixed_digits(const char *s, size_t n, size_t *i, int count) {
    int64_t v = 0;
    for (int k = 0; k < count; k++) {
        if (*i >= n || !(s[*i] >= '0' && s[*i] <= '9')) return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    return v;
}

#define MS_PER_DAY 86400000LL

int dl_edn_parse_instant(const char *s, size_t n, int64_t *ms) {
    size_t i = 0;
    int ysign = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) ysign = s[i++] == '-' ? -1 : 1;
    size_t ys = i;
    int64_t year = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - ys < 10) year = year * 10 + (s[i++] - '0');
    size_t yd = i - ys;
    if (ysign ? (yd < 4 || yd > 9) : yd != 4) return DT_INVALID;
    if (ysign < 0) year = -year;
    int64_t month = 1, day = 1, hh = 0, mi = 0, ss = 0, frac = 0, off = 0;
    if (i < n && s[i] == '-') {
        i++;
        if ((month = fixed_digits(s, n, &i, 2)) < 0) return DT_INVALID;
        if (i < n && s[i] == '-') {
            i++;
            if ((day = fixed_digits(s, n, &i, 2)) < 0) return DT_INVALID;
            if (i < n && (s[i] == 'T' || s[i] == 't')) {
                i++;
                if ((hh = fixed_digits(s, n, &i, 2)) < 0) return DT_INVALID;
                if (i >= n || s[i++] != ':') return DT_INVALID;
                if ((mi = fixed_digits(s, n, &i, 2)) < 0) return DT_INVALID;
                if (i < n && s[i] == ':') {
                    i++;
                    if ((ss = fixed_digits(s, n, &i, 2)) < 0) return DT_INVALID;
                    if (i < n && s[i] == '.') {
                        i++;
                        size_t fs = i;
                        while (i < n && s[i] >= '0' && s[i] <= '9') {
                            if (i - fs < 3) frac = frac * 10 + (s[i] - '0');
                            i++;
                        }
                        if (i == fs) return DT_INVALID;
                        for (size_t k = i - fs; k < 3; k++) frac *= 10;
                    }
                }
                if (i < n && (s[i] == 'Z' || s[i] == 'z'))
                    i++;
                else if (i < n && (s[i] == '+' || s[i] == '-')) {
                    int osign = s[i++] == '-' ? -1 : 1;
                    int64_t oh = fixed_digits(s, n, &i, 2);
                    if (oh < 0 || i >= n || s[i++] != ':') return DT_INVALID;
                    int64_t om = fixed_digits(s, n, &i, 2);
                    if (om < 0 || oh > 23 || om > 59) return DT_INVALID;
                    off = osign * (oh * 60 + om) * 60000;
                }
            }
        }
    }
    if (i != n) return DT_INVALID;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return DT_INVALID;
    int dim = mdays[month - 1] + (month == 2 && is_leap(year));
    if (day < 1 || day > dim || hh > 23 || mi > 59 || ss > 59) return DT_INVALID;
    int64_t days = days_from_civil(year, (int)month, (int)day);
    int64_t rest = ((hh * 60 + mi) * 60 + ss) * 1000 + frac - off;
    if (days < 0) { /* keep days * MS_PER_DAY inside int64 near INT64_MIN */
        days += 1;
        rest -= MS_PER_DAY;
    }
    if (days > INT64_MAX / MS_PER_DAY || days < INT64_MIN / MS_PER_DAY) return DT_INVALID;
    int64_t base = days * MS_PER_DAY;
    if ((rest > 0 && base > INT64_MAX - rest) || (rest < 0 && base < INT64_MIN - rest))
        return DT_INVALID;
    *ms = base + rest;
    return DT_OK;
}

int dl_edn_format_instant(int64_t ms, dt_buf *b) {
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days -= 1;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int rc;
    if (y >= 0 && y <= 9999)
        rc = dt_buf_printf(b, "%04lld", (long long)y);
    else
        rc = dt_buf_printf(b, "%c%04lld", y < 0 ? '-' : '+', (long long)(y < 0 ? -y : y));
    if (rc != DT_OK) return rc;
    int hh = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), ss = (int)(rem / 1000 % 60);
    return dt_buf_printf(b, "-%02d-%02dT%02d:%02d:%02d.%03d-00:00", m, d, hh, mi, ss,
                         (int)(rem % 1000));
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int dl_edn_parse_uuid(const char *s, size_t n, uint8_t out[16]) {
    if (n != 36) return DT_INVALID;
    int k = 0;
    for (size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i++] != '-') return DT_INVALID;
            continue;
        }
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) return DT_INVALID;
        out[k++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return DT_OK;
}

void dl_edn_format_uuid(const uint8_t u[16], char out[37]) {
    static const char hex[] = "0123456789abcdef";
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[j++] = '-';
        out[j++] = hex[u[i] >> 4];
        out[j++] = hex[u[i] & 15];
    }
    out[j] = '\0';
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c) {
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

/* Strict base64 (RFC 4648, padded) into a fresh DT_BYTES value. */
static int base64_decode(const char *s, size_t n, dt_value *out) {
    if (n % 4) return DT_INVALID;
    size_t pad = 0;
    if (n && s[n - 1] == '=') pad++;
    if (n > 1 && s[n - 2] == '=') pad++;
    size_t outlen = n / 4 * 3 - pad;
    char *p = dt__malloc(outlen + 1);
    if (!p) return DT_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            int last_group = i + 4 == n;
            if (last_group && s[i + j] == '=' && j >= 4 - (int)pad)
                v[j] = 0;
            else if ((v[j] = b64val(s[i + j])) < 0) {
                dt__free(p);
                return DT_INVALID;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (int j = 0; j < 3 && k < outlen; j++) p[k++] = (char)bytes[j];
    }
    p[k] = '\0';
    dt_value_nil(out);
    out->type = DT_BYTES;
    out->u.s.ptr = p;
    out->u.s.len = outlen;
    return DT_OK;
}

static int base64_encode(const uint8_t *s, size_t n, dt_buf *b) {
    int rc = dt_buf_reserve(b, (n + 2) / 3 * 4);
    if (rc != DT_OK) return rc;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)s[i] << 16;
        if (i + 1 < n) w |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n) w |= s[i + 2];
        char q[4] = {b64chars[w >> 18 & 63], b64chars[w >> 12 & 63],
                     i + 1 < n ? b64chars[w >> 6 & 63] : '=', i + 2 < n ? b64chars[w & 63] : '='};
        if ((rc = dt_buf_append(b, q, 4)) != DT_OK) return rc;
    }
    return DT_OK;
}

/* }====== */

/* {====== Duplicates ====== */

static void merge_sort_idx(const dt_value *items, size_t stride, size_t *idx, size_t *tmp,
                           size_t n) {
    /* bottom-up merge sort of entry numbers by value */
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                if (dt_value_compare(&items[idx[b] * stride], &items[idx[a] * stride]) < 0)
                    tmp[k++] = idx[b++];
                else
                    tmp[k++] = idx[a++];
            }
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

int dl_edn_find_duplicate(const dt_value *items, size_t n, size_t stride, int *found, size_t *dup) {
    *found = 0;
    if (n < 2) return DT_OK;
    if (n <= 16) {
        for (size_t j = 1; j < n; j++)
            for (size_t i = 0; i < j; i++)
                if (dt_value_equal(&items[i * stride], &items[j * stride])) {
                    *found = 1;
                    *dup = j;
                    return DT_OK;
                }
        return DT_OK;
    }
    size_t *idx = dt__malloc(2 * n * sizeof *idx);
    if (!idx) return DT_NOMEM;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    merge_sort_idx(items, stride, idx, idx + n, n);
    for (size_t i = 1; i < n; i++) {
        if (dt_value_equal(&items[idx[i - 1] * stride], &items[idx[i] * stride])) {
            *found = 1;
            *dup = idx[i] > idx[i - 1] ? idx[i] : idx[i - 1];
            break;
        }
    }
    dt__free(idx);
    return DT_OK;
}

/* }====== */

/* {====== Reader ====== */

enum { F_LIST, F_VECTOR, F_SET, F_MAP, F_TAG, F_DISCARD };

typedef struct frame {
    int kind;
    size_t start;   /* offset of the opening '(' '[' '{' or '#' */
    size_t base;    /* first of this frame's items in r->vals */
    size_t tag_off; /* F_TAG: the tag symbol; F_MAP: the #:ns namespace */
    size_t tag_len; /* 0 for a plain map */
} frame;

struct dt_edn_reader {
    uint32_t magic;
    const void *errh; /* handle the messages go to: NULL or this reader */
    const char *text;
    size_t len;
    size_t pos;
    dt_edn_options opts;
    int max_depth;
    int sticky;        /* error code once an error happened */
    size_t form_start; /* see dt_edn_reader_pos */
    size_t lc_off;     /* line/column cache: position lc_off is lc_line:lc_col */
    int lc_line, lc_col;
    frame *frames;
    size_t nframes, capframes;
    size_t ndiscard; /* F_DISCARD frames on the stack: tags under them are not applied */
    dt_value *vals;
    size_t nvals, capvals;
    int want_spans; /* dl_edn_read_spans: record where each kept value sits */
    dl_edn_span *spans;
    size_t nspans, capspans;
    size_t bad_at; /* offset of the first NUL byte or invalid UTF-8, or len */
    /* the first frames and values live here: reading a small form (a
     * transaction of a few datoms) then allocates only its result */
    frame inl_frames[8];
    dt_value inl_vals[16];
};

/* Line and column (1-based, columns in code points) of byte offset `off`. */
static void line_col(dt_edn_reader *r, size_t off, int *line, int *col) {
    if (off > r->len) off = r->len;
    if (off < r->lc_off) {
        r->lc_off = 0;
        r->lc_line = 1;
        r->lc_col = 1;
    }
    int l = r->lc_line, c = r->lc_col;
    const unsigned char *t = (const unsigned char *)r->text;
    for (size_t i = r->lc_off; i < off; i++) {
        if (t[i] == '\n') {
            l++;
            c = 1;
        } else if ((t[i] & 0xC0) != 0x80)
            c++;
    }
    r->lc_off = off;
    r->lc_line = l;
    r->lc_col = c;
    *line = l;
    *col = c;
}

/* "1:5" for an offset, into a small buffer. */
static const char *where(dt_edn_reader *r, size_t off, char buf[32]) {
    int l, c;
    line_col(r, off, &l, &c);
    snprintf(buf, 32, "%d:%d", l, c);
    return buf;
}

/* What is at `off`, for "got ..." in messages: a quoted token or "end of input". */
static const char *describe(dt_edn_reader *r, size_t off, char buf[48]) {
    if (off >= r->len) return "end of input";
    size_t e = off + 1;
    if (!IS(r->text[off], C_DELIM))
        while (e < r->len && !IS(r->text[e], C_DELIM) && e - off < 32) e++;
    snprintf(buf, 48, "'%.*s'", (int)(e - off), r->text + off);
    return buf;
}

/* Records an error found at `at`: "edn: <message> at L:C"; returns rc. */
static int rerr(dt_edn_reader *r, int rc, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int rerr(dt_edn_reader *r, int rc, size_t at, const char *fmt, ...) {
    char msg[DT__ERRMSG_MAX], pos[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->form_start = at;
    return dt__seterr(r->errh, rc, "edn: %s at %s", msg, where(r, at, pos));
}

static int nomem(dt_edn_reader *r) { return dt__seterr(r->errh, DT_NOMEM, "edn: out of memory"); }

static void reader_reset_stacks(dt_edn_reader *r) {
    for (size_t i = 0; i < r->nvals; i++) dt_value_free(&r->vals[i]);
    r->nvals = 0;
    r->nframes = 0;
    r->ndiscard = 0;
}

static int push_frame(dt_edn_reader *r, int kind, size_t start, size_t tag_off, size_t tag_len) {
    if (r->nframes >= (size_t)r->max_depth)
        return rerr(r, DT_LIMIT, start, "nesting deeper than %d", r->max_depth);
    if (r->nframes == r->capframes) {
        size_t cap = r->capframes * 2;
        frame *f = r->frames == r->inl_frames ? dt__malloc(cap * sizeof *f)
                                              : dt__realloc(r->frames, cap * sizeof *f);
        if (!f) return nomem(r);
        if (r->frames == r->inl_frames) memcpy(f, r->inl_frames, sizeof r->inl_frames);
        r->frames = f;
        r->capframes = cap;
    }
    frame *f = &r->frames[r->nframes++];
    f->kind = kind;
    f->start = start;
    f->base = r->nvals;
    f->tag_off = tag_off;
    f->tag_len = tag_len;
    if (kind == F_DISCARD) r->ndiscard++;
    return DT_OK;
}

static int push_val(dt_edn_reader *r, dt_value *v) {
    if (r->nvals == r->capvals) {
        size_t cap = r->capvals * 2;
        dt_value *nv = r->vals == r->inl_vals ? dt__malloc(cap * sizeof *nv)
                                              : dt__realloc(r->vals, cap * sizeof *nv);
        if (!nv) {
            dt_value_free(v);
            return nomem(r);
        }
        if (r->vals == r->inl_vals) memcpy(nv, r->inl_vals, sizeof r->inl_vals);
        r->vals = nv;
        r->capvals = cap;
    }
    r->vals[r->nvals++] = *v;
    dt_value_nil(v);
    return DT_OK;
}

/* Records the span of a value that stays in the result (post-order). */
static int push_span(dt_edn_reader *r, size_t start) {
    if (!r->want_spans || r->ndiscard) return DT_OK;
    if (r->nspans == r->capspans) {
        size_t cap = r->capspans ? r->capspans * 2 : 64;
        dl_edn_span *ns = dt__realloc(r->spans, cap * sizeof *ns);
        if (!ns) return nomem(r);
        r->spans = ns;
        r->capspans = cap;
    }
    r->spans[r->nspans].start = start;
    r->spans[r->nspans].end = r->pos;
    r->nspans++;
    return DT_OK;
}

static void skip_ws(dt_edn_reader *r) {
    const char *t = r->text;
    size_t i = r->pos, n = r->len;
    while (i < n) {
        char c = t[i];
        if (IS(c, C_WS))
            i++;
        else if (c == ';' || (c == '#' && i + 1 < n && t[i + 1] == '!')) {
            const char *nl = memchr(t + i, '\n', n - i);
            i = nl ? (size_t)(nl - t) + 1 : n;
        } else
            break;
    }
    r->pos = i;
}

static size_t token_end(dt_edn_reader *r, size_t from) {
    size_t i = from;
    while (i < r->len && !IS(r->text[i], C_DELIM)) i++;
    return i;
}

static const char *closer_of(int kind) {
    return kind == F_LIST ? ")" : kind == F_VECTOR ? "]" : "}";
}

static const char *opener_of(int kind) {
    return kind == F_LIST ? "(" : kind == F_VECTOR ? "[" : kind == F_SET ? "#{" : "{";
}

/* The innermost frame is unfinished and `got` came instead (EOF or a closer). */
static int err_unfinished(dt_edn_reader *r, size_t got_at) {
    frame *f = &r->frames[r->nframes - 1];
    char w1[32], d[48];
    const char *got = describe(r, got_at, d);
    where(r, f->start, w1);
    if (f->kind == F_TAG || f->kind == F_DISCARD) {
        const char *tag = f->kind == F_DISCARD ? "_" : r->text + f->tag_off;
        int tl = f->kind == F_DISCARD ? 1 : (int)f->tag_len;
        return rerr(r, DT_INVALID, got_at, "expected a form after #%.*s at %s, got %s", tl, tag, w1,
                    got);
    }
    if (f->kind == F_MAP && f->tag_len)
        return rerr(r, DT_INVALID, got_at, "expected '}' to close '#:%.*s{' opened at %s, got %s",
                    (int)f->tag_len, r->text + f->tag_off, w1, got);
    return rerr(r, DT_INVALID, got_at, "expected '%s' to close '%s' opened at %s, got %s",
                closer_of(f->kind), opener_of(f->kind), w1, got);
}

/* Decodes one UTF-8 sequence at t[*i] (bounds-checked); -1 when malformed. */
static int32_t utf8_decode(const char *t, size_t n, size_t *i) {
    const unsigned char *s = (const unsigned char *)t;
    unsigned char c = s[*i];
    int extra;
    int32_t cp;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF)
        extra = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        extra = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        extra = 3, cp = c & 0x07;
    else
        return -1;
    if (*i + (size_t)extra >= n) return -1;
    for (int k = 1; k <= extra; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) return -1;
        cp = cp << 6 | (s[*i + k] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) return -1;
    if (cp >= 0xD800 && cp <= 0xDFFF) return -1;
    *i += 1 + (size_t)extra;
    return cp;
}

static size_t utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Four hex digits at t[i..i+4) below `end`; -1 otherwise. */
static int32_t hex4(const char *t, size_t i, size_t end) {
    if (i + 4 > end) return -1;
    int32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(t[i + k]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* The character a one-letter string escape stands for, or -1. */
static int simple_escape(char e) {
    static const char map[] = "t\tr\rn\nb\bf\f\\\\\"\"";
    for (size_t i = 0; i + 1 < sizeof map; i += 2)
        if (map[i] == e) return map[i + 1];
    return -1;
}

static int read_string(dt_edn_reader *r, dt_value *out) {
    const char *t = r->text;
    size_t start = r->pos, i = start + 1, n = r->len;
    int escapes = 0;
    const char *q = NULL;
    while (i < n) {
        /* the next quote is searched for again only once an escape passed it */
        if (!q || (size_t)(q - t) < i) {
            q = memchr(t + i, '"', n - i);
            if (!q) {
                i = n;
                break;
            }
        }
        size_t qi = (size_t)(q - t);
        const char *bs = memchr(t + i, '\\', qi - i);
        if (!bs) {
            i = qi;
            break;
        }
        escapes = 1;
        i = (size_t)(bs - t) + 2;
    }
    if (i >= n) {
        char w[32];
        return rerr(r, DT_INVALID, n, "unterminated string starting at %s, got end of input",
                    where(r, start, w));
    }
    size_t end = i; /* the closing quote */
    size_t raw = end - start - 1;
    char *p = dt__malloc(raw + 1);
    if (!p) return nomem(r);
    size_t k = 0;
    if (!escapes) {
        memcpy(p, t + start + 1, raw);
        k = raw;
    } else {
        for (size_t j = start + 1; j < end;) {
            if (t[j] != '\\') {
                p[k++] = t[j++];
                continue;
            }
            char e = t[j + 1];
            int simple = simple_escape(e);
            if (simple >= 0) {
                p[k++] = (char)simple;
                j += 2;
                continue;
            }
            if (e != 'u') {
                dt__free(p);
                return rerr(r, DT_INVALID, j, "unsupported escape '\\%c' in string", e);
            }
            int32_t cp;
            if ((cp = hex4(t, j + 2, end)) < 0) {
                dt__free(p);
                return rerr(r, DT_INVALID, j, "expected four hex digits after \\u in string");
            }
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                dt__free(p);
                return rerr(r, DT_INVALID, j, "unpaired low surrogate \\u%04X in string",
                            (unsigned)cp);
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int32_t lo =
                    (j + 7 < end && t[j + 6] == '\\' && t[j + 7] == 'u') ? hex4(t, j + 8, end) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    dt__free(p);
                    return rerr(r, DT_INVALID, j,
                                "high surrogate \\u%04X not followed by a low surrogate",
                                (unsigned)cp);
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                j += 6;
            }
            k += utf8_encode((uint32_t)cp, p + k);
            j += 6;
        }
    }
    p[k] = '\0';
    dt_value_nil(out);
    out->type = DT_STRING;
    out->u.s.ptr = p;
    out->u.s.len = k;
    r->pos = end + 1;
    return DT_OK;
}

static int read_char(dt_edn_reader *r, dt_value *out) {
    const char *t = r->text;
    size_t start = r->pos, i = start + 1;
    if (i >= r->len || (IS(t[i], C_WS) && t[i] != ','))
        return rerr(r, DT_INVALID, start, "expected a character after '\\'");
    int32_t first = utf8_decode(t, r->len, &i);
    if (first < 0) return rerr(r, DT_INVALID, start + 1, "malformed UTF-8 after '\\'");
    size_t e = token_end(r, i);
    int32_t cp = -1;
    if (e == i)
        cp = first;
    else {
        const char *nm = t + start + 1;
        size_t nl = e - start - 1;
        static const struct {
            const char *name;
            int32_t cp;
        } names[] = {{"newline", '\n'}, {"space", ' '},      {"tab", '\t'},
                     {"return", '\r'},  {"backspace", '\b'}, {"formfeed", '\f'}};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strlen(names[k].name) == nl && !memcmp(names[k].name, nm, nl)) cp = names[k].cp;
        if (cp < 0 && nm[0] == 'u' && nl == 5) cp = hex4(nm, 1, nl);
        if (cp < 0 && nm[0] == 'o' && nl >= 2 && nl <= 4) {
            cp = 0;
            for (size_t k = 1; k < nl; k++) {
                if (nm[k] < '0' || nm[k] > '7') {
                    cp = -1;
                    break;
                }
                cp = cp * 8 + (nm[k] - '0');
            }
            if (cp > 0377) cp = -1;
        }
        if (cp < 0)
            return rerr(r, DT_INVALID, start, "unsupported character '\\%.*s'",
                        (int)(nl > 32 ? 32 : nl), nm);
    }
    dt_value_char((uint32_t)cp, out);
    r->pos = e;
    return DT_OK;
}

/* A number token t[start..end); the token is known to start like a number. */
static int read_number(dt_edn_reader *r, size_t start, size_t end, dt_value *out) {
    const char *t = r->text;
    size_t i = start;
    int neg = 0;
    if (t[i] == '+' || t[i] == '-') neg = t[i++] == '-';
    size_t ds = i;
    uint64_t mag = 0;
    int overflow = 0;
    while (i < end && IS(t[i], C_DIGIT)) {
        unsigned dgt = (unsigned)(t[i] - '0');
        if (mag > (UINT64_MAX - dgt) / 10)
            overflow = 1;
        else
            mag = mag * 10 + dgt;
        i++;
    }
    size_t de = i;
    int leading_zero = de - ds > 1 && t[ds] == '0';
    if (i == end || (t[i] == 'N' && i + 1 == end)) {
        if (leading_zero)
            return rerr(r, DT_INVALID, start,
                        "invalid number '%.*s' (leading zeros are not allowed)", (int)(end - start),
                        t + start);
        int big = i != end || overflow || mag > (uint64_t)INT64_MAX + (uint64_t)neg;
        if (!big) {
            dt_value_long(neg ? (int64_t)(0 - mag) : (int64_t)mag, out);
            return DT_OK;
        }
        int rc = dt_value_text(DT_BIGINT, t + start, de - start, out);
        if (rc == DT_NOMEM) return nomem(r);
        if (rc != DT_OK)
            return rerr(r, rc, start, "invalid bigint '%.*s'", (int)(end - start), t + start);
        return DT_OK;
    }
    int is_float = 0;
    if (t[i] == '.') {
        is_float = 1;
        i++;
        while (i < end && IS(t[i], C_DIGIT)) i++;
    }
    if (i < end && (t[i] == 'e' || t[i] == 'E')) {
        is_float = 1;
        i++;
        if (i < end && (t[i] == '+' || t[i] == '-')) i++;
        size_t es = i;
        while (i < end && IS(t[i], C_DIGIT)) i++;
        if (i == es) i = end + 1; /* force the error below */
    }
    if (i == end && is_float) {
        char small[64], *buf = small;
        size_t n = end - start;
        if (n >= sizeof small && !(buf = dt__malloc(n + 1))) return nomem(r);
        memcpy(buf, t + start, n);
        buf[n] = '\0';
        double d = dl_edn_strtod(buf, NULL);
        if (buf != small) dt__free(buf);
        dt_value_double(d, out);
        return DT_OK;
    }
    if (i + 1 == end && t[i] == 'M') {
        int rc = dt_value_text(DT_BIGDEC, t + start, i - start, out);
        if (rc == DT_NOMEM) return nomem(r);
        if (rc != DT_OK)
            return rerr(r, rc, start, "invalid bigdec '%.*s'", (int)(end - start), t + start);
        return DT_OK;
    }
    const char *hint = "";
    if (memchr(t + start, '/', end - start))
        hint = " (ratios are not supported)";
    else if (de - ds == 1 && t[ds] == '0' && de < end && (t[de] == 'x' || t[de] == 'X'))
        hint = " (hexadecimal is not supported)";
    else if (de < end && t[de] == 'r')
        hint = " (radix numbers are not supported)";
    return rerr(r, DT_INVALID, start, "invalid number '%.*s'%s",
                (int)(end - start > 40 ? 40 : end - start), t + start, hint);
}

/* A token that is not a number: nil/true/false, keyword or symbol. */
static int read_atom(dt_edn_reader *r, size_t start, size_t end, dt_value *out) {
    const char *t = r->text;
    size_t n = end - start;
    const char *s = t + start;
    int shown = (int)(n > 40 ? 40 : n);
    if (n == 3 && !memcmp(s, "nil", 3)) {
        dt_value_nil(out);
        return DT_OK;
    }
    if (n == 4 && !memcmp(s, "true", 4)) {
        dt_value_bool(1, out);
        return DT_OK;
    }
    if (n == 5 && !memcmp(s, "false", 5)) {
        dt_value_bool(0, out);
        return DT_OK;
    }
    dt_type type = DT_SYMBOL;
    if (s[0] == ':') {
        if (n > 1 && s[1] == ':')
            return rerr(r, DT_INVALID, start, "auto-resolved keyword '%.*s' is not EDN", shown, s);
        if (!dl_edn_symbol_ok(s + 1, n - 1, 1))
            return rerr(r, DT_INVALID, start, "invalid keyword '%.*s'", shown, s);
        type = DT_KEYWORD;
        s++;
        n--;
    } else if (!dl_edn_symbol_ok(s, n, 0)) {
        return rerr(r, DT_INVALID, start, "invalid symbol '%.*s'", shown, s);
    }
    int rc = dt_value_text(type, s, n, out);
    return rc == DT_OK ? rc : nomem(r);
}

/* Applies a tag frame's tag to v (replaced in place). */
static int apply_tag(dt_edn_reader *r, const frame *f, dt_value *v) {
    const char *tag = r->text + f->tag_off;
    size_t tl = f->tag_len;
    int builtin = (tl == 4 && !memcmp(tag, "inst", 4))    ? 1
                  : (tl == 4 && !memcmp(tag, "uuid", 4))  ? 2
                  : (tl == 5 && !memcmp(tag, "bytes", 5)) ? 3
                                                          : 0;
    if (builtin) {
        static const char *const want[] = {"", "an RFC 3339 timestamp string",
                                           "a uuid string (8-4-4-4-12 hex digits)",
                                           "a base64 string"};
        int rc = DT_INVALID;
        dt_value nv = DT_VALUE_NIL;
        if (v->type == DT_STRING) {
            if (builtin == 1) {
                int64_t ms;
                if ((rc = dl_edn_parse_instant(v->u.s.ptr, v->u.s.len, &ms)) == DT_OK)
                    dt_value_instant(ms, &nv);
            } else if (builtin == 2) {
                uint8_t u[16];
                if ((rc = dl_edn_parse_uuid(v->u.s.ptr, v->u.s.len, u)) == DT_OK)
                    dt_value_uuid(u, &nv);
            } else {
                rc = base64_decode(v->u.s.ptr, v->u.s.len, &nv);
            }
        }
        if (rc == DT_NOMEM) return nomem(r);
        if (rc != DT_OK) {
            if (v->type == DT_STRING)
                return rerr(r, DT_INVALID, f->start, "#%.*s expects %s, got \"%.*s\"", (int)tl, tag,
                            want[builtin], (int)(v->u.s.len > 64 ? 64 : v->u.s.len), v->u.s.ptr);
            return rerr(r, DT_INVALID, f->start, "#%.*s expects %s, got a %s", (int)tl, tag,
                        want[builtin], dt_type_name(v->type));
        }
        dt_value_free(v);
        *v = nv;
        return DT_OK;
    }
    if (r->opts.tag_handler) {
        char small[64], *name = small;
        if (tl >= sizeof small && !(name = dt__malloc(tl + 1))) return nomem(r);
        memcpy(name, tag, tl);
        name[tl] = '\0';
        dt_value res = DT_VALUE_NIL;
        int rc = r->opts.tag_handler(name, tl, v, &res, r->opts.tag_userdata);
        if (name != small) dt__free(name);
        if (rc == DT_OK) {
            dt_value_free(v);
            *v = res;
            return DT_OK;
        }
        dt_value_free(&res);
        if (rc != DT_NOTFOUND) {
            if (rc < 0 || rc == DT_ROW || rc == DT_DONE) rc = DT_INVALID;
            return rerr(r, rc, f->start, "reader for tag #%.*s failed (%s)", (int)tl, tag,
                        dt_errstr(rc));
        }
    }
    if (r->opts.keep_unknown_tags) {
        dt_value tv;
        int rc = dt_value_seq(DT_TAGGED, 2, &tv);
        if (rc == DT_OK && (rc = dt_value_text(DT_SYMBOL, tag, tl, &tv.u.seq.items[0])) != DT_OK)
            dt_value_free(&tv);
        if (rc != DT_OK) return nomem(r);
        tv.u.seq.items[1] = *v;
        *v = tv;
        return DT_OK;
    }
    return rerr(r, DT_INVALID, f->start, "no reader for tag #%.*s", (int)tl, tag);
}

/* #:ns{...}: unqualified keyword/symbol keys get ns; ":_/x" loses its namespace. */
static int qualify_keys(dt_edn_reader *r, const frame *f, dt_value *items, size_t n) {
    const char *ns = r->text + f->tag_off;
    size_t nsl = f->tag_len;
    for (size_t i = 0; i < n; i += 2) {
        dt_value *k = &items[i];
        if (k->type != DT_KEYWORD && k->type != DT_SYMBOL) continue;
        const char *s = k->u.s.ptr;
        size_t len = k->u.s.len;
        if (len == 1 && s[0] == '/') continue;
        if (len > 2 && s[0] == '_' && s[1] == '/') {
            memmove(k->u.s.ptr, s + 2, len - 1);
            k->u.s.len = len - 2;
            continue;
        }
        if (memchr(s, '/', len)) continue;
        char *p = dt__malloc(nsl + 1 + len + 1);
        if (!p) return nomem(r);
        memcpy(p, ns, nsl);
        p[nsl] = '/';
        memcpy(p + nsl + 1, s, len + 1);
        dt__free(k->u.s.ptr);
        k->u.s.ptr = p;
        k->u.s.len = nsl + 1 + len;
    }
    return DT_OK;
}

/* Closes the innermost frame (a collection) into *out. */
static int close_frame(dt_edn_reader *r, dt_value *out) {
    frame *f = &r->frames[r->nframes - 1];
    size_t n = r->nvals - f->base;
    /* no values yet: r->vals may still be NULL, and NULL + 0 is undefined */
    dt_value *items = n ? &r->vals[f->base] : NULL;
    char shown[80];
    if (f->kind == F_MAP && n % 2)
        return rerr(r, DT_INVALID, f->start, "map literal needs an even number of forms, has %zu",
                    n);
    if (f->kind == F_MAP && f->tag_len) {
        int rc = qualify_keys(r, f, items, n);
        if (rc != DT_OK) return rc;
    }
    if (f->kind == F_MAP || f->kind == F_SET) {
        int found = 0;
        size_t dup = 0, stride = f->kind == F_MAP ? 2 : 1;
        if (dl_edn_find_duplicate(items, n / stride, stride, &found, &dup) != DT_OK)
            return nomem(r);
        if (found) {
            dt_buf b = DT_BUF_INIT;
            int prc = dl_edn_write_buf(&items[dup * stride], DT_EDN_COMPACT, &b);
            snprintf(shown, sizeof shown, "%.*s%s",
                     prc == DT_OK ? (int)(b.len > 60 ? 60 : b.len) : 1,
                     prc == DT_OK && b.p ? (const char *)b.p : "?", b.len > 60 ? "..." : "");
            dt_buf_release(&b);
            return rerr(r, DT_INVALID, f->start, "duplicate %s %s in %s literal",
                        f->kind == F_MAP ? "key" : "element", shown,
                        f->kind == F_MAP ? "map" : "set");
        }
    }
    dt_value_nil(out);
    out->type = f->kind == F_LIST     ? DT_LIST
                : f->kind == F_VECTOR ? DT_VECTOR
                : f->kind == F_SET    ? DT_SET
                                      : DT_MAP;
    if (n) {
        dt_value *copy = dt__malloc(n * sizeof *copy);
        if (!copy) return nomem(r);
        memcpy(copy, items, n * sizeof *copy);
        out->u.seq.items = copy;
    }
    out->u.seq.n = n;
    r->nvals = f->base;
    r->nframes--;
    return DT_OK;
}

/*
 * The core: reads the next complete top-level form.  DT_OK with *out,
 * DT_DONE at the end of input, or an error (stacks are then emptied by
 * the caller).
 */
static int read_form(dt_edn_reader *r, dt_value *out) {
    const char *t = r->text;
    for (;;) {
        skip_ws(r);
        size_t n = r->len, start = r->pos;
        if (start >= n) {
            if (r->nframes == 0) {
                r->form_start = n;
                return DT_DONE;
            }
            return err_unfinished(r, n);
        }
        if (r->nframes == 0) r->form_start = start;
        char c = t[start];
        dt_value v = DT_VALUE_NIL;
        int rc = DT_OK;
        size_t vstart = start; /* where the value completed below starts */
        switch (c) {
        case '(':
        case '[':
        case '{':
            if ((rc = push_frame(r,
                                 c == '('   ? F_LIST
                                 : c == '[' ? F_VECTOR
                                            : F_MAP,
                                 start, 0, 0)) != DT_OK)
                return rc;
            r->pos++;
            continue;
        case ')':
        case ']':
        case '}': {
            if (r->nframes == 0) return rerr(r, DT_INVALID, start, "unexpected '%c'", c);
            frame *f = &r->frames[r->nframes - 1];
            int want = f->kind == F_LIST                          ? ')'
                       : f->kind == F_VECTOR                      ? ']'
                       : f->kind == F_TAG || f->kind == F_DISCARD ? 0
                                                                  : '}';
            if (c != want) return err_unfinished(r, start);
            vstart = f->start;
            if ((rc = close_frame(r, &v)) != DT_OK) return rc;
            r->pos++;
            break;
        }
        case '"':
            if ((rc = read_string(r, &v)) != DT_OK) return rc;
            break;
        case '\\':
            if ((rc = read_char(r, &v)) != DT_OK) return rc;
            break;
        case '#': {
            char d = start + 1 < n ? t[start + 1] : '\0';
            if (d == '{') {
                if ((rc = push_frame(r, F_SET, start, 0, 0)) != DT_OK) return rc;
                r->pos += 2;
                continue;
            }
            if (d == '_') {
                if ((rc = push_frame(r, F_DISCARD, start, 0, 0)) != DT_OK) return rc;
                r->pos += 2;
                continue;
            }
            if (d == '#') {
                size_t e = token_end(r, start + 2);
                const char *s = t + start + 2;
                size_t sl = e - start - 2;
                if (sl == 3 && !memcmp(s, "Inf", 3))
                    dt_value_double(INFINITY, &v);
                else if (sl == 4 && !memcmp(s, "-Inf", 4))
                    dt_value_double(-INFINITY, &v);
                else if (sl == 3 && !memcmp(s, "NaN", 3))
                    dt_value_double(NAN, &v);
                else
                    return rerr(r, DT_INVALID, start, "unknown symbolic value '##%.*s'",
                                (int)(sl > 32 ? 32 : sl), s);
                r->pos = e;
                break;
            }
            if (d == ':') {
                if (start + 2 < n && t[start + 2] == ':')
                    return rerr(r, DT_INVALID, start,
                                "auto-resolved namespaced map '#::' is not EDN");
                size_t e = token_end(r, start + 2);
                if (!dl_edn_symbol_ok(t + start + 2, e - start - 2, 0) ||
                    memchr(t + start + 2, '/', e - start - 2))
                    return rerr(r, DT_INVALID, start, "invalid namespace in '#:%.*s'",
                                (int)(e - start - 2 > 32 ? 32 : e - start - 2), t + start + 2);
                r->pos = e;
                skip_ws(r);
                if (r->pos >= n || t[r->pos] != '{') {
                    char dd[48];
                    return rerr(r, DT_INVALID, r->pos, "expected '{' after '#:%.*s', got %s",
                                (int)(e - start - 2), t + start + 2, describe(r, r->pos, dd));
                }
                if ((rc = push_frame(r, F_MAP, start, start + 2, e - start - 2)) != DT_OK)
                    return rc;
                r->pos++;
                continue;
            }
            if (IS(d, C_ALPHA)) {
                size_t e = token_end(r, start + 1);
                if (!dl_edn_symbol_ok(t + start + 1, e - start - 1, 0))
                    return rerr(r, DT_INVALID, start, "invalid tag '#%.*s'",
                                (int)(e - start - 1 > 32 ? 32 : e - start - 1), t + start + 1);
                if ((rc = push_frame(r, F_TAG, start, start + 1, e - start - 1)) != DT_OK)
                    return rc;
                r->pos = e;
                continue;
            }
            if (start + 1 >= n)
                return rerr(r, DT_INVALID, start,
                            "expected a dispatch character after '#', got end of input");
            return rerr(r, DT_INVALID, start, "unsupported dispatch '#%c'", d);
        }
        default: {
            if (c == '\'' || c == '@' || c == '^' || c == '`' || c == '~')
                return rerr(r, DT_INVALID, start, "reader macro '%c' is not EDN", c);
            size_t e = token_end(r, start);
            int numeric = IS(c, C_DIGIT) ||
                          ((c == '+' || c == '-') && e > start + 1 && IS(t[start + 1], C_DIGIT));
            rc = numeric ? read_number(r, start, e, &v) : read_atom(r, start, e, &v);
            if (rc != DT_OK) return rc;
            r->pos = e;
            break;
        }
        }
        /* A value is complete: hand it to the enclosing frames. */
        for (;;) {
            if (r->nframes == 0) {
                if ((rc = push_span(r, vstart)) != DT_OK) {
                    dt_value_free(&v);
                    return rc;
                }
                *out = v;
                return DT_OK;
            }
            frame *f = &r->frames[r->nframes - 1];
            if (f->kind == F_DISCARD) {
                dt_value_free(&v);
                r->nframes--;
                r->ndiscard--;
                break;
            }
            if (f->kind == F_TAG) {
                /* inside #_ no tag reader runs (the EDN spec asks for this) */
                rc = r->ndiscard ? DT_OK : apply_tag(r, f, &v);
                if (rc != DT_OK) {
                    dt_value_free(&v);
                    return rc;
                }
                vstart = f->start;
                r->nframes--;
                continue;
            }
            if ((rc = push_span(r, vstart)) != DT_OK) {
                dt_value_free(&v);
                return rc;
            }
            if ((rc = push_val(r, &v)) != DT_OK) return rc;
            break;
        }
    }
}

static int check_opts(const dt_edn_options *opts, int *max_depth) {
    *max_depth = DT_EDN_DEPTH_DEFAULT;
    if (!opts) return DT_OK;
    if (dt__check_version(NULL, "edn: dt_edn_options", opts->version, DT_EDN_OPTIONS_VERSION))
        return DT_INVALID;
    if (opts->max_depth < 0 || opts->max_depth > DT_EDN_DEPTH_MAX)
        return dt__seterr(NULL, DT_MISUSE, "edn: max_depth %d out of range 0..%d", opts->max_depth,
                          DT_EDN_DEPTH_MAX);
    if (opts->max_depth) *max_depth = opts->max_depth;
    return DT_OK;
}

/*
 * first_bad_byte: the offset of the first byte of t[0..n) that makes it
 * unacceptable as EDN text -- a NUL byte (which would silently cut the
 * text short wherever it is handled as a C string) or a byte that is not
 * part of well-formed UTF-8 -- or n when there is none.  ASCII runs are
 * checked eight bytes at a time.
 */
static size_t first_bad_byte(const char *t, size_t n) {
    const unsigned char *s = (const unsigned char *)t;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            uint64_t zero = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
            if (!zero && !(x & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if (s[i] == 0) return i;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t j = i;
        if (utf8_decode(t, n, &j) < 0) return i;
        i = j;
    }
    return n;
}

size_t dl_utf8_bad_at(const char *t, size_t n) {
    const unsigned char *s = (const unsigned char *)t;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t j = i;
        if (utf8_decode(t, n, &j) < 0) return i;
        i = j;
    }
    return n;
}

static void reader_init(dt_edn_reader *r, const char *text, size_t len, const dt_edn_options *opts,
                        int max_depth) {
    pthread_once(&cls_once, cls_init);
    memset(r, 0, sizeof *r);
    r->magic = EDN_MAGIC;
    r->frames = r->inl_frames;
    r->capframes = sizeof r->inl_frames / sizeof r->inl_frames[0];
    r->vals = r->inl_vals;
    r->capvals = sizeof r->inl_vals / sizeof r->inl_vals[0];
    r->text = text ? text : "";
    r->len = len;
    if (opts)
        r->opts = *opts;
    else {
        dt_edn_options d = DT_EDN_OPTIONS_INIT;
        r->opts = d;
    }
    r->max_depth = max_depth;
    r->lc_line = 1;
    r->lc_col = 1;
    r->bad_at = first_bad_byte(r->text, len);
}

static void reader_release(dt_edn_reader *r) {
    reader_reset_stacks(r);
    if (r->frames != r->inl_frames) dt__free(r->frames);
    if (r->vals != r->inl_vals) dt__free(r->vals);
    dt__free(r->spans);
    r->frames = r->inl_frames;
    r->capframes = sizeof r->inl_frames / sizeof r->inl_frames[0];
    r->vals = r->inl_vals;
    r->capvals = sizeof r->inl_vals / sizeof r->inl_vals[0];
    r->spans = NULL;
}

static int reader_next(dt_edn_reader *r, dt_value *out) {
    dt_value_nil(out);
    if (r->sticky) return r->sticky;
    if (r->bad_at < r->len) {
        /* the text is refused whole, not read up to the bad byte */
        const unsigned char b = (unsigned char)r->text[r->bad_at];
        r->sticky = b == 0
                        ? rerr(r, DT_INVALID, r->bad_at, "NUL byte at byte offset %zu", r->bad_at)
                        : rerr(r, DT_INVALID, r->bad_at,
                               "malformed UTF-8 (byte 0x%02X) at byte offset %zu", b, r->bad_at);
        return r->sticky;
    }
    int rc = read_form(r, out);
    if (rc != DT_OK && rc != DT_DONE) {
        reader_reset_stacks(r);
        dt_value_nil(out);
        r->sticky = rc;
    }
    return rc;
}

/* One form from text; with spans != NULL also where each value sits. */
static int read_one(const char *text, size_t len, const dt_edn_options *opts, dt_value *out,
                    dl_edn_span **spans, size_t *nspans) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_edn_read: NULL out");
    dt_value_nil(out);
    if (!text && len) return dt__seterr(NULL, DT_MISUSE, "dt_edn_read: NULL text");
    int max_depth, rc;
    if ((rc = check_opts(opts, &max_depth)) != DT_OK) return rc;
    dt_edn_reader r;
    reader_init(&r, text, len, opts, max_depth);
    r.errh = NULL;
    r.want_spans = spans != NULL;
    rc = reader_next(&r, out);
    if (rc == DT_DONE)
        rc = rerr(&r, DT_INVALID, len, "expected a form, got end of input");
    else if (rc == DT_OK) {
        dt_value extra;
        int rc2 = reader_next(&r, &extra);
        if (rc2 == DT_OK) {
            dt_value_free(&extra);
            char d[48];
            rc = rerr(&r, DT_INVALID, r.form_start, "expected end of input after the form, got %s",
                      describe(&r, r.form_start, d));
        } else if (rc2 != DT_DONE)
            rc = rc2;
        if (rc != DT_OK) dt_value_free(out);
    }
    if (rc == DT_OK && spans) {
        *spans = r.spans;
        *nspans = r.nspans;
        r.spans = NULL;
    }
    reader_release(&r);
    return rc;
}

int dt_edn_read_opts(const char *text, size_t len, const dt_edn_options *opts, dt_value *out) {
    return read_one(text, len, opts, out, NULL, NULL);
}

int dl_edn_read_spans(const char *text, size_t len, const dt_edn_options *opts, dt_value *out,
                      dl_edn_span **spans, size_t *nspans) {
    if (!spans || !nspans) return dt__seterr(NULL, DT_MISUSE, "dl_edn_read_spans: NULL spans");
    *spans = NULL;
    *nspans = 0;
    return read_one(text, len, opts, out, spans, nspans);
}

void dl_edn_line_col(const char *text, size_t len, size_t off, int *line, int *col) {
    dt_edn_reader r;
    reader_init(&r, text, len, NULL, 1);
    line_col(&r, off, line, col);
}

int dt_edn_read(const char *text, size_t len, dt_value *out) {
    return dt_edn_read_opts(text, len, NULL, out);
}

int dt_edn_reader_new(const char *text, size_t len, const dt_edn_options *opts,
                      dt_edn_reader **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_edn_reader_new: NULL out");
    *out = NULL;
    if (!text && len) return dt__seterr(NULL, DT_MISUSE, "dt_edn_reader_new: NULL text");
    int max_depth, rc;
    if ((rc = check_opts(opts, &max_depth)) != DT_OK) return rc;
    dt_edn_reader *r = dt__malloc(sizeof *r);
    if (!r) return dt__seterr(NULL, DT_NOMEM, "edn: out of memory");
    reader_init(r, text, len, opts, max_depth);
    r->errh = r;
    *out = r;
    return DT_OK;
}

int dt_edn_reader_next(dt_edn_reader *r, dt_value *out) {
    if (!r || r->magic != EDN_MAGIC)
        return dt__seterr(NULL, DT_MISUSE, "dt_edn_reader_next: NULL or freed reader");
    if (!out) return dt__seterr(r, DT_MISUSE, "dt_edn_reader_next: NULL out");
    int rc = reader_next(r, out);
    return rc == DT_OK ? DT_ROW : rc;
}

int dt_edn_reader_pos(const dt_edn_reader *r, int *line, int *col, size_t *offset) {
    if (!r || r->magic != EDN_MAGIC)
        return dt__seterr(NULL, DT_MISUSE, "dt_edn_reader_pos: NULL or freed reader");
    int l, c;
    /* the line/column cache is an internal memo, not part of the state */
    line_col((dt_edn_reader *)r, r->form_start, &l, &c);
    if (line) *line = l;
    if (col) *col = c;
    if (offset) *offset = r->form_start;
    return DT_OK;
}

void dt_edn_reader_free(dt_edn_reader *r) {
    if (!r || r->magic != EDN_MAGIC) return;
    reader_release(r);
    dt__clearerr(r);
    r->magic = DT_MAGIC_DEAD;
    dt__free(r);
}

/* }====== */

/* {====== Printer ====== */

#define PRETTY_WIDTH 80
#define TOO_LONG     (-1) /* internal: a compact trial went past its width */

typedef struct writer {
    dt_buf *b;
    int pretty;
    int depth;
    size_t limit;      /* fail with TOO_LONG once b->len passes it */
    size_t line_start; /* offset just after the last newline written */
} writer;

static int w_put(writer *w, const char *s, size_t n) {
    int rc = dt_buf_append(w->b, s, n);
    if (rc != DT_OK) return rc;
    return w->b->len > w->limit ? TOO_LONG : DT_OK;
}

static int w_str(writer *w, const char *s) { return w_put(w, s, strlen(s)); }

static int write_string(writer *w, const char *s, size_t n) {
    int rc;
    if ((rc = dt_buf_reserve(w->b, n + 2)) != DT_OK) return rc;
    if ((rc = dt_buf_putc(w->b, '"')) != DT_OK) return rc;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (!esc) continue;
        if ((rc = dt_buf_append(w->b, s + run, i - run)) != DT_OK) return rc;
        if ((rc = dt_buf_append(w->b, esc, strlen(esc))) != DT_OK) return rc;
        run = i + 1;
    }
    if ((rc = dt_buf_append(w->b, s + run, n - run)) != DT_OK) return rc;
    return w_put(w, "\"", 1);
}

static int write_char(writer *w, uint32_t cp) {
    char buf[16];
    const char *name = NULL;
    switch (cp) {
    case '\n':
        name = "\\newline";
        break;
    case ' ':
        name = "\\space";
        break;
    case '\t':
        name = "\\tab";
        break;
    case '\r':
        name = "\\return";
        break;
    case '\b':
        name = "\\backspace";
        break;
    case '\f':
        name = "\\formfeed";
        break;
    default:
        break;
    }
    if (name) return w_str(w, name);
    if (cp > 0x20 && cp < 0x7f) {
        buf[0] = '\\';
        buf[1] = (char)cp;
        return w_put(w, buf, 2);
    }
    if (cp < 0x10000) {
        snprintf(buf, sizeof buf, "\\u%04x", (unsigned)cp);
        return w_str(w, buf);
    }
    if (cp > 0x10FFFF)
        return dt__seterr(NULL, DT_INVALID, "edn: character U+%X is beyond Unicode", (unsigned)cp);
    buf[0] = '\\';
    size_t k = utf8_encode(cp, buf + 1);
    return w_put(w, buf, k + 1);
}

static int write_value(writer *w, const dt_value *v);

static int write_items(writer *w, const dt_value *v, const char *open, const char *close,
                       int multiline) {
    int rc;
    const dt_value *items = v->u.seq.items;
    size_t n = v->u.seq.n;
    int is_map = v->type == DT_MAP;
    if (is_map && n % 2)
        return dt__seterr(NULL, DT_INVALID, "edn: map value with an odd number of items (%zu)", n);
    if ((rc = w_str(w, open)) != DT_OK) return rc;
    size_t col = w->b->len - w->line_start;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            int entry_start = !is_map || i % 2 == 0;
            if (is_map && entry_start && (rc = w_put(w, ",", 1)) != DT_OK) return rc;
            if (multiline && entry_start) {
                if ((rc = dt_buf_putc(w->b, '\n')) != DT_OK) return rc;
                w->line_start = w->b->len;
                for (size_t k = 0; k < col; k++)
                    if ((rc = dt_buf_putc(w->b, ' ')) != DT_OK) return rc;
            } else if ((rc = w_put(w, " ", 1)) != DT_OK)
                return rc;
        }
        if ((rc = write_value(w, &items[i])) != DT_OK) return rc;
    }
    return w_str(w, close);
}

static int write_compound(writer *w, const dt_value *v) {
    const char *open, *close = v->type == DT_LIST                       ? ")"
                               : v->type == DT_MAP || v->type == DT_SET ? "}"
                                                                        : "]";
    open = v->type == DT_LIST ? "(" : v->type == DT_MAP ? "{" : v->type == DT_SET ? "#{" : "[";
    if (!w->pretty || w->limit != SIZE_MAX || v->u.seq.n < 2)
        return write_items(w, v, open, close, 0);
    /* pretty, not inside a trial: try one line, else one item (entry) per line */
    size_t mark = w->b->len, ls = w->line_start;
    w->limit = w->line_start + PRETTY_WIDTH;
    int rc = write_items(w, v, open, close, 0);
    w->limit = SIZE_MAX;
    if (rc != TOO_LONG) return rc;
    w->b->len = mark;
    w->line_start = ls;
    return write_items(w, v, open, close, 1);
}

static int write_value(writer *w, const dt_value *v) {
    char buf[64];
    int rc;
    switch (v->type) {
    case DT_NIL:
        return w_put(w, "nil", 3);
    case DT_BOOL:
        return w_str(w, v->u.b ? "true" : "false");
    case DT_LONG:
    case DT_REF:
        snprintf(buf, sizeof buf, "%lld", (long long)v->u.i);
        return w_str(w, buf);
    case DT_DOUBLE:
        return w_put(w, buf, dl_edn_format_double(v->u.d, buf));
    case DT_FLOAT:
        return w_put(w, buf, dl_edn_format_float(v->u.f, buf));
    case DT_BIGINT:
    case DT_BIGDEC:
        if ((rc = w_put(w, v->u.s.ptr, v->u.s.len)) != DT_OK) return rc;
        return w_put(w, v->type == DT_BIGINT ? "N" : "M", 1);
    case DT_INSTANT:
        if ((rc = w_put(w, "#inst \"", 7)) != DT_OK) return rc;
        if ((rc = dl_edn_format_instant(v->u.i, w->b)) != DT_OK) return rc;
        return w_put(w, "\"", 1);
    case DT_STRING:
        return write_string(w, v->u.s.ptr, v->u.s.len);
    case DT_KEYWORD:
        if (!dl_edn_symbol_ok(v->u.s.ptr, v->u.s.len, 1))
            return dt__seterr(NULL, DT_INVALID,
                              "edn: keyword text \"%.*s\" cannot be printed as EDN",
                              (int)(v->u.s.len > 64 ? 64 : v->u.s.len), v->u.s.ptr);
        if ((rc = w_put(w, ":", 1)) != DT_OK) return rc;
        return w_put(w, v->u.s.ptr, v->u.s.len);
    case DT_SYMBOL:
        if (!dl_edn_symbol_ok(v->u.s.ptr, v->u.s.len, 0))
            return dt__seterr(NULL, DT_INVALID,
                              "edn: symbol text \"%.*s\" cannot be printed as EDN",
                              (int)(v->u.s.len > 64 ? 64 : v->u.s.len), v->u.s.ptr);
        return w_put(w, v->u.s.ptr, v->u.s.len);
    case DT_UUID: {
        char u[37];
        dl_edn_format_uuid(v->u.uuid, u);
        snprintf(buf, sizeof buf, "#uuid \"%s\"", u);
        return w_str(w, buf);
    }
    case DT_BYTES:
        if ((rc = w_put(w, "#bytes \"", 8)) != DT_OK) return rc;
        if ((rc = base64_encode((const uint8_t *)v->u.s.ptr, v->u.s.len, w->b)) != DT_OK) return rc;
        return w_put(w, "\"", 1);
    case DT_CHAR:
        return write_char(w, v->u.c);
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED:
        if (w->depth >= DT_EDN_DEPTH_MAX)
            return dt__seterr(NULL, DT_LIMIT, "edn: value nested deeper than %d", DT_EDN_DEPTH_MAX);
        w->depth++;
        if (v->type == DT_TAGGED) {
            const dt_value *it = v->u.seq.items;
            if (v->u.seq.n != 2 || it[0].type != DT_SYMBOL || !it[0].u.s.len ||
                !IS(it[0].u.s.ptr[0], C_ALPHA) ||
                !dl_edn_symbol_ok(it[0].u.s.ptr, it[0].u.s.len, 0))
                rc = dt__seterr(
                    NULL, DT_INVALID,
                    "edn: a tagged value needs a symbol tag starting with a letter and a value");
            else if ((rc = w_put(w, "#", 1)) == DT_OK &&
                     (rc = w_put(w, it[0].u.s.ptr, it[0].u.s.len)) == DT_OK &&
                     (rc = w_put(w, " ", 1)) == DT_OK)
                rc = write_value(w, &it[1]);
        } else
            rc = write_compound(w, v);
        w->depth--;
        return rc;
    }
    return dt__seterr(NULL, DT_INVALID, "edn: unknown value type %d", (int)v->type);
}

int dl_edn_write_buf(const dt_value *v, int flags, dt_buf *b) {
    pthread_once(&cls_once, cls_init);
    writer w = {b, flags & DT_EDN_PRETTY, 0, SIZE_MAX, b->len};
    /* line_start: assume the buffer so far ends a line */
    int rc = write_value(&w, v);
    if (rc == DT_NOMEM) return dt__seterr(NULL, DT_NOMEM, "edn: out of memory");
    return rc;
}

int dt_edn_write(const dt_value *v, int flags, char **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!v || !out) return dt__seterr(NULL, DT_MISUSE, "dt_edn_write: NULL argument");
    if ((unsigned)flags & ~(unsigned)DT_EDN_PRETTY)
        return dt__seterr(NULL, DT_INVALID, "dt_edn_write: flags 0x%x are not EDN write flags: %s",
                          (unsigned)flags & ~(unsigned)DT_EDN_PRETTY,
                          dt__flags_group((unsigned)flags & ~(unsigned)DT_EDN_PRETTY));
    dt_buf b = DT_BUF_INIT;
    int rc = dl_edn_write_buf(v, flags, &b);
    if (rc == DT_OK && (rc = dt_buf_terminate(&b)) != DT_OK)
        rc = dt__seterr(NULL, DT_NOMEM, "edn: out of memory");
    if (rc != DT_OK) {
        dt_buf_release(&b);
        return rc;
    }
    *out = (char *)b.p;
    if (out_len) *out_len = b.len;
    return DT_OK;
}

/* }====== */
