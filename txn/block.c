/*
 * block.c -- with-transaction blocks and savepoints (txn layer).
 *
 * A block holds the connection's writer slot and one LMDB write
 * transaction.  Savepoints are LMDB nested transactions stacked on it:
 * level 0 is the root, level i > 0 the i-th open savepoint, and the top
 * level is where writes go.  Each transact in a block runs in one more
 * nested transaction on top, so a failing transact is undone alone.
 */
#include <string.h>

#include "conn.h"
#include "host.h"
#include "udf.h"
#include "writer.h"

#define DT_MAGIC_TX 0x64747478u /* "dttx" */
#define DT_MAGIC_SP 0x64747370u /* "dtsp" */

typedef struct level {
    dt_kv_txn *txn;
    uint64_t serial;      /* savepoint identity (0 for the root) */
    dl_schema *ws_before; /* the schema when the savepoint was made */
    int changed_before;
} level;

struct dt_savepoint {
    uint32_t magic;
    dt_txn *tx;
    size_t level;
    uint64_t serial;
    dt_savepoint *next_alloc; /* every handle of the block, freed at its end */
};

struct dt_txn {
    uint32_t magic;
    dt_conn *conn;
    level *levels;
    size_t nlevels, caplevels;
    uint64_t serials;
    dl_schema *ws; /* the block's working schema (one reference) */
    int ws_changed;
    uint64_t schema_v;
    int failed;         /* sticky failure (WRITEMAP, map full) */
    _Atomic long views; /* open dt_txn_db views */
    dt_savepoint *sps;
};

static int tx_ok(const dt_txn *tx) { return tx && tx->magic == DT_MAGIC_TX; }

static dt_kv_txn *top(dt_txn *tx) { return tx->levels[tx->nlevels - 1].txn; }

/* Frees the block after its root transaction ended. */
static void tx_free(dt_txn *tx) {
    for (size_t i = 0; i < tx->nlevels; i++) dl_schema_release(tx->levels[i].ws_before);
    dt__free(tx->levels);
    for (dt_savepoint *sp = tx->sps, *n; sp; sp = n) {
        n = sp->next_alloc;
        sp->magic = DT_MAGIC_DEAD;
        dt__free(sp);
    }
    dl_schema_release(tx->ws);
    txn_writer_leave(tx->conn);
    dt__clearerr(tx);
    tx->magic = DT_MAGIC_DEAD;
    dt__free(tx);
}

int dt_txn_begin(dt_conn *conn, dt_txn **out) {
    if (!out) return dt__seterr(conn, DT_MISUSE, "dt_txn_begin: NULL out");
    *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_txn_begin: not an open connection");
    pthread_mutex_lock(&conn->amu); /* conn->writer is set under it */
    int on_writer = kv_writer_on_thread(conn->writer);
    pthread_mutex_unlock(&conn->amu);
    if (on_writer)
        return dt__seterr(conn, DT_MISUSE, "dt_txn_begin: not from a transaction callback");
    int rc = txn_writer_enter(conn);
    if (rc != DT_OK) return rc;
    dt_txn *tx = dt__calloc(1, sizeof *tx);
    level *lv = dt__calloc(4, sizeof *lv);
    if (!tx || !lv) {
        dt__free(tx);
        dt__free(lv);
        txn_writer_leave(conn);
        return dt__seterr(conn, DT_NOMEM, "dt_txn_begin: out of memory");
    }
    tx->magic = DT_MAGIC_TX;
    tx->conn = conn;
    tx->levels = lv;
    tx->caplevels = 4;
    rc = dt_kv_txn_begin(conn->kv, DT_KV_TXN_WRITE, &lv[0].txn);
    if (rc != DT_OK) {
        dt__moveerr(conn->kv, conn, rc);
        tx->nlevels = 0;
        tx_free(tx);
        return rc;
    }
    tx->nlevels = 1;
    pthread_mutex_lock(&conn->slock);
    tx->ws = dl_schema_retain(conn->schema);
    tx->schema_v = conn->schema_v;
    pthread_mutex_unlock(&conn->slock);
    *out = tx;
    return DT_OK;
}

/* Ends the nested transactions above level `keep` (commit or abort). */
static int unwind(dt_txn *tx, size_t keep, int commit) {
    int rc = DT_OK;
    while (tx->nlevels > keep + 1) {
        level *lv = &tx->levels[--tx->nlevels];
        if (commit && rc == DT_OK) {
            rc = kv_txn_commit(lv->txn);
            if (rc != DT_OK) dt__moveerr(tx->conn->kv, tx, rc);
        } else {
            kv_txn_abort(lv->txn);
        }
        dl_schema_release(lv->ws_before);
        memset(lv, 0, sizeof *lv);
    }
    return rc;
}

static int check_usable(dt_txn *tx, const char *what) {
    if (!tx_ok(tx)) return dt__seterr(tx, DT_MISUSE, "%s: not an open block", what);
    if (atomic_load(&tx->views) > 0)
        return dt__seterr(tx, DT_MISUSE, "%s: release the block's dt_txn_db views first", what);
    return DT_OK;
}

int dt_txn_transact_value(dt_txn *tx, const dt_value *tx_data, dt_report **out) {
    if (out) *out = NULL;
    int rc = check_usable(tx, "dt_txn_transact");
    if (rc != DT_OK) return rc;
    if (!tx_data) return dt__seterr(tx, DT_MISUSE, "dt_txn_transact: NULL tx-data");
    if (tx->failed)
        return dt__seterr(tx, tx->failed, "dt_txn_transact: the block failed earlier; abort it");
    dt_conn *conn = tx->conn;
    if (kv_writemap(conn->kv)) {
        /* no nested transactions: a failure spoils the block */
        rc = txn_run(conn, top(tx), &tx->ws, &tx->ws_changed, tx_data, NULL, 0, NULL, out);
        if (rc != DT_OK) tx->failed = rc;
        return dt__moveerr(NULL, tx, rc);
    }
    dt_kv_txn *child = NULL;
    rc = kv_txn_begin(conn->kv, top(tx), DT_KV_TXN_WRITE, &child);
    if (rc != DT_OK) return dt__moveerr(conn->kv, tx, rc);
    rc = txn_run(conn, child, &tx->ws, &tx->ws_changed, tx_data, NULL, 0, NULL, out);
    if (rc == DT_OK) {
        rc = kv_txn_commit(child);
        if (rc != DT_OK) {
            dt__moveerr(conn->kv, NULL, rc);
            dt_report_close(out ? *out : NULL);
            if (out) *out = NULL;
        }
    } else {
        kv_txn_abort(child);
    }
    if (rc == DT_MAPFULL_RETRY) tx->failed = rc; /* the whole tree is gone */
    if (rc != DT_OK) dt__moveerr(NULL, tx, rc);
    return rc;
}

int dt_txn_transact(dt_txn *tx, const char *tx_edn, dt_report **out) {
    if (out) *out = NULL;
    if (!tx_ok(tx) || !tx_edn) return dt__seterr(tx, DT_MISUSE, "dt_txn_transact: bad arguments");
    dt_value v = DT_VALUE_NIL;
    int rc = dt_edn_read(tx_edn, strlen(tx_edn), &v);
    if (rc != DT_OK) return dt__seterr(tx, rc, "transact: %s", dt_errmsg(NULL));
    rc = dt_txn_transact_value(tx, &v, out);
    dt_value_free(&v);
    return rc;
}

int dt_txn_transact_text(dt_txn *tx, const char *text, size_t len, dt_report **out) {
    if (out) *out = NULL;
    if (!tx_ok(tx) || (!text && len))
        return dt__seterr(tx, DT_MISUSE, "dt_txn_transact: bad arguments");
    dt_value v = DT_VALUE_NIL;
    int rc = dt_edn_read(text, len, &v);
    if (rc != DT_OK) return dt__seterr(tx, rc, "transact: %s", dt_errmsg(NULL));
    rc = dt_txn_transact_value(tx, &v, out);
    dt_value_free(&v);
    return rc;
}

int dt_txn_db(dt_txn *tx, dt_db **out) {
    if (!out) return dt__seterr(tx, DT_MISUSE, "dt_txn_db: NULL out");
    *out = NULL;
    if (!tx_ok(tx)) return dt__seterr(tx, DT_MISUSE, "dt_txn_db: not an open block");
    if (tx->failed)
        return dt__seterr(tx, tx->failed, "dt_txn_db: the block failed earlier; abort it");
    int rc = dl_db_new(&tx->conn->st, top(tx), 0, tx->ws, &tx->views, out);
    if (rc != DT_OK)
        dt__moveerr(NULL, tx, rc);
    else
        dq_db_set_host(*out, udf_query_host(tx->conn->udf));
    return rc;
}

dt_kv_txn *dt_txn_kv_txn(dt_txn *tx) { return tx_ok(tx) && !tx->failed ? top(tx) : NULL; }

int dt_txn_kv(dt_txn *tx, dt_kv **out_kv, dt_kv_txn **out_txn) {
    if (out_kv) *out_kv = NULL;
    if (out_txn) *out_txn = NULL;
    if (!out_kv || !out_txn) return dt__seterr(tx, DT_MISUSE, "dt_txn_kv: NULL out");
    if (!tx_ok(tx)) return dt__seterr(tx, DT_MISUSE, "dt_txn_kv: not an open block");
    int failed = tx->failed ? tx->failed : kv_txn_failed(top(tx));
    if (failed)
        return dt__seterr(tx, failed, "dt_txn_kv: the block failed earlier (%s); abort it",
                          dt_errstr(failed));
    *out_kv = tx->conn->kv;
    *out_txn = top(tx);
    return DT_OK;
}

int dt_txn_commit(dt_txn *tx) {
    int rc = check_usable(tx, "dt_txn_commit");
    if (rc != DT_OK) return rc;
    dt_conn *conn = tx->conn;
    if (tx->failed) {
        rc = dt__seterr(tx, tx->failed, "dt_txn_commit: the block failed earlier; nothing written");
        dt__moveerr(tx, conn, rc);
        unwind(tx, 0, 0);
        kv_txn_abort(tx->levels[0].txn);
        tx_free(tx);
        return rc;
    }
    rc = unwind(tx, 0, 1);
    if (rc == DT_OK && tx->ws_changed)
        rc = dl_meta_put_u64(&conn->st, tx->levels[0].txn, "schema_v", tx->schema_v + 1);
    if (rc == DT_OK) {
        rc = kv_txn_commit(tx->levels[0].txn);
        if (rc != DT_OK) dt__moveerr(conn->kv, NULL, rc);
    } else {
        unwind(tx, 0, 0);
        kv_txn_abort(tx->levels[0].txn);
    }
    if (rc == DT_OK && tx->ws_changed)
        txn_conn_set_schema(conn, dl_schema_retain(tx->ws), tx->schema_v + 1);
    if (rc != DT_OK) dt__seterr(conn, rc, "dt_txn_commit: %s", dt_errmsg(NULL));
    tx_free(tx);
    return rc;
}

void dt_txn_abort(dt_txn *tx) {
    if (!tx_ok(tx)) return;
    unwind(tx, 0, 0);
    kv_txn_abort(tx->levels[0].txn);
    tx_free(tx);
}

/* The most times dt_with_txn runs the block again after the map grew. */
#define MAX_GROW_RETRIES 64

int dt_with_txn(dt_conn *conn, int (*fn)(dt_txn *tx, void *userdata), void *userdata) {
    if (!fn) return dt__seterr(conn, DT_MISUSE, "dt_with_txn: NULL function");
    for (int attempt = 0;; attempt++) {
        dt_txn *tx = NULL;
        int rc = dt_txn_begin(conn, &tx);
        if (rc != DT_OK) return rc;
        rc = fn(tx, userdata);
        /* DT_MAPFULL_RETRY: the map has grown, so running fn again can
         * succeed; plain DT_MAPFULL: it cannot grow, so it would not */
        int grew = tx->failed == DT_MAPFULL_RETRY || rc == DT_MAPFULL_RETRY;
        if (rc == DT_OK) {
            rc = dt_txn_commit(tx);
            grew = rc == DT_MAPFULL_RETRY;
        } else {
            if (grew) rc = DT_MAPFULL_RETRY;
            if (dt_errmsg(tx)[0])
                dt__moveerr(tx, conn, rc);
            else /* no message of its own: say so, never show an older one */
                dt__seterr(conn, rc, "dt_with_txn: the block function failed with %d (%s)", rc,
                           dt_errstr(rc));
            dt_txn_abort(tx);
        }
        if (!grew) return rc;
        if (attempt >= MAX_GROW_RETRIES)
            return dt__seterr(conn, DT_MAPFULL,
                              "dt_with_txn: the map filled up again after growing %d times",
                              MAX_GROW_RETRIES);
    }
}

/* {====== Savepoints ====== */

int dt_savepoint_create(dt_txn *tx, dt_savepoint **out) {
    if (!out) return dt__seterr(tx, DT_MISUSE, "dt_savepoint_create: NULL out");
    *out = NULL;
    int rc = check_usable(tx, "dt_savepoint_create");
    if (rc != DT_OK) return rc;
    if (tx->failed)
        return dt__seterr(tx, tx->failed, "dt_savepoint_create: the block failed earlier");
    if (kv_writemap(tx->conn->kv))
        return dt__seterr(tx, DT_MISUSE,
                          "dt_savepoint_create: savepoints need nested transactions, "
                          "which WRITEMAP environments do not have");
    if (tx->nlevels == tx->caplevels) {
        size_t cap = tx->caplevels * 2;
        level *l = dt__realloc(tx->levels, cap * sizeof *l);
        if (!l) return dt__seterr(tx, DT_NOMEM, "dt_savepoint_create: out of memory");
        tx->levels = l;
        tx->caplevels = cap;
    }
    dt_savepoint *sp = dt__calloc(1, sizeof *sp);
    if (!sp) return dt__seterr(tx, DT_NOMEM, "dt_savepoint_create: out of memory");
    level *lv = &tx->levels[tx->nlevels];
    memset(lv, 0, sizeof *lv);
    rc = kv_txn_begin(tx->conn->kv, top(tx), DT_KV_TXN_WRITE, &lv->txn);
    if (rc != DT_OK) {
        dt__free(sp);
        return dt__moveerr(tx->conn->kv, tx, rc);
    }
    lv->serial = ++tx->serials;
    lv->ws_before = dl_schema_retain(tx->ws);
    lv->changed_before = tx->ws_changed;
    sp->magic = DT_MAGIC_SP;
    sp->tx = tx;
    sp->level = tx->nlevels++;
    sp->serial = lv->serial;
    sp->next_alloc = tx->sps;
    tx->sps = sp;
    *out = sp;
    return DT_OK;
}

/* 1 when sp is a live savepoint of tx. */
static int sp_live(const dt_txn *tx, const dt_savepoint *sp) {
    return sp && sp->magic == DT_MAGIC_SP && sp->tx == tx && sp->level < tx->nlevels &&
           sp->level > 0 && tx->levels[sp->level].serial == sp->serial;
}

int dt_savepoint_rollback(dt_txn *tx, dt_savepoint *sp) {
    int rc = check_usable(tx, "dt_savepoint_rollback");
    if (rc != DT_OK) return rc;
    if (!sp_live(tx, sp))
        return dt__seterr(tx, DT_MISUSE,
                          "dt_savepoint_rollback: not a live savepoint of this block");
    if (tx->failed)
        return dt__seterr(tx, tx->failed, "dt_savepoint_rollback: the block failed earlier");
    unwind(tx, sp->level, 0);
    level *lv = &tx->levels[sp->level];
    /* undo the savepoint's own transaction and start it afresh */
    kv_txn_abort(lv->txn);
    lv->txn = NULL;
    dl_schema_release(tx->ws);
    tx->ws = dl_schema_retain(lv->ws_before);
    tx->ws_changed = lv->changed_before;
    rc = kv_txn_begin(tx->conn->kv, tx->levels[sp->level - 1].txn, DT_KV_TXN_WRITE, &lv->txn);
    if (rc != DT_OK) {
        /* the savepoint is gone; the block stays usable below it */
        dl_schema_release(lv->ws_before);
        memset(lv, 0, sizeof *lv);
        tx->nlevels = sp->level;
        return dt__moveerr(tx->conn->kv, tx, rc);
    }
    return DT_OK;
}

int dt_savepoint_release(dt_txn *tx, dt_savepoint *sp) {
    int rc = check_usable(tx, "dt_savepoint_release");
    if (rc != DT_OK) return rc;
    if (!sp_live(tx, sp))
        return dt__seterr(tx, DT_MISUSE,
                          "dt_savepoint_release: not a live savepoint of this block");
    if (tx->failed)
        return dt__seterr(tx, tx->failed, "dt_savepoint_release: the block failed earlier");
    rc = unwind(tx, sp->level - 1, 1);
    if (rc != DT_OK) {
        tx->failed = rc;
        unwind(tx, 0, 0);
    }
    return rc;
}

/* }====== */
