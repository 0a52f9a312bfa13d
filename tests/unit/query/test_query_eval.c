/*
 * test_query_eval.c -- running queries through the public API
 * (dt_query_*, dt_q*, dt_result_*) with the reference evaluator: one case
 * per feature of the language (find specs, :in forms, patterns, built-in
 * predicates and functions, rules, or/not, aggregates, pull), sources,
 * write blocks, limits and errors.  Results are compared as exact EDN:
 * rows come sorted, so the text is deterministic.
 */
#include "dbutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *SCHEMA =
    "{:email {:db/unique :db.unique/identity}"
    " :age {:db/valueType :db.type/long}"
    " :sex {:db/valueType :db.type/keyword}"
    " :friend {:db/valueType :db.type/ref}"
    " :follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :alias {:db/cardinality :db.cardinality/many}"
    " :color {:db/valueType :db.type/ref}"
    " :next {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}";

static const char *DATA =
    "[{:db/id 1 :name \"Ivan\" :age 25 :sex :male :email \"ivan@x\" :follows [2 3] :friend 2"
    "  :alias [\"Vanya\" \"Johnny\"] :salary 50000}"
    " {:db/id 2 :name \"Petr\" :age 30 :sex :male :email \"petr@x\" :follows [3] :salary 60000}"
    " {:db/id 3 :name \"Ivan\" :age 35 :sex :male :email \"ivan2@x\" :follows [1] :salary 70000}"
    " {:db/id 4 :name \"Olga\" :age 25 :sex :female :email \"olga@x\" :salary 80000}"
    " {:db/id 5 :name \"Anna\" :age 45 :sex :female :email \"anna@x\" :follows [4]}"
    " {:db/id 30 :db/ident :red}"
    " {:db/id 31 :name \"Apple\" :color :red}]";

TU_SNAP_FIXTURE(SCHEMA, DATA)

/* {====== Helpers ====== */

static const dt_query_options NAIVE = {DT_QUERY_OPTIONS_VERSION, 0, 0, DT_PLAN_NAIVE, NULL};

static const dt_query_options AUTO = {DT_QUERY_OPTIONS_VERSION, 0, 0, DT_PLAN_AUTO, NULL};

/* Runs query with inputs given as EDN ("$" = db; NULL ends the list)
 * under `opts`; returns the result's EDN (malloc'd) or, when rc is not
 * DT_OK, asserts that code and returns the message. */
static char *run_opts(dt_db *db, int want_rc, const char *query, const char **ins,
                      const dt_query_options *opts) {
    dt_input in[8];
    size_t n = 0;
    for (; ins && ins[n]; n++) {
        memset(&in[n], 0, sizeof in[n]);
        if (strcmp(ins[n], "$") == 0)
            in[n].db = db;
        else {
            in[n].edn = ins[n];
            in[n].edn_len = strlen(ins[n]);
        }
    }
    if (!ins) {
        memset(&in[0], 0, sizeof in[0]);
        in[0].db = db;
        n = 1;
    }
    dt_result *r = NULL;
    int rc = dt_q_inputs(query, strlen(query), in, n, opts, &r);
    if (rc != want_rc)
        print_message("%s [%s] -> %d %s\n", query, opts->plan == DT_PLAN_NAIVE ? "naive" : "auto",
                      rc, dt_errmsg(NULL));
    assert_int_equal(rc, want_rc);
    if (rc != DT_OK) {
        assert_null(r);
        return strdup(dt_errmsg(NULL));
    }
    /* the EDN must read back as the result's value */
    char *s = NULL;
    assert_int_equal(dt_result_edn(r, &s, NULL), DT_OK);
    dt_value v = DT_VALUE_NIL, back = DT_VALUE_NIL;
    assert_int_equal(dt_result_value(r, &v), DT_OK);
    assert_int_equal(dt_edn_read(s, strlen(s), &back), DT_OK);
    assert_int_equal(dt_value_compare(&v, &back), 0);
    dt_free(s);
    dt_value_free(&back);
    int tuple = dt_result_kind(r) == DT_FIND_TUPLE;
    dt_result_free(r);
    tu_canon(&v, !tuple);
    char *cp = tu_edn(&v);
    dt_value_free(&v);
    return cp;
}

/* run_opts with the reference evaluator, and the same with the planned
 * one, which must agree on the result (or the error code; the message
 * returned is the reference evaluator's). */
static char *run_v(dt_db *db, int want_rc, const char *query, const char **ins) {
    char *ref = run_opts(db, want_rc, query, ins, &NAIVE);
    char *planned = run_opts(db, want_rc, query, ins, &AUTO);
    if (want_rc == DT_OK) {
        if (strcmp(ref, planned) != 0)
            print_message("query %s\n naive %s\n auto  %s\n", query, ref, planned);
        assert_string_equal(ref, planned);
    }
    free(planned);
    return ref;
}

static void check(dt_db *db, const char *query, const char *want) {
    char *got = run_v(db, DT_OK, query, NULL);
    if (strcmp(got, want) != 0) print_message("query %s\n want %s\n got  %s\n", query, want, got);
    assert_string_equal(got, want);
    free(got);
}

#define CHECK_IN(db, query, want, ...)                                                             \
    do {                                                                                           \
        const char *ins_[] = {__VA_ARGS__, NULL};                                                  \
        char *got_ = run_v(db, DT_OK, query, ins_);                                                \
        if (strcmp(got_, want) != 0)                                                               \
            print_message("query %s\n want %s\n got  %s\n", query, want, got_);                    \
        assert_string_equal(got_, want);                                                           \
        free(got_);                                                                                \
    } while (0)

/* Asserts the query fails with rc and a message containing `part`. */
#define CHECK_ERR(db, rc, query, part, ...)                                                        \
    do {                                                                                           \
        const char *ins_[] = {__VA_ARGS__, NULL};                                                  \
        char *msg_ = run_v(db, rc, query, ins_);                                                   \
        if (!strstr(msg_, part)) print_message("message: %s\n wanted: %s\n", msg_, part);          \
        assert_non_null(strstr(msg_, part));                                                       \
        free(msg_);                                                                                \
    } while (0)

/* }====== */

/* {====== Find specs ====== */

static void test_find_relation(void **state) {
    check(DB(state), "[:find ?e ?n :where [?e :name ?n] [?e :age 25]]",
          "#{[1 \"Ivan\"] [4 \"Olga\"]}");
    /* a set: Ivan twice by name is one row */
    check(DB(state), "[:find ?n :where [_ :name ?n] [_ :age]]",
          "#{[\"Anna\"] [\"Apple\"] [\"Ivan\"] [\"Olga\"] [\"Petr\"]}");
}

static void test_find_scalar_coll_tuple(void **state) {
    check(DB(state), "[:find ?n . :where [?e :email \"petr@x\"] [?e :name ?n]]", "\"Petr\"");
    check(DB(state), "[:find ?n . :where [?e :email \"nobody\"] [?e :name ?n]]", "nil");
    check(DB(state), "[:find [?n ...] :where [?e :sex :female] [?e :name ?n]]",
          "[\"Anna\" \"Olga\"]");
    check(DB(state), "[:find [?n ?a] :where [?e :email \"anna@x\"] [?e :name ?n] [?e :age ?a]]",
          "[\"Anna\" 45]");
    check(DB(state), "[:find [?n ?a] :where [?e :name ?n] [?e :age ?a] [(> ?a 1000)]]", "nil");
}

static void test_find_keys(void **state) {
    check(DB(state),
          "[:find ?n ?a :keys name age :where [?e :name ?n] [?e :age ?a] [?e :sex :female]]",
          "#{{:name \"Anna\", :age 45} {:name \"Olga\", :age 25}}");
    check(DB(state),
          "[:find ?n ?a :strs name age :where [?e :name ?n] [?e :age ?a] [?e :sex :female]]",
          "#{{\"name\" \"Anna\", \"age\" 45} {\"name\" \"Olga\", \"age\" 25}}");
    check(DB(state), "[:find ?n :syms n :where [?e :email \"petr@x\"] [?e :name ?n]]",
          "#{{n \"Petr\"}}");
    dt_result *r;
    const char *q =
        "[:find ?n ?a :keys name age :where [?e :email \"petr@x\"] [?e :name ?n] [?e :age ?a]]";
    assert_int_equal(dt_q(DB(state), q, &r), DT_OK);
    assert_int_equal(dt_result_kind(r), DT_FIND_REL);
    assert_int_equal(dt_result_count(r), 1);
    assert_int_equal(dt_result_width(r), 2);
    assert_string_equal(dt_result_key(r, 0), "name");
    assert_string_equal(dt_result_key(r, 1), "age");
    assert_null(dt_result_key(r, 2));
    const dt_value *v = dt_result_get(r, 0, 1);
    assert_non_null(v);
    assert_int_equal(v->type, DT_LONG);
    assert_int_equal(v->u.i, 30);
    assert_null(dt_result_get(r, 1, 0));
    dt_result_free(r);
}

static void test_with(void **state) {
    /* without :with the two 25s are one row; with it, both count */
    check(DB(state), "[:find (sum ?a) :where [?e :age ?a]]", "#{[135]}");
    check(DB(state), "[:find (sum ?a) :with ?e :where [?e :age ?a]]", "#{[160]}");
    /* :with without aggregates keeps duplicates (a vector) */
    check(DB(state), "[:find ?a :with ?e :where [?e :age ?a] [(< ?a 30)]]", "[[25] [25]]");
}

/* }====== */

/* {====== Inputs ====== */

static void test_in_forms(void **state) {
    dt_db *db = DB(state);
    CHECK_IN(db, "[:find ?e :in $ ?n :where [?e :name ?n]]", "#{[1] [3]}", "$", "\"Ivan\"");
    CHECK_IN(db, "[:find ?e :in $ [?n ?a] :where [?e :name ?n] [?e :age ?a]]", "#{[3]}", "$",
             "[\"Ivan\" 35]");
    CHECK_IN(db, "[:find ?e :in $ [?n ...] :where [?e :name ?n]]", "#{[2] [4]}", "$",
             "[\"Petr\" \"Olga\"]");
    CHECK_IN(db, "[:find ?e ?x :in $ [[?n ?x]] :where [?e :name ?n]]", "#{[2 :b] [4 :a]}", "$",
             "[[\"Olga\" :a] [\"Petr\" :b] [\"Nobody\" :c]]");
    CHECK_IN(db, "[:find ?x ?y :in [[?x ?y]]]", "#{[1 2] [3 4]}", "[[1 2] [3 4] [1 2]]");
    CHECK_IN(db, "[:find ?e :in $ _ ?n :where [?e :name ?n]]", "#{[2]}", "$", "42", "\"Petr\"");
    /* nested binding forms */
    CHECK_IN(db, "[:find ?a ?b :in [[?a [?b ...]]]]", "#{[1 2] [1 3] [4 5]}",
             "[[1 [2 3]] [4 [5]]]");
    /* inputs as values */
    dt_value v = tu_read("[\"Anna\" \"Olga\"]");
    dt_input in[2] = {{DB(state), NULL, NULL, 0}, {NULL, &v, NULL, 0}};
    dt_result *r;
    const char *qt = "[:find [?e ...] :in $ [?n ...] :where [?e :name ?n]]";
    assert_int_equal(dt_q_inputs(qt, strlen(qt), in, 2, NULL, &r), DT_OK);
    assert_int_equal(dt_result_kind(r), DT_FIND_COLL);
    assert_int_equal(dt_result_count(r), 2);
    int64_t a = dt_result_get(r, 0, 0)->u.i, b = dt_result_get(r, 1, 0)->u.i;
    assert_true((a == 4 && b == 5) || (a == 5 && b == 4));
    dt_result_free(r);
    dt_value_free(&v);
}

static void test_in_errors(void **state) {
    dt_db *db = DB(state);
    CHECK_ERR(db, DT_INVALID, "[:find ?e :in $ ?n :where [?e :name ?n]]", "expects 2 inputs", "$");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :in $ [?n ?a] :where [?e :name ?n] [?e :age ?a]]",
              "input 2: expected a tuple", "$", "[\"Ivan\"]");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :in $ ?n :where [?e :name ?n]]", "input 2", "$", "[1 2");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :in $ $b ?n :where [?e :name ?n]]",
              "must be a database or a collection of tuples, got a long", "$", "1", "2");
}

/* A collection of tuples as a source (DataScript): data patterns at the
 * top of :where read it as a relation. */
static void test_collection_sources(void **state) {
    dt_db *db = DB(state);
    const char *coll = "[[1 :k 2] [3 :j 4] [5 :k 6 7] [8]]";
    CHECK_IN(db, "[:find ?x ?y :in $b :where [$b ?x :k ?y]]", "#{[1 2] [5 6]}", coll);
    CHECK_IN(db, "[:find ?x :in $b :where [$b ?x]]", "#{[1] [3] [5] [8]}", coll);
    /* joined with the database */
    CHECK_IN(db, "[:find ?e ?c :in $ $b :where [?e :name ?n] [$b ?n ?c] [?e :age 25]]",
             "#{[1 :red]}", "$", "[[\"Ivan\" :red] [\"Zed\" :blue]]");
    /* a repeated variable, a bound variable, constants only */
    CHECK_IN(db, "[:find ?x :in $b :where [$b ?x ?x]]", "#{[1]}", "[[1 1] [2 3]]");
    CHECK_IN(db, "[:find ?x :in $b :where [$b ?x :k] [$b :z ?x]]", "#{[2]}",
             "[[1 :k] [2 :k] [:z 2]]");
    CHECK_IN(db, "[:find ?x :in $b :where [$b 1 :k 2] [(ground 1) ?x]]", "#{[1]}", "#{[1 :k 2]}");
    CHECK_IN(db, "[:find ?x :in $b :where [$b 1 :k 3] [(ground 1) ?x]]", "#{}", "([1 :k 2])");
    /* the default source given as a collection */
    CHECK_IN(db, "[:find ?e :in $ :where [?e :k]]", "#{[1] [5]}", coll);
    CHECK_IN(db, "[:find ?e :in $b :where [$b ?e :k]]", "#{}", "[]");
    /* what cannot read a collection */
    CHECK_ERR(db, DT_INVALID, "[:find ?n :in $ $b :where [?e :name ?n] (not [$b ?n :red])]",
              "source $b is a collection: only data patterns at the top of :where", "$",
              "[[\"Ivan\" :red]]");
    CHECK_ERR(db, DT_INVALID, "[:find ?s :in $ $b :where [?e :name] [(get-else $b ?e :x 1) ?s]]",
              "source $b is a collection", "$", "[]");
    CHECK_ERR(db, DT_INVALID, "[:find (pull ?e [*]) :in $ :where [?e :k]]",
              "source $ is a collection: it has no entities to pull", "[[1 :k]]");
    CHECK_ERR(db, DT_INVALID, "[:find ?x :in $b :where [$b ?x]]",
              "input 1 ($b): item 2 of the collection is a long, not a tuple", "[[1] 2]");
}

static void test_two_sources(void **state) {
    tu_snap *f = *state;
    tu_db *d2 = tu_db_open(SCHEMA);
    tu_tx(d2->conn, "[{:db/id 1 :name \"Ivan\" :age 99} {:db/id 2 :name \"Zed\" :age 1}]", DT_OK,
          0);
    dt_db *db2;
    assert_int_equal(dt_conn_db(d2->conn, &db2), DT_OK);
    const char *q = "[:find ?n ?a1 ?a2 :in $ $b :where [$ ?e :name ?n] [$ ?e :age ?a1]"
                    " [$b ?e2 :name ?n] [$b ?e2 :age ?a2]]";
    dt_input in[2] = {{f->db, NULL, NULL, 0}, {db2, NULL, NULL, 0}};
    dt_result *r;
    assert_int_equal(dt_q_inputs(q, strlen(q), in, 2, &NAIVE, &r), DT_OK);
    char *s;
    assert_int_equal(dt_result_edn(r, &s, NULL), DT_OK);
    assert_string_equal(s, "#{[\"Ivan\" 25 99] [\"Ivan\" 35 99]}");
    dt_free(s);
    dt_result_free(r);
    /* a rule called on a named source reads that source; get-else too */
    tu_tx(d2->conn, "[[:db/add 2 :follows 1]]", DT_OK, 0);
    dt_db_close(db2);
    assert_int_equal(dt_conn_db(d2->conn, &db2), DT_OK);
    const char *q2 = "[:find ?x ?y ?s :in $ $b % :where ($b follows ?x ?y) [$b ?y :name ?n]"
                     " [?e :name ?n] [(get-else $b ?x :salary -1) ?s]]";
    const char *rules = "[[(follows ?x ?y) [?x :follows ?y]]]";
    dt_input in2[3] = {
        {f->db, NULL, NULL, 0}, {db2, NULL, NULL, 0}, {NULL, NULL, rules, strlen(rules)}};
    assert_int_equal(dt_q_inputs(q2, strlen(q2), in2, 3, &NAIVE, &r), DT_OK);
    assert_int_equal(dt_result_edn(r, &s, NULL), DT_OK);
    assert_string_equal(s, "#{[2 1 -1]}");
    dt_free(s);
    dt_result_free(r);
    dt_db_close(db2);
    tu_db_close(d2);
}

/* }====== */

/* {====== Patterns ====== */

static void test_patterns(void **state) {
    dt_db *db = DB(state);
    /* constant entity, _ */
    check(db, "[:find ?x :where [1 :follows ?x]]", "#{[2] [3]}");
    check(db, "[:find ?e :where [?e :follows _] [?e :sex :female]]", "#{[5]}");
    /* an attribute variable gives the attribute's keyword */
    check(db, "[:find ?a :where [4 ?a 25]]", "#{[:age]}");
    check(db, "[:find ?e ?a :where [?e ?a 45]]", "#{[5 :age]}");
    /* with the attribute a variable, the value is compared as written
     * (DataScript resolves idents and lookup refs in the value position
     * only for a ref attribute written as a constant): a keyword matches
     * keyword values, a lookup ref matches nothing */
    check(db, "[:find ?e ?a :where [?e ?a :male]]", "#{[1 :sex] [2 :sex] [3 :sex]}");
    check(db, "[:find ?e ?a :where [?e ?a [:email \"olga@x\"]]]", "#{}");
    /* the same variable twice in one pattern */
    tu_tx(C(state), "[[:db/add 5 :follows 5]]", DT_OK, 0);
    dt_db *db2;
    assert_int_equal(dt_conn_db(C(state), &db2), DT_OK);
    check(db2, "[:find ?e :where [?e :follows ?e]]", "#{[5]}");
    dt_db_close(db2);
    /* mutual follows */
    check(db, "[:find ?a ?b :where [?a :follows ?b] [?b :follows ?a]]", "#{[1 3] [3 1]}");
    /* a pattern naming neither entity nor attribute does not see the
     * transaction entities (as DataScript, which has none); naming either
     * does */
    check(db, "[:find ?a :where [_ ?a]]",
          "#{[:age] [:alias] [:color] [:db/ident] [:email] [:follows] [:friend] [:name] [:salary] "
          "[:sex]}");
    check(db, "[:find (count ?e) . :where [?e]]", "7");
    check(db, "[:find (count ?e) . :where [?e ?a ?v]]", "7");
    check(db, "[:find (count ?tx) . :where [?tx :db/txInstant]]", "1");
    check(db, "[:find ?a :where [?tx :db/txInstant] [?tx ?a]]", "#{[:db/txInstant]}");
    CHECK_IN(db, "[:find (count ?e) . :in $ ?a :where [?e ?a]]", "1", "$", ":db/txInstant");
}

static void test_lookup_refs_idents(void **state) {
    dt_db *db = DB(state);
    /* lookup ref in entity and value position */
    check(db, "[:find ?n :where [[:email \"petr@x\"] :name ?n]]", "#{[\"Petr\"]}");
    check(db, "[:find ?e :where [?e :follows [:email \"olga@x\"]]]", "#{[5]}");
    /* ident keyword in the value position of a ref attribute */
    check(db, "[:find ?n :where [?e :color :red] [?e :name ?n]]", "#{[\"Apple\"]}");
    /* and in the entity position */
    check(db, "[:find ?e :where [:red :db/ident ?i] [?e :color :red]]", "#{[31]}");
    /* a keyword value of a keyword attribute is just a value */
    check(db, "[:find (count ?e) . :where [?e :sex :male]]", "3");
    /* an input lookup ref for a ref attribute */
    CHECK_IN(db, "[:find ?e :in $ ?t :where [?e :follows ?t]]", "#{[5]}", "$",
             "[:email \"olga@x\"]");
    /* a lookup ref that matches nothing is an error */
    CHECK_ERR(db, DT_INVALID, "[:find ?n :where [[:email \"nobody@x\"] :name ?n]]",
              "matches no entity", "$");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :where [?e :follows [:email \"nobody@x\"]]]",
              "lookup ref [:email \"nobody@x\"] matches no entity in [?e :follows", "$");
}

static void test_tx_position(void **state) {
    tu_snap *f = *state;
    dt_report *rep = tu_tx(f->d->conn, "[{:db/id 6 :name \"Late\" :age 70}]", DT_OK, 1);
    int64_t tx = dt_report_tx(rep);
    dt_report_close(rep);
    dt_db *db;
    assert_int_equal(dt_conn_db(f->d->conn, &db), DT_OK);
    check(db, "[:find ?e ?a :where [?e :name \"Late\" ?tx] [?e ?a _ ?tx]]",
          "#{[6 :age] [6 :name]}");
    char q[200], want[64];
    snprintf(q, sizeof q, "[:find ?e :where [?e :name _ %lld]]", (long long)tx);
    check(db, q, "#{[6]}");
    snprintf(q, sizeof q, "[:find ?tx . :where [6 :age 70 ?tx]]");
    snprintf(want, sizeof want, "%lld", (long long)tx);
    check(db, q, want);
    check(db, "[:find ?e :where [?e :age 70 _ true]]", "#{[6]}");
    check(db, "[:find ?e :where [?e :age 70 _ false]]", "#{}");
    dt_db_close(db);
}

static void test_coercion(void **state) {
    tu_snap *f = *state;
    tu_db *d = tu_db_open("{:score {:db/valueType :db.type/double}"
                          " :big {:db/valueType :db.type/bigint}}");
    tu_tx(d->conn, "[{:db/id 1 :score 2.5 :big 12}]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    /* the literal 12 finds the bigint 12 it wrote */
    check(db, "[:find ?e :where [?e :big 12]]", "#{[1]}");
    check(db, "[:find ?e :where [?e :score 2.5]]", "#{[1]}");
    /* a value of the wrong type matches nothing */
    check(db, "[:find ?e :where [?e :score \"x\"]]", "#{}");
    dt_db_close(db);
    tu_db_close(d);
    (void)f;
}

static void test_unknown_attribute(void **state) {
    CHECK_ERR(DB(state), DT_INVALID, "[:find ?e :where [?e :no/such 1]]",
              "unknown attribute :no/such in [?e :no/such 1] at 1:18", "$");
}

/* }====== */

/* {====== Predicates and functions ====== */

static void test_predicates(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find ?e :where [?e :age ?a] [(< 20 ?a 31)]]", "#{[1] [2] [4]}");
    check(db, "[:find ?e :where [?e :age ?a] [(<= 25 ?a 25 25)]]", "#{[1] [4]}");
    check(db, "[:find ?e :where [?e :name ?n] [(!= ?n \"Ivan\")] [(not= ?n \"Apple\")]]",
          "#{[2] [4] [5]}");
    check(db, "[:find ?e :where [?e :name ?n] [(clojure.string/starts-with? ?n \"O\")]]", "#{[4]}");
    /* predicates before the clauses binding their variables wait for them */
    check(db, "[:find ?e :where [(> ?a 40)] [?e :age ?a]]", "#{[5]}");
    CHECK_IN(db, "[:find ?e :in $ ?min ?max :where [?e :age ?a] [(<= ?min ?a ?max)]]", "#{[2] [3]}",
             "$", "30", "35");
}

static void test_fn_bindings(void **state) {
    dt_db *db = DB(state);
    /* scalar */
    check(db, "[:find ?n ?l :where [?e :name ?n] [(count ?n) ?l] [(= ?l 4)]]",
          "#{[\"Anna\" 4] [\"Ivan\" 4] [\"Olga\" 4] [\"Petr\" 4]}");
    check(
        db,
        "[:find ?t . :where [?e :email \"petr@x\"] [?e :age ?a] [?e :salary ?s] [(+ ?a ?s 1) ?t]]",
        "60031");
    /* tuple */
    check(db, "[:find ?a ?b :where [(vector 1 2) [?a ?b]]]", "#{[1 2]}");
    /* collection */
    check(db, "[:find ?x ?y :where [(range 3) [?x ...]] [(inc ?x) ?y]]", "#{[0 1] [1 2] [2 3]}");
    /* relation */
    check(db, "[:find ?x ?y :where [(ground [[1 :a] [2 :b]]) [[?x ?y]]]]", "#{[1 :a] [2 :b]}");
    check(db,
          "[:find ?n ?a :where [(ground [[\"x\" 1] [\"y\" 2]]) [?t ...]] [(untuple ?t) [?n ?a]]]",
          "#{[\"x\" 1] [\"y\" 2]}");
    /* database functions */
    check(db,
          "[:find ?n ?s :where [?e :name ?n] [?e :age] [(get-else $ ?e :salary 0) ?s] "
          "[(< ?s 60000)]]",
          "#{[\"Anna\" 0] [\"Ivan\" 50000]}");
    check(db, "[:find ?e :where [?e :age] [(missing? $ ?e :salary)]]", "#{[5]}");
}

static void test_fn_errors(void **state) {
    dt_db *db = DB(state);
    CHECK_ERR(db, DT_INVALID, "[:find ?e :where [?e :name ?n] [(> ?n 1)]]", "[(> ?n 1)]", "$");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :where [?e :age ?a] [(foo ?a)]]", "unknown function foo",
              "$");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :where [?e :age ?a] [(> ?x 1)]]", "?x", "$");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :where [?e :age ?a", "query", "$");
}

/* }====== */

/* {====== or, not ====== */

static void test_or(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find ?e :where (or [?e :name \"Petr\"] [?e :age 45])]", "#{[2] [5]}");
    check(db,
          "[:find ?e :where [?e :name] (or (and [?e :sex :female] [?e :age 25]) [?e :email "
          "\"petr@x\"])]",
          "#{[2] [4]}");
    check(db, "[:find ?n :where [?e :name ?n] (or-join [?e] [?e :follows ?x] [?e :color _])]",
          "#{[\"Anna\"] [\"Apple\"] [\"Ivan\"] [\"Petr\"]}");
}

static void test_not(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find ?e :where [?e :name] (not [?e :follows])]", "#{[4] [31]}");
    check(db, "[:find ?e :where [?e :age ?a] (not [(< ?a 30)])]", "#{[2] [3] [5]}");
    check(db, "[:find ?e :where [?e :age] (not [?e :follows ?x] [?x :sex :female])]",
          "#{[1] [2] [3] [4]}");
    check(db, "[:find ?e :where [?e :age] (not-join [?e] [?e :follows ?x] [?x :name \"Ivan\"])]",
          "#{[4] [5]}");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :where [?e :name] (not [?x :name \"Ivan\"])]",
              "insufficient bindings", "$");
}

/* }====== */

/* {====== Rules ====== */

static const char *RULES = "[[(follows ?x ?y) [?x :follows ?y]]"
                           " [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]";

static void test_rules_recursive_cycle(void **state) {
    dt_db *db = DB(state);
    /* 1 -> 2 -> 3 -> 1 is a cycle */
    CHECK_IN(db, "[:find ?y :in $ % :where (follows 1 ?y)]", "#{[1] [2] [3]}", "$", RULES);
    CHECK_IN(db, "[:find (count ?y) . :in $ % :where (follows 5 ?y)]", "1", "$", RULES);
    CHECK_IN(db, "[:find ?x ?y :in $ % :where (follows ?x ?y) [(= ?x ?y)]]", "#{[1 1] [2 2] [3 3]}",
             "$", RULES);
}

static void test_rules_bodies_and_required(void **state) {
    dt_db *db = DB(state);
    const char *rules = "[[(kind ?e ?k) [?e :sex :male] [(ground :man) ?k]]"
                        " [(kind ?e ?k) [?e :sex :female] [(ground :woman) ?k]]"
                        " [(older [?a] ?b) [?a :age ?x] [?b :age ?y] [(> ?x ?y)]]"
                        " [(adult ?age) [(>= ?age 30)]]]";
    CHECK_IN(db, "[:find ?n ?k :in $ % :where [?e :name ?n] (kind ?e ?k) [?e :age 25]]",
             "#{[\"Ivan\" :man] [\"Olga\" :woman]}", "$", rules);
    CHECK_IN(db, "[:find ?b :in $ % :where [?a :email \"petr@x\"] (older ?a ?b)]", "#{[1] [4]}",
             "$", rules);
    /* a rule that needs its argument bound */
    CHECK_IN(db, "[:find ?e :in $ % :where [?e :age ?a] (adult ?a)]", "#{[2] [3] [5]}", "$", rules);
    /* the rules are cached per rules text: the same query with other rules */
    CHECK_IN(db, "[:find ?e :in $ % :where [?e :age ?a] (adult ?a)]", "#{[5]}", "$",
             "[[(adult ?age) [(>= ?age 40)]]]");
    CHECK_ERR(db, DT_INVALID, "[:find ?e :in $ % :where (nope ?e)]", "unknown rule nope", "$",
              RULES);
}

/* A rule that negates another (stratified): the negated table is
 * complete before the not reads it. */
static void test_rules_negation(void **state) {
    dt_db *db = DB(state);
    const char *rules = "[[(reach ?x ?y) [?x :follows ?y]]"
                        " [(reach ?x ?y) [?x :follows ?t] (reach ?t ?y)]"
                        " [(unreached ?x ?y) [?x :name] [?y :email] (not (reach ?x ?y))]]";
    CHECK_IN(db, "[:find ?y :in $ % :where (unreached 1 ?y)]", "#{[4] [5]}", "$", rules);
    CHECK_IN(db, "[:find ?x :in $ % :where [?x :age] (not (reach ?x 1))]", "#{[4] [5]}", "$",
             rules);
    /* negation through recursion has no bottom-up meaning: an error */
    CHECK_ERR(db, DT_INVALID, "[:find ?x :in $ % :where (p ?x)]", "not stratified", "$",
              "[[(p ?x) [?x :age] (not (q ?x))] [(q ?x) [?x :sex :male] (p ?x)]]");
}

/* 100k edges: 10000 chains of 10 edges; the closure has 550k pairs, and
 * the closure from one chain's head has 10. */
static void test_rules_closure_100k(void **state) {
    (void)state;
    tu_db *d = tu_db_open("{:to {:db/valueType :db.type/ref}}");
    dt_loader *ld;
    assert_int_equal(dt_loader_open(d->conn, DT_LOAD_INIT, NULL, &ld), DT_OK);
    for (int c = 0; c < 10000; c++)
        for (int k = 0; k < 10; k++) {
            int64_t e = (int64_t)c * 11 + k + 1;
            dt_value v;
            dt_value_ref(e + 1, &v);
            assert_int_equal(dt_loader_add(ld, e, "to", &v), DT_OK);
        }
    uint64_t count = 0;
    assert_int_equal(dt_loader_finish(ld, &count), DT_OK);
    dt_loader_close(ld);
    assert_int_equal(count, 100000);
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    const char *rules = "[[(reach ?x ?y) [?x :to ?y]] [(reach ?x ?y) [?x :to ?t] (reach ?t ?y)]]";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_IN(db, "[:find (count ?y) . :in $ % :where (reach 1 ?y)]", "10", "$", rules);
    CHECK_IN(db, "[:find (count ?y) . :with ?x :in $ % :where (reach ?x ?y)]", "550000", "$",
             rules);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("closure of 100k edges (twice per plan): %.0f ms\n",
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    dt_db_close(db);
    tu_db_close(d);
}

/* }====== */

/* {====== Aggregates ====== */

static void test_aggregates(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find ?s (count ?e) :where [?e :sex ?s]]", "#{[:female 2] [:male 3]}");
    check(db, "[:find (count-distinct ?n) . :where [_ :name ?n]]", "5");
    check(db, "[:find (min ?a) (max ?a) :where [_ :age ?a]]", "#{[25 45]}");
    check(db, "[:find [(min ?a) (max ?a)] :where [_ :age ?a]]", "[25 45]");
    check(db, "[:find ?s (min 2 ?a) (max 2 ?a) :with ?e :where [?e :sex ?s] [?e :age ?a]]",
          "#{[:female [25 45] [25 45]] [:male [25 30] [30 35]]}");
    check(db, "[:find (distinct ?s) . :where [_ :sex ?s]]", "#{:female :male}");
    /* aggregates over zero rows give an empty result */
    check(db, "[:find (count ?e) :where [?e :age 1000]]", "#{}");
    check(db, "[:find (count ?e) . :where [?e :age 1000]]", "nil");
    CHECK_IN(db, "[:find ?color (max ?amount ?x) (min ?amount ?x) :in [[?color ?x]] ?amount]",
             "#{[:blue [7 8] [7 8]] [:red [30 40] [10 20]]}",
             "[[:red 10] [:red 20] [:red 30] [:red 40] [:blue 7] [:blue 8]]", "2");
    CHECK_ERR(db, DT_INVALID, "[:find (sum ?n) :where [_ :name ?n]]", "sum", "$");
}

/* }====== */

/* {====== Pull in :find ====== */

static void test_pull_in_find(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find (pull ?e [:age]) . :where [?e :email \"petr@x\"]]", "{:age 30}");
    check(db, "[:find [(pull ?e [:name]) ...] :where [?e :age 25]]",
          "[{:name \"Ivan\"} {:name \"Olga\"}]");
    check(db, "[:find (pull ?e [:name]) (count ?f) :where [?e :follows ?f] [?e :sex :male]]",
          "#{[{:name \"Ivan\"} 1] [{:name \"Ivan\"} 2] [{:name \"Petr\"} 1]}");
    CHECK_IN(db, "[:find (pull ?e pat) . :in $ pat :where [?e :email \"anna@x\"]]",
             "{:name \"Anna\"}", "$", "[:name]");
}

/* }====== */

/* {====== Write blocks, prepared queries, results ====== */

static void test_query_in_write_block(void **state) {
    tu_snap *f = *state;
    dt_txn *tx;
    assert_int_equal(dt_txn_begin(f->d->conn, &tx), DT_OK);
    dt_report *rep;
    assert_int_equal(dt_txn_transact(tx, "[{:db/id 9 :name \"Block\" :age 7}]", &rep), DT_OK);
    dt_report_close(rep);
    dt_db *view;
    assert_int_equal(dt_txn_db(tx, &view), DT_OK);
    check(view, "[:find ?e . :where [?e :name \"Block\"] [?e :age 7]]", "9");
    dt_db_close(view);
    dt_txn_abort(tx);
    /* the snapshot taken before never saw it */
    check(f->db, "[:find ?e . :where [?e :name \"Block\"]]", "nil");
}

static void test_prepared_and_value(void **state) {
    dt_query *q;
    assert_int_equal(dt_query_prepare("[:find ?e :in $ ?n :where [?e :name ?n]]", 40, &q), DT_OK);
    dt_value n = tu_read("\"Ivan\"");
    dt_input in[2] = {{DB(state), NULL, NULL, 0}, {NULL, &n, NULL, 0}};
    dt_result *r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dt_query_run(q, in, 2, NULL, &r), DT_OK);
        assert_int_equal(dt_result_count(r), 2);
        dt_value v;
        assert_int_equal(dt_result_value(r, &v), DT_OK);
        char *s = tu_edn(&v);
        assert_string_equal(s, "#{[1] [3]}");
        free(s);
        dt_value_free(&v);
        void *mp;
        size_t mlen;
        assert_int_equal(dt_result_msgpack(r, &mp, &mlen), DT_OK);
        dt_value back;
        size_t used;
        assert_int_equal(dt_msgpack_decode(mp, mlen, &back, &used), DT_OK);
        assert_int_equal(used, mlen);
        dt_value_free(&back);
        dt_free(mp);
        dt_result_free(r);
    }
    dt_value_free(&n);
    dt_query_free(q);
    /* a query given as a value */
    dt_value qv = tu_read("{:find [?n] :where [[?e :age 45] [?e :name ?n]]}");
    assert_int_equal(dt_query_prepare_value(&qv, &q), DT_OK);
    dt_value_free(&qv);
    assert_int_equal(dt_query_run(q, in, 1, NULL, &r), DT_OK);
    assert_int_equal(dt_result_count(r), 1);
    assert_string_equal(dt_result_get(r, 0, 0)->u.s.ptr, "Anna");
    dt_result_free(r);
    dt_query_free(q);
    /* parse errors say where */
    assert_int_equal(dt_query_prepare("[:find ?x :where [?e :a ?v]]", 28, &q), DT_INVALID);
    assert_null(q);
    assert_non_null(strstr(dt_errmsg(NULL), "?x"));
    assert_int_equal(dt_q(DB(state), "[:find", &r), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(DB(state)), "query"));
    assert_int_equal(dt_query_run(NULL, in, 1, NULL, &r), DT_MISUSE);
}

/* dt_result_msgpack_unordered decodes to dt_result_value's value once a
 * set's rows or a collection's items are put in value order. */
static void check_unordered(dt_db *db, const char *q, const char *want_edn) {
    dt_result *r;
    int qrc = dt_q(db, q, &r);
    if (qrc != DT_OK) print_message("%s: %s\n", q, dt_errmsg(db));
    assert_int_equal(qrc, DT_OK);
    void *mp;
    size_t mlen;
    assert_int_equal(dt_result_msgpack_unordered(r, &mp, &mlen), DT_OK);
    dt_value back;
    assert_int_equal(dt_msgpack_decode(mp, mlen, &back, NULL), DT_OK);
    dt_free(mp);
    if ((back.type == DT_SET || dt_result_kind(r) == DT_FIND_COLL) && back.u.seq.n > 1)
        qsort(back.u.seq.items, back.u.seq.n, sizeof *back.u.seq.items, tu_value_cmp);
    dt_value v;
    assert_int_equal(dt_result_value(r, &v), DT_OK);
    assert_true(dt_value_equal(&back, &v));
    char *s = tu_edn(&back);
    assert_string_equal(s, want_edn);
    free(s);
    dt_value_free(&v);
    dt_value_free(&back);
    dt_result_free(r);
}

static void test_result_msgpack_unordered(void **state) {
    dt_db *db = DB(state);
    check_unordered(db, "[:find ?e :where [?e :name \"Ivan\"]]", "#{[1] [3]}");
    check_unordered(db, "[:find ?n ?a :where [?e :name ?n] [?e :age ?a] [(> ?a 40)]]",
                    "#{[\"Anna\" 45]}");
    check_unordered(db, "[:find [?e ...] :where [?e :name \"Ivan\"]]", "[1 3]");
    check_unordered(db, "[:find ?a . :where [?e :name \"Anna\"] [?e :age ?a]]", "45");
    check_unordered(db, "[:find ?a . :where [?e :name \"Nobody\"] [?e :age ?a]]", "nil");
    check_unordered(db, "[:find [?n ?a] :where [?e :name ?n] [?e :name \"Anna\"] [?e :age ?a]]",
                    "[\"Anna\" 45]");
    check_unordered(db, "[:find [?n ?a] :where [?e :name ?n] [?e :name \"Nobody\"] [?e :age ?a]]",
                    "nil");
    check_unordered(db, "[:find ?n ?a :keys n a :where [?e :name ?n] [?e :age ?a] [(> ?a 40)]]",
                    "#{{:n \"Anna\", :a 45}}");
    check_unordered(db, "[:find ?n :strs n :where [?e :name ?n] [?e :age 45]]",
                    "#{{\"n\" \"Anna\"}}");
    check_unordered(db, "[:find [?n] :syms n :where [?e :name ?n] [?e :age 45]]", "{n \"Anna\"}");
    check_unordered(db, "[:find ?e :where [?e :name \"Nobody\"]]", "#{}");
    /* :with keeps one row per entity: a vector in the result's order */
    dt_result *r;
    assert_int_equal(dt_q(db, "[:find ?n :with ?e :where [?e :name ?n]]", &r), DT_OK);
    void *mp;
    size_t mlen;
    assert_int_equal(dt_result_msgpack_unordered(r, &mp, &mlen), DT_OK);
    dt_value back;
    assert_int_equal(dt_msgpack_decode(mp, mlen, &back, NULL), DT_OK);
    dt_free(mp);
    assert_int_equal(back.type, DT_VECTOR);
    assert_int_equal(back.u.seq.n, dt_result_count(r));
    for (size_t i = 0; i < back.u.seq.n; i++)
        assert_true(dt_value_equal(&back.u.seq.items[i].u.seq.items[0], dt_result_get(r, i, 0)));
    dt_value_free(&back);
    assert_int_equal(dt_result_msgpack_unordered(r, NULL, &mlen), DT_MISUSE);
    assert_int_equal(dt_result_msgpack_unordered(r, &mp, NULL), DT_MISUSE);
    assert_null(mp);
    dt_result_free(r);
    assert_int_equal(dt_result_msgpack_unordered(NULL, &mp, &mlen), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(NULL), "not a result"));
}

/* Several threads run one prepared query at once. */
typedef struct thr_arg {
    const dt_query *q;
    dt_conn *conn;
    int ok;
} thr_arg;

static void *thr_run(void *p) {
    thr_arg *a = p;
    dt_db *db;
    if (dt_conn_db(a->conn, &db) != DT_OK) return NULL;
    dt_input in = {db, NULL, NULL, 0};
    a->ok = 1;
    for (int i = 0; i < 50; i++) {
        dt_result *r;
        if (dt_query_run(a->q, &in, 1, &NAIVE, &r) != DT_OK || dt_result_count(r) != 2) a->ok = 0;
        dt_result_free(r);
    }
    dt_db_close(db);
    return NULL;
}

static void test_threads(void **state) {
    tu_snap *f = *state;
    dt_query *q;
    const char *text = "[:find ?e :where [?e :sex :female]]";
    assert_int_equal(dt_query_prepare(text, strlen(text), &q), DT_OK);
    pthread_t t[4];
    thr_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thr_arg){q, f->d->conn, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thr_run, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(a[i].ok);
    }
    dt_query_free(q);
}

/* }====== */

/* {====== Limits ====== */

/* A database where a cross product is big enough to take a while. */
static tu_db *big_db(dt_db **db) {
    tu_db *d = tu_db_open("{:v {:db/valueType :db.type/long}}");
    dt_loader *ld;
    assert_int_equal(dt_loader_open(d->conn, DT_LOAD_INIT, NULL, &ld), DT_OK);
    for (int64_t e = 1; e <= 3000; e++) {
        dt_value v;
        dt_value_long(e, &v);
        assert_int_equal(dt_loader_add(ld, e, "v", &v), DT_OK);
    }
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    assert_int_equal(dt_conn_db(d->conn, db), DT_OK);
    return d;
}

static const char *SLOW =
    "[:find (count ?a) . :where [?a :v ?x] [?b :v ?y] [?c :v ?z] [(< ?x ?y ?z)]]";

static void test_timeout(void **state) {
    (void)state;
    dt_db *db;
    tu_db *d = big_db(&db);
    dt_query_options o = NAIVE;
    o.timeout_ms = 50;
    dt_input in = {db, NULL, NULL, 0};
    dt_result *r;
    assert_int_equal(dt_q_inputs(SLOW, strlen(SLOW), &in, 1, &o, &r), DT_TIMEOUT);
    assert_null(r);
    assert_non_null(strstr(dt_errmsg(NULL), "timeout"));
    dt_db_close(db);
    tu_db_close(d);
}

static void test_row_cap(void **state) {
    (void)state;
    dt_db *db;
    tu_db *d = big_db(&db);
    dt_query_options o = NAIVE;
    o.max_rows = 1000;
    dt_input in = {db, NULL, NULL, 0};
    dt_result *r;
    const char *q = "[:find ?a ?b :where [?a :v ?x] [?b :v ?y] [(< ?x 10)]]";
    assert_int_equal(dt_q_inputs(q, strlen(q), &in, 1, &o, &r), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(NULL), "more than 1000 rows"));
    o.max_rows = 100000;
    assert_int_equal(dt_q_inputs(q, strlen(q), &in, 1, &o, &r), DT_OK);
    assert_int_equal(dt_result_count(r), 27000 + 3000 - 3000);
    dt_result_free(r);
    dt_db_close(db);
    tu_db_close(d);
}

typedef struct cancel_arg {
    dt_cancel *c;
} cancel_arg;

static void *canceller(void *p) {
    usleep(50 * 1000);
    dt_cancel_trigger(((cancel_arg *)p)->c);
    return NULL;
}

static void test_cancel(void **state) {
    (void)state;
    dt_db *db;
    tu_db *d = big_db(&db);
    cancel_arg a;
    assert_int_equal(dt_cancel_new(&a.c), DT_OK);
    dt_query_options o = NAIVE;
    o.cancel = a.c;
    dt_input in = {db, NULL, NULL, 0};
    dt_result *r;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, canceller, &a), 0);
    assert_int_equal(dt_q_inputs(SLOW, strlen(SLOW), &in, 1, &o, &r), DT_INTERRUPT);
    pthread_join(t, NULL);
    assert_non_null(strstr(dt_errmsg(NULL), "cancelled"));
    dt_cancel_free(a.c);
    dt_db_close(db);
    tu_db_close(d);
}

/* }====== */

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_find_relation),
        T(test_result_msgpack_unordered),
        T(test_find_scalar_coll_tuple),
        T(test_find_keys),
        T(test_with),
        T(test_in_forms),
        T(test_in_errors),
        T(test_two_sources),
        T(test_collection_sources),
        T(test_patterns),
        T(test_lookup_refs_idents),
        T(test_tx_position),
        T(test_coercion),
        T(test_unknown_attribute),
        T(test_predicates),
        T(test_fn_bindings),
        T(test_fn_errors),
        T(test_or),
        T(test_not),
        T(test_rules_recursive_cycle),
        T(test_rules_bodies_and_required),
        T(test_rules_negation),
        T(test_rules_closure_100k),
        T(test_aggregates),
        T(test_pull_in_find),
        T(test_query_in_write_block),
        T(test_prepared_and_value),
        T(test_threads),
        T(test_timeout),
        T(test_row_cap),
        T(test_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
