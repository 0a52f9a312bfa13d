/*
 * test_query_diff.c -- the randomized differential test of the query
 * engine: random databases (longs with small domains, strings, refs,
 * cardinality-many attributes, a unique identity) and thousands of random
 * queries (patterns sharing variables, constants, lookup refs, value
 * predicates, function bindings, not / not-join, or / or-join, rules with
 * recursion, aggregates with and without :with, collection finds), each
 * run with the reference evaluator (DT_PLAN_NAIVE) and the planner
 * (DT_PLAN_AUTO), the planner also on the same clauses in another valid
 * order.  All runs must give the same result.
 *
 * The seed is printed; DT_DIFF_SEED=N reruns one sequence and
 * DT_DIFF_COUNT=N sets the number of queries (default 3000, a third of
 * that under sanitizers).  A mismatch prints the seed, the query number,
 * the query, its inputs and both results.
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define DIFF_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIFF_SANITIZED 1
#endif
#endif
#ifndef DIFF_SANITIZED
#define DIFF_SANITIZED 0
#endif

#define DEFAULT_SEED  20261130u
#define DEFAULT_COUNT (DIFF_SANITIZED ? 1000 : 3000)
/* New random data every this many queries. */
#define QUERIES_PER_DB 250
/* Entities per random database (small: the reference evaluator is nested
 * loops, and the queries may join several patterns). */
#define NENT             36
#define QUERY_TIMEOUT_MS 20000
/* A cap on intermediate rows: a random query whose reference evaluation
 * goes past it (a cross product of unconnected patterns) is skipped, since
 * the planner may rightly avoid the large table the reference builds. */
#define MAX_ROWS 200000

static const char schema[] =
    "{:a/n    {:db/valueType :db.type/long}"
    " :a/m    {:db/valueType :db.type/long}"
    " :a/s    {:db/valueType :db.type/string}"
    " :a/k    {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :a/ref  {:db/valueType :db.type/ref}"
    " :a/tags {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}"
    " :a/link {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}}";

static const char rules[] = "[[(reach ?x ?y) [?x :a/link ?y]]"
                            " [(reach ?x ?y) [?x :a/link ?z] (reach ?z ?y)]"
                            " [(same-n ?x ?y) [?x :a/n ?v] [?y :a/n ?v]]"
                            " [(small ?x) [?x :a/n ?v] [(< ?v 2)]]"
                            " [(small ?x) [?x :a/s \"a\"]]"
                            " [(up ?x ?y) [?x :a/ref ?y]]"
                            " [(up ?x ?y) [?x :a/ref ?z] (up ?z ?y)]]";

static uint64_t rng;
static unsigned rnd(unsigned n) { return (unsigned)(tu_rand(&rng) % n); }
static int chance(unsigned pct) { return rnd(100) < pct; }

static const char *const strs[] = {"a", "b", "c", "d"};
static const char *const tags[] = {"x", "y", "z", "w", "v"};

/* {====== Random data ====== */

/* Keys :a/k are "k1".."kNENT" on the entities that have one (has_key). */
static int has_key[NENT + 1];

static char *random_data(void) {
    tu_sbuf b = {0};
    tu_sb_printf(&b, "[");
    for (int e = 1; e <= NENT; e++) {
        tu_sb_printf(&b, "{:db/id %d", e);
        if (chance(85)) tu_sb_printf(&b, " :a/n %u", rnd(5));
        if (chance(70)) tu_sb_printf(&b, " :a/m %u", rnd(10));
        if (chance(80)) tu_sb_printf(&b, " :a/s \"%s\"", strs[rnd(4)]);
        has_key[e] = chance(60);
        if (has_key[e]) tu_sb_printf(&b, " :a/k \"k%d\"", e);
        if (chance(60)) tu_sb_printf(&b, " :a/ref %u", 1 + rnd(NENT));
        unsigned nt = rnd(4);
        if (nt) {
            tu_sb_printf(&b, " :a/tags [");
            for (unsigned i = 0; i < nt; i++) tu_sb_printf(&b, " \"%s\"", tags[rnd(5)]);
            tu_sb_printf(&b, "]");
        }
        unsigned nl = rnd(4);
        if (nl) {
            tu_sb_printf(&b, " :a/link [");
            for (unsigned i = 0; i < nl; i++) tu_sb_printf(&b, " %u", 1 + rnd(NENT));
            tu_sb_printf(&b, "]");
        }
        tu_sb_printf(&b, "}\n");
    }
    tu_sb_printf(&b, "]");
    return b.p;
}

/* }====== */

/* {====== Random queries ====== */

/*
 * Variables are ?e0..?e5 (entities) and ?v0..?v7 (values: ?v0..?v3 longs,
 * ?v4..?v5 strings, ?v6..?v7 more longs); a bit set tracks which are
 * bound.  Each clause records the variables it needs bound before it and
 * the ones it binds, so the clauses can be put in another valid order.
 */
#define NE 6
#define NV 8
enum { VAR_E = 0, VAR_V = NE, NVARS = NE + NV };
typedef uint32_t vset;

static const char *var_name(int i) {
    static const char *const names[NVARS] = {"?e0", "?e1", "?e2", "?e3", "?e4", "?e5", "?v0",
                                             "?v1", "?v2", "?v3", "?v4", "?v5", "?v6", "?v7"};
    return names[i];
}
static int is_long_var(int i) { return i >= VAR_V && (i - VAR_V < 4 || i - VAR_V >= 6); }
static int is_str_var(int i) { return i == VAR_V + 4 || i == VAR_V + 5; }

typedef struct clause {
    char *text;
    vset needs, binds;
} clause;

typedef struct gen {
    clause c[16];
    int n;
    vset bound;    /* bound after the clauses so far */
    int uses_rule; /* needs :in $ % */
} gen;

static void add_clause(gen *g, vset needs, vset binds, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void add_clause(gen *g, vset needs, vset binds, const char *fmt, ...) {
    assert_true(g->n < 16);
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g->c[g->n].text = strdup(buf);
    g->c[g->n].needs = needs;
    g->c[g->n].binds = binds;
    g->n++;
    g->bound |= binds;
}

/* A random bound variable matching `want` (a predicate on the index), or
 * -1 when there is none. */
static int pick_bound(const gen *g, int (*want)(int)) {
    int cand[NVARS], n = 0;
    for (int i = 0; i < NVARS; i++)
        if ((g->bound >> i & 1) && want(i)) cand[n++] = i;
    return n ? cand[rnd((unsigned)n)] : -1;
}
static int any_e(int i) { return i < VAR_V; }

/* An entity variable: usually one already bound (joins), else a fresh one. */
static int entity_var(const gen *g, int prefer_bound) {
    int b = pick_bound(g, any_e);
    if (b >= 0 && (prefer_bound || chance(70))) return b;
    for (int i = 0; i < NE; i++)
        if (!(g->bound >> i & 1)) return i;
    return b >= 0 ? b : 0;
}

/* A fresh entity variable (a bound one when all are taken). */
static int fresh_e(const gen *g) {
    for (int i = 0; i < NE; i++)
        if (!(g->bound >> i & 1)) return i;
    return (int)rnd(NE);
}

/* A value variable of the given kind (1 long, 2 string), bound or not. */
static int value_var(const gen *g, int kind) {
    int cand[NV], n = 0;
    for (int i = VAR_V; i < NVARS; i++)
        if ((kind == 1 && is_long_var(i)) || (kind == 2 && is_str_var(i))) cand[n++] = i;
    /* prefer a bound one now and then, for value joins */
    for (int t = 0; t < 3 && chance(35); t++) {
        int i = cand[rnd((unsigned)n)];
        if (g->bound >> i & 1) return i;
    }
    for (int t = 0; t < 8; t++) {
        int i = cand[rnd((unsigned)n)];
        if (!(g->bound >> i & 1)) return i;
    }
    return cand[rnd((unsigned)n)];
}

/* One data pattern [E :attr V]. */
static void gen_pattern(gen *g, int first) {
    static const char *const attrs[] = {":a/n", ":a/m",    ":a/s",   ":a/ref",
                                        ":a/k", ":a/tags", ":a/link"};
    int a = (int)rnd(7);
    char e[48], v[48];
    vset binds = 0;
    unsigned r = rnd(100);
    if (r < 8) {
        snprintf(e, sizeof e, "%u", 1 + rnd(NENT));
    } else if (r < 12) {
        int k = 1 + (int)rnd(NENT);
        while (!has_key[k]) k = 1 + (int)rnd(NENT);
        snprintf(e, sizeof e, "[:a/k \"k%d\"]", k);
    } else {
        int ev = entity_var(g, !first && chance(80));
        snprintf(e, sizeof e, "%s", var_name(ev));
        binds |= 1u << ev;
    }
    r = rnd(100);
    if (r < 10) {
        snprintf(v, sizeof v, "_");
    } else if (r < 30) {
        switch (a) {
        case 0:
            snprintf(v, sizeof v, "%u", rnd(5));
            break;
        case 1:
            snprintf(v, sizeof v, "%u", rnd(10));
            break;
        case 2:
            snprintf(v, sizeof v, "\"%s\"", strs[rnd(4)]);
            break;
        case 4:
            snprintf(v, sizeof v, "\"k%u\"", 1 + rnd(NENT));
            break;
        case 5:
            snprintf(v, sizeof v, "\"%s\"", tags[rnd(5)]);
            break;
        default:
            snprintf(v, sizeof v, "%u", 1 + rnd(NENT));
        }
    } else {
        int vv;
        if (a == 3 || a == 6) /* a ref: mostly a fresh variable, so chains form */
            vv = chance(60) ? fresh_e(g) : entity_var(g, 0);
        else
            vv = value_var(g, a <= 1 ? 1 : 2);
        snprintf(v, sizeof v, "%s", var_name(vv));
        binds |= 1u << vv;
    }
    add_clause(g, 0, binds, "[%s %s %s]", e, attrs[a], v);
}

/* A predicate on bound values. */
static void gen_pred(gen *g) {
    int x = pick_bound(g, is_long_var);
    if (x >= 0 && chance(75)) {
        static const char *const ops[] = {"<", ">", "<=", ">=", "=", "not="};
        switch (rnd(5)) {
        case 0: {
            int y = pick_bound(g, is_long_var);
            add_clause(g, 1u << x | 1u << y, 0, "[(%s %s %s)]", ops[rnd(6)], var_name(x),
                       var_name(y));
            return;
        }
        case 1:
            add_clause(g, 1u << x, 0, "[(%s %s)]", chance(50) ? "even?" : "odd?", var_name(x));
            return;
        case 2:
            add_clause(g, 1u << x, 0, "[(<= 1 %s %u)]", var_name(x), 2 + rnd(6));
            return;
        default:
            add_clause(g, 1u << x, 0, "[(%s %s %u)]", ops[rnd(6)], var_name(x), rnd(8));
            return;
        }
    }
    int s = pick_bound(g, is_str_var);
    if (s >= 0) {
        if (chance(50))
            add_clause(g, 1u << s, 0, "[(not= %s \"%s\")]", var_name(s), strs[rnd(4)]);
        else
            add_clause(g, 1u << s, 0, "[(clojure.string/starts-with? %s \"%s\")]", var_name(s),
                       chance(50) ? "k1" : tags[rnd(5)]);
        return;
    }
    int e = pick_bound(g, any_e);
    if (e >= 0) {
        int f = pick_bound(g, any_e);
        add_clause(g, 1u << e | 1u << f, 0, "[(%s %s %s)]", chance(50) ? "<" : "not=", var_name(e),
                   var_name(f));
    }
}

/* A function binding a fresh long variable from a bound one. */
static void gen_fn(gen *g) {
    int x = pick_bound(g, is_long_var);
    if (x < 0) return;
    int out = -1;
    for (int i = VAR_V; i < NVARS; i++)
        if (is_long_var(i) && !(g->bound >> i & 1)) out = i;
    if (out < 0) return;
    static const char *const fns[] = {"(+ %s 1)", "(* %s 2)", "(- %s 3)",  "(mod %s 3)",
                                      "(inc %s)", "(dec %s)", "(max %s 2)"};
    char call[64];
    snprintf(call, sizeof call, fns[rnd(7)], var_name(x));
    add_clause(g, 1u << x, 1u << out, "[%s %s]", call, var_name(out));
}

/* not / not-join on a bound entity variable. */
static void gen_not(gen *g) {
    int e = pick_bound(g, any_e);
    if (e < 0) return;
    const char *ev = var_name(e);
    switch (rnd(4)) {
    case 0:
        add_clause(g, 1u << e, 0, "(not [%s :a/n %u])", ev, rnd(5));
        return;
    case 1:
        add_clause(g, 1u << e, 0, "(not [%s :a/tags \"%s\"] [%s :a/s \"%s\"])", ev, tags[rnd(5)],
                   ev, strs[rnd(4)]);
        return;
    case 2:
        add_clause(g, 1u << e, 0, "(not-join [%s] [%s :a/link ?nj] [?nj :a/n %u])", ev, ev, rnd(5));
        return;
    default: {
        int x = pick_bound(g, is_long_var);
        if (x >= 0)
            add_clause(g, 1u << e | 1u << x, 0, "(not [%s :a/m %s])", ev, var_name(x));
        else
            add_clause(g, 1u << e, 0, "(not [%s :a/ref _])", ev);
    }
    }
}

/* or / or-join binding an entity variable (bound already or not). */
static void gen_or(gen *g) {
    int e = entity_var(g, 0);
    const char *ev = var_name(e);
    switch (rnd(3)) {
    case 0:
        add_clause(g, 0, 1u << e, "(or [%s :a/n %u] [%s :a/s \"%s\"])", ev, rnd(5), ev,
                   strs[rnd(4)]);
        return;
    case 1:
        add_clause(g, 0, 1u << e,
                   "(or-join [%s] [%s :a/tags \"%s\"] (and [%s :a/ref ?oj] [?oj :a/n %u]))", ev, ev,
                   tags[rnd(5)], ev, rnd(5));
        return;
    default: {
        int x = pick_bound(g, is_long_var);
        if (x >= 0 && (g->bound >> e & 1))
            add_clause(g, 1u << x | 1u << e, 0, "(or-join [%s %s] [(< %s 2)] [%s :a/m %s])", ev,
                       var_name(x), var_name(x), ev, var_name(x));
        else
            add_clause(g, 0, 1u << e, "(or [%s :a/m 1] [%s :a/m 2] [%s :a/n 0])", ev, ev, ev);
    }
    }
}

/* A rule call (the rules come as the % input). */
static void gen_rule(gen *g) {
    int e = entity_var(g, 0);
    g->uses_rule = 1;
    switch (rnd(4)) {
    case 0: {
        int f = entity_var(g, 0);
        if (f == e) f = (e + 1) % NE;
        add_clause(g, 0, 1u << e | 1u << f, "(reach %s %s)", var_name(e), var_name(f));
        return;
    }
    case 1:
        add_clause(g, 0, 1u << e, "(reach %s %u)", var_name(e), 1 + rnd(NENT));
        return;
    case 2: {
        int f = entity_var(g, 0);
        add_clause(g, 0, 1u << e | 1u << f, "(%s %s %s)", chance(50) ? "same-n" : "up", var_name(e),
                   var_name(f));
        return;
    }
    default:
        add_clause(g, 0, 1u << e, "(small %s)", var_name(e));
    }
}

/* Writes the clauses in the order ord[] into b. */
static void write_query(tu_sbuf *b, const char *find, const char *with, const gen *g,
                        const int *ord) {
    tu_sb_printf(b, "[:find %s%s%s%s :where", find, with ? " :with " : "", with ? with : "",
                 g->uses_rule ? " :in $ %" : "");
    for (int i = 0; i < g->n; i++) tu_sb_printf(b, " %s", g->c[ord[i]].text);
    tu_sb_printf(b, "]");
}

/* Another order of the clauses in which each one's needs are bound by
 * the ones before it. */
static void shuffle_valid(const gen *g, int *ord) {
    int used[16] = {0};
    vset bound = 0;
    for (int k = 0; k < g->n; k++) {
        int cand[16], n = 0;
        for (int i = 0; i < g->n; i++)
            if (!used[i] && (g->c[i].needs & ~bound) == 0) cand[n++] = i;
        assert_true(n > 0); /* the written order is one valid order */
        int pick = cand[rnd((unsigned)n)];
        used[pick] = 1;
        ord[k] = pick;
        bound |= g->c[pick].binds;
    }
}

typedef struct rquery {
    char *text, *shuffled;
    int uses_rule;
} rquery;

static void gen_query(rquery *out) {
    gen g;
    memset(&g, 0, sizeof g);
    int npat = 1 + (int)rnd(3);
    for (int i = 0; i < npat; i++) gen_pattern(&g, i == 0);
    if (chance(15)) gen_rule(&g);
    if (chance(45)) gen_pred(&g);
    if (chance(20)) gen_pred(&g);
    if (chance(20)) gen_fn(&g);
    if (chance(25)) gen_not(&g);
    if (chance(25)) gen_or(&g);
    if (chance(20)) gen_pattern(&g, 0);
    if (g.bound == 0) gen_pattern(&g, 0);
    while (g.bound == 0) gen_pattern(&g, 1);

    /* the find spec over bound variables */
    int vars[NVARS], nv = 0;
    for (int i = 0; i < NVARS; i++)
        if (g.bound >> i & 1) vars[nv++] = i;
    for (int i = nv - 1; i > 0; i--) { /* shuffle */
        int j = (int)rnd((unsigned)i + 1), t = vars[i];
        vars[i] = vars[j];
        vars[j] = t;
    }
    char find[256], with[64];
    const char *withp = NULL;
    int lv = pick_bound(&g, is_long_var);
    unsigned r = rnd(100);
    if (r < 25 && lv >= 0) {
        static const char *const aggs[] = {
            "count",          "sum",      "min",   "max",   "avg",     "median",
            "count-distinct", "distinct", "min 2", "max 3", "variance"};
        const char *agg = aggs[rnd(11)];
        int group = -1;
        for (int i = 0; i < nv; i++)
            if (vars[i] != lv && chance(50)) group = vars[i];
        if (group >= 0)
            snprintf(find, sizeof find, "%s (%s %s)", var_name(group), agg, var_name(lv));
        else
            snprintf(find, sizeof find, "(%s %s)", agg, var_name(lv));
        int we = pick_bound(&g, any_e);
        if (we >= 0 && we != group && chance(50)) {
            snprintf(with, sizeof with, "%s", var_name(we));
            withp = with;
        }
    } else if (r < 30) {
        snprintf(find, sizeof find, "(count %s) .", var_name(vars[0]));
    } else if (r < 40) {
        snprintf(find, sizeof find, "[%s ...]", var_name(vars[0]));
    } else {
        int k = 1 + (int)rnd(3);
        if (k > nv) k = nv;
        find[0] = '\0';
        for (int i = 0; i < k; i++) {
            strcat(find, i ? " " : "");
            strcat(find, var_name(vars[i]));
        }
    }

    int ord[16];
    for (int i = 0; i < g.n; i++) ord[i] = i;
    tu_sbuf a = {0}, b = {0};
    write_query(&a, find, withp, &g, ord);
    shuffle_valid(&g, ord);
    write_query(&b, find, withp, &g, ord);
    out->text = a.p;
    out->shuffled = b.p;
    out->uses_rule = g.uses_rule;
    for (int i = 0; i < g.n; i++) free(g.c[i].text);
}

/* }====== */

/* {====== Running ====== */

/* A run's outcome as text: the result in a canonical form (the rows of a
 * relation or collection sorted), or "error N: message". */
static char *run(const char *text, dt_db *db, dt_plan_mode plan, int uses_rule, int *rc_out) {
    dt_input in[2];
    memset(in, 0, sizeof in);
    in[0].db = db;
    in[1].edn = rules;
    in[1].edn_len = strlen(rules);
    dt_query_options o;
    memset(&o, 0, sizeof o);
    o.version = DT_QUERY_OPTIONS_VERSION;
    o.timeout_ms = QUERY_TIMEOUT_MS;
    o.plan = plan;
    o.max_rows = MAX_ROWS;
    dt_result *r = NULL;
    int rc = dt_q_inputs(text, strlen(text), in, uses_rule ? 2 : 1, &o, &r);
    *rc_out = rc;
    tu_sbuf b = {0};
    if (rc != DT_OK) {
        tu_sb_printf(&b, "error %d: %s", rc, dt_errmsg(NULL));
        return b.p;
    }
    dt_value v = DT_VALUE_NIL;
    assert_int_equal(dt_result_value(r, &v), DT_OK);
    dt_find_kind kind = dt_result_kind(r);
    if ((kind == DT_FIND_REL || kind == DT_FIND_COLL) &&
        (v.type == DT_SET || v.type == DT_VECTOR || v.type == DT_LIST)) {
        /* as a sorted vector, so a multiset compares whatever the order */
        qsort(v.u.seq.items, v.u.seq.n, sizeof *v.u.seq.items,
              (int (*)(const void *, const void *))dt_value_compare);
        tu_sb_printf(&b, "%s%zu rows: ", kind == DT_FIND_REL ? "relation " : "collection ",
                     v.u.seq.n);
        v.type = DT_VECTOR;
    } else {
        tu_sb_printf(&b, "%s: ", kind == DT_FIND_SCALAR ? "scalar" : "tuple");
    }
    char *s = tu_edn(&v);
    tu_sb_printf(&b, "%s", s);
    free(s);
    dt_value_free(&v);
    dt_result_free(r);
    return b.p;
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end) fail_msg("%s=%s is not a number", name, s);
    return v;
}

static void test_naive_and_planned_agree(void **state) {
    (void)state;
    uint64_t seed = env_u64("DT_DIFF_SEED", DEFAULT_SEED);
    uint64_t count = env_u64("DT_DIFF_COUNT", DEFAULT_COUNT);
    print_message("differential: seed %llu, %llu queries (DT_DIFF_SEED, DT_DIFF_COUNT)\n",
                  (unsigned long long)seed, (unsigned long long)count);
    rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    tu_db *d = NULL;
    dt_db *db = NULL;
    uint64_t mismatches = 0, rejected = 0, nonempty = 0, skipped = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (i % QUERIES_PER_DB == 0) {
            if (db) dt_db_close(db);
            if (d) tu_db_close(d);
            d = tu_db_open(schema);
            char *data = random_data();
            if (dt_transact(d->conn, data, NULL) != DT_OK)
                fail_msg("seed %llu: random data: %s", (unsigned long long)seed,
                         dt_errmsg(d->conn));
            free(data);
            assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
        }
        rquery q;
        gen_query(&q);
        int rc_n = 0, rc_a = 0, rc_s = 0;
        char *naive = run(q.text, db, DT_PLAN_NAIVE, q.uses_rule, &rc_n);
        char *autor = run(q.text, db, DT_PLAN_AUTO, q.uses_rule, &rc_a);
        char *shuf = run(q.shuffled, db, DT_PLAN_AUTO, q.uses_rule, &rc_s);
        if (rc_n == DT_LIMIT) { /* too big for the reference evaluator */
            skipped++;
            free(naive);
            free(autor);
            free(shuf);
            free(q.text);
            free(q.shuffled);
            continue;
        }
        int same = rc_n == rc_a && rc_n == rc_s &&
                   (rc_n != DT_OK || (!strcmp(naive, autor) && !strcmp(naive, shuf)));
        if (rc_n != DT_OK && same) rejected++;
        if (rc_n == DT_OK && !strstr(naive, " 0 rows") && strcmp(naive, "scalar: nil") != 0)
            nonempty++;
        if (!same || rc_n == DT_TIMEOUT) {
            if (mismatches < 10)
                print_error("MISMATCH seed %llu query #%llu\n"
                            "  query:    %s\n"
                            "  reordered: %s\n"
                            "  inputs:   $%s\n"
                            "  naive:    %s\n"
                            "  auto:     %s\n"
                            "  auto on the reordered query: %s\n",
                            (unsigned long long)seed, (unsigned long long)i, q.text, q.shuffled,
                            q.uses_rule ? " and the rules below" : "", naive, autor, shuf);
            mismatches++;
        } else if (rc_n != DT_OK && rejected <= 3) {
            print_message("  (both rejected query #%llu %s: %s)\n", (unsigned long long)i, q.text,
                          naive);
        }
        free(naive);
        free(autor);
        free(shuf);
        free(q.text);
        free(q.shuffled);
    }
    if (db) dt_db_close(db);
    if (d) tu_db_close(d);
    print_message("differential: %llu queries, %llu with rows, %llu rejected by both, "
                  "%llu skipped (over %d rows in the reference), %llu mismatches\n",
                  (unsigned long long)count, (unsigned long long)nonempty,
                  (unsigned long long)rejected, (unsigned long long)skipped, MAX_ROWS,
                  (unsigned long long)mismatches);
    if (mismatches) print_error("rules: %s\n", rules);
    assert_int_equal(mismatches, 0);
    /* the generator makes valid queries: a rejection is a generator or
     * engine bug, tolerated only rarely (and listed above) */
    assert_true(rejected * 100 <= count);
    /* and most queries must find something, or the test shows little */
    assert_true(nonempty * 2 >= count);
    assert_true(skipped * 20 <= count);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_naive_and_planned_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
