/*
 * plan_probe.c -- a probe of the planned evaluator (query/plan.c): loads
 * a database (optional), runs one query through dq_eval (and, with
 * --naive, through the reference evaluator when it is linked), and
 * prints the row count, the best and median time and the plan.
 *
 * usage: plan_probe DIR [--load SCHEMA DATA] QUERY [--rules RULES]
 *                   [--in EDN]... [--repeat N] [--explain]
 * Inputs bind the query's :in entries after $ in order (scalars, tuples,
 * collections and relations of plain variables).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "edn.h"
#include "datolite.h"
#include "exec.h"
#include "parse.h"

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    if (fread(b, 1, (size_t)len, f) != (size_t)len) exit(2);
    b[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* CPU time of the process: steadier than wall time on a loaded machine. */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(getenv("PLAN_PROBE_WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Fills t with the rows binding b gives value v (plain variables only). */
static void bind_rows(const dq_binding *b, const dt_value *v, dq_table *t) {
    dq_var cols[32];
    size_t n = 0;
    const dq_binding *row = b;
    if (b->kind == DQ_BIND_COLL || b->kind == DQ_BIND_REL)
        row = b->kind == DQ_BIND_COLL ? &b->items[0] : NULL;
    if (b->kind == DQ_BIND_VAR) cols[n++] = b->var;
    if (b->kind == DQ_BIND_TUPLE || b->kind == DQ_BIND_REL)
        for (size_t i = 0; i < b->n; i++) cols[n++] = b->items[i].var;
    if (b->kind == DQ_BIND_COLL) cols[n++] = b->items[0].var;
    (void)row;
    dq_table_init(t, cols, n);
    if (b->kind == DQ_BIND_VAR) {
        dq_table_add_row(t, v);
    } else if (b->kind == DQ_BIND_TUPLE) {
        dq_table_add_row(t, v->u.seq.items);
    } else if (b->kind == DQ_BIND_COLL) {
        for (size_t i = 0; i < v->u.seq.n; i++) dq_table_add_row(t, &v->u.seq.items[i]);
    } else if (b->kind == DQ_BIND_REL) {
        for (size_t i = 0; i < v->u.seq.n; i++) dq_table_add_row(t, v->u.seq.items[i].u.seq.items);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr,
                "usage: plan_probe DIR [--load SCHEMA DATA] QUERY [--rules R] [--in EDN]... "
                "[--repeat N] [--explain] [--naive]\n");
        return 2;
    }
    const char *dir = argv[1];
    const char *query = NULL, *rules = NULL, *schema = NULL, *data = NULL;
    const char *ins[16];
    size_t nins = 0;
    int repeat = 5, explain = 0, naive = 0, print = 0, api = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--load") && i + 2 < argc) {
            schema = argv[++i];
            data = argv[++i];
        } else if (!strcmp(argv[i], "--rules") && i + 1 < argc) {
            rules = argv[++i];
        } else if (!strcmp(argv[i], "--in") && i + 1 < argc && nins < 16) {
            ins[nins++] = argv[++i];
        } else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--explain")) {
            explain = 1;
        } else if (!strcmp(argv[i], "--api")) {
            api = 1;
        } else if (!strcmp(argv[i], "--print")) {
            print = 1;
        } else if (!strcmp(argv[i], "--naive")) {
            naive = 1;
        } else {
            query = argv[i];
        }
    }
    dt_conn *conn;
    char *schema_text = NULL;
    size_t n;
    if (schema) schema_text = slurp(schema, &n);
    if (dt_conn_open(dir, schema_text, NULL, &conn) != DT_OK) {
        fprintf(stderr, "open: %s\n", dt_errmsg(NULL));
        return 1;
    }
    if (data) {
        char *d = slurp(data, &n);
        double t0 = now_ms();
        if (dt_transact_text(conn, d, n, NULL) != DT_OK) {
            fprintf(stderr, "load: %s\n", dt_errmsg(conn));
            return 1;
        }
        fprintf(stderr, "loaded in %.0f ms\n", now_ms() - t0);
        free(d);
    }
    if (!query) return 0;
    dq_query *q;
    dq_errpos pos;
    if (dq_parse_text(query, rules, &q, &pos) != DT_OK) {
        fprintf(stderr, "parse: %s\n", dt_errmsg(NULL));
        return 1;
    }
    dt_db *db;
    if (dt_conn_db(conn, &db) != DT_OK) return 1;
    dt_db *srcs[8] = {db, db, db, db, db, db, db, db};
    dq_table in[16];
    memset(in, 0, sizeof in);
    dt_value vals[16];
    size_t k = 0;
    for (size_t i = 0; i < q->nin && i < 16; i++) {
        if (q->in[i].kind != DQ_IN_BINDING) continue;
        if (k >= nins) {
            fprintf(stderr, "missing input %zu\n", i);
            return 1;
        }
        if (dt_edn_read(ins[k], strlen(ins[k]), &vals[k]) != DT_OK) {
            fprintf(stderr, "input: %s\n", dt_errmsg(NULL));
            return 1;
        }
        bind_rows(&q->in[i].bind, &vals[k], &in[i]);
        k++;
    }
    double *times = calloc((size_t)repeat + 1, sizeof *times);
    size_t rows = 0;
    if (api) {
        /* the public API: a prepared query run on the snapshot, result
         * stage included */
        dt_query *pq;
        if (dt_query_prepare(query, strlen(query), &pq) != DT_OK) {
            fprintf(stderr, "prepare: %s\n", dt_errmsg(NULL));
            return 1;
        }
        dt_input ain[8];
        memset(ain, 0, sizeof ain);
        size_t an = 0, ki = 0;
        if (!q->in_written) ain[an++].db = db;
        for (size_t i = 0; q->in_written && i < q->nin && an < 8; i++) {
            if (q->in[i].kind == DQ_IN_SRC) {
                ain[an++].db = db;
            } else if (q->in[i].kind == DQ_IN_RULES) {
                ain[an].edn = rules;
                ain[an++].edn_len = strlen(rules);
            } else {
                ain[an].edn = ins[ki];
                ain[an++].edn_len = strlen(ins[ki++]);
            }
        }
        dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 0, 0, naive ? DT_PLAN_NAIVE : DT_PLAN_AUTO,
                              NULL};
        for (int r = 0; r <= repeat; r++) {
            dt_result *res;
            double t0 = now_ms();
            if (dt_query_run(pq, ain, an, &o, &res) != DT_OK) {
                fprintf(stderr, "run: %s\n", dt_errmsg(NULL));
                return 1;
            }
            rows = dt_result_count(res);
            dt_result_free(res);
            if (r > 0) times[r - 1] = now_ms() - t0;
        }
        dt_query_free(pq);
        qsort(times, (size_t)repeat, sizeof *times, cmpd);
        printf("api rows %zu  min %.3f ms  median %.3f ms\n", rows, repeat ? times[0] : 0,
               repeat ? times[repeat / 2] : 0);
        return 0;
    }
    for (int r = 0; r <= repeat; r++) {
        dq_exec x;
        memset(&x, 0, sizeof x);
        x.q = q;
        x.srcs = srcs;
        x.in = in;
        dq_fnctx_new(&x.fn);
        dt_buf eb = DT_BUF_INIT;
        if (explain && r == repeat) x.explain = &eb;
        dq_table out;
        double t0 = now_ms();
#ifdef PLAN_PROBE_NAIVE
        int rc = naive ? dq_eval_naive(&x, &out) : dq_eval(&x, &out);
#else
        int rc = dq_eval(&x, &out);
        (void)naive;
#endif
        double t1 = now_ms();
        if (rc != DT_OK) {
            fprintf(stderr, "eval: %d %s\n", rc, dt_errmsg(NULL));
            return 1;
        }
        if (r > 0) times[r - 1] = t1 - t0;
        rows = out.nrows;
        if (print && r == repeat) {
            for (size_t i = 0; i < out.nrows; i++) {
                dt_value row = {DT_VECTOR, {0}};
                row.u.seq.items = out.cells + i * out.ncols;
                row.u.seq.n = out.ncols;
                dt_buf pb = DT_BUF_INIT;
                dl_edn_write_buf(&row, 0, &pb);
                printf("ROW %.*s\n", (int)pb.len, (const char *)pb.p);
                dt_buf_release(&pb);
            }
        }
        if (eb.len) printf("%.*s\n", (int)eb.len, (const char *)eb.p);
        dt_buf_release(&eb);
        dq_table_release(&out);
        dq_arena_release(&x.arena);
        dq_fnctx_free(x.fn);
    }
    qsort(times, (size_t)repeat, sizeof *times, cmpd);
    printf("rows %zu  min %.3f ms  median %.3f ms\n", rows, repeat ? times[0] : 0,
           repeat ? times[repeat / 2] : 0);
    dt_db_close(db);
    dq_query_free(q);
    dt_conn_close(conn);
    return 0;
}
