/*
 * test_entity_threads.c -- entities read by several threads while writers
 * commit staged entities: every reader sees, in each of its snapshots, a
 * consistent entity (a counter equal to the size of its log set, the log
 * holding exactly 1..n), counters that never go back, and the writers'
 * changes all arrive.
 */
#include "dbutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:c/name {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :c/n {:db/valueType :db.type/long}"
    " :c/log {:db/valueType :db.type/long"
    "         :db/cardinality :db.cardinality/many}}";

#define WRITERS 2
#define READERS 3
#define STEPS   60

typedef struct shared {
    dt_conn *conn;
    _Atomic int writers_done;
    int failures;
    pthread_mutex_t mu;
} shared;

typedef struct warg {
    shared *sh;
    int id;
} warg;

static void note_fail(shared *sh, const char *what, const char *msg) {
    pthread_mutex_lock(&sh->mu);
    sh->failures++;
    fprintf(stderr, "%s: %s\n", what, msg);
    pthread_mutex_unlock(&sh->mu);
}

static void *writer(void *p) {
    warg *w = p;
    shared *sh = w->sh;
    char name[16];
    snprintf(name, sizeof name, "c%d", w->id);
    dt_value ref;
    dt_value_seq(DT_VECTOR, 2, &ref);
    dt_value_text(DT_KEYWORD, "c/name", 6, &ref.u.seq.items[0]);
    dt_value_text(DT_STRING, name, strlen(name), &ref.u.seq.items[1]);
    for (int i = 1; i <= STEPS; i++) {
        dt_db *db;
        dt_entity *e;
        if (dt_conn_db(sh->conn, &db) != DT_OK) {
            note_fail(sh, "writer db", dt_errmsg(sh->conn));
            break;
        }
        if (dt_entity_get(db, &ref, &e) != DT_OK) {
            note_fail(sh, "writer entity", dt_errmsg(db));
            dt_db_close(db);
            break;
        }
        int64_t n = -1;
        dt_entity_get_long(e, ":c/n", &n);
        dt_value v;
        dt_value_long(n + 1, &v);
        if (n != i - 1 || dt_entity_assoc(e, ":c/n", &v) != DT_OK ||
            dt_entity_add(e, ":c/log", &v) != DT_OK) {
            note_fail(sh, "writer stage", n != i - 1 ? "counter out of step" : dt_errmsg(e));
        } else if (dt_transact_entity(sh->conn, e, NULL) != DT_OK) {
            note_fail(sh, "writer transact", dt_errmsg(sh->conn));
        }
        dt_entity_close(e);
        dt_db_close(db);
    }
    dt_value_free(&ref);
    return NULL;
}

/* Checks one snapshot; returns the counters seen in last[]. */
static void check_snapshot(shared *sh, int64_t last[WRITERS]) {
    dt_db *db;
    if (dt_conn_db(sh->conn, &db) != DT_OK) {
        note_fail(sh, "reader db", dt_errmsg(sh->conn));
        return;
    }
    for (int w = 0; w < WRITERS; w++) {
        char ref[32];
        snprintf(ref, sizeof ref, "[:c/name \"c%d\"]", w);
        dt_value r;
        dt_edn_read(ref, strlen(ref), &r);
        dt_entity *e;
        if (dt_entity_get(db, &r, &e) != DT_OK) {
            note_fail(sh, "reader entity", dt_errmsg(db));
            dt_value_free(&r);
            continue;
        }
        dt_value_free(&r);
        int64_t n;
        dt_value log;
        int rc = dt_entity_get_long(e, ":c/n", &n);
        int rl = dt_entity_attr(e, "c/log", &log);
        if (rc != DT_OK) {
            note_fail(sh, "reader n", dt_errmsg(e));
        } else if (n < last[w]) {
            note_fail(sh, "reader", "a counter went back");
        } else if (n == 0 ? rl != DT_NOTFOUND : rl != DT_OK || log.u.seq.n != (size_t)n) {
            note_fail(sh, "reader", "counter and log disagree within one snapshot");
        } else {
            for (int64_t i = 0; i < n; i++)
                if (log.u.seq.items[i].u.i != i + 1) note_fail(sh, "reader", "log is not 1..n");
            last[w] = n;
        }
        dt_value_free(&log);
        dt_entity_close(e);
    }
    dt_db_close(db);
}

static void *reader(void *p) {
    shared *sh = p;
    int64_t last[WRITERS] = {0};
    while (!sh->writers_done) check_snapshot(sh, last);
    check_snapshot(sh, last);
    for (int w = 0; w < WRITERS; w++)
        if (last[w] != STEPS) note_fail(sh, "reader", "the last snapshot lacks writes");
    return NULL;
}

static void test_readers_see_consistent_entities_while_writers_commit(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[{:c/name \"c0\" :c/n 0} {:c/name \"c1\" :c/n 0}]", DT_OK, 0);
    shared sh = {.conn = d->conn};
    pthread_mutex_init(&sh.mu, NULL);
    pthread_t wt[WRITERS], rt[READERS];
    warg wa[WRITERS];
    for (int i = 0; i < READERS; i++) pthread_create(&rt[i], NULL, reader, &sh);
    for (int i = 0; i < WRITERS; i++) {
        wa[i].sh = &sh;
        wa[i].id = i;
        pthread_create(&wt[i], NULL, writer, &wa[i]);
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(wt[i], NULL);
    sh.writers_done = 1;
    for (int i = 0; i < READERS; i++) pthread_join(rt[i], NULL);
    assert_int_equal(sh.failures, 0);
    /* the log holds every writer transaction: 1 + WRITERS * STEPS */
    dt_db *db;
    dt_log *log;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    assert_int_equal(dt_log_open(db, 0, 0, &log), DT_OK);
    int n = 0;
    dt_log_tx t;
    while (dt_log_next(log, &t) == DT_ROW) n++;
    assert_int_equal(n, 1 + WRITERS * STEPS);
    dt_log_close(log);
    dt_db_close(db);
    pthread_mutex_destroy(&sh.mu);
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_see_consistent_entities_while_writers_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
