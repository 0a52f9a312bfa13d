/*
 * txfn.h -- transaction functions as the transaction engine sees them
 * (txn layer, private to txn/ and its tests).
 *
 * A list form [:my/fn args...] whose keyword is not a built-in operation
 * (:db/add, :db/retract, :db/retractEntity, :db/cas, ...: the table in
 * transact.c) is looked up among the connection's transaction functions
 * in the same step.  The function runs inside the write transaction and
 * returns tx-data, which the transaction takes over and expands in place
 * of the form, one level deeper (at most DT_TX_MAX_DEPTH levels in all,
 * then DT_LIMIT).
 *
 * Ownership of produced tx-data: the function builds *out (a vector or
 * list of forms) and gives it up on return, success or not; the running
 * transaction keeps it (its ops, tempids and report point into it) and
 * frees it when the transaction ends.  Nothing the function returns may
 * borrow from `args` or `db`.
 *
 * Today the functions are C functions registered on the connection
 * (txn_fn_register); stored Lua functions and host functions registered
 * through the public API will be found by the same lookup.
 */
#ifndef TXN_TXFN_H
#define TXN_TXFN_H

#include "datolite.h"

/*
 * A transaction function.  `db` is a read view of the write transaction
 * before this transaction's own ops are applied (borrowed for the call),
 * args[0..nargs) the form's arguments (borrowed).  Returns DT_OK with
 * tx-data in *out, or an error code with a message on the NULL handle
 * (dt__seterr(NULL, ...)); the transaction then fails with that code.
 */
typedef int (*txn_fn)(dt_db *db, const dt_value *args, size_t nargs, void *userdata, dt_value *out);

typedef struct txn_fn_entry {
    char *ident; /* keyword text without the colon */
    size_t ident_len;
    txn_fn fn;
    void *userdata;
} txn_fn_entry;

/*
 * txn_fn_register: makes `fn` the transaction function named `ident`
 * (keyword text, with or without the colon) on conn, replacing one of the
 * same name.  Takes the writer slot, so it is safe while other threads
 * transact (it waits for the running transaction).
 * @retval DT_OK
 * @retval DT_INVALID  an empty name, or one in the reserved :db/ or :db.fn/
 *                     namespaces
 * @retval DT_MISUSE   bad arguments, or this thread holds the writer
 * @retval DT_NOMEM
 */
int txn_fn_register(dt_conn *conn, const char *ident, txn_fn fn, void *userdata);

/* The function named ident[0..len), or NULL.  Call with the writer slot
 * held (every transaction does). */
const txn_fn_entry *txn_fn_find(const dt_conn *conn, const char *ident, size_t len);

/* Frees the connection's functions (at close). */
void txn_fns_free(dt_conn *conn);

#endif
