/*
 * eid.h -- entity ids for tempids once the counter reached the top (txn
 * layer, private to txn/).
 *
 * Tempids normally get meta "next_eid", one more than the largest entity
 * id ever used, counting up.  An explicit id near the top (an init-db or
 * a transact naming entity 2^42 - 1, or a ref value that large) brings
 * next_eid to DL_MAX_EID + 1 for good.  From then on tempids are given
 * free ids found by probing upward from meta "eid_gap" (1 at first,
 * wrapping around once): an id is free when no current datom and no
 * history entry has it as entity, no current ref value points to it, and
 * the transaction does not name it.  Only when every id is taken does
 * allocation fail ("entity ids exhausted").
 */
#ifndef TXN_EID_H
#define TXN_EID_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "store.h"

typedef struct txn_eidgap {
    int loaded;       /* eid_gap was read */
    int dirty;        /* eid_gap changed: write it */
    uint64_t next;    /* the next candidate, 1 .. DL_MAX_EID */
    int64_t *set;     /* ids the transaction names (open addressing, 0 empty) */
    size_t nset, cap; /* entries, capacity (a power of 2 or 0) */
} txn_eidgap;

#define TXN_EIDGAP_INIT                                                                            \
    { 0, 0, 0, NULL, 0, 0 }

/* txn_eidgap_reserve: id is named by the transaction (not to be given
 * out).  DT_OK / DT_NOMEM. */
int txn_eidgap_reserve(txn_eidgap *g, int64_t id);

/*
 * txn_eidgap_alloc: a free entity id in *out (reserved at once), probing
 * in `txn` from the saved position.
 * @retval DT_OK / DT_LIMIT (every id is taken) / DT_NOMEM / DT_IO
 * Messages on the NULL handle.
 */
int txn_eidgap_alloc(txn_eidgap *g, const dl_store *st, dt_kv_txn *txn, const dl_schema *s,
                     int64_t *out);

/* txn_eidgap_save: writes the probe position when it moved. */
int txn_eidgap_save(txn_eidgap *g, const dl_store *st, dt_kv_txn *txn);

void txn_eidgap_release(txn_eidgap *g);

#endif
