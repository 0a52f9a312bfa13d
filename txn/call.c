/*
 * call.c -- calling a transaction function directly (txn layer):
 * dt_call, dt_call_async and dt_txn_call run the tx-data [[:fn args...]].
 */
#include <string.h>

#include "conn.h"

/*
 * Builds in *tx the tx-data [[:fn args...]]: the keyword is owned, the
 * arguments are borrowed (shallow copies); release with call_release.
 */
static int call_build(const void *h, const char *fn, const dt_value *args, size_t nargs,
                      dt_value *tx) {
    dt_value_nil(tx);
    if (!fn || (nargs && !args)) return dt__seterr(h, DT_MISUSE, "dt_call: NULL fn or args");
    size_t n = strlen(fn);
    if (n && fn[0] == ':') fn++, n--;
    if (!n) return dt__seterr(h, DT_INVALID, "dt_call: empty function name");
    if (dt_value_seq(DT_VECTOR, 1, tx) != DT_OK ||
        dt_value_seq(DT_VECTOR, nargs + 1, &tx->u.seq.items[0]) != DT_OK ||
        dt_value_text(DT_KEYWORD, fn, n, &tx->u.seq.items[0].u.seq.items[0]) != DT_OK) {
        dt_value_free(tx);
        return dt__seterr(h, DT_NOMEM, "dt_call: out of memory");
    }
    for (size_t i = 0; i < nargs; i++) tx->u.seq.items[0].u.seq.items[i + 1] = args[i];
    return DT_OK;
}

static void call_release(dt_value *tx) {
    if (tx->type != DT_VECTOR) return;
    dt_value *form = &tx->u.seq.items[0];
    for (size_t i = 1; i < form->u.seq.n; i++) dt_value_nil(&form->u.seq.items[i]);
    dt_value_free(tx);
}

int dt_call(dt_conn *conn, const char *fn, const dt_value *args, size_t nargs, dt_report **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn)) return dt__seterr(conn, DT_MISUSE, "dt_call: not an open connection");
    dt_value tx;
    int rc = call_build(conn, fn, args, nargs, &tx);
    if (rc != DT_OK) return rc;
    rc = dt_transact_value(conn, &tx, out);
    call_release(&tx);
    return rc;
}

int dt_call_async(dt_conn *conn, const char *fn, const dt_value *args, size_t nargs,
                  dt_transact_callback cb, void *userdata, dt_future **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_call_async: not an open connection");
    dt_value tx;
    int rc = call_build(conn, fn, args, nargs, &tx);
    if (rc != DT_OK) return rc;
    rc = dt_transact_async_value(conn, &tx, cb, userdata, out); /* copies tx */
    call_release(&tx);
    return rc;
}

int dt_txn_call(dt_txn *tx, const char *fn, const dt_value *args, size_t nargs, dt_report **out) {
    if (out) *out = NULL;
    if (!tx) return dt__seterr(NULL, DT_MISUSE, "dt_txn_call: NULL block");
    dt_value data;
    int rc = call_build(tx, fn, args, nargs, &data);
    if (rc != DT_OK) return rc;
    rc = dt_txn_transact_value(tx, &data, out);
    call_release(&data);
    return rc;
}
