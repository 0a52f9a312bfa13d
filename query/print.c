/*
 * print.c -- the query syntax tree back to EDN text (query layer), for
 * explain output, messages and tests (parse -> print -> parse gives the
 * same tree).  Recursion follows the tree, whose depth the parser bounds.
 */
#include <string.h>

#include "edn.h"
#include "parse.h"

typedef struct pr {
    const dq_query *q;
    const dq_vars *vars;
    dt_buf *b;
    int rc;
} pr;

static void put(pr *p, const char *s) {
    if (p->rc == DT_OK) p->rc = dt_buf_append(p->b, s, strlen(s));
}

static void put_value(pr *p, const dt_value *v) {
    if (p->rc == DT_OK) p->rc = dl_edn_write_buf(v, DT_EDN_COMPACT, p->b);
}

static void put_var(pr *p, dq_var v) { put(p, dq_var_name(p->vars, v)); }

static void put_src(pr *p, int32_t src) {
    put(p, src >= 0 && (size_t)src < p->q->nsrcs ? p->q->srcs[src] : "$");
}

static void put_term(pr *p, const dq_term *t) {
    switch (t->kind) {
    case DQ_TERM_VAR:
        put_var(p, t->id);
        break;
    case DQ_TERM_CONST:
        put_value(p, t->value);
        break;
    case DQ_TERM_BLANK:
        put(p, "_");
        break;
    case DQ_TERM_SRC:
        put_src(p, t->id);
        break;
    }
}

static void put_terms(pr *p, const dq_term *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        put(p, " ");
        put_term(p, &t[i]);
    }
}

static void put_binding(pr *p, const dq_binding *b) {
    switch (b->kind) {
    case DQ_BIND_VAR:
        put_var(p, b->var);
        return;
    case DQ_BIND_BLANK:
        put(p, "_");
        return;
    case DQ_BIND_COLL:
        put(p, "[");
        put_binding(p, &b->items[0]);
        put(p, " ...]");
        return;
    case DQ_BIND_TUPLE:
    case DQ_BIND_REL:
        put(p, b->kind == DQ_BIND_REL ? "[[" : "[");
        for (size_t i = 0; i < b->n; i++) {
            if (i) put(p, " ");
            put_binding(p, &b->items[i]);
        }
        put(p, b->kind == DQ_BIND_REL ? "]]" : "]");
        return;
    }
}

/* [?a ?b] or [[?req] ?b] */
static void put_join_vars(pr *p, const dq_clause *cl) {
    put(p, "[");
    if (cl->nreq) {
        put(p, "[");
        for (size_t i = 0; i < cl->nreq; i++) {
            if (i) put(p, " ");
            put_var(p, cl->vars[i]);
        }
        put(p, "]");
    }
    for (size_t i = cl->nreq; i < cl->nvars; i++) {
        if (i) put(p, " ");
        put_var(p, cl->vars[i]);
    }
    put(p, "]");
}

static void put_clause(pr *p, const dq_clause *cl);

static void put_clauses(pr *p, const dq_clause *cls, size_t n) {
    for (size_t i = 0; i < n; i++) {
        put(p, " ");
        put_clause(p, &cls[i]);
    }
}

static void put_clause(pr *p, const dq_clause *cl) {
    switch (cl->kind) {
    case DQ_CL_PATTERN:
        put(p, "[");
        if (cl->explicit_src) {
            put_src(p, cl->src);
            put(p, " ");
        }
        for (size_t i = 0; i < cl->nterms; i++) {
            if (i) put(p, " ");
            put_term(p, &cl->terms[i]);
        }
        put(p, "]");
        return;
    case DQ_CL_PRED:
    case DQ_CL_FN:
        put(p, "[(");
        put(p, cl->fn == DQ_FN_USER ? p->q->ufns[cl->ufn].name : dq_builtins[cl->fn].name);
        put_terms(p, cl->terms, cl->nterms);
        put(p, ")");
        if (cl->kind == DQ_CL_FN) {
            put(p, " ");
            put_binding(p, &cl->bind);
        }
        put(p, "]");
        return;
    case DQ_CL_RULE:
        put(p, "(");
        if (cl->explicit_src) {
            put_src(p, cl->src);
            put(p, " ");
        }
        put(p, p->q->rules[cl->rule].name);
        put_terms(p, cl->terms, cl->nterms);
        put(p, ")");
        return;
    case DQ_CL_AND:
    case DQ_CL_OR:
    case DQ_CL_OR_JOIN:
    case DQ_CL_NOT:
    case DQ_CL_NOT_JOIN: {
        static const char *const ops[] = {"",   "",        "",    "",        "and",
                                          "or", "or-join", "not", "not-join"};
        put(p, "(");
        if (cl->explicit_src) {
            put_src(p, cl->src);
            put(p, " ");
        }
        put(p, ops[cl->kind]);
        if (cl->kind == DQ_CL_OR_JOIN || cl->kind == DQ_CL_NOT_JOIN) {
            put(p, " ");
            put_join_vars(p, cl);
        }
        put_clauses(p, cl->clauses, cl->nclauses);
        put(p, ")");
        return;
    }
    }
}

static void put_find_elem(pr *p, const dq_find_elem *fe) {
    switch (fe->kind) {
    case DQ_ELEM_VAR:
        put_var(p, fe->var);
        return;
    case DQ_ELEM_AGG:
        put(p, "(");
        put(p, dq_aggregates[fe->agg].name);
        put_terms(p, fe->args, fe->nargs);
        put(p, " ");
        put_var(p, fe->var);
        put(p, ")");
        return;
    case DQ_ELEM_PULL:
        put(p, "(pull ");
        if (fe->explicit_src) {
            put_src(p, fe->src);
            put(p, " ");
        }
        put_var(p, fe->var);
        put(p, " ");
        if (fe->pattern)
            put_value(p, fe->pattern);
        else if (fe->pattern_var != DQ_NOVAR)
            put_var(p, fe->pattern_var);
        else
            put(p, p->q->in[fe->pattern_in].name);
        put(p, ")");
        return;
    }
}

int dq_query_print(const dq_query *q, dt_buf *b) {
    pr p = {q, &q->vars, b, DT_OK};
    put(&p, "[:find");
    if (q->find_kind == DQ_FIND_COLL || q->find_kind == DQ_FIND_TUPLE) put(&p, " [");
    for (size_t i = 0; i < q->nfind; i++) {
        if (i || (q->find_kind != DQ_FIND_COLL && q->find_kind != DQ_FIND_TUPLE)) put(&p, " ");
        put_find_elem(&p, &q->find[i]);
    }
    if (q->find_kind == DQ_FIND_COLL) put(&p, " ...]");
    if (q->find_kind == DQ_FIND_TUPLE) put(&p, "]");
    if (q->find_kind == DQ_FIND_SCALAR) put(&p, " .");
    if (q->ret != DQ_RET_NONE) {
        put(&p, q->ret == DQ_RET_KEYS ? " :keys" : q->ret == DQ_RET_STRS ? " :strs" : " :syms");
        for (size_t i = 0; i < q->nfind; i++) {
            put(&p, " ");
            put(&p, q->ret_names[i]);
        }
    }
    if (q->nwith) {
        put(&p, " :with");
        for (size_t i = 0; i < q->nwith; i++) {
            put(&p, " ");
            put_var(&p, q->with[i]);
        }
    }
    if (q->in_written) {
        put(&p, " :in");
        for (size_t i = 0; i < q->nin; i++) {
            const dq_input *in = &q->in[i];
            put(&p, " ");
            switch (in->kind) {
            case DQ_IN_SRC:
                put_src(&p, in->src);
                break;
            case DQ_IN_RULES:
                put(&p, "%");
                break;
            case DQ_IN_PATTERN:
                put(&p, in->name);
                break;
            case DQ_IN_BINDING:
                put_binding(&p, &in->bind);
                break;
            }
        }
    }
    if (q->nwhere) {
        put(&p, " :where");
        put_clauses(&p, q->where, q->nwhere);
    }
    put(&p, "]");
    return p.rc;
}

int dq_rules_print(const dq_query *q, dt_buf *b) {
    pr p = {q, NULL, b, DT_OK};
    put(&p, "[");
    int first = 1;
    for (size_t r = 0; r < q->nrules; r++) {
        const dq_rule *rule = &q->rules[r];
        for (size_t k = 0; k < rule->nbodies; k++) {
            const dq_rule_body *body = &rule->bodies[k];
            p.vars = &body->vars;
            put(&p, first ? "[(" : " [(");
            first = 0;
            put(&p, rule->name);
            if (rule->nreq) {
                put(&p, " [");
                for (size_t i = 0; i < rule->nreq; i++) {
                    if (i) put(&p, " ");
                    put_var(&p, (dq_var)i);
                }
                put(&p, "]");
            }
            for (size_t i = rule->nreq; i < rule->arity; i++) {
                put(&p, " ");
                put_var(&p, (dq_var)i);
            }
            put(&p, ")");
            put_clauses(&p, body->clauses, body->nclauses);
            put(&p, "]");
        }
    }
    put(&p, "]");
    return p.rc;
}
