/* test_api_diskfull.c -- a full disk is reported as "disk full" (not a
 * bare "Input/output error"), and what was committed before stays
 * readable.  Needs a small file system: the test mounts a 1 MiB tmpfs and
 * skips when the system refuses the mount (not root, no CAP_SYS_ADMIN). */
#include "dbutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

typedef struct fsfix {
    char *dir; /* the mount point */
    int mounted;
} fsfix;

static int setup(void **state) {
    fsfix *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    if (mount("tmpfs", f->dir, "tmpfs", 0, "size=1m") == 0) f->mounted = 1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fsfix *f = *state;
    if (f->mounted) umount2(f->dir, MNT_DETACH);
    tu_rmdir_free(f->dir);
    free(f);
    return 0;
}

static void skip_unless_mounted(const fsfix *f) {
    if (!f->mounted) {
        print_message("skipped: cannot mount a small tmpfs here (%s)\n", strerror(errno));
        skip();
    }
}

static void test_kv_put_on_a_full_disk_says_disk_full(void **state) {
    fsfix *f = *state;
    skip_unless_mounted(f);
    char path[4096];
    snprintf(path, sizeof path, "%s/kv", f->dir);
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(path, NULL, &kv), DT_OK);
    dt_kv_dbi d;
    assert_int_equal(dt_kv_dbi_open(kv, "d", DT_KV_DBI_CREATE, &d), DT_OK);
    assert_int_equal(dt_kv_put(kv, NULL, d, "small", 5, "v", 1, 0), DT_OK);
    static char big[256 << 10];
    memset(big, 'x', sizeof big);
    int rc = DT_OK;
    int i;
    for (i = 0; i < 16 && rc == DT_OK; i++) {
        char key[16];
        snprintf(key, sizeof key, "big%d", i);
        rc = dt_kv_put(kv, NULL, d, key, strlen(key), big, sizeof big, 0);
    }
    assert_int_equal(rc, DT_IO);
    if (!strstr(dt_errmsg(kv), "disk full")) fail_msg("message: %s", dt_errmsg(kv));
    /* what was committed before is there */
    void *v = NULL;
    size_t n = 0;
    assert_int_equal(dt_kv_get(kv, NULL, d, "small", 5, &v, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_free(v);
    assert_int_equal(dt_kv_close(kv), DT_OK);
}

static void test_transact_on_a_full_disk_says_disk_full(void **state) {
    fsfix *f = *state;
    skip_unless_mounted(f);
    char path[4096];
    snprintf(path, sizeof path, "%s/db", f->dir);
    dt_conn *conn = NULL;
    assert_int_equal(dt_conn_open(path, NULL, NULL, &conn), DT_OK);
    assert_int_equal(dt_transact(conn, "[[:db/add 1 :p/n 1]]", NULL), DT_OK);
    size_t len = 300 << 10;
    char *tx = malloc(len + 64);
    int k = snprintf(tx, 64, "[[:db/add 2 :p/s \"");
    memset(tx + k, 'y', len);
    strcpy(tx + k + len, "\"]]");
    int rc = DT_OK;
    for (int i = 0; i < 8 && rc == DT_OK; i++) {
        tx[k] = (char)('a' + i); /* a new value each time */
        rc = dt_transact(conn, tx, NULL);
    }
    free(tx);
    assert_int_equal(rc, DT_IO);
    if (!strstr(dt_errmsg(conn), "disk full")) fail_msg("message: %s", dt_errmsg(conn));
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    dt_value e;
    dt_value_long(1, &e);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, &e, 1, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_db_close(db);
    assert_int_equal(dt_conn_close(conn), DT_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kv_put_on_a_full_disk_says_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transact_on_a_full_disk_says_disk_full, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
