/*
 * test_txn_conformance.c -- the `:op :tx` cases of the shared conformance
 * suite (../shared/conformance/cases.edn, expected results computed by
 * DataScript): each case runs on a fresh database and its datoms, tempid
 * maps and report datoms are compared with the expected ones as the
 * suite's README says (sets of datoms, numbers compared numerically).
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number of `:op :tx` cases in cases.edn; the test fails if it runs
 * fewer (or more), so it cannot pass by skipping everything. */
#define EXPECTED_TX_CASES 11

static void test_every_tx_case_conforms(void **state) {
    (void)state;
    dt_value cases = tu_conf_cases();
    size_t run = 0, passed = 0;
    tu_sbuf msg = {0};
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        if (!tu_is_kw(tu_map_get(cs, "op"), "tx")) continue;
        run++;
        if (tu_conf_run_tx(cs, &msg)) passed++;
    }
    dt_value_free(&cases);
    print_message("conformance: %zu :op :tx cases run, %zu conform\n", run, passed);
    if (msg.p) print_error("%s", msg.p);
    free(msg.p);
    assert_int_equal(run, EXPECTED_TX_CASES);
    if (passed != run)
        fail_msg("%zu of %zu :op :tx cases do not conform (see above)", run - passed, run);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_tx_case_conforms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
