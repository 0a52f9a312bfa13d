/*
 * test_txn_transact.c -- transact through the public API on a real
 * database: every tx-data rule of Datomic/DataScript that Datolite
 * implements, each asserting the exact datoms afterwards, and each error
 * path asserting that nothing was written.
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
    " :user/ssn {:db/valueType :db.type/string :db/unique :db.unique/value}"
    " :pet/name {:db/valueType :db.type/string}"
    " :acct/bal {:db/valueType :db.type/long}"
    " :doc/body {:db/valueType :db.type/string}}";

TU_DB_FIXTURE(SCHEMA)

/* {====== Map forms and tempids ====== */

static void test_map_with_string_tempid_creates_entity(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(c, "[{:db/id \"ivan\" :user/name \"Ivan\" :user/age 30}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "ivan"), 1);
    assert_true(dt_report_tx(r) > DT_TX0);
    tu_assert_report(r, "[1 :user/age 30 true]\n[1 :user/name \"Ivan\" true]");
    assert_non_null(dt_report_db_before(r));
    assert_non_null(dt_report_db_after(r));
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/age 30]\n[1 :user/name \"Ivan\"]");
}

static void test_maps_without_id_and_negative_tempids(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(
        c, "[{:user/name \"A\"} {:db/id -7 :user/name \"B\"} [:db/add -7 :user/age 5]]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "-7"), 2);
    /* generated tempids are not reported */
    assert_int_equal(dt_report_tempids(r)->u.seq.n, 2);
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/name \"A\"]\n[2 :user/age 5]\n[2 :user/name \"B\"]");
}

static void test_tempids_allocate_after_max_existing_id_in_order(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 10 :user/name \"ten\"}]", DT_OK, 0);
    dt_report *r =
        tu_tx(c, "[[:db/add \"b\" :user/name \"B\"] [:db/add \"a\" :user/name \"A\"]]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "b"), 11);
    assert_int_equal(tu_tempid(r, "a"), 12);
    dt_report_close(r);
}

static void test_cardinality_many_collections_and_redundant_adds(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/tags [:a :b]}]", DT_OK, 0);
    dt_report *r = tu_tx(c, "[{:db/id 1 :user/tags #{:b :c}} [:db/add 1 :user/tags :a]]", DT_OK, 1);
    tu_assert_report(r, "[1 :user/tags :c true]");
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/tags :a]\n[1 :user/tags :b]\n[1 :user/tags :c]");
}

static void test_cardinality_one_replaces_and_reports_retraction(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :user/age 25]]", DT_OK, 0);
    dt_report *r = tu_tx(c, "[[:db/add 1 :user/age 99]]", DT_OK, 1);
    tu_assert_report(r, "[1 :user/age 25 false]\n[1 :user/age 99 true]");
    dt_report_close(r);
    r = tu_tx(c, "[[:db/add 1 :user/age 99]]", DT_OK, 1);
    tu_assert_report(r, ""); /* redundant: a no-op */
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/age 99]");
}

/* A new entity has no values to look up before its first one of an
 * attribute; its later values in the same transaction still replace
 * (cardinality one) or merge with (many) the earlier ones. */
static void test_new_entity_values_asserted_twice_in_one_transaction(void **state) {
    dt_conn *c = C(state);
    dt_report *r = tu_tx(c,
                         "[{:db/id \"x\" :user/age 1 :user/tags [:a :b]}"
                         " [:db/add \"x\" :user/age 2] [:db/add \"x\" :user/tags :a]"
                         " {:db/id \"x\" :user/age 3 :user/tags :c}"
                         " [:db/add \"y\" :user/age 7] [:db/add \"y\" :user/age 7]"
                         " [:db/retract \"y\" :user/age 7] [:db/add \"y\" :user/name \"Y\"]]",
                         DT_OK, 1);
    assert_int_equal(tu_tempid(r, "x"), 1);
    assert_int_equal(tu_tempid(r, "y"), 2);
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/age 3]\n[1 :user/tags :a]\n[1 :user/tags :b]\n[1 :user/tags :c]\n"
                      "[2 :user/name \"Y\"]");
}

static void test_nested_maps_components_and_reverse_attributes(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/name \"Owner\" :user/pet {:pet/name \"Rex\"}}]", DT_OK, 0);
    tu_assert_dump(c, "[1 :user/name \"Owner\"]\n[1 :user/pet 2]\n[2 :pet/name \"Rex\"]");
    dt_report *r = tu_tx(c, "[{:db/id -1 :user/name \"Kid\" :user/_follows [1]}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "-1"), 3);
    tu_assert_report(r, "[1 :user/follows 3 true]\n[3 :user/name \"Kid\" true]");
    dt_report_close(r);
}

static void test_nested_map_upserts_unique_identity_target(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\" :user/name \"A\"}]", DT_OK, 0);
    tu_tx(c, "[{:db/id 2 :user/name \"B\" :user/friend {:user/email \"a@x\" :user/age 7}}]", DT_OK,
          0);
    tu_assert_dump(c, "[1 :user/age 7]\n[1 :user/email \"a@x\"]\n[1 :user/name \"A\"]\n"
                      "[2 :user/friend 1]\n[2 :user/name \"B\"]");
}

/* }====== */

/* {====== Identity, lookup refs, uniqueness ====== */

static void test_upsert_through_unique_identity(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\" :user/name \"A\"}]", DT_OK, 0);
    dt_report *r = tu_tx(c, "[{:db/id \"t\" :user/email \"a@x\" :user/age 3}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "t"), 1);
    tu_assert_report(r, "[1 :user/age 3 true]");
    dt_report_close(r);
}

static void test_two_tempids_with_same_new_unique_value_become_one(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 23 :user/name \"x\"}]", DT_OK, 0);
    dt_report *r = tu_tx(c,
                         "[{:db/id -1 :user/email \"new@x\" :user/name \"N\"}"
                         " {:db/id -2 :user/email \"new@x\" :user/age 5}]",
                         DT_OK, 1);
    assert_int_equal(tu_tempid(r, "-1"), 24);
    assert_int_equal(tu_tempid(r, "-2"), 24);
    tu_assert_report(
        r, "[24 :user/age 5 true]\n[24 :user/email \"new@x\" true]\n[24 :user/name \"N\" true]");
    dt_report_close(r);
}

static void test_conflicting_upserts_fail(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/email \"b@x\"}]", DT_OK, 0);
    tu_tx(c, "[{:db/id 1 :user/ssn \"s1\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(
        c, "[{:db/id \"t\" :user/email \"a@x\"} [:db/add \"t\" :user/email \"b@x\"]]", DT_CONFLICT,
        "conflicting upserts");
}

static void test_lookup_refs_as_entity_and_value(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/email \"b@x\"}]", DT_OK, 0);
    tu_tx(c,
          "[[:db/add [:user/email \"a@x\"] :user/friend [:user/email \"b@x\"]]"
          " {:db/id [:user/email \"b@x\"] :user/age 9}]",
          DT_OK, 0);
    tu_assert_dump(
        c, "[1 :user/email \"a@x\"]\n[1 :user/friend 2]\n[2 :user/age 9]\n[2 :user/email \"b@x\"]");
    tu_assert_fails_unchanged(c, "[[:db/add [:user/email \"nobody\"] :user/age 1]]", DT_NOTFOUND,
                              "matches no entity");
    tu_assert_fails_unchanged(c, "[[:db/add [:user/name \"x\"] :user/age 1]]", DT_INVALID,
                              "not :db/unique");
}

static void test_explicit_id_taking_unique_value_conflicts(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/email \"a@x\"} {:db/id 2 :user/ssn \"s\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[{:db/id 2 :user/email \"a@x\"}]", DT_CONFLICT,
                              "unique conflict");
    tu_assert_fails_unchanged(c, "[{:db/id 3 :user/ssn \"s\"}]", DT_CONFLICT, ":user/ssn \"s\"");
}

static void test_idents_name_entities(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/ident :color/red} [:db/add 5 :user/friend :color/red]]", DT_OK, 0);
    /* the explicit id 5 counts as taken, so the new entity is 6 */
    tu_assert_dump(c, "[5 :user/friend 6]\n[6 :db/ident :color/red]");
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value kw;
    assert_int_equal(dt_value_text(DT_KEYWORD, "color/red", 9, &kw), DT_OK);
    int64_t id = 0;
    assert_int_equal(dt_db_entid(db, &kw, &id), DT_OK);
    assert_int_equal(id, 6);
    dt_value_free(&kw);
    dt_db_close(db);
}

/* }====== */

/* {====== Retraction ====== */

static void test_retract_value_attribute_and_missing(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/tags [:a :b :c] :user/name \"N\"}]", DT_OK, 0);
    dt_report *r =
        tu_tx(c, "[[:db/retract 1 :user/tags :b] [:db/retract 1 :user/name \"other\"]]", DT_OK, 1);
    tu_assert_report(r, "[1 :user/tags :b false]");
    dt_report_close(r);
    r = tu_tx(c, "[[:db/retract 1 :user/tags]]", DT_OK, 1);
    tu_assert_report(r, "[1 :user/tags :a false]\n[1 :user/tags :c false]");
    dt_report_close(r);
    tu_assert_dump(c, "[1 :user/name \"N\"]");
}

static void test_retract_entity_cascades_components_and_refs(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id 1 :user/name \"A\" :user/pet {:db/id 2 :pet/name \"Rex\"} :user/friend 3}"
          " {:db/id 3 :user/name \"C\" :user/friend 1 :user/follows [1 3]}]",
          DT_OK, 0);
    dt_report *r = tu_tx(c, "[[:db/retractEntity 1]]", DT_OK, 1);
    tu_assert_report(
        r, "[1 :user/friend 3 false]\n[1 :user/name \"A\" false]\n[1 :user/pet 2 false]\n"
           "[2 :pet/name \"Rex\" false]\n[3 :user/follows 1 false]\n[3 :user/friend 1 false]");
    dt_report_close(r);
    tu_assert_dump(c, "[3 :user/follows 3]\n[3 :user/name \"C\"]");
}

/* }====== */

/* {====== Compare and swap ====== */

static void test_cas_succeeds_and_fails_atomically(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/cas 1 :acct/bal nil 10]]", DT_OK, 0); /* nil: absent */
    tu_tx(c, "[[:db/cas 1 :acct/bal 10 20]]", DT_OK, 0);
    tu_assert_dump(c, "[1 :acct/bal 20]");
    tu_assert_fails_unchanged(c, "[[:db/add 1 :user/name \"x\"] [:db/cas 1 :acct/bal 10 30]]",
                              DT_CONFLICT, "expected 10, found 20");
    tu_assert_fails_unchanged(c, "[[:db/cas 1 :acct/bal nil 5]]", DT_CONFLICT, ":acct/bal");
    tu_assert_fails_unchanged(c, "[[:db/cas 1 :user/tags :a :b]]", DT_INVALID, "cardinality-one");
}

/* }====== */

/* {====== Types and malformed input ====== */

static void test_value_types_are_checked(void **state) {
    dt_conn *c = C(state);
    tu_assert_fails_unchanged(c, "[[:db/add 1 :user/age \"x\"]]", DT_INVALID,
                              "attribute :user/age expects long, got string \"x\"");
    tu_assert_fails_unchanged(c, "[{:db/id 1 :user/name 12}]", DT_INVALID, "form 1");
    tu_assert_fails_unchanged(c, "[[:db/add 1 :user/name nil]]", DT_INVALID, "nil");
    tu_assert_fails_unchanged(c, "[[:db/add 1 :user/friend \"never-an-entity\" 3]]", DT_INVALID,
                              NULL);
    tu_assert_fails_unchanged(c, "[{:db/id 1 :user/name {:a 1}}]", DT_INVALID, "nested map");
}

static void test_malformed_tx_data_is_rejected(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/name \"keep\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[{:db/id 1 :user/name \"x\"", DT_INVALID, "1:");
    tu_assert_fails_unchanged(c, "{:a 1}", DT_INVALID, "vector of forms");
    tu_assert_fails_unchanged(c, "[[:db/frob 1 :a 2]]", DT_INVALID, "unknown operation :db/frob");
    tu_assert_fails_unchanged(c, "[[:db/add 1 :user/name]]", DT_INVALID, "takes e a v");
    tu_assert_fails_unchanged(c, "[42]", DT_INVALID, "expected an entity map");
    tu_assert_fails_unchanged(c, "[[:db/add 0 :user/name \"x\"]]", DT_INVALID, "0");
    tu_assert_fails_unchanged(c, "[[:db/add 1 \"name\" \"x\"]]", DT_INVALID, "attribute keyword");
    tu_assert_fails_unchanged(c, "[{:db/id 1 :_name 5}]", DT_INVALID, "reverse attribute");
    tu_assert_dump(c, "[1 :user/name \"keep\"]");
}

static void test_undeclared_attributes_are_typed_by_value(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :height 1.8 :nick \"N\" :score 7 :pair [1 \"a\"]}]", DT_OK, 0);
    tu_assert_dump(c, "[1 :height 1.8]\n[1 :nick \"N\"]\n[1 :pair [1 \"a\"]]\n[1 :score 7]");
    char *schema = NULL;
    assert_int_equal(dt_conn_schema(c, &schema), DT_OK);
    assert_non_null(strstr(schema, ":height"));
    dt_free(schema);
}

/* }====== */

/* {====== Transaction entity ====== */

static void test_tx_instant_and_metadata_on_current_tx(void **state) {
    dt_conn *c = C(state);
    dt_report *r =
        tu_tx(c,
              "[{:db/id 1 :user/name \"A\"} {:db/id :db/current-tx :user/name \"import\"}"
              " [:db/add \"datomic.tx\" :user/age 1]]",
              DT_OK, 1);
    int64_t tx = dt_report_tx(r);
    dt_db *db = dt_report_db_after(r);
    dt_value comps[2];
    dt_value_long(tx, &comps[0]);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, comps, 1, &it), DT_OK);
    dt_datom d;
    int n = 0, saw_instant = 0, saw_meta = 0;
    while (dt_datom_iter_next(it, &d) == DT_ROW) {
        n++;
        if (!strcmp(d.a, "db/txInstant") && d.v.type == DT_INSTANT && d.v.u.i > 1600000000000LL)
            saw_instant = 1;
        if (!strcmp(d.a, "user/name") && !strcmp(d.v.u.s.ptr, "import")) saw_meta = 1;
        assert_int_equal(d.tx, tx);
    }
    dt_datom_iter_close(it);
    assert_int_equal(n, 3);
    assert_true(saw_instant && saw_meta);
    dt_report_close(r);
}

/* }====== */

/* {====== Snapshots, persistence, schema ====== */

static void test_snapshot_before_write_does_not_see_it(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :user/age 1]]", DT_OK, 0);
    dt_db *old;
    assert_int_equal(dt_conn_db(c, &old), DT_OK);
    tu_tx(c, "[[:db/add 1 :user/age 2] [:db/add 2 :user/age 3]]", DT_OK, 0);
    uint64_t n = 0;
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, "user/age", 8, &a), DT_OK);
    assert_int_equal(dt_db_count_datoms(old, DT_INDEX_AVE, &a, 1, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_datom_iter *it;
    dt_datom d;
    assert_int_equal(dt_db_datoms(old, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
    assert_int_equal(d.v.u.i, 1);
    dt_datom_iter_close(it);
    /* close refuses while a snapshot lives */
    assert_int_equal(dt_conn_close(c), DT_BUSY);
    dt_db_close(old);
    dt_value_free(&a);
}

static void test_reopen_keeps_everything(void **state) {
    tu_db *d = *state;
    tu_tx(d->conn, "[{:db/id \"x\" :user/email \"a@x\" :user/tags [:p :q] :free 1.5}]", DT_OK, 0);
    char *before = tu_dump(d->conn, 1);
    tu_db_reopen(d);
    char *after = tu_dump(d->conn, 1);
    assert_string_equal(before, after);
    /* ids continue, schema (declared and implicit) survives */
    dt_report *r =
        tu_tx(d->conn, "[{:db/id \"y\" :user/email \"a@x\" :free 2.5} {:db/id \"z\" :free 3.5}]",
              DT_OK, 1);
    assert_int_equal(tu_tempid(r, "y"), 1);
    assert_int_equal(tu_tempid(r, "z"), 2);
    dt_report_close(r);
    free(before);
    free(after);
}

static void test_schema_updates_checked_against_data(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/name \"same\" :user/tags [:a :b]} {:db/id 2 :user/name \"same\"}]",
          DT_OK, 0);
    assert_int_equal(dt_conn_update_schema(c, "{:user/name {:db/unique :db.unique/value}}"),
                     DT_SCHEMA);
    assert_non_null(strstr(dt_errmsg(c), "\"same\""));
    assert_int_equal(dt_conn_update_schema(c, "{:user/name {:db/valueType :db.type/long}}"),
                     DT_SCHEMA);
    assert_non_null(strstr(dt_errmsg(c), "cannot change its type"));
    assert_int_equal(dt_conn_update_schema(c, "{:user/tags {:db/cardinality :db.cardinality/one}}"),
                     DT_SCHEMA);
    assert_non_null(strstr(dt_errmsg(c), "entity 1 has several values"));
    assert_int_equal(dt_conn_update_schema(c, "{:user/name {:db/valueType :db.type/frob}}"),
                     DT_SCHEMA);
    assert_int_equal(dt_conn_update_schema(c, "{:user/name {:db/valueType"), DT_INVALID);
    /* allowed: a new attribute, and unique where values are distinct */
    assert_int_equal(dt_conn_update_schema(c, "{:user/nick {:db/valueType :db.type/string}"
                                              " :user/age {:db/unique :db.unique/identity}}"),
                     DT_OK);
    char *s = NULL;
    assert_int_equal(dt_conn_schema(c, &s), DT_OK);
    assert_non_null(strstr(s, ":user/nick"));
    dt_free(s);
    /* implicit attribute gains a type matching its values */
    tu_tx(c, "[[:db/add 3 :score 5]]", DT_OK, 0);
    assert_int_equal(dt_conn_update_schema(c, "{:score {:db/valueType :db.type/long}}"), DT_OK);
    assert_int_equal(dt_conn_update_schema(c, "{:score {:db/valueType :db.type/string}}"),
                     DT_SCHEMA);
}

static void test_attribute_entities_install_schema(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/ident :book/isbn :db/valueType :db.type/string :db/unique :db.unique/identity}]",
          DT_OK, 0);
    tu_tx(c, "[{:book/isbn \"1\" :user/name \"B\"}]", DT_OK, 0);
    dt_report *r = tu_tx(c, "[{:db/id \"b\" :book/isbn \"1\" :user/age 3}]", DT_OK, 1);
    assert_int_equal(tu_tempid(r, "b"), 1); /* upserted through the new identity */
    dt_report_close(r);
    tu_assert_fails_unchanged(c, "[[:db/add 1 :book/isbn 5]]", DT_INVALID, "expects string");
}

static void test_closed_schema_rejects_unknown_attributes(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.closed_schema = 1;
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, "{:a {:db/valueType :db.type/long}}", &o, &c), DT_OK);
    tu_tx(c, "[[:db/add 1 :a 1]]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[[:db/add 1 :b 1]]", DT_SCHEMA, "unknown attribute :b");
    assert_int_equal(dt_conn_close(c), DT_OK);
    tu_rmdir_free(dir);
}

static void test_long_values_are_stored_once_and_exact(void **state) {
    dt_conn *c = C(state);
    size_t n = 5000;
    char *big = malloc(n + 64), *big2 = malloc(n + 64);
    strcpy(big, "[[:db/add 1 :doc/body \"");
    size_t p = strlen(big);
    for (size_t i = 0; i < n; i++) big[p + i] = (char)('a' + i % 26);
    strcpy(big + p + n, "\"]]");
    strcpy(big2, big);
    big2[p + n - 1] = '#'; /* same 491-byte prefix, different value */
    big2[10] = '2';        /* entity 2 */
    tu_tx(c, big, DT_OK, 0);
    tu_tx(c, big2, DT_OK, 0);
    tu_tx(c, big, DT_OK, 0); /* redundant */
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, "doc/body", 8, &a), DT_OK);
    dt_datom_iter *it;
    dt_datom d;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    int count = 0;
    while (dt_datom_iter_next(it, &d) == DT_ROW) {
        count++;
        assert_int_equal(d.v.u.s.len, n);
        assert_memory_equal(d.v.u.s.ptr, (d.e == 1 ? big : big2) + p, n);
    }
    assert_int_equal(count, 2);
    dt_datom_iter_close(it);
    dt_value_free(&a);
    dt_db_close(db);
    /* a retraction of the exact long value finds it */
    char *rt = malloc(n + 64);
    snprintf(rt, n + 64, "[[:db/retract%s", big + strlen("[[:db/add"));
    tu_tx(c, rt, DT_OK, 0);
    char *dump = tu_dump(c, 0);
    assert_null(strstr(dump, "[1 :doc/body"));
    assert_non_null(strstr(dump, "[2 :doc/body"));
    free(dump);
    free(rt);
    free(big);
    free(big2);
}

static void test_attr_stats_follow_writes(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :user/age 30] [:db/add 2 :user/age 30] [:db/add 3 :user/age 40]]", DT_OK,
          0);
    tu_tx(c, "[[:db/add 3 :user/age 20]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_attr_stats s;
    assert_int_equal(dt_db_attr_stats(db, "user/age", &s), DT_OK);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.distinct, 2);
    assert_int_equal(s.min.u.i, 20);
    assert_int_equal(s.max.u.i, 30);
    dt_attr_stats_free(&s);
    assert_int_equal(dt_db_attr_stats(db, "nope", &s), DT_INVALID);
    dt_db_close(db);
    /* a value another entity holds, whose index entry comes after the new
     * one (entity 4 < 5), and one before every other */
    tu_tx(c, "[[:db/add 5 :user/age 50]]", DT_OK, 0);
    tu_tx(c, "[[:db/add 4 :user/age 50] [:db/add 6 :user/age 1]]", DT_OK, 0);
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    assert_int_equal(dt_db_attr_stats(db, "user/age", &s), DT_OK);
    assert_int_equal(s.count, 6);
    assert_int_equal(s.distinct, 4);
    assert_int_equal(s.min.u.i, 1);
    assert_int_equal(s.max.u.i, 50);
    dt_attr_stats_free(&s);
    dt_db_close(db);
}

static void test_misuse_is_reported(void **state) {
    (void)state;
    assert_int_equal(dt_transact(NULL, "[]", NULL), DT_MISUSE);
    assert_int_equal(dt_conn_close(NULL), DT_OK);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(NULL, &db), DT_MISUSE);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(NULL, DT_INDEX_EAV, NULL, 0, &it), DT_MISUSE);
    dt_db_close(NULL);
    dt_report_close(NULL);
    dt_datom_iter_close(NULL);
}

/* {====== Map growth ====== */

static void test_transact_grows_a_full_map_and_loses_nothing(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = 64 << 10; /* 64 KiB: the first big transaction fills it */
    dt_conn *c = NULL;
    assert_int_equal(
        dt_conn_open(dir, "{:n {:db/valueType :db.type/long :db/unique :db.unique/identity}}", &o,
                     &c),
        DT_OK);
    size_t cap = 1 << 20;
    char *tx = malloc(cap);
    for (int round = 0; round < 4; round++) {
        size_t p = 0;
        p += (size_t)snprintf(tx + p, cap - p, "[");
        for (int i = 0; i < 2000; i++)
            p += (size_t)snprintf(tx + p, cap - p,
                                  "{:n %d :text \"a fairly long string to fill pages %d-%d\"}",
                                  round * 2000 + i, round, i);
        snprintf(tx + p, cap - p, "]");
        dt_report *r = NULL;
        int rc = dt_transact(c, tx, &r);
        if (rc != DT_OK) fail_msg("round %d: %s", round, dt_errmsg(c));
        assert_int_equal(dt_report_tempids(r)->u.seq.n, 0);
        dt_report_close(r);
    }
    free(tx);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, "n", 1, &a), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, &a, 1, &n), DT_OK);
    assert_int_equal(n, 8000);
    dt_datom_iter *it;
    dt_datom d;
    int64_t expect = 0;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    while (dt_datom_iter_next(it, &d) == DT_ROW) {
        assert_int_equal(d.v.u.i, expect); /* each value once: nothing duplicated */
        assert_int_equal(d.e, expect + 1);
        expect++;
    }
    assert_int_equal(expect, 8000);
    dt_datom_iter_close(it);
    dt_value_free(&a);
    dt_db_close(db);
    assert_int_equal(dt_conn_close(c), DT_OK);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== Import in batches ====== */

static void test_import_shares_tempids_across_batches(void **state) {
    (void)state;
    char *path = tu_shared_path("bench/bench-wide-3x3.edn");
    char *schema_path = tu_shared_path("bench/bench-schema.edn");
    size_t len = 0;
    char *text = tu_read_file(path, &len), *schema = tu_read_file(schema_path, NULL);
    assert_non_null(text);
    assert_non_null(schema);
    tu_db *one = tu_db_open(schema), *many = tu_db_open(schema);
    uint64_t ntx = 0;
    assert_int_equal(dt_import_edn(one->conn, text, len, 0, &ntx), DT_OK);
    assert_int_equal(ntx, 1);
    /* batches of 7 forms: :follows refs point at tempids of later batches */
    assert_int_equal(dt_import_edn(many->conn, text, len, 7, &ntx), DT_OK);
    assert_true(ntx > 5);
    char *a = tu_dump(one->conn, 0), *b = tu_dump(many->conn, 0);
    assert_string_equal(a, b);
    /* every :follows target is a loaded entity (all of them have a :name) */
    dt_db *db;
    assert_int_equal(dt_conn_db(many->conn, &db), DT_OK);
    dt_value attr;
    assert_int_equal(dt_value_text(DT_KEYWORD, "follows", 7, &attr), DT_OK);
    dt_datom_iter *it;
    dt_datom d;
    int edges = 0;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &attr, 1, &it), DT_OK);
    while (dt_datom_iter_next(it, &d) == DT_ROW) {
        dt_value comps[2];
        dt_value_long(d.v.u.i, &comps[0]);
        assert_int_equal(dt_value_text(DT_KEYWORD, "name", 4, &comps[1]), DT_OK);
        uint64_t n = 0;
        assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, comps, 2, &n), DT_OK);
        assert_int_equal(n, 1);
        dt_value_free(&comps[1]);
        edges++;
    }
    dt_datom_iter_close(it);
    assert_int_equal(edges, 3 + 9 + 27); /* a 3x3 tree below the root */
    dt_value_free(&attr);
    dt_db_close(db);
    free(a);
    free(b);
    tu_db_close(one);
    tu_db_close(many);
    free(text);
    free(schema);
    free(path);
    free(schema_path);
}

static void test_import_error_keeps_earlier_batches_and_names_form(void **state) {
    dt_conn *c = C(state);
    const char *tx = "[{:db/id \"a\" :user/name \"A\"} {:db/id \"b\" :user/name \"B\"}"
                     " {:db/id \"c\" :user/age \"not a number\"}]";
    uint64_t ntx = 0;
    assert_int_equal(dt_import_edn(c, tx, strlen(tx), 2, &ntx), DT_INVALID);
    assert_int_equal(ntx, 1);
    assert_non_null(strstr(dt_errmsg(c), "form 3"));
    tu_assert_dump(c, "[1 :user/name \"A\"]\n[2 :user/name \"B\"]");
    assert_int_equal(dt_import_edn(c, "{:a 1}", 6, 0, &ntx), DT_INVALID);
    assert_int_equal(dt_import_edn(c, "[{:a", 4, 0, &ntx), DT_INVALID);
}

/* }====== */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_map_with_string_tempid_creates_entity),
        T(test_maps_without_id_and_negative_tempids),
        T(test_tempids_allocate_after_max_existing_id_in_order),
        T(test_cardinality_many_collections_and_redundant_adds),
        T(test_cardinality_one_replaces_and_reports_retraction),
        T(test_new_entity_values_asserted_twice_in_one_transaction),
        T(test_nested_maps_components_and_reverse_attributes),
        T(test_nested_map_upserts_unique_identity_target),
        T(test_upsert_through_unique_identity),
        T(test_two_tempids_with_same_new_unique_value_become_one),
        T(test_conflicting_upserts_fail),
        T(test_lookup_refs_as_entity_and_value),
        T(test_explicit_id_taking_unique_value_conflicts),
        T(test_idents_name_entities),
        T(test_retract_value_attribute_and_missing),
        T(test_retract_entity_cascades_components_and_refs),
        T(test_cas_succeeds_and_fails_atomically),
        T(test_value_types_are_checked),
        T(test_malformed_tx_data_is_rejected),
        T(test_undeclared_attributes_are_typed_by_value),
        T(test_tx_instant_and_metadata_on_current_tx),
        T(test_snapshot_before_write_does_not_see_it),
        T(test_reopen_keeps_everything),
        T(test_schema_updates_checked_against_data),
        T(test_attribute_entities_install_schema),
        cmocka_unit_test(test_closed_schema_rejects_unknown_attributes),
        T(test_long_values_are_stored_once_and_exact),
        T(test_attr_stats_follow_writes),
        cmocka_unit_test(test_misuse_is_reported),
        cmocka_unit_test(test_transact_grows_a_full_map_and_loses_nothing),
        cmocka_unit_test(test_import_shares_tempids_across_batches),
        T(test_import_error_keeps_earlier_batches_and_names_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
