/*
 * pull.c -- pull patterns (query layer): dq_pull_* (exec.h) and the
 * public dt_pull, dt_pull_value, dt_pull_many, their arena forms
 * dt_pull_in and dt_pull_many_in, and dt_arena_*.
 *
 * A pattern is compiled once into a tree of specs (one per attribute of a
 * pattern, with its options) and run per entity.  Semantics are
 * DataScript's (docs/query.md, "Pull"):
 *
 *   - forward attributes give their value (a vector for cardinality many,
 *     at most :limit values, 1000 by default, nil: all); a ref value gives
 *     the pull of the target with the sub-pattern (default [:db/id]; for a
 *     component attribute [:db/id *]);
 *   - :_attr (the name part starts with '_') is the reverse lookup: the
 *     entities whose attr points at this one, a vector, or the pull of one
 *     entity for a component attribute;
 *   - {:attr ...} / {:attr n} recurse with the enclosing pattern (n levels);
 *     an entity already on the recursive path gives {:db/id e};
 *   - a map that would be empty is nil, and nil results of nested pulls
 *     are dropped.
 *
 * Running reads one entity at a time: its datoms in the range of the
 * pattern's attributes are read through one EAV cursor (values decoded
 * into a stack shared by all levels), the cursor is then free for the
 * nested pulls the entity's refs need.
 */
#include "exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "coerce.h"
#include "db.h"
#include "index.h"
#include "schema.h"

/* Out of line (GCC, Clang): a function whose locals should stay off the
 * stack frames of the recursion. */
#if defined(__GNUC__)
#define PULL_NOINLINE __attribute__((noinline))
#else
#define PULL_NOINLINE
#endif

/* Nesting of entities in one result (the C stack is the limit). */
#define PULL_MAX_DEPTH 1000
/* Sub-patterns nested in a pattern (as deep as EDN text can be). */
#define PULL_MAX_PATTERN_DEPTH 128
/* Distinct result keys a run into an arena copies once each. */
#define PULL_KEY_SLOTS 64
/* The default :limit of a cardinality-many attribute (as DataScript). */
#define PULL_DEFAULT_LIMIT 1000

/* {====== Compiled patterns ====== */

typedef struct ppat ppat;

enum { PK_ATTR = 0, PK_DBID = 1 };

typedef struct pspec {
    int kind;     /* PK_ATTR / PK_DBID */
    uint32_t aid; /* 0: not an attribute of the schema (never has values) */
    int reverse;  /* :_attr */
    int many, ref, component;
    dt_value key; /* the key in the result (owned) */
    int has_default;
    dt_value def;  /* owned */
    int64_t limit; /* 0: none */
    int recursive;
    int64_t rec_limit; /* recursive: levels, 0 = unbounded */
    size_t rec_id;     /* recursive: slot in the run's table of levels */
    const ppat *sub;   /* ref, not recursive: the pattern of the target */
    size_t order;      /* position in the written pattern (stable sort) */
} pspec;

struct ppat {
    int wildcard;
    int has_dbid;
    pspec *fwd; /* forward attributes and :db/id, :db/id first, then by aid */
    size_t nfwd;
    pspec *rev; /* reverse attributes */
    size_t nrev;
    uint32_t lo, hi; /* the smallest and largest aid of fwd (0: none) */
};

struct dq_pull {
    dl_schema *schema; /* the schema it was compiled against (a reference) */
    dt_value pattern;  /* a copy, to compile again for another schema */
    ppat *root;
    ppat ref_default;  /* [:db/id] */
    ppat comp_default; /* [:db/id *] */
    pspec dbid_spec;   /* the one spec of both defaults */
    size_t nrec;       /* recursive specs */
    ppat **pats;       /* every compiled pattern, for dq_pull_free */
    size_t npats, cappats;
};

static void spec_release(pspec *s) {
    dt_value_free(&s->key);
    dt_value_free(&s->def);
}

static void pat_free(ppat *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nfwd; i++) spec_release(&p->fwd[i]);
    for (size_t i = 0; i < p->nrev; i++) spec_release(&p->rev[i]);
    dt__free(p->fwd);
    dt__free(p->rev);
    dt__free(p);
}

void dq_pull_free(dq_pull *p) {
    if (!p) return;
    for (size_t i = 0; i < p->npats; i++) pat_free(p->pats[i]);
    dt__free(p->pats);
    spec_release(&p->dbid_spec);
    dt_value_free(&p->pattern);
    if (p->schema) dl_schema_release(p->schema);
    dt__free(p);
}

/* }====== */

/* {====== Compiling ====== */

typedef struct cctx {
    const dl_schema *s;
    dq_pull *p;
    const dt_value *whole; /* the pattern, for messages */
    unsigned depth;        /* patterns nested around the one being read */
} cctx;

/* Sets a DT_INVALID message "pull: <what>, got <part> in <pattern>". */
static int perr(const cctx *c, const dt_value *part, const char *fmt, ...) {
    char what[200], shown[120], whole[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    dl_show(part, shown, sizeof shown);
    if (c->whole && part != c->whole) {
        dl_show(c->whole, whole, sizeof whole);
        return dt__seterr(NULL, DT_INVALID, "pull: %s, got %s in %s", what, shown, whole);
    }
    return dt__seterr(NULL, DT_INVALID, "pull: %s, got %s", what, shown);
}

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "pull: out of memory"); }

static int is_named(const dt_value *v, const char *name) {
    return v && (v->type == DT_SYMBOL || v->type == DT_STRING) && strcmp(v->u.s.ptr, name) == 0;
}

static int is_wildcard(const dt_value *v) {
    return v && (v->type == DT_SYMBOL || v->type == DT_STRING || v->type == DT_KEYWORD) &&
           strcmp(v->u.s.ptr, "*") == 0;
}

static int is_seq(const dt_value *v) { return v->type == DT_VECTOR || v->type == DT_LIST; }

static int new_pat(cctx *c, ppat **out) {
    dq_pull *p = c->p;
    *out = NULL;
    if (p->npats == p->cappats) {
        size_t cap = p->cappats ? p->cappats * 2 : 4;
        ppat **np = dt__realloc(p->pats, cap * sizeof *np);
        if (!np) return nomem();
        p->pats = np;
        p->cappats = cap;
    }
    ppat *pat = dt__calloc(1, sizeof *pat);
    if (!pat) return nomem();
    p->pats[p->npats++] = pat;
    *out = pat;
    return DT_OK;
}

/*
 * Fills *sp from an attribute name (a keyword): :db/id, :attr or :_attr
 * (reverse when the name part starts with '_').  The key is the keyword.
 */
static int parse_attr_name(cctx *c, const dt_value *kw, pspec *sp) {
    memset(sp, 0, sizeof *sp);
    sp->key.type = DT_NIL;
    sp->def.type = DT_NIL;
    if (kw->type != DT_KEYWORD) return perr(c, kw, "expected an attribute name (a keyword)");
    const char *name = kw->u.s.ptr;
    size_t len = kw->u.s.len;
    if (dt_value_copy(kw, &sp->key) != DT_OK) return nomem();
    if (len == 5 && memcmp(name, "db/id", 5) == 0) {
        sp->kind = PK_DBID;
        return DT_OK;
    }
    const char *slash = memchr(name, '/', len);
    size_t npos = slash ? (size_t)(slash - name) + 1 : 0; /* start of the name part */
    char buf[512];
    const dl_attr *a;
    if (npos < len && name[npos] == '_') {
        if (len - 1 >= sizeof buf) return perr(c, kw, "attribute name too long");
        memcpy(buf, name, npos);
        memcpy(buf + npos, name + npos + 1, len - npos - 1);
        buf[len - 1] = '\0';
        sp->reverse = 1;
        a = dl_schema_by_ident(c->s, buf, len - 1);
        if (!a || a->vtype != DT_REF)
            return perr(c, kw, "a reverse lookup needs a ref attribute (:%s is %s)", buf,
                        a ? "not a ref" : "unknown");
    } else {
        a = dl_schema_by_ident(c->s, name, len);
    }
    if (a) {
        sp->aid = a->aid;
        sp->ref = a->vtype == DT_REF;
        sp->many = a->many;
        sp->component = a->component;
    }
    if (sp->many) sp->limit = PULL_DEFAULT_LIMIT;
    if (sp->ref) sp->sub = sp->component && !sp->reverse ? &c->p->comp_default : &c->p->ref_default;
    return DT_OK;
}

static int set_limit(cctx *c, const dt_value *where, const dt_value *lim, pspec *sp) {
    if (sp->kind != PK_ATTR || !(sp->many || (sp->reverse && !sp->component)))
        return perr(c, where, ":limit needs a cardinality-many attribute");
    if (lim->type == DT_NIL) {
        sp->limit = 0;
        return DT_OK;
    }
    if (lim->type != DT_LONG || lim->u.i <= 0)
        return perr(c, where, ":limit takes a positive number or nil");
    sp->limit = lim->u.i;
    return DT_OK;
}

static int set_default(const dt_value *v, pspec *sp) {
    dt_value_free(&sp->def);
    if (dt_value_copy(v, &sp->def) != DT_OK) return nomem();
    sp->has_default = 1;
    return DT_OK;
}

/*
 * An attribute spec: a name, [name opt val ...] / (name opt val ...) with
 * options :as :limit :default, or the legacy (limit name n) and
 * (default name value).
 */
static int parse_attr_spec(cctx *c, const dt_value *v, pspec *sp) {
    int rc;
    if (v->type == DT_KEYWORD) return parse_attr_name(c, v, sp);
    memset(sp, 0, sizeof *sp);
    if (!is_seq(v) || v->u.seq.n == 0)
        return perr(c, v, "expected an attribute name, an attribute with options, a map or *");
    const dt_value *it = v->u.seq.items;
    size_t n = v->u.seq.n;
    if (is_named(&it[0], "limit") || is_named(&it[0], "default")) {
        int is_limit = is_named(&it[0], "limit");
        if (n != 3)
            return perr(c, v,
                        is_limit ? "expected (limit attr-name n)"
                                 : "expected (default attr-name value)");
        if ((rc = parse_attr_spec(c, &it[1], sp)) != DT_OK) return rc;
        return is_limit ? set_limit(c, v, &it[2], sp) : set_default(&it[2], sp);
    }
    if ((rc = parse_attr_spec(c, &it[0], sp)) != DT_OK) return rc;
    if (n % 2 != 1) return perr(c, v, "expected [attr-name option value ...]");
    for (size_t i = 1; i < n; i += 2) {
        const dt_value *o = &it[i], *ov = &it[i + 1];
        if (o->type == DT_KEYWORD && strcmp(o->u.s.ptr, "as") == 0) {
            dt_value_free(&sp->key);
            if (dt_value_copy(ov, &sp->key) != DT_OK) return nomem();
        } else if (o->type == DT_KEYWORD && strcmp(o->u.s.ptr, "limit") == 0) {
            if ((rc = set_limit(c, v, ov, sp)) != DT_OK) return rc;
        } else if (o->type == DT_KEYWORD && strcmp(o->u.s.ptr, "default") == 0) {
            if ((rc = set_default(ov, sp)) != DT_OK) return rc;
        } else if (o->type == DT_KEYWORD && strcmp(o->u.s.ptr, "xform") == 0) {
            return perr(c, v, "the :xform option is not supported");
        } else {
            return perr(c, o, "expected an attribute option (:as, :limit or :default)");
        }
    }
    return DT_OK;
}

/* A growable list of specs while a pattern is read. */
typedef struct slist {
    pspec *v;
    size_t n, cap;
} slist;

static void slist_release(slist *l) {
    for (size_t i = 0; i < l->n; i++) spec_release(&l->v[i]);
    dt__free(l->v);
}

/* Adds sp (moved) to l; a spec with the same key replaces the earlier one. */
static int slist_put(slist *l, pspec *sp) {
    for (size_t i = 0; i < l->n; i++)
        if (dt_value_equal(&l->v[i].key, &sp->key)) {
            sp->order = l->v[i].order;
            spec_release(&l->v[i]);
            l->v[i] = *sp;
            memset(sp, 0, sizeof *sp);
            return DT_OK;
        }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        pspec *nv = dt__realloc(l->v, cap * sizeof *nv);
        if (!nv) return nomem();
        l->v = nv;
        l->cap = cap;
    }
    sp->order = l->n;
    l->v[l->n++] = *sp;
    memset(sp, 0, sizeof *sp);
    return DT_OK;
}

static int spec_cmp(const void *a, const void *b) {
    const pspec *x = a, *y = b;
    if (x->kind != y->kind) return x->kind == PK_DBID ? -1 : 1;
    if (x->aid != y->aid) return x->aid < y->aid ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int parse_pattern(cctx *c, const dt_value *v, ppat **out);

/* One entry {attr-spec pattern-or-recursion} of a map spec. */
static int parse_map_entry(cctx *c, const dt_value *k, const dt_value *v, pspec *sp) {
    int rc = parse_attr_spec(c, k, sp);
    if (rc != DT_OK) return rc;
    if (sp->kind != PK_ATTR || !sp->ref) return perr(c, k, "a map spec needs a ref attribute");
    if (is_named(v, "...")) {
        sp->recursive = 1;
        sp->rec_id = c->p->nrec++;
        sp->sub = NULL;
        return DT_OK;
    }
    if (v->type == DT_LONG) {
        if (v->u.i <= 0) return perr(c, v, "a recursion limit must be positive");
        sp->recursive = 1;
        sp->rec_limit = v->u.i;
        sp->rec_id = c->p->nrec++;
        sp->sub = NULL;
        return DT_OK;
    }
    if (!is_seq(v))
        return perr(c, v, "expected a pattern, ... or a recursion limit after %s",
                    k->type == DT_KEYWORD ? k->u.s.ptr : "the attribute");
    ppat *sub;
    if (c->depth >= PULL_MAX_PATTERN_DEPTH)
        return dt__seterr(NULL, DT_LIMIT, "pull: pattern nested deeper than %d levels",
                          PULL_MAX_PATTERN_DEPTH);
    c->depth++;
    rc = parse_pattern(c, v, &sub);
    c->depth--;
    if (rc != DT_OK) return rc;
    sp->sub = sub;
    return DT_OK;
}

static int parse_pattern(cctx *c, const dt_value *v, ppat **out) {
    *out = NULL;
    if (!is_seq(v)) return perr(c, v, "a pattern must be a vector");
    ppat *pat;
    int rc = new_pat(c, &pat);
    if (rc != DT_OK) return rc;
    slist fwd = {0}, rev = {0};
    pspec sp;
    memset(&sp, 0, sizeof sp);
    for (size_t i = 0; i < v->u.seq.n && rc == DT_OK; i++) {
        const dt_value *it = &v->u.seq.items[i];
        if (is_wildcard(it)) {
            pat->wildcard = 1;
        } else if (it->type == DT_MAP) {
            if (it->u.seq.n == 0) rc = perr(c, it, "an empty map spec");
            for (size_t j = 0; j + 1 < it->u.seq.n && rc == DT_OK; j += 2) {
                rc = parse_map_entry(c, &it->u.seq.items[j], &it->u.seq.items[j + 1], &sp);
                if (rc == DT_OK) rc = slist_put(sp.reverse ? &rev : &fwd, &sp);
            }
        } else {
            rc = parse_attr_spec(c, it, &sp);
            if (rc == DT_OK) rc = slist_put(sp.reverse ? &rev : &fwd, &sp);
        }
    }
    spec_release(&sp);
    if (rc != DT_OK) {
        slist_release(&fwd);
        slist_release(&rev);
        return rc;
    }
    if (fwd.n > 1) qsort(fwd.v, fwd.n, sizeof *fwd.v, spec_cmp);
    pat->fwd = fwd.v;
    pat->nfwd = fwd.n;
    pat->rev = rev.v;
    pat->nrev = rev.n;
    pat->has_dbid = fwd.n > 0 && fwd.v[0].kind == PK_DBID;
    for (size_t i = 0; i < fwd.n; i++)
        if (fwd.v[i].aid) {
            if (!pat->lo) pat->lo = fwd.v[i].aid;
            pat->hi = fwd.v[i].aid;
        }
    *out = pat;
    return DT_OK;
}

int dq_pull_compile(dt_db *db, const dt_value *pattern, dq_pull **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dq_pull_compile: NULL out");
    *out = NULL;
    if (!dl_db_ok(db) || !pattern)
        return dt__seterr(NULL, DT_MISUSE, "dq_pull_compile: bad arguments");
    dq_pull *p = dt__calloc(1, sizeof *p);
    if (!p) return nomem();
    int rc = dt_value_text(DT_KEYWORD, "db/id", 5, &p->dbid_spec.key);
    if (rc != DT_OK) {
        dq_pull_free(p);
        return nomem();
    }
    p->dbid_spec.kind = PK_DBID;
    p->ref_default.fwd = &p->dbid_spec;
    p->ref_default.nfwd = 1;
    p->ref_default.has_dbid = 1;
    p->comp_default = p->ref_default;
    p->comp_default.wildcard = 1;
    cctx c = {dl_db_schema(db), p, pattern, 0};
    if ((rc = parse_pattern(&c, pattern, &p->root)) != DT_OK) {
        dq_pull_free(p);
        return rc;
    }
    if (dt_value_copy(pattern, &p->pattern) != DT_OK) {
        dq_pull_free(p);
        return nomem();
    }
    p->schema = dl_schema_retain((dl_schema *)dl_db_schema(db));
    *out = p;
    return DT_OK;
}

/* }====== */

/* {====== Running ====== */

/* dt_value_nil, inline (hot paths). */
static inline void vnil(dt_value *v) { memset(v, 0, sizeof *v); }

/* *dst = *src in the widths values are written in (the type, then two
 * words): values made just before (decoded, a key copied, a long set)
 * were stored field by field, and a whole-struct copy reads them back with
 * a 16-byte load that store forwarding cannot serve (perf: half of
 * vbuf_push and push_dent). */
static inline void vmove(dt_value *dst, const dt_value *src) {
    uint64_t a, b;
    memcpy(&a, (const char *)&src->u, 8);
    memcpy(&b, (const char *)&src->u + 8, 8);
#if defined(__GNUC__)
    __asm__("" : "+r"(a), "+r"(b)); /* keeps the two loads apart */
#endif
    dst->type = src->type;
    memcpy((char *)&dst->u, &a, 8);
    memcpy((char *)&dst->u + 8, &b, 8);
}

/* A copy of a result key on the heap: keywords and strings with one
 * allocation. */
static int key_copy(const dt_value *k, dt_value *out) {
    if (k->type == DT_KEYWORD || k->type == DT_STRING) {
        char *p = dt__malloc(k->u.s.len + 1);
        if (!p) return DT_NOMEM;
        memcpy(p, k->u.s.ptr, k->u.s.len);
        p[k->u.s.len] = '\0';
        out->type = k->type;
        out->u.s.ptr = p;
        out->u.s.len = k->u.s.len;
        return DT_OK;
    }
    return dt_value_copy(k, out);
}

/* A set of entity ids (the entities on the current recursive path):
 * open addressing, 0 is the empty slot (ids are positive). */
typedef struct idset {
    int64_t *v;
    size_t cap, n; /* cap: a power of two */
} idset;

/* The first table (16 KiB): the per-thread cache of dq_mem keeps it from
 * one pull to the next. */
#define IDSET_MIN (DQ_MEM_CACHED / sizeof(int64_t))

static size_t id_hash(int64_t e, size_t cap) {
    uint64_t h = (uint64_t)e * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 17) & (cap - 1);
}

static int idset_has(const idset *s, int64_t e) {
    if (!s->n) return 0;
    for (size_t i = id_hash(e, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == e) return 1;
        if (s->v[i] == 0) return 0;
    }
}

PULL_NOINLINE static int idset_add(idset *s, int64_t e) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : IDSET_MIN;
        int64_t *nv = dq_mem_alloc(cap * sizeof *nv);
        if (!nv) return nomem();
        memset(nv, 0, cap * sizeof *nv);
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = id_hash(s->v[i], cap);
                while (nv[j]) j = (j + 1) & (cap - 1);
                nv[j] = s->v[i];
            }
        dq_mem_free(s->v);
        s->v = nv;
        s->cap = cap;
    }
    size_t i = id_hash(e, s->cap);
    while (s->v[i]) i = (i + 1) & (s->cap - 1);
    s->v[i] = e;
    s->n++;
    return DT_OK;
}

/* Removes e (present) with backward-shift deletion. */
static void idset_del(idset *s, int64_t e) {
    size_t m = s->cap - 1, i = id_hash(e, s->cap);
    while (s->v[i] != e) i = (i + 1) & m;
    size_t j = i;
    for (;;) {
        s->v[i] = 0;
        for (;;) {
            j = (j + 1) & m;
            if (s->v[j] == 0) {
                s->n--;
                return;
            }
            size_t k = id_hash(s->v[j], s->cap);
            /* move v[j] to i unless its home k lies cyclically in (i, j] */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
            break;
        }
        s->v[i] = s->v[j];
        i = j;
    }
}

/* One datom of an entity being pulled: its attribute and decoded value. */
typedef struct dent {
    uint32_t aid;
    dt_value v;
} dent;

typedef struct rctx {
    const dq_pull *p;
    const dl_store *st;
    dt_kv_txn *txn;
    dt_db *db;
    const dl_schema *s;
    dl_cursor cur;  /* EAV: the datoms of an entity */
    dl_cursor rcur; /* AVE: reverse lookups (opened when first needed) */
    int cur_open, rcur_open;
    dent *d; /* datoms of the entities of all levels being built */
    size_t nd, capd;
    int64_t *lim; /* per recursive spec: levels left, -1: not entered */
    idset seen;
    unsigned depth;
    dt_buf enc;
    /* where the result goes: NULL, the heap (the caller owns every part
     * of it); else an arena that owns it all (values then share parts) */
    dq_arena *ar;
    dl_alloc al; /* decoding into ar */
    /* in the arena, each key is copied once per run: the keys' texts (in
     * the pattern or the schema) and their copies, open addressing */
    const char *key_src[PULL_KEY_SLOTS];
    dt_value key_copy[PULL_KEY_SLOTS];
} rctx;

/* The result's copy of key k: in the arena, shared by every map of the
 * run that has it. */
static int rkey(rctx *r, const dt_value *k, dt_value *out) {
    if (!r->ar) return key_copy(k, out);
    if (k->type != DT_KEYWORD && k->type != DT_STRING)
        return dq_arena_copy_value(r->ar, k, out) == DT_OK ? DT_OK : nomem();
    const char *src = k->u.s.ptr;
    size_t i = (size_t)(((uintptr_t)src >> 4) * 0x9E3779B97F4A7C15ULL >> 58) % PULL_KEY_SLOTS;
    for (size_t probe = 0; probe < PULL_KEY_SLOTS; probe++, i = (i + 1) % PULL_KEY_SLOTS) {
        if (r->key_src[i] == src && r->key_copy[i].type == k->type) {
            vmove(out, &r->key_copy[i]);
            return DT_OK;
        }
        if (!r->key_src[i]) {
            if (dq_arena_copy_value(r->ar, k, &r->key_copy[i]) != DT_OK) return nomem();
            r->key_src[i] = src;
            vmove(out, &r->key_copy[i]);
            return DT_OK;
        }
    }
    return dq_arena_copy_value(r->ar, k, out) == DT_OK ? DT_OK : nomem(); /* table full */
}

/* Frees what v owns (nothing for a value in the arena); v becomes nil. */
static inline void rfree(const rctx *r, dt_value *v) {
    if (r->ar)
        vnil(v);
    else
        dt_value_free(v);
}

/* A copy of v for the result: deep on the heap; in the arena, the value
 * itself when it is already there (the arena's values are read-only, so
 * they may share parts). */
static int rcopy(const rctx *r, const dt_value *v, int in_arena, dt_value *out) {
    if (r->ar && in_arena) {
        vmove(out, v);
        return DT_OK;
    }
    int rc = r->ar ? dq_arena_copy_value(r->ar, v, out) : dt_value_copy(v, out);
    if (rc != DT_OK) {
        vnil(out);
        return nomem();
    }
    return DT_OK;
}

/* A growable vector of values being built (items handed to the result). */
typedef struct vbuf {
    dt_value *v;
    size_t n, cap;
} vbuf;

/* Room for n items in all.  In the arena a new array (the old one stays
 * there: reserve the right size first). */
static int vbuf_reserve(const rctx *r, vbuf *b, size_t n) {
    if (n <= b->cap) return DT_OK;
    dt_value *nv;
    if (r->ar) {
        nv = dq_arena_alloc(r->ar, n * sizeof *nv);
        if (nv && b->n) memcpy(nv, b->v, b->n * sizeof *nv);
    } else {
        nv = dt__realloc(b->v, n * sizeof *nv);
    }
    if (!nv) return nomem();
    b->v = nv;
    b->cap = n;
    return DT_OK;
}

static int vbuf_push(const rctx *r, vbuf *b, dt_value *x) {
    if (b->n == b->cap && vbuf_reserve(r, b, b->cap ? b->cap * 2 : 8) != DT_OK) {
        rfree(r, x);
        return nomem();
    }
    vmove(&b->v[b->n++], x);
    vnil(x);
    return DT_OK;
}

static void vbuf_release(const rctx *r, vbuf *b) {
    if (!r->ar) {
        for (size_t i = 0; i < b->n; i++) dt_value_free(&b->v[i]);
        dt__free(b->v);
    }
    b->v = NULL;
    b->n = b->cap = 0;
}

/* Moves the items into *out as a compound of `type` (nil-safe when empty). */
static void vbuf_take(vbuf *b, dt_type type, dt_value *out) {
    out->type = type;
    out->u.seq.items = b->v;
    out->u.seq.n = b->n;
    b->v = NULL;
    b->n = b->cap = 0;
}

/* Adds key (copied) -> *val (moved) to the map being built. */
static int put_kv(rctx *r, vbuf *m, const dt_value *key, dt_value *val) {
    /* the room is usually reserved already (a map's specs and datoms) */
    size_t want = m->cap ? 2 * m->cap : 8;
    if ((m->n + 2 > m->cap && vbuf_reserve(r, m, want < m->n + 2 ? m->n + 2 : want) != DT_OK) ||
        rkey(r, key, &m->v[m->n]) != DT_OK) {
        rfree(r, val);
        return nomem();
    }
    vmove(&m->v[m->n + 1], val);
    vnil(val);
    m->n += 2;
    return DT_OK;
}

PULL_NOINLINE static int dbid_map(rctx *r, const dt_value *key, int64_t e, dt_value *out) {
    vbuf m = {0};
    dt_value id;
    dt_value_long(e, &id);
    int rc = vbuf_reserve(r, &m, 2);
    if (rc == DT_OK) rc = put_kv(r, &m, key, &id);
    if (rc != DT_OK) {
        vbuf_release(r, &m);
        return rc;
    }
    vbuf_take(&m, DT_MAP, out);
    return DT_OK;
}

static int push_dent(rctx *r, uint32_t aid, dt_value *v) {
    if (r->nd == r->capd) {
        /* the first block comes from (and goes back to) the per-thread
         * cache of dq_mem: no allocation per pull, and no large request
         * that would make malloc consolidate the last tree's small blocks */
        size_t cap = r->capd ? r->capd * 2 : (DQ_MEM_CACHED + sizeof(dent) - 1) / sizeof(dent);
        dent *nd = dq_mem_realloc(r->d, cap * sizeof *nd);
        if (!nd) {
            rfree(r, v);
            return nomem();
        }
        r->d = nd;
        r->capd = cap;
    }
    r->d[r->nd].aid = aid;
    vmove(&r->d[r->nd].v, v);
    r->nd++;
    vnil(v);
    return DT_OK;
}

static void pop_dents(rctx *r, size_t base) {
    if (r->ar) {
        r->nd = base;
        return;
    }
    while (r->nd > base) dt_value_free(&r->d[--r->nd].v);
}

static int pull_entity(rctx *r, const ppat *pat, int64_t e, dt_value *out);

/* The value a ref to eid gives under spec sp of pattern pat (nil: drop). */
static int pull_ref(rctx *r, const pspec *sp, const ppat *pat, int64_t eid, dt_value *out) {
    vnil(out);
    if (!sp->recursive && !sp->component) return pull_entity(r, sp->sub, eid, out);
    if (idset_has(&r->seen, eid)) return dbid_map(r, &r->p->dbid_spec.key, eid, out);
    int64_t old = 0;
    if (sp->recursive) {
        old = r->lim[sp->rec_id];
        if (old == 0) return DT_OK; /* depth reached */
        r->lim[sp->rec_id] = old > 0 ? old - 1 : sp->rec_limit > 0 ? sp->rec_limit - 1 : -1;
    }
    int rc = idset_add(&r->seen, eid);
    if (rc == DT_OK) {
        rc = pull_entity(r, sp->recursive ? pat : sp->sub, eid, out);
        idset_del(&r->seen, eid);
    }
    if (sp->recursive) r->lim[sp->rec_id] = old;
    return rc;
}

/*
 * The value of forward spec sp over the entity's datoms d[b..en) of its
 * attribute (moved out when `last`, copied otherwise); *out nil when it
 * gives nothing.
 */
static int forward_value(rctx *r, const pspec *sp, const ppat *pat, size_t b, size_t en, int last,
                         dt_value *out) {
    vnil(out);
    int rc = DT_OK;
    if (!sp->many) {
        if (!sp->ref) {
            if (last) {
                *out = r->d[b].v;
                vnil(&r->d[b].v);
                return DT_OK;
            }
            return rcopy(r, &r->d[b].v, 1, out);
        }
        return pull_ref(r, sp, pat, r->d[b].v.u.i, out);
    }
    vbuf acc = {0};
    size_t want = en - b;
    if (sp->limit && want > (size_t)sp->limit) want = (size_t)sp->limit;
    rc = vbuf_reserve(r, &acc, want);
    for (size_t i = b; i < en && rc == DT_OK; i++) {
        if (sp->limit && acc.n >= (size_t)sp->limit) break;
        dt_value x;
        if (sp->ref) {
            rc = pull_ref(r, sp, pat, r->d[i].v.u.i, &x);
            if (rc == DT_OK && x.type != DT_NIL) rc = vbuf_push(r, &acc, &x);
        } else if (last) {
            x = r->d[i].v;
            vnil(&r->d[i].v);
            rc = vbuf_push(r, &acc, &x);
        } else {
            rc = rcopy(r, &r->d[i].v, 1, &x);
            if (rc == DT_OK) rc = vbuf_push(r, &acc, &x);
        }
    }
    if (rc != DT_OK || acc.n == 0) {
        vbuf_release(r, &acc);
        return rc;
    }
    vbuf_take(&acc, DT_VECTOR, out);
    return DT_OK;
}

/* The spec wildcard pulls use for an attribute no spec names. */
static void implicit_spec(const rctx *r, const dl_attr *a, pspec *sp) {
    /* field by field: a memset of the struct became a rep stos, slow to
     * start, once per attribute of every entity a wildcard pulls */
    sp->reverse = 0;
    vnil(&sp->key);
    sp->has_default = 0;
    vnil(&sp->def);
    sp->recursive = 0;
    sp->rec_limit = 0;
    sp->rec_id = 0;
    sp->order = 0;
    sp->kind = PK_ATTR;
    sp->aid = a->aid;
    sp->many = a->many;
    sp->ref = a->vtype == DT_REF;
    sp->component = a->component;
    sp->limit = a->many ? PULL_DEFAULT_LIMIT : 0;
    sp->sub = sp->component ? &r->p->comp_default : &r->p->ref_default;
}

/* 1 when every pull through ref spec sp gives a map (so values beyond
 * its :limit are never needed): the sub-pattern has :db/id or *. */
static int never_nil(const pspec *sp) {
    return !sp->recursive && sp->sub && (sp->sub->has_dbid || sp->sub->wildcard);
}

/* Reads the datoms of e the forward part of pat needs onto the stack. */
PULL_NOINLINE static int read_datoms(rctx *r, const ppat *pat, int64_t e) {
    size_t first = pat->has_dbid ? 1 : 0;
    if (!pat->wildcard && !pat->hi) return DT_OK;
    /* no until bound: bounds take the cursor off its fast path, so the
     * loop stops itself after the last attribute */
    dl_ikey from = {.n = pat->wildcard ? 1 : 2, .e = e, .aid = pat->wildcard ? 0 : pat->lo};
    uint32_t hi = pat->wildcard ? UINT32_MAX : pat->hi;
    int rc = dl_cursor_seek(&r->cur, &from, 1, NULL);
    if (rc != DT_OK) return rc;
    size_t si = first;         /* next spec to match (not wildcard) */
    uint32_t cur_aid = 0;      /* attribute of the datoms being counted */
    size_t count = 0, cap = 0; /* values read of cur_aid; cap: 0 = all */
    dl_datom d;
    while ((rc = dl_cursor_next(&r->cur, &d)) == DT_ROW) {
        if (d.aid > hi) break;
        if (d.aid != cur_aid) {
            cur_aid = d.aid;
            count = 0;
            while (si < pat->nfwd && pat->fwd[si].aid < d.aid) si++;
            int named = si < pat->nfwd && pat->fwd[si].aid == d.aid;
            if (!named && !pat->wildcard) {
                cap = (size_t)-1; /* skip */
            } else {
                /* the most values any spec of this attribute keeps */
                cap = 0;
                int unlimited = 0;
                if (named) {
                    for (size_t k = si; k < pat->nfwd && pat->fwd[k].aid == d.aid; k++) {
                        const pspec *sp = &pat->fwd[k];
                        if (!sp->many || !sp->limit || (sp->ref && !never_nil(sp)))
                            unlimited = 1; /* nil pulls are dropped: keep all */
                        else if ((size_t)sp->limit > cap)
                            cap = (size_t)sp->limit;
                    }
                } else {
                    const dl_attr *a = dl_schema_by_aid(r->s, d.aid);
                    if (a && a->many && a->vtype != DT_REF)
                        cap = PULL_DEFAULT_LIMIT;
                    else
                        unlimited = 1;
                }
                if (unlimited) cap = 0;
            }
        }
        if (cap == (size_t)-1 || (cap && count >= cap)) continue;
        count++;
        dt_kv_bytes full = {d.v, d.vlen}; /* the key holds the full value ... */
        if (d.truncated && (rc = dl_cursor_value(&r->cur, &full)) != DT_OK)
            return rc; /* ... unless it is a long one */
        dt_value v;
        size_t used;
        if ((rc = dl_codec_decode_in(full.ptr, full.len, r->ar ? &r->al : NULL, &v, &used)) !=
            DT_OK) {
            if (rc == DT_NOTFOUND)
                rc = dt__seterr(NULL, DT_CORRUPT, "pull: value of entity %lld is cut short",
                                (long long)e);
            return rc;
        }
        if ((rc = push_dent(r, d.aid, &v)) != DT_OK) return rc;
    }
    return rc == DT_DONE || rc == DT_ROW ? DT_OK : rc;
}

/* Adds the reverse spec sp's value for e to map m. */
PULL_NOINLINE static int add_reverse(rctx *r, const pspec *sp, const ppat *pat, int64_t e,
                                     vbuf *m) {
    size_t base = r->nd;
    int rc = DT_OK;
    if (sp->aid) {
        dt_value ref;
        dt_value_ref(e, &ref);
        r->enc.len = 0;
        if ((rc = dl_codec_encode(&ref, &r->enc)) != DT_OK) return rc;
        if (!r->rcur_open) {
            if ((rc = dl_db_cursor_open(&r->rcur, r->db, DL_INDEX_AVE)) != DT_OK) return rc;
            r->rcur_open = 1;
        }
        dl_ikey from = {.n = 2, .aid = sp->aid, .v = r->enc.p, .vlen = r->enc.len};
        if ((rc = dl_cursor_seek(&r->rcur, &from, 2, NULL)) != DT_OK) return rc;
        /* a component's owner is one entity; else read up to the limit
         * unless nested pulls may give nil (dropped: read all) */
        size_t want = sp->component ? 1 : never_nil(sp) ? (size_t)sp->limit : 0;
        dl_datom d;
        while ((rc = dl_cursor_next(&r->rcur, &d)) == DT_ROW) {
            dt_value x;
            dt_value_ref(d.e, &x);
            if ((rc = push_dent(r, sp->aid, &x)) != DT_OK) return rc;
            if (want && r->nd - base >= want) break;
        }
        if (rc == DT_DONE) rc = DT_OK;
        if (rc != DT_ROW && rc != DT_OK) return rc;
        rc = DT_OK;
    }
    size_t n = r->nd - base;
    dt_value val = DT_VALUE_NIL;
    if (n == 0) {
        if (sp->has_default) rc = rcopy(r, &sp->def, 0, &val);
    } else if (sp->component) {
        rc = pull_ref(r, sp, pat, r->d[base].v.u.i, &val);
    } else {
        vbuf acc = {0};
        for (size_t i = base; i < base + n && rc == DT_OK; i++) {
            if (sp->limit && acc.n >= (size_t)sp->limit) break;
            dt_value x;
            rc = pull_ref(r, sp, pat, r->d[i].v.u.i, &x);
            if (rc == DT_OK && x.type != DT_NIL) rc = vbuf_push(r, &acc, &x);
        }
        if (rc == DT_OK && acc.n)
            vbuf_take(&acc, DT_VECTOR, &val);
        else
            vbuf_release(r, &acc);
    }
    pop_dents(r, base);
    if (rc == DT_OK && val.type != DT_NIL) rc = put_kv(r, m, &sp->key, &val);
    rfree(r, &val);
    return rc;
}

/* Adds forward spec sp's value (datoms d[b..en), none when b == en). */
static int add_forward(rctx *r, const pspec *sp, const ppat *pat, int64_t e, size_t b, size_t en,
                       int last, vbuf *m) {
    dt_value val = DT_VALUE_NIL;
    int rc = DT_OK;
    if (sp->kind == PK_DBID) {
        dt_value_long(e, &val);
    } else if (b == en) {
        if (sp->has_default) rc = rcopy(r, &sp->def, 0, &val);
    } else {
        rc = forward_value(r, sp, pat, b, en, last, &val);
    }
    if (rc == DT_OK && val.type != DT_NIL) rc = put_kv(r, m, &sp->key, &val);
    rfree(r, &val);
    return rc;
}

/* Adds what the wildcard gives for attribute a (datoms d[b..en)).  Out of
 * line: its locals stay off the stack frame of the recursion. */
PULL_NOINLINE static int add_implicit(rctx *r, const dl_attr *a, const ppat *pat, size_t b,
                                      size_t en, vbuf *m) {
    pspec isp;
    implicit_spec(r, a, &isp);
    dt_value val, key;
    int rc = forward_value(r, &isp, pat, b, en, 1, &val);
    if (rc == DT_OK && val.type != DT_NIL) {
        dt_value ident = {.type = DT_KEYWORD};
        ident.u.s.ptr = a->ident;
        ident.u.s.len = a->ident_len;
        if (rkey(r, &ident, &key) != DT_OK) rc = nomem();
        if (rc == DT_OK) rc = vbuf_push(r, m, &key);
        if (rc == DT_OK) rc = vbuf_push(r, m, &val);
    }
    rfree(r, &val);
    return rc;
}

static int pull_entity(rctx *r, const ppat *pat, int64_t e, dt_value *out) {
    vnil(out);
    if (r->depth >= PULL_MAX_DEPTH)
        return dt__seterr(NULL, DT_LIMIT, "pull: entities nested deeper than %d levels",
                          PULL_MAX_DEPTH);
    r->depth++;
    size_t base = r->nd;
    vbuf m = {0};
    int rc = read_datoms(r, pat, e);
    size_t end = r->nd;
    if (rc == DT_OK) {
        size_t groups = 0;
        for (size_t i = base; i < end; i++) groups += i == base || r->d[i].aid != r->d[i - 1].aid;
        rc = vbuf_reserve(r, &m, 2 * (pat->nfwd + pat->nrev + groups + 1));
    }
    /* merge the specs (by aid) with the datom groups (by aid) */
    size_t si = 0, di = base;
    if (rc == DT_OK && pat->wildcard && !pat->has_dbid) {
        dt_value id;
        dt_value_long(e, &id);
        rc = put_kv(r, &m, &r->p->dbid_spec.key, &id);
    }
    while (rc == DT_OK && (si < pat->nfwd || di < end)) {
        const pspec *sp = si < pat->nfwd ? &pat->fwd[si] : NULL;
        if (sp && (sp->kind == PK_DBID || sp->aid == 0)) { /* no datoms */
            rc = add_forward(r, sp, pat, e, di, di, 0, &m);
            si++;
            continue;
        }
        uint32_t gaid = di < end ? r->d[di].aid : UINT32_MAX;
        size_t ge = di;
        while (ge < end && r->d[ge].aid == gaid) ge++;
        if (sp && sp->aid < gaid) { /* a spec without datoms */
            rc = add_forward(r, sp, pat, e, di, di, 0, &m);
            si++;
        } else if (sp && sp->aid == gaid) { /* every spec of this attribute */
            while (rc == DT_OK && si < pat->nfwd && pat->fwd[si].aid == gaid) {
                int last = !(si + 1 < pat->nfwd && pat->fwd[si + 1].aid == gaid);
                rc = add_forward(r, &pat->fwd[si], pat, e, di, ge, last, &m);
                si++;
            }
            di = ge;
        } else { /* datoms no spec names: the wildcard's */
            const dl_attr *a = dl_schema_by_aid(r->s, gaid);
            if (a && pat->wildcard) rc = add_implicit(r, a, pat, di, ge, &m);
            di = ge;
        }
    }
    pop_dents(r, base);
    for (size_t i = 0; rc == DT_OK && i < pat->nrev; i++)
        rc = add_reverse(r, &pat->rev[i], pat, e, &m);
    r->depth--;
    if (rc != DT_OK || m.n == 0) {
        vbuf_release(r, &m);
        return rc;
    }
    vbuf_take(&m, DT_MAP, out);
    return DT_OK;
}

static void *arena_alloc(void *ar, size_t n) { return dq_arena_alloc(ar, n); }

/* Sets up the state of runs of p on db (whose schema p was compiled for),
 * the results on the heap (ar NULL) or in arena ar. */
static int run_begin(rctx *r, const dq_pull *p, dt_db *db, dq_arena *ar) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->ar = ar;
    r->al.alloc = arena_alloc;
    r->al.ctx = ar;
    r->st = dl_db_store(db);
    r->txn = dl_db_txn(db);
    r->db = db;
    r->s = dl_db_schema(db);
    r->enc = (dt_buf)DT_BUF_INIT;
    if (!r->txn) return dt__seterr(NULL, DT_MISUSE, "pull: the snapshot has no transaction");
    dt_view_info vi;
    if (dt_db_view_info(db, &vi) == DT_OK && vi.history)
        return dt__seterr(NULL, DT_INVALID,
                          "pull: a history view holds no entity at one time (use an as-of view)");
    int rc = dl_db_cursor_open(&r->cur, db, DL_INDEX_EAV);
    if (rc != DT_OK) return rc;
    r->cur_open = 1;
    if (p->nrec) {
        r->lim = dt__malloc(p->nrec * sizeof *r->lim);
        if (!r->lim) return nomem();
        for (size_t i = 0; i < p->nrec; i++) r->lim[i] = -1;
    }
    return DT_OK;
}

static void run_end(rctx *r) {
    if (r->cur_open) dl_cursor_close(&r->cur);
    if (r->rcur_open) dl_cursor_close(&r->rcur);
    pop_dents(r, 0);
    dq_mem_free(r->d);
    dt__free(r->lim);
    dq_mem_free(r->seen.v);
    dt_buf_release(&r->enc);
}

/* One pull in a run (the recursion leaves the levels and the path as it
 * found them, also on errors). */
static int run_one(rctx *r, int64_t eid, dt_value *out) {
    int rc = pull_entity(r, r->p->root, eid, out);
    if (rc != DT_OK) rfree(r, out);
    return rc;
}

int dq_pull_run(const dq_pull *p, dt_db *db, int64_t eid, dq_arena *ar, dt_value *out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dq_pull_run: NULL out");
    vnil(out);
    if (!p || !dl_db_ok(db)) return dt__seterr(NULL, DT_MISUSE, "dq_pull_run: bad arguments");
    if (dl_db_schema(db) != p->schema) {
        /* another database, or the schema changed since: attribute ids
         * and kinds are the schema's, so compile again for this one */
        dq_pull *q = NULL;
        int rc = dq_pull_compile(db, &p->pattern, &q);
        if (rc == DT_OK) rc = dq_pull_run(q, db, eid, ar, out);
        dq_pull_free(q);
        return rc;
    }
    rctx r;
    int rc = run_begin(&r, p, db, ar);
    if (rc == DT_OK) rc = run_one(&r, eid, out);
    run_end(&r);
    return rc;
}

int dq_pull_run_many(const dq_pull *p, dt_db *db, const int64_t *eids, size_t n, dq_arena *ar,
                     dt_value *outs) {
    if (!outs && n) return dt__seterr(NULL, DT_MISUSE, "dq_pull_run_many: NULL outs");
    for (size_t i = 0; i < n; i++) vnil(&outs[i]);
    if (!p || !dl_db_ok(db) || (!eids && n))
        return dt__seterr(NULL, DT_MISUSE, "dq_pull_run_many: bad arguments");
    if (!n) return DT_OK;
    if (dl_db_schema(db) != p->schema) { /* as dq_pull_run */
        dq_pull *q = NULL;
        int rc = dq_pull_compile(db, &p->pattern, &q);
        if (rc == DT_OK) rc = dq_pull_run_many(q, db, eids, n, ar, outs);
        dq_pull_free(q);
        return rc;
    }
    rctx r;
    int rc = run_begin(&r, p, db, ar);
    for (size_t i = 0; rc == DT_OK && i < n; i++) rc = run_one(&r, eids[i], &outs[i]);
    if (rc != DT_OK)
        for (size_t i = 0; i < n; i++) rfree(&r, &outs[i]);
    run_end(&r);
    return rc;
}

/* }====== */

/* {====== Public functions ====== */

/* Resolves an entity reference for pull; the message on the NULL handle. */
static int pull_eid(dt_db *db, const dt_value *eid, int64_t *out) {
    int rc = dl_db_resolve_eref(db, eid, out);
    if (rc != DT_OK && rc != DT_NOMEM) {
        char shown[160], why[DT__ERRMSG_MAX];
        dl_show(eid, shown, sizeof shown);
        snprintf(why, sizeof why, "%s", dt_errmsg(NULL));
        dt__seterr(NULL, rc, "pull: entity %s: %s", shown, why);
    }
    return rc;
}

/* Compiles the pattern text or value; the message on the NULL handle. */
static int compile_text(dt_db *db, const char *pattern, size_t len, dq_pull **out) {
    dt_value pv = DT_VALUE_NIL;
    int rc = dt_edn_read(pattern, len, &pv);
    if (rc != DT_OK) {
        char why[DT__ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", dt_errmsg(NULL));
        dt__seterr(NULL, rc, "pull: pattern: %s", why);
        return rc;
    }
    rc = dq_pull_compile(db, &pv, out);
    dt_value_free(&pv);
    return rc;
}

static int pull_one(dt_db *db, dq_pull *p, const dt_value *eid, dq_arena *ar, dt_value *out) {
    int64_t e = 0;
    int rc = pull_eid(db, eid, &e);
    if (rc == DT_NOTFOUND) return DT_OK; /* no such entity: nil, as DataScript */
    if (rc == DT_OK) rc = dq_pull_run(p, db, e, ar, out);
    return rc;
}

/* dt_pull and dt_pull_in: the result on the heap (ar NULL) or in ar. */
static int pull_text(const char *fname, dt_db *db, const char *pattern, size_t len,
                     const dt_value *eid, dq_arena *ar, dt_value *out) {
    if (out) dt_value_nil(out);
    if (!dl_db_ok(db) || !pattern || !eid || !out)
        return dt__seterr(db, DT_MISUSE, "%s: bad arguments", fname);
    dq_pull *p = NULL;
    int rc = compile_text(db, pattern, len, &p);
    if (rc == DT_OK) rc = pull_one(db, p, eid, ar, out);
    dq_pull_free(p);
    if (rc != DT_OK) dt__moveerr(NULL, db, rc);
    return rc;
}

int dt_pull(dt_db *db, const char *pattern, size_t len, const dt_value *eid, dt_value *out) {
    return pull_text("dt_pull", db, pattern, len, eid, NULL, out);
}

int dt_pull_value(dt_db *db, const dt_value *pattern, const dt_value *eid, dt_value *out) {
    if (out) dt_value_nil(out);
    if (!dl_db_ok(db) || !pattern || !eid || !out)
        return dt__seterr(db, DT_MISUSE, "dt_pull_value: bad arguments");
    dq_pull *p = NULL;
    int rc = dq_pull_compile(db, pattern, &p);
    if (rc == DT_OK) rc = pull_one(db, p, eid, NULL, out);
    dq_pull_free(p);
    if (rc != DT_OK) dt__moveerr(NULL, db, rc);
    return rc;
}

/* dt_pull_many and dt_pull_many_in: the result on the heap (ar NULL) or
 * in ar. */
static int pull_many_text(const char *fname, dt_db *db, const char *pattern, size_t len,
                          const dt_value *eids, size_t n, dq_arena *ar, dt_value *out) {
    if (out) dt_value_nil(out);
    if (!dl_db_ok(db) || !pattern || (!eids && n) || !out)
        return dt__seterr(db, DT_MISUSE, "%s: bad arguments", fname);
    dq_pull *p = NULL;
    int rc = compile_text(db, pattern, len, &p);
    dt_value res = DT_VALUE_NIL;
    if (rc == DT_OK) {
        if (!ar) {
            if (dt_value_seq(DT_VECTOR, n, &res) != DT_OK) rc = nomem();
        } else { /* the vector in the arena too */
            res.type = DT_VECTOR;
            res.u.seq.n = n;
            if (n && !(res.u.seq.items = dq_arena_alloc(ar, n * sizeof(dt_value)))) rc = nomem();
            for (size_t i = 0; rc == DT_OK && i < n; i++) vnil(&res.u.seq.items[i]);
        }
    }
    rctx r;
    int begun = 0;
    if (rc == DT_OK && n) { /* one cursor and one set of buffers for all */
        rc = run_begin(&r, p, db, ar);
        begun = 1;
    }
    for (size_t i = 0; rc == DT_OK && i < n; i++) {
        int64_t e = 0;
        rc = pull_eid(db, &eids[i], &e);
        if (rc == DT_NOTFOUND)
            rc = DT_OK; /* no such entity: nil */
        else if (rc == DT_OK)
            rc = run_one(&r, e, &res.u.seq.items[i]);
    }
    if (begun) run_end(&r);
    dq_pull_free(p);
    if (rc != DT_OK) {
        if (!ar) dt_value_free(&res);
        dt__moveerr(NULL, db, rc);
        return rc;
    }
    *out = res;
    return DT_OK;
}

int dt_pull_many(dt_db *db, const char *pattern, size_t len, const dt_value *eids, size_t n,
                 dt_value *out) {
    return pull_many_text("dt_pull_many", db, pattern, len, eids, n, NULL, out);
}

/* A public arena: the query layer's, behind the handle. */
struct dt_arena {
    dq_arena a;
};

int dt_arena_new(dt_arena **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_arena_new: NULL out");
    *out = dt__malloc(sizeof **out);
    if (!*out) return dt__seterr(NULL, DT_NOMEM, "dt_arena_new: out of memory");
    (*out)->a = (dq_arena)DQ_ARENA_INIT;
    return DT_OK;
}

void dt_arena_reset(dt_arena *a) {
    if (a) dq_arena_reset(&a->a);
}

void dt_arena_free(dt_arena *a) {
    if (!a) return;
    dq_arena_release(&a->a);
    dt__free(a);
}

int dt_pull_in(dt_db *db, const char *pattern, size_t len, const dt_value *eid, dt_arena *arena,
               dt_value *out) {
    if (!arena) {
        if (out) dt_value_nil(out);
        return dt__seterr(db, DT_MISUSE, "dt_pull_in: NULL arena");
    }
    return pull_text("dt_pull_in", db, pattern, len, eid, &arena->a, out);
}

int dt_pull_many_in(dt_db *db, const char *pattern, size_t len, const dt_value *eids, size_t n,
                    dt_arena *arena, dt_value *out) {
    if (!arena) {
        if (out) dt_value_nil(out);
        return dt__seterr(db, DT_MISUSE, "dt_pull_many_in: NULL arena");
    }
    return pull_many_text("dt_pull_many_in", db, pattern, len, eids, n, &arena->a, out);
}

/* }====== */
