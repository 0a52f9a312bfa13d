/*
 * test_txn_conformance.c -- the `:op :tx` cases of the shared conformance
 * suite (../shared/conformance/cases.edn, expected results computed by
 * DataScript): each case runs on a fresh database and its datoms, tempid
 * maps and report datoms are compared with the expected ones as the
 * suite's README says (sets of datoms, numbers compared numerically).
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number of `:op :tx` cases in cases.edn; the test fails if it runs
 * fewer (or more), so it cannot pass by skipping everything. */
#define EXPECTED_TX_CASES 11

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

/* Runs one :op :tx case; returns 1 when it conforms, else appends the
 * differences to msg and returns 0. */
static int run_case(const dt_value *cs, tu_sbuf *msg) {
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

static void test_every_tx_case_conforms(void **state) {
    (void)state;
    dt_value cases = tu_conf_cases();
    size_t run = 0, passed = 0;
    tu_sbuf msg = {0};
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        if (!tu_is_kw(tu_map_get(cs, "op"), "tx")) continue;
        run++;
        if (run_case(cs, &msg)) passed++;
    }
    dt_value_free(&cases);
    print_message("conformance: %zu :op :tx cases run, %zu conform\n", run, passed);
    if (msg.p) print_error("%s", msg.p);
    free(msg.p);
    assert_int_equal(run, EXPECTED_TX_CASES);
    if (passed != run)
        fail_msg("%zu of %zu :op :tx cases do not conform (see above)", run - passed, run);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_tx_case_conforms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
