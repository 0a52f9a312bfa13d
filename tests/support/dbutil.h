/*
 * dbutil.h -- helpers for tests of the Datalog store: open a connection in
 * a temp dir, and dump its datoms as sorted EDN lines to compare exactly.
 */
#ifndef DT_DBUTIL_H
#define DT_DBUTIL_H

#include "testutil.h"

typedef struct tu_db {
    char *dir;
    dt_conn *conn;
} tu_db;

/* Opens a fresh database with the EDN schema (may be NULL); asserts. */
tu_db *tu_db_open(const char *schema_edn);
/* Closes and reopens the same directory (persistence tests); asserts. */
void tu_db_reopen(tu_db *d);
void tu_db_close(tu_db *d);

/*
 * tu_dump: every datom of user entities (transaction entities excluded)
 * as "[e :attr value]" lines sorted bytewise, joined by '\n'; malloc'd.
 * With `with_tx` transaction entities are included too.
 */
char *tu_dump(dt_conn *conn, int with_tx);

/* tu_dump for a snapshot (or a block's view). */
char *tu_dump_db(dt_db *db, int with_tx);

/* A list of malloc'd strings, joined sorted with '\n' by tu_lines_join
 * (which frees the parts and the list; the result is malloc'd). */
typedef struct tu_lines {
    char **v;
    size_t n, cap;
} tu_lines;
void tu_lines_add(tu_lines *l, char *s);
char *tu_lines_join(tu_lines *l);

/* Transacts EDN, asserting the result code; returns the report when
 * want_report (else NULL). */
dt_report *tu_tx(dt_conn *conn, const char *edn, int expect_rc, int want_report);

/* Transacts the n EDN texts of txs in order, asserting that each
 * succeeds; stores the transaction ids in ids[0..n) when ids is not NULL. */
void tu_tx_all(dt_conn *conn, const char *const *txs, size_t n, int64_t *ids);

/* The report's datoms (transaction entity excluded) as sorted
 * "[e :a v added]" lines; malloc'd. */
char *tu_report_datoms(dt_report *r);

/* dt_value_compare for qsort over an array of dt_value. */
int tu_value_cmp(const void *a, const void *b);

/* Query results are sets (or bags) in no promised order: sorts the items
 * of every set inside v, and of v itself when it is a vector and `top`
 * (a collection or a bag of rows), so that results compare as exact EDN. */
void tu_canon(dt_value *v, int top);

/* EDN text of a value (malloc'd). */
char *tu_edn(const dt_value *v);

/* Reads one EDN value (the caller frees it with dt_value_free); fails the
 * test on malformed text. */
dt_value tu_read(const char *text);

/*
 * TU_DB_FIXTURE(schema): the fixture most Datalog tests share.  Defines
 * the cmocka `setup` (a fresh database with `schema` per test), `teardown`,
 * and C(state), the test's connection.
 */
#define TU_DB_FIXTURE(schema)                                                                      \
    static int setup(void **state) {                                                               \
        *state = tu_db_open(schema);                                                               \
        return 0;                                                                                  \
    }                                                                                              \
    static int teardown(void **state) {                                                            \
        tu_db_close(*state);                                                                       \
        return 0;                                                                                  \
    }                                                                                              \
    static dt_conn *C(void **state) { return ((tu_db *)*state)->conn; }

/* A database and one snapshot of it (the fixture of read-only tests). */
typedef struct tu_snap {
    tu_db *d;
    dt_db *db;
} tu_snap;

/* Opens a fresh database with the EDN schema (may be NULL), transacts the
 * n EDN texts of txs in order (each must succeed), then takes a snapshot;
 * asserts.  tu_snap_close closes the snapshot and the database. */
tu_snap *tu_snap_open(const char *schema_edn, const char *const *txs, size_t n);
void tu_snap_close(tu_snap *s);

/*
 * TU_SNAP_FIXTURE(schema, tx...): the cmocka `setup` (tu_snap_open with
 * `schema` and the transactions, per test), `teardown`, DB(state), the
 * snapshot, and C(state), the connection.
 */
#define TU_SNAP_FIXTURE(schema, ...)                                                               \
    static int setup(void **state) {                                                               \
        const char *const txs_[] = {__VA_ARGS__};                                                  \
        *state = tu_snap_open(schema, txs_, sizeof txs_ / sizeof *txs_);                           \
        return 0;                                                                                  \
    }                                                                                              \
    static int teardown(void **state) {                                                            \
        tu_snap_close(*state);                                                                     \
        return 0;                                                                                  \
    }                                                                                              \
    static inline dt_db *DB(void **state) { return ((tu_snap *)*state)->db; }                      \
    static inline dt_conn *C(void **state) { return ((tu_snap *)*state)->d->conn; }

/* Asserts tu_dump(conn, 0) equals `want`, showing both when not. */
void tu_assert_dump(dt_conn *conn, const char *want);

/* Asserts tu_report_datoms(r) equals `want`. */
void tu_assert_report(dt_report *r, const char *want);

/* The entity id of tempid `s` in the report: a negative number is a long
 * tempid, anything else a string tempid (asserts it is there). */
int64_t tu_tempid(dt_report *r, const char *s);

/* Asserts that transacting `edn` fails with rc, that the message contains
 * `needle` (when not NULL), and that the database is exactly as before. */
void tu_assert_fails_unchanged(dt_conn *conn, const char *edn, int rc, const char *needle);

/* One row of a table-driven test: transacts `edn` expecting rc; the
 * message must contain `needle` (when not NULL); a failure (rc other than
 * DT_OK) must leave the database exactly as before.  Every failed
 * assertion starts with `row` (NULL: none), naming the row. */
void tu_tx_row(dt_conn *conn, const char *row, const char *edn, int rc, const char *needle);

#endif
