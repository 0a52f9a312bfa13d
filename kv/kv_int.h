/*
 * kv_int.h -- private structures of the kv module (only the kv module's .c files).  This is
 * the one header that includes <lmdb.h>.
 */
#ifndef DT_KV_INT_H
#define DT_KV_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "kv.h"

/* A named dbi known to this handle.  Slots are never freed while the
 * environment is open; a dropped slot may be reused with a new generation,
 * so a stale dt_kv_dbi (slot | gen << 16) is detected. */
typedef struct kv_slot {
    uint32_t gen; /* 0 = never used */
    int alive;
    int dupsort;
    int reserved; /* a "dt/..." name: written only through privileged handles */
    MDB_dbi dbi;
    char *name;
} kv_slot;

#define KV_SLOT_BITS 16
#define KV_SLOT_MASK 0xffffu
#define KV_GEN_MAX   0x7fffu     /* generations use bits 16..30 of a handle */
#define KV_DBI_PRIV  0x80000000u /* bit 31: a handle that may write a reserved dbi */

struct dt_kv {
    uint32_t magic;
    MDB_env *env;
    char *path;
    unsigned flags;   /* DT_KV_* open flags */
    unsigned max_key; /* mdb_env_get_maxkeysize */
    uint64_t max_map_size;
    unsigned grow_timeout_ms;
    unsigned page_size;            /* OS page size, for rounding map sizes */
    _Atomic uint64_t map_size;     /* current map size */
    _Atomic uint64_t grow_pending; /* a write txn filled a map of this size while
                                      other txns were open: grow before the next
                                      write txn begins (0: nothing pending) */
    _Atomic int broken;            /* DT_OK, or why the env is unusable */
    /* the thread holding this environment's root write txn (the address
     * of a thread-local of that thread), NULL when none: a second write
     * from that thread would wait for itself */
    _Atomic(const void *) writer_thread;
    const void *owner; /* the connection that owns the environment, or NULL */

    /* The gate: `active` counts this process's live LMDB txns (and hot
     * copies); growing the map sets `resizing` and waits for active == 0. */
    atomic_int active;
    atomic_int resizing;
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    pthread_mutex_t resize_mu;

    atomic_int handles; /* open dt_kv_txn / dt_kv_iter handles */

    pthread_mutex_t async_mu; /* guards async */
    struct kv_writer *async;  /* writer thread of dt_kv_transact_async, or NULL */

    pthread_mutex_t dbi_mu; /* serializes dbi open/drop */
    kv_slot *slots;
    unsigned nslots; /* capacity (max_dbs) */
    unsigned nopen;  /* alive slots */

    uint64_t excl_token; /* names this handle in the exclusive-write marker */

    pthread_mutex_t pool_mu; /* the pool of idle txn structs */
    dt_kv_txn *pool;
    unsigned npool, pool_cap;
};

/* Something opened on a txn that must be invalidated when the txn ends. */
typedef struct kv_dep kv_dep;
struct kv_cursor {
    dt_kv_txn *txn; /* NULL once the txn has ended */
    MDB_cursor *mc;
    kv_cursor *next, *prev; /* in txn->cursors */
    int dupsort;
    int embedded; /* part of an iterator, not malloc'd alone */
};

struct dt_kv_txn {
    uint32_t magic;
    int rdonly;
    int user; /* a handle the caller holds */
    dt_kv *kv;
    MDB_txn *mdb;    /* NULL after a failure aborted it */
    MDB_txn *reset;  /* idle in the pool: a reset read txn */
    dt_kv_txn *root; /* self for a top-level txn */
    dt_kv_txn *parent;
    int nchild;
    int failed;           /* sticky code (root only) */
    int gated;            /* holds the gate (root only) */
    uint64_t seen_map;    /* map size when the root began */
    kv_cursor *cursors;   /* open cursors on this txn */
    dt_kv_txn *next_free; /* pool link */
};

/* {====== kv.c internals shared with kv_range.c ====== */

/* Translates an LMDB/errno code to a DT_ code. */
int kv_translate(int mrc);

/* Records rc and a message on kv and (if non-NULL) txn; returns rc. */
int kv_err(dt_kv *kv, dt_kv_txn *txn, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Checks kv (and txn, if given, belongs to kv and is usable); on success
 * returns DT_OK. */
int kv_check(dt_kv *kv, dt_kv_txn *txn);

/* Looks up a dbi handle; NULL (with a DT_MISUSE message) if bad. */
kv_slot *kv_slot_get(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi);

/* A read txn from the pool (txn NULL) or `txn` itself: on return *use is
 * the txn to read in, and must be given back with kv_read_end. */
int kv_read_begin(dt_kv *kv, dt_kv_txn *txn, dt_kv_txn **use);
void kv_read_end(dt_kv *kv, dt_kv_txn *txn, dt_kv_txn *use);

/* Releases a pooled read txn got from kv_read_begin(kv, NULL, ...). */
void kv_txn_release(dt_kv_txn *t);

/* Registers/unregisters a cursor on its txn. */
void kv_cursor_link(dt_kv_txn *t, kv_cursor *c);
void kv_cursor_unlink(kv_cursor *c);

/* Shared "txn ended" error. */
int kv_cursor_dead(dt_kv *kv);

/* }====== */

#endif /* DT_KV_INT_H */
