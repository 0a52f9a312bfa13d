/*
 * extsort.c -- external merge sort of byte records for bulk loading
 * (txn layer).  See extsort.h.
 *
 * In memory, records live back to back in one arena as
 * [u16 klen][u32 vlen][key][value].  What is sorted is an array of small
 * entries, each holding the next 8 key bytes as a big-endian integer (the
 * "chunk"), how many of them are real (0..8) and the record's arena offset:
 * sorting compares integers only and never touches the arena.  Runs of
 * entries whose chunks tie with all 8 bytes real are then re-sorted on the
 * following 8 key bytes (an MSD radix sort with 8-byte digits, each digit
 * sorted by comparison).  Offsets grow with insertion, so they break the
 * remaining ties in insertion order.  A run file holds the records in
 * sorted order.  The merge keeps one buffered reader per run in a binary
 * min-heap keyed by the current record (ties by run number, so equal keys
 * come out in insertion order).  A finished sorter can be read again from
 * the start (txn_sorter_rewind) or from a marked position
 * (txn_sorter_mark: the file offset of each run's next unread record):
 * runs stay on disk until it is freed.
 *
 * Two cores: while the caller fills one buffer, a worker thread sorts the
 * previous full one and writes it as a run (each buffer holds half the
 * budget), so parsing and sorting overlap.  Run files are written and read
 * in blocks with plain write/pread (no stdio locking per record); a merge
 * reader points into its block, so most records are never copied.
 */
#include "extsort.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

#define REC_HDR       6
#define MIN_BUDGET    ((size_t)1 << 20)
#define RUN_WRITE_BUF ((size_t)1 << 20) /* bytes a run is written in */
#define RUN_BLOCK     ((size_t)1 << 17) /* bytes a merge reader reads at once */

/*
 * A sort entry: `chunk` is key bytes [depth, depth+8) big-endian, zero
 * padded; `meta` is (number of real bytes in the chunk) << 56 | arena
 * offset.  Comparing (chunk, meta) as one 128-bit number orders by the
 * bytes, then puts a key that ended first (a prefix) first, then by
 * insertion.
 */
typedef struct sort_ent {
    uint64_t chunk;
    uint64_t meta;
} sort_ent;

#define ENT_OFF_MASK (((uint64_t)1 << 56) - 1)
#define ENT_LEN(m)   ((unsigned)((m) >> 56))
/* Beyond this depth, ties are finished with plain record comparisons. */
#define MAX_RADIX_DEPTH 512

/* A merge reader: blk[pos..len) are read-ahead bytes of the run whose
 * file offset is boff + pos; `cur` is the current record (in blk). */
typedef struct run_reader {
    int fd;
    uint8_t *blk;
    size_t cap, len, pos;
    long long boff;
    const uint8_t *cur;
    size_t curlen;
    long long curoff; /* file offset of cur */
    int has;          /* cur is read ahead and not yet returned */
    int eof;
    size_t id;
} run_reader;

/* One in-memory buffer: records back to back in `arena`, sort entries. */
typedef struct sort_buf {
    dt_buf arena;
    sort_ent *offs;
    size_t noffs, capoffs;
} sort_buf;

struct txn_sorter {
    size_t budget; /* per buffer: half the caller's budget */
    char *tmpdir;
    sort_buf b;     /* the buffer being filled */
    sort_buf spare; /* the buffer the worker sorts and writes */
    uint64_t count;
    int finished;
    /* runs: file descriptors, in the order they were started */
    int *runs;
    size_t nruns, caprun;
    /* the spill worker */
    pthread_t worker;
    int worker_on;
    int wfd;
    int wrc;
    char werr[DT__ERRMSG_MAX];
    /* merge state */
    run_reader *readers;
    size_t *heap;
    size_t nheap;
    size_t mem_pos; /* when everything fit in memory: next offset index */
    int in_memory;
    /* txn_sorter_mark: mem_pos, or per run the offset of its next unread
     * record (-1: the run was exhausted) */
    size_t mark_pos;
    long long *mark_offs;
    int marked;
};

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int rec_cmp(const uint8_t *a, const uint8_t *b) {
    size_t ka = rd16(a), kb = rd16(b);
    size_t n = ka < kb ? ka : kb;
    int c = n ? memcmp(a + REC_HDR, b + REC_HDR, n) : 0;
    if (c) return c;
    return (ka > kb) - (ka < kb);
}

int txn_sorter_new(size_t mem_budget, const char *tmpdir, txn_sorter **out) {
    *out = NULL;
    txn_sorter *s = dt__calloc(1, sizeof *s);
    if (!s) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    s->budget = (mem_budget < MIN_BUDGET ? MIN_BUDGET : mem_budget) / 2;
    if (!tmpdir || !*tmpdir) tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    s->tmpdir = dt__strndup(tmpdir, strlen(tmpdir));
    if (!s->tmpdir) {
        dt__free(s);
        return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    }
    *out = s;
    return DT_OK;
}

/* The chunk of key[0..klen) at `depth` and its real length. */
static inline void load_chunk(const uint8_t *key, size_t klen, size_t depth, sort_ent *e,
                              uint64_t off) {
    size_t n = klen > depth ? klen - depth : 0;
    if (n > 8) n = 8;
    uint64_t c = 0;
    const uint8_t *p = key + depth;
    for (size_t i = 0; i < 8; i++) c = c << 8 | (i < n ? p[i] : 0);
    e->chunk = c;
    e->meta = (uint64_t)n << 56 | off;
}

static inline int ent_less(const sort_ent *a, const sort_ent *b) {
    return a->chunk < b->chunk || (a->chunk == b->chunk && a->meta < b->meta);
}

static void ent_swap(sort_ent *a, sort_ent *b) {
    sort_ent t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(sort_ent *v, size_t n) {
    for (size_t i = 1; i < n; i++) {
        sort_ent x = v[i];
        size_t j = i;
        while (j > 0 && ent_less(&x, &v[j - 1])) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void sift_down(sort_ent *v, size_t i, size_t n) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && ent_less(&v[m], &v[l])) m = l;
        if (l + 1 < n && ent_less(&v[m], &v[l + 1])) m = l + 1;
        if (m == i) return;
        ent_swap(&v[i], &v[m]);
        i = m;
    }
}

static void heap_sort(sort_ent *v, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift_down(v, i, n);
    for (size_t i = n; i-- > 1;) {
        ent_swap(&v[0], &v[i]);
        sift_down(v, 0, i);
    }
}

/* Introsort: quicksort (median of three), heap sort past a depth limit,
 * insertion sort for small ranges.  Entries are distinct (offsets differ). */
static void intro_sort(sort_ent *v, size_t n, int limit) {
    while (n > 16) {
        if (limit-- == 0) {
            heap_sort(v, n);
            return;
        }
        size_t mid = n / 2;
        if (ent_less(&v[mid], &v[0])) ent_swap(&v[mid], &v[0]);
        if (ent_less(&v[n - 1], &v[0])) ent_swap(&v[n - 1], &v[0]);
        if (ent_less(&v[n - 1], &v[mid])) ent_swap(&v[n - 1], &v[mid]);
        sort_ent pivot = v[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (ent_less(&v[i], &pivot)) i++;
            while (ent_less(&pivot, &v[j])) j--;
            if (i >= j) break;
            ent_swap(&v[i], &v[j]);
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j+1, n): recurse into the smaller side */
        size_t left = j + 1;
        if (left < n - left) {
            intro_sort(v, left, limit);
            v += left;
            n -= left;
        } else {
            intro_sort(v + left, n - left, limit);
            n = left;
        }
    }
    insertion_sort(v, n);
}

static void sort_ents(sort_ent *v, size_t n) {
    int limit = 0;
    for (size_t k = n; k > 1; k >>= 1) limit += 2;
    intro_sort(v, n, limit);
}

/* qsort has no context argument: the arena base for the deep fallback. */
static _Thread_local const uint8_t *sort_base;

static int full_cmp(const void *x, const void *y) {
    uint64_t a = ((const sort_ent *)x)->meta & ENT_OFF_MASK;
    uint64_t b = ((const sort_ent *)y)->meta & ENT_OFF_MASK;
    int c = rec_cmp(sort_base + a, sort_base + b);
    return c ? c : (a > b) - (a < b);
}

/* v[0..n) is sorted on the chunks at `depth`: re-sorts each run of equal,
 * complete chunks on the next 8 bytes. */
static void refine(const uint8_t *base, sort_ent *v, size_t n, size_t depth) {
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        if (ENT_LEN(v[i].meta) == 8)
            while (j < n && v[j].chunk == v[i].chunk && ENT_LEN(v[j].meta) == 8) j++;
        if (j - i > 1) {
            if (depth + 8 > MAX_RADIX_DEPTH) {
                sort_base = base;
                qsort(v + i, j - i, sizeof *v, full_cmp);
            } else {
                for (size_t k = i; k < j; k++) {
                    uint64_t off = v[k].meta & ENT_OFF_MASK;
                    const uint8_t *r = base + off;
                    load_chunk(r + REC_HDR, rd16(r), depth + 8, &v[k], off);
                }
                sort_ents(v + i, j - i);
                refine(base, v + i, j - i, depth + 8);
            }
        }
        i = j;
    }
}

static void sort_buffer(sort_buf *b) {
    if (b->noffs < 2) return;
    sort_ents(b->offs, b->noffs);
    refine(b->arena.p, b->offs, b->noffs, 0);
}

static size_t rec_size(const uint8_t *r) { return REC_HDR + rd16(r) + rd32(r + 2); }

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return DT_IO;
        p += w;
        n -= (size_t)w;
    }
    return DT_OK;
}

/* Sorts b and writes it to fd in blocks; empties b.  DT_OK / DT_IO /
 * DT_NOMEM with a message (on the calling thread). */
static int write_run(sort_buf *b, int fd) {
    sort_buffer(b);
    uint8_t *out = dt__malloc(RUN_WRITE_BUF);
    if (!out) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    size_t n = 0;
    int rc = DT_OK;
    for (size_t i = 0; i < b->noffs && rc == DT_OK; i++) {
        const uint8_t *r = b->arena.p + (b->offs[i].meta & ENT_OFF_MASK);
        size_t sz = rec_size(r);
        if (n + sz > RUN_WRITE_BUF) {
            rc = write_all(fd, out, n);
            n = 0;
        }
        if (rc != DT_OK) break;
        if (sz > RUN_WRITE_BUF)
            rc = write_all(fd, r, sz);
        else {
            memcpy(out + n, r, sz);
            n += sz;
        }
    }
    if (rc == DT_OK && n) rc = write_all(fd, out, n);
    dt__free(out);
    b->arena.len = 0;
    b->noffs = 0;
    if (rc != DT_OK)
        return dt__seterr(NULL, DT_IO, "sorter: writing a run file failed (%s)",
                          errno == ENOSPC ? "disk full" : strerror(errno));
    return DT_OK;
}

/* Creates an unlinked temporary file for the next run and records it. */
static int new_run(txn_sorter *s, int *fd_out) {
    if (s->nruns == s->caprun) {
        size_t cap = s->caprun ? s->caprun * 2 : 8;
        int *r = dt__realloc(s->runs, cap * sizeof *r);
        if (!r) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
        s->runs = r;
        s->caprun = cap;
    }
    size_t n = strlen(s->tmpdir) + 32;
    char *path = dt__malloc(n);
    if (!path) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    snprintf(path, n, "%s/dt-sort-XXXXXX", s->tmpdir);
    int fd = mkstemp(path);
    if (fd < 0) {
        int rc = dt__seterr(NULL, DT_IO, "sorter: cannot create a run file in %s", s->tmpdir);
        dt__free(path);
        return rc;
    }
    unlink(path); /* the open descriptor keeps it alive; nothing left behind */
    dt__free(path);
    s->runs[s->nruns++] = fd;
    *fd_out = fd;
    return DT_OK;
}

static void *spill_worker(void *arg) {
    txn_sorter *s = arg;
    s->wrc = write_run(&s->spare, s->wfd);
    if (s->wrc != DT_OK) snprintf(s->werr, sizeof s->werr, "%s", dt_errmsg(NULL));
    return NULL;
}

/* Waits for the worker; its error, if any, becomes the caller's. */
static int join_worker(txn_sorter *s) {
    if (!s->worker_on) return DT_OK;
    pthread_join(s->worker, NULL);
    s->worker_on = 0;
    if (s->wrc != DT_OK) return dt__seterr(NULL, s->wrc, "%s", s->werr);
    return DT_OK;
}

static void swap_bufs(txn_sorter *s) {
    sort_buf t = s->b;
    s->b = s->spare;
    s->spare = t;
}

/* Writes the filling buffer as a run: by the worker thread while the
 * caller fills the other buffer (sync: in this thread). */
static int spill(txn_sorter *s, int sync) {
    if (s->b.noffs == 0) return DT_OK;
    int rc = join_worker(s);
    int fd = -1;
    if (rc == DT_OK) rc = new_run(s, &fd);
    if (rc != DT_OK) return rc;
    if (!sync) {
        swap_bufs(s);
        s->wfd = fd;
        s->wrc = DT_OK;
        if (pthread_create(&s->worker, NULL, spill_worker, s) == 0) {
            s->worker_on = 1;
            return DT_OK;
        }
        swap_bufs(s); /* no thread: write it here */
    }
    return write_run(&s->b, fd);
}

int txn_sorter_add(txn_sorter *s, const void *key, size_t klen, const void *val, size_t vlen) {
    if (s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: add after finish");
    if (klen > 0xffff)
        return dt__seterr(NULL, DT_INVALID, "sorter: key of %zu bytes too long", klen);
    if (vlen > 0xffffffffu) return dt__seterr(NULL, DT_INVALID, "sorter: value too long");
    size_t need = REC_HDR + klen + vlen;
    sort_buf *b = &s->b;
    if (b->noffs && b->arena.len + need + (b->noffs + 1) * sizeof(sort_ent) > s->budget) {
        int rc = spill(s, 0);
        if (rc != DT_OK) return rc;
    }
    if (b->noffs == b->capoffs) {
        size_t cap = b->capoffs ? b->capoffs * 2 : 1024;
        sort_ent *o = dt__realloc(b->offs, cap * sizeof *o);
        if (!o) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
        b->offs = o;
        b->capoffs = cap;
    }
    if (dt_buf_reserve(&b->arena, need) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    uint8_t *p = b->arena.p + b->arena.len;
    p[0] = (uint8_t)(klen >> 8);
    p[1] = (uint8_t)klen;
    p[2] = (uint8_t)(vlen >> 24);
    p[3] = (uint8_t)(vlen >> 16);
    p[4] = (uint8_t)(vlen >> 8);
    p[5] = (uint8_t)vlen;
    if (klen) memcpy(p + REC_HDR, key, klen);
    if (vlen) memcpy(p + REC_HDR + klen, val, vlen);
    load_chunk(p + REC_HDR, klen, 0, &b->offs[b->noffs++], b->arena.len);
    b->arena.len += need;
    s->count++;
    return DT_OK;
}

/* Reads the next record of a run (into cur, pointing into the block);
 * sets eof at the end. */
static int reader_advance(run_reader *r) {
    r->curoff += (long long)r->curlen;
    r->curlen = 0;
    r->has = 0;
    for (;;) {
        size_t avail = r->len - r->pos;
        if (avail >= REC_HDR) {
            size_t sz = rec_size(r->blk + r->pos);
            if (avail >= sz) {
                r->cur = r->blk + r->pos;
                r->curlen = sz;
                r->pos += sz;
                r->has = 1;
                return DT_OK;
            }
            if (sz > r->cap) { /* a record larger than a block */
                uint8_t *nb = dt__realloc(r->blk, sz);
                if (!nb) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
                r->blk = nb;
                r->cap = sz;
            }
        }
        /* keep the partial record, read more after it */
        if (r->pos) {
            memmove(r->blk, r->blk + r->pos, avail);
            r->boff += (long long)r->pos;
            r->len = avail;
            r->pos = 0;
        }
        ssize_t got =
            pread(r->fd, r->blk + r->len, r->cap - r->len, (off_t)(r->boff + (long long)r->len));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            return dt__seterr(NULL, DT_IO, "sorter: reading a run file: %s", strerror(errno));
        if (got == 0) {
            if (avail == 0) {
                r->eof = 1;
                return DT_OK;
            }
            return dt__seterr(NULL, DT_CORRUPT, "sorter: run file truncated");
        }
        r->len += (size_t)got;
    }
}

static int heap_less(txn_sorter *s, size_t a, size_t b) {
    int c = rec_cmp(s->readers[a].cur, s->readers[b].cur);
    return c ? c < 0 : a < b;
}

static void heap_down(txn_sorter *s, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m])) m = l;
        if (r < s->nheap && heap_less(s, s->heap[r], s->heap[m])) m = r;
        if (m == i) return;
        size_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
}

/* Positions every run at offs[i] (NULL: at its start; -1: exhausted) and
 * builds the merge heap. */
static int merge_start(txn_sorter *s, const long long *offs) {
    s->nheap = 0;
    for (size_t i = 0; i < s->nruns; i++) {
        run_reader *r = &s->readers[i];
        r->fd = s->runs[i];
        r->id = i;
        r->eof = 0;
        r->has = 0;
        r->len = r->pos = 0;
        r->curlen = 0;
        long long off = offs ? offs[i] : 0;
        if (off < 0) {
            r->eof = 1;
            continue;
        }
        r->boff = r->curoff = off;
        if (!r->blk) {
            r->blk = dt__malloc(RUN_BLOCK);
            if (!r->blk) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
            r->cap = RUN_BLOCK;
        }
        int rc = reader_advance(r);
        if (rc != DT_OK) return rc;
        if (!r->eof) s->heap[s->nheap++] = i;
    }
    for (size_t i = s->nheap / 2; i-- > 0;) heap_down(s, i);
    return DT_OK;
}

static void buf_release(sort_buf *b) {
    dt_buf_release(&b->arena);
    dt__free(b->offs);
    b->offs = NULL;
    b->noffs = b->capoffs = 0;
}

int txn_sorter_finish(txn_sorter *s) {
    if (s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: finished twice");
    s->finished = 1;
    int rc = join_worker(s);
    if (rc != DT_OK) return rc;
    buf_release(&s->spare);
    if (s->nruns == 0) {
        sort_buffer(&s->b);
        s->in_memory = 1;
        return DT_OK;
    }
    if ((rc = spill(s, 1)) != DT_OK) return rc;
    buf_release(&s->b);
    s->readers = dt__calloc(s->nruns, sizeof *s->readers);
    s->heap = dt__calloc(s->nruns, sizeof *s->heap);
    s->mark_offs = dt__calloc(s->nruns, sizeof *s->mark_offs);
    if (!s->readers || !s->heap || !s->mark_offs)
        return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    return merge_start(s, NULL);
}

typedef struct finish_arg {
    txn_sorter *s;
    int rc;
    char err[DT__ERRMSG_MAX];
} finish_arg;

static void *finish_thread(void *arg) {
    finish_arg *f = arg;
    f->rc = txn_sorter_finish(f->s);
    if (f->rc != DT_OK) snprintf(f->err, sizeof f->err, "%s", dt_errmsg(NULL));
    return NULL;
}

int txn_sorter_finish2(txn_sorter *a, txn_sorter *b) {
    finish_arg fb = {b, DT_OK, ""};
    pthread_t t;
    int threaded = pthread_create(&t, NULL, finish_thread, &fb) == 0;
    if (!threaded) finish_thread(&fb);
    int rc = txn_sorter_finish(a);
    char err[DT__ERRMSG_MAX];
    if (rc != DT_OK) snprintf(err, sizeof err, "%s", dt_errmsg(NULL));
    if (threaded) pthread_join(t, NULL);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "%s", err);
    if (fb.rc != DT_OK) return dt__seterr(NULL, fb.rc, "%s", fb.err);
    return DT_OK;
}

int txn_sorter_rewind(txn_sorter *s) {
    if (!s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: rewind before finish");
    if (s->in_memory) {
        s->mem_pos = 0;
        return DT_OK;
    }
    return merge_start(s, NULL);
}

int txn_sorter_mark(txn_sorter *s) {
    if (!s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: mark before finish");
    s->marked = 1;
    if (s->in_memory) {
        s->mark_pos = s->mem_pos;
        return DT_OK;
    }
    /* A reader holds its current record read ahead (has) unless it was
     * just returned: the next unread one is that record or the one after. */
    for (size_t i = 0; i < s->nruns; i++) {
        run_reader *r = &s->readers[i];
        if (r->eof) {
            s->mark_offs[i] = -1;
            continue;
        }
        s->mark_offs[i] = r->has ? r->curoff : r->curoff + (long long)r->curlen;
    }
    return DT_OK;
}

int txn_sorter_to_mark(txn_sorter *s) {
    if (!s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: to_mark before finish");
    if (!s->marked) return txn_sorter_rewind(s);
    if (s->in_memory) {
        s->mem_pos = s->mark_pos;
        return DT_OK;
    }
    return merge_start(s, s->mark_offs);
}

int txn_sorter_next(txn_sorter *s, const uint8_t **key, size_t *klen, const uint8_t **val,
                    size_t *vlen) {
    if (!s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: next before finish");
    const uint8_t *r;
    if (s->in_memory) {
        if (s->mem_pos >= s->b.noffs) return DT_DONE;
        r = s->b.arena.p + (s->b.offs[s->mem_pos++].meta & ENT_OFF_MASK);
    } else {
        /* The previous top was consumed: advance it and restore the heap. */
        if (s->nheap == 0) return DT_DONE;
        run_reader *top = &s->readers[s->heap[0]];
        if (!top->has) { /* consumed last time */
            int rc = reader_advance(top);
            if (rc != DT_OK) return rc;
            if (top->eof) {
                s->heap[0] = s->heap[--s->nheap];
                if (s->nheap == 0) return DT_DONE;
            }
            heap_down(s, 0);
            top = &s->readers[s->heap[0]];
        }
        r = top->cur;
        /* mark consumed; the bytes stay valid until the next call */
        top->has = 0;
    }
    *klen = rd16(r);
    *vlen = rd32(r + 2);
    *key = r + REC_HDR;
    *val = r + REC_HDR + *klen;
    return DT_ROW;
}

uint64_t txn_sorter_count(const txn_sorter *s) { return s->count; }
size_t txn_sorter_runs(const txn_sorter *s) { return s->nruns; }

void txn_sorter_free(txn_sorter *s) {
    if (!s) return;
    if (s->worker_on) {
        pthread_join(s->worker, NULL);
        s->worker_on = 0;
    }
    for (size_t i = 0; i < s->nruns; i++) close(s->runs[i]);
    if (s->readers)
        for (size_t i = 0; i < s->nruns; i++) dt__free(s->readers[i].blk);
    dt__free(s->readers);
    dt__free(s->heap);
    dt__free(s->mark_offs);
    dt__free(s->runs);
    buf_release(&s->b);
    buf_release(&s->spare);
    dt__free(s->tmpdir);
    dt__free(s);
}
