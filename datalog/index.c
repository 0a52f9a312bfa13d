/*
 * index.c -- the datom indexes (datalog layer): key layout, long values,
 * point look-ups, the datom cursor and the datom writes.  index.h
 * describes the layout and the order the cursor guarantees.
 */
#include "index.h"
#include "db.h"
#include "edn.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Offset of the vkey in a key, and bytes after it. */
#define EAV_VOFF 12
#define AVE_VOFF 4
#define IDS_LEN  12 /* e + aid */

/* {====== Keys ====== */

size_t dl_key_eav_to(uint8_t *dst, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen) {
    dl_put_u64(dst, (uint64_t)e);
    dl_put_u32(dst + 8, aid);
    if (vklen) memcpy(dst + EAV_VOFF, vkey, vklen);
    return IDS_LEN + vklen;
}

size_t dl_key_ave_to(uint8_t *dst, uint32_t aid, const uint8_t *vkey, size_t vklen, int64_t e) {
    dl_put_u32(dst, aid);
    if (vklen) memcpy(dst + AVE_VOFF, vkey, vklen);
    dl_put_u64(dst + AVE_VOFF + vklen, (uint64_t)e);
    return IDS_LEN + vklen;
}

int dl_key_eav(dt_buf *b, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen) {
    b->len = 0;
    if (dt_buf_reserve(b, IDS_LEN + vklen) != DT_OK) return DT_NOMEM;
    b->len = dl_key_eav_to(b->p, e, aid, vkey, vklen);
    return DT_OK;
}

int dl_key_ave(dt_buf *b, uint32_t aid, const uint8_t *vkey, size_t vklen, int64_t e) {
    b->len = 0;
    if (dt_buf_reserve(b, IDS_LEN + vklen) != DT_OK) return DT_NOMEM;
    b->len = dl_key_ave_to(b->p, aid, vkey, vklen, e);
    return DT_OK;
}

int dl_key_history(dt_buf *b, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen,
                   int64_t rtx) {
    b->len = 0;
    if (dt_buf_reserve(b, IDS_LEN + vklen + 8) != DT_OK) return DT_NOMEM;
    size_t n = dl_key_eav_to(b->p, e, aid, vkey, vklen);
    dl_put_u64(b->p + n, (uint64_t)rtx);
    b->len = n + 8;
    return DT_OK;
}

size_t dl_key_giant_to(uint8_t *dst, uint32_t aid, const uint8_t *vkey, size_t vklen) {
    dl_put_u32(dst, aid);
    if (vklen) memcpy(dst + AVE_VOFF, vkey, vklen);
    return AVE_VOFF + vklen;
}

int dl_key_giant(dt_buf *b, uint32_t aid, const uint8_t *vkey, size_t vklen) {
    b->len = 0;
    if (dt_buf_reserve(b, AVE_VOFF + vklen) != DT_OK) return DT_NOMEM;
    b->len = dl_key_giant_to(b->p, aid, vkey, vklen);
    return DT_OK;
}

int dl_key_parse_giant(const uint8_t *key, size_t klen, dl_datom *out) {
    memset(out, 0, sizeof *out);
    if (klen <= AVE_VOFF || !dl_codec_is_truncated(key + AVE_VOFF, klen - AVE_VOFF))
        return DT_CORRUPT;
    out->aid = dl_get_u32(key);
    out->v = key + AVE_VOFF;
    out->vlen = klen - AVE_VOFF;
    out->truncated = 1;
    return DT_OK;
}

/* Splits a key without computing the truncated flag. */
static inline int parse_fast(dl_index index, const uint8_t *k, size_t klen, dl_datom *out) {
    if (klen <= IDS_LEN) return DT_CORRUPT;
    if (index == DL_INDEX_EAV) {
        out->e = (int64_t)dl_get_u64(k);
        out->aid = dl_get_u32(k + 8);
        out->v = k + EAV_VOFF;
    } else {
        out->aid = dl_get_u32(k);
        out->v = k + AVE_VOFF;
        out->e = (int64_t)dl_get_u64(k + klen - 8);
    }
    out->vlen = klen - IDS_LEN;
    out->truncated = 0;
    out->tx = 0;
    return DT_OK;
}

/* 1 when a vkey of this length may be a truncated key. */
static inline int may_be_truncated(size_t vklen) { return vklen >= DL_INDEX_STABLE; }

int dl_key_parse(dl_index index, const uint8_t *key, size_t klen, dl_datom *out) {
    int rc = parse_fast(index, key, klen, out);
    if (rc == DT_OK && may_be_truncated(out->vlen))
        out->truncated = dl_codec_is_truncated(out->v, out->vlen);
    return rc;
}

int dl_key_parse_history(const uint8_t *key, size_t klen, dl_datom *out, int64_t *rtx) {
    *rtx = 0;
    if (klen <= IDS_LEN + 8) {
        memset(out, 0, sizeof *out);
        return DT_CORRUPT;
    }
    int rc = dl_key_parse(DL_INDEX_EAV, key, klen - 8, out);
    if (rc == DT_OK) *rtx = (int64_t)dl_get_u64(key + klen - 8);
    return rc;
}

size_t dl_key_lead_len(dl_index index, unsigned n, size_t klen) {
    if (n >= 3) return klen;
    if (index == DL_INDEX_EAV) return n == 0 ? 0 : n == 1 ? 8 : IDS_LEN;
    return n == 0 ? 0 : n == 1 ? 4 : klen - 8;
}

/* }====== */

/* {====== Values in keys ====== */

int dl_vkey_from_enc(const uint8_t *enc, size_t len, dt_buf *out, int *truncated) {
    *truncated = 0;
    if (len <= DL_VKEY_MAX) return dt_buf_append(out, enc, len);
    /* Re-encode bounded: decode and encode_key keeps the codec the single
     * authority on where a prefix may be cut. */
    dt_value v = DT_VALUE_NIL;
    size_t used = 0;
    int rc = dl_codec_decode(enc, len, &v, &used);
    if (rc != DT_OK) return rc;
    rc = dl_codec_encode_key(&v, DL_VKEY_MAX, out, truncated);
    dt_value_free(&v);
    return rc;
}

int dl_value_full_enc(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *vkey,
                      size_t vklen, dt_kv_bytes *out) {
    if (!may_be_truncated(vklen) || !dl_codec_is_truncated(vkey, vklen)) {
        out->ptr = vkey;
        out->len = vklen;
        return DT_OK;
    }
    uint8_t kb[4 + DL_KEY_MAX];
    if (vklen > DL_KEY_MAX - 4) return dt__seterr(NULL, DT_CORRUPT, "store: value key too long");
    size_t n = dl_key_giant_to(kb, aid, vkey, vklen);
    int rc = dt_kv_get_view(st->kv, txn, st->giants, kb, n, out);
    if (rc == DT_NOTFOUND)
        return dt__seterr(NULL, DT_CORRUPT, "store: a long value is missing from dt/giants");
    if (rc != DT_OK) return dt__seterr(NULL, rc, "store: %s", dt_errmsg(st->kv));
    return DT_OK;
}

int dl_value_decode_key(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *vkey,
                        size_t vklen, dt_value *out) {
    dt_kv_bytes full;
    int rc = dl_value_full_enc(st, txn, aid, vkey, vklen, &full);
    if (rc != DT_OK) return rc;
    size_t used = 0;
    rc = dl_codec_decode(full.ptr, full.len, out, &used);
    if (rc == DT_NOTFOUND) rc = dt__seterr(NULL, DT_CORRUPT, "store: a stored long value is cut");
    return rc;
}

/* }====== */

/* {====== Point look-ups ====== */

int dl_datom_exists(const dl_store *st, dt_kv_txn *txn, int64_t e, uint32_t aid, const uint8_t *enc,
                    size_t enc_len, int64_t *tx, int *out) {
    dt_buf vk = DT_BUF_INIT, key = DT_BUF_INIT;
    int truncated, rc;
    *out = 0;
    if ((rc = dl_vkey_from_enc(enc, enc_len, &vk, &truncated)) != DT_OK) goto done;
    if ((rc = dl_key_eav(&key, e, aid, vk.p, vk.len)) != DT_OK) goto done;
    dt_kv_bytes v;
    rc = dt_kv_get_view(st->kv, txn, st->eav, key.p, key.len, &v);
    if (rc == DT_NOTFOUND) {
        rc = DT_OK;
        goto done;
    }
    if (rc != DT_OK) {
        rc = dt__seterr(NULL, rc, "store: reading eav: %s", dt_errmsg(st->kv));
        goto done;
    }
    if (truncated) { /* the prefix and hash matched: compare full values */
        dt_kv_bytes full;
        if ((rc = dl_value_full_enc(st, txn, aid, vk.p, vk.len, &full)) != DT_OK) goto done;
        if (full.len != enc_len || memcmp(full.ptr, enc, enc_len) != 0) goto done;
    }
    if (v.len != 8) {
        rc = dt__seterr(NULL, DT_CORRUPT, "store: malformed eav entry");
        goto done;
    }
    if (tx) *tx = (int64_t)dl_get_u64(v.ptr);
    *out = 1;
done:
    dt_buf_release(&vk);
    dt_buf_release(&key);
    return rc;
}

int dl_find_entity(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *enc,
                   size_t enc_len, int64_t *e, int *found) {
    dt_buf pre = DT_BUF_INIT;
    int truncated = 0, rc;
    kv_cursor *kc = NULL;
    *found = 0;
    uint8_t a4[4];
    dl_put_u32(a4, aid);
    if ((rc = dt_buf_append(&pre, a4, 4)) != DT_OK) goto done;
    if ((rc = dl_vkey_from_enc(enc, enc_len, &pre, &truncated)) != DT_OK) goto done;
    if ((rc = kv_cursor_open(txn, st->ave, &kc)) != DT_OK) goto done;
    /* keys aid | vkey | e: the first with the prefix has the smallest e */
    dt_kv_bytes k = {pre.p, pre.len}, v;
    rc = kv_cursor_get(kc, &k, &v, KV_SET_RANGE);
    if (rc == DT_NOTFOUND) {
        rc = DT_OK;
        goto done;
    }
    if (rc != DT_OK) goto done;
    if (k.len != pre.len + 8 || memcmp(k.ptr, pre.p, pre.len) != 0) goto done;
    if (truncated) {
        dt_kv_bytes full;
        if ((rc = dl_value_full_enc(st, txn, aid, pre.p + 4, pre.len - 4, &full)) != DT_OK)
            goto done;
        if (full.len != enc_len || memcmp(full.ptr, enc, enc_len) != 0) goto done;
    }
    *e = (int64_t)dl_get_u64((const uint8_t *)k.ptr + pre.len);
    *found = 1;
done:
    kv_cursor_close(kc);
    dt_buf_release(&pre);
    return rc;
}

/* }====== */

/* {====== The datom cursor ====== */

#define CS_DONE   DL__CS_DONE
#define CS_ACTIVE DL__CS_ACTIVE

static inline size_t voff(const dl_cursor *c) {
    return c->index == DL_INDEX_EAV ? EAV_VOFF : AVE_VOFF;
}

int dl_cursor_open(dl_cursor *c, const dl_store *st, dt_kv_txn *txn, dl_index index) {
    /* all but the batch, which is 8 KiB and only read in [ib, nb) */
    memset(c, 0, offsetof(dl_cursor, batch));
    memset(&c->nb, 0, sizeof *c - offsetof(dl_cursor, nb));
    c->st = st;
    c->txn = txn;
    c->index = index;
    c->state = CS_DONE;
    c->slow = 1;
    c->cur_added = 1;
    if (index != DL_INDEX_EAV && index != DL_INDEX_AVE)
        return dt__seterr(NULL, DT_MISUSE, "index: unknown index %d", (int)index);
    int rc = kv_cursor_open(txn, index == DL_INDEX_EAV ? st->eav : st->ave, &c->kc);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "index: cannot open a cursor: %s", dt_errmsg(txn));
    return DT_OK;
}

static void vc_close(dl_cursor *c);
static int vc_seek(dl_cursor *c, const dl_ikey *from, unsigned match, const dl_ikey *until);
static int vc_next(dl_cursor *c, dl_datom *out);
static int vc_value(dl_cursor *c, dt_kv_bytes *out);
static int vc_last(dl_cursor *c, const dl_ikey *prefix, dl_datom *out);

void dl_cursor_close(dl_cursor *c) {
    if (!c) return;
    if (c->vc) vc_close(c);
    kv_cursor_close(c->kc);
    c->kc = NULL;
    dt_buf_release(&c->fromv);
    dt_buf_release(&c->untilv);
    dt_buf_release(&c->tmp);
    dt__free(c->run);
    c->run = NULL;
    c->nrun = c->caprun = c->irun = 0;
    c->state = CS_DONE;
    c->slow = 1;
    c->nb = c->ib = 0;
    c->cur = 0;
}

static int kv_error(dl_cursor *c, int rc) {
    return dt__seterr(NULL, rc, "index: reading %s: %s", c->index == DL_INDEX_EAV ? "eav" : "ave",
                      dt_errmsg(c->txn));
}

static int corrupt_key(dl_cursor *c) {
    return dt__seterr(NULL, DT_CORRUPT, "index: malformed %s entry",
                      c->index == DL_INDEX_EAV ? "eav" : "ave");
}

/* The position of the value among the components of `index`. */
static inline unsigned value_pos(dl_index index) { return index == DL_INDEX_EAV ? 2 : 1; }

/* Copies k into *dst, and its value (when among its n components) into b;
 * a value that is not among them is not read. */
static int keep_ikey(dl_index index, const dl_ikey *k, dt_buf *b, dl_ikey *dst) {
    *dst = *k;
    b->len = 0;
    dst->v = NULL;
    dst->vlen = 0;
    if (k->n <= value_pos(index)) return DT_OK;
    if (k->vlen && dt_buf_append(b, k->v, k->vlen) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "index: out of memory");
    dst->v = b->p;
    dst->vlen = k->vlen;
    return DT_OK;
}

/*
 * Builds into dst the key bytes of the first n components of k.  `cut`:
 * a long value is given by its first DL_INDEX_STABLE bytes only (where a
 * run may start) and nothing follows it; else by its vkey (truncated when
 * long).  Returns the length in *len and whether a cut happened.
 */
static int key_of(dl_cursor *c, const dl_ikey *k, unsigned n, int cut, uint8_t *dst, size_t *len,
                  int *was_cut) {
    size_t p = 0;
    *was_cut = 0;
    for (unsigned i = 0; i < n; i++) {
        int comp = c->index == DL_INDEX_EAV ? (int)i : (i == 0 ? 1 : i == 1 ? 2 : 0);
        if (comp == 0) {
            dl_put_u64(dst + p, (uint64_t)k->e);
            p += 8;
        } else if (comp == 1) {
            dl_put_u32(dst + p, k->aid);
            p += 4;
        } else {
            if (cut && k->vlen >= DL_INDEX_STABLE) {
                memcpy(dst + p, k->v, DL_INDEX_STABLE);
                p += DL_INDEX_STABLE;
                *was_cut = 1;
                break;
            }
            int truncated = 0;
            c->tmp.len = 0;
            int rc = dl_vkey_from_enc(k->v, k->vlen, &c->tmp, &truncated);
            if (rc != DT_OK) return rc;
            memcpy(dst + p, c->tmp.p, c->tmp.len);
            p += c->tmp.len;
        }
    }
    *len = p;
    return DT_OK;
}

static inline int in_prefix(const dl_cursor *c, const dt_kv_bytes *k) {
    return dl__in_prefix(c, k->ptr, k->len);
}

/* Sets the word form of the match prefix (after mpre/mlen change). */
static void prefix_words(dl_cursor *c) {
    uint8_t w[16] = {0}, m[16] = {0};
    size_t n = c->mlen < 16 ? c->mlen : 16;
    memcpy(w, c->mpre, n);
    memset(m, 0xff, n);
    memcpy(c->mw, w, 16);
    memcpy(c->mm, m, 16);
}

/* Ends the iteration: no more raw entries (a buffered run still goes). */
static void set_done(dl_cursor *c) {
    c->state = CS_DONE;
    c->nb = c->ib = 0;
}

/* Recomputes whether the inline path may take the next entry. */
static inline void update_slow(dl_cursor *c) {
    c->slow = c->skip | c->has_until | (c->irun < c->nrun) | (c->state != CS_ACTIVE);
}

static void reset_pos(dl_cursor *c) {
    c->state = CS_DONE;
    c->slow = 1;
    c->nb = c->ib = 0;
    c->want = 1;
    c->kv_end = 0;
    c->nrun = c->irun = 0;
    c->cur = 0;
    c->skip = 0;
    c->has_until = 0;
    c->mlen = 0;
    c->mm[0] = c->mm[1] = 0;
}

int dl_cursor_seek(dl_cursor *c, const dl_ikey *from, unsigned match, const dl_ikey *until) {
    static const dl_ikey none = {0, 0, 0, NULL, 0};
    if (!from) from = &none;
    if (c->vc) return vc_seek(c, from, match, until);
    reset_pos(c);
    if (!c->kc) return dt__seterr(NULL, DT_MISUSE, "index: cursor not open");
    if (from->n > 3 || match > from->n || (until && (until->n > 3 || until->n < match)))
        return dt__seterr(NULL, DT_MISUSE, "index: bad seek (%u components, match %u)", from->n,
                          match);
    unsigned vp = value_pos(c->index);
    int rc = keep_ikey(c->index, from, &c->fromv, &c->from);
    if (rc != DT_OK) return rc;
    if (until && until->n > match) { /* else the match prefix bounds already */
        if ((rc = keep_ikey(c->index, until, &c->untilv, &c->until)) != DT_OK) return rc;
        c->has_until = 1;
    }
    int was_cut;
    if ((rc = key_of(c, &c->from, match, 0, c->mpre, &c->mlen, &was_cut)) != DT_OK) return rc;
    prefix_words(c);
    /* the seek key: exact when the match covers the value (all matching
     * keys hold that very vkey), else cut where a run of long values may
     * begin (dl_cursor_next skips what lies below `from` in it) */
    uint8_t sk[DL_KEY_MAX + 8];
    size_t sklen;
    if ((rc = key_of(c, &c->from, from->n, match <= vp, sk, &sklen, &was_cut)) != DT_OK) return rc;
    dt_kv_bytes k = {sk, sklen}, v;
    rc =
        sklen ? kv_cursor_get(c->kc, &k, &v, KV_SET_RANGE) : kv_cursor_get(c->kc, &k, &v, KV_FIRST);
    c->skip = from->n > 0;
    if (rc == DT_NOTFOUND) return DT_OK;
    if (rc != DT_OK) return kv_error(c, rc);
    /* the entry found is the first of the batch */
    c->batch[0].key = k;
    c->batch[0].val = v;
    c->nb = 1;
    c->ib = 0;
    c->state = CS_ACTIVE;
    update_slow(c);
    return DT_OK;
}

/* The next raw entry (no prefix check) into k and v: from the batch, or
 * a new batch from the KV cursor.  DT_OK, DT_NOTFOUND or an error (the
 * state is then DONE). */
static inline int fetch(dl_cursor *c, dt_kv_bytes *k, dt_kv_bytes *v) {
    if (c->ib == c->nb) {
        if (c->kv_end || c->state == CS_DONE) return DT_NOTFOUND;
        int rc = kv_cursor_next_batch(c->kc, c->batch, c->want, &c->nb);
        c->ib = 0;
        if (c->want < DL_CURSOR_BATCH) c->want *= 2;
        if (rc == DT_NOTFOUND) {
            c->kv_end = 1;
            return DT_NOTFOUND;
        }
        if (rc != DT_OK) {
            set_done(c);
            return kv_error(c, rc);
        }
    }
    *k = c->batch[c->ib].key;
    *v = c->batch[c->ib].val;
    c->ib++;
    return DT_OK;
}

/* Puts back the entry fetch gave last (it is still in the batch). */
static inline void unfetch(dl_cursor *c) { c->ib--; }

/* The next raw entry within the match prefix into pk/pv; DT_OK,
 * DT_NOTFOUND (the iteration is over: state is DONE) or an error. */
static inline int raw_next(dl_cursor *c) {
    if (c->state == CS_DONE) return DT_NOTFOUND;
    int rc = fetch(c, &c->pk, &c->pv);
    if (rc == DT_OK && in_prefix(c, &c->pk)) return DT_OK;
    set_done(c);
    return rc == DT_OK ? DT_NOTFOUND : rc;
}

static int run_push(dl_cursor *c, const dt_kv_bytes *k, const dt_kv_bytes *v) {
    if (v->len != 8 || k->len <= IDS_LEN) return corrupt_key(c);
    if (c->nrun == c->caprun) {
        size_t cap = c->caprun ? c->caprun * 2 : 16;
        dl_run_ent *r = dt__realloc(c->run, cap * sizeof *r);
        if (!r) return dt__seterr(NULL, DT_NOMEM, "index: out of memory");
        c->run = r;
        c->caprun = cap;
    }
    dl_run_ent *r = &c->run[c->nrun++];
    r->key = k->ptr;
    r->klen = k->len;
    r->val = v->ptr;
    r->full = NULL;
    r->flen = 0;
    r->truncated = 0;
    return DT_OK;
}

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    if (n <= 16) { /* short values (most): no call */
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
        return (an > bn) - (an < bn);
    }
    int d = memcmp(a, b, n);
    return d ? d : (an > bn) - (an < bn);
}

/* Run order: full value, then the whole key (for AVE that is e). */
static int run_cmp(const void *x, const void *y) {
    const dl_run_ent *a = x, *b = y;
    int d = cmp_bytes(a->full, a->flen, b->full, b->flen);
    return d ? d : cmp_bytes(a->key, a->klen, b->key, b->klen);
}

/* Marks the truncated entries of the run, fetches their full values and
 * sorts the run by full value when it needs it. */
static int run_sort(dl_cursor *c) {
    size_t vo = voff(c);
    int any = 0;
    for (size_t i = 0; i < c->nrun; i++) {
        dl_run_ent *r = &c->run[i];
        if (r->klen <= IDS_LEN) return corrupt_key(c);
        const uint8_t *vk = r->key + vo;
        size_t vkl = r->klen - IDS_LEN;
        dl_codec_info info;
        if (dl_codec_scan(vk, vkl, &info) != DT_OK || info.len != vkl) return corrupt_key(c);
        r->full = vk;
        r->flen = vkl;
        if (!info.truncated) continue;
        if (info.prefix_len < DL_INDEX_STABLE)
            return dt__seterr(NULL, DT_CORRUPT, "index: a long value's key prefix is too short");
        r->truncated = 1;
        any = 1;
        if (c->nrun == 1) break; /* fetched on demand */
        dt_kv_bytes full;
        uint32_t aid = dl_get_u32(c->index == DL_INDEX_EAV ? r->key + 8 : r->key);
        int rc = dl_value_full_enc(c->st, c->txn, aid, vk, vkl, &full);
        if (rc != DT_OK) return rc;
        r->full = full.ptr;
        r->flen = full.len;
    }
    if (c->nrun == 1 && any) c->run[0].full = NULL;
    if (any && c->nrun > 1) qsort(c->run, c->nrun, sizeof *c->run, run_cmp);
    return DT_OK;
}

/* Reads the run that starts at the entry pk/pv (already taken) forward;
 * the entry after it is put back. */
static int run_collect(dl_cursor *c) {
    c->nrun = c->irun = 0;
    const uint8_t *head = c->pk.ptr;
    size_t rp = voff(c) + DL_INDEX_STABLE;
    int rc = run_push(c, &c->pk, &c->pv);
    while (rc == DT_OK) {
        dt_kv_bytes k = {NULL, 0}, v = {NULL, 0};
        rc = fetch(c, &k, &v);
        if (rc == DT_NOTFOUND) {
            set_done(c);
            rc = DT_OK;
            break;
        }
        if (rc != DT_OK) return rc;
        if (!in_prefix(c, &k)) {
            set_done(c);
            break;
        }
        if (k.len < rp + 8 || memcmp(k.ptr, head, rp) != 0) {
            unfetch(c);
            break;
        }
        rc = run_push(c, &k, &v);
    }
    if (rc != DT_OK) return rc;
    return run_sort(c);
}

/* Component-wise comparison of the current datom with the first k->n
 * components of k (values by full encoding). */
static int cmp_ikey(dl_cursor *c, const dl_datom *d, const dl_ikey *k, int *out) {
    for (unsigned i = 0; i < k->n; i++) {
        int comp = c->index == DL_INDEX_EAV ? (int)i : (i == 0 ? 1 : i == 1 ? 2 : 0);
        int r;
        if (comp == 0) {
            uint64_t a = (uint64_t)d->e, b = (uint64_t)k->e;
            r = (a > b) - (a < b);
        } else if (comp == 1) {
            r = (d->aid > k->aid) - (d->aid < k->aid);
        } else {
            dt_kv_bytes full;
            int rc = dl_cursor_value(c, &full);
            if (rc != DT_OK) return rc;
            r = cmp_bytes(full.ptr, full.len, k->v, k->vlen);
        }
        if (r) {
            *out = r;
            return DT_OK;
        }
    }
    *out = 0;
    return DT_OK;
}

static void end_iteration(dl_cursor *c) {
    set_done(c);
    c->nrun = c->irun = 0;
}

/* dl_cursor_next for everything but the common case (index.h). */
static int next_slow(dl_cursor *c, dl_datom *out) {
    int rc;
    for (;;) {
        /* written in place: a copy of a just-written struct stalls */
        dl_datom *d = out;
        if (c->irun < c->nrun) {
            const dl_run_ent *r = &c->run[c->irun++];
            if (parse_fast(c->index, r->key, r->klen, d) != DT_OK) return corrupt_key(c);
            d->truncated = r->truncated;
            c->cur_full = r->full;
            c->cur_flen = r->flen;
            if (!r->full) { /* a truncated value fetched on demand */
                c->cur_aid = d->aid;
                c->cur_v = d->v;
                c->cur_vlen = d->vlen;
            }
            c->cur = 2;
            d->tx = (int64_t)dl_get_u64(r->val); /* run entries were checked for 8 bytes */
        } else {
            if ((rc = raw_next(c)) != DT_OK) {
                c->cur = 0;
                return rc == DT_NOTFOUND ? DT_DONE : rc;
            }
            if (parse_fast(c->index, c->pk.ptr, c->pk.len, d) != DT_OK) return corrupt_key(c);
            if (may_be_truncated(d->vlen)) {
                if ((rc = run_collect(c)) != DT_OK) return rc;
                continue;
            }
            if (c->pv.len != 8) return corrupt_key(c);
            d->tx = (int64_t)dl_get_u64(c->pv.ptr);
            c->cur_full = d->v;
            c->cur_flen = d->vlen;
            c->cur = 2;
        }
        int r;
        if (c->skip) {
            if ((rc = cmp_ikey(c, d, &c->from, &r)) != DT_OK) return rc;
            if (r < 0) continue;
            c->skip = 0;
        }
        if (c->has_until) {
            if ((rc = cmp_ikey(c, d, &c->until, &r)) != DT_OK) return rc;
            if (r > 0) {
                end_iteration(c);
                c->cur = 0;
                return DT_DONE;
            }
        }
        return DT_ROW;
    }
}

int dl__cursor_next_slow(dl_cursor *c, dl_datom *out) {
    if (c->vc) return vc_next(c, out);
    int rc = next_slow(c, out);
    update_slow(c);
    return rc;
}

int dl_cursor_value(dl_cursor *c, dt_kv_bytes *out) {
    if (c->vc) return vc_value(c, out);
    if (!c->cur) return dt__seterr(NULL, DT_MISUSE, "index: no current datom");
    if (c->cur == 1) { /* the inline path's datom: a key with its whole value */
        const dt_kv_entry *en = &c->batch[c->ib - 1];
        size_t off = c->index == DL_INDEX_EAV ? 12 : 4;
        out->ptr = (const uint8_t *)en->key.ptr + off;
        out->len = en->key.len - DL__IDS_LEN;
        return DT_OK;
    }
    if (!c->cur_full) {
        int rc = dl_value_full_enc(c->st, c->txn, c->cur_aid, c->cur_v, c->cur_vlen, out);
        if (rc != DT_OK) return rc;
        c->cur_full = out->ptr;
        c->cur_flen = out->len;
    }
    out->ptr = c->cur_full;
    out->len = c->cur_flen;
    return DT_OK;
}

int dl_cursor_count(dl_cursor *c, uint64_t *out) {
    if (c->vc) {
        dl_datom d;
        int rc;
        while ((rc = vc_next(c, &d)) == DT_ROW) (*out)++;
        return rc == DT_DONE ? DT_OK : rc;
    }
    int cut = c->skip && c->from.n > value_pos(c->index) && c->from.vlen >= DL_INDEX_STABLE &&
              c->mlen < voff(c) + DL_INDEX_STABLE;
    if (c->has_until || cut) {
        dl_datom d;
        int rc;
        while ((rc = dl_cursor_next(c, &d)) == DT_ROW) (*out)++;
        return rc == DT_DONE ? DT_OK : rc;
    }
    /* the set of datoms is the set of keys from here on with the prefix */
    uint64_t n = c->nrun - c->irun;
    c->nrun = c->irun = 0;
    c->cur = 0;
    int rc;
    while ((rc = raw_next(c)) == DT_OK) n++;
    update_slow(c);
    if (rc != DT_NOTFOUND) return rc;
    *out += n;
    return DT_OK;
}

/* dl_cursor_last, keeping only datoms whose tx is in (lo, hi]: entries
 * that fail are stepped over backward. */
static int last_where(dl_cursor *c, const dl_ikey *prefix, int64_t lo, int64_t hi, dl_datom *out) {
    reset_pos(c);
    if (!c->kc) return dt__seterr(NULL, DT_MISUSE, "index: cursor not open");
    if (prefix->n > 3) return dt__seterr(NULL, DT_MISUSE, "index: bad prefix");
    int was_cut, rc;
    if ((rc = key_of(c, prefix, prefix->n, 0, c->mpre, &c->mlen, &was_cut)) != DT_OK) return rc;
    prefix_words(c);
    /* the last key with the prefix: before the smallest key above them */
    uint8_t up[DL_KEY_MAX + 8];
    size_t n = c->mlen;
    memcpy(up, c->mpre, n);
    while (n > 0 && up[n - 1] == 0xff) n--;
    dt_kv_bytes k = {NULL, 0}, v = {NULL, 0};
    if (n == 0) {
        rc = kv_cursor_get(c->kc, &k, &v, KV_LAST);
    } else {
        up[n - 1]++;
        k.ptr = up;
        k.len = n;
        rc = kv_cursor_get(c->kc, &k, &v, KV_SET_RANGE);
        if (rc == DT_OK)
            rc = kv_cursor_get(c->kc, &k, &v, KV_PREV);
        else if (rc == DT_NOTFOUND)
            rc = kv_cursor_get(c->kc, &k, &v, KV_LAST);
    }
    dl_datom *d = out;
    for (;;) {
        if (rc == DT_NOTFOUND) return DT_DONE;
        if (rc != DT_OK) return kv_error(c, rc);
        if (k.len < c->mlen || memcmp(k.ptr, c->mpre, c->mlen) != 0) return DT_DONE;
        if (parse_fast(c->index, k.ptr, k.len, d) != DT_OK || v.len != 8) return corrupt_key(c);
        if (!may_be_truncated(d->vlen)) {
            int64_t tx = (int64_t)dl_get_u64(v.ptr);
            if (tx > lo && tx <= hi) {
                c->cur_full = d->v;
                c->cur_flen = d->vlen;
                d->tx = tx;
                c->cur = 2;
                return DT_ROW;
            }
            rc = kv_cursor_get(c->kc, &k, &v, KV_PREV);
            continue;
        }
        /* a long value: its run, read backward (entries in the tx range),
         * sorted; the largest is last */
        const uint8_t *head = k.ptr;
        size_t rp = voff(c) + DL_INDEX_STABLE;
        c->nrun = 0;
        for (;;) {
            if (k.len < rp + 8 || memcmp(k.ptr, head, rp) != 0) break;
            int64_t tx = v.len == 8 ? (int64_t)dl_get_u64(v.ptr) : 0;
            if (tx > lo && tx <= hi && (rc = run_push(c, &k, &v)) != DT_OK) return rc;
            rc = kv_cursor_get(c->kc, &k, &v, KV_PREV);
            if (rc != DT_OK) break;
            if (k.len < c->mlen || memcmp(k.ptr, c->mpre, c->mlen) != 0) {
                rc = DT_NOTFOUND;
                break;
            }
        }
        if (rc != DT_OK && rc != DT_NOTFOUND) return kv_error(c, rc);
        if (c->nrun == 0) continue; /* nothing in range: on with the entry before the run */
        int rc2;
        if ((rc2 = run_sort(c)) != DT_OK) return rc2;
        const dl_run_ent *r = &c->run[c->nrun - 1];
        if (parse_fast(c->index, r->key, r->klen, d) != DT_OK) return corrupt_key(c);
        d->truncated = r->truncated;
        c->cur_full = r->full;
        c->cur_flen = r->flen;
        c->cur_aid = d->aid;
        c->cur_v = d->v;
        c->cur_vlen = d->vlen;
        d->tx = (int64_t)dl_get_u64(r->val);
        c->nrun = 0;
        c->cur = 2;
        return DT_ROW;
    }
}

int dl_cursor_last(dl_cursor *c, const dl_ikey *prefix, dl_datom *out) {
    if (c->vc) return vc_last(c, prefix, out);
    return last_where(c, prefix, INT64_MIN, INT64_MAX, out);
}

/* }====== */

/* {====== History bounds ====== */

int dl_history_floor(const dl_store *st, dt_kv_txn *txn, int64_t *out) {
    uint64_t v = 0;
    int rc = dl_meta_get_u64(st, txn, DL_META_HISTORY_FLOOR, 0, &v);
    *out = rc == DT_OK ? (int64_t)v : 0;
    if (rc == DT_OK && v > (uint64_t)DL_MAX_TX + 1) {
        *out = 0;
        return dt__seterr(NULL, DT_CORRUPT, "store: the history watermark %llu is no tx id",
                          (unsigned long long)v);
    }
    return rc;
}

int dt_db_history_floor(dt_db *db, int64_t *out) {
    if (out) *out = 0;
    if (!dl_db_ok(db) || !out)
        return dt__seterr(db, DT_MISUSE, "dt_db_history_floor: bad arguments");
    dt_kv_txn *txn = dl_db_txn(db);
    if (!txn) return dt__seterr(db, DT_MISUSE, "dt_db_history_floor: the snapshot has ended");
    int rc = dl_history_floor(dl_db_store(db), txn, out);
    return rc == DT_OK ? rc : dt__moveerr(NULL, db, rc);
}

int dl_history_set_floor(const dl_store *st, dt_kv_txn *txn, int64_t floor) {
    return dl_meta_put_u64(st, txn, DL_META_HISTORY_FLOOR, (uint64_t)floor);
}

int dl_history_gc_step(const dl_store *st, dt_kv_txn *txn, int64_t before, size_t max,
                       dt_buf *resume, uint64_t *dropped, int *done) {
    *done = 0;
    if (max == 0) max = 1;
    kv_cursor *cur = NULL;
    int rc = kv_cursor_open(txn, st->history, &cur);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "history: %s", dt_errmsg(st->kv));
    dt_kv_bytes k = {NULL, 0}, v;
    if (resume->len) {
        k.ptr = resume->p;
        k.len = resume->len;
        rc = kv_cursor_get(cur, &k, &v, KV_SET_RANGE);
    } else {
        rc = kv_cursor_get(cur, &k, &v, KV_FIRST);
    }
    size_t seen = 0, n = 0;
    while (rc == DT_OK) {
        if (n >= max || seen >= 16 * max) {
            /* k is a view into the map: copy it before the txn moves on */
            resume->len = 0;
            rc = dt_buf_append(resume, k.ptr, k.len);
            if (rc != DT_OK) rc = dt__seterr(NULL, rc, "history: out of memory");
            goto out;
        }
        seen++;
        dl_datom d;
        int64_t rtx;
        if (dl_key_parse_history(k.ptr, k.len, &d, &rtx) != DT_OK) {
            rc = dt__seterr(NULL, DT_CORRUPT, "history: a key of %zu bytes is malformed", k.len);
            goto out;
        }
        if (rtx < before) {
            /* LMDB leaves the cursor on the entry after the deleted one,
             * and the next KV_NEXT returns that entry */
            if ((rc = kv_cursor_del(cur, 0)) != DT_OK) {
                if (rc != DT_MAPFULL_RETRY)
                    rc = dt__seterr(NULL, rc, "history: deleting: %s", dt_errmsg(st->kv));
                goto out;
            }
            n++;
        }
        rc = kv_cursor_get(cur, &k, &v, KV_NEXT);
    }
    if (rc == DT_NOTFOUND) {
        rc = DT_OK;
        *done = 1;
        resume->len = 0;
    } else {
        rc = dt__seterr(NULL, rc, "history: reading: %s", dt_errmsg(st->kv));
    }
out:
    kv_cursor_close(cur);
    *dropped += n;
    return rc;
}

/* }====== */

/* {====== Time views ====== */

/* One history entry: the datom [e aid v] asserted at atx and retracted
 * at rtx, its bytes (key form k, full encoding f) in its list's arena. */
typedef struct hent {
    int64_t e, atx, rtx;
    uint32_t aid;
    int truncated;
    const uint8_t *k, *f;
    size_t koff, foff, klen, flen;
} hent;

typedef struct hlist {
    hent *ev;
    size_t n, cap;
    dt_buf arena;
} hlist;

/* The history entries of a snapshot in EAV and AVE order, built once at
 * the first whole-index read of any view that shares it. */
struct dl_hcache {
    int built;
    hlist all;       /* EAV order */
    hent *ave;       /* the same entries, AVE order */
    dt_buf avearena; /* their bytes again, laid out in AVE order: a scan
                      * of the AVE order reads memory sequentially */
};

struct dl_view {
    int64_t as_of, since;
    int64_t floor; /* the history watermark: entries retracted before it are skipped */
    int history;
    dl_hcache *cache;
    int owns_cache;
    hent *sel[2]; /* per index: copies of the cache's entries that give this view a
                   * datom, contiguous so that a scan reads memory in order */
    size_t nsel[2];
    int has_sel[2];
    struct asel { /* the same for the AVE entries of one attribute (by aid) */
        hent *p;
        size_t n;
        int has;
    } * asel;
    size_t nasel;
};

/* One datom a view yields from a history entry. */
typedef struct hev {
    const hent *x;
    int64_t tx;
    int added;
} hev;

/* The state of a cursor on a view: the current index (`in`, filtered by
 * tx) merged with a sorted list of history entries, each giving up to
 * two datoms (its assertion and, in history views, its retraction). */
typedef struct dl_vcursor {
    dl_view *view;
    dl_cursor in;
    int in_st; /* 0: read the next, 1: in_d is pending, 2: done */
    dl_datom in_d;
    hlist own;      /* per-seek entries (EAV seeks that name the entity) */
    kv_cursor *hkc; /* on dt/history, for those seeks */
    const hent *h;  /* the entries to merge: the view's selection or own */
    size_t nh, ih;
    int sub;   /* at h[ih]: 0 its assertion next, 1 its retraction */
    hev ev;    /* the next event (vc_peek) */
    int ev_st; /* what vc_peek last found, still valid: 0 unknown, 1 ev, 2 none */
    dl_ikey from, until;
    dt_buf fromv, untilv;
    unsigned match;
    int has_until;
    int cur; /* current datom: 0 none, 1 in's, 2 hc, 3 the copy in lastb */
    hev hc;
    hent last;
    int last_added;
    dt_buf lastb;
} dl_vcursor;

int dl_hcache_new(dl_hcache **out) {
    *out = dt__calloc(1, sizeof **out);
    return *out ? DT_OK : dt__seterr(NULL, DT_NOMEM, "view: out of memory");
}

static void hlist_release(hlist *l) {
    dt__free(l->ev);
    l->ev = NULL;
    l->n = l->cap = 0;
    dt_buf_release(&l->arena);
}

void dl_hcache_free(dl_hcache *hc) {
    if (!hc) return;
    hlist_release(&hc->all);
    dt__free(hc->ave);
    dt_buf_release(&hc->avearena);
    dt__free(hc);
}

int dl_view_new(int64_t as_of, int64_t since, int history, dl_hcache *cache, dl_view **out) {
    *out = NULL;
    dl_view *v = dt__calloc(1, sizeof *v);
    if (!v) return dt__seterr(NULL, DT_NOMEM, "view: out of memory");
    v->as_of = as_of;
    v->since = since;
    v->history = history ? 1 : 0;
    v->cache = cache;
    if (!cache) {
        int rc = dl_hcache_new(&v->cache);
        if (rc != DT_OK) {
            dt__free(v);
            return rc;
        }
        v->owns_cache = 1;
    }
    *out = v;
    return DT_OK;
}

void dl_view_free(dl_view *v) {
    if (!v) return;
    dt__free(v->sel[0]);
    dt__free(v->sel[1]);
    for (size_t i = 0; i < v->nasel; i++) dt__free(v->asel[i].p);
    dt__free(v->asel);
    if (v->owns_cache) dl_hcache_free(v->cache);
    dt__free(v);
}

void dl_view_set_floor(dl_view *v, int64_t floor) { v->floor = floor; }

void dl_view_params(const dl_view *v, int64_t *as_of, int64_t *since, int *history) {
    *as_of = v->as_of;
    *since = v->since;
    *history = v->history;
}

/* 1 when a datom asserted at tx belongs to the view (current datoms, and
 * the assertion events of the history view). */
static inline int view_tx_ok(const dl_view *v, int64_t tx) {
    return tx <= v->as_of && tx > v->since;
}

/* Whether an entry gives the view any datom. */
static inline int view_entry_ok(const dl_view *v, int64_t atx, int64_t rtx) {
    if (v->history) return view_tx_ok(v, atx) || view_tx_ok(v, rtx);
    return view_tx_ok(v, atx) && v->as_of < rtx;
}

/* Whether history can contribute: a plain view without an as-of bound
 * (since only) shows current datoms only. */
static inline int view_needs_history(const dl_view *v) {
    return v->history || v->as_of != DL_VIEW_NOW;
}

/*
 * Appends to *l the history entries whose keys start with pre[0..plen)
 * (plen 0: all of dt/history) and that give view v a datom (v NULL: all),
 * copying their bytes into l's arena; l's pointers are set by hlist_fix
 * afterwards.  Entries retracted before `floor` (the history watermark)
 * are skipped.  *kcp: a cursor on dt/history to use (opened when NULL and
 * left open), or kcp NULL: one of its own.
 */
static int hist_collect(const dl_view *v, const dl_store *st, dt_kv_txn *txn, const uint8_t *pre,
                        size_t plen, int64_t floor, hlist *l, kv_cursor **kcp) {
    kv_cursor *kc = kcp ? *kcp : NULL;
    int rc = kc ? DT_OK : kv_cursor_open(txn, st->history, &kc);
    if (rc != DT_OK)
        return dt__seterr(NULL, rc, "view: cannot read dt/history: %s", dt_errmsg(txn));
    if (kcp) *kcp = kc;
    dt_kv_bytes k = {pre, plen}, val;
    rc = plen ? kv_cursor_get(kc, &k, &val, KV_SET_RANGE) : kv_cursor_get(kc, &k, &val, KV_FIRST);
    for (; rc == DT_OK; rc = kv_cursor_get(kc, &k, &val, KV_NEXT)) {
        if (plen && (k.len < plen || memcmp(k.ptr, pre, plen) != 0)) break;
        dl_datom d;
        int64_t rtx, atx;
        if (dl_key_parse_history(k.ptr, k.len, &d, &rtx) != DT_OK ||
            dl_index_val_parse(val.ptr, val.len, &atx) != DT_OK) {
            rc = dt__seterr(NULL, DT_CORRUPT, "view: malformed dt/history entry");
            break;
        }
        /* left below the watermark by an interrupted dt_history_gc */
        if (rtx < floor) continue;
        if (v && !view_entry_ok(v, atx, rtx)) continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            hent *ev = dt__realloc(l->ev, cap * sizeof *ev);
            if (!ev) {
                rc = DT_NOMEM;
                break;
            }
            l->ev = ev;
            l->cap = cap;
        }
        hent *x = &l->ev[l->n];
        memset(x, 0, sizeof *x);
        x->e = d.e;
        x->aid = d.aid;
        x->atx = atx;
        x->rtx = rtx;
        x->koff = x->foff = l->arena.len;
        x->klen = x->flen = d.vlen;
        if ((rc = dt_buf_append(&l->arena, d.v, d.vlen)) != DT_OK) break;
        if (d.truncated && dl_codec_is_truncated(d.v, d.vlen)) {
            dt_kv_bytes full;
            if ((rc = dl_value_full_enc(st, txn, d.aid, d.v, d.vlen, &full)) != DT_OK) break;
            x->truncated = 1;
            x->foff = l->arena.len;
            x->flen = full.len;
            if ((rc = dt_buf_append(&l->arena, full.ptr, full.len)) != DT_OK) break;
        }
        l->n++;
    }
    if (!kcp) kv_cursor_close(kc);
    if (rc == DT_NOTFOUND) rc = DT_OK;
    if (rc == DT_NOMEM) rc = dt__seterr(NULL, DT_NOMEM, "view: out of memory");
    return rc;
}

/* Points the entries of l at their bytes (after the arena stopped growing). */
static void hlist_fix(hlist *l) {
    for (size_t i = 0; i < l->n; i++) {
        l->ev[i].k = l->arena.p + l->ev[i].koff;
        l->ev[i].f = l->arena.p + l->ev[i].foff;
    }
}

static inline int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }
static inline int cmp_u32(uint32_t a, uint32_t b) { return (a > b) - (a < b); }

/* Index order of two datoms given by their components (values by full
 * encoding), then tx, then retraction before assertion. */
static int datom_cmp(dl_index ix, int64_t ae, uint32_t aa, const uint8_t *af, size_t afl,
                     int64_t atx, int aadd, int64_t be, uint32_t ba, const uint8_t *bf, size_t bfl,
                     int64_t btx, int badd) {
    int r;
    if (ix == DL_INDEX_EAV) {
        if ((r = cmp_i64(ae, be)) || (r = cmp_u32(aa, ba)) || (r = cmp_bytes(af, afl, bf, bfl)))
            return r;
    } else {
        if ((r = cmp_u32(aa, ba)) || (r = cmp_bytes(af, afl, bf, bfl)) || (r = cmp_i64(ae, be)))
            return r;
    }
    if ((r = cmp_i64(atx, btx))) return r;
    return aadd - badd;
}

static int hent_cmp(dl_index ix, const hent *a, const hent *b) {
    return datom_cmp(ix, a->e, a->aid, a->f, a->flen, a->atx, 1, b->e, b->aid, b->f, b->flen,
                     b->atx, 1);
}

static int hent_cmp_eav(const void *x, const void *y) { return hent_cmp(DL_INDEX_EAV, x, y); }
static int hent_cmp_ave(const void *x, const void *y) { return hent_cmp(DL_INDEX_AVE, x, y); }

/* Builds the snapshot's history cache: every entry, in EAV and AVE order. */
static int hcache_build(dl_hcache *hc, const dl_store *st, dt_kv_txn *txn) {
    if (hc->built) return DT_OK;
    int64_t floor = 0;
    int rc = dl_history_floor(st, txn, &floor);
    if (rc == DT_OK) rc = hist_collect(NULL, st, txn, NULL, 0, floor, &hc->all, NULL);
    if (rc == DT_OK && hc->all.n) {
        hc->ave = dt__malloc(hc->all.n * sizeof *hc->ave);
        if (!hc->ave) rc = dt__seterr(NULL, DT_NOMEM, "view: out of memory");
    }
    if (rc != DT_OK) {
        hlist_release(&hc->all);
        return rc;
    }
    hlist_fix(&hc->all);
    if (hc->all.n > 1) {
        qsort(hc->all.ev, hc->all.n, sizeof *hc->all.ev, hent_cmp_eav);
        memcpy(hc->ave, hc->all.ev, hc->all.n * sizeof *hc->ave);
        qsort(hc->ave, hc->all.n, sizeof *hc->ave, hent_cmp_ave);
    } else if (hc->all.n) {
        hc->ave[0] = hc->all.ev[0];
    }
    if (hc->all.n && (rc = dt_buf_reserve(&hc->avearena, hc->all.arena.len)) != DT_OK) {
        dt__free(hc->ave);
        hc->ave = NULL;
        hlist_release(&hc->all);
        return dt__seterr(NULL, DT_NOMEM, "view: out of memory");
    }
    for (size_t i = 0; i < hc->all.n; i++) { /* fits: the same bytes, reordered */
        hent *x = &hc->ave[i];
        uint8_t *dst = hc->avearena.p + hc->avearena.len;
        memcpy(dst, x->k, x->klen);
        hc->avearena.len += x->klen;
        if (x->f == x->k) {
            x->f = dst;
        } else {
            memcpy(hc->avearena.p + hc->avearena.len, x->f, x->flen);
            x->f = hc->avearena.p + hc->avearena.len;
            hc->avearena.len += x->flen;
        }
        x->k = dst;
    }
    hc->built = 1;
    return DT_OK;
}

/* The entries of the cache (built) that give view v a datom, in the
 * order of index ix (a filter keeps the order). */
static int view_select(dl_view *v, dl_index ix) {
    if (v->has_sel[ix]) return DT_OK;
    const dl_hcache *hc = v->cache;
    const hent *src = ix == DL_INDEX_EAV ? hc->all.ev : hc->ave;
    size_t n = 0;
    hent *sel = dt__malloc((hc->all.n ? hc->all.n : 1) * sizeof *sel);
    if (!sel) return dt__seterr(NULL, DT_NOMEM, "view: out of memory");
    for (size_t i = 0; i < hc->all.n; i++)
        if (view_entry_ok(v, src[i].atx, src[i].rtx)) sel[n++] = src[i];
    v->sel[ix] = sel;
    v->nsel[ix] = n;
    v->has_sel[ix] = 1;
    return DT_OK;
}

/* view_select for the AVE entries of attribute aid only: a range of the
 * cache's AVE order (sorted by aid first), so a read of one attribute
 * pays for the history of that attribute alone. */
static int view_select_attr(dl_view *v, uint32_t aid, const hent **out, size_t *n) {
    if (aid >= v->nasel) {
        size_t cap = aid + 16;
        struct asel *a = dt__realloc(v->asel, cap * sizeof *a);
        if (!a) return dt__seterr(NULL, DT_NOMEM, "view: out of memory");
        memset(a + v->nasel, 0, (cap - v->nasel) * sizeof *a);
        v->asel = a;
        v->nasel = cap;
    }
    struct asel *a = &v->asel[aid];
    if (!a->has) {
        const dl_hcache *hc = v->cache;
        size_t lo = 0, hi = hc->all.n;
        while (lo < hi) { /* the first entry of aid */
            size_t mid = lo + (hi - lo) / 2;
            if (hc->ave[mid].aid < aid)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo, top = hc->all.n;
        while (end < top) { /* past the last entry of aid */
            size_t mid = end + (top - end) / 2;
            if (hc->ave[mid].aid <= aid)
                end = mid + 1;
            else
                top = mid;
        }
        a->p = dt__malloc((end > lo ? end - lo : 1) * sizeof *a->p);
        if (!a->p) return dt__seterr(NULL, DT_NOMEM, "view: out of memory");
        for (size_t i = lo; i < end; i++)
            if (view_entry_ok(v, hc->ave[i].atx, hc->ave[i].rtx)) a->p[a->n++] = hc->ave[i];
        a->has = 1;
    }
    *out = a->p;
    *n = a->n;
    return DT_OK;
}

/* Component-wise comparison of entry h with the first n components of k
 * in the order of index ix. */
static int hent_cmp_ikey(dl_index ix, const hent *h, const dl_ikey *k, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        int comp = ix == DL_INDEX_EAV ? (int)i : (i == 0 ? 1 : i == 1 ? 2 : 0);
        int r;
        if (comp == 0)
            r = cmp_i64(h->e, k->e);
        else if (comp == 1)
            r = cmp_u32(h->aid, k->aid);
        else
            r = cmp_bytes(h->f, h->flen, k->v, k->vlen);
        if (r) return r;
    }
    return 0;
}

int dl_cursor_open_view(dl_cursor *c, const dl_store *st, dt_kv_txn *txn, dl_view *view,
                        dl_index index) {
    if (!view) return dl_cursor_open(c, st, txn, index);
    memset(c, 0, sizeof *c);
    c->st = st;
    c->txn = txn;
    c->index = index;
    c->state = CS_DONE;
    c->slow = 1; /* stays 1: every step goes through vc_next */
    c->cur_added = 1;
    if (index != DL_INDEX_EAV && index != DL_INDEX_AVE)
        return dt__seterr(NULL, DT_MISUSE, "index: unknown index %d", (int)index);
    dl_vcursor *vc = dt__calloc(1, sizeof *vc);
    if (!vc) return dt__seterr(NULL, DT_NOMEM, "index: out of memory");
    vc->view = view;
    vc->in_st = 2;
    int rc = dl_cursor_open(&vc->in, st, txn, index);
    if (rc != DT_OK) {
        dl_cursor_close(&vc->in);
        dt__free(vc);
        return rc;
    }
    c->vc = vc;
    return DT_OK;
}

static void vc_close(dl_cursor *c) {
    dl_vcursor *vc = c->vc;
    c->vc = NULL;
    dl_cursor_close(&vc->in);
    kv_cursor_close(vc->hkc);
    hlist_release(&vc->own);
    dt_buf_release(&vc->fromv);
    dt_buf_release(&vc->untilv);
    dt_buf_release(&vc->lastb);
    dt__free(vc);
}

static int vc_seek(dl_cursor *c, const dl_ikey *from, unsigned match, const dl_ikey *until) {
    dl_vcursor *vc = c->vc;
    vc->cur = 0;
    vc->in_st = 2;
    vc->nh = vc->ih = 0;
    vc->sub = 0;
    vc->ev_st = 0;
    c->cur_added = 1;
    int rc = dl_cursor_seek(&vc->in, from, match, until); /* also checks the arguments */
    if (rc != DT_OK) return rc;
    if ((rc = keep_ikey(c->index, from, &vc->fromv, &vc->from)) != DT_OK) return rc;
    vc->has_until = 0;
    if (until && until->n > match) {
        if ((rc = keep_ikey(c->index, until, &vc->untilv, &vc->until)) != DT_OK) return rc;
        vc->has_until = 1;
    }
    vc->match = match;
    vc->in_st = 0;
    dl_view *v = vc->view;
    if (!view_needs_history(v)) return DT_OK;
    if (c->index == DL_INDEX_EAV && match >= 1) {
        /* the entity's (or entity and attribute's) history entries */
        uint8_t pre[IDS_LEN];
        dl_key_eav_to(pre, from->e, from->aid, NULL, 0);
        size_t plen = dl_key_lead_len(DL_INDEX_EAV, match >= 2 ? 2 : 1, IDS_LEN);
        vc->own.n = 0;
        vc->own.arena.len = 0;
        if ((rc = hist_collect(v, c->st, c->txn, pre, plen, v->floor, &vc->own, &vc->hkc)) != DT_OK)
            return rc;
        hlist_fix(&vc->own);
        if (vc->own.n > 1) qsort(vc->own.ev, vc->own.n, sizeof *vc->own.ev, hent_cmp_eav);
        vc->h = vc->own.ev;
        vc->nh = vc->own.n;
    } else {
        if ((rc = hcache_build(v->cache, c->st, c->txn)) != DT_OK) return rc;
        if (c->index == DL_INDEX_AVE && match >= 1) {
            if ((rc = view_select_attr(v, from->aid, &vc->h, &vc->nh)) != DT_OK) return rc;
        } else {
            if ((rc = view_select(v, c->index)) != DT_OK) return rc;
            vc->h = v->sel[c->index];
            vc->nh = v->nsel[c->index];
        }
    }
    /* the first entry >= from */
    size_t lo = 0, hi = vc->nh;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hent_cmp_ikey(c->index, &vc->h[mid], &vc->from, vc->from.n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    vc->ih = lo;
    return DT_OK;
}

/* Finds the next datom the entries give the view, from h[ih] (its event
 * `sub`) on, within the seek's prefix and until bound, into vc->ev
 * (without taking it).  1 found, 0 none. */
static int vc_find(dl_cursor *c) {
    dl_vcursor *vc = c->vc;
    const dl_view *v = vc->view;
    while (vc->ih < vc->nh) {
        const hent *x = &vc->h[vc->ih];
        if ((vc->match && hent_cmp_ikey(c->index, x, &vc->from, vc->match) != 0) ||
            (vc->has_until && hent_cmp_ikey(c->index, x, &vc->until, vc->until.n) > 0)) {
            vc->nh = vc->ih; /* entries are sorted: none further is within */
            return 0;
        }
        vc->ev.x = x;
        if (!v->history) {
            if (view_tx_ok(v, x->atx) && v->as_of < x->rtx) {
                vc->ev.tx = x->atx;
                vc->ev.added = 1;
                return 1;
            }
            vc->ih++;
            continue;
        }
        if (vc->sub == 0) {
            if (view_tx_ok(v, x->atx)) {
                vc->ev.tx = x->atx;
                vc->ev.added = 1;
                return 1;
            }
            vc->sub = 1;
        }
        if (view_tx_ok(v, x->rtx)) {
            vc->ev.tx = x->rtx;
            vc->ev.added = 0;
            return 1;
        }
        vc->sub = 0;
        vc->ih++;
    }
    return 0;
}

/* vc_find, once per event: a datom taken from the current index leaves
 * the next event where it was.  1 found, 0 none. */
static int vc_peek(dl_cursor *c) {
    dl_vcursor *vc = c->vc;
    if (vc->ev_st) return vc->ev_st == 1;
    vc->ev_st = vc_find(c) ? 1 : 2;
    return vc->ev_st == 1;
}

/* Moves past the event vc_peek found. */
static void vc_take(dl_vcursor *vc) {
    vc->ev_st = 0;
    if (vc->view->history && vc->sub == 0) {
        vc->sub = 1;
    } else {
        vc->sub = 0;
        vc->ih++;
    }
}

static int vc_next(dl_cursor *c, dl_datom *out) {
    dl_vcursor *vc = c->vc;
    int rc;
    int ev = vc_peek(c);
    unsigned skipped = 0;
    while (vc->in_st == 0) {
        rc = dl_cursor_next(&vc->in, &vc->in_d);
        if (rc == DT_ROW) {
            if (view_tx_ok(vc->view, vc->in_d.tx)) {
                vc->in_st = 1;
            } else if (ev && (++skipped & 15) == 0) {
                /* a long run of datoms outside the view (changed since):
                 * once it passes the next event, yield that first */
                const dl_datom *d = &vc->in_d;
                dt_kv_bytes full = {d->v, d->vlen};
                if (d->truncated && (rc = dl_cursor_value(&vc->in, &full)) != DT_OK) return rc;
                const hent *x = vc->ev.x;
                if (datom_cmp(c->index, d->e, d->aid, full.ptr, full.len, d->tx, 1, x->e, x->aid,
                              x->f, x->flen, vc->ev.tx, vc->ev.added) > 0)
                    break; /* in_st stays 0: this datom is not in the view anyway */
            }
        } else if (rc == DT_DONE) {
            vc->in_st = 2;
        } else {
            vc->cur = 0;
            return rc;
        }
    }
    int take_in = vc->in_st == 1;
    if (take_in && ev) {
        const dl_datom *d = &vc->in_d;
        dt_kv_bytes full = {d->v, d->vlen};
        if (d->truncated && (rc = dl_cursor_value(&vc->in, &full)) != DT_OK) return rc;
        const hent *x = vc->ev.x;
        take_in = datom_cmp(c->index, d->e, d->aid, full.ptr, full.len, d->tx, 1, x->e, x->aid,
                            x->f, x->flen, vc->ev.tx, vc->ev.added) <= 0;
    }
    if (take_in) {
        *out = vc->in_d;
        vc->in_st = 0;
        vc->cur = 1;
        c->cur_added = 1;
        return DT_ROW;
    }
    if (!ev) {
        vc->cur = 0;
        c->cur_added = 1;
        return DT_DONE;
    }
    const hent *x = vc->ev.x;
    out->e = x->e;
    out->aid = x->aid;
    out->v = x->k;
    out->vlen = x->klen;
    out->truncated = x->truncated;
    out->tx = vc->ev.tx;
    vc->hc = vc->ev;
    vc->cur = 2;
    c->cur_added = vc->ev.added;
    vc_take(vc);
    return DT_ROW;
}

static int vc_value(dl_cursor *c, dt_kv_bytes *out) {
    dl_vcursor *vc = c->vc;
    switch (vc->cur) {
    case 1:
        return dl_cursor_value(&vc->in, out);
    case 2:
        out->ptr = vc->hc.x->f;
        out->len = vc->hc.x->flen;
        return DT_OK;
    case 3:
        out->ptr = vc->last.f;
        out->len = vc->last.flen;
        return DT_OK;
    default:
        return dt__seterr(NULL, DT_MISUSE, "index: no current datom");
    }
}

/* Copies datom d (full value `full`, added flag) into the cursor as its
 * current datom (cur 3) and into *out. */
static int vc_keep_last(dl_cursor *c, const dl_datom *d, dt_kv_bytes full, int added,
                        dl_datom *out) {
    dl_vcursor *vc = c->vc;
    dt_buf *b = &vc->lastb;
    b->len = 0;
    if (dt_buf_append(b, d->v, d->vlen) != DT_OK || dt_buf_append(b, full.ptr, full.len) != DT_OK)
        return dt__seterr(NULL, DT_NOMEM, "index: out of memory");
    vc->last.klen = d->vlen;
    vc->last.flen = full.len;
    vc->last.k = b->p;
    vc->last.f = b->p + d->vlen;
    out->e = d->e;
    out->aid = d->aid;
    out->v = vc->last.k;
    out->vlen = d->vlen;
    out->truncated = d->truncated;
    out->tx = d->tx;
    vc->cur = 3;
    c->cur_added = added;
    return DT_ROW;
}

/* The last datom of the view with the prefix: the larger of the last
 * current datom in the view's tx range and the last event. */
static int vc_last(dl_cursor *c, const dl_ikey *prefix, dl_datom *out) {
    dl_vcursor *vc = c->vc;
    const dl_view *v = vc->view;
    if (prefix->n > 3) return dt__seterr(NULL, DT_MISUSE, "index: bad prefix");
    int rc = vc_seek(c, prefix, prefix->n, NULL);
    if (rc != DT_OK) return rc;
    vc->in_st = 2;
    /* the entries with the prefix are h[ih..hi): the last event among
     * them, walking back */
    size_t lo = vc->ih, hi = vc->nh;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hent_cmp_ikey(c->index, &vc->h[mid], prefix, prefix->n) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    hev ev = {NULL, 0, 0};
    for (size_t i = lo; i > vc->ih && !ev.x; i--) {
        const hent *x = &vc->h[i - 1];
        if (v->history && view_tx_ok(v, x->rtx))
            ev = (hev){x, x->rtx, 0};
        else if (view_tx_ok(v, x->atx) && (v->history || v->as_of < x->rtx))
            ev = (hev){x, x->atx, 1};
    }
    vc->nh = vc->ih; /* the iteration is over */
    dl_datom d;
    rc = last_where(&vc->in, prefix, v->since, v->as_of, &d);
    if (rc != DT_ROW && rc != DT_DONE) return rc;
    dt_kv_bytes full = {NULL, 0};
    if (rc == DT_ROW) {
        if ((rc = dl_cursor_value(&vc->in, &full)) != DT_OK) return rc;
        if (ev.x && datom_cmp(c->index, d.e, d.aid, full.ptr, full.len, d.tx, 1, ev.x->e, ev.x->aid,
                              ev.x->f, ev.x->flen, ev.tx, ev.added) > 0)
            ev.x = NULL;
        if (!ev.x) return vc_keep_last(c, &d, full, 1, out);
    }
    if (!ev.x) {
        vc->cur = 0;
        return DT_DONE;
    }
    d.e = ev.x->e;
    d.aid = ev.x->aid;
    d.v = ev.x->k;
    d.vlen = ev.x->klen;
    d.truncated = ev.x->truncated;
    d.tx = ev.tx;
    full.ptr = ev.x->f;
    full.len = ev.x->flen;
    return vc_keep_last(c, &d, full, ev.added, out);
}

/* }====== */

/* {====== Writing datoms ====== */

void dl_wtxn_init(dl_wtxn *w, const dl_store *st, dt_kv_txn *txn, int64_t tx) {
    memset(w, 0, sizeof *w);
    dl_wtxn_reuse(w, st, txn, tx);
}

void dl_wtxn_reuse(dl_wtxn *w, const dl_store *st, dt_kv_txn *txn, int64_t tx) {
    assert(!w->ave_cur && !w->eav_cur);
    w->st = st;
    w->txn = txn;
    w->tx = tx;
    w->history = 1;
    w->schema = NULL;
    w->key.len = w->key2.len = w->tmp.len = w->encs.len = 0;
    w->nchanges = 0;
    if (w->deltas) memset(w->deltas, 0, w->ndeltas * sizeof *w->deltas);
}

void dl_wtxn_close_cursors(dl_wtxn *w) {
    kv_cursor_close(w->ave_cur);
    w->ave_cur = NULL;
    kv_cursor_close(w->eav_cur);
    w->eav_cur = NULL;
}

void dl_wtxn_release(dl_wtxn *w) {
    dl_wtxn_close_cursors(w);
    dt_buf_release(&w->key);
    dt_buf_release(&w->key2);
    dt_buf_release(&w->tmp);
    dt_buf_release(&w->encs);
    dt__free(w->changes);
    dt__free(w->deltas);
    memset(w, 0, sizeof *w);
}

static int delta(dl_wtxn *w, uint32_t aid, int64_t dcount, int64_t ddistinct) {
    if (aid >= w->ndeltas) {
        size_t n = w->ndeltas ? w->ndeltas : 64;
        while (n <= aid) n *= 2;
        dl_stat_delta *d = dt__realloc(w->deltas, n * sizeof *d);
        if (!d) return DT_NOMEM;
        memset(d + w->ndeltas, 0, (n - w->ndeltas) * sizeof *d);
        w->deltas = d;
        w->ndeltas = n;
    }
    w->deltas[aid].count += dcount;
    w->deltas[aid].distinct += ddistinct;
    return DT_OK;
}

static int record(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t n, int added) {
    if (w->nchanges == w->capchanges) {
        size_t cap = w->capchanges ? w->capchanges * 2 : 32;
        dl_change *c = dt__realloc(w->changes, cap * sizeof *c);
        if (!c) return DT_NOMEM;
        w->changes = c;
        w->capchanges = cap;
    }
    dl_change *c = &w->changes[w->nchanges];
    c->e = e;
    c->aid = aid;
    c->enc_off = w->encs.len;
    c->enc_len = n;
    c->tx = w->tx;
    c->added = added;
    if (dt_buf_append(&w->encs, enc, n) != DT_OK) return DT_NOMEM;
    w->nchanges++;
    return DT_OK;
}

/* 1 when some ave entry has the prefix aid | vkey (a cached cursor: this
 * runs for every datom written). */
static int value_in_use(dl_wtxn *w, uint32_t aid, const uint8_t *vkey, size_t vklen, int *out) {
    dt_buf *b = &w->key2;
    int rc = dl_key_giant(b, aid, vkey, vklen); /* aid | vkey: the ave prefix */
    if (rc != DT_OK) return rc;
    if (!w->ave_cur && (rc = kv_cursor_open(w->txn, w->st->ave, &w->ave_cur)) != DT_OK) return rc;
    dt_kv_bytes k = {b->p, b->len}, v;
    rc = kv_cursor_get(w->ave_cur, &k, &v, KV_SET_RANGE);
    if (rc == DT_NOTFOUND) {
        *out = 0;
        return DT_OK;
    }
    if (rc != DT_OK) return rc;
    *out = k.len >= b->len && memcmp(k.ptr, b->p, b->len) == 0;
    return DT_OK;
}

static int kv_fail(dl_wtxn *w, int rc, const char *what);

/*
 * ave_neighbour_has: 1 when an ave entry next to the one the ave cursor
 * has just written has the prefix aid | vkey: the entries of one value
 * are adjacent, so another entity has the value exactly when a
 * neighbour shares it.  Saves value_in_use's look-up before the put: the
 * neighbours are usually on the cursor's page.
 */
static int ave_neighbour_has(dl_wtxn *w, uint32_t aid, const uint8_t *vkey, size_t vklen,
                             int *out) {
    dt_buf *b = &w->key2;
    int rc = dl_key_giant(b, aid, vkey, vklen); /* aid | vkey: the ave prefix */
    if (rc != DT_OK) return rc;
    *out = 0;
    dt_kv_bytes k, v;
    rc = kv_cursor_get(w->ave_cur, &k, &v, KV_PREV);
    if (rc == DT_OK) {
        if (k.len >= b->len && memcmp(k.ptr, b->p, b->len) == 0) {
            *out = 1;
            return DT_OK;
        }
        /* back to the new entry, then past it */
        if ((rc = kv_cursor_get(w->ave_cur, &k, &v, KV_NEXT)) == DT_OK)
            rc = kv_cursor_get(w->ave_cur, &k, &v, KV_NEXT);
    } else if (rc == DT_NOTFOUND) {
        /* the first entry: after a failed step the position is not
         * defined, so find the new entry again */
        k.ptr = w->key.p;
        k.len = w->key.len;
        if ((rc = kv_cursor_get(w->ave_cur, &k, &v, KV_SET)) == DT_OK)
            rc = kv_cursor_get(w->ave_cur, &k, &v, KV_NEXT);
    }
    if (rc == DT_NOTFOUND) return DT_OK;
    if (rc != DT_OK) return kv_fail(w, rc, "reading ave");
    *out = k.len >= b->len && memcmp(k.ptr, b->p, b->len) == 0;
    return DT_OK;
}

static int kv_fail(dl_wtxn *w, int rc, const char *what) {
    return dt__seterr(NULL, rc, "store: %s: %s", what, dt_errmsg(w->st->kv));
}

int dl_datom_add(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t enc_len) {
    const dl_store *st = w->st;
    int truncated = 0, rc;
    dt_buf *vk = &w->tmp;
    vk->len = 0;
    if ((rc = dl_vkey_from_enc(enc, enc_len, vk, &truncated)) != DT_OK) return rc;
    /* whether another entity has the value (distinct-value statistics):
     * a long value looks first, as it may need its giants record; the
     * others see their neighbours after the put (ave_neighbour_has) */
    int used = 0;
    if (truncated && (rc = value_in_use(w, aid, vk->p, vk->len, &used)) != DT_OK) return rc;
    if (truncated && !used) {
        if ((rc = dl_key_giant(&w->key, aid, vk->p, vk->len)) != DT_OK) return rc;
        dt_kv_bytes old;
        rc = dt_kv_get_view(st->kv, w->txn, st->giants, w->key.p, w->key.len, &old);
        if (rc == DT_OK && (old.len != enc_len || memcmp(old.ptr, enc, enc_len) != 0))
            return dt__seterr(NULL, DT_LIMIT,
                              "store: two different values of %zu bytes share a key prefix and "
                              "hash; cannot store both",
                              enc_len);
        if (rc == DT_NOTFOUND) {
            rc = dt_kv_put(st->kv, w->txn, st->giants, w->key.p, w->key.len, enc, enc_len, 0);
            if (rc != DT_OK) return kv_fail(w, rc, "writing a long value");
        } else if (rc != DT_OK) {
            return kv_fail(w, rc, "reading a long value");
        }
    }
    uint8_t txb[DL_INDEX_VAL_LEN];
    dl_index_val(txb, w->tx);
    /* Puts through cursors: LMDB inserts on the cursor's current leaf page
     * without a descent from the root when the key belongs there, which
     * is the common case (the ave cursor was just positioned at this
     * value by value_in_use; the eav cursor at the entity's last datom). */
    dt_kv_bytes txv = {txb, DL_INDEX_VAL_LEN};
    if ((rc = dl_key_eav(&w->key, e, aid, vk->p, vk->len)) != DT_OK) return rc;
    if (!w->eav_cur && (rc = kv_cursor_open(w->txn, st->eav, &w->eav_cur)) != DT_OK)
        return kv_fail(w, rc, "writing eav");
    dt_kv_bytes k = {w->key.p, w->key.len};
    if ((rc = kv_cursor_put(w->eav_cur, &k, &txv, 0)) != DT_OK)
        return kv_fail(w, rc, "writing eav");
    if ((rc = dl_key_ave(&w->key, aid, vk->p, vk->len, e)) != DT_OK) return rc;
    k.ptr = w->key.p;
    k.len = w->key.len;
    if (!w->ave_cur && (rc = kv_cursor_open(w->txn, st->ave, &w->ave_cur)) != DT_OK)
        return kv_fail(w, rc, "writing ave");
    if ((rc = kv_cursor_put(w->ave_cur, &k, &txv, 0)) != DT_OK)
        return kv_fail(w, rc, "writing ave");
    if (!truncated && (rc = ave_neighbour_has(w, aid, vk->p, vk->len, &used)) != DT_OK) return rc;
    if ((rc = delta(w, aid, 1, used ? 0 : 1)) != DT_OK) return rc;
    return record(w, e, aid, enc, enc_len, 1);
}

int dl_datom_retract(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t enc_len,
                     int *found) {
    const dl_store *st = w->st;
    int64_t asserted = 0;
    int rc = dl_datom_exists(st, w->txn, e, aid, enc, enc_len, &asserted, found);
    if (rc != DT_OK || !*found) return rc;
    int truncated = 0;
    dt_buf *vk = &w->tmp;
    vk->len = 0;
    if ((rc = dl_vkey_from_enc(enc, enc_len, vk, &truncated)) != DT_OK) return rc;
    if ((rc = dl_key_eav(&w->key, e, aid, vk->p, vk->len)) != DT_OK) return rc;
    if ((rc = dt_kv_del(st->kv, w->txn, st->eav, w->key.p, w->key.len, NULL, 0)) != DT_OK)
        return kv_fail(w, rc, "deleting from eav");
    const dl_attr *a = w->schema ? dl_schema_by_aid(w->schema, aid) : NULL;
    if (w->history && !(a && a->no_history)) {
        uint8_t b8[8];
        if ((rc = dl_key_history(&w->key, e, aid, vk->p, vk->len, w->tx)) != DT_OK) return rc;
        dl_put_u64(b8, (uint64_t)asserted);
        if ((rc = dt_kv_put(st->kv, w->txn, st->history, w->key.p, w->key.len, b8, 8, 0)) != DT_OK)
            return kv_fail(w, rc, "writing history");
    }
    if ((rc = dl_key_ave(&w->key, aid, vk->p, vk->len, e)) != DT_OK) return rc;
    if ((rc = dt_kv_del(st->kv, w->txn, st->ave, w->key.p, w->key.len, NULL, 0)) != DT_OK)
        return kv_fail(w, rc, "deleting from ave");
    int used = 0;
    if ((rc = value_in_use(w, aid, vk->p, vk->len, &used)) != DT_OK) return rc;
    /* the long value stays while history may refer to it (also for a
     * :db/noHistory attribute: entries written before it was set may) */
    if (truncated && !used && !w->history) {
        if ((rc = dl_key_giant(&w->key, aid, vk->p, vk->len)) != DT_OK) return rc;
        rc = dt_kv_del(st->kv, w->txn, st->giants, w->key.p, w->key.len, NULL, 0);
        if (rc != DT_OK && rc != DT_NOTFOUND) return kv_fail(w, rc, "deleting a long value");
    }
    if ((rc = delta(w, aid, -1, used ? 0 : -1)) != DT_OK) return rc;
    return record(w, e, aid, enc, enc_len, 0);
}

/*
 * write_txlog: the tx-log entry of the recorded changes, msgpack
 * [[e :attr v added] ...].  Written one change at a time into one buffer
 * rather than built as one dt_value tree and then encoded: the tree of a
 * million-datom transaction took a few hundred bytes per datom.
 */
static int write_txlog(dl_wtxn *w, const dl_schema *s) {
    if (w->nchanges == 0) return DT_OK;
    dt_buf b = DT_BUF_INIT;
    int rc = dl_msgpack_append_array(w->nchanges, &b);
    for (size_t i = 0; i < w->nchanges && rc == DT_OK; i++) {
        const dl_change *c = &w->changes[i];
        const dl_attr *a = dl_schema_by_aid(s, c->aid);
        if (!a) {
            rc = dt__seterr(NULL, DT_INTERNAL, "store: change of unknown attribute %u", c->aid);
            break;
        }
        /* [e :attr v added] on the stack, the keyword a view of the
         * schema's ident: only the decoded value is allocated */
        dt_value it[4], d;
        d.type = DT_VECTOR;
        d.u.seq.items = it;
        d.u.seq.n = 4;
        dt_value_long(c->e, &it[0]);
        it[1].type = DT_KEYWORD;
        it[1].u.s.ptr = (char *)a->ident;
        it[1].u.s.len = a->ident_len;
        dt_value_bool(c->added, &it[3]);
        size_t used;
        rc = dl_codec_decode(w->encs.p + c->enc_off, c->enc_len, &it[2], &used);
        if (rc == DT_OK) rc = dl_msgpack_append(&d, &b);
        dt_value_free(&it[2]);
    }
    if (rc == DT_OK) rc = dl_txlog_put_bytes(w->st, w->txn, w->tx, b.p, b.len);
    dt_buf_release(&b);
    return rc;
}

int dl_wtxn_finish(dl_wtxn *w, const dl_schema *s) {
    kv_cursor *sc = NULL; /* one cursor for every attribute's record */
    for (uint32_t aid = 0; aid < w->ndeltas; aid++) {
        dl_stat_delta *d = &w->deltas[aid];
        if (!d->count && !d->distinct) continue;
        int rc = dl_stats_add_cur(w->st, w->txn, &sc, aid, d->count, d->distinct);
        if (rc != DT_OK) {
            kv_cursor_close(sc);
            return rc;
        }
        d->count = d->distinct = 0;
    }
    kv_cursor_close(sc);
    return write_txlog(w, s);
}

/* }====== */
