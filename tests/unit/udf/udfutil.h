/*
 * udfutil.h -- helpers of the transaction-function tests: install Lua
 * source as a stored function, open a database with options.
 */
#ifndef DT_UDFUTIL_H
#define DT_UDFUTIL_H

#include "dbutil.h"

/* Transacts [{:db/ident :<ident> :db/fn src}] (asserts success). */
void uu_install(dt_conn *conn, const char *ident, const char *src);

/* Opens a fresh database with options (schema may be NULL); asserts. */
tu_db *uu_open(const char *schema, const dt_conn_options *opts);

/* Transacts edn expecting rc; when needle is not NULL the message must
 * contain it.  Returns nothing; asserts. */
void uu_tx_fails(dt_conn *conn, const char *edn, int rc, const char *needle);

#endif
