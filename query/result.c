/*
 * result.c -- the result stage (query layer): set semantics, aggregates,
 * pull, find shapes and the dt_result accessors.  See result.h.
 *
 * Rows of plain variables are made a set by hashing and keep the
 * evaluator's order.  With aggregates or pulls, rows are sorted
 * (dt_value_compare order, the group columns first), so equal rows and
 * the rows of one group are adjacent: that gives the set over the find
 * and :with variables and the groups of aggregates.
 */
#include "result.h"

#include <stdlib.h>
#include <string.h>

#define DT_MAGIC_RESULT 0x64747273u /* "dtrs" */

struct dt_result {
    uint32_t magic;
    dt_find_kind kind;
    dq_ret_kind ret;
    size_t width, nrows, cap;
    dt_value *cells; /* nrows * width; contents in arena */
    const char **keys;
    int bag;    /* rows may repeat (:with without aggregates) */
    int sorted; /* rows are distinct and in dt_value_compare order */
    dq_arena arena;
};

/* {====== Sorting rows ====== */

typedef struct sort_ctx {
    const dq_table *t;
    const size_t *order; /* columns to compare, in order */
    size_t norder;
} sort_ctx;

static _Thread_local const sort_ctx *cur_sort;

static int cmp_rows(const void *pa, const void *pb) {
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const sort_ctx *s = cur_sort;
    const dt_value *ra = s->t->cells + a * s->t->ncols, *rb = s->t->cells + b * s->t->ncols;
    for (size_t i = 0; i < s->norder; i++) {
        int c = dt_value_compare(&ra[s->order[i]], &rb[s->order[i]]);
        if (c) return c;
    }
    return a < b ? -1 : a > b;
}

static int rows_equal(const dq_table *t, size_t a, size_t b, const size_t *cols, size_t n) {
    const dt_value *ra = t->cells + a * t->ncols, *rb = t->cells + b * t->ncols;
    for (size_t i = 0; i < n; i++)
        if (dt_value_compare(&ra[cols[i]], &rb[cols[i]]) != 0) return 0;
    return 1;
}

/* }====== */

/* Orders result rows (cells of width w) for the duplicate check. */
static _Thread_local const dt_result *cur_res;

static int cmp_out_rows(const void *pa, const void *pb) {
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb, w = cur_res->width;
    for (size_t i = 0; i < w; i++) {
        int c = dt_value_compare(&cur_res->cells[a * w + i], &cur_res->cells[b * w + i]);
        if (c) return c;
    }
    return 0;
}

/* 1 when two rows of r are equal (pulled maps of distinct entities, or
 * aggregates of distinct groups, may be): the result is then a bag. */
static int has_duplicates(dt_result *r, int *dup) {
    *dup = 0;
    if (r->nrows < 2) return DT_OK;
    size_t *ix = dt__malloc(r->nrows * sizeof *ix);
    if (!ix) return DT_NOMEM;
    for (size_t i = 0; i < r->nrows; i++) ix[i] = i;
    cur_res = r;
    qsort(ix, r->nrows, sizeof *ix, cmp_out_rows);
    for (size_t i = 1; i < r->nrows && !*dup; i++) *dup = cmp_out_rows(&ix[i - 1], &ix[i]) == 0;
    cur_res = NULL;
    dt__free(ix);
    return DT_OK;
}

/* {====== Hashing rows (the set without sorting) ====== */

static uint64_t mixh(uint64_t h, uint64_t x) {
    return h ^ (x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

/* The distinct rows of t (all columns), in t's order, into idx; *nd. */
static int distinct_rows(const dq_table *t, size_t *idx, size_t *nd) {
    size_t n = t->nrows, w = t->ncols, ns = 16, k = 0;
    if (n >= UINT32_MAX) return DT_NOMEM;
    while (ns < n * 2) ns *= 2;
    uint32_t *slots = dq_mem_alloc(ns * sizeof *slots); /* row + 1 */
    if (!slots) return DT_NOMEM;
    memset(slots, 0, ns * sizeof *slots);
    for (size_t r = 0; r < n; r++) {
        const dt_value *row = t->cells + r * w;
        uint64_t h = 7;
        for (size_t c = 0; c < w; c++) h = mixh(h, dq_value_hash(&row[c]));
        /* finalized: the combined hash of small sequential ids alone would
         * fill runs of neighbouring slots, and probing them is quadratic */
        size_t j = dq_mix64(h) & (ns - 1);
        int dup = 0;
        while (slots[j] && !dup) {
            const dt_value *o = t->cells + (slots[j] - 1) * w;
            dup = 1;
            for (size_t c = 0; c < w && dup; c++)
                if (dt_value_compare(&o[c], &row[c]) != 0) dup = 0;
            if (!dup) j = (j + 1) & (ns - 1);
        }
        if (dup) continue;
        slots[j] = (uint32_t)(r + 1);
        idx[k++] = r;
    }
    dq_mem_free(slots);
    *nd = k;
    return DT_OK;
}

/* dt_value_compare, with longs inline (the common cell). */
static inline int cell_cmp(const dt_value *a, const dt_value *b) {
    if (a->type == DT_LONG && b->type == DT_LONG) return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    return dt_value_compare(a, b);
}

/*
 * Turns REF cells into LONG, and gives the lexicographic orders in which
 * the n rows of width w are strictly increasing: bit 0 with the columns in
 * order, bit 1 with them reversed.
 * Either makes them distinct without a hash table.  An index scan gives
 * its rows in one of these orders ([?e :a "x"] by ?e, [?e :a ?v] with a
 * range on ?v by ?v then ?e), and a look at neighbours costs less than
 * hashing every row.  Gives up at the first row out of both orders.
 */
static int rows_ordered(dt_value *cells, size_t n, size_t w) {
    int ok = w ? 3 : 0;
    size_t r = 0;
    for (; r < n; r++) {
        /* REF cells become LONG (entity ids in results), row by row */
        dt_value *b = cells + r * w;
        for (size_t k = 0; k < w; k++)
            if (b[k].type == DT_REF) b[k].type = DT_LONG;
        if (!r) continue;
        if (!ok) break;
        const dt_value *a = b - w;
        if (ok & 1) {
            int c = 0;
            for (size_t k = 0; k < w && !c; k++) c = cell_cmp(&a[k], &b[k]);
            if (c >= 0) ok &= ~1;
        }
        if (ok & 2) {
            int c = 0;
            for (size_t k = w; k-- > 0 && !c;) c = cell_cmp(&a[k], &b[k]);
            if (c >= 0) ok &= ~2;
        }
    }
    for (size_t i = r < n ? (r + 1) * w : n * w; i < n * w; i++) /* the rows after a give-up */
        if (cells[i].type == DT_REF) cells[i].type = DT_LONG;
    return ok;
}

static int is_text_or_seq(dt_type t) {
    switch (t) {
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BIGINT:
    case DT_BIGDEC:
    case DT_BYTES:
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED:
        return 1;
    default:
        return 0;
    }
}

/* }====== */

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "query: out of memory"); }

static size_t col_of(const dq_table *t, dq_var v) {
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i] == v) return i;
    return (size_t)-1;
}

/* Adds a cell: a copy of v in the result's arena (v already there when
 * in_arena). */
static int put_cell(dt_result *r, size_t *ncell, const dt_value *v, int in_arena) {
    if (*ncell == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        dt_value *c = dq_mem_realloc(r->cells, cap * sizeof *c);
        if (!c) return nomem();
        r->cells = c;
        r->cap = cap;
    }
    if (in_arena)
        r->cells[*ncell] = *v;
    else if (dq_arena_copy_value(&r->arena, v, &r->cells[*ncell]) != DT_OK)
        return nomem();
    if (r->cells[*ncell].type == DT_REF) r->cells[*ncell].type = DT_LONG;
    (*ncell)++;
    return DT_OK;
}

static int add_cell(dt_result *r, size_t *ncell, const dt_value *v) {
    return put_cell(r, ncell, v, 0);
}

/* The pulls of one run: a compiled pattern per pull element. */
typedef struct pulls {
    dq_pull **p;    /* per find element (NULL: not a pull, or per row) */
    dt_value *last; /* per element: the pattern value p was compiled from (per row) */
} pulls;

static int pull_cell(dq_exec *x, pulls *pl, size_t i, const dt_value *const *patterns,
                     const dt_value *row, const dq_table *t, dt_result *r, size_t *ncell) {
    const dq_find_elem *f = &x->q->find[i];
    const dt_value *pat = f->pattern;
    if (!pat && f->pattern_in >= 0 && patterns) pat = patterns[f->pattern_in];
    if (!pat && f->pattern_var != DQ_NOVAR) {
        size_t pc = col_of(t, f->pattern_var);
        if (pc == (size_t)-1) return dt__seterr(NULL, DT_INTERNAL, "query: pull pattern column");
        pat = &row[pc];
    }
    if (!pat) return dt__seterr(NULL, DT_INVALID, "query: no pull pattern for element %zu", i);
    if (f->src < 0 || (size_t)f->src >= x->q->nsrcs || !x->srcs[f->src])
        return dt__seterr(NULL, DT_INVALID, "query: no database for the pull in :find");
    dt_db *db = x->srcs[f->src];
    int rc;
    if (pl->p[i] && f->pattern_var != DQ_NOVAR && dt_value_compare(&pl->last[i], pat) != 0) {
        dq_pull_free(pl->p[i]);
        pl->p[i] = NULL;
    }
    if (!pl->p[i]) {
        if ((rc = dq_pull_compile(db, pat, &pl->p[i])) != DT_OK) return rc;
        pl->last[i] = *pat;
    }
    size_t ec = col_of(t, f->var);
    const dt_value *ev = &row[ec];
    dt_value out = DT_VALUE_NIL;
    if (ev->type == DT_LONG || ev->type == DT_REF) { /* pulled into the result's arena */
        if ((rc = dq_pull_run(pl->p[i], db, ev->u.i, &r->arena, &out)) != DT_OK) return rc;
    }
    return put_cell(r, ncell, &out, 1);
}

static void pulls_free(pulls *pl, size_t n) {
    if (pl->p)
        for (size_t i = 0; i < n; i++) dq_pull_free(pl->p[i]);
    dt__free(pl->p);
    dt__free(pl->last);
}

/*
 * The set of plain variables (no aggregate, no pull) from t, whose cells
 * the result takes over: REF cells become LONG (the result's entity ids),
 * rows are made distinct (by their order when an index scan left them
 * ordered, else by hashing) and projected in place onto the find
 * elements (fc[e]: the column of element e; nf <= t->ncols), and only
 * text and compound cells are copied (into the result's arena: the
 * table's borrow from the execution).  Rows keep the evaluator's order.
 */
static int plain_set(const dq_query *q, dq_table *t, const size_t *fc, size_t *idx, dt_result *r) {
    size_t n = t->nrows, w = t->ncols, nf = q->nfind, nd = n;
    dt_value *cells = t->cells;
    int ord = rows_ordered(cells, n, w);
    int use_idx = !ord;
    if (use_idx && distinct_rows(t, idx, &nd) != DT_OK) return nomem();
    int ident = nf == w;
    for (size_t e = 0; e < nf; e++) ident &= fc[e] == e;
    if (!ident || use_idx) {
        dt_value tmp[64], *row = nf <= 64 ? tmp : dt__malloc(nf * sizeof *row);
        if (!row) return nomem();
        for (size_t i = 0; i < nd; i++) {
            const dt_value *src = cells + (use_idx ? idx[i] : i) * w;
            for (size_t e = 0; e < nf; e++) row[e] = src[fc[e]];
            memcpy(cells + i * nf, row, nf * sizeof *row);
        }
        if (row != tmp) dt__free(row);
    }
    for (size_t i = 0; i < nd * nf; i++)
        if (is_text_or_seq(cells[i].type) &&
            dq_arena_copy_value(&r->arena, &cells[i], &cells[i]) != DT_OK)
            return nomem();
    r->cells = cells;
    r->cap = t->cap * (w ? w : 1);
    r->nrows = nd;
    r->sorted = (ord & 1) && ident && q->nwith == 0;
    t->cells = NULL;
    t->nrows = t->cap = 0;
    return DT_OK;
}

int dq_result_build(dq_exec *x, dq_table *t, const dt_value *const *patterns, dt_result **out) {
    const dq_query *q = x->q;
    *out = NULL;
    dt_result *r = dt__calloc(1, sizeof *r);
    if (!r) return nomem();
    r->magic = DT_MAGIC_RESULT;
    r->kind = (dt_find_kind)q->find_kind;
    r->ret = q->ret;
    r->width = q->nfind;
    int rc = DT_OK;
    size_t *idx = NULL, *order = NULL, *gcols = NULL, ngcols = 0;
    dt_value *vals = NULL, *params = NULL;
    pulls pl = {NULL, NULL};
    size_t ncell = 0;
    int has_agg = 0, has_pull = 0;
    for (size_t i = 0; i < q->nfind; i++) {
        if (q->find[i].kind == DQ_ELEM_AGG) has_agg = 1;
        if (q->find[i].kind == DQ_ELEM_PULL) has_pull = 1;
    }

    idx = dt__malloc((t->nrows ? t->nrows : 1) * sizeof *idx);
    order = dt__malloc((t->ncols ? t->ncols : 1) * sizeof *order);
    gcols = dt__malloc((t->ncols ? t->ncols : 1) * sizeof *gcols);
    pl.p = dt__calloc(q->nfind ? q->nfind : 1, sizeof *pl.p);
    pl.last = dt__calloc(q->nfind ? q->nfind : 1, sizeof *pl.last);
    if (!idx || !order || !gcols || !pl.p || !pl.last) {
        rc = nomem();
        goto done;
    }
    /* group columns (the non-aggregate elements) first, then the rest */
    for (size_t i = 0; i < q->nfind; i++) {
        const dq_find_elem *f = &q->find[i];
        if (f->kind == DQ_ELEM_AGG) continue;
        size_t c = col_of(t, f->var);
        int dup = 0;
        for (size_t k = 0; k < ngcols; k++) dup |= gcols[k] == c;
        if (c != (size_t)-1 && !dup) gcols[ngcols++] = c;
        if (f->kind == DQ_ELEM_PULL && f->pattern_var != DQ_NOVAR) {
            size_t pc = col_of(t, f->pattern_var);
            dup = 0;
            for (size_t k = 0; k < ngcols; k++) dup |= gcols[k] == pc;
            if (pc != (size_t)-1 && !dup) gcols[ngcols++] = pc;
        }
    }
    size_t norder = 0;
    for (size_t k = 0; k < ngcols; k++) order[norder++] = gcols[k];
    for (size_t c = 0; c < t->ncols; c++) {
        int in = 0;
        for (size_t k = 0; k < ngcols; k++) in |= gcols[k] == c;
        if (!in) order[norder++] = c;
    }
    if (!has_agg && !has_pull) {
        /* plain variables: the set by hashing, rows in the evaluator's
         * order; they are distinct unless :with columns were dropped */
        r->bag = q->nwith > 0;
        size_t nf = q->nfind;
        if (nf <= t->ncols && t->nrows) {
            size_t *fc = dt__malloc((nf ? nf : 1) * sizeof *fc);
            if (!fc) {
                rc = nomem();
                goto done;
            }
            for (size_t e = 0; e < nf && rc == DT_OK; e++)
                if ((fc[e] = col_of(t, q->find[e].var)) == (size_t)-1)
                    rc = dt__seterr(NULL, DT_INTERNAL, "query: no column for :find element %zu", e);
            if (rc == DT_OK) rc = plain_set(q, t, fc, idx, r);
            dt__free(fc);
            goto shape;
        }
        size_t nd = 0;
        if (distinct_rows(t, idx, &nd) != DT_OK) {
            rc = nomem();
            goto done;
        }
        r->bag = q->nwith > 0;
        for (size_t i = 0; i < nd && rc == DT_OK; i++) {
            const dt_value *row = t->cells + idx[i] * t->ncols;
            for (size_t e = 0; e < q->nfind && rc == DT_OK; e++)
                rc = add_cell(r, &ncell, &row[col_of(t, q->find[e].var)]);
        }
        if (rc == DT_OK) r->nrows = nd;
        goto shape;
    }
    for (size_t i = 0; i < t->nrows; i++) idx[i] = i;
    sort_ctx sc = {t, order, norder};
    cur_sort = &sc;
    qsort(idx, t->nrows, sizeof *idx, cmp_rows);
    cur_sort = NULL;
    /* the set over all columns */
    size_t nd = 0;
    for (size_t i = 0; i < t->nrows; i++)
        if (nd == 0 || !rows_equal(t, idx[nd - 1], idx[i], order, norder)) idx[nd++] = idx[i];

    if (!has_agg) {
        r->bag = q->nwith > 0;
        for (size_t i = 0; i < nd && rc == DT_OK; i++) {
            const dt_value *row = t->cells + idx[i] * t->ncols;
            for (size_t e = 0; e < q->nfind && rc == DT_OK; e++) {
                const dq_find_elem *f = &q->find[e];
                if (f->kind == DQ_ELEM_PULL)
                    rc = pull_cell(x, &pl, e, patterns, row, t, r, &ncell);
                else
                    rc = add_cell(r, &ncell, &row[col_of(t, f->var)]);
            }
            if (rc == DT_OK) rc = dq_exec_check(x);
        }
        if (rc == DT_OK) r->nrows = nd;
    } else {
        vals = dt__malloc((nd ? nd : 1) * sizeof *vals);
        params = dt__malloc(8 * sizeof *params);
        if (!vals || !params) {
            rc = nomem();
            goto done;
        }
        size_t ng = 0;
        for (size_t g = 0; g < nd && rc == DT_OK;) {
            size_t end = g + 1;
            while (end < nd && rows_equal(t, idx[g], idx[end], gcols, ngcols)) end++;
            const dt_value *first = t->cells + idx[g] * t->ncols;
            for (size_t e = 0; e < q->nfind && rc == DT_OK; e++) {
                const dq_find_elem *f = &q->find[e];
                if (f->kind == DQ_ELEM_PULL) {
                    rc = pull_cell(x, &pl, e, patterns, first, t, r, &ncell);
                    continue;
                }
                if (f->kind == DQ_ELEM_VAR) {
                    rc = add_cell(r, &ncell, &first[col_of(t, f->var)]);
                    continue;
                }
                size_t vc = col_of(t, f->var);
                for (size_t k = g; k < end; k++) vals[k - g] = t->cells[idx[k] * t->ncols + vc];
                size_t np = f->nargs < 8 ? f->nargs : 8;
                for (size_t k = 0; k < np; k++) {
                    const dq_term *a = &f->args[k];
                    if (a->kind == DQ_TERM_VAR)
                        params[k] = first[col_of(t, a->id)];
                    else if (a->value)
                        params[k] = *a->value;
                    else
                        dt_value_nil(&params[k]);
                }
                dt_value res = DT_VALUE_NIL;
                rc = dq_agg_apply(x->fn, f->agg, params, np, vals, end - g, &res);
                if (rc == DT_OK) rc = add_cell(r, &ncell, &res);
                dt_value_free(&res);
            }
            ng++;
            g = end;
        }
        if (rc == DT_OK) r->nrows = ng;
    }
shape:
    if (rc == DT_OK && (r->kind == DT_FIND_SCALAR || r->kind == DT_FIND_TUPLE) && r->nrows > 1)
        r->nrows = 1;
    if (rc == DT_OK && !r->bag && (has_agg || has_pull) && r->kind != DT_FIND_SCALAR &&
        r->kind != DT_FIND_TUPLE && has_duplicates(r, &r->bag) != DT_OK)
        rc = nomem();
    if (rc == DT_OK && q->ret != DQ_RET_NONE) {
        r->keys = dq_arena_alloc(&r->arena, q->nfind * sizeof *r->keys);
        if (!r->keys) rc = nomem();
        for (size_t i = 0; i < q->nfind && rc == DT_OK; i++) {
            const char *nm = q->ret_names[i];
            size_t len = strlen(nm);
            char *cp = dq_arena_alloc(&r->arena, len + 1);
            if (!cp) {
                rc = nomem();
                break;
            }
            memcpy(cp, nm, len + 1);
            r->keys[i] = cp;
        }
    }
done:
    pulls_free(&pl, q->nfind);
    dt__free(idx);
    dt__free(order);
    dt__free(gcols);
    dt__free(vals);
    dt__free(params);
    if (rc != DT_OK) {
        dt_result_free(r);
        return rc;
    }
    *out = r;
    return DT_OK;
}

/* {====== Accessors ====== */

static int ok(const dt_result *r) { return r && r->magic == DT_MAGIC_RESULT; }

dt_find_kind dt_result_kind(const dt_result *r) { return ok(r) ? r->kind : DT_FIND_REL; }

size_t dt_result_count(const dt_result *r) { return ok(r) ? r->nrows : 0; }

size_t dt_result_width(const dt_result *r) { return ok(r) ? r->width : 0; }

const char *dt_result_key(const dt_result *r, size_t col) {
    if (!ok(r) || !r->keys || col >= r->width) return NULL;
    return r->keys[col];
}

const dt_value *dt_result_get(const dt_result *r, size_t row, size_t col) {
    if (!ok(r) || row >= r->nrows || col >= r->width) return NULL;
    return &r->cells[row * r->width + col];
}

/* One row as a vector, or a map under :keys/:strs/:syms. */
static int row_value(const dt_result *r, size_t row, dt_value *out) {
    int rc;
    const dt_value *cells = &r->cells[row * r->width];
    if (!r->keys) {
        if ((rc = dt_value_seq(DT_VECTOR, r->width, out)) != DT_OK) return rc;
        for (size_t i = 0; i < r->width; i++)
            if ((rc = dt_value_copy(&cells[i], &out->u.seq.items[i])) != DT_OK) return rc;
        return DT_OK;
    }
    if ((rc = dt_value_seq(DT_MAP, 2 * r->width, out)) != DT_OK) return rc;
    dt_type kt = r->ret == DQ_RET_KEYS ? DT_KEYWORD : r->ret == DQ_RET_STRS ? DT_STRING : DT_SYMBOL;
    for (size_t i = 0; i < r->width; i++) {
        const char *k = r->keys[i];
        if (kt == DT_KEYWORD && *k == ':') k++;
        if ((rc = dt_value_text(kt, k, strlen(k), &out->u.seq.items[2 * i])) != DT_OK) return rc;
        if ((rc = dt_value_copy(&cells[i], &out->u.seq.items[2 * i + 1])) != DT_OK) return rc;
    }
    return DT_OK;
}

static int cmp_values(const void *a, const void *b) { return dt_value_compare(a, b); }

int dt_result_value(const dt_result *r, dt_value *out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_result_value: NULL out");
    dt_value_nil(out);
    if (!ok(r)) return dt__seterr(NULL, DT_MISUSE, "dt_result_value: not a result");
    int rc = DT_OK;
    switch (r->kind) {
    case DT_FIND_SCALAR:
        if (r->nrows) rc = dt_value_copy(&r->cells[0], out);
        break;
    case DT_FIND_TUPLE:
        if (r->nrows) rc = row_value(r, 0, out);
        break;
    case DT_FIND_COLL:
        if ((rc = dt_value_seq(DT_VECTOR, r->nrows, out)) != DT_OK) break;
        for (size_t i = 0; i < r->nrows && rc == DT_OK; i++)
            rc = dt_value_copy(&r->cells[i * r->width], &out->u.seq.items[i]);
        break;
    case DT_FIND_REL:
        if ((rc = dt_value_seq(r->bag ? DT_VECTOR : DT_SET, r->nrows, out)) != DT_OK) break;
        for (size_t i = 0; i < r->nrows && rc == DT_OK; i++)
            rc = row_value(r, i, &out->u.seq.items[i]);
        break;
    }
    /* Rows come in the evaluator's order; the value (and so the EDN and
     * msgpack of a result) lists a set's rows and a collection's items in
     * value order, so equal results print the same. */
    if (rc == DT_OK && !r->bag && !r->sorted &&
        (r->kind == DT_FIND_REL || r->kind == DT_FIND_COLL) && out->u.seq.n > 1)
        qsort(out->u.seq.items, out->u.seq.n, sizeof *out->u.seq.items, cmp_values);
    if (rc != DT_OK) {
        dt_value_free(out);
        return dt__seterr(NULL, rc, "dt_result_value: out of memory");
    }
    return DT_OK;
}

int dt_result_edn(const dt_result *r, char **out, size_t *out_len) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_result_edn: NULL out");
    *out = NULL;
    dt_value v;
    int rc = dt_result_value(r, &v);
    if (rc != DT_OK) return rc;
    rc = dt_edn_write(&v, DT_EDN_COMPACT, out, out_len);
    dt_value_free(&v);
    return rc;
}

int dt_result_msgpack(const dt_result *r, void **out, size_t *out_len) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_result_msgpack: NULL out");
    *out = NULL;
    dt_value v;
    int rc = dt_result_value(r, &v);
    if (rc != DT_OK) return rc;
    rc = dt_msgpack_encode(&v, out, out_len);
    dt_value_free(&v);
    return rc;
}

/* A row as a vector or map value that borrows the result's cells (and,
 * for a map, the key values in `keys`): shallow, never freed itself. */
static void row_shallow(const dt_result *r, size_t row, const dt_value *keys, dt_value *pairs,
                        dt_value *out) {
    dt_value *cells = &r->cells[row * r->width];
    if (!keys) {
        out->type = DT_VECTOR;
        out->u.seq.items = cells;
        out->u.seq.n = r->width;
        return;
    }
    for (size_t i = 0; i < r->width; i++) {
        pairs[2 * i] = keys[i];
        pairs[2 * i + 1] = cells[i];
    }
    out->type = DT_MAP;
    out->u.seq.items = pairs;
    out->u.seq.n = 2 * r->width;
}

int dt_result_msgpack_unordered(const dt_result *r, void **out, size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    if (!out || !out_len)
        return dt__seterr(NULL, DT_MISUSE, "dt_result_msgpack_unordered: NULL out");
    if (!ok(r)) return dt__seterr(NULL, DT_MISUSE, "dt_result_msgpack_unordered: not a result");
    int rc = DT_OK;
    dt_value *keys = NULL, *rows = NULL, *pairs = NULL;
    dt_value top = DT_VALUE_NIL;
    size_t nkeys = 0;
    if (r->keys) {
        dt_type kt = r->ret == DQ_RET_KEYS   ? DT_KEYWORD
                     : r->ret == DQ_RET_STRS ? DT_STRING
                                             : DT_SYMBOL;
        if (!(keys = dt__calloc(r->width, sizeof *keys))) goto nomem;
        for (; nkeys < r->width; nkeys++) {
            const char *k = r->keys[nkeys];
            if (kt == DT_KEYWORD && *k == ':') k++;
            if ((rc = dt_value_text(kt, k, strlen(k), &keys[nkeys])) != DT_OK) goto done;
        }
    }
    /* rows that are maps need 2 * width pairs each (shallow copies) */
    size_t nrowvals = r->kind == DT_FIND_REL ? r->nrows : r->kind == DT_FIND_TUPLE ? 1 : 0;
    if (keys && nrowvals && r->nrows &&
        !(pairs = dt__calloc(nrowvals * 2 * r->width, sizeof *pairs)))
        goto nomem;
    switch (r->kind) {
    case DT_FIND_SCALAR:
        if (r->nrows) top = r->cells[0];
        break;
    case DT_FIND_TUPLE:
        if (r->nrows) row_shallow(r, 0, keys, pairs, &top);
        break;
    case DT_FIND_COLL: /* width 1: the cells are the items */
        top.type = DT_VECTOR;
        top.u.seq.items = r->cells;
        top.u.seq.n = r->nrows;
        break;
    case DT_FIND_REL:
        if (r->nrows && !(rows = dt__calloc(r->nrows, sizeof *rows))) goto nomem;
        for (size_t i = 0; i < r->nrows; i++)
            row_shallow(r, i, keys, pairs ? &pairs[i * 2 * r->width] : NULL, &rows[i]);
        top.type = r->bag ? DT_VECTOR : DT_SET;
        top.u.seq.items = rows;
        top.u.seq.n = r->nrows;
        break;
    }
    rc = dt_msgpack_encode(&top, out, out_len);
    goto done;
nomem:
    rc = dt__seterr(NULL, DT_NOMEM, "dt_result_msgpack_unordered: out of memory");
done:
    for (size_t i = 0; i < nkeys; i++) dt_value_free(&keys[i]);
    dt__free(keys);
    dt__free(rows);
    dt__free(pairs);
    return rc;
}

void dt_result_free(dt_result *r) {
    if (!ok(r)) return;
    r->magic = DT_MAGIC_DEAD;
    dq_mem_free(r->cells);
    dq_arena_release(&r->arena);
    dt__free(r);
}

/* }====== */
