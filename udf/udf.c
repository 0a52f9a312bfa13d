/*
 * udf.c -- the Lua runtime of a connection (udf layer): the sandboxed
 * state, its memory cap and instruction budget, the compile cache of
 * stored functions, the host registry, and calling a function.
 *
 * Sandbox.  Functions see only what their environment table holds: the
 * safe parts of the base library (no load of binary chunks, dofile,
 * loadfile, require, print, collectgarbage, no __gc metamethods), string
 * (without string.dump), table, math, utf8, coroutine, os.time and
 * os.clock, and the `dt` module (luaapi.c).  Each function gets its own
 * environment with its own copies of the library tables, so one function
 * cannot change what another sees; the string metatable hides itself
 * (getmetatable("") is false) and indexes a copy of string without dump.
 *
 * Limits.  The state allocates through alloc_fn, which refuses to grow it
 * past the cap; the count hook charges UDF_STEP_GRAIN instructions at a
 * time against the call's budget.  Either hit sets rt->abort, which makes
 * the hit final: pcall, xpcall and coroutine.resume re-raise it instead of
 * returning, and every later hook raises it again, so the call ends.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <lualib.h>

#include "codec.h"
#include "coerce.h"
#include "db.h"
#include "parse.h"
#include "udf_int.h"

/* {====== Allocation and the hook ====== */

static void *alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
    udf_rt *rt = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        dt__free(ptr);
        rt->mem_used -= old;
        return NULL;
    }
    if (nsize > old) {
        size_t cap = rt->mem_limit + (rt->abort ? UDF_OVERDRAFT : 0);
        if (rt->mem_used + (nsize - old) > cap) {
            if (!rt->abort) rt->abort = UDF_ABORT_MEMORY;
            return NULL;
        }
    }
    void *p = dt__realloc(ptr, nsize);
    if (!p) {
        /* Lua relies on shrinking never failing: keep the larger block */
        if (ptr && nsize <= old) {
            rt->mem_used = rt->mem_used - old + nsize;
            return ptr;
        }
        rt->oom = 1;
        return NULL;
    }
    rt->mem_used = rt->mem_used - old + nsize;
    return p;
}

static int raise_abort(lua_State *L, udf_rt *rt) {
    if (rt->abort == UDF_ABORT_MEMORY)
        return luaL_error(L, "memory limit of %d KiB reached", (int)(rt->mem_limit >> 10));
    return luaL_error(L, "instruction limit of %I reached", (lua_Integer)rt->step_limit);
}

static void hook_fn(lua_State *L, lua_Debug *ar) {
    (void)ar;
    udf_rt *rt = udf_rt_of(L);
    rt->steps += UDF_STEP_GRAIN;
    if (rt->steps > rt->step_limit && !rt->abort) rt->abort = UDF_ABORT_STEPS;
    if (rt->abort) raise_abort(L, rt);
}

/* }====== */

/* {====== Sandbox ====== */

/* pcall, xpcall, coroutine.resume: the originals (upvalue 1), but a call
 * that hit a limit goes on failing. */
static int w_catching(lua_State *L) {
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    udf_rt *rt = udf_rt_of(L);
    if (rt->abort) return raise_abort(L, rt);
    return lua_gettop(L);
}

/* The message handler given to xpcall, behind a guard: once the call is
 * aborted the handler is not run again (an error inside a handler calls
 * the handler anew). */
static int xpcall_guard(lua_State *L) {
    if (udf_rt_of(L)->abort) return lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int w_xpcall(lua_State *L) {
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, xpcall_guard, 1);
    lua_replace(L, 2);
    return w_catching(L);
}

/* setmetatable without __gc: a finalizer would run outside any call. */
static int w_setmetatable(lua_State *L) {
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not allowed in functions");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* load: text chunks only, in a fresh sandbox environment unless one is
 * given. */
static int w_load(lua_State *L) {
    int n = lua_gettop(L);
    if (n > 4) lua_settop(L, n = 4);
    while (n < 4) {
        lua_pushnil(L);
        n++;
    }
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    if (lua_isnil(L, 4)) {
        lua_newtable(L);
        lua_replace(L, 4);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L);
}

/*
 * Pattern functions (find, match, gmatch, gsub) run in C, where the hook
 * cannot stop them, and backtrack: a subject of n bytes and a pattern
 * with q quantifiers may take about n^(q+1) steps.  That estimate is
 * checked against what is left of the budget before the call, and n is
 * charged.  A plain find (4th argument true) is linear.
 */
static int w_pattern(lua_State *L) {
    udf_rt *rt = udf_rt_of(L);
    size_t n = 0, pl = 0;
    const char *subj = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    const char *pat = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &pl) : NULL;
    int plain = lua_toboolean(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
    if (subj && pat && !plain) {
        uint64_t left = rt->step_limit > rt->steps ? rt->step_limit - rt->steps : 0;
        uint64_t cost = n + 1;
        int q = 0;
        for (size_t i = 0; i < pl; i++) {
            if (pat[i] == '%') {
                i++;
                continue;
            }
            if (pat[i] == '-' || pat[i] == '*' || pat[i] == '+' || pat[i] == '?') {
                q++;
                cost = cost > left / (n + 1) ? left + 1 : cost * (n + 1);
            }
        }
        if (cost > left)
            return luaL_error(L,
                              "pattern with %d quantifiers on a subject of %d bytes could take "
                              "more steps than the instruction budget has left",
                              q, (int)(n > 0x7fffffff ? 0x7fffffff : n));
        rt->steps += n;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* string.rep of an empty string and separator would loop n times doing
 * nothing: it is "" at once. */
static int w_rep(lua_State *L) {
    size_t l = 0, ls = 0;
    luaL_checklstring(L, 1, &l);
    luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &ls);
    if (l + ls == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* table.move copies element by element in C: the count is charged to the
 * budget first. */
static int w_move(lua_State *L) {
    udf_rt *rt = udf_rt_of(L);
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f) {
        uint64_t n = (uint64_t)e - (uint64_t)f + 1;
        uint64_t left = rt->step_limit > rt->steps ? rt->step_limit - rt->steps : 0;
        if (n > left) {
            rt->abort = UDF_ABORT_STEPS;
            return raise_abort(L, rt);
        }
        rt->steps += n;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static void wrap_field(lua_State *L, int tidx, const char *name, lua_CFunction w, int extra) {
    tidx = lua_absindex(L, tidx);
    lua_getfield(L, tidx, name);
    lua_pushboolean(L, extra);
    lua_pushcclosure(L, w, 2);
    lua_setfield(L, tidx, name);
}

/* Copies the fields named in `names` of the table at idx into a new table
 * (pushed). */
static void copy_fields(lua_State *L, int idx, const char *const *names) {
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    for (; *names; names++) {
        lua_getfield(L, idx, *names);
        lua_setfield(L, -2, *names);
    }
}

static void wrap_catching(lua_State *L, int tidx, const char *name) {
    tidx = lua_absindex(L, tidx);
    lua_getfield(L, tidx, name);
    lua_pushcclosure(L, w_catching, 1);
    lua_setfield(L, tidx, name);
}

/* Builds the state: libraries, the template environment (registry ref
 * rt->base_ref) and the `dt` module.  Runs in protected mode. */
static int setup(lua_State *L) {
    udf_rt *rt = lua_touserdata(L, 1);
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_OSLIBNAME, luaopen_os},     {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    lua_newtable(L); /* the template */
    int T = lua_gettop(L);
    lua_pushglobaltable(L);
    int G = lua_gettop(L);
    static const char *const base[] = {"assert",   "error",    "ipairs",       "next",
                                       "pairs",    "rawequal", "rawget",       "rawlen",
                                       "rawset",   "select",   "getmetatable", "tonumber",
                                       "tostring", "type",     "_VERSION",     NULL};
    for (const char *const *b = base; *b; b++) {
        lua_getfield(L, G, *b);
        lua_setfield(L, T, *b);
    }
    lua_getfield(L, G, "pcall");
    lua_pushcclosure(L, w_catching, 1);
    lua_setfield(L, T, "pcall");
    lua_getfield(L, G, "xpcall");
    lua_pushcclosure(L, w_xpcall, 1);
    lua_setfield(L, T, "xpcall");
    lua_getfield(L, G, "setmetatable");
    lua_pushcclosure(L, w_setmetatable, 1);
    lua_setfield(L, T, "setmetatable");
    lua_getfield(L, G, "load");
    lua_pushcclosure(L, w_load, 1);
    lua_setfield(L, T, "load");

    /* string without dump; the metatable of strings indexes that copy and
     * hides itself */
    static const char *const strf[] = {"byte",  "char",  "find",     "format", "gmatch",  "gsub",
                                       "len",   "lower", "match",    "rep",    "reverse", "sub",
                                       "upper", "pack",  "packsize", "unpack", NULL};
    lua_getfield(L, G, "string");
    copy_fields(L, -1, strf);
    lua_remove(L, -2);
    wrap_field(L, -1, "find", w_pattern, 1);
    wrap_field(L, -1, "match", w_pattern, 0);
    wrap_field(L, -1, "gmatch", w_pattern, 0);
    wrap_field(L, -1, "gsub", w_pattern, 0);
    wrap_field(L, -1, "rep", w_rep, 0);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_setfield(L, T, "string");

    static const char *const tabf[] = {"concat", "insert", "move",   "pack",
                                       "remove", "sort",   "unpack", NULL};
    lua_getfield(L, G, "table");
    copy_fields(L, -1, tabf);
    lua_remove(L, -2);
    wrap_field(L, -1, "move", w_move, 0);
    lua_setfield(L, T, "table");

    static const char *const mathf[] = {
        "abs",       "ceil", "cos",    "deg",        "exp",  "floor",      "fmod",
        "huge",      "log",  "max",    "maxinteger", "min",  "mininteger", "modf",
        "pi",        "rad",  "random", "randomseed", "sin",  "sqrt",       "tan",
        "tointeger", "type", "ult",    "asin",       "acos", "atan",       NULL};
    lua_getfield(L, G, "math");
    copy_fields(L, -1, mathf);
    lua_remove(L, -2);
    lua_setfield(L, T, "math");

    static const char *const utf8f[] = {"char", "charpattern", "codes", "codepoint",
                                        "len",  "offset",      NULL};
    lua_getfield(L, G, "utf8");
    copy_fields(L, -1, utf8f);
    lua_remove(L, -2);
    lua_setfield(L, T, "utf8");

    static const char *const cof[] = {"create", "isyieldable", "resume", "running", "status",
                                      "wrap",   "yield",       "close",  NULL};
    lua_getfield(L, G, "coroutine");
    copy_fields(L, -1, cof);
    lua_remove(L, -2);
    wrap_catching(L, -1, "resume");
    lua_setfield(L, T, "coroutine");

    static const char *const osf[] = {"time", "clock", NULL};
    lua_getfield(L, G, "os");
    copy_fields(L, -1, osf);
    lua_remove(L, -2);
    lua_setfield(L, T, "os");

    lua_pop(L, 1); /* G */
    udf_api_open(L, rt);
    rt->base_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* nothing reaches the real globals any more: empty them */
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);
    return 0;
}

/* Pushes a new environment for one function: the template with copies of
 * its tables, and _G naming itself. */
static void push_env(lua_State *L, udf_rt *rt) {
    lua_newtable(L);
    int E = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, rt->base_ref);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_newtable(L);
            lua_pushnil(L);
            while (lua_next(L, -3)) {
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, -4);
            }
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, E);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, E);
    lua_setfield(L, E, "_G");
}

static int ensure_state(udf_rt *rt) {
    if (rt->L) return DT_OK;
    lua_State *L = lua_newstate(alloc_fn, rt);
    if (!L) return dt__seterr(NULL, DT_NOMEM, "functions: out of memory creating the Lua state");
    rt->abort = 0;
    rt->oom = 0;
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, rt);
    int st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK) {
        int mem = rt->abort == UDF_ABORT_MEMORY;
        int oom = rt->oom || st == LUA_ERRMEM;
        lua_close(L);
        rt->mem_used = 0;
        rt->abort = 0;
        if (mem)
            return dt__seterr(NULL, DT_LIMIT,
                              "functions: the Lua memory cap of %zu bytes is too small for the "
                              "libraries",
                              rt->mem_limit);
        return dt__seterr(NULL, oom ? DT_NOMEM : DT_INTERNAL,
                          "functions: %s setting up the Lua state",
                          oom ? "out of memory" : "error");
    }
    lua_sethook(L, hook_fn, LUA_MASKCOUNT, UDF_STEP_GRAIN);
    rt->L = L;
    return DT_OK;
}

/* }====== */

/* {====== Running code ====== */

/* Message handler: the error as text (never through metamethods, which
 * could run without end) and a traceback. */
static int msgh(lua_State *L) {
    char buf[160];
    const char *msg = NULL;
    switch (lua_type(L, 1)) {
    case LUA_TSTRING:
        msg = lua_tostring(L, 1);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, 1))
            snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, 1));
        else
            snprintf(buf, sizeof buf, "%.17g", (double)lua_tonumber(L, 1));
        msg = buf;
        break;
    default:
        snprintf(buf, sizeof buf, "(error object is a %s value)", luaL_typename(L, 1));
        msg = buf;
        break;
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* One call: what the trampolines need. */
typedef struct call_ctx {
    udf_rt *rt;
    const char *src; /* compile */
    size_t src_len;
    const char *name;
    int ref; /* call: the function; compile: the result */
    const dt_value *args;
    size_t nargs;
    dt_value *out;
    int rc;   /* of the conversion of the result */
    int nodb; /* a query function: called without db */
} call_ctx;

static int tramp_compile(lua_State *L) {
    call_ctx *c = lua_touserdata(L, 1);
    char chunk[160];
    snprintf(chunk, sizeof chunk, "=:%s", c->name);
    if (luaL_loadbufferx(L, c->src, c->src_len, chunk, "t") != LUA_OK) return lua_error(L);
    push_env(L, c->rt);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    lua_call(L, 0, 1);
    if (lua_type(L, -1) != LUA_TFUNCTION)
        return luaL_error(L,
                          "the source must return a function (return function(db, ...) ... "
                          "end), it returned a %s value",
                          luaL_typename(L, -1));
    c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int tramp_call(lua_State *L) {
    call_ctx *c = lua_touserdata(L, 1);
    luaL_checkstack(L, (int)c->nargs + 8, "too many arguments");
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
    if (!c->nodb) udf_push_db(L, c->rt);
    for (size_t i = 0; i < c->nargs; i++) udf_push_value(L, &c->args[i], 0);
    lua_call(L, (int)c->nargs + !c->nodb, 1);
    c->rc = udf_to_value(c->rt, L, -1, c->out, 0);
    return 0;
}

/* Copies src into dst[0..cap) with the line breaks (and the tabs after
 * them) of a traceback turned into " | ", so the message stays one line. */
static void one_line(const char *src, char *dst, size_t cap) {
    size_t w = 0;
    for (const char *r = src; *r && w + 4 < cap; r++) {
        if (*r == '\n') {
            memcpy(dst + w, " | ", 3);
            w += 3;
            while (r[1] == '\t' || r[1] == ' ') r++;
        } else {
            dst[w++] = *r == '\t' ? ' ' : *r;
        }
    }
    dst[w] = 0;
}

/* Runs fn (tramp_compile or tramp_call) on ctx under the limits; the
 * error, if any, becomes the message "<what> :name: ..." on NULL. */
static int run_protected(udf_rt *rt, lua_CFunction fn, call_ctx *ctx, const char *what) {
    lua_State *L = rt->L;
    rt->abort = 0;
    rt->oom = 0;
    rt->steps = rt->tx_used;
    lua_settop(L, 0);
    lua_pushcfunction(L, msgh);
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ctx);
    int st = lua_pcall(L, 1, 0, 1);
    int rc = DT_OK;
    if (st != LUA_OK) {
        /* keep the text in C: the collection below may free it */
        char text[DT__ERRMSG_MAX];
        const char *e = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (st == LUA_ERRMEM || !e) e = "not enough memory";
        one_line(e, text, sizeof text);
        if (rt->abort == UDF_ABORT_MEMORY)
            rc = dt__seterr(NULL, DT_LIMIT, "%s :%s: memory limit of %zu bytes reached: %s", what,
                            ctx->name, rt->mem_limit, text);
        else if (rt->abort == UDF_ABORT_STEPS)
            rc = dt__seterr(NULL, DT_LIMIT, "%s :%s: %s", what, ctx->name, text);
        else if (rt->oom || st == LUA_ERRMEM)
            rc = dt__seterr(NULL, DT_NOMEM, "%s :%s: out of memory", what, ctx->name);
        else
            rc = dt__seterr(NULL, DT_TXFN, "%s :%s: %s", what, ctx->name, text);
    }
    lua_settop(L, 0);
    rt->tx_used = rt->steps;
    rt->db = NULL;
    rt->gen++;
    if (rt->abort) lua_gc(L, LUA_GCCOLLECT);
    rt->abort = 0;
    rt->oom = 0;
    return rc;
}

static int compile(udf_rt *rt, const char *name, const char *src, size_t len, int *ref) {
    int rc = ensure_state(rt);
    if (rc != DT_OK) return rc;
    call_ctx ctx = {rt, src, len, name, LUA_NOREF, NULL, 0, NULL, DT_OK, 0};
    rc = run_protected(rt, tramp_compile, &ctx, "compiling");
    if (rc != DT_OK) return rc;
    rt->compiles++;
    *ref = ctx.ref;
    return DT_OK;
}

static int call_lua(udf_rt *rt, dt_db *db, const char *name, int ref, const dt_value *args,
                    size_t nargs, dt_value *out) {
    call_ctx ctx = {rt, NULL, 0, name, ref, args, nargs, out, DT_OK, 0};
    rt->db = db;
    rt->gen++;
    int rc = run_protected(rt, tramp_call, &ctx, "function");
    if (rc == DT_OK) rc = ctx.rc;
    if (rc != DT_OK) dt_value_free(out);
    return rc;
}

static int call_c(const udf_reg *r, dt_db *db, const dt_value *args, size_t nargs, dt_value *out) {
    dt__clearerr(db);
    int rc = r->fn(db, args, nargs, out, r->userdata);
    if (rc == DT_OK) return DT_OK;
    dt_value_free(out);
    char inner[DT__ERRMSG_MAX];
    const char *m = dt_errmsg(db);
    snprintf(inner, sizeof inner, "%s", m && *m ? m : dt_errstr(rc));
    dt__seterr(NULL, rc, "function :%s: %s", r->id, inner);
    return rc;
}

/* }====== */

/* {====== Registry and stored functions ====== */

static udf_reg *reg_find(udf_rt *rt, const char *id, size_t n, int lang) {
    if (n && id[0] == ':') id++, n--;
    for (size_t i = 0; i < rt->nregs; i++)
        if (rt->regs[i].id_len == n && !memcmp(rt->regs[i].id, id, n) &&
            (!lang || (int)rt->regs[i].lang == lang))
            return &rt->regs[i];
    return NULL;
}

static int call_reg(udf_rt *rt, udf_reg *r, dt_db *db, const dt_value *args, size_t nargs,
                    dt_value *out) {
    if (r->query)
        return dt__seterr(NULL, DT_TXFN,
                          "function :%s is a query function (kind query-fn): queries call it, "
                          "transactions cannot",
                          r->id);
    if (r->lang == DT_FN_C) return call_c(r, db, args, nargs, out);
    if (r->ref == LUA_NOREF) {
        int rc = compile(rt, r->id, r->source, r->source_len, &r->ref);
        if (rc != DT_OK) return rc;
    }
    return call_lua(rt, db, r->id, r->ref, args, nargs, out);
}

/* The full encoding of e's value of aid (copied into *b); DT_NOTFOUND
 * when it has none. */
static int read_enc(dt_db *db, int64_t e, uint32_t aid, dt_buf *b) {
    dl_cursor cur;
    int rc = dl_db_cursor_open(&cur, db, DL_INDEX_EAV);
    if (rc != DT_OK) return rc;
    dl_ikey k = {2, e, aid, NULL, 0};
    dl_datom d;
    b->len = 0;
    if ((rc = dl_cursor_seek(&cur, &k, 2, NULL)) == DT_OK) {
        rc = dl_cursor_next(&cur, &d);
        if (rc == DT_ROW) {
            dt_kv_bytes full;
            rc = dl_cursor_value(&cur, &full);
            if (rc == DT_OK && dt_buf_append(b, full.ptr, full.len) != DT_OK) rc = DT_NOMEM;
        } else if (rc == DT_DONE) {
            rc = DT_NOTFOUND;
        }
    }
    dl_cursor_close(&cur);
    return rc;
}

/* The keyword text of e's value of aid into buf ("" when none). */
static int read_kw(dt_db *db, int64_t e, uint32_t aid, char *buf, size_t cap) {
    dt_buf b = DT_BUF_INIT;
    buf[0] = 0;
    int rc = read_enc(db, e, aid, &b);
    if (rc == DT_OK) {
        dt_value v = DT_VALUE_NIL;
        size_t used;
        rc = dl_codec_decode(b.p, b.len, &v, &used);
        if (rc == DT_OK && v.type == DT_KEYWORD) snprintf(buf, cap, "%s", v.u.s.ptr);
        dt_value_free(&v);
    }
    dt_buf_release(&b);
    return rc == DT_NOTFOUND ? DT_OK : rc;
}

/* Calls the function a descriptor names (lang, kind, id as keyword text). */
static int call_descriptor(udf_rt *rt, dt_db *db, const char *name, const char *lang,
                           const char *kind, const char *id, const dt_value *args, size_t nargs,
                           dt_value *out) {
    int l = !strcmp(lang, "c") ? DT_FN_C : !strcmp(lang, "lua") ? DT_FN_LUA : 0;
    if (!l || !*id || (*kind && strcmp(kind, "tx-fn")))
        return dt__seterr(NULL, DT_TXFN,
                          "function %s: descriptor {:udf/lang :%s :udf/kind :%s :udf/id :%s} is "
                          "not a transaction function descriptor (needs :udf/lang :c or :lua, "
                          ":udf/kind :tx-fn, an :udf/id)",
                          name, lang, *kind ? kind : "tx-fn", id);
    udf_reg *r = reg_find(rt, id, strlen(id), l);
    if (!r)
        return dt__seterr(NULL, DT_TXFN,
                          "function %s: {:udf/lang :%s :udf/id :%s} is not registered in this "
                          "process (dt_conn_options.fns of the connection)",
                          name, lang, id);
    return call_reg(rt, r, db, args, nargs, out);
}

static int call_stored_lua(udf_rt *rt, dt_db *db, const char *ident, size_t ilen, const dt_buf *enc,
                           const dt_value *args, size_t nargs, dt_value *out) {
    udf_cached *c = NULL;
    for (size_t i = 0; i < rt->ncache; i++)
        if (rt->cache[i].ident_len == ilen && !memcmp(rt->cache[i].ident, ident, ilen)) {
            c = &rt->cache[i];
            break;
        }
    if (!c || c->enc_len != enc->len || memcmp(c->enc, enc->p, enc->len)) {
        /* new or changed source: compile it */
        dt_value src = DT_VALUE_NIL;
        size_t used;
        int rc = dl_codec_decode(enc->p, enc->len, &src, &used);
        if (rc != DT_OK) return rc;
        if (src.type != DT_STRING) {
            dt_value_free(&src);
            return dt__seterr(NULL, DT_TXFN, "function :%s: :db/fn must be a string of Lua source",
                              ident);
        }
        int ref = LUA_NOREF;
        rc = compile(rt, ident, src.u.s.ptr, src.u.s.len, &ref);
        dt_value_free(&src);
        if (rc != DT_OK) return rc;
        uint8_t *copy = dt__malloc(enc->len);
        if (!copy) {
            luaL_unref(rt->L, LUA_REGISTRYINDEX, ref);
            return dt__seterr(NULL, DT_NOMEM, "functions: out of memory");
        }
        memcpy(copy, enc->p, enc->len);
        if (!c) {
            udf_cached *t = dt__realloc(rt->cache, (rt->ncache + 1) * sizeof *t);
            char *name = t ? dt__strndup(ident, ilen) : NULL;
            if (t) rt->cache = t;
            if (!name) {
                dt__free(copy);
                luaL_unref(rt->L, LUA_REGISTRYINDEX, ref);
                return dt__seterr(NULL, DT_NOMEM, "functions: out of memory");
            }
            c = &rt->cache[rt->ncache++];
            c->ident = name;
            c->ident_len = ilen;
        } else {
            luaL_unref(rt->L, LUA_REGISTRYINDEX, c->ref);
            dt__free(c->enc);
        }
        c->enc = copy;
        c->enc_len = enc->len;
        c->ref = ref;
    }
    return call_lua(rt, db, c->ident, c->ref, args, nargs, out);
}

int udf_is_fn_head(const dt_value *v) { return v->type == DT_KEYWORD || v->type == DT_MAP; }

/* The call proper (udf_call charges the budget around it). */
static int call_named(udf_rt *rt, dt_db *db, const dt_value *head, const dt_value *args,
                      size_t nargs, dt_value *out);

int udf_call(udf_rt *rt, dt_db *db, const dt_value *head, const dt_value *args, size_t nargs,
             uint64_t *steps, dt_value *out) {
    dt_value_nil(out);
    if (!udf_is_fn_head(head)) return DT_NOTFOUND;
    /* every call costs a grain, so that calls fanning out through the
     * tx-data they return end too */
    rt->tx_used = *steps + UDF_STEP_GRAIN;
    if (rt->tx_used > rt->step_limit) {
        *steps = rt->tx_used;
        char buf[128];
        dl_show(head, buf, sizeof buf);
        return dt__seterr(NULL, DT_LIMIT,
                          "function %s: the functions of this transaction reached the instruction "
                          "limit of %llu",
                          buf, (unsigned long long)rt->step_limit);
    }
    int rc = call_named(rt, db, head, args, nargs, out);
    *steps = rt->tx_used;
    return rc;
}

static int call_named(udf_rt *rt, dt_db *db, const dt_value *head, const dt_value *args,
                      size_t nargs, dt_value *out) {
    if (head->type == DT_MAP) {
        const dt_value *l = dl_map_get_kw(head, "udf/lang");
        const dt_value *k = dl_map_get_kw(head, "udf/kind");
        const dt_value *i = dl_map_get_kw(head, "udf/id");
        return call_descriptor(rt, db, "descriptor", l && l->type == DT_KEYWORD ? l->u.s.ptr : "?",
                               k && k->type == DT_KEYWORD ? k->u.s.ptr : "",
                               i && i->type == DT_KEYWORD ? i->u.s.ptr : "", args, nargs, out);
    }
    if (head->type != DT_KEYWORD) return DT_NOTFOUND;
    const char *ident = head->u.s.ptr;
    size_t ilen = head->u.s.len;
    if (ilen && ident[0] == ':') ident++, ilen--;
    udf_reg *r = reg_find(rt, ident, ilen, 0);
    if (r) return call_reg(rt, r, db, args, nargs, out);
    int64_t e = 0;
    int rc = dl_db_resolve_eref(db, head, &e);
    if (rc == DT_NOTFOUND) return DT_NOTFOUND;
    if (rc != DT_OK) return rc;
    rc = read_enc(db, e, DL_AID_FN, &rt->scratch);
    if (rc == DT_OK) return call_stored_lua(rt, db, ident, ilen, &rt->scratch, args, nargs, out);
    dt_buf enc = DT_BUF_INIT;
    if (rc == DT_NOTFOUND) rc = read_enc(db, e, DL_AID_UDF, &enc);
    if (rc == DT_OK) {
        int64_t d = enc.len == 9 ? dl_codec_get_int(enc.p) : 0;
        char lang[64], kind[64], id[256], name[300];
        if ((rc = read_kw(db, d, DL_AID_UDF_LANG, lang, sizeof lang)) == DT_OK &&
            (rc = read_kw(db, d, DL_AID_UDF_KIND, kind, sizeof kind)) == DT_OK &&
            (rc = read_kw(db, d, DL_AID_UDF_ID, id, sizeof id)) == DT_OK) {
            snprintf(name, sizeof name, ":%.*s", (int)ilen, ident);
            rc = call_descriptor(rt, db, name, lang, kind, id, args, nargs, out);
        }
    }
    dt_buf_release(&enc);
    return rc;
}

/* }====== */

/* {====== Query functions ====== */

/*
 * Queries run on many threads at once, and a Lua state serves one thread
 * at a time.  A lock around one shared state would serialise every query
 * that calls a Lua function; a state per thread would need thread exit
 * hooks to free it and would grow with threads that stopped querying long
 * ago.  So the runtime keeps a pool: a call takes a free state (or makes
 * one), runs, and gives it back; there are never more states than calls
 * that ever overlapped.  Each state compiles a function at its first call
 * there.  C functions are called directly, concurrently.
 */

static void qstate_free(udf_qstate *q) {
    if (!q) return;
    udf_rt_free(q->rt);
    dt__free(q->refs);
    dt__free(q);
}

static udf_rt *host_rt(const dq_host *h) {
    return (udf_rt *)((char *)(uintptr_t)h - offsetof(udf_rt, qhost));
}

static int qfind(const dq_host *h, const char *name, size_t len, const void **fn) {
    udf_rt *rt = host_rt(h);
    *fn = NULL;
    udf_reg *r = reg_find(rt, name, len, 0);
    if (!r) return DT_NOTFOUND;
    if (!r->query)
        return dt__seterr(NULL, DT_INVALID,
                          "%.*s is a transaction function; register it with kind query-fn to call "
                          "it from queries",
                          (int)len, name);
    *fn = r;
    return DT_OK;
}

static int qstate_take(udf_rt *rt, udf_qstate **out) {
    pthread_mutex_lock(&rt->qmu);
    udf_qstate *q = rt->qfree;
    if (q) rt->qfree = q->next;
    pthread_mutex_unlock(&rt->qmu);
    if (!q) {
        q = dt__calloc(1, sizeof *q);
        if (q && rt->nregs) q->refs = dt__malloc(rt->nregs * sizeof *q->refs);
        if (!q || (rt->nregs && !q->refs)) {
            if (q) dt__free(q);
            return dt__seterr(NULL, DT_NOMEM, "query functions: out of memory");
        }
        for (size_t i = 0; i < rt->nregs; i++) q->refs[i] = LUA_NOREF;
        int rc = udf_rt_new(NULL, 0, rt->mem_limit, rt->step_limit, &q->rt);
        if (rc != DT_OK) {
            dt__free(q->refs);
            dt__free(q);
            return rc;
        }
    }
    *out = q;
    return DT_OK;
}

static void qstate_give(udf_rt *rt, udf_qstate *q) {
    pthread_mutex_lock(&rt->qmu);
    q->next = rt->qfree;
    rt->qfree = q;
    pthread_mutex_unlock(&rt->qmu);
}

static int qcall(const dq_host *h, const void *fn, const dt_value *args, size_t nargs,
                 dt_value *out) {
    udf_rt *rt = host_rt(h);
    const udf_reg *r = fn;
    dt_value_nil(out);
    if (r->lang == DT_FN_C) {
        dt__clearerr(NULL);
        int rc = r->qfn(args, nargs, out, r->userdata);
        if (rc == DT_OK) return DT_OK;
        dt_value_free(out);
        char inner[DT__ERRMSG_MAX];
        const char *m = dt_errmsg(NULL);
        snprintf(inner, sizeof inner, "%s", m && *m ? m : dt_errstr(rc));
        return dt__seterr(NULL, rc, "query function :%s: %s", r->id, inner);
    }
    udf_qstate *q = NULL;
    int rc = qstate_take(rt, &q);
    if (rc != DT_OK) return rc;
    size_t i = (size_t)(r - rt->regs);
    if (q->refs[i] == LUA_NOREF) {
        q->rt->tx_used = 0;
        rc = compile(q->rt, r->id, r->source, r->source_len, &q->refs[i]);
    }
    if (rc == DT_OK) {
        call_ctx ctx = {q->rt, NULL, 0, r->id, q->refs[i], args, nargs, out, DT_OK, 1};
        q->rt->tx_used = 0;
        q->rt->db = NULL;
        q->rt->gen++;
        rc = run_protected(q->rt, tramp_call, &ctx, "query function");
        if (rc == DT_OK) rc = ctx.rc;
        if (rc != DT_OK) dt_value_free(out);
    }
    qstate_give(rt, q);
    return rc;
}

const dq_host *udf_query_host(udf_rt *rt) { return rt ? &rt->qhost : NULL; }

/* }====== */

/* {====== Life cycle ====== */

int udf_rt_new(const dt_fn_def *fns, size_t nfns, size_t memory, uint64_t steps, udf_rt **out) {
    *out = NULL;
    if (memory == 0) memory = DT_FN_MEMORY_DEFAULT;
    if (steps == 0) steps = DT_FN_STEPS_DEFAULT;
    if (memory < ((size_t)1 << 20))
        return dt__seterr(NULL, DT_INVALID,
                          "functions: fn_memory of %zu bytes is below the minimum of 1 MiB",
                          memory);
    if (nfns && !fns) return dt__seterr(NULL, DT_INVALID, "functions: NULL fns with nfns > 0");
    udf_rt *rt = dt__calloc(1, sizeof *rt);
    if (!rt) return dt__seterr(NULL, DT_NOMEM, "functions: out of memory");
    rt->mem_limit = memory;
    rt->step_limit = steps;
    rt->base_ref = LUA_NOREF;
    rt->qhost.find = qfind;
    rt->qhost.call = qcall;
    int rc = DT_OK;
    if (pthread_mutex_init(&rt->qmu, NULL) != 0) {
        dt__free(rt);
        return dt__seterr(NULL, DT_NOMEM, "functions: cannot create a mutex");
    }
    rt->qmu_ok = 1;
    if (nfns && !(rt->regs = dt__calloc(nfns, sizeof *rt->regs))) rc = DT_NOMEM;
    for (size_t i = 0; i < nfns && rc == DT_OK; i++) {
        const dt_fn_def *f = &fns[i];
        const char *id = f->id;
        size_t n = id ? strlen(id) : 0;
        if (n && id[0] == ':') id++, n--;
        if (!n || memchr(id, ' ', n)) {
            rc = dt__seterr(NULL, DT_INVALID, "functions: entry %zu of fns has no id", i);
            break;
        }
        if ((n >= 3 && !memcmp(id, "db/", 3)) || (n >= 6 && !memcmp(id, "db.fn/", 6))) {
            rc = dt__seterr(NULL, DT_INVALID,
                            "functions: :%s is in the reserved :db/ and :db.fn/ namespaces", id);
            break;
        }
        int query = f->kind && (!strcmp(f->kind, "query-fn") || !strcmp(f->kind, ":query-fn"));
        if (f->kind && !query && strcmp(f->kind, "tx-fn") && strcmp(f->kind, ":tx-fn")) {
            rc = dt__seterr(NULL, DT_INVALID,
                            "functions: :%s has kind %s (tx-fn and query-fn are known)", id,
                            f->kind);
            break;
        }
        if (query && !dq_is_user_fn_name(id, n)) {
            rc = dt__seterr(NULL, DT_INVALID,
                            "functions: query function :%s needs a namespaced id outside clojure.* "
                            "(acme/score), or queries could not call it",
                            id);
            break;
        }
        if ((f->lang == DT_FN_C && (query ? f->qfn == NULL : f->fn == NULL)) ||
            (f->lang == DT_FN_LUA && !f->source) || (f->lang != DT_FN_C && f->lang != DT_FN_LUA)) {
            rc = dt__seterr(NULL, DT_INVALID,
                            "functions: :%s needs lang DT_FN_C with %s, or DT_FN_LUA with source",
                            id, query ? "qfn" : "fn");
            break;
        }
        if (reg_find(rt, id, n, 0)) {
            rc = dt__seterr(NULL, DT_INVALID, "functions: :%s is registered twice", id);
            break;
        }
        udf_reg *r = &rt->regs[rt->nregs];
        r->ref = LUA_NOREF;
        r->lang = f->lang;
        r->fn = f->fn;
        r->query = query;
        r->qfn = f->qfn;
        r->userdata = f->userdata;
        r->id_len = n;
        if (!(r->id = dt__strndup(id, n))) {
            rc = DT_NOMEM;
            break;
        }
        rt->nregs++;
        if (f->lang == DT_FN_LUA) {
            r->source_len = strlen(f->source);
            if (!(r->source = dt__strndup(f->source, r->source_len))) rc = DT_NOMEM;
        }
    }
    if (rc != DT_OK) {
        udf_rt_free(rt);
        return rc == DT_NOMEM ? dt__seterr(NULL, DT_NOMEM, "functions: out of memory") : rc;
    }
    *out = rt;
    return DT_OK;
}

void udf_rt_free(udf_rt *rt) {
    if (!rt) return;
    while (rt->qfree) {
        udf_qstate *q = rt->qfree;
        rt->qfree = q->next;
        qstate_free(q);
    }
    if (rt->qmu_ok) pthread_mutex_destroy(&rt->qmu);
    if (rt->L) lua_close(rt->L);
    for (size_t i = 0; i < rt->nregs; i++) {
        dt__free(rt->regs[i].id);
        dt__free(rt->regs[i].source);
    }
    dt__free(rt->regs);
    for (size_t i = 0; i < rt->ncache; i++) {
        dt__free(rt->cache[i].ident);
        dt__free(rt->cache[i].enc);
    }
    dt__free(rt->cache);
    dt_buf_release(&rt->scratch);
    dt_buf_release(&rt->scratch2);
    dt__free(rt);
}

uint64_t udf_rt_compiles(const udf_rt *rt) { return rt ? rt->compiles : 0; }

size_t udf_rt_memory(const udf_rt *rt) { return rt ? rt->mem_used : 0; }

/* }====== */
