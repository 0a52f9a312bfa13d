/*
 * eid.c -- free entity ids for tempids after the id counter reached the
 * top (txn layer; eid.h says when and what "free" means).
 */
#include "eid.h"

#include <string.h>

#include "codec.h"
#include "index.h"

#define META_GAP "eid_gap"

/* {====== The ids a transaction names ====== */

static size_t slot_of(int64_t id, size_t cap) {
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

static int set_has(const txn_eidgap *g, int64_t id) {
    if (!g->cap) return 0;
    for (size_t i = slot_of(id, g->cap);; i = (i + 1) & (g->cap - 1)) {
        if (g->set[i] == id) return 1;
        if (g->set[i] == 0) return 0;
    }
}

static void set_put_raw(int64_t *set, size_t cap, int64_t id) {
    size_t i = slot_of(id, cap);
    while (set[i] && set[i] != id) i = (i + 1) & (cap - 1);
    set[i] = id;
}

int txn_eidgap_reserve(txn_eidgap *g, int64_t id) {
    if (!dl_eid_ok(id) || set_has(g, id)) return DT_OK;
    if ((g->nset + 1) * 2 > g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        int64_t *n = dt__calloc(cap, sizeof *n);
        if (!n) return dt__seterr(NULL, DT_NOMEM, "transact: out of memory");
        for (size_t i = 0; i < g->cap; i++)
            if (g->set[i]) set_put_raw(n, cap, g->set[i]);
        dt__free(g->set);
        g->set = n;
        g->cap = cap;
    }
    set_put_raw(g->set, g->cap, id);
    g->nset++;
    return DT_OK;
}

/* }====== */

/* {====== Probing ====== */

/* *hit 1 when some key of c starts with pre[0..n). */
static int has_prefix(kv_cursor *c, const uint8_t *pre, size_t n, int *hit) {
    dt_kv_bytes k = {pre, n}, v;
    int rc = kv_cursor_get(c, &k, &v, KV_SET_RANGE);
    *hit = rc == DT_OK && k.len >= n && memcmp(k.ptr, pre, n) == 0;
    return rc == DT_OK || rc == DT_NOTFOUND ? DT_OK : rc;
}

typedef struct probe {
    kv_cursor *eav, *hist, *ave;
    const dl_schema *s;
} probe;

/* *used 1 when id is an entity of a datom or of history, or a ref value. */
static int id_used(probe *p, int64_t id, int *used) {
    uint8_t k[12 + 9], ref[9];
    /* an eav key and a history key of entity id both start with its
     * 1-component eav prefix */
    size_t kl = dl_key_eav_to(k, id, 0, NULL, 0);
    size_t e_len = dl_key_lead_len(DL_INDEX_EAV, 1, kl);
    int rc = has_prefix(p->eav, k, e_len, used);
    if (rc != DT_OK || *used) return rc;
    if ((rc = has_prefix(p->hist, k, e_len, used)) != DT_OK || *used) return rc;
    size_t rlen = dl_codec_put_int(DT_REF, id, ref);
    size_t n = dl_schema_count(p->s);
    for (size_t i = 0; i < n; i++) {
        const dl_attr *a = dl_schema_at(p->s, i);
        if (a->vtype != DT_REF) continue;
        kl = dl_key_ave_to(k, a->aid, ref, rlen, 0);
        if ((rc = has_prefix(p->ave, k, dl_key_lead_len(DL_INDEX_AVE, 2, kl), used)) != DT_OK ||
            *used)
            return rc;
    }
    return DT_OK;
}

int txn_eidgap_alloc(txn_eidgap *g, const dl_store *st, dt_kv_txn *txn, const dl_schema *s,
                     int64_t *out) {
    int rc = DT_OK;
    if (!g->loaded) {
        if ((rc = dl_meta_get_u64(st, txn, META_GAP, 1, &g->next)) != DT_OK) return rc;
        if (g->next < 1 || g->next > (uint64_t)DL_MAX_EID) g->next = 1;
        g->loaded = 1;
    }
    probe p = {NULL, NULL, NULL, s};
    if ((rc = kv_cursor_open(txn, st->eav, &p.eav)) == DT_OK &&
        (rc = kv_cursor_open(txn, st->history, &p.hist)) == DT_OK)
        rc = kv_cursor_open(txn, st->ave, &p.ave);
    if (rc != DT_OK) {
        rc = dt__seterr(NULL, rc, "transact: allocating an entity id: %s", dt_errmsg(st->kv));
    } else {
        uint64_t start = g->next, id = start;
        int found = 0;
        for (;;) {
            int used = set_has(g, (int64_t)id);
            if (!used && (rc = id_used(&p, (int64_t)id, &used)) != DT_OK) {
                rc = dt__seterr(NULL, rc, "transact: allocating an entity id: %s",
                                dt_errmsg(st->kv));
                break;
            }
            if (!used) {
                found = 1;
                break;
            }
            id = id == (uint64_t)DL_MAX_EID ? 1 : id + 1;
            if (id == start) break;
        }
        if (rc == DT_OK && !found)
            rc = dt__seterr(NULL, DT_LIMIT,
                            "transact: entity ids exhausted: all %lld ids are in use",
                            (long long)DL_MAX_EID);
        if (rc == DT_OK) {
            *out = (int64_t)id;
            g->next = id == (uint64_t)DL_MAX_EID ? 1 : id + 1;
            g->dirty = 1;
            rc = txn_eidgap_reserve(g, (int64_t)id);
        }
    }
    kv_cursor_close(p.eav);
    kv_cursor_close(p.hist);
    kv_cursor_close(p.ave);
    return rc;
}

/* }====== */

int txn_eidgap_save(txn_eidgap *g, const dl_store *st, dt_kv_txn *txn) {
    if (!g->dirty) return DT_OK;
    return dl_meta_put_u64(st, txn, META_GAP, g->next);
}

void txn_eidgap_release(txn_eidgap *g) {
    dt__free(g->set);
    memset(g, 0, sizeof *g);
}
