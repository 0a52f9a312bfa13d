/*
 * entity.c -- lazy entities over a snapshot and their staged changes
 * (entity layer).  Attributes are read through the datom cursor of
 * datalog/index.h (EAV for an entity's own attributes, AVE for reverse
 * refs) and decoded with the codec; nothing here knows key bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "codec.h"
#include "coerce.h"
#include "db.h"
#include "entity.h"
#include "index.h"
#include "schema.h"

/* {====== The handle ====== */

/* One attribute read from the snapshot: rc DT_OK (v holds the value, or a
 * DT_SET for cardinality many and reverse refs) or DT_NOTFOUND. */
typedef struct slot {
    uint32_t aid;
    int reverse;
    int rc;
    dt_value v;
} slot;

enum { OP_ADD = 1, OP_RETRACT = 2, OP_RETRACT_ATTR = 3 };

/* One staged change; v is canonical (coerced, refs resolved). */
typedef struct staged {
    int op;
    uint32_t aid;
    dt_value v;
} staged;

struct dt_entity {
    uint32_t magic;
    dt_db *db;
    int64_t e;
    slot *slots;
    size_t nslots, capslots;
    int touched; /* every forward attribute is in slots */
    staged *st;
    size_t nst, capst;
    dl_cursor *cur; /* opened on first read */
    dt_buf tmp;
};

static int ent_ok(const dt_entity *ent) { return ent && ent->magic == DT_MAGIC_ENTITY; }

static int nomem(const void *h) { return dt__seterr(h, DT_NOMEM, "entity: out of memory"); }

static int entity_new(dt_db *db, int64_t e, dt_entity **out) {
    dt_entity *ent = dt__calloc(1, sizeof *ent);
    if (!ent) return DT_NOMEM;
    ent->magic = DT_MAGIC_ENTITY;
    ent->db = db;
    ent->e = e;
    *out = ent;
    return DT_OK;
}

int dt_entity_get(dt_db *db, const dt_value *ref, dt_entity **out) {
    if (out) *out = NULL;
    if (!dl_db_ok(db) || !ref || !out)
        return dt__seterr(db, DT_MISUSE, "dt_entity_get: bad arguments");
    if (!dl_db_txn(db)) return dt__seterr(db, DT_MISUSE, "dt_entity_get: the snapshot has ended");
    dt_view_info vi;
    if (dt_db_view_info(db, &vi) == DT_OK && vi.history)
        return dt__seterr(db, DT_INVALID,
                          "dt_entity_get: a history view holds no entity at one time (use an "
                          "as-of view)");
    int64_t e;
    int rc = dl_db_resolve_eref(db, ref, &e);
    if (rc != DT_OK) {
        dt__moveerr(NULL, db, rc);
        return rc;
    }
    if ((rc = entity_new(db, e, out)) != DT_OK) return nomem(db);
    return DT_OK;
}

static void slots_release(dt_entity *ent) {
    for (size_t i = 0; i < ent->nslots; i++) dt_value_free(&ent->slots[i].v);
    dt__free(ent->slots);
    ent->slots = NULL;
    ent->nslots = ent->capslots = 0;
}

void dt_entity_unstage(dt_entity *ent) {
    if (!ent_ok(ent)) return;
    for (size_t i = 0; i < ent->nst; i++) dt_value_free(&ent->st[i].v);
    ent->nst = 0;
}

void dt_entity_close(dt_entity *ent) {
    if (!ent_ok(ent)) return;
    dt_entity_unstage(ent);
    dt__free(ent->st);
    slots_release(ent);
    if (ent->cur) {
        dl_cursor_close(ent->cur);
        dt__free(ent->cur);
    }
    dt_buf_release(&ent->tmp);
    ent->magic = DT_MAGIC_DEAD;
    dt__free(ent);
}

int64_t dt_entity_id(const dt_entity *ent) { return ent_ok(ent) ? ent->e : 0; }

dt_db *dt_entity_snapshot(const dt_entity *ent) { return ent_ok(ent) ? ent->db : NULL; }

size_t dt_entity_staged_count(const dt_entity *ent) { return ent_ok(ent) ? ent->nst : 0; }

void dt_entity_list_close(dt_entity **list, size_t n) {
    if (!list) return;
    for (size_t i = 0; i < n; i++) dt_entity_close(list[i]);
    dt__free(list);
}

/* }====== */

/* {====== Attribute names ====== */

/* How an attribute name given to an entity function reads. */
typedef struct aname {
    const dl_attr *a; /* the attribute (NULL for db/id) */
    int reverse;      /* ":_attr" */
    int is_id;        /* "db/id" */
} aname;

/*
 * resolve_name: an attribute name (with or without its colon) against the
 * snapshot's schema: an attribute, its reverse name, or db/id.
 * DT_INVALID (message on ent) for unknown names and the reverse of a
 * non-ref attribute.
 */
static int resolve_name(dt_entity *ent, const char *what, const char *name, aname *out) {
    memset(out, 0, sizeof *out);
    if (!name) return dt__seterr(ent, DT_MISUSE, "%s: NULL attribute name", what);
    size_t len = strlen(name);
    dl_ident_bare(&name, &len);
    if (len == 5 && !memcmp(name, "db/id", 5)) {
        out->is_id = 1;
        return DT_OK;
    }
    const dl_schema *s = dl_db_schema(ent->db);
    const dl_attr *a = dl_schema_by_ident(s, name, len);
    if (a) {
        out->a = a;
        return DT_OK;
    }
    /* the reverse name: '_' after the namespace's '/' (or at the start) */
    const char *slash = memchr(name, '/', len);
    size_t at = slash ? (size_t)(slash - name) + 1 : 0;
    if (at < len && name[at] == '_') {
        char buf[512];
        if (len - 1 < sizeof buf) {
            memcpy(buf, name, at);
            memcpy(buf + at, name + at + 1, len - at - 1);
            a = dl_schema_by_ident(s, buf, len - 1);
            if (a) {
                if (a->vtype != DT_REF)
                    return dt__seterr(ent, DT_INVALID,
                                      "%s: reverse attribute :%.*s: :%s is not a ref attribute "
                                      "(it holds %s)",
                                      what, (int)len, name, a->ident,
                                      a->vtype == DT_NIL ? "any type" : dt_type_name(a->vtype));
                out->a = a;
                out->reverse = 1;
                return DT_OK;
            }
        }
    }
    return dt__seterr(ent, DT_INVALID, "%s: unknown attribute :%.*s", what, (int)len, name);
}

/* }====== */

/* {====== Reading ====== */

/* A growing array of values, moved into a DT_SET at the end. */
typedef struct vals {
    dt_value *v;
    size_t n, cap;
} vals;

static int vals_push(vals *l, dt_value *v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        dt_value *nv = dt__realloc(l->v, cap * sizeof *nv);
        if (!nv) return DT_NOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *v;
    dt_value_nil(v);
    return DT_OK;
}

static void vals_release(vals *l) {
    for (size_t i = 0; i < l->n; i++) dt_value_free(&l->v[i]);
    dt__free(l->v);
    memset(l, 0, sizeof *l);
}

/* Moves the values of l into a DT_SET in *out (l is emptied). */
static int vals_to_set(vals *l, dt_value *out) {
    int rc = dt_value_seq(DT_SET, l->n, out);
    if (rc != DT_OK) return rc;
    if (l->n) memcpy(out->u.seq.items, l->v, l->n * sizeof *l->v);
    dt__free(l->v);
    memset(l, 0, sizeof *l);
    return DT_OK;
}

static int open_cursor(dt_entity *ent, dl_index index) {
    if (!dl_db_txn(ent->db)) return dt__seterr(ent, DT_MISUSE, "entity: the snapshot has ended");
    if (ent->cur && ent->cur->index == index) return DT_OK;
    if (ent->cur) {
        dl_cursor_close(ent->cur);
    } else if (!(ent->cur = dt__calloc(1, sizeof *ent->cur))) {
        return nomem(ent);
    }
    int rc = dl_db_cursor_open(ent->cur, ent->db, index);
    if (rc != DT_OK) {
        dt__free(ent->cur);
        ent->cur = NULL;
        return dt__seterr(ent, rc, "entity: cannot open a cursor: %s", dt_errmsg(NULL));
    }
    return DT_OK;
}

/* Decodes the current datom's value (d from the entity's cursor). */
static int decode_current(dt_entity *ent, const dl_datom *d, dt_value *out) {
    const uint8_t *enc = d->v;
    size_t len = d->vlen, used;
    if (d->truncated) {
        dt_kv_bytes full;
        int rc = dl_cursor_value(ent->cur, &full);
        if (rc != DT_OK) return dt__moveerr(NULL, ent, rc);
        enc = full.ptr;
        len = full.len;
    }
    int rc = dl_codec_decode(enc, len, out, &used);
    if (rc == DT_NOMEM) return nomem(ent);
    if (rc != DT_OK)
        return dt__seterr(ent, DT_CORRUPT, "entity %lld: undecodable value of attribute %u",
                          (long long)ent->e, d->aid);
    return DT_OK;
}

static slot *find_slot(dt_entity *ent, uint32_t aid, int reverse) {
    for (size_t i = 0; i < ent->nslots; i++)
        if (ent->slots[i].aid == aid && ent->slots[i].reverse == reverse) return &ent->slots[i];
    return NULL;
}

/* Appends a slot taking *v (moved). */
static int add_slot(dt_entity *ent, uint32_t aid, int reverse, int rc, dt_value *v, slot **out) {
    if (ent->nslots == ent->capslots) {
        size_t cap = ent->capslots ? ent->capslots * 2 : 8;
        slot *ns = dt__realloc(ent->slots, cap * sizeof *ns);
        if (!ns) return nomem(ent);
        ent->slots = ns;
        ent->capslots = cap;
    }
    slot *s = &ent->slots[ent->nslots++];
    s->aid = aid;
    s->reverse = reverse;
    s->rc = rc;
    s->v = *v;
    dt_value_nil(v);
    if (out) *out = s;
    return DT_OK;
}

/* Reads the forward values of attribute a into *out (a value or a set);
 * DT_NOTFOUND when there are none. */
static int read_forward(dt_entity *ent, const dl_attr *a, dt_value *out) {
    int rc = open_cursor(ent, DL_INDEX_EAV);
    if (rc != DT_OK) return rc;
    dl_ikey k = {.n = 2, .e = ent->e, .aid = a->aid};
    if ((rc = dl_cursor_seek(ent->cur, &k, 2, NULL)) != DT_OK) return dt__moveerr(NULL, ent, rc);
    vals l = {0};
    dl_datom d;
    while ((rc = dl_cursor_next(ent->cur, &d)) == DT_ROW) {
        dt_value v;
        if ((rc = decode_current(ent, &d, &v)) != DT_OK) break;
        if (!a->many) {
            *out = v;
            vals_release(&l);
            return DT_OK;
        }
        if ((rc = vals_push(&l, &v)) != DT_OK) {
            dt_value_free(&v);
            rc = nomem(ent);
            break;
        }
    }
    if (rc == DT_DONE) {
        if (l.n == 0) return DT_NOTFOUND;
        if ((rc = vals_to_set(&l, out)) != DT_OK) rc = nomem(ent);
    } else if (rc != DT_OK && rc != DT_NOMEM) {
        dt__moveerr(NULL, ent, rc);
    }
    vals_release(&l);
    return rc;
}

/* Reads the entities whose ref attribute a points at this one into a set
 * of DT_REF; DT_NOTFOUND when none does. */
static int read_reverse(dt_entity *ent, const dl_attr *a, dt_value *out) {
    int rc = open_cursor(ent, DL_INDEX_AVE);
    if (rc != DT_OK) return rc;
    uint8_t enc[16];
    size_t elen = dl_codec_put_int(DT_REF, ent->e, enc);
    dl_ikey k = {.n = 2, .aid = a->aid, .v = enc, .vlen = elen};
    if ((rc = dl_cursor_seek(ent->cur, &k, 2, NULL)) != DT_OK) return dt__moveerr(NULL, ent, rc);
    vals l = {0};
    dl_datom d;
    while ((rc = dl_cursor_next(ent->cur, &d)) == DT_ROW) {
        dt_value v;
        dt_value_ref(d.e, &v);
        if (vals_push(&l, &v) != DT_OK) {
            rc = nomem(ent);
            break;
        }
    }
    if (rc == DT_DONE) {
        if (l.n == 0) return DT_NOTFOUND;
        if ((rc = vals_to_set(&l, out)) != DT_OK) rc = nomem(ent);
    } else if (rc != DT_NOMEM) {
        dt__moveerr(NULL, ent, rc);
    }
    vals_release(&l);
    return rc;
}

/* The slot of (a, reverse), read now if it is not yet; *out borrows it. */
static int get_slot(dt_entity *ent, const dl_attr *a, int reverse, slot **out) {
    slot *s = find_slot(ent, a->aid, reverse);
    if (!s && !reverse && ent->touched) {
        *out = NULL;
        return DT_NOTFOUND;
    }
    if (!s) {
        dt_value v = DT_VALUE_NIL;
        int rc = reverse ? read_reverse(ent, a, &v) : read_forward(ent, a, &v);
        if (rc != DT_OK && rc != DT_NOTFOUND) return rc;
        if ((rc = add_slot(ent, a->aid, reverse, rc, &v, &s)) != DT_OK) {
            dt_value_free(&v);
            return rc;
        }
    }
    *out = s;
    return s->rc;
}

int dt_entity_attr(dt_entity *ent, const char *attr, dt_value *out) {
    if (out) dt_value_nil(out);
    if (!ent_ok(ent) || !out) return dt__seterr(ent, DT_MISUSE, "dt_entity_attr: bad arguments");
    aname n;
    int rc = resolve_name(ent, "entity attribute", attr, &n);
    if (rc != DT_OK) return rc;
    if (n.is_id) {
        dt_value_long(ent->e, out);
        return DT_OK;
    }
    slot *s;
    if ((rc = get_slot(ent, n.a, n.reverse, &s)) != DT_OK) return rc;
    if (dt_value_copy(&s->v, out) != DT_OK) return nomem(ent);
    return DT_OK;
}

/* The cardinality-one value of attr for a typed getter (borrowed). */
static int typed(dt_entity *ent, const char *what, const char *attr, const dt_value **out) {
    *out = NULL;
    if (!ent_ok(ent)) return dt__seterr(ent, DT_MISUSE, "%s: not an entity", what);
    aname n;
    int rc = resolve_name(ent, what, attr, &n);
    if (rc != DT_OK) return rc;
    if (n.is_id) return dt__seterr(ent, DT_INVALID, "%s: use dt_entity_id for :db/id", what);
    if (n.reverse || n.a->many)
        return dt__seterr(ent, DT_INVALID,
                          "%s: :%s%s is of cardinality many: read it with dt_entity_attr or "
                          "dt_entity_refs",
                          what, n.reverse ? "_" : "", n.a->ident);
    slot *s;
    if ((rc = get_slot(ent, n.a, 0, &s)) != DT_OK) return rc;
    *out = &s->v;
    return DT_OK;
}

static int wrong_type(dt_entity *ent, const char *what, const char *attr, const dt_value *v,
                      const char *want) {
    const char *name = attr;
    if (name[0] == ':') name++;
    return dt__seterr(ent, DT_INVALID, "%s: :%s holds %s, not %s", what, name,
                      dt_type_name(v->type), want);
}

int dt_entity_get_long(dt_entity *ent, const char *attr, int64_t *out) {
    const char *what = "dt_entity_get_long";
    const dt_value *v;
    if (out) *out = 0;
    if (!out) return dt__seterr(ent, DT_MISUSE, "%s: NULL out", what);
    int rc = typed(ent, what, attr, &v);
    if (rc != DT_OK) return rc;
    if (v->type != DT_LONG) return wrong_type(ent, what, attr, v, "long");
    *out = v->u.i;
    return DT_OK;
}

int dt_entity_get_double(dt_entity *ent, const char *attr, double *out) {
    const char *what = "dt_entity_get_double";
    const dt_value *v;
    if (out) *out = 0;
    if (!out) return dt__seterr(ent, DT_MISUSE, "%s: NULL out", what);
    int rc = typed(ent, what, attr, &v);
    if (rc != DT_OK) return rc;
    if (v->type == DT_DOUBLE)
        *out = v->u.d;
    else if (v->type == DT_FLOAT)
        *out = v->u.f;
    else
        return wrong_type(ent, what, attr, v, "double");
    return DT_OK;
}

int dt_entity_get_bool(dt_entity *ent, const char *attr, int *out) {
    const char *what = "dt_entity_get_bool";
    const dt_value *v;
    if (out) *out = 0;
    if (!out) return dt__seterr(ent, DT_MISUSE, "%s: NULL out", what);
    int rc = typed(ent, what, attr, &v);
    if (rc != DT_OK) return rc;
    if (v->type != DT_BOOL) return wrong_type(ent, what, attr, v, "boolean");
    *out = v->u.b != 0;
    return DT_OK;
}

int dt_entity_get_instant(dt_entity *ent, const char *attr, int64_t *out) {
    const char *what = "dt_entity_get_instant";
    const dt_value *v;
    if (out) *out = 0;
    if (!out) return dt__seterr(ent, DT_MISUSE, "%s: NULL out", what);
    int rc = typed(ent, what, attr, &v);
    if (rc != DT_OK) return rc;
    if (v->type != DT_INSTANT) return wrong_type(ent, what, attr, v, "instant");
    *out = v->u.i;
    return DT_OK;
}

static int get_text(dt_entity *ent, const char *what, dt_type type, const char *attr,
                    const char **out, size_t *out_len) {
    const dt_value *v;
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out) return dt__seterr(ent, DT_MISUSE, "%s: NULL out", what);
    int rc = typed(ent, what, attr, &v);
    if (rc != DT_OK) return rc;
    if (v->type != type) return wrong_type(ent, what, attr, v, dt_type_name(type));
    *out = v->u.s.ptr;
    if (out_len) *out_len = v->u.s.len;
    return DT_OK;
}

int dt_entity_get_string(dt_entity *ent, const char *attr, const char **out, size_t *out_len) {
    return get_text(ent, "dt_entity_get_string", DT_STRING, attr, out, out_len);
}

int dt_entity_get_keyword(dt_entity *ent, const char *attr, const char **out, size_t *out_len) {
    return get_text(ent, "dt_entity_get_keyword", DT_KEYWORD, attr, out, out_len);
}

int dt_entity_get_ref(dt_entity *ent, const char *attr, dt_entity **out) {
    const char *what = "dt_entity_get_ref";
    const dt_value *v;
    if (out) *out = NULL;
    if (!out) return dt__seterr(ent, DT_MISUSE, "%s: NULL out", what);
    int rc = typed(ent, what, attr, &v);
    if (rc != DT_OK) return rc;
    if (v->type != DT_REF) return wrong_type(ent, what, attr, v, "ref");
    if (entity_new(ent->db, v->u.i, out) != DT_OK) return nomem(ent);
    return DT_OK;
}

int dt_entity_refs(dt_entity *ent, const char *attr, dt_entity ***out, size_t *out_n) {
    const char *what = "dt_entity_refs";
    if (out) *out = NULL;
    if (out_n) *out_n = 0;
    if (!ent_ok(ent) || !out || !out_n)
        return dt__seterr(ent, DT_MISUSE, "%s: bad arguments", what);
    aname n;
    int rc = resolve_name(ent, what, attr, &n);
    if (rc != DT_OK) return rc;
    if (n.is_id || n.a->vtype != DT_REF)
        return dt__seterr(ent, DT_INVALID, "%s: :%s is not a ref attribute", what,
                          n.is_id ? "db/id" : n.a->ident);
    slot *s;
    if ((rc = get_slot(ent, n.a, n.reverse, &s)) != DT_OK) return rc;
    const dt_value *items = &s->v;
    size_t count = 1;
    if (s->v.type == DT_SET) {
        items = s->v.u.seq.items;
        count = s->v.u.seq.n;
    }
    dt_entity **list = dt__calloc(count ? count : 1, sizeof *list);
    if (!list) return nomem(ent);
    for (size_t i = 0; i < count; i++) {
        if (entity_new(ent->db, items[i].u.i, &list[i]) != DT_OK) {
            dt_entity_list_close(list, i);
            return nomem(ent);
        }
    }
    *out = list;
    *out_n = count;
    return DT_OK;
}

/* }====== */

/* {====== Touch ====== */

/* Reads every forward attribute of the entity into its slots (those
 * already read are kept). */
static int load_all(dt_entity *ent) {
    if (ent->touched) return DT_OK;
    int rc = open_cursor(ent, DL_INDEX_EAV);
    if (rc != DT_OK) return rc;
    dl_ikey k = {.n = 1, .e = ent->e};
    if ((rc = dl_cursor_seek(ent->cur, &k, 1, NULL)) != DT_OK) return dt__moveerr(NULL, ent, rc);
    const dl_schema *sc = dl_db_schema(ent->db);
    vals l = {0};
    uint32_t cur_aid = 0;
    int have = 0, skip = 0;
    dl_datom d;
    /* group the datoms by attribute; close a group when the aid changes */
    for (;;) {
        rc = dl_cursor_next(ent->cur, &d);
        if (rc != DT_ROW && rc != DT_DONE) {
            dt__moveerr(NULL, ent, rc);
            break;
        }
        if (have && (rc == DT_DONE || d.aid != cur_aid)) {
            if (!skip) {
                const dl_attr *a = dl_schema_by_aid(sc, cur_aid);
                dt_value v = DT_VALUE_NIL;
                int r2 = DT_OK;
                if (a && a->many) {
                    r2 = vals_to_set(&l, &v);
                } else if (l.n) {
                    v = l.v[0];
                    dt_value_nil(&l.v[0]);
                }
                if (r2 == DT_OK) r2 = add_slot(ent, cur_aid, 0, DT_OK, &v, NULL);
                dt_value_free(&v);
                if (r2 != DT_OK) {
                    rc = nomem(ent);
                    break;
                }
            }
            vals_release(&l);
            have = 0;
        }
        if (rc == DT_DONE) break;
        if (!have) {
            have = 1;
            cur_aid = d.aid;
            slot *s = find_slot(ent, d.aid, 0);
            skip = s != NULL;
        }
        if (skip) continue;
        dt_value v;
        if ((rc = decode_current(ent, &d, &v)) != DT_OK) break;
        if ((rc = vals_push(&l, &v)) != DT_OK) {
            dt_value_free(&v);
            rc = nomem(ent);
            break;
        }
    }
    vals_release(&l);
    if (rc != DT_DONE) return rc;
    ent->touched = 1;
    return DT_OK;
}

static int set_kw(dt_value *out, const char *text, size_t len) {
    return dt_value_text(DT_KEYWORD, text, len, out);
}

/* {:db/id e} */
static int id_map(int64_t e, dt_value *out) {
    int rc = dt_value_seq(DT_MAP, 2, out);
    if (rc != DT_OK) return rc;
    if ((rc = set_kw(&out->u.seq.items[0], "db/id", 5)) != DT_OK) {
        dt_value_free(out);
        return rc;
    }
    dt_value_long(e, &out->u.seq.items[1]);
    return DT_OK;
}

static int touch_rec(dt_entity *ent, int depth, dt_value *out);

/* The touched form of one ref value r (a DT_REF) under attribute a. */
static int touch_ref(dt_entity *ent, const dl_attr *a, const dt_value *r, int depth,
                     dt_value *out) {
    if (!a->component) return id_map(r->u.i, out) == DT_OK ? DT_OK : nomem(ent);
    if (depth + 1 >= EN_TOUCH_MAX_DEPTH)
        return dt__seterr(ent, DT_LIMIT,
                          "dt_entity_touch: components of entity %lld nest deeper than %d (a "
                          "cycle through :%s?)",
                          (long long)ent->e, EN_TOUCH_MAX_DEPTH, a->ident);
    dt_entity *child;
    if (entity_new(ent->db, r->u.i, &child) != DT_OK) return nomem(ent);
    int rc = touch_rec(child, depth + 1, out);
    if (rc != DT_OK) dt__moveerr(child, ent, rc);
    dt_entity_close(child);
    return rc;
}

static int touch_rec(dt_entity *ent, int depth, dt_value *out) {
    int rc = load_all(ent);
    if (rc != DT_OK) return rc;
    const dl_schema *sc = dl_db_schema(ent->db);
    size_t n = 1;
    for (size_t i = 0; i < ent->nslots; i++)
        if (!ent->slots[i].reverse && ent->slots[i].rc == DT_OK) n++;
    /* slots in attribute-id order */
    uint32_t *order = dt__malloc(n * sizeof *order);
    if (!order) return nomem(ent);
    size_t m = 0;
    for (size_t i = 0; i < ent->nslots; i++)
        if (!ent->slots[i].reverse && ent->slots[i].rc == DT_OK) order[m++] = (uint32_t)i;
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && ent->slots[order[j - 1]].aid > ent->slots[order[j]].aid; j--) {
            uint32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    if ((rc = dt_value_seq(DT_MAP, 2 * n, out)) != DT_OK) {
        dt__free(order);
        return nomem(ent);
    }
    dt_value *it = out->u.seq.items;
    if ((rc = set_kw(&it[0], "db/id", 5)) != DT_OK) goto fail;
    dt_value_long(ent->e, &it[1]);
    for (size_t k = 0; k < m; k++) {
        const slot *s = &ent->slots[order[k]];
        const dl_attr *a = dl_schema_by_aid(sc, s->aid);
        if (!a) {
            rc = dt__seterr(ent, DT_CORRUPT, "entity %lld: datoms of unknown attribute %u",
                            (long long)ent->e, s->aid);
            goto fail;
        }
        dt_value *key = &it[2 + 2 * k], *val = &it[3 + 2 * k];
        if ((rc = set_kw(key, a->ident, a->ident_len)) != DT_OK) goto fail;
        if (a->vtype != DT_REF) {
            if ((rc = dt_value_copy(&s->v, val)) != DT_OK) goto fail;
            continue;
        }
        if (s->v.type != DT_SET) {
            if ((rc = touch_ref(ent, a, &s->v, depth, val)) != DT_OK) goto fail;
            continue;
        }
        if ((rc = dt_value_seq(DT_SET, s->v.u.seq.n, val)) != DT_OK) goto fail;
        for (size_t j = 0; j < s->v.u.seq.n; j++)
            if ((rc = touch_ref(ent, a, &s->v.u.seq.items[j], depth, &val->u.seq.items[j])) !=
                DT_OK)
                goto fail;
    }
    dt__free(order);
    return DT_OK;
fail:
    if (rc == DT_NOMEM) nomem(ent);
    dt__free(order);
    dt_value_free(out);
    return rc;
}

int dt_entity_touch(dt_entity *ent, dt_value *out) {
    if (out) dt_value_nil(out);
    if (!ent_ok(ent) || !out) return dt__seterr(ent, DT_MISUSE, "dt_entity_touch: bad arguments");
    return touch_rec(ent, 0, out);
}

/* }====== */

/* {====== Staging ====== */

/* The attribute a staging call names: a known forward attribute. */
static int stage_attr(dt_entity *ent, const char *what, const char *attr, const dl_attr **out) {
    *out = NULL;
    aname n;
    int rc = resolve_name(ent, what, attr, &n);
    if (rc != DT_OK) return rc;
    if (n.is_id) return dt__seterr(ent, DT_INVALID, "%s: :db/id cannot be changed", what);
    if (n.reverse)
        return dt__seterr(ent, DT_INVALID,
                          "%s: reverse attribute :_%s: stage the change on the referring entity",
                          what, n.a->ident);
    *out = n.a;
    return DT_OK;
}

/*
 * canon: the canonical form of v as a value of a: a ref given as an
 * ident or lookup ref is resolved in the snapshot, then the value is
 * coerced (the same rule as writes) and decoded back, so what is staged
 * is exactly what will be stored.
 */
static int canon(dt_entity *ent, const char *what, const dl_attr *a, const dt_value *v,
                 dt_value *out) {
    dt_value_nil(out);
    if (!v || v->type == DT_NIL)
        return dt__seterr(ent, DT_INVALID,
                          "%s: attribute :%s: nil is not a value (retract the attribute instead)",
                          what, a->ident);
    dt_value refv;
    if (a->vtype == DT_REF && (v->type == DT_KEYWORD || v->type == DT_VECTOR ||
                               v->type == DT_LIST || v->type == DT_LONG)) {
        int64_t e;
        int rc = dl_db_resolve_eref(ent->db, v, &e);
        if (rc != DT_OK)
            return dt__seterr(ent, rc, "%s: attribute :%s: %s", what, a->ident, dt_errmsg(NULL));
        dt_value_ref(e, &refv);
        v = &refv;
    }
    int rc = dl_coerce(a, v, &ent->tmp);
    if (rc != DT_OK)
        return dt__seterr(ent, rc, "%s: %s", what,
                          rc == DT_NOMEM ? "out of memory" : dt_errmsg(NULL));
    size_t used;
    rc = dl_codec_decode(ent->tmp.p, ent->tmp.len, out, &used);
    if (rc == DT_NOMEM) return nomem(ent);
    if (rc != DT_OK)
        return dt__seterr(ent, DT_INTERNAL, "%s: attribute :%s: cannot decode the coerced value",
                          what, a->ident);
    return DT_OK;
}

/* Appends a staged change taking *v (moved; may be nil). */
static int push_staged(dt_entity *ent, int op, uint32_t aid, dt_value *v) {
    if (ent->nst == ent->capst) {
        size_t cap = ent->capst ? ent->capst * 2 : 8;
        staged *ns = dt__realloc(ent->st, cap * sizeof *ns);
        if (!ns) return nomem(ent);
        ent->st = ns;
        ent->capst = cap;
    }
    staged *s = &ent->st[ent->nst++];
    s->op = op;
    s->aid = aid;
    s->v = *v;
    dt_value_nil(v);
    return DT_OK;
}

/* Drops staged changes back to count n (undo of a failed call). */
static void truncate_staged(dt_entity *ent, size_t n) {
    while (ent->nst > n) dt_value_free(&ent->st[--ent->nst].v);
}

static int stage_one(dt_entity *ent, const char *what, int op, const dl_attr *a,
                     const dt_value *v) {
    dt_value c;
    int rc = canon(ent, what, a, v, &c);
    if (rc != DT_OK) return rc;
    if ((rc = push_staged(ent, op, a->aid, &c)) != DT_OK) dt_value_free(&c);
    return rc;
}

/* 1 when v is a collection of values for a cardinality-many attribute
 * (a vector is a single value of a tuple attribute). */
static int is_coll(const dl_attr *a, const dt_value *v) {
    if (v->type == DT_SET || v->type == DT_LIST) return 1;
    if (v->type != DT_VECTOR) return 0;
    if (a->vtype == DT_TUPLE) return 0;
    /* [:attr value] is a lookup ref for a ref attribute */
    if (a->vtype == DT_REF && v->u.seq.n == 2 && v->u.seq.items[0].type == DT_KEYWORD) return 0;
    return 1;
}

int dt_entity_assoc(dt_entity *ent, const char *attr, const dt_value *v) {
    const char *what = "dt_entity_assoc";
    if (!ent_ok(ent)) return dt__seterr(ent, DT_MISUSE, "%s: not an entity", what);
    const dl_attr *a;
    int rc = stage_attr(ent, what, attr, &a);
    if (rc != DT_OK) return rc;
    if (!a->many) return stage_one(ent, what, OP_ADD, a, v);
    if (!v) return dt__seterr(ent, DT_INVALID, "%s: attribute :%s: NULL value", what, a->ident);
    size_t start = ent->nst;
    /* the new set, canonical */
    const dt_value *items = v;
    size_t n = 1;
    if (is_coll(a, v)) {
        items = v->u.seq.items;
        n = v->u.seq.n;
    }
    vals nv = {0};
    for (size_t i = 0; i < n && rc == DT_OK; i++) {
        dt_value c;
        if ((rc = canon(ent, what, a, &items[i], &c)) != DT_OK) break;
        if ((rc = vals_push(&nv, &c)) != DT_OK) {
            dt_value_free(&c);
            rc = nomem(ent);
        }
    }
    /* retract what the snapshot holds and the new set lacks */
    slot *s = NULL;
    if (rc == DT_OK) {
        rc = get_slot(ent, a, 0, &s);
        if (rc == DT_NOTFOUND) {
            rc = DT_OK;
            s = NULL;
        }
    }
    if (rc == DT_OK && s) {
        for (size_t i = 0; i < s->v.u.seq.n && rc == DT_OK; i++) {
            const dt_value *old = &s->v.u.seq.items[i];
            int keep = 0;
            for (size_t j = 0; j < nv.n && !keep; j++) keep = dt_value_equal(old, &nv.v[j]);
            if (keep) continue;
            dt_value c;
            if ((rc = dt_value_copy(old, &c)) != DT_OK) {
                rc = nomem(ent);
                break;
            }
            if ((rc = push_staged(ent, OP_RETRACT, a->aid, &c)) != DT_OK) dt_value_free(&c);
        }
    }
    for (size_t i = 0; i < nv.n && rc == DT_OK; i++)
        rc = push_staged(ent, OP_ADD, a->aid, &nv.v[i]);
    vals_release(&nv);
    if (rc != DT_OK) truncate_staged(ent, start);
    return rc;
}

int dt_entity_add(dt_entity *ent, const char *attr, const dt_value *v) {
    const char *what = "dt_entity_add";
    if (!ent_ok(ent)) return dt__seterr(ent, DT_MISUSE, "%s: not an entity", what);
    const dl_attr *a;
    int rc = stage_attr(ent, what, attr, &a);
    if (rc != DT_OK) return rc;
    if (!a->many)
        return dt__seterr(ent, DT_INVALID,
                          "%s: :%s is of cardinality one: set its value with dt_entity_assoc", what,
                          a->ident);
    return stage_one(ent, what, OP_ADD, a, v);
}

int dt_entity_retract(dt_entity *ent, const char *attr, const dt_value *v) {
    const char *what = "dt_entity_retract";
    if (!ent_ok(ent)) return dt__seterr(ent, DT_MISUSE, "%s: not an entity", what);
    const dl_attr *a;
    int rc = stage_attr(ent, what, attr, &a);
    if (rc != DT_OK) return rc;
    return stage_one(ent, what, OP_RETRACT, a, v);
}

int dt_entity_retract_attr(dt_entity *ent, const char *attr) {
    const char *what = "dt_entity_retract_attr";
    if (!ent_ok(ent)) return dt__seterr(ent, DT_MISUSE, "%s: not an entity", what);
    const dl_attr *a;
    int rc = stage_attr(ent, what, attr, &a);
    if (rc != DT_OK) return rc;
    dt_value nil = DT_VALUE_NIL;
    return push_staged(ent, OP_RETRACT_ATTR, a->aid, &nil);
}

int dt_entity_tx_data(const dt_entity *ent, dt_value *out) {
    if (out) dt_value_nil(out);
    if (!ent_ok(ent) || !out) return dt__seterr(ent, DT_MISUSE, "dt_entity_tx_data: bad arguments");
    const dl_schema *sc = dl_db_schema(ent->db);
    int rc = dt_value_seq(DT_VECTOR, ent->nst, out);
    if (rc != DT_OK) return nomem(ent);
    for (size_t i = 0; i < ent->nst && rc == DT_OK; i++) {
        const staged *s = &ent->st[i];
        const dl_attr *a = dl_schema_by_aid(sc, s->aid);
        size_t n = s->op == OP_RETRACT_ATTR ? 3 : 4;
        dt_value *f = &out->u.seq.items[i];
        if (!a) {
            rc = dt__seterr(ent, DT_INTERNAL, "dt_entity_tx_data: attribute %u vanished", s->aid);
            break;
        }
        if ((rc = dt_value_seq(DT_VECTOR, n, f)) != DT_OK) break;
        const char *op = s->op == OP_ADD ? "db/add" : "db/retract";
        if ((rc = set_kw(&f->u.seq.items[0], op, strlen(op))) != DT_OK) break;
        dt_value_long(ent->e, &f->u.seq.items[1]);
        if ((rc = set_kw(&f->u.seq.items[2], a->ident, a->ident_len)) != DT_OK) break;
        if (n == 4 && (rc = dt_value_copy(&s->v, &f->u.seq.items[3])) != DT_OK) break;
    }
    if (rc != DT_OK) {
        if (rc == DT_NOMEM) nomem(ent);
        dt_value_free(out);
    }
    return rc;
}

/* }====== */
