/*
 * test_query_pull.c -- pull (query/pull.c; dt_pull, dt_pull_value,
 * dt_pull_many): one case per feature of the pattern language with the
 * exact map expected (as DataScript gives it), the errors, and every
 * `:op :pull` / `:op :pull-many` case of the shared conformance suite.
 */
#include "confutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

/* The number of :pull and :pull-many cases in cases.edn; the test fails
 * if it runs another number, so it cannot pass by skipping. */
#define EXPECTED_PULL_CASES 9

/* {====== Comparing pulled values ====== */

static int is_int_type(dt_type t) { return t == DT_LONG || t == DT_REF; }
static int is_num_type(dt_type t) { return is_int_type(t) || t == DT_DOUBLE || t == DT_FLOAT; }
static double num_of(const dt_value *v) {
    return v->type == DT_DOUBLE ? v->u.d : v->type == DT_FLOAT ? v->u.f : (double)v->u.i;
}

static int vmatch(const dt_value *want, const dt_value *got, int loose);

/* Multiset match of want's and got's items. */
static int items_as_sets(const dt_value *want, const dt_value *got, int loose) {
    size_t n = want->u.seq.n;
    if (got->u.seq.n != n) return 0;
    char *used = calloc(n + 1, 1);
    assert_non_null(used);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        int found = 0;
        for (size_t j = 0; j < n && !found; j++)
            if (!used[j] && vmatch(&want->u.seq.items[i], &got->u.seq.items[j], loose))
                used[j] = found = 1;
        ok = found;
    }
    free(used);
    return ok;
}

/*
 * Matches a pulled value against the expected one: maps by key (any
 * order), ids as numbers (an expected 5 matches the DT_REF 5), an
 * expected set against a vector as multisets.  loose (the conformance
 * rule): numbers numerically across types and every vector as a set.
 */
static int vmatch(const dt_value *want, const dt_value *got, int loose) {
    if (is_int_type(want->type) && is_int_type(got->type)) return want->u.i == got->u.i;
    if (loose && is_num_type(want->type) && is_num_type(got->type))
        return num_of(want) == num_of(got);
    if (want->type == DT_MAP) {
        if (got->type != DT_MAP || got->u.seq.n != want->u.seq.n) return 0;
        for (size_t i = 0; i < want->u.seq.n; i += 2) {
            const dt_value *gv = NULL;
            for (size_t j = 0; j < got->u.seq.n && !gv; j += 2)
                if (dt_value_equal(&want->u.seq.items[i], &got->u.seq.items[j]))
                    gv = &got->u.seq.items[j + 1];
            if (!gv || !vmatch(&want->u.seq.items[i + 1], gv, loose)) return 0;
        }
        return 1;
    }
    if (want->type == DT_SET || (loose && want->type == DT_VECTOR)) {
        if (got->type != DT_VECTOR && got->type != DT_SET) return 0;
        return items_as_sets(want, got, loose);
    }
    if (want->type == DT_VECTOR) {
        if (got->type != DT_VECTOR || got->u.seq.n != want->u.seq.n) return 0;
        for (size_t i = 0; i < want->u.seq.n; i++)
            if (!vmatch(&want->u.seq.items[i], &got->u.seq.items[i], 0)) return 0;
        return 1;
    }
    return dt_value_equal(want, got);
}

/* }====== */

/* {====== The feature database ====== */

static const char *SCHEMA =
    "{:email {:db/unique :db.unique/identity}"
    " :friend {:db/valueType :db.type/ref}"
    " :follows {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :alias {:db/cardinality :db.cardinality/many}"
    " :pet {:db/valueType :db.type/ref :db/isComponent true}"
    " :parts {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many"
    "         :db/isComponent true}"
    " :color {:db/valueType :db.type/ref}"
    " :next {:db/valueType :db.type/ref}}";

static const char *DATA =
    "[{:db/id 1 :name \"Ivan\" :age 25 :email \"ivan@x\" :alias [\"c\" \"a\" \"b\"]"
    "  :friend 2 :follows [2 3] :pet 10}"
    " {:db/id 2 :name \"Petr\" :age 30 :email \"petr@x\" :follows [3] :friend 1}"
    " {:db/id 3 :name \"Oleg\" :follows [1]}"
    " {:db/id 4 :name \"Lone\"}"
    " {:db/id 10 :pet/name \"Rex\"}"
    " {:db/id 20 :name \"Car\" :parts [21 22]}"
    " {:db/id 21 :part/name \"wheel\" :parts [23]}"
    " {:db/id 22 :part/name \"seat\"}"
    " {:db/id 23 :part/name \"bolt\"}"
    " {:db/id 30 :db/ident :red}"
    " {:db/id 31 :name \"Apple\" :color 30}]";

TU_SNAP_FIXTURE(SCHEMA, DATA)

/* The arena every check pulls into as well (reset after each check). */
static dt_arena *check_arena(void) {
    static dt_arena *a;
    if (!a) assert_int_equal(dt_arena_new(&a), DT_OK);
    return a;
}

/* Asserts dt_pull_in gives what dt_pull gave (rc, and the value). */
static void check_same_in_arena(dt_db *db, const char *pattern, size_t len, const dt_value *e,
                                int want_rc, const dt_value *want) {
    dt_arena *a = check_arena();
    dt_value got = DT_VALUE_NIL;
    int rc = dt_pull_in(db, pattern, len, e, a, &got);
    if (rc != want_rc)
        fail_msg("dt_pull_in %.*s: %d, dt_pull gave %d (%s)", (int)len, pattern, rc, want_rc,
                 dt_errmsg(db));
    if (rc != DT_OK) assert_int_equal(got.type, DT_NIL);
    if (rc == DT_OK && !dt_value_equal(want, &got)) {
        char *ws = tu_edn(want), *gs = tu_edn(&got);
        fail_msg("dt_pull_in %.*s:\n  dt_pull    %s\n  dt_pull_in %s", (int)len, pattern, ws, gs);
    }
    dt_arena_reset(a);
}

/* Pulls `pattern` for the entity given as EDN and asserts the result
 * matches `want` (EDN; "nil" for nil), into an arena as well. */
static void check_pull(dt_db *db, const char *pattern, const char *eid, const char *want) {
    dt_value e = tu_read(eid), w = tu_read(want), got = DT_VALUE_NIL;
    int rc = dt_pull(db, pattern, strlen(pattern), &e, &got);
    if (rc != DT_OK) fail_msg("pull %s of %s failed (%d): %s", pattern, eid, rc, dt_errmsg(db));
    if (!vmatch(&w, &got, 0)) {
        char *gs = tu_edn(&got);
        fail_msg("pull %s of %s:\n  want %s\n  got  %s", pattern, eid, want, gs);
    }
    check_same_in_arena(db, pattern, strlen(pattern), &e, DT_OK, &got);
    dt_value_free(&e);
    dt_value_free(&w);
    dt_value_free(&got);
}
#define PULL(pattern, eid, want) check_pull(DB(state), pattern, eid, want)

/* Asserts the pull fails with rc and a message containing needle. */
static void check_fail(dt_db *db, const char *pattern, const char *eid, int want_rc,
                       const char *needle) {
    dt_value e = tu_read(eid), got = DT_VALUE_NIL;
    int rc = dt_pull(db, pattern, strlen(pattern), &e, &got);
    if (rc != want_rc)
        fail_msg("pull %s of %s: wanted %d, got %d (%s)", pattern, eid, want_rc, rc, dt_errmsg(db));
    assert_int_equal(got.type, DT_NIL);
    if (!strstr(dt_errmsg(db), needle))
        fail_msg("pull %s: message \"%s\" lacks \"%s\"", pattern, dt_errmsg(db), needle);
    check_same_in_arena(db, pattern, strlen(pattern), &e, want_rc, NULL);
    if (!strstr(dt_errmsg(db), needle))
        fail_msg("dt_pull_in %s: message \"%s\" lacks \"%s\"", pattern, dt_errmsg(db), needle);
    dt_value_free(&e);
}
#define FAIL(pattern, eid, rc, needle) check_fail(DB(state), pattern, eid, rc, needle)

/* }====== */

/* {====== Features ====== */

static void test_attributes(void **state) {
    PULL("[:name :age]", "1", "{:name \"Ivan\" :age 25}");
    PULL("[:name :nick]", "4", "{:name \"Lone\"}"); /* absent attributes are left out */
    PULL("(:name :age)", "2", "{:name \"Petr\" :age 30}");
    PULL("[:age :name :age]", "2", "{:name \"Petr\" :age 30}");
    PULL("[:no/such-attr :name]", "4", "{:name \"Lone\"}");
}

static void test_nothing_selected_is_nil(void **state) {
    PULL("[:nick]", "4", "nil");
    PULL("[:name]", "999", "nil");
    PULL("[*]", "999", "{:db/id 999}");
    PULL("[:no/such-attr]", "1", "nil");
    PULL("[]", "1", "nil");
    PULL("[{:friend [:nick]}]", "1", "nil"); /* a nested nil is dropped */
}

static void test_cardinality_many_is_a_vector_in_value_order(void **state) {
    PULL("[:alias]", "1", "{:alias [\"a\" \"b\" \"c\"]}");
    PULL("[:follows]", "1", "{:follows [{:db/id 2} {:db/id 3}]}");
}

static void test_db_id(void **state) {
    PULL("[:db/id :name]", "1", "{:db/id 1 :name \"Ivan\"}");
    PULL("[:db/id]", "999", "{:db/id 999}");
    dt_value e = tu_read("1"), got = DT_VALUE_NIL;
    assert_int_equal(dt_pull(DB(state), "[:db/id]", 8, &e, &got), DT_OK);
    assert_int_equal(got.type, DT_MAP);
    assert_int_equal(got.u.seq.items[1].type, DT_LONG); /* ids are longs, as in queries */
    dt_value_free(&got);
    dt_value_free(&e);
}

static void test_wildcard(void **state) {
    PULL("[*]", "2",
         "{:db/id 2 :name \"Petr\" :age 30 :email \"petr@x\" :follows [{:db/id 3}]"
         " :friend {:db/id 1}}");
    PULL("[* :db/id]", "4", "{:db/id 4 :name \"Lone\"}");
    /* an explicit spec overrides the wildcard's for its attribute */
    PULL("[* {:friend [:name]}]", "2",
         "{:db/id 2 :name \"Petr\" :age 30 :email \"petr@x\" :follows [{:db/id 3}]"
         " :friend {:name \"Ivan\"}}");
    PULL("[[:name :as \"n\"] *]", "4", "{:db/id 4 \"n\" \"Lone\"}");
}

static void test_components_pulled_recursively_under_wildcard(void **state) {
    PULL("[*]", "20",
         "{:db/id 20 :name \"Car\" :parts [{:db/id 21 :part/name \"wheel\""
         "  :parts [{:db/id 23 :part/name \"bolt\"}]} {:db/id 22 :part/name \"seat\"}]}");
    PULL("[:name :pet]", "1", "{:name \"Ivan\" :pet {:db/id 10 :pet/name \"Rex\"}}");
    PULL("[:name {:pet [:pet/name]}]", "1", "{:name \"Ivan\" :pet {:pet/name \"Rex\"}}");
}

static void test_component_cycles_end(void **state) {
    dt_conn *c = C(state);
    tu_tx(c, "[{:db/id 70 :parts [71]} {:db/id 71 :parts [70]}]", DT_OK, 0);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    /* components follow the recursion rule: the second visit of 71 is on
     * the path (the root 70 is not, so it is pulled once more) */
    check_pull(db, "[*]", "70",
               "{:db/id 70 :parts [{:db/id 71 :parts [{:db/id 70 :parts [{:db/id 71}]}]}]}");
    dt_db_close(db);
}

static void test_compiled_pattern_on_another_schema(void **state) {
    /* compiled on the fixture's database, run on another whose attribute
     * ids differ: it compiles again rather than reading wrong attributes */
    dt_value pat = tu_read("[:name {:friend [:name]}]"), got = DT_VALUE_NIL;
    dq_pull *p = NULL;
    assert_int_equal(dq_pull_compile(DB(state), &pat, &p), DT_OK);
    tu_db *other = tu_db_open("{:zzz {:db/cardinality :db.cardinality/many}"
                              " :friend {:db/valueType :db.type/ref}}");
    tu_tx(other->conn, "[{:db/id 1 :zzz [1 2] :friend 2 :name \"A\"} {:db/id 2 :name \"B\"}]",
          DT_OK, 0);
    dt_db *db2 = NULL;
    assert_int_equal(dt_conn_db(other->conn, &db2), DT_OK);
    assert_int_equal(dq_pull_run(p, db2, 1, NULL, &got), DT_OK);
    dt_value want = tu_read("{:name \"A\" :friend {:name \"B\"}}");
    assert_true(vmatch(&want, &got, 0));
    dt_value_free(&got);
    dt_value_free(&want);
    dt_db_close(db2);
    tu_db_close(other);
    dq_pull_free(p);
    dt_value_free(&pat);
}

/* One compiled pattern run by several threads at once, each on its own
 * snapshot: every run gives the same map. */
typedef struct shared_run {
    dt_conn *conn;
    const dq_pull *p;
    const dt_value *want;
    int bad;
} shared_run;

static void *shared_runner(void *arg) {
    shared_run *s = arg;
    dt_db *db = NULL;
    if (dt_conn_db(s->conn, &db) != DT_OK) {
        s->bad = -1;
        return NULL;
    }
    for (int i = 0; i < 300; i++) {
        dt_value got = DT_VALUE_NIL;
        if (dq_pull_run(s->p, db, 1, NULL, &got) != DT_OK || !vmatch(s->want, &got, 0)) s->bad++;
        dt_value_free(&got);
    }
    dt_db_close(db);
    return NULL;
}

static void test_compiled_pattern_shared_by_threads(void **state) {
    dt_value pat = tu_read("[:name :alias {:follows ...} {:_friend [:name]} *]");
    dq_pull *p = NULL;
    assert_int_equal(dq_pull_compile(DB(state), &pat, &p), DT_OK);
    dt_value want = DT_VALUE_NIL;
    assert_int_equal(dq_pull_run(p, DB(state), 1, NULL, &want), DT_OK);
    assert_int_equal(want.type, DT_MAP);
    shared_run runs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        runs[i] = (shared_run){C(state), p, &want, 0};
        assert_int_equal(pthread_create(&t[i], NULL, shared_runner, &runs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(runs[i].bad, 0);
    }
    dt_value_free(&want);
    dq_pull_free(p);
    dt_value_free(&pat);
}

static void test_nested_maps_for_refs(void **state) {
    PULL("[:name {:friend [:name]}]", "1", "{:name \"Ivan\" :friend {:name \"Petr\"}}");
    PULL("[:name {:follows [:name {:friend [:name]}]}]", "1",
         "{:name \"Ivan\" :follows [{:name \"Petr\" :friend {:name \"Ivan\"}} {:name \"Oleg\"}]}");
    PULL("[:friend]", "1", "{:friend {:db/id 2}}"); /* no sub-pattern: the id */
    PULL("[{:friend [:name] :follows [:db/id]}]", "2",
         "{:friend {:name \"Ivan\"} :follows [{:db/id 3}]}");
}

static void test_enum_refs_give_ids(void **state) {
    PULL("[:name :color]", "31", "{:name \"Apple\" :color {:db/id 30}}");
    PULL("[{:color [:db/ident]}]", "31", "{:color {:db/ident :red}}");
}

static void test_reverse_refs(void **state) {
    PULL("[:name {:_follows [:name]}]", "3",
         "{:name \"Oleg\" :_follows [{:name \"Ivan\"} {:name \"Petr\"}]}");
    PULL("[:_friend]", "1", "{:_friend [{:db/id 2}]}");
    PULL("[:_follows]", "4", "nil");
    /* the reverse of a component attribute is one entity */
    PULL("[:_pet]", "10", "{:_pet {:db/id 1}}");
    PULL("[{:_parts [:name]}]", "22", "{:_parts {:name \"Car\"}}");
    PULL("[[:_follows :as :fans :limit 1]]", "3", "{:fans [{:db/id 1}]}");
    PULL("[[:_follows :default :none]]", "4", "{:_follows :none}");
}

static void test_as_option(void **state) {
    PULL("[[:name :as \"n\"] (:age :as :years)]", "1", "{\"n\" \"Ivan\" :years 25}");
    PULL("[[:name :as \"n\"] :name]", "4", "{\"n\" \"Lone\" :name \"Lone\"}");
    PULL("[{[:friend :as :pal] [:name]}]", "1", "{:pal {:name \"Petr\"}}");
    PULL("[[:db/id :as :id]]", "4", "{:id 4}");
}

static void test_limit_option(void **state) {
    PULL("[[:alias :limit 2]]", "1", "{:alias [\"a\" \"b\"]}");
    PULL("[(limit :alias 1)]", "1", "{:alias [\"a\"]}");
    PULL("[[:alias :limit nil]]", "1", "{:alias [\"a\" \"b\" \"c\"]}");
    PULL("[{[:follows :limit 1] [:name]}]", "1", "{:follows [{:name \"Petr\"}]}");
    PULL("[{(limit :follows 1) [:name]}]", "1", "{:follows [{:name \"Petr\"}]}");
}

static void test_default_limit_is_1000(void **state) {
    dt_conn *c = C(state);
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dt_buf_printf(&b, "[{:db/id 50 :alias ["), DT_OK);
    for (int i = 0; i < 1005; i++) assert_int_equal(dt_buf_printf(&b, "\"x%04d\" ", i), DT_OK);
    assert_int_equal(dt_buf_printf(&b, "]}]"), DT_OK);
    assert_int_equal(dt_buf_terminate(&b), DT_OK);
    tu_tx(c, (const char *)b.p, DT_OK, 0);
    dt_buf_release(&b);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    const size_t want[3] = {1000, 1005, 3};
    const char *pats[3] = {"[:alias]", "[[:alias :limit nil]]", "[[:alias :limit 3]]"};
    for (int k = 0; k < 3; k++) {
        dt_value e = tu_read("50"), got = DT_VALUE_NIL;
        assert_int_equal(dt_pull(db, pats[k], strlen(pats[k]), &e, &got), DT_OK);
        assert_int_equal(got.type, DT_MAP);
        const dt_value *v = &got.u.seq.items[1];
        assert_int_equal(v->type, DT_VECTOR);
        assert_int_equal(v->u.seq.n, want[k]);
        assert_string_equal(v->u.seq.items[0].u.s.ptr, "x0000"); /* value order */
        dt_value_free(&got);
        dt_value_free(&e);
    }
    dt_db_close(db);
}

static void test_limit_on_refs(void **state) {
    dt_conn *c = C(state);
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dt_buf_printf(&b, "[{:db/id 80 :follows ["), DT_OK);
    for (int i = 0; i < 1005; i++) assert_int_equal(dt_buf_printf(&b, "%d ", 5000 + i), DT_OK);
    assert_int_equal(dt_buf_printf(&b, "]} {:db/id 5001 :nick \"y\"} {:db/id 5002 :nick \"z\"}"),
                     DT_OK);
    for (int i = 0; i < 1005; i++)
        assert_int_equal(dt_buf_printf(&b, " {:db/id %d :age %d}", 5000 + i, i), DT_OK);
    assert_int_equal(dt_buf_printf(&b, "]"), DT_OK);
    assert_int_equal(dt_buf_terminate(&b), DT_OK);
    tu_tx(c, (const char *)b.p, DT_OK, 0);
    dt_buf_release(&b);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    static const struct {
        const char *pattern;
        size_t n;
        int64_t first;
    } cases[] = {
        {"[:follows]", 1000, 5000},                    /* the default limit */
        {"[[:follows :limit nil]]", 1005, 5000},       /* all */
        {"[{[:follows :limit 3] [:db/id]}]", 3, 5000}, /* sub-pattern with :db/id */
        {"[{[:follows :limit 3] [*]}]", 3, 5000},
        /* nested pulls that give nil are dropped and do not count */
        {"[{[:follows :limit 1] [:nick]}]", 1, -1},
        {"[{[:follows :limit 5] [:nick]}]", 2, -1},
        {"[[:_follows :limit 2]]", 1, 80}, /* reverse, on 5000 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dt_value e, got = DT_VALUE_NIL;
        dt_value_long(k == 6 ? 5000 : 80, &e);
        const char *pat = cases[k].pattern;
        if (dt_pull(db, pat, strlen(pat), &e, &got) != DT_OK)
            fail_msg("%s: %s", pat, dt_errmsg(db));
        assert_int_equal(got.type, DT_MAP);
        const dt_value *v = &got.u.seq.items[1];
        assert_int_equal(v->type, DT_VECTOR);
        if (v->u.seq.n != cases[k].n)
            fail_msg("%s: %zu values, want %zu", pat, v->u.seq.n, cases[k].n);
        const dt_value *m0 = &v->u.seq.items[0];
        assert_int_equal(m0->type, DT_MAP);
        if (cases[k].first >= 0) {
            assert_int_equal(m0->u.seq.items[1].u.i, cases[k].first);
        } else {
            assert_string_equal(m0->u.seq.items[1].u.s.ptr, "y");
        }
        dt_value_free(&got);
    }
    dt_db_close(db);
}

static void test_default_option(void **state) {
    PULL("[[:nick :default \"none\"]]", "4", "{:nick \"none\"}");
    PULL("[(default :age 0) :name]", "4", "{:age 0 :name \"Lone\"}");
    PULL("[[:age :default 0]]", "1", "{:age 25}"); /* present: the value */
    PULL("[[:no/such-attr :default 1]]", "4", "{:no/such-attr 1}");
    PULL("[[:alias :default []]]", "4", "{:alias []}");
    PULL("[[:nick :as :nickname :default \"-\"]]", "4", "{:nickname \"-\"}");
}

static void test_recursion_unbounded_and_cycles(void **state) {
    /* 1 -> 2 -> 3 -> 1 and 1 -> 3 -> 1: an entity already on the
     * recursive path gives {:db/id e}; the root itself is not on it */
    PULL("[:name {:follows ...}]", "3",
         "{:name \"Oleg\" :follows [{:name \"Ivan\" :follows [{:name \"Petr\" :follows"
         " [{:name \"Oleg\" :follows [{:db/id 1}]}]} {:name \"Oleg\" :follows [{:db/id 1}]}]}]}");
    PULL("[:name {:follows ...}]", "1",
         "{:name \"Ivan\" :follows [{:name \"Petr\" :follows [{:name \"Oleg\" :follows"
         " [{:name \"Ivan\" :follows [{:db/id 2} {:db/id 3}]}]}]} {:name \"Oleg\" :follows"
         " [{:name \"Ivan\" :follows [{:name \"Petr\" :follows [{:db/id 3}]} {:db/id 3}]}]}]}");
}

static void test_recursion_depth(void **state) {
    PULL("[:name {:follows 1}]", "1",
         "{:name \"Ivan\" :follows [{:name \"Petr\"} {:name \"Oleg\"}]}");
    /* at the last level an entity on the path still gives its id (the
     * seen check comes before the depth check, as in DataScript) */
    PULL("[:name {:follows 2}]", "2",
         "{:name \"Petr\" :follows [{:name \"Oleg\" :follows [{:name \"Ivan\" :follows"
         " [{:db/id 3}]}]}]}");
    PULL("[:name {:friend 5}]", "1",
         "{:name \"Ivan\" :friend {:name \"Petr\" :friend {:name \"Ivan\" :friend {:db/id 2}}}}");
}

static void test_reverse_recursion(void **state) {
    PULL("[:name {:_follows 1}]", "3",
         "{:name \"Oleg\" :_follows [{:name \"Ivan\"} {:name \"Petr\"}]}");
    PULL("[:name {:_friend ...}]", "1",
         "{:name \"Ivan\" :_friend [{:name \"Petr\" :_friend [{:name \"Ivan\" :_friend"
         " [{:db/id 2}]}]}]}");
}

static void test_deeply_nested_pattern_value_is_refused(void **state) {
    /* a pattern value built in C may nest deeper than EDN text can */
    dt_value pat = tu_read("[:name]");
    for (int i = 0; i < 300; i++) {
        dt_value map, vec;
        assert_int_equal(dt_value_seq(DT_MAP, 2, &map), DT_OK);
        assert_int_equal(dt_value_text(DT_KEYWORD, "friend", 6, &map.u.seq.items[0]), DT_OK);
        map.u.seq.items[1] = pat;
        assert_int_equal(dt_value_seq(DT_VECTOR, 1, &vec), DT_OK);
        vec.u.seq.items[0] = map;
        pat = vec;
    }
    dt_value e = tu_read("1"), got = DT_VALUE_NIL;
    assert_int_equal(dt_pull_value(DB(state), &pat, &e, &got), DT_LIMIT);
    assert_non_null(strstr(dt_errmsg(DB(state)), "nested deeper than 128"));
    dt_value_free(&pat);
    dt_value_free(&e);
}

static void test_deep_recursion_is_limited_not_crashing(void **state) {
    dt_conn *c = C(state);
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dt_buf_printf(&b, "["), DT_OK);
    for (int i = 0; i < 1500; i++)
        assert_int_equal(dt_buf_printf(&b, "{:db/id %d :next %d}", 1000 + i, 1001 + i), DT_OK);
    assert_int_equal(dt_buf_printf(&b, "]"), DT_OK);
    assert_int_equal(dt_buf_terminate(&b), DT_OK);
    tu_tx(c, (const char *)b.p, DT_OK, 0);
    dt_buf_release(&b);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    check_fail(db, "[{:next ...}]", "1000", DT_LIMIT, "deeper than 1000");
    check_pull(db, "[:db/id {:next 2}]", "2497",
               "{:db/id 2497 :next {:db/id 2498 :next {:db/id 2499}}}");
    dt_db_close(db);
}

static void test_long_values_are_pulled_whole(void **state) {
    dt_conn *c = C(state);
    char *big = malloc(3001);
    assert_non_null(big);
    for (int i = 0; i < 3000; i++) big[i] = (char)('a' + i % 26);
    big[3000] = '\0';
    dt_buf b = DT_BUF_INIT;
    assert_int_equal(dt_buf_printf(&b, "[{:db/id 60 :name \"%s\"}]", big), DT_OK);
    assert_int_equal(dt_buf_terminate(&b), DT_OK);
    tu_tx(c, (const char *)b.p, DT_OK, 0);
    dt_buf_release(&b);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_value e = tu_read("60"), got = DT_VALUE_NIL;
    assert_int_equal(dt_pull(db, "[:name]", 7, &e, &got), DT_OK);
    assert_int_equal(got.type, DT_MAP);
    assert_int_equal(got.u.seq.items[1].u.s.len, 3000);
    assert_memory_equal(got.u.seq.items[1].u.s.ptr, big, 3000);
    dt_value_free(&got);
    dt_value_free(&e);
    dt_db_close(db);
    free(big);
}

static void test_entity_references(void **state) {
    PULL("[:name]", "[:email \"petr@x\"]", "{:name \"Petr\"}");
    PULL("[:db/id]", ":red", "{:db/id 30}");
    /* a lookup ref or ident that matches no entity pulls nil (DataScript) */
    PULL("[:name]", "[:email \"nobody@x\"]", "nil");
    PULL("[:db/id]", ":blue", "nil");
    FAIL("[:name]", "\"Ivan\"", DT_INVALID, "entity reference");
    FAIL("[:name]", "[:name \"Ivan\"]", DT_INVALID, "not :db/unique");
    FAIL("[:name]", "-1", DT_INVALID, "not positive");
}

static void test_pull_many(void **state) {
    dt_value eids = tu_read("[1 999 [:email \"petr@x\"]]"), got = DT_VALUE_NIL;
    const char *pat = "[:name]";
    assert_int_equal(dt_pull_many(DB(state), pat, strlen(pat), eids.u.seq.items, 3, &got), DT_OK);
    dt_value want = tu_read("[{:name \"Ivan\"} nil {:name \"Petr\"}]");
    assert_true(vmatch(&want, &got, 0));
    dt_value_free(&got);
    /* no entities: an empty vector */
    assert_int_equal(dt_pull_many(DB(state), pat, strlen(pat), NULL, 0, &got), DT_OK);
    assert_int_equal(got.type, DT_VECTOR);
    assert_int_equal(got.u.seq.n, 0);
    dt_value_free(&got);
    /* a lookup ref that matches nothing pulls nil; a malformed one fails the call */
    dt_value none = tu_read("[1 [:email \"nobody@x\"]]");
    assert_int_equal(dt_pull_many(DB(state), pat, strlen(pat), none.u.seq.items, 2, &got), DT_OK);
    dt_value want2 = tu_read("[{:name \"Ivan\"} nil]");
    assert_true(vmatch(&want2, &got, 0));
    dt_value_free(&got);
    dt_value_free(&want2);
    dt_value_free(&none);
    dt_value bad = tu_read("[1 [:name \"Ivan\"]]");
    assert_int_equal(dt_pull_many(DB(state), pat, strlen(pat), bad.u.seq.items, 2, &got),
                     DT_INVALID);
    assert_int_equal(got.type, DT_NIL);
    dt_value_free(&bad);
    dt_value_free(&want);
    dt_value_free(&eids);
}

/* Pulls into an arena: dt_pull_many_in, values that outlive the snapshot,
 * many results in one arena (several blocks), reuse
 * after a reset, and the errors. */
static void test_pull_in_arena(void **state) {
    dt_arena *a = NULL;
    assert_int_equal(dt_arena_new(&a), DT_OK);
    dt_value eids = tu_read("[1 999 [:email \"petr@x\"] 20]"), got = DT_VALUE_NIL;
    const char *pat = "[:name {:parts [*]} {:follows ...}]";
    dt_value heap = DT_VALUE_NIL;
    assert_int_equal(dt_pull_many(DB(state), pat, strlen(pat), eids.u.seq.items, 4, &heap), DT_OK);
    assert_int_equal(dt_pull_many_in(DB(state), pat, strlen(pat), eids.u.seq.items, 4, a, &got),
                     DT_OK);
    assert_true(dt_value_equal(&heap, &got));
    assert_int_equal(got.u.seq.items[1].type, DT_NIL); /* 999: nothing */
    /* no entities: an empty vector */
    dt_value none = DT_VALUE_NIL;
    assert_int_equal(dt_pull_many_in(DB(state), pat, strlen(pat), NULL, 0, a, &none), DT_OK);
    assert_int_equal(none.type, DT_VECTOR);
    assert_int_equal(none.u.seq.n, 0);

    /* 2,000 more pulls into the same arena (well past its first block):
     * every one stays valid and equal to the heap's */
    dt_value one = DT_VALUE_NIL, e1 = tu_read("1");
    const char *star = "[* {:follows ...} :_follows]";
    assert_int_equal(dt_pull(DB(state), star, strlen(star), &e1, &one), DT_OK);
    static dt_value kept[2000];
    for (size_t i = 0; i < 2000; i++)
        assert_int_equal(dt_pull_in(DB(state), star, strlen(star), &e1, a, &kept[i]), DT_OK);

    /* the arena owns everything: the values outlive the snapshot */
    dt_db_close(((tu_snap *)*state)->db);
    ((tu_snap *)*state)->db = NULL;
    assert_true(dt_value_equal(&heap, &got));
    for (size_t i = 0; i < 2000; i++) assert_true(dt_value_equal(&one, &kept[i]));
    /* a copy is an ordinary value the caller owns */
    dt_value cp = DT_VALUE_NIL;
    assert_int_equal(dt_value_copy(&kept[7], &cp), DT_OK);
    dt_arena_reset(a);
    assert_true(dt_value_equal(&one, &cp));
    dt_value_free(&cp);

    /* after a reset the arena is used again */
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(C(state), &db), DT_OK);
    ((tu_snap *)*state)->db = db;
    assert_int_equal(dt_pull_in(db, star, strlen(star), &e1, a, &kept[0]), DT_OK);
    assert_true(dt_value_equal(&one, &kept[0]));

    /* errors: *out nil, the message on db */
    dt_value bad = tu_read("[1 [:name \"Ivan\"]]"); /* :name is not unique */
    assert_int_equal(dt_pull_many_in(db, pat, strlen(pat), bad.u.seq.items, 2, a, &got),
                     DT_INVALID);
    assert_int_equal(got.type, DT_NIL);
    assert_non_null(strstr(dt_errmsg(db), "not :db/unique"));
    assert_int_equal(dt_pull_in(db, "[{:name [:x]}]", 14, &e1, a, &got), DT_INVALID);
    assert_int_equal(got.type, DT_NIL);
    assert_int_equal(dt_pull_in(db, "[:name", 6, &e1, a, &got), DT_INVALID);
    assert_int_equal(dt_pull_in(db, "[:name]", 7, &e1, NULL, &got), DT_MISUSE);
    assert_int_equal(got.type, DT_NIL);
    assert_int_equal(dt_pull_many_in(db, "[:name]", 7, eids.u.seq.items, 1, NULL, &got), DT_MISUSE);
    assert_int_equal(dt_pull_in(NULL, "[:name]", 7, &e1, a, &got), DT_MISUSE);
    assert_int_equal(dt_pull_many_in(db, "[:name]", 7, NULL, 2, a, &got), DT_MISUSE);
    dt_db *hist = NULL;
    assert_int_equal(dt_db_history(db, &hist), DT_OK);
    assert_int_equal(dt_pull_in(hist, "[:name]", 7, &e1, a, &got), DT_INVALID);
    assert_int_equal(got.type, DT_NIL);
    dt_db_close(hist);
    assert_int_equal(dt_arena_new(NULL), DT_MISUSE);
    dt_arena_reset(NULL);
    dt_arena_free(NULL);

    dt_value_free(&bad);
    dt_value_free(&one);
    dt_value_free(&e1);
    dt_value_free(&heap);
    dt_value_free(&eids);
    dt_arena_free(a);
}

static void test_pull_value_and_compiled(void **state) {
    dt_value pat = tu_read("[:name {:friend [:name]}]"), e = tu_read("2"), got = DT_VALUE_NIL;
    assert_int_equal(dt_pull_value(DB(state), &pat, &e, &got), DT_OK);
    dt_value want = tu_read("{:name \"Petr\" :friend {:name \"Ivan\"}}");
    assert_true(vmatch(&want, &got, 0));
    dt_value_free(&got);
    /* the internal contract: compile once, run on several entities */
    dq_pull *p = NULL;
    assert_int_equal(dq_pull_compile(DB(state), &pat, &p), DT_OK);
    assert_int_equal(dq_pull_run(p, DB(state), 2, NULL, &got), DT_OK);
    assert_true(vmatch(&want, &got, 0));
    dt_value_free(&got);
    assert_int_equal(dq_pull_run(p, DB(state), 4, NULL, &got), DT_OK);
    dt_value w4 = tu_read("{:name \"Lone\"}");
    assert_true(vmatch(&w4, &got, 0));
    dt_value_free(&got);
    assert_int_equal(dq_pull_run(p, DB(state), 999, NULL, &got), DT_OK);
    assert_int_equal(got.type, DT_NIL);
    /* several entities with one run */
    const int64_t ids[3] = {2, 999, 4};
    dt_value outs[3];
    assert_int_equal(dq_pull_run_many(p, DB(state), ids, 3, NULL, outs), DT_OK);
    assert_true(vmatch(&want, &outs[0], 0));
    assert_int_equal(outs[1].type, DT_NIL);
    assert_true(vmatch(&w4, &outs[2], 0));
    for (int i = 0; i < 3; i++) dt_value_free(&outs[i]);
    assert_int_equal(dq_pull_run_many(p, DB(state), NULL, 0, NULL, NULL), DT_OK);
    dq_pull_free(p);
    dt_value_free(&w4);
    dt_value_free(&want);
    dt_value_free(&pat);
    dt_value_free(&e);
}

static void test_pull_in_a_write_block_sees_its_writes(void **state) {
    dt_conn *c = C(state);
    dt_txn *t = NULL;
    assert_int_equal(dt_txn_begin(c, &t), DT_OK);
    assert_int_equal(dt_txn_transact(t, "[{:db/id 4 :age 77}]", NULL), DT_OK);
    dt_db *view = NULL;
    assert_int_equal(dt_txn_db(t, &view), DT_OK);
    check_pull(view, "[:name :age]", "4", "{:name \"Lone\" :age 77}");
    dt_db_close(view);
    dt_txn_abort(t);
}

/* }====== */

/* {====== Errors ====== */

static void test_malformed_patterns(void **state) {
    FAIL("[:name", "1", DT_INVALID, "pull: pattern");
    FAIL(":name", "1", DT_INVALID, "a pattern must be a vector, got :name");
    FAIL("{:friend [:name]}", "1", DT_INVALID, "a pattern must be a vector");
    FAIL("[:name 42]", "1", DT_INVALID, "got 42 in [:name 42]");
    FAIL("[\"name\"]", "1", DT_INVALID, "expected an attribute name");
    FAIL("[{:name [:x]}]", "1", DT_INVALID, "a map spec needs a ref attribute, got :name");
    FAIL("[{:friend :name}]", "1", DT_INVALID, "expected a pattern, ... or a recursion limit");
    FAIL("[{:friend 0}]", "1", DT_INVALID, "a recursion limit must be positive");
    FAIL("[{}]", "1", DT_INVALID, "an empty map spec");
    FAIL("[[:name :bogus 1]]", "1", DT_INVALID, "expected an attribute option");
    FAIL("[[:name :as]]", "1", DT_INVALID, "expected [attr-name option value ...]");
    FAIL("[[:name :limit 2]]", "1", DT_INVALID, ":limit needs a cardinality-many attribute");
    FAIL("[(limit :alias 0)]", "1", DT_INVALID, ":limit takes a positive number or nil");
    FAIL("[(limit :alias)]", "1", DT_INVALID, "expected (limit attr-name n)");
    FAIL("[(default :age)]", "1", DT_INVALID, "expected (default attr-name value)");
    FAIL("[[:name :xform str]]", "1", DT_INVALID, ":xform option is not supported");
    FAIL("[:_name]", "1", DT_INVALID, "a reverse lookup needs a ref attribute");
    FAIL("[:_nothing]", "1", DT_INVALID, "unknown");
    FAIL("[[]]", "1", DT_INVALID, "expected an attribute name");
}

static void test_misuse(void **state) {
    dt_value e = tu_read("1"), got = DT_VALUE_NIL;
    assert_int_equal(dt_pull(NULL, "[:name]", 7, &e, &got), DT_MISUSE);
    assert_int_equal(dt_pull(DB(state), NULL, 0, &e, &got), DT_MISUSE);
    assert_int_equal(dt_pull(DB(state), "[:name]", 7, NULL, &got), DT_MISUSE);
    assert_int_equal(dt_pull(DB(state), "[:name]", 7, &e, NULL), DT_MISUSE);
    assert_int_equal(dt_pull_value(DB(state), NULL, &e, &got), DT_MISUSE);
    assert_int_equal(dt_pull_many(DB(state), "[:name]", 7, NULL, 2, &got), DT_MISUSE);
    dt_value_free(&e);
}

/* Appends one random pattern element (valid or not) to b. */
static void random_spec(dt_buf *b, uint64_t *rng, int depth) {
    static const char *atoms[] = {
        ":name",     ":age",     ":alias",   ":friend", ":follows", ":pet",  ":parts",
        ":_follows", ":_friend", ":_pet",    ":db/id",  "*",        ":nope", ":_nope",
        ":_name",    "42",       "nil",      "\"s\"",   "...",      "limit", "default",
        ":as",       ":limit",   ":default", "[]",      "{}"};
    static const char *opts[] = {":as :x", ":limit 2",   ":limit nil", ":limit 0",  ":default 7",
                                 ":as",    ":xform inc", ":bogus 1",   ":limit -3", ":default"};
    size_t na = sizeof atoms / sizeof atoms[0], no = sizeof opts / sizeof opts[0];
    switch (depth > 3 ? 0 : tu_rand(rng) % 6) {
    case 0:
    case 1:
        dt_buf_printf(b, "%s ", atoms[tu_rand(rng) % na]);
        break;
    case 2: /* attribute with options, both syntaxes */
        dt_buf_printf(b, tu_rand(rng) % 2 ? "[%s %s] " : "(%s %s) ", atoms[tu_rand(rng) % na],
                      opts[tu_rand(rng) % no]);
        break;
    case 3: /* legacy forms */
        dt_buf_printf(b, "(%s %s %s) ", tu_rand(rng) % 2 ? "limit" : "default",
                      atoms[tu_rand(rng) % na], tu_rand(rng) % 2 ? "1" : "nil");
        break;
    default: { /* a map spec: sub-pattern or recursion */
        dt_buf_printf(b, "{%s ", atoms[tu_rand(rng) % na]);
        uint64_t k = tu_rand(rng) % 4;
        if (k == 0)
            dt_buf_printf(b, "...");
        else if (k == 1)
            dt_buf_printf(b, "%d", (int)(tu_rand(rng) % 4));
        else {
            dt_buf_printf(b, "[");
            for (uint64_t i = tu_rand(rng) % 4; i > 0; i--) random_spec(b, rng, depth + 1);
            dt_buf_printf(b, "]");
        }
        dt_buf_printf(b, "} ");
    }
    }
}

/* Random patterns, well-formed and not: every call ends with a result or
 * a clean error (never a crash or a leak; the sanitizer build checks). */
static void test_random_patterns_never_crash(void **state) {
    uint64_t rng = 0x5eed;
    size_t ok = 0, invalid = 0;
    for (int n = 0; n < 3000; n++) {
        dt_buf b = DT_BUF_INIT;
        dt_buf_printf(&b, "[");
        for (uint64_t i = 1 + tu_rand(&rng) % 5; i > 0; i--) random_spec(&b, &rng, 0);
        dt_buf_printf(&b, "]");
        static const int64_t ents[] = {1, 2, 3, 4, 10, 20, 21, 31, 999};
        dt_value e, got = DT_VALUE_NIL;
        dt_value_long(ents[tu_rand(&rng) % 9], &e);
        int rc = dt_pull(DB(state), (const char *)b.p, b.len, &e, &got);
        check_same_in_arena(DB(state), (const char *)b.p, b.len, &e, rc, &got);
        if (rc == DT_OK) {
            ok++;
            assert_true(got.type == DT_MAP || got.type == DT_NIL);
        } else {
            invalid++;
            if (rc != DT_INVALID)
                fail_msg("%.*s: %d (%s)", (int)b.len, (const char *)b.p, rc, dt_errmsg(DB(state)));
            assert_int_equal(got.type, DT_NIL);
            assert_true(strncmp(dt_errmsg(DB(state)), "pull: ", 6) == 0);
        }
        dt_value_free(&got);
        dt_buf_release(&b);
    }
    /* both kinds were exercised */
    assert_true(ok > 300);
    assert_true(invalid > 300);
}

/* }====== */

/* {====== Conformance ====== */

static void test_conformance_pull_cases(void **state) {
    (void)state;
    dt_value cases = tu_conf_cases();
    size_t run = 0, passed = 0;
    tu_sbuf msg = {0};
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        const dt_value *op = tu_map_get(cs, "op");
        if (!tu_is_kw(op, "pull") && !tu_is_kw(op, "pull-many")) continue;
        run++;
        passed += (size_t)tu_conf_run_pull(cs, &msg);
    }
    dt_value_free(&cases);
    tu_conf_datasets_close();
    print_message("conformance: %zu :pull/:pull-many cases run, %zu conform\n", run, passed);
    if (msg.p) fputs(msg.p, stderr);
    free(msg.p);
    assert_int_equal(run, EXPECTED_PULL_CASES);
    assert_int_equal(passed, run);
}

/* }====== */

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_attributes),
        T(test_nothing_selected_is_nil),
        T(test_cardinality_many_is_a_vector_in_value_order),
        T(test_db_id),
        T(test_wildcard),
        T(test_components_pulled_recursively_under_wildcard),
        T(test_nested_maps_for_refs),
        T(test_component_cycles_end),
        T(test_compiled_pattern_on_another_schema),
        T(test_compiled_pattern_shared_by_threads),
        T(test_enum_refs_give_ids),
        T(test_reverse_refs),
        T(test_as_option),
        T(test_limit_option),
        T(test_default_limit_is_1000),
        T(test_limit_on_refs),
        T(test_default_option),
        T(test_recursion_unbounded_and_cycles),
        T(test_recursion_depth),
        T(test_reverse_recursion),
        T(test_deeply_nested_pattern_value_is_refused),
        T(test_deep_recursion_is_limited_not_crashing),
        T(test_long_values_are_pulled_whole),
        T(test_entity_references),
        T(test_pull_many),
        T(test_pull_in_arena),
        T(test_pull_value_and_compiled),
        T(test_pull_in_a_write_block_sees_its_writes),
        T(test_malformed_patterns),
        T(test_misuse),
        T(test_random_patterns_never_crash),
        cmocka_unit_test(test_conformance_pull_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
