/*
 * test_query_conformance.c -- every `:op :q` case of the shared
 * conformance suite (../shared/conformance/cases.edn, expected results
 * computed by DataScript) through the public query API: dt_q_inputs with
 * the case's :inputs ("$" is the case's dataset), under both plan modes
 * (DT_PLAN_AUTO and the reference evaluator DT_PLAN_NAIVE).  Results are
 * compared as the suite's README says: rows as multisets (a set is a
 * multiset without duplicates), numbers numerically, floats within a
 * relative 1e-9; an :error case must fail, and an :error-allowed one may.
 * A :known-divergence case marks a reference bug whose right answer is
 * only given in prose: it must run, and its result is printed for a human
 * next to the note.
 */
#include "confutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number of `:op :q` cases in cases.edn: the test fails when it runs
 * another number, so it cannot pass by skipping cases. */
#define EXPECTED_Q_CASES 80

/* A generous deadline per query: an evaluator that loops fails the case
 * with DT_TIMEOUT instead of hanging the test. */
#define CASE_TIMEOUT_MS 60000

static const struct mode {
    dt_plan_mode plan;
    const char *name;
} modes[] = {{DT_PLAN_AUTO, "auto"}, {DT_PLAN_NAIVE, "naive"}};
#define NMODES (sizeof modes / sizeof modes[0])

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

/* The items of a collection value (vector, list or set), or NULL. */
static const dt_value *coll_items(const dt_value *v, size_t *n) {
    if (!v || (v->type != DT_VECTOR && v->type != DT_LIST && v->type != DT_SET)) return NULL;
    *n = v->u.seq.n;
    return v->u.seq.items;
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

/* Runs one :op :q case in one mode; 1 when it conforms, else appends the
 * report (id, query, inputs, expected, actual) to msg. */
static int run_case(const dt_value *cs, const struct mode *mode, int *divergent, tu_sbuf *msg) {
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
    opts.plan = mode->plan;
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
        print_message("  %s [%s] known divergence (%s): got %s\n", id, mode->name,
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
                     id, mode->name, notes ? " (" : "",
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

static void test_every_q_case_conforms(void **state) {
    (void)state;
    dt_value cases = tu_conf_cases();
    size_t in_file = 0, run[NMODES] = {0}, passed[NMODES] = {0}, divergent = 0;
    tu_sbuf msg = {0}, failed_ids = {0};
    for (size_t i = 0; i < cases.u.seq.n; i++) {
        const dt_value *cs = &cases.u.seq.items[i];
        if (!tu_is_kw(tu_map_get(cs, "op"), "q")) continue;
        in_file++;
        for (size_t m = 0; m < NMODES; m++) {
            int div = 0;
            run[m]++;
            if (run_case(cs, &modes[m], &div, &msg))
                passed[m]++;
            else
                tu_sb_printf(&failed_ids, " %s[%s]", tu_map_get(cs, "id")->u.s.ptr, modes[m].name);
            if (div && m == 0) divergent++;
        }
    }
    dt_value_free(&cases);
    tu_conf_datasets_close();
    for (size_t m = 0; m < NMODES; m++)
        print_message("conformance: plan %s: %zu :op :q cases run, %zu conform\n", modes[m].name,
                      run[m], passed[m]);
    if (divergent) print_message("conformance: %zu known divergences (see above)\n", divergent);
    if (msg.p) print_error("%s", msg.p);
    if (failed_ids.p) print_error("failing:%s\n", failed_ids.p);
    free(msg.p);
    free(failed_ids.p);
    assert_int_equal(in_file, EXPECTED_Q_CASES);
    for (size_t m = 0; m < NMODES; m++) {
        assert_int_equal(run[m], in_file);
        if (passed[m] != run[m])
            fail_msg("plan %s: %zu of %zu :op :q cases do not conform (see above)", modes[m].name,
                     run[m] - passed[m], run[m]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_q_case_conforms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
