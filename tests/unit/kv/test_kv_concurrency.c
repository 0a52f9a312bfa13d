/* test_kv_concurrency.c -- four reader threads check snapshot consistency
 * (a constant total across accounts) while a writer commits transfers and
 * grows the map underneath them. */
#include "kvtest.h"

#include <pthread.h>
#include <stdatomic.h>

enum { ACCOUNTS = 64, START = 1000, TRANSFERS = 1500, READERS = 4 };

typedef struct shared {
    dt_kv *kv;
    dt_kv_dbi acct, filler;
    atomic_int done;
    atomic_long snapshots;
    atomic_int errors;
} shared;

static void *reader(void *arg) {
    shared *s = arg;
    int iter_mode = 0;
    while (!atomic_load(&s->done) || iter_mode < 2) {
        int64_t sum = 0;
        int n = 0, rc;
        dt_kv_bytes k, v;
        dt_kv_txn *t = NULL;
        dt_kv_iter *it;
        /* alternate: an iterator with its own snapshot, and one in an
         * explicit read txn plus a point read */
        if (iter_mode++ % 2 == 0) {
            rc = dt_kv_iter_open(s->kv, NULL, s->acct, NULL, &it);
        } else {
            rc = dt_kv_txn_begin(s->kv, DT_KV_TXN_RDONLY, &t);
            if (rc == DT_OK) rc = dt_kv_iter_open(s->kv, t, s->acct, NULL, &it);
        }
        if (rc != DT_OK) {
            atomic_fetch_add(&s->errors, 1);
            dt_kv_txn_abort(t);
            break;
        }
        while ((rc = dt_kv_iter_next(it, &k, &v)) == DT_ROW) {
            int64_t b;
            memcpy(&b, v.ptr, sizeof b);
            sum += b;
            n++;
        }
        dt_kv_iter_close(it);
        if (t) {
            if (dt_kv_get_view(s->kv, t, s->acct, "a00", 3, &v) != DT_OK)
                atomic_fetch_add(&s->errors, 1);
            dt_kv_txn_abort(t);
        }
        if (rc != DT_DONE || n != ACCOUNTS || sum != (int64_t)ACCOUNTS * START) {
            atomic_fetch_add(&s->errors, 1);
            break;
        }
        atomic_fetch_add(&s->snapshots, 1);
    }
    return NULL;
}

typedef struct xfer {
    shared *s;
    int from, to, amount, seq;
} xfer;

static int xfer_fn(dt_kv_txn *t, void *ud) {
    xfer *x = ud;
    char kf[8], kt[8];
    snprintf(kf, sizeof kf, "a%02d", x->from);
    snprintf(kt, sizeof kt, "a%02d", x->to);
    dt_kv_bytes v;
    int64_t bf, bt;
    int rc;
    if ((rc = dt_kv_get_view(x->s->kv, t, x->s->acct, kf, 3, &v)) != DT_OK) return rc;
    memcpy(&bf, v.ptr, 8);
    if ((rc = dt_kv_get_view(x->s->kv, t, x->s->acct, kt, 3, &v)) != DT_OK) return rc;
    memcpy(&bt, v.ptr, 8);
    bf -= x->amount;
    bt += x->amount;
    if ((rc = dt_kv_put(x->s->kv, t, x->s->acct, kf, 3, &bf, 8, 0)) != DT_OK) return rc;
    /* filler data between the two halves makes the map grow mid-transfer */
    char fk[16], fv[700];
    memset(fv, 'f', sizeof fv);
    snprintf(fk, sizeof fk, "f%08d", x->seq);
    if ((rc = dt_kv_put(x->s->kv, t, x->s->filler, fk, strlen(fk), fv, sizeof fv, 0)) != DT_OK)
        return rc;
    return dt_kv_put(x->s->kv, t, x->s->acct, kt, 3, &bt, 8, 0);
}

static void test_readers_see_consistent_snapshots_while_writer_commits(void **state) {
    kvfix *f = *state;
    assert_int_equal(dt_kv_close(f->kv), DT_OK);
    f->kv = NULL;
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    o.map_size = 64 << 10;
    o.flags = DT_KV_NOSYNC;
    assert_int_equal(kvfix_open(f, &o), 0);
    shared s;
    memset(&s, 0, sizeof s);
    s.kv = f->kv;
    assert_int_equal(dt_kv_dbi_open(f->kv, "acct", DT_KV_DBI_CREATE, &s.acct), DT_OK);
    s.filler = f->db;
    for (int i = 0; i < ACCOUNTS; i++) {
        char k[8];
        int64_t b = START;
        snprintf(k, sizeof k, "a%02d", i);
        assert_int_equal(dt_kv_put(f->kv, NULL, s.acct, k, 3, &b, 8, 0), DT_OK);
    }
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) assert_int_equal(pthread_create(&th[i], NULL, reader, &s), 0);
    uint64_t seed = 7;
    for (int i = 0; i < TRANSFERS; i++) {
        xfer x = {&s, (int)(tu_rand(&seed) % ACCOUNTS), 0, (int)(tu_rand(&seed) % 100), i};
        x.to = (x.from + 1 + (int)(tu_rand(&seed) % (ACCOUNTS - 1))) % ACCOUNTS;
        assert_int_equal(dt_kv_with_txn(f->kv, xfer_fn, &x), DT_OK);
    }
    atomic_store(&s.done, 1);
    for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&s.errors), 0);
    assert_true(atomic_load(&s.snapshots) >= READERS * 2);
    dt_kv_envstat st;
    assert_int_equal(dt_kv_stat(f->kv, &st), DT_OK);
    assert_true(st.map_size > (1u << 20)); /* it grew while readers ran */
    uint64_t n;
    assert_int_equal(dt_kv_range_count(f->kv, NULL, f->db, NULL, &n), DT_OK);
    assert_int_equal(n, TRANSFERS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readers_see_consistent_snapshots_while_writer_commits,
                                        kv_setup, kv_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
