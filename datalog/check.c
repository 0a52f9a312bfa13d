/*
 * check.c -- dt_check: an integrity check of a Datolite database (datalog
 * layer).  LMDB keeps no page checksums, so a damaged file (bit rot, a
 * partial copy, another program's writes) is found only by reading it:
 * this walks every datom database in key order and cross-checks them
 * (docs/reliability.md lists the checks).
 *
 * The walk runs in a child process (fork): reading a damaged page may
 * crash (LMDB asserts, a wild pointer, a page past the end of the file),
 * and such a crash must become a finding of the caller, never its death.
 * The child sends its progress and findings through a pipe as lines:
 *   "P <phase>"  the database being walked now
 *   "F <text>"   a finding
 *   "N <datoms> <entries>"  counts at the end
 *   "E <code> <text>"  the check could not run (not a damage)
 *   "D"          the walk completed
 * A child that ends without "D" crashed: the parent reports the signal
 * and the phase it was in.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "schema.h"
#include "store.h"
#include "index.h"

#define MAX_FINDINGS   1000 /* kept in the text; the count goes on */
#define MAX_ORDER_ERRS 10   /* a database's walk stops after this many */
#define MAX_PER_PHASE  200  /* findings sent per database */
#define SHOW_MAX       120  /* characters of a value shown in a finding */

/* {====== The walk (child side) ====== */

typedef struct ck {
    int fd;
    dt_kv *kv;
    dl_store st;
    dt_kv_txn *txn;
    dl_schema *s;
    const char *phase;
    unsigned phase_findings;
    uint64_t findings;
    uint64_t datoms, entries;
    uint64_t walk_limit; /* entries of one database beyond which a walk loops */
    uint64_t next_eid, next_t;
    int64_t max_tx;     /* the latest transaction id */
    int64_t max_user_e; /* largest user entity id used (entity or ref value) */
    int64_t top_tx;     /* largest transaction id seen anywhere */
    uint32_t naid;
    uint64_t *count, *distinct, *stat_count, *stat_distinct;
    uint8_t *has_stat;
    dt_buf kb, prev, group;
} ck;

static void send_line(ck *c, char tag, const char *text) {
    char buf[DT__ERRMSG_MAX + 64];
    int n = snprintf(buf, sizeof buf, "%c %s", tag, text);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    for (int i = 2; i < n; i++)
        if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
    buf[n++] = '\n';
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(c->fd, p, (size_t)n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(3);
        p += w;
        n -= (int)w;
    }
}

static void phase(ck *c, const char *name) {
    c->phase = name;
    c->phase_findings = 0;
    send_line(c, 'P', name);
}

static void finding(ck *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void finding(ck *c, const char *fmt, ...) {
    c->findings++;
    if (++c->phase_findings > MAX_PER_PHASE) return;
    char text[DT__ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char line[DT__ERRMSG_MAX + 64];
    if (c->phase_findings == MAX_PER_PHASE)
        snprintf(line, sizeof line, "%s: %s (further findings in %s not listed)", c->phase, text,
                 c->phase);
    else
        snprintf(line, sizeof line, "%s: %s", c->phase, text);
    send_line(c, 'F', line);
}

/* The value whose key form is vkey as short EDN (for findings). */
static void show_vkey(ck *c, uint32_t aid, const uint8_t *vkey, size_t vklen, char *out,
                      size_t cap) {
    dt_value v = DT_VALUE_NIL;
    int rc = dl_value_decode_key(&c->st, c->txn, aid, vkey, vklen, &v);
    char *s = NULL;
    size_t n = 0;
    if (rc == DT_OK && dt_edn_write(&v, DT_EDN_COMPACT, &s, &n) == DT_OK) {
        if (n > SHOW_MAX)
            snprintf(out, cap, "%.*s...", SHOW_MAX, s);
        else
            snprintf(out, cap, "%s", s);
    } else {
        snprintf(out, cap, "(undecodable value)");
    }
    dt_free(s);
    dt_value_free(&v);
}

static const char *ident_of(ck *c, uint32_t aid, char *buf, size_t cap) {
    const dl_attr *a = dl_schema_by_aid(c->s, aid);
    if (a)
        snprintf(buf, cap, ":%s", a->ident);
    else
        snprintf(buf, cap, "attribute#%u", aid);
    return buf;
}

static int keycmp(const void *a, size_t an, const void *b, size_t bn) {
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

static int copy_to(dt_buf *b, const void *p, size_t n) {
    b->len = 0;
    return dt_buf_append(b, p, n);
}

/* A valid transaction id of this database. */
static int tx_ok(const ck *c, int64_t tx) { return tx > DL_TX0 && tx <= c->max_tx; }

/* An entity id that may appear as a datom's entity. */
static int entity_ok(const ck *c, int64_t e) { return dl_eid_ok(e) || tx_ok(c, e); }

static void note_tx(ck *c, int64_t tx) {
    if (tx > c->top_tx) c->top_tx = tx;
}

/*
 * walk: visits every entry of dbi in key order, checking the order and
 * calling fn.  Stops after MAX_ORDER_ERRS order errors or when the walk
 * goes on past walk_limit entries (a loop in the pages).
 */
typedef void (*visit_fn)(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn);

static void walk(ck *c, dt_kv_dbi dbi, visit_fn fn) {
    kv_cursor *cur = NULL;
    int rc = kv_cursor_open(c->txn, dbi, &cur);
    if (rc != DT_OK) {
        finding(c, "cannot open a cursor: %s", dt_errmsg(c->kv));
        return;
    }
    dt_kv_bytes k, v;
    uint64_t n = 0;
    int order_errs = 0, have_prev = 0;
    for (rc = kv_cursor_get(cur, &k, &v, KV_FIRST); rc == DT_OK;
         rc = kv_cursor_get(cur, &k, &v, KV_NEXT)) {
        if (++n > c->walk_limit) {
            finding(c, "the walk does not end after %llu entries (a loop in its pages)",
                    (unsigned long long)n - 1);
            break;
        }
        if (have_prev && keycmp(c->prev.p, c->prev.len, k.ptr, k.len) >= 0) {
            finding(c, "entry %llu: key out of order (the B-tree is damaged)",
                    (unsigned long long)n);
            if (++order_errs >= MAX_ORDER_ERRS) {
                finding(c, "walk stopped after %d keys out of order", order_errs);
                break;
            }
        }
        if (copy_to(&c->prev, k.ptr, k.len) != DT_OK) _exit(4);
        have_prev = 1;
        /* touch every byte of the value (overflow pages included) */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < v.len; i += 512) sink ^= ((const uint8_t *)v.ptr)[i];
        if (v.len) sink ^= ((const uint8_t *)v.ptr)[v.len - 1];
        (void)sink;
        c->entries++;
        fn(c, k.ptr, k.len, v.ptr, v.len);
    }
    if (rc != DT_OK && rc != DT_NOTFOUND)
        finding(c, "reading entry %llu failed: %s", (unsigned long long)n + 1, dt_errmsg(c->kv));
    kv_cursor_close(cur);
    if (rc != DT_OK && rc != DT_NOTFOUND) {
        /* LMDB fails the whole read txn on a damaged page: the other
         * databases are read in a new one */
        dt_kv_txn_abort(c->txn);
        c->txn = NULL;
        if (dt_kv_txn_begin(c->kv, DT_KV_TXN_RDONLY, &c->txn) != DT_OK) {
            finding(c, "cannot begin a read transaction: %s", dt_errmsg(c->kv));
            _exit(5);
        }
    }
}

/* Looks up key in dbi through c->look; DT_OK with the value, DT_NOTFOUND. */
static int lookup(ck *c, dt_kv_dbi dbi, const uint8_t *key, size_t kn, dt_kv_bytes *val) {
    return dt_kv_get_view(c->kv, c->txn, dbi, key, kn, val);
}

/* Checks the value part of an index key; *ok 0 when it is malformed. */
static void check_vkey(ck *c, uint32_t aid, const uint8_t *vkey, size_t vklen, int64_t e, int *ok) {
    dl_codec_info info;
    char nm[96];
    *ok = 0;
    if (dl_codec_scan(vkey, vklen, &info) != DT_OK || info.len != vklen) {
        finding(c, "entity %lld %s: the value bytes are malformed", (long long)e,
                ident_of(c, aid, nm, sizeof nm));
        return;
    }
    const dl_attr *a = dl_schema_by_aid(c->s, aid);
    if (a && a->vtype != DT_NIL && info.type != a->vtype) {
        finding(c, "entity %lld %s: a %s value in a %s attribute", (long long)e,
                ident_of(c, aid, nm, sizeof nm), dt_type_name(info.type), dt_type_name(a->vtype));
    }
    if (info.truncated) {
        dt_kv_bytes full;
        if (dl_key_giant(&c->kb, aid, vkey, vklen) != DT_OK) _exit(4);
        if (lookup(c, c->st.giants, c->kb.p, c->kb.len, &full) != DT_OK) {
            finding(c, "entity %lld %s: a long value is missing from dt/giants", (long long)e,
                    ident_of(c, aid, nm, sizeof nm));
            return;
        }
    } else if (info.type == DT_REF && vklen == 9) {
        int64_t r = dl_codec_get_int(vkey);
        if (!dl_ref_ok(r) || (r > DL_MAX_EID && r > c->max_tx))
            finding(c, "entity %lld %s: ref value %lld is not an entity id", (long long)e,
                    ident_of(c, aid, nm, sizeof nm), (long long)r);
        else if (r <= DL_MAX_EID && r > c->max_user_e)
            c->max_user_e = r;
    }
    *ok = 1;
}

/* {------ dt/eav ------ */

static void visit_eav(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    char nm[96], val[SHOW_MAX + 8];
    dl_datom d;
    if (dl_key_parse(DL_INDEX_EAV, k, kn, &d) != DT_OK) {
        finding(c, "a key of %zu bytes (at least 13 expected)", kn);
        return;
    }
    int64_t e = d.e;
    uint32_t aid = d.aid;
    const uint8_t *vkey = d.v;
    size_t vklen = d.vlen;
    c->datoms++;
    if (!entity_ok(c, e)) finding(c, "entity id %lld is out of range", (long long)e);
    if (e > DL_TX0) note_tx(c, e);
    if (dl_eid_ok(e) && e > c->max_user_e) c->max_user_e = e;
    const dl_attr *a = dl_schema_by_aid(c->s, aid);
    if (!a) finding(c, "entity %lld: unknown attribute id %u", (long long)e, aid);
    if (aid < c->naid) c->count[aid]++;
    int ok = 0;
    check_vkey(c, aid, vkey, vklen, e, &ok);
    if (!ok) return;
    show_vkey(c, aid, vkey, vklen, val, sizeof val);
    int64_t tx = 0;
    int val_ok = dl_index_val_parse(v, vn, &tx) == DT_OK;
    if (!val_ok) {
        finding(c, "[%lld %s %s]: the value is %zu bytes (a tx id of %d expected)", (long long)e,
                ident_of(c, aid, nm, sizeof nm), val, vn, DL_INDEX_VAL_LEN);
    } else {
        note_tx(c, tx);
        if (!tx_ok(c, tx))
            finding(c, "[%lld %s %s]: asserted by %lld, which is no transaction", (long long)e,
                    ident_of(c, aid, nm, sizeof nm), val, (long long)tx);
    }
    /* cardinality one: one value per entity and attribute */
    size_t ea = dl_key_lead_len(DL_INDEX_EAV, 2, kn); /* e | aid */
    if (a && !a->many && c->group.len == ea && memcmp(c->group.p, k, ea) == 0)
        finding(c, "entity %lld has several values of the cardinality-one attribute %s",
                (long long)e, ident_of(c, aid, nm, sizeof nm));
    if (copy_to(&c->group, k, ea) != DT_OK) _exit(4);
    /* its AVE twin */
    if (dl_key_ave(&c->kb, aid, vkey, vklen, e) != DT_OK) _exit(4);
    dt_kv_bytes twin;
    int rc = lookup(c, c->st.ave, c->kb.p, c->kb.len, &twin);
    if (rc == DT_NOTFOUND)
        finding(c, "[%lld %s %s] has no dt/ave entry", (long long)e,
                ident_of(c, aid, nm, sizeof nm), val);
    else if (rc != DT_OK)
        finding(c, "[%lld %s %s]: looking up dt/ave failed: %s", (long long)e,
                ident_of(c, aid, nm, sizeof nm), val, dt_errmsg(c->kv));
    else if (val_ok && (twin.len != vn || memcmp(twin.ptr, v, vn) != 0))
        finding(c, "[%lld %s %s]: dt/ave names another transaction", (long long)e,
                ident_of(c, aid, nm, sizeof nm), val);
}

/* }------ */

/* {------ dt/ave ------ */

static void visit_ave(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    char nm[96], val[SHOW_MAX + 8];
    dl_datom d;
    if (dl_key_parse(DL_INDEX_AVE, k, kn, &d) != DT_OK) {
        finding(c, "a key of %zu bytes (at least 13 expected)", kn);
        return;
    }
    uint32_t aid = d.aid;
    const uint8_t *vkey = d.v;
    size_t vklen = d.vlen;
    int64_t e = d.e;
    if (!entity_ok(c, e)) finding(c, "entity id %lld is out of range", (long long)e);
    const dl_attr *a = dl_schema_by_aid(c->s, aid);
    if (!a) finding(c, "entity %lld: unknown attribute id %u", (long long)e, aid);
    int ok = 0;
    check_vkey(c, aid, vkey, vklen, e, &ok);
    if (!ok) return;
    /* a new value of the attribute, or the same on another entity */
    size_t av = dl_key_lead_len(DL_INDEX_AVE, 2, kn); /* aid | vkey */
    int same = c->group.len == av && memcmp(c->group.p, k, av) == 0;
    if (!same && aid < c->naid) c->distinct[aid]++;
    if (same && a && a->unique) {
        show_vkey(c, aid, vkey, vklen, val, sizeof val);
        finding(c, "the unique value %s of %s belongs to several entities (%lld and others)", val,
                ident_of(c, aid, nm, sizeof nm), (long long)e);
    }
    if (copy_to(&c->group, k, av) != DT_OK) _exit(4);
    if (dl_key_eav(&c->kb, e, aid, vkey, vklen) != DT_OK) _exit(4);
    dt_kv_bytes twin;
    int64_t tx;
    int rc = lookup(c, c->st.eav, c->kb.p, c->kb.len, &twin);
    if (rc == DT_NOTFOUND) {
        show_vkey(c, aid, vkey, vklen, val, sizeof val);
        finding(c, "[%lld %s %s] has no dt/eav entry", (long long)e,
                ident_of(c, aid, nm, sizeof nm), val);
    } else if (rc != DT_OK) {
        finding(c, "entity %lld %s: looking up dt/eav failed: %s", (long long)e,
                ident_of(c, aid, nm, sizeof nm), dt_errmsg(c->kv));
    } else if (dl_index_val_parse(v, vn, &tx) != DT_OK || twin.len != vn ||
               memcmp(twin.ptr, v, vn) != 0) {
        show_vkey(c, aid, vkey, vklen, val, sizeof val);
        finding(c, "[%lld %s %s]: dt/eav names another transaction", (long long)e,
                ident_of(c, aid, nm, sizeof nm), val);
    }
}

/* }------ */

/* {------ dt/giants, dt/history, dt/txlog, dt/stats ------ */

static void visit_giants(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    char nm[96];
    dl_datom d;
    if (dl_key_parse_giant(k, kn, &d) != DT_OK) {
        finding(c, "a key that is not an attribute id and a truncated value (%zu bytes)", kn);
        return;
    }
    uint32_t aid = d.aid;
    dt_buf re = DT_BUF_INIT;
    int truncated = 0;
    int rc = dl_vkey_from_enc(v, vn, &re, &truncated);
    if (rc != DT_OK || !truncated || re.len != d.vlen || memcmp(re.p, d.v, d.vlen) != 0)
        finding(c, "a long value of %s does not match its key (%s)",
                ident_of(c, aid, nm, sizeof nm),
                rc != DT_OK ? "it does not decode" : "another value");
    dt_buf_release(&re);
}

static void visit_history(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    dl_datom d;
    int64_t rtx;
    if (dl_key_parse_history(k, kn, &d, &rtx) != DT_OK) {
        finding(c, "a key of %zu bytes (at least 21 expected)", kn);
        return;
    }
    int64_t e = d.e;
    uint32_t aid = d.aid;
    if (!entity_ok(c, e)) finding(c, "entity id %lld is out of range", (long long)e);
    if (!dl_schema_by_aid(c->s, aid))
        finding(c, "entity %lld: unknown attribute id %u", (long long)e, aid);
    int ok = 0;
    check_vkey(c, aid, d.v, d.vlen, e, &ok);
    note_tx(c, rtx);
    if (!tx_ok(c, rtx))
        finding(c, "entity %lld: retracted by %lld, which is no transaction", (long long)e,
                (long long)rtx);
    int64_t tx;
    if (dl_index_val_parse(v, vn, &tx) != DT_OK) {
        finding(c, "entity %lld: the value is %zu bytes (a tx id of %d expected)", (long long)e, vn,
                DL_INDEX_VAL_LEN);
        return;
    }
    if (!tx_ok(c, tx) || tx > rtx)
        finding(c, "entity %lld: asserted by %lld, retracted by %lld", (long long)e, (long long)tx,
                (long long)rtx);
}

static void visit_txlog(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    if (kn != 8) {
        finding(c, "a key of %zu bytes (a tx id of 8 expected)", kn);
        return;
    }
    int64_t tx = (int64_t)dl_get_u64(k);
    note_tx(c, tx);
    if (!tx_ok(c, tx)) finding(c, "entry for %lld, which is no transaction", (long long)tx);
    dt_value m = DT_VALUE_NIL;
    size_t used = 0;
    int rc = dt_msgpack_decode(v, vn, &m, &used);
    if (rc != DT_OK || used != vn)
        finding(c, "the entry of transaction %lld does not decode", (long long)tx);
    dt_value_free(&m);
}

static void visit_stats(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    if (kn != 4 || vn != 16) {
        finding(c, "an entry of %zu + %zu bytes (4 + 16 expected)", kn, vn);
        return;
    }
    uint32_t aid = dl_get_u32(k);
    if (aid >= c->naid || !dl_schema_by_aid(c->s, aid)) {
        finding(c, "statistics of unknown attribute id %u", aid);
        return;
    }
    c->has_stat[aid] = 1;
    c->stat_count[aid] = dl_get_u64(v);
    c->stat_distinct[aid] = dl_get_u64(v + 8);
}

static void visit_schema(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    if (kn != 4) finding(c, "a key of %zu bytes (an attribute id of 4 expected)", kn);
    dt_value m = DT_VALUE_NIL;
    size_t used = 0;
    if (dt_msgpack_decode(v, vn, &m, &used) != DT_OK || used != vn)
        finding(c, "the definition of attribute id %u does not decode",
                kn == 4 ? dl_get_u32(k) : 0);
    dt_value_free(&m);
}

static void visit_meta(ck *c, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn) {
    (void)c, (void)k, (void)kn, (void)v, (void)vn;
}

/* }------ */

static void compare_stats(ck *c) {
    char nm[96];
    for (uint32_t aid = 0; aid < c->naid; aid++) {
        if (!c->has_stat[aid]) {
            if (c->count[aid])
                finding(c, "%s has %llu datoms but no statistics", ident_of(c, aid, nm, sizeof nm),
                        (unsigned long long)c->count[aid]);
            continue;
        }
        if (c->stat_count[aid] != c->count[aid] || c->stat_distinct[aid] != c->distinct[aid])
            finding(c,
                    "%s: the statistics say %llu datoms with %llu distinct values, the indexes "
                    "hold %llu with %llu",
                    ident_of(c, aid, nm, sizeof nm), (unsigned long long)c->stat_count[aid],
                    (unsigned long long)c->stat_distinct[aid], (unsigned long long)c->count[aid],
                    (unsigned long long)c->distinct[aid]);
    }
}

static void compare_counters(ck *c) {
    if (c->next_eid <= (uint64_t)DL_MAX_EID && c->max_user_e > 0 &&
        (uint64_t)c->max_user_e >= c->next_eid)
        finding(c, "next_eid is %llu, but entity id %lld is in use",
                (unsigned long long)c->next_eid, (long long)c->max_user_e);
    if (c->top_tx > c->max_tx)
        finding(c, "next_t is %llu, but transaction %lld is in use", (unsigned long long)c->next_t,
                (long long)c->top_tx);
}

/* An open that failed: a damaged file is a finding, anything else an
 * error for the parent.  Returns 1 when rc is not DT_OK. */
static int open_failed(ck *c, int rc) {
    if (rc == DT_OK) return 0;
    if (rc == DT_CORRUPT) {
        finding(c, "%s", dt_errmsg(NULL));
    } else {
        char line[DT__ERRMSG_MAX + 16];
        snprintf(line, sizeof line, "%d %s", rc, dt_errmsg(NULL));
        send_line(c, 'E', line);
    }
    return 1;
}

/* The check proper, in the child. */
static void run_walk(ck *c, const char *dir) {
    phase(c, "open");
    dt_kv_options ko = DT_KV_OPTIONS_INIT;
    ko.flags = DT_KV_RDONLY;
    int rc = dt_kv_open(dir, &ko, &c->kv);
    if (open_failed(c, rc)) return;
    rc = dl_store_open(c->kv, &c->st);
    if (open_failed(c, rc)) return;
    if ((rc = dt_kv_txn_begin(c->kv, DT_KV_TXN_RDONLY, &c->txn)) != DT_OK) {
        finding(c, "cannot begin a read transaction: %s", dt_errmsg(c->kv));
        return;
    }
    struct stat fst;
    char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    c->walk_limit = (stat(path, &fst) == 0 ? (uint64_t)fst.st_size / 8 : 0) + 1000;

    phase(c, "dt/meta");
    walk(c, c->st.meta, visit_meta);
    if (dl_meta_get_u64(&c->st, c->txn, "next_eid", 0, &c->next_eid) != DT_OK ||
        dl_meta_get_u64(&c->st, c->txn, "next_t", 0, &c->next_t) != DT_OK)
        finding(c, "the counters next_eid/next_t are malformed: %s", dt_errmsg(NULL));
    if (c->next_t < 1 || c->next_t > (uint64_t)DL_MAX_EID + 1)
        finding(c, "next_t %llu is out of range", (unsigned long long)c->next_t);
    c->max_tx = DL_TX0 + (int64_t)(c->next_t > 0 ? c->next_t - 1 : 0);
    /* during a transaction the current one may be referenced; committed
     * data names only transactions before next_t */

    phase(c, "dt/schema");
    walk(c, c->st.schema, visit_schema);
    if (dl_store_load_schema(&c->st, c->txn, &c->s) != DT_OK) {
        finding(c, "the schema cannot be loaded: %s", dt_errmsg(NULL));
        if (dl_schema_new(&c->s) != DT_OK) _exit(4);
    }
    c->naid = dl_schema_next_aid(c->s);
    size_t n = c->naid ? c->naid : 1;
    c->count = calloc(n, sizeof *c->count);
    c->distinct = calloc(n, sizeof *c->distinct);
    c->stat_count = calloc(n, sizeof *c->stat_count);
    c->stat_distinct = calloc(n, sizeof *c->stat_distinct);
    c->has_stat = calloc(n, 1);
    if (!c->count || !c->distinct || !c->stat_count || !c->stat_distinct || !c->has_stat) _exit(4);

    phase(c, "dt/eav");
    c->group.len = 0;
    walk(c, c->st.eav, visit_eav);
    phase(c, "dt/ave");
    c->group.len = 0;
    walk(c, c->st.ave, visit_ave);
    phase(c, "dt/giants");
    walk(c, c->st.giants, visit_giants);
    phase(c, "dt/history");
    walk(c, c->st.history, visit_history);
    phase(c, "dt/txlog");
    walk(c, c->st.txlog, visit_txlog);
    phase(c, "dt/stats");
    walk(c, c->st.stats, visit_stats);
    compare_stats(c);
    phase(c, "counters");
    compare_counters(c);
    /* end cleanly: the reader slot is given back */
    dt_kv_txn_abort(c->txn);
    c->txn = NULL;
    dt_kv_close(c->kv);
    c->kv = NULL;
}

/* The child: never returns. */
static void child_main(int fd, const char *dir) {
    /* a crash is reported by the parent: no core file, no handler of the
     * caller (or a sanitizer) in the way, no LMDB assertion text */
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    FILE *null = freopen("/dev/null", "w", stderr);
    (void)null;
    ck c;
    memset(&c, 0, sizeof c);
    c.fd = fd;
    run_walk(&c, dir);
    char line[64];
    snprintf(line, sizeof line, "%llu %llu", (unsigned long long)c.datoms,
             (unsigned long long)c.entries);
    send_line(&c, 'N', line);
    send_line(&c, 'D', "");
    _exit(0);
}

/* }====== */

/* {====== The caller's side ====== */

static int append(dt_buf *b, const char *p, size_t n) {
    if (dt_buf_append(b, p, n) != DT_OK) return DT_NOMEM;
    return DT_OK;
}

static const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGABRT:
        return "SIGABRT";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGKILL:
        return "SIGKILL";
    default:
        return "a signal";
    }
}

/*
 * A walk that crashed left its LMDB reader slot behind, which would keep
 * old pages from being reused by the writers of the database.  Opening
 * the environment clears the slots of dead processes (mdb_reader_check,
 * done by dt_kv_open): that is done in another short child, since this
 * process may have the environment open already.
 */
static void reap_readers(const char *dir) {
    pid_t pid = fork();
    if (pid == 0) {
        dt_kv_options ko = DT_KV_OPTIONS_INIT;
        ko.flags = DT_KV_RDONLY;
        dt_kv *kv = NULL;
        if (dt_kv_open(dir, &ko, &kv) == DT_OK) dt_kv_close(kv);
        _exit(0);
    }
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void dt_check_result_free(dt_check_result *r) {
    if (!r) return;
    dt_free(r->text);
    memset(r, 0, sizeof *r);
}

int dt_check(const char *dir, dt_check_result *out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_check: NULL out");
    memset(out, 0, sizeof *out);
    if (!dir) return dt__seterr(NULL, DT_MISUSE, "dt_check: NULL directory");
    struct stat st;
    if (stat(dir, &st) != 0)
        return dt__seterr(NULL, errno == ENOENT ? DT_NOTFOUND : DT_IO, "check '%s': %s", dir,
                          strerror(errno));
    char data[4096];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    if (stat(data, &st) != 0 && errno == ENOENT)
        return dt__seterr(NULL, DT_NOTFOUND, "check '%s': no Datolite database here (no data.mdb)",
                          dir);
    int fds[2];
    if (pipe(fds) != 0)
        return dt__seterr(NULL, DT_IO, "check '%s': cannot make a pipe: %s", dir, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return dt__seterr(NULL, DT_IO, "check '%s': cannot start the checking process: %s", dir,
                          strerror(err));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], dir);
    }
    close(fds[1]);

    /* everything the child says */
    dt_buf in = DT_BUF_INIT;
    int rc = DT_OK;
    char chunk[4096];
    for (;;) {
        ssize_t r = read(fds[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (rc == DT_OK) rc = append(&in, chunk, (size_t)r);
    }
    close(fds[0]);
    int status = 0, waited;
    while ((waited = (int)waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }

    dt_buf text = DT_BUF_INIT;
    char phase_name[128] = "open";
    int done = 0, err_code = 0;
    char err_text[DT__ERRMSG_MAX] = "";
    uint64_t nfind = 0;
    for (size_t i = 0; rc == DT_OK && i < in.len;) {
        const char *line = (const char *)in.p + i;
        const char *nl = memchr(line, '\n', in.len - i);
        size_t n = nl ? (size_t)(nl - line) : in.len - i;
        i += n + 1;
        if (n < 1) continue;
        const char *body = n >= 2 ? line + 2 : "";
        size_t bn = n >= 2 ? n - 2 : 0;
        switch (line[0]) {
        case 'P':
            snprintf(phase_name, sizeof phase_name, "%.*s", (int)bn, body);
            break;
        case 'F':
            if (++nfind <= MAX_FINDINGS) {
                rc = append(&text, body, bn);
                if (rc == DT_OK) rc = append(&text, "\n", 1);
            }
            break;
        case 'N': {
            unsigned long long d = 0, e = 0;
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.*s", (int)bn, body);
            if (sscanf(tmp, "%llu %llu", &d, &e) == 2) {
                out->datoms = d;
                out->entries = e;
            }
            break;
        }
        case 'E': {
            char tmp[DT__ERRMSG_MAX + 16];
            snprintf(tmp, sizeof tmp, "%.*s", (int)bn, body);
            char *sp = strchr(tmp, ' ');
            err_code = atoi(tmp);
            snprintf(err_text, sizeof err_text, "%s", sp ? sp + 1 : "");
            break;
        }
        case 'D':
            done = 1;
            break;
        default:
            break;
        }
    }
    dt_buf_release(&in);
    if (rc == DT_OK && !done) {
        char line[256];
        if (waited == pid && WIFSIGNALED(status))
            snprintf(line, sizeof line, "database damaged: walk crashed with %s at %s\n",
                     signal_name(WTERMSIG(status)), phase_name);
        else if (waited == pid && WIFEXITED(status))
            snprintf(line, sizeof line, "database damaged: walk failed (exit status %d) at %s\n",
                     WEXITSTATUS(status), phase_name);
        else
            snprintf(line, sizeof line, "database damaged: walk ended early at %s\n", phase_name);
        nfind++;
        rc = append(&text, line, strlen(line));
        reap_readers(dir);
    }
    if (rc == DT_OK && nfind > MAX_FINDINGS) {
        char line[96];
        snprintf(line, sizeof line, "(%llu more findings not listed)\n",
                 (unsigned long long)(nfind - MAX_FINDINGS));
        rc = append(&text, line, strlen(line));
    }
    if (rc == DT_OK) rc = append(&text, "", 1); /* NUL */
    if (rc != DT_OK) {
        dt_buf_release(&text);
        return dt__seterr(NULL, DT_NOMEM, "check '%s': out of memory", dir);
    }
    if (err_code && !nfind) {
        dt_buf_release(&text);
        if (err_code < 0 || err_code > DT_INTERNAL) err_code = DT_INTERNAL;
        return dt__seterr(NULL, err_code, "check '%s': %s", dir, err_text);
    }
    out->findings = nfind;
    out->text = (char *)text.p; /* handed over: freed by dt_check_result_free */
    if (!nfind) return DT_OK;
    return dt__seterr(NULL, DT_CORRUPT, "check '%s': %llu problem%s found", dir,
                      (unsigned long long)nfind, nfind == 1 ? "" : "s");
}

/* }====== */
