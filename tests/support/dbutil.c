/* dbutil.c -- see dbutil.h. */
#include "dbutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tu_db *tu_db_open(const char *schema_edn) {
    tu_db *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->dir = tu_tmpdir();
    assert_non_null(d->dir);
    int rc = dt_conn_open(d->dir, schema_edn, NULL, &d->conn);
    if (rc != DT_OK) fail_msg("dt_conn_open: %s", dt_errmsg(NULL));
    return d;
}

void tu_db_reopen(tu_db *d) {
    assert_int_equal(dt_conn_close(d->conn), DT_OK);
    d->conn = NULL;
    int rc = dt_conn_open(d->dir, NULL, NULL, &d->conn);
    if (rc != DT_OK) fail_msg("reopen: %s", dt_errmsg(NULL));
}

void tu_db_close(tu_db *d) {
    if (!d) return;
    assert_int_equal(dt_conn_close(d->conn), DT_OK);
    tu_rmdir_free(d->dir);
    free(d);
}

void tu_tx_all(dt_conn *conn, const char *const *txs, size_t n, int64_t *ids) {
    for (size_t i = 0; i < n; i++) {
        dt_report *r = tu_tx(conn, txs[i], DT_OK, ids != NULL);
        if (ids) {
            ids[i] = dt_report_tx(r);
            dt_report_close(r);
        }
    }
}

tu_snap *tu_snap_open(const char *schema_edn, const char *const *txs, size_t n) {
    tu_snap *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->d = tu_db_open(schema_edn);
    tu_tx_all(s->d->conn, txs, n, NULL);
    assert_int_equal(dt_conn_db(s->d->conn, &s->db), DT_OK);
    return s;
}

void tu_snap_close(tu_snap *s) {
    if (!s) return;
    dt_db_close(s->db);
    tu_db_close(s->d);
    free(s);
}

int tu_value_cmp(const void *a, const void *b) { return dt_value_compare(a, b); }

void tu_canon(dt_value *v, int top) {
    if (v->type == DT_SET || v->type == DT_VECTOR || v->type == DT_MAP || v->type == DT_LIST) {
        for (size_t i = 0; i < v->u.seq.n; i++) tu_canon(&v->u.seq.items[i], 0);
        if (v->u.seq.n > 1 && (v->type == DT_SET || (top && v->type == DT_VECTOR)))
            qsort(v->u.seq.items, v->u.seq.n, sizeof *v->u.seq.items, tu_value_cmp);
    }
}

char *tu_edn(const dt_value *v) {
    char *s = NULL;
    size_t n;
    assert_int_equal(dt_edn_write(v, DT_EDN_COMPACT, &s, &n), DT_OK);
    char *copy = strdup(s);
    dt_free(s);
    return copy;
}

void tu_lines_add(tu_lines *l, char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n++] = s;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tu_lines_join(tu_lines *l) {
    if (l->n > 1) qsort(l->v, l->n, sizeof *l->v, cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < l->n; i++) total += strlen(l->v[i]) + 1;
    char *out = malloc(total), *p = out;
    *p = '\0';
    for (size_t i = 0; i < l->n; i++) {
        p += sprintf(p, "%s%s", i ? "\n" : "", l->v[i]);
        free(l->v[i]);
    }
    free(l->v);
    return out;
}

static char *datom_line(const dt_datom *d, int with_added) {
    char *v = tu_edn(&d->v);
    size_t n = strlen(v) + strlen(d->a) + 64;
    char *s = malloc(n);
    if (with_added)
        snprintf(s, n, "[%lld :%s %s %s]", (long long)d->e, d->a, v, d->added ? "true" : "false");
    else
        snprintf(s, n, "[%lld :%s %s]", (long long)d->e, d->a, v);
    free(v);
    return s;
}

char *tu_dump_db(dt_db *db, int with_tx) {
    dt_datom_iter *it = NULL;
    assert_int_equal(dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it), DT_OK);
    tu_lines l = {0};
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW)
        if (with_tx || d.e < DT_TX0) tu_lines_add(&l, datom_line(&d, 0));
    assert_int_equal(rc, DT_DONE);
    dt_datom_iter_close(it);
    return tu_lines_join(&l);
}

char *tu_dump(dt_conn *conn, int with_tx) {
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(conn, &db), DT_OK);
    char *s = tu_dump_db(db, with_tx);
    dt_db_close(db);
    return s;
}

char *tu_report_datoms(dt_report *r) {
    tu_lines l = {0};
    for (size_t i = 0; i < dt_report_count(r); i++) {
        dt_datom d;
        assert_int_equal(dt_report_datom(r, i, &d), DT_OK);
        if (d.e < DT_TX0) tu_lines_add(&l, datom_line(&d, 1));
    }
    return tu_lines_join(&l);
}

dt_report *tu_tx(dt_conn *conn, const char *edn, int expect_rc, int want_report) {
    dt_report *r = NULL;
    int rc = dt_transact(conn, edn, want_report ? &r : NULL);
    if (rc != expect_rc)
        fail_msg("transact %s: got %d (%s), wanted %d", edn, rc, dt_errmsg(conn), expect_rc);
    return r;
}

void tu_assert_dump(dt_conn *conn, const char *want) {
    char *got = tu_dump(conn, 0);
    if (strcmp(got, want) != 0)
        fail_msg("datoms differ.\n--- got:\n%s\n--- wanted:\n%s", got, want);
    free(got);
}

void tu_assert_report(dt_report *r, const char *want) {
    char *got = tu_report_datoms(r);
    if (strcmp(got, want) != 0)
        fail_msg("report differs.\n--- got:\n%s\n--- wanted:\n%s", got, want);
    free(got);
}

int64_t tu_tempid(dt_report *r, const char *s) {
    dt_value k;
    int64_t id = 0;
    if (s[0] == '-')
        dt_value_long(atoll(s), &k);
    else
        assert_int_equal(dt_value_text(DT_STRING, s, strlen(s), &k), DT_OK);
    int rc = dt_report_tempid(r, &k, &id);
    dt_value_free(&k);
    if (rc != DT_OK) fail_msg("tempid %s is not in the report", s);
    return id;
}

void tu_assert_fails_unchanged(dt_conn *conn, const char *edn, int rc, const char *needle) {
    tu_tx_row(conn, NULL, edn, rc, needle);
}

void tu_tx_row(dt_conn *conn, const char *row, const char *edn, int rc, const char *needle) {
    const char *sep = row ? ": " : "";
    if (!row) row = "";
    char *before = rc != DT_OK ? tu_dump(conn, 1) : NULL;
    int got = dt_transact(conn, edn, NULL);
    if (got != rc)
        fail_msg("%s%stransact %s: got %d (%s), wanted %d", row, sep, edn, got, dt_errmsg(conn),
                 rc);
    if (needle && !strstr(dt_errmsg(conn), needle))
        fail_msg("%s%smessage \"%s\" lacks \"%s\"", row, sep, dt_errmsg(conn), needle);
    if (!before) return;
    char *after = tu_dump(conn, 1);
    if (strcmp(before, after) != 0)
        fail_msg("%s%sa failed transaction changed the database:\n--- before:\n%s\n--- after:\n%s",
                 row, sep, before, after);
    free(before);
    free(after);
}

dt_value tu_read(const char *text) {
    dt_value v = DT_VALUE_NIL;
    if (dt_edn_read(text, strlen(text), &v) != DT_OK) fail_msg("edn %s: %s", text, dt_errmsg(NULL));
    return v;
}
