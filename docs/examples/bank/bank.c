/*
 * bank.c -- an example host application: a bank whose transfers are a
 * stored Lua transaction function.
 *
 * It opens (creating) a database, declares accounts, installs
 * :bank/transfer (it reads both balances inside the write transaction
 * and refuses an overdraft), then THREADS threads each submit TRANSFERS
 * random transfers with dt_transact_async and wait for them.  At the end
 * the total of all balances must be what it was, no balance may be
 * negative, and every refused transfer must have been refused for an
 * overdraft.  Exit status 0 when all of that holds.
 *
 * Usage: bank [DIR [THREADS [TRANSFERS]]]   (defaults: a temporary
 * directory, also for DIR "-"; 8 threads, 10000 transfers each)
 *
 * Only the public header is used: build it like any Datolite program,
 *     cc bank.c -o bank $(pkg-config --cflags --libs datolite) -lpthread
 */
#include <datolite.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ACCOUNTS 16
#define OPENING  1000 /* each account's opening balance */

static const char *SCHEMA = "{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :acct/balance {:db/valueType :db.type/long}}";

/* The transfer, as stored in the database.  It runs inside the write
 * transaction: no other write can slip between the read and the write. */
static const char *TRANSFER =
    "return function(db, from, to, amount)\n"
    "  local a = db:entity({dt.kw'acct/id', from})\n"
    "  local b = db:entity({dt.kw'acct/id', to})\n"
    "  if not a or not b then error('no such account') end\n"
    "  local have = a['acct/balance']\n"
    "  if have < amount then\n"
    "    error(('overdraft: account %d has %d, cannot send %d'):format(from, have, amount))\n"
    "  end\n"
    "  return {dt.add(a['db/id'], 'acct/balance', have - amount),\n"
    "          dt.add(b['db/id'], 'acct/balance', b['acct/balance'] + amount)}\n"
    "end\n";

typedef struct worker {
    dt_conn *conn;
    int id, transfers;
    _Atomic long done, refused, failed;
} worker;

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Called by the writer thread when a transfer is durable or refused. */
static void on_done(int rc, const dt_report *report, void *userdata) {
    (void)report;
    worker *w = userdata;
    if (rc == DT_OK)
        atomic_fetch_add(&w->done, 1);
    else if (rc == DT_TXFN)
        atomic_fetch_add(&w->refused, 1);
    else
        atomic_fetch_add(&w->failed, 1);
}

static void *run(void *arg) {
    worker *w = arg;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
    dt_future **fs = calloc((size_t)w->transfers, sizeof *fs);
    if (!fs) return NULL;
    for (int i = 0; i < w->transfers; i++) {
        dt_value args[3];
        int from = (int)(next_rand(&seed) % ACCOUNTS);
        int to = (from + 1 + (int)(next_rand(&seed) % (ACCOUNTS - 1))) % ACCOUNTS;
        dt_value_long(from, &args[0]);
        dt_value_long(to, &args[1]);
        dt_value_long((int64_t)(next_rand(&seed) % 400) + 1, &args[2]);
        int rc = dt_call_async(w->conn, "bank/transfer", args, 3, on_done, w, &fs[i]);
        if (rc != DT_OK) {
            fprintf(stderr, "bank: submit: %s\n", dt_errmsg(w->conn));
            atomic_fetch_add(&w->failed, 1);
        }
    }
    for (int i = 0; i < w->transfers; i++) {
        if (!fs[i]) continue;
        int rc = dt_future_wait(fs[i]);
        if (rc == DT_TXFN && !strstr(dt_future_errmsg(fs[i]), "overdraft")) {
            fprintf(stderr, "bank: refused for another reason: %s\n", dt_future_errmsg(fs[i]));
            atomic_fetch_add(&w->failed, 1);
        }
        dt_future_free(fs[i]);
    }
    free(fs);
    return NULL;
}

/* Sum and minimum of all balances in a fresh snapshot. */
static int balances(dt_conn *conn, int64_t *sum, int64_t *min, long *n) {
    dt_db *db = NULL;
    int rc = dt_conn_db(conn, &db);
    if (rc != DT_OK) return rc;
    dt_value attr;
    dt_value_text(DT_KEYWORD, "acct/balance", 12, &attr);
    dt_datom_iter *it = NULL;
    rc = dt_db_datoms(db, DT_INDEX_AVE, &attr, 1, &it);
    dt_value_free(&attr);
    *sum = 0;
    *min = INT64_MAX;
    *n = 0;
    dt_datom d;
    while (rc == DT_OK && (rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        *sum += d.v.u.i;
        if (d.v.u.i < *min) *min = d.v.u.i;
        (*n)++;
        rc = DT_OK;
    }
    dt_datom_iter_close(it);
    dt_db_close(db);
    return rc == DT_DONE ? DT_OK : rc;
}

int main(int argc, char **argv) {
    char tmp[] = "/tmp/datolite-bank.XXXXXX";
    int own_dir = argc <= 1 || !strcmp(argv[1], "-");
    const char *dir = own_dir ? mkdtemp(tmp) : argv[1];
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    int transfers = argc > 3 ? atoi(argv[3]) : 10000;
    if (!dir || threads < 1 || threads > 256 || transfers < 1) {
        fprintf(stderr, "usage: bank [DIR [THREADS [TRANSFERS]]]\n");
        return 1;
    }
    dt_conn *conn = NULL;
    if (dt_conn_open(dir, SCHEMA, NULL, &conn) != DT_OK) {
        fprintf(stderr, "bank: open %s: %s\n", dir, dt_errmsg(NULL));
        return 1;
    }
    /* accounts, then the function: both ordinary transactions */
    char tx[4096] = "[";
    for (int i = 0; i < ACCOUNTS; i++)
        snprintf(tx + strlen(tx), sizeof tx - strlen(tx), "{:acct/id %d :acct/balance %d}", i,
                 OPENING);
    strcat(tx, "]");
    int rc = dt_transact(conn, tx, NULL);
    dt_value install = {0}, m = {0};
    if (rc == DT_OK && (rc = dt_value_seq(DT_VECTOR, 1, &install)) == DT_OK &&
        (rc = dt_value_seq(DT_MAP, 4, &m)) == DT_OK) {
        dt_value_text(DT_KEYWORD, "db/ident", 8, &m.u.seq.items[0]);
        dt_value_text(DT_KEYWORD, "bank/transfer", 13, &m.u.seq.items[1]);
        dt_value_text(DT_KEYWORD, "db/fn", 5, &m.u.seq.items[2]);
        dt_value_text(DT_STRING, TRANSFER, strlen(TRANSFER), &m.u.seq.items[3]);
        install.u.seq.items[0] = m;
        rc = dt_transact_value(conn, &install, NULL);
        dt_value_free(&install);
    }
    if (rc != DT_OK) {
        fprintf(stderr, "bank: setup: %s\n", dt_errmsg(conn));
        dt_conn_close(conn);
        return 1;
    }
    int64_t sum0, min0;
    long n0;
    balances(conn, &sum0, &min0, &n0);

    worker *ws = calloc((size_t)threads, sizeof *ws);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < threads; i++) {
        ws[i].conn = conn;
        ws[i].id = i;
        ws[i].transfers = transfers;
        pthread_create(&th[i], NULL, run, &ws[i]);
    }
    long done = 0, refused = 0, failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        done += ws[i].done;
        refused += ws[i].refused;
        failed += ws[i].failed;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    int64_t sum, min;
    long n;
    rc = balances(conn, &sum, &min, &n);
    printf("bank: %d threads x %d transfers in %.2f s (%.0f/s): %ld done, %ld refused "
           "(overdraft), %ld failed\n",
           threads, transfers, secs, (double)threads * transfers / secs, done, refused, failed);
    printf("bank: %ld accounts, total %lld (was %lld), lowest balance %lld\n", n, (long long)sum,
           (long long)sum0, (long long)min);
    int ok = rc == DT_OK && sum == sum0 && n == ACCOUNTS && min >= 0 && failed == 0 &&
             done + refused == (long)threads * transfers && refused > 0;
    free(ws);
    free(th);
    if (dt_conn_close(conn) != DT_OK) ok = 0;
    if (own_dir) { /* our temporary directory */
        char path[256];
        snprintf(path, sizeof path, "%s/data.mdb", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/lock.mdb", dir);
        unlink(path);
        rmdir(dir);
    }
    printf("bank: %s\n", ok ? "ok: total conserved, overdrafts refused" : "FAILED");
    return ok ? 0 : 1;
}
