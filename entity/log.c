/*
 * log.c -- the transaction log reader (entity layer): dt_log_* over the
 * datalog layer's tx-log reader (txlog.h) on a snapshot.
 */
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "db.h"
#include "entity.h"
#include "txlog.h"

struct dt_log {
    uint32_t magic;
    dt_db *db;
    dl_log l;
};

static int log_ok(const dt_log *l) { return l && l->magic == DT_MAGIC_LOG; }

static int log_open(dt_db *db, int64_t from_tx, int64_t to_tx, int64_t from_ms, int64_t to_ms,
                    dt_log **out) {
    if (out) *out = NULL;
    if (!dl_db_ok(db) || !out) return dt__seterr(db, DT_MISUSE, "dt_log_open: bad arguments");
    dt_kv_txn *txn = dl_db_txn(db);
    if (!txn) return dt__seterr(db, DT_MISUSE, "dt_log_open: the snapshot has ended");
    dt_log *l = dt__calloc(1, sizeof *l);
    if (!l) return dt__seterr(db, DT_NOMEM, "log: out of memory");
    int rc = dl_log_open(&l->l, dl_db_store(db), txn, from_tx, to_tx, from_ms, to_ms);
    if (rc != DT_OK) {
        dt__free(l);
        return dt__moveerr(NULL, db, rc);
    }
    l->magic = DT_MAGIC_LOG;
    l->db = db;
    *out = l;
    return DT_OK;
}

int dt_log_open(dt_db *db, int64_t from_tx, int64_t to_tx, dt_log **out) {
    if (to_tx <= 0) to_tx = INT64_MAX;
    if (from_tx < 0) from_tx = 0;
    return log_open(db, from_tx, to_tx, INT64_MIN, INT64_MAX, out);
}

int dt_log_open_time(dt_db *db, int64_t from_ms, int64_t to_ms, dt_log **out) {
    return log_open(db, 0, INT64_MAX, from_ms, to_ms, out);
}

void dt_log_close(dt_log *l) {
    if (!log_ok(l)) return;
    dl_log_close(&l->l);
    l->magic = DT_MAGIC_DEAD;
    dt__free(l);
}

int dt_log_next(dt_log *l, dt_log_tx *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!log_ok(l) || !out) return dt__seterr(l, DT_MISUSE, "dt_log_next: bad arguments");
    int rc = dl_log_next(&l->l, out);
    if (rc != DT_ROW && rc != DT_DONE) return dt__moveerr(NULL, l, rc);
    return rc;
}
