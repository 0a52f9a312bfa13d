/*
 * faultutil.h -- the allocation-failure loop of the fault tests: run an
 * operation with the Nth allocation failing (and every later one), for
 * N = 1, 2, ... until it succeeds, checking each failure.
 */
#ifndef DT_FAULTUTIL_H
#define DT_FAULTUTIL_H

#include "dbutil.h"

/*
 * An operation under test.  It returns a Datolite result code; when it
 * fails, its message is on the connection, or on the handle it stores in
 * *msg_on (which starts NULL for each run: the connection).
 */
typedef int (*tu_fault_op)(dt_conn *c, const void **msg_on);

/* Runs before each attempt, with no allocation failing: a fresh
 * connection (tu_db_reopen), a snapshot...  NULL for nothing. */
typedef void (*tu_fault_fresh)(tu_db *d);

/*
 * tu_fail_each_alloc: runs op on d->conn with allocation N failing, for
 * N = 1, 2, ... until op succeeds.  Before each run it plants an unrelated
 * message on the connection and on the handle-less slot.  Each failure
 * must return DT_NOMEM with a message of its own that says "out of
 * memory" (not the planted one), and leave the database as it was
 * (tu_dump with transactions); a crash or a leak shows under ASan.  The
 * test fails, naming `what` and N, otherwise, or when op has not
 * succeeded after 200000 runs.  Returns the number of runs that failed.
 */
long tu_fail_each_alloc(tu_db *d, tu_fault_op op, tu_fault_fresh fresh, const char *what);

/* tu_fault_on: for an operation whose calls report on several handles:
 * when rc is an error, copies the message of handle h (NULL: the
 * handle-less slot) to the connection c, where tu_fail_each_alloc looks.
 * Returns rc. */
int tu_fault_on(dt_conn *c, const void *h, int rc);

#endif
