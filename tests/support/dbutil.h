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

/* The report's datoms (transaction entity excluded) as sorted
 * "[e :a v added]" lines; malloc'd. */
char *tu_report_datoms(dt_report *r);

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

#endif
