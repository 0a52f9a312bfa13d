/* kvtest.h -- shared fixture of the kv unit tests: a fresh environment
 * with one plain and one DUPSORT dbi in a temporary directory. */
#ifndef KVTEST_H
#define KVTEST_H

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

typedef struct kvfix {
    char *dir;
    dt_kv *kv;
    dt_kv_dbi db;  /* "main": plain */
    dt_kv_dbi dup; /* "dup": DUPSORT */
} kvfix;

static inline int kvfix_open(kvfix *f, const dt_kv_options *o) {
    if (dt_kv_open(f->dir, o, &f->kv) != DT_OK) return -1;
    if (dt_kv_dbi_open(f->kv, "main", DT_KV_DBI_CREATE, &f->db) != DT_OK) return -1;
    if (dt_kv_dbi_open(f->kv, "dup", DT_KV_DBI_CREATE | DT_KV_DBI_DUPSORT, &f->dup) != DT_OK)
        return -1;
    return 0;
}

static inline int kv_setup(void **state) {
    kvfix *f = calloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    if (!f->dir || kvfix_open(f, NULL) != 0) return -1;
    *state = f;
    return 0;
}

static inline int kv_teardown(void **state) {
    kvfix *f = *state;
    if (f->kv) assert_int_equal(dt_kv_close(f->kv), DT_OK);
    tu_rmdir_free(f->dir);
    free(f);
    return 0;
}

/* put/get helpers on NUL-terminated strings */
#define PUTS(f, dbi, k, v) dt_kv_put((f)->kv, NULL, dbi, k, strlen(k), v, strlen(v), 0)

static inline char *gets_copy(kvfix *f, dt_kv_txn *t, dt_kv_dbi dbi, const char *k, int *rc) {
    void *p;
    size_t n;
    *rc = dt_kv_get(f->kv, t, dbi, k, strlen(k), &p, &n);
    if (*rc != DT_OK) return NULL;
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    dt_free(p);
    return s;
}

/* Asserts that the value of k is v (or absent if v is NULL). */
#define ASSERT_VAL(f, t, dbi, k, v)                                                                \
    do {                                                                                           \
        int rc_;                                                                                   \
        char *got_ = gets_copy(f, t, dbi, k, &rc_);                                                \
        if ((v) == NULL) {                                                                         \
            assert_int_equal(rc_, DT_NOTFOUND);                                                    \
        } else {                                                                                   \
            assert_int_equal(rc_, DT_OK);                                                          \
            assert_string_equal(got_, (v));                                                        \
        }                                                                                          \
        free(got_);                                                                                \
    } while (0)

#endif
