/*
 * datolite.h -- the public API of Datolite, an embedded Datalog/EAV database
 * on LMDB.  This header is the whole promise: what is not declared here is
 * not API.  It compiles alone as C99 and as C++.
 *
 * Conventions (docs/conventions.md has the long form):
 *  - every public name starts with dt_ / DT_;
 *  - handles are opaque and created/destroyed in pairs (dt_kv_open /
 *    dt_kv_close); destructors accept NULL;
 *  - functions return an int result code (DT_OK = 0); out-parameters come
 *    last and are named out; *out is set to NULL/zero on error;
 *  - on error a one-line message with context is kept for the calling
 *    thread and the handle involved: read it with dt_errmsg(handle);
 *  - memory the library hands to the caller is freed with the matching
 *    dt_*_free / dt_*_close or, for plain buffers and strings, dt_free.
 */
#ifndef DATOLITE_H
#define DATOLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* {====== Version ====== */

#define DT_VERSION_MAJOR 0
#define DT_VERSION_MINOR 1
#define DT_VERSION_PATCH 0
#define DT_VERSION_STRING "0.1.0"

/*
 * dt_version: the library's version string, e.g. "0.1.0".
 * The string is static.  Thread-safe.
 */
const char *dt_version(void);

/* }====== */

/* {====== Result codes and errors ====== */

/*
 * Result codes.  Every fallible function returns one of these; most return
 * DT_OK and at most two or three other *expected* codes (documented on the
 * function); anything else is an error whose message says what happened.
 */
enum dt_result {
    DT_OK = 0,          /* success */
    DT_NOTFOUND = 1,    /* no such key, entity, attribute, database */
    DT_INVALID = 2,     /* invalid input: malformed EDN, wrong value type,
                           bad argument value, oversized value */
    DT_SCHEMA = 3,      /* schema violation: unknown attribute in a closed
                           schema, change forbidden by existing data */
    DT_CONFLICT = 4,    /* :db/cas mismatch, unique constraint conflict */
    DT_TXFN = 5,        /* a transaction function failed (error, limit) */
    DT_MAPFULL = 6,     /* the map is full and may not grow further */
    DT_BUSY = 7,        /* resource busy: too many readers, locked */
    DT_MISUSE = 8,      /* API misuse: NULL, closed or wrong-kind handle,
                           call in the wrong state */
    DT_NOMEM = 9,       /* out of memory */
    DT_IO = 10,         /* I/O error from the operating system */
    DT_CORRUPT = 11,    /* corrupt file, or a file of another program or
                           of an incompatible format version */
    DT_LIMIT = 12,      /* a configured limit was reached (max named
                           databases, value size, nesting depth) */
    DT_TIMEOUT = 13,    /* a wait timed out */
    DT_INTERNAL = 14,   /* a bug in Datolite; please report it */
    DT_ROW = 100,       /* iteration: a row/entry is available */
    DT_DONE = 101       /* iteration: no more rows/entries */
};

/*
 * dt_errstr: a short static English description of a result code, e.g.
 * "not found".  Unknown codes give "unknown result code".  Thread-safe.
 */
const char *dt_errstr(int rc);

/*
 * dt_errmsg: the message of the most recent failing call made by *this
 * thread* on `handle` (any Datolite handle: dt_kv, dt_kv_txn, ...), or, when
 * `handle` is NULL, of the most recent failing call that had no handle
 * (EDN reading, value functions).  The message is one line with context,
 * e.g. "edn: unterminated string at 3:14".  Returns "" when nothing is
 * recorded.  The string is owned by the library and valid until this
 * thread's next failing call.  Thread-safe (messages are per thread, so
 * threads sharing a handle never see each other's messages).
 */
const char *dt_errmsg(const void *handle);

/*
 * dt_free: frees a buffer or string the library returned to the caller
 * (documented as "free with dt_free").  NULL is allowed.  Thread-safe.
 */
void dt_free(void *p);

/* }====== */

/* {====== Values ====== */

/*
 * dt_type: the kinds of value.  The order of the datom value types
 * (DT_NIL .. DT_TUPLE) is the order in which values of different types
 * sort in indexes; within a type, values sort by their natural order (see
 * dt_value_compare).  The types after DT_TUPLE appear only in EDN data
 * (tx-data, queries), never as stored datom values.
 */
typedef enum dt_type {
    DT_NIL = 0,
    DT_BOOL,
    DT_LONG,      /* int64 */
    DT_DOUBLE,
    DT_FLOAT,
    DT_BIGINT,    /* exact integer, decimal text: "-12345678901234567890" */
    DT_BIGDEC,    /* exact decimal, decimal text: "-12.340" (scale kept) */
    DT_INSTANT,   /* milliseconds since the Unix epoch */
    DT_STRING,    /* UTF-8 */
    DT_KEYWORD,   /* text without the colon: "user/name", "name" */
    DT_SYMBOL,    /* text: "my.ns/sym", "?e" */
    DT_UUID,      /* 16 bytes, big-endian as written */
    DT_REF,       /* entity id */
    DT_BYTES,     /* raw bytes */
    DT_TUPLE,     /* fixed vector of values (composite/heterogeneous tuple) */
    /* EDN-only kinds */
    DT_CHAR,      /* a Unicode code point: \a \newline \u00e9 */
    DT_LIST,      /* ( ... ) */
    DT_VECTOR,    /* [ ... ] */
    DT_SET,       /* #{ ... } */
    DT_MAP,       /* { k v ... }: items holds 2*n values, key then value */
    DT_TAGGED     /* #tag value for tags without a registered reader:
                     items[0] is the tag symbol, items[1] the value */
} dt_type;

#define DT_TYPE_COUNT (DT_TAGGED + 1)

/*
 * dt_value: a value tree.  A dt_value is a small struct passed by address;
 * what it points to (text, bytes, items) is owned by the value and freed by
 * dt_value_clear().  Values the library returns through an out-parameter are
 * owned by the caller.
 *
 *   DT_BOOL            u.b (0 or 1)
 *   DT_LONG            u.i
 *   DT_INSTANT         u.i (ms since epoch)
 *   DT_REF             u.i (entity id)
 *   DT_DOUBLE          u.d
 *   DT_FLOAT           u.f
 *   DT_CHAR            u.c (code point)
 *   DT_STRING, DT_KEYWORD, DT_SYMBOL, DT_BIGINT, DT_BIGDEC, DT_BYTES
 *                      u.s.ptr / u.s.len (text is NUL-terminated as well,
 *                      the terminator not counted in len)
 *   DT_UUID            u.uuid[16]
 *   DT_TUPLE, DT_LIST, DT_VECTOR, DT_SET, DT_TAGGED
 *                      u.seq.items / u.seq.n
 *   DT_MAP             u.seq.items / u.seq.n with n = 2 * number of entries
 */
typedef struct dt_value dt_value;
struct dt_value {
    dt_type type;
    union {
        int b;
        int64_t i;
        double d;
        float f;
        uint32_t c;
        struct {
            char *ptr;
            size_t len;
        } s;
        uint8_t uuid[16];
        struct {
            dt_value *items;
            size_t n;
        } seq;
    } u;
};

/* A nil value, for initialisation: dt_value v = DT_VALUE_NIL; */
#define DT_VALUE_NIL {DT_NIL, {0}}

/*
 * Constructors.  Scalars cannot fail and fill *out directly.  The text and
 * bytes constructors copy their input (len bytes; the input need not be
 * NUL-terminated) and return DT_OK, DT_NOMEM, or DT_INVALID (bigint/bigdec
 * text that is not a valid number: "[-]digits" for bigint,
 * "[-]digits[.digits][e[+-]digits]" for bigdec, canonicalised on the way
 * in).  dt_value_seq makes an empty-items compound of `n` nil values the
 * caller then fills (items are owned by the compound).  All are
 * thread-safe on distinct values.
 */
void dt_value_nil(dt_value *out);
void dt_value_bool(int b, dt_value *out);
void dt_value_long(int64_t i, dt_value *out);
void dt_value_double(double d, dt_value *out);
void dt_value_float(float f, dt_value *out);
void dt_value_instant(int64_t ms, dt_value *out);
void dt_value_ref(int64_t eid, dt_value *out);
void dt_value_char(uint32_t codepoint, dt_value *out);
void dt_value_uuid(const uint8_t bytes[16], dt_value *out);
int dt_value_text(dt_type type, const char *text, size_t len, dt_value *out);
int dt_value_seq(dt_type type, size_t n, dt_value *out);

/*
 * dt_value_clear: frees everything `v` owns and sets it to nil.  NULL is
 * allowed.  Not thread-safe on the same value.
 */
void dt_value_clear(dt_value *v);

/*
 * dt_value_copy: deep copy of `src` into *out (caller owns, clear with
 * dt_value_clear).  Returns DT_OK or DT_NOMEM (then *out is nil).
 */
int dt_value_copy(const dt_value *src, dt_value *out);

/*
 * dt_value_compare: total order on values, <0, 0 or >0.  Values of
 * different types order by dt_type; within a type: false < true; numbers
 * numerically (doubles: -inf < ... < -0.0 < 0.0 < ... < +inf < NaN, all NaNs
 * equal); bigint and bigdec numerically, a bigdec of equal value but smaller
 * scale first (1.5M < 1.50M); text types and bytes bytewise (UTF-8 order
 * equals code point order); uuids bytewise; compounds element by element,
 * shorter first when one is a prefix of the other; maps and sets by their
 * items as stored.  Index order is this order.  Thread-safe.
 */
int dt_value_compare(const dt_value *a, const dt_value *b);

/* dt_value_equal: dt_value_compare(a, b) == 0.  Thread-safe. */
int dt_value_equal(const dt_value *a, const dt_value *b);

/* dt_type_name: "long", "string", ... for a type (static).  Thread-safe. */
const char *dt_type_name(dt_type type);

/* }====== */

/* {====== EDN and msgpack ====== */

/*
 * EDN text <-> dt_value trees, and the msgpack encoding of the same trees
 * (the wire format of the bindings).  docs/edn.md describes the accepted
 * dialect, how each dt_type prints, and the msgpack ext type table.
 *
 * Errors: dt_edn_read, dt_edn_write and the dt_msgpack_* functions have no
 * handle; their messages are read with dt_errmsg(NULL).  A streaming reader
 * keeps its messages on itself: dt_errmsg(reader).  Syntax errors carry the
 * line:column (1-based, columns count code points), e.g.
 * "edn: expected ']' to close '[' opened at 1:1, got end of input at 3:5".
 */

/* Nesting depth: default and largest allowed (collections, tags, #_). */
#define DT_EDN_DEPTH_DEFAULT 1000
#define DT_EDN_DEPTH_MAX 4096

/*
 * dt_edn_tag_fn: a reader for tagged literals other than the built-in
 * #inst, #uuid and #bytes.  `tag` is the tag symbol without '#' (tag_len
 * bytes, NUL-terminated); `value` is the form that followed it, already
 * read.  The handler may move `value` into *out (then it sets *value to
 * nil) or build a new value in *out; the reader clears whatever is left
 * in *value afterwards.  Return DT_OK with *out set, DT_NOTFOUND to
 * decline (leave *value as it was; the reader then behaves as if there
 * were no handler), or any other result code to fail the read; the reader
 * reports it with the tag and position.  Handlers are not called for tags
 * inside a #_ discard.  Called on the reading thread, during the read.
 */
typedef int (*dt_edn_tag_fn)(const char *tag, size_t tag_len, dt_value *value, dt_value *out,
                             void *userdata);

/*
 * Reader options.  Initialise with DT_EDN_OPTIONS_INIT, then set fields:
 *   dt_edn_options o = DT_EDN_OPTIONS_INIT; o.keep_unknown_tags = 1;
 *   tag_handler, tag_userdata  reader for unknown tags (see dt_edn_tag_fn)
 *   keep_unknown_tags          non-zero: a tag nobody reads becomes a
 *                              DT_TAGGED value instead of an error
 *   max_depth                  0 = DT_EDN_DEPTH_DEFAULT; at most
 *                              DT_EDN_DEPTH_MAX; deeper input is DT_LIMIT
 */
typedef struct dt_edn_options {
    unsigned int version;
    dt_edn_tag_fn tag_handler;
    void *tag_userdata;
    int keep_unknown_tags;
    int max_depth;
} dt_edn_options;

#define DT_EDN_OPTIONS_VERSION 1
#define DT_EDN_OPTIONS_INIT {DT_EDN_OPTIONS_VERSION, NULL, NULL, 0, 0}

/*
 * dt_edn_read: reads exactly one EDN form from text[0..len) (need not be
 * NUL-terminated) into *out (caller owns; dt_value_clear).  Whitespace,
 * comments and #_ discards may surround the form; anything else after it
 * is an error.  dt_edn_read_opts does the same with options (NULL =
 * defaults).
 * @retval DT_OK      *out holds the value
 * @retval DT_INVALID malformed EDN, no form at all, trailing forms, an
 *                    unknown tag, a duplicate map key or set element
 * @retval DT_LIMIT   nesting deeper than the depth limit
 * @retval DT_NOMEM   out of memory
 * @retval DT_MISUSE  NULL out, NULL text with len > 0, bad options
 * On error *out is nil and dt_errmsg(NULL) has the message.  Thread-safe.
 */
int dt_edn_read(const char *text, size_t len, dt_value *out);
int dt_edn_read_opts(const char *text, size_t len, const dt_edn_options *opts, dt_value *out);

/* A streaming reader over many top-level forms. */
typedef struct dt_edn_reader dt_edn_reader;

/*
 * dt_edn_reader_new: a reader over text[0..len).  The text is borrowed:
 * it must stay valid and unchanged until dt_edn_reader_free.  `opts` is
 * copied (NULL = defaults).  *out is freed with dt_edn_reader_free.
 * @retval DT_OK, DT_NOMEM, DT_MISUSE (NULL out, NULL text with len > 0,
 *         unknown options version, max_depth out of range; message on
 *         dt_errmsg(NULL)).
 * A reader is used by one thread at a time.
 */
int dt_edn_reader_new(const char *text, size_t len, const dt_edn_options *opts,
                      dt_edn_reader **out);

/*
 * dt_edn_reader_next: reads the next top-level form into *out (caller
 * owns).
 * @retval DT_OK      *out holds the form
 * @retval DT_DONE    no more forms (only whitespace, comments, discards
 *                    were left); *out is nil
 * @retval DT_INVALID, DT_LIMIT, DT_NOMEM  as for dt_edn_read; the message
 *                    is on dt_errmsg(r).  Errors are sticky: later calls
 *                    return the same code.
 * @retval DT_MISUSE  NULL or freed reader, NULL out
 */
int dt_edn_reader_next(dt_edn_reader *r, dt_value *out);

/*
 * dt_edn_reader_pos: where the form most recently returned by
 * dt_edn_reader_next starts (after DT_DONE: the end of the input; after an
 * error: where the error was found; before any call: 1:1, offset 0).
 * line and col are 1-based, col counts code points; offset is in bytes.
 * Any out-pointer may be NULL.  Returns DT_OK or DT_MISUSE.
 */
int dt_edn_reader_pos(const dt_edn_reader *r, int *line, int *col, size_t *offset);

/* dt_edn_reader_free: frees the reader (not the text).  NULL is allowed. */
void dt_edn_reader_free(dt_edn_reader *r);

/* dt_edn_write flags */
#define DT_EDN_COMPACT 0 /* one line: {:a 1, :b [1 2]} */
#define DT_EDN_PRETTY 1  /* collections longer than 80 columns broken over
                            lines, elements aligned under the first */

/*
 * dt_edn_write: prints `v` as EDN text into *out (NUL-terminated, caller
 * frees with dt_free; *out_len, if not NULL, gets the length without the
 * NUL).  Reading the text back gives a value dt_value_equal to `v` for
 * every EDN kind; DT_REF prints as its integer (reads back as DT_LONG),
 * DT_TUPLE as a vector (DT_VECTOR), DT_FLOAT as the shortest decimal that
 * round-trips the float (reads back as a DT_DOUBLE d with (float)d == f),
 * DT_BYTES as #bytes "base64" (reads back as DT_BYTES), DT_TAGGED as
 * #tag value (reads back as DT_TAGGED with keep_unknown_tags).
 * @retval DT_OK
 * @retval DT_INVALID a value EDN cannot express: a keyword or symbol text
 *                    that would not read back, a char above U+10FFFF, a
 *                    malformed compound (odd map, tagged without symbol)
 * @retval DT_LIMIT   nesting deeper than DT_EDN_DEPTH_MAX
 * @retval DT_NOMEM, DT_MISUSE (NULL v or out, unknown flags)
 * On error *out is NULL; message on dt_errmsg(NULL).  Thread-safe.
 */
int dt_edn_write(const dt_value *v, int flags, char **out, size_t *out_len);

/*
 * msgpack ext types of the wire format (stable; docs/edn.md has the
 * payload of each).  Scalars without a msgpack type carry their bytes;
 * LIST/SET/TUPLE carry a msgpack array, TAGGED an array [tag-str, value].
 * DT_VECTOR is a plain array, DT_MAP a plain map.
 */
enum dt_msgpack_ext {
    DT_MSGPACK_EXT_KEYWORD = 1, /* UTF-8 text without ':' */
    DT_MSGPACK_EXT_SYMBOL = 2,  /* UTF-8 text */
    DT_MSGPACK_EXT_UUID = 3,    /* 16 bytes */
    DT_MSGPACK_EXT_INSTANT = 4, /* int64 big-endian, ms since the epoch */
    DT_MSGPACK_EXT_BIGINT = 5,  /* decimal text */
    DT_MSGPACK_EXT_BIGDEC = 6,  /* decimal text */
    DT_MSGPACK_EXT_REF = 7,     /* int64 big-endian entity id */
    DT_MSGPACK_EXT_CHAR = 8,    /* uint32 big-endian code point */
    DT_MSGPACK_EXT_LIST = 9,    /* msgpack array */
    DT_MSGPACK_EXT_SET = 10,    /* msgpack array */
    DT_MSGPACK_EXT_TUPLE = 11,  /* msgpack array */
    DT_MSGPACK_EXT_TAGGED = 12  /* msgpack array [str tag, value] */
};

/*
 * dt_msgpack_encode: the msgpack encoding of `v` (docs/edn.md, "msgpack
 * wire format") into *out (*out_len bytes; caller frees with dt_free).
 * Every dt_type round-trips exactly through dt_msgpack_decode.
 * @retval DT_OK, DT_INVALID (malformed compound), DT_LIMIT (nesting deeper
 *         than DT_EDN_DEPTH_MAX), DT_NOMEM, DT_MISUSE (NULL argument).
 * On error *out is NULL; message on dt_errmsg(NULL).  Thread-safe.
 */
int dt_msgpack_encode(const dt_value *v, void **out, size_t *out_len);

/*
 * dt_msgpack_decode: decodes one msgpack value from bytes[0..len) into
 * *out (caller owns).  When `consumed` is not NULL it gets the number of
 * bytes the value used and trailing bytes are left alone; when it is NULL,
 * trailing bytes are an error.  Input may be untrusted: anything malformed
 * is reported, never read out of bounds.
 * @retval DT_OK
 * @retval DT_CORRUPT truncated or malformed input, unknown ext type,
 *                    trailing bytes (consumed == NULL), duplicate map keys
 *                    or set elements
 * @retval DT_LIMIT   nesting deeper than DT_EDN_DEPTH_MAX
 * @retval DT_NOMEM, DT_MISUSE (NULL out, NULL bytes with len > 0)
 * On error *out is nil; message on dt_errmsg(NULL).  Thread-safe.
 */
int dt_msgpack_decode(const void *bytes, size_t len, dt_value *out, size_t *consumed);

/* }====== */

/* {====== Key codec ====== */

/*
 * An order-preserving binary encoding of datom values (types DT_NIL ..
 * DT_TUPLE), the one Datolite's indexes use.  For any two values a and b,
 * memcmp-comparing their encodings (a shorter encoding that is a prefix
 * of the other sorts first, as LMDB's default key order does) gives the
 * sign of dt_value_compare(a, b), and equal values have equal encodings.
 * Encodings are self-delimiting: no encoding is a prefix of another, so a
 * key built as enc(a) || enc(b) || ... sorts by a, then b, ...; decoding
 * tells how many bytes one value took.  Use it to build typed KV keys
 * whose byte order is value order.  docs/format.md ("Value encoding")
 * specifies the bytes; the format is stable within a file format version.
 *
 * Doubles and floats keep -0.0 apart from 0.0 and decode bit-exact, except
 * that every NaN encodes (and decodes) as the one quiet NaN; bigdecs keep
 * their scale (1.50 decodes as "1.50").
 */

/*
 * dt_value_encode: encodes `v` into a new buffer *out of *out_len bytes
 * (caller owns it, free with dt_free).  On error *out is NULL and
 * *out_len 0.  Thread-safe on distinct values.
 * @retval DT_OK
 * @retval DT_INVALID  v (or a tuple item) is an EDN-only kind (char, list,
 *                     vector, set, map, tagged) -- the message names it --
 *                     or a bigint/bigdec whose text is not a number
 * @retval DT_LIMIT    tuples nested deeper than 32, or a bigint/bigdec
 *                     exponent or scale beyond +-2^24
 * @retval DT_MISUSE   a NULL argument
 * @retval DT_NOMEM    out of memory
 */
int dt_value_encode(const dt_value *v, void **out, size_t *out_len);

/*
 * dt_value_encode_to: encodes `v` into the caller's buffer `buf` of `cap`
 * bytes, without allocating, and sets *out_len to the encoding's length.
 * When cap is too small nothing is written, *out_len is the length needed
 * and the result is DT_LIMIT (so cap 0 with buf NULL measures a value).
 * Other results as dt_value_encode.  Thread-safe on distinct buffers.
 */
int dt_value_encode_to(const dt_value *v, void *buf, size_t cap, size_t *out_len);

/*
 * dt_value_decode: decodes the encoded value at the start of
 * bytes[0..len) into *out (caller owns it, clear with dt_value_clear) and
 * sets *consumed (may be NULL) to the bytes it took; bytes after it (the
 * rest of a composite key) are ignored.  Never reads beyond len.
 * Thread-safe on distinct values.
 * @retval DT_OK
 * @retval DT_NOTFOUND  the bytes are a truncated index key (a prefix and a
 *                      hash standing for a value too large for a key):
 *                      *out is nil, *consumed is the key's length
 * @retval DT_CORRUPT   malformed or cut-short input; the message gives the
 *                      byte position and the value tag
 * @retval DT_MISUSE    out is NULL, or bytes is NULL with len > 0
 * @retval DT_NOMEM     out of memory
 * On any result but DT_OK *out is nil.
 */
int dt_value_decode(const void *bytes, size_t len, dt_value *out, size_t *consumed);

/* }====== */

#ifdef __cplusplus
}
#endif

#endif /* DATOLITE_H */
