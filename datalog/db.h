/*
 * db.h -- snapshots (dt_db) and the datom read primitives on them
 * (datalog layer).  A dt_db wraps a KV transaction (read-only for
 * snapshots; a write transaction for views inside a writer) and the schema
 * it was taken with.
 */
#ifndef DL_DB_H
#define DL_DB_H

#include "datolite.h"
#include "schema.h"
#include "store.h"

#define DT_MAGIC_DB 0x64746462u /* "dtdb" */

struct dt_db {
    uint32_t magic;
    const dl_store *st;
    dt_kv_txn *txn;
    int owns_txn;      /* release ends the txn */
    dl_schema *schema; /* one reference held */
    int64_t basis_tx;
    _Atomic long *open_count; /* the connection's count of live snapshots, or NULL */
    void *owner;              /* the connection of a refreshable snapshot, or NULL */
};

/*
 * dl_db_new: wraps txn (owned when owns_txn) and a new reference to
 * schema into a dt_db.  open_count, if not NULL, is incremented now and
 * decremented at release.  DT_OK / DT_NOMEM (then nothing is taken).
 */
int dl_db_new(const dl_store *st, dt_kv_txn *txn, int owns_txn, dl_schema *schema,
              _Atomic long *open_count, dt_db **out);

/* 1 if db is a live snapshot handle. */
int dl_db_ok(const dt_db *db);

/* dl_db_basis: the last tx id visible in txn (from the meta counter). */
int dl_db_basis(const dl_store *st, dt_kv_txn *txn, int64_t *out);

/*
 * dl_resolve_eref: resolves an entity reference value (id, ident keyword,
 * lookup ref) in txn.  DT_OK / DT_NOTFOUND / DT_INVALID with a message on
 * the NULL handle.
 */
int dl_resolve_eref(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dt_value *ref,
                    int64_t *out);

/*
 * dl_find_entity: the entity holding value enc (full encoding) for
 * attribute aid (the first one in AVE order), *found 0 if none.
 */
int dl_find_entity(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *enc,
                   size_t enc_len, int64_t *e, int *found);

#endif
