/*
 * exec.h -- the contract inside the query layer between the parts of one
 * query execution:
 *
 *   parse.h      text -> dq_query (exists)
 *   exec.c       the public API: inputs -> dq_exec, limits, result stage
 *   naive.c      dq_eval_naive: the reference evaluator (written order,
 *                nested loops, no pushdown); option :plan :naive
 *   plan.c ...   dq_eval: the planned evaluator (statistics, pushdown,
 *                join order, hash joins, semi-naive rules, explain)
 *   fn.c         dq_call / dq_agg_apply: built-in functions and aggregates
 *   pull.c       dq_pull_*: pull patterns (dt_pull and pull in :find)
 *
 * Both evaluators read the same dq_exec and fill the same dq_table: the
 * bindings of the :find variables (then the :with variables) as a
 * multiset of rows.  The result stage (dedup, aggregates, pull, find
 * shape, :keys) is shared, so the two evaluators differ only in how they
 * find the rows, and a differential test compares exactly that.
 *
 * Values in tables are dt_values whose text, bytes and items are
 * *borrowed*: they point into the execution's arena or into the snapshot
 * (valid while the query runs).  Never dt_value_free a table cell; copy
 * (dt_value_copy) what must outlive the execution.
 */
#ifndef DQ_EXEC_H
#define DQ_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "datolite.h"
#include "parse.h"

/* {====== Scratch memory ====== */

/*
 * dq_mem_alloc / dq_mem_realloc / dq_mem_free: the allocator of the query
 * layer's large buffers (table cells, arena blocks, hash tables, result
 * cells).  Blocks of DQ_MEM_CACHED bytes and more are rounded up to a
 * power of two and, when freed, kept in a small per-thread cache (at most
 * 8 blocks and 8 MiB; freed when the thread exits) that the next
 * allocation on that thread reuses.  The memory of consecutive queries
 * then stays mapped instead of going back to the system and faulting in
 * again: page faults and heap trims took a third of the time of a query
 * of 2,500 rows.  A block may be freed on any thread, only with
 * dq_mem_free.  dq_mem_alloc and dq_mem_realloc return NULL when out of
 * memory (dq_mem_realloc then leaves p as it was); dq_mem_realloc(NULL,
 * n) is dq_mem_alloc(n), dq_mem_free(NULL) does nothing.  Thread-safe.
 */
#define DQ_MEM_CACHED ((size_t)16384)
void *dq_mem_alloc(size_t n);
void *dq_mem_realloc(void *p, size_t n);
void dq_mem_free(void *p);

/* }====== */

/* {====== Arena ====== */

/* A bump allocator for the memory of one execution; freed as a whole. */
typedef struct dq_arena_block dq_arena_block;
typedef struct dq_arena {
    dq_arena_block *head;
    size_t used, cap; /* in the head block */
} dq_arena;

#define DQ_ARENA_INIT                                                                              \
    { NULL, 0, 0 }

/* dq_arena_alloc: n bytes aligned to 16, or NULL (out of memory). */
void *dq_arena_alloc(dq_arena *a, size_t n);
/* dq_arena_copy_value: a deep copy of v whose memory lives in the arena
 * (*out borrows it).  DT_OK / DT_NOMEM. */
int dq_arena_copy_value(dq_arena *a, const dt_value *v, dt_value *out);
void dq_arena_release(dq_arena *a);
/* dq_arena_reset: forgets every allocation, keeping the newest (largest)
 * block for the next ones. */
void dq_arena_reset(dq_arena *a);

/* }====== */

/* {====== Tables ====== */

/* Rows over a list of variables; cells row-major, borrowed (see top). */
typedef struct dq_table {
    size_t ncols;
    dq_var *cols; /* the variable of each column (owned by the table) */
    size_t nrows, cap;
    dt_value *cells; /* nrows * ncols (owned array, borrowed contents) */
} dq_table;

#define DQ_TABLE_INIT                                                                              \
    { 0, NULL, 0, 0, NULL }

/* dq_table_init: an empty table over cols[0..ncols) (copied). */
int dq_table_init(dq_table *t, const dq_var *cols, size_t ncols);
/* dq_table_add_row: appends a row of ncols cells (the cells are copied
 * shallowly: what they point to must live as long as the table's use). */
int dq_table_add_row(dq_table *t, const dt_value *row);
void dq_table_release(dq_table *t);

/* }====== */

/* {====== Hashing values ====== */

/* dq_mix64: the finalizer of MurmurHash3 (every input bit reaches every
 * output bit), for ids and combined hashes. */
static inline uint64_t dq_mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* dq_value_hash: a hash of v under which equal cells hash equally for
 * every equality the evaluators use: refs hash as longs of the same id,
 * every NaN alike, collections by their items (nested in order). */
uint64_t dq_value_hash(const dt_value *v);

/* }====== */

/* {====== One execution ====== */

typedef struct dq_fnctx dq_fnctx; /* fn.c: per-execution state of built-ins */

/*
 * Everything an evaluator needs.  Built by exec.c from a prepared query
 * and the caller's inputs:
 *   q        the parsed query (rules included)
 *   srcs     q->nsrcs databases, by source id (srcs[q->default_src] is $)
 *   in       q->nin tables: for an :in entry of kind DQ_IN_BINDING, the
 *            rows its binding form gives (scalar: 1 row; tuple: 1 row;
 *            collection: one row per element; relation: one row per
 *            tuple) over the variables of the form (blanks dropped);
 *            other kinds: an empty table with ncols 0
 *   fn       state for dq_call / dq_agg_apply
 *   arena    memory for cells the evaluator makes
 *   limits   see dq_exec_check
 *   explain  NULL, or a buffer the planned evaluator appends its plan to
 *            (an EDN vector of steps with estimated and actual rows)
 */
typedef struct dq_exec {
    const dq_query *q;
    dt_db **srcs;
    /* per source: a collection of tuples given instead of a database
     * (srcs[i] NULL then), read by top-level data patterns only */
    const dt_value **srcvals;
    dq_table *in;
    dq_fnctx *fn;
    dq_arena arena;
    int64_t deadline_ns;     /* CLOCK_MONOTONIC; 0: none */
    uint64_t max_rows;       /* cap on rows of any intermediate table; 0: none */
    const dt_cancel *cancel; /* NULL: none */
    uint64_t ticks;          /* for dq_exec_check's sampling */
    dt_buf *explain;
    const struct dq_host *host; /* host functions: of the db the query runs on */
    const void **ufn;           /* q->nufns handles (dq_exec_bind_fns), malloc'd */
} dq_exec;

/*
 * dq_exec_check: call often from loops (cheap: looks at the clock every
 * 1024 calls).  DT_OK, or the error with its message on the NULL handle:
 * DT_TIMEOUT ("query: deadline of N ms passed"), DT_INTERRUPT ("query:
 * cancelled"); dq_exec_rows(x, n) gives DT_LIMIT ("query: more than N
 * rows in an intermediate result") when n exceeds max_rows.
 */
int dq_exec_check(dq_exec *x);
int dq_exec_rows(dq_exec *x, uint64_t n);

/*
 * dq_eval_naive / dq_eval: fill `out` (initialised here) with the rows of
 * the query's :where over columns = the variables the :find elements use
 * (in :find order; an aggregate's variable and the variable of a
 * parametrised aggregate argument, a pull's entity variable and pattern
 * variable) followed by the :with variables, without duplicate columns.
 * Rows are a multiset: duplicates are allowed (the result stage makes the
 * set).  Errors as dq_exec_check, plus DT_INVALID for errors found while
 * running (a lookup ref that matches nothing, a function applied to values
 * of the wrong type), DT_NOMEM.  The message names the clause.
 */
int dq_eval_naive(dq_exec *x, dq_table *out);
int dq_eval(dq_exec *x, dq_table *out);

/*
 * dq_exec_bind_fns: resolves the host functions the query calls
 * (q->ufns) on the host of db (the database the query runs on: its $, or
 * its first source), filling x->host and x->ufn (freed by the caller with
 * dt__free).  DT_OK; DT_INVALID when a name has no function there, with a
 * message naming it and its clause ("query: unknown function acme/f in
 * [(acme/f ?x)] at 1:20: ..."); DT_NOMEM.
 * dq_call_user: calls the host function of clause cl (cl->fn ==
 * DQ_FN_USER) with args[0..n); *out is the caller's.  On error the
 * message names the function and the clause and carries the function's
 * own message (a Lua error and its traceback); the code is the
 * function's (DT_TXFN for an error it raised, DT_LIMIT for a limit).
 */
int dq_exec_bind_fns(dq_exec *x, dt_db *db);
int dq_call_user(dq_exec *x, const dq_clause *cl, const dt_value *args, size_t n, dt_value *out);

/* dq_find_columns: the column list both evaluators must produce (above);
 * *cols is malloc'd (dt__free). */
int dq_find_columns(const dq_query *q, dq_var **cols, size_t *ncols);

/* }====== */

/* {====== Built-in functions and aggregates (fn.c) ====== */

int dq_fnctx_new(dq_fnctx **out);
void dq_fnctx_free(dq_fnctx *ctx);

/*
 * dq_call: applies built-in `fn` (not a DQ_FNK_SOURCE one) to
 * args[0..nargs) and sets *out to its result, which the caller owns
 * (dt_value_free); predicates give DT_BOOL.  Argument cells are borrowed
 * table cells: never rely on the NUL after text.  DT_OK, DT_INVALID (wrong
 * type or count; the message names the function and the offending value,
 * "query: (> \"a\" 1): cannot compare string and long"), DT_NOMEM.
 * dq_call_source: the same for DQ_FNK_SOURCE functions (get-else,
 * get-some, missing?), args excluding the source, read from db.
 *
 * Value conventions of the built-ins (docs/query.md has the full table):
 * an entity id (DT_REF) is the long it holds; `=` is Clojure equality (1
 * and 1.0 differ), `==` and `<` compare numbers across types; long
 * overflow is DT_INVALID; `/` of longs that do not divide evenly gives a
 * double.  A regex is DT_TAGGED with the tag symbol `regex` and a
 * DT_STRING pattern (what re-pattern returns; the re-* functions also
 * take a plain string); patterns are compiled once per dq_fnctx (PCRE2).
 * `tuple` returns a DT_TUPLE; range and re-seq a DT_LIST; re-find with
 * groups a DT_VECTOR [match g1 ...]; get-some a DT_VECTOR [attr value].
 * A dq_fnctx belongs to one execution (one thread at a time); the
 * regex functions and the rand/sample aggregates need one (DT_MISUSE
 * with NULL), the others accept NULL.
 */
int dq_call(dq_fnctx *ctx, dq_fn_id fn, const dt_value *args, size_t nargs, dt_value *out);
int dq_call_source(dq_fnctx *ctx, dq_fn_id fn, dt_db *db, const dt_value *args, size_t nargs,
                   dt_value *out);

/*
 * dq_bind_items: how the value v of a function call fits the tuple,
 * collection or relation binding form b, as DataScript binds it: 0 when
 * v is nil (binds nothing); 1 with the elements in *items, *n (a map's
 * elements are its entries: *entries is set and element i is the pair
 * items[2i], items[2i+1]); -DT_INVALID (message set, no clause) when v
 * cannot be bound: a scalar or string for a tuple or collection, a tuple
 * value with fewer elements than the form.
 */
int dq_bind_items(const dq_binding *b, const dt_value *v, const dt_value **items, size_t *n,
                  int *entries);
/* dq_bind_check: DT_OK when v, and every element within it, fits the
 * binding form b (dq_bind_items), else DT_INVALID with the message set
 * (no clause).  The evaluators check a result before binding it. */
int dq_bind_check(const dq_binding *b, const dt_value *v);

/* dq_truthy: Clojure truth (everything but nil and false). */
static inline int dq_truthy(const dt_value *v) {
    return !(v->type == DT_NIL || (v->type == DT_BOOL && !v->u.b));
}

/*
 * dq_agg_apply: aggregate `agg` over vals[0..n) (the multiset of one
 * group, after the result stage applied set semantics over the find and
 * :with variables) with params[0..nparams) (the n of (max n ?x));
 * *out is owned by the caller.  n == 0 only for count (0).  DT_OK,
 * DT_INVALID (sum of a string, ...), DT_NOMEM.
 */
int dq_agg_apply(dq_fnctx *ctx, dq_agg_id agg, const dt_value *params, size_t nparams,
                 const dt_value *vals, size_t n, dt_value *out);

/* }====== */

/* {====== Pull (pull.c) ====== */

typedef struct dq_pull dq_pull;

/*
 * dq_pull_compile: checks and compiles a pull pattern (a vector value)
 * against db's schema.  DT_OK, DT_INVALID (malformed pattern; the message
 * shows the offending part), DT_NOMEM.
 * dq_pull_run: pulls entity eid; *out is the map, or nil when the
 * pattern selects nothing of it (as Datomic).  With ar NULL the caller
 * owns *out (dt_value_free); else every part of it lives in arena ar and
 * parts may be shared between values: read-only, never dt_value_free it.  DT_OK, DT_LIMIT
 * (entities nested deeper than 1000), DT_NOMEM, DT_CORRUPT.  A compiled
 * pattern is immutable: runs may share it across threads (each on its
 * own db).  On a db whose schema is not the one compiled against (another
 * database, or the schema changed) it compiles again for that run:
 * correct, but compile per source when several are involved.
 * Messages on the NULL handle.
 */
int dq_pull_compile(dt_db *db, const dt_value *pattern, dq_pull **out);
int dq_pull_run(const dq_pull *p, dt_db *db, int64_t eid, dq_arena *ar, dt_value *out);
/* dq_pull_run_many: pulls eids[0..n) into outs[0..n) (each as
 * dq_pull_run gives it; caller owns them) with one cursor and one set of
 * buffers: about 0.2 us a pull cheaper than n dq_pull_run calls.  On an
 * error every outs[i] is nil. */
int dq_pull_run_many(const dq_pull *p, dt_db *db, const int64_t *eids, size_t n, dq_arena *ar,
                     dt_value *outs);
void dq_pull_free(dq_pull *p);

/* }====== */

#endif
