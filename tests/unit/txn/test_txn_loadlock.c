/*
 * test_txn_loadlock.c -- an init-db that commits in several chunks is the
 * only writer of its database from its first commit to its last: every
 * other writer (transact, import, schema, block, async, fill-db, KV
 * writes and dbi creation), in another process or in the loading process
 * itself, is refused with DT_BUSY and a message naming the load, and the
 * load's result is exactly that of a load in one transaction.
 *
 * The loader's test hook (loadhook.h) runs between two chunks; there the
 * test releases a child process, opened on the database before the load,
 * which tries every kind of write and reports the result codes.
 */
#include "dbutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "loadhook.h"
#include "store.h"

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/email {:db/valueType :db.type/string :db/unique "
                            ":db.unique/identity}"
                            " :p/age {:db/valueType :db.type/long}}";

#define NPEOPLE 600

/* The writes the child tries, in order. */
enum {
    W_TRANSACT,
    W_IMPORT,
    W_SCHEMA,
    W_BLOCK,
    W_ASYNC,
    W_FILL,
    W_KV_PUT,
    W_KV_CREATE,
    W_KV_ASYNC,
    NWRITES
};
static const char *WRITE_NAMES[NWRITES] = {"transact", "import",        "schema",
                                           "block",    "async",         "fill-db",
                                           "kv put",   "kv dbi create", "kv async"};

typedef struct result {
    int rc;
    char msg[400];
} result;

static void load_people(dt_loader *ld) {
    for (int i = 1; i <= NPEOPLE; i++) {
        char name[64], email[64];
        snprintf(name, sizeof name, "person number %04d with some padding text", i);
        snprintf(email, sizeof email, "p%04d@example.org", i);
        dt_value v;
        assert_int_equal(dt_value_text(DT_STRING, name, strlen(name), &v), DT_OK);
        assert_int_equal(dt_loader_add(ld, i, "p/name", &v), DT_OK);
        dt_value_free(&v);
        assert_int_equal(dt_value_text(DT_STRING, email, strlen(email), &v), DT_OK);
        assert_int_equal(dt_loader_add(ld, i, "p/email", &v), DT_OK);
        dt_value_free(&v);
        dt_value_long(i % 90, &v);
        assert_int_equal(dt_loader_add(ld, i, "p/age", &v), DT_OK);
    }
}

static uint64_t init_db(dt_conn *c, size_t chunk) {
    dt_load_options o = DT_LOAD_OPTIONS_INIT;
    o.chunk_size = chunk;
    dt_loader *ld = NULL;
    if (dt_loader_open(c, DT_LOAD_INIT, &o, &ld) != DT_OK)
        fail_msg("dt_loader_open: %s", dt_errmsg(c));
    load_people(ld);
    uint64_t n = 0;
    if (dt_loader_finish(ld, &n) != DT_OK) fail_msg("dt_loader_finish: %s", dt_errmsg(ld));
    dt_loader_close(ld);
    return n;
}

/* {====== The writer in another process ====== */

static void write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) _exit(90);
        c += w;
        n -= (size_t)w;
    }
}

static int read_all(int fd, void *p, size_t n) {
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r <= 0) return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static void record(result *r, int rc, const void *handle) {
    r->rc = rc;
    snprintf(r->msg, sizeof r->msg, "%s", rc == DT_OK ? "" : dt_errmsg(handle));
}

static int block_fn(dt_txn *tx, void *ud) {
    (void)ud;
    return dt_txn_transact(tx, "[[:db/add 1 :p/age 99]]", NULL);
}

/* The child: opens the database, says so, waits for "go", tries every
 * write and sends the results. */
static void child_main(const char *dir, int ready_fd, int go_fd) {
    dt_conn *c = NULL;
    if (dt_conn_open(dir, NULL, NULL, &c) != DT_OK) _exit(91);
    dt_kv *kv = dt_conn_kv(c);
    dt_kv_dbi mine;
    if (dt_kv_dbi_open(kv, "app/notes", DT_KV_DBI_CREATE, &mine) != DT_OK) _exit(92);
    char b = 'r';
    write_all(ready_fd, &b, 1);
    if (read_all(go_fd, &b, 1) != 0) _exit(93);
    result res[NWRITES];
    memset(res, 0, sizeof res);
    record(&res[W_TRANSACT],
           dt_transact(c, "[{:db/id \"z\" :p/name \"x\" :p/email \"p0001@example.org\"}]", NULL),
           c);
    const char *imp = "[[:db/add \"a\" :p/name \"imported\"]]";
    record(&res[W_IMPORT], dt_import_edn(c, imp, strlen(imp), 0, NULL), c);
    record(&res[W_SCHEMA], dt_conn_update_schema(c, "{:q/new {:db/valueType :db.type/long}}"), c);
    record(&res[W_BLOCK], dt_with_txn(c, block_fn, NULL), c);
    dt_future *f = NULL;
    int rc = dt_transact_async(c, "[[:db/add 2 :p/age 98]]", NULL, NULL, &f);
    if (rc == DT_OK) rc = dt_future_wait(f);
    record(&res[W_ASYNC], rc, c);
    if (rc != DT_OK && f) snprintf(res[W_ASYNC].msg, sizeof res[W_ASYNC].msg, "%s", dt_errmsg(f));
    dt_future_free(f);
    dt_loader *ld = NULL;
    rc = dt_loader_open(c, DT_LOAD_FILL, NULL, &ld);
    record(&res[W_FILL], rc, c);
    dt_loader_close(ld);
    record(&res[W_KV_PUT], dt_kv_put(kv, NULL, mine, "k", 1, "v", 1, 0), kv);
    dt_kv_dbi other;
    record(&res[W_KV_CREATE], dt_kv_dbi_open(kv, "app/other", DT_KV_DBI_CREATE, &other), kv);
    dt_kv_op op = {DT_KV_OP_PUT, mine, 0, {"a", 1}, {"b", 1}};
    f = NULL;
    rc = dt_kv_transact_async(kv, &op, 1, NULL, NULL, &f);
    if (rc == DT_OK) rc = dt_future_wait(f);
    record(&res[W_KV_ASYNC], rc, kv);
    if (rc != DT_OK && f)
        snprintf(res[W_KV_ASYNC].msg, sizeof res[W_KV_ASYNC].msg, "%s", dt_future_errmsg(f));
    dt_future_free(f);
    write_all(ready_fd, res, sizeof res);
    dt_conn_close(c);
    _exit(0);
}

/* }====== */

typedef struct hook_state {
    int calls;
    int go_fd, res_fd;
    dt_conn *conn; /* the loading connection */
    result child[NWRITES];
    int child_ok;
    result own_kv_put, own_kv_create;
    const char *dir;
    int late_open_status; /* exit status of a process opening during the load */
} hook_state;

/* Between the first two chunks: the child writes; the loading process
 * itself writes through its connection's KV handle. */
static void hook(void *arg) {
    hook_state *h = arg;
    if (h->calls++ != 0) return;
    char b = 'g';
    if (write(h->go_fd, &b, 1) != 1) return;
    h->child_ok = read_all(h->res_fd, h->child, sizeof h->child) == 0;
    dt_kv *kv = dt_conn_kv(h->conn);
    dt_kv_dbi d;
    int rc = dt_kv_dbi_open(kv, "app/notes", 0, &d);
    if (rc == DT_OK) rc = dt_kv_put(kv, NULL, d, "own", 3, "v", 1, 0);
    record(&h->own_kv_put, rc, kv);
    record(&h->own_kv_create, dt_kv_dbi_open(kv, "app/own", DT_KV_DBI_CREATE, &d), kv);
    /* a process that opens the database now is told that it is loading */
    pid_t pid = fork();
    if (pid == 0) {
        dt_conn *c = NULL;
        int orc = dt_conn_open(h->dir, NULL, NULL, &c);
        _exit(orc == DT_BUSY && strstr(dt_errmsg(NULL), "init-db is loading") ? 0 : 1);
    }
    h->late_open_status = -1;
    if (pid > 0) waitpid(pid, &h->late_open_status, 0);
}

static void test_writers_are_refused_between_chunks(void **state) {
    (void)state;
    /* the reference: the same load in one transaction */
    tu_db *ref = tu_db_open(SCHEMA);
    assert_int_equal(init_db(ref->conn, SIZE_MAX), 3 * NPEOPLE);
    char *want = tu_dump(ref->conn, 0);
    tu_db_close(ref);

    tu_db *d = tu_db_open(SCHEMA);
    char *dir = strdup(d->dir);
    /* the directory exists with its schema; the child opens it too */
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_main(dir, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    char b;
    assert_int_equal(read_all(ready[0], &b, 1), 0);

    hook_state h;
    memset(&h, 0, sizeof h);
    h.go_fd = go[1];
    h.res_fd = ready[0];
    h.conn = d->conn;
    h.dir = dir;
    txn_load_chunk_hook = hook;
    txn_load_chunk_hook_arg = &h;
    uint64_t n = init_db(d->conn, 8 * 1024);
    txn_load_chunk_hook = NULL;
    txn_load_chunk_hook_arg = NULL;
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(ready[0]);
    close(go[1]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_true(h.calls > 3); /* it did run in several chunks */
    assert_true(h.child_ok);
    for (int i = 0; i < NWRITES; i++) {
        if (h.child[i].rc != DT_BUSY || !strstr(h.child[i].msg, "init-db"))
            fail_msg("%s from another process during the load: rc %d, \"%s\"", WRITE_NAMES[i],
                     h.child[i].rc, h.child[i].msg);
    }
    assert_int_equal(h.own_kv_put.rc, DT_BUSY);
    assert_non_null(strstr(h.own_kv_put.msg, "init-db"));
    assert_int_equal(h.own_kv_create.rc, DT_BUSY);
    assert_true(WIFEXITED(h.late_open_status));
    assert_int_equal(WEXITSTATUS(h.late_open_status), 0);

    /* the load is exactly the one-transaction load, in one transaction */
    assert_int_equal(n, 3 * NPEOPLE);
    tu_assert_dump(d->conn, want);
    uint64_t next_t = 0;
    assert_int_equal(dl_meta_get_u64(&d->conn->st, NULL, "next_t", 0, &next_t), DT_OK);
    assert_int_equal(next_t, 2);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_value comp[2];
    dt_value_long(DL_TX0 + 1, &comp[0]);
    assert_int_equal(dt_value_text(DT_KEYWORD, "db/txInstant", 12, &comp[1]), DT_OK);
    uint64_t ninst = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, comp, 2, &ninst), DT_OK);
    assert_int_equal(ninst, 1);
    dt_value_free(&comp[1]);
    dt_db_close(db);

    /* afterwards writing works again, from this process and reopened */
    tu_tx(d->conn, "[{:db/id \"z\" :p/name \"after\"}]", DT_OK, 0);
    dt_kv_dbi own;
    assert_int_equal(dt_kv_dbi_open(dt_conn_kv(d->conn), "app/own", DT_KV_DBI_CREATE, &own), DT_OK);
    tu_db_reopen(d);
    tu_tx(d->conn, "[[:db/add 1 :p/age 7]]", DT_OK, 0);
    free(want);
    free(dir);
    tu_db_close(d);
}

/* A load that fails after some chunks committed removes the marker with
 * them: writers are accepted again at once. */
static void test_failed_chunked_load_releases_writers(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    dt_load_options o = DT_LOAD_OPTIONS_INIT;
    o.chunk_size = 4 * 1024;
    dt_loader *ld = NULL;
    assert_int_equal(dt_loader_open(d->conn, DT_LOAD_INIT, &o, &ld), DT_OK);
    load_people(ld);
    /* a unique conflict found in the AVE pass, after the EAV chunks */
    dt_value v;
    assert_int_equal(dt_value_text(DT_STRING, "p0001@example.org", 17, &v), DT_OK);
    assert_int_equal(dt_loader_add(ld, NPEOPLE + 1, "p/email", &v), DT_OK);
    dt_value_free(&v);
    assert_int_equal(dt_loader_finish(ld, NULL), DT_CONFLICT);
    dt_loader_close(ld);
    tu_assert_dump(d->conn, "");
    tu_tx(d->conn, "[[:db/add 1 :p/age 1]]", DT_OK, 0);
    dt_kv_dbi x;
    assert_int_equal(dt_kv_dbi_open(dt_conn_kv(d->conn), "app/x", DT_KV_DBI_CREATE, &x), DT_OK);
    tu_db_close(d);
}

/* The loading process dies after its first chunk: the database is refused
 * as half loaded, and a KV writer is told that the load was interrupted. */
static void die_now(void *arg) {
    (void)arg;
    _exit(7);
}

static void test_interrupted_load_keeps_writers_out(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    assert_int_equal(dt_conn_close(d->conn), DT_OK);
    d->conn = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dt_conn *c = NULL;
        if (dt_conn_open(d->dir, NULL, NULL, &c) != DT_OK) _exit(2);
        txn_load_chunk_hook = die_now;
        dt_load_options o = DT_LOAD_OPTIONS_INIT;
        o.chunk_size = 4096;
        dt_loader *ld = NULL;
        if (dt_loader_open(c, DT_LOAD_INIT, &o, &ld) != DT_OK) _exit(3);
        load_people(ld);
        dt_loader_finish(ld, NULL);
        _exit(4); /* not reached: the hook ends the process */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 7);
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(d->dir, NULL, NULL, &c), DT_CORRUPT);
    assert_non_null(strstr(dt_errmsg(NULL), "init-db"));
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(d->dir, NULL, &kv), DT_OK);
    dt_kv_dbi x;
    assert_int_equal(dt_kv_dbi_open(kv, "app/x", DT_KV_DBI_CREATE, &x), DT_BUSY);
    assert_non_null(strstr(dt_errmsg(kv), "was interrupted"));
    dt_kv_dbi meta;
    assert_int_equal(dt_kv_dbi_open(kv, "dt/meta", 0, &meta), DT_OK);
    /* dt/ databases are reserved: the KV API never writes them */
    assert_int_equal(dt_kv_put(kv, NULL, meta, "k", 1, "v", 1, 0), DT_MISUSE);
    /* reading still works */
    void *p = NULL;
    size_t n = 0;
    assert_int_equal(dt_kv_get(kv, NULL, meta, "next_t", 6, &p, &n), DT_OK);
    assert_int_equal(n, 8);
    dt_free(p);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(d->dir);
    free(d);
}

/* Every write transaction reads the marker from LMDB's main database,
 * also the first one of a fresh handle on an existing database, before any
 * named database was opened through it (the main database's key order is
 * set at open for that). */
static void test_first_write_of_a_fresh_kv_handle(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[[:db/add 1 :p/age 3]]", DT_OK, 0);
    assert_int_equal(dt_conn_close(d->conn), DT_OK);
    d->conn = NULL;
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(d->dir, NULL, &kv), DT_OK);
    dt_kv_txn *t = NULL;
    assert_int_equal(dt_kv_txn_begin(kv, DT_KV_TXN_WRITE, &t), DT_OK);
    assert_int_equal(dt_kv_txn_commit(t), DT_OK);
    assert_int_equal(dt_kv_close(kv), DT_OK);
    tu_rmdir_free(d->dir);
    free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writers_are_refused_between_chunks),
        cmocka_unit_test(test_failed_chunked_load_releases_writers),
        cmocka_unit_test(test_interrupted_load_keeps_writers_out),
        cmocka_unit_test(test_first_write_of_a_fresh_kv_handle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
