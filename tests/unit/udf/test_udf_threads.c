/*
 * test_udf_threads.c -- Lua and C transaction functions called from many
 * threads at once, sync and async: each call is atomic (read-check-write
 * inside the transaction), so counters end exact, transfers conserve the
 * total, and refused overdrafts change nothing.  Runs under
 * ThreadSanitizer in CI (label threads).
 */
#include "udfutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA = "{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :acct/balance {:db/valueType :db.type/long}"
                            " :ctr/n {:db/valueType :db.type/long}}";

#define THREADS 4
#define CALLS   600
#define ACCTS   8

static const char *INCR = "return function(db, e)\n"
                          "  local x = db:entity(e)\n"
                          "  return {dt.add(e, 'ctr/n', x['ctr/n'] + 1)}\n"
                          "end";

static const char *TRANSFER =
    "return function(db, from, to, amount)\n"
    "  local a = db:entity({dt.kw'acct/id', from})\n"
    "  local b = db:entity({dt.kw'acct/id', to})\n"
    "  if a['acct/balance'] < amount then error('overdraft') end\n"
    "  return {dt.add(a['db/id'], 'acct/balance', a['acct/balance'] - amount),\n"
    "          dt.add(b['db/id'], 'acct/balance', b['acct/balance'] + amount)}\n"
    "end";

/* The C twin of INCR. */
static int c_incr(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 1) return dt_errmsg_set(db, DT_INVALID, "one argument");
    dt_value comps[2];
    comps[0] = args[0];
    dt_value_text(DT_KEYWORD, "ctr/n", 5, &comps[1]);
    dt_datom_iter *it = NULL;
    int rc = dt_db_datoms(db, DT_INDEX_EAV, comps, 2, &it);
    dt_value_free(&comps[1]);
    if (rc != DT_OK) return rc;
    dt_datom d;
    int64_t n = 0;
    if ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) n = d.v.u.i;
    dt_datom_iter_close(it);
    char text[128];
    snprintf(text, sizeof text, "[[:db/add %lld :ctr/n %lld]]", (long long)args[0].u.i,
             (long long)(n + 1));
    return dt_edn_read(text, strlen(text), out);
}

static const dt_fn_def FNS[] = {{"c/incr", DT_FN_C, c_incr, NULL, NULL, NULL, NULL}};

typedef struct worker {
    dt_conn *conn;
    int id;
    _Atomic int *refused;
} worker;

static void *run(void *p) {
    worker *w = p;
    uint64_t rnd = (uint64_t)w->id * 7919 + 1;
    dt_future **fs = calloc(CALLS, sizeof *fs);
    for (int i = 0; i < CALLS; i++) {
        char tx[128];
        int kind = i % 3;
        if (kind == 0)
            snprintf(tx, sizeof tx, "[[:t/incr 1]]");
        else if (kind == 1)
            snprintf(tx, sizeof tx, "[[:c/incr 2]]");
        else {
            int from = (int)(tu_rand(&rnd) % ACCTS);
            int to = (from + 1 + (int)(tu_rand(&rnd) % (ACCTS - 1))) % ACCTS;
            snprintf(tx, sizeof tx, "[[:t/transfer %d %d %d]]", from, to,
                     (int)(tu_rand(&rnd) % 300));
        }
        if (i % 50 == 49) { /* now and then a synchronous call */
            int rc = dt_transact(w->conn, tx, NULL);
            if (rc == DT_TXFN)
                atomic_fetch_add(w->refused, 1);
            else if (rc != DT_OK)
                fail_msg("sync: %s", dt_errmsg(w->conn));
            continue;
        }
        if (dt_transact_async(w->conn, tx, NULL, NULL, &fs[i]) != DT_OK)
            fail_msg("async: %s", dt_errmsg(w->conn));
    }
    for (int i = 0; i < CALLS; i++) {
        if (!fs[i]) continue;
        int rc = dt_future_wait(fs[i]);
        if (rc == DT_TXFN) {
            if (!strstr(dt_future_errmsg(fs[i]), "overdraft"))
                fail_msg("unexpected: %s", dt_future_errmsg(fs[i]));
            atomic_fetch_add(w->refused, 1);
        } else if (rc != DT_OK) {
            fail_msg("async rc %d: %s", rc, dt_future_errmsg(fs[i]));
        }
        dt_future_free(fs[i]);
    }
    free(fs);
    return NULL;
}

static int64_t sum_attr(dt_conn *c, const char *attr, uint64_t *count) {
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value a;
    dt_value_text(DT_KEYWORD, attr, strlen(attr), &a);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    dt_datom d;
    int64_t s = 0;
    *count = 0;
    while (dt_datom_iter_next(it, &d) == DT_ROW) {
        s += d.v.u.i;
        (*count)++;
        assert_true(d.v.u.i >= 0);
    }
    dt_datom_iter_close(it);
    dt_value_free(&a);
    dt_db_close(db);
    return s;
}

static void test_many_threads(void **state) {
    (void)state;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags |= DT_KV_NOSYNC;
    o.fns = FNS;
    o.nfns = 1;
    tu_db *d = uu_open(SCHEMA, &o);
    dt_conn *c = d->conn;
    tu_tx(c, "[{:db/id 1 :ctr/n 0} {:db/id 2 :ctr/n 0}]", DT_OK, 0);
    char tx[2048] = "[";
    for (int i = 0; i < ACCTS; i++)
        snprintf(tx + strlen(tx), sizeof tx - strlen(tx), "{:acct/id %d :acct/balance 1000}", i);
    strcat(tx, "]");
    tu_tx(c, tx, DT_OK, 0);
    uu_install(c, "t/incr", INCR);
    uu_install(c, "t/transfer", TRANSFER);
    pthread_t th[THREADS];
    worker w[THREADS];
    _Atomic int refused = 0;
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){c, i, &refused};
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    uint64_t n;
    assert_int_equal(sum_attr(c, "acct/balance", &n), 1000 * ACCTS);
    assert_int_equal(n, ACCTS);
    /* counters: exactly one increment per call */
    int per = (CALLS + 2) / 3;
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char *dump = tu_dump_db(db, 0);
    dt_db_close(db);
    char want[64];
    snprintf(want, sizeof want, "[1 :ctr/n %d]", per * THREADS);
    if (!strstr(dump, want)) fail_msg("want %s in\n%s", want, dump);
    snprintf(want, sizeof want, "[2 :ctr/n %d]", (CALLS / 3) * THREADS);
    if (!strstr(dump, want)) fail_msg("want %s in\n%s", want, dump);
    free(dump);
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
