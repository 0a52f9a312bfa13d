/*
 * faultutil.c -- the allocation-failure loop of the fault tests
 * (faultutil.h).
 */
#include "faultutil.h"

#include <stdlib.h>
#include <string.h>

#include "base.h"

#define POISON "poison: an earlier, unrelated error"

long tu_fail_each_alloc(tu_db *d, tu_fault_op op, tu_fault_fresh fresh, const char *what) {
    for (long n = 1; n <= 200000; n++) {
        if (fresh) fresh(d);
        char *before = tu_dump(d->conn, 1);
        const void *msg_on = NULL;
        dt_errmsg_set(d->conn, DT_CONFLICT, POISON);
        dt_errmsg_set(NULL, DT_CONFLICT, POISON);
        dt__alloc_fail_at(n - 1); /* n - 1 allocations succeed */
        int rc = op(d->conn, &msg_on);
        dt__alloc_fail_at(-1);
        if (rc == DT_OK) {
            free(before);
            return n - 1;
        }
        const char *msg = dt_errmsg(msg_on ? msg_on : d->conn);
        if (rc != DT_NOMEM)
            fail_msg("%s with allocation %ld failing: rc %d (%s), wanted DT_NOMEM", what, n, rc,
                     msg);
        if (!strstr(msg, "out of memory") || strstr(msg, "poison"))
            fail_msg("%s with allocation %ld failing: DT_NOMEM with the message \"%s\"", what, n,
                     msg);
        char *after = tu_dump(d->conn, 1);
        if (strcmp(before, after) != 0)
            fail_msg("%s with allocation %ld failing changed the database", what, n);
        free(before);
        free(after);
    }
    fail_msg("%s never succeeded", what);
    return -1;
}

int tu_fault_on(dt_conn *c, const void *h, int rc) {
    if (rc != DT_OK) dt_errmsg_set(c, rc, "%s", dt_errmsg(h));
    return rc;
}
