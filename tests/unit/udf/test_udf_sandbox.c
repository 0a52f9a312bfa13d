/*
 * test_udf_sandbox.c -- the sandbox and the limits of Lua functions:
 * every escape and runaway below fails its transaction cleanly (the
 * expected code, a message naming the function) and leaves the datoms
 * exactly as they were; the connection keeps working afterwards.
 */
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "udf.h"

static const char *SCHEMA = "{:p/name {:db/valueType :db.type/string}"
                            " :p/n {:db/valueType :db.type/long}}";

static int setup(void **state) {
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.fn_memory = (size_t)16 << 20;
    o.fn_steps = 2000000;
    *state = uu_open(SCHEMA, &o);
    tu_tx(((tu_db *)*state)->conn, "[{:db/id \"a\" :p/name \"Ann\" :p/n 1}]", DT_OK, 0);
    return 0;
}

static int teardown(void **state) {
    tu_db_close(*state);
    return 0;
}

static dt_conn *C(void **state) { return ((tu_db *)*state)->conn; }

/* DT_TXFN or DT_LIMIT: which limit a runaway hits first (the Lua stack
 * or the memory cap) depends on the build. */
#define ANY_FAIL (-1)

/* The function body `body` (inside function(db) ... end) fails with rc
 * and a message containing needle; the datoms are unchanged; then a
 * harmless call still works. */
static void escape(dt_conn *c, const char *body, int rc, const char *needle) {
    char *src = malloc(strlen(body) + 64);
    sprintf(src, "return function(db)\n%s\nend", body);
    uu_install(c, "t/esc", src);
    if (getenv("UU_TRACE")) fprintf(stderr, "escape: %s\n", body);
    free(src);
    char *before = tu_dump(c, 0);
    int got = dt_transact(c, "[[:t/esc]]", NULL);
    if (got != rc && !(rc == ANY_FAIL && (got == DT_TXFN || got == DT_LIMIT)))
        fail_msg("%s\nexpected %s, got %s: %s", body, dt_errstr(rc), dt_errstr(got), dt_errmsg(c));
    if (needle && !strstr(dt_errmsg(c), needle))
        fail_msg("%s\nmessage lacks \"%s\": %s", body, needle, dt_errmsg(c));
    if (!strstr(dt_errmsg(c), ":t/esc"))
        fail_msg("message does not name the function: %s", dt_errmsg(c));
    char *after = tu_dump(c, 0);
    if (strcmp(before, after))
        fail_msg("%s\nchanged the database:\n%s\n---\n%s", body, before, after);
    free(before);
    free(after);
    uu_install(c, "t/ok", "return function(db) return {dt.add(1, 'p/n', 1)} end");
    tu_tx(c, "[[:t/ok]]", DT_OK, 0);
}

static void test_no_io_os_loaders(void **state) {
    dt_conn *c = C(state);
    escape(c, "io.open('/etc/passwd')", DT_TXFN, "io");
    escape(c, "os.execute('true')", DT_TXFN, "execute");
    escape(c, "os.remove('x')", DT_TXFN, "remove");
    escape(c, "os.getenv('HOME')", DT_TXFN, "getenv");
    escape(c, "require('io')", DT_TXFN, "require");
    escape(c, "dofile('/etc/passwd')", DT_TXFN, "dofile");
    escape(c, "loadfile('/etc/passwd')", DT_TXFN, "loadfile");
    escape(c, "debug.getregistry()", DT_TXFN, "debug");
    escape(c, "print('x')", DT_TXFN, "print");
    escape(c, "collectgarbage('stop')", DT_TXFN, "collectgarbage");
    escape(c, "package.loaded.io.open('x')", DT_TXFN, "package");
    escape(c, "local f = _G.io.open", DT_TXFN, "io");
    /* os.time and os.clock are there */
    escape(c, "assert(type(os.time()) == 'number' and type(os.clock()) == 'number') error('ok')",
           DT_TXFN, "ok");
}

static void test_no_bytecode(void **state) {
    dt_conn *c = C(state);
    escape(c, "return {string.dump(function() end)}", DT_TXFN, "dump");
    escape(c, "local d = ('').dump return {d(function() end)}", DT_TXFN, "nil value (local 'd')");
    escape(c, "local f, e = load('\\27LuaT\\0\\25\\147\\r\\n\\26\\n') if f then f() end error(e)",
           DT_TXFN, "binary chunk");
    escape(c, "local f, e = load('\\27Lua', 'x', 'b') if f then f() end error(e)", DT_TXFN,
           "binary chunk");
    /* text chunks load, in a fresh environment without this one's names */
    escape(c, "local f = load('return io') error('io is ' .. tostring(f()))", DT_TXFN, "io is nil");
    escape(c, "local f = load('return dt') error('dt is ' .. tostring(f()))", DT_TXFN, "dt is nil");
}

static void test_no_shared_state(void **state) {
    dt_conn *c = C(state);
    /* the string metatable hides itself */
    escape(c, "local mt = getmetatable('') mt.__index.upper = nil", DT_TXFN, "boolean");
    escape(c, "error('mt ' .. tostring(getmetatable('')))", DT_TXFN, "mt false");
    escape(c, "setmetatable('', {})", DT_TXFN, "table expected");
    escape(c, "rawset(getmetatable(''), 'x', 1)", DT_TXFN, "table expected");
    /* one function's changes to globals and libraries stay its own */
    uu_install(c, "t/spoil",
               "return function(db)\n"
               "  string.upper = function() return 'pwned' end\n"
               "  math.floor = nil\n"
               "  GLOBAL_X = 1\n"
               "  dt.add = nil\n"
               "  return {}\n"
               "end");
    tu_tx(c, "[[:t/spoil]]", DT_OK, 0);
    escape(c,
           "error(string.upper('a') .. ('b'):upper() .. tostring(GLOBAL_X) .. "
           "tostring(math.floor(1.5)) .. type(dt.add))",
           DT_TXFN, "ABnil1function");
    /* metatables of our objects are hidden too */
    escape(
        c,
        "error('db ' .. tostring(getmetatable(db)) .. ' kw ' .. tostring(getmetatable(dt.kw'a')))",
        DT_TXFN, "db false kw false");
    /* a db object kept past its call refuses to work */
    uu_install(c, "t/keep",
               "local kept\n"
               "return function(db)\n"
               "  if kept then kept:entid(1) end\n"
               "  kept = db\n"
               "  return {}\n"
               "end");
    tu_tx(c, "[[:t/keep]]", DT_OK, 0);
    uu_tx_fails(c, "[[:t/keep]]", DT_TXFN, "call that has ended");
    /* no __gc finalizers (they would run outside any call) */
    escape(c, "setmetatable({}, {__gc = function() while true do end end})", DT_TXFN, "__gc");
}

static void test_runaway(void **state) {
    dt_conn *c = C(state);
    escape(c, "while true do end", DT_LIMIT, "instruction limit");
    escape(c, "local function f() return f() end return f()", DT_LIMIT, "instruction limit");
    escape(c, "while true do pcall(function() while true do end end) end", DT_LIMIT,
           "instruction limit");
    escape(c,
           "while true do xpcall(function() while true do end end, function(e) return e end) end",
           DT_LIMIT, "instruction limit");
    escape(c,
           "while true do local co = coroutine.create(function() while true do end end) "
           "coroutine.resume(co) end",
           DT_LIMIT, "instruction limit");
    escape(c,
           "local w = coroutine.wrap(function() while true do coroutine.yield() end end) "
           "while true do w() end",
           DT_LIMIT, "instruction limit");
    escape(c,
           "local t = setmetatable({}, {__index = function(t, k) while true do end end}) "
           "return t.x",
           DT_LIMIT, "instruction limit");
    escape(c,
           "local x <close> = setmetatable({}, {__close = function() while true do end end}) "
           "while true do end",
           DT_LIMIT, "instruction limit");
    /* C loops the hook cannot interrupt are refused or charged first */
    escape(c, "local s = ('a'):rep(20000) return {s:find('.-.-.-.-b')}", DT_TXFN,
           "pattern with 4 quantifiers");
    escape(c, "local s = ('a'):rep(1000000) return {s:match('.-b')}", DT_TXFN, "pattern with 1");
    escape(c, "for w in (('a'):rep(100000)):gmatch('a*a*a*b') do end", DT_TXFN, "pattern");
    escape(c, "return {(''):rep(1 << 60)}", DT_INVALID, "got \"\"");
    escape(c, "table.move({}, 1, 1 << 50, 2)", DT_LIMIT, "instruction limit");
    escape(c,
           "local s = ('ab'):rep(1000) error(#s:gsub('a', 'x') .. ' ' .. (s:find('ba', 1, true)))",
           DT_TXFN, "2000 2");
    /* calls fanning out through returned tx-data (2^40 calls within the
     * nesting limit) share the transaction's budget */
    uu_install(c, "t/fork",
               "return function(db, n) if n == 40 then return {} end "
               "return {{dt.kw't/fork', n + 1}, {dt.kw't/fork', n + 1}} end");
    uu_tx_fails(c, "[[:t/fork 0]]", DT_LIMIT, "the functions of this transaction reached");
    /* the handler of xpcall runs out too */
    escape(c, "xpcall(error, function() while true do end end) while true do end", DT_LIMIT,
           "instruction limit");
}

static void test_memory(void **state) {
    dt_conn *c = C(state);
    escape(c, "local t = {} for i = 1, 1e9 do t[i] = i end", DT_LIMIT, "memory limit");
    escape(c, "local t = {} local i = 0 while true do i = i + 1 t[i] = ('x'):rep(1000) .. i end",
           DT_LIMIT, "memory limit");
    escape(c, "return {('x'):rep(1 << 40)}", DT_TXFN, "too large");
    escape(c, "return {('x'):rep(1 << 30)}", DT_LIMIT, "memory limit");
    escape(c, "local s = 'x' while true do s = s .. s end", DT_LIMIT, "memory limit");
    escape(c, "while true do pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) end",
           DT_LIMIT, "memory limit");
    escape(c, "local function f(n) return f(n + 1) + 1 end return f(1)", ANY_FAIL, NULL);
    /* pcall catches a stack overflow like any error: the function then
     * returns the message, which is no tx-data */
    escape(c, "local function f(n) local ok, e = pcall(f, n + 1) return e end return f(1)",
           DT_INVALID, "stack overflow");
    escape(c,
           "local t = setmetatable({}, {__index = function(t, k) return t[k .. 'x'] end}) "
           "return t.x",
           ANY_FAIL, NULL);
    /* the state is usable afterwards and its memory came back */
    assert_true(udf_rt_memory(C(state)->udf) < ((size_t)4 << 20));
}

static void test_error_objects(void **state) {
    dt_conn *c = C(state);
    escape(c, "error({})", DT_TXFN, "error object is a table value");
    escape(c, "error(setmetatable({}, {__tostring = function() while true do end end}))", DT_TXFN,
           "error object is a table value");
    escape(c, "error(nil)", DT_TXFN, "nil value");
    escape(c, "error(42)", DT_TXFN, "42");
    escape(c, "error(1.5)", DT_TXFN, "1.5");
    escape(c, "error(dt.kw'x/y')", DT_TXFN, "userdata");
    escape(c, "error(db)", DT_TXFN, "userdata");
    escape(c, "error(function() end)", DT_TXFN, "function value");
    escape(c, "error(('x'):rep(100000))", DT_TXFN, "xxxx");
    escape(c, "error(coroutine.create(function() end))", DT_TXFN, "thread");
}

static void test_returned_data(void **state) {
    dt_conn *c = C(state);
    escape(c, "return 42", DT_INVALID, "must return tx-data");
    escape(c, "return 'x'", DT_INVALID, "must return tx-data");
    escape(c, "return {{1, 2}}", DT_INVALID, "expected an entity map or a list form");
    escape(c, "return {{dt.kw'db/add', 1, dt.kw'p/name', function() end}}", DT_TXFN,
           "cannot convert function");
    escape(c, "local t = {} t.self = t return {t}", DT_TXFN, "nests deeper");
    escape(c, "return {{dt.kw'db/add', 1, dt.kw'p/n', 'not a long'}}", DT_INVALID, ":p/n");
    escape(c, "return {{dt.kw'db/add', 1, dt.kw'p/name', coroutine.create(print or error)}}",
           DT_TXFN, "cannot convert thread");
    /* metamethods of returned tables are not run: raw contents count */
    uu_install(c, "t/meta",
               "return function(db) return setmetatable({}, {__index = function() "
               "while true do end end, __len = function() return 5 end}) end");
    tu_tx(c, "[[:t/meta]]", DT_OK, 0);
}

/* A budget per connection: a loop that fits the default fails under a
 * small one. */
static void test_limits_per_connection(void **state) {
    (void)state;
    const char *src = "return function(db) local n = 0 for i = 1, 300000 do n = n + i end "
                      "return {dt.add(1, 'p/n', n)} end";
    dt_conn_options small = DT_CONN_OPTIONS_INIT;
    small.fn_steps = 100000;
    tu_db *a = uu_open(SCHEMA, &small);
    tu_tx(a->conn, "[{:db/id \"a\" :p/n 1}]", DT_OK, 0);
    uu_install(a->conn, "t/sum", src);
    uu_tx_fails(a->conn, "[[:t/sum]]", DT_LIMIT, "instruction limit of 100000");
    tu_db_close(a);
    tu_db *b = uu_open(SCHEMA, NULL);
    tu_tx(b->conn, "[{:db/id \"a\" :p/n 1}]", DT_OK, 0);
    uu_install(b->conn, "t/sum", src);
    tu_tx(b->conn, "[[:t/sum]]", DT_OK, 0);
    tu_db_close(b);
    /* options of version 1 still open, with the default limits */
    dt_conn_options v1 = DT_CONN_OPTIONS_INIT;
    v1.version = 1;
    tu_db *d = uu_open(SCHEMA, &v1);
    tu_db_close(d);
    dt_conn_options bad = DT_CONN_OPTIONS_INIT;
    bad.version = 4;
    char *dir = tu_tmpdir();
    dt_conn *x = NULL;
    assert_int_equal(dt_conn_open(dir, NULL, &bad, &x), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "options version 4 unknown (library knows 1..3)"));
    bad.version = 2;
    bad.fn_memory = 1000;
    assert_int_equal(dt_conn_open(dir, NULL, &bad, &x), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(NULL), "minimum"));
    tu_rmdir_free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_io_os_loaders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_bytecode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_shared_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runaway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_returned_data, setup, teardown),
        cmocka_unit_test(test_limits_per_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
