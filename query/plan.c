/*
 * plan.c -- the planned evaluator (query layer): dq_eval and dt_explain.
 *
 * A :where is evaluated one step at a time over a table of bindings.  At
 * each step the planner looks at what is bound so far (the columns of the
 * current table, whose exact size it knows) and picks, among the clauses
 * that can run, the one with the smallest estimated result (looking one
 * step ahead among the smallest few: see pick_step), using the
 * store's statistics (datom counts, distinct values) and small exact
 * counts made during planning.  Filters (predicates, not, or over bound
 * variables) run as soon as their variables are bound.  Comparisons of a
 * value with constants become ranges of the AVE scan that binds it.  Rules
 * are materialized bottom-up with a semi-naive fixpoint.  docs/query.md,
 * "How queries are planned", describes it for users.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coerce.h"
#include "codec.h"
#include "db.h"
#include "edn.h"
#include "exec.h"
#include "index.h"
#include "value.h"

/* Internal codes: a shape this evaluator does not plan (dq_eval then runs
 * the reference evaluator), and a rule body that needs bound arguments. */
#define PL_FALLBACK (-1000)
#define PL_UNREADY  (-1001)

/* Cost units: one index seek; one datom read in a scan; one hash probe. */
#define COST_SEEK  1.0
#define COST_SCAN  0.05
#define COST_PROBE 0.08
/* One datom of a scan dropped by an id pre-filter (no decoding).  Timed:
 * a scan join of s datoms and n lookups break even near s = 15 n on the
 * movies queries and above s = 20 n on people20k (q3, q4: 20,000 ages
 * scanned for 1,307 rows beat the lookups by 1.3x); 0.05 sits between. */
#define COST_FSCAN 0.05
/* Exact counts made during planning stop here. */
#define COUNT_CAP 1024
/* A value range is counted further when deciding whether to scan it or
 * look its rows up one by one: ranges are often large (the recent years
 * of a skewed year attribute), and a guess misleads that choice. */
#define RANGE_CAP 4096

/* {====== Values, rows and row sets ====== */

/* Entity ids come as longs; refs from other sources compare as longs. */
static inline dt_type norm_type(dt_type t) { return t == DT_REF ? DT_LONG : t; }

static int val_eq(const dt_value *a, const dt_value *b) {
    dt_type ta = norm_type(a->type), tb = norm_type(b->type);
    if (ta != tb) return 0;
    if (ta == DT_LONG || ta == DT_INSTANT) return a->u.i == b->u.i;
    if (a->type == b->type) return dt_value_equal(a, b);
    /* a long and a ref of the same id */
    return a->u.i == b->u.i;
}

/* A hash set of rows of one table, over some of its columns. */
typedef struct rowset {
    uint32_t *slots; /* row + 1; 0 is empty */
    uint64_t *hashes;
    size_t cap, n;
    const dq_table *t;
    const size_t *idx;
    size_t w;
} rowset;

static uint64_t row_hash(const dt_value *row, const size_t *idx, size_t w) {
    uint64_t h = 0x51ed270b27d3f3a1ULL;
    for (size_t i = 0; i < w; i++) h = dq_mix64(h ^ dq_value_hash(&row[idx[i]]));
    return h;
}

static int row_eq(const dt_value *a, const size_t *ia, const dt_value *b, const size_t *ib,
                  size_t w) {
    for (size_t i = 0; i < w; i++)
        if (!val_eq(&a[ia[i]], &b[ib[i]])) return 0;
    return 1;
}

static void rowset_release(rowset *s) {
    dt__free(s->slots);
    dt__free(s->hashes);
    memset(s, 0, sizeof *s);
}

static int rowset_init(rowset *s, const dq_table *t, const size_t *idx, size_t w, size_t expect) {
    memset(s, 0, sizeof *s);
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    s->slots = dt__calloc(cap, sizeof *s->slots);
    s->hashes = dt__malloc(cap * sizeof *s->hashes);
    if (!s->slots || !s->hashes) {
        rowset_release(s);
        return DT_NOMEM;
    }
    s->cap = cap;
    s->t = t;
    s->idx = idx;
    s->w = w;
    return DT_OK;
}

static int rowset_grow(rowset *s) {
    size_t cap = s->cap * 2;
    uint32_t *slots = dt__calloc(cap, sizeof *slots);
    uint64_t *hashes = dt__malloc(cap * sizeof *hashes);
    if (!slots || !hashes) {
        dt__free(slots);
        dt__free(hashes);
        return DT_NOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i]) continue;
        size_t j = s->hashes[i] & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
        hashes[j] = s->hashes[i];
    }
    dt__free(s->slots);
    dt__free(s->hashes);
    s->slots = slots;
    s->hashes = hashes;
    s->cap = cap;
    return DT_OK;
}

static inline const dt_value *trow(const dq_table *t, size_t r) { return t->cells + r * t->ncols; }

/* Finds a row equal to `row` (over ridx) in the set; returns the slot of
 * the first match or SIZE_MAX. */
static size_t rowset_find(const rowset *s, const dt_value *row, const size_t *ridx, uint64_t h) {
    size_t j = h & (s->cap - 1);
    while (s->slots[j]) {
        if (s->hashes[j] == h && row_eq(trow(s->t, s->slots[j] - 1), s->idx, row, ridx, s->w))
            return j;
        j = (j + 1) & (s->cap - 1);
    }
    return SIZE_MAX;
}

/* Adds row r of the set's table: when `uniq`, only if no equal row is
 * there (*added says).  Several equal rows are kept when !uniq (a
 * multimap for hash joins). */
static int rowset_add(rowset *s, size_t r, int uniq, int *added) {
    if ((s->n + 1) * 2 > s->cap) {
        int rc = rowset_grow(s);
        if (rc != DT_OK) return rc;
    }
    const dt_value *row = trow(s->t, r);
    uint64_t h = row_hash(row, s->idx, s->w);
    if (uniq && rowset_find(s, row, s->idx, h) != SIZE_MAX) {
        if (added) *added = 0;
        return DT_OK;
    }
    size_t j = h & (s->cap - 1);
    while (s->slots[j]) j = (j + 1) & (s->cap - 1);
    s->slots[j] = (uint32_t)(r + 1);
    s->hashes[j] = h;
    s->n++;
    if (added) *added = 1;
    return DT_OK;
}

/* }====== */

/* A set of entity ids (open addressing; ids are positive, 0 is empty):
 * the pre-filter of a scan that feeds a hash join. */
typedef struct idset {
    int64_t *slots;
    size_t cap;
    uint32_t *heads; /* idset_map: the first row (+1) of each id */
    uint32_t *next;  /* idset_map: the next row (+1) with the same id */
    int64_t lo;      /* dense idset_map: heads[id - lo] for lo <= id < lo + span */
    size_t span;
} idset;

static int idset_build(idset *s, const dq_table *t, int col) {
    size_t cap = 16;
    while (cap < t->nrows * 2) cap <<= 1;
    s->slots = dt__calloc(cap, sizeof *s->slots);
    s->cap = cap;
    if (!s->slots) return DT_NOMEM;
    for (size_t r = 0; r < t->nrows; r++) {
        const dt_value *v = &t->cells[r * t->ncols + (size_t)col];
        if ((v->type != DT_LONG && v->type != DT_REF) || v->u.i <= 0) continue;
        size_t j = dq_mix64((uint64_t)v->u.i) & (cap - 1);
        while (s->slots[j] && s->slots[j] != v->u.i) j = (j + 1) & (cap - 1);
        s->slots[j] = v->u.i;
    }
    return DT_OK;
}

/* idset_map: the ids of column col of t, each with the chain of its rows
 * (a hash table of the table for a scan that probes it). */
static int idset_map(idset *s, const dq_table *t, int col) {
    memset(s, 0, sizeof *s);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t r = 0; r < t->nrows; r++) {
        const dt_value *v = &t->cells[r * t->ncols + (size_t)col];
        if ((v->type != DT_LONG && v->type != DT_REF) || v->u.i <= 0) continue;
        if (v->u.i < lo) lo = v->u.i;
        if (v->u.i > hi) hi = v->u.i;
    }
    s->next = dt__malloc((t->nrows + 1) * sizeof *s->next);
    if (!s->next) return DT_NOMEM;
    if (lo <= hi && (uint64_t)(hi - lo) < 16 * (uint64_t)t->nrows + 64) {
        /* dense ids: a direct table instead of hashing */
        s->lo = lo;
        s->span = (size_t)(hi - lo) + 1;
        s->heads = dt__calloc(s->span, sizeof *s->heads);
        if (!s->heads) return DT_NOMEM;
        for (size_t r = t->nrows; r-- > 0;) {
            const dt_value *v = &t->cells[r * t->ncols + (size_t)col];
            s->next[r] = 0;
            if ((v->type != DT_LONG && v->type != DT_REF) || v->u.i <= 0) continue;
            size_t j = (size_t)(v->u.i - lo);
            s->next[r] = s->heads[j];
            s->heads[j] = (uint32_t)(r + 1);
        }
        return DT_OK;
    }
    size_t cap = 16;
    while (cap < t->nrows * 2) cap <<= 1;
    s->slots = dt__calloc(cap, sizeof *s->slots);
    s->heads = dt__calloc(cap, sizeof *s->heads);
    s->cap = cap;
    if (!s->slots || !s->heads) return DT_NOMEM;
    for (size_t r = t->nrows; r-- > 0;) {
        const dt_value *v = &t->cells[r * t->ncols + (size_t)col];
        s->next[r] = 0;
        if ((v->type != DT_LONG && v->type != DT_REF) || v->u.i <= 0) continue;
        size_t j = dq_mix64((uint64_t)v->u.i) & (cap - 1);
        while (s->slots[j] && s->slots[j] != v->u.i) j = (j + 1) & (cap - 1);
        s->slots[j] = v->u.i;
        s->next[r] = s->heads[j];
        s->heads[j] = (uint32_t)(r + 1);
    }
    return DT_OK;
}

static void idset_release(idset *s) {
    dt__free(s->slots);
    dt__free(s->heads);
    dt__free(s->next);
    memset(s, 0, sizeof *s);
}

/* The first row (+1) of id in an idset_map, 0 when none. */
static inline uint32_t idset_first(const idset *s, int64_t id) {
    if (s->span) return (uint64_t)(id - s->lo) < s->span ? s->heads[id - s->lo] : 0;
    size_t j = dq_mix64((uint64_t)id) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == id) return s->heads[j];
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

static inline int idset_has(const idset *s, int64_t id) {
    size_t j = dq_mix64((uint64_t)id) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == id) return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

/* 1 when every value in column col of t is an entity id. */
static int col_all_ids(const dq_table *t, int col) {
    for (size_t r = 0; r < t->nrows; r++) {
        const dt_value *v = &t->cells[r * t->ncols + (size_t)col];
        if (v->type != DT_LONG && v->type != DT_REF) return 0;
    }
    return 1;
}

/* {====== Tables ====== */

static int col_of(const dq_table *t, dq_var v) {
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i] == v) return (int)i;
    return -1;
}

/* Room for one more row; returns its cells (not counted until
 * tab_commit). */
static dt_value *tab_slot(dq_table *t) {
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        size_t w = t->ncols ? t->ncols : 1;
        dt_value *cells = dq_mem_realloc(t->cells, cap * w * sizeof *cells);
        if (!cells) return NULL;
        t->cells = cells;
        t->cap = cap;
    }
    return t->cells + t->nrows * t->ncols;
}

/* Room for n rows in all (a hint from the estimate: one allocation instead
 * of a series of copies as the table grows). */
static void tab_reserve(dq_table *t, double n) {
    if (!(n > (double)t->cap) || n > (double)(1u << 20)) return;
    size_t cap = (size_t)n + 16;
    size_t w = t->ncols ? t->ncols : 1;
    dt_value *cells = dq_mem_realloc(t->cells, cap * w * sizeof *cells);
    if (!cells) return; /* tab_slot will try again */
    t->cells = cells;
    t->cap = cap;
}

static int tab_init_cols(dq_table *t, const dq_var *a, size_t na, const dq_var *b, size_t nb) {
    memset(t, 0, sizeof *t);
    t->cols = dt__malloc((na + nb + 1) * sizeof *t->cols);
    if (!t->cols) return DT_NOMEM;
    if (na) memcpy(t->cols, a, na * sizeof *a);
    if (nb) memcpy(t->cols + na, b, nb * sizeof *b);
    t->ncols = na + nb;
    return DT_OK;
}

static void tab_move(dq_table *dst, dq_table *src) {
    dq_table_release(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

/* The unit table: one row, no columns. */
static int tab_unit(dq_table *t) {
    int rc = tab_init_cols(t, NULL, 0, NULL, 0);
    if (rc != DT_OK) return rc;
    if (!tab_slot(t)) return DT_NOMEM;
    t->nrows = 1;
    return DT_OK;
}

/* }====== */

/* {====== The execution context ====== */

typedef struct attr_stat {
    int loaded;
    uint64_t count, distinct;
    int type_loaded;
    int vtype; /* the one type of all its values (first and last in AVE agree), or -1 */
} attr_stat;

typedef struct step_rec {
    int depth;
    const dt_value *form; /* NULL: an input relation */
    const char *op;
    const char *index;
    char bound[32];
    char range[160];
    double est;
    uint64_t rows;
} step_rec;

/* A materialized rule relation, per rule and source. */
typedef struct rule_rel {
    int state; /* 0 not computed, 1 computing, 2 done, 3 unready (needs bound args) */
    dq_table t;
} rule_rel;

typedef struct ctx {
    dq_exec *x;
    const dq_query *q;
    int depth;
    step_rec *steps;
    size_t nsteps, capsteps;
    attr_stat **stats; /* per source, by aid */
    size_t *nstats;
    rule_rel *rels; /* nrules * nsrcs */
    /* semi-naive evaluation of a recursive component */
    const uint8_t *in_scc; /* rules of the component being solved */
    dq_table **cur;        /* per rule: the relation so far */
    dq_table **delta;      /* per rule: the rows new in the last round */
    const dq_clause *delta_clause;
    uint8_t *reach; /* nrules * nrules: rule r depends on rule s */
} ctx;

/* A scope: the variable table of the query or of one rule body, and the
 * source DQ_SRC_CALLER means. */
typedef struct scope {
    const dq_vars *vars;
    int32_t caller_src;
    const dt_value *const *cval; /* per variable of the query: a plugged-in input, or NULL */
} scope;

static int add_step(ctx *c, const dt_value *form, const char *op, const char *index,
                    const char *bound, const char *range, double est, uint64_t rows) {
    if (!c->x->explain) return DT_OK;
    if (c->nsteps == c->capsteps) {
        size_t cap = c->capsteps ? c->capsteps * 2 : 16;
        step_rec *s = dt__realloc(c->steps, cap * sizeof *s);
        if (!s) return DT_NOMEM;
        c->steps = s;
        c->capsteps = cap;
    }
    step_rec *s = &c->steps[c->nsteps++];
    memset(s, 0, sizeof *s);
    s->depth = c->depth;
    s->form = form;
    s->op = op;
    s->index = index;
    if (bound) snprintf(s->bound, sizeof s->bound, "%s", bound);
    if (range) snprintf(s->range, sizeof s->range, "%s", range);
    s->est = est;
    s->rows = rows;
    return DT_OK;
}

static dt_db *src_db(ctx *c, const scope *sc, int32_t src) {
    if (src == DQ_SRC_CALLER) src = sc->caller_src;
    if (src < 0 || (size_t)src >= c->q->nsrcs) return NULL;
    return c->x->srcs[src];
}

static int32_t src_id(const scope *sc, int32_t src) {
    return src == DQ_SRC_CALLER ? sc->caller_src : src;
}

static int get_stat(ctx *c, int32_t src, const dl_attr *a, attr_stat *out) {
    memset(out, 0, sizeof *out);
    if (src < 0 || (size_t)src >= c->q->nsrcs) return DT_OK;
    if (a->aid >= c->nstats[src]) {
        size_t n = a->aid + 64;
        attr_stat *p = dt__realloc(c->stats[src], n * sizeof *p);
        if (!p) return DT_NOMEM;
        memset(p + c->nstats[src], 0, (n - c->nstats[src]) * sizeof *p);
        c->stats[src] = p;
        c->nstats[src] = n;
    }
    attr_stat *s = &c->stats[src][a->aid];
    if (!s->loaded) {
        dt_db *db = c->x->srcs[src];
        dl_attr_stats st;
        int rc = dl_stats_get(dl_db_store(db), dl_db_txn(db), a->aid, &st);
        if (rc != DT_OK) return rc;
        s->loaded = 1;
        s->count = st.count;
        s->distinct = st.distinct ? st.distinct : 1;
    }
    *out = *s;
    return DT_OK;
}

/* The type every value of attribute a has (declared, or seen at both ends
 * of its AVE range), or -1 when they may differ. */
static int attr_vtype(ctx *c, int32_t src, const dl_attr *a, int *out) {
    *out = -1;
    if (a->vtype != DT_NIL) {
        *out = (int)a->vtype;
        return DT_OK;
    }
    attr_stat st;
    int rc = get_stat(c, src, a, &st);
    if (rc != DT_OK || src < 0 || (size_t)src >= c->q->nsrcs) return rc;
    attr_stat *s = &c->stats[src][a->aid];
    if (!s->type_loaded) {
        dt_db *db = c->x->srcs[src];
        dl_cursor cur;
        s->vtype = -1;
        /* the types of a superset of the view's values: one type there is
         * one type here, and the probe does not step over newer datoms */
        if ((rc = dl_db_cursor_open_wide(&cur, db, DL_INDEX_AVE)) != DT_OK) return rc;
        dl_ikey k = {.n = 1, .aid = a->aid};
        dl_datom d;
        int first = -1, last = -2;
        rc = dl_cursor_seek(&cur, &k, 1, NULL);
        if (rc == DT_OK) {
            int r = dl_cursor_next(&cur, &d);
            if (r == DT_ROW && d.vlen) first = d.v[0];
            if (r != DT_ROW && r != DT_DONE) rc = r;
        }
        if (rc == DT_OK) {
            int r = dl_cursor_last(&cur, &k, &d);
            if (r == DT_ROW && d.vlen) last = d.v[0];
            if (r != DT_ROW && r != DT_DONE) rc = r;
        }
        dl_cursor_close(&cur);
        if (rc != DT_OK) return rc;
        if (first == last) s->vtype = first - (int)DL_CODEC_TAG_BASE;
        s->type_loaded = 1;
    }
    *out = s->vtype;
    return DT_OK;
}

/* }====== */

/* {====== Clause text for messages ====== */

static void clause_text(const dq_clause *cl, char *out, size_t cap) {
    if (cl && cl->form) {
        dl_show(cl->form, out, cap);
    } else {
        snprintf(out, cap, "a clause");
    }
}

static int clause_err(const dq_clause *cl, int rc, const char *what) {
    char t[200];
    clause_text(cl, t, sizeof t);
    if (cl && cl->line)
        return dt__seterr(NULL, rc, "query: %s in %s at %d:%d", what, t, cl->line, cl->col);
    return dt__seterr(NULL, rc, "query: %s in %s", what, t);
}

/* }====== */

/* {====== Variable sets ====== */

/* Variables of a term list. */
static void mark_terms(const dq_term *t, size_t n, uint8_t *set) {
    for (size_t i = 0; i < n; i++)
        if (t[i].kind == DQ_TERM_VAR && t[i].id >= 0) set[t[i].id] = 1;
}

static void mark_binding(const dq_binding *b, uint8_t *set) {
    if (b->kind == DQ_BIND_VAR && b->var >= 0) set[b->var] = 1;
    for (size_t i = 0; i < b->n; i++) mark_binding(&b->items[i], set);
}

/* The variables a clause binds or uses, as they are visible outside it. */
static void clause_vars(const dq_clause *cl, uint8_t *set) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
    case DQ_CL_PRED:
    case DQ_CL_RULE:
        mark_terms(cl->terms, cl->nterms, set);
        break;
    case DQ_CL_FN:
        mark_terms(cl->terms, cl->nterms, set);
        mark_binding(&cl->bind, set);
        break;
    case DQ_CL_AND:
        for (size_t i = 0; i < cl->nclauses; i++) clause_vars(&cl->clauses[i], set);
        break;
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN:
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        for (size_t i = 0; i < cl->nvars; i++) set[cl->vars[i]] = 1;
        break;
    }
}

/* }====== */

/* {====== Patterns ====== */

/* How a pattern position is known for one row. */
enum { P_ABSENT = 0, P_BLANK, P_CONST, P_BOUND, P_NEW, P_REPEAT };

typedef struct pos {
    int kind;
    dq_var var;
    int col;             /* P_BOUND: column of the input table; P_NEW: column of the output */
    int first;           /* P_REPEAT: the position holding the first occurrence */
    const dt_value *val; /* P_CONST: the value (after plugging in inputs) */
} pos;

/* A value bound for an attribute, as the index holds it. */
typedef struct bounds {
    int has_lo, lo_excl, has_hi, hi_excl, has_prefix;
    dt_buf lo, hi, prefix; /* full encodings; prefix: without the text terminator */
    int empty;             /* contradictory: nothing matches */
    const dq_clause *used[8];
    size_t nused;
    char text[160];
} bounds;

typedef struct pat {
    const dq_clause *cl;
    dt_db *db;
    const dl_store *st;
    dt_kv_txn *txn;
    const dl_schema *sch;
    pos p[DQ_MAX_PATTERN]; /* e a v tx added */
    size_t np;
    const dl_attr *attr; /* constant attribute */
    int64_t ce;          /* constant entity */
    int ce_ok;
    dt_buf cv; /* constant value's encoding */
    int cv_ok;
    int64_t ctx_tx;
    int cadd; /* the added position is a constant: the flag it wants */
    int hist; /* the source is a history view (datoms may be retractions) */
    int none; /* constants show that nothing can match */
    bounds rg;
    int has_rg;
    const idset *fe, *fv; /* pre-filters on the entity / ref value (hash join scans) */
    /* scan join: each datom is joined with the rows of jt whose id (the
     * datom's entity, or its ref value when jv) it finds in jm */
    const idset *jm;
    const dq_table *jt;
    int jv;
    size_t col_off; /* new variables' columns start after this many */
} pat;

static void bounds_release(bounds *b) {
    dt_buf_release(&b->lo);
    dt_buf_release(&b->hi);
    dt_buf_release(&b->prefix);
}

static void pat_release(pat *p) {
    dt_buf_release(&p->cv);
    bounds_release(&p->rg);
}

/* memcmp order of full encodings is value order (prefix-free codes). */
static int enc_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int r = memcmp(a, b, n);
    if (r) return r;
    return an < bn ? -1 : an > bn;
}

/* Resolves an entity position value: 1 with *e, 0 when it names nothing
 * (a value that is no entity reference), or minus an error code (a
 * lookup ref or ident that matches nothing). */
static int resolve_entity(pat *p, const dt_value *v, int64_t *e, int is_const) {
    if (v->type == DT_LONG || v->type == DT_REF) {
        *e = v->u.i;
        return v->u.i > 0 ? 1 : 0;
    }
    int lookup = (v->type == DT_VECTOR || v->type == DT_LIST) && v->u.seq.n == 2 &&
                 v->u.seq.items[0].type == DT_KEYWORD;
    if (v->type != DT_KEYWORD && !lookup) {
        if (!is_const) return 0;
        char what[160];
        snprintf(what, sizeof what, "expected an entity id, ident or lookup ref, got %s",
                 dt_type_name(v->type));
        return -clause_err(p->cl, DT_INVALID, what);
    }
    int rc = dl_db_resolve_eref(p->db, v, e);
    if (rc == DT_OK) return 1;
    if (rc == DT_NOTFOUND && !is_const) return 0;
    if (rc == DT_NOTFOUND) {
        char t[120], what[200];
        dl_show(v, t, sizeof t);
        snprintf(what, sizeof what, "%s %s matches no entity", lookup ? "lookup ref" : "ident", t);
        return -clause_err(p->cl, DT_INVALID, what);
    }
    char what[DT__ERRMSG_MAX];
    snprintf(what, sizeof what, "%s", dt_errmsg(NULL));
    return -clause_err(p->cl, rc, what);
}

/* Encodes a value for attribute a into b: 1 ok, 0 when no datom of a can
 * hold it (wrong type), or minus an error code. */
static int encode_for(pat *p, const dl_attr *a, const dt_value *v, dt_buf *b, int is_const) {
    b->len = 0;
    if (a->vtype == DT_REF) {
        int64_t e;
        if (v->type == DT_LONG || v->type == DT_REF) {
            if (v->u.i <= 0) return 0;
            if (dt_buf_reserve(b, 9) != DT_OK) return -DT_NOMEM;
            b->len = dl_codec_put_int(DT_REF, v->u.i, b->p);
            return 1;
        }
        int rc = resolve_entity(p, v, &e, is_const);
        if (rc != 1) return rc;
        if (dt_buf_reserve(b, 9) != DT_OK) return -DT_NOMEM;
        b->len = dl_codec_put_int(DT_REF, e, b->p);
        return 1;
    }
    if (a->vtype == DT_NIL && v->type == DT_REF) {
        dt_value l;
        dt_value_long(v->u.i, &l);
        int rc = dl_coerce(a, &l, b);
        return rc == DT_OK ? 1 : rc == DT_NOMEM ? -DT_NOMEM : 0;
    }
    int rc = dl_coerce(a, v, b);
    if (rc == DT_OK) return 1;
    if (rc == DT_NOMEM) return -DT_NOMEM;
    return 0;
}

/* Decodes the value of datom d (of attribute aid) into *out, with text in
 * the arena. */
static int decode_value(ctx *c, dl_cursor *cur, const dl_datom *d, dt_value *out) {
    const uint8_t *v = d->v;
    size_t n = d->vlen;
    if (d->truncated) {
        dt_kv_bytes full;
        int rc = dl_cursor_value(cur, &full);
        if (rc != DT_OK) return rc;
        v = full.ptr;
        n = full.len;
    }
    if (n == 0) return dt__seterr(NULL, DT_CORRUPT, "query: empty value in the index");
    dt_type t = (dt_type)(v[0] - DL_CODEC_TAG_BASE);
    switch (t) {
    case DT_LONG:
    case DT_INSTANT:
        if (n < 9) break;
        out->type = t;
        out->u.i = dl_codec_get_int(v);
        return DT_OK;
    case DT_REF:
        if (n < 9) break;
        out->type = DT_LONG;
        out->u.i = dl_codec_get_int(v);
        return DT_OK;
    case DT_DOUBLE:
        if (n < 9) break;
        out->type = DT_DOUBLE;
        out->u.d = dl_double_from_key(dl__ld64(v + 1));
        return DT_OK;
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL: {
        /* text without an escaped NUL: copy straight */
        const uint8_t *z = memchr(v + 1, 0, n - 1);
        if (z && (size_t)(z - v) + 1 < n && z[1] == 0) {
            size_t len = (size_t)(z - (v + 1));
            char *s = dq_arena_alloc(&c->x->arena, len + 1);
            if (!s) return DT_NOMEM;
            memcpy(s, v + 1, len);
            s[len] = 0;
            out->type = t;
            out->u.s.ptr = s;
            out->u.s.len = len;
            return DT_OK;
        }
        break;
    }
    default:
        break;
    }
    dt_value tmp;
    size_t used;
    int rc = dl_codec_decode(v, n, &tmp, &used);
    if (rc != DT_OK) return rc == DT_NOTFOUND ? DT_CORRUPT : rc;
    if (tmp.type == DT_REF) tmp.type = DT_LONG;
    rc = dq_arena_copy_value(&c->x->arena, &tmp, out);
    dt_value_free(&tmp);
    return rc;
}

/* The value of term t in scope: a constant, a plugged-in input, or NULL
 * (a variable or blank). */
static const dt_value *term_const(const scope *sc, const dq_term *t) {
    if (t->kind == DQ_TERM_CONST) return t->value;
    if (t->kind == DQ_TERM_VAR && sc->cval && t->id >= 0) return sc->cval[t->id];
    return NULL;
}

/* {------ Pushed-down ranges ------ */

/* The comparison of a one-variable predicate: var op const, as a bound on
 * the variable.  Returns 1 and fills the bound when pred has the form
 * (op ?v c), (op c ?v) or (op c1 ?v c2) for op in < > <= >= =, or
 * (starts-with? ?v "p"). */
typedef struct cmp1 {
    int lo, lo_excl, hi, hi_excl, prefix;
    const dt_value *lov, *hiv, *pv;
} cmp1;

static int pred_as_range(const scope *sc, const dq_clause *cl, dq_var v, cmp1 *out) {
    memset(out, 0, sizeof *out);
    if (cl->kind != DQ_CL_PRED) return 0;
    size_t n = cl->nterms;
    const dq_term *t = cl->terms;
    int vi = -1;
    for (size_t i = 0; i < n; i++) {
        const dt_value *k = term_const(sc, &t[i]);
        if (k) continue;
        if (t[i].kind != DQ_TERM_VAR || t[i].id != v || vi >= 0) return 0;
        vi = (int)i;
    }
    if (vi < 0) return 0;
    switch (cl->fn) {
    case DQ_FN_STARTS_WITH:
        if (n != 2 || vi != 0) return 0;
        out->pv = term_const(sc, &t[1]);
        if (out->pv->type != DT_STRING) return 0;
        out->prefix = 1;
        return 1;
    case DQ_FN_EQ:
        if (n != 2) return 0;
        out->lo = out->hi = 1;
        out->lov = out->hiv = term_const(sc, &t[1 - vi]);
        return 1;
    case DQ_FN_LT:
    case DQ_FN_LE:
    case DQ_FN_GT:
    case DQ_FN_GE: {
        if (n != 2 && n != 3) return 0;
        if (n == 3 && vi != 1) return 0;
        int less = cl->fn == DQ_FN_LT || cl->fn == DQ_FN_LE;
        int strict = cl->fn == DQ_FN_LT || cl->fn == DQ_FN_GT;
        /* args ascend (less) or descend: a < ?v < b */
        if (vi > 0) { /* the argument before ?v bounds it from one side */
            const dt_value *k = term_const(sc, &t[vi - 1]);
            if (less) {
                out->lo = 1, out->lov = k, out->lo_excl = strict;
            } else {
                out->hi = 1, out->hiv = k, out->hi_excl = strict;
            }
        }
        if ((size_t)vi + 1 < n) {
            const dt_value *k = term_const(sc, &t[vi + 1]);
            if (less) {
                out->hi = 1, out->hiv = k, out->hi_excl = strict;
            } else {
                out->lo = 1, out->lov = k, out->lo_excl = strict;
            }
        }
        return 1;
    }
    default:
        return 0;
    }
}

/* Types whose values a pushed comparison may bound: the constant must be
 * of the attribute's declared type, so index order is the predicate's
 * order. */
static int range_type_ok(int vtype, const dt_value *k) {
    if (!k) return 0;
    switch (vtype) {
    case DT_LONG:
    case DT_DOUBLE:
    case DT_STRING:
    case DT_INSTANT:
    case DT_KEYWORD:
        return (int)k->type == vtype;
    default:
        return 0;
    }
}

static void show_enc_bound(char *dst, size_t cap, const char *op, const dt_value *k) {
    char t[60];
    dl_show(k, t, sizeof t);
    size_t l = strlen(dst);
    if (l + 1 < cap) snprintf(dst + l, cap - l, "%s%s %s", l ? " " : "", op, t);
}

/* Collects into b the predicates among cl[0..n) (not yet done) that
 * bound variable v of a pattern on attribute a.  Returns 1 when any
 * applies. */
static int collect_bounds(const scope *sc, const dq_clause *const *preds, size_t npreds, dq_var v,
                          int vtype, bounds *b) {
    memset(b, 0, sizeof *b);
    int any = 0;
    for (size_t i = 0; i < npreds; i++) {
        cmp1 r;
        if (!pred_as_range(sc, preds[i], v, &r)) continue;
        if (r.prefix) {
            if (vtype != DT_STRING) continue;
        } else {
            if ((r.lo && !range_type_ok(vtype, r.lov)) || (r.hi && !range_type_ok(vtype, r.hiv)))
                continue;
        }
        if (b->nused == sizeof b->used / sizeof b->used[0]) break;
        dt_buf e = DT_BUF_INIT;
        if (r.lo) {
            if (dl_codec_encode(r.lov, &e) != DT_OK) goto skip;
            if (!b->has_lo || enc_cmp(e.p, e.len, b->lo.p, b->lo.len) > 0 ||
                (enc_cmp(e.p, e.len, b->lo.p, b->lo.len) == 0 && r.lo_excl)) {
                b->lo.len = 0;
                if (dt_buf_append(&b->lo, e.p, e.len) != DT_OK) goto skip;
                b->lo_excl = r.lo_excl;
                b->has_lo = 1;
            }
            show_enc_bound(b->text, sizeof b->text, r.lo_excl ? ">" : ">=", r.lov);
            e.len = 0;
        }
        if (r.hi) {
            if (dl_codec_encode(r.hiv, &e) != DT_OK) goto skip;
            if (!b->has_hi || enc_cmp(e.p, e.len, b->hi.p, b->hi.len) < 0 ||
                (enc_cmp(e.p, e.len, b->hi.p, b->hi.len) == 0 && r.hi_excl)) {
                b->hi.len = 0;
                if (dt_buf_append(&b->hi, e.p, e.len) != DT_OK) goto skip;
                b->hi_excl = r.hi_excl;
                b->has_hi = 1;
            }
            show_enc_bound(b->text, sizeof b->text, r.hi_excl ? "<" : "<=", r.hiv);
            e.len = 0;
        }
        if (r.prefix) {
            if (dl_codec_encode(r.pv, &e) != DT_OK || e.len < 3) goto skip;
            e.len -= 2; /* drop the text terminator: encodings of extensions start so */
            if (b->has_prefix) {
                /* two prefixes: one must extend the other */
                size_t m = e.len < b->prefix.len ? e.len : b->prefix.len;
                if (memcmp(e.p, b->prefix.p, m) != 0) b->empty = 1;
                if (e.len > b->prefix.len) {
                    b->prefix.len = 0;
                    if (dt_buf_append(&b->prefix, e.p, e.len) != DT_OK) goto skip;
                }
            } else {
                if (dt_buf_append(&b->prefix, e.p, e.len) != DT_OK) goto skip;
                b->has_prefix = 1;
            }
            show_enc_bound(b->text, sizeof b->text, "starts-with", r.pv);
        }
        b->used[b->nused++] = preds[i];
        any = 1;
    skip:
        dt_buf_release(&e);
    }
    return any;
}

/* Where a scan starts: the larger of lo and prefix. */
static void bounds_start(const bounds *b, const uint8_t **p, size_t *n) {
    *p = NULL;
    *n = 0;
    if (b->has_lo) *p = b->lo.p, *n = b->lo.len;
    if (b->has_prefix && (!*p || enc_cmp(b->prefix.p, b->prefix.len, *p, *n) > 0))
        *p = b->prefix.p, *n = b->prefix.len;
}

/* Checks a full value encoding against the bounds: 0 in range, -1 below
 * (skip), 1 above (values ascend: stop). */
static int bounds_check(const bounds *b, const uint8_t *v, size_t n) {
    if (b->has_prefix) {
        size_t m = b->prefix.len;
        int r = memcmp(v, b->prefix.p, n < m ? n : m);
        if (r < 0 || (r == 0 && n < m)) return -1;
        if (r > 0) return 1;
    }
    if (b->has_lo) {
        int r = enc_cmp(v, n, b->lo.p, b->lo.len);
        if (r < 0 || (r == 0 && b->lo_excl)) return -1;
    }
    if (b->has_hi) {
        int r = enc_cmp(v, n, b->hi.p, b->hi.len);
        if (r > 0 || (r == 0 && b->hi_excl)) return 1;
    }
    return 0;
}

/* }------ */

/* Prepares pattern cl against the input table's columns (in), the new
 * columns going after them in the output. */
static int pat_prepare(ctx *c, const scope *sc, const dq_clause *cl, const dq_table *in, pat *p) {
    memset(p, 0, sizeof *p);
    p->cl = cl;
    p->db = src_db(c, sc, cl->src);
    if (!p->db) return clause_err(cl, DT_INVALID, "no database for the source");
    p->st = dl_db_store(p->db);
    p->txn = dl_db_txn(p->db);
    p->sch = dl_db_schema(p->db);
    p->np = cl->nterms;
    int nnew = 0;
    for (size_t i = 0; i < DQ_MAX_PATTERN; i++) {
        pos *q = &p->p[i];
        q->var = DQ_NOVAR;
        if (i >= cl->nterms) {
            q->kind = P_ABSENT;
            continue;
        }
        const dq_term *t = &cl->terms[i];
        const dt_value *k = term_const(sc, t);
        if (k) {
            q->kind = P_CONST;
            q->val = k;
        } else if (t->kind == DQ_TERM_VAR) {
            q->var = t->id;
            int col = col_of(in, t->id);
            if (col >= 0) {
                q->kind = P_BOUND;
                q->col = col;
            } else {
                q->kind = P_NEW;
                for (size_t j = 0; j < i; j++)
                    if (p->p[j].kind == P_NEW && p->p[j].var == t->id) {
                        q->kind = P_REPEAT;
                        q->first = (int)j;
                    }
                if (q->kind == P_NEW) q->col = (int)in->ncols + nnew++;
            }
        } else {
            q->kind = P_BLANK;
        }
    }
    /* constants */
    if (p->p[1].kind == P_CONST) {
        const dt_value *a = p->p[1].val;
        if (a->type == DT_KEYWORD) {
            p->attr = dl_schema_by_ident(p->sch, a->u.s.ptr, a->u.s.len);
        } else if (a->type == DT_LONG || a->type == DT_REF) {
            if (a->u.i > 0 && a->u.i < UINT32_MAX)
                p->attr = dl_schema_by_aid(p->sch, (uint32_t)a->u.i);
        }
        if (!p->attr) {
            char t[120], what[200];
            dl_show(a, t, sizeof t);
            snprintf(what, sizeof what, "unknown attribute %s", t);
            return clause_err(cl, DT_INVALID, what);
        }
    }
    if (p->p[0].kind == P_CONST) {
        int rc = resolve_entity(p, p->p[0].val, &p->ce, 1);
        if (rc < 0) return -rc;
        if (rc == 0) p->none = 1;
        p->ce_ok = 1;
    }
    if (p->p[2].kind == P_CONST && p->attr) {
        int rc = encode_for(p, p->attr, p->p[2].val, &p->cv, 1);
        if (rc < 0) return -rc;
        if (rc == 0) p->none = 1;
        p->cv_ok = 1;
    }
    if (p->p[3].kind == P_CONST) {
        const dt_value *t = p->p[3].val;
        if (t->type == DT_LONG || t->type == DT_REF)
            p->ctx_tx = t->u.i;
        else
            p->none = 1;
    }
    dt_view_info vi;
    p->hist = dt_db_view_info(p->db, &vi) == DT_OK && vi.history;
    if (p->p[4].kind == P_CONST) {
        const dt_value *t = p->p[4].val;
        if (t->type != DT_BOOL || (!t->u.b && !p->hist)) p->none = 1;
        p->cadd = t->type == DT_BOOL && t->u.b;
    }
    return DT_OK;
}

/* The name of a pattern's bound positions (for explain). */
static void bound_names(const pat *p, int e, int a, int v, char *out, size_t cap) {
    snprintf(out, cap, "%s%s%s", e ? "e " : "", a ? "a " : "", v ? "v" : "");
    size_t l = strlen(out);
    if (l && out[l - 1] == ' ') out[l - 1] = 0;
    (void)p;
}

/* Builds the output row for datom d: the input row, then the new
 * variables.  Returns 1 (row added), 0 (a repeated variable did not
 * match) or minus an error code. */
static int pat_emit(ctx *c, pat *p, dl_cursor *cur, const dl_datom *d, const dt_value *inrow,
                    size_t inw, dq_table *out) {
    dt_value *row = tab_slot(out);
    if (!row) return -DT_NOMEM;
    if (inw) memcpy(row, inrow, inw * sizeof *row);
    /* each new value is written into its cell field by field (a dt_value
     * built on the stack and copied whole stalls on store forwarding) */
    const dt_value *seen[DQ_MAX_PATTERN] = {NULL};
    for (size_t i = 0; i < DQ_MAX_PATTERN; i++) {
        pos *q = &p->p[i];
        if (q->kind != P_NEW && q->kind != P_REPEAT) continue;
        dt_value tmp, *v = q->kind == P_NEW ? &row[q->col + p->col_off] : &tmp;
        switch (i) {
        case 0:
            v->type = DT_LONG;
            v->u.i = d->e;
            break;
        case 1: {
            const dl_attr *a = dl_schema_by_aid(p->sch, d->aid);
            if (!a)
                return -dt__seterr(NULL, DT_CORRUPT, "query: datom of unknown attribute %u",
                                   (unsigned)d->aid);
            v->type = DT_KEYWORD;
            v->u.s.ptr = a->ident;
            v->u.s.len = a->ident_len;
            break;
        }
        case 2: {
            int rc = decode_value(c, cur, d, v);
            if (rc != DT_OK) return -rc;
            break;
        }
        case 3:
            v->type = DT_LONG;
            v->u.i = d->tx;
            break;
        default:
            dt_value_bool(dl_cursor_added(cur), v);
            break;
        }
        if (q->kind == P_REPEAT) {
            if (!seen[q->first] || !val_eq(seen[q->first], v)) return 0;
            continue;
        }
        seen[i] = v;
    }
    out->nrows++;
    return 1;
}

/* Checks bound positions the seek did not cover.  1 match, 0 not, 2 past the range, or minus an
 * error code. */
static int pat_check(ctx *c, pat *p, dl_cursor *cur, const dl_datom *d, const dt_value *row,
                     int seek_v, const uint8_t *venc, size_t venc_len) {
    /* tx */
    pos *t = &p->p[3];
    if (t->kind == P_CONST && d->tx != p->ctx_tx) return 0;
    if (t->kind == P_BOUND) {
        const dt_value *tv = &row[t->col];
        if (!((tv->type == DT_LONG || tv->type == DT_REF) && tv->u.i == d->tx)) return 0;
    }
    pos *a = &p->p[4];
    if (a->kind == P_CONST && dl_cursor_added(cur) != p->cadd) return 0;
    if (a->kind == P_BOUND) {
        const dt_value *av = &row[a->col];
        if (!(av->type == DT_BOOL && av->u.b == dl_cursor_added(cur))) return 0;
    }
    pos *v = &p->p[2];
    if ((v->kind == P_BOUND || v->kind == P_CONST) && !seek_v) {
        if (venc) {
            const uint8_t *f = d->v;
            size_t fn = d->vlen;
            if (d->truncated) {
                dt_kv_bytes full;
                int rc = dl_cursor_value(cur, &full);
                if (rc != DT_OK) return -rc;
                f = full.ptr;
                fn = full.len;
            }
            if (enc_cmp(f, fn, venc, venc_len) != 0) return 0;
        } else {
            dt_value dv;
            int rc = decode_value(c, cur, d, &dv);
            if (rc != DT_OK) return -rc;
            const dt_value *want = v->kind == P_CONST ? v->val : &row[v->col];
            if (!val_eq(&dv, want)) return 0;
        }
    }
    if (p->has_rg && v->kind == P_NEW && p->attr) {
        const uint8_t *f = d->v;
        size_t fn = d->vlen;
        if (d->truncated) {
            dt_kv_bytes full;
            int rc = dl_cursor_value(cur, &full);
            if (rc != DT_OK) return -rc;
            f = full.ptr;
            fn = full.len;
        }
        int r = bounds_check(&p->rg, f, fn);
        if (r != 0) return r > 0 ? 2 : 0; /* 2: past the end */
    }
    return 1;
}

/* Runs pattern p for every row of `in` into `out` (index nested loop: a
 * seek per row).  `ixname`/`bname` describe the access path of the last
 * row (explain). */
static int pat_run(ctx *c, pat *p, const dq_table *in, dq_table *out, const char **ixname,
                   char *bname, size_t bcap) {
    int rc = DT_OK;
    dl_cursor cur;
    memset(&cur, 0, sizeof cur);
    int open_ix = -1;
    dt_buf vb = DT_BUF_INIT;
    int lo_off = 0; /* p->rg.has_lo cleared for the rest of a range scan */
    /* a pattern that names neither its entity nor its attribute does not
     * see transaction entities (as DataScript, which has none) */
    int hide_tx = p->p[0].kind != P_CONST && p->p[0].kind != P_BOUND && p->p[1].kind != P_CONST &&
                  p->p[1].kind != P_BOUND;
    *ixname = NULL;
    if (p->none) goto done;
    for (size_t r = 0; r < in->nrows; r++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) goto done;
        const dt_value *row = trow(in, r);
        /* entity */
        int64_t e = 0;
        int has_e = 0;
        pos *pe = &p->p[0];
        if (pe->kind == P_CONST) {
            e = p->ce;
            has_e = 1;
        } else if (pe->kind == P_BOUND) {
            rc = resolve_entity(p, &row[pe->col], &e, 0);
            if (rc < 0) {
                rc = -rc;
                goto done;
            }
            if (rc == 0) continue;
            has_e = 1;
        }
        /* attribute */
        const dl_attr *a = p->attr;
        pos *pa = &p->p[1];
        if (pa->kind == P_BOUND) {
            const dt_value *av = &row[pa->col];
            if (av->type == DT_KEYWORD)
                a = dl_schema_by_ident(p->sch, av->u.s.ptr, av->u.s.len);
            else if ((av->type == DT_LONG || av->type == DT_REF) && av->u.i > 0 &&
                     av->u.i < UINT32_MAX)
                a = dl_schema_by_aid(p->sch, (uint32_t)av->u.i);
            if (!a) continue;
        }
        /* value */
        pos *pv = &p->p[2];
        const uint8_t *venc = NULL;
        size_t venc_len = 0;
        if (a && pv->kind == P_CONST) {
            if (p->cv_ok && a == p->attr) {
                venc = p->cv.p, venc_len = p->cv.len;
            } else {
                rc = encode_for(p, a, pv->val, &vb, 0);
                if (rc < 0) {
                    rc = -rc;
                    goto done;
                }
                if (rc == 0) continue;
                venc = vb.p, venc_len = vb.len;
            }
        } else if (a && pv->kind == P_BOUND) {
            rc = encode_for(p, a, &row[pv->col], &vb, 0);
            if (rc < 0) {
                rc = -rc;
                goto done;
            }
            if (rc == 0) continue;
            venc = vb.p, venc_len = vb.len;
        }
        int has_v = pv->kind == P_CONST || pv->kind == P_BOUND;
        /* access path */
        dl_index ix;
        dl_ikey from;
        memset(&from, 0, sizeof from);
        unsigned match;
        int seek_v = 0;
        int range_seek = 0;
        if (has_e) {
            ix = DL_INDEX_EAV;
            from.e = e;
            from.n = 1;
            if (a) {
                from.aid = a->aid;
                from.n = 2;
                if (venc) {
                    from.v = venc;
                    from.vlen = venc_len;
                    from.n = 3;
                    seek_v = 1;
                }
            }
            match = from.n;
        } else if (a) {
            ix = DL_INDEX_AVE;
            from.aid = a->aid;
            from.n = 1;
            if (venc) {
                from.v = venc;
                from.vlen = venc_len;
                from.n = 2;
                seek_v = 1;
            } else if (has_v) {
                continue; /* a bound value no datom of a can hold */
            }
            match = from.n;
            if (!venc && p->has_rg) {
                if (p->rg.empty) continue;
                const uint8_t *sp;
                size_t sn;
                bounds_start(&p->rg, &sp, &sn);
                if (sp) {
                    from.v = sp;
                    from.vlen = sn;
                    from.n = 2;
                    range_seek = 1;
                }
            }
        } else {
            ix = DL_INDEX_EAV;
            match = 0;
        }
        if (has_v && !a) seek_v = 0;
        if (open_ix != (int)ix) {
            if (open_ix >= 0) dl_cursor_close(&cur);
            rc = dl_db_cursor_open(&cur, p->db, ix);
            if (rc != DT_OK) goto done;
            open_ix = (int)ix;
        }
        *ixname = ix == DL_INDEX_EAV ? "eav" : "ave";
        if (r == 0 || r + 1 == in->nrows) bound_names(p, has_e, a != NULL, seek_v, bname, bcap);
        rc = dl_cursor_seek(&cur, &from, match, NULL);
        if (rc != DT_OK) goto done;
        dl_datom d;
        while ((rc = dl_cursor_next(&cur, &d)) == DT_ROW) {
            if (!has_e && p->p[0].kind == P_BOUND) continue;
            if (hide_tx && d.e >= DT_TX0) continue;
            if (p->fe && !idset_has(p->fe, d.e)) continue;
            if (p->fv && (d.vlen != 9 || d.v[0] != DL_CODEC_TAG(DT_REF) ||
                          !idset_has(p->fv, dl_codec_get_int(d.v))))
                continue;
            uint32_t jfirst = 0;
            if (p->jm) {
                /* the probe first: most datoms of a scan join match no row */
                if (!p->jv)
                    jfirst = idset_first(p->jm, d.e);
                else if (d.vlen == 9 && d.v[0] == DL_CODEC_TAG(DT_REF))
                    jfirst = idset_first(p->jm, dl_codec_get_int(d.v));
                if (!jfirst && !(p->has_rg && p->rg.has_hi)) continue;
            }
            int ok = pat_check(c, p, &cur, &d, row, seek_v, venc, venc_len);
            if (ok < 0) {
                rc = -ok;
                goto done;
            }
            if (ok == 2) {
                rc = DT_DONE;
                break;
            }
            if (ok == 0) continue;
            if (range_seek && !lo_off && p->rg.has_lo && !p->rg.has_prefix) {
                /* the scan runs in value order from the lower bound: the
                 * datoms after this one pass it too */
                p->rg.has_lo = 0;
                lo_off = 1;
            }
            if (p->jm) {
                for (uint32_t j1 = jfirst; j1; j1 = p->jm->next[j1 - 1]) {
                    ok = pat_emit(c, p, &cur, &d, trow(p->jt, j1 - 1), p->jt->ncols, out);
                    if (ok < 0) {
                        rc = -ok;
                        goto done;
                    }
                }
            } else {
                ok = pat_emit(c, p, &cur, &d, row, in->ncols, out);
            }
            if (ok < 0) {
                rc = -ok;
                goto done;
            }
            if (ok && (out->nrows & 1023) == 0) {
                if ((rc = dq_exec_rows(c->x, out->nrows)) != DT_OK) goto done;
                if ((rc = dq_exec_check(c->x)) != DT_OK) goto done;
            }
        }
        if (lo_off) p->rg.has_lo = 1, lo_off = 0;
        if (rc != DT_DONE) goto done;
        rc = DT_OK;
    }
    rc = dq_exec_rows(c->x, out->nrows);
done:
    if (lo_off) p->rg.has_lo = 1;
    if (open_ix >= 0) dl_cursor_close(&cur);
    dt_buf_release(&vb);
    return rc;
}

/* The output table of pattern p over `in`: in's columns, then the new
 * variables in position order. */
static int pat_out_init(const pat *p, const dq_table *in, dq_table *out) {
    dq_var nv[DQ_MAX_PATTERN];
    size_t n = 0;
    for (size_t i = 0; i < DQ_MAX_PATTERN; i++)
        if (p->p[i].kind == P_NEW) nv[n++] = p->p[i].var;
    return tab_init_cols(out, in->cols, in->ncols, nv, n);
}

/* }====== */

/* {====== Joins ====== */

/*
 * hash_join: rows of a joined with rows of b on their shared columns
 * (a cross product when none) into out: a's columns then b's others.
 * The smaller side is hashed.
 */
static int hash_join(ctx *c, const dq_table *a, const dq_table *b, dq_table *out) {
    memset(out, 0, sizeof *out);
    size_t sa[64], sb[64], nsh = 0;
    dq_var extra[64];
    size_t ex_idx[64], nex = 0;
    if (a->ncols > 64 || b->ncols > 64)
        return dt__seterr(NULL, DT_LIMIT, "query: too many variables");
    for (size_t j = 0; j < b->ncols; j++) {
        int ca = col_of(a, b->cols[j]);
        if (ca >= 0) {
            sa[nsh] = (size_t)ca;
            sb[nsh++] = j;
        } else {
            extra[nex] = b->cols[j];
            ex_idx[nex++] = j;
        }
    }
    int rc = tab_init_cols(out, a->cols, a->ncols, extra, nex);
    if (rc != DT_OK) return rc;
    int build_b = b->nrows <= a->nrows;
    const dq_table *bt = build_b ? b : a, *pt = build_b ? a : b;
    const size_t *bidx = build_b ? sb : sa, *pidx = build_b ? sa : sb;
    /* distinct keys in the set; rows of one key chained through next[] */
    rowset hs;
    uint32_t *next = dt__malloc((bt->nrows + 1) * sizeof *next);
    if (!next) return DT_NOMEM;
    rc = rowset_init(&hs, bt, bidx, nsh, bt->nrows);
    if (rc != DT_OK) {
        dt__free(next);
        return rc;
    }
    for (size_t r = 0; r < bt->nrows; r++) {
        const dt_value *brow = trow(bt, r);
        uint64_t h = row_hash(brow, bidx, nsh);
        size_t j = rowset_find(&hs, brow, bidx, h);
        if (j != SIZE_MAX) {
            next[r] = hs.slots[j];
            hs.slots[j] = (uint32_t)(r + 1);
            continue;
        }
        next[r] = 0;
        if ((rc = rowset_add(&hs, r, 0, NULL)) != DT_OK) goto done;
    }
    for (size_t r = 0; r < pt->nrows; r++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) goto done;
        const dt_value *prow = trow(pt, r);
        uint64_t h = row_hash(prow, pidx, nsh);
        size_t j = rowset_find(&hs, prow, pidx, h);
        if (j == SIZE_MAX) continue;
        for (uint32_t br1 = hs.slots[j]; br1; br1 = next[br1 - 1]) {
            const dt_value *brow = trow(bt, br1 - 1);
            const dt_value *ar = build_b ? prow : brow, *br = build_b ? brow : prow;
            dt_value *o = tab_slot(out);
            if (!o) {
                rc = DT_NOMEM;
                goto done;
            }
            if (a->ncols) memcpy(o, ar, a->ncols * sizeof *o);
            for (size_t k = 0; k < nex; k++) o[a->ncols + k] = br[ex_idx[k]];
            out->nrows++;
            if ((out->nrows & 1023) == 0 && (rc = dq_exec_rows(c->x, out->nrows)) != DT_OK)
                goto done;
        }
    }
    rc = dq_exec_rows(c->x, out->nrows);
done:
    rowset_release(&hs);
    dt__free(next);
    return rc;
}

/* Keeps the rows of t whose projection on cols[] is (keep=1) or is not
 * (keep=0) in the set of rows of r over the same variables. */
static int semi_join(ctx *c, dq_table *t, const dq_table *r, int keep) {
    size_t ti[64], ri[64], n = 0;
    for (size_t j = 0; j < r->ncols && n < 64; j++) {
        int ct = col_of(t, r->cols[j]);
        if (ct < 0) continue;
        ti[n] = (size_t)ct;
        ri[n++] = j;
    }
    rowset hs;
    int rc = rowset_init(&hs, r, ri, n, r->nrows);
    if (rc != DT_OK) return rc;
    for (size_t k = 0; k < r->nrows; k++)
        if ((rc = rowset_add(&hs, k, 1, NULL)) != DT_OK) goto done;
    size_t w = 0;
    for (size_t k = 0; k < t->nrows; k++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) goto done;
        const dt_value *row = trow(t, k);
        int in = rowset_find(&hs, row, ti, row_hash(row, ti, n)) != SIZE_MAX;
        if (in == keep) {
            if (w != k) memmove(t->cells + w * t->ncols, row, t->ncols * sizeof *row);
            w++;
        }
    }
    t->nrows = w;
done:
    rowset_release(&hs);
    return rc;
}

/* Joins the rows r into t: a semi-join when t binds every column of r (r
 * only filters t), else a hash join whose result replaces t. */
static int join_into(ctx *c, dq_table *t, const dq_table *r) {
    for (size_t k = 0; k < r->ncols; k++) {
        if (col_of(t, r->cols[k]) >= 0) continue;
        dq_table out;
        int rc = hash_join(c, t, r, &out);
        if (rc == DT_OK)
            tab_move(t, &out);
        else
            dq_table_release(&out);
        return rc;
    }
    return semi_join(c, t, r, 1);
}

/* The distinct rows of t projected on vars[0..n) that t has (the others
 * are skipped; *out's columns say which). */
static int project_distinct(const dq_table *t, const dq_var *vars, size_t n, dq_table *out) {
    size_t idx[64], w = 0;
    dq_var cols[64];
    for (size_t i = 0; i < n && w < 64; i++) {
        int ct = col_of(t, vars[i]);
        if (ct < 0) continue;
        int dup = 0;
        for (size_t k = 0; k < w; k++)
            if (cols[k] == vars[i]) dup = 1;
        if (dup) continue;
        idx[w] = (size_t)ct;
        cols[w++] = vars[i];
    }
    int rc = tab_init_cols(out, cols, w, NULL, 0);
    if (rc != DT_OK) return rc;
    size_t id[64];
    for (size_t i = 0; i < w; i++) id[i] = i;
    rowset hs;
    if ((rc = rowset_init(&hs, out, id, w, t->nrows < 1024 ? t->nrows : 1024)) != DT_OK) return rc;
    for (size_t r = 0; r < t->nrows; r++) {
        dt_value *o = tab_slot(out);
        if (!o) {
            rc = DT_NOMEM;
            break;
        }
        const dt_value *row = trow(t, r);
        for (size_t i = 0; i < w; i++) o[i] = row[idx[i]];
        int added;
        if ((rc = rowset_add(&hs, out->nrows, 1, &added)) != DT_OK) break;
        if (added) out->nrows++;
    }
    rowset_release(&hs);
    return rc;
}

/* Removes duplicate rows of t (in place). */
static int dedup(dq_table *t) {
    size_t id[64];
    size_t w = t->ncols < 64 ? t->ncols : 64;
    for (size_t i = 0; i < w; i++) id[i] = i;
    rowset hs;
    int rc = rowset_init(&hs, t, id, w, t->nrows);
    if (rc != DT_OK) return rc;
    size_t k = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        if (k != r) memcpy(t->cells + k * t->ncols, trow(t, r), t->ncols * sizeof *t->cells);
        int added;
        if ((rc = rowset_add(&hs, k, 1, &added)) != DT_OK) break;
        if (added) k++;
    }
    if (rc == DT_OK) t->nrows = k;
    rowset_release(&hs);
    return rc;
}

/* }====== */

/* {====== Predicates and functions ====== */

/* The argument values of a call for one row (borrowed), into args. */
static int call_args(const scope *sc, const dq_clause *cl, const dq_table *t, const dt_value *row,
                     dt_value *args, size_t *nargs, dt_db **db) {
    size_t n = 0;
    *db = NULL;
    for (size_t i = 0; i < cl->nterms; i++) {
        const dq_term *tm = &cl->terms[i];
        if (tm->kind == DQ_TERM_SRC) {
            (void)db;
            continue;
        }
        const dt_value *k = term_const(sc, tm);
        if (k) {
            args[n++] = *k;
        } else if (tm->kind == DQ_TERM_VAR) {
            int col = col_of(t, tm->id);
            if (col < 0) return clause_err(cl, DT_INVALID, "unbound variable");
            args[n++] = row[col];
        } else {
            dt_value_nil(&args[n++]);
        }
    }
    *nargs = n;
    return DT_OK;
}

/* A comparison the planner does itself: same-type scalars.  Returns 1/0
 * for the result, or -1 when dq_call must decide. */
static int fast_pred(dq_fn_id fn, const dt_value *a, size_t n) {
    if (n < 2) return -1;
    for (size_t i = 0; i < n; i++) {
        dt_type t = norm_type(a[i].type);
        if (t != norm_type(a[0].type)) return -1;
        if (t != DT_LONG && t != DT_STRING && t != DT_INSTANT && t != DT_KEYWORD) return -1;
    }
    if (fn == DQ_FN_NOT_EQ || fn == DQ_FN_BANG_EQ) {
        /* true unless all are equal */
        for (size_t i = 1; i < n; i++)
            if (!val_eq(&a[0], &a[i])) return 1;
        return 0;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const dt_value *x = &a[i], *y = &a[i + 1];
        int r;
        if (norm_type(x->type) == DT_LONG || x->type == DT_INSTANT)
            r = x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
        else
            r = enc_cmp((const uint8_t *)x->u.s.ptr, x->u.s.len, (const uint8_t *)y->u.s.ptr,
                        y->u.s.len);
        int ok;
        switch (fn) {
        case DQ_FN_EQ:
            ok = r == 0;
            break;
        case DQ_FN_LT:
            ok = r < 0;
            break;
        case DQ_FN_GT:
            ok = r > 0;
            break;
        case DQ_FN_LE:
            ok = r <= 0;
            break;
        case DQ_FN_GE:
            ok = r >= 0;
            break;
        default:
            return -1;
        }
        if (!ok) return 0;
    }
    return 1;
}

static int call_fn(ctx *c, const scope *sc, const dq_clause *cl, const dt_value *args, size_t n,
                   dt_value *out) {
    int rc;
    if (cl->fn == DQ_FN_USER) {
        rc = dq_call_user(c->x, cl, args, n, out);
    } else if (dq_builtins[cl->fn].kind == DQ_FNK_SOURCE) {
        int32_t src = -1;
        for (size_t i = 0; i < cl->nterms; i++)
            if (cl->terms[i].kind == DQ_TERM_SRC) src = cl->terms[i].id;
        dt_db *db = src_db(c, sc, src == -1 ? sc->caller_src : src);
        if (!db) return clause_err(cl, DT_INVALID, "no database for the source");
        rc = dq_call_source(c->x->fn, cl->fn, db, args, n, out);
    } else {
        rc = dq_call(c->x->fn, cl->fn, args, n, out);
    }
    return rc;
}

/* Keeps the rows of t for which the predicate holds. */
static int run_pred(ctx *c, const scope *sc, const dq_clause *cl, dq_table *t) {
    dt_value args[16], *ap = args;
    if (cl->nterms > 16) {
        ap = dt__malloc(cl->nterms * sizeof *ap);
        if (!ap) return DT_NOMEM;
    }
    int rc = DT_OK;
    size_t w = 0;
    int fast = cl->fn == DQ_FN_EQ || cl->fn == DQ_FN_LT || cl->fn == DQ_FN_GT ||
               cl->fn == DQ_FN_LE || cl->fn == DQ_FN_GE || cl->fn == DQ_FN_NOT_EQ ||
               cl->fn == DQ_FN_BANG_EQ;
    for (size_t r = 0; r < t->nrows; r++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) break;
        const dt_value *row = trow(t, r);
        size_t n;
        dt_db *db;
        if ((rc = call_args(sc, cl, t, row, ap, &n, &db)) != DT_OK) break;
        int keep = fast ? fast_pred(cl->fn, ap, n) : -1;
        if (keep < 0) {
            dt_value res;
            rc = call_fn(c, sc, cl, ap, n, &res);
            if (rc != DT_OK) break;
            keep = dq_truthy(&res);
            dt_value_free(&res);
        }
        if (keep) {
            if (w != r) memmove(t->cells + w * t->ncols, row, t->ncols * sizeof *row);
            w++;
        }
    }
    if (rc == DT_OK) t->nrows = w;
    if (ap != args) dt__free(ap);
    return rc;
}

/* {------ Binding a function's result ------ */

typedef struct bindst {
    dq_table *out;
    const dt_value *inrow;
    size_t inw;
    dt_value *vals; /* per new column */
    uint8_t *set;
} bindst;

/* Binds value v to form b, calling emit for each complete binding.  The
 * new variables' columns are in st->out after the input's. */
static int bind_form(ctx *c, bindst *st, const dq_binding *b, const dt_value *v,
                     const dq_binding *const *rest, size_t nrest, const dt_value *const *restv);

static int bind_emit(bindst *st) {
    dt_value *row = tab_slot(st->out);
    if (!row) return DT_NOMEM;
    if (st->inw) memcpy(row, st->inrow, st->inw * sizeof *row);
    for (size_t i = st->inw; i < st->out->ncols; i++) row[i] = st->vals[i - st->inw];
    st->out->nrows++;
    return DT_OK;
}

static int bind_next(ctx *c, bindst *st, const dq_binding *const *rest, size_t nrest,
                     const dt_value *const *restv) {
    if (nrest == 0) return bind_emit(st);
    return bind_form(c, st, rest[0], restv[0], rest + 1, nrest - 1, restv + 1);
}

static int bind_form(ctx *c, bindst *st, const dq_binding *b, const dt_value *v,
                     const dq_binding *const *rest, size_t nrest, const dt_value *const *restv) {
    switch (b->kind) {
    case DQ_BIND_BLANK:
        return bind_next(c, st, rest, nrest, restv);
    case DQ_BIND_VAR: {
        int col = col_of(st->out, b->var);
        if (col < (int)st->inw) { /* bound before: a test */
            if (!val_eq(&st->inrow[col], v)) return DT_OK;
            return bind_next(c, st, rest, nrest, restv);
        }
        size_t k = (size_t)col - st->inw;
        if (st->set[k]) {
            if (!val_eq(&st->vals[k], v)) return DT_OK;
            return bind_next(c, st, rest, nrest, restv);
        }
        st->vals[k] = *v;
        st->set[k] = 1;
        int rc = bind_next(c, st, rest, nrest, restv);
        st->set[k] = 0;
        return rc;
    }
    case DQ_BIND_TUPLE: {
        const dt_value *items;
        size_t n;
        int entries, fit = dq_bind_items(b, v, &items, &n, &entries);
        if (fit <= 0) return DT_OK; /* nil (dq_bind_check found the errors) */
        /* bind the elements in turn, then the rest */
        size_t tot = b->n + nrest;
        const dq_binding **rb = dt__malloc((tot + 1) * sizeof *rb);
        const dt_value **rv = dt__malloc((tot + 1) * sizeof *rv);
        if (!rb || !rv) {
            dt__free(rb);
            dt__free(rv);
            return DT_NOMEM;
        }
        for (size_t i = 0; i < b->n; i++) rb[i] = &b->items[i], rv[i] = &items[i];
        for (size_t i = 0; i < nrest; i++) rb[b->n + i] = rest[i], rv[b->n + i] = restv[i];
        int rc = bind_next(c, st, rb, tot, rv);
        dt__free(rb);
        dt__free(rv);
        return rc;
    }
    case DQ_BIND_COLL:
    case DQ_BIND_REL: {
        const dt_value *items;
        size_t n;
        int entries, fit = dq_bind_items(b, v, &items, &n, &entries);
        if (fit <= 0) return DT_OK; /* nil (dq_bind_check found the errors) */
        dq_binding row_form;
        const dq_binding *each = &b->items[0];
        if (b->kind == DQ_BIND_REL) {
            row_form.kind = DQ_BIND_TUPLE;
            row_form.var = DQ_NOVAR;
            row_form.n = b->n;
            row_form.items = b->items;
            each = &row_form;
        }
        for (size_t i = 0; i < n; i++) {
            dt_value entry = {.type = DT_VECTOR}; /* a map's entry [k v] */
            entry.u.seq.items = (dt_value *)&items[2 * i];
            entry.u.seq.n = 2;
            int rc = bind_form(c, st, each, entries ? &entry : &items[i], rest, nrest, restv);
            if (rc != DT_OK) return rc;
        }
        return DT_OK;
    }
    }
    return DT_OK;
}

/* }------ */

/* Applies function clause cl to every row of t, binding its result. */
static int run_fn(ctx *c, const scope *sc, const dq_clause *cl, dq_table *t) {
    uint8_t *vs = dt__calloc(sc->vars->n + 1, 1);
    if (!vs) return DT_NOMEM;
    mark_binding(&cl->bind, vs);
    dq_var nv[64];
    size_t nn = 0;
    for (size_t v = 0; v < sc->vars->n && nn < 64; v++)
        if (vs[v] && col_of(t, (dq_var)v) < 0) nv[nn++] = (dq_var)v;
    dt__free(vs);
    dq_table out;
    int rc = tab_init_cols(&out, t->cols, t->ncols, nv, nn);
    if (rc != DT_OK) return rc;
    dt_value vals[64];
    uint8_t set[64] = {0};
    dt_value args[16], *ap = args;
    if (cl->nterms > 16 && !(ap = dt__malloc(cl->nterms * sizeof *ap))) {
        dq_table_release(&out);
        return DT_NOMEM;
    }
    bindst st = {&out, NULL, t->ncols, vals, set};
    for (size_t r = 0; r < t->nrows && rc == DT_OK; r++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) break;
        const dt_value *row = trow(t, r);
        size_t n;
        dt_db *db;
        if ((rc = call_args(sc, cl, t, row, ap, &n, &db)) != DT_OK) break;
        dt_value res, copy;
        if ((rc = call_fn(c, sc, cl, ap, n, &res)) != DT_OK) break;
        rc = dq_arena_copy_value(&c->x->arena, &res, &copy);
        dt_value_free(&res);
        if (rc != DT_OK) break;
        if (copy.type == DT_NIL) continue; /* nil binds nothing (as Datomic) */
        st.inrow = row;
        if ((rc = dq_bind_check(&cl->bind, &copy)) != DT_OK) { /* does not fit the form */
            char what[DT__ERRMSG_MAX];
            snprintf(what, sizeof what, "%s", dt_errmsg(NULL));
            rc = clause_err(cl, rc, what);
            break;
        }
        rc = bind_form(c, &st, &cl->bind, &copy, NULL, 0, NULL);
        if (rc == DT_OK) rc = dq_exec_rows(c->x, out.nrows);
    }
    if (ap != args) dt__free(ap);
    if (rc == DT_OK)
        tab_move(t, &out);
    else
        dq_table_release(&out);
    return rc;
}

/* }====== */

/* {====== Conjunctions: the step-by-step planner ====== */

/* One thing to join: a clause, or an input relation. */
typedef struct item {
    const dq_clause *cl; /* NULL: rel */
    const dq_table *rel;
    int done;
    int have_s; /* standalone estimate computed */
    double s;   /* its rows when run alone (constants and ranges applied) */
    int s_more; /* s is a guess: its value range holds more than COUNT_CAP */
} item;

static int eval_conj(ctx *c, const scope *sc, const dq_clause *cls, size_t n, const uint8_t *keep,
                     dq_table *t);
static int run_rule(ctx *c, const scope *sc, const dq_clause *cl, dq_table *t);
static int rule_can_run(ctx *c, const scope *sc, const dq_clause *cl, const uint8_t *bound);
static int rule_size(ctx *c, const scope *sc, const dq_clause *cl, double *size);
static int seedable(ctx *c, const scope *sc, const dq_clause *cl);

static void bound_of(const dq_table *t, uint8_t *set, size_t nvars) {
    memset(set, 0, nvars);
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i] >= 0 && (size_t)t->cols[i] < nvars) set[t->cols[i]] = 1;
}

static int terms_bound(const scope *sc, const dq_term *tm, size_t n, const uint8_t *bound) {
    for (size_t i = 0; i < n; i++)
        if (tm[i].kind == DQ_TERM_VAR && !term_const(sc, &tm[i]) && !bound[tm[i].id]) return 0;
    return 1;
}

static int can_eval_out(ctx *c, const scope *sc, const dq_clause *cls, size_t n,
                        const uint8_t *bound, uint8_t *after);
static int can_eval(ctx *c, const scope *sc, const dq_clause *cls, size_t n, const uint8_t *bound) {
    return can_eval_out(c, sc, cls, n, bound, NULL);
}

/* Whether clause cl can run when the variables in `bound` are bound. */
static int can_run(ctx *c, const scope *sc, const dq_clause *cl, const uint8_t *bound) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
        return 1;
    case DQ_CL_PRED:
    case DQ_CL_FN:
        return terms_bound(sc, cl->terms, cl->nterms, bound);
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        for (size_t i = 0; i < cl->nvars; i++)
            if (!bound[cl->vars[i]] && !(sc->cval && sc->cval[cl->vars[i]])) return 0;
        return 1;
    case DQ_CL_AND:
        return can_eval(c, sc, cl->clauses, cl->nclauses, bound);
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN: {
        size_t nv = sc->vars->n;
        uint8_t *b = dt__malloc(nv + 1);
        if (!b) return 0;
        memset(b, 0, nv + 1);
        for (size_t i = 0; i < cl->nvars; i++)
            if (bound[cl->vars[i]] || (sc->cval && sc->cval[cl->vars[i]])) b[cl->vars[i]] = 1;
        int ok = 1;
        if (cl->kind == DQ_CL_OR_JOIN)
            for (size_t i = 0; i < cl->nreq; i++)
                if (!b[cl->vars[i]]) ok = 0;
        /* every branch must bind every join variable not bound before */
        uint8_t *after = ok ? dt__malloc(nv + 1) : NULL;
        if (ok && !after) ok = 0;
        for (size_t i = 0; i < cl->nclauses && ok; i++) {
            const dq_clause *br = &cl->clauses[i];
            ok = br->kind == DQ_CL_AND ? can_eval_out(c, sc, br->clauses, br->nclauses, b, after)
                                       : can_eval_out(c, sc, br, 1, b, after);
            for (size_t k = 0; k < cl->nvars && ok; k++)
                if (!after[cl->vars[k]]) ok = 0;
        }
        dt__free(after);
        dt__free(b);
        return ok;
    }
    case DQ_CL_RULE:
        return rule_can_run(c, sc, cl, bound);
    }
    return 0;
}

/* Whether clauses cls[0..n) can all run, in some order, from `bound`;
 * `after` (when not NULL, nvars bytes) gets the variables then bound. */
static int can_eval_out(ctx *c, const scope *sc, const dq_clause *cls, size_t n,
                        const uint8_t *bound, uint8_t *after) {
    size_t nv = sc->vars->n;
    uint8_t *b = dt__malloc(nv + 1);
    uint8_t *done = dt__calloc(n + 1, 1);
    if (!b || !done) {
        dt__free(b);
        dt__free(done);
        return 0;
    }
    memcpy(b, bound, nv);
    size_t left = n;
    int progress = 1;
    while (left && progress) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            if (done[i] || !can_run(c, sc, &cls[i], b)) continue;
            done[i] = 1;
            left--;
            progress = 1;
            clause_vars(&cls[i], b);
        }
    }
    if (after) memcpy(after, b, nv);
    dt__free(b);
    dt__free(done);
    return left == 0;
}

/* {------ Estimates ------ */

/* Counts datoms of a seek up to cap (exactly below it; -1 above). */
static int capped_count(pat *p, dl_index ix, const dl_ikey *from, unsigned match, const bounds *rg,
                        uint64_t cap, double *out) {
    dl_cursor cur;
    int rc = dl_db_cursor_open(&cur, p->db, ix);
    if (rc != DT_OK) return rc;
    rc = dl_cursor_seek(&cur, from, match, NULL);
    uint64_t n = 0;
    dl_datom d;
    while (rc == DT_OK && n < cap) {
        int r = dl_cursor_next(&cur, &d);
        if (r == DT_DONE) break;
        if (r != DT_ROW) {
            rc = r;
            break;
        }
        if (rg) {
            const uint8_t *f = d.v;
            size_t fn = d.vlen;
            if (d.truncated) {
                dt_kv_bytes full;
                if ((rc = dl_cursor_value(&cur, &full)) != DT_OK) break;
                f = full.ptr;
                fn = full.len;
            }
            int b = bounds_check(rg, f, fn);
            if (b > 0) break;
            if (b < 0) continue;
        }
        n++;
    }
    dl_cursor_close(&cur);
    *out = (double)n;
    if (n >= cap) *out = -1; /* more */
    return rc;
}

/*
 * Estimates pattern p (prepared on a table of n rows): *fan = rows per
 * input row, *alone = rows when run with only its constants (generator),
 * cost of a nested loop (*inl).  Uses statistics and small exact counts.
 */
/* The number of datoms a lookup by value finds per row of table t,
 * counted on the values themselves: for up to 64 rows (evenly spaced
 * over larger tables), each distinct value is sought once and its
 * datoms counted (up to COUNT_CAP each, 4096 in all).  A value repeated
 * over many rows (an input collection crossed with other rows) then
 * weighs as often as it occurs, so a popular value is not taken for an
 * average one.  A large table whose sampled values are mostly distinct
 * is left to the statistics.  A value counted to the cap counts as
 * `avg` (the attribute's mean per value) when that is more.  *fan is the
 * mean per row, or -1 when not counted. */
static int small_lookup_fan(pat *p, const dq_table *t, double avg, double *fan) {
    *fan = -1;
    if (!t || t->nrows == 0 || !p->attr) return DT_OK;
    size_t ns = t->nrows < 64 ? t->nrows : 64;
    const dt_value *seen[64];
    uint64_t cnt[64];
    size_t nseen = 0, which[64];
    for (size_t s = 0; s < ns; s++) {
        const dt_value *v =
            &trow(t, (size_t)((double)s * (double)t->nrows / (double)ns))[p->p[2].col];
        size_t k = 0;
        while (k < nseen && !val_eq(seen[k], v)) k++;
        if (k == nseen) seen[nseen++] = v, cnt[k] = 0;
        which[s] = k;
    }
    if (t->nrows > 64 && nseen > 16) return DT_OK;
    dl_cursor cur;
    int rc = dl_db_cursor_open(&cur, p->db, DL_INDEX_AVE);
    if (rc != DT_OK) return rc;
    dt_buf vb = DT_BUF_INIT;
    uint64_t total = 0;
    size_t k;
    for (k = 0; k < nseen && total < 4096; k++) {
        int ok = encode_for(p, p->attr, seen[k], &vb, 0);
        if (ok < 0) {
            rc = -ok;
            break;
        }
        if (ok == 0) continue;
        dl_ikey from = {.n = 2, .aid = p->attr->aid, .v = vb.p, .vlen = vb.len};
        if ((rc = dl_cursor_seek(&cur, &from, 2, NULL)) != DT_OK) break;
        dl_datom d;
        int x = DT_DONE;
        while (cnt[k] < COUNT_CAP && total < 4096 && (x = dl_cursor_next(&cur, &d)) == DT_ROW)
            cnt[k]++, total++;
        if (cnt[k] < COUNT_CAP && total < 4096 && x != DT_DONE) {
            rc = x;
            break;
        }
    }
    dl_cursor_close(&cur);
    dt_buf_release(&vb);
    if (rc != DT_OK) return rc;
    /* the rows whose value was counted */
    double sum = 0, rows = 0;
    for (size_t s = 0; s < ns; s++) {
        if (which[s] >= k) continue;
        double n1 = (double)cnt[which[s]];
        /* a value counted to the cap has at least that many, likely more
         * than the average */
        if (cnt[which[s]] >= COUNT_CAP && avg > n1) n1 = avg;
        sum += n1, rows++;
    }
    if (rows > 0) *fan = sum / rows;
    return DT_OK;
}

/* The datoms in pattern p's value range, counted up to cap (past it,
 * half the attribute's C datoms, at least cap). */
static int range_size(pat *p, uint64_t cap, double C, double *s) {
    dl_ikey from = {.n = 1, .aid = p->attr->aid};
    const uint8_t *sp;
    size_t sn;
    bounds_start(&p->rg, &sp, &sn);
    if (sp) from.v = sp, from.vlen = sn, from.n = 2;
    double k;
    int rc = capped_count(p, DL_INDEX_AVE, &from, 1, &p->rg, cap, &k);
    if (rc != DT_OK) return rc;
    *s = k < 0 ? (C / 2 > (double)cap ? C / 2 : (double)cap) : k;
    return DT_OK;
}

static int est_pattern(ctx *c, const scope *sc, item *it, pat *p, const dq_table *t, double n,
                       double *fan, double *inl) {
    if (p->none) {
        *fan = 0;
        *inl = 1;
        it->s = 0;
        it->have_s = 1;
        return DT_OK;
    }
    int ek = p->p[0].kind, vk = p->p[2].kind, ak = p->p[1].kind;
    int e_known = ek == P_CONST || ek == P_BOUND;
    int v_known = vk == P_CONST || vk == P_BOUND;
    if (!p->attr) {
        /* attribute unknown: per entity a handful, else everything */
        *fan = e_known ? 8 : 1e7;
        if (ak == P_BOUND) *fan = e_known ? 1 : 1e5;
        *inl = n * (COST_SEEK + *fan * COST_SCAN);
        if (!it->have_s) it->s = 1e7, it->have_s = 1;
        return DT_OK;
    }
    attr_stat st;
    int rc = get_stat(c, src_id(sc, p->cl->src), p->attr, &st);
    if (rc != DT_OK) return rc;
    double C = (double)st.count, D = (double)st.distinct;
    if (C < 1) C = 1;
    double per_e = p->attr->many ? 2.0 : 1.0;
    /* standalone size */
    if (!it->have_s) {
        double s = C;
        if (ek == P_CONST) {
            s = per_e;
            if (vk == P_CONST) s = 1;
        } else if (vk == P_CONST && p->cv_ok) {
            dl_ikey from = {.n = 2, .aid = p->attr->aid, .v = p->cv.p, .vlen = p->cv.len};
            double k;
            if ((rc = capped_count(p, DL_INDEX_AVE, &from, 2, NULL, COUNT_CAP, &k)) != DT_OK)
                return rc;
            s = k < 0 ? C / D : k;
            if (k < 0 && s < COUNT_CAP) s = COUNT_CAP;
        } else if (p->has_rg) {
            if (p->rg.empty) {
                s = 0;
            } else {
                if ((rc = range_size(p, COUNT_CAP, C, &s)) != DT_OK) return rc;
                it->s_more = s >= COUNT_CAP;
            }
        }
        it->s = s;
        it->have_s = 1;
    }
    double f;
    if (e_known) {
        f = per_e;
        if (v_known) f = f / D < 1 ? f / D : 1;
        if (vk == P_NEW && p->has_rg) f *= it->s / C;
        *inl = n * (COST_SEEK + f * COST_SCAN);
    } else if (vk == P_BOUND) {
        f = C / D;
        double exact;
        if ((rc = small_lookup_fan(p, t, C / D, &exact)) != DT_OK) return rc;
        if (exact >= 0) f = exact;
        *inl = n * (COST_SEEK + f * COST_SCAN);
    } else {
        f = it->s;
        *inl = n * (COST_SEEK + f * COST_SCAN);
    }
    *fan = f;
    return DT_OK;
}

/* }------ */

/* Marks pushed predicates as done. */
static void mark_used(item *items, size_t n, const bounds *b) {
    for (size_t k = 0; k < b->nused; k++)
        for (size_t i = 0; i < n; i++)
            if (items[i].cl == b->used[k]) items[i].done = 1;
}

/* Prepares pattern it->cl on t with the predicates it can push down. */
static int prep_with_bounds(ctx *c, const scope *sc, item *items, size_t nitems, item *it,
                            const dq_table *t, pat *p) {
    int rc = pat_prepare(c, sc, it->cl, t, p);
    if (rc != DT_OK) return rc;
    if (p->p[2].kind == P_NEW && p->attr) {
        const dq_clause *preds[64];
        size_t np = 0;
        for (size_t i = 0; i < nitems && np < 64; i++)
            if (!items[i].done && items[i].cl && items[i].cl->kind == DQ_CL_PRED)
                preds[np++] = items[i].cl;
        int vt = -1;
        if (np && (rc = attr_vtype(c, src_id(sc, it->cl->src), p->attr, &vt)) != DT_OK) return rc;
        if (np && vt >= 0 && collect_bounds(sc, preds, np, p->p[2].var, vt, &p->rg)) p->has_rg = 1;
        if (p->has_rg && p->rg.empty) p->none = 1;
    }
    return DT_OK;
}

/* Whether every variable of predicate cl is a constant, bound in `bound`
 * or a new variable of pattern p, with at least one new one. */
static int pred_follows(const scope *sc, const dq_clause *cl, const uint8_t *bound, const pat *p) {
    int uses_new = 0;
    for (size_t i = 0; i < cl->nterms; i++) {
        const dq_term *tm = &cl->terms[i];
        if (tm->kind != DQ_TERM_VAR || term_const(sc, tm)) continue;
        int is_new = 0;
        for (size_t k = 0; k < DQ_MAX_PATTERN; k++)
            if (p->p[k].kind == P_NEW && p->p[k].var == tm->id) is_new = 1;
        if (is_new)
            uses_new = 1;
        else if (!bound || !bound[tm->id])
            return 0;
    }
    return uses_new;
}

/* The fraction of a pattern's rows the predicates waiting for its new
 * variables are guessed to keep (0.3 each; pushed ones are exact). */
static double filter_sel(const scope *sc, const item *items, size_t n, const uint8_t *bound,
                         const pat *p) {
    double sel = 1;
    for (size_t i = 0; i < n; i++) {
        const dq_clause *cl = items[i].cl;
        if (items[i].done || !cl || cl->kind != DQ_CL_PRED) continue;
        int pushed = 0;
        for (size_t k = 0; p->has_rg && k < p->rg.nused; k++)
            if (p->rg.used[k] == cl) pushed = 1;
        if (!pushed && pred_follows(sc, cl, bound, p)) sel *= 0.3;
    }
    return sel < 0.01 ? 0.01 : sel;
}

/* Runs on g (a pattern read alone, before a hash join) the predicates
 * whose variables g binds by itself, so the join sees fewer rows. */
static int filter_gen(ctx *c, const scope *sc, item *items, size_t n, dq_table *g) {
    int rc = DT_OK;
    for (size_t i = 0; i < n && rc == DT_OK; i++) {
        const dq_clause *cl = items[i].cl;
        if (items[i].done || !cl || cl->kind != DQ_CL_PRED) continue;
        int ok = 1;
        for (size_t k = 0; k < cl->nterms && ok; k++) {
            const dq_term *tm = &cl->terms[k];
            if (tm->kind == DQ_TERM_VAR && !term_const(sc, tm) && col_of(g, tm->id) < 0) ok = 0;
        }
        if (!ok) continue;
        uint64_t before = g->nrows;
        rc = run_pred(c, sc, cl, g);
        items[i].done = 1;
        if (rc == DT_OK)
            rc = add_step(c, cl->form, "filter", NULL, NULL, NULL, (double)before * 0.3, g->nrows);
    }
    return rc;
}

/* Estimates an or that binds new variables: the sum over its branches
 * of their most selective pattern (a branch without one: 4 per row). */
static int est_or(ctx *c, const scope *sc, const dq_clause *cl, const dq_table *t, double *out) {
    double N = (double)t->nrows, sum = 0;
    for (size_t b = 0; b < cl->nclauses; b++) {
        const dq_clause *br = &cl->clauses[b];
        const dq_clause *cs = br->kind == DQ_CL_AND ? br->clauses : br;
        size_t nc = br->kind == DQ_CL_AND ? br->nclauses : 1;
        double best = N * 4;
        for (size_t k = 0; k < nc; k++) {
            if (cs[k].kind != DQ_CL_PATTERN) continue;
            item it;
            memset(&it, 0, sizeof it);
            it.cl = &cs[k];
            pat p;
            int rc = pat_prepare(c, sc, &cs[k], t, &p);
            double fan = 0, inl = 0;
            if (rc == DT_OK) rc = est_pattern(c, sc, &it, &p, t, N, &fan, &inl);
            pat_release(&p);
            if (rc != DT_OK) return rc;
            if (N * fan < best) best = N * fan;
        }
        sum += best;
    }
    *out = sum;
    return DT_OK;
}

/* {------ Stars: several patterns of one bound entity in one EAV pass ------ */

#define STAR_MAX 8

/* Whether pattern q (prepared on t) can join a star on the entity in
 * column ecol: entity bound there, a known attribute, no tx/added
 * positions, a value that is new (not bound, not repeated) or constant. */
static int star_member_ok(const pat *q, int ecol) {
    if (q->none || !q->attr || q->np > 3 || q->hist) return 0;
    if (q->p[0].kind != P_BOUND || q->p[0].col != ecol) return 0;
    if (q->p[1].kind != P_CONST) return 0;
    int vk = q->p[2].kind;
    if (vk == P_CONST) return q->cv_ok;
    /* a bound value is compared as the entity's datoms are read (not for
     * cardinality many, where a seek to the value finds it directly) */
    return vk == P_NEW || vk == P_BLANK || (vk == P_BOUND && !q->attr->many);
}

/* A member's values for the current entity: raw views into the map,
 * decoded only for rows that are emitted. */
typedef struct star_val {
    const uint8_t *raw; /* NULL: decoded already (long values) */
    size_t rawlen;
    dt_value v;
} star_val;

typedef struct star_vals {
    star_val *v;
    size_t n, cap;
} star_vals;

/*
 * Runs the star m[0..nm) (all on the entity in column ecol of t): for
 * each row one EAV seek to the entity, one pass over its datoms from the
 * smallest to the largest attribute of the star, each datom going to the
 * members of its attribute (constants, values bound in the row and pushed
 * ranges checked as read); then the cross product of the members' values
 * (one each for cardinality-one attributes).
 */
static int star_run(ctx *c, pat *m, size_t nm, int ecol, const dq_table *t, dq_table *out) {
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t k = 0; k < nm; k++) {
        if (m[k].attr->aid < lo) lo = m[k].attr->aid;
        if (m[k].attr->aid > hi) hi = m[k].attr->aid;
    }
    star_vals sv[STAR_MAX];
    memset(sv, 0, sizeof sv);
    dt_buf bv[STAR_MAX]; /* values bound in the row, encoded */
    for (size_t k = 0; k < STAR_MAX; k++) bv[k] = (dt_buf)DT_BUF_INIT;
    dl_cursor cur;
    int rc = dl_db_cursor_open(&cur, m[0].db, DL_INDEX_EAV);
    if (rc != DT_OK) return rc;
    size_t idx[STAR_MAX];
    for (size_t r = 0; r < t->nrows && rc == DT_OK; r++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) break;
        const dt_value *row = trow(t, r);
        int64_t e;
        int found = resolve_entity(&m[0], &row[ecol], &e, 0); /* ids, idents, lookup refs */
        if (found < 0) {
            rc = -found;
            break;
        }
        if (!found) continue;
        int can = 1;
        for (size_t k = 0; k < nm && can; k++) {
            if (m[k].p[2].kind != P_BOUND) continue;
            int ok = encode_for(&m[k], m[k].attr, &row[m[k].p[2].col], &bv[k], 0);
            if (ok < 0) {
                rc = -ok;
                goto done;
            }
            can = ok;
        }
        if (!can) continue; /* a bound value the attribute cannot hold */
        for (size_t k = 0; k < nm; k++) sv[k].n = 0;
        dl_ikey from = {.n = 2, .e = e, .aid = lo};
        if ((rc = dl_cursor_seek(&cur, &from, 1, NULL)) != DT_OK) break;
        dl_datom d;
        int x;
        while ((x = dl_cursor_next(&cur, &d)) == DT_ROW) {
            if (d.aid > hi) break;
            for (size_t k = 0; k < nm; k++) {
                pat *q = &m[k];
                if (q->attr->aid != d.aid) continue;
                const uint8_t *f = d.v;
                size_t fn = d.vlen;
                if (d.truncated &&
                    (q->p[2].kind == P_CONST || q->p[2].kind == P_BOUND || q->has_rg)) {
                    dt_kv_bytes full;
                    if ((rc = dl_cursor_value(&cur, &full)) != DT_OK) goto done;
                    f = full.ptr;
                    fn = full.len;
                }
                if (q->p[2].kind == P_CONST && enc_cmp(f, fn, q->cv.p, q->cv.len) != 0) continue;
                if (q->p[2].kind == P_BOUND && enc_cmp(f, fn, bv[k].p, bv[k].len) != 0) continue;
                if (q->has_rg && bounds_check(&q->rg, f, fn) != 0) continue;
                star_val v;
                dt_value_nil(&v.v);
                v.raw = NULL;
                v.rawlen = 0;
                if (q->p[2].kind == P_NEW) {
                    if (d.truncated) {
                        if ((rc = decode_value(c, &cur, &d, &v.v)) != DT_OK) goto done;
                    } else {
                        v.raw = d.v;
                        v.rawlen = d.vlen;
                    }
                }
                if (sv[k].n == sv[k].cap) {
                    size_t cap = sv[k].cap ? sv[k].cap * 2 : 4;
                    star_val *nv = dt__realloc(sv[k].v, cap * sizeof *nv);
                    if (!nv) {
                        rc = DT_NOMEM;
                        goto done;
                    }
                    sv[k].v = nv;
                    sv[k].cap = cap;
                }
                sv[k].v[sv[k].n++] = v;
            }
        }
        if (x != DT_ROW && x != DT_DONE) {
            rc = x;
            break;
        }
        int any_empty = 0;
        for (size_t k = 0; k < nm; k++)
            if (!sv[k].n) any_empty = 1;
        if (any_empty) continue;
        /* decode what will be emitted */
        for (size_t k = 0; k < nm; k++)
            for (size_t j = 0; j < sv[k].n; j++) {
                star_val *v = &sv[k].v[j];
                if (!v->raw) continue;
                dl_datom dd;
                memset(&dd, 0, sizeof dd);
                dd.v = v->raw;
                dd.vlen = v->rawlen;
                if ((rc = decode_value(c, &cur, &dd, &v->v)) != DT_OK) goto done;
                v->raw = NULL;
            }
        /* the cross product, odometer style */
        for (size_t k = 0; k < nm; k++) idx[k] = 0;
        for (;;) {
            dt_value *o = tab_slot(out);
            if (!o) {
                rc = DT_NOMEM;
                goto done;
            }
            if (t->ncols) memcpy(o, row, t->ncols * sizeof *o);
            for (size_t k = 0; k < nm; k++)
                if (m[k].p[2].kind == P_NEW) o[m[k].p[2].col] = sv[k].v[idx[k]].v;
            out->nrows++;
            size_t k = 0;
            while (k < nm && ++idx[k] == sv[k].n) idx[k++] = 0;
            if (k == nm) break;
        }
        if ((out->nrows & 1023) == 0 && (rc = dq_exec_rows(c->x, out->nrows)) != DT_OK) break;
    }
    if (rc == DT_OK) rc = dq_exec_rows(c->x, out->nrows);
done:
    dl_cursor_close(&cur);
    for (size_t k = 0; k < nm; k++) dt__free(sv[k].v);
    for (size_t k = 0; k < STAR_MAX; k++) dt_buf_release(&bv[k]);
    return rc;
}

/* Gathers into m[1..) the other patterns of items that can join a star
 * with m[0] (prepared on t); returns how many members in all. */
static int star_gather(ctx *c, const scope *sc, item *items, size_t nitems, const item *it,
                       const dq_table *t, pat *m, item **mit, size_t *nm) {
    *nm = 1;
    mit[0] = (item *)it;
    int ecol = m[0].p[0].col;
    int32_t src = src_id(sc, it->cl->src);
    for (size_t i = 0; i < nitems && *nm < STAR_MAX; i++) {
        item *o = &items[i];
        if (o == it || o->done || !o->cl || o->cl->kind != DQ_CL_PATTERN) continue;
        if (src_id(sc, o->cl->src) != src) continue;
        const dq_term *e0 = &o->cl->terms[0];
        if (e0->kind != DQ_TERM_VAR || e0->id != m[0].p[0].var) continue;
        pat *q = &m[*nm];
        int rc = prep_with_bounds(c, sc, items, nitems, o, t, q);
        if (rc != DT_OK) {
            pat_release(q);
            return rc;
        }
        int ok = star_member_ok(q, ecol) && !q->attr->many;
        /* a new value variable must be new to the whole star */
        if (ok && q->p[2].kind == P_NEW)
            for (size_t k = 0; k < *nm && ok; k++)
                if (m[k].p[2].kind == P_NEW && m[k].p[2].var == q->p[2].var) ok = 0;
        if (!ok) {
            pat_release(q);
            continue;
        }
        mit[(*nm)++] = o;
    }
    return DT_OK;
}

/* }------ */

/* Runs a pattern step: index nested loop, or (when t is large and the
 * pattern alone small) a scan of the pattern hash-joined with t. */
static int step_pattern(ctx *c, const scope *sc, item *items, size_t nitems, item *it, dq_table *t,
                        double est) {
    pat p;
    int rc = prep_with_bounds(c, sc, items, nitems, it, t, &p);
    if (rc != DT_OK) {
        pat_release(&p);
        return rc;
    }
    double fan = 0, inl = 0;
    if ((rc = est_pattern(c, sc, it, &p, t, (double)t->nrows, &fan, &inl)) != DT_OK) goto done;
    int any_bound = 0;
    for (size_t i = 0; i < DQ_MAX_PATTERN; i++)
        if (p.p[i].kind == P_BOUND) any_bound = 1;
    /* a lookup on a bound entity brings the entity's other patterns along
     * in the same pass (a star): its seeks serve them all */
    if (p.p[0].kind == P_BOUND && star_member_ok(&p, p.p[0].col) && p.p[2].kind != P_BLANK) {
        double members = 1;
        for (size_t i = 0; i < nitems; i++) {
            const item *o = &items[i];
            if (o == it || o->done || !o->cl || o->cl->kind != DQ_CL_PATTERN) continue;
            const dq_term *e0 = &o->cl->terms[0];
            if (o->cl->nterms <= 3 && e0->kind == DQ_TERM_VAR && e0->id == p.p[0].var &&
                o->cl->terms[1].kind == DQ_TERM_CONST)
                members++;
        }
        if (members > STAR_MAX) members = STAR_MAX;
        inl /= members;
    }
    /* a hash join's scan is pre-filtered by the ids the table holds for
     * the join position (entity, or a ref value): no decoding for rows
     * that cannot join */
    int key_e = p.p[0].kind == P_BOUND && col_all_ids(t, p.p[0].col);
    int key_v = !key_e && p.p[2].kind == P_BOUND && p.attr && p.attr->vtype == DT_REF &&
                col_all_ids(t, p.p[2].col);
    double scan = (key_e || key_v) ? COST_FSCAN : COST_SCAN + COST_PROBE;
    if (it->s_more && any_bound && p.has_rg && (double)COUNT_CAP * scan < inl) {
        /* scanning the range may beat the lookups: count it further (only
         * now, where it decides, as counting costs time) */
        attr_stat st;
        if ((rc = get_stat(c, src_id(sc, it->cl->src), p.attr, &st)) != DT_OK) goto done;
        if ((rc = range_size(&p, RANGE_CAP, (double)st.count, &it->s)) != DT_OK) goto done;
        it->s_more = 0;
    }
    double hj = it->s * scan + (double)t->nrows * COST_PROBE + est * COST_PROBE + 1;
    int use_hash = t->nrows > 1 && (!any_bound || hj < inl);
    /* entity references that are not ids (lookup refs, idents from the
     * inputs) join only through a lookup, which resolves them */
    if ((p.p[0].kind == P_BOUND && !col_all_ids(t, p.p[0].col)) ||
        (p.p[2].kind == P_BOUND && (!p.attr || p.attr->vtype == DT_REF) &&
         !col_all_ids(t, p.p[2].col)) ||
        (p.p[3].kind == P_BOUND && !col_all_ids(t, p.p[3].col)))
        use_hash = 0;
    const char *ix = NULL;
    char bname[32] = "";
    dq_table out;
    memset(&out, 0, sizeof out);
    int gen_filters = 0; /* predicates the scanned side could apply alone */
    if (use_hash && (key_e || key_v)) {
        uint8_t *none = dt__calloc(sc->vars->n + 1, 1);
        if (!none) {
            rc = DT_NOMEM;
            goto done;
        }
        gen_filters = filter_sel(sc, items, nitems, none, &p) < 1;
        dt__free(none);
        int nbound = 0;
        for (size_t i = 0; i < DQ_MAX_PATTERN; i++) {
            if (p.p[i].kind == P_REPEAT) gen_filters = 1; /* keep the general path */
            if (p.p[i].kind == P_BOUND) nbound++;
        }
        if (nbound != 1) gen_filters = 1; /* the key must be the only shared variable */
    }
    if (use_hash && (key_e || key_v) && !gen_filters) {
        /* scan join: scan the pattern once, probing t's rows by id */
        dq_table unit;
        idset jm;
        memset(&jm, 0, sizeof jm);
        if ((rc = tab_unit(&unit)) != DT_OK) goto done;
        pat g;
        rc = pat_prepare(c, sc, it->cl, &unit, &g);
        int kpos = key_e ? 0 : 2;
        if (rc == DT_OK) {
            if (p.has_rg) {
                g.has_rg = 1;
                g.rg = p.rg;
                memset(&p.rg, 0, sizeof p.rg);
                p.has_rg = 0;
            }
            /* the key is t's; the other new variables follow t's columns */
            g.p[kpos].kind = P_BLANK;
            size_t k = 0;
            for (size_t i = 0; i < DQ_MAX_PATTERN; i++)
                if (g.p[i].kind == P_NEW) g.p[i].col = (int)k++;
            g.col_off = t->ncols;
            rc = idset_map(&jm, t, p.p[kpos].col);
        }
        if (rc == DT_OK) {
            g.jm = &jm;
            g.jt = t;
            g.jv = !key_e;
            rc = pat_out_init(&g, t, &out);
            if (rc == DT_OK) tab_reserve(&out, est * 1.2);
        }
        if (rc == DT_OK) rc = pat_run(c, &g, &unit, &out, &ix, bname, sizeof bname);
        if (rc == DT_OK) {
            mark_used(items, nitems, &g.rg);
            rc = add_step(c, it->cl->form, "scan-join", ix, bname, g.has_rg ? g.rg.text : NULL, est,
                          out.nrows);
        }
        idset_release(&jm);
        pat_release(&g);
        dq_table_release(&unit);
    } else if (use_hash) {
        dq_table unit, gen;
        memset(&gen, 0, sizeof gen);
        if ((rc = tab_unit(&unit)) != DT_OK) goto done;
        pat g;
        rc = pat_prepare(c, sc, it->cl, &unit, &g);
        if (rc == DT_OK && p.has_rg) {
            /* the same bounds */
            g.has_rg = 1;
            g.rg = p.rg;
            memset(&p.rg, 0, sizeof p.rg);
            p.has_rg = 0;
        }
        idset ids;
        memset(&ids, 0, sizeof ids);
        if (rc == DT_OK && (key_e || key_v)) {
            rc = idset_build(&ids, t, key_e ? p.p[0].col : p.p[2].col);
            if (key_e)
                g.fe = &ids;
            else
                g.fv = &ids;
        }
        if (rc == DT_OK) rc = pat_out_init(&g, &unit, &gen);
        if (rc == DT_OK) rc = pat_run(c, &g, &unit, &gen, &ix, bname, sizeof bname);
        dt__free(ids.slots);
        if (rc == DT_OK) {
            mark_used(items, nitems, &g.rg);
            rc = add_step(c, it->cl->form, "scan", ix, bname, g.has_rg ? g.rg.text : NULL, it->s,
                          gen.nrows);
        }
        if (rc == DT_OK) rc = filter_gen(c, sc, items, nitems, &gen);
        if (rc == DT_OK) rc = hash_join(c, t, &gen, &out);
        if (rc == DT_OK && t->nrows > 1)
            rc = add_step(c, it->cl->form, "hash-join", NULL, NULL, NULL, est, out.nrows);
        pat_release(&g);
        dq_table_release(&unit);
        dq_table_release(&gen);
    } else if (star_member_ok(&p, p.p[0].col) && p.p[2].kind != P_BLANK) {
        /* index nested loop on a bound entity: its other patterns come
         * along in the same pass over the entity's datoms */
        pat m[STAR_MAX];
        item *mit[STAR_MAX];
        size_t nm = 0;
        m[0] = p;
        memset(&p, 0, sizeof p); /* m[0] owns it now */
        rc = star_gather(c, sc, items, nitems, it, t, m, mit, &nm);
        if (rc == DT_OK) {
            /* the new value columns, in member order */
            dq_var nv[STAR_MAX];
            size_t k2 = 0;
            for (size_t k = 0; k < nm; k++)
                if (m[k].p[2].kind == P_NEW) {
                    m[k].p[2].col = (int)(t->ncols + k2);
                    nv[k2++] = m[k].p[2].var;
                }
            rc = tab_init_cols(&out, t->cols, t->ncols, nv, k2);
        }
        if (rc == DT_OK) tab_reserve(&out, est * 1.2);
        if (rc == DT_OK) rc = star_run(c, m, nm, m[0].p[0].col, t, &out);
        for (size_t k = 0; k < nm; k++) {
            if (rc == DT_OK) {
                mit[k]->done = 1;
                mark_used(items, nitems, &m[k].rg);
                rc = add_step(c, mit[k]->cl->form, nm > 1 ? "star" : "lookup", "eav",
                              m[k].p[2].kind == P_CONST || m[k].p[2].kind == P_BOUND ? "e a v"
                                                                                     : "e a",
                              m[k].has_rg ? m[k].rg.text : NULL, est, out.nrows);
            }
            pat_release(&m[k]);
        }
    } else {
        rc = pat_out_init(&p, t, &out);
        if (rc == DT_OK) tab_reserve(&out, est * 1.2);
        if (rc == DT_OK) rc = pat_run(c, &p, t, &out, &ix, bname, sizeof bname);
        if (rc == DT_OK) {
            mark_used(items, nitems, &p.rg);
            rc = add_step(c, it->cl->form, any_bound ? "lookup" : "scan", ix, bname,
                          p.has_rg ? p.rg.text : NULL, est, out.nrows);
        }
    }
    if (rc == DT_OK)
        tab_move(t, &out);
    else
        dq_table_release(&out);
done:
    pat_release(&p);
    return rc;
}

/* Evaluates a sub-conjunction (a branch of or, the body of not) from the
 * distinct bindings of `vars` in t, and returns its rows over `vars`. */
static int eval_sub(ctx *c, const scope *sc, const dq_clause *cls, size_t n, const dq_table *t,
                    const dq_var *vars, size_t nvars, dq_table *res) {
    dq_table seed;
    int rc = project_distinct(t, vars, nvars, &seed);
    if (rc != DT_OK) return rc;
    uint8_t *keep = dt__calloc(sc->vars->n + 1, 1);
    if (!keep) {
        dq_table_release(&seed);
        return DT_NOMEM;
    }
    for (size_t i = 0; i < nvars; i++) keep[vars[i]] = 1;
    c->depth++;
    rc = eval_conj(c, sc, cls, n, keep, &seed);
    c->depth--;
    dt__free(keep);
    if (rc == DT_OK) rc = project_distinct(&seed, vars, nvars, res);
    dq_table_release(&seed);
    return rc;
}

/* or / or-join: the union of the branches, joined with t. */
static int run_or(ctx *c, const scope *sc, const dq_clause *cl, dq_table *t) {
    dq_table uni;
    memset(&uni, 0, sizeof uni);
    int rc = DT_OK;
    int have = 0;
    for (size_t i = 0; i < cl->nclauses && rc == DT_OK; i++) {
        const dq_clause *br = &cl->clauses[i];
        dq_table r;
        if (br->kind == DQ_CL_AND)
            rc = eval_sub(c, sc, br->clauses, br->nclauses, t, cl->vars, cl->nvars, &r);
        else
            rc = eval_sub(c, sc, br, 1, t, cl->vars, cl->nvars, &r);
        if (rc != DT_OK) break;
        if (r.nrows == 0) {
            dq_table_release(&r);
            continue;
        }
        if (!have) {
            uni = r;
            have = 1;
            continue;
        }
        /* align r's columns on uni's */
        int map[64];
        for (size_t k = 0; k < uni.ncols; k++) map[k] = col_of(&r, uni.cols[k]);
        for (size_t k = 0; k < uni.ncols; k++)
            if (map[k] < 0) rc = clause_err(cl, DT_INVALID, "branches bind different variables");
        for (size_t k = 0; k < r.nrows && rc == DT_OK; k++) {
            dt_value *o = tab_slot(&uni);
            if (!o) {
                rc = DT_NOMEM;
                break;
            }
            for (size_t j = 0; j < uni.ncols; j++) o[j] = trow(&r, k)[map[j]];
            uni.nrows++;
        }
        dq_table_release(&r);
    }
    if (rc == DT_OK && !have) t->nrows = 0; /* no branch matched */
    if (rc == DT_OK && have) rc = dedup(&uni);
    if (rc == DT_OK && have) rc = join_into(c, t, &uni);
    dq_table_release(&uni);
    return rc;
}

/* not / not-join: drops the rows of t for which the body has a match. */
static int run_not(ctx *c, const scope *sc, const dq_clause *cl, dq_table *t) {
    dq_table r;
    int rc = eval_sub(c, sc, cl->clauses, cl->nclauses, t, cl->vars, cl->nvars, &r);
    if (rc != DT_OK) return rc;
    rc = semi_join(c, t, &r, 0);
    dq_table_release(&r);
    return rc;
}

/* Joins an input relation. */
static int run_rel(ctx *c, const dq_table *rel, dq_table *t) {
    dq_table out;
    int rc = hash_join(c, t, rel, &out);
    if (rc == DT_OK)
        tab_move(t, &out);
    else
        dq_table_release(&out);
    return rc;
}

/* Is clause cl a filter (binds nothing new) given bound? */
static int is_filter(const scope *sc, const dq_clause *cl, const uint8_t *bound) {
    switch (cl->kind) {
    case DQ_CL_PRED:
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        return 1;
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN:
        for (size_t i = 0; i < cl->nvars; i++)
            if (!bound[cl->vars[i]] && !(sc->cval && sc->cval[cl->vars[i]])) return 0;
        return 1;
    default:
        return 0;
    }
}

static int first_unbound(const scope *sc, const dq_clause *cl, const uint8_t *bound) {
    for (size_t i = 0; i < cl->nterms; i++)
        if (cl->terms[i].kind == DQ_TERM_VAR && !term_const(sc, &cl->terms[i]) &&
            !bound[cl->terms[i].id])
            return cl->terms[i].id;
    for (size_t i = 0; i < cl->nvars; i++)
        if (!bound[cl->vars[i]]) return cl->vars[i];
    return -1;
}

static const char *filter_op(const dq_clause *cl) {
    switch (cl->kind) {
    case DQ_CL_PRED:
        return "filter";
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        return "anti-join";
    default:
        return "semi-join";
    }
}

/*
 * eval_conj: joins clauses cls[0..n) (and, at the top, the input
 * relations in c) into t, choosing at each step the clause with the
 * smallest estimated result among those that can run.
 */
/* Drops the columns of t that neither `keep` nor a clause still to run
 * uses (narrower rows are cheaper to copy at every later step). */
static void prune(const scope *sc, const item *items, size_t n, const uint8_t *keep, dq_table *t,
                  uint8_t *live) {
    if (!keep || t->ncols == 0) return;
    size_t nv = sc->vars->n;
    memcpy(live, keep, nv);
    for (size_t i = 0; i < n; i++) {
        if (items[i].done) continue;
        if (items[i].cl)
            clause_vars(items[i].cl, live);
        else
            for (size_t k = 0; k < items[i].rel->ncols; k++) live[items[i].rel->cols[k]] = 1;
    }
    size_t idx[256], w = 0;
    for (size_t k = 0; k < t->ncols && w < 256; k++)
        if (t->cols[k] >= 0 && (size_t)t->cols[k] < nv && live[t->cols[k]]) idx[w++] = k;
    if (w == t->ncols || t->ncols > 256) return;
    for (size_t r = 0; r < t->nrows; r++) {
        const dt_value *row = t->cells + r * t->ncols;
        dt_value *o = t->cells + r * w;
        for (size_t k = 0; k < w; k++) o[k] = row[idx[k]];
    }
    for (size_t k = 0; k < w; k++) t->cols[k] = t->cols[idx[k]];
    t->cap = t->cap * t->ncols / (w ? w : 1);
    t->ncols = w;
}

/* A clause (or input) that can run at a step, with its estimates. */
typedef struct cand_t {
    item *it;
    double est, cost;
} cand_t;

/* Whether item it shares a variable with `bound` (an or, a function or a
 * rule counts as sharing one). */
static int touches(const scope *sc, const item *it, const uint8_t *bound) {
    if (!it->cl) {
        for (size_t k = 0; k < it->rel->ncols; k++)
            if (bound[it->rel->cols[k]]) return 1;
        return 0;
    }
    if (it->cl->kind != DQ_CL_PATTERN) return 1;
    for (size_t i = 0; i < it->cl->nterms; i++) {
        const dq_term *tm = &it->cl->terms[i];
        if (tm->kind == DQ_TERM_VAR && !term_const(sc, tm) && bound[tm->id]) return 1;
    }
    return 0;
}

/* How many candidates get a look ahead. */
#define LOOKAHEAD 4

/*
 * The smallest estimated result of the step after candidate k (a pattern
 * or an input) if k ran now: a pattern that shares none of k's new
 * variables keeps its current estimate, scaled by how k grows the table;
 * one that does is estimated again with k's variables bound (from the
 * statistics; exactly when k is an input and the table has no columns,
 * since the table after k is then the input itself).  0 when no pattern
 * is left to join.
 */
static int next_est(ctx *c, const scope *sc, item *items, size_t n, const dq_table *t,
                    const uint8_t *bound, const cand_t *cand, size_t ncand, size_t k, double *out) {
    size_t nv = sc->vars->n;
    const item *kt = cand[k].it;
    double N = (double)t->nrows, E1 = cand[k].est;
    uint8_t *fresh = dt__calloc(2 * nv + 2, 1);
    if (!fresh) return DT_NOMEM;
    uint8_t *b2 = fresh + nv + 1;
    if (kt->cl) {
        clause_vars(kt->cl, fresh);
    } else {
        for (size_t i = 0; i < kt->rel->ncols; i++) fresh[kt->rel->cols[i]] = 1;
    }
    dq_table la;
    memset(&la, 0, sizeof la);
    const dq_table *lt = &la;
    int rc = DT_OK;
    size_t nfresh = 0;
    for (size_t v = 0; v < nv; v++) {
        if (fresh[v] && (bound[v] || (sc->cval && sc->cval[v]))) fresh[v] = 0;
        b2[v] = bound[v] | fresh[v];
        nfresh += fresh[v];
    }
    if (!kt->cl && t->ncols == 0) {
        lt = kt->rel;
    } else {
        la.cols = dt__malloc((t->ncols + nfresh + 1) * sizeof *la.cols);
        if (!la.cols) {
            dt__free(fresh);
            return DT_NOMEM;
        }
        for (size_t i = 0; i < t->ncols; i++) la.cols[la.ncols++] = t->cols[i];
        for (size_t v = 0; v < nv; v++)
            if (fresh[v]) la.cols[la.ncols++] = (dq_var)v;
    }
    double best = -1;
    for (size_t i = 0; i < n && rc == DT_OK; i++) {
        item *q = &items[i];
        if (q == kt || q->done || !q->cl || q->cl->kind != DQ_CL_PATTERN) continue;
        double e2 = -1;
        if (!touches(sc, q, fresh)) {
            for (size_t j = 0; j < ncand; j++)
                if (cand[j].it == q && N > 0) e2 = cand[j].est * E1 / N;
        } else {
            pat p;
            double fan = 0, inl = 0;
            rc = prep_with_bounds(c, sc, items, n, q, lt, &p);
            if (rc == DT_OK) rc = est_pattern(c, sc, q, &p, lt, E1, &fan, &inl);
            if (rc == DT_OK) e2 = E1 * fan * filter_sel(sc, items, n, b2, &p);
            pat_release(&p);
        }
        if (e2 >= 0 && (best < 0 || e2 < best)) best = e2;
    }
    dt__free(la.cols);
    dt__free(fresh);
    *out = best < 0 ? 0 : best;
    return rc;
}

/*
 * Picks the step to run among the candidates: the smallest estimated
 * result, looking one step further among the LOOKAHEAD smallest patterns
 * and inputs.  A small but unselective step (a tiny table crossed with
 * the bindings, a lookup with a large fan-out after it) loses there to
 * one whose next step stays small: each is scored by its rows plus the
 * rows of the best step after it.
 */
static int pick_step(ctx *c, const scope *sc, item *items, size_t n, const dq_table *t,
                     const uint8_t *bound, cand_t *cand, size_t ncand, item **best,
                     double *best_est) {
    *best = NULL;
    if (ncand == 0) return DT_OK;
    size_t bi = 0;
    for (size_t k = 1; k < ncand; k++)
        if (cand[k].est < cand[bi].est ||
            (cand[k].est == cand[bi].est && cand[k].cost < cand[bi].cost))
            bi = k;
    size_t pick[LOOKAHEAD], np = 0;
    while (np < LOOKAHEAD) {
        size_t m = ncand;
        for (size_t k = 0; k < ncand; k++) {
            const item *it = cand[k].it;
            if (it->cl && it->cl->kind != DQ_CL_PATTERN) continue;
            int dup = 0;
            for (size_t j = 0; j < np; j++)
                if (pick[j] == k) dup = 1;
            if (dup) continue;
            if (m == ncand || cand[k].est < cand[m].est ||
                (cand[k].est == cand[m].est && cand[k].cost < cand[m].cost))
                m = k;
        }
        if (m == ncand) break;
        pick[np++] = m;
    }
    if (np >= 2) {
        double best_score = -1;
        size_t bk = bi;
        for (size_t j = 0; j < np; j++) {
            double nx = 0;
            int rc = next_est(c, sc, items, n, t, bound, cand, ncand, pick[j], &nx);
            if (rc != DT_OK) return rc;
            double score = cand[pick[j]].est + nx;
            if (best_score < 0 || score < best_score ||
                (score == best_score && cand[pick[j]].est < cand[bk].est)) {
                best_score = score;
                bk = pick[j];
            }
        }
        /* a filter, or or a rule estimated smaller still keeps its turn */
        if (cand[bi].it->cl && cand[bi].it->cl->kind != DQ_CL_PATTERN) bk = bi;
        bi = bk;
    }
    *best = cand[bi].it;
    *best_est = cand[bi].est;
    return DT_OK;
}

static int eval_items(ctx *c, const scope *sc, item *items, size_t n, const uint8_t *keep,
                      dq_table *t) {
    size_t nv = sc->vars->n;
    uint8_t *bound = dt__malloc(2 * nv + 2);
    cand_t *cand = dt__malloc((n + 1) * sizeof *cand);
    if (!bound || !cand) {
        dt__free(bound);
        dt__free(cand);
        return DT_NOMEM;
    }
    uint8_t *live = bound + nv + 1;
    int rc = DT_OK;
    for (;;) {
        prune(sc, items, n, keep, t, live);
        if (t->nrows == 0) {
            /* nothing can come back; keep the columns complete */
            for (size_t i = 0; i < n; i++) items[i].done = 1;
        }
        bound_of(t, bound, nv);
        /* filters whose variables are bound run first */
        int progress = 1;
        while (progress && rc == DT_OK) {
            progress = 0;
            for (size_t i = 0; i < n && rc == DT_OK; i++) {
                item *it = &items[i];
                if (it->done || !it->cl || !is_filter(sc, it->cl, bound)) continue;
                if (!can_run(c, sc, it->cl, bound)) continue;
                uint64_t before = t->nrows;
                if (it->cl->kind == DQ_CL_PRED)
                    rc = run_pred(c, sc, it->cl, t);
                else if (it->cl->kind == DQ_CL_NOT || it->cl->kind == DQ_CL_NOT_JOIN)
                    rc = run_not(c, sc, it->cl, t);
                else
                    rc = run_or(c, sc, it->cl, t);
                it->done = 1;
                progress = 1;
                if (rc == DT_OK)
                    rc = add_step(c, it->cl->form, filter_op(it->cl), NULL, NULL, NULL,
                                  (double)before / 2, t->nrows);
            }
        }
        if (rc != DT_OK) break;
        int left = 0;
        for (size_t i = 0; i < n; i++)
            if (!items[i].done) left = 1;
        if (!left) break;
        /* the cheapest step */
        double N = (double)t->nrows;
        item *best = NULL;
        double best_est = 0;
        size_t ncand = 0;
        for (size_t i = 0; i < n && rc == DT_OK; i++) {
            item *it = &items[i];
            if (it->done) continue;
            double est, cost;
            if (!it->cl) {
                int shares = 0;
                for (size_t k = 0; k < it->rel->ncols; k++)
                    if (bound[it->rel->cols[k]]) shares = 1;
                est = shares ? N : N * (double)it->rel->nrows;
                /* an input holding entity references that are not ids
                 * (lookup refs, idents) goes first: patterns then look
                 * its values up (resolving them) instead of joining on
                 * them by value */
                for (size_t k = 0; k < it->rel->ncols; k++)
                    if (!col_all_ids(it->rel, (int)k)) {
                        const dt_value *v0 = NULL;
                        for (size_t r = 0; r < it->rel->nrows && !v0; r++) {
                            const dt_value *v = &trow(it->rel, r)[k];
                            if (v->type == DT_VECTOR || v->type == DT_LIST || v->type == DT_KEYWORD)
                                v0 = v;
                        }
                        if (v0) est = 0;
                    }
                cost = est;
            } else {
                const dq_clause *cl = it->cl;
                if (is_filter(sc, cl, bound) || !can_run(c, sc, cl, bound)) continue;
                switch (cl->kind) {
                case DQ_CL_PATTERN: {
                    pat p;
                    rc = prep_with_bounds(c, sc, items, n, it, t, &p);
                    double fan = 0, inl = 0;
                    if (rc == DT_OK) rc = est_pattern(c, sc, it, &p, t, N, &fan, &inl);
                    est = N * fan * filter_sel(sc, items, n, bound, &p);
                    pat_release(&p);
                    cost = inl;
                    break;
                }
                case DQ_CL_FN:
                    est = cl->bind.kind == DQ_BIND_COLL || cl->bind.kind == DQ_BIND_REL ? N * 4 : N;
                    cost = est;
                    break;
                case DQ_CL_RULE: {
                    double size = 0;
                    rc = rule_size(c, sc, cl, &size);
                    int shares = 0;
                    for (size_t k = 0; k < cl->nterms; k++)
                        if (cl->terms[k].kind == DQ_TERM_CONST ||
                            (cl->terms[k].kind == DQ_TERM_VAR && bound[cl->terms[k].id]))
                            shares = 1;
                    est = shares ? N * (1 + sqrt(size)) : N * size;
                    cost = est;
                    break;
                }
                default: /* or, or-join binding new variables */
                    rc = est_or(c, sc, cl, t, &est);
                    cost = est;
                    break;
                }
                if (rc != DT_OK) break;
            }
            cand[ncand].it = it;
            cand[ncand].est = est;
            cand[ncand].cost = cost;
            ncand++;
        }
        if (rc == DT_OK) rc = pick_step(c, sc, items, n, t, bound, cand, ncand, &best, &best_est);
        if (rc != DT_OK) break;
        if (!best) {
            /* only clauses waiting for unbound variables are left */
            for (size_t i = 0; i < n; i++) {
                if (items[i].done || !items[i].cl) continue;
                if (c->depth > 0 && c->in_scc == NULL && 0) break;
                int v = first_unbound(sc, items[i].cl, bound);
                char what[160];
                snprintf(what, sizeof what, "unbound variable %s",
                         v >= 0 ? dq_var_name(sc->vars, v) : "?");
                rc = clause_err(items[i].cl, DT_INVALID, what);
                break;
            }
            if (rc == DT_OK) rc = dt__seterr(NULL, DT_INVALID, "query: no clause can run");
            break;
        }
        if (!best->cl) {
            uint64_t before = t->nrows;
            (void)before;
            rc = run_rel(c, best->rel, t);
            best->done = 1;
            if (rc == DT_OK) rc = add_step(c, NULL, "input", NULL, NULL, NULL, best_est, t->nrows);
            continue;
        }
        const dq_clause *cl = best->cl;
        switch (cl->kind) {
        case DQ_CL_PATTERN:
            best->done = 1;
            rc = step_pattern(c, sc, items, n, best, t, best_est);
            break;
        case DQ_CL_FN:
            best->done = 1;
            rc = run_fn(c, sc, cl, t);
            if (rc == DT_OK)
                rc = add_step(c, cl->form, "function", NULL, NULL, NULL, best_est, t->nrows);
            break;
        case DQ_CL_RULE:
            best->done = 1;
            rc = run_rule(c, sc, cl, t);
            if (rc == DT_OK)
                rc = add_step(c, cl->form, "rule", NULL, NULL, NULL, best_est, t->nrows);
            break;
        default:
            best->done = 1;
            rc = run_or(c, sc, cl, t);
            if (rc == DT_OK)
                rc = add_step(c, cl->form, "union", NULL, NULL, NULL, best_est, t->nrows);
            break;
        }
        if (rc != DT_OK) break;
    }
    dt__free(bound);
    dt__free(cand);
    return rc;
}

static int eval_conj(ctx *c, const scope *sc, const dq_clause *cls, size_t n, const uint8_t *keep,
                     dq_table *t) {
    item *items = dt__calloc(n + 1, sizeof *items);
    if (!items) return DT_NOMEM;
    for (size_t i = 0; i < n; i++) items[i].cl = &cls[i];
    int rc = eval_items(c, sc, items, n, keep, t);
    dt__free(items);
    return rc;
}

/* }====== */

/* {====== Rules ====== */

static rule_rel *rel_of(ctx *c, int32_t rule, int32_t src) {
    if (src < 0) src = 0;
    return &c->rels[(size_t)rule * (c->q->nsrcs ? c->q->nsrcs : 1) + (size_t)src];
}

/* Marks the rules called in cls (also inside or/not) in set. */
static void calls_of(const dq_clause *cls, size_t n, uint8_t *set) {
    for (size_t i = 0; i < n; i++) {
        const dq_clause *cl = &cls[i];
        if (cl->kind == DQ_CL_RULE) set[cl->rule] = 1;
        if (cl->nclauses) calls_of(cl->clauses, cl->nclauses, set);
    }
}

/* reach[r * n + s]: rule r depends on rule s (transitively). */
static int compute_reach(const dq_query *q, uint8_t **out) {
    size_t n = q->nrules;
    uint8_t *r = dt__calloc(n * n + 1, 1);
    if (!r) return DT_NOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < q->rules[i].nbodies; b++)
            calls_of(q->rules[i].bodies[b].clauses, q->rules[i].bodies[b].nclauses, r + i * n);
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n; i++)
            if (r[i * n + k])
                for (size_t j = 0; j < n; j++)
                    if (r[k * n + j]) r[i * n + j] = 1;
    *out = r;
    return DT_OK;
}

/* The rows of body result t over the rule's head variables (0..arity-1)
 * appended to rel (deduplicated through set when not NULL). */
static int project_head(const dq_table *t, size_t arity, dq_table *rel, rowset *set,
                        const dq_clause *where) {
    if (t->nrows == 0) return DT_OK;
    size_t idx[64];
    for (size_t i = 0; i < arity; i++) {
        int col = col_of(t, (dq_var)i);
        if (col < 0) return clause_err(where, DT_INVALID, "a rule head variable is bound nowhere");
        idx[i] = (size_t)col;
    }
    for (size_t r = 0; r < t->nrows; r++) {
        dt_value *o = tab_slot(rel);
        if (!o) return DT_NOMEM;
        const dt_value *row = trow(t, r);
        for (size_t i = 0; i < arity; i++) o[i] = row[idx[i]];
        if (set) {
            int added;
            int rc = rowset_add(set, rel->nrows, 1, &added);
            if (rc != DT_OK) return rc;
            if (added) rel->nrows++;
        } else {
            rel->nrows++;
        }
    }
    return DT_OK;
}

static int head_table(size_t arity, dq_table *t) {
    dq_var cols[64];
    for (size_t i = 0; i < arity; i++) cols[i] = (dq_var)i;
    return tab_init_cols(t, cols, arity, NULL, 0);
}

/* Whether a body calls a rule of the component at its top level only. */
static int scc_calls(const dq_clause *cls, size_t n, const uint8_t *in_scc, int *top, int *nested) {
    for (size_t i = 0; i < n; i++) {
        const dq_clause *cl = &cls[i];
        if (cl->kind == DQ_CL_RULE && in_scc[cl->rule]) *top = 1;
        if (cl->nclauses) {
            uint8_t dummy = 0;
            int t2 = 0, n2 = 0;
            (void)dummy;
            scc_calls(cl->clauses, cl->nclauses, in_scc, &t2, &n2);
            if (t2 || n2) *nested = 1;
        }
    }
    return DT_OK;
}

static int eval_body(ctx *c, const dq_rule_body *b, size_t arity, int32_t src, dq_table *t) {
    scope bs = {&b->vars, src, NULL};
    uint8_t *keep = dt__calloc(b->vars.n + 1, 1);
    if (!keep) return DT_NOMEM;
    for (size_t i = 0; i < b->vars.n; i++) keep[i] = 0;
    for (size_t i = 0; i < arity && i < b->vars.n; i++) keep[i] = 1;
    c->depth++;
    int rc = eval_conj(c, &bs, b->clauses, b->nclauses, keep, t);
    c->depth--;
    dt__free(keep);
    return rc;
}

static int materialize(ctx *c, int32_t rule, int32_t src);

/* Semi-naive fixpoint of the recursive component of `rule`. */
/* A copy of table a into *t. */
static int tab_copy(const dq_table *a, dq_table *t) {
    int rc = tab_init_cols(t, a->cols, a->ncols, NULL, 0);
    if (rc != DT_OK) return rc;
    tab_reserve(t, (double)a->nrows);
    for (size_t r = 0; r < a->nrows; r++) {
        dt_value *o = tab_slot(t);
        if (!o) return DT_NOMEM;
        if (a->ncols) memcpy(o, trow(a, r), a->ncols * sizeof *o);
        t->nrows++;
    }
    return DT_OK;
}

/* solve_scc: the semi-naive fixpoint of the recursive component of
 * `rule`.  start NULL: every body starts from nothing and the results are
 * memoized per rule; else bodies start from the rows of start (bindings
 * of head variables: a seeded evaluation) and the rule's rows go to
 * *result (nothing memoized). */
static int solve_scc(ctx *c, int32_t rule, int32_t src, const dq_table *start, dq_table *result) {
    const dq_query *q = c->q;
    size_t nr = q->nrules;
    uint8_t *in = dt__calloc(nr + 1, 1);
    dq_table *full = dt__calloc(nr + 1, sizeof *full);
    dq_table *delta = dt__calloc(nr + 1, sizeof *delta);
    dq_table *nd = dt__calloc(nr + 1, sizeof *nd);
    rowset *fs = dt__calloc(nr + 1, sizeof *fs);
    dq_table **curp = dt__calloc(nr + 1, sizeof *curp);
    dq_table **delp = dt__calloc(nr + 1, sizeof *delp);
    int rc = DT_OK;
    if (!in || !full || !delta || !nd || !fs || !curp || !delp) {
        rc = DT_NOMEM;
        goto out;
    }
    for (size_t m = 0; m < nr; m++)
        in[m] = (m == (size_t)rule) ||
                (c->reach[(size_t)rule * nr + m] && c->reach[m * nr + (size_t)rule]);
    /* checks: calls of the component only at the top of bodies; every
     * body can run with nothing bound */
    for (size_t m = 0; m < nr; m++) {
        if (!in[m]) continue;
        rel_of(c, (int32_t)m, src)->state = 1;
    }
    for (size_t m = 0; m < nr && rc == DT_OK; m++) {
        if (!in[m]) continue;
        const dq_rule *ru = &q->rules[m];
        for (size_t b = 0; b < ru->nbodies && rc == DT_OK; b++) {
            int top = 0, nested = 0;
            scc_calls(ru->bodies[b].clauses, ru->bodies[b].nclauses, in, &top, &nested);
            if (nested) rc = PL_FALLBACK;
            uint8_t *none = dt__calloc(ru->bodies[b].vars.n + 1, 1);
            if (!none) {
                rc = DT_NOMEM;
                break;
            }
            for (size_t k = 0; start && k < start->ncols; k++)
                if (start->cols[k] >= 0 && (size_t)start->cols[k] < ru->bodies[b].vars.n)
                    none[start->cols[k]] = 1;
            scope bs = {&ru->bodies[b].vars, src, NULL};
            if (rc == DT_OK &&
                !can_eval(c, &bs, ru->bodies[b].clauses, ru->bodies[b].nclauses, none))
                rc = PL_FALLBACK;
            dt__free(none);
        }
        if (rc == DT_OK) rc = head_table(ru->arity, &full[m]);
        if (rc == DT_OK) rc = head_table(ru->arity, &delta[m]);
        if (rc == DT_OK) {
            size_t idx[64];
            for (size_t i = 0; i < ru->arity; i++) idx[i] = i;
            (void)idx;
        }
    }
    if (rc != DT_OK) goto out;
    static const size_t ident[64] = {
        0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
        22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
        44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};
    for (size_t m = 0; m < nr && rc == DT_OK; m++) {
        if (!in[m]) continue;
        if (q->rules[m].arity > 64) {
            rc = PL_FALLBACK;
            break;
        }
        rc = rowset_init(&fs[m], &full[m], ident, q->rules[m].arity, 64);
        curp[m] = &full[m];
        delp[m] = &delta[m];
    }
    if (rc != DT_OK) goto out;
    const uint8_t *save_in = c->in_scc;
    dq_table **save_cur = c->cur, **save_del = c->delta;
    const dq_clause *save_dc = c->delta_clause;
    c->in_scc = in;
    c->cur = curp;
    c->delta = delp;
    c->delta_clause = NULL;
    /* round 0: the bodies without calls into the component */
    for (size_t m = 0; m < nr && rc == DT_OK; m++) {
        if (!in[m]) continue;
        const dq_rule *ru = &q->rules[m];
        for (size_t b = 0; b < ru->nbodies && rc == DT_OK; b++) {
            int top = 0, nested = 0;
            scc_calls(ru->bodies[b].clauses, ru->bodies[b].nclauses, in, &top, &nested);
            if (top) continue;
            dq_table t;
            if ((rc = start ? tab_copy(start, &t) : tab_unit(&t)) != DT_OK) break;
            rc = eval_body(c, &ru->bodies[b], ru->arity, src, &t);
            if (rc == DT_OK) rc = project_head(&t, ru->arity, &full[m], &fs[m], NULL);
            dq_table_release(&t);
        }
        /* delta = full */
        for (size_t r = 0; r < full[m].nrows && rc == DT_OK; r++) {
            dt_value *o = tab_slot(&delta[m]);
            if (!o) {
                rc = DT_NOMEM;
                break;
            }
            memcpy(o, trow(&full[m], r), full[m].ncols * sizeof *o);
            delta[m].nrows++;
        }
    }
    for (int round = 0; rc == DT_OK; round++) {
        int any = 0;
        for (size_t m = 0; m < nr; m++)
            if (in[m] && delta[m].nrows) any = 1;
        if (!any) break;
        for (size_t m = 0; m < nr && rc == DT_OK; m++) {
            if (!in[m]) continue;
            rc = head_table(q->rules[m].arity, &nd[m]);
        }
        for (size_t m = 0; m < nr && rc == DT_OK; m++) {
            if (!in[m]) continue;
            const dq_rule *ru = &q->rules[m];
            rowset ns;
            if ((rc = rowset_init(&ns, &nd[m], ident, ru->arity, 64)) != DT_OK) break;
            for (size_t b = 0; b < ru->nbodies && rc == DT_OK; b++) {
                const dq_rule_body *body = &ru->bodies[b];
                for (size_t k = 0; k < body->nclauses && rc == DT_OK; k++) {
                    const dq_clause *cl = &body->clauses[k];
                    if (cl->kind != DQ_CL_RULE || !in[cl->rule] || !delta[cl->rule].nrows) continue;
                    c->delta_clause = cl;
                    dq_table t, got;
                    memset(&t, 0, sizeof t);
                    memset(&got, 0, sizeof got);
                    if ((rc = start ? tab_copy(start, &t) : tab_unit(&t)) != DT_OK) break;
                    rc = eval_body(c, body, ru->arity, src, &t);
                    if (rc == DT_OK) rc = head_table(ru->arity, &got);
                    if (rc == DT_OK) rc = project_head(&t, ru->arity, &got, NULL, cl);
                    for (size_t r = 0; r < got.nrows && rc == DT_OK; r++) {
                        const dt_value *row = trow(&got, r);
                        uint64_t h = row_hash(row, ident, ru->arity);
                        if (rowset_find(&fs[m], row, ident, h) != SIZE_MAX) continue;
                        dt_value *o = tab_slot(&nd[m]);
                        if (!o) {
                            rc = DT_NOMEM;
                            break;
                        }
                        memcpy(o, row, ru->arity * sizeof *o);
                        int added;
                        if ((rc = rowset_add(&ns, nd[m].nrows, 1, &added)) != DT_OK) break;
                        if (added) nd[m].nrows++;
                    }
                    dq_table_release(&t);
                    dq_table_release(&got);
                    c->delta_clause = NULL;
                }
            }
            rowset_release(&ns);
        }
        /* full += new; delta = new */
        for (size_t m = 0; m < nr && rc == DT_OK; m++) {
            if (!in[m]) continue;
            for (size_t r = 0; r < nd[m].nrows && rc == DT_OK; r++) {
                dt_value *o = tab_slot(&full[m]);
                if (!o) {
                    rc = DT_NOMEM;
                    break;
                }
                memcpy(o, trow(&nd[m], r), nd[m].ncols * sizeof *o);
                int added;
                rc = rowset_add(&fs[m], full[m].nrows, 1, &added);
                if (added) full[m].nrows++;
            }
            if (rc == DT_OK) rc = dq_exec_rows(c->x, full[m].nrows);
            tab_move(&delta[m], &nd[m]);
        }
        if (rc == DT_OK) rc = dq_exec_check(c->x);
    }
    c->in_scc = save_in;
    c->cur = save_cur;
    c->delta = save_del;
    c->delta_clause = save_dc;
    if (rc == DT_OK && result) {
        *result = full[rule];
        memset(&full[rule], 0, sizeof full[rule]);
        for (size_t m = 0; m < nr; m++)
            if (in[m]) rel_of(c, (int32_t)m, src)->state = 0;
    } else if (rc == DT_OK) {
        for (size_t m = 0; m < nr; m++) {
            if (!in[m]) continue;
            rule_rel *rr = rel_of(c, (int32_t)m, src);
            rr->t = full[m];
            memset(&full[m], 0, sizeof full[m]);
            rr->state = 2;
        }
    }
out:
    if (rc != DT_OK && in)
        for (size_t m = 0; m < nr; m++)
            if (in[m] && rel_of(c, (int32_t)m, src)->state == 1)
                rel_of(c, (int32_t)m, src)->state = 0;
    for (size_t m = 0; m < nr && full; m++) {
        dq_table_release(&full[m]);
        dq_table_release(&delta[m]);
        dq_table_release(&nd[m]);
        if (fs) rowset_release(&fs[m]);
    }
    dt__free(in);
    dt__free(full);
    dt__free(delta);
    dt__free(nd);
    dt__free(fs);
    dt__free(curp);
    dt__free(delp);
    return rc;
}

/* Computes the whole relation of a rule on source src (memoized).
 * PL_UNREADY: a body needs arguments bound by the caller. */
static int materialize(ctx *c, int32_t rule, int32_t src) {
    rule_rel *rr = rel_of(c, rule, src);
    if (rr->state == 2) return DT_OK;
    if (rr->state == 3) return PL_UNREADY;
    if (rr->state == 1) return PL_FALLBACK; /* unreachable: calls inside a component are read */
    size_t nr = c->q->nrules;
    if (c->reach[(size_t)rule * nr + (size_t)rule]) return solve_scc(c, rule, src, NULL, NULL);
    const dq_rule *ru = &c->q->rules[rule];
    for (size_t b = 0; b < ru->nbodies; b++) {
        uint8_t *none = dt__calloc(ru->bodies[b].vars.n + 1, 1);
        if (!none) return DT_NOMEM;
        scope bs = {&ru->bodies[b].vars, src, NULL};
        rr->state = 1;
        int ok = can_eval(c, &bs, ru->bodies[b].clauses, ru->bodies[b].nclauses, none);
        rr->state = 0;
        dt__free(none);
        if (!ok) {
            rr->state = 3;
            return PL_UNREADY;
        }
    }
    if (ru->arity > 64) return PL_FALLBACK;
    rr->state = 1;
    dq_table rel;
    int rc = head_table(ru->arity, &rel);
    for (size_t b = 0; b < ru->nbodies && rc == DT_OK; b++) {
        dq_table t;
        if ((rc = tab_unit(&t)) != DT_OK) break;
        rc = eval_body(c, &ru->bodies[b], ru->arity, src, &t);
        if (rc == DT_OK) rc = project_head(&t, ru->arity, &rel, NULL, NULL);
        dq_table_release(&t);
    }
    if (rc == DT_OK) rc = dedup(&rel);
    if (rc != DT_OK) {
        dq_table_release(&rel);
        rr->state = 0;
        return rc;
    }
    rr->t = rel;
    rr->state = 2;
    return DT_OK;
}

static int call_src(const scope *sc, const dq_clause *cl) {
    int32_t s = src_id(sc, cl->src);
    return s < 0 ? 0 : s;
}

static int rule_can_run(ctx *c, const scope *sc, const dq_clause *cl, const uint8_t *bound) {
    if (c->in_scc && c->in_scc[cl->rule]) return 1;
    int32_t src = call_src(sc, cl);
    rule_rel *rr = rel_of(c, cl->rule, src);
    if (rr->state == 1) return 1;
    if (rr->state == 0 && seedable(c, sc, cl)) return 1; /* run seeded, or else whole */
    if (rr->state == 0) {
        int rc = materialize(c, cl->rule, src);
        if (rc != DT_OK && rc != PL_UNREADY) return 1; /* the error shows when it runs */
    }
    if (rr->state != 3) return 1;
    const dq_rule *ru = &c->q->rules[cl->rule];
    for (size_t b = 0; b < ru->nbodies; b++) {
        const dq_rule_body *body = &ru->bodies[b];
        uint8_t *bb = dt__calloc(body->vars.n + 1, 1);
        if (!bb) return 0;
        for (size_t i = 0; i < cl->nterms && i < ru->arity; i++) {
            const dq_term *tm = &cl->terms[i];
            if (term_const(sc, tm) || (tm->kind == DQ_TERM_VAR && bound[tm->id])) bb[i] = 1;
        }
        scope bs = {&body->vars, src, NULL};
        int ok = can_eval(c, &bs, body->clauses, body->nclauses, bb);
        dt__free(bb);
        if (!ok) return 0;
    }
    return 1;
}

static int rule_size(ctx *c, const scope *sc, const dq_clause *cl, double *size) {
    *size = 10;
    if (c->in_scc && c->in_scc[cl->rule]) {
        const dq_table *rel = cl == c->delta_clause ? c->delta[cl->rule] : c->cur[cl->rule];
        *size = (double)rel->nrows + 1;
        return DT_OK;
    }
    int32_t src = call_src(sc, cl);
    if (rel_of(c, cl->rule, src)->state == 0 && seedable(c, sc, cl)) return DT_OK; /* seeded */
    int rc = materialize(c, cl->rule, src);
    if (rc == PL_UNREADY) return DT_OK;
    if (rc != DT_OK) return rc;
    *size = (double)rel_of(c, cl->rule, src)->t.nrows;
    return DT_OK;
}

/* Joins relation rel (over head positions) into t through the call's
 * arguments. */
static int join_call(ctx *c, const scope *sc, const dq_clause *cl, const dq_table *rel,
                     dq_table *t) {
    dq_var vars[64];
    int pos_of[64]; /* argument -> column of the call table, or -1 (constant / blank) */
    size_t nv = 0;
    size_t arity = cl->nterms;
    if (arity > 64) return PL_FALLBACK;
    for (size_t i = 0; i < arity; i++) {
        const dq_term *tm = &cl->terms[i];
        pos_of[i] = -1;
        if (term_const(sc, tm) || tm->kind != DQ_TERM_VAR) continue;
        size_t k;
        for (k = 0; k < nv; k++)
            if (vars[k] == tm->id) break;
        if (k == nv) vars[nv++] = tm->id;
        pos_of[i] = (int)k;
    }
    dq_table ct;
    int rc = tab_init_cols(&ct, vars, nv, NULL, 0);
    if (rc != DT_OK) return rc;
    tab_reserve(&ct, (double)rel->nrows);
    for (size_t r = 0; r < rel->nrows; r++) {
        const dt_value *row = trow(rel, r);
        dt_value *o = tab_slot(&ct);
        if (!o) {
            rc = DT_NOMEM;
            break;
        }
        uint8_t set[64] = {0};
        int ok = 1;
        for (size_t i = 0; i < arity && ok; i++) {
            const dq_term *tm = &cl->terms[i];
            const dt_value *k = term_const(sc, tm);
            if (k) {
                ok = val_eq(k, &row[i]);
            } else if (pos_of[i] >= 0) {
                if (set[pos_of[i]])
                    ok = val_eq(&o[pos_of[i]], &row[i]);
                else
                    o[pos_of[i]] = row[i], set[pos_of[i]] = 1;
            }
        }
        if (ok) ct.nrows++;
    }
    if (rc == DT_OK && t->nrows == 1 && t->ncols == 0) {
        /* the first step: the call's rows are the table */
        tab_move(t, &ct);
        return DT_OK;
    }
    if (rc == DT_OK) rc = join_into(c, t, &ct);
    dq_table_release(&ct);
    return rc;
}

/* A rule whose bodies need bound arguments: evaluated from the distinct
 * bindings of its bound arguments (seeded), then joined. */
static int run_rule_inline(ctx *c, const scope *sc, const dq_clause *cl, int32_t src, dq_table *t) {
    const dq_rule *ru = &c->q->rules[cl->rule];
    dq_var bvars[64];
    size_t nb = 0;
    for (size_t i = 0; i < cl->nterms && nb < 64; i++)
        if (cl->terms[i].kind == DQ_TERM_VAR && !term_const(sc, &cl->terms[i]) &&
            col_of(t, cl->terms[i].id) >= 0)
            bvars[nb++] = cl->terms[i].id;
    dq_table proj;
    int rc = project_distinct(t, bvars, nb, &proj);
    if (rc != DT_OK) return rc;
    /* the seed: head variable i for each bound or constant argument */
    dq_var hcols[64];
    int from[64];
    const dt_value *kval[64];
    size_t nh = 0;
    for (size_t i = 0; i < cl->nterms && i < 64; i++) {
        const dq_term *tm = &cl->terms[i];
        const dt_value *k = term_const(sc, tm);
        if (k) {
            hcols[nh] = (dq_var)i;
            from[nh] = -1;
            kval[nh++] = k;
        } else if (tm->kind == DQ_TERM_VAR && col_of(&proj, tm->id) >= 0) {
            hcols[nh] = (dq_var)i;
            from[nh] = col_of(&proj, tm->id);
            kval[nh++] = NULL;
        }
    }
    dq_table res;
    memset(&res, 0, sizeof res);
    rc = head_table(ru->arity, &res);
    for (size_t b = 0; b < ru->nbodies && rc == DT_OK; b++) {
        dq_table seed;
        if ((rc = tab_init_cols(&seed, hcols, nh, NULL, 0)) != DT_OK) break;
        for (size_t r = 0; r < proj.nrows && rc == DT_OK; r++) {
            dt_value *o = tab_slot(&seed);
            if (!o) {
                rc = DT_NOMEM;
                break;
            }
            for (size_t k = 0; k < nh; k++) o[k] = kval[k] ? *kval[k] : trow(&proj, r)[from[k]];
            seed.nrows++;
        }
        if (rc == DT_OK) rc = eval_body(c, &ru->bodies[b], ru->arity, src, &seed);
        if (rc == DT_OK) rc = project_head(&seed, ru->arity, &res, NULL, cl);
        dq_table_release(&seed);
    }
    if (rc == DT_OK) rc = dedup(&res);
    if (rc == DT_OK) rc = join_call(c, sc, cl, &res, t);
    dq_table_release(&res);
    dq_table_release(&proj);
    return rc;
}

/* Whether a call of a recursive rule can be seeded: the rule is alone in
 * its component and the call passes at least one constant. */
static int seedable(ctx *c, const scope *sc, const dq_clause *cl) {
    size_t nr = c->q->nrules;
    size_t r = (size_t)cl->rule;
    if (!c->reach[r * nr + r] || cl->nterms > 64) return 0;
    if (c->in_scc && c->in_scc[r]) return 0;
    for (size_t m = 0; m < nr; m++)
        if (m != r && c->reach[r * nr + m] && c->reach[m * nr + r]) return 0;
    /* the constants must be plain values: a rule's arguments join by value,
     * so an entity reference form (lookup ref, ident) must not reach the
     * body's patterns, which would resolve it */
    int any = 0;
    for (size_t i = 0; i < cl->nterms; i++) {
        const dt_value *k = term_const(sc, &cl->terms[i]);
        if (!k) continue;
        if (k->type == DT_VECTOR || k->type == DT_LIST || k->type == DT_KEYWORD) return 0;
        any = 1;
    }
    return any;
}

/*
 * A seeded evaluation of a recursive rule called with constants (a
 * magic set): first the bindings of the constant positions the recursion
 * can demand, from the constants through the clauses of each recursive
 * body that run before its recursive calls; then the semi-naive fixpoint
 * with every body starting from those bindings.  *done 0: the shape does
 * not allow it (the caller computes the whole relation instead).
 */
static int run_rule_seeded(ctx *c, const scope *sc, const dq_clause *cl, int32_t src, dq_table *t,
                           int *done) {
    *done = 0;
    const dq_query *q = c->q;
    int32_t r = cl->rule;
    const dq_rule *ru = &q->rules[r];
    if (ru->arity > 64 || cl->nterms != ru->arity || rel_of(c, r, src)->state != 0) return DT_OK;
    dq_var bcols[64];
    const dt_value *bval[64];
    size_t bpos[64], nb = 0;
    for (size_t i = 0; i < ru->arity; i++) {
        const dt_value *k = term_const(sc, &cl->terms[i]);
        if (!k) continue;
        bcols[nb] = (dq_var)i;
        bval[nb] = k;
        bpos[nb++] = i;
    }
    if (!nb) return DT_OK;
    uint8_t *only = dt__calloc(q->nrules + 1, 1);
    dq_clause **sub = dt__calloc(ru->nbodies + 1, sizeof *sub);
    size_t *nsub = dt__calloc(ru->nbodies + 1, sizeof *nsub);
    dq_table M, delta, nd, T;
    memset(&M, 0, sizeof M);
    memset(&delta, 0, sizeof delta);
    memset(&nd, 0, sizeof nd);
    memset(&T, 0, sizeof T);
    rowset ms;
    memset(&ms, 0, sizeof ms);
    size_t ident[64];
    for (size_t i = 0; i < 64; i++) ident[i] = i;
    int rc = DT_OK, ok = 1;
    if (!only || !sub || !nsub) {
        rc = DT_NOMEM;
        goto out;
    }
    only[r] = 1;
    /* per recursive body: the clauses that can run from the constants */
    for (size_t b = 0; b < ru->nbodies && ok && rc == DT_OK; b++) {
        const dq_rule_body *body = &ru->bodies[b];
        int top = 0, nested = 0;
        scc_calls(body->clauses, body->nclauses, only, &top, &nested);
        if (nested) ok = 0;
        if (!top || !ok) continue;
        scope bs = {&body->vars, src, NULL};
        uint8_t *bound = dt__calloc(body->vars.n + 1, 1);
        uint8_t *taken = dt__calloc(body->nclauses + 1, 1);
        sub[b] = dt__calloc(body->nclauses + 1, sizeof *sub[b]);
        if (!bound || !taken || !sub[b]) {
            dt__free(bound);
            dt__free(taken);
            rc = DT_NOMEM;
            break;
        }
        for (size_t j = 0; j < nb; j++) bound[bcols[j]] = 1;
        int progress = 1;
        while (progress) {
            progress = 0;
            for (size_t k = 0; k < body->nclauses; k++) {
                const dq_clause *bc = &body->clauses[k];
                if (taken[k] || (bc->kind == DQ_CL_RULE && bc->rule == r)) continue;
                if (!can_run(c, &bs, bc, bound)) continue;
                taken[k] = 1;
                sub[b][nsub[b]++] = *bc;
                clause_vars(bc, bound);
                progress = 1;
            }
        }
        /* every recursive call's constant positions must be known then */
        for (size_t k = 0; k < body->nclauses && ok; k++) {
            const dq_clause *bc = &body->clauses[k];
            if (bc->kind != DQ_CL_RULE || bc->rule != r) continue;
            for (size_t j = 0; j < nb && ok; j++) {
                const dq_term *a = &bc->terms[bpos[j]];
                if (a->kind == DQ_TERM_CONST) continue;
                if (a->kind != DQ_TERM_VAR || !bound[a->id]) ok = 0;
            }
        }
        dt__free(bound);
        dt__free(taken);
    }
    if (rc != DT_OK || !ok) goto out;
    /* the demanded bindings, to a fixpoint */
    if ((rc = tab_init_cols(&M, bcols, nb, NULL, 0)) != DT_OK) goto out;
    if ((rc = rowset_init(&ms, &M, ident, nb, 64)) != DT_OK) goto out;
    {
        dt_value *o = tab_slot(&M);
        if (!o) {
            rc = DT_NOMEM;
            goto out;
        }
        for (size_t j = 0; j < nb; j++) o[j] = *bval[j];
        if ((rc = rowset_add(&ms, 0, 1, NULL)) != DT_OK) goto out;
        M.nrows = 1;
    }
    if ((rc = tab_copy(&M, &delta)) != DT_OK) goto out;
    while (delta.nrows && rc == DT_OK) {
        if ((rc = tab_init_cols(&nd, bcols, nb, NULL, 0)) != DT_OK) break;
        for (size_t b = 0; b < ru->nbodies && rc == DT_OK; b++) {
            if (!sub[b]) continue;
            const dq_rule_body *body = &ru->bodies[b];
            scope bs = {&body->vars, src, NULL};
            if ((rc = tab_copy(&delta, &T)) != DT_OK) break;
            c->depth++;
            rc = eval_conj(c, &bs, sub[b], nsub[b], NULL, &T);
            c->depth--;
            for (size_t k = 0; k < body->nclauses && rc == DT_OK; k++) {
                const dq_clause *bc = &body->clauses[k];
                if (bc->kind != DQ_CL_RULE || bc->rule != r) continue;
                int cols[64];
                for (size_t j = 0; j < nb; j++) {
                    const dq_term *a = &bc->terms[bpos[j]];
                    cols[j] = a->kind == DQ_TERM_VAR ? col_of(&T, a->id) : -1;
                }
                for (size_t row = 0; row < T.nrows && rc == DT_OK; row++) {
                    dt_value *o = tab_slot(&M);
                    if (!o) {
                        rc = DT_NOMEM;
                        break;
                    }
                    int skip = 0;
                    for (size_t j = 0; j < nb; j++) {
                        const dq_term *a = &bc->terms[bpos[j]];
                        if (cols[j] >= 0)
                            o[j] = trow(&T, row)[cols[j]];
                        else if (a->kind == DQ_TERM_CONST)
                            o[j] = *a->value;
                        else
                            skip = 1;
                    }
                    if (skip) continue;
                    int added;
                    if ((rc = rowset_add(&ms, M.nrows, 1, &added)) != DT_OK) break;
                    if (!added) continue;
                    M.nrows++;
                    dt_value *n2 = tab_slot(&nd);
                    if (!n2) {
                        rc = DT_NOMEM;
                        break;
                    }
                    memcpy(n2, trow(&M, M.nrows - 1), nb * sizeof *n2);
                    nd.nrows++;
                }
            }
            dq_table_release(&T);
        }
        if (rc == DT_OK) rc = dq_exec_rows(c->x, M.nrows);
        if (rc == DT_OK) rc = dq_exec_check(c->x);
        tab_move(&delta, &nd);
    }
    if (rc != DT_OK) goto out;
    {
        dq_table res;
        memset(&res, 0, sizeof res);
        rc = solve_scc(c, r, src, &M, &res);
        if (rc == PL_FALLBACK) {
            rc = DT_OK; /* not this way */
            goto out;
        }
        if (rc == DT_OK) rc = dedup(&res);
        if (rc == DT_OK) rc = join_call(c, sc, cl, &res, t);
        dq_table_release(&res);
        if (rc == DT_OK) *done = 1;
    }
out:
    rowset_release(&ms);
    dq_table_release(&M);
    dq_table_release(&delta);
    dq_table_release(&nd);
    dq_table_release(&T);
    for (size_t b = 0; sub && b < ru->nbodies; b++) dt__free(sub[b]);
    dt__free(sub);
    dt__free(nsub);
    dt__free(only);
    return rc;
}

static int run_rule(ctx *c, const scope *sc, const dq_clause *cl, dq_table *t) {
    if (c->in_scc && c->in_scc[cl->rule]) {
        const dq_table *rel = cl == c->delta_clause ? c->delta[cl->rule] : c->cur[cl->rule];
        return join_call(c, sc, cl, rel, t);
    }
    int32_t src = call_src(sc, cl);
    if (seedable(c, sc, cl) && rel_of(c, cl->rule, src)->state == 0) {
        int done = 0;
        int rc = run_rule_seeded(c, sc, cl, src, t, &done);
        if (rc != DT_OK || done) return rc;
    }
    int rc = materialize(c, cl->rule, src);
    if (rc == PL_UNREADY) return run_rule_inline(c, sc, cl, src, t);
    if (rc != DT_OK) return rc;
    return join_call(c, sc, cl, &rel_of(c, cl->rule, src)->t, t);
}

/* }====== */

/* {====== Explain ====== */

static int write_explain(ctx *c, uint64_t rows) {
    dt_buf *b = c->x->explain;
    int rc = dt_buf_printf(b, "{:rows %llu\n :steps [", (unsigned long long)rows);
    for (size_t i = 0; i < c->nsteps && rc == DT_OK; i++) {
        const step_rec *s = &c->steps[i];
        rc = dt_buf_printf(b, "%s{", i ? "\n          " : "");
        if (rc == DT_OK && s->depth) rc = dt_buf_printf(b, ":depth %d ", s->depth);
        if (rc == DT_OK) {
            rc = dt_buf_printf(b, ":clause ");
            if (rc == DT_OK) {
                if (s->form)
                    rc = dl_edn_write_buf(s->form, 0, b);
                else
                    rc = dt_buf_printf(b, ":in");
            }
        }
        if (rc == DT_OK) rc = dt_buf_printf(b, " :op :%s", s->op);
        if (rc == DT_OK && s->index) rc = dt_buf_printf(b, " :index :%s", s->index);
        if (rc == DT_OK && s->bound[0]) {
            rc = dt_buf_printf(b, " :bound [");
            const char *p = s->bound;
            int first = 1;
            while (rc == DT_OK && *p) {
                while (*p == ' ') p++;
                const char *q = p;
                while (*q && *q != ' ') q++;
                if (q > p) rc = dt_buf_printf(b, "%s:%.*s", first ? "" : " ", (int)(q - p), p);
                first = 0;
                p = q;
            }
            if (rc == DT_OK) rc = dt_buf_printf(b, "]");
        }
        if (rc == DT_OK && s->range[0]) {
            dt_value txt;
            rc = dt_value_text(DT_STRING, s->range, strlen(s->range), &txt);
            if (rc == DT_OK) {
                rc = dt_buf_printf(b, " :range ");
                if (rc == DT_OK) rc = dl_edn_write_buf(&txt, 0, b);
                dt_value_free(&txt);
            }
        }
        double e = s->est;
        if (!isfinite(e) || e > 1e18) e = 1e18;
        if (rc == DT_OK)
            rc = dt_buf_printf(b, " :est %llu :rows %llu}", (unsigned long long)llround(e),
                               (unsigned long long)s->rows);
    }
    if (rc == DT_OK) rc = dt_buf_printf(b, "]}");
    return rc;
}

/* }====== */

/* {====== dq_eval ====== */

/* The relation of pattern cl over collection coll: a column per distinct
 * variable (first use order), a row per tuple with at least as many items
 * as the pattern has positions whose constants and repeated variables
 * match.  Cells borrow the collection's items. */
static int coll_table(const dt_value *coll, const dq_clause *cl, dq_table *t) {
    dq_var cols[DQ_MAX_PATTERN];
    int colof[DQ_MAX_PATTERN]; /* per position: its column, or -1 */
    size_t nc = 0;
    for (size_t i = 0; i < cl->nterms && i < DQ_MAX_PATTERN; i++) {
        colof[i] = -1;
        if (cl->terms[i].kind != DQ_TERM_VAR) continue;
        size_t k = 0;
        while (k < nc && cols[k] != cl->terms[i].id) k++;
        if (k == nc) cols[nc++] = cl->terms[i].id;
        colof[i] = (int)k;
    }
    int rc = tab_init_cols(t, cols, nc, NULL, 0);
    if (rc != DT_OK) return rc;
    for (size_t r = 0; r < coll->u.seq.n; r++) {
        const dt_value *tu = &coll->u.seq.items[r];
        if (tu->u.seq.n < cl->nterms) continue;
        dt_value *row = tab_slot(t);
        if (!row) return DT_NOMEM;
        uint8_t set[DQ_MAX_PATTERN] = {0};
        int ok = 1;
        for (size_t i = 0; ok && i < cl->nterms; i++) {
            const dt_value *it = &tu->u.seq.items[i];
            if (cl->terms[i].kind == DQ_TERM_CONST) {
                ok = val_eq(cl->terms[i].value, it);
            } else if (colof[i] >= 0) {
                if (set[colof[i]]) {
                    ok = val_eq(&row[colof[i]], it);
                } else {
                    row[colof[i]] = *it;
                    if (row[colof[i]].type == DT_REF) row[colof[i]].type = DT_LONG;
                    set[colof[i]] = 1;
                }
            }
        }
        if (ok) t->nrows++;
    }
    return DT_OK;
}

static int eval_planned(dq_exec *x, dq_table *out) {
    const dq_query *q = x->q;
    memset(out, 0, sizeof *out);
    ctx c;
    memset(&c, 0, sizeof c);
    c.x = x;
    c.q = q;
    dq_var *fcols = NULL;
    size_t nf = 0;
    item *items = NULL;
    dq_table *colls = NULL;
    const dt_value **cval = NULL;
    dq_table t;
    memset(&t, 0, sizeof t);
    size_t nsrc = q->nsrcs ? q->nsrcs : 1;
    int rc = dq_find_columns(q, &fcols, &nf);
    if (rc != DT_OK) return rc;
    c.stats = dt__calloc(nsrc, sizeof *c.stats);
    c.nstats = dt__calloc(nsrc, sizeof *c.nstats);
    c.rels = dt__calloc(q->nrules * nsrc + 1, sizeof *c.rels);
    cval = dt__calloc(q->vars.n + 1, sizeof *cval);
    items = dt__calloc(q->nwhere + q->nin + 1, sizeof *items);
    if (!c.stats || !c.nstats || !c.rels || !cval || !items) {
        rc = DT_NOMEM;
        goto done;
    }
    if (q->nrules && (rc = compute_reach(q, &c.reach)) != DT_OK) goto done;
    /* inputs: one-row bindings become constants, the others relations */
    dq_var icols[256];
    const dt_value *ivals[256];
    size_t ni = 0, nitems = 0;
    for (size_t i = 0; i < q->nin; i++) {
        if (q->in[i].kind != DQ_IN_BINDING) continue;
        const dq_table *it = &x->in[i];
        if (it->ncols == 0) continue;
        if (it->nrows == 1 && ni + it->ncols <= 256) {
            for (size_t k = 0; k < it->ncols; k++) {
                if (cval[it->cols[k]]) continue;
                cval[it->cols[k]] = &it->cells[k];
                icols[ni] = it->cols[k];
                ivals[ni++] = &it->cells[k];
            }
        } else {
            items[nitems].rel = it;
            nitems++;
        }
    }
    if ((rc = tab_init_cols(&t, icols, ni, NULL, 0)) != DT_OK) goto done;
    {
        dt_value *row = tab_slot(&t);
        if (!row) {
            rc = DT_NOMEM;
            goto done;
        }
        for (size_t k = 0; k < ni; k++) row[k] = *ivals[k];
        t.nrows = 1;
    }
    /* patterns over a collection source become relations */
    colls = dt__calloc(q->nwhere + 1, sizeof *colls);
    if (!colls) {
        rc = DT_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < q->nwhere; i++) {
        const dq_clause *cl = &q->where[i];
        if (cl->kind == DQ_CL_PATTERN && cl->src >= 0 && (size_t)cl->src < q->nsrcs && x->srcvals &&
            x->srcvals[cl->src]) {
            if ((rc = coll_table(x->srcvals[cl->src], cl, &colls[i])) != DT_OK) goto done;
            items[nitems++].rel = &colls[i];
        } else {
            items[nitems++].cl = cl;
        }
    }
    scope sc = {&q->vars, q->default_src >= 0 ? q->default_src : 0, (const dt_value *const *)cval};
    {
        uint8_t *keep = dt__calloc(q->vars.n + 1, 1);
        if (!keep) {
            rc = DT_NOMEM;
            goto done;
        }
        for (size_t k = 0; k < nf; k++)
            if (fcols[k] >= 0 && (size_t)fcols[k] < q->vars.n) keep[fcols[k]] = 1;
        rc = eval_items(&c, &sc, items, nitems, keep, &t);
        dt__free(keep);
    }
    if (rc != DT_OK) goto done;
    /* the :find and :with columns */
    if ((rc = dq_table_init(out, fcols, nf)) != DT_OK) goto done;
    {
        int idx[256];
        if (nf > 256) {
            rc = dt__seterr(NULL, DT_LIMIT, "query: too many :find variables");
            goto done;
        }
        for (size_t k = 0; k < nf; k++) {
            idx[k] = col_of(&t, fcols[k]);
            if (idx[k] < 0 && t.nrows) {
                rc = dt__seterr(NULL, DT_INVALID, "query: %s is bound by no clause",
                                dq_var_name(&q->vars, fcols[k]));
                goto done;
            }
        }
        if (t.nrows && nf <= t.ncols && nf > 0) {
            /* project in place and hand the buffer over (no new block on
             * top of the heap for the result stage to grow around) */
            int ident = nf == t.ncols;
            for (size_t k = 0; k < nf; k++) ident &= idx[k] == (int)k;
            dt_value tmp[256];
            for (size_t r = 0; !ident && r < t.nrows; r++) {
                const dt_value *row = trow(&t, r);
                dt_value *dst = t.cells + r * nf;
                for (size_t k = 0; k < nf; k++) tmp[k] = row[idx[k]];
                for (size_t k = 0; k < nf; k++) dst[k] = tmp[k];
            }
            dq_mem_free(out->cells);
            out->cells = t.cells;
            out->nrows = t.nrows;
            out->cap = t.cap * t.ncols / nf;
            t.cells = NULL;
            t.nrows = t.cap = 0;
        } else if (t.nrows) {
            dt_value *cells = dq_mem_alloc((t.nrows * (nf ? nf : 1)) * sizeof *cells);
            if (!cells) {
                rc = DT_NOMEM;
                goto done;
            }
            for (size_t r = 0; r < t.nrows; r++) {
                const dt_value *row = trow(&t, r);
                for (size_t k = 0; k < nf; k++) cells[r * nf + k] = row[idx[k]];
            }
            dq_mem_free(out->cells);
            out->cells = cells;
            out->nrows = out->cap = t.nrows;
        }
    }
    if (x->explain) rc = write_explain(&c, out->nrows);
done:
    if (rc != DT_OK) dq_table_release(out);
    dq_table_release(&t);
    for (size_t i = 0; c.rels && i < q->nrules * nsrc; i++) dq_table_release(&c.rels[i].t);
    for (size_t i = 0; c.stats && i < nsrc; i++) dt__free(c.stats[i]);
    dt__free(c.stats);
    dt__free(c.nstats);
    dt__free(c.rels);
    dt__free(c.reach);
    dt__free(c.steps);
    dt__free(cval);
    dt__free(items);
    for (size_t i = 0; colls && i < q->nwhere; i++) dq_table_release(&colls[i]);
    dt__free(colls);
    dt__free(fcols);
    return rc;
}

/*
 * dq_eval: the planned evaluator.  A shape it does not plan (a recursive
 * rule whose bodies need bound arguments, or that calls its own component
 * inside or/not) runs with the reference evaluator instead, which gives
 * the same rows; explain then says so.
 */
/* The plan buffer of a dt_explain running in this thread (the public
 * API builds the dq_exec, so the buffer comes this way). */
static _Thread_local dt_buf *explain_sink;

int dq_eval(dq_exec *x, dq_table *out) {
    if (!x->explain && explain_sink) {
        x->explain = explain_sink;
        explain_sink = NULL; /* the top-level query only */
    }
    size_t mark = x->explain ? x->explain->len : 0;
    int rc = eval_planned(x, out);
    if (rc != PL_FALLBACK && rc != PL_UNREADY) return rc;
    if (x->explain) x->explain->len = mark;
    rc = dq_eval_naive(x, out);
    if (rc == DT_OK && x->explain)
        rc = dt_buf_printf(x->explain, "{:rows %llu :fallback :naive :steps []}",
                           (unsigned long long)out->nrows);
    return rc;
}

/* }====== */

/* {====== dt_explain ====== */

int dt_explain(const char *text, size_t len, const dt_input *inputs, size_t n,
               const dt_query_options *opts, char **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_explain: NULL out");
    if (!text) return dt__seterr(NULL, DT_MISUSE, "dt_explain: NULL text");
    if (!inputs && n) return dt__seterr(NULL, DT_MISUSE, "dt_explain: NULL inputs");
    dt_query_options o;
    memset(&o, 0, sizeof o);
    o.version = DT_QUERY_OPTIONS_VERSION;
    if (opts) {
        if (opts->version < 1 || opts->version > DT_QUERY_OPTIONS_VERSION)
            return dt__seterr(NULL, DT_INVALID,
                              "dt_explain: options version %u unknown (library knows 1..%d)",
                              opts->version, DT_QUERY_OPTIONS_VERSION);
        o.timeout_ms = opts->timeout_ms;
        o.max_rows = opts->max_rows;
        o.cancel = opts->cancel;
    }
    o.plan = DT_PLAN_AUTO;
    dt_buf b = DT_BUF_INIT;
    dt_result *res = NULL;
    explain_sink = &b;
    int rc = dt_q_inputs(text, len, inputs, n, &o, &res);
    explain_sink = NULL;
    dt_result_free(res);
    if (rc == DT_OK && b.len == 0) rc = dt_buf_printf(&b, "{:rows 0 :steps []}");
    if (rc == DT_OK && dt_buf_terminate(&b) != DT_OK) rc = DT_NOMEM;
    if (rc != DT_OK) {
        dt_buf_release(&b);
        if (rc == DT_NOMEM) return dt__seterr(NULL, DT_NOMEM, "dt_explain: out of memory");
        return rc;
    }
    *out = (char *)b.p;
    if (out_len) *out_len = b.len;
    return DT_OK;
}

/* }====== */
