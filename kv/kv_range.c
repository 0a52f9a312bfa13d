/*
 * kv_range.c -- range reads of the KV store: iterators yielding zero-copy
 * views, and the range functions that copy into a dt_kv_list (kv layer).
 */
#include "kv_int.h"

#include <string.h>

/* {====== Range walking ====== */

/* A walk over one dbi between two bounds, in one direction. */
typedef struct kv_rit {
    MDB_cursor *mc;
    MDB_val lo, hi;
    dt_kv_bound lok, hik;
    int backward, keys_only, dupsort, started, done, check_end;
    size_t limit, count;
    MDB_cursor_op step;
} kv_rit;

/* memcmp order with a shorter prefix first: LMDB's default key order. */
static inline int key_cmp(const MDB_val *a, const MDB_val *b) {
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = n ? memcmp(a->mv_data, b->mv_data, n) : 0;
    if (c) return c;
    return (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

static int rit_init(kv_rit *r, dt_kv *kv, dt_kv_txn *rec, const dt_kv_range *range, int dupsort,
                    int keys_only) {
    static const dt_kv_range all = DT_KV_RANGE_ALL;
    if (!range) range = &all;
    memset(r, 0, sizeof *r);
    if ((unsigned)range->lo_bound > DT_KV_OPEN || (unsigned)range->hi_bound > DT_KV_OPEN)
        return kv_err(kv, rec, DT_INVALID, "kv range: bad bound kind (lo %d, hi %d)",
                      (int)range->lo_bound, (int)range->hi_bound);
    if ((range->lo_bound && !range->lo.ptr && range->lo.len) ||
        (range->hi_bound && !range->hi.ptr && range->hi.len))
        return kv_err(kv, rec, DT_MISUSE, "kv range: NULL bound bytes with a nonzero length");
    r->lok = range->lo_bound;
    r->hik = range->hi_bound;
    r->lo.mv_data = (void *)range->lo.ptr;
    r->lo.mv_size = range->lo.len;
    r->hi.mv_data = (void *)range->hi.ptr;
    r->hi.mv_size = range->hi.len;
    /* Every key is longer than "": an empty lower bound bounds nothing,
     * an empty upper bound admits nothing. */
    if (r->lok != DT_KV_UNBOUNDED && r->lo.mv_size == 0) r->lok = DT_KV_UNBOUNDED;
    if (r->hik != DT_KV_UNBOUNDED && r->hi.mv_size == 0) r->done = 1;
    r->backward = range->backward != 0;
    r->keys_only = keys_only;
    r->dupsort = dupsort;
    r->limit = range->limit;
    r->check_end = r->backward ? r->lok != DT_KV_UNBOUNDED : r->hik != DT_KV_UNBOUNDED;
    if (r->backward)
        r->step = keys_only ? MDB_PREV_NODUP : MDB_PREV;
    else
        r->step = keys_only ? MDB_NEXT_NODUP : MDB_NEXT;
    return DT_OK;
}

/* Positions on the first entry of the walk. */
static int rit_first(kv_rit *r, MDB_val *k, MDB_val *v) {
    int mrc;
    if (!r->backward) {
        if (r->lok == DT_KV_UNBOUNDED) return mdb_cursor_get(r->mc, k, v, MDB_FIRST);
        *k = r->lo;
        mrc = mdb_cursor_get(r->mc, k, v, MDB_SET_RANGE);
        if (mrc == MDB_SUCCESS && r->lok == DT_KV_OPEN && key_cmp(k, &r->lo) == 0)
            mrc = mdb_cursor_get(r->mc, k, v, MDB_NEXT_NODUP);
        return mrc;
    }
    if (r->hik == DT_KV_UNBOUNDED) return mdb_cursor_get(r->mc, k, v, MDB_LAST);
    *k = r->hi;
    mrc = mdb_cursor_get(r->mc, k, v, MDB_SET_RANGE);
    if (mrc == MDB_NOTFOUND) return mdb_cursor_get(r->mc, k, v, MDB_LAST);
    if (mrc != MDB_SUCCESS) return mrc;
    int c = key_cmp(k, &r->hi);
    if (c > 0 || (c == 0 && r->hik == DT_KV_OPEN))
        return mdb_cursor_get(r->mc, k, v, MDB_PREV_NODUP);
    if (r->dupsort && !r->keys_only) {
        MDB_val k2 = *k;
        mrc = mdb_cursor_get(r->mc, &k2, v, MDB_LAST_DUP);
    }
    return mrc;
}

/* The next entry of the walk: MDB_SUCCESS, MDB_NOTFOUND at the end, or an
 * LMDB error. */
static inline int rit_next(kv_rit *r, MDB_val *k, MDB_val *v) {
    if (r->done) return MDB_NOTFOUND;
    int mrc;
    if (r->started) {
        mrc = mdb_cursor_get(r->mc, k, v, r->step);
    } else {
        r->started = 1;
        mrc = rit_first(r, k, v);
    }
    if (mrc == MDB_SUCCESS && r->check_end) {
        int c = key_cmp(k, r->backward ? &r->lo : &r->hi);
        dt_kv_bound b = r->backward ? r->lok : r->hik;
        if (r->backward ? (b == DT_KV_CLOSED ? c < 0 : c <= 0)
                        : (b == DT_KV_CLOSED ? c > 0 : c >= 0))
            mrc = MDB_NOTFOUND;
    }
    if (mrc == MDB_SUCCESS && r->limit && r->count++ >= r->limit) mrc = MDB_NOTFOUND;
    if (mrc != MDB_SUCCESS) r->done = 1;
    return mrc;
}

/* }====== */

/* {====== Iterators ====== */

struct dt_kv_iter {
    uint32_t magic;
    dt_kv *kv;
    dt_kv_txn *own; /* the iterator's own read txn, or NULL */
    kv_cursor cur;
    kv_rit r;
    const char *name; /* the dbi's name, for messages */
    int nested;       /* opened in a nested txn */
    int fast;         /* next() may just step the cursor */
};

int dt_kv_iter_open(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_iter **out) {
    if (out) *out = NULL;
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (!s) return DT_MISUSE;
    if (!out) return kv_err(kv, txn, DT_MISUSE, "kv iter_open: NULL out");
    kv_rit r;
    if ((rc = rit_init(&r, kv, txn, range, s->dupsort, 0)) != DT_OK) return rc;
    size_t extra = (r.lok ? r.lo.mv_size : 0) + (r.hik ? r.hi.mv_size : 0);
    dt_kv_iter *it = dt__calloc(1, sizeof *it + extra);
    if (!it) return kv_err(kv, txn, DT_NOMEM, "kv iter_open dbi '%s': out of memory", s->name);
    /* Copy the bounds so the caller's buffers need not outlive the call. */
    unsigned char *p = (unsigned char *)(it + 1);
    if (r.lok && r.lo.mv_size) {
        memcpy(p, r.lo.mv_data, r.lo.mv_size);
        r.lo.mv_data = p;
        p += r.lo.mv_size;
    }
    if (r.hik && r.hi.mv_size) {
        memcpy(p, r.hi.mv_data, r.hi.mv_size);
        r.hi.mv_data = p;
    }
    dt_kv_txn *use;
    if ((rc = kv_read_begin(kv, txn, &use)) != DT_OK) {
        dt__free(it);
        return rc;
    }
    int mrc = mdb_cursor_open(use->mdb, s->dbi, &it->cur.mc);
    if (mrc != MDB_SUCCESS) {
        kv_read_end(kv, txn, use);
        dt__free(it);
        return kv_err(kv, txn, kv_translate(mrc), "kv iter_open dbi '%s': %s", s->name,
                      mdb_strerror(mrc));
    }
    it->cur.embedded = 1;
    it->cur.dupsort = s->dupsort;
    kv_cursor_link(use, &it->cur);
    r.mc = it->cur.mc;
    it->r = r;
    it->kv = kv;
    it->own = txn ? NULL : use;
    it->name = s->name;
    it->nested = use->root != use;
    it->magic = DT_MAGIC_KVITER;
    atomic_fetch_add(&kv->handles, 1);
    *out = it;
    return DT_OK;
}

/* The general case of dt_kv_iter_next: the first step, bounds, limits,
 * nested txns, errors.  Kept out of line so the fast path stays small. */
__attribute__((noinline)) static int iter_next_slow(dt_kv_iter *it, dt_kv_bytes *key,
                                                    dt_kv_bytes *val) {
    kv_cursor *c = &it->cur;
    MDB_val k, v;
    int mrc;
    if (!c->mc || (it->nested && (!c->txn->root->mdb || c->txn->root->failed))) {
        if (c->txn && c->txn->root->failed) return c->txn->root->failed;
        dt__seterr(it, DT_MISUSE, "kv iter_next: the iterator's transaction has ended");
        return kv_cursor_dead(it->kv);
    }
    kv_rit *r = &it->r;
    mrc = rit_next(r, &k, &v);
    it->fast = r->started && !r->done && !r->check_end && !r->limit && !it->nested;
    if (mrc == MDB_SUCCESS) {
        if (key) {
            key->ptr = k.mv_data;
            key->len = k.mv_size;
        }
        if (val) {
            val->ptr = v.mv_data;
            val->len = v.mv_size;
        }
        return DT_ROW;
    }
    it->fast = 0;
    if (mrc == MDB_NOTFOUND) return DT_DONE;
    int rc = kv_translate(mrc);
    dt__seterr(it, rc, "kv iter_next dbi '%s': %s", it->name, mdb_strerror(mrc));
    return kv_err(it->kv, NULL, rc, "kv iter_next dbi '%s': %s", it->name, mdb_strerror(mrc));
}

int dt_kv_iter_next(dt_kv_iter *it, dt_kv_bytes *key, dt_kv_bytes *val) {
    if (!it || it->magic != DT_MAGIC_KVITER)
        return dt__seterr(it, DT_MISUSE, "kv: not an open dt_kv_iter handle");
    /* The common case: an open-ended walk in progress in a top-level txn
     * (ending a txn nulls its cursors). */
    if (__builtin_expect(it->fast && it->cur.mc != NULL, 1)) {
        MDB_val kv[2];
        int mrc = mdb_cursor_get(it->cur.mc, &kv[0], &kv[1], it->r.step);
        if (__builtin_expect(mrc == MDB_SUCCESS, 1)) {
            if (key) {
                key->ptr = kv[0].mv_data;
                key->len = kv[0].mv_size;
            }
            if (val) {
                val->ptr = kv[1].mv_data;
                val->len = kv[1].mv_size;
            }
            return DT_ROW;
        }
        it->fast = 0;
        it->r.done = 1;
        if (mrc == MDB_NOTFOUND) return DT_DONE;
        int rc = kv_translate(mrc);
        dt__seterr(it, rc, "kv iter_next dbi '%s': %s", it->name, mdb_strerror(mrc));
        return kv_err(it->kv, NULL, rc, "kv iter_next dbi '%s': %s", it->name, mdb_strerror(mrc));
    }
    return iter_next_slow(it, key, val);
}

int dt_kv_iter_next_batch(dt_kv_iter *it, size_t max, dt_kv_entry *out, size_t *n) {
    if (n) *n = 0;
    if (!it || it->magic != DT_MAGIC_KVITER)
        return dt__seterr(it, DT_MISUSE, "kv: not an open dt_kv_iter handle");
    if (!out || !n || max == 0)
        return dt__seterr(it, DT_MISUSE, "kv iter_next_batch: NULL out/n or max 0");
    size_t i = 0;
    /* one check for the whole batch, then only cursor steps */
    if (it->fast && it->cur.mc != NULL) {
        MDB_cursor *mc = it->cur.mc;
        MDB_cursor_op step = it->r.step;
        for (; i < max; i++) {
            MDB_val k, v;
            int mrc = mdb_cursor_get(mc, &k, &v, step);
            if (mrc != MDB_SUCCESS) {
                it->fast = 0;
                it->r.done = 1;
                if (mrc == MDB_NOTFOUND) break;
                *n = i;
                int rc = kv_translate(mrc);
                dt__seterr(it, rc, "kv iter_next dbi '%s': %s", it->name, mdb_strerror(mrc));
                return kv_err(it->kv, NULL, rc, "kv iter_next dbi '%s': %s", it->name,
                              mdb_strerror(mrc));
            }
            out[i].key.ptr = k.mv_data;
            out[i].key.len = k.mv_size;
            out[i].val.ptr = v.mv_data;
            out[i].val.len = v.mv_size;
        }
    } else {
        for (; i < max; i++) {
            int rc = dt_kv_iter_next(it, &out[i].key, &out[i].val);
            if (rc == DT_DONE) break;
            if (rc != DT_ROW) {
                *n = i;
                return rc;
            }
        }
    }
    *n = i;
    return i ? DT_ROW : DT_DONE;
}

void dt_kv_iter_close(dt_kv_iter *it) {
    if (!it || it->magic != DT_MAGIC_KVITER) return;
    kv_cursor_close(&it->cur);
    if (it->own) kv_txn_release(it->own);
    atomic_fetch_sub(&it->kv->handles, 1);
    dt__clearerr(it);
    it->magic = DT_MAGIC_DEAD;
    dt__free(it);
}

/* }====== */

/* {====== Range functions ====== */

void dt_kv_list_free(dt_kv_list *list) {
    if (!list) return;
    dt__free(list->items);
    dt__free(list->mem_);
    list->items = NULL;
    list->mem_ = NULL;
    list->n = 0;
}

/*
 * walk: runs a range walk over `dbi` in `txn` (or a snapshot of its own)
 * and either counts the entries (count != NULL) or copies them into *out.
 */
static int walk(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range, int keys_only,
                size_t max, dt_kv_list *out, uint64_t *count, const char *what) {
    if (out) dt_kv_list_free(out);
    if (count) *count = 0;
    int rc = kv_check(kv, txn);
    if (rc != DT_OK) return rc;
    kv_slot *s = kv_slot_get(kv, txn, dbi);
    if (!s) return DT_MISUSE;
    if (!out && !count) return kv_err(kv, txn, DT_MISUSE, "kv %s: NULL out", what);
    kv_rit r;
    if ((rc = rit_init(&r, kv, txn, range, s->dupsort, keys_only)) != DT_OK) return rc;
    if (max && (!r.limit || r.limit > max)) r.limit = max;
    dt_kv_txn *use;
    if ((rc = kv_read_begin(kv, txn, &use)) != DT_OK) return rc;
    int mrc = mdb_cursor_open(use->mdb, s->dbi, &r.mc);
    if (mrc != MDB_SUCCESS) {
        kv_read_end(kv, txn, use);
        return kv_err(kv, txn, kv_translate(mrc), "kv %s dbi '%s': %s", what, s->name,
                      mdb_strerror(mrc));
    }
    dt_buf data = DT_BUF_INIT, ents = DT_BUF_INIT;
    uint64_t n = 0;
    MDB_val k, v;
    while ((mrc = rit_next(&r, &k, &v)) == MDB_SUCCESS) {
        n++;
        if (!out) continue;
        dt_kv_entry e;
        e.key.ptr = (const void *)(uintptr_t)data.len;
        e.key.len = k.mv_size;
        if (dt_buf_append(&data, k.mv_data, k.mv_size) != DT_OK) goto nomem;
        if (keys_only) {
            e.val.ptr = NULL;
            e.val.len = 0;
        } else {
            e.val.ptr = (const void *)(uintptr_t)data.len;
            e.val.len = v.mv_size;
            if (dt_buf_append(&data, v.mv_data, v.mv_size) != DT_OK) goto nomem;
        }
        if (dt_buf_append(&ents, &e, sizeof e) != DT_OK) goto nomem;
    }
    mdb_cursor_close(r.mc);
    kv_read_end(kv, txn, use);
    if (mrc != MDB_NOTFOUND) {
        dt_buf_release(&data);
        dt_buf_release(&ents);
        return kv_err(kv, txn, kv_translate(mrc), "kv %s dbi '%s': %s", what, s->name,
                      mdb_strerror(mrc));
    }
    if (count) *count = n;
    if (out && n) {
        if (data.cap == 0 && dt_buf_reserve(&data, 1) != DT_OK) {
            dt_buf_release(&ents);
            return kv_err(kv, txn, DT_NOMEM, "kv %s dbi '%s': out of memory", what, s->name);
        }
        dt_kv_entry *items = (dt_kv_entry *)ents.p;
        for (size_t i = 0; i < n; i++) {
            items[i].key.ptr = data.p + (uintptr_t)items[i].key.ptr;
            if (!keys_only) items[i].val.ptr = data.p + (uintptr_t)items[i].val.ptr;
        }
        out->items = items;
        out->n = (size_t)n;
        out->mem_ = data.p;
    }
    return DT_OK;

nomem:
    mdb_cursor_close(r.mc);
    kv_read_end(kv, txn, use);
    dt_buf_release(&data);
    dt_buf_release(&ents);
    return kv_err(kv, txn, DT_NOMEM, "kv %s dbi '%s': out of memory after %llu entries", what,
                  s->name, (unsigned long long)n);
}

int dt_kv_get_range(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_list *out) {
    return walk(kv, txn, dbi, range, 0, 0, out, NULL, "get_range");
}

int dt_kv_key_range(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_list *out) {
    return walk(kv, txn, dbi, range, 1, 0, out, NULL, "key_range");
}

int dt_kv_get_first(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                    dt_kv_list *out) {
    int rc = walk(kv, txn, dbi, range, 0, 1, out, NULL, "get_first");
    if (rc == DT_OK && out->n == 0)
        return kv_err(kv, txn, DT_NOTFOUND, "kv get_first: the range is empty");
    return rc;
}

int dt_kv_range_count(dt_kv *kv, dt_kv_txn *txn, dt_kv_dbi dbi, const dt_kv_range *range,
                      uint64_t *out) {
    if (!out) {
        int rc = kv_check(kv, txn);
        return rc != DT_OK ? rc : kv_err(kv, txn, DT_MISUSE, "kv range_count: NULL out");
    }
    return walk(kv, txn, dbi, range, 0, 0, NULL, out, "range_count");
}

/* }====== */
