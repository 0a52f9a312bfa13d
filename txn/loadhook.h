/*
 * loadhook.h -- a test hook of the bulk loader (txn layer, internal).
 *
 * txn_load_chunk_hook, when not NULL, is called by an init-db in chunks
 * after each chunk but the last has committed, while the load holds no
 * LMDB transaction: tests use it to write from another connection or
 * process at exactly that moment.  It is a plain global, set by a test
 * before the load and read by the loading thread: not for concurrent
 * loads, and never set outside tests.
 */
#ifndef TXN_LOADHOOK_H
#define TXN_LOADHOOK_H

extern void (*txn_load_chunk_hook)(void *arg);
extern void *txn_load_chunk_hook_arg;

#endif
