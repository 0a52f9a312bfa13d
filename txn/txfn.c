/*
 * txfn.c -- the connection's table of transaction functions (txn layer).
 */
#include "txfn.h"

#include <string.h>

#include "conn.h"

const txn_fn_entry *txn_fn_find(const dt_conn *conn, const char *ident, size_t len) {
    dl_ident_bare(&ident, &len);
    for (size_t i = 0; i < conn->nfns; i++)
        if (conn->fns[i].ident_len == len && !memcmp(conn->fns[i].ident, ident, len))
            return &conn->fns[i];
    return NULL;
}

static int reserved(const char *s, size_t n) {
    return (n >= 3 && !memcmp(s, "db/", 3)) || (n >= 6 && !memcmp(s, "db.fn/", 6));
}

int txn_fn_register(dt_conn *conn, const char *ident, txn_fn fn, void *userdata) {
    if (!txn_conn_ok(conn) || !ident || !fn)
        return dt__seterr(conn, DT_MISUSE, "txn_fn_register: bad arguments");
    size_t n = strlen(ident);
    dl_ident_bare(&ident, &n);
    if (n == 0 || reserved(ident, n))
        return dt__seterr(conn, DT_INVALID,
                          "txn_fn_register: :%s is not a name for a transaction function (empty, "
                          "or in the reserved :db/ and :db.fn/ namespaces)",
                          ident);
    int rc = txn_writer_enter(conn);
    if (rc != DT_OK) return rc;
    txn_fn_entry *e = (txn_fn_entry *)txn_fn_find(conn, ident, n);
    if (!e) {
        txn_fn_entry *t = dt__realloc(conn->fns, (conn->nfns + 1) * sizeof *t);
        char *name = t ? dt__strndup(ident, n) : NULL;
        if (!name) {
            if (t) conn->fns = t;
            txn_writer_leave(conn);
            return dt__seterr(conn, DT_NOMEM, "txn_fn_register: out of memory");
        }
        conn->fns = t;
        e = &conn->fns[conn->nfns++];
        e->ident = name;
        e->ident_len = n;
    }
    e->fn = fn;
    e->userdata = userdata;
    txn_writer_leave(conn);
    return DT_OK;
}

void txn_fns_free(dt_conn *conn) {
    for (size_t i = 0; i < conn->nfns; i++) dt__free(conn->fns[i].ident);
    dt__free(conn->fns);
    conn->fns = NULL;
    conn->nfns = 0;
}
