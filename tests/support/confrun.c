/*
 * confrun.c -- running one conformance case (see confutil.h): the
 * runners that the shared suite's tests and the test of the generated
 * DataScript cases both use.
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A generous deadline per query: an evaluator that loops fails the case
 * with DT_TIMEOUT instead of hanging the test. */
#define CASE_TIMEOUT_MS 60000

/* {====== Cases from a file ====== */

dt_value tu_conf_cases_file(const char *path) {
    char *text = tu_read_file(path, NULL);
    if (!text) fail_msg("cannot read %s", path);
    dt_value cases = DT_VALUE_NIL;
    if (dt_edn_read(text, strlen(text), &cases) != DT_OK) fail_msg("%s: %s", path, dt_errmsg(NULL));
    free(text);
    assert_int_equal(cases.type, DT_VECTOR);
    return cases;
}

/* }====== */

/* {====== :op :q ====== */

/* {====== Results as values ====== */

/* The rows of a result as vectors (a collection's items as they are),
 * owned: free each with dt_value_free and the array with free. */
static dt_value *result_rows(const dt_result *r, int items, size_t *n_out) {
    size_t n = dt_result_count(r), w = dt_result_width(r);
    dt_value *rows = calloc(n + 1, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        if (items) {
            const dt_value *c = dt_result_get(r, i, 0);
            assert_non_null(c);
            assert_int_equal(dt_value_copy(c, &rows[i]), DT_OK);
            continue;
        }
        assert_int_equal(dt_value_seq(DT_VECTOR, w, &rows[i]), DT_OK);
        for (size_t j = 0; j < w; j++) {
            const dt_value *c = dt_result_get(r, i, j);
            assert_non_null(c);
            assert_int_equal(dt_value_copy(c, &rows[i].u.seq.items[j]), DT_OK);
        }
    }
    *n_out = n;
    return rows;
}

static void rows_free(dt_value *rows, size_t n) {
    for (size_t i = 0; i < n; i++) dt_value_free(&rows[i]);
    free(rows);
}

/* The items of a collection value (vector, list or set), or NULL when v
 * is not one (an empty collection gives a pointer to no items). */
static const dt_value *coll_items(const dt_value *v, size_t *n) {
    static const dt_value none = DT_VALUE_NIL;
    if (!v || (v->type != DT_VECTOR && v->type != DT_LIST && v->type != DT_SET)) return NULL;
    *n = v->u.seq.n;
    return v->u.seq.n ? v->u.seq.items : &none;
}

static const char *kind_name(dt_find_kind k) {
    switch (k) {
    case DT_FIND_REL:
        return "relation";
    case DT_FIND_COLL:
        return "collection";
    case DT_FIND_SCALAR:
        return "scalar";
    case DT_FIND_TUPLE:
        return "tuple";
    }
    return "?";
}

/* }====== */

/* {====== One case ====== */

/* 1 when the query text (vector or map form) has an :in clause. */
static int query_has_in(const char *text) {
    dt_value q = DT_VALUE_NIL;
    if (dt_edn_read(text, strlen(text), &q) != DT_OK) return 0; /* the engine will say why */
    int has = 0;
    if (q.type == DT_MAP) has = tu_map_get(&q, "in") != NULL;
    if (q.type == DT_VECTOR || q.type == DT_LIST)
        for (size_t i = 0; i < q.u.seq.n; i++)
            if (tu_is_kw(&q.u.seq.items[i], "in")) has = 1;
    dt_value_free(&q);
    return has;
}

/*
 * Compares a successful result with the expectation; appends what differs
 * to msg and returns 0 when they do not match.
 */
static int compare_result(const dt_result *r, const dt_value *expect, tu_sbuf *msg) {
    const dt_value *etype = tu_map_get(expect, "type");
    dt_find_kind kind = dt_result_kind(r);
    int ok = 1;
    if (tu_is_kw(etype, "relation") || tu_is_kw(etype, "collection")) {
        int coll = tu_is_kw(etype, "collection");
        dt_find_kind want_kind = coll ? DT_FIND_COLL : DT_FIND_REL;
        if (kind != want_kind) {
            tu_sb_printf(msg, "      result kind %s, wanted %s\n", kind_name(kind),
                         kind_name(want_kind));
            ok = 0;
        }
        size_t nw = 0, ng = 0;
        const dt_value *want = coll_items(tu_map_get(expect, coll ? "items" : "rows"), &nw);
        if (!want) fail_msg("malformed expectation (no :rows/:items)");
        dt_value *got = result_rows(r, coll, &ng);
        if (!tu_multiset_match(want, nw, got, ng, msg, "      ")) {
            tu_sb_printf(msg, "      (wanted %zu rows, got %zu)\n", nw, ng);
            ok = 0;
        }
        rows_free(got, ng);
    } else if (tu_is_kw(etype, "relation-maps")) {
        size_t nw = 0, ng = 0;
        const dt_value *want = coll_items(tu_map_get(expect, "rows"), &nw);
        if (!want) fail_msg("malformed expectation (no :rows)");
        dt_value v = DT_VALUE_NIL;
        int rc = dt_result_value(r, &v);
        if (rc != DT_OK) {
            tu_sb_printf(msg, "      dt_result_value failed: %d %s\n", rc, dt_errmsg(NULL));
            return 0;
        }
        const dt_value *got = coll_items(&v, &ng);
        if (!got) {
            tu_sb_printf(msg, "      dt_result_value is not a collection of maps\n");
            ok = 0;
        } else if (!tu_multiset_match(want, nw, got, ng, msg, "      ")) {
            ok = 0;
        }
        dt_value_free(&v);
    } else if (tu_is_kw(etype, "scalar") || tu_is_kw(etype, "tuple")) {
        int tuple = tu_is_kw(etype, "tuple");
        dt_find_kind want_kind = tuple ? DT_FIND_TUPLE : DT_FIND_SCALAR;
        if (kind != want_kind) {
            tu_sb_printf(msg, "      result kind %s, wanted %s\n", kind_name(kind),
                         kind_name(want_kind));
            ok = 0;
        }
        const dt_value *want = tu_map_get(expect, "value");
        if (!want) fail_msg("malformed expectation (no :value)");
        dt_value got = DT_VALUE_NIL;
        size_t n = 0;
        dt_value *rows = result_rows(r, !tuple, &n);
        if (n > 1) {
            tu_sb_printf(msg, "      %zu rows for a %s\n", n, tuple ? "tuple" : "scalar");
            ok = 0;
        }
        if (n >= 1) got = rows[0];
        if (!tu_values_match(want, &got)) ok = 0;
        rows_free(rows, n);
    } else {
        char *s = tu_edn(expect);
        fail_msg("unknown expectation %s", s);
    }
    return ok;
}

/* The whole result as EDN through dt_result_edn, which must read back
 * and match dt_result_value; malloc'd text for the messages.  A failure
 * of either is a mismatch (appended to msg, *ok cleared). */
static char *result_edn_checked(const dt_result *r, tu_sbuf *msg, int *ok) {
    char *edn = NULL;
    size_t len = 0;
    int rc = dt_result_edn(r, &edn, &len);
    if (rc != DT_OK) {
        tu_sb_printf(msg, "      dt_result_edn failed: %d %s\n", rc, dt_errmsg(NULL));
        *ok = 0;
        return strdup("?");
    }
    char *copy = strndup(edn, len);
    dt_free(edn);
    dt_value back = DT_VALUE_NIL, v = DT_VALUE_NIL;
    if ((rc = dt_edn_read(copy, len, &back)) != DT_OK) {
        tu_sb_printf(msg, "      the result's EDN does not read back: %s\n", dt_errmsg(NULL));
        *ok = 0;
    } else if ((rc = dt_result_value(r, &v)) != DT_OK) {
        tu_sb_printf(msg, "      dt_result_value failed: %d %s\n", rc, dt_errmsg(NULL));
        *ok = 0;
    } else if (!tu_values_match(&v, &back)) {
        tu_sb_printf(msg, "      the result's EDN reads back as another value\n");
        *ok = 0;
    }
    dt_value_free(&back);
    dt_value_free(&v);
    return copy;
}

int tu_conf_run_q(const dt_value *cs, dt_plan_mode plan, int *divergent, tu_sbuf *msg) {
    const char *mode_name = plan == DT_PLAN_NAIVE ? "naive" : "auto";
    const char *id = tu_str_of(tu_map_get(cs, "id"), "?", ":id");
    const char *query = tu_str_of(tu_map_get(cs, "query"), id, ":query");
    const dt_value *inputs = tu_map_get(cs, "inputs");
    const dt_value *expect = tu_map_get(cs, "expect");
    if (!inputs || inputs->type != DT_VECTOR || !expect) fail_msg("%s: malformed case", id);
    int want_error = tu_is_kw(tu_map_get(expect, "type"), "error");
    int error_allowed = tu_is_true(tu_map_get(cs, "error-allowed"));
    *divergent = tu_is_true(tu_map_get(cs, "known-divergence"));

    dt_conn *conn = tu_conf_dataset(tu_str_of(tu_map_get(cs, "dataset"), id, ":dataset"),
                                    tu_map_get(cs, "schema"));
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);

    size_t n = inputs->u.seq.n;
    dt_input *in = calloc(n + 1, sizeof *in);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        const char *t = tu_str_of(&inputs->u.seq.items[i], id, ":inputs item");
        if (!strcmp(t, "$")) {
            in[i].db = db;
        } else {
            in[i].edn = t;
            in[i].edn_len = strlen(t);
        }
    }
    /* a query without :in takes the database as its one input ($) */
    if (n == 0 && !query_has_in(query)) in[n++].db = db;

    dt_query_options opts = {0};
    opts.version = DT_QUERY_OPTIONS_VERSION;
    opts.timeout_ms = CASE_TIMEOUT_MS;
    opts.plan = plan;
    dt_result *r = NULL;
    int rc = dt_q_inputs(query, strlen(query), in, n, &opts, &r);
    const char *err = rc == DT_OK ? "" : dt_errmsg(NULL);

    int ok = 1;
    tu_sbuf local = {0};
    char *actual = NULL;
    if (rc != DT_OK) {
        size_t alen = strlen(err) + 64;
        actual = malloc(alen);
        assert_non_null(actual);
        snprintf(actual, alen, "error %d (%s): %s", rc, dt_errstr(rc), err);
        if (!want_error && !error_allowed) ok = 0;
        if (rc == DT_INTERNAL || rc == DT_NOMEM || rc == DT_MISUSE) ok = 0; /* never right */
        if (!*err) {
            tu_sb_printf(&local, "      the error has no message\n");
            ok = 0;
        }
    } else {
        actual = result_edn_checked(r, &local, &ok);
        if (want_error && !error_allowed) {
            tu_sb_printf(&local, "      expected an error\n");
            ok = 0;
        } else if (!want_error && !*divergent && !compare_result(r, expect, &local)) {
            ok = 0;
        }
    }
    if (*divergent) {
        const dt_value *notes = tu_map_get(cs, "notes");
        print_message("  %s [%s] known divergence (%s): got %s\n", id, mode_name,
                      notes && notes->type == DT_STRING ? notes->u.s.ptr : "no note", actual);
    }
    if (!ok) {
        char *in_s = tu_edn(inputs), *ex_s = tu_edn(expect);
        const dt_value *notes = tu_map_get(cs, "notes");
        tu_sb_printf(msg,
                     "  case %s [plan %s] does not conform%s%s%s\n"
                     "    query:    %s\n"
                     "    inputs:   %s\n"
                     "    expected: %s\n"
                     "    actual:   %s\n%s",
                     id, mode_name, notes ? " (" : "",
                     notes && notes->type == DT_STRING ? notes->u.s.ptr : "", notes ? ")" : "",
                     query, in_s, ex_s, actual, local.p ? local.p : "");
        free(in_s);
        free(ex_s);
    }
    free(local.p);
    free(actual);
    dt_result_free(r);
    free(in);
    dt_db_close(db);
    return ok;
}

/* }====== */

/* {====== :op :tx ====== */

static char *show(const dt_value *v) { return tu_edn(v); }

/* {====== Datom sets ====== */

/* One datom as compared: e, attribute text, value, added (-1: none). */
typedef struct cdatom {
    int64_t e;
    char *a;
    dt_value v;
    int added;
} cdatom;

typedef struct dset {
    cdatom *d;
    size_t n, cap;
} dset;

static void dset_add(dset *s, int64_t e, const char *a, size_t alen, const dt_value *v, int added) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->d = realloc(s->d, s->cap * sizeof *s->d);
        assert_non_null(s->d);
    }
    cdatom *c = &s->d[s->n++];
    c->e = e;
    c->a = strndup(a, alen);
    assert_non_null(c->a);
    assert_int_equal(dt_value_copy(v, &c->v), DT_OK);
    c->added = added;
}

static void dset_free(dset *s) {
    for (size_t i = 0; i < s->n; i++) {
        free(s->d[i].a);
        dt_value_free(&s->d[i].v);
    }
    free(s->d);
    memset(s, 0, sizeof *s);
}

static int cdatom_match(const cdatom *want, const cdatom *got) {
    return want->e == got->e && strcmp(want->a, got->a) == 0 && want->added == got->added &&
           tu_values_match(&want->v, &got->v);
}

static void cdatom_show(tu_sbuf *b, const char *sign, const cdatom *d) {
    char *v = show(&d->v);
    if (d->added < 0)
        tu_sb_printf(b, "      %s [%lld :%s %s]\n", sign, (long long)d->e, d->a, v);
    else
        tu_sb_printf(b, "      %s [%lld :%s %s %s]\n", sign, (long long)d->e, d->a, v,
                     d->added ? "true" : "false");
    free(v);
}

/*
 * Expected datoms from an EDN vector of [e :a v] (with_added = 0) or
 * [e :a v added] (with_added = 1).  Malformed expectations fail the test.
 */
static void dset_from_expect(dset *s, const dt_value *vec, int with_added, const char *case_id) {
    if (!vec || vec->type != DT_VECTOR) fail_msg("%s: expected datoms are not a vector", case_id);
    for (size_t i = 0; i < vec->u.seq.n; i++) {
        const dt_value *d = &vec->u.seq.items[i];
        size_t want_n = with_added ? 4 : 3;
        if (d->type != DT_VECTOR || d->u.seq.n != want_n || d->u.seq.items[0].type != DT_LONG ||
            d->u.seq.items[1].type != DT_KEYWORD ||
            (with_added && d->u.seq.items[3].type != DT_BOOL))
            fail_msg("%s: malformed expected datom #%zu", case_id, i);
        const dt_value *a = &d->u.seq.items[1];
        dset_add(s, d->u.seq.items[0].u.i, a->u.s.ptr, a->u.s.len, &d->u.seq.items[2],
                 with_added ? d->u.seq.items[3].u.b : -1);
    }
}

/*
 * Compares two datom sets; on a difference appends "missing" (wanted, not
 * got) and "unexpected" (got, not wanted) lines under `what` and returns 0.
 * Duplicates on either side are a difference too (both are sets).
 */
static int dset_compare(tu_sbuf *msg, const char *what, const dset *want, const dset *got) {
    char *used = calloc(got->n + 1, 1), *found = calloc(want->n + 1, 1);
    assert_true(used && found);
    for (size_t i = 0; i < want->n; i++)
        for (size_t j = 0; j < got->n; j++)
            if (!used[j] && cdatom_match(&want->d[i], &got->d[j])) {
                used[j] = found[i] = 1;
                break;
            }
    int ok = 1;
    for (size_t i = 0; i < want->n; i++)
        if (!found[i]) ok = 0;
    for (size_t j = 0; j < got->n; j++)
        if (!used[j]) ok = 0;
    if (!ok) {
        tu_sb_printf(msg, "    %s differ (wanted %zu, got %zu):\n", what, want->n, got->n);
        for (size_t i = 0; i < want->n; i++)
            if (!found[i]) cdatom_show(msg, "missing   ", &want->d[i]);
        for (size_t j = 0; j < got->n; j++)
            if (!used[j]) cdatom_show(msg, "unexpected", &got->d[j]);
    }
    free(used);
    free(found);
    return ok;
}

/* Every datom of non-transaction entities in the database now. */
static void dset_from_db(dset *s, dt_conn *c) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(c, &db), DT_OK);
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it), DT_OK);
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW)
        if (d.e < DT_TX0) dset_add(s, d.e, d.a, strlen(d.a), &d.v, -1);
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    dt_db_close(db);
}

/* The report's datoms, transaction-entity datoms excluded. */
static void dset_from_report(dset *s, dt_report *r) {
    for (size_t i = 0; i < dt_report_count(r); i++) {
        dt_datom d;
        assert_int_equal(dt_report_datom(r, i, &d), DT_OK);
        if (d.e < DT_TX0) dset_add(s, d.e, d.a, strlen(d.a), &d.v, d.added ? 1 : 0);
    }
}

/* }====== */

/* {====== Tempid maps ====== */

/* Compares the report's tempid map with the expected {tempid id ...}. */
static int tempids_compare(tu_sbuf *msg, const dt_value *want, dt_report *r) {
    const dt_value *got = dt_report_tempids(r);
    int ok = 1;
    if (!want || want->type != DT_MAP) {
        tu_sb_printf(msg, "    expected :tempids is not a map\n");
        return 0;
    }
    assert_non_null(got);
    size_t nwant = 0;
    for (size_t i = 0; i + 1 < want->u.seq.n; i += 2) {
        const dt_value *k = &want->u.seq.items[i], *v = &want->u.seq.items[i + 1];
        if (tu_is_kw(k, "db/current-tx")) continue; /* DataScript lists the tx; Datolite does not */
        nwant++;
        int64_t id = 0;
        int rc = dt_report_tempid(r, k, &id);
        char *ks = show(k), *vs = show(v);
        if (rc != DT_OK) {
            tu_sb_printf(msg, "    tempid %s: wanted %s, not in the report\n", ks, vs);
            ok = 0;
        } else if (v->type != DT_LONG || v->u.i != id) {
            tu_sb_printf(msg, "    tempid %s: wanted %s, got %lld\n", ks, vs, (long long)id);
            ok = 0;
        }
        free(ks);
        free(vs);
    }
    if (got->u.seq.n / 2 != nwant) {
        char *gs = show(got), *ws = show(want);
        tu_sb_printf(msg, "    tempid maps differ in size: wanted %s, got %s\n", ws, gs);
        free(gs);
        free(ws);
        ok = 0;
    }
    return ok;
}

/* }====== */

/* {====== Running a case ====== */

int tu_conf_run_tx(const dt_value *cs, tu_sbuf *msg) {
    const dt_value *idv = tu_map_get(cs, "id");
    const char *id = tu_str_of(idv, "?", ":id");
    const dt_value *expect = tu_map_get(cs, "expect");
    const dt_value *etype = tu_map_get(expect, "type");
    int want_error = tu_is_kw(etype, "error");
    int error_allowed = tu_is_true(tu_map_get(cs, "error-allowed"));
    if (!want_error && !tu_is_kw(etype, "tx")) fail_msg("%s: unknown :expect :type", id);
    const dt_value *txs = tu_map_get(cs, "txs");
    if (!txs || txs->type != DT_VECTOR || txs->u.seq.n == 0) fail_msg("%s: no :txs", id);

    /* fresh database with the case's schema */
    const dt_value *schema = tu_map_get(cs, "schema");
    char *schema_edn = schema ? show(schema) : NULL;
    char *dir = tu_tmpdir();
    assert_non_null(dir);
    dt_conn *c = NULL;
    int rc = dt_conn_open(dir, schema_edn, NULL, &c);
    if (rc != DT_OK) fail_msg("%s: dt_conn_open: %s", id, dt_errmsg(NULL));
    free(schema_edn);

    const dt_value *dataset = tu_map_get(cs, "dataset");
    if (dataset) {
        char rel[256];
        snprintf(rel, sizeof rel, "conformance/datasets/%s.edn",
                 tu_str_of(dataset, id, ":dataset"));
        char *text = tu_read_shared(rel);
        if ((rc = dt_transact(c, text, NULL)) != DT_OK)
            fail_msg("%s: loading dataset %s: %s", id, rel, dt_errmsg(c));
        free(text);
    }
    const dt_value *seed = tu_map_get(cs, "seed-tx");
    if (seed && (rc = dt_transact(c, tu_str_of(seed, id, ":seed-tx"), NULL)) != DT_OK)
        fail_msg("%s: :seed-tx failed: %s", id, dt_errmsg(c));

    int ok = 1;
    size_t nreports = 0;
    dt_report **reports = calloc(txs->u.seq.n, sizeof *reports);
    assert_non_null(reports);
    int failed = 0;
    tu_sbuf local = {0};
    for (size_t i = 0; i < txs->u.seq.n && !failed; i++) {
        const char *tx = tu_str_of(&txs->u.seq.items[i], id, ":txs item");
        char *before = tu_dump(c, 1);
        rc = dt_transact(c, tx, &reports[i]);
        if (rc != DT_OK) {
            failed = 1;
            char *after = tu_dump(c, 1);
            if (strcmp(before, after) != 0) {
                tu_sb_printf(&local, "    tx %zu failed (%d: %s) but changed the database\n", i + 1,
                             rc, dt_errmsg(c));
                ok = 0;
            }
            if (!want_error && !error_allowed) {
                tu_sb_printf(&local, "    tx %zu %s failed: %d (%s)\n", i + 1, tx, rc,
                             dt_errmsg(c));
                ok = 0;
            }
            if (want_error && i + 1 != txs->u.seq.n)
                tu_sb_printf(&local, "    (note: tx %zu of %zu is the one that failed)\n", i + 1,
                             txs->u.seq.n);
            free(after);
        } else {
            nreports++;
        }
        free(before);
    }
    if (want_error && !failed) {
        tu_sb_printf(&local, "    expected an error, but every transaction succeeded\n");
        ok = 0;
    }
    if (!want_error && !failed) {
        /* the datoms afterwards */
        dset want = {0}, got = {0};
        dset_from_expect(&want, tu_map_get(expect, "datoms"), 0, id);
        dset_from_db(&got, c);
        if (!dset_compare(&local, "datoms", &want, &got)) ok = 0;
        dset_free(&want);
        dset_free(&got);
        /* the reports */
        const dt_value *ereps = tu_map_get(expect, "reports");
        if (!ereps || ereps->type != DT_VECTOR || ereps->u.seq.n != nreports) {
            tu_sb_printf(&local, "    expected %zu reports, have %zu\n",
                         ereps && ereps->type == DT_VECTOR ? ereps->u.seq.n : 0, nreports);
            ok = 0;
        } else {
            for (size_t i = 0; i < nreports; i++) {
                const dt_value *er = &ereps->u.seq.items[i];
                char what[64];
                if (!tempids_compare(&local, tu_map_get(er, "tempids"), reports[i])) ok = 0;
                dset w = {0}, g = {0};
                dset_from_expect(&w, tu_map_get(er, "tx-data"), 1, id);
                dset_from_report(&g, reports[i]);
                snprintf(what, sizeof what, "report %zu :tx-data", i + 1);
                if (!dset_compare(&local, what, &w, &g)) ok = 0;
                dset_free(&w);
                dset_free(&g);
            }
        }
    }
    if (!ok) {
        const dt_value *notes = tu_map_get(cs, "notes");
        tu_sb_printf(msg, "  case %s (%s) does not conform:\n%s", id,
                     notes && notes->type == DT_STRING ? notes->u.s.ptr : "",
                     local.p ? local.p : "");
    }
    free(local.p);
    for (size_t i = 0; i < txs->u.seq.n; i++) dt_report_close(reports[i]);
    free(reports);
    assert_int_equal(dt_conn_close(c), DT_OK);
    tu_rmdir_free(dir);
    return ok;
}

/* }====== */

/* {====== :op :pull and :op :pull-many ====== */

int tu_conf_run_pull(const dt_value *cs, tu_sbuf *msg) {
    const char *id = tu_str_of(tu_map_get(cs, "id"), "?", ":id");
    int many = tu_is_kw(tu_map_get(cs, "op"), "pull-many");
    const dt_value *expect = tu_map_get(cs, "expect");
    int want_error = tu_is_kw(tu_map_get(expect, "type"), "error");
    int error_allowed = tu_is_true(tu_map_get(cs, "error-allowed"));
    dt_conn *conn = tu_conf_dataset(tu_str_of(tu_map_get(cs, "dataset"), id, ":dataset"),
                                    tu_map_get(cs, "schema"));
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    const char *pattern = tu_str_of(tu_map_get(cs, "query"), id, ":query");
    const dt_value *inputs = tu_map_get(cs, "inputs");
    if (!inputs || inputs->type != DT_VECTOR || inputs->u.seq.n < 1) fail_msg("%s: no :inputs", id);
    dt_value in = tu_read(tu_str_of(&inputs->u.seq.items[0], id, ":inputs item"));
    dt_value got = DT_VALUE_NIL;
    int rc;
    if (many) {
        if (in.type != DT_VECTOR) fail_msg("%s: :pull-many input is not a vector", id);
        rc = dt_pull_many(db, pattern, strlen(pattern), in.u.seq.items, in.u.seq.n, &got);
    } else {
        rc = dt_pull(db, pattern, strlen(pattern), &in, &got);
    }
    int ok = 1;
    /* the same pull into an arena gives the same result */
    dt_arena *arena = NULL;
    assert_int_equal(dt_arena_new(&arena), DT_OK);
    dt_value in_arena = DT_VALUE_NIL;
    int arc = many ? dt_pull_many_in(db, pattern, strlen(pattern), in.u.seq.items, in.u.seq.n,
                                     arena, &in_arena)
                   : dt_pull_in(db, pattern, strlen(pattern), &in, arena, &in_arena);
    if (arc != rc || (rc == DT_OK && !dt_value_equal(&got, &in_arena))) {
        tu_sb_printf(msg, "  case %s: pull %s into an arena gave %d, another result than %d\n", id,
                     pattern, arc, rc);
        ok = 0;
    }
    dt_arena_free(arena);
    if (rc != DT_OK) {
        if (rc == DT_INTERNAL || rc == DT_NOMEM || rc == DT_MISUSE ||
            (!want_error && !error_allowed)) {
            tu_sb_printf(msg, "  case %s: pull %s on %s failed (%d): %s\n", id, pattern,
                         inputs->u.seq.items[0].u.s.ptr, rc, dt_errmsg(db));
            ok = 0;
        }
    } else if (want_error && !error_allowed) {
        char *gs = tu_edn(&got);
        tu_sb_printf(msg, "  case %s: pull %s on %s: expected an error, got %s\n", id, pattern,
                     inputs->u.seq.items[0].u.s.ptr, gs);
        free(gs);
        ok = 0;
    } else if (!want_error) {
        const dt_value *want = tu_map_get(expect, "value");
        dt_value nil = DT_VALUE_NIL;
        /* vectors inside pulled maps compare as sets (tu_values_match) */
        int match = tu_values_match(want ? want : &nil, &got);
        if (!match) {
            ok = 0;
            char *ws = tu_edn(want ? want : &nil), *gs = tu_edn(&got);
            tu_sb_printf(msg, "  case %s: pull %s on %s\n    want %s\n    got  %s\n", id, pattern,
                         inputs->u.seq.items[0].u.s.ptr, ws, gs);
            free(ws);
            free(gs);
        }
    }
    dt_value_free(&got);
    dt_value_free(&in);
    dt_db_close(db);
    return ok;
}

/* }====== */
