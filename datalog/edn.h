/*
 * edn.h -- internal interface of the EDN reader/printer (datalog layer):
 * the pieces later modules reuse (printing into a buffer, symbol rules,
 * instants, uuids, duplicate detection).  The public API is in datolite.h.
 */
#ifndef DL_EDN_H
#define DL_EDN_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "datolite.h"

/*
 * dl_edn_write_buf: appends the EDN text of `v` to `b` (no NUL).  Same
 * flags, rules and result codes as dt_edn_write; on error `b` may hold a
 * partial text (the caller truncates or releases it).  Messages go to
 * dt_errmsg(NULL).
 */
int dl_edn_write_buf(const dt_value *v, int flags, dt_buf *b);

/*
 * dl_msgpack_append: appends the msgpack encoding of `v` (as
 * dt_msgpack_encode makes it) to `b`; dl_msgpack_append_array: appends
 * the header of an array of n items, so that a long array can be written
 * item by item without building it as one dt_value first.  DT_OK, or as
 * dt_msgpack_encode (message on dt_errmsg(NULL)); on error `b` may hold a
 * partial encoding.
 */
int dl_msgpack_append(const dt_value *v, dt_buf *b);

/* dl_utf8_bad_at: the offset of the first byte of s[0..n) that is not
 * part of well-formed UTF-8, or n (NUL bytes are well-formed here). */
size_t dl_utf8_bad_at(const char *s, size_t n);
int dl_msgpack_append_array(size_t n, dt_buf *b);

/*
 * dl_edn_symbol_ok: non-zero when s[0..n) reads back as a symbol
 * (keyword == 0; "nil", "true", "false" are not symbols) or, after a ':',
 * as a keyword (keyword != 0; may start with a digit, as in :1).
 */
int dl_edn_symbol_ok(const char *s, size_t n, int keyword);

/*
 * dl_edn_find_duplicate: looks for two equal (dt_value_equal) entries
 * among items[0], items[stride], ..., items[(n-1)*stride] -- stride 1 for
 * set elements, 2 for map keys.  Returns DT_OK with *found = 0, or 1 and
 * *dup = the entry number of one of the two; or DT_NOMEM.  O(n log n).
 */
int dl_edn_find_duplicate(const dt_value *items, size_t n, size_t stride, int *found, size_t *dup);

/*
 * dl_edn_parse_instant: RFC 3339 text (and the shorter forms #inst
 * accepts, see docs/edn.md) to ms since the epoch.  Fractions below a
 * millisecond are truncated.  DT_OK or DT_INVALID (no message set).
 */
int dl_edn_parse_instant(const char *s, size_t n, int64_t *ms);

/*
 * dl_edn_format_instant: appends "yyyy-mm-ddThh:mm:ss.sss-00:00" (years
 * outside 0..9999 as a sign and at least four digits).  DT_OK/DT_NOMEM.
 */
int dl_edn_format_instant(int64_t ms, dt_buf *b);

/* dl_edn_parse_uuid: "8-4-4-4-12" hex (any case) to 16 bytes; DT_OK/DT_INVALID. */
int dl_edn_parse_uuid(const char *s, size_t n, uint8_t out[16]);

/* dl_edn_format_uuid: 36 lowercase characters plus a NUL into out. */
void dl_edn_format_uuid(const uint8_t u[16], char out[37]);

/*
 * dl_edn_format_double / dl_edn_format_float: the shortest decimal text
 * that reads back to the same bits (for floats: the same float after
 * rounding the double), always with a '.' or an exponent; "##Inf",
 * "##-Inf", "##NaN" for the special values.  Locale-independent.  out
 * needs 32 bytes; returns the length.
 */
size_t dl_edn_format_double(double d, char out[32]);
size_t dl_edn_format_float(float f, char out[32]);

/*
 * dl_edn_read_spans: dt_edn_read_opts that also says where each value of
 * the result sits in the text.  (*spans)[i] holds the byte offsets
 * [start, end) of the i-th value in post-order: a collection's items left
 * to right (each after its own items), then the collection; the
 * top-level form is last, so *nspans counts every value of the tree.  A
 * value from a tag (#inst "...") spans the tag and its form; the items of
 * a DT_TAGGED value (keep_unknown_tags) have no span of their own.
 * *spans is allocated with dt__malloc (caller frees with dt__free) and is
 * NULL on error.  Results and messages as dt_edn_read_opts, plus
 * DT_MISUSE for NULL spans/nspans.
 */
typedef struct dl_edn_span {
    size_t start, end;
} dl_edn_span;
int dl_edn_read_spans(const char *text, size_t len, const dt_edn_options *opts, dt_value *out,
                      dl_edn_span **spans, size_t *nspans);

/*
 * dl_edn_line_col: the 1-based line and column (columns count code
 * points, as the reader's messages do) of byte offset `off` in text.
 */
void dl_edn_line_col(const char *text, size_t len, size_t off, int *line, int *col);

/* dl_edn_strtod: strtod in the "C" locale whatever the process locale is. */
double dl_edn_strtod(const char *s, char **end);

#endif
