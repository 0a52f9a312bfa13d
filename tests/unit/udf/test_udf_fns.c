/*
 * test_udf_fns.c -- stored Lua transaction functions: installing, calling
 * by ident and through :db.fn/call, the view of earlier forms, recursive
 * expansion and its limit, errors, the compile cache (also when another
 * process changes the source), the value mapping and the read API.
 */
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "udf.h"

static const char *SCHEMA =
    "{:acct/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
    " :acct/balance {:db/valueType :db.type/long}"
    " :p/name {:db/valueType :db.type/string}"
    " :p/age {:db/valueType :db.type/long}"
    " :p/tags {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}"
    " :p/friend {:db/valueType :db.type/ref}"
    " :v/long {:db/valueType :db.type/long}"
    " :v/double {:db/valueType :db.type/double}"
    " :v/kw {:db/valueType :db.type/keyword}"
    " :v/str {:db/valueType :db.type/string}"
    " :v/uuid {:db/valueType :db.type/uuid}"
    " :v/inst {:db/valueType :db.type/instant}"
    " :v/types {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}}";

TU_DB_FIXTURE(SCHEMA)

static const char *TRANSFER =
    "return function(db, from, to, amount)\n"
    "  local a = db:entity({dt.kw'acct/id', from})\n"
    "  local b = db:entity({dt.kw'acct/id', to})\n"
    "  if not a or not b then error('no such account') end\n"
    "  if a['acct/balance'] < amount then\n"
    "    error(string.format('overdraft: account %d has %d, needs %d', from,\n"
    "                        a['acct/balance'], amount))\n"
    "  end\n"
    "  return {dt.add(a['db/id'], 'acct/balance', a['acct/balance'] - amount),\n"
    "          dt.add(b['db/id'], 'acct/balance', b['acct/balance'] + amount)}\n"
    "end\n";

static void accounts(dt_conn *c) {
    tu_tx(c, "[{:acct/id 1 :acct/balance 100} {:acct/id 2 :acct/balance 50}]", DT_OK, 0);
    uu_install(c, "acct/transfer", TRANSFER);
}

static int64_t balance(dt_conn *c, int id) {
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char text[64];
    snprintf(text, sizeof text, "[:acct/id %d]", id);
    dt_value ref = tu_read(text), comps[2];
    int64_t e;
    assert_int_equal(dt_db_entid(db, &ref, &e), DT_OK);
    dt_value_long(e, &comps[0]);
    assert_int_equal(dt_value_text(DT_KEYWORD, "acct/balance", 12, &comps[1]), DT_OK);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, comps, 2, &it), DT_OK);
    dt_datom d;
    assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
    int64_t v = d.v.u.i;
    dt_datom_iter_close(it);
    dt_value_free(&comps[1]);
    dt_value_free(&ref);
    dt_db_close(db);
    return v;
}

/*
 * One row of a table of calls: installs src as the function :ident
 * (unless src is NULL), transacts tx and expects rc; the message must
 * contain every `want` given, and a failing transaction must leave the
 * database unchanged (tu_tx_row).
 */
typedef struct fn_case {
    const char *ident, *src;
    const char *tx;
    int rc;
    const char *want[3];
} fn_case;

/* Runs the rows in order; a failure names the table and the row. */
static void run_cases(dt_conn *c, const char *table, const fn_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const fn_case *k = &cases[i];
        char row[160];
        snprintf(row, sizeof row, "%s, row %zu (%s)", table, i + 1, k->tx);
        if (k->src) uu_install(c, k->ident, k->src);
        tu_tx_row(c, row, k->tx, k->rc, k->want[0]);
        for (size_t j = 1; j < 3 && k->want[j]; j++)
            if (!strstr(dt_errmsg(c), k->want[j]))
                fail_msg("%s: message \"%s\" lacks \"%s\"", row, dt_errmsg(c), k->want[j]);
    }
}

#define RUN_CASES(c, cases) run_cases(c, #cases, cases, sizeof cases / sizeof cases[0])

static void test_call_by_ident(void **state) {
    dt_conn *c = C(state);
    accounts(c);
    tu_tx(c, "[[:acct/transfer 1 2 30]]", DT_OK, 0);
    assert_int_equal(balance(c, 1), 70);
    assert_int_equal(balance(c, 2), 80);
    tu_tx(c, "[[:db.fn/call :acct/transfer 2 1 80]]", DT_OK, 0);
    assert_int_equal(balance(c, 1), 150);
    assert_int_equal(balance(c, 2), 0);
}

static void test_error_fails_unchanged(void **state) {
    dt_conn *c = C(state);
    accounts(c);
    static const fn_case errors[] = {
        /* the message names the function and carries a traceback */
        {NULL,
         NULL,
         "[[:acct/transfer 2 1 51]]",
         DT_TXFN,
         {"overdraft: account 2 has 50, needs 51", ":acct/transfer", "traceback"}},
        {NULL, NULL, "[[:acct/transfer 1 99 1]]", DT_TXFN, {"no such account"}},
        /* a form before the failing call is not written either */
        {NULL,
         NULL,
         "[[:db/add [:acct/id 1] :p/name \"x\"] [:acct/transfer 2 1 51]]",
         DT_TXFN,
         {"overdraft"}},
    };
    RUN_CASES(c, errors);
}

static void test_unknown_function(void **state) {
    dt_conn *c = C(state);
    static const fn_case unknown[] = {
        {NULL, NULL, "[[:acct/nothing 1]]", DT_INVALID, {"unknown operation :acct/nothing"}},
        {NULL, NULL, "[[:db.fn/call :acct/nothing 1]]", DT_INVALID, {"no transaction function"}},
        {NULL, NULL, "[[:db.fn/call 12]]", DT_INVALID, {"function ident"}},
    };
    RUN_CASES(c, unknown);
    /* an entity with an ident but no :db/fn is no function */
    tu_tx(c, "[{:db/ident :acct/plain}]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[[:acct/plain]]", DT_INVALID, "unknown operation");
}

/* The function sees the forms before it in its own transaction. */
static void test_sees_earlier_forms(void **state) {
    dt_conn *c = C(state);
    uu_install(c, "t/count",
               "return function(db, attr)\n"
               "  local n = #db:datoms('avet', attr)\n"
               "  return {{dt.kw'db/add', dt.tempid('c'), dt.kw'p/age', n}}\n"
               "end");
    tu_tx(c, "[[:db/add \"a\" :p/name \"Ann\"] [:db/add \"b\" :p/name \"Bob\"] [:t/count :p/name]]",
          DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char *dump = tu_dump_db(db, 0);
    dt_db_close(db);
    const char *want = "[2 :p/name \"Ann\"]\n[3 :p/name \"Bob\"]\n[4 :p/age 2]";
    if (!strstr(dump, want)) fail_msg("%s", dump);
    free(dump);
}

/* Entities made by earlier forms keep their tempids in the report. */
static void test_tempids_across_call(void **state) {
    dt_conn *c = C(state);
    uu_install(c, "t/name-of",
               "return function(db, e)\n"
               "  local x = db:entity(e)\n"
               "  return {dt.add(e, 'p/age', #x['p/name'])}\n"
               "end");
    dt_report *r =
        tu_tx(c, "[[:db/add \"x\" :p/name \"Alice\"] [:db/add \"y\" :p/name \"Bo\"]]", DT_OK, 1);
    int64_t x = tu_tempid(r, "x");
    dt_report_close(r);
    char tx[128];
    snprintf(tx, sizeof tx, "[[:t/name-of %lld] [:db/add \"z\" :p/name \"Zed\"]]", (long long)x);
    r = tu_tx(c, tx, DT_OK, 1);
    assert_true(tu_tempid(r, "z") > 0);
    dt_report_close(r);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char *dump = tu_dump_db(db, 0);
    if (!strstr(dump, "[2 :p/age 5]")) fail_msg("%s", dump);
    free(dump);
    dt_db_close(db);
}

/* A tempid used only as a value stays an error when a call follows. */
static void test_value_only_tempid_before_call(void **state) {
    dt_conn *c = C(state);
    uu_install(c, "t/noop", "return function(db) return {} end");
    tu_tx(c, "[{:db/id \"a\" :p/name \"A\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(c, "[[:db/add 1 :p/friend \"ghost\"] [:t/noop]]", DT_INVALID,
                              "used only as a value");
    /* named as an entity after the call: fine */
    tu_tx(c, "[[:db/add 1 :p/friend \"f\"] [:t/noop] [:db/add \"f\" :p/name \"F\"]]", DT_OK, 0);
}

static void test_recursion_and_limit(void **state) {
    dt_conn *c = C(state);
    /* countdown: expands recursively while n > 0 */
    uu_install(c, "t/down",
               "return function(db, n)\n"
               "  if n == 0 then return {} end\n"
               "  return {dt.add(dt.tempid('e'..n), 'p/age', n), {dt.kw't/down', n - 1}}\n"
               "end");
    tu_tx(c, "[[:t/down 5]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    uint64_t n = 0;
    dt_value a;
    assert_int_equal(dt_value_text(DT_KEYWORD, "p/age", 5, &a), DT_OK);
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, &a, 1, &n), DT_OK);
    assert_int_equal(n, 5);
    dt_value_free(&a);
    dt_db_close(db);
    uu_install(c, "t/forever", "return function(db, n) return {{dt.kw't/forever', n + 1}} end");
    tu_assert_fails_unchanged(c, "[[:t/forever 0]]", DT_LIMIT, "deeper than");
}

static void test_malformed_returns(void **state) {
    static const fn_case returns[] = {
        {"t/num",
         "return function(db) return 42 end",
         "[[:t/num]]",
         DT_INVALID,
         {"must return tx-data"}},
        {"t/fnval",
         "return function(db) return {{dt.kw'db/add', 1, dt.kw'p/name', print or function() "
         "end}} end",
         "[[:t/fnval]]",
         DT_TXFN,
         {"cannot convert function"}},
        {"t/cycle",
         "return function(db) local t = {} t[1] = t return t end",
         "[[:t/cycle]]",
         DT_TXFN,
         {"nests deeper"}},
        {"t/nums",
         "return function(db) return {{1, 2, 3}} end",
         "[[:t/nums]]",
         DT_INVALID,
         {"in what :t/nums returned"}},
        {"t/arity",
         "return function(db) return {{dt.kw'db/add', 1, dt.kw'p/name'}} end",
         "[[:t/arity]]",
         DT_INVALID,
         {"takes"}},
        {"t/strattr",
         "return function(db) return {{dt.kw'db/add', 1, 'p/name', 'x'}} end",
         "[[:t/strattr]]",
         DT_INVALID,
         {"attribute keyword"}},
        {"t/dbret",
         "return function(db) return {{dt.kw'db/add', 1, dt.kw'p/name', db}} end",
         "[[:t/dbret]]",
         DT_TXFN,
         {"cannot convert"}},
        {"t/nofn", "return 7", "[[:t/nofn]]", DT_TXFN, {"must return a function"}},
        {"t/syntax",
         "return function(db) return {{ end",
         "[[:t/syntax]]",
         DT_TXFN,
         {"compiling :t/syntax"}},
        {"t/empty", "return function(db) return {} end", "[[:t/empty]]", DT_OK, {NULL}},
        {"t/nil", "return function(db) end", "[[:t/nil]]", DT_INVALID, {"must return tx-data"}},
    };
    RUN_CASES(C(state), returns);
}

/* {====== Compile cache ====== */

static uint64_t compiles(dt_conn *c) { return udf_rt_compiles(c->udf); }

static void test_compiled_once(void **state) {
    dt_conn *c = C(state);
    accounts(c);
    uint64_t before = compiles(c);
    for (int i = 0; i < 10; i++) tu_tx(c, "[[:acct/transfer 1 2 1]]", DT_OK, 0);
    assert_int_equal(compiles(c) - before, 1);
    assert_int_equal(balance(c, 2), 60);
    /* new source: compiled again, the new version runs */
    uu_install(c, "acct/transfer",
               "return function(db, from, to, amount)\n"
               "  return {dt.add({dt.kw'acct/id', to}, 'acct/balance', 7)}\n"
               "end");
    tu_tx(c, "[[:acct/transfer 1 2 1]]", DT_OK, 0);
    tu_tx(c, "[[:acct/transfer 1 2 1]]", DT_OK, 0);
    assert_int_equal(compiles(c) - before, 2);
    assert_int_equal(balance(c, 2), 7);
    /* the same source again (another tx): no compilation */
    uu_install(c, "acct/transfer",
               "return function(db, from, to, amount)\n"
               "  return {dt.add({dt.kw'acct/id', to}, 'acct/balance', 7)}\n"
               "end");
    tu_tx(c, "[[:acct/transfer 1 2 1]]", DT_OK, 0);
    assert_int_equal(compiles(c) - before, 2);
}

/* Another process replaces the source: the next call runs the new one. */
static void test_changed_by_other_process(void **state) {
    tu_db *d = *state;
    accounts(d->conn);
    tu_tx(d->conn, "[[:acct/transfer 1 2 10]]", DT_OK, 0);
    assert_int_equal(balance(d->conn, 2), 60);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dt_conn *c2 = NULL;
        int ok = dt_conn_open(d->dir, NULL, NULL, &c2) == DT_OK;
        const char *tx = "[{:db/ident :acct/transfer :db/fn \"return function(db, f, t, n) "
                         "return {dt.add({dt.kw'acct/id', t}, 'acct/balance', 1000)} end\"}]";
        ok = ok && dt_transact(c2, tx, NULL) == DT_OK;
        ok = ok && dt_conn_close(c2) == DT_OK;
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    tu_tx(d->conn, "[[:acct/transfer 1 2 10]]", DT_OK, 0);
    assert_int_equal(balance(d->conn, 2), 1000);
}

/* }====== */

/* {====== Values and the read API ====== */

static void test_value_mapping(void **state) {
    dt_conn *c = C(state);
    uu_install(c, "t/echo",
               "return function(db, l, d, k, s, u, i)\n"
               "  local e = dt.tempid('e')\n"
               "  return {dt.add(e, 'v/long', l), dt.add(e, 'v/double', d), dt.add(e, 'v/kw', k),\n"
               "          dt.add(e, 'v/str', s), dt.add(e, 'v/uuid', u), dt.add(e, 'v/inst', i),\n"
               "          dt.add(e, 'v/types', dt.type(l)), dt.add(e, 'v/types', dt.type(d)),\n"
               "          dt.add(e, 'v/types', dt.type(k)), dt.add(e, 'v/types', dt.type(s)),\n"
               "          dt.add(e, 'v/types', dt.type(u)), dt.add(e, 'v/types', dt.type(i)),\n"
               "          dt.add(e, 'v/types', tostring(k == dt.kw'a/b') .. ' ' .. tostring(k == "
               "'a/b')),\n"
               "          dt.add(e, 'v/types', tostring(l == math.maxinteger)),\n"
               "          dt.add(e, 'v/types', tostring(u == "
               "dt.uuid'6ba7b810-9dad-11d1-80b4-00c04fd430c8')),\n"
               "          dt.add(e, 'v/types', tostring(dt.ms(i)))}\n"
               "end");
    tu_tx(c,
          "[[:t/echo 9223372036854775807 0.1 :a/b \"a/b\" #uuid "
          "\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\" #inst \"2020-01-02T03:04:05.006Z\"]]",
          DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char *dump = tu_dump_db(db, 0);
    const char *want[] = {"[2 :v/long 9223372036854775807]",
                          "[2 :v/double 0.1]",
                          "[2 :v/kw :a/b]",
                          "[2 :v/str \"a/b\"]",
                          "[2 :v/uuid #uuid \"6ba7b810-9dad-11d1-80b4-00c04fd430c8\"]",
                          "[2 :v/inst #inst \"2020-01-02T03:04:05.006-00:00\"]",
                          "[2 :v/types \"long\"]",
                          "[2 :v/types \"double\"]",
                          "[2 :v/types \"keyword\"]",
                          "[2 :v/types \"string\"]",
                          "[2 :v/types \"uuid\"]",
                          "[2 :v/types \"instant\"]",
                          "[2 :v/types \"true false\"]",
                          "[2 :v/types \"true\"]",
                          "[2 :v/types \"1577934245006\"]"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(dump, want[i])) fail_msg("missing %s in\n%s", want[i], dump);
    free(dump);
    dt_db_close(db);
}

/* Maps: keyword keys arrive as strings and go back as keywords. */
static void test_map_round_trip(void **state) {
    dt_conn *c = C(state);
    uu_install(c, "t/map",
               "return function(db, m)\n"
               "  assert(m['p/name'] == 'Ann' and m[dt.kw'p/name'] == nil)\n"
               "  m['db/id'] = dt.tempid('m')\n"
               "  m['p/age'] = m['p/age'] + 1\n"
               "  return {m}\n"
               "end");
    tu_tx(c, "[[:t/map {:p/name \"Ann\" :p/age 41}]]", DT_OK, 0);
    char *dump = tu_dump(c, 0);
    if (!strstr(dump, "[2 :p/age 42]\n[2 :p/name \"Ann\"]")) fail_msg("%s", dump);
    free(dump);
}

static void test_read_api(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:db/id \"a\" :acct/id 1 :p/name \"Ann\" :p/tags [\"x\" \"y\"]}"
          " {:db/id \"b\" :acct/id 2 :p/name \"Bob\" :p/friend \"a\"}]",
          DT_OK, 0);
    uu_install(c, "t/read",
               "return function(db)\n"
               "  local out = {}\n"
               "  local function put(s) out[#out + 1] = dt.add(dt.tempid('r'), 'v/types', s) end\n"
               "  local a = db:entid({dt.kw'acct/id', 1})\n"
               "  put('entid ' .. a)\n"
               "  put('entid-missing ' .. tostring(db:entid({dt.kw'acct/id', 9})))\n"
               "  put('ident ' .. db:entid(dt.kw't/read'))\n"
               "  local b = db:entity({dt.kw'acct/id', 2})\n"
               "  put('friend ' .. b['p/friend'] .. ' ' .. b[dt.kw'p/name'])\n"
               "  local ea = db:entity(a)\n"
               "  local tags = ea['p/tags'] table.sort(tags)\n"
               "  put('tags ' .. table.concat(tags, ','))\n"
               "  put('unknown ' .. tostring(ea['no/such']) .. ' ' .. tostring(ea['p/age']))\n"
               "  local ds = db:datoms('eavt', a)\n"
               "  put('eavt ' .. #ds .. ' ' .. tostring(ds[1].a) .. ' ' .. dt.type(ds[1].tx))\n"
               "  local av = db:datoms('avet', 'p/name', 'Bob')\n"
               "  put('avet ' .. #av .. ' ' .. av[1].e .. ' ' .. av[1].v)\n"
               "  put('missing ' .. tostring(db:entity({dt.kw'acct/id', 9})))\n"
               "  put('kw ' .. dt.kw'a/b':name() .. ' ' .. dt.kw'a/b':namespace() .. ' ' .. "
               "tostring(dt.kw':a/b'))\n"
               "  return out\n"
               "end");
    tu_tx(c, "[[:t/read]]", DT_OK, 0);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char *dump = tu_dump_db(db, 0);
    const char *want[] = {"\"entid 1\"",
                          "\"entid-missing nil\"",
                          "\"ident 3\"",
                          "\"friend 1 Bob\"",
                          "\"tags x,y\"",
                          "\"unknown nil nil\"",
                          "\"eavt 4 :acct/id long\"",
                          "\"avet 1 2 Bob\"",
                          "\"missing nil\"",
                          "\"kw b a :a/b\""};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(dump, want[i])) fail_msg("missing %s in\n%s", want[i], dump);
    free(dump);
    dt_db_close(db);
    /* bad read calls fail the transaction with the reason */
    static const fn_case bad_reads[] = {
        {"t/badread",
         "return function(db) db:datoms('xyz') return {} end",
         "[[:t/badread]]",
         DT_TXFN,
         {"\"eavt\" or \"avet\""}},
        {"t/badattr",
         "return function(db) db:datoms('avet', 'no/such') return {} end",
         "[[:t/badattr]]",
         DT_TXFN,
         {"db:datoms"}},
    };
    RUN_CASES(c, bad_reads);
}

/* db:q and db:pull inside a function see the transaction's own state. */
static void test_query_and_pull(void **state) {
    dt_conn *c = C(state);
    tu_tx(c,
          "[{:acct/id 1 :acct/balance 100 :p/name \"Ann\"} {:acct/id 2 :acct/balance 50 :p/name "
          "\"Bob\"}]",
          DT_OK, 0);
    uu_install(c, "t/q",
               "return function(db, min)\n"
               "  local out = {}\n"
               "  local function put(s) out[#out + 1] = dt.add(dt.tempid('r'), 'v/types', s) end\n"
               "  local rows = db:q('[:find ?n :in $ ?min :where [?e :acct/balance ?b] [(>= ?b "
               "?min)] [?e :p/name ?n]]', min)\n"
               "  local names = {} for _, r in ipairs(rows) do names[#names + 1] = r[1] end\n"
               "  table.sort(names)\n"
               "  put('q ' .. table.concat(names, ','))\n"
               "  local total = db:q('[:find (sum ?b) . :where [_ :acct/balance ?b]]')\n"
               "  put('sum ' .. tostring(total))\n"
               "  local p = db:pull('[:p/name :acct/balance]', {dt.kw'acct/id', 2})\n"
               "  put('pull ' .. p['p/name'] .. ' ' .. p['acct/balance'])\n"
               "  return out\n"
               "end");
    /* the balance changed by the first form is what the query sees */
    tu_tx(c, "[[:db/add [:acct/id 2] :acct/balance 70] [:t/q 60]]", DT_OK, 0);
    char *dump = tu_dump(c, 0);
    const char *want[] = {"\"q Ann,Bob\"", "\"sum 170\"", "\"pull Bob 70\""};
    for (size_t i = 0; i < 3; i++)
        if (!strstr(dump, want[i])) fail_msg("missing %s in\n%s", want[i], dump);
    free(dump);
    uu_install(c, "t/badq",
               "return function(db) db:q('[:find ?x :where [?x :no/such]]') return {} end");
    tu_assert_fails_unchanged(c, "[[:t/badq]]", DT_TXFN, "db:q");
}

/* }====== */

/* {====== Direct calls ====== */

static void test_dt_call(void **state) {
    dt_conn *c = C(state);
    accounts(c);
    dt_value args[3];
    dt_value_long(1, &args[0]);
    dt_value_long(2, &args[1]);
    dt_value_long(25, &args[2]);
    dt_report *r = NULL;
    assert_int_equal(dt_call(c, ":acct/transfer", args, 3, &r), DT_OK);
    assert_non_null(r);
    assert_int_equal(dt_report_count(r), 5); /* 2 retracted, 2 added, txInstant */
    dt_report_close(r);
    assert_int_equal(balance(c, 1), 75);
    dt_future *f = NULL;
    assert_int_equal(dt_call_async(c, "acct/transfer", args, 3, NULL, NULL, &f), DT_OK);
    assert_int_equal(dt_future_wait(f), DT_OK);
    dt_future_free(f);
    assert_int_equal(balance(c, 1), 50);
    dt_value_long(1000, &args[2]);
    assert_int_equal(dt_call(c, "acct/transfer", args, 3, NULL), DT_TXFN);
    assert_non_null(strstr(dt_errmsg(c), "overdraft"));
    assert_int_equal(dt_call_async(c, "acct/transfer", args, 3, NULL, NULL, &f), DT_OK);
    assert_int_equal(dt_future_wait(f), DT_TXFN);
    assert_non_null(strstr(dt_future_errmsg(f), "overdraft"));
    dt_future_free(f);
    assert_int_equal(dt_call(c, NULL, args, 3, NULL), DT_MISUSE);
    assert_int_equal(dt_call(c, "acct/none", NULL, 0, NULL), DT_INVALID);
    /* inside a block: sees the block's writes, and an abort drops it */
    dt_txn *tx;
    assert_int_equal(dt_txn_begin(c, &tx), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[[:db/add [:acct/id 2] :acct/balance 500]]", NULL),
                     DT_OK);
    dt_value_long(2, &args[0]);
    dt_value_long(1, &args[1]);
    dt_value_long(400, &args[2]);
    assert_int_equal(dt_txn_call(tx, "acct/transfer", args, 3, NULL), DT_OK);
    dt_txn_abort(tx);
    assert_int_equal(balance(c, 1), 50);
    assert_int_equal(dt_txn_begin(c, &tx), DT_OK);
    assert_int_equal(dt_txn_transact(tx, "[[:db/add [:acct/id 2] :acct/balance 500]]", NULL),
                     DT_OK);
    assert_int_equal(dt_txn_call(tx, "acct/transfer", args, 3, NULL), DT_OK);
    assert_int_equal(dt_txn_commit(tx), DT_OK);
    assert_int_equal(balance(c, 1), 450);
    assert_int_equal(balance(c, 2), 100);
}

/* In an async batch only the failing transaction fails. */
static void test_async_batch(void **state) {
    dt_conn *c = C(state);
    accounts(c);
    dt_future *f[20];
    for (int i = 0; i < 20; i++) {
        const char *tx = i == 7    ? "[[:acct/transfer 2 1 100000]]"
                         : i == 11 ? "[[:acct/transfer 1 2 1] [:t/missing]]"
                                   : "[[:acct/transfer 1 2 1]]";
        assert_int_equal(dt_transact_async(c, tx, NULL, NULL, &f[i]), DT_OK);
    }
    for (int i = 0; i < 20; i++) {
        int rc = dt_future_wait(f[i]);
        assert_int_equal(rc, i == 7 ? DT_TXFN : i == 11 ? DT_INVALID : DT_OK);
        dt_future_free(f[i]);
    }
    assert_int_equal(balance(c, 1), 82);
    assert_int_equal(balance(c, 2), 68);
}

/* Installed functions persist across reopen. */
static void test_persists(void **state) {
    tu_db *d = *state;
    accounts(d->conn);
    tu_db_reopen(d);
    tu_tx(d->conn, "[[:acct/transfer 1 2 5]]", DT_OK, 0);
    assert_int_equal(balance(d->conn, 2), 55);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_by_ident, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_fails_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sees_earlier_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tempids_across_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_only_tempid_before_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recursion_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_returns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compiled_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_by_other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_and_pull, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dt_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persists, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
