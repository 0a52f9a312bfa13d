/*
 * store.h -- the datom store on the KV layer (datalog layer): the named
 * databases of a Datolite database, the format marker, datom keys, the
 * primitive datom writes (with history, tx-log, statistics and the storage
 * of oversized values) and prefix scans.  docs/format.md describes the
 * bytes.
 *
 * Keys (all integers big-endian):
 *   eav      e(8) | aid(4) | vkey            -> tx(8)
 *   ave      aid(4) | vkey | e(8)            -> tx(8)
 *   history  e(8) | aid(4) | vkey | rtx(8)   -> asserted tx(8)
 *   giants   aid(4) | vkey (truncated)       -> full value encoding
 *   txlog    tx(8)                           -> msgpack [[e ident v added]...]
 *   stats    aid(4)                          -> count(8) distinct(8)
 *   schema   aid(4)                          -> msgpack [ident spec declared]
 *   meta     text key                        -> value
 * vkey is the codec encoding of the value, truncated (prefix + hash) when
 * longer than DL_VKEY_MAX; the full encoding is then kept once in giants.
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

#define DL_KEY_MAX 511
/* Longest value part of a key: the history key carries e, aid and rtx. */
#define DL_VKEY_MAX (DL_KEY_MAX - 8 - 4 - 8)

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

/* }====== */

/* {====== Values in keys ====== */

/*
 * dl_vkey: appends the key form of the value whose full encoding is
 * enc[0..len) to `out`: the encoding itself, or a truncated key when it
 * is longer than DL_VKEY_MAX (*truncated set).  DT_OK / DT_NOMEM.
 */
int dl_vkey_from_enc(const uint8_t *enc, size_t len, dt_buf *out, int *truncated);

/*
 * dl_value_full_enc: the full encoding of the value whose key form is
 * vkey (for attribute aid): vkey itself, or the encoding kept in giants
 * (a view valid as a dt_kv_get_view result).  DT_OK / DT_CORRUPT.
 */
int dl_value_full_enc(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *vkey,
                      size_t vklen, dt_kv_bytes *out);

/* dl_value_decode_key: decodes the value of a key form into *out (owned). */
int dl_value_decode_key(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *vkey,
                        size_t vklen, dt_value *out);

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

/* {====== Writing datoms ====== */

/* One datom change recorded by a write context. */
typedef struct dl_change {
    int64_t e;
    uint32_t aid;
    size_t enc_off, enc_len; /* full value encoding in dl_wtxn.encs */
    int64_t tx;              /* the transaction that made the change */
    int added;
} dl_change;

/* Per-attribute statistics deltas. */
typedef struct dl_stat_delta {
    int64_t count;
    int64_t distinct;
} dl_stat_delta;

/*
 * A write context: the datom writes of one logical transaction inside a
 * write txn.  It records every change (for the report and the tx-log) and
 * the statistics deltas, written by dl_wtxn_finish.
 */
typedef struct dl_wtxn {
    const dl_store *st;
    dt_kv_txn *txn;
    int64_t tx;
    int history; /* record retractions in history (default 1) */
    dt_buf key, key2, tmp;
    kv_cursor *ave_cur; /* cached, for value_in_use */
    dl_change *changes;
    size_t nchanges, capchanges;
    dt_buf encs;
    dl_stat_delta *deltas; /* indexed by aid */
    size_t ndeltas;
} dl_wtxn;

void dl_wtxn_init(dl_wtxn *w, const dl_store *st, dt_kv_txn *txn, int64_t tx);
void dl_wtxn_release(dl_wtxn *w);

/*
 * dl_datom_add: adds [e aid v tx] where enc is v's full encoding; the
 * caller has checked that the datom does not exist.  Writes eav, ave and
 * (for long values) giants; records the change and statistics.
 */
int dl_datom_add(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t enc_len);

/*
 * dl_datom_retract: removes the datom [e aid v] (full encoding enc) if it
 * exists (*found tells), recording it in history and the change list.
 */
int dl_datom_retract(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t enc_len,
                     int *found);

/* dl_datom_exists: 1 if [e aid v] is stored (tx in *tx if not NULL). */
int dl_datom_exists(const dl_store *st, dt_kv_txn *txn, int64_t e, uint32_t aid, const uint8_t *enc,
                    size_t enc_len, int64_t *tx, int *out);

/*
 * dl_wtxn_finish: writes the statistics deltas and the tx-log entry of
 * the recorded changes (idents from schema `s`).  Call once, before
 * commit.
 */
int dl_wtxn_finish(dl_wtxn *w, const dl_schema *s);

/* }====== */

/* {====== Statistics ====== */

typedef struct dl_attr_stats {
    uint64_t count;
    uint64_t distinct;
} dl_attr_stats;

int dl_stats_get(const dl_store *st, dt_kv_txn *txn, uint32_t aid, dl_attr_stats *out);

/* }====== */

/* {====== Keys ====== */

/* Builds an eav/ave key prefix into b (b is reset first). */
int dl_key_eav(dt_buf *b, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen);
int dl_key_ave(dt_buf *b, uint32_t aid, const uint8_t *vkey, size_t vklen, int64_t e);

/* }====== */

#endif
