/*
 * txlog.h -- reading the tx-log (datalog layer): iterates the entries of
 * dt/txlog (store.h: msgpack [[e :attr v added] ...] per transaction, or
 * {:bulk-load n} for a bulk load) in a range of tx ids and of instants,
 * decoding each into the public dt_log_tx shape.  The one decoder of the
 * log: dt_log_* (entity layer) and the query functions tx-ids and tx-data
 * both read through it.
 */
#ifndef DL_TXLOG_H
#define DL_TXLOG_H

#include <stddef.h>
#include <stdint.h>

#include "datolite.h"
#include "kv.h"
#include "store.h"

/*
 * A log reader over a read (or write) txn.  Transactions are yielded in
 * tx-id order when from_tx <= tx <= to_tx and from_ms <= instant <=
 * to_ms (all inclusive; use 0 / INT64_MAX and INT64_MIN / INT64_MAX for
 * open ends).  A tx range is sought directly; an instant range visits
 * every transaction in the tx range and reads its :db/txInstant datom
 * (a point read in EAV), decoding only the entries it yields (instants
 * given in tx-data need not grow with tx ids).  Private fields below
 * `done`.
 */
typedef struct dl_log {
    const dl_store *st;
    dt_kv_txn *txn;
    int64_t from_tx, to_tx, from_ms, to_ms;
    int done;
    dl_scan scan;
    dt_value entry; /* the decoded entry of the current transaction */
    dt_value meta;  /* its metadata map */
    dt_datom *datoms;
    size_t ndatoms, capdatoms;
} dl_log;

/* dl_log_open: starts a reader (a range with from > to is empty).
 * DT_OK / DT_NOMEM / a KV error, with a message on the NULL handle. */
int dl_log_open(dl_log *l, const dl_store *st, dt_kv_txn *txn, int64_t from_tx, int64_t to_tx,
                int64_t from_ms, int64_t to_ms);

/*
 * dl_log_next: the next transaction into *out (as dt_log_next documents
 * it; borrowed until the next call or dl_log_close).  DT_ROW, DT_DONE,
 * DT_CORRUPT (a malformed entry, with the tx in the message), DT_NOMEM
 * or a KV error; messages on the NULL handle.
 */
int dl_log_next(dl_log *l, dt_log_tx *out);

/* dl_log_next_tx: the next transaction's id and instant only, without
 * decoding its entry (the instant, read from the transaction's
 * :db/txInstant datom, only when the instant range is not open; else 0);
 * same results. */
int dl_log_next_tx(dl_log *l, int64_t *tx, int64_t *instant);

void dl_log_close(dl_log *l);

#endif
