/*
 * test_txn_rules.c -- more tx-data rules through the public API, from the
 * documented Datomic/DataScript semantics: tempids across forms, nested
 * maps, reverse attributes and lookup refs in every position, retractions
 * and cascades, :db/cas on refs, the transaction entity, every value type
 * round-tripped, a 20,000-entity transaction, report snapshots, and the
 * read API (seek, index range, counts, entid) with exact results.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:user/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :user/name {:db/valueType :db.type/string}"
    " :user/age {:db/valueType :db.type/long}"
    " :user/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :user/friend {:db/valueType :db.type/ref}"
    " :user/follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :user/pet {:db/valueType :db.type/ref :db/isComponent true}"
    " :pet/name {:db/valueType :db.type/string}"
    " :pet/toy {:db/valueType :db.type/ref :db/isComponent true}"
    " :toy/name {:db/valueType :db.type/string}"
    " :acct/bal {:db/valueType :db.type/long}}";

TU_DB_FIXTURE(SCHEMA)

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The datoms an iterator yields as "[e :a v]" lines joined by '\n', in
 * iteration order, or sorted bytewise when `sorted` (for checks that do
 * not depend on attribute ids); frees the iterator. */
static char *iter_lines_opt(dt_datom_iter *it, int sorted) {
    char **v = NULL;
    size_t n = 0, total = 1;
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        char *val = tu_edn(&d.v);
        size_t sz = strlen(val) + strlen(d.a) + 48;
        char *line = malloc(sz);
        assert_non_null(line);
        snprintf(line, sz, "[%lld :%s %s]", (long long)d.e, d.a, val);
        free(val);
        v = realloc(v, (n + 1) * sizeof *v);
        assert_non_null(v);
        v[n++] = line;
        total += strlen(line) + 1;
    }
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    if (sorted && n > 1) qsort(v, n, sizeof *v, cmp_line);
    char *out = malloc(total), *p = out;
    assert_non_null(out);
    *p = '\0';
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%s%s", i ? "\n" : "", v[i]);
        free(v[i]);
    }
    free(v);
    return out;
}

static char *iter_lines(dt_datom_iter *it) { return iter_lines_opt(it, 0); }
static char *sorted_lines(dt_datom_iter *it) { return iter_lines_opt(it, 1); }

static void assert_lines(char *got, const char *want) {
    if (strcmp(got, want) != 0)
        fail_msg("datoms differ.\n--- got:\n%s\n--- wanted:\n%s", got, want);
    free(got);
}

/* {====== Tempids, nesting, reverse attributes, lookup refs ====== */

static void test_tempid_shared_by_forms_and_used_as_ref_value(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(c,
                         "[{:db/id \"b\" :user/friend \"a\" :user/follows [\"a\" \"b\"]}"
                         " {:db/id \"a\" :user/name \"A\"}"
                         " [:db/add \"a\" :user/age 3]"
                         " [:db/add -1 :user/friend \"b\"]"
                         " {:db/id -1 :user/follows \"a\"}]",
                         DT_OK, 1);
    /* ids in order of first appearance: "b", then "a" (as a value), then -1 */
    assert_int_equal(tu_tempid(r, "b"), 1);
    assert_int_equal(tu_tempid(r, "a"), 2);
    assert_int_equal(tu_tempid(r, "-1"), 3);
    assert_int_equal(dt_report_tempids(r)->u.seq.n, 6);
    tu_assert_report(r,
                     "[1 :user/follows 1 true]\n[1 :user/follows 2 true]\n[1 :user/friend 2 true]\n"
                     "[2 :user/age 3 true]\n[2 :user/name \"A\" true]\n"
                     "[3 :user/follows 2 true]\n[3 :user/friend 1 true]");
    dt_report_close(r);
}

static void test_nested_maps_two_levels_deep(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(c,
                         "[{:db/id \"o\" :user/name \"Owner\""
                         "  :user/pet {:pet/name \"Rex\" :pet/toy {:toy/name \"Ball\"}}}]",
                         DT_OK, 1);
    assert_int_equal(tu_tempid(r, "o"), 1);
    /* the nested entities are generated tempids: not listed */
    assert_int_equal(dt_report_tempids(r)->u.seq.n, 2);
    dt_report_close(r);
    tu_assert_dump(
        c, "[1 :user/name \"Owner\"]\n[1 :user/pet 2]\n[2 :pet/name \"Rex\"]\n[2 :pet/toy 3]\n"
           "[3 :toy/name \"Ball\"]");
    /* a nested map naming an existing entity by :db/id and by lookup ref */
    tu_tx(c,
          "[{:db/id 1 :user/email \"o@x\"}"
          " {:db/id 4 :user/friend {:db/id [:user/email \"o@x\"] :user/age 50}}"
          " {:db/id 5 :user/friend {:db/id 2 :pet/name \"Rex II\"}}]",
          DT_OK, 0);
    tu_assert_dump(c, "[1 :user/age 50]\n[1 :user/email \"o@x\"]\n[1 :user/name \"Owner\"]\n"
                      "[1 :user/pet 2]\n[2 :pet/name \"Rex II\"]\n[2 :pet/toy 3]\n"
                      "[3 :toy/name \"Ball\"]\n[4 :user/friend 1]\n[5 :user/friend 2]");
}

static void test_reverse_attribute_with_single_values(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/name \"B\"}]", DT_OK, 0);
    dt_report *r = tu_tx(c,
                         "[{:db/id \"k\" :user/name \"Kid\" :user/_follows 2"
                         "  :user/_friend [:user/email \"a@x\"]}]",
                         DT_OK, 1);
    assert_int_equal(tu_tempid(r, "k"), 3);
    tu_assert_report(
        r, "[1 :user/friend 3 true]\n[2 :user/follows 3 true]\n[3 :user/name \"Kid\" true]");
    dt_report_close(r);
    /* and a collection mixing an id and a lookup ref */
    tu_tx(c, "[{:db/id 3 :user/_follows [1 [:user/email \"a@x\"] 3]}]", DT_OK, 0);
    tu_assert_dump(c, "[1 :user/email \"a@x\"]\n[1 :user/follows 3]\n[1 :user/friend 3]\n"
                      "[2 :user/follows 3]\n[2 :user/name \"B\"]\n[3 :user/follows 3]\n"
                      "[3 :user/name \"Kid\"]");
}

static void test_cardinality_many_ref_lookup_ref_as_single_value(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/email \"b@x\"}]", DT_OK, 0);
    dt_report *r = tu_tx(c, "[{:db/id 3 :user/follows [:user/email \"a@x\"]}]", DT_OK, 1);
    tu_assert_report(r, "[3 :user/follows 1 true]");
    dt_report_close(r);
    /* a vector of lookup refs is a collection of two references */
    r = tu_tx(c,
              "[{:db/id 4 :user/follows [[:user/email \"a@x\"] [:user/email \"b@x\"]]}"
              " [:db/add 5 :user/follows [:user/email \"b@x\"]]]",
              DT_OK, 1);
    tu_assert_report(
        r, "[4 :user/follows 1 true]\n[4 :user/follows 2 true]\n[5 :user/follows 2 true]");
    dt_report_close(r);
    /* a set of lookup refs and ids, one of them already there */
    r = tu_tx(c, "[{:db/id 4 :user/follows #{[:user/email \"a@x\"] 3}}]", DT_OK, 1);
    tu_assert_report(r, "[4 :user/follows 3 true]");
    dt_report_close(r);
    /* a lookup ref that matches nothing, inside a collection, fails all */
    tu_assert_fails_unchanged(c, "[{:db/id 4 :user/follows [[:user/email \"nobody\"] 5]}]",
                              DT_NOTFOUND, "matches no entity");
}

static void test_retract_with_lookup_ref_value(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/email \"b@x\"}"
          " {:db/id 3 :user/follows [1 2] :user/friend 1}]",
          DT_OK, 0);
    /* a lookup ref in entity position that matches nothing is an error,
     * even for a retraction */
    tu_assert_fails_unchanged(c,
                              "[[:db/retract 3 :user/follows [:user/email \"a@x\"]]"
                              " [:db/retract [:user/email \"c@x\"] :user/age 1]]",
                              DT_NOTFOUND, "matches no entity");
    /* one in value position that matches nothing retracts nothing */
    dt_report *r = tu_tx(c, "[[:db/retract 3 :user/follows [:user/email \"c@x\"]]]", DT_OK, 1);
    tu_assert_report(r, "");
    dt_report_close(r);
    r = tu_tx(c,
              "[[:db/retract 3 :user/follows [:user/email \"a@x\"]]"
              " [:db/retract 3 :user/friend [:user/email \"a@x\"]]]",
              DT_OK, 1);
    tu_assert_report(r, "[3 :user/follows 1 false]\n[3 :user/friend 1 false]");
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/email \"a@x\"]\n[2 :user/email \"b@x\"]\n[3 :user/follows 2]");
}

/* }====== */

/* {====== retractEntity ====== */

static void test_retract_entity_referenced_through_cardinality_many(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/name \"A\"} {:db/id 2 :user/follows [1 3 4]}"
          " {:db/id 3 :user/follows [1]} {:db/id 4 :user/name \"D\" :user/friend 1}]",
          DT_OK, 0);
    dt_report *r = tu_tx(c, "[[:db/retractEntity 1]]", DT_OK, 1);
    tu_assert_report(r, "[1 :user/name \"A\" false]\n[2 :user/follows 1 false]\n"
                        "[3 :user/follows 1 false]\n[4 :user/friend 1 false]");
    dt_report_close(r);
    tu_assert_dump(c, "[2 :user/follows 3]\n[2 :user/follows 4]\n[4 :user/name \"D\"]");
    /* retracting it again, or an entity that never existed, is a no-op */
    r = tu_tx(c, "[[:db/retractEntity 1] [:db/retractEntity 77]]", DT_OK, 1);
    tu_assert_report(r, "");
    dt_report_close(r);
}

static void test_retract_entity_cascades_through_component_chain(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/name \"O\" :user/pet {:db/id 2 :pet/name \"Rex\""
          "   :pet/toy {:db/id 3 :toy/name \"Ball\"}}}"
          " {:db/id 4 :user/friend 2 :user/follows [3 1]}"
          " {:db/id 5 :user/pet 6} {:db/id 6 :pet/name \"Other\"}]",
          DT_OK, 0);
    /* :user/name is not unique: not a lookup ref */
    tu_assert_fails_unchanged(c, "[[:db/retractEntity [:user/name \"O\"]]]", DT_INVALID,
                              "not :db/unique");
    dt_report *r = tu_tx(c, "[[:db/retractEntity 1]]", DT_OK, 1);
    tu_assert_report(r, "[1 :user/name \"O\" false]\n[1 :user/pet 2 false]\n"
                        "[2 :pet/name \"Rex\" false]\n[2 :pet/toy 3 false]\n"
                        "[3 :toy/name \"Ball\" false]\n"
                        "[4 :user/follows 1 false]\n[4 :user/follows 3 false]\n"
                        "[4 :user/friend 2 false]");
    dt_report_close(r);
    /* the unrelated component pair is untouched */
    tu_assert_dump(c, "[5 :user/pet 6]\n[6 :pet/name \"Other\"]");
}

/* }====== */

/* {====== :db/cas and retractAttribute ====== */

static void test_cas_on_ref_attribute_with_lookup_refs(void **state) {
    dt_conn *c = C(state);
    tu_tx(
        c,
        "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/email \"b@x\"} {:db/id 3 :user/friend 1}]",
        DT_OK, 0);
    dt_report *r = tu_tx(
        c, "[[:db/cas 3 :user/friend [:user/email \"a@x\"] [:user/email \"b@x\"]]]", DT_OK, 1);
    tu_assert_report(r, "[3 :user/friend 1 false]\n[3 :user/friend 2 true]");
    dt_report_close(r);
    /* the old value no longer matches */
    tu_assert_fails_unchanged(c, "[[:db/cas 3 :user/friend [:user/email \"a@x\"] 1]]", DT_CONFLICT,
                              ":db/cas failed");
    /* plain ids and lookup refs mix; the lookup ref of the entity too */
    tu_tx(c, "[[:db/cas [:user/email \"b@x\"] :user/friend nil 1] [:db/cas 3 :user/friend 2 3]]",
          DT_OK, 0);
    tu_assert_dump(c, "[1 :user/email \"a@x\"]\n[2 :user/email \"b@x\"]\n[2 :user/friend 1]\n"
                      "[3 :user/friend 3]");
    /* an expected value given by a lookup ref that matches nothing */
    char *before = tu_dump(c, 1);
    int rc = dt_transact(c, "[[:db/cas 3 :user/friend [:user/email \"z@x\"] 1]]", NULL);
    assert_true(rc == DT_NOTFOUND || rc == DT_CONFLICT);
    char *after = tu_dump(c, 1);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_cas_with_wrong_arity_is_invalid(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :acct/bal 10]]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[[:db/cas 1 :acct/bal 10]]", DT_INVALID, "takes 4 arguments");
    tu_assert_fails_unchanged(c, "[[:db/cas 1 :acct/bal 10 20 30]]", DT_INVALID,
                              "takes 4 arguments");
    tu_assert_fails_unchanged(c, "[[:db.fn/cas 1 :acct/bal]]", DT_INVALID, "takes 4 arguments");
    tu_assert_fails_unchanged(c, "[[:db/cas]]", DT_INVALID, NULL);
    tu_assert_fails_unchanged(c, "[[:db/retractEntity]]", DT_INVALID, NULL);
    tu_assert_fails_unchanged(c, "[[:db/retractEntity 1 2]]", DT_INVALID, NULL);
    tu_assert_fails_unchanged(c, "[[:db.fn/retractAttribute 1]]", DT_INVALID, NULL);
    tu_assert_fails_unchanged(c, "[[:db/add]]", DT_INVALID, NULL);
    tu_assert_dump(c, "[1 :acct/bal 10]");
}

static void test_retract_attribute_function(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/tags [:a :b :c] :user/name \"N\" :user/friend 2}"
          " {:db/id 2 :user/tags [:a]}]",
          DT_OK, 0);
    dt_report *r = tu_tx(c,
                         "[[:db.fn/retractAttribute 1 :user/tags]"
                         " [:db.fn/retractAttribute 1 :user/friend]"
                         " [:db.fn/retractAttribute 1 :user/age]]",
                         DT_OK, 1);
    tu_assert_report(r,
                     "[1 :user/friend 2 false]\n[1 :user/tags :a false]\n[1 :user/tags :b false]\n"
                     "[1 :user/tags :c false]");
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/name \"N\"]\n[2 :user/tags :a]");
}

/* }====== */

/* {====== The transaction entity ====== */

static void test_current_tx_tempids_name_the_transaction(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(c,
                         "[[:db/add \"datomic.tx\" :user/name \"batch-1\"]"
                         " {:db/id :db/current-tx :user/tags [:import :nightly]}"
                         " {:db/id 1 :user/friend \"datomic.tx\"}]",
                         DT_OK, 1);
    int64_t tx = dt_report_tx(r);
    assert_true(tx > DT_TX0);
    /* the report lists the tx entity's datoms with e == tx */
    size_t on_tx = 0;
    int instant = 0;
    for (size_t i = 0; i < dt_report_count(r); i++) {
        dt_datom d;
        assert_int_equal(dt_report_datom(r, i, &d), DT_OK);
        assert_int_equal(d.tx, tx);
        assert_true(d.added);
        if (d.e == tx) {
            on_tx++;
            if (!strcmp(d.a, "db/txInstant")) instant = 1;
        } else {
            assert_int_equal(d.e, 1);
            assert_string_equal(d.a, "user/friend");
            assert_int_equal(d.v.u.i, tx);
        }
    }
    assert_int_equal(on_tx, 4); /* name, two tags, txInstant */
    assert_true(instant);
    /* the snapshot after sees them under the tx id */
    dt_value comps[2];
    dt_value_long(tx, &comps[0]);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(dt_report_db_after(r), DT_INDEX_EAV, comps, 1, &n), DT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(dt_db_basis_tx(dt_report_db_after(r)), tx);
    dt_report_close(r);
    /* a second transaction gets the next id */
    r = tu_tx(c, "[[:db/add \"datomic.tx\" :user/name \"batch-2\"]]", DT_OK, 1);
    assert_int_equal(dt_report_tx(r), tx + 1);
    dt_report_close(r);
    /* an old transaction id is not the current one */
    char buf[128];
    snprintf(buf, sizeof buf, "[[:db/add %lld :user/name \"late\"]]", (long long)tx);
    tu_assert_fails_unchanged(c, buf, DT_INVALID, "out of range");
}

/* }====== */

/* {====== Value types ====== */

static const char *TYPES_SCHEMA =
    "{:t/bigint {:db/valueType :db.type/bigint} :t/bigdec {:db/valueType :db.type/bigdec}"
    " :t/inst {:db/valueType :db.type/instant} :t/uuid {:db/valueType :db.type/uuid}"
    " :t/kw {:db/valueType :db.type/keyword} :t/sym {:db/valueType :db.type/symbol}"
    " :t/float {:db/valueType :db.type/float} :t/double {:db/valueType :db.type/double}"
    " :t/bool {:db/valueType :db.type/boolean} :t/bytes {:db/valueType :db.type/bytes}"
    " :t/str {:db/valueType :db.type/string} :t/long {:db/valueType :db.type/long}"
    " :t/ref {:db/valueType :db.type/ref}}";

/* Checks entity 1's value of each typed attribute, read back through EAV
 * and found again through AVE. */
static void check_typed_values(dt_conn *c) {
    static const struct {
        const char *attr;
        dt_type type;
        const char *edn; /* the value expected back */
    } want[] = {
        {"t/bigint", DT_BIGINT, "123456789012345678901234567890N"},
        {"t/bigdec", DT_BIGDEC, "3.140M"},
        {"t/inst", DT_INSTANT, "#inst \"2020-01-02T03:04:05.006Z\""},
        {"t/uuid", DT_UUID, "#uuid \"550e8400-e29b-41d4-a716-446655440000\""},
        {"t/kw", DT_KEYWORD, ":a.b/c-d"},
        {"t/sym", DT_SYMBOL, "my.ns/sym"},
        {"t/float", DT_FLOAT, NULL},
        {"t/double", DT_DOUBLE, "2.5"},
        {"t/bool", DT_BOOL, "false"},
        {"t/bytes", DT_BYTES, "#bytes \"AAEC/w==\""},
        {"t/str", DT_STRING, "\"h\\u00e9llo \\\"q\\\"\""},
        {"t/long", DT_LONG, "-9007199254740993"},
        {"t/ref", DT_REF, NULL},
    };
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        dt_value comps[2];
        dt_value_long(1, &comps[0]);
        assert_int_equal(dt_value_text(DT_KEYWORD, want[i].attr, strlen(want[i].attr), &comps[1]),
                         DT_OK);
        dt_datom_iter *it;
        assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, comps, 2, &it), DT_OK);
        dt_datom d;
        if (dt_datom_iter_next(it, &d) != DT_ROW) fail_msg("no value for :%s", want[i].attr);
        if (d.v.type != want[i].type)
            fail_msg(":%s: type %s, wanted %s", want[i].attr, dt_type_name(d.v.type),
                     dt_type_name(want[i].type));
        if (want[i].type == DT_FLOAT) {
            assert_true(d.v.u.f == (float)1.1);
        } else if (want[i].type == DT_REF) {
            assert_int_equal(d.v.u.i, 1);
        } else {
            dt_value w = tu_read(want[i].edn);
            if (w.type == DT_LONG && want[i].type == DT_INSTANT) w.type = DT_INSTANT;
            if (!dt_value_equal(&w, &d.v)) {
                char *g = tu_edn(&d.v);
                fail_msg(":%s: got %s, wanted %s", want[i].attr, g, want[i].edn);
            }
            dt_value_free(&w);
        }
        /* the same value finds the datom through AVE */
        dt_value ave[2];
        ave[0] = comps[1];
        assert_int_equal(dt_value_copy(&d.v, &ave[1]), DT_OK);
        uint64_t n = 0;
        assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, ave, 2, &n), DT_OK);
        assert_int_equal(n, 1);
        dt_value_free(&ave[1]);
        assert_int_equal(dt_datom_iter_next(it, &d), DT_DONE);
        dt_datom_iter_close(it);
        dt_value_free(&comps[1]);
    }
    dt_db_close(db);
}

static void test_every_declared_type_round_trips(void **state) {
    (void)state;
    tu_db *d = tu_db_open(TYPES_SCHEMA);
    tu_tx(d->conn,
          "[{:db/id 1 :t/bigint 123456789012345678901234567890N :t/bigdec 3.140M"
          "  :t/inst #inst \"2020-01-02T03:04:05.006Z\""
          "  :t/uuid #uuid \"550e8400-e29b-41d4-a716-446655440000\""
          "  :t/kw :a.b/c-d :t/sym my.ns/sym :t/float 1.1 :t/double 2.5 :t/bool false"
          "  :t/bytes #bytes \"AAEC/w==\" :t/str \"h\\u00e9llo \\\"q\\\"\""
          "  :t/long -9007199254740993 :t/ref 1}]",
          DT_OK, 0);
    check_typed_values(d->conn);
    /* the instant is the right number of milliseconds */
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_value comps[2];
    dt_value_long(1, &comps[0]);
    assert_int_equal(dt_value_text(DT_KEYWORD, "t/inst", 6, &comps[1]), DT_OK);
    dt_datom_iter *it;
    dt_datom dd;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, comps, 2, &it), DT_OK);
    assert_int_equal(dt_datom_iter_next(it, &dd), DT_ROW);
    assert_int_equal(dd.v.u.i, 1577934245006LL);
    dt_datom_iter_close(it);
    dt_value_free(&comps[1]);
    dt_db_close(db);
    /* and everything survives a reopen */
    tu_db_reopen(d);
    check_typed_values(d->conn);
    tu_db_close(d);
}

static void test_long_to_bigint_and_double_to_float_conversions(void **state) {
    (void)state;
    tu_db *d = tu_db_open(TYPES_SCHEMA);
    dt_conn *c = d->conn;
    dt_report *r = tu_tx(c,
                         "[[:db/add 2 :t/bigint 42] [:db/add 2 :t/float 0.25]"
                         " [:db/add 3 :t/bigint -9223372036854775808]]",
                         DT_OK, 1);
    tu_assert_report(r, "[2 :t/bigint 42N true]\n[2 :t/float 0.25 true]\n"
                        "[3 :t/bigint -9223372036854775808N true]");
    dt_report_close(r);
    /* 42 and 42N are one value: re-asserting either is a no-op */
    r = tu_tx(c, "[[:db/add 2 :t/bigint 42N] [:db/add 2 :t/bigint 42]]", DT_OK, 1);
    tu_assert_report(r, "");
    dt_report_close(r);
    /* cas and retract convert the same way */
    tu_tx(c, "[[:db/cas 2 :t/bigint 42 43N]]", DT_OK, 0);
    r = tu_tx(c, "[[:db/retract 2 :t/bigint 43] [:db/retract 2 :t/float 0.25]]", DT_OK, 1);
    tu_assert_report(r, "[2 :t/bigint 43N false]\n[2 :t/float 0.25 false]");
    dt_report_close(r);
    /* no other conversions */
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/double 3]]", DT_INVALID, "expects double");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/long 3.0]]", DT_INVALID, "expects long");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/bigint 1.5]]", DT_INVALID, "expects bigint");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/long 1N]]", DT_INVALID, "expects long");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/inst 5]]", DT_INVALID, "expects instant");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/kw \"a\"]]", DT_INVALID, "expects keyword");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/sym :a]]", DT_INVALID, "expects symbol");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/bytes \"AAE=\"]]", DT_INVALID, "expects bytes");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/uuid \"550e8400-e29b-41d4-a716-446655440000\"]]",
                              DT_INVALID, "expects uuid");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/bool 1]]", DT_INVALID, "expects boolean");
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/ref \"x\" 1]]", DT_INVALID, NULL);
    tu_assert_fails_unchanged(c, "[[:db/add 2 :t/ref 1.5]]", DT_INVALID, NULL);
    tu_db_close(d);
}

static void test_wrong_type_in_nested_map_writes_nothing(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/name \"keep\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[{:db/id 2 :user/name \"B\" :user/pet {:pet/name 5}}]",
                              DT_INVALID, "expects string");
    tu_assert_fails_unchanged(c,
                              "[{:db/id 2 :user/name \"B\""
                              "  :user/pet {:pet/name \"P\" :pet/toy {:toy/name :not-a-string}}}]",
                              DT_INVALID, ":toy/name");
    tu_assert_fails_unchanged(c,
                              "[{:db/id 2 :user/friend {:user/email \"e@x\" :user/age \"old\"}}]",
                              DT_INVALID, ":user/age");
    /* the id counter did not move either */
    dt_report *r = tu_tx(c, "[{:db/id \"n\" :user/name \"N\"}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "n"), 2);
    dt_report_close(r);
}

/* }====== */

/* {====== A large transaction ====== */

static void test_twenty_thousand_entity_maps_in_one_transaction(void **state) {
    (void)state;
    char *spath = tu_shared_path("bench/bench-schema.edn");
    char *schema = tu_read_file(spath, NULL);
    if (!schema) fail_msg("cannot read %s", spath);
    char *path = tu_shared_path("bench/people20k.edn");
    char *text = tu_read_file(path, NULL);
    if (!text) fail_msg("cannot read %s", path);
    tu_db *d = tu_db_open(schema);
    dt_report *r = NULL;
    int rc = dt_transact(d->conn, text, &r);
    if (rc != DT_OK) fail_msg("people20k: %s", dt_errmsg(d->conn));
    /* 20,000 tempids, allocated 1..20000 in file order */
    assert_int_equal(dt_report_tempids(r)->u.seq.n, 2 * 20000);
    assert_int_equal(tu_tempid(r, "-7775"), 1);
    assert_int_equal(tu_tempid(r, "-5586"), 2);
    assert_int_equal(tu_tempid(r, "-9696"), 20000);
    /* 6 attributes per person plus the distinct aliases (counted
     * independently from the file): 191,654 datoms, and the txInstant */
    assert_int_equal(dt_report_count(r), 191654 + 1);
    dt_report_close(r);
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, NULL, 0, &n), DT_OK);
    assert_int_equal(n, 191654 + 1);
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, NULL, 0, &n), DT_OK);
    assert_int_equal(n, 191654 + 1);
    dt_value c2[2];
    assert_int_equal(dt_value_text(DT_KEYWORD, "name", 4, &c2[0]), DT_OK);
    assert_int_equal(dt_value_text(DT_STRING, "Ivan", 4, &c2[1]), DT_OK);
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, c2, 2, &n), DT_OK);
    assert_int_equal(n, 2579); /* q1 of the benchmark README */
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, c2, 1, &n), DT_OK);
    assert_int_equal(n, 20000);
    dt_value_free(&c2[0]);
    dt_value_free(&c2[1]);
    /* a few entities, exactly */
    dt_value e;
    dt_value_long(2, &e);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, &e, 1, &it), DT_OK);
    assert_lines(sorted_lines(it),
                 "[2 :age 89]\n[2 :alias \"A. C. Q. W.\"]\n[2 :alias \"A. J. Finn\"]\n"
                 "[2 :alias \"Aapeli\"]\n[2 :alias \"Abram Tertz\"]\n[2 :alias \"Acton Bell\"]\n"
                 "[2 :full-name \"Petr Voronoi\"]\n[2 :last-name \"Voronoi\"]\n[2 :name \"Petr\"]\n"
                 "[2 :salary 64319]\n[2 :sex :female]");
    dt_value_long(20000, &e);
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, &e, 1, &it), DT_OK);
    assert_lines(sorted_lines(it), "[20000 :age 7]\n[20000 :full-name \"Petr Kovalev\"]\n"
                                   "[20000 :last-name \"Kovalev\"]\n[20000 :name \"Petr\"]\n"
                                   "[20000 :salary 95821]\n[20000 :sex :female]");
    dt_value_long(20001, &e);
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, &e, 1, &n), DT_OK);
    assert_int_equal(n, 0);
    dt_db_close(db);
    tu_db_close(d);
    free(text);
    free(path);
    free(schema);
    free(spath);
}

/* }====== */

/* {====== Reports and the read API ====== */

static void test_report_snapshots_see_before_and_after(void **state) {
    dt_conn *c = C(state);
    dt_report *r0 = tu_tx(c, "[[:db/add 1 :user/age 1] [:db/add 1 :user/name \"A\"]]", DT_OK, 1);
    dt_report *r = tu_tx(c,
                         "[[:db/add 1 :user/age 2] [:db/retract 1 :user/name \"A\"]"
                         " [:db/add 2 :user/age 3]]",
                         DT_OK, 1);
    /* a later write sees neither snapshot change */
    tu_tx(c, "[[:db/add 9 :user/age 9]]", DT_OK, 0);
    dt_db *before = dt_report_db_before(r), *after = dt_report_db_after(r);
    assert_int_equal(dt_db_basis_tx(before), dt_report_tx(r0));
    assert_int_equal(dt_db_basis_tx(after), dt_report_tx(r));
    assert_int_equal(dt_db_basis_tx(dt_report_db_before(r0)), 0);
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, "user/age", 8, &a), DT_OK);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(before, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    assert_lines(iter_lines(it), "[1 :user/age 1]");
    assert_int_equal(dt_db_datoms(after, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    assert_lines(iter_lines(it), "[1 :user/age 2]\n[2 :user/age 3]");
    dt_value e;
    dt_value_long(1, &e);
    assert_int_equal(dt_db_datoms(before, DT_INDEX_EAV, &e, 1, &it), DT_OK);
    assert_lines(sorted_lines(it), "[1 :user/age 1]\n[1 :user/name \"A\"]");
    assert_int_equal(dt_db_datoms(after, DT_INDEX_EAV, &e, 1, &it), DT_OK);
    assert_lines(iter_lines(it), "[1 :user/age 2]");
    /* the first report's snapshots: empty before, its own datoms after */
    uint64_t n = 99;
    assert_int_equal(dt_db_count_datoms(dt_report_db_before(r0), DT_INDEX_EAV, NULL, 0, &n), DT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(dt_db_count_datoms(dt_report_db_after(r0), DT_INDEX_EAV, &e, 1, &n), DT_OK);
    assert_int_equal(n, 2);
    dt_value_free(&a);
    dt_report_close(r);
    dt_report_close(r0);
}

/* A database with :n/v (declared, long) for entities 1..5 = 10..50 and,
 * in a later transaction, the undeclared :z/w (so its id sorts after). */
static tu_db *range_db(void) {
    tu_db *d = tu_db_open("{:n/v {:db/valueType :db.type/long}}");
    tu_tx(d->conn,
          "[[:db/add 1 :n/v 10] [:db/add 2 :n/v 20] [:db/add 3 :n/v 30]"
          " [:db/add 4 :n/v 40] [:db/add 5 :n/v 50]]",
          DT_OK, 0);
    tu_tx(d->conn, "[[:db/add 2 :z/w \"b\"] [:db/add 6 :z/w \"a\"]]", DT_OK, 0);
    return d;
}

static dt_datom_iter *range(dt_db *db, const char *attr, const char *lo, const char *hi) {
    dt_value l = DT_VALUE_NIL, h = DT_VALUE_NIL;
    if (lo) l = tu_read(lo);
    if (hi) h = tu_read(hi);
    dt_datom_iter *it = NULL;
    int rc = dt_db_index_range(db, attr, lo ? &l : NULL, hi ? &h : NULL, &it);
    if (rc != DT_OK)
        fail_msg("index_range %s %s: %s", lo ? lo : "nil", hi ? hi : "nil", dt_errmsg(db));
    dt_value_free(&l);
    dt_value_free(&h);
    return it;
}

static void test_index_range_bounds_are_inclusive_and_optional(void **state) {
    (void)state;
    tu_db *d = range_db();
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    assert_lines(iter_lines(range(db, "n/v", "20", "40")), "[2 :n/v 20]\n[3 :n/v 30]\n[4 :n/v 40]");
    assert_lines(iter_lines(range(db, "n/v", "15", "35")), "[2 :n/v 20]\n[3 :n/v 30]");
    assert_lines(iter_lines(range(db, "n/v", NULL, "20")), "[1 :n/v 10]\n[2 :n/v 20]");
    assert_lines(iter_lines(range(db, "n/v", "45", NULL)), "[5 :n/v 50]");
    assert_lines(iter_lines(range(db, "n/v", NULL, NULL)),
                 "[1 :n/v 10]\n[2 :n/v 20]\n[3 :n/v 30]\n[4 :n/v 40]\n[5 :n/v 50]");
    assert_lines(iter_lines(range(db, "n/v", "30", "30")), "[3 :n/v 30]");
    assert_lines(iter_lines(range(db, "n/v", "40", "20")), "");
    assert_lines(iter_lines(range(db, "n/v", "51", NULL)), "");
    assert_lines(iter_lines(range(db, "n/v", NULL, "9")), "");
    /* the range stays within the attribute */
    assert_lines(iter_lines(range(db, "z/w", NULL, NULL)), "[6 :z/w \"a\"]\n[2 :z/w \"b\"]");
    assert_lines(iter_lines(range(db, "z/w", "\"b\"", NULL)), "[2 :z/w \"b\"]");
    /* an unknown attribute is an error, not an empty range */
    dt_datom_iter *bad = NULL;
    assert_int_equal(dt_db_index_range(db, "no/such", NULL, NULL, &bad), DT_INVALID);
    assert_null(bad);
    assert_non_null(strstr(dt_errmsg(db), "unknown attribute :no/such"));
    dt_db_close(db);
    tu_db_close(d);
}

static void test_seek_datoms_runs_to_the_end_of_the_index(void **state) {
    (void)state;
    tu_db *d = range_db();
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_value c[3];
    /* AVE from [:n/v 30]: the rest of :n/v, then every :z/w datom */
    c[0] = tu_read(":n/v");
    c[1] = tu_read("30");
    dt_datom_iter *it;
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, c, 2, &it), DT_OK);
    assert_lines(iter_lines(it),
                 "[3 :n/v 30]\n[4 :n/v 40]\n[5 :n/v 50]\n[6 :z/w \"a\"]\n[2 :z/w \"b\"]");
    /* a value between stored ones starts at the next */
    dt_value_free(&c[1]);
    c[1] = tu_read("41");
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, c, 2, &it), DT_OK);
    assert_lines(iter_lines(it), "[5 :n/v 50]\n[6 :z/w \"a\"]\n[2 :z/w \"b\"]");
    /* with an entity: [:n/v 30 4] starts after [3 :n/v 30] */
    dt_value_free(&c[1]);
    c[1] = tu_read("30");
    c[2] = tu_read("4");
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, c, 3, &it), DT_OK);
    assert_lines(iter_lines(it), "[4 :n/v 40]\n[5 :n/v 50]\n[6 :z/w \"a\"]\n[2 :z/w \"b\"]");
    dt_value_free(&c[2]);
    c[2] = tu_read("3");
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, c, 3, &it), DT_OK);
    assert_lines(iter_lines(it),
                 "[3 :n/v 30]\n[4 :n/v 40]\n[5 :n/v 50]\n[6 :z/w \"a\"]\n[2 :z/w \"b\"]");
    dt_value_free(&c[0]);
    dt_value_free(&c[1]);
    dt_value_free(&c[2]);
    /* EAV from entity 4: entities 4, 5, 6, then the two transactions */
    c[0] = tu_read("4");
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_EAV, c, 1, &it), DT_OK);
    dt_datom dd;
    const char *want[] = {"[4 :n/v 40]", "[5 :n/v 50]", "[6 :z/w \"a\"]"};
    size_t i = 0, ntx = 0;
    int rc;
    while ((rc = dt_datom_iter_next(it, &dd)) == DT_ROW) {
        if (i < 3) {
            char *v = tu_edn(&dd.v);
            char line[128];
            snprintf(line, sizeof line, "[%lld :%s %s]", (long long)dd.e, dd.a, v);
            free(v);
            assert_string_equal(line, want[i]);
            i++;
        } else {
            assert_int_equal(dd.e, DT_TX0 + 1 + (int64_t)ntx);
            assert_string_equal(dd.a, "db/txInstant");
            ntx++;
        }
    }
    assert_int_equal(rc, DT_DONE);
    assert_int_equal(i, 3);
    assert_int_equal(ntx, 2);
    dt_datom_iter_close(it);
    /* EAV from [2 :z/w]: skips [2 :n/v 20] */
    dt_value_free(&c[0]);
    c[0] = tu_read("2");
    c[1] = tu_read(":z/w");
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_EAV, c, 2, &it), DT_OK);
    assert_int_equal(dt_datom_iter_next(it, &dd), DT_ROW);
    assert_int_equal(dd.e, 2);
    assert_string_equal(dd.a, "z/w");
    assert_int_equal(dt_datom_iter_next(it, &dd), DT_ROW);
    assert_int_equal(dd.e, 3);
    dt_datom_iter_close(it);
    dt_value_free(&c[0]);
    dt_value_free(&c[1]);
    /* no components: the whole index */
    assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, NULL, 0, &it), DT_OK);
    size_t total = 0;
    while (dt_datom_iter_next(it, &dd) == DT_ROW) total++;
    dt_datom_iter_close(it);
    assert_int_equal(total, 5 + 2 + 2); /* 5 :n/v, 2 :z/w, 2 txInstant */
    dt_db_close(db);
    tu_db_close(d);
}

static uint64_t count(dt_db *db, dt_index idx, const char *comps_edn) {
    dt_value v = tu_read(comps_edn); /* a vector of components */
    uint64_t n = 12345;
    int rc = dt_db_count_datoms(db, idx, v.u.seq.items, v.u.seq.n, &n);
    if (rc != DT_OK) fail_msg("count %s: %d %s", comps_edn, rc, dt_errmsg(db));
    /* it agrees with iterating dt_db_datoms */
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, idx, v.u.seq.items, v.u.seq.n, &it), DT_OK);
    dt_datom d;
    uint64_t m = 0;
    while (dt_datom_iter_next(it, &d) == DT_ROW) m++;
    dt_datom_iter_close(it);
    if (m != n)
        fail_msg("count %s: dt_db_count_datoms %llu, dt_db_datoms %llu", comps_edn,
                 (unsigned long long)n, (unsigned long long)m);
    dt_value_free(&v);
    return n;
}

static void test_count_datoms_variants(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/email \"a@x\" :user/tags [:a :b :c] :user/age 30}"
          " {:db/id 2 :user/email \"b@x\" :user/tags [:a] :user/age 30 :user/friend 1}"
          " {:db/id 3 :user/follows [1 2] :user/age 40}]",
          DT_OK, 0);
    tu_tx(c, "[[:db/retract 1 :user/tags :c] [:db/add 3 :user/age 41]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    /* 2 emails, 3 tags, 3 ages, 1 friend, 2 follows = 11 + 2 txInstants */
    assert_int_equal(count(db, DT_INDEX_EAV, "[]"), 13);
    assert_int_equal(count(db, DT_INDEX_AVE, "[]"), 13);
    assert_int_equal(count(db, DT_INDEX_EAV, "[1]"), 4);
    assert_int_equal(count(db, DT_INDEX_EAV, "[[:user/email \"b@x\"]]"), 4);
    assert_int_equal(count(db, DT_INDEX_EAV, "[1 :user/tags]"), 2);
    assert_int_equal(count(db, DT_INDEX_EAV, "[1 :user/tags :b]"), 1);
    assert_int_equal(count(db, DT_INDEX_EAV, "[1 :user/tags :c]"), 0);
    assert_int_equal(count(db, DT_INDEX_EAV, "[7]"), 0);
    assert_int_equal(count(db, DT_INDEX_AVE, "[:user/tags]"), 3);
    assert_int_equal(count(db, DT_INDEX_AVE, "[:user/age]"), 3);
    assert_int_equal(count(db, DT_INDEX_AVE, "[:user/age 30]"), 2);
    assert_int_equal(count(db, DT_INDEX_AVE, "[:user/age 40]"), 0);
    assert_int_equal(count(db, DT_INDEX_AVE, "[:user/age 30 2]"), 1);
    assert_int_equal(count(db, DT_INDEX_AVE, "[:user/follows 1]"), 1); /* reverse lookup */
    assert_int_equal(count(db, DT_INDEX_AVE, "[:db/txInstant]"), 2);
    /* a lookup ref that matches nothing counts nothing */
    assert_int_equal(count(db, DT_INDEX_EAV, "[[:user/email \"zz\"]]"), 0);
    dt_db_close(db);
}

/*
 * The value component of a ref attribute names an entity, so, as for the
 * entity component (and as DataScript's datoms / index-range resolve it),
 * an ident or a lookup ref there means the entity it resolves to.
 */
static void test_ref_value_components_accept_lookup_refs_and_idents(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/friend 1 :user/follows [1 3]}"
          " {:db/id 3 :db/ident :thing/three} {:db/id 4 :user/friend 3}]",
          DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    /* checked without asserting first, so the snapshot is released
     * before any failure is reported */
    static const struct {
        dt_index idx;
        const char *comps;
    } cases[] = {
        {DT_INDEX_AVE, "[:user/friend [:user/email \"a@x\"]]"},
        {DT_INDEX_AVE, "[:user/follows :thing/three]"},
        {DT_INDEX_EAV, "[2 :user/follows [:user/email \"a@x\"]]"},
    };
    char errs[1024] = "";
    size_t elen = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dt_value v = tu_read(cases[i].comps);
        uint64_t n = 0;
        int rc = dt_db_count_datoms(db, cases[i].idx, v.u.seq.items, v.u.seq.n, &n);
        if (rc != DT_OK || n != 1)
            elen += (size_t)snprintf(errs + elen, sizeof errs - elen,
                                     "count %s: rc %d (%s), n %llu, wanted 1\n", cases[i].comps, rc,
                                     dt_errmsg(db), (unsigned long long)n);
        dt_value_free(&v);
        if (elen >= sizeof errs) elen = sizeof errs - 1;
    }
    dt_value lo = tu_read("[:user/email \"a@x\"]"), hi = tu_read(":thing/three");
    dt_datom_iter *it = NULL;
    int rc = dt_db_index_range(db, "user/friend", &lo, &hi, &it);
    char *got = NULL;
    if (rc == DT_OK)
        got = iter_lines(it);
    else
        snprintf(errs + elen, sizeof errs - elen,
                 "index_range by lookup ref and ident: rc %d (%s)\n", rc, dt_errmsg(db));
    dt_value_free(&lo);
    dt_value_free(&hi);
    dt_db_close(db);
    if (errs[0]) {
        free(got);
        fail_msg("%s", errs);
    }
    assert_lines(got, "[2 :user/friend 1]\n[4 :user/friend 3]");
}

static void test_entid_resolves_ids_idents_and_lookup_refs(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 4 :user/email \"a@x\" :user/name \"A\"} {:db/id 5 :db/ident :thing/five}]",
          DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    static const struct {
        const char *ref;
        int rc;
        int64_t id;
    } cases[] = {
        {"4", DT_OK, 4},
        {"123456", DT_OK, 123456}, /* an id is an id, whether used or not */
        {":thing/five", DT_OK, 5},
        {"[:user/email \"a@x\"]", DT_OK, 4},
        {"[:db/ident :thing/five]", DT_OK, 5},
        {"[:user/email \"nobody\"]", DT_NOTFOUND, 0},
        {":thing/six", DT_NOTFOUND, 0},
        {"[:no/such 1]", DT_INVALID, 0},       /* an unknown attribute is an error */
        {"[:user/name \"A\"]", DT_INVALID, 0}, /* not unique */
        {"\"a@x\"", DT_INVALID, 0},
        {"0", DT_INVALID, 0},
        {"-3", DT_INVALID, 0},
        {"1.5", DT_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dt_value v = tu_read(cases[i].ref);
        int64_t id = -99;
        int rc = dt_db_entid(db, &v, &id);
        if (rc != cases[i].rc)
            fail_msg("entid %s: got %d (%s), wanted %d", cases[i].ref, rc, dt_errmsg(db),
                     cases[i].rc);
        if (rc == DT_OK && id != cases[i].id)
            fail_msg("entid %s: got %lld, wanted %lld", cases[i].ref, (long long)id,
                     (long long)cases[i].id);
        dt_value_free(&v);
    }
    dt_value v = tu_read("4");
    int64_t id;
    assert_int_equal(dt_db_entid(NULL, &v, &id), DT_MISUSE);
    assert_int_equal(dt_db_entid(db, NULL, &id), DT_MISUSE);
    assert_int_equal(dt_db_entid(db, &v, NULL), DT_MISUSE);
    dt_value_free(&v);
    dt_db_close(db);
}

/* }====== */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_tempid_shared_by_forms_and_used_as_ref_value),
        T(test_nested_maps_two_levels_deep),
        T(test_reverse_attribute_with_single_values),
        T(test_cardinality_many_ref_lookup_ref_as_single_value),
        T(test_retract_with_lookup_ref_value),
        T(test_retract_entity_referenced_through_cardinality_many),
        T(test_retract_entity_cascades_through_component_chain),
        T(test_cas_on_ref_attribute_with_lookup_refs),
        T(test_cas_with_wrong_arity_is_invalid),
        T(test_retract_attribute_function),
        T(test_current_tx_tempids_name_the_transaction),
        cmocka_unit_test(test_every_declared_type_round_trips),
        cmocka_unit_test(test_long_to_bigint_and_double_to_float_conversions),
        T(test_wrong_type_in_nested_map_writes_nothing),
        cmocka_unit_test(test_twenty_thousand_entity_maps_in_one_transaction),
        T(test_report_snapshots_see_before_and_after),
        cmocka_unit_test(test_index_range_bounds_are_inclusive_and_optional),
        cmocka_unit_test(test_seek_datoms_runs_to_the_end_of_the_index),
        T(test_count_datoms_variants),
        T(test_entid_resolves_ids_idents_and_lookup_refs),
        T(test_ref_value_components_accept_lookup_refs_and_idents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
