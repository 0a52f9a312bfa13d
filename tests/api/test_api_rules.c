/* test_api_rules.c -- the rules every public function follows, through the
 * public header only: flag groups with bits of their own, one rule for
 * option-struct versions, one meaning for DT_MAPFULL, and KV access from a
 * write block. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* {====== Fixtures ====== */

typedef struct fx {
    char *dir;
    dt_kv *kv;
    dt_kv_dbi dbi;
} fx;

static int kv_setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    assert_int_equal(dt_kv_open(f->dir, NULL, &f->kv), DT_OK);
    assert_int_equal(dt_kv_dbi_open(f->kv, "main", DT_KV_DBI_CREATE, &f->dbi), DT_OK);
    *state = f;
    return 0;
}

static int kv_teardown(void **state) {
    fx *f = *state;
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    tu_rmdir_free(f->dir);
    free(f);
    return 0;
}

/* 1 when `dir`/name exists. */
static int exists(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

/* The number of entries in dbi, from a fresh snapshot. */
static uint64_t kv_count(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi) {
    uint64_t n = 0;
    assert_int_equal(dt_kv_range_count(kv, txn, dbi, NULL, &n), DT_OK);
    return n;
}

#define assert_msg_has(handle, text)                                                               \
    do {                                                                                           \
        const char *m_ = dt_errmsg(handle);                                                        \
        if (!strstr(m_, text)) fail_msg("message <%s> lacks <%s>", m_, text);                      \
    } while (0)

/* }====== */

/* {====== Flag groups ====== */

static const unsigned env_flags[] = {DT_KV_NOSYNC,   DT_KV_NOMETASYNC, DT_KV_WRITEMAP,
                                     DT_KV_MAPASYNC, DT_KV_RDONLY,     DT_KV_TEMP};
static const unsigned dbi_flags[] = {DT_KV_DBI_CREATE, DT_KV_DBI_DUPSORT};
static const unsigned txn_flags[] = {DT_KV_TXN_RDONLY};
static const unsigned put_flags[] = {DT_KV_NOOVERWRITE, DT_KV_NODUPDATA, DT_KV_APPEND};
static const unsigned edn_flags[] = {DT_EDN_PRETTY};

typedef struct group {
    const unsigned *flags;
    size_t n;
    unsigned range;
} group;

#define GROUP(a, r)                                                                                \
    { a, sizeof a / sizeof a[0], r }

static void test_flag_groups_have_bits_of_their_own(void **state) {
    (void)state;
    const group g[] = {GROUP(env_flags, 0x000000ffu), GROUP(dbi_flags, 0x00000f00u),
                       GROUP(txn_flags, 0x0000f000u), GROUP(put_flags, 0x000f0000u),
                       GROUP(edn_flags, 0x00f00000u)};
    size_t ng = sizeof g / sizeof g[0];
    for (size_t i = 0; i < ng; i++) {
        for (size_t k = 0; k < g[i].n; k++) {
            unsigned fl = g[i].flags[k];
            /* one bit each, inside the group's documented range */
            assert_true(fl != 0 && (fl & (fl - 1)) == 0);
            assert_int_equal(fl & ~g[i].range, 0);
            for (size_t j = 0; j < ng; j++)
                if (j != i) assert_int_equal(fl & g[j].range, 0);
            for (size_t m = 0; m < g[i].n; m++)
                if (m != k) assert_int_equal(fl & g[i].flags[m], 0);
        }
    }
    assert_int_equal(DT_KV_TXN_WRITE, 0);
    assert_int_equal(DT_EDN_COMPACT, 0);
}

static void test_kv_flags_of_another_group_are_invalid(void **state) {
    fx *f = *state;
    dt_kv_dbi d = 77;
    /* dbi_open: a put flag and a transaction flag are not dbi flags */
    assert_int_equal(dt_kv_dbi_open(f->kv, "other", DT_KV_NOOVERWRITE, &d), DT_INVALID);
    assert_msg_has(f->kv, "kv dbi_open 'other': flags 0x10000 are not dbi flags: a put flag");
    assert_int_equal(dt_kv_dbi_open(f->kv, "other", DT_KV_DBI_CREATE | DT_KV_TXN_RDONLY, &d),
                     DT_INVALID);
    assert_msg_has(f->kv, "a transaction flag (dt_kv_txn_begin)");
    assert_int_equal(dt_kv_dbi_open(f->kv, "other", 0, &d), DT_NOTFOUND); /* not created */

    /* put: dbi, environment, transaction and unknown bits */
    const unsigned wrong[] = {DT_KV_DBI_CREATE, DT_KV_NOSYNC, DT_KV_TXN_RDONLY, DT_EDN_PRETTY,
                              0x80000000u};
    const char *names[] = {"a dbi flag (dt_kv_dbi_open)",
                           "an environment flag (dt_kv_open, dt_kv_set_flags)",
                           "a transaction flag (dt_kv_txn_begin)",
                           "an EDN write flag (dt_edn_write)", "not a Datolite flag"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        assert_int_equal(dt_kv_put(f->kv, NULL, f->dbi, "k", 1, "v", 1, wrong[i]), DT_INVALID);
        assert_msg_has(f->kv, "kv put: flags 0x");
        assert_msg_has(f->kv, names[i]);
        /* with a put flag that is right, the wrong one still fails */
        assert_int_equal(
            dt_kv_put(f->kv, NULL, f->dbi, "k", 1, "v", 1, DT_KV_NOOVERWRITE | wrong[i]),
            DT_INVALID);
    }
    assert_int_equal(kv_count(f->kv, NULL, f->dbi), 0);
    /* the put flags themselves work */
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dbi, "k", 1, "v", 1, DT_KV_NOOVERWRITE), DT_OK);
    assert_int_equal(dt_kv_put(f->kv, NULL, f->dbi, "k", 1, "w", 1, DT_KV_NOOVERWRITE),
                     DT_CONFLICT);

    /* txn_begin: 0x01 used to be read as RDONLY whatever group it came from */
    dt_kv_txn *t = (dt_kv_txn *)f;
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_NOSYNC, &t), DT_INVALID);
    assert_null(t);
    assert_msg_has(f->kv, "kv txn_begin: flags 0x1 are not transaction flags: an environment flag");
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_DBI_CREATE, &t), DT_INVALID);
    assert_msg_has(f->kv, "a dbi flag");
    assert_int_equal(dt_kv_txn_begin(f->kv, DT_KV_NOOVERWRITE, &t), DT_INVALID);
    assert_msg_has(f->kv, "a put flag");

    /* a batch op with a wrong flag stops the batch; nothing is written */
    dt_kv_op ops[2] = {{DT_KV_OP_PUT, f->dbi, 0, {"a", 1}, {"1", 1}},
                       {DT_KV_OP_PUT, f->dbi, DT_KV_DBI_DUPSORT, {"b", 1}, {"2", 1}}};
    assert_int_equal(dt_kv_batch(f->kv, NULL, ops, 2), DT_INVALID);
    assert_msg_has(f->kv, "kv batch op 1 of 2");
    assert_msg_has(f->kv, "a dbi flag");
    assert_int_equal(kv_count(f->kv, NULL, f->dbi), 1); /* only "k" */

    /* set_flags: only environment flags, and only the run-time ones */
    unsigned before = 0, after = 0;
    assert_int_equal(dt_kv_get_flags(f->kv, &before), DT_OK);
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_NOOVERWRITE, 1), DT_INVALID);
    assert_msg_has(f->kv, "kv set_flags: flags 0x10000 are not environment flags: a put flag");
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_TEMP, 1), DT_INVALID);
    assert_msg_has(f->kv, "cannot change at run time");
    assert_int_equal(dt_kv_get_flags(f->kv, &after), DT_OK);
    assert_int_equal(before, after);
    assert_int_equal(dt_kv_set_flags(f->kv, DT_KV_NOSYNC, 1), DT_OK);
    assert_int_equal(dt_kv_get_flags(f->kv, &after), DT_OK);
    assert_int_equal(after, before | DT_KV_NOSYNC);

    /* open: a dbi flag is not an environment flag; nothing is created */
    char *dir = tu_tmpdir();
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/env", dir);
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.flags = DT_KV_DBI_CREATE;
    dt_kv *kv = NULL;
    assert_int_equal(dt_kv_open(sub, &o, &kv), DT_INVALID);
    assert_null(kv);
    assert_msg_has(NULL, "flags 0x100 are not environment flags: a dbi flag");
    assert_false(exists(dir, "env"));
    tu_rmdir_free(dir);
}

static void test_conn_and_edn_flags_of_another_group_are_invalid(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn *conn = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &conn), DT_OK);
    assert_int_equal(dt_conn_set_flags(conn, DT_KV_NOOVERWRITE, 1), DT_INVALID);
    assert_msg_has(conn, "a put flag");
    assert_int_equal(dt_conn_set_flags(conn, DT_KV_NOMETASYNC, 1), DT_OK);
    unsigned fl = 0;
    assert_int_equal(dt_kv_get_flags(dt_conn_kv(conn), &fl), DT_OK);
    assert_int_equal(fl & DT_KV_NOMETASYNC, DT_KV_NOMETASYNC);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    tu_rmdir_free(dir);

    dt_value v;
    dt_value_long(42, &v);
    char *s = (char *)&v;
    assert_int_equal(dt_edn_write(&v, (int)DT_KV_NOSYNC, &s, NULL), DT_INVALID);
    assert_null(s);
    assert_msg_has(NULL, "dt_edn_write: flags 0x1 are not EDN write flags: an environment flag");
    assert_int_equal(dt_edn_write(&v, DT_EDN_PRETTY, &s, NULL), DT_OK);
    assert_string_equal(s, "42");
    dt_free(s);
}

/* }====== */

/* {====== Option versions ====== */

static void test_unknown_option_versions_are_invalid(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/db", dir);
    char want[128];

    /* dt_kv_options: 0 and newer than the library are refused; nothing created */
    dt_kv_options ko = DT_KV_OPTIONS_INIT;
    dt_kv *kv = NULL;
    unsigned kbad[] = {0, DT_KV_OPTIONS_VERSION + 1, 1000};
    for (size_t i = 0; i < 3; i++) {
        ko.version = kbad[i];
        assert_int_equal(dt_kv_open(sub, &ko, &kv), DT_INVALID);
        assert_null(kv);
        snprintf(want, sizeof want, "options version %u unknown (library knows 1..%u)", kbad[i],
                 DT_KV_OPTIONS_VERSION);
        assert_msg_has(NULL, want);
        assert_false(exists(dir, "db"));
    }

    /* dt_conn_options, and the dt_kv_options inside it */
    dt_conn_options co = DT_CONN_OPTIONS_INIT;
    dt_conn *conn = NULL;
    co.version = DT_CONN_OPTIONS_VERSION + 1;
    assert_int_equal(dt_conn_open(sub, NULL, &co, &conn), DT_INVALID);
    assert_null(conn);
    snprintf(want, sizeof want, "dt_conn_open: dt_conn_options: options version %u unknown",
             DT_CONN_OPTIONS_VERSION + 1);
    assert_msg_has(NULL, want);
    co.version = 0;
    assert_int_equal(dt_conn_open(sub, NULL, &co, &conn), DT_INVALID);
    co.version = DT_CONN_OPTIONS_VERSION;
    co.kv.version = 7;
    assert_int_equal(dt_conn_open(sub, NULL, &co, &conn), DT_INVALID);
    assert_msg_has(NULL, "dt_kv_options: options version 7 unknown");
    assert_false(exists(dir, "db"));

    /* dt_edn_options, for the one-shot and the streaming reader */
    dt_edn_options eo = DT_EDN_OPTIONS_INIT;
    eo.version = DT_EDN_OPTIONS_VERSION + 1;
    dt_value v;
    assert_int_equal(dt_edn_read_opts("1", 1, &eo, &v), DT_INVALID);
    assert_int_equal(v.type, DT_NIL);
    snprintf(want, sizeof want, "options version %u unknown (library knows 1..%u)",
             DT_EDN_OPTIONS_VERSION + 1, DT_EDN_OPTIONS_VERSION);
    assert_msg_has(NULL, want);
    dt_edn_reader *r = NULL;
    eo.version = 0;
    assert_int_equal(dt_edn_reader_new("1", 1, &eo, &r), DT_INVALID);
    assert_null(r);

    /* dt_load_options: an older version is accepted, a newer one is not */
    co.kv.version = DT_KV_OPTIONS_VERSION;
    assert_int_equal(dt_conn_open(sub, NULL, &co, &conn), DT_OK);
    dt_load_options lo = DT_LOAD_OPTIONS_INIT;
    dt_loader *ld = NULL;
    lo.version = DT_LOAD_OPTIONS_VERSION + 1;
    assert_int_equal(dt_loader_open(conn, DT_LOAD_FILL, &lo, &ld), DT_INVALID);
    assert_null(ld);
    snprintf(want, sizeof want, "options version %u unknown (library knows 1..%u)",
             DT_LOAD_OPTIONS_VERSION + 1, DT_LOAD_OPTIONS_VERSION);
    assert_msg_has(conn, want);
    lo.version = 1;    /* before chunk_size existed */
    lo.chunk_size = 1; /* ignored: not a field of version 1 */
    assert_int_equal(dt_loader_open(conn, DT_LOAD_INIT, &lo, &ld), DT_OK);
    dt_value_long(7, &v);
    assert_int_equal(dt_loader_add(ld, 1, "p/n", &v), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_loader_close(ld);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== DT_MAPFULL ====== */

/* tx-data of `n` entities with a 1 KiB string each (caller frees). */
static char *big_tx(int first, int n) {
    size_t cap = (size_t)n * 1100 + 16;
    char *s = malloc(cap);
    size_t len = 0;
    len += (size_t)snprintf(s + len, cap - len, "[");
    char pad[1001];
    memset(pad, 'x', 1000);
    pad[1000] = '\0';
    for (int i = 0; i < n; i++)
        len +=
            (size_t)snprintf(s + len, cap - len, "{:big/id %d :big/text \"%s\"}", first + i, pad);
    snprintf(s + len, cap - len, "]");
    return s;
}

static dt_conn *small_map_conn(const char *dir, uint64_t max) {
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = 1 << 20;
    o.kv.max_map_size = max;
    dt_conn *conn = NULL;
    assert_int_equal(dt_conn_open(dir, "{:big/id {:db/valueType :db.type/long}}", &o, &conn),
                     DT_OK);
    return conn;
}

static uint64_t count_attr(dt_conn *conn, const char *attr) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, attr, strlen(attr), &a), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, &a, 1, &n), DT_OK);
    dt_value_free(&a);
    dt_db_close(db);
    return n;
}

/* Transacts 100 KiB pieces in the block until one fails; returns its code. */
static int fill_block(dt_txn *tx, int pieces) {
    int rc = DT_OK;
    for (int p = 0; p < pieces && rc == DT_OK; p++) {
        char *s = big_tx(p * 100, 100);
        rc = dt_txn_transact(tx, s, NULL);
        free(s);
    }
    return rc;
}

static void test_block_that_fills_a_growable_map_says_retry(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn *conn = small_map_conn(dir, 0);
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(conn, &tx), DT_OK);
    int rc = fill_block(tx, 30); /* 3 MiB into a 1 MiB map */
    assert_int_equal(rc, DT_MAPFULL_RETRY);
    assert_int_equal(rc & 0xff, DT_MAPFULL);
    /* the block has failed: only abort or commit (which writes nothing) */
    dt_kv *kv = NULL;
    dt_kv_txn *kt = NULL;
    assert_int_equal(dt_txn_kv(tx, &kv, &kt), DT_MAPFULL_RETRY);
    assert_int_equal(dt_txn_commit(tx), DT_MAPFULL_RETRY);
    assert_msg_has(conn, "dt_txn_commit");
    assert_int_equal(count_attr(conn, "big/id"), 0);
    /* the map has grown: the same block gets further, and then through */
    for (int attempt = 0; attempt < 8; attempt++) {
        assert_int_equal(dt_txn_begin(conn, &tx), DT_OK);
        rc = fill_block(tx, 30);
        if (rc == DT_OK)
            rc = dt_txn_commit(tx);
        else
            assert_int_equal(dt_txn_commit(tx), DT_MAPFULL_RETRY);
        if (rc != DT_MAPFULL_RETRY) break;
    }
    assert_int_equal(rc, DT_OK);
    assert_int_equal(count_attr(conn, "big/id"), 3000);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    tu_rmdir_free(dir);
}

typedef struct fill_arg {
    int pieces;
    int ran;
} fill_arg;

static int fill_fn(dt_txn *tx, void *ud) {
    fill_arg *a = ud;
    a->ran++;
    return fill_block(tx, a->pieces);
}

static void test_owned_transactions_grow_and_run_again(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn *conn = small_map_conn(dir, 0);
    fill_arg a = {30, 0};
    assert_int_equal(dt_with_txn(conn, fill_fn, &a), DT_OK);
    assert_true(a.ran > 1);
    assert_int_equal(count_attr(conn, "big/id"), 3000);
    /* dt_transact too: one transaction bigger than the map is */
    char *s = big_tx(5000, 3000);
    assert_int_equal(dt_transact(conn, s, NULL), DT_OK);
    free(s);
    assert_int_equal(count_attr(conn, "big/id"), 6000);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    tu_rmdir_free(dir);
}

static void test_map_that_may_not_grow_is_plain_mapfull_everywhere(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn *conn = small_map_conn(dir, 2 << 20);
    char *s = big_tx(0, 3000);
    assert_int_equal(dt_transact(conn, s, NULL), DT_MAPFULL);
    free(s);
    assert_int_equal(count_attr(conn, "big/id"), 0);
    /* dt_with_txn does not run fn again when growing is impossible */
    fill_arg a = {30, 0};
    assert_int_equal(dt_with_txn(conn, fill_fn, &a), DT_MAPFULL);
    assert_int_equal(a.ran, 1);
    assert_int_equal(count_attr(conn, "big/id"), 0);
    /* a block gets plain DT_MAPFULL as well */
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(conn, &tx), DT_OK);
    int rc = fill_block(tx, 30);
    assert_int_equal(rc, DT_MAPFULL);
    dt_txn_abort(tx);
    /* what fits still goes in */
    s = big_tx(0, 10);
    assert_int_equal(dt_transact(conn, s, NULL), DT_OK);
    free(s);
    assert_int_equal(count_attr(conn, "big/id"), 10);
    assert_int_equal(dt_conn_close(conn), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== KV access from a write block ====== */

typedef struct dbfx {
    char *dir;
    dt_conn *conn;
    dt_kv *kv;
    dt_kv_dbi dbi;
} dbfx;

static int db_setup(void **state) {
    dbfx *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    assert_int_equal(
        dt_conn_open(f->dir, "{:p/name {:db/valueType :db.type/string}}", NULL, &f->conn), DT_OK);
    f->kv = dt_conn_kv(f->conn);
    assert_int_equal(dt_kv_dbi_open(f->kv, "app", DT_KV_DBI_CREATE, &f->dbi), DT_OK);
    *state = f;
    return 0;
}

static int db_teardown(void **state) {
    dbfx *f = *state;
    assert_int_equal(dt_conn_close(f->conn), DT_OK);
    tu_rmdir_free(f->dir);
    free(f);
    return 0;
}

/* The value of KV key `k` (in txn, or the latest committed with NULL), or
 * "-" when missing; static buffer. */
static const char *kv_val(dbfx *f, dt_kv_txn *txn, const char *k) {
    static char buf[64];
    void *p = NULL;
    size_t n = 0;
    int rc = dt_kv_get(f->kv, txn, f->dbi, k, strlen(k), &p, &n);
    if (rc == DT_NOTFOUND) return "-";
    assert_int_equal(rc, DT_OK);
    snprintf(buf, sizeof buf, "%.*s", (int)n, (char *)p);
    dt_free(p);
    return buf;
}

static void test_block_writes_kv_and_datoms_atomically(void **state) {
    dbfx *f = *state;
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    dt_kv *kv = NULL;
    dt_kv_txn *t = NULL;
    assert_int_equal(dt_txn_kv(tx, &kv, &t), DT_OK);
    assert_ptr_equal(kv, f->kv);
    assert_ptr_equal(t, dt_txn_kv_txn(tx));
    assert_int_equal(dt_kv_put(kv, t, f->dbi, "k1", 2, "v1", 2, 0), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[{:p/name \"Ada\"}]", NULL), DT_OK);
    /* the transaction stays the same across dt_txn_transact */
    dt_kv_txn *t2 = NULL;
    assert_int_equal(dt_txn_kv(tx, &kv, &t2), DT_OK);
    assert_ptr_equal(t2, t);
    assert_int_equal(dt_kv_put(kv, t, f->dbi, "k2", 2, "v2", 2, 0), DT_OK);
    assert_string_equal(kv_val(f, t, "k1"), "v1");
    /* a failing transact leaves the block, KV writes included, as it was */
    assert_int_equal(dt_txn_transact(tx, "[{:p/name 5}]", NULL), DT_INVALID);
    assert_string_equal(kv_val(f, t, "k2"), "v2");
    /* nothing is visible outside before the commit */
    assert_string_equal(kv_val(f, NULL, "k1"), "-");
    assert_int_equal(count_attr(f->conn, "p/name"), 0);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_string_equal(kv_val(f, NULL, "k1"), "v1");
    assert_string_equal(kv_val(f, NULL, "k2"), "v2");
    assert_int_equal(count_attr(f->conn, "p/name"), 1);
}

static void test_block_abort_drops_kv_and_datoms(void **state) {
    dbfx *f = *state;
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    dt_kv *kv = NULL;
    dt_kv_txn *t = NULL;
    assert_int_equal(dt_txn_kv(tx, &kv, &t), DT_OK);
    assert_int_equal(dt_kv_put(kv, t, f->dbi, "gone", 4, "x", 1, 0), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[{:p/name \"Bob\"}]", NULL), DT_OK);
    dt_txn_abort(tx);
    assert_string_equal(kv_val(f, NULL, "gone"), "-");
    assert_int_equal(count_attr(f->conn, "p/name"), 0);
    assert_int_equal(kv_count(f->kv, NULL, f->dbi), 0);
}

typedef struct cb_arg {
    dbfx *f;
    int fail;
} cb_arg;

/* A dt_with_txn callback: reaches the KV store from the block alone. */
static int kv_and_datoms_fn(dt_txn *tx, void *ud) {
    cb_arg *a = ud;
    dt_kv *kv = NULL;
    dt_kv_txn *t = NULL;
    int rc = dt_txn_kv(tx, &kv, &t);
    if (rc == DT_OK) rc = dt_kv_put(kv, t, a->f->dbi, "cb", 2, "yes", 3, 0);
    if (rc == DT_OK) rc = dt_txn_transact(tx, "[{:p/name \"Cy\"}]", NULL);
    return rc == DT_OK && a->fail ? DT_CONFLICT : rc;
}

static void test_with_tx_callback_writes_kv_through_the_block(void **state) {
    dbfx *f = *state;
    cb_arg a = {f, 1};
    assert_int_equal(dt_with_txn(f->conn, kv_and_datoms_fn, &a), DT_CONFLICT);
    assert_string_equal(kv_val(f, NULL, "cb"), "-");
    assert_int_equal(count_attr(f->conn, "p/name"), 0);
    a.fail = 0;
    assert_int_equal(dt_with_txn(f->conn, kv_and_datoms_fn, &a), DT_OK);
    assert_string_equal(kv_val(f, NULL, "cb"), "yes");
    assert_int_equal(count_attr(f->conn, "p/name"), 1);
}

static void test_kv_transaction_across_savepoints(void **state) {
    dbfx *f = *state;
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    dt_kv *kv = NULL;
    dt_kv_txn *outer = NULL, *inner = NULL;
    assert_int_equal(dt_txn_kv(tx, &kv, &outer), DT_OK);
    assert_int_equal(dt_kv_put(kv, outer, f->dbi, "a", 1, "1", 1, 0), DT_OK);
    dt_savepoint *sp = NULL;
    assert_int_equal(dt_savepoint_create(tx, &sp), DT_OK);
    /* the transaction from before the savepoint is its parent now */
    assert_int_equal(dt_kv_put(kv, outer, f->dbi, "x", 1, "x", 1, 0), DT_MISUSE);
    assert_int_equal(dt_txn_kv(tx, &kv, &inner), DT_OK);
    assert_ptr_not_equal(inner, outer);
    assert_int_equal(dt_kv_put(kv, inner, f->dbi, "b", 1, "2", 1, 0), DT_OK);
    assert_string_equal(kv_val(f, inner, "a"), "1");
    assert_int_equal(dt_savepoint_rollback(tx, sp), DT_OK);
    assert_int_equal(dt_txn_kv(tx, &kv, &inner), DT_OK);
    assert_string_equal(kv_val(f, inner, "b"), "-");
    assert_int_equal(dt_kv_put(kv, inner, f->dbi, "c", 1, "3", 1, 0), DT_OK);
    assert_int_equal(dt_savepoint_release(tx, sp), DT_OK);
    assert_int_equal(dt_txn_kv(tx, &kv, &inner), DT_OK);
    assert_ptr_equal(inner, outer);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_string_equal(kv_val(f, NULL, "a"), "1");
    assert_string_equal(kv_val(f, NULL, "b"), "-");
    assert_string_equal(kv_val(f, NULL, "c"), "3");
}

static void test_tx_kv_misuse(void **state) {
    dbfx *f = *state;
    dt_kv *kv = (dt_kv *)f;
    dt_kv_txn *t = (dt_kv_txn *)f;
    assert_int_equal(dt_txn_kv(NULL, &kv, &t), DT_MISUSE);
    assert_null(kv);
    assert_null(t);
    assert_int_equal(dt_txn_kv((dt_txn *)f->conn, &kv, &t), DT_MISUSE); /* wrong kind */
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(f->conn, &tx), DT_OK);
    assert_int_equal(dt_txn_kv(tx, NULL, &t), DT_MISUSE);
    assert_int_equal(dt_txn_kv(tx, &kv, NULL), DT_MISUSE);
    assert_null(kv);
    assert_msg_has(tx, "dt_txn_kv: NULL out");
    dt_txn_abort(tx);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flag_groups_have_bits_of_their_own),
        cmocka_unit_test_setup_teardown(test_kv_flags_of_another_group_are_invalid, kv_setup,
                                        kv_teardown),
        cmocka_unit_test(test_conn_and_edn_flags_of_another_group_are_invalid),
        cmocka_unit_test(test_unknown_option_versions_are_invalid),
        cmocka_unit_test(test_block_that_fills_a_growable_map_says_retry),
        cmocka_unit_test(test_owned_transactions_grow_and_run_again),
        cmocka_unit_test(test_map_that_may_not_grow_is_plain_mapfull_everywhere),
        cmocka_unit_test_setup_teardown(test_block_writes_kv_and_datoms_atomically, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_block_abort_drops_kv_and_datoms, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_with_tx_callback_writes_kv_through_the_block, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_kv_transaction_across_savepoints, db_setup,
                                        db_teardown),
        cmocka_unit_test_setup_teardown(test_tx_kv_misuse, db_setup, db_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
