/*
 * pull_bench.c -- the three pulls of the shared benchmark suite
 * (bench/README.md) on bench-wide-4x5, entity [:id 1]:
 *
 *   pull-one       [:name {:follows ...}]
 *   pull-many      [:db/id :last-name :alias :sex :age :salary {:follows ...}]
 *   pull-wildcard  [* {:follows ...}]
 *
 * Each is timed three ways: dt_pull (the public call: reads the pattern
 * text, compiles it, resolves [:id 1], pulls; the caller owns the result
 * and frees it), dt_pull_in (the same into an arena, reset after each
 * pull) and a pattern compiled once (dq_pull_run, on the heap).  Timing as
 * DataScript's bench: a warm-up, then RUNS runs of about RUN_S seconds,
 * the median of the runs' mean times, on the thread's CPU clock (the
 * machine is shared).  The entity count of each result is checked
 * (781 = 1 + 5 + 25 + 125 + 625), and its leaf values against DataScript's
 * for the same pull.
 *
 * Usage: pull_bench [SHARED_DIR [PATTERN...]]   (default: the build's
 * ../shared and the three pulls; patterns given instead are timed without
 * the entity check).  PULL_BENCH_ITERS=N: N pulls each, untimed (for a
 * profiler), through dt_pull, or dt_pull_in with PULL_BENCH_ARENA=1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "datolite.h"
#include "exec.h"

#ifndef DT_BENCH_SHARED_DIR
#define DT_BENCH_SHARED_DIR "../shared"
#endif

#define RUNS      5
#define RUN_S     0.4
#define WARMUP_S  0.5
#define WANT_ENTS 781

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    if (p) p[n] = '\0';
    fclose(f);
    return p;
}

static void die(const char *what, dt_conn *c) {
    fprintf(stderr, "pull_bench: %s: %s\n", what, dt_errmsg(c));
    exit(1);
}

/* Entities in a pulled value: maps that hold a :name or :db/id. */
static size_t count_entities(const dt_value *v) {
    size_t n = 0;
    if (v->type == DT_MAP) {
        for (size_t i = 0; i < v->u.seq.n; i += 2) {
            const dt_value *k = &v->u.seq.items[i];
            if (k->type == DT_KEYWORD &&
                (!strcmp(k->u.s.ptr, "name") || !strcmp(k->u.s.ptr, "db/id")))
                n = 1;
        }
        for (size_t i = 1; i < v->u.seq.n; i += 2) n += count_entities(&v->u.seq.items[i]);
    } else if (v->type == DT_VECTOR) {
        for (size_t i = 0; i < v->u.seq.n; i++) n += count_entities(&v->u.seq.items[i]);
    }
    return n;
}

/* Leaf values of a pulled value (maps' values and vectors' items walked),
 * the size DataScript's peer reports for the same pull. */
static size_t count_leaves(const dt_value *v) {
    if (v->type == DT_NIL) return 0;
    if (v->type == DT_VECTOR) {
        size_t n = 0;
        for (size_t i = 0; i < v->u.seq.n; i++) n += count_leaves(&v->u.seq.items[i]);
        return n;
    }
    if (v->type == DT_MAP) {
        size_t n = 0;
        for (size_t i = 1; i < v->u.seq.n; i += 2) n += count_leaves(&v->u.seq.items[i]);
        return n;
    }
    return 1;
}

typedef struct job {
    dt_db *db;
    const char *pattern;
    const dt_value *eid;
    dq_pull *compiled; /* NULL: dt_pull or dt_pull_in */
    dt_arena *arena;   /* not NULL: dt_pull_in */
    int64_t e;
} job;

static void run_once(const job *j) {
    dt_value out = DT_VALUE_NIL;
    int rc = j->compiled ? dq_pull_run(j->compiled, j->db, j->e, NULL, &out)
             : j->arena  ? dt_pull_in(j->db, j->pattern, strlen(j->pattern), j->eid, j->arena, &out)
                         : dt_pull(j->db, j->pattern, strlen(j->pattern), j->eid, &out);
    if (rc != DT_OK) {
        fprintf(stderr, "pull_bench: pull %s: %s\n", j->pattern, dt_errmsg(j->db));
        exit(1);
    }
    if (j->arena)
        dt_arena_reset(j->arena);
    else
        dt_value_free(&out);
}

/* Median over RUNS of the mean ms per pull. */
static double time_job(const job *j) {
    double t0 = bench_cpu_now();
    while (bench_cpu_now() - t0 < WARMUP_S) run_once(j);
    double means[RUNS];
    for (int r = 0; r < RUNS; r++) {
        size_t n = 0;
        double s = bench_cpu_now(), e;
        do {
            run_once(j);
            n++;
        } while ((e = bench_cpu_now()) - s < RUN_S);
        means[r] = (e - s) * 1e3 / (double)n;
    }
    qsort(means, RUNS, sizeof means[0], bench_cmp_double);
    return means[RUNS / 2];
}

int main(int argc, char **argv) {
    const char *shared = argc > 1 ? argv[1] : DT_BENCH_SHARED_DIR;
    char path[4096];
    snprintf(path, sizeof path, "%s/bench/bench-schema.edn", shared);
    char *schema = read_file(path);
    snprintf(path, sizeof path, "%s/bench/bench-wide-4x5.edn", shared);
    char *data = read_file(path);
    if (!schema || !data) {
        fprintf(stderr, "pull_bench: cannot read %s (give the shared dir)\n", path);
        return 1;
    }
    char dir[] = "/tmp/pull_bench.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    dt_conn *c = NULL;
    if (dt_conn_open(dir, schema, NULL, &c) != DT_OK) die("open", NULL);
    if (dt_transact(c, data, NULL) != DT_OK) die("load bench-wide-4x5", c);
    dt_db *db = NULL;
    if (dt_conn_db(c, &db) != DT_OK) die("snapshot", c);

    dt_value eid = DT_VALUE_NIL;
    if (dt_edn_read("[:id 1]", 7, &eid) != DT_OK) die("eid", NULL);
    int64_t e = 0;
    if (dt_db_entid(db, &eid, &e) != DT_OK) die("[:id 1]", NULL);

    /* leaves: what DataScript 1.8.1 gives for the same pulls */
    struct {
        const char *name, *pattern;
        size_t leaves;
    } pulls[16] = {
        {"pull-one", "[:name {:follows ...}]", 781},
        {"pull-many", "[:db/id :last-name :alias :sex :age :salary {:follows ...}]", 6691},
        {"pull-wildcard", "[* {:follows ...}]", 8409},
    };
    size_t npulls = 3;
    int check = argc <= 2;
    if (!check) {
        npulls = 0;
        for (int i = 2; i < argc && npulls < 16; i++, npulls++) {
            pulls[npulls].name = "pattern";
            pulls[npulls].pattern = argv[i];
        }
    }
    dt_arena *arena = NULL;
    if (dt_arena_new(&arena) != DT_OK) die("arena", NULL);
    printf("%-14s %10s %13s %12s %9s %7s\n", "pull", "dt_pull ms", "dt_pull_in ms", "compiled ms",
           "entities", "leaves");
    for (size_t i = 0; i < npulls; i++) {
        job j = {db, pulls[i].pattern, &eid, NULL, NULL, e};
        dt_value out = DT_VALUE_NIL, in = DT_VALUE_NIL;
        if (dt_pull(db, j.pattern, strlen(j.pattern), &eid, &out) != DT_OK) die(j.pattern, NULL);
        if (dt_pull_in(db, j.pattern, strlen(j.pattern), &eid, arena, &in) != DT_OK)
            die(j.pattern, NULL);
        size_t ents = count_entities(&out), leaves = count_leaves(&out);
        int same = dt_value_equal(&out, &in);
        dt_value_free(&out);
        dt_arena_reset(arena);
        if (!same) {
            fprintf(stderr, "pull_bench: %s: dt_pull_in differs from dt_pull\n", pulls[i].name);
            return 1;
        }
        if (check && (ents != WANT_ENTS || leaves != pulls[i].leaves)) {
            fprintf(stderr,
                    "pull_bench: %s gave %zu entities and %zu leaves, expected %d and %zu\n",
                    pulls[i].name, ents, leaves, WANT_ENTS, pulls[i].leaves);
            return 1;
        }
        const char *iters = getenv("PULL_BENCH_ITERS"); /* fixed work, for profilers */
        if (iters) {
            const char *ar = getenv("PULL_BENCH_ARENA");
            if (ar && *ar == '1') j.arena = arena;
            for (long k = atol(iters); k > 0; k--) run_once(&j);
            continue;
        }
        double t_api = time_job(&j);
        j.arena = arena;
        double t_in = time_job(&j);
        j.arena = NULL;
        dt_value pv = DT_VALUE_NIL;
        if (dt_edn_read(j.pattern, strlen(j.pattern), &pv) != DT_OK) die("pattern", NULL);
        if (dq_pull_compile(db, &pv, &j.compiled) != DT_OK) die("compile", NULL);
        dt_value_free(&pv);
        double t_comp = time_job(&j);
        dq_pull_free(j.compiled);
        printf("%-14s %10.3f %13.3f %12.3f %9zu %7zu\n", pulls[i].name, t_api, t_in, t_comp, ents,
               leaves);
    }
    dt_arena_free(arena);
    dt_value_free(&eid);
    dt_db_close(db);
    dt_conn_close(c);
    bench_rm_rf(dir);
    free(schema);
    free(data);
    return 0;
}
