/*
 * test_query_plan.c -- the planned evaluator (query/plan.c, dq_eval):
 * the plans it chooses (read from its explain output), the results of
 * each optimization against rows worked out by hand (range pushdown with
 * inclusive and exclusive bounds, empty ranges, strings, longs, doubles,
 * long strings that share prefixes, attributes with values of several
 * types), stars, joins, not/or, function bindings, inputs, semi-naive
 * rules on a cycle, rules that need bound arguments, and the limits
 * (row cap, deadline, cancellation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbutil.h"
#include "base.h"
#include "exec.h"
#include "parse.h"

static const char *SCHEMA =
    "{:name {:db/valueType :db.type/string}"
    " :last {:db/valueType :db.type/string}"
    " :age {:db/valueType :db.type/long}"
    " :score {:db/valueType :db.type/double}"
    " :sex {:db/valueType :db.type/keyword}"
    " :note {:db/valueType :db.type/string}"
    " :friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :alias {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}"
    " :follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :id {:db/valueType :db.type/long :db/unique :db.unique/identity}}";

static const char *DATA =
    "[{:db/id 1 :id 1 :name \"Ivan\" :last \"Petrov\" :age 30 :score 1.5 :sex :male :friend [2 3]}"
    " {:db/id 2 :id 2 :name \"Ivan\" :last \"Sidorov\" :age 20 :score 2.5 :sex :male :friend [3]}"
    " {:db/id 3 :id 3 :name \"Olga\" :last \"Petrova\" :age 40 :score 3.0 :sex :female}"
    " {:db/id 4 :id 4 :name \"Oleg\" :last \"Ivanov\" :age 30 :sex :male :alias [\"O\" \"Ol\"]}"
    " {:db/id 5 :id 5 :name \"Igor\" :age 55 :score -1.0 :sex :male}"
    " {:db/id 6 :id 6 :name \"Anna\" :last \"Smirnova\" :age 25 :sex :female :friend [1]}"
    " {:db/id 10 :follows [11]} {:db/id 11 :follows [12]} {:db/id 12 :follows [10 13]}"
    " {:db/id 13 :mixed 5} {:db/id 14 :mixed 7.5} {:db/id 15 :mixed 10}]";

static int setup(void **state) {
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, DATA, DT_OK, 0);
    *state = d;
    return 0;
}

static int teardown(void **state) {
    tu_db_close(*state);
    return 0;
}

/* {====== Running a query through dq_eval ====== */

typedef struct run_opts {
    const char *rules;
    const char *inputs[4]; /* EDN of the :in bindings after $, in order */
    uint64_t max_rows;
    int64_t deadline_ns;
    const dt_cancel *cancel;
    char **explain; /* out: the plan (malloc'd) */
} run_opts;

/* Rows of t as sorted distinct "[a b]" lines joined by '\n' (malloc'd). */
static char *rows_text(const dq_table *t) {
    tu_lines l = {0};
    for (size_t r = 0; r < t->nrows; r++) {
        dt_value row;
        dt_value_seq(DT_VECTOR, t->ncols, &row);
        for (size_t k = 0; k < t->ncols; k++)
            assert_int_equal(dt_value_copy(&t->cells[r * t->ncols + k], &row.u.seq.items[k]),
                             DT_OK);
        char *s = tu_edn(&row);
        dt_value_free(&row);
        int dup = 0;
        for (size_t i = 0; i < l.n; i++)
            if (!strcmp(l.v[i], s)) dup = 1;
        if (dup)
            free(s);
        else
            tu_lines_add(&l, s);
    }
    return tu_lines_join(&l);
}

/* Binds an input value to its :in form (plain variables). */
static void bind_input(const dq_binding *b, const dt_value *v, dq_table *t) {
    dq_var cols[16];
    size_t n = 0;
    if (b->kind == DQ_BIND_VAR) cols[n++] = b->var;
    if (b->kind == DQ_BIND_COLL) cols[n++] = b->items[0].var;
    if (b->kind == DQ_BIND_TUPLE || b->kind == DQ_BIND_REL)
        for (size_t i = 0; i < b->n; i++) cols[n++] = b->items[i].var;
    assert_int_equal(dq_table_init(t, cols, n), DT_OK);
    if (b->kind == DQ_BIND_VAR) assert_int_equal(dq_table_add_row(t, v), DT_OK);
    if (b->kind == DQ_BIND_TUPLE) assert_int_equal(dq_table_add_row(t, v->u.seq.items), DT_OK);
    if (b->kind == DQ_BIND_COLL)
        for (size_t i = 0; i < v->u.seq.n; i++)
            assert_int_equal(dq_table_add_row(t, &v->u.seq.items[i]), DT_OK);
    if (b->kind == DQ_BIND_REL)
        for (size_t i = 0; i < v->u.seq.n; i++)
            assert_int_equal(dq_table_add_row(t, v->u.seq.items[i].u.seq.items), DT_OK);
}

/* Runs `query` with dq_eval; returns its result code and, on DT_OK, the
 * rows as text in *rows (malloc'd). */
static int run_q(void **state, const char *query, const run_opts *o, char **rows) {
    tu_db *d = *state;
    dq_query *q = NULL;
    int rc = dq_parse_text(query, o ? o->rules : NULL, &q, NULL);
    if (rc != DT_OK) fail_msg("parse of %s: %s", query, dt_errmsg(NULL));
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_db *srcs[4] = {db, db, db, db};
    dq_table in[8];
    dt_value vals[8];
    memset(in, 0, sizeof in);
    size_t k = 0;
    for (size_t i = 0; i < q->nin; i++) {
        if (q->in[i].kind != DQ_IN_BINDING) continue;
        assert_non_null(o);
        assert_non_null(o->inputs[k]);
        vals[k] = tu_read(o->inputs[k]);
        bind_input(&q->in[i].bind, &vals[k], &in[i]);
        k++;
    }
    dq_exec x;
    memset(&x, 0, sizeof x);
    x.q = q;
    x.srcs = srcs;
    x.in = in;
    assert_int_equal(dq_fnctx_new(&x.fn), DT_OK);
    dt_buf eb = DT_BUF_INIT;
    if (o) {
        x.max_rows = o->max_rows;
        x.deadline_ns = o->deadline_ns;
        x.cancel = o->cancel;
        if (o->explain) x.explain = &eb;
    }
    dq_table out;
    rc = dq_eval(&x, &out);
    if (rc == DT_OK) {
        if (rows) *rows = rows_text(&out);
        if (o && o->explain) *o->explain = strndup((const char *)eb.p, eb.len);
        dq_table_release(&out);
    }
    dt_buf_release(&eb);
    dq_arena_release(&x.arena);
    dq_fnctx_free(x.fn);
    for (size_t i = 0; i < q->nin && i < 8; i++) dq_table_release(&in[i]);
    for (size_t i = 0; i < k; i++) dt_value_free(&vals[i]);
    dt_db_close(db);
    dq_query_free(q);
    return rc;
}

/* Asserts the rows of a query (sorted lines). */
static void expect_rows(void **state, const char *query, const run_opts *o, const char *want) {
    char *got = NULL;
    int rc = run_q(state, query, o, &got);
    if (rc != DT_OK) fail_msg("%s failed (%d): %s", query, rc, dt_errmsg(NULL));
    if (strcmp(got, want) != 0) fail_msg("%s\n got:\n%s\n want:\n%s", query, got, want);
    free(got);
}

static char *explain_of(void **state, const char *query, const char *input) {
    char *plan = NULL;
    run_opts o = {0};
    o.inputs[0] = input;
    o.explain = &plan;
    char *rows = NULL;
    int rc = run_q(state, query, &o, &rows);
    if (rc != DT_OK) fail_msg("%s failed: %s", query, dt_errmsg(NULL));
    free(rows);
    assert_non_null(plan);
    return plan;
}

/* }====== */

/* {====== Plans ====== */

static void test_plan_star_starts_from_the_constant_clause(void **state) {
    /* written with the constant last: the plan still starts there */
    char *plan = explain_of(
        state, "[:find ?e ?a ?l :where [?e :age ?a] [?e :last ?l] [?e :name \"Olga\"]]", NULL);
    const char *first = strstr(plan, "{:clause");
    assert_non_null(first);
    if (strncmp(first, "{:clause [?e :name \"Olga\"] :op :scan :index :ave :bound [:a :v]", 63) !=
        0)
        fail_msg("plan: %s", plan);
    /* the other attributes come from EAV per entity, in one pass (a star) */
    assert_non_null(strstr(plan, "[?e :age ?a] :op :star :index :eav :bound [:e :a]"));
    assert_non_null(strstr(plan, "[?e :last ?l] :op :star :index :eav :bound [:e :a]"));
    assert_non_null(strstr(plan, ":rows 1\n"));
    free(plan);
}

static void test_plan_range_predicate_is_one_ave_range_scan(void **state) {
    char *plan = explain_of(state, "[:find ?e ?a :where [?e :age ?a] [(> ?a 30)]]", NULL);
    if (!strstr(plan, "{:clause [?e :age ?a] :op :scan :index :ave :bound [:a] :range \"> 30\""))
        fail_msg("plan: %s", plan);
    assert_null(strstr(plan, ":op :filter")); /* the predicate is the range */
    free(plan);
    /* an input plugged in as a constant gives the same plan */
    plan = explain_of(state, "[:find ?e ?a :in $ ?min :where [?e :age ?a] [(> ?a ?min)]]", "30");
    if (!strstr(plan, ":index :ave :bound [:a] :range \"> 30\"")) fail_msg("plan: %s", plan);
    free(plan);
}

static void test_plan_starts_with_becomes_a_prefix_range(void **state) {
    char *plan = explain_of(
        state, "[:find ?e :where [?e :name ?n] [(clojure.string/starts-with? ?n \"Ol\")]]", NULL);
    if (!strstr(plan, ":range \"starts-with \\\"Ol\\\"\"")) fail_msg("plan: %s", plan);
    free(plan);
}

static void test_plan_mixed_type_attribute_is_not_pushed(void **state) {
    /* :mixed holds longs and a double: a long range would miss 7.5 */
    char *plan = explain_of(state, "[:find ?v :where [?e :mixed ?v] [(> ?v 6)]]", NULL);
    assert_null(strstr(plan, ":range"));
    assert_non_null(strstr(plan, ":op :filter"));
    free(plan);
    expect_rows(state, "[:find ?v :where [?e :mixed ?v] [(> ?v 6)]]", NULL, "[10]\n[7.5]");
}

static void test_plan_explain_shows_estimates_and_actual_rows(void **state) {
    char *plan = explain_of(state, "[:find ?e :where [?e :sex :male] [?e :age 30]]", NULL);
    assert_non_null(strstr(plan, ":est "));
    assert_non_null(strstr(plan, ":rows 2}"));
    assert_int_equal(plan[0], '{');
    /* it reads back as EDN */
    dt_value v;
    assert_int_equal(dt_edn_read(plan, strlen(plan), &v), DT_OK);
    assert_int_equal(v.type, DT_MAP);
    dt_value_free(&v);
    free(plan);
}

/* }====== */

/* {====== Pushdown results ====== */

static void test_range_bounds_on_longs(void **state) {
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(> ?a 30)]]", NULL, "[3]\n[5]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(>= ?a 30)]]", NULL, "[1]\n[3]\n[4]\n[5]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(< ?a 30)]]", NULL, "[2]\n[6]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(<= ?a 30)]]", NULL, "[1]\n[2]\n[4]\n[6]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(= ?a 30)]]", NULL, "[1]\n[4]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(< 30 ?a)]]", NULL, "[3]\n[5]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(<= 20 ?a 30)]]", NULL,
                "[1]\n[2]\n[4]\n[6]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(< 20 ?a 30)]]", NULL, "[6]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(> 40 ?a 20)]]", NULL, "[1]\n[4]\n[6]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(> ?a 25)] [(< ?a 55)]]", NULL,
                "[1]\n[3]\n[4]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(>= ?a 55)] [(<= ?a 55)]]", NULL, "[5]");
}

static void test_range_empty(void **state) {
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(> ?a 55)]]", NULL, "");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(> ?a 40)] [(< ?a 30)]]", NULL, "");
    expect_rows(state, "[:find ?e :where [?e :age ?a] [(< 30 ?a 30)]]", NULL, "");
    expect_rows(state,
                "[:find ?e :where [?e :name ?n] [(clojure.string/starts-with? ?n \"Iv\")]"
                " [(clojure.string/starts-with? ?n \"Ol\")]]",
                NULL, "");
    expect_rows(state, "[:find ?e :where [?e :name ?n] [(clojure.string/starts-with? ?n \"Z\")]]",
                NULL, "");
}

static void test_range_strings_and_doubles(void **state) {
    expect_rows(state, "[:find ?n :where [_ :name ?n] [(> ?n \"Igor\")]]", NULL,
                "[\"Ivan\"]\n[\"Oleg\"]\n[\"Olga\"]");
    expect_rows(state, "[:find ?n :where [_ :name ?n] [(<= ?n \"Igor\")]]", NULL,
                "[\"Anna\"]\n[\"Igor\"]");
    expect_rows(state, "[:find ?n :where [_ :name ?n] [(clojure.string/starts-with? ?n \"Ol\")]]",
                NULL, "[\"Oleg\"]\n[\"Olga\"]");
    expect_rows(state,
                "[:find ?n :where [_ :last ?n] [(clojure.string/starts-with? ?n \"Petrov\")]]",
                NULL, "[\"Petrov\"]\n[\"Petrova\"]");
    expect_rows(state, "[:find ?e :where [?e :score ?s] [(> ?s 1.5)]]", NULL, "[2]\n[3]");
    expect_rows(state, "[:find ?e :where [?e :score ?s] [(<= ?s 1.5)]]", NULL, "[1]\n[5]");
    /* a long constant on a double attribute is compared, not pushed */
    expect_rows(state, "[:find ?e :where [?e :score ?s] [(> ?s 2)]]", NULL, "[2]\n[3]");
}

static void test_range_long_strings_sharing_prefixes(void **state) {
    tu_db *d = *state;
    /* values longer than an index key: keys hold a prefix and a hash */
    char *base = malloc(1200);
    memset(base, 'p', 1100);
    base[1100] = 0;
    char *tx = malloc(6000);
    snprintf(tx, 6000,
             "[{:db/id 100 :note \"%sa\"} {:db/id 101 :note \"%sb\"} {:db/id 102 :note \"%sc\"}"
             " {:db/id 103 :note \"%s\"} {:db/id 104 :note \"q\"}]",
             base, base, base, base);
    tu_tx(d->conn, tx, DT_OK, 0);
    char *q = malloc(3000);
    snprintf(q, 3000, "[:find ?e :where [?e :note ?n] [(> ?n \"%sa\")]]", base);
    expect_rows(state, q, NULL, "[101]\n[102]\n[104]");
    snprintf(q, 3000, "[:find ?e :where [?e :note ?n] [(>= ?n \"%sa\")] [(< ?n \"%sc\")]]", base,
             base);
    expect_rows(state, q, NULL, "[100]\n[101]");
    snprintf(q, 3000, "[:find ?e :where [?e :note ?n] [(<= ?n \"%s\")]]", base);
    expect_rows(state, q, NULL, "[103]");
    snprintf(q, 3000, "[:find ?e :where [?e :note ?n] [(clojure.string/starts-with? ?n \"%s\")]]",
             base);
    expect_rows(state, q, NULL, "[100]\n[101]\n[102]\n[103]");
    snprintf(q, 3000, "[:find ?e :where [?e :note ?n] [(= ?n \"%sb\")]]", base);
    expect_rows(state, q, NULL, "[101]");
    free(q);
    free(tx);
    free(base);
}

/* }====== */

/* {====== Joins, stars, not/or, functions, inputs ====== */

static void test_star_and_links(void **state) {
    expect_rows(state,
                "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last ?l] [?e :age ?a]"
                " [?e :sex :male]]",
                NULL, "[1 \"Petrov\" 30]\n[2 \"Sidorov\" 20]");
    /* a link through a ref, written in a bad order */
    expect_rows(state,
                "[:find ?n1 ?n2 :where [?f :name ?n2] [?e :friend ?f] [?e :name ?n1]"
                " [?e :sex :male]]",
                NULL, "[\"Ivan\" \"Ivan\"]\n[\"Ivan\" \"Olga\"]");
    /* reverse direction from a constant */
    expect_rows(state, "[:find ?n :where [?e :friend 3] [?e :name ?n]]", NULL, "[\"Ivan\"]");
    /* cardinality many */
    expect_rows(state, "[:find ?a :where [?e :name \"Oleg\"] [?e :alias ?a]]", NULL,
                "[\"O\"]\n[\"Ol\"]");
    /* a shared value (not an id) joins two stars */
    expect_rows(state, "[:find ?e1 ?e2 :where [?e1 :age ?a] [?e2 :age ?a] [(< ?e1 ?e2)]]", NULL,
                "[1 4]");
    /* an entity constant and a lookup ref */
    expect_rows(state, "[:find ?a :where [[:id 3] :age ?a]]", NULL, "[40]");
    expect_rows(state, "[:find ?a ?v :where [6 ?a ?v] [(= ?a :age)]]", NULL, "[:age 25]");
}

static void test_not_and_or(void **state) {
    expect_rows(state, "[:find ?e :where [?e :sex :male] (not [?e :age 30])]", NULL, "[2]\n[5]");
    expect_rows(state,
                "[:find ?e :where [?e :name ?n] (not [(clojure.string/starts-with? ?n \"O\")])"
                " [?e :sex :female]]",
                NULL, "[6]");
    expect_rows(state, "[:find ?e :where [?e :age ?a] (or [(< ?a 21)] [(> ?a 50)])]", NULL,
                "[2]\n[5]");
    expect_rows(state, "[:find ?e :where (or [?e :name \"Olga\"] [?e :name \"Anna\"])]", NULL,
                "[3]\n[6]");
    expect_rows(state,
                "[:find ?e :where [?e :name ?n] (or-join [?e] [?e :friend 3] [?e :alias \"O\"])]",
                NULL, "[1]\n[2]\n[4]");
    expect_rows(
        state,
        "[:find ?e :where [?e :sex :male] (not-join [?e] [?e :friend ?f] [?f :sex :female])]", NULL,
        "[4]\n[5]");
    /* a branch that does not bind ?e: the or-join waits until ?e is bound */
    expect_rows(state,
                "[:find ?e ?a :where [?p :age ?a] (or-join [?e ?a] [(< ?a 21)] [?e :age ?a])"
                " [?e :sex :female]]",
                NULL, "[3 20]\n[3 40]\n[6 20]\n[6 25]");
}

static void test_functions_and_inputs(void **state) {
    expect_rows(state, "[:find ?e ?b :where [?e :age ?a] [(+ ?a 1) ?b] [(> ?b 50)]]", NULL,
                "[5 56]");
    run_opts o = {0};
    o.inputs[0] = "[\"Olga\" \"Anna\"]";
    expect_rows(state, "[:find ?e :in $ [?n ...] :where [?e :name ?n]]", &o, "[3]\n[6]");
    o.inputs[0] = "[[\"Ivan\" 20] [\"Olga\" 40] [\"Olga\" 41]]";
    expect_rows(state, "[:find ?e :in $ [[?n ?a]] :where [?e :name ?n] [?e :age ?a]]", &o,
                "[2]\n[3]");
    o.inputs[0] = "[\"Ivan\" :male]";
    expect_rows(state, "[:find ?e :in $ [?n ?s] :where [?e :name ?n] [?e :sex ?s]]", &o,
                "[1]\n[2]");
    /* an input variable in :find */
    o.inputs[0] = "30";
    expect_rows(state, "[:find ?e ?a :in $ ?a :where [?e :age ?a]]", &o, "[1 30]\n[4 30]");
    /* an empty collection gives nothing */
    o.inputs[0] = "[]";
    expect_rows(state, "[:find ?e :in $ [?n ...] :where [?e :name ?n]]", &o, "");
}

static void test_unknown_attribute_and_bad_lookup_are_errors(void **state) {
    assert_int_equal(run_q(state, "[:find ?e :where [?e :nope 1]]", NULL, NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "unknown attribute :nope"));
    assert_int_equal(run_q(state, "[:find ?a :where [[:id 99] :age ?a]]", NULL, NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "matches no entity"));
    /* a wrong-type constant matches nothing */
    expect_rows(state, "[:find ?e :where [?e :age \"x\"]]", NULL, "");
}

/* }====== */

/* {====== Rules ====== */

static const char *RULES = "[[(reach ?x ?y) [?x :follows ?y]]"
                           " [(reach ?x ?y) [?x :follows ?t] (reach ?t ?y)]]";

static void test_rules_semi_naive_on_a_cycle(void **state) {
    run_opts o = {0};
    o.rules = RULES;
    /* 10 -> 11 -> 12 -> 10, 12 -> 13 */
    expect_rows(state, "[:find ?x ?y :in $ % :where (reach ?x ?y)]", &o,
                "[10 10]\n[10 11]\n[10 12]\n[10 13]\n[11 10]\n[11 11]\n[11 12]\n[11 13]\n"
                "[12 10]\n[12 11]\n[12 12]\n[12 13]");
    expect_rows(state, "[:find ?y :in $ % :where (reach 13 ?y)]", &o, "");
    expect_rows(state, "[:find ?x :in $ % :where (reach ?x 13)]", &o, "[10]\n[11]\n[12]");
    /* left-recursive and non-linear bodies give the same closure */
    o.rules = "[[(r ?x ?y) [?x :follows ?y]] [(r ?x ?y) (r ?x ?t) (r ?t ?y)]]";
    expect_rows(state, "[:find ?y :in $ % :where (r 11 ?y)]", &o, "[10]\n[11]\n[12]\n[13]");
}

static void test_rules_mutual_recursion(void **state) {
    run_opts o = {0};
    o.rules = "[[(even ?x ?y) [?x :follows ?y]] [(even ?x ?y) (odd ?x ?t) [?t :follows ?y]]"
              " [(odd ?x ?y) (even ?x ?t) [?t :follows ?y]]]";
    /* paths of odd length (even) from 13's predecessors: 12->13 (1), 10->..->13 (3: 10 11 12 13) */
    expect_rows(state, "[:find ?x :in $ % :where (even ?x 13)]", &o, "[10]\n[11]\n[12]");
    expect_rows(state, "[:find ?x :in $ % :where (odd ?x 13)]", &o, "[10]\n[11]\n[12]");
}

static void test_rules_needing_bound_arguments(void **state) {
    run_opts o = {0};
    o.rules = "[[(old ?a) [(> ?a 35)]] [(named ?e ?n) [?e :name ?n]]]";
    expect_rows(state, "[:find ?e :in $ % :where [?e :age ?a] (old ?a)]", &o, "[3]\n[5]");
    expect_rows(state, "[:find ?e :in $ % :where (named ?e \"Olga\")]", &o, "[3]");
}

/* }====== */

/* {====== Limits ====== */

static void chain(void **state, int n) {
    tu_db *d = *state;
    size_t cap = (size_t)n * 48 + 16;
    char *tx = malloc(cap);
    size_t len = 0;
    len += (size_t)snprintf(tx + len, cap - len, "[");
    for (int i = 0; i < n; i++)
        len +=
            (size_t)snprintf(tx + len, cap - len, "{:db/id %d :follows [%d]}", 1000 + i, 1001 + i);
    snprintf(tx + len, cap - len, "]");
    tu_tx(d->conn, tx, DT_OK, 0);
    free(tx);
}

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_limit_row_cap(void **state) {
    run_opts o = {0};
    o.max_rows = 3;
    assert_int_equal(run_q(state, "[:find ?e ?a :where [?e :age ?a]]", &o, NULL), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(NULL), "row cap"));
    o.max_rows = 6;
    char *rows = NULL;
    assert_int_equal(run_q(state, "[:find ?e ?a :where [?e :age ?a]]", &o, &rows), DT_OK);
    free(rows);
}

static void test_limit_deadline_and_cancel_stop_a_long_rule(void **state) {
    chain(state, 400); /* a closure of 80,000 pairs */
    run_opts o = {0};
    o.rules = RULES;
    o.deadline_ns = mono_ns() - 1;
    assert_int_equal(run_q(state, "[:find ?x ?y :in $ % :where (reach ?x ?y)]", &o, NULL),
                     DT_TIMEOUT);
    assert_non_null(strstr(dt_errmsg(NULL), "deadline"));
    dt_cancel *c;
    assert_int_equal(dt_cancel_new(&c), DT_OK);
    dt_cancel_trigger(c);
    o.deadline_ns = 0;
    o.cancel = c;
    assert_int_equal(run_q(state, "[:find ?x ?y :in $ % :where (reach ?x ?y)]", &o, NULL),
                     DT_INTERRUPT);
    dt_cancel_reset(c);
    char *rows = NULL;
    assert_int_equal(run_q(state, "[:find ?y :in $ % :where (reach 1390 ?y)]", &o, &rows), DT_OK);
    /* 1391 .. 1400 */
    assert_int_equal(strlen(rows), 10 * 7 - 1);
    free(rows);
    dt_cancel_free(c);
}

/* }====== */

/* {====== Through the public API ====== */

static void test_explain_public_api(void **state) {
    tu_db *d = *state;
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_input in = {db, NULL, NULL, 0};
    const char *q = "[:find ?e :where [?e :age ?a] [(> ?a 30)]]";
    char *plan = NULL;
    size_t len = 0;
    assert_int_equal(dt_explain(q, strlen(q), &in, 1, NULL, &plan, &len), DT_OK);
    assert_non_null(plan);
    assert_int_equal(strlen(plan), len);
    if (!strstr(plan, ":index :ave :bound [:a] :range \"> 30\" :est 2 :rows 2}"))
        fail_msg("plan: %s", plan);
    dt_free(plan);
    /* the same rows through dt_q_inputs, planned and naive */
    dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, DT_PLAN_AUTO, NULL};
    dt_result *r1, *r2;
    assert_int_equal(dt_q_inputs(q, strlen(q), &in, 1, &o, &r1), DT_OK);
    o.plan = DT_PLAN_NAIVE;
    assert_int_equal(dt_q_inputs(q, strlen(q), &in, 1, &o, &r2), DT_OK);
    char *t1, *t2;
    assert_int_equal(dt_result_edn(r1, &t1, NULL), DT_OK);
    assert_int_equal(dt_result_edn(r2, &t2, NULL), DT_OK);
    assert_string_equal(t1, "#{[3] [5]}");
    assert_string_equal(t1, t2);
    dt_free(t1);
    dt_free(t2);
    dt_result_free(r1);
    dt_result_free(r2);
    /* a failing query: an error, no plan */
    const char *bad = "[:find ?e :where [?e :nope 1]]";
    plan = (char *)"x";
    assert_int_equal(dt_explain(bad, strlen(bad), &in, 1, NULL, &plan, NULL), DT_INVALID);
    assert_null(plan);
    assert_non_null(strstr(dt_errmsg(NULL), "unknown attribute"));
    assert_int_equal(dt_explain(NULL, 0, &in, 1, NULL, &plan, NULL), DT_MISUSE);
    dt_db_close(db);
}

/* The result stage takes the evaluator's rows over: rows an index scan
 * left ordered (by the columns, or by them reversed), rows with
 * duplicates (hashed), text cells (copied out of the execution), :with
 * bags and collections; the same EDN under both plans, and the cells stay
 * valid after later queries reuse the scratch memory. */
static void test_result_sets_from_ordered_and_unordered_rows(void **state) {
    tu_db *d = *state;
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_input in = {db, NULL, NULL, 0};
    static const struct {
        const char *q, *edn;
    } cases[] = {
        {"[:find ?a :where [?e :age ?a]]", "#{[20] [25] [30] [40] [55]}"},
        {"[:find ?a :where [?e :age ?a] [(>= ?a 30)]]", "#{[30] [40] [55]}"},
        {"[:find ?e :where [?e :name \"Ivan\"]]", "#{[1] [2]}"},
        {"[:find ?e ?a :where [?e :age ?a] [(> ?a 20)] [(< ?a 50)]]",
         "#{[1 30] [3 40] [4 30] [6 25]}"},
        {"[:find ?a ?e :where [?e :age ?a] [(> ?a 20)] [(< ?a 50)]]",
         "#{[25 6] [30 1] [30 4] [40 3]}"},
        {"[:find ?n ?a :where [?e :age ?a] [?e :name ?n]]",
         "#{[\"Anna\" 25] [\"Igor\" 55] [\"Ivan\" 20] [\"Ivan\" 30] [\"Oleg\" 30] "
         "[\"Olga\" 40]}"},
        {"[:find ?n :where [?e :name ?n]]", "#{[\"Anna\"] [\"Igor\"] [\"Ivan\"] [\"Oleg\"] "
                                            "[\"Olga\"]}"},
        {"[:find ?a ?a :where [?e :age ?a] [(> ?a 35)]]", "#{[40 40] [55 55]}"},
        {"[:find [?a ...] :where [?e :age ?a]]", "[20 25 30 40 55]"},
        {"[:find ?f :where [_ :friend ?f]]", "#{[1] [2] [3]}"},
        {"[:find ?a . :where [?e :age ?a] [(> ?a 50)]]", "55"},
    };
    char *first[sizeof cases / sizeof cases[0]];
    dt_result *keep[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *q = cases[i].q;
        dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, DT_PLAN_AUTO, NULL};
        dt_result *r1, *r2;
        assert_int_equal(dt_q_inputs(q, strlen(q), &in, 1, &o, &r1), DT_OK);
        o.plan = DT_PLAN_NAIVE;
        assert_int_equal(dt_q_inputs(q, strlen(q), &in, 1, &o, &r2), DT_OK);
        char *t1, *t2;
        assert_int_equal(dt_result_edn(r1, &t1, NULL), DT_OK);
        assert_int_equal(dt_result_edn(r2, &t2, NULL), DT_OK);
        if (strcmp(t1, cases[i].edn) != 0) fail_msg("%s: %s", q, t1);
        assert_string_equal(t1, t2);
        dt_free(t2);
        dt_result_free(r2);
        first[i] = t1;
        keep[i] = r1;
    }
    /* every result printed again after the others ran */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t;
        assert_int_equal(dt_result_edn(keep[i], &t, NULL), DT_OK);
        assert_string_equal(t, first[i]);
        dt_free(t);
        dt_free(first[i]);
        dt_result_free(keep[i]);
    }
    /* :with keeps the duplicates (a bag of 6 rows) */
    const char *w = "[:find ?a :with ?e :where [?e :age ?a]]";
    dt_result *r;
    assert_int_equal(dt_q_inputs(w, strlen(w), &in, 1, NULL, &r), DT_OK);
    assert_int_equal(dt_result_count(r), 6);
    dt_result_free(r);
    dt_db_close(db);
}

static void test_unplanned_rule_shape_runs_naive(void **state) {
    tu_db *d = *state;
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    /* a recursive rule whose bodies need ?x bound by the caller */
    const char *rules = "[[(down ?x ?y) [(dec ?x) ?y] [(>= ?y 0)]]"
                        " [(down ?x ?y) [(dec ?x) ?t] [(>= ?t 0)] (down ?t ?y)]]";
    const char *q = "[:find ?y :in $ % :where (down 3 ?y)]";
    dt_input in[2] = {{db, NULL, NULL, 0}, {NULL, NULL, rules, strlen(rules)}};
    dt_result *r;
    assert_int_equal(dt_q_inputs(q, strlen(q), in, 2, NULL, &r), DT_OK);
    char *t;
    assert_int_equal(dt_result_edn(r, &t, NULL), DT_OK);
    assert_string_equal(t, "#{[0] [1] [2]}");
    dt_free(t);
    dt_result_free(r);
    /* called with a constant it is planned: seeded from the constant */
    char *plan;
    assert_int_equal(dt_explain(q, strlen(q), in, 2, NULL, &plan, NULL), DT_OK);
    assert_null(strstr(plan, ":fallback"));
    assert_non_null(strstr(plan, "(down ?t ?y) :op :rule"));
    dt_free(plan);
    /* called with a variable it needs the reference evaluator */
    const char *q2 = "[:find ?y :in $ % :where [(ground 3) ?x] (down ?x ?y)]";
    assert_int_equal(dt_q_inputs(q2, strlen(q2), in, 2, NULL, &r), DT_OK);
    assert_int_equal(dt_result_edn(r, &t, NULL), DT_OK);
    assert_string_equal(t, "#{[0] [1] [2]}");
    dt_free(t);
    dt_result_free(r);
    assert_int_equal(dt_explain(q2, strlen(q2), in, 2, NULL, &plan, NULL), DT_OK);
    assert_string_equal(plan, "{:rows 3 :fallback :naive :steps []}");
    dt_free(plan);
    dt_db_close(db);
}

static void test_rules_seeded_from_constants(void **state) {
    run_opts o = {0};
    o.rules = RULES;
    char *plan = NULL;
    o.explain = &plan;
    /* the closure from 11 only: the seed reaches 11 12 10 13, never all pairs */
    expect_rows(state, "[:find ?y :in $ % :where (reach 11 ?y)]", &o, "[10]\n[11]\n[12]\n[13]");
    assert_non_null(plan);
    free(plan);
    plan = NULL;
    expect_rows(state, "[:find ?x :in $ % :where (reach ?x 10)]", &o, "[10]\n[11]\n[12]");
    free(plan);
    plan = NULL;
    expect_rows(state, "[:find ?x :in $ % :where [?x :follows 11] (reach 10 10)]", &o, "[10]");
    free(plan);
    plan = NULL;
    expect_rows(state, "[:find ?x :in $ % :where [?x :follows 11] (reach 13 10)]", &o, "");
    free(plan);
    o.explain = NULL;
    /* non-linear recursion falls back to the whole relation, same rows */
    o.rules = "[[(r ?x ?y) [?x :follows ?y]] [(r ?x ?y) (r ?x ?t) (r ?t ?y)]]";
    expect_rows(state, "[:find ?y :in $ % :where (r 12 ?y)]", &o, "[10]\n[11]\n[12]\n[13]");
}

/* }====== */

/* Runs query text (inputs: $ then `extra` EDN inputs) with both plans and
 * asserts the same result text. */
static void same_as_naive(dt_db *db, const char *q, const char *const *extra, size_t nextra) {
    dt_input in[4] = {{db, NULL, NULL, 0}};
    for (size_t i = 0; i < nextra; i++) {
        in[1 + i].db = NULL;
        in[1 + i].value = NULL;
        in[1 + i].edn = extra[i];
        in[1 + i].edn_len = strlen(extra[i]);
    }
    dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, DT_PLAN_AUTO, NULL};
    dt_result *r1 = NULL, *r2 = NULL;
    int rc1 = dt_q_inputs(q, strlen(q), in, 1 + nextra, &o, &r1);
    char m1[512];
    snprintf(m1, sizeof m1, "%s", dt_errmsg(NULL));
    o.plan = DT_PLAN_NAIVE;
    int rc2 = dt_q_inputs(q, strlen(q), in, 1 + nextra, &o, &r2);
    if (rc1 != rc2)
        fail_msg("%s: planned %d (%s), naive %d (%s)", q, rc1, m1, rc2, dt_errmsg(NULL));
    if (rc1 == DT_OK) {
        char *t1, *t2;
        assert_int_equal(dt_result_edn(r1, &t1, NULL), DT_OK);
        assert_int_equal(dt_result_edn(r2, &t2, NULL), DT_OK);
        if (strcmp(t1, t2) != 0) fail_msg("%s:\n planned %s\n naive   %s", q, t1, t2);
        dt_free(t1);
        dt_free(t2);
    }
    dt_result_free(r1);
    dt_result_free(r2);
}

static void test_shapes_agree_with_the_reference_evaluator(void **state) {
    tu_db *d = *state;
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    static const char *const qs[] = {
        "[:find ?a ?v :where [1 ?a ?v]]",
        "[:find (count ?e) :where [?e ?a ?v]]",
        "[:find ?e ?a :where [?e ?a 30]]",
        "[:find ?e ?tx :where [?e :age 30 ?tx]]",
        "[:find ?e :where [?e :age _ ?tx true] [?x :age 20 ?tx]]",
        "[:find ?e :where [?e :age _ _ false]]",
        "[:find ?e ?f :where [?e :friend ?f] [?f :friend ?g] [?g :sex :female]]",
        "[:find ?n ?x :where [?e :name ?n] [(get-else $ ?e :score -9.0) ?x]]",
        "[:find ?n :where [?e :name ?n] [(missing? $ ?e :last)]]",
        "[:find ?e ?x ?y :where [?e :age ?a] [(vector ?a 1) [?x ?y]] [(> ?a 39)]]",
        "[:find ?e ?x :where [?e :name \"Oleg\"] [(ground [1 2]) [?x ...]]]",
        "[:find ?x ?y :where [(ground [[1 2] [3 4]]) [[?x ?y]]]]",
        "[:find ?e :where [?e :age ?a] [(= ?a 30 30)]]",
        "[:find ?e :where [?e :age ?a] [(not= ?a 30)] [(!= ?a 20)]]",
        "[:find ?e :where [?e :name ?n] [(re-find #\"^O\" ?n)]]",
        "[:find ?e :where [?e :sex ?s] [(= ?s :female)]]",
        "[:find ?e :where [?e :sex ?s] [(> ?s :a)] [(< ?s :g)]]",
        "[:find ?e :where (or (and [?e :sex :male] [?e :age 30]) [?e :name \"Anna\"])]",
        "[:find ?e :where [?e :name] (not (or [?e :age 30] [?e :sex :female]))]",
        "[:find ?a (count ?e) :with ?e :where [?e :age ?a]]",
        "[:find ?e . :where [?e :name \"Igor\"]]",
        "[:find [?n ...] :where [_ :name ?n]]",
        "[:find ?e :where [?e :alias ?x] [?e :alias ?y] [(< ?x ?y)]]",
        "[:find ?e :where [?e :mixed ?v] [(< ?v 8)]]",
        "[:find ?e :where [?e :friend [:id 3]]]",
        "[:find ?e :where [[:id 1] :friend ?e]]",
        "[:find ?e ?v :where [?e :score ?v] [(>= ?v 1.5)] [(<= ?v 3.0)]]",
        "[:find ?e :where [?e :name ?n] [(clojure.string/starts-with? ?n \"\")]]",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) same_as_naive(db, qs[i], NULL, 0);
    static const char *const in1[] = {"[[\"Ivan\" 30] [\"Olga\" 40] [\"Anna\" 1]]"};
    same_as_naive(db, "[:find ?e :in $ [[?n ?a]] :where [?e :name ?n] [?e :age ?a]]", in1, 1);
    static const char *const in2[] = {"25", "45"};
    same_as_naive(db, "[:find ?e :in $ ?lo ?hi :where [?e :age ?a] [(< ?lo ?a ?hi)]]", in2, 2);
    static const char *const in3[] = {
        "[[(r ?x ?y) [?x :friend ?y]] [(r ?x ?y) [?x :friend ?z] (r ?z ?y)]]"};
    same_as_naive(db, "[:find ?x ?y :in $ % :where (r ?x ?y) [?y :sex :female]]", in3, 1);
    same_as_naive(db, "[:find ?y :in $ % :where (r [:id 6] ?y)]", in3, 1);
    same_as_naive(db, "[:find ?y :in $ % :where (r 6 ?y)]", in3, 1);
    same_as_naive(db, "[:find ?x :in $ % :where (r ?x 3)]", in3, 1);
    static const char *const in4[] = {"[[:id 6] [:id 2]]", in3[0]};
    same_as_naive(db, "[:find ?y :in $ [?e ...] % :where [?e :age ?a] (r ?e ?y)]", in4, 2);
    same_as_naive(db, "[:find ?a :in $ [?e ...] % :where [?e :age ?a] (r ?e 3)]", in4, 2);
    dt_db_close(db);
}

/* {====== Join order: look ahead, lookups, stars with bound values ====== */

/* Keywords, kinds, titles and the rows linking titles to keywords (a
 * small movies shape): 140 titles of 7 kinds; "murder" on titles 0-19,
 * "love" on all of them. */
static const char *MOVIE_SCHEMA = "{:k/name {:db/valueType :db.type/string}"
                                  " :kind/name {:db/valueType :db.type/string}"
                                  " :t/name {:db/valueType :db.type/string}"
                                  " :t/kind {:db/valueType :db.type/ref}"
                                  " :mk/k {:db/valueType :db.type/ref}"
                                  " :mk/t {:db/valueType :db.type/ref}"
                                  " :mk/note {:db/valueType :db.type/string}}";

static tu_db *movie_db(void) {
    tu_db *d = tu_db_open(MOVIE_SCHEMA);
    size_t cap = 64 * 1024, n = 0;
    char *tx = malloc(cap);
    assert_non_null(tx);
    n += (size_t)snprintf(tx + n, cap - n,
                          "[{:db/id \"kw0\" :k/name \"murder\"} {:db/id \"kw1\" :k/name \"love\"}");
    for (int i = 0; i < 7; i++)
        n += (size_t)snprintf(tx + n, cap - n, " {:db/id \"kind%d\" :kind/name \"k%d\"}", i, i);
    for (int i = 0; i < 140; i++) {
        n += (size_t)snprintf(tx + n, cap - n,
                              " {:db/id \"t%d\" :t/name \"T%d\" :t/kind \"kind%d\"}"
                              " {:mk/k \"kw1\" :mk/t \"t%d\" :mk/note \"l%d\"}",
                              i, i, i % 7, i, i);
        if (i < 20)
            n += (size_t)snprintf(tx + n, cap - n,
                                  " {:mk/k \"kw0\" :mk/t \"t%d\" :mk/note \"m%d\"}", i, i);
    }
    n += (size_t)snprintf(tx + n, cap - n, "]");
    assert_true(n < cap);
    tu_tx(d->conn, tx, DT_OK, 0);
    free(tx);
    return d;
}

/* The clause of the k-th step (0-based) of a plan, as "[...]" text. */
static char *step_clause(const char *plan, int k) {
    const char *p = plan;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, "{:clause ");
        if (!p) return NULL;
        p += 9;
    }
    const char *e = strchr(p, ']');
    return e ? strndup(p, (size_t)(e - p + 1)) : NULL;
}

static void test_look_ahead_skips_a_small_unselective_cross_product(void **state) {
    (void)state;
    tu_db *d = movie_db();
    void *st = d;
    /* after the keyword, the 7 kinds are the smallest next table, but
     * crossing them with the bindings makes every later step 7 times
     * larger: the 20 keyword rows come first, the kinds join last */
    char *plan = explain_of(&st,
                            "[:find ?kn ?t :where [?k :k/name \"murder\"] [?kt :kind/name ?kn]"
                            " [?t :t/kind ?kt] [?mk :mk/t ?t] [?mk :mk/k ?k]]",
                            NULL);
    char *first = step_clause(plan, 0), *second = step_clause(plan, 1);
    assert_non_null(first);
    assert_non_null(second);
    if (strcmp(first, "[?k :k/name \"murder\"]") || strcmp(second, "[?mk :mk/k ?k]"))
        fail_msg("plan: %s", plan);
    /* no step holds the 7 x 20 rows of the cross product */
    assert_null(strstr(plan, ":rows 140"));
    assert_non_null(strstr(plan, "{:rows 20"));
    free(first);
    free(second);
    free(plan);
    tu_db_close(d);
}

static void test_star_member_with_a_bound_value(void **state) {
    (void)state;
    tu_db *d = movie_db();
    void *st = d;
    const char *q = "[:find ?n :where [?t :t/name \"T3\"] [?k :k/name \"murder\"]"
                    " [?mk :mk/t ?t] [?mk :mk/k ?k] [?mk :mk/note ?n]]";
    /* ?mk comes from the title (2 rows); its keyword, already bound, is
     * compared in the same pass over ?mk's datoms as its note */
    char *plan = explain_of(&st, q, NULL);
    if (!strstr(plan, "[?mk :mk/k ?k] :op :star :index :eav :bound [:e :a :v]") ||
        !strstr(plan, "[?mk :mk/note ?n] :op :star"))
        fail_msg("plan: %s", plan);
    free(plan);
    expect_rows(&st, q, NULL, "[\"m3\"]");
    /* a bound value no datom has, and one of another title */
    expect_rows(&st,
                "[:find ?n :where [?t :t/name \"T30\"] [?k :k/name \"murder\"]"
                " [?mk :mk/t ?t] [?mk :mk/k ?k] [?mk :mk/note ?n]]",
                NULL, "");
    expect_rows(&st,
                "[:find ?n :where [?t :t/name \"T30\"] [?k :k/name \"love\"]"
                " [?mk :mk/t ?t] [?mk :mk/k ?k] [?mk :mk/note ?n]]",
                NULL, "[\"l30\"]");
    tu_db_close(d);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_plan_star_starts_from_the_constant_clause),
        T(test_plan_range_predicate_is_one_ave_range_scan),
        T(test_plan_starts_with_becomes_a_prefix_range),
        T(test_plan_mixed_type_attribute_is_not_pushed),
        T(test_plan_explain_shows_estimates_and_actual_rows),
        T(test_range_bounds_on_longs),
        T(test_result_sets_from_ordered_and_unordered_rows),
        T(test_range_empty),
        T(test_range_strings_and_doubles),
        T(test_range_long_strings_sharing_prefixes),
        T(test_star_and_links),
        T(test_not_and_or),
        T(test_functions_and_inputs),
        T(test_unknown_attribute_and_bad_lookup_are_errors),
        T(test_rules_semi_naive_on_a_cycle),
        T(test_rules_mutual_recursion),
        T(test_rules_needing_bound_arguments),
        T(test_limit_row_cap),
        T(test_limit_deadline_and_cancel_stop_a_long_rule),
        T(test_explain_public_api),
        T(test_unplanned_rule_shape_runs_naive),
        T(test_rules_seeded_from_constants),
        T(test_shapes_agree_with_the_reference_evaluator),
        T(test_look_ahead_skips_a_small_unselective_cross_product),
        T(test_star_member_with_a_bound_value),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
