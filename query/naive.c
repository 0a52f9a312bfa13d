/*
 * naive.c -- the reference evaluator (query layer): dq_eval_naive.
 *
 * Obviously correct rather than fast.  Clauses run in the order written
 * (a clause that needs variables nobody bound yet -- a predicate, a
 * function, a not, a rule call with required arguments -- waits until the
 * clauses before it bound them), as nested loops over the datom cursor,
 * with no pushdown: every data pattern reads the index its bound
 * positions select and binds or filters the rest.
 *
 * Rules are tabled and evaluated bottom-up to saturation: each call reads
 * the answer table of (rule, source, bound argument positions, their
 * values), and the tables are re-evaluated in passes until no pass adds an
 * answer, so recursion over cycles terminates (tables are sets).  A rule
 * whose bodies can run with no argument bound is computed once, for all
 * arguments, and calls filter its table; other rules get one table per
 * distinct set of bound argument values.  Negation inside recursion is
 * not stratified.
 *
 * Entity ids (entity, tx and ref values) are DT_LONG in the rows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "coerce.h"
#include "db.h"
#include "exec.h"
#include "index.h"

#define NV_STOP 200 /* a continuation asks to stop (not an error) */

/* {====== Values ====== */

static int is_id(const dt_value *v) { return v->type == DT_LONG || v->type == DT_REF; }

/* Equality of cells: DT_REF and DT_LONG ids compare as numbers. */
static int nv_eq(const dt_value *a, const dt_value *b) {
    if (is_id(a) && is_id(b)) return a->u.i == b->u.i;
    return dt_value_compare(a, b) == 0;
}

static uint64_t mix(uint64_t h, uint64_t x) {
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

/* }====== */

/* {====== Row sets ====== */

/* A set of rows of width w; cells are arena copies. */
typedef struct nv_rows {
    size_t w, n, cap;
    dt_value *cells;
    uint64_t *hashes;
    uint32_t *slots; /* open addressing: row index + 1, 0 empty */
    size_t nslots;
} nv_rows;

static void rows_release(nv_rows *r) {
    dt__free(r->cells);
    dt__free(r->hashes);
    dt__free(r->slots);
    memset(r, 0, sizeof *r);
}

static uint64_t row_hash(const dt_value *row, size_t w) {
    uint64_t h = 7;
    for (size_t i = 0; i < w; i++) h = mix(h, dq_value_hash(&row[i]));
    return h;
}

static int row_eq(const dt_value *a, const dt_value *b, size_t w) {
    for (size_t i = 0; i < w; i++)
        if (!nv_eq(&a[i], &b[i])) return 0;
    return 1;
}

static int rows_rehash(nv_rows *r, size_t nslots) {
    uint32_t *s = dt__calloc(nslots, sizeof *s);
    if (!s) return DT_NOMEM;
    for (size_t i = 0; i < r->n; i++) {
        size_t j = r->hashes[i] & (nslots - 1);
        while (s[j]) j = (j + 1) & (nslots - 1);
        s[j] = (uint32_t)(i + 1);
    }
    dt__free(r->slots);
    r->slots = s;
    r->nslots = nslots;
    return DT_OK;
}

/* rows_add: adds row (copied into the arena) unless present; *added. */
static int rows_add(dq_arena *ar, nv_rows *r, const dt_value *row, int *added) {
    *added = 0;
    if (r->n >= UINT32_MAX - 1) return DT_LIMIT;
    if ((r->n + 1) * 2 > r->nslots) {
        int rc = rows_rehash(r, r->nslots ? r->nslots * 2 : 16);
        if (rc != DT_OK) return rc;
    }
    uint64_t h = row_hash(row, r->w);
    size_t j = h & (r->nslots - 1);
    while (r->slots[j]) {
        size_t i = r->slots[j] - 1;
        if (r->hashes[i] == h && row_eq(r->cells + i * r->w, row, r->w)) return DT_OK;
        j = (j + 1) & (r->nslots - 1);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        dt_value *cells = dt__realloc(r->cells, cap * (r->w ? r->w : 1) * sizeof *cells);
        if (!cells) return DT_NOMEM;
        r->cells = cells;
        uint64_t *hs = dt__realloc(r->hashes, cap * sizeof *hs);
        if (!hs) return DT_NOMEM;
        r->hashes = hs;
        r->cap = cap;
    }
    for (size_t k = 0; k < r->w; k++) {
        int rc = dq_arena_copy_value(ar, &row[k], &r->cells[r->n * r->w + k]);
        if (rc != DT_OK) return rc;
    }
    r->hashes[r->n] = h;
    r->slots[j] = (uint32_t)(r->n + 1);
    r->n++;
    *added = 1;
    return DT_OK;
}

/* }====== */

/* {====== Context ====== */

/* An index of a rule table on some argument positions: chains of row
 * ids by the hash of those positions, built as rows arrive. */
typedef struct nv_rindex {
    uint64_t mask;
    uint32_t *heads; /* row id + 1, 0: end */
    size_t nheads;
    uint32_t *next; /* per indexed row */
    size_t indexed, capnext;
} nv_rindex;

/* A rule's answer table for one (rule, source, bound positions, values). */
typedef struct nv_rtab {
    size_t id; /* index in nv_ctx.tabs */
    nv_rindex *idx;
    size_t nidx;
    int32_t rule, src;
    uint64_t mask;  /* bound argument positions of the key */
    dt_value *key;  /* arity cells; meaningful at mask positions */
    uint64_t khash; /* hash of the key */
    nv_rows rows;   /* answers: full argument tuples */
    int complete;
    int busy;     /* its bodies are being evaluated */
    size_t *deps; /* ids of the tables its bodies called */
    size_t ndeps, capdeps;
} nv_rtab;

typedef struct nv_ctx {
    dq_exec *x;
    const dq_query *q;
    nv_rtab **tabs;
    size_t ntabs, captabs;
    uint32_t *tslots; /* hash of tables: index + 1 */
    size_t ntslots;
    int8_t *free_ok; /* per rule: its bodies run with no argument bound */
    int in_pass;     /* evaluating rule bodies */
    int in_not;      /* evaluating the body of a not */
    nv_rtab *cur;    /* the table whose bodies are being evaluated */
    int changed;     /* a pass added an answer or a table */
    dt_buf enc;      /* scratch encodings */
} nv_ctx;

/* A variable scope: the query's or one rule body's. */
typedef struct nv_scope {
    const dq_vars *vars;
    int32_t src; /* the source of DQ_SRC_CALLER */
} nv_scope;

typedef struct nv_env {
    const nv_scope *sc;
    dt_value *val;
    uint8_t *bound;
} nv_env;

static int env_new(const nv_scope *sc, nv_env *e) {
    size_t n = sc->vars->n ? sc->vars->n : 1;
    e->sc = sc;
    e->val = dt__calloc(n, sizeof *e->val);
    e->bound = dt__calloc(n, 1);
    if (!e->val || !e->bound) {
        dt__free(e->val);
        dt__free(e->bound);
        return dt__seterr(NULL, DT_NOMEM, "query: out of memory");
    }
    return DT_OK;
}

static void env_free(nv_env *e) {
    dt__free(e->val);
    dt__free(e->bound);
}

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "query: out of memory"); }

/* An error about clause cl: "query: <what> in <form> at L:C". */
static int cl_err(const dq_clause *cl, int rc, const char *fmt, ...) {
    char what[512], form[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    dl_show(cl->form, form, sizeof form);
    if (cl->line)
        return dt__seterr(NULL, rc, "query: %s in %s at %d:%d%s", what, form, cl->line, cl->col,
                          cl->in_rules ? " of the rules" : "");
    return dt__seterr(NULL, rc, "query: %s in %s", what, form);
}

/* Passes an error from a lower layer on with the clause added. */
static int cl_wrap(const dq_clause *cl, int rc) {
    if (rc == DT_OK || rc == NV_STOP || rc == DT_TIMEOUT || rc == DT_INTERRUPT || rc == DT_LIMIT)
        return rc;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dt_errmsg(NULL));
    if (strncmp(msg, "query: ", 7) == 0) {
        if (strstr(msg, " in [") || strstr(msg, " in (")) return rc; /* already says where */
        return cl_err(cl, rc, "%s", msg + 7);
    }
    return cl_err(cl, rc, "%s", msg);
}

static int32_t clause_src(const nv_env *env, const dq_clause *cl) {
    return cl->src == DQ_SRC_CALLER ? env->sc->src : cl->src;
}

static int src_db(nv_ctx *c, const dq_clause *cl, int32_t src, dt_db **db) {
    if (src < 0 || (size_t)src >= c->q->nsrcs || !c->x->srcs[src])
        return cl_err(cl, DT_INVALID, "no database for source %s",
                      src >= 0 && (size_t)src < c->q->nsrcs ? c->q->srcs[src] : "$");
    *db = c->x->srcs[src];
    return DT_OK;
}

/* }====== */

/* {====== Readiness ====== */

/* The clauses of an or branch or a not/and body. */
static void branch_list(const dq_clause *b, const dq_clause **cls, size_t *n) {
    if (b->kind == DQ_CL_AND) {
        *cls = b->clauses;
        *n = b->nclauses;
    } else {
        *cls = b;
        *n = 1;
    }
}

static int term_known(const dq_term *t, const uint8_t *bound) {
    return t->kind != DQ_TERM_VAR || bound[t->id];
}

static int can_run(nv_ctx *c, const dq_clause *cls, size_t n, const uint8_t *bound, size_t nvars,
                   int depth);

/* Whether rule r can run with its arguments at `mask` bound. */
static int rule_runs(nv_ctx *c, int32_t r, uint64_t mask, int depth) {
    const dq_rule *rule = &c->q->rules[r];
    if (c->free_ok[r] >= 1) return 1;
    if (depth > 8) return 1; /* recursion: assume it can (checked at run time) */
    for (size_t b = 0; b < rule->nbodies; b++) {
        const dq_rule_body *body = &rule->bodies[b];
        size_t nv = body->vars.n ? body->vars.n : 1;
        uint8_t *bd = dt__calloc(nv, 1);
        if (!bd) return 0;
        for (size_t i = 0; i < rule->arity && i < 64; i++)
            if (mask & ((uint64_t)1 << i)) bd[i] = 1;
        int ok = can_run(c, body->clauses, body->nclauses, bd, nv, depth + 1);
        dt__free(bd);
        if (!ok) return 0;
    }
    return 1;
}

static uint64_t call_mask(const dq_clause *cl, const uint8_t *bound) {
    uint64_t m = 0;
    for (size_t i = 0; i < cl->nterms && i < 64; i++)
        if (cl->terms[i].kind == DQ_TERM_CONST ||
            (cl->terms[i].kind == DQ_TERM_VAR && bound[cl->terms[i].id]))
            m |= (uint64_t)1 << i;
    return m;
}

static int ready(nv_ctx *c, const dq_clause *cl, const uint8_t *bound, size_t nvars, int depth) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
        return 1;
    case DQ_CL_PRED:
    case DQ_CL_FN:
        for (size_t i = 0; i < cl->nterms; i++)
            if (!term_known(&cl->terms[i], bound)) return 0;
        return 1;
    case DQ_CL_RULE: {
        size_t nreq = c->q->rules[cl->rule].nreq;
        for (size_t i = 0; i < nreq && i < cl->nterms; i++)
            if (!term_known(&cl->terms[i], bound)) return 0;
        return rule_runs(c, cl->rule, call_mask(cl, bound), depth);
    }
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        for (size_t i = 0; i < cl->nvars; i++)
            if (!bound[cl->vars[i]]) return 0;
        return 1;
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN: {
        for (size_t i = 0; i < cl->nreq; i++)
            if (!bound[cl->vars[i]]) return 0;
        uint8_t *bd = dt__calloc(nvars ? nvars : 1, 1);
        if (!bd) return 0;
        for (size_t i = 0; i < cl->nvars; i++) bd[cl->vars[i]] = bound[cl->vars[i]];
        int ok = 1;
        for (size_t b = 0; b < cl->nclauses && ok; b++) {
            const dq_clause *bl;
            size_t bn;
            branch_list(&cl->clauses[b], &bl, &bn);
            uint8_t *cp = dt__malloc(nvars ? nvars : 1);
            if (!cp) {
                ok = 0;
                break;
            }
            memcpy(cp, bd, nvars ? nvars : 1);
            ok = can_run(c, bl, bn, cp, nvars, depth + 1);
            dt__free(cp);
        }
        dt__free(bd);
        return ok;
    }
    case DQ_CL_AND:
        return can_run(c, cl->clauses, cl->nclauses, bound, nvars, depth + 1);
    }
    return 0;
}

static void bind_vars_of(const dq_binding *b, uint8_t *bound) {
    switch (b->kind) {
    case DQ_BIND_VAR:
        if (b->var != DQ_NOVAR) bound[b->var] = 1;
        break;
    case DQ_BIND_BLANK:
        break;
    default:
        for (size_t i = 0; i < b->n; i++) bind_vars_of(&b->items[i], bound);
    }
}

/* The variables clause cl binds when it runs. */
static void binds(const dq_clause *cl, uint8_t *bound) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
    case DQ_CL_RULE:
        for (size_t i = 0; i < cl->nterms; i++)
            if (cl->terms[i].kind == DQ_TERM_VAR) bound[cl->terms[i].id] = 1;
        break;
    case DQ_CL_FN:
        bind_vars_of(&cl->bind, bound);
        break;
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN:
        for (size_t i = 0; i < cl->nvars; i++) bound[cl->vars[i]] = 1;
        break;
    case DQ_CL_AND:
        for (size_t i = 0; i < cl->nclauses; i++) binds(&cl->clauses[i], bound);
        break;
    default:
        break;
    }
}

/* can_run: whether clauses can all run, in some order, from `bound`
 * (which it updates). */
static int can_run(nv_ctx *c, const dq_clause *cls, size_t n, const uint8_t *bound0, size_t nvars,
                   int depth) {
    uint8_t *bound = dt__malloc(nvars ? nvars : 1);
    uint8_t *done = dt__calloc(n ? n : 1, 1);
    int ok = bound && done;
    if (ok) memcpy(bound, bound0, nvars ? nvars : 1);
    for (size_t left = n; ok && left;) {
        int progress = 0;
        for (size_t i = 0; i < n; i++)
            if (!done[i] && ready(c, &cls[i], bound, nvars, depth)) {
                done[i] = 1;
                binds(&cls[i], bound);
                left--;
                progress = 1;
            }
        if (!progress) ok = 0;
    }
    dt__free(bound);
    dt__free(done);
    return ok;
}

/* free_ok[r]: every body of rule r runs with no argument bound (the
 * greatest fixpoint: assume all rules can, drop those that cannot). */
static int compute_free(nv_ctx *c) {
    const dq_query *q = c->q;
    if (!q->nrules) return DT_OK;
    if (!(c->free_ok = dt__malloc(q->nrules))) return nomem();
    for (size_t r = 0; r < q->nrules; r++) c->free_ok[r] = q->rules[r].nreq == 0 ? 1 : 0;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t r = 0; r < q->nrules; r++) {
            if (!c->free_ok[r]) continue;
            const dq_rule *rule = &q->rules[r];
            for (size_t b = 0; b < rule->nbodies; b++) {
                const dq_rule_body *body = &rule->bodies[b];
                size_t nv = body->vars.n ? body->vars.n : 1;
                uint8_t *bd = dt__calloc(nv, 1);
                if (!bd) return nomem();
                c->free_ok[r] = 2; /* while checking: calls to it count as runnable */
                int ok = can_run(c, body->clauses, body->nclauses, bd, nv, 0);
                dt__free(bd);
                c->free_ok[r] = 1;
                if (!ok) {
                    c->free_ok[r] = 0;
                    changed = 1;
                    break;
                }
            }
        }
    }
    return DT_OK;
}

/* }====== */

/* {====== Solving a list of clauses ====== */

typedef int (*nv_kfn)(nv_ctx *c, nv_env *env, void *arg);

/* A list being solved: the clauses, which are done, and what to call
 * with each complete solution. */
typedef struct nv_list {
    const dq_clause *cls;
    size_t n;
    uint8_t *done;
    nv_kfn k;
    void *karg;
} nv_list;

static int solve(nv_ctx *c, nv_env *env, nv_list *L);

static int eval_clause(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L);

/* The first unbound variable a clause needs (for the message). */
static const char *needed_var(const nv_env *env, const dq_clause *cl) {
    for (size_t i = 0; i < cl->nterms; i++)
        if (cl->terms[i].kind == DQ_TERM_VAR && !env->bound[cl->terms[i].id])
            return dq_var_name(env->sc->vars, cl->terms[i].id);
    for (size_t i = 0; i < cl->nvars; i++)
        if (!env->bound[cl->vars[i]]) return dq_var_name(env->sc->vars, cl->vars[i]);
    return "a variable";
}

static int solve(nv_ctx *c, nv_env *env, nv_list *L) {
    int rc = dq_exec_check(c->x);
    if (rc != DT_OK) return rc;
    size_t pick = L->n, first = L->n;
    for (size_t i = 0; i < L->n; i++) {
        if (L->done[i]) continue;
        if (first == L->n) first = i;
        if (ready(c, &L->cls[i], env->bound, env->sc->vars->n, 0)) {
            pick = i;
            break;
        }
    }
    if (first == L->n) return L->k(c, env, L->karg);
    if (pick == L->n)
        return cl_err(&L->cls[first], DT_INVALID, "insufficient bindings: %s is not bound",
                      needed_var(env, &L->cls[first]));
    L->done[pick] = 1;
    rc = eval_clause(c, env, &L->cls[pick], L);
    L->done[pick] = 0;
    return rc;
}

/* solve_clauses: solves cls[0..n) in env, calling k with each solution. */
static int solve_clauses(nv_ctx *c, nv_env *env, const dq_clause *cls, size_t n, nv_kfn k,
                         void *karg) {
    nv_list L = {cls, n, dt__calloc(n ? n : 1, 1), k, karg};
    if (!L.done) return nomem();
    int rc = solve(c, env, &L);
    dt__free(L.done);
    return rc;
}

/* Binds variable v to a copy of val (an id becomes DT_LONG), solves the
 * rest, unbinds.  When v is bound already, continues only if equal. */
static int bind_and_go(nv_ctx *c, nv_env *env, dq_var v, const dt_value *val, nv_kfn k,
                       void *karg) {
    if (env->bound[v]) return nv_eq(&env->val[v], val) ? k(c, env, karg) : DT_OK;
    dt_value cp;
    if (dq_arena_copy_value(&c->x->arena, val, &cp) != DT_OK) return nomem();
    if (cp.type == DT_REF) cp.type = DT_LONG;
    env->val[v] = cp;
    env->bound[v] = 1;
    int rc = k(c, env, karg);
    env->bound[v] = 0;
    return rc;
}

static int k_solve(nv_ctx *c, nv_env *env, void *arg) { return solve(c, env, arg); }

/* }====== */

/* {====== Binding forms ====== */

typedef struct nv_bstep {
    const dq_binding *b; /* a tuple binding */
    const dt_value *v;   /* its value */
    size_t i;            /* the next item */
    nv_kfn k;
    void *karg;
} nv_bstep;

static int bind_form(nv_ctx *c, nv_env *env, const dq_binding *b, const dt_value *v, nv_kfn k,
                     void *karg);

static int k_tuple_step(nv_ctx *c, nv_env *env, void *arg) {
    nv_bstep *s = arg;
    if (s->i == s->b->n) return s->k(c, env, s->karg);
    nv_bstep next = {s->b, s->v, s->i + 1, s->k, s->karg};
    return bind_form(c, env, &s->b->items[s->i], &s->v->u.seq.items[s->i], k_tuple_step, &next);
}

static int bind_tuple(nv_ctx *c, nv_env *env, const dq_binding *b, const dt_value *v, nv_kfn k,
                      void *karg) {
    const dt_value *items;
    size_t n;
    int entries, fit = dq_bind_items(b, v, &items, &n, &entries);
    if (fit <= 0) return DT_OK; /* nil (dq_bind_check found the errors) */
    nv_bstep s = {b, v, 0, k, karg};
    return k_tuple_step(c, env, &s);
}

/* bind_form: binds the values of v by the binding form b and calls k
 * with each resulting environment (a collection gives one per element),
 * as DataScript binds a function's result: nil (the caller drops a nil
 * result) inside a collection or tuple binds nil, a map is a collection
 * of its [k v] entries, and a value that does not fit the form (a scalar
 * for a collection, a short tuple) is an error (dq_bind_items). */
static int bind_form(nv_ctx *c, nv_env *env, const dq_binding *b, const dt_value *v, nv_kfn k,
                     void *karg) {
    int rc;
    switch (b->kind) {
    case DQ_BIND_VAR:
        return bind_and_go(c, env, b->var, v, k, karg);
    case DQ_BIND_BLANK:
        return k(c, env, karg);
    case DQ_BIND_TUPLE:
        return bind_tuple(c, env, b, v, k, karg);
    case DQ_BIND_COLL:
    case DQ_BIND_REL: {
        const dt_value *items;
        size_t n;
        int entries, fit = dq_bind_items(b, v, &items, &n, &entries);
        if (fit <= 0) return DT_OK;
        dq_binding tb = {DQ_BIND_TUPLE, DQ_NOVAR, b->n, b->items};
        const dq_binding *each = b->kind == DQ_BIND_COLL ? &b->items[0] : &tb;
        for (size_t i = 0; i < n; i++) {
            if ((rc = dq_exec_check(c->x)) != DT_OK) return rc;
            dt_value entry = {.type = DT_VECTOR}; /* a map's entry [k v] */
            entry.u.seq.items = (dt_value *)&items[2 * i];
            entry.u.seq.n = 2;
            if ((rc = bind_form(c, env, each, entries ? &entry : &items[i], k, karg)) != DT_OK)
                return rc;
        }
        return DT_OK;
    }
    }
    return DT_OK;
}

/* }====== */

/* {====== Data patterns ====== */

/* What a pattern's position is: a known value, or a variable to bind. */
typedef struct nv_pat {
    const dq_clause *cl;
    nv_list *L;
    dt_db *db;
    const dl_schema *s;
    int has_e, has_a, has_v, has_tx;
    int64_t e, tx;
    const dl_attr *a;
    const dt_value *v;   /* the known value (before coercion) */
    const uint8_t *venc; /* its encoding for `a` (when a is known) */
    size_t venclen;
    int v_const;               /* v was written as a constant */
    dq_var var[4];             /* variables to bind at e a v tx (DQ_NOVAR: none) */
    int bind_added;            /* a variable at the added position */
    int has_added, want_added; /* the added position is known: want_added */
    dq_var added_var;
    /* per datom */
    dt_value vals[5];
    dt_buf enc2;
    uint32_t enc2_aid;
    int enc2_ok;
} nv_pat;

/* Resolves an entity reference (id, ident, lookup ref) in the pattern's
 * database: *found 0 when it names nothing.  A constant lookup ref or
 * ident that names nothing is an error (as Datomic). */
static int resolve_eid(nv_ctx *c, nv_pat *p, const dt_value *v, int is_const, int64_t *eid,
                       int *found) {
    (void)c;
    *found = 0;
    if (is_id(v)) {
        if (v->u.i <= 0) return DT_OK;
        *eid = v->u.i;
        *found = 1;
        return DT_OK;
    }
    int lookup = (v->type == DT_VECTOR || v->type == DT_LIST) && v->u.seq.n == 2 &&
                 v->u.seq.items[0].type == DT_KEYWORD;
    if (v->type != DT_KEYWORD && !lookup) {
        if (is_const)
            return cl_err(p->cl, DT_INVALID, "expected an entity id, ident or lookup ref, got %s",
                          dt_type_name(v->type));
        return DT_OK;
    }
    int rc = dl_db_resolve_eref(p->db, v, eid);
    if (rc == DT_OK) {
        *found = 1;
        return DT_OK;
    }
    if (rc == DT_NOTFOUND || rc == DT_INVALID) {
        if (!is_const && rc == DT_NOTFOUND) return DT_OK;
        char shown[200];
        dl_show(v, shown, sizeof shown);
        if (rc == DT_NOTFOUND)
            return cl_err(p->cl, DT_INVALID, "%s %s matches no entity",
                          lookup ? "lookup ref" : "ident", shown);
        return cl_wrap(p->cl, rc);
    }
    return cl_wrap(p->cl, rc);
}

/* Encodes value v for attribute a into b (resolving ident and lookup ref
 * values of ref attributes when `resolve`: the attribute was written as a
 * constant; as in DataScript, a pattern whose attribute is a variable
 * compares the value as written, so a lookup ref or ident there matches
 * no ref value).  *ok 0: v cannot be a value of a (no match). */
static int encode_value(nv_ctx *c, nv_pat *p, const dl_attr *a, const dt_value *v, int is_const,
                        int resolve, dt_buf *b, int *ok) {
    *ok = 0;
    b->len = 0;
    dt_value idv;
    if (a->vtype == DT_REF && !is_id(v)) {
        if (!resolve) return DT_OK;
        int64_t eid;
        int found;
        int rc = resolve_eid(c, p, v, is_const && v->type != DT_KEYWORD, &eid, &found);
        if (rc != DT_OK) return rc;
        if (!found) {
            if (is_const && v->type == DT_KEYWORD) {
                char shown[200];
                dl_show(v, shown, sizeof shown);
                return cl_err(p->cl, DT_INVALID, "ident %s matches no entity", shown);
            }
            return DT_OK;
        }
        dt_value_ref(eid, &idv);
        v = &idv;
    }
    if (a->vtype == DT_REF && is_id(v) && v->u.i <= 0) return DT_OK;
    int rc = dl_coerce(a, v, b);
    if (rc == DT_NOMEM) return nomem();
    if (rc != DT_OK) return DT_OK; /* not a value of a: matches nothing */
    *ok = 1;
    return DT_OK;
}

static int k_pattern_emit(nv_ctx *c, nv_env *env, nv_pat *p, int pos);

static int k_pattern_pos(nv_ctx *c, nv_env *env, void *arg);

typedef struct nv_pstep {
    nv_pat *p;
    int pos;
} nv_pstep;

/* Binds positions pos.. of the current datom, then solves on. */
static int k_pattern_emit(nv_ctx *c, nv_env *env, nv_pat *p, int pos) {
    for (; pos < 5; pos++) {
        dq_var v = pos < 4 ? p->var[pos] : (p->bind_added ? p->added_var : DQ_NOVAR);
        if (v == DQ_NOVAR) continue;
        nv_pstep s = {p, pos + 1};
        return bind_and_go(c, env, v, &p->vals[pos], k_pattern_pos, &s);
    }
    return solve(c, env, p->L);
}

static int k_pattern_pos(nv_ctx *c, nv_env *env, void *arg) {
    nv_pstep *s = arg;
    return k_pattern_emit(c, env, s->p, s->pos);
}

/* A known position from a constant or a bound variable; *var the
 * variable to bind otherwise. */
static const dt_value *known(const nv_env *env, const dq_clause *cl, int pos, dq_var *var,
                             int *is_const) {
    *var = DQ_NOVAR;
    *is_const = 0;
    if ((size_t)pos >= cl->nterms) return NULL;
    const dq_term *t = &cl->terms[pos];
    if (t->kind == DQ_TERM_CONST) {
        *is_const = 1;
        return t->value;
    }
    if (t->kind == DQ_TERM_VAR) {
        if (env->bound[t->id]) return &env->val[t->id];
        *var = t->id;
    }
    return NULL;
}

/* 1 when the term at pos of cl is a query variable that a one-row input
 * binds: the planner makes such inputs constants of the query (a lookup
 * ref among them that matches nothing is an error, as in DataScript), and
 * so does this evaluator. */
static int input_const(const nv_ctx *c, const nv_env *env, const dq_clause *cl, int pos) {
    if ((size_t)pos >= cl->nterms || cl->terms[pos].kind != DQ_TERM_VAR) return 0;
    if (env->sc->vars != &c->q->vars || !c->x->in) return 0;
    for (size_t i = 0; i < c->q->nin; i++) {
        const dq_table *t = &c->x->in[i];
        if (c->q->in[i].kind != DQ_IN_BINDING || t->nrows != 1) continue;
        for (size_t k = 0; k < t->ncols; k++)
            if (t->cols[k] == cl->terms[pos].id) return 1;
    }
    return 0;
}

/* A pattern over a collection source: each tuple with at least as many
 * items as the pattern has positions is a row; constants and bound
 * variables must equal their items. */
static int eval_coll_pattern(nv_ctx *c, nv_env *env, const dq_clause *cl, const dt_value *coll,
                             nv_list *L) {
    for (size_t r = 0; r < coll->u.seq.n; r++) {
        int rc = dq_exec_check(c->x);
        if (rc != DT_OK) return rc;
        const dt_value *t = &coll->u.seq.items[r];
        if (t->u.seq.n < cl->nterms) continue;
        nv_pat p;
        memset(&p, 0, sizeof p);
        p.cl = cl;
        p.L = L;
        for (int i = 0; i < 4; i++) p.var[i] = DQ_NOVAR;
        p.added_var = DQ_NOVAR;
        int ok = 1;
        for (size_t i = 0; ok && i < cl->nterms; i++) {
            const dq_term *term = &cl->terms[i];
            const dt_value *item = &t->u.seq.items[i];
            p.vals[i] = *item;
            if (term->kind == DQ_TERM_CONST) {
                ok = nv_eq(term->value, item);
            } else if (term->kind == DQ_TERM_VAR) {
                if (env->bound[term->id])
                    ok = nv_eq(&env->val[term->id], item);
                else if (i < 4)
                    p.var[i] = term->id;
                else
                    p.bind_added = 1, p.added_var = term->id;
            }
        }
        if (ok && (rc = k_pattern_emit(c, env, &p, 0)) != DT_OK) return rc;
    }
    return DT_OK;
}

static int eval_pattern(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L) {
    int32_t csrc = clause_src(env, cl);
    if (csrc >= 0 && (size_t)csrc < c->q->nsrcs && c->x->srcvals && c->x->srcvals[csrc])
        return eval_coll_pattern(c, env, cl, c->x->srcvals[csrc], L);
    nv_pat p;
    memset(&p, 0, sizeof p);
    p.cl = cl;
    p.L = L;
    p.enc2 = (dt_buf)DT_BUF_INIT;
    int rc = src_db(c, cl, clause_src(env, cl), &p.db);
    if (rc != DT_OK) return rc;
    p.s = dl_db_schema(p.db);
    if (!dl_db_txn(p.db)) return cl_err(cl, DT_MISUSE, "the database snapshot is closed");
    int isc, found;
    const dt_value *kv;
    /* added */
    p.added_var = DQ_NOVAR;
    kv = known(env, cl, 4, &p.added_var, &isc);
    if (kv) {
        if (kv->type != DT_BOOL)
            return cl_err(cl, DT_INVALID, "the added position takes true or false");
        p.has_added = 1; /* only history views yield retractions (added false) */
        p.want_added = kv->u.b;
    } else if (p.added_var != DQ_NOVAR) {
        p.bind_added = 1;
        dt_value_bool(1, &p.vals[4]);
    }
    /* entity */
    if ((kv = known(env, cl, 0, &p.var[0], &isc))) {
        isc = isc || input_const(c, env, cl, 0);
        if ((rc = resolve_eid(c, &p, kv, isc, &p.e, &found)) != DT_OK) return rc;
        if (!found) return DT_OK;
        p.has_e = 1;
    }
    /* attribute */
    if ((kv = known(env, cl, 1, &p.var[1], &isc))) {
        if (kv->type == DT_KEYWORD)
            p.a = dl_schema_by_ident(p.s, kv->u.s.ptr, kv->u.s.len);
        else if (is_id(kv) && kv->u.i > 0 && kv->u.i <= UINT32_MAX)
            p.a = dl_schema_by_aid(p.s, (uint32_t)kv->u.i);
        if (!p.a) {
            if (isc) {
                char shown[200];
                dl_show(kv, shown, sizeof shown);
                return cl_err(cl, DT_INVALID, "unknown attribute %s", shown);
            }
            return DT_OK;
        }
        p.has_a = 1;
    }
    /* value */
    dt_buf venc = DT_BUF_INIT;
    if ((kv = known(env, cl, 2, &p.var[2], &isc))) {
        isc = isc || input_const(c, env, cl, 2);
        p.has_v = 1;
        p.v = kv;
        p.v_const = isc;
        if (p.has_a) {
            int ok;
            rc = encode_value(c, &p, p.a, kv, isc, 1, &venc, &ok);
            if (rc != DT_OK || !ok) {
                dt_buf_release(&venc);
                return rc;
            }
            p.venc = venc.p;
            p.venclen = venc.len;
        }
    }
    /* tx */
    if ((kv = known(env, cl, 3, &p.var[3], &isc))) {
        if (kv->type == DT_KEYWORD || (kv->type == DT_VECTOR || kv->type == DT_LIST)) {
            if ((rc = resolve_eid(c, &p, kv, isc, &p.tx, &found)) != DT_OK || !found) {
                dt_buf_release(&venc);
                return rc;
            }
        } else if (is_id(kv)) {
            p.tx = kv->u.i;
        } else {
            dt_buf_release(&venc);
            return DT_OK;
        }
        p.has_tx = 1;
    }

    dl_cursor cur;
    rc = dl_db_cursor_open(&cur, p.db, p.has_e || !p.has_a ? DL_INDEX_EAV : DL_INDEX_AVE);
    if (rc != DT_OK) {
        dt_buf_release(&venc);
        return cl_wrap(cl, rc);
    }
    dl_ikey from = {0, 0, 0, NULL, 0};
    if (p.has_e) {
        from.n = 1;
        from.e = p.e;
        if (p.has_a) {
            from.n = 2;
            from.aid = p.a->aid;
            if (p.venc) {
                from.n = 3;
                from.v = p.venc;
                from.vlen = p.venclen;
            }
        }
    } else if (p.has_a) {
        from.n = 1;
        from.aid = p.a->aid;
        if (p.venc) {
            from.n = 2;
            from.v = p.venc;
            from.vlen = p.venclen;
        }
    }
    rc = dl_cursor_seek(&cur, &from, from.n, NULL);
    dl_datom d;
    while (rc == DT_OK && (rc = dl_cursor_next(&cur, &d)) == DT_ROW) {
        rc = DT_OK;
        if ((rc = dq_exec_check(c->x)) != DT_OK) break;
        /* a pattern that names neither its entity nor its attribute does
         * not see transaction entities (as DataScript, which has none) */
        if (!p.has_e && !p.has_a && d.e >= DT_TX0) continue;
        if (p.has_tx && d.tx != p.tx) continue;
        int added = dl_cursor_added(&cur);
        if (p.has_added && added != p.want_added) continue;
        if (p.bind_added) dt_value_bool(added, &p.vals[4]);
        const dl_attr *a = p.has_a ? p.a : dl_schema_by_aid(p.s, d.aid);
        if (!a) continue;
        dt_kv_bytes full;
        if ((rc = dl_cursor_value(&cur, &full)) != DT_OK) break;
        if (p.has_v && !p.has_a) {
            /* filter by the value coerced for this datom's attribute (a
             * value that names no entity of a ref attribute just does not
             * match: the attribute was not written) */
            if (!p.enc2_ok || p.enc2_aid != d.aid) {
                int ok;
                if ((rc = encode_value(c, &p, a, p.v, 0, 0, &p.enc2, &ok)) != DT_OK) break;
                p.enc2_aid = d.aid;
                p.enc2_ok = 1;
                if (!ok) p.enc2.len = 0;
            }
            if (p.enc2.len == 0 || p.enc2.len != full.len || memcmp(p.enc2.p, full.ptr, full.len))
                continue;
        }
        dt_value_long(d.e, &p.vals[0]);
        p.vals[1].type = DT_KEYWORD; /* borrowed from the schema */
        p.vals[1].u.s.ptr = a->ident;
        p.vals[1].u.s.len = a->ident_len;
        dt_value_long(d.tx, &p.vals[3]);
        dt_value_nil(&p.vals[2]);
        if (p.var[2] != DQ_NOVAR) {
            dt_value dv;
            size_t used;
            rc = dl_codec_decode(full.ptr, full.len, &dv, &used);
            if (rc != DT_OK) {
                rc = cl_wrap(cl, rc == DT_NOMEM ? rc : DT_CORRUPT);
                break;
            }
            rc = dq_arena_copy_value(&c->x->arena, &dv, &p.vals[2]);
            dt_value_free(&dv);
            if (rc != DT_OK) {
                rc = nomem();
                break;
            }
            if (p.vals[2].type == DT_REF) p.vals[2].type = DT_LONG;
        }
        rc = k_pattern_emit(c, env, &p, 0);
        if (rc != DT_OK) break;
    }
    if (rc == DT_DONE) rc = DT_OK;
    dl_cursor_close(&cur);
    dt_buf_release(&venc);
    dt_buf_release(&p.enc2);
    return rc;
}

/* }====== */

/* {====== Predicates and functions ====== */

static int call_args(nv_ctx *c, nv_env *env, const dq_clause *cl, dt_db **db, dt_value **args,
                     size_t *nargs) {
    size_t first = 0;
    *db = NULL;
    if (cl->fn != DQ_FN_USER && dq_builtins[cl->fn].kind == DQ_FNK_SOURCE) {
        int32_t src;
        if (cl->nterms && cl->terms[0].kind == DQ_TERM_SRC) {
            src = cl->terms[0].id == DQ_SRC_CALLER ? env->sc->src : cl->terms[0].id;
            first = 1;
        } else {
            src = env->sc->src >= 0 ? env->sc->src : c->q->default_src;
        }
        int rc = src_db(c, cl, src, db);
        if (rc != DT_OK) return rc;
    }
    size_t n = cl->nterms - first;
    dt_value *a = dt__calloc(n ? n : 1, sizeof *a);
    if (!a) return nomem();
    for (size_t i = 0; i < n; i++) {
        const dq_term *t = &cl->terms[first + i];
        if (t->kind == DQ_TERM_VAR)
            a[i] = env->val[t->id];
        else if (t->kind == DQ_TERM_CONST)
            a[i] = *t->value;
        else {
            dt__free(a);
            return cl_err(cl, DT_INVALID,
                          "a source is only the first argument of get-else, "
                          "get-some, missing?, tx-ids and tx-data");
        }
    }
    *args = a;
    *nargs = n;
    return DT_OK;
}

static int eval_call(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L) {
    dt_db *db;
    dt_value *args = NULL, out = DT_VALUE_NIL;
    size_t n = 0;
    int rc = call_args(c, env, cl, &db, &args, &n);
    if (rc != DT_OK) return rc;
    if (cl->fn == DQ_FN_USER)
        rc = dq_call_user(c->x, cl, args, n, &out);
    else if (db)
        rc = dq_call_source(c->x->fn, cl->fn, db, args, n, &out);
    else
        rc = dq_call(c->x->fn, cl->fn, args, n, &out);
    dt__free(args);
    if (rc != DT_OK) return cl_wrap(cl, rc);
    if (cl->kind == DQ_CL_PRED)
        rc = dq_truthy(&out) ? solve(c, env, L) : DT_OK;
    else if (out.type == DT_NIL) /* a nil result binds nothing */
        rc = DT_OK;
    else if ((rc = dq_bind_check(&cl->bind, &out)) != DT_OK) { /* does not fit the form */
        char what[DT__ERRMSG_MAX];
        snprintf(what, sizeof what, "%s", dt_errmsg(NULL));
        rc = cl_err(cl, rc, "%s", what);
    } else
        rc = bind_form(c, env, &cl->bind, &out, k_solve, L);
    dt_value_free(&out);
    return rc;
}

/* }====== */

/* {====== or, or-join, not, not-join ====== */

typedef struct nv_collect {
    const dq_clause *cl;
    nv_rows *rows;
    const dq_var *vars;
    size_t nvars;
    dt_value *tmp;
} nv_collect;

static int k_collect(nv_ctx *c, nv_env *env, void *arg) {
    nv_collect *k = arg;
    for (size_t i = 0; i < k->nvars; i++) {
        if (!env->bound[k->vars[i]])
            return cl_err(k->cl, DT_INVALID, "%s is not bound by every branch",
                          dq_var_name(env->sc->vars, k->vars[i]));
        k->tmp[i] = env->val[k->vars[i]];
    }
    int added;
    int rc = rows_add(&c->x->arena, k->rows, k->tmp, &added);
    if (rc != DT_OK) return rc == DT_NOMEM ? nomem() : cl_err(k->cl, rc, "too many rows");
    return dq_exec_rows(c->x, k->rows->n);
}

typedef struct nv_orbind {
    const dq_clause *cl;
    nv_rows *rows;
    size_t row, i;
    nv_list *L;
} nv_orbind;

static int k_or_bind(nv_ctx *c, nv_env *env, void *arg) {
    nv_orbind *s = arg;
    if (s->i == s->cl->nvars) return solve(c, env, s->L);
    nv_orbind next = *s;
    next.i++;
    return bind_and_go(c, env, s->cl->vars[s->i], &s->rows->cells[s->row * s->rows->w + s->i],
                       k_or_bind, &next);
}

static int eval_or(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L) {
    nv_env sub;
    int rc = env_new(env->sc, &sub);
    if (rc != DT_OK) return rc;
    for (size_t i = 0; i < cl->nvars; i++) {
        dq_var v = cl->vars[i];
        sub.bound[v] = env->bound[v];
        sub.val[v] = env->val[v];
    }
    nv_rows rows = {cl->nvars, 0, 0, NULL, NULL, NULL, 0};
    dt_value *tmp = dt__calloc(cl->nvars ? cl->nvars : 1, sizeof *tmp);
    if (!tmp) rc = nomem();
    nv_collect k = {cl, &rows, cl->vars, cl->nvars, tmp};
    for (size_t b = 0; b < cl->nclauses && rc == DT_OK; b++) {
        const dq_clause *bl;
        size_t bn;
        branch_list(&cl->clauses[b], &bl, &bn);
        rc = solve_clauses(c, &sub, bl, bn, k_collect, &k);
    }
    dt__free(tmp);
    env_free(&sub);
    for (size_t r = 0; r < rows.n && rc == DT_OK; r++) {
        nv_orbind s = {cl, &rows, r, 0, L};
        rc = k_or_bind(c, env, &s);
    }
    rows_release(&rows);
    return rc;
}

static int k_stop(nv_ctx *c, nv_env *env, void *arg) {
    (void)c, (void)env, (void)arg;
    return NV_STOP;
}

static int eval_not(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L) {
    nv_env sub;
    int rc = env_new(env->sc, &sub);
    if (rc != DT_OK) return rc;
    for (size_t i = 0; i < cl->nvars; i++) {
        dq_var v = cl->vars[i];
        sub.bound[v] = env->bound[v];
        sub.val[v] = env->val[v];
    }
    c->in_not++;
    rc = solve_clauses(c, &sub, cl->clauses, cl->nclauses, k_stop, NULL);
    c->in_not--;
    env_free(&sub);
    if (rc == NV_STOP) return DT_OK; /* the body matched: the not fails */
    if (rc != DT_OK) return rc;
    return solve(c, env, L);
}

/* }====== */

/* {====== Rules ====== */

static uint64_t key_hash(int32_t rule, int32_t src, uint64_t mask, const dt_value *key,
                         size_t arity) {
    uint64_t h = mix(mix(mix(11, (uint64_t)rule), (uint64_t)src), mask);
    for (size_t i = 0; i < arity && i < 64; i++)
        if (mask & ((uint64_t)1 << i)) h = mix(h, dq_value_hash(&key[i]));
    return h;
}

static int key_eq(const nv_rtab *t, int32_t rule, int32_t src, uint64_t mask, const dt_value *key,
                  size_t arity) {
    if (t->rule != rule || t->src != src || t->mask != mask) return 0;
    for (size_t i = 0; i < arity && i < 64; i++)
        if ((mask & ((uint64_t)1 << i)) && !nv_eq(&t->key[i], &key[i])) return 0;
    return 1;
}

static int tabs_rehash(nv_ctx *c, size_t n) {
    uint32_t *s = dt__calloc(n, sizeof *s);
    if (!s) return nomem();
    for (size_t i = 0; i < c->ntabs; i++) {
        size_t j = c->tabs[i]->khash & (n - 1);
        while (s[j]) j = (j + 1) & (n - 1);
        s[j] = (uint32_t)(i + 1);
    }
    dt__free(c->tslots);
    c->tslots = s;
    c->ntslots = n;
    return DT_OK;
}

/* The table of (rule, src, mask, key), created (empty) when missing. */
static int get_table(nv_ctx *c, int32_t rule, int32_t src, uint64_t mask, const dt_value *key,
                     nv_rtab **out) {
    size_t arity = c->q->rules[rule].arity;
    uint64_t h = key_hash(rule, src, mask, key, arity);
    if (c->ntslots) {
        size_t j = h & (c->ntslots - 1);
        while (c->tslots[j]) {
            nv_rtab *t = c->tabs[c->tslots[j] - 1];
            if (t->khash == h && key_eq(t, rule, src, mask, key, arity)) {
                *out = t;
                return DT_OK;
            }
            j = (j + 1) & (c->ntslots - 1);
        }
    }
    if ((c->ntabs + 1) * 2 > c->ntslots) {
        int rc = tabs_rehash(c, c->ntslots ? c->ntslots * 2 : 16);
        if (rc != DT_OK) return rc;
    }
    if (c->ntabs == c->captabs) {
        size_t cap = c->captabs ? c->captabs * 2 : 8;
        nv_rtab **t = dt__realloc(c->tabs, cap * sizeof *t);
        if (!t) return nomem();
        c->tabs = t;
        c->captabs = cap;
    }
    nv_rtab *t = dt__calloc(1, sizeof *t);
    if (!t) return nomem();
    t->key = dq_arena_alloc(&c->x->arena, (arity ? arity : 1) * sizeof *t->key);
    if (!t->key) {
        dt__free(t);
        return nomem();
    }
    for (size_t i = 0; i < arity; i++) {
        dt_value_nil(&t->key[i]);
        if (i < 64 && (mask & ((uint64_t)1 << i)) &&
            dq_arena_copy_value(&c->x->arena, &key[i], &t->key[i]) != DT_OK) {
            dt__free(t);
            return nomem();
        }
    }
    t->id = c->ntabs;
    t->rule = rule;
    t->src = src;
    t->mask = mask;
    t->khash = h;
    t->rows.w = arity;
    c->tabs[c->ntabs] = t;
    size_t j = h & (c->ntslots - 1);
    while (c->tslots[j]) j = (j + 1) & (c->ntslots - 1);
    c->tslots[j] = (uint32_t)(c->ntabs + 1);
    c->ntabs++;
    c->changed = 1;
    *out = t;
    return DT_OK;
}

typedef struct nv_emit {
    nv_rtab *t;
    const dq_rule *rule;
    const dq_rule_body *body;
    dt_value *tmp;
} nv_emit;

static int k_rule_emit(nv_ctx *c, nv_env *env, void *arg) {
    nv_emit *k = arg;
    for (size_t i = 0; i < k->rule->arity; i++) {
        if (!env->bound[i]) {
            char form[200];
            dl_show(k->body->form, form, sizeof form);
            return dt__seterr(NULL, DT_INVALID,
                              "query: rule %s: insufficient bindings: %s is not bound by the body "
                              "%s",
                              k->rule->name, dq_var_name(&k->body->vars, (dq_var)i), form);
        }
        k->tmp[i] = env->val[i];
    }
    int added;
    int rc = rows_add(&c->x->arena, &k->t->rows, k->tmp, &added);
    if (rc == DT_NOMEM) return nomem();
    if (rc != DT_OK) return dt__seterr(NULL, rc, "query: rule %s: too many results", k->rule->name);
    if (added) c->changed = 1;
    return dq_exec_rows(c->x, k->t->rows.n);
}

/* One evaluation of every body of t's rule, adding answers to t. */
static int eval_table(nv_ctx *c, nv_rtab *t) {
    const dq_rule *rule = &c->q->rules[t->rule];
    dt_value *tmp = dt__calloc(rule->arity ? rule->arity : 1, sizeof *tmp);
    if (!tmp) return nomem();
    int rc = DT_OK;
    nv_rtab *outer = c->cur;
    c->cur = t;
    t->busy++;
    for (size_t b = 0; b < rule->nbodies && rc == DT_OK; b++) {
        const dq_rule_body *body = &rule->bodies[b];
        nv_scope sc = {&body->vars, t->src};
        nv_env env;
        if ((rc = env_new(&sc, &env)) != DT_OK) break;
        for (size_t i = 0; i < rule->arity && i < 64; i++)
            if (t->mask & ((uint64_t)1 << i)) {
                env.val[i] = t->key[i];
                env.bound[i] = 1;
            }
        nv_emit k = {t, rule, body, tmp};
        rc = solve_clauses(c, &env, body->clauses, body->nclauses, k_rule_emit, &k);
        env_free(&env);
    }
    t->busy--;
    c->cur = outer;
    dt__free(tmp);
    return rc;
}

/* Notes that the table being evaluated called t. */
static int add_dep(nv_ctx *c, nv_rtab *t) {
    nv_rtab *u = c->cur;
    if (!u || (u->ndeps && u->deps[u->ndeps - 1] == t->id)) return DT_OK;
    if (u->ndeps == u->capdeps) {
        size_t cap = u->capdeps ? u->capdeps * 2 : 4;
        size_t *d = dt__realloc(u->deps, cap * sizeof *d);
        if (!d) return nomem();
        u->deps = d;
        u->capdeps = cap;
    }
    u->deps[u->ndeps++] = t->id;
    return DT_OK;
}

/*
 * saturate_deps: for a not over the incomplete table t, evaluates t and
 * the incomplete tables it depends on (as far as known: the set grows as
 * their bodies call more) until a pass adds nothing, and marks them
 * complete.  A table in that set whose bodies are being evaluated means
 * negation through recursion: the rules are not stratified, an error.
 */
static int saturate_deps(nv_ctx *c, nv_rtab *t, const dq_clause *cl) {
    int rc = DT_OK;
    uint8_t *in = NULL;
    size_t *stack = NULL;
    int in_not = c->in_not;
    c->in_not = 0; /* the negated rule's own bodies are not negated */
    c->in_pass++;
    /* each round: the set as known now (checked for busy tables), then a
     * pass over it; stop after a pass that changed nothing, once the set
     * it leaves has been checked */
    size_t nin = 0;
    for (int first = 1;; first = 0) {
        size_t n = c->ntabs, sp = 0;
        nin = n;
        dt__free(in);
        dt__free(stack);
        in = dt__calloc(n, 1);
        stack = dt__malloc(n * sizeof *stack);
        if (!in || !stack) {
            rc = nomem();
            break;
        }
        stack[sp++] = t->id;
        in[t->id] = 1;
        while (sp) {
            nv_rtab *u = c->tabs[stack[--sp]];
            if (u->complete) continue;
            if (u->busy) {
                rc = cl_err(cl, DT_INVALID,
                            "rule %s is negated inside its own recursion (the rules are not "
                            "stratified)",
                            c->q->rules[u->rule].name);
                break;
            }
            for (size_t i = 0; i < u->ndeps; i++)
                if (!in[u->deps[i]]) {
                    in[u->deps[i]] = 1;
                    stack[sp++] = u->deps[i];
                }
        }
        if (rc != DT_OK || (!first && !c->changed)) break;
        c->changed = 0;
        for (size_t i = 0; i < n && rc == DT_OK; i++)
            if (in[i] && !c->tabs[i]->complete) rc = eval_table(c, c->tabs[i]);
        if (rc != DT_OK) break;
    }
    c->in_pass--;
    c->in_not = in_not;
    if (rc == DT_OK)
        for (size_t i = 0; i < nin && in; i++)
            if (in[i]) c->tabs[i]->complete = 1;
    dt__free(in);
    dt__free(stack);
    c->changed = 1;
    return rc;
}

/* Evaluates the incomplete tables from the from-th on in passes until a
 * pass adds nothing, then marks them complete. */
static int saturate_from(nv_ctx *c, size_t from) {
    if (c->in_pass) return dt__seterr(NULL, DT_INTERNAL, "query: nested saturation of rule tables");
    int rc = DT_OK, in_not = c->in_not;
    c->in_not = 0; /* a not around the call does not negate the rules' bodies */
    c->in_pass++;
    do {
        c->changed = 0;
        for (size_t i = from; i < c->ntabs && rc == DT_OK; i++)
            if (!c->tabs[i]->complete) rc = eval_table(c, c->tabs[i]);
    } while (rc == DT_OK && c->changed);
    c->in_pass--;
    c->in_not = in_not;
    if (rc == DT_OK)
        for (size_t i = from; i < c->ntabs; i++) c->tabs[i]->complete = 1;
    return rc;
}

static int saturate(nv_ctx *c) { return saturate_from(c, 0); }

typedef struct nv_rbind {
    const dq_clause *cl;
    const dt_value *row;
    size_t i;
    nv_list *L;
} nv_rbind;

static int k_rule_bind(nv_ctx *c, nv_env *env, void *arg) {
    nv_rbind *s = arg;
    for (; s->i < s->cl->nterms; s->i++) {
        const dq_term *t = &s->cl->terms[s->i];
        if (t->kind == DQ_TERM_VAR) {
            nv_rbind next = {s->cl, s->row, s->i + 1, s->L};
            return bind_and_go(c, env, t->id, &s->row[s->i], k_rule_bind, &next);
        }
        if (t->kind == DQ_TERM_CONST && !nv_eq(t->value, &s->row[s->i])) return DT_OK;
    }
    return solve(c, env, s->L);
}

static uint64_t masked_hash(const dt_value *row, size_t w, uint64_t mask) {
    uint64_t h = 3;
    for (size_t i = 0; i < w && i < 64; i++)
        if (mask & ((uint64_t)1 << i)) h = mix(h, dq_value_hash(&row[i]));
    return h;
}

/* Brings index ix of t up to date with t's rows. */
static int index_update(nv_rtab *t, nv_rindex *ix) {
    size_t n = t->rows.n;
    if (n > ix->capnext) {
        size_t cap = ix->capnext ? ix->capnext : 64;
        while (cap < n) cap *= 2;
        uint32_t *nx = dt__realloc(ix->next, cap * sizeof *nx);
        if (!nx) return nomem();
        ix->next = nx;
        ix->capnext = cap;
    }
    if (n * 2 > ix->nheads) {
        size_t nh = ix->nheads ? ix->nheads : 64;
        while (nh < n * 2) nh *= 2;
        uint32_t *h = dt__calloc(nh, sizeof *h);
        if (!h) return nomem();
        dt__free(ix->heads);
        ix->heads = h;
        ix->nheads = nh;
        ix->indexed = 0;
    }
    for (; ix->indexed < n; ix->indexed++) {
        size_t r = ix->indexed;
        size_t b =
            masked_hash(t->rows.cells + r * t->rows.w, t->rows.w, ix->mask) & (ix->nheads - 1);
        ix->next[r] = ix->heads[b];
        ix->heads[b] = (uint32_t)(r + 1);
    }
    return DT_OK;
}

/* The ids of t's rows equal to key at the `known` positions, into *ids. */
static int table_match(nv_rtab *t, uint64_t known, const dt_value *key, size_t **ids,
                       size_t *nids) {
    size_t n = t->rows.n, w = t->rows.w, cnt = 0;
    size_t *out = NULL;
    *ids = NULL;
    *nids = 0;
    if (known == t->mask || n == 0) { /* every row matches */
        out = dt__malloc((n ? n : 1) * sizeof *out);
        if (!out) return nomem();
        for (size_t r = 0; r < n; r++) out[r] = r;
        *ids = out;
        *nids = n;
        return DT_OK;
    }
    nv_rindex *ix = NULL;
    for (size_t i = 0; i < t->nidx; i++)
        if (t->idx[i].mask == known) ix = &t->idx[i];
    if (!ix) {
        nv_rindex *nx = dt__realloc(t->idx, (t->nidx + 1) * sizeof *nx);
        if (!nx) return nomem();
        t->idx = nx;
        ix = &t->idx[t->nidx++];
        memset(ix, 0, sizeof *ix);
        ix->mask = known;
    }
    int rc = index_update(t, ix);
    if (rc != DT_OK) return rc;
    size_t cap = 16;
    if (!(out = dt__malloc(cap * sizeof *out))) return nomem();
    uint32_t id = ix->heads[masked_hash(key, w, known) & (ix->nheads - 1)];
    for (; id; id = ix->next[id - 1]) {
        size_t r = id - 1;
        const dt_value *row = t->rows.cells + r * w;
        int ok = 1;
        for (size_t i = 0; i < w && i < 64 && ok; i++)
            if ((known & ((uint64_t)1 << i)) && !nv_eq(&row[i], &key[i])) ok = 0;
        if (!ok) continue;
        if (cnt == cap) {
            size_t *o2 = dt__realloc(out, cap * 2 * sizeof *o2);
            if (!o2) {
                dt__free(out);
                return nomem();
            }
            out = o2;
            cap *= 2;
        }
        out[cnt++] = r;
    }
    /* chains run newest first: give rows in table order */
    for (size_t i = 0; i < cnt / 2; i++) {
        size_t tmp = out[i];
        out[i] = out[cnt - 1 - i];
        out[cnt - 1 - i] = tmp;
    }
    *ids = out;
    *nids = cnt;
    return DT_OK;
}

static int eval_rule(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L) {
    int32_t src = clause_src(env, cl);
    dt_db *db;
    int rc = src_db(c, cl, src, &db);
    if (rc != DT_OK) return rc;
    const dq_rule *rule = &c->q->rules[cl->rule];
    if (rule->arity > 64) return cl_err(cl, DT_LIMIT, "rules take at most 64 arguments");
    uint64_t known = call_mask(cl, env->bound);
    dt_value *key = dt__calloc(rule->arity ? rule->arity : 1, sizeof *key);
    if (!key) return nomem();
    for (size_t i = 0; i < rule->arity; i++) {
        const dq_term *t = &cl->terms[i];
        if (t->kind == DQ_TERM_CONST)
            key[i] = *t->value;
        else if (t->kind == DQ_TERM_VAR && env->bound[t->id])
            key[i] = env->val[t->id];
    }
    uint64_t mask = c->free_ok[cl->rule] == 1 ? 0 : known;
    nv_rtab *t = NULL;
    rc = get_table(c, cl->rule, src, mask, key, &t);
    if (rc == DT_OK && !c->in_pass && !t->complete) rc = saturate(c);
    /* a not needs the whole table: saturate it (and the tables made
     * since) now; with stratified negation it does not depend on the
     * tables being evaluated around it */
    if (rc == DT_OK && c->in_pass) rc = add_dep(c, t);
    if (rc == DT_OK && c->in_pass && c->in_not && !t->complete) rc = saturate_deps(c, t, cl);
    /* the matching rows, noted first: the table may grow while we go */
    size_t *ids = NULL, nids = 0;
    if (rc == DT_OK) rc = table_match(t, known, key, &ids, &nids);
    dt__free(key);
    /* the row is copied: solving on may add rows to t and move its cells */
    dt_value *row = dt__malloc((rule->arity ? rule->arity : 1) * sizeof *row);
    if (!row && rc == DT_OK) rc = nomem();
    for (size_t i = 0; i < nids && rc == DT_OK; i++) {
        if ((rc = dq_exec_check(c->x)) != DT_OK) break;
        memcpy(row, t->rows.cells + ids[i] * t->rows.w, rule->arity * sizeof *row);
        nv_rbind s = {cl, row, 0, L};
        rc = k_rule_bind(c, env, &s);
    }
    dt__free(row);
    dt__free(ids);
    return rc;
}

/* }====== */

static int eval_clause(nv_ctx *c, nv_env *env, const dq_clause *cl, nv_list *L) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
        return eval_pattern(c, env, cl, L);
    case DQ_CL_PRED:
    case DQ_CL_FN:
        return eval_call(c, env, cl, L);
    case DQ_CL_RULE:
        return eval_rule(c, env, cl, L);
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN:
        return eval_or(c, env, cl, L);
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        return eval_not(c, env, cl, L);
    case DQ_CL_AND: {
        /* an and outside an or: its clauses join the list's */
        return solve_clauses(c, env, cl->clauses, cl->nclauses, k_solve, L);
    }
    }
    return cl_err(cl, DT_INTERNAL, "unknown clause kind");
}

/* {====== The query ====== */

typedef struct nv_top {
    dq_table *out;
    dt_value *row;
    size_t in; /* the next :in input to bind */
} nv_top;

static int k_emit(nv_ctx *c, nv_env *env, void *arg) {
    nv_top *t = arg;
    for (size_t i = 0; i < t->out->ncols; i++) {
        dq_var v = t->out->cols[i];
        if (!env->bound[v])
            return dt__seterr(NULL, DT_INVALID, "query: %s is not bound by any clause",
                              dq_var_name(env->sc->vars, v));
        t->row[i] = env->val[v];
    }
    int rc = dq_table_add_row(t->out, t->row);
    if (rc != DT_OK) return nomem();
    return dq_exec_rows(c->x, t->out->nrows);
}

static int k_inputs(nv_ctx *c, nv_env *env, void *arg);

typedef struct nv_inrow {
    nv_top *top;
    const dq_table *tab;
    size_t row, col;
} nv_inrow;

static int k_inrow(nv_ctx *c, nv_env *env, void *arg) {
    nv_inrow *s = arg;
    if (s->col == s->tab->ncols) {
        nv_top next = *s->top;
        next.in++;
        return k_inputs(c, env, &next);
    }
    nv_inrow next = *s;
    next.col++;
    return bind_and_go(c, env, s->tab->cols[s->col],
                       &s->tab->cells[s->row * s->tab->ncols + s->col], k_inrow, &next);
}

/* Binds the :in tables one after the other, then solves :where. */
static int k_inputs(nv_ctx *c, nv_env *env, void *arg) {
    nv_top *t = arg;
    const dq_query *q = c->q;
    while (t->in < q->nin && (q->in[t->in].kind != DQ_IN_BINDING || !c->x->in)) t->in++;
    if (t->in == q->nin) return solve_clauses(c, env, q->where, q->nwhere, k_emit, t);
    const dq_table *tab = &c->x->in[t->in];
    for (size_t r = 0; r < tab->nrows; r++) {
        int rc = dq_exec_check(c->x);
        if (rc != DT_OK) return rc;
        nv_inrow s = {t, tab, r, 0};
        if ((rc = k_inrow(c, env, &s)) != DT_OK) return rc;
    }
    return DT_OK;
}

int dq_eval_naive(dq_exec *x, dq_table *out) {
    dq_var *cols = NULL;
    size_t ncols = 0;
    memset(out, 0, sizeof *out);
    int rc = dq_find_columns(x->q, &cols, &ncols);
    if (rc != DT_OK) return rc;
    rc = dq_table_init(out, cols, ncols);
    dt__free(cols);
    if (rc != DT_OK) return nomem();
    nv_ctx c;
    memset(&c, 0, sizeof c);
    c.x = x;
    c.q = x->q;
    c.enc = (dt_buf)DT_BUF_INIT;
    nv_scope sc = {&x->q->vars, x->q->default_src};
    nv_env env = {0};
    dt_value *row = dt__calloc(ncols ? ncols : 1, sizeof *row);
    if (!row) rc = nomem();
    if (rc == DT_OK) rc = compute_free(&c);
    if (rc == DT_OK) rc = env_new(&sc, &env);
    if (rc == DT_OK) {
        nv_top top = {out, row, 0};
        rc = k_inputs(&c, &env, &top);
        env_free(&env);
    }
    dt__free(row);
    for (size_t i = 0; i < c.ntabs; i++) {
        for (size_t k = 0; k < c.tabs[i]->nidx; k++) {
            dt__free(c.tabs[i]->idx[k].heads);
            dt__free(c.tabs[i]->idx[k].next);
        }
        dt__free(c.tabs[i]->idx);
        dt__free(c.tabs[i]->deps);
        rows_release(&c.tabs[i]->rows);
        dt__free(c.tabs[i]);
    }
    dt__free(c.tabs);
    dt__free(c.tslots);
    dt__free(c.free_ok);
    dt_buf_release(&c.enc);
    if (rc == NV_STOP) rc = DT_OK;
    if (rc != DT_OK) dq_table_release(out);
    return rc;
}

/* }====== */
