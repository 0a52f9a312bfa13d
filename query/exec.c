/*
 * exec.c -- the shared machinery of one query execution (query layer):
 * the arena, binding tables, limits (deadline, row cap, cancellation) and
 * the column list both evaluators produce.  See exec.h.
 */
#include "exec.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coerce.h"
#include "db.h"
#include "host.h"
#include "value.h"

/* {====== Cancellation tokens ====== */

#define DT_MAGIC_CANCEL 0x6463616eu /* "dcan" */

struct dt_cancel {
    uint32_t magic;
    atomic_int flag;
};

int dt_cancel_new(dt_cancel **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_cancel_new: NULL out");
    dt_cancel *c = dt__calloc(1, sizeof *c);
    *out = c;
    if (!c) return dt__seterr(NULL, DT_NOMEM, "dt_cancel_new: out of memory");
    c->magic = DT_MAGIC_CANCEL;
    atomic_init(&c->flag, 0);
    return DT_OK;
}

void dt_cancel_trigger(dt_cancel *c) {
    if (c && c->magic == DT_MAGIC_CANCEL) atomic_store(&c->flag, 1);
}

void dt_cancel_reset(dt_cancel *c) {
    if (c && c->magic == DT_MAGIC_CANCEL) atomic_store(&c->flag, 0);
}

int dt_cancel_triggered(const dt_cancel *c) {
    return c && c->magic == DT_MAGIC_CANCEL && atomic_load(&((dt_cancel *)c)->flag) != 0;
}

void dt_cancel_free(dt_cancel *c) {
    if (!c || c->magic != DT_MAGIC_CANCEL) return;
    c->magic = DT_MAGIC_DEAD;
    dt__free(c);
}

/* }====== */

/* {====== Scratch memory ====== */

#if defined(__SANITIZE_ADDRESS__)
#define DQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DQ_ASAN 1
#endif
#endif
#ifdef DQ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* The header in front of every block: its capacity and the size asked
 * for (the bytes a reallocation copies). */
typedef struct mem_hdr {
    size_t cap, n;
} mem_hdr;
_Static_assert(sizeof(mem_hdr) == 16, "blocks stay 16-byte aligned");

#define MEM_SLOTS   8
#define MEM_MAX     ((size_t)8 << 20) /* bytes a thread keeps */
#define MEM_MAX_ONE ((size_t)4 << 20) /* larger blocks are never kept */

typedef struct mem_cache {
    mem_hdr *blk[MEM_SLOTS];
    size_t cap[MEM_SLOTS]; /* blk[i]'s capacity (its header is poisoned under ASan) */
    size_t n, bytes;
    int registered; /* the thread-exit destructor knows this cache */
} mem_cache;

static _Thread_local mem_cache tcache;
static pthread_key_t mem_key;
static pthread_once_t mem_once = PTHREAD_ONCE_INIT;
static int mem_key_ok;

static void mem_cache_drain(void *arg) {
    mem_cache *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        UNPOISON(c->blk[i], sizeof(mem_hdr) + c->cap[i]);
        dt__free(c->blk[i]);
    }
    c->n = c->bytes = 0;
}

static void mem_key_init(void) { mem_key_ok = pthread_key_create(&mem_key, mem_cache_drain) == 0; }

static size_t mem_round(size_t n) {
    if (n < DQ_MEM_CACHED) return n;
    size_t c = DQ_MEM_CACHED;
    while (c < n && c <= SIZE_MAX / 2) c *= 2;
    return c < n ? n : c;
}

static void mem_take(mem_cache *c, size_t i) {
    c->bytes -= c->cap[i];
    c->n--;
    c->blk[i] = c->blk[c->n];
    c->cap[i] = c->cap[c->n];
}

void *dq_mem_alloc(size_t n) {
    size_t cap = mem_round(n);
    mem_cache *c = &tcache;
    if (cap >= DQ_MEM_CACHED) {
        /* the smallest kept block that fits, if not much larger */
        size_t best = MEM_SLOTS;
        for (size_t i = 0; i < c->n; i++)
            if (c->cap[i] >= cap && c->cap[i] <= 4 * cap &&
                (best == MEM_SLOTS || c->cap[i] < c->cap[best]))
                best = i;
        if (best < MEM_SLOTS) {
            mem_hdr *h = c->blk[best];
            mem_take(c, best);
            UNPOISON(h, sizeof *h + n);
            h->n = n;
            return h + 1;
        }
    }
    if (cap > SIZE_MAX - sizeof(mem_hdr)) return NULL;
    mem_hdr *h = dt__malloc(sizeof *h + cap);
    if (!h) return NULL;
    h->cap = cap;
    h->n = n;
    POISON((unsigned char *)(h + 1) + n, cap - n);
    return h + 1;
}

static void mem_release(mem_hdr *h) {
    UNPOISON(h, sizeof *h + h->cap);
    dt__free(h);
}

void dq_mem_free(void *p) {
    if (!p) return;
    mem_hdr *h = (mem_hdr *)p - 1;
    mem_cache *c = &tcache;
    size_t cap = h->cap;
    if (cap < DQ_MEM_CACHED || cap > MEM_MAX_ONE) {
        mem_release(h);
        return;
    }
    if (!c->registered) {
        pthread_once(&mem_once, mem_key_init);
        if (!mem_key_ok || pthread_setspecific(mem_key, c) != 0) {
            mem_release(h);
            return;
        }
        c->registered = 1;
    }
    /* room: drop the smallest kept blocks while they are smaller than h */
    while (c->n && (c->n == MEM_SLOTS || c->bytes + cap > MEM_MAX)) {
        size_t s = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->cap[i] < c->cap[s]) s = i;
        if (c->cap[s] >= cap) {
            mem_release(h);
            return;
        }
        mem_hdr *old = c->blk[s];
        UNPOISON(old, sizeof *old + c->cap[s]);
        mem_take(c, s);
        dt__free(old);
    }
    c->blk[c->n] = h;
    c->cap[c->n++] = cap;
    c->bytes += cap;
    POISON(h, sizeof *h + cap);
}

void *dq_mem_realloc(void *p, size_t n) {
    if (!p) return dq_mem_alloc(n);
    mem_hdr *h = (mem_hdr *)p - 1;
    if (n <= h->cap) {
        if (n > h->n)
            UNPOISON((unsigned char *)p + h->n, n - h->n);
        else
            POISON((unsigned char *)p + n, h->n - n);
        h->n = n;
        return p;
    }
    void *q = dq_mem_alloc(n);
    if (!q) return NULL;
    memcpy(q, p, h->n);
    dq_mem_free(p);
    return q;
}

/* }====== */

/* {====== Arena ====== */

struct dq_arena_block {
    dq_arena_block *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

#define DQ_ARENA_MIN 8192

void *dq_arena_alloc(dq_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->cap - a->used < n) {
        size_t cap = a->cap ? a->cap * 2 : DQ_ARENA_MIN;
        if (cap > (1u << 20)) cap = 1u << 20;
        if (cap < n) cap = n;
        dq_arena_block *b = dq_mem_alloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->cap = cap;
        a->head = b;
        a->cap = cap;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    return p;
}

int dq_arena_copy_value(dq_arena *a, const dt_value *v, dt_value *out) {
    *out = *v;
    switch (v->type) {
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BIGINT:
    case DT_BIGDEC:
    case DT_BYTES: {
        char *p = dq_arena_alloc(a, v->u.s.len + 1);
        if (!p) return DT_NOMEM;
        if (v->u.s.len) memcpy(p, v->u.s.ptr, v->u.s.len);
        p[v->u.s.len] = '\0';
        out->u.s.ptr = p;
        return DT_OK;
    }
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED: {
        if (v->u.seq.n == 0) {
            out->u.seq.items = NULL;
            return DT_OK;
        }
        dt_value *items = dq_arena_alloc(a, v->u.seq.n * sizeof *items);
        if (!items) return DT_NOMEM;
        for (size_t i = 0; i < v->u.seq.n; i++) {
            int rc = dq_arena_copy_value(a, &v->u.seq.items[i], &items[i]);
            if (rc != DT_OK) return rc;
        }
        out->u.seq.items = items;
        return DT_OK;
    }
    default:
        return DT_OK;
    }
}

void dq_arena_release(dq_arena *a) {
    dq_arena_block *b = a->head;
    while (b) {
        dq_arena_block *next = b->next;
        dq_mem_free(b);
        b = next;
    }
    a->head = NULL;
    a->used = a->cap = 0;
}

void dq_arena_reset(dq_arena *a) {
    if (!a->head) return;
    dq_arena_block *b = a->head->next;
    while (b) {
        dq_arena_block *next = b->next;
        dq_mem_free(b);
        b = next;
    }
    a->head->next = NULL;
    a->used = 0;
}

/* }====== */

/* {====== Tables ====== */

int dq_table_init(dq_table *t, const dq_var *cols, size_t ncols) {
    memset(t, 0, sizeof *t);
    if (ncols) {
        t->cols = dt__malloc(ncols * sizeof *cols);
        if (!t->cols) return DT_NOMEM;
        memcpy(t->cols, cols, ncols * sizeof *cols);
    }
    t->ncols = ncols;
    return DT_OK;
}

int dq_table_add_row(dq_table *t, const dt_value *row) {
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        size_t w = t->ncols ? t->ncols : 1;
        dt_value *cells = dq_mem_realloc(t->cells, cap * w * sizeof *cells);
        if (!cells) return DT_NOMEM;
        t->cells = cells;
        t->cap = cap;
    }
    if (t->ncols) memcpy(t->cells + t->nrows * t->ncols, row, t->ncols * sizeof *row);
    t->nrows++;
    return DT_OK;
}

void dq_table_release(dq_table *t) {
    dt__free(t->cols);
    dq_mem_free(t->cells);
    memset(t, 0, sizeof *t);
}

/* }====== */

/* {====== Limits ====== */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int dq_exec_check(dq_exec *x) {
    if ((++x->ticks & 1023) != 0) return DT_OK;
    if (x->cancel && dt_cancel_triggered(x->cancel))
        return dt__seterr(NULL, DT_INTERRUPT, "query: cancelled");
    if (x->deadline_ns && now_ns() > x->deadline_ns)
        return dt__seterr(NULL, DT_TIMEOUT, "query: deadline passed (timeout)");
    return DT_OK;
}

int dq_exec_rows(dq_exec *x, uint64_t n) {
    if (x->max_rows && n > x->max_rows)
        return dt__seterr(NULL, DT_LIMIT,
                          "query: more than %llu rows in an intermediate result (row cap)",
                          (unsigned long long)x->max_rows);
    return DT_OK;
}

/* }====== */

/* {====== Columns ====== */

static int add_col(dq_var **cols, size_t *n, size_t *cap, dq_var v) {
    if (v == DQ_NOVAR) return DT_OK;
    for (size_t i = 0; i < *n; i++)
        if ((*cols)[i] == v) return DT_OK;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        dq_var *p = dt__realloc(*cols, nc * sizeof *p);
        if (!p) return DT_NOMEM;
        *cols = p;
        *cap = nc;
    }
    (*cols)[(*n)++] = v;
    return DT_OK;
}

int dq_find_columns(const dq_query *q, dq_var **cols, size_t *ncols) {
    dq_var *c = NULL;
    size_t n = 0, cap = 0;
    int rc = DT_OK;
    for (size_t i = 0; i < q->nfind && rc == DT_OK; i++) {
        const dq_find_elem *f = &q->find[i];
        if (f->kind == DQ_ELEM_AGG)
            for (size_t k = 0; k < f->nargs && rc == DT_OK; k++)
                if (f->args[k].kind == DQ_TERM_VAR) rc = add_col(&c, &n, &cap, f->args[k].id);
        if (rc == DT_OK) rc = add_col(&c, &n, &cap, f->var);
        if (rc == DT_OK && f->kind == DQ_ELEM_PULL) rc = add_col(&c, &n, &cap, f->pattern_var);
    }
    for (size_t i = 0; i < q->nwith && rc == DT_OK; i++) rc = add_col(&c, &n, &cap, q->with[i]);
    if (rc != DT_OK) {
        dt__free(c);
        return dt__seterr(NULL, DT_NOMEM, "query: out of memory");
    }
    *cols = c;
    *ncols = n;
    return DT_OK;
}

/* }====== */

/* {====== Host functions ====== */

void dq_db_set_host(dt_db *db, const dq_host *h) { dl_db_set_fnhost(db, h); }

const dq_host *dq_db_host(const dt_db *db) { return dl_db_fnhost(db); }

/* "acme/f in [(acme/f ?x)] at 1:20" for messages. */
static void where_of(const dq_clause *cl, char *out, size_t cap) {
    char form[256];
    dl_show(cl->form, form, sizeof form);
    if (cl->line)
        snprintf(out, cap, "%s at %d:%d%s", form, cl->line, cl->col,
                 cl->in_rules ? " of the rules" : "");
    else
        snprintf(out, cap, "%s", form);
}

int dq_exec_bind_fns(dq_exec *x, dt_db *db) {
    const dq_query *q = x->q;
    x->ufn = NULL;
    x->host = db ? dq_db_host(db) : NULL;
    if (!q->nufns) return DT_OK;
    if (!(x->ufn = dt__calloc(q->nufns, sizeof *x->ufn)))
        return dt__seterr(NULL, DT_NOMEM, "query: out of memory");
    for (size_t i = 0; i < q->nufns; i++) {
        const dq_ufn *u = &q->ufns[i];
        char where[400];
        where_of(u->first, where, sizeof where);
        if (!x->host)
            return dt__seterr(NULL, DT_INVALID,
                              "query: unknown function %s in %s: not a built-in, and the query "
                              "runs on no database of a connection that could register it",
                              u->name, where);
        dt__clearerr(NULL);
        int rc = x->host->find(x->host, u->name, u->len, &x->ufn[i]);
        if (rc == DT_NOTFOUND)
            return dt__seterr(NULL, DT_INVALID,
                              "query: unknown function %s in %s: not a built-in, and the "
                              "connection registers no query function of that name",
                              u->name, where);
        if (rc != DT_OK) {
            char inner[DT__ERRMSG_MAX];
            snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
            return dt__seterr(NULL, rc, "query: function %s in %s: %s", u->name, where, inner);
        }
    }
    return DT_OK;
}

int dq_call_user(dq_exec *x, const dq_clause *cl, const dt_value *args, size_t n, dt_value *out) {
    dt_value_nil(out);
    if (!x->ufn || cl->ufn < 0 || (size_t)cl->ufn >= x->q->nufns)
        return dt__seterr(NULL, DT_INTERNAL, "query: host function not resolved");
    dt__clearerr(NULL);
    int rc = x->host->call(x->host, x->ufn[cl->ufn], args, n, out);
    if (rc == DT_OK) return DT_OK;
    dt_value_free(out);
    char inner[DT__ERRMSG_MAX], where[400];
    snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
    where_of(cl, where, sizeof where);
    return dt__seterr(NULL, rc, "query: function %s in %s failed: %s", x->q->ufns[cl->ufn].name,
                      where, *inner ? inner : dt_errstr(rc));
}

/* }====== */

/* {====== Hashing values ====== */

static uint64_t bytes_hash(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

static inline dt_type hash_type(dt_type t) { return t == DT_REF ? DT_LONG : t; }

uint64_t dq_value_hash(const dt_value *v) {
    dt_type t = hash_type(v->type);
    switch (t) {
    case DT_LONG:
    case DT_INSTANT:
        return dq_mix64((uint64_t)v->u.i + (uint64_t)t * 0x9e3779b97f4a7c15ULL);
    case DT_BOOL:
        return dq_mix64((uint64_t)v->u.b + 77);
    case DT_DOUBLE: {
        uint64_t k = dl_double_key(v->u.d);
        return dq_mix64(k ^ 0x1234);
    }
    case DT_FLOAT:
        return dq_mix64(dl_float_key(v->u.f) ^ 0x4321);
    case DT_STRING:
    case DT_KEYWORD:
    case DT_SYMBOL:
    case DT_BIGINT:
    case DT_BIGDEC:
    case DT_BYTES:
        return bytes_hash(v->u.s.ptr, v->u.s.len) ^ (uint64_t)t;
    case DT_UUID:
        return bytes_hash(v->u.uuid, 16);
    case DT_CHAR:
        return dq_mix64(v->u.c + 991);
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
    case DT_MAP:
    case DT_TAGGED: {
        uint64_t h = (uint64_t)t * 31 + v->u.seq.n;
        for (size_t i = 0; i < v->u.seq.n; i++) h = dq_mix64(h ^ dq_value_hash(&v->u.seq.items[i]));
        return h;
    }
    default:
        return (uint64_t)t;
    }
}

/* }====== */
