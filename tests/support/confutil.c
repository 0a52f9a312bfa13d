/* confutil.c -- see confutil.h. */
#include "confutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {====== Text buffer ====== */

void tu_sb_printf(tu_sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap - b->len <= (size_t)n) cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
}

/* }====== */

/* {====== Case maps ====== */

const dt_value *tu_map_get(const dt_value *m, const char *kw) {
    if (!m || m->type != DT_MAP) return NULL;
    size_t n = strlen(kw);
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2) {
        const dt_value *k = &m->u.seq.items[i];
        if (k->type == DT_KEYWORD && k->u.s.len == n && memcmp(k->u.s.ptr, kw, n) == 0)
            return &m->u.seq.items[i + 1];
    }
    return NULL;
}

int tu_is_kw(const dt_value *v, const char *kw) {
    return v && v->type == DT_KEYWORD && strcmp(v->u.s.ptr, kw) == 0;
}

int tu_is_true(const dt_value *v) { return v && v->type == DT_BOOL && v->u.b; }

const char *tu_str_of(const dt_value *v, const char *case_id, const char *what) {
    if (!v || v->type != DT_STRING) fail_msg("%s: %s is not a string", case_id, what);
    return v->u.s.ptr;
}

char *tu_read_shared(const char *rel) {
    char *path = tu_shared_path(rel);
    assert_non_null(path);
    char *text = tu_read_file(path, NULL);
    if (!text) fail_msg("cannot read %s (set DT_SHARED_DIR)", path);
    free(path);
    return text;
}

dt_value tu_conf_cases(void) {
    char *text = tu_read_shared("conformance/cases.edn");
    dt_value cases = DT_VALUE_NIL;
    if (dt_edn_read(text, strlen(text), &cases) != DT_OK)
        fail_msg("cases.edn: %s", dt_errmsg(NULL));
    free(text);
    assert_int_equal(cases.type, DT_VECTOR);
    return cases;
}

/* }====== */

/* {====== Comparing values ====== */

static int is_int_type(dt_type t) { return t == DT_LONG || t == DT_REF; }
static int is_num_type(dt_type t) { return is_int_type(t) || t == DT_DOUBLE || t == DT_FLOAT; }

static double num_of(const dt_value *v) {
    switch (v->type) {
    case DT_DOUBLE:
        return v->u.d;
    case DT_FLOAT:
        return v->u.f;
    default:
        return (double)v->u.i;
    }
}

static int is_ordered_seq(dt_type t) { return t == DT_VECTOR || t == DT_LIST || t == DT_TUPLE; }

int tu_values_match(const dt_value *want, const dt_value *got) {
    if (is_int_type(want->type) && is_int_type(got->type)) return want->u.i == got->u.i;
    if (is_num_type(want->type) && is_num_type(got->type)) {
        double a = num_of(want), b = num_of(got);
        if (a == b) return 1;
        if (want->type != DT_DOUBLE && want->type != DT_FLOAT && got->type != DT_DOUBLE &&
            got->type != DT_FLOAT)
            return 0;
        double scale = fmax(fabs(a), fabs(b));
        return fabs(a - b) <= 1e-9 * scale;
    }
    if (is_ordered_seq(want->type) && is_ordered_seq(got->type)) {
        if (want->u.seq.n != got->u.seq.n) return 0;
        for (size_t i = 0; i < want->u.seq.n; i++)
            if (!tu_values_match(&want->u.seq.items[i], &got->u.seq.items[i])) return 0;
        return 1;
    }
    if (want->type == DT_SET && got->type == DT_SET)
        return tu_multiset_match(want->u.seq.items, want->u.seq.n, got->u.seq.items, got->u.seq.n,
                                 NULL, "");
    if (want->type == DT_MAP && got->type == DT_MAP) {
        if (want->u.seq.n != got->u.seq.n) return 0;
        for (size_t i = 0; i + 1 < want->u.seq.n; i += 2) {
            const dt_value *k = &want->u.seq.items[i];
            const dt_value *gv = NULL;
            for (size_t j = 0; j + 1 < got->u.seq.n; j += 2)
                if (dt_value_equal(k, &got->u.seq.items[j])) gv = &got->u.seq.items[j + 1];
            if (!gv || !tu_values_match(&want->u.seq.items[i + 1], gv)) return 0;
        }
        return 1;
    }
    return dt_value_equal(want, got);
}

int tu_multiset_match(const dt_value *want, size_t nw, const dt_value *got, size_t ng, tu_sbuf *msg,
                      const char *indent) {
    char *used = calloc(ng + 1, 1), *found = calloc(nw + 1, 1);
    assert_true(used && found);
    for (size_t i = 0; i < nw; i++)
        for (size_t j = 0; j < ng; j++)
            if (!used[j] && tu_values_match(&want[i], &got[j])) {
                used[j] = found[i] = 1;
                break;
            }
    int ok = 1;
    for (size_t i = 0; i < nw; i++)
        if (!found[i]) ok = 0;
    for (size_t j = 0; j < ng; j++)
        if (!used[j]) ok = 0;
    if (!ok && msg) {
        for (size_t i = 0; i < nw; i++)
            if (!found[i]) {
                char *s = tu_edn(&want[i]);
                tu_sb_printf(msg, "%smissing    %s\n", indent, s);
                free(s);
            }
        for (size_t j = 0; j < ng; j++)
            if (!used[j]) {
                char *s = tu_edn(&got[j]);
                tu_sb_printf(msg, "%sunexpected %s\n", indent, s);
                free(s);
            }
    }
    free(used);
    free(found);
    return ok;
}

/* }====== */

/* {====== Datasets ====== */

typedef struct loaded {
    char *key; /* name + '\n' + schema EDN */
    char *dir;
    dt_conn *conn;
} loaded;

static loaded *loaded_v;
static size_t loaded_n;

dt_conn *tu_conf_dataset(const char *name, const dt_value *schema) {
    char *schema_edn = schema ? tu_edn(schema) : NULL;
    size_t klen = strlen(name) + (schema_edn ? strlen(schema_edn) : 0) + 2;
    char *key = malloc(klen);
    assert_non_null(key);
    snprintf(key, klen, "%s\n%s", name, schema_edn ? schema_edn : "");
    for (size_t i = 0; i < loaded_n; i++)
        if (!strcmp(loaded_v[i].key, key)) {
            free(key);
            free(schema_edn);
            return loaded_v[i].conn;
        }
    char *dir = tu_tmpdir();
    assert_non_null(dir);
    dt_conn *c = NULL;
    if (dt_conn_open(dir, schema_edn, NULL, &c) != DT_OK)
        fail_msg("dataset %s: dt_conn_open: %s", name, dt_errmsg(NULL));
    free(schema_edn);
    char rel[256];
    snprintf(rel, sizeof rel, "conformance/datasets/%s.edn", name);
    char *text = tu_read_shared(rel);
    if (dt_transact(c, text, NULL) != DT_OK) fail_msg("loading dataset %s: %s", rel, dt_errmsg(c));
    free(text);
    loaded_v = realloc(loaded_v, (loaded_n + 1) * sizeof *loaded_v);
    assert_non_null(loaded_v);
    loaded_v[loaded_n++] = (loaded){key, dir, c};
    return c;
}

void tu_conf_datasets_close(void) {
    for (size_t i = 0; i < loaded_n; i++) {
        assert_int_equal(dt_conn_close(loaded_v[i].conn), DT_OK);
        tu_rmdir_free(loaded_v[i].dir);
        free(loaded_v[i].key);
    }
    free(loaded_v);
    loaded_v = NULL;
    loaded_n = 0;
}

/* }====== */
