/*
 * testutil.h -- helpers for the cmocka tests: temporary directories that
 * are removed afterwards, file reading, and the path of ../shared.
 */
#ifndef DT_TESTUTIL_H
#define DT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datolite.h"

/*
 * tu_tmpdir: creates a fresh empty directory under $TMPDIR (or /tmp) and
 * returns its path (malloc'd; free with tu_rmdir_free, which deletes it
 * with everything inside).
 */
char *tu_tmpdir(void);
void tu_rmdir_free(char *path);

/* Reads a whole file into a malloc'd NUL-terminated buffer (NULL on error). */
char *tu_read_file(const char *path, size_t *len_out);

/* Path of a file under the shared folder (malloc'd), from $DT_SHARED_DIR. */
char *tu_shared_path(const char *relative);

/* Deterministic PRNG (xorshift64*) for property tests. */
uint64_t tu_rand(uint64_t *state);

#endif
