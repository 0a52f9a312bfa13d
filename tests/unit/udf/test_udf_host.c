/*
 * test_udf_host.c -- host functions: the registry given at open (C
 * functions with user data, Lua functions not stored), stored
 * descriptors (:db/udf), calls by id, by ident and with a descriptor,
 * and the error for a descriptor this process does not implement.
 */
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/n {:db/valueType :db.type/long}}";

typedef struct counter {
    int calls;
    int64_t base;
} counter;

/* [:acme/bootstrap name]: asserts a person named `name` with n = base +
 * number of people so far (reads the db). */
static int fn_bootstrap(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    counter *k = ud;
    k->calls++;
    if (nargs != 1 || args[0].type != DT_STRING)
        return dt_errmsg_set(db, DT_INVALID, "bootstrap takes one name, got %zu arguments", nargs);
    dt_value a;
    dt_value_text(DT_KEYWORD, "p/name", 6, &a);
    uint64_t people = 0;
    dt_datom_iter *it = NULL;
    int rc = dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it);
    dt_value_free(&a);
    if (rc != DT_OK) return rc;
    dt_datom d;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) people++;
    dt_datom_iter_close(it);
    if (rc != DT_DONE) return rc;
    char text[256];
    snprintf(text, sizeof text, "[{:p/name \"%s\" :p/n %lld}]", args[0].u.s.ptr,
             (long long)(k->base + (int64_t)people));
    return dt_edn_read(text, strlen(text), out);
}

/* Fails with an application code. */
static int fn_refuse(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)args, (void)nargs, (void)ud;
    *out = tu_read("[[:db/add 1 :p/n 1]]"); /* given up on failure, must not leak */
    return dt_errmsg_set(db, DT_USER_FIRST + 7, "refused by the host");
}

static counter K;

static const dt_fn_def FNS[] = {
    {"acme/bootstrap", DT_FN_C, fn_bootstrap, &K, NULL, "tx-fn", NULL},
    {":acme/refuse", DT_FN_C, fn_refuse, NULL, NULL, NULL, NULL},
    {"acme/double", DT_FN_LUA, NULL, NULL,
     "return function(db, e, n) return {dt.add(e, 'p/n', n * 2)} end", NULL, NULL},
};

static int setup(void **state) {
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fns = FNS;
    o.nfns = 3;
    K.calls = 0;
    K.base = 100;
    *state = uu_open(SCHEMA, &o);
    return 0;
}

static int teardown(void **state) {
    tu_db_close(*state);
    return 0;
}

static dt_conn *C(void **state) { return ((tu_db *)*state)->conn; }

static void test_call_by_id(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:acme/bootstrap \"Ann\"] [:acme/bootstrap \"Bob\"]]", DT_OK, 0);
    assert_int_equal(K.calls, 2);
    /* the second call saw the first one's person */
    tu_assert_dump(c, "[1 :p/n 100]\n[1 :p/name \"Ann\"]\n[2 :p/n 101]\n[2 :p/name \"Bob\"]");
    tu_tx(c, "[[:acme/double 1 21]]", DT_OK, 0);
    tu_assert_dump(c, "[1 :p/n 42]\n[1 :p/name \"Ann\"]\n[2 :p/n 101]\n[2 :p/name \"Bob\"]");
    /* with a descriptor */
    tu_tx(c,
          "[[:db.fn/call {:udf/lang :c :udf/kind :tx-fn :udf/id :acme/bootstrap} \"Cy\"]"
          " [:db.fn/call {:udf/lang :lua :udf/id :acme/double} 2 5]]",
          DT_OK, 0);
    tu_assert_dump(c, "[1 :p/n 42]\n[1 :p/name \"Ann\"]\n[2 :p/n 10]\n[2 :p/name \"Bob\"]\n[3 :p/n "
                      "102]\n[3 :p/name \"Cy\"]");
}

static void test_errors(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:p/name \"Ann\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[[:acme/refuse]]", DT_USER_FIRST + 7, "refused by the host");
    assert_non_null(strstr(dt_errmsg(c), ":acme/refuse"));
    tu_assert_fails_unchanged(c, "[[:acme/bootstrap 1 2]]", DT_INVALID, "one name, got 2");
    tu_assert_fails_unchanged(c, "[[:db.fn/call {:udf/lang :c :udf/id :acme/nothing}]]", DT_TXFN,
                              "is not registered in this process");
    tu_assert_fails_unchanged(c, "[[:db.fn/call {:udf/lang :c :udf/id :acme/double} 1 2]]", DT_TXFN,
                              "not registered");
    tu_assert_fails_unchanged(c, "[[:db.fn/call {:udf/lang :cobol :udf/id :acme/bootstrap}]]",
                              DT_TXFN, "not a transaction function descriptor");
    tu_assert_fails_unchanged(
        c, "[[:db.fn/call {:udf/lang :c :udf/kind :query-fn :udf/id :acme/bootstrap}]]", DT_TXFN,
        "not a transaction function descriptor");
}

/* A stored descriptor names the function; the database holds no code. */
static void test_stored_descriptor(void **state) {
    tu_db *d = *state;
    dt_conn *c = d->conn;
    tu_tx(
        c,
        "[{:db/ident :acme/boot :db/udf {:udf/lang :c :udf/kind :tx-fn :udf/id "
        ":acme/bootstrap}}"
        " {:db/ident :acme/gone :db/udf {:udf/lang :c :udf/kind :tx-fn :udf/id :acme/elsewhere}}]",
        DT_OK, 0);
    tu_tx(c, "[[:acme/boot \"Dee\"]]", DT_OK, 0);
    tu_tx(c, "[[:db.fn/call :acme/boot \"Eve\"]]", DT_OK, 0);
    char *dump = tu_dump(c, 0);
    if (!strstr(dump, "[5 :p/name \"Dee\"]")) fail_msg("%s", dump);
    assert_non_null(strstr(dump, "[6 :p/name \"Eve\"]"));
    assert_non_null(strstr(dump, "[1 :db/udf 2]"));
    assert_non_null(strstr(dump, "[2 :udf/id :acme/bootstrap]"));
    free(dump);
    tu_assert_fails_unchanged(
        c, "[[:acme/gone]]", DT_TXFN,
        ":acme/gone: {:udf/lang :c :udf/id :acme/elsewhere} is not registered");
    /* reopened without a registry: a clear error, nothing written */
    tu_db_reopen(d);
    tu_assert_fails_unchanged(d->conn, "[[:acme/boot \"Fay\"]]", DT_TXFN, "not registered");
    /* and a host Lua function exists only where it is registered */
    tu_assert_fails_unchanged(d->conn, "[[:acme/double 1 2]]", DT_INVALID, "unknown operation");
}

static void test_bad_registry(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn *c = NULL;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    dt_fn_def bad[2] = {{"acme/x", DT_FN_C, NULL, NULL, NULL, NULL, NULL}};
    o.fns = bad;
    o.nfns = 1;
    assert_int_equal(dt_conn_open(dir, NULL, &o, &c), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), ":acme/x needs lang"));
    bad[0] = (dt_fn_def){"db/x", DT_FN_C, fn_refuse, NULL, NULL, NULL, NULL};
    assert_int_equal(dt_conn_open(dir, NULL, &o, &c), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "reserved"));
    bad[0] = (dt_fn_def){"acme/x", DT_FN_C, fn_refuse, NULL, NULL, NULL, NULL};
    bad[1] = bad[0];
    o.nfns = 2;
    assert_int_equal(dt_conn_open(dir, NULL, &o, &c), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "registered twice"));
    o.nfns = 1;
    o.fns = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, &o, &c), DT_INVALID);
    tu_rmdir_free(dir);
}

/* dt_call of a registered C function, sync, async and in a block. */
static void test_direct_calls(void **state) {
    dt_conn *c = C(state);
    dt_value name;
    assert_int_equal(dt_value_text(DT_STRING, "Gus", 3, &name), DT_OK);
    dt_report *r = NULL;
    assert_int_equal(dt_call(c, "acme/bootstrap", &name, 1, &r), DT_OK);
    assert_int_equal(dt_report_count(r), 3);
    dt_report_close(r);
    dt_future *f;
    assert_int_equal(dt_call_async(c, "acme/bootstrap", &name, 1, NULL, NULL, &f), DT_OK);
    assert_int_equal(dt_future_wait(f), DT_OK);
    dt_future_free(f);
    dt_txn *tx;
    assert_int_equal(dt_txn_begin(c, &tx), DT_OK);
    assert_int_equal(dt_txn_call(tx, "acme/bootstrap", &name, 1, NULL), DT_OK);
    assert_int_equal(dt_txn_call(tx, "acme/refuse", NULL, 0, NULL), DT_USER_FIRST + 7);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    dt_value_free(&name);
    tu_assert_dump(c, "[1 :p/n 100]\n[1 :p/name \"Gus\"]\n[2 :p/n 101]\n[2 :p/name \"Gus\"]\n[3 "
                      ":p/n 102]\n[3 :p/name \"Gus\"]");
}

/* Options of version 2 give the registry in the layout of then, before
 * dt_fn_def gained qfn: the entries are read with their old size. */
static void test_registry_of_options_version_2(void **state) {
    (void)state;
    struct old_def {
        const char *id;
        dt_fn_lang lang;
        dt_fn_impl fn;
        void *userdata;
        const char *source;
        const char *kind;
    };
    static const struct old_def old[2] = {
        {"acme/refuse", DT_FN_C, fn_refuse, NULL, NULL, NULL},
        {"acme/double", DT_FN_LUA, NULL, NULL,
         "return function(db, e, n) return {dt.add(e, 'p/n', n * 2)} end", "tx-fn"},
    };
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.version = 2;
    o.fns = (const dt_fn_def *)(const void *)old;
    o.nfns = 2;
    tu_db *d = uu_open(SCHEMA, &o);
    tu_tx(d->conn, "[{:db/id 1 :p/name \"x\"}]", DT_OK, 0);
    tu_tx(d->conn, "[[:acme/double 1 21]]", DT_OK, 0);
    tu_assert_dump(d->conn, "[1 :p/n 42]\n[1 :p/name \"x\"]");
    tu_assert_fails_unchanged(d->conn, "[[:acme/refuse]]", DT_USER_FIRST + 7,
                              "refused by the host");
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_descriptor, setup, teardown),
        cmocka_unit_test(test_bad_registry),
        cmocka_unit_test(test_registry_of_options_version_2),
        cmocka_unit_test_setup_teardown(test_direct_calls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
