/*
 * msgpack.c -- the msgpack encoding of dt_value trees (datalog layer), the
 * wire format of the bindings.  Encoding uses msgpack-c's packer; decoding
 * is a bounds-checked reader of our own, because its input is untrusted
 * and every allocation it makes must be bounded by the input's size.
 */
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "edn.h"

/* {====== Encoder ====== */

static int buf_write(void *data, const char *p, size_t n) {
    return dt_buf_append((dt_buf *)data, p, n) == DT_OK ? 0 : -1;
}

typedef struct enc {
    msgpack_packer pk;
    dt_buf *b;
} enc;

#define PK(call)                                                                                   \
    do {                                                                                           \
        if ((call) != 0) return DT_NOMEM;                                                          \
    } while (0)

/* ext header for a payload of n bytes, the same choice msgpack-c makes */
static size_t ext_header(uint8_t h[6], int8_t type, size_t n) {
    static const uint8_t fix[17] = {[1] = 0xd4, [2] = 0xd5, [4] = 0xd6, [8] = 0xd7, [16] = 0xd8};
    if (n <= 16 && fix[n]) {
        h[0] = fix[n];
        h[1] = (uint8_t)type;
        return 2;
    }
    if (n <= 0xff) {
        h[0] = 0xc7;
        h[1] = (uint8_t)n;
        h[2] = (uint8_t)type;
        return 3;
    }
    if (n <= 0xffff) {
        h[0] = 0xc8;
        h[1] = (uint8_t)(n >> 8);
        h[2] = (uint8_t)n;
        h[3] = (uint8_t)type;
        return 4;
    }
    h[0] = 0xc9;
    h[1] = (uint8_t)(n >> 24);
    h[2] = (uint8_t)(n >> 16);
    h[3] = (uint8_t)(n >> 8);
    h[4] = (uint8_t)n;
    h[5] = (uint8_t)type;
    return 6;
}

static int put_ext(enc *e, int8_t type, const void *payload, size_t n) {
    uint8_t h[6];
    if (n > 0xffffffffu)
        return dt__seterr(NULL, DT_LIMIT, "msgpack: value of %zu bytes is too large", n);
    size_t hl = ext_header(h, type, n);
    int rc = dt_buf_append(e->b, h, hl);
    if (rc == DT_OK) rc = dt_buf_append(e->b, payload, n);
    return rc;
}

static void be64(uint8_t *p, uint64_t x) {
    for (int i = 7; i >= 0; i--, x >>= 8) p[i] = (uint8_t)x;
}

static int encode_value(enc *e, const dt_value *v, int depth);

static int encode_items(enc *e, const dt_value *v, int depth) {
    for (size_t i = 0; i < v->u.seq.n; i++) {
        int rc = encode_value(e, &v->u.seq.items[i], depth + 1);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/*
 * An ext whose payload is itself msgpack: the payload is written after
 * room for the largest header, then moved down next to the real header.
 */
static int encode_wrapped(enc *e, const dt_value *v, int8_t type, int depth) {
    dt_buf *b = e->b;
    size_t hdr_at = b->len;
    uint8_t h[6] = {0};
    int rc = dt_buf_append(b, h, sizeof h);
    if (rc != DT_OK) return rc;
    size_t body_at = b->len;
    if (v->type == DT_TAGGED) {
        const dt_value *it = v->u.seq.items;
        if (v->u.seq.n != 2 || it[0].type != DT_SYMBOL)
            return dt__seterr(NULL, DT_INVALID,
                              "msgpack: a tagged value needs a symbol tag and a value");
        PK(msgpack_pack_array(&e->pk, 2));
        PK(msgpack_pack_str(&e->pk, it[0].u.s.len));
        PK(msgpack_pack_str_body(&e->pk, it[0].u.s.ptr, it[0].u.s.len));
        if ((rc = encode_value(e, &it[1], depth + 1)) != DT_OK) return rc;
    } else {
        if (v->u.seq.n > 0xffffffffu) return dt__seterr(NULL, DT_LIMIT, "msgpack: too many items");
        PK(msgpack_pack_array(&e->pk, v->u.seq.n));
        if ((rc = encode_items(e, v, depth)) != DT_OK) return rc;
    }
    size_t plen = b->len - body_at;
    if (plen > 0xffffffffu)
        return dt__seterr(NULL, DT_LIMIT, "msgpack: value of %zu bytes is too large", plen);
    size_t hl = ext_header(h, type, plen);
    memmove(b->p + hdr_at + hl, b->p + body_at, plen);
    memcpy(b->p + hdr_at, h, hl);
    b->len = hdr_at + hl + plen;
    return DT_OK;
}

static int encode_value(enc *e, const dt_value *v, int depth) {
    msgpack_packer *pk = &e->pk;
    uint8_t tmp[16];
    switch (v->type) {
    case DT_NIL:
        PK(msgpack_pack_nil(pk));
        return DT_OK;
    case DT_BOOL:
        PK(v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
        return DT_OK;
    case DT_LONG:
        PK(msgpack_pack_int64(pk, v->u.i));
        return DT_OK;
    case DT_DOUBLE:
        PK(msgpack_pack_double(pk, v->u.d));
        return DT_OK;
    case DT_FLOAT:
        PK(msgpack_pack_float(pk, v->u.f));
        return DT_OK;
    case DT_STRING:
        PK(msgpack_pack_str(pk, v->u.s.len));
        PK(msgpack_pack_str_body(pk, v->u.s.ptr, v->u.s.len));
        return DT_OK;
    case DT_BYTES:
        PK(msgpack_pack_bin(pk, v->u.s.len));
        PK(msgpack_pack_bin_body(pk, v->u.s.ptr, v->u.s.len));
        return DT_OK;
    case DT_KEYWORD:
        return put_ext(e, DT_MSGPACK_EXT_KEYWORD, v->u.s.ptr, v->u.s.len);
    case DT_SYMBOL:
        return put_ext(e, DT_MSGPACK_EXT_SYMBOL, v->u.s.ptr, v->u.s.len);
    case DT_BIGINT:
        return put_ext(e, DT_MSGPACK_EXT_BIGINT, v->u.s.ptr, v->u.s.len);
    case DT_BIGDEC:
        return put_ext(e, DT_MSGPACK_EXT_BIGDEC, v->u.s.ptr, v->u.s.len);
    case DT_UUID:
        return put_ext(e, DT_MSGPACK_EXT_UUID, v->u.uuid, 16);
    case DT_INSTANT:
    case DT_REF:
        be64(tmp, (uint64_t)v->u.i);
        return put_ext(e, v->type == DT_INSTANT ? DT_MSGPACK_EXT_INSTANT : DT_MSGPACK_EXT_REF, tmp,
                       8);
    case DT_CHAR:
        tmp[0] = (uint8_t)(v->u.c >> 24);
        tmp[1] = (uint8_t)(v->u.c >> 16);
        tmp[2] = (uint8_t)(v->u.c >> 8);
        tmp[3] = (uint8_t)v->u.c;
        return put_ext(e, DT_MSGPACK_EXT_CHAR, tmp, 4);
    case DT_VECTOR:
    case DT_MAP:
    case DT_LIST:
    case DT_SET:
    case DT_TUPLE:
    case DT_TAGGED:
        if (depth >= DT_EDN_DEPTH_MAX)
            return dt__seterr(NULL, DT_LIMIT, "msgpack: value nested deeper than %d",
                              DT_EDN_DEPTH_MAX);
        if (v->u.seq.n > 0xffffffffu) return dt__seterr(NULL, DT_LIMIT, "msgpack: too many items");
        if (v->type == DT_VECTOR) {
            PK(msgpack_pack_array(pk, v->u.seq.n));
            return encode_items(e, v, depth);
        }
        if (v->type == DT_MAP) {
            if (v->u.seq.n % 2)
                return dt__seterr(NULL, DT_INVALID,
                                  "msgpack: map value with an odd number of items (%zu)",
                                  v->u.seq.n);
            PK(msgpack_pack_map(pk, v->u.seq.n / 2));
            return encode_items(e, v, depth);
        }
        return encode_wrapped(e, v,
                              v->type == DT_LIST    ? DT_MSGPACK_EXT_LIST
                              : v->type == DT_SET   ? DT_MSGPACK_EXT_SET
                              : v->type == DT_TUPLE ? DT_MSGPACK_EXT_TUPLE
                                                    : DT_MSGPACK_EXT_TAGGED,
                              depth);
    }
    return dt__seterr(NULL, DT_INVALID, "msgpack: unknown value type %d", (int)v->type);
}

int dl_msgpack_append(const dt_value *v, dt_buf *b) {
    enc e;
    e.b = b;
    msgpack_packer_init(&e.pk, b, buf_write);
    int rc = encode_value(&e, v, 0);
    if (rc == DT_NOMEM) rc = dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    return rc;
}

int dl_msgpack_append_array(size_t n, dt_buf *b) {
    if (n > 0xffffffffu)
        return dt__seterr(NULL, DT_LIMIT, "msgpack: array of %zu items is too long", n);
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    if (msgpack_pack_array(&pk, n) != 0)
        return dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    return DT_OK;
}

int dt_msgpack_encode(const dt_value *v, void **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!v || !out || !out_len)
        return dt__seterr(NULL, DT_MISUSE, "dt_msgpack_encode: NULL argument");
    dt_buf b = DT_BUF_INIT;
    enc e;
    e.b = &b;
    msgpack_packer_init(&e.pk, &b, buf_write);
    int rc = encode_value(&e, v, 0);
    if (rc == DT_NOMEM) rc = dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    if (rc != DT_OK) {
        dt_buf_release(&b);
        return rc;
    }
    if (!b.p && (rc = dt_buf_reserve(&b, 1)) != DT_OK) /* never hand out NULL on success */
        return dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    *out = b.p;
    *out_len = b.len;
    return DT_OK;
}

/* }====== */

/* {====== Decoder ====== */

typedef struct dec {
    const uint8_t *p;
    size_t len;
    size_t pos;
    size_t base; /* offset of p in the caller's input, for messages */
} dec;

static int truncated(const dec *d, size_t need) {
    return dt__seterr(NULL, DT_CORRUPT,
                      "msgpack: truncated input at byte %zu (%zu more bytes needed)",
                      d->base + d->pos, need - (d->len - d->pos));
}

#define NEED(d, n)                                                                                 \
    do {                                                                                           \
        if ((d)->len - (d)->pos < (size_t)(n)) return truncated((d), (size_t)(n));                 \
    } while (0)

static uint64_t rd_be(const uint8_t *p, int n) {
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x = x << 8 | p[i];
    return x;
}

static int decode_value(dec *d, dt_value *out, int depth);

static int text_value(dec *d, dt_type type, size_t n, dt_value *out) {
    NEED(d, n);
    if (type == DT_STRING || type == DT_KEYWORD || type == DT_SYMBOL) {
        size_t bad = dl_utf8_bad_at((const char *)d->p + d->pos, n);
        if (bad < n)
            return dt__seterr(NULL, DT_CORRUPT,
                              "msgpack: malformed UTF-8 (byte 0x%02X) in a %s at byte %zu",
                              d->p[d->pos + bad], dt_type_name(type), d->base + d->pos + bad);
    }
    int rc = dt_value_text(type, (const char *)d->p + d->pos, n, out);
    if (rc == DT_NOMEM) return dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    if (rc != DT_OK)
        return dt__seterr(NULL, DT_CORRUPT, "msgpack: invalid %s text at byte %zu",
                          dt_type_name(type), d->base + d->pos);
    d->pos += n;
    return DT_OK;
}

static int check_unique(dec *d, const dt_value *v, size_t at) {
    int found = 0;
    size_t dup = 0;
    size_t stride = v->type == DT_MAP ? 2 : 1;
    if (dl_edn_find_duplicate(v->u.seq.items, v->u.seq.n / stride, stride, &found, &dup) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    if (found)
        return dt__seterr(NULL, DT_CORRUPT, "msgpack: duplicate %s in the %s at byte %zu",
                          v->type == DT_MAP ? "key" : "element", dt_type_name(v->type),
                          d->base + at);
    return DT_OK;
}

/* n items (2n for a map) of a compound starting at byte `at`. */
static int decode_items(dec *d, dt_type type, uint64_t n, size_t at, int depth, dt_value *out) {
    if (depth >= DT_EDN_DEPTH_MAX)
        return dt__seterr(NULL, DT_LIMIT, "msgpack: value nested deeper than %d at byte %zu",
                          DT_EDN_DEPTH_MAX, d->base + at);
    uint64_t count = type == DT_MAP ? 2 * n : n;
    /* every item takes at least one byte: this bounds the allocation */
    if (count > d->len - d->pos) return truncated(d, (size_t)count);
    dt_value v;
    if (dt_value_seq(type, (size_t)count, &v) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
    for (size_t i = 0; i < count; i++) {
        int rc = decode_value(d, &v.u.seq.items[i], depth + 1);
        if (rc != DT_OK) {
            dt_value_free(&v);
            return rc;
        }
    }
    if (type == DT_MAP) {
        int rc = check_unique(d, &v, at);
        if (rc != DT_OK) {
            dt_value_free(&v);
            return rc;
        }
    }
    *out = v;
    return DT_OK;
}

/* The msgpack timestamp extension (type -1), read for interoperability. */
static int decode_timestamp(dec *d, size_t n, size_t at, dt_value *out) {
    const uint8_t *p = d->p + d->pos;
    int64_t sec;
    uint32_t nsec;
    if (n == 4) {
        sec = (int64_t)rd_be(p, 4);
        nsec = 0;
    } else if (n == 8) {
        uint64_t x = rd_be(p, 8);
        nsec = (uint32_t)(x >> 34);
        sec = (int64_t)(x & 0x3ffffffffULL);
    } else if (n == 12) {
        nsec = (uint32_t)rd_be(p, 4);
        sec = (int64_t)rd_be(p + 4, 8);
    } else
        return dt__seterr(NULL, DT_CORRUPT, "msgpack: timestamp of %zu bytes at byte %zu", n,
                          d->base + at);
    if (nsec >= 1000000000u || sec > INT64_MAX / 1000 - 1 || sec < INT64_MIN / 1000 + 1)
        return dt__seterr(NULL, DT_CORRUPT, "msgpack: timestamp out of range at byte %zu",
                          d->base + at);
    dt_value_instant(sec * 1000 + nsec / 1000000, out);
    d->pos += n;
    return DT_OK;
}

static int decode_ext(dec *d, int8_t type, size_t n, size_t at, int depth, dt_value *out) {
    NEED(d, n);
    const uint8_t *p = d->p + d->pos;
    switch (type) {
    case DT_MSGPACK_EXT_KEYWORD:
        return text_value(d, DT_KEYWORD, n, out);
    case DT_MSGPACK_EXT_SYMBOL:
        return text_value(d, DT_SYMBOL, n, out);
    case DT_MSGPACK_EXT_BIGINT:
        return text_value(d, DT_BIGINT, n, out);
    case DT_MSGPACK_EXT_BIGDEC:
        return text_value(d, DT_BIGDEC, n, out);
    case DT_MSGPACK_EXT_UUID:
    case DT_MSGPACK_EXT_INSTANT:
    case DT_MSGPACK_EXT_REF:
    case DT_MSGPACK_EXT_CHAR: {
        size_t want = type == DT_MSGPACK_EXT_UUID ? 16 : type == DT_MSGPACK_EXT_CHAR ? 4 : 8;
        if (n != want)
            return dt__seterr(NULL, DT_CORRUPT,
                              "msgpack: ext type %d needs %zu bytes, has %zu at byte %zu", type,
                              want, n, d->base + at);
        if (type == DT_MSGPACK_EXT_UUID)
            dt_value_uuid(p, out);
        else if (type == DT_MSGPACK_EXT_INSTANT)
            dt_value_instant((int64_t)rd_be(p, 8), out);
        else if (type == DT_MSGPACK_EXT_REF)
            dt_value_ref((int64_t)rd_be(p, 8), out);
        else {
            uint32_t c = (uint32_t)rd_be(p, 4);
            if (c > 0x10FFFF)
                return dt__seterr(NULL, DT_CORRUPT,
                                  "msgpack: character U+%X out of range at byte %zu", (unsigned)c,
                                  d->base + at);
            dt_value_char(c, out);
        }
        d->pos += n;
        return DT_OK;
    }
    case DT_MSGPACK_EXT_LIST:
    case DT_MSGPACK_EXT_SET:
    case DT_MSGPACK_EXT_TUPLE:
    case DT_MSGPACK_EXT_TAGGED: {
        /* the payload is one msgpack array, exactly n bytes long */
        dec sub = {p, n, 0, d->base + d->pos};
        if (n == 0 || !((p[0] & 0xf0) == 0x90 || p[0] == 0xdc || p[0] == 0xdd))
            return dt__seterr(NULL, DT_CORRUPT,
                              "msgpack: ext type %d must hold an array, at byte %zu", type,
                              d->base + at);
        dt_value v;
        int rc = decode_value(&sub, &v, depth);
        if (rc != DT_OK) return rc;
        if (sub.pos != n) {
            dt_value_free(&v);
            return dt__seterr(NULL, DT_CORRUPT,
                              "msgpack: %zu stray bytes in ext type %d at byte %zu", n - sub.pos,
                              type, d->base + at);
        }
        if (type == DT_MSGPACK_EXT_TAGGED) {
            if (v.u.seq.n != 2 || v.u.seq.items[0].type != DT_STRING) {
                dt_value_free(&v);
                return dt__seterr(NULL, DT_CORRUPT,
                                  "msgpack: a tagged value must be [tag-string value], at byte %zu",
                                  d->base + at);
            }
            v.u.seq.items[0].type = DT_SYMBOL; /* same representation */
            v.type = DT_TAGGED;
        } else {
            v.type = type == DT_MSGPACK_EXT_LIST  ? DT_LIST
                     : type == DT_MSGPACK_EXT_SET ? DT_SET
                                                  : DT_TUPLE;
            if (v.type == DT_SET && (rc = check_unique(d, &v, at)) != DT_OK) {
                dt_value_free(&v);
                return rc;
            }
        }
        *out = v;
        d->pos += n;
        return DT_OK;
    }
    case -1:
        return decode_timestamp(d, n, at, out);
    default:
        return dt__seterr(NULL, DT_CORRUPT, "msgpack: unknown ext type %d at byte %zu", type,
                          d->base + at);
    }
}

static int decode_value(dec *d, dt_value *out, int depth) {
    dt_value_nil(out);
    size_t at = d->pos;
    NEED(d, 1);
    uint8_t c = d->p[d->pos++];
    const uint8_t *p = d->p + d->pos;
    if (c <= 0x7f) {
        dt_value_long(c, out);
        return DT_OK;
    }
    if (c >= 0xe0) {
        dt_value_long((int8_t)c, out);
        return DT_OK;
    }
    if ((c & 0xf0) == 0x80) return decode_items(d, DT_MAP, c & 0x0f, at, depth, out);
    if ((c & 0xf0) == 0x90) return decode_items(d, DT_VECTOR, c & 0x0f, at, depth, out);
    if ((c & 0xe0) == 0xa0) return text_value(d, DT_STRING, c & 0x1f, out);
    switch (c) {
    case 0xc0:
        return DT_OK;
    case 0xc2:
        dt_value_bool(0, out);
        return DT_OK;
    case 0xc3:
        dt_value_bool(1, out);
        return DT_OK;
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0xd9:
    case 0xda:
    case 0xdb: {
        int w = (c == 0xc4 || c == 0xd9) ? 1 : (c == 0xc5 || c == 0xda) ? 2 : 4;
        NEED(d, w);
        size_t n = (size_t)rd_be(p, w);
        d->pos += (size_t)w;
        return text_value(d, c <= 0xc6 ? DT_BYTES : DT_STRING, n, out);
    }
    case 0xc7:
    case 0xc8:
    case 0xc9: {
        int w = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
        NEED(d, w + 1);
        size_t n = (size_t)rd_be(p, w);
        int8_t type = (int8_t)p[w];
        d->pos += (size_t)w + 1;
        return decode_ext(d, type, n, at, depth, out);
    }
    case 0xca: {
        NEED(d, 4);
        uint32_t x = (uint32_t)rd_be(p, 4);
        float f;
        memcpy(&f, &x, 4);
        dt_value_float(f, out);
        d->pos += 4;
        return DT_OK;
    }
    case 0xcb: {
        NEED(d, 8);
        uint64_t x = rd_be(p, 8);
        double f;
        memcpy(&f, &x, 8);
        dt_value_double(f, out);
        d->pos += 8;
        return DT_OK;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
        int w = 1 << (c - 0xcc);
        NEED(d, w);
        uint64_t x = rd_be(p, w);
        d->pos += (size_t)w;
        if (x <= (uint64_t)INT64_MAX) {
            dt_value_long((int64_t)x, out);
            return DT_OK;
        }
        char text[24];
        int tl = snprintf(text, sizeof text, "%llu", (unsigned long long)x);
        if (dt_value_text(DT_BIGINT, text, (size_t)tl, out) != DT_OK)
            return dt__seterr(NULL, DT_NOMEM, "msgpack: out of memory");
        return DT_OK;
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        int w = 1 << (c - 0xd0);
        NEED(d, w);
        uint64_t x = rd_be(p, w);
        int64_t v = w == 1 ? (int8_t)x : w == 2 ? (int16_t)x : w == 4 ? (int32_t)x : (int64_t)x;
        d->pos += (size_t)w;
        dt_value_long(v, out);
        return DT_OK;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: {
        NEED(d, 1);
        int8_t type = (int8_t)p[0];
        d->pos += 1;
        return decode_ext(d, type, (size_t)1 << (c - 0xd4), at, depth, out);
    }
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
        int w = (c == 0xdc || c == 0xde) ? 2 : 4;
        NEED(d, w);
        uint64_t n = rd_be(p, w);
        d->pos += (size_t)w;
        return decode_items(d, c <= 0xdd ? DT_VECTOR : DT_MAP, n, at, depth, out);
    }
    default:
        return dt__seterr(NULL, DT_CORRUPT, "msgpack: invalid type byte 0x%02x at byte %zu", c,
                          d->base + at);
    }
}

int dt_msgpack_decode(const void *bytes, size_t len, dt_value *out, size_t *consumed) {
    if (consumed) *consumed = 0;
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_msgpack_decode: NULL out");
    dt_value_nil(out);
    if (!bytes && len) return dt__seterr(NULL, DT_MISUSE, "dt_msgpack_decode: NULL bytes");
    dec d = {bytes, bytes ? len : 0, 0, 0};
    int rc = decode_value(&d, out, 0);
    if (rc == DT_OK && !consumed && d.pos != len) {
        dt_value_free(out);
        rc = dt__seterr(NULL, DT_CORRUPT, "msgpack: %zu trailing bytes after the value at byte %zu",
                        len - d.pos, d.pos);
    }
    if (rc != DT_OK)
        dt_value_nil(out);
    else if (consumed)
        *consumed = d.pos;
    return rc;
}

/* }====== */
