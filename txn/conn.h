/*
 * conn.h -- the connection (txn layer): the open database, its writer
 * lock and current schema.  Private to txn/.
 */
#ifndef TXN_CONN_H
#define TXN_CONN_H

#include <pthread.h>
#include <stdatomic.h>

#include "datolite.h"
#include "db.h"
#include "schema.h"
#include "store.h"

#define DT_MAGIC_CONN 0x64746364u /* "dtcd" */

typedef struct txn_carry txn_carry;
typedef struct txn_scratch txn_scratch;

/*
 * The state a group-commit batch carries from one transaction to the
 * next while they run straight in its root transaction: the meta
 * counters (next entity id, next t) and the statistics deltas, written
 * once before the batch commits (txn_batch_write) instead of read and
 * written by every transaction.
 */
typedef struct txn_batch {
    int have; /* next_eid and t are the counters, not yet written */
    uint64_t next_eid, t;
    dl_stat_delta *deltas; /* by attribute id, not yet written */
    size_t ndeltas;
    int dirty; /* deltas holds a non-zero entry */
} txn_batch;

struct dt_conn {
    uint32_t magic;
    dt_kv *kv;
    dl_store st;
    int closed_schema;
    pthread_mutex_t wlock; /* one writer at a time */
    pthread_mutex_t slock; /* guards schema and schema_v */
    dl_schema *schema;     /* the current schema (one reference) */
    uint64_t schema_v;     /* its version (meta "schema_v") */
    _Atomic long open_dbs; /* live snapshots and reports */
    /* the async writer (started on first use) and its batch state, which
     * only the thread holding the writer slot (wlock) touches: the writer
     * thread, or a synchronous caller running its transaction in place */
    pthread_mutex_t amu; /* guards writer */
    struct kv_writer *writer;
    /* the same, published once started: submitters read it without amu */
    struct kv_writer *_Atomic writer_pub;
    dl_schema *w_ws;
    uint64_t w_v;
    int w_changed;
    dt_kv_txn *w_root; /* the batch's root transaction */
    txn_batch w_batch; /* for the jobs that run in w_root itself */
    /* transaction functions (txfn.h); changed only with the writer slot */
    struct txn_fn_entry *fns;
    size_t nfns;
    /* stored, registered and Lua functions (udf.h); used only with the
     * writer slot */
    struct udf_rt *udf;
    /* the thread holding wlock (the address of a thread-local), or NULL */
    _Atomic(const void *) w_thread;
    /* buffers one transaction leaves to the next (transact.c); used only
     * with the writer slot */
    struct txn_scratch *scratch;
    int scratch_busy;
};

/* 1 when conn is a live connection handle. */
int txn_conn_ok(const dt_conn *conn);

/*
 * txn_writer_enter / txn_writer_leave: take and give back the
 * connection's single writer slot (every write goes through it).  A thread
 * that already holds it gets DT_MISUSE instead of a deadlock.
 */
int txn_writer_enter(dt_conn *conn);
void txn_writer_leave(dt_conn *conn);
int txn_writer_held_by_thread(const dt_conn *conn);

/* Gives a report its snapshots (it takes them; either may be NULL). */
void txn_report_set_snapshots(dt_report *r, dt_db *before, dt_db *after);

/*
 * txn_run: runs tx-data in write transaction txn (a root or a child
 * transaction) without committing.  *ws is the working schema (the caller
 * holds one reference); when the transaction changes the schema, *ws is
 * replaced by the changed copy and *ws_changed set; on failure *ws is
 * untouched.  With `out`, a report without snapshots.  The caller bumps
 * the meta schema version and publishes the schema after commit.  With
 * `batch` (txn is the batch's root), the counters and statistics go to
 * the batch, which the caller writes before commit (txn_batch_write).
 */
int txn_run(dt_conn *conn, dt_kv_txn *txn, dl_schema **ws, int *ws_changed, const dt_value *tx_data,
            txn_carry *carry, size_t form_base, txn_batch *batch, dt_report **out);

/* txn_batch_reset: forgets what the batch holds (a new root transaction).
 * txn_batch_write: writes it into txn (the root, before its commit) and
 * forgets it.  txn_batch_free: releases it. */
void txn_batch_reset(txn_batch *b);
int txn_batch_write(txn_batch *b, dt_conn *conn, dt_kv_txn *txn);
void txn_batch_free(txn_batch *b);

/* Frees the connection's transaction buffers (at close). */
void txn_scratch_free(dt_conn *conn);

/*
 * txn_conn_snapshot: a snapshot whose schema matches its data: the
 * current schema, or the one stored in the snapshot when a writer changed
 * it meanwhile.
 */
int txn_conn_snapshot(dt_conn *conn, dt_db **out);

/* Installs `s` (taking the caller's reference) as the current schema of
 * version v. */
void txn_conn_set_schema(dt_conn *conn, dl_schema *s, uint64_t v);

/*
 * txn_schema_apply: applies the schema map `m` to the working schema *ws
 * (cloned on first change, so *ws may be replaced) inside write txn
 * `txn`, checking existing data; writes the changed attribute records.
 * *changed is set when anything changed.  DT_OK / DT_SCHEMA / DT_INVALID.
 */
int txn_schema_apply(dt_conn *conn, dt_kv_txn *txn, dl_schema **ws, const dt_value *m,
                     int *changed);

/*
 * txn_attr_get: the attribute named `name` (keyword text) in the working
 * schema *ws; an undeclared one is created (typed by its values) and
 * stored in txn, cloning *ws on the first change (*ws_changed tells),
 * unless the connection's schema is closed (DT_SCHEMA).
 */
int txn_attr_get(dt_conn *conn, dt_kv_txn *txn, dl_schema **ws, int *ws_changed, const char *name,
                 size_t n, const dl_attr **out);

/*
 * Tempids shared by consecutive transactions (dt_import_edn): a tempid
 * named in an earlier transaction denotes the same entity later.
 */
int txn_carry_new(txn_carry **out);
void txn_carry_free(txn_carry *c);

/* dt_transact_value with a tempid carry (may be NULL) and the number of
 * the first form for messages. */
int txn_transact_carry(dt_conn *conn, const dt_value *tx_data, txn_carry *carry, size_t form_base,
                       dt_report **out);

/* txn_async_stop: completes every queued transaction and stops the
 * connection's writer thread (dt_conn_close). */
void txn_async_stop(dt_conn *conn);

/* txn_gc_batch: the most history entries dt_history_gc deletes in one
 * write transaction (50,000; tests lower it to exercise the batching). */
extern size_t txn_gc_batch;

/* 1 when the calling thread holds conn's writer (a block, a bulk load or
 * the writer thread): waiting for the writer would never end. */
int txn_holds_writer(const void *conn);

#endif
