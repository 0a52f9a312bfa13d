/*
 * cmd_query.c -- the query commands of the `datolite` tool (bindings
 * layer): query, explain, pull.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* {====== Shared ====== */

/* Ctrl-C during a query triggers this token, and the query stops with
 * DT_INTERRUPT (dt_cancel_trigger is one atomic store). */
static dt_cancel *sigint_cancel;

static void on_sigint(int sig) {
    (void)sig;
    if (sigint_cancel) dt_cancel_trigger(sigint_cancel);
}

/* Routes SIGINT to `c` (NULL restores the default action). */
static void sigint_to(dt_cancel *c) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sigint_cancel = c;
    sa.sa_handler = c ? on_sigint : SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
}

/* The text of a QUERY or PATTERN argument: the word itself, or stdin for
 * "-" (read into `in`). */
static int text_arg(const char *cmd, const char *word, cli_input *in, const char **text,
                    size_t *len) {
    if (strcmp(word, "-") != 0) {
        *text = word;
        *len = strlen(word);
        return CLI_OK;
    }
    int code = cli_input_read(cmd, "-", 1, in);
    if (code != CLI_OK) return code;
    *text = in->data;
    *len = in->len;
    return CLI_OK;
}

/* 1 when the symbol names a source ($, $name). */
static int is_source(const dt_value *v) { return v->type == DT_SYMBOL && v->u.s.ptr[0] == '$'; }

/*
 * The :in entries of a query, as a copy in *in (a vector; nil when the
 * query has no :in).  Returns 0, or -1 when the text does not read as a
 * query form (the engine then reports the problem with its position).
 */
static int query_in(const char *text, size_t len, dt_value *in) {
    dt_value q = DT_VALUE_NIL;
    dt_value_nil(in);
    if (dt_edn_read(text, len, &q) != DT_OK) return -1;
    int rc = 0;
    if (q.type == DT_MAP) {
        for (size_t i = 0; i + 1 < q.u.seq.n; i += 2) {
            const dt_value *k = &q.u.seq.items[i], *v = &q.u.seq.items[i + 1];
            if (k->type == DT_KEYWORD && !strcmp(k->u.s.ptr, "in")) {
                if (v->type == DT_VECTOR || v->type == DT_LIST)
                    rc = dt_value_copy(v, in) == DT_OK ? 0 : -1;
                else
                    rc = -1;
            }
        }
    } else if (q.type == DT_VECTOR || q.type == DT_LIST) {
        size_t start = 0, end = 0;
        for (size_t i = 0; i < q.u.seq.n; i++) {
            const dt_value *v = &q.u.seq.items[i];
            if (v->type != DT_KEYWORD) continue;
            if (start) {
                end = i;
                break;
            }
            if (!strcmp(v->u.s.ptr, "in")) start = end = i + 1;
        }
        if (start) {
            if (end == start) end = q.u.seq.n;
            if (dt_value_seq(DT_VECTOR, end - start, in) != DT_OK) {
                rc = -1;
            } else {
                for (size_t i = start; i < end && rc == 0; i++)
                    if (dt_value_copy(&q.u.seq.items[i], &in->u.seq.items[i - start]) != DT_OK)
                        rc = -1;
            }
        }
    } else {
        rc = -1;
    }
    dt_value_free(&q);
    if (rc != 0) dt_value_free(in);
    return rc;
}

/*
 * The positional inputs of a query from the INPUT words: each is EDN
 * text, and "$" stands for the database.  When no word is "$" and there
 * are exactly as many words as non-source :in entries, the database fills
 * every source ($, $name) and the words the rest, in order; so
 * `:in $ ?name` takes just the name.  A query without :in takes the
 * database alone.  *in_out is calloc'd.  Returns CLI_OK or an exit code
 * after printing the problem.
 */
static int build_inputs(const char *cmd, const char *text, size_t len, char **words, int nwords,
                        dt_db *db, dt_input **in_out, size_t *n_out) {
    dt_value in = DT_VALUE_NIL;
    int known = query_in(text, len, &in) == 0;
    size_t nin = in.type == DT_NIL ? 1 : in.u.seq.n; /* no :in: [$] */
    size_t nsrc = 0, nw = (size_t)nwords;
    int dollar = 0;
    for (size_t i = 0; i < nin && in.type != DT_NIL; i++) nsrc += is_source(&in.u.seq.items[i]);
    if (in.type == DT_NIL) nsrc = 1;
    for (int i = 0; i < nwords; i++) dollar |= !strcmp(words[i], "$");
    int fill = known && !dollar && nw + nsrc == nin && nsrc > 0;
    size_t n = fill ? nin : nw;
    dt_input *v = calloc(n + 1, sizeof *v);
    if (!v) {
        dt_value_free(&in);
        return cli_fail(cmd, DT_NOMEM, "out of memory");
    }
    if (fill) {
        size_t w = 0;
        for (size_t i = 0; i < nin; i++) {
            if (in.type == DT_NIL || is_source(&in.u.seq.items[i])) {
                v[i].db = db;
            } else {
                v[i].edn = words[w];
                v[i].edn_len = strlen(words[w]);
                w++;
            }
        }
    } else {
        if (known && nw != nin) {
            char *s = NULL;
            if (in.type != DT_NIL) dt_edn_write(&in, DT_EDN_COMPACT, &s, NULL);
            cli_fail(cmd, DT_INVALID,
                     "the query takes %zu input%s (:in %s), got %zu INPUT argument%s "
                     "('$' is the database%s)",
                     nin, nin == 1 ? "" : "s", s ? s : "$ by default", nw, nw == 1 ? "" : "s",
                     nsrc ? ", which fills every source when left out" : "");
            dt_free(s);
            dt_value_free(&in);
            free(v);
            return CLI_INPUT;
        }
        for (size_t i = 0; i < nw; i++) {
            if (!strcmp(words[i], "$")) {
                v[i].db = db;
            } else {
                v[i].edn = words[i];
                v[i].edn_len = strlen(words[i]);
            }
        }
    }
    dt_value_free(&in);
    *in_out = v;
    *n_out = n;
    return CLI_OK;
}

/* The exit code and message of a failed query, naming the limit hit. */
static int query_fail(const char *cmd, int rc, uint64_t timeout_ms) {
    const char *m = dt_errmsg(NULL);
    if (rc == DT_TIMEOUT)
        return cli_fail(cmd, rc, "%s (--timeout %llu ms)", *m ? m : "deadline passed",
                        (unsigned long long)timeout_ms);
    if (rc == DT_INTERRUPT) return cli_fail(cmd, rc, "%s", *m ? m : "interrupted");
    return cli_fail(cmd, rc, "%s", *m ? m : dt_errstr(rc));
}

static int by_value(const void *a, const void *b) { return dt_value_compare(a, b); }

/*
 * A relation or collection as the value dt_result_value makes of it, its
 * rows in value order: the library lists a set's rows and a collection's
 * items so.  A relation whose rows repeat (:with) is a vector the library
 * leaves in evaluation order; its rows are sorted here, so every relation
 * prints in value order, one row per line.
 */
static int result_rows(const char *cmd, const dt_result *r, dt_value *v) {
    int rc = dt_result_value(r, v);
    if (rc != DT_OK) return cli_fail(cmd, rc, "result: %s", dt_errmsg(NULL));
    if (dt_result_kind(r) == DT_FIND_REL && v->type == DT_VECTOR && v->u.seq.n > 1)
        qsort(v->u.seq.items, v->u.seq.n, sizeof *v->u.seq.items, by_value);
    return CLI_OK;
}

/* A result as a grid (table and CSV output): the rows of its value. */
typedef struct grid_rows {
    const dt_value *rows; /* a relation's rows (vectors, or maps under :keys) or a collection */
    int coll;
} grid_rows;

static const dt_value *result_cell(void *ud, size_t row, size_t col) {
    const grid_rows *g = ud;
    const dt_value *r = &g->rows->u.seq.items[row];
    if (g->coll) return r;
    /* a map row holds key, value pairs in column order */
    return r->type == DT_MAP ? &r->u.seq.items[2 * col + 1] : &r->u.seq.items[col];
}

/* A relation or collection as a table or CSV: the :find elements as the
 * header (:keys names when given), the rows of v (result_rows) in order. */
static int print_grid(const char *cmd, int fmt, const dt_result *r, const dt_value *v,
                      const char *text, size_t len) {
    size_t w = dt_result_width(r), n = v->u.seq.n;
    /* column names: :keys/:strs/:syms, else the :find elements as written */
    dt_value q = DT_VALUE_NIL;
    const char **head = calloc(w ? w : 1, sizeof *head);
    char **owned = calloc(w ? w : 1, sizeof *owned);
    if (!head || !owned) {
        free(head);
        free(owned);
        return cli_fail(cmd, DT_NOMEM, "out of memory");
    }
    const dt_value *find = NULL;
    size_t nfind = 0;
    if (dt_edn_read(text, len, &q) == DT_OK) {
        if (q.type == DT_VECTOR) {
            size_t i = 0;
            while (i < q.u.seq.n && !(q.u.seq.items[i].type == DT_KEYWORD &&
                                      !strcmp(q.u.seq.items[i].u.s.ptr, "find")))
                i++;
            find = i < q.u.seq.n ? &q.u.seq.items[i + 1] : NULL;
            while (find && i + 1 + nfind < q.u.seq.n &&
                   q.u.seq.items[i + 1 + nfind].type != DT_KEYWORD)
                nfind++;
        } else if (q.type == DT_MAP) {
            for (size_t i = 0; i + 1 < q.u.seq.n; i += 2)
                if (q.u.seq.items[i].type == DT_KEYWORD &&
                    !strcmp(q.u.seq.items[i].u.s.ptr, "find") &&
                    q.u.seq.items[i + 1].type == DT_VECTOR) {
                    find = q.u.seq.items[i + 1].u.seq.items;
                    nfind = q.u.seq.items[i + 1].u.seq.n;
                }
        }
    }
    /* [?x ...] and [?a ?b] are one element that stands for the columns */
    if (nfind == 1 && find && find[0].type == DT_VECTOR) {
        nfind = find[0].u.seq.n;
        find = find[0].u.seq.items;
        if (nfind == 2 && find[1].type == DT_SYMBOL && !strcmp(find[1].u.s.ptr, "...")) nfind = 1;
    }
    for (size_t c = 0; c < w; c++) {
        const char *k = dt_result_key(r, c);
        if (k) {
            head[c] = k;
        } else if (find && c < nfind) {
            char *t = NULL;
            size_t tl = 0;
            if (dt_edn_write(&find[c], DT_EDN_COMPACT, &t, &tl) == DT_OK) {
                owned[c] = strdup(t);
                dt_free(t);
            }
            head[c] = owned[c] ? owned[c] : "?";
        } else {
            head[c] = "?";
        }
    }
    grid_rows gr = {v, dt_result_kind(r) == DT_FIND_COLL};
    cli_grid g = {head, w, n, result_cell, &gr, 0, 0};
    int rc = cli_grid_print(stdout, fmt, &g, (size_t)-1);
    for (size_t c = 0; c < w; c++) free(owned[c]);
    free(owned);
    free(head);
    dt_value_free(&q);
    return rc == DT_OK ? CLI_OK : cli_fail(cmd, rc, "cannot print the result: %s", dt_errmsg(NULL));
}

static int print_result(const char *cmd, int fmt, const dt_result *r, const char *text,
                        size_t len) {
    dt_find_kind kind = dt_result_kind(r);
    int rows = kind == DT_FIND_REL || kind == DT_FIND_COLL;
    dt_value v = DT_VALUE_NIL;
    int rc, code = rows ? result_rows(cmd, r, &v) : CLI_OK;
    if (code != CLI_OK) return code;
    if (!rows && (rc = dt_result_value(r, &v)) != DT_OK)
        return cli_fail(cmd, rc, "result: %s", dt_errmsg(NULL));
    if ((fmt == CLI_FMT_TABLE || fmt == CLI_FMT_CSV) && rows) {
        code = print_grid(cmd, fmt, r, &v, text, len);
    } else if (fmt == CLI_FMT_JSON || fmt == CLI_FMT_TABLE || fmt == CLI_FMT_CSV) {
        if ((rc = cli_value_print(stdout, fmt, &v)) != DT_OK)
            code = cli_fail(cmd, rc, "cannot print the result: %s", dt_errmsg(NULL));
    } else if ((v.type == DT_SET || v.type == DT_VECTOR) && kind != DT_FIND_TUPLE) {
        /* a row (or item) a line; a scalar that is a collection too, its
         * items (in no order the library promises) sorted */
        if (!rows && v.u.seq.n > 1)
            qsort(v.u.seq.items, v.u.seq.n, sizeof *v.u.seq.items, by_value);
        fputs(v.type == DT_SET ? "#{" : "[", stdout);
        const char *sep = v.type == DT_SET ? "\n  " : "\n ";
        for (size_t i = 0; i < v.u.seq.n && code == CLI_OK; i++) {
            if (i) fputs(sep, stdout);
            if ((rc = cli_print_value(stdout, &v.u.seq.items[i])) != DT_OK)
                code = cli_fail(cmd, rc, "cannot print the result: %s", dt_errmsg(NULL));
        }
        fputs(v.type == DT_SET ? "}\n" : "]\n", stdout);
    } else {
        if ((rc = cli_print_value(stdout, &v)) != DT_OK)
            code = cli_fail(cmd, rc, "cannot print the result: %s", dt_errmsg(NULL));
        fputc('\n', stdout);
    }
    dt_value_free(&v);
    return code;
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* }====== */

/* {====== query ====== */

static const char query_usage[] =
    "usage: datolite query [--format edn|json|table|csv] [--timeout MS] [--max-rows N] [--repeat "
    "N]\n"
    "                      [--plan auto|naive] [--as-of T] [--since T] [--history]\n"
    "                      DIR QUERY|- [INPUT...]\n";

static const char query_help[] =
    "\n"
    "Runs the Datalog query QUERY (EDN text, vector or map form; '-' reads it from\n"
    "stdin) on the database in DIR and prints the result as EDN:\n"
    "  datolite query db '[:find ?n ?a :where [?e :name ?n] [?e :age ?a]]'\n"
    "  #{[\"Ivan\" 25]\n"
    "    [\"Petr\" 37]}\n"
    "A relation prints as a set with one row per line, sorted; a collection\n"
    "([?x ...]) as a sorted vector; a scalar (?x .) or tuple ([?x ?y]) as it is\n"
    "(nil when nothing matched).\n"
    "\n"
    "INPUTs are EDN texts for the :in entries after the query, in order; '$'\n"
    "stands for the database.  Without any '$' the database fills every source\n"
    "($, $name) and the INPUTs the other entries, so for ':in $ ?name [?age ...]':\n"
    "  datolite query db \"$Q\" '\"Ivan\"' '[25 37]'\n"
    "Rules are an input too (:in $ %, then the rules vector).\n"
    "\n"
    "Options:\n"
    "  --format F        edn (default), json, table or csv (docs/cli.md, \"Output\n"
    "                    formats\"): a table or CSV has one column per :find element\n"
    "  --timeout MS      stop the query after MS milliseconds (exit 5)\n"
    "  --max-rows N      fail (exit 2) when an intermediate result exceeds N rows\n"
    "  --repeat N        run the query N times on one snapshot, print the result\n"
    "                    once and one line on stderr: min <ms> ms, median <ms> ms\n"
    "  --plan P          auto (the planner, default) or naive (the reference\n"
    "                    evaluator: clauses in written order, nested loops)\n" CLI_TIME_HELP
    "The time options apply to the database of every source the command fills.\n"
    "Ctrl-C stops a running query (exit 5).\n"
    "\n" CLI_EXIT_HELP;

int cmd_query(int argc, char **argv) {
    cli_cmd c = CLI_CMD("query", query_usage, query_help,
                        CLI_TAKES_FORMAT | CLI_TAKES_TIMEOUT | CLI_TAKES_TIME | CLI_TAKES_HISTORY,
                        CLI_GRID_FORMATS);
    const char *cmd = c.name;
    const char *repeat_s = NULL, *rows_s = NULL, *plan_s = NULL;
    cli_opt opts[] = {{"repeat", 1, &repeat_s, NULL},
                      {"max-rows", 1, &rows_s, NULL},
                      {"plan", 1, &plan_s, NULL},
                      {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    dt_query_options qo;
    memset(&qo, 0, sizeof qo);
    qo.version = DT_QUERY_OPTIONS_VERSION;
    qo.timeout_ms = c.timeout_ms;
    uint64_t repeat = 1;
    if (repeat_s && (cli_parse_count(repeat_s, &repeat) != 0 || repeat == 0 || repeat > 1000000))
        return cli_cmd_end(&c, cli_usage_error(cmd, query_usage,
                                               "--repeat needs a count from 1 to 1000000, got '%s'",
                                               repeat_s));
    if (rows_s && (cli_parse_count(rows_s, &qo.max_rows) != 0 || qo.max_rows == 0))
        return cli_cmd_end(&c,
                           cli_usage_error(cmd, query_usage,
                                           "--max-rows needs a positive count, got '%s'", rows_s));
    if (plan_s && strcmp(plan_s, "auto") != 0 && strcmp(plan_s, "naive") != 0)
        return cli_cmd_end(&c, cli_usage_error(cmd, query_usage,
                                               "--plan must be auto or naive, got '%s'", plan_s));
    qo.plan = plan_s && !strcmp(plan_s, "naive") ? DT_PLAN_NAIVE : DT_PLAN_AUTO;
    if ((code = cli_cmd_args(&c, -1, "DIR", "QUERY", NULL)) != CLI_OK) return cli_cmd_end(&c, code);
    cli_input qin = {0};
    const char *text = NULL;
    size_t len = 0;
    if ((code = text_arg(cmd, c.pos[1], &qin, &text, &len)) != CLI_OK) return cli_cmd_end(&c, code);
    dt_query *q = NULL;
    int rc = dt_query_prepare(text, len, &q);
    if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s%s", qin.data ? "<stdin>: " : "", dt_errmsg(NULL));
        cli_input_free(&qin);
        return cli_cmd_end(&c, code);
    }
    dt_input *in = NULL;
    size_t nin = 0;
    dt_cancel *cancel = NULL;
    double *ms = NULL;
    if ((code = cli_cmd_open(&c, c.pos[0], CLI_OPEN_SNAPSHOT)) != CLI_OK) goto done;
    if ((code = build_inputs(cmd, text, len, c.pos + 2, c.npos - 2, c.db, &in, &nin)) != CLI_OK)
        goto done;
    if ((rc = dt_cancel_new(&cancel)) != DT_OK || !(ms = calloc(repeat, sizeof *ms))) {
        code = cli_fail(cmd, DT_NOMEM, "out of memory");
        goto done;
    }
    qo.cancel = cancel;
    sigint_to(cancel);
    dt_result *res = NULL;
    for (uint64_t i = 0; i < repeat; i++) {
        dt_result_free(res);
        res = NULL;
        double t0 = cli_now();
        rc = dt_query_run(q, in, nin, &qo, &res);
        ms[i] = (cli_now() - t0) * 1000.0;
        if (rc != DT_OK) break;
    }
    sigint_to(NULL);
    if (rc != DT_OK) {
        code = query_fail(cmd, rc, qo.timeout_ms);
    } else {
        code = print_result(cmd, c.fmt, res, text, len);
        if (repeat_s) {
            qsort(ms, repeat, sizeof *ms, by_double);
            double median = repeat % 2 ? ms[repeat / 2] : (ms[repeat / 2 - 1] + ms[repeat / 2]) / 2;
            fprintf(stderr, "min %.3f ms, median %.3f ms\n", ms[0], median);
        }
    }
    dt_result_free(res);
done:
    free(ms);
    dt_cancel_free(cancel);
    free(in);
    code = cli_cmd_end(&c, code);
    dt_query_free(q);
    cli_input_free(&qin);
    return code;
}

/* }====== */

/* {====== explain ====== */

static const char explain_usage[] =
    "usage: datolite explain [--timeout MS] [--as-of T] [--since T] [--history]\n"
    "                        DIR QUERY|- [INPUT...]\n";

static const char explain_help[] =
    "\n"
    "Runs QUERY like 'datolite query' (same QUERY and INPUT arguments) and prints\n"
    "the plan the planner chose instead of the result, as EDN: the steps in\n"
    "execution order with the index each one reads, the variables bound before\n"
    "it, and the estimated and actual numbers of rows.  A step whose actual rows\n"
    "are far from its estimate shows where the planner misjudged the data.\n"
    "\n"
    "Options:\n"
    "  --timeout MS      stop the query after MS milliseconds (exit 5)\n" CLI_TIME_HELP
    "\n" CLI_EXIT_HELP;

int cmd_explain(int argc, char **argv) {
    cli_cmd c = CLI_CMD("explain", explain_usage, explain_help,
                        CLI_TAKES_TIMEOUT | CLI_TAKES_TIME | CLI_TAKES_HISTORY, NULL);
    const char *cmd = c.name;
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, -1, "DIR", "QUERY", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    dt_query_options qo;
    memset(&qo, 0, sizeof qo);
    qo.version = DT_QUERY_OPTIONS_VERSION;
    qo.timeout_ms = c.timeout_ms;
    cli_input qin = {0};
    const char *text = NULL;
    size_t len = 0;
    if ((code = text_arg(cmd, c.pos[1], &qin, &text, &len)) != CLI_OK) return cli_cmd_end(&c, code);
    dt_input *in = NULL;
    size_t nin = 0;
    dt_cancel *cancel = NULL;
    if ((code = cli_cmd_open(&c, c.pos[0], CLI_OPEN_SNAPSHOT)) != CLI_OK) goto done;
    if ((code = build_inputs(cmd, text, len, c.pos + 2, c.npos - 2, c.db, &in, &nin)) != CLI_OK)
        goto done;
    if (dt_cancel_new(&cancel) != DT_OK) {
        code = cli_fail(cmd, DT_NOMEM, "out of memory");
        goto done;
    }
    qo.cancel = cancel;
    sigint_to(cancel);
    char *plan = NULL;
    size_t plan_len = 0;
    int rc = dt_explain(text, len, in, nin, &qo, &plan, &plan_len);
    sigint_to(NULL);
    if (rc != DT_OK) {
        code = query_fail(cmd, rc, qo.timeout_ms);
    } else {
        /* pretty-printed when it reads back, else as it came */
        dt_value v = DT_VALUE_NIL;
        char *pretty = NULL;
        if (dt_edn_read(plan, plan_len, &v) == DT_OK &&
            dt_edn_write(&v, DT_EDN_PRETTY, &pretty, NULL) == DT_OK)
            printf("%s\n", pretty);
        else
            printf("%.*s\n", (int)plan_len, plan);
        dt_free(pretty);
        dt_value_free(&v);
    }
    dt_free(plan);
done:
    dt_cancel_free(cancel);
    free(in);
    code = cli_cmd_end(&c, code);
    cli_input_free(&qin);
    return code;
}

/* }====== */

/* {====== pull ====== */

static const char pull_usage[] =
    "usage: datolite pull [--format edn|json|table|csv] [--as-of T] [--since T]\n"
    "                     DIR PATTERN|- EID\n";

static const char pull_help[] =
    "\n"
    "Pulls the entity EID from the database in DIR with the pull pattern PATTERN\n"
    "(an EDN vector; '-' reads it from stdin) and prints the map on one line:\n"
    "  datolite pull db '[:name {:friend [:name]}]' 1\n"
    "  {:name \"Ivan\", :friend {:name \"Petr\"}}\n"
    "EID is EDN: an entity id, an ident keyword or a lookup ref such as\n"
    "'[:email \"ivan@example.com\"]'.  An entity without any of the pattern's\n"
    "attributes prints nil; a lookup ref that matches nothing exits with 2.\n"
    "Patterns: attributes, '*', {:ref [...]} for nested maps, :_attr for reverse\n"
    "references, :db/id, (:attr :as x :limit n :default v), recursion with ...\n"
    "or a depth (docs/query.md).\n"
    "  --format F    edn (default), json, or table/csv: one attribute | value row\n"
    "                per attribute\n"
    "  --as-of T     pull from the database as of transaction T (an id, a number,\n"
    "                or an instant: 2026-01-01T00:00:00Z or #inst \"...\")\n"
    "  --since T     pull only datoms asserted after transaction T\n"
    "\n" CLI_EXIT_HELP;

int cmd_pull(int argc, char **argv) {
    cli_cmd c =
        CLI_CMD("pull", pull_usage, pull_help, CLI_TAKES_FORMAT | CLI_TAKES_TIME, CLI_GRID_FORMATS);
    const char *cmd = c.name;
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, 3, "DIR", "PATTERN", "EID", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    dt_value eid = DT_VALUE_NIL, res = DT_VALUE_NIL;
    if ((code = cli_edn_arg(cmd, "EID", c.pos[2], &eid)) != CLI_OK) return cli_cmd_end(&c, code);
    cli_input pin = {0};
    const char *text = NULL;
    size_t len = 0;
    if ((code = text_arg(cmd, c.pos[1], &pin, &text, &len)) != CLI_OK) goto done;
    if ((code = cli_cmd_open(&c, c.pos[0], CLI_OPEN_SNAPSHOT)) != CLI_OK) goto done;
    int rc = dt_pull(c.db, text, len, &eid, &res);
    if (rc != DT_OK) {
        const char *m = dt_errmsg(c.db);
        code = cli_fail(cmd, rc, "%s%s", pin.data ? "<stdin>: " : "", *m ? m : dt_errmsg(NULL));
    } else if (c.fmt != CLI_FMT_EDN) {
        rc = res.type == DT_MAP ? cli_map_print(stdout, c.fmt, &res)
                                : cli_value_print(stdout, c.fmt, &res);
        if (rc != DT_OK) code = cli_fail(cmd, rc, "cannot print the result: %s", dt_errmsg(NULL));
    } else {
        if ((rc = cli_print_value(stdout, &res)) != DT_OK)
            code = cli_fail(cmd, rc, "cannot print the result: %s", dt_errmsg(NULL));
        fputc('\n', stdout);
    }
done:
    dt_value_free(&res);
    dt_value_free(&eid);
    code = cli_cmd_end(&c, code);
    cli_input_free(&pin);
    return code;
}

/* }====== */
