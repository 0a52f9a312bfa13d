/*
 * fn_bench.c -- the cost of one built-in call (query/fn.c: dq_call and
 * dq_agg_apply), against the hand-written C that computes the same answer
 * on the same values in the same run (the floor: what a call costs beyond
 * the work itself is dispatch, arity and type checks, and building the
 * result value).
 *
 *  (< ?a ?b)           longs           floor: a < b
 *  (= ?s "Ivan")       strings         floor: length + memcmp
 *  (+ ?a ?b)           longs           floor: overflow-checked add
 *  (str "age=" ?a)     -> string       floor: snprintf into a buffer
 *  (re-find "\d+" ?s)  cached regex    floor: pcre2 is the work; no floor
 *  (sum ?x)            10^6 longs      floor: the loop
 *  (median ?x)         10^6 longs      floor: qsort of the copies
 * Values are N = 4096 pseudo-random rows (fixed seed) cycled through.
 * Each figure is the median of R runs (argv[2], default 5) of K calls
 * (argv[1], default 2000000), in nanoseconds per call (per value for the
 * aggregates); CPU time of the thread, so other load counts less.
 *
 * usage: fn_bench [K [R]]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <stdlib.h>
#include <string.h>

#include "datolite.h"
#include "exec.h"

#define N 4096

static dt_value longs[N], strs[N], ivan;
static volatile int64_t sink;
static dq_fnctx *ctx;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One side of a case: ns per call over k calls. */
static double side(int which, int floor, long k) {
    dt_value args[2], out;
    char buf[64];
    double t0 = bench_cpu_now();
    for (long i = 0; i < k; i++) {
        const dt_value *a = &longs[i & (N - 1)], *b = &longs[(i * 7 + 3) & (N - 1)];
        const dt_value *s = &strs[i & (N - 1)];
        switch (which) {
        case 0:
            if (floor)
                sink += a->u.i < b->u.i;
            else {
                args[0] = *a, args[1] = *b;
                dq_call(ctx, DQ_FN_LT, args, 2, &out);
                sink += out.u.b;
            }
            break;
        case 1:
            if (floor)
                sink += s->u.s.len == ivan.u.s.len && !memcmp(s->u.s.ptr, ivan.u.s.ptr, s->u.s.len);
            else {
                args[0] = *s, args[1] = ivan;
                dq_call(ctx, DQ_FN_EQ, args, 2, &out);
                sink += out.u.b;
            }
            break;
        case 2:
            if (floor) {
                int64_t r;
                if (!__builtin_add_overflow(a->u.i, b->u.i, &r)) sink += r;
            } else {
                args[0] = *a, args[1] = *b;
                dq_call(ctx, DQ_FN_ADD, args, 2, &out);
                sink += out.u.i;
            }
            break;
        case 3:
            if (floor) {
                char *p = malloc(32);
                int n = snprintf(p, 32, "age=%lld", (long long)a->u.i);
                sink += n + p[4];
                free(p);
            } else {
                dt_value_text(DT_STRING, "age=", 4, &args[0]);
                args[1] = *a;
                dq_call(ctx, DQ_FN_STR, args, 2, &out);
                sink += (int64_t)out.u.s.len;
                dt_value_free(&out);
                dt_value_free(&args[0]);
            }
            break;
        default:
            dt_value_text(DT_STRING, "\\d+", 3, &args[0]);
            args[1] = *s;
            dq_call(ctx, DQ_FN_RE_FIND, args, 2, &out);
            sink += out.type;
            dt_value_free(&out);
            dt_value_free(&args[0]);
            break;
        }
        (void)buf;
    }
    return (bench_cpu_now() - t0) * 1e9 / (double)k;
}

/* Aggregates: ns per value over m values. */
static double agg_side(dq_agg_id agg, int floor, const dt_value *vals, size_t m) {
    double t0 = bench_cpu_now();
    if (floor) {
        int64_t *c = malloc(m * sizeof *c);
        for (size_t i = 0; i < m; i++) c[i] = vals[i].u.i;
        if (agg == DQ_AGG_SUM) {
            int64_t s = 0;
            for (size_t i = 0; i < m; i++)
                if (__builtin_add_overflow(s, c[i], &s)) break;
            sink += s;
        } else {
            qsort(c, m, sizeof *c, cmp_i64);
            sink += c[m / 2];
        }
        free(c);
    } else {
        dt_value out;
        dq_agg_apply(ctx, agg, NULL, 0, vals, m, &out);
        sink += out.u.i;
        dt_value_free(&out);
    }
    return (bench_cpu_now() - t0) * 1e9 / (double)m;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv) {
    long k = argc > 1 ? atol(argv[1]) : 2000000;
    int r = argc > 2 ? atoi(argv[2]) : 5;
    if (k < 1 || r < 1 || r > 99) return 2;
    uint64_t seed = 42;
    static const char *names[] = {"Ivan",  "Olga", "Petr",  "Anna",
                                  "Maria", "Oleg", "Fedor", "Dmitry"};
    for (int i = 0; i < N; i++) {
        dt_value_long((int64_t)(bench_rng(&seed) % 100000), &longs[i]);
        char t[32];
        int n = snprintf(t, sizeof t, "%s %llu", names[i % 8],
                         (unsigned long long)(bench_rng(&seed) % 1000));
        dt_value_text(DT_STRING, t, i % 3 ? (size_t)n : strlen(names[i % 8]), &strs[i]);
    }
    dt_value_text(DT_STRING, "Ivan", 4, &ivan);
    if (dq_fnctx_new(&ctx) != DT_OK) return 1;
    static const char *cases[] = {"(< ?a ?b)", "(= ?s \"Ivan\")", "(+ ?a ?b)", "(str \"age=\" ?a)",
                                  "(re-find \"\\d+\" ?s)"};
    printf("| call | dq_call ns | floor ns | ratio |\n|---|---|---|---|\n");
    for (int c = 0; c < 5; c++) {
        double a[99], b[99];
        side(c, 0, k / 10);
        side(c, 1, k / 10);
        for (int i = 0; i < r; i++) { /* interleaved */
            a[i] = side(c, 0, c >= 3 ? k / 10 : k);
            b[i] = c == 4 ? 0 : side(c, 1, c >= 3 ? k / 10 : k);
        }
        double ma = median(a, r), mb = median(b, r);
        if (c == 4)
            printf("| `%s` | %.1f | - | - |\n", cases[c], ma);
        else
            printf("| `%s` | %.1f | %.1f | %.1f |\n", cases[c], ma, mb, ma / mb);
    }
    size_t m = 1000000;
    dt_value *vals = malloc(m * sizeof *vals);
    for (size_t i = 0; i < m; i++) dt_value_long((int64_t)(bench_rng(&seed) % 1000000), &vals[i]);
    static const struct {
        dq_agg_id id;
        const char *name;
    } aggs[] = {{DQ_AGG_SUM, "(sum ?x), 10^6 longs"}, {DQ_AGG_MEDIAN, "(median ?x), 10^6 longs"}};
    for (int c = 0; c < 2; c++) {
        double a[99], b[99];
        for (int i = 0; i < r; i++) {
            a[i] = agg_side(aggs[c].id, 0, vals, m);
            b[i] = agg_side(aggs[c].id, 1, vals, m);
        }
        double ma = median(a, r), mb = median(b, r);
        printf("| `%s` (per value) | %.1f | %.1f | %.1f |\n", aggs[c].name, ma, mb, ma / mb);
    }
    free(vals);
    for (int i = 0; i < N; i++) dt_value_free(&strs[i]);
    dt_value_free(&ivan);
    dq_fnctx_free(ctx);
    return 0;
}
