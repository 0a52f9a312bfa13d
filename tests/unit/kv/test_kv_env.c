/* test_kv_env.c -- environments: open/close, options and flags, corrupt
 * files, read-only and temp modes, misuse, copy, statistics, and failing
 * allocations during open. */
#include "kvtest.h"

#include <sys/stat.h>
#include <unistd.h>

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const char *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void test_open_creates_directory_and_reopens_with_data(void **state) {
    kvfix *f = *state;
    assert_int_equal(PUTS(f, f->db, "k", "v"), DT_OK);
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
    char *sub = join(f->dir, "sub");
    dt_kv *kv;
    assert_int_equal(dt_kv_open(sub, NULL, &kv), DT_OK);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(dt_kv_close(kv), DT_OK);
    free(sub);
    assert_int_equal(kvfix_open(f, NULL), 0);
    ASSERT_VAL(f, NULL, f->db, "k", "v");
}

static void test_open_garbage_data_file_is_corrupt(void **state) {
    kvfix *f = *state;
    char *dir = join(f->dir, "garbage");
    assert_int_equal(mkdir(dir, 0755), 0);
    char *data = join(dir, "data.mdb");
    char junk[20000];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7 + 3);
    write_file(data, junk, sizeof junk);
    dt_kv *kv = (dt_kv *)1;
    assert_int_equal(dt_kv_open(dir, NULL, &kv), DT_CORRUPT);
    assert_null(kv);
    assert_non_null(strstr(dt_errmsg(NULL), "not an LMDB database file"));
    assert_non_null(strstr(dt_errmsg(NULL), dir));
    /* a short garbage file, and read-only mode, are corrupt too */
    write_file(data, "hello", 5);
    assert_int_equal(dt_kv_open(dir, NULL, &kv), DT_CORRUPT);
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.flags = DT_KV_RDONLY;
    assert_int_equal(dt_kv_open(dir, &o, &kv), DT_CORRUPT);
    free(data);
    free(dir);
}

/* Patches `len` bytes at `off` of dir/data.mdb; the old bytes go to `old`. */
static void patch_data_file(const char *dir, long off, const void *bytes, size_t len, void *old) {
    char *data = join(dir, "data.mdb");
    FILE *fp = fopen(data, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    if (old) assert_int_equal(fread(old, 1, len, fp), len);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    free(data);
}

/* Damaged meta pages (fields LMDB itself trusts) are refused before LMDB
 * maps the file: a zero page size used to divide by zero inside LMDB. */
static void test_open_damaged_meta_pages_is_corrupt(void **state) {
    kvfix *f = *state;
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%03d", i);
        assert_int_equal(PUTS(f, f->db, k, "value"), DT_OK);
    }
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
    static const struct {
        long off;
        size_t len;
        uint64_t v;
        const char *says;
    } cases[] = {
        {40, 4, 0, "page size of 0 bytes"},                     /* meta 0: page size */
        {4096 + 40, 4, 12345, "page size of 12345 bytes"},      /* meta 1: page size */
        {136, 8, 1u << 30, "is in use, but the file has"},      /* meta 0: last page */
        {128, 8, 1u << 20, "puts the root of tree 1 at"},       /* meta 0: main root */
        {4096 + 80, 8, 1, "puts the root of tree 0 at page 1"}, /* meta 1: free root */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t old[8];
        patch_data_file(f->dir, cases[i].off, &cases[i].v, cases[i].len, old);
        dt_kv *kv = (dt_kv *)1;
        assert_int_equal(dt_kv_open(f->dir, NULL, &kv), DT_CORRUPT);
        assert_null(kv);
        assert_non_null(strstr(dt_errmsg(NULL), "data.mdb is damaged"));
        assert_non_null(strstr(dt_errmsg(NULL), cases[i].says));
        dt_kv_options ro = DT_KV_OPTIONS_INIT;
        ro.flags = DT_KV_RDONLY;
        assert_int_equal(dt_kv_open(f->dir, &ro, &kv), DT_CORRUPT);
        patch_data_file(f->dir, cases[i].off, old, cases[i].len, NULL);
    }
    /* restored: it opens with its data */
    assert_int_equal(kvfix_open(f, NULL), 0);
    ASSERT_VAL(f, NULL, f->db, "k049", "value");
}

static void test_open_plain_file_path_is_corrupt(void **state) {
    kvfix *f = *state;
    char *file = join(f->dir, "afile");
    write_file(file, "not a db", 8);
    dt_kv *kv;
    assert_int_equal(dt_kv_open(file, NULL, &kv), DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "not a database directory"));
    free(file);
}

static void test_open_bad_arguments(void **state) {
    kvfix *f = *state;
    dt_kv *kv;
    assert_int_equal(dt_kv_open(NULL, NULL, &kv), DT_MISUSE);
    assert_int_equal(dt_kv_open(f->dir, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_kv_open("", NULL, &kv), DT_INVALID);
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.version = 99;
    assert_int_equal(dt_kv_open(f->dir, &o, &kv), DT_INVALID);
    o.version = DT_KV_OPTIONS_VERSION;
    o.flags = 0x8000;
    assert_int_equal(dt_kv_open(f->dir, &o, &kv), DT_INVALID);
    char *missing = join(f->dir, "no/such/parent");
    assert_int_equal(dt_kv_open(missing, NULL, &kv), DT_IO);
    assert_non_null(strstr(dt_errmsg(NULL), missing));
    free(missing);
}

static void test_readonly_environment_rejects_writes(void **state) {
    kvfix *f = *state;
    assert_int_equal(PUTS(f, f->db, "a", "1"), DT_OK);
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.flags = DT_KV_RDONLY;
    assert_int_equal(dt_kv_open(f->dir, &o, &f->kv), DT_OK);
    dt_kv_dbi db;
    assert_int_equal(dt_kv_dbi_open(f->kv, "main", 0, &db), DT_OK);
    f->db = db;
    ASSERT_VAL(f, NULL, db, "a", "1");
    assert_int_equal(PUTS(f, db, "b", "2"), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(f->kv), "read-only"));
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_WRITE, &t), DT_MISUSE);
    assert_null(t);
    assert_int_equal(dt_kv_dbi_open(f->kv, "newdb", DT_KV_DBI_CREATE, &db), DT_NOTFOUND);
    assert_int_equal(dt_kv_sync(f->kv, 1), DT_OK);
    char *missing = join(f->dir, "missing");
    dt_kv *kv2;
    assert_int_equal(dt_kv_open(missing, &o, &kv2), DT_NOTFOUND);
    free(missing);
}

static void test_temp_option_removes_directory(void **state) {
    kvfix *f = *state;
    char *dir = join(f->dir, "temp");
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.flags = DT_KV_TEMP;
    dt_kv *kv;
    assert_int_equal(dt_kv_open(dir, &o, &kv), DT_OK);
    dt_kv_dbi db;
    assert_int_equal(dt_kv_dbi_open(kv, "x", DT_KV_DBI_CREATE, &db), DT_OK);
    assert_int_equal(dt_kv_put(kv, NULL, db, "k", 1, "v", 1, 0), DT_OK);
    unsigned fl;
    assert_int_equal(dt_kv_get_flags(kv, &fl), DT_OK);
    assert_true(fl & DT_KV_TEMP);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    assert_int_not_equal(stat(dir, &st), 0);
    free(dir);
}

static void test_flags_change_at_run_time(void **state) {
    kvfix *f = *state;
    unsigned fl = 99;
    assert_int_equal(dt_kv_get_flags(f->kv, &fl), DT_OK);
    assert_int_equal(fl, 0);
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_NOSYNC | DT_KV_NOMETASYNC, 1), DT_OK);
    assert_int_equal(dt_kv_get_flags(f->kv, &fl), DT_OK);
    assert_int_equal(fl, DT_KV_NOSYNC | DT_KV_NOMETASYNC);
    assert_int_equal(PUTS(f, f->db, "a", "1"), DT_OK);
    assert_int_equal(dt_kv_sync(f->kv, 1), DT_OK);
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_NOSYNC, 0), DT_OK);
    assert_int_equal(dt_kv_get_flags(f->kv, &fl), DT_OK);
    assert_int_equal(fl, DT_KV_NOMETASYNC);
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_WRITEMAP, 1), DT_INVALID);
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_RDONLY, 1), DT_INVALID);
    assert_int_equal(dt_kv_sync(f->kv, 0), DT_OK);
}

static void test_writemap_mapasync_environment_works(void **state) {
    kvfix *f = *state;
    char *dir = join(f->dir, "wm");
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.flags = DT_KV_WRITEMAP | DT_KV_MAPASYNC | DT_KV_NOSYNC;
    dt_kv *kv;
    assert_int_equal(dt_kv_open(dir, &o, &kv), DT_OK);
    dt_kv_dbi db;
    assert_int_equal(dt_kv_dbi_open(kv, "x", DT_KV_DBI_CREATE, &db), DT_OK);
    assert_int_equal(dt_kv_put(kv, NULL, db, "k", 1, "v", 1, 0), DT_OK);
    dt_kv_txn *t, *child;
    assert_int_equal(dt_kv_txn_begin(kv, 0, &t), DT_OK);
    assert_int_equal(kv_txn_begin(kv, t, 0, &child), DT_MISUSE); /* no nesting with writemap */
    dt_kv_txn_abort(t);
    assert_int_equal(dt_kv_sync(kv, 1), DT_OK);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(dir);
}

static void test_misuse_of_null_and_wrong_handles(void **state) {
    kvfix *f = *state;
    int junk[16] = {0};
    dt_kv *bad = (dt_kv *)junk;
    void *p;
    size_t n;
    assert_int_equal(dt_kv_close(NULL), DT_OK);
    assert_int_equal(dt_kv_close(bad), DT_MISUSE);
    assert_int_equal(dt_kv_put(NULL, NULL, f->db, "k", 1, "v", 1, 0), DT_MISUSE);
    assert_int_equal(dt_kv_put(bad, NULL, f->db, "k", 1, "v", 1, 0), DT_MISUSE);
    assert_int_equal(dt_kv_get(NULL, NULL, f->db, "k", 1, &p, &n), DT_MISUSE);
    assert_int_equal(dt_kv_sync(NULL, 0), DT_MISUSE);
    assert_int_equal(dt_kv_set_flags(NULL, DT_KV_NOSYNC, 1), DT_MISUSE);
    assert_int_equal(dt_kv_stat(NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_kv_copy(NULL, "x", 0), DT_MISUSE);
    /* wrong-kind handles: a txn passed as a kv and vice versa */
    dt_kv_txn *t;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t), DT_OK);
    assert_int_equal(dt_kv_put((dt_kv *)t, NULL, f->db, "k", 1, "v", 1, 0), DT_MISUSE);
    assert_int_equal(dt_kv_txn_commit((dt_kv_txn *)f->kv), DT_MISUSE);
    assert_int_equal(dt_kv_iter_next((dt_kv_iter *)t, NULL, NULL), DT_MISUSE);
    /* a txn of another environment */
    char *dir2 = join(f->dir, "other");
    dt_kv *kv2;
    assert_int_equal(dt_kv_open(dir2, NULL, &kv2), DT_OK);
    assert_int_equal(dt_kv_get(kv2, t, f->db, "k", 1, &p, &n), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(kv2), "another environment"));
    /* a dbi handle of another environment, made up, or none */
    assert_int_equal(dt_kv_get(kv2, NULL, f->db, "k", 1, &p, &n), DT_MISUSE);
    assert_int_equal(dt_kv_get(f->kv, NULL, DT_KV_DBI_NONE, "k", 1, &p, &n), DT_MISUSE);
    assert_int_equal(dt_kv_get(f->kv, NULL, 0x7fff1234u, "k", 1, &p, &n), DT_MISUSE);
    assert_int_equal(dt_kv_close(kv2), DT_OK);
    free(dir2);
    /* close with an open txn is refused; the env stays usable */
    assert_int_equal(dt_kv_close(f->kv), DT_BUSY);
    assert_int_equal(dt_kv_get(f->kv, t, f->db, "zz", 2, &p, &n), DT_NOTFOUND);
    dt_kv_txn_commit(t);
    /* (an ended handle is not checked: using it is undefined, see the
     * header's conventions) */
    dt_kv_txn_abort(NULL);
    dt_kv_iter_close(NULL);
    dt_kv_list_free(NULL);
    /* a block of memory that is no dt_kv: wrong magic */
    uint32_t dead[8] = {0xdeadbeefu};
    assert_int_equal(dt_kv_put((dt_kv *)dead, NULL, f->db, "k", 1, "v", 1, 0), DT_MISUSE);
    assert_int_equal(dt_kv_close((dt_kv *)dead), DT_MISUSE);
}

static void test_stats_report_entries_pages_and_map(void **state) {
    kvfix *f = *state;
    char key[16], val[200];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        assert_int_equal(dt_kv_put(f->kv, NULL, f->db, key, strlen(key), val, sizeof val, 0),
                         DT_OK);
    }
    char big[10000];
    memset(big, 'b', sizeof big);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->db, "zbig", 4, big, sizeof big, 0), DT_OK);
    dt_kv_dbistat ds;
    assert_int_equal(dt_kv_dbi_stat(f->kv, NULL, f->db, &ds), DT_OK);
    assert_int_equal(ds.entries, 1001);
    assert_true(ds.depth >= 2);
    assert_true(ds.branch_pages >= 1);
    assert_true(ds.leaf_pages >= 1000 * 200 / ds.page_size / 2);
    assert_true(ds.overflow_pages >= 10000 / ds.page_size);
    assert_true(ds.page_size >= 4096);
    dt_kv_dbistat es;
    assert_int_equal(dt_kv_dbi_stat(f->kv, NULL, f->dup, &es), DT_OK);
    assert_int_equal(es.entries, 0);
    assert_int_equal(es.depth, 0);

    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(f->kv, &st), DT_OK);
    assert_int_equal(st.map_size, 64u << 20);
    assert_int_equal(st.max_map_size, 0);
    assert_int_equal(st.page_size, ds.page_size);
    assert_true(st.last_page > ds.leaf_pages + ds.branch_pages + ds.overflow_pages);
    assert_int_equal(st.used_bytes, (st.last_page + 1) * st.page_size);
    assert_true(st.map_use > 0.0 && st.map_use < 0.1);
    assert_int_equal(st.max_readers, 126);
    assert_int_equal(st.num_dbis, 2);
    assert_true(st.last_txn_id >= 1003);
    /* an open read txn occupies a reader slot */
    dt_kv_txn *t1, *t2;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t1), DT_OK);
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_TXN_RDONLY, &t2), DT_OK);
    assert_int_equal(dt_kv_stat(f->kv, &st), DT_OK);
    assert_true(st.num_readers >= 2);
    dt_kv_txn_abort(t1);
    dt_kv_txn_abort(t2);
    assert_int_equal(dt_kv_dbi_stat(f->kv, NULL, f->db, NULL), DT_MISUSE);
}

static void test_copy_and_compact_copy_open_with_same_data(void **state) {
    kvfix *f = *state;
    char key[16], val[100];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%05d", i);
        snprintf(val, sizeof val, "value-%d", i * 3);
        assert_int_equal(PUTS(f, f->db, key, val), DT_OK);
    }
    /* free some pages so that compaction has something to do */
    for (int i = 0; i < 2000; i += 2) {
        snprintf(key, sizeof key, "k%05d", i);
        assert_int_equal(dt_kv_del(f->kv, NULL, f->db, key, strlen(key), NULL, 0), DT_OK);
    }
    assert_int_equal(PUTS(f, f->dup, "d", "1"), DT_OK);
    assert_int_equal(PUTS(f, f->dup, "d", "2"), DT_OK);
    for (int compact = 0; compact <= 1; compact++) {
        char *dest = join(f->dir, compact ? "copy-compact" : "copy");
        assert_int_equal(dt_kv_copy(f->kv, dest, compact), DT_OK);
        /* a second copy into the same place is refused */
        assert_int_equal(dt_kv_copy(f->kv, dest, compact), DT_IO);
        assert_non_null(strstr(dt_errmsg(f->kv), dest));
        dt_kv *kv2;
        assert_int_equal(dt_kv_open(dest, NULL, &kv2), DT_OK);
        dt_kv_dbi db2, dup2;
        assert_int_equal(dt_kv_dbi_open(kv2, "main", 0, &db2), DT_OK);
        assert_int_equal(dt_kv_dbi_open(kv2, "dup", DT_KV_DBI_DUPSORT, &dup2), DT_OK);
        uint64_t n;
        assert_int_equal(dt_kv_range_count(kv2, NULL, db2, NULL, &n), DT_OK);
        assert_int_equal(n, 1000);
        assert_int_equal(dt_kv_range_count(kv2, NULL, dup2, NULL, &n), DT_OK);
        assert_int_equal(n, 2);
        for (int i = 1; i < 2000; i += 2) {
            snprintf(key, sizeof key, "k%05d", i);
            snprintf(val, sizeof val, "value-%d", i * 3);
            void *p;
            size_t len;
            assert_int_equal(dt_kv_get(kv2, NULL, db2, key, strlen(key), &p, &len), DT_OK);
            assert_int_equal(len, strlen(val));
            assert_memory_equal(p, val, len);
            dt_free(p);
        }
        dt_kv_envstat s1, s2;
        assert_int_equal(dt_kv_stat(f->kv, &s1), DT_OK);
        assert_int_equal(dt_kv_stat(kv2, &s2), DT_OK);
        if (compact)
            assert_true(s2.last_page < s1.last_page);
        else
            assert_int_equal(s2.last_page, s1.last_page);
        assert_int_equal(dt_kv_close(kv2), DT_OK);
        free(dest);
    }
}

static void test_open_survives_failing_allocations(void **state) {
    kvfix *f = *state;
    char *dir = join(f->dir, "fault");
    int ok = 0;
    for (long n = 0; n < 100 && !ok; n++) {
        dt_kv *kv = NULL;
        dt__alloc_fail_at(n);
        int rc = dt_kv_open(dir, NULL, &kv);
        dt_kv_dbi db = 0;
        if (rc == DT_OK) rc = dt_kv_dbi_open(kv, "x", DT_KV_DBI_CREATE, &db);
        if (rc == DT_OK) rc = dt_kv_put(kv, NULL, db, "k", 1, "v", 1, 0);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK)
            ok = 1;
        else
            assert_int_equal(rc, DT_NOMEM);
        if (kv) assert_int_equal(dt_kv_close(kv), DT_OK);
    }
    assert_true(ok);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_directory_and_reopens_with_data, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_open_garbage_data_file_is_corrupt, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_open_plain_file_path_is_corrupt, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_open_bad_arguments, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_environment_rejects_writes, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_temp_option_removes_directory, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_flags_change_at_run_time, kv_setup, kv_teardown),
        cmocka_unit_test_setup_teardown(test_writemap_mapasync_environment_works, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_misuse_of_null_and_wrong_handles, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_stats_report_entries_pages_and_map, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_copy_and_compact_copy_open_with_same_data, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_open_damaged_meta_pages_is_corrupt, kv_setup,
                                        kv_teardown),
        cmocka_unit_test_setup_teardown(test_open_survives_failing_allocations, kv_setup,
                                        kv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
