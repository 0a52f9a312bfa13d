/*
 * extsort.h -- an external merge sorter for (key, value) byte records
 * (txn layer, used by bulk load).  Records are buffered up to a memory
 * budget, sorted by key (memcmp order, shorter prefix first; ties keep
 * insertion order), spilled to temporary run files, and merged on read,
 * so sorting any number of records needs bounded memory.  A sorter is
 * used by one thread at a time; internally a worker thread sorts and
 * writes a full buffer while the caller fills the next one.
 */
#ifndef TXN_EXTSORT_H
#define TXN_EXTSORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct txn_sorter txn_sorter;

/*
 * txn_sorter_new: a sorter that keeps at most about `mem_budget` bytes of
 * records in memory (at least 1 MiB is used) and writes runs into
 * `tmpdir` (NULL: $TMPDIR or /tmp).  DT_OK / DT_NOMEM.
 */
int txn_sorter_new(size_t mem_budget, const char *tmpdir, txn_sorter **out);

/*
 * txn_sorter_add: adds one record (copied).  Keys longer than 65535 bytes
 * are rejected with DT_INVALID.  May spill a run: DT_IO on write errors.
 * Not allowed after txn_sorter_finish (DT_MISUSE).
 */
int txn_sorter_add(txn_sorter *s, const void *key, size_t klen, const void *val, size_t vlen);

/* Ends input and prepares the merge.  DT_OK / DT_IO / DT_NOMEM. */
int txn_sorter_finish(txn_sorter *s);

/* txn_sorter_finish of two sorters at once, b in a second thread (the
 * final sort of each is the larger part of the work).  The first error
 * (a's before b's) is returned with its message. */
int txn_sorter_finish2(txn_sorter *a, txn_sorter *b);

/*
 * txn_sorter_next: the next record in key order.  Returns DT_ROW with
 * pointers valid until the next call, DT_DONE at the end, DT_IO or
 * DT_CORRUPT if a run file cannot be read back.
 */
int txn_sorter_next(txn_sorter *s, const uint8_t **key, size_t *klen, const uint8_t **val,
                    size_t *vlen);

/*
 * txn_sorter_rewind: starts the sorted sequence again from its first
 * record (after txn_sorter_finish; e.g. to redo a write that must be
 * retried).  Pointers returned by txn_sorter_next become invalid.
 * DT_OK / DT_MISUSE (not finished) / DT_IO / DT_CORRUPT / DT_NOMEM.
 */
int txn_sorter_rewind(txn_sorter *s);

/*
 * txn_sorter_mark: remembers the current read position (after
 * txn_sorter_finish): the next record txn_sorter_next would return.
 * txn_sorter_to_mark: goes back to the remembered position (the first
 * record when nothing was marked), e.g. to redo the part of a write that
 * began there.  Pointers returned by txn_sorter_next become invalid.
 * Both: DT_OK / DT_MISUSE (not finished) / DT_IO / DT_CORRUPT / DT_NOMEM.
 */
int txn_sorter_mark(txn_sorter *s);
int txn_sorter_to_mark(txn_sorter *s);

/* Number of records added, and the number of runs spilled to disk. */
uint64_t txn_sorter_count(const txn_sorter *s);
size_t txn_sorter_runs(const txn_sorter *s);

/* Frees the sorter and deletes its run files.  NULL allowed. */
void txn_sorter_free(txn_sorter *s);

#endif
