/*
 * api.c -- the public query API (query layer): prepared queries, inputs
 * to an execution (exec.h), the choice of evaluator, and the process-wide
 * cache of prepared queries behind dt_q / dt_q_inputs.
 *
 * A prepared query keeps its text (or value) and its tree parsed without
 * rules.  A query that calls rules cannot be checked without them, so its
 * tree is made per distinct rules input and kept in a small per-query
 * cache (under the query's mutex; entries live as long as the query, so
 * concurrent runs may use them without holding the lock).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "exec.h"
#include "result.h"

#define DT_MAGIC_QUERY 0x64747171u /* "dtqq" */
#define RULES_CACHE    16          /* trees per prepared query, by rules text */
#define QCACHE_SIZE    128         /* prepared queries in the process cache */

typedef struct rules_entry {
    char *text;
    size_t len;
    dq_query *q;
} rules_entry;

struct dt_query {
    uint32_t magic;
    atomic_long refs;
    char *text; /* the query text (NUL-terminated), or NULL */
    size_t len;
    dt_value value;  /* the query as a value (when prepared from one) */
    dq_query *q;     /* parsed without rules; NULL when it needs them */
    long rules_pos;  /* :in position of %, or -1 */
    size_t nin_form; /* number of :in entries (when q is NULL) */
    pthread_mutex_t mu;
    rules_entry rules[RULES_CACHE];
    size_t nrules;
};

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "query: out of memory"); }

/* {====== Preparing ====== */

/* The :in entries of a query form: a pointer to the first and a count. */
static void in_section(const dt_value *form, const dt_value **in, size_t *n) {
    *in = NULL;
    *n = 0;
    if (form->type == DT_MAP) {
        for (size_t i = 0; i + 1 < form->u.seq.n; i += 2) {
            const dt_value *k = &form->u.seq.items[i], *v = &form->u.seq.items[i + 1];
            if (k->type == DT_KEYWORD && strcmp(k->u.s.ptr, "in") == 0 &&
                (v->type == DT_VECTOR || v->type == DT_LIST)) {
                *in = v->u.seq.items;
                *n = v->u.seq.n;
            }
        }
        return;
    }
    if (form->type != DT_VECTOR && form->type != DT_LIST) return;
    for (size_t i = 0; i < form->u.seq.n; i++) {
        const dt_value *k = &form->u.seq.items[i];
        if (k->type == DT_KEYWORD && strcmp(k->u.s.ptr, "in") == 0) {
            size_t j = i + 1;
            while (j < form->u.seq.n && form->u.seq.items[j].type != DT_KEYWORD) j++;
            *in = &form->u.seq.items[i + 1];
            *n = j - i - 1;
            return;
        }
    }
}

static int prepare(const char *text, size_t len, const dt_value *value, dt_query **out) {
    *out = NULL;
    dt_query *q = dt__calloc(1, sizeof *q);
    if (!q) return nomem();
    q->magic = DT_MAGIC_QUERY;
    atomic_init(&q->refs, 1);
    q->rules_pos = -1;
    pthread_mutex_init(&q->mu, NULL);
    int rc = DT_OK;
    if (text) {
        if (!(q->text = dt__strndup(text, len))) rc = nomem();
        q->len = len;
    } else if (dt_value_copy(value, &q->value) != DT_OK) {
        rc = nomem();
    }
    if (rc == DT_OK) {
        dq_input_form f = {q->text, q->len, q->text ? NULL : &q->value};
        rc = dq_parse(&f, NULL, &q->q, NULL);
        if (rc == DT_OK) {
            for (size_t i = 0; i < q->q->nin; i++)
                if (q->q->in[i].kind == DQ_IN_RULES) q->rules_pos = (long)i;
        } else if (rc == DT_INVALID) {
            /* a query with % in :in may fail only for want of its rules */
            dt_value form = DT_VALUE_NIL;
            const dt_value *fv = &q->value;
            char saved[512];
            snprintf(saved, sizeof saved, "%s", dt_errmsg(NULL));
            if (q->text && dt_edn_read(q->text, q->len, &form) == DT_OK) fv = &form;
            const dt_value *in;
            size_t nin;
            in_section(fv, &in, &nin);
            for (size_t i = 0; i < nin; i++)
                if (in[i].type == DT_SYMBOL && strcmp(in[i].u.s.ptr, "%") == 0)
                    q->rules_pos = (long)i;
            q->nin_form = nin;
            dt_value_free(&form);
            if (q->rules_pos >= 0 && strstr(saved, "rule"))
                rc = DT_OK; /* checked per run */
            else
                dt__seterr(NULL, rc, "%s", saved);
        }
    }
    if (rc != DT_OK) {
        dt_query_free(q);
        return rc;
    }
    *out = q;
    return DT_OK;
}

int dt_query_prepare(const char *text, size_t len, dt_query **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_query_prepare: NULL out");
    *out = NULL;
    if (!text) return dt__seterr(NULL, DT_MISUSE, "dt_query_prepare: NULL text");
    return prepare(text, len, NULL, out);
}

int dt_query_prepare_value(const dt_value *query, dt_query **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_query_prepare_value: NULL out");
    *out = NULL;
    if (!query) return dt__seterr(NULL, DT_MISUSE, "dt_query_prepare_value: NULL query");
    return prepare(NULL, 0, query, out);
}

static void query_release(dt_query *q) {
    if (!q || q->magic != DT_MAGIC_QUERY) return;
    if (atomic_fetch_sub(&q->refs, 1) != 1) return;
    q->magic = DT_MAGIC_DEAD;
    dq_query_free(q->q);
    for (size_t i = 0; i < q->nrules; i++) {
        dt__free(q->rules[i].text);
        dq_query_free(q->rules[i].q);
    }
    dt__free(q->text);
    dt_value_free(&q->value);
    pthread_mutex_destroy(&q->mu);
    dt__free(q);
}

void dt_query_free(dt_query *q) { query_release(q); }

/* }====== */

/* {====== Inputs ====== */

/* The value of input i: given, or read from its EDN (into *tmp). */
static int input_value(const dt_input *in, size_t i, dt_value *tmp, const dt_value **out) {
    *out = NULL;
    if (in->value) {
        *out = in->value;
        return DT_OK;
    }
    if (in->edn) {
        int rc = dt_edn_read(in->edn, in->edn_len, tmp);
        if (rc != DT_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", dt_errmsg(NULL));
            return dt__seterr(NULL, rc, "query: input %zu: %s", i + 1, msg);
        }
        *out = tmp;
        return DT_OK;
    }
    return dt__seterr(NULL, DT_INVALID, "query: input %zu needs a value or EDN text, got %s", i + 1,
                      in->db ? "a database" : "nothing");
}

/* The table of one binding input: its variables, then rows. */
typedef struct inb {
    dq_arena *ar;
    dq_table *t;
    dt_value *row;
    size_t input;
    dq_exec *x;
} inb;

typedef struct inb_node {
    const dq_binding *b;
    const dt_value *v;
    const struct inb_node *next;
} inb_node;

static void collect_vars(const dq_binding *b, dq_var *vars, size_t *n) {
    if (b->kind == DQ_BIND_VAR) {
        if (b->var != DQ_NOVAR) vars[(*n)++] = b->var;
    } else if (b->kind != DQ_BIND_BLANK) {
        for (size_t i = 0; i < b->n; i++) collect_vars(&b->items[i], vars, n);
    }
}

static size_t count_vars(const dq_binding *b) {
    if (b->kind == DQ_BIND_VAR) return b->var != DQ_NOVAR;
    size_t n = 0;
    if (b->kind != DQ_BIND_BLANK)
        for (size_t i = 0; i < b->n; i++) n += count_vars(&b->items[i]);
    return n;
}

static int is_seq(const dt_value *v) {
    return v->type == DT_VECTOR || v->type == DT_LIST || v->type == DT_TUPLE || v->type == DT_SET;
}

static const char *form_name(dq_bind_kind k) {
    return k == DQ_BIND_TUPLE  ? "a tuple [?a ?b]"
           : k == DQ_BIND_COLL ? "a collection [?x ...]"
                               : "a relation [[?a ?b]]";
}

static int inb_walk(inb *s, const inb_node *p) {
    if (!p) {
        int rc = dq_table_add_row(s->t, s->row);
        if (rc != DT_OK) return nomem();
        return dq_exec_rows(s->x, s->t->nrows);
    }
    const dq_binding *b = p->b;
    const dt_value *v = p->v;
    int rc;
    switch (b->kind) {
    case DQ_BIND_VAR: {
        size_t c = 0;
        while (c < s->t->ncols && s->t->cols[c] != b->var) c++;
        /* nil binds as a value, as DataScript binds it */
        if (dq_arena_copy_value(s->ar, v, &s->row[c]) != DT_OK) return nomem();
        if (s->row[c].type == DT_REF) s->row[c].type = DT_LONG;
        return inb_walk(s, p->next);
    }
    case DQ_BIND_BLANK:
        return inb_walk(s, p->next);
    case DQ_BIND_TUPLE: {
        if (!is_seq(v) || v->u.seq.n < b->n)
            return dt__seterr(NULL, DT_INVALID,
                              "query: input %zu: expected %s of %zu elements, got a %s of %zu",
                              s->input + 1, form_name(b->kind), b->n, dt_type_name(v->type),
                              is_seq(v) ? v->u.seq.n : (size_t)1);
        inb_node *nodes = dt__malloc((b->n ? b->n : 1) * sizeof *nodes);
        if (!nodes) return nomem();
        for (size_t i = b->n; i-- > 0;)
            nodes[i] = (inb_node){&b->items[i], &v->u.seq.items[i],
                                  i + 1 < b->n ? &nodes[i + 1] : p->next};
        rc = b->n ? inb_walk(s, &nodes[0]) : inb_walk(s, p->next);
        dt__free(nodes);
        return rc;
    }
    case DQ_BIND_COLL:
    case DQ_BIND_REL:
        if (!is_seq(v))
            return dt__seterr(NULL, DT_INVALID, "query: input %zu: expected %s, got a %s",
                              s->input + 1, form_name(b->kind), dt_type_name(v->type));
        for (size_t i = 0; i < v->u.seq.n; i++) {
            dq_binding tb = {DQ_BIND_TUPLE, DQ_NOVAR, b->n, b->items};
            inb_node n = {b->kind == DQ_BIND_COLL ? &b->items[0] : &tb, &v->u.seq.items[i],
                          p->next};
            if ((rc = inb_walk(s, &n)) != DT_OK) return rc;
        }
        return DT_OK;
    }
    return DT_OK;
}

static int binding_table(dq_exec *x, size_t input, const dq_binding *b, const dt_value *v,
                         dq_table *t) {
    size_t n = count_vars(b);
    dq_var *vars = dt__malloc((n ? n : 1) * sizeof *vars);
    dt_value *row = dt__calloc(n ? n : 1, sizeof *row);
    int rc = vars && row ? DT_OK : nomem();
    if (rc == DT_OK) {
        n = 0;
        collect_vars(b, vars, &n);
        if (dq_table_init(t, vars, n) != DT_OK) rc = nomem();
    }
    if (rc == DT_OK) {
        inb s = {&x->arena, t, row, input, x};
        inb_node root = {b, v, NULL};
        rc = inb_walk(&s, &root);
    }
    dt__free(vars);
    dt__free(row);
    return rc;
}

/* }====== */

/* {====== Running ====== */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The tree to run: q->q, or the one parsed with these rules. *tmp gets a
 * tree the caller frees (the cache was full). */
static int tree_for(dt_query *q, const dt_input *inputs, size_t n, const dq_query **out,
                    dq_query **tmp) {
    *tmp = NULL;
    if (q->q) {
        *out = q->q;
        return DT_OK;
    }
    if ((size_t)q->rules_pos >= n)
        return dt__seterr(NULL, DT_INVALID, "query: expects %zu inputs (its :in), got %zu",
                          q->nin_form, n);
    const dt_input *ri = &inputs[q->rules_pos];
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (ri->edn) {
        if (!(text = dt__strndup(ri->edn, ri->edn_len))) return nomem();
        len = ri->edn_len;
    } else if (ri->value) {
        if ((rc = dt_edn_write(ri->value, DT_EDN_COMPACT, &text, &len)) != DT_OK) return rc;
    } else {
        return dt__seterr(NULL, DT_INVALID, "query: input %ld (%%) needs the rules",
                          q->rules_pos + 1);
    }
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < q->nrules; i++)
        if (q->rules[i].len == len && memcmp(q->rules[i].text, text, len) == 0) {
            *out = q->rules[i].q;
            pthread_mutex_unlock(&q->mu);
            if (ri->edn)
                dt__free(text);
            else
                dt_free(text);
            return DT_OK;
        }
    pthread_mutex_unlock(&q->mu);
    dq_input_form qf = {q->text, q->len, q->text ? NULL : &q->value};
    dq_input_form rf = {text, len, NULL};
    dq_query *t = NULL;
    rc = dq_parse(&qf, &rf, &t, NULL);
    char *kept = NULL;
    if (rc == DT_OK) kept = dt__strndup(text, len);
    if (ri->edn)
        dt__free(text);
    else
        dt_free(text);
    if (rc != DT_OK) return rc;
    pthread_mutex_lock(&q->mu);
    if (kept && q->nrules < RULES_CACHE) {
        q->rules[q->nrules++] = (rules_entry){kept, len, t};
        kept = NULL;
        *out = t;
    } else {
        *tmp = t;
        *out = t;
    }
    pthread_mutex_unlock(&q->mu);
    dt__free(kept);
    return DT_OK;
}

/* The database whose connection's host functions the query calls: its $,
 * else its first database input. */
/* 1 when a clause below (or at) cl reads source src: a pattern, rule
 * call, or/not naming it, a function given it, or any rule call or
 * source-taking function reading the default source when src is it. */
static int reads_src(const dq_query *q, const dq_clause *cl, int32_t src, int top) {
    int32_t s = cl->src;
    switch (cl->kind) {
    case DQ_CL_PATTERN:
        return !top && s == src;
    case DQ_CL_RULE:
        return s == src || (s < 0 && src == q->default_src) || s == DQ_SRC_CALLER;
    case DQ_CL_PRED:
    case DQ_CL_FN:
        for (size_t i = 0; i < cl->nterms; i++)
            if (cl->terms[i].kind == DQ_TERM_SRC)
                return cl->terms[i].id == src || cl->terms[i].id == DQ_SRC_CALLER;
        return cl->fn != DQ_FN_USER && dq_builtins[cl->fn].kind == DQ_FNK_SOURCE &&
               src == q->default_src;
    default:
        if (cl->src == src) return 1;
        for (size_t i = 0; i < cl->nclauses; i++)
            if (reads_src(q, &cl->clauses[i], src, 0)) return 1;
        return 0;
    }
}

/* Checks a collection given for source input i (id src): a vector, list
 * or set of tuples (vectors or lists), read only by data patterns at the
 * top of :where (as relations: a tuple matches a pattern of as many or
 * fewer positions). */
static int coll_source(const dq_query *q, size_t i, int32_t src, const dt_value *v) {
    const char *name = q->srcs[src];
    if (v->type != DT_VECTOR && v->type != DT_LIST && v->type != DT_SET)
        return dt__seterr(NULL, DT_INVALID,
                          "query: input %zu (%s) must be a database or a collection of tuples, "
                          "got a %s",
                          i + 1, name, dt_type_name(v->type));
    for (size_t k = 0; k < v->u.seq.n; k++) {
        dt_type t = v->u.seq.items[k].type;
        if (t != DT_VECTOR && t != DT_LIST && t != DT_TUPLE)
            return dt__seterr(NULL, DT_INVALID,
                              "query: input %zu (%s): item %zu of the collection is a %s, "
                              "not a tuple",
                              i + 1, name, k + 1, dt_type_name(t));
    }
    for (size_t k = 0; k < q->nwhere; k++)
        if (reads_src(q, &q->where[k], src, 1)) {
            const dq_clause *cl = &q->where[k];
            return dt__seterr(NULL, DT_INVALID,
                              "query: source %s is a collection: only data patterns at the top "
                              "of :where can read it (line %d, column %d)",
                              name, cl->line, cl->col);
        }
    for (size_t f = 0; f < q->nfind; f++)
        if (q->find[f].kind == DQ_ELEM_PULL && q->find[f].src == src)
            return dt__seterr(NULL, DT_INVALID,
                              "query: source %s is a collection: it has no "
                              "entities to pull",
                              name);
    return DT_OK;
}

static dt_db *fn_db(const dq_query *q, const dq_exec *x, const dt_input *inputs, size_t n) {
    if (q->default_src >= 0 && x->srcs[q->default_src]) return x->srcs[q->default_src];
    for (size_t i = 0; i < n; i++)
        if (inputs[i].db && dl_db_ok(inputs[i].db)) return inputs[i].db;
    return NULL;
}

static int run(dt_query *dq, const dt_input *inputs, size_t n, const dt_query_options *opts,
               dt_result **out) {
    const dq_query *q = NULL;
    dq_query *tmp_tree = NULL;
    int rc = tree_for(dq, inputs, n, &q, &tmp_tree);
    if (rc != DT_OK) return rc;
    size_t want = q->in_written ? q->nin : 1;
    if (n != want) {
        dq_query_free(tmp_tree);
        return dt__seterr(NULL, DT_INVALID, "query: expects %zu input%s (%s), got %zu", want,
                          want == 1 ? "" : "s", q->in_written ? "its :in" : "the database $", n);
    }
    dq_exec x;
    memset(&x, 0, sizeof x);
    x.q = q;
    dt_value *tmps = dt__calloc(n ? n : 1, sizeof *tmps);
    const dt_value **pats = dt__calloc(q->nin ? q->nin : 1, sizeof *pats);
    x.srcs = dt__calloc(q->nsrcs ? q->nsrcs : 1, sizeof *x.srcs);
    x.srcvals = dt__calloc(q->nsrcs ? q->nsrcs : 1, sizeof *x.srcvals);
    x.in = dt__calloc(q->nin ? q->nin : 1, sizeof *x.in);
    dq_table rows = DQ_TABLE_INIT;
    if (!tmps || !pats || !x.srcs || !x.srcvals || !x.in) rc = nomem();
    if (rc == DT_OK && opts) {
        if (opts->version < 1 || opts->version > DT_QUERY_OPTIONS_VERSION)
            rc = dt__seterr(NULL, DT_INVALID,
                            "query options version %u unknown (library knows 1..%d)", opts->version,
                            DT_QUERY_OPTIONS_VERSION);
        if (opts->timeout_ms) x.deadline_ns = now_ns() + (int64_t)opts->timeout_ms * 1000000;
        x.max_rows = opts->max_rows;
        x.cancel = opts->cancel;
    }
    if (rc == DT_OK && !q->in_written) {
        if (!inputs[0].db || !dl_db_ok(inputs[0].db))
            rc = dt__seterr(NULL, DT_INVALID, "query: input 1 ($) must be a database");
        else if (q->default_src >= 0)
            x.srcs[q->default_src] = inputs[0].db;
    }
    for (size_t i = 0; rc == DT_OK && q->in_written && i < q->nin; i++) {
        const dq_input *in = &q->in[i];
        const dt_value *v = NULL;
        switch (in->kind) {
        case DQ_IN_SRC:
            if (inputs[i].db) {
                if (!dl_db_ok(inputs[i].db))
                    rc = dt__seterr(NULL, DT_INVALID, "query: input %zu (%s) must be a database",
                                    i + 1, q->srcs[in->src]);
                else
                    x.srcs[in->src] = inputs[i].db;
            } else if ((rc = input_value(&inputs[i], i, &tmps[i], &v)) == DT_OK) {
                rc = coll_source(q, i, in->src, v);
                if (rc == DT_OK) x.srcvals[in->src] = v;
            }
            break;
        case DQ_IN_RULES:
            break;
        case DQ_IN_PATTERN:
            if ((rc = input_value(&inputs[i], i, &tmps[i], &v)) == DT_OK) pats[i] = v;
            break;
        case DQ_IN_BINDING:
            if ((rc = input_value(&inputs[i], i, &tmps[i], &v)) == DT_OK)
                rc = binding_table(&x, i, &in->bind, v, &x.in[i]);
            break;
        }
    }
    if (rc == DT_OK && q->nufns) rc = dq_exec_bind_fns(&x, fn_db(q, &x, inputs, n));
    if (rc == DT_OK && (rc = dq_fnctx_new(&x.fn)) != DT_OK) rc = nomem();
    if (rc == DT_OK) {
        if (opts && opts->plan == DT_PLAN_NAIVE)
            rc = dq_eval_naive(&x, &rows);
        else
            rc = dq_eval(&x, &rows);
    }
    if (rc == DT_OK) rc = dq_result_build(&x, &rows, pats, out);
    if (rc == DT_OK && x.max_rows && dt_result_count(*out) > x.max_rows) {
        dt_result_free(*out);
        *out = NULL;
        rc = dq_exec_rows(&x, x.max_rows + 1);
    }
    dq_table_release(&rows);
    if (x.in)
        for (size_t i = 0; i < q->nin; i++) dq_table_release(&x.in[i]);
    if (x.fn) dq_fnctx_free(x.fn);
    dq_arena_release(&x.arena);
    if (tmps)
        for (size_t i = 0; i < n; i++) dt_value_free(&tmps[i]);
    dt__free(tmps);
    dt__free(pats);
    dt__free(x.srcs);
    dt__free((void *)x.srcvals);
    dt__free(x.in);
    dt__free((void *)x.ufn);
    dq_query_free(tmp_tree);
    return rc;
}

int dt_query_run(const dt_query *q, const dt_input *inputs, size_t n, const dt_query_options *opts,
                 dt_result **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_query_run: NULL out");
    *out = NULL;
    if (!q || q->magic != DT_MAGIC_QUERY)
        return dt__seterr(NULL, DT_MISUSE, "dt_query_run: not a prepared query");
    if (!inputs && n) return dt__seterr(NULL, DT_MISUSE, "dt_query_run: NULL inputs");
    return run((dt_query *)q, inputs, n, opts, out);
}

/* }====== */

/* {====== The process-wide cache ====== */

typedef struct qc_entry {
    char *text;
    size_t len;
    dt_query *q;
    uint64_t used;
} qc_entry;

static pthread_mutex_t qc_mu = PTHREAD_MUTEX_INITIALIZER;
static qc_entry qc[QCACHE_SIZE];
static uint64_t qc_clock;

/* A prepared query for text (a reference the caller releases). */
static int cached(const char *text, size_t len, dt_query **out) {
    pthread_mutex_lock(&qc_mu);
    for (size_t i = 0; i < QCACHE_SIZE; i++)
        if (qc[i].q && qc[i].len == len && memcmp(qc[i].text, text, len) == 0) {
            atomic_fetch_add(&qc[i].q->refs, 1);
            qc[i].used = ++qc_clock;
            *out = qc[i].q;
            pthread_mutex_unlock(&qc_mu);
            return DT_OK;
        }
    pthread_mutex_unlock(&qc_mu);
    dt_query *q;
    int rc = prepare(text, len, NULL, &q);
    if (rc != DT_OK) return rc;
    char *key = dt__strndup(text, len);
    pthread_mutex_lock(&qc_mu);
    if (key) {
        size_t victim = 0;
        for (size_t i = 0; i < QCACHE_SIZE; i++) {
            if (!qc[i].q) {
                victim = i;
                break;
            }
            if (qc[i].used < qc[victim].used) victim = i;
        }
        dt_query *old = qc[victim].q;
        char *oldkey = qc[victim].text;
        atomic_fetch_add(&q->refs, 1);
        qc[victim] = (qc_entry){key, len, q, ++qc_clock};
        pthread_mutex_unlock(&qc_mu);
        query_release(old);
        dt__free(oldkey);
    } else {
        pthread_mutex_unlock(&qc_mu);
    }
    *out = q;
    return DT_OK;
}

int dt_q_inputs(const char *text, size_t len, const dt_input *inputs, size_t n,
                const dt_query_options *opts, dt_result **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_q_inputs: NULL out");
    *out = NULL;
    if (!text) return dt__seterr(NULL, DT_MISUSE, "dt_q_inputs: NULL text");
    if (!inputs && n) return dt__seterr(NULL, DT_MISUSE, "dt_q_inputs: NULL inputs");
    dt_query *q;
    int rc = cached(text, len, &q);
    if (rc != DT_OK) return rc;
    rc = run(q, inputs, n, opts, out);
    query_release(q);
    return rc;
}

int dt_q(dt_db *db, const char *text, dt_result **out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "dt_q: NULL out");
    *out = NULL;
    if (!db || !dl_db_ok(db)) return dt__seterr(NULL, DT_MISUSE, "dt_q: not a database");
    if (!text) return dt__seterr(db, DT_MISUSE, "dt_q: NULL text");
    dt_input in = {db, NULL, NULL, 0};
    int rc = dt_q_inputs(text, strlen(text), &in, 1, NULL, out);
    if (rc != DT_OK) return dt__moveerr(NULL, db, rc);
    return DT_OK;
}

/* }====== */
