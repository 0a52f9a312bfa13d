/*
 * udf.h -- transaction functions: the Lua runtime (sandbox, limits,
 * compile cache, the read API functions see) and the host registry (udf
 * layer).  The only module that includes <lua.h>; txn/ calls it through
 * this header.
 *
 * One runtime per connection.  Every function here except udf_rt_new and
 * udf_rt_free is called with the connection's writer slot held (every
 * transaction, block and direct call holds it), so a runtime is used by
 * one thread at a time and needs no lock of its own.
 */
#ifndef UDF_UDF_H
#define UDF_UDF_H

#include <stddef.h>
#include <stdint.h>

#include "datolite.h"

typedef struct udf_rt udf_rt;

/*
 * udf_rt_new: a runtime with a copy of the host registry fns[0..nfns)
 * (ids and sources copied, userdata kept), the Lua memory cap `memory`
 * (bytes; 0: default) and the per-call instruction budget `steps` (0:
 * default).  The Lua state is created on first use.
 * @retval DT_OK / DT_NOMEM / DT_INVALID (a bad registry entry or limit:
 *         the message on the NULL handle names it)
 */
int udf_rt_new(const dt_fn_def *fns, size_t nfns, size_t memory, uint64_t steps, udf_rt **out);
void udf_rt_free(udf_rt *rt);

/*
 * udf_call: calls the function named by `head` with args[0..nargs) in
 * `db` (a view of the write transaction, borrowed for the call): `head` is
 * a keyword (a registered id, or the ident of a stored function: :db/fn
 * Lua source or a :db/udf descriptor) or a descriptor map {:udf/lang ...
 * :udf/id ...}.  On DT_OK *out is the tx-data it returned (owned by the
 * caller; not yet checked beyond being a value).  *steps is the part of
 * the instruction budget the transaction's earlier calls used (start at
 * 0): every call costs at least UDF_STEP_GRAIN, Lua calls what they run,
 * and the calls of one transaction share the budget.
 * @retval DT_OK
 * @retval DT_NOTFOUND  head is a keyword that names no function (no
 *                      message: the caller reports an unknown operation)
 * @retval DT_TXFN      the function failed: Lua error with traceback, an
 *                      unregistered descriptor, a value it returned that
 *                      has no Datolite form (message on the NULL handle)
 * @retval DT_LIMIT     memory cap or instruction budget reached
 * @retval (a C function's own code) what it failed with
 * @retval DT_INVALID / DT_NOMEM
 */
int udf_call(udf_rt *rt, dt_db *db, const dt_value *head, const dt_value *args, size_t nargs,
             uint64_t *steps, dt_value *out);

/*
 * udf_query_host: the host of query functions (query/host.h) of rt, to
 * attach to the connection's snapshots and views; it lives as long as rt.
 * Unlike the rest of this header its calls come from any thread at once:
 * C query functions are called directly, Lua ones each in a Lua state
 * taken from a pool (one state per concurrent caller, created on demand,
 * each with the memory cap; every call has the whole instruction budget).
 */
const struct dq_host *udf_query_host(udf_rt *rt);

/* udf_is_fn_head: 1 when v can name a function (a keyword or a map). */
int udf_is_fn_head(const dt_value *v);

/* Statistics for tests: compilations so far, bytes the Lua state uses. */
uint64_t udf_rt_compiles(const udf_rt *rt);
size_t udf_rt_memory(const udf_rt *rt);

#endif
