/*
 * value.c -- dt_value constructors, deep copy/clear and the total order
 * (datalog layer).  The order defined here is the one the codec preserves.
 */
#include "value.h"

#include <math.h>
#include <string.h>

/* {====== Floating point order keys ====== */

uint64_t dl_double_key(double d) {
    uint64_t u;
    if (isnan(d))
        u = 0x7ff8000000000000ULL;
    else
        memcpy(&u, &d, 8);
    return (u & 0x8000000000000000ULL) ? ~u : (u | 0x8000000000000000ULL);
}

double dl_double_from_key(uint64_t k) {
    uint64_t u = (k & 0x8000000000000000ULL) ? (k & ~0x8000000000000000ULL) : ~k;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

uint32_t dl_float_key(float f) {
    uint32_t u;
    if (isnan(f))
        u = 0x7fc00000U;
    else
        memcpy(&u, &f, 4);
    return (u & 0x80000000U) ? ~u : (u | 0x80000000U);
}

float dl_float_from_key(uint32_t k) {
    uint32_t u = (k & 0x80000000U) ? (k & ~0x80000000U) : ~k;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* }====== */

/* {====== Decimals ====== */

int dl_decimal_parse(const char *text, size_t len, int allow_fraction, dl_decimal *out) {
    const char *what = allow_fraction ? "bigdec" : "bigint";
    size_t i = 0;
    int neg = 0;
    memset(out, 0, sizeof *out);
    if (i < len && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
    size_t int_start = i;
    while (i < len && text[i] >= '0' && text[i] <= '9') i++;
    size_t int_end = i, frac_start = i, frac_end = i;
    if (allow_fraction && i < len && text[i] == '.') {
        frac_start = ++i;
        while (i < len && text[i] >= '0' && text[i] <= '9') i++;
        frac_end = i;
    }
    if (int_end == int_start && frac_end == frac_start)
        return dt__seterr(NULL, DT_INVALID, "%s: no digits in \"%.*s\"", what, (int)len, text);
    int64_t exponent = 0;
    if (allow_fraction && i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (text[i] == '-' || text[i] == '+')) eneg = text[i++] == '-';
        size_t es = i;
        while (i < len && text[i] >= '0' && text[i] <= '9') {
            exponent = exponent * 10 + (text[i] - '0');
            if (exponent > DL_DECIMAL_MAX_EXPONENT)
                return dt__seterr(NULL, DT_INVALID, "%s: exponent out of range in \"%.*s\"", what,
                                  (int)len, text);
            i++;
        }
        if (i == es)
            return dt__seterr(NULL, DT_INVALID, "%s: missing exponent digits in \"%.*s\"", what,
                              (int)len, text);
        if (eneg) exponent = -exponent;
    }
    if (i != len)
        return dt__seterr(NULL, DT_INVALID, "%s: unexpected character '%c' in \"%.*s\"", what,
                          text[i], (int)len, text);
    size_t nd = (int_end - int_start) + (frac_end - frac_start);
    char *digits = dt__malloc(nd + 1);
    if (!digits) return dt__seterr(NULL, DT_NOMEM, "%s: out of memory for %zu digits", what, nd);
    size_t k = 0;
    for (size_t j = int_start; j < int_end; j++) digits[k++] = text[j];
    for (size_t j = frac_start; j < frac_end; j++) digits[k++] = text[j];
    digits[k] = '\0';
    /* strip leading zeros, keep one digit */
    size_t lead = 0;
    while (lead + 1 < k && digits[lead] == '0') lead++;
    if (lead) {
        memmove(digits, digits + lead, k - lead + 1);
        k -= lead;
    }
    out->digits = digits;
    out->ndigits = k;
    out->scale = (int64_t)(frac_end - frac_start) - exponent;
    out->neg = neg && !(k == 1 && digits[0] == '0');
    return DT_OK;
}

void dl_decimal_release(dl_decimal *d) {
    dt__free(d->digits);
    d->digits = NULL;
}

int dl_decimal_format(const dl_decimal *d, int is_bigint, dt_buf *b) {
    int rc = DT_OK;
    if (d->neg && (rc = dt_buf_putc(b, '-')) != DT_OK) return rc;
    if (is_bigint || d->scale == 0) return dt_buf_append(b, d->digits, d->ndigits);
    if (d->scale < 0) {
        if ((rc = dt_buf_append(b, d->digits, d->ndigits)) != DT_OK) return rc;
        return dt_buf_printf(b, "E%lld", (long long)-d->scale);
    }
    size_t s = (size_t)d->scale;
    if (s >= d->ndigits) {
        if ((rc = dt_buf_append(b, "0.", 2)) != DT_OK) return rc;
        for (size_t z = d->ndigits; z < s; z++)
            if ((rc = dt_buf_putc(b, '0')) != DT_OK) return rc;
        return dt_buf_append(b, d->digits, d->ndigits);
    }
    if ((rc = dt_buf_append(b, d->digits, d->ndigits - s)) != DT_OK) return rc;
    if ((rc = dt_buf_putc(b, '.')) != DT_OK) return rc;
    return dt_buf_append(b, d->digits + d->ndigits - s, s);
}

static int sign3(long long x) { return (x > 0) - (x < 0); }

int dl_decimal_compare(const dl_decimal *a, const dl_decimal *b) {
    int za = a->ndigits == 1 && a->digits[0] == '0';
    int zb = b->ndigits == 1 && b->digits[0] == '0';
    int sa = za ? 0 : (a->neg ? -1 : 1);
    int sb = zb ? 0 : (b->neg ? -1 : 1);
    if (sa != sb) return sa < sb ? -1 : 1;
    int mag = 0;
    if (sa != 0) {
        /* exponent of the leading digit */
        int64_t ea = (int64_t)a->ndigits - 1 - a->scale;
        int64_t eb = (int64_t)b->ndigits - 1 - b->scale;
        if (ea != eb)
            mag = ea < eb ? -1 : 1;
        else {
            size_t n = a->ndigits > b->ndigits ? a->ndigits : b->ndigits;
            for (size_t i = 0; i < n && !mag; i++) {
                char ca = i < a->ndigits ? a->digits[i] : '0';
                char cb = i < b->ndigits ? b->digits[i] : '0';
                if (ca != cb) mag = ca < cb ? -1 : 1;
            }
        }
        if (sa < 0) mag = -mag;
    }
    if (mag) return mag;
    return sign3(a->scale - b->scale);
}

/* }====== */

/* {====== Constructors ====== */

void dt_value_nil(dt_value *out) { memset(out, 0, sizeof *out); }
void dt_value_bool(int b, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_BOOL;
    out->u.b = !!b;
}
void dt_value_long(int64_t i, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_LONG;
    out->u.i = i;
}
void dt_value_double(double d, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_DOUBLE;
    out->u.d = d;
}
void dt_value_float(float f, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_FLOAT;
    out->u.f = f;
}
void dt_value_instant(int64_t ms, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_INSTANT;
    out->u.i = ms;
}
void dt_value_ref(int64_t eid, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_REF;
    out->u.i = eid;
}
void dt_value_char(uint32_t c, dt_value *out) {
    dt_value_nil(out);
    out->type = DT_CHAR;
    out->u.c = c;
}

void dt_value_uuid(const uint8_t bytes[16], dt_value *out) {
    dt_value_nil(out);
    out->type = DT_UUID;
    memcpy(out->u.uuid, bytes, 16);
}

static int is_text_type(dt_type t) {
    return t == DT_STRING || t == DT_KEYWORD || t == DT_SYMBOL || t == DT_BIGINT ||
           t == DT_BIGDEC || t == DT_BYTES;
}

static int is_seq_type(dt_type t) {
    return t == DT_TUPLE || t == DT_LIST || t == DT_VECTOR || t == DT_SET || t == DT_MAP ||
           t == DT_TAGGED;
}

int dt_value_text(dt_type type, const char *text, size_t len, dt_value *out) {
    dt_value_nil(out);
    if (!is_text_type(type))
        return dt__seterr(NULL, DT_MISUSE, "dt_value_text: type %s is not a text type",
                          dt_type_name(type));
    if (!text && len) return dt__seterr(NULL, DT_MISUSE, "dt_value_text: NULL text");
    if (type == DT_BIGINT || type == DT_BIGDEC) {
        dl_decimal d;
        int rc = dl_decimal_parse(text, len, type == DT_BIGDEC, &d);
        if (rc != DT_OK) return rc;
        dt_buf b = DT_BUF_INIT;
        rc = dl_decimal_format(&d, type == DT_BIGINT, &b);
        if (rc == DT_OK) rc = dt_buf_terminate(&b);
        dl_decimal_release(&d);
        if (rc != DT_OK) {
            dt_buf_release(&b);
            return rc;
        }
        out->type = type;
        out->u.s.ptr = (char *)b.p;
        out->u.s.len = b.len;
        return DT_OK;
    }
    char *p = dt__strndup(text ? text : "", len);
    if (!p) return dt__seterr(NULL, DT_NOMEM, "out of memory copying %zu bytes", len);
    out->type = type;
    out->u.s.ptr = p;
    out->u.s.len = len;
    return DT_OK;
}

int dt_value_seq(dt_type type, size_t n, dt_value *out) {
    dt_value_nil(out);
    if (!is_seq_type(type))
        return dt__seterr(NULL, DT_MISUSE, "dt_value_seq: type %s is not a compound type",
                          dt_type_name(type));
    if (type == DT_MAP && n % 2)
        return dt__seterr(NULL, DT_MISUSE, "dt_value_seq: a map needs an even item count");
    dt_value *items = NULL;
    if (n) {
        items = dt__calloc(n, sizeof *items);
        if (!items) return dt__seterr(NULL, DT_NOMEM, "out of memory for %zu items", n);
    }
    out->type = type;
    out->u.seq.items = items;
    out->u.seq.n = n;
    return DT_OK;
}

void dt_value_free(dt_value *v) {
    if (!v) return;
    if (is_text_type(v->type))
        dt__free(v->u.s.ptr);
    else if (is_seq_type(v->type)) {
        for (size_t i = 0; i < v->u.seq.n; i++) dt_value_free(&v->u.seq.items[i]);
        dt__free(v->u.seq.items);
    }
    dt_value_nil(v);
}

int dt_value_copy(const dt_value *src, dt_value *out) {
    dt_value_nil(out);
    if (!src) return dt__seterr(NULL, DT_MISUSE, "dt_value_copy: NULL source");
    if (is_text_type(src->type)) {
        char *p = dt__strndup(src->u.s.ptr ? src->u.s.ptr : "", src->u.s.len);
        if (!p) return DT_NOMEM;
        out->type = src->type;
        out->u.s.ptr = p;
        out->u.s.len = src->u.s.len;
        return DT_OK;
    }
    if (is_seq_type(src->type)) {
        dt_value tmp;
        int rc = dt_value_seq(src->type, src->u.seq.n, &tmp);
        if (rc != DT_OK) return rc;
        for (size_t i = 0; i < src->u.seq.n; i++) {
            if ((rc = dt_value_copy(&src->u.seq.items[i], &tmp.u.seq.items[i])) != DT_OK) {
                dt_value_free(&tmp);
                return rc;
            }
        }
        *out = tmp;
        return DT_OK;
    }
    *out = *src;
    return DT_OK;
}

/* }====== */

/* {====== Order ====== */

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb) {
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return (na > nb) - (na < nb);
}

static int cmp_decimal_values(const dt_value *a, const dt_value *b) {
    dl_decimal da, db;
    int big = a->type == DT_BIGDEC;
    /* Stored text is canonical, so parsing cannot fail short of memory;
     * fall back to text order if it does rather than lying about equality. */
    if (dl_decimal_parse(a->u.s.ptr, a->u.s.len, big, &da) != DT_OK)
        return cmp_bytes(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
    if (dl_decimal_parse(b->u.s.ptr, b->u.s.len, big, &db) != DT_OK) {
        dl_decimal_release(&da);
        return cmp_bytes(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
    }
    int c = dl_decimal_compare(&da, &db);
    dl_decimal_release(&da);
    dl_decimal_release(&db);
    return c;
}

int dt_value_compare(const dt_value *a, const dt_value *b) {
    if (a->type != b->type) return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case DT_NIL:
        return 0;
    case DT_BOOL:
        return (!!a->u.b > !!b->u.b) - (!!a->u.b < !!b->u.b);
    case DT_LONG:
    case DT_INSTANT:
    case DT_REF:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    case DT_DOUBLE: {
        uint64_t x = dl_double_key(a->u.d), y = dl_double_key(b->u.d);
        return (x > y) - (x < y);
    }
    case DT_FLOAT: {
        uint32_t x = dl_float_key(a->u.f), y = dl_float_key(b->u.f);
        return (x > y) - (x < y);
    }
    case DT_CHAR:
        return (a->u.c > b->u.c) - (a->u.c < b->u.c);
    case DT_BIGINT:
    case DT_BIGDEC:
        return cmp_decimal_values(a, b);
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BYTES:
        return cmp_bytes(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
    case DT_UUID: {
        int c = memcmp(a->u.uuid, b->u.uuid, 16);
        return (c > 0) - (c < 0);
    }
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED: {
        size_t n = a->u.seq.n < b->u.seq.n ? a->u.seq.n : b->u.seq.n;
        for (size_t i = 0; i < n; i++) {
            int c = dt_value_compare(&a->u.seq.items[i], &b->u.seq.items[i]);
            if (c) return c;
        }
        return (a->u.seq.n > b->u.seq.n) - (a->u.seq.n < b->u.seq.n);
    }
    }
    return 0;
}

int dt_value_equal(const dt_value *a, const dt_value *b) { return dt_value_compare(a, b) == 0; }

const char *dt_type_name(dt_type type) {
    static const char *const names[DT_TYPE_COUNT] = {
        "nil",     "boolean", "long",    "double", "float", "bigint", "bigdec",
        "instant", "string",  "keyword", "symbol", "uuid",  "ref",    "bytes",
        "tuple",   "char",    "list",    "vector", "set",   "map",    "tagged"};
    if ((unsigned)type >= DT_TYPE_COUNT) return "unknown";
    return names[type];
}

/* }====== */
