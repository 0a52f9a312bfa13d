/*
 * test_udf_fault.c -- a Lua function call with the Nth allocation failing
 * (and every later one), for every N until the call succeeds, on a fresh
 * connection each time (so the Lua state is built, and the function
 * compiled, under the failure too): each failure is DT_NOMEM with an
 * "out of memory" message, leaks nothing (ASan), and leaves the database
 * exactly as before.
 */
#include "udfutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static const char *SCHEMA = "{:a/id {:db/valueType :db.type/long :db/unique :db.unique/identity}"
                            " :a/n {:db/valueType :db.type/long}"
                            " :a/tags {:db/valueType :db.type/string :db/cardinality "
                            ":db.cardinality/many}}";

static const char *FN =
    "return function(db, id, k)\n"
    "  local e = db:entity({dt.kw'a/id', id})\n"
    "  local tags = e['a/tags']\n"
    "  local ds = db:datoms('eavt', e['db/id'])\n"
    "  return {dt.add(e['db/id'], 'a/n', e['a/n'] + k + #tags + #ds),\n"
    "          {['db/id'] = dt.tempid('x'), ['a/tags'] = {'u', tostring(dt.kw'q/r')}}}\n"
    "end";

static void test_call_fails_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn, "[{:a/id 1 :a/n 10 :a/tags [\"p\" \"q\"]}]", DT_OK, 0);
    uu_install(d->conn, "t/f", FN);
    long n;
    for (n = 0; n < 200000; n++) {
        tu_db_reopen(d); /* a fresh Lua state */
        char *before = tu_dump(d->conn, 1);
        dt__alloc_fail_at(n);
        int rc = dt_transact(d->conn, "[[:t/f 1 5]]", NULL);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            free(before);
            break;
        }
        const char *msg = dt_errmsg(d->conn);
        if (rc != DT_NOMEM || !strstr(msg, "out of memory"))
            fail_msg("allocation %ld failing: rc %s: %s", n, dt_errstr(rc), msg);
        char *after = tu_dump(d->conn, 1);
        if (strcmp(before, after)) fail_msg("allocation %ld failing changed the database", n);
        free(before);
        free(after);
    }
    assert_true(n > 100);
    char *dump = tu_dump(d->conn, 0);
    if (!strstr(dump, "[1 :a/n 21]")) fail_msg("%s", dump);
    free(dump);
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_fails_cleanly_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
