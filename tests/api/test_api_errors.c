/* test_api_errors.c -- result codes, dt_errstr and the per-thread,
 * per-handle error messages, through the public header only. */
#include "dbutil.h"

#include <pthread.h>
#include <string.h>

static void test_errstr_names_every_code(void **state) {
    (void)state;
    assert_string_equal(dt_errstr(DT_OK), "ok");
    assert_string_equal(dt_errstr(DT_NOTFOUND), "not found");
    assert_string_equal(dt_errstr(DT_MAPFULL), "map full");
    assert_string_equal(dt_errstr(DT_CORRUPT), "corrupt or incompatible file");
    assert_string_equal(dt_errstr(0x4242), "unknown result code");
    assert_string_equal(dt_errstr(DT_INTERRUPT), "interrupted");
    for (int rc = DT_OK; rc <= DT_INTERRUPT; rc++)
        assert_string_not_equal(dt_errstr(rc), "unknown result code");
}

static void test_version_matches_macros(void **state) {
    (void)state;
    assert_string_equal(dt_version(), DT_VERSION_STRING);
}

static void test_errmsg_empty_when_nothing_failed(void **state) {
    (void)state;
    int x;
    assert_string_equal(dt_errmsg(&x), "");
}

static void *other_thread(void *arg) {
    (void)arg;
    /* A fresh thread has no message, whatever the main thread recorded. */
    dt_value v;
    int rc = dt_value_text(DT_BIGINT, "12x", 3, &v);
    (void)rc;
    return (void *)(strcmp(dt_errmsg(NULL), "") != 0 ? (void *)1 : NULL);
}

static void test_errmsg_is_per_thread(void **state) {
    (void)state;
    dt_value v;
    assert_int_equal(dt_value_text(DT_BIGINT, "abc", 3, &v), DT_INVALID);
    const char *m = dt_errmsg(NULL);
    assert_non_null(strstr(m, "abc"));
    pthread_t t;
    void *res = NULL;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, &res);
    assert_non_null(res); /* the other thread saw its own message */
    /* ours is untouched by the other thread's failure */
    assert_non_null(strstr(dt_errmsg(NULL), "abc"));
}

/* {====== Application codes and messages ====== */

static int block_fails_with_message(dt_txn *tx, void *ud) {
    (void)ud;
    if (dt_txn_transact(tx, "[[:db/add 1 :o/n 2]]", NULL) != DT_OK) return DT_INTERNAL;
    return dt_errmsg_set(tx, DT_USER_FIRST + 3, "order %d: no stock", 42);
}

static int block_fails_silently(dt_txn *tx, void *ud) {
    (void)tx;
    (void)ud;
    return DT_USER_LAST;
}

static void test_block_functions_fail_with_application_codes(void **state) {
    (void)state;
    assert_string_equal(dt_errstr(DT_USER_FIRST), "application error");
    assert_string_equal(dt_errstr(DT_USER_LAST), "application error");
    assert_string_equal(dt_errstr(DT_USER_LAST + 1), "unknown result code");
    assert_true(DT_USER_FIRST > (DT_MAPFULL | (0xff << 8))); /* above every library code */
    tu_db *d = tu_db_open(NULL);
    tu_tx(d->conn, "[[:db/add 1 :o/n 1]]", DT_OK, 0);
    assert_int_equal(dt_with_txn(d->conn, block_fails_with_message, NULL), DT_USER_FIRST + 3);
    assert_string_equal(dt_errmsg(d->conn), "order 42: no stock");
    tu_assert_dump(d->conn, "[1 :o/n 1]"); /* aborted */
    /* a function failing without a message never shows an older one */
    dt_errmsg_set(d->conn, DT_CONFLICT, "poison");
    assert_int_equal(dt_with_txn(d->conn, block_fails_silently, NULL), DT_USER_LAST);
    assert_non_null(strstr(dt_errmsg(d->conn), "failed with 131071 (application error)"));
    tu_db_close(d);
}

static int kv_fn_fails_with_message(dt_kv_txn *txn, void *ud) {
    (void)txn;
    return dt_errmsg_set(ud, DT_USER_FIRST, "rejected %s", "k");
}

static int kv_fn_fails_silently(dt_kv_txn *txn, void *ud) {
    (void)txn;
    (void)ud;
    return DT_USER_FIRST + 1;
}

static void test_kv_functions_fail_with_application_codes(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(dir, NULL, &kv), DT_OK);
    assert_int_equal(dt_kv_with_txn(kv, kv_fn_fails_with_message, kv), DT_USER_FIRST);
    assert_string_equal(dt_errmsg(kv), "rejected k");
    dt_errmsg_set(kv, DT_CONFLICT, "poison");
    assert_int_equal(dt_kv_with_txn(kv, kv_fn_fails_silently, NULL), DT_USER_FIRST + 1);
    assert_non_null(strstr(dt_errmsg(kv), "failed with 65537 (application error)"));
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(dir);
}

static void test_lookup_ref_messages_show_the_value(void **state) {
    (void)state;
    tu_db *d = tu_db_open("{:u/email {:db/valueType :db.type/string :db/unique "
                          ":db.unique/identity}}");
    tu_assert_fails_unchanged(d->conn, "[[:db/add [:u/email \"nobody@x\"] :u/n 1]]", DT_NOTFOUND,
                              "lookup ref [:u/email \"nobody@x\"] matches no entity");
    tu_assert_fails_unchanged(d->conn, "[{:db/id [:u/email \"z@x\"] :u/n 1}]", DT_NOTFOUND,
                              "[:u/email \"z@x\"]");
    tu_db_close(d);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errstr_names_every_code),
        cmocka_unit_test(test_version_matches_macros),
        cmocka_unit_test(test_errmsg_empty_when_nothing_failed),
        cmocka_unit_test(test_errmsg_is_per_thread),
        cmocka_unit_test(test_block_functions_fail_with_application_codes),
        cmocka_unit_test(test_kv_functions_fail_with_application_codes),
        cmocka_unit_test(test_lookup_ref_messages_show_the_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
