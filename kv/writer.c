/*
 * writer.c -- futures, the group-commit writer thread, and the KV store's
 * async writes on it (kv layer).  See writer.h.
 */
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* {====== Futures ====== */

dt_future *kv_future_new(const void *owner, int (*would_deadlock)(const void *owner)) {
    dt_future *f = dt__calloc(1, sizeof *f);
    if (!f) return NULL;
    f->magic = DT_MAGIC_FUTURE;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->refs = 2;
    f->owner = owner;
    f->would_deadlock = would_deadlock;
    return f;
}

static void future_unref(dt_future *f) {
    pthread_mutex_lock(&f->mu);
    int last = --f->refs == 0;
    pthread_mutex_unlock(&f->mu);
    if (!last) return;
    if (f->free_result) f->free_result(f->result);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    dt__clearerr(f);
    f->magic = DT_MAGIC_DEAD;
    dt__free(f);
}

void kv_future_complete(dt_future *f, int rc, int64_t tx, void *result, void (*free_result)(void *),
                        const char *msg) {
    pthread_mutex_lock(&f->mu);
    f->rc = rc;
    f->tx = tx;
    f->result = result;
    f->free_result = free_result;
    snprintf(f->msg, sizeof f->msg, "%s", msg ? msg : "");
    f->done = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    future_unref(f);
}

static int future_ok(const dt_future *f) { return f && f->magic == DT_MAGIC_FUTURE; }

int dt_future_wait_timeout(dt_future *f, unsigned ms) {
    if (!future_ok(f)) return dt__seterr(f, DT_MISUSE, "future: not a live dt_future");
    /* done is the writer's to set, under the lock: read it the same way */
    if (!dt_future_ready(f) && f->would_deadlock && f->would_deadlock(f->owner))
        return dt__seterr(f, DT_MISUSE,
                          "future: this thread holds the writer that must complete it (an open "
                          "block or a callback); waiting would never end");
    struct timespec deadline;
    if (ms != (unsigned)-1) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += ms / 1000;
        deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&f->mu);
    while (!f->done) {
        if (ms == (unsigned)-1) {
            pthread_cond_wait(&f->cv, &f->mu);
        } else if (pthread_cond_timedwait(&f->cv, &f->mu, &deadline) == ETIMEDOUT && !f->done) {
            pthread_mutex_unlock(&f->mu);
            return dt__seterr(f, DT_TIMEOUT, "future: not done after %u ms", ms);
        }
    }
    int rc = f->rc;
    pthread_mutex_unlock(&f->mu);
    if (rc != DT_OK) dt__seterr(f, rc, "%s", f->msg);
    return rc;
}

int dt_future_wait(dt_future *f) { return dt_future_wait_timeout(f, (unsigned)-1); }

int dt_future_ready(const dt_future *f) {
    if (!future_ok(f)) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&f->mu);
    int d = f->done;
    pthread_mutex_unlock((pthread_mutex_t *)&f->mu);
    return d;
}

int64_t dt_future_tx(const dt_future *f) { return dt_future_ready(f) ? f->tx : 0; }

const dt_report *dt_future_report(const dt_future *f) {
    return dt_future_ready(f) ? (const dt_report *)f->result : NULL;
}

const char *dt_future_errmsg(const dt_future *f) { return dt_future_ready(f) ? f->msg : ""; }

void dt_future_free(dt_future *f) {
    if (future_ok(f)) future_unref(f);
}

/* }====== */

/* {====== The writer thread ====== */

struct kv_writer {
    dt_kv *kv;
    const kv_writer_ops *ops;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kv_job *head, *tail;
    int stopping;
    int busy; /* a batch is being run */
};

static _Thread_local const kv_writer *tl_writer_thread;

int kv_writer_on_thread(const kv_writer *w) { return w && tl_writer_thread == w; }

/* The most times a batch runs again after the map grew. */
#define MAX_GROW_RETRIES 64

static void job_fail(kv_job *j, int rc, const char *msg) {
    j->rc = rc;
    snprintf(j->msg, sizeof j->msg, "%s", msg);
}

/* Runs `batch` (a list of n jobs) to completion: one root transaction, a
 * child per job, one commit.  Sets every job's rc. */
static void run_batch(kv_writer *w, kv_job *batch) {
    const kv_writer_ops *ops = w->ops;
    /*
     * The jobs run straight in the root transaction first: a nested
     * transaction per job costs more than the job itself (LMDB allocates
     * its dirty list, copies every page it touches that the root already
     * dirtied, and merges the lists back on commit).  When a job fails,
     * its partial writes are in the root, so the batch is undone and runs
     * again without it, this time with a nested transaction per job
     * (without WRITEMAP), so that further failures drop only their own job
     * and a batch runs at most twice.  The jobs before the failed one see
     * the same state the second time, so the failed job's outcome stands.
     */
    int nested = 0;
    for (kv_job *j = batch; j; j = j->next) j->excluded = 0;
    for (int attempt = 0;; attempt++) {
        int pending = 0;
        for (kv_job *j = batch; j; j = j->next) pending += !j->excluded;
        if (!pending) return; /* every job failed on its own: nothing to commit */
        /* after a failure; a lone job runs in the root transaction itself,
         * since its failure aborts the root anyway */
        if (attempt > 0 && pending > 1 && !kv_writemap(w->kv)) nested = 1;
        int rc = ops->enter ? ops->enter(w->ctx) : DT_OK;
        if (rc != DT_OK) {
            for (kv_job *j = batch; j; j = j->next) job_fail(j, rc, dt_errmsg(NULL));
            return;
        }
        dt_kv_txn *root = NULL;
        rc = kv_txn_begin(w->kv, NULL, DT_KV_TXN_WRITE, &root);
        if (rc != DT_OK) dt__moveerr(w->kv, NULL, rc);
        if (rc == DT_OK && ops->begin) rc = ops->begin(w->ctx, root, batch);
        if (rc != DT_OK) {
            const char *m = dt_errmsg(NULL);
            for (kv_job *j = batch; j; j = j->next) job_fail(j, rc, m);
            if (root) kv_txn_abort(root);
            if (ops->end) ops->end(w->ctx, 0, batch);
            if (ops->leave) ops->leave(w->ctx);
            return;
        }
        int retry = 0;   /* the map grew: run the whole batch again */
        int restart = 0; /* WRITEMAP: a job failed; run again without it */
        for (kv_job *j = batch; j && !retry && !restart; j = j->next) {
            if (j->excluded) continue;
            if (nested) {
                dt_kv_txn *child = NULL;
                rc = kv_txn_begin(w->kv, root, DT_KV_TXN_WRITE, &child);
                if (rc != DT_OK) dt__moveerr(w->kv, NULL, rc);
                if (rc == DT_OK) {
                    rc = ops->run(w->ctx, j, child);
                    if (rc == DT_OK) {
                        rc = kv_txn_commit(child);
                        if (rc != DT_OK) {
                            dt__moveerr(w->kv, NULL, rc);
                            ops->undo(w->ctx, j);
                        }
                    } else {
                        kv_txn_abort(child);
                    }
                }
            } else {
                rc = ops->run(w->ctx, j, root);
            }
            if (rc == DT_MAPFULL_RETRY) {
                retry = 1;
            } else if (rc != DT_OK) {
                job_fail(j, rc, dt_errmsg(NULL));
                if (!nested) {
                    j->excluded = 1;
                    restart = 1;
                }
            } else {
                j->rc = DT_OK;
                j->msg[0] = '\0';
            }
        }
        if (!retry && !restart) {
            rc = ops->precommit ? ops->precommit(w->ctx, root) : DT_OK;
            if (rc == DT_OK) {
                rc = kv_txn_commit(root);
                if (rc != DT_OK) dt__moveerr(w->kv, NULL, rc);
            } else {
                kv_txn_abort(root);
            }
            root = NULL;
            if (rc == DT_MAPFULL_RETRY) {
                retry = 1;
            } else if (rc != DT_OK) {
                /* nothing was written: every job that had succeeded fails */
                const char *m = dt_errmsg(NULL);
                for (kv_job *j = batch; j; j = j->next)
                    if (!j->excluded && j->rc == DT_OK) {
                        ops->undo(w->ctx, j);
                        job_fail(j, rc, m);
                    }
            }
        } else {
            kv_txn_abort(root);
        }
        if (ops->end) ops->end(w->ctx, !retry && !restart && rc == DT_OK, batch);
        if (ops->leave) ops->leave(w->ctx);
        if (!retry && !restart) return;
        for (kv_job *j = batch; j; j = j->next)
            if (!j->excluded && j->rc == DT_OK) ops->undo(w->ctx, j);
        if (retry && attempt >= MAX_GROW_RETRIES) {
            for (kv_job *j = batch; j; j = j->next)
                if (!j->excluded) job_fail(j, DT_MAPFULL, "the map is full and keeps filling");
            return;
        }
    }
}

static void *writer_main(void *arg) {
    kv_writer *w = arg;
    tl_writer_thread = w;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
        kv_job *list = w->head;
        w->head = w->tail = NULL;
        int stop = w->stopping;
        w->busy = list != NULL;
        pthread_mutex_unlock(&w->mu);
        if (!list && stop) break;
        while (list) {
            /* a batch: everything up to the next job that must run alone */
            kv_job *batch = list, *last = list;
            if (!list->alone)
                while (last->next && !last->next->alone) last = last->next;
            list = last->next;
            last->next = NULL;
            run_batch(w, batch);
            for (kv_job *j = batch, *next; j; j = next) {
                next = j->next;
                w->ops->complete(w->ctx, j);
            }
        }
        pthread_mutex_lock(&w->mu);
        w->busy = 0;
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

int kv_writer_start(dt_kv *kv, const kv_writer_ops *ops, void *ctx, kv_writer **out) {
    *out = NULL;
    kv_writer *w = dt__calloc(1, sizeof *w);
    if (!w) return dt__seterr(NULL, DT_NOMEM, "writer: out of memory");
    w->kv = kv;
    w->ops = ops;
    w->ctx = ctx;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        dt__free(w);
        return dt__seterr(NULL, DT_INTERNAL, "writer: cannot start the writer thread");
    }
    *out = w;
    return DT_OK;
}

int kv_writer_submit(kv_writer *w, kv_job *job) {
    job->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return dt__seterr(NULL, DT_MISUSE, "writer: the connection is closing");
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return DT_OK;
}

void kv_writer_run_here(dt_kv *kv, const kv_writer_ops *ops, void *ctx, kv_job *job) {
    kv_writer here;
    memset(&here, 0, sizeof here);
    here.kv = kv;
    here.ops = ops;
    here.ctx = ctx;
    job->next = NULL;
    run_batch(&here, job);
    ops->complete(ctx, job);
}

int kv_writer_idle(kv_writer *w) {
    if (!w) return 1;
    pthread_mutex_lock(&w->mu);
    int idle = !w->head && !w->busy && !w->stopping;
    pthread_mutex_unlock(&w->mu);
    return idle;
}

void kv_writer_stop(kv_writer *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    dt__free(w);
}

/* }====== */

/* {====== KV async writes ====== */

typedef struct kv_async_job {
    kv_job job;
    dt_kv_op *ops;
    size_t n;
    dt_kv_callback cb;
    void *userdata;
    dt_future *fut;
} kv_async_job;

static int kv_job_run(void *ctx, kv_job *job, dt_kv_txn *txn) {
    dt_kv *kv = ctx;
    kv_async_job *j = (kv_async_job *)job;
    int rc = dt_kv_batch(kv, txn, j->ops, j->n);
    if (rc != DT_OK) dt__moveerr(kv, NULL, rc);
    return rc;
}

static void kv_job_undo(void *ctx, kv_job *job) {
    (void)ctx;
    (void)job;
}

static void kv_job_complete(void *ctx, kv_job *job) {
    (void)ctx;
    kv_async_job *j = (kv_async_job *)job;
    if (j->cb) j->cb(job->rc, j->userdata);
    if (j->fut) kv_future_complete(j->fut, job->rc, 0, NULL, NULL, job->msg);
    dt__free(j->ops);
    dt__free(j);
}

static const kv_writer_ops kv_async_ops = {
    NULL, NULL, NULL, kv_job_run, kv_job_undo, NULL, NULL, kv_job_complete,
};

/* The environment's async writer when called on its thread, else NULL.
 * Lock-free on purpose: dt_kv_close holds the environment's async lock
 * while it drains the writer, and callbacks run during that drain. */
static kv_writer *own_async_writer(const dt_kv *kv) {
    const kv_writer *w = tl_writer_thread;
    return w && w->kv == kv && w->ops == &kv_async_ops ? (kv_writer *)w : NULL;
}

static int kv_would_deadlock(const void *owner) {
    return kv_thread_writes(owner) || own_async_writer(owner) != NULL;
}

int dt_kv_transact_async(dt_kv *kv, const dt_kv_op *ops, size_t n, dt_kv_callback cb,
                         void *userdata, dt_future **out) {
    if (out) *out = NULL;
    if (!kv_live(kv)) return dt__seterr(kv, DT_MISUSE, "kv transact_async: not an open dt_kv");
    if (n && !ops) return dt__seterr(kv, DT_MISUSE, "kv transact_async: NULL ops");
    /* one allocation for the ops and every byte they point to */
    size_t bytes = n * sizeof *ops;
    for (size_t i = 0; i < n; i++) bytes += ops[i].key.len + ops[i].val.len;
    kv_async_job *j = dt__calloc(1, sizeof *j);
    dt_kv_op *copy = dt__malloc(bytes ? bytes : 1);
    if (!j || !copy) {
        dt__free(j);
        dt__free(copy);
        return dt__seterr(kv, DT_NOMEM, "kv transact_async: out of memory");
    }
    uint8_t *p = (uint8_t *)(copy + n);
    for (size_t i = 0; i < n; i++) {
        copy[i] = ops[i];
        if (ops[i].key.len) memcpy(p, ops[i].key.ptr, ops[i].key.len);
        copy[i].key.ptr = ops[i].key.ptr ? p : NULL;
        p += ops[i].key.len;
        if (ops[i].val.len) memcpy(p, ops[i].val.ptr, ops[i].val.len);
        copy[i].val.ptr = ops[i].val.ptr ? p : NULL;
        p += ops[i].val.len;
    }
    j->ops = copy;
    j->n = n;
    j->cb = cb;
    j->userdata = userdata;
    /* from a callback, submit to the writer running it (it may be
     * stopping: then DT_MISUSE) without the lock dt_kv_close holds */
    kv_writer *w = own_async_writer(kv);
    int rc = w ? DT_OK : kv_async_writer_get(kv, &kv_async_ops, &w);
    if (rc == DT_OK && out) {
        j->fut = kv_future_new(kv, kv_would_deadlock);
        if (!j->fut) rc = dt__seterr(kv, DT_NOMEM, "kv transact_async: out of memory");
    }
    dt_future *fut = j->fut; /* j belongs to the writer once submitted */
    if (rc == DT_OK) rc = kv_writer_submit(w, &j->job);
    if (rc != DT_OK) {
        if (j->fut) {
            future_unref(j->fut); /* the producer's reference */
            future_unref(j->fut); /* the caller's */
        }
        dt__free(copy);
        dt__free(j);
        return dt__moveerr(NULL, kv, rc);
    }
    if (out) *out = fut;
    return DT_OK;
}

/* }====== */
