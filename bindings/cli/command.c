/*
 * command.c -- the frame every command of the `datolite` tool runs in
 * (bindings layer): its command line, shared options, positional
 * arguments, the database it opens, and the cleanup (cli.h, "Commands").
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The most options a command has of its own. */
#define MAX_OWN_OPTS 16

/* Whether `name` is one of the names in `list` ("edn, json, table or
 * csv": separated by ", " and " or "). */
static int format_listed(const char *list, const char *name) {
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ", ");
        if (len == n && !strncmp(p, name, n)) return 1;
        p += len;
        while (*p == ',' || *p == ' ') p++;
        if (!strncmp(p, "or ", 3)) p += 3;
    }
    return 0;
}

/* The CLI_FMT_* of a listed format name, -1 for one that is none. */
static int format_code(const char *name) {
    int fmt = -1;
    return cli_fmt_parse(name, &fmt) == 0 ? fmt : -1;
}

int cli_cmd_start(cli_cmd *c, int argc, char **argv, const cli_opt *opts) {
    const char *format = NULL, *timeout = NULL;
    cli_opt all[MAX_OWN_OPTS + 6];
    size_t n = 0;
    for (; opts && opts[n].name; n++) {
        if (n == MAX_OWN_OPTS) return cli_fail(c->name, DT_INTERNAL, "too many options");
        all[n] = opts[n];
    }
    if (c->takes & CLI_TAKES_FORMAT) all[n++] = (cli_opt){"format", 1, &format, NULL};
    if (c->takes & CLI_TAKES_TIMEOUT) all[n++] = (cli_opt){"timeout", 1, &timeout, NULL};
    if (c->takes & CLI_TAKES_TIME) {
        all[n++] = (cli_opt){"as-of", 1, &c->time.as_of, NULL};
        all[n++] = (cli_opt){"since", 1, &c->time.since, NULL};
    }
    if (c->takes & CLI_TAKES_HISTORY) all[n++] = (cli_opt){"history", 0, NULL, &c->time.history};
    all[n] = (cli_opt){NULL, 0, NULL, NULL};

    int help = 0, code;
    if (!(c->pos = calloc((size_t)argc + 1, sizeof *c->pos)))
        return cli_fail(c->name, DT_NOMEM, "out of memory");
    if ((code = cli_parse(c->name, c->usage, argc, argv, all, c->pos, &c->npos, &help)) != CLI_OK)
        return code;
    if (help) {
        printf("%s%s", c->usage, c->help);
        return CLI_DONE;
    }
    if (c->takes & CLI_TAKES_FORMAT) {
        c->format = format;
        if (format && !format_listed(c->formats, format))
            return cli_usage_error(c->name, c->usage, "--format must be %s, got '%s'", c->formats,
                                   format);
        /* the default is the first name listed */
        if (format) {
            c->fmt = format_code(format);
        } else {
            char first[16] = "";
            size_t len = strcspn(c->formats, ", ");
            if (len < sizeof first) memcpy(first, c->formats, len);
            c->fmt = format_code(first);
        }
    }
    if (timeout) {
        uint64_t v = 0;
        if (cli_parse_count(timeout, &v) != 0 || v == 0 || v > UINT32_MAX)
            return cli_usage_error(c->name, c->usage,
                                   "--timeout needs a positive number of milliseconds, got '%s'",
                                   timeout);
        c->timeout_ms = (uint32_t)v;
    }
    return CLI_OK;
}

int cli_cmd_args(cli_cmd *c, int max, ...) {
    va_list ap;
    va_start(ap, max);
    const char *name;
    int i = 0;
    while ((name = va_arg(ap, const char *)) != NULL && i < c->npos) i++;
    va_end(ap);
    if (name) return cli_usage_error(c->name, c->usage, "missing %s", name);
    if (max >= 0 && c->npos > max) return cli_usage_error(c->name, c->usage, "too many arguments");
    return CLI_OK;
}

int cli_cmd_open(cli_cmd *c, const char *dir, int flags) {
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    int readonly = !(flags & CLI_OPEN_WRITE);
    if (readonly) o.kv.flags |= DT_KV_RDONLY;
    o.closed_schema = (flags & CLI_OPEN_CLOSED_SCHEMA) != 0;
    cli_crash_dir(dir);
    int rc = dt_conn_open(dir, NULL, &o, &c->conn);
    if (rc == DT_NOTFOUND && readonly)
        return cli_fail(c->name, rc, "no Datolite database in %s (%s)", dir, dt_errmsg(NULL));
    if (rc != DT_OK) return cli_fail(c->name, rc, "cannot open %s: %s", dir, dt_errmsg(NULL));
    if (!(flags & CLI_OPEN_SNAPSHOT)) return CLI_OK;
    if ((rc = dt_conn_db(c->conn, &c->db)) != DT_OK)
        return cli_fail(c->name, rc, "cannot read %s: %s", dir, dt_errmsg(c->conn));
    return cli_time_view(c->name, c->usage, &c->time, &c->db);
}

int cli_cmd_end(cli_cmd *c, int code) {
    if (code == CLI_DONE) code = CLI_OK;
    dt_db_close(c->db);
    c->db = NULL;
    if (c->conn) {
        int rc = dt_conn_close(c->conn);
        if (rc != DT_OK && code == CLI_OK)
            code = cli_fail(c->name, rc, "close: %s", dt_errmsg(c->conn));
        c->conn = NULL;
    }
    free(c->pos);
    c->pos = NULL;
    return code;
}
