/*
 * udf_bench.c -- the cost of transaction functions.
 *
 * In one async stream of N transactions (all submitted, then the last one
 * waited for; transactions commit in submission order), per transaction:
 *   plain      [[:db/add 1 :b/n i]]
 *   lua        [[:b/set 1 i]], a stored Lua function returning that form
 *   c          [[:c/set 1 i]], a registered C function returning it
 * and for a bank transfer between two of 16 accounts (random, fixed seed,
 * amounts small enough that none is refused):
 *   transfer-lua    [[:bank/transfer from to amount]] (stored Lua: reads
 *                   both balances, checks, writes both), async stream
 *   transfer-c      the same logic as a registered C function, async stream
 *   transfer-block  the same logic written as a dt_txn block in C (begin,
 *                   read both balances through dt_txn_db, transact both
 *                   new balances, commit), one block per transfer
 * Each cell runs on a fresh database opened with DT_KV_NOSYNC (the CPU
 * path, not fsync, is measured).  Cells are interleaved (plain lua c
 * plain lua c ...) over `runs` runs; the figure is the median of the
 * runs' µs per transaction, and lua - plain, c - plain are the added cost
 * of a call.
 *
 * usage: udf_bench [N [runs [dir]]]    (100000, 5, $TMPDIR or /tmp)
 * One JSON line per cell and run, then a table.
 */
#include "bench_util.h"

#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datolite.h"

#define MAX_RUNS 31
#define ACCTS    16

static const char *base_dir;
static _Atomic long failures;

static void die(const char *what, const char *msg) {
    fprintf(stderr, "udf_bench: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

static const char *SCHEMA = "{:b/n {:db/valueType :db.type/long}"
                            " :acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :acct/balance {:db/valueType :db.type/long}}";

static const char *LUA_SET = "return function(db, e, n) return {dt.add(e, 'b/n', n)} end";

static const char *LUA_TRANSFER =
    "return function(db, from, to, amount)\n"
    "  local a = db:entity({dt.kw'acct/id', from})\n"
    "  local b = db:entity({dt.kw'acct/id', to})\n"
    "  local have = a['acct/balance']\n"
    "  if have < amount then error('overdraft') end\n"
    "  return {dt.add(a['db/id'], 'acct/balance', have - amount),\n"
    "          dt.add(b['db/id'], 'acct/balance', b['acct/balance'] + amount)}\n"
    "end\n";

/* [:db/add e attr v] as a value (attr keyword text). */
static void add_form(dt_value *f, int64_t e, const char *attr, int64_t v) {
    dt_value_seq(DT_VECTOR, 4, f);
    dt_value_text(DT_KEYWORD, "db/add", 6, &f->u.seq.items[0]);
    dt_value_long(e, &f->u.seq.items[1]);
    dt_value_text(DT_KEYWORD, attr, strlen(attr), &f->u.seq.items[2]);
    dt_value_long(v, &f->u.seq.items[3]);
}

static int c_set(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 2) return dt_errmsg_set(db, DT_INVALID, "c/set takes e and n");
    dt_value_seq(DT_VECTOR, 1, out);
    add_form(&out->u.seq.items[0], args[0].u.i, "b/n", args[1].u.i);
    return DT_OK;
}

/* The balance and entity of account `id` in db. */
static int read_acct(dt_db *db, int64_t id, int64_t *e, int64_t *bal) {
    dt_value ref[2];
    dt_value lookup;
    dt_value_seq(DT_VECTOR, 2, &lookup);
    dt_value_text(DT_KEYWORD, "acct/id", 7, &lookup.u.seq.items[0]);
    dt_value_long(id, &lookup.u.seq.items[1]);
    int rc = dt_db_entid(db, &lookup, e);
    dt_value_free(&lookup);
    if (rc != DT_OK) return rc;
    dt_value_long(*e, &ref[0]);
    dt_value_text(DT_KEYWORD, "acct/balance", 12, &ref[1]);
    dt_datom_iter *it = NULL;
    rc = dt_db_datoms(db, DT_INDEX_EAV, ref, 2, &it);
    dt_value_free(&ref[1]);
    if (rc != DT_OK) return rc;
    dt_datom d;
    rc = dt_datom_iter_next(it, &d);
    if (rc == DT_ROW) *bal = d.v.u.i;
    dt_datom_iter_close(it);
    return rc == DT_ROW ? DT_OK : DT_NOTFOUND;
}

/* The transfer's two new balances as tx-data into *out. */
static int transfer_tx(dt_db *db, int64_t from, int64_t to, int64_t amount, dt_value *out) {
    int64_t ea, eb, ba, bb;
    int rc = read_acct(db, from, &ea, &ba);
    if (rc == DT_OK) rc = read_acct(db, to, &eb, &bb);
    if (rc != DT_OK) return dt_errmsg_set(db, rc, "no such account");
    if (ba < amount) return dt_errmsg_set(db, DT_USER_FIRST, "overdraft");
    dt_value_seq(DT_VECTOR, 2, out);
    add_form(&out->u.seq.items[0], ea, "acct/balance", ba - amount);
    add_form(&out->u.seq.items[1], eb, "acct/balance", bb + amount);
    return DT_OK;
}

static int c_transfer(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 3) return dt_errmsg_set(db, DT_INVALID, "c/transfer takes 3 arguments");
    return transfer_tx(db, args[0].u.i, args[1].u.i, args[2].u.i, out);
}

static const dt_fn_def FNS[] = {{"c/set", DT_FN_C, c_set, NULL, NULL, NULL, NULL},
                                {"c/transfer", DT_FN_C, c_transfer, NULL, NULL, NULL, NULL}};

static void install(dt_conn *c, const char *ident, const char *src) {
    dt_value tx, m;
    dt_value_seq(DT_VECTOR, 1, &tx);
    dt_value_seq(DT_MAP, 4, &m);
    dt_value_text(DT_KEYWORD, "db/ident", 8, &m.u.seq.items[0]);
    dt_value_text(DT_KEYWORD, ident, strlen(ident), &m.u.seq.items[1]);
    dt_value_text(DT_KEYWORD, "db/fn", 5, &m.u.seq.items[2]);
    dt_value_text(DT_STRING, src, strlen(src), &m.u.seq.items[3]);
    tx.u.seq.items[0] = m;
    if (dt_transact_value(c, &tx, NULL) != DT_OK) die("install", dt_errmsg(c));
    dt_value_free(&tx);
}

static dt_conn *open_fresh(char *dir, size_t cap) {
    static int seq;
    snprintf(dir, cap, "%s/udf_bench_%d_%d", base_dir, (int)getpid(), seq++);
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags |= DT_KV_NOSYNC;
    o.fns = FNS;
    o.nfns = 2;
    dt_conn *c = NULL;
    if (dt_conn_open(dir, SCHEMA, &o, &c) != DT_OK) die("open", dt_errmsg(NULL));
    if (dt_transact(c, "[{:db/id 1 :b/n 0}]", NULL) != DT_OK) die("seed", dt_errmsg(c));
    char tx[2048] = "[";
    for (int i = 0; i < ACCTS; i++)
        snprintf(tx + strlen(tx), sizeof tx - strlen(tx), "{:acct/id %d :acct/balance 1000000000}",
                 i);
    strcat(tx, "]");
    if (dt_transact(c, tx, NULL) != DT_OK) die("accounts", dt_errmsg(c));
    install(c, "b/set", LUA_SET);
    install(c, "bank/transfer", LUA_TRANSFER);
    return c;
}

static void on_done(int rc, const dt_report *r, void *ud) {
    (void)r, (void)ud;
    if (rc != DT_OK) atomic_fetch_add(&failures, 1);
}

enum { K_PLAIN, K_LUA, K_C, K_TLUA, K_TC, K_TBLOCK, K_COUNT };
static const char *const NAMES[K_COUNT] = {"plain",        "lua",        "c",
                                           "transfer-lua", "transfer-c", "transfer-block"};

static double proc_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One cell: µs of process CPU time per transaction (the submitting
 * thread and the writer thread together; on a shared machine the wall
 * time also counts other processes), and the wall time in *wall. */
static double cell(int kind, long n, double *wall) {
    char dir[4096];
    dt_conn *c = open_fresh(dir, sizeof dir);
    uint64_t seed = 42;
    /* warm-up: compile the functions, touch the pages */
    if (dt_transact(c, "[[:b/set 1 1] [:bank/transfer 0 1 1]]", NULL) != DT_OK)
        die("warm-up", dt_errmsg(c));
    failures = 0;
    double t0 = bench_now(), c0 = proc_cpu();
    dt_future *last = NULL;
    for (long i = 0; i < n; i++) {
        dt_value tx;
        int64_t from = (int64_t)(bench_rng(&seed) % ACCTS);
        int64_t to = (from + 1 + (int64_t)(bench_rng(&seed) % (ACCTS - 1))) % ACCTS;
        int64_t amount = (int64_t)(bench_rng(&seed) % 100) + 1;
        if (kind == K_TBLOCK) {
            dt_txn *b = NULL;
            dt_db *view = NULL;
            dt_value data = DT_VALUE_NIL;
            int rc = dt_txn_begin(c, &b);
            if (rc == DT_OK) rc = dt_txn_db(b, &view);
            if (rc == DT_OK) rc = transfer_tx(view, from, to, amount, &data);
            dt_db_close(view);
            if (rc == DT_OK) rc = dt_txn_transact_value(b, &data, NULL);
            dt_value_free(&data);
            if (rc == DT_OK)
                rc = dt_txn_commit(b);
            else
                dt_txn_abort(b);
            if (rc != DT_OK) die("block", dt_errmsg(c));
            continue;
        }
        dt_value_seq(DT_VECTOR, 1, &tx);
        dt_value *f = &tx.u.seq.items[0];
        switch (kind) {
        case K_PLAIN:
            add_form(f, 1, "b/n", i);
            break;
        case K_LUA:
        case K_C:
            dt_value_seq(DT_VECTOR, 3, f);
            dt_value_text(DT_KEYWORD, kind == K_LUA ? "b/set" : "c/set", 5, &f->u.seq.items[0]);
            dt_value_long(1, &f->u.seq.items[1]);
            dt_value_long(i, &f->u.seq.items[2]);
            break;
        default:
            dt_value_seq(DT_VECTOR, 4, f);
            if (kind == K_TLUA)
                dt_value_text(DT_KEYWORD, "bank/transfer", 13, &f->u.seq.items[0]);
            else
                dt_value_text(DT_KEYWORD, "c/transfer", 10, &f->u.seq.items[0]);
            dt_value_long(from, &f->u.seq.items[1]);
            dt_value_long(to, &f->u.seq.items[2]);
            dt_value_long(amount, &f->u.seq.items[3]);
            break;
        }
        int rc = dt_transact_async_value(c, &tx, on_done, NULL, i == n - 1 ? &last : NULL);
        dt_value_free(&tx);
        if (rc != DT_OK) die("submit", dt_errmsg(c));
    }
    if (last) {
        if (dt_future_wait(last) != DT_OK) die("last", dt_future_errmsg(last));
        dt_future_free(last);
    }
    double us = (proc_cpu() - c0) * 1e6 / (double)n;
    *wall = (bench_now() - t0) * 1e6 / (double)n;
    if (failures) die(NAMES[kind], "transactions failed");
    if (dt_conn_close(c) != DT_OK) die("close", dt_errmsg(c));
    bench_rm_rf(dir);
    return us;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    base_dir = argc > 3 ? argv[3] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    if (n < 1 || runs < 1 || runs > MAX_RUNS) die("usage", "udf_bench [N [runs [dir]]]");
    double t[K_COUNT][MAX_RUNS], w[K_COUNT][MAX_RUNS], d_lua[MAX_RUNS], d_c[MAX_RUNS],
        d_tl[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        for (int k = 0; k < K_COUNT; k++) {
            t[k][r] = cell(k, k == K_TBLOCK ? n / 4 : n, &w[k][r]);
            printf("{\"bench\":\"udf\",\"cell\":\"%s\",\"run\":%d,\"n\":%ld,\"cpu_us_per_tx\":%."
                   "3f,\"wall_us_per_tx\":%.3f}\n",
                   NAMES[k], r, k == K_TBLOCK ? n / 4 : n, t[k][r], w[k][r]);
            fflush(stdout);
        }
        d_lua[r] = t[K_LUA][r] - t[K_PLAIN][r];
        d_c[r] = t[K_C][r] - t[K_PLAIN][r];
        d_tl[r] = t[K_TLUA][r] - t[K_TBLOCK][r];
    }
    printf("\n%-16s %14s %14s\n", "cell", "cpu us/tx", "wall us/tx");
    for (int k = 0; k < K_COUNT; k++)
        printf("%-16s %14.2f %14.2f\n", NAMES[k], median(t[k], runs), median(w[k], runs));
    printf("differences of CPU time (medians of the per-run differences):\n");
    printf("%-16s %12.2f\n", "lua - plain", median(d_lua, runs));
    printf("%-16s %12.2f\n", "c - plain", median(d_c, runs));
    printf("%-16s %12.2f\n", "t-lua - t-block", median(d_tl, runs));
    return 0;
}
