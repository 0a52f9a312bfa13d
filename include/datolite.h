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

#ifdef __cplusplus
}
#endif

#endif /* DATOLITE_H */
