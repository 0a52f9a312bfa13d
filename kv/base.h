/*
 * base.h -- internal helpers every module shares: allocation, error
 * messages, growable buffers, handle magic.  Lives in kv/ because kv is the
 * first library of the chain; every later module links it.
 */
#ifndef DT_BASE_H
#define DT_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "datolite.h"

/* {====== Allocation ====== */

/*
 * All library allocations go through these, so tests can fail the Nth
 * allocation (dt__alloc_fail_at) and count outstanding blocks.
 * dt__malloc(0) returns a valid unique pointer.
 */
void *dt__malloc(size_t n);
void *dt__calloc(size_t count, size_t size);
void *dt__realloc(void *p, size_t n);
void dt__free(void *p);
char *dt__strndup(const char *s, size_t n);

/*
 * Test hook: make the allocation number `n` (0-based, counted from this
 * call, in this process) and every later one fail; n < 0 disables.  Not
 * thread-safe; for tests only.
 */
void dt__alloc_fail_at(long n);

/* }====== */

/* {====== Errors ====== */

/*
 * dt__seterr: records `rc` and a printf-style message for `handle` (may be
 * NULL) in the calling thread's error slots and returns rc, so callers can
 * write `return dt__seterr(h, DT_INVALID, "bad %s", x);`.  The message is
 * truncated to DT__ERRMSG_MAX-1 bytes.
 */
#define DT__ERRMSG_MAX 512
int dt__seterr(const void *handle, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int dt__vseterr(const void *handle, int rc, const char *fmt, va_list ap);

/*
 * dt__errstamp: a number that changes whenever a message is recorded for
 * `handle` in this thread (0: none), so a caller can tell whether a
 * callback it ran set one.
 */
unsigned long dt__errstamp(const void *handle);

/* Forget this thread's message for `handle` (used by destructors). */
void dt__clearerr(const void *handle);

/*
 * dt__moveerr: copies this thread's message recorded for `from` to `to`
 * (used when an inner object failed and the error is reported on the
 * outer handle).  Returns rc.
 */
int dt__moveerr(const void *from, const void *to, int rc);

/*
 * Flag groups.  Each group of public flags has a bit range of its own
 * (datolite.h), so a flag handed to a function of another group is caught
 * instead of being read as that function's flag with the same bit.
 */
#define DT__FLAGS_ENV 0x000000ffu /* dt_kv_options.flags, dt_kv_set_flags */
#define DT__FLAGS_DBI 0x00000f00u /* dt_kv_dbi_open */
#define DT__FLAGS_TXN 0x0000f000u /* dt_kv_txn_begin */
#define DT__FLAGS_PUT 0x000f0000u /* dt_kv_put, dt_kv_op.flags */
#define DT__FLAGS_EDN 0x00f00000u /* dt_edn_write */

/*
 * dt__flags_group: names the group of the lowest set bit of `stray` for a
 * message: "an environment flag (dt_kv_open, dt_kv_set_flags)", ..., or
 * "not a Datolite flag".  Static string.
 */
const char *dt__flags_group(unsigned stray);

/*
 * dt__check_version: the one rule for the `version` field of option
 * structs: 1 .. `known` (the newest this library has) is accepted, fields
 * added after the caller's version taking their defaults; anything else
 * is DT_INVALID with "WHAT: options version N unknown (library knows
 * 1..M)" recorded on `handle`.  Returns DT_OK or DT_INVALID.
 */
int dt__check_version(const void *handle, const char *what, unsigned version, unsigned known);

/* }====== */

/* {====== Growable byte buffer ====== */

typedef struct dt_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
} dt_buf;

#define DT_BUF_INIT                                                                                \
    { NULL, 0, 0 }

int dt_buf_reserve(dt_buf *b, size_t extra);           /* DT_OK/DT_NOMEM */
int dt_buf_append(dt_buf *b, const void *p, size_t n); /* DT_OK/DT_NOMEM */
int dt_buf_putc(dt_buf *b, uint8_t c);                 /* DT_OK/DT_NOMEM */
int dt_buf_printf(dt_buf *b, const char *fmt, ...)     /* DT_OK/DT_NOMEM */
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends a NUL without counting it in len; DT_OK/DT_NOMEM. */
int dt_buf_terminate(dt_buf *b);
void dt_buf_release(dt_buf *b);

/* }====== */

/* {====== Handle armor ====== */

/*
 * Each public handle struct begins with a uint32_t magic word that entry
 * points check, so NULL, closed or wrong-kind handles give DT_MISUSE.
 * Destructors set the word to DT_MAGIC_DEAD before freeing.
 */
#define DT_MAGIC_KV     0x6b76656eu /* "kven" */
#define DT_MAGIC_KVTXN  0x6b767478u /* "kvtx" */
#define DT_MAGIC_KVITER 0x6b766974u /* "kvit" */
#define DT_MAGIC_DEAD   0xdeadbeefu

/* }====== */

#endif /* DT_BASE_H */
