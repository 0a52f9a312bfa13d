/*
 * host.h -- functions the host registers for queries (query layer): the
 * interface through which a query calls a registered function of the
 * connection it runs on ([(acme/score ?a ?b) ?s]).
 *
 * The query layer cannot see the function runtime (udf/, above it), so
 * it defines this interface; udf/ implements it and txn/ attaches it to
 * every snapshot and write view of a connection (dq_db_set_host).  A
 * query resolves each host function it names once per run, on the
 * database it runs on, then calls it per row.
 */
#ifndef DQ_HOST_H
#define DQ_HOST_H

#include <stddef.h>

#include "datolite.h"

typedef struct dq_host dq_host;

/*
 * The callbacks.  Both are called concurrently from every thread running
 * a query on the connection, so an implementation is thread-safe.
 *   find  the function called name[0..len) (symbol text, "acme/score"):
 *         DT_OK with an opaque handle in *fn (valid as long as the host);
 *         DT_NOTFOUND (no message) when there is none; another code with
 *         a message on the NULL handle when the name exists but cannot be
 *         called from a query (a transaction function).
 *   call  calls it with args[0..nargs) (borrowed table cells: their text
 *         has no NUL after it); on DT_OK *out (owned by the caller) is
 *         the result; on error *out is nil and the message on the NULL
 *         handle names the function and says why (DT_TXFN: it raised an
 *         error; DT_LIMIT: memory cap or instruction budget; a C
 *         function's own code).
 */
struct dq_host {
    int (*find)(const dq_host *h, const char *name, size_t len, const void **fn);
    int (*call)(const dq_host *h, const void *fn, const dt_value *args, size_t nargs,
                dt_value *out);
};

/* dq_db_set_host: attaches h (borrowed: it must outlive db) to db;
 * dq_db_host: the host of db, or NULL. */
void dq_db_set_host(dt_db *db, const dq_host *h);
const dq_host *dq_db_host(const dt_db *db);

#endif
