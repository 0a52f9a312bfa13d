/*
 * test_query_dscases.c -- the cases that scripts/ds_cases.js generated
 * and DataScript answered (tests/data/ds-cases.edn, in the format of the
 * shared conformance suite): every `:op :q` case under both plan modes,
 * every `:op :pull` / `:op :pull-many` case and every `:op :tx` case,
 * through the same runners as the shared suite's tests (confutil.h).
 *
 * DT_DSCASES=FILE runs another case file instead (a freshly generated
 * one, see docs/conformance.md); the number of cases is then not checked.
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number of cases in tests/data/ds-cases.edn: the test fails when it
 * runs another number, so it cannot pass by skipping cases. */
#define EXPECTED_CASES 563

static void test_every_generated_case_conforms(void **state) {
    (void)state;
    const char *env = getenv("DT_DSCASES");
    const char *path = env && *env ? env : DT_DSCASES_FILE;
    dt_value cases = tu_conf_cases_file(path);
    size_t run = 0, checks = 0, passed = 0, divergent = 0;
    tu_sbuf msg = {0}, failed_ids = {0};
    static const dt_plan_mode modes[] = {DT_PLAN_AUTO, DT_PLAN_NAIVE};
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        const dt_value *op = tu_map_get(cs, "op");
        const char *id = tu_str_of(tu_map_get(cs, "id"), "?", ":id");
        run++;
        if (tu_is_kw(op, "q")) {
            for (size_t m = 0; m < 2; m++) {
                int div = 0;
                checks++;
                if (tu_conf_run_q(cs, modes[m], &div, &msg))
                    passed++;
                else
                    tu_sb_printf(&failed_ids, " %s[%s]", id, m ? "naive" : "auto");
                if (div && m == 0) divergent++;
            }
        } else if (tu_is_kw(op, "pull") || tu_is_kw(op, "pull-many") || tu_is_kw(op, "tx")) {
            checks++;
            int ok = tu_is_kw(op, "tx") ? tu_conf_run_tx(cs, &msg) : tu_conf_run_pull(cs, &msg);
            if (ok)
                passed++;
            else
                tu_sb_printf(&failed_ids, " %s", id);
        } else {
            fail_msg("%s: unknown :op", id);
        }
    }
    dt_value_free(&cases);
    tu_conf_datasets_close();
    print_message("generated cases (%s): %zu cases, %zu checks, %zu conform\n", path, run, checks,
                  passed);
    if (divergent) print_message("%zu known divergences (see above)\n", divergent);
    /* fputs: cmocka's printers cut long messages */
    if (msg.p) fputs(msg.p, stderr);
    if (failed_ids.p) fprintf(stderr, "failing:%s\n", failed_ids.p);
    free(msg.p);
    free(failed_ids.p);
    if (!(env && *env)) assert_int_equal(run, EXPECTED_CASES);
    if (passed != checks)
        fail_msg("%zu of %zu checks do not conform (see above)", checks - passed, checks);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_generated_case_conforms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
