/*
 * test_txn_concurrency.c -- real threads on one real database: readers
 * summing balances on their own snapshots while writers move money with
 * :db/cas transfers.  Every snapshot must show the invariant total (a
 * transaction is all or nothing and a snapshot is consistent), snapshots
 * held across many writes must keep their values, and the final balances
 * must be exactly those the committed transfers imply.
 */
#include "dbutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ACCOUNTS = 100,
    START_BAL = 1000,
    TOTAL = ACCOUNTS * START_BAL,
    READERS = 4,
    WRITERS = 2,
    TRANSFERS_PER_WRITER = 200
};

static const char *SCHEMA = "{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :acct/bal {:db/valueType :db.type/long}}";

/* {====== Shared state ====== */

typedef struct transfer {
    int from, to; /* entity ids */
    int64_t amount;
} transfer;

typedef struct shared {
    dt_conn *conn;
    atomic_int writers_left;
    atomic_int failed;
    pthread_mutex_t mu;
    char first_error[512];
    /* per writer: the transfers it committed */
    transfer *done[WRITERS];
    size_t ndone[WRITERS];
    atomic_long conflicts;
    atomic_long reads;
} shared;

/* Records the first failure (cmocka asserts must stay on the main thread). */
static void thread_fail(shared *s, const char *fmt, ...) {
    pthread_mutex_lock(&s->mu);
    if (!atomic_load(&s->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->first_error, sizeof s->first_error, fmt, ap);
        va_end(ap);
    }
    atomic_store(&s->failed, 1);
    pthread_mutex_unlock(&s->mu);
}

/* }====== */

/* {====== Reading balances ====== */

/*
 * Reads every :acct/bal datom of `db` through AVE into bal[1..ACCOUNTS]
 * and their sum into *sum.  Returns 0, or -1 after recording a failure.
 */
static int read_balances(shared *s, dt_db *db, int64_t *bal, int64_t *sum) {
    dt_value a;
    if (dt_value_text(DT_KEYWORD, "acct/bal", 8, &a) != DT_OK) {
        thread_fail(s, "dt_value_text failed");
        return -1;
    }
    dt_datom_iter *it = NULL;
    int rc = dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it);
    dt_value_free(&a);
    if (rc != DT_OK) {
        thread_fail(s, "dt_db_datoms: %d %s", rc, dt_errmsg(db));
        return -1;
    }
    int seen = 0;
    *sum = 0;
    for (int i = 0; i <= ACCOUNTS; i++) bal[i] = INT64_MIN;
    dt_datom d;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (d.e < 1 || d.e > ACCOUNTS || d.v.type != DT_LONG || bal[d.e] != INT64_MIN) {
            thread_fail(s, "unexpected :acct/bal datom on entity %lld", (long long)d.e);
            dt_datom_iter_close(it);
            return -1;
        }
        bal[d.e] = d.v.u.i;
        *sum += d.v.u.i;
        seen++;
    }
    dt_datom_iter_close(it);
    if (rc != DT_DONE) {
        thread_fail(s, "iterating: %d", rc);
        return -1;
    }
    if (seen != ACCOUNTS) {
        thread_fail(s, "a snapshot shows %d balances, not %d", seen, ACCOUNTS);
        return -1;
    }
    return 0;
}

/* One account's balance in db (via EAV), or INT64_MIN after a failure. */
static int64_t balance_of(shared *s, dt_db *db, int e) {
    dt_value c[2];
    dt_value_long(e, &c[0]);
    if (dt_value_text(DT_KEYWORD, "acct/bal", 8, &c[1]) != DT_OK) return INT64_MIN;
    dt_datom_iter *it = NULL;
    int64_t v = INT64_MIN;
    int rc = dt_db_datoms(db, DT_INDEX_EAV, c, 2, &it);
    dt_value_free(&c[1]);
    if (rc != DT_OK) {
        thread_fail(s, "dt_db_datoms EAV: %s", dt_errmsg(db));
        return INT64_MIN;
    }
    dt_datom d;
    if (dt_datom_iter_next(it, &d) == DT_ROW && d.v.type == DT_LONG)
        v = d.v.u.i;
    else
        thread_fail(s, "account %d has no balance", e);
    dt_datom_iter_close(it);
    return v;
}

/* }====== */

/* {====== Threads ====== */

typedef struct reader_arg {
    shared *s;
    int index;
} reader_arg;

/*
 * A reader sums all balances on fresh snapshots until the writers are
 * done.  Reader 0 also keeps one snapshot for its whole run and checks
 * that it keeps returning exactly what it returned first.
 */
static void *reader_main(void *p) {
    reader_arg *ra = p;
    shared *s = ra->s;
    int64_t bal[ACCOUNTS + 1], first[ACCOUNTS + 1], sum;
    dt_db *held = NULL;
    if (ra->index == 0) {
        if (dt_conn_db(s->conn, &held) != DT_OK) {
            thread_fail(s, "dt_conn_db (held): %s", dt_errmsg(s->conn));
            return NULL;
        }
        if (read_balances(s, held, first, &sum) != 0) goto out;
    }
    int last_round = 0;
    while (!atomic_load(&s->failed)) {
        /* one more full pass after the writers finish */
        if (atomic_load(&s->writers_left) == 0) last_round = 1;
        dt_db *db = NULL;
        int rc = dt_conn_db(s->conn, &db);
        if (rc != DT_OK) {
            thread_fail(s, "dt_conn_db: %d %s", rc, dt_errmsg(s->conn));
            break;
        }
        rc = read_balances(s, db, bal, &sum);
        dt_db_close(db);
        if (rc != 0) break;
        if (sum != TOTAL) {
            thread_fail(s, "reader %d saw a total of %lld, not %d", ra->index, (long long)sum,
                        TOTAL);
            break;
        }
        atomic_fetch_add(&s->reads, 1);
        if (held) {
            if (read_balances(s, held, bal, &sum) != 0) break;
            if (memcmp(bal, first, sizeof bal) != 0) {
                thread_fail(s, "a held snapshot changed its values");
                break;
            }
        }
        if (last_round) break;
    }
out:
    dt_db_close(held);
    return NULL;
}

typedef struct writer_arg {
    shared *s;
    int index;
    uint64_t seed;
} writer_arg;

/*
 * A writer makes TRANSFERS_PER_WRITER transfers: read both balances on a
 * snapshot, then transact two :db/cas forms; a conflict (the other writer
 * got there first) is retried with fresh values.
 */
static void *writer_main(void *p) {
    writer_arg *wa = p;
    shared *s = wa->s;
    uint64_t rs = wa->seed;
    transfer *log = calloc(TRANSFERS_PER_WRITER, sizeof *log);
    if (!log) {
        thread_fail(s, "out of memory");
        goto out;
    }
    s->done[wa->index] = log;
    for (int n = 0; n < TRANSFERS_PER_WRITER && !atomic_load(&s->failed); n++) {
        int from = 1 + (int)(tu_rand(&rs) % ACCOUNTS), to;
        do to = 1 + (int)(tu_rand(&rs) % ACCOUNTS);
        while (to == from);
        int64_t amount = 1 + (int64_t)(tu_rand(&rs) % 50);
        for (int attempt = 0;; attempt++) {
            if (attempt > 1000) {
                thread_fail(s, "writer %d: no progress after 1000 conflicts", wa->index);
                goto out;
            }
            dt_db *db = NULL;
            if (dt_conn_db(s->conn, &db) != DT_OK) {
                thread_fail(s, "dt_conn_db: %s", dt_errmsg(s->conn));
                goto out;
            }
            int64_t bf = balance_of(s, db, from), bt = balance_of(s, db, to);
            dt_db_close(db);
            if (bf == INT64_MIN || bt == INT64_MIN) goto out;
            char tx[256];
            snprintf(tx, sizeof tx,
                     "[[:db/cas %d :acct/bal %lld %lld] [:db/cas %d :acct/bal %lld %lld]]", from,
                     (long long)bf, (long long)(bf - amount), to, (long long)bt,
                     (long long)(bt + amount));
            int rc = dt_transact(s->conn, tx, NULL);
            if (rc == DT_OK) break;
            if (rc != DT_CONFLICT) {
                thread_fail(s, "writer %d: transact %s: %d %s", wa->index, tx, rc,
                            dt_errmsg(s->conn));
                goto out;
            }
            atomic_fetch_add(&s->conflicts, 1);
        }
        log[s->ndone[wa->index]++] = (transfer){from, to, amount};
    }
out:
    atomic_fetch_sub(&s->writers_left, 1);
    return NULL;
}

/* }====== */

static void test_readers_see_consistent_totals_while_writers_transfer(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    assert_non_null(dir);
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    /* room for the pages a held snapshot keeps alive (the map would grow
     * otherwise, and growth waits for open snapshots) */
    o.kv.map_size = (uint64_t)512 << 20;
    shared s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    int rc = dt_conn_open(dir, SCHEMA, &o, &s.conn);
    if (rc != DT_OK) fail_msg("open: %s", dt_errmsg(NULL));

    /* 100 accounts of 1000 */
    char *tx = malloc(ACCOUNTS * 64 + 8), *p = tx;
    p += sprintf(p, "[");
    for (int i = 1; i <= ACCOUNTS; i++)
        p += sprintf(p, "{:db/id %d :acct/id %d :acct/bal %d}", i, i, START_BAL);
    sprintf(p, "]");
    tu_tx(s.conn, tx, DT_OK, 0);
    free(tx);
    dt_db *initial;
    assert_int_equal(dt_conn_db(s.conn, &initial), DT_OK);

    pthread_t rt[READERS], wt[WRITERS];
    reader_arg ra[READERS];
    writer_arg wa[WRITERS];
    atomic_store(&s.writers_left, WRITERS);
    for (int i = 0; i < READERS; i++) {
        ra[i] = (reader_arg){&s, i};
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &ra[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        wa[i] = (writer_arg){&s, i, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)};
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &wa[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(wt[i], NULL);
    for (int i = 0; i < READERS; i++) pthread_join(rt[i], NULL);
    if (atomic_load(&s.failed)) fail_msg("%s", s.first_error);
    print_message("concurrency: %ld snapshot sums, %ld cas conflicts retried\n",
                  (long)atomic_load(&s.reads), (long)atomic_load(&s.conflicts));
    assert_true(atomic_load(&s.reads) >= READERS);

    /* the final balances are exactly those the committed transfers imply */
    int64_t want[ACCOUNTS + 1], got[ACCOUNTS + 1], sum;
    for (int i = 1; i <= ACCOUNTS; i++) want[i] = START_BAL;
    for (int w = 0; w < WRITERS; w++) {
        assert_int_equal(s.ndone[w], TRANSFERS_PER_WRITER);
        for (size_t i = 0; i < s.ndone[w]; i++) {
            want[s.done[w][i].from] -= s.done[w][i].amount;
            want[s.done[w][i].to] += s.done[w][i].amount;
        }
        free(s.done[w]);
    }
    dt_db *db;
    assert_int_equal(dt_conn_db(s.conn, &db), DT_OK);
    assert_int_equal(read_balances(&s, db, got, &sum), 0);
    assert_int_equal(sum, TOTAL);
    for (int i = 1; i <= ACCOUNTS; i++)
        if (got[i] != want[i])
            fail_msg("account %d: balance %lld, transfers imply %lld", i, (long long)got[i],
                     (long long)want[i]);
    /* exactly one transaction per transfer, plus the initial one */
    assert_int_equal(dt_db_basis_tx(db), DT_TX0 + 1 + WRITERS * TRANSFERS_PER_WRITER);
    dt_db_close(db);

    /* the snapshot taken before any transfer still shows the start */
    assert_int_equal(read_balances(&s, initial, got, &sum), 0);
    for (int i = 1; i <= ACCOUNTS; i++) assert_int_equal(got[i], START_BAL);
    assert_int_equal(dt_db_basis_tx(initial), DT_TX0 + 1);
    dt_db_close(initial);

    assert_int_equal(dt_conn_close(s.conn), DT_OK);
    pthread_mutex_destroy(&s.mu);
    tu_rmdir_free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_see_consistent_totals_while_writers_transfer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
