/*
 * index.h -- the datom indexes (datalog layer): the one owner of the datom
 * key layout.  Only index.c builds or parses EAV, AVE, history and giants
 * keys; every other module goes through the functions below.  It offers
 * key builders and parsers, the datom writes (with history, statistics
 * deltas and the storage of long values), point look-ups, and a zero-copy
 * datom cursor that yields datoms in exact value order, also where keys
 * hold only a prefix of a long value.
 *
 * {====== Key layout (docs/format.md, "The database directory") ======
 *
 *   eav      e(8) | aid(4) | vkey            -> tx(8)
 *   ave      aid(4) | vkey | e(8)            -> tx(8)
 *   history  e(8) | aid(4) | vkey | rtx(8)   -> asserted tx(8)
 *   giants   aid(4) | vkey (a truncated one) -> the full value encoding
 *
 * Integers are big-endian, so ids order numerically.  vkey is the codec
 * encoding of the value (codec.h), or, when that is longer than
 * DL_VKEY_MAX bytes, a truncated key P | marker | hash whose full encoding
 * is kept once per (aid, vkey) in giants.  Equal values have equal vkeys
 * and writes refuse two values with the same truncated key, so within one
 * attribute vkey equality is value equality.
 *
 * Order.  memcmp order of keys is datom order except among long values:
 * a truncated key orders by its prefix, then by marker and hash.  Every
 * truncated prefix P is at least DL_INDEX_STABLE bytes long (see below),
 * so keys whose vkeys differ within their first DL_INDEX_STABLE bytes are
 * in value order, and the keys that may be out of order form *runs*:
 * adjacent keys of one (e, aid) in EAV, or of one aid in AVE, whose vkeys
 * share their first DL_INDEX_STABLE bytes.  The cursor sorts such a run by
 * full value before yielding it.
 * }====== */
#ifndef DL_INDEX_H
#define DL_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "codec.h"
#include "datolite.h"
#include "kv.h"
#include "schema.h"
#include "store.h"

/* Longest value part of a key: the history key carries e, aid and rtx. */
#define DL_VKEY_MAX (DL_KEY_MAX - 8 - 4 - 8)

/*
 * DL_INDEX_STABLE: a lower bound on the prefix length P of every truncated
 * vkey.  The codec cuts at the last cut point that leaves room for a marker
 * (at most 2 bytes) and the 8-byte hash, and cut points are never more than
 * 17 bytes apart (a uuid inside a tuple is the longest uncuttable field),
 * so P >= DL_VKEY_MAX - 10 - 17 = 464; 32 bytes of margin give 459.  Keys
 * whose vkeys are shorter than this are never truncated and never part of
 * a run.  test_datalog_index checks the bound on adversarial values.
 */
#define DL_INDEX_STABLE (DL_VKEY_MAX - 32)

/* The value of an eav, ave or history entry: the asserting tx, 8 bytes. */
#define DL_INDEX_VAL_LEN 8
static inline void dl_index_val(uint8_t dst[DL_INDEX_VAL_LEN], int64_t tx) {
    dl_put_u64(dst, (uint64_t)tx);
}

/* dl_index_val_parse: the asserting tx of an eav, ave or history entry's
 * value v[0..vlen) into *tx.  DT_OK, or DT_CORRUPT (not DL_INDEX_VAL_LEN
 * bytes; *tx is then 0; no message, callers add context). */
static inline int dl_index_val_parse(const void *v, size_t vlen, int64_t *tx) {
    *tx = 0;
    if (vlen != DL_INDEX_VAL_LEN) return DT_CORRUPT;
    *tx = (int64_t)dl_get_u64((const uint8_t *)v);
    return DT_OK;
}

/* The two datom indexes (values as dt_index). */
typedef enum dl_index { DL_INDEX_EAV = 0, DL_INDEX_AVE = 1 } dl_index;

/* {====== Keys ====== */

/* Builds an eav / ave key (or key prefix: vklen may be 0, and for AVE e is
 * then still appended) into b, which is reset first.  DT_OK / DT_NOMEM. */
int dl_key_eav(dt_buf *b, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen);
int dl_key_ave(dt_buf *b, uint32_t aid, const uint8_t *vkey, size_t vklen, int64_t e);

/* The same into dst (room for 12 + vklen bytes); returns the key length.
 * For hot paths that keep a fixed buffer of DL_KEY_MAX bytes. */
size_t dl_key_eav_to(uint8_t *dst, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen);
size_t dl_key_ave_to(uint8_t *dst, uint32_t aid, const uint8_t *vkey, size_t vklen, int64_t e);

/*
 * dl_key_parse: splits an eav or ave key into e, aid and vkey (a view into
 * key); `tx` of *out is left 0 and `truncated` is set only for keys long
 * enough to be truncated (it costs a scan of the vkey).  Returns DT_OK or
 * DT_CORRUPT (key shorter than its ids; no message, callers add context).
 */
typedef struct dl_datom {
    int64_t e;
    uint32_t aid;
    const uint8_t *v; /* the value as the key holds it: full encoding or truncated key */
    size_t vlen;
    int truncated; /* 1: v is a truncated key; dl_cursor_value gives the full encoding */
    int64_t tx;    /* the asserting transaction */
} dl_datom;
int dl_key_parse(dl_index index, const uint8_t *key, size_t klen, dl_datom *out);

/*
 * dl_key_lead_len: the number of bytes of `key` (an eav or ave key) that
 * hold its first n components in index order (n = 1..3): EAV 8, 12, klen;
 * AVE 4, klen - 8, klen.  Two keys have the same first n components iff
 * these prefixes are equal.  The AVE key's 2-component prefix (aid | vkey)
 * is also the giants key of its value.
 */
size_t dl_key_lead_len(dl_index index, unsigned n, size_t klen);

/*
 * dl_key_history: builds into b (reset first) the history key of the
 * datom [e aid vkey] retracted by rtx: its eav key followed by rtx, so
 * dl_key_lead_len(DL_INDEX_EAV, 1 or 2, ...) also gives the e and e|aid
 * prefixes of a history key.  DT_OK / DT_NOMEM.
 */
int dl_key_history(dt_buf *b, int64_t e, uint32_t aid, const uint8_t *vkey, size_t vklen,
                   int64_t rtx);

/*
 * dl_key_parse_history: splits a history key into e, aid and vkey (a view
 * into key, `truncated` set as by dl_key_parse; `tx` of *out left 0: the
 * asserting tx is the entry's value) and the retracting tx *rtx.  Returns
 * DT_OK or DT_CORRUPT (key too short to hold e, aid, a value byte and
 * rtx; no message, callers add context).
 */
int dl_key_parse_history(const uint8_t *key, size_t klen, dl_datom *out, int64_t *rtx);

/*
 * dl_key_giant: builds into b (reset first) the giants key of a long
 * value of attribute aid whose truncated key is vkey: aid | vkey, which is
 * also the 2-component prefix of its AVE keys.  DT_OK / DT_NOMEM.
 * dl_key_giant_to writes it into dst (room for 4 + vklen bytes) and
 * returns its length.
 */
int dl_key_giant(dt_buf *b, uint32_t aid, const uint8_t *vkey, size_t vklen);
size_t dl_key_giant_to(uint8_t *dst, uint32_t aid, const uint8_t *vkey, size_t vklen);

/*
 * dl_key_parse_giant: splits a giants key into aid and vkey (out->aid,
 * out->v, out->vlen, a view into key; out->truncated 1, e and tx 0).
 * Returns DT_OK or DT_CORRUPT (no attribute id and value byte, or the
 * value part is not a truncated value key; no message).
 */
int dl_key_parse_giant(const uint8_t *key, size_t klen, dl_datom *out);

/* }====== */

/* {====== Values in keys ====== */

/*
 * dl_vkey_from_enc: appends the key form of the value whose full encoding
 * is enc[0..len) to `out`: the encoding itself, or a truncated key when it
 * is longer than DL_VKEY_MAX (*truncated set).  DT_OK / DT_NOMEM /
 * DT_CORRUPT (enc is not an encoding).
 */
int dl_vkey_from_enc(const uint8_t *enc, size_t len, dt_buf *out, int *truncated);

/*
 * dl_value_full_enc: the full encoding of the value whose key form is vkey
 * (for attribute aid): vkey itself, or the encoding kept in giants (a view
 * valid as a dt_kv_get_view result).  DT_OK / DT_CORRUPT (missing from
 * giants, with a message).
 */
int dl_value_full_enc(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *vkey,
                      size_t vklen, dt_kv_bytes *out);

/* dl_value_decode_key: decodes the value of a key form into *out (owned). */
int dl_value_decode_key(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *vkey,
                        size_t vklen, dt_value *out);

/* }====== */

/* {====== Point look-ups ====== */

/* dl_datom_exists: *out = 1 if [e aid v] is stored (enc: v's full
 * encoding), its tx in *tx when not NULL.  DT_OK or an error. */
int dl_datom_exists(const dl_store *st, dt_kv_txn *txn, int64_t e, uint32_t aid, const uint8_t *enc,
                    size_t enc_len, int64_t *tx, int *out);

/*
 * dl_find_entity: the entity holding value enc (full encoding) for
 * attribute aid (the smallest id when several do), *found 0 if none.
 * DT_OK or an error with a message.
 */
int dl_find_entity(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *enc,
                   size_t enc_len, int64_t *e, int *found);

/* }====== */

/* {====== The datom cursor ======
 *
 * A dl_cursor walks one index of a snapshot or write transaction.  It is
 * positioned with dl_cursor_seek, which may be called any number of times
 * (also after the cursor reached its end) and steps with dl_cursor_next.
 *
 *   dl_ikey from = {.n = 2, .aid = a, .v = enc, .vlen = n};   AVE: a, v
 *   dl_cursor_seek(&c, &from, 1, NULL);  datoms of attribute a with v >= enc
 *   while ((rc = dl_cursor_next(&c, &d)) == DT_ROW) ... d.e, d.aid, d.v ...
 *
 * Order: datoms come in index order with values compared by their full
 * value (dt_value_compare order, the codec's memcmp order of full
 * encodings), also for long values whose keys hold only a prefix: a run
 * of such keys (see the top of this file) is read, sorted by full value
 * (then e) and yielded from a buffer.  Bounds (from, until, the match
 * prefix) compare full values.
 *
 * Cost: no allocation per datom.  Keys are read from the KV layer in
 * batches (one after a seek, doubling up to DL_CURSOR_BATCH), and a key
 * whose vkey is shorter than DL_INDEX_STABLE (all but long values) costs
 * an LMDB cursor step, a masked compare with the match prefix and the
 * parse, inline in the caller (cursor_bench on a quiet machine: 0.8x raw
 * LMDB for scans, 0.92-0.95x for seeks; benchmarks/README.md).  A run
 * costs one giants look-up per truncated key and a sort; its buffer
 * grows once and is reused.  A seek costs one LMDB SET_RANGE (plus a
 * re-encoding of a value longer than DL_VKEY_MAX).
 *
 * Lifetime: the views a datom holds (v, and what dl_cursor_value gives)
 * point into the LMDB map: valid until the transaction ends or, for a
 * write transaction, until its next write.  A write in the cursor's
 * transaction also invalidates the keys it has buffered: seek again
 * before stepping on.  Close the cursor before its transaction ends
 * (dl_cursor_close; a cursor of an ended txn only closes).  A cursor is
 * used by one thread at a time.
 */

/* Leading components of a datom in index order (EAV: e, aid, v; AVE:
 * aid, v, e); n (0..3) says how many are set. */
typedef struct dl_ikey {
    unsigned n;
    int64_t e;
    uint32_t aid;
    const uint8_t *v; /* the value's full encoding; copied by dl_cursor_seek */
    size_t vlen;
} dl_ikey;

/* One entry of a run being yielded in value order. */
typedef struct dl_run_ent {
    const uint8_t *key, *val, *full; /* views: key, tx value, full value encoding */
    size_t klen, flen;
    int truncated;
} dl_run_ent;

/* Entries a cursor reads from the KV layer at once (at most; it starts
 * with one after a seek and doubles, so short prefixes read no more). */
#define DL_CURSOR_BATCH 256

/* The cursor; embed it, treat every field as private. */
typedef struct dl_cursor {
    const dl_store *st;
    dt_kv_txn *txn;
    dl_index index;
    kv_cursor *kc;
    int slow;           /* the next datom needs dl__cursor_next_slow */
    int state;          /* DL__CS_* */
    dt_kv_bytes pk, pv; /* the raw entry being considered (slow path) */
    dt_kv_entry batch[DL_CURSOR_BATCH];
    size_t nb, ib, want;          /* batch[ib..nb) are next; the next refill reads want */
    int kv_end;                   /* the KV cursor has no next entry */
    uint8_t mpre[DL_KEY_MAX + 8]; /* match prefix: keys must start with it */
    size_t mlen;
    uint64_t mw[2], mm[2]; /* its first 16 bytes as words, and their masks */
    dl_ikey from, until;   /* from: the skip bound inside the first run */
    dt_buf fromv, untilv;
    int skip, has_until;
    dl_run_ent *run;
    size_t nrun, caprun, irun;
    const uint8_t *cur_full; /* cur == 2: full value of the current datom (NULL: fetch) */
    size_t cur_flen;
    uint32_t cur_aid; /* ... fetched from giants for this key form */
    const uint8_t *cur_v;
    size_t cur_vlen;
    int cur; /* current datom: 0 none, 1 batch[ib - 1] (inline path), 2 cur_* fields */
    dt_buf tmp;
    int cur_added;         /* the current datom's added flag (0 only in history views) */
    struct dl_vcursor *vc; /* a time view's cursor state (NULL: the current database) */
} dl_cursor;

/*
 * dl_cursor_open: initialises *c on `index` in txn (a snapshot or write
 * transaction of the store st).  DT_OK / DT_NOMEM / DT_MISUSE (txn ended).
 * On error *c is closed (dl_cursor_close on it is harmless).
 */
int dl_cursor_open(dl_cursor *c, const dl_store *st, dt_kv_txn *txn, dl_index index);

/*
 * dl_cursor_open_view: as dl_cursor_open, on the time view `view` of txn
 * (NULL: the current database, exactly dl_cursor_open).  The cursor then
 * yields the view's datoms with the same order, bounds and lifetime
 * rules (see "Time views" below); the view must outlive the cursor.
 */
typedef struct dl_view dl_view;
int dl_cursor_open_view(dl_cursor *c, const dl_store *st, dt_kv_txn *txn, dl_view *view,
                        dl_index index);

/* dl_cursor_added: the added flag of the current datom: 1 (an assertion),
 * or 0 for a retraction, which only a history view yields. */
static inline int dl_cursor_added(const dl_cursor *c) { return c->cur_added; }

/* dl_cursor_close: releases the cursor (NULL-safe, idempotent after open
 * or a zeroed struct). */
void dl_cursor_close(dl_cursor *c);

/*
 * dl_cursor_seek: positions c so that dl_cursor_next yields, in index
 * order, the datoms d >= from (comparing from's n leading components;
 * n = 0: the start of the index) whose first `match` components equal
 * from's (match <= from->n; 0: to the end of the index) and, when until is
 * not NULL, whose first until->n components are <= until's (inclusive
 * bound; until->n must be >= match and until must agree with from on the
 * first `match` components; until->n == match adds nothing).  from's and
 * until's value bytes are copied.  A value given in from or until is a
 * full encoding (any length; the cursor cuts it where keys do).
 * Seeking again discards the previous position, also after DT_DONE.
 * Returns DT_OK, DT_NOMEM, DT_MISUSE (bad n/match), DT_CORRUPT
 * (a value that is not an encoding) or a KV error.
 */
int dl_cursor_seek(dl_cursor *c, const dl_ikey *from, unsigned match, const dl_ikey *until);

/*
 * dl_cursor_next: the next datom into *out (views, see Lifetime; *out may
 * be written also when the result is not DT_ROW).
 * Returns DT_ROW, DT_DONE (and again DT_DONE until the next seek) or an
 * error (DT_CORRUPT with a message for a malformed index).
 * Inline: the common case (the next key is buffered, holds a short value
 * and no bound needs checking) costs a few loads and compares in the
 * caller's loop; everything else is dl__cursor_next_slow.
 */
static inline int dl_cursor_next(dl_cursor *c, dl_datom *out);

/*
 * dl_cursor_value: the full encoding of the last datom dl_cursor_next or
 * dl_cursor_last yielded: its key bytes, or for a truncated key the
 * encoding kept in giants (one look-up, none when a run sort already
 * fetched it).  DT_OK, DT_MISUSE (no current datom) or DT_CORRUPT.
 */
int dl_cursor_value(dl_cursor *c, dt_kv_bytes *out);

/*
 * dl_cursor_last: the last datom (in the same exact order) whose first
 * prefix->n components equal prefix's, into *out; it becomes the current
 * datom (dl_cursor_value) and the cursor is at its end (dl_cursor_next
 * gives DT_DONE).  DT_ROW, DT_DONE (no such datom) or an error.
 */
int dl_cursor_last(dl_cursor *c, const dl_ikey *prefix, dl_datom *out);

/*
 * dl_cursor_count: consumes the rest of the iteration and adds the number
 * of datoms dl_cursor_next would have yielded to *out.  Without an until
 * bound it counts keys without parsing or sorting them.  DT_OK or an error.
 */
int dl_cursor_count(dl_cursor *c, uint64_t *out);

/* {------ The inline part of dl_cursor_next (private to the module) ------ */

#define DL__CS_DONE   0 /* nothing more until the next seek */
#define DL__CS_ACTIVE 1 /* entries come from the batch, then the KV cursor */
#define DL__IDS_LEN   12

int dl__cursor_next_slow(dl_cursor *c, dl_datom *out);

/* Big-endian loads (one instruction each where the compiler can). */
static inline uint64_t dl__ld64(const uint8_t *p) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
#else
    return dl_get_u64(p);
#endif
}

static inline uint32_t dl__ld32(const uint8_t *p) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
#else
    return dl_get_u32(p);
#endif
}

/* 1 when key k[0..kl) starts with the match prefix: a prefix of up to 16
 * bytes is two masked word compares when the key has 16 bytes. */
static inline int dl__in_prefix(const dl_cursor *c, const uint8_t *k, size_t kl) {
    size_t n = c->mlen;
    if (kl < n) return 0;
    if (n <= 16 && kl >= 16) {
        uint64_t w0, w1;
        memcpy(&w0, k, 8);
        memcpy(&w1, k + 8, 8);
        return (((w0 ^ c->mw[0]) & c->mm[0]) | ((w1 ^ c->mw[1]) & c->mm[1])) == 0;
    }
    return memcmp(k, c->mpre, n) == 0;
}

static inline int dl_cursor_next(dl_cursor *c, dl_datom *out) {
    if (!c->slow && c->ib < c->nb) {
        const dt_kv_entry *en = &c->batch[c->ib];
        const uint8_t *k = (const uint8_t *)en->key.ptr;
        size_t kl = en->key.len;
        if (kl > DL__IDS_LEN && kl - DL__IDS_LEN < DL_INDEX_STABLE && en->val.len == 8 &&
            dl__in_prefix(c, k, kl)) {
            c->ib++;
            if (c->index == DL_INDEX_EAV) {
                out->e = (int64_t)dl__ld64(k);
                out->aid = dl__ld32(k + 8);
                out->v = k + 12;
            } else {
                out->aid = dl__ld32(k);
                out->v = k + 4;
                out->e = (int64_t)dl__ld64(k + kl - 8);
            }
            out->vlen = kl - DL__IDS_LEN;
            out->truncated = 0;
            out->tx = (int64_t)dl__ld64((const uint8_t *)en->val.ptr);
            c->cur = 1;
            return DT_ROW;
        }
    }
    return dl__cursor_next_slow(c, out);
}

/* }------ */

/* }====== */

/* {====== History bounds (dt_history_gc) ======
 *
 * DL_META_HISTORY_FLOOR ("history_floor", a u64 in dt/meta): the history
 * watermark.  History entries retracted before it have been dropped (or
 * are being dropped by a garbage collection that was interrupted, see
 * dl_history_gc_step), so no view of the database before it can be
 * built.  Absent: no collection ever ran (floor 0).
 */
#define DL_META_HISTORY_FLOOR "history_floor"

/* dl_history_floor: the watermark into *out (0 when none).  DT_OK, or
 * DT_CORRUPT / a KV error with a message (NULL handle). */
int dl_history_floor(const dl_store *st, dt_kv_txn *txn, int64_t *out);

/* dl_history_set_floor: writes the watermark (write txn). */
int dl_history_set_floor(const dl_store *st, dt_kv_txn *txn, int64_t floor);

/*
 * dl_history_gc_step: one bounded batch of a history garbage collection in
 * write txn `txn`: walks dt/history in key order from the first key >=
 * *resume (from the start when resume->len is 0) and deletes the entries
 * whose retracting tx is < before.  It stops after `max` deletions or
 * 16 * max entries looked at; resume then holds the key to continue
 * from and *done is 0, else *done is 1.  *dropped is increased by the
 * number deleted.  Long values in dt/giants are left alone (another
 * history entry may refer to them).  DT_OK, DT_NOMEM, DT_CORRUPT (a
 * malformed key), DT_MAPFULL_RETRY or a KV error, with a message.
 */
int dl_history_gc_step(const dl_store *st, dt_kv_txn *txn, int64_t before, size_t max,
                       dt_buf *resume, uint64_t *dropped, int *done);

/* }====== */

/* {====== Time views ======
 *
 * A dl_view describes the database at another time; a cursor opened on
 * it (dl_cursor_open_view) merges the current index with dt/history:
 *
 *   as_of A   datoms asserted at tx <= A and not retracted at a tx <= A:
 *             current datoms with tx <= A, and history entries with
 *             asserted <= A < rtx;
 *   since S   of those, only datoms asserted at tx > S;
 *   history   instead of the datoms true at A, every event in (S, A]:
 *             assertions (added 1, tx = the asserting tx) and
 *             retractions (added 0, tx = the retracting tx), current
 *             datoms being assertions.  Events of one datom come in tx
 *             order (then retraction first).
 *
 * Cost: the current index is read as by a plain cursor (filtered by tx);
 * the history side comes from a per-seek read of dt/history when the
 * seek names the entity (EAV), else from the cache (dl_hcache) of every
 * history entry sorted in EAV and AVE order, built once per snapshot (a
 * scan of dt/history) at the first read that needs it and shared by all
 * the views of that snapshot; each view keeps pointers to the cached
 * entries that give it a datom (per attribute for AVE reads of one
 * attribute, else per index), selected at its first such read.  A seek
 * of a view costs the plain seek plus a B-tree seek into dt/history
 * (EAV by entity) or a binary search of the selection; each step is a
 * merge of the two sides (no inline path).  The cache copies what it
 * keeps: it reflects the history of the transaction it was built in (a
 * view of a write transaction does not see history written after that).
 * dl_cursor_last on a view steps backward over the current index past
 * datoms outside the view's tx range.  A view is used by one thread at
 * a time (with its snapshot).
 */

/* DL_VIEW_NOW: no as-of bound (the view's as_of); since 0: no since bound. */
#define DL_VIEW_NOW INT64_MAX

/* A snapshot's cache of its history entries in index order, shared by
 * the views of the snapshot (built at the first read that needs it; used
 * by one thread at a time, with the snapshot).  dl_hcache_new: DT_OK /
 * DT_NOMEM; dl_hcache_free: NULL-safe. */
typedef struct dl_hcache dl_hcache;
int dl_hcache_new(dl_hcache **out);
void dl_hcache_free(dl_hcache *hc);

/* dl_view_new: a view with the given bounds (as_of DL_VIEW_NOW: none;
 * since 0: none; history 0/1), reading history through `cache` (borrowed:
 * it must outlive the view; NULL: a cache of the view's own).  DT_OK /
 * DT_NOMEM. */
int dl_view_new(int64_t as_of, int64_t since, int history, dl_hcache *cache, dl_view **out);
void dl_view_free(dl_view *v);
/* dl_view_set_floor: the history watermark (dl_history_floor) the view's
 * snapshot sees: history entries retracted before it are not read (an
 * interrupted dt_history_gc may have left some). */
void dl_view_set_floor(dl_view *v, int64_t floor);
/* The view's parameters. */
void dl_view_params(const dl_view *v, int64_t *as_of, int64_t *since, int *history);

/* }====== */

/* {====== Writing datoms ====== */

/* One datom change recorded by a write context. */
typedef struct dl_change {
    int64_t e;
    uint32_t aid;
    size_t enc_off, enc_len; /* full value encoding in dl_wtxn.encs */
    int64_t tx;              /* the transaction that made the change */
    int added;
} dl_change;

/* Per-attribute statistics deltas. */
typedef struct dl_stat_delta {
    int64_t count;
    int64_t distinct;
} dl_stat_delta;

/*
 * A write context: the datom writes of one logical transaction inside a
 * write txn.  It records every change (for the report and the tx-log) and
 * the statistics deltas, written by dl_wtxn_finish.  Callers read
 * `changes`/`encs` and set `tx` and `history`; the rest is private.
 */
typedef struct dl_wtxn {
    const dl_store *st;
    dt_kv_txn *txn;
    int64_t tx;
    int history; /* record retractions in history (default 1) */
    /* when set, retractions of attributes with :db/noHistory in this
     * schema write no history entry (the caller keeps it current) */
    const dl_schema *schema;
    dt_buf key, key2, tmp;
    kv_cursor *ave_cur; /* cached: value_in_use's seek, then the ave put near it */
    kv_cursor *eav_cur; /* cached: eav puts (a datom's neighbours are on its page) */
    dl_change *changes;
    size_t nchanges, capchanges;
    dt_buf encs;
    dl_stat_delta *deltas; /* indexed by aid */
    size_t ndeltas;
} dl_wtxn;

void dl_wtxn_init(dl_wtxn *w, const dl_store *st, dt_kv_txn *txn, int64_t tx);
/* dl_wtxn_reuse: like dl_wtxn_init, for a context that was initialized
 * before (or zeroed) and whose cursors are closed: keeps its buffers,
 * change list and statistics deltas, emptied, so they need not grow
 * again. */
void dl_wtxn_reuse(dl_wtxn *w, const dl_store *st, dt_kv_txn *txn, int64_t tx);
/* dl_wtxn_close_cursors: closes the cursors the context caches (call
 * before its txn ends if the context outlives it; later writes reopen). */
void dl_wtxn_close_cursors(dl_wtxn *w);
void dl_wtxn_release(dl_wtxn *w);

/*
 * dl_datom_add: adds [e aid v tx] where enc is v's full encoding; the
 * caller has checked that the datom does not exist.  Writes eav, ave and
 * (for long values) giants; records the change and statistics.
 */
int dl_datom_add(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t enc_len);

/*
 * dl_datom_retract: removes the datom [e aid v] (full encoding enc) if it
 * exists (*found tells), recording it in the change list and in history
 * (unless `history` is 0, or w->schema marks aid :db/noHistory).
 */
int dl_datom_retract(dl_wtxn *w, int64_t e, uint32_t aid, const uint8_t *enc, size_t enc_len,
                     int *found);

/*
 * dl_wtxn_finish: writes the statistics deltas and the tx-log entry of
 * the recorded changes (idents from schema `s`).  Call once, before
 * commit.
 */
int dl_wtxn_finish(dl_wtxn *w, const dl_schema *s);

/* }====== */

#endif
