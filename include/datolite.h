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
 *    dt_*_free / dt_*_close or, for plain buffers and strings, dt_free;
 *  - option structs start with `unsigned version`: start from the
 *    struct's _INIT macro.  Versions 1 up to the library's own are
 *    accepted (fields newer than the caller's version take their
 *    defaults); 0 or a newer version is DT_INVALID, "options version N
 *    unknown (library knows 1..M)";
 *  - flags come in groups with bit ranges of their own ("Flag groups"
 *    below); a flag of another group is DT_INVALID;
 *  - a handle ends with its destructor (dt_conn_close or dt_kv_close
 *    returning DT_OK, dt_db_close, dt_*_free, dt_kv_txn_commit/abort,
 *    dt_txn_commit/abort, ...).  Using it afterwards, destructors included,
 *    is undefined behaviour, as with SQLite's closed handles: it is freed
 *    memory.  The DT_MISUSE checks of a handle's kind catch NULL and
 *    wrong-kind handles; they cannot promise to catch ended ones.
 */
#ifndef DATOLITE_H
#define DATOLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared in this header, and nothing else, is exported from
 * the shared library: the library is built with hidden visibility and
 * these declarations give the public functions default visibility. */
#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility push(default)
#endif

/* {====== Version ====== */

#define DT_VERSION_MAJOR  0
#define DT_VERSION_MINOR  1
#define DT_VERSION_PATCH  0
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
enum dt_result_code {
    DT_OK = 0,         /* success */
    DT_NOTFOUND = 1,   /* no such key, entity, attribute, database */
    DT_INVALID = 2,    /* invalid input: malformed EDN, wrong value type,
                          bad argument value, oversized value */
    DT_SCHEMA = 3,     /* schema violation: unknown attribute in a closed
                          schema, change forbidden by existing data */
    DT_CONFLICT = 4,   /* :db/cas mismatch, unique constraint conflict */
    DT_TXFN = 5,       /* a transaction function failed (error, limit) */
    DT_MAPFULL = 6,    /* a write did not fit in the map and may not
                          grow it further (see DT_MAPFULL_RETRY) */
    DT_BUSY = 7,       /* resource busy: too many readers, locked */
    DT_MISUSE = 8,     /* API misuse: NULL or wrong-kind handle, call in
                          the wrong state (a write that would wait for
                          the calling thread itself, ...) */
    DT_NOMEM = 9,      /* out of memory */
    DT_IO = 10,        /* I/O error from the operating system */
    DT_CORRUPT = 11,   /* corrupt file, or a file of another program or
                          of an incompatible format version */
    DT_LIMIT = 12,     /* a configured limit was reached (max named
                          databases, value size, nesting depth) */
    DT_TIMEOUT = 13,   /* a wait timed out */
    DT_INTERNAL = 14,  /* a bug in Datolite; please report it */
    DT_INTERRUPT = 15, /* cancelled on request (dt_cancel_trigger) */
    DT_ROW = 100,      /* iteration: a row/entry is available */
    DT_DONE = 101      /* iteration: no more rows/entries */
};

/*
 * Result codes for applications: a function the library calls back (the
 * block function of dt_with_txn, the fn of dt_kv_with_txn) may fail with
 * any code from DT_USER_FIRST to DT_USER_LAST; the library passes it back
 * unchanged and never returns such a code itself.  Set its message with
 * dt_errmsg_set on the block (dt_txn) or environment (dt_kv) handle:
 *     return dt_errmsg_set(tx, DT_USER_FIRST + 3, "order %d: no stock", id);
 * dt_with_txn then shows it on dt_errmsg(conn).  (Library codes, extended
 * codes included, stay below 0x10000.)
 */
#define DT_USER_FIRST 0x10000
#define DT_USER_LAST  0x1ffff

/*
 * dt_errmsg_set: records `rc` and the printf-style message (one line, cut
 * at 511 bytes) as the calling thread's message for `handle` (NULL: the
 * handle-less slot), as a failing library call would, and returns rc, so
 * that application callbacks can fail with a message of their own.
 * Thread-safe (messages are per thread).
 */
int dt_errmsg_set(const void *handle, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * dt_errstr: a short static English description of a result code, e.g.
 * "not found"; "application error" for DT_USER_FIRST..DT_USER_LAST.
 * Unknown codes give "unknown result code".  Thread-safe.
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
    DT_LONG, /* int64 */
    DT_DOUBLE,
    DT_FLOAT,
    DT_BIGINT,  /* exact integer, decimal text: "-12345678901234567890" */
    DT_BIGDEC,  /* exact decimal, decimal text: "-12.340" (scale kept) */
    DT_INSTANT, /* milliseconds since the Unix epoch */
    DT_STRING,  /* UTF-8 */
    DT_KEYWORD, /* text without the colon: "user/name", "name" */
    DT_SYMBOL,  /* text: "my.ns/sym", "?e" */
    DT_UUID,    /* 16 bytes, big-endian as written */
    DT_REF,     /* entity id */
    DT_BYTES,   /* raw bytes */
    DT_TUPLE,   /* fixed vector of values (composite/heterogeneous tuple) */
    /* EDN-only kinds */
    DT_CHAR,   /* a Unicode code point: \a \newline \u00e9 */
    DT_LIST,   /* ( ... ) */
    DT_VECTOR, /* [ ... ] */
    DT_SET,    /* #{ ... } */
    DT_MAP,    /* { k v ... }: items holds 2*n values, key then value */
    DT_TAGGED  /* #tag value for tags without a registered reader:
                  items[0] is the tag symbol, items[1] the value */
} dt_type;

#define DT_TYPE_COUNT (DT_TAGGED + 1)

/*
 * dt_value: a value tree.  A dt_value is a small struct passed by address;
 * what it points to (text, bytes, items) is owned by the value and freed by
 * dt_value_free().  Values the library returns through an out-parameter are
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
#define DT_VALUE_NIL                                                                               \
    {                                                                                              \
        DT_NIL, { 0 }                                                                              \
    }

/*
 * Constructors.  Scalars cannot fail and fill *out directly.  The text and
 * bytes constructors copy their input (len bytes; the input need not be
 * NUL-terminated).  dt_value_seq makes an empty-items compound of `n` nil
 * values the caller then fills (items are owned by the compound).  All are
 * thread-safe on distinct values.  *out is nil on error; messages on
 * dt_errmsg(NULL).
 * dt_value_text:
 * @retval DT_OK
 * @retval DT_INVALID bigint/bigdec text that is not a valid number
 *                    ("[-]digits" for bigint, "[-]digits[.digits][e[+-]
 *                    digits]" for bigdec, canonicalised on the way in), or
 *                    an exponent out of range
 * @retval DT_MISUSE  `type` is not a text type (DT_STRING, DT_KEYWORD,
 *                    DT_SYMBOL, DT_BIGINT, DT_BIGDEC, DT_BYTES), NULL text
 *                    with len > 0
 * @retval DT_NOMEM   out of memory
 * dt_value_seq:
 * @retval DT_OK
 * @retval DT_MISUSE  `type` is not a compound type, or DT_MAP with an odd n
 * @retval DT_NOMEM   out of memory
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
 * dt_value_free: frees everything `v` owns and sets it to nil.  NULL is
 * allowed.  Not thread-safe on the same value.
 */
void dt_value_free(dt_value *v);

/*
 * dt_value_copy: deep copy of `src` into *out (caller owns, clear with
 * dt_value_free).
 * @retval DT_OK
 * @retval DT_NOMEM  out of memory (*out is nil)
 * @retval DT_MISUSE NULL src
 * Thread-safe on distinct values.
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
#define DT_EDN_DEPTH_MAX     4096

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
#define DT_EDN_OPTIONS_INIT                                                                        \
    { DT_EDN_OPTIONS_VERSION, NULL, NULL, 0, 0 }

/*
 * dt_edn_read: reads exactly one EDN form from text[0..len) (need not be
 * NUL-terminated) into *out (caller owns; dt_value_free).  Whitespace,
 * comments and #_ discards may surround the form; anything else after it
 * is an error.  dt_edn_read_opts does the same with options (NULL =
 * defaults).
 * @retval DT_OK      *out holds the value
 * @retval DT_INVALID malformed EDN, no form at all, trailing forms, an
 *                    unknown tag, a duplicate map key or set element; a
 *                    NUL byte or malformed UTF-8 anywhere in text[0..len)
 *                    (the text is read whole or refused: the message
 *                    gives the byte offset and line:column)
 * @retval DT_LIMIT   nesting deeper than the depth limit
 * @retval DT_NOMEM   out of memory
 * @retval DT_INVALID (also) an unknown options version
 * @retval DT_MISUSE  NULL out, NULL text with len > 0, max_depth out of
 *                    range
 * On error *out is nil and dt_errmsg(NULL) has the message.  Thread-safe.
 */
int dt_edn_read(const char *text, size_t len, dt_value *out);
int dt_edn_read_opts(const char *text, size_t len, const dt_edn_options *opts, dt_value *out);

/* A streaming reader over many top-level forms. */
typedef struct dt_edn_reader dt_edn_reader;

/*
 * dt_edn_reader_new: a reader over text[0..len).  The text is borrowed:
 * it must stay valid and unchanged until dt_edn_reader_free.  A text with
 * a NUL byte or malformed UTF-8 anywhere is refused whole: the first
 * dt_edn_reader_next returns DT_INVALID with its position.  `opts` is
 * copied (NULL = defaults).  *out is freed with dt_edn_reader_free.
 * @retval DT_OK, DT_NOMEM, DT_INVALID (unknown options version),
 *         DT_MISUSE (NULL out, NULL text with len > 0, max_depth out of
 *         range); messages on dt_errmsg(NULL).
 * A reader is used by one thread at a time.
 */
int dt_edn_reader_new(const char *text, size_t len, const dt_edn_options *opts,
                      dt_edn_reader **out);

/*
 * dt_edn_reader_next: reads the next top-level form into *out (caller
 * owns).
 * @retval DT_ROW     *out holds the form
 * @retval DT_DONE    no more forms (only whitespace, comments, discards
 *                    were left); *out is nil
 * @retval DT_INVALID, DT_LIMIT, DT_NOMEM  as for dt_edn_read; the message
 *                    is on dt_errmsg(r).  Errors are sticky: later calls
 *                    return the same code.
 * @retval DT_MISUSE  NULL reader, NULL out
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

/* dt_edn_write flags (bits 0x00f00000; see "Flag groups" in the KV store) */
#define DT_EDN_COMPACT 0 /* one line: {:a 1, :b [1 2]} */
#define DT_EDN_PRETTY                                                                              \
    0x00100000 /* collections longer than 80 columns broken over                                   \
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
 * @retval DT_INVALID flags other than DT_EDN_PRETTY (message names the
 *                    flag's group)
 * @retval DT_NOMEM, DT_MISUSE (NULL v or out)
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

/* {====== KV store ====== */

/*
 * The KV store: a thin, fast key-value layer over LMDB that the Datalog
 * store is built on, and that applications may use directly (like
 * Datalevin's KV API).  An environment (dt_kv) is a directory holding one
 * memory-mapped file with any number of named sub-databases ("dbis").
 * Keys and values are byte strings; keys sort in memcmp order (a shorter
 * key sorts before a longer one it is a prefix of), are 1 to 511 bytes
 * long, and values may be empty.  docs/kv.md is the user guide.
 *
 * Transactions: one writer at a time per environment (across processes),
 * any number of readers that never block and are never blocked.  Every
 * read/write function takes an optional dt_kv_txn: NULL means "autocommit"
 * (a write is its own transaction, committed before the call returns; a
 * read uses a fresh snapshot, taken from a pool of reusable read
 * transactions).
 *
 * Memory: bytes returned as dt_kv_bytes views point into the map and are
 * valid until the transaction they were read in ends, or until the next
 * write in that transaction, whichever comes first; copy them before
 * writing.  Functions that work without an explicit transaction (dt_kv_get,
 * the dt_kv_list functions) return copies the caller owns.
 *
 * Errors: every function records a one-line message on the dt_kv handle
 * (and on the dt_kv_txn handle when one was given), read with
 * dt_errmsg(kv) from the same thread.
 */

typedef struct dt_kv dt_kv;           /* an open environment */
typedef struct dt_kv_txn dt_kv_txn;   /* a transaction on an environment */
typedef struct dt_kv_iter dt_kv_iter; /* a range iterator */

/*
 * dt_kv_dbi: handle of a named sub-database, a small nonzero integer valid
 * for the life of the environment (until dt_kv_dbi_drop or dt_kv_close).
 * 0 (DT_KV_DBI_NONE) is never a valid handle; a stale or made-up handle
 * gives DT_MISUSE, never a crash.
 */
typedef uint32_t dt_kv_dbi;
#define DT_KV_DBI_NONE 0u

/* A borrowed byte string (see "Memory" above for how long it lives). */
typedef struct dt_kv_bytes {
    const void *ptr;
    size_t len;
} dt_kv_bytes;

/*
 * DT_MAPFULL has one meaning everywhere: a write did not fit in the map,
 * and nothing of the transaction it was part of is written.
 *  - Plain DT_MAPFULL: the map may not grow any further (max_map_size
 *    reached, or the OS refused a larger mapping); running the write again
 *    fails again until space is freed or the limit raised.
 *  - DT_MAPFULL_RETRY, an extended code with DT_MAPFULL in its low byte
 *    (so (rc & 0xff) == DT_MAPFULL catches both): the map has already been
 *    grown; the transaction has failed and must be aborted, and running it
 *    again from the start will get further.
 * DT_MAPFULL_RETRY is returned only where the caller holds the
 * transaction: writes in an explicit dt_kv_txn (dt_kv_put, dt_kv_del,
 * dt_kv_batch and dt_kv_dbi_clear with a txn, dt_kv_txn_commit) and in a
 * write block (dt_txn_transact, dt_txn_transact_value, dt_savepoint_release,
 * dt_txn_commit, and KV writes in dt_txn_kv_txn).  Functions that own their
 * transaction run it again themselves and return only plain DT_MAPFULL:
 * autocommit KV writes, dt_kv_batch without a txn, dt_kv_with_txn,
 * dt_with_txn, dt_transact and dt_transact_value, async transacts,
 * dt_conn_update_schema, dt_import_edn and bulk loads.
 */
#define DT_MAPFULL_RETRY (DT_MAPFULL | (1 << 8))

/*
 * Flag groups.  Each group of flags has a bit range of its own, so a flag
 * given to a function of another group is an error (DT_INVALID, the
 * message names the group it belongs to), never silently read as another
 * flag:
 *   0x000000ff  environment flags  dt_kv_options.flags, dt_kv_set_flags,
 *                                  dt_conn_set_flags
 *   0x00000f00  dbi flags          dt_kv_dbi_open
 *   0x0000f000  transaction flags  dt_kv_txn_begin
 *   0x000f0000  put flags          dt_kv_put, dt_kv_op.flags
 *   0x00f00000  EDN write flags    dt_edn_write
 * Bits outside every group are rejected the same way.
 */

/* Environment flags (dt_kv_options.flags, dt_kv_set_flags). */
#define DT_KV_NOSYNC                                                                               \
    0x01u /* no fsync at commit: a system crash may lose                                           \
             recent commits or, with WRITEMAP, corrupt                                             \
             the file; a process crash loses nothing.                                              \
             Changeable at run time. */
#define DT_KV_NOMETASYNC                                                                           \
    0x02u /* fsync data but not the meta page: a system                                            \
             crash may lose the last commit, never                                                 \
             corrupts.  Changeable at run time. */
#define DT_KV_WRITEMAP                                                                             \
    0x04u /* write through a writable map (faster, but a                                           \
             stray pointer write can corrupt the file;                                             \
             no nested transactions).  Open time only. */
#define DT_KV_MAPASYNC                                                                             \
    0x08u /* with WRITEMAP: flush asynchronously (like                                             \
             NOSYNC for the data).  Changeable. */
#define DT_KV_RDONLY                                                                               \
    0x10u /* open read-only; writes give DT_MISUSE.                                                \
             Open time only. */
#define DT_KV_TEMP                                                                                 \
    0x20u /* delete the directory and its files at                                                 \
             dt_kv_close.  Open time only. */

/*
 * Options for dt_kv_open.  Always start from DT_KV_OPTIONS_INIT so fields
 * added later get their defaults:
 *     dt_kv_options o = DT_KV_OPTIONS_INIT;  o.flags = DT_KV_NOSYNC;
 */
typedef struct dt_kv_options {
    unsigned version;         /* DT_KV_OPTIONS_VERSION */
    uint64_t map_size;        /* initial map size in bytes (rounded up to
                                 the OS page size); 0 = 64 MiB.  An existing
                                 larger file keeps its size. */
    uint64_t max_map_size;    /* automatic growth stops here (then
                                 DT_MAPFULL); 0 = no limit but the OS's */
    unsigned max_dbs;         /* max named dbis; 0 = 128 */
    unsigned max_readers;     /* max concurrent read transactions of all
                                 processes; 0 = 126 */
    unsigned flags;           /* DT_KV_* environment flags */
    unsigned file_mode;       /* mode of created files; 0 = 0644 */
    unsigned grow_timeout_ms; /* how long map growth waits for this
                                 process's open transactions to end; 0 =
                                 30000 (then the write gives DT_BUSY) */
} dt_kv_options;

#define DT_KV_OPTIONS_VERSION 1
#define DT_KV_OPTIONS_INIT                                                                         \
    { DT_KV_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0 }

/*
 * dt_kv_open: opens (creating it if needed, unless DT_KV_RDONLY) the
 * environment in directory `path`.  Stale reader slots left by dead
 * processes are cleared.  `opts` may be NULL for defaults.
 * @param path  directory; created (one level) if missing
 * @param opts  options or NULL; copied, not retained
 * @param out   receives the handle (NULL on error); close with dt_kv_close
 * @retval DT_OK
 * @retval DT_CORRUPT  the directory holds a file that is not an LMDB
 *                     database (or of an incompatible version), or `path`
 *                     is a file rather than a directory, or data.mdb is
 *                     shorter than LMDB's last used page (truncated:
 *                     docs/reliability.md)
 * @retval DT_NOTFOUND read-only open of a missing directory
 * @retval DT_IO       the OS refused (permissions, missing parent, ...)
 * @retval DT_INVALID  bad options (unknown version or flag)
 * @retval DT_NOMEM    out of memory
 * @retval DT_MISUSE   NULL path or out
 * Messages are recorded on the NULL handle (dt_errmsg(NULL)).
 * Thread-safe.  Open an environment once per process (an LMDB rule) and
 * share the handle between threads.
 */
int dt_kv_open(const char *path, const dt_kv_options *opts, dt_kv **out);

/*
 * dt_kv_close: closes the environment and frees the handle; with
 * DT_KV_TEMP also deletes the directory.  NULL is allowed (DT_OK).
 * @retval DT_OK
 * @retval DT_BUSY    transactions or iterators are still open: nothing is
 *                    closed, end them first
 * @retval DT_MISUSE  not a dt_kv handle; the environment of a connection
 *                    (dt_conn_kv: close the connection instead); a write
 *                    transaction of the calling thread is open on it
 * Not thread-safe: no other thread may use `kv` during or after the call.
 */
int dt_kv_close(dt_kv *kv);

/*
 * dt_kv_set_flags: turns the run-time changeable flags (DT_KV_NOSYNC,
 * DT_KV_NOMETASYNC, DT_KV_MAPASYNC) on (onoff != 0) or off.
 * dt_kv_get_flags: the current DT_KV_* flags.
 * @retval DT_OK
 * @retval DT_INVALID a flag that cannot change at run time
 * @retval DT_MISUSE  bad handle or NULL out
 * Thread-safe (the change applies to commits that start afterwards).
 */
int dt_kv_set_flags(dt_kv *kv, unsigned flags, int onoff);
int dt_kv_get_flags(dt_kv *kv, unsigned *out);

/*
 * dt_kv_sync: flushes committed data to disk (useful with NOSYNC /
 * MAPASYNC / NOMETASYNC).  force != 0 flushes synchronously even when the
 * flags say asynchronous.  A read-only environment has nothing to flush.
 * @retval DT_OK
 * @retval DT_IO     the flush failed
 * @retval DT_MISUSE bad handle
 * Thread-safe.
 */
int dt_kv_sync(dt_kv *kv, int force);

/* Flags for dt_kv_dbi_open. */
#define DT_KV_DBI_CREATE 0x0100u /* create the dbi if it does not exist */
#define DT_KV_DBI_DUPSORT                                                                          \
    0x0200u /* a key may hold several values, kept                                                 \
               sorted (each at most 511 bytes) */

/*
 * dt_kv_dbi_open: opens (with DT_KV_DBI_CREATE, creates) the named
 * sub-database `name` and returns its handle.  Opening an already open
 * name returns the same handle.  Creation commits a write transaction of
 * its own.  Names starting with "dt/" are reserved for a Datolite
 * database's own data: such a dbi may be opened and read, but not created,
 * and writes to it (put, del, batch, clear, drop, async) give DT_MISUSE.
 * @retval DT_OK
 * @retval DT_NOTFOUND no such dbi and DT_KV_DBI_CREATE not given (or the
 *                     environment is read-only, where CREATE is ignored,
 *                     or the name is reserved)
 * @retval DT_INVALID  empty name, flags that are not dbi flags, or the
 *                     dbi exists with other flags
 *                     (DUPSORT or not)
 * @retval DT_LIMIT    max_dbs dbis are already open
 * @retval DT_MISUSE   bad handle, NULL name/out, or CREATE by a thread that
 *                     has a write transaction open on `kv` (would deadlock)
 * Thread-safe.
 */
int dt_kv_dbi_open(dt_kv *kv, const char *name, unsigned flags, dt_kv_dbi *out);

/*
 * dt_kv_dbi_drop: deletes the dbi and its contents (in a transaction of
 * its own) and invalidates the handle.
 * dt_kv_dbi_clear: deletes every entry, keeping the dbi; in `txn` if given.
 * @retval DT_OK
 * @retval DT_MISUSE bad handle, read-only txn/env, or (drop) a thread that
 *                   has a write transaction open on `kv`; with `txn`: a
 *                   txn that already failed (its sticky code instead)
 * @retval DT_MAPFULL_RETRY (clear in an explicit txn only) see its
 *                   definition
 * @retval DT_MAPFULL / DT_BUSY  the map could not grow
 * @retval DT_IO / DT_NOMEM
 * Thread-safe, but no other thread may be using the dbi while it is dropped.
 */
int dt_kv_dbi_drop(dt_kv *kv, dt_kv_dbi dbi);
int dt_kv_dbi_clear(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi);

/* Flags for dt_kv_txn_begin. */
#define DT_KV_TXN_WRITE  0x0000u
#define DT_KV_TXN_RDONLY 0x1000u

/*
 * dt_kv_txn_begin: begins a read-only (DT_KV_TXN_RDONLY: a snapshot; cheap,
 * taken from a pool of reset read transactions) or a write transaction
 * (waits while another thread or process holds the write lock).
 * @retval DT_OK
 * @retval DT_BUSY    no free reader slot (max_readers); or, for a write
 *                    transaction, an init-db in chunks holds the
 *                    environment (every write of any handle, including
 *                    dt_kv_put and dt_kv_dbi_open creating a dbi, fails
 *                    so until its last commit; docs/bulk-load.md)
 * @retval DT_INVALID flags other than DT_KV_TXN_RDONLY
 * @retval DT_MISUSE  bad handle, write in a read-only environment, or
 *                    a second write transaction in the same thread
 * @retval DT_NOMEM / DT_IO
 * A read transaction may be used by any thread, one at a time.  A write
 * transaction must be used and ended by the thread that began it.
 * Long-lived read transactions keep old pages from being reused and delay
 * map growth (see grow_timeout_ms): end them promptly.
 */
int dt_kv_txn_begin(dt_kv *kv, unsigned flags, dt_kv_txn **out);

/*
 * dt_kv_txn_commit: commits (a write txn) or releases (a read txn) and
 * frees the handle in every case, also when it fails.  Iterators opened in
 * the txn become unusable (they must still be closed).
 * @retval DT_OK
 * @retval DT_MAPFULL_RETRY the map filled up at commit; it has been grown:
 *                    run the transaction again
 * @retval DT_MAPFULL the map is full and may not grow
 * @retval (the sticky code) an earlier write in the txn failed; nothing of
 *                    the txn was written
 * @retval DT_IO      write/fsync failed; nothing was committed
 * @retval DT_MISUSE  bad handle
 */
int dt_kv_txn_commit(dt_kv_txn *txn);

/*
 * dt_kv_txn_abort: discards the transaction and frees the handle.  NULL is
 * allowed.  Iterators opened in it become unusable (still close them).
 */
void dt_kv_txn_abort(dt_kv_txn *txn);

/*
 * dt_kv_with_txn: runs fn(txn, userdata) inside a write transaction: reads
 * in fn see fn's own writes; if fn returns DT_OK the txn is committed,
 * otherwise it is aborted (nothing written) and fn's code returned.
 * fn must not end the txn itself.  When the map fills up (inside fn or at
 * commit) the txn is aborted, the map grown and fn RUN AGAIN from the start
 * in a new txn: fn must be re-runnable (no side effects outside the txn, or
 * ones it can repeat).
 * @retval DT_OK / fn's nonzero code / DT_MAPFULL / DT_BUSY / DT_IO /
 *         DT_MISUSE (bad handle, NULL fn, read-only env, nested in a
 *         write txn of the same thread)
 */
int dt_kv_with_txn(dt_kv *kv, int (*fn)(dt_kv_txn *txn, void *userdata), void *userdata);

/*
 * dt_kv_get: copies the value of `key` in `dbi` (for a DUPSORT dbi: its
 * first value) into a new buffer *out of *out_len bytes, freed with
 * dt_free.  `txn` may be NULL (a fresh snapshot).
 * dt_kv_get_view: the same without copying: *out points into the map
 * (valid until `txn` ends or its next write).  `txn` is required.
 * @retval DT_OK
 * @retval DT_NOTFOUND no such key (*out set to NULL / {NULL, 0})
 * @retval DT_INVALID  key of 0 or more than 511 bytes
 * @retval DT_MISUSE   bad kv/txn/dbi handle, txn of another kv, NULL out
 * @retval DT_NOMEM / DT_BUSY (no reader slot)
 * Thread-safe with txn NULL; with a txn, see dt_kv_txn_begin.
 */
int dt_kv_get(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen, void **out,
              size_t *out_len);
int dt_kv_get_view(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen,
                   dt_kv_bytes *out);

/* Flags for dt_kv_put. */
#define DT_KV_NOOVERWRITE 0x10000u /* fail with DT_CONFLICT if the key exists */
#define DT_KV_NODUPDATA                                                                            \
    0x20000u /* DUPSORT: fail with DT_CONFLICT if the                                              \
                key/value pair exists */
#define DT_KV_APPEND                                                                               \
    0x40000u /* the key (DUPSORT: key/value) sorts after                                           \
                every existing one: fast bulk load;                                                \
                DT_INVALID if it does not */

/*
 * dt_kv_put: stores `val` under `key` (replacing the value; in a DUPSORT
 * dbi adding a value).  In `txn` if given, else autocommit (retried after
 * map growth).
 * @retval DT_OK
 * @retval DT_CONFLICT      NOOVERWRITE/NODUPDATA and the key/pair exists
 * @retval DT_INVALID       key of 0 or > 511 bytes, DUPSORT value > 511
 *                          bytes, APPEND out of order, a flag that is
 *                          not a put flag
 * @retval DT_MAPFULL_RETRY (explicit txn only) see its definition
 * @retval DT_MAPFULL / DT_BUSY  the map could not grow
 * @retval DT_MISUSE        bad handle, read-only txn or env, a txn that
 *                          already failed (the sticky code is returned)
 * @retval DT_IO / DT_NOMEM
 * A write error other than DT_CONFLICT/DT_INVALID/DT_NOTFOUND makes an
 * explicit txn unusable: later calls return the same code; abort it.
 */
int dt_kv_put(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen, unsigned flags);

/*
 * dt_kv_del: deletes `key` (val NULL: with all its values) or, in a
 * DUPSORT dbi, only the pair key/val.  In `txn` if given, else autocommit.
 * @retval DT_OK
 * @retval DT_NOTFOUND no such key (or pair)
 * otherwise as dt_kv_put.
 */
int dt_kv_del(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen);

/* One operation of a batch. */
typedef enum dt_kv_op_type { DT_KV_OP_PUT = 1, DT_KV_OP_DEL = 2 } dt_kv_op_type;
typedef struct dt_kv_op {
    dt_kv_op_type type;
    dt_kv_dbi dbi;
    unsigned flags; /* put flags (DT_KV_NOOVERWRITE, ...) */
    dt_kv_bytes key;
    dt_kv_bytes val; /* DEL: val.ptr NULL deletes the key with all values */
} dt_kv_op;

/*
 * dt_kv_batch: applies ops[0..n-1] in order, atomically: in `txn` if
 * given, else in one write transaction of its own (retried as a whole
 * after map growth).  Deleting a missing key is not an error.  The first
 * failing op stops the batch and the message names its index; without
 * `txn` nothing is written then; with `txn` the ops before it stay applied
 * in `txn` (abort the txn to discard them).
 * @retval as dt_kv_put
 */
int dt_kv_batch(dt_kv *kv, dt_kv_txn *txn, const dt_kv_op *ops, size_t n);

/*
 * A key range for the range functions and iterators: entries whose key k
 * satisfies lo <(=) k <(=) hi, `lo` always the smaller end whatever the
 * direction.  A bound is DT_KV_UNBOUNDED (its bytes ignored), DT_KV_CLOSED
 * (inclusive) or DT_KV_OPEN (exclusive).  backward != 0 visits keys from
 * hi down to lo (and, in DUPSORT dbis, values in descending order).
 * limit > 0 stops after that many entries.  A NULL range pointer means the
 * whole dbi, forward, unlimited.  lo > hi is an empty range, not an error.
 */
typedef enum dt_kv_bound { DT_KV_UNBOUNDED = 0, DT_KV_CLOSED = 1, DT_KV_OPEN = 2 } dt_kv_bound;
typedef struct dt_kv_range {
    dt_kv_bytes lo;
    dt_kv_bound lo_bound;
    dt_kv_bytes hi;
    dt_kv_bound hi_bound;
    int backward;
    size_t limit;
} dt_kv_range;
#define DT_KV_RANGE_ALL                                                                            \
    { {NULL, 0}, DT_KV_UNBOUNDED, {NULL, 0}, DT_KV_UNBOUNDED, 0, 0 }

/*
 * dt_kv_list: entries copied out of the store by dt_kv_get_first,
 * dt_kv_get_range and dt_kv_key_range.  items[0..n-1] point into memory
 * the list owns; free it with dt_kv_list_free.  Start from DT_KV_LIST_INIT.
 */
typedef struct dt_kv_entry {
    dt_kv_bytes key;
    dt_kv_bytes val;
} dt_kv_entry;
typedef struct dt_kv_list {
    dt_kv_entry *items;
    size_t n;
    void *mem_; /* private */
} dt_kv_list;
#define DT_KV_LIST_INIT                                                                            \
    { NULL, 0, NULL }

/* dt_kv_list_free: frees what the list owns and empties it; NULL allowed. */
void dt_kv_list_free(dt_kv_list *list);

/*
 * dt_kv_get_range: the entries of `range` (in range order) into *out.
 * dt_kv_key_range: the distinct keys only (val is {NULL, 0}; a DUPSORT key
 * appears once; limit counts keys).
 * dt_kv_get_first: the first entry of `range` in its direction (n = 1).
 * dt_kv_range_count: the number of entries of `range` (at most limit).
 * `txn` may be NULL (a snapshot of its own).  *out is replaced (any
 * previous content freed) and is empty on error.
 * @retval DT_OK       (also for an empty result, except get_first)
 * @retval DT_NOTFOUND get_first: the range is empty
 * @retval DT_INVALID  bad bound kind
 * @retval DT_MISUSE / DT_NOMEM / DT_BUSY
 */
int dt_kv_get_range(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_list *out);
int dt_kv_key_range(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_list *out);
int dt_kv_get_first(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_list *out);
int dt_kv_range_count(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                      uint64_t *out);

/*
 * dt_kv_iter_open: a cursor over `range` (copied; its bytes need not
 * outlive the call).  In `txn` if given; with NULL the iterator holds a
 * read snapshot of its own until dt_kv_iter_close.
 * dt_kv_iter_next: the next entry as views into the map (key and/or val
 * may be NULL if not wanted), valid until the iterator's txn ends (the
 * iterator's own snapshot: until dt_kv_iter_close) or the txn's next write.
 * dt_kv_iter_close: frees the iterator; NULL allowed.  Close iterators
 * before closing the environment.
 * @retval DT_OK (open), DT_ROW (next: an entry), DT_DONE (next: no more)
 * @retval DT_MISUSE bad handle, or the iterator's txn has ended
 * @retval DT_INVALID / DT_NOMEM / DT_BUSY
 * An iterator is used by one thread at a time (any thread if its txn is
 * read-only).
 */
int dt_kv_iter_open(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_iter **out);
int dt_kv_iter_next(dt_kv_iter *it, dt_kv_bytes *key, dt_kv_bytes *val);
void dt_kv_iter_close(dt_kv_iter *it);

/*
 * dt_kv_iter_next_batch: the next entries, up to `max`, into out[0..*n)
 * as views (same lifetime as dt_kv_iter_next's), checking the handle once
 * per batch rather than once per entry: the fastest way to scan.
 * @retval DT_ROW  *n >= 1 entries (fewer than max at the end of the range)
 * @retval DT_DONE no more entries (*n = 0)
 * @retval DT_MISUSE bad handle, NULL out/n, max 0, or the txn has ended;
 *         other codes as dt_kv_iter_next (*n entries were filled before)
 * Same thread rules as dt_kv_iter_next.
 */
int dt_kv_iter_next_batch(dt_kv_iter *it, size_t max, dt_kv_entry *out, size_t *n);

/*
 * dt_kv_copy: hot backup of the environment into directory `dest_dir`
 * (created if missing; it must not already hold a data.mdb), consistent as
 * of one snapshot, while readers and the writer go on.  compact != 0
 * omits free pages and renumbers (smaller, slower to make).
 * @retval DT_OK / DT_IO (dest not writable, data.mdb exists) / DT_MISUSE
 * Thread-safe.
 */
int dt_kv_copy(dt_kv *kv, const char *dest_dir, int compact);

/* Environment statistics (dt_kv_stat). */
typedef struct dt_kv_envstat {
    uint64_t map_size;     /* current map size in bytes */
    uint64_t max_map_size; /* growth limit (0: none) */
    uint64_t page_size;    /* bytes per page */
    uint64_t last_page;    /* number of the last page in use */
    uint64_t used_bytes;   /* (last_page + 1) * page_size */
    double map_use;        /* used_bytes / map_size, 0..1 */
    uint64_t last_txn_id;  /* id of the last committed write txn */
    unsigned max_readers;  /* reader slots */
    unsigned num_readers;  /* reader slots in use (all processes; includes
                              this process's pooled read transactions) */
    unsigned num_dbis;     /* dbis open through this handle */
} dt_kv_envstat;

/* Statistics of one dbi (dt_kv_dbi_stat). */
typedef struct dt_kv_dbistat {
    uint64_t entries; /* key/value pairs (DUPSORT: every value) */
    unsigned depth;   /* B-tree depth */
    uint64_t branch_pages;
    uint64_t leaf_pages;
    uint64_t overflow_pages;
    unsigned page_size;
} dt_kv_dbistat;

/*
 * dt_kv_stat: statistics of the environment.
 * dt_kv_dbi_stat: statistics of `dbi` as seen by `txn` (NULL: latest).
 * @retval DT_OK / DT_MISUSE (bad handle, NULL out) / DT_BUSY
 * Thread-safe.
 */
int dt_kv_stat(dt_kv *kv, dt_kv_envstat *out);
int dt_kv_dbi_stat(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, dt_kv_dbistat *out);

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
 * bytes[0..len) into *out (caller owns it, clear with dt_value_free) and
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

/* {====== Datalog store ====== */

/*
 * A Datolite database is a directory holding an LMDB environment with the
 * datoms [entity attribute value tx] in two indexes (EAV and AVE), the
 * schema, a transaction log and a history of retractions.  A connection
 * (dt_conn) is the open database; a snapshot (dt_db) is an immutable view
 * of it as of one transaction; transact writes.  docs/datalog.md is the
 * user guide, docs/format.md the file format.
 *
 * Entity ids are 1 .. 2^42-1; transaction ids are 2^42 + t for the t-th
 * transaction.  An entity position takes a user entity id (or the current
 * transaction); a ref value takes a user entity id or the id of an earlier
 * or the current transaction.  Any other number (0, 2^42, beyond the
 * latest transaction, 2^43 and up) is refused with DT_INVALID by
 * transact, import, the bulk loader and the reads that take entity ids
 * (dt_db_entid, dt_db_datoms components).  Tempids get one more than the
 * largest id ever used; once an explicit id has taken that to the top,
 * they get free ids (docs/datalog.md, "Entity ids").
 *
 * Attributes are named by keyword text in the C API and as
 * keywords in EDN.  Every function that takes an attribute name as C text
 * (dt_db_index_range, dt_db_attr_stats, dt_loader_add) accepts it with or
 * without the leading colon: "user/name" and ":user/name" are the same
 * attribute (so is a keyword value built with the colon).  Names returned
 * (dt_datom.a) have no colon.  Reads refuse an attribute the schema does
 * not know with DT_INVALID.
 *
 * Values given for an attribute, whether written (transact, import, bulk
 * load) or looked for (datoms, counts, ranges, lookup refs), go through
 * one coercion: a value of the attribute's type, or a long for bigint or
 * bigdec, a bigint for bigdec, a double for float (within float range), a
 * float for double, a vector for tuple.  Anything else, and nil, is
 * DT_INVALID with a message naming the attribute, the expected and the
 * given type, for writes and reads alike (docs/datalog.md, "Value types
 * and coercion").
 */

typedef struct dt_conn dt_conn;     /* an open database */
typedef struct dt_db dt_db;         /* a read snapshot */
typedef struct dt_report dt_report; /* what a transaction did */
typedef struct dt_datom_iter dt_datom_iter;

/*
 * A datom as the API shows it.  `a` and `v` are borrowed: valid until the
 * next step of the iterator (or until the report is freed) and owned by
 * it; copy `v` with dt_value_copy to keep it.
 */
typedef struct dt_datom {
    int64_t e;
    const char *a; /* attribute ident, keyword text without the colon */
    dt_value v;
    int64_t tx; /* the transaction that asserted (or retracted) it */
    int added;  /* 1: asserted, 0: retracted (reports, logs and history views) */
} dt_datom;

/* The first transaction id; every id >= DT_TX0 is a transaction. */
#define DT_TX0 ((int64_t)1 << 42)

/*
 * Connection options.  Start from DT_CONN_OPTIONS_INIT.
 *   kv             options of the LMDB environment (map size, durability
 *                  flags: see dt_kv_options).
 *   closed_schema  1: transacting an attribute the schema does not declare
 *                  is an error (DT_SCHEMA).  0 (default): such attributes
 *                  are created on first use, typed by their values, as in
 *                  DataScript and Datalevin.
 */
typedef struct dt_fn_def dt_fn_def;

/*
 * Version 3: the entries of `fns` are dt_fn_def with its last field, qfn
 * (query functions).  With version 2 the library reads `fns` as entries
 * of the earlier layout (without qfn), so programs built then keep
 * working.
 * Version 2 adds the transaction-function fields (docs/functions.md):
 *   fns, nfns      the host registry: functions this process implements,
 *                  callable by their id and through stored descriptors
 *                  (copied at open; `fns` may be freed afterwards, the
 *                  userdata pointers are kept as given).
 *   fn_memory      the memory cap of the connection's Lua state in bytes
 *                  (0: DT_FN_MEMORY_DEFAULT; at least 1 MiB); each of the
 *                  Lua states that run query functions (one per thread
 *                  calling them at the same time) has the same cap.
 *   fn_steps       the instruction budget of the function calls of one
 *                  transaction, in Lua VM instructions; every call costs
 *                  at least 1,000 (0: DT_FN_STEPS_DEFAULT).  Each call of
 *                  a Lua query function has this budget of its own.
 */
typedef struct dt_conn_options {
    unsigned version;
    dt_kv_options kv;
    int closed_schema;
    /* version 2 */
    const dt_fn_def *fns;
    size_t nfns;
    size_t fn_memory;
    uint64_t fn_steps;
} dt_conn_options;

#define DT_FN_MEMORY_DEFAULT ((size_t)64 << 20)
#define DT_FN_STEPS_DEFAULT  ((uint64_t)10000000)

#define DT_CONN_OPTIONS_VERSION 3
#define DT_CONN_OPTIONS_INIT                                                                       \
    { DT_CONN_OPTIONS_VERSION, DT_KV_OPTIONS_INIT, 0, NULL, 0, 0, 0 }

/*
 * dt_conn_open: opens the database in directory `dir`, creating it when
 * missing.  `schema_edn`, if not NULL, is an EDN schema map
 * ({:user/email {:db/valueType :db.type/string :db/unique
 * :db.unique/identity} ...}) applied as by dt_conn_update_schema.
 * `opts` may be NULL.
 * @retval DT_OK
 * @retval DT_CORRUPT  the directory holds another program's file, or a
 *                     Datolite database of another format version, or a
 *                     truncated data.mdb
 * @retval DT_INVALID  the schema text is not valid EDN, an unknown
 *                     options version (of dt_conn_options or its kv)
 * @retval DT_SCHEMA   the schema is invalid or conflicts with the data
 * @retval DT_IO / DT_NOMEM / DT_BUSY / DT_MISUSE
 * Messages: dt_errmsg(NULL).  *out is the connection (NULL on error);
 * close it with dt_conn_close.  Thread-safe; open a directory once per
 * process and share the connection between threads.
 */
int dt_conn_open(const char *dir, const char *schema_edn, const dt_conn_options *opts,
                 dt_conn **out);

/*
 * dt_conn_close: closes the connection and frees it.  NULL is allowed.
 * @retval DT_OK
 * @retval DT_BUSY   snapshots or iterators are still open: release them
 *                   first (nothing is closed)
 * @retval DT_MISUSE not a connection
 * Not thread-safe: no other thread may use `conn` during or after it.
 */
int dt_conn_close(dt_conn *conn);

/*
 * dt_conn_update_schema: adds or changes attributes from an EDN schema
 * map, in one write transaction.  A change that the existing data forbids
 * fails with DT_SCHEMA and changes nothing: a new value type for an
 * attribute that has datoms of another type, :db/unique on an attribute
 * with duplicate values, cardinality one on an attribute with several
 * values for an entity, :db/isComponent on a non-ref attribute.
 * @retval DT_OK
 * @retval DT_INVALID bad EDN, or not a map of attribute definitions
 * @retval DT_SCHEMA  an invalid definition, or a change the data forbids
 * @retval DT_MISUSE  not an open connection, NULL text, or a thread that
 *                    holds the connection's writer (an open block)
 * @retval DT_MAPFULL the map filled up and may not grow (growing maps are
 *                    handled: the change runs again)
 * @retval DT_BUSY / DT_IO / DT_NOMEM
 * Messages on `conn`.  Thread-safe.
 */
int dt_conn_update_schema(dt_conn *conn, const char *schema_edn);

/*
 * dt_conn_update_schema_text: dt_conn_update_schema of the EDN text
 * text[0..len) (need not be NUL-terminated).  All of it is read: a NUL
 * byte or malformed UTF-8 anywhere in it is DT_INVALID with the byte
 * offset and line:column, and nothing changes.  Same results otherwise.
 */
int dt_conn_update_schema_text(dt_conn *conn, const char *text, size_t len);

/*
 * dt_conn_schema: the current schema as EDN text (a map from attribute
 * keyword to definition, implicit attributes included, built-ins not),
 * in *out (free with dt_free).  @retval DT_OK / DT_NOMEM / DT_MISUSE.
 * Thread-safe.
 */
int dt_conn_schema(dt_conn *conn, char **out);

/*
 * dt_transact: applies the tx-data `tx_edn` (EDN text: a vector of list
 * forms and entity maps, as in Datomic/DataScript) in one durable
 * transaction.  Either everything is written or nothing is.
 * dt_transact_value: the same from an already built value (a vector or
 * list of forms).
 * Accepted forms: maps with or without :db/id (tempid string, negative
 * integer, entity id, lookup ref [:attr value], ident keyword), nested
 * maps under ref attributes, reverse attributes (:_attr), collections
 * for cardinality-many attributes; [:db/add e a v], [:db/retract e a v],
 * [:db/retract e a] (a component attribute's entities too, as DataScript),
 * [:db/retractEntity e], [:db/cas e a old new].
 * docs/datalog.md lists the rules.
 * @param out  NULL, or receives the report (free with dt_report_close)
 * @retval DT_OK
 * @retval DT_INVALID  malformed tx-data, wrong value type, unknown form
 * @retval DT_SCHEMA   unknown attribute with a closed schema
 * @retval DT_NOTFOUND a lookup ref or ident that matches nothing
 * @retval DT_CONFLICT :db/cas mismatch, unique value taken, conflicting
 *                     upserts
 * @retval DT_LIMIT    tx-data nested deeper than DT_TX_MAX_DEPTH
 * @retval DT_MISUSE / DT_IO / DT_NOMEM / DT_MAPFULL
 * Messages on `conn` (name the form, attribute, expected and given).
 * Thread-safe: transactions are serialized.
 * Tx-data nests at most DT_TX_MAX_DEPTH levels deep: a top-level form is
 * one level, each nested entity map (and each form a transaction function
 * returns) one more; deeper is DT_LIMIT.
 */
#define DT_TX_MAX_DEPTH 64
int dt_transact(dt_conn *conn, const char *tx_edn, dt_report **out);
int dt_transact_value(dt_conn *conn, const dt_value *tx_data, dt_report **out);

/*
 * dt_transact_text: dt_transact of the EDN text text[0..len) (need not be
 * NUL-terminated): the way to transact text of a known length, such as a
 * file's contents.  All of it is read: a NUL byte or malformed UTF-8
 * anywhere in it is DT_INVALID with the byte offset and line:column in
 * the message, and nothing is written.  (The functions taking a C string
 * read up to its first NUL, by definition.)  Same results otherwise.
 */
int dt_transact_text(dt_conn *conn, const char *text, size_t len, dt_report **out);

/*
 * Report accessors; all borrow from the report and are valid until
 * dt_report_close.  Not thread-safe on one report.
 *  dt_report_tx          the transaction id
 *  dt_report_count       the number of datoms added and retracted
 *  dt_report_datom       the i-th (0-based) of them, in the order they
 *                        were made (DT_OK, or DT_NOTFOUND past the end);
 *                        the transaction's own :db/txInstant included
 *  dt_report_tempids     a DT_MAP from each tempid as written (string or
 *                        negative long) to its entity id (DT_LONG)
 *  dt_report_tempid      the entity id of one tempid (DT_NOTFOUND)
 *  dt_report_db_before / dt_report_db_after
 *                        snapshots before and after the transaction
 *                        (borrowed; release nothing); NULL for reports of
 *                        blocks and async transactions
 * Result codes: dt_report_datom and dt_report_tempid return DT_OK,
 * DT_NOTFOUND (past the end / no such tempid; no message) or DT_MISUSE
 * (not a report, NULL tempid or out).  The others cannot fail: given a
 * bad report they return 0 / NULL.
 */
int64_t dt_report_tx(const dt_report *r);
size_t dt_report_count(const dt_report *r);
int dt_report_datom(const dt_report *r, size_t i, dt_datom *out);
const dt_value *dt_report_tempids(const dt_report *r);
int dt_report_tempid(const dt_report *r, const dt_value *tempid, int64_t *out);
dt_db *dt_report_db_before(dt_report *r);
dt_db *dt_report_db_after(dt_report *r);
void dt_report_close(dt_report *r);

/*
 * dt_conn_db: a snapshot of the database as of now (*out; release with
 * dt_db_close).  It never changes and never blocks writers; but while it
 * lives LMDB cannot reuse pages freed after it, so release it when done.
 * @retval DT_OK / DT_BUSY (no reader slot) / DT_MISUSE / DT_NOMEM
 * Thread-safe.  A dt_db may be used by one thread at a time (any thread).
 */
int dt_conn_db(dt_conn *conn, dt_db **out);
void dt_db_close(dt_db *db);

/* dt_db_basis_tx: the id of the last transaction the snapshot sees (0 if
 * none). */
int64_t dt_db_basis_tx(const dt_db *db);

/*
 * Time views.  A view is a dt_db that shows the snapshot `db` at another
 * time; it is accepted everywhere a dt_db is (dt_db_datoms and the other
 * datom readers, dt_pull, dt_entity_get, dt_q and as a named query source
 * such as $before, dt_db_entid, dt_db_attr_stats) and released with
 * dt_db_close.  It reads db's own transaction: it sees nothing db does not.
 *
 * dt_db_as_of: the database as of transaction `tx`: the datoms asserted
 *   at a tx <= `tx` and not retracted at a tx <= `tx`.  `tx` is a
 *   transaction id (as dt_db_basis_tx gives), or 2^42 (the id before the
 *   first transaction: an empty database); a tx at or after db's basis
 *   gives the database as db sees it.
 * dt_db_as_of_instant: as of the last transaction whose :db/txInstant is
 *   <= ms (milliseconds since the epoch; before the first one: empty).
 *   dt_db_tx_at gives that transaction id (2^42 when none) into *out.
 * dt_db_since: only the datoms asserted at a tx > `tx` (among those db
 *   sees; `tx` as for as-of).
 * dt_db_history: every assertion and retraction ever made: iterators
 *   yield each datom the database holds or held once per assertion
 *   (dt_datom.added 1, tx = the asserting transaction) and once per
 *   retraction (added 0, tx = the retracting transaction), in index order
 *   then tx order; queries read the flag in the fifth position of a data
 *   pattern [?e :attr ?v ?tx ?added].
 * A view of a view combines both: as-of keeps the earlier bound, since
 * the later one, and history stays history (the history of an as-of view
 * holds the events up to its tx).
 *
 * Views use db's schema (attributes installed later are known; they have
 * no datoms in the past).  Reading the past merges the current indexes
 * with the retracted datoms the database keeps (dt/history): cheap per
 * entity; the first whole-attribute or whole-index read of a view builds
 * an in-memory index of the history it needs (kept until the view is
 * closed).  Entities of a view read through it (see dt_entity_get).
 *
 * Ownership: *out is a new handle (release with dt_db_close, before or
 * after db's).  The view keeps db's transaction alive: dt_db_close(db)
 * while views are open ends db's handle but the snapshot lives until the
 * last view is closed; dt_db_refresh(db) fails with DT_BUSY while views
 * of db are open.  A view's basis (dt_db_basis_tx) is db's.
 * @retval DT_OK
 * @retval DT_INVALID  `tx` is not a transaction id (negative, or an entity
 *                     id below 2^42), or (as-of) it is before the history
 *                     watermark (dt_history_gc dropped what it needs;
 *                     dt_db_history_floor gives the earliest tx accepted)
 * @retval DT_MISUSE   db not a live snapshot or view, NULL out, or db's
 *                     transaction ended
 * @retval DT_NOMEM
 * Messages on `db`.  Thread-safety: a view is used by the thread using
 * db (one thread at a time for the snapshot and all its views).
 */
int dt_db_as_of(dt_db *db, int64_t tx, dt_db **out);
int dt_db_as_of_instant(dt_db *db, int64_t ms, dt_db **out);
int dt_db_since(dt_db *db, int64_t tx, dt_db **out);
int dt_db_history(dt_db *db, dt_db **out);
int dt_db_tx_at(dt_db *db, int64_t ms, int64_t *out);

/* What kind of view a dt_db is (dt_db_view_info). */
typedef struct dt_view_info {
    int is_view;   /* 0: db is a snapshot itself (the fields below are 0) */
    int64_t as_of; /* the as-of transaction, 0 if none */
    int64_t since; /* the since transaction, 0 if none */
    int history;   /* 1 for a history view */
} dt_view_info;

/*
 * dt_db_view_info: the kind of view db is into *out (zeros for a plain
 * snapshot).  @retval DT_OK / DT_MISUSE (db not live or NULL out; *out
 * is zeroed when not NULL).  No message.  Same thread rules as db.
 */
int dt_db_view_info(const dt_db *db, dt_view_info *out);

typedef enum dt_index { DT_INDEX_EAV = 0, DT_INDEX_AVE = 1 } dt_index;

/*
 * dt_db_datoms: iterates the datoms of `index` whose leading components equal
 * components[0..n) (EAV: e, attribute, value; AVE: attribute, value, e).
 * e is a DT_LONG or DT_REF entity id, an ident keyword or a lookup ref
 * vector (one that matches nothing matches no datoms); the attribute a
 * DT_KEYWORD naming a known attribute; a value is coerced as for writes
 * (see above).  n = 0 iterates the whole index.
 * dt_db_seek_datoms: iterates from the first datom >= the components to the
 * end of the index.
 * dt_db_index_range: the AVE datoms of `attr` (with or without the colon)
 * with start <= v <= end in value order; start or end may be NULL or nil
 * (unbounded).
 * dt_db_count_datoms: the number of datoms dt_db_datoms would yield.
 * The iterator (*out, free with dt_datom_iter_close before releasing `db`)
 * yields DT_ROW with *out filled (borrowed, see dt_datom), then DT_DONE.
 * dt_db_datoms, dt_db_seek_datoms, dt_db_index_range, dt_db_count_datoms:
 * @retval DT_OK
 * @retval DT_INVALID more than 3 components; an entity component that is
 *                    not an entity reference; an attribute component that
 *                    is not a keyword, or an attribute the schema does not
 *                    know; a value that cannot be coerced to the
 *                    attribute's type (the message says which)
 * @retval DT_MISUSE  not a live snapshot, NULL out, NULL components with
 *                    n > 0
 * @retval DT_NOMEM   out of memory
 * On error *out is NULL (0 for counts).
 * dt_datom_iter_next:
 * @retval DT_ROW     *out holds the next datom
 * @retval DT_DONE    no more datoms
 * @retval DT_MISUSE  not an iterator, NULL out
 * @retval DT_CORRUPT a malformed index entry (message on the iterator)
 * @retval DT_NOMEM   out of memory
 * Messages on `db` (on the iterator for dt_datom_iter_next).  Same thread
 * rules as the snapshot.
 */
int dt_db_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                 dt_datom_iter **out);
int dt_db_seek_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                      dt_datom_iter **out);
int dt_db_index_range(dt_db *db, const char *attr, const dt_value *start, const dt_value *end,
                      dt_datom_iter **out);
int dt_datom_iter_next(dt_datom_iter *it, dt_datom *out);
void dt_datom_iter_close(dt_datom_iter *it);
int dt_db_count_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                       uint64_t *out);

/*
 * dt_db_entid: resolves an entity reference (an id, an ident keyword, or a
 * lookup ref [:unique-attr value]) to an entity id.
 * @retval DT_OK / DT_NOTFOUND (nothing matches) / DT_INVALID (not a
 *         reference, the lookup attribute is unknown or not unique, or the
 *         lookup value cannot be coerced to its type) / DT_MISUSE
 *         (not a live snapshot, NULL ref or out) / DT_NOMEM
 * Messages on `db`.  Same thread rules as the snapshot.
 */
int dt_db_entid(dt_db *db, const dt_value *ref, int64_t *out);

/*
 * Statistics of one attribute, kept up to date by every write: datom
 * count, number of distinct values, smallest and largest value (nil when
 * the attribute has no datoms; owned, clear with dt_attr_stats_free).
 * dt_db_attr_stats: `attr` with or without the colon.
 * @retval DT_OK / DT_INVALID (unknown attribute) / DT_MISUSE / DT_NOMEM
 */
typedef struct dt_attr_stats {
    uint64_t count;
    uint64_t distinct;
    dt_value min;
    dt_value max;
} dt_attr_stats;

/*
 * dt_db_attr_stats: the statistics of `attr` (keyword text without the
 * colon) as the snapshot sees them, into *out (caller owns; clear with
 * dt_attr_stats_free).  dt_attr_stats_free frees min and max; NULL is
 * allowed.
 * @retval DT_OK
 * @retval DT_NOTFOUND no such attribute
 * @retval DT_MISUSE   not a live snapshot, NULL attr or out
 * @retval DT_CORRUPT / DT_NOMEM  reading the edge values failed
 * Messages on `db`.  Same thread rules as the snapshot.
 */
int dt_db_attr_stats(dt_db *db, const char *attr, dt_attr_stats *out);
void dt_attr_stats_free(dt_attr_stats *s);

/*
 * Bulk loading (init-db / fill-db), as in Datalevin: prepared datoms with
 * explicit entity ids go straight into the indexes, sorted (with bounded
 * memory: sorted runs spill to temporary files) and appended, without
 * tempid resolution or upserts.  Values are still type-checked against the
 * schema; undeclared attributes are created, typed by their values.
 *   DT_LOAD_INIT  the database must hold no datoms yet (else DT_MISUSE).
 *   DT_LOAD_FILL  adds to an existing database; a datom already present is
 *                 skipped; a second value for a cardinality-one attribute
 *                 or a taken unique value is an error (DT_CONFLICT).
 * Either way the load is all or nothing: when dt_loader_finish returns an
 * error (or the loader is freed unfinished) nothing is written.  The load
 * gets one transaction id (with :db/txInstant); its tx-log entry records
 * the load ({:bulk-load n}), not every datom.
 * DT_LOAD_FILL writes in one LMDB transaction, which keeps every page it
 * dirties in memory up to ~512 MiB.  DT_LOAD_INIT commits in chunks
 * (chunk_size below) to bound memory; a failure after some chunks were
 * committed removes them again.  So readers that take snapshots during an
 * init-db may see part of it (datoms without their statistics); no other
 * writer of the connection runs meanwhile.  A database whose init-db was
 * interrupted (the process died) is refused by dt_conn_open (DT_CORRUPT):
 * delete the directory and load again; while the load still runs, other
 * processes' dt_conn_open gets DT_BUSY.
 */
typedef struct dt_loader dt_loader;

typedef enum dt_load_mode { DT_LOAD_INIT = 0, DT_LOAD_FILL = 1 } dt_load_mode;

/*
 * Loader options (start from DT_LOAD_OPTIONS_INIT):
 *   mem_budget  bytes of sorted runs kept in memory (0: 128 MiB)
 *   tmpdir      where runs spill (NULL: $TMPDIR or /tmp)
 *   chunk_size  DT_LOAD_INIT: bytes of index entries (keys and values)
 *               written per committed transaction (0: 64 MiB; SIZE_MAX:
 *               the whole load in one transaction, as DT_LOAD_FILL).
 *               Ignored by DT_LOAD_FILL.  (Since version 2.)
 */
typedef struct dt_load_options {
    unsigned version;
    size_t mem_budget;
    const char *tmpdir;
    size_t chunk_size;
} dt_load_options;

#define DT_LOAD_OPTIONS_VERSION 2
#define DT_LOAD_OPTIONS_INIT                                                                       \
    { DT_LOAD_OPTIONS_VERSION, 0, NULL, 0 }

/*
 * dt_loader_open: starts a bulk load into `conn`.  `opts` may be NULL.
 * Holds the connection's writer slot until finished or freed: other
 * writers wait.  *out is freed with dt_loader_close.
 * DT_LOAD_INIT is atomic in its outcome (all or nothing once
 * dt_loader_finish returns) but not towards concurrent readers: its chunks
 * become visible to new snapshots as they commit.  From its first commit
 * to its last, every other write of the directory (any connection or KV
 * handle, in this process or another) fails with DT_BUSY.
 * @retval DT_OK / DT_MISUSE (init on a non-empty database, bad handle,
 *         unknown mode) / DT_INVALID (unknown options version) / DT_NOMEM
 * A loader is used by one thread.
 */
int dt_loader_open(dt_conn *conn, dt_load_mode mode, const dt_load_options *opts, dt_loader **out);

/*
 * dt_loader_add: adds the datom [e attr v] (attr: keyword text, with or
 * without the colon; v a datom value, coerced as by transact; ref values
 * are entity ids).
 * dt_loader_add_edn: adds the datoms in EDN text: [e :attr v] vectors, one
 * after another (typically one per line) or inside one enclosing vector.
 * dt_loader_add_msgpack: adds the datoms in msgpack bytes: a sequence of
 * arrays [e attr v] (attr a keyword ext or a string), each one complete.
 * @retval DT_OK
 * @retval DT_INVALID  malformed input (message with line:column or byte
 *                     offset), wrong value type, bad entity id
 * @retval DT_SCHEMA   unknown attribute with a closed schema
 * @retval DT_MISUSE   not a loader, NULL arguments, a finished load
 * @retval DT_IO / DT_NOMEM
 * Messages on the loader.  After an error the loader accepts nothing more
 * (later calls return the same code); free it.
 */
int dt_loader_add(dt_loader *ld, int64_t e, const char *attr, const dt_value *v);
int dt_loader_add_edn(dt_loader *ld, const char *text, size_t len);
int dt_loader_add_msgpack(dt_loader *ld, const void *bytes, size_t len);

/*
 * dt_loader_add_msgpack_part: dt_loader_add_msgpack for a stream read in
 * pieces (a large file read block by block, with bounded memory): adds the
 * complete datoms at the start of bytes[0..len) and sets *consumed to
 * their length; a datom cut off at the end is left for the next call, to
 * be passed again with the bytes that follow it.  Pass the last piece of
 * the stream (what is left at its end) to dt_loader_add_msgpack, which
 * reports a cut-off datom as an error.  Error messages give the byte
 * offset in the whole stream.  Results and thread rules as
 * dt_loader_add_msgpack; DT_MISUSE also for a NULL consumed.
 */
int dt_loader_add_msgpack_part(dt_loader *ld, const void *bytes, size_t len, size_t *consumed);

/*
 * dt_loader_finish: sorts and writes everything (DT_LOAD_FILL: in one
 * transaction; DT_LOAD_INIT: in chunks, the last one adding the counters,
 * statistics and tx-log; on an error the chunks committed are removed) and
 * ends the load; *out_count (may be NULL) receives the number of datoms
 * written.  The loader must still be freed.
 * @retval DT_OK / DT_CONFLICT (cardinality-one or unique violated) /
 *         DT_MAPFULL (the map may not grow; growing maps are handled) /
 *         DT_IO / DT_NOMEM / DT_MISUSE (not a loader, finished already) /
 *         the code of an earlier failed call
 * Messages on the loader.
 */
int dt_loader_finish(dt_loader *ld, uint64_t *out_count);

/* dt_loader_close: frees the loader; an unfinished load writes nothing. */
void dt_loader_close(dt_loader *ld);

/*
 * dt_import_edn: transacts a large EDN tx-data text (a vector of forms,
 * e.g. entity maps with tempids) in batches of `batch` forms (0: 10000),
 * each an ordinary transaction; tempids are shared across batches, so a
 * tempid used in two batches names one entity.  *out_tx_count (may be
 * NULL) receives the number of transactions.  On an error the batches
 * before it stay committed; the message names the form.
 * @retval as dt_transact (DT_INVALID also for text that is not a vector
 *         of forms, before anything is written)
 */
int dt_import_edn(dt_conn *conn, const char *text, size_t len, size_t batch,
                  uint64_t *out_tx_count);

/* }====== */

/* {====== Queries ====== */

/*
 * dt_cancel: a cancellation token.  Give it to long operations (queries,
 * through dt_query_options.cancel); any thread may trigger it, and the
 * operation then stops soon with DT_INTERRUPT.  A triggered token stays
 * triggered until dt_cancel_reset.
 * dt_cancel_new: @retval DT_OK / DT_NOMEM / DT_MISUSE (NULL out).
 * dt_cancel_trigger, dt_cancel_reset: NULL is ignored; thread-safe (an
 * atomic flag).  dt_cancel_triggered: 1 when triggered.
 * dt_cancel_free: NULL is allowed; no operation may still use the token.
 */
typedef struct dt_cancel dt_cancel;
int dt_cancel_new(dt_cancel **out);
void dt_cancel_trigger(dt_cancel *c);
void dt_cancel_reset(dt_cancel *c);
int dt_cancel_triggered(const dt_cancel *c);
void dt_cancel_free(dt_cancel *c);

/*
 * Pull: the values of one entity (and the entities it refers to) as a
 * nested map, selected by a pattern, with Datomic's and DataScript's pull
 * syntax and DataScript's results (docs/query.md, "Pull"):
 *
 *   [:name :age]                   attributes (cardinality many: a vector)
 *   [*]                            every attribute, :db/id, components in full
 *   [:name {:friend [:name]}]      a ref followed with a sub-pattern
 *   [:name :_friend]               reverse: the entities whose :friend is this one
 *   [:db/id [:alias :limit 2] [:nick :default "none"] [:name :as "n"]]
 *   [(limit :alias nil) (default :age 0)]
 *   [:name {:follows ...}]         recursion (also {:follows 3}: three levels)
 *
 * A ref without a sub-pattern gives {:db/id e}; an entity met again on the
 * path of a recursion gives {:db/id e}; entity ids are DT_LONG values (as
 * in query results).
 * A cardinality-many attribute gives at most 1000 values unless :limit
 * says otherwise (nil: all).  A map that would be empty is nil: the
 * result of an entity with none of the attributes, or that does not
 * exist, is nil.
 *
 * dt_pull: pattern is the EDN text pattern[0..len) of a pattern vector;
 * eid an entity id (DT_LONG or DT_REF), an ident keyword or a lookup ref
 * [:attr value].  *out receives the map or nil (nil also when a lookup
 * ref or ident matches no entity, as DataScript); the caller owns it
 * (dt_value_free).  dt_pull_value: the same with the pattern as a value
 * (borrowed).  dt_pull_many: pulls eids[0..n) with one compiled pattern;
 * *out is a vector of n items (a map, or nil for an entity with nothing
 * to pull or no entity), owned by the caller; one reference that fails
 * (a malformed one) fails the call.
 * @retval DT_OK
 * @retval DT_INVALID  malformed EDN or pattern (the message shows the
 *                     offending part: "pull: a map spec needs a ref
 *                     attribute, got :name in [{:name [:x]}]"), an entity
 *                     reference that is not an id, ident or lookup ref,
 *                     a history view (dt_db_history: no single value per
 *                     attribute; as-of and since views pull as usual)
 * @retval DT_LIMIT    a result nesting entities deeper than 1000 levels, a
 *                     pattern value nesting sub-patterns deeper than 128
 * @retval DT_MISUSE   NULL arguments, db not a live snapshot or view
 * @retval DT_NOMEM, DT_CORRUPT
 * On error *out is nil and the message is on db (dt_errmsg(db)).
 * Thread-safety: as any read of db (one thread at a time per snapshot).
 */
int dt_pull(dt_db *db, const char *pattern, size_t len, const dt_value *eid, dt_value *out);
int dt_pull_value(dt_db *db, const dt_value *pattern, const dt_value *eid, dt_value *out);
int dt_pull_many(dt_db *db, const char *pattern, size_t len, const dt_value *eids, size_t n,
                 dt_value *out);

/*
 * Arenas: memory for results that are read and then dropped together.  A
 * pull into an arena makes no allocation per string, map or vector (about
 * a third of a pull's time on the heap): everything goes into the arena's
 * blocks, and dt_arena_reset drops it all at once, keeping a block for the
 * next results.
 *
 * dt_arena_new: an empty arena in *out (caller owns; dt_arena_free).
 * @retval DT_OK, DT_NOMEM, DT_MISUSE (NULL out; *out untouched)
 * Messages on dt_errmsg(NULL).
 * dt_arena_reset: invalidates every value in the arena; keeps its newest
 * (largest) block for reuse.  dt_arena_free: frees the arena and every
 * value in it (NULL is allowed).
 * Thread-safety: an arena is used by one thread at a time (a pull into it
 * and a reset are writes); the values in it may be read by any number of
 * threads at once while nothing writes to the arena.
 */
typedef struct dt_arena dt_arena;
int dt_arena_new(dt_arena **out);
void dt_arena_reset(dt_arena *a);
void dt_arena_free(dt_arena *a);

/*
 * dt_pull_in, dt_pull_many_in: dt_pull and dt_pull_many with the result in
 * `arena`.  *out (the root value, in the caller's storage) borrows the
 * arena's memory: read it, copy it (dt_value_copy gives an ordinary value
 * the caller owns), but never dt_value_free it or change it (values in an
 * arena may share parts); it is valid until dt_arena_reset or
 * dt_arena_free.  Results and errors are those of dt_pull and
 * dt_pull_many, plus DT_MISUSE for a NULL arena; on an error *out is nil
 * and what the pull had put into the arena stays there until its reset.
 * Thread-safety: as any read of db (one thread at a time per snapshot),
 * and the arena's own rule above.
 */
int dt_pull_in(dt_db *db, const char *pattern, size_t len, const dt_value *eid, dt_arena *arena,
               dt_value *out);
int dt_pull_many_in(dt_db *db, const char *pattern, size_t len, const dt_value *eids, size_t n,
                    dt_arena *arena, dt_value *out);

/*
 * Running Datalog queries (docs/query.md has the language and a worked
 * example).  A query is prepared once (parsed and checked) into an
 * immutable dt_query, then run any number of times, from any number of
 * threads at once, on any snapshot, with positional inputs.  A run gives
 * a dt_result: rows of cells in the shape the :find spec asks for.
 */

/* Options of one query run.  Start from DT_QUERY_OPTIONS_INIT; NULL
 * options are the defaults (no deadline, no row cap, automatic plan). */
#define DT_QUERY_OPTIONS_VERSION 1
typedef enum dt_plan_mode {
    DT_PLAN_AUTO = 0, /* the planned evaluator */
    DT_PLAN_NAIVE = 1 /* the reference evaluator: written order, nested loops */
} dt_plan_mode;
typedef struct dt_query_options {
    unsigned version;        /* DT_QUERY_OPTIONS_VERSION */
    uint32_t timeout_ms;     /* 0: no deadline; else DT_TIMEOUT after it */
    uint64_t max_rows;       /* 0: no cap; else DT_LIMIT when an intermediate
                                result (or the result) has more rows */
    dt_plan_mode plan;       /* which evaluator runs the query */
    const dt_cancel *cancel; /* NULL: none; triggered: DT_INTERRUPT */
} dt_query_options;
#define DT_QUERY_OPTIONS_INIT                                                                      \
    { DT_QUERY_OPTIONS_VERSION, 0, 0, DT_PLAN_AUTO, NULL }

/*
 * dt_input: one positional input of a query run, in :in order.  Set
 * exactly one of: `db` for a source ($, $name); `value` (borrowed for the
 * call) for anything else -- a scalar, tuple, collection or relation for
 * a binding form, the rules vector for %, a pull pattern for a pattern
 * name; or `edn`/`edn_len`, the same value as EDN text.
 */
typedef struct dt_input {
    dt_db *db;
    const dt_value *value;
    const char *edn;
    size_t edn_len;
} dt_input;

typedef struct dt_query dt_query;   /* a prepared query: immutable, thread-safe */
typedef struct dt_result dt_result; /* the result of one run */

/*
 * dt_query_prepare: parses and checks query text[0..len) (vector or map
 * form) into *out (free with dt_query_free).  dt_query_prepare_value
 * does the same for a query given as a value (copied; the caller keeps
 * its value).  Rules are not given here but as the % input of each run;
 * a query that calls rules is checked against them when it runs.
 * @retval DT_OK
 * @retval DT_INVALID malformed EDN or a query Datomic would reject
 *         (unknown function, unbound :find variable, ...); the message on
 *         dt_errmsg(NULL) gives the form and its line:column.  A
 *         namespaced function name that is no built-in (acme/score) is
 *         accepted here: it names a query function of the connection the
 *         query runs on, looked up by dt_query_run
 * @retval DT_LIMIT   nesting deeper than 128 levels
 * @retval DT_MISUSE  NULL text or out
 * @retval DT_NOMEM
 * Thread-safe.
 */
int dt_query_prepare(const char *text, size_t len, dt_query **out);
int dt_query_prepare_value(const dt_value *query, dt_query **out);

/* dt_query_free: releases a prepared query (NULL is allowed).  No run of
 * it may still be going on. */
void dt_query_free(dt_query *q);

/*
 * dt_query_run: runs prepared query q with inputs[0..n) (positional, in
 * :in order; without :in the query takes one input, the $ database) and
 * sets *out to the result (free with dt_result_free).  Every source must
 * be given a live dt_db: a snapshot, or dt_txn_db's view inside a write
 * block (the block then reads its own writes).  The databases are only
 * read, during the call.
 * @retval DT_OK
 * @retval DT_INVALID  wrong number or kind of inputs, an input that does
 *         not fit its binding form, malformed EDN of an input, unknown
 *         attribute in a pattern, a lookup ref that matches nothing, a
 *         function applied to values of the wrong type, an unbound
 *         variable, a query function (acme/score) that the connection of
 *         the queried database does not register (kind "query-fn" of
 *         dt_fn_def); the message names the clause and its line:column
 * @retval DT_TXFN     a Lua query function raised an error (the message
 *         names the function and gives the Lua error and traceback)
 * @retval (a C query function's own code) what it failed with
 * @retval DT_TIMEOUT  opts->timeout_ms passed
 * @retval DT_LIMIT    more than opts->max_rows rows in an intermediate
 *         result, nesting too deep, or a Lua query function hit the
 *         memory cap or the instruction budget
 * @retval DT_INTERRUPT opts->cancel was triggered
 * @retval DT_MISUSE   NULL q/out, a bad handle, inputs NULL with n > 0
 * @retval DT_NOMEM
 * Messages on dt_errmsg(NULL).  Thread-safe: one prepared query may run
 * in several threads at once (each with its own snapshots).
 */
int dt_query_run(const dt_query *q, const dt_input *inputs, size_t n, const dt_query_options *opts,
                 dt_result **out);

/*
 * dt_q: runs query text on db with no other inputs (its :in, if written,
 * must be just $); errors on dt_errmsg(db).  dt_q_inputs: query
 * text[0..len) with positional inputs and options; errors on
 * dt_errmsg(NULL).  Both prepare through a per-process cache of prepared
 * queries keyed by the text (bounded; least recently used entries are
 * dropped), so repeating a query skips the parse.  Results and codes as
 * dt_query_prepare and dt_query_run.  Thread-safe.
 */
int dt_q(dt_db *db, const char *text, dt_result **out);
int dt_q_inputs(const char *text, size_t len, const dt_input *inputs, size_t n,
                const dt_query_options *opts, dt_result **out);

/*
 * dt_explain: runs query text[0..len) with positional inputs (as
 * dt_q_inputs) through the planner and returns the plan it used as EDN
 * text in *out (NUL-terminated, its length in *out_len when out_len is
 * not NULL; free with dt_free): a map {:rows N :steps [...]} with one map
 * per step in the order run -- :clause (the clause as written), :op
 * (:scan, :lookup, :hash-join, :filter, :anti-join, :semi-join, :union,
 * :function, :rule, :input), :index (:eav or :ave), :bound (the index
 * positions known when seeking), :range (predicates pushed into the
 * scan), :est (estimated rows after the step) and :rows (actual rows
 * after it); docs/query.md, "Explain".  A query the planner hands to the
 * reference evaluator gives {:rows N :fallback :naive :steps []}.
 * opts: as dt_q_inputs (deadline, row cap, cancellation); its plan field
 * is ignored (the planner always runs).  The result rows are discarded.
 * @retval DT_OK
 * @retval DT_INVALID / DT_LIMIT / DT_TIMEOUT / DT_INTERRUPT / DT_NOMEM
 *         as dt_q_inputs (the query failed; *out is NULL)
 * @retval DT_MISUSE   NULL text or out, NULL inputs with n > 0
 * Errors on dt_errmsg(NULL).  Thread-safe (the plan is collected per
 * thread).
 */
int dt_explain(const char *text, size_t len, const dt_input *inputs, size_t n,
               const dt_query_options *opts, char **out, size_t *out_len);

/*
 * Results.  The :find spec decides the shape:
 *   DT_FIND_REL    rows of width = number of :find elements: a set, or a
 *                  multiset when :with keeps duplicates
 *   DT_FIND_COLL   rows of width 1
 *   DT_FIND_SCALAR 0 or 1 row of width 1
 *   DT_FIND_TUPLE  0 or 1 row of width = number of :find elements
 * Rows come in no particular order (a set is a set).
 * Entity ids are DT_LONG.  A result is read-only and may be read from
 * several threads at once.
 */
typedef enum dt_find_kind {
    DT_FIND_REL = 0,
    DT_FIND_COLL,
    DT_FIND_SCALAR,
    DT_FIND_TUPLE
} dt_find_kind;

/* dt_result_kind, dt_result_count (rows), dt_result_width (columns);
 * 0 / DT_FIND_REL for a NULL result. */
dt_find_kind dt_result_kind(const dt_result *r);
size_t dt_result_count(const dt_result *r);
size_t dt_result_width(const dt_result *r);

/* dt_result_key: the name of column col under :keys, :strs or :syms (as
 * written, without the colon), else NULL.  Valid until dt_result_free. */
const char *dt_result_key(const dt_result *r, size_t col);

/* dt_result_get: the cell at (row, col), borrowed (valid until
 * dt_result_free); NULL when out of range.  No copy is made. */
const dt_value *dt_result_get(const dt_result *r, size_t row, size_t col);

/*
 * dt_result_value: the whole result as one value in Datomic's shape,
 * owned by the caller (dt_value_free): a relation is a set of vectors (a
 * vector of vectors when rows repeat: :with keeps duplicates, and pulled
 * maps or aggregates of distinct groups may coincide), a collection a vector,
 * a scalar the value or nil, a tuple a vector or nil; under :keys/:strs/
 * :syms the rows are maps.  A set's rows and a collection's items are
 * listed in value order (dt_value_compare), so equal results print alike.
 * dt_result_edn / dt_result_msgpack: that value as EDN text that reads
 * back (compact) or as msgpack; *out malloc'd (dt_free), *out_len its
 * length (may be NULL for EDN).
 * @retval DT_OK / DT_MISUSE (NULL or bad result, NULL out) / DT_NOMEM
 */
int dt_result_value(const dt_result *r, dt_value *out);
int dt_result_edn(const dt_result *r, char **out, size_t *out_len);
int dt_result_msgpack(const dt_result *r, void **out, size_t *out_len);

/*
 * dt_result_msgpack_unordered: the msgpack of the same value as
 * dt_result_msgpack (a set or vector of rows, a vector, a value or nil),
 * except that a set's rows and a collection's items come in the result's
 * own order rather than sorted, and that no copy of the cells is made:
 * the fast way to hand a whole result to a binding that builds its own
 * set.  *out malloc'd (dt_free), *out_len its length.
 * @retval DT_OK / DT_MISUSE (NULL or bad result, NULL out or out_len) /
 *         DT_NOMEM
 * Messages on dt_errmsg(NULL).  Thread-safe (a result may be read by
 * several threads at once).
 */
int dt_result_msgpack_unordered(const dt_result *r, void **out, size_t *out_len);

/* dt_result_free: frees the result and its cells (NULL is allowed). */
void dt_result_free(dt_result *r);

/* }====== */

/* {====== Write path: blocks, savepoints, async transact ====== */

/*
 * Every write of a database goes through one writer at a time (LMDB's
 * rule).  This section gives that writer three shapes (docs/writes.md):
 *  - with-transaction blocks: the caller holds the write transaction for
 *    any number of transacts, KV writes and reads, then commits or aborts;
 *  - savepoints inside a block (LMDB nested transactions);
 *  - async transact: transactions queue up and one writer thread commits
 *    everything pending in one LMDB transaction (one fsync), each logical
 *    transaction in a nested transaction of its own so that a failing one
 *    is dropped alone.  dt_transact is async transact + wait, so threads
 *    that transact concurrently share fsyncs automatically.
 */

typedef struct dt_txn dt_txn;             /* an open write block */
typedef struct dt_savepoint dt_savepoint; /* a savepoint in a block */
typedef struct dt_future dt_future;       /* the outcome of an async write */

/*
 * dt_txn_begin: opens a write block on `conn` (waits while another block,
 * bulk load or the async writer holds the writer).  Reads in the block
 * (dt_txn_db) see its own uncommitted writes.  The block belongs to the
 * calling thread: use and end it there.  While it is open, a dt_transact
 * on the same connection from this thread returns DT_MISUSE (it would
 * wait for itself); use dt_txn_transact.
 * @retval DT_OK / DT_MISUSE (bad handle, block already open in this
 *         thread) / DT_BUSY / DT_IO / DT_NOMEM
 */
int dt_txn_begin(dt_conn *conn, dt_txn **out);

/*
 * dt_txn_transact / dt_txn_transact_value: runs tx-data inside the block,
 * as dt_transact would (same forms, rules and result codes), in a nested
 * transaction: if it fails, the block is as before the call and stays
 * usable.  `out` (may be NULL) receives a report without snapshots
 * (dt_report_db_before/after return NULL).  With DT_KV_WRITEMAP there are
 * no nested transactions: a failing transact then fails the block, which
 * can only be aborted.
 * @retval DT_OK / DT_INVALID / DT_SCHEMA / DT_NOTFOUND / DT_CONFLICT /
 *         DT_LIMIT  as dt_transact (the block stays usable)
 * @retval DT_MAPFULL_RETRY the map filled up: the block has failed (abort
 *         it; dt_txn_commit writes nothing); the map has grown, so running
 *         the block again gets further
 * @retval DT_MAPFULL the map filled up and may not grow: the block has
 *         failed
 * @retval DT_MISUSE  not an open block, NULL tx-data, dt_txn_db views
 *         still open, or the block failed earlier (its sticky code is
 *         returned instead)
 * @retval DT_IO / DT_NOMEM
 * Messages on `tx`.
 */
int dt_txn_transact(dt_txn *tx, const char *tx_edn, dt_report **out);
int dt_txn_transact_value(dt_txn *tx, const dt_value *tx_data, dt_report **out);
/* dt_txn_transact_text: the same for text[0..len), read whole (see
 * dt_transact_text). */
int dt_txn_transact_text(dt_txn *tx, const char *text, size_t len, dt_report **out);

/*
 * dt_txn_db: a view of the block's current state (its own writes
 * included) for the datoms API.  Release it with dt_db_close before the
 * next dt_txn_transact, savepoint operation, commit or abort (those return
 * DT_MISUSE while views are open).
 * @retval DT_OK
 * @retval DT_MISUSE not an open block, NULL out
 * @retval (the block's sticky code) the block failed earlier
 * @retval DT_NOMEM
 */
int dt_txn_db(dt_txn *tx, dt_db **out);

/*
 * dt_txn_kv: the KV environment of the block's connection (*out_kv) and the
 * block's current KV transaction (*out_txn), for dt_kv_* reads and writes
 * inside the block's atomic transaction: they commit with the block's
 * datoms, and dt_txn_abort (or a failed dt_txn_commit) drops both.
 *     dt_kv *kv; dt_kv_txn *txn;
 *     if ((rc = dt_txn_kv(tx, &kv, &txn)) == DT_OK)
 *         rc = dt_kv_put(kv, txn, dbi, "k", 1, "v", 1, 0);
 * Open the dbis before the block (dbi creation inside it is refused).
 * dt_txn_kv_txn(tx) gives the same transaction (NULL for a bad or failed
 * block) for callers that have the connection.
 * Lifetimes (both accessors):
 *  - *out_kv is borrowed from the connection and lives as long as it;
 *  - the transaction is borrowed from the block: it stays the same across
 *    dt_txn_transact / dt_txn_transact_value (they run in a nested
 *    transaction that merges into it) and dt_txn_db, and ends at the next
 *    savepoint operation (dt_savepoint_create, _rollback, _release),
 *    dt_txn_commit or dt_txn_abort: call dt_txn_kv again after a savepoint
 *    operation (the transaction from before dt_savepoint_create is the
 *    savepoint's parent: using it gives DT_MISUSE until that savepoint is
 *    released; one from after it is gone once the savepoint is rolled
 *    back or released);
 *  - dt_kv_bytes views read in it are valid until the next write in the
 *    block: a dt_kv_put/dt_kv_del/dt_kv_batch in it, a dt_txn_transact, or
 *    the end of the transaction above; copy what you keep;
 *  - close dt_kv_iter iterators opened in it before the next
 *    dt_txn_transact, savepoint operation, commit or abort.
 * @retval DT_OK
 * @retval DT_MISUSE  bad or ended block, NULL out_kv or out_txn
 * @retval (the block's sticky code) an earlier write in the block failed
 *         (e.g. DT_MAPFULL_RETRY); the block can only be aborted
 * Same thread rules as the block.
 */
int dt_txn_kv(dt_txn *tx, dt_kv **out_kv, dt_kv_txn **out_txn);
dt_kv_txn *dt_txn_kv_txn(dt_txn *tx);

/*
 * dt_txn_commit: commits the block durably and frees it (also on error).
 * dt_txn_abort: discards everything the block did and frees it; NULL is
 * allowed.
 * @retval DT_OK / DT_MISUSE (views still open: nothing is done, the block
 *         stays open) / DT_MAPFULL_RETRY (the block's writes or its commit
 *         filled the map: nothing was written; the map has grown, so
 *         running the block again gets further) / DT_MAPFULL (the map
 *         filled up and may not grow: nothing was written) / DT_IO
 */
int dt_txn_commit(dt_txn *tx);
void dt_txn_abort(dt_txn *tx);

/*
 * dt_with_txn: runs fn(tx, userdata) in a block: commits when fn returns
 * DT_OK, else aborts and returns fn's code.  When the map fills up, the
 * block is aborted, the map grown and fn run again from the start, so fn
 * must be re-runnable (no side effects outside the block it cannot
 * repeat).  fn must not end the block itself.
 * @retval DT_OK / fn's code / DT_MAPFULL (the map may not grow, or filled
 *         up again after growing 64 times; nothing written) / the codes
 *         of dt_txn_begin and dt_txn_commit but DT_MAPFULL_RETRY
 */
int dt_with_txn(dt_conn *conn, int (*fn)(dt_txn *tx, void *userdata), void *userdata);

/*
 * Savepoints.  dt_savepoint_create marks the block's current state;
 * dt_savepoint_rollback undoes everything done after it, savepoints made
 * after it included (those become invalid), and keeps it for further use;
 * dt_savepoint_release keeps the changes and forgets it (and every
 * savepoint made after it).  What came before a savepoint is never
 * touched by rolling back to it.  Handles belong to the block (no free);
 * a forgotten or stale handle gives DT_MISUSE.  Not available with
 * DT_KV_WRITEMAP (DT_MISUSE).
 * @retval DT_OK
 * @retval DT_MISUSE not an open block, NULL out, not a live savepoint of
 *         this block, dt_txn_db views still open, a WRITEMAP environment
 * @retval (the block's sticky code) the block failed earlier
 * @retval DT_MAPFULL_RETRY / DT_MAPFULL (release: merging into the parent
 *         filled the map; the block has failed) / DT_NOMEM / DT_IO
 * After a failing dt_savepoint_rollback the savepoint is gone but the
 * block stays usable below it.
 */
int dt_savepoint_create(dt_txn *tx, dt_savepoint **out);
int dt_savepoint_rollback(dt_txn *tx, dt_savepoint *sp);
int dt_savepoint_release(dt_txn *tx, dt_savepoint *sp);

/*
 * Called on the writer thread once the transaction is durable (or has
 * failed), in submission order.  `report` is borrowed for the call (NULL
 * on failure); rc is the transaction's result.  A callback must be short
 * and must not call dt_transact or wait for a future of the same
 * connection (DT_MISUSE); it may submit further async transactions.
 */
typedef void (*dt_transact_callback)(int rc, const dt_report *report, void *userdata);

/*
 * dt_transact_async / dt_transact_async_value: queues tx-data (the text
 * or value is copied) and returns at once.  `cb` (may be NULL) runs when
 * it is done; `out` (may be NULL) receives a future to wait on.  A
 * transaction is acknowledged (callback, future) only after it is
 * durable; transactions commit in submission order.  Reports of async
 * transactions have no snapshots.
 * @retval DT_OK (queued) / DT_MISUSE (bad handle, connection closing) /
 *         DT_INVALID (text is not EDN: nothing queued) / DT_NOMEM
 * Thread-safe.
 */
int dt_transact_async(dt_conn *conn, const char *tx_edn, dt_transact_callback cb, void *userdata,
                      dt_future **out);
int dt_transact_async_value(dt_conn *conn, const dt_value *tx_data, dt_transact_callback cb,
                            void *userdata, dt_future **out);
/* dt_transact_async_text: the same for text[0..len), read whole (see
 * dt_transact_text); bad text is refused before anything is queued. */
int dt_transact_async_text(dt_conn *conn, const char *text, size_t len, dt_transact_callback cb,
                           void *userdata, dt_future **out);

/*
 * dt_kv_transact_async: the same for the KV store: the ops are applied
 * atomically (as dt_kv_batch), batched with other pending ones into one
 * commit by the environment's writer thread.  The ops' bytes are copied.
 * The future's tx is 0.
 * @retval DT_OK      queued; the outcome (the codes of dt_kv_batch, never
 *                    DT_MAPFULL_RETRY) comes through cb and the future
 * @retval DT_MISUSE  not an open dt_kv, NULL ops with n > 0, the
 *                    environment is closing
 * @retval DT_NOMEM   nothing queued
 * Messages on `kv`.  Thread-safe.
 */
typedef void (*dt_kv_callback)(int rc, void *userdata);
int dt_kv_transact_async(dt_kv *kv, const dt_kv_op *ops, size_t n, dt_kv_callback cb,
                         void *userdata, dt_future **out);

/*
 * Futures.  dt_future_wait blocks until done and returns the
 * transaction's result code; dt_future_wait_timeout gives up after `ms`
 * milliseconds with DT_TIMEOUT; dt_future_ready is 1 when done (never
 * blocks).  After completion: dt_future_tx is the transaction id (0 on
 * failure), dt_future_report the report (borrowed until dt_future_free;
 * NULL on failure), dt_future_errmsg the failure's message ("" on
 * success).  dt_future_free releases the future; freeing one that is not
 * done is allowed (the transaction still runs).  Waiting from the thread
 * that holds the connection's writer (an open block, or a callback)
 * gives DT_MISUSE.  A future may be waited on from any thread; free it
 * once.
 * dt_future_wait / dt_future_wait_timeout:
 * @retval (the transaction's code) DT_OK or what the transaction failed
 *         with (the codes of dt_transact, or of dt_kv_batch for KV ops)
 * @retval DT_TIMEOUT (wait_timeout) not done after `ms`; wait again later
 * @retval DT_MISUSE  not a live future, or waiting on the writer's own
 *         thread
 * The accessors cannot fail: given a bad or unfinished future they
 * return 0, 0, NULL and "".  Messages of DT_TIMEOUT and DT_MISUSE on `f`.
 */
int dt_future_wait(dt_future *f);
int dt_future_wait_timeout(dt_future *f, unsigned ms);
int dt_future_ready(const dt_future *f);
int64_t dt_future_tx(const dt_future *f);
const dt_report *dt_future_report(const dt_future *f);
const char *dt_future_errmsg(const dt_future *f);
void dt_future_free(dt_future *f);

/*
 * Durability.  dt_conn_set_flags turns DT_KV_NOSYNC, DT_KV_NOMETASYNC or
 * DT_KV_MAPASYNC on or off at run time (what a crash can lose with each
 * is in docs/writes.md); dt_conn_sync flushes to disk now (force: even when the
 * flags say asynchronous).  dt_conn_kv gives the connection's KV
 * environment (borrowed; do not close it) for KV data next to the datoms.
 * dt_conn_set_flags:
 * @retval DT_OK
 * @retval DT_INVALID a flag that is not a run-time environment flag (the
 *                    message names the flag's group)
 * @retval DT_MISUSE  not an open connection
 * dt_conn_sync:
 * @retval DT_OK / DT_IO (the flush failed) / DT_MISUSE (not an open
 *         connection)
 * dt_conn_kv: NULL for a bad connection.
 * Messages on `conn`.  Thread-safe.
 */
int dt_conn_set_flags(dt_conn *conn, unsigned flags, int onoff);
int dt_conn_sync(dt_conn *conn, int force);
dt_kv *dt_conn_kv(dt_conn *conn);

/*
 * dt_db_refresh: moves a snapshot from dt_conn_db to the latest committed
 * state (read-committed style: refresh between statements).  Iterators
 * on it must be freed first.  @retval DT_OK / DT_MISUSE (not a
 * connection snapshot) / DT_BUSY
 */
int dt_db_refresh(dt_db *db);

/* }====== */

/* {====== Transaction functions ====== */

/*
 * Transaction functions (docs/functions.md) run inside the write
 * transaction and return tx-data that is expanded in place of the form
 * that called them.  Stored Lua functions are entities with :db/ident and
 * :db/fn (the Lua source); host functions are registered when the
 * connection opens (dt_conn_options.fns) and may be installed in the
 * database as a descriptor, :db/udf {:udf/lang :c :udf/kind :tx-fn
 * :udf/id :acme/bootstrap}, which names the function but holds no code.
 */
typedef enum dt_fn_lang { DT_FN_C = 1, DT_FN_LUA = 2 } dt_fn_lang;

/*
 * A host transaction function in C.  `db` is a read view of the write
 * transaction as of the calling form (earlier forms of the same
 * transaction visible), borrowed for the call; args[0..nargs) are the
 * form's arguments (borrowed).  Fill *out with tx-data (a vector or list
 * of forms; the caller takes it over, also on error) and return DT_OK,
 * or fail with a code (a library code or DT_USER_FIRST..DT_USER_LAST)
 * after dt_errmsg_set(db, code, ...): the transaction then fails with
 * that code and message.  Called on the thread that runs the transaction
 * (the caller's, or the connection's writer thread), one call at a time
 * per connection.  It must not write to the connection (that would wait
 * for itself).
 */
typedef int (*dt_fn_impl)(dt_db *db, const dt_value *args, size_t nargs, dt_value *out,
                          void *userdata);

/*
 * A host query function in C (dt_fn_def kind "query-fn"), called from
 * queries as a predicate, [(acme/ok? ?x)], or a function, [(acme/score
 * ?a ?b) ?s] (docs/functions.md, "Query functions").  args[0..nargs) are
 * the call's arguments, borrowed for the call (text and bytes are not
 * NUL-terminated: use u.s.len).  Set *out to the result (the caller takes
 * it over; as a predicate, anything but nil and false passes) and return
 * DT_OK, or fail with a code (a library code or DT_USER_FIRST..
 * DT_USER_LAST) after dt_errmsg_set(NULL, code, ...): the query then
 * fails with that code and a message naming the function and the clause.
 * It gets no database and must not write to the connection: a query
 * function is a function of its arguments.  Called on the thread running
 * the query, and concurrently from every thread querying the connection:
 * it must be thread-safe (guard what userdata points to).
 */
typedef int (*dt_qfn_impl)(const dt_value *args, size_t nargs, dt_value *out, void *userdata);

/*
 * One entry of the host registry (dt_conn_options.fns).
 *   id        the function's name, keyword text ("acme/bootstrap" or
 *             ":acme/bootstrap"); it matches descriptors with this :udf/id
 *             and is callable by itself as [:acme/bootstrap ...].
 *   lang      DT_FN_C (fn and userdata) or DT_FN_LUA (source: Lua source
 *             of a chunk returning the function, run in the sandbox as a
 *             stored function, but never written to the database).
 *   kind      NULL or "tx-fn": a transaction function (fn for C;
 *             :udf/kind of descriptors); "query-fn": a query function,
 *             callable only from queries by its id as a symbol,
 *             [(acme/score ?a ?b) ?s] (qfn for C; for Lua, source
 *             returns a function of the arguments alone, without db).
 *             The id of a query function must be namespaced (ns/name).
 *   qfn       DT_FN_C with kind "query-fn": the function (fn unused).
 */
struct dt_fn_def {
    const char *id;
    dt_fn_lang lang;
    dt_fn_impl fn;
    void *userdata;
    const char *source;
    const char *kind;
    dt_qfn_impl qfn;
};

/*
 * dt_call / dt_call_async / dt_txn_call: call the transaction function
 * `fn` (keyword text: a stored function's ident or a registered id) with
 * args[0..nargs) as one transaction, as the tx-data [[:fn args...]] would:
 * dt_call waits and gives the report (*out, may be NULL; close with
 * dt_report_close); dt_call_async queues it like dt_transact_async_value
 * (args are copied); dt_txn_call runs it inside a write block like
 * dt_txn_transact_value.
 * @retval DT_OK
 * @retval DT_INVALID  no function of that name, or it returned malformed
 *                     tx-data
 * @retval DT_TXFN     the function raised an error (the message names the
 *                     function and gives the Lua error and traceback), or
 *                     it is installed as a descriptor this process does
 *                     not implement
 * @retval DT_LIMIT    it hit the memory cap or the instruction budget, or
 *                     calls nested deeper than DT_TX_MAX_DEPTH
 * @retval DT_MISUSE   bad handle, NULL fn, NULL args with nargs > 0
 * and the codes of dt_transact.  On failure nothing is written.  Messages
 * on `conn` (`tx` for dt_txn_call).  Thread-safe as dt_transact.
 */
int dt_call(dt_conn *conn, const char *fn, const dt_value *args, size_t nargs, dt_report **out);
int dt_call_async(dt_conn *conn, const char *fn, const dt_value *args, size_t nargs,
                  dt_transact_callback cb, void *userdata, dt_future **out);
int dt_txn_call(dt_txn *tx, const char *fn, const dt_value *args, size_t nargs, dt_report **out);
/* {====== Entities ======
 *
 * An entity (dt_entity) is a lazy, read-only view of one entity id in a
 * snapshot: attributes are read from the EAV index the first time they
 * are asked for and kept in the entity; navigation follows refs forward
 * (an attribute of type ref) and backward (the reverse name of an
 * attribute, ":_attr" / "ns/_attr": the entities whose attr points at
 * this one).  An entity also *stages* changes (assoc, add, retract)
 * without touching the database: the staged changes never change what
 * the entity reads, which stays its snapshot's view; dt_entity_tx_data
 * expands them into tx-data and dt_transact_entity transacts them.
 *
 * Entity references: wherever a function here takes an entity, a
 * DT_LONG/DT_REF id, an ident keyword (:my/ident) and a lookup ref
 * ([:unique-attr value]) are accepted.
 *
 * Attribute names are keyword text with or without the leading colon;
 * "db/id" names the entity id itself (a DT_LONG).
 *
 * Ownership: an entity borrows its snapshot; close every entity of a
 * snapshot (dt_entity_close) before dt_db_close or dt_db_refresh.
 * Entities returned by navigation are new handles owned by the caller.
 *
 * An entity keeps what it read: on a write block's view (dt_txn_db),
 * whose content changes with the block's writes, get a new entity to
 * see them.
 *
 * Thread-safety: an entity is used by one thread at a time, like its
 * snapshot (and by the thread using the snapshot: an entity reads
 * through the snapshot's transaction).  Different threads read
 * different snapshots (and their entities) concurrently, also while a
 * writer commits.
 * }====== */

typedef struct dt_entity dt_entity;

/*
 * dt_entity_get: the entity that `ref` (id, ident or lookup ref) names in
 * `db`, in *out (free with dt_entity_close).  An entity id that has no
 * datoms gives an entity without attributes, as in Datomic; an ident or
 * lookup ref that matches nothing is DT_NOTFOUND.  `db` may be an as-of
 * or since view (the entity as of then; lookup refs resolve in the view).
 * @retval DT_OK
 * @retval DT_NOTFOUND an ident or lookup ref that matches no entity
 * @retval DT_INVALID  not an entity reference, an id out of range, a lookup
 *                     attribute that is unknown or not unique, a history
 *                     view (dt_db_history)
 * @retval DT_MISUSE   not a live snapshot, NULL ref or out
 * @retval DT_NOMEM
 * Messages on `db`; *out is NULL on error.
 */
int dt_entity_get(dt_db *db, const dt_value *ref, dt_entity **out);

/* dt_entity_close: closes the entity (the datom cursor it keeps in its
 * snapshot) and frees it and its staged changes.  NULL is allowed.
 * Entities navigated from it are independent handles.  Cannot fail. */
void dt_entity_close(dt_entity *ent);

/* dt_entity_id: the entity id (0 for a bad handle).  dt_entity_snapshot:
 * the snapshot it reads (borrowed; NULL for a bad handle). */
int64_t dt_entity_id(const dt_entity *ent);
dt_db *dt_entity_snapshot(const dt_entity *ent);

/*
 * dt_entity_attr: the value of attribute `attr` of the entity, in *out
 * (owned by the caller, dt_value_free):
 *  - cardinality one: the value (a ref as DT_REF);
 *  - cardinality many: a DT_SET of the values in index order;
 *  - a reverse name (":_attr", "ns/_attr", attr of type ref): a DT_SET of
 *    DT_REF, the entities pointing at this one (also for cardinality one);
 *  - "db/id": the id as DT_LONG.
 * The first read of an attribute reads the index; later reads copy it
 * from the entity.
 * @retval DT_OK
 * @retval DT_NOTFOUND the entity has no value for attr (*out is nil; no
 *                     message: this is the expected "missing" answer)
 * @retval DT_INVALID  an attribute the snapshot's schema does not know, a
 *                     reverse name of a non-ref attribute
 * @retval DT_MISUSE / DT_NOMEM / DT_CORRUPT
 * Messages on `ent`.
 */
int dt_entity_attr(dt_entity *ent, const char *attr, dt_value *out);

/*
 * Typed getters for cardinality-one attributes.  Results as
 * dt_entity_attr, plus DT_INVALID (with a message naming the attribute,
 * its type and the one asked for) when the attribute is of cardinality
 * many or its value is of another type.  Numeric getters convert nothing
 * but a float for dt_entity_get_double.
 *  dt_entity_get_long     DT_LONG
 *  dt_entity_get_double   DT_DOUBLE or DT_FLOAT
 *  dt_entity_get_bool     DT_BOOL (*out 0 or 1)
 *  dt_entity_get_instant  DT_INSTANT (ms since the epoch)
 *  dt_entity_get_string   DT_STRING; dt_entity_get_keyword DT_KEYWORD
 *                         (text without the colon): *out and *out_len
 *                         (may be NULL) borrow from the entity, valid
 *                         until dt_entity_close
 *  dt_entity_get_ref      DT_REF, navigated: *out is a new entity of the
 *                         same snapshot (dt_entity_close); on error NULL
 */
int dt_entity_get_long(dt_entity *ent, const char *attr, int64_t *out);
int dt_entity_get_double(dt_entity *ent, const char *attr, double *out);
int dt_entity_get_bool(dt_entity *ent, const char *attr, int *out);
int dt_entity_get_instant(dt_entity *ent, const char *attr, int64_t *out);
int dt_entity_get_string(dt_entity *ent, const char *attr, const char **out, size_t *out_len);
int dt_entity_get_keyword(dt_entity *ent, const char *attr, const char **out, size_t *out_len);
int dt_entity_get_ref(dt_entity *ent, const char *attr, dt_entity **out);

/*
 * dt_entity_refs: navigation over refs of any cardinality: the entities
 * that `attr` (a ref attribute, or a reverse name ":_attr") leads to, in
 * index order, as an array of *out_n new entities in *out; free it with
 * dt_entity_list_close(*out, *out_n).  No value: DT_NOTFOUND with *out
 * NULL and *out_n 0.
 * @retval DT_OK / DT_NOTFOUND
 * @retval DT_INVALID  unknown attribute, or an attribute that is not a ref
 * @retval DT_MISUSE / DT_NOMEM / DT_CORRUPT
 * Messages on `ent`.
 */
int dt_entity_refs(dt_entity *ent, const char *attr, dt_entity ***out, size_t *out_n);
void dt_entity_list_close(dt_entity **list, size_t n);

/*
 * dt_entity_touch: every attribute of the entity as a DT_MAP in *out
 * (caller owns): {:db/id id, :attr value, ...} in attribute-id order,
 * cardinality-many values as DT_SET.  A ref is shown as the map
 * {:db/id n}, except under a component attribute (:db/isComponent),
 * whose entities are touched in turn (components nest at most 64 deep:
 * deeper, or a cycle, is DT_LIMIT).  All attributes are kept in the
 * entity afterwards.  Reverse refs are not included.
 * @retval DT_OK / DT_LIMIT / DT_MISUSE / DT_NOMEM / DT_CORRUPT
 * Messages on `ent`.
 */
int dt_entity_touch(dt_entity *ent, dt_value *out);

/*
 * Staging changes.  Each call checks its input against the snapshot's
 * schema now and records one change; the database and what the entity
 * reads stay as they were.  Values are coerced as for writes (see
 * "Databases"); a ref attribute also takes an ident or lookup ref, which
 * is resolved in the snapshot now.
 *  dt_entity_assoc        set attr to v: for cardinality one, v replaces
 *                         the current value; for cardinality many, v (one
 *                         value, or a vector, list or set of values)
 *                         becomes the whole set: the values the snapshot
 *                         holds and v lacks are retracted
 *  dt_entity_add          add v to a cardinality-many attribute
 *  dt_entity_retract      retract the value v
 *  dt_entity_retract_attr retract every value of attr (no value needed;
 *                         for a component attribute, as [:db/retract e a],
 *                         the component entities too)
 *  dt_entity_unstage      drop every staged change
 * @retval DT_OK
 * @retval DT_INVALID  an attribute the snapshot's schema does not know
 *                     (or "db/id", or a reverse name); a value that cannot
 *                     be coerced to the attribute's type; dt_entity_add on
 *                     a cardinality-one attribute; nil or NULL v
 * @retval DT_NOTFOUND an ident or lookup ref value that matches nothing
 * @retval DT_MISUSE / DT_NOMEM
 * On error nothing is staged.  Messages on `ent`, naming the attribute,
 * the expected and the given type.
 */
int dt_entity_assoc(dt_entity *ent, const char *attr, const dt_value *v);
int dt_entity_add(dt_entity *ent, const char *attr, const dt_value *v);
int dt_entity_retract(dt_entity *ent, const char *attr, const dt_value *v);
int dt_entity_retract_attr(dt_entity *ent, const char *attr);
void dt_entity_unstage(dt_entity *ent);

/* dt_entity_staged_count: the number of staged changes (0 for a bad
 * handle). */
size_t dt_entity_staged_count(const dt_entity *ent);

/*
 * dt_entity_tx_data: the staged changes expanded into tx-data, a DT_VECTOR
 * of [:db/add e :attr v], [:db/retract e :attr v] and [:db/retract e
 * :attr] forms in staging order, in *out (caller owns).  Append its items
 * to other tx-data to transact the entity as part of a larger
 * transaction; dt_transact_value takes it as it is.  No staged change
 * gives an empty vector.
 * @retval DT_OK / DT_MISUSE / DT_NOMEM
 */
int dt_entity_tx_data(const dt_entity *ent, dt_value *out);

/*
 * dt_transact_entity: transacts the entity's staged changes on `conn` (as
 * dt_transact_value of dt_entity_tx_data) in one transaction.  The
 * entity, its staged changes and its snapshot stay as they were: get a new
 * snapshot (or dt_report_db_after) to read the result.
 * @param out  NULL, or receives the report (dt_report_close)
 * @retval results of dt_transact_value, plus DT_MISUSE when the entity's
 *         snapshot belongs to another connection
 * Messages on `conn`.  Thread-safe as dt_transact; the entity itself is
 * used by one thread at a time.
 */
int dt_transact_entity(dt_conn *conn, const dt_entity *ent, dt_report **out);

/* }====== */

/* {====== Transaction log ======
 *
 * The log holds one entry per transaction, in tx-id order: what it added
 * and retracted.  A dt_log iterates the entries of a range of a snapshot
 * (it sees the transactions the snapshot sees).
 */

typedef struct dt_log dt_log;

/*
 * One transaction of the log, borrowed from the iterator until its next
 * step or close:
 *   tx       the transaction id
 *   instant  its :db/txInstant (ms since the epoch; 0 if it has none)
 *   meta     a DT_MAP of the attributes asserted on the transaction
 *            entity itself ({:db/txInstant #inst ..., :app/user "x"}); a
 *            bulk load's entry is {:bulk-load n} (the number of datoms
 *            loaded; its datoms are not listed)
 *   datoms   the n_datoms datoms it added (added = 1) and retracted
 *            (added = 0) in the order they were made, those of the
 *            transaction entity included; each datom's tx is `tx`
 */
typedef struct dt_log_tx {
    int64_t tx;
    int64_t instant;
    const dt_value *meta;
    const dt_datom *datoms;
    size_t n_datoms;
} dt_log_tx;

/*
 * dt_log_open: iterates the transactions with from_tx <= tx <= to_tx
 * (both inclusive; 0 leaves that end open) seen by `db`.
 * dt_log_open_time: the transactions whose :db/txInstant lies in
 * [from_ms, to_ms] (both inclusive; INT64_MIN / INT64_MAX leave an end
 * open); it reads the log in order and filters, so its cost is the size
 * of the log from the first transaction.
 * *out: close with dt_log_close before dt_db_close or dt_db_refresh.  A range with
 * from > to is empty, not an error.
 * @retval DT_OK / DT_MISUSE (not a live snapshot, NULL out) / DT_NOMEM
 * Messages on `db`.
 * dt_log_next:
 * @retval DT_ROW     *out describes the next transaction
 * @retval DT_DONE    no more
 * @retval DT_CORRUPT a malformed log entry (message on the log)
 * @retval DT_MISUSE / DT_NOMEM
 * A log is used by one thread at a time, the one using its snapshot.
 */
int dt_log_open(dt_db *db, int64_t from_tx, int64_t to_tx, dt_log **out);
int dt_log_open_time(dt_db *db, int64_t from_ms, int64_t to_ms, dt_log **out);
int dt_log_next(dt_log *log, dt_log_tx *out);
void dt_log_close(dt_log *log);

/* }====== */

/* {====== Keeping history bounded ======
 *
 * Every retraction is kept in the history index (for as-of and history
 * views) until dt_history_gc drops it.  docs/entities.md, "Keeping
 * history bounded", has the whole story; :db/noHistory on an attribute
 * keeps no history for it in the first place.
 */

/*
 * dt_history_gc: drops the history entries of every datom retracted by a
 * transaction before `before_tx` (retracting tx < before_tx), and makes
 * `before_tx` the history watermark of the database, durably: a view as
 * of a transaction before the watermark can no longer be built and is
 * refused with DT_INVALID; views as of the watermark or later read
 * exactly what they read before.  Current datoms and the transaction log
 * are not touched (the log stays the complete change feed; its entries
 * still list the retractions).  The watermark never moves back: a
 * before_tx at or below the current watermark sets nothing and drops
 * what an interrupted earlier collection left (normally nothing).
 *
 * The work runs in write transactions of at most 50,000 deletions each,
 * through the connection's writer slot, which is given back between
 * them so transactions interleave with a long collection.  The first
 * transaction records the watermark together with its deletions, so
 * after a crash the watermark holds and entries below it that remain are
 * never read by an as-of view; running dt_history_gc again finishes
 * them.  Long values (dt/giants) of dropped entries are not reclaimed.
 *
 * @param before_tx  a transaction id of the database: tx0 + 1 up to the
 *                   last transaction's id plus one (which drops all
 *                   history)
 * @param dropped    NULL, or receives the number of history entries
 *                   dropped (also on errors: those of committed batches)
 * @retval DT_OK
 * @retval DT_INVALID  before_tx is no transaction id of this database
 * @retval DT_MISUSE   conn is not an open connection, or this thread holds
 *                     its writer (a transaction block or bulk load)
 * @retval DT_BUSY     a bulk load holds the database
 * @retval DT_MAPFULL / DT_IO / DT_CORRUPT / DT_NOMEM
 * Messages on `conn`.  Thread-safe: it waits for the writer slot as
 * dt_transact does.
 */
int dt_history_gc(dt_conn *conn, int64_t before_tx, uint64_t *dropped);

/*
 * dt_db_history_floor: the history watermark the snapshot sees (the
 * largest before_tx given to dt_history_gc; 0 when history was never
 * collected) into *out: the earliest transaction an as-of view of it
 * accepts.
 * @retval DT_OK / DT_MISUSE (not a live snapshot, NULL out) / DT_CORRUPT
 * Messages on `db`.  Used by one thread at a time, as its snapshot.
 */
int dt_db_history_floor(dt_db *db, int64_t *out);

/* }====== */

/* {====== Integrity check ====== */

/*
 * What dt_check found.  `text` lists the findings, one per line ending in
 * '\n' ("" when there are none; at most 1000 are listed, then a line
 * with the number left out); `findings` counts them all.  `datoms` and
 * `entries` count what the walk read (EAV datoms; entries of every
 * database).  Free with dt_check_result_free.
 */
typedef struct dt_check_result {
    uint64_t findings;
    uint64_t datoms;
    uint64_t entries;
    char *text;
} dt_check_result;

/*
 * dt_check: verifies the Datolite database in directory `dir`, read-only
 * (docs/reliability.md): the file size against LMDB's last used page, the
 * format marker, then a walk of every datom database in key order
 * (dt/meta, dt/schema, dt/eav, dt/ave, dt/giants, dt/history, dt/txlog,
 * dt/stats) checking key order, key and value layout, entity ids and
 * attribute ids, value types, cardinality one and uniqueness, that every
 * EAV entry has its AVE twin and back (same transaction), that truncated
 * values have their dt/giants entry, the statistics against the counted
 * datoms and distinct values, and the counters next_eid and next_t
 * against the ids in use.
 * The walk runs in a child process (fork(); the child only reads, with
 * its own read-only LMDB handle, and ends with _exit).  If reading a
 * damaged page crashes it, the caller does not crash: the finding is
 * "database damaged: walk crashed with SIGSEGV at dt/eav" (the signal and
 * the database being walked).  A connection of the caller to the same
 * directory may stay open.
 * @retval DT_OK       no problem found (out->text is "")
 * @retval DT_CORRUPT  problems found: out->text lists them
 * @retval DT_NOTFOUND no such directory, or no Datolite database in it
 * @retval DT_IO / DT_NOMEM / DT_MISUSE (NULL dir or out)
 * On DT_OK and DT_CORRUPT the caller owns *out (dt_check_result_free);
 * otherwise *out is zeroed.  Messages: dt_errmsg(NULL).  Thread-safe, but
 * fork() in a multithreaded program copies only the calling thread: do not
 * call it while another thread holds a lock the walk needs (malloc's are
 * reset by the C library).
 */
int dt_check(const char *dir, dt_check_result *out);
void dt_check_result_free(dt_check_result *r);

/* }====== */

#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* DATOLITE_H */
