/*
 * common.c -- helpers shared by the commands of the `datolite` tool
 * (bindings layer): exit codes, option parsing, reading inputs, printing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* {====== Errors and exit codes ====== */

int cli_exit_code(int rc) {
    switch (rc) {
    case DT_OK:
        return CLI_OK;
    case DT_INVALID:
    case DT_NOTFOUND:
    case DT_LIMIT:
        return CLI_INPUT;
    case DT_SCHEMA:
    case DT_CONFLICT:
    case DT_TXFN:
        return CLI_REFUSED;
    case DT_TIMEOUT:
    case DT_INTERRUPT:
        return CLI_STOPPED;
    default:
        /* DT_MAPFULL, DT_BUSY, DT_MISUSE, DT_NOMEM, DT_IO, DT_CORRUPT,
         * DT_INTERNAL and extended codes of those */
        if ((rc & 0xff) == DT_CONFLICT) return CLI_REFUSED;
        return CLI_STORAGE;
    }
}

int cli_fail(const char *cmd, int rc, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "datolite %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return cli_exit_code(rc);
}

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "datolite %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s(try 'datolite %s --help')\n", usage, cmd);
    return CLI_USAGE;
}

/* }====== */

/* {====== Command line ====== */

/* A word that is an option rather than an argument: "-x..." or "--x...",
 * except "-" itself and negative numbers ("-1", "-2.5"). */
static int is_option(const char *w) {
    if (w[0] != '-' || w[1] == '\0') return 0;
    if ((w[1] >= '0' && w[1] <= '9') || (w[1] == '.' && w[2] >= '0' && w[2] <= '9')) return 0;
    return 1;
}

int cli_parse(const char *cmd, const char *usage, int argc, char **argv, const cli_opt *opts,
              char **pos, int *npos, int *help) {
    int n = 0, only_args = 0;
    *help = 0;
    for (int i = 0; i < argc; i++) {
        char *w = argv[i];
        if (only_args || !is_option(w)) {
            pos[n++] = w;
            continue;
        }
        if (!strcmp(w, "--")) {
            only_args = 1;
            continue;
        }
        if (!strcmp(w, "-h") || !strcmp(w, "--help")) {
            *help = 1;
            continue;
        }
        if (w[1] != '-') return cli_usage_error(cmd, usage, "unknown option '%s'", w);
        const char *name = w + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = opts;
        while (o && o->name && (strlen(o->name) != nlen || strncmp(o->name, name, nlen) != 0)) o++;
        if (!o || !o->name) return cli_usage_error(cmd, usage, "unknown option '%s'", w);
        if (o->has_arg) {
            if (eq) {
                *o->value = eq + 1;
            } else if (i + 1 < argc) {
                *o->value = argv[++i];
            } else {
                return cli_usage_error(cmd, usage, "option --%s needs a value", o->name);
            }
        } else {
            if (eq) return cli_usage_error(cmd, usage, "option --%s takes no value", o->name);
            *o->flag = 1;
        }
    }
    *npos = n;
    return CLI_OK;
}

int cli_parse_count(const char *s, uint64_t *out) {
    if (!s || !*s) return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        if (v > (UINT64_MAX - 9) / 10) return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

/* }====== */

/* {====== Input ====== */

/* Reads everything from `fd` into a malloc'ed buffer (NUL-terminated). */
static int read_fd(const char *cmd, int fd, const char *name, cli_input *out) {
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) return cli_fail(cmd, DT_NOMEM, "%s: out of memory", name);
    for (;;) {
        if (cap - len < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return cli_fail(cmd, DT_NOMEM, "%s: out of memory", name);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            return cli_fail(cmd, DT_IO, "%s: read error: %s", name, strerror(e));
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    out->mapped = 0;
    out->name = name;
    return CLI_OK;
}

int cli_input_read(const char *cmd, const char *path, int nul, cli_input *out) {
    memset(out, 0, sizeof *out);
    if (!strcmp(path, "-")) return read_fd(cmd, STDIN_FILENO, "<stdin>", out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        return cli_fail(cmd, e == ENOENT ? DT_NOTFOUND : DT_IO, "%s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cli_fail(cmd, DT_IO, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return cli_fail(cmd, DT_INVALID, "%s: is a directory", path);
    }
    if (nul || !S_ISREG(st.st_mode) || st.st_size == 0) { /* text, pipes, empty files */
        int rc = read_fd(cmd, fd, path, out);
        close(fd);
        return rc;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return cli_fail(cmd, DT_IO, "%s: cannot map: %s", path, strerror(e));
    out->data = p;
    out->len = (size_t)st.st_size;
    out->mapped = 1;
    out->name = path;
    return CLI_OK;
}

void cli_input_free(cli_input *in) {
    if (!in->data) return;
    if (in->mapped)
        munmap(in->data, in->len);
    else
        free(in->data);
    in->data = NULL;
    in->len = 0;
}

int cli_edn_arg(const char *cmd, const char *what, const char *text, dt_value *out) {
    int rc = dt_edn_read(text, strlen(text), out);
    if (rc != DT_OK) return cli_fail(cmd, rc, "%s: %s", what, dt_errmsg(NULL));
    return CLI_OK;
}

/* A --as-of / --since argument: a tx id or number (*tx), or an instant
 * (*ms, *is_time 1). */
static int time_arg(const char *cmd, const char *usage, const char *what, const char *text,
                    int64_t *tx, int64_t *ms, int *is_time) {
    dt_value v = DT_VALUE_NIL;
    char buf[128];
    const char *src = text;
    /* a bare date or date-time reads as an instant */
    if (text[0] >= '0' && text[0] <= '9' && strchr(text, '-') && strlen(text) < 96) {
        snprintf(buf, sizeof buf, "#inst \"%s\"", text);
        src = buf;
    }
    int rc = dt_edn_read(src, strlen(src), &v);
    *is_time = 0;
    if (rc == DT_OK && v.type == DT_INSTANT) {
        *ms = v.u.i;
        *is_time = 1;
    } else if (rc == DT_OK && v.type == DT_LONG && v.u.i >= 0) {
        *tx = v.u.i < DT_TX0 ? DT_TX0 + v.u.i : v.u.i;
    } else {
        dt_value_free(&v);
        return cli_usage_error(cmd, usage,
                               "%s needs a transaction id or number, or an instant "
                               "(2026-01-01T00:00:00Z, #inst \"...\"), got '%s'",
                               what, text);
    }
    dt_value_free(&v);
    return CLI_OK;
}

/* Replaces *db with the view `next` made of it (or reports the error). */
static int take_view(const char *cmd, dt_db **db, int rc, dt_db *next) {
    if (rc != DT_OK) return cli_fail(cmd, rc, "%s", dt_errmsg(*db));
    dt_db_close(*db); /* the view keeps the snapshot */
    *db = next;
    return CLI_OK;
}

int cli_time_view(const char *cmd, const char *usage, const cli_time *t, dt_db **db) {
    int64_t tx = 0, ms = 0;
    int is_time = 0, code;
    dt_db *v = NULL;
    if (t->as_of) {
        if ((code = time_arg(cmd, usage, "--as-of", t->as_of, &tx, &ms, &is_time)) != CLI_OK)
            return code;
        int rc = is_time ? dt_db_as_of_instant(*db, ms, &v) : dt_db_as_of(*db, tx, &v);
        if ((code = take_view(cmd, db, rc, v)) != CLI_OK) return code;
    }
    if (t->since) {
        if ((code = time_arg(cmd, usage, "--since", t->since, &tx, &ms, &is_time)) != CLI_OK)
            return code;
        int rc = is_time ? dt_db_tx_at(*db, ms, &tx) : DT_OK;
        if (rc == DT_OK) rc = dt_db_since(*db, tx, &v);
        if ((code = take_view(cmd, db, rc, v)) != CLI_OK) return code;
    }
    if (t->history) {
        int rc = dt_db_history(*db, &v);
        if ((code = take_view(cmd, db, rc, v)) != CLI_OK) return code;
    }
    return CLI_OK;
}

/* }====== */

/* {====== Output ====== */

int cli_print_value(FILE *f, const dt_value *v) {
    char *s = NULL;
    size_t n = 0;
    int rc = dt_edn_write(v, DT_EDN_COMPACT, &s, &n);
    if (rc != DT_OK) return rc;
    fwrite(s, 1, n, f);
    dt_free(s);
    return DT_OK;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* }====== */

/* {====== Progress ====== */

void cli_progress_start(cli_progress *p, const char *cmd, const char *what, uint64_t total,
                        int quiet) {
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->what = what;
    p->total = total;
    p->start = p->last = cli_now();
    p->on = !quiet && isatty(STDERR_FILENO);
}

void cli_progress_update(cli_progress *p, uint64_t done) {
    if (!p->on) return;
    double now = cli_now();
    if (now - p->last < 0.1) return;
    p->last = now;
    double el = now - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    fprintf(stderr, "\r%s: %llu %s", p->cmd, (unsigned long long)done, p->what);
    if (p->total) {
        fprintf(stderr, " of %llu (%.0f%%)", (unsigned long long)p->total,
                100.0 * (double)done / (double)p->total);
    }
    fprintf(stderr, ", %.0f/s", rate);
    if (p->total && rate > 0 && done < p->total)
        fprintf(stderr, ", ETA %.0f s", (double)(p->total - done) / rate);
    fputs("\033[K", stderr);
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (p->on && p->last > p->start) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->on = 0;
}

/* }====== */
