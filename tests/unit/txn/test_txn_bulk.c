/*
 * test_txn_bulk.c -- bulk loading (dt_loader_*): a load must leave exactly
 * the database that transacting the same datoms leaves (both indexes,
 * counts, statistics, lookup refs), from every input form; every error
 * must leave the database as it was; spilled sorts, map growth, reopening
 * and long values must not change the result.  An init-db committed in
 * many small chunks must give the same database, take every chunk back on
 * a late error, and leave a marker that dt_conn_open refuses if it never
 * completes.
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "store.h"

static const char *SCHEMA =
    "{:p/name {:db/valueType :db.type/string}"
    " :p/age {:db/valueType :db.type/long}"
    " :p/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/friend {:db/valueType :db.type/ref}"
    " :p/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :p/bio {:db/valueType :db.type/string}}";

static const char *USER_ATTRS[] = {"p/name", "p/age", "p/email", "p/friend",
                                   "p/tags", "p/bio", "x/score"};
#define NUSER_ATTRS (sizeof USER_ATTRS / sizeof USER_ATTRS[0])

/* {====== Data ====== */

typedef struct datom {
    int64_t e;
    const char *a;
    dt_value v;
} datom;

typedef struct dataset {
    datom *d;
    size_t n, cap;
} dataset;

static void ds_add(dataset *s, int64_t e, const char *a, dt_value v) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->d = realloc(s->d, s->cap * sizeof *s->d);
        assert_non_null(s->d);
    }
    s->d[s->n++] = (datom){e, a, v};
}

static void ds_free(dataset *s) {
    for (size_t i = 0; i < s->n; i++) dt_value_free(&s->d[i].v);
    free(s->d);
    memset(s, 0, sizeof *s);
}

static dt_value str_value(const char *s) {
    dt_value v;
    assert_int_equal(dt_value_text(DT_STRING, s, strlen(s), &v), DT_OK);
    return v;
}

static dt_value kw_value(const char *s) {
    dt_value v;
    assert_int_equal(dt_value_text(DT_KEYWORD, s, strlen(s), &v), DT_OK);
    return v;
}

static dt_value long_value(int64_t i) {
    dt_value v;
    dt_value_long(i, &v);
    return v;
}

/* A long text (> 500 bytes) that differs by k. */
static dt_value long_text(unsigned k) {
    char buf[700];
    int n = snprintf(buf, sizeof buf, "bio-%u ", k % 7);
    while (n < 640) {
        buf[n] = (char)('a' + (n * 7 + (int)(k % 7)) % 26);
        n++;
    }
    buf[n] = '\0';
    return str_value(buf);
}

/*
 * People: entity ids 1..n in a shuffled order of appearance, every
 * attribute kind (long, string, unique string, ref, many keyword, long
 * strings, an undeclared attribute), duplicated datoms on purpose.
 */
static void make_people(dataset *s, size_t n, uint64_t seed) {
    static const char *names[] = {"Ivan", "Petr", "Oleg", "Anna", "Maria", "Olga"};
    static const char *tags[] = {"admin", "dev", "ops", "qa"};
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        int64_t e = (int64_t)(((i * 7919) % n) + 1);
        char email[64];
        snprintf(email, sizeof email, "user%lld@example.com", (long long)e);
        ds_add(s, e, "p/name", str_value(names[tu_rand(&st) % 6]));
        int64_t age = (int64_t)(tu_rand(&st) % 100);
        ds_add(s, e, "p/age", long_value(age));
        ds_add(s, e, "p/email", str_value(email));
        ds_add(s, e, "p/friend", long_value((int64_t)(tu_rand(&st) % n) + 1));
        int nt = (int)(tu_rand(&st) % 3);
        for (int t = 0; t < nt; t++) ds_add(s, e, "p/tags", kw_value(tags[tu_rand(&st) % 4]));
        if (e % 10 == 0) ds_add(s, e, "p/bio", long_text((unsigned)e));
        if (e % 3 == 0) ds_add(s, e, "x/score", long_value(-(int64_t)(e % 17)));
        if (e % 25 == 0) ds_add(s, e, "p/age", long_value(age)); /* a duplicate datom */
    }
}

/* The dataset as [[:db/add e :a v] ...] for dt_transact. */
static char *as_tx_edn(const dataset *s) {
    size_t cap = 64 + s->n * 64, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    len += (size_t)sprintf(out, "[");
    for (size_t i = 0; i < s->n; i++) {
        char *v = tu_edn(&s->d[i].v);
        size_t need = strlen(v) + strlen(s->d[i].a) + 64;
        if (len + need >= cap) {
            cap = (cap + need) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        len += (size_t)sprintf(out + len, "[:db/add %lld :%s %s]\n", (long long)s->d[i].e,
                               s->d[i].a, v);
        free(v);
    }
    sprintf(out + len, "]");
    return out;
}

/* The dataset as EDN datoms, one per line, or inside one vector. */
static char *as_load_edn(const dataset *s, int enclosing) {
    size_t cap = 64 + s->n * 64, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    if (enclosing) len += (size_t)sprintf(out, "[");
    for (size_t i = 0; i < s->n; i++) {
        char *v = tu_edn(&s->d[i].v);
        size_t need = strlen(v) + strlen(s->d[i].a) + 64;
        if (len + need >= cap) {
            cap = (cap + need) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        len += (size_t)sprintf(out + len, "%s[%lld :%s %s]\n", enclosing && i ? " " : "",
                               (long long)s->d[i].e, s->d[i].a, v);
        free(v);
    }
    if (enclosing) sprintf(out + len, "]\n");
    return out;
}

/* The dataset as a msgpack stream of [e attr v]; attributes alternate
 * between keyword ext and string. */
static void *as_msgpack(const dataset *s, size_t *out_len) {
    size_t cap = 1024, len = 0;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    for (size_t i = 0; i < s->n; i++) {
        dt_value rec;
        assert_int_equal(dt_value_seq(DT_VECTOR, 3, &rec), DT_OK);
        dt_value_long(s->d[i].e, &rec.u.seq.items[0]);
        assert_int_equal(dt_value_text(i % 2 ? DT_STRING : DT_KEYWORD, s->d[i].a, strlen(s->d[i].a),
                                       &rec.u.seq.items[1]),
                         DT_OK);
        assert_int_equal(dt_value_copy(&s->d[i].v, &rec.u.seq.items[2]), DT_OK);
        void *b = NULL;
        size_t n = 0;
        assert_int_equal(dt_msgpack_encode(&rec, &b, &n), DT_OK);
        if (len + n > cap) {
            cap = (len + n) * 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        memcpy(out + len, b, n);
        len += n;
        dt_free(b);
        dt_value_free(&rec);
    }
    *out_len = len;
    return out;
}

/* }====== */

/* {====== Helpers ====== */

typedef struct fixture {
    tu_db *a, *b; /* a: transacted; b: loaded */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->a = tu_db_open(SCHEMA);
    f->b = tu_db_open(SCHEMA);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    tu_db_close(f->a);
    tu_db_close(f->b);
    free(f);
    return 0;
}

static dt_loader *open_loader_chunked(dt_conn *c, dt_load_mode mode, size_t budget, size_t chunk) {
    dt_load_options o = DT_LOAD_OPTIONS_INIT;
    o.mem_budget = budget;
    o.chunk_size = chunk;
    dt_loader *ld = NULL;
    int rc = dt_loader_open(c, mode, &o, &ld);
    if (rc != DT_OK) fail_msg("dt_loader_open: %s", dt_errmsg(c));
    return ld;
}

static dt_loader *open_loader(dt_conn *c, dt_load_mode mode, size_t budget) {
    return open_loader_chunked(c, mode, budget, 0);
}

static uint64_t load_dataset_chunked(dt_conn *c, dt_load_mode mode, const dataset *s, size_t budget,
                                     size_t chunk) {
    dt_loader *ld = open_loader_chunked(c, mode, budget, chunk);
    for (size_t i = 0; i < s->n; i++) {
        int rc = dt_loader_add(ld, s->d[i].e, s->d[i].a, &s->d[i].v);
        if (rc != DT_OK) fail_msg("dt_loader_add: %s", dt_errmsg(ld));
    }
    uint64_t n = 0;
    int rc = dt_loader_finish(ld, &n);
    if (rc != DT_OK) fail_msg("dt_loader_finish: %s", dt_errmsg(ld));
    dt_loader_close(ld);
    return n;
}

static uint64_t load_dataset(dt_conn *c, dt_load_mode mode, const dataset *s, size_t budget) {
    return load_dataset_chunked(c, mode, s, budget, 0);
}

/* The number of LMDB write transactions committed so far. */
static uint64_t commits(dt_conn *c) {
    dt_kv_envstat es;
    assert_int_equal(dt_kv_stat(c->kv, &es), DT_OK);
    return es.last_txn_id;
}

/* 1 when the init-db marker is stored. */
static int has_marker(dt_conn *c) {
    void *p = NULL;
    size_t n = 0;
    int rc = dt_kv_get(c->kv, NULL, c->st.meta, DL_META_LOADING, strlen(DL_META_LOADING), &p, &n);
    dt_free(p);
    assert_true(rc == DT_OK || rc == DT_NOTFOUND);
    return rc == DT_OK;
}

static void assert_strings_equal(const char *what, const char *got, const char *want) {
    if (strcmp(got, want) != 0)
        fail_msg("%s differ.\n--- got (%zu bytes):\n%.2000s\n--- wanted (%zu bytes):\n%.2000s",
                 what, strlen(got), got, strlen(want), want);
}

/* Both indexes of both databases, datom by datom in index order
 * (transaction entities left out), must be equal. */
static void assert_same_indexes(dt_conn *x, dt_conn *y) {
    for (int idx = 0; idx < 2; idx++) {
        dt_db *dx, *dy;
        assert_int_equal(dt_conn_db(x, &dx), DT_OK);
        assert_int_equal(dt_conn_db(y, &dy), DT_OK);
        dt_datom_iter *ix, *iy;
        assert_int_equal(dt_db_datoms(dx, (dt_index)idx, NULL, 0, &ix), DT_OK);
        assert_int_equal(dt_db_datoms(dy, (dt_index)idx, NULL, 0, &iy), DT_OK);
        dt_datom a, b;
        int ra, rb;
        size_t pos = 0;
        for (;;) {
            while ((ra = dt_datom_iter_next(ix, &a)) == DT_ROW && a.e >= DT_TX0) {
            }
            while ((rb = dt_datom_iter_next(iy, &b)) == DT_ROW && b.e >= DT_TX0) {
            }
            assert_int_equal(ra, rb);
            if (ra != DT_ROW) break;
            if (a.e != b.e || strcmp(a.a, b.a) != 0 || !dt_value_equal(&a.v, &b.v)) {
                char *va = tu_edn(&a.v), *vb = tu_edn(&b.v);
                fail_msg("%s datom %zu: [%lld :%s %s] vs [%lld :%s %s]", idx ? "AVE" : "EAV", pos,
                         (long long)a.e, a.a, va, (long long)b.e, b.a, vb);
            }
            pos++;
        }
        assert_int_equal(ra, DT_DONE);
        dt_datom_iter_close(ix);
        dt_datom_iter_close(iy);
        dt_db_close(dx);
        dt_db_close(dy);
    }
}

/* Statistics and counts of every user attribute must be equal. */
static void assert_same_stats(dt_conn *x, dt_conn *y) {
    dt_db *dx, *dy;
    assert_int_equal(dt_conn_db(x, &dx), DT_OK);
    assert_int_equal(dt_conn_db(y, &dy), DT_OK);
    for (size_t i = 0; i < NUSER_ATTRS; i++) {
        dt_attr_stats sx, sy;
        int rx = dt_db_attr_stats(dx, USER_ATTRS[i], &sx);
        int ry = dt_db_attr_stats(dy, USER_ATTRS[i], &sy);
        assert_int_equal(rx, ry);
        if (rx != DT_OK) continue;
        if (sx.count != sy.count || sx.distinct != sy.distinct)
            fail_msg(":%s stats: count %llu/%llu distinct %llu/%llu", USER_ATTRS[i],
                     (unsigned long long)sx.count, (unsigned long long)sy.count,
                     (unsigned long long)sx.distinct, (unsigned long long)sy.distinct);
        assert_true(dt_value_equal(&sx.min, &sy.min));
        assert_true(dt_value_equal(&sx.max, &sy.max));
        dt_value kw = kw_value(USER_ATTRS[i]);
        uint64_t cx = 0, cy = 0;
        assert_int_equal(dt_db_count_datoms(dx, DT_INDEX_AVE, &kw, 1, &cx), DT_OK);
        assert_int_equal(dt_db_count_datoms(dy, DT_INDEX_AVE, &kw, 1, &cy), DT_OK);
        assert_int_equal(cx, cy);
        assert_int_equal(cx, sx.count);
        dt_value_free(&kw);
        dt_attr_stats_free(&sx);
        dt_attr_stats_free(&sy);
    }
    uint64_t cx = 0, cy = 0;
    dt_value e = long_value(10);
    assert_int_equal(dt_db_count_datoms(dx, DT_INDEX_EAV, &e, 1, &cx), DT_OK);
    assert_int_equal(dt_db_count_datoms(dy, DT_INDEX_EAV, &e, 1, &cy), DT_OK);
    assert_int_equal(cx, cy);
    dt_db_close(dx);
    dt_db_close(dy);
}

/* [:p/email "user<e>@example.com"] resolves to e in both. */
static void assert_lookup(dt_conn *c, int64_t e) {
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    char email[64];
    snprintf(email, sizeof email, "user%lld@example.com", (long long)e);
    dt_value ref;
    assert_int_equal(dt_value_seq(DT_VECTOR, 2, &ref), DT_OK);
    ref.u.seq.items[0] = kw_value("p/email");
    ref.u.seq.items[1] = str_value(email);
    int64_t got = 0;
    assert_int_equal(dt_db_entid(db, &ref, &got), DT_OK);
    assert_int_equal(got, e);
    dt_value_free(&ref);
    dt_db_close(db);
}

static void assert_same_db(dt_conn *x, dt_conn *y) {
    char *dx = tu_dump(x, 0), *dy = tu_dump(y, 0);
    assert_strings_equal("dumps", dy, dx);
    free(dx);
    free(dy);
    assert_same_indexes(x, y);
    assert_same_stats(x, y);
}

static void transact_dataset(dt_conn *c, const dataset *s) {
    char *edn = as_tx_edn(s);
    dt_report *r = tu_tx(c, edn, DT_OK, 0);
    (void)r;
    free(edn);
}

/* Asserts that a load failing in `step` leaves the database as it was;
 * step returns the code and the message must contain `needle`. */
typedef int (*load_step)(dt_loader *ld);

static void assert_load_fails_unchanged(dt_conn *c, dt_load_mode mode, load_step step, int want,
                                        const char *needle) {
    char *before = tu_dump(c, 1), *schema_before = NULL, *schema_after = NULL;
    assert_int_equal(dt_conn_schema(c, &schema_before), DT_OK);
    dt_loader *ld = open_loader(c, mode, 0);
    int rc = step(ld);
    if (rc != want) fail_msg("step gave %d (%s), wanted %d", rc, dt_errmsg(ld), want);
    if (needle && !strstr(dt_errmsg(ld), needle))
        fail_msg("message \"%s\" lacks \"%s\"", dt_errmsg(ld), needle);
    /* sticky: nothing more is accepted and finishing reports it */
    dt_value v = long_value(1);
    if (want != DT_CONFLICT) {
        assert_int_equal(dt_loader_add(ld, 1, "p/age", &v), want);
        assert_int_equal(dt_loader_finish(ld, NULL), want);
    }
    dt_loader_close(ld);
    char *after = tu_dump(c, 1);
    assert_string_equal(before, after);
    assert_int_equal(dt_conn_schema(c, &schema_after), DT_OK);
    assert_string_equal(schema_before, schema_after);
    free(before);
    free(after);
    dt_free(schema_before);
    dt_free(schema_after);
    /* the writer slot is free again */
    assert_int_equal(dt_conn_update_schema(c, "{}"), DT_OK);
}

/* }====== */

/* {====== Equivalence with transact ====== */

static void test_init_load_answers_like_transact(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 400, 1);
    transact_dataset(f->a->conn, &s);
    uint64_t n = load_dataset(f->b->conn, DT_LOAD_INIT, &s, 0);
    uint64_t total = 0;
    dt_db *db;
    assert_int_equal(dt_conn_db(f->a->conn, &db), DT_OK);
    for (size_t i = 0; i < NUSER_ATTRS; i++) {
        dt_attr_stats st;
        assert_int_equal(dt_db_attr_stats(db, USER_ATTRS[i], &st), DT_OK);
        total += st.count;
        dt_attr_stats_free(&st);
    }
    dt_db_close(db);
    assert_int_equal(n, total); /* duplicates are not counted */
    assert_true(n < s.n);
    assert_same_db(f->a->conn, f->b->conn);
    assert_lookup(f->a->conn, 17);
    assert_lookup(f->b->conn, 17);
    ds_free(&s);
}

static void test_load_creates_one_transaction_with_instant_and_log(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 20, 2);
    uint64_t n = load_dataset(f->b->conn, DT_LOAD_INIT, &s, 0);
    dt_conn *c = f->b->conn;
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    int64_t tx = dt_db_basis_tx(db);
    assert_int_equal(tx, DT_TX0 + 1);
    dt_value e = long_value(tx);
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, &e, 1, &it), DT_OK);
    dt_datom d;
    assert_int_equal(dt_datom_iter_next(it, &d), DT_ROW);
    assert_string_equal(d.a, "db/txInstant");
    assert_int_equal(d.v.type, DT_INSTANT);
    assert_int_equal(dt_datom_iter_next(it, &d), DT_DONE);
    dt_datom_iter_close(it);
    /* every user datom carries the load's tx */
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, NULL, 0, &it), DT_OK);
    while (dt_datom_iter_next(it, &d) == DT_ROW) assert_int_equal(d.tx, tx);
    dt_datom_iter_close(it);
    dt_db_close(db);
    /* the tx-log entry is {:bulk-load n} */
    uint8_t k[8];
    dl_put_u64(k, (uint64_t)tx);
    void *bytes = NULL;
    size_t len = 0;
    assert_int_equal(dt_kv_get(c->kv, NULL, c->st.txlog, k, 8, &bytes, &len), DT_OK);
    dt_value log;
    assert_int_equal(dt_msgpack_decode(bytes, len, &log, NULL), DT_OK);
    char *text = tu_edn(&log);
    char want[64];
    snprintf(want, sizeof want, "{:bulk-load %llu}", (unsigned long long)n);
    assert_string_equal(text, want);
    free(text);
    dt_value_free(&log);
    dt_free(bytes);
    ds_free(&s);
}

static void test_edn_lines_and_enclosing_vector_load_the_same(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 150, 3);
    transact_dataset(f->a->conn, &s);
    for (int enclosing = 0; enclosing < 2; enclosing++) {
        tu_db *d = tu_db_open(SCHEMA);
        char *edn = as_load_edn(&s, enclosing);
        dt_loader *ld = open_loader(d->conn, DT_LOAD_INIT, 0);
        /* in two pieces, each of whole forms */
        if (!enclosing) {
            char *mid = strchr(edn + strlen(edn) / 2, '\n') + 1;
            assert_int_equal(dt_loader_add_edn(ld, edn, (size_t)(mid - edn)), DT_OK);
            assert_int_equal(dt_loader_add_edn(ld, mid, strlen(mid)), DT_OK);
        } else {
            int rc = dt_loader_add_edn(ld, edn, strlen(edn));
            if (rc != DT_OK) fail_msg("%s", dt_errmsg(ld));
        }
        uint64_t n = 0;
        assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
        assert_true(n > 0);
        dt_loader_close(ld);
        assert_same_db(f->a->conn, d->conn);
        free(edn);
        tu_db_close(d);
    }
    /* an enclosing vector followed by a comment, and an empty one */
    tu_db *d = tu_db_open(SCHEMA);
    dt_loader *ld = open_loader(d->conn, DT_LOAD_INIT, 0);
    assert_int_equal(dt_loader_add_edn(ld, "[]", 2), DT_OK);
    const char *t = "[[1 :p/age 5]\n [2 :p/age 6]] ; the end";
    assert_int_equal(dt_loader_add_edn(ld, t, strlen(t)), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    assert_int_equal(n, 2);
    dt_loader_close(ld);
    char *dump = tu_dump(d->conn, 0);
    assert_string_equal(dump, "[1 :p/age 5]\n[2 :p/age 6]");
    free(dump);
    tu_db_close(d);
    ds_free(&s);
}

static void test_msgpack_stream_loads_the_same(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 300, 4);
    transact_dataset(f->a->conn, &s);
    size_t len = 0;
    uint8_t *mp = as_msgpack(&s, &len);
    dt_loader *ld = open_loader(f->b->conn, DT_LOAD_INIT, 0);
    /* in chunks that end on datom boundaries: half, then the rest */
    size_t half = 0;
    for (size_t i = 0, pos = 0; i < s.n / 2; i++) {
        dt_value v;
        size_t used = 0;
        assert_int_equal(dt_msgpack_decode(mp + pos, len - pos, &v, &used), DT_OK);
        dt_value_free(&v);
        pos += used;
        half = pos;
    }
    int rc = dt_loader_add_msgpack(ld, mp, half);
    if (rc != DT_OK) fail_msg("%s", dt_errmsg(ld));
    assert_int_equal(dt_loader_add_msgpack(ld, mp + half, len - half), DT_OK);
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    assert_same_db(f->a->conn, f->b->conn);
    free(mp);
    ds_free(&s);
}

/* A stream fed in pieces that cut datoms anywhere (here: every piece
 * size from 1 to 97 bytes in turn) loads what one call loads. */
static void test_msgpack_parts_cut_anywhere_load_the_same(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 200, 4);
    transact_dataset(f->a->conn, &s);
    size_t len = 0;
    uint8_t *mp = as_msgpack(&s, &len);
    dt_loader *ld = open_loader(f->b->conn, DT_LOAD_INIT, 0);
    size_t start = 0, end = 0, step = 1, calls = 0, partial = 0;
    while (end < len) {
        end = end + step > len ? len : end + step;
        step = step % 97 + 1;
        size_t used = 12345;
        int rc = dt_loader_add_msgpack_part(ld, mp + start, end - start, &used);
        if (rc != DT_OK) fail_msg("%s", dt_errmsg(ld));
        assert_true(used <= end - start);
        if (used < end - start) partial++;
        start += used;
        calls++;
    }
    assert_true(partial > 0); /* some pieces did end inside a datom */
    assert_true(calls > 10);
    assert_int_equal(dt_loader_add_msgpack(ld, mp + start, len - start), DT_OK);
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    assert_same_db(f->a->conn, f->b->conn);
    free(mp);
    ds_free(&s);
}

/* The part API leaves a cut-off datom for later, reports malformed bytes
 * at once with their offset in the whole stream, and the final call
 * reports what stays cut off. */
static void test_msgpack_parts_report_errors_with_stream_offsets(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    /* [1 "p/age" 7] (9 bytes) then the first 4 bytes of [2 "p/age" 8] */
    static const uint8_t a[] = {0x93, 0x01, 0xa5, 'p',  '/',  'a', 'g',
                                'e',  0x07, 0x93, 0x02, 0xa5, 'p'};
    dt_loader *ld = open_loader(d->conn, DT_LOAD_INIT, 0);
    size_t used = 0;
    assert_int_equal(dt_loader_add_msgpack_part(ld, a, sizeof a, &used), DT_OK);
    assert_int_equal(used, 9);
    assert_int_equal(dt_loader_add_msgpack_part(ld, a + 9, 4, &used), DT_OK);
    assert_int_equal(used, 0);
    assert_int_equal(dt_loader_add_msgpack(ld, a + 9, 4), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ld), "byte 9"));
    dt_loader_close(ld);
    /* 0xc1 is never valid msgpack: an error now, at byte 9 of the stream */
    static const uint8_t b[] = {0x93, 0x01, 0xa5, 'p', '/', 'a', 'g', 'e', 0x07, 0xc1};
    ld = open_loader(d->conn, DT_LOAD_INIT, 0);
    assert_int_equal(dt_loader_add_msgpack_part(ld, b, 9, &used), DT_OK);
    assert_int_equal(dt_loader_add_msgpack_part(ld, b + 9, 1, &used), DT_INVALID);
    assert_non_null(strstr(dt_errmsg(ld), "byte 9"));
    assert_int_equal(dt_loader_add_msgpack_part(ld, b, 1, NULL), DT_INVALID); /* sticky */
    dt_loader_close(ld);
    assert_int_equal(dt_loader_add_msgpack_part(NULL, b, 1, &used), DT_MISUSE);
    char *dump = tu_dump(d->conn, 0);
    assert_string_equal(dump, "");
    free(dump);
    tu_db_close(d);
}

static void test_msgpack_accepts_every_value_type(void **state) {
    fixture *f = *state;
    const char *tx =
        "[[:db/add 1 :v/bool true] [:db/add 1 :v/double 2.5] [:db/add 1 :v/float 1.5]"
        " [:db/add 1 :v/inst #inst \"2020-01-02T03:04:05.006Z\"]"
        " [:db/add 1 :v/uuid #uuid \"6f1b9d4e-0a3c-4a5e-9b1e-2d3c4b5a6f70\"]"
        " [:db/add 1 :v/kw :a/b] [:db/add 1 :v/big 123456789012345678901234567890N]"
        " [:db/add 1 :v/dec 1.50M] [:db/add 1 :v/tuple [1 \"x\" :k]]"
        " [:db/add 1 :v/neg -5] [:db/add 1 :v/u64 4000000000] [:db/add 1 :v/str \"\"]]";
    tu_tx(f->a->conn, tx, DT_OK, 0);
    dt_value txv;
    assert_int_equal(dt_edn_read(tx, strlen(tx), &txv), DT_OK);
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (size_t i = 0; i < txv.u.seq.n; i++) {
        dt_value *form = &txv.u.seq.items[i];
        dt_value rec;
        assert_int_equal(dt_value_seq(DT_VECTOR, 3, &rec), DT_OK);
        for (int j = 0; j < 3; j++) {
            rec.u.seq.items[j] = form->u.seq.items[j + 1];
            dt_value_nil(&form->u.seq.items[j + 1]);
        }
        if (rec.u.seq.items[2].type == DT_VECTOR) rec.u.seq.items[2].type = DT_TUPLE;
        void *b;
        size_t n;
        assert_int_equal(dt_msgpack_encode(&rec, &b, &n), DT_OK);
        memcpy(buf + len, b, n);
        len += n;
        dt_free(b);
        dt_value_free(&rec);
    }
    dt_value_free(&txv);
    dt_loader *ld = open_loader(f->b->conn, DT_LOAD_INIT, 0);
    int rc = dt_loader_add_msgpack(ld, buf, len);
    if (rc != DT_OK) fail_msg("%s", dt_errmsg(ld));
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    char *da = tu_dump(f->a->conn, 0), *db = tu_dump(f->b->conn, 0);
    assert_strings_equal("dumps", db, da);
    free(da);
    free(db);
    free(buf);
}

/* }====== */

/* {====== Errors leave the database unchanged ====== */

static int step_type_error(dt_loader *ld) {
    const char *t = "[1 :p/age 30]\n[2 :new/attr 1]\n[2 :p/age \"thirty\"]\n";
    return dt_loader_add_edn(ld, t, strlen(t));
}

static int step_bad_entity(dt_loader *ld) {
    dt_value v = long_value(1);
    int rc = dt_loader_add(ld, 5, "p/age", &v);
    if (rc == DT_OK) rc = dt_loader_add(ld, 6, "new/attr", &v);
    if (rc == DT_OK) rc = dt_loader_add(ld, DT_TX0, "p/age", &v);
    return rc;
}

static int step_zero_entity_msgpack(dt_loader *ld) {
    static const uint8_t mp[] = {0x93, 0x01, 0xa5, 'p', '/', 'a', 'g', 'e', 0x07,
                                 0x93, 0x00, 0xa5, 'p', '/', 'a', 'g', 'e', 0x07};
    return dt_loader_add_msgpack(ld, mp, sizeof mp);
}

static int step_malformed_edn(dt_loader *ld) {
    const char *t = "[1 :p/age 30]\n[2 :p/age 31]\n[3 :p/age \"oops]\n";
    return dt_loader_add_edn(ld, t, strlen(t));
}

static int step_malformed_edn_enclosing(dt_loader *ld) {
    const char *t = "[[1 :p/age 30]\n [2 :p/age }]]";
    return dt_loader_add_edn(ld, t, strlen(t));
}

static int step_not_a_datom_edn(dt_loader *ld) {
    const char *t = "[1 :p/age 30]\n  {:a 1}\n";
    return dt_loader_add_edn(ld, t, strlen(t));
}

static int step_truncated_msgpack(dt_loader *ld) {
    /* [1 :p/age 7] then [2 "p/name" "Ann..." cut inside the string */
    static const uint8_t mp2[] = {0x93, 0x01, 0xa5, 'p', '/', 'a', 'g', 'e',  0x07, 0x93, 0x02,
                                  0xa6, 'p',  '/',  'n', 'a', 'm', 'e', 0xa5, 'A',  'n'};
    return dt_loader_add_msgpack(ld, mp2, sizeof mp2);
}

static int step_card_one_conflict(dt_loader *ld) {
    const char *t = "[7 :p/age 30] [7 :p/name \"x\"] [7 :p/age 31] [8 :p/age 1]";
    int rc = dt_loader_add_edn(ld, t, strlen(t));
    return rc == DT_OK ? dt_loader_finish(ld, NULL) : rc;
}

static int step_unique_conflict(dt_loader *ld) {
    const char *t = "[7 :p/email \"a@x\"] [8 :p/email \"a@x\"] [9 :p/age 1]";
    int rc = dt_loader_add_edn(ld, t, strlen(t));
    return rc == DT_OK ? dt_loader_finish(ld, NULL) : rc;
}

static void test_errors_leave_the_database_unchanged(void **state) {
    fixture *f = *state;
    dt_conn *c = f->a->conn; /* empty */
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_type_error, DT_INVALID,
                                ":p/age expects long");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_type_error, DT_INVALID, "3:1");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_bad_entity, DT_INVALID, "datom 3");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_bad_entity, DT_INVALID, "out of range");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_zero_entity_msgpack, DT_INVALID, "byte 9");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_malformed_edn, DT_INVALID, "3:");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_malformed_edn_enclosing, DT_INVALID, "2:");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_not_a_datom_edn, DT_INVALID, "2:3");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_truncated_msgpack, DT_INVALID, "byte 9");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_card_one_conflict, DT_CONFLICT, "entity 7");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_card_one_conflict, DT_CONFLICT, ":p/age");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_unique_conflict, DT_CONFLICT, ":p/email");
    assert_load_fails_unchanged(c, DT_LOAD_INIT, step_unique_conflict, DT_CONFLICT, "7 and 8");
    /* the same on a database with data, in fill mode */
    tu_tx(c, "[[:db/add 1 :p/age 10] [:db/add 2 :p/email \"b@x\"]]", DT_OK, 0);
    assert_load_fails_unchanged(c, DT_LOAD_FILL, step_type_error, DT_INVALID, "3:1");
    assert_load_fails_unchanged(c, DT_LOAD_FILL, step_truncated_msgpack, DT_INVALID, "truncated");
    assert_load_fails_unchanged(c, DT_LOAD_FILL, step_card_one_conflict, DT_CONFLICT, "entity 7");
}

static void test_closed_schema_rejects_unknown_attributes(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.closed_schema = 1;
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, SCHEMA, &o, &c), DT_OK);
    char *before = tu_dump(c, 1);
    dt_loader *ld = open_loader(c, DT_LOAD_INIT, 0);
    dt_value v = long_value(3);
    assert_int_equal(dt_loader_add(ld, 1, "p/age", &v), DT_OK);
    assert_int_equal(dt_loader_add(ld, 1, "q/unknown", &v), DT_SCHEMA);
    assert_non_null(strstr(dt_errmsg(ld), ":q/unknown"));
    assert_int_equal(dt_loader_finish(ld, NULL), DT_SCHEMA);
    assert_non_null(strstr(dt_errmsg(c), ":q/unknown")); /* also on the connection */
    dt_loader_close(ld);
    char *after = tu_dump(c, 1);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(dt_conn_close(c), DT_OK);
    tu_rmdir_free(dir);
}

static void test_init_on_a_database_with_datoms_is_misuse(void **state) {
    fixture *f = *state;
    dt_conn *c = f->a->conn;
    tu_tx(c, "[[:db/add 1 :p/age 10]]", DT_OK, 0);
    dt_loader *ld = (dt_loader *)1;
    assert_int_equal(dt_loader_open(c, DT_LOAD_INIT, NULL, &ld), DT_MISUSE);
    assert_null(ld);
    assert_non_null(strstr(dt_errmsg(c), "DT_LOAD_FILL"));
    /* the writer slot was given back */
    tu_tx(c, "[[:db/add 2 :p/age 11]]", DT_OK, 0);
}

static void test_misuse_is_reported(void **state) {
    fixture *f = *state;
    dt_value v = long_value(1);
    dt_loader *ld = NULL;
    assert_int_equal(dt_loader_open(NULL, DT_LOAD_INIT, NULL, &ld), DT_MISUSE);
    assert_int_equal(dt_loader_open(f->a->conn, DT_LOAD_INIT, NULL, NULL), DT_MISUSE);
    assert_int_equal(dt_loader_open(f->a->conn, (dt_load_mode)7, NULL, &ld), DT_MISUSE);
    dt_load_options bad = DT_LOAD_OPTIONS_INIT;
    bad.version = 99;
    assert_int_equal(dt_loader_open(f->a->conn, DT_LOAD_INIT, &bad, &ld), DT_INVALID);
    assert_int_equal(dt_loader_add(NULL, 1, "p/age", &v), DT_MISUSE);
    assert_int_equal(dt_loader_add((dt_loader *)f->a->conn, 1, "p/age", &v), DT_MISUSE);
    assert_int_equal(dt_loader_add_edn(NULL, "", 0), DT_MISUSE);
    assert_int_equal(dt_loader_add_msgpack(NULL, "", 0), DT_MISUSE);
    assert_int_equal(dt_loader_finish(NULL, NULL), DT_MISUSE);
    dt_loader_close(NULL);
    ld = open_loader(f->a->conn, DT_LOAD_INIT, 0);
    /* the loading thread holds the writer: its own writes are misuse, not
     * a deadlock */
    dt_loader *second = NULL;
    assert_int_equal(dt_loader_open(f->a->conn, DT_LOAD_FILL, NULL, &second), DT_MISUSE);
    assert_null(second);
    assert_int_equal(dt_transact(f->a->conn, "[[:db/add 5 :p/age 1]]", NULL), DT_MISUSE);
    assert_int_equal(dt_loader_add(ld, 1, NULL, &v), DT_MISUSE);
    assert_int_equal(dt_loader_add(ld, 1, "p/age", NULL), DT_MISUSE);
    assert_int_equal(dt_loader_add_edn(ld, NULL, 3), DT_MISUSE);
    assert_int_equal(dt_loader_add(ld, 1, "p/age", &v), DT_OK); /* misuse is not sticky */
    uint64_t n = 0;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(dt_loader_finish(ld, &n), DT_MISUSE);
    assert_int_equal(dt_loader_add(ld, 2, "p/age", &v), DT_MISUSE);
    dt_loader_close(ld);
    /* an unfinished load writes nothing */
    char *before = tu_dump(f->a->conn, 1);
    ld = open_loader(f->a->conn, DT_LOAD_FILL, 0);
    assert_int_equal(dt_loader_add(ld, 3, "p/age", &v), DT_OK);
    dt_loader_close(ld);
    char *after = tu_dump(f->a->conn, 1);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* }====== */

/* {====== Fill ====== */

static void test_fill_adds_to_transacted_data_and_skips_what_is_there(void **state) {
    fixture *f = *state;
    dataset base = {0}, more = {0};
    make_people(&base, 200, 5);
    /* more: half of base again (identical datoms) plus new entities */
    for (size_t i = 0; i < base.n / 2; i++) {
        dt_value v;
        assert_int_equal(dt_value_copy(&base.d[i].v, &v), DT_OK);
        ds_add(&more, base.d[i].e, base.d[i].a, v);
    }
    dataset extra = {0};
    make_people(&extra, 300, 6); /* entities 1..300: 201..300 are new */
    for (size_t i = 0; i < extra.n; i++) {
        if (extra.d[i].e <= 200) continue;
        dt_value v;
        assert_int_equal(dt_value_copy(&extra.d[i].v, &v), DT_OK);
        ds_add(&more, extra.d[i].e, extra.d[i].a, v);
    }
    ds_free(&extra);
    /* a: everything transacted; b: base transacted, more loaded */
    transact_dataset(f->a->conn, &base);
    transact_dataset(f->a->conn, &more);
    transact_dataset(f->b->conn, &base);
    load_dataset(f->b->conn, DT_LOAD_FILL, &more, 0);
    assert_same_db(f->a->conn, f->b->conn);
    assert_lookup(f->b->conn, 250);
    ds_free(&base);
    ds_free(&more);
}

static int step_fill_card_one(dt_loader *ld) {
    const char *t = "[1 :p/age 10] [1 :p/name \"same\"] [1 :p/age 11]";
    int rc = dt_loader_add_edn(ld, t, strlen(t));
    return rc == DT_OK ? dt_loader_finish(ld, NULL) : rc;
}

static int step_fill_card_one_existing(dt_loader *ld) {
    const char *t = "[3 :p/age 1] [1 :p/age 12]";
    int rc = dt_loader_add_edn(ld, t, strlen(t));
    return rc == DT_OK ? dt_loader_finish(ld, NULL) : rc;
}

static int step_fill_unique_taken(dt_loader *ld) {
    const char *t = "[5 :p/email \"one@x\"] [6 :p/age 1]";
    int rc = dt_loader_add_edn(ld, t, strlen(t));
    return rc == DT_OK ? dt_loader_finish(ld, NULL) : rc;
}

static void test_fill_conflicts_with_stored_data(void **state) {
    fixture *f = *state;
    dt_conn *c = f->a->conn;
    tu_tx(c, "[[:db/add 1 :p/age 10] [:db/add 1 :p/name \"same\"] [:db/add 1 :p/email \"one@x\"]]",
          DT_OK, 0);
    assert_load_fails_unchanged(c, DT_LOAD_FILL, step_fill_card_one, DT_CONFLICT, "entity 1");
    assert_load_fails_unchanged(c, DT_LOAD_FILL, step_fill_card_one_existing, DT_CONFLICT,
                                "already has 10");
    assert_load_fails_unchanged(c, DT_LOAD_FILL, step_fill_unique_taken, DT_CONFLICT,
                                "already belongs to entity 1");
    /* identical datoms, a unique value on its holder: skipped, not errors */
    dt_loader *ld = open_loader(c, DT_LOAD_FILL, 0);
    const char *t = "[1 :p/age 10] [1 :p/email \"one@x\"] [1 :p/tags :a] [2 :p/age 3]";
    assert_int_equal(dt_loader_add_edn(ld, t, strlen(t)), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    assert_int_equal(n, 2);
    dt_loader_close(ld);
    char *dump = tu_dump(c, 0);
    assert_string_equal(dump, "[1 :p/age 10]\n[1 :p/email \"one@x\"]\n[1 :p/name \"same\"]\n"
                              "[1 :p/tags :a]\n[2 :p/age 3]");
    free(dump);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_attr_stats st;
    assert_int_equal(dt_db_attr_stats(db, "p/age", &st), DT_OK);
    assert_int_equal(st.count, 2);
    assert_int_equal(st.distinct, 2);
    dt_attr_stats_free(&st);
    dt_db_close(db);
}

/* }====== */

/* {====== Scale: spills, map growth, reopen, long values ====== */

static void make_many(dataset *s, size_t n_entities) {
    uint64_t st = 77;
    for (size_t i = 0; i < n_entities; i++) {
        int64_t e = (int64_t)((i * 104729) % n_entities) + 1;
        char email[48];
        snprintf(email, sizeof email, "u%lld@x", (long long)e);
        ds_add(s, e, "p/age", long_value((int64_t)(tu_rand(&st) % 90)));
        ds_add(s, e, "p/email", str_value(email));
        ds_add(s, e, "p/friend", long_value((int64_t)(tu_rand(&st) % n_entities) + 1));
        ds_add(s, e, "p/tags", kw_value(tu_rand(&st) % 2 ? "a" : "b"));
    }
}

static void test_spilled_load_equals_in_memory_load(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_many(&s, 50000); /* 200,000 datoms */
    uint64_t na = load_dataset(f->a->conn, DT_LOAD_INIT, &s, 0);
    uint64_t nb = load_dataset(f->b->conn, DT_LOAD_INIT, &s, 1u << 20);
    assert_int_equal(na, nb);
    assert_int_equal(na, s.n);
    assert_same_indexes(f->a->conn, f->b->conn);
    assert_same_stats(f->a->conn, f->b->conn);
    ds_free(&s);
}

enum { NGEN = 1500 };

static void test_map_growth_during_the_load_loses_nothing(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = 64 * 1024;
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, SCHEMA, &o, &c), DT_OK);
    dataset s = {0};
    make_many(&s, 12500); /* 50,000 datoms */
    /* new attributes first, while the map is tiny: their records fill it
     * before the finish (the load's transaction starts over) */
    dataset attrs = {0};
    for (int i = 1; i <= NGEN; i++) {
        char a[128];
        snprintf(a, sizeof a, "gen/an-attribute-with-a-rather-long-name-to-fill-pages-%04d", i);
        ds_add(&attrs, i, strdup(a), long_value(i));
    }
    dt_loader *ld = open_loader(c, DT_LOAD_INIT, 1u << 20);
    for (size_t i = 0; i < attrs.n; i++)
        assert_int_equal(dt_loader_add(ld, attrs.d[i].e, attrs.d[i].a, &attrs.d[i].v), DT_OK);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(dt_loader_add(ld, s.d[i].e, s.d[i].a, &s.d[i].v), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    dt_loader_close(ld);
    assert_int_equal(n, s.n + attrs.n);
    dt_kv_envstat es;
    assert_int_equal(dt_kv_stat(c->kv, &es), DT_OK);
    assert_true(es.map_size > 64 * 1024);
    assert_int_equal(dt_conn_close(c), DT_OK);
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_OK);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    uint64_t total = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, NULL, 0, &total), DT_OK);
    assert_int_equal(total, n + 1); /* + the transaction's datom */
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, NULL, 0, &total), DT_OK);
    assert_int_equal(total, n + 1);
    for (size_t i = 0; i < attrs.n; i += 97) {
        dt_attr_stats st;
        assert_int_equal(dt_db_attr_stats(db, attrs.d[i].a, &st), DT_OK);
        assert_int_equal(st.count, 1);
        dt_attr_stats_free(&st);
    }
    dt_db_close(db);
    assert_int_equal(dt_conn_close(c), DT_OK);
    for (size_t i = 0; i < attrs.n; i++) free((char *)attrs.d[i].a);
    ds_free(&attrs);
    ds_free(&s);
    tu_rmdir_free(dir);
}

static void test_reopen_keeps_the_load_and_new_ids_follow_it(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 120, 8);
    ds_add(&s, 5000, "p/name", str_value("far"));   /* the largest id */
    ds_add(&s, 5000, "p/friend", long_value(6000)); /* a ref beyond it */
    load_dataset(f->b->conn, DT_LOAD_INIT, &s, 0);
    char *before = tu_dump(f->b->conn, 1);
    tu_db_reopen(f->b);
    char *after = tu_dump(f->b->conn, 1);
    assert_string_equal(before, after);
    free(before);
    free(after);
    char *schema = NULL;
    assert_int_equal(dt_conn_schema(f->b->conn, &schema), DT_OK);
    assert_non_null(strstr(schema, ":x/score")); /* created by the load */
    dt_free(schema);
    dt_report *r = tu_tx(f->b->conn, "[{:db/id \"new\" :p/name \"New\"}]", DT_OK, 1);
    dt_value k = str_value("new");
    int64_t id = 0;
    assert_int_equal(dt_report_tempid(r, &k, &id), DT_OK);
    assert_int_equal(id, 6001);
    assert_int_equal(dt_report_tx(r), DT_TX0 + 2);
    dt_value_free(&k);
    dt_report_close(r);
    ds_free(&s);
}

static void test_long_values_round_trip(void **state) {
    fixture *f = *state;
    dataset s = {0};
    for (int e = 1; e <= 30; e++) {
        ds_add(&s, e, "p/bio", long_text((unsigned)e)); /* 7 distinct long values */
        char email[800];
        memset(email, 'm', 700);
        snprintf(email + 700, 100, "-%d@x", e);
        ds_add(&s, e, "p/email", str_value(email)); /* unique long values */
    }
    transact_dataset(f->a->conn, &s);
    load_dataset(f->b->conn, DT_LOAD_INIT, &s, 0);
    assert_same_db(f->a->conn, f->b->conn);
    dt_db *db;
    assert_int_equal(dt_conn_db(f->b->conn, &db), DT_OK);
    dt_attr_stats st;
    assert_int_equal(dt_db_attr_stats(db, "p/bio", &st), DT_OK);
    assert_int_equal(st.count, 30);
    assert_int_equal(st.distinct, 7);
    assert_true(st.min.type == DT_STRING && st.min.u.s.len > 500);
    dt_attr_stats_free(&st);
    /* a lookup ref on a long unique value */
    dt_value ref;
    assert_int_equal(dt_value_seq(DT_VECTOR, 2, &ref), DT_OK);
    ref.u.seq.items[0] = kw_value("p/email");
    ref.u.seq.items[1] = long_value(0);
    dt_value_copy(&s.d[2 * 12 + 1].v, &ref.u.seq.items[1]);
    int64_t got = 0;
    assert_int_equal(dt_db_entid(db, &ref, &got), DT_OK);
    assert_int_equal(got, 13);
    dt_value_free(&ref);
    dt_db_close(db);
    ds_free(&s);
}

/* }====== */

/* {====== Init-db in chunks ====== */

static void test_chunked_init_load_equals_transacted_data(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_people(&s, 400, 11);
    transact_dataset(f->a->conn, &s);
    uint64_t before = commits(f->b->conn);
    uint64_t n = load_dataset_chunked(f->b->conn, DT_LOAD_INIT, &s, 0, 2048);
    uint64_t ncommits = commits(f->b->conn) - before;
    if (ncommits < 10) fail_msg("the load took %llu commits", (unsigned long long)ncommits);
    assert_false(has_marker(f->b->conn));
    assert_same_db(f->a->conn, f->b->conn);
    assert_lookup(f->b->conn, 17);
    dt_db *db;
    assert_int_equal(dt_conn_db(f->b->conn, &db), DT_OK);
    assert_int_equal(dt_db_basis_tx(db), DT_TX0 + 1); /* still one transaction id */
    dt_db_close(db);
    /* the same data in one LMDB transaction: one commit, the same result */
    tu_db *one = tu_db_open(SCHEMA);
    before = commits(one->conn);
    assert_int_equal(load_dataset_chunked(one->conn, DT_LOAD_INIT, &s, 0, SIZE_MAX), n);
    assert_int_equal(commits(one->conn) - before, 1);
    assert_same_db(one->conn, f->b->conn);
    char *d1 = tu_dump(one->conn, 1), *d2 = tu_dump(f->b->conn, 1);
    assert_int_equal(strlen(d1), strlen(d2)); /* the tx datoms differ only by instant */
    free(d1);
    free(d2);
    tu_db_close(one);
    /* a load in chunks is an ordinary database afterwards */
    char *dump = tu_dump(f->b->conn, 1);
    tu_db_reopen(f->b);
    char *again = tu_dump(f->b->conn, 1);
    assert_string_equal(dump, again);
    free(dump);
    free(again);
    ds_free(&s);
}

static void test_chunked_spilled_load_equals_one_transaction(void **state) {
    fixture *f = *state;
    dataset s = {0};
    make_many(&s, 20000); /* 80,000 datoms: sorted runs on disk at 1 MiB */
    for (int e = 50; e <= 20000; e += 50) ds_add(&s, e, "p/bio", long_text((unsigned)e));
    uint64_t na = load_dataset_chunked(f->a->conn, DT_LOAD_INIT, &s, 0, SIZE_MAX);
    uint64_t before = commits(f->b->conn);
    uint64_t nb = load_dataset_chunked(f->b->conn, DT_LOAD_INIT, &s, 1u << 20, 64 * 1024);
    assert_true(commits(f->b->conn) - before > 20);
    assert_int_equal(na, nb);
    assert_int_equal(na, s.n);
    assert_same_indexes(f->a->conn, f->b->conn);
    assert_same_stats(f->a->conn, f->b->conn);
    ds_free(&s);
}

/* The raw state a failed init-db must leave as it found: meta counters,
 * the number of entries in every named database, the schema, the dump. */
typedef struct raw_state {
    uint64_t next_eid, next_t, schema_v;
    int has_schema_v;
    size_t entries[8];
    char *dump, *schema;
} raw_state;

static void raw_state_get(dt_conn *c, raw_state *r) {
    memset(r, 0, sizeof *r);
    assert_int_equal(dl_meta_get_u64(&c->st, NULL, "next_eid", 0, &r->next_eid), DT_OK);
    assert_int_equal(dl_meta_get_u64(&c->st, NULL, "next_t", 0, &r->next_t), DT_OK);
    assert_int_equal(dl_meta_get_u64(&c->st, NULL, "schema_v", 12345, &r->schema_v), DT_OK);
    r->has_schema_v = r->schema_v != 12345;
    dt_kv_dbi dbis[8] = {c->st.meta,    c->st.schema, c->st.eav,   c->st.ave,
                         c->st.history, c->st.giants, c->st.txlog, c->st.stats};
    for (int i = 0; i < 8; i++) {
        dt_kv_dbistat ds;
        assert_int_equal(dt_kv_dbi_stat(c->kv, NULL, dbis[i], &ds), DT_OK);
        r->entries[i] = ds.entries;
    }
    r->dump = tu_dump(c, 1);
    assert_int_equal(dt_conn_schema(c, &r->schema), DT_OK);
}

static void raw_state_assert_same(const raw_state *a, const raw_state *b) {
    assert_int_equal(a->next_eid, b->next_eid);
    assert_int_equal(a->next_t, b->next_t);
    assert_int_equal(a->schema_v, b->schema_v);
    assert_int_equal(a->has_schema_v, b->has_schema_v);
    static const char *names[8] = {"meta",    "schema", "eav",   "ave",
                                   "history", "giants", "txlog", "stats"};
    for (int i = 0; i < 8; i++)
        if (a->entries[i] != b->entries[i])
            fail_msg("dt/%s: %zu entries, before %zu", names[i], b->entries[i], a->entries[i]);
    assert_string_equal(a->dump, b->dump);
    assert_string_equal(a->schema, b->schema);
}

static void raw_state_free(raw_state *r) {
    free(r->dump);
    dt_free(r->schema);
}

/* An init-db in small chunks that fails late (`extra` makes the conflict)
 * must take back every chunk it committed. */
static void check_late_error(const char *extra, const char *needle) {
    tu_db *d = tu_db_open(SCHEMA);
    dt_conn *c = d->conn;
    raw_state before, after;
    raw_state_get(c, &before);
    uint64_t c0 = commits(c);
    dataset s = {0};
    make_people(&s, 300, 12); /* long values (giants) and a new attribute too */
    dt_loader *ld = open_loader_chunked(c, DT_LOAD_INIT, 0, 1024);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(dt_loader_add(ld, s.d[i].e, s.d[i].a, &s.d[i].v), DT_OK);
    assert_int_equal(dt_loader_add_edn(ld, extra, strlen(extra)), DT_OK);
    uint64_t n = 7;
    assert_int_equal(dt_loader_finish(ld, &n), DT_CONFLICT);
    assert_int_equal(n, 0);
    if (!strstr(dt_errmsg(ld), needle))
        fail_msg("message \"%s\" lacks \"%s\"", dt_errmsg(ld), needle);
    assert_non_null(strstr(dt_errmsg(c), needle)); /* the first error, not the clean-up's */
    dt_loader_close(ld);
    /* chunks were committed, then removed */
    uint64_t ncommits = commits(c) - c0;
    if (ncommits < 5)
        fail_msg("only %llu commits: the error came too early", (unsigned long long)ncommits);
    assert_false(has_marker(c));
    raw_state_get(c, &after);
    raw_state_assert_same(&before, &after);
    raw_state_free(&after);
    /* and after reopening */
    tu_db_reopen(d);
    c = d->conn;
    raw_state_get(c, &after);
    raw_state_assert_same(&before, &after);
    raw_state_free(&after);
    /* still a database without datoms: init-db works */
    uint64_t loaded = load_dataset_chunked(c, DT_LOAD_INIT, &s, 0, 1024);
    assert_true(loaded > 0);
    tu_db *ref = tu_db_open(SCHEMA);
    transact_dataset(ref->conn, &s);
    assert_same_db(ref->conn, c);
    tu_db_close(ref);
    raw_state_free(&before);
    ds_free(&s);
    tu_db_close(d);
}

static void test_late_error_takes_committed_chunks_back(void **state) {
    (void)state;
    /* found by the AVE pass, after the whole EAV index was committed and
     * after long values (kept in giants) that sort before the conflict */
    char extra[8192];
    size_t len = 0;
    for (int i = 0; i < 8; i++) {
        len += (size_t)snprintf(extra + len, sizeof extra - len, "[%d :p/email \"", 100001 + i);
        memset(extra + len, 'm', 600);
        len += 600;
        len += (size_t)snprintf(extra + len, sizeof extra - len, "-%d\"]\n", i);
    }
    snprintf(extra + len, sizeof extra - len, "[100000 :p/email \"user5@example.com\"]");
    check_late_error(extra, "given to entities 5 and 100000");
    /* found at the end of the EAV pass (entity 300 sorts last) */
    check_late_error("[300 :p/age 1000]", "entity 300");
}

static void test_interrupted_init_db_is_refused_at_open(void **state) {
    (void)state;
    char *dir = tu_tmpdir();
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, SCHEMA, NULL, &c), DT_OK);
    /* what a process that died during an init-db in chunks leaves */
    uint8_t tx[8];
    dl_put_u64(tx, (uint64_t)DT_TX0 + 1);
    assert_int_equal(
        dt_kv_put(c->kv, NULL, c->st.meta, DL_META_LOADING, strlen(DL_META_LOADING), tx, 8, 0),
        DT_OK);
    assert_int_equal(dt_conn_close(c), DT_OK);
    c = (dt_conn *)1;
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_CORRUPT);
    assert_null(c);
    assert_non_null(strstr(dt_errmsg(NULL), "init-db into this directory was interrupted"));
    assert_non_null(strstr(dt_errmsg(NULL), "delete"));
    dt_conn_options ro = DT_CONN_OPTIONS_INIT;
    ro.kv.flags = DT_KV_RDONLY;
    assert_int_equal(dt_conn_open(dir, NULL, &ro, &c), DT_CORRUPT);
    assert_null(c);
    tu_rmdir_free(dir);
}

static void test_map_growth_in_a_chunked_load_loses_nothing(void **state) {
    fixture *f = *state;
    char *dir = tu_tmpdir();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = 64 * 1024;
    dt_conn *c = NULL;
    assert_int_equal(dt_conn_open(dir, SCHEMA, &o, &c), DT_OK);
    dataset s = {0};
    make_many(&s, 12500); /* 50,000 datoms */
    for (int e = 25; e <= 12500; e += 25) ds_add(&s, e, "p/bio", long_text((unsigned)e));
    ds_add(&s, 3, "x/new", long_value(1)); /* an attribute created by the load */
    uint64_t c0 = commits(c);
    uint64_t n = load_dataset_chunked(c, DT_LOAD_INIT, &s, 1u << 20, 16 * 1024);
    assert_int_equal(n, s.n);
    assert_true(commits(c) - c0 > 20);
    assert_false(has_marker(c));
    dt_kv_envstat es;
    assert_int_equal(dt_kv_stat(c->kv, &es), DT_OK);
    assert_true(es.map_size >= 4 * 1024 * 1024); /* it grew many times */
    /* the same data in one transaction with a big map */
    assert_int_equal(load_dataset_chunked(f->a->conn, DT_LOAD_INIT, &s, 0, SIZE_MAX), n);
    assert_same_indexes(f->a->conn, c);
    assert_same_stats(f->a->conn, c);
    assert_int_equal(dt_conn_close(c), DT_OK);
    assert_int_equal(dt_conn_open(dir, NULL, NULL, &c), DT_OK);
    dt_db *db;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    uint64_t total = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, NULL, 0, &total), DT_OK);
    assert_int_equal(total, n + 1);
    dt_attr_stats st;
    assert_int_equal(dt_db_attr_stats(db, "x/new", &st), DT_OK);
    assert_int_equal(st.count, 1);
    dt_attr_stats_free(&st);
    dt_db_close(db);
    assert_int_equal(dt_conn_close(c), DT_OK);
    ds_free(&s);
    tu_rmdir_free(dir);
}

static void test_version_1_options_are_accepted(void **state) {
    fixture *f = *state;
    /* a caller built against the first version of the struct */
    struct {
        unsigned version;
        size_t mem_budget;
        const char *tmpdir;
    } v1 = {1, 0, NULL};
    dt_loader *ld = NULL;
    assert_int_equal(
        dt_loader_open(f->a->conn, DT_LOAD_INIT, (const dt_load_options *)(void *)&v1, &ld), DT_OK);
    dt_value v = long_value(4);
    assert_int_equal(dt_loader_add(ld, 1, "p/age", &v), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_loader_finish(ld, &n), DT_OK);
    assert_int_equal(n, 1);
    dt_loader_close(ld);
    tu_assert_dump(f->a->conn, "[1 :p/age 4]");
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_init_load_answers_like_transact),
        T(test_load_creates_one_transaction_with_instant_and_log),
        T(test_edn_lines_and_enclosing_vector_load_the_same),
        T(test_msgpack_stream_loads_the_same),
        T(test_msgpack_parts_cut_anywhere_load_the_same),
        T(test_msgpack_parts_report_errors_with_stream_offsets),
        T(test_msgpack_accepts_every_value_type),
        T(test_errors_leave_the_database_unchanged),
        T(test_closed_schema_rejects_unknown_attributes),
        T(test_init_on_a_database_with_datoms_is_misuse),
        T(test_misuse_is_reported),
        T(test_fill_adds_to_transacted_data_and_skips_what_is_there),
        T(test_fill_conflicts_with_stored_data),
        T(test_spilled_load_equals_in_memory_load),
        T(test_map_growth_during_the_load_loses_nothing),
        T(test_reopen_keeps_the_load_and_new_ids_follow_it),
        T(test_long_values_round_trip),
        T(test_chunked_init_load_equals_transacted_data),
        T(test_chunked_spilled_load_equals_one_transaction),
        T(test_late_error_takes_committed_chunks_back),
        T(test_interrupted_init_db_is_refused_at_open),
        T(test_map_growth_in_a_chunked_load_loses_nothing),
        T(test_version_1_options_are_accepted),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
