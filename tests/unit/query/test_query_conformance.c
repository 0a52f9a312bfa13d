/*
 * test_query_conformance.c -- every `:op :q` case of the shared
 * conformance suite (../shared/conformance/cases.edn, expected results
 * computed by DataScript) through the public query API: dt_q_inputs with
 * the case's :inputs ("$" is the case's dataset), under both plan modes
 * (DT_PLAN_AUTO and the reference evaluator DT_PLAN_NAIVE).  Results are
 * compared as the suite's README says: rows as multisets (a set is a
 * multiset without duplicates), numbers numerically, floats within a
 * relative 1e-9; an :error case must fail, and an :error-allowed one may.
 * A :known-divergence case marks a reference bug whose right answer is
 * only given in prose: it must run, and its result is printed for a human
 * next to the note.
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number of `:op :q` cases in cases.edn: the test fails when it runs
 * another number, so it cannot pass by skipping cases. */
#define EXPECTED_Q_CASES 80

static const struct mode {
    dt_plan_mode plan;
    const char *name;
} modes[] = {{DT_PLAN_AUTO, "auto"}, {DT_PLAN_NAIVE, "naive"}};
#define NMODES (sizeof modes / sizeof modes[0])

static void test_every_q_case_conforms(void **state) {
    (void)state;
    dt_value cases = tu_conf_cases();
    size_t in_file = 0, run[NMODES] = {0}, passed[NMODES] = {0}, divergent = 0;
    tu_sbuf msg = {0}, failed_ids = {0};
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        if (!tu_is_kw(tu_map_get(cs, "op"), "q")) continue;
        in_file++;
        for (size_t m = 0; m < NMODES; m++) {
            int div = 0;
            run[m]++;
            if (tu_conf_run_q(cs, modes[m].plan, &div, &msg))
                passed[m]++;
            else
                tu_sb_printf(&failed_ids, " %s[%s]", tu_map_get(cs, "id")->u.s.ptr, modes[m].name);
            if (div && m == 0) divergent++;
        }
    }
    dt_value_free(&cases);
    tu_conf_datasets_close();
    for (size_t m = 0; m < NMODES; m++)
        print_message("conformance: plan %s: %zu :op :q cases run, %zu conform\n", modes[m].name,
                      run[m], passed[m]);
    if (divergent) print_message("conformance: %zu known divergences (see above)\n", divergent);
    /* fputs: cmocka's printers cut long messages */
    if (msg.p) fputs(msg.p, stderr);
    if (failed_ids.p) fprintf(stderr, "failing:%s\n", failed_ids.p);
    free(msg.p);
    free(failed_ids.p);
    assert_int_equal(in_file, EXPECTED_Q_CASES);
    for (size_t m = 0; m < NMODES; m++) {
        assert_int_equal(run[m], in_file);
        if (passed[m] != run[m])
            fail_msg("plan %s: %zu of %zu :op :q cases do not conform (see above)", modes[m].name,
                     run[m] - passed[m], run[m]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_q_case_conforms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
