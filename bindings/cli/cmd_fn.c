/*
 * cmd_fn.c -- `datolite fn`: install and list stored transaction
 * functions (bindings layer: only include/datolite.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char fn_usage[] = "usage: datolite fn DIR install IDENT FILE.lua\n"
                               "       datolite fn DIR list\n";

static const char fn_help[] =
    "\n"
    "install  stores the Lua source in FILE.lua (\"-\" = stdin) as the transaction\n"
    "         function IDENT (a keyword such as :bank/transfer): one transaction of\n"
    "         [{:db/ident IDENT :db/fn SOURCE}], which replaces an older version.\n"
    "         The source is a chunk returning the function:\n"
    "             return function(db, from, to, amount) ... return tx_data end\n"
    "list     prints the stored functions: each ident with the size of its source\n"
    "         and the transaction that stored it, and each installed host-function\n"
    "         descriptor (:db/udf).\n"
    "Call one with: datolite transact DIR '[[:bank/transfer 1 2 100]]'\n"
    "(docs/functions.md).\n\n" CLI_EXIT_HELP;

static int install(const char *cmd, dt_conn *conn, const char *ident, const char *path) {
    if (ident[0] == ':') ident++;
    if (!*ident || strchr(ident, ' '))
        return cli_fail(cmd, DT_INVALID, "IDENT must be a keyword such as :bank/transfer");
    cli_input in = {0};
    int code = cli_input_read(cmd, path, 1, &in);
    if (code != CLI_OK) return code;
    dt_value tx = DT_VALUE_NIL, m = DT_VALUE_NIL;
    int rc = dt_value_seq(DT_VECTOR, 1, &tx);
    if (rc == DT_OK) rc = dt_value_seq(DT_MAP, 4, &m);
    if (rc == DT_OK) rc = dt_value_text(DT_KEYWORD, "db/ident", 8, &m.u.seq.items[0]);
    if (rc == DT_OK) rc = dt_value_text(DT_KEYWORD, ident, strlen(ident), &m.u.seq.items[1]);
    if (rc == DT_OK) rc = dt_value_text(DT_KEYWORD, "db/fn", 5, &m.u.seq.items[2]);
    if (rc == DT_OK) rc = dt_value_text(DT_STRING, in.data, in.len, &m.u.seq.items[3]);
    if (rc == DT_OK) {
        tx.u.seq.items[0] = m;
        dt_value_nil(&m);
        dt_report *r = NULL;
        rc = dt_transact_value(conn, &tx, &r);
        if (rc == DT_OK)
            printf("installed :%s (%zu bytes of Lua) in transaction %lld\n", ident, in.len,
                   (long long)dt_report_tx(r));
        else
            code = cli_fail(cmd, rc, "install :%s: %s", ident, dt_errmsg(conn));
        dt_report_close(r);
    } else {
        code = cli_fail(cmd, rc, "out of memory");
    }
    dt_value_free(&m);
    dt_value_free(&tx);
    cli_input_free(&in);
    return code;
}

/* The value of e's attribute `attr` into *out (nil when none). */
static int attr_of(dt_db *db, int64_t e, const char *attr, dt_value *out, int64_t *tx) {
    dt_value comps[2];
    dt_value_long(e, &comps[0]);
    int rc = dt_value_text(DT_KEYWORD, attr, strlen(attr), &comps[1]);
    if (rc != DT_OK) return rc;
    dt_datom_iter *it = NULL;
    dt_value_nil(out);
    rc = dt_db_datoms(db, DT_INDEX_EAV, comps, 2, &it);
    dt_value_free(&comps[1]);
    if (rc != DT_OK) return rc;
    dt_datom d;
    if ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        rc = dt_value_copy(&d.v, out);
        if (tx) *tx = d.tx;
    } else if (rc == DT_DONE) {
        rc = DT_OK;
    }
    dt_datom_iter_close(it);
    return rc;
}

static int list(const char *cmd, dt_conn *conn) {
    dt_db *db = NULL;
    int rc = dt_conn_db(conn, &db);
    if (rc != DT_OK) return cli_fail(cmd, rc, "%s", dt_errmsg(conn));
    static const char *const attrs[2] = {"db/fn", "db/udf"};
    size_t shown = 0;
    for (int k = 0; k < 2 && rc == DT_OK; k++) {
        dt_value a;
        if ((rc = dt_value_text(DT_KEYWORD, attrs[k], strlen(attrs[k]), &a)) != DT_OK) break;
        dt_datom_iter *it = NULL;
        rc = dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it);
        dt_value_free(&a);
        if (rc != DT_OK) break;
        /* collect the entities first: one iterator at a time */
        int64_t *es = NULL;
        size_t n = 0, cap = 0;
        dt_datom d;
        while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                int64_t *t = realloc(es, cap * sizeof *t);
                if (!t) {
                    rc = DT_NOMEM;
                    break;
                }
                es = t;
            }
            es[n++] = d.e;
        }
        dt_datom_iter_close(it);
        if (rc == DT_DONE) rc = DT_OK;
        for (size_t i = 0; i < n && rc == DT_OK; i++) {
            dt_value ident, v;
            int64_t tx = 0;
            if ((rc = attr_of(db, es[i], "db/ident", &ident, NULL)) != DT_OK) break;
            if ((rc = attr_of(db, es[i], attrs[k], &v, &tx)) != DT_OK) {
                dt_value_free(&ident);
                break;
            }
            if (ident.type == DT_KEYWORD) {
                printf(":%s", ident.u.s.ptr);
                if (k == 0) {
                    printf("  lua, %zu bytes, transaction %lld\n", v.u.s.len, (long long)tx);
                } else {
                    dt_value l, kind, id;
                    int64_t d2 = v.u.i;
                    attr_of(db, d2, "udf/lang", &l, NULL);
                    attr_of(db, d2, "udf/kind", &kind, NULL);
                    attr_of(db, d2, "udf/id", &id, NULL);
                    printf("  {:udf/lang ");
                    cli_print_value(stdout, &l);
                    printf(" :udf/kind ");
                    cli_print_value(stdout, &kind);
                    printf(" :udf/id ");
                    cli_print_value(stdout, &id);
                    printf("}\n");
                    dt_value_free(&l);
                    dt_value_free(&kind);
                    dt_value_free(&id);
                }
                shown++;
            }
            dt_value_free(&ident);
            dt_value_free(&v);
        }
        free(es);
    }
    int code = CLI_OK;
    if (rc != DT_OK)
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
    else if (shown == 0)
        printf("no stored functions\n");
    dt_db_close(db);
    return code;
}

int cmd_fn(int argc, char **argv) {
    cli_cmd c = CLI_CMD("fn", fn_usage, fn_help, 0, NULL);
    const char *cmd = c.name;
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, -1, "DIR", "install or list", NULL);
    if (code != CLI_OK) goto out;
    char **pos = c.pos;
    int npos = c.npos;
    int is_install = !strcmp(pos[1], "install"), is_list = !strcmp(pos[1], "list");
    if (!is_install && !is_list) {
        code = cli_usage_error(cmd, fn_usage, "unknown subcommand '%s'", pos[1]);
        goto out;
    }
    if ((is_install && npos != 4) || (is_list && npos != 2)) {
        code = cli_usage_error(cmd, fn_usage,
                               is_install && npos < 4 ? "install needs IDENT and FILE"
                                                      : "too many arguments");
        goto out;
    }
    if ((code = cli_cmd_open(&c, pos[0], is_list ? 0 : CLI_OPEN_WRITE)) != CLI_OK) goto out;
    code = is_install ? install(cmd, c.conn, pos[2], pos[3]) : list(cmd, c.conn);
out:
    return cli_cmd_end(&c, code);
}
