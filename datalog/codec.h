/*
 * codec.h -- the order-preserving key codec for datom values (datalog
 * layer): dt_value <-> byte strings whose memcmp order is dt_value_compare
 * order.  Index keys (EAV, AVE) are built from these encodings.
 *
 * The format is specified in docs/format.md, "Value encoding"; in short:
 *
 *  - every encoding starts with a tag byte, DL_CODEC_TAG(type) =
 *    0x10 + type for DT_NIL .. DT_TUPLE, so types order by dt_type;
 *  - 0x00 is never a tag: it ends tuples (and, as 0x00 0x00, text);
 *  - encodings are self-delimiting and prefix-free: no valid encoding is a
 *    proper prefix of another, so enc(a) || x and enc(b) || y order by a
 *    first, then by x and y (the AVE key a | v | e relies on this);
 *  - byte order: memcmp, a shorter string that is a prefix of a longer one
 *    sorts first (LMDB's default key order);
 *  - decoding is the exact inverse of encoding and accepts only the bytes
 *    the encoder produces (canonical form), so equal values <=> equal bytes.
 *
 * Oversized values.  dl_codec_encode_key() bounds a key to max_len bytes.
 * When the full encoding is longer it writes a *truncated key*:
 *
 *     P | marker | H
 *
 * P is the first bytes of the full encoding, cut at a safe boundary (never
 * inside a fixed-width field or an escape pair, always after the top-level
 * tag); the marker is a byte sequence that cannot occur at that point in a
 * valid encoding (0x01 where an element tag or tuple end is expected,
 * 0x00 0x01 inside text, 0xFF (0x00 for negative numbers) inside a decimal
 * mantissa); H is the 8-byte big-endian FNV-1a 64 hash of the full
 * encoding (dl_codec_hash).  Consequences:
 *  - equal values give equal keys; different values give different keys
 *    unless their prefixes and hashes collide (callers resolve that by
 *    comparing full values, which they store separately);
 *  - a truncated key is still self-delimiting, so a | v | e parses;
 *  - key order equals value order whenever the two full encodings differ
 *    within the kept prefix; beyond the prefix the order of a truncated
 *    key is arbitrary (by marker, then hash).  Range scans over values
 *    whose keys may be truncated must compare decoded full values.
 *
 * Thread-safety: every function here is thread-safe on distinct buffers.
 */
#ifndef DL_CODEC_H
#define DL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "datolite.h"

/* {====== Format constants ====== */

#define DL_CODEC_TAG_BASE 0x10u
/* Tag byte of a datom value type t (DT_NIL .. DT_TUPLE). */
#define DL_CODEC_TAG(t)  ((uint8_t)(DL_CODEC_TAG_BASE + (unsigned)(t)))
#define DL_CODEC_TAG_MIN DL_CODEC_TAG(DT_NIL)
#define DL_CODEC_TAG_MAX DL_CODEC_TAG(DT_TUPLE)

#define DL_CODEC_END      0x00u /* ends a tuple; 0x00 0x00 ends text */
#define DL_CODEC_TRUNC    0x01u /* truncation marker at an element position */
#define DL_CODEC_HASH_LEN 8     /* hash bytes after a truncation marker */

/* Decimal sign bytes (after the bigint/bigdec tag). */
#define DL_CODEC_DEC_NEG  0x01u
#define DL_CODEC_DEC_ZERO 0x02u
#define DL_CODEC_DEC_POS  0x03u

/* Tuples nest at most this deep (a top-level tuple is depth 0). */
#define DL_CODEC_MAX_DEPTH 32
/*
 * Decimal exponent (position of the leading digit) and bigdec scale must
 * lie in [-DL_CODEC_DEC_LIMIT, DL_CODEC_DEC_LIMIT]; larger values are
 * refused with DT_LIMIT on encode and DT_CORRUPT on decode.
 */
#define DL_CODEC_DEC_LIMIT (1L << 24)
/* Smallest max_len dl_codec_encode_key accepts. */
#define DL_CODEC_MIN_KEY 64
/* Longest encoding of a fixed-size value (a uuid: tag + 16). */
#define DL_CODEC_SCALAR_MAX 17

/* }====== */

/* {====== Encoding ====== */

/*
 * dl_codec_encoded_len: the exact length of v's full encoding in *out.
 * Returns DT_OK, DT_INVALID (a type that is not a datom value type, or a
 * bigint/bigdec whose text is not a number; the message names it) or
 * DT_LIMIT (tuples nested too deep, decimal out of range).
 */
int dl_codec_encoded_len(const dt_value *v, size_t *out);

/*
 * dl_codec_encode: appends the full encoding of v to out.  Returns DT_OK,
 * DT_INVALID, DT_LIMIT (as dl_codec_encoded_len) or DT_NOMEM; on error
 * out->len is unchanged.  One buffer reservation per call; scalars
 * allocate nothing else.
 */
int dl_codec_encode(const dt_value *v, dt_buf *out);

/*
 * dl_codec_encode_key: appends v's encoding bounded to max_len bytes: the
 * full encoding when it fits (*truncated = 0), else a truncated key
 * (prefix, marker, hash: see the top of this file) of at most max_len
 * bytes (*truncated = 1).  max_len must be >= DL_CODEC_MIN_KEY (else
 * DT_MISUSE).  Other results as dl_codec_encode.  The full encoding is
 * built in out first, so out may grow beyond max_len temporarily.
 */
int dl_codec_encode_key(const dt_value *v, size_t max_len, dt_buf *out, int *truncated);

/* FNV-1a 64 of the bytes (the hash truncated keys carry). */
uint64_t dl_codec_hash(const void *bytes, size_t len);

/* Fast paths for ids: writes tag + 8 bytes (9 bytes) for a DT_LONG,
 * DT_INSTANT or DT_REF value and returns 9. */
static inline size_t dl_codec_put_int(dt_type type, int64_t i, uint8_t *dst) {
    uint64_t u = (uint64_t)i ^ 0x8000000000000000ULL;
    dst[0] = DL_CODEC_TAG(type);
    for (int k = 8; k >= 1; k--) {
        dst[k] = (uint8_t)u;
        u >>= 8;
    }
    return 9;
}

/* Reads the 8 id bytes after the tag written by dl_codec_put_int. */
static inline int64_t dl_codec_get_int(const uint8_t *src) {
    uint64_t u = 0;
    for (int k = 1; k <= 8; k++) u = (u << 8) | src[k];
    return (int64_t)(u ^ 0x8000000000000000ULL);
}

/* }====== */

/* {====== Decoding ====== */

/*
 * dl_codec_decode: decodes the encoding at the start of bytes[0..len)
 * (trailing bytes are allowed and ignored) into *out (caller owns it,
 * dt_value_free) and sets *consumed to its length.
 * @retval DT_OK        a full value.
 * @retval DT_NOTFOUND  a truncated key: *out is nil, *consumed is the
 *                      key's length; fetch the full value elsewhere
 *                      (dl_codec_scan gives its prefix and hash).
 * @retval DT_CORRUPT   malformed or cut-short bytes; the message gives the
 *                      byte position and the tag.  Never reads past len.
 * @retval DT_NOMEM     out of memory.
 * On any result but DT_OK *out is nil; *consumed is 0 unless DT_OK or
 * DT_NOTFOUND.
 */
int dl_codec_decode(const uint8_t *bytes, size_t len, dt_value *out, size_t *consumed);

/*
 * An allocator whose memory is freed all at once by its owner (an arena):
 * alloc returns n bytes aligned for a dt_value, or NULL when out of memory
 * (it sets no message).
 */
typedef struct dl_alloc {
    void *(*alloc)(void *ctx, size_t n);
    void *ctx;
} dl_alloc;

/*
 * dl_codec_decode_in: dl_codec_decode, but the value's text and items come
 * from `al` (NULL: the heap, as dl_codec_decode).  The value borrows that
 * memory: never dt_value_free it.  On errors what was allocated stays with
 * the allocator.
 */
int dl_codec_decode_in(const uint8_t *bytes, size_t len, const dl_alloc *al, dt_value *out,
                       size_t *consumed);

/* What dl_codec_scan learns about one encoding. */
typedef struct dl_codec_info {
    size_t len;        /* bytes the encoding (or truncated key) occupies */
    dt_type type;      /* type of the top-level value */
    int truncated;     /* 1 for a truncated key */
    size_t prefix_len; /* truncated: bytes before the marker */
    uint64_t hash;     /* truncated: hash of the full encoding */
} dl_codec_info;

/*
 * dl_codec_scan: validates the encoding (or truncated key) at the start of
 * bytes[0..len) without allocating and describes it in *out.  Returns
 * DT_OK or DT_CORRUPT (with a message).  Use it to skip a value inside a
 * composite key.
 */
int dl_codec_scan(const uint8_t *bytes, size_t len, dl_codec_info *out);

/* 1 when bytes start with a well-formed truncated key, else 0. */
int dl_codec_is_truncated(const uint8_t *bytes, size_t len);

/* }====== */

#endif
