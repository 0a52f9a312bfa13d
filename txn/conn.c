/*
 * conn.c -- opening and closing a database, snapshots, and schema updates
 * checked against the data (txn layer).
 */
#include "conn.h"
#include "udf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "coerce.h"
#include "edn.h"
#include "host.h"
#include "txfn.h"

/* {====== Connection ====== */

int txn_conn_ok(const dt_conn *conn) { return conn && conn->magic == DT_MAGIC_CONN; }

/* Its address names the calling thread: conn->w_thread records which
 * thread holds the writer slot, so the guard holds however many
 * connections a thread has blocks open on. */
static _Thread_local char tl_self;
#define THIS_THREAD ((const void *)&tl_self)

int txn_writer_enter(dt_conn *conn) {
    if (atomic_load(&conn->w_thread) == THIS_THREAD)
        return dt__seterr(conn, DT_MISUSE,
                          "this thread already holds the connection's writer (an open transaction "
                          "block or bulk load): write through it, or end it first");
    pthread_mutex_lock(&conn->wlock);
    atomic_store(&conn->w_thread, THIS_THREAD);
    return DT_OK;
}

int txn_writer_held_by_thread(const dt_conn *conn) {
    return atomic_load(&conn->w_thread) == THIS_THREAD;
}

void txn_writer_leave(dt_conn *conn) {
    atomic_store(&conn->w_thread, NULL);
    pthread_mutex_unlock(&conn->wlock);
}

void txn_conn_set_schema(dt_conn *conn, dl_schema *s, uint64_t v) {
    pthread_mutex_lock(&conn->slock);
    dl_schema *old = conn->schema;
    conn->schema = s;
    conn->schema_v = v;
    pthread_mutex_unlock(&conn->slock);
    dl_schema_release(old);
}

int txn_conn_snapshot(dt_conn *conn, dt_db **out) {
    *out = NULL;
    pthread_mutex_lock(&conn->slock);
    dl_schema *s = dl_schema_retain(conn->schema);
    uint64_t v = conn->schema_v;
    pthread_mutex_unlock(&conn->slock);
    dt_kv_txn *txn = NULL;
    int rc = dt_kv_txn_begin(conn->kv, DT_KV_TXN_RDONLY, &txn);
    if (rc != DT_OK) {
        dl_schema_release(s);
        return dt__seterr(NULL, rc, "snapshot: %s", dt_errmsg(conn->kv));
    }
    uint64_t stored_v = 0;
    rc = dl_meta_get_u64(&conn->st, txn, "schema_v", 0, &stored_v);
    if (rc == DT_OK && stored_v != v) {
        /* a writer changed the schema between our two steps: use the
         * schema stored in this very snapshot */
        dl_schema *fresh = NULL;
        rc = dl_store_load_schema(&conn->st, txn, &fresh);
        if (rc == DT_OK) {
            dl_schema_release(s);
            s = fresh;
        }
    }
    if (rc == DT_OK) rc = dl_db_new(&conn->st, txn, 1, s, &conn->open_dbs, out);
    dl_schema_release(s);
    if (rc != DT_OK)
        dt_kv_txn_abort(txn);
    else {
        dl_db_set_owner(*out, conn);
        dq_db_set_host(*out, udf_query_host(conn->udf));
    }
    return rc;
}

int dt_db_refresh(dt_db *db) {
    if (!dl_db_ok(db) || !dl_db_owner(db) || !dl_db_owns_txn(db))
        return dt__seterr(db, DT_MISUSE, "dt_db_refresh: not a snapshot from dt_conn_db");
    dt_conn *conn = dl_db_owner(db);
    if (!txn_conn_ok(conn))
        return dt__seterr(db, DT_MISUSE, "dt_db_refresh: the connection is closed");
    if (dl_db_has_views(db))
        return dt__seterr(db, DT_BUSY,
                          "dt_db_refresh: time views of this snapshot are open (close them first)");
    /* end the old read transaction first: with MDB_NOTLS a thread may hold
     * several, but ending ours lets LMDB reuse its pages sooner */
    dl_db_end_txn(db);
    dt_db *fresh = NULL;
    int rc = txn_conn_snapshot(conn, &fresh);
    if (rc != DT_OK) {
        /* leave a snapshot that fails cleanly: no txn, nothing to read */
        return dt__moveerr(NULL, db, rc);
    }
    dl_db_adopt(db, fresh);
    return DT_OK;
}

int dt_conn_set_flags(dt_conn *conn, unsigned flags, int onoff) {
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_conn_set_flags: not an open connection");
    int rc = dt_kv_set_flags(conn->kv, flags, onoff);
    if (rc != DT_OK) dt__moveerr(conn->kv, conn, rc);
    return rc;
}

int dt_conn_sync(dt_conn *conn, int force) {
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_conn_sync: not an open connection");
    int rc = dt_kv_sync(conn->kv, force);
    if (rc != DT_OK) dt__moveerr(conn->kv, conn, rc);
    return rc;
}

dt_kv *dt_conn_kv(dt_conn *conn) { return txn_conn_ok(conn) ? conn->kv : NULL; }

int dt_conn_db(dt_conn *conn, dt_db **out) {
    if (!out) return dt__seterr(conn, DT_MISUSE, "dt_conn_db: NULL out");
    *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_conn_db: not an open connection");
    int rc = txn_conn_snapshot(conn, out);
    if (rc != DT_OK) dt__moveerr(NULL, conn, rc);
    return rc;
}

static int apply_schema_text(dt_conn *conn, const char *edn, size_t len, void *errh);

/* A registry entry as dt_conn_options version 2 laid it out (before
 * dt_fn_def gained qfn). */
typedef struct fn_def_v2 {
    const char *id;
    dt_fn_lang lang;
    dt_fn_impl fn;
    void *userdata;
    const char *source;
    const char *kind;
} fn_def_v2;

/* The version-2 registry of opts as dt_fn_defs (qfn NULL) in *out. */
static int fns_from_v2(const dt_conn_options *opts, dt_fn_def **out) {
    const fn_def_v2 *old = (const fn_def_v2 *)(const void *)opts->fns;
    dt_fn_def *f = dt__calloc(opts->nfns, sizeof *f);
    if (!f) return dt__seterr(NULL, DT_NOMEM, "out of memory");
    for (size_t i = 0; i < opts->nfns; i++)
        f[i] = (dt_fn_def){old[i].id,     old[i].lang, old[i].fn, old[i].userdata,
                           old[i].source, old[i].kind, NULL};
    *out = f;
    return DT_OK;
}

int dt_conn_open(const char *dir, const char *schema_edn, const dt_conn_options *opts,
                 dt_conn **out) {
    if (!out) return dt__seterr(NULL, DT_MISUSE, "dt_conn_open: NULL out");
    *out = NULL;
    if (!dir) return dt__seterr(NULL, DT_MISUSE, "dt_conn_open: NULL directory");
    dt_conn_options defaults = DT_CONN_OPTIONS_INIT;
    if (!opts) opts = &defaults;
    if (dt__check_version(NULL, "dt_conn_open: dt_conn_options", opts->version,
                          DT_CONN_OPTIONS_VERSION))
        return DT_INVALID;
    dt_conn *c = dt__calloc(1, sizeof *c);
    if (!c) return dt__seterr(NULL, DT_NOMEM, "dt_conn_open: out of memory");
    /* version 2: the host registry and the limits of functions; version
     * 3: registry entries with qfn */
    dt_fn_def *fns_v2 = NULL;
    int rc = DT_OK;
    if (opts->version == 2 && opts->nfns && opts->fns) rc = fns_from_v2(opts, &fns_v2);
    if (rc == DT_OK)
        rc = opts->version >= 2 ? udf_rt_new(fns_v2 ? fns_v2 : opts->fns, opts->nfns,
                                             opts->fn_memory, opts->fn_steps, &c->udf)
                                : udf_rt_new(NULL, 0, 0, 0, &c->udf);
    dt__free(fns_v2);
    if (rc != DT_OK) {
        dt__free(c);
        return dt__seterr(NULL, rc, "dt_conn_open: %s", dt_errmsg(NULL));
    }
    rc = dt_kv_open(dir, &opts->kv, &c->kv);
    if (rc != DT_OK) {
        udf_rt_free(c->udf);
        dt__free(c);
        return rc; /* message already on the NULL handle */
    }
    kv_set_owner(c->kv, c);
    c->closed_schema = opts->closed_schema;
    pthread_mutex_init(&c->wlock, NULL);
    pthread_mutex_init(&c->slock, NULL);
    pthread_mutex_init(&c->amu, NULL);
    c->magic = DT_MAGIC_CONN;
    if ((rc = dl_store_open(c->kv, &c->st)) != DT_OK) goto fail;
    dt_kv_txn *txn = NULL;
    if ((rc = dt_kv_txn_begin(c->kv, DT_KV_TXN_RDONLY, &txn)) != DT_OK) {
        rc = dt__seterr(NULL, rc, "dt_conn_open: %s", dt_errmsg(c->kv));
        goto fail;
    }
    rc = dl_store_load_schema(&c->st, txn, &c->schema);
    if (rc == DT_OK) rc = dl_meta_get_u64(&c->st, txn, "schema_v", 0, &c->schema_v);
    dt_kv_txn_abort(txn);
    if (rc != DT_OK) goto fail;
    if (schema_edn && (rc = apply_schema_text(c, schema_edn, strlen(schema_edn), NULL)) != DT_OK)
        goto fail;
    *out = c;
    return DT_OK;
fail:
    c->magic = DT_MAGIC_DEAD;
    udf_rt_free(c->udf);
    dl_schema_release(c->schema);
    kv_set_owner(c->kv, NULL);
    dt_kv_close(c->kv);
    pthread_mutex_destroy(&c->wlock);
    pthread_mutex_destroy(&c->slock);
    pthread_mutex_destroy(&c->amu);
    dt__free(c);
    return rc;
}

int dt_conn_close(dt_conn *conn) {
    if (!conn) return DT_OK;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_conn_close: not an open connection");
    if (txn_holds_writer(conn))
        return dt__seterr(conn, DT_MISUSE,
                          "dt_conn_close: called from a block or a callback of "
                          "this connection");
    /* complete every queued transaction: nothing acknowledged is lost */
    txn_async_stop(conn);
    if (atomic_load(&conn->open_dbs) > 0)
        return dt__seterr(conn, DT_BUSY, "dt_conn_close: %ld snapshots or reports are still open",
                          (long)atomic_load(&conn->open_dbs));
    kv_set_owner(conn->kv, NULL);
    int rc = dt_kv_close(conn->kv);
    if (rc != DT_OK) {
        kv_set_owner(conn->kv, conn);
        return dt__moveerr(conn->kv, conn, rc);
    }
    conn->magic = DT_MAGIC_DEAD;
    dl_schema_release(conn->schema);
    txn_fns_free(conn);
    txn_scratch_free(conn);
    txn_batch_free(&conn->w_batch);
    udf_rt_free(conn->udf);
    pthread_mutex_destroy(&conn->wlock);
    pthread_mutex_destroy(&conn->slock);
    pthread_mutex_destroy(&conn->amu);
    dt__clearerr(conn);
    dt__free(conn);
    return DT_OK;
}

/* }====== */

/* {====== Attributes and values for writers ====== */

/* Prints v as EDN into a static-size buffer for messages. */

int txn_attr_get(dt_conn *conn, dt_kv_txn *txn, dl_schema **ws, int *ws_changed, const char *name,
                 size_t n, const dl_attr **out) {
    dl_ident_bare(&name, &n);
    const dl_attr *a = dl_schema_by_ident(*ws, name, n);
    if (a) {
        *out = a;
        return DT_OK;
    }
    if (conn->closed_schema)
        return dt__seterr(NULL, DT_SCHEMA, "unknown attribute :%.*s (the schema is closed)", (int)n,
                          name);
    if (n >= 3 && !memcmp(name, "db/", 3))
        return dt__seterr(NULL, DT_SCHEMA, "unknown built-in attribute :%.*s", (int)n, name);
    if (!*ws_changed) {
        dl_schema *cl = NULL;
        if (dl_schema_clone(*ws, &cl) != DT_OK) return dt__seterr(NULL, DT_NOMEM, "out of memory");
        dl_schema_release(*ws);
        *ws = cl;
        *ws_changed = 1;
    }
    dl_attr na;
    memset(&na, 0, sizeof na);
    na.aid = dl_schema_next_aid(*ws);
    na.ident_len = n;
    if (!(na.ident = dt__strndup(name, n))) return dt__seterr(NULL, DT_NOMEM, "out of memory");
    na.vtype = DT_NIL;
    if (dl_schema_put(*ws, &na) != DT_OK) {
        dl_attr_release(&na);
        return dt__seterr(NULL, DT_NOMEM, "out of memory");
    }
    a = dl_schema_by_ident(*ws, name, n);
    int rc = dl_store_put_attr(&conn->st, txn, *ws, a);
    if (rc != DT_OK) return rc;
    *out = a;
    return DT_OK;
}

/* }====== */

/* {====== Schema updates ====== */

/* The merged definition: old properties overridden by those in spec. */
static int merged_spec(const dl_schema *s, const dl_attr *old, const dt_value *spec,
                       dt_value *out) {
    dt_value base;
    int rc = dl_attr_to_spec(s, old, &base);
    if (rc != DT_OK) return rc;
    if (spec->type != DT_MAP) {
        dt_value_free(&base);
        return dt_value_copy(spec, out); /* let the parser report it */
    }
    size_t n = base.u.seq.n + spec->u.seq.n;
    dt_value m;
    if ((rc = dt_value_seq(DT_MAP, n, &m)) != DT_OK) {
        dt_value_free(&base);
        return rc;
    }
    size_t k = 0;
    for (size_t i = 0; i + 1 < base.u.seq.n; i += 2) {
        const dt_value *key = &base.u.seq.items[i];
        int overridden = 0;
        for (size_t j = 0; j + 1 < spec->u.seq.n; j += 2)
            if (dt_value_equal(key, &spec->u.seq.items[j])) overridden = 1;
        if (overridden) continue;
        m.u.seq.items[k++] = base.u.seq.items[i];
        m.u.seq.items[k++] = base.u.seq.items[i + 1];
        dt_value_nil(&base.u.seq.items[i]);
        dt_value_nil(&base.u.seq.items[i + 1]);
    }
    for (size_t j = 0; j < spec->u.seq.n && rc == DT_OK; j++)
        rc = dt_value_copy(&spec->u.seq.items[j], &m.u.seq.items[k++]);
    m.u.seq.n = k;
    dt_value_free(&base);
    if (rc != DT_OK) {
        dt_value_free(&m);
        return rc;
    }
    *out = m;
    return DT_OK;
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Checks that the data of attribute `old` satisfies the new definition. */
static int check_against_data(dt_conn *conn, dt_kv_txn *txn, const dl_attr *old,
                              const dl_attr *na) {
    dl_attr_stats st;
    int rc = dl_stats_get(&conn->st, txn, old->aid, &st);
    if (rc != DT_OK || st.count == 0) return rc;
    dl_ikey ak = {1, 0, old->aid, NULL, 0};
    if (na->vtype != old->vtype && na->vtype != DT_NIL) {
        /* every stored value must already have the new type: types sort by
         * their tag, so the first and last values tell */
        for (int last = 0; last < 2; last++) {
            dl_cursor cur;
            dl_datom d;
            if ((rc = dl_cursor_open(&cur, &conn->st, txn, DL_INDEX_AVE)) != DT_OK) return rc;
            if (last)
                rc = dl_cursor_last(&cur, &ak, &d);
            else if ((rc = dl_cursor_seek(&cur, &ak, 1, NULL)) == DT_OK)
                rc = dl_cursor_next(&cur, &d);
            dl_cursor_close(&cur);
            if (rc != DT_ROW) return rc == DT_DONE ? DT_OK : rc;
            int tag_ok = d.v[0] == DL_CODEC_TAG(na->vtype);
            uint8_t tag = d.v[0];
            if (!tag_ok) {
                int t = tag >= DL_CODEC_TAG_MIN && tag <= DL_CODEC_TAG_MAX
                            ? (int)(tag - DL_CODEC_TAG_BASE)
                            : DT_NIL;
                return dt__seterr(NULL, DT_SCHEMA,
                                  "schema: attribute :%s has %llu datoms with %s values; cannot "
                                  "change its type to %s",
                                  old->ident, (unsigned long long)st.count,
                                  dt_type_name((dt_type)t), dt_type_name(na->vtype));
            }
        }
    }
    int need_unique = na->unique && !old->unique;
    int need_one = !na->many && old->many;
    if (!need_unique && !need_one) return DT_OK;
    /* one pass over the attribute's AVE entries (equal values are
     * adjacent, and equal value keys mean equal values) */
    dl_cursor cur;
    if ((rc = dl_cursor_open(&cur, &conn->st, txn, DL_INDEX_AVE)) != DT_OK) return rc;
    if ((rc = dl_cursor_seek(&cur, &ak, 1, NULL)) != DT_OK) {
        dl_cursor_close(&cur);
        return rc;
    }
    int64_t *ents = NULL;
    size_t ne = 0, cap = 0;
    dt_buf prev = DT_BUF_INIT;
    dl_datom d;
    while ((rc = dl_cursor_next(&cur, &d)) == DT_ROW) {
        if (need_unique) {
            if (prev.len == d.vlen && memcmp(prev.p, d.v, d.vlen) == 0) {
                dt_value v = DT_VALUE_NIL;
                dt_buf txt = DT_BUF_INIT;
                dl_value_decode_key(&conn->st, txn, old->aid, d.v, d.vlen, &v);
                dl_edn_write_buf(&v, 0, &txt);
                dt_buf_terminate(&txt);
                rc = dt__seterr(NULL, DT_SCHEMA,
                                "schema: cannot make :%s unique: value %s is held by several "
                                "entities",
                                old->ident, txt.p ? (char *)txt.p : "?");
                dt_buf_release(&txt);
                dt_value_free(&v);
                break;
            }
            prev.len = 0;
            if (dt_buf_append(&prev, d.v, d.vlen) != DT_OK) {
                rc = DT_NOMEM;
                break;
            }
        }
        if (need_one) {
            if (ne == cap) {
                cap = cap ? cap * 2 : 1024;
                int64_t *t = dt__realloc(ents, cap * sizeof *t);
                if (!t) {
                    rc = DT_NOMEM;
                    break;
                }
                ents = t;
            }
            ents[ne++] = d.e;
        }
    }
    dl_cursor_close(&cur);
    dt_buf_release(&prev);
    if (rc == DT_DONE) rc = DT_OK;
    if (rc == DT_OK && need_one) {
        qsort(ents, ne, sizeof *ents, cmp_i64);
        for (size_t i = 1; i < ne; i++)
            if (ents[i] == ents[i - 1]) {
                rc = dt__seterr(NULL, DT_SCHEMA,
                                "schema: cannot make :%s cardinality one: entity %lld has "
                                "several values",
                                old->ident, (long long)ents[i]);
                break;
            }
    }
    dt__free(ents);
    return rc;
}

int txn_schema_apply(dt_conn *conn, dt_kv_txn *txn, dl_schema **ws, const dt_value *m,
                     int *changed) {
    if (!m || m->type != DT_MAP)
        return dt__seterr(NULL, DT_SCHEMA,
                          "schema: expected a map of attribute definitions, got a %s",
                          m ? dt_type_name(m->type) : "nothing");
    int rc = DT_OK;
    for (size_t i = 0; i + 1 < m->u.seq.n && rc == DT_OK; i += 2) {
        const dt_value *k = &m->u.seq.items[i], *spec = &m->u.seq.items[i + 1];
        if (k->type != DT_KEYWORD)
            return dt__seterr(NULL, DT_SCHEMA, "schema: attribute names are keywords, got a %s",
                              dt_type_name(k->type));
        if (k->u.s.len >= 3 && !memcmp(k->u.s.ptr, "db/", 3))
            return dt__seterr(NULL, DT_SCHEMA, "schema: :%s is a built-in attribute", k->u.s.ptr);
        const dl_attr *old = dl_schema_by_ident(*ws, k->u.s.ptr, k->u.s.len);
        dl_attr na;
        if (old) {
            dt_value merged;
            if ((rc = merged_spec(*ws, old, spec, &merged)) != DT_OK) return rc;
            rc = dl_attr_from_spec(*ws, k->u.s.ptr, k->u.s.len, &merged, &na);
            dt_value_free(&merged);
            if (rc != DT_OK) return rc;
            na.aid = old->aid;
            if ((rc = check_against_data(conn, txn, old, &na)) != DT_OK) {
                dl_attr_release(&na);
                return rc;
            }
        } else {
            if ((rc = dl_attr_from_spec(*ws, k->u.s.ptr, k->u.s.len, spec, &na)) != DT_OK)
                return rc;
            na.aid = dl_schema_next_aid(*ws);
        }
        /* copy on first change: snapshots share the current schema */
        if (!*changed) {
            dl_schema *c = NULL;
            if ((rc = dl_schema_clone(*ws, &c)) != DT_OK) {
                dl_attr_release(&na);
                return rc;
            }
            dl_schema_release(*ws);
            *ws = c;
        }
        *changed = 1;
        uint32_t aid = na.aid;
        if ((rc = dl_schema_put(*ws, &na)) != DT_OK) {
            dl_attr_release(&na);
            return rc;
        }
        rc = dl_store_put_attr(&conn->st, txn, *ws, dl_schema_by_aid(*ws, aid));
    }
    return rc;
}

/* Applies an EDN schema map in a write transaction of its own; may return
 * DT_MAPFULL_RETRY (nothing written, the map has grown). */
static int apply_schema_once(dt_conn *conn, const dt_value *m) {
    int rc;
    pthread_mutex_lock(&conn->slock);
    dl_schema *ws = dl_schema_retain(conn->schema);
    uint64_t v = conn->schema_v;
    pthread_mutex_unlock(&conn->slock);
    dt_kv_txn *txn = NULL;
    int changed = 0;
    rc = dt_kv_txn_begin(conn->kv, DT_KV_TXN_WRITE, &txn);
    if (rc != DT_OK) rc = dt__seterr(NULL, rc, "schema: %s", dt_errmsg(conn->kv));
    if (rc == DT_OK) rc = txn_schema_apply(conn, txn, &ws, m, &changed);
    if (rc == DT_OK && changed) rc = dl_meta_put_u64(&conn->st, txn, "schema_v", v + 1);
    if (rc == DT_OK) {
        rc = dt_kv_txn_commit(txn);
        txn = NULL;
        if (rc != DT_OK)
            rc = dt__seterr(NULL, rc, "schema: commit failed: %s", dt_errmsg(conn->kv));
    }
    if (txn) dt_kv_txn_abort(txn);
    if (rc == DT_OK && changed)
        txn_conn_set_schema(conn, ws, v + 1);
    else
        dl_schema_release(ws);
    return rc;
}

/* The most times a schema change runs again after the map grew. */
#define SCHEMA_GROW_RETRIES 64

/* Applies an EDN schema map in a write transaction of its own, running it
 * again when the map had to grow (the caller does not hold the txn). */
static int apply_schema_value(dt_conn *conn, const dt_value *m) {
    int rc = txn_writer_enter(conn);
    if (rc != DT_OK) return dt__moveerr(conn, NULL, rc);
    for (int attempt = 0; (rc = apply_schema_once(conn, m)) == DT_MAPFULL_RETRY; attempt++) {
        if (attempt >= SCHEMA_GROW_RETRIES) {
            rc = dt__seterr(NULL, DT_MAPFULL, "schema: the map filled up again after growing");
            break;
        }
    }
    txn_writer_leave(conn);
    return rc;
}

static int apply_schema_text(dt_conn *conn, const char *edn, size_t len, void *errh) {
    dt_value m = DT_VALUE_NIL;
    int rc = dt_edn_read(edn, len, &m);
    if (rc != DT_OK) {
        rc = dt__seterr(NULL, rc, "schema: %s", dt_errmsg(NULL));
    } else {
        rc = apply_schema_value(conn, &m);
    }
    dt_value_free(&m);
    if (rc != DT_OK && errh) dt__moveerr(NULL, errh, rc);
    return rc;
}

int dt_conn_update_schema(dt_conn *conn, const char *schema_edn) {
    if (!txn_conn_ok(conn) || !schema_edn)
        return dt__seterr(conn, DT_MISUSE, "dt_conn_update_schema: bad arguments");
    return apply_schema_text(conn, schema_edn, strlen(schema_edn), conn);
}

int dt_conn_update_schema_text(dt_conn *conn, const char *text, size_t len) {
    if (!txn_conn_ok(conn) || (!text && len))
        return dt__seterr(conn, DT_MISUSE, "dt_conn_update_schema: bad arguments");
    return apply_schema_text(conn, text, len, conn);
}

int dt_conn_schema(dt_conn *conn, char **out) {
    if (!out) return dt__seterr(conn, DT_MISUSE, "dt_conn_schema: NULL out");
    *out = NULL;
    if (!txn_conn_ok(conn))
        return dt__seterr(conn, DT_MISUSE, "dt_conn_schema: not an open connection");
    pthread_mutex_lock(&conn->slock);
    dl_schema *s = dl_schema_retain(conn->schema);
    pthread_mutex_unlock(&conn->slock);
    size_t n = dl_schema_count(s), k = 0;
    dt_value m;
    int rc = dt_value_seq(DT_MAP, 2 * n, &m);
    for (size_t i = 0; i < n && rc == DT_OK; i++) {
        const dl_attr *a = dl_schema_at(s, i);
        if (a->aid < DL_AID_FIRST_USER) continue;
        rc = dt_value_text(DT_KEYWORD, a->ident, a->ident_len, &m.u.seq.items[k]);
        if (rc == DT_OK) rc = dl_attr_to_spec(s, a, &m.u.seq.items[k + 1]);
        k += 2;
    }
    if (rc == DT_OK) {
        m.u.seq.n = k;
        size_t len;
        rc = dt_edn_write(&m, DT_EDN_PRETTY, out, &len);
    }
    dt_value_free(&m);
    dl_schema_release(s);
    if (rc != DT_OK) dt__seterr(conn, rc, "dt_conn_schema: out of memory");
    return rc;
}

/* }====== */
