/*
 * txlog.c -- the tx-log reader (datalog layer): txlog.h.
 */
#include "txlog.h"

#include <stdint.h>
#include <string.h>

#include "base.h"
#include "codec.h"
#include "index.h"
#include "schema.h"

int dl_log_open(dl_log *l, const dl_store *st, dt_kv_txn *txn, int64_t from_tx, int64_t to_tx,
                int64_t from_ms, int64_t to_ms) {
    memset(l, 0, sizeof *l);
    l->st = st;
    l->txn = txn;
    l->from_tx = from_tx;
    l->to_tx = to_tx;
    l->from_ms = from_ms;
    l->to_ms = to_ms;
    int rc = dl_scan_open(&l->scan, txn, st->txlog, NULL, 0, 0);
    if (rc != DT_OK) {
        memset(l, 0, sizeof *l);
        return dt__seterr(NULL, rc, "log: cannot open the tx-log: %s", dt_errmsg(NULL));
    }
    if (from_tx > 0) {
        uint8_t k[8];
        dl_put_u64(k, (uint64_t)from_tx);
        if ((rc = dl_scan_seek(&l->scan, k, 8)) != DT_OK) {
            dl_scan_close(&l->scan);
            memset(l, 0, sizeof *l);
            return dt__seterr(NULL, rc, "log: cannot read the tx-log: %s", dt_errmsg(NULL));
        }
    }
    if (from_tx > to_tx || from_ms > to_ms) l->done = 1;
    return DT_OK;
}

static void clear_current(dl_log *l) {
    dt_value_free(&l->entry);
    dt_value_free(&l->meta);
    l->ndatoms = 0;
}

void dl_log_close(dl_log *l) {
    if (!l->st) return;
    clear_current(l);
    dt__free(l->datoms);
    dl_scan_close(&l->scan);
    memset(l, 0, sizeof *l);
}

static int corrupt(int64_t tx, const char *why) {
    return dt__seterr(NULL, DT_CORRUPT, "log: the entry of transaction %lld is malformed: %s",
                      (long long)tx, why);
}

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "log: out of memory"); }

/* Adds (k, v) to the metadata map being built in kv[0..*n); a key seen
 * before turns its value into a set.  v is copied. */
static int meta_put(dt_value *kv, size_t *n, const dt_value *k, const dt_value *v) {
    for (size_t i = 0; i < *n; i += 2) {
        if (!dt_value_equal(&kv[i], k)) continue;
        dt_value *old = &kv[i + 1];
        if (old->type != DT_SET) {
            dt_value s;
            if (dt_value_seq(DT_SET, 1, &s) != DT_OK) return DT_NOMEM;
            s.u.seq.items[0] = *old;
            *old = s;
        }
        dt_value *ni = dt__realloc(old->u.seq.items, (old->u.seq.n + 1) * sizeof *ni);
        if (!ni) return DT_NOMEM;
        old->u.seq.items = ni;
        if (dt_value_copy(v, &ni[old->u.seq.n]) != DT_OK) return DT_NOMEM;
        old->u.seq.n++;
        return DT_OK;
    }
    if (dt_value_copy(k, &kv[*n]) != DT_OK) return DT_NOMEM;
    if (dt_value_copy(v, &kv[*n + 1]) != DT_OK) return DT_NOMEM;
    *n += 2;
    return DT_OK;
}

/* The :db/txInstant of tx from the EAV index (for entries that do not
 * list it: bulk loads). */
static int eav_instant(dl_log *l, int64_t tx, int64_t *out) {
    *out = 0;
    dl_cursor c;
    int rc = dl_cursor_open(&c, l->st, l->txn, DL_INDEX_EAV);
    if (rc != DT_OK) return rc;
    dl_ikey k = {.n = 2, .e = tx, .aid = DL_AID_TXINSTANT};
    dl_datom d;
    if ((rc = dl_cursor_seek(&c, &k, 2, NULL)) == DT_OK) rc = dl_cursor_next(&c, &d);
    if (rc == DT_ROW && d.e == tx && d.aid == DL_AID_TXINSTANT && d.vlen == 9 &&
        d.v[0] == DL_CODEC_TAG(DT_INSTANT))
        *out = dl_codec_get_int(d.v);
    dl_cursor_close(&c);
    if (rc != DT_ROW && rc != DT_DONE) return rc;
    return DT_OK;
}

/* Decodes the entry of tx into l's current fields. */
static int load_entry(dl_log *l, int64_t tx, const dt_kv_bytes *val, int64_t *instant) {
    size_t used;
    *instant = 0;
    int rc = dt_msgpack_decode(val->ptr, val->len, &l->entry, &used);
    if (rc == DT_NOMEM) return nomem();
    if (rc != DT_OK) return corrupt(tx, dt_errmsg(NULL));
    const dt_value *en = &l->entry;
    if (en->type == DT_MAP) {
        /* a bulk load: {:bulk-load n} */
        if (dt_value_copy(en, &l->meta) != DT_OK) return nomem();
        return eav_instant(l, tx, instant);
    }
    if (en->type != DT_VECTOR && en->type != DT_LIST) return corrupt(tx, "not a vector");
    size_t n = en->u.seq.n;
    if (n > l->capdatoms) {
        dt_datom *nd = dt__realloc(l->datoms, n * sizeof *nd);
        if (!nd) return nomem();
        l->datoms = nd;
        l->capdatoms = n;
    }
    size_t nmeta = 0;
    for (size_t i = 0; i < n; i++) {
        const dt_value *d = &en->u.seq.items[i];
        if ((d->type != DT_VECTOR && d->type != DT_LIST) || d->u.seq.n != 4 ||
            d->u.seq.items[0].type != DT_LONG || d->u.seq.items[1].type != DT_KEYWORD ||
            d->u.seq.items[3].type != DT_BOOL)
            return corrupt(tx, "a change is not [e :attr v added]");
        if (d->u.seq.items[0].u.i == tx && d->u.seq.items[3].u.b) nmeta++;
    }
    if ((rc = dt_value_seq(DT_MAP, 2 * nmeta, &l->meta)) != DT_OK) return nomem();
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const dt_value *it = en->u.seq.items[i].u.seq.items;
        dt_datom *o = &l->datoms[i];
        o->e = it[0].u.i;
        o->a = it[1].u.s.ptr;
        o->v = it[2]; /* borrowed: a shallow view of the entry's value */
        o->tx = tx;
        o->added = it[3].u.b != 0;
        if (o->e != tx || !o->added) continue;
        if (meta_put(l->meta.u.seq.items, &m, &it[1], &it[2]) != DT_OK) return nomem();
        if (!strcmp(it[1].u.s.ptr, "db/txInstant") && it[2].type == DT_INSTANT)
            *instant = it[2].u.i;
    }
    l->meta.u.seq.n = m; /* repeated keys made fewer entries */
    l->ndatoms = n;
    return DT_OK;
}

/* Steps to the next transaction in range (an instant range is checked
 * against the :db/txInstant datom of each transaction); decodes its entry
 * when `full`. */
static int step(dl_log *l, int full, int64_t *tx_out, int64_t *instant_out) {
    int by_time = l->from_ms != INT64_MIN || l->to_ms != INT64_MAX;
    clear_current(l);
    while (!l->done) {
        dt_kv_bytes k, v;
        int rc = dl_scan_next(&l->scan, &k, &v);
        if (rc == DT_DONE) break;
        if (rc != DT_ROW)
            return dt__seterr(NULL, rc, "log: cannot read the tx-log: %s", dt_errmsg(NULL));
        if (k.len != 8)
            return dt__seterr(NULL, DT_CORRUPT, "log: a tx-log key of %zu bytes", k.len);
        int64_t tx = (int64_t)dl_get_u64(k.ptr);
        if (tx > l->to_tx) break;
        if (tx < l->from_tx) continue;
        int64_t instant = 0;
        if (by_time) {
            /* a point read of the transaction's :db/txInstant datom costs
             * less than decoding its entry, which may be large */
            if ((rc = eav_instant(l, tx, &instant)) != DT_OK) return rc;
            if (instant < l->from_ms || instant > l->to_ms) continue;
        }
        if (full) {
            if ((rc = load_entry(l, tx, &v, &instant)) != DT_OK) {
                clear_current(l);
                return rc;
            }
        }
        *tx_out = tx;
        *instant_out = instant;
        return DT_ROW;
    }
    l->done = 1;
    return DT_DONE;
}

int dl_log_next(dl_log *l, dt_log_tx *out) {
    memset(out, 0, sizeof *out);
    int64_t tx, instant;
    int rc = step(l, 1, &tx, &instant);
    if (rc != DT_ROW) return rc;
    out->tx = tx;
    out->instant = instant;
    out->meta = &l->meta;
    out->datoms = l->datoms;
    out->n_datoms = l->ndatoms;
    return DT_ROW;
}

int dl_log_next_tx(dl_log *l, int64_t *tx, int64_t *instant) {
    *tx = *instant = 0;
    return step(l, 0, tx, instant);
}
