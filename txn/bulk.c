/*
 * bulk.c -- bulk loading of prepared datoms, init-db and fill-db (txn
 * layer).  Datoms with explicit entity ids are type-checked, turned into
 * their EAV and AVE index keys and fed to two external sorters; finishing
 * the load replays both sorted sequences once each, checking duplicates,
 * cardinality and uniqueness on the way, and writes them in key order
 * (appending wherever the key sorts after the existing data), with
 * statistics, one transaction entity and one tx-log entry.
 * docs/bulk-load.md is the user guide.
 *
 * Lifecycle: dt_loader_open takes the connection's writer slot and begins
 * the LMDB write transaction the write will start in; attributes created
 * while datoms are added are written into it.  dt_loader_finish writes:
 *  - fill-db: everything in that one transaction;
 *  - init-db: in chunks, committing whenever chunk_limit bytes of entries
 *    were written, so that LMDB's dirty pages stay bounded.  The first
 *    chunk also holds the new attributes, the schema version and the
 *    meta marker DL_META_LOADING; the last writes statistics, tx-log and
 *    counters and removes the marker.  An error after a commit empties
 *    the indexes again (they were empty: dt_loader_open checks) and
 *    takes back attributes, schema version and marker (undo_chunks).
 * If the map fills up the transaction is aborted (the kv layer has grown
 * the map already) and only it runs again: the write's progress and the
 * sorters' read positions are saved at the start of every chunk (wprog,
 * txn_sorter_mark).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "coerce.h"
#include "conn.h"
#include "edn.h"
#include "extsort.h"
#include "loadhook.h"

#define DT_MAGIC_LOADER 0x64746c64u /* "dtld" */
#define DEFAULT_BUDGET  ((size_t)128 << 20)
#define DEFAULT_CHUNK   ((size_t)64 << 20) /* init-db: bytes of entries per commit */
#define ACACHE_SIZE     16                 /* attribute look-up cache (power of 2) */
#define KEYBUF          (DL_KEY_MAX + 16)
/* The load's write transactions: an init-db in chunks holds the kv
 * layer's exclusive marker from its first commit to its last, so that no
 * other writer (any connection, any process) runs between its chunks. */
#define LOAD_TXN (DT_KV_TXN_WRITE | KV_TXN_EXCLUSIVE)

/* Per-attribute flags used while writing. */
enum { AF_MANY = 1, AF_UNIQUE = 2, AF_KNOWN = 4 };

typedef struct acache_ent {
    const dl_attr *a; /* NULL: empty slot */
} acache_ent;

struct dt_loader {
    uint32_t magic;
    dt_conn *conn;
    dt_load_mode mode;
    int locked;   /* holds the connection's writer slot */
    int failed;   /* sticky error code, DT_OK while usable */
    int finished; /* dt_loader_finish was called */
    char errmsg[DT__ERRMSG_MAX];
    dt_kv_txn *txn; /* the load's write transaction */
    dl_schema *ws;  /* working schema (one reference) */
    int ws_changed;
    uint64_t schema_v;
    int schema_v_stored;    /* the meta entry "schema_v" existed */
    size_t chunk_limit;     /* init-db in chunks of this many bytes; 0: one txn */
    uint32_t first_new_aid; /* attributes from here on were created by the load */
    uint64_t next_eid, next_t;
    int64_t max_e;   /* largest entity id seen (entity or ref value) */
    uint64_t nadded; /* datoms given to the loader */
    size_t mp_base;  /* stream offset of the next dt_loader_add_msgpack_part bytes */
    txn_sorter *eav, *ave;
    dt_buf enc, vk;
    acache_ent cache[ACACHE_SIZE];
};

void (*txn_load_chunk_hook)(void *arg);
void *txn_load_chunk_hook_arg;

/* {====== Errors and small helpers ====== */

static int nomem(void) { return dt__seterr(NULL, DT_NOMEM, "loader: out of memory"); }

/* Records rc with this thread's NULL-handle message as the loader's sticky
 * error, on the loader handle. */
static int fail(dt_loader *ld, int rc) {
    snprintf(ld->errmsg, sizeof ld->errmsg, "%s", dt_errmsg(NULL));
    if (!ld->errmsg[0]) snprintf(ld->errmsg, sizeof ld->errmsg, "loader: %s", dt_errstr(rc));
    ld->failed = rc;
    return dt__seterr(ld, rc, "%s", ld->errmsg);
}

/* Checks a loader handle for an input call; returns DT_OK if usable. */
static int usable(dt_loader *ld, const char *fn) {
    if (!ld || ld->magic != DT_MAGIC_LOADER)
        return dt__seterr(ld, DT_MISUSE, "%s: not a loader handle", fn);
    if (ld->failed)
        return dt__seterr(ld, ld->failed, "%s: the load already failed: %s", fn, ld->errmsg);
    if (ld->finished) return dt__seterr(ld, DT_MISUSE, "%s: the load is finished", fn);
    return DT_OK;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int keycmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* The value whose key form is vkey (full encoding in full[0..nfull) when
 * the key is truncated) as EDN for messages. */
static void show_vkey(const uint8_t *vkey, size_t vklen, const uint8_t *full, size_t nfull,
                      char *out, size_t cap) {
    dt_value v = DT_VALUE_NIL;
    size_t used;
    int rc = dl_codec_decode(vkey, vklen, &v, &used);
    if (rc == DT_NOTFOUND && nfull) rc = dl_codec_decode(full, nfull, &v, &used);
    if (rc == DT_OK)
        dl_show(&v, out, cap);
    else
        snprintf(out, cap, "%s", rc == DT_NOTFOUND ? "(a long value)" : "?");
    dt_value_free(&v);
}

/* }====== */

/* {====== Transaction and schema ====== */

/* Writes the attributes this load created into ld->txn (after a retry). */
static int put_new_attrs(dt_loader *ld) {
    size_t n = dl_schema_count(ld->ws);
    for (size_t i = 0; i < n; i++) {
        const dl_attr *a = dl_schema_at(ld->ws, i);
        if (a->aid < ld->first_new_aid) continue;
        int rc = dl_store_put_attr(&ld->conn->st, ld->txn, ld->ws, a);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/* Ends a failed write transaction and begins a new one holding the
 * attributes created so far.  Retries while the map grows. */
static int restart_txn(dt_loader *ld) {
    for (;;) {
        dt_kv_txn_abort(ld->txn);
        ld->txn = NULL;
        int rc = kv_txn_begin(ld->conn->kv, NULL, LOAD_TXN, &ld->txn);
        if (rc != DT_OK) return dt__seterr(NULL, rc, "loader: %s", dt_errmsg(ld->conn->kv));
        rc = put_new_attrs(ld);
        if (rc != DT_MAPFULL_RETRY) return rc;
    }
}

/* The attribute named name[0..n), created (in the load's txn) when the
 * schema allows it.  A small cache avoids the schema hash on hot paths. */
static int lookup_attr(dt_loader *ld, const char *name, size_t n, const dl_attr **out) {
    dl_ident_bare(&name, &n);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)name[i]) * 1099511628211ULL;
    acache_ent *ce = &ld->cache[h & (ACACHE_SIZE - 1)];
    if (ce->a && ce->a->ident_len == n && memcmp(ce->a->ident, name, n) == 0) {
        *out = ce->a;
        return DT_OK;
    }
    const dl_attr *a = dl_schema_by_ident(ld->ws, name, n);
    if (!a) {
        int changed = ld->ws_changed;
        int rc = txn_attr_get(ld->conn, ld->txn, &ld->ws, &changed, name, n, &a);
        ld->ws_changed = changed;
        /* the schema may have been copied: cached pointers are stale */
        memset(ld->cache, 0, sizeof ld->cache);
        if (rc == DT_MAPFULL_RETRY) {
            /* the attribute is in the working schema; rewrite all of them */
            if ((rc = restart_txn(ld)) != DT_OK) return rc;
            a = dl_schema_by_ident(ld->ws, name, n);
            if (!a) return dt__seterr(NULL, DT_INTERNAL, "loader: attribute lost on retry");
        } else if (rc != DT_OK) {
            return rc;
        }
    }
    ce->a = a;
    *out = a;
    return DT_OK;
}

/* }====== */

/* {====== Adding datoms ====== */

/*
 * add_datom: checks [e attr v], encodes it and gives its two index keys to
 * the sorters.  Messages go to the NULL handle; the caller adds the
 * position.
 */
static int add_datom(dt_loader *ld, int64_t e, const char *attr, size_t alen, const dt_value *v) {
    if (e < 1 || e >= DL_TX0)
        return dt__seterr(NULL, DT_INVALID, "entity id %lld is out of range (1..%lld)",
                          (long long)e, (long long)(DL_TX0 - 1));
    const dl_attr *a = NULL;
    int rc = lookup_attr(ld, attr, alen, &a);
    if (rc != DT_OK) return rc;
    if ((rc = dl_coerce(a, v, &ld->enc)) != DT_OK) return rc;
    /* a transaction id: the load's own or an earlier one */
    int64_t load_tx = DL_TX0 + (int64_t)ld->next_t;
    if (a->vtype == DT_REF && (!dl_ref_ok(v->u.i) || (v->u.i > DL_MAX_EID && v->u.i > load_tx)))
        return dt__seterr(NULL, DT_INVALID,
                          "attribute :%s: ref value %lld is not an entity id (1..%lld, or a "
                          "transaction id %lld..%lld)",
                          a->ident, (long long)v->u.i, (long long)DL_MAX_EID, (long long)DL_TX0 + 1,
                          (long long)load_tx);
    const uint8_t *enc = ld->enc.p, *vkey = enc;
    size_t elen = ld->enc.len, vklen = elen;
    const void *full = NULL;
    size_t nfull = 0;
    if (elen > DL_VKEY_MAX) {
        int truncated = 0;
        ld->vk.len = 0;
        if ((rc = dl_vkey_from_enc(enc, elen, &ld->vk, &truncated)) != DT_OK) return rc;
        vkey = ld->vk.p;
        vklen = ld->vk.len;
        if (truncated) {
            full = enc;
            nfull = elen;
        }
    }
    if (a->vtype == DT_REF && v->u.i > ld->max_e && v->u.i < DL_TX0) ld->max_e = v->u.i;
    if (e > ld->max_e) ld->max_e = e;
    uint8_t kb[KEYBUF];
    size_t kl = dl_key_eav_to(kb, e, a->aid, vkey, vklen);
    if ((rc = txn_sorter_add(ld->eav, kb, kl, full, nfull)) != DT_OK) return rc;
    kl = dl_key_ave_to(kb, a->aid, vkey, vklen, e);
    if ((rc = txn_sorter_add(ld->ave, kb, kl, full, nfull)) != DT_OK) return rc;
    ld->nadded++;
    return DT_OK;
}

int dt_loader_add(dt_loader *ld, int64_t e, const char *attr, const dt_value *v) {
    int rc = usable(ld, "dt_loader_add");
    if (rc != DT_OK) return rc;
    if (!attr || !v) return dt__seterr(ld, DT_MISUSE, "dt_loader_add: NULL attribute or value");
    rc = add_datom(ld, e, attr, strlen(attr), v);
    if (rc != DT_OK) {
        char inner[DT__ERRMSG_MAX];
        snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
        dt__seterr(NULL, rc, "loader: datom %llu [%lld :%s ...]: %s",
                   (unsigned long long)ld->nadded + 1, (long long)e, attr, inner);
        return fail(ld, rc);
    }
    return DT_OK;
}

/* {------ EDN ------ */

/* Adds one [e :attr v] form read from EDN. */
static int add_edn_form(dt_loader *ld, const dt_value *f) {
    if ((f->type != DT_VECTOR && f->type != DT_LIST) || f->u.seq.n != 3) {
        char buf[96];
        dl_show(f, buf, sizeof buf);
        return dt__seterr(NULL, DT_INVALID, "expected a datom [e :attr value], got %s", buf);
    }
    const dt_value *it = f->u.seq.items;
    if (it[0].type != DT_LONG && it[0].type != DT_REF) {
        char buf[96];
        dl_show(&it[0], buf, sizeof buf);
        return dt__seterr(NULL, DT_INVALID, "expected an entity id, got %s", buf);
    }
    if (it[1].type != DT_KEYWORD) {
        char buf[96];
        dl_show(&it[1], buf, sizeof buf);
        return dt__seterr(NULL, DT_INVALID, "expected an attribute keyword, got %s", buf);
    }
    return add_datom(ld, it[0].u.i, it[1].u.s.ptr, it[1].u.s.len, &it[2]);
}

/* Skips whitespace, commas and ; comments from i; returns the new index. */
static size_t skip_blank(const char *t, size_t len, size_t i) {
    while (i < len) {
        char c = t[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\f' || c == '\v') {
            i++;
        } else if (c == ';') {
            while (i < len && t[i] != '\n') i++;
        } else {
            break;
        }
    }
    return i;
}

/*
 * Where the datoms of an enclosing-vector text "[[e :a v] ...]" are: the
 * indexes of the opening and closing brackets, when the text is one vector
 * whose first element is a vector (or that is empty).  Returns 0 for the
 * datom-per-form layout.
 */
static int find_enclosing(const char *t, size_t len, size_t *open, size_t *close) {
    size_t i = skip_blank(t, len, 0);
    if (i >= len || t[i] != '[') return 0;
    size_t j = skip_blank(t, len, i + 1);
    if (j >= len || (t[j] != '[' && t[j] != ']')) return 0;
    size_t k = len;
    while (k > 0 && strchr(" \t\r\n,\f\v", t[k - 1]) && t[k - 1] != '\0') k--;
    if (k == 0 || t[k - 1] != ']' || k - 1 <= i) return 0;
    *open = i;
    *close = k - 1;
    return 1;
}

int dt_loader_add_edn(dt_loader *ld, const char *text, size_t len) {
    int rc = usable(ld, "dt_loader_add_edn");
    if (rc != DT_OK) return rc;
    if (!text && len) return dt__seterr(ld, DT_MISUSE, "dt_loader_add_edn: NULL text");
    if (!text) text = "";
    /*
     * For "[[e :a v] ...]" the reader runs over a copy with the outer
     * brackets blanked, so the datoms stream one by one and positions stay
     * those of the caller's text.
     */
    char *copy = NULL;
    const char *src = text;
    size_t open, close;
    if (find_enclosing(text, len, &open, &close)) {
        if (!(copy = dt__malloc(len ? len : 1))) return fail(ld, nomem());
        memcpy(copy, text, len);
        copy[open] = ' ';
        copy[close] = ' ';
        src = copy;
    }
    dt_edn_reader *r = NULL;
    if ((rc = dt_edn_reader_new(src, len, NULL, &r)) != DT_OK) {
        dt__free(copy);
        return fail(ld, rc);
    }
    dt_value f = DT_VALUE_NIL;
    int datom_failed = 0;
    while ((rc = dt_edn_reader_next(r, &f)) == DT_ROW) {
        rc = DT_OK;
        /* a lone enclosing vector the fast path did not take (say, a
         * trailing comment after it): its items are the datoms */
        int outer = !copy && f.type == DT_VECTOR && f.u.seq.n > 0 &&
                    (f.u.seq.items[0].type == DT_VECTOR || f.u.seq.items[0].type == DT_LIST);
        if (outer) {
            for (size_t i = 0; i < f.u.seq.n && rc == DT_OK; i++)
                rc = add_edn_form(ld, &f.u.seq.items[i]);
        } else {
            rc = add_edn_form(ld, &f);
        }
        dt_value_free(&f);
        if (rc != DT_OK) {
            int line = 0, col = 0;
            dt_edn_reader_pos(r, &line, &col, NULL);
            char inner[DT__ERRMSG_MAX];
            snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
            dt__seterr(NULL, rc, "loader: datom at %d:%d: %s", line, col, inner);
            datom_failed = 1;
            break;
        }
    }
    if (rc == DT_DONE)
        rc = DT_OK;
    else if (rc != DT_OK && !datom_failed) /* syntax: the message names line:column */
        dt__seterr(NULL, rc, "loader: %s", dt_errmsg(r));
    dt_edn_reader_free(r);
    dt__free(copy);
    return rc == DT_OK ? DT_OK : fail(ld, rc);
}

/* }------ */

/* {------ msgpack ------ */

typedef struct mpin {
    const uint8_t *p;
    size_t len, pos;
} mpin;

static uint64_t be(const uint8_t *p, int n) {
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x = x << 8 | p[i];
    return x;
}

#define MP_TRUNC (-1)
#define MP_OTHER (-2)

/* Reads an integer; MP_OTHER if the next value is not one. */
static int mp_int(mpin *m, int64_t *out) {
    if (m->pos >= m->len) return MP_TRUNC;
    uint8_t c = m->p[m->pos];
    if (c <= 0x7f || c >= 0xe0) {
        *out = (int8_t)c;
        if (c <= 0x7f) *out = c;
        m->pos++;
        return 0;
    }
    int w;
    if (c >= 0xcc && c <= 0xcf)
        w = 1 << (c - 0xcc);
    else if (c >= 0xd0 && c <= 0xd3)
        w = 1 << (c - 0xd0);
    else
        return MP_OTHER;
    if (m->len - m->pos < (size_t)w + 1) return MP_TRUNC;
    uint64_t x = be(m->p + m->pos + 1, w);
    if (c <= 0xcf) {
        if (x > (uint64_t)INT64_MAX) return MP_OTHER;
        *out = (int64_t)x;
    } else {
        *out = w == 1 ? (int8_t)x : w == 2 ? (int16_t)x : w == 4 ? (int32_t)x : (int64_t)x;
    }
    m->pos += (size_t)w + 1;
    return 0;
}

/* Reads a str or an ext header; *ext_type is -128 for a str.  MP_OTHER
 * for other values. */
static int mp_text_or_ext(mpin *m, int *ext_type, const uint8_t **p, size_t *n) {
    if (m->pos >= m->len) return MP_TRUNC;
    uint8_t c = m->p[m->pos];
    size_t hdr, sz;
    int type = -128;
    const uint8_t *q = m->p + m->pos;
    size_t avail = m->len - m->pos;
    if ((c & 0xe0) == 0xa0) {
        hdr = 1;
        sz = c & 0x1f;
    } else if (c == 0xd9 || c == 0xda || c == 0xdb) {
        int w = c == 0xd9 ? 1 : c == 0xda ? 2 : 4;
        if (avail < (size_t)w + 1) return MP_TRUNC;
        hdr = (size_t)w + 1;
        sz = (size_t)be(q + 1, w);
    } else if (c >= 0xd4 && c <= 0xd8) {
        if (avail < 2) return MP_TRUNC;
        hdr = 2;
        sz = (size_t)1 << (c - 0xd4);
        type = (int8_t)q[1];
    } else if (c == 0xc7 || c == 0xc8 || c == 0xc9) {
        int w = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
        if (avail < (size_t)w + 2) return MP_TRUNC;
        hdr = (size_t)w + 2;
        sz = (size_t)be(q + 1, w);
        type = (int8_t)q[1 + w];
    } else {
        return MP_OTHER;
    }
    if (avail - hdr < sz) return MP_TRUNC;
    *ext_type = type;
    *p = q + hdr;
    *n = sz;
    m->pos += hdr + sz;
    return 0;
}

/*
 * Reads the datom value: common scalars without allocating (strings and
 * keywords borrow the input); anything else through dt_msgpack_decode into
 * *owned (then *owned_used is set and the caller clears it).
 */
static int mp_value(mpin *m, dt_value *v, int *owned) {
    *owned = 0;
    if (m->pos >= m->len) return MP_TRUNC;
    uint8_t c = m->p[m->pos];
    int64_t i;
    int rc = mp_int(m, &i);
    if (rc == 0) {
        dt_value_long(i, v);
        return 0;
    }
    if (rc == MP_TRUNC) return rc;
    const uint8_t *q = m->p + m->pos;
    size_t avail = m->len - m->pos;
    if (c == 0xc2 || c == 0xc3) {
        dt_value_bool(c == 0xc3, v);
        m->pos++;
        return 0;
    }
    if (c == 0xcb) {
        if (avail < 9) return MP_TRUNC;
        uint64_t x = be(q + 1, 8);
        double d;
        memcpy(&d, &x, 8);
        dt_value_double(d, v);
        m->pos += 9;
        return 0;
    }
    size_t save = m->pos;
    int type;
    const uint8_t *p;
    size_t n;
    rc = mp_text_or_ext(m, &type, &p, &n);
    if (rc == MP_TRUNC) return rc;
    if (rc == 0) {
        if (type == -128 || type == DT_MSGPACK_EXT_KEYWORD) {
            size_t bad = dl_utf8_bad_at((const char *)p, n);
            if (bad < n)
                return dt__seterr(NULL, DT_CORRUPT,
                                  "msgpack: malformed UTF-8 (byte 0x%02X) at byte %zu", p[bad],
                                  (size_t)(p - m->p) + bad);
            v->type = type == -128 ? DT_STRING : DT_KEYWORD;
            v->u.s.ptr = (char *)p;
            v->u.s.len = n;
            return 0;
        }
        if ((type == DT_MSGPACK_EXT_INSTANT || type == DT_MSGPACK_EXT_REF) && n == 8) {
            if (type == DT_MSGPACK_EXT_INSTANT)
                dt_value_instant((int64_t)be(p, 8), v);
            else
                dt_value_ref((int64_t)be(p, 8), v);
            return 0;
        }
        m->pos = save;
    }
    /* everything else: the general decoder */
    size_t used = 0;
    rc = dt_msgpack_decode(m->p + m->pos, m->len - m->pos, v, &used);
    if (rc != DT_OK) return rc;
    *owned = 1;
    m->pos += used;
    return 0;
}

/* Parses and adds the datom at m->pos. */
static int add_mp_datom(dt_loader *ld, mpin *m) {
    size_t avail = m->len - m->pos;
    const uint8_t *q = m->p + m->pos;
    uint64_t n;
    if ((q[0] & 0xf0) == 0x90) {
        n = q[0] & 0x0f;
        m->pos += 1;
    } else if (q[0] == 0xdc || q[0] == 0xdd) {
        int w = q[0] == 0xdc ? 2 : 4;
        if (avail < (size_t)w + 1) return MP_TRUNC;
        n = be(q + 1, w);
        m->pos += (size_t)w + 1;
    } else {
        return dt__seterr(NULL, DT_INVALID,
                          "expected an array [e attr value], got type byte 0x%02x", q[0]);
    }
    if (n != 3)
        return dt__seterr(NULL, DT_INVALID, "expected an array [e attr value], got %llu elements",
                          (unsigned long long)n);
    int64_t e;
    int rc = mp_int(m, &e);
    if (rc == MP_OTHER) {
        int type;
        const uint8_t *p;
        size_t len;
        rc = mp_text_or_ext(m, &type, &p, &len);
        if (rc == 0 && type == DT_MSGPACK_EXT_REF && len == 8)
            e = (int64_t)be(p, 8);
        else if (rc == 0 || rc == MP_OTHER)
            return dt__seterr(NULL, DT_INVALID, "the entity must be an integer id");
    }
    if (rc != 0) return rc;
    int type;
    const uint8_t *attr;
    size_t alen;
    rc = mp_text_or_ext(m, &type, &attr, &alen);
    if (rc == MP_OTHER || (rc == 0 && type != -128 && type != DT_MSGPACK_EXT_KEYWORD))
        return dt__seterr(NULL, DT_INVALID, "the attribute must be a keyword or a string");
    if (rc != 0) return rc;
    if (alen && attr[0] == ':' && type == -128) { /* ":a/b" as a string */
        attr++;
        alen--;
    }
    dt_value v = DT_VALUE_NIL;
    int owned = 0;
    rc = mp_value(m, &v, &owned);
    if (rc == DT_CORRUPT) rc = DT_INVALID; /* the decoder's message stands */
    if (rc != 0) return rc;
    rc = add_datom(ld, e, (const char *)attr, alen, &v);
    if (owned) dt_value_free(&v);
    return rc;
}

/*
 * The length of the complete msgpack object at p[0..len), 0 when it is
 * cut off by the end of the bytes, or SIZE_MAX when a byte is not valid
 * msgpack (the parser then says what is wrong).  Walks the headers only.
 */
static size_t mp_complete(const uint8_t *p, size_t len) {
    uint64_t need = 1;
    size_t pos = 0;
    while (need > 0) {
        if (pos >= len) return 0;
        uint8_t c = p[pos];
        size_t h = 1;   /* header bytes */
        uint64_t s = 0; /* payload bytes */
        uint64_t k = 0; /* child objects */
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        } else if (c >= 0x80 && c <= 0x8f) {
            k = 2u * (c & 0x0f);
        } else if (c >= 0x90 && c <= 0x9f) {
            k = c & 0x0f;
        } else if (c >= 0xa0 && c <= 0xbf) {
            s = c & 0x1f;
        } else {
            int w = 0; /* width of a length field */
            switch (c) {
            case 0xc4:
            case 0xd9:
                w = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                w = 2;
                break;
            case 0xc6:
            case 0xdb:
                w = 4;
                break;
            case 0xc7:
                w = 1;
                s = 1;
                break; /* ext8: length, type */
            case 0xc8:
                w = 2;
                s = 1;
                break;
            case 0xc9:
                w = 4;
                s = 1;
                break;
            case 0xca:
                s = 4;
                break;
            case 0xcb:
                s = 8;
                break;
            case 0xcc:
            case 0xd0:
                s = 1;
                break;
            case 0xcd:
            case 0xd1:
                s = 2;
                break;
            case 0xce:
            case 0xd2:
                s = 4;
                break;
            case 0xcf:
            case 0xd3:
                s = 8;
                break;
            case 0xd4:
                s = 2;
                break; /* fixext: type + data */
            case 0xd5:
                s = 3;
                break;
            case 0xd6:
                s = 5;
                break;
            case 0xd7:
                s = 9;
                break;
            case 0xd8:
                s = 17;
                break;
            case 0xdc:
                w = 2;
                k = 1;
                break; /* array16: k is scaled below */
            case 0xdd:
                w = 4;
                k = 1;
                break;
            case 0xde:
                w = 2;
                k = 2;
                break; /* map16 */
            case 0xdf:
                w = 4;
                k = 2;
                break;
            default:
                return SIZE_MAX; /* 0xc1 */
            }
            if (w) {
                if (len - pos < 1 + (size_t)w) return 0;
                uint64_t n = be(p + pos + 1, w);
                h += (size_t)w;
                if (k)
                    k *= n;
                else
                    s += n;
            }
        }
        size_t rest = len - pos;
        if (h > rest || s > rest - h) return 0;
        pos += h + (size_t)s;
        need += k;
        need--;
    }
    return pos;
}

/* Adds the datoms of bytes[0..len); with `part`, a datom cut off at the
 * end is left (*consumed: the bytes used). */
static int add_msgpack(dt_loader *ld, const void *bytes, size_t len, int part, size_t *consumed) {
    mpin m = {bytes, len, 0};
    int rc = DT_OK;
    while (m.pos < m.len) {
        size_t at = m.pos;
        if (part) {
            size_t n = mp_complete(m.p + at, m.len - at);
            if (n == 0) break;
        }
        rc = add_mp_datom(ld, &m);
        if (rc == DT_OK) continue;
        if (rc == MP_TRUNC) {
            rc = DT_INVALID;
            dt__seterr(NULL, rc, "truncated input (%zu bytes left)", m.len - at);
        }
        char inner[DT__ERRMSG_MAX];
        snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
        dt__seterr(NULL, rc, "loader: datom at byte %zu: %s", ld->mp_base + at, inner);
        return fail(ld, rc);
    }
    if (consumed) *consumed = m.pos;
    ld->mp_base += m.pos;
    return DT_OK;
}

int dt_loader_add_msgpack(dt_loader *ld, const void *bytes, size_t len) {
    int rc = usable(ld, "dt_loader_add_msgpack");
    if (rc != DT_OK) return rc;
    if (!bytes && len) return dt__seterr(ld, DT_MISUSE, "dt_loader_add_msgpack: NULL bytes");
    rc = add_msgpack(ld, bytes, len, 0, NULL);
    ld->mp_base = 0;
    return rc;
}

int dt_loader_add_msgpack_part(dt_loader *ld, const void *bytes, size_t len, size_t *consumed) {
    if (consumed) *consumed = 0;
    int rc = usable(ld, "dt_loader_add_msgpack_part");
    if (rc != DT_OK) return rc;
    if ((!bytes && len) || !consumed)
        return dt__seterr(ld, DT_MISUSE, "dt_loader_add_msgpack_part: NULL bytes or consumed");
    return add_msgpack(ld, bytes, len, 1, consumed);
}

/* }------ */

/* }====== */

/* {====== Writing ====== */

/* Appending where possible: the state of one dbi during a pass. */
typedef struct wdbi {
    kv_cursor *cur;  /* writes */
    kv_cursor *look; /* reads (fill checks) */
    dt_kv_dbi dbi;
    uint8_t last[KEYBUF]; /* last pre-existing key */
    size_t nlast;         /* 0: the dbi was empty */
    int beyond;           /* our keys now sort after every pre-existing key */
} wdbi;

/* The steps of the write phase, in order. */
enum { PH_EAV, PH_AVE_TX, PH_AVE, PH_END, PH_DONE };

/* Internal result of a pass: the chunk is full; commit it and go on. */
#define CHUNK_FULL 1000

/* The progress of the write phase: what a chunk that must be redone
 * (map growth) goes back to, with the sorters' marks. */
typedef struct wprog {
    int phase;
    uint64_t written;                  /* user datoms written (EAV pass) */
    uint64_t written_ave;              /* the same counted by the AVE pass */
    uint64_t *count, *distinct;        /* statistics deltas by aid */
    dt_buf prev, prevfull, group_full; /* the previous key (and long value) */
    int in_use, counted;               /* AVE: the current value group's state */
    int64_t holder;
} wprog;

/* Everything the write phase needs. */
typedef struct wctx {
    dt_loader *ld;
    const dl_store *st;
    dt_kv_txn *txn;
    int64_t tx;
    uint8_t txb[DL_INDEX_VAL_LEN];
    uint8_t eavk[KEYBUF], avek[KEYBUF]; /* keys of the datom [tx :db/txInstant now] */
    size_t eavkl, avekl;
    uint8_t *aflags; /* AF_* by aid */
    size_t naid;
    size_t chunk_limit; /* init-db: bytes of entries per commit; 0: one txn */
    size_t chunk_bytes; /* written in the current chunk */
    uint64_t nchunks;   /* chunks committed (the last one excluded) */
    wprog p;            /* where the write is */
    wprog ck;           /* where the current chunk began */
} wctx;

static int wdbi_open(wctx *w, wdbi *d, dt_kv_dbi dbi) {
    memset(d, 0, sizeof *d);
    d->dbi = dbi;
    int rc = kv_cursor_open(w->txn, dbi, &d->cur);
    if (rc == DT_OK) rc = kv_cursor_open(w->txn, dbi, &d->look);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "loader: %s", dt_errmsg(w->st->kv));
    dt_kv_bytes k, v;
    rc = kv_cursor_get(d->look, &k, &v, KV_LAST);
    if (rc == DT_OK) {
        if (k.len > DL_KEY_MAX) return dt__seterr(NULL, DT_CORRUPT, "loader: key too long");
        memcpy(d->last, k.ptr, k.len);
        d->nlast = k.len;
    } else if (rc != DT_NOTFOUND) {
        return dt__seterr(NULL, rc, "loader: %s", dt_errmsg(w->st->kv));
    }
    return DT_OK;
}

static void wdbi_close(wdbi *d) {
    kv_cursor_close(d->cur);
    kv_cursor_close(d->look);
    d->cur = d->look = NULL;
}

/* Writes key -> val, appending when the key sorts after the existing data. */
static int wdbi_put(wctx *w, wdbi *d, const uint8_t *key, size_t klen, const void *val,
                    size_t vlen) {
    unsigned flags = 0;
    if (d->beyond || d->nlast == 0 || keycmp(key, klen, d->last, d->nlast) > 0) {
        d->beyond = 1;
        flags = DT_KV_APPEND;
    }
    dt_kv_bytes k = {key, klen}, v = {val, vlen};
    int rc = kv_cursor_put(d->cur, &k, &v, flags);
    if (rc != DT_OK)
        return dt__seterr(NULL, rc, "loader: writing the index: %s", dt_errmsg(w->st->kv));
    w->chunk_bytes += klen + vlen;
    return DT_OK;
}

/* The first stored key with the given prefix, through d->look; *found 0
 * when there is none. */
static int wdbi_seek_prefix(wctx *w, wdbi *d, const uint8_t *prefix, size_t plen, dt_kv_bytes *out,
                            int *found) {
    *found = 0;
    dt_kv_bytes k = {prefix, plen}, v;
    int rc = kv_cursor_get(d->look, &k, &v, KV_SET_RANGE);
    if (rc == DT_NOTFOUND) return DT_OK;
    if (rc != DT_OK) return dt__seterr(NULL, rc, "loader: reading: %s", dt_errmsg(w->st->kv));
    if (k.len >= plen && memcmp(k.ptr, prefix, plen) == 0) {
        *out = k;
        *found = 1;
    }
    return DT_OK;
}

/* 1 when exactly `key` is stored (before this load wrote it). */
static int wdbi_exists(wctx *w, wdbi *d, const uint8_t *key, size_t klen, int *out) {
    dt_kv_bytes k = {key, klen}, v;
    int rc = kv_cursor_get(d->look, &k, &v, KV_SET);
    *out = rc == DT_OK;
    if (rc == DT_OK || rc == DT_NOTFOUND) return DT_OK;
    return dt__seterr(NULL, rc, "loader: reading: %s", dt_errmsg(w->st->kv));
}

static const char *ident_of(wctx *w, uint32_t aid) {
    const dl_attr *a = dl_schema_by_aid(w->ld->ws, aid);
    return a ? a->ident : "?";
}

/* A truncated key stands for the full value `full`: checks that the value
 * stored under the same key in giants is that one (else two values share a
 * prefix and hash, which cannot be stored). */
static int check_giant(wctx *w, uint32_t aid, const uint8_t *vkey, size_t vklen,
                       const uint8_t *full, size_t nfull) {
    dt_kv_bytes stored;
    int rc = dl_value_full_enc(w->st, w->txn, aid, vkey, vklen, &stored);
    if (rc != DT_OK) return rc;
    if (stored.len != nfull || memcmp(stored.ptr, full, nfull) != 0)
        return dt__seterr(NULL, DT_LIMIT,
                          "loader: two different values of %zu bytes of :%s share a key prefix and "
                          "hash; cannot store both",
                          nfull, ident_of(w, aid));
    return DT_OK;
}

static int collision(wctx *w, uint32_t aid, size_t n) {
    return dt__seterr(
        NULL, DT_LIMIT,
        "loader: two different values of %zu bytes of :%s share a key prefix and hash; "
        "cannot store both",
        n, ident_of(w, aid));
}

static int copy_buf(dt_buf *b, const void *p, size_t n) {
    b->len = 0;
    return n && dt_buf_append(b, p, n) != DT_OK ? nomem() : DT_OK;
}

/* 1 when the current chunk has reached its size (never in one-txn mode). */
static int chunk_full(const wctx *w) { return w->chunk_limit && w->chunk_bytes >= w->chunk_limit; }

/*
 * The EAV pass: duplicates dropped, cardinality one checked (in the input
 * and, for fill, against the stored data), datoms already stored skipped,
 * the rest written in key order; then the transaction's own datom.  Goes
 * on from where the previous chunk stopped; CHUNK_FULL when this one is
 * full.
 */
static int eav_pass(wctx *w) {
    dt_loader *ld = w->ld;
    wdbi d;
    int rc = wdbi_open(w, &d, w->st->eav);
    const uint8_t *k, *val;
    size_t kl, vl;
    int fill = ld->mode == DT_LOAD_FILL;
    dt_buf *prev = &w->p.prev;
    while (rc == DT_OK) {
        if (chunk_full(w)) {
            rc = CHUNK_FULL;
            break;
        }
        if ((rc = txn_sorter_next(ld->eav, &k, &kl, &val, &vl)) != DT_ROW) break;
        rc = DT_OK;
        dl_datom kd;
        if (dl_key_parse(DL_INDEX_EAV, k, kl, &kd) != DT_OK) {
            rc = dt__seterr(NULL, DT_INTERNAL, "loader: malformed sorted eav key");
            break;
        }
        if (prev->len == kl && memcmp(prev->p, k, kl) == 0) {
            /* the same datom again (a long value must really be the same) */
            if (vl && (w->p.prevfull.len != vl || memcmp(w->p.prevfull.p, val, vl) != 0))
                rc = collision(w, kd.aid, vl);
            continue;
        }
        uint32_t aid = kd.aid;
        uint8_t af = aid < w->naid ? w->aflags[aid] : 0;
        if (!(af & AF_KNOWN)) {
            rc = dt__seterr(NULL, DT_INTERNAL, "loader: datom of unknown attribute %u", aid);
            break;
        }
        int64_t e = kd.e;
        size_t ea = dl_key_lead_len(DL_INDEX_EAV, 2, kl); /* e | aid */
        int same_ea = prev->len >= ea && memcmp(prev->p, k, ea) == 0;
        if (same_ea && !(af & AF_MANY)) {
            char a[96], b[96];
            dl_datom pd;
            if (dl_key_parse(DL_INDEX_EAV, prev->p, prev->len, &pd) == DT_OK)
                show_vkey(pd.v, pd.vlen, w->p.prevfull.p, w->p.prevfull.len, a, sizeof a);
            else
                snprintf(a, sizeof a, "?");
            show_vkey(kd.v, kd.vlen, val, vl, b, sizeof b);
            rc = dt__seterr(NULL, DT_CONFLICT,
                            "loader: entity %lld gets two values of the cardinality-one attribute "
                            ":%s: %s and %s",
                            (long long)e, ident_of(w, aid), a, b);
            break;
        }
        if ((rc = copy_buf(prev, k, kl)) != DT_OK) break;
        if (vl && (rc = copy_buf(&w->p.prevfull, val, vl)) != DT_OK) break;
        int exists = 0;
        if (fill && !(af & AF_MANY)) {
            dt_kv_bytes old;
            int found;
            if ((rc = wdbi_seek_prefix(w, &d, k, ea, &old, &found)) != DT_OK) break;
            if (found && (old.len != kl || memcmp(old.ptr, k, kl) != 0)) {
                char a[96], b[96];
                dt_value ov = DT_VALUE_NIL;
                dl_datom od;
                if (dl_key_parse(DL_INDEX_EAV, old.ptr, old.len, &od) == DT_OK &&
                    dl_value_decode_key(w->st, w->txn, aid, od.v, od.vlen, &ov) == DT_OK)
                    dl_show(&ov, a, sizeof a);
                else
                    snprintf(a, sizeof a, "?");
                dt_value_free(&ov);
                show_vkey(kd.v, kd.vlen, val, vl, b, sizeof b);
                rc = dt__seterr(NULL, DT_CONFLICT,
                                "loader: entity %lld already has %s for the cardinality-one "
                                "attribute :%s; cannot load %s",
                                (long long)e, a, ident_of(w, aid), b);
                break;
            }
            exists = found;
        } else if (fill) {
            if ((rc = wdbi_exists(w, &d, k, kl, &exists)) != DT_OK) break;
        }
        if (exists) {
            if (vl && (rc = check_giant(w, aid, kd.v, kd.vlen, val, vl)) != DT_OK) break;
            continue;
        }
        if ((rc = wdbi_put(w, &d, k, kl, w->txb, 8)) != DT_OK) break;
        w->p.written++;
    }
    if (rc == DT_DONE) {
        rc = wdbi_put(w, &d, w->eavk, w->eavkl, w->txb, 8);
        if (rc == DT_OK) w->p.phase = PH_AVE_TX;
    }
    wdbi_close(&d);
    return rc;
}

/* The AVE entry of the transaction's own datom: its aid sorts before the
 * user aids, so it comes first. */
static int ave_tx(wctx *w) {
    wdbi d;
    dt_kv_bytes old;
    int in_use = 0;
    int rc = wdbi_open(w, &d, w->st->ave);
    if (rc == DT_OK)
        rc = wdbi_seek_prefix(w, &d, w->avek, dl_key_lead_len(DL_INDEX_AVE, 2, w->avekl), &old,
                              &in_use);
    if (rc == DT_OK) rc = wdbi_put(w, &d, w->avek, w->avekl, w->txb, 8);
    wdbi_close(&d);
    if (rc != DT_OK) return rc;
    w->p.count[DL_AID_TXINSTANT]++;
    if (!in_use) w->p.distinct[DL_AID_TXINSTANT]++;
    w->p.prev.len = 0;
    w->p.in_use = w->p.counted = 0;
    w->p.holder = 0;
    w->p.phase = PH_AVE;
    return DT_OK;
}

/*
 * The AVE pass: duplicates dropped, uniqueness checked (input and stored
 * data), long values written once to giants, statistics counted, datoms
 * already stored skipped, the rest written in key order.  Resumes and
 * stops like the EAV pass.
 */
static int ave_pass(wctx *w) {
    dt_loader *ld = w->ld;
    wdbi d, g;
    memset(&g, 0, sizeof g);
    int rc = wdbi_open(w, &d, w->st->ave);
    if (rc == DT_OK) rc = wdbi_open(w, &g, w->st->giants);
    const uint8_t *k, *val;
    size_t kl, vl;
    int fill = ld->mode == DT_LOAD_FILL;
    dt_buf *prev = &w->p.prev;
    while (rc == DT_OK) {
        if (chunk_full(w)) {
            rc = CHUNK_FULL;
            break;
        }
        if ((rc = txn_sorter_next(ld->ave, &k, &kl, &val, &vl)) != DT_ROW) break;
        rc = DT_OK;
        if (prev->len == kl && memcmp(prev->p, k, kl) == 0) continue; /* EAV pass checked it */
        dl_datom kd;
        if (dl_key_parse(DL_INDEX_AVE, k, kl, &kd) != DT_OK) {
            rc = dt__seterr(NULL, DT_INTERNAL, "loader: malformed sorted ave key");
            break;
        }
        uint32_t aid = kd.aid;
        uint8_t af = aid < w->naid ? w->aflags[aid] : 0;
        int64_t e = kd.e;
        const uint8_t *vkey = kd.v;
        size_t vklen = kd.vlen;
        /* aid | vkey: the value group, and the giants key of a long value */
        size_t av = dl_key_lead_len(DL_INDEX_AVE, 2, kl);
        int new_group = !(prev->len == kl && memcmp(prev->p, k, av) == 0);
        if (!new_group) {
            if (af & AF_UNIQUE) {
                char a[96];
                dl_datom pd = {0, 0, NULL, 0, 0, 0};
                (void)dl_key_parse(DL_INDEX_AVE, prev->p, prev->len, &pd);
                show_vkey(vkey, vklen, val, vl, a, sizeof a);
                rc =
                    dt__seterr(NULL, DT_CONFLICT,
                               "loader: the unique value :%s %s is given to entities %lld and %lld",
                               ident_of(w, aid), a, (long long)pd.e, (long long)e);
                break;
            }
            if (vl && (w->p.group_full.len != vl || memcmp(w->p.group_full.p, val, vl) != 0)) {
                rc = collision(w, aid, vl);
                break;
            }
        } else {
            w->p.in_use = 0;
            w->p.counted = 0;
            w->p.holder = 0;
            if (fill) {
                dt_kv_bytes old = {NULL, 0};
                int in_use = 0;
                if ((rc = wdbi_seek_prefix(w, &d, k, av, &old, &in_use)) != DT_OK) break;
                w->p.in_use = in_use;
                if (in_use) {
                    dl_datom hd;
                    if (dl_key_parse(DL_INDEX_AVE, old.ptr, old.len, &hd) != DT_OK) {
                        rc = dt__seterr(NULL, DT_CORRUPT, "loader: malformed ave entry");
                        break;
                    }
                    w->p.holder = hd.e;
                    if ((af & AF_UNIQUE) && w->p.holder != e) {
                        char a[96];
                        show_vkey(vkey, vklen, val, vl, a, sizeof a);
                        rc = dt__seterr(NULL, DT_CONFLICT,
                                        "loader: the unique value :%s %s already belongs to "
                                        "entity %lld (loading it for entity %lld)",
                                        ident_of(w, aid), a, (long long)w->p.holder, (long long)e);
                        break;
                    }
                }
            }
            if (vl) {
                if ((rc = copy_buf(&w->p.group_full, val, vl)) != DT_OK) break;
                if (w->p.in_use)
                    rc = check_giant(w, aid, vkey, vklen, val, vl);
                else
                    rc = wdbi_put(w, &g, k, av, val, vl);
                if (rc != DT_OK) break;
            }
        }
        if ((rc = copy_buf(prev, k, kl)) != DT_OK) break;
        int exists = 0;
        if (w->p.in_use) {
            if (af & AF_UNIQUE)
                exists = w->p.holder == e;
            else if ((rc = wdbi_exists(w, &d, k, kl, &exists)) != DT_OK)
                break;
        }
        if (exists) continue;
        if ((rc = wdbi_put(w, &d, k, kl, w->txb, 8)) != DT_OK) break;
        w->p.written_ave++;
        w->p.count[aid]++;
        if (!w->p.in_use && !w->p.counted) {
            w->p.distinct[aid]++;
            w->p.counted = 1;
        }
    }
    if (rc == DT_DONE) {
        rc = DT_OK;
        w->p.phase = PH_END;
    }
    wdbi_close(&d);
    wdbi_close(&g);
    return rc;
}

/* Adds the statistics deltas to the stored statistics. */
static int write_stats(wctx *w) {
    for (uint32_t aid = 0; aid < w->naid; aid++) {
        if (!w->p.count[aid] && !w->p.distinct[aid]) continue;
        int rc =
            dl_stats_add(w->st, w->txn, aid, (int64_t)w->p.count[aid], (int64_t)w->p.distinct[aid]);
        if (rc != DT_OK) return rc;
    }
    return DT_OK;
}

/* The tx-log entry of the load: {:bulk-load n}. */
static int write_txlog(wctx *w) {
    dt_value m;
    if (dt_value_seq(DT_MAP, 2, &m) != DT_OK) return nomem();
    int rc = dt_value_text(DT_KEYWORD, "bulk-load", 9, &m.u.seq.items[0]);
    if (rc == DT_OK) {
        dt_value_long((int64_t)w->p.written, &m.u.seq.items[1]);
        rc = dl_txlog_put(w->st, w->txn, w->tx, &m);
    }
    dt_value_free(&m);
    return rc;
}

/* The end of the write, in the last transaction: statistics, tx-log,
 * counters, and (init-db in chunks) the marker removed. */
static int write_end(wctx *w) {
    dt_loader *ld = w->ld;
    int rc;
    if (w->p.written != w->p.written_ave)
        return dt__seterr(NULL, DT_INTERNAL, "loader: the indexes disagree (%llu vs %llu datoms)",
                          (unsigned long long)w->p.written, (unsigned long long)w->p.written_ave);
    if ((rc = write_stats(w)) != DT_OK) return rc;
    if ((rc = write_txlog(w)) != DT_OK) return rc;
    uint64_t next_eid = ld->next_eid;
    if (ld->max_e >= 0 && (uint64_t)ld->max_e + 1 > next_eid) next_eid = (uint64_t)ld->max_e + 1;
    if ((rc = dl_meta_put_u64(w->st, w->txn, "next_eid", next_eid)) != DT_OK) return rc;
    if ((rc = dl_meta_put_u64(w->st, w->txn, "next_t", ld->next_t + 1)) != DT_OK) return rc;
    if (ld->ws_changed &&
        (rc = dl_meta_put_u64(w->st, w->txn, "schema_v", ld->schema_v + 1)) != DT_OK)
        return rc;
    if (w->chunk_limit) {
        rc = dt_kv_del(w->st->kv, w->txn, w->st->meta, DL_META_LOADING, strlen(DL_META_LOADING),
                       NULL, 0);
        if (rc == DT_NOTFOUND) rc = DT_OK;
        if (rc == DT_OK) rc = kv_exclusive_clear(w->txn);
        if (rc != DT_OK) return dt__seterr(NULL, rc, "loader: %s", dt_errmsg(w->st->kv));
    }
    w->p.phase = PH_DONE;
    return DT_OK;
}

/* {------ Progress kept for redoing a chunk ------ */

static int prog_init(wprog *p, size_t naid) {
    memset(p, 0, sizeof *p);
    p->count = dt__calloc(naid ? naid : 1, sizeof *p->count);
    p->distinct = dt__calloc(naid ? naid : 1, sizeof *p->distinct);
    return p->count && p->distinct ? DT_OK : nomem();
}

static void prog_release(wprog *p) {
    dt__free(p->count);
    dt__free(p->distinct);
    dt_buf_release(&p->prev);
    dt_buf_release(&p->prevfull);
    dt_buf_release(&p->group_full);
}

static int prog_copy(wprog *to, const wprog *from, size_t naid) {
    to->phase = from->phase;
    to->written = from->written;
    to->written_ave = from->written_ave;
    to->in_use = from->in_use;
    to->counted = from->counted;
    to->holder = from->holder;
    memcpy(to->count, from->count, naid * sizeof *to->count);
    memcpy(to->distinct, from->distinct, naid * sizeof *to->distinct);
    int rc = copy_buf(&to->prev, from->prev.p, from->prev.len);
    if (rc == DT_OK) rc = copy_buf(&to->prevfull, from->prevfull.p, from->prevfull.len);
    if (rc == DT_OK) rc = copy_buf(&to->group_full, from->group_full.p, from->group_full.len);
    return rc;
}

/* The current chunk begins here. */
static int prog_save(wctx *w) {
    int rc = txn_sorter_mark(w->ld->eav);
    if (rc == DT_OK) rc = txn_sorter_mark(w->ld->ave);
    if (rc == DT_OK) rc = prog_copy(&w->ck, &w->p, w->naid);
    return rc;
}

/* Back to where the current chunk began. */
static int prog_restore(wctx *w) {
    int rc = txn_sorter_to_mark(w->ld->eav);
    if (rc == DT_OK) rc = txn_sorter_to_mark(w->ld->ave);
    if (rc == DT_OK) rc = prog_copy(&w->p, &w->ck, w->naid);
    return rc;
}

/* }------ */

/* Begins a write transaction with nothing in it. */
static int begin_txn(dt_loader *ld) {
    dt_kv_txn_abort(ld->txn);
    ld->txn = NULL;
    int rc = kv_txn_begin(ld->conn->kv, NULL, LOAD_TXN, &ld->txn);
    if (rc != DT_OK) return dt__seterr(NULL, rc, "loader: %s", dt_errmsg(ld->conn->kv));
    return DT_OK;
}

/*
 * Runs the write from where it is in ld->txn until the chunk is full or
 * the write is done, and commits.  The first transaction also holds the
 * attributes the load created and, for a load in chunks, the schema
 * version and the "loading" marker.  May return DT_MAPFULL_RETRY (then
 * redo the chunk in a new txn).
 */
static int run_chunk(wctx *w) {
    dt_loader *ld = w->ld;
    int rc = DT_OK;
    w->txn = ld->txn;
    w->chunk_bytes = 0;
    if (w->chunk_limit && w->nchunks == 0) {
        rc = dl_meta_put_u64(w->st, w->txn, DL_META_LOADING, (uint64_t)w->tx);
        if (rc == DT_OK && (rc = kv_exclusive_set(w->txn, "init-db")) != DT_OK)
            rc = dt__seterr(NULL, rc, "loader: %s", dt_errmsg(w->st->kv));
        if (rc == DT_OK && ld->ws_changed)
            rc = dl_meta_put_u64(w->st, w->txn, "schema_v", ld->schema_v + 1);
    }
    while (rc == DT_OK && w->p.phase != PH_DONE) {
        switch (w->p.phase) {
        case PH_EAV:
            rc = eav_pass(w);
            break;
        case PH_AVE_TX:
            rc = ave_tx(w);
            break;
        case PH_AVE:
            rc = ave_pass(w);
            break;
        default:
            rc = write_end(w);
            break;
        }
    }
    if (rc == CHUNK_FULL) rc = DT_OK;
    if (rc != DT_OK) return rc;
    rc = dt_kv_txn_commit(ld->txn);
    ld->txn = NULL;
    w->txn = NULL;
    if (rc != DT_OK) return dt__seterr(NULL, rc, "loader: commit failed: %s", dt_errmsg(w->st->kv));
    return DT_OK;
}

/*
 * The write phase, in ld->txn: one transaction, or (init-db) a commit
 * whenever chunk_limit bytes of entries were written.  When the map fills
 * up only the current chunk runs again, from where it began.
 */
static int write_all(wctx *w, int64_t instant) {
    dt_loader *ld = w->ld;
    w->tx = DL_TX0 + (int64_t)ld->next_t;
    dl_index_val(w->txb, w->tx);
    /* the transaction's own datom [tx :db/txInstant instant] */
    uint8_t ienc[9];
    dl_codec_put_int(DT_INSTANT, instant, ienc);
    w->eavkl = dl_key_eav_to(w->eavk, w->tx, DL_AID_TXINSTANT, ienc, 9);
    w->avekl = dl_key_ave_to(w->avek, DL_AID_TXINSTANT, ienc, 9, w->tx);
    w->p.phase = PH_EAV;
    int rc = prog_save(w);
    while (rc == DT_OK) {
        rc = run_chunk(w);
        if (rc == DT_OK) {
            if (w->p.phase == PH_DONE) break;
            w->nchunks++;
            if (txn_load_chunk_hook) txn_load_chunk_hook(txn_load_chunk_hook_arg);
            if ((rc = prog_save(w)) == DT_OK) rc = begin_txn(ld);
        } else if (rc == DT_MAPFULL_RETRY) {
            /* the map has grown: this chunk again (the first one with the
             * attributes created by the load) */
            if ((rc = prog_restore(w)) == DT_OK) rc = w->nchunks ? begin_txn(ld) : restart_txn(ld);
        }
    }
    return rc;
}

/*
 * Removes what the committed chunks of a failed init-db wrote: the datom
 * databases it filled were empty before (dt_loader_open checked), the
 * attributes it created, the schema version, the marker.  The counters,
 * statistics and tx-log are only written by the last transaction.
 */
static int undo_chunks(dt_loader *ld) {
    const dl_store *st = &ld->conn->st;
    dt_kv_txn_abort(ld->txn);
    ld->txn = NULL;
    for (;;) {
        dt_kv_txn *t = NULL;
        int rc = kv_txn_begin(st->kv, NULL, LOAD_TXN, &t);
        if (rc == DT_OK) rc = dt_kv_dbi_clear(st->kv, t, st->eav);
        if (rc == DT_OK) rc = dt_kv_dbi_clear(st->kv, t, st->ave);
        if (rc == DT_OK) rc = dt_kv_dbi_clear(st->kv, t, st->giants);
        size_t n = dl_schema_count(ld->ws);
        for (size_t i = 0; rc == DT_OK && i < n; i++) {
            const dl_attr *a = dl_schema_at(ld->ws, i);
            if (a->aid < ld->first_new_aid) continue;
            rc = dl_store_del_attr(st, t, a->aid);
        }
        if (rc == DT_OK && ld->ws_changed) {
            if (ld->schema_v_stored) {
                rc = dl_meta_put_u64(st, t, "schema_v", ld->schema_v);
            } else {
                rc = dt_kv_del(st->kv, t, st->meta, "schema_v", 8, NULL, 0);
                if (rc == DT_NOTFOUND) rc = DT_OK;
            }
        }
        if (rc == DT_OK) {
            rc = dt_kv_del(st->kv, t, st->meta, DL_META_LOADING, strlen(DL_META_LOADING), NULL, 0);
            if (rc == DT_NOTFOUND) rc = DT_OK;
            if (rc == DT_OK) rc = kv_exclusive_clear(t);
        }
        if (rc == DT_OK)
            rc = dt_kv_txn_commit(t);
        else
            dt_kv_txn_abort(t);
        if (rc != DT_MAPFULL_RETRY) return rc;
    }
}

static void release_lock(dt_loader *ld) {
    dt_kv_txn_abort(ld->txn);
    ld->txn = NULL;
    if (ld->locked) {
        txn_writer_leave(ld->conn);
        ld->locked = 0;
    }
}

int dt_loader_finish(dt_loader *ld, uint64_t *out_count) {
    if (out_count) *out_count = 0;
    int rc = usable(ld, "dt_loader_finish");
    if (rc != DT_OK) {
        if (ld && ld->magic == DT_MAGIC_LOADER && ld->failed) {
            ld->finished = 1;
            release_lock(ld);
            dt__moveerr(ld, ld->conn, rc);
        }
        return rc;
    }
    ld->finished = 1;
    wctx w;
    memset(&w, 0, sizeof w);
    w.ld = ld;
    w.st = &ld->conn->st;
    w.naid = dl_schema_next_aid(ld->ws);
    w.chunk_limit = ld->chunk_limit;
    w.aflags = dt__calloc(w.naid, 1);
    if (!w.aflags) rc = nomem();
    if (rc == DT_OK) rc = prog_init(&w.p, w.naid);
    if (rc == DT_OK) rc = prog_init(&w.ck, w.naid);
    for (size_t i = 0; rc == DT_OK && i < dl_schema_count(ld->ws); i++) {
        const dl_attr *a = dl_schema_at(ld->ws, i);
        if (a->aid < w.naid)
            w.aflags[a->aid] =
                (uint8_t)(AF_KNOWN | (a->many ? AF_MANY : 0) | (a->unique ? AF_UNIQUE : 0));
    }
    if (rc == DT_OK) rc = txn_sorter_finish2(ld->eav, ld->ave);
    if (rc == DT_OK) rc = write_all(&w, now_ms());
    if (rc == DT_OK) {
        if (ld->ws_changed)
            txn_conn_set_schema(ld->conn, dl_schema_retain(ld->ws), ld->schema_v + 1);
        if (out_count) *out_count = w.p.written;
    } else if (w.nchunks) {
        /* chunks were committed: take them back, keeping the first error */
        char msg[DT__ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", dt_errmsg(NULL));
        int urc = undo_chunks(ld);
        if (urc == DT_OK)
            dt__seterr(NULL, rc, "%s", msg);
        else
            dt__seterr(NULL, rc,
                       "%s; removing the partly written load failed too (%s): delete the "
                       "database directory",
                       msg, dt_errstr(urc));
    }
    release_lock(ld);
    dt__free(w.aflags);
    prog_release(&w.p);
    prog_release(&w.ck);
    /* the sorted runs are no longer needed */
    txn_sorter_free(ld->eav);
    txn_sorter_free(ld->ave);
    ld->eav = ld->ave = NULL;
    if (rc != DT_OK) {
        fail(ld, rc);
        dt__moveerr(ld, ld->conn, rc);
    }
    return rc;
}

/* }====== */

/* {====== Opening and freeing ====== */

/* *out 1 when dbi holds no entry (in ld->txn). */
static int dbi_empty(dt_loader *ld, dt_kv_dbi dbi, int *out) {
    kv_cursor *c = NULL;
    dt_kv_bytes k, v;
    int rc = kv_cursor_open(ld->txn, dbi, &c);
    if (rc == DT_OK) rc = kv_cursor_get(c, &k, &v, KV_FIRST);
    kv_cursor_close(c);
    *out = rc == DT_NOTFOUND;
    if (rc == DT_OK || rc == DT_NOTFOUND) return DT_OK;
    return dt__seterr(NULL, rc, "loader: %s", dt_errmsg(ld->conn->kv));
}

int dt_loader_open(dt_conn *conn, dt_load_mode mode, const dt_load_options *opts, dt_loader **out) {
    if (!out) return dt__seterr(conn, DT_MISUSE, "dt_loader_open: NULL out");
    *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_loader_open: not an open connection");
    if (mode != DT_LOAD_INIT && mode != DT_LOAD_FILL)
        return dt__seterr(conn, DT_MISUSE, "dt_loader_open: unknown mode %d", (int)mode);
    dt_load_options dflt = DT_LOAD_OPTIONS_INIT;
    if (!opts) opts = &dflt;
    if (dt__check_version(conn, "dt_loader_open: dt_load_options", opts->version,
                          DT_LOAD_OPTIONS_VERSION))
        return DT_INVALID;
    size_t budget = opts->mem_budget ? opts->mem_budget : DEFAULT_BUDGET;
    size_t chunk = opts->version >= 2 && opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK;
    dt_loader *ld = dt__calloc(1, sizeof *ld);
    if (!ld) return dt__seterr(conn, DT_NOMEM, "dt_loader_open: out of memory");
    ld->magic = DT_MAGIC_LOADER;
    ld->conn = conn;
    ld->mode = mode;
    int rc = txn_sorter_new(budget / 2, opts->tmpdir, &ld->eav);
    if (rc == DT_OK) rc = txn_sorter_new(budget / 2, opts->tmpdir, &ld->ave);
    if (rc != DT_OK) {
        dt__moveerr(NULL, conn, rc);
        dt_loader_close(ld);
        return rc;
    }
    if ((rc = txn_writer_enter(conn)) != DT_OK) { /* message on conn */
        dt_loader_close(ld);
        return rc;
    }
    ld->locked = 1;
    pthread_mutex_lock(&conn->slock);
    ld->ws = dl_schema_retain(conn->schema);
    ld->schema_v = conn->schema_v;
    pthread_mutex_unlock(&conn->slock);
    ld->first_new_aid = dl_schema_next_aid(ld->ws);
    rc = kv_txn_begin(conn->kv, NULL, LOAD_TXN, &ld->txn);
    if (rc != DT_OK) rc = dt__seterr(NULL, rc, "loader: %s", dt_errmsg(conn->kv));
    if (rc == DT_OK) rc = dl_meta_get_u64(&conn->st, ld->txn, "next_eid", 1, &ld->next_eid);
    if (rc == DT_OK) rc = dl_meta_get_u64(&conn->st, ld->txn, "next_t", 1, &ld->next_t);
    if (rc == DT_OK) {
        dt_kv_bytes v;
        rc = dt_kv_get_view(conn->kv, ld->txn, conn->st.meta, "schema_v", 8, &v);
        ld->schema_v_stored = rc == DT_OK;
        if (rc == DT_NOTFOUND) rc = DT_OK;
        if (rc != DT_OK) rc = dt__seterr(NULL, rc, "loader: %s", dt_errmsg(conn->kv));
    }
    if (rc == DT_OK && mode == DT_LOAD_INIT) {
        int empty = 0;
        rc = dbi_empty(ld, conn->st.eav, &empty);
        if (rc == DT_OK && !empty)
            rc = dt__seterr(NULL, DT_MISUSE,
                            "dt_loader_open: init-db needs a database without datoms; use "
                            "DT_LOAD_FILL to add to this one");
        /* committing in chunks relies on undoing them by emptying the
         * indexes: only when they hold nothing at all */
        int ave_empty = 0, giants_empty = 0;
        if (rc == DT_OK) rc = dbi_empty(ld, conn->st.ave, &ave_empty);
        if (rc == DT_OK) rc = dbi_empty(ld, conn->st.giants, &giants_empty);
        if (rc == DT_OK && ave_empty && giants_empty && chunk != SIZE_MAX) ld->chunk_limit = chunk;
    }
    if (rc != DT_OK) {
        dt__moveerr(NULL, conn, rc);
        dt_loader_close(ld);
        return rc;
    }
    *out = ld;
    return DT_OK;
}

void dt_loader_close(dt_loader *ld) {
    if (!ld || ld->magic != DT_MAGIC_LOADER) return;
    release_lock(ld);
    txn_sorter_free(ld->eav);
    txn_sorter_free(ld->ave);
    dl_schema_release(ld->ws);
    dt_buf_release(&ld->enc);
    dt_buf_release(&ld->vk);
    dt__clearerr(ld);
    ld->magic = DT_MAGIC_DEAD;
    dt__free(ld);
}

/* }====== */
