/*
 * test_entity.c -- entities through the public API on a real database:
 * lazy attribute access, typed getters, navigation of refs, reverse refs
 * and components, idents and lookup refs, touch; every staged operation
 * with the exact datoms before and after, and its errors.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:user/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :user/name {:db/valueType :db.type/string}"
    " :user/age {:db/valueType :db.type/long}"
    " :user/score {:db/valueType :db.type/double}"
    " :user/active {:db/valueType :db.type/boolean}"
    " :user/born {:db/valueType :db.type/instant}"
    " :user/role {:db/valueType :db.type/keyword}"
    " :user/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :user/friend {:db/valueType :db.type/ref}"
    " :user/follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :user/pet {:db/valueType :db.type/ref :db/isComponent true}"
    " :pet/name {:db/valueType :db.type/string}"
    " :pet/toys {:db/valueType :db.type/ref :db/isComponent true"
    "            :db/cardinality :db.cardinality/many}"
    " :toy/name {:db/valueType :db.type/string}}";

TU_DB_FIXTURE(SCHEMA)

/* What attr_edn shows for a missing attribute. */
static const char NOTFOUND[] = "<missing>";

/* Ann (1) with a pet (2, component) with two toys (3, 4); Bob (5) whose
 * friend is Ann and who follows Ann and Cy (6); Cy's friend is Ann. */
static const char *DATA =
    "[{:db/id \"ann\" :user/email \"ann@x\" :user/name \"Ann\" :user/age 41"
    "  :user/score 2.5 :user/active true :user/born #inst \"2000-01-02T00:00:00.000-00:00\""
    "  :user/role :admin :user/tags [:a :b]"
    "  :user/pet {:pet/name \"Rex\" :pet/toys [{:toy/name \"ball\"} {:toy/name \"bone\"}]}}"
    " {:db/id \"bob\" :user/email \"bob@x\" :user/name \"Bob\" :user/friend \"ann\""
    "  :user/follows [\"ann\" \"cy\"]}"
    " {:db/id \"cy\" :user/email \"cy@x\" :user/friend \"ann\" :db/ident :the/cy}]";

static void load(dt_conn *c) { tu_tx(c, DATA, DT_OK, 0); }

static dt_entity *get(dt_db *db, const char *ref_edn) {
    dt_value r = tu_read(ref_edn);
    dt_entity *e = NULL;
    int rc = dt_entity_get(db, &r, &e);
    if (rc != DT_OK) fprintf(stderr, "dt_entity_get %s: %s\n", ref_edn, dt_errmsg(db));
    assert_int_equal(rc, DT_OK);
    dt_value_free(&r);
    return e;
}

/* The EDN of an attribute's value ("<rc>" names a result code). */
static char *attr_edn(dt_entity *e, const char *attr) {
    dt_value v;
    int rc = dt_entity_attr(e, attr, &v);
    if (rc != DT_OK) {
        char *s = malloc(32);
        if (rc == DT_NOTFOUND)
            snprintf(s, 32, "<missing>");
        else
            snprintf(s, 32, "<rc %d>", rc);
        return s;
    }
    char *s = tu_edn(&v);
    dt_value_free(&v);
    return s;
}

static void assert_attr(dt_entity *e, const char *attr, const char *want) {
    char *got = attr_edn(e, attr);
    if (strcmp(got, want) != 0) fprintf(stderr, "%s: got %s, want %s\n", attr, got, want);
    assert_string_equal(got, want);
    free(got);
}

/* {====== Reading ====== */

static void test_attributes_read_lazily_with_cardinality(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *ann = get(db, "1");
    assert_int_equal(dt_entity_id(ann), 1);
    assert_ptr_equal(dt_entity_snapshot(ann), db);
    assert_attr(ann, ":user/name", "\"Ann\"");
    assert_attr(ann, "user/name", "\"Ann\""); /* with or without the colon */
    assert_attr(ann, ":user/tags", "#{:a :b}");
    assert_attr(ann, ":user/pet", "2");
    assert_attr(ann, ":db/id", "1");
    assert_attr(ann, ":user/friend", NOTFOUND);
    assert_attr(ann, ":user/follows", NOTFOUND);
    /* an unknown attribute is an error with its name */
    dt_value v;
    assert_int_equal(dt_entity_attr(ann, ":user/nope", &v), DT_INVALID);
    assert_int_equal(v.type, DT_NIL);
    assert_non_null(strstr(dt_errmsg(ann), ":user/nope"));
    dt_entity_close(ann);
    dt_db_close(db);
}

static void test_typed_getters_and_their_errors(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *ann = get(db, "[:user/email \"ann@x\"]");
    int64_t i;
    double d;
    int b;
    const char *s;
    size_t n;
    assert_int_equal(dt_entity_get_long(ann, ":user/age", &i), DT_OK);
    assert_int_equal(i, 41);
    assert_int_equal(dt_entity_get_double(ann, ":user/score", &d), DT_OK);
    assert_true(d == 2.5);
    assert_int_equal(dt_entity_get_bool(ann, ":user/active", &b), DT_OK);
    assert_int_equal(b, 1);
    assert_int_equal(dt_entity_get_instant(ann, ":user/born", &i), DT_OK);
    assert_int_equal(i, 946771200000LL);
    assert_int_equal(dt_entity_get_string(ann, ":user/name", &s, &n), DT_OK);
    assert_string_equal(s, "Ann");
    assert_int_equal(n, 3);
    assert_int_equal(dt_entity_get_keyword(ann, ":user/role", &s, NULL), DT_OK);
    assert_string_equal(s, "admin");
    /* wrong type: the message names the attribute, held and asked types */
    assert_int_equal(dt_entity_get_long(ann, ":user/name", &i), DT_INVALID);
    assert_int_equal(i, 0);
    assert_string_equal(dt_errmsg(ann), "dt_entity_get_long: :user/name holds string, not long");
    /* cardinality many through a typed getter */
    assert_int_equal(dt_entity_get_keyword(ann, ":user/tags", &s, NULL), DT_INVALID);
    assert_null(s);
    assert_non_null(strstr(dt_errmsg(ann), "cardinality many"));
    /* missing */
    dt_entity *bob = get(db, "5");
    assert_int_equal(dt_entity_get_long(bob, ":user/age", &i), DT_NOTFOUND);
    dt_entity *e = NULL;
    assert_int_equal(dt_entity_get_ref(ann, ":user/friend", &e), DT_NOTFOUND);
    assert_null(e);
    assert_int_equal(dt_entity_get_ref(bob, ":user/friend", &e), DT_OK);
    assert_int_equal(dt_entity_id(e), 1);
    assert_int_equal(dt_entity_get_string(e, ":user/name", &s, NULL), DT_OK);
    assert_string_equal(s, "Ann");
    dt_entity_close(e);
    dt_entity_close(bob);
    dt_entity_close(ann);
    dt_db_close(db);
}

static void test_idents_and_lookup_refs_resolve(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *cy = get(db, ":the/cy");
    assert_int_equal(dt_entity_id(cy), 6);
    assert_attr(cy, ":db/ident", ":the/cy");
    dt_entity_close(cy);
    dt_entity *bob = get(db, "[:user/email \"bob@x\"]");
    assert_int_equal(dt_entity_id(bob), 5);
    dt_entity_close(bob);
    /* an id without datoms is an empty entity; a missing ident is not */
    dt_entity *none = get(db, "999");
    assert_attr(none, ":user/name", NOTFOUND);
    dt_value t;
    assert_int_equal(dt_entity_touch(none, &t), DT_OK);
    char *s = tu_edn(&t);
    assert_string_equal(s, "{:db/id 999}");
    free(s);
    dt_value_free(&t);
    dt_entity_close(none);
    dt_entity *e = (dt_entity *)1;
    dt_value r = tu_read(":no/such");
    assert_int_equal(dt_entity_get(db, &r, &e), DT_NOTFOUND);
    assert_null(e);
    assert_non_null(strstr(dt_errmsg(db), ":no/such"));
    dt_value_free(&r);
    r = tu_read("[:user/email \"zed@x\"]");
    assert_int_equal(dt_entity_get(db, &r, &e), DT_NOTFOUND);
    dt_value_free(&r);
    r = tu_read("[:user/name \"Ann\"]"); /* not unique */
    assert_int_equal(dt_entity_get(db, &r, &e), DT_INVALID);
    dt_value_free(&r);
    r = tu_read("\"ann\"");
    assert_int_equal(dt_entity_get(db, &r, &e), DT_INVALID);
    dt_value_free(&r);
    assert_int_equal(dt_entity_get(NULL, &r, &e), DT_MISUSE);
    dt_db_close(db);
}

static void test_reverse_refs_navigate_to_referrers(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *ann = get(db, "1");
    assert_attr(ann, ":user/_friend", "#{5 6}");
    assert_attr(ann, "user/_follows", "#{5}");
    dt_entity **list;
    size_t n;
    assert_int_equal(dt_entity_refs(ann, ":user/_friend", &list, &n), DT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(dt_entity_id(list[0]), 5);
    assert_int_equal(dt_entity_id(list[1]), 6);
    const char *s;
    assert_int_equal(dt_entity_get_string(list[0], ":user/name", &s, NULL), DT_OK);
    assert_string_equal(s, "Bob");
    dt_entity_list_close(list, n);
    /* the reverse of a component: the owner */
    dt_entity *pet = get(db, "2");
    assert_attr(pet, ":user/_pet", "#{1}");
    assert_attr(pet, ":user/_friend", NOTFOUND);
    assert_int_equal(dt_entity_refs(pet, ":user/_friend", &list, &n), DT_NOTFOUND);
    assert_null(list);
    assert_int_equal(n, 0);
    /* reverse of a non-ref attribute */
    dt_value v;
    assert_int_equal(dt_entity_attr(ann, ":user/_name", &v), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ann), "not a ref attribute"));
    assert_int_equal(dt_entity_refs(ann, ":user/name", &list, &n), DT_INVALID);
    /* forward cardinality many */
    dt_entity *bob = get(db, "5");
    assert_int_equal(dt_entity_refs(bob, ":user/follows", &list, &n), DT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(dt_entity_id(list[1]), 6);
    dt_entity_list_close(list, n);
    dt_entity_close(bob);
    dt_entity_close(pet);
    dt_entity_close(ann);
    dt_db_close(db);
}

static void test_touch_nests_components_only(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *ann = get(db, "1");
    assert_attr(ann, ":user/age", "41"); /* a slot read before touch is kept */
    dt_value t;
    assert_int_equal(dt_entity_touch(ann, &t), DT_OK);
    char *s = tu_edn(&t);
    assert_string_equal(
        s,
        "{:db/id 1, :user/email \"ann@x\", :user/name \"Ann\", :user/age 41, :user/score 2.5,"
        " :user/active true, :user/born #inst \"2000-01-02T00:00:00.000-00:00\", :user/role :admin,"
        " :user/tags #{:a :b}, :user/pet {:db/id 2, :pet/name \"Rex\", :pet/toys"
        " #{{:db/id 3, :toy/name \"ball\"} {:db/id 4, :toy/name \"bone\"}}}}");
    free(s);
    dt_value_free(&t);
    /* after touch, reads come from the entity */
    assert_attr(ann, ":user/tags", "#{:a :b}");
    assert_attr(ann, ":user/friend", NOTFOUND);
    dt_entity *bob = get(db, "5");
    assert_int_equal(dt_entity_touch(bob, &t), DT_OK);
    s = tu_edn(&t);
    assert_string_equal(s, "{:db/id 5, :user/email \"bob@x\", :user/name \"Bob\","
                           " :user/friend {:db/id 1}, :user/follows #{{:db/id 1} {:db/id 6}}}");
    free(s);
    dt_value_free(&t);
    dt_entity_close(bob);
    dt_entity_close(ann);
    dt_db_close(db);
}

static void test_touch_refuses_a_component_cycle(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 10 :user/pet 11] [:db/add 11 :user/pet 10]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *e = get(db, "10");
    dt_value t;
    assert_int_equal(dt_entity_touch(e, &t), DT_LIMIT);
    assert_int_equal(t.type, DT_NIL);
    assert_non_null(strstr(dt_errmsg(e), ":user/pet"));
    dt_entity_close(e);
    dt_db_close(db);
}

/* }====== */

/* {====== Staging and transacting ====== */

static char *staged_edn(dt_entity *e) {
    dt_value tx;
    assert_int_equal(dt_entity_tx_data(e, &tx), DT_OK);
    char *s = tu_edn(&tx);
    dt_value_free(&tx);
    return s;
}

static void assert_staged(dt_entity *e, const char *want) {
    char *got = staged_edn(e);
    if (strcmp(got, want) != 0) fprintf(stderr, "staged: %s\nwant:   %s\n", got, want);
    assert_string_equal(got, want);
    free(got);
}

static void stage_ok(int rc, dt_entity *e) {
    if (rc != DT_OK) fprintf(stderr, "staging: %s\n", dt_errmsg(e));
    assert_int_equal(rc, DT_OK);
}

static void test_every_staged_operation_transacts_exactly(void **state) {
    dt_conn *c = C(state);
    load(c);
    char *before = tu_dump(c, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *ann = get(db, "[:user/email \"ann@x\"]");
    dt_value v = tu_read("42"), tags = tu_read("#{:b :c}"), d = tu_read(":d"),
             cyref = tu_read(":the/cy"), bobref = tu_read("[:user/email \"bob@x\"]"),
             name = tu_read("\"Ann\"");
    stage_ok(dt_entity_assoc(ann, ":user/age", &v), ann);     /* replace card one */
    stage_ok(dt_entity_assoc(ann, ":user/tags", &tags), ann); /* set card many */
    stage_ok(dt_entity_add(ann, ":user/tags", &d), ann);      /* add card many */
    stage_ok(dt_entity_assoc(ann, ":user/friend", &cyref), ann);
    stage_ok(dt_entity_add(ann, ":user/follows", &bobref), ann);
    stage_ok(dt_entity_retract(ann, ":user/name", &name), ann);
    stage_ok(dt_entity_retract_attr(ann, ":user/role"), ann);
    assert_int_equal(dt_entity_staged_count(ann), 9);
    assert_staged(ann, "[[:db/add 1 :user/age 42] [:db/retract 1 :user/tags :a]"
                       " [:db/add 1 :user/tags :b] [:db/add 1 :user/tags :c]"
                       " [:db/add 1 :user/tags :d] [:db/add 1 :user/friend 6]"
                       " [:db/add 1 :user/follows 5] [:db/retract 1 :user/name \"Ann\"]"
                       " [:db/retract 1 :user/role]]");
    /* staging changed neither the database nor the entity's view */
    char *mid = tu_dump(c, 0);
    assert_string_equal(mid, before);
    free(mid);
    assert_attr(ann, ":user/age", "41");
    assert_attr(ann, ":user/tags", "#{:a :b}");
    dt_report *r = NULL;
    int rc = dt_transact_entity(c, ann, &r);
    if (rc != DT_OK) fprintf(stderr, "transact: %s\n", dt_errmsg(c));
    assert_int_equal(rc, DT_OK);
    tu_assert_report(r, "[1 :user/age 41 false]\n[1 :user/age 42 true]\n"
                        "[1 :user/follows 5 true]\n[1 :user/friend 6 true]\n"
                        "[1 :user/name \"Ann\" false]\n[1 :user/role :admin false]\n"
                        "[1 :user/tags :a false]\n[1 :user/tags :c true]\n"
                        "[1 :user/tags :d true]");
    dt_report_close(r);
    /* the entity and its snapshot still show the old state */
    assert_attr(ann, ":user/age", "41");
    char *old = tu_dump_db(db, 0);
    assert_string_equal(old, before);
    free(old);
    /* a new snapshot shows the new one */
    dt_db *db2;
    assert_int_equal(dt_conn_db(c, &db2), DT_OK);
    dt_entity *ann2 = get(db2, "1");
    dt_value t;
    assert_int_equal(dt_entity_touch(ann2, &t), DT_OK);
    char *s = tu_edn(&t);
    assert_string_equal(s, "{:db/id 1, :user/email \"ann@x\", :user/age 42, :user/score 2.5,"
                           " :user/active true, :user/born #inst \"2000-01-02T00:00:00.000-00:00\","
                           " :user/tags #{:b :c :d}, :user/friend {:db/id 6},"
                           " :user/follows #{{:db/id 5}}, :user/pet {:db/id 2, :pet/name \"Rex\","
                           " :pet/toys #{{:db/id 3, :toy/name \"ball\"} {:db/id 4, :toy/name"
                           " \"bone\"}}}}");
    free(s);
    dt_value_free(&t);
    dt_entity_close(ann2);
    dt_db_close(db2);
    free(before);
    dt_value_free(&v);
    dt_value_free(&tags);
    dt_value_free(&d);
    dt_value_free(&cyref);
    dt_value_free(&bobref);
    dt_value_free(&name);
    dt_entity_close(ann);
    dt_db_close(db);
}

static void test_staging_errors_are_clear_and_stage_nothing(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *ann = get(db, "1");
    dt_value str = tu_read("\"x\""), num = tu_read("7"), bad = tu_read("[:a \"x\"]"),
             mixed = tu_read("[:ok \"no\"]"), nil = tu_read("nil"),
             nobody = tu_read("[:user/email \"zed@x\"]");
    assert_int_equal(dt_entity_assoc(ann, ":user/nope", &num), DT_INVALID);
    assert_string_equal(dt_errmsg(ann), "dt_entity_assoc: unknown attribute :user/nope");
    assert_int_equal(dt_entity_assoc(ann, ":user/age", &str), DT_INVALID);
    assert_string_equal(dt_errmsg(ann),
                        "dt_entity_assoc: attribute :user/age expects long, got string \"x\"");
    assert_int_equal(dt_entity_add(ann, ":user/tags", &num), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ann), ":user/tags expects keyword"));
    /* one bad element of a collection stages none of it */
    assert_int_equal(dt_entity_assoc(ann, ":user/tags", &mixed), DT_INVALID);
    assert_int_equal(dt_entity_add(ann, ":user/age", &num), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ann), "cardinality one"));
    assert_int_equal(dt_entity_retract(ann, ":user/name", &num), DT_INVALID);
    assert_int_equal(dt_entity_retract(ann, ":user/name", &nil), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ann), "nil is not a value"));
    assert_int_equal(dt_entity_retract(ann, ":user/name", NULL), DT_INVALID);
    assert_int_equal(dt_entity_retract_attr(ann, ":user/nope"), DT_INVALID);
    assert_int_equal(dt_entity_assoc(ann, ":db/id", &num), DT_INVALID);
    assert_int_equal(dt_entity_assoc(ann, ":user/_friend", &num), DT_INVALID);
    assert_int_equal(dt_entity_assoc(ann, ":user/friend", &bad), DT_INVALID);
    assert_int_equal(dt_entity_assoc(ann, ":user/friend", &nobody), DT_NOTFOUND);
    assert_non_null(strstr(dt_errmsg(ann), "zed@x"));
    assert_int_equal(dt_entity_assoc(ann, ":user/friend", &str), DT_INVALID);
    assert_int_equal(dt_entity_assoc(NULL, ":user/age", &num), DT_MISUSE);
    assert_int_equal(dt_entity_staged_count(ann), 0);
    assert_staged(ann, "[]");
    /* an empty transaction of nothing staged writes only the tx */
    char *before = tu_dump(c, 0);
    assert_int_equal(dt_transact_entity(c, ann, NULL), DT_OK);
    tu_assert_dump(c, before);
    assert_int_equal(dt_transact_entity(c, NULL, NULL), DT_MISUSE);
    free(before);
    dt_value_free(&str);
    dt_value_free(&num);
    dt_value_free(&bad);
    dt_value_free(&mixed);
    dt_value_free(&nil);
    dt_value_free(&nobody);
    dt_entity_close(ann);
    dt_db_close(db);
}

static void test_values_are_coerced_when_staged(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 1 :user/name \"A\"}]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *e = get(db, "1");
    dt_value f = tu_read("3"), one = tu_read("#{:x}");
    /* a long for a double attribute is refused, as by writes */
    assert_int_equal(dt_entity_assoc(e, ":user/score", &f), DT_INVALID);
    dt_value d = tu_read("3.0");
    stage_ok(dt_entity_assoc(e, ":user/score", &d), e);
    stage_ok(dt_entity_assoc(e, ":user/tags", &one), e);
    assert_int_equal(dt_entity_staged_count(e), 2);
    dt_entity_unstage(e);
    dt_entity_unstage(NULL);
    assert_int_equal(dt_entity_staged_count(e), 0);
    stage_ok(dt_entity_assoc(e, ":user/score", &d), e);
    assert_staged(e, "[[:db/add 1 :user/score 3.0]]");
    dt_value_free(&f);
    dt_value_free(&d);
    dt_value_free(&one);
    dt_entity_close(e);
    dt_db_close(db);
}

static void test_retracting_what_the_entity_lacks_changes_nothing(void **state) {
    dt_conn *c = C(state);
    load(c);
    char *before = tu_dump(c, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *cy = get(db, ":the/cy");
    dt_value name = tu_read("\"nobody\""), tag = tu_read(":zz");
    /* cy has no :user/age, no :user/tags, and no such name */
    stage_ok(dt_entity_retract_attr(cy, ":user/age"), cy);
    stage_ok(dt_entity_retract_attr(cy, "user/tags"), cy);
    stage_ok(dt_entity_retract(cy, ":user/name", &name), cy);
    stage_ok(dt_entity_retract(cy, ":user/tags", &tag), cy);
    assert_staged(cy, "[[:db/retract 6 :user/age] [:db/retract 6 :user/tags]"
                      " [:db/retract 6 :user/name \"nobody\"] [:db/retract 6 :user/tags :zz]]");
    dt_report *r;
    assert_int_equal(dt_transact_entity(c, cy, &r), DT_OK);
    tu_assert_report(r, "");
    dt_report_close(r);
    tu_assert_dump(c, before);
    free(before);
    dt_value_free(&name);
    dt_value_free(&tag);
    dt_entity_close(cy);
    dt_db_close(db);
}

static void test_staged_changes_join_larger_tx_data(void **state) {
    dt_conn *c = C(state);
    load(c);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *bob = get(db, "5");
    dt_value none = tu_read("[:user/email \"cy@x\"]");
    stage_ok(dt_entity_retract(bob, ":user/follows", &none), bob);
    stage_ok(dt_entity_retract_attr(bob, ":user/friend"), bob);
    dt_value staged, extra = tu_read("[[:db/add \"new\" :user/name \"Dee\"]]");
    assert_int_equal(dt_entity_tx_data(bob, &staged), DT_OK);
    /* tx-data = extra ++ staged */
    dt_value all;
    assert_int_equal(dt_value_seq(DT_VECTOR, extra.u.seq.n + staged.u.seq.n, &all), DT_OK);
    size_t k = 0;
    for (size_t i = 0; i < extra.u.seq.n; i++)
        assert_int_equal(dt_value_copy(&extra.u.seq.items[i], &all.u.seq.items[k++]), DT_OK);
    for (size_t i = 0; i < staged.u.seq.n; i++)
        assert_int_equal(dt_value_copy(&staged.u.seq.items[i], &all.u.seq.items[k++]), DT_OK);
    dt_report *r;
    assert_int_equal(dt_transact_value(c, &all, &r), DT_OK);
    tu_assert_report(r, "[5 :user/follows 6 false]\n[5 :user/friend 1 false]\n"
                        "[7 :user/name \"Dee\" true]");
    dt_report_close(r);
    dt_value_free(&all);
    dt_value_free(&staged);
    dt_value_free(&extra);
    dt_value_free(&none);
    dt_entity_close(bob);
    dt_db_close(db);
}

static void test_transact_entity_of_another_connection_is_misuse(void **state) {
    dt_conn *c = C(state);
    load(c);
    tu_db *other = tu_db_open(SCHEMA);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_entity *e = get(db, "1");
    dt_value v = tu_read("1");
    stage_ok(dt_entity_assoc(e, ":user/age", &v), e);
    assert_int_equal(dt_transact_entity(other->conn, e, NULL), DT_MISUSE);
    assert_non_null(strstr(dt_errmsg(other->conn), "another connection"));
    dt_value_free(&v);
    dt_entity_close(e);
    dt_db_close(db);
    tu_db_close(other);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_attributes_read_lazily_with_cardinality),
        T(test_typed_getters_and_their_errors),
        T(test_idents_and_lookup_refs_resolve),
        T(test_reverse_refs_navigate_to_referrers),
        T(test_touch_nests_components_only),
        T(test_touch_refuses_a_component_cycle),
        T(test_every_staged_operation_transacts_exactly),
        T(test_staging_errors_are_clear_and_stage_nothing),
        T(test_values_are_coerced_when_staged),
        T(test_retracting_what_the_entity_lacks_changes_nothing),
        T(test_staged_changes_join_larger_tx_data),
        T(test_transact_entity_of_another_connection_is_misuse),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
