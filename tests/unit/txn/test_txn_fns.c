/*
 * test_txn_fns.c -- the transaction engine ready for transaction functions:
 * list forms dispatched through the table of built-ins and then the
 * connection's functions (txfn.h), tx-data produced during a transaction
 * owned by it, the nesting limit (DT_LIMIT), and upserts resolved to a
 * fixpoint however long the chain.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "txfn.h"

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/age {:db/valueType :db.type/long}"
                            " :n/id {:db/valueType :db.type/string :db/unique :db.unique/identity}"
                            " :n/parent {:db/valueType :db.type/ref :db/unique :db.unique/identity}"
                            " :n/child {:db/valueType :db.type/ref}"
                            " :n/note {:db/valueType :db.type/string}}";

TU_DB_FIXTURE(SCHEMA)

/* {====== Transaction functions used by the tests ====== */

/* [:t/make tempid name]: [[:db/add tempid :p/name name] {:db/id tempid :p/age 3}] */
static int fn_make(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)db;
    (*(int *)ud)++;
    if (nargs != 2 || args[0].type != DT_STRING || args[1].type != DT_STRING)
        return dt__seterr(NULL, DT_INVALID, "takes a tempid and a name");
    char text[256];
    snprintf(text, sizeof text, "[[:db/add \"%s\" :p/name \"%s\"] {:db/id \"%s\" :p/age 3}]",
             args[0].u.s.ptr, args[1].u.s.ptr, args[0].u.s.ptr);
    return dt_edn_read(text, strlen(text), out);
}

/* [:t/twice]: two calls of :t/make, one level deeper each. */
static int fn_twice(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)db, (void)args, (void)nargs, (void)ud;
    *out = tu_read("[[:t/make \"a\" \"Ann\"] [:t/make \"b\" \"Bob\"]]");
    return DT_OK;
}

/* [:t/loop]: calls itself forever. */
static int fn_loop(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)db, (void)args, (void)nargs;
    (*(int *)ud)++;
    *out = tu_read("[[:db/add 1 :p/age 1] [:t/loop]]");
    return DT_OK;
}

/* [:t/fail]: fails after building some tx-data (which must not leak). */
static int fn_fail(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)db, (void)args, (void)nargs, (void)ud;
    *out = tu_read("[[:db/add 1 :p/age 1]]");
    return dt__seterr(NULL, DT_CONFLICT, "the balance is too low");
}

/* [:t/scalar]: returns something that is not tx-data. */
static int fn_scalar(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)db, (void)args, (void)nargs, (void)ud;
    dt_value_long(42, out);
    return DT_OK;
}

/* [:t/inc e]: reads e's :p/age through the view and asserts it + 1. */
static int fn_inc(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)ud;
    if (nargs != 1) return dt__seterr(NULL, DT_INVALID, "takes an entity");
    dt_value comp[2];
    comp[0] = args[0];
    assert_int_equal(dt_value_text(DT_KEYWORD, "p/age", 5, &comp[1]), DT_OK);
    dt_datom_iter *it;
    int rc = dt_db_datoms(db, DT_INDEX_EAV, comp, 2, &it);
    dt_value_free(&comp[1]);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "%s", dt_errmsg(db));
    dt_datom d;
    int64_t age = 0;
    if (dt_datom_iter_next(it, &d) == DT_ROW) age = d.v.u.i;
    dt_datom_iter_close(it);
    char text[128];
    snprintf(text, sizeof text, "[[:db/add %lld :p/age %lld]]", (long long)args[0].u.i,
             (long long)age + 1);
    return dt_edn_read(text, strlen(text), out);
}

/* [:t/seen]: records what the function's view shows: its basis
 * transaction as "s"'s :p/age and the count of :p/age values as its
 * :n/note. */
static int fn_seen(dt_db *db, const dt_value *args, size_t nargs, void *ud, dt_value *out) {
    (void)args, (void)nargs, (void)ud;
    dt_attr_stats st;
    int rc = dt_db_attr_stats(db, "p/age", &st);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "%s", dt_errmsg(db));
    char text[160];
    snprintf(text, sizeof text, "[[:db/add \"s\" :p/age %lld] [:db/add \"s\" :n/note \"%llu\"]]",
             (long long)dt_db_basis_tx(db), (unsigned long long)st.count);
    dt_attr_stats_free(&st);
    return dt_edn_read(text, strlen(text), out);
}

/* }====== */

/*
 * Transactions queued while a block holds the writer commit as one batch,
 * whose entity ids, transaction counter and statistics are written once
 * before its commit: a function in the middle of the batch still sees the
 * transactions before its own (basis, statistics), and the counters go on
 * from the batch afterwards.
 */
/* Queues txs[0..n) while a block holds the writer, so that they commit
 * as one batch; fail_at (or -1) must fail with DT_CONFLICT, the others
 * get consecutive transaction ids after *tx, which is updated. */
static void run_batch_of(dt_conn *c, const char **txs, int n, int fail_at, int64_t *tx) {
    dt_future *fu[16];
    dt_txn *block = NULL;
    assert_true(n <= 16);
    assert_int_equal(dt_txn_begin(c, &block), DT_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(dt_transact_async(c, txs[i], NULL, NULL, &fu[i]), DT_OK);
    assert_int_equal(dt_txn_commit(block), DT_OK);
    for (int i = 0; i < n; i++) {
        int rc = dt_future_wait(fu[i]);
        if (i == fail_at) {
            assert_int_equal(rc, DT_CONFLICT);
        } else {
            assert_int_equal(rc, DT_OK);
            assert_int_equal(dt_future_tx(fu[i]), ++*tx);
        }
        dt_future_free(fu[i]);
    }
}

static void assert_age_stats(dt_conn *c, uint64_t count, uint64_t distinct) {
    dt_db *db;
    dt_attr_stats st;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_db_attr_stats(db, "p/age", &st), DT_OK);
    assert_int_equal(st.count, count);
    assert_int_equal(st.distinct, distinct);
    dt_attr_stats_free(&st);
    dt_db_close(db);
}

/*
 * Transactions queued while a block holds the writer commit as one batch,
 * whose entity ids, transaction counter and statistics are written once
 * before its commit: a function in the middle of the batch still sees the
 * transactions before its own (basis, statistics), and the counters go on
 * from the batch afterwards, also after a batch that ran again without a
 * failed transaction.
 */
static void test_function_in_a_group_commit_batch_sees_the_earlier_transactions(void **state) {
    dt_conn *c = C(state);
    assert_int_equal(txn_fn_register(c, "t/seen", fn_seen, NULL), DT_OK);
    dt_report *r = tu_tx(c, "[{:p/name \"first\"}]", DT_OK, 1);
    int64_t t0 = dt_report_tx(r), tx = t0;
    dt_report_close(r);
    const char *one[] = {"[{:p/age 10}]", "[{:p/age 11}]", "[[:t/seen]]", "[{:p/age 12}]"};
    run_batch_of(c, one, 4, -1, &tx);
    char buf[512];
    snprintf(buf, sizeof buf,
             "[1 :p/name \"first\"]\n[2 :p/age 10]\n[3 :p/age 11]\n[4 :n/note \"2\"]\n"
             "[4 :p/age %lld]\n[5 :p/age 12]",
             (long long)(t0 + 2));
    tu_assert_dump(c, buf);
    assert_age_stats(c, 4, 4);
    const char *two[] = {"[{:p/age 20}]", "[[:db/cas 1 :p/name \"nope\" \"x\"]]", "[[:t/seen]]",
                         "[{:p/age 21}]"};
    run_batch_of(c, two, 4, 1, &tx);
    snprintf(buf, sizeof buf,
             "[1 :p/name \"first\"]\n[2 :p/age 10]\n[3 :p/age 11]\n[4 :n/note \"2\"]\n"
             "[4 :p/age %lld]\n[5 :p/age 12]\n[6 :p/age 20]\n[7 :n/note \"5\"]\n"
             "[7 :p/age %lld]\n[8 :p/age 21]",
             (long long)(t0 + 2), (long long)(t0 + 5));
    tu_assert_dump(c, buf);
    assert_age_stats(c, 7, 7);
    /* the counters go on after the batches */
    r = tu_tx(c, "[[:db/add \"z\" :p/age 30]]", DT_OK, 1);
    assert_int_equal(dt_report_tx(r), tx + 1);
    assert_int_equal(tu_tempid(r, "z"), 9);
    dt_report_close(r);
}

static void test_unknown_operation_names_the_keyword(void **state) {
    dt_conn *c = C(state);
    tu_assert_fails_unchanged(c, "[[:no/op 1 2]]", DT_INVALID, "unknown operation :no/op");
    /* built-ins still dispatch through the table, aliases included */
    tu_tx(c, "[[:db/add 1 :p/age 5] [:db.fn/cas 1 :p/age 5 6] [:db/add 2 :p/age 1]]", DT_OK, 0);
    tu_tx(c, "[[:db.fn/retractAttribute 2 :p/age] [:db.fn/retractEntity 1]]", DT_OK, 0);
    tu_assert_dump(c, "");
}

static void test_function_tx_data_is_owned_by_the_transaction(void **state) {
    dt_conn *c = C(state);
    int calls = 0;
    assert_int_equal(txn_fn_register(c, ":t/make", fn_make, &calls), DT_OK);
    assert_int_equal(txn_fn_register(c, "t/twice", fn_twice, NULL), DT_OK);
    /* the tempid "x" exists only in the produced tx-data; the report and
     * the ids outlive the function's call */
    dt_report *r = tu_tx(c, "[[:t/make \"x\" \"Xi\"] [:db/add \"x\" :n/note \"top\"]]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "x"), 1);
    dt_report_close(r);
    tu_assert_dump(c, "[1 :n/note \"top\"]\n[1 :p/age 3]\n[1 :p/name \"Xi\"]");
    /* functions returning calls of functions */
    r = tu_tx(c, "[[:t/twice]]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "a"), 2);
    assert_int_equal(tu_tempid(r, "b"), 3);
    dt_report_close(r);
    assert_int_equal(calls, 3);
    tu_assert_dump(c, "[1 :n/note \"top\"]\n[1 :p/age 3]\n[1 :p/name \"Xi\"]\n[2 :p/age 3]\n"
                      "[2 :p/name \"Ann\"]\n[3 :p/age 3]\n[3 :p/name \"Bob\"]");
    /* the same through an import in batches, whose tempids carry over */
    uint64_t ntx = 0;
    const char *imp = "[[:t/make \"y\" \"Yu\"] [:db/add \"y\" :n/note \"second batch\"]]";
    assert_int_equal(dt_import_edn(c, imp, strlen(imp), 1, &ntx), DT_OK);
    assert_int_equal(ntx, 2);
    char *dump = tu_dump(c, 0);
    assert_non_null(strstr(dump, "[4 :n/note \"second batch\"]\n[4 :p/age 3]\n[4 :p/name \"Yu\"]"));
    free(dump);
}

static void test_functions_see_the_transaction_and_fail_cleanly(void **state) {
    dt_conn *c = C(state);
    assert_int_equal(txn_fn_register(c, "t/inc", fn_inc, NULL), DT_OK);
    assert_int_equal(txn_fn_register(c, "t/fail", fn_fail, NULL), DT_OK);
    assert_int_equal(txn_fn_register(c, "t/scalar", fn_scalar, NULL), DT_OK);
    tu_tx(c, "[[:db/add 7 :p/age 41]]", DT_OK, 0);
    tu_tx(c, "[[:t/inc 7]]", DT_OK, 0);
    tu_assert_dump(c, "[7 :p/age 42]");
    tu_assert_fails_unchanged(c, "[[:t/inc 7] [:t/fail]]", DT_CONFLICT,
                              "form 2 [:t/fail]: :t/fail failed: the balance is too low");
    tu_assert_fails_unchanged(c, "[[:t/scalar]]", DT_INVALID,
                              ":t/scalar must return tx-data (a vector or list of forms), "
                              "returned 42");
    tu_assert_fails_unchanged(c, "[[:t/inc]]", DT_INVALID, ":t/inc failed: takes an entity");
    /* reserved and empty names */
    assert_int_equal(txn_fn_register(c, "db/add", fn_inc, NULL), DT_INVALID);
    assert_int_equal(txn_fn_register(c, ":db.fn/mine", fn_inc, NULL), DT_INVALID);
    assert_int_equal(txn_fn_register(c, ":", fn_inc, NULL), DT_INVALID);
    assert_int_equal(txn_fn_register(c, "t/x", NULL, NULL), DT_MISUSE);
}

/* {====== Nesting limit ====== */

static void test_recursive_function_hits_the_depth_limit(void **state) {
    dt_conn *c = C(state);
    int calls = 0;
    assert_int_equal(txn_fn_register(c, "t/loop", fn_loop, &calls), DT_OK);
    tu_tx(c, "[[:db/add 1 :p/age 0]]", DT_OK, 0);
    char want[128];
    snprintf(want, sizeof want, "form 1 [:t/loop]: tx-data nests deeper than %d levels",
             DT_TX_MAX_DEPTH);
    tu_assert_fails_unchanged(c, "[[:t/loop]]", DT_LIMIT, want);
    /* the top-level form is level 1; every call's forms one more */
    assert_int_equal(calls, DT_TX_MAX_DEPTH);
}

/* tx-data of `levels` entity maps, each nested in the one before. */
static char *nested_maps(int levels) {
    size_t cap = (size_t)levels * 40 + 64, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "[");
    for (int i = 0; i < levels; i++)
        len += (size_t)snprintf(s + len, cap - len, "{:n/note \"m%d\"%s", i,
                                i + 1 < levels ? " :n/child " : "");
    for (int i = 0; i < levels; i++) len += (size_t)snprintf(s + len, cap - len, "}");
    snprintf(s + len, cap - len, "]");
    return s;
}

static void test_nested_entity_maps_deeper_than_the_limit_are_refused(void **state) {
    dt_conn *c = C(state);
    char *ok = nested_maps(DT_TX_MAX_DEPTH), *deep = nested_maps(DT_TX_MAX_DEPTH + 1);
    dt_report *r = tu_tx(c, ok, DT_OK, 1);
    /* every level made an entity with a note, and all but the last a child ref */
    assert_int_equal(dt_report_count(r), 2 * DT_TX_MAX_DEPTH - 1 + 1);
    dt_report_close(r);
    char want[64];
    snprintf(want, sizeof want, "nests deeper than %d levels", DT_TX_MAX_DEPTH);
    tu_assert_fails_unchanged(c, deep, DT_LIMIT, want);
    free(ok);
    free(deep);
}

/* }====== */

/* {====== Upserts to a fixpoint ====== */

/*
 * Entities 1..n form a chain by the unique identity ref :n/parent (k's
 * parent is k-1; 1 has :n/id "root").  The transaction names the chain
 * again with tempids, leaf first, so that each tempid resolves only after
 * the one written after it: n rounds of the old resolution.
 */
static void upsert_chain(dt_conn *c, int n, int leaf_first) {
    size_t cap = (size_t)n * 64 + 64, len = 0;
    char *tx = malloc(cap);
    len += (size_t)snprintf(tx + len, cap - len, "[{:db/id 1 :n/id \"root\"}");
    for (int k = 2; k <= n; k++)
        len += (size_t)snprintf(tx + len, cap - len, " [:db/add %d :n/parent %d]", k, k - 1);
    snprintf(tx + len, cap - len, "]");
    tu_tx(c, tx, DT_OK, 0);
    len = 0;
    len += (size_t)snprintf(tx + len, cap - len, "[");
    for (int j = 0; j < n; j++) {
        int k = leaf_first ? n - j : j + 1;
        if (k == 1)
            len += (size_t)snprintf(tx + len, cap - len, " {:db/id \"t1\" :n/id \"root\"}");
        else
            len += (size_t)snprintf(tx + len, cap - len,
                                    " {:db/id \"t%d\" :n/parent \"t%d\" :n/note \"n%d\"}", k, k - 1,
                                    k);
    }
    snprintf(tx + len, cap - len, "]");
    dt_report *r = tu_tx(c, tx, DT_OK, 1);
    char name[16];
    for (int k = 1; k <= n; k++) {
        snprintf(name, sizeof name, "t%d", k);
        assert_int_equal(tu_tempid(r, name), k);
    }
    /* the notes, and the transaction's :db/txInstant: no new entity */
    assert_int_equal(dt_report_count(r), (size_t)n - 1 + 1);
    dt_report_close(r);
    free(tx);
}

static void test_upsert_chain_longer_than_64_rounds_resolves(void **state) {
    upsert_chain(C(state), 150, 1);
}

static void test_upsert_chain_in_writing_order_resolves(void **state) {
    upsert_chain(C(state), 150, 0);
}

static void test_upserts_still_detect_conflicts_through_chains(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :n/id \"a\"} {:db/id 2 :n/id \"b\"} [:db/add 3 :n/parent 1]]", DT_OK, 0);
    /* "x" is entity 3 through its parent "p" = 1, and entity 2 through :n/id */
    tu_assert_fails_unchanged(c,
                              "[{:db/id \"x\" :n/parent \"p\"} {:db/id \"x\" :n/id \"b\"}"
                              " {:db/id \"p\" :n/id \"a\"}]",
                              DT_CONFLICT, "conflicting upserts");
}

/* }====== */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_unknown_operation_names_the_keyword),
        T(test_function_tx_data_is_owned_by_the_transaction),
        T(test_functions_see_the_transaction_and_fail_cleanly),
        T(test_function_in_a_group_commit_batch_sees_the_earlier_transactions),
        T(test_recursive_function_hits_the_depth_limit),
        T(test_nested_entity_maps_deeper_than_the_limit_are_refused),
        T(test_upsert_chain_longer_than_64_rounds_resolves),
        T(test_upsert_chain_in_writing_order_resolves),
        T(test_upserts_still_detect_conflicts_through_chains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
