/*
 * db.h -- snapshots (dt_db) and the datom read primitives on them
 * (datalog layer).  A dt_db wraps a KV transaction (read-only for
 * snapshots; a write transaction for views inside a writer) and the schema
 * it was taken with.
 */
#ifndef DL_DB_H
#define DL_DB_H

#include "datolite.h"
#include "index.h"
#include "schema.h"
#include "store.h"

#define DT_MAGIC_DB 0x64746462u /* "dtdb" */

/* struct dt_db is private to db.c; other modules use the functions below. */

/*
 * dl_db_new: wraps txn (owned when owns_txn) and a new reference to
 * schema into a dt_db.  open_count, if not NULL, is incremented now and
 * decremented at release.  DT_OK / DT_NOMEM (then nothing is taken).
 */
int dl_db_new(const dl_store *st, dt_kv_txn *txn, int owns_txn, dl_schema *schema,
              _Atomic long *open_count, dt_db **out);

/* 1 if db is a live snapshot handle. */
int dl_db_ok(const dt_db *db);

/* The snapshot's store, transaction (NULL after a failed refresh) and
 * schema (borrowed). */
const dl_store *dl_db_store(const dt_db *db);
dt_kv_txn *dl_db_txn(const dt_db *db);
const dl_schema *dl_db_schema(const dt_db *db);

/* The connection of a refreshable snapshot (set by its creator), or NULL;
 * dl_db_owns_txn: 1 when releasing db ends its transaction. */
void dl_db_set_owner(dt_db *db, void *owner);
void *dl_db_owner(const dt_db *db);
int dl_db_owns_txn(const dt_db *db);

/* dl_db_set_fnhost / dl_db_fnhost: an opaque pointer a higher layer
 * attaches to a snapshot or view: the query layer's host of registered
 * functions (query/host.h), which datalog never looks into.  NULL: none.
 * dl_db_adopt keeps it. */
void dl_db_set_fnhost(dt_db *db, const void *host);
const void *dl_db_fnhost(const dt_db *db);

/* dl_db_end_txn: ends the snapshot's own transaction now (db then reads
 * nothing until dl_db_adopt gives it another). */
void dl_db_end_txn(dt_db *db);

/* dl_db_adopt: moves the transaction, schema and basis of `fresh` (a
 * snapshot that owns its txn) into db, ending db's own transaction first,
 * and frees `fresh`. */
void dl_db_adopt(dt_db *db, dt_db *fresh);

/* dl_db_view: the time view of db (NULL: db is the database itself);
 * dl_db_has_views: 1 while views of the snapshot db are open. */
dl_view *dl_db_view(const dt_db *db);
int dl_db_has_views(const dt_db *db);

/* dl_db_cursor_open: dl_cursor_open_view on db's store, txn and view:
 * the way every reader of a dt_db opens its cursors. */
int dl_db_cursor_open(dl_cursor *c, const dt_db *db, dl_index index);

/* dl_db_cursor_open_wide: a cursor on every datom db's view can hold and
 * more: on a time view, its snapshot's history view (every datom current
 * or retracted, unbounded in time), which is cheap at both ends of an
 * attribute where a bounded view may step over many newer datoms; on the
 * database itself, dl_db_cursor_open.  For probes whose answer only needs a
 * superset (the value types an attribute holds). */
int dl_db_cursor_open_wide(dl_cursor *c, const dt_db *db, dl_index index);

/* dl_db_resolve_eref: dl_resolve_eref in db (lookup refs and idents
 * resolve in its view). */
int dl_db_resolve_eref(const dt_db *db, const dt_value *ref, int64_t *out);

/* dl_db_basis: the last tx id visible in txn (from the meta counter). */
int dl_db_basis(const dl_store *st, dt_kv_txn *txn, int64_t *out);

/*
 * dl_resolve_eref: resolves an entity reference value (id, ident keyword,
 * lookup ref) in txn.  DT_OK / DT_NOTFOUND / DT_INVALID with a message on
 * the NULL handle.
 */
int dl_resolve_eref(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dt_value *ref,
                    int64_t *out);

#endif
