/*
 * entity_tx.c -- transacting an entity's staged changes (txn layer): the
 * entity module expands them into tx-data, the ordinary pipeline writes
 * them.
 */
#include "base.h"
#include "db.h"

int dt_transact_entity(dt_conn *conn, const dt_entity *ent, dt_report **out) {
    if (out) *out = NULL;
    dt_db *db = dt_entity_snapshot(ent);
    if (!db) return dt__seterr(conn, DT_MISUSE, "dt_transact_entity: not an entity");
    void *owner = dl_db_owner(db);
    if (owner && owner != (void *)conn)
        return dt__seterr(
            conn, DT_MISUSE,
            "dt_transact_entity: the entity's snapshot belongs to another connection");
    dt_value tx = DT_VALUE_NIL;
    int rc = dt_entity_tx_data(ent, &tx);
    if (rc != DT_OK) return dt__moveerr(ent, conn, rc);
    rc = dt_transact_value(conn, &tx, out);
    dt_value_free(&tx);
    return rc;
}
