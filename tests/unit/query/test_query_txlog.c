/*
 * test_query_txlog.c -- the log functions in queries: (tx-ids $ start end)
 * over tx ids, t numbers, instants, open and empty ranges; (tx-data $ tx)
 * as a relation binding, joined with data patterns; a log given as a
 * named source; bad arguments.  Every query runs under the reference
 * evaluator and the planner, which must agree.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/friend {:db/valueType :db.type/ref}"
                            " :app/user {:db/valueType :db.type/string}}";

/* t1 (Jan 1 2020): entities 1 "A" and 2 "B" (a friend of 1), with
 * metadata on the transaction; t2 (Feb 1): 1 renamed "A2", 2 loses its
 * friend; t3 (Mar 1): 2 retracted as a whole. */
TU_SNAP_FIXTURE(SCHEMA,
                "[{:db/id 1 :p/name \"A\"} {:db/id 2 :p/name \"B\" :p/friend 1}"
                " {:db/id \"datomic.tx\" :db/txInstant #inst \"2020-01-01T00:00:00.000Z\""
                "  :app/user \"ops\"}]",
                "[[:db/add 1 :p/name \"A2\"] [:db/retract 2 :p/friend 1]"
                " [:db/add :db/current-tx :db/txInstant #inst \"2020-02-01T00:00:00.000Z\"]]",
                "[[:db/retractEntity 2]"
                " [:db/add :db/current-tx :db/txInstant #inst \"2020-03-01T00:00:00.000Z\"]]")

/* The ids of t1, t2, t3 as text. */
#define T1 "4398046511105"
#define T2 "4398046511106"
#define T3 "4398046511107"

/* {====== Helpers ====== */

/* Runs query on db (given for every source of :in, or as the only input
 * when there is no :in) under plan mode `plan`; the result's EDN, or when
 * want_rc is not DT_OK (asserted) the message; malloc'd. */
static char *run_mode(dt_db *db, int want_rc, const char *query, size_t ninputs,
                      dt_plan_mode plan) {
    dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, plan, NULL};
    dt_input in[4];
    memset(in, 0, sizeof in);
    for (size_t i = 0; i < ninputs; i++) in[i].db = db;
    dt_result *r = NULL;
    int rc = dt_q_inputs(query, strlen(query), in, ninputs, &o, &r);
    if (rc != want_rc) print_message("%s -> %d %s\n", query, rc, dt_errmsg(NULL));
    assert_int_equal(rc, want_rc);
    if (rc != DT_OK) return strdup(dt_errmsg(NULL));
    dt_value v = DT_VALUE_NIL;
    assert_int_equal(dt_result_value(r, &v), DT_OK);
    dt_result_free(r);
    tu_canon(&v, 1);
    char *s = tu_edn(&v);
    dt_value_free(&v);
    return s;
}

/* Both evaluators, which must agree; returns the reference result. */
static char *run(dt_db *db, int want_rc, const char *query, size_t ninputs) {
    char *ref = run_mode(db, want_rc, query, ninputs, DT_PLAN_NAIVE);
    char *planned = run_mode(db, want_rc, query, ninputs, DT_PLAN_AUTO);
    if (want_rc == DT_OK) assert_string_equal(ref, planned);
    free(planned);
    return ref;
}

static void check_n(dt_db *db, const char *query, size_t ninputs, const char *want) {
    char *got = run(db, DT_OK, query, ninputs);
    if (strcmp(got, want) != 0) print_message("query %s\n want %s\n got  %s\n", query, want, got);
    assert_string_equal(got, want);
    free(got);
}

static void check(dt_db *db, const char *query, const char *want) { check_n(db, query, 1, want); }

static void check_err(dt_db *db, int rc, const char *query, const char *part) {
    char *msg = run(db, rc, query, 1);
    if (!strstr(msg, part)) print_message("message: %s\n wanted: %s\n", msg, part);
    assert_non_null(strstr(msg, part));
    free(msg);
}

/* }====== */

static void test_tx_ids_by_tx_id_and_t(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find [?tx ...] :where [(tx-ids $ nil nil) [?tx ...]]]", "[" T1 " " T2 " " T3 "]");
    /* start inclusive, end exclusive */
    check(db, "[:find [?tx ...] :where [(tx-ids $ " T1 " " T3 ") [?tx ...]]]", "[" T1 " " T2 "]");
    check(db, "[:find [?tx ...] :where [(tx-ids $ 2 nil) [?tx ...]]]", "[" T2 " " T3 "]");
    check(db, "[:find [?tx ...] :where [(tx-ids $ nil 2) [?tx ...]]]", "[" T1 "]");
}

static void test_tx_ids_with_scalar_inputs(void **state) {
    dt_db *db = DB(state);
    dt_value a, b;
    dt_value_long(2, &a);
    dt_value_long(4, &b);
    dt_input in[3] = {{db, NULL, NULL, 0}, {NULL, &a, NULL, 0}, {NULL, &b, NULL, 0}};
    const char *q = "[:find [?tx ...] :in $ ?a ?b :where [(tx-ids $ ?a ?b) [?tx ...]]]";
    dt_plan_mode modes[2] = {DT_PLAN_NAIVE, DT_PLAN_AUTO};
    for (int m = 0; m < 2; m++) {
        dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, modes[m], NULL};
        dt_result *r = NULL;
        assert_int_equal(dt_q_inputs(q, strlen(q), in, 3, &o, &r), DT_OK);
        dt_value v = DT_VALUE_NIL;
        assert_int_equal(dt_result_value(r, &v), DT_OK);
        tu_canon(&v, 1);
        char *s = tu_edn(&v);
        assert_string_equal(s, "[" T2 " " T3 "]");
        free(s);
        dt_value_free(&v);
        dt_result_free(r);
    }
}

static void test_tx_ids_by_instant(void **state) {
    dt_db *db = DB(state);
    check(db,
          "[:find [?tx ...] :where [(tx-ids $ #inst \"2020-02-01T00:00:00.000Z\""
          " #inst \"2020-03-01T00:00:00.000Z\") [?tx ...]]]",
          "[" T2 "]");
    check(db,
          "[:find [?tx ...] :where [(tx-ids $ #inst \"2020-01-15T00:00:00.000Z\" nil) [?tx ...]]]",
          "[" T2 " " T3 "]");
    check(db,
          "[:find [?tx ...] :where [(tx-ids $ nil #inst \"2020-03-01T00:00:00.001Z\") [?tx ...]]]",
          "[" T1 " " T2 " " T3 "]");
    /* an instant and a tx id together: both bounds apply */
    check(db,
          "[:find [?tx ...] :where [(tx-ids $ #inst \"2020-01-01T00:00:00.000Z\" 3) [?tx ...]]]",
          "[" T1 " " T2 "]");
}

static void test_tx_ids_empty_ranges(void **state) {
    dt_db *db = DB(state);
    check(db, "[:find [?tx ...] :where [(tx-ids $ 3 3) [?tx ...]]]", "[]");
    check(db, "[:find [?tx ...] :where [(tx-ids $ 3 1) [?tx ...]]]", "[]");
    check(db, "[:find [?tx ...] :where [(tx-ids $ 100 nil) [?tx ...]]]", "[]");
    check(db,
          "[:find [?tx ...] :where [(tx-ids $ #inst \"2021-01-01T00:00:00.000Z\" nil) [?tx ...]]]",
          "[]");
    check(db,
          "[:find [?tx ...] :where [(tx-ids $ #inst \"2020-02-01T00:00:00.000Z\""
          " #inst \"2020-02-01T00:00:00.000Z\") [?tx ...]]]",
          "[]");
}

static void test_tx_data_of_one_transaction(void **state) {
    dt_db *db = DB(state);
    /* the datoms of t2 without its transaction entity */
    check(db,
          "[:find ?e ?a ?v ?tx ?added :where [(tx-data $ 2) [[?e ?a ?v ?tx ?added]]]"
          " [(< ?e 1000)]]",
          "#{[1 :p/name \"A\" " T2 " false] [1 :p/name \"A2\" " T2 " true]"
          " [2 :p/friend 1 " T2 " false]}");
    /* the transaction's own attributes: its metadata */
    check(db,
          "[:find ?a ?v :where [(tx-data $ " T1 ") [[?e ?a ?v]]] [(= ?e " T1
          ")] [(!= ?a :db/txInstant)]]",
          "#{[:app/user \"ops\"]}");
    /* a transaction the log does not have */
    check(db, "[:find ?e :where [(tx-data $ 99) [[?e]]]]", "#{}");
}

static void test_tx_data_joins_with_data_patterns(void **state) {
    dt_db *db = DB(state);
    /* every retraction ever made, by name of the entity if it still has one */
    check(db,
          "[:find ?e ?a ?v :where [(tx-ids $ nil nil) [?tx ...]]"
          " [(tx-data $ ?tx) [[?e ?a ?v _ ?added]]] [(false? ?added)]]",
          "#{[1 :p/name \"A\"] [2 :p/friend 1] [2 :p/name \"B\"]}");
    /* a ref value is the entity id: it joins with patterns */
    check(db, "[:find ?n :where [(tx-data $ 1) [[_ ?a ?v]]] [(= ?a :p/friend)] [?v :p/name ?n]]",
          "#{[\"A2\"]}");
    /* the transactions that touched entity 2, by instant range */
    check(db,
          "[:find [?tx ...] :where"
          " [(tx-ids $ #inst \"2020-01-01T00:00:00.000Z\" nil) [?tx ...]]"
          " [(tx-data $ ?tx) [[?e]]] [(= ?e 2)]]",
          "[" T1 " " T2 " " T3 "]");
}

static void test_log_as_a_named_source(void **state) {
    dt_db *db = DB(state);
    check_n(db, "[:find [?tx ...] :in $ $log :where [(tx-ids $log 2 nil) [?tx ...]]]", 2,
            "[" T2 " " T3 "]");
    check_n(db,
            "[:find ?n :in $ $log :where [(tx-ids $log 2 nil) [?tx ...]]"
            " [(tx-data $log ?tx) [[?e _ _ _ ?added]]] [(false? ?added)] [?e :p/name ?n]]",
            2, "#{[\"A2\"]}");
}

/* Datomic's form: the log as an :in variable given a database. */
static void test_log_as_an_in_variable(void **state) {
    dt_db *db = DB(state);
    check_n(db, "[:find [?tx ...] :in $ ?log :where [(tx-ids ?log 2 nil) [?tx ...]]]", 2,
            "[" T2 " " T3 "]");
    check_n(db,
            "[:find ?n :in ?log $ :where [(tx-ids ?log 2 nil) [?tx ...]]"
            " [(tx-data ?log ?tx) [[?e _ _ _ ?added]]] [(false? ?added)] [?e :p/name ?n]]",
            2, "#{[\"A2\"]}");
    /* a log alone, without $ */
    check_n(db, "[:find ?a :in ?log :where [(tx-data ?log 1) [[_ ?a]]] [(= ?a :app/user)]]", 1,
            "#{[:app/user]}");
    /* any other use of the log variable is an error */
    char *msg =
        run(db, DT_INVALID, "[:find ?tx ?log :in $ ?log :where [(tx-ids ?log 1 3) [?tx ...]]]", 2);
    assert_non_null(strstr(msg, "?log is a log (a database given in :in): it can only be the "
                                "first argument of tx-ids and tx-data"));
    free(msg);
    msg = run(db, DT_INVALID,
              "[:find ?tx :in $ ?log :where [(tx-ids ?log 1 3) [?tx ...]] [(= ?log 1)]]", 2);
    assert_non_null(strstr(msg, "?log is a log"));
    free(msg);
    /* given a value instead of a database */
    dt_value one;
    dt_value_long(1, &one);
    dt_input in[2] = {{db, NULL, NULL, 0}, {NULL, &one, NULL, 0}};
    const char *q = "[:find ?tx :in $ ?log :where [(tx-ids ?log 1 3) [?tx ...]]]";
    dt_result *r = NULL;
    assert_int_equal(dt_q_inputs(q, strlen(q), in, 2, NULL, &r), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "input 2 (?log) must be a database"));
}

static void test_log_functions_bad_arguments(void **state) {
    dt_db *db = DB(state);
    check_err(db, DT_INVALID, "[:find ?tx :where [(tx-ids $ \"x\" nil) [?tx ...]]]",
              "(tx-ids $ \"x\" nil): the start must be a transaction id, a t, an #inst or nil, "
              "got string");
    check_err(db, DT_INVALID, "[:find ?tx :where [(tx-ids $ 1 :k) [?tx ...]]]",
              "the end must be a transaction id, a t, an #inst or nil, got keyword");
    check_err(db, DT_INVALID, "[:find ?tx :where [(tx-ids $ -5 nil) [?tx ...]]]",
              "the start must be a transaction id or a t, got -5 (no transaction)");
    check_err(db, DT_INVALID, "[:find ?e :where [(tx-data $ :t1) [[?e]]]]",
              "(tx-data $ :t1): the transaction must be a transaction id or a t, got keyword");
    check_err(db, DT_INVALID, "[:find ?e :where [(tx-data $ nil) [[?e]]]]", "got nil");
    check_err(db, DT_INVALID, "[:find ?e :where [(tx-data $ 0) [[?e]]]]", "got 0");
    check_err(db, DT_INVALID, "[:find ?tx :where [(tx-ids 1 2 3) [?tx ...]]]",
              "tx-ids takes a source ($) as its first argument");
    check_err(db, DT_INVALID, "[:find ?tx :where [(tx-ids $ 1) [?tx ...]]]",
              "tx-ids takes 3 arguments, got 2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tx_ids_by_tx_id_and_t, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_ids_with_scalar_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_ids_by_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_ids_empty_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_data_of_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_data_joins_with_data_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_as_a_named_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_as_an_in_variable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_functions_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
