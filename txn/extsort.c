/*
 * extsort.c -- external merge sort of byte records for bulk loading
 * (txn layer).  See extsort.h.
 *
 * In memory, records live back to back in one arena as
 * [u16 klen][u32 vlen][key][value]; an array of offsets is sorted.  A run
 * file holds the same encoding in sorted order.  The merge keeps one
 * buffered reader per run in a binary min-heap keyed by the current record
 * (ties by run number, so equal keys come out in insertion order).
 */
#include "extsort.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

#define REC_HDR 6
#define MIN_BUDGET ((size_t)1 << 20)

typedef struct run_reader {
    FILE *f;
    dt_buf rec; /* the current record, header included */
    int eof;
    size_t id;
} run_reader;

struct txn_sorter {
    size_t budget;
    char *tmpdir;
    dt_buf arena;
    size_t *offs;
    size_t noffs, capoffs;
    uint64_t count;
    int finished;
    /* runs */
    FILE **runs;
    size_t nruns, caprun;
    /* merge state */
    run_reader *readers;
    size_t *heap;
    size_t nheap;
    size_t mem_pos; /* when everything fit in memory: next offset index */
    int in_memory;
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
    s->budget = mem_budget < MIN_BUDGET ? MIN_BUDGET : mem_budget;
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

/* qsort has no context argument; the arena base is passed through this. */
static _Thread_local const uint8_t *sort_base;

static int off_cmp(const void *x, const void *y) {
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    int c = rec_cmp(sort_base + a, sort_base + b);
    if (c) return c;
    return (a > b) - (a < b); /* stable: insertion order */
}

static void sort_memory(txn_sorter *s) {
    sort_base = s->arena.p;
    qsort(s->offs, s->noffs, sizeof *s->offs, off_cmp);
}

static size_t rec_size(const uint8_t *r) { return REC_HDR + rd16(r) + rd32(r + 2); }

static int spill(txn_sorter *s) {
    if (s->noffs == 0) return DT_OK;
    sort_memory(s);
    if (s->nruns == s->caprun) {
        size_t cap = s->caprun ? s->caprun * 2 : 8;
        FILE **r = dt__realloc(s->runs, cap * sizeof *r);
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
    FILE *f = fdopen(fd, "w+b");
    if (!f) {
        close(fd);
        return dt__seterr(NULL, DT_IO, "sorter: cannot open a run file");
    }
    for (size_t i = 0; i < s->noffs; i++) {
        const uint8_t *r = s->arena.p + s->offs[i];
        if (fwrite(r, 1, rec_size(r), f) != rec_size(r)) {
            fclose(f);
            return dt__seterr(NULL, DT_IO, "sorter: writing a run file failed (disk full?)");
        }
    }
    if (fflush(f) != 0) {
        fclose(f);
        return dt__seterr(NULL, DT_IO, "sorter: writing a run file failed (disk full?)");
    }
    s->runs[s->nruns++] = f;
    s->arena.len = 0;
    s->noffs = 0;
    return DT_OK;
}

int txn_sorter_add(txn_sorter *s, const void *key, size_t klen, const void *val, size_t vlen) {
    if (s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: add after finish");
    if (klen > 0xffff) return dt__seterr(NULL, DT_INVALID, "sorter: key of %zu bytes too long", klen);
    if (vlen > 0xffffffffu) return dt__seterr(NULL, DT_INVALID, "sorter: value too long");
    size_t need = REC_HDR + klen + vlen;
    if (s->noffs && s->arena.len + need + s->noffs * sizeof(size_t) > s->budget) {
        int rc = spill(s);
        if (rc != DT_OK) return rc;
    }
    if (s->noffs == s->capoffs) {
        size_t cap = s->capoffs ? s->capoffs * 2 : 1024;
        size_t *o = dt__realloc(s->offs, cap * sizeof *o);
        if (!o) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
        s->offs = o;
        s->capoffs = cap;
    }
    if (dt_buf_reserve(&s->arena, need) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    uint8_t *p = s->arena.p + s->arena.len;
    p[0] = (uint8_t)(klen >> 8);
    p[1] = (uint8_t)klen;
    p[2] = (uint8_t)(vlen >> 24);
    p[3] = (uint8_t)(vlen >> 16);
    p[4] = (uint8_t)(vlen >> 8);
    p[5] = (uint8_t)vlen;
    if (klen) memcpy(p + REC_HDR, key, klen);
    if (vlen) memcpy(p + REC_HDR + klen, val, vlen);
    s->offs[s->noffs++] = s->arena.len;
    s->arena.len += need;
    s->count++;
    return DT_OK;
}

/* Reads the next record of a run into its buffer; sets eof at the end. */
static int reader_advance(run_reader *r) {
    uint8_t hdr[REC_HDR];
    size_t got = fread(hdr, 1, REC_HDR, r->f);
    if (got == 0 && feof(r->f)) {
        r->eof = 1;
        return DT_OK;
    }
    if (got != REC_HDR) return dt__seterr(NULL, DT_CORRUPT, "sorter: run file truncated");
    size_t body = (size_t)rd16(hdr) + rd32(hdr + 2);
    r->rec.len = 0;
    if (dt_buf_reserve(&r->rec, REC_HDR + body) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    memcpy(r->rec.p, hdr, REC_HDR);
    if (body && fread(r->rec.p + REC_HDR, 1, body, r->f) != body)
        return dt__seterr(NULL, DT_CORRUPT, "sorter: run file truncated");
    r->rec.len = REC_HDR + body;
    return DT_OK;
}

static int heap_less(txn_sorter *s, size_t a, size_t b) {
    int c = rec_cmp(s->readers[a].rec.p, s->readers[b].rec.p);
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

int txn_sorter_finish(txn_sorter *s) {
    if (s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: finished twice");
    s->finished = 1;
    if (s->nruns == 0) {
        sort_memory(s);
        s->in_memory = 1;
        return DT_OK;
    }
    int rc = spill(s);
    if (rc != DT_OK) return rc;
    dt_buf_release(&s->arena);
    dt__free(s->offs);
    s->offs = NULL;
    s->noffs = s->capoffs = 0;
    s->readers = dt__calloc(s->nruns, sizeof *s->readers);
    s->heap = dt__calloc(s->nruns, sizeof *s->heap);
    if (!s->readers || !s->heap) return dt__seterr(NULL, DT_NOMEM, "sorter: out of memory");
    for (size_t i = 0; i < s->nruns; i++) {
        run_reader *r = &s->readers[i];
        r->f = s->runs[i];
        r->id = i;
        rewind(r->f);
        if ((rc = reader_advance(r)) != DT_OK) return rc;
        if (!r->eof) s->heap[s->nheap++] = i;
    }
    for (size_t i = s->nheap / 2; i-- > 0;) heap_down(s, i);
    return DT_OK;
}

int txn_sorter_next(txn_sorter *s, const uint8_t **key, size_t *klen, const uint8_t **val,
                    size_t *vlen) {
    if (!s->finished) return dt__seterr(NULL, DT_MISUSE, "sorter: next before finish");
    const uint8_t *r;
    if (s->in_memory) {
        if (s->mem_pos >= s->noffs) return DT_DONE;
        r = s->arena.p + s->offs[s->mem_pos++];
    } else {
        /* The previous top was consumed: advance it and restore the heap. */
        if (s->nheap == 0) return DT_DONE;
        run_reader *top = &s->readers[s->heap[0]];
        if (top->rec.len == 0) { /* consumed last time */
            int rc = reader_advance(top);
            if (rc != DT_OK) return rc;
            if (top->eof) {
                s->heap[0] = s->heap[--s->nheap];
                if (s->nheap == 0) return DT_DONE;
            }
            heap_down(s, 0);
            top = &s->readers[s->heap[0]];
        }
        r = top->rec.p;
        /* mark consumed; the bytes stay valid until the next call */
        top->rec.len = 0;
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
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i]) fclose(s->runs[i]);
    if (s->readers)
        for (size_t i = 0; i < s->nruns; i++) dt_buf_release(&s->readers[i].rec);
    dt__free(s->readers);
    dt__free(s->heap);
    dt__free(s->runs);
    dt__free(s->offs);
    dt_buf_release(&s->arena);
    dt__free(s->tmpdir);
    dt__free(s);
}
