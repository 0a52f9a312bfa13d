/*
 * async.c -- async transact and group commit for a connection (txn
 * layer).  Transactions are jobs of the kv group-commit writer: each runs
 * in a nested transaction of the batch's root transaction; the batch
 * commits once.  dt_transact and dt_import_edn are submit + wait, so
 * concurrent synchronous writers share fsyncs too.  A transaction whose
 * report wants exact before/after snapshots runs in a batch of its own.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "writer.h"

typedef struct tx_job {
    kv_job job;
    dt_conn *conn;
    dt_value tx; /* owned copy, or a borrowed view (borrowed = 1) */
    int borrowed;
    txn_carry *carry;
    size_t form_base;
    int want_report;
    int want_snapshots;
    dt_report *report;
    dt_db *before, *after;
    dt_transact_callback cb;
    void *userdata;
    dt_future *fut;
} tx_job;

/* {====== Writer hooks ====== */

static int w_enter(void *ctx) { return txn_writer_enter(ctx); }

static void w_leave(void *ctx) { txn_writer_leave(ctx); }

static int w_begin(void *ctx, dt_kv_txn *root, kv_job *first) {
    (void)root;
    dt_conn *conn = ctx;
    pthread_mutex_lock(&conn->slock);
    conn->w_ws = dl_schema_retain(conn->schema);
    conn->w_v = conn->schema_v;
    pthread_mutex_unlock(&conn->slock);
    conn->w_changed = 0;
    conn->w_root = root;
    txn_batch_reset(&conn->w_batch);
    tx_job *j = (tx_job *)first;
    /* the writer slot is held and the root began: a snapshot taken now is
     * the state before this (alone) transaction */
    if (first->alone && j->want_snapshots) return txn_conn_snapshot(conn, &j->before);
    return DT_OK;
}

static int w_run(void *ctx, kv_job *job, dt_kv_txn *txn) {
    dt_conn *conn = ctx;
    tx_job *j = (tx_job *)job;
    /* straight in the root: counters and statistics wait for the commit
     * (a nested job, after a failure in the batch, writes its own) */
    return txn_run(conn, txn, &conn->w_ws, &conn->w_changed, &j->tx, j->carry, j->form_base,
                   txn == conn->w_root ? &conn->w_batch : NULL, j->want_report ? &j->report : NULL);
}

static void w_undo(void *ctx, kv_job *job) {
    (void)ctx;
    tx_job *j = (tx_job *)job;
    dt_report_close(j->report);
    j->report = NULL;
}

static int w_precommit(void *ctx, dt_kv_txn *root) {
    dt_conn *conn = ctx;
    int rc = txn_batch_write(&conn->w_batch, conn, root);
    if (rc != DT_OK || !conn->w_changed) return rc;
    return dl_meta_put_u64(&conn->st, root, "schema_v", conn->w_v + 1);
}

static void w_end(void *ctx, int committed, kv_job *first) {
    dt_conn *conn = ctx;
    tx_job *j = (tx_job *)first;
    conn->w_root = NULL;
    txn_batch_reset(&conn->w_batch);
    if (committed && conn->w_changed)
        txn_conn_set_schema(conn, conn->w_ws, conn->w_v + 1);
    else
        dl_schema_release(conn->w_ws);
    conn->w_ws = NULL;
    if (first->alone && j->want_snapshots) {
        if (committed) {
            if (txn_conn_snapshot(conn, &j->after) != DT_OK) j->after = NULL;
        } else {
            dt_db_close(j->before);
            j->before = NULL;
        }
    }
}

static void report_free_cb(void *p) { dt_report_close(p); }

static void w_complete(void *ctx, kv_job *job) {
    (void)ctx;
    tx_job *j = (tx_job *)job;
    if (job->rc == DT_OK && j->report)
        txn_report_set_snapshots(j->report, j->before, j->after);
    else {
        dt_db_close(j->before);
        dt_db_close(j->after);
    }
    j->before = j->after = NULL;
    if (j->cb) j->cb(job->rc, job->rc == DT_OK ? j->report : NULL, j->userdata);
    int64_t tx = job->rc == DT_OK && j->report ? dt_report_tx(j->report) : 0;
    if (j->fut) {
        kv_future_complete(j->fut, job->rc, tx, job->rc == DT_OK ? j->report : NULL, report_free_cb,
                           job->msg);
        if (job->rc == DT_OK) j->report = NULL; /* now the future's */
    }
    dt_report_close(j->report);
    if (!j->borrowed) dt_value_free(&j->tx);
    dt__free(j);
}

static const kv_writer_ops conn_writer_ops = {
    w_enter, w_leave, w_begin, w_run, w_undo, w_precommit, w_end, w_complete,
};

/* }====== */

/* {====== Submitting ====== */

int txn_holds_writer(const void *conn) {
    const dt_conn *c = conn;
    if (txn_writer_held_by_thread(c)) return 1;
    /* get_writer sets c->writer under amu, maybe on another thread */
    pthread_mutex_lock((pthread_mutex_t *)&c->amu);
    int on = kv_writer_on_thread(c->writer);
    pthread_mutex_unlock((pthread_mutex_t *)&c->amu);
    return on;
}

static int get_writer(dt_conn *conn, kv_writer **out) {
    /* started: no lock (64 producers would queue on amu, then again on
     * the writer's own lock) */
    if ((*out = atomic_load_explicit(&conn->writer_pub, memory_order_acquire))) return DT_OK;
    int rc = DT_OK;
    pthread_mutex_lock(&conn->amu);
    if (!conn->writer) {
        rc = kv_writer_start(conn->kv, &conn_writer_ops, conn, &conn->writer);
        if (rc == DT_OK)
            atomic_store_explicit(&conn->writer_pub, conn->writer, memory_order_release);
    }
    *out = conn->writer;
    pthread_mutex_unlock(&conn->amu);
    return rc;
}

void txn_async_stop(dt_conn *conn) {
    pthread_mutex_lock(&conn->amu);
    kv_writer *w = conn->writer;
    /* submitters take the locked path from now on */
    atomic_store_explicit(&conn->writer_pub, NULL, memory_order_release);
    pthread_mutex_unlock(&conn->amu);
    /* conn->writer stays set while it drains, so that a callback which
     * submits meanwhile reaches the stopping writer (DT_MISUSE) rather than
     * starting a new one that would outlive the connection.  Only callbacks
     * (on w's own thread) may submit during close, so w is still alive. */
    kv_writer_stop(w);
    pthread_mutex_lock(&conn->amu);
    conn->writer = NULL;
    pthread_mutex_unlock(&conn->amu);
}

/* How submit holds the tx-data. */
enum { TX_COPY = 0, TX_BORROW = 1, TX_TAKE = 2 };

/*
 * submit: queues a job for tx (TX_COPY: copied; TX_BORROW: the caller
 * keeps it alive until completion; TX_TAKE: ownership moves to the job,
 * also when submit fails); with `fut_out` also returns a future.  The job
 * belongs to the writer once queued.
 */
static int submit(dt_conn *conn, const dt_value *tx, int borrowed, txn_carry *carry,
                  size_t form_base, int want_report, int want_snapshots, dt_transact_callback cb,
                  void *userdata, int here, dt_future **fut_out) {
    if (fut_out) *fut_out = NULL;
    /* not calloc: the job's message buffer needs no zeroing */
    tx_job *j = dt__malloc(sizeof *j);
    if (j) {
        memset(j, 0, offsetof(tx_job, job.msg));
        j->job.msg[0] = '\0';
        memset(&j->conn, 0, sizeof *j - offsetof(tx_job, conn));
    }
    if (!j) {
        if (borrowed == TX_TAKE) dt_value_free((dt_value *)tx);
        return dt__seterr(NULL, DT_NOMEM, "transact: out of memory");
    }
    int rc = DT_OK;
    if (borrowed == TX_COPY)
        rc = dt_value_copy(tx, &j->tx);
    else
        j->tx = *tx; /* borrowed, or taken over (freed with the job) */
    j->borrowed = borrowed == TX_BORROW;
    j->conn = conn;
    j->carry = carry;
    j->form_base = form_base;
    j->want_report = want_report;
    j->want_snapshots = want_snapshots;
    j->job.alone = want_snapshots;
    j->cb = cb;
    j->userdata = userdata;
    kv_writer *w = NULL;
    if (rc == DT_OK && !here) rc = get_writer(conn, &w);
    if (rc == DT_OK && fut_out) {
        j->fut = kv_future_new(conn, txn_holds_writer);
        if (!j->fut) rc = dt__seterr(NULL, DT_NOMEM, "transact: out of memory");
    }
    dt_future *fut = j->fut;
    if (rc == DT_OK && here)
        kv_writer_run_here(conn->kv, &conn_writer_ops, conn, &j->job);
    else if (rc == DT_OK)
        rc = kv_writer_submit(w, &j->job);
    if (rc != DT_OK) {
        if (fut) {
            dt_future_free(fut);
            dt_future_free(fut);
        }
        if (borrowed != TX_BORROW) dt_value_free(&j->tx);
        dt__free(j);
        return rc;
    }
    if (fut_out) *fut_out = fut;
    return DT_OK;
}

int dt_transact_async_value(dt_conn *conn, const dt_value *tx_data, dt_transact_callback cb,
                            void *userdata, dt_future **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "transact_async: not an open connection");
    if (!tx_data) return dt__seterr(conn, DT_MISUSE, "transact_async: NULL tx-data");
    int rc = submit(conn, tx_data, TX_COPY, NULL, 0, cb || out, 0, cb, userdata, 0, out);
    if (rc != DT_OK) dt__moveerr(NULL, conn, rc);
    return rc;
}

int dt_transact_async(dt_conn *conn, const char *tx_edn, dt_transact_callback cb, void *userdata,
                      dt_future **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "transact_async: not an open connection");
    if (!tx_edn) return dt__seterr(conn, DT_MISUSE, "transact_async: NULL tx-data");
    dt_value tx = DT_VALUE_NIL;
    int rc = dt_edn_read(tx_edn, strlen(tx_edn), &tx);
    if (rc != DT_OK) return dt__seterr(conn, rc, "transact: %s", dt_errmsg(NULL));
    /* the parsed value is handed over, not copied again */
    rc = submit(conn, &tx, TX_TAKE, NULL, 0, cb || out, 0, cb, userdata, 0, out);
    if (rc != DT_OK) dt__moveerr(NULL, conn, rc);
    return rc;
}

int dt_transact_async_text(dt_conn *conn, const char *text, size_t len, dt_transact_callback cb,
                           void *userdata, dt_future **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "transact_async: not an open connection");
    if (!text && len) return dt__seterr(conn, DT_MISUSE, "transact_async: NULL tx-data");
    dt_value tx = DT_VALUE_NIL;
    int rc = dt_edn_read(text, len, &tx);
    if (rc != DT_OK) return dt__seterr(conn, rc, "transact: %s", dt_errmsg(NULL));
    rc = submit(conn, &tx, TX_TAKE, NULL, 0, cb || out, 0, cb, userdata, 0, out);
    if (rc != DT_OK) dt__moveerr(NULL, conn, rc);
    return rc;
}

int dt_transact_text(dt_conn *conn, const char *text, size_t len, dt_report **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_transact: not an open connection");
    if (!text && len) return dt__seterr(conn, DT_MISUSE, "dt_transact: NULL tx-data");
    dt_value tx = DT_VALUE_NIL;
    int rc = dt_edn_read(text, len, &tx);
    if (rc != DT_OK) return dt__seterr(conn, rc, "transact: %s", dt_errmsg(NULL));
    rc = dt_transact_value(conn, &tx, out);
    dt_value_free(&tx);
    return rc;
}

int txn_transact_carry(dt_conn *conn, const dt_value *tx_data, txn_carry *carry, size_t form_base,
                       dt_report **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_transact: not an open connection");
    if (!tx_data) return dt__seterr(conn, DT_MISUSE, "dt_transact: NULL tx-data");
    if (txn_holds_writer(conn))
        return dt__seterr(conn, DT_MISUSE,
                          "dt_transact: this thread holds the connection's writer (an open block, "
                          "a bulk load, or a callback); it would wait for itself");
    dt_future *f = NULL;
    /* With nothing queued or running, run on this thread: no hand-off, and
     * anything submitted later still commits after us.  Otherwise queue
     * behind the others and wait.  Either way tx_data can be borrowed. */
    pthread_mutex_lock(&conn->amu);
    int here = kv_writer_idle(conn->writer);
    pthread_mutex_unlock(&conn->amu);
    int rc = submit(conn, tx_data, TX_BORROW, carry, form_base, out != NULL, out != NULL, NULL,
                    NULL, here, &f);
    if (rc != DT_OK) return dt__moveerr(NULL, conn, rc);
    rc = dt_future_wait(f);
    if (rc == DT_OK && out) {
        *out = f->result; /* take the report over from the future */
        f->result = NULL;
    }
    if (rc != DT_OK) {
        if (rc == DT_MAPFULL_RETRY) rc = DT_MAPFULL;
        dt__seterr(conn, rc, "%s", f->msg);
    }
    dt_future_free(f);
    return rc;
}

/* }====== */
