/*
 * test_txn_coerce.c -- one value coercion for writes and reads, and reads
 * that validate like writes, through the public API: for every value type
 * a value written with a literal is found with the same literal by every
 * read function; a value that cannot be coerced is refused by writes and
 * reads with the same message; unknown attributes and components of the
 * wrong type are DT_INVALID; attribute names are accepted with and without
 * the leading colon by every function that takes one as C text.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:t/bool {:db/valueType :db.type/boolean :db/unique :db.unique/identity}"
    " :t/long {:db/valueType :db.type/long :db/unique :db.unique/identity}"
    " :t/double {:db/valueType :db.type/double :db/unique :db.unique/identity}"
    " :t/float {:db/valueType :db.type/float :db/unique :db.unique/identity}"
    " :t/bigint {:db/valueType :db.type/bigint :db/unique :db.unique/identity}"
    " :t/bigdec {:db/valueType :db.type/bigdec :db/unique :db.unique/identity}"
    " :t/inst {:db/valueType :db.type/instant :db/unique :db.unique/identity}"
    " :t/str {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :t/kw {:db/valueType :db.type/keyword :db/unique :db.unique/identity}"
    " :t/sym {:db/valueType :db.type/symbol :db/unique :db.unique/identity}"
    " :t/uuid {:db/valueType :db.type/uuid :db/unique :db.unique/identity}"
    " :t/ref {:db/valueType :db.type/ref :db/unique :db.unique/identity}"
    " :t/bytes {:db/valueType :db.type/bytes :db/unique :db.unique/identity}"
    " :t/tuple {:db/valueType :db.type/tuple :db/unique :db.unique/identity}"
    " :t/note {:db/valueType :db.type/string}"
    " :p/age {:db/valueType :db.type/long}}";

TU_DB_FIXTURE(SCHEMA)

static dt_value kw(const char *text) {
    dt_value v = DT_VALUE_NIL;
    assert_int_equal(dt_value_text(DT_KEYWORD, text, strlen(text), &v), DT_OK);
    return v;
}

/* Drains an iterator: the number of datoms, the entity of the first one
 * (0 if none) and of the last; frees it. */
static size_t drain(dt_datom_iter *it, int64_t *first_e) {
    dt_datom d;
    size_t n = 0;
    int rc;
    *first_e = 0;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (!n) *first_e = d.e;
        n++;
    }
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    return n;
}

/* {====== Every read finds what was written with the same literal ====== */

typedef struct rt_case {
    const char *attr;  /* keyword text */
    const char *wrote; /* EDN literal written */
    const char *read;  /* EDN literal read with */
} rt_case;

static const rt_case ROUND_TRIPS[] = {
    {"t/bool", "true", "true"},
    {"t/long", "5", "5"},
    {"t/double", "1.5", "1.5"},
    {"t/float", "1.5", "1.5"},
    {"t/float", "0.1", "0.1"}, /* not exact as a float: coerced the same both ways */
    {"t/bigint", "5", "5"},
    {"t/bigint", "6", "6N"},
    {"t/bigint", "7N", "7"},
    {"t/bigint", "123456789012345678901234567890N", "123456789012345678901234567890N"},
    {"t/bigdec", "5", "5"},
    {"t/bigdec", "6N", "6M"},
    {"t/bigdec", "1.50M", "1.50M"},
    {"t/inst", "#inst \"2020-01-02T03:04:05.006Z\"", "#inst \"2020-01-02T03:04:05.006Z\""},
    {"t/str", "\"x\"", "\"x\""},
    {"t/kw", ":a/b", ":a/b"},
    {"t/sym", "a/b", "a/b"},
    {"t/uuid", "#uuid \"6f1c3f2e-0b7a-4d4e-9a55-1f6e3c2b1a00\"",
     "#uuid \"6f1c3f2e-0b7a-4d4e-9a55-1f6e3c2b1a00\""},
    {"t/ref", "700", "700"},
    {"t/bytes", "#bytes \"AAE=\"", "#bytes \"AAE=\""},
    {"t/tuple", "[1 \"a\"]", "[1 \"a\"]"},
    {"t/tuple", "[[1 2] :k]", "[[1 2] :k]"},
    {"u/any", "[1 2]", "[1 2]"},
    {"u/any", "5", "5"},
};

/* Checks that entity e holds `lit` under `attr` through every read. */
static void check_found(dt_conn *c, const char *attr, const char *lit, int64_t e) {
    char buf[512];
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value comp[3];
    dt_value_long(e, &comp[0]);
    comp[1] = kw(attr);
    comp[2] = tu_read(lit);
    dt_datom_iter *it = NULL;
    int64_t fe;
    const char *what = "";
    int rc;
    /* EAV [e a v] */
    what = "datoms eav";
    if ((rc = dt_db_datoms(db, DT_INDEX_EAV, comp, 3, &it)) != DT_OK) goto fail;
    if (drain(it, &fe) != 1 || fe != e) goto fail;
    /* AVE [a v] and [a v e] */
    what = "datoms ave";
    if ((rc = dt_db_datoms(db, DT_INDEX_AVE, comp + 1, 2, &it)) != DT_OK) goto fail;
    if (drain(it, &fe) != 1 || fe != e) goto fail;
    dt_value avee[3] = {comp[1], comp[2], comp[0]};
    if ((rc = dt_db_datoms(db, DT_INDEX_AVE, avee, 3, &it)) != DT_OK) goto fail;
    if (drain(it, &fe) != 1 || fe != e) goto fail;
    /* seek: the first datom from [a v] is ours */
    what = "seek-datoms";
    if ((rc = dt_db_seek_datoms(db, DT_INDEX_AVE, comp + 1, 2, &it)) != DT_OK) goto fail;
    dt_datom d;
    if (dt_datom_iter_next(it, &d) != DT_ROW || d.e != e || strcmp(d.a, attr) != 0) {
        dt_datom_iter_close(it);
        goto fail;
    }
    dt_datom_iter_close(it);
    /* counts */
    what = "count-datoms";
    uint64_t n = 0;
    if ((rc = dt_db_count_datoms(db, DT_INDEX_EAV, comp, 3, &n)) != DT_OK || n != 1) goto fail;
    if ((rc = dt_db_count_datoms(db, DT_INDEX_AVE, comp + 1, 2, &n)) != DT_OK || n != 1) goto fail;
    /* index range [v, v], both name forms */
    what = "index-range";
    if ((rc = dt_db_index_range(db, attr, &comp[2], &comp[2], &it)) != DT_OK) goto fail;
    if (drain(it, &fe) != 1 || fe != e) goto fail;
    snprintf(buf, sizeof buf, ":%s", attr);
    if ((rc = dt_db_index_range(db, buf, &comp[2], &comp[2], &it)) != DT_OK) goto fail;
    if (drain(it, &fe) != 1 || fe != e) goto fail;
    /* lookup ref [:a v] (every t/ attribute is unique) */
    if (!strncmp(attr, "t/", 2)) {
        what = "entid of a lookup ref";
        dt_value lr;
        assert_int_equal(dt_value_seq(DT_VECTOR, 2, &lr), DT_OK);
        assert_int_equal(dt_value_copy(&comp[1], &lr.u.seq.items[0]), DT_OK);
        assert_int_equal(dt_value_copy(&comp[2], &lr.u.seq.items[1]), DT_OK);
        int64_t id = 0;
        rc = dt_db_entid(db, &lr, &id);
        dt_value_free(&lr);
        if (rc != DT_OK || id != e) goto fail;
        /* and in tx-data */
        snprintf(buf, sizeof buf, "[[:db/add [:%s %s] :t/note \"via lookup\"]]", attr, lit);
        what = buf;
        tu_tx(c, buf, DT_OK, 0);
    }
    for (int i = 0; i < 3; i++) dt_value_free(&comp[i]);
    dt_db_close(db);
    return;
fail:
    fail_msg("%s %s %s (entity %lld): rc %d %s", what, attr, lit, (long long)e, rc, dt_errmsg(db));
}

static void test_every_read_finds_what_was_written_with_the_same_literal(void **state) {
    dt_conn *c = C(state);
    char tx[512];
    for (size_t i = 0; i < sizeof ROUND_TRIPS / sizeof ROUND_TRIPS[0]; i++) {
        const rt_case *k = &ROUND_TRIPS[i];
        int64_t e = 100 + (int64_t)i;
        snprintf(tx, sizeof tx, "[[:db/add %lld :%s %s]]", (long long)e, k->attr, k->wrote);
        tu_tx(c, tx, DT_OK, 0);
        check_found(c, k->attr, k->read, e);
        /* a retraction with the read literal finds it too */
        snprintf(tx, sizeof tx, "[[:db/retract %lld :%s %s]]", (long long)e, k->attr, k->read);
        dt_report *r = tu_tx(c, tx, DT_OK, 1);
        assert_int_equal(dt_report_count(r), 2); /* the retraction and :db/txInstant */
        dt_report_close(r);
    }
}

/* C-built values of the neighbouring type coerce the same way. */
static void test_float_and_double_values_built_in_c_coerce_both_ways(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :t/double 2.5] [:db/add 2 :t/float 3.5]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value comp[2];
    comp[0] = kw("t/double");
    dt_value_float(2.5f, &comp[1]);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, comp, 2, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_value_free(&comp[0]);
    comp[0] = kw("t/float");
    dt_value_double(3.5, &comp[1]);
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, comp, 2, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_value_free(&comp[0]);
    dt_db_close(db);
}

/* }====== */

/* {====== Refused the same way by writes and reads ====== */

typedef struct bad_case {
    const char *attr, *lit, *msg;
} bad_case;

static const bad_case REFUSED[] = {
    {"t/long", "\"x\"", "attribute :t/long expects long, got string \"x\""},
    {"t/long", "1.5", "attribute :t/long expects long, got double 1.5"},
    {"t/long", "nil", "attribute :t/long: nil is not a value"},
    {"t/double", "3", "attribute :t/double expects double, got long 3"},
    {"t/float", "1.0e300", "attribute :t/float expects float, got double"},
    {"t/bigint", "1.5", "attribute :t/bigint expects bigint, got double 1.5"},
    {"t/bigint", "1.5M", "attribute :t/bigint expects bigint, got bigdec 1.5M"},
    {"t/inst", "5", "attribute :t/inst expects instant, got long 5"},
    {"t/str", ":a", "attribute :t/str expects string, got keyword :a"},
    {"t/kw", "\"a\"", "attribute :t/kw expects keyword, got string \"a\""},
    {"t/bool", "1", "attribute :t/bool expects boolean, got long 1"},
    {"t/tuple", "\"x\"", "attribute :t/tuple expects tuple, got string \"x\""},
    {"t/uuid", "\"x\"", "attribute :t/uuid expects uuid, got string \"x\""},
    {"u/any", "#{1}", "attribute :u/any expects a datom value, got set #{1}"},
};

static void expect_refused(dt_db *db, int rc, const char *what, const bad_case *k) {
    if (rc != DT_INVALID)
        fail_msg("%s :%s %s: rc %d (%s), wanted DT_INVALID", what, k->attr, k->lit, rc,
                 dt_errmsg(db));
    if (!strstr(dt_errmsg(db), k->msg))
        fail_msg("%s :%s %s: message \"%s\" lacks \"%s\"", what, k->attr, k->lit, dt_errmsg(db),
                 k->msg);
}

static void test_what_cannot_be_coerced_is_refused_by_writes_and_reads_alike(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :u/any 1] [:db/add 1 :t/long 1]]", DT_OK, 0);
    char tx[256];
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        const bad_case *k = &REFUSED[i];
        snprintf(tx, sizeof tx, "[[:db/add 1 :%s %s]]", k->attr, k->lit);
        tu_assert_fails_unchanged(c, tx, DT_INVALID, k->msg);
        dt_db *db;
        assert_int_equal(dt_conn_db(c, &db), DT_OK);
        dt_value comp[3];
        dt_value_long(1, &comp[0]);
        comp[1] = kw(k->attr);
        comp[2] = tu_read(k->lit);
        dt_datom_iter *it = (dt_datom_iter *)&it; /* must be reset to NULL */
        uint64_t n = 77;
        expect_refused(db, dt_db_datoms(db, DT_INDEX_EAV, comp, 3, &it), "datoms eav", k);
        assert_null(it);
        expect_refused(db, dt_db_datoms(db, DT_INDEX_AVE, comp + 1, 2, &it), "datoms ave", k);
        expect_refused(db, dt_db_seek_datoms(db, DT_INDEX_AVE, comp + 1, 2, &it), "seek", k);
        expect_refused(db, dt_db_count_datoms(db, DT_INDEX_EAV, comp, 3, &n), "count", k);
        assert_int_equal(n, 0);
        if (comp[2].type != DT_NIL) { /* nil bounds mean "unbounded" */
            expect_refused(db, dt_db_index_range(db, k->attr, &comp[2], NULL, &it), "range", k);
            expect_refused(db, dt_db_index_range(db, k->attr, NULL, &comp[2], &it), "range", k);
        }
        if (!strncmp(k->attr, "t/", 2)) {
            dt_value lr;
            assert_int_equal(dt_value_seq(DT_VECTOR, 2, &lr), DT_OK);
            lr.u.seq.items[0] = comp[1];
            lr.u.seq.items[1] = comp[2];
            int64_t id;
            expect_refused(db, dt_db_entid(db, &lr, &id), "entid", k);
            dt_value_nil(&lr.u.seq.items[0]);
            dt_value_nil(&lr.u.seq.items[1]);
            dt_value_free(&lr);
            snprintf(tx, sizeof tx, "[[:db/add [:%s %s] :t/note \"n\"]]", k->attr, k->lit);
            tu_assert_fails_unchanged(c, tx, DT_INVALID, k->msg);
        }
        for (int j = 0; j < 3; j++) dt_value_free(&comp[j]);
        dt_db_close(db);
    }
}

/* The bulk loader coerces with the same function. */
static void test_bulk_load_coerces_like_transact(void **state) {
    dt_conn *c = C(state);
    dt_loader *ld;
    assert_int_equal(dt_loader_open(c, DT_LOAD_FILL, NULL, &ld), DT_OK);
    const char *data = "[1 :t/bigint 5] [1 :t/float 0.1] [1 :t/tuple [1 2]]";
    assert_int_equal(dt_loader_add_edn(ld, data, strlen(data)), DT_OK);
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    check_found(c, "t/bigint", "5N", 1);
    check_found(c, "t/float", "0.1", 1);
    check_found(c, "t/tuple", "[1 2]", 1);
    assert_int_equal(dt_loader_open(c, DT_LOAD_FILL, NULL, &ld), DT_OK);
    dt_value v = tu_read("\"x\"");
    assert_int_equal(dt_loader_add(ld, 2, "t/long", &v), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ld), "attribute :t/long expects long, got string \"x\""));
    dt_value_free(&v);
    dt_loader_close(ld);
}

/* }====== */

/* {====== Reads validate like writes ====== */

static void expect_invalid(dt_db *db, int rc, const char *what, const char *needle) {
    if (rc != DT_INVALID) fail_msg("%s: rc %d (%s), wanted DT_INVALID", what, rc, dt_errmsg(db));
    if (!strstr(dt_errmsg(db), needle))
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, dt_errmsg(db), needle);
}

static void test_unknown_attributes_and_wrong_components_are_invalid(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/age 30] [:db/add 2 :t/str \"s\"]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_datom_iter *it;
    uint64_t n;
    dt_value e1, unk = kw("p/agee"), str = tu_read("\"p/age\""), dbl = tu_read("1.5");
    dt_value_long(1, &e1);
    const char *U = "unknown attribute :p/agee";
    dt_value eav[2] = {e1, unk}, ave[1] = {unk};
    expect_invalid(db, dt_db_datoms(db, DT_INDEX_EAV, eav, 2, &it), "datoms eav", U);
    expect_invalid(db, dt_db_datoms(db, DT_INDEX_AVE, ave, 1, &it), "datoms ave", U);
    expect_invalid(db, dt_db_seek_datoms(db, DT_INDEX_AVE, ave, 1, &it), "seek ave", U);
    expect_invalid(db, dt_db_seek_datoms(db, DT_INDEX_EAV, eav, 2, &it), "seek eav", U);
    expect_invalid(db, dt_db_count_datoms(db, DT_INDEX_AVE, ave, 1, &n), "count ave", U);
    expect_invalid(db, dt_db_count_datoms(db, DT_INDEX_EAV, eav, 2, &n), "count eav", U);
    expect_invalid(db, dt_db_index_range(db, "p/agee", NULL, NULL, &it), "range", U);
    expect_invalid(db, dt_db_index_range(db, ":p/agee", NULL, NULL, &it), "range :", U);
    dt_attr_stats st;
    expect_invalid(db, dt_db_attr_stats(db, "p/agee", &st), "stats", U);
    expect_invalid(db, dt_db_attr_stats(db, ":p/agee", &st), "stats :", U);
    dt_value lr;
    assert_int_equal(dt_value_seq(DT_VECTOR, 2, &lr), DT_OK);
    lr.u.seq.items[0] = kw("p/agee");
    dt_value_long(3, &lr.u.seq.items[1]);
    int64_t id;
    expect_invalid(db, dt_db_entid(db, &lr, &id), "entid", U);
    dt_value lr_eav[1] = {lr};
    expect_invalid(db, dt_db_datoms(db, DT_INDEX_EAV, lr_eav, 1, &it), "datoms lookup e", U);
    /* the attribute component must be a keyword */
    dt_value eav_s[2] = {e1, str};
    expect_invalid(db, dt_db_datoms(db, DT_INDEX_EAV, eav_s, 2, &it), "string attribute",
                   "must be a keyword");
    expect_invalid(db, dt_db_count_datoms(db, DT_INDEX_AVE, &str, 1, &n), "count string attribute",
                   "must be a keyword");
    /* the entity component must be a reference */
    dt_value eav_d[1] = {dbl};
    expect_invalid(db, dt_db_datoms(db, DT_INDEX_EAV, eav_d, 1, &it), "double entity",
                   "expected an entity reference");
    dt_value ave_e[3] = {kw("p/age"), tu_read("30"), str};
    expect_invalid(db, dt_db_datoms(db, DT_INDEX_AVE, ave_e, 3, &it), "string entity",
                   "expected an entity reference");
    dt_value_free(&ave_e[0]);
    dt_value_free(&ave_e[1]);
    dt_value_free(&lr);
    dt_value_free(&unk);
    dt_value_free(&str);
    dt_value_free(&dbl);
    dt_db_close(db);
}

static void test_attribute_names_with_and_without_colon_are_the_same(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[[:db/add 1 :p/age 30] [:db/add 2 :p/age 40]]", DT_OK, 0);
    /* the loader accepts both forms and creates no second attribute */
    dt_loader *ld;
    assert_int_equal(dt_loader_open(c, DT_LOAD_FILL, NULL, &ld), DT_OK);
    dt_value v;
    dt_value_long(50, &v);
    assert_int_equal(dt_loader_add(ld, 3, ":p/age", &v), DT_OK);
    dt_value_long(60, &v);
    assert_int_equal(dt_loader_add(ld, 4, "p/age", &v), DT_OK);
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    char *schema = NULL;
    assert_int_equal(dt_conn_schema(c, &schema), DT_OK);
    assert_null(strstr(schema, "::p/age"));
    dt_free(schema);
    tu_assert_dump(c, "[1 :p/age 30]\n[2 :p/age 40]\n[3 :p/age 50]\n[4 :p/age 60]");
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    const char *names[2] = {"p/age", ":p/age"};
    for (int i = 0; i < 2; i++) {
        dt_value lo = tu_read("35"), hi = tu_read("55"), a = kw(names[i]);
        dt_datom_iter *it;
        int64_t fe;
        assert_int_equal(dt_db_index_range(db, names[i], &lo, &hi, &it), DT_OK);
        assert_int_equal(drain(it, &fe), 2);
        assert_int_equal(fe, 2);
        dt_attr_stats st;
        assert_int_equal(dt_db_attr_stats(db, names[i], &st), DT_OK);
        assert_int_equal(st.count, 4);
        assert_int_equal(st.min.u.i, 30);
        dt_attr_stats_free(&st);
        /* a keyword built with the colon names the same attribute */
        uint64_t n = 0;
        assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, &a, 1, &n), DT_OK);
        assert_int_equal(n, 4);
        dt_value comps[2] = {a, lo};
        assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, comps, 2, &it), DT_OK);
        dt_datom d;
        assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
        assert_int_equal(d.e, 2);
        assert_string_equal(d.a, "p/age");
        dt_datom_iter_close(it);
        dt_value eav[2];
        dt_value_long(3, &eav[0]);
        eav[1] = a;
        assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, eav, 2, &it), DT_OK);
        assert_int_equal(drain(it, &fe), 1);
        assert_int_equal(fe, 3);
        dt_value_free(&lo);
        dt_value_free(&hi);
        dt_value_free(&a);
    }
    dt_db_close(db);
}

/* }====== */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_every_read_finds_what_was_written_with_the_same_literal),
        T(test_float_and_double_values_built_in_c_coerce_both_ways),
        T(test_what_cannot_be_coerced_is_refused_by_writes_and_reads_alike),
        T(test_bulk_load_coerces_like_transact),
        T(test_unknown_attributes_and_wrong_components_are_invalid),
        T(test_attribute_names_with_and_without_colon_are_the_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
