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
    cli_cmd c = CLI_CMD("check", check_usage, check_help, 0, NULL);
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, 1, "DIR", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    char **pos = c.pos;
    dt_check_result r;
    int rc = dt_check(pos[0], &r);
    if (rc != DT_OK && rc != DT_CORRUPT)
        return cli_cmd_end(&c, cli_fail(c.name, rc, "%s", dt_errmsg(NULL)));
    fputs(r.text, stdout);
    if (rc == DT_OK)
        printf("%s: ok (%llu datoms, %llu entries checked)\n", pos[0], (unsigned long long)r.datoms,
               (unsigned long long)r.entries);
    else
        printf("%s: %llu problem%s found\n", pos[0], (unsigned long long)r.findings,
               r.findings == 1 ? "" : "s");
    dt_check_result_free(&r);
    return cli_cmd_end(&c, cli_exit_code(rc));
}
