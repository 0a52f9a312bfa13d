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
 * DT_DIFF_COUNT=N sets the number of queries (default 5000, 1000 under
 * sanitizers).  A mismatch prints the seed, the query number,
 * the query, its inputs and both results.
 *
 * A second test stops random queries part way (row caps, a triggered
 * cancellation token, deadlines) and checks that they fail cleanly with
 * the right code, or give the full answer when not stopped.
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
#define DEFAULT_COUNT (DIFF_SANITIZED ? 1000 : 5000)
/* New random data every this many queries. */
#define QUERIES_PER_DB 250
/* Entities per random database: from 12 to MAX_NENT, so the planner sees
 * different statistics (small: the reference evaluator is nested loops,
 * and the queries may join several patterns). */
#define MAX_NENT         150
#define QUERY_TIMEOUT_MS 20000
/* A cap on intermediate rows: a random query that goes past it in either
 * evaluator (a cross product of unconnected patterns) is skipped, since
 * each builds other intermediate tables. */
#define MAX_ROWS 50000

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

/* Entities 1..nent; keys :a/k are "k1".."k<nent>" on the entities that
 * have one (has_key; entity 1 always has one). */
static unsigned nent;
static int has_key[MAX_NENT + 1];

static char *random_data(void) {
    tu_sbuf b = {0};
    tu_sb_printf(&b, "[");
    nent = 12 + rnd(MAX_NENT - 11);
    for (int e = 1; e <= (int)nent; e++) {
        tu_sb_printf(&b, "{:db/id %d", e);
        if (chance(85)) tu_sb_printf(&b, " :a/n %u", rnd(5));
        if (chance(70)) tu_sb_printf(&b, " :a/m %u", rnd(10));
        if (chance(80)) tu_sb_printf(&b, " :a/s \"%s\"", strs[rnd(4)]);
        has_key[e] = e == 1 || chance(60);
        if (has_key[e]) tu_sb_printf(&b, " :a/k \"k%d\"", e);
        if (chance(60)) tu_sb_printf(&b, " :a/ref %u", 1 + rnd(nent));
        unsigned nt = rnd(4);
        if (nt) {
            tu_sb_printf(&b, " :a/tags [");
            for (unsigned i = 0; i < nt; i++) tu_sb_printf(&b, " \"%s\"", tags[rnd(5)]);
            tu_sb_printf(&b, "]");
        }
        unsigned nl = rnd(4);
        if (nl) {
            tu_sb_printf(&b, " :a/link [");
            for (unsigned i = 0; i < nl; i++) tu_sb_printf(&b, " %u", 1 + rnd(nent));
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
    vset bound;                      /* bound after the clauses so far */
    vset inputs;                     /* bound by :in */
    int uses_rule;                   /* needs :in $ % */
    char in_coll[64], in_scalar[16]; /* EDN of the [?v0 ...] and ?v1 inputs, or "" */
    char in_ents[96];                /* EDN of the [?e5 ...] input (ids, lookup refs) */
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
/* ?e5 given as lookup refs is bound to the refs themselves, which compare
 * with nothing: no predicate takes it then. */
static int e5_is_ref;
static int cmp_e(int i) { return i < VAR_V && !(i == 5 && e5_is_ref); }

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

/* A pattern with a variable attribute, [E ?at V]: V a bound entity, a
 * number, a string or a lookup ref (for a ref attribute).  ?at stays out
 * of the find spec. */
static void gen_var_attr(gen *g) {
    int e = entity_var(g, chance(70));
    char v[48];
    switch (rnd(4)) {
    case 0: {
        int f = pick_bound(g, cmp_e);
        if (f >= 0) {
            snprintf(v, sizeof v, "%s", var_name(f));
            break;
        }
    }
        /* fall through */
    case 1:
        snprintf(v, sizeof v, "%u", rnd(6));
        break;
    case 2:
        snprintf(v, sizeof v, "\"%s\"", chance(50) ? strs[rnd(4)] : tags[rnd(5)]);
        break;
    default: {
        int k = 1 + (int)rnd(nent);
        while (!has_key[k]) k = 1 + (int)rnd(nent);
        snprintf(v, sizeof v, "[:a/k \"k%d\"]", k);
    }
    }
    add_clause(g, 0, 1u << e, "[%s ?at %s]", var_name(e), v);
}

/* One data pattern [E :attr V]. */
static void gen_pattern(gen *g, int first) {
    static const char *const attrs[] = {":a/n", ":a/m",    ":a/s",   ":a/ref",
                                        ":a/k", ":a/tags", ":a/link"};
    int a = (int)rnd(7);
    char e[48], v[48];
    vset binds = 0;
    unsigned r = rnd(100);
    if (r < 5) {
        snprintf(e, sizeof e, "%u", 1 + rnd(nent));
    } else if (r < 8) {
        int k = 1 + (int)rnd(nent);
        while (!has_key[k]) k = 1 + (int)rnd(nent);
        snprintf(e, sizeof e, "[:a/k \"k%d\"]", k);
    } else {
        int ev = entity_var(g, !first && chance(80));
        snprintf(e, sizeof e, "%s", var_name(ev));
        binds |= 1u << ev;
    }
    r = rnd(100);
    if (r < 10) {
        snprintf(v, sizeof v, "_");
    } else if (r < 24) {
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
            snprintf(v, sizeof v, "\"k%u\"", 1 + rnd(nent));
            break;
        case 5:
            snprintf(v, sizeof v, "\"%s\"", tags[rnd(5)]);
            break;
        default:
            snprintf(v, sizeof v, "%u", 1 + rnd(nent));
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
    int e = pick_bound(g, cmp_e);
    if (e >= 0) {
        int f = pick_bound(g, cmp_e);
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
        add_clause(g, 0, 1u << e, "(reach %s %u)", var_name(e), 1 + rnd(nent));
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
    tu_sb_printf(b, "[:find %s%s%s", find, with ? " :with " : "", with ? with : "");
    if (g->uses_rule || g->in_coll[0] || g->in_ents[0] || g->in_scalar[0])
        tu_sb_printf(b, " :in $%s%s%s%s", g->in_coll[0] ? " [?v0 ...]" : "",
                     g->in_ents[0] ? " [?e5 ...]" : "", g->in_scalar[0] ? " ?v1" : "",
                     g->uses_rule ? " %" : "");
    tu_sb_printf(b, " :where");
    for (int i = 0; i < g->n; i++) tu_sb_printf(b, " %s", g->c[ord[i]].text);
    tu_sb_printf(b, "]");
}

/* Another order of the clauses in which each one's needs are bound by
 * the ones before it. */
static void shuffle_valid(const gen *g, int *ord) {
    int used[16] = {0};
    vset bound = g->inputs;
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
    char in_coll[64], in_scalar[16]; /* as in gen */
    char in_ents[96];
} rquery;

/* Inputs: a collection for ?v0, a scalar for ?v1, each with a pattern
 * that uses it (other clauses may use them too, as they are bound). */
static void gen_inputs(gen *g) {
    if (chance(15)) {
        int n = 1 + (int)rnd(3), len = 0;
        len += snprintf(g->in_coll + len, sizeof g->in_coll - (size_t)len, "[");
        for (int i = 0; i < n; i++)
            len += snprintf(g->in_coll + len, sizeof g->in_coll - (size_t)len, "%s%u", i ? " " : "",
                            rnd(10));
        snprintf(g->in_coll + len, sizeof g->in_coll - (size_t)len, "]");
        g->inputs |= 1u << VAR_V;
        g->bound |= 1u << VAR_V;
        int e = entity_var(g, 0);
        add_clause(g, 0, 1u << e, "[%s %s ?v0]", var_name(e), chance(50) ? ":a/n" : ":a/m");
    }
    if (chance(10)) { /* entities: ids and lookup refs */
        int n = 1 + (int)rnd(3), len = 0;
        len += snprintf(g->in_ents + len, sizeof g->in_ents - (size_t)len, "[");
        for (int i = 0; i < n; i++) {
            int k = 1 + (int)rnd(nent);
            if (has_key[k] && chance(60))
                len += snprintf(g->in_ents + len, sizeof g->in_ents - (size_t)len,
                                "%s[:a/k \"k%d\"]", i ? " " : "", k);
            else
                len += snprintf(g->in_ents + len, sizeof g->in_ents - (size_t)len, "%s%d",
                                i ? " " : "", k);
        }
        snprintf(g->in_ents + len, sizeof g->in_ents - (size_t)len, "]");
        e5_is_ref = strstr(g->in_ents, "[:") != NULL;
        g->inputs |= 1u << 5;
        g->bound |= 1u << 5;
        static const char *const attrs[] = {":a/n", ":a/s", ":a/tags", ":a/ref"};
        int a = (int)rnd(4);
        int v = a == 3 ? entity_var(g, 0) : value_var(g, a == 0 ? 1 : 2);
        add_clause(g, 0, 1u << v, "[?e5 %s %s]", attrs[a], var_name(v));
    }
    if (chance(10)) {
        snprintf(g->in_scalar, sizeof g->in_scalar, "%u", rnd(6));
        g->inputs |= 1u << (VAR_V + 1);
        g->bound |= 1u << (VAR_V + 1);
        if (chance(50)) {
            int e = entity_var(g, 0);
            add_clause(g, 0, 1u << e, "[%s :a/m ?v1]", var_name(e));
        }
    }
}

/* get-else binding a fresh long, or missing? on a bound entity. */
static void gen_get(gen *g) {
    int e = pick_bound(g, any_e);
    if (e < 0) return;
    int out = -1;
    for (int i = VAR_V; i < NVARS; i++)
        if (is_long_var(i) && !(g->bound >> i & 1)) out = i;
    if (out >= 0 && chance(60))
        add_clause(g, 1u << e, 1u << out, "[(get-else $ %s %s -1) %s]", var_name(e),
                   chance(50) ? ":a/m" : ":a/n", var_name(out));
    else
        add_clause(g, 1u << e, 0, "[(missing? $ %s %s)]", var_name(e),
                   chance(50) ? ":a/ref" : ":a/m");
}

static void gen_query(rquery *out) {
    gen g;
    memset(&g, 0, sizeof g);
    e5_is_ref = 0;
    gen_inputs(&g);
    int npat = 1 + (int)rnd(3);
    for (int i = 0; i < npat; i++) gen_pattern(&g, i == 0 && !g.inputs);
    if (chance(15)) gen_rule(&g);
    if (chance(45)) gen_pred(&g);
    if (chance(20)) gen_pred(&g);
    if (chance(20)) gen_fn(&g);
    if (chance(12)) gen_get(&g);
    if (chance(8)) gen_var_attr(&g);
    if (chance(25)) gen_not(&g);
    if (chance(25)) gen_or(&g);
    if (chance(20)) gen_pattern(&g, 0);
    while ((g.bound & ~g.inputs) == 0) gen_pattern(&g, 1);

    /* the find spec over bound variables */
    int vars[NVARS], nv = 0;
    /* an entity given as a lookup ref is bound to the ref itself, which
     * is how Datomic and DataScript differ; keep it out of the results */
    vset findable = g.bound;
    if (strstr(g.in_ents, "[:")) findable &= ~(1u << 5);
    for (int i = 0; i < NVARS; i++)
        if (findable >> i & 1) vars[nv++] = i;
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
        if (we >= 0 && we != group && (findable >> we & 1) && chance(50)) {
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
    memcpy(out->in_coll, g.in_coll, sizeof out->in_coll);
    memcpy(out->in_scalar, g.in_scalar, sizeof out->in_scalar);
    memcpy(out->in_ents, g.in_ents, sizeof out->in_ents);
    for (int i = 0; i < g.n; i++) free(g.c[i].text);
}

/* }====== */

/* {====== Running ====== */

/* A run's outcome as text: the result in a canonical form (the rows of a
 * relation or collection sorted), or "error N: message". */
static char *run_with(const char *text, const rquery *q, dt_db *db, dt_plan_mode plan,
                      uint64_t max_rows, const dt_cancel *cancel, int *rc_out) {
    dt_input in[5];
    size_t n = 0;
    memset(in, 0, sizeof in);
    in[n++].db = db;
    if (q->in_coll[0]) {
        in[n].edn = q->in_coll;
        in[n++].edn_len = strlen(q->in_coll);
    }
    if (q->in_ents[0]) {
        in[n].edn = q->in_ents;
        in[n++].edn_len = strlen(q->in_ents);
    }
    if (q->in_scalar[0]) {
        in[n].edn = q->in_scalar;
        in[n++].edn_len = strlen(q->in_scalar);
    }
    if (q->uses_rule) {
        in[n].edn = rules;
        in[n++].edn_len = strlen(rules);
    }
    dt_query_options o;
    memset(&o, 0, sizeof o);
    o.version = DT_QUERY_OPTIONS_VERSION;
    o.timeout_ms = QUERY_TIMEOUT_MS;
    o.plan = plan;
    o.max_rows = max_rows;
    o.cancel = cancel;
    dt_result *r = NULL;
    int rc = dt_q_inputs(text, strlen(text), in, n, &o, &r);
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
        if (v.u.seq.n > 1) qsort(v.u.seq.items, v.u.seq.n, sizeof *v.u.seq.items, tu_value_cmp);
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

static char *run(const char *text, const rquery *q, dt_db *db, dt_plan_mode plan, int *rc_out) {
    return run_with(text, q, db, plan, MAX_ROWS, NULL, rc_out);
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
    uint64_t mismatches = 0, rejected = 0, nonempty = 0, skipped = 0, planner_over = 0;
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
        char *naive = run(q.text, &q, db, DT_PLAN_NAIVE, &rc_n);
        char *autor = run(q.text, &q, db, DT_PLAN_AUTO, &rc_a);
        char *shuf = run(q.shuffled, &q, db, DT_PLAN_AUTO, &rc_s);
        /* Over the row cap: the evaluators build different intermediate
         * tables (a plan may go over where written order does not, or the
         * other way round), so the cap is no answer to compare. */
        if (rc_n == DT_LIMIT || rc_a == DT_LIMIT || rc_s == DT_LIMIT) {
            skipped++;
            if (rc_n != DT_LIMIT && planner_over++ < 3)
                print_message("  (only the planner went over the row cap: #%llu %s)\n",
                              (unsigned long long)i, q.text);
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
                fprintf(stderr,
                        "MISMATCH seed %llu query #%llu\n"
                        "  query:    %s\n"
                        "  reordered: %s\n"
                        "  inputs:   $ %s %s %s%s\n"
                        "  naive:    %s\n"
                        "  auto:     %s\n"
                        "  auto on the reordered query: %s\n",
                        (unsigned long long)seed, (unsigned long long)i, q.text, q.shuffled,
                        q.in_coll, q.in_ents, q.in_scalar,
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
                  "%llu skipped (over %d rows; %llu of them in the planner only), "
                  "%llu mismatches\n",
                  (unsigned long long)count, (unsigned long long)nonempty,
                  (unsigned long long)rejected, (unsigned long long)skipped, MAX_ROWS,
                  (unsigned long long)planner_over, (unsigned long long)mismatches);
    if (mismatches) fprintf(stderr, "rules: %s\n", rules);
    assert_int_equal(mismatches, 0);
    /* the generator makes valid queries: a rejection is a generator or
     * engine bug, tolerated only rarely (and listed above) */
    assert_true(rejected * 100 <= count);
    /* and many queries must find something, or the test shows little */
    assert_true(nonempty * 5 >= count * 2);
    assert_true(skipped * 20 <= count);
}

/* }====== */

/* {====== Stopped runs ====== */

/*
 * Queries stopped part way -- by a row cap (DT_LIMIT), a triggered
 * cancellation token (DT_INTERRUPT) or a deadline (DT_TIMEOUT) -- fail
 * with that code and a message, leak nothing and touch no freed memory
 * (under the sanitizers), and a run that is not stopped gives the full
 * answer.  The row caps stop the evaluators at many different points of
 * random queries.
 */
static void test_stopped_runs_fail_cleanly(void **state) {
    (void)state;
    uint64_t seed = env_u64("DT_DIFF_SEED", DEFAULT_SEED);
    uint64_t count = env_u64("DT_DIFF_COUNT", DEFAULT_COUNT) / 10 + 1;
    rng = seed * 0x9E3779B97F4A7C15ULL + 7;
    tu_db *d = tu_db_open(schema);
    char *data = random_data();
    assert_int_equal(dt_transact(d->conn, data, NULL), DT_OK);
    free(data);
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    static const uint64_t caps[] = {1, 3, 10, 40};
    static const dt_plan_mode plans[] = {DT_PLAN_AUTO, DT_PLAN_NAIVE};
    uint64_t limited = 0, bad = 0;
    for (uint64_t i = 0; i < count; i++) {
        rquery q;
        gen_query(&q);
        int rc = 0;
        char *full = run(q.text, &q, db, DT_PLAN_NAIVE, &rc);
        for (size_t c = 0; c < sizeof caps / sizeof caps[0] && rc == DT_OK; c++)
            for (size_t p = 0; p < 2; p++) {
                int rc2 = 0;
                char *got =
                    run_with(p ? q.shuffled : q.text, &q, db, plans[p], caps[c], NULL, &rc2);
                if (rc2 == DT_LIMIT && strstr(got, "rows")) {
                    limited++;
                } else if (rc2 != DT_OK || strcmp(got, full) != 0) {
                    if (bad++ < 5)
                        fprintf(stderr,
                                "seed %llu query #%llu, max_rows %llu, plan %s:\n  %s\n"
                                "  full: %s\n  got:  %s\n",
                                (unsigned long long)seed, (unsigned long long)i,
                                (unsigned long long)caps[c], p ? "naive" : "auto", q.text, full,
                                got);
                }
                free(got);
            }
        free(full);
        free(q.text);
        free(q.shuffled);
    }
    dt_db_close(db);
    tu_db_close(d);

    /* a closure over a chain: long enough to be stopped by a token or a
     * deadline whatever the evaluator */
    d = tu_db_open("{:next {:db/valueType :db.type/ref}}");
    tu_sbuf chain = {0};
    tu_sb_printf(&chain, "[");
    for (int k = 1; k < 1500; k++) tu_sb_printf(&chain, "[:db/add %d :next %d]", k, k + 1);
    tu_sb_printf(&chain, "]");
    assert_int_equal(dt_transact(d->conn, chain.p, NULL), DT_OK);
    free(chain.p);
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    const char *cq = "[:find (count ?x) . :in $ % :where (r ?x ?y)]";
    const char *cr = "[[(r ?x ?y) [?x :next ?y]] [(r ?x ?y) [?x :next ?z] (r ?z ?y)]]";
    dt_cancel *cancel = NULL;
    assert_int_equal(dt_cancel_new(&cancel), DT_OK);
    dt_cancel_trigger(cancel);
    for (size_t p = 0; p < 2; p++) {
        dt_input in[2];
        memset(in, 0, sizeof in);
        in[0].db = db;
        in[1].edn = cr;
        in[1].edn_len = strlen(cr);
        dt_query_options o;
        memset(&o, 0, sizeof o);
        o.version = DT_QUERY_OPTIONS_VERSION;
        o.plan = plans[p];
        o.cancel = cancel;
        dt_result *r = NULL;
        int rc = dt_q_inputs(cq, strlen(cq), in, 2, &o, &r);
        assert_int_equal(rc, DT_INTERRUPT);
        assert_null(r);
        assert_non_null(strstr(dt_errmsg(NULL), "cancel"));
        /* deadlines of 1..8 ms stop the closure at different points */
        o.cancel = NULL;
        for (uint32_t ms = 1; ms <= 8; ms++) {
            o.timeout_ms = ms;
            rc = dt_q_inputs(cq, strlen(cq), in, 2, &o, &r);
            if (rc == DT_OK) { /* a fast machine: then the answer is right */
                const dt_value *v = dt_result_get(r, 0, 0);
                assert_non_null(v);
                assert_int_equal(v->u.i, 1499);
                dt_result_free(r);
                r = NULL;
                continue;
            }
            assert_int_equal(rc, DT_TIMEOUT);
            assert_null(r);
            assert_non_null(strstr(dt_errmsg(NULL), "deadline"));
        }
    }
    dt_cancel_free(cancel);
    dt_db_close(db);
    tu_db_close(d);
    print_message("stopped runs: %llu stopped by a row cap, %llu wrong\n",
                  (unsigned long long)limited, (unsigned long long)bad);
    assert_int_equal(bad, 0);
    assert_true(limited > 0);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_naive_and_planned_agree),
        cmocka_unit_test(test_stopped_runs_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
