/*
 * log.c -- the transaction log reader (entity layer): iterates the tx-log
 * entries (datalog/store.h, msgpack [[e :attr v added] ...] per
 * transaction, or {:bulk-load n} for a bulk load) of a snapshot.
 */
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "codec.h"
#include "db.h"
#include "entity.h"
#include "index.h"
#include "schema.h"
#include "store.h"

struct dt_log {
    uint32_t magic;
    dt_db *db;
    dl_scan scan;
    int by_time;
    int64_t from, to; /* tx ids or instants, inclusive */
    int done;
    dt_value entry; /* the decoded entry of the current transaction */
    dt_value meta;  /* its metadata map */
    dt_datom *datoms;
    size_t ndatoms, capdatoms;
};

static int log_ok(const dt_log *l) { return l && l->magic == DT_MAGIC_LOG; }

static int log_open(dt_db *db, int by_time, int64_t from, int64_t to, dt_log **out) {
    if (out) *out = NULL;
    if (!dl_db_ok(db) || !out) return dt__seterr(db, DT_MISUSE, "dt_log_open: bad arguments");
    dt_kv_txn *txn = dl_db_txn(db);
    if (!txn) return dt__seterr(db, DT_MISUSE, "dt_log_open: the snapshot has ended");
    dt_log *l = dt__calloc(1, sizeof *l);
    if (!l) return dt__seterr(db, DT_NOMEM, "log: out of memory");
    l->magic = DT_MAGIC_LOG;
    l->db = db;
    l->by_time = by_time;
    l->from = from;
    l->to = to;
    const dl_store *st = dl_db_store(db);
    int rc = dl_scan_open(&l->scan, txn, st->txlog, NULL, 0, 0);
    if (rc != DT_OK) {
        dt__free(l);
        return dt__seterr(db, rc, "log: cannot open the tx-log: %s", dt_errmsg(NULL));
    }
    if (!by_time && from > 0) {
        uint8_t k[8];
        dl_put_u64(k, (uint64_t)from);
        if ((rc = dl_scan_seek(&l->scan, k, 8)) != DT_OK) {
            dl_scan_close(&l->scan);
            dt__free(l);
            return dt__seterr(db, rc, "log: cannot read the tx-log: %s", dt_errmsg(NULL));
        }
    }
    if (from > to) l->done = 1;
    *out = l;
    return DT_OK;
}

int dt_log_open(dt_db *db, int64_t from_tx, int64_t to_tx, dt_log **out) {
    if (to_tx <= 0) to_tx = INT64_MAX;
    if (from_tx < 0) from_tx = 0;
    return log_open(db, 0, from_tx, to_tx, out);
}

int dt_log_open_time(dt_db *db, int64_t from_ms, int64_t to_ms, dt_log **out) {
    return log_open(db, 1, from_ms, to_ms, out);
}

static void clear_current(dt_log *l) {
    dt_value_free(&l->entry);
    dt_value_free(&l->meta);
    l->ndatoms = 0;
}

void dt_log_close(dt_log *l) {
    if (!log_ok(l)) return;
    clear_current(l);
    dt__free(l->datoms);
    dl_scan_close(&l->scan);
    l->magic = DT_MAGIC_DEAD;
    dt__free(l);
}

static int corrupt(dt_log *l, int64_t tx, const char *why) {
    return dt__seterr(l, DT_CORRUPT, "log: the entry of transaction %lld is malformed: %s",
                      (long long)tx, why);
}

/* Adds (k, v) to the metadata map being built in vals[0..*n); a key seen
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
static int eav_instant(dt_log *l, int64_t tx, int64_t *out) {
    *out = 0;
    dl_cursor c;
    int rc = dl_cursor_open(&c, dl_db_store(l->db), dl_db_txn(l->db), DL_INDEX_EAV);
    if (rc != DT_OK) return dt__moveerr(NULL, l, rc);
    dl_ikey k = {.n = 2, .e = tx, .aid = DL_AID_TXINSTANT};
    dl_datom d;
    if ((rc = dl_cursor_seek(&c, &k, 2, NULL)) == DT_OK) rc = dl_cursor_next(&c, &d);
    if (rc == DT_ROW && d.vlen == 9 && d.v[0] == DL_CODEC_TAG(DT_INSTANT))
        *out = dl_codec_get_int(d.v);
    dl_cursor_close(&c);
    if (rc != DT_ROW && rc != DT_DONE) return dt__moveerr(NULL, l, rc);
    return DT_OK;
}

/* Decodes the entry of tx into l's current fields. */
static int load_entry(dt_log *l, int64_t tx, const dt_kv_bytes *val, int64_t *instant) {
    size_t used;
    *instant = 0;
    int rc = dt_msgpack_decode(val->ptr, val->len, &l->entry, &used);
    if (rc == DT_NOMEM) return dt__seterr(l, rc, "log: out of memory");
    if (rc != DT_OK) return corrupt(l, tx, dt_errmsg(NULL));
    const dt_value *en = &l->entry;
    if (en->type == DT_MAP) {
        /* a bulk load: {:bulk-load n} */
        if (dt_value_copy(en, &l->meta) != DT_OK)
            return dt__seterr(l, DT_NOMEM, "log: out of memory");
        return eav_instant(l, tx, instant);
    }
    if (en->type != DT_VECTOR && en->type != DT_LIST) return corrupt(l, tx, "not a vector");
    size_t n = en->u.seq.n;
    if (n > l->capdatoms) {
        dt_datom *nd = dt__realloc(l->datoms, n * sizeof *nd);
        if (!nd) return dt__seterr(l, DT_NOMEM, "log: out of memory");
        l->datoms = nd;
        l->capdatoms = n;
    }
    size_t nmeta = 0;
    for (size_t i = 0; i < n; i++) {
        const dt_value *d = &en->u.seq.items[i];
        if ((d->type != DT_VECTOR && d->type != DT_LIST) || d->u.seq.n != 4 ||
            d->u.seq.items[0].type != DT_LONG || d->u.seq.items[1].type != DT_KEYWORD ||
            d->u.seq.items[3].type != DT_BOOL)
            return corrupt(l, tx, "a change is not [e :attr v added]");
        if (d->u.seq.items[0].u.i == tx && d->u.seq.items[3].u.b) nmeta++;
    }
    if ((rc = dt_value_seq(DT_MAP, 2 * nmeta, &l->meta)) != DT_OK)
        return dt__seterr(l, DT_NOMEM, "log: out of memory");
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
        if (meta_put(l->meta.u.seq.items, &m, &it[1], &it[2]) != DT_OK)
            return dt__seterr(l, DT_NOMEM, "log: out of memory");
        if (!strcmp(it[1].u.s.ptr, "db/txInstant") && it[2].type == DT_INSTANT)
            *instant = it[2].u.i;
    }
    l->meta.u.seq.n = m; /* repeated keys made fewer entries */
    l->ndatoms = n;
    return DT_OK;
}

int dt_log_next(dt_log *l, dt_log_tx *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!log_ok(l) || !out) return dt__seterr(l, DT_MISUSE, "dt_log_next: bad arguments");
    clear_current(l);
    while (!l->done) {
        dt_kv_bytes k, v;
        int rc = dl_scan_next(&l->scan, &k, &v);
        if (rc == DT_DONE) break;
        if (rc != DT_ROW)
            return dt__seterr(l, rc, "log: cannot read the tx-log: %s", dt_errmsg(NULL));
        if (k.len != 8) return dt__seterr(l, DT_CORRUPT, "log: a tx-log key of %zu bytes", k.len);
        int64_t tx = (int64_t)dl_get_u64(k.ptr);
        if (!l->by_time && tx > l->to) break;
        if (!l->by_time && tx < l->from) continue;
        int64_t instant;
        if ((rc = load_entry(l, tx, &v, &instant)) != DT_OK) {
            clear_current(l);
            return rc;
        }
        if (l->by_time && (instant < l->from || instant > l->to)) {
            clear_current(l);
            continue;
        }
        out->tx = tx;
        out->instant = instant;
        out->meta = &l->meta;
        out->datoms = l->datoms;
        out->n_datoms = l->ndatoms;
        return DT_ROW;
    }
    l->done = 1;
    return DT_DONE;
}
