/*
 * test_entity_time.c -- time views of a database through the public API:
 * as-of (a tx id and an instant), since and history, read with datoms
 * (EAV and AVE), counts, pull, entities and queries (both evaluators),
 * the added flag of data patterns, a view as the named source $before,
 * views of views, errors, and a differential test: for seeded random
 * transaction sequences, the as-of view at every tx equals the database
 * rebuilt by replaying the first N transactions, the since view equals
 * the current datoms filtered by tx, and the history view equals the
 * transaction log.
 */
#include "dbutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:p/name {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/age {:db/valueType :db.type/long}"
    " :p/tag {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :p/friend {:db/valueType :db.type/ref}"
    " :p/note {:db/valueType :db.type/string}}";

TU_DB_FIXTURE(SCHEMA)

/* {====== Helpers ====== */

/* A growable string. */
typedef struct tu_sbuf {
    char *p;
    size_t len, cap;
} tu_sbuf;

static void tu_sb_printf(tu_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Every datom of db's `index` (transaction entities left out) as lines
 * "[e :a v tx added]" in the order the iterator gives them (not sorted:
 * the order is checked too). */
static char *dump_comps(dt_db *db, dt_index index, const dt_value *comps, size_t n, int with_tx) {
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(db, index, comps, n, &it), DT_OK);
    tu_sbuf b = {0};
    tu_sb_printf(&b, "%s", "");
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (d.e >= DT_TX0) continue;
        char *v = tu_edn(&d.v);
        if (with_tx)
            tu_sb_printf(&b, "[%lld :%s %s %lld %s]\n", (long long)d.e, d.a, v, (long long)d.tx,
                         d.added ? "true" : "false");
        else
            tu_sb_printf(&b, "[%lld :%s %s]\n", (long long)d.e, d.a, v);
        free(v);
    }
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    return b.p;
}

static char *dump_ix(dt_db *db, dt_index index, int with_tx) {
    return dump_comps(db, index, NULL, 0, with_tx);
}

/* The datoms of the user attributes only (no schema datoms), EAV. */
static char *user_datoms(dt_db *db) {
    tu_lines l = {0};
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it), DT_OK);
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (d.e >= DT_TX0 || strncmp(d.a, "p/", 2) != 0) continue;
        char *v = tu_edn(&d.v);
        char *s = malloc(strlen(v) + strlen(d.a) + 64);
        sprintf(s, "[%lld :%s %s%s]", (long long)d.e, d.a, v, d.added ? "" : " retracted");
        free(v);
        tu_lines_add(&l, s);
    }
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    return tu_lines_join(&l);
}

static void assert_str(const char *got, const char *want) {
    if (strcmp(got, want) != 0) fail_msg("got:\n%s\nwanted:\n%s", got, want);
}

/* Runs query `text` on inputs with one evaluator; the result as sorted EDN
 * (or "error N"). */
static char *q_with(const char *text, const dt_input *in, size_t n, dt_plan_mode plan) {
    dt_query_options o = DT_QUERY_OPTIONS_INIT;
    o.plan = plan;
    dt_result *r = NULL;
    int rc = dt_q_inputs(text, strlen(text), in, n, &o, &r);
    tu_sbuf b = {0};
    if (rc != DT_OK) {
        tu_sb_printf(&b, "error %d", rc);
        return b.p;
    }
    dt_value v = DT_VALUE_NIL;
    assert_int_equal(dt_result_value(r, &v), DT_OK);
    if (v.type == DT_SET || v.type == DT_VECTOR) {
        if (v.u.seq.n > 1) qsort(v.u.seq.items, v.u.seq.n, sizeof *v.u.seq.items, tu_value_cmp);
        v.type = DT_VECTOR;
    }
    char *s = tu_edn(&v);
    tu_sb_printf(&b, "%s", s);
    free(s);
    dt_value_free(&v);
    dt_result_free(r);
    return b.p;
}

/* Runs the query with both evaluators, asserts they agree and the result
 * is `want`. */
static void assert_q_in(const char *text, const dt_input *in, size_t n, const char *want) {
    char *naive = q_with(text, in, n, DT_PLAN_NAIVE);
    char *planned = q_with(text, in, n, DT_PLAN_AUTO);
    if (strcmp(naive, planned) != 0) fail_msg("%s\nnaive:   %s\nplanned: %s", text, naive, planned);
    if (want && strcmp(planned, want) != 0)
        fail_msg("%s\ngot:    %s\nwanted: %s", text, planned, want);
    free(naive);
    free(planned);
}

static void assert_q(dt_db *db, const char *text, const char *want) {
    dt_input in = {db, NULL, NULL, 0};
    assert_q_in(text, &in, 1, want);
}

/* }====== */

/* {====== A fixed history ====== */

static int64_t TX[4];

/*
 * tx0: alice (age 30, tags a b), bob (age 40, friend alice)
 * tx1: alice's age 31, tag a retracted, tag c added
 * tx2: bob retracted (retractEntity)
 * tx3: alice's age back to 30, tag a again
 * Instants: Jan, Feb, Mar, Apr 1 2020.
 */
static void story(dt_conn *c) {
    const char *const txs[4] = {
        "[{:db/id \"a\" :p/name \"alice\" :p/age 30 :p/tag [:a :b]}"
        " {:db/id \"b\" :p/name \"bob\" :p/age 40 :p/friend \"a\"}"
        " [:db/add :db/current-tx :db/txInstant #inst \"2020-01-01T00:00:00.000Z\"]]",
        "[[:db/add 1 :p/age 31] [:db/retract 1 :p/tag :a] [:db/add 1 :p/tag :c]"
        " [:db/add :db/current-tx :db/txInstant #inst \"2020-02-01T00:00:00.000Z\"]]",
        "[[:db/retractEntity 2]"
        " [:db/add :db/current-tx :db/txInstant #inst \"2020-03-01T00:00:00.000Z\"]]",
        "[[:db/add 1 :p/age 30] [:db/add 1 :p/tag :a]"
        " [:db/add :db/current-tx :db/txInstant #inst \"2020-04-01T00:00:00.000Z\"]]"};
    tu_tx_all(c, txs, 4, TX);
}

static dt_db *now_db(void **state) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(C(state), &db), DT_OK);
    return db;
}

static void test_as_of_datoms(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *v = NULL;
    const char *want[4] = {
        "[1 :p/age 30]\n[1 :p/name \"alice\"]\n[1 :p/tag :a]\n[1 :p/tag :b]\n"
        "[2 :p/age 40]\n[2 :p/friend 1]\n[2 :p/name \"bob\"]",
        "[1 :p/age 31]\n[1 :p/name \"alice\"]\n[1 :p/tag :b]\n[1 :p/tag :c]\n"
        "[2 :p/age 40]\n[2 :p/friend 1]\n[2 :p/name \"bob\"]",
        "[1 :p/age 31]\n[1 :p/name \"alice\"]\n[1 :p/tag :b]\n[1 :p/tag :c]",
        "[1 :p/age 30]\n[1 :p/name \"alice\"]\n[1 :p/tag :a]\n[1 :p/tag :b]\n[1 :p/tag :c]"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(dt_db_as_of(db, TX[i], &v), DT_OK);
        char *got = user_datoms(v);
        assert_str(got, want[i]);
        free(got);
        dt_view_info vi;
        assert_int_equal(dt_db_view_info(v, &vi), DT_OK);
        assert_int_equal(vi.is_view, 1);
        assert_int_equal(vi.history, 0);
        /* the last tx is the present: no as-of bound remains */
        assert_true(vi.as_of == (i == 3 ? 0 : TX[i]));
        assert_true(dt_db_basis_tx(v) == TX[3]);
        dt_db_close(v);
    }
    /* before the first transaction: no user datoms */
    assert_int_equal(dt_db_as_of(db, DT_TX0, &v), DT_OK);
    char *got = user_datoms(v);
    assert_str(got, "");
    free(got);
    dt_db_close(v);
    /* beyond the basis: the current database */
    assert_int_equal(dt_db_as_of(db, TX[3] + 100, &v), DT_OK);
    got = user_datoms(v);
    char *cur = user_datoms(db);
    assert_str(got, cur);
    free(got);
    free(cur);
    dt_db_close(v);
    /* AVE order and counts on a view */
    assert_int_equal(dt_db_as_of(db, TX[1], &v), DT_OK);
    dt_value comps[2] = {tu_read(":p/tag"), tu_read(":b")};
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(v, DT_INDEX_AVE, comps, 1, &it), DT_OK);
    dt_datom d;
    const char *tags[2] = {"b", "c"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
        assert_string_equal(d.v.u.s.ptr, tags[i]);
        assert_true(d.tx == TX[i]);
        assert_int_equal(d.added, 1);
    }
    assert_int_equal(dt_datom_iter_next(it, &d), DT_DONE);
    dt_datom_iter_close(it);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(v, DT_INDEX_AVE, comps, 1, &n), DT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, comps, 1, &n), DT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(dt_db_count_datoms(v, DT_INDEX_AVE, comps, 2, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_attr_stats st;
    assert_int_equal(dt_db_attr_stats(v, "p/age", &st), DT_OK);
    assert_int_equal(st.count, 2);
    assert_int_equal(st.distinct, 2);
    assert_int_equal(st.min.u.i, 31);
    assert_int_equal(st.max.u.i, 40);
    dt_attr_stats_free(&st);
    /* index-range over the view */
    dt_value lo = tu_read("35");
    assert_int_equal(dt_db_index_range(v, "p/age", &lo, NULL, &it), DT_OK);
    assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
    assert_int_equal(d.e, 2);
    assert_int_equal(dt_datom_iter_next(it, &d), DT_DONE);
    dt_datom_iter_close(it);
    /* seek-datoms: from [2] to the end of EAV (bob, then transactions) */
    dt_value two = tu_read("2");
    assert_int_equal(dt_db_seek_datoms(v, DT_INDEX_EAV, &two, 1, &it), DT_OK);
    const char *bob[3] = {"p/name", "p/age", "p/friend"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
        assert_int_equal(d.e, 2);
        assert_string_equal(d.a, bob[i]);
    }
    int ntx = 0;
    while (dt_datom_iter_next(it, &d) == DT_ROW) {
        assert_true(d.e >= DT_TX0 && d.e <= TX[1]);
        ntx++;
    }
    assert_int_equal(ntx, 2); /* the :db/txInstant of tx0 and tx1 */
    dt_datom_iter_close(it);
    dt_value_free(&two);
    dt_value_free(&comps[0]);
    dt_value_free(&comps[1]);
    dt_db_close(v);
    dt_db_close(db);
}

static void test_as_of_instant(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *v = NULL;
    int64_t tx = 0;
    /* Feb 15 2020: as of tx1 */
    assert_int_equal(dt_db_tx_at(db, 1581724800000LL, &tx), DT_OK);
    assert_true(tx == TX[1]);
    /* exactly an instant: that transaction */
    assert_int_equal(dt_db_tx_at(db, 1583020800000LL, &tx), DT_OK);
    assert_true(tx == TX[2]);
    assert_int_equal(dt_db_tx_at(db, 0, &tx), DT_OK);
    assert_true(tx == DT_TX0);
    assert_int_equal(dt_db_as_of_instant(db, 1581724800000LL, &v), DT_OK);
    char *got = user_datoms(v);
    assert_str(got, "[1 :p/age 31]\n[1 :p/name \"alice\"]\n[1 :p/tag :b]\n[1 :p/tag :c]\n"
                    "[2 :p/age 40]\n[2 :p/friend 1]\n[2 :p/name \"bob\"]");
    free(got);
    dt_db_close(v);
    dt_db_close(db);
}

static void test_since_and_history(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *v = NULL;
    assert_int_equal(dt_db_since(db, TX[1], &v), DT_OK);
    char *got = user_datoms(v);
    assert_str(got, "[1 :p/age 30]\n[1 :p/tag :a]");
    free(got);
    dt_db_close(v);
    assert_int_equal(dt_db_history(db, &v), DT_OK);
    got = dump_ix(v, DT_INDEX_EAV, 1);
    char want[2048];
    long long t0 = TX[0], t1 = TX[1], t2 = TX[2], t3 = TX[3];
    snprintf(want, sizeof want,
             "[1 :p/name \"alice\" %lld true]\n"
             "[1 :p/age 30 %lld true]\n[1 :p/age 30 %lld false]\n[1 :p/age 30 %lld true]\n"
             "[1 :p/age 31 %lld true]\n[1 :p/age 31 %lld false]\n"
             "[1 :p/tag :a %lld true]\n[1 :p/tag :a %lld false]\n[1 :p/tag :a %lld true]\n"
             "[1 :p/tag :b %lld true]\n[1 :p/tag :c %lld true]\n"
             "[2 :p/name \"bob\" %lld true]\n[2 :p/name \"bob\" %lld false]\n"
             "[2 :p/age 40 %lld true]\n[2 :p/age 40 %lld false]\n"
             "[2 :p/friend 1 %lld true]\n[2 :p/friend 1 %lld false]\n",
             t0, t0, t1, t3, t1, t3, t0, t1, t3, t0, t1, t0, t2, t0, t2, t0, t2);
    /* schema datoms come first (lower ids): compare the user part (EAV:
     * attributes in the order the schema installed them) */
    const char *user = strstr(got, "[1 :p/");
    assert_non_null(user);
    assert_str(user, want);
    free(got);
    /* AVE order of one attribute: value, e, then tx */
    dt_value a = tu_read(":p/age");
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(v, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    dt_datom d;
    long long ages[7][3] = {{30, t0, 1}, {30, t1, 0}, {30, t3, 1}, {31, t1, 1},
                            {31, t3, 0}, {40, t0, 1}, {40, t2, 0}};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
        assert_int_equal(d.v.u.i, ages[i][0]);
        assert_true(d.tx == ages[i][1]);
        assert_int_equal(d.added, (int)ages[i][2]);
    }
    assert_int_equal(dt_datom_iter_next(it, &d), DT_DONE);
    dt_datom_iter_close(it);
    dt_value_free(&a);
    /* entities and pull need a database at one time */
    dt_entity *ent = NULL;
    dt_value one = tu_read("1");
    assert_int_equal(dt_entity_get(v, &one, &ent), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(v), "history"));
    dt_value out = DT_VALUE_NIL;
    assert_int_equal(dt_pull(v, "[*]", strlen("[*]"), &one, &out), DT_INVALID);
    dt_db_close(v);
    /* a history view of an as-of view: the events up to its tx */
    dt_db *a1 = NULL;
    assert_int_equal(dt_db_as_of(db, TX[1], &a1), DT_OK);
    assert_int_equal(dt_db_history(a1, &v), DT_OK);
    dt_view_info vi;
    assert_int_equal(dt_db_view_info(v, &vi), DT_OK);
    assert_true(vi.history && vi.as_of == TX[1] && vi.since == 0);
    dt_db_close(a1); /* the history view keeps the snapshot alive */
    got = user_datoms(v);
    assert_str(got, "[1 :p/age 30 retracted]\n[1 :p/age 30]\n[1 :p/age 31]\n"
                    "[1 :p/name \"alice\"]\n[1 :p/tag :a retracted]\n[1 :p/tag :a]\n"
                    "[1 :p/tag :b]\n[1 :p/tag :c]\n[2 :p/age 40]\n[2 :p/friend 1]\n"
                    "[2 :p/name \"bob\"]");
    free(got);
    dt_db_close(v);
    /* since of an as-of: (since, as-of] */
    assert_int_equal(dt_db_as_of(db, TX[1], &a1), DT_OK);
    assert_int_equal(dt_db_since(a1, TX[0], &v), DT_OK);
    got = user_datoms(v);
    assert_str(got, "[1 :p/age 31]\n[1 :p/tag :c]");
    free(got);
    dt_db_close(v);
    dt_db_close(a1);
    /* a refreshed snapshot reads its new history (not a cache of the old) */
    assert_int_equal(dt_db_refresh(db), DT_OK);
    dt_report *r = tu_tx(C(state), "[[:db/retract 1 :p/tag :b]]", DT_OK, 1);
    int64_t tx4 = dt_report_tx(r);
    dt_report_close(r);
    assert_int_equal(dt_db_refresh(db), DT_OK);
    assert_int_equal(dt_db_history(db, &v), DT_OK);
    char *all = dump_ix(v, DT_INDEX_AVE, 1);
    char line[128];
    snprintf(line, sizeof line, "[1 :p/tag :b %lld false]", (long long)tx4);
    if (!strstr(all, line)) fail_msg("no %s in\n%s", line, all);
    free(all);
    dt_db_close(v);
    dt_value_free(&one);
    dt_db_close(db);
}

static void test_pull_entity_on_views(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *v = NULL;
    assert_int_equal(dt_db_as_of(db, TX[1], &v), DT_OK);
    /* a lookup ref resolves in the view: bob exists there */
    dt_value bob = tu_read("[:p/name \"bob\"]"), out = DT_VALUE_NIL;
    assert_int_equal(dt_pull(v, "[:p/age {:p/friend [:p/name :p/age]}]",
                             strlen("[:p/age {:p/friend [:p/name :p/age]}]"), &bob, &out),
                     DT_OK);
    char *s = tu_edn(&out);
    assert_string_equal(s, "{:p/age 40, :p/friend {:p/name \"alice\", :p/age 31}}");
    free(s);
    dt_value_free(&out);
    int64_t e = 0;
    assert_int_equal(dt_db_entid(v, &bob, &e), DT_OK);
    assert_int_equal(e, 2);
    /* not in the current database */
    assert_int_equal(dt_db_entid(db, &bob, &e), DT_NOTFOUND);
    /* reverse refs in the view */
    dt_value one = tu_read("1");
    assert_int_equal(dt_pull(v, "[:p/_friend]", strlen("[:p/_friend]"), &one, &out), DT_OK);
    s = tu_edn(&out);
    assert_string_equal(s, "{:p/_friend [{:db/id 2}]}");
    free(s);
    dt_value_free(&out);
    /* entities */
    dt_entity *ent = NULL;
    assert_int_equal(dt_entity_get(v, &one, &ent), DT_OK);
    int64_t age = 0;
    assert_int_equal(dt_entity_get_long(ent, "p/age", &age), DT_OK);
    assert_int_equal(age, 31);
    dt_value tags = DT_VALUE_NIL;
    assert_int_equal(dt_entity_attr(ent, "p/tag", &tags), DT_OK);
    s = tu_edn(&tags);
    assert_string_equal(s, "#{:b :c}");
    free(s);
    dt_value_free(&tags);
    dt_entity_close(ent);
    dt_db_close(v);
    /* as of tx0 alice was 30 with tags a b */
    assert_int_equal(dt_db_as_of(db, TX[0], &v), DT_OK);
    assert_int_equal(dt_pull(v, "[:p/age :p/tag]", strlen("[:p/age :p/tag]"), &one, &out), DT_OK);
    s = tu_edn(&out);
    assert_string_equal(s, "{:p/age 30, :p/tag [:a :b]}");
    free(s);
    dt_value_free(&out);
    dt_db_close(v);
    dt_value_free(&bob);
    dt_value_free(&one);
    dt_db_close(db);
}

static void test_queries_on_views(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *v = NULL, *h = NULL;
    assert_int_equal(dt_db_as_of(db, TX[1], &v), DT_OK);
    assert_q(v, "[:find ?n ?a :where [?e :p/name ?n] [?e :p/age ?a]]",
             "[[\"alice\" 31] [\"bob\" 40]]");
    assert_q(v, "[:find ?n :where [?f :p/name \"bob\"] [?f :p/friend ?e] [?e :p/name ?n]]",
             "[[\"alice\"]]");
    assert_q(v, "[:find ?t :where [?e :p/name \"alice\"] [?e :p/tag ?t]]", "[[:b] [:c]]");
    assert_q(v, "[:find (count ?e) . :where [?e :p/age]]", "2");
    /* the added position on a non-history database: always true */
    assert_q(v, "[:find ?a ?added :where [1 :p/age ?a _ ?added]]", "[[31 true]]");
    assert_q(v, "[:find ?a :where [1 :p/age ?a _ false]]", "[]");
    dt_db_close(v);
    /* history: assertions and retractions with the flag */
    assert_int_equal(dt_db_history(db, &h), DT_OK);
    char want[512];
    snprintf(want, sizeof want,
             "[[30 %lld true] [30 %lld false] [30 %lld true] [31 %lld true] [31 %lld false]]",
             (long long)TX[0], (long long)TX[1], (long long)TX[3], (long long)TX[1],
             (long long)TX[3]);
    assert_q(h, "[:find ?a ?tx ?added :where [?e :p/name \"alice\"] [?e :p/age ?a ?tx ?added]]",
             want);
    assert_q(h, "[:find ?t :where [1 :p/tag ?t _ false]]", "[[:a]]");
    assert_q(h, "[:find ?a :where [?e :p/age ?a ?tx true] [?e :p/name \"bob\"]]", "[[40]]");
    assert_q(h, "[:find ?e :in $ ?x :where [?e :p/age 40 _ ?x]]", NULL);
    assert_q(h, "[:find (count ?tx) . :where [_ :p/age _ ?tx false]]", "3");
    /* the variable bound before: an added flag joins */
    assert_q(h,
             "[:find ?t :where [1 :p/age 31 _ ?ad] [1 :p/tag ?t _ ?ad]"
             " [(= ?ad false)]]",
             "[[:a]]");
    dt_db_close(h);
    dt_db_close(db);
}

static void test_named_source_before(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *before = NULL;
    assert_int_equal(dt_db_as_of(db, TX[0], &before), DT_OK);
    dt_input in[2] = {{db, NULL, NULL, 0}, {before, NULL, NULL, 0}};
    /* ages that changed between tx0 and now */
    assert_q_in("[:find ?n ?old ?new :in $ $before :where [$ ?e :p/name ?n] [$ ?e :p/age ?new]"
                " [$before ?e :p/age ?old] [(not= ?old ?new)]]",
                in, 2, "[]");
    dt_db_close(before);
    assert_int_equal(dt_db_as_of(db, TX[1], &before), DT_OK);
    in[1].db = before;
    assert_q_in("[:find ?n ?old ?new :in $ $before :where [$ ?e :p/name ?n] [$ ?e :p/age ?new]"
                " [$before ?e :p/age ?old] [(not= ?old ?new)]]",
                in, 2, "[[\"alice\" 31 30]]");
    /* entities gone since: in $before, not in $ */
    assert_q_in("[:find ?n :in $ $before :where [$before ?e :p/name ?n]"
                " (not [$ ?e :p/name])]",
                in, 2, "[[\"bob\"]]");
    dt_db_close(before);
    dt_db_close(db);
}

static void test_errors(void **state) {
    story(C(state));
    dt_db *db = now_db(state), *v = (dt_db *)1;
    assert_int_equal(dt_db_as_of(db, -1, &v), DT_INVALID);
    assert_null(v);
    assert_non_null(strstr(dt_errmsg(db), "not a transaction id"));
    assert_int_equal(dt_db_as_of(db, 5, &v), DT_INVALID);
    assert_int_equal(dt_db_since(db, -7, &v), DT_INVALID);
    assert_int_equal(dt_db_as_of(db, TX[0], NULL), DT_MISUSE);
    assert_int_equal(dt_db_as_of(NULL, TX[0], &v), DT_MISUSE);
    assert_int_equal(dt_db_history(NULL, &v), DT_MISUSE);
    assert_int_equal(dt_db_as_of_instant(NULL, 0, &v), DT_MISUSE);
    int64_t tx;
    assert_int_equal(dt_db_tx_at(db, 0, NULL), DT_MISUSE);
    assert_int_equal(dt_db_tx_at(NULL, 0, &tx), DT_MISUSE);
    dt_view_info vi;
    assert_int_equal(dt_db_view_info(NULL, &vi), DT_MISUSE);
    assert_int_equal(dt_db_view_info(db, &vi), DT_OK);
    assert_int_equal(vi.is_view, 0);
    /* a snapshot with open views does not refresh; closing the snapshot
     * first leaves the view readable */
    assert_int_equal(dt_db_as_of(db, TX[0], &v), DT_OK);
    assert_int_equal(dt_db_refresh(db), DT_BUSY);
    dt_db_close(db);
    char *got = user_datoms(v);
    assert_non_null(strstr(got, "[2 :p/name \"bob\"]"));
    free(got);
    /* the connection waits for the view too */
    assert_int_equal(dt_conn_close(C(state)), DT_BUSY);
    dt_db_close(v);
}

/* A view of a write block's state: as-of reads the block's transaction;
 * the block waits for the view like for its own views. */
static void test_view_in_write_block(void **state) {
    story(C(state));
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(C(state), &tx), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[[:db/add 1 :p/age 50]]", NULL), DT_OK);
    dt_db *bdb = NULL, *v = NULL;
    assert_int_equal(dt_txn_db(tx, &bdb), DT_OK);
    assert_int_equal(dt_db_as_of(bdb, TX[0], &v), DT_OK);
    dt_db_close(bdb); /* the view keeps the block's view alive */
    assert_q(v, "[:find ?a . :where [1 :p/age ?a]]", "30");
    assert_int_equal(dt_txn_commit(tx), DT_MISUSE); /* a view is still open */
    dt_db_close(v);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    dt_db *db = now_db(state);
    assert_q(db, "[:find ?a . :where [1 :p/age ?a]]", "50");
    dt_db_close(db);
}

/* }====== */

/* {====== Differential: as-of equals replay ====== */

#define NENT 12
#define NTX  240

static uint64_t rng;
static unsigned rnd(unsigned n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* A long value (longer than a key holds) sharing a long prefix with its
 * siblings, so long values of an attribute form runs. */
static void long_note(char *dst, unsigned k) {
    memset(dst, 'x', 600);
    sprintf(dst + 600, "-%u", k);
}

/* count, distinct, min and max of the attributes with updates (the edges
 * come from the first and the last datom of the attribute's AVE range). */
static char *stats_text(dt_db *db) {
    static const char *attrs[3] = {"p/age", "p/tag", "p/note"};
    tu_sbuf b = {0};
    tu_sb_printf(&b, "%s", "");
    for (int i = 0; i < 3; i++) {
        dt_attr_stats st;
        assert_int_equal(dt_db_attr_stats(db, attrs[i], &st), DT_OK);
        char *mn = tu_edn(&st.min), *mx = tu_edn(&st.max);
        /* long notes: their last characters tell them apart */
        size_t lmn = strlen(mn), lmx = strlen(mx);
        tu_sb_printf(&b, "%s %llu %llu %s %s; ", attrs[i], (unsigned long long)st.count,
                     (unsigned long long)st.distinct, lmn > 8 ? mn + lmn - 8 : mn,
                     lmx > 8 ? mx + lmx - 8 : mx);
        free(mn);
        free(mx);
        dt_attr_stats_free(&st);
    }
    return b.p;
}

/* Queries run on the replay at some txs and on the as-of view there,
 * with both evaluators; and on the history view. */
static const char *DIFF_Q[] = {
    "[:find ?e ?a :where [?e :p/age ?a]]",
    "[:find ?e ?t :where [?e :p/tag ?t] [?e :p/age ?a] [(> ?a 2)]]",
    "[:find ?e ?n :where [?e :p/friend ?f] [?f :p/name ?n]]",
    "[:find ?t (count ?e) :where [?e :p/tag ?t]]",
    "[:find ?e :where [?e :p/name] (not [?e :p/age])]",
};
#define NDIFF_Q (sizeof DIFF_Q / sizeof *DIFF_Q)
static const char *HIST_Q[] = {
    "[:find ?e ?a ?tx ?added :where [?e :p/age ?a ?tx ?added]]",
    "[:find ?e ?t :where [?e :p/tag ?t _ false]]",
    "[:find (count ?tx) . :where [_ :p/tag _ ?tx true]]",
    "[:find ?e ?tx :where [?e :p/age _ ?tx false] [?e :p/tag _ ?tx true]]",
};
#define NHIST_Q (sizeof HIST_Q / sizeof *HIST_Q)

static void run_diff(uint64_t seed) {
    rng = seed;
    tu_db *a = tu_db_open(SCHEMA), *b = tu_db_open(SCHEMA);
    char *eav[NTX + 1], *ave[NTX + 1], *stats[NTX + 1], *qres[NTX + 1][NDIFF_Q];
    memset(qres, 0, sizeof qres);
    int64_t txs[NTX + 1];
    static char edn[1 << 14], note[700];
    /* tx 0: the entities */
    char *p = edn;
    p += sprintf(p, "[");
    for (int i = 0; i < NENT; i++) p += sprintf(p, "{:db/id \"e%d\" :p/name \"n%d\"}", i, i);
    sprintf(p, "]");
    for (int t = 0; t <= NTX; t++) {
        if (t > 0) {
            p = edn;
            p += sprintf(p, "[");
            unsigned nops = 1 + rnd(4), first = rnd(NENT);
            for (unsigned k = 0; k < nops; k++) {
                unsigned e = 1 + (first + k) % NENT; /* distinct entities */
                unsigned op = rnd(100);
                if (op < 35)
                    p += sprintf(p, "[:db/add %u :p/age %u]", e, rnd(6));
                else if (op < 55)
                    p += sprintf(p, "[:db/add %u :p/tag :t%u]", e, rnd(5));
                else if (op < 72)
                    p += sprintf(p, "[:db/retract %u :p/tag :t%u]", e, rnd(5));
                else if (op < 80)
                    p += sprintf(p, "[:db/add %u :p/friend %u]", e,
                                 1 + (first + nops + rnd(NENT - nops)) % NENT);
                else if (op < 88) {
                    long_note(note, rnd(4));
                    p += sprintf(p, "[:db/add %u :p/note \"%s\"]", e, note);
                } else if (op < 93)
                    p += sprintf(p, "[:db/retract %u :p/age %u]", e, rnd(6));
                else if (op < 97)
                    p += sprintf(p, "[:db/retractEntity %u]", e);
                else
                    p += sprintf(p, "[:db/add %u :p/name \"n%u-%u\"]", e, e, t);
            }
            sprintf(p, "]");
        }
        dt_report *r = tu_tx(a->conn, edn, DT_OK, 1);
        txs[t] = dt_report_tx(r);
        dt_report_close(r);
        tu_tx(b->conn, edn, DT_OK, 0);
        dt_db *bd = NULL;
        assert_int_equal(dt_conn_db(b->conn, &bd), DT_OK);
        eav[t] = dump_ix(bd, DT_INDEX_EAV, 1);
        ave[t] = dump_ix(bd, DT_INDEX_AVE, 1);
        stats[t] = stats_text(bd);
        if (t % 30 == 0) {
            dt_input in = {bd, NULL, NULL, 0};
            for (size_t k = 0; k < NDIFF_Q; k++)
                qres[t][k] = q_with(DIFF_Q[k], &in, 1, DT_PLAN_AUTO);
        }
        dt_db_close(bd);
    }
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(a->conn, &db), DT_OK);
    for (int t = 0; t <= NTX; t++) {
        dt_db *v = NULL;
        assert_int_equal(dt_db_as_of(db, txs[t], &v), DT_OK);
        char *ge = dump_ix(v, DT_INDEX_EAV, 1), *ga = dump_ix(v, DT_INDEX_AVE, 1);
        if (strcmp(ge, eav[t]) != 0)
            fail_msg("seed %llu: as-of tx #%d (EAV) differs from the replay\n--- view:\n%s\n--- "
                     "replay:\n%s",
                     (unsigned long long)seed, t, ge, eav[t]);
        if (strcmp(ga, ave[t]) != 0)
            fail_msg("seed %llu: as-of tx #%d (AVE) differs from the replay",
                     (unsigned long long)seed, t);
        char *gst = stats_text(v);
        if (strcmp(gst, stats[t]) != 0)
            fail_msg("seed %llu: as-of tx #%d: statistics %s, replay %s", (unsigned long long)seed,
                     t, gst, stats[t]);
        free(gst);
        free(ge);
        free(ga);
        if (t % 30 == 0) {
            dt_input in = {v, NULL, NULL, 0};
            for (size_t k = 0; k < NDIFF_Q; k++) {
                char *gn = q_with(DIFF_Q[k], &in, 1, DT_PLAN_NAIVE);
                char *gp = q_with(DIFF_Q[k], &in, 1, DT_PLAN_AUTO);
                if (strcmp(gn, qres[t][k]) != 0 || strcmp(gp, qres[t][k]) != 0)
                    fail_msg("seed %llu: as-of tx #%d: %s\nnaive:   %s\nplanned: %s\nreplay:  %s",
                             (unsigned long long)seed, t, DIFF_Q[k], gn, gp, qres[t][k]);
                free(gn);
                free(gp);
            }
        }
        dt_db_close(v);
        /* entity by entity on a fresh snapshot, before anything builds its
         * history cache: the per-seek path */
        if (t % 10 == 0) {
            dt_db *fresh = NULL;
            assert_int_equal(dt_conn_db(a->conn, &fresh), DT_OK);
            assert_int_equal(dt_db_as_of(fresh, txs[t], &v), DT_OK);
            tu_sbuf got = {0}, want = {0};
            tu_sb_printf(&got, "%s", "");
            tu_sb_printf(&want, "%s", "");
            for (int e = 1; e <= NENT; e++) {
                dt_value ev;
                dt_value_long(e, &ev);
                char *part = dump_comps(v, DT_INDEX_EAV, &ev, 1, 1);
                tu_sb_printf(&got, "%s", part);
                free(part);
                char pre[32];
                int pl = snprintf(pre, sizeof pre, "[%d ", e);
                for (const char *l = eav[t]; *l;) {
                    const char *nl = strchr(l, '\n');
                    size_t ll = nl ? (size_t)(nl - l + 1) : strlen(l);
                    if (!strncmp(l, pre, (size_t)pl)) tu_sb_printf(&want, "%.*s", (int)ll, l);
                    l += ll;
                }
            }
            if (strcmp(got.p, want.p) != 0)
                fail_msg("seed %llu: as-of tx #%d entity by entity:\n%s\n--- replay:\n%s",
                         (unsigned long long)seed, t, got.p, want.p);
            free(got.p);
            free(want.p);
            dt_db_close(v);
            dt_db_close(fresh);
        }
        /* since: the current datoms asserted after txs[t] */
        if (t % 20 == 0) {
            assert_int_equal(dt_db_since(db, txs[t], &v), DT_OK);
            char *gs = dump_ix(v, DT_INDEX_EAV, 1), *cur = dump_ix(db, DT_INDEX_EAV, 1);
            tu_sbuf want = {0};
            tu_sb_printf(&want, "%s", "");
            for (char *line = strtok(cur, "\n"); line; line = strtok(NULL, "\n")) {
                long long e, tx;
                char rest[1024];
                assert_int_equal(sscanf(line, "[%lld %1000[^]]", &e, rest), 2);
                const char *sp = strrchr(line, ' ');
                const char *sp2 = sp - 1;
                while (*sp2 != ' ') sp2--;
                tx = atoll(sp2 + 1);
                if (tx > txs[t]) tu_sb_printf(&want, "%s\n", line);
            }
            assert_str(gs, want.p);
            free(want.p);
            free(gs);
            free(cur);
            dt_db_close(v);
        }
    }
    /* history: the log's datoms, each once */
    dt_db *h = NULL;
    assert_int_equal(dt_db_history(db, &h), DT_OK);
    tu_lines hl = {0}, ll = {0};
    char *hd = dump_ix(h, DT_INDEX_EAV, 1);
    for (char *line = strtok(hd, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, " :p/")) tu_lines_add(&hl, strdup(line));
    free(hd);
    dt_log *log = NULL;
    assert_int_equal(dt_log_open(db, 0, 0, &log), DT_OK);
    dt_log_tx lt;
    while (dt_log_next(log, &lt) == DT_ROW) {
        for (size_t i = 0; i < lt.n_datoms; i++) {
            const dt_datom *d = &lt.datoms[i];
            if (d->e >= DT_TX0 || strncmp(d->a, "p/", 2) != 0) continue;
            char *v = tu_edn(&d->v);
            char *s = malloc(strlen(v) + 128);
            sprintf(s, "[%lld :%s %s %lld %s]", (long long)d->e, d->a, v, (long long)d->tx,
                    d->added ? "true" : "false");
            free(v);
            tu_lines_add(&ll, s);
        }
    }
    dt_log_close(log);
    char *hs = tu_lines_join(&hl), *ls = tu_lines_join(&ll);
    assert_str(hs, ls);
    free(hs);
    free(ls);
    /* queries over history: both evaluators agree */
    for (size_t k = 0; k < NHIST_Q; k++) {
        dt_input in = {h, NULL, NULL, 0};
        assert_q_in(HIST_Q[k], &in, 1, NULL);
    }
    dt_db_close(h);
    dt_db_close(db);
    for (int t = 0; t <= NTX; t++) {
        free(eav[t]);
        free(ave[t]);
        free(stats[t]);
        for (size_t k = 0; k < NDIFF_Q; k++) free(qres[t][k]);
    }
    tu_db_close(a);
    tu_db_close(b);
}

static void test_diff_as_of_replay(void **state) {
    (void)state;
    const char *env = getenv("DT_TIME_SEEDS");
    int nseeds = env ? atoi(env) : 3;
    for (int s = 0; s < nseeds; s++) run_diff(0x9e3779b97f4a7c15ULL * (uint64_t)(s + 1));
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_as_of_datoms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_as_of_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_since_and_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_entity_on_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries_on_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_source_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_in_write_block, setup, teardown),
        cmocka_unit_test(test_diff_as_of_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
