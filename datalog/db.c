/*
 * db.c -- snapshots, entity references, datom iteration and attribute
 * statistics (datalog layer): the read side of the public Datalog API.
 */
#include "db.h"

#include <stdatomic.h>
#include <string.h>

#include "coerce.h"

/* {====== Snapshots ====== */

struct dt_db {
    uint32_t magic;
    const dl_store *st;
    dt_kv_txn *txn;
    int owns_txn;      /* release ends the txn */
    dl_schema *schema; /* one reference held */
    int64_t basis_tx;
    _Atomic long *open_count; /* the connection's count of live snapshots, or NULL */
    void *owner;              /* the connection of a refreshable snapshot, or NULL */
    _Atomic long refs;        /* 1 for the user's handle (until closed) + 1 per live view */
    int closed;               /* dt_db_close was called (the handle lives on for its views) */
    dl_view *view;            /* a time view: its bounds (NULL: the database itself) */
    dt_db *base;              /* a time view: the snapshot it reads (one reference held) */
    dl_hcache *hcache;        /* a snapshot with views: their shared history cache */
    dl_view *wide;            /* a time view: the history view of its base, made on first
                               * use by dl_db_cursor_open_wide (NULL until then) */
    const void *fnhost;       /* see dl_db_set_fnhost */
};

int dl_db_new(const dl_store *st, dt_kv_txn *txn, int owns_txn, dl_schema *schema,
              _Atomic long *open_count, dt_db **out) {
    *out = NULL;
    dt_db *db = dt__calloc(1, sizeof *db);
    if (!db) return dt__seterr(NULL, DT_NOMEM, "db: out of memory");
    int rc = dl_db_basis(st, txn, &db->basis_tx);
    if (rc != DT_OK) {
        dt__free(db);
        return rc;
    }
    db->magic = DT_MAGIC_DB;
    db->st = st;
    db->txn = txn;
    db->owns_txn = owns_txn;
    db->schema = dl_schema_retain(schema);
    db->open_count = open_count;
    atomic_init(&db->refs, 1);
    if (open_count) atomic_fetch_add(open_count, 1);
    *out = db;
    return DT_OK;
}

int dl_db_ok(const dt_db *db) { return db && db->magic == DT_MAGIC_DB && !db->closed; }

const dl_store *dl_db_store(const dt_db *db) { return db->st; }
dt_kv_txn *dl_db_txn(const dt_db *db) { return db->txn; }
const dl_schema *dl_db_schema(const dt_db *db) { return db->schema; }
void dl_db_set_owner(dt_db *db, void *owner) { db->owner = owner; }
void *dl_db_owner(const dt_db *db) { return db->owner; }
int dl_db_owns_txn(const dt_db *db) { return db->owns_txn; }
void dl_db_set_fnhost(dt_db *db, const void *host) { db->fnhost = host; }
const void *dl_db_fnhost(const dt_db *db) { return db->fnhost; }

void dl_db_end_txn(dt_db *db) {
    if (db->owns_txn) dt_kv_txn_abort(db->txn);
    db->txn = NULL;
}

void dl_db_adopt(dt_db *db, dt_db *fresh) {
    dl_db_end_txn(db);
    dl_hcache_free(db->hcache); /* the history of the old snapshot */
    db->hcache = NULL;
    dl_schema_release(db->schema);
    db->txn = fresh->txn;
    db->schema = fresh->schema;
    db->basis_tx = fresh->basis_tx;
    /* free the shell without ending what was taken over */
    fresh->owns_txn = 0;
    fresh->schema = dl_schema_retain(db->schema);
    dt_db_close(fresh);
}

int dl_db_basis(const dl_store *st, dt_kv_txn *txn, int64_t *out) {
    uint64_t next_t = 1;
    int rc = dl_meta_get_u64(st, txn, "next_t", 1, &next_t);
    if (rc != DT_OK) return rc;
    *out = next_t > 1 ? DL_TX0 + (int64_t)next_t - 1 : 0;
    return DT_OK;
}

static void db_free(dt_db *db) {
    dl_hcache_free(db->hcache);
    if (db->owns_txn) dt_kv_txn_abort(db->txn);
    dl_schema_release(db->schema);
    if (db->open_count) atomic_fetch_sub(db->open_count, 1);
    dt__clearerr(db);
    db->magic = DT_MAGIC_DEAD;
    dt__free(db);
}

static void db_unref(dt_db *db) {
    if (atomic_fetch_sub(&db->refs, 1) == 1) db_free(db);
}

void dt_db_close(dt_db *db) {
    if (!dl_db_ok(db)) return;
    if (db->view) {
        dt_db *base = db->base;
        dl_view_free(db->view);
        dl_view_free(db->wide);
        dl_schema_release(db->schema);
        dt__clearerr(db);
        db->magic = DT_MAGIC_DEAD;
        dt__free(db);
        db_unref(base);
        return;
    }
    db->closed = 1;
    dt__clearerr(db);
    db_unref(db);
}

int64_t dt_db_basis_tx(const dt_db *db) { return dl_db_ok(db) ? db->basis_tx : 0; }

dl_view *dl_db_view(const dt_db *db) { return db->view; }
int dl_db_has_views(const dt_db *db) { return atomic_load(&db->refs) > 1; }

int dl_db_cursor_open(dl_cursor *c, const dt_db *db, dl_index index) {
    return dl_cursor_open_view(c, db->st, db->txn, db->view, index);
}

int dl_db_cursor_open_wide(dl_cursor *c, const dt_db *db, dl_index index) {
    if (!db->view) return dl_cursor_open_view(c, db->st, db->txn, NULL, index);
    dt_db *v = (dt_db *)db; /* a view is used by one thread at a time */
    if (!v->wide) {
        int rc = dl_view_new(DL_VIEW_NOW, 0, 1, v->base->hcache, &v->wide);
        if (rc != DT_OK) return rc;
    }
    return dl_cursor_open_view(c, db->st, db->txn, v->wide, index);
}

/* }====== */

/* {====== Time views ====== */

/*
 * The one place that checks whether the past a view asks for is still
 * kept: dt_history_gc drops the history of retractions made before its
 * watermark (dl_history_floor), so an as-of bound before the watermark
 * fails here with DT_INVALID and a message on the NULL handle; *floor
 * receives the watermark (0: none), which the view also needs.  DT_OK
 * when the view can be read.
 */
static int check_history_kept(dt_db *base, int64_t as_of, int64_t *floor) {
    int rc = dl_history_floor(base->st, base->txn, floor);
    if (rc != DT_OK) return rc;
    if (as_of != DL_VIEW_NOW && as_of < *floor)
        return dt__seterr(NULL, DT_INVALID,
                          "as of %lld: the history before transaction %lld was dropped "
                          "(dt_history_gc); the earliest as-of is %lld",
                          (long long)as_of, (long long)*floor, (long long)*floor);
    return DT_OK;
}

/* A new view of db (a snapshot or a view) whose bounds are db's narrowed
 * by as_of (DL_VIEW_NOW: none), since (0: none) and history (or'ed). */
static int view_new(dt_db *db, int64_t as_of, int64_t since, int history, dt_db **out) {
    dt_db *base = db->view ? db->base : db;
    if (db->view) {
        int64_t a, s;
        int h;
        dl_view_params(db->view, &a, &s, &h);
        if (a < as_of) as_of = a;
        if (s > since) since = s;
        history |= h;
    }
    /* the present and the future are the database itself */
    if (as_of != DL_VIEW_NOW && as_of >= base->basis_tx) as_of = DL_VIEW_NOW;
    int64_t floor = 0;
    int rc = check_history_kept(base, as_of, &floor);
    if (rc != DT_OK) return dt__moveerr(NULL, db, rc);
    if (!base->hcache && (rc = dl_hcache_new(&base->hcache)) != DT_OK)
        return dt__moveerr(NULL, db, rc);
    dt_db *v = dt__calloc(1, sizeof *v);
    if (!v) return dt__seterr(db, DT_NOMEM, "db: out of memory");
    if ((rc = dl_view_new(as_of, since, history, base->hcache, &v->view)) != DT_OK) {
        dt__free(v);
        return dt__moveerr(NULL, db, rc);
    }
    dl_view_set_floor(v->view, floor);
    v->magic = DT_MAGIC_DB;
    v->st = base->st;
    v->txn = base->txn;
    v->schema = dl_schema_retain(base->schema);
    v->basis_tx = base->basis_tx;
    atomic_init(&v->refs, 1);
    atomic_fetch_add(&base->refs, 1);
    v->base = base;
    v->fnhost = base->fnhost; /* registered query functions stay callable */
    *out = v;
    return DT_OK;
}

/* Checks the common arguments of the view constructors. */
static int view_args(dt_db *db, dt_db **out, const char *fn) {
    if (out) *out = NULL;
    if (!dl_db_ok(db) || !out) return dt__seterr(db, DT_MISUSE, "%s: bad arguments", fn);
    if (!db->txn) return dt__seterr(db, DT_MISUSE, "%s: the snapshot has ended", fn);
    return DT_OK;
}

/* A tx bound: a transaction id, or DL_TX0 (before the first one). */
static int tx_arg(dt_db *db, int64_t tx, const char *fn) {
    if (tx < DL_TX0 || tx > DL_MAX_TX)
        return dt__seterr(db, DT_INVALID,
                          "%s: %lld is not a transaction id (%lld..%lld; %lld: before the "
                          "first transaction)",
                          fn, (long long)tx, (long long)DL_TX0 + 1, (long long)DL_MAX_TX,
                          (long long)DL_TX0);
    return DT_OK;
}

int dt_db_as_of(dt_db *db, int64_t tx, dt_db **out) {
    int rc = view_args(db, out, "dt_db_as_of");
    if (rc == DT_OK) rc = tx_arg(db, tx, "dt_db_as_of");
    if (rc == DT_OK) rc = view_new(db, tx, 0, 0, out);
    return rc;
}

int dt_db_since(dt_db *db, int64_t tx, dt_db **out) {
    int rc = view_args(db, out, "dt_db_since");
    if (rc == DT_OK) rc = tx_arg(db, tx, "dt_db_since");
    if (rc == DT_OK) rc = view_new(db, DL_VIEW_NOW, tx, 0, out);
    return rc;
}

int dt_db_history(dt_db *db, dt_db **out) {
    int rc = view_args(db, out, "dt_db_history");
    if (rc == DT_OK) rc = view_new(db, DL_VIEW_NOW, 0, 1, out);
    return rc;
}

int dt_db_tx_at(dt_db *db, int64_t ms, int64_t *out) {
    if (out) *out = 0;
    if (!dl_db_ok(db) || !out) return dt__seterr(db, DT_MISUSE, "dt_db_tx_at: bad arguments");
    if (!db->txn) return dt__seterr(db, DT_MISUSE, "dt_db_tx_at: the snapshot has ended");
    /* instants grow with tx ids: the last :db/txInstant <= ms, read in the
     * base's AVE index (transaction datoms are never retracted) */
    dt_db *base = db->view ? db->base : db;
    uint8_t hi[9];
    size_t hlen = dl_codec_put_int(DT_INSTANT, ms, hi);
    dl_cursor c;
    int rc = dl_cursor_open(&c, base->st, base->txn, DL_INDEX_AVE);
    dl_ikey from = {1, 0, DL_AID_TXINSTANT, NULL, 0}, until = {2, 0, DL_AID_TXINSTANT, hi, hlen};
    if (rc == DT_OK) rc = dl_cursor_seek(&c, &from, 1, &until);
    int64_t best = DL_TX0;
    dl_datom d;
    while (rc == DT_OK && (rc = dl_cursor_next(&c, &d)) == DT_ROW) {
        if (d.e > best && d.e <= db->basis_tx) best = d.e;
        rc = DT_OK;
    }
    dl_cursor_close(&c);
    if (rc != DT_DONE && rc != DT_OK) return dt__moveerr(NULL, db, rc);
    *out = best;
    return DT_OK;
}

int dt_db_as_of_instant(dt_db *db, int64_t ms, dt_db **out) {
    int rc = view_args(db, out, "dt_db_as_of_instant");
    int64_t tx = DL_TX0;
    if (rc == DT_OK) rc = dt_db_tx_at(db, ms, &tx);
    if (rc == DT_OK) rc = view_new(db, tx, 0, 0, out);
    return rc;
}

int dt_db_view_info(const dt_db *db, dt_view_info *out) {
    if (!out) return DT_MISUSE;
    memset(out, 0, sizeof *out);
    if (!dl_db_ok(db)) return DT_MISUSE;
    if (!db->view) return DT_OK;
    int64_t a, s;
    int h;
    dl_view_params(db->view, &a, &s, &h);
    out->as_of = a == DL_VIEW_NOW ? 0 : a;
    out->since = s;
    out->history = h;
    out->is_view = 1;
    return DT_OK;
}

/* }====== */

/* {====== Entity references ====== */

/* An attribute name for messages: without its leading colon, if any. */
static const char *bare(const char *name) { return name[0] == ':' ? name + 1 : name; }

static int encode_for_attr(const dl_store *st, dt_kv_txn *txn, dl_view *view, const dl_schema *s,
                           const dl_attr *a, const dt_value *v, dt_buf *out);

/* dl_find_entity in a time view (the current database when view is NULL):
 * the smallest entity asserting the value in the view. */
static int find_entity(const dl_store *st, dt_kv_txn *txn, dl_view *view, uint32_t aid,
                       const uint8_t *enc, size_t len, int64_t *e, int *found) {
    if (!view) return dl_find_entity(st, txn, aid, enc, len, e, found);
    *found = 0;
    dl_cursor c;
    int rc = dl_cursor_open_view(&c, st, txn, view, DL_INDEX_AVE);
    dl_ikey k = {2, 0, aid, enc, len};
    if (rc == DT_OK) rc = dl_cursor_seek(&c, &k, 2, NULL);
    dl_datom d;
    while (rc == DT_OK && (rc = dl_cursor_next(&c, &d)) == DT_ROW) {
        rc = DT_OK;
        if (dl_cursor_added(&c)) {
            *e = d.e;
            *found = 1;
            break;
        }
    }
    dl_cursor_close(&c);
    return rc == DT_DONE ? DT_OK : rc;
}

static int resolve_eref(const dl_store *st, dt_kv_txn *txn, dl_view *view, const dl_schema *s,
                        const dt_value *ref, int64_t *out);

int dl_resolve_eref(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dt_value *ref,
                    int64_t *out) {
    return resolve_eref(st, txn, NULL, s, ref, out);
}

int dl_db_resolve_eref(const dt_db *db, const dt_value *ref, int64_t *out) {
    return resolve_eref(db->st, db->txn, db->view, db->schema, ref, out);
}

static int resolve_eref(const dl_store *st, dt_kv_txn *txn, dl_view *view, const dl_schema *s,
                        const dt_value *ref, int64_t *out) {
    if (ref->type == DT_LONG || ref->type == DT_REF) {
        if (ref->u.i <= 0)
            return dt__seterr(NULL, DT_INVALID, "entity id %lld is not positive",
                              (long long)ref->u.i);
        if (!dl_ref_ok(ref->u.i))
            return dt__seterr(NULL, DT_INVALID,
                              "entity id %lld is out of range (1..%lld, or a transaction id "
                              "%lld..%lld)",
                              (long long)ref->u.i, (long long)DL_MAX_EID, (long long)DL_TX0 + 1,
                              (long long)DL_MAX_TX);
        *out = ref->u.i;
        return DT_OK;
    }
    const dl_attr *a;
    const dt_value *val;
    if (ref->type == DT_KEYWORD) {
        a = dl_schema_by_aid(s, DL_AID_IDENT);
        val = ref;
    } else if ((ref->type == DT_VECTOR || ref->type == DT_LIST) && ref->u.seq.n == 2 &&
               ref->u.seq.items[0].type == DT_KEYWORD) {
        const dt_value *an = &ref->u.seq.items[0];
        a = dl_schema_by_ident(s, an->u.s.ptr, an->u.s.len);
        if (!a)
            return dt__seterr(NULL, DT_INVALID, "lookup ref [:%s ...]: unknown attribute :%s",
                              bare(an->u.s.ptr), bare(an->u.s.ptr));
        if (!a->unique)
            return dt__seterr(NULL, DT_INVALID,
                              "lookup ref [:%s ...]: the attribute is not :db/unique", an->u.s.ptr);
        val = &ref->u.seq.items[1];
    } else {
        return dt__seterr(NULL, DT_INVALID,
                          "expected an entity reference (id, ident or lookup ref), got a %s",
                          dt_type_name(ref->type));
    }
    dt_buf enc = DT_BUF_INIT;
    int rc = encode_for_attr(st, txn, view, s, a, val, &enc);
    int found = 0;
    if (rc == DT_OK) rc = find_entity(st, txn, view, a->aid, enc.p, enc.len, out, &found);
    dt_buf_release(&enc);
    if (rc != DT_OK) return rc;
    if (!found) {
        if (ref->type == DT_KEYWORD)
            return dt__seterr(NULL, DT_NOTFOUND, "no entity has :db/ident :%s", ref->u.s.ptr);
        char shown[160];
        dl_show(val, shown, sizeof shown);
        return dt__seterr(NULL, DT_NOTFOUND, "lookup ref [:%s %s] matches no entity", a->ident,
                          shown);
    }
    return DT_OK;
}

/* Encodes a value given for attribute a (dl_coerce); for ref attributes
 * the value may be any entity reference (id, ident, lookup ref), resolved
 * in txn.  DT_NOTFOUND when a reference matches no entity; DT_INVALID
 * (with a message) when the value cannot be one of a. */
static int encode_for_attr(const dl_store *st, dt_kv_txn *txn, dl_view *view, const dl_schema *s,
                           const dl_attr *a, const dt_value *v, dt_buf *out) {
    dt_value tmp = *v;
    if (a->vtype == DT_REF &&
        (v->type == DT_KEYWORD || v->type == DT_VECTOR || v->type == DT_LIST)) {
        int64_t id;
        int rc = resolve_eref(st, txn, view, s, v, &id);
        if (rc != DT_OK) return rc;
        dt_value_ref(id, &tmp);
    }
    return dl_coerce(a, &tmp, out);
}

int dt_db_entid(dt_db *db, const dt_value *ref, int64_t *out) {
    if (!dl_db_ok(db) || !ref || !out)
        return dt__seterr(db, DT_MISUSE, "dt_db_entid: bad arguments");
    int rc = dl_db_resolve_eref(db, ref, out);
    if (rc != DT_OK) dt__moveerr(NULL, db, rc);
    return rc;
}

/* }====== */

/* {====== Datom iteration ====== */

#define DT_MAGIC_DITER 0x64746974u /* "dtit" */

struct dt_datom_iter {
    uint32_t magic;
    dt_db *db;
    dt_index index;
    dl_cursor cur;
    dt_value v; /* the current datom's value */
};

/*
 * Reads the components for `index` into *k (in index order; the value's
 * full encoding into enc).  DT_NOTFOUND: they match no datom (an entity
 * reference or attribute that does not exist).
 */
static int components_key(dt_db *db, dt_index index, const dt_value *c, size_t n, dl_ikey *k,
                          dt_buf *enc) {
    const dl_schema *s = db->schema;
    int rc = DT_OK;
    if (n > 3) return dt__seterr(NULL, DT_INVALID, "datoms: at most 3 components, got %zu", n);
    int64_t e = 0;
    const dl_attr *a = NULL;
    size_t ei = index == DT_INDEX_EAV ? 0 : 2, ai = index == DT_INDEX_EAV ? 1 : 0;
    size_t vi = index == DT_INDEX_EAV ? 2 : 1;
    if (n > ei) {
        rc = dl_db_resolve_eref(db, &c[ei], &e);
        if (rc == DT_NOTFOUND)
            e = -1; /* matches nothing */
        else if (rc != DT_OK)
            return rc;
    }
    if (n > ai) {
        if (c[ai].type != DT_KEYWORD)
            return dt__seterr(NULL, DT_INVALID,
                              "datoms: the attribute component must be a keyword, "
                              "got a %s",
                              dt_type_name(c[ai].type));
        a = dl_schema_by_ident(s, c[ai].u.s.ptr, c[ai].u.s.len);
        if (!a)
            return dt__seterr(NULL, DT_INVALID, "datoms: unknown attribute :%s",
                              bare(c[ai].u.s.ptr));
    }
    if (n > vi) {
        if ((rc = encode_for_attr(db->st, db->txn, db->view, s, a, &c[vi], enc)) != DT_OK)
            return rc;
    }
    if (n > ei && e < 0) return DT_NOTFOUND;
    k->n = (unsigned)n;
    k->e = e;
    k->aid = a ? a->aid : 0;
    k->v = enc->p;
    k->vlen = enc->len;
    return DT_OK;
}

static int iter_new(dt_db *db, dt_index index, dt_datom_iter **out) {
    *out = NULL;
    if (!dl_db_ok(db)) return dt__seterr(db, DT_MISUSE, "datoms: not a live snapshot");
    if (index != DT_INDEX_EAV && index != DT_INDEX_AVE)
        return dt__seterr(db, DT_INVALID, "datoms: unknown index %d", (int)index);
    dt_datom_iter *it = dt__calloc(1, sizeof *it);
    if (!it) return dt__seterr(db, DT_NOMEM, "datoms: out of memory");
    int rc = dl_db_cursor_open(&it->cur, db, (dl_index)index);
    if (rc != DT_OK) {
        dt__free(it);
        return dt__moveerr(NULL, db, rc);
    }
    it->magic = DT_MAGIC_DITER;
    it->db = db;
    it->index = index;
    *out = it;
    return DT_OK;
}

static void iter_discard(dt_datom_iter *it) {
    dl_cursor_close(&it->cur);
    dt__free(it);
}

static int open_components(dt_db *db, dt_index index, const dt_value *c, size_t n, int seek,
                           dt_datom_iter **out) {
    if (n && !c) return dt__seterr(db, DT_MISUSE, "datoms: NULL components");
    dt_datom_iter *it;
    int rc = iter_new(db, index, &it);
    if (rc != DT_OK) return rc;
    dt_buf enc = DT_BUF_INIT;
    dl_ikey k = {0, 0, 0, NULL, 0};
    rc = components_key(db, index, c, n, &k, &enc);
    if (rc == DT_OK) rc = dl_cursor_seek(&it->cur, &k, seek ? 0 : k.n, NULL);
    if (rc == DT_NOTFOUND) rc = DT_OK; /* matches nothing: the cursor stays at its end */
    dt_buf_release(&enc);
    if (rc != DT_OK) {
        iter_discard(it);
        return dt__moveerr(NULL, db, rc);
    }
    *out = it;
    return DT_OK;
}

int dt_db_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                 dt_datom_iter **out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "datoms: NULL out");
    *out = NULL;
    return open_components(db, index, components, n, 0, out);
}

int dt_db_seek_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                      dt_datom_iter **out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "seek-datoms: NULL out");
    *out = NULL;
    return open_components(db, index, components, n, 1, out);
}

int dt_db_index_range(dt_db *db, const char *attr, const dt_value *start, const dt_value *end,
                      dt_datom_iter **out) {
    if (out) *out = NULL;
    if (!out || !attr) return dt__seterr(db, DT_MISUSE, "index-range: NULL argument");
    dt_datom_iter *it;
    int rc = iter_new(db, DT_INDEX_AVE, &it);
    if (rc != DT_OK) return rc;
    const dl_attr *a = dl_schema_by_ident(db->schema, attr, strlen(attr));
    dt_buf lo = DT_BUF_INIT, hi = DT_BUF_INIT;
    if (!a) {
        rc = dt__seterr(NULL, DT_INVALID, "index-range: unknown attribute :%s", bare(attr));
        goto done;
    }
    dl_ikey from = {1, 0, a->aid, NULL, 0}, until = {1, 0, a->aid, NULL, 0};
    if (start && start->type != DT_NIL) {
        if ((rc = encode_for_attr(db->st, db->txn, db->view, db->schema, a, start, &lo)) != DT_OK)
            goto done;
        from.n = 2;
        from.v = lo.p;
        from.vlen = lo.len;
    }
    if (end && end->type != DT_NIL) {
        if ((rc = encode_for_attr(db->st, db->txn, db->view, db->schema, a, end, &hi)) != DT_OK)
            goto done;
        until.n = 2;
        until.v = hi.p;
        until.vlen = hi.len;
    }
    /* bounds compare full values (dl_cursor), so long values range exactly */
    rc = dl_cursor_seek(&it->cur, &from, 1, &until);
done:
    dt_buf_release(&lo);
    dt_buf_release(&hi);
    if (rc != DT_OK) {
        iter_discard(it);
        return dt__moveerr(NULL, db, rc);
    }
    *out = it;
    return DT_OK;
}

int dt_datom_iter_next(dt_datom_iter *it, dt_datom *out) {
    if (!it || it->magic != DT_MAGIC_DITER || !out)
        return dt__seterr(it, DT_MISUSE, "datoms: bad iterator");
    dt_value_free(&it->v);
    dl_datom d;
    int rc = dl_cursor_next(&it->cur, &d);
    if (rc != DT_ROW) {
        if (rc != DT_DONE) dt__seterr(it, rc, "datoms: %s", dt_errmsg(NULL));
        return rc;
    }
    const dl_attr *a = dl_schema_by_aid(it->db->schema, d.aid);
    if (!a) return dt__seterr(it, DT_CORRUPT, "datoms: unknown attribute id %u", d.aid);
    dt_kv_bytes full;
    size_t used;
    rc = dl_cursor_value(&it->cur, &full);
    if (rc == DT_OK) rc = dl_codec_decode(full.ptr, full.len, &it->v, &used);
    if (rc == DT_NOTFOUND) rc = dt__seterr(NULL, DT_CORRUPT, "datoms: a stored long value is cut");
    if (rc != DT_OK) return dt__moveerr(NULL, it, rc);
    out->e = d.e;
    out->a = a->ident;
    out->v = it->v;
    out->tx = d.tx;
    out->added = dl_cursor_added(&it->cur);
    return DT_ROW;
}

void dt_datom_iter_close(dt_datom_iter *it) {
    if (!it || it->magic != DT_MAGIC_DITER) return;
    dl_cursor_close(&it->cur);
    dt_value_free(&it->v);
    dt__clearerr(it);
    it->magic = DT_MAGIC_DEAD;
    dt__free(it);
}

int dt_db_count_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                       uint64_t *out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "count-datoms: NULL out");
    *out = 0;
    if (!dl_db_ok(db)) return dt__seterr(db, DT_MISUSE, "count-datoms: not a live snapshot");
    /* whole-attribute counts come from the statistics (of the database
     * itself: a time view counts its datoms) */
    if (!db->view && index == DT_INDEX_AVE && n == 1 && components &&
        components[0].type == DT_KEYWORD) {
        const dl_attr *a =
            dl_schema_by_ident(db->schema, components[0].u.s.ptr, components[0].u.s.len);
        if (!a)
            return dt__seterr(db, DT_INVALID, "count-datoms: unknown attribute :%s",
                              bare(components[0].u.s.ptr));
        dl_attr_stats s;
        int rc = dl_stats_get(db->st, db->txn, a->aid, &s);
        if (rc != DT_OK) return dt__moveerr(NULL, db, rc);
        *out = s.count;
        return DT_OK;
    }
    dt_datom_iter *it;
    int rc = dt_db_datoms(db, index, components, n, &it);
    if (rc != DT_OK) return rc;
    uint64_t count = 0;
    rc = dl_cursor_count(&it->cur, &count);
    dt_datom_iter_close(it);
    if (rc != DT_OK) return dt__seterr(db, rc, "count-datoms: %s", dt_errmsg(NULL));
    *out = count;
    return DT_OK;
}

/* }====== */

/* {====== Statistics ====== */

/* The smallest (last = 0) or largest value of attribute aid, by value. */
static int edge_value(dt_db *db, uint32_t aid, int last, dt_value *out) {
    dl_cursor c;
    int rc = dl_db_cursor_open(&c, db, DL_INDEX_AVE);
    dl_ikey k = {1, 0, aid, NULL, 0};
    dl_datom d;
    if (rc == DT_OK && last) rc = dl_cursor_last(&c, &k, &d);
    if (rc == DT_OK && !last) rc = dl_cursor_seek(&c, &k, 1, NULL);
    if (rc == DT_OK) rc = dl_cursor_next(&c, &d);
    if (rc == DT_ROW) {
        dt_kv_bytes full;
        size_t used;
        rc = dl_cursor_value(&c, &full);
        if (rc == DT_OK) rc = dl_codec_decode(full.ptr, full.len, out, &used);
        if (rc == DT_NOTFOUND)
            rc = dt__seterr(NULL, DT_CORRUPT, "stats: a stored long value is cut");
    } else if (rc == DT_DONE) {
        rc = DT_OK;
    }
    dl_cursor_close(&c);
    return rc;
}

/* The count and distinct values of attribute aid in a time view (its
 * AVE order: equal values are adjacent; a history view counts events). */
static int view_stats(dt_db *db, uint32_t aid, dl_attr_stats *out) {
    memset(out, 0, sizeof *out);
    dl_cursor c;
    dt_buf prev = DT_BUF_INIT;
    int have = 0;
    int rc = dl_db_cursor_open(&c, db, DL_INDEX_AVE);
    dl_ikey k = {1, 0, aid, NULL, 0};
    if (rc == DT_OK) rc = dl_cursor_seek(&c, &k, 1, NULL);
    dl_datom d;
    while (rc == DT_OK && (rc = dl_cursor_next(&c, &d)) == DT_ROW) {
        dt_kv_bytes full;
        if ((rc = dl_cursor_value(&c, &full)) != DT_OK) break;
        out->count++;
        if (!have || prev.len != full.len || memcmp(prev.p, full.ptr, full.len) != 0) {
            out->distinct++;
            prev.len = 0;
            if ((rc = dt_buf_append(&prev, full.ptr, full.len)) != DT_OK) break;
            have = 1;
        }
    }
    dl_cursor_close(&c);
    dt_buf_release(&prev);
    return rc == DT_DONE ? DT_OK : rc;
}

int dt_db_attr_stats(dt_db *db, const char *attr, dt_attr_stats *out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "attr-stats: NULL out");
    memset(out, 0, sizeof *out);
    if (!dl_db_ok(db) || !attr) return dt__seterr(db, DT_MISUSE, "attr-stats: bad arguments");
    const dl_attr *a = dl_schema_by_ident(db->schema, attr, strlen(attr));
    if (!a) return dt__seterr(db, DT_INVALID, "attr-stats: unknown attribute :%s", bare(attr));
    dl_attr_stats s;
    int rc = db->view ? view_stats(db, a->aid, &s) : dl_stats_get(db->st, db->txn, a->aid, &s);
    if (rc == DT_OK) rc = edge_value(db, a->aid, 0, &out->min);
    if (rc == DT_OK) rc = edge_value(db, a->aid, 1, &out->max);
    if (rc != DT_OK) {
        dt_attr_stats_free(out);
        return dt__moveerr(NULL, db, rc);
    }
    out->count = s.count;
    out->distinct = s.distinct;
    return DT_OK;
}

void dt_attr_stats_free(dt_attr_stats *s) {
    if (!s) return;
    dt_value_free(&s->min);
    dt_value_free(&s->max);
    s->count = s->distinct = 0;
}

/* }====== */
