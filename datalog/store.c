/*
 * store.c -- the datom store: databases, format marker, schema records,
 * datom writes with history/tx-log/statistics, oversized values and prefix
 * scans (datalog layer).  See store.h for the key layout.
 */
#include "store.h"
#include "edn.h"

#include <string.h>

/* {====== Opening ====== */

static int open_dbi(dt_kv *kv, const char *name, unsigned flags, dt_kv_dbi *out) {
    int rc = kv_dbi_open_reserved(kv, name, flags, out);
    if (rc != DT_OK && rc != DT_NOTFOUND)
        return dt__seterr(NULL, rc, "store: cannot open database \"%s\": %s", name, dt_errmsg(kv));
    return rc;
}

static int check_marker(dl_store *st, const char *path_hint) {
    void *magic = NULL;
    size_t mlen = 0;
    int rc = dt_kv_get(st->kv, NULL, st->meta, "magic", 5, &magic, &mlen);
    if (rc == DT_NOTFOUND)
        return dt__seterr(NULL, DT_CORRUPT,
                          "store: %s is not a Datolite database (no format marker)", path_hint);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "store: %s", dt_errmsg(st->kv));
    int ok = mlen == strlen(DL_FORMAT_MAGIC) && memcmp(magic, DL_FORMAT_MAGIC, mlen) == 0;
    dt_free(magic);
    if (!ok)
        return dt__seterr(NULL, DT_CORRUPT,
                          "store: %s is not a Datolite database (bad format marker)", path_hint);
    uint64_t version = 0;
    if ((rc = dl_meta_get_u64(st, NULL, "format", 0, &version)) != DT_OK) return rc;
    if (version != DL_FORMAT_VERSION)
        return dt__seterr(NULL, DT_CORRUPT,
                          "store: the database has format version %llu; this build of Datolite "
                          "reads version %u",
                          (unsigned long long)version, DL_FORMAT_VERSION);
    return DT_OK;
}

static int write_marker(dl_store *st) {
    dt_kv_txn *txn = NULL;
    int rc = dt_kv_txn_begin(st->kv, DT_KV_TXN_WRITE, &txn);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "store: %s", dt_errmsg(st->kv));
    rc = dt_kv_put(st->kv, txn, st->meta, "magic", 5, DL_FORMAT_MAGIC, strlen(DL_FORMAT_MAGIC), 0);
    if (rc == DT_OK) rc = dl_meta_put_u64(st, txn, "format", DL_FORMAT_VERSION);
    if (rc == DT_OK) rc = dl_meta_put_u64(st, txn, "next_eid", 1);
    if (rc == DT_OK) rc = dl_meta_put_u64(st, txn, "next_t", 1);
    if (rc != DT_OK) {
        dt_kv_txn_abort(txn);
        return dt__seterr(NULL, rc, "store: cannot initialise: %s", dt_errmsg(st->kv));
    }
    rc = dt_kv_txn_commit(txn);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "store: cannot initialise: %s", dt_errmsg(st->kv));
    return DT_OK;
}

/* 1 when the kv layer's exclusive-write marker is set (*alive: its
 * process runs; holder: who holds it). */
static int dl_store_loading_alive(dt_kv *kv, int *alive, char *holder, size_t cap) {
    return kv_exclusive_holder(kv, alive, holder, cap) == DT_OK;
}

int dl_store_open(dt_kv *kv, dl_store *out) {
    memset(out, 0, sizeof *out);
    out->kv = kv;
    unsigned flags = 0;
    int rc = dt_kv_get_flags(kv, &flags);
    if (rc != DT_OK) return rc;
    int rdonly = (flags & DT_KV_RDONLY) != 0;
    rc = open_dbi(kv, "dt/meta", 0, &out->meta);
    if (rc == DT_NOTFOUND) {
        dt_kv_envstat es;
        if ((rc = dt_kv_stat(kv, &es)) != DT_OK) return rc;
        if (es.last_txn_id > 0)
            return dt__seterr(NULL, DT_CORRUPT,
                              "store: not a Datolite database (an LMDB environment with other "
                              "data)");
        if (rdonly)
            return dt__seterr(NULL, DT_NOTFOUND, "store: no Datolite database here (read-only)");
        if ((rc = open_dbi(kv, "dt/meta", DT_KV_DBI_CREATE, &out->meta)) != DT_OK) return rc;
    } else if (rc != DT_OK) {
        return rc;
    }
    unsigned c = rdonly ? 0 : DT_KV_DBI_CREATE;
    static const struct {
        const char *name;
        size_t off;
    } dbis[] = {
        {"dt/schema", offsetof(dl_store, schema)}, {"dt/eav", offsetof(dl_store, eav)},
        {"dt/ave", offsetof(dl_store, ave)},       {"dt/history", offsetof(dl_store, history)},
        {"dt/giants", offsetof(dl_store, giants)}, {"dt/txlog", offsetof(dl_store, txlog)},
        {"dt/stats", offsetof(dl_store, stats)},
    };
    /* A marker-less meta database with no datoms is a creation that was
     * interrupted: finish it.  Otherwise the marker must be right. */
    void *magic = NULL;
    size_t mlen;
    rc = dt_kv_get(kv, NULL, out->meta, "magic", 5, &magic, &mlen);
    dt_free(magic);
    if (rc == DT_NOTFOUND && !rdonly) {
        for (size_t i = 0; i < sizeof dbis / sizeof dbis[0]; i++)
            if ((rc = open_dbi(kv, dbis[i].name, c, (dt_kv_dbi *)((char *)out + dbis[i].off))) !=
                DT_OK)
                return rc;
        dt_kv_dbistat ds;
        if ((rc = dt_kv_dbi_stat(kv, NULL, out->eav, &ds)) != DT_OK) return rc;
        if (ds.entries)
            return dt__seterr(NULL, DT_CORRUPT, "store: datoms without a format marker");
        return write_marker(out);
    }
    if ((rc = check_marker(out, "the directory")) != DT_OK) return rc;
    for (size_t i = 0; i < sizeof dbis / sizeof dbis[0]; i++) {
        rc = open_dbi(kv, dbis[i].name, c, (dt_kv_dbi *)((char *)out + dbis[i].off));
        if (rc == DT_NOTFOUND)
            return dt__seterr(NULL, DT_CORRUPT, "store: database \"%s\" is missing", dbis[i].name);
        if (rc != DT_OK) return rc;
    }
    /* an init-db commits in chunks and removes this marker with its last
     * one: if it is here, the load stopped half way */
    void *loading = NULL;
    size_t llen = 0;
    rc = dt_kv_get(kv, NULL, out->meta, DL_META_LOADING, strlen(DL_META_LOADING), &loading, &llen);
    dt_free(loading);
    if (rc == DT_OK) {
        /* a load that is still running holds the kv layer's marker */
        char holder[DT__ERRMSG_MAX];
        int alive = 0;
        if (dl_store_loading_alive(kv, &alive, holder, sizeof holder) && alive)
            return dt__seterr(NULL, DT_BUSY,
                              "store: an init-db is loading this directory (%s); open it when "
                              "the load has finished",
                              holder);
        return dt__seterr(NULL, DT_CORRUPT,
                          "store: an init-db into this directory was interrupted (or is still "
                          "running in another process); the data is incomplete: delete the "
                          "directory and load again");
    }
    if (rc != DT_NOTFOUND) return dt__seterr(NULL, rc, "store: %s", dt_errmsg(kv));
    return DT_OK;
}

/* }====== */

/* {====== Meta values ====== */

int dl_meta_get_u64(const dl_store *st, dt_kv_txn *txn, const char *key, uint64_t dflt,
                    uint64_t *out) {
    int rc;
    uint8_t buf[8];
    if (txn) {
        dt_kv_bytes v;
        rc = dt_kv_get_view(st->kv, txn, st->meta, key, strlen(key), &v);
        if (rc == DT_OK && v.len == 8)
            memcpy(buf, v.ptr, 8);
        else if (rc == DT_OK)
            rc = DT_CORRUPT;
    } else {
        void *p = NULL;
        size_t n = 0;
        rc = dt_kv_get(st->kv, NULL, st->meta, key, strlen(key), &p, &n);
        if (rc == DT_OK && n == 8)
            memcpy(buf, p, 8);
        else if (rc == DT_OK)
            rc = DT_CORRUPT;
        dt_free(p);
    }
    if (rc == DT_NOTFOUND) {
        *out = dflt;
        return DT_OK;
    }
    if (rc == DT_CORRUPT) return dt__seterr(NULL, rc, "store: meta entry \"%s\" is malformed", key);
    if (rc != DT_OK)
        return dt__seterr(NULL, rc, "store: reading \"%s\": %s", key, dt_errmsg(st->kv));
    *out = dl_get_u64(buf);
    return DT_OK;
}

int dl_meta_put_u64(const dl_store *st, dt_kv_txn *txn, const char *key, uint64_t v) {
    uint8_t buf[8];
    dl_put_u64(buf, v);
    int rc = dt_kv_put(st->kv, txn, st->meta, key, strlen(key), buf, 8, 0);
    if (rc != DT_OK)
        return dt__seterr(NULL, rc, "store: writing \"%s\": %s", key, dt_errmsg(st->kv));
    return DT_OK;
}

/* }====== */

/* {====== Schema persistence ====== */

int dl_store_load_schema(const dl_store *st, dt_kv_txn *txn, dl_schema **out) {
    *out = NULL;
    dl_schema *s = NULL;
    int rc = dl_schema_new(&s);
    if (rc != DT_OK) return rc;
    dl_scan sc;
    if ((rc = dl_scan_open(&sc, txn, st->schema, NULL, 0, 0)) != DT_OK) {
        dl_schema_free(s);
        return rc;
    }
    dt_kv_bytes k = {NULL, 0}, v = {NULL, 0};
    while ((rc = dl_scan_next(&sc, &k, &v)) == DT_ROW) {
        dt_value rec = DT_VALUE_NIL;
        size_t used = 0;
        if (k.len != 4 || dt_msgpack_decode(v.ptr, v.len, &rec, &used) != DT_OK ||
            rec.type != DT_VECTOR || rec.u.seq.n != 3 || rec.u.seq.items[0].type != DT_KEYWORD ||
            rec.u.seq.items[2].type != DT_BOOL) {
            dt_value_free(&rec);
            rc = dt__seterr(NULL, DT_CORRUPT, "store: malformed schema record");
            break;
        }
        dl_attr a;
        const dt_value *id = &rec.u.seq.items[0];
        rc = dl_attr_from_spec(s, id->u.s.ptr, id->u.s.len, &rec.u.seq.items[1], &a);
        if (rc == DT_OK) {
            a.aid = dl_get_u32(k.ptr);
            a.declared = (uint8_t)rec.u.seq.items[2].u.b;
            rc = dl_schema_put(s, &a);
            dl_attr_release(&a);
        } else {
            rc = dt__seterr(NULL, DT_CORRUPT, "store: stored schema of :%s is invalid: %s",
                            id->u.s.ptr, dt_errmsg(NULL));
        }
        dt_value_free(&rec);
        if (rc != DT_OK) break;
    }
    dl_scan_close(&sc);
    if (rc != DT_DONE) {
        dl_schema_free(s);
        return rc;
    }
    *out = s;
    return DT_OK;
}

int dl_store_put_attr(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dl_attr *a) {
    dt_value rec;
    int rc = dt_value_seq(DT_VECTOR, 3, &rec);
    if (rc != DT_OK) return rc;
    void *bytes = NULL;
    size_t n = 0;
    rc = dt_value_text(DT_KEYWORD, a->ident, a->ident_len, &rec.u.seq.items[0]);
    if (rc == DT_OK) rc = dl_attr_to_spec(s, a, &rec.u.seq.items[1]);
    if (rc == DT_OK) {
        dt_value_bool(a->declared, &rec.u.seq.items[2]);
        rc = dt_msgpack_encode(&rec, &bytes, &n);
    }
    if (rc == DT_OK) {
        uint8_t k[4];
        dl_put_u32(k, a->aid);
        rc = dt_kv_put(st->kv, txn, st->schema, k, 4, bytes, n, 0);
        if (rc != DT_OK)
            rc = dt__seterr(NULL, rc, "store: writing the schema: %s", dt_errmsg(st->kv));
    }
    dt_free(bytes);
    dt_value_free(&rec);
    return rc;
}

int dl_store_del_attr(const dl_store *st, dt_kv_txn *txn, uint32_t aid) {
    uint8_t k[4];
    dl_put_u32(k, aid);
    int rc = dt_kv_del(st->kv, txn, st->schema, k, 4, NULL, 0);
    if (rc == DT_NOTFOUND) return DT_OK;
    if (rc != DT_OK)
        return dt__seterr(NULL, rc, "store: removing from the schema: %s", dt_errmsg(st->kv));
    return DT_OK;
}

/* }====== */

/* {====== Prefix scans ====== */

int dl_scan_open(dl_scan *s, dt_kv_txn *txn, dt_kv_dbi dbi, const void *prefix, size_t plen,
                 int backward) {
    memset(s, 0, sizeof *s);
    s->backward = backward;
    if (plen && dt_buf_append(&s->prefix, prefix, plen) != DT_OK) return DT_NOMEM;
    int rc = kv_cursor_open(txn, dbi, &s->cur);
    if (rc != DT_OK) {
        dt_buf_release(&s->prefix);
        return rc;
    }
    return DT_OK;
}

static int has_prefix(const dl_scan *s, const dt_kv_bytes *k) {
    return k->len >= s->prefix.len &&
           (s->prefix.len == 0 || memcmp(k->ptr, s->prefix.p, s->prefix.len) == 0);
}

/* Positions a backward scan on the last key with the prefix. */
static int seek_last(dl_scan *s, dt_kv_bytes *k, dt_kv_bytes *v) {
    if (s->prefix.len == 0) return kv_cursor_get(s->cur, k, v, KV_LAST);
    /* the smallest key after every key with the prefix: prefix + 1 carried */
    uint8_t up[DL_KEY_MAX + 1];
    size_t n = s->prefix.len;
    if (n > DL_KEY_MAX) return DT_NOTFOUND;
    memcpy(up, s->prefix.p, n);
    while (n > 0 && up[n - 1] == 0xff) n--;
    int rc;
    if (n == 0) {
        rc = kv_cursor_get(s->cur, k, v, KV_LAST);
    } else {
        up[n - 1]++;
        k->ptr = up;
        k->len = n;
        rc = kv_cursor_get(s->cur, k, v, KV_SET_RANGE);
        if (rc == DT_OK)
            rc = kv_cursor_get(s->cur, k, v, KV_PREV);
        else if (rc == DT_NOTFOUND)
            rc = kv_cursor_get(s->cur, k, v, KV_LAST);
    }
    return rc;
}

int dl_scan_seek(dl_scan *s, const void *key, size_t klen) {
    dt_kv_bytes k = {key, klen}, v;
    int rc = kv_cursor_get(s->cur, &k, &v, KV_SET_RANGE);
    s->started = 1;
    if (rc == DT_NOTFOUND) {
        s->done = 1;
        return DT_OK;
    }
    if (rc != DT_OK) return rc;
    /* step back one so the next call lands on it */
    s->started = 2;
    return DT_OK;
}

int dl_scan_next(dl_scan *s, dt_kv_bytes *key, dt_kv_bytes *val) {
    if (s->done) return DT_DONE;
    int rc;
    dt_kv_bytes k = {NULL, 0}, v = {NULL, 0};
    if (s->started == 0) {
        s->started = 1;
        if (s->backward)
            rc = seek_last(s, &k, &v);
        else if (s->prefix.len) {
            k.ptr = s->prefix.p;
            k.len = s->prefix.len;
            rc = kv_cursor_get(s->cur, &k, &v, KV_SET_RANGE);
        } else
            rc = kv_cursor_get(s->cur, &k, &v, KV_FIRST);
    } else if (s->started == 2) {
        s->started = 1;
        rc = kv_cursor_get(s->cur, &k, &v, KV_GET_CURRENT);
    } else {
        rc = kv_cursor_get(s->cur, &k, &v, s->backward ? KV_PREV : KV_NEXT);
    }
    if (rc == DT_NOTFOUND || (rc == DT_OK && !has_prefix(s, &k))) {
        s->done = 1;
        return DT_DONE;
    }
    if (rc != DT_OK) return rc;
    if (key) *key = k;
    if (val) *val = v;
    return DT_ROW;
}

void dl_scan_close(dl_scan *s) {
    kv_cursor_close(s->cur);
    s->cur = NULL;
    dt_buf_release(&s->prefix);
}

/* }====== */

/* {====== Statistics and tx-log ====== */

int dl_stats_get(const dl_store *st, dt_kv_txn *txn, uint32_t aid, dl_attr_stats *out) {
    uint8_t k[4];
    dl_put_u32(k, aid);
    dt_kv_bytes v;
    memset(out, 0, sizeof *out);
    int rc = dt_kv_get_view(st->kv, txn, st->stats, k, 4, &v);
    if (rc == DT_NOTFOUND) return DT_OK;
    if (rc != DT_OK) return dt__seterr(NULL, rc, "store: reading stats: %s", dt_errmsg(st->kv));
    if (v.len != 16) return dt__seterr(NULL, DT_CORRUPT, "store: malformed stats entry");
    out->count = dl_get_u64(v.ptr);
    out->distinct = dl_get_u64((const uint8_t *)v.ptr + 8);
    return DT_OK;
}

int dl_stats_add(const dl_store *st, dt_kv_txn *txn, uint32_t aid, int64_t dcount,
                 int64_t ddistinct) {
    dl_attr_stats s;
    int rc = dl_stats_get(st, txn, aid, &s);
    if (rc != DT_OK) return rc;
    uint8_t k[4], v[16];
    dl_put_u32(k, aid);
    dl_put_u64(v, (uint64_t)((int64_t)s.count + dcount));
    dl_put_u64(v + 8, (uint64_t)((int64_t)s.distinct + ddistinct));
    if ((rc = dt_kv_put(st->kv, txn, st->stats, k, 4, v, 16, 0)) != DT_OK)
        return dt__seterr(NULL, rc, "store: writing stats: %s", dt_errmsg(st->kv));
    return DT_OK;
}

int dl_stats_add_cur(const dl_store *st, dt_kv_txn *txn, kv_cursor **cur, uint32_t aid,
                     int64_t dcount, int64_t ddistinct) {
    int rc;
    if (!*cur && (rc = kv_cursor_open(txn, st->stats, cur)) != DT_OK)
        return dt__seterr(NULL, rc, "store: reading stats: %s", dt_errmsg(txn));
    uint8_t k[4], v[16];
    dl_put_u32(k, aid);
    dt_kv_bytes key = {k, 4}, val;
    uint64_t count = 0, distinct = 0;
    rc = kv_cursor_get(*cur, &key, &val, KV_SET);
    if (rc == DT_OK) {
        if (val.len != 16) return dt__seterr(NULL, DT_CORRUPT, "store: malformed stats entry");
        count = dl_get_u64(val.ptr);
        distinct = dl_get_u64((const uint8_t *)val.ptr + 8);
    } else if (rc != DT_NOTFOUND) {
        return dt__seterr(NULL, rc, "store: reading stats: %s", dt_errmsg(st->kv));
    }
    dl_put_u64(v, (uint64_t)((int64_t)count + dcount));
    dl_put_u64(v + 8, (uint64_t)((int64_t)distinct + ddistinct));
    key.ptr = k;
    key.len = 4;
    dt_kv_bytes nv = {v, 16};
    if ((rc = kv_cursor_put(*cur, &key, &nv, 0)) != DT_OK)
        return dt__seterr(NULL, rc, "store: writing stats: %s", dt_errmsg(st->kv));
    return DT_OK;
}

int dl_txlog_put_bytes(const dl_store *st, dt_kv_txn *txn, int64_t tx, const void *bytes,
                       size_t n) {
    uint8_t k[8];
    dl_put_u64(k, (uint64_t)tx);
    int rc = dt_kv_put(st->kv, txn, st->txlog, k, 8, bytes, n, 0);
    if (rc != DT_OK) rc = dt__seterr(NULL, rc, "store: writing the tx-log: %s", dt_errmsg(st->kv));
    return rc;
}

int dl_txlog_put(const dl_store *st, dt_kv_txn *txn, int64_t tx, const dt_value *entry) {
    void *bytes = NULL;
    size_t n = 0;
    int rc = dt_msgpack_encode(entry, &bytes, &n);
    if (rc == DT_OK) rc = dl_txlog_put_bytes(st, txn, tx, bytes, n);
    dt_free(bytes);
    return rc;
}

/* }====== */
