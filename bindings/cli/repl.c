/*
 * repl.c -- the `datolite [DIR]` REPL (bindings layer: only
 * include/datolite.h): queries typed directly, tx-data after .tx, and
 * dot-commands; libedit line editing, history and completion on a
 * terminal, a plain form reader otherwise.  docs/cli.md, "The REPL".
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"

/* {====== State ====== */

typedef struct repl {
    dt_conn *conn;
    char *dir;
    int fmt;
    int timer;
    int interactive; /* stdin and stdout are terminals: prompt, editing */
    size_t limit;    /* most rows a table shows (0: all) */
    dt_value inputs; /* vector of .in inputs for the next query, or nil */
    dt_cancel *cancel;
    char **words; /* completion candidates: attribute keywords */
    size_t nwords;
    int words_loaded;
    int code;        /* exit code: of the first failure (scripts) */
    const char *src; /* input name for messages ("<stdin>", a .read file) */
    int line;        /* line of the current chunk's start in src */
    int depth;       /* .read nesting */
    int quit;
    int created; /* the database did not exist before this session */
} repl;

static repl *the_repl; /* for the completion callbacks */
static volatile sig_atomic_t got_sigint;
static dt_cancel *sig_cancel;

static void on_sigint(int sig) {
    (void)sig;
    got_sigint = 1;
    if (sig_cancel) dt_cancel_trigger(sig_cancel);
}

/* }====== */

/* {====== Messages ====== */

/* Where "at L:C" appears last in msg: *line, *col (0 when none). */
static void msg_pos(const char *msg, int *line, int *col) {
    *line = *col = 0;
    for (const char *p = strstr(msg, " at "); p; p = strstr(p + 1, " at ")) {
        int l, c, n = 0;
        if (sscanf(p + 4, "%d:%d%n", &l, &c, &n) == 2 && n > 0) {
            *line = l;
            *col = c;
        }
    }
}

static const char *hint_for(int rc, const char *msg) {
    if (strstr(msg, "unknown attribute") || strstr(msg, "attribute the schema"))
        return ".schema lists the attributes";
    if (strstr(msg, "edn:")) return "check the brackets and the quotes of the input";
    if (strstr(msg, "unknown function"))
        return "docs/query.md lists the functions and predicates a query can call";
    if (strstr(msg, "not a query"))
        return "a query is [:find ...] or {:find ...}; .tx [...] transacts; .help lists the "
               "commands";
    if (strstr(msg, "input")) return ".in gives the inputs of the next query, after $";
    if (rc == DT_NOTFOUND) return "entities are ids, idents (:my/ident) or lookup refs [:attr v]";
    if (rc == DT_CONFLICT) return "the data refused it: the database is unchanged";
    return NULL;
}

/*
 * Reports an error of the chunk `text`: the message, the line of the text
 * it points at with a caret under the column, and a hint.  In scripts the
 * message names the file and line; the first failure's exit code is kept.
 */
static void report(repl *r, int rc, const char *text, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void report(repl *r, int rc, const char *text, size_t len, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (r->interactive && r->depth == 0)
        fprintf(stderr, "error: %s\n", msg);
    else
        fprintf(stderr, "datolite: %s:%d: %s\n", r->src, r->line, msg);
    int line, col;
    msg_pos(msg, &line, &col);
    if (text && line > 0 && col > 0) {
        const char *p = text, *end = text + len;
        for (int l = 1; l < line && p < end; l++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        }
        if (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (n <= 200) {
                fprintf(stderr, "  %.*s\n  ", (int)n, p);
                int c = 1;
                for (size_t i = 0; i < n && c < col; i++) {
                    if (((unsigned char)p[i] & 0xc0) == 0x80) continue;
                    fputc(p[i] == '\t' ? '\t' : ' ', stderr);
                    c++;
                }
                fputs("^\n", stderr);
            }
        }
    }
    const char *hint = hint_for(rc, msg);
    if (hint && r->interactive) fprintf(stderr, "hint: %s\n", hint);
    if (r->code == CLI_OK) r->code = rc == DT_OK ? CLI_USAGE : cli_exit_code(rc);
}

/* }====== */

/* {====== Input splitting ====== */

/*
 * Whether text[0..n) is complete: every bracket closed and no string left
 * open (strings, comments and character literals are skipped).  More
 * closing than opening brackets also counts as complete, for the reader
 * to report.
 */
int cli_edn_complete(const char *s, size_t n) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == ';') {
            while (i < n && s[i] != '\n') i++;
        } else if (c == '\\') {
            i++;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if (c == ')' || c == ']' || c == '}') {
            depth--;
        }
    }
    return !in_str && depth <= 0;
}

/* Whether the text holds anything but blanks, commas and comments. */
static int has_content(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ';') {
            while (i < n && s[i] != '\n') i++;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',') {
            return 1;
        }
    }
    return 0;
}

/*
 * Whether a gathered chunk is ready to run: balanced, and a command that
 * needs an argument (.tx, .transact, .pull, .entity, .explain) has one
 * (so ".tx" alone on a line waits for the tx-data on the next lines).
 */
static int chunk_complete(const char *s, size_t n) {
    if (!cli_edn_complete(s, n)) return 0;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    if (i >= n || s[i] != '.') return 1;
    static const char *const needs[] = {".tx", ".transact", ".pull", ".entity", ".explain"};
    size_t w = i;
    while (w < n && s[w] != ' ' && s[w] != '\t' && s[w] != '\n' && s[w] != '\r') w++;
    for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++)
        if (w - i == strlen(needs[k]) && !strncmp(s + i, needs[k], w - i))
            return has_content(s + w, n - w);
    return 1;
}

/* }====== */

/* {====== Results ====== */

/* A grid over borrowed cells, shown through a row permutation. */
typedef struct rows {
    const dt_value **cells; /* nrows * ncols */
    size_t ncols;
    size_t *order; /* display row -> row */
} rows;

static const dt_value *rows_cell(void *ud, size_t r, size_t c) {
    rows *x = ud;
    return x->cells[x->order[r] * x->ncols + c];
}

static const rows *sort_rows;
static int row_cmp(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t n = sort_rows->ncols;
    for (size_t c = 0; c < n; c++) {
        const dt_value *x = sort_rows->cells[i * n + c], *y = sort_rows->cells[j * n + c];
        if (!x || !y) continue;
        int k = dt_value_compare(x, y);
        if (k) return k;
    }
    return i < j ? -1 : i > j;
}

static void row_note(repl *r, size_t shown, size_t total) {
    if (shown < total)
        printf("(%zu of %zu rows shown; .limit 0 or .format csv shows all)\n", shown, total);
    else
        printf("(%zu row%s)\n", total, total == 1 ? "" : "s");
    (void)r;
}

/*
 * Prints nrows x ncols cells in the REPL's table or CSV format, rows sorted
 * by value (results are sets: sorting makes them read the same every
 * time).
 */
static int print_rows(repl *r, const char *const *head, size_t ncols, const dt_value **cells,
                      size_t nrows, int sort) {
    rows x = {cells, ncols, malloc((nrows + 1) * sizeof(size_t))};
    if (!x.order) return DT_NOMEM;
    for (size_t i = 0; i < nrows; i++) x.order[i] = i;
    if (sort && nrows > 1) {
        sort_rows = &x;
        qsort(x.order, nrows, sizeof *x.order, row_cmp);
    }
    cli_grid g = {head, ncols, nrows, rows_cell, &x, 0, 0};
    size_t limit = r->fmt == CLI_FMT_TABLE && r->limit ? r->limit : SIZE_MAX;
    int rc = cli_grid_print(stdout, r->fmt, &g, limit);
    if (rc == DT_OK && r->fmt == CLI_FMT_TABLE) row_note(r, nrows < limit ? nrows : limit, nrows);
    free(x.order);
    return rc;
}

static void timer_note(repl *r, double t0) {
    if (r->timer) printf("Run time: %.6f s\n", cli_now() - t0);
}

/* }====== */

/* {====== Opening ====== */

static void words_free(repl *r) {
    for (size_t i = 0; i < r->nwords; i++) free(r->words[i]);
    free(r->words);
    r->words = NULL;
    r->nwords = 0;
    r->words_loaded = 0;
}

static int repl_open(repl *r, const char *dir) {
    dt_conn *conn = NULL;
    cli_crash_dir(dir);
    int rc = dt_conn_open(dir, NULL, NULL, &conn);
    if (rc != DT_OK) {
        report(r, rc, NULL, 0, "cannot open %s: %s", dir, dt_errmsg(NULL));
        return rc;
    }
    if (r->conn) {
        int crc = dt_conn_close(r->conn);
        if (crc != DT_OK) {
            report(r, crc, NULL, 0, "cannot close %s: %s", r->dir, dt_errmsg(r->conn));
            dt_conn_close(conn);
            return crc;
        }
    }
    char *d = strdup(dir);
    free(r->dir);
    r->dir = d;
    r->conn = conn;
    words_free(r);
    return DT_OK;
}

/* The schema as a value (a map attribute -> definition). */
static int schema_value(repl *r, dt_value *out) {
    char *s = NULL;
    int rc = dt_conn_schema(r->conn, &s);
    if (rc != DT_OK) {
        dt_errmsg_set(NULL, rc, "%s", dt_errmsg(r->conn));
        return rc;
    }
    rc = dt_edn_read(s, strlen(s), out);
    dt_free(s);
    return rc;
}

/* }====== */

/* {====== Completion ====== */

static const char *const dot_commands[] = {".help",   ".schema",  ".stat",  ".pull", ".entity",
                                           ".datoms", ".explain", ".in",    ".tx",   ".transact",
                                           ".format", ".timer",   ".limit", ".read", ".import",
                                           ".open",   ".quit",    ".exit",  NULL};

static const char *const query_words[] = {":find", ":where", ":in",    ":with", ":keys",
                                          ":strs", ":syms",  ":db/id", NULL};

static void load_words(repl *r) {
    if (r->words_loaded) return;
    r->words_loaded = 1;
    dt_value sv = DT_VALUE_NIL;
    if (schema_value(r, &sv) != DT_OK || sv.type != DT_MAP) {
        dt_value_free(&sv);
        return;
    }
    size_t n = sv.u.seq.n / 2;
    r->words = calloc(n + 1, sizeof *r->words);
    if (r->words) {
        for (size_t i = 0; i < n; i++) {
            const dt_value *k = &sv.u.seq.items[2 * i];
            if (k->type != DT_KEYWORD) continue;
            char *w = malloc(k->u.s.len + 2);
            if (!w) break;
            w[0] = ':';
            memcpy(w + 1, k->u.s.ptr, k->u.s.len + 1);
            r->words[r->nwords++] = w;
        }
    }
    dt_value_free(&sv);
}

static char *complete_gen(const char *text, int state) {
    static size_t i, j, k;
    static size_t len;
    if (!state) {
        i = j = k = 0;
        len = strlen(text);
    }
    if (text[0] == '.') {
        while (dot_commands[i]) {
            const char *w = dot_commands[i++];
            if (!strncmp(w, text, len)) return strdup(w);
        }
        return NULL;
    }
    if (text[0] == ':') {
        repl *r = the_repl;
        load_words(r);
        while (j < r->nwords) {
            const char *w = r->words[j++];
            if (!strncmp(w, text, len)) return strdup(w);
        }
        while (query_words[k]) {
            const char *w = query_words[k++];
            if (!strncmp(w, text, len)) return strdup(w);
        }
    }
    return NULL;
}

static char **complete(const char *text, int start, int end) {
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, complete_gen);
}

/* }====== */

/* {====== Forms of a chunk ====== */

/* The forms of text[0..len), each with its slice of the text. */
typedef struct forms {
    dt_value *v;
    size_t *start, *end;
    size_t n;
} forms;

static void forms_free(forms *f) {
    for (size_t i = 0; i < f->n; i++) dt_value_free(&f->v[i]);
    free(f->v);
    free(f->start);
    free(f->end);
    memset(f, 0, sizeof *f);
}

/* Reads every form; on error reports it (positions relative to text). */
static int read_forms(repl *r, const char *text, size_t len, forms *out) {
    memset(out, 0, sizeof *out);
    dt_edn_reader *rd = NULL;
    int rc = dt_edn_reader_new(text, len, NULL, &rd);
    if (rc != DT_OK) {
        report(r, rc, text, len, "%s", dt_errmsg(NULL));
        return rc;
    }
    size_t cap = 0;
    for (;;) {
        dt_value v = DT_VALUE_NIL;
        rc = dt_edn_reader_next(rd, &v);
        size_t off = 0;
        dt_edn_reader_pos(rd, NULL, NULL, &off);
        if (out->n) out->end[out->n - 1] = rc == DT_ROW || rc == DT_DONE ? off : len;
        if (rc == DT_DONE) {
            rc = DT_OK;
            break;
        }
        if (rc != DT_ROW) {
            report(r, rc, text, len, "%s", dt_errmsg(rd));
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            dt_value *nv = realloc(out->v, cap * sizeof *nv);
            if (nv) out->v = nv;
            size_t *ns = realloc(out->start, cap * sizeof *ns);
            if (ns) out->start = ns;
            size_t *ne = realloc(out->end, cap * sizeof *ne);
            if (ne) out->end = ne;
            if (!nv || !ns || !ne) {
                dt_value_free(&v);
                rc = DT_NOMEM;
                report(r, rc, NULL, 0, "out of memory");
                break;
            }
        }
        out->v[out->n] = v;
        out->start[out->n] = off;
        out->end[out->n] = len;
        out->n++;
    }
    dt_edn_reader_free(rd);
    if (rc != DT_OK) forms_free(out);
    return rc;
}

static int is_kw(const dt_value *v, const char *name) {
    return v->type == DT_KEYWORD && !strcmp(v->u.s.ptr, name);
}

static const dt_value *map_get(const dt_value *m, const char *k) {
    if (m->type != DT_MAP) return NULL;
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2)
        if (is_kw(&m->u.seq.items[i], k)) return &m->u.seq.items[i + 1];
    return NULL;
}

static int kw_value(const char *name, dt_value *out) {
    return dt_value_text(DT_KEYWORD, name, strlen(name), out);
}

/* Whether a form is a query: [:find ...] or {:find ...}. */
static int is_query(const dt_value *v) {
    if (v->type == DT_VECTOR || v->type == DT_LIST)
        return v->u.seq.n > 0 && is_kw(&v->u.seq.items[0], "find");
    return v->type == DT_MAP && map_get(v, "find") != NULL;
}

/* The elements of clause `name` of a query form (vector: the items after
 * the keyword up to the next keyword; map: the value's items). */
static const dt_value *query_clause(const dt_value *q, const char *name, size_t *n, int *found) {
    *n = 0;
    *found = 0;
    if (q->type == DT_MAP) {
        const dt_value *v = map_get(q, name);
        if (!v) return NULL;
        *found = 1;
        if (v->type != DT_VECTOR && v->type != DT_LIST) return NULL;
        *n = v->u.seq.n;
        return v->u.seq.items;
    }
    for (size_t i = 0; i < q->u.seq.n; i++) {
        if (!is_kw(&q->u.seq.items[i], name)) continue;
        *found = 1;
        size_t j = i + 1;
        while (j < q->u.seq.n && q->u.seq.items[j].type != DT_KEYWORD) j++;
        *n = j - i - 1;
        return q->u.seq.items + i + 1;
    }
    return NULL;
}

/* }====== */

/* {====== Queries ====== */

/* Fills inputs[] for the query's :in: the database for each source ($,
 * $name), the .in values in order for the rest. */
static int query_inputs(repl *r, const dt_value *q, dt_db *db, dt_input **out, size_t *nout,
                        const char *text, size_t len) {
    size_t nin;
    int found;
    const dt_value *in = query_clause(q, "in", &nin, &found);
    size_t given = r->inputs.type == DT_VECTOR ? r->inputs.u.seq.n : 0;
    if (!found) nin = 1;
    dt_input *inp = calloc(nin + 1, sizeof *inp);
    if (!inp) return DT_NOMEM;
    size_t used = 0;
    for (size_t i = 0; i < nin; i++) {
        const dt_value *e = found ? &in[i] : NULL;
        if (!e || (e->type == DT_SYMBOL && e->u.s.ptr[0] == '$')) {
            inp[i].db = db;
        } else if (used < given) {
            inp[i].value = &r->inputs.u.seq.items[used++];
        } else {
            char *s = NULL;
            dt_edn_write(e, DT_EDN_COMPACT, &s, NULL);
            report(r, DT_INVALID, text, len,
                   "query: the :in element %s has no input: give one with .in before the query "
                   "(%zu given)",
                   s ? s : "?", given);
            dt_free(s);
            free(inp);
            return DT_INVALID;
        }
    }
    if (used < given) {
        report(r, DT_INVALID, text, len,
               "query: .in gave %zu inputs but the query's :in takes %zu besides its sources",
               given, used);
        free(inp);
        return DT_INVALID;
    }
    *out = inp;
    *nout = nin;
    return DT_OK;
}

/* The compact EDN of v in a malloc'ed string (NULL on failure). */
static char *edn_dup(const dt_value *v) {
    char *s = NULL, *d = NULL;
    if (dt_edn_write(v, DT_EDN_COMPACT, &s, NULL) == DT_OK) d = strdup(s);
    dt_free(s);
    return d;
}

static void print_result(repl *r, const dt_value *q, dt_result *res) {
    dt_find_kind kind = dt_result_kind(res);
    if (r->fmt == CLI_FMT_EDN || r->fmt == CLI_FMT_JSON) {
        dt_value v = DT_VALUE_NIL;
        int rc = dt_result_value(res, &v);
        if (rc == DT_OK) rc = cli_value_print(stdout, r->fmt, &v);
        if (rc != DT_OK) report(r, rc, NULL, 0, "cannot print the result: %s", dt_errmsg(NULL));
        dt_value_free(&v);
        return;
    }
    size_t ncols = dt_result_width(res), nrows = dt_result_count(res);
    size_t nfind;
    int found;
    const dt_value *find = query_clause(q, "find", &nfind, &found);
    char **head = calloc(ncols + 1, sizeof *head);
    const dt_value **cells = calloc(nrows * ncols + 1, sizeof *cells);
    if (!head || !cells) {
        free(head);
        free(cells);
        report(r, DT_NOMEM, NULL, 0, "out of memory");
        return;
    }
    for (size_t c = 0; c < ncols; c++) {
        const char *k = dt_result_key(res, c);
        if (k) {
            head[c] = strdup(k);
        } else if (find && c < nfind && !(nfind == 1 && c > 0)) {
            const dt_value *e = &find[c];
            /* [?x ...] and ?x . : the variable alone */
            if ((kind == DT_FIND_COLL) && (e->type == DT_VECTOR) && e->u.seq.n)
                e = &e->u.seq.items[0];
            if (kind == DT_FIND_TUPLE && nfind == 1 && e->type == DT_VECTOR && c < e->u.seq.n)
                e = &e->u.seq.items[c];
            head[c] = edn_dup(e);
        } else if (kind == DT_FIND_TUPLE && find && nfind == 1 && find[0].type == DT_VECTOR &&
                   c < find[0].u.seq.n) {
            head[c] = edn_dup(&find[0].u.seq.items[c]);
        }
        if (!head[c]) {
            char buf[32];
            snprintf(buf, sizeof buf, "col%zu", c + 1);
            head[c] = strdup(buf);
        }
    }
    for (size_t i = 0; i < nrows; i++)
        for (size_t c = 0; c < ncols; c++) cells[i * ncols + c] = dt_result_get(res, i, c);
    int rc = print_rows(r, (const char *const *)head, ncols, cells, nrows, 1);
    if (rc != DT_OK) report(r, rc, NULL, 0, "cannot print the result");
    for (size_t c = 0; c < ncols; c++) free(head[c]);
    free(head);
    free(cells);
}

static void run_query(repl *r, const dt_value *q, const char *text, size_t len) {
    dt_db *db = NULL;
    dt_input *inp = NULL;
    size_t nin = 0;
    dt_result *res = NULL;
    int rc = dt_conn_db(r->conn, &db);
    if (rc != DT_OK) {
        report(r, rc, NULL, 0, "%s", dt_errmsg(r->conn));
        return;
    }
    if (query_inputs(r, q, db, &inp, &nin, text, len) != DT_OK) goto done;
    dt_query_options o;
    memset(&o, 0, sizeof o);
    o.version = DT_QUERY_OPTIONS_VERSION;
    o.cancel = r->cancel;
    dt_cancel_reset(r->cancel);
    got_sigint = 0;
    double t0 = cli_now();
    rc = dt_q_inputs(text, len, inp, nin, &o, &res);
    if (rc == DT_INTERRUPT) {
        fflush(stdout);
        fprintf(stderr, "query cancelled\n");
        if (!r->interactive && r->code == CLI_OK) r->code = cli_exit_code(rc);
        goto done;
    }
    if (rc != DT_OK) {
        report(r, rc, text, len, "%s", dt_errmsg(NULL));
        goto done;
    }
    print_result(r, q, res);
    timer_note(r, t0);
done:
    dt_result_free(res);
    free(inp);
    dt_db_close(db);
    dt_value_free(&r->inputs); /* .in inputs serve one query */
}

/* }====== */

/* {====== Dot-commands ====== */

static const char help_text[] =
    "Type a query, [:find ...] or {:find ...}, to run it on the database; input\n"
    "goes on over several lines until the brackets close.  Ctrl-C cancels the input\n"
    "or a running query; Ctrl-D or .quit leaves.  Tab completes commands and\n"
    "attribute keywords.  Commands:\n"
    "  .help                  this text\n"
    "  .schema [ATTR]         the attributes (type, cardinality, unique, component,\n"
    "                         datoms), or one attribute's definition and statistics\n"
    "  .stat                  database statistics (datoms, entities, size, pages,\n"
    "                         readers, datoms per attribute)\n"
    "  .tx TX-DATA            transact tx-data: .tx [{:db/id \"a\" :person/name \"Ann\"}]\n"
    "  .transact TX-DATA      the same\n"
    "  .pull PATTERN EID      pull: .pull [:book/title {:book/author [*]}] 12\n"
    "  .entity EID            every attribute of an entity: .entity [:person/name \"Ann\"]\n"
    "  .datoms eav|ave [C..]  datoms of an index whose leading components are C..:\n"
    "                         .datoms ave :book/year 1954\n"
    "  .explain QUERY         run QUERY and show its plan\n"
    "  .in INPUT...           inputs (EDN) for the next query's :in after $:\n"
    "                         .in \"Tolkien\"  then  [:find ?b :in $ ?n :where ...]\n"
    "  .format F              output format: table (default), edn, json, csv\n"
    "  .timer on|off          print the run time after each query\n"
    "  .limit N               most rows a table shows (default 1000; 0: all)\n"
    "  .read FILE             run the queries and commands in FILE\n"
    "  .import FILE           transact a tx-data file (one vector of forms) in batches\n"
    "  .open DIR              open (or create) another database\n"
    "  .quit, .exit           leave\n"
    "EIDs are entity ids, idents (:my/ident) or lookup refs ([:person/email \"a@b\"]).\n";

/* The text after the command word, trimmed; quotes around a file name
 * are dropped. */
static void word_arg(const char *args, size_t n, char *out, size_t cap) {
    while (n && (*args == ' ' || *args == '\t' || *args == '\n')) args++, n--;
    while (n && (args[n - 1] == ' ' || args[n - 1] == '\t' || args[n - 1] == '\n' ||
                 args[n - 1] == '\r'))
        n--;
    if (n >= 2 && args[0] == '"' && args[n - 1] == '"') args++, n -= 2;
    if (n >= cap) n = cap - 1;
    memcpy(out, args, n);
    out[n] = '\0';
}

static void cmd_schema_dot(repl *r, const char *args, size_t n) {
    char attr[512];
    word_arg(args, n, attr, sizeof attr);
    dt_value sv = DT_VALUE_NIL;
    int rc = schema_value(r, &sv);
    if (rc != DT_OK || sv.type != DT_MAP) {
        report(r, rc ? rc : DT_CORRUPT, NULL, 0, "schema: %s", dt_errmsg(NULL));
        dt_value_free(&sv);
        return;
    }
    dt_db *db = NULL;
    if ((rc = dt_conn_db(r->conn, &db)) != DT_OK) {
        report(r, rc, NULL, 0, "%s", dt_errmsg(r->conn));
        dt_value_free(&sv);
        return;
    }
    size_t na = sv.u.seq.n / 2;
    if (attr[0]) {
        const char *name = attr[0] == ':' ? attr + 1 : attr;
        const dt_value *def = NULL;
        for (size_t i = 0; i < na; i++)
            if (!strcmp(sv.u.seq.items[2 * i].u.s.ptr, name)) def = &sv.u.seq.items[2 * i + 1];
        if (!def) {
            report(r, DT_NOTFOUND, NULL, 0, "no attribute :%s in the schema", name);
        } else {
            dt_attr_stats st;
            memset(&st, 0, sizeof st);
            if (r->fmt == CLI_FMT_JSON) {
                cli_value_print(stdout, r->fmt, def);
            } else {
                cli_value_print(stdout, CLI_FMT_EDN, def);
            }
            if (dt_db_attr_stats(db, name, &st) == DT_OK && r->fmt == CLI_FMT_TABLE) {
                printf("datoms: %llu, distinct values: %llu", (unsigned long long)st.count,
                       (unsigned long long)st.distinct);
                if (st.count) {
                    cli_sb b = {0};
                    cli_sb_str(&b, ", from ");
                    cli_cell_text(&b, &st.min);
                    cli_sb_str(&b, " to ");
                    cli_cell_text(&b, &st.max);
                    if (b.s) fputs(b.s, stdout);
                    cli_sb_free(&b);
                }
                putchar('\n');
            }
            dt_attr_stats_free(&st);
        }
    } else if (r->fmt == CLI_FMT_EDN || r->fmt == CLI_FMT_JSON) {
        cli_value_print(stdout, r->fmt, &sv);
    } else {
        /* a table: attribute, type, cardinality, unique, component, datoms */
        static const char *const head[] = {"attribute", "type",      "cardinality",
                                           "unique",    "component", "datoms"};
        dt_value *cellv = calloc(na * 6 + 1, sizeof *cellv);
        const dt_value **cells = calloc(na * 6 + 1, sizeof *cells);
        if (cellv && cells) {
            static const char *const keys[] = {"db/valueType", "db/cardinality", "db/unique",
                                               "db/isComponent"};
            for (size_t i = 0; i < na; i++) {
                const dt_value *k = &sv.u.seq.items[2 * i], *d = &sv.u.seq.items[2 * i + 1];
                dt_value *row = cellv + i * 6;
                dt_value_copy(k, &row[0]);
                for (int j = 0; j < 4; j++) {
                    const dt_value *x = map_get(d, keys[j]);
                    if (!x) continue;
                    if (x->type == DT_KEYWORD) {
                        /* :db.type/string -> string */
                        const char *s = strchr(x->u.s.ptr, '/');
                        s = s ? s + 1 : x->u.s.ptr;
                        dt_value_text(DT_SYMBOL, s, strlen(s), &row[1 + j]);
                    } else if (x->type == DT_BOOL && x->u.b) {
                        dt_value_text(DT_SYMBOL, "yes", 3, &row[1 + j]);
                    }
                }
                dt_attr_stats st;
                memset(&st, 0, sizeof st);
                if (dt_db_attr_stats(db, k->u.s.ptr, &st) == DT_OK)
                    dt_value_long((int64_t)st.count, &row[5]);
                dt_attr_stats_free(&st);
                for (int j = 0; j < 6; j++)
                    cells[i * 6 + j] = row[j].type == DT_NIL ? NULL : &row[j];
            }
            if (r->fmt == CLI_FMT_TABLE && na == 0)
                printf("(no attributes yet: .tx creates them, or define them with .tx of "
                       "schema maps)\n");
            else
                print_rows(r, head, 6, cells, na, 1);
            for (size_t i = 0; i < na * 6; i++) dt_value_free(&cellv[i]);
        }
        free(cellv);
        free(cells);
    }
    dt_db_close(db);
    dt_value_free(&sv);
}

static void cmd_stat_dot(repl *r) {
    dt_value v = DT_VALUE_NIL;
    int rc = cli_stat_value(r->conn, r->dir, &v);
    if (rc != DT_OK)
        report(r, rc, NULL, 0, "stat: %s", dt_errmsg(NULL));
    else
        cli_value_print(stdout, r->fmt == CLI_FMT_JSON ? CLI_FMT_JSON : CLI_FMT_EDN, &v);
    dt_value_free(&v);
}

static void cmd_tx_dot(repl *r, const char *args, size_t n) {
    if (!has_content(args, n)) {
        report(r, DT_OK, NULL, 0,
               "usage: .tx TX-DATA, e.g. .tx [{:db/id \"a\" :person/name \"Ann\"}]");
        return;
    }
    dt_report *rep = NULL;
    double t0 = cli_now();
    int rc = dt_transact_text(r->conn, args, n, &rep);
    if (rc != DT_OK) {
        const char *m = dt_errmsg(r->conn);
        report(r, rc, args, n, "%s%s", strncmp(m, "transact:", 9) ? "transact: " : "", m);
        return;
    }
    size_t nd = dt_report_count(rep), added = 0, shown = 0;
    dt_value *cellv = calloc(nd * 4 + 1, sizeof *cellv);
    const dt_value **cells = calloc(nd * 4 + 1, sizeof *cells);
    for (size_t i = 0; i < nd && cellv && cells; i++) {
        dt_datom d;
        if (dt_report_datom(rep, i, &d) != DT_OK) break;
        if (d.added) added++;
        if (d.e >= DT_TX0) continue; /* the transaction's own :db/txInstant */
        dt_value *row = cellv + shown * 4;
        dt_value_long(d.e, &row[0]);
        kw_value(d.a, &row[1]);
        dt_value_copy(&d.v, &row[2]);
        dt_value_bool(d.added, &row[3]);
        for (int j = 0; j < 4; j++) cells[shown * 4 + j] = &row[j];
        shown++;
    }
    dt_value tempids = DT_VALUE_NIL;
    const dt_value *tids = dt_report_tempids(rep);
    if (tids) dt_value_copy(tids, &tempids);
    int64_t txid = dt_report_tx(rep);
    dt_report_close(rep);
    words_free(r); /* new attributes for completion */
    if (r->fmt == CLI_FMT_TABLE || r->fmt == CLI_FMT_CSV) {
        static const char *const head[] = {"e", "a", "v", "added"};
        if (cells) print_rows(r, head, 4, cells, shown, 0);
        if (r->fmt == CLI_FMT_TABLE) {
            printf("transaction %lld: %zu datoms added, %zu retracted", (long long)txid, added,
                   nd - added);
            if (tempids.type == DT_MAP && tempids.u.seq.n) {
                printf("; tempids ");
                cli_print_value(stdout, &tempids);
            }
            putchar('\n');
        }
    } else {
        dt_value m = DT_VALUE_NIL;
        if (dt_value_seq(DT_MAP, 6, &m) == DT_OK) {
            kw_value("tx", &m.u.seq.items[0]);
            dt_value_long(txid, &m.u.seq.items[1]);
            kw_value("tempids", &m.u.seq.items[2]);
            m.u.seq.items[3] = tempids;
            dt_value_nil(&tempids);
            kw_value("datoms", &m.u.seq.items[4]);
            dt_value_long((int64_t)nd, &m.u.seq.items[5]);
            cli_value_print(stdout, r->fmt, &m);
        }
        dt_value_free(&m);
    }
    timer_note(r, t0);
    dt_value_free(&tempids);
    for (size_t i = 0; cellv && i < shown * 4; i++) dt_value_free(&cellv[i]);
    free(cellv);
    free(cells);
}

static void cmd_datoms_dot(repl *r, const char *args, size_t n) {
    size_t i = 0;
    while (i < n && (args[i] == ' ' || args[i] == '\t')) i++;
    size_t w = i;
    while (w < n && args[w] != ' ' && args[w] != '\t' && args[w] != '\n') w++;
    dt_index index;
    if (w - i == 3 && !strncmp(args + i, "eav", 3)) {
        index = DT_INDEX_EAV;
    } else if (w - i == 3 && !strncmp(args + i, "ave", 3)) {
        index = DT_INDEX_AVE;
    } else {
        report(r, DT_OK, NULL, 0, "usage: .datoms eav|ave [COMPONENT...], e.g. .datoms eav 1");
        return;
    }
    forms f;
    if (read_forms(r, args + w, n - w, &f) != DT_OK) return;
    if (f.n > 3) {
        report(r, DT_INVALID, NULL, 0, ".datoms: at most 3 components, got %zu", f.n);
        forms_free(&f);
        return;
    }
    dt_db *db = NULL;
    dt_datom_iter *it = NULL;
    int rc = dt_conn_db(r->conn, &db);
    if (rc == DT_OK) rc = dt_db_datoms(db, index, f.v, f.n, &it);
    if (rc != DT_OK) {
        report(r, rc, NULL, 0, "datoms: %s", db ? dt_errmsg(db) : dt_errmsg(r->conn));
        dt_db_close(db);
        forms_free(&f);
        return;
    }
    size_t cap = 0, nd = 0;
    size_t want = r->fmt == CLI_FMT_TABLE && r->limit ? r->limit : SIZE_MAX;
    dt_value *cellv = NULL;
    dt_datom d;
    size_t total = 0;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        total++;
        if (nd >= want) continue;
        if (nd == cap) {
            cap = cap ? cap * 2 : 256;
            dt_value *p = realloc(cellv, cap * 4 * sizeof *p);
            if (!p) {
                rc = DT_NOMEM;
                break;
            }
            cellv = p;
        }
        dt_value *row = cellv + nd * 4;
        dt_value_long(d.e, &row[0]);
        kw_value(d.a, &row[1]);
        dt_value_copy(&d.v, &row[2]);
        dt_value_long(d.tx, &row[3]);
        nd++;
    }
    if (rc != DT_DONE) report(r, rc, NULL, 0, "datoms: %s", dt_errmsg(it));
    dt_datom_iter_close(it);
    dt_db_close(db);
    if (rc == DT_DONE) {
        if (r->fmt == CLI_FMT_EDN || r->fmt == CLI_FMT_JSON) {
            dt_value v = DT_VALUE_NIL;
            if (dt_value_seq(DT_VECTOR, nd, &v) == DT_OK) {
                for (size_t k = 0; k < nd; k++) {
                    dt_value *x = &v.u.seq.items[k];
                    if (dt_value_seq(DT_VECTOR, 4, x) != DT_OK) break;
                    memcpy(x->u.seq.items, cellv + k * 4, 4 * sizeof *cellv);
                    memset(cellv + k * 4, 0, 4 * sizeof *cellv);
                }
                cli_value_print(stdout, r->fmt, &v);
            }
            dt_value_free(&v);
        } else {
            static const char *const head[] = {"e", "a", "v", "tx"};
            const dt_value **cells = calloc(nd * 4 + 1, sizeof *cells);
            if (cells) {
                for (size_t k = 0; k < nd * 4; k++) cells[k] = &cellv[k];
                print_rows(r, head, 4, cells, nd, 0);
                if (total > nd && r->fmt == CLI_FMT_TABLE)
                    printf("(%zu of %zu datoms shown)\n", nd, total);
            }
            free(cells);
        }
    }
    for (size_t k = 0; k < nd * 4; k++) dt_value_free(&cellv[k]);
    free(cellv);
    forms_free(&f);
}

static void cmd_pull_dot(repl *r, const char *args, size_t n, int entity) {
    forms f;
    if (read_forms(r, args, n, &f) != DT_OK) return;
    if (f.n != (entity ? 1u : 2u)) {
        report(r, DT_OK, NULL, 0,
               entity ? "usage: .entity EID, e.g. .entity 1 or .entity [:person/name \"Ann\"]"
                      : "usage: .pull PATTERN EID, e.g. .pull [*] 1");
        forms_free(&f);
        return;
    }
    dt_value star = DT_VALUE_NIL;
    if (entity) dt_edn_read("[*]", 3, &star);
    const dt_value *pattern = entity ? &star : &f.v[0], *eid = &f.v[entity ? 0 : 1];
    dt_db *db = NULL;
    dt_value out = DT_VALUE_NIL;
    double t0 = cli_now();
    int rc = dt_conn_db(r->conn, &db);
    if (rc == DT_OK) rc = dt_pull_value(db, pattern, eid, &out);
    if (rc != DT_OK) {
        report(r, rc, args, n, "pull: %s", db ? dt_errmsg(db) : dt_errmsg(r->conn));
    } else if (entity && out.type == DT_NIL) {
        /* a lookup ref or ident that matches nothing (pull gives nil) */
        char *s = NULL;
        dt_edn_write(eid, DT_EDN_COMPACT, &s, NULL);
        report(r, DT_NOTFOUND, NULL, 0, "entity %s matches no entity", s ? s : "?");
        dt_free(s);
    } else if (entity && out.type == DT_MAP && out.u.seq.n <= 2) {
        /* only :db/id: the entity has no datoms */
        char *s = NULL;
        dt_edn_write(eid, DT_EDN_COMPACT, &s, NULL);
        report(r, DT_NOTFOUND, NULL, 0, "entity %s has no datoms", s ? s : "?");
        dt_free(s);
    } else if (out.type == DT_NIL) {
        if (r->fmt == CLI_FMT_TABLE)
            printf("(nothing: no such entity, or none of the pattern's attributes)\n");
        else
            cli_value_print(stdout, r->fmt, &out);
    } else {
        cli_map_print(stdout, r->fmt, &out);
        timer_note(r, t0);
    }
    dt_value_free(&out);
    dt_value_free(&star);
    dt_db_close(db);
    forms_free(&f);
}

static void cmd_explain_dot(repl *r, const char *args, size_t n) {
    forms f;
    if (read_forms(r, args, n, &f) != DT_OK) return;
    if (f.n != 1 || !is_query(&f.v[0])) {
        report(r, DT_OK, NULL, 0, "usage: .explain QUERY, e.g. .explain [:find ?e :where [?e :a]]");
        forms_free(&f);
        return;
    }
    dt_db *db = NULL;
    dt_input *inp = NULL;
    size_t nin = 0;
    char *plan = NULL;
    size_t plen = 0;
    int rc = dt_conn_db(r->conn, &db);
    if (rc != DT_OK) {
        report(r, rc, NULL, 0, "%s", dt_errmsg(r->conn));
    } else if (query_inputs(r, &f.v[0], db, &inp, &nin, args, n) == DT_OK) {
        dt_query_options o;
        memset(&o, 0, sizeof o);
        o.version = DT_QUERY_OPTIONS_VERSION;
        o.cancel = r->cancel;
        dt_cancel_reset(r->cancel);
        rc = dt_explain(args, n, inp, nin, &o, &plan, &plen);
        if (rc == DT_INTERRUPT)
            fprintf(stderr, "query cancelled\n");
        else if (rc != DT_OK)
            report(r, rc, args, n, "%s", dt_errmsg(NULL));
        else
            printf("%.*s\n", (int)plen, plan);
    }
    dt_free(plan);
    free(inp);
    dt_db_close(db);
    dt_value_free(&r->inputs);
    forms_free(&f);
}

static void cmd_in_dot(repl *r, const char *args, size_t n) {
    forms f;
    if (read_forms(r, args, n, &f) != DT_OK) return;
    dt_value_free(&r->inputs);
    if (f.n && dt_value_seq(DT_VECTOR, f.n, &r->inputs) == DT_OK) {
        for (size_t i = 0; i < f.n; i++) {
            r->inputs.u.seq.items[i] = f.v[i];
            dt_value_nil(&f.v[i]);
        }
    }
    if (r->interactive) printf("%zu input%s for the next query\n", f.n, f.n == 1 ? "" : "s");
    forms_free(&f);
}

static void run_text(repl *r, const char *text, size_t len, const char *name);

static void cmd_read_dot(repl *r, const char *args, size_t n, int import) {
    char path[4096];
    word_arg(args, n, path, sizeof path);
    if (!path[0]) {
        report(r, DT_OK, NULL, 0, import ? "usage: .import FILE" : "usage: .read FILE");
        return;
    }
    cli_input in;
    /* cli_input_read prints its own message; count it as this input's */
    int code = cli_input_read(import ? "import" : "read", path, 0, &in);
    if (code != CLI_OK) {
        if (r->code == CLI_OK) r->code = code;
        return;
    }
    if (import) {
        uint64_t ntx = 0;
        double t0 = cli_now();
        int rc = dt_import_edn(r->conn, in.data, in.len, 0, &ntx);
        if (rc != DT_OK)
            report(r, rc, NULL, 0, "import: %s: %s", path, dt_errmsg(r->conn));
        else
            printf("imported %s: %llu transaction%s in %.3f s\n", path, (unsigned long long)ntx,
                   ntx == 1 ? "" : "s", cli_now() - t0);
        words_free(r);
    } else if (r->depth >= 16) {
        report(r, DT_LIMIT, NULL, 0, ".read: files nest deeper than 16");
    } else {
        run_text(r, in.data, in.len, path);
    }
    cli_input_free(&in);
}

/* Runs one dot-command chunk (text starts with '.'). */
static void dot_command(repl *r, const char *text, size_t len) {
    size_t w = 0;
    while (w < len && text[w] != ' ' && text[w] != '\t' && text[w] != '\n' && text[w] != '\r') w++;
    const char *args = text + w;
    size_t n = len - w;
    char name[32];
    if (w >= sizeof name) w = sizeof name - 1;
    memcpy(name, text, w);
    name[w] = '\0';
    char word[256];
    if (!strcmp(name, ".help")) {
        fputs(help_text, stdout);
    } else if (!strcmp(name, ".quit") || !strcmp(name, ".exit")) {
        r->quit = 1;
    } else if (!strcmp(name, ".schema")) {
        cmd_schema_dot(r, args, n);
    } else if (!strcmp(name, ".stat")) {
        cmd_stat_dot(r);
    } else if (!strcmp(name, ".tx") || !strcmp(name, ".transact")) {
        cmd_tx_dot(r, args, n);
    } else if (!strcmp(name, ".datoms")) {
        cmd_datoms_dot(r, args, n);
    } else if (!strcmp(name, ".pull")) {
        cmd_pull_dot(r, args, n, 0);
    } else if (!strcmp(name, ".entity")) {
        cmd_pull_dot(r, args, n, 1);
    } else if (!strcmp(name, ".explain")) {
        cmd_explain_dot(r, args, n);
    } else if (!strcmp(name, ".in")) {
        cmd_in_dot(r, args, n);
    } else if (!strcmp(name, ".format")) {
        word_arg(args, n, word, sizeof word);
        int fmt;
        if (!word[0])
            printf("%s\n", cli_fmt_name(r->fmt));
        else if (cli_fmt_parse(word, &fmt) != 0)
            report(r, DT_OK, NULL, 0, "usage: .format table|edn|json|csv (got '%s')", word);
        else
            r->fmt = fmt;
    } else if (!strcmp(name, ".timer")) {
        word_arg(args, n, word, sizeof word);
        if (!strcmp(word, "on"))
            r->timer = 1;
        else if (!strcmp(word, "off"))
            r->timer = 0;
        else
            report(r, DT_OK, NULL, 0, "usage: .timer on|off");
    } else if (!strcmp(name, ".limit")) {
        word_arg(args, n, word, sizeof word);
        uint64_t v;
        if (!word[0])
            printf("%zu\n", r->limit);
        else if (cli_parse_count(word, &v) != 0)
            report(r, DT_OK, NULL, 0, "usage: .limit N (0: no limit)");
        else
            r->limit = (size_t)v;
    } else if (!strcmp(name, ".read")) {
        cmd_read_dot(r, args, n, 0);
    } else if (!strcmp(name, ".import")) {
        cmd_read_dot(r, args, n, 1);
    } else if (!strcmp(name, ".open")) {
        word_arg(args, n, word, sizeof word);
        if (!word[0])
            report(r, DT_OK, NULL, 0, "usage: .open DIR");
        else if (repl_open(r, word) == DT_OK && r->interactive)
            printf("opened %s\n", r->dir);
    } else {
        report(r, DT_OK, NULL, 0, "unknown command %s (.help lists the commands)", name);
    }
}

/* Runs one complete chunk: a dot-command, or forms (queries). */
static void eval_chunk(repl *r, const char *text, size_t len) {
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i < len && text[i] == '.') {
        dot_command(r, text + i, len - i);
        return;
    }
    forms f;
    if (read_forms(r, text, len, &f) != DT_OK) return;
    for (size_t k = 0; k < f.n && !r->quit; k++) {
        const char *ft = text + f.start[k];
        size_t fl = f.end[k] - f.start[k];
        if (!is_query(&f.v[k])) {
            char *s = NULL;
            dt_edn_write(&f.v[k], DT_EDN_COMPACT, &s, NULL);
            report(r, DT_INVALID, NULL, 0, "not a query: %.60s%s", s ? s : "?",
                   s && strlen(s) > 60 ? "..." : "");
            dt_free(s);
            continue;
        }
        run_query(r, &f.v[k], ft, fl);
    }
    forms_free(&f);
}

/* }====== */

/* {====== Input loops ====== */

/* Gathers lines into complete chunks (balanced forms, or a command with
 * its arguments) and runs each as soon as it is complete. */
typedef struct feeder {
    cli_sb buf;
    int line;       /* number of the next line */
    int chunk_line; /* line where the gathered chunk starts */
} feeder;

static void feed_line(repl *r, feeder *f, const char *line, size_t n) {
    if (f->buf.len == 0) f->chunk_line = f->line;
    cli_sb_add(&f->buf, line, n);
    f->line++;
    if (!f->buf.s || !has_content(f->buf.s, f->buf.len)) {
        f->buf.len = 0;
        return;
    }
    if (!chunk_complete(f->buf.s, f->buf.len)) return;
    r->line = f->chunk_line;
    eval_chunk(r, f->buf.s, f->buf.len);
    f->buf.len = 0;
    if (!r->interactive) fflush(stdout);
}

/* The end of the input: an unfinished chunk is run, for the reader to
 * report what is left open. */
static void feed_end(repl *r, feeder *f) {
    if (!r->quit && f->buf.len && has_content(f->buf.s, f->buf.len)) {
        r->line = f->chunk_line;
        eval_chunk(r, f->buf.s, f->buf.len);
    }
    cli_sb_free(&f->buf);
}

/* Runs the text of a .read file. */
static void run_text(repl *r, const char *text, size_t len, const char *name) {
    const char *save_src = r->src;
    int save_line = r->line;
    r->src = name;
    r->depth++;
    feeder f = {{0}, 1, 1};
    size_t p = 0;
    while (p < len && !r->quit) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) + 1 : len;
        feed_line(r, &f, text + p, e - p);
        p = e;
    }
    feed_end(r, &f);
    r->depth--;
    r->src = save_src;
    r->line = save_line;
}

/* Scripts: stdin line by line, each chunk run as soon as it is complete
 * (so a program talking to the REPL through pipes gets its answers). */
static void script_loop(repl *r) {
    feeder f = {{0}, 1, 1};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    r->src = "<stdin>";
    while (!r->quit && (n = getline(&line, &cap, stdin)) > 0) {
        if (memchr(line, '\0', (size_t)n)) {
            report(r, DT_INVALID, NULL, 0, "edn: NUL byte in the input");
            break;
        }
        feed_line(r, &f, line, (size_t)n);
    }
    if (!r->quit && ferror(stdin)) report(r, DT_IO, NULL, 0, "read error on stdin");
    free(line);
    feed_end(r, &f);
}

static char *history_file(void) {
    const char *env = getenv("DATOLITE_HISTORY");
    if (env && *env) return strdup(env);
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + sizeof "/.datolite_history";
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/.datolite_history", home);
    return p;
}

/* The interactive loop: libedit, history, completion, Ctrl-C. */
static void interactive_loop(repl *r) {
    char *hist = history_file();
    using_history();
    stifle_history(2000);
    if (hist) read_history(hist);
    the_repl = r;
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{([,])}";
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a read in progress returns */
    sigaction(SIGINT, &sa, &old);
    sig_cancel = r->cancel;
    printf("Datolite %s on %s%s.  .help lists the commands; queries are [:find ...].\n",
           dt_version(), r->dir, r->created ? " (a new, empty database)" : "");
    cli_sb buf = {0};
    while (!r->quit) {
        got_sigint = 0;
        fflush(stdout);
        char *line = readline(buf.len ? "     ...> " : "datolite> ");
        if (!line) {
            if (got_sigint) {
                /* Ctrl-C: drop the input, new prompt */
                fputs("^C\n", stdout);
                buf.len = 0;
                continue;
            }
            putchar('\n');
            break;
        }
        if (got_sigint) {
            buf.len = 0;
            got_sigint = 0;
        }
        if (buf.len) cli_sb_add(&buf, "\n", 1);
        cli_sb_str(&buf, line);
        free(line);
        if (!buf.s || !has_content(buf.s, buf.len)) {
            buf.len = 0;
            continue;
        }
        if (!chunk_complete(buf.s, buf.len)) continue;
        add_history(buf.s);
        if (hist) write_history(hist);
        r->line = 1;
        eval_chunk(r, buf.s, buf.len);
        buf.len = 0;
        if (buf.s) buf.s[0] = '\0';
    }
    cli_sb_free(&buf);
    sigaction(SIGINT, &old, NULL);
    sig_cancel = NULL;
    free(hist);
}

/* }====== */

static const char repl_usage[] = "usage: datolite [--format F] [DIR]\n";

static const char repl_help[] =
    "\n"
    "Opens the database in DIR (default ./datolite-db; created when missing) and\n"
    "starts the REPL: type queries ([:find ...] or {:find ...}), .tx TX-DATA to\n"
    "transact, and dot-commands (.help lists them).  On a terminal it has line\n"
    "editing, a history ($DATOLITE_HISTORY, else ~/.datolite_history) and tab\n"
    "completion; Ctrl-C cancels the input or a running query.  When stdin is not a\n"
    "terminal it reads queries and commands from it without a prompt, prints the\n"
    "results, and exits with the code of the first failure:\n"
    "  datolite db < script.edn\n"
    "\n"
    "Options:\n"
    "  --format F  table (default), edn, json or csv\n"
    "\n" CLI_EXIT_HELP;

int cli_repl(int argc, char **argv) {
    cli_cmd c = CLI_CMD("repl", repl_usage, repl_help, CLI_TAKES_FORMAT, "table, edn, json or csv");
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, 1, NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    /* the session opens (and reopens) its own connection (repl_open) */
    const char *dir = c.npos > 0 ? c.pos[0] : "datolite-db";
    cli_cmd_end(&c, CLI_OK);
    repl r;
    memset(&r, 0, sizeof r);
    r.limit = 1000;
    r.src = "<stdin>";
    r.fmt = c.fmt;
    r.interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (dt_cancel_new(&r.cancel) != DT_OK) return cli_fail("repl", DT_NOMEM, "out of memory");
    char probe[4096];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/data.mdb", dir);
    r.created = stat(probe, &st) != 0;
    if (repl_open(&r, dir) != DT_OK) {
        dt_cancel_free(r.cancel);
        return r.code;
    }
    if (r.interactive) {
        interactive_loop(&r);
        r.code = CLI_OK; /* errors were shown; the session ended normally */
    } else {
        script_loop(&r);
    }
    code = r.code;
    if (dt_conn_close(r.conn) != DT_OK && code == CLI_OK) code = CLI_STORAGE;
    dt_cancel_free(r.cancel);
    dt_value_free(&r.inputs);
    words_free(&r);
    free(r.dir);
    return code;
}
