/*
 * test_query_parse.c -- the query parser (query/parse.h): one case per
 * construct of the language and per error Datomic reports when parsing,
 * the printer (parse -> print -> parse prints the same), the built-in
 * table, every :op :q query of the shared conformance suite, the
 * benchmark queries, and robustness (mutated input, deep nesting,
 * allocation failures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "base.h"
#include "edn.h"
#include "parse.h"

/* {====== Helpers ====== */

/* Parses or fails the test with the parser's message. */
static dq_query *ok_rules(const char *text, const char *rules) {
    dq_query *q = NULL;
    int rc = dq_parse_text(text, rules, &q, NULL);
    if (rc != DT_OK) fail_msg("parse of %s failed (%d): %s", text, rc, dt_errmsg(NULL));
    assert_non_null(q);
    return q;
}
static dq_query *ok(const char *text) { return ok_rules(text, NULL); }

/* The printed text of a query (malloc'd) and of its rules. */
static char *printed(const dq_query *q, int rules) {
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(rules ? dq_rules_print(q, &b) : dq_query_print(q, &b), DT_OK);
    char *s = strndup((const char *)b.p, b.len);
    dt_buf_release(&b);
    return s;
}

/*
 * Parses, prints, parses the print and prints again: both prints must be
 * the same text (for the query and the rules), and the first must equal
 * `want` when given.
 */
static void roundtrip_rules(const char *text, const char *rules, const char *want) {
    dq_query *q = ok_rules(text, rules);
    char *p1 = printed(q, 0), *r1 = printed(q, 1);
    if (want) assert_string_equal(p1, want);
    dq_query *q2 = ok_rules(p1, rules ? r1 : NULL);
    char *p2 = printed(q2, 0), *r2 = printed(q2, 1);
    assert_string_equal(p1, p2);
    assert_string_equal(r1, r2);
    free(p1);
    free(p2);
    free(r1);
    free(r2);
    dq_query_free(q);
    dq_query_free(q2);
}
static void roundtrip(const char *text, const char *want) { roundtrip_rules(text, NULL, want); }

/*
 * The parse must fail with rc, a message containing `what` (and, when
 * line > 0, the position line:col, also in the message).
 */
static void err_rules(const char *text, const char *rules, int rc, const char *what, int line,
                      int col) {
    dq_query *q = (dq_query *)1;
    dq_errpos pos;
    int got = dq_parse_text(text, rules, &q, &pos);
    const char *msg = dt_errmsg(NULL);
    if (got != rc) fail_msg("%s: expected rc %d, got %d (%s)", text, rc, got, got ? msg : "parsed");
    assert_null(q);
    if (!strstr(msg, what)) fail_msg("%s: message '%s' lacks '%s'", text, msg, what);
    if (line > 0) {
        char at[32];
        snprintf(at, sizeof at, " at %d:%d", line, col);
        if (pos.line != line || pos.col != col || !strstr(msg, at))
            fail_msg("%s: expected position %d:%d, got %d:%d (%s)", text, line, col, pos.line,
                     pos.col, msg);
    }
}
static void err(const char *text, const char *what, int line, int col) {
    err_rules(text, NULL, DT_INVALID, what, line, col);
}

static dq_var var_id(const dq_query *q, const char *name) {
    for (size_t i = 0; i < q->vars.n; i++)
        if (!strcmp(q->vars.names[i], name)) return (dq_var)i;
    fail_msg("no variable %s", name);
    return DQ_NOVAR;
}

/* }====== */

/* {====== :find, :with, return maps ====== */

static void test_find_relation(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e ?n :where [?e :name ?n]]");
    assert_int_equal(q->find_kind, DQ_FIND_REL);
    assert_int_equal(q->nfind, 2);
    assert_int_equal(q->find[0].kind, DQ_ELEM_VAR);
    assert_int_equal(q->find[0].var, var_id(q, "?e"));
    assert_int_equal(q->find[1].var, var_id(q, "?n"));
    /* variables are small ids in order of first appearance (:where is read first) */
    assert_int_equal(q->vars.n, 2);
    assert_int_equal(var_id(q, "?e"), 0);
    assert_int_equal(var_id(q, "?n"), 1);
    /* no :in means :in $ */
    assert_int_equal(q->in_written, 0);
    assert_int_equal(q->nin, 1);
    assert_int_equal(q->in[0].kind, DQ_IN_SRC);
    assert_int_equal(q->default_src, 0);
    assert_string_equal(q->srcs[0], "$");
    dq_query_free(q);
    roundtrip("[:find ?e ?n :where [?e :name ?n]]", "[:find ?e ?n :where [?e :name ?n]]");
}

static void test_find_scalar_coll_tuple(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?n . :where [_ :name ?n]]");
    assert_int_equal(q->find_kind, DQ_FIND_SCALAR);
    assert_int_equal(q->nfind, 1);
    dq_query_free(q);
    q = ok("[:find [?n ...] :where [_ :name ?n]]");
    assert_int_equal(q->find_kind, DQ_FIND_COLL);
    assert_int_equal(q->nfind, 1);
    dq_query_free(q);
    q = ok("[:find [?n ?a] :where [?e :name ?n] [?e :age ?a]]");
    assert_int_equal(q->find_kind, DQ_FIND_TUPLE);
    assert_int_equal(q->nfind, 2);
    dq_query_free(q);
    roundtrip("[:find ?n . :where [_ :name ?n]]", "[:find ?n . :where [_ :name ?n]]");
    roundtrip("[:find [?n ...] :where [_ :name ?n]]", "[:find [?n ...] :where [_ :name ?n]]");
    roundtrip("[:find [?n ?a] :where [?e :name ?n] [?e :age ?a]]",
              "[:find [?n ?a] :where [?e :name ?n] [?e :age ?a]]");
    roundtrip("[:find [(min ?a) (max ?a)] :where [_ :age ?a]]",
              "[:find [(min ?a) (max ?a)] :where [_ :age ?a]]");
}

static void test_find_aggregates(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?d (count ?e) (min 3 ?s) (sample 2 ?s) (count-distinct ?s) :with ?x "
                     ":where [?e :dept ?d] [?e :salary ?s] [?e :x ?x]]");
    assert_int_equal(q->nfind, 5);
    assert_int_equal(q->find[1].kind, DQ_ELEM_AGG);
    assert_int_equal(q->find[1].agg, DQ_AGG_COUNT);
    assert_int_equal(q->find[1].var, var_id(q, "?e"));
    assert_int_equal(q->find[1].nargs, 0);
    assert_int_equal(q->find[2].agg, DQ_AGG_MIN);
    assert_int_equal(q->find[2].nargs, 1);
    assert_int_equal(q->find[2].args[0].kind, DQ_TERM_CONST);
    assert_int_equal(q->find[2].args[0].value->u.i, 3);
    assert_int_equal(q->find[3].agg, DQ_AGG_SAMPLE);
    assert_int_equal(q->find[4].agg, DQ_AGG_COUNT_DISTINCT);
    assert_int_equal(q->nwith, 1);
    assert_int_equal(q->with[0], var_id(q, "?x"));
    dq_query_free(q);
    /* every aggregate of the table parses and prints back */
    for (size_t i = 0; i < DQ_AGG_COUNT_; i++) {
        char text[200], want[200];
        const dq_aggregate *a = &dq_aggregates[i];
        assert_int_equal(a->id, (dq_agg_id)i);
        assert_ptr_equal(dq_aggregate_find(a->name, strlen(a->name)), a);
        if (a->min_args == 2)
            snprintf(text, sizeof text, "[:find (%s 5 ?x) :where [_ :a ?x]]", a->name);
        else
            snprintf(text, sizeof text, "[:find (%s ?x) :where [_ :a ?x]]", a->name);
        snprintf(want, sizeof want, "%s", text);
        roundtrip(text, want);
    }
    /* a leading argument may be an input variable, as in (max ?n ?x) */
    roundtrip("[:find ?c (max ?amount ?x) :in [[?c ?x]] ?amount]",
              "[:find ?c (max ?amount ?x) :in [[?c ?x]] ?amount]");
}

static void test_find_pull(void **state) {
    (void)state;
    dq_query *q = ok("[:find (pull ?e [:name {:friend [:name]}]) :where [?e :name]]");
    assert_int_equal(q->find[0].kind, DQ_ELEM_PULL);
    assert_int_equal(q->find[0].var, var_id(q, "?e"));
    assert_int_equal(q->find[0].src, 0);
    assert_non_null(q->find[0].pattern);
    assert_int_equal(q->find[0].pattern->type, DT_VECTOR);
    dq_query_free(q);
    q = ok("[:find (pull $h ?e pat) (pull ?e ?p) :in $ $h pat ?p :where [?e :name]]");
    assert_int_equal(q->find[0].src, 1);
    assert_int_equal(q->find[0].explicit_src, 1);
    assert_int_equal(q->find[0].pattern_in, 2);
    assert_int_equal(q->find[1].pattern_var, var_id(q, "?p"));
    dq_query_free(q);
    roundtrip("[:find (pull ?e [*]) :where [?e :email \"a\"]]",
              "[:find (pull ?e [*]) :where [?e :email \"a\"]]");
    roundtrip("[:find (pull $h ?e pat) (pull ?e ?p) :in $ $h pat ?p :where [?e :name]]",
              "[:find (pull $h ?e pat) (pull ?e ?p) :in $ $h pat ?p :where [?e :name]]");
}

static void test_find_return_maps(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?n ?a :keys name age :where [?e :name ?n] [?e :age ?a]]");
    assert_int_equal(q->ret, DQ_RET_KEYS);
    assert_string_equal(q->ret_names[0], "name");
    assert_string_equal(q->ret_names[1], "age");
    dq_query_free(q);
    q = ok("{:find [?n] :strs [name] :where [[?e :name ?n]]}");
    assert_int_equal(q->ret, DQ_RET_STRS);
    dq_query_free(q);
    roundtrip("[:find ?n :syms n :where [_ :name ?n]]", "[:find ?n :syms n :where [_ :name ?n]]");
    roundtrip("[:find [?n ?a] :keys n a :where [?e :name ?n] [?e :age ?a]]",
              "[:find [?n ?a] :keys n a :where [?e :name ?n] [?e :age ?a]]");
}

static void test_map_form(void **state) {
    (void)state;
    dq_query *q = ok("{:find [?e] :in [$ ?n] :with [?x] :where [[?e :name ?n] [?e :x ?x]]}");
    assert_int_equal(q->nfind, 1);
    assert_int_equal(q->nin, 2);
    assert_int_equal(q->nwith, 1);
    assert_int_equal(q->nwhere, 2);
    dq_query_free(q);
    /* the map form prints in vector form */
    roundtrip("{:find [?e] :in [$ ?n] :where [[?e :name ?n]]}",
              "[:find ?e :in $ ?n :where [?e :name ?n]]");
    /* sections in any order */
    roundtrip("[:find ?e :where [?e :name ?n] :in $ ?n]",
              "[:find ?e :in $ ?n :where [?e :name ?n]]");
}

/* }====== */

/* {====== :in ====== */

static void test_in_bindings(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e ?k ?c :in $ $hist % ?n [?a ?b] [?c ...] [[?k _ ?v]] pat _ "
                     ":where [?e :name ?n] [$hist ?e :age ?a] [?e :b ?b] [?e :c ?c] [?e :v ?v]]");
    assert_int_equal(q->in_written, 1);
    assert_int_equal(q->nin, 9);
    assert_int_equal(q->in[0].kind, DQ_IN_SRC);
    assert_int_equal(q->in[1].kind, DQ_IN_SRC);
    assert_int_equal(q->in[1].src, 1);
    assert_string_equal(q->srcs[1], "$hist");
    assert_int_equal(q->in[2].kind, DQ_IN_RULES);
    assert_int_equal(q->in[3].kind, DQ_IN_BINDING);
    assert_int_equal(q->in[3].bind.kind, DQ_BIND_VAR);
    assert_int_equal(q->in[4].bind.kind, DQ_BIND_TUPLE);
    assert_int_equal(q->in[4].bind.n, 2);
    assert_int_equal(q->in[5].bind.kind, DQ_BIND_COLL);
    assert_int_equal(q->in[5].bind.items[0].var, var_id(q, "?c"));
    assert_int_equal(q->in[6].bind.kind, DQ_BIND_REL);
    assert_int_equal(q->in[6].bind.n, 3);
    assert_int_equal(q->in[6].bind.items[1].kind, DQ_BIND_BLANK);
    assert_int_equal(q->in[7].kind, DQ_IN_PATTERN);
    assert_string_equal(q->in[7].name, "pat");
    assert_int_equal(q->in[8].bind.kind, DQ_BIND_BLANK);
    assert_int_equal(q->where[1].src, 1);
    assert_int_equal(q->where[1].explicit_src, 1);
    assert_int_equal(q->where[0].src, 0);
    dq_query_free(q);
    roundtrip("[:find ?e :in $ $hist % ?n [?a ?b] [?c ...] [[?k _ ?v]] pat _ :where [?e :name ?n] "
              "[$hist ?e :age ?a] [?e :b ?b] [?e :c ?c] [?e :k ?k] [?e :v ?v]]",
              NULL);
    /* nested bindings, as Datomic allows */
    dq_query *n = ok("[:find ?a ?b :in [[?a [?b ...]]]]");
    assert_int_equal(n->in[0].bind.kind, DQ_BIND_REL);
    assert_int_equal(n->in[0].bind.items[1].kind, DQ_BIND_COLL);
    dq_query_free(n);
    roundtrip("[:find ?a ?b :in [[?a [?b ...]]]]", "[:find ?a ?b :in [[?a [?b ...]]]]");
}

/* }====== */

/* {====== :where ====== */

static void test_data_patterns(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e ?tx :in $ $b :where [?e :name \"Ivan\" ?tx true] [$b ?e _ 25] "
                     "[[:email \"a@b\"] :friend ?e] [?e :follows [:email \"c\"]] [?e] "
                     "[17 ?a ?e] [?e :db/ident :x/y]]");
    dq_clause *c = q->where;
    assert_int_equal(q->nwhere, 7);
    assert_int_equal(c[0].kind, DQ_CL_PATTERN);
    assert_int_equal(c[0].nterms, 5);
    assert_int_equal(c[0].terms[0].kind, DQ_TERM_VAR);
    assert_int_equal(c[0].terms[1].kind, DQ_TERM_CONST);
    assert_int_equal(c[0].terms[1].value->type, DT_KEYWORD);
    assert_int_equal(c[0].terms[2].value->type, DT_STRING);
    assert_int_equal(c[0].terms[3].id, var_id(q, "?tx"));
    assert_int_equal(c[0].terms[4].value->type, DT_BOOL);
    assert_int_equal(c[0].src, 0);
    assert_int_equal(c[0].explicit_src, 0);
    assert_int_equal(c[1].src, 1);
    assert_int_equal(c[1].nterms, 3);
    assert_int_equal(c[1].terms[1].kind, DQ_TERM_BLANK);
    assert_int_equal(c[2].terms[0].kind, DQ_TERM_CONST); /* lookup ref as entity */
    assert_int_equal(c[2].terms[0].value->type, DT_VECTOR);
    assert_int_equal(c[3].terms[2].value->type, DT_VECTOR); /* lookup ref as value */
    assert_int_equal(c[4].nterms, 1);
    assert_int_equal(c[5].terms[0].value->u.i, 17);
    /* clause positions come from the text */
    assert_int_equal(c[0].line, 1);
    assert_int_equal(c[0].col, 31);
    dq_query_free(q);
    roundtrip("[:find ?e ?tx :in $ $b :where [?e :name \"Ivan\" ?tx true] [$b ?e _ 25] "
              "[[:email \"a@b\"] :friend ?e] [?e :follows [:email \"c\"]] [?e] [17 ?a ?e]]",
              "[:find ?e ?tx :in $ $b :where [?e :name \"Ivan\" ?tx true] [$b ?e _ 25] "
              "[[:email \"a@b\"] :friend ?e] [?e :follows [:email \"c\"]] [?e] [17 ?a ?e]]");
}

static void test_predicates(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e :where [?e :age ?a] [(< 18 ?a 65)] [(clojure.string/starts-with? "
                     "?n \"I\")] [?e :name ?n] [(missing? $ ?e :email)]]");
    assert_int_equal(q->where[1].kind, DQ_CL_PRED);
    assert_int_equal(q->where[1].fn, DQ_FN_LT);
    assert_int_equal(q->where[1].nterms, 3);
    assert_int_equal(q->where[1].src, DQ_SRC_NONE);
    assert_int_equal(q->where[2].fn, DQ_FN_STARTS_WITH);
    assert_int_equal(q->where[4].fn, DQ_FN_MISSING_P);
    assert_int_equal(q->where[4].terms[0].kind, DQ_TERM_SRC);
    assert_int_equal(q->where[4].terms[0].id, 0);
    dq_query_free(q);
    roundtrip(
        "[:find ?e :where [?e :age ?a] [(< 18 ?a 65)] [(!= ?a 30)] [(missing? $ ?e :email)]]",
        "[:find ?e :where [?e :age ?a] [(< 18 ?a 65)] [(!= ?a 30)] [(missing? $ ?e :email)]]");
}

static void test_function_bindings(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?x ?y ?z ?n ?a ?s :where [(ground [[1 :a] [2 :b]]) [[?x ?y]]] "
                     "[(range 3) [?z ...]] [(ground [\"x\" 1]) [?n _]] [(inc ?z) ?a] "
                     "[(get-else $ ?x :age 0) ?s]]");
    dq_clause *c = q->where;
    assert_int_equal(c[0].kind, DQ_CL_FN);
    assert_int_equal(c[0].fn, DQ_FN_GROUND);
    assert_int_equal(c[0].bind.kind, DQ_BIND_REL);
    assert_int_equal(c[0].bind.n, 2);
    assert_int_equal(c[1].bind.kind, DQ_BIND_COLL);
    assert_int_equal(c[2].bind.kind, DQ_BIND_TUPLE);
    assert_int_equal(c[2].bind.items[1].kind, DQ_BIND_BLANK);
    assert_int_equal(c[3].bind.kind, DQ_BIND_VAR);
    assert_int_equal(c[3].bind.var, var_id(q, "?a"));
    assert_int_equal(c[4].fn, DQ_FN_GET_ELSE);
    dq_query_free(q);
    roundtrip("[:find ?x ?y ?z ?n :where [(ground [[1 :a] [2 :b]]) [[?x ?y]]] [(range 3) [?z ...]] "
              "[(ground [\"x\" 1]) [?n _]] [(get-else $ ?x :age 0) ?s]]",
              "[:find ?x ?y ?z ?n :where [(ground [[1 :a] [2 :b]]) [[?x ?y]]] [(range 3) [?z ...]] "
              "[(ground [\"x\" 1]) [?n _]] [(get-else $ ?x :age 0) ?s]]");
}

static const char *FOLLOWS = "[[(follows ?x ?y) [?x :follows ?y]]"
                             " [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]";

static void test_rules(void **state) {
    (void)state;
    dq_query *q =
        ok_rules("[:find ?x ?y :in $ $b % :where (follows ?x ?y) ($b follows ?y 3)]", FOLLOWS);
    assert_int_equal(q->nrules, 1);
    const dq_rule *r = &q->rules[0];
    assert_string_equal(r->name, "follows");
    assert_int_equal(r->arity, 2);
    assert_int_equal(r->nreq, 0);
    assert_int_equal(r->nbodies, 2);
    /* in each body the head variables are ids 0..arity-1 */
    assert_string_equal(r->bodies[1].vars.names[0], "?x");
    assert_string_equal(r->bodies[1].vars.names[1], "?y");
    assert_string_equal(r->bodies[1].vars.names[2], "?t");
    assert_int_equal(r->bodies[1].nclauses, 2);
    assert_int_equal(r->bodies[1].clauses[0].src, DQ_SRC_CALLER);
    assert_int_equal(r->bodies[1].clauses[1].kind, DQ_CL_RULE);
    assert_int_equal(r->bodies[1].clauses[1].rule, 0);
    assert_int_equal(r->bodies[1].clauses[1].in_rules, 1);
    assert_int_equal(r->bodies[1].line, 1);
    assert_int_equal(r->bodies[1].col, 37);
    assert_int_equal(q->where[0].kind, DQ_CL_RULE);
    assert_int_equal(q->where[0].src, 0);
    assert_int_equal(q->where[1].src, 1);
    assert_int_equal(q->where[1].explicit_src, 1);
    assert_int_equal(q->where[1].terms[1].kind, DQ_TERM_CONST);
    dq_query_free(q);
    roundtrip_rules("[:find ?x ?y :in $ $b % :where (follows ?x ?y) ($b follows ?y 3)]", FOLLOWS,
                    "[:find ?x ?y :in $ $b % :where (follows ?x ?y) ($b follows ?y 3)]");
    /* the rules print back as written */
    q = ok_rules("[:find ?x :in $ % :where (follows 1 ?x)]", FOLLOWS);
    char *rp = printed(q, 1);
    assert_string_equal(rp, FOLLOWS);
    free(rp);
    dq_query_free(q);
}

static void test_rules_required_vars(void **state) {
    (void)state;
    const char *rules = "[[(older [?a] ?b) [?a :age ?x] [?b :age ?y] [(> ?x ?y)]]"
                        " [(older [?a] ?b) [?a :boss ?b]]"
                        " [(anc ?a ?d) [?d :parent ?a]] [(anc ?a ?d) [?d :parent ?x] (anc ?a ?x)]]";
    dq_query *q = ok_rules("[:find ?b :in $ % ?a :where (older ?a ?b)]", rules);
    assert_int_equal(q->nrules, 2);
    assert_int_equal(q->rules[0].nreq, 1);
    assert_int_equal(q->rules[0].arity, 2);
    dq_query_free(q);
    roundtrip_rules("[:find ?b :in $ % ?a :where (older ?a ?b)]", rules, NULL);
    /* the required argument must be bound */
    err_rules("[:find ?b :in $ % :where (older ?a ?b)]", rules, DT_INVALID,
              "insufficient bindings: ?a is not bound (a required argument of rule older)", 1, 26);
    err_rules("[:find ?b :in $ % :where [?b :age] (older _ ?b)]", rules, DT_INVALID,
              "rule older needs a value for its required argument 1", 1, 36);
}

static void test_or_and(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e :where [?e :name] (or [?e :pet _] (and [?e :name \"x\"] "
                     "(not [?e :salary])))]");
    dq_clause *o = &q->where[1];
    assert_int_equal(o->kind, DQ_CL_OR);
    assert_int_equal(o->nclauses, 2);
    assert_int_equal(o->clauses[1].kind, DQ_CL_AND);
    assert_int_equal(o->clauses[1].nclauses, 2);
    assert_int_equal(o->clauses[1].clauses[1].kind, DQ_CL_NOT);
    /* the variables the branches share */
    assert_int_equal(o->nvars, 1);
    assert_int_equal(o->vars[0], var_id(q, "?e"));
    dq_query_free(q);
    roundtrip("[:find ?e :where [?e :name] (or [?e :pet _] (and [?e :name \"x\"] (not [?e "
              ":salary])))]",
              "[:find ?e :where [?e :name] (or [?e :pet _] (and [?e :name \"x\"] (not [?e "
              ":salary])))]");
    /* a branch of predicates only, on a variable bound outside */
    roundtrip("[:find ?n :where [_ :n ?n] (or [(clojure.string/includes? ?n \"a\")] "
              "[(clojure.string/includes? ?n \"b\")])]",
              NULL);
    /* an or binds what every branch binds */
    roundtrip("[:find ?e ?x :where (or [?e :a ?x] [?e :b ?x])]", NULL);
    roundtrip("[:find ?x :in $a :where ($a or [?x :a 1] [?x :b 2])]",
              "[:find ?x :in $a :where ($a or [?x :a 1] [?x :b 2])]");
}

static void test_or_join(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e :in $ ?min :where [?e :name] (or-join [[?e ?min] ?x] (and [?e "
                     ":age ?x] [(> ?x ?min)]) [?e :vip ?x])]");
    dq_clause *o = &q->where[1];
    assert_int_equal(o->kind, DQ_CL_OR_JOIN);
    assert_int_equal(o->nvars, 3);
    assert_int_equal(o->nreq, 2);
    assert_int_equal(o->vars[0], var_id(q, "?e"));
    assert_int_equal(o->vars[1], var_id(q, "?min"));
    assert_int_equal(o->vars[2], var_id(q, "?x"));
    dq_query_free(q);
    roundtrip("[:find ?e :in $ ?min :where [?e :name] (or-join [[?e ?min] ?x] (and [?e :age ?x] "
              "[(> ?x ?min)]) [?e :vip ?x])]",
              "[:find ?e :in $ ?min :where [?e :name] (or-join [[?e ?min] ?x] (and [?e :age ?x] "
              "[(> ?x ?min)]) [?e :vip ?x])]");
    /* only the listed variables come in: ?min is local to the branch, so unbound */
    err("[:find ?e :in $ ?min :where [?e :name] (or-join [?e] (and [?e :age ?x] [(> ?x ?min)]))]",
        "insufficient bindings: ?min is not bound", 1, 72);
    /* branch-local variables need not match */
    roundtrip("[:find ?e :where [?e :name] (or-join [?e] [?e :a ?t] (and [?e :b ?u] [?u :c 1]))]",
              NULL);
}

static void test_not_and_not_join(void **state) {
    (void)state;
    dq_query *q = ok("[:find ?e :where [?e :name] (not [?e :follows ?x] [?x :sex :female])]");
    dq_clause *n = &q->where[1];
    assert_int_equal(n->kind, DQ_CL_NOT);
    assert_int_equal(n->nclauses, 2);
    /* the join variables: those of the not that are bound outside it */
    assert_int_equal(n->nvars, 1);
    assert_int_equal(n->vars[0], var_id(q, "?e"));
    dq_query_free(q);
    q = ok("[:find ?c :where [?c :customer/name] (not-join [?c] [?o :order/customer ?c] "
           "[?o :order/status :cancelled])]");
    assert_int_equal(q->where[1].kind, DQ_CL_NOT_JOIN);
    assert_int_equal(q->where[1].nvars, 1);
    dq_query_free(q);
    roundtrip("[:find ?c :where [?c :customer/name] (not-join [?c] [?o :order/customer ?c] [?o "
              ":order/status :cancelled])]",
              "[:find ?c :where [?c :customer/name] (not-join [?c] [?o :order/customer ?c] [?o "
              ":order/status :cancelled])]");
    roundtrip("[:find ?e :where [?e :age ?a] (not [(< ?a 30)])]",
              "[:find ?e :where [?e :age ?a] (not [(< ?a 30)])]");
}

/* }====== */

/* {====== Errors ====== */

static void test_error_unknown_function(void **state) {
    (void)state;
    err("[:find ?e :where [?e :age ?a] [(foo ?a)]]", "unknown function foo in [(foo ?a)]", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(?f ?a)]]", "a function call starts with a function name",
        1, 31);
    err("[:find (foo ?a) :where [?e :age ?a]]", "unknown aggregate foo in (foo ?a)", 1, 8);
}

/* A namespaced name that is no built-in is a host function: parsed (any
 * number of arguments), listed once per name in q->ufns with its first
 * clause, printed back; clojure.* names stay unknown. */
static void test_host_functions(void **state) {
    (void)state;
    const char *text = "[:find ?s :in $ % :where [?e :age ?a] [(acme/ok? ?a)] "
                       "[(acme/score ?a 2 \"x\") [?s ...]] (r ?e) [(acme/ok?)]]";
    const char *rules = "[[(r ?e) [?e :age ?b] [(acme/score ?b) ?c] [(other/f ?c)]]]";
    dq_query *q = ok_rules(text, rules);
    assert_int_equal(q->nufns, 3);
    int ok_i = -1, score_i = -1, f_i = -1;
    for (size_t i = 0; i < q->nufns; i++) {
        if (!strcmp(q->ufns[i].name, "acme/ok?")) ok_i = (int)i;
        if (!strcmp(q->ufns[i].name, "acme/score")) score_i = (int)i;
        if (!strcmp(q->ufns[i].name, "other/f")) f_i = (int)i;
    }
    assert_true(ok_i >= 0 && score_i >= 0 && f_i >= 0);
    assert_int_equal(q->where[1].kind, DQ_CL_PRED);
    assert_int_equal(q->where[1].fn, DQ_FN_USER);
    assert_int_equal(q->where[1].ufn, ok_i);
    assert_ptr_equal(q->ufns[ok_i].first, &q->where[1]);
    assert_int_equal(q->where[2].kind, DQ_CL_FN);
    assert_int_equal(q->where[2].ufn, score_i);
    assert_int_equal(q->where[2].nterms, 3);
    assert_int_equal(q->where[4].ufn, ok_i);
    assert_int_equal(q->where[4].nterms, 0);
    assert_int_equal(q->rules[0].bodies[0].clauses[1].ufn, score_i);
    assert_int_equal(q->rules[0].bodies[0].clauses[2].ufn, f_i);
    dq_query_free(q);
    roundtrip_rules(text, rules,
                    "[:find ?s :in $ % :where [?e :age ?a] [(acme/ok? ?a)] [(acme/score ?a 2 "
                    "\"x\") [?s ...]] (r ?e) [(acme/ok?)]]");
    assert_int_equal(dq_is_user_fn_name("a/b", 3), 1);
    assert_int_equal(dq_is_user_fn_name("a.b.c/d?", 8), 1);
    assert_int_equal(dq_is_user_fn_name("ab", 2), 0);
    assert_int_equal(dq_is_user_fn_name("a/", 2), 0);
    assert_int_equal(dq_is_user_fn_name("clojure.core/inc", 16), 0);
    assert_int_equal(dq_is_user_fn_name("clojure/x", 9), 0);
    assert_int_equal(dq_is_user_fn_name("clojurex/x", 10), 1);
    err("[:find ?e :where [?e :age ?a] [(clojure.core/inc ?a) ?b]]",
        "unknown function clojure.core/inc", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(acme/f $ ?a) ?b]]",
        "a source can only be the first argument", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(acme/f ?a) _]]", "needs a binding", 1, 31);
}

static void test_error_arity(void **state) {
    (void)state;
    err("[:find ?e :where [?e :age ?a] [(inc ?a 1) ?b]]", "inc takes 1 argument, got 2", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(subs ?a) ?b]]", "subs takes 2 to 3 arguments, got 1", 1,
        31);
    err("[:find ?e :where [?e :age ?a] [(< ) ]]", "< takes at least 1 argument, got 0", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(hash-map ?a) ?m]]",
        "hash-map takes an even number of arguments, got 1", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(get-else ?e :age 0) ?v]]",
        "get-else takes 4 arguments, got 3", 1, 31);
    err("[:find ?e :where [?e :age ?a] [(missing? ?e :age ?a)]]",
        "missing? takes a source ($) as its first argument", 1, 31);
    err("[:find (count 2 ?a) :where [?e :age ?a]]", "aggregate count takes 1 argument, got 2", 1,
        8);
    err("[:find (min 2 3 ?a) :where [?e :age ?a]]", "aggregate min takes 1 to 2 arguments, got 3",
        1, 8);
    err("[:find (sum 2) :where [?e :age ?a]]",
        "the last argument of aggregate sum must be a variable", 1, 8);
    err_rules("[:find ?x :in $ % :where (follows ?x)]", FOLLOWS, DT_INVALID,
              "rule follows takes 2 arguments, got 1 in (follows ?x)", 1, 26);
}

static void test_error_unbound_find(void **state) {
    (void)state;
    err("[:find ?x :where [?e :name ?n]]", "?x in :find is not bound by :in or any :where clause",
        1, 8);
    err("[:find ?e (sum ?s) :where [?e :name ?n]]", "?s in :find is not bound", 1, 11);
    err("[:find ?e :with ?w :where [?e :name ?n]]", "?w in :with is not bound", 1, 11);
    /* a predicate does not bind */
    err("[:find ?a :where [?e :age ?b] [(> ?a 1)]]",
        "insufficient bindings: ?a is not bound (a function cannot bind its arguments) in "
        "[(> ?a 1)]",
        1, 31);
    /* variables of a not do not leak out */
    err("[:find ?x :where [?e :age ?b] (not [?e :f ?x])]", "?x in :find is not bound", 1, 8);
    /* an or binds only what every branch binds */
    err("[:find ?x :where [?e :a ?y] (or-join [?e ?x] [?e :b ?x] [?e :c 1])]",
        "?x in :find is not bound", 1, 8);
    /* inputs bind: no error */
    dq_query *q = ok("[:find ?x :in ?x]");
    dq_query_free(q);
}

static void test_error_or_vars(void **state) {
    (void)state;
    err("[:find ?e :where (or [?e :name \"Ivan\"] [?x :age 25])]",
        "all branches of or must use the same variables, had #{?e} and #{?x} in (or [?e :name "
        "\"Ivan\"] [?x :age 25])",
        1, 18);
    err("[:find ?e :where [?e :a] (and [?e :b])]", "and is only allowed as a branch of or", 1, 26);
}

static void test_error_not_unbound(void **state) {
    (void)state;
    err("[:find ?e :where [?e :name] (not [?x :name \"Ivan\"])]",
        "insufficient bindings: none of #{?x} is bound in (not [?x :name \"Ivan\"])", 1, 29);
    err("[:find ?e :where [?e :name] (not-join [?x] [?x :name \"Ivan\"])]",
        "not-join variable ?x is not bound outside it", 1, 29);
}

static void test_error_join_var_lists(void **state) {
    (void)state;
    err("[:find ?e :where [?e :a] (or-join [?e ?z] [?e :b 1])]",
        "or-join variable ?z is not used in its clauses", 1, 26);
    err("[:find ?e :where [?e :a] (or-join ?e [?e :b 1])]",
        "or-join needs a vector of variables after it", 1, 26);
    err("[:find ?e :where [?e :a] (or-join [?e 1] [?e :b 1])]", "expected a variable, got 1", 1,
        26);
    err("[:find ?e :where [?e :a] (or-join [?e ?e] [?e :b 1])]", "variable ?e is listed twice", 1,
        26);
    err("[:find ?e :where [?e :a] (not-join [[?e]] [?e :b 1])]",
        "required variables [[?a] ...] are not allowed here", 1, 26);
    err("[:find ?e :where [?e :a] (not-join [] [?e :b 1])]", "needs at least one variable", 1, 26);
    err("[:find ?e :where [?e :a] (or-join [[?e] ?x] [?x :b 1])]",
        "or-join variable ?e is not used in its clauses", 1, 26);
    err("[:find ?e :where [?x :a] (or-join [[?e] ?x] [?e :b ?x])]",
        "?e is required by or-join but not bound", 1, 26);
    err("[:find ?e :where [?e :a] (not [?e :b]) (or)]", "or needs at least one clause", 1, 40);
}

static void test_error_rule_heads(void **state) {
    (void)state;
    err_rules("[:find ?x :in $ % :where (r ?x ?y)]", "[[(r ?a ?b) [?a :x ?b]] [(r ?a) [?a :y 1]]]",
              DT_INVALID,
              "rule r has 1 argument (0 required) here but 2 (0 required) in an earlier body", 1,
              25);
    err_rules("[:find ?x :in $ % :where (r ?x ?y)]",
              "[[(r ?a ?b) [?a :x ?b]] [(r [?a] ?b) [?a :y ?b]]]", DT_INVALID,
              "rule r has 2 arguments (1 required) here but 2 (0 required)", 1, 25);
    err_rules("[:find ?x :in $ % :where (r ?x ?x)]", "[[(r ?a ?a) [?a :x 1]]]", DT_INVALID,
              "variable ?a is listed twice", 1, 2);
    err_rules("[:find ?x :in $ % :where (r ?x)]", "[[(r ?a)]]", DT_INVALID,
              "a rule is [(name ?vars...) clauses...]", 1, 2);
    err_rules("[:find ?x :in $ % :where (r ?x)]", "[[(or ?a) [?a :b]]]", DT_INVALID,
              "a rule name is a plain symbol other than or, and, not", 1, 2);
    err_rules("[:find ?x :in $ % :where (r ?x)]", "[[r [?a :b]]]", DT_INVALID,
              "a rule head is (name ?vars...)", 1, 2);
    err_rules("[:find ?x :in $ % :where (r ?x)]", "{}", DT_INVALID, "rules are a vector", 1, 1);
    /* a predicate in a rule body on a variable nothing binds */
    err_rules("[:find ?x :in $ % :where (r ?x)]", "[[(r ?a) [?a :b ?c] [(> ?d 1)]]]", DT_INVALID,
              "insufficient bindings: ?d is not bound", 1, 21);
}

static void test_error_unknown_rule(void **state) {
    (void)state;
    err_rules("[:find ?x :in $ % :where (folows ?x ?y)]", FOLLOWS, DT_INVALID,
              "unknown rule folows in (folows ?x ?y)", 1, 26);
    err("[:find ?x :in $ % :where (follows ?x ?y)]",
        "unknown rule follows (no rules were given for %)", 1, 26);
    err("[:find ?x :where (follows ?x ?y)]", "unknown rule follows (:in has no %)", 1, 18);
    err_rules("[:find ?x :where [?x :a]]", FOLLOWS, DT_INVALID, "rules were given but :in has no %",
              0, 0);
    /* unknown rule inside the rules, reported in the rules text */
    err_rules("[:find ?x :in $ % :where (r ?x)]", "[[(r ?a) (s ?a)]]", DT_INVALID,
              "unknown rule s in (s ?a) at 1:10 of the rules", 1, 10);
}

static void test_error_malformed(void **state) {
    (void)state;
    err("[:where [?e :a]]", "a query needs :find", 1, 1);
    err("[?e :find ?e]", "a query starts with :find", 1, 1);
    err("42", "a query is a vector [:find ...] or a map {:find [...]}", 1, 1);
    err("[:find ?e :wher [?e :a]]", "unknown query section", 1, 11);
    err("[:find ?e :where [?e :a] :where [?e :b]]", "duplicate section :where", 1, 26);
    err("[:find ?e :where]", "section :where is empty", 1, 11);
    err("[:find ?e :keys a :strs a :where [?e :a]]", "use only one of :keys, :strs and :syms", 1,
        1);
    err("[:find ?e ?f . :where [?e :a ?f]]", "malformed :find", 1, 2);
    err("[:find [?e ?f ...] :where [?e :a ?f]]", "malformed :find", 1, 2);
    err("[:find 1 :where [?e :a]]", "a :find element is a variable", 1, 8);
    err("[:find ?e :where []]", "empty clause", 1, 18);
    err("[:find ?e :where ()]", "empty clause ()", 1, 18);
    err("[:find ?e :where [?e :a 1 2 true 6]]",
        "a data pattern has at most 5 positions (e a v tx added), got 6", 1, 18);
    err("[:find ?e :where [?e \"name\" 1]]", "the attribute position takes a variable", 1, 18);
    err("[:find ?e :where [\"x\" :a ?e]]", "the entity position takes a variable", 1, 18);
    err("[:find ?e :where [?e :a nil]]", "nil cannot be matched in a data pattern", 1, 18);
    err("[:find ?e :where [?e :a 1 ?t 7]]", "the added position takes a variable, _, true or false",
        1, 18);
    err("[:find ?e :where [?e :a foo]]", "unexpected symbol foo", 1, 18);
    err("[:find ?e :where [?e :a] [(inc ?e) ?x ?y]]", "a function clause is [(f args...)]", 1, 26);
    err("[:find ?e :where [?e :a] [(inc ?e) _]]", "the result of a function needs a binding", 1,
        26);
    err("[:find ?e :where [?e :a] [(inc ?e) [?x ... ?y]]]", "'...' only ends a collection binding",
        1, 36);
    err("[:find ?e :where [?e :a] [(inc ?e) 5]]", "expected a binding", 1, 36);
    err("[:find ?e :where [?e :a] [(inc _) ?x]]", "_ is not allowed as a function argument", 1, 26);
    err("[:find ?e :where [?e :a] [(inc $) ?x]]",
        "a source can only be the first argument of get-else", 1, 26);
    err("[:find ?e :where [?e :a] #{1}]", "a clause is a vector", 1, 26);
    err("[:find ?e :where [?e :a] (?x 1)]",
        "expected or, or-join, and, not, not-join or a rule name", 1, 26);
    err("[:find ?e :where [?e :a] ($)]", "a source must be followed by a clause", 1, 26);
    err("[:find ?e :in ?x :where [?e :a ?x]]", "reads the default source $, which :in does not", 1,
        25);
    err("[:find ?e :where [$b ?e :a]]", "source $b is not declared in :in", 1, 18);
    err("{:find ?e :where [[?e :a]]}", "the value of :find must be a vector", 1, 8);
    err("{\"find\" [?e]}", "a query map's keys are keywords", 1, 2);
    err("[:find (pull ?e) :where [?e :a]]", "pull takes $? ?e pattern", 1, 8);
    err("[:find (pull ?e pat) :where [?e :a]]", "pull pattern pat is not an :in input", 1, 8);
    err("[:find (pull ?e ?p) :where [?e :a ?p]]", "pull pattern ?p must be an :in input", 1, 8);
    /* malformed EDN: the reader's message and position */
    err("[:find ?e :where [?e :a \"x]]", "edn: unterminated string starting at 1:25", 1, 29);
    err("[:find ?e :where [?e :a]] extra", "expected end of input", 1, 27);
}

static void test_error_duplicate_in(void **state) {
    (void)state;
    err("[:find ?e :in $ $ :where [?e :a]]", "source $ appears twice in :in", 1, 17);
    err("[:find ?e :in $ ?x [?x ...] :where [?e :a ?x]]", "?x appears twice in :in", 1, 20);
    err("[:find ?e :in $ % % :where [?e :a]]", "% appears twice in :in", 1, 19);
    err("[:find ?e :in $ p p :where [?e :a]]", "pattern name p appears twice in :in", 1, 19);
    err("[:find ?e :in $ [] :where [?e :a]]", "empty binding", 1, 17);
}

static void test_error_return_map_count(void **state) {
    (void)state;
    err("[:find ?n ?a :keys name :where [?e :name ?n] [?e :age ?a]]",
        ":keys has 1 name but :find has 2 elements", 1, 14);
    err("[:find ?n . :keys name :where [?e :name ?n]]", ":keys needs a relation or tuple :find", 1,
        13);
    err("[:find ?n ?a :strs a a :where [?e :name ?n] [?e :age ?a]]", "duplicate name in :strs", 1,
        22);
    err("[:find ?n :syms ?n :where [?e :name ?n]]", ":syms takes plain symbols", 1, 17);
}

static void test_error_from_value_has_no_position(void **state) {
    (void)state;
    dt_value v;
    assert_int_equal(dt_edn_read("[:find ?x :where [?e :name ?n]]", 31, &v), DT_OK);
    dq_input_form f = {NULL, 0, &v};
    dq_query *q = NULL;
    dq_errpos pos;
    assert_int_equal(dq_parse(&f, NULL, &q, &pos), DT_INVALID);
    assert_null(q);
    assert_int_equal(pos.line, 0);
    assert_string_equal(dt_errmsg(NULL),
                        "query: ?x in :find is not bound by :in or any :where clause in ?x");
    /* the same value parses when right, and the tree does not borrow the caller's value */
    dt_value good;
    const char *good_text = "[:find ?n :where [?e :name ?n]]";
    assert_int_equal(dt_edn_read(good_text, strlen(good_text), &good), DT_OK);
    dq_input_form g = {NULL, 0, &good};
    assert_int_equal(dq_parse(&g, NULL, &q, NULL), DT_OK);
    dt_value_free(&good);
    char *p = printed(q, 0);
    assert_string_equal(p, "[:find ?n :where [?e :name ?n]]");
    free(p);
    dq_query_free(q);
    dt_value_free(&v);
    /* values no reader makes: a map with an odd number of items, an empty symbol */
    dt_value odd;
    assert_int_equal(dt_value_seq(DT_VECTOR, 3, &odd), DT_OK);
    odd.type = DT_MAP; /* by hand: dt_value_seq refuses an odd map */
    assert_int_equal(dt_value_text(DT_KEYWORD, "find", 4, &odd.u.seq.items[0]), DT_OK);
    dq_input_form of = {NULL, 0, &odd};
    assert_int_equal(dq_parse(&of, NULL, &q, NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "query: malformed query value"));
    dt_value_free(&odd);
    dt_value weird;
    assert_int_equal(dt_edn_read("[:find ?e :where [?e :a x]]", 27, &weird), DT_OK);
    dt_value *sym = &weird.u.seq.items[3].u.seq.items[2];
    dt_value_free(sym);
    sym->type = DT_SYMBOL; /* built by hand: the constructors refuse it */
    sym->u.s.ptr = dt__strndup("", 0);
    sym->u.s.len = 0;
    dq_input_form wf = {NULL, 0, &weird};
    assert_int_equal(dq_parse(&wf, NULL, &q, NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "unexpected symbol"));
    dt_value_free(&weird);
    /* misuse */
    assert_int_equal(dq_parse(NULL, NULL, &q, NULL), DT_MISUSE);
    dq_input_form both = {"[:find ?x :in ?x]", 17, &good};
    assert_int_equal(dq_parse(&both, NULL, &q, NULL), DT_MISUSE);
    assert_int_equal(dq_parse_text("[:find ?x :in ?x]", NULL, NULL, NULL), DT_MISUSE);
}

/* }====== */

/* {====== The built-in table ====== */

static void test_builtin_table(void **state) {
    (void)state;
    static const char *const names[] = {"=",
                                        "==",
                                        "not=",
                                        "!=",
                                        "<",
                                        ">",
                                        "<=",
                                        ">=",
                                        "+",
                                        "-",
                                        "*",
                                        "/",
                                        "quot",
                                        "rem",
                                        "mod",
                                        "inc",
                                        "dec",
                                        "min",
                                        "max",
                                        "zero?",
                                        "pos?",
                                        "neg?",
                                        "even?",
                                        "odd?",
                                        "str",
                                        "subs",
                                        "count",
                                        "ground",
                                        "identity",
                                        "vector",
                                        "list",
                                        "hash-map",
                                        "keyword",
                                        "name",
                                        "namespace",
                                        "re-find",
                                        "re-matches",
                                        "re-seq",
                                        "re-pattern",
                                        "clojure.string/starts-with?",
                                        "clojure.string/ends-with?",
                                        "clojure.string/includes?",
                                        "clojure.string/blank?",
                                        "clojure.string/lower-case",
                                        "clojure.string/upper-case",
                                        "nil?",
                                        "some?",
                                        "true?",
                                        "false?",
                                        "tuple",
                                        "untuple",
                                        "get-else",
                                        "get-some",
                                        "missing?"};
    for (size_t i = 0; i < DQ_FN_COUNT_; i++) assert_int_equal(dq_builtins[i].id, (dq_fn_id)i);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const dq_builtin *b = dq_builtin_find(names[i], strlen(names[i]));
        if (!b) fail_msg("built-in %s missing", names[i]);
        assert_string_equal(b->name, names[i]);
        /* each one parses in a call with its smallest arity and prints back */
        char text[300], args[100] = "";
        size_t k = 0;
        for (int a = 0; a < b->min_args; a++)
            k += (size_t)snprintf(args + k, sizeof args - k, " %s",
                                  a == 0 && b->kind == DQ_FNK_SOURCE ? "$" : "?x");
        snprintf(text, sizeof text, "[:find ?y :in $ ?x :where [(%s%s) ?y]]", b->name, args);
        roundtrip(text, text);
    }
    assert_null(dq_builtin_find("foo", 3));
    assert_null(dq_builtin_find("clojure.string/starts-with", 26));
    assert_int_equal(dq_builtin_find("get-else", 8)->kind, DQ_FNK_SOURCE);
    assert_int_equal(dq_builtin_find("<", 1)->kind, DQ_FNK_PRED);
    assert_int_equal(dq_builtin_find("inc", 3)->max_args, 1);
}

/* }====== */

/* {====== Shared queries: conformance and benchmarks ====== */

static char *read_shared(const char *rel) {
    char *path = tu_shared_path(rel);
    assert_non_null(path);
    char *text = tu_read_file(path, NULL);
    if (!text) fail_msg("cannot read %s (set DT_SHARED_DIR)", path);
    free(path);
    return text;
}

static const dt_value *map_get(const dt_value *m, const char *kw) {
    if (!m || m->type != DT_MAP) return NULL;
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2) {
        const dt_value *k = &m->u.seq.items[i];
        if (k->type == DT_KEYWORD && !strcmp(k->u.s.ptr, kw)) return &m->u.seq.items[i + 1];
    }
    return NULL;
}

/* The position of % in a query's :in, or -1. */
static long rules_input(const char *query) {
    dt_value v;
    if (dt_edn_read(query, strlen(query), &v) != DT_OK) return -1;
    long at = -1, k = -1;
    int in_in = 0;
    for (size_t i = 0; v.type == DT_VECTOR && i < v.u.seq.n; i++) {
        const dt_value *x = &v.u.seq.items[i];
        if (x->type == DT_KEYWORD) {
            in_in = !strcmp(x->u.s.ptr, "in");
            continue;
        }
        if (!in_in) continue;
        k++;
        if (x->type == DT_SYMBOL && !strcmp(x->u.s.ptr, "%")) at = k;
    }
    dt_value_free(&v);
    return at;
}

/* The number of :op :q cases in cases.edn, and how many must fail to parse. */
#define CONFORMANCE_Q_CASES      80
#define CONFORMANCE_PARSE_ERRORS 3

static void test_conformance_queries(void **state) {
    (void)state;
    char *text = read_shared("conformance/cases.edn");
    dt_value cases;
    if (dt_edn_read(text, strlen(text), &cases) != DT_OK) fail_msg("%s", dt_errmsg(NULL));
    size_t total = 0, parsed = 0, errors = 0;
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        const dt_value *op = map_get(cs, "op");
        if (!op || strcmp(op->u.s.ptr, "q") != 0) continue;
        total++;
        const char *id = map_get(cs, "id")->u.s.ptr;
        const char *query = map_get(cs, "query")->u.s.ptr;
        const dt_value *inputs = map_get(cs, "inputs");
        const dt_value *type = map_get(map_get(cs, "expect"), "type");
        int want_error = !strcmp(type->u.s.ptr, "error");
        long r = rules_input(query);
        const char *rules = NULL;
        if (r >= 0) {
            assert_true((size_t)r < inputs->u.seq.n);
            rules = inputs->u.seq.items[r].u.s.ptr;
        }
        dq_query *q = NULL;
        int rc = dq_parse_text(query, rules, &q, NULL);
        if (want_error) {
            if (rc != DT_INVALID) fail_msg("%s: %s should not parse", id, query);
            errors++;
            continue;
        }
        if (rc != DT_OK) fail_msg("%s: %s: %s", id, query, dt_errmsg(NULL));
        dq_query_free(q);
        roundtrip_rules(query, rules, NULL);
        parsed++;
    }
    dt_value_free(&cases);
    free(text);
    assert_int_equal(total, CONFORMANCE_Q_CASES);
    assert_int_equal(errors, CONFORMANCE_PARSE_ERRORS);
    assert_int_equal(parsed, CONFORMANCE_Q_CASES - CONFORMANCE_PARSE_ERRORS);
}

/* The EDN form starting at s (a '['), up to its matching bracket (malloc'd). */
static char *bracketed(const char *s) {
    int depth = 0, in_str = 0;
    for (const char *p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = 0;
            continue;
        }
        if (*p == '"') in_str = 1;
        if (*p == '[' || *p == '(' || *p == '{') depth++;
        if ((*p == ']' || *p == ')' || *p == '}') && --depth == 0)
            return strndup(s, (size_t)(p - s + 1));
    }
    return NULL;
}

/* The queries of bench/README.md: q1-q4, qpred1, qpred2, the rules query, three pulls. */
static void test_bench_readme_queries(void **state) {
    (void)state;
    char *text = read_shared("bench/README.md");
    char *rules_at = strstr(text, "[[(follows");
    assert_non_null(rules_at);
    char *rules = bracketed(rules_at);
    assert_non_null(rules);
    size_t n = 0;
    for (char *p = strstr(text, "[:find"); p; p = strstr(p + 1, "[:find")) {
        char *query = bracketed(p);
        assert_non_null(query);
        int uses_rules = strstr(query, " % ") != NULL;
        roundtrip_rules(query, uses_rules ? rules : NULL, NULL);
        free(query);
        n++;
    }
    assert_int_equal(n, 7);
    size_t pulls = 0;
    for (char *p = strstr(text, "\npull-"); p; p = strstr(p + 1, "\npull-")) {
        char *pat = bracketed(strchr(p, '['));
        char query[300];
        snprintf(query, sizeof query, "[:find (pull ?e %s) . :in $ ?e]", pat);
        roundtrip(query, query);
        free(pat);
        pulls++;
    }
    assert_int_equal(pulls, 3);
    free(rules);
    free(text);
}

static void test_movies_queries(void **state) {
    (void)state;
    char *text = read_shared("bench/movies/queries.edn");
    dt_value qs;
    if (dt_edn_read(text, strlen(text), &qs) != DT_OK) fail_msg("%s", dt_errmsg(NULL));
    size_t n = 0;
    for (size_t i = 0; i < qs.u.seq.n; i++) {
        const char *query = map_get(&qs.u.seq.items[i], "query")->u.s.ptr;
        roundtrip(query, NULL);
        n++;
    }
    assert_int_equal(n, 8);
    dt_value_free(&qs);
    free(text);
}

/* }====== */

/* {====== Robustness ====== */

/* The reader's spans (datalog/edn.h), which error positions rest on. */
static void test_edn_spans_of_every_value(void **state) {
    (void)state;
    const char *text = "[#_ [1 2] #inst \"2020-01-01\" {:a [x]} #{7} #:ns{:k 1} \"s\"]";
    dt_value v;
    dl_edn_span *sp = NULL;
    size_t n = 0;
    assert_int_equal(dl_edn_read_spans(text, strlen(text), NULL, &v, &sp, &n), DT_OK);
    /* post-order: inst, :a, x, [x], map, 7, set, :ns/k, 1, ns-map, "s", top */
    static const struct {
        size_t start, end;
    } want[] = {{10, 28}, {30, 32}, {34, 35}, {33, 36}, {29, 37}, {40, 41},
                {38, 42}, {48, 50}, {51, 52}, {43, 53}, {54, 57}, {0, 58}};
    assert_int_equal(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sp[i].start, want[i].start);
        assert_int_equal(sp[i].end, want[i].end);
    }
    dt__free(sp);
    dt_value_free(&v);
    /* no spans on error */
    sp = (dl_edn_span *)1;
    assert_int_equal(dl_edn_read_spans("[1", 2, NULL, &v, &sp, &n), DT_INVALID);
    assert_null(sp);
    assert_int_equal(dl_edn_read_spans("[1]", 3, NULL, &v, NULL, &n), DT_MISUSE);
    int line, col;
    dl_edn_line_col("ab\n\xc3\xa9x", 6, 5, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
}

/* Mutations of valid queries never crash (and never leak under ASan). */
static void test_mutated_queries_never_crash(void **state) {
    (void)state;
    static const char *const seeds[] = {
        "[:find ?e (count ?x) :with ?w :in $ % [?n ...] :where [?e :name ?n] (r ?e ?x) "
        "(or-join [[?e] ?x] (and [?e :a ?x] (not [?x :b 1])) [?e :c ?x]) [(> ?x 1)] [?e :w ?w]]",
        "{:find [(pull ?e [:a {:b [*]}]) ?k] :keys [p k] :in [$ [[?k ?v]]] :where [[?e :k ?k] "
        "(not-join [?e] [?e :v ?v]) [(get-else $ ?e :z 0) [?q _]]]}",
    };
    const char *rules = "[[(r [?a] ?b) [?a :f ?b]] [(r [?a] ?b) [?a :f ?t] (r ?t ?b)]]";
    static const char alphabet[] = "[](){}?$%_.: \"#^\\abex019";
    uint64_t seed = 42;
    size_t okc = 0;
    for (int i = 0; i < 2; i++) {
        dq_query *q = ok_rules(seeds[i], i == 0 ? rules : NULL);
        dq_query_free(q);
    }
    for (int iter = 0; iter < 20000; iter++) {
        const char *base = seeds[iter % 2];
        size_t n = strlen(base);
        char buf[512];
        memcpy(buf, base, n + 1);
        int edits = 1 + (int)(tu_rand(&seed) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = tu_rand(&seed) % n;
            uint64_t kind = tu_rand(&seed) % 3;
            char ch = alphabet[tu_rand(&seed) % (sizeof alphabet - 1)];
            if (kind == 0)
                buf[at] = ch;
            else if (kind == 1 && n + 1 < sizeof buf) {
                memmove(buf + at + 1, buf + at, n - at + 1);
                buf[at] = ch;
                n++;
            } else if (n > 1) {
                memmove(buf + at, buf + at + 1, n - at);
                n--;
            }
        }
        dq_query *q = NULL;
        dq_errpos pos;
        int rc = dq_parse_text(buf, iter % 2 == 0 ? rules : NULL, &q, &pos);
        if (rc == DT_OK) {
            /* what parses prints to text that parses to the same print */
            okc++;
            char *p = printed(q, 0);
            dq_query *q2 = NULL;
            if (dq_parse_text(p, iter % 2 == 0 ? rules : NULL, &q2, NULL) != DT_OK)
                fail_msg("%s printed as %s, which fails: %s", buf, p, dt_errmsg(NULL));
            char *p2 = printed(q2, 0);
            assert_string_equal(p, p2);
            dq_query_free(q);
            dq_query_free(q2);
            free(p);
            free(p2);
        } else {
            assert_null(q);
            assert_true(rc == DT_INVALID || rc == DT_LIMIT);
            assert_true(dt_errmsg(NULL)[0] != '\0');
        }
    }
    /* some mutations stay valid queries */
    assert_true(okc > 0);
}

static void test_depth_limit(void **state) {
    (void)state;
    /* as text: the reader stops at the limit, with a position */
    size_t depth = DQ_MAX_DEPTH + 10;
    char *text = malloc(depth * 2 + 64);
    size_t k = (size_t)sprintf(text, "[:find ?e :where [?e :a ");
    for (size_t i = 0; i < depth; i++) text[k++] = '[';
    for (size_t i = 0; i < depth; i++) text[k++] = ']';
    k += (size_t)sprintf(text + k, "]]");
    err_rules(text, NULL, DT_LIMIT, "nesting deeper than 128", 1, 151);
    /* as a value */
    dt_value v;
    dt_edn_options o = DT_EDN_OPTIONS_INIT;
    o.max_depth = DT_EDN_DEPTH_MAX;
    assert_int_equal(dt_edn_read_opts(text, k, &o, &v), DT_OK);
    dq_input_form f = {NULL, 0, &v};
    dq_query *q = NULL;
    assert_int_equal(dq_parse(&f, NULL, &q, NULL), DT_LIMIT);
    assert_null(q);
    dt_value_free(&v);
    free(text);
    /* nested clauses at the limit still parse */
    char *deep = malloc(8 * DQ_MAX_DEPTH + 64);
    k = (size_t)sprintf(deep, "[:find ?e :where [?e :a] ");
    size_t levels = DQ_MAX_DEPTH / 2 - 2;
    for (size_t i = 0; i < levels; i++) k += (size_t)sprintf(deep + k, "(or (and ");
    k += (size_t)sprintf(deep + k, "[?e :b]");
    for (size_t i = 0; i < levels; i++) k += (size_t)sprintf(deep + k, "))");
    k += (size_t)sprintf(deep + k, "]");
    dq_query *dq = ok(deep);
    dq_query_free(dq);
    free(deep);
}

/* Every allocation failure is a clean DT_NOMEM (no leak, no crash). */
static void test_allocation_failures(void **state) {
    (void)state;
    const char *query = "[:find ?e (max 2 ?x) :keys e x :in $ % [?n ...] :where [?e :name ?n] "
                        "(r ?e ?x) (or-join [?e] (and [?e :a ?y] (not [?y :b 1])) [?e :c 2]) "
                        "[(> ?x 1)] [(str ?n \"!\") ?s]]";
    const char *rules = "[[(r ?a ?b) [?a :f ?b]] [(r ?a ?b) [?a :f ?t] (r ?t ?b)]]";
    int done = 0;
    for (long n = 0; n < 10000 && !done; n++) {
        dq_query *q = NULL;
        dt__alloc_fail_at(n);
        int rc = dq_parse_text(query, rules, &q, NULL);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            done = 1;
            dq_query_free(q);
        } else {
            assert_int_equal(rc, DT_NOMEM);
            assert_null(q);
        }
    }
    assert_true(done);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_relation),
        cmocka_unit_test(test_find_scalar_coll_tuple),
        cmocka_unit_test(test_find_aggregates),
        cmocka_unit_test(test_find_pull),
        cmocka_unit_test(test_find_return_maps),
        cmocka_unit_test(test_map_form),
        cmocka_unit_test(test_in_bindings),
        cmocka_unit_test(test_data_patterns),
        cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_function_bindings),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_rules_required_vars),
        cmocka_unit_test(test_or_and),
        cmocka_unit_test(test_or_join),
        cmocka_unit_test(test_not_and_not_join),
        cmocka_unit_test(test_error_unknown_function),
        cmocka_unit_test(test_host_functions),
        cmocka_unit_test(test_error_arity),
        cmocka_unit_test(test_error_unbound_find),
        cmocka_unit_test(test_error_or_vars),
        cmocka_unit_test(test_error_not_unbound),
        cmocka_unit_test(test_error_join_var_lists),
        cmocka_unit_test(test_error_rule_heads),
        cmocka_unit_test(test_error_unknown_rule),
        cmocka_unit_test(test_error_malformed),
        cmocka_unit_test(test_error_duplicate_in),
        cmocka_unit_test(test_error_return_map_count),
        cmocka_unit_test(test_error_from_value_has_no_position),
        cmocka_unit_test(test_builtin_table),
        cmocka_unit_test(test_conformance_queries),
        cmocka_unit_test(test_bench_readme_queries),
        cmocka_unit_test(test_movies_queries),
        cmocka_unit_test(test_edn_spans_of_every_value),
        cmocka_unit_test(test_mutated_queries_never_crash),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
