/*
 * udf_int.h -- private to udf/: the runtime structure shared by the
 * runtime (udf.c) and the Lua module functions see (luaapi.c).
 */
#ifndef UDF_UDF_INT_H
#define UDF_UDF_INT_H

#include <lauxlib.h>
#include <lua.h>

#include <pthread.h>

#include "base.h"
#include "host.h"
#include "udf.h"

/* What stopped the running call for good (pcall cannot catch it). */
enum { UDF_ABORT_NONE = 0, UDF_ABORT_MEMORY = 1, UDF_ABORT_STEPS = 2 };

/* Instructions between two runs of the count hook. */
#define UDF_STEP_GRAIN 1000

/* Bytes the state may use past its cap once a call is aborted, so that
 * the error and its traceback can still be built. */
#define UDF_OVERDRAFT ((size_t)256 << 10)

/* Values converted between Lua and Datolite nest at most this deep. */
#define UDF_MAX_NEST 100

typedef struct udf_reg {
    char *id; /* keyword text without the colon */
    size_t id_len;
    dt_fn_lang lang;
    dt_fn_impl fn;
    void *userdata;
    char *source; /* Lua */
    size_t source_len;
    int ref;   /* compiled Lua function (registry ref), LUA_NOREF */
    int query; /* kind query-fn: only queries call it (qfn for C) */
    dt_qfn_impl qfn;
} udf_reg;

/* A Lua state that runs query functions (udf.c, "Query functions"): a
 * runtime of its own with the compiled functions refs[i] of the main
 * runtime's regs[i]; kept in the main runtime's pool while unused. */
typedef struct udf_qstate {
    struct udf_rt *rt;
    int *refs;
    struct udf_qstate *next;
} udf_qstate;

typedef struct udf_cached {
    char *ident;
    size_t ident_len;
    uint8_t *enc; /* the :db/fn value's full encoding it was compiled from */
    size_t enc_len;
    int ref;
} udf_cached;

struct udf_rt {
    lua_State *L;
    size_t mem_used, mem_limit;
    uint64_t steps, step_limit; /* in instructions */
    uint64_t tx_used;           /* used by earlier calls of this transaction */
    int abort;                  /* UDF_ABORT_* */
    int oom;                    /* the system ran out of memory during the call */
    uint64_t compiles;
    int base_ref;      /* the template of a function's environment */
    const void *mt_kw; /* metatables of our userdata, by address */
    const void *mt_box;
    /* the running call: its db view and generation (objects made by an
     * earlier call carry an older generation and refuse to work) */
    dt_db *db;
    uint64_t gen;
    udf_reg *regs;
    size_t nregs;
    udf_cached *cache;
    size_t ncache;
    dt_buf scratch;  /* the :db/fn encoding read at each call */
    dt_buf scratch2; /* a value read by an entity */
    /* query functions: the host queries call, and the pool of Lua states
     * for them, guarded by qmu (any thread) */
    dq_host qhost;
    pthread_mutex_t qmu;
    int qmu_ok;
    udf_qstate *qfree;
};

/* The runtime of a Lua state (its allocator's userdata). */
static inline udf_rt *udf_rt_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (udf_rt *)ud;
}

/* Fails the running call for lack of memory (not the cap): the call then
 * ends with DT_NOMEM. */
static inline int udf_oom(lua_State *L) {
    udf_rt_of(L)->oom = 1;
    return luaL_error(L, "out of memory");
}

/*
 * udf_api_open: creates the metatables, the keyword table and the `dt`
 * module, and adds it to the environment template at the top of the
 * stack (protected mode).
 */
void udf_api_open(lua_State *L, udf_rt *rt);

/* udf_push_db: a new `db` object for the running call. */
void udf_push_db(lua_State *L, udf_rt *rt);

/* udf_push_value: pushes the Lua form of v (may raise a Lua error). */
void udf_push_value(lua_State *L, const dt_value *v, int depth);

/*
 * udf_to_value: the Datolite value of the Lua value at idx.  Never raises
 * a Lua error and allocates nothing in Lua; on error *out is nil and the
 * message is on the NULL handle (DT_TXFN / DT_NOMEM).  keys_kw: string
 * keys of tables that are maps become keywords.
 */
int udf_to_value(udf_rt *rt, lua_State *L, int idx, dt_value *out, int depth);

#endif
