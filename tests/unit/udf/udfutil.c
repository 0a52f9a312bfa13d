/*
 * udfutil.c -- helpers of the transaction-function tests.
 */
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void uu_install(dt_conn *conn, const char *ident, const char *src) {
    dt_value tx = DT_VALUE_NIL, m = DT_VALUE_NIL;
    assert_int_equal(dt_value_seq(DT_VECTOR, 1, &tx), DT_OK);
    assert_int_equal(dt_value_seq(DT_MAP, 4, &m), DT_OK);
    assert_int_equal(dt_value_text(DT_KEYWORD, "db/ident", 8, &m.u.seq.items[0]), DT_OK);
    assert_int_equal(dt_value_text(DT_KEYWORD, ident, strlen(ident), &m.u.seq.items[1]), DT_OK);
    assert_int_equal(dt_value_text(DT_KEYWORD, "db/fn", 5, &m.u.seq.items[2]), DT_OK);
    assert_int_equal(dt_value_text(DT_STRING, src, strlen(src), &m.u.seq.items[3]), DT_OK);
    tx.u.seq.items[0] = m;
    int rc = dt_transact_value(conn, &tx, NULL);
    if (rc != DT_OK) fail_msg("install %s: %s", ident, dt_errmsg(conn));
    dt_value_free(&tx);
}

tu_db *uu_open(const char *schema, const dt_conn_options *opts) {
    tu_db *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->dir = tu_tmpdir();
    assert_non_null(d->dir);
    int rc = dt_conn_open(d->dir, schema, opts, &d->conn);
    if (rc != DT_OK) fail_msg("dt_conn_open: %s", dt_errmsg(NULL));
    return d;
}

void uu_tx_fails(dt_conn *conn, const char *edn, int rc, const char *needle) {
    int got = dt_transact(conn, edn, NULL);
    if (got != rc)
        fail_msg("%s: expected %s, got %s: %s", edn, dt_errstr(rc), dt_errstr(got),
                 dt_errmsg(conn));
    if (needle && !strstr(dt_errmsg(conn), needle))
        fail_msg("%s: message lacks \"%s\": %s", edn, needle, dt_errmsg(conn));
}
