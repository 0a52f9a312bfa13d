/*
 * test_txn_history_gc.c -- keeping history bounded: dt_history_gc (which
 * entries it drops, the watermark and its persistence, batches, bad
 * arguments, misuse) and :db/noHistory (no history entry for retractions
 * and replacements of such an attribute; changing it affects later
 * writes only).  History entries are read straight from dt/history.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "index.h"

static const char *SCHEMA =
    "{:p/name {:db/valueType :db.type/string}"
    " :p/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :p/secret {:db/valueType :db.type/string :db/noHistory true}"
    " :p/pins {:db/valueType :db.type/long :db/cardinality :db.cardinality/many"
    "          :db/noHistory true}}";

TU_DB_FIXTURE(SCHEMA)

/* Every history entry as "[e :attr value tN rtN]" lines, sorted, where tN
 * is the transaction number (id minus 2^42) of the assertion and rtN of
 * the retraction; malloc'd. */
static char *history_dump(dt_conn *c) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    const dl_store *st = dl_db_store(db);
    dt_kv_txn *txn = dl_db_txn(db);
    const dl_schema *s = dl_db_schema(db);
    dl_scan sc;
    assert_int_equal(dl_scan_open(&sc, txn, st->history, NULL, 0, 0), DT_OK);
    tu_lines l = {0};
    dt_kv_bytes k, v;
    int rc;
    while ((rc = dl_scan_next(&sc, &k, &v)) == DT_ROW) {
        dl_datom d;
        int64_t rtx, tx;
        assert_int_equal(dl_key_parse_history(k.ptr, k.len, &d, &rtx), DT_OK);
        assert_int_equal(dl_index_val_parse(v.ptr, v.len, &tx), DT_OK);
        dt_value val = DT_VALUE_NIL;
        assert_int_equal(dl_value_decode_key(st, txn, d.aid, d.v, d.vlen, &val), DT_OK);
        char *vs = tu_edn(&val);
        dt_value_free(&val);
        const dl_attr *a = dl_schema_by_aid(s, d.aid);
        assert_non_null(a);
        char buf[256];
        snprintf(buf, sizeof buf, "[%lld :%s %s t%lld rt%lld]", (long long)d.e, a->ident, vs,
                 (long long)(tx - DT_TX0), (long long)(rtx - DT_TX0));
        free(vs);
        tu_lines_add(&l, strdup(buf));
    }
    assert_int_equal(rc, DT_DONE);
    dl_scan_close(&sc);
    dt_db_close(db);
    return tu_lines_join(&l);
}

static void assert_history(dt_conn *c, const char *want) {
    char *got = history_dump(c);
    if (strcmp(got, want) != 0) fail_msg("history:\n%s\nwanted:\n%s", got, want);
    free(got);
}

static int64_t floor_of(dt_conn *c) {
    dt_db *db = NULL;
    int64_t f = -1;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_db_history_floor(db, &f), DT_OK);
    dt_db_close(db);
    return f;
}

static int64_t T(int n) { return DT_TX0 + n; }

/* Collects history before `before`, asserting success and the number of
 * entries dropped. */
static void assert_gc(dt_conn *c, int64_t before, uint64_t want_dropped) {
    uint64_t dropped = UINT64_MAX;
    assert_int_equal(dt_history_gc(c, before, &dropped), DT_OK);
    assert_int_equal(dropped, want_dropped);
}

/* Four transactions after the schema's (t0): t1 creates entity 1, t2
 * replaces its name, t3 retracts a tag, t4 replaces the name again. */
static void updates(dt_conn *c) {
    tu_tx(c, "[{:db/id \"a\" :p/name \"A\" :p/tags [:x :y]}]", DT_OK, 0);
    tu_tx(c, "[[:db/add 1 :p/name \"B\"]]", DT_OK, 0);
    tu_tx(c, "[[:db/retract 1 :p/tags :x]]", DT_OK, 0);
    tu_tx(c, "[[:db/add 1 :p/name \"C\"]]", DT_OK, 0);
}

static const char *CURRENT = "[1 :p/name \"C\"]\n[1 :p/tags :y]";

static void test_gc_drops_entries_retracted_before_the_watermark(void **state) {
    dt_conn *c = C(state);
    updates(c);
    assert_int_equal(floor_of(c), 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]\n[1 :p/name \"B\" t2 rt4]\n[1 :p/tags :x t1 rt3]");
    /* retracted by t2 < t3: dropped; by t3 and t4: kept */
    assert_gc(c, T(3), 1);
    assert_history(c, "[1 :p/name \"B\" t2 rt4]\n[1 :p/tags :x t1 rt3]");
    tu_assert_dump(c, CURRENT);
    assert_int_equal(floor_of(c), T(3));
    /* the log keeps every transaction, the dropped retraction included */
    dt_db *db = NULL;
    dt_log *log = NULL;
    dt_log_tx t;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_log_open(db, T(2), T(2), &log), DT_OK);
    assert_int_equal(dt_log_next(log, &t), DT_ROW);
    size_t retracted = 0;
    for (size_t i = 0; i < t.n_datoms; i++) retracted += !t.datoms[i].added;
    assert_int_equal(retracted, 1);
    dt_log_close(log);
    dt_db_close(db);
}

static void test_gc_watermark_survives_reopen(void **state) {
    tu_db *d = *state;
    updates(d->conn);
    assert_int_equal(dt_history_gc(d->conn, T(4), NULL), DT_OK);
    tu_db_reopen(d);
    assert_int_equal(floor_of(d->conn), T(4));
    assert_history(d->conn, "[1 :p/name \"B\" t2 rt4]");
    tu_assert_dump(d->conn, CURRENT);
    /* and writes after it keep their history */
    tu_tx(d->conn, "[[:db/retract 1 :p/tags :y]]", DT_OK, 0);
    assert_history(d->conn, "[1 :p/name \"B\" t2 rt4]\n[1 :p/tags :y t1 rt5]");
}

static void test_gc_never_moves_the_watermark_back(void **state) {
    dt_conn *c = C(state);
    updates(c);
    assert_gc(c, T(4), 2);
    /* lower and equal watermarks: accepted, nothing more to drop */
    assert_gc(c, T(2), 0);
    assert_int_equal(floor_of(c), T(4));
    assert_gc(c, T(4), 0);
    assert_history(c, "[1 :p/name \"B\" t2 rt4]");
}

static void test_gc_after_the_last_transaction_drops_all_history(void **state) {
    dt_conn *c = C(state);
    updates(c);
    assert_gc(c, T(5), 3);
    assert_history(c, "");
    tu_assert_dump(c, CURRENT);
    assert_int_equal(floor_of(c), T(5));
}

static void test_gc_rejects_what_is_no_transaction(void **state) {
    dt_conn *c = C(state);
    updates(c);
    uint64_t dropped = 7;
    assert_int_equal(dt_history_gc(c, 5, &dropped), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(c), "5 is not a transaction id of this database"));
    assert_int_equal(dropped, 0);
    assert_int_equal(dt_history_gc(c, T(6), NULL), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(c), "the last one plus one"));
    assert_int_equal(dt_history_gc(c, DT_TX0, NULL), DT_INVALID);
    assert_int_equal(dt_history_gc(NULL, T(2), NULL), DT_MISUSE);
    /* nothing changed */
    assert_int_equal(floor_of(c), 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]\n[1 :p/name \"B\" t2 rt4]\n[1 :p/tags :x t1 rt3]");
}

static void test_gc_inside_own_block_is_misuse(void **state) {
    dt_conn *c = C(state);
    updates(c);
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(c, &tx), DT_OK);
    assert_int_equal(dt_history_gc(c, T(3), NULL), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(c), "already holds the connection's writer"));
    dt_txn_abort(tx);
    assert_int_equal(dt_history_gc(c, T(3), NULL), DT_OK);
}

/* Many entries, in batches of 7: the same result as one batch. */
static void test_gc_in_batches_drops_exactly_the_old_entries(void **state) {
    dt_conn *c = C(state);
    char buf[256];
    /* t1: 10 entities with 3 tags each */
    tu_tx(c,
          "[{:p/name \"e1\" :p/tags [:a :b :c]} {:p/name \"e2\" :p/tags [:a :b :c]}"
          " {:p/name \"e3\" :p/tags [:a :b :c]} {:p/name \"e4\" :p/tags [:a :b :c]}"
          " {:p/name \"e5\" :p/tags [:a :b :c]} {:p/name \"e6\" :p/tags [:a :b :c]}"
          " {:p/name \"e7\" :p/tags [:a :b :c]} {:p/name \"e8\" :p/tags [:a :b :c]}"
          " {:p/name \"e9\" :p/tags [:a :b :c]} {:p/name \"e10\" :p/tags [:a :b :c]}]",
          DT_OK, 0);
    /* t2..t11: entity i loses :a in t(1+i); t12: every entity loses :b */
    for (int e = 1; e <= 10; e++) {
        snprintf(buf, sizeof buf, "[[:db/retract %d :p/tags :a]]", e);
        tu_tx(c, buf, DT_OK, 0);
    }
    tu_tx(c,
          "[[:db/retract 1 :p/tags :b] [:db/retract 2 :p/tags :b] [:db/retract 3 :p/tags :b]"
          " [:db/retract 4 :p/tags :b] [:db/retract 5 :p/tags :b] [:db/retract 6 :p/tags :b]"
          " [:db/retract 7 :p/tags :b] [:db/retract 8 :p/tags :b] [:db/retract 9 :p/tags :b]"
          " [:db/retract 10 :p/tags :b]]",
          DT_OK, 0);
    size_t old = txn_gc_batch;
    txn_gc_batch = 7;
    uint64_t dropped = 0;
    /* retracted by t2..t8: entities 1..7 lose their :a history */
    int rc = dt_history_gc(c, T(9), &dropped);
    txn_gc_batch = old;
    assert_int_equal(rc, DT_OK);
    assert_int_equal(dropped, 7);
    char *got = history_dump(c);
    tu_lines want = {0};
    for (int e = 8; e <= 10; e++) {
        snprintf(buf, sizeof buf, "[%d :p/tags :a t1 rt%d]", e, e + 1);
        tu_lines_add(&want, strdup(buf));
    }
    for (int e = 1; e <= 10; e++) {
        snprintf(buf, sizeof buf, "[%d :p/tags :b t1 rt12]", e);
        tu_lines_add(&want, strdup(buf));
    }
    char *w = tu_lines_join(&want);
    assert_string_equal(got, w);
    free(got);
    free(w);
    txn_gc_batch = 1;
    rc = dt_history_gc(c, T(13), &dropped);
    txn_gc_batch = old;
    assert_int_equal(rc, DT_OK);
    assert_int_equal(dropped, 13);
    assert_history(c, "");
}

/* The datoms of the view of db as of tx (with tx entities), malloc'd. */
static char *as_of_dump(dt_conn *c, int64_t tx, int *rc_out) {
    dt_db *db = NULL, *v = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    int rc = dt_db_as_of(db, tx, &v);
    *rc_out = rc;
    char *out = NULL;
    if (rc == DT_OK) {
        out = tu_dump_db(v, 1);
        dt_db_close(v);
    } else {
        out = strdup(dt_errmsg(db));
    }
    dt_db_close(db);
    return out;
}

/* The :p/name events of the history view, as EDN: of every entity
 * (one_entity 0: read from the view's cache of all history) or of
 * entity 1 (an EAV seek that reads that entity's history entries). */
static char *history_view_names_of(dt_conn *c, int one_entity) {
    dt_db *db = NULL, *h = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_db_history(db, &h), DT_OK);
    dt_result *r = NULL;
    assert_int_equal(
        dt_q(h,
             one_entity ? "[:find ?e ?v ?t ?added :where [(ground 1) ?e] [?e :p/name ?v ?tx ?added]"
                          " [(- ?tx 4398046511104) ?t]]"
                        : "[:find ?e ?v ?t ?added :where [?e :p/name ?v ?tx ?added]"
                          " [(- ?tx 4398046511104) ?t]]",
             &r),
        DT_OK);
    dt_value v = DT_VALUE_NIL;
    assert_int_equal(dt_result_value(r, &v), DT_OK);
    char *s = tu_edn(&v);
    dt_value_free(&v);
    dt_result_free(r);
    dt_db_close(h);
    dt_db_close(db);
    return s;
}

static char *history_view_names(dt_conn *c) { return history_view_names_of(c, 0); }

/* As-of views at or after the watermark read what they read before the
 * collection; before it they are refused with a clear message. */
static void test_as_of_before_the_watermark_is_refused(void **state) {
    dt_conn *c = C(state);
    updates(c);
    char *before[5];
    int rc;
    for (int t = 1; t <= 4; t++) {
        before[t] = as_of_dump(c, T(t), &rc);
        assert_int_equal(rc, DT_OK);
    }
    assert_int_equal(dt_history_gc(c, T(3), NULL), DT_OK);
    for (int t = 1; t <= 4; t++) {
        char *now = as_of_dump(c, T(t), &rc);
        if (t >= 3) {
            assert_int_equal(rc, DT_OK);
            assert_string_equal(now, before[t]);
        } else {
            assert_int_equal(rc, DT_INVALID);
            char want[160];
            snprintf(want, sizeof want,
                     "the history before transaction %lld was dropped (dt_history_gc); the "
                     "earliest as-of is %lld",
                     (long long)T(3), (long long)T(3));
            if (!strstr(now, want)) fail_msg("message: %s", now);
        }
        free(now);
        free(before[t]);
    }
    /* by instant too: every transaction here is from the last second or so,
     * so an instant long ago names the empty database before t1 */
    dt_db *db = NULL, *v = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_db_as_of_instant(db, 0, &v), DT_INVALID);
    assert_null(v);
    /* since and history views need no as-of bound: accepted */
    assert_int_equal(dt_db_since(db, T(1), &v), DT_OK);
    dt_db_close(v);
    dt_db_close(db);
}

/* The history view starts at the watermark: the retraction dropped and
 * the assertion it recorded are gone, later events stay. */
static void test_history_view_starts_at_the_watermark(void **state) {
    dt_conn *c = C(state);
    updates(c);
    char *s = history_view_names(c);
    assert_string_equal(s,
                        "#{[1 \"A\" 1 true] [1 \"A\" 2 false] [1 \"B\" 2 true] [1 \"B\" 4 false] "
                        "[1 \"C\" 4 true]}");
    free(s);
    assert_int_equal(dt_history_gc(c, T(3), NULL), DT_OK);
    s = history_view_names(c);
    assert_string_equal(s, "#{[1 \"B\" 2 true] [1 \"B\" 4 false] [1 \"C\" 4 true]}");
    free(s);
}

/* A collection interrupted after its first batch: the watermark is set
 * but entries below it remain.  Views do not read them, and the next
 * collection (with any bound) removes them. */
static void test_interrupted_gc_leftovers_are_invisible_and_finished_later(void **state) {
    dt_conn *c = C(state);
    updates(c);
    dt_kv_txn *txn = NULL;
    assert_int_equal(dt_kv_txn_begin(c->kv, DT_KV_TXN_WRITE, &txn), DT_OK);
    assert_int_equal(dl_history_set_floor(&c->st, txn, T(3)), DT_OK);
    assert_int_equal(dt_kv_txn_commit(txn), DT_OK);
    assert_int_equal(floor_of(c), T(3));
    char *s = history_view_names(c);
    assert_string_equal(s, "#{[1 \"B\" 2 true] [1 \"B\" 4 false] [1 \"C\" 4 true]}");
    free(s);
    s = history_view_names_of(c, 1);
    assert_string_equal(s, "#{[1 \"B\" 2 true] [1 \"B\" 4 false] [1 \"C\" 4 true]}");
    free(s);
    int rc;
    free(as_of_dump(c, T(2), &rc));
    assert_int_equal(rc, DT_INVALID);
    /* a lower bound: the watermark stays, the leftover goes */
    assert_gc(c, T(1), 1);
    assert_int_equal(floor_of(c), T(3));
    assert_history(c, "[1 :p/name \"B\" t2 rt4]\n[1 :p/tags :x t1 rt3]");
}

static void test_no_history_attributes_keep_no_history(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id \"a\" :p/name \"A\" :p/secret \"s1\" :p/pins [1 2 3]}]", DT_OK, 0);
    /* replacement (cardinality one), retraction (many), for both kinds */
    tu_tx(c, "[[:db/add 1 :p/name \"B\"] [:db/add 1 :p/secret \"s2\"] [:db/retract 1 :p/pins 1]]",
          DT_OK, 0);
    tu_tx(c, "[[:db/retract 1 :p/secret \"s2\"]]", DT_OK, 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]");
    tu_assert_dump(c, "[1 :p/name \"B\"]\n[1 :p/pins 2]\n[1 :p/pins 3]");
    /* retractEntity too */
    tu_tx(c, "[[:db/retractEntity 1]]", DT_OK, 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]\n[1 :p/name \"B\" t2 rt4]");
    tu_assert_dump(c, "");
    /* the schema shows the flag */
    char *schema = NULL;
    assert_int_equal(dt_conn_schema(c, &schema), DT_OK);
    assert_non_null(strstr(schema, ":db/noHistory true"));
    dt_free(schema);
}

static void test_changing_no_history_affects_later_writes_only(void **state) {
    tu_db *d = *state;
    dt_conn *c = d->conn;
    tu_tx(c, "[{:db/id \"a\" :p/name \"A\" :p/secret \"s1\"}]", DT_OK, 0);
    tu_tx(c, "[[:db/add 1 :p/name \"B\"] [:db/add 1 :p/secret \"s2\"]]", DT_OK, 0);
    /* t3: turn it around by transact */
    tu_tx(c, "[{:db/ident :p/name :db/noHistory true} {:db/ident :p/secret :db/noHistory false}]",
          DT_OK, 0);
    tu_tx(c, "[[:db/add 1 :p/name \"C\"] [:db/add 1 :p/secret \"s3\"]]", DT_OK, 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]\n[1 :p/secret \"s2\" t2 rt4]");
    /* it persists */
    tu_db_reopen(d);
    c = d->conn;
    tu_tx(c, "[[:db/add 1 :p/name \"D\"] [:db/add 1 :p/secret \"s4\"]]", DT_OK, 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]\n[1 :p/secret \"s2\" t2 rt4]\n"
                      "[1 :p/secret \"s3\" t4 rt5]");
    /* and by schema update */
    assert_int_equal(dt_conn_update_schema(c, "{:p/name {:db/noHistory false}}"), DT_OK);
    tu_tx(c, "[[:db/add 1 :p/name \"E\"]]", DT_OK, 0);
    assert_history(c, "[1 :p/name \"A\" t1 rt2]\n[1 :p/name \"D\" t5 rt6]\n"
                      "[1 :p/secret \"s2\" t2 rt4]\n[1 :p/secret \"s3\" t4 rt5]");
}

static void test_no_history_must_be_a_boolean(void **state) {
    dt_conn *c = C(state);
    tu_assert_fails_unchanged(c, "[{:db/ident :p/x :db/valueType :db.type/long :db/noHistory 1}]",
                              DT_SCHEMA, ":db/noHistory");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gc_drops_entries_retracted_before_the_watermark, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gc_watermark_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_never_moves_the_watermark_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_after_the_last_transaction_drops_all_history, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gc_rejects_what_is_no_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_inside_own_block_is_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_in_batches_drops_exactly_the_old_entries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_as_of_before_the_watermark_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_history_view_starts_at_the_watermark, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_interrupted_gc_leftovers_are_invisible_and_finished_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_history_attributes_keep_no_history, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_changing_no_history_affects_later_writes_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_history_must_be_a_boolean, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
