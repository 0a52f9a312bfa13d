/*
 * schema.c -- attribute definitions, their parsing from schema maps and the
 * ident -> attribute table (datalog layer).
 */
#include "schema.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct dl_schema {
    _Atomic long refs; /* dl_schema_retain / dl_schema_release */
    dl_attr **by_aid;  /* index = aid; NULL holes allowed */
    size_t cap_aid;    /* length of by_aid */
    size_t count;
    uint32_t next_aid;
    /* open-addressing hash of ident -> aid; 0 = empty */
    uint32_t *slots;
    size_t nslots; /* power of two */
};

/* {====== Helpers ====== */

int dl_is_kw(const dt_value *v, const char *kw) {
    return v && v->type == DT_KEYWORD && v->u.s.len == strlen(kw) &&
           memcmp(v->u.s.ptr, kw, v->u.s.len) == 0;
}

const dt_value *dl_map_get_kw(const dt_value *m, const char *kw) {
    if (!m || m->type != DT_MAP) return NULL;
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2)
        if (dl_is_kw(&m->u.seq.items[i], kw)) return &m->u.seq.items[i + 1];
    return NULL;
}

static uint64_t hash_text(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* }====== */

/* {====== The table ====== */

static int rehash(dl_schema *s, size_t nslots) {
    uint32_t *slots = dt__calloc(nslots, sizeof *slots);
    if (!slots) return DT_NOMEM;
    for (size_t aid = 0; aid < s->cap_aid; aid++) {
        dl_attr *a = s->by_aid[aid];
        if (!a) continue;
        size_t i = hash_text(a->ident, a->ident_len) & (nslots - 1);
        while (slots[i]) i = (i + 1) & (nslots - 1);
        slots[i] = a->aid;
    }
    dt__free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    return DT_OK;
}

const dl_attr *dl_schema_by_ident(const dl_schema *s, const char *ident, size_t len) {
    dl_ident_bare(&ident, &len);
    if (!s->nslots) return NULL;
    size_t i = hash_text(ident, len) & (s->nslots - 1);
    while (s->slots[i]) {
        const dl_attr *a = s->by_aid[s->slots[i]];
        if (a->ident_len == len && memcmp(a->ident, ident, len) == 0) return a;
        i = (i + 1) & (s->nslots - 1);
    }
    return NULL;
}

const dl_attr *dl_schema_by_aid(const dl_schema *s, uint32_t aid) {
    return aid < s->cap_aid ? s->by_aid[aid] : NULL;
}

size_t dl_schema_count(const dl_schema *s) { return s->count; }

const dl_attr *dl_schema_at(const dl_schema *s, size_t i) {
    for (size_t aid = 0; aid < s->cap_aid; aid++) {
        if (!s->by_aid[aid]) continue;
        if (i-- == 0) return s->by_aid[aid];
    }
    return NULL;
}

uint32_t dl_schema_next_aid(const dl_schema *s) { return s->next_aid; }

void dl_attr_release(dl_attr *a) {
    if (!a) return;
    dt__free(a->ident);
    dt__free(a->doc);
    dt__free(a->tuple_attrs);
    memset(a, 0, sizeof *a);
}

int dl_schema_put(dl_schema *s, dl_attr *a) {
    if (a->aid >= s->cap_aid) {
        size_t cap = s->cap_aid ? s->cap_aid : 64;
        while (cap <= a->aid) cap *= 2;
        dl_attr **t = dt__realloc(s->by_aid, cap * sizeof *t);
        if (!t) return DT_NOMEM;
        memset(t + s->cap_aid, 0, (cap - s->cap_aid) * sizeof *t);
        s->by_aid = t;
        s->cap_aid = cap;
    }
    dl_attr *slot = s->by_aid[a->aid];
    int fresh = slot == NULL;
    if (fresh) {
        slot = dt__malloc(sizeof *slot);
        if (!slot) return DT_NOMEM;
    } else {
        dl_attr_release(slot);
    }
    *slot = *a;
    memset(a, 0, sizeof *a);
    s->by_aid[slot->aid] = slot;
    if (fresh) s->count++;
    if (slot->aid >= s->next_aid) s->next_aid = slot->aid + 1;
    /* keep the load factor under 1/2; a replaced ident may have moved */
    size_t want = s->nslots ? s->nslots : 64;
    while (s->count * 2 >= want) want *= 2;
    return rehash(s, want);
}

static int builtin(dl_schema *s, uint32_t aid, const char *ident, dt_type t, int unique) {
    dl_attr a;
    memset(&a, 0, sizeof a);
    a.aid = aid;
    a.ident_len = strlen(ident);
    a.ident = dt__strndup(ident, a.ident_len);
    if (!a.ident) return DT_NOMEM;
    a.vtype = t;
    a.unique = (uint8_t)unique;
    a.declared = 1;
    int rc = dl_schema_put(s, &a);
    if (rc != DT_OK) dl_attr_release(&a);
    return rc;
}

int dl_schema_new(dl_schema **out) {
    *out = NULL;
    dl_schema *s = dt__calloc(1, sizeof *s);
    if (!s) return dt__seterr(NULL, DT_NOMEM, "schema: out of memory");
    s->next_aid = DL_AID_FIRST_USER;
    int rc = builtin(s, DL_AID_IDENT, "db/ident", DT_KEYWORD, DL_UNIQUE_IDENTITY);
    if (rc == DT_OK) rc = builtin(s, DL_AID_TXINSTANT, "db/txInstant", DT_INSTANT, 0);
    if (rc == DT_OK) rc = builtin(s, DL_AID_DOC, "db/doc", DT_STRING, 0);
    /* transaction functions: Lua source, or a host function's descriptor */
    if (rc == DT_OK) rc = builtin(s, DL_AID_FN, "db/fn", DT_STRING, 0);
    if (rc == DT_OK) rc = builtin(s, DL_AID_UDF, "db/udf", DT_REF, 0);
    if (rc == DT_OK) rc = builtin(s, DL_AID_UDF_LANG, "udf/lang", DT_KEYWORD, 0);
    if (rc == DT_OK) rc = builtin(s, DL_AID_UDF_KIND, "udf/kind", DT_KEYWORD, 0);
    if (rc == DT_OK) rc = builtin(s, DL_AID_UDF_ID, "udf/id", DT_KEYWORD, 0);
    if (rc == DT_OK) s->by_aid[DL_AID_UDF]->component = 1;
    if (rc != DT_OK) {
        dl_schema_free(s);
        return dt__seterr(NULL, DT_NOMEM, "schema: out of memory");
    }
    s->next_aid = DL_AID_FIRST_USER;
    s->refs = 1;
    *out = s;
    return DT_OK;
}

dl_schema *dl_schema_retain(dl_schema *s) {
    if (s) atomic_fetch_add(&s->refs, 1);
    return s;
}

void dl_schema_release(dl_schema *s) {
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) dl_schema_free(s);
}

void dl_schema_free(dl_schema *s) {
    if (!s) return;
    for (size_t i = 0; i < s->cap_aid; i++) {
        if (s->by_aid[i]) {
            dl_attr_release(s->by_aid[i]);
            dt__free(s->by_aid[i]);
        }
    }
    dt__free(s->by_aid);
    dt__free(s->slots);
    dt__free(s);
}

static int attr_copy(const dl_attr *src, dl_attr *dst) {
    *dst = *src;
    dst->ident = dst->doc = NULL;
    dst->tuple_attrs = NULL;
    dst->ident = dt__strndup(src->ident, src->ident_len);
    if (!dst->ident) goto nomem;
    if (src->doc && !(dst->doc = dt__strndup(src->doc, strlen(src->doc)))) goto nomem;
    if (src->ntuple_attrs) {
        dst->tuple_attrs = dt__malloc(src->ntuple_attrs * sizeof *dst->tuple_attrs);
        if (!dst->tuple_attrs) goto nomem;
        memcpy(dst->tuple_attrs, src->tuple_attrs, src->ntuple_attrs * sizeof *dst->tuple_attrs);
    }
    return DT_OK;
nomem:
    dl_attr_release(dst);
    return DT_NOMEM;
}

int dl_schema_clone(const dl_schema *s, dl_schema **out) {
    *out = NULL;
    dl_schema *c = dt__calloc(1, sizeof *c);
    if (!c) return DT_NOMEM;
    for (size_t i = 0; i < s->cap_aid; i++) {
        if (!s->by_aid[i]) continue;
        dl_attr a;
        if (attr_copy(s->by_aid[i], &a) != DT_OK || dl_schema_put(c, &a) != DT_OK) {
            dl_attr_release(&a);
            dl_schema_free(c);
            return DT_NOMEM;
        }
    }
    c->next_aid = s->next_aid;
    c->refs = 1;
    *out = c;
    return DT_OK;
}

/* }====== */

/* {====== Schema maps ====== */

static const struct {
    const char *kw;
    dt_type type;
} value_types[] = {
    {"db.type/keyword", DT_KEYWORD}, {"db.type/symbol", DT_SYMBOL}, {"db.type/string", DT_STRING},
    {"db.type/boolean", DT_BOOL},    {"db.type/long", DT_LONG},     {"db.type/double", DT_DOUBLE},
    {"db.type/float", DT_FLOAT},     {"db.type/bigint", DT_BIGINT}, {"db.type/bigdec", DT_BIGDEC},
    {"db.type/instant", DT_INSTANT}, {"db.type/uuid", DT_UUID},     {"db.type/ref", DT_REF},
    {"db.type/bytes", DT_BYTES},     {"db.type/tuple", DT_TUPLE},
};

const char *dl_valuetype_keyword(dt_type t) {
    for (size_t i = 0; i < sizeof value_types / sizeof value_types[0]; i++)
        if (value_types[i].type == t) return value_types[i].kw;
    return NULL;
}

static int bad(const char *ident, size_t n, const char *what, const dt_value *v) {
    const char *shown =
        (v && (v->type == DT_KEYWORD || v->type == DT_STRING || v->type == DT_SYMBOL)) ? v->u.s.ptr
                                                                                       : NULL;
    if (shown)
        return dt__seterr(NULL, DT_SCHEMA, "schema: attribute :%.*s: %s, got %s%s", (int)n, ident,
                          what, v->type == DT_KEYWORD ? ":" : "", shown);
    return dt__seterr(NULL, DT_SCHEMA, "schema: attribute :%.*s: %s, got a %s", (int)n, ident, what,
                      v ? dt_type_name(v->type) : "nothing");
}

static int flag_value(const char *ident, size_t n, const char *prop, const dt_value *v,
                      uint8_t *out) {
    if (v->type != DT_BOOL) {
        char what[96];
        snprintf(what, sizeof what, ":%s expects true or false", prop);
        return bad(ident, n, what, v);
    }
    *out = (uint8_t)v->u.b;
    return DT_OK;
}

int dl_attr_from_spec(const dl_schema *s, const char *ident, size_t n, const dt_value *spec,
                      dl_attr *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return dt__seterr(NULL, DT_SCHEMA, "schema: empty attribute name");
    if (!spec || spec->type != DT_MAP) return bad(ident, n, "the definition must be a map", spec);
    int rc = DT_OK;
    dl_attr a;
    memset(&a, 0, sizeof a);
    a.declared = 1;
    for (size_t i = 0; i + 1 < spec->u.seq.n; i += 2) {
        const dt_value *k = &spec->u.seq.items[i], *v = &spec->u.seq.items[i + 1];
        if (k->type != DT_KEYWORD) {
            rc = bad(ident, n, "schema property names are keywords", k);
            goto fail;
        }
        const char *kw = k->u.s.ptr;
        if (!strcmp(kw, "db/valueType")) {
            size_t j = 0, m = sizeof value_types / sizeof value_types[0];
            for (; j < m; j++)
                if (dl_is_kw(v, value_types[j].kw)) break;
            if (j == m) {
                rc = bad(ident, n,
                         ":db/valueType expects :db.type/keyword, symbol, string, "
                         "boolean, long, double, float, bigint, bigdec, instant, "
                         "uuid, ref, bytes or tuple",
                         v);
                goto fail;
            }
            a.vtype = value_types[j].type;
        } else if (!strcmp(kw, "db/cardinality")) {
            if (dl_is_kw(v, "db.cardinality/one"))
                a.many = 0;
            else if (dl_is_kw(v, "db.cardinality/many"))
                a.many = 1;
            else {
                rc = bad(ident, n, ":db/cardinality expects :db.cardinality/one or many", v);
                goto fail;
            }
        } else if (!strcmp(kw, "db/unique")) {
            if (dl_is_kw(v, "db.unique/identity"))
                a.unique = DL_UNIQUE_IDENTITY;
            else if (dl_is_kw(v, "db.unique/value"))
                a.unique = DL_UNIQUE_VALUE;
            else if (v->type == DT_NIL)
                a.unique = DL_UNIQUE_NONE;
            else {
                rc = bad(ident, n, ":db/unique expects :db.unique/identity or :db.unique/value", v);
                goto fail;
            }
        } else if (!strcmp(kw, "db/isComponent")) {
            if ((rc = flag_value(ident, n, "db/isComponent", v, &a.component)) != DT_OK) goto fail;
        } else if (!strcmp(kw, "db/index")) {
            if ((rc = flag_value(ident, n, "db/index", v, &a.indexed)) != DT_OK) goto fail;
        } else if (!strcmp(kw, "db/noHistory")) {
            if ((rc = flag_value(ident, n, "db/noHistory", v, &a.no_history)) != DT_OK) goto fail;
        } else if (!strcmp(kw, "db/fulltext")) {
            uint8_t ignored;
            if ((rc = flag_value(ident, n, "db/fulltext", v, &ignored)) != DT_OK) goto fail;
        } else if (!strcmp(kw, "db/doc")) {
            if (v->type != DT_STRING) {
                rc = bad(ident, n, ":db/doc expects a string", v);
                goto fail;
            }
            dt__free(a.doc);
            if (!(a.doc = dt__strndup(v->u.s.ptr, v->u.s.len))) goto nomem;
        } else if (!strcmp(kw, "db/tupleAttrs")) {
            if (v->type != DT_VECTOR || v->u.seq.n < 2) {
                rc = bad(ident, n, ":db/tupleAttrs expects a vector of at least two attributes", v);
                goto fail;
            }
            dt__free(a.tuple_attrs);
            a.tuple_attrs = dt__malloc(v->u.seq.n * sizeof *a.tuple_attrs);
            if (!a.tuple_attrs) goto nomem;
            a.ntuple_attrs = v->u.seq.n;
            for (size_t j = 0; j < v->u.seq.n; j++) {
                const dt_value *t = &v->u.seq.items[j];
                const dl_attr *ta =
                    t->type == DT_KEYWORD ? dl_schema_by_ident(s, t->u.s.ptr, t->u.s.len) : NULL;
                if (!ta) {
                    rc = bad(ident, n, ":db/tupleAttrs names an attribute that is not defined", t);
                    goto fail;
                }
                a.tuple_attrs[j] = ta->aid;
            }
        } else if (!strcmp(kw, "db/ident") || !strcmp(kw, "db/id")) {
            /* accepted for attribute entities; the name is the ident */
        } else {
            rc = bad(ident, n, "unknown schema property", k);
            goto fail;
        }
    }
    if (a.component && a.vtype != DT_REF) {
        rc = dt__seterr(NULL, DT_SCHEMA,
                        "schema: attribute :%.*s: :db/isComponent needs :db/valueType :db.type/ref",
                        (int)n, ident);
        goto fail;
    }
    if (a.ntuple_attrs) {
        if (a.vtype != DT_NIL && a.vtype != DT_TUPLE) {
            rc = dt__seterr(NULL, DT_SCHEMA,
                            "schema: attribute :%.*s: :db/tupleAttrs needs :db.type/tuple", (int)n,
                            ident);
            goto fail;
        }
        a.vtype = DT_TUPLE;
        if (a.many) {
            rc = dt__seterr(NULL, DT_SCHEMA,
                            "schema: attribute :%.*s: a composite tuple is cardinality one", (int)n,
                            ident);
            goto fail;
        }
    }
    if (a.unique && a.many && a.vtype == DT_TUPLE) {
        rc = dt__seterr(NULL, DT_SCHEMA,
                        "schema: attribute :%.*s: a unique tuple cannot be cardinality many",
                        (int)n, ident);
        goto fail;
    }
    a.ident_len = n;
    if (!(a.ident = dt__strndup(ident, n))) goto nomem;
    *out = a;
    return DT_OK;
nomem:
    rc = dt__seterr(NULL, DT_NOMEM, "schema: out of memory");
fail:
    dl_attr_release(&a);
    return rc;
}

/* Appends keyword key and value to a map being built in `items`. */
static int put_kw(dt_value *items, size_t *i, const char *key, const dt_value *v) {
    int rc = dt_value_text(DT_KEYWORD, key, strlen(key), &items[*i]);
    if (rc != DT_OK) return rc;
    items[*i + 1] = *v;
    *i += 2;
    return DT_OK;
}

int dl_attr_to_spec(const dl_schema *s, const dl_attr *a, dt_value *out) {
    dt_value m, v;
    int rc = dt_value_seq(DT_MAP, 2 * 8, &m);
    if (rc != DT_OK) return rc;
    size_t i = 0;
    const char *vt = dl_valuetype_keyword(a->vtype);
    if (vt) {
        if ((rc = dt_value_text(DT_KEYWORD, vt, strlen(vt), &v)) != DT_OK) goto fail;
        if ((rc = put_kw(m.u.seq.items, &i, "db/valueType", &v)) != DT_OK) goto fail_v;
    }
    const char *card = a->many ? "db.cardinality/many" : "db.cardinality/one";
    if ((rc = dt_value_text(DT_KEYWORD, card, strlen(card), &v)) != DT_OK) goto fail;
    if ((rc = put_kw(m.u.seq.items, &i, "db/cardinality", &v)) != DT_OK) goto fail_v;
    if (a->unique) {
        const char *u = a->unique == DL_UNIQUE_IDENTITY ? "db.unique/identity" : "db.unique/value";
        if ((rc = dt_value_text(DT_KEYWORD, u, strlen(u), &v)) != DT_OK) goto fail;
        if ((rc = put_kw(m.u.seq.items, &i, "db/unique", &v)) != DT_OK) goto fail_v;
    }
    if (a->component) {
        dt_value_bool(1, &v);
        if ((rc = put_kw(m.u.seq.items, &i, "db/isComponent", &v)) != DT_OK) goto fail;
    }
    if (a->indexed) {
        dt_value_bool(1, &v);
        if ((rc = put_kw(m.u.seq.items, &i, "db/index", &v)) != DT_OK) goto fail;
    }
    if (a->no_history) {
        dt_value_bool(1, &v);
        if ((rc = put_kw(m.u.seq.items, &i, "db/noHistory", &v)) != DT_OK) goto fail;
    }
    if (a->doc) {
        if ((rc = dt_value_text(DT_STRING, a->doc, strlen(a->doc), &v)) != DT_OK) goto fail;
        if ((rc = put_kw(m.u.seq.items, &i, "db/doc", &v)) != DT_OK) goto fail_v;
    }
    if (a->ntuple_attrs) {
        if ((rc = dt_value_seq(DT_VECTOR, a->ntuple_attrs, &v)) != DT_OK) goto fail;
        for (size_t j = 0; j < a->ntuple_attrs; j++) {
            const dl_attr *t = dl_schema_by_aid(s, a->tuple_attrs[j]);
            const char *id = t ? t->ident : "?";
            if ((rc = dt_value_text(DT_KEYWORD, id, strlen(id), &v.u.seq.items[j])) != DT_OK)
                goto fail_v;
        }
        if ((rc = put_kw(m.u.seq.items, &i, "db/tupleAttrs", &v)) != DT_OK) goto fail_v;
    }
    m.u.seq.n = i;
    *out = m;
    return DT_OK;
fail_v:
    dt_value_free(&v);
fail:
    dt_value_free(&m);
    return rc;
}

/* }====== */
