/*
 * luaapi.c -- what Lua functions see (udf layer): the mapping between
 * Datolite values and Lua values, the `dt` module (value constructors,
 * tx-data helpers) and the `db` object (entid, datoms, entity).
 *
 * Value mapping (docs/functions.md):
 *   nil, boolean       nil, boolean
 *   long, ref          integer (exact: Lua integers are 64-bit)
 *   double, float      float
 *   string             string
 *   keyword            keyword object (dt.kw), one per text, so == and
 *                      table keys work; never a string
 *   vector, list,      table with keys 1..n
 *   tuple, set
 *   map                table; keyword keys become strings (attribute
 *                      names, as string keys become keywords on the way
 *                      back), other keys are converted as values
 *   anything else      a boxed value (uuid, instant, bigint, bigdec, bytes,
 *                      symbol, char, tagged): tostring gives its EDN text,
 *                      == compares values, dt.type names its type
 * Back from Lua: integer -> long, float -> double, string -> string,
 * keyword -> keyword, boxed -> its value, a table whose keys are exactly
 * 1..n -> vector (an empty table -> empty vector), any other table -> map
 * whose string keys become keywords (attribute names).  Functions,
 * coroutines and other userdata have no Datolite form.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "db.h"
#include "udf_int.h"

#define MT_KW     "dt.keyword"
#define MT_BOX    "dt.value"
#define MT_DB     "dt.db"
#define MT_ENTITY "dt.entity"
#define KW_TABLE  "dt.keywords"

typedef struct kw_ud {
    size_t len;
    char s[1]; /* len bytes and a NUL */
} kw_ud;

typedef struct box_ud {
    dt_value v;
} box_ud;

typedef struct db_ud {
    uint64_t gen;
} db_ud;

typedef struct entity_ud {
    uint64_t gen;
    int64_t e;
} entity_ud;

/* {====== Values ====== */

static void push_kw(lua_State *L, const char *s, size_t n) {
    if (n && s[0] == ':') s++, n--;
    lua_getfield(L, LUA_REGISTRYINDEX, KW_TABLE);
    lua_pushlstring(L, s, n);
    if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    kw_ud *k = lua_newuserdatauv(L, sizeof *k + n, 0);
    k->len = n;
    memcpy(k->s, s, n);
    k->s[n] = 0;
    luaL_setmetatable(L, MT_KW);
    lua_pushlstring(L, s, n);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    lua_remove(L, -2);
}

/* A box owning a copy of v (moved: v is left nil). */
static box_ud *push_box(lua_State *L, dt_value *v) {
    box_ud *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->v = *v;
    dt_value_nil(v);
    luaL_setmetatable(L, MT_BOX);
    return b;
}

void udf_push_value(lua_State *L, const dt_value *v, int depth) {
    if (depth > UDF_MAX_NEST) luaL_error(L, "value nests deeper than %d levels", UDF_MAX_NEST);
    luaL_checkstack(L, 4, "value nests too deep");
    switch (v->type) {
    case DT_NIL:
        lua_pushnil(L);
        return;
    case DT_BOOL:
        lua_pushboolean(L, v->u.b);
        return;
    case DT_LONG:
    case DT_REF:
        lua_pushinteger(L, (lua_Integer)v->u.i);
        return;
    case DT_DOUBLE:
        lua_pushnumber(L, (lua_Number)v->u.d);
        return;
    case DT_FLOAT:
        lua_pushnumber(L, (lua_Number)v->u.f);
        return;
    case DT_STRING:
        lua_pushlstring(L, v->u.s.ptr, v->u.s.len);
        return;
    case DT_KEYWORD:
        push_kw(L, v->u.s.ptr, v->u.s.len);
        return;
    case DT_VECTOR:
    case DT_LIST:
    case DT_TUPLE:
    case DT_SET:
        lua_createtable(L, (int)(v->u.seq.n < 1u << 20 ? v->u.seq.n : 0), 0);
        for (size_t i = 0; i < v->u.seq.n; i++) {
            udf_push_value(L, &v->u.seq.items[i], depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return;
    case DT_MAP:
        lua_createtable(L, 0, (int)(v->u.seq.n / 2 < 1u << 20 ? v->u.seq.n / 2 : 0));
        for (size_t i = 0; i + 1 < v->u.seq.n; i += 2) {
            const dt_value *k = &v->u.seq.items[i];
            if (k->type == DT_NIL) continue;
            if (k->type == DT_KEYWORD) /* attribute names: strings, as on the way back */
                lua_pushlstring(L, k->u.s.ptr[0] == ':' ? k->u.s.ptr + 1 : k->u.s.ptr,
                                k->u.s.len - (k->u.s.ptr[0] == ':'));
            else
                udf_push_value(L, k, depth + 1);
            udf_push_value(L, &v->u.seq.items[i + 1], depth + 1);
            lua_rawset(L, -3);
        }
        return;
    default: {
        box_ud *b = lua_newuserdatauv(L, sizeof *b, 0);
        dt_value_nil(&b->v);
        luaL_setmetatable(L, MT_BOX);
        if (dt_value_copy(v, &b->v) != DT_OK) udf_oom(L);
        return;
    }
    }
}

static int conv_err(const char *what, int depth) {
    return dt__seterr(NULL, DT_TXFN, "cannot convert %s to a Datolite value%s", what,
                      depth ? " (inside the returned data)" : "");
}

static int is_mt(lua_State *L, int idx, const void *mt) {
    if (!lua_getmetatable(L, idx)) return 0;
    int same = lua_topointer(L, -1) == mt;
    lua_pop(L, 1);
    return same;
}

static int text_value(dt_type t, const char *s, size_t n, dt_value *out) {
    if (dt_value_text(t, s, n, out) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "functions: out of memory");
    return DT_OK;
}

static int table_value(udf_rt *rt, lua_State *L, int idx, dt_value *out, int depth) {
    size_t n = lua_rawlen(L, idx), count = 0;
    int seq = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (seq) {
            lua_Integer k;
            if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 || (size_t)k > n) seq = 0;
        }
    }
    if (count != n) seq = 0;
    int rc = dt_value_seq(seq ? DT_VECTOR : DT_MAP, seq ? n : 2 * count, out);
    if (rc != DT_OK) return dt__seterr(NULL, DT_NOMEM, "functions: out of memory");
    if (seq) {
        for (size_t i = 0; i < n; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            rc = udf_to_value(rt, L, lua_gettop(L), &out->u.seq.items[i], depth + 1);
            lua_pop(L, 1);
            if (rc != DT_OK) goto fail;
        }
        return DT_OK;
    }
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (i + 1 >= out->u.seq.n) { /* the table grew: cannot happen without code running */
            lua_pop(L, 2);
            break;
        }
        int top = lua_gettop(L);
        if (lua_type(L, top - 1) == LUA_TSTRING) {
            size_t kl;
            const char *ks = lua_tolstring(L, top - 1, &kl);
            rc = text_value(DT_KEYWORD, ks, kl, &out->u.seq.items[i]);
        } else {
            rc = udf_to_value(rt, L, top - 1, &out->u.seq.items[i], depth + 1);
        }
        if (rc == DT_OK) rc = udf_to_value(rt, L, top, &out->u.seq.items[i + 1], depth + 1);
        lua_pop(L, 1);
        if (rc != DT_OK) {
            lua_pop(L, 1);
            goto fail;
        }
        i += 2;
    }
    return DT_OK;
fail:
    dt_value_free(out);
    return rc;
}

int udf_to_value(udf_rt *rt, lua_State *L, int idx, dt_value *out, int depth) {
    dt_value_nil(out);
    idx = lua_absindex(L, idx);
    if (depth > UDF_MAX_NEST)
        return dt__seterr(NULL, DT_TXFN,
                          "returned data nests deeper than %d levels (a table that contains "
                          "itself?)",
                          UDF_MAX_NEST);
    if (!lua_checkstack(L, 6)) return dt__seterr(NULL, DT_TXFN, "returned data nests too deep");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return DT_OK;
    case LUA_TBOOLEAN:
        dt_value_bool(lua_toboolean(L, idx), out);
        return DT_OK;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            dt_value_long((int64_t)lua_tointeger(L, idx), out);
        else
            dt_value_double((double)lua_tonumber(L, idx), out);
        return DT_OK;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        return text_value(DT_STRING, s, n, out);
    }
    case LUA_TTABLE:
        return table_value(rt, L, idx, out, depth);
    case LUA_TUSERDATA:
        if (is_mt(L, idx, rt->mt_kw)) {
            const kw_ud *k = lua_touserdata(L, idx);
            return text_value(DT_KEYWORD, k->s, k->len, out);
        }
        if (is_mt(L, idx, rt->mt_box)) {
            const box_ud *b = lua_touserdata(L, idx);
            if (dt_value_copy(&b->v, out) != DT_OK)
                return dt__seterr(NULL, DT_NOMEM, "functions: out of memory");
            return DT_OK;
        }
        return conv_err("a userdata value (a db or entity object?)", depth);
    default:
        return conv_err(lua_typename(L, lua_type(L, idx)), depth);
    }
}

/* A Lua argument as a Datolite value, or a Lua error naming the argument. */
static void arg_value(lua_State *L, int idx, dt_value *out, const char *fname) {
    udf_rt *rt = udf_rt_of(L);
    int rc = udf_to_value(rt, L, idx, out, 0);
    if (rc == DT_NOMEM) udf_oom(L);
    if (rc != DT_OK) luaL_error(L, "%s: argument %d: %s", fname, idx - 1, dt_errmsg(NULL));
}

/* }====== */

/* {====== Holder of C-side results ====== */

/* Values collected on the C side before being pushed: a box owns them, so
 * a Lua error while pushing frees them (at collection) instead of leaking. */
typedef struct holder {
    dt_value v[4];
} holder;

static int holder_gc(lua_State *L) {
    holder *h = lua_touserdata(L, 1);
    for (int i = 0; i < 4; i++) dt_value_free(&h->v[i]);
    return 0;
}

static holder *push_holder(lua_State *L) {
    holder *h = lua_newuserdatauv(L, sizeof *h, 0);
    for (int i = 0; i < 4; i++) dt_value_nil(&h->v[i]);
    if (luaL_newmetatable(L, "dt.holder")) {
        lua_pushcfunction(L, holder_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return h;
}

/* }====== */

/* {====== The db object ====== */

static dt_db *check_db(lua_State *L, int idx) {
    udf_rt *rt = udf_rt_of(L);
    db_ud *d = luaL_checkudata(L, idx, MT_DB);
    if (!rt->db || d->gen != rt->gen)
        luaL_error(L, "this db object belongs to a call that has ended");
    return rt->db;
}

void udf_push_db(lua_State *L, udf_rt *rt) {
    db_ud *d = lua_newuserdatauv(L, sizeof *d, 0);
    d->gen = rt->gen;
    luaL_setmetatable(L, MT_DB);
}

/* An entity reference argument: integer id, keyword ident, or lookup ref. */
static void eref_arg(lua_State *L, int idx, dt_value *out, const char *fname) {
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (dt_value_text(DT_KEYWORD, s, n, out) != DT_OK) udf_oom(L);
        return;
    }
    arg_value(L, idx, out, fname);
}

/* An attribute argument: a keyword or a string naming it. */
static void attr_arg(lua_State *L, int idx, dt_value *out, const char *fname) {
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n && s[0] == ':') s++, n--;
        if (dt_value_text(DT_KEYWORD, s, n, out) != DT_OK) udf_oom(L);
        return;
    }
    arg_value(L, idx, out, fname);
    if (out->type != DT_KEYWORD)
        luaL_error(L, "%s: argument %d must be an attribute (keyword or string)", fname, idx - 1);
}

static int l_entid(lua_State *L) {
    dt_db *db = check_db(L, 1);
    luaL_checkany(L, 2);
    holder *h = push_holder(L);
    eref_arg(L, 2, &h->v[0], "db:entid");
    int64_t e;
    int rc = dt_db_entid(db, &h->v[0], &e);
    if (rc == DT_NOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc == DT_NOMEM) return udf_oom(L);
    if (rc != DT_OK) return luaL_error(L, "db:entid: %s", dt_errmsg(db));
    lua_pushinteger(L, (lua_Integer)e);
    return 1;
}

/* Collects datoms into h->v[3]: a vector of [e a v tx] vectors; each
 * datom costs one instruction of the budget. */
static int collect(lua_State *L, dt_db *db, dt_index index, holder *h, size_t n,
                   const char *fname) {
    udf_rt *rt = udf_rt_of(L);
    dt_datom_iter *it = NULL;
    int rc = dt_db_datoms(db, index, h->v, n, &it);
    if (rc == DT_NOMEM) return udf_oom(L);
    if (rc != DT_OK) return luaL_error(L, "%s: %s", fname, dt_errmsg(db));
    dt_value *items = NULL;
    size_t cnt = 0, cap = 0;
    dt_datom d;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (++rt->steps > rt->step_limit) {
            rt->abort = UDF_ABORT_STEPS;
            rc = DT_LIMIT;
            break;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            dt_value *t = dt__realloc(items, nc * sizeof *t);
            if (!t) {
                rc = DT_NOMEM;
                break;
            }
            items = t;
            cap = nc;
        }
        dt_value *q = &items[cnt];
        if ((rc = dt_value_seq(DT_VECTOR, 4, q)) != DT_OK) break;
        cnt++;
        dt_value_long(d.e, &q->u.seq.items[0]);
        dt_value_long(d.tx, &q->u.seq.items[3]);
        if ((rc = dt_value_text(DT_KEYWORD, d.a, strlen(d.a), &q->u.seq.items[1])) != DT_OK ||
            (rc = dt_value_copy(&d.v, &q->u.seq.items[2])) != DT_OK)
            break;
    }
    dt_datom_iter_close(it);
    h->v[3].type = DT_VECTOR;
    h->v[3].u.seq.items = items;
    h->v[3].u.seq.n = cnt;
    if (rc == DT_LIMIT)
        return luaL_error(L, "instruction limit of %I reached", (lua_Integer)rt->step_limit);
    if (rc != DT_DONE)
        return luaL_error(L, "%s: %s", fname,
                          rc == DT_NOMEM ? "out of memory" : dt_errmsg(it ? db : NULL));
    return 0;
}

static int l_datoms(lua_State *L) {
    dt_db *db = check_db(L, 1);
    size_t ilen;
    const char *is = NULL;
    if (lua_type(L, 2) == LUA_TSTRING) {
        is = lua_tolstring(L, 2, &ilen);
    } else if (lua_type(L, 2) == LUA_TUSERDATA && luaL_testudata(L, 2, MT_KW)) {
        kw_ud *k = lua_touserdata(L, 2);
        is = k->s;
        ilen = k->len;
    }
    dt_index index;
    if (is && (!strcmp(is, "eavt") || !strcmp(is, "eav")))
        index = DT_INDEX_EAV;
    else if (is && (!strcmp(is, "avet") || !strcmp(is, "ave")))
        index = DT_INDEX_AVE;
    else
        return luaL_error(L, "db:datoms: the index must be \"eavt\" or \"avet\"");
    int n = lua_gettop(L) - 2;
    if (n > 3) return luaL_error(L, "db:datoms: at most 3 components, got %d", n);
    holder *h = push_holder(L);
    for (int i = 0; i < n; i++) {
        int idx = 3 + i;
        int role = index == DT_INDEX_EAV ? i : (i == 0 ? 1 : i == 1 ? 2 : 0); /* 0 e, 1 a, 2 v */
        if (role == 0)
            eref_arg(L, idx, &h->v[i], "db:datoms");
        else if (role == 1)
            attr_arg(L, idx, &h->v[i], "db:datoms");
        else
            arg_value(L, idx, &h->v[i], "db:datoms");
    }
    collect(L, db, index, h, (size_t)n, "db:datoms");
    const dt_value *all = &h->v[3];
    lua_createtable(L, (int)(all->u.seq.n < 1u << 20 ? all->u.seq.n : 0), 0);
    static const char *const fields[4] = {"e", "a", "v", "tx"};
    for (size_t i = 0; i < all->u.seq.n; i++) {
        lua_createtable(L, 0, 4);
        for (int f = 0; f < 4; f++) {
            udf_push_value(L, &all->u.seq.items[i].u.seq.items[f], 1);
            lua_setfield(L, -2, fields[f]);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_entity(lua_State *L) {
    check_db(L, 1);
    udf_rt *rt = udf_rt_of(L);
    holder *h = push_holder(L);
    eref_arg(L, 2, &h->v[0], "db:entity");
    int64_t e;
    int rc = dt_db_entid(rt->db, &h->v[0], &e);
    if (rc == DT_NOTFOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (rc == DT_NOMEM) return udf_oom(L);
    if (rc != DT_OK) return luaL_error(L, "db:entity: %s", dt_errmsg(rt->db));
    entity_ud *en = lua_newuserdatauv(L, sizeof *en, 0);
    en->gen = rt->gen;
    en->e = e;
    luaL_setmetatable(L, MT_ENTITY);
    return 1;
}

/* The attribute named by the argument at idx (a string or a keyword),
 * borrowed from the Lua value; NULL when it is neither. */
static const char *attr_name(lua_State *L, int idx, size_t *n) {
    if (lua_type(L, idx) == LUA_TSTRING) return lua_tolstring(L, idx, n);
    udf_rt *rt = udf_rt_of(L);
    if (lua_type(L, idx) == LUA_TUSERDATA && is_mt(L, idx, rt->mt_kw)) {
        const kw_ud *k = lua_touserdata(L, idx);
        *n = k->len;
        return k->s;
    }
    return NULL;
}

/*
 * ent['attr']: the value of a cardinality-one attribute is read with one
 * cursor step straight into a buffer (the cursor is closed before anything
 * that may raise a Lua error); integers are pushed without decoding.
 * Cardinality many goes through collect().
 */
static int entity_index(lua_State *L) {
    udf_rt *rt = udf_rt_of(L);
    entity_ud *en = luaL_checkudata(L, 1, MT_ENTITY);
    if (!rt->db || en->gen != rt->gen)
        return luaL_error(L, "this entity belongs to a call that has ended");
    size_t n = 0;
    const char *name = attr_name(L, 2, &n);
    if (!name) return luaL_error(L, "entity: the key must be an attribute (keyword or string)");
    if (n && name[0] == ':') name++, n--;
    if (n == 5 && !memcmp(name, "db/id", 5)) {
        lua_pushinteger(L, (lua_Integer)en->e);
        return 1;
    }
    const dl_attr *a = dl_schema_by_ident(dl_db_schema(rt->db), name, n);
    if (!a) {
        lua_pushnil(L);
        return 1;
    }
    if (a->many) {
        holder *h = push_holder(L);
        dt_value_long(en->e, &h->v[0]);
        if (dt_value_text(DT_KEYWORD, a->ident, a->ident_len, &h->v[1]) != DT_OK) return udf_oom(L);
        collect(L, rt->db, DT_INDEX_EAV, h, 2, "entity");
        const dt_value *all = &h->v[3];
        lua_createtable(L, (int)(all->u.seq.n < 1u << 20 ? all->u.seq.n : 0), 0);
        for (size_t i = 0; i < all->u.seq.n; i++) {
            udf_push_value(L, &all->u.seq.items[i].u.seq.items[2], 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return 1;
    }
    dt_buf *b = &rt->scratch2;
    b->len = 0;
    dl_cursor cur;
    int rc = dl_db_cursor_open(&cur, rt->db, DL_INDEX_EAV);
    if (rc == DT_OK) {
        dl_ikey k = {2, en->e, a->aid, NULL, 0};
        dl_datom d;
        if ((rc = dl_cursor_seek(&cur, &k, 2, NULL)) == DT_OK &&
            (rc = dl_cursor_next(&cur, &d)) == DT_ROW) {
            dt_kv_bytes full;
            rc = dl_cursor_value(&cur, &full);
            if (rc == DT_OK && dt_buf_append(b, full.ptr, full.len) != DT_OK) rc = DT_NOMEM;
        }
        dl_cursor_close(&cur);
    }
    if (++rt->steps > rt->step_limit && !rt->abort) rt->abort = UDF_ABORT_STEPS;
    if (rt->abort)
        return luaL_error(L, "instruction limit of %I reached", (lua_Integer)rt->step_limit);
    if (rc == DT_DONE) {
        lua_pushnil(L);
        return 1;
    }
    if (rc != DT_OK)
        return luaL_error(L, "entity: %s", rc == DT_NOMEM ? "out of memory" : dt_errmsg(NULL));
    uint8_t tag = b->len ? b->p[0] : 0;
    if (b->len == 9 && (tag == DL_CODEC_TAG(DT_LONG) || tag == DL_CODEC_TAG(DT_REF))) {
        lua_pushinteger(L, (lua_Integer)dl_codec_get_int(b->p));
        return 1;
    }
    holder *h = push_holder(L);
    size_t used;
    if (dl_codec_decode(b->p, b->len, &h->v[2], &used) != DT_OK)
        return luaL_error(L, "entity: %s", dt_errmsg(NULL));
    udf_push_value(L, &h->v[2], 1);
    return 1;
}

/* db:q(query, ...): the Datalog query (EDN text) run on this db, the
 * further arguments being its other inputs in :in order.  Rows count
 * against the instruction budget, which also caps the rows the query may
 * build. */
static int l_q(lua_State *L) {
    dt_db *db = check_db(L, 1);
    udf_rt *rt = udf_rt_of(L);
    size_t qlen;
    const char *q = luaL_checklstring(L, 2, &qlen);
    int nin = lua_gettop(L) - 2;
    if (nin > 16) return luaL_error(L, "db:q: at most 16 inputs besides the db, got %d", nin);
    holder *h = push_holder(L);
    if (dt_value_seq(DT_VECTOR, (size_t)nin, &h->v[0]) != DT_OK) return udf_oom(L);
    for (int i = 0; i < nin; i++) arg_value(L, 3 + i, &h->v[0].u.seq.items[i], "db:q");
    dt_input in[17];
    memset(in, 0, sizeof in);
    in[0].db = db;
    for (int i = 0; i < nin; i++) in[i + 1].value = &h->v[0].u.seq.items[i];
    dt_query_options o;
    memset(&o, 0, sizeof o);
    o.version = DT_QUERY_OPTIONS_VERSION;
    o.max_rows = rt->step_limit > rt->steps ? rt->step_limit - rt->steps : 1;
    dt_result *r = NULL;
    int rc = dt_q_inputs(q, qlen, in, (size_t)nin + 1, &o, &r);
    if (rc == DT_NOMEM) return udf_oom(L);
    if (rc == DT_LIMIT) {
        rt->abort = UDF_ABORT_STEPS;
        return luaL_error(L, "db:q: %s", dt_errmsg(NULL));
    }
    if (rc != DT_OK) return luaL_error(L, "db:q: %s", dt_errmsg(NULL));
    rt->steps += dt_result_count(r);
    rc = dt_result_value(r, &h->v[1]);
    dt_result_free(r);
    if (rc != DT_OK) return udf_oom(L);
    udf_push_value(L, &h->v[1], 0);
    return 1;
}

/* db:pull(pattern, ref): the pull pattern (EDN text, or a table of
 * keywords) of the entity ref names, as a table (nil when nothing
 * matched). */
static int l_pull(lua_State *L) {
    dt_db *db = check_db(L, 1);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    holder *h = push_holder(L);
    eref_arg(L, 3, &h->v[0], "db:pull");
    int rc;
    if (lua_type(L, 2) == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, 2, &n);
        rc = dt_pull(db, p, n, &h->v[0], &h->v[1]);
    } else {
        arg_value(L, 2, &h->v[2], "db:pull");
        rc = dt_pull_value(db, &h->v[2], &h->v[0], &h->v[1]);
    }
    if (rc == DT_NOMEM) return udf_oom(L);
    if (rc != DT_OK) return luaL_error(L, "db:pull: %s", dt_errmsg(db));
    udf_push_value(L, &h->v[1], 0);
    return 1;
}

static int entity_tostring(lua_State *L) {
    entity_ud *en = luaL_checkudata(L, 1, MT_ENTITY);
    lua_pushfstring(L, "#entity %I", (lua_Integer)en->e);
    return 1;
}

/* }====== */

/* {====== The dt module ====== */

static int l_kw(lua_State *L) {
    if (luaL_testudata(L, 1, MT_KW)) {
        lua_settop(L, 1);
        return 1;
    }
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    if (n && s[0] == ':') s++, n--;
    if (n == 0) return luaL_error(L, "dt.kw: empty keyword");
    push_kw(L, s, n);
    return 1;
}

/* Reads one tagged EDN literal (#uuid "...", #inst "...") into a box. */
static int edn_box(lua_State *L, const char *tag, dt_type want, const char *fname) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    if (n > 200) return luaL_error(L, "%s: text too long", fname);
    char buf[256];
    int len = snprintf(buf, sizeof buf, "#%s \"%.*s\"", tag, (int)n, s);
    holder *h = push_holder(L);
    if (dt_edn_read(buf, (size_t)len, &h->v[0]) != DT_OK || h->v[0].type != want)
        return luaL_error(L, "%s: %s", fname, dt_errmsg(NULL));
    push_box(L, &h->v[0]);
    return 1;
}

static int l_uuid(lua_State *L) { return edn_box(L, "uuid", DT_UUID, "dt.uuid"); }

static int l_instant(lua_State *L) {
    if (lua_type(L, 1) == LUA_TNUMBER) {
        if (!lua_isinteger(L, 1))
            return luaL_error(L, "dt.instant: milliseconds must be an integer");
        dt_value v;
        dt_value_instant((int64_t)lua_tointeger(L, 1), &v);
        push_box(L, &v);
        return 1;
    }
    return edn_box(L, "inst", DT_INSTANT, "dt.instant");
}

static int l_text_box(lua_State *L, dt_type t, const char *fname) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    holder *h = push_holder(L);
    if (dt_value_text(t, s, n, &h->v[0]) != DT_OK)
        return luaL_error(L, "%s: %s", fname, dt_errmsg(NULL));
    push_box(L, &h->v[0]);
    return 1;
}

static int l_bigint(lua_State *L) { return l_text_box(L, DT_BIGINT, "dt.bigint"); }
static int l_bigdec(lua_State *L) { return l_text_box(L, DT_BIGDEC, "dt.bigdec"); }
static int l_symbol(lua_State *L) { return l_text_box(L, DT_SYMBOL, "dt.symbol"); }

/* dt.tempid([name]): a string tempid; without a name a fresh one. */
static int l_tempid(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) {
        luaL_checkstring(L, 1);
        lua_settop(L, 1);
        return 1;
    }
    lua_Integer n = lua_tointeger(L, lua_upvalueindex(1)) + 1;
    lua_pushinteger(L, n);
    lua_replace(L, lua_upvalueindex(1));
    lua_pushfstring(L, "dt.tempid.%I", n);
    return 1;
}

static int l_type(lua_State *L) {
    udf_rt *rt = udf_rt_of(L);
    luaL_checkany(L, 1);
    switch (lua_type(L, 1)) {
    case LUA_TNUMBER:
        lua_pushstring(L, lua_isinteger(L, 1) ? "long" : "double");
        return 1;
    case LUA_TSTRING:
        lua_pushliteral(L, "string");
        return 1;
    case LUA_TBOOLEAN:
        lua_pushliteral(L, "boolean");
        return 1;
    case LUA_TNIL:
        lua_pushliteral(L, "nil");
        return 1;
    case LUA_TUSERDATA:
        if (is_mt(L, 1, rt->mt_kw)) {
            lua_pushliteral(L, "keyword");
            return 1;
        }
        if (is_mt(L, 1, rt->mt_box)) {
            lua_pushstring(L, dt_type_name(((box_ud *)lua_touserdata(L, 1))->v.type));
            return 1;
        }
        if (luaL_testudata(L, 1, MT_ENTITY)) {
            lua_pushliteral(L, "entity");
            return 1;
        }
        break;
    default:
        break;
    }
    lua_pushstring(L, luaL_typename(L, 1));
    return 1;
}

/* dt.ms(instant): its milliseconds since the epoch. */
static int l_ms(lua_State *L) {
    box_ud *b = luaL_checkudata(L, 1, MT_BOX);
    if (b->v.type != DT_INSTANT) return luaL_error(L, "dt.ms: not an instant");
    lua_pushinteger(L, (lua_Integer)b->v.u.i);
    return 1;
}

/* dt.add(e, a, v) / dt.retract(e, a, v): the list forms, with the
 * attribute given as keyword or string. */
static int op_form(lua_State *L, const char *op) {
    luaL_checkany(L, 1);
    luaL_checkany(L, 2);
    int has_v = !lua_isnone(L, 3);
    lua_createtable(L, 4, 0);
    push_kw(L, op, strlen(op));
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 2);
    if (lua_type(L, 2) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, 2, &n);
        push_kw(L, s, n);
    } else {
        lua_pushvalue(L, 2);
    }
    lua_rawseti(L, -2, 3);
    if (has_v) {
        lua_pushvalue(L, 3);
        lua_rawseti(L, -2, 4);
    }
    return 1;
}

static int l_add(lua_State *L) { return op_form(L, "db/add"); }
static int l_retract(lua_State *L) { return op_form(L, "db/retract"); }

static int kw_tostring(lua_State *L) {
    kw_ud *k = luaL_checkudata(L, 1, MT_KW);
    lua_pushliteral(L, ":");
    lua_pushlstring(L, k->s, k->len);
    lua_concat(L, 2);
    return 1;
}

static int kw_name(lua_State *L) {
    kw_ud *k = luaL_checkudata(L, 1, MT_KW);
    const char *slash = memchr(k->s, '/', k->len);
    if (slash)
        lua_pushlstring(L, slash + 1, k->len - (size_t)(slash + 1 - k->s));
    else
        lua_pushlstring(L, k->s, k->len);
    return 1;
}

static int kw_ns(lua_State *L) {
    kw_ud *k = luaL_checkudata(L, 1, MT_KW);
    const char *slash = memchr(k->s, '/', k->len);
    if (slash)
        lua_pushlstring(L, k->s, (size_t)(slash - k->s));
    else
        lua_pushnil(L);
    return 1;
}

static int box_gc(lua_State *L) {
    box_ud *b = lua_touserdata(L, 1);
    dt_value_free(&b->v);
    return 0;
}

static int box_tostring(lua_State *L) {
    box_ud *b = luaL_checkudata(L, 1, MT_BOX);
    holder *h = push_holder(L);
    char *text = NULL;
    size_t n = 0;
    if (dt_edn_write(&b->v, 0, &text, &n) != DT_OK) return udf_oom(L);
    int rc = dt_value_text(DT_STRING, text, n, &h->v[0]);
    dt_free(text);
    if (rc != DT_OK) return udf_oom(L);
    lua_pushlstring(L, h->v[0].u.s.ptr, h->v[0].u.s.len);
    return 1;
}

static int box_eq(lua_State *L) {
    box_ud *a = luaL_testudata(L, 1, MT_BOX), *b = luaL_testudata(L, 2, MT_BOX);
    lua_pushboolean(L, a && b && dt_value_equal(&a->v, &b->v));
    return 1;
}

static int box_lt(lua_State *L) {
    box_ud *a = luaL_checkudata(L, 1, MT_BOX), *b = luaL_checkudata(L, 2, MT_BOX);
    lua_pushboolean(L, dt_value_compare(&a->v, &b->v) < 0);
    return 1;
}

static int box_le(lua_State *L) {
    box_ud *a = luaL_checkudata(L, 1, MT_BOX), *b = luaL_checkudata(L, 2, MT_BOX);
    lua_pushboolean(L, dt_value_compare(&a->v, &b->v) <= 0);
    return 1;
}

/* Sets the fields of a new metatable `name` and hides it from
 * getmetatable. */
static void new_mt(lua_State *L, const char *name, const luaL_Reg *fns) {
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, fns, 0);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
}

void udf_api_open(lua_State *L, udf_rt *rt) {
    /* keywords: one object per text (weak values) */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, KW_TABLE);

    static const luaL_Reg kw_m[] = {{"__tostring", kw_tostring}, {NULL, NULL}};
    new_mt(L, MT_KW, kw_m);
    static const luaL_Reg kw_methods[] = {{"name", kw_name}, {"namespace", kw_ns}, {NULL, NULL}};
    luaL_newlib(L, kw_methods);
    lua_setfield(L, -2, "__index");
    rt->mt_kw = lua_topointer(L, -1);
    lua_pop(L, 1);

    static const luaL_Reg box_m[] = {{"__gc", box_gc}, {"__tostring", box_tostring},
                                     {"__eq", box_eq}, {"__lt", box_lt},
                                     {"__le", box_le}, {NULL, NULL}};
    new_mt(L, MT_BOX, box_m);
    rt->mt_box = lua_topointer(L, -1);
    lua_pop(L, 1);

    static const luaL_Reg db_methods[] = {{"entid", l_entid},   {"datoms", l_datoms},
                                          {"entity", l_entity}, {"q", l_q},
                                          {"pull", l_pull},     {NULL, NULL}};
    static const luaL_Reg no_m[] = {{NULL, NULL}};
    new_mt(L, MT_DB, no_m);
    luaL_newlib(L, db_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    static const luaL_Reg ent_m[] = {
        {"__index", entity_index}, {"__tostring", entity_tostring}, {NULL, NULL}};
    new_mt(L, MT_ENTITY, ent_m);
    lua_pop(L, 1);

    /* the dt module, in the template at the top of the stack */
    static const luaL_Reg dt_fns[] = {
        {"kw", l_kw},         {"keyword", l_kw},    {"uuid", l_uuid},       {"instant", l_instant},
        {"bigint", l_bigint}, {"bigdec", l_bigdec}, {"symbol", l_symbol},   {"type", l_type},
        {"ms", l_ms},         {"add", l_add},       {"retract", l_retract}, {NULL, NULL}};
    luaL_newlib(L, dt_fns);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, l_tempid, 1);
    lua_setfield(L, -2, "tempid");
    lua_setfield(L, -2, "dt");
}

/* }====== */
