/*
 * db.c -- snapshots, entity references, datom iteration and attribute
 * statistics (datalog layer): the read side of the public Datalog API.
 */
#include "db.h"
#include "edn.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "coerce.h"

/* {====== Snapshots ====== */

int dl_db_new(const dl_store *st, dt_kv_txn *txn, int owns_txn, dl_schema *schema,
              _Atomic long *open_count, dt_db **out) {
    *out = NULL;
    dt_db *db = dt__calloc(1, sizeof *db);
    if (!db) return dt__seterr(NULL, DT_NOMEM, "db: out of memory");
    int rc = dl_db_basis(st, txn, &db->basis_tx);
    if (rc != DT_OK) {
        dt__free(db);
        return rc;
    }
    db->magic = DT_MAGIC_DB;
    db->st = st;
    db->txn = txn;
    db->owns_txn = owns_txn;
    db->schema = dl_schema_retain(schema);
    db->open_count = open_count;
    if (open_count) atomic_fetch_add(open_count, 1);
    *out = db;
    return DT_OK;
}

int dl_db_ok(const dt_db *db) { return db && db->magic == DT_MAGIC_DB; }

int dl_db_basis(const dl_store *st, dt_kv_txn *txn, int64_t *out) {
    uint64_t next_t = 1;
    int rc = dl_meta_get_u64(st, txn, "next_t", 1, &next_t);
    if (rc != DT_OK) return rc;
    *out = next_t > 1 ? DL_TX0 + (int64_t)next_t - 1 : 0;
    return DT_OK;
}

void dt_db_release(dt_db *db) {
    if (!dl_db_ok(db)) return;
    if (db->owns_txn) dt_kv_txn_abort(db->txn);
    dl_schema_release(db->schema);
    if (db->open_count) atomic_fetch_sub(db->open_count, 1);
    dt__clearerr(db);
    db->magic = DT_MAGIC_DEAD;
    dt__free(db);
}

int64_t dt_db_basis_tx(const dt_db *db) { return dl_db_ok(db) ? db->basis_tx : 0; }

/* }====== */

/* {====== Entity references ====== */

/* An attribute name for messages: without its leading colon, if any. */
static const char *bare(const char *name) { return name[0] == ':' ? name + 1 : name; }

int dl_find_entity(const dl_store *st, dt_kv_txn *txn, uint32_t aid, const uint8_t *enc,
                   size_t enc_len, int64_t *e, int *found) {
    dt_buf pre = DT_BUF_INIT;
    int truncated = 0, rc;
    *found = 0;
    uint8_t a4[4];
    dl_put_u32(a4, aid);
    if ((rc = dt_buf_append(&pre, a4, 4)) != DT_OK) goto done;
    if ((rc = dl_vkey_from_enc(enc, enc_len, &pre, &truncated)) != DT_OK) goto done;
    dl_scan sc;
    if ((rc = dl_scan_open(&sc, txn, st->ave, pre.p, pre.len, 0)) != DT_OK) goto done;
    dt_kv_bytes k;
    while ((rc = dl_scan_next(&sc, &k, NULL)) == DT_ROW) {
        if (k.len != pre.len + 8) continue; /* a longer value with this prefix? not possible */
        if (truncated) {
            dt_kv_bytes full;
            if ((rc = dl_value_full_enc(st, txn, aid, pre.p + 4, pre.len - 4, &full)) != DT_OK)
                break;
            if (full.len != enc_len || memcmp(full.ptr, enc, enc_len) != 0) continue;
        }
        *e = (int64_t)dl_get_u64((const uint8_t *)k.ptr + pre.len);
        *found = 1;
        break;
    }
    dl_scan_close(&sc);
    if (rc == DT_ROW || rc == DT_DONE) rc = DT_OK;
done:
    dt_buf_release(&pre);
    return rc;
}

static int encode_for_attr(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dl_attr *a,
                           const dt_value *v, dt_buf *out);
/* v as EDN for messages, cut to cap bytes with "...". */
static void show_value(const dt_value *v, char *out, size_t cap) {
    dt_buf b = DT_BUF_INIT;
    if (dl_edn_write_buf(v, 0, &b) == DT_OK) {
        if (b.len >= cap && cap > 4)
            snprintf(out, cap, "%.*s...", (int)(cap - 4), (const char *)b.p);
        else
            snprintf(out, cap, "%.*s", (int)b.len, (const char *)b.p);
    } else {
        snprintf(out, cap, "a %s", dt_type_name(v->type));
    }
    dt_buf_release(&b);
}

int dl_resolve_eref(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dt_value *ref,
                    int64_t *out) {
    if (ref->type == DT_LONG || ref->type == DT_REF) {
        if (ref->u.i <= 0)
            return dt__seterr(NULL, DT_INVALID, "entity id %lld is not positive",
                              (long long)ref->u.i);
        if (!dl_ref_ok(ref->u.i))
            return dt__seterr(NULL, DT_INVALID,
                              "entity id %lld is out of range (1..%lld, or a transaction id "
                              "%lld..%lld)",
                              (long long)ref->u.i, (long long)DL_MAX_EID, (long long)DL_TX0 + 1,
                              (long long)DL_MAX_TX);
        *out = ref->u.i;
        return DT_OK;
    }
    const dl_attr *a;
    const dt_value *val;
    if (ref->type == DT_KEYWORD) {
        a = dl_schema_by_aid(s, DL_AID_IDENT);
        val = ref;
    } else if ((ref->type == DT_VECTOR || ref->type == DT_LIST) && ref->u.seq.n == 2 &&
               ref->u.seq.items[0].type == DT_KEYWORD) {
        const dt_value *an = &ref->u.seq.items[0];
        a = dl_schema_by_ident(s, an->u.s.ptr, an->u.s.len);
        if (!a)
            return dt__seterr(NULL, DT_INVALID, "lookup ref [:%s ...]: unknown attribute :%s",
                              bare(an->u.s.ptr), bare(an->u.s.ptr));
        if (!a->unique)
            return dt__seterr(NULL, DT_INVALID,
                              "lookup ref [:%s ...]: the attribute is not :db/unique", an->u.s.ptr);
        val = &ref->u.seq.items[1];
    } else {
        return dt__seterr(NULL, DT_INVALID,
                          "expected an entity reference (id, ident or lookup ref), got a %s",
                          dt_type_name(ref->type));
    }
    dt_buf enc = DT_BUF_INIT;
    int rc = encode_for_attr(st, txn, s, a, val, &enc);
    int found = 0;
    if (rc == DT_OK) rc = dl_find_entity(st, txn, a->aid, enc.p, enc.len, out, &found);
    dt_buf_release(&enc);
    if (rc != DT_OK) return rc;
    if (!found) {
        if (ref->type == DT_KEYWORD)
            return dt__seterr(NULL, DT_NOTFOUND, "no entity has :db/ident :%s", ref->u.s.ptr);
        char shown[160];
        show_value(val, shown, sizeof shown);
        return dt__seterr(NULL, DT_NOTFOUND, "lookup ref [:%s %s] matches no entity", a->ident,
                          shown);
    }
    return DT_OK;
}

/* Encodes a value given for attribute a (dl_coerce); for ref attributes
 * the value may be any entity reference (id, ident, lookup ref), resolved
 * in txn.  DT_NOTFOUND when a reference matches no entity; DT_INVALID
 * (with a message) when the value cannot be one of a. */
static int encode_for_attr(const dl_store *st, dt_kv_txn *txn, const dl_schema *s, const dl_attr *a,
                           const dt_value *v, dt_buf *out) {
    dt_value tmp = *v;
    if (a->vtype == DT_REF &&
        (v->type == DT_KEYWORD || v->type == DT_VECTOR || v->type == DT_LIST)) {
        int64_t id;
        int rc = dl_resolve_eref(st, txn, s, v, &id);
        if (rc != DT_OK) return rc;
        dt_value_ref(id, &tmp);
    }
    return dl_coerce(a, &tmp, out);
}

int dt_entid(dt_db *db, const dt_value *ref, int64_t *out) {
    if (!dl_db_ok(db) || !ref || !out) return dt__seterr(db, DT_MISUSE, "dt_entid: bad arguments");
    int rc = dl_resolve_eref(db->st, db->txn, db->schema, ref, out);
    if (rc != DT_OK) dt__moveerr(NULL, db, rc);
    return rc;
}

/* }====== */

/* {====== Datom iteration ====== */

#define DT_MAGIC_DITER 0x64746974u /* "dtit" */

struct dt_datom_iter {
    uint32_t magic;
    dt_db *db;
    dt_index index;
    dl_scan scan;
    dt_value v; /* the current datom's value */
    /* index_range: the end bound (an ave key prefix), inclusive */
    dt_buf end;
    int has_end;
};

/* Builds the key prefix of components for `index` into b. */
static int components_prefix(dt_db *db, dt_index index, const dt_value *c, size_t n, dt_buf *b) {
    const dl_schema *s = db->schema;
    int rc = DT_OK;
    if (n > 3) return dt__seterr(NULL, DT_INVALID, "datoms: at most 3 components, got %zu", n);
    int64_t e = 0;
    const dl_attr *a = NULL;
    size_t ei = index == DT_INDEX_EAV ? 0 : 2, ai = index == DT_INDEX_EAV ? 1 : 0;
    size_t vi = index == DT_INDEX_EAV ? 2 : 1;
    if (n > ei) {
        rc = dl_resolve_eref(db->st, db->txn, s, &c[ei], &e);
        if (rc == DT_NOTFOUND)
            e = -1; /* matches nothing */
        else if (rc != DT_OK)
            return rc;
    }
    if (n > ai) {
        if (c[ai].type != DT_KEYWORD)
            return dt__seterr(NULL, DT_INVALID,
                              "datoms: the attribute component must be a keyword, "
                              "got a %s",
                              dt_type_name(c[ai].type));
        a = dl_schema_by_ident(s, c[ai].u.s.ptr, c[ai].u.s.len);
        if (!a)
            return dt__seterr(NULL, DT_INVALID, "datoms: unknown attribute :%s",
                              bare(c[ai].u.s.ptr));
    }
    dt_buf enc = DT_BUF_INIT;
    int truncated = 0;
    if (n > vi) {
        if ((rc = encode_for_attr(db->st, db->txn, s, a, &c[vi], &enc)) != DT_OK) goto done;
    }
    uint8_t tmp[12];
    b->len = 0;
    if (index == DT_INDEX_EAV) {
        if (n == 0) goto done;
        if (e < 0) {
            rc = DT_NOTFOUND;
            goto done;
        }
        dl_put_u64(tmp, (uint64_t)e);
        if ((rc = dt_buf_append(b, tmp, 8)) != DT_OK) goto done;
        if (a) {
            dl_put_u32(tmp, a->aid);
            if ((rc = dt_buf_append(b, tmp, 4)) != DT_OK) goto done;
        }
        if (n > vi) rc = dl_vkey_from_enc(enc.p, enc.len, b, &truncated);
    } else {
        if (a) {
            dl_put_u32(tmp, a->aid);
            if ((rc = dt_buf_append(b, tmp, 4)) != DT_OK) goto done;
        }
        if (n > vi && (rc = dl_vkey_from_enc(enc.p, enc.len, b, &truncated)) != DT_OK) goto done;
        if (n > ei) {
            if (e < 0) {
                rc = DT_NOTFOUND;
                goto done;
            }
            dl_put_u64(tmp, (uint64_t)e);
            rc = dt_buf_append(b, tmp, 8);
        }
    }
done:
    dt_buf_release(&enc);
    return rc;
}

static int iter_new(dt_db *db, dt_index index, dt_datom_iter **out) {
    *out = NULL;
    if (!dl_db_ok(db)) return dt__seterr(db, DT_MISUSE, "datoms: not a live snapshot");
    if (index != DT_INDEX_EAV && index != DT_INDEX_AVE)
        return dt__seterr(db, DT_INVALID, "datoms: unknown index %d", (int)index);
    dt_datom_iter *it = dt__calloc(1, sizeof *it);
    if (!it) return dt__seterr(db, DT_NOMEM, "datoms: out of memory");
    it->magic = DT_MAGIC_DITER;
    it->db = db;
    it->index = index;
    *out = it;
    return DT_OK;
}

static int open_components(dt_db *db, dt_index index, const dt_value *c, size_t n, int seek,
                           dt_datom_iter **out) {
    dt_datom_iter *it;
    int rc = iter_new(db, index, &it);
    if (rc != DT_OK) return rc;
    if (n && !c) {
        dt__free(it);
        return dt__seterr(db, DT_MISUSE, "datoms: NULL components");
    }
    dt_buf pre = DT_BUF_INIT;
    rc = components_prefix(db, index, c, n, &pre);
    int empty = rc == DT_NOTFOUND;
    if (rc == DT_NOTFOUND) rc = DT_OK;
    dt_kv_dbi dbi = index == DT_INDEX_EAV ? db->st->eav : db->st->ave;
    if (rc == DT_OK) {
        if (seek) {
            rc = dl_scan_open(&it->scan, db->txn, dbi, NULL, 0, 0);
            if (rc == DT_OK && pre.len) rc = dl_scan_seek(&it->scan, pre.p, pre.len);
        } else {
            rc = dl_scan_open(&it->scan, db->txn, dbi, pre.p, pre.len, 0);
        }
        if (rc == DT_OK && empty && !seek) it->scan.done = 1;
    }
    dt_buf_release(&pre);
    if (rc != DT_OK) {
        dt__free(it);
        return dt__moveerr(NULL, db, rc);
    }
    *out = it;
    return DT_OK;
}

int dt_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
              dt_datom_iter **out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "datoms: NULL out");
    *out = NULL;
    return open_components(db, index, components, n, 0, out);
}

int dt_seek_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                   dt_datom_iter **out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "seek-datoms: NULL out");
    *out = NULL;
    return open_components(db, index, components, n, 1, out);
}

int dt_index_range(dt_db *db, const char *attr, const dt_value *start, const dt_value *end,
                   dt_datom_iter **out) {
    if (out) *out = NULL;
    if (!out || !attr) return dt__seterr(db, DT_MISUSE, "index-range: NULL argument");
    dt_datom_iter *it;
    int rc = iter_new(db, DT_INDEX_AVE, &it);
    if (rc != DT_OK) return rc;
    const dl_attr *a = dl_schema_by_ident(db->schema, attr, strlen(attr));
    uint8_t a4[4];
    dt_buf lo = DT_BUF_INIT, enc = DT_BUF_INIT;
    int truncated;
    if (!a) {
        rc = dt__seterr(NULL, DT_INVALID, "index-range: unknown attribute :%s", bare(attr));
        goto done;
    }
    dl_put_u32(a4, a->aid);
    if ((rc = dl_scan_open(&it->scan, db->txn, db->st->ave, a4, 4, 0)) != DT_OK) goto done;
    if (start && start->type != DT_NIL) {
        if ((rc = dt_buf_append(&lo, a4, 4)) != DT_OK) goto done;
        if ((rc = encode_for_attr(db->st, db->txn, db->schema, a, start, &enc)) != DT_OK) goto done;
        if ((rc = dl_vkey_from_enc(enc.p, enc.len, &lo, &truncated)) != DT_OK) goto done;
        if ((rc = dl_scan_seek(&it->scan, lo.p, lo.len)) != DT_OK) goto done;
    }
    if (end && end->type != DT_NIL) {
        enc.len = 0;
        if ((rc = encode_for_attr(db->st, db->txn, db->schema, a, end, &enc)) != DT_OK) goto done;
        if ((rc = dl_vkey_from_enc(enc.p, enc.len, &it->end, &truncated)) != DT_OK) goto done;
        it->has_end = 1;
    }
done:
    dt_buf_release(&lo);
    dt_buf_release(&enc);
    if (rc != DT_OK) {
        dl_scan_close(&it->scan);
        dt_buf_release(&it->end);
        dt__free(it);
        return dt__moveerr(NULL, db, rc);
    }
    *out = it;
    return DT_OK;
}

int dt_datom_iter_next(dt_datom_iter *it, dt_datom *out) {
    if (!it || it->magic != DT_MAGIC_DITER || !out)
        return dt__seterr(it, DT_MISUSE, "datoms: bad iterator");
    dt_value_clear(&it->v);
    dt_kv_bytes k, val;
    int rc = dl_scan_next(&it->scan, &k, &val);
    if (rc != DT_ROW) {
        if (rc != DT_DONE) dt__seterr(it, rc, "datoms: %s", dt_errmsg(NULL));
        return rc;
    }
    const uint8_t *p = k.ptr;
    const uint8_t *vkey;
    size_t vklen;
    uint32_t aid;
    if (k.len < 13 || val.len != 8)
        return dt__seterr(it, DT_CORRUPT, "datoms: malformed index key");
    if (it->index == DT_INDEX_EAV) {
        out->e = (int64_t)dl_get_u64(p);
        aid = dl_get_u32(p + 8);
        vkey = p + 12;
        vklen = k.len - 12;
    } else {
        aid = dl_get_u32(p);
        vkey = p + 4;
        vklen = k.len - 12;
        out->e = (int64_t)dl_get_u64(p + k.len - 8);
        if (it->has_end) {
            size_t n = vklen < it->end.len ? vklen : it->end.len;
            int c = memcmp(vkey, it->end.p, n);
            if (c > 0 || (c == 0 && vklen > it->end.len)) {
                it->scan.done = 1;
                return DT_DONE;
            }
        }
    }
    const dl_attr *a = dl_schema_by_aid(it->db->schema, aid);
    if (!a) return dt__seterr(it, DT_CORRUPT, "datoms: unknown attribute id %u", aid);
    rc = dl_value_decode_key(it->db->st, it->db->txn, aid, vkey, vklen, &it->v);
    if (rc != DT_OK) return dt__moveerr(NULL, it, rc);
    out->a = a->ident;
    out->v = it->v;
    out->tx = (int64_t)dl_get_u64(val.ptr);
    out->added = 1;
    return DT_ROW;
}

void dt_datom_iter_free(dt_datom_iter *it) {
    if (!it || it->magic != DT_MAGIC_DITER) return;
    dl_scan_close(&it->scan);
    dt_value_clear(&it->v);
    dt_buf_release(&it->end);
    dt__clearerr(it);
    it->magic = DT_MAGIC_DEAD;
    dt__free(it);
}

int dt_count_datoms(dt_db *db, dt_index index, const dt_value *components, size_t n,
                    uint64_t *out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "count-datoms: NULL out");
    *out = 0;
    if (!dl_db_ok(db)) return dt__seterr(db, DT_MISUSE, "count-datoms: not a live snapshot");
    /* whole-attribute counts come from the statistics */
    if (index == DT_INDEX_AVE && n == 1 && components && components[0].type == DT_KEYWORD) {
        const dl_attr *a =
            dl_schema_by_ident(db->schema, components[0].u.s.ptr, components[0].u.s.len);
        if (!a)
            return dt__seterr(db, DT_INVALID, "count-datoms: unknown attribute :%s",
                              bare(components[0].u.s.ptr));
        dl_attr_stats s;
        int rc = dl_stats_get(db->st, db->txn, a->aid, &s);
        if (rc != DT_OK) return dt__moveerr(NULL, db, rc);
        *out = s.count;
        return DT_OK;
    }
    dt_datom_iter *it;
    int rc = dt_datoms(db, index, components, n, &it);
    if (rc != DT_OK) return rc;
    uint64_t count = 0;
    dt_kv_bytes k;
    while ((rc = dl_scan_next(&it->scan, &k, NULL)) == DT_ROW) count++;
    dt_datom_iter_free(it);
    if (rc != DT_DONE) return dt__seterr(db, rc, "count-datoms: %s", dt_errmsg(NULL));
    *out = count;
    return DT_OK;
}

/* }====== */

/* {====== Statistics ====== */

static int edge_value(dt_db *db, uint32_t aid, int last, dt_value *out) {
    uint8_t a4[4];
    dl_put_u32(a4, aid);
    dl_scan sc;
    int rc = dl_scan_open(&sc, db->txn, db->st->ave, a4, 4, last);
    if (rc != DT_OK) return rc;
    dt_kv_bytes k;
    rc = dl_scan_next(&sc, &k, NULL);
    if (rc == DT_ROW) {
        if (k.len < 13)
            rc = dt__seterr(NULL, DT_CORRUPT, "stats: malformed ave key");
        else
            rc = dl_value_decode_key(db->st, db->txn, aid, (const uint8_t *)k.ptr + 4, k.len - 12,
                                     out);
    } else if (rc == DT_DONE) {
        rc = DT_OK;
    }
    dl_scan_close(&sc);
    return rc;
}

int dt_attr_stats_get(dt_db *db, const char *attr, dt_attr_stats *out) {
    if (!out) return dt__seterr(db, DT_MISUSE, "attr-stats: NULL out");
    memset(out, 0, sizeof *out);
    if (!dl_db_ok(db) || !attr) return dt__seterr(db, DT_MISUSE, "attr-stats: bad arguments");
    const dl_attr *a = dl_schema_by_ident(db->schema, attr, strlen(attr));
    if (!a) return dt__seterr(db, DT_INVALID, "attr-stats: unknown attribute :%s", bare(attr));
    dl_attr_stats s;
    int rc = dl_stats_get(db->st, db->txn, a->aid, &s);
    if (rc == DT_OK) rc = edge_value(db, a->aid, 0, &out->min);
    if (rc == DT_OK) rc = edge_value(db, a->aid, 1, &out->max);
    if (rc != DT_OK) {
        dt_attr_stats_clear(out);
        return dt__moveerr(NULL, db, rc);
    }
    out->count = s.count;
    out->distinct = s.distinct;
    return DT_OK;
}

void dt_attr_stats_clear(dt_attr_stats *s) {
    if (!s) return;
    dt_value_clear(&s->min);
    dt_value_clear(&s->max);
    s->count = s->distinct = 0;
}

/* }====== */
