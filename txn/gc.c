/*
 * gc.c -- dt_history_gc (txn layer): drops the history of retractions
 * older than a watermark, in bounded write transactions through the
 * connection's writer slot.
 */
#include <stdint.h>

#include "conn.h"
#include "index.h"
#include "store.h"

/* Deletions per write transaction (conn.h): bounds the dirty pages one
 * commit writes and how long the writer slot is held at a time. */
size_t txn_gc_batch = 50000;

/* The most times one batch runs again after the map grew. */
#define GC_GROW_RETRIES 64

/*
 * One batch in a write transaction of its own.  The first batch (first
 * != 0) checks before_tx against the transactions that exist, and raises
 * the watermark in the same transaction as its deletions, so the
 * watermark is durable before any entry below it is gone.  *eff is the
 * bound the deletions use: max(before_tx, the watermark).
 */
static int gc_batch(dt_conn *conn, int first, int64_t before_tx, int64_t *eff, dt_buf *resume,
                    uint64_t *dropped, int *done) {
    dt_kv_txn *txn = NULL;
    int rc = dt_kv_txn_begin(conn->kv, DT_KV_TXN_WRITE, &txn);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "history gc: %s", dt_errmsg(conn->kv));
    if (first) {
        uint64_t next_t = 1;
        int64_t floor = 0;
        rc = dl_meta_get_u64(&conn->st, txn, "next_t", 1, &next_t);
        if (rc == DT_OK) rc = dl_history_floor(&conn->st, txn, &floor);
        int64_t limit = DL_TX0 + (int64_t)next_t; /* one past the last transaction */
        if (rc == DT_OK && (before_tx <= DL_TX0 || before_tx > limit))
            rc = dt__seterr(NULL, DT_INVALID,
                            "history gc: %lld is not a transaction id of this database (%lld .. "
                            "%lld, the last one plus one)",
                            (long long)before_tx, (long long)DL_TX0 + 1, (long long)limit);
        if (rc == DT_OK) {
            *eff = before_tx > floor ? before_tx : floor;
            if (before_tx > floor) rc = dl_history_set_floor(&conn->st, txn, before_tx);
        }
    }
    uint64_t n = 0;
    if (rc == DT_OK) rc = dl_history_gc_step(&conn->st, txn, *eff, txn_gc_batch, resume, &n, done);
    if (rc == DT_OK) {
        rc = dt_kv_txn_commit(txn);
        txn = NULL;
        if (rc != DT_OK && rc != DT_MAPFULL_RETRY)
            rc = dt__seterr(NULL, rc, "history gc: commit failed: %s", dt_errmsg(conn->kv));
    }
    if (txn) dt_kv_txn_abort(txn);
    if (rc == DT_OK) *dropped += n;
    return rc;
}

int dt_history_gc(dt_conn *conn, int64_t before_tx, uint64_t *dropped) {
    if (dropped) *dropped = 0;
    if (!txn_conn_ok(conn)) return dt__seterr(conn, DT_MISUSE, "dt_history_gc: bad arguments");
    dt_buf resume = DT_BUF_INIT, saved = DT_BUF_INIT;
    uint64_t total = 0;
    int64_t eff = 0;
    int done = 0, rc = DT_OK;
    for (int first = 1; !done; first = 0) {
        /* the writer slot is given back between batches, so transactions
         * interleave with a long collection; they only add entries
         * retracted after the watermark, which it does not touch */
        if ((rc = txn_writer_enter(conn)) != DT_OK) break;
        for (int attempt = 0;; attempt++) {
            saved.len = 0;
            if (resume.len && (rc = dt_buf_append(&saved, resume.p, resume.len)) != DT_OK) {
                rc = dt__seterr(NULL, rc, "history gc: out of memory");
                break;
            }
            rc = gc_batch(conn, first, before_tx, &eff, &resume, &total, &done);
            if (rc != DT_MAPFULL_RETRY) break;
            /* nothing of the batch was written: run it again from where
             * it started, in the grown map */
            resume.len = 0;
            if (saved.len && dt_buf_append(&resume, saved.p, saved.len) != DT_OK) {
                rc = dt__seterr(NULL, DT_NOMEM, "history gc: out of memory");
                break;
            }
            if (attempt >= GC_GROW_RETRIES) {
                rc = dt__seterr(NULL, DT_MAPFULL, "history gc: the map filled up again");
                break;
            }
        }
        txn_writer_leave(conn);
        if (rc != DT_OK) {
            dt__moveerr(NULL, conn, rc);
            break;
        }
    }
    dt_buf_release(&resume);
    dt_buf_release(&saved);
    if (dropped) *dropped = total;
    return rc;
}
