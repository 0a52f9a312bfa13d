/*
 * store.h -- the datom store on the KV layer (datalog layer): the named
 * databases of a Datolite database, the format marker, meta values, the
 * schema records, statistics, the tx-log and prefix scans.  The datom
 * indexes (eav, ave, history, giants) and their keys belong to index.h.
 * docs/format.md describes the bytes.
 *
 * Keys (all integers big-endian):
 *   txlog    tx(8)                           -> msgpack [[e ident v added]...]
 *   stats    aid(4)                          -> count(8) distinct(8)
 *   schema   aid(4)                          -> msgpack [ident spec declared]
 *   meta     text key                        -> value
 */
#ifndef DL_STORE_H
#define DL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "codec.h"
#include "datolite.h"
#include "kv.h"
#include "schema.h"

#define DL_FORMAT_MAGIC   "datolite"
#define DL_FORMAT_VERSION 1u

/*
 * Entity ids.  User entity ids are 1 .. DL_MAX_EID (2^42 - 1);
 * transaction ids are DL_TX0 + t for t = 1 .. DL_MAX_EID, i.e. 2^42 + 1 ..
 * DL_MAX_TX (2^43 - 1).  0, negative numbers (tempids in tx-data) and
 * everything from 2^43 up are no entity.  An entity position takes a user
 * id (or the current transaction); a ref value takes a user id or a
 * transaction id up to the current one (the writers check that bound).
 */
#define DL_TX0     ((int64_t)1 << 42)
#define DL_MAX_EID (DL_TX0 - 1)
#define DL_MAX_TX  (DL_TX0 + DL_MAX_EID)

/* 1 when e is a user entity id. */
static inline int dl_eid_ok(int64_t e) { return e >= 1 && e <= DL_MAX_EID; }
/* 1 when r may be a ref value: a user entity id or a transaction id. */
static inline int dl_ref_ok(int64_t r) { return dl_eid_ok(r) || (r > DL_TX0 && r <= DL_MAX_TX); }

/* The longest LMDB key. */
#define DL_KEY_MAX 511

typedef struct dl_store {
    dt_kv *kv;
    dt_kv_dbi meta, schema, eav, ave, history, giants, txlog, stats;
} dl_store;

/*
 * dl_store_open: opens the datom store in `kv`, creating its databases
 * and format marker when the environment is new (and `kv` is writable).
 * @retval DT_OK
 * @retval DT_CORRUPT  the environment holds data of another program, a
 *                     Datolite database of another format version, or one
 *                     whose init-db never completed (DL_META_LOADING)
 * @retval DT_NOTFOUND read-only environment without a Datolite database
 * Messages are recorded on the NULL handle.
 */
int dl_store_open(dt_kv *kv, dl_store *out);

/* {====== Integers ====== */

static inline void dl_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline uint64_t dl_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}
static inline void dl_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t dl_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* }====== */

/* {====== Meta values ====== */

/*
 * DL_META_LOADING: present (the load's tx id, u64) while an init-db that
 * commits in chunks is under way; a database where it is left was being
 * loaded when the process stopped (dl_store_open refuses it).
 */
#define DL_META_LOADING "loading"

/* Reads/writes a u64 meta entry; a missing entry reads as `dflt`. */
int dl_meta_get_u64(const dl_store *st, dt_kv_txn *txn, const char *key, uint64_t dflt,
                    uint64_t *out);
int dl_meta_put_u64(const dl_store *st, dt_kv_txn *txn, const char *key, uint64_t v);

/* }====== */

/* {====== Schema persistence ====== */

/* dl_store_load_schema: the schema stored in the database (built-ins
 * included).  DT_OK / DT_CORRUPT / DT_NOMEM. */
int dl_store_load_schema(const dl_store *st, dt_kv_txn *txn, dl_schema **out);

/* dl_store_put_attr: writes one attribute's definition. */
int dl_store_put_attr(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dl_attr *a);

/* dl_store_del_attr: removes the stored definition of aid (none is fine).
 * DT_OK or a KV error with a message. */
int dl_store_del_attr(const dl_store *st, dt_kv_txn *txn, uint32_t aid);

/* }====== */

/* {====== Prefix scans ====== */

/*
 * A scan visits the entries of one dbi whose keys start with a prefix, in
 * key order (or reversed).  Views are valid as for kv cursors.
 */
typedef struct dl_scan {
    kv_cursor *cur;
    dt_buf prefix;
    int started;
    int backward;
    int done;
} dl_scan;

/* Starts a scan (the prefix is copied).  DT_OK / DT_NOMEM / DT_MISUSE. */
int dl_scan_open(dl_scan *s, dt_kv_txn *txn, dt_kv_dbi dbi, const void *prefix, size_t plen,
                 int backward);
/* Moves the scan so its next entry is the first key >= key (forward). */
int dl_scan_seek(dl_scan *s, const void *key, size_t klen);
/* DT_ROW with key/val views, DT_DONE, or an error. */
int dl_scan_next(dl_scan *s, dt_kv_bytes *key, dt_kv_bytes *val);
void dl_scan_close(dl_scan *s);

/* }====== */

/* {====== Statistics ====== */

typedef struct dl_attr_stats {
    uint64_t count;
    uint64_t distinct;
} dl_attr_stats;

/* dl_stats_get: the statistics of aid (zeros when none are stored).
 * DT_OK / DT_CORRUPT / a KV error, with a message. */
int dl_stats_get(const dl_store *st, dt_kv_txn *txn, uint32_t aid, dl_attr_stats *out);

/* dl_stats_add: adds the deltas to the stored statistics of aid.  The
 * only writer of dt/stats (transactions and bulk loads).  DT_OK or an
 * error with a message. */
int dl_stats_add(const dl_store *st, dt_kv_txn *txn, uint32_t aid, int64_t dcount,
                 int64_t ddistinct);

/* dl_stats_add_cur: the same through the cursor *cur on dt/stats, opened
 * on first use (*cur NULL); the caller closes it (kv_cursor_close) before
 * the transaction ends.  For several attributes in a row: the records sit
 * on one page, so no look-up descends from the root again. */
int dl_stats_add_cur(const dl_store *st, dt_kv_txn *txn, kv_cursor **cur, uint32_t aid,
                     int64_t dcount, int64_t ddistinct);

/* }====== */

/* {====== Tx-log ====== */

/* dl_txlog_put: writes `entry` (msgpack-encoded) as the tx-log record of
 * tx; dl_txlog_put_bytes: the same with the entry already encoded.  These
 * two are the only writers of dt/txlog.  DT_OK or an error with a message. */
int dl_txlog_put_bytes(const dl_store *st, dt_kv_txn *txn, int64_t tx, const void *bytes, size_t n);
int dl_txlog_put(const dl_store *st, dt_kv_txn *txn, int64_t tx, const dt_value *entry);

/* }====== */

#endif
