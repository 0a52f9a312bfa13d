/*
 * transact.c -- tx-data to datoms (txn layer): forms and entity maps,
 * tempids and upserts, lookup refs, cardinality, uniqueness, :db/cas,
 * retractEntity, the transaction entity, and the report.
 *
 * A transaction runs in three phases inside one LMDB write transaction:
 *  1. expand: every form becomes simple ops (add, retract, retract
 *     attribute, retract entity, cas) on entity references that may be
 *     tempids; implicit attributes are created.  A list form's keyword is
 *     looked up in the table of built-in operations (BUILTIN_OPS), then
 *     among the connection's transaction functions (txfn.h), whose tx-data
 *     the transaction owns (produced_adopt) and expands one level deeper,
 *     up to DT_TX_MAX_DEPTH levels;
 *  2. resolve: tempids upsert through :db.unique/identity values (two
 *     tempids asserting the same new unique value become one entity), the
 *     rest get new ids in order of first appearance;
 *  3. apply: ops run in order against the transaction's own state, so
 *     lookup refs see earlier writes of the same transaction.
 * Any error aborts the LMDB transaction: nothing is written.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "coerce.h"
#include "conn.h"
#include "edn.h"
#include "eid.h"
#include "host.h"
#include "txfn.h"
#include "udf.h"

/* {====== Byte-keyed hash map ====== */

typedef struct bmap_slot {
    size_t off, len; /* key bytes in keys */
    uint64_t hash;
    size_t val;
    int used;
} bmap_slot;

typedef struct bmap {
    bmap_slot *slots;
    size_t nslots, count;
    dt_buf keys;
} bmap;

static uint64_t bhash(const uint8_t *p, size_t n) { return dl_codec_hash(p, n); }

static int bmap_grow(bmap *m) {
    size_t n = m->nslots ? m->nslots * 2 : 16;
    bmap_slot *s = dt__calloc(n, sizeof *s);
    if (!s) return DT_NOMEM;
    for (size_t i = 0; i < m->nslots; i++) {
        if (!m->slots[i].used) continue;
        size_t j = m->slots[i].hash & (n - 1);
        while (s[j].used) j = (j + 1) & (n - 1);
        s[j] = m->slots[i];
    }
    dt__free(m->slots);
    m->slots = s;
    m->nslots = n;
    return DT_OK;
}

/* Finds key; returns the slot or NULL. */
static bmap_slot *bmap_find(bmap *m, const uint8_t *k, size_t n) {
    if (!m->nslots) return NULL;
    uint64_t h = bhash(k, n);
    size_t j = h & (m->nslots - 1);
    while (m->slots[j].used) {
        bmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == n && memcmp(m->keys.p + s->off, k, n) == 0) return s;
        j = (j + 1) & (m->nslots - 1);
    }
    return NULL;
}

static int bmap_put(bmap *m, const uint8_t *k, size_t n, size_t val) {
    if ((m->count + 1) * 2 > m->nslots && bmap_grow(m) != DT_OK) return DT_NOMEM;
    uint64_t h = bhash(k, n);
    size_t j = h & (m->nslots - 1);
    while (m->slots[j].used) j = (j + 1) & (m->nslots - 1);
    size_t off = m->keys.len;
    if (dt_buf_append(&m->keys, k, n) != DT_OK) return DT_NOMEM;
    m->slots[j] = (bmap_slot){off, n, h, val, 1};
    m->count++;
    return DT_OK;
}

static void bmap_release(bmap *m) {
    dt__free(m->slots);
    dt_buf_release(&m->keys);
    memset(m, 0, sizeof *m);
}

/* }====== */

/* {====== Transaction state ====== */

typedef enum { ER_NONE, ER_ID, ER_TEMPID, ER_LOOKUP, ER_TX } er_kind;

/* 16 bytes: a transaction keeps one op, with three of these, per datom */
typedef struct eref {
    er_kind kind;
    union {
        int64_t id;          /* ER_ID */
        size_t tempid;       /* ER_TEMPID */
        const dt_value *src; /* ER_LOOKUP: ident keyword or lookup ref */
    };
} eref;

typedef enum { OP_ADD, OP_RETRACT, OP_RETRACT_ATTR, OP_RETRACT_ENTITY, OP_CAS } op_kind;

typedef struct op {
    op_kind kind;
    uint32_t aid;
    eref e;
    eref vref;           /* ref attributes: the value as a reference */
    eref oldref;         /* cas of a ref attribute: the expected value */
    const dt_value *v;   /* add/retract/cas: the (new) value */
    const dt_value *old; /* cas: expected value (nil: absent) */
    size_t form;
} op;

typedef struct tempid_t {
    const dt_value *key; /* as written; NULL for generated ones */
    size_t parent;       /* union-find; the root is the earliest */
    int64_t eid;         /* roots: resolved id, 0 until known */
    int fresh;           /* roots: eid is a new id given by flush_ops */
} tempid_t;

/*
 * What a transaction grows as it runs: its ops, tempids, encoding
 * buffers and the write context (with its keys, change list and
 * statistics deltas).  A transaction context embeds one; between
 * transactions the connection keeps it (scratch_lend / scratch_keep), so
 * a small transaction allocates next to nothing.  scratch_release frees
 * it wherever it is.
 */
struct txn_scratch {
    op *ops;
    size_t nops, capops;
    tempid_t *tids;
    size_t ntids, captids;
    bmap tid_index; /* tempid key bytes -> index */
    /* e | aid of the values added to entities this transaction created:
     * an absent pair has no value yet, without a look-up (do_add) */
    bmap fresh_pairs;
    dt_buf cur; /* current values (do_add) */
    dt_buf enc, enc2, kb;
    dl_wtxn w;
};

/* Tempids carried from one transaction to the next (dt_import_edn). */
struct txn_carry {
    bmap ids; /* tempid key bytes -> entity id */
};

typedef struct tctx {
    dt_conn *conn;
    txn_carry *carry; /* NULL, or tempids of earlier batches */
    txn_batch *batch; /* NULL, or the group-commit batch txn is the root of */
    size_t form_base; /* number of the first form, for messages */
    dt_kv_txn *txn;
    dl_schema *ws; /* working schema (one reference) */
    int ws_changed;
    int64_t tx;
    uint64_t next_eid, t;
    /* ops, tempids, buffers and the write context: kept by the
     * connection for the next transaction (scratch_lend) */
    txn_scratch s;
    size_t form; /* current top-level form */
    const dt_value *forms;
    int explicit_instant;
    int eav_open;        /* eav_cur (last) is open */
    size_t depth;        /* current nesting of forms and entity maps */
    dt_value **produced; /* tx-data produced during the transaction */
    size_t nproduced, capproduced;
    txn_eidgap gap;    /* tempid ids once next_eid reached the top (eid.h) */
    size_t applied;    /* ops[0..applied) are written (flush_ops) */
    uint64_t fn_steps; /* instruction budget used by its function calls */
    /* last: opened on first use (eav_open); not zeroed with the rest, as
     * it is large (tctx_zero) */
    dl_cursor eav_cur;
} tctx;

/* Zeroes c but for eav_cur, a few kilobytes most transactions never use. */
static void tctx_zero(tctx *c) { memset(c, 0, offsetof(tctx, eav_cur)); }

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "transact: out of memory"); }

static int add_op(tctx *c, const op *o) {
    if (c->s.nops == c->s.capops) {
        size_t cap = c->s.capops ? c->s.capops * 2 : 64;
        op *p = dt__realloc(c->s.ops, cap * sizeof *p);
        if (!p) return nomem();
        c->s.ops = p;
        c->s.capops = cap;
    }
    c->s.ops[c->s.nops] = *o;
    c->s.ops[c->s.nops].form = c->form;
    c->s.nops++;
    return DT_OK;
}

/*
 * produced_adopt: the transaction takes over tx-data made while it runs
 * (what a transaction function returns).  *v is moved to the heap and set
 * to nil; *out points at the adopted value, which stays valid (and at the
 * same address) until the transaction ends: ops, tempids and the report
 * may point into it.  ctx_release frees it.  On DT_NOMEM *v is freed.
 */
static int produced_adopt(tctx *c, dt_value *v, const dt_value **out) {
    if (c->nproduced == c->capproduced) {
        size_t cap = c->capproduced ? c->capproduced * 2 : 8;
        dt_value **p = dt__realloc(c->produced, cap * sizeof *p);
        if (!p) {
            dt_value_free(v);
            return nomem();
        }
        c->produced = p;
        c->capproduced = cap;
    }
    dt_value *heap = dt__malloc(sizeof *heap);
    if (!heap) {
        dt_value_free(v);
        return nomem();
    }
    *heap = *v;
    dt_value_nil(v);
    c->produced[c->nproduced++] = heap;
    *out = heap;
    return DT_OK;
}

/* }====== */

/* {====== Group-commit batches ====== */

void txn_batch_reset(txn_batch *b) {
    b->have = 0;
    if (b->dirty) memset(b->deltas, 0, b->ndeltas * sizeof *b->deltas);
    b->dirty = 0;
}

void txn_batch_free(txn_batch *b) {
    dt__free(b->deltas);
    memset(b, 0, sizeof *b);
}

int txn_batch_write(txn_batch *b, dt_conn *conn, dt_kv_txn *txn) {
    int rc = DT_OK;
    if (b->have) {
        rc = dl_meta_put_u64(&conn->st, txn, "next_eid", b->next_eid);
        if (rc == DT_OK) rc = dl_meta_put_u64(&conn->st, txn, "next_t", b->t);
    }
    kv_cursor *sc = NULL;
    for (size_t aid = 0; b->dirty && aid < b->ndeltas && rc == DT_OK; aid++) {
        dl_stat_delta *d = &b->deltas[aid];
        if (d->count || d->distinct)
            rc = dl_stats_add_cur(&conn->st, txn, &sc, (uint32_t)aid, d->count, d->distinct);
    }
    kv_cursor_close(sc);
    if (rc == DT_OK) txn_batch_reset(b);
    return rc;
}

/* Moves the statistics deltas of w to the batch (w's become zero, so
 * dl_wtxn_finish writes only the tx-log). */
static int batch_take_deltas(txn_batch *b, dl_wtxn *w) {
    if (w->ndeltas > b->ndeltas) {
        dl_stat_delta *d = dt__realloc(b->deltas, w->ndeltas * sizeof *d);
        if (!d) return nomem();
        memset(d + b->ndeltas, 0, (w->ndeltas - b->ndeltas) * sizeof *d);
        b->deltas = d;
        b->ndeltas = w->ndeltas;
    }
    for (size_t aid = 0; aid < w->ndeltas; aid++) {
        dl_stat_delta *d = &w->deltas[aid];
        if (!d->count && !d->distinct) continue;
        b->deltas[aid].count += d->count;
        b->deltas[aid].distinct += d->distinct;
        d->count = d->distinct = 0;
        b->dirty = 1;
    }
    return DT_OK;
}

/* Writes what the batch holds before a transaction function reads the
 * database in the middle of the transaction: it sees the counters and
 * statistics of the transactions before this one. */
static int batch_flush(tctx *c) {
    /* the batch's counters are those before this transaction, whose own
     * go to the batch when it ends */
    return c->batch ? txn_batch_write(c->batch, c->conn, c->txn) : DT_OK;
}

/* }====== */

/* {====== Tempids ====== */

static size_t tid_root(tctx *c, size_t i) {
    while (c->s.tids[i].parent != i) {
        c->s.tids[i].parent = c->s.tids[c->s.tids[i].parent].parent;
        i = c->s.tids[i].parent;
    }
    return i;
}

static int new_tempid(tctx *c, const dt_value *key, size_t *out) {
    if (c->s.ntids == c->s.captids) {
        size_t cap = c->s.captids ? c->s.captids * 2 : 64;
        tempid_t *p = dt__realloc(c->s.tids, cap * sizeof *p);
        if (!p) return nomem();
        c->s.tids = p;
        c->s.captids = cap;
    }
    size_t i = c->s.ntids++;
    c->s.tids[i] = (tempid_t){key, i, 0, 0};
    *out = i;
    return DT_OK;
}

/* The key bytes of a written tempid: a type byte and the payload. */
static int tempid_keybytes(const dt_value *v, dt_buf *b) {
    b->len = 0;
    if (v->type == DT_STRING) {
        if (dt_buf_putc(b, 's') != DT_OK) return DT_NOMEM;
        return dt_buf_append(b, v->u.s.ptr, v->u.s.len);
    }
    if (dt_buf_putc(b, 'l') != DT_OK) return DT_NOMEM;
    return dt_buf_append(b, &v->u.i, sizeof v->u.i);
}

static int named_tempid(tctx *c, const dt_value *key, size_t *out) {
    if (tempid_keybytes(key, &c->s.kb) != DT_OK) return nomem();
    bmap_slot *s = bmap_find(&c->s.tid_index, c->s.kb.p, c->s.kb.len);
    if (s) {
        *out = s->val;
        return DT_OK;
    }
    int rc = new_tempid(c, key, out);
    if (rc != DT_OK) return rc;
    if (bmap_put(&c->s.tid_index, c->s.kb.p, c->s.kb.len, *out) != DT_OK) return nomem();
    if (c->carry && (s = bmap_find(&c->carry->ids, c->s.kb.p, c->s.kb.len)))
        c->s.tids[*out].eid = (int64_t)s->val; /* named in an earlier batch */
    return DT_OK;
}

/* Merges two tempids into one entity (the earlier becomes the root). */
static int tid_union(tctx *c, size_t a, size_t b, int *changed) {
    a = tid_root(c, a);
    b = tid_root(c, b);
    if (a == b) return DT_OK;
    if (c->s.tids[a].eid && c->s.tids[b].eid && c->s.tids[a].eid != c->s.tids[b].eid)
        return dt__seterr(NULL, DT_CONFLICT,
                          "conflicting upserts: one entity would be both %lld and %lld",
                          (long long)c->s.tids[a].eid, (long long)c->s.tids[b].eid);
    size_t root = a < b ? a : b, child = a < b ? b : a;
    if (!c->s.tids[root].eid) c->s.tids[root].eid = c->s.tids[child].eid;
    c->s.tids[child].parent = root;
    *changed = 1;
    return DT_OK;
}

/* }====== */

/* {====== Expansion ====== */

static int is_tx_marker(const dt_value *v) {
    return dl_is_kw(v, "db/current-tx") ||
           (v->type == DT_STRING && v->u.s.len == 10 && !memcmp(v->u.s.ptr, "datomic.tx", 10));
}

/* Parses an entity reference as written in :db/id, e position or value. */
static int parse_eref(tctx *c, const dt_value *v, eref *out) {
    memset(out, 0, sizeof *out);
    if (is_tx_marker(v)) {
        out->kind = ER_TX;
        return DT_OK;
    }
    switch (v->type) {
    case DT_LONG:
    case DT_REF:
        if (v->u.i < 0) {
            out->kind = ER_TEMPID;
            return named_tempid(c, v, &out->tempid);
        }
        if (v->u.i == 0) return dt__seterr(NULL, DT_INVALID, "entity id 0 is not valid");
        out->kind = ER_ID;
        out->id = v->u.i;
        return DT_OK;
    case DT_STRING:
        out->kind = ER_TEMPID;
        return named_tempid(c, v, &out->tempid);
    case DT_KEYWORD:
        out->kind = ER_LOOKUP;
        out->src = v;
        return DT_OK;
    case DT_VECTOR:
    case DT_LIST:
        if (v->u.seq.n == 2 && v->u.seq.items[0].type == DT_KEYWORD) {
            out->kind = ER_LOOKUP;
            out->src = v;
            return DT_OK;
        }
        break;
    default:
        break;
    }
    char buf[96];
    dl_show(v, buf, sizeof buf);
    return dt__seterr(NULL, DT_INVALID,
                      "expected an entity id, tempid, ident or lookup ref, got %s", buf);
}

/* The attribute named by keyword text, created when undeclared. */
static int get_attr(tctx *c, const char *name, size_t n, const dl_attr **out) {
    int changed = c->ws_changed;
    int rc = txn_attr_get(c->conn, c->txn, &c->ws, &changed, name, n, out);
    c->ws_changed = changed;
    return rc;
}

/* Resolves the attribute of a form (keyword), with reverse (:a/_b) support. */
static int form_attr(tctx *c, const dt_value *k, int allow_reverse, const dl_attr **out,
                     int *reverse) {
    *reverse = 0;
    if (k->type != DT_KEYWORD) {
        char buf[96];
        dl_show(k, buf, sizeof buf);
        return dt__seterr(NULL, DT_INVALID, "expected an attribute keyword, got %s", buf);
    }
    const char *s = k->u.s.ptr;
    size_t n = k->u.s.len;
    const char *slash = memchr(s, '/', n);
    const char *name = slash ? slash + 1 : s;
    if (allow_reverse && name < s + n && *name == '_') {
        char tmp[512];
        if (n >= sizeof tmp) return dt__seterr(NULL, DT_INVALID, "attribute name too long");
        size_t pre = (size_t)(name - s);
        memcpy(tmp, s, pre);
        memcpy(tmp + pre, name + 1, n - pre - 1);
        const dl_attr *a = dl_schema_by_ident(c->ws, tmp, n - 1);
        if (!a || a->vtype != DT_REF)
            return dt__seterr(NULL, DT_INVALID,
                              "reverse attribute :%s needs :%.*s to be declared "
                              ":db.type/ref",
                              s, (int)(n - 1), tmp);
        *reverse = 1;
        *out = a;
        return DT_OK;
    }
    return get_attr(c, s, n, out);
}

static int is_coll(const dt_value *v) {
    return v->type == DT_VECTOR || v->type == DT_LIST || v->type == DT_SET;
}

static int is_lookup_ref(const dt_value *v) {
    return (v->type == DT_VECTOR || v->type == DT_LIST) && v->u.seq.n == 2 &&
           v->u.seq.items[0].type == DT_KEYWORD;
}

/* Enters one more level of tx-data nesting (a form, a nested entity map);
 * DT_LIMIT past DT_TX_MAX_DEPTH.  Leave with c->depth--. */
static int deeper(tctx *c) {
    if (c->depth >= DT_TX_MAX_DEPTH)
        return dt__seterr(NULL, DT_LIMIT,
                          "tx-data nests deeper than %d levels (nested entity maps and forms "
                          "returned by transaction functions each add one)",
                          DT_TX_MAX_DEPTH);
    c->depth++;
    return DT_OK;
}

static int expand_map(tctx *c, const dt_value *m, eref *self);

/* Adds the op for one value of attribute a on entity self. */
static int add_value(tctx *c, eref *self, const dl_attr *a, int reverse, const dt_value *v) {
    op o;
    memset(&o, 0, sizeof o);
    o.kind = OP_ADD;
    o.aid = a->aid;
    int rc;
    if (reverse) {
        if ((rc = parse_eref(c, v, &o.e)) != DT_OK) return rc;
        o.vref = *self;
        return add_op(c, &o);
    }
    o.e = *self;
    if (a->vtype == DT_REF) {
        if (v->type == DT_MAP) {
            if ((rc = deeper(c)) != DT_OK) return rc;
            rc = expand_map(c, v, &o.vref);
            c->depth--;
            if (rc != DT_OK) return rc;
        } else if ((rc = parse_eref(c, v, &o.vref)) != DT_OK) {
            return rc;
        }
    } else if (v->type == DT_MAP) {
        return dt__seterr(NULL, DT_INVALID,
                          "a nested map needs a :db.type/ref attribute, but :%s is not one",
                          a->ident);
    }
    o.v = v;
    return add_op(c, &o);
}

/* A map that defines or alters an attribute: :db/ident with a schema
 * property that is no stored attribute (:db/noHistory alone alters an
 * existing attribute, as {:db/ident :a :db/noHistory true}). */
static int is_schema_map(const dt_value *m) {
    return dl_map_get_kw(m, "db/ident") &&
           (dl_map_get_kw(m, "db/valueType") || dl_map_get_kw(m, "db/cardinality") ||
            dl_map_get_kw(m, "db/unique") || dl_map_get_kw(m, "db/tupleAttrs") ||
            dl_map_get_kw(m, "db/noHistory"));
}

/* Installs an attribute given as an entity map {:db/ident :a :db/valueType ...}. */
static int install_attribute(tctx *c, const dt_value *m) {
    const dt_value *ident = dl_map_get_kw(m, "db/ident");
    if (ident->type != DT_KEYWORD)
        return dt__seterr(NULL, DT_SCHEMA, "an attribute's :db/ident must be a keyword");
    dt_value sm;
    int rc = dt_value_seq(DT_MAP, 2, &sm);
    if (rc != DT_OK) return nomem();
    /* borrow the pieces; nil them before clearing */
    sm.u.seq.items[0] = *ident;
    sm.u.seq.items[1] = *m;
    int changed = c->ws_changed;
    rc = txn_schema_apply(c->conn, c->txn, &c->ws, &sm, &changed);
    c->ws_changed = changed;
    dt_value_nil(&sm.u.seq.items[0]);
    dt_value_nil(&sm.u.seq.items[1]);
    dt_value_free(&sm);
    return rc;
}

static int expand_map(tctx *c, const dt_value *m, eref *self) {
    const dt_value *id = dl_map_get_kw(m, "db/id");
    int rc;
    if (id) {
        if ((rc = parse_eref(c, id, self)) != DT_OK) return rc;
    } else {
        memset(self, 0, sizeof *self);
        self->kind = ER_TEMPID;
        if ((rc = new_tempid(c, NULL, &self->tempid)) != DT_OK) return rc;
    }
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2) {
        const dt_value *k = &m->u.seq.items[i], *v = &m->u.seq.items[i + 1];
        if (dl_is_kw(k, "db/id")) continue;
        const dl_attr *a;
        int reverse;
        if ((rc = form_attr(c, k, 1, &a, &reverse)) != DT_OK) return rc;
        if (a->aid == DL_AID_TXINSTANT) c->explicit_instant = 1;
        int many = a->many || reverse;
        if (is_coll(v) && many && !(a->vtype == DT_REF && is_lookup_ref(v))) {
            for (size_t j = 0; j < v->u.seq.n; j++)
                if ((rc = add_value(c, self, a, reverse, &v->u.seq.items[j])) != DT_OK) return rc;
        } else {
            if ((rc = add_value(c, self, a, reverse, v)) != DT_OK) return rc;
        }
    }
    return DT_OK;
}

/*
 * Built-in operations, one expander each.  An expander gets the whole
 * list form f ([:db/add e a v], ...), whose first item is its keyword,
 * and adds ops (add_op) or fails with a message.
 */
typedef int (*op_expander)(tctx *c, const dt_value *f);

static int expand_add_retract(tctx *c, const dt_value *f, int add) {
    const dt_value *it = f->u.seq.items;
    size_t n = f->u.seq.n;
    const char *fn = it[0].u.s.ptr;
    op o;
    memset(&o, 0, sizeof o);
    int rc, reverse;
    const dl_attr *a = NULL;
    if (n != 4 && !(n == 3 && !add))
        return dt__seterr(NULL, DT_INVALID, "[:%s ...] takes %s, got %zu arguments", fn,
                          add ? "e a v" : "e a [v]", n - 1);
    if ((rc = parse_eref(c, &it[1], &o.e)) != DT_OK) return rc;
    if ((rc = form_attr(c, &it[2], 0, &a, &reverse)) != DT_OK) return rc;
    if (a->aid == DL_AID_TXINSTANT && add) c->explicit_instant = 1;
    o.aid = a->aid;
    if (n == 3) {
        o.kind = OP_RETRACT_ATTR;
        return add_op(c, &o);
    }
    o.kind = add ? OP_ADD : OP_RETRACT;
    o.v = &it[3];
    if (a->vtype == DT_REF && (rc = parse_eref(c, &it[3], &o.vref)) != DT_OK) return rc;
    return add_op(c, &o);
}

static int expand_add(tctx *c, const dt_value *f) { return expand_add_retract(c, f, 1); }

static int expand_retract(tctx *c, const dt_value *f) { return expand_add_retract(c, f, 0); }

static int expand_retract_entity(tctx *c, const dt_value *f) {
    const dt_value *it = f->u.seq.items;
    size_t n = f->u.seq.n;
    op o;
    memset(&o, 0, sizeof o);
    if (n != 2)
        return dt__seterr(NULL, DT_INVALID, "[:%s e] takes 1 argument, got %zu", it[0].u.s.ptr,
                          n - 1);
    o.kind = OP_RETRACT_ENTITY;
    int rc = parse_eref(c, &it[1], &o.e);
    if (rc != DT_OK) return rc;
    return add_op(c, &o);
}

static int expand_retract_attribute(tctx *c, const dt_value *f) {
    const dt_value *it = f->u.seq.items;
    op o;
    memset(&o, 0, sizeof o);
    int rc, reverse;
    const dl_attr *a = NULL;
    if (f->u.seq.n != 3)
        return dt__seterr(NULL, DT_INVALID, "[:%s e a] takes 2 arguments", it[0].u.s.ptr);
    o.kind = OP_RETRACT_ATTR;
    if ((rc = parse_eref(c, &it[1], &o.e)) != DT_OK) return rc;
    if ((rc = form_attr(c, &it[2], 0, &a, &reverse)) != DT_OK) return rc;
    o.aid = a->aid;
    return add_op(c, &o);
}

static int expand_cas(tctx *c, const dt_value *f) {
    const dt_value *it = f->u.seq.items;
    size_t n = f->u.seq.n;
    op o;
    memset(&o, 0, sizeof o);
    int rc, reverse;
    const dl_attr *a = NULL;
    if (n != 5)
        return dt__seterr(NULL, DT_INVALID, "[:%s e a old new] takes 4 arguments, got %zu",
                          it[0].u.s.ptr, n - 1);
    o.kind = OP_CAS;
    if ((rc = parse_eref(c, &it[1], &o.e)) != DT_OK) return rc;
    if ((rc = form_attr(c, &it[2], 0, &a, &reverse)) != DT_OK) return rc;
    if (a->many)
        return dt__seterr(NULL, DT_INVALID,
                          ":db/cas needs a cardinality-one attribute; :%s is many", a->ident);
    o.aid = a->aid;
    o.old = &it[3];
    o.v = &it[4];
    if (a->vtype == DT_REF) {
        if (it[3].type != DT_NIL && (rc = parse_eref(c, &it[3], &o.oldref)) != DT_OK) return rc;
        if ((rc = parse_eref(c, &it[4], &o.vref)) != DT_OK) return rc;
    }
    return add_op(c, &o);
}

/* The built-in operations by keyword.  A list form's keyword is looked up
 * here first, then among the connection's transaction functions. */
static const struct builtin_op {
    const char *ident; /* keyword text */
    op_expander expand;
} BUILTIN_OPS[] = {
    {"db/add", expand_add},
    {"db/retract", expand_retract},
    {"db/retractEntity", expand_retract_entity},
    {"db.fn/retractEntity", expand_retract_entity},
    {"db.fn/retractAttribute", expand_retract_attribute},
    {"db/cas", expand_cas},
    {"db.fn/cas", expand_cas},
};

static op_expander builtin_op(const dt_value *kw) {
    for (size_t i = 0; i < sizeof BUILTIN_OPS / sizeof BUILTIN_OPS[0]; i++)
        if (dl_is_kw(kw, BUILTIN_OPS[i].ident)) return BUILTIN_OPS[i].expand;
    return NULL;
}

static int expand_form(tctx *c, const dt_value *f);

static int resolve_upserts(tctx *c, size_t from);
static int allocate_ids(tctx *c);
static int apply_op(tctx *c, const op *o);

/*
 * flush_ops: writes the ops expanded so far (tempids resolved and given
 * ids as at the end of the transaction), so that a transaction function
 * called next sees the earlier forms of its transaction.  A tempid that
 * got its entity here keeps it: a later form cannot make it upsert into
 * another one (that is a conflict).
 */
static int flush_ops(tctx *c) {
    if (c->applied == c->s.nops) return DT_OK;
    size_t form = c->form;
    int rc = resolve_upserts(c, c->applied);
    if (rc == DT_OK) rc = allocate_ids(c);
    for (size_t i = c->applied; i < c->s.nops && rc == DT_OK; i++) {
        c->form = c->s.ops[i].form;
        rc = apply_op(c, &c->s.ops[i]);
    }
    if (rc != DT_OK) return rc;
    c->applied = c->s.nops;
    c->form = form;
    return DT_OK;
}

/* Takes over the tx-data `out` a function named `name` returned and
 * expands its forms one level deeper. */
static int expand_returned(tctx *c, const char *name, dt_value *out) {
    const dt_value *forms = NULL;
    int rc = produced_adopt(c, out, &forms);
    if (rc != DT_OK) return rc;
    if (forms->type != DT_VECTOR && forms->type != DT_LIST) {
        char buf[96];
        dl_show(forms, buf, sizeof buf);
        return dt__seterr(NULL, DT_INVALID,
                          ":%s must return tx-data (a vector or list of forms), returned %s", name,
                          buf);
    }
    for (size_t i = 0; i < forms->u.seq.n; i++) {
        if ((rc = expand_form(c, &forms->u.seq.items[i])) != DT_OK) {
            char inner[DT__ERRMSG_MAX];
            snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
            /* named by the innermost call; the nesting limit speaks for itself */
            if (!strncmp(inner, "in what :", 9) || !strncmp(inner, "tx-data nests deeper", 20))
                return rc;
            return dt__seterr(NULL, rc, "in what :%s returned: %s", name, inner);
        }
    }
    return DT_OK;
}

/*
 * Runs the transaction function fn on args[0..nargs) and expands the
 * tx-data it returns one level deeper.  The transaction owns that tx-data
 * from then on (produced_adopt).
 */
static int call_fn(tctx *c, const txn_fn_entry *fn, const dt_value *args, size_t nargs) {
    dt_value out = DT_VALUE_NIL;
    dt_db *db = NULL;
    int rc = flush_ops(c);
    if (rc == DT_OK) rc = batch_flush(c);
    if (rc != DT_OK) return rc;
    if ((rc = dl_db_new(&c->conn->st, c->txn, 0, c->ws, NULL, &db)) != DT_OK) return rc;
    dq_db_set_host(db, udf_query_host(c->conn->udf));
    rc = fn->fn(db, args, nargs, fn->userdata, &out);
    dt_db_close(db);
    if (rc != DT_OK) {
        dt_value_free(&out);
        char inner[DT__ERRMSG_MAX];
        snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
        return dt__seterr(NULL, rc, ":%s failed: %s", fn->ident, inner);
    }
    return expand_returned(c, fn->ident, &out);
}

/* Calls a stored, registered or described function (udf.h); DT_NOTFOUND
 * without a message when `head` names none. */
static int call_udf(tctx *c, const dt_value *head, const dt_value *args, size_t nargs) {
    if (!c->conn->udf) return DT_NOTFOUND;
    dt_value out = DT_VALUE_NIL;
    dt_db *db = NULL;
    int rc = flush_ops(c);
    if (rc == DT_OK) rc = batch_flush(c);
    if (rc != DT_OK) return rc;
    if ((rc = dl_db_new(&c->conn->st, c->txn, 0, c->ws, NULL, &db)) != DT_OK) return rc;
    dq_db_set_host(db, udf_query_host(c->conn->udf));
    rc = udf_call(c->conn->udf, db, head, args, nargs, &c->fn_steps, &out);
    dt_db_close(db);
    if (rc != DT_OK) {
        dt_value_free(&out);
        return rc;
    }
    char name[128];
    if (head->type == DT_KEYWORD)
        snprintf(name, sizeof name, "%s",
                 head->u.s.ptr[0] == ':' ? head->u.s.ptr + 1 : head->u.s.ptr);
    else
        snprintf(name, sizeof name, "db.fn/call");
    return expand_returned(c, name, &out);
}

static int expand_list(tctx *c, const dt_value *f) {
    const dt_value *k = &f->u.seq.items[0];
    op_expander builtin = builtin_op(k);
    if (builtin) return builtin(c, f);
    const dt_value *head = k, *args = f->u.seq.items + 1;
    size_t nargs = f->u.seq.n - 1;
    int call = dl_is_kw(k, "db.fn/call");
    if (call) {
        if (nargs < 1 || !udf_is_fn_head(args))
            return dt__seterr(NULL, DT_INVALID,
                              "[:db.fn/call f args...] needs a function ident or a descriptor map "
                              "as f");
        head = args++;
        nargs--;
    }
    if (head->type == DT_KEYWORD) {
        const txn_fn_entry *fn = txn_fn_find(c->conn, head->u.s.ptr, head->u.s.len);
        if (fn) return call_fn(c, fn, args, nargs);
    }
    int rc = call_udf(c, head, args, nargs);
    if (rc != DT_NOTFOUND) return rc;
    if (call)
        return dt__seterr(NULL, DT_INVALID,
                          "[:db.fn/call %s ...]: no transaction function of that name (neither "
                          "registered nor installed with :db/fn or :db/udf)",
                          head->u.s.ptr);
    return dt__seterr(NULL, DT_INVALID,
                      "unknown operation :%s (expected :db/add, :db/retract, :db/retractEntity, "
                      ":db/cas or a transaction function)",
                      k->u.s.ptr);
}

static int expand_form(tctx *c, const dt_value *f) {
    int rc = deeper(c);
    if (rc != DT_OK) return rc;
    if (f->type == DT_MAP) {
        eref self;
        rc = is_schema_map(f) ? install_attribute(c, f) : expand_map(c, f, &self);
    } else if ((f->type == DT_VECTOR || f->type == DT_LIST) && f->u.seq.n >= 1 &&
               f->u.seq.items[0].type == DT_KEYWORD) {
        rc = expand_list(c, f);
    } else {
        char buf[96];
        dl_show(f, buf, sizeof buf);
        rc = dt__seterr(NULL, DT_INVALID,
                        "expected an entity map or a list form like [:db/add e a v], got %s", buf);
    }
    c->depth--;
    return rc;
}

/* }====== */

/* {====== Values ====== */

/* The id an entity reference denotes now (tempids must be resolved). */
static int eref_id(tctx *c, const eref *r, int64_t *out) {
    switch (r->kind) {
    case ER_ID:
        *out = r->id;
        return DT_OK;
    case ER_TX:
        *out = c->tx;
        return DT_OK;
    case ER_TEMPID:
        *out = c->s.tids[tid_root(c, r->tempid)].eid;
        return *out ? DT_OK : DT_NOTFOUND;
    case ER_LOOKUP:
        return dl_resolve_eref(&c->conn->st, c->txn, c->ws, r->src, out);
    default:
        return dt__seterr(NULL, DT_INTERNAL, "transact: empty entity reference");
    }
}

/* A ref value that names no possible entity. */
static int bad_ref(const dl_attr *a, int64_t id, int64_t tx) {
    return dt__seterr(NULL, DT_INVALID,
                      "attribute :%s: ref value %lld is not an entity id (1..%lld, or a "
                      "transaction id %lld..%lld)",
                      a->ident, (long long)id, (long long)DL_MAX_EID, (long long)DL_TX0 + 1,
                      (long long)tx);
}

/*
 * encode_value: the full encoding of op value v for attribute a into out
 * (reset first), with the checks and conversions of the attribute's type.
 * `ref` is the reference form for ref attributes.
 */
static int encode_value(tctx *c, const dl_attr *a, const dt_value *v, const eref *ref,
                        dt_buf *out) {
    out->len = 0;
    if (a->vtype == DT_REF) {
        int64_t id;
        int rc = eref_id(c, ref, &id);
        if (rc == DT_NOTFOUND && ref->kind == ER_TEMPID)
            return dt__seterr(NULL, DT_INTERNAL, "transact: unresolved tempid");
        if (rc != DT_OK) return rc;
        /* a transaction id: this one or an earlier one */
        if (!dl_ref_ok(id) || (id > DL_MAX_EID && id > c->tx)) return bad_ref(a, id, c->tx);
        if (dt_buf_reserve(out, 9) != DT_OK) return nomem();
        out->len = dl_codec_put_int(DT_REF, id, out->p);
        return DT_OK;
    }
    return dl_coerce(a, v, out);
}

/* }====== */

/* {====== Resolution ====== */

/*
 * upsert_one: resolves the tempid of op o ([tempid a v], a unique
 * identity) through its value, which is known (encoded in c->s.enc): the
 * entity holding v already becomes the tempid's entity (DT_CONFLICT if it
 * has another one); a value nobody holds yet is recorded in `pending`, and
 * tempids asserting the same new value become one entity.
 */
static int upsert_one(tctx *c, const op *o, const dl_attr *a, bmap *pending) {
    size_t root = tid_root(c, o->e.tempid);
    int64_t existing = 0;
    int found = 0, changed = 0;
    int rc =
        dl_find_entity(&c->conn->st, c->txn, a->aid, c->s.enc.p, c->s.enc.len, &existing, &found);
    if (rc != DT_OK) return rc;
    if (found) {
        if (!c->s.tids[root].eid) {
            c->s.tids[root].eid = existing;
        } else if (c->s.tids[root].eid != existing) {
            char buf[96];
            dl_show(o->v, buf, sizeof buf);
            return dt__seterr(NULL, DT_CONFLICT,
                              "conflicting upserts: :%s %s is entity %lld, but the tempid "
                              "already resolved to %lld",
                              a->ident, buf, (long long)existing, (long long)c->s.tids[root].eid);
        }
        return DT_OK;
    }
    dt_buf *k = &c->s.kb;
    k->len = 0;
    uint8_t a4[4];
    dl_put_u32(a4, a->aid);
    if (dt_buf_append(k, a4, 4) != DT_OK || dt_buf_append(k, c->s.enc.p, c->s.enc.len) != DT_OK)
        return nomem();
    bmap_slot *slot = bmap_find(pending, k->p, k->len);
    if (slot) return tid_union(c, slot->val, root, &changed);
    return bmap_put(pending, k->p, k->len, root) != DT_OK ? nomem() : DT_OK;
}

/*
 * resolve_upserts: gives tempids their entities through :db.unique/identity
 * values, to a fixpoint.
 *
 * Every op [tempid a v] with a unique identity attribute a is handled once
 * by upsert_one, as soon as its value is known: at once, unless v is a
 * reference to a tempid whose entity is not known yet; such ops wait in
 * `waiting` and are handled in later passes over that list, once their
 * value's tempid got its entity (through an upsert handled meanwhile).
 *
 * Why once is enough: resolution reads the database but never writes it,
 * so whether an existing entity holds a known value never changes; and
 * upsert_one only ever sets an entity that was unset or merges two tempids
 * (union-find), never undoes either, and checks both for conflicts when
 * they happen (tid_union compares the two entities).  Handling the op
 * again would repeat the same look-up and the same merge.
 *
 * Termination: the passes repeat while a pass handled at least one waiting
 * op.  Each pass but the last removes at least one op from `waiting` and
 * nothing is ever added, so there are at most |waiting| + 1 passes (each
 * over the ops still waiting); no round limit exists to hit.  Passes go
 * alternately forwards and backwards so that a chain of upserts written in
 * either order resolves in one or two passes.  The ops still waiting at the
 * fixpoint reference tempids that no upsert resolves: those become new
 * entities, and so their values are new.
 */
static int resolve_upserts(tctx *c, size_t from) {
    bmap pending;
    memset(&pending, 0, sizeof pending);
    size_t *waiting = NULL, nwait = 0;
    int rc = DT_OK;
    for (size_t i = from; i < c->s.nops && rc == DT_OK; i++) {
        op *o = &c->s.ops[i];
        if (o->kind != OP_ADD || o->e.kind != ER_TEMPID) continue;
        const dl_attr *a = dl_schema_by_aid(c->ws, o->aid);
        if (a->unique != DL_UNIQUE_IDENTITY) continue;
        c->form = o->form;
        if (a->vtype == DT_REF && o->vref.kind == ER_TEMPID &&
            !c->s.tids[tid_root(c, o->vref.tempid)].eid) {
            if (!waiting && !(waiting = dt__malloc(c->s.nops * sizeof *waiting))) {
                rc = nomem();
                break;
            }
            waiting[nwait++] = i;
            continue;
        }
        if ((rc = encode_value(c, a, o->v, &o->vref, &c->s.enc)) != DT_OK) break;
        rc = upsert_one(c, o, a, &pending);
    }
    for (int progress = 1, backwards = 1; rc == DT_OK && progress && nwait;
         backwards = !backwards) {
        progress = 0;
        for (size_t j = 0; j < nwait && rc == DT_OK; j++) {
            size_t *w = &waiting[backwards ? nwait - 1 - j : j];
            op *o = &c->s.ops[*w];
            if (!c->s.tids[tid_root(c, o->vref.tempid)].eid) continue;
            const dl_attr *a = dl_schema_by_aid(c->ws, o->aid);
            c->form = o->form;
            if ((rc = encode_value(c, a, o->v, &o->vref, &c->s.enc)) != DT_OK) break;
            rc = upsert_one(c, o, a, &pending);
            *w = SIZE_MAX; /* handled */
            progress = 1;
        }
        size_t kept = 0;
        for (size_t j = 0; j < nwait; j++)
            if (waiting[j] != SIZE_MAX) waiting[kept++] = waiting[j];
        nwait = kept;
    }
    dt__free(waiting);
    bmap_release(&pending);
    return rc;
}

/* Once ids come from gaps: the ids the transaction names are not free. */
static int reserve_named_ids(tctx *c) {
    int rc = DT_OK;
    for (size_t i = 0; i < c->s.nops && rc == DT_OK; i++) {
        const eref *rs[3] = {&c->s.ops[i].e, &c->s.ops[i].vref, &c->s.ops[i].oldref};
        for (int j = 0; j < 3 && rc == DT_OK; j++)
            if (rs[j]->kind == ER_ID) rc = txn_eidgap_reserve(&c->gap, rs[j]->id);
    }
    for (size_t i = 0; i < c->s.ntids && rc == DT_OK; i++)
        rc = txn_eidgap_reserve(&c->gap, c->s.tids[tid_root(c, i)].eid);
    return rc;
}

/*
 * check_value_tempids: a tempid must name an entity the transaction says
 * something about (Datomic's "tempid used only as value" error, as in
 * DataScript): one that appears only as a ref value would become a new
 * entity with no datoms, a dangling reference.  Not checked for the
 * batches of an import (dt_import_edn), whose tempids span batches: a
 * later batch may name the entity.  On error c->form is the form that
 * used it.
 */
static int check_value_tempids(tctx *c) {
    if (c->s.ntids == 0 || c->carry) return DT_OK; /* import: a later batch may name it */
    uint8_t *as_entity = dt__calloc(c->s.ntids, 1);
    if (!as_entity) return nomem();
    for (size_t i = 0; i < c->s.nops; i++)
        if (c->s.ops[i].e.kind == ER_TEMPID) as_entity[c->s.ops[i].e.tempid] = 1;
    int rc = DT_OK;
    for (size_t i = 0; i < c->s.nops && rc == DT_OK; i++) {
        const eref *rs[2] = {&c->s.ops[i].vref, &c->s.ops[i].oldref};
        for (int j = 0; j < 2 && rc == DT_OK; j++) {
            if (rs[j]->kind != ER_TEMPID) continue;
            const tempid_t *t = &c->s.tids[rs[j]->tempid];
            /* a new id given before a function call (flush_ops) is no
             * reason to accept it */
            const tempid_t *root = &c->s.tids[tid_root(c, rs[j]->tempid)];
            if (as_entity[rs[j]->tempid] || (t->eid && !root->fresh) || !t->key) continue;
            char buf[96];
            dl_show(t->key, buf, sizeof buf);
            c->form = c->s.ops[i].form;
            rc = dt__seterr(NULL, DT_INVALID,
                            "tempid %s is used only as a value: a tempid must name an entity the "
                            "transaction asserts something about",
                            buf);
        }
    }
    dt__free(as_entity);
    return rc;
}

/* Gives every unresolved tempid a new id, in order of first appearance. */
static int allocate_ids(tctx *c) {
    /* explicit ids in this transaction count as existing */
    for (size_t i = 0; i < c->s.nops; i++) {
        const eref *rs[3] = {&c->s.ops[i].e, &c->s.ops[i].vref, &c->s.ops[i].oldref};
        for (int j = 0; j < 3; j++)
            if (rs[j]->kind == ER_ID && rs[j]->id < DL_TX0 && (uint64_t)rs[j]->id >= c->next_eid)
                c->next_eid = (uint64_t)rs[j]->id + 1;
    }
    /* so do ids already given to tempids (earlier batches of an import) */
    for (size_t i = 0; i < c->s.ntids; i++) {
        int64_t id = c->s.tids[tid_root(c, i)].eid;
        if (id > 0 && id < DL_TX0 && (uint64_t)id >= c->next_eid) c->next_eid = (uint64_t)id + 1;
    }
    int rc = DT_OK, reserved = 0;
    for (size_t i = 0; i < c->s.ntids && rc == DT_OK; i++) {
        size_t r = tid_root(c, i);
        if (c->s.tids[r].eid) continue;
        /* at the top (maybe reached by this loop): free ids from now on */
        if (c->next_eid > (uint64_t)DL_MAX_EID && !reserved++ && (rc = reserve_named_ids(c))) break;
        if (c->next_eid > (uint64_t)DL_MAX_EID)
            rc = txn_eidgap_alloc(&c->gap, &c->conn->st, c->txn, c->ws, &c->s.tids[r].eid);
        else
            c->s.tids[r].eid = (int64_t)c->next_eid++;
        c->s.tids[r].fresh = 1;
    }
    return rc;
}

/* }====== */

/* {====== Applying ====== */

/* Copies the full encodings of e's current values of aid into list. */
static int current_values(tctx *c, int64_t e, uint32_t aid, dt_buf *list, size_t *count) {
    list->len = 0;
    *count = 0;
    int rc;
    if (!c->eav_open) {
        if ((rc = dl_cursor_open(&c->eav_cur, &c->conn->st, c->txn, DL_INDEX_EAV)) != DT_OK)
            return rc;
        c->eav_open = 1;
    }
    dl_ikey ea = {2, e, aid, NULL, 0};
    if ((rc = dl_cursor_seek(&c->eav_cur, &ea, 2, NULL)) != DT_OK) return rc;
    dl_datom d;
    while ((rc = dl_cursor_next(&c->eav_cur, &d)) == DT_ROW) {
        dt_kv_bytes full;
        if ((rc = dl_cursor_value(&c->eav_cur, &full)) != DT_OK) return rc;
        uint32_t n32 = (uint32_t)full.len;
        if (dt_buf_append(list, &n32, 4) != DT_OK ||
            dt_buf_append(list, full.ptr, full.len) != DT_OK)
            return nomem();
        (*count)++;
    }
    return rc == DT_DONE ? DT_OK : rc;
}

/* Iterates a list made by current_values. */
static const uint8_t *list_next(const dt_buf *list, size_t *pos, size_t *len) {
    if (*pos >= list->len) return NULL;
    uint32_t n32;
    memcpy(&n32, list->p + *pos, 4);
    const uint8_t *p = list->p + *pos + 4;
    *pos += 4 + n32;
    *len = n32;
    return p;
}

static int retract_enc(tctx *c, int64_t e, uint32_t aid, const uint8_t *enc, size_t n) {
    int found;
    c->s.w.schema = c->ws; /* :db/noHistory as of this point of the transaction */
    return dl_datom_retract(&c->s.w, e, aid, enc, n, &found);
}

static int check_entity_id(tctx *c, int64_t e) {
    if (e > 0 && (e < DL_TX0 || e == c->tx)) return DT_OK;
    return dt__seterr(NULL, DT_INVALID,
                      "entity id %lld is out of range (1..%lld, or the current "
                      "transaction)",
                      (long long)e, (long long)(DL_TX0 - 1));
}

/* 1 when entity e, which this transaction created (fresh), has had no
 * value of aid added yet in it, and records that it now has one. */
static int fresh_first(tctx *c, int64_t e, uint32_t aid, int *first) {
    uint8_t k[12];
    memcpy(k, &e, 8);
    memcpy(k + 8, &aid, 4);
    *first = !bmap_find(&c->s.fresh_pairs, k, sizeof k);
    if (*first && bmap_put(&c->s.fresh_pairs, k, sizeof k, 0) != DT_OK) return nomem();
    return DT_OK;
}

/* Adds [e a enc]: a cardinality-one value replaces the current one, a
 * value already there is kept.  `fresh`: e is an entity this
 * transaction created, so before its first value of a there is nothing
 * to look up. */
static int do_add(tctx *c, int64_t e, const dl_attr *a, const dt_buf *enc, int fresh) {
    int rc, first = 0;
    if (fresh && (rc = fresh_first(c, e, a->aid, &first)) != DT_OK) return rc;
    if (a->unique) {
        int64_t holder;
        int found;
        if ((rc = dl_find_entity(&c->conn->st, c->txn, a->aid, enc->p, enc->len, &holder,
                                 &found)) != DT_OK)
            return rc;
        if (found && holder != e) {
            dt_value v = DT_VALUE_NIL;
            size_t used;
            char buf[96] = "?";
            if (dl_codec_decode(enc->p, enc->len, &v, &used) == DT_OK) dl_show(&v, buf, sizeof buf);
            dt_value_free(&v);
            return dt__seterr(NULL, DT_CONFLICT,
                              "unique conflict: :%s %s already belongs to entity %lld (asserting "
                              "it on entity %lld)",
                              a->ident, buf, (long long)holder, (long long)e);
        }
    }
    if (first) return dl_datom_add(&c->s.w, e, a->aid, enc->p, enc->len);
    if (a->many) {
        int exists;
        if ((rc = dl_datom_exists(&c->conn->st, c->txn, e, a->aid, enc->p, enc->len, NULL,
                                  &exists)) != DT_OK)
            return rc;
        if (exists) return DT_OK;
        return dl_datom_add(&c->s.w, e, a->aid, enc->p, enc->len);
    }
    dt_buf *list = &c->s.cur;
    size_t count, pos = 0, n;
    int same = 0;
    rc = current_values(c, e, a->aid, list, &count);
    const uint8_t *p;
    while (rc == DT_OK && (p = list_next(list, &pos, &n))) {
        if (n == enc->len && memcmp(p, enc->p, n) == 0)
            same = 1;
        else
            rc = retract_enc(c, e, a->aid, p, n);
    }
    if (rc == DT_OK && !same) rc = dl_datom_add(&c->s.w, e, a->aid, enc->p, enc->len);
    return rc;
}

/* retractEntity: e's datoms, references to e, and its components. */
static int retract_entity(tctx *c, int64_t e, int depth) {
    if (depth > 10000) return dt__seterr(NULL, DT_LIMIT, "retractEntity: components nest too deep");
    int rc;
    /* collect e's datoms: aid(4) len(4) enc */
    dt_buf all = DT_BUF_INIT, comps = DT_BUF_INIT;
    dl_cursor sc;
    dl_ikey ek = {1, e, 0, NULL, 0};
    if ((rc = dl_cursor_open(&sc, &c->conn->st, c->txn, DL_INDEX_EAV)) != DT_OK) return rc;
    if ((rc = dl_cursor_seek(&sc, &ek, 1, NULL)) != DT_OK) {
        dl_cursor_close(&sc);
        return rc;
    }
    dl_datom d;
    while ((rc = dl_cursor_next(&sc, &d)) == DT_ROW) {
        uint32_t aid = d.aid;
        dt_kv_bytes full;
        if ((rc = dl_cursor_value(&sc, &full)) != DT_OK) break;
        uint32_t n32 = (uint32_t)full.len;
        if (dt_buf_append(&all, &aid, 4) || dt_buf_append(&all, &n32, 4) ||
            dt_buf_append(&all, full.ptr, full.len)) {
            rc = nomem();
            break;
        }
        const dl_attr *a = dl_schema_by_aid(c->ws, aid);
        if (a && a->component && full.len == 9 &&
            ((const uint8_t *)full.ptr)[0] == DL_CODEC_TAG(DT_REF)) {
            int64_t target = dl_codec_get_int(full.ptr);
            if (dt_buf_append(&comps, &target, 8)) {
                rc = nomem();
                break;
            }
        }
    }
    dl_cursor_close(&sc);
    if (rc != DT_DONE) goto done;
    rc = DT_OK;
    for (size_t pos = 0; pos < all.len && rc == DT_OK;) {
        uint32_t aid, n32;
        memcpy(&aid, all.p + pos, 4);
        memcpy(&n32, all.p + pos + 4, 4);
        rc = retract_enc(c, e, aid, all.p + pos + 8, n32);
        pos += 8 + n32;
    }
    /* references to e from ref attributes */
    uint8_t ref[9];
    dl_codec_put_int(DT_REF, e, ref);
    size_t na = dl_schema_count(c->ws);
    for (size_t i = 0; i < na && rc == DT_OK; i++) {
        const dl_attr *a = dl_schema_at(c->ws, i);
        if (a->vtype != DT_REF) continue;
        all.len = 0;
        dl_ikey av = {2, 0, a->aid, ref, 9};
        if ((rc = dl_cursor_open(&sc, &c->conn->st, c->txn, DL_INDEX_AVE)) != DT_OK) break;
        if ((rc = dl_cursor_seek(&sc, &av, 2, NULL)) == DT_OK)
            while ((rc = dl_cursor_next(&sc, &d)) == DT_ROW)
                if (dt_buf_append(&all, &d.e, 8)) {
                    rc = nomem();
                    break;
                }
        dl_cursor_close(&sc);
        if (rc != DT_DONE) break;
        rc = DT_OK;
        for (size_t pos = 0; pos < all.len && rc == DT_OK; pos += 8) {
            int64_t holder;
            memcpy(&holder, all.p + pos, 8);
            rc = retract_enc(c, holder, a->aid, ref, 9);
        }
    }
    for (size_t pos = 0; pos < comps.len && rc == DT_OK; pos += 8) {
        int64_t target;
        memcpy(&target, comps.p + pos, 8);
        rc = retract_entity(c, target, depth + 1);
    }
done:
    dt_buf_release(&all);
    dt_buf_release(&comps);
    return rc;
}

static int do_cas(tctx *c, const op *o, int64_t e, const dl_attr *a, int fresh) {
    dt_buf list = DT_BUF_INIT;
    size_t count = 0, pos = 0, n = 0;
    int rc = current_values(c, e, a->aid, &list, &count);
    int ok = 0;
    if (rc == DT_OK) {
        if (o->old->type == DT_NIL) {
            ok = count == 0;
        } else if ((rc = encode_value(c, a, o->old, &o->oldref, &c->s.enc2)) == DT_OK) {
            const uint8_t *p = list_next(&list, &pos, &n);
            ok = count == 1 && n == c->s.enc2.len && memcmp(p, c->s.enc2.p, n) == 0;
        }
    }
    if (rc == DT_OK && !ok) {
        char want[96], got[96] = "nil";
        dl_show(o->old, want, sizeof want);
        pos = 0;
        const uint8_t *p = list_next(&list, &pos, &n);
        if (p) {
            dt_value v = DT_VALUE_NIL;
            size_t used;
            if (dl_codec_decode(p, n, &v, &used) == DT_OK) dl_show(&v, got, sizeof got);
            dt_value_free(&v);
        }
        rc = dt__seterr(NULL, DT_CONFLICT,
                        ":db/cas failed on entity %lld :%s: expected %s, found %s", (long long)e,
                        a->ident, want, got);
    }
    dt_buf_release(&list);
    if (rc != DT_OK) return rc;
    if ((rc = encode_value(c, a, o->v, &o->vref, &c->s.enc)) != DT_OK) return rc;
    return do_add(c, e, a, &c->s.enc, fresh);
}

static int apply_op(tctx *c, const op *o) {
    int64_t e;
    int rc = eref_id(c, &o->e, &e);
    if (rc != DT_OK) return rc;
    if ((rc = check_entity_id(c, e)) != DT_OK) return rc;
    if (o->kind == OP_RETRACT_ENTITY) return retract_entity(c, e, 0);
    const dl_attr *a = dl_schema_by_aid(c->ws, o->aid);
    /* an entity this transaction created: a new id (allocate_ids) */
    int fresh = o->e.kind == ER_TEMPID && c->s.tids[tid_root(c, o->e.tempid)].fresh;
    switch (o->kind) {
    case OP_ADD:
        if ((rc = encode_value(c, a, o->v, &o->vref, &c->s.enc)) != DT_OK) return rc;
        return do_add(c, e, a, &c->s.enc, fresh);
    case OP_RETRACT:
        rc = encode_value(c, a, o->v, &o->vref, &c->s.enc);
        if (rc == DT_NOTFOUND && o->vref.kind == ER_LOOKUP) return DT_OK; /* nothing to retract */
        if (rc != DT_OK) return rc;
        return retract_enc(c, e, a->aid, c->s.enc.p, c->s.enc.len);
    case OP_RETRACT_ATTR: {
        dt_buf list = DT_BUF_INIT;
        size_t count, pos = 0, n;
        const uint8_t *p;
        rc = current_values(c, e, a->aid, &list, &count);
        while (rc == DT_OK && (p = list_next(&list, &pos, &n)))
            rc = retract_enc(c, e, a->aid, p, n);
        /* as DataScript: retracting a component attribute whole retracts
         * its component entities too (a retraction of one value does not) */
        for (pos = 0; rc == DT_OK && a->component && (p = list_next(&list, &pos, &n));)
            if (n == 9 && p[0] == DL_CODEC_TAG(DT_REF))
                rc = retract_entity(c, dl_codec_get_int(p), 1);
        dt_buf_release(&list);
        return rc;
    }
    case OP_CAS:
        return do_cas(c, o, e, a, fresh);
    default:
        return dt__seterr(NULL, DT_INTERNAL, "transact: unknown op");
    }
}

/* }====== */

/* {====== Reports ====== */

#define DT_MAGIC_REPORT 0x64747270u /* "dtrp" */

struct dt_report {
    uint32_t magic;
    int64_t tx;
    dt_datom *datoms;
    dt_value *values;
    size_t n;
    dl_schema *schema;
    dt_value tempids;
    dt_db *before, *after;
};

static int build_report(tctx *c, dt_report **out) {
    dt_report *r = dt__calloc(1, sizeof *r);
    if (!r) return nomem();
    r->magic = DT_MAGIC_REPORT;
    r->tx = c->tx;
    r->schema = dl_schema_retain(c->ws);
    int rc = DT_OK;
    r->n = c->s.w.nchanges;
    if (r->n) {
        r->datoms = dt__calloc(r->n, sizeof *r->datoms);
        r->values = dt__calloc(r->n, sizeof *r->values);
        if (!r->datoms || !r->values) rc = nomem();
    }
    for (size_t i = 0; i < r->n && rc == DT_OK; i++) {
        const dl_change *ch = &c->s.w.changes[i];
        size_t used;
        rc = dl_codec_decode(c->s.w.encs.p + ch->enc_off, ch->enc_len, &r->values[i], &used);
        const dl_attr *a = dl_schema_by_aid(r->schema, ch->aid);
        r->datoms[i] = (dt_datom){ch->e, a ? a->ident : "?", r->values[i], ch->tx, ch->added};
    }
    size_t named = 0;
    for (size_t i = 0; i < c->s.ntids; i++)
        if (c->s.tids[i].key) named++;
    if (rc == DT_OK) rc = dt_value_seq(DT_MAP, 2 * named, &r->tempids);
    size_t k = 0;
    for (size_t i = 0; i < c->s.ntids && rc == DT_OK; i++) {
        if (!c->s.tids[i].key) continue;
        rc = dt_value_copy(c->s.tids[i].key, &r->tempids.u.seq.items[k]);
        dt_value_long(c->s.tids[tid_root(c, i)].eid, &r->tempids.u.seq.items[k + 1]);
        k += 2;
    }
    if (rc != DT_OK) {
        dt_report_close(r);
        return rc;
    }
    *out = r;
    return DT_OK;
}

void txn_report_set_snapshots(dt_report *r, dt_db *before, dt_db *after) {
    r->before = before;
    r->after = after;
}

int64_t dt_report_tx(const dt_report *r) { return r && r->magic == DT_MAGIC_REPORT ? r->tx : 0; }

size_t dt_report_count(const dt_report *r) { return r && r->magic == DT_MAGIC_REPORT ? r->n : 0; }

int dt_report_datom(const dt_report *r, size_t i, dt_datom *out) {
    if (!r || r->magic != DT_MAGIC_REPORT || !out)
        return dt__seterr(r, DT_MISUSE, "dt_report_datom: bad arguments");
    if (i >= r->n) return DT_NOTFOUND;
    *out = r->datoms[i];
    return DT_OK;
}

const dt_value *dt_report_tempids(const dt_report *r) {
    return r && r->magic == DT_MAGIC_REPORT ? &r->tempids : NULL;
}

int dt_report_tempid(const dt_report *r, const dt_value *tempid, int64_t *out) {
    if (!r || r->magic != DT_MAGIC_REPORT || !tempid || !out)
        return dt__seterr(r, DT_MISUSE, "dt_report_tempid: bad arguments");
    for (size_t i = 0; i + 1 < r->tempids.u.seq.n; i += 2)
        if (dt_value_equal(&r->tempids.u.seq.items[i], tempid)) {
            *out = r->tempids.u.seq.items[i + 1].u.i;
            return DT_OK;
        }
    return DT_NOTFOUND;
}

dt_db *dt_report_db_before(dt_report *r) {
    return r && r->magic == DT_MAGIC_REPORT ? r->before : NULL;
}

dt_db *dt_report_db_after(dt_report *r) {
    return r && r->magic == DT_MAGIC_REPORT ? r->after : NULL;
}

void dt_report_close(dt_report *r) {
    if (!r || r->magic != DT_MAGIC_REPORT) return;
    for (size_t i = 0; i < r->n; i++)
        if (r->values) dt_value_free(&r->values[i]);
    dt__free(r->values);
    dt__free(r->datoms);
    dt_value_free(&r->tempids);
    dl_schema_release(r->schema);
    dt_db_close(r->before);
    dt_db_close(r->after);
    dt__clearerr(r);
    r->magic = DT_MAGIC_DEAD;
    dt__free(r);
}

/* }====== */

/* {====== Transact ====== */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prefixes the current message with the form being processed. */
static int form_error(tctx *c, int rc) {
    if (!c->forms) return rc;
    /* keep the message first: showing the form may itself fail */
    char inner[DT__ERRMSG_MAX];
    snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
    char buf[120];
    const dt_value *f = &c->forms->u.seq.items[c->form];
    dl_show(f, buf, sizeof buf);
    return dt__seterr(NULL, rc, "transact: form %zu %s: %s", c->form_base + c->form + 1, buf,
                      inner);
}

/* Runs the whole pipeline in c->txn; the caller commits or aborts. */
static int run(tctx *c, const dt_value *tx) {
    int rc;
    if (tx->type != DT_VECTOR && tx->type != DT_LIST) {
        char buf[96];
        dl_show(tx, buf, sizeof buf);
        return dt__seterr(NULL, DT_INVALID, "transact: tx-data must be a vector of forms, got %s",
                          buf);
    }
    c->forms = tx;
    if (c->batch && c->batch->have) {
        c->next_eid = c->batch->next_eid;
        c->t = c->batch->t;
    } else {
        if ((rc = dl_meta_get_u64(&c->conn->st, c->txn, "next_eid", 1, &c->next_eid)) != DT_OK)
            return rc;
        if ((rc = dl_meta_get_u64(&c->conn->st, c->txn, "next_t", 1, &c->t)) != DT_OK) return rc;
    }
    c->tx = DL_TX0 + (int64_t)c->t;
    c->s.w.tx = c->tx;
    for (size_t i = 0; i < tx->u.seq.n; i++) {
        c->form = i;
        if ((rc = expand_form(c, &tx->u.seq.items[i])) != DT_OK) return form_error(c, rc);
    }
    if ((rc = check_value_tempids(c)) != DT_OK) return form_error(c, rc);
    if ((rc = resolve_upserts(c, c->applied)) != DT_OK) return form_error(c, rc);
    if ((rc = allocate_ids(c)) != DT_OK) return rc;
    for (size_t i = c->applied; i < c->s.nops; i++) {
        c->form = c->s.ops[i].form;
        if ((rc = apply_op(c, &c->s.ops[i])) != DT_OK) return form_error(c, rc);
    }
    c->forms = NULL;
    if (!c->explicit_instant) {
        uint8_t enc[9];
        dl_codec_put_int(DT_INSTANT, now_ms(), enc);
        if ((rc = dl_datom_add(&c->s.w, c->tx, DL_AID_TXINSTANT, enc, 9)) != DT_OK) return rc;
    }
    if (c->batch && (rc = batch_take_deltas(c->batch, &c->s.w)) != DT_OK) return rc;
    if ((rc = dl_wtxn_finish(&c->s.w, c->ws)) != DT_OK) return rc;
    if ((rc = txn_eidgap_save(&c->gap, &c->conn->st, c->txn)) != DT_OK) return rc;
    if (c->batch) {
        /* a failure from here on would leave the batch ahead of the data,
         * but any failure undoes the whole batch, which starts afresh */
        c->batch->next_eid = c->next_eid;
        c->batch->t = c->t + 1;
        c->batch->have = 1;
        return DT_OK;
    }
    if ((rc = dl_meta_put_u64(&c->conn->st, c->txn, "next_eid", c->next_eid)) != DT_OK) return rc;
    if ((rc = dl_meta_put_u64(&c->conn->st, c->txn, "next_t", c->t + 1)) != DT_OK) return rc;
    return DT_OK;
}

/* {====== Buffers kept from one transaction to the next ====== */

/*
 * Buffers a large transaction grew past SCRATCH_KEEP bytes are freed
 * rather than kept: one bulk load must not pin its memory for the life
 * of the connection.
 */
#define SCRATCH_KEEP ((size_t)256 << 10)

/* Empties b, freeing it when it holds more than `keep` bytes. */
static void buf_trim(dt_buf *b, size_t keep) {
    if (b->cap > keep) dt_buf_release(b);
    b->len = 0;
}

/* Empties map m, freeing it when it holds more than `keep` bytes. */
static void bmap_trim(bmap *m, size_t keep) {
    if (m->nslots * sizeof *m->slots + m->keys.cap > keep) {
        bmap_release(m);
    } else if (m->count) {
        memset(m->slots, 0, m->nslots * sizeof *m->slots);
        m->count = 0;
        m->keys.len = 0;
    }
}

/* Frees array p (and zeroes its capacity cap) when it holds more than
 * `keep` bytes. */
#define ARRAY_TRIM(p, cap, keep)                                                                   \
    do {                                                                                           \
        if ((cap) * sizeof *(p) > (keep)) {                                                        \
            dt__free(p);                                                                           \
            (p) = NULL;                                                                            \
            (cap) = 0;                                                                             \
        }                                                                                          \
    } while (0)

/*
 * Empties s for the next transaction, freeing each part that holds more
 * than `keep` bytes (with 0: every part but the write context's
 * statistics deltas, which are few and always kept).  The one list of
 * the parts of a scratch: scratch_release frees through it too.
 */
static void scratch_trim(txn_scratch *s, size_t keep) {
    /* cursors are not its business: txn_run closes them before keeping,
     * dl_wtxn_release after releasing */
    ARRAY_TRIM(s->ops, s->capops, keep);
    ARRAY_TRIM(s->tids, s->captids, keep);
    s->nops = s->ntids = 0;
    bmap_trim(&s->tid_index, keep);
    bmap_trim(&s->fresh_pairs, keep);
    buf_trim(&s->cur, keep);
    buf_trim(&s->enc, keep);
    buf_trim(&s->enc2, keep);
    buf_trim(&s->kb, keep);
    buf_trim(&s->w.key, keep);
    buf_trim(&s->w.key2, keep);
    buf_trim(&s->w.tmp, keep);
    buf_trim(&s->w.encs, keep);
    ARRAY_TRIM(s->w.changes, s->w.capchanges, keep);
    s->w.nchanges = 0;
}

/* Frees everything s holds and empties it. */
static void scratch_release(txn_scratch *s) {
    scratch_trim(s, 0);
    dl_wtxn_release(&s->w); /* its deltas and cursors */
    memset(s, 0, sizeof *s);
}

/* Moves the connection's kept scratch into c (whose own is empty);
 * returns 0, leaving c's empty, when another transaction of the
 * connection has it (never expected: one writer at a time) or it cannot
 * be allocated. */
static int scratch_lend(tctx *c) {
    dt_conn *conn = c->conn;
    if (conn->scratch_busy) return 0;
    if (!conn->scratch && !(conn->scratch = dt__calloc(1, sizeof *conn->scratch))) return 0;
    c->s = *conn->scratch;
    memset(conn->scratch, 0, sizeof *conn->scratch);
    conn->scratch_busy = 1;
    return 1;
}

/* Moves c's scratch, emptied, back to the connection (c then holds
 * none of it). */
static void scratch_keep(tctx *c) {
    scratch_trim(&c->s, SCRATCH_KEEP);
    *c->conn->scratch = c->s;
    memset(&c->s, 0, sizeof c->s);
    c->conn->scratch_busy = 0;
}

void txn_scratch_free(dt_conn *conn) {
    if (!conn->scratch) return;
    scratch_release(conn->scratch);
    dt__free(conn->scratch);
    conn->scratch = NULL;
}

/* }====== */

static void ctx_release(tctx *c) {
    for (size_t i = 0; i < c->nproduced; i++) {
        dt_value_free(c->produced[i]);
        dt__free(c->produced[i]);
    }
    dt__free(c->produced);
    if (c->eav_open) dl_cursor_close(&c->eav_cur);
    c->eav_open = 0;
    txn_eidgap_release(&c->gap);
    scratch_release(&c->s);
    dl_schema_release(c->ws);
}

/* Remembers the tempids of a committed transaction in the carry. */
static int carry_remember(tctx *c) {
    for (size_t i = 0; i < c->s.ntids; i++) {
        if (!c->s.tids[i].key) continue;
        if (tempid_keybytes(c->s.tids[i].key, &c->s.kb) != DT_OK) return nomem();
        if (bmap_find(&c->carry->ids, c->s.kb.p, c->s.kb.len)) continue;
        if (bmap_put(&c->carry->ids, c->s.kb.p, c->s.kb.len,
                     (size_t)c->s.tids[tid_root(c, i)].eid) != DT_OK)
            return nomem();
    }
    return DT_OK;
}

int txn_run(dt_conn *conn, dt_kv_txn *txn, dl_schema **ws, int *ws_changed, const dt_value *tx_data,
            txn_carry *carry, size_t form_base, txn_batch *batch, dt_report **out) {
    if (out) *out = NULL;
    tctx c;
    tctx_zero(&c);
    c.conn = conn;
    c.txn = txn;
    c.carry = carry;
    c.batch = batch;
    c.form_base = form_base;
    /* our own reference: the first schema change clones it, so the
     * caller's schema is untouched if this transaction fails */
    c.ws = dl_schema_retain(*ws);
    int lent = scratch_lend(&c);
    dl_wtxn_reuse(&c.s.w, &conn->st, txn, 0);
    int rc = run(&c, tx_data);
    /* cursors must be closed before the txn ends */
    if (c.eav_open) dl_cursor_close(&c.eav_cur);
    c.eav_open = 0;
    dl_wtxn_close_cursors(&c.s.w);
    if (rc == DT_OK && out) rc = build_report(&c, out);
    if (rc == DT_OK && carry) rc = carry_remember(&c);
    if (rc == DT_OK && c.ws_changed) {
        dl_schema_release(*ws);
        *ws = dl_schema_retain(c.ws);
        *ws_changed = 1;
    }
    if (rc != DT_OK && out && *out) {
        dt_report_close(*out);
        *out = NULL;
    }
    if (lent) scratch_keep(&c);
    ctx_release(&c);
    return rc;
}

int dt_transact_value(dt_conn *conn, const dt_value *tx_data, dt_report **out) {
    return txn_transact_carry(conn, tx_data, NULL, 0, out);
}

int txn_carry_new(txn_carry **out) {
    *out = dt__calloc(1, sizeof **out);
    return *out ? DT_OK : nomem();
}

void txn_carry_free(txn_carry *c) {
    if (!c) return;
    bmap_release(&c->ids);
    dt__free(c);
}

int dt_import_edn(dt_conn *conn, const char *text, size_t len, size_t batch,
                  uint64_t *out_tx_count) {
    if (out_tx_count) *out_tx_count = 0;
    if (!txn_conn_ok(conn)) return dt__seterr(conn, DT_MISUSE, "import: not an open connection");
    if (!text) return dt__seterr(conn, DT_MISUSE, "import: NULL text");
    if (batch == 0) batch = 10000;
    dt_value all = DT_VALUE_NIL;
    int rc = dt_edn_read(text, len, &all);
    if (rc != DT_OK) return dt__seterr(conn, rc, "import: %s", dt_errmsg(NULL));
    if (all.type != DT_VECTOR && all.type != DT_LIST) {
        dt_value_free(&all);
        return dt__seterr(conn, DT_INVALID, "import: tx-data must be a vector of forms, got a %s",
                          dt_type_name(all.type));
    }
    txn_carry *carry = NULL;
    if ((rc = txn_carry_new(&carry)) != DT_OK) {
        dt_value_free(&all);
        return dt__moveerr(NULL, conn, rc);
    }
    uint64_t ntx = 0;
    for (size_t i = 0; i < all.u.seq.n && rc == DT_OK; i += batch) {
        /* a view on a slice of the forms: owns nothing, never cleared */
        dt_value slice;
        slice.type = DT_VECTOR;
        slice.u.seq.items = all.u.seq.items + i;
        slice.u.seq.n = all.u.seq.n - i < batch ? all.u.seq.n - i : batch;
        rc = txn_transact_carry(conn, &slice, carry, i, NULL);
        if (rc == DT_OK) ntx++;
    }
    txn_carry_free(carry);
    dt_value_free(&all);
    if (out_tx_count) *out_tx_count = ntx;
    return rc;
}

int dt_transact(dt_conn *conn, const char *tx_edn, dt_report **out) {
    if (out) *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_transact: not an open connection");
    if (!tx_edn) return dt__seterr(conn, DT_MISUSE, "dt_transact: NULL tx-data");
    dt_value tx = DT_VALUE_NIL;
    int rc = dt_edn_read(tx_edn, strlen(tx_edn), &tx);
    if (rc != DT_OK) return dt__seterr(conn, rc, "transact: %s", dt_errmsg(NULL));
    rc = dt_transact_value(conn, &tx, out);
    dt_value_free(&tx);
    return rc;
}

/* }====== */
