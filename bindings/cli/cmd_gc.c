/*
 * cmd_gc.c -- `datolite gc`: drops the history of retractions older than
 * a transaction (bindings layer: uses only include/datolite.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"

static const char gc_usage[] = "usage: datolite gc DIR --before TX\n";
static const char gc_help[] =
    "\n"
    "Drops from the database in DIR the history of every datom retracted by a\n"
    "transaction before TX, and makes TX the history watermark: views as of a\n"
    "transaction before it are refused from then on; views as of TX or later\n"
    "are unchanged.  Current datoms and the transaction log are kept.  The\n"
    "watermark never moves back: a TX at or below it drops nothing new.\n"
    "Prints {:dropped N, :watermark W}: the entries dropped and the watermark\n"
    "now in force.\n"
    "\n"
    "Options:\n"
    "  --before TX   a transaction id (4398046511105 ...) or number (1, 2, ...:\n"
    "                the id minus 2^42), up to the last one plus one\n"
    "\n" CLI_EXIT_HELP;

int cmd_gc(int argc, char **argv) {
    cli_cmd c = CLI_CMD("gc", gc_usage, gc_help, 0, NULL);
    const char *cmd = c.name;
    const char *before_s = NULL;
    cli_opt opts[] = {{"before", 1, &before_s, NULL}, {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code != CLI_OK) goto out;
    char **pos = c.pos;
    int npos = c.npos;
    if (npos != 1) {
        code = cli_usage_error(cmd, gc_usage, npos < 1 ? "missing DIR" : "unexpected '%s'",
                               npos < 1 ? "" : pos[1]);
        goto out;
    }
    if (!before_s) {
        code = cli_usage_error(cmd, gc_usage, "missing --before TX");
        goto out;
    }
    dt_value v;
    if ((code = cli_edn_arg(cmd, "--before", before_s, &v)) != CLI_OK) goto out;
    int64_t before = 0;
    if (v.type == DT_LONG && v.u.i > 0) before = v.u.i < DT_TX0 ? DT_TX0 + v.u.i : v.u.i;
    dt_value_free(&v);
    if (before == 0) {
        code = cli_usage_error(cmd, gc_usage, "--before needs a transaction id or number, got '%s'",
                               before_s);
        goto out;
    }
    /* a write open would create a database where there is none */
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", pos[0]);
    if (stat(path, &st) != 0) {
        code = cli_fail(cmd, DT_NOTFOUND, "no Datolite database in %s", pos[0]);
        goto out;
    }
    if ((code = cli_cmd_open(&c, pos[0], CLI_OPEN_WRITE)) != CLI_OK) goto out;
    uint64_t dropped = 0;
    int rc = dt_history_gc(c.conn, before, &dropped);
    if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(c.conn));
        goto out;
    }
    /* the watermark now in force, in a snapshot taken after the gc */
    dt_db *db = NULL;
    int64_t floor = 0;
    if ((rc = dt_conn_db(c.conn, &db)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(c.conn));
        goto out;
    }
    rc = dt_db_history_floor(db, &floor);
    if (rc != DT_OK) code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
    dt_db_close(db);
    if (rc != DT_OK) goto out;
    printf("{:dropped %llu, :watermark %lld}\n", (unsigned long long)dropped, (long long)floor);
out:
    return cli_cmd_end(&c, code);
}
