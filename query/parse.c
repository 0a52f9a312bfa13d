/*
 * parse.c -- the query parser (query layer): EDN query and rules to the
 * syntax tree of parse.h, then the checks Datomic makes before running a
 * query (bound variables, or/not variable rules, rule heads, arities).
 * Every walk of the input is bounded: the EDN is at most DQ_MAX_DEPTH deep
 * and each recursion here descends one level of it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edn.h"
#include "parse.h"

/* {====== Storage ====== */

/* A bump allocator: the tree is freed in one go with its query. */
typedef struct ablk {
    struct ablk *next;
    size_t used, cap;
    max_align_t data[];
} ablk;

struct dq_private {
    ablk *blocks;
    dt_value qv, rv; /* the query and rules EDN the tree points into */
};

static void *arena_alloc(ablk **head, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    ablk *b = *head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4096 ? n : 4096;
        b = dt__malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = *head;
        b->used = 0;
        b->cap = cap;
        *head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_free(ablk *b) {
    while (b) {
        ablk *next = b->next;
        dt__free(b);
        b = next;
    }
}

static void vars_release(dq_vars *v) {
    dt__free(v->names);
    v->names = NULL;
    v->n = v->cap = 0;
}

void dq_query_free(dq_query *q) {
    if (!q) return;
    vars_release(&q->vars);
    for (size_t i = 0; i < q->nrules; i++)
        if (q->rules[i].bodies)
            for (size_t j = 0; j < q->rules[i].nbodies; j++)
                vars_release(&q->rules[i].bodies[j].vars);
    dt__free(q->srcs);
    dt__free(q->ufns);
    if (q->priv) {
        arena_free(q->priv->blocks);
        dt_value_free(&q->priv->qv);
        dt_value_free(&q->priv->rv);
        dt__free(q->priv);
    }
    dt__free(q);
}

/* }====== */

/* {====== Parse context and errors ====== */

/* Where a value of the input sits: which text (0 query, 1 rules), offset. */
typedef struct posent {
    const dt_value *v;
    size_t off;
    int which;
} posent;

#define DSRC_UNDECLARED (-3) /* the default source $ is not in :in */

typedef struct pctx {
    dq_query *q;
    const char *text[2];
    size_t len[2];
    posent *pos;
    size_t npos;
    ablk *scratch;    /* variable sets while checking; freed after the parse */
    dq_vars *vars;    /* the variable table of the scope being parsed */
    int32_t dsrc;     /* the default source where we are */
    int in_rules;     /* parsing a rule body */
    int has_rules_in; /* :in has % */
    int rules_given;
    const dt_value *with_key; /* the :with keyword, for messages */
    dq_errpos *errpos;
} pctx;

static int cmp_posent(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const posent *)a)->v, y = (uintptr_t)((const posent *)b)->v;
    return x < y ? -1 : x > y;
}

static const posent *pos_of(const pctx *c, const dt_value *v) {
    if (!v || !c->npos) return NULL;
    posent key = {v, 0, 0};
    return bsearch(&key, c->pos, c->npos, sizeof key, cmp_posent);
}

/* The line/column of form v (0/0 when unknown); *which = text. */
static void line_col_of(const pctx *c, const dt_value *v, int *line, int *col, size_t *off,
                        int *which) {
    const posent *p = pos_of(c, v);
    *line = *col = 0;
    *off = 0;
    *which = 0;
    if (!p) return;
    dl_edn_line_col(c->text[p->which], c->len[p->which], p->off, line, col);
    *off = p->off;
    *which = p->which;
}

/* The EDN of a form for messages, cut at 100 characters. */
static void show(const dt_value *v, char out[128]) {
    dt_buf b = DT_BUF_INIT;
    if (!v || dl_edn_write_buf(v, DT_EDN_COMPACT, &b) != DT_OK || !b.p) {
        snprintf(out, 128, "?");
    } else if (b.len > 100) {
        snprintf(out, 128, "%.100s...", (const char *)b.p);
    } else {
        snprintf(out, 128, "%.*s", (int)b.len, (const char *)b.p);
    }
    dt_buf_release(&b);
}

/*
 * Records a parse error about `form` (may be NULL): "query: <what> in
 * <form> at L:C" (the position only when the query came as text), and
 * the position in c->errpos.  Returns rc.
 */
static int perr(pctx *c, int rc, const dt_value *form, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int perr(pctx *c, int rc, const dt_value *form, const char *fmt, ...) {
    char msg[256], shown[128], where[64] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, col, which;
    size_t off;
    line_col_of(c, form, &line, &col, &off, &which);
    if (line) snprintf(where, sizeof where, " at %d:%d%s", line, col, which ? " of the rules" : "");
    if (c->errpos) {
        c->errpos->line = line;
        c->errpos->col = col;
        c->errpos->offset = off;
        c->errpos->in_rules = which;
    }
    if (!form) return dt__seterr(NULL, rc, "query: %s%s", msg, where);
    show(form, shown);
    return dt__seterr(NULL, rc, "query: %s in %s%s", msg, shown, where);
}

static int nomem(pctx *c) { return perr(c, DT_NOMEM, NULL, "out of memory"); }

/* Zeroed array of n T from the query's storage (NULL: out of memory). */
static void *anew(pctx *c, size_t n, size_t size) {
    if (n && size > SIZE_MAX / n) return NULL;
    return arena_alloc(&c->q->priv->blocks, n * size);
}
#define ANEW(c, T, n) ((T *)anew((c), (n), sizeof(T)))

/* }====== */

/* {====== Symbols, variables, sources ====== */

static int is_sym(const dt_value *v) { return v && v->type == DT_SYMBOL && v->u.s.len > 0; }
static int sym_eq(const dt_value *v, const char *s) {
    return is_sym(v) && v->u.s.len == strlen(s) && memcmp(v->u.s.ptr, s, v->u.s.len) == 0;
}
static int is_var(const dt_value *v) { return is_sym(v) && v->u.s.ptr[0] == '?'; }
static int is_src(const dt_value *v) { return is_sym(v) && v->u.s.ptr[0] == '$'; }
static int is_blank(const dt_value *v) { return sym_eq(v, "_"); }
static int is_seq(const dt_value *v) { return v->type == DT_VECTOR || v->type == DT_LIST; }

static int names_eq(const char *a, const dt_value *sym) {
    return strlen(a) == sym->u.s.len && memcmp(a, sym->u.s.ptr, sym->u.s.len) == 0;
}

static dq_var find_var(const dq_vars *vs, const dt_value *sym) {
    for (size_t i = 0; i < vs->n; i++)
        if (names_eq(vs->names[i], sym)) return (dq_var)i;
    return DQ_NOVAR;
}

/* The id of variable `sym` in `vs`, adding it when new. */
static int intern_var(pctx *c, dq_vars *vs, const dt_value *sym, dq_var *out) {
    dq_var v = find_var(vs, sym);
    if (v != DQ_NOVAR) {
        *out = v;
        return DT_OK;
    }
    if (vs->n >= INT32_MAX) return perr(c, DT_LIMIT, sym, "too many variables");
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 16;
        const char **nn = dt__realloc(vs->names, cap * sizeof *nn);
        if (!nn) return nomem(c);
        vs->names = nn;
        vs->cap = cap;
    }
    vs->names[vs->n] = sym->u.s.ptr;
    *out = (dq_var)vs->n++;
    return DT_OK;
}

static int32_t find_src(const dq_query *q, const dt_value *sym) {
    for (size_t i = 0; i < q->nsrcs; i++)
        if (names_eq(q->srcs[i], sym)) return (int32_t)i;
    return -1;
}

/* The source an explicit $name refers to where we are. */
static int resolve_src(pctx *c, const dt_value *sym, const dt_value *form, int32_t *out) {
    if (c->in_rules && sym_eq(sym, "$")) {
        *out = DQ_SRC_CALLER;
        return DT_OK;
    }
    int32_t s = find_src(c->q, sym);
    if (s < 0) return perr(c, DT_INVALID, form, "source %s is not declared in :in", sym->u.s.ptr);
    *out = s;
    return DT_OK;
}

/* The default source for a clause that names none. */
static int default_src(pctx *c, const dt_value *form, int32_t *out) {
    if (c->dsrc == DSRC_UNDECLARED)
        return perr(c, DT_INVALID, form,
                    "the clause reads the default source $, which :in does "
                    "not declare");
    *out = c->dsrc;
    return DT_OK;
}

/* Sets the clause's position from its form. */
static void set_pos(pctx *c, dq_clause *cl, const dt_value *form) {
    size_t off;
    cl->form = form;
    line_col_of(c, form, &cl->line, &cl->col, &off, &cl->in_rules);
}

/* }====== */

/* {====== Terms and bindings ====== */

enum { T_SRC = 1, T_BLANK = 2 };

/* One pattern position or call argument; `allow` is T_SRC|T_BLANK. */
static int parse_term(pctx *c, const dt_value *v, int allow, const dt_value *form, dq_term *t) {
    t->value = v;
    t->id = -1;
    if (v->type != DT_SYMBOL) {
        t->kind = DQ_TERM_CONST;
        return DT_OK;
    }
    if (is_var(v)) {
        t->kind = DQ_TERM_VAR;
        return intern_var(c, c->vars, v, &t->id);
    }
    if (is_blank(v)) {
        if (!(allow & T_BLANK))
            return perr(c, DT_INVALID, form, "_ is not allowed as a function argument");
        t->kind = DQ_TERM_BLANK;
        return DT_OK;
    }
    if (is_src(v)) {
        if (!(allow & T_SRC))
            return perr(c, DT_INVALID, form, "source %s is not allowed here", v->u.s.ptr);
        t->kind = DQ_TERM_SRC;
        return resolve_src(c, v, form, &t->id);
    }
    char shown[128];
    show(v, shown);
    return perr(c, DT_INVALID, form,
                "unexpected symbol %s (variables start with ?, sources with $; quote nothing)",
                shown);
}

/* A binding form: ?x, _, [?a ?b], [?x ...], [[?a ?b]] (nested as Datomic allows). */
static int parse_binding(pctx *c, const dt_value *v, dq_binding *b) {
    b->var = DQ_NOVAR;
    if (is_var(v)) {
        b->kind = DQ_BIND_VAR;
        return intern_var(c, c->vars, v, &b->var);
    }
    if (is_blank(v)) {
        b->kind = DQ_BIND_BLANK;
        return DT_OK;
    }
    if (v->type != DT_VECTOR)
        return perr(c, DT_INVALID, v, "expected a binding: ?x, [?a ?b], [?x ...] or [[?a ?b]]");
    size_t n = v->u.seq.n;
    const dt_value *it = v->u.seq.items;
    if (n == 0) return perr(c, DT_INVALID, v, "empty binding");
    const dt_value *elems = it;
    if (n == 2 && sym_eq(&it[1], "...")) {
        b->kind = DQ_BIND_COLL;
        n = 1;
        if (is_blank(&it[0]))
            return perr(c, DT_INVALID, v, "a collection binding needs a variable");
    } else if (n == 1 && it[0].type == DT_VECTOR) {
        b->kind = DQ_BIND_REL;
        elems = it[0].u.seq.items;
        n = it[0].u.seq.n;
        if (n == 0) return perr(c, DT_INVALID, v, "empty relation binding");
    } else {
        b->kind = DQ_BIND_TUPLE;
    }
    b->n = n;
    if (!(b->items = ANEW(c, dq_binding, n))) return nomem(c);
    for (size_t i = 0; i < n; i++) {
        if (sym_eq(&elems[i], "..."))
            return perr(c, DT_INVALID, v, "'...' only ends a collection binding [?x ...]");
        int rc = parse_binding(c, &elems[i], &b->items[i]);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/* Rule or join variables: [?a ?b] or, with required ones, [[?a] ?b]. */
static int parse_rule_vars(pctx *c, const dt_value *items, size_t n, int allow_req,
                           const dt_value *form, dq_var **vars, size_t *nvars, size_t *nreq) {
    *nreq = 0;
    size_t total = n, start = 0;
    const dt_value *req = NULL;
    if (n && items[0].type == DT_VECTOR) {
        if (!allow_req)
            return perr(c, DT_INVALID, form, "required variables [[?a] ...] are not allowed here");
        req = &items[0];
        if (req->u.seq.n == 0) return perr(c, DT_INVALID, form, "empty required-variable list");
        total = n - 1 + req->u.seq.n;
        start = 1;
    }
    if (total == 0) return perr(c, DT_INVALID, form, "needs at least one variable");
    dq_var *vs = ANEW(c, dq_var, total);
    if (!vs) return nomem(c);
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++) {
        const dt_value *src = pass == 0 ? (req ? req->u.seq.items : NULL) : items + start;
        size_t m = pass == 0 ? (req ? req->u.seq.n : 0) : n - start;
        for (size_t i = 0; i < m; i++) {
            if (!is_var(&src[i])) {
                char shown[128];
                show(&src[i], shown);
                return perr(c, DT_INVALID, form, "expected a variable, got %s", shown);
            }
            dq_var id;
            int rc = intern_var(c, c->vars, &src[i], &id);
            if (rc != DT_OK) return rc;
            for (size_t j = 0; j < k; j++)
                if (vs[j] == id)
                    return perr(c, DT_INVALID, form, "variable %s is listed twice", src[i].u.s.ptr);
            vs[k++] = id;
        }
        if (pass == 0) *nreq = k;
    }
    *vars = vs;
    *nvars = k;
    return DT_OK;
}

/* }====== */

/* {====== Variable sets ====== */

/* A set of variable ids of the current scope: one byte per variable. */
static uint8_t *set_new(pctx *c) {
    size_t n = c->vars->n ? c->vars->n : 1;
    return arena_alloc(&c->scratch, n);
}

static void terms_into(const dq_term *t, size_t n, uint8_t *set) {
    for (size_t i = 0; i < n; i++)
        if (t[i].kind == DQ_TERM_VAR) set[t[i].id] = 1;
}

static void binding_into(const dq_binding *b, uint8_t *set) {
    if (b->kind == DQ_BIND_VAR) set[b->var] = 1;
    for (size_t i = 0; i < b->n; i++) binding_into(&b->items[i], set);
}

/* The variables a clause shares with its surroundings. */
static void ext_vars(const dq_clause *cl, uint8_t *set) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
    case DQ_CL_PRED:
    case DQ_CL_RULE:
        terms_into(cl->terms, cl->nterms, set);
        break;
    case DQ_CL_FN:
        terms_into(cl->terms, cl->nterms, set);
        binding_into(&cl->bind, set);
        break;
    case DQ_CL_AND:
    case DQ_CL_NOT:
        for (size_t i = 0; i < cl->nclauses; i++) ext_vars(&cl->clauses[i], set);
        break;
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN:
    case DQ_CL_NOT_JOIN:
        for (size_t i = 0; i < cl->nvars; i++) set[cl->vars[i]] = 1;
        break;
    }
}

/* "#{?a ?b}" of a set, for messages. */
static void set_show(const pctx *c, const uint8_t *set, size_t n, char *out, size_t cap) {
    size_t k = 0;
    k += (size_t)snprintf(out + k, cap - k, "#{");
    int first = 1;
    for (size_t i = 0; i < n && k < cap; i++)
        if (set[i]) {
            k += (size_t)snprintf(out + k, cap - k, "%s%s", first ? "" : " ", c->vars->names[i]);
            first = 0;
        }
    if (k < cap) snprintf(out + k, cap - k, "}");
}

/*
 * The variables a clause binds (gives values to) whatever binds the
 * others: patterns, function results, rule arguments outside the required
 * ones, the variables every branch of an or binds.  Predicates and not
 * bind nothing.
 */
static int binds_into(pctx *c, const dq_clause *cl, uint8_t *set) {
    size_t nv = c->vars->n;
    switch (cl->kind) {
    case DQ_CL_PATTERN:
        terms_into(cl->terms, cl->nterms, set);
        break;
    case DQ_CL_PRED:
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN:
        break;
    case DQ_CL_FN:
        binding_into(&cl->bind, set);
        break;
    case DQ_CL_RULE: {
        size_t nreq = c->q->rules[cl->rule].nreq;
        for (size_t i = nreq; i < cl->nterms; i++)
            if (cl->terms[i].kind == DQ_TERM_VAR) set[cl->terms[i].id] = 1;
        break;
    }
    case DQ_CL_AND:
        for (size_t i = 0; i < cl->nclauses; i++) {
            int rc = binds_into(c, &cl->clauses[i], set);
            if (rc != DT_OK) return rc;
        }
        break;
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN: {
        uint8_t *all = set_new(c), *one = set_new(c);
        if (!all || !one) return nomem(c);
        for (size_t i = 0; i < cl->nvars; i++) all[cl->vars[i]] = 1;
        for (size_t b = 0; b < cl->nclauses; b++) {
            memset(one, 0, nv);
            int rc = binds_into(c, &cl->clauses[b], one);
            if (rc != DT_OK) return rc;
            for (size_t i = 0; i < nv; i++) all[i] &= one[i];
        }
        for (size_t i = 0; i < nv; i++) set[i] |= all[i];
        break;
    }
    }
    return DT_OK;
}

/* }====== */

/* {====== Clauses ====== */

static int parse_clause(pctx *c, const dt_value *form, int branch, dq_clause *cl);

static int check_entity_const(pctx *c, const dt_value *v, const dt_value *form, const char *pos) {
    if (v->type == DT_LONG || v->type == DT_REF || v->type == DT_KEYWORD) return DT_OK;
    if (v->type == DT_VECTOR && v->u.seq.n == 2 &&
        (v->u.seq.items[0].type == DT_KEYWORD || v->u.seq.items[0].type == DT_LONG))
        return DT_OK;
    char shown[128];
    show(v, shown);
    return perr(c, DT_INVALID, form,
                "the %s position takes a variable, _, an entity id, an ident or a lookup ref "
                "[:attr value], got %s",
                pos, shown);
}

/* [$? e a v tx added] */
static int parse_pattern(pctx *c, const dt_value *form, dq_clause *cl) {
    const dt_value *it = form->u.seq.items;
    size_t n = form->u.seq.n, i = 0;
    int rc;
    cl->kind = DQ_CL_PATTERN;
    if (is_src(&it[0])) {
        if ((rc = resolve_src(c, &it[0], form, &cl->src)) != DT_OK) return rc;
        cl->explicit_src = 1;
        i = 1;
    } else if ((rc = default_src(c, form, &cl->src)) != DT_OK)
        return rc;
    size_t m = n - i;
    if (m == 0) return perr(c, DT_INVALID, form, "a data pattern needs at least an entity");
    if (m > DQ_MAX_PATTERN)
        return perr(c, DT_INVALID, form,
                    "a data pattern has at most 5 positions (e a v tx added), got %zu", m);
    cl->nterms = m;
    if (!(cl->terms = ANEW(c, dq_term, m))) return nomem(c);
    for (size_t k = 0; k < m; k++) {
        const dt_value *v = &it[i + k];
        if ((rc = parse_term(c, v, T_BLANK, form, &cl->terms[k])) != DT_OK) return rc;
        if (cl->terms[k].kind != DQ_TERM_CONST) continue;
        char shown[128];
        switch (k) {
        case 0:
            rc = check_entity_const(c, v, form, "entity");
            break;
        case 1:
            if (v->type != DT_KEYWORD && v->type != DT_LONG && v->type != DT_REF) {
                show(v, shown);
                rc = perr(c, DT_INVALID, form,
                          "the attribute position takes a variable, _, a keyword or an "
                          "attribute id, got %s",
                          shown);
            }
            break;
        case 2:
            if (v->type == DT_NIL)
                rc = perr(c, DT_INVALID, form,
                          "nil cannot be matched in a data pattern (use missing?)");
            break;
        case 3:
            rc = check_entity_const(c, v, form, "tx");
            break;
        case 4:
            if (v->type != DT_BOOL) {
                show(v, shown);
                rc = perr(c, DT_INVALID, form,
                          "the added position takes a variable, _, true or false, got %s", shown);
            }
            break;
        }
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

int dq_is_user_fn_name(const char *name, size_t len) {
    const char *slash = memchr(name, '/', len);
    if (!slash || slash == name || slash == name + len - 1) return 0;
    size_t ns = (size_t)(slash - name);
    if (ns == 7 && !memcmp(name, "clojure", 7)) return 0;
    if (ns >= 8 && !memcmp(name, "clojure.", 8)) return 0;
    return 1;
}

/* Records that cl calls the host function `name` (one entry per name). */
static int add_ufn(pctx *c, const dt_value *name, dq_clause *cl) {
    dq_query *q = c->q;
    cl->fn = DQ_FN_USER;
    for (size_t i = 0; i < q->nufns; i++)
        if (q->ufns[i].len == name->u.s.len &&
            !memcmp(q->ufns[i].name, name->u.s.ptr, name->u.s.len)) {
            cl->ufn = (int32_t)i;
            return DT_OK;
        }
    dq_ufn *t = dt__realloc(q->ufns, (q->nufns + 1) * sizeof *t);
    if (!t) return nomem(c);
    q->ufns = t;
    t[q->nufns] = (dq_ufn){name->u.s.ptr, name->u.s.len, cl};
    cl->ufn = (int32_t)q->nufns++;
    return DT_OK;
}

/* [(f args...)] and [(f args...) binding] */
static int parse_call(pctx *c, const dt_value *form, dq_clause *cl) {
    const dt_value *call = &form->u.seq.items[0];
    size_t m = call->u.seq.n;
    int rc;
    cl->kind = form->u.seq.n == 1 ? DQ_CL_PRED : DQ_CL_FN;
    cl->src = DQ_SRC_NONE;
    if (m == 0) return perr(c, DT_INVALID, form, "empty function call ()");
    const dt_value *name = &call->u.seq.items[0];
    if (!is_sym(name) || is_var(name) || is_src(name)) {
        char shown[128];
        show(name, shown);
        return perr(c, DT_INVALID, form, "a function call starts with a function name, got %s",
                    shown);
    }
    const dq_builtin *b = dq_builtin_find(name->u.s.ptr, name->u.s.len);
    size_t nargs = m - 1;
    if (!b) {
        if (!dq_is_user_fn_name(name->u.s.ptr, name->u.s.len))
            return perr(c, DT_INVALID, form, "unknown function %s", name->u.s.ptr);
        if ((rc = add_ufn(c, name, cl)) != DT_OK) return rc;
    } else {
        cl->fn = b->id;
        cl->ufn = -1;
    }
    if (b && ((int)nargs < b->min_args || (b->max_args >= 0 && (int)nargs > b->max_args) ||
              (b->even_args && nargs % 2))) {
        char want[64];
        if (b->even_args)
            snprintf(want, sizeof want, "an even number of arguments");
        else if (b->max_args == b->min_args)
            snprintf(want, sizeof want, "%d argument%s", b->min_args, b->min_args == 1 ? "" : "s");
        else if (b->max_args < 0)
            snprintf(want, sizeof want, "at least %d argument%s", b->min_args,
                     b->min_args == 1 ? "" : "s");
        else
            snprintf(want, sizeof want, "%d to %d arguments", b->min_args, b->max_args);
        return perr(c, DT_INVALID, form, "%s takes %s, got %zu", b->name, want, nargs);
    }
    cl->nterms = nargs;
    if (!(cl->terms = ANEW(c, dq_term, nargs ? nargs : 1))) return nomem(c);
    for (size_t i = 0; i < nargs; i++) {
        const dt_value *arg = &call->u.seq.items[i + 1];
        if (i == 0 && b && (b->id == DQ_FN_TX_IDS || b->id == DQ_FN_TX_DATA) && !c->in_rules &&
            is_var(arg) && find_src(c->q, arg) >= 0) {
            /* (tx-ids ?log ...) with ?log a database of :in */
            cl->terms[0].value = arg;
            cl->terms[0].kind = DQ_TERM_SRC;
            cl->terms[0].id = find_src(c->q, arg);
            continue;
        }
        if ((rc = parse_term(c, arg, T_SRC, form, &cl->terms[i])) != DT_OK) return rc;
        if (cl->terms[i].kind == DQ_TERM_SRC && (!b || b->kind != DQ_FNK_SOURCE || i > 0))
            return perr(c, DT_INVALID, form,
                        "a source can only be the first argument of get-else, get-some, "
                        "missing?, tx-ids or tx-data");
    }
    if (b && b->kind == DQ_FNK_SOURCE && cl->terms[0].kind != DQ_TERM_SRC)
        return perr(c, DT_INVALID, form, "%s takes a source ($) as its first argument", b->name);
    if (cl->kind == DQ_CL_FN) {
        const dt_value *bf = &form->u.seq.items[1];
        if (is_blank(bf))
            return perr(c, DT_INVALID, form, "the result of a function needs a binding, not _");
        if ((rc = parse_binding(c, bf, &cl->bind)) != DT_OK) return rc;
    }
    return DT_OK;
}

static const dq_rule *find_rule(const dq_query *q, const dt_value *name, int32_t *idx) {
    for (size_t i = 0; i < q->nrules; i++)
        if (names_eq(q->rules[i].name, name)) {
            *idx = (int32_t)i;
            return &q->rules[i];
        }
    return NULL;
}

/* (rule args...) after an optional source */
static int parse_rule_call(pctx *c, const dt_value *form, size_t i, dq_clause *cl) {
    const dt_value *it = form->u.seq.items, *name = &it[i];
    size_t nargs = form->u.seq.n - i - 1;
    int rc;
    cl->kind = DQ_CL_RULE;
    const dq_rule *r = find_rule(c->q, name, &cl->rule);
    if (!r)
        return perr(c, DT_INVALID, form, "unknown rule %s%s", name->u.s.ptr,
                    !c->has_rules_in  ? " (:in has no %)"
                    : !c->rules_given ? " (no rules were given for %)"
                                      : "");
    if (nargs != r->arity)
        return perr(c, DT_INVALID, form, "rule %s takes %zu argument%s, got %zu", r->name, r->arity,
                    r->arity == 1 ? "" : "s", nargs);
    if (!cl->explicit_src && (rc = default_src(c, form, &cl->src)) != DT_OK) return rc;
    cl->nterms = nargs;
    if (!(cl->terms = ANEW(c, dq_term, nargs))) return nomem(c);
    for (size_t k = 0; k < nargs; k++)
        if ((rc = parse_term(c, &it[i + 1 + k], T_BLANK, form, &cl->terms[k])) != DT_OK) return rc;
    return DT_OK;
}

/* The clauses items[0..n) of and/not/not-join bodies and or branches. */
static int parse_clauses(pctx *c, const dt_value *items, size_t n, int branch, dq_clause **out) {
    dq_clause *cls = ANEW(c, dq_clause, n);
    if (!cls) return nomem(c);
    for (size_t i = 0; i < n; i++) {
        int rc = parse_clause(c, &items[i], branch, &cls[i]);
        if (rc != DT_OK) return rc;
    }
    *out = cls;
    return DT_OK;
}

/* (or ...), (or-join [vars] ...), (not ...), (not-join [vars] ...), (and ...) */
static int parse_compound(pctx *c, const dt_value *form, size_t i, const char *op, int branch,
                          dq_clause *cl) {
    const dt_value *it = form->u.seq.items;
    size_t n = form->u.seq.n;
    int is_or = !strcmp(op, "or"), is_or_join = !strcmp(op, "or-join");
    int is_not = !strcmp(op, "not"), is_not_join = !strcmp(op, "not-join");
    int join = is_or_join || is_not_join;
    int rc;
    if (!strcmp(op, "and")) {
        if (!branch) return perr(c, DT_INVALID, form, "and is only allowed as a branch of or");
        if (cl->explicit_src) return perr(c, DT_INVALID, form, "and takes no source");
        cl->kind = DQ_CL_AND;
    } else
        cl->kind = is_or        ? DQ_CL_OR
                   : is_or_join ? DQ_CL_OR_JOIN
                   : is_not     ? DQ_CL_NOT
                                : DQ_CL_NOT_JOIN;
    size_t body = i + 1;
    if (join) {
        if (body >= n || it[body].type != DT_VECTOR)
            return perr(c, DT_INVALID, form, "%s needs a vector of variables after it", op);
        if ((rc = parse_rule_vars(c, it[body].u.seq.items, it[body].u.seq.n, is_or_join, form,
                                  &cl->vars, &cl->nvars, &cl->nreq)) != DT_OK)
            return rc;
        body++;
    }
    if (body >= n) return perr(c, DT_INVALID, form, "%s needs at least one clause", op);
    /* a source written on or/not is the default of the clauses inside */
    int32_t saved = c->dsrc;
    if (cl->explicit_src) c->dsrc = cl->src;
    rc = parse_clauses(c, &it[body], n - body, is_or || is_or_join, &cl->clauses);
    c->dsrc = saved;
    if (rc != DT_OK) return rc;
    cl->nclauses = n - body;
    if (!cl->explicit_src) cl->src = DQ_SRC_NONE;

    size_t nv = c->vars->n;
    if (is_or) {
        /* Datomic: every branch uses the same variables */
        uint8_t *first = set_new(c), *other = set_new(c);
        if (!first || !other) return nomem(c);
        ext_vars(&cl->clauses[0], first);
        for (size_t b = 1; b < cl->nclauses; b++) {
            memset(other, 0, nv);
            ext_vars(&cl->clauses[b], other);
            if (memcmp(first, other, nv) != 0) {
                char s1[160], s2[160];
                set_show(c, first, nv, s1, sizeof s1);
                set_show(c, other, nv, s2, sizeof s2);
                return perr(c, DT_INVALID, form,
                            "all branches of or must use the same variables, had %s and %s", s1,
                            s2);
            }
        }
        size_t k = 0;
        for (size_t v = 0; v < nv; v++) k += first[v];
        if (!(cl->vars = ANEW(c, dq_var, k ? k : 1))) return nomem(c);
        for (size_t v = 0; v < nv; v++)
            if (first[v]) cl->vars[cl->nvars++] = (dq_var)v;
    } else if (join) {
        /* each join variable is used inside */
        uint8_t *used = set_new(c);
        if (!used) return nomem(c);
        for (size_t b = 0; b < cl->nclauses; b++) ext_vars(&cl->clauses[b], used);
        for (size_t k = 0; k < cl->nvars; k++)
            if (!used[cl->vars[k]])
                return perr(c, DT_INVALID, form, "%s variable %s is not used in its clauses", op,
                            c->vars->names[cl->vars[k]]);
    }
    return DT_OK;
}

/*
 * One clause.  `branch`: the clause is a branch of or/or-join, where
 * (and ...) is allowed.
 */
static int parse_clause(pctx *c, const dt_value *form, int branch, dq_clause *cl) {
    set_pos(c, cl, form);
    cl->src = DQ_SRC_NONE;
    cl->rule = -1;
    const dt_value *it = form->u.seq.items;
    size_t n = form->u.seq.n;
    if (form->type == DT_VECTOR) {
        if (n == 0) return perr(c, DT_INVALID, form, "empty clause");
        if (it[0].type == DT_LIST) {
            if (n > 2)
                return perr(c, DT_INVALID, form,
                            "a function clause is [(f args...)] or [(f args...) binding], "
                            "got %zu forms",
                            n);
            return parse_call(c, form, cl);
        }
        return parse_pattern(c, form, cl);
    }
    if (form->type != DT_LIST)
        return perr(c, DT_INVALID, form,
                    "a clause is a vector (data pattern, predicate, function) or a list "
                    "(rule, or, or-join, not, not-join)");
    if (n == 0) return perr(c, DT_INVALID, form, "empty clause ()");
    size_t i = 0;
    int rc;
    if (is_src(&it[0])) {
        if ((rc = resolve_src(c, &it[0], form, &cl->src)) != DT_OK) return rc;
        cl->explicit_src = 1;
        i = 1;
        if (n == 1) return perr(c, DT_INVALID, form, "a source must be followed by a clause");
    }
    const dt_value *head = &it[i];
    if (!is_sym(head) || is_var(head) || is_src(head) || is_blank(head)) {
        char shown[128];
        show(head, shown);
        return perr(c, DT_INVALID, form,
                    "expected or, or-join, and, not, not-join or a rule name, got %s", shown);
    }
    static const char *const ops[] = {"or", "or-join", "not", "not-join", "and"};
    for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
        if (sym_eq(head, ops[k])) return parse_compound(c, form, i, ops[k], branch, cl);
    return parse_rule_call(c, form, i, cl);
}

/* }====== */

/* {====== Checks of variable bindings ====== */

static int check_clauses(pctx *c, dq_clause *cls, size_t n, const uint8_t *outer);

/* The variables of terms[from..n) that are not in `bound`: error. */
static int need_bound(pctx *c, const dq_clause *cl, size_t from, const uint8_t *bound,
                      const char *why) {
    for (size_t i = from; i < cl->nterms; i++)
        if (cl->terms[i].kind == DQ_TERM_VAR && !bound[cl->terms[i].id])
            return perr(c, DT_INVALID, cl->form, "insufficient bindings: %s is not bound %s",
                        c->vars->names[cl->terms[i].id], why);
    return DT_OK;
}

/* One branch of or/or-join: its own clauses see `outer` bound. */
static int check_branch(pctx *c, dq_clause *br, const uint8_t *outer) {
    if (br->kind == DQ_CL_AND) return check_clauses(c, br->clauses, br->nclauses, outer);
    return check_clauses(c, br, 1, outer);
}

/*
 * Checks one clause of a scope where the variables in `bound` get values;
 * `others` holds what the scope binds without this clause (for required
 * variables, which the clause itself cannot supply).
 */
static int check_clause(pctx *c, dq_clause *cl, const uint8_t *bound, const uint8_t *others) {
    size_t nv = c->vars->n;
    int rc = DT_OK;
    switch (cl->kind) {
    case DQ_CL_PATTERN:
    case DQ_CL_AND:
        break;
    case DQ_CL_PRED:
    case DQ_CL_FN:
        rc = need_bound(c, cl, 0, bound, "(a function cannot bind its arguments)");
        break;
    case DQ_CL_RULE: {
        const dq_rule *r = &c->q->rules[cl->rule];
        for (size_t i = 0; i < r->nreq; i++)
            if (cl->terms[i].kind == DQ_TERM_BLANK)
                return perr(c, DT_INVALID, cl->form,
                            "rule %s needs a value for its required argument %zu, got _", r->name,
                            i + 1);
        for (size_t i = 0; i < r->nreq && rc == DT_OK; i++)
            if (cl->terms[i].kind == DQ_TERM_VAR && !others[cl->terms[i].id])
                rc = perr(c, DT_INVALID, cl->form,
                          "insufficient bindings: %s is not bound (a required argument of rule "
                          "%s)",
                          c->vars->names[cl->terms[i].id], r->name);
        break;
    }
    case DQ_CL_NOT: {
        uint8_t *vs = set_new(c);
        if (!vs) return nomem(c);
        for (size_t i = 0; i < cl->nclauses; i++) ext_vars(&cl->clauses[i], vs);
        size_t k = 0;
        for (size_t v = 0; v < nv; v++) k += vs[v] && bound[v];
        if (k == 0) {
            char s[160];
            set_show(c, vs, nv, s, sizeof s);
            return perr(c, DT_INVALID, cl->form, "insufficient bindings: none of %s is bound", s);
        }
        if (!(cl->vars = ANEW(c, dq_var, k))) return nomem(c);
        cl->nvars = 0;
        for (size_t v = 0; v < nv; v++)
            if (vs[v] && bound[v]) cl->vars[cl->nvars++] = (dq_var)v;
        rc = check_clauses(c, cl->clauses, cl->nclauses, bound);
        break;
    }
    case DQ_CL_NOT_JOIN: {
        uint8_t *join = set_new(c);
        if (!join) return nomem(c);
        for (size_t i = 0; i < cl->nvars; i++) {
            if (!bound[cl->vars[i]])
                return perr(c, DT_INVALID, cl->form,
                            "insufficient bindings: not-join variable %s is not bound outside it",
                            c->vars->names[cl->vars[i]]);
            join[cl->vars[i]] = 1;
        }
        rc = check_clauses(c, cl->clauses, cl->nclauses, join);
        break;
    }
    case DQ_CL_OR:
        for (size_t b = 0; b < cl->nclauses && rc == DT_OK; b++)
            rc = check_branch(c, &cl->clauses[b], bound);
        break;
    case DQ_CL_OR_JOIN: {
        uint8_t *join = set_new(c);
        if (!join) return nomem(c);
        for (size_t i = 0; i < cl->nvars; i++) {
            if (i < cl->nreq && !others[cl->vars[i]])
                return perr(c, DT_INVALID, cl->form,
                            "insufficient bindings: %s is required by or-join but not bound",
                            c->vars->names[cl->vars[i]]);
            join[cl->vars[i]] = bound[cl->vars[i]];
        }
        for (size_t b = 0; b < cl->nclauses && rc == DT_OK; b++)
            rc = check_branch(c, &cl->clauses[b], join);
        break;
    }
    }
    return rc;
}

/*
 * Checks the clauses of one scope.  `outer` holds the variables that get
 * values from outside (inputs, the rule head, the enclosing clauses);
 * the scope's own clauses bind more, in any order (the planner orders
 * them), so a variable counts as bound when any binding clause binds it.
 */
static int check_clauses(pctx *c, dq_clause *cls, size_t n, const uint8_t *outer) {
    uint8_t *bound = set_new(c);
    if (!bound) return nomem(c);
    memcpy(bound, outer, c->vars->n);
    for (size_t i = 0; i < n; i++) {
        int rc = binds_into(c, &cls[i], bound);
        if (rc != DT_OK) return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *others = bound;
        int needs = (cls[i].kind == DQ_CL_OR_JOIN && cls[i].nreq) ||
                    (cls[i].kind == DQ_CL_RULE && c->q->rules[cls[i].rule].nreq);
        if (needs) {
            uint8_t *o = set_new(c);
            if (!o) return nomem(c);
            memcpy(o, outer, c->vars->n);
            for (size_t j = 0; j < n; j++) {
                int rc = j == i ? DT_OK : binds_into(c, &cls[j], o);
                if (rc != DT_OK) return rc;
            }
            others = o;
        }
        int rc = check_clause(c, &cls[i], bound, others);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/* }====== */

/* {====== Query sections ====== */

enum { S_FIND, S_KEYS, S_STRS, S_SYMS, S_WITH, S_IN, S_WHERE, S_COUNT };
static const char *const section_names[S_COUNT] = {"find", "keys", "strs", "syms",
                                                   "with", "in",   "where"};

typedef struct section {
    const dt_value *items;
    size_t n;
    const dt_value *key; /* the keyword; NULL when absent */
} section;

static int section_of(const dt_value *kw) {
    for (int s = 0; s < S_COUNT; s++)
        if (kw->u.s.len == strlen(section_names[s]) &&
            !memcmp(kw->u.s.ptr, section_names[s], kw->u.s.len))
            return s;
    return -1;
}

static int add_section(pctx *c, section *sec, const dt_value *kw, const dt_value *items, size_t n) {
    int s = section_of(kw);
    if (s < 0)
        return perr(c, DT_INVALID, kw,
                    "unknown query section (expected :find, :keys, :strs, :syms, :with, :in or "
                    ":where)");
    if (sec[s].key) return perr(c, DT_INVALID, kw, "duplicate section :%s", section_names[s]);
    if (n == 0) return perr(c, DT_INVALID, kw, "section :%s is empty", section_names[s]);
    sec[s].key = kw;
    sec[s].items = items;
    sec[s].n = n;
    return DT_OK;
}

/* Splits the query (vector or map form) into its sections. */
static int split_sections(pctx *c, const dt_value *qv, section *sec) {
    const dt_value *it = qv->u.seq.items;
    size_t n = qv->u.seq.n;
    int rc;
    if (qv->type == DT_MAP) {
        if (n % 2) return perr(c, DT_INVALID, qv, "malformed map");
        for (size_t i = 0; i < n; i += 2) {
            if (it[i].type != DT_KEYWORD)
                return perr(c, DT_INVALID, &it[i], "a query map's keys are keywords");
            if (!is_seq(&it[i + 1]))
                return perr(c, DT_INVALID, &it[i + 1], "the value of :%s must be a vector",
                            it[i].u.s.ptr);
            if ((rc = add_section(c, sec, &it[i], it[i + 1].u.seq.items, it[i + 1].u.seq.n)) !=
                DT_OK)
                return rc;
        }
    } else if (qv->type == DT_VECTOR || qv->type == DT_LIST) {
        if (n == 0 || it[0].type != DT_KEYWORD)
            return perr(c, DT_INVALID, qv, "a query starts with :find");
        size_t i = 0;
        while (i < n) {
            size_t j = i + 1;
            while (j < n && it[j].type != DT_KEYWORD) j++;
            if ((rc = add_section(c, sec, &it[i], &it[i + 1], j - i - 1)) != DT_OK) return rc;
            i = j;
        }
    } else {
        return perr(c, DT_INVALID, qv, "a query is a vector [:find ...] or a map {:find [...]}");
    }
    if (!sec[S_FIND].key) return perr(c, DT_INVALID, qv, "a query needs :find");
    int nret = !!sec[S_KEYS].key + !!sec[S_STRS].key + !!sec[S_SYMS].key;
    if (nret > 1) return perr(c, DT_INVALID, qv, "use only one of :keys, :strs and :syms");
    return DT_OK;
}

/* Variables of a binding already bound by an earlier :in input: error. */
static int in_dups(pctx *c, const dq_binding *b, uint8_t *seen, const dt_value *form) {
    if (b->kind == DQ_BIND_VAR) {
        if (seen[b->var])
            return perr(c, DT_INVALID, form, "%s appears twice in :in", c->vars->names[b->var]);
        seen[b->var] = 1;
    }
    for (size_t i = 0; i < b->n; i++) {
        int rc = in_dups(c, &b->items[i], seen, form);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/*
 * 1 when variable `var` is the log argument of a tx-ids or tx-data call
 * somewhere in items[0..n) (a :where section, searched whole): such an
 * :in variable is bound to a database (the log), not to a value.
 */
static int is_log_var(const dt_value *items, size_t n, const dt_value *var) {
    for (size_t i = 0; i < n; i++) {
        const dt_value *v = &items[i];
        if (!is_seq(v)) continue;
        if (v->type == DT_LIST && v->u.seq.n >= 2 &&
            (sym_eq(&v->u.seq.items[0], "tx-ids") || sym_eq(&v->u.seq.items[0], "tx-data")) &&
            is_var(&v->u.seq.items[1]) && v->u.seq.items[1].u.s.len == var->u.s.len &&
            memcmp(v->u.seq.items[1].u.s.ptr, var->u.s.ptr, var->u.s.len) == 0)
            return 1;
        if (is_log_var(v->u.seq.items, v->u.seq.n, var)) return 1;
    }
    return 0;
}

/* :in (or the implicit [$]); `where` is the :where section (for
 * is_log_var). */
static int parse_in(pctx *c, const section *s, const section *where) {
    dq_query *q = c->q;
    static const dt_value dollar = {DT_SYMBOL, {.s = {(char *)"$", 1}}};
    const dt_value *items = s->key ? s->items : &dollar;
    size_t n = s->key ? s->n : 1;
    q->in_written = s->key != NULL;
    q->nin = n;
    if (!(q->in = ANEW(c, dq_input, n))) return nomem(c);
    if (!(q->srcs = dt__calloc(n, sizeof *q->srcs))) return nomem(c);
    q->capsrcs = n;
    for (size_t i = 0; i < n; i++) {
        const dt_value *v = &items[i];
        dq_input *in = &q->in[i];
        in->src = DQ_SRC_NONE;
        in->bind.var = DQ_NOVAR;
        if (is_src(v) || (is_var(v) && where->key && is_log_var(where->items, where->n, v))) {
            /* a source, or a ?log variable: a source under another name */
            if (find_src(q, v) >= 0)
                return perr(c, DT_INVALID, v, "source %s appears twice in :in", v->u.s.ptr);
            in->kind = DQ_IN_SRC;
            in->src = (int32_t)q->nsrcs;
            q->srcs[q->nsrcs++] = v->u.s.ptr;
        } else if (sym_eq(v, "%")) {
            if (c->has_rules_in) return perr(c, DT_INVALID, v, "%% appears twice in :in");
            in->kind = DQ_IN_RULES;
            c->has_rules_in = 1;
        } else if (is_sym(v) && !is_var(v) && !is_blank(v) && !sym_eq(v, "...") &&
                   !sym_eq(v, ".")) {
            for (size_t k = 0; k < i; k++)
                if (q->in[k].kind == DQ_IN_PATTERN && names_eq(q->in[k].name, v))
                    return perr(c, DT_INVALID, v, "pattern name %s appears twice in :in",
                                v->u.s.ptr);
            in->kind = DQ_IN_PATTERN;
            in->name = v->u.s.ptr;
        } else {
            in->kind = DQ_IN_BINDING;
            int rc = parse_binding(c, v, &in->bind);
            if (rc != DT_OK) return rc;
        }
    }
    /* duplicate variables across the bindings */
    uint8_t *seen = set_new(c);
    if (!seen) return nomem(c);
    for (size_t i = 0; i < n; i++)
        if (q->in[i].kind == DQ_IN_BINDING) {
            int rc = in_dups(c, &q->in[i].bind, seen, &items[i]);
            if (rc != DT_OK) return rc;
        }
    int32_t d = -1;
    for (size_t i = 0; i < q->nsrcs; i++)
        if (!strcmp(q->srcs[i], "$")) d = (int32_t)i;
    q->default_src = d;
    c->dsrc = d >= 0 ? d : DSRC_UNDECLARED;
    return DT_OK;
}

/* One :find element: ?x, (agg args... ?x) or (pull $? ?e pattern). */
static int parse_find_elem(pctx *c, const dt_value *v, dq_find_elem *fe) {
    dq_query *q = c->q;
    int rc;
    fe->form = v;
    fe->var = fe->pattern_var = DQ_NOVAR;
    fe->pattern_in = -1;
    fe->src = DQ_SRC_NONE;
    if (is_var(v)) {
        fe->kind = DQ_ELEM_VAR;
        return intern_var(c, c->vars, v, &fe->var);
    }
    if (v->type != DT_LIST || v->u.seq.n == 0 || !is_sym(&v->u.seq.items[0]))
        return perr(c, DT_INVALID, v,
                    "a :find element is a variable, an aggregate (f ?x) or (pull ?e pattern)");
    const dt_value *it = v->u.seq.items, *name = &it[0];
    size_t n = v->u.seq.n;
    if (sym_eq(name, "pull")) {
        fe->kind = DQ_ELEM_PULL;
        size_t i = 1;
        if (n > 1 && is_src(&it[1])) {
            if ((rc = resolve_src(c, &it[1], v, &fe->src)) != DT_OK) return rc;
            fe->explicit_src = 1;
            i = 2;
        } else if ((rc = default_src(c, v, &fe->src)) != DT_OK)
            return rc;
        if (n - i != 2) return perr(c, DT_INVALID, v, "pull takes $? ?e pattern");
        if (!is_var(&it[i])) return perr(c, DT_INVALID, v, "pull needs an entity variable");
        if ((rc = intern_var(c, c->vars, &it[i], &fe->var)) != DT_OK) return rc;
        const dt_value *p = &it[i + 1];
        if (p->type == DT_VECTOR) {
            fe->pattern = p;
        } else if (is_var(p)) {
            if ((rc = intern_var(c, c->vars, p, &fe->pattern_var)) != DT_OK) return rc;
        } else if (is_sym(p) && !is_src(p) && !is_blank(p)) {
            for (size_t k = 0; k < q->nin; k++)
                if (q->in[k].kind == DQ_IN_PATTERN && names_eq(q->in[k].name, p))
                    fe->pattern_in = (int32_t)k;
            if (fe->pattern_in < 0)
                return perr(c, DT_INVALID, v, "pull pattern %s is not an :in input", p->u.s.ptr);
        } else {
            return perr(c, DT_INVALID, v,
                        "a pull pattern is a vector, an :in variable or an :in pattern name");
        }
        return DT_OK;
    }
    const dq_aggregate *a = dq_aggregate_find(name->u.s.ptr, name->u.s.len);
    if (!a) return perr(c, DT_INVALID, v, "unknown aggregate %s", name->u.s.ptr);
    fe->kind = DQ_ELEM_AGG;
    fe->agg = a->id;
    size_t nargs = n - 1;
    if ((int)nargs < a->min_args || (int)nargs > a->max_args) {
        if (a->min_args == a->max_args)
            return perr(c, DT_INVALID, v, "aggregate %s takes %d argument%s, got %zu", a->name,
                        a->min_args, a->min_args == 1 ? "" : "s", nargs);
        return perr(c, DT_INVALID, v, "aggregate %s takes %d to %d arguments, got %zu", a->name,
                    a->min_args, a->max_args, nargs);
    }
    if (!is_var(&it[n - 1]))
        return perr(c, DT_INVALID, v, "the last argument of aggregate %s must be a variable",
                    a->name);
    if ((rc = intern_var(c, c->vars, &it[n - 1], &fe->var)) != DT_OK) return rc;
    fe->nargs = nargs - 1;
    if (!(fe->args = ANEW(c, dq_term, fe->nargs ? fe->nargs : 1))) return nomem(c);
    for (size_t k = 0; k < fe->nargs; k++)
        if ((rc = parse_term(c, &it[1 + k], 0, v, &fe->args[k])) != DT_OK) return rc;
    return DT_OK;
}

static int parse_find(pctx *c, const section *s) {
    dq_query *q = c->q;
    const dt_value *it = s->items;
    size_t n = s->n;
    const dt_value *elems = it;
    if (n == 2 && sym_eq(&it[1], ".")) {
        q->find_kind = DQ_FIND_SCALAR;
        n = 1;
    } else if (n == 1 && it[0].type == DT_VECTOR) {
        elems = it[0].u.seq.items;
        n = it[0].u.seq.n;
        if (n == 2 && sym_eq(&elems[1], "...")) {
            q->find_kind = DQ_FIND_COLL;
            n = 1;
        } else {
            q->find_kind = DQ_FIND_TUPLE;
            if (n == 0) return perr(c, DT_INVALID, &it[0], "empty :find tuple");
        }
    } else {
        q->find_kind = DQ_FIND_REL;
    }
    q->nfind = n;
    if (!(q->find = ANEW(c, dq_find_elem, n))) return nomem(c);
    for (size_t i = 0; i < n; i++) {
        if (sym_eq(&elems[i], ".") || sym_eq(&elems[i], "..."))
            return perr(c, DT_INVALID, s->key,
                        "malformed :find (use ?x . for one value, [?x ...] for a collection, "
                        "[?a ?b] for one tuple)");
        int rc = parse_find_elem(c, &elems[i], &q->find[i]);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

static int parse_ret(pctx *c, const section *sec) {
    dq_query *q = c->q;
    int which = sec[S_KEYS].key ? S_KEYS : sec[S_STRS].key ? S_STRS : S_SYMS;
    const section *s = &sec[which];
    if (!s->key) return DT_OK;
    q->ret = which == S_KEYS ? DQ_RET_KEYS : which == S_STRS ? DQ_RET_STRS : DQ_RET_SYMS;
    if (q->find_kind == DQ_FIND_SCALAR || q->find_kind == DQ_FIND_COLL)
        return perr(c, DT_INVALID, s->key, ":%s needs a relation or tuple :find",
                    section_names[which]);
    if (s->n != q->nfind)
        return perr(c, DT_INVALID, s->key, ":%s has %zu name%s but :find has %zu element%s",
                    section_names[which], s->n, s->n == 1 ? "" : "s", q->nfind,
                    q->nfind == 1 ? "" : "s");
    if (!(q->ret_names = ANEW(c, const char *, s->n))) return nomem(c);
    for (size_t i = 0; i < s->n; i++) {
        if (!is_sym(&s->items[i]) || is_var(&s->items[i]))
            return perr(c, DT_INVALID, &s->items[i], ":%s takes plain symbols",
                        section_names[which]);
        for (size_t k = 0; k < i; k++)
            if (names_eq(q->ret_names[k], &s->items[i]))
                return perr(c, DT_INVALID, &s->items[i], "duplicate name in :%s",
                            section_names[which]);
        q->ret_names[i] = s->items[i].u.s.ptr;
    }
    return DT_OK;
}

static int parse_with(pctx *c, const section *s) {
    dq_query *q = c->q;
    if (!s->key) return DT_OK;
    c->with_key = s->key;
    q->nwith = s->n;
    if (!(q->with = ANEW(c, dq_var, s->n))) return nomem(c);
    for (size_t i = 0; i < s->n; i++) {
        if (!is_var(&s->items[i]))
            return perr(c, DT_INVALID, &s->items[i], ":with takes variables");
        int rc = intern_var(c, c->vars, &s->items[i], &q->with[i]);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/* }====== */

/* {====== Rules ====== */

static int is_reserved(const dt_value *name) {
    static const char *const words[] = {"or", "or-join", "not", "not-join", "and", "pull"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (sym_eq(name, words[i])) return 1;
    return 0;
}

/* The head (name vars...) of rule body `form`; checked, not yet interned. */
static int rule_head(pctx *c, const dt_value *form, const dt_value **name, size_t *arity,
                     size_t *nreq) {
    if (!is_seq(form) || form->u.seq.n < 2)
        return perr(c, DT_INVALID, form, "a rule is [(name ?vars...) clauses...]");
    const dt_value *head = &form->u.seq.items[0];
    if (head->type != DT_LIST || head->u.seq.n < 2)
        return perr(c, DT_INVALID, form, "a rule head is (name ?vars...)");
    const dt_value *nm = &head->u.seq.items[0];
    if (!is_sym(nm) || is_var(nm) || is_src(nm) || is_blank(nm) || is_reserved(nm))
        return perr(c, DT_INVALID, form, "a rule name is a plain symbol other than or, and, not");
    const dt_value *vs = &head->u.seq.items[1];
    size_t n = head->u.seq.n - 1;
    *nreq = 0;
    if (vs[0].type == DT_VECTOR) {
        *nreq = vs[0].u.seq.n;
        n += vs[0].u.seq.n - 1;
    }
    *name = nm;
    *arity = n;
    return DT_OK;
}

static int parse_rules(pctx *c, const dt_value *rv) {
    dq_query *q = c->q;
    int rc;
    if (!is_seq(rv))
        return perr(c, DT_INVALID, rv, "rules are a vector of rules [[(name ?a) clauses...]]");
    size_t n = rv->u.seq.n;
    const dt_value *it = rv->u.seq.items;
    if (!(q->rules = ANEW(c, dq_rule, n ? n : 1))) return nomem(c);
    /* heads first: names, arities, body counts */
    for (size_t i = 0; i < n; i++) {
        const dt_value *name = NULL;
        size_t arity = 0, nreq = 0;
        if ((rc = rule_head(c, &it[i], &name, &arity, &nreq)) != DT_OK) return rc;
        int32_t idx;
        dq_rule *r = (dq_rule *)find_rule(q, name, &idx);
        if (!r) {
            r = &q->rules[q->nrules++];
            r->name = name->u.s.ptr;
            r->arity = arity;
            r->nreq = nreq;
        } else if (r->arity != arity || r->nreq != nreq) {
            return perr(c, DT_INVALID, &it[i],
                        "rule %s has %zu argument%s (%zu required) here but %zu (%zu required) "
                        "in an earlier body",
                        r->name, arity, arity == 1 ? "" : "s", nreq, r->arity, r->nreq);
        }
        r->nbodies++;
    }
    for (size_t r = 0; r < q->nrules; r++) {
        if (!(q->rules[r].bodies = ANEW(c, dq_rule_body, q->rules[r].nbodies))) return nomem(c);
        q->rules[r].nbodies = 0;
    }
    /* then the bodies, each with its own variables (the head's first) */
    c->in_rules = 1;
    rc = DT_OK;
    int32_t saved = c->dsrc;
    c->dsrc = DQ_SRC_CALLER;
    for (size_t i = 0; i < n && rc == DT_OK; i++) {
        const dt_value *form = &it[i], *head = &form->u.seq.items[0];
        int32_t idx;
        dq_rule *r = (dq_rule *)find_rule(q, &head->u.seq.items[0], &idx);
        dq_rule_body *b = &r->bodies[r->nbodies++];
        size_t off;
        int which;
        b->form = form;
        line_col_of(c, form, &b->line, &b->col, &off, &which);
        c->vars = &b->vars;
        dq_var *hv;
        size_t nh, nreq;
        rc = parse_rule_vars(c, &head->u.seq.items[1], head->u.seq.n - 1, 1, form, &hv, &nh, &nreq);
        if (rc != DT_OK) break;
        size_t nb = form->u.seq.n - 1;
        if ((rc = parse_clauses(c, &form->u.seq.items[1], nb, 0, &b->clauses)) != DT_OK) break;
        b->nclauses = nb;
        uint8_t *head_set = set_new(c);
        if (!head_set) {
            rc = nomem(c);
            break;
        }
        memset(head_set, 1, r->arity); /* head variables are ids 0..arity-1 */
        rc = check_clauses(c, b->clauses, b->nclauses, head_set);
    }
    c->dsrc = saved;
    c->in_rules = 0;
    c->vars = &q->vars;
    return rc;
}

/* }====== */

/* {====== Entry points ====== */

/* A compound value nested at most DQ_MAX_DEPTH deep (recursion bounded by it). */
static int depth_ok(const dt_value *v, int depth) {
    switch (v->type) {
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED:
        if (depth > DQ_MAX_DEPTH) return 0;
        for (size_t i = 0; i < v->u.seq.n; i++)
            if (!depth_ok(&v->u.seq.items[i], depth + 1)) return 0;
        return 1;
    default:
        return 1;
    }
}

/* Walks the read value in post-order, pairing its values with their spans. */
static void map_walk(const dt_value *v, posent *out, size_t *k, const dl_edn_span *sp, size_t nsp,
                     int which) {
    if (v->type == DT_LIST || v->type == DT_VECTOR || v->type == DT_SET || v->type == DT_MAP)
        for (size_t i = 0; i < v->u.seq.n; i++)
            map_walk(&v->u.seq.items[i], out, k, sp, nsp, which);
    if (*k < nsp) {
        out[*k].v = v;
        out[*k].off = sp[*k].start;
        out[*k].which = which;
    }
    (*k)++;
}

/* Reads form f (text or value) into *dst (owned by the query). */
static int load_form(pctx *c, const dq_input_form *f, int which, dt_value *dst) {
    const char *what = which ? "rules" : "query";
    if ((f->text != NULL) == (f->value != NULL))
        return dt__seterr(NULL, DT_MISUSE, "dq_parse: give the %s as text or as a value", what);
    if (f->value) {
        if (!depth_ok(f->value, 1))
            return perr(c, DT_LIMIT, NULL, "the %s nest deeper than %d", what, DQ_MAX_DEPTH);
        int rc = dt_value_copy(f->value, dst);
        if (rc == DT_NOMEM) return nomem(c);
        if (rc != DT_OK) {
            char msg[DT__ERRMSG_MAX];
            snprintf(msg, sizeof msg, "%s", dt_errmsg(NULL));
            return perr(c, DT_INVALID, NULL, "malformed %s value (%s)", what, msg);
        }
        return DT_OK;
    }
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.max_depth = DQ_MAX_DEPTH;
    dl_edn_span *sp = NULL;
    size_t nsp = 0;
    int rc = dl_edn_read_spans(f->text, f->len, &o, dst, &sp, &nsp);
    if (rc != DT_OK) {
        char msg[DT__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", dt_errmsg(NULL));
        if (c->errpos) {
            /* the streaming reader says where the error is */
            dt_edn_reader *r = NULL;
            if (dt_edn_reader_new(f->text, f->len, &o, &r) == DT_OK) {
                dt_value tmp = DT_VALUE_NIL;
                for (int k = 0; k < 2; k++) {
                    int rk = dt_edn_reader_next(r, &tmp);
                    dt_value_free(&tmp);
                    if (rk != DT_ROW) break;
                }
                dt_edn_reader_pos(r, &c->errpos->line, &c->errpos->col, &c->errpos->offset);
                c->errpos->in_rules = which;
                dt_edn_reader_free(r);
            }
        }
        return dt__seterr(NULL, rc, "query: %s%s", which ? "rules: " : "", msg);
    }
    c->text[which] = f->text;
    c->len[which] = f->len;
    posent *np = dt__realloc(c->pos, (c->npos + nsp) * sizeof *np);
    if (!np) {
        dt__free(sp);
        return nomem(c);
    }
    c->pos = np;
    size_t k = 0;
    map_walk(dst, c->pos + c->npos, &k, sp, nsp, which);
    dt__free(sp);
    if (k == nsp) c->npos += nsp; /* else positions are not trusted: drop them */
    qsort(c->pos, c->npos, sizeof *c->pos, cmp_posent);
    return DT_OK;
}

/* The find/with variables must get values from :in or :where. */
static int check_find(pctx *c, const uint8_t *bound, const uint8_t *in_vars) {
    dq_query *q = c->q;
    for (size_t i = 0; i < q->nfind; i++) {
        dq_find_elem *fe = &q->find[i];
        if (!bound[fe->var])
            return perr(c, DT_INVALID, fe->form,
                        "%s in :find is not bound by :in or any :where clause",
                        q->vars.names[fe->var]);
        for (size_t k = 0; k < fe->nargs; k++)
            if (fe->args[k].kind == DQ_TERM_VAR && !bound[fe->args[k].id])
                return perr(c, DT_INVALID, fe->form, "%s is not bound by :in or :where",
                            q->vars.names[fe->args[k].id]);
        if (fe->pattern_var != DQ_NOVAR && !in_vars[fe->pattern_var])
            return perr(c, DT_INVALID, fe->form, "pull pattern %s must be an :in input",
                        q->vars.names[fe->pattern_var]);
    }
    for (size_t i = 0; i < q->nwith; i++)
        if (!bound[q->with[i]])
            return perr(c, DT_INVALID, c->with_key,
                        "%s in :with is not bound by :in or any :where clause",
                        q->vars.names[q->with[i]]);
    return DT_OK;
}

static int parse_all(pctx *c, const dq_input_form *query, const dq_input_form *rules) {
    dq_query *q = c->q;
    int rc;
    if ((rc = load_form(c, query, 0, &q->priv->qv)) != DT_OK) return rc;
    if (rules && (rc = load_form(c, rules, 1, &q->priv->rv)) != DT_OK) return rc;
    c->rules_given = rules != NULL;

    section sec[S_COUNT];
    memset(sec, 0, sizeof sec);
    if ((rc = split_sections(c, &q->priv->qv, sec)) != DT_OK) return rc;
    if ((rc = parse_in(c, &sec[S_IN], &sec[S_WHERE])) != DT_OK) return rc;
    if (rules) {
        if (!c->has_rules_in)
            return perr(c, DT_INVALID, NULL, "rules were given but :in has no %%");
        if ((rc = parse_rules(c, &q->priv->rv)) != DT_OK) return rc;
    }
    if (sec[S_WHERE].key) {
        if ((rc = parse_clauses(c, sec[S_WHERE].items, sec[S_WHERE].n, 0, &q->where)) != DT_OK)
            return rc;
        q->nwhere = sec[S_WHERE].n;
    }
    if ((rc = parse_find(c, &sec[S_FIND])) != DT_OK) return rc;
    if ((rc = parse_ret(c, sec)) != DT_OK) return rc;
    if ((rc = parse_with(c, &sec[S_WITH])) != DT_OK) return rc;
    /* a ?log variable of :in is a database: it has no other use */
    for (size_t i = 0; i < q->nsrcs; i++) {
        if (q->srcs[i][0] != '?') continue;
        dt_value sym = {DT_SYMBOL, {.s = {(char *)q->srcs[i], strlen(q->srcs[i])}}};
        if (find_var(&q->vars, &sym) != DQ_NOVAR)
            return perr(c, DT_INVALID, NULL,
                        "%s is a log (a database given in :in): it can only be the first "
                        "argument of tx-ids and tx-data",
                        q->srcs[i]);
    }

    /* bindings: the inputs, then whatever the :where clauses bind */
    uint8_t *in_vars = set_new(c), *bound = set_new(c);
    if (!in_vars || !bound) return nomem(c);
    for (size_t i = 0; i < q->nin; i++)
        if (q->in[i].kind == DQ_IN_BINDING) binding_into(&q->in[i].bind, in_vars);
    if ((rc = check_clauses(c, q->where, q->nwhere, in_vars)) != DT_OK) return rc;
    memcpy(bound, in_vars, q->vars.n);
    for (size_t i = 0; i < q->nwhere; i++)
        if ((rc = binds_into(c, &q->where[i], bound)) != DT_OK) return rc;
    return check_find(c, bound, in_vars);
}

int dq_parse(const dq_input_form *query, const dq_input_form *rules, dq_query **out,
             dq_errpos *pos) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dq_parse: NULL out");
    *out = NULL;
    if (pos) memset(pos, 0, sizeof *pos);
    if (!query) return dt__seterr(NULL, DT_MISUSE, "dq_parse: NULL query");
    dq_query *q = dt__calloc(1, sizeof *q);
    if (!q) return dt__seterr(NULL, DT_NOMEM, "query: out of memory");
    if (!(q->priv = dt__calloc(1, sizeof *q->priv))) {
        dt__free(q);
        return dt__seterr(NULL, DT_NOMEM, "query: out of memory");
    }
    q->default_src = -1;
    pctx c;
    memset(&c, 0, sizeof c);
    c.q = q;
    c.vars = &q->vars;
    c.dsrc = DSRC_UNDECLARED;
    c.errpos = pos;
    int rc = parse_all(&c, query, rules);
    dt__free(c.pos);
    arena_free(c.scratch);
    if (rc != DT_OK) {
        dq_query_free(q);
        return rc;
    }
    *out = q;
    return DT_OK;
}

int dq_parse_text(const char *query, const char *rules, dq_query **out, dq_errpos *pos) {
    if (!query) return dt__seterr(NULL, DT_MISUSE, "dq_parse_text: NULL query");
    dq_input_form qf = {query, strlen(query), NULL}, rf = {rules, rules ? strlen(rules) : 0, NULL};
    return dq_parse(&qf, rules ? &rf : NULL, out, pos);
}

/* }====== */
