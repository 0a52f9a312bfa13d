/*
 * codec.c -- the order-preserving key codec for datom values (datalog
 * layer).  The byte layout is specified in docs/format.md, "Value
 * encoding"; codec.h summarises it and the truncated-key scheme.
 */
#include "codec.h"

#include <math.h>
#include <string.h>

#include "value.h"

/* Internal results of the reader, never returned to callers. */
#define RD_TRUNC 1000 /* hit a truncation marker */
#define RD_STOP  1001 /* cut finding: no later cut point fits */

/* Kinds of safe cut point, each with its own truncation marker. */
enum { CUT_NONE, CUT_ELEM, CUT_TEXT, CUT_DEC_POS, CUT_DEC_NEG };

static const char *tag_name(uint8_t tag) {
    if (tag < DL_CODEC_TAG_MIN || tag > DL_CODEC_TAG_MAX) return "no type";
    return dt_type_name((dt_type)(tag - DL_CODEC_TAG_BASE));
}

static void put_be(uint8_t *dst, uint64_t u, int n) {
    for (int k = n - 1; k >= 0; k--) {
        dst[k] = (uint8_t)u;
        u >>= 8;
    }
}

static uint64_t get_be(const uint8_t *src, int n) {
    uint64_t u = 0;
    for (int k = 0; k < n; k++) u = (u << 8) | src[k];
    return u;
}

uint64_t dl_codec_hash(const void *bytes, size_t len) {
    const uint8_t *p = bytes;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* {====== Order-preserving signed integers (decimal exponent, scale) ====== */

/*
 * x >= 0: header 0x80 + n, then x in n big-endian bytes (n minimal, 0..8);
 * x < 0:  header 0x7F - n, then the low n bytes of x, n minimal for ~x.
 * Headers order by sign and magnitude, so memcmp order is numeric order,
 * and the header gives the length, so the code is prefix-free.
 */
static int ov_nbytes(int64_t x) {
    uint64_t m = x < 0 ? ~(uint64_t)x : (uint64_t)x;
    int n = 0;
    while (m) {
        n++;
        m >>= 8;
    }
    return n;
}

static size_t ov_len(int64_t x) { return 1 + (size_t)ov_nbytes(x); }

/* Writes x, every byte xor'ed with mask (0xFF inverts the order). */
static uint8_t *ov_put(int64_t x, uint8_t mask, uint8_t *dst) {
    int n = ov_nbytes(x);
    *dst++ = (uint8_t)((x < 0 ? 0x7F - n : 0x80 + n) ^ mask);
    for (int k = n - 1; k >= 0; k--) *dst++ = (uint8_t)(((uint64_t)x >> (8 * k)) ^ mask);
    return dst;
}

/* }====== */

/* {====== Decimal analysis (no allocation) ====== */

/*
 * A bigint/bigdec as its digit runs: the digits of the text are
 * int_digits || frac_digits; the significant digits (mantissa) run from
 * index first to last (first and last nonzero); exp is the decimal
 * exponent of the leading digit and scale the bigdec scale, so that the
 * value is 0.d1d2d3... * 10^(exp+1) and the text had scale fraction digits.
 */
typedef struct dec_view {
    int zero, neg;
    const char *ip, *fp;
    size_t ni, nf;
    size_t first, last;
    int64_t exp, scale;
} dec_view;

static int dec_digit(const dec_view *d, size_t i) {
    return (i < d->ni ? d->ip[i] : d->fp[i - d->ni]) - '0';
}

static int dec_analyse(const dt_value *v, dec_view *d) {
    int is_dec = v->type == DT_BIGDEC;
    const char *what = is_dec ? "bigdec" : "bigint";
    const char *s = v->u.s.ptr ? v->u.s.ptr : "";
    size_t len = v->u.s.len, i = 0;
    memset(d, 0, sizeof *d);
    if (i < len && (s[i] == '-' || s[i] == '+')) d->neg = s[i++] == '-';
    d->ip = s + i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    d->ni = (size_t)(s + i - d->ip);
    d->fp = s + i;
    if (is_dec && i < len && s[i] == '.') {
        d->fp = s + ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        d->nf = (size_t)(s + i - d->fp);
    }
    int64_t exponent = 0;
    int ok = d->ni + d->nf > 0;
    if (ok && is_dec && i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        size_t es = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && exponent <= DL_DECIMAL_MAX_EXPONENT)
            exponent = exponent * 10 + (s[i++] - '0');
        ok = i > es && exponent <= DL_DECIMAL_MAX_EXPONENT;
        if (eneg) exponent = -exponent;
    }
    if (!ok || i != len)
        return dt__seterr(NULL, DT_INVALID, "codec: %s text \"%.*s\" is not a number", what,
                          (int)(len > 64 ? 64 : len), s);
    size_t total = d->ni + d->nf;
    d->scale = (int64_t)d->nf - exponent;
    d->first = 0;
    while (d->first < total && dec_digit(d, d->first) == 0) d->first++;
    if (d->first == total) {
        d->zero = 1;
        d->neg = 0;
    } else {
        d->last = total - 1;
        while (dec_digit(d, d->last) == 0) d->last--;
        d->exp = (int64_t)(total - d->first) - 1 - d->scale;
        if (d->exp > DL_CODEC_DEC_LIMIT || d->exp < -DL_CODEC_DEC_LIMIT)
            return dt__seterr(NULL, DT_LIMIT, "codec: %s exponent %lld out of the codec's range",
                              what, (long long)d->exp);
    }
    if (d->scale > DL_CODEC_DEC_LIMIT || d->scale < -DL_CODEC_DEC_LIMIT)
        return dt__seterr(NULL, DT_LIMIT, "codec: %s scale %lld out of the codec's range", what,
                          (long long)d->scale);
    return DT_OK;
}

static size_t dec_len(const dec_view *d, int is_dec) {
    size_t n = 2; /* tag, sign */
    if (!d->zero) {
        size_t k = d->last - d->first + 1;
        n += ov_len(d->exp) + (k + 2) / 2;
    }
    if (is_dec) n += ov_len(d->scale);
    return n;
}

/* Mantissa: digit d as nibble d+1, high nibble first, ended by a 0 nibble
 * (padded with a second 0 nibble to a whole byte); inverted if negative. */
static uint8_t *dec_put(const dec_view *d, dt_type t, uint8_t *dst) {
    *dst++ = DL_CODEC_TAG(t);
    if (d->zero) {
        *dst++ = DL_CODEC_DEC_ZERO;
    } else {
        uint8_t mask = d->neg ? 0xFF : 0x00;
        *dst++ = d->neg ? DL_CODEC_DEC_NEG : DL_CODEC_DEC_POS;
        dst = ov_put(d->exp, mask, dst);
        size_t k = d->last - d->first + 1;
        for (size_t i = 0; i < k; i += 2) {
            int hi = dec_digit(d, d->first + i) + 1;
            int lo = i + 1 < k ? dec_digit(d, d->first + i + 1) + 1 : 0;
            *dst++ = (uint8_t)((hi << 4 | lo) ^ mask);
        }
        if (k % 2 == 0) *dst++ = mask;
    }
    if (t == DT_BIGDEC) dst = ov_put(d->scale, 0, dst);
    return dst;
}

/* }====== */

/* {====== Encoding ====== */

static size_t count_zeros(const uint8_t *s, size_t n) {
    size_t z = 0;
    while (n) {
        const uint8_t *q = memchr(s, 0, n);
        if (!q) break;
        z++;
        n -= (size_t)(q - s) + 1;
        s = q + 1;
    }
    return z;
}

static int enc_size(const dt_value *v, int depth, size_t *out) {
    switch (v->type) {
    case DT_NIL:
        *out = 1;
        return DT_OK;
    case DT_BOOL:
        *out = 2;
        return DT_OK;
    case DT_LONG:
    case DT_INSTANT:
    case DT_REF:
    case DT_DOUBLE:
        *out = 9;
        return DT_OK;
    case DT_FLOAT:
        *out = 5;
        return DT_OK;
    case DT_UUID:
        *out = 17;
        return DT_OK;
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BYTES:
        if (!v->u.s.ptr && v->u.s.len)
            return dt__seterr(NULL, DT_MISUSE, "codec: %s value with NULL text",
                              dt_type_name(v->type));
        *out = 3 + v->u.s.len + count_zeros((const uint8_t *)v->u.s.ptr, v->u.s.len);
        return DT_OK;
    case DT_BIGINT:
    case DT_BIGDEC: {
        dec_view d;
        int rc = dec_analyse(v, &d);
        if (rc != DT_OK) return rc;
        *out = dec_len(&d, v->type == DT_BIGDEC);
        return DT_OK;
    }
    case DT_TUPLE: {
        if (depth >= DL_CODEC_MAX_DEPTH)
            return dt__seterr(NULL, DT_LIMIT, "codec: tuples nested deeper than %d",
                              DL_CODEC_MAX_DEPTH);
        if (!v->u.seq.items && v->u.seq.n)
            return dt__seterr(NULL, DT_MISUSE, "codec: tuple with NULL items");
        size_t n = 2;
        for (size_t i = 0; i < v->u.seq.n; i++) {
            size_t m;
            int rc = enc_size(&v->u.seq.items[i], depth + 1, &m);
            if (rc != DT_OK) return rc;
            n += m;
        }
        *out = n;
        return DT_OK;
    }
    default:
        return dt__seterr(NULL, DT_INVALID,
                          "codec: a %s is not a datom value and has no key encoding",
                          dt_type_name(v->type));
    }
}

/* Writes v (already sized by enc_size, so valid) at dst; returns the end. */
static uint8_t *enc_write(const dt_value *v, uint8_t *dst) {
    switch (v->type) {
    case DT_NIL:
        *dst++ = DL_CODEC_TAG(DT_NIL);
        return dst;
    case DT_BOOL:
        *dst++ = DL_CODEC_TAG(DT_BOOL);
        *dst++ = v->u.b ? 1 : 0;
        return dst;
    case DT_LONG:
    case DT_INSTANT:
    case DT_REF:
        return dst + dl_codec_put_int(v->type, v->u.i, dst);
    case DT_DOUBLE:
        *dst = DL_CODEC_TAG(DT_DOUBLE);
        put_be(dst + 1, dl_double_key(v->u.d), 8);
        return dst + 9;
    case DT_FLOAT:
        *dst = DL_CODEC_TAG(DT_FLOAT);
        put_be(dst + 1, dl_float_key(v->u.f), 4);
        return dst + 5;
    case DT_UUID:
        *dst = DL_CODEC_TAG(DT_UUID);
        memcpy(dst + 1, v->u.uuid, 16);
        return dst + 17;
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BYTES: {
        const uint8_t *s = (const uint8_t *)v->u.s.ptr;
        size_t n = v->u.s.len;
        *dst++ = DL_CODEC_TAG(v->type);
        while (n) {
            const uint8_t *z = memchr(s, 0, n);
            size_t run = z ? (size_t)(z - s) : n;
            memcpy(dst, s, run);
            dst += run;
            s += run;
            n -= run;
            if (z) {
                *dst++ = 0x00;
                *dst++ = 0xFF;
                s++;
                n--;
            }
        }
        *dst++ = 0x00;
        *dst++ = 0x00;
        return dst;
    }
    case DT_BIGINT:
    case DT_BIGDEC: {
        dec_view d;
        (void)dec_analyse(v, &d); /* validated by enc_size */
        return dec_put(&d, v->type, dst);
    }
    case DT_TUPLE:
        *dst++ = DL_CODEC_TAG(DT_TUPLE);
        for (size_t i = 0; i < v->u.seq.n; i++) dst = enc_write(&v->u.seq.items[i], dst);
        *dst++ = DL_CODEC_END;
        return dst;
    default:
        return dst; /* rejected by enc_size */
    }
}

int dl_codec_encoded_len(const dt_value *v, size_t *out) {
    *out = 0;
    return enc_size(v, 0, out);
}

int dl_codec_encode(const dt_value *v, dt_buf *out) {
    size_t n = 0;
    int rc = enc_size(v, 0, &n);
    if (rc != DT_OK) return rc;
    if (dt_buf_reserve(out, n) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "codec: out of memory for a %zu-byte encoding", n);
    uint8_t *end = enc_write(v, out->p + out->len);
    if ((size_t)(end - (out->p + out->len)) != n)
        return dt__seterr(NULL, DT_INTERNAL, "codec: encoded length mismatch for a %s",
                          dt_type_name(v->type));
    out->len += n;
    return DT_OK;
}

/* }====== */

/* {====== Reader: decode, scan, cut finding ====== */

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    /* cut finding (over a valid full encoding) */
    int finding;
    size_t max_len, cut;
    int cut_kind;
    /* where the truncation marker started */
    size_t marker_at;
    /* where decoded text and items go: NULL for the heap (the caller owns
     * the value), else an allocator whose memory its owner frees at once */
    const dl_alloc *al;
} rd;

/* n bytes for a decoded value's parts: the heap's, or the allocator's. */
static void *rd_alloc(const rd *r, size_t n) {
    return r->al ? r->al->alloc(r->al->ctx, n) : dt__malloc(n);
}

static int corrupt(const rd *r, size_t at, uint8_t tag, const char *what) {
    return dt__seterr(NULL, DT_CORRUPT, "codec: %s at byte %zu (in a %s, tag 0x%02x)", what, at,
                      tag_name(tag), tag);
}

/* Records a cut point at r->pos if prefix + marker + hash fit in max_len;
 * cut points only move forward, so the first that does not fit stops. */
static int cut_here(rd *r, int kind) {
    size_t marker = kind == CUT_TEXT ? 2 : 1;
    if (r->pos + marker + DL_CODEC_HASH_LEN > r->max_len) return RD_STOP;
    r->cut = r->pos;
    r->cut_kind = kind;
    return DT_OK;
}

#define CUT(r, kind)                                                                               \
    do {                                                                                           \
        if ((r)->finding) {                                                                        \
            int c_ = cut_here((r), (kind));                                                        \
            if (c_ != DT_OK) return c_;                                                            \
        }                                                                                          \
    } while (0)

#define NEED(r, n, tag, what)                                                                      \
    if ((r)->len - (r)->pos < (size_t)(n)) return corrupt((r), (r)->pos, (tag), (what))

static int rd_value(rd *r, dt_value *out, int depth);

static int rd_text(rd *r, uint8_t tag, dt_value *out) {
    size_t start = r->pos, n = 0;
    for (;;) {
        CUT(r, CUT_TEXT);
        if (!r->finding && r->pos < r->len) {
            const uint8_t *z = memchr(r->p + r->pos, 0, r->len - r->pos);
            size_t run = z ? (size_t)(z - (r->p + r->pos)) : r->len - r->pos;
            n += run;
            r->pos += run;
        }
        NEED(r, 1, tag, "unterminated text");
        if (r->p[r->pos] != 0x00) {
            r->pos++;
            n++;
            continue;
        }
        NEED(r, 2, tag, "unterminated text");
        uint8_t c2 = r->p[r->pos + 1];
        if (c2 == 0x00) break;
        if (c2 == 0x01) {
            r->marker_at = r->pos;
            r->pos += 2;
            return RD_TRUNC;
        }
        if (c2 != 0xFF) return corrupt(r, r->pos, tag, "invalid escape after 0x00");
        r->pos += 2;
        n++;
    }
    size_t end = r->pos;
    r->pos += 2;
    if (!out) return DT_OK;
    char *s = rd_alloc(r, n + 1);
    if (!s) return dt__seterr(NULL, DT_NOMEM, "codec: out of memory for %zu bytes of text", n);
    size_t k = 0;
    if (end - start == n) { /* no escapes: one copy */
        if (n) memcpy(s, r->p + start, n);
        k = n;
    } else {
        for (size_t i = start; i < end; i++) {
            s[k++] = (char)r->p[i];
            if (r->p[i] == 0x00) i++; /* skip the 0xFF of the escape */
        }
    }
    s[k] = '\0';
    out->type = (dt_type)(tag - DL_CODEC_TAG_BASE);
    out->u.s.ptr = s;
    out->u.s.len = n;
    return DT_OK;
}

/* Reads an order-preserving integer whose bytes were xor'ed with mask. */
static int rd_ov(rd *r, uint8_t tag, uint8_t mask, int64_t *x) {
    NEED(r, 1, tag, "missing integer");
    size_t at = r->pos;
    uint8_t h = r->p[r->pos++] ^ mask;
    int neg;
    int n;
    if (h >= 0x80 && h <= 0x88) {
        neg = 0;
        n = h - 0x80;
    } else if (h >= 0x77 && h <= 0x7F) {
        neg = 1;
        n = 0x7F - h;
    } else {
        return corrupt(r, at, tag, "invalid integer header");
    }
    NEED(r, n, tag, "truncated integer");
    uint64_t u = 0;
    for (int k = 0; k < n; k++) u = (u << 8) | (uint8_t)(r->p[r->pos + (size_t)k] ^ mask);
    if (n && (uint8_t)(r->p[r->pos] ^ mask) == (neg ? 0xFF : 0x00))
        return corrupt(r, at, tag, "non-minimal integer");
    r->pos += (size_t)n;
    if (neg && n < 8) u |= ~0ULL << (8 * n);
    if (!neg && n == 8 && (u >> 63)) return corrupt(r, at, tag, "integer out of range");
    if (neg && n == 8 && !(u >> 63)) return corrupt(r, at, tag, "integer out of range");
    *x = (int64_t)u;
    if (*x > DL_CODEC_DEC_LIMIT || *x < -DL_CODEC_DEC_LIMIT)
        return corrupt(r, at, tag, "decimal exponent or scale out of range");
    return DT_OK;
}

static int rd_decimal(rd *r, uint8_t tag, dt_value *out) {
    dt_type t = (dt_type)(tag - DL_CODEC_TAG_BASE);
    int rc = DT_OK;
    dt_buf digits = DT_BUF_INIT, text = DT_BUF_INIT;
    int64_t exp = 0, scale = 0;
    NEED(r, 1, tag, "missing sign");
    size_t at = r->pos;
    uint8_t sign = r->p[r->pos++];
    size_t k = 0; /* significant digits */
    if (sign == DL_CODEC_DEC_NEG || sign == DL_CODEC_DEC_POS) {
        uint8_t mask = sign == DL_CODEC_DEC_NEG ? 0xFF : 0x00;
        if ((rc = rd_ov(r, tag, mask, &exp)) != DT_OK) goto done;
        int last = 0;
        for (;;) {
            if (r->finding && (rc = cut_here(r, mask ? CUT_DEC_NEG : CUT_DEC_POS)) != DT_OK)
                goto done;
            if (r->len - r->pos < 1) {
                rc = corrupt(r, r->pos, tag, "unterminated mantissa");
                goto done;
            }
            size_t bat = r->pos;
            uint8_t b = r->p[r->pos++] ^ mask;
            if (b == 0xFF) {
                r->marker_at = bat;
                rc = RD_TRUNC;
                goto done;
            }
            int hi = b >> 4, lo = b & 15;
            if (hi == 0) {
                if (b != 0 || k == 0) {
                    rc = corrupt(r, bat, tag, "invalid mantissa byte");
                    goto done;
                }
                break;
            }
            if (hi > 10 || lo > 10 || (k == 0 && hi == 1)) {
                rc = corrupt(r, bat, tag, "invalid mantissa byte");
                goto done;
            }
            if (out && dt_buf_putc(&digits, (uint8_t)('0' + hi - 1)) != DT_OK) goto nomem;
            k++;
            last = hi;
            if (lo == 0) break;
            if (out && dt_buf_putc(&digits, (uint8_t)('0' + lo - 1)) != DT_OK) goto nomem;
            k++;
            last = lo;
        }
        if (last == 1) {
            rc = corrupt(r, r->pos - 1, tag, "mantissa ends in a zero digit");
            goto done;
        }
    } else if (sign != DL_CODEC_DEC_ZERO) {
        rc = corrupt(r, at, tag, "invalid sign byte");
        goto done;
    }
    if (t == DT_BIGDEC && (rc = rd_ov(r, tag, 0, &scale)) != DT_OK) goto done;
    /* a negative scale prints as an exponent, which the text form limits */
    if (scale < -DL_DECIMAL_MAX_EXPONENT) {
        rc = corrupt(r, at, tag, "scale below the bigdec range");
        goto done;
    }
    /* digits of the value, trailing zeros included */
    int64_t ndigits = k ? exp + 1 + scale : 1;
    if (ndigits < (int64_t)(k ? k : 1)) {
        rc = corrupt(r, at, tag, "exponent and scale inconsistent with the mantissa");
        goto done;
    }
    if (!out) goto done;
    if (!k) {
        if (dt_buf_putc(&digits, '0') != DT_OK) goto nomem;
    } else {
        /* up to DL_CODEC_DEC_LIMIT trailing zeros: one fill, not a call per digit */
        size_t zeros = (size_t)(ndigits - (int64_t)k);
        if (dt_buf_reserve(&digits, zeros) != DT_OK) goto nomem;
        memset(digits.p + digits.len, '0', zeros);
        digits.len += zeros;
    }
    dl_decimal d;
    d.neg = sign == DL_CODEC_DEC_NEG;
    d.digits = (char *)digits.p;
    d.ndigits = digits.len;
    d.scale = scale;
    if (dl_decimal_format(&d, t == DT_BIGINT, &text) != DT_OK || dt_buf_terminate(&text) != DT_OK)
        goto nomem;
    if (r->al) { /* the text goes where the allocator says */
        char *s = r->al->alloc(r->al->ctx, text.len + 1);
        if (!s) goto nomem;
        memcpy(s, text.p, text.len + 1);
        out->u.s.ptr = s;
    } else {
        out->u.s.ptr = (char *)text.p;
        text.p = NULL;
    }
    out->type = t;
    out->u.s.len = text.len;
    goto done;
nomem:
    rc = dt__seterr(NULL, DT_NOMEM, "codec: out of memory decoding a %s", dt_type_name(t));
done:
    dt_buf_release(&digits);
    dt_buf_release(&text);
    return rc;
}

static int rd_tuple(rd *r, uint8_t tag, dt_value *out, int depth) {
    dt_value *items = NULL;
    size_t n = 0, cap = 0;
    int rc = DT_OK;
    if (depth >= DL_CODEC_MAX_DEPTH) return corrupt(r, r->pos - 1, tag, "tuples nested too deep");
    for (;;) {
        if (r->finding && (rc = cut_here(r, CUT_ELEM)) != DT_OK) goto fail;
        if (r->len - r->pos < 1) {
            rc = corrupt(r, r->pos, tag, "unterminated tuple");
            goto fail;
        }
        uint8_t c = r->p[r->pos];
        if (c == DL_CODEC_END) {
            r->pos++;
            break;
        }
        if (c == DL_CODEC_TRUNC) {
            r->marker_at = r->pos++;
            rc = RD_TRUNC;
            goto fail;
        }
        if (out && n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            dt_value *ni;
            if (r->al) { /* no realloc: a new array, the old one stays behind */
                ni = r->al->alloc(r->al->ctx, ncap * sizeof *items);
                if (ni && n) memcpy(ni, items, n * sizeof *items);
            } else {
                ni = dt__realloc(items, ncap * sizeof *items);
            }
            if (!ni) {
                rc = dt__seterr(NULL, DT_NOMEM, "codec: out of memory decoding a tuple");
                goto fail;
            }
            items = ni;
            cap = ncap;
        }
        if ((rc = rd_value(r, out ? &items[n] : NULL, depth + 1)) != DT_OK) goto fail;
        n++;
    }
    if (out) {
        if (!n) {
            if (!r->al) dt__free(items);
            items = NULL;
        }
        out->type = DT_TUPLE;
        out->u.seq.items = items;
        out->u.seq.n = n;
    }
    return DT_OK;
fail:
    if (r->al) return rc; /* the allocator's owner frees its memory */
    for (size_t i = 0; items && i < n; i++) dt_value_free(&items[i]);
    dt__free(items);
    return rc;
}

/* Reads one value at r->pos into *out (NULL: validate only).  On any
 * result but DT_OK *out is left nil. */
static int rd_value(rd *r, dt_value *out, int depth) {
    if (out) dt_value_nil(out);
    NEED(r, 1, 0, "missing value");
    size_t at = r->pos;
    uint8_t tag = r->p[r->pos];
    if (tag < DL_CODEC_TAG_MIN || tag > DL_CODEC_TAG_MAX)
        return dt__seterr(NULL, DT_CORRUPT, "codec: invalid tag 0x%02x at byte %zu", tag, at);
    dt_type t = (dt_type)(tag - DL_CODEC_TAG_BASE);
    r->pos++;
    switch (t) {
    case DT_NIL:
        return DT_OK;
    case DT_BOOL: {
        NEED(r, 1, tag, "truncated input");
        uint8_t b = r->p[r->pos++];
        if (b > 1) return corrupt(r, at + 1, tag, "invalid boolean byte");
        if (out) dt_value_bool(b, out);
        return DT_OK;
    }
    case DT_LONG:
    case DT_INSTANT:
    case DT_REF:
        NEED(r, 8, tag, "truncated input");
        if (out) {
            out->type = t;
            out->u.i = dl_codec_get_int(r->p + at);
        }
        r->pos += 8;
        return DT_OK;
    case DT_DOUBLE: {
        NEED(r, 8, tag, "truncated input");
        uint64_t k = get_be(r->p + r->pos, 8);
        double d = dl_double_from_key(k);
        if (isnan(d) && k != dl_double_key(NAN))
            return corrupt(r, at + 1, tag, "non-canonical NaN");
        if (out) dt_value_double(d, out);
        r->pos += 8;
        return DT_OK;
    }
    case DT_FLOAT: {
        NEED(r, 4, tag, "truncated input");
        uint32_t k = (uint32_t)get_be(r->p + r->pos, 4);
        float f = dl_float_from_key(k);
        if (isnan(f) && k != dl_float_key(NAN)) return corrupt(r, at + 1, tag, "non-canonical NaN");
        if (out) dt_value_float(f, out);
        r->pos += 4;
        return DT_OK;
    }
    case DT_UUID:
        NEED(r, 16, tag, "truncated input");
        if (out) dt_value_uuid(r->p + r->pos, out);
        r->pos += 16;
        return DT_OK;
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BYTES:
        return rd_text(r, tag, out);
    case DT_BIGINT:
    case DT_BIGDEC:
        return rd_decimal(r, tag, out);
    case DT_TUPLE:
        return rd_tuple(r, tag, out, depth);
    default:
        return corrupt(r, at, tag, "invalid tag");
    }
}

/* Reads a whole value or truncated key; fills *info when not NULL. */
static int rd_top(rd *r, dt_value *out, dl_codec_info *info) {
    int rc = rd_value(r, out, 0);
    if (info) {
        memset(info, 0, sizeof *info);
        if (r->len) info->type = (dt_type)(r->p[0] - DL_CODEC_TAG_BASE);
    }
    if (rc == RD_TRUNC) {
        if (r->len - r->pos < DL_CODEC_HASH_LEN)
            return corrupt(r, r->pos, r->p[0], "truncated key without its hash");
        if (info) {
            info->truncated = 1;
            info->prefix_len = r->marker_at;
            info->hash = get_be(r->p + r->pos, DL_CODEC_HASH_LEN);
        }
        r->pos += DL_CODEC_HASH_LEN;
        if (info) info->len = r->pos;
        return DT_NOTFOUND;
    }
    if (rc == DT_OK && info) info->len = r->pos;
    return rc;
}

int dl_codec_decode(const uint8_t *bytes, size_t len, dt_value *out, size_t *consumed) {
    return dl_codec_decode_in(bytes, len, NULL, out, consumed);
}

int dl_codec_decode_in(const uint8_t *bytes, size_t len, const dl_alloc *al, dt_value *out,
                       size_t *consumed) {
    /* fast paths for the commonest values: an id or number, and a text
     * without an escape (its first 0x00 is the terminator's) */
    uint8_t tag = len ? bytes[0] : 0;
    if (len >= 9 && (tag == DL_CODEC_TAG(DT_LONG) || tag == DL_CODEC_TAG(DT_REF) ||
                     tag == DL_CODEC_TAG(DT_INSTANT))) {
        dt_value_nil(out);
        out->type = (dt_type)(tag - DL_CODEC_TAG_BASE);
        out->u.i = dl_codec_get_int(bytes);
        *consumed = 9;
        return DT_OK;
    }
    if (len >= 3 && (tag == DL_CODEC_TAG(DT_STRING) || tag == DL_CODEC_TAG(DT_KEYWORD) ||
                     tag == DL_CODEC_TAG(DT_SYMBOL) || tag == DL_CODEC_TAG(DT_BYTES))) {
        const uint8_t *z = memchr(bytes + 1, 0, len - 1);
        if (z && (size_t)(z - bytes) + 1 < len && z[1] == 0x00) {
            size_t n = (size_t)(z - bytes) - 1;
            char *t = al ? al->alloc(al->ctx, n + 1) : dt__malloc(n + 1);
            dt_value_nil(out);
            *consumed = 0;
            if (!t)
                return dt__seterr(NULL, DT_NOMEM, "codec: out of memory for %zu bytes of text", n);
            if (n) memcpy(t, bytes + 1, n);
            t[n] = '\0';
            out->type = (dt_type)(tag - DL_CODEC_TAG_BASE);
            out->u.s.ptr = t;
            out->u.s.len = n;
            *consumed = n + 3;
            return DT_OK;
        }
    }
    rd r = {bytes, len, 0, 0, 0, 0, CUT_NONE, 0, al};
    *consumed = 0;
    int rc = rd_top(&r, out, NULL);
    if (rc == DT_OK || rc == DT_NOTFOUND) *consumed = r.pos;
    if (rc == DT_NOTFOUND)
        dt__seterr(NULL, DT_NOTFOUND,
                   "codec: truncated key of a %s (%zu bytes); the full value is stored apart",
                   tag_name(bytes[0]), r.pos);
    return rc;
}

int dl_codec_scan(const uint8_t *bytes, size_t len, dl_codec_info *out) {
    rd r = {bytes, len, 0, 0, 0, 0, CUT_NONE, 0, NULL};
    int rc = rd_top(&r, NULL, out);
    if (rc == DT_NOTFOUND) return DT_OK;
    if (rc != DT_OK) memset(out, 0, sizeof *out);
    return rc;
}

int dl_codec_is_truncated(const uint8_t *bytes, size_t len) {
    rd r = {bytes, len, 0, 0, 0, 0, CUT_NONE, 0, NULL};
    if (!bytes || !len) return 0;
    /* only the top-level tag decides whether a marker can follow, so any
     * error here just means "not a truncated key" */
    return rd_top(&r, NULL, NULL) == DT_NOTFOUND;
}

int dl_codec_encode_key(const dt_value *v, size_t max_len, dt_buf *out, int *truncated) {
    *truncated = 0;
    if (max_len < DL_CODEC_MIN_KEY)
        return dt__seterr(NULL, DT_MISUSE, "codec: key limit %zu below the minimum %d", max_len,
                          DL_CODEC_MIN_KEY);
    size_t start = out->len;
    int rc = dl_codec_encode(v, out);
    if (rc != DT_OK) return rc;
    size_t full = out->len - start;
    if (full <= max_len) return DT_OK;
    uint8_t *p = out->p + start;
    uint64_t h = dl_codec_hash(p, full);
    rd r = {p, full, 0, 1, max_len, 0, CUT_NONE, 0, NULL};
    rc = rd_value(&r, NULL, 0);
    if ((rc != DT_OK && rc != RD_STOP) || r.cut_kind == CUT_NONE) {
        out->len = start;
        return dt__seterr(NULL, DT_INTERNAL, "codec: no cut point in a %zu-byte %s encoding", full,
                          dt_type_name(v->type));
    }
    uint8_t *q = p + r.cut;
    switch (r.cut_kind) {
    case CUT_ELEM:
        *q++ = DL_CODEC_TRUNC;
        break;
    case CUT_TEXT:
        *q++ = 0x00;
        *q++ = DL_CODEC_TRUNC;
        break;
    case CUT_DEC_POS:
        *q++ = 0xFF;
        break;
    default:
        *q++ = 0x00;
        break; /* CUT_DEC_NEG */
    }
    put_be(q, h, DL_CODEC_HASH_LEN);
    q += DL_CODEC_HASH_LEN;
    out->len = (size_t)(q - out->p);
    *truncated = 1;
    return DT_OK;
}

/* }====== */

/* {====== Public API ====== */

int dt_value_encode(const dt_value *v, void **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!v || !out || !out_len)
        return dt__seterr(NULL, DT_MISUSE, "dt_value_encode: NULL argument");
    dt_buf b = DT_BUF_INIT;
    int rc = dl_codec_encode(v, &b);
    if (rc != DT_OK) {
        dt_buf_release(&b);
        return rc;
    }
    *out = b.p;
    *out_len = b.len;
    return DT_OK;
}

int dt_value_encode_to(const dt_value *v, void *buf, size_t cap, size_t *out_len) {
    if (out_len) *out_len = 0;
    if (!v || !out_len || (!buf && cap))
        return dt__seterr(NULL, DT_MISUSE, "dt_value_encode_to: NULL argument");
    size_t n = 0;
    int rc = enc_size(v, 0, &n);
    if (rc != DT_OK) return rc;
    *out_len = n;
    if (n > cap)
        return dt__seterr(NULL, DT_LIMIT,
                          "dt_value_encode_to: the %s needs %zu bytes, buffer has %zu",
                          dt_type_name(v->type), n, cap);
    enc_write(v, buf);
    return DT_OK;
}

int dt_value_decode(const void *bytes, size_t len, dt_value *out, size_t *consumed) {
    size_t used = 0;
    if (consumed) *consumed = 0;
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_value_decode: NULL out");
    dt_value_nil(out);
    if (!bytes && len) return dt__seterr(NULL, DT_MISUSE, "dt_value_decode: NULL bytes");
    int rc = dl_codec_decode(bytes, len, out, &used);
    if (consumed) *consumed = used;
    return rc;
}

/* }====== */
