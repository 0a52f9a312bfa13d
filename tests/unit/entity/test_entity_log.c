/*
 * test_entity_log.c -- the transaction log through the public API: ranges
 * of tx ids and of instants (inclusive ends, open ends, empty ranges), the
 * metadata of a transaction, retractions, retractEntity, bulk loads, and
 * misuse.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:user/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :user/name {:db/valueType :db.type/string}"
    " :user/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :user/friend {:db/valueType :db.type/ref}"
    " :app/user {:db/valueType :db.type/string}}";

TU_DB_FIXTURE(SCHEMA)

/* Jan 1, Feb 1, Mar 1 2020 in ms. */
#define JAN 1577836800000LL
#define FEB 1580515200000LL
#define MAR 1583020800000LL

static int64_t TX[3];

/* Three transactions with explicit instants: create two users (with
 * metadata on the transaction), update a name and a tag, retract an
 * entity. */
static void history(dt_conn *c) {
    const char *const txs[3] = {
        "[{:db/id \"a\" :user/email \"a@x\" :user/name \"A\" :user/tags [:p :q]}"
        " {:db/id \"b\" :user/email \"b@x\" :user/friend \"a\"}"
        " {:db/id \"datomic.tx\" :db/txInstant #inst \"2020-01-01T00:00:00.000Z\""
        "  :app/user \"ops\"}]",
        "[[:db/add 1 :user/name \"A2\"] [:db/retract 1 :user/tags :p]"
        " [:db/add :db/current-tx :db/txInstant #inst \"2020-02-01T00:00:00.000Z\"]]",
        "[[:db/retractEntity 1]"
        " [:db/add :db/current-tx :db/txInstant #inst \"2020-03-01T00:00:00.000Z\"]]"};
    tu_tx_all(c, txs, 3, TX);
}

/* One line per transaction: "t<i> inst meta | datoms..." where t<i> names
 * the transaction by its index in TX (or its id) and tx ids inside datoms
 * are shown as "tx". */
static char *render(dt_log *log) {
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    dt_log_tx t;
    int rc;
    while ((rc = dt_log_next(log, &t)) == DT_ROW) {
        int idx = -1;
        for (int i = 0; i < 3; i++)
            if (TX[i] == t.tx) idx = i;
        char *meta = tu_edn(t.meta);
        len += (size_t)snprintf(out + len, cap - len, "%st%d %lld %s |", len ? "\n" : "", idx,
                                (long long)t.instant, meta);
        free(meta);
        for (size_t i = 0; i < t.n_datoms; i++) {
            const dt_datom *d = &t.datoms[i];
            assert_int_equal(d->tx, t.tx);
            char *v = tu_edn(&d->v);
            char e[32];
            if (d->e == t.tx)
                snprintf(e, sizeof e, "tx");
            else
                snprintf(e, sizeof e, "%lld", (long long)d->e);
            len += (size_t)snprintf(out + len, cap - len, " [%s :%s %s %s]", e, d->a,
                                    d->e == t.tx && !strcmp(d->a, "db/txInstant") ? "inst" : v,
                                    d->added ? "true" : "false");
            free(v);
        }
    }
    assert_int_equal(rc, DT_DONE);
    assert_int_equal(dt_log_next(log, &t), DT_DONE); /* and again */
    return out;
}

static char *log_tx(dt_conn *c, int64_t from, int64_t to) {
    dt_db *db;
    dt_log *log;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_log_open(db, from, to, &log), DT_OK);
    char *s = render(log);
    dt_log_close(log);
    dt_db_close(db);
    return s;
}

static char *log_time(dt_conn *c, int64_t from, int64_t to) {
    dt_db *db;
    dt_log *log;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_log_open_time(db, from, to, &log), DT_OK);
    char *s = render(log);
    dt_log_close(log);
    dt_db_close(db);
    return s;
}

static void check(char *got, const char *want) {
    if (strcmp(got, want) != 0) fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
    assert_string_equal(got, want);
    free(got);
}

#define L0                                                                                         \
    "t0 1577836800000 {:db/txInstant #inst \"2020-01-01T00:00:00.000-00:00\", :app/user \"ops\"}"  \
    " | [1 :user/email \"a@x\" true] [1 :user/name \"A\" true] [1 :user/tags :p true]"             \
    " [1 :user/tags :q true] [2 :user/email \"b@x\" true] [2 :user/friend 1 true]"                 \
    " [tx :db/txInstant inst true] [tx :app/user \"ops\" true]"
#define L1                                                                                         \
    "t1 1580515200000 {:db/txInstant #inst \"2020-02-01T00:00:00.000-00:00\"}"                     \
    " | [1 :user/name \"A\" false] [1 :user/name \"A2\" true] [1 :user/tags :p false]"             \
    " [tx :db/txInstant inst true]"
#define L2                                                                                         \
    "t2 1583020800000 {:db/txInstant #inst \"2020-03-01T00:00:00.000-00:00\"}"                     \
    " | [1 :user/email \"a@x\" false] [1 :user/name \"A2\" false] [1 :user/tags :q false]"         \
    " [2 :user/friend 1 false] [tx :db/txInstant inst true]"

static void test_whole_log_lists_every_change_with_metadata(void **state) {
    dt_conn *c = C(state);
    history(c);
    check(log_tx(c, 0, 0), L0 "\n" L1 "\n" L2);
}

static void test_tx_ranges_are_inclusive_and_may_be_open(void **state) {
    dt_conn *c = C(state);
    history(c);
    check(log_tx(c, TX[1], TX[1]), L1);
    check(log_tx(c, TX[1], 0), L1 "\n" L2);
    check(log_tx(c, 0, TX[1]), L0 "\n" L1);
    check(log_tx(c, TX[0] + 1, TX[2] - 1), L1);
    /* empty ranges */
    check(log_tx(c, TX[2] + 1, 0), "");
    check(log_tx(c, TX[2], TX[0]), "");
    check(log_tx(c, 1, TX[0] - 1), "");
}

static void test_instant_ranges_filter_by_tx_instant(void **state) {
    dt_conn *c = C(state);
    history(c);
    check(log_time(c, FEB, FEB), L1);
    check(log_time(c, JAN + 1, MAR), L1 "\n" L2);
    check(log_time(c, INT64_MIN, FEB - 1), L0);
    check(log_time(c, INT64_MIN, INT64_MAX), L0 "\n" L1 "\n" L2);
    check(log_time(c, MAR + 1, INT64_MAX), "");
    check(log_time(c, FEB, JAN), "");
}

static void test_log_sees_only_its_snapshot(void **state) {
    dt_conn *c = C(state);
    history(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    tu_tx(c, "[[:db/add 2 :user/name \"B\"]]", DT_OK, 0);
    dt_log *log;
    assert_int_equal(dt_log_open(db, TX[2], 0, &log), DT_OK);
    check(render(log), L2);
    dt_log_close(log);
    dt_db_close(db);
    /* a fresh snapshot sees the new transaction, with its own instant */
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_log_open(db, TX[2] + 1, 0, &log), DT_OK);
    dt_log_tx t;
    assert_int_equal(dt_log_next(log, &t), DT_ROW);
    assert_int_equal(t.tx, TX[2] + 1);
    assert_true(t.instant > MAR);
    assert_int_equal(t.n_datoms, 2);
    assert_int_equal(t.datoms[0].e, 2);
    assert_string_equal(t.datoms[0].a, "user/name");
    assert_string_equal(t.datoms[0].v.u.s.ptr, "B");
    assert_int_equal(t.meta->type, DT_MAP);
    assert_int_equal(t.meta->u.seq.n, 2);
    assert_int_equal(dt_log_next(log, &t), DT_DONE);
    dt_log_close(log);
    dt_db_close(db);
}

static void test_bulk_load_entry_reports_its_count(void **state) {
    dt_conn *c = C(state);
    dt_loader *ld;
    assert_int_equal(dt_loader_open(c, DT_LOAD_INIT, NULL, &ld), DT_OK);
    dt_value v;
    dt_value_text(DT_STRING, "x", 1, &v);
    assert_int_equal(dt_loader_add(ld, 1, "user/name", &v), DT_OK);
    assert_int_equal(dt_loader_add(ld, 2, "user/name", &v), DT_OK);
    dt_value_free(&v);
    uint64_t n;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    dt_loader_close(ld);
    dt_db *db;
    dt_log *log;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_log_open(db, 0, 0, &log), DT_OK);
    dt_log_tx t;
    assert_int_equal(dt_log_next(log, &t), DT_ROW);
    char *m = tu_edn(t.meta);
    assert_string_equal(m, "{:bulk-load 2}");
    free(m);
    assert_int_equal(t.n_datoms, 0);
    assert_true(t.instant > 0);
    assert_int_equal(dt_log_next(log, &t), DT_DONE);
    dt_log_close(log);
    dt_db_close(db);
}

static void test_log_misuse(void **state) {
    dt_conn *c = C(state);
    dt_log *log = (dt_log *)1;
    assert_int_equal(dt_log_open(NULL, 0, 0, &log), DT_MISUSE);
    assert_null(log);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_log_open(db, 0, 0, NULL), DT_MISUSE);
    assert_int_equal(dt_log_open_time(db, 0, 0, NULL), DT_MISUSE);
    dt_log_tx t;
    assert_int_equal(dt_log_next(NULL, &t), DT_MISUSE);
    /* an empty database has an empty log */
    assert_int_equal(dt_log_open(db, 0, 0, &log), DT_OK);
    assert_int_equal(dt_log_next(log, &t), DT_DONE);
    assert_int_equal(dt_log_next(log, NULL), DT_MISUSE);
    dt_log_close(log);
    dt_log_close(NULL);
    dt_db_close(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_whole_log_lists_every_change_with_metadata),
        T(test_tx_ranges_are_inclusive_and_may_be_open),
        T(test_instant_ranges_filter_by_tx_instant),
        T(test_log_sees_only_its_snapshot),
        T(test_bulk_load_entry_reports_its_count),
        T(test_log_misuse),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
