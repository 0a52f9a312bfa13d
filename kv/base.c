/*
 * base.c -- allocation, per-thread error messages and byte buffers shared
 * by every Datolite module (see base.h).
 */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {====== Allocation ====== */

static long alloc_fail_countdown = -1;

static int alloc_should_fail(void) {
    if (alloc_fail_countdown < 0) return 0;
    if (alloc_fail_countdown == 0) return 1;
    alloc_fail_countdown--;
    return 0;
}

void dt__alloc_fail_at(long n) { alloc_fail_countdown = n; }

/* A failed allocation leaves "out of memory" on the handle-less slot, so
 * that a caller passing DT_NOMEM up without a message of its own (and
 * moving the NULL slot's message to its handle) never shows an older,
 * unrelated message. */
static void *nomem_note(size_t n) {
    dt__seterr(NULL, DT_NOMEM, "out of memory (allocating %zu bytes)", n);
    return NULL;
}

void *dt__malloc(size_t n) {
    void *p = alloc_should_fail() ? NULL : malloc(n ? n : 1);
    return p ? p : nomem_note(n);
}

void *dt__calloc(size_t count, size_t size) {
    void *p = alloc_should_fail()         ? NULL
              : (count == 0 || size == 0) ? calloc(1, 1)
                                          : calloc(count, size);
    return p ? p : nomem_note(count * size);
}

void *dt__realloc(void *p, size_t n) {
    void *q = alloc_should_fail() ? NULL : realloc(p, n ? n : 1);
    return q ? q : nomem_note(n);
}

void dt__free(void *p) { free(p); }

char *dt__strndup(const char *s, size_t n) {
    char *d = dt__malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void dt_free(void *p) { free(p); }

/* }====== */

/* {====== Errors ====== */

/*
 * Each thread keeps a few slots, one per handle it recently failed on, so
 * that an error on one handle does not erase the message of another.  The
 * slot of the NULL handle holds errors of handle-less calls.
 */
#define ERR_SLOTS 8

typedef struct err_slot {
    const void *handle;
    int used;
    unsigned long stamp;
    char msg[DT__ERRMSG_MAX];
} err_slot;

static _Thread_local err_slot err_slots[ERR_SLOTS];
static _Thread_local unsigned long err_clock;

static err_slot *slot_find(const void *handle) {
    for (int i = 0; i < ERR_SLOTS; i++)
        if (err_slots[i].used && err_slots[i].handle == handle) return &err_slots[i];
    return NULL;
}

static err_slot *slot_claim(const void *handle) {
    err_slot *s = slot_find(handle);
    if (s) return s;
    s = &err_slots[0];
    for (int i = 0; i < ERR_SLOTS; i++) {
        if (!err_slots[i].used) {
            s = &err_slots[i];
            break;
        }
        if (err_slots[i].stamp < s->stamp) s = &err_slots[i];
    }
    s->used = 1;
    s->handle = handle;
    return s;
}

int dt__vseterr(const void *handle, int rc, const char *fmt, va_list ap) {
    /* Format first: the arguments may be this very slot's message, as in
     * dt__seterr(NULL, rc, "context: %s", dt_errmsg(NULL)). */
    char tmp[DT__ERRMSG_MAX];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    err_slot *s = slot_claim(handle);
    s->stamp = ++err_clock;
    memcpy(s->msg, tmp, sizeof tmp);
    return rc;
}

int dt__seterr(const void *handle, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dt__vseterr(handle, rc, fmt, ap);
    va_end(ap);
    return rc;
}

unsigned long dt__errstamp(const void *handle) {
    err_slot *s = slot_find(handle);
    return s ? s->stamp : 0;
}

void dt__clearerr(const void *handle) {
    err_slot *s = slot_find(handle);
    if (s) s->used = 0;
}

const char *dt__flags_group(unsigned stray) {
    unsigned bit = stray & (~stray + 1u);
    if (bit & DT__FLAGS_ENV) return "an environment flag (dt_kv_open, dt_kv_set_flags)";
    if (bit & DT__FLAGS_DBI) return "a dbi flag (dt_kv_dbi_open)";
    if (bit & DT__FLAGS_TXN) return "a transaction flag (dt_kv_txn_begin)";
    if (bit & DT__FLAGS_PUT) return "a put flag (dt_kv_put, dt_kv_op)";
    if (bit & DT__FLAGS_EDN) return "an EDN write flag (dt_edn_write)";
    return "not a Datolite flag";
}

int dt__check_version(const void *handle, const char *what, unsigned version, unsigned known) {
    if (version >= 1 && version <= known) return DT_OK;
    return dt__seterr(handle, DT_INVALID, "%s: options version %u unknown (library knows 1..%u)",
                      what, version, known);
}

int dt__moveerr(const void *from, const void *to, int rc) {
    err_slot *s = slot_find(from);
    if (!s) return rc;
    if (from == to) return rc;
    char tmp[DT__ERRMSG_MAX];
    memcpy(tmp, s->msg, sizeof tmp);
    return dt__seterr(to, rc, "%s", tmp);
}

const char *dt_errmsg(const void *handle) {
    err_slot *s = slot_find(handle);
    return s ? s->msg : "";
}

int dt_errmsg_set(const void *handle, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (fmt)
        dt__vseterr(handle, rc, fmt, ap);
    else
        dt__seterr(handle, rc, "%s", "");
    va_end(ap);
    return rc;
}

const char *dt_errstr(int rc) {
    if (rc >= DT_USER_FIRST && rc <= DT_USER_LAST) return "application error";
    switch (rc) {
    case DT_OK:
        return "ok";
    case DT_NOTFOUND:
        return "not found";
    case DT_INVALID:
        return "invalid input";
    case DT_SCHEMA:
        return "schema violation";
    case DT_CONFLICT:
        return "conflict";
    case DT_TXFN:
        return "transaction function failed";
    case DT_MAPFULL:
        return "map full";
    case DT_BUSY:
        return "busy";
    case DT_MISUSE:
        return "API misuse";
    case DT_NOMEM:
        return "out of memory";
    case DT_IO:
        return "I/O error";
    case DT_CORRUPT:
        return "corrupt or incompatible file";
    case DT_LIMIT:
        return "limit reached";
    case DT_TIMEOUT:
        return "timed out";
    case DT_INTERNAL:
        return "internal error";
    case DT_INTERRUPT:
        return "interrupted";
    case DT_ROW:
        return "row available";
    case DT_DONE:
        return "no more rows";
    default:
        /* An extended code keeps its primary code in the low byte. */
        if (rc > 0xff && rc < DT_USER_FIRST && (rc & 0xff) > DT_OK && (rc & 0xff) <= DT_INTERRUPT)
            return dt_errstr(rc & 0xff);
        return "unknown result code";
    }
}

const char *dt_version(void) { return DT_VERSION_STRING; }

/* }====== */

/* {====== Growable byte buffer ====== */

int dt_buf_reserve(dt_buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return DT_OK;
    size_t need = b->len + extra;
    if (need < b->len) return DT_NOMEM; /* overflow */
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    uint8_t *p = dt__realloc(b->p, cap);
    if (!p) return DT_NOMEM;
    b->p = p;
    b->cap = cap;
    return DT_OK;
}

int dt_buf_append(dt_buf *b, const void *p, size_t n) {
    if (dt_buf_reserve(b, n) != DT_OK) return DT_NOMEM;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return DT_OK;
}

int dt_buf_putc(dt_buf *b, uint8_t c) {
    if (b->len == b->cap && dt_buf_reserve(b, 1) != DT_OK) return DT_NOMEM;
    b->p[b->len++] = c;
    return DT_OK;
}

int dt_buf_printf(dt_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return DT_INTERNAL;
    if (dt_buf_reserve(b, (size_t)n + 1) != DT_OK) return DT_NOMEM;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return DT_OK;
}

int dt_buf_terminate(dt_buf *b) {
    if (dt_buf_reserve(b, 1) != DT_OK) return DT_NOMEM;
    b->p[b->len] = '\0';
    return DT_OK;
}

void dt_buf_release(dt_buf *b) {
    dt__free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* }====== */
