/*
 * test_datalog_index.c -- the datom indexes: long values (strings,
 * keywords, bigints, bigdecs longer than a key can hold) order, range,
 * seek and count exactly by value through the public read API, checked
 * against a sort in the test (property test with long shared prefixes);
 * and the datom cursor of datalog/index.h (seeks after the end, repeated
 * and prefix seeks, bounds, the truncated flag, the last datom, counts).
 */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "db.h"
#include "index.h"

static const char *SCHEMA =
    "{:t/s {:db/valueType :db.type/string :db/cardinality :db.cardinality/many}"
    " :t/k {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :t/i {:db/valueType :db.type/bigint :db/cardinality :db.cardinality/many}"
    " :t/d {:db/valueType :db.type/bigdec :db/cardinality :db.cardinality/many}"
    " :t/n {:db/valueType :db.type/long}}";

/* {====== Helpers ====== */

static dt_value kw(const char *name) {
    dt_value v;
    assert_int_equal(dt_value_text(DT_KEYWORD, name, strlen(name), &v), DT_OK);
    return v;
}

/* One datom of the model: entity and value (borrowed from the pool). */
typedef struct mdatom {
    int64_t e;
    const dt_value *v;
} mdatom;

static int mdatom_cmp(const void *x, const void *y) {
    const mdatom *a = x, *b = y;
    int c = dt_value_compare(a->v, b->v);
    if (c) return c;
    return (a->e > b->e) - (a->e < b->e);
}

/* Transacts [:db/add e attr v] for each datom (one transaction). */
static void add_all(dt_conn *c, const char *attr, const mdatom *d, size_t n) {
    dt_value tx;
    assert_int_equal(dt_value_seq(DT_VECTOR, n, &tx), DT_OK);
    for (size_t i = 0; i < n; i++) {
        dt_value *f = &tx.u.seq.items[i];
        assert_int_equal(dt_value_seq(DT_VECTOR, 4, f), DT_OK);
        f->u.seq.items[0] = kw("db/add");
        dt_value_long(d[i].e, &f->u.seq.items[1]);
        f->u.seq.items[2] = kw(attr);
        assert_int_equal(dt_value_copy(d[i].v, &f->u.seq.items[3]), DT_OK);
    }
    int rc = dt_transact_value(c, &tx, NULL);
    if (rc != DT_OK) fail_msg("transact: %s", dt_errmsg(c));
    dt_value_free(&tx);
}

static char *show(const dt_value *v) {
    char *s = tu_edn(v);
    if (strlen(s) > 60) strcpy(s + 50, "...");
    return s;
}

/* Asserts the iterator yields exactly want[0..n) (entity and value) while
 * its datoms are of attr (stops at the first other attribute); frees it. */
static void expect_iter(dt_datom_iter *it, const char *attr, const mdatom *want, size_t n,
                        const char *what) {
    dt_datom d;
    size_t i = 0;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW && strcmp(d.a, attr) == 0) {
        if (i >= n) fail_msg("%s: more than the %zu datoms wanted", what, n);
        if (d.e != want[i].e || dt_value_compare(&d.v, want[i].v) != 0) {
            char *g = show(&d.v), *w = show(want[i].v);
            fail_msg("%s: datom %zu is [%lld %s], wanted [%lld %s]", what, i, (long long)d.e, g,
                     (long long)want[i].e, w);
        }
        i++;
    }
    if (rc != DT_ROW && rc != DT_DONE) fail_msg("%s: %s", what, dt_errmsg(it));
    dt_datom_iter_close(it);
    if (i != n) fail_msg("%s: %zu datoms, wanted %zu", what, i, n);
}

/* }====== */

/* {====== Long values with shared prefixes (property test) ====== */

#define POOL 56

/*
 * Text of a long value that shares a prefix of random length with base:
 * cut before the part of a key that is kept (< zone), inside the zone
 * where keys are cut (zone .. zone + 70, in characters of the text), or
 * beyond it, then a random tail, sometimes none (a value that is exactly
 * a prefix of others).
 */
static size_t variant(const char *base, size_t blen, size_t zone, const char *alpha, uint64_t *rs,
                      char *out) {
    size_t p;
    switch (tu_rand(rs) % 4) {
    case 0:
        p = tu_rand(rs) % zone;
        break;
    case 1:
        p = zone + tu_rand(rs) % 70;
        break;
    case 2:
        p = zone + 70 + tu_rand(rs) % (blen - zone - 70);
        break;
    default:
        p = blen;
        break;
    }
    memcpy(out, base, p);
    size_t tail = tu_rand(rs) % 3 == 0 ? 0 : tu_rand(rs) % 160;
    size_t na = strlen(alpha);
    for (size_t i = 0; i < tail; i++) out[p + i] = alpha[tu_rand(rs) % na];
    return p + tail;
}

/* Fills pool[] with POOL long values of type t sharing prefixes of a base
 * made from base_seed; the variants come from seed. */
static void make_pool(dt_type t, uint64_t base_seed, uint64_t seed, dt_value *pool) {
    uint64_t rs = base_seed;
    enum { BLEN = 1150 };
    char base[BLEN], buf[4 * BLEN];
    const char *alpha = t == DT_BIGINT || t == DT_BIGDEC ? "0123456789" : "ab~";
    for (size_t i = 0; i < BLEN; i++) base[i] = alpha[tu_rand(&rs) % strlen(alpha)];
    rs = seed;
    base[0] = t == DT_KEYWORD ? 'k' : '7';
    if (t == DT_KEYWORD) base[1] = '/';
    for (size_t i = 0; i < POOL; i++) {
        if (i > 4 && tu_rand(&rs) % 6 == 0) { /* the same value again */
            assert_int_equal(dt_value_copy(&pool[tu_rand(&rs) % i], &pool[i]), DT_OK);
            continue;
        }
        int num = t == DT_BIGINT || t == DT_BIGDEC;
        /* a key keeps ~460 bytes: 460 characters of text, 920 digits */
        size_t n = num ? variant(base, BLEN, 900, alpha, &rs, buf)
                       : variant(base, 700, 450, alpha, &rs, buf);
        if (num) {
            /* numbers: shared leading digits; trailing zeros give short
             * mantissas (full keys inside a run); a few change the exponent */
            size_t len = 1150 + (tu_rand(&rs) % 8 == 0 ? tu_rand(&rs) % 3 : 1);
            char txt[4 * BLEN];
            size_t k = 0;
            if (tu_rand(&rs) % 4 == 0) txt[k++] = '-';
            for (size_t j = 0; j < len; j++) {
                if (t == DT_BIGDEC && j == 6) txt[k++] = '.';
                txt[k++] = j < n ? buf[j] : '0';
            }
            if (t == DT_BIGDEC)
                for (size_t z = tu_rand(&rs) % 3; z > 0; z--) txt[k++] = '0'; /* scale */
            if (dt_value_text(t, txt, k, &pool[i]) != DT_OK) fail_msg("%s", dt_errmsg(NULL));
        } else {
            if (t == DT_KEYWORD && n < 3) n = 3;
            assert_int_equal(dt_value_text(t, buf, n, &pool[i]), DT_OK);
        }
    }
}

/* The distinct (e, v) datoms of the pool, in value order then e. */
static size_t model(const dt_value *pool, const int64_t *ents, mdatom *out) {
    size_t n = 0;
    for (size_t i = 0; i < POOL; i++) {
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            if (out[j].e == ents[i] && dt_value_equal(out[j].v, &pool[i])) dup = 1;
        if (!dup) out[n++] = (mdatom){ents[i], &pool[i]};
    }
    qsort(out, n, sizeof *out, mdatom_cmp);
    return n;
}

/* Checks order, ranges, seeks, counts and statistics of attr in db. */
static void check_attr(dt_db *db, const char *attr, const dt_value *pool, const dt_value *probe,
                       const mdatom *m, size_t n, uint64_t *rs) {
    char what[160];
    dt_value a = kw(attr);
    dt_datom_iter *it;
    /* AVE order of the whole attribute */
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    snprintf(what, sizeof what, "AVE [:%s]", attr);
    expect_iter(it, attr, m, n, what);
    /* EAV order per entity */
    for (int64_t e = 1; e <= 6; e++) {
        mdatom sub[POOL];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (m[i].e == e) sub[k++] = m[i];
        dt_value c[2];
        dt_value_long(e, &c[0]);
        c[1] = a;
        assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, c, 2, &it), DT_OK);
        snprintf(what, sizeof what, "EAV [%lld :%s]", (long long)e, attr);
        expect_iter(it, attr, sub, k, what);
        uint64_t cnt = 0;
        assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, c, 2, &cnt), DT_OK);
        assert_int_equal(cnt, k);
    }
    /* bounds: stored values and other values with the same prefixes,
     * inclusive, open ends, empty ranges */
    for (int r = 0; r < 40; r++) {
        const dt_value *lo = r % 7 == 0 ? NULL : (r & 1 ? pool : probe) + tu_rand(rs) % POOL;
        const dt_value *hi = r % 5 == 0 ? NULL : (r & 2 ? pool : probe) + tu_rand(rs) % POOL;
        if (lo && hi && r % 3 && dt_value_compare(lo, hi) > 0) {
            const dt_value *x = lo;
            lo = hi;
            hi = x;
        }
        mdatom want[POOL];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if ((!lo || dt_value_compare(m[i].v, lo) >= 0) &&
                (!hi || dt_value_compare(m[i].v, hi) <= 0))
                want[k++] = m[i];
        assert_int_equal(dt_db_index_range(db, attr, lo, hi, &it), DT_OK);
        snprintf(what, sizeof what, "index_range :%s round %d", attr, r);
        expect_iter(it, attr, want, k, what);
        /* seek from a value (and from a value and an entity) */
        if (lo) {
            size_t first = 0;
            while (first < n && dt_value_compare(m[first].v, lo) < 0) first++;
            dt_value c[3];
            c[0] = a;
            c[1] = *lo;
            assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, c, 2, &it), DT_OK);
            snprintf(what, sizeof what, "seek [:%s v] round %d", attr, r);
            expect_iter(it, attr, m + first, n - first, what);
            int64_t e = 1 + (int64_t)(tu_rand(rs) % 6);
            dt_value_long(e, &c[2]);
            while (first < n && dt_value_compare(m[first].v, lo) == 0 && m[first].e < e) first++;
            assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_AVE, c, 3, &it), DT_OK);
            snprintf(what, sizeof what, "seek [:%s v %lld] round %d", attr, (long long)e, r);
            expect_iter(it, attr, m + first, n - first, what);
            /* EAV from [e attr v]: e's values >= v, then the later
             * entities' values (each entity's in value order) */
            {
                mdatom ev[POOL];
                size_t ne = 0;
                for (int64_t x = e; x <= 6; x++)
                    for (size_t i = 0; i < n; i++)
                        if (m[i].e == x && (x > e || dt_value_compare(m[i].v, lo) >= 0))
                            ev[ne++] = m[i];
                dt_value ec[3];
                dt_value_long(e, &ec[0]);
                ec[1] = a;
                ec[2] = *lo;
                assert_int_equal(dt_db_seek_datoms(db, DT_INDEX_EAV, ec, 3, &it), DT_OK);
                snprintf(what, sizeof what, "seek EAV [%lld :%s v] round %d", (long long)e, attr,
                         r);
                expect_iter(it, attr, ev, ne, what);
            }
            /* datoms and count of exactly that value */
            mdatom eq[POOL];
            k = 0;
            for (size_t i = 0; i < n; i++)
                if (dt_value_equal(m[i].v, lo)) eq[k++] = m[i];
            uint64_t cnt = 0;
            assert_int_equal(dt_db_count_datoms(db, DT_INDEX_AVE, c, 2, &cnt), DT_OK);
            assert_int_equal(cnt, k);
            assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, c, 2, &it), DT_OK);
            snprintf(what, sizeof what, "AVE [:%s v] round %d", attr, r);
            expect_iter(it, attr, eq, k, what);
        }
    }
    /* min and max */
    dt_attr_stats st;
    memset(&st, 0, sizeof st);
    assert_int_equal(dt_db_attr_stats(db, attr, &st), DT_OK);
    assert_int_equal(dt_value_compare(&st.min, m[0].v), 0);
    assert_int_equal(dt_value_compare(&st.max, m[n - 1].v), 0);
    dt_attr_stats_free(&st);
    dt_value_free(&a);
}

static void run_property(dt_type t, const char *attr, uint64_t seed) {
    dt_value pool[POOL], probe[POOL];
    int64_t ents[POOL];
    mdatom m[POOL];
    uint64_t rs = seed;
    make_pool(t, seed, seed + 1, pool);
    make_pool(t, seed, seed + 2, probe);
    for (size_t i = 0; i < POOL; i++) ents[i] = 1 + (int64_t)(tu_rand(&rs) % 6);
    size_t n = model(pool, ents, m);
    mdatom in[POOL];
    for (size_t i = 0; i < POOL; i++) in[i] = (mdatom){ents[i], &pool[i]};
    /* written by transactions (in pool order, two halves) */
    tu_db *d = tu_db_open(SCHEMA);
    add_all(d->conn, attr, in, POOL / 2);
    add_all(d->conn, attr, in + POOL / 2, POOL - POOL / 2);
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    check_attr(db, attr, pool, probe, m, n, &rs);
    dt_db_close(db);
    /* and by the bulk loader */
    tu_db *b = tu_db_open(SCHEMA);
    dt_loader *ld;
    assert_int_equal(dt_loader_open(b->conn, DT_LOAD_INIT, NULL, &ld), DT_OK);
    for (size_t i = 0; i < POOL; i++)
        assert_int_equal(dt_loader_add(ld, ents[i], attr, &pool[i]), DT_OK);
    assert_int_equal(dt_loader_finish(ld, NULL), DT_OK);
    dt_loader_close(ld);
    assert_int_equal(dt_conn_db(b->conn, &db), DT_OK);
    check_attr(db, attr, pool, probe, m, n, &rs);
    dt_db_close(db);
    tu_db_close(b);
    tu_db_close(d);
    for (size_t i = 0; i < POOL; i++) {
        dt_value_free(&pool[i]);
        dt_value_free(&probe[i]);
    }
}

static void test_long_strings_order_range_and_count_by_value(void **state) {
    (void)state;
    for (uint64_t s = 1; s <= 3; s++) run_property(DT_STRING, "t/s", 0x5eed0000 + s);
}

static void test_long_keywords_order_range_and_count_by_value(void **state) {
    (void)state;
    for (uint64_t s = 1; s <= 2; s++) run_property(DT_KEYWORD, "t/k", 0x6eed0000 + s);
}

static void test_long_bigints_order_range_and_count_by_value(void **state) {
    (void)state;
    for (uint64_t s = 1; s <= 2; s++) run_property(DT_BIGINT, "t/i", 0x7eed0000 + s);
}

static void test_long_bigdecs_order_range_and_count_by_value(void **state) {
    (void)state;
    for (uint64_t s = 1; s <= 2; s++) run_property(DT_BIGDEC, "t/d", 0x8eed0000 + s);
}

/* }====== */

/* {====== The reported case ====== */

/* Five strings that share a 600-byte prefix: AVE order is value order and
 * a range between two of them holds exactly what lies between. */
static void test_five_strings_with_a_600_byte_prefix(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    char prefix[601];
    memset(prefix, 'p', 600);
    prefix[600] = 0;
    const char *tails[5] = {"e", "b", "d", "a", "c"}; /* written out of order */
    dt_value v[5];
    mdatom in[5];
    for (int i = 0; i < 5; i++) {
        char s[700];
        snprintf(s, sizeof s, "%s%s", prefix, tails[i]);
        assert_int_equal(dt_value_text(DT_STRING, s, strlen(s), &v[i]), DT_OK);
        in[i] = (mdatom){i + 1, &v[i]};
    }
    add_all(d->conn, "t/s", in, 5);
    dt_db *db;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    /* by value: a(4) b(2) c(5) d(3) e(1) */
    mdatom want[5] = {{4, &v[3]}, {2, &v[1]}, {5, &v[4]}, {3, &v[2]}, {1, &v[0]}};
    dt_value a = kw("t/s");
    dt_datom_iter *it;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_AVE, &a, 1, &it), DT_OK);
    expect_iter(it, "t/s", want, 5, "AVE order");
    /* [b, d] holds b, c, d */
    assert_int_equal(dt_db_index_range(db, "t/s", &v[1], &v[2], &it), DT_OK);
    expect_iter(it, "t/s", want + 1, 3, "range b..d");
    /* [b, b] holds b; (a "c" past the prefix) ... e holds d and e */
    assert_int_equal(dt_db_index_range(db, "t/s", &v[1], &v[1], &it), DT_OK);
    expect_iter(it, "t/s", want + 1, 1, "range b..b");
    char s[700];
    snprintf(s, sizeof s, "%scz", prefix);
    dt_value cz;
    assert_int_equal(dt_value_text(DT_STRING, s, strlen(s), &cz), DT_OK);
    assert_int_equal(dt_db_index_range(db, "t/s", &cz, NULL, &it), DT_OK);
    expect_iter(it, "t/s", want + 3, 2, "range cz..");
    dt_attr_stats st;
    memset(&st, 0, sizeof st);
    assert_int_equal(dt_db_attr_stats(db, "t/s", &st), DT_OK);
    assert_true(dt_value_equal(&st.min, &v[3]));
    assert_true(dt_value_equal(&st.max, &v[0]));
    dt_attr_stats_free(&st);
    dt_db_close(db);
    /* the same inside a write block, before and after more writes */
    dt_txn *tx;
    assert_int_equal(dt_txn_begin(d->conn, &tx), DT_OK);
    snprintf(s, sizeof s, "[[:db/add 6 :t/s \"%sbb\"]]", prefix);
    assert_int_equal(dt_txn_transact(tx, s, NULL), DT_OK);
    assert_int_equal(dt_txn_db(tx, &db), DT_OK);
    assert_int_equal(dt_db_index_range(db, "t/s", &v[1], &v[4], &it), DT_OK);
    dt_datom dd;
    int64_t got[4];
    size_t n = 0;
    while (dt_datom_iter_next(it, &dd) == DT_ROW && n < 4) got[n++] = dd.e;
    dt_datom_iter_close(it);
    assert_int_equal(n, 3);
    assert_int_equal(got[0], 2); /* ...b */
    assert_int_equal(got[1], 6); /* ...bb */
    assert_int_equal(got[2], 5); /* ...c */
    dt_db_close(db);
    dt_txn_abort(tx);
    dt_value_free(&cz);
    dt_value_free(&a);
    for (int i = 0; i < 5; i++) dt_value_free(&v[i]);
    tu_db_close(d);
}

/* }====== */

/* {====== The cursor ====== */

typedef struct cfix {
    tu_db *d;
    dt_db *db;
    dl_cursor c;
    uint32_t aid_s, aid_n;
    dt_value longv[3]; /* long strings: ...a < ...b < ...c */
    dt_buf enc[3];
} cfix;

/* Entities 1..3 have :t/n 10, 20, 30; long strings q...qa < q...qb <
 * q...qc: e1 has a and c, e2 has b, e3 has a; a short string "a" (before
 * them) on e2. */
static int cfix_setup(void **state) {
    cfix *f = calloc(1, sizeof *f);
    f->d = tu_db_open(SCHEMA);
    char s[800];
    for (int i = 0; i < 3; i++) {
        memset(s, 'q', 700);
        s[700] = (char)('a' + i);
        assert_int_equal(dt_value_text(DT_STRING, s, 701, &f->longv[i]), DT_OK);
    }
    for (int i = 0; i < 3; i++) assert_int_equal(dl_codec_encode(&f->longv[i], &f->enc[i]), DT_OK);
    mdatom in[] = {{1, &f->longv[0]}, {1, &f->longv[2]}, {2, &f->longv[1]}, {3, &f->longv[0]}};
    add_all(f->d->conn, "t/s", in, 4);
    tu_tx(f->d->conn,
          "[[:db/add 1 :t/n 10] [:db/add 2 :t/n 20] [:db/add 3 :t/n 30]"
          " [:db/add 2 :t/s \"a\"]]",
          DT_OK, 0);
    assert_int_equal(dt_conn_db(f->d->conn, &f->db), DT_OK);
    const dl_schema *sc = dl_db_schema(f->db);
    f->aid_s = dl_schema_by_ident(sc, "t/s", 3)->aid;
    f->aid_n = dl_schema_by_ident(sc, "t/n", 3)->aid;
    assert_int_equal(dl_cursor_open(&f->c, dl_db_store(f->db), dl_db_txn(f->db), DL_INDEX_AVE),
                     DT_OK);
    *state = f;
    return 0;
}

static int cfix_teardown(void **state) {
    cfix *f = *state;
    dl_cursor_close(&f->c);
    dt_db_close(f->db);
    tu_db_close(f->d);
    for (int i = 0; i < 3; i++) {
        dt_value_free(&f->longv[i]);
        dt_buf_release(&f->enc[i]);
    }
    free(f);
    return 0;
}

/* The entities of the datoms the cursor yields, as "e,e,..." (and the
 * last rc checked to be DT_DONE). */
static void expect_es(dl_cursor *c, const char *want) {
    char got[256] = "";
    size_t n = 0;
    dl_datom d;
    int rc;
    while ((rc = dl_cursor_next(c, &d)) == DT_ROW)
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%lld", n ? "," : "", (long long)d.e);
    if (rc != DT_DONE) fail_msg("cursor: rc %d: %s", rc, dt_errmsg(NULL));
    assert_string_equal(got, want);
}

static void test_cursor_seeks_again_after_the_end(void **state) {
    cfix *f = *state;
    dl_ikey k = {1, 0, f->aid_n, NULL, 0};
    assert_int_equal(dl_cursor_seek(&f->c, &k, 1, NULL), DT_OK);
    expect_es(&f->c, "1,2,3");
    dl_datom d;
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_DONE); /* stays at its end */
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_DONE);
    /* again, and again with another prefix, and the whole index */
    assert_int_equal(dl_cursor_seek(&f->c, &k, 1, NULL), DT_OK);
    expect_es(&f->c, "1,2,3");
    dl_ikey ks = {1, 0, f->aid_s, NULL, 0};
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, NULL), DT_OK);
    /* "a" (2), then ...a (1, 3), ...b (2), ...c (1) */
    expect_es(&f->c, "2,1,3,2,1");
    uint64_t all = 0;
    assert_int_equal(dl_cursor_seek(&f->c, NULL, 0, NULL), DT_OK);
    assert_int_equal(dl_cursor_count(&f->c, &all), DT_OK);
    assert_int_equal(all, 3 + 5 + 2); /* and two :db/txInstant */
    /* a seek in the middle of an iteration forgets it */
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, NULL), DT_OK);
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW);
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW);
    assert_int_equal(dl_cursor_seek(&f->c, &k, 1, NULL), DT_OK);
    expect_es(&f->c, "1,2,3");
}

static void test_cursor_prefix_seeks_and_bounds(void **state) {
    cfix *f = *state;
    /* [aid v]: exactly one long value, its entities in order */
    dl_ikey av = {2, 0, f->aid_s, f->enc[0].p, f->enc[0].len};
    assert_int_equal(dl_cursor_seek(&f->c, &av, 2, NULL), DT_OK);
    expect_es(&f->c, "1,3");
    /* from [aid ...b], within the attribute: ...b, ...c */
    dl_ikey fb = {2, 0, f->aid_s, f->enc[1].p, f->enc[1].len};
    assert_int_equal(dl_cursor_seek(&f->c, &fb, 1, NULL), DT_OK);
    expect_es(&f->c, "2,1");
    /* [aid ...a e=2]: after (a, 1) */
    dl_ikey fe = {3, 2, f->aid_s, f->enc[0].p, f->enc[0].len};
    assert_int_equal(dl_cursor_seek(&f->c, &fe, 1, NULL), DT_OK);
    expect_es(&f->c, "3,2,1");
    /* until ...b inclusive; until [aid ...b 1] excludes (b, 2) */
    dl_ikey ks = {1, 0, f->aid_s, NULL, 0};
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, &fb), DT_OK);
    expect_es(&f->c, "2,1,3,2");
    dl_ikey ub = {3, 1, f->aid_s, f->enc[1].p, f->enc[1].len};
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, &ub), DT_OK);
    expect_es(&f->c, "2,1,3");
    uint64_t n = 0;
    assert_int_equal(dl_cursor_seek(&f->c, &fb, 1, &ub), DT_OK);
    assert_int_equal(dl_cursor_count(&f->c, &n), DT_OK);
    assert_int_equal(n, 0);
    /* a match prefix that nothing has */
    dl_ikey none = {1, 0, 999, NULL, 0};
    assert_int_equal(dl_cursor_seek(&f->c, &none, 1, NULL), DT_OK);
    expect_es(&f->c, "");
    /* bad arguments */
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 2, NULL), DT_MISUSE);
}

static void test_cursor_reports_truncated_values_and_gives_full_ones(void **state) {
    cfix *f = *state;
    dl_ikey ks = {1, 0, f->aid_s, NULL, 0};
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, NULL), DT_OK);
    dl_datom d;
    dt_kv_bytes full;
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW); /* "a" */
    assert_int_equal(d.truncated, 0);
    assert_int_equal(dl_cursor_value(&f->c, &full), DT_OK);
    assert_true(full.ptr == d.v && full.len == d.vlen);
    assert_int_equal(d.v[0], DL_CODEC_TAG(DT_STRING));
    assert_int_not_equal(d.tx, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW);
        int which = i < 2 ? 0 : i - 1; /* a, a, b, c */
        assert_int_equal(d.truncated, 1);
        assert_true(d.vlen <= DL_VKEY_MAX && d.vlen < f->enc[which].len);
        assert_int_equal(dl_cursor_value(&f->c, &full), DT_OK);
        assert_int_equal(full.len, f->enc[which].len);
        assert_memory_equal(full.ptr, f->enc[which].p, full.len);
    }
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_DONE);
    assert_int_equal(dl_cursor_value(&f->c, &full), DT_MISUSE);
    /* dl_key_parse agrees */
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, NULL), DT_OK);
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW);
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW);
    uint8_t key[DL_KEY_MAX];
    size_t kl = dl_key_ave_to(key, d.aid, d.v, d.vlen, d.e);
    dl_datom p;
    assert_int_equal(dl_key_parse(DL_INDEX_AVE, key, kl, &p), DT_OK);
    assert_int_equal(p.e, d.e);
    assert_int_equal(p.aid, d.aid);
    assert_int_equal(p.truncated, 1);
    assert_int_equal(dl_key_parse(DL_INDEX_AVE, key, 12, &p), DT_CORRUPT);
    assert_int_equal(dl_key_lead_len(DL_INDEX_AVE, 2, kl), kl - 8);
    assert_int_equal(dl_key_lead_len(DL_INDEX_EAV, 2, kl), 12);
}

/* The history and giants key parsers give back what the builders put in
 * and refuse keys too short or not of their form. */
static void test_history_and_giants_keys_round_trip_and_refuse_malformed(void **state) {
    cfix *f = *state;
    dl_ikey ks = {1, 0, f->aid_s, NULL, 0};
    assert_int_equal(dl_cursor_seek(&f->c, &ks, 1, NULL), DT_OK);
    dl_datom d, p;
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW); /* "a": short */
    assert_int_equal(d.truncated, 0);
    dt_buf sv = DT_BUF_INIT, b = DT_BUF_INIT;
    assert_int_equal(dt_buf_append(&sv, d.v, d.vlen), DT_OK);
    int64_t se = d.e;
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_ROW); /* a long one */
    assert_int_equal(d.truncated, 1);

    /* history: eav key | rtx */
    int64_t rtx = 0;
    assert_int_equal(dl_key_history(&b, se, f->aid_s, sv.p, sv.len, DL_TX0 + 7), DT_OK);
    assert_int_equal(b.len, 12 + sv.len + 8);
    assert_int_equal(dl_key_parse_history(b.p, b.len, &p, &rtx), DT_OK);
    assert_int_equal(p.e, se);
    assert_int_equal(p.aid, f->aid_s);
    assert_int_equal(p.vlen, sv.len);
    assert_memory_equal(p.v, sv.p, sv.len);
    assert_int_equal(p.truncated, 0);
    assert_int_equal(rtx, DL_TX0 + 7);
    assert_int_equal(dl_key_lead_len(DL_INDEX_EAV, 1, b.len), 8);
    assert_int_equal(dl_key_parse_history(b.p, 21, &p, &rtx), DT_OK); /* 1 value byte */
    assert_int_equal(p.vlen, 1);
    assert_int_equal(dl_key_parse_history(b.p, 20, &p, &rtx), DT_CORRUPT);
    assert_int_equal(rtx, 0);
    assert_int_equal(dl_key_history(&b, d.e, d.aid, d.v, d.vlen, DL_TX0 + 9), DT_OK);
    assert_int_equal(dl_key_parse_history(b.p, b.len, &p, &rtx), DT_OK);
    assert_int_equal(p.truncated, 1);
    assert_int_equal(p.vlen, d.vlen);

    /* giants: aid | truncated vkey, the AVE key's 2-component prefix */
    assert_int_equal(dl_key_giant(&b, d.aid, d.v, d.vlen), DT_OK);
    uint8_t ave[DL_KEY_MAX];
    size_t al = dl_key_ave_to(ave, d.aid, d.v, d.vlen, d.e);
    assert_int_equal(b.len, dl_key_lead_len(DL_INDEX_AVE, 2, al));
    assert_memory_equal(b.p, ave, b.len);
    assert_int_equal(dl_key_parse_giant(b.p, b.len, &p), DT_OK);
    assert_int_equal(p.aid, d.aid);
    assert_int_equal(p.vlen, d.vlen);
    assert_true(p.v == b.p + 4);
    assert_int_equal(p.truncated, 1);
    assert_int_equal(dl_key_parse_giant(b.p, 4, &p), DT_CORRUPT);
    assert_int_equal(dl_key_parse_giant(b.p, b.len - 1, &p), DT_CORRUPT); /* hash cut */
    assert_int_equal(dl_key_giant(&b, f->aid_s, sv.p, sv.len), DT_OK);
    assert_int_equal(dl_key_parse_giant(b.p, b.len, &p), DT_CORRUPT); /* not truncated */

    /* entry values: the asserting tx, 8 bytes */
    uint8_t v8[DL_INDEX_VAL_LEN + 1] = {0};
    int64_t tx = 1;
    dl_index_val(v8, DL_TX0 + 3);
    assert_int_equal(dl_index_val_parse(v8, DL_INDEX_VAL_LEN, &tx), DT_OK);
    assert_int_equal(tx, DL_TX0 + 3);
    assert_int_equal(dl_index_val_parse(v8, 7, &tx), DT_CORRUPT);
    assert_int_equal(tx, 0);
    assert_int_equal(dl_index_val_parse(v8, 9, &tx), DT_CORRUPT);
    dt_buf_release(&sv);
    dt_buf_release(&b);
}

static void test_cursor_last_and_eav(void **state) {
    cfix *f = *state;
    dl_datom d;
    dl_ikey ks = {1, 0, f->aid_s, NULL, 0};
    assert_int_equal(dl_cursor_last(&f->c, &ks, &d), DT_ROW);
    assert_int_equal(d.e, 1); /* ...c */
    dt_kv_bytes full;
    assert_int_equal(dl_cursor_value(&f->c, &full), DT_OK);
    assert_int_equal(full.len, f->enc[2].len);
    assert_memory_equal(full.ptr, f->enc[2].p, full.len);
    assert_int_equal(dl_cursor_next(&f->c, &d), DT_DONE);
    dl_ikey none = {1, 0, 999, NULL, 0};
    assert_int_equal(dl_cursor_last(&f->c, &none, &d), DT_DONE);
    /* EAV of entity 1: :t/s ...a, ...c (value order), and :t/n */
    dl_cursor e;
    assert_int_equal(dl_cursor_open(&e, dl_db_store(f->db), dl_db_txn(f->db), DL_INDEX_EAV), DT_OK);
    dl_ikey k1 = {2, 1, f->aid_s, NULL, 0};
    assert_int_equal(dl_cursor_seek(&e, &k1, 2, NULL), DT_OK);
    assert_int_equal(dl_cursor_next(&e, &d), DT_ROW);
    assert_int_equal(dl_cursor_value(&e, &full), DT_OK);
    assert_memory_equal(full.ptr, f->enc[0].p, f->enc[0].len);
    assert_int_equal(dl_cursor_next(&e, &d), DT_ROW);
    assert_int_equal(dl_cursor_value(&e, &full), DT_OK);
    assert_memory_equal(full.ptr, f->enc[2].p, f->enc[2].len);
    assert_int_equal(dl_cursor_next(&e, &d), DT_DONE);
    /* the exact datom [1 t/s ...c] */
    dl_ikey ex = {3, 1, f->aid_s, f->enc[2].p, f->enc[2].len};
    assert_int_equal(dl_cursor_seek(&e, &ex, 3, NULL), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dl_cursor_count(&e, &n), DT_OK);
    assert_int_equal(n, 1);
    /* seek to entity 2 and on to the end of the index */
    dl_ikey k2 = {1, 2, 0, NULL, 0};
    assert_int_equal(dl_cursor_seek(&e, &k2, 0, NULL), DT_OK);
    n = 0;
    assert_int_equal(dl_cursor_count(&e, &n), DT_OK);
    assert_int_equal(n, 3 + 2 + 2); /* e2: n, s x2; e3: n, s; 2 txInstants */
    dl_cursor_close(&e);
    dl_cursor_close(&e); /* idempotent */
}

/* Every truncated prefix the codec makes is at least DL_INDEX_STABLE
 * bytes: strings, decimals and tuples full of uuids and numbers. */
static void test_truncated_prefixes_are_at_least_the_stable_length(void **state) {
    (void)state;
    uint64_t rs = 42;
    size_t shortest = (size_t)-1;
    for (int r = 0; r < 400; r++) {
        dt_value v;
        int kind = r % 4;
        if (kind == 0 || kind == 1) {
            char s[1200];
            size_t n = 300 + tu_rand(&rs) % 800;
            for (size_t i = 0; i < n; i++) s[i] = (char)(tu_rand(&rs) % 4 == 0 ? 0 : 'a');
            if (kind == 1) {
                for (size_t i = 0; i < n; i++) s[i] = (char)('0' + tu_rand(&rs) % 10);
                s[0] = '9';
            }
            assert_int_equal(dt_value_text(kind ? DT_BIGDEC : DT_STRING, s, n, &v), DT_OK);
        } else {
            size_t n = 20 + tu_rand(&rs) % 60;
            assert_int_equal(dt_value_seq(DT_TUPLE, n, &v), DT_OK);
            for (size_t i = 0; i < n; i++) {
                uint8_t u[16];
                for (int b = 0; b < 16; b++) u[b] = (uint8_t)tu_rand(&rs);
                dt_value *it = &v.u.seq.items[i];
                switch (tu_rand(&rs) % (kind == 2 ? 2 : 4)) {
                case 0:
                    dt_value_uuid(u, it);
                    break;
                case 1:
                    dt_value_long((int64_t)tu_rand(&rs), it);
                    break;
                case 2:
                    assert_int_equal(dt_value_text(DT_BIGDEC, "-12345678901234.5", 17, it), DT_OK);
                    break;
                default:
                    assert_int_equal(dt_value_text(DT_STRING, "xy", 2, it), DT_OK);
                    break;
                }
            }
        }
        dt_buf b = DT_BUF_INIT;
        int truncated = 0;
        assert_int_equal(dl_codec_encode_key(&v, DL_VKEY_MAX, &b, &truncated), DT_OK);
        if (truncated) {
            dl_codec_info info;
            assert_int_equal(dl_codec_scan(b.p, b.len, &info), DT_OK);
            assert_int_equal(info.truncated, 1);
            if (info.prefix_len < shortest) shortest = info.prefix_len;
            if (info.prefix_len < DL_INDEX_STABLE)
                fail_msg("a %s cut at %zu bytes", dt_type_name(v.type), info.prefix_len);
        }
        dt_buf_release(&b);
        dt_value_free(&v);
    }
    assert_true(shortest != (size_t)-1);
}

/* }====== */

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_strings_with_a_600_byte_prefix),
        cmocka_unit_test(test_long_strings_order_range_and_count_by_value),
        cmocka_unit_test(test_long_keywords_order_range_and_count_by_value),
        cmocka_unit_test(test_long_bigints_order_range_and_count_by_value),
        cmocka_unit_test(test_long_bigdecs_order_range_and_count_by_value),
        cmocka_unit_test_setup_teardown(test_cursor_seeks_again_after_the_end, cfix_setup,
                                        cfix_teardown),
        cmocka_unit_test_setup_teardown(test_cursor_prefix_seeks_and_bounds, cfix_setup,
                                        cfix_teardown),
        cmocka_unit_test_setup_teardown(test_cursor_reports_truncated_values_and_gives_full_ones,
                                        cfix_setup, cfix_teardown),
        cmocka_unit_test_setup_teardown(
            test_history_and_giants_keys_round_trip_and_refuse_malformed, cfix_setup,
            cfix_teardown),
        cmocka_unit_test_setup_teardown(test_cursor_last_and_eav, cfix_setup, cfix_teardown),
        cmocka_unit_test(test_truncated_prefixes_are_at_least_the_stable_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
