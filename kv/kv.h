/*
 * kv.h -- the kv module's interface for the modules above it (datalog,
 * txn): nested write transactions (savepoints), cursors, and queries on a
 * transaction's state.  It does not include <lmdb.h>: everything LMDB stays
 * opaque.  The public part of the module is the "KV store" section of
 * datolite.h; these kv_ functions take the same handles and follow the same
 * rules (result codes, messages recorded on the kv and txn handles, views
 * valid until the txn ends or its next write).
 */
#ifndef DT_KV_H
#define DT_KV_H

#include "base.h"

/* {====== Transactions ====== */

/*
 * kv_txn_begin: like dt_kv_txn_begin, plus nesting: with `parent` (a write
 * txn) it begins a child write txn, i.e. a savepoint: committing the child
 * merges its writes into the parent, aborting it undoes only them.  While
 * a child is open the parent may not be used (DT_MISUSE).  Children must be
 * ended before their parent.  Not available with DT_KV_WRITEMAP
 * (DT_MISUSE).  If the map fills up in a child, the whole transaction tree
 * fails with DT_MAPFULL_RETRY (the map has been grown): abort the child(ren)
 * and the root, then run everything again.
 */
int kv_txn_begin(dt_kv *kv, dt_kv_txn *parent, unsigned flags, dt_kv_txn **out);

/* kv_txn_commit / kv_txn_abort: as dt_kv_txn_commit / dt_kv_txn_abort, also
 * for child transactions. */
int kv_txn_commit(dt_kv_txn *txn);
void kv_txn_abort(dt_kv_txn *txn);

/* kv_txn_failed: DT_OK, or the sticky code of a failed write txn tree. */
int kv_txn_failed(const dt_kv_txn *txn);

/* kv_txn_rdonly: 1 for a read-only txn, else 0. */
int kv_txn_rdonly(const dt_kv_txn *txn);

/* kv_txn_env: the environment a txn belongs to. */
dt_kv *kv_txn_env(const dt_kv_txn *txn);

/* kv_txn_id: LMDB's id of the txn (the snapshot's txn id for readers). */
uint64_t kv_txn_id(const dt_kv_txn *txn);

/* kv_max_key_size: the longest key the environment accepts (511). */
size_t kv_max_key_size(const dt_kv *kv);

/* kv_thread_writes: 1 when the calling thread has a write txn open on kv. */
int kv_thread_writes(const dt_kv *kv);

/* kv_writemap: 1 when kv was opened with DT_KV_WRITEMAP (no nesting). */
int kv_writemap(const dt_kv *kv);

/*
 * kv_dbi_open_reserved: dt_kv_dbi_open for the datalog layer's own dbis
 * ("dt/..." names): the handle it returns may write them (and create
 * them), which handles from dt_kv_dbi_open may not (DT_MISUSE).
 */
int kv_dbi_open_reserved(dt_kv *kv, const char *name, unsigned flags, dt_kv_dbi *out);

/*
 * kv_set_owner: marks kv as owned by a connection (owner non-NULL):
 * dt_kv_close then refuses it (DT_MISUSE).  The connection clears the
 * mark (owner NULL) before closing the environment itself.
 */
void kv_set_owner(dt_kv *kv, const void *owner);

/* }====== */

/* {====== Exclusive writes ====== */

/*
 * A write that spans several commits (init-db in chunks) makes itself the
 * only writer of the environment with a marker stored in the environment
 * (an entry of LMDB's main database, so every process sees it): from the
 * commit that sets it to the one that clears it, every root write txn of
 * any handle and any process, and every creation of a named dbi, checks
 * the marker inside its own LMDB write txn (which holds LMDB's writer
 * lock) and fails with DT_BUSY and a message naming the process that
 * holds it (or saying that it died: the marker then stays until the
 * database is deleted or the holder's own recovery clears it).
 *
 * KV_TXN_EXCLUSIVE: a kv_txn_begin flag for the holder's own txns; they
 * pass the check when the marker carries this handle's token.
 */
#define KV_TXN_EXCLUSIVE 0x2000u

/*
 * kv_exclusive_set: writes the marker into root write txn `txn`, begun
 * with KV_TXN_EXCLUSIVE; `what` (e.g. "init-db") names the holder in the
 * messages of refused writers.  It takes effect when `txn` commits.
 * kv_exclusive_clear: removes it (the holder's last txn, or its undo).
 * @retval DT_OK / DT_MISUSE (not such a txn) / DT_MAPFULL_RETRY / DT_IO
 */
int kv_exclusive_set(dt_kv_txn *txn, const char *what);
int kv_exclusive_clear(dt_kv_txn *txn);

/*
 * kv_exclusive_holder: whether the marker is set (in the latest committed
 * state): DT_OK with *alive (1: its process still runs) and a message for
 * refused writers in buf; DT_NOTFOUND when it is not set; else an error.
 */
int kv_exclusive_holder(dt_kv *kv, int *alive, char *buf, size_t cap);

/* }====== */

/* {====== Cursors ====== */

typedef struct kv_cursor kv_cursor;

/* Cursor positioning operations (LMDB's MDB_cursor_op, renamed). */
typedef enum kv_cursor_op {
    KV_FIRST,          /* first entry */
    KV_LAST,           /* last entry */
    KV_NEXT,           /* next entry (next value of a DUPSORT key first) */
    KV_PREV,           /* previous entry */
    KV_NEXT_NODUP,     /* first value of the next key */
    KV_PREV_NODUP,     /* last value of the previous key */
    KV_NEXT_DUP,       /* next value of the current key only */
    KV_PREV_DUP,       /* previous value of the current key only */
    KV_FIRST_DUP,      /* first value of the current key */
    KV_LAST_DUP,       /* last value of the current key */
    KV_SET,            /* exactly key (key in) */
    KV_SET_RANGE,      /* first key >= key (key in/out) */
    KV_GET_BOTH,       /* DUPSORT: exactly key and val */
    KV_GET_BOTH_RANGE, /* DUPSORT: key, first value >= val */
    KV_GET_CURRENT     /* the entry at the cursor */
} kv_cursor_op;

/*
 * kv_cursor_open: a cursor on `dbi` in `txn`.  It is closed by
 * kv_cursor_close, and becomes unusable (DT_MISUSE) when the txn ends; it
 * must still be closed then.  Allocates once; reuse cursors on hot paths.
 */
int kv_cursor_open(dt_kv_txn *txn, dt_kv_dbi dbi, kv_cursor **out);
void kv_cursor_close(kv_cursor *c);

/*
 * kv_cursor_get: moves the cursor by `op`; key/val are inputs for the
 * KV_SET* / KV_GET_BOTH* ops and receive views of the entry reached.
 * @retval DT_OK / DT_NOTFOUND (no such entry; the cursor position is then
 *         unspecified) / DT_INVALID (bad key size, op needs DUPSORT) /
 *         DT_MISUSE (txn ended)
 */
int kv_cursor_get(kv_cursor *c, dt_kv_bytes *key, dt_kv_bytes *val, kv_cursor_op op);

/*
 * kv_cursor_next_batch: steps the cursor forward (KV_NEXT) up to `max`
 * times and stores the entries reached in out[0..*n) (views, as for
 * kv_cursor_get); the cursor stays on the last one.  One liveness check
 * for the batch, so scans pay LMDB's step and little else.
 * @retval DT_OK (*n >= 1) / DT_NOTFOUND (*n == 0: no next entry) /
 *         DT_MISUSE (txn ended, max 0) / another code for an LMDB error
 *         (entries before it are in out[0..*n))
 */
int kv_cursor_next_batch(kv_cursor *c, dt_kv_entry *out, size_t max, size_t *n);

/* kv_cursor_put: put through the cursor (DT_KV_* put flags, DT_KV_APPEND
 * for bulk loads in key order).  Results as dt_kv_put. */
int kv_cursor_put(kv_cursor *c, const dt_kv_bytes *key, const dt_kv_bytes *val, unsigned flags);

/* kv_cursor_del: deletes the entry at the cursor (all_dups != 0: every
 * value of its key). */
int kv_cursor_del(kv_cursor *c, int all_dups);

/* kv_cursor_count: number of values of the current key (DUPSORT; 1
 * otherwise). */
int kv_cursor_count(kv_cursor *c, size_t *out);

/* }====== */

#endif /* DT_KV_H */
