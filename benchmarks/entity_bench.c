/*
 * entity_bench.c -- entity attribute access (dt_entity_*) against the same
 * reads through dt_db_datoms, on one snapshot of N people (name, email,
 * age, a friend ref and three tags each).  Random entities (fixed seed);
 * the two sides alternate A B A B within each run; CPU time of the
 * reading thread.  Usage: entity_bench [N [runs [dir]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "datolite.h"

#define OPS 20000

static void die(const char *what, int rc, const void *h) {
    fprintf(stderr, "entity_bench: %s: %s (%s)\n", what, dt_errstr(rc), dt_errmsg(h));
    exit(1);
}

static void load(dt_conn *c, int n) {
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    for (int base = 1; base <= n; base += 1000) {
        size_t len = 0;
        len += (size_t)snprintf(buf + len, cap - len, "[");
        for (int e = base; e < base + 1000 && e <= n; e++) {
            int friend = (int)((e * 7919L) % n) + 1;
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{:db/id %d :person/name \"Person %d\" :person/email \"p%d@x\""
                                    " :person/age %d :person/friend %d :person/tags [:t%d :t%d "
                                    ":t%d]}",
                                    e, e, e, 18 + e % 60, friend, e % 5, e % 7, e % 11 + 5);
        }
        snprintf(buf + len, cap - len, "]");
        int rc = dt_transact(c, buf, NULL);
        if (rc != DT_OK) die("load", rc, c);
    }
    free(buf);
}

typedef int (*op_fn)(dt_db *db, int64_t e);

/* {====== The operations, each side ====== */

static int64_t sink;

static int ent_one(dt_db *db, int64_t e) {
    dt_value r;
    dt_value_long(e, &r);
    dt_entity *ent;
    int rc = dt_entity_get(db, &r, &ent);
    int64_t age = 0;
    if (rc == DT_OK) rc = dt_entity_get_long(ent, ":person/age", &age);
    sink += age;
    dt_entity_close(ent);
    return rc;
}

/* Reads every datom of the given components; adds a long value to sink. */
static int datoms(dt_db *db, dt_index idx, const dt_value *c, size_t n) {
    dt_datom_iter *it;
    int rc = dt_db_datoms(db, idx, c, n, &it);
    if (rc != DT_OK) return rc;
    dt_datom d;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW)
        sink += d.v.type == DT_LONG ? d.v.u.i : (int64_t)d.e;
    dt_datom_iter_close(it);
    return rc == DT_DONE ? DT_OK : rc;
}

static dt_value KW_AGE, KW_NAME, KW_EMAIL, KW_TAGS, KW_FRIEND;

static int dat_one(dt_db *db, int64_t e) {
    dt_value c[2];
    dt_value_long(e, &c[0]);
    c[1] = KW_AGE;
    return datoms(db, DT_INDEX_EAV, c, 2);
}

static int ent_four(dt_db *db, int64_t e) {
    dt_value r;
    dt_value_long(e, &r);
    dt_entity *ent;
    int rc = dt_entity_get(db, &r, &ent);
    if (rc != DT_OK) return rc;
    int64_t age = 0;
    const char *s;
    size_t len = 0;
    dt_value tags;
    rc = dt_entity_get_long(ent, ":person/age", &age);
    if (rc == DT_OK) rc = dt_entity_get_string(ent, ":person/name", &s, &len);
    if (rc == DT_OK) rc = dt_entity_get_string(ent, ":person/email", &s, &len);
    if (rc == DT_OK) rc = dt_entity_attr(ent, ":person/tags", &tags);
    if (rc == DT_OK) sink += age + (int64_t)len + (int64_t)tags.u.seq.n;
    dt_value_free(&tags);
    dt_entity_close(ent);
    return rc;
}

static int dat_four(dt_db *db, int64_t e) {
    dt_value c[2];
    dt_value_long(e, &c[0]);
    const dt_value *attrs[4] = {&KW_AGE, &KW_NAME, &KW_EMAIL, &KW_TAGS};
    for (int i = 0; i < 4; i++) {
        c[1] = *attrs[i];
        int rc = datoms(db, DT_INDEX_EAV, c, 2);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

static int ent_touch(dt_db *db, int64_t e) {
    dt_value r, t;
    dt_value_long(e, &r);
    dt_entity *ent;
    int rc = dt_entity_get(db, &r, &ent);
    if (rc == DT_OK) rc = dt_entity_touch(ent, &t);
    if (rc == DT_OK) sink += (int64_t)t.u.seq.n;
    dt_value_free(&t);
    dt_entity_close(ent);
    return rc;
}

static int dat_touch(dt_db *db, int64_t e) {
    dt_value c;
    dt_value_long(e, &c);
    return datoms(db, DT_INDEX_EAV, &c, 1);
}

static int ent_reverse(dt_db *db, int64_t e) {
    dt_value r, v;
    dt_value_long(e, &r);
    dt_entity *ent;
    int rc = dt_entity_get(db, &r, &ent);
    if (rc == DT_OK) rc = dt_entity_attr(ent, ":person/_friend", &v);
    if (rc == DT_OK) sink += (int64_t)v.u.seq.n;
    if (rc == DT_NOTFOUND) rc = DT_OK;
    dt_value_free(&v);
    dt_entity_close(ent);
    return rc;
}

static int dat_reverse(dt_db *db, int64_t e) {
    dt_value c[2];
    c[0] = KW_FRIEND;
    dt_value_ref(e, &c[1]);
    return datoms(db, DT_INDEX_AVE, c, 2);
}

/* }====== */

/* ops/s of OPS calls of f on random entities (CPU time). */
static double run(dt_db *db, op_fn f, int n, uint64_t seed) {
    double t0 = bench_cpu_now();
    for (int i = 0; i < OPS; i++) {
        int64_t e = (int64_t)(bench_rng(&seed) % (uint64_t)n) + 1;
        int rc = f(db, e);
        if (rc != DT_OK) die("read", rc, db);
    }
    return OPS / (bench_cpu_now() - t0);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/entity_bench.%d",
             argc > 3 ? argv[3]
             : tmp    ? tmp
                      : "/tmp",
             (int)getpid());
    bench_rm_rf(dir);
    const char *schema =
        "{:person/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
        " :person/name {:db/valueType :db.type/string}"
        " :person/age {:db/valueType :db.type/long}"
        " :person/friend {:db/valueType :db.type/ref}"
        " :person/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}}";
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags |= DT_KV_NOSYNC;
    dt_conn *c;
    int rc = dt_conn_open(dir, schema, &o, &c);
    if (rc != DT_OK) die("open", rc, NULL);
    load(c, n);
    dt_value_text(DT_KEYWORD, "person/age", 10, &KW_AGE);
    dt_value_text(DT_KEYWORD, "person/name", 11, &KW_NAME);
    dt_value_text(DT_KEYWORD, "person/email", 12, &KW_EMAIL);
    dt_value_text(DT_KEYWORD, "person/tags", 11, &KW_TAGS);
    dt_value_text(DT_KEYWORD, "person/friend", 13, &KW_FRIEND);
    dt_db *db;
    if ((rc = dt_conn_db(c, &db)) != DT_OK) die("db", rc, c);
    struct {
        const char *name, *what;
        op_fn ent, dat;
    } ops[] = {
        {"one_attr", "get + 1 long attribute", ent_one, dat_one},
        {"four_attrs", "get + long, 2 strings, a 3-value set", ent_four, dat_four},
        {"touch", "all attributes of an entity", ent_touch, dat_touch},
        {"reverse_ref", "the entities whose :person/friend is e", ent_reverse, dat_reverse},
    };
    size_t nops = sizeof ops / sizeof ops[0];
    printf("| operation | entity ops/s | datoms ops/s | entity / datoms |\n|---|---:|---:|---:|\n");
    for (size_t k = 0; k < nops; k++) {
        double *a = calloc((size_t)runs, sizeof *a), *b = calloc((size_t)runs, sizeof *b);
        run(db, ops[k].ent, n, 1); /* warm-up */
        run(db, ops[k].dat, n, 1);
        for (int r = 0; r < runs; r++) {
            uint64_t seed = 42 + (uint64_t)r;
            if (r % 2 == 0) {
                a[r] = run(db, ops[k].ent, n, seed);
                b[r] = run(db, ops[k].dat, n, seed);
            } else {
                b[r] = run(db, ops[k].dat, n, seed);
                a[r] = run(db, ops[k].ent, n, seed);
            }
        }
        qsort(a, (size_t)runs, sizeof *a, bench_cmp_double);
        qsort(b, (size_t)runs, sizeof *b, bench_cmp_double);
        double ma = a[runs / 2], mb = b[runs / 2];
        fprintf(stderr,
                "{\"bench\":\"entity\",\"op\":\"%s\",\"n\":%d,\"runs\":%d,\"entity_ops\":%.0f,"
                "\"datoms_ops\":%.0f,\"ratio\":%.3f,\"entity_min\":%.0f,\"entity_max\":%.0f}\n",
                ops[k].name, n, runs, ma, mb, ma / mb, a[0], a[runs - 1]);
        printf("| %s (%s) | %.0f | %.0f | %.2f |\n", ops[k].name, ops[k].what, ma, mb, ma / mb);
        free(a);
        free(b);
    }
    dt_db_close(db);
    dt_value_free(&KW_AGE);
    dt_value_free(&KW_NAME);
    dt_value_free(&KW_EMAIL);
    dt_value_free(&KW_TAGS);
    dt_value_free(&KW_FRIEND);
    dt_conn_close(c);
    bench_rm_rf(dir);
    return sink == 42 ? 2 : 0;
}
