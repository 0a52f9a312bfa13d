/*
 * test_udf_query.c -- query functions: C and Lua functions registered
 * with kind "query-fn" and called from queries as predicates and as
 * functions with every binding form, in both evaluators (planned and
 * naive give the same rows), value round trips, the errors (unknown
 * names at parse and at run time, a raising, looping or memory-hungry
 * function, kinds used in the wrong place), and calls from a write
 * block's view and from db:q inside a transaction function.
 */
#include "udfutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *SCHEMA =
    "{:p/name {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/age {:db/valueType :db.type/long}}";

/* {====== The registered functions ====== */

/* (acme/score a b): a * 10 + b, for two longs. */
static int c_score(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 2 || args[0].type != DT_LONG || args[1].type != DT_LONG)
        return dt_errmsg_set(NULL, DT_INVALID, "score takes two longs, got %zu arguments", nargs);
    dt_value_long(args[0].u.i * 10 + args[1].u.i, out);
    return DT_OK;
}

/* (acme/adult? a): a >= 18. */
static int c_adult(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 1 || args[0].type != DT_LONG)
        return dt_errmsg_set(NULL, DT_INVALID, "adult? takes a long");
    dt_value_bool(args[0].u.i >= 18, out);
    return DT_OK;
}

/* (acme/echo x): x. */
static int c_echo(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud;
    if (nargs != 1) return dt_errmsg_set(NULL, DT_INVALID, "echo takes one argument");
    return dt_value_copy(&args[0], out);
}

/* (acme/pair a): [a (* 2 a)]. */
static int c_pair(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud, (void)nargs;
    int rc = dt_value_seq(DT_VECTOR, 2, out);
    if (rc != DT_OK) return rc;
    dt_value_long(args[0].u.i, &out->u.seq.items[0]);
    dt_value_long(args[0].u.i * 2, &out->u.seq.items[1]);
    return DT_OK;
}

/* (acme/rel a): [[a 1] [a 2]]. */
static int c_rel(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)ud, (void)nargs;
    int rc = dt_value_seq(DT_VECTOR, 2, out);
    for (int i = 0; rc == DT_OK && i < 2; i++) {
        dt_value *row = &out->u.seq.items[i];
        if ((rc = dt_value_seq(DT_VECTOR, 2, row)) != DT_OK) break;
        dt_value_long(args[0].u.i, &row->u.seq.items[0]);
        dt_value_long(i + 1, &row->u.seq.items[1]);
    }
    return rc;
}

/* (acme/fail x): fails with an application code. */
static int c_fail(const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)args, (void)nargs, (void)ud;
    dt_value_long(1, out); /* given up on failure: must not leak */
    return dt_errmsg_set(NULL, DT_USER_FIRST + 5, "the host refuses");
}

/* A transaction function, to call from a query by mistake. */
static int c_txfn(dt_db *db, const dt_value *args, size_t nargs, dt_value *out, void *ud) {
    (void)db, (void)args, (void)nargs, (void)ud;
    return dt_edn_read("[]", 2, out);
}

#define QF(id, fn)                                                                                 \
    { id, DT_FN_C, NULL, NULL, NULL, "query-fn", fn }
#define QL(id, src)                                                                                \
    { id, DT_FN_LUA, NULL, NULL, src, "query-fn", NULL }
static const dt_fn_def FNS[] = {
    QF("acme/score", c_score),
    QF("acme/adult?", c_adult),
    QF("acme/echo", c_echo),
    QF("acme/pair", c_pair),
    QF("acme/rel", c_rel),
    QF("acme/fail", c_fail),
    QL("lua/score", "return function(a, b) return a * 10 + b end"),
    QL("lua/adult?", "return function(a) return a >= 18 end"),
    QL("lua/echo", "return function(x) return x end"),
    QL("lua/inc", "return function(x) return x + 1 end"),
    QL("lua/type", "return function(x) return dt.type(x) end"),
    QL("lua/pair", "return function(a) return {a, a * 2} end"),
    QL("lua/three", "return function(a) return {a, a + 1, a + 2} end"),
    QL("lua/rel", "return function(a) return {{a, 1}, {a, 2}} end"),
    QL("lua/nil", "return function(a) return nil end"),
    QL("lua/boom", "return function(a)\n  error('boom ' .. tostring(a))\nend"),
    QL("lua/loop", "return function(a) while true do end end"),
    QL("lua/pcall-loop",
       "return function(a) while true do pcall(function() while true do end end) end end"),
    QL("lua/bomb", "return function(a)\n"
                   "  local t = {}\n"
                   "  for i = 1, 100000000 do t[i] = string.rep('x', 4096) .. i end\n"
                   "end"),
    QL("lua/fn", "return function(a) return function() end end"),
    QL("lua/writes", "return function(a) return db == nil and dt.db == nil end"),
    QL("lua/kw", "return function(s) return dt.kw(s) end"),
    QL("lua/syntax", "return function(a) return a +* 1 end"),
    QL("lua/notfn", "return 42"),
    {"acme/txfn", DT_FN_C, c_txfn, NULL, NULL, "tx-fn", NULL},
};

#define NFNS (sizeof FNS / sizeof FNS[0])

/* }====== */

static int setup(void **state) {
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fns = FNS;
    o.nfns = NFNS;
    o.fn_memory = (size_t)4 << 20;
    o.fn_steps = 2000000;
    tu_db *d = uu_open(SCHEMA, &o);
    tu_tx(d->conn,
          "[{:p/name \"Ann\" :p/age 30} {:p/name \"Bob\" :p/age 17} {:p/name \"Cid\" :p/age 45}]",
          DT_OK, 0);
    *state = d;
    return 0;
}

static int teardown(void **state) {
    tu_db_close(*state);
    return 0;
}

static dt_conn *C(void **state) { return ((tu_db *)*state)->conn; }

/* {====== Running a query in both evaluators ====== */

/* The row of a table being run ("" outside tables): every failed
 * assertion below starts with it. */
static char row_name[200] = "";

/* The rows of r as sorted "[a b]" lines. */
static char *rows_text(const dt_result *r) {
    tu_lines l = {0};
    for (size_t i = 0; i < dt_result_count(r); i++) {
        size_t cap = 16, len = 0;
        char *line = malloc(cap);
        assert_non_null(line);
        line[len++] = '[';
        for (size_t j = 0; j < dt_result_width(r); j++) {
            char *cell = tu_edn(dt_result_get(r, i, j));
            size_t n = strlen(cell);
            while (len + n + 3 > cap) line = realloc(line, cap *= 2);
            if (j) line[len++] = ' ';
            memcpy(line + len, cell, n);
            len += n;
            free(cell);
        }
        line[len++] = ']';
        line[len] = 0;
        tu_lines_add(&l, line);
    }
    return tu_lines_join(&l);
}

/* Runs query on a snapshot of conn (then the further inputs, EDN texts)
 * with the planned and the naive evaluator; both must give rc, and on
 * DT_OK the same rows, which are returned (malloc'd) -- or on error the
 * message of the planned run. */
static char *run2(dt_db *db, const char *query, const char *const *edn, size_t nedn, int rc) {
    dt_input in[8];
    memset(in, 0, sizeof in);
    in[0].db = db;
    for (size_t i = 0; i < nedn; i++) {
        in[i + 1].edn = edn[i];
        in[i + 1].edn_len = strlen(edn[i]);
    }
    char *texts[2] = {NULL, NULL};
    for (int mode = 0; mode < 2; mode++) {
        dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, mode ? DT_PLAN_NAIVE : DT_PLAN_AUTO,
                              NULL};
        dt_result *r = NULL;
        int got = dt_q_inputs(query, strlen(query), in, nedn + 1, &o, &r);
        if (got != rc)
            fail_msg("%s%s (%s): expected %s, got %s: %s", row_name, query,
                     mode ? "naive" : "planned", dt_errstr(rc), dt_errstr(got), dt_errmsg(NULL));
        texts[mode] = got == DT_OK ? rows_text(r) : strdup(dt_errmsg(NULL));
        dt_result_free(r);
    }
    if (rc == DT_OK && strcmp(texts[0], texts[1]))
        fail_msg("%s%s: planned gives\n%s\nnaive gives\n%s", row_name, query, texts[0], texts[1]);
    free(texts[1]);
    return texts[0];
}

/* run2 on a fresh snapshot of conn, asserting the rows equal want. */
static void q_rows(dt_conn *conn, const char *query, const char *const *edn, size_t nedn,
                   const char *want) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    char *got = run2(db, query, edn, nedn, DT_OK);
    if (strcmp(got, want)) fail_msg("%s%s:\n got  %s\n want %s", row_name, query, got, want);
    free(got);
    dt_db_close(db);
}

/* run2 expecting failure rc, with each needle in the message. */
static void q_fails(dt_conn *conn, const char *query, int rc, const char *n1, const char *n2) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    char *msg = run2(db, query, NULL, 0, rc);
    if ((n1 && !strstr(msg, n1)) || (n2 && !strstr(msg, n2)))
        fail_msg("%s%s: message lacks \"%s\" or \"%s\": %s", row_name, query, n1 ? n1 : "",
                 n2 ? n2 : "", msg);
    free(msg);
    dt_db_close(db);
}

/* A row of a table of queries: query (with one further input, EDN text,
 * when `in` is not NULL) gives the rows `want` (q_rows). */
typedef struct q_case {
    const char *query, *in, *want;
} q_case;

/* A row of a table of failing queries: rc, with n1 and n2 (when not
 * NULL) in the message (q_fails). */
typedef struct q_fail_case {
    const char *query;
    int rc;
    const char *n1, *n2;
} q_fail_case;

/* Names row i of `table` for the messages of a failure. */
static void name_row(const char *table, size_t i) {
    snprintf(row_name, sizeof row_name, "%s, row %zu: ", table, i + 1);
}

static void run_q_cases(dt_conn *c, const char *table, const q_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        name_row(table, i);
        q_rows(c, cases[i].query, &cases[i].in, cases[i].in ? 1 : 0, cases[i].want);
    }
    row_name[0] = 0;
}

static void run_q_fail_cases(dt_conn *c, const char *table, const q_fail_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        name_row(table, i);
        q_fails(c, cases[i].query, cases[i].rc, cases[i].n1, cases[i].n2);
    }
    row_name[0] = 0;
}

#define N_OF(a)               (sizeof a / sizeof a[0])
#define RUN_Q(c, cases)       run_q_cases(c, #cases, cases, N_OF(cases))
#define RUN_Q_FAILS(c, cases) run_q_fail_cases(c, #cases, cases, N_OF(cases))

/* }====== */

/* {====== As functions and predicates ====== */

static void test_function_binds_a_scalar(void **state) {
#define SCORES "[\"Ann\" 302]\n[\"Bob\" 172]\n[\"Cid\" 452]"
    static const q_case scalars[] = {
        {"[:find ?n ?s :where [?e :p/name ?n] [?e :p/age ?a] [(acme/score ?a 2) ?s]]", NULL,
         SCORES},
        {"[:find ?n ?s :where [?e :p/name ?n] [?e :p/age ?a] [(lua/score ?a 2) ?s]]", NULL, SCORES},
    };
#undef SCORES
    RUN_Q(C(state), scalars);
    /* explain shows the call as a step */
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(C(state), &db), DT_OK);
    dt_input in = {db, NULL, NULL, 0};
    const char *q = "[:find ?s :where [?e :p/age ?a] [(lua/score ?a 2) ?s]]";
    char *plan = NULL;
    assert_int_equal(dt_explain(q, strlen(q), &in, 1, NULL, &plan, NULL), DT_OK);
    if (!strstr(plan, "(lua/score ?a 2)")) fail_msg("%s", plan);
    dt_free(plan);
    dt_db_close(db);
    /* the result joins with a variable bound before: a test */
    q_rows(C(state),
           "[:find ?n :where [?e :p/name ?n] [?e :p/age ?a] [(ground 452) ?s] [(lua/score ?a 2) "
           "?s]]",
           NULL, 0, "[\"Cid\"]");
}

static void test_predicate_keeps_truthy_rows(void **state) {
#define ADULTS "[\"Ann\"]\n[\"Cid\"]"
    static const q_case predicates[] = {
        {"[:find ?n :where [?e :p/name ?n] [?e :p/age ?a] [(acme/adult? ?a)]]", NULL, ADULTS},
        {"[:find ?n :where [?e :p/name ?n] [?e :p/age ?a] [(lua/adult? ?a)]]", NULL, ADULTS},
        /* any value but nil and false passes; nil binds nothing */
        {"[:find ?n :where [?e :p/name ?n] [?e :p/age ?a] [(lua/score ?a 0)]]", NULL,
         "[\"Ann\"]\n[\"Bob\"]\n[\"Cid\"]"},
        {"[:find ?n :where [?e :p/name ?n] [?e :p/age ?a] [(lua/nil ?a)]]", NULL, ""},
        {"[:find ?n ?x :where [?e :p/name ?n] [?e :p/age ?a] [(lua/nil ?a) ?x]]", NULL, ""},
        /* inside not, and in a rule */
        {"[:find ?n :where [?e :p/name ?n] [?e :p/age ?a] (not [(acme/adult? ?a)])]", NULL,
         "[\"Bob\"]"},
        {"[:find ?n :in $ % :where [?e :p/name ?n] (grown ?e)]",
         "[[(grown ?e) [?e :p/age ?a] [(lua/adult? ?a)]]]", ADULTS},
    };
#undef ADULTS
    RUN_Q(C(state), predicates);
}

static void test_binding_forms(void **state) {
#define TUPLE "[30 60]\n[45 90]"
#define REL   "[17 1]\n[17 2]\n[30 1]\n[30 2]\n[45 1]\n[45 2]"
    static const q_case bindings[] = {
        {"[:find ?x ?y :where [?e :p/age ?a] [(> ?a 20)] [(acme/pair ?a) [?x ?y]]]", NULL, TUPLE},
        {"[:find ?x ?y :where [?e :p/age ?a] [(> ?a 20)] [(lua/pair ?a) [?x ?y]]]", NULL, TUPLE},
        {"[:find ?y :where [?e :p/age ?a] [(> ?a 20)] [(lua/pair ?a) [_ ?y]]]", NULL, "[60]\n[90]"},
        {"[:find ?x :where [?e :p/age 17] [?e :p/age ?a] [(lua/three ?a) [?x ...]]]", NULL,
         "[17]\n[18]\n[19]"},
        {"[:find ?x ?i :where [?e :p/age ?a] [(acme/rel ?a) [[?x ?i]]]]", NULL, REL},
        {"[:find ?x ?i :where [?e :p/age ?a] [(lua/rel ?a) [[?x ?i]]]]", NULL, REL},
        /* a function of :in values alone, with no pattern */
        {"[:find ?s :in $ ?a :where [(lua/score ?a 5) ?s]]", "4", "[45]"},
    };
#undef TUPLE
#undef REL
    RUN_Q(C(state), bindings);
}

/* }====== */

/* {====== Values ====== */

/* (fn ?x) with ?x given as EDN must give back `want` (EDN). */
static void round_trip(dt_conn *conn, const char *fn, const char *x, const char *want) {
    char query[160];
    snprintf(query, sizeof query, "[:find ?y :in $ ?x :where [(%s ?x) ?y]]", fn);
    char w[600];
    snprintf(w, sizeof w, "[%s]", want);
    q_rows(conn, query, &x, 1, w);
}

static void test_values_round_trip(void **state) {
    static const char *const vals[] = {
        "9223372036854775807",
        "-9223372036854775808",
        "0",
        "0.1",
        "-2.5E-300",
        "1.7976931348623157E308",
        "\"a \\\"quoted\\\" text \\u00e9\"",
        "\"\"",
        ":a/b",
        "\"a/b\"",
        "true",
        "[1 \"x\" :k [2.5 false]]",
        "{:p/name \"Ann\"}", /* one key: Lua tables keep no order */
        "#uuid \"6f1c9a4e-0000-4000-8000-000000000001\"",
        "#inst \"2020-01-02T03:04:05.006-00:00\"",
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        dt_value v = tu_read(vals[i]);
        char *canon = tu_edn(&v); /* as the printer writes it */
        dt_value_free(&v);
        round_trip(C(state), "acme/echo", vals[i], canon);
        round_trip(C(state), "lua/echo", vals[i], canon);
        free(canon);
    }
    static const struct {
        const char *fn, *x, *want;
    } calls[] = {
        /* Lua arithmetic on int64 is exact, and types stay apart */
        {"lua/inc", "9007199254740993", "9007199254740994"},
        {"lua/inc", "-9223372036854775807", "-9223372036854775806"},
        {"lua/inc", "0.5", "1.5"},
        {"lua/type", "42", "\"long\""},
        {"lua/type", "42.0", "\"double\""},
        {"lua/type", ":k", "\"keyword\""},
        {"lua/type", "\"k\"", "\"string\""},
        {"lua/kw", "\"p/x\"", ":p/x"},
        /* a query function has no db and no way to write */
        {"lua/writes", "1", "true"},
    };
    for (size_t i = 0; i < N_OF(calls); i++) {
        name_row("calls", i);
        round_trip(C(state), calls[i].fn, calls[i].x, calls[i].want);
    }
    row_name[0] = 0;
}

/* }====== */

/* {====== Errors ====== */

static void test_unknown_names(void **state) {
    /* names no host can register: at parse time */
    const char *bad[] = {"[:find ?x :where [(frobnicate 1) ?x]]",
                         "[:find ?x :where [(clojure.core/frob 1) ?x]]",
                         "[:find ?x :where [(clojure.string/frob \"a\") ?x]]",
                         "[:find ?x :where [(clojure/frob 1) ?x]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dt_query *q = NULL;
        assert_int_equal(dt_query_prepare(bad[i], strlen(bad[i]), &q), DT_INVALID);
        assert_null(q);
        if (!strstr(dt_errmsg(NULL), "unknown function"))
            fail_msg("%s: %s", bad[i], dt_errmsg(NULL));
    }
    /* a namespaced name prepares; running it finds none */
    dt_query *q = NULL;
    const char *text = "[:find ?s :where [?e :p/age ?a] [(acme/nope ?a) ?s]]";
    assert_int_equal(dt_query_prepare(text, strlen(text), &q), DT_OK);
    dt_query_free(q);
    q_fails(C(state), text, DT_INVALID, "unknown function acme/nope in [(acme/nope ?a) ?s] at 1:",
            "registers no query function");
    /* a transaction function is not a query function */
    q_fails(C(state), "[:find ?s :where [?e :p/age ?a] [(acme/txfn ?a) ?s]]", DT_INVALID,
            "acme/txfn", "kind query-fn");
}

static void test_function_errors_fail_the_query(void **state) {
    dt_conn *c = C(state);
    char *before = tu_dump(c, 1);
    static const q_fail_case errors[] = {
        {"[:find ?s :where [?e :p/age ?a] [(lua/boom ?a) ?s]]", DT_TXFN,
         "function lua/boom in [(lua/boom ?a) ?s] at 1:", "stack traceback"},
        {"[:find ?e :where [?e :p/age ?a] [(lua/boom ?a)]]", DT_TXFN, ":lua/boom:2: boom ", NULL},
        {"[:find ?s :where [?e :p/age ?a] [(acme/fail ?a) ?s]]", DT_USER_FIRST + 5, "acme/fail",
         "the host refuses"},
        {"[:find ?s :where [?e :p/name ?a] [(acme/score ?a 1) ?s]]", DT_INVALID, "acme/score",
         "score takes two longs"},
        {"[:find ?s :where [?e :p/age ?a] [(lua/score ?a \"x\") ?s]]", DT_TXFN, "lua/score",
         "attempt to add"},
        {"[:find ?s :where [?e :p/age ?a] [(lua/fn ?a) ?s]]", DT_TXFN, "lua/fn", NULL},
        /* source that does not compile, or returns no function */
        {"[:find ?s :where [?e :p/age ?a] [(lua/syntax ?a) ?s]]", DT_TXFN, "compiling :lua/syntax",
         NULL},
        {"[:find ?s :where [?e :p/age ?a] [(lua/notfn ?a) ?s]]", DT_TXFN, "must return a function",
         NULL},
    };
    RUN_Q_FAILS(c, errors);
    /* limits: a loop ends, pcall cannot hide it, memory is capped */
    static const q_fail_case loops[] = {
        {"[:find ?s :where [?e :p/age ?a] [(lua/loop ?a) ?s]]", DT_LIMIT, "lua/loop",
         "instruction limit"},
        {"[:find ?e :where [?e :p/age ?a] [(lua/pcall-loop ?a)]]", DT_LIMIT, "lua/pcall-loop",
         "instruction limit"},
    };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    RUN_Q_FAILS(c, loops);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 60);
    q_fails(c, "[:find ?s :where [?e :p/age ?a] [(lua/bomb ?a) ?s]]", DT_LIMIT, "lua/bomb",
            "memory limit");
    /* the states that failed serve the next calls */
    q_rows(c, "[:find ?s :where [?e :p/name \"Ann\"] [?e :p/age ?a] [(lua/score ?a 1) ?s]]", NULL,
           0, "[301]");
    char *after = tu_dump(c, 1);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_kinds_stay_in_their_place(void **state) {
    /* a query function cannot be called by a transaction */
    tu_assert_fails_unchanged(C(state), "[[:lua/score 1 2]]", DT_TXFN, "query function");
    tu_assert_fails_unchanged(C(state), "[[:acme/score 1 2]]", DT_TXFN, "query function");
    /* registration: a query function needs a namespaced id and its code */
    dt_fn_def bad[] = {{"score", DT_FN_C, NULL, NULL, NULL, "query-fn", c_score}};
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fns = bad;
    o.nfns = 1;
    char *dir = tu_tmpdir();
    dt_conn *conn = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, &o, &conn), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "namespaced"));
    bad[0] = (dt_fn_def){"a/score", DT_FN_C, c_txfn, NULL, NULL, "query-fn", NULL};
    assert_int_equal(dt_conn_open(dir, NULL, &o, &conn), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "qfn"));
    bad[0] = (dt_fn_def){"a/score", DT_FN_C, c_txfn, NULL, NULL, "view-fn", NULL};
    assert_int_equal(dt_conn_open(dir, NULL, &o, &conn), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "query-fn"));
    assert_null(conn);
    tu_rmdir_free(dir);
}

/* }====== */

/* {====== Other views ====== */

/* A write block's view: the block's own writes are visible. */
static void test_write_block_view(void **state) {
    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(C(state), &tx), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[{:p/name \"Dan\" :p/age 20}]", NULL), DT_OK);
    dt_db *view = NULL;
    assert_int_equal(dt_txn_db(tx, &view), DT_OK);
    char *got = run2(view,
                     "[:find ?n ?s :where [?e :p/name ?n] [?e :p/age ?a] [(lua/adult? ?a)] "
                     "[(acme/score ?a 0) ?s]]",
                     NULL, 0, DT_OK);
    assert_string_equal(got, "[\"Ann\" 300]\n[\"Cid\" 450]\n[\"Dan\" 200]");
    free(got);
    dt_db_close(view);
    dt_txn_abort(tx);
}

/* db:q inside a transaction function calls query functions too. */
static void test_from_a_transaction_function(void **state) {
    dt_conn *c = C(state);
    uu_install(c, "t/tag",
               "return function(db, name)\n"
               "  local s = db:q('[:find ?s . :in $ ?n :where [?e :p/name ?n] [?e :p/age ?a] "
               "[(lua/adult? ?a)] [(lua/score ?a 1) ?t] [(acme/score ?t 0) ?s]]', name)\n"
               "  return {dt.add(dt.tempid(), 'p/name', name .. ' ' .. tostring(s))}\n"
               "end");
    tu_tx(c, "[[:t/tag \"Ann\"] [:t/tag \"Bob\"]]", DT_OK, 0);
    q_rows(c, "[:find ?n :where [?e :p/name ?n] [(clojure.string/includes? ?n \" \")]]", NULL, 0,
           "[\"Ann 3010\"]\n[\"Bob nil\"]");
    /* a query function failing inside db:q fails the transaction */
    uu_install(c, "t/bad",
               "return function(db) db:q('[:find ?x :where [_ :p/age ?a] [(lua/boom ?a) ?x]]') "
               "return {} end");
    tu_assert_fails_unchanged(c, "[[:t/bad]]", DT_TXFN, "lua/boom");
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_function_binds_a_scalar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predicate_keeps_truthy_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binding_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_errors_fail_the_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kinds_stay_in_their_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_block_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_a_transaction_function, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
