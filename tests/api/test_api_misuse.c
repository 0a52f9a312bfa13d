/* test_api_misuse.c -- misuse through the public API is an error, never a
 * hang or a write to a database's own data: the self-deadlock guards with
 * several connections and environments per thread, closing a connection's
 * environment, and the reserved "dt/..." dbis. */
#include "dbutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Runs fn(arg) on a thread and fails the test when it has not returned
 * within 20 s (a self-deadlock), instead of hanging the suite. */
static void run_or_fail_on_hang(void *(*fn)(void *), void *arg, const char *what) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    void *res = NULL;
    if (pthread_timedjoin_np(t, &res, &until) != 0) {
        print_error("%s hung (self-deadlock)\n", what);
        _exit(1); /* the stuck thread holds locks: no clean way on */
    }
    if (res) fail_msg("%s: %s", what, (const char *)res);
}

static char *sfail(const char *fmt, ...) {
    static _Thread_local char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

/* {====== Several connections per thread ====== */

typedef struct two_dbs {
    tu_db *a, *b;
} two_dbs;

static void *blocks_on_two_connections(void *arg) {
    two_dbs *d = arg;
    dt_txn *ta = NULL, *tb = NULL;
    if (dt_txn_begin(d->a->conn, &ta) != DT_OK) return sfail("begin A: %s", dt_errmsg(d->a->conn));
    if (dt_txn_begin(d->b->conn, &tb) != DT_OK) return sfail("begin B: %s", dt_errmsg(d->b->conn));
    if (dt_txn_transact(tb, "[[:db/add 1 :b/x 1]]", NULL) != DT_OK) return sfail("transact in B");
    if (dt_txn_commit(tb) != DT_OK) return sfail("commit B");
    /* B is over, A is still open in this thread: waiting for A's writer
     * would wait for ourselves */
    int rc = dt_transact(d->a->conn, "[[:db/add 1 :a/x 1]]", NULL);
    if (rc != DT_MISUSE) return sfail("dt_transact(A) gave %d, wanted DT_MISUSE", rc);
    if (!strstr(dt_errmsg(d->a->conn), "writer"))
        return sfail("message: %s", dt_errmsg(d->a->conn));
    dt_future *f = NULL;
    rc = dt_transact_async(d->a->conn, "[[:db/add 1 :a/x 2]]", NULL, NULL, &f);
    if (rc != DT_OK) return sfail("async submit: %d", rc);
    rc = dt_future_wait(f);
    dt_future_free(f);
    if (rc != DT_MISUSE) return sfail("waiting for A's future gave %d, wanted DT_MISUSE", rc);
    dt_txn *again = NULL;
    if ((rc = dt_txn_begin(d->a->conn, &again)) != DT_MISUSE)
        return sfail("a second block on A gave %d", rc);
    if (dt_conn_update_schema(d->a->conn, "{:a/y {:db/valueType :db.type/long}}") != DT_MISUSE)
        return sfail("schema update on A inside A's block");
    /* the block itself still works and commits */
    if (dt_txn_transact(ta, "[[:db/add 1 :a/x 3]]", NULL) != DT_OK) return sfail("transact in A");
    if (dt_txn_commit(ta) != DT_OK) return sfail("commit A");
    /* and the async one queued meanwhile commits after the block */
    return NULL;
}

static void test_block_guard_holds_with_two_connections_in_one_thread(void **state) {
    (void)state;
    two_dbs d = {tu_db_open(NULL), tu_db_open(NULL)};
    run_or_fail_on_hang(blocks_on_two_connections, &d, "block on A, block on B ended");
    assert_int_equal(dt_transact(d.a->conn, "[]", NULL), DT_OK); /* drains the queue */
    tu_assert_dump(d.a->conn, "[1 :a/x 2]");
    tu_assert_dump(d.b->conn, "[1 :b/x 1]");
    tu_db_close(d.a);
    tu_db_close(d.b);
}

/* }====== */

/* {====== Several KV environments per thread ====== */

typedef struct two_kvs {
    dt_kv *a, *b;
    dt_kv_dbi da, db;
} two_kvs;

static void *writes_on_two_environments(void *arg) {
    two_kvs *k = arg;
    dt_kv_txn *ta = NULL, *tb = NULL;
    if (dt_kv_txn_begin(k->a, DT_KV_TXN_WRITE, &ta) != DT_OK) return sfail("begin A");
    if (dt_kv_txn_begin(k->b, DT_KV_TXN_WRITE, &tb) != DT_OK) return sfail("begin B");
    if (dt_kv_put(k->b, tb, k->db, "k", 1, "b", 1, 0) != DT_OK) return sfail("put B");
    if (dt_kv_txn_commit(tb) != DT_OK) return sfail("commit B");
    int rc = dt_kv_put(k->a, NULL, k->da, "k", 1, "x", 1, 0);
    if (rc != DT_MISUSE) return sfail("autocommit put on A gave %d, wanted DT_MISUSE", rc);
    dt_kv_txn *t2 = NULL;
    if ((rc = dt_kv_txn_begin(k->a, DT_KV_TXN_WRITE, &t2)) != DT_MISUSE)
        return sfail("second write txn on A gave %d", rc);
    dt_kv_op op = {DT_KV_OP_PUT, k->da, 0, {"k", 1}, {"y", 1}};
    if ((rc = dt_kv_batch(k->a, NULL, &op, 1)) != DT_MISUSE) return sfail("batch on A gave %d", rc);
    if ((rc = dt_kv_close(k->a)) != DT_MISUSE) return sfail("close of A gave %d", rc);
    /* B's writer is free again: B works */
    if (dt_kv_put(k->b, NULL, k->db, "k2", 2, "b", 1, 0) != DT_OK) return sfail("put B again");
    if (dt_kv_put(k->a, ta, k->da, "k", 1, "a", 1, 0) != DT_OK) return sfail("put A in txn");
    if (dt_kv_txn_commit(ta) != DT_OK) return sfail("commit A");
    /* A's writer is free now */
    if (dt_kv_put(k->a, NULL, k->da, "k3", 2, "a", 1, 0) != DT_OK) return sfail("put A after");
    return NULL;
}

static void test_kv_write_guard_holds_with_two_environments_in_one_thread(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    char pa[4096], pb[4096];
    snprintf(pa, sizeof pa, "%s/a", dir);
    snprintf(pb, sizeof pb, "%s/b", dir);
    two_kvs k;
    assert_int_equal(dt_kv_open(pa, NULL, &k.a), DT_OK);
    assert_int_equal(dt_kv_open(pb, NULL, &k.b), DT_OK);
    assert_int_equal(dt_kv_dbi_open(k.a, "d", DT_KV_DBI_CREATE, &k.da), DT_OK);
    assert_int_equal(dt_kv_dbi_open(k.b, "d", DT_KV_DBI_CREATE, &k.db), DT_OK);
    run_or_fail_on_hang(writes_on_two_environments, &k, "write txn on A, write txn on B ended");
    uint64_t n = 0;
    assert_int_equal(dt_kv_range_count(k.a, NULL, k.da, NULL, &n), DT_OK);
    assert_int_equal(n, 2); /* k and k3: nothing of the refused writes */
    void *v = NULL;
    size_t vl = 0;
    assert_int_equal(dt_kv_get(k.a, NULL, k.da, "k", 1, &v, &vl), DT_OK);
    assert_memory_equal(v, "a", 1);
    dt_free(v);
    assert_int_equal(dt_kv_close(k.a), DT_OK);
    assert_int_equal(dt_kv_close(k.b), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== A connection's environment and its reserved dbis ====== */

static void test_closing_a_connections_environment_is_refused(void **state) {
    (void)state;
    tu_db *d = tu_db_open(NULL);
    tu_tx(d->conn, "[[:db/add 1 :p/x 1]]", DT_OK, 0);
    dt_kv *kv = dt_conn_kv(d->conn);
    assert_non_null(kv);
    assert_int_equal(dt_kv_close(kv), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(kv), "belongs to a connection"));
    /* the connection is untouched */
    tu_tx(d->conn, "[[:db/add 1 :p/y 2]]", DT_OK, 0);
    tu_assert_dump(d->conn, "[1 :p/x 1]\n[1 :p/y 2]");
    tu_db_close(d);
}

static void test_reserved_dbis_are_read_only_through_the_kv_api(void **state) {
    (void)state;
    tu_db *d = tu_db_open("{:p/email {:db/valueType :db.type/string}}");
    tu_tx(d->conn, "[{:db/id 1 :p/email \"a@x\"}]", DT_OK, 0);
    char *before = tu_dump(d->conn, 1);
    dt_kv *kv = dt_conn_kv(d->conn);
    static const char *names[] = {"dt/eav",    "dt/ave",   "dt/meta",
                                  "dt/schema", "dt/stats", "dt/txlog"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        dt_kv_dbi dbi = DT_KV_DBI_NONE;
        assert_int_equal(dt_kv_dbi_open(kv, names[i], DT_KV_DBI_CREATE, &dbi), DT_OK);
        uint64_t n = 0; /* reading is fine */
        assert_int_equal(dt_kv_range_count(kv, NULL, dbi, NULL, &n), DT_OK);
        assert_true(n > 0);
        dt_kv_list first = DT_KV_LIST_INIT;
        assert_int_equal(dt_kv_get_first(kv, NULL, dbi, NULL, &first), DT_OK);
        const dt_kv_bytes key = first.items[0].key;
        assert_int_equal(dt_kv_put(kv, NULL, dbi, "zz", 2, "v", 1, 0), DT_MISUSE);
        assert_non_null(strstr(dt_errmsg(kv), "read-only through the KV API"));
        assert_int_equal(dt_kv_del(kv, NULL, dbi, key.ptr, key.len, NULL, 0), DT_MISUSE);
        dt_kv_op op = {DT_KV_OP_DEL, dbi, 0, key, {NULL, 0}};
        assert_int_equal(dt_kv_batch(kv, NULL, &op, 1), DT_MISUSE);
        assert_int_equal(dt_kv_dbi_clear(kv, NULL, dbi), DT_MISUSE);
        assert_int_equal(dt_kv_dbi_drop(kv, dbi), DT_MISUSE);
        dt_future *f = NULL;
        assert_int_equal(dt_kv_transact_async(kv, &op, 1, NULL, NULL, &f), DT_OK);
        assert_int_equal(dt_future_wait(f), DT_MISUSE);
        dt_future_free(f);
        /* inside a block too */
        dt_txn *tx = NULL;
        assert_int_equal(dt_txn_begin(d->conn, &tx), DT_OK);
        assert_int_equal(dt_kv_del(kv, dt_txn_kv_txn(tx), dbi, key.ptr, key.len, NULL, 0),
                         DT_MISUSE);
        assert_int_equal(dt_txn_commit(tx), DT_OK);
        dt_kv_list_free(&first);
    }
    /* a new reserved name cannot be made */
    dt_kv_dbi nd = DT_KV_DBI_NONE;
    assert_int_equal(dt_kv_dbi_open(kv, "dt/mine", DT_KV_DBI_CREATE, &nd), DT_NOTFOUND);
    assert_non_null(strstr(dt_errmsg(kv), "reserved"));
    char *after = tu_dump(d->conn, 1);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* Datolite's own writes go on */
    tu_tx(d->conn, "[{:db/id 2 :p/email \"b@x\"}]", DT_OK, 0);
    tu_assert_dump(d->conn, "[1 :p/email \"a@x\"]\n[2 :p/email \"b@x\"]");
    tu_db_close(d);
}

static void test_reserved_names_in_a_plain_environment(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(dir, NULL, &kv), DT_OK);
    dt_kv_dbi d = DT_KV_DBI_NONE;
    assert_int_equal(dt_kv_dbi_open(kv, "dt/x", DT_KV_DBI_CREATE, &d), DT_NOTFOUND);
    assert_int_equal(dt_kv_dbi_open(kv, "dtx", DT_KV_DBI_CREATE, &d), DT_OK); /* not reserved */
    assert_int_equal(dt_kv_put(kv, NULL, d, "k", 1, "v", 1, 0), DT_OK);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_guard_holds_with_two_connections_in_one_thread),
        cmocka_unit_test(test_kv_write_guard_holds_with_two_environments_in_one_thread),
        cmocka_unit_test(test_closing_a_connections_environment_is_refused),
        cmocka_unit_test(test_reserved_dbis_are_read_only_through_the_kv_api),
        cmocka_unit_test(test_reserved_names_in_a_plain_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
