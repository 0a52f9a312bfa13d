/*
 * writer.h -- futures and the group-commit writer (kv layer).
 *
 * A kv_writer owns one thread that drains a queue of jobs: it takes every
 * pending job, runs them one after another in one root write transaction,
 * commits once (one fsync for the whole batch), then completes the jobs in
 * submission order.  A failing job is dropped alone: the batch is undone
 * and runs again without it, each job then in a nested transaction.
 * The batch therefore grows with the load and a lone job never waits for
 * company.  The KV store's async writes and the Datalog connection's
 * transactions both run on it, through the hooks in kv_writer_ops.
 */
#ifndef DT_WRITER_H
#define DT_WRITER_H

#include <pthread.h>

#include "base.h"
#include "datolite.h"
#include "kv.h"

#define DT_MAGIC_FUTURE 0x66757475u /* "futu" */

struct dt_future {
    uint32_t magic;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs; /* the caller's and the producer's */
    int done;
    int rc;
    int64_t tx;
    void *result;
    void (*free_result)(void *);
    const void *owner; /* for the deadlock check */
    int (*would_deadlock)(const void *owner);
    char msg[DT__ERRMSG_MAX];
};

/* A future with two references (caller and producer); NULL on no memory. */
dt_future *kv_future_new(const void *owner, int (*would_deadlock)(const void *owner));

/*
 * kv_future_complete: records the outcome (the future takes `result`,
 * freed with free_result) and drops the producer's reference.
 */
void kv_future_complete(dt_future *f, int rc, int64_t tx, void *result, void (*free_result)(void *),
                        const char *msg);

/* One unit of work for the writer; embed it first in a larger struct. */
typedef struct kv_job {
    struct kv_job *next;
    int alone;    /* must run in a batch of its own */
    int excluded; /* (internal) dropped from a WRITEMAP batch */
    int rc;       /* outcome, set before complete() */
    char msg[DT__ERRMSG_MAX];
} kv_job;

typedef struct kv_writer_ops {
    /* Before the root transaction begins / after the batch ended: take
     * and give back locks.  enter may fail (every job gets its code). */
    int (*enter)(void *ctx);
    void (*leave)(void *ctx);
    /* After the root transaction began (e.g. read the schema). */
    int (*begin)(void *ctx, dt_kv_txn *root, kv_job *first);
    /* Runs one job in txn; its message goes on the NULL handle. */
    int (*run)(void *ctx, kv_job *job, dt_kv_txn *txn);
    /* Forgets what a successful run produced (its transaction is undone). */
    void (*undo)(void *ctx, kv_job *job);
    /* Just before the root commit. */
    int (*precommit)(void *ctx, dt_kv_txn *root);
    /* After commit (committed = 1) or abort. */
    void (*end)(void *ctx, int committed, kv_job *first);
    /* The job is done (job->rc, job->msg set): complete and free it. */
    void (*complete)(void *ctx, kv_job *job);
} kv_writer_ops;

typedef struct kv_writer kv_writer;

/* Starts the writer thread.  DT_OK / DT_NOMEM / DT_INTERNAL. */
int kv_writer_start(dt_kv *kv, const kv_writer_ops *ops, void *ctx, kv_writer **out);

/* Queues a job (ownership passes to the writer).  DT_MISUSE if stopping. */
int kv_writer_submit(kv_writer *w, kv_job *job);

/*
 * kv_writer_idle: 1 when nothing is queued or running (NULL: no writer).
 * A caller that then takes the writer's lock itself runs before anything
 * submitted later, so ordering is kept.
 */
int kv_writer_idle(kv_writer *w);

/*
 * kv_writer_run_here: runs one job as a batch of its own on the calling
 * thread, with the same hooks as a writer thread, and completes it.  For
 * a synchronous caller when the writer is idle: no hand-off to another
 * thread.
 */
void kv_writer_run_here(dt_kv *kv, const kv_writer_ops *ops, void *ctx, kv_job *job);

/* Completes every queued job, stops the thread and frees the writer. */
void kv_writer_stop(kv_writer *w);

/* 1 when called on w's writer thread. */
int kv_writer_on_thread(const kv_writer *w);

/* kv_live: 1 for an open, usable environment handle. */
int kv_live(const dt_kv *kv);

/* The environment's writer for dt_kv_transact_async, started on first use
 * with `ops`; kv_async_writer returns it or NULL. */
int kv_async_writer_get(dt_kv *kv, const kv_writer_ops *ops, kv_writer **out);
kv_writer *kv_async_writer(dt_kv *kv);

#endif
