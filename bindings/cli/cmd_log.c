/*
 * cmd_log.c -- `datolite log`: prints the transaction log, one EDN map per
 * transaction (bindings layer: uses only include/datolite.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char log_usage[] = "usage: datolite log DIR [--from TX] [--to TX]\n";
static const char log_help[] =
    "\n"
    "Prints the transactions of the database in DIR in order, one EDN map per\n"
    "line:\n"
    "  {:tx ID, :instant #inst \"...\", :meta {...}, :data [[e :attr value added] ...]}\n"
    ":meta holds the attributes asserted on the transaction itself (its\n"
    ":db/txInstant and any metadata); :data every datom it added (true) or\n"
    "retracted (false).  A bulk load shows {:bulk-load N} as :meta and no :data.\n"
    "\n"
    "Options:\n"
    "  --from TX   start at this transaction (inclusive)\n"
    "  --to TX     stop after this transaction (inclusive)\n"
    "TX is a transaction id (4398046511105 ...), a transaction number (1, 2,\n"
    "...: the id minus 2^42), or an instant #inst \"2024-05-01T00:00:00Z\" to\n"
    "select transactions by their :db/txInstant; --from and --to must then\n"
    "both be instants (or one of them left out).\n"
    "\n" CLI_EXIT_HELP;

/* One end of the range: a tx id (*is_time 0) or an instant (1); absent
 * ends keep *out. */
static int parse_end(const char *cmd, const char *what, const char *text, int64_t *out,
                     int *is_time) {
    dt_value v;
    int code = cli_edn_arg(cmd, what, text, &v);
    if (code != CLI_OK) return code;
    if (v.type == DT_INSTANT) {
        *out = v.u.i;
        *is_time = 1;
    } else if (v.type == DT_LONG && v.u.i > 0) {
        *out = v.u.i < DT_TX0 ? DT_TX0 + v.u.i : v.u.i;
        *is_time = 0;
    } else {
        dt_value_free(&v);
        return cli_usage_error(cmd, log_usage,
                               "%s needs a transaction id or number, or an #inst, got '%s'", what,
                               text);
    }
    dt_value_free(&v);
    return CLI_OK;
}

static int kw(const char *text, dt_value *out) {
    return dt_value_text(DT_KEYWORD, text, strlen(text), out);
}

/* The EDN map of one transaction. */
static int tx_map(const dt_log_tx *t, dt_value *out) {
    int rc = dt_value_seq(DT_MAP, 8, out);
    if (rc != DT_OK) return rc;
    dt_value *it = out->u.seq.items;
    if ((rc = kw("tx", &it[0])) != DT_OK) goto fail;
    dt_value_long(t->tx, &it[1]);
    if ((rc = kw("instant", &it[2])) != DT_OK) goto fail;
    dt_value_instant(t->instant, &it[3]);
    if ((rc = kw("meta", &it[4])) != DT_OK) goto fail;
    if ((rc = dt_value_copy(t->meta, &it[5])) != DT_OK) goto fail;
    if ((rc = kw("data", &it[6])) != DT_OK) goto fail;
    if ((rc = dt_value_seq(DT_VECTOR, t->n_datoms, &it[7])) != DT_OK) goto fail;
    for (size_t i = 0; i < t->n_datoms; i++) {
        const dt_datom *d = &t->datoms[i];
        dt_value *dv = &it[7].u.seq.items[i];
        if ((rc = dt_value_seq(DT_VECTOR, 4, dv)) != DT_OK) goto fail;
        dt_value_long(d->e, &dv->u.seq.items[0]);
        if ((rc = kw(d->a, &dv->u.seq.items[1])) != DT_OK) goto fail;
        if ((rc = dt_value_copy(&d->v, &dv->u.seq.items[2])) != DT_OK) goto fail;
        dt_value_bool(d->added, &dv->u.seq.items[3]);
    }
    return DT_OK;
fail:
    dt_value_free(out);
    return rc;
}

int cmd_log(int argc, char **argv) {
    cli_cmd c = CLI_CMD("log", log_usage, log_help, 0, NULL);
    const char *cmd = c.name;
    const char *from_s = NULL, *to_s = NULL;
    cli_opt opts[] = {{"from", 1, &from_s, NULL}, {"to", 1, &to_s, NULL}, {NULL, 0, NULL, NULL}};
    dt_log *log = NULL;
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code != CLI_OK) goto out;
    char **pos = c.pos;
    int npos = c.npos;
    if (npos != 1) {
        code = cli_usage_error(cmd, log_usage, npos < 1 ? "missing DIR" : "unexpected '%s'",
                               npos < 1 ? "" : pos[1]);
        goto out;
    }
    int64_t from = 0, to = 0;
    int from_time = -1, to_time = -1;
    if (from_s && (code = parse_end(cmd, "--from", from_s, &from, &from_time)) != CLI_OK) goto out;
    if (to_s && (code = parse_end(cmd, "--to", to_s, &to, &to_time)) != CLI_OK) goto out;
    if (from_time >= 0 && to_time >= 0 && from_time != to_time) {
        code = cli_usage_error(cmd, log_usage,
                               "--from and --to must both be transactions or both instants");
        goto out;
    }
    int by_time = from_time == 1 || to_time == 1;
    if ((code = cli_cmd_open(&c, pos[0], CLI_OPEN_SNAPSHOT)) != CLI_OK) goto out;
    dt_db *db = c.db;
    int rc;
    if (by_time)
        rc = dt_log_open_time(db, from_time == 1 ? from : INT64_MIN, to_time == 1 ? to : INT64_MAX,
                              &log);
    else
        rc = dt_log_open(db, from, to, &log);
    if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
        goto out;
    }
    dt_log_tx t;
    while ((rc = dt_log_next(log, &t)) == DT_ROW) {
        dt_value m;
        if ((rc = tx_map(&t, &m)) != DT_OK) {
            code = cli_fail(cmd, rc, "out of memory");
            goto out;
        }
        rc = cli_print_value(stdout, &m);
        dt_value_free(&m);
        if (rc != DT_OK) {
            code = cli_fail(cmd, rc, "%s", dt_errmsg(NULL));
            goto out;
        }
        putchar('\n');
    }
    if (rc != DT_DONE) code = cli_fail(cmd, rc, "%s", dt_errmsg(log));
out:
    dt_log_close(log);
    return cli_cmd_end(&c, code);
}
