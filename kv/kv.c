/*
 * kv.c -- the KV store on LMDB, first layer of Datolite: environments,
 * map growth, named dbis, transactions (pooled readers, nested writers),
 * point reads and writes, batches, copy, statistics and cursors.  Ranges
 * and iterators are in kv_range.c.
 */
#include "kv_int.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define KV_DEFAULT_MAP_SIZE        ((uint64_t)64 << 20)
#define KV_DEFAULT_MAX_DBS         128u
#define KV_DEFAULT_MAX_READERS     126u
#define KV_DEFAULT_MODE            0644u
#define KV_DEFAULT_GROW_TIMEOUT_MS 30000u
#define KV_POOL_MAX                32u

#define KV_OPEN_FLAGS                                                                              \
    (DT_KV_NOSYNC | DT_KV_NOMETASYNC | DT_KV_WRITEMAP | DT_KV_MAPASYNC | DT_KV_RDONLY | DT_KV_TEMP)
#define KV_RUNTIME_FLAGS (DT_KV_NOSYNC | DT_KV_NOMETASYNC | DT_KV_MAPASYNC)
#define KV_PUT_FLAGS     (DT_KV_NOOVERWRITE | DT_KV_NODUPDATA | DT_KV_APPEND)
#define KV_DBI_FLAGS     (DT_KV_DBI_CREATE | DT_KV_DBI_DUPSORT)

/* Its address names the calling thread.  Each environment records which
 * thread holds its root write txn (kv->writer_thread), so a second write
 * from that thread fails instead of deadlocking on LMDB's writer lock,
 * however many environments the thread has write txns open on. */
static _Thread_local char tl_self;
#define THIS_THREAD ((const void *)&tl_self)

int kv_thread_writes(const dt_kv *kv) { return atomic_load(&kv->writer_thread) == THIS_THREAD; }

void kv_set_owner(dt_kv *kv, const void *owner) { kv->owner = owner; }

int kv_live(const dt_kv *kv) { return kv && kv->magic == DT_MAGIC_KV && !atomic_load(&kv->broken); }

int kv_async_writer_get(dt_kv *kv, const kv_writer_ops *ops, kv_writer **out) {
    int rc = DT_OK;
    pthread_mutex_lock(&kv->async_mu);
    if (!kv->async) rc = kv_writer_start(kv, ops, kv, &kv->async);
    *out = kv->async;
    pthread_mutex_unlock(&kv->async_mu);
    return rc;
}

kv_writer *kv_async_writer(dt_kv *kv) {
    pthread_mutex_lock(&kv->async_mu);
    kv_writer *w = kv->async;
    pthread_mutex_unlock(&kv->async_mu);
    return w;
}

int kv_writemap(const dt_kv *kv) { return (kv->flags & DT_KV_WRITEMAP) != 0; }

/* {====== Errors ====== */

int kv_translate(int mrc) {
    switch (mrc) {
    case MDB_SUCCESS:
        return DT_OK;
    case MDB_NOTFOUND:
        return DT_NOTFOUND;
    case MDB_KEYEXIST:
        return DT_CONFLICT;
    case MDB_MAP_FULL:
        return DT_MAPFULL;
    case MDB_READERS_FULL:
        return DT_BUSY;
    case MDB_MAP_RESIZED:
        return DT_BUSY;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        return DT_CORRUPT;
    case MDB_PANIC:
        return DT_IO;
    case MDB_DBS_FULL:
    case MDB_TLS_FULL:
    case MDB_TXN_FULL:
        return DT_LIMIT;
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
        return DT_INTERNAL;
    case MDB_INCOMPATIBLE:
    case MDB_BAD_VALSIZE:
        return DT_INVALID;
    case MDB_BAD_RSLOT:
    case MDB_BAD_TXN:
    case MDB_BAD_DBI:
    case EINVAL:
        return DT_MISUSE;
    case ENOMEM:
        return DT_NOMEM;
    case EAGAIN:
    case EBUSY:
        return DT_BUSY;
    default:
        return mrc > 0 ? DT_IO : DT_INTERNAL;
    }
}

int kv_err(dt_kv *kv, dt_kv_txn *txn, int rc, const char *fmt, ...) {
    char msg[DT__ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dt__seterr(kv, rc, "%s", msg);
    if (txn) dt__seterr(txn, rc, "%s", msg);
    return rc;
}

/*
 * io_reason: the text for an LMDB/errno failure of a write to the files in
 * directory `path`: "disk full ..." for ENOSPC, and for the EIO LMDB
 * reports after a short write when the file system has (next to) no room
 * left; else mdb_strerror's text.  buf holds the result if needed.
 */
static const char *io_reason(const char *path, int mrc, char *buf, size_t n) {
    if (mrc == ENOSPC || mrc == EDQUOT) {
        snprintf(buf, n, "disk full (%s)", mdb_strerror(mrc));
        return buf;
    }
    struct statvfs fs;
    if (mrc == EIO && path && statvfs(path, &fs) == 0) {
        uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize;
        if (avail < ((uint64_t)1 << 20)) {
            snprintf(buf, n, "disk full (%llu bytes left on the file system; %s)",
                     (unsigned long long)avail, mdb_strerror(mrc));
            return buf;
        }
    }
    return mdb_strerror(mrc);
}

int kv_cursor_dead(dt_kv *kv) {
    return kv_err(kv, NULL, DT_MISUSE, "kv: the transaction of this cursor/iterator has ended");
}

/* }====== */

/* {====== The gate and map growth ====== */

/*
 * LMDB may only remap (mdb_env_set_mapsize) when no transaction of this
 * process is live, since readers hold pointers into the map.  Every live
 * LMDB txn holds the gate (an atomic count); growth raises `resizing`,
 * which parks new entrants, and waits until the count drops to zero.
 */
static void gate_leave(dt_kv *kv) {
    if (atomic_fetch_sub(&kv->active, 1) == 1 && atomic_load(&kv->resizing)) {
        pthread_mutex_lock(&kv->gate_mu);
        pthread_cond_broadcast(&kv->gate_cv);
        pthread_mutex_unlock(&kv->gate_mu);
    }
}

static void gate_enter(dt_kv *kv) {
    for (;;) {
        atomic_fetch_add(&kv->active, 1);
        if (!atomic_load(&kv->resizing)) return;
        gate_leave(kv);
        pthread_mutex_lock(&kv->gate_mu);
        while (atomic_load(&kv->resizing)) pthread_cond_wait(&kv->gate_cv, &kv->gate_mu);
        pthread_mutex_unlock(&kv->gate_mu);
    }
}

static uint64_t round_up(uint64_t n, uint64_t unit) {
    uint64_t r = (n + unit - 1) / unit * unit;
    return r < n ? n : r;
}

/*
 * kv_grow: grows the map after a txn that began when the map was `seen`
 * bytes hit MDB_MAP_FULL (doubling, capped by max_map_size), or with seen
 * == 0 adopts the size another process set (MDB_MAP_RESIZED).  If the map
 * already grew since `seen`, does nothing.  The calling thread must hold
 * no txn of this environment.  Returns DT_OK, or DT_MAPFULL (may not
 * grow), DT_BUSY (txns did not end in time), with the reason in `why`.
 */
static int kv_grow(dt_kv *kv, uint64_t seen, char *why, size_t nwhy) {
    int rc = DT_OK;
    pthread_mutex_lock(&kv->resize_mu);
    uint64_t cur = atomic_load(&kv->map_size), target = 0;
    if (seen) {
        if (cur > seen) goto done;
        if (kv->max_map_size && cur >= kv->max_map_size) {
            snprintf(why, nwhy, "map full at %llu bytes, the max_map_size limit",
                     (unsigned long long)cur);
            rc = DT_MAPFULL;
            goto done;
        }
        target = cur * 2 > cur ? cur * 2 : UINT64_MAX;
        if (kv->max_map_size && target > kv->max_map_size) target = kv->max_map_size;
        target = round_up(target, kv->page_size);
        if ((size_t)target != target) {
            snprintf(why, nwhy, "map full at %llu bytes, the address space limit",
                     (unsigned long long)cur);
            rc = DT_MAPFULL;
            goto done;
        }
    }

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += kv->grow_timeout_ms / 1000;
    deadline.tv_nsec += (long)(kv->grow_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&kv->gate_mu);
    atomic_store(&kv->resizing, 1);
    while (atomic_load(&kv->active) > 0) {
        int w = pthread_cond_timedwait(&kv->gate_cv, &kv->gate_mu, &deadline);
        if (w == ETIMEDOUT && atomic_load(&kv->active) > 0) {
            snprintf(why, nwhy,
                     "map full at %llu bytes: growing it waited %u ms for %d open "
                     "transaction(s) of this process to end",
                     (unsigned long long)cur, kv->grow_timeout_ms, atomic_load(&kv->active));
            rc = DT_BUSY;
            goto unpark;
        }
    }
    int mrc = mdb_env_set_mapsize(kv->env, (size_t)target);
    if (mrc != MDB_SUCCESS) {
        /* LMDB has unmapped the old map: the environment is unusable. */
        atomic_store(&kv->broken, DT_IO);
        snprintf(why, nwhy, "growing the map from %llu to %llu bytes failed: %s",
                 (unsigned long long)cur, (unsigned long long)target, mdb_strerror(mrc));
        rc = mrc == ENOMEM ? DT_MAPFULL : kv_translate(mrc);
    } else {
        MDB_envinfo info;
        mdb_env_info(kv->env, &info);
        atomic_store(&kv->map_size, (uint64_t)info.me_mapsize);
    }
unpark:
    atomic_store(&kv->resizing, 0);
    pthread_cond_broadcast(&kv->gate_cv);
    pthread_mutex_unlock(&kv->gate_mu);
done:
    pthread_mutex_unlock(&kv->resize_mu);
    return rc;
}

/*
 * grow_or_defer: after a write txn that began at map size `seen` hit
 * MDB_MAP_FULL and was aborted.  When other txns of this process are
 * open (possibly the calling thread's own snapshots, which would make it
 * wait for itself), growth is deferred to the start of the next write
 * txn and DT_OK returned at once; else the map grows now (kv_grow).
 */
static int grow_or_defer(dt_kv *kv, uint64_t seen, char *why, size_t nwhy) {
    uint64_t cur = atomic_load(&kv->map_size);
    int capped = kv->max_map_size && cur >= kv->max_map_size;
    if (!capped && cur <= seen && atomic_load(&kv->active) > 0) {
        uint64_t none = 0;
        atomic_compare_exchange_strong(&kv->grow_pending, &none, seen);
        return DT_OK;
    }
    return kv_grow(kv, seen, why, nwhy);
}

/* Performs a deferred growth before a write txn begins. */
static int grow_pending(dt_kv *kv, char *why, size_t nwhy) {
    uint64_t seen = atomic_exchange(&kv->grow_pending, 0);
    if (!seen) return DT_OK;
    return kv_grow(kv, seen, why, nwhy);
}

/* }====== */

/* {====== Environment ====== */

static int check_kv(dt_kv *kv) {
    if (!kv || kv->magic != DT_MAGIC_KV)
        return dt__seterr(kv, DT_MISUSE, "kv: not an open dt_kv handle");
    int b = atomic_load_explicit(&kv->broken, memory_order_relaxed);
    if (b)
        return dt__seterr(kv, b, "kv '%s': environment unusable after a failed map resize",
                          kv->path);
    return DT_OK;
}

int kv_check(dt_kv *kv, dt_kv_txn *txn) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (txn) {
        if (txn->magic != DT_MAGIC_KVTXN)
            return kv_err(kv, txn, DT_MISUSE, "kv: not an open dt_kv_txn handle");
        if (txn->kv != kv)
            return kv_err(kv, txn, DT_MISUSE, "kv: the transaction belongs to another environment");
    }
    return DT_OK;
}

static void pool_drain(dt_kv *kv);

static void kv_free(dt_kv *kv) {
    if (!kv) return;
    if (kv->slots) {
        for (unsigned i = 0; i < kv->nslots; i++) dt__free(kv->slots[i].name);
        dt__free(kv->slots);
    }
    dt__free(kv->path);
    dt__free(kv);
}

static int make_path(char *buf, size_t n, const char *dir, const char *file) {
    int w = snprintf(buf, n, "%s/%s", dir, file);
    return w > 0 && (size_t)w < n;
}

/*
 * check_meta_pages: LMDB trusts some fields of its two meta pages without
 * a check when it opens a file: a page size of 0 divides by zero, a last
 * page past the end of the file or a tree root past the last page is a
 * SIGBUS or a wild read later (a truncated file shows as a last page past
 * its end).  Before LMDB maps data.mdb, read both meta pages (the on-disk layout of LMDB 0.9 on a
 * 64-bit machine) and refuse a file whose metas are damaged in those fields.  A meta without LMDB's
 * magic number or of another version is left to LMDB, which refuses it
 * itself.  A writer of another process may be rewriting a meta page while
 * it is read: a failed check is read again before it counts.
 */
#define META_HDR      16 /* page header: pgno(8) pad(2) flags(2) lower/upper(4) */
#define META_MAGIC    0xBEEFC0DEu
#define META_PSIZE    40  /* mm_dbs[FREE_DBI].md_pad holds the page size */
#define META_ROOT0    80  /* mm_dbs[FREE_DBI].md_root */
#define META_ROOT1    128 /* mm_dbs[MAIN_DBI].md_root */
#define META_LAST_PG  136 /* mm_last_pg */
#define META_READ_LEN 152

static int meta_damage(int fd, uint64_t fsize, char *why, size_t cap) {
    uint8_t m[META_READ_LEN];
    uint64_t off = 0;
    for (int i = 0; i < 2; i++) {
        if (off + META_READ_LEN > fsize) return 0; /* LMDB says what is wrong */
        if (pread(fd, m, META_READ_LEN, (off_t)off) != META_READ_LEN) return 0;
        uint32_t magic, version, psize;
        uint64_t last, root[2];
        memcpy(&magic, m + META_HDR, 4);
        memcpy(&version, m + META_HDR + 4, 4);
        memcpy(&psize, m + META_PSIZE, 4);
        memcpy(&root[0], m + META_ROOT0, 8);
        memcpy(&root[1], m + META_ROOT1, 8);
        memcpy(&last, m + META_LAST_PG, 8);
        if (magic != META_MAGIC || version != 1) return 0;
        if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0) {
            snprintf(why, cap, "meta page %d gives a page size of %u bytes", i, psize);
            return 1;
        }
        if (last < 1 || last > fsize / psize - 1) {
            snprintf(why, cap,
                     "meta page %d says page %llu is in use, but the file has %llu pages: "
                     "the file was truncated",
                     i, (unsigned long long)last, (unsigned long long)(fsize / psize));
            return 1;
        }
        for (int r = 0; r < 2; r++)
            if (root[r] != UINT64_MAX && (root[r] < 2 || root[r] > last)) {
                snprintf(why, cap,
                         "meta page %d puts the root of tree %d at page %llu (last: %llu)", i, r,
                         (unsigned long long)root[r], (unsigned long long)last);
                return 1;
            }
        off = psize; /* the second meta page follows the first */
    }
    return 0;
}

static int check_meta_pages(const char *path) {
    char p[4096];
    if (sizeof(size_t) != 8 || !make_path(p, sizeof p, path, "data.mdb")) return DT_OK;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return DT_OK; /* a new database, or LMDB will say why */
    char why[160] = "";
    int damaged = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        struct stat fst;
        if (fstat(fd, &fst) != 0) break;
        damaged = meta_damage(fd, (uint64_t)fst.st_size, why, sizeof why);
        if (!damaged) break;
        usleep(2000);
    }
    close(fd);
    if (!damaged) return DT_OK;
    return dt__seterr(NULL, DT_CORRUPT,
                      "kv open '%s': data.mdb is damaged: %s; restore it from a copy", path, why);
}

int dt_kv_open(const char *path, const dt_kv_options *opts, dt_kv **out) {
    static const dt_kv_options defaults = DT_KV_OPTIONS_INIT;
    if (out) *out = NULL;
    if (!path || !out)
        return dt__seterr(NULL, DT_MISUSE, "kv open: NULL %s", path ? "out" : "path");
    if (!*path) return dt__seterr(NULL, DT_INVALID, "kv open: empty path");
    if (!opts) opts = &defaults;
    if (dt__check_version(NULL, "kv open: dt_kv_options", opts->version, DT_KV_OPTIONS_VERSION))
        return DT_INVALID;
    if (opts->flags & ~KV_OPEN_FLAGS)
        return dt__seterr(
            NULL, DT_INVALID, "kv open '%s': flags 0x%x are not environment flags: %s", path,
            opts->flags & ~KV_OPEN_FLAGS, dt__flags_group(opts->flags & ~KV_OPEN_FLAGS));
    unsigned max_dbs = opts->max_dbs ? opts->max_dbs : KV_DEFAULT_MAX_DBS;
    if (max_dbs > KV_SLOT_MASK)
        return dt__seterr(NULL, DT_INVALID, "kv open '%s': max_dbs %u exceeds %u", path, max_dbs,
                          KV_SLOT_MASK);
    unsigned max_readers = opts->max_readers ? opts->max_readers : KV_DEFAULT_MAX_READERS;
    int rdonly = (opts->flags & DT_KV_RDONLY) != 0;

    /* The directory: create it if missing; a plain file is not ours. */
    int created = 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return dt__seterr(NULL, DT_CORRUPT, "kv open '%s': is a file, not a database directory",
                              path);
    } else if (errno == ENOENT) {
        if (rdonly)
            return dt__seterr(NULL, DT_NOTFOUND,
                              "kv open '%s': no such database directory (read-only open)", path);
        if (mkdir(path, 0777) != 0)
            return dt__seterr(NULL, DT_IO, "kv open '%s': cannot create the directory: %s", path,
                              strerror(errno));
        created = 1;
    } else {
        return dt__seterr(NULL, DT_IO, "kv open '%s': %s", path, strerror(errno));
    }

    int rc = DT_NOMEM;
    dt_kv *kv = dt__calloc(1, sizeof *kv);
    if (!kv) goto fail_nomem;
    kv->path = dt__strndup(path, strlen(path));
    kv->slots = dt__calloc(max_dbs, sizeof *kv->slots);
    if (!kv->path || !kv->slots) goto fail_nomem;
    kv->nslots = max_dbs;
    kv->flags = opts->flags;
    kv->max_map_size = opts->max_map_size;
    kv->grow_timeout_ms =
        opts->grow_timeout_ms ? opts->grow_timeout_ms : KV_DEFAULT_GROW_TIMEOUT_MS;
    long ps = sysconf(_SC_PAGESIZE);
    kv->page_size = ps > 0 ? (unsigned)ps : 4096u;
    kv->pool_cap = max_readers / 2 < KV_POOL_MAX ? max_readers / 2 : KV_POOL_MAX;
    if (kv->pool_cap == 0) kv->pool_cap = 1;

    int mrc = mdb_env_create(&kv->env);
    if (mrc != MDB_SUCCESS) {
        rc = kv_translate(mrc);
        dt__seterr(NULL, rc, "kv open '%s': %s", path, mdb_strerror(mrc));
        goto fail;
    }
    uint64_t map_size = opts->map_size ? opts->map_size : KV_DEFAULT_MAP_SIZE;
    if (kv->max_map_size && map_size > kv->max_map_size) map_size = kv->max_map_size;
    map_size = round_up(map_size, kv->page_size);
    unsigned mflags = MDB_NOTLS;
    if (opts->flags & DT_KV_NOSYNC) mflags |= MDB_NOSYNC;
    if (opts->flags & DT_KV_NOMETASYNC) mflags |= MDB_NOMETASYNC;
    if (opts->flags & DT_KV_WRITEMAP) mflags |= MDB_WRITEMAP;
    if (opts->flags & DT_KV_MAPASYNC) mflags |= MDB_MAPASYNC;
    if (rdonly) mflags |= MDB_RDONLY;
    if ((mrc = mdb_env_set_mapsize(kv->env, (size_t)map_size)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxdbs(kv->env, max_dbs)) != MDB_SUCCESS ||
        (mrc = mdb_env_set_maxreaders(kv->env, max_readers)) != MDB_SUCCESS) {
        rc = kv_translate(mrc);
        dt__seterr(NULL, rc, "kv open '%s': bad option: %s", path, mdb_strerror(mrc));
        goto fail;
    }
    if ((rc = check_meta_pages(path)) != DT_OK) goto fail;
    mrc = mdb_env_open(kv->env, path, mflags, opts->file_mode ? opts->file_mode : KV_DEFAULT_MODE);
    if (mrc != MDB_SUCCESS) {
        rc = kv_translate(mrc);
        if (mrc == MDB_INVALID)
            dt__seterr(NULL, rc,
                       "kv open '%s': data.mdb is not an LMDB database file (bad magic "
                       "or truncated): %s",
                       path, mdb_strerror(mrc));
        else if (mrc == MDB_VERSION_MISMATCH)
            dt__seterr(NULL, rc,
                       "kv open '%s': the database was written by an incompatible LMDB "
                       "version: %s",
                       path, mdb_strerror(mrc));
        else
            dt__seterr(NULL, rc, "kv open '%s': %s", path,
                       io_reason(path, mrc, (char[160]){0}, 160));
        goto fail;
    }
    {
        /* LMDB sets the main database's key order when a dbi is first
         * opened; the write-marker check (excl_check) reads the main
         * database, maybe before that: set it now, once, before any other
         * thread can use the environment */
        MDB_txn *t0 = NULL;
        MDB_dbi main_dbi;
        mrc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &t0);
        if (mrc == MDB_SUCCESS) {
            mrc = mdb_dbi_open(t0, NULL, 0, &main_dbi);
            mdb_txn_abort(t0);
        }
        if (mrc != MDB_SUCCESS) {
            rc = kv_translate(mrc);
            dt__seterr(NULL, rc, "kv open '%s': %s", path, mdb_strerror(mrc));
            goto fail;
        }
    }
    int dead = 0;
    mdb_reader_check(kv->env, &dead);
    MDB_envinfo info;
    mdb_env_info(kv->env, &info);
    atomic_init(&kv->map_size, (uint64_t)info.me_mapsize);
    if (kv->max_map_size && kv->max_map_size < info.me_mapsize) kv->max_map_size = info.me_mapsize;
    kv->max_key = (unsigned)mdb_env_get_maxkeysize(kv->env);
    atomic_init(&kv->broken, 0);
    atomic_init(&kv->active, 0);
    atomic_init(&kv->resizing, 0);
    atomic_init(&kv->handles, 0);
    atomic_init(&kv->writer_thread, NULL);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&kv->gate_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&kv->gate_mu, NULL);
    pthread_mutex_init(&kv->resize_mu, NULL);
    pthread_mutex_init(&kv->dbi_mu, NULL);
    pthread_mutex_init(&kv->pool_mu, NULL);
    pthread_mutex_init(&kv->async_mu, NULL);
    {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t x = (uint64_t)getpid() << 32 ^ (uint64_t)now.tv_nsec ^ (uint64_t)now.tv_sec << 20 ^
                     (uint64_t)(uintptr_t)kv;
        x ^= x >> 33; /* a mix (splitmix64's finaliser) so tokens differ widely */
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        kv->excl_token = x ? x : 1;
    }
    kv->magic = DT_MAGIC_KV;
    *out = kv;
    return DT_OK;

fail_nomem:
    rc = dt__seterr(NULL, DT_NOMEM, "kv open '%s': out of memory", path);
fail:
    if (kv && kv->env) mdb_env_close(kv->env);
    kv_free(kv);
    if (created) {
        char p[4096];
        if (make_path(p, sizeof p, path, "lock.mdb")) unlink(p);
        if (make_path(p, sizeof p, path, "data.mdb")) unlink(p);
        rmdir(path);
    }
    return rc;
}

int dt_kv_close(dt_kv *kv) {
    if (!kv) return DT_OK;
    if (kv->magic != DT_MAGIC_KV)
        return dt__seterr(kv, DT_MISUSE, "kv close: not an open dt_kv handle");
    if (kv->owner)
        return dt__seterr(kv, DT_MISUSE,
                          "kv close '%s': the environment belongs to a connection (dt_conn_kv); "
                          "close the connection instead",
                          kv->path);
    if (kv_thread_writes(kv))
        return dt__seterr(kv, DT_MISUSE,
                          "kv close '%s': this thread has a write transaction open on it",
                          kv->path);
    /* complete every queued async write first: nothing acknowledged is lost */
    pthread_mutex_lock(&kv->async_mu);
    kv_writer_stop(kv->async);
    kv->async = NULL;
    pthread_mutex_unlock(&kv->async_mu);
    int n = atomic_load(&kv->handles);
    if (n > 0 || atomic_load(&kv->active) > 0)
        return dt__seterr(kv, DT_BUSY, "kv close '%s': %d transaction(s)/iterator(s) still open",
                          kv->path, n);
    pool_drain(kv);
    mdb_env_close(kv->env);
    if (kv->flags & DT_KV_TEMP) {
        char p[4096];
        if (make_path(p, sizeof p, kv->path, "data.mdb")) unlink(p);
        if (make_path(p, sizeof p, kv->path, "lock.mdb")) unlink(p);
        rmdir(kv->path);
    }
    pthread_cond_destroy(&kv->gate_cv);
    pthread_mutex_destroy(&kv->gate_mu);
    pthread_mutex_destroy(&kv->resize_mu);
    pthread_mutex_destroy(&kv->dbi_mu);
    pthread_mutex_destroy(&kv->pool_mu);
    pthread_mutex_destroy(&kv->async_mu);
    dt__clearerr(kv);
    kv->magic = DT_MAGIC_DEAD;
    kv_free(kv);
    return DT_OK;
}

int dt_kv_set_flags(dt_kv *kv, unsigned flags, int onoff) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (flags & ~KV_OPEN_FLAGS)
        return kv_err(kv, NULL, DT_INVALID,
                      "kv set_flags: flags 0x%x are not environment flags: %s",
                      flags & ~KV_OPEN_FLAGS, dt__flags_group(flags & ~KV_OPEN_FLAGS));
    if (flags & ~KV_RUNTIME_FLAGS)
        return kv_err(kv, NULL, DT_INVALID, "kv set_flags: flags 0x%x cannot change at run time",
                      flags & ~KV_RUNTIME_FLAGS);
    unsigned mflags = 0;
    if (flags & DT_KV_NOSYNC) mflags |= MDB_NOSYNC;
    if (flags & DT_KV_NOMETASYNC) mflags |= MDB_NOMETASYNC;
    if (flags & DT_KV_MAPASYNC) mflags |= MDB_MAPASYNC;
    int mrc = mdb_env_set_flags(kv->env, mflags, onoff ? 1 : 0);
    if (mrc != MDB_SUCCESS)
        return kv_err(kv, NULL, kv_translate(mrc), "kv set_flags: %s", mdb_strerror(mrc));
    return DT_OK;
}

int dt_kv_get_flags(dt_kv *kv, unsigned *out) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (!out) return kv_err(kv, NULL, DT_MISUSE, "kv get_flags: NULL out");
    unsigned mflags = 0;
    mdb_env_get_flags(kv->env, &mflags);
    unsigned f = kv->flags & (DT_KV_TEMP | DT_KV_RDONLY | DT_KV_WRITEMAP);
    if (mflags & MDB_NOSYNC) f |= DT_KV_NOSYNC;
    if (mflags & MDB_NOMETASYNC) f |= DT_KV_NOMETASYNC;
    if (mflags & MDB_MAPASYNC) f |= DT_KV_MAPASYNC;
    *out = f;
    return DT_OK;
}

int dt_kv_sync(dt_kv *kv, int force) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (kv->flags & DT_KV_RDONLY) return DT_OK;
    gate_enter(kv);
    int mrc = mdb_env_sync(kv->env, force ? 1 : 0);
    gate_leave(kv);
    if (mrc != MDB_SUCCESS)
        return kv_err(kv, NULL, kv_translate(mrc), "kv sync '%s': %s", kv->path,
                      io_reason(kv->path, mrc, (char[160]){0}, 160));
    return DT_OK;
}

/* }====== */

/* {====== Transactions ====== */

static dt_kv_txn *pool_get(dt_kv *kv) {
    pthread_mutex_lock(&kv->pool_mu);
    dt_kv_txn *t = kv->pool;
    if (t) {
        kv->pool = t->next_free;
        kv->npool--;
    }
    pthread_mutex_unlock(&kv->pool_mu);
    if (!t) t = dt__calloc(1, sizeof *t);
    return t;
}

static void pool_put(dt_kv *kv, dt_kv_txn *t) {
    t->magic = DT_MAGIC_DEAD;
    t->mdb = NULL;
    t->cursors = NULL;
    pthread_mutex_lock(&kv->pool_mu);
    if (kv->npool < kv->pool_cap) {
        t->next_free = kv->pool;
        kv->pool = t;
        kv->npool++;
        pthread_mutex_unlock(&kv->pool_mu);
        return;
    }
    pthread_mutex_unlock(&kv->pool_mu);
    if (t->reset) mdb_txn_abort(t->reset);
    dt__free(t);
}

/* Frees every pooled txn, releasing their reader slots. */
static void pool_drain(dt_kv *kv) {
    pthread_mutex_lock(&kv->pool_mu);
    dt_kv_txn *t = kv->pool;
    kv->pool = NULL;
    kv->npool = 0;
    pthread_mutex_unlock(&kv->pool_mu);
    while (t) {
        dt_kv_txn *next = t->next_free;
        if (t->reset) mdb_txn_abort(t->reset);
        dt__free(t);
        t = next;
    }
}

void kv_cursor_link(dt_kv_txn *t, kv_cursor *c) {
    c->txn = t;
    c->prev = NULL;
    c->next = t->cursors;
    if (t->cursors) t->cursors->prev = c;
    t->cursors = c;
}

void kv_cursor_unlink(kv_cursor *c) {
    if (!c->txn) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->txn->cursors = c->next;
    if (c->next) c->next->prev = c->prev;
    c->txn = NULL;
    c->next = c->prev = NULL;
}

/* Invalidates the cursors of `t`; close_mdb: close the LMDB cursors too
 * (read txns; LMDB frees write txns' cursors itself when they end). */
static void drop_cursors(dt_kv_txn *t, int close_mdb) {
    kv_cursor *c = t->cursors;
    while (c) {
        kv_cursor *next = c->next;
        if (close_mdb && c->mc) mdb_cursor_close(c->mc);
        c->mc = NULL;
        c->txn = NULL;
        c->next = c->prev = NULL;
        c = next;
    }
    t->cursors = NULL;
}

/* Begins a top-level txn; `user`: a handle given to the caller. */
static int txn_begin_root(dt_kv *kv, int rdonly, int user, dt_kv_txn **out) {
    *out = NULL;
    if (!rdonly) {
        if (kv->flags & DT_KV_RDONLY)
            return kv_err(kv, NULL, DT_MISUSE, "kv '%s': write in a read-only environment",
                          kv->path);
        if (kv_thread_writes(kv))
            return kv_err(kv, NULL, DT_MISUSE,
                          "kv '%s': this thread already has a write transaction open on this "
                          "environment (a second one would deadlock)",
                          kv->path);
    }
    if (!rdonly) {
        char why[256] = "";
        int grc = grow_pending(kv, why, sizeof why);
        if (grc != DT_OK) return kv_err(kv, NULL, grc, "kv '%s': %s", kv->path, why);
    }
    dt_kv_txn *t = pool_get(kv);
    if (!t)
        return kv_err(kv, NULL, DT_NOMEM, "kv '%s': out of memory beginning a transaction",
                      kv->path);
    int mrc;
    uint64_t seen;
    for (int tries = 0;; tries++) {
        gate_enter(kv);
        seen = atomic_load(&kv->map_size);
        mrc = -1;
        if (rdonly) {
            if (t->reset) {
                mrc = mdb_txn_renew(t->reset);
                if (mrc == MDB_SUCCESS)
                    t->mdb = t->reset;
                else
                    mdb_txn_abort(t->reset);
                t->reset = NULL;
            }
            if (mrc != MDB_SUCCESS) mrc = mdb_txn_begin(kv->env, NULL, MDB_RDONLY, &t->mdb);
        } else {
            mrc = mdb_txn_begin(kv->env, NULL, 0, &t->mdb);
        }
        if (mrc == MDB_SUCCESS) break;
        t->mdb = NULL;
        gate_leave(kv);
        char why[256] = "";
        if (mrc == MDB_MAP_RESIZED && tries < 8) {
            int grc = kv_grow(kv, 0, why, sizeof why);
            if (grc == DT_OK) continue;
            pool_put(kv, t);
            return kv_err(kv, NULL, grc,
                          "kv '%s': adopting the map size set by another process: %s", kv->path,
                          why);
        }
        if (mrc == MDB_READERS_FULL && tries < 1) {
            pool_drain(kv);
            continue;
        }
        pool_put(kv, t);
        return kv_err(kv, NULL, kv_translate(mrc), "kv '%s': cannot begin a %s transaction: %s",
                      kv->path, rdonly ? "read" : "write", mdb_strerror(mrc));
    }
    t->magic = DT_MAGIC_KVTXN;
    t->kv = kv;
    t->rdonly = rdonly;
    t->root = t;
    t->parent = NULL;
    t->nchild = 0;
    t->failed = DT_OK;
    t->gated = 1;
    t->seen_map = seen;
    t->cursors = NULL;
    t->next_free = NULL;
    if (!rdonly) atomic_store(&kv->writer_thread, THIS_THREAD);
    if (user) atomic_fetch_add(&kv->handles, 1);
    t->user = user;
    *out = t;
    return DT_OK;
}

/* Aborts the LMDB txn tree of root `r` after a failure, keeping the handle
 * (the caller still ends it). */
static void root_abort_mdb(dt_kv_txn *r) {
    if (!r->mdb) return;
    drop_cursors(r, r->rdonly);
    if (r->rdonly) {
        mdb_txn_reset(r->mdb);
        r->reset = r->mdb;
    } else {
        mdb_txn_abort(r->mdb);
        atomic_store(&r->kv->writer_thread, NULL);
    }
    r->mdb = NULL;
    if (r->gated) {
        r->gated = 0;
        gate_leave(r->kv);
    }
}

/* Ends a txn handle whose LMDB txn has been committed/aborted/reset. */
static void txn_release(dt_kv_txn *t) {
    dt_kv *kv = t->kv;
    if (t->parent) t->parent->nchild--;
    if (t->user) atomic_fetch_sub(&kv->handles, 1);
    dt__clearerr(t);
    pool_put(kv, t);
}

void kv_txn_release(dt_kv_txn *t) {
    /* A pooled read txn from kv_read_begin: reset it for reuse. */
    root_abort_mdb(t);
    txn_release(t);
}

/*
 * txn_fail: handles an LMDB error `mrc` of a write in txn `t`, with a
 * message made of `what`.  Expected codes (not found, key exists, bad
 * size) leave the txn usable; any other makes the whole tree fail
 * (sticky).  MDB_MAP_FULL aborts the tree at once and grows the map, so the
 * caller can run the transaction again (DT_MAPFULL_RETRY).
 */
static int txn_fail(dt_kv_txn *t, int mrc, const char *what) {
    dt_kv *kv = t->kv;
    dt_kv_txn *r = t->root;
    dt_kv_txn *rec = t->user ? t : NULL;
    int rc = kv_translate(mrc);
    if (mrc == MDB_NOTFOUND || mrc == MDB_KEYEXIST || mrc == MDB_BAD_VALSIZE || t->rdonly)
        return kv_err(kv, rec, rc, "%s: %s", what, mdb_strerror(mrc));
    if (mrc == MDB_MAP_FULL) {
        uint64_t seen = r->seen_map;
        root_abort_mdb(r);
        char why[256] = "";
        int grc = grow_or_defer(kv, seen, why, sizeof why);
        if (grc == DT_OK) {
            r->failed = DT_MAPFULL_RETRY;
            return kv_err(kv, rec, DT_MAPFULL_RETRY,
                          "%s: map full at %llu bytes; it grows before the next write "
                          "transaction: abort this one and run it again",
                          what, (unsigned long long)seen);
        }
        r->failed = grc;
        return kv_err(kv, rec, grc, "%s: %s", what, why);
    }
    r->failed = rc;
    return kv_err(kv, rec, rc, "%s: %s", what, io_reason(kv->path, mrc, (char[160]){0}, 160));
}

/* {====== Exclusive writes ====== */

/* The marker: an entry of LMDB's main database (dbi 1 in every LMDB
 * file), value token(8) | pid(4, both little-endian as written) | what. */
#define KV_MAIN_DBI  ((MDB_dbi)1)
#define KV_EXCL_KEY  "dt.kv.exclusive"
#define KV_EXCL_KLEN (sizeof KV_EXCL_KEY - 1)

/* Formats the refusal for a marker value into buf; 1 when its process is
 * gone. */
static int excl_describe(dt_kv *kv, const MDB_val *v, char *buf, size_t cap) {
    int32_t pid = 0;
    char what[64] = "an exclusive write";
    if (v->mv_size >= 12) {
        memcpy(&pid, (const char *)v->mv_data + 8, 4);
        size_t n = v->mv_size - 12 < sizeof what - 1 ? v->mv_size - 12 : sizeof what - 1;
        if (n) {
            memcpy(what, (const char *)v->mv_data + 12, n);
            what[n] = '\0';
        }
    }
    int gone = pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    if (gone)
        snprintf(buf, cap,
                 "kv '%s': writes are refused: %s by process %d was interrupted (that process "
                 "is gone) and left the database incomplete",
                 kv->path, what, (int)pid);
    else
        snprintf(buf, cap,
                 "kv '%s': writes are refused while %s (process %d) holds the database; "
                 "try again when it has finished",
                 kv->path, what, (int)pid);
    return gone;
}

/*
 * excl_check: the check every new root write txn `t` makes: if the marker
 * is there and `holder` is not its owner, t is ended and DT_BUSY returned.
 */
static int excl_check(dt_kv *kv, dt_kv_txn *t, int holder) {
    MDB_val k = {KV_EXCL_KLEN, (void *)KV_EXCL_KEY}, v;
    int mrc = mdb_get(t->mdb, KV_MAIN_DBI, &k, &v);
    if (mrc == MDB_NOTFOUND) return DT_OK;
    if (mrc != MDB_SUCCESS) {
        kv_txn_abort(t);
        return kv_err(kv, NULL, kv_translate(mrc), "kv '%s': reading the write marker: %s",
                      kv->path, mdb_strerror(mrc));
    }
    uint64_t token = 0;
    if (v.mv_size >= 8) memcpy(&token, v.mv_data, 8);
    if (holder && token == kv->excl_token) return DT_OK;
    char msg[DT__ERRMSG_MAX];
    excl_describe(kv, &v, msg, sizeof msg);
    kv_txn_abort(t);
    return kv_err(kv, NULL, DT_BUSY, "%s", msg);
}

/* Begins a root txn, checking the marker for write txns. */
static int root_begin_checked(dt_kv *kv, int rdonly, int user, int holder, dt_kv_txn **out) {
    int rc = txn_begin_root(kv, rdonly, user, out);
    if (rc != DT_OK || rdonly) return rc;
    if ((rc = excl_check(kv, *out, holder)) != DT_OK) *out = NULL;
    return rc;
}

static int excl_txn_ok(dt_kv_txn *t, const char *fn) {
    if (!t || t->magic != DT_MAGIC_KVTXN)
        return dt__seterr(t, DT_MISUSE, "%s: not an open dt_kv_txn handle", fn);
    if (t->rdonly || t->root != t || !t->mdb)
        return kv_err(t->kv, t, DT_MISUSE, "%s: needs a live top-level write transaction", fn);
    return DT_OK;
}

int kv_exclusive_set(dt_kv_txn *t, const char *what) {
    int rc = excl_txn_ok(t, "kv_exclusive_set");
    if (rc != DT_OK) return rc;
    char buf[12 + 63];
    size_t wn = what ? strlen(what) : 0;
    if (wn > 63) wn = 63;
    int32_t pid = (int32_t)getpid();
    memcpy(buf, &t->kv->excl_token, 8);
    memcpy(buf + 8, &pid, 4);
    if (wn) memcpy(buf + 12, what, wn);
    MDB_val k = {KV_EXCL_KLEN, (void *)KV_EXCL_KEY}, v = {12 + wn, buf};
    int mrc = mdb_put(t->mdb, KV_MAIN_DBI, &k, &v, 0);
    return mrc == MDB_SUCCESS ? DT_OK : txn_fail(t, mrc, "kv_exclusive_set");
}

int kv_exclusive_holder(dt_kv *kv, int *alive, char *buf, size_t cap) {
    dt_kv_txn *t = NULL;
    int rc = kv_read_begin(kv, NULL, &t);
    if (rc != DT_OK) return rc;
    MDB_val k = {KV_EXCL_KLEN, (void *)KV_EXCL_KEY}, v;
    int mrc = mdb_get(t->mdb, KV_MAIN_DBI, &k, &v);
    if (mrc == MDB_SUCCESS) {
        *alive = !excl_describe(kv, &v, buf, cap);
        rc = DT_OK;
    } else if (mrc == MDB_NOTFOUND) {
        rc = DT_NOTFOUND;
    } else {
        rc = kv_err(kv, NULL, kv_translate(mrc), "kv '%s': reading the write marker: %s", kv->path,
                    mdb_strerror(mrc));
    }
    kv_read_end(kv, NULL, t);
    return rc;
}

int kv_exclusive_clear(dt_kv_txn *t) {
    int rc = excl_txn_ok(t, "kv_exclusive_clear");
    if (rc != DT_OK) return rc;
    MDB_val k = {KV_EXCL_KLEN, (void *)KV_EXCL_KEY};
    int mrc = mdb_del(t->mdb, KV_MAIN_DBI, &k, NULL);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? DT_OK
                                                     : txn_fail(t, mrc, "kv_exclusive_clear");
}

/* }====== */

int kv_txn_begin(dt_kv *kv, dt_kv_txn *parent, unsigned flags, dt_kv_txn **out) {
    if (out) *out = NULL;
    int rc = kv_check(kv, parent);
    if (rc != DT_OK) return rc;
    if (!out) return kv_err(kv, NULL, DT_MISUSE, "kv txn_begin: NULL out");
    if (flags & ~(DT_KV_TXN_RDONLY | KV_TXN_EXCLUSIVE)) {
        unsigned stray = flags & ~(DT_KV_TXN_RDONLY | KV_TXN_EXCLUSIVE);
        return kv_err(kv, NULL, DT_INVALID,
                      "kv txn_begin: flags 0x%x are not transaction flags: %s", stray,
                      dt__flags_group(stray));
    }
    if (!parent)
        return root_begin_checked(kv, (flags & DT_KV_TXN_RDONLY) != 0, 1,
                                  (flags & KV_TXN_EXCLUSIVE) != 0, out);

    if (parent->rdonly || (flags & DT_KV_TXN_RDONLY))
        return kv_err(kv, parent, DT_MISUSE,
                      "kv txn_begin: nested transactions must be write transactions");
    if (kv->flags & DT_KV_WRITEMAP)
        return kv_err(kv, parent, DT_MISUSE,
                      "kv txn_begin: nested transactions are not available with WRITEMAP");
    if (parent->nchild)
        return kv_err(kv, parent, DT_MISUSE,
                      "kv txn_begin: the parent already has an open nested transaction");
    if (parent->root->failed)
        return kv_err(kv, parent, parent->root->failed,
                      "kv txn_begin: the parent transaction failed earlier (%s); abort it",
                      dt_errstr(parent->root->failed));
    dt_kv_txn *t = pool_get(kv);
    if (!t) return kv_err(kv, parent, DT_NOMEM, "kv txn_begin: out of memory");
    int mrc = mdb_txn_begin(kv->env, parent->mdb, 0, &t->mdb);
    if (mrc != MDB_SUCCESS) {
        t->mdb = NULL;
        pool_put(kv, t);
        return txn_fail(parent, mrc, "kv nested txn_begin");
    }
    t->magic = DT_MAGIC_KVTXN;
    t->kv = kv;
    t->rdonly = 0;
    t->root = parent->root;
    t->parent = parent;
    t->nchild = 0;
    t->failed = DT_OK;
    t->gated = 0;
    t->seen_map = parent->root->seen_map;
    t->cursors = NULL;
    t->user = 1;
    parent->nchild++;
    atomic_fetch_add(&kv->handles, 1);
    *out = t;
    return DT_OK;
}

int dt_kv_txn_begin(dt_kv *kv, unsigned flags, dt_kv_txn **out) {
    if (flags & KV_TXN_EXCLUSIVE) {
        if (out) *out = NULL;
        return kv_err(kv, NULL, DT_INVALID,
                      "kv txn_begin: flags 0x%x are not transaction flags: %s", KV_TXN_EXCLUSIVE,
                      dt__flags_group(KV_TXN_EXCLUSIVE));
    }
    return kv_txn_begin(kv, NULL, flags, out);
}

static int check_txn(dt_kv_txn *t) {
    if (!t || t->magic != DT_MAGIC_KVTXN)
        return dt__seterr(t, DT_MISUSE, "kv: not an open dt_kv_txn handle");
    return DT_OK;
}

int kv_txn_commit(dt_kv_txn *t) {
    int rc = check_txn(t);
    if (rc != DT_OK) return rc;
    dt_kv *kv = t->kv;
    dt_kv_txn *r = t->root;
    dt_kv_txn *rec = t->user ? t : NULL;
    if (t->nchild)
        return kv_err(kv, rec, DT_MISUSE, "kv commit: a nested transaction is still open");
    if (t->rdonly) {
        root_abort_mdb(t);
        txn_release(t);
        return DT_OK;
    }
    if (r->failed) {
        int f = r->failed;
        if (t == r)
            root_abort_mdb(t);
        else if (r->mdb) {
            drop_cursors(t, 0);
            mdb_txn_abort(t->mdb);
        }
        kv_err(kv, rec, f, "kv commit: the transaction failed earlier (%s); nothing was written",
               dt_errstr(f));
        txn_release(t);
        return f;
    }
    drop_cursors(t, 0);
    int mrc = mdb_txn_commit(t->mdb);
    t->mdb = NULL;
    if (t != r) {
        /* A nested commit merges into the parent; a failure fails the tree. */
        if (mrc != MDB_SUCCESS) rc = txn_fail(t->parent, mrc, "kv commit of a nested transaction");
        txn_release(t);
        return rc;
    }
    atomic_store(&kv->writer_thread, NULL);
    t->gated = 0;
    gate_leave(kv);
    if (mrc != MDB_SUCCESS) {
        if (mrc == MDB_MAP_FULL) {
            char why[256] = "";
            int grc = grow_or_defer(kv, t->seen_map, why, sizeof why);
            if (grc == DT_OK)
                rc = kv_err(kv, rec, DT_MAPFULL_RETRY,
                            "kv commit: map full at %llu bytes; it grows before the next write "
                            "transaction: run the transaction again",
                            (unsigned long long)t->seen_map);
            else
                rc = kv_err(kv, rec, grc, "kv commit: %s", why);
        } else {
            rc = kv_err(kv, rec, kv_translate(mrc), "kv commit '%s': %s", kv->path,
                        io_reason(kv->path, mrc, (char[160]){0}, 160));
        }
    }
    txn_release(t);
    return rc;
}

void kv_txn_abort(dt_kv_txn *t) {
    if (!t || t->magic != DT_MAGIC_KVTXN) return;
    dt_kv_txn *r = t->root;
    if (t == r) {
        root_abort_mdb(t);
    } else if (r->mdb) {
        drop_cursors(t, 0);
        mdb_txn_abort(t->mdb);
        t->mdb = NULL;
    }
    txn_release(t);
}

int dt_kv_txn_commit(dt_kv_txn *txn) { return kv_txn_commit(txn); }
void dt_kv_txn_abort(dt_kv_txn *txn) { kv_txn_abort(txn); }

int kv_txn_failed(const dt_kv_txn *t) { return t->root->failed; }
int kv_txn_rdonly(const dt_kv_txn *t) { return t->rdonly; }
dt_kv *kv_txn_env(const dt_kv_txn *t) { return t->kv; }
uint64_t kv_txn_id(const dt_kv_txn *t) { return t->mdb ? (uint64_t)mdb_txn_id(t->mdb) : 0; }
size_t kv_max_key_size(const dt_kv *kv) { return kv->max_key; }

/* Checks that `t` may be read from. */
static int read_check(dt_kv *kv, dt_kv_txn *t) {
    if (t->nchild)
        return kv_err(kv, t, DT_MISUSE, "kv: the transaction has an open nested transaction");
    if (t->root->failed)
        return kv_err(kv, t, t->root->failed, "kv: the transaction failed earlier (%s); abort it",
                      dt_errstr(t->root->failed));
    return DT_OK;
}

/* Checks that `t` may be written to. */
static int write_check(dt_kv *kv, dt_kv_txn *t, const char *what) {
    if (t->rdonly) return kv_err(kv, t, DT_MISUSE, "%s: the transaction is read-only", what);
    return read_check(kv, t);
}

int kv_read_begin(dt_kv *kv, dt_kv_txn *txn, dt_kv_txn **use) {
    if (txn) {
        *use = txn;
        return read_check(kv, txn);
    }
    return txn_begin_root(kv, 1, 0, use);
}

void kv_read_end(dt_kv *kv, dt_kv_txn *txn, dt_kv_txn *use) {
    (void)kv;
    if (!txn && use) kv_txn_release(use);
}

/*
 * auto_write: runs body(t, arg) in a write txn of its own and commits it,
 * running everything again after map growth (DT_MAPFULL_RETRY).
 */
static int auto_write(dt_kv *kv, int (*body)(dt_kv_txn *t, void *arg), void *arg, int user) {
    for (;;) {
        dt_kv_txn *t;
        int rc = root_begin_checked(kv, 0, user, 0, &t);
        if (rc != DT_OK) return rc;
        rc = body(t, arg);
        if (rc == DT_OK) {
            rc = kv_txn_commit(t);
        } else {
            if (t->failed == DT_MAPFULL_RETRY) rc = DT_MAPFULL_RETRY;
            kv_txn_abort(t);
        }
        if (rc != DT_MAPFULL_RETRY) return rc;
    }
}

typedef struct with_args {
    int (*fn)(dt_kv_txn *, void *);
    void *userdata;
} with_args;

static int with_body(dt_kv_txn *t, void *arg) {
    with_args *a = arg;
    int rc = a->fn(t, a->userdata);
    if (t->failed == DT_MAPFULL_RETRY) return DT_MAPFULL_RETRY;
    if (rc == DT_OK && t->failed) return t->failed;
    return rc;
}

int dt_kv_with_txn(dt_kv *kv, int (*fn)(dt_kv_txn *txn, void *userdata), void *userdata) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (!fn) return kv_err(kv, NULL, DT_MISUSE, "kv with_txn: NULL fn");
    with_args a = {fn, userdata};
    unsigned long stamp = dt__errstamp(kv);
    rc = auto_write(kv, with_body, &a, 1);
    if (rc != DT_OK && dt__errstamp(kv) == stamp) /* fn failed without a message */
        kv_err(kv, NULL, rc, "kv with_txn: the function failed with %d (%s)", rc, dt_errstr(rc));
    return rc;
}

/* }====== */

/* {====== Named dbis ====== */

kv_slot *kv_slot_get(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi) {
    uint32_t i = dbi & KV_SLOT_MASK, gen = (dbi >> KV_SLOT_BITS) & KV_GEN_MAX;
    if (i < kv->nslots) {
        kv_slot *s = &kv->slots[i];
        if (gen && s->gen == gen && s->alive) return s;
    }
    kv_err(kv, txn, DT_MISUSE,
           "kv: dbi handle %u is not open (never opened, dropped, or of another "
           "environment)",
           (unsigned)dbi);
    return NULL;
}

/* 1 for a name reserved for Datolite's own dbis ("dt/..."). */
static int reserved_name(const char *name) { return strncmp(name, "dt/", 3) == 0; }

/*
 * slot_for_write: kv_slot_get for a write through handle `dbi`: a
 * reserved dbi (a Datolite database's own data) is written only through
 * the privileged handles the datalog layer holds (kv_dbi_open_reserved).
 */
static kv_slot *slot_for_write(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const char *what) {
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (s && s->reserved && !(dbi & KV_DBI_PRIV)) {
        kv_err(kv, txn, DT_MISUSE,
               "kv %s dbi '%s': dbis named \"dt/...\" hold a Datolite database's own data and "
               "are read-only through the KV API",
               what, s->name);
        return NULL;
    }
    return s;
}

static int dbi_open(dt_kv *kv, const char *name, unsigned flags, int priv, dt_kv_dbi *out);

int dt_kv_dbi_open(dt_kv *kv, const char *name, unsigned flags, dt_kv_dbi *out) {
    return dbi_open(kv, name, flags, 0, out);
}

int kv_dbi_open_reserved(dt_kv *kv, const char *name, unsigned flags, dt_kv_dbi *out) {
    return dbi_open(kv, name, flags, 1, out);
}

static int dbi_open(dt_kv *kv, const char *name, unsigned flags, int priv, dt_kv_dbi *out) {
    if (out) *out = DT_KV_DBI_NONE;
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (!name || !out)
        return kv_err(kv, NULL, DT_MISUSE, "kv dbi_open: NULL %s", name ? "out" : "name");
    if (!*name) return kv_err(kv, NULL, DT_INVALID, "kv dbi_open: empty name");
    if (flags & ~KV_DBI_FLAGS)
        return kv_err(kv, NULL, DT_INVALID, "kv dbi_open '%s': flags 0x%x are not dbi flags: %s",
                      name, flags & ~KV_DBI_FLAGS, dt__flags_group(flags & ~KV_DBI_FLAGS));
    int want_dup = (flags & DT_KV_DBI_DUPSORT) != 0;
    int create = (flags & DT_KV_DBI_CREATE) && !(kv->flags & DT_KV_RDONLY);
    if (create && kv_thread_writes(kv))
        return kv_err(kv, NULL, DT_MISUSE,
                      "kv dbi_open '%s': this thread has a write transaction open (would deadlock)",
                      name);

    pthread_mutex_lock(&kv->dbi_mu);
    unsigned free_i = kv->nslots;
    for (unsigned i = 0; i < kv->nslots; i++) {
        kv_slot *s = &kv->slots[i];
        if (s->alive && strcmp(s->name, name) == 0) {
            if (s->dupsort != want_dup) {
                rc = kv_err(kv, NULL, DT_INVALID, "kv dbi_open '%s': the dbi exists %s DUPSORT",
                            name, s->dupsort ? "with" : "without");
                goto done;
            }
            *out = i | (s->gen << KV_SLOT_BITS) | (priv && s->reserved ? KV_DBI_PRIV : 0);
            goto done;
        }
        if (!s->alive && free_i == kv->nslots) free_i = i;
    }
    if (free_i == kv->nslots) {
        rc = kv_err(kv, NULL, DT_LIMIT, "kv dbi_open '%s': max_dbs (%u) dbis already open", name,
                    kv->nslots);
        goto done;
    }
    if (create && !priv && reserved_name(name)) {
        /* an existing one may be opened (to read it), a new one not made */
        create = 0;
        flags &= ~DT_KV_DBI_CREATE;
    }
    char *copy = dt__strndup(name, strlen(name));
    if (!copy) {
        rc = kv_err(kv, NULL, DT_NOMEM, "kv dbi_open '%s': out of memory", name);
        goto done;
    }
    unsigned mflags = (create ? MDB_CREATE : 0) | (want_dup ? MDB_DUPSORT : 0);
    MDB_dbi dbi = 0;
    unsigned actual = 0;
    int mrc;
    char busy[DT__ERRMSG_MAX];
    for (;;) {
        MDB_txn *txn = NULL;
        gate_enter(kv);
        uint64_t seen = atomic_load(&kv->map_size);
        mrc = mdb_txn_begin(kv->env, NULL, create ? 0 : MDB_RDONLY, &txn);
        if (mrc == MDB_SUCCESS) {
            if (create) {
                /* creating a dbi is a write: not while another holds the
                 * exclusive marker (opening an existing one is not) */
                MDB_val ek = {KV_EXCL_KLEN, (void *)KV_EXCL_KEY}, ev;
                mrc = mdb_dbi_open(txn, name, mflags & ~MDB_CREATE, &dbi);
                if (mrc == MDB_NOTFOUND && mdb_get(txn, KV_MAIN_DBI, &ek, &ev) == MDB_SUCCESS) {
                    excl_describe(kv, &ev, busy, sizeof busy);
                    mdb_txn_abort(txn);
                    gate_leave(kv);
                    dt__free(copy);
                    rc = kv_err(kv, NULL, DT_BUSY, "kv dbi_open '%s': %s", name, busy);
                    goto done;
                }
                if (mrc == MDB_NOTFOUND) mrc = MDB_SUCCESS;
            }
            if (mrc == MDB_SUCCESS) mrc = mdb_dbi_open(txn, name, mflags, &dbi);
            if (mrc == MDB_SUCCESS) mrc = mdb_dbi_flags(txn, dbi, &actual);
            if (mrc == MDB_SUCCESS)
                mrc = mdb_txn_commit(txn);
            else
                mdb_txn_abort(txn);
        }
        gate_leave(kv);
        if (mrc == MDB_MAP_FULL || mrc == MDB_MAP_RESIZED) {
            char why[256] = "";
            int grc = kv_grow(kv, mrc == MDB_MAP_FULL ? seen : 0, why, sizeof why);
            if (grc == DT_OK) continue;
            dt__free(copy);
            rc = kv_err(kv, NULL, grc, "kv dbi_open '%s': %s", name, why);
            goto done;
        }
        break;
    }
    if (mrc == MDB_SUCCESS && ((actual & MDB_DUPSORT) != 0) != want_dup) mrc = MDB_INCOMPATIBLE;
    if (mrc != MDB_SUCCESS) {
        dt__free(copy);
        if (mrc == MDB_NOTFOUND)
            rc = kv_err(kv, NULL, DT_NOTFOUND, "kv dbi_open '%s': no such dbi%s", name,
                        (flags & DT_KV_DBI_CREATE) ? " (read-only environment)"
                        : !priv && reserved_name(name)
                            ? " (names starting with \"dt/\" are reserved for Datolite)"
                            : "");
        else if (mrc == MDB_INCOMPATIBLE)
            rc = kv_err(kv, NULL, DT_INVALID, "kv dbi_open '%s': the dbi exists %s DUPSORT", name,
                        want_dup ? "without" : "with");
        else if (mrc == MDB_DBS_FULL)
            rc = kv_err(kv, NULL, DT_LIMIT, "kv dbi_open '%s': max_dbs (%u) reached", name,
                        kv->nslots);
        else
            rc = kv_err(kv, NULL, kv_translate(mrc), "kv dbi_open '%s': %s", name,
                        mdb_strerror(mrc));
        goto done;
    }
    kv_slot *s = &kv->slots[free_i];
    s->gen = s->gen + 1 > KV_GEN_MAX ? 1 : s->gen + 1;
    s->dbi = dbi;
    s->dupsort = want_dup;
    s->reserved = reserved_name(name);
    dt__free(s->name);
    s->name = copy;
    s->alive = 1;
    kv->nopen++;
    *out = free_i | (s->gen << KV_SLOT_BITS) | (priv && s->reserved ? KV_DBI_PRIV : 0);
done:
    pthread_mutex_unlock(&kv->dbi_mu);
    return rc;
}

typedef struct drop_args {
    kv_slot *s;
    int del;
} drop_args;

static int drop_body(dt_kv_txn *t, void *arg) {
    drop_args *a = arg;
    char what[300];
    snprintf(what, sizeof what, "kv %s dbi '%s'", a->del ? "drop" : "clear", a->s->name);
    MDB_dbi dbi = a->s->dbi;
    int mrc = MDB_SUCCESS;
    /* A drop whose commit failed has closed the handle: open it again. */
    if (a->del) mrc = mdb_dbi_open(t->mdb, a->s->name, 0, &dbi);
    if (mrc == MDB_SUCCESS) mrc = mdb_drop(t->mdb, dbi, a->del);
    if (mrc != MDB_SUCCESS) return txn_fail(t, mrc, what);
    return DT_OK;
}

int dt_kv_dbi_drop(dt_kv *kv, dt_kv_dbi dbi) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    pthread_mutex_lock(&kv->dbi_mu);
    kv_slot *s = slot_for_write(kv, NULL, dbi, "drop");
    if (!s) {
        rc = DT_MISUSE;
    } else {
        drop_args a = {s, 1};
        rc = auto_write(kv, drop_body, &a, 0);
        if (rc == DT_OK) {
            s->alive = 0;
            dt__free(s->name);
            s->name = NULL;
            kv->nopen--;
        }
    }
    pthread_mutex_unlock(&kv->dbi_mu);
    return rc;
}

int dt_kv_dbi_clear(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi) {
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = slot_for_write(kv, txn, dbi, "clear");
    if (!s) return DT_MISUSE;
    drop_args a = {s, 0};
    if (txn) {
        if ((rc = write_check(kv, txn, "kv clear")) != DT_OK) return rc;
        return drop_body(txn, &a);
    }
    return auto_write(kv, drop_body, &a, 0);
}

/* }====== */

/* {====== Point reads and writes ====== */

static int check_key(dt_kv *kv, dt_kv_txn *txn, const kv_slot *s, const void *key, size_t klen,
                     const char *what) {
    if (klen == 0 || !key)
        return kv_err(kv, txn, DT_INVALID, "kv %s dbi '%s': empty key (keys are 1 to %u bytes)",
                      what, s->name, kv->max_key);
    if (klen > kv->max_key)
        return kv_err(kv, txn, DT_INVALID,
                      "kv %s dbi '%s': key of %zu bytes exceeds the %u-byte limit", what, s->name,
                      klen, kv->max_key);
    return DT_OK;
}

static int check_val(dt_kv *kv, dt_kv_txn *txn, const kv_slot *s, const void *val, size_t vlen,
                     const char *what) {
    if (!val && vlen)
        return kv_err(kv, txn, DT_MISUSE, "kv %s dbi '%s': NULL value of %zu bytes", what, s->name,
                      vlen);
    if (s->dupsort && vlen > kv->max_key)
        return kv_err(
            kv, txn, DT_INVALID,
            "kv %s dbi '%s': value of %zu bytes exceeds the %u-byte limit of DUPSORT dbis", what,
            s->name, vlen, kv->max_key);
    return DT_OK;
}

/* Reads `key` in txn `t`; returns the LMDB code. */
static int get_in(dt_kv *kv, dt_kv_txn *t, dt_kv_txn *rec, const kv_slot *s, const void *key,
                  size_t klen, MDB_val *v) {
    MDB_val k = {klen, (void *)key};
    int mrc = mdb_get(t->mdb, s->dbi, &k, v);
    if (mrc == MDB_SUCCESS) return DT_OK;
    if (mrc == MDB_NOTFOUND)
        return kv_err(kv, rec, DT_NOTFOUND, "kv get dbi '%s': no such key (%zu bytes)", s->name,
                      klen);
    if (mrc == EINVAL)
        return kv_err(kv, rec, DT_MISUSE, "kv get dbi '%s': dbi opened after the transaction began",
                      s->name);
    return kv_err(kv, rec, kv_translate(mrc), "kv get dbi '%s': %s", s->name, mdb_strerror(mrc));
}

int dt_kv_get(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen, void **out,
              size_t *out_len) {
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (!s) return DT_MISUSE;
    if (!out || !out_len) return kv_err(kv, txn, DT_MISUSE, "kv get: NULL out");
    if ((rc = check_key(kv, txn, s, key, klen, "get")) != DT_OK) return rc;
    dt_kv_txn *use;
    if ((rc = kv_read_begin(kv, txn, &use)) != DT_OK) return rc;
    MDB_val v;
    rc = get_in(kv, use, txn, s, key, klen, &v);
    if (rc == DT_OK) {
        void *copy = dt__malloc(v.mv_size);
        if (!copy) {
            rc = kv_err(kv, txn, DT_NOMEM, "kv get dbi '%s': out of memory copying %zu bytes",
                        s->name, v.mv_size);
        } else {
            if (v.mv_size) memcpy(copy, v.mv_data, v.mv_size);
            *out = copy;
            *out_len = v.mv_size;
        }
    }
    kv_read_end(kv, txn, use);
    return rc;
}

int dt_kv_get_view(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen,
                   dt_kv_bytes *out) {
    if (out) {
        out->ptr = NULL;
        out->len = 0;
    }
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    if (!txn)
        return kv_err(kv, NULL, DT_MISUSE, "kv get_view: needs a transaction (use dt_kv_get)");
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (!s) return DT_MISUSE;
    if (!out) return kv_err(kv, txn, DT_MISUSE, "kv get_view: NULL out");
    if ((rc = check_key(kv, txn, s, key, klen, "get")) != DT_OK) return rc;
    if ((rc = read_check(kv, txn)) != DT_OK) return rc;
    MDB_val v;
    if ((rc = get_in(kv, txn, txn, s, key, klen, &v)) != DT_OK) return rc;
    out->ptr = v.mv_data;
    out->len = v.mv_size;
    return DT_OK;
}

static unsigned put_mflags(const kv_slot *s, unsigned flags) {
    unsigned mf = 0;
    if (flags & DT_KV_NOOVERWRITE) mf |= MDB_NOOVERWRITE;
    if (flags & DT_KV_NODUPDATA) mf |= MDB_NODUPDATA;
    if (flags & DT_KV_APPEND) mf |= s->dupsort ? MDB_APPENDDUP : MDB_APPEND;
    return mf;
}

/* Puts in `t` (checked); the shared tail of dt_kv_put and batches. */
static int put_in(dt_kv *kv, dt_kv_txn *t, const kv_slot *s, const void *key, size_t klen,
                  const void *val, size_t vlen, unsigned flags) {
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_put(t->mdb, s->dbi, &k, &v, put_mflags(s, flags));
    if (mrc == MDB_SUCCESS) return DT_OK;
    dt_kv_txn *rec = t->user ? t : NULL;
    if (mrc == MDB_KEYEXIST) {
        if (flags & DT_KV_APPEND)
            return kv_err(
                kv, rec, DT_INVALID,
                "kv put dbi '%s': APPEND of a key of %zu bytes that does not sort after the "
                "last one",
                s->name, klen);
        return kv_err(kv, rec, DT_CONFLICT, "kv put dbi '%s': the %s exists (%s)", s->name,
                      (flags & DT_KV_NODUPDATA) ? "key/value pair" : "key",
                      (flags & DT_KV_NODUPDATA) ? "NODUPDATA" : "NOOVERWRITE");
    }
    char what[300];
    snprintf(what, sizeof what, "kv put dbi '%s' (key %zu bytes, value %zu bytes)", s->name, klen,
             vlen);
    return txn_fail(t, mrc, what);
}

static int del_in(dt_kv *kv, dt_kv_txn *t, const kv_slot *s, const void *key, size_t klen,
                  const void *val, size_t vlen) {
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int mrc = mdb_del(t->mdb, s->dbi, &k, (val && s->dupsort) ? &v : NULL);
    if (mrc == MDB_SUCCESS) return DT_OK;
    if (mrc == MDB_NOTFOUND)
        return kv_err(kv, t->user ? t : NULL, DT_NOTFOUND,
                      "kv del dbi '%s': no such %s (key %zu bytes)", s->name,
                      (val && s->dupsort) ? "key/value pair" : "key", klen);
    char what[300];
    snprintf(what, sizeof what, "kv del dbi '%s' (key %zu bytes)", s->name, klen);
    return txn_fail(t, mrc, what);
}

typedef struct put_args {
    const kv_slot *s;
    const void *key, *val;
    size_t klen, vlen;
    unsigned flags;
    int del;
} put_args;

static int put_body(dt_kv_txn *t, void *arg) {
    put_args *a = arg;
    if (a->del) return del_in(t->kv, t, a->s, a->key, a->klen, a->val, a->vlen);
    return put_in(t->kv, t, a->s, a->key, a->klen, a->val, a->vlen, a->flags);
}

int dt_kv_put(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen, unsigned flags) {
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = slot_for_write(kv, txn, dbi, "put");
    if (!s) return DT_MISUSE;
    if (flags & ~KV_PUT_FLAGS)
        return kv_err(kv, txn, DT_INVALID, "kv put: flags 0x%x are not put flags: %s",
                      flags & ~KV_PUT_FLAGS, dt__flags_group(flags & ~KV_PUT_FLAGS));
    if ((rc = check_key(kv, txn, s, key, klen, "put")) != DT_OK) return rc;
    if ((rc = check_val(kv, txn, s, val, vlen, "put")) != DT_OK) return rc;
    if (txn) {
        if ((rc = write_check(kv, txn, "kv put")) != DT_OK) return rc;
        return put_in(kv, txn, s, key, klen, val, vlen, flags);
    }
    put_args a = {s, key, val, klen, vlen, flags, 0};
    return auto_write(kv, put_body, &a, 0);
}

int dt_kv_del(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const void *key, size_t klen,
              const void *val, size_t vlen) {
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = slot_for_write(kv, txn, dbi, "del");
    if (!s) return DT_MISUSE;
    if ((rc = check_key(kv, txn, s, key, klen, "del")) != DT_OK) return rc;
    if (val && (rc = check_val(kv, txn, s, val, vlen, "del")) != DT_OK) return rc;
    if (txn) {
        if ((rc = write_check(kv, txn, "kv del")) != DT_OK) return rc;
        return del_in(kv, txn, s, key, klen, val, vlen);
    }
    put_args a = {s, key, val, klen, vlen, 0, 1};
    return auto_write(kv, put_body, &a, 0);
}

typedef struct batch_args {
    const dt_kv_op *ops;
    size_t n;
} batch_args;

static int batch_body(dt_kv_txn *t, void *arg) {
    batch_args *a = arg;
    dt_kv *kv = t->kv;
    dt_kv_txn *rec = t->user ? t : NULL;
    for (size_t i = 0; i < a->n; i++) {
        const dt_kv_op *op = &a->ops[i];
        int rc;
        kv_slot *s = slot_for_write(kv, rec, op->dbi, "batch");
        if (!s)
            rc = DT_MISUSE;
        else if (op->type == DT_KV_OP_PUT) {
            if (op->flags & ~KV_PUT_FLAGS)
                rc = kv_err(kv, rec, DT_INVALID, "kv put: flags 0x%x are not put flags: %s",
                            op->flags & ~KV_PUT_FLAGS, dt__flags_group(op->flags & ~KV_PUT_FLAGS));
            else if ((rc = check_key(kv, rec, s, op->key.ptr, op->key.len, "put")) == DT_OK &&
                     (rc = check_val(kv, rec, s, op->val.ptr, op->val.len, "put")) == DT_OK)
                rc =
                    put_in(kv, t, s, op->key.ptr, op->key.len, op->val.ptr, op->val.len, op->flags);
        } else if (op->type == DT_KV_OP_DEL) {
            if ((rc = check_key(kv, rec, s, op->key.ptr, op->key.len, "del")) == DT_OK) {
                rc = del_in(kv, t, s, op->key.ptr, op->key.len, op->val.ptr, op->val.len);
                if (rc == DT_NOTFOUND) rc = DT_OK;
            }
        } else {
            rc = kv_err(kv, rec, DT_INVALID, "kv batch: unknown op type %d", (int)op->type);
        }
        if (rc != DT_OK) {
            if (rc == DT_MAPFULL_RETRY) return rc;
            char msg[DT__ERRMSG_MAX];
            snprintf(msg, sizeof msg, "%s", dt_errmsg(kv));
            return kv_err(kv, rec, rc, "kv batch op %zu of %zu: %s", i, a->n, msg);
        }
    }
    return DT_OK;
}

int dt_kv_batch(dt_kv *kv, dt_kv_txn *txn, const dt_kv_op *ops, size_t n) {
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    if (!ops && n) return kv_err(kv, txn, DT_MISUSE, "kv batch: NULL ops");
    batch_args a = {ops, n};
    if (txn) {
        if ((rc = write_check(kv, txn, "kv batch")) != DT_OK) return rc;
        return batch_body(txn, &a);
    }
    if (n == 0) return DT_OK;
    return auto_write(kv, batch_body, &a, 0);
}

/* }====== */

/* {====== Copy and statistics ====== */

int dt_kv_copy(dt_kv *kv, const char *dest_dir, int compact) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (!dest_dir || !*dest_dir)
        return kv_err(kv, NULL, DT_MISUSE, "kv copy: NULL or empty destination");
    if (kv_thread_writes(kv))
        return kv_err(kv, NULL, DT_MISUSE,
                      "kv copy: this thread has a write transaction open (would deadlock)");
    if (mkdir(dest_dir, 0777) != 0 && errno != EEXIST)
        return kv_err(kv, NULL, DT_IO, "kv copy to '%s': cannot create the directory: %s", dest_dir,
                      strerror(errno));
    gate_enter(kv);
    int mrc = mdb_env_copy2(kv->env, dest_dir, compact ? MDB_CP_COMPACT : 0);
    gate_leave(kv);
    if (mrc != MDB_SUCCESS) {
        rc = kv_translate(mrc);
        if (rc != DT_NOMEM) rc = DT_IO;
        return kv_err(kv, NULL, rc, "kv copy '%s' to '%s'%s: %s", kv->path, dest_dir,
                      compact ? " (compact)" : "", io_reason(dest_dir, mrc, (char[160]){0}, 160));
    }
    return DT_OK;
}

static int count_reader(const char *msg, void *ctx) {
    int *n = ctx;
    if (strncmp(msg, "(no active readers)", 19) != 0) (*n)++;
    return 0;
}

int dt_kv_stat(dt_kv *kv, dt_kv_envstat *out) {
    int rc = check_kv(kv);
    if (rc != DT_OK) return rc;
    if (!out) return kv_err(kv, NULL, DT_MISUSE, "kv stat: NULL out");
    memset(out, 0, sizeof *out);
    MDB_envinfo info;
    MDB_stat st;
    int readers = 0;
    gate_enter(kv);
    int mrc = mdb_env_info(kv->env, &info);
    if (mrc == MDB_SUCCESS) mrc = mdb_env_stat(kv->env, &st);
    if (mrc == MDB_SUCCESS) mdb_reader_list(kv->env, count_reader, &readers);
    gate_leave(kv);
    if (mrc != MDB_SUCCESS)
        return kv_err(kv, NULL, kv_translate(mrc), "kv stat '%s': %s", kv->path, mdb_strerror(mrc));
    out->map_size = info.me_mapsize;
    out->max_map_size = kv->max_map_size;
    out->page_size = st.ms_psize;
    out->last_page = info.me_last_pgno;
    out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    out->map_use = info.me_mapsize ? (double)out->used_bytes / (double)info.me_mapsize : 0.0;
    out->last_txn_id = info.me_last_txnid;
    out->max_readers = info.me_maxreaders;
    out->num_readers = readers > 0 ? (unsigned)(readers - 1) : 0; /* minus the header line */
    pthread_mutex_lock(&kv->dbi_mu);
    out->num_dbis = kv->nopen;
    pthread_mutex_unlock(&kv->dbi_mu);
    return DT_OK;
}

int dt_kv_dbi_stat(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, dt_kv_dbistat *out) {
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (!s) return DT_MISUSE;
    if (!out) return kv_err(kv, txn, DT_MISUSE, "kv dbi_stat: NULL out");
    memset(out, 0, sizeof *out);
    dt_kv_txn *use;
    if ((rc = kv_read_begin(kv, txn, &use)) != DT_OK) return rc;
    MDB_stat st;
    int mrc = mdb_stat(use->mdb, s->dbi, &st);
    kv_read_end(kv, txn, use);
    if (mrc != MDB_SUCCESS)
        return kv_err(kv, txn, kv_translate(mrc), "kv dbi_stat '%s': %s", s->name,
                      mdb_strerror(mrc));
    out->entries = st.ms_entries;
    out->depth = st.ms_depth;
    out->branch_pages = st.ms_branch_pages;
    out->leaf_pages = st.ms_leaf_pages;
    out->overflow_pages = st.ms_overflow_pages;
    out->page_size = st.ms_psize;
    return DT_OK;
}

/* }====== */

/* {====== Cursors (kv.h) ====== */

int kv_cursor_open(dt_kv_txn *txn, dt_kv_dbi dbi, kv_cursor **out) {
    if (out) *out = NULL;
    int rc = check_txn(txn);
    if (rc != DT_OK) return rc;
    dt_kv *kv = txn->kv;
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (!s) return DT_MISUSE;
    if (!out) return kv_err(kv, txn, DT_MISUSE, "kv cursor_open: NULL out");
    if ((rc = read_check(kv, txn)) != DT_OK) return rc;
    kv_cursor *c = dt__calloc(1, sizeof *c);
    if (!c) return kv_err(kv, txn, DT_NOMEM, "kv cursor_open: out of memory");
    int mrc = mdb_cursor_open(txn->mdb, s->dbi, &c->mc);
    if (mrc != MDB_SUCCESS) {
        dt__free(c);
        return kv_err(kv, txn, kv_translate(mrc), "kv cursor_open dbi '%s': %s", s->name,
                      mdb_strerror(mrc));
    }
    c->dupsort = s->dupsort;
    kv_cursor_link(txn, c);
    *out = c;
    return DT_OK;
}

void kv_cursor_close(kv_cursor *c) {
    if (!c) return;
    if (c->txn && c->mc && c->txn->root->mdb) mdb_cursor_close(c->mc);
    kv_cursor_unlink(c);
    c->mc = NULL;
    if (!c->embedded) dt__free(c);
}

static const MDB_cursor_op cursor_ops[] = {
    [KV_FIRST] = MDB_FIRST,
    [KV_LAST] = MDB_LAST,
    [KV_NEXT] = MDB_NEXT,
    [KV_PREV] = MDB_PREV,
    [KV_NEXT_NODUP] = MDB_NEXT_NODUP,
    [KV_PREV_NODUP] = MDB_PREV_NODUP,
    [KV_NEXT_DUP] = MDB_NEXT_DUP,
    [KV_PREV_DUP] = MDB_PREV_DUP,
    [KV_FIRST_DUP] = MDB_FIRST_DUP,
    [KV_LAST_DUP] = MDB_LAST_DUP,
    [KV_SET] = MDB_SET_KEY,
    [KV_SET_RANGE] = MDB_SET_RANGE,
    [KV_GET_BOTH] = MDB_GET_BOTH,
    [KV_GET_BOTH_RANGE] = MDB_GET_BOTH_RANGE,
    [KV_GET_CURRENT] = MDB_GET_CURRENT,
};

static int cursor_live(kv_cursor *c) {
    return c && c->txn && c->mc && c->txn->root->mdb && !c->txn->root->failed;
}

/* The code for an operation on a cursor that is not live. */
static int cursor_err(kv_cursor *c) {
    if (c && c->txn && c->txn->root->failed) return c->txn->root->failed;
    if (c && c->txn) return kv_cursor_dead(c->txn->kv);
    return DT_MISUSE;
}

int kv_cursor_get(kv_cursor *c, dt_kv_bytes *key, dt_kv_bytes *val, kv_cursor_op op) {
    if (!cursor_live(c)) return cursor_err(c);
    dt_kv *kv = c->txn->kv;
    if ((unsigned)op > KV_GET_CURRENT)
        return kv_err(kv, c->txn, DT_INVALID, "kv cursor_get: bad op %d", (int)op);
    MDB_val k = {0, NULL}, v = {0, NULL};
    if (key) {
        k.mv_size = key->len;
        k.mv_data = (void *)key->ptr;
    }
    if (val) {
        v.mv_size = val->len;
        v.mv_data = (void *)val->ptr;
    }
    if ((op == KV_SET || op == KV_SET_RANGE || op == KV_GET_BOTH || op == KV_GET_BOTH_RANGE) &&
        (k.mv_size == 0 || k.mv_size > kv->max_key))
        return kv_err(kv, c->txn, DT_INVALID,
                      "kv cursor_get: key of %zu bytes (keys are 1 to %u bytes)", k.mv_size,
                      kv->max_key);
    int mrc = mdb_cursor_get(c->mc, &k, &v, cursor_ops[op]);
    if (mrc == MDB_NOTFOUND) return DT_NOTFOUND;
    if (mrc != MDB_SUCCESS)
        return kv_err(kv, c->txn, kv_translate(mrc), "kv cursor_get: %s", mdb_strerror(mrc));
    if (key) {
        key->ptr = k.mv_data;
        key->len = k.mv_size;
    }
    if (val) {
        val->ptr = v.mv_data;
        val->len = v.mv_size;
    }
    return DT_OK;
}

int kv_cursor_next_batch(kv_cursor *c, dt_kv_entry *out, size_t max, size_t *n) {
    *n = 0;
    if (!cursor_live(c)) return cursor_err(c);
    if (max == 0) return kv_err(c->txn->kv, c->txn, DT_MISUSE, "kv cursor_next_batch: max 0");
    MDB_cursor *mc = c->mc;
    size_t i = 0;
    for (; i < max; i++) {
        MDB_val k, v;
        int mrc = mdb_cursor_get(mc, &k, &v, MDB_NEXT);
        if (mrc == MDB_NOTFOUND) break;
        if (mrc != MDB_SUCCESS) {
            *n = i;
            return kv_err(c->txn->kv, c->txn, kv_translate(mrc), "kv cursor_next_batch: %s",
                          mdb_strerror(mrc));
        }
        out[i].key.ptr = k.mv_data;
        out[i].key.len = k.mv_size;
        out[i].val.ptr = v.mv_data;
        out[i].val.len = v.mv_size;
    }
    *n = i;
    return i ? DT_OK : DT_NOTFOUND;
}

int kv_cursor_put(kv_cursor *c, const dt_kv_bytes *key, const dt_kv_bytes *val, unsigned flags) {
    if (!cursor_live(c)) return cursor_err(c);
    dt_kv_txn *t = c->txn;
    dt_kv *kv = t->kv;
    if (t->rdonly) return kv_err(kv, t, DT_MISUSE, "kv cursor_put: read-only transaction");
    if (!key || !val) return kv_err(kv, t, DT_MISUSE, "kv cursor_put: NULL key or value");
    if (key->len == 0 || key->len > kv->max_key)
        return kv_err(kv, t, DT_INVALID, "kv cursor_put: key of %zu bytes (keys are 1 to %u bytes)",
                      key->len, kv->max_key);
    unsigned mf = 0;
    if (flags & DT_KV_NOOVERWRITE) mf |= MDB_NOOVERWRITE;
    if (flags & DT_KV_NODUPDATA) mf |= MDB_NODUPDATA;
    if (flags & DT_KV_APPEND) mf |= c->dupsort ? MDB_APPENDDUP : MDB_APPEND;
    MDB_val k = {key->len, (void *)key->ptr}, v = {val->len, (void *)val->ptr};
    int mrc = mdb_cursor_put(c->mc, &k, &v, mf);
    if (mrc == MDB_SUCCESS) return DT_OK;
    if (mrc == MDB_KEYEXIST)
        return kv_err(kv, t, (flags & DT_KV_APPEND) ? DT_INVALID : DT_CONFLICT, "kv cursor_put: %s",
                      (flags & DT_KV_APPEND) ? "APPEND out of order" : "exists");
    return txn_fail(t, mrc, "kv cursor_put");
}

int kv_cursor_del(kv_cursor *c, int all_dups) {
    if (!cursor_live(c)) return cursor_err(c);
    dt_kv_txn *t = c->txn;
    if (t->rdonly) return kv_err(t->kv, t, DT_MISUSE, "kv cursor_del: read-only transaction");
    int mrc = mdb_cursor_del(c->mc, (all_dups && c->dupsort) ? MDB_NODUPDATA : 0);
    if (mrc == MDB_SUCCESS) return DT_OK;
    return txn_fail(t, mrc, "kv cursor_del");
}

int kv_cursor_count(kv_cursor *c, size_t *out) {
    if (!cursor_live(c)) return DT_MISUSE;
    if (!c->dupsort) {
        *out = 1;
        return DT_OK;
    }
    size_t n = 0;
    int mrc = mdb_cursor_count(c->mc, &n);
    if (mrc != MDB_SUCCESS)
        return kv_err(c->txn->kv, c->txn, kv_translate(mrc), "kv cursor_count: %s",
                      mdb_strerror(mrc));
    *out = (size_t)n;
    return DT_OK;
}

/* }====== */
