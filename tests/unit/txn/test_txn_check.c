/*
 * test_txn_check.c -- a damaged file is an error, never a crash: a
 * truncated data.mdb is refused at open (DT_CORRUPT) by every kind of
 * open; dt_check finds no problem in a healthy database of every shape
 * (long values, history, refs, bulk loads, tx metadata), reports
 * inconsistencies made through the raw KV layer, and survives zeroed pages
 * and bit flips: whatever the walk meets, the caller gets DT_OK or
 * DT_CORRUPT with findings, and keeps running.
 */
#include "dbutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "store.h"

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/email {:db/valueType :db.type/string :db/unique "
                            ":db.unique/identity}"
                            " :p/friend {:db/valueType :db.type/ref}"
                            " :p/tags {:db/valueType :db.type/keyword :db/cardinality "
                            ":db.cardinality/many}"
                            " :p/bio {:db/valueType :db.type/string}}";

/* {====== Files ====== */

static char *path_in(const char *dir, const char *file) {
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static void copy_file(const char *from, const char *to) {
    size_t n = 0;
    char *data = tu_read_file(from, &n);
    assert_non_null(data);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(data);
}

/* A copy of database directory `from` (data.mdb only: LMDB makes a new
 * lock file). */
static char *copy_db(const char *from) {
    char *dir = tu_tmpdir();
    char *a = path_in(from, "data.mdb"), *b = path_in(dir, "data.mdb");
    copy_file(a, b);
    free(a);
    free(b);
    return dir;
}

static long file_size(const char *dir) {
    char *p = path_in(dir, "data.mdb");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    free(p);
    return (long)st.st_size;
}

static void write_at(const char *dir, long off, const void *bytes, size_t n) {
    char *p = path_in(dir, "data.mdb");
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
    free(p);
}

static void read_at(const char *dir, long off, void *bytes, size_t n) {
    char *p = path_in(dir, "data.mdb");
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, bytes, n, off), (ssize_t)n);
    close(fd);
    free(p);
}

/* }====== */

/* A database with every kind of entry: long values (dt/giants), history,
 * refs, many values, a unique attribute, tx metadata, an init-db and
 * transactions after it.  Closed; the directory is returned. */
static char *healthy_db(void) {
    tu_db *d = tu_db_open(SCHEMA);
    /* durability does not matter here: no fsync per commit */
    assert_int_equal(dt_conn_set_flags(d->conn, DT_KV_NOSYNC, 1), DT_OK);
    dt_loader *ld = NULL;
    assert_int_equal(dt_loader_open(d->conn, DT_LOAD_INIT, NULL, &ld), DT_OK);
    for (int i = 1; i <= 1500; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "person %d", i);
        dt_value v;
        assert_int_equal(dt_value_text(DT_STRING, buf, strlen(buf), &v), DT_OK);
        assert_int_equal(dt_loader_add(ld, i, "p/name", &v), DT_OK);
        dt_value_free(&v);
        snprintf(buf, sizeof buf, "p%d@example.org", i);
        assert_int_equal(dt_value_text(DT_STRING, buf, strlen(buf), &v), DT_OK);
        assert_int_equal(dt_loader_add(ld, i, "p/email", &v), DT_OK);
        dt_value_free(&v);
        if (i > 1) {
            dt_value_ref(i - 1, &v);
            assert_int_equal(dt_loader_add(ld, i, "p/friend", &v), DT_OK);
        }
    }
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    char bio[1200];
    for (size_t i = 0; i < sizeof bio - 1; i++) bio[i] = (char)('a' + i % 26);
    bio[sizeof bio - 1] = '\0';
    char *tx = malloc(2 * sizeof bio + 200);
    snprintf(tx, 2 * sizeof bio + 200,
             "[{:db/id 1 :p/bio \"%s\" :p/tags [:a :b :c]} {:db/id 2 :p/bio \"%s\"}"
             " [:db/add :db/current-tx :p/name \"import\"]]",
             bio, bio);
    tu_tx(d->conn, tx, DT_OK, 0);
    free(tx);
    tu_tx(d->conn,
          "[[:db/retract 3 :p/friend 2] [:db/add 1 :p/name \"renamed\"]"
          " [:db/retract 1 :p/tags :b] [:db/retractEntity 7]]",
          DT_OK, 0);
    tu_tx(d->conn, "[{:db/id \"n\" :p/name \"new\" :p/email \"new@x\" :p/friend 1}]", DT_OK, 0);
    tu_tx(d->conn, "[[:db/retract 2 :p/bio]]", DT_OK, 0); /* a long value into history */
    char *dir = d->dir;                                   /* the directory stays, for the caller */
    assert_int_equal(dt_conn_close(d->conn), DT_OK);
    free(d);
    return dir;
}

static void assert_clean(const char *dir) {
    dt_check_result r;
    int rc = dt_check(dir, &r);
    if (rc != DT_OK) fail_msg("dt_check: rc %d, %s\n%s", rc, dt_errmsg(NULL), r.text ? r.text : "");
    assert_int_equal(r.findings, 0);
    assert_string_equal(r.text, "");
    assert_true(r.datoms > 4000);
    assert_true(r.entries > 2 * r.datoms);
    dt_check_result_free(&r);
}

static void test_healthy_database_checks_clean(void **state) {
    (void)state;
    char *dir = healthy_db();
    assert_clean(dir);
    /* with a connection of the caller open on it, too */
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_OK);
    assert_clean(dir);
    tu_tx(c, "[[:db/add 5 :p/tags :x]]", DT_OK, 0);
    assert_clean(dir);
    assert_int_equal(dt_conn_close(c), DT_OK);
    tu_rmdir_free(dir);
}

/* Runs dt_check on dir expecting problems; returns the findings text. */
static char *check_corrupt(const char *dir) {
    dt_check_result r;
    int rc = dt_check(dir, &r);
    if (rc != DT_CORRUPT) fail_msg("dt_check: rc %d (%s), wanted DT_CORRUPT", rc, dt_errmsg(NULL));
    assert_true(r.findings > 0);
    assert_non_null(strstr(dt_errmsg(NULL), "problem"));
    char *t = strdup(r.text);
    dt_check_result_free(&r);
    return t;
}

static void assert_has(const char *text, const char *needle) {
    if (!strstr(text, needle)) fail_msg("findings lack \"%s\":\n%s", needle, text);
}

/* Removes [1 :p/name ...] from EAV only, through the raw KV layer. */
static void test_inconsistencies_are_reported(void **state) {
    (void)state;
    char *dir = healthy_db();
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_OK);
    const dl_attr *name = dl_schema_by_ident(c->schema, "p/name", 6);
    assert_non_null(name);
    dt_kv_txn *t = NULL;
    assert_int_equal(dt_kv_txn_begin(c->kv, DT_KV_TXN_WRITE, &t), DT_OK);
    dt_buf k = DT_BUF_INIT;
    uint8_t enc[64];
    enc[0] = DL_CODEC_TAG(DT_STRING);
    /* the codec's string: tag, bytes, 0x00 0x00 */
    memcpy(enc + 1, "person 5", 8);
    enc[9] = 0;
    enc[10] = 0;
    assert_int_equal(dl_key_eav(&k, 5, name->aid, enc, 11), DT_OK);
    assert_int_equal(dt_kv_del(c->kv, t, c->st.eav, k.p, k.len, NULL, 0), DT_OK);
    /* a second value of a cardinality-one attribute, in both indexes */
    uint8_t tx8[8];
    dl_put_u64(tx8, (uint64_t)DL_TX0 + 1);
    memcpy(enc + 1, "person X", 8);
    assert_int_equal(dl_key_eav(&k, 6, name->aid, enc, 11), DT_OK);
    assert_int_equal(dt_kv_put(c->kv, t, c->st.eav, k.p, k.len, tx8, 8, 0), DT_OK);
    assert_int_equal(dl_key_ave(&k, name->aid, enc, 11, 6), DT_OK);
    assert_int_equal(dt_kv_put(c->kv, t, c->st.ave, k.p, k.len, tx8, 8, 0), DT_OK);
    /* an AVE entry that names another transaction */
    assert_int_equal(dl_key_ave(&k, name->aid, enc, 11, 6), DT_OK);
    dl_put_u64(tx8, (uint64_t)DL_TX0 + 2);
    assert_int_equal(dt_kv_put(c->kv, t, c->st.ave, k.p, k.len, tx8, 8, 0), DT_OK);
    /* next_t behind the transactions in use */
    assert_int_equal(dl_meta_put_u64(&c->st, t, "next_t", 2), DT_OK);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    dt_buf_release(&k);
    assert_int_equal(dt_conn_close(c), DT_OK);

    char *text = check_corrupt(dir);
    assert_has(text, "dt/ave: [5 :p/name \"person 5\"] has no dt/eav entry");
    assert_has(text,
               "dt/eav: entity 6 has several values of the cardinality-one attribute :p/name");
    assert_has(text, "dt/eav: [6 :p/name \"person X\"]: dt/ave names another transaction");
    assert_has(text, "dt/stats: :p/name: the statistics say");
    assert_has(text, "which is no transaction");
    assert_has(text, "counters: next_t is 2");
    free(text);
    tu_rmdir_free(dir);
}

static void test_missing_long_value_is_reported(void **state) {
    (void)state;
    char *dir = healthy_db();
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_OK);
    assert_int_equal(dt_kv_dbi_clear(c->kv, NULL, c->st.giants), DT_OK);
    assert_int_equal(dt_conn_close(c), DT_OK);
    char *text = check_corrupt(dir);
    assert_has(text, "dt/eav: entity 1 :p/bio: a long value is missing from dt/giants");
    assert_has(text, "dt/history: entity 2 :p/bio: a long value is missing from dt/giants");
    free(text);
    tu_rmdir_free(dir);
}

/* {====== Damaged files ====== */

static void test_truncated_file_is_refused_at_open(void **state) {
    (void)state;
    char *dir = healthy_db();
    long size = file_size(dir);
    char *p = path_in(dir, "data.mdb");
    assert_int_equal(truncate(p, size / 2), 0);
    free(p);
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "truncated"));
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = DT_KV_RDONLY;
    assert_int_equal(dt_conn_open(dir, NULL, &o, &c), DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "truncated"));
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(dir, NULL, &kv), DT_CORRUPT);
    dt_kv_options ko = DT_KV_OPTIONS_INIT;
    ko.flags = DT_KV_RDONLY;
    assert_int_equal(dt_kv_open(dir, &ko, &kv), DT_CORRUPT);
    assert_null(kv);
    char *text = check_corrupt(dir);
    assert_has(text, "the file was truncated");
    free(text);
    /* the file was not touched by any of these */
    assert_int_equal(file_size(dir), size / 2);
    tu_rmdir_free(dir);
}

/*
 * Every fifth page zeroed in turn (the two meta pages included): dt_check must
 * return, with DT_OK (a free page) or DT_CORRUPT and findings; pages in
 * use are found, some of them by a walk that crashed and was reported
 * without leaving its LMDB reader slot behind.
 */
static void test_zeroed_pages_never_crash_the_caller(void **state) {
    (void)state;
    char *dir = healthy_db();
    long size = file_size(dir);
    long psize = 4096, pages = size / psize;
    int found = 0, crashed = 0;
    static uint8_t zero[4096];
    int tried = 0;
    for (long pg = 0; pg < pages; pg += pg < 2 ? 1 : 5) {
        tried++;
        char *copy = copy_db(dir);
        write_at(copy, pg * psize, zero, sizeof zero);
        /* the caller has the environment open (only its meta pages are
         * read at open): a crashed walk must not leave a reader slot */
        dt_kv *kv = NULL;
        dt_kv_options ko = DT_KV_OPTIONS_INIT;
        ko.flags = DT_KV_RDONLY;
        if (pg >= 2) assert_int_equal(dt_kv_open(copy, &ko, &kv), DT_OK);
        dt_check_result r;
        int rc = dt_check(copy, &r);
        if (kv) {
            dt_kv_envstat es;
            assert_int_equal(dt_kv_stat(kv, &es), DT_OK);
            if (es.num_readers != 0) fail_msg("page %ld: %u readers left", pg, es.num_readers);
            assert_int_equal(dt_kv_close(kv), DT_OK);
        }
        if (rc != DT_OK && rc != DT_CORRUPT)
            fail_msg("page %ld: dt_check rc %d: %s", pg, rc, dt_errmsg(NULL));
        if (rc == DT_CORRUPT) {
            found++;
            assert_true(r.findings > 0);
            if (strstr(r.text, "database damaged: walk crashed with SIG")) crashed++;
        }
        if (pg < 2 && rc != DT_CORRUPT) fail_msg("meta page %ld zeroed: not found", pg);
        dt_check_result_free(&r);
        tu_rmdir_free(copy);
    }
    print_message("zeroed pages: %d of %d found, %d by a crashed walk\n", found, tried, crashed);
    assert_true(found > tried / 2);
    assert_true(crashed > 0);
    tu_rmdir_free(dir);
}

/* Random bit flips (a fixed seed): dt_check always returns. */
static void test_bit_flips_never_crash_the_caller(void **state) {
    (void)state;
    char *dir = healthy_db();
    long size = file_size(dir);
    uint64_t seed = 0x5eed1234abcdULL;
    int found = 0;
    const int rounds = 24;
    for (int round = 0; round < rounds; round++) {
        char *copy = copy_db(dir);
        for (int f = 0; f < 16; f++) {
            long off = (long)(tu_rand(&seed) % (uint64_t)size);
            uint8_t b;
            read_at(copy, off, &b, 1);
            b ^= (uint8_t)(1u << (tu_rand(&seed) % 8));
            write_at(copy, off, &b, 1);
        }
        dt_check_result r;
        int rc = dt_check(copy, &r);
        if (rc != DT_OK && rc != DT_CORRUPT)
            fail_msg("round %d: dt_check rc %d: %s", round, rc, dt_errmsg(NULL));
        if (rc == DT_CORRUPT) found++;
        dt_check_result_free(&r);
        tu_rmdir_free(copy);
    }
    print_message("bit flips: %d of %d damaged copies found\n", found, rounds);
    assert_true(found > 0);
    tu_rmdir_free(dir);
}

static void test_check_errors(void **state) {
    (void)state;
    dt_check_result r;
    assert_int_equal(dt_check(NULL, &r), DT_MISUSE);
    assert_int_equal(dt_check("/nonexistent/datolite-dir", &r), DT_NOTFOUND);
    assert_null(r.text);
    char *empty = tu_tmpdir();
    assert_int_equal(dt_check(empty, &r), DT_NOTFOUND);
    assert_non_null(strstr(dt_errmsg(NULL), "no Datolite database"));
    tu_rmdir_free(empty);
    dt_check_result_free(NULL);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy_database_checks_clean),
        cmocka_unit_test(test_inconsistencies_are_reported),
        cmocka_unit_test(test_missing_long_value_is_reported),
        cmocka_unit_test(test_truncated_file_is_refused_at_open),
        cmocka_unit_test(test_zeroed_pages_never_crash_the_caller),
        cmocka_unit_test(test_bit_flips_never_crash_the_caller),
        cmocka_unit_test(test_check_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
