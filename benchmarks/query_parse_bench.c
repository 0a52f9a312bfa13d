/*
 * query_parse_bench.c -- the cost of parsing and checking a query
 * (query/parse.h), against reading the same text as plain EDN in the same
 * run (the floor: the parser reads the EDN, then builds and checks the
 * tree).
 *
 * Queries: the people20k workload of bench/README.md (q4, qpred2, the
 * recursive rules query with its rules) and the eight mini-JOB queries of
 * bench/movies/queries.edn, read from $DT_SHARED_DIR (default: ../shared
 * beside the checkout).
 *
 *  parse     dq_parse_text of the query (and its rules), then dq_query_free
 *  edn-read  dt_edn_read of the query (and of the rules), then dt_value_free
 * Each run times K iterations (argv[1], default 20000) after a warm-up of
 * K/10; the figure is the median over R runs (argv[2], default 5) in
 * microseconds per query, with min and max in the JSON.
 *
 * usage: query_parse_bench [K [R]]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <stdlib.h>
#include <string.h>

#include "datolite.h"
#include "parse.h"

typedef struct bq {
    char id[16];
    char *query, *rules;
} bq;

static char *slurp(const char *rel) {
    const char *base = getenv("DT_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", base && *base ? base : DT_BENCH_SHARED_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s (set DT_SHARED_DIR)\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n) exit(2);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Times `iters` runs of one side; returns microseconds per query. */
static double run(const bq *q, int parse, long iters) {
    double t0 = bench_now();
    for (long i = 0; i < iters; i++) {
        if (parse) {
            dq_query *p = NULL;
            if (dq_parse_text(q->query, q->rules, &p, NULL) != DT_OK) {
                fprintf(stderr, "%s: %s\n", q->id, dt_errmsg(NULL));
                exit(1);
            }
            dq_query_free(p);
        } else {
            dt_value v, r;
            if (dt_edn_read(q->query, strlen(q->query), &v) != DT_OK) exit(1);
            dt_value_free(&v);
            if (q->rules) {
                if (dt_edn_read(q->rules, strlen(q->rules), &r) != DT_OK) exit(1);
                dt_value_free(&r);
            }
        }
    }
    return (bench_now() - t0) * 1e6 / (double)iters;
}

static const char *map_str(const dt_value *m, const char *kw) {
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2)
        if (m->u.seq.items[i].type == DT_KEYWORD && !strcmp(m->u.seq.items[i].u.s.ptr, kw))
            return m->u.seq.items[i + 1].u.s.ptr;
    return NULL;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 20000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (iters < 1 || runs < 1) return 2;
    static const char rules[] = "[[(follows ?x ?y) [?x :follows ?y]]"
                                " [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]";
    bq qs[16] = {
        {"q4",
         strdup("[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] "
                "[?e :age ?a] [?e :sex :male]]"),
         NULL},
        {"qpred2", strdup("[:find ?e ?s :in $ ?min_s :where [?e :salary ?s] [(> ?s ?min_s)]]"),
         NULL},
        {"rules", strdup("[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]"), strdup(rules)},
    };
    size_t n = 3;
    char *text = slurp("bench/movies/queries.edn");
    dt_value mv;
    if (dt_edn_read(text, strlen(text), &mv) != DT_OK) return 1;
    for (size_t i = 0; i < mv.u.seq.n && n < 16; i++, n++) {
        snprintf(qs[n].id, sizeof qs[n].id, "movies-%s", map_str(&mv.u.seq.items[i], "id"));
        qs[n].query = strdup(map_str(&mv.u.seq.items[i], "query"));
        qs[n].rules = NULL;
    }
    dt_value_free(&mv);
    free(text);

    double med[16][2];
    for (size_t k = 0; k < n; k++) {
        for (int side = 0; side < 2; side++) {
            double t[64];
            int r = runs > 64 ? 64 : runs;
            run(&qs[k], side == 0, iters / 10 + 1);
            for (int i = 0; i < r; i++) t[i] = run(&qs[k], side == 0, iters);
            qsort(t, (size_t)r, sizeof *t, bench_cmp_double);
            med[k][side] = t[r / 2];
            printf("{\"bench\":\"query_parse\",\"query\":\"%s\",\"impl\":\"%s\",\"us\":%.3f,"
                   "\"min\":%.3f,\"max\":%.3f,\"bytes\":%zu}\n",
                   qs[k].id, side == 0 ? "parse" : "edn-read", t[r / 2], t[0], t[r - 1],
                   strlen(qs[k].query) + (qs[k].rules ? strlen(qs[k].rules) : 0));
        }
    }
    printf("\n%-14s %8s %10s %10s %8s\n", "query", "bytes", "parse us", "edn us", "ratio");
    for (size_t k = 0; k < n; k++) {
        printf("%-14s %8zu %10.2f %10.2f %8.2f\n", qs[k].id,
               strlen(qs[k].query) + (qs[k].rules ? strlen(qs[k].rules) : 0), med[k][0], med[k][1],
               med[k][0] / med[k][1]);
        free(qs[k].query);
        free(qs[k].rules);
    }
    return 0;
}
