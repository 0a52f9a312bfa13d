/* test_api_errors.c -- result codes, dt_errstr and the per-thread,
 * per-handle error messages, through the public header only. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

static void test_errstr_names_every_code(void **state) {
    (void)state;
    assert_string_equal(dt_errstr(DT_OK), "ok");
    assert_string_equal(dt_errstr(DT_NOTFOUND), "not found");
    assert_string_equal(dt_errstr(DT_MAPFULL), "map full");
    assert_string_equal(dt_errstr(DT_CORRUPT), "corrupt or incompatible file");
    assert_string_equal(dt_errstr(9999), "unknown result code");
    for (int rc = DT_OK; rc <= DT_INTERNAL; rc++)
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errstr_names_every_code),
        cmocka_unit_test(test_version_matches_macros),
        cmocka_unit_test(test_errmsg_empty_when_nothing_failed),
        cmocka_unit_test(test_errmsg_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
