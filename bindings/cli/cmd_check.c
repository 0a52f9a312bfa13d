/*
 * cmd_check.c -- `datolite check DIR`: the integrity check of a database
 * (bindings layer: dt_check from include/datolite.h).
 */
#include <stdlib.h>

#include "cli.h"

static const char check_usage[] = "usage: datolite check DIR\n";

static const char check_help[] =
    "\n"
    "Checks the database in DIR, read-only: the file size against LMDB's last\n"
    "used page, then a walk of every datom database (key order, key and value\n"
    "layout, EAV <-> AVE agreement, long values, cardinality and uniqueness,\n"
    "statistics, counters, tx-log).  The walk runs in a child process: a crash\n"
    "while reading a damaged page is reported as a finding (\"database damaged:\n"
    "walk crashed with SIGSEGV at dt/eav\").  Prints each problem on a line of\n"
    "stdout, then a summary line.  Exits with 0 when nothing was found, 4 when\n"
    "problems were found (or the check could not run for a system reason), 2\n"
    "when DIR or the database in it does not exist.  docs/reliability.md.\n"
    "\n" CLI_EXIT_HELP;

int cmd_check(int argc, char **argv) {
    const char *cmd = "check";
    cli_opt opts[] = {{NULL, 0, NULL, NULL}};
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int npos = 0, help = 0, code;
    if (!pos) return cli_fail(cmd, DT_NOMEM, "out of memory");
    if ((code = cli_parse(cmd, check_usage, argc, argv, opts, pos, &npos, &help)) != CLI_OK)
        goto out;
    if (help) {
        printf("%s%s", check_usage, check_help);
        goto out;
    }
    if (npos != 1) {
        code = cli_usage_error(cmd, check_usage, npos < 1 ? "missing DIR" : "too many arguments");
        goto out;
    }
    dt_check_result r;
    int rc = dt_check(pos[0], &r);
    if (rc != DT_OK && rc != DT_CORRUPT) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(NULL));
        goto out;
    }
    fputs(r.text, stdout);
    if (rc == DT_OK)
        printf("%s: ok (%llu datoms, %llu entries checked)\n", pos[0], (unsigned long long)r.datoms,
               (unsigned long long)r.entries);
    else
        printf("%s: %llu problem%s found\n", pos[0], (unsigned long long)r.findings,
               r.findings == 1 ? "" : "s");
    dt_check_result_free(&r);
    code = cli_exit_code(rc);
out:
    free(pos);
    return code;
}
