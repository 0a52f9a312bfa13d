/*
 * cmd_dump.c -- whole-database commands of the `datolite` tool (bindings
 * layer): dump, load, stat, copy, entity.
 *
 * The dump format (docs/cli.md, "dump"): a header form
 *   {:datolite/dump 1, :schema {...}, :datoms N, :basis-tx T}
 * then one form per transaction, in transaction order,
 *   {:tx 4398046511105, :data [[:db/add e :attr v] ...]}
 * whose :data is tx-data that, transacted in order into an empty
 * database, gives every transaction its original id and every datom its
 * original entity, value and transaction.  The datoms of the transaction
 * entity itself (:db/txInstant, metadata) are written on :db/current-tx.
 * In msgpack the same forms follow one another as msgpack values.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* {====== dump ====== */

/* One datom held for sorting by transaction. */
typedef struct ddatom {
    int64_t tx, e;
    uint64_t seq; /* EAV position: keeps index order inside a transaction */
    uint32_t attr;
    dt_value v;
} ddatom;

static int ddatom_cmp(const void *a, const void *b) {
    const ddatom *x = a, *y = b;
    if (x->tx != y->tx) return x->tx < y->tx ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Interned attribute names (few: a linear table with a last-hit cache). */
typedef struct attrs {
    char **names;
    size_t n, cap;
    size_t last;
} attrs;

static int attr_id(attrs *t, const char *a, uint32_t *out) {
    if (t->n && !strcmp(t->names[t->last], a)) {
        *out = (uint32_t)t->last;
        return 0;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (!strcmp(t->names[i], a)) {
            t->last = i;
            *out = (uint32_t)i;
            return 0;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **p = realloc(t->names, cap * sizeof *p);
        if (!p) return -1;
        t->names = p;
        t->cap = cap;
    }
    t->names[t->n] = strdup(a);
    if (!t->names[t->n]) return -1;
    t->last = t->n;
    *out = (uint32_t)t->n++;
    return 0;
}

static void attrs_free(attrs *t) {
    for (size_t i = 0; i < t->n; i++) free(t->names[i]);
    free(t->names);
}

/* Writes one value in the dump's format (EDN: compact, no newline). */
static int emit_raw(FILE *f, int msgpack, const dt_value *v) {
    if (msgpack) {
        void *bytes = NULL;
        size_t n = 0;
        int rc = dt_msgpack_encode(v, &bytes, &n);
        if (rc != DT_OK) return rc;
        fwrite(bytes, 1, n, f);
        dt_free(bytes);
        return DT_OK;
    }
    char *s = NULL;
    size_t n = 0;
    int rc = dt_edn_write(v, DT_EDN_COMPACT, &s, &n);
    if (rc != DT_OK) return rc;
    fwrite(s, 1, n, f);
    dt_free(s);
    return DT_OK;
}

/* Writes one top-level form (EDN: on a line of its own). */
static int emit(FILE *f, int msgpack, const dt_value *form) {
    int rc = emit_raw(f, msgpack, form);
    if (rc == DT_OK && !msgpack) fputc('\n', f);
    return rc;
}

static int kw(const char *text, dt_value *out) {
    return dt_value_text(DT_KEYWORD, text, strlen(text), out);
}

/*
 * Writes {:tx T, :data [[:db/add e :attr v] ...]} of d[0..n) piece by
 * piece, never building the whole form (a bulk-loaded database is one
 * transaction of every datom).  The values are moved out of d.
 */
static int emit_tx(FILE *f, int msgpack, ddatom *d, size_t n, const attrs *at) {
    dt_value k = DT_VALUE_NIL, t = DT_VALUE_NIL;
    int rc;
    if (msgpack) {
        fputc(0x82, f); /* a map of two entries */
        dt_value_long(d[0].tx, &t);
        if ((rc = kw("tx", &k)) == DT_OK) rc = emit_raw(f, 1, &k);
        if (rc == DT_OK) rc = emit_raw(f, 1, &t);
        dt_value_free(&k);
        if (rc == DT_OK && (rc = kw("data", &k)) == DT_OK) rc = emit_raw(f, 1, &k);
        dt_value_free(&k);
        if (rc != DT_OK) return rc;
        unsigned char hdr[5] = {0xdd, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                                (unsigned char)(n >> 8), (unsigned char)n}; /* array 32 */
        fwrite(hdr, 1, sizeof hdr, f);
    } else {
        fprintf(f, "{:tx %lld, :data [", (long long)d[0].tx);
    }
    for (size_t i = 0; i < n; i++) {
        dt_value x = DT_VALUE_NIL;
        if ((rc = dt_value_seq(DT_VECTOR, 4, &x)) != DT_OK) return rc;
        dt_value *it = x.u.seq.items;
        rc = kw("db/add", &it[0]);
        if (rc == DT_OK && d[i].e == d[i].tx)
            rc = kw("db/current-tx", &it[1]);
        else
            dt_value_long(d[i].e, &it[1]);
        if (rc == DT_OK) rc = kw(at->names[d[i].attr], &it[2]);
        it[3] = d[i].v; /* moved */
        dt_value_nil(&d[i].v);
        if (rc == DT_OK) {
            if (!msgpack && i) fputc(' ', f);
            rc = emit_raw(f, msgpack, &x);
        }
        dt_value_free(&x);
        if (rc != DT_OK) return rc;
    }
    if (!msgpack) fputs("]}\n", f);
    return DT_OK;
}

static const char dump_usage[] =
    "usage: datolite dump [--format edn|msgpack] [--quiet] DIR [FILE|-]\n";

static const char dump_help[] =
    "\n"
    "Writes the whole database in DIR (schema, every datom with its entity and\n"
    "transaction id, the transaction entities' :db/txInstant and metadata) to FILE,\n"
    "or stdout, as a portable dump that 'datolite load' reads back into an empty\n"
    "database with the same ids.  The format is EDN (default) or msgpack: a header\n"
    "form {:datolite/dump 1 :schema {...} ...}, then one {:tx T :data [...]} form\n"
    "per transaction, in order.  The datoms are sorted by transaction in memory.\n"
    "\n"
    "Options:\n"
    "  --format F  edn (default) or msgpack\n"
    "  --quiet     no progress line on stderr (shown only when stderr is a terminal)\n"
    "\n" CLI_EXIT_HELP;

int cmd_dump(int argc, char **argv) {
    cli_cmd c = CLI_CMD("dump", dump_usage, dump_help, CLI_TAKES_FORMAT, "edn or msgpack");
    const char *cmd = c.name;
    int quiet = 0;
    cli_opt opts[] = {{"quiet", 0, NULL, &quiet}, {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code == CLI_OK) code = cli_cmd_args(&c, 2, "DIR", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    int msgpack = c.format && !strcmp(c.format, "msgpack");
    const char *dir = c.pos[0], *outname = c.npos > 1 ? c.pos[1] : "-";

    dt_db *db = NULL;
    dt_datom_iter *it = NULL;
    ddatom *ds = NULL;
    size_t n = 0, cap = 0;
    attrs at = {0};
    char *schema = NULL;
    dt_value header = DT_VALUE_NIL, sv = DT_VALUE_NIL;
    FILE *out = NULL;
    int rc;
    if ((code = cli_cmd_open(&c, dir, CLI_OPEN_SNAPSHOT)) != CLI_OK) goto done;
    db = c.db;
    if ((rc = dt_conn_schema(c.conn, &schema)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(c.conn));
        goto done;
    }
    uint64_t total = 0;
    dt_db_count_datoms(db, DT_INDEX_EAV, NULL, 0, &total);
    cli_progress prog;
    cli_progress_start(&prog, cmd, "datoms read", total, quiet);
    if ((rc = dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
        goto done;
    }
    dt_datom d;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4096;
            ddatom *p = realloc(ds, nc * sizeof *p);
            if (!p) {
                rc = DT_NOMEM;
                break;
            }
            ds = p;
            cap = nc;
        }
        ddatom *x = &ds[n];
        x->tx = d.tx;
        x->e = d.e;
        x->seq = n;
        if (attr_id(&at, d.a, &x->attr) != 0 || dt_value_copy(&d.v, &x->v) != DT_OK) {
            rc = DT_NOMEM;
            break;
        }
        n++;
        if ((n & 0xfff) == 0) cli_progress_update(&prog, n);
    }
    cli_progress_end(&prog);
    if (rc != DT_DONE) {
        code = cli_fail(cmd, rc, "reading the datoms: %s",
                        rc == DT_NOMEM ? "out of memory" : dt_errmsg(it));
        goto done;
    }
    qsort(ds, n, sizeof *ds, ddatom_cmp);

    if (!strcmp(outname, "-")) {
        out = stdout;
    } else if (!(out = fopen(outname, "wb"))) {
        code = cli_fail(cmd, DT_IO, "%s: %s", outname, strerror(errno));
        goto done;
    }
    /* the header */
    if ((rc = dt_edn_read(schema, strlen(schema), &sv)) != DT_OK ||
        (rc = dt_value_seq(DT_MAP, 8, &header)) != DT_OK) {
        code = cli_fail(cmd, rc, "schema: %s", dt_errmsg(NULL));
        goto done;
    }
    dt_value *h = header.u.seq.items;
    kw("datolite/dump", &h[0]);
    dt_value_long(1, &h[1]);
    kw("schema", &h[2]);
    h[3] = sv;
    dt_value_nil(&sv);
    kw("datoms", &h[4]);
    dt_value_long((int64_t)n, &h[5]);
    kw("basis-tx", &h[6]);
    dt_value_long(dt_db_basis_tx(db), &h[7]);
    if ((rc = emit(out, msgpack, &header)) != DT_OK) {
        code = cli_fail(cmd, rc, "header: %s", dt_errmsg(NULL));
        goto done;
    }
    cli_progress_start(&prog, cmd, "datoms written", n, quiet);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && ds[j].tx == ds[i].tx) j++;
        if ((rc = emit_tx(out, msgpack, ds + i, j - i, &at)) != DT_OK) {
            code = cli_fail(cmd, rc, "transaction %lld: %s", (long long)ds[i].tx, dt_errmsg(NULL));
            goto done;
        }
        i = j;
        cli_progress_update(&prog, i);
    }
    cli_progress_end(&prog);
    if (fflush(out) != 0 || ferror(out))
        code = cli_fail(cmd, DT_IO, "%s: cannot write: %s", outname, strerror(errno));
done:
    if (out && out != stdout && fclose(out) != 0 && code == CLI_OK)
        code = cli_fail(cmd, DT_IO, "%s: cannot write: %s", outname, strerror(errno));
    for (size_t i = 0; i < n; i++) dt_value_free(&ds[i].v);
    free(ds);
    attrs_free(&at);
    dt_value_free(&header);
    dt_value_free(&sv);
    dt_free(schema);
    dt_datom_iter_close(it);
    return cli_cmd_end(&c, code);
}

/* }====== */

/* {====== load ====== */

/* Reads the dump's forms one by one, from EDN or msgpack. */
typedef struct dreader {
    int msgpack;
    const char *data;
    size_t len, off;
    dt_edn_reader *edn;
} dreader;

static int dreader_next(dreader *r, dt_value *out, char *err, size_t errsz) {
    if (r->msgpack) {
        if (r->off >= r->len) return DT_DONE;
        size_t used = 0;
        int rc = dt_msgpack_decode(r->data + r->off, r->len - r->off, out, &used);
        if (rc != DT_OK) {
            snprintf(err, errsz, "at byte %zu: %s", r->off, dt_errmsg(NULL));
            return rc;
        }
        r->off += used;
        return DT_ROW;
    }
    int rc = dt_edn_reader_next(r->edn, out);
    if (rc != DT_ROW && rc != DT_DONE) snprintf(err, errsz, "%s", dt_errmsg(r->edn));
    return rc;
}

/* The value of keyword key `k` in map m, or NULL. */
static const dt_value *map_get(const dt_value *m, const char *k) {
    if (!m || m->type != DT_MAP) return NULL;
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2) {
        const dt_value *key = &m->u.seq.items[i];
        if (key->type == DT_KEYWORD && !strcmp(key->u.s.ptr, k)) return &m->u.seq.items[i + 1];
    }
    return NULL;
}

/* The replay of a dump's transactions inside one write block. */
struct replay {
    dreader *r;
    size_t start_off; /* msgpack: where the transactions start */
    const char *name;
    uint64_t expect, ntx, ndatoms;
    int quiet;
    cli_progress prog;
    char msg[700];
};

/* Puts the reader back on the first transaction (after the header). */
static int replay_rewind(struct replay *rp) {
    dreader *r = rp->r;
    if (r->msgpack) {
        r->off = rp->start_off;
        return DT_OK;
    }
    dt_edn_reader_free(r->edn);
    r->edn = NULL;
    int rc = dt_edn_reader_new(r->data, r->len, NULL, &r->edn);
    if (rc != DT_OK) return rc;
    dt_value header = DT_VALUE_NIL;
    rc = dt_edn_reader_next(r->edn, &header);
    dt_value_free(&header);
    return rc == DT_ROW ? DT_OK : rc;
}

static int replay_fn(dt_txn *tx, void *ud) {
    struct replay *rp = ud;
    dt_value form = DT_VALUE_NIL;
    char err[600] = "";
    int rc = replay_rewind(rp);
    rp->msg[0] = '\0';
    rp->ntx = rp->ndatoms = 0;
    if (rc != DT_OK) {
        snprintf(rp->msg, sizeof rp->msg, "%s: %s", rp->name, dt_errmsg(rp->r->edn));
        return rc;
    }
    cli_progress_end(&rp->prog);
    cli_progress_start(&rp->prog, "load", "datoms", rp->expect, rp->quiet);
    while ((rc = dreader_next(rp->r, &form, err, sizeof err)) == DT_ROW) {
        const dt_value *t = map_get(&form, "tx"), *data = map_get(&form, "data");
        if (!t || t->type != DT_LONG || !data || data->type != DT_VECTOR) {
            snprintf(rp->msg, sizeof rp->msg,
                     "%s: form %llu is not {:tx T :data [...]} (a damaged dump?)", rp->name,
                     (unsigned long long)rp->ntx + 2);
            dt_value_free(&form);
            return DT_INVALID;
        }
        dt_report *rep = NULL;
        if ((rc = dt_txn_transact_value(tx, data, &rep)) != DT_OK) {
            snprintf(rp->msg, sizeof rp->msg, "transaction %lld: %s", (long long)t->u.i,
                     dt_errmsg(tx));
            dt_value_free(&form);
            return rc;
        }
        int64_t got = dt_report_tx(rep);
        dt_report_close(rep);
        if (got != t->u.i) {
            snprintf(rp->msg, sizeof rp->msg,
                     "transaction %lld was given id %lld: the dump's transactions are not "
                     "consecutive, so the ids cannot be kept",
                     (long long)t->u.i, (long long)got);
            dt_value_free(&form);
            return DT_CONFLICT;
        }
        rp->ntx++;
        rp->ndatoms += data->u.seq.n;
        cli_progress_update(&rp->prog, rp->ndatoms);
        dt_value_free(&form);
    }
    if (rc != DT_DONE) {
        snprintf(rp->msg, sizeof rp->msg, "%s: %s", rp->name, err);
        return rc;
    }
    return DT_OK;
}

static const char load_usage[] =
    "usage: datolite load [--format edn|msgpack] [--quiet] DIR FILE|-\n";

static const char load_help[] =
    "\n"
    "Reads a dump made by 'datolite dump' into the database in DIR (created when\n"
    "missing; it must hold no datoms): the schema first, then each transaction in\n"
    "order, so that every transaction gets its original id and every datom its\n"
    "original entity, value and transaction.  All of it commits at once, or nothing\n"
    "does.  The format is --format, else msgpack when the input does not start with\n"
    "EDN text.  Prints {:transactions N :datoms M}.\n"
    "\n"
    "Options:\n"
    "  --format F  edn or msgpack (default: detected)\n"
    "  --quiet     no progress line on stderr (shown only when stderr is a terminal)\n"
    "\n" CLI_EXIT_HELP;

int cmd_load(int argc, char **argv) {
    cli_cmd c = CLI_CMD("load", load_usage, load_help, CLI_TAKES_FORMAT, "edn or msgpack");
    const char *cmd = c.name;
    int quiet = 0;
    cli_opt opts[] = {{"quiet", 0, NULL, &quiet}, {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code == CLI_OK) code = cli_cmd_args(&c, 2, "DIR", "FILE (or - for stdin)", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    const char *dir = c.pos[0], *file = c.pos[1], *format = c.format;

    cli_input in;
    if ((code = cli_input_read(cmd, file, 0, &in)) != CLI_OK) return cli_cmd_end(&c, code);
    dreader r = {0};
    r.data = in.data;
    r.len = in.len;
    if (format) {
        r.msgpack = !strcmp(format, "msgpack");
    } else {
        size_t i = 0;
        while (i < in.len && (in.data[i] == ' ' || in.data[i] == '\n' || in.data[i] == '\t' ||
                              in.data[i] == '\r'))
            i++;
        r.msgpack = i < in.len && in.data[i] != '{' && in.data[i] != ';' && in.data[i] != '#';
    }
    dt_conn *conn = NULL;
    dt_value form = DT_VALUE_NIL;
    char err[600] = "";
    int rc;
    uint64_t ntx = 0, ndatoms = 0;
    if (!r.msgpack && (rc = dt_edn_reader_new(in.data, in.len, NULL, &r.edn)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s: %s", in.name, dt_errmsg(NULL));
        goto done;
    }
    if ((rc = dreader_next(&r, &form, err, sizeof err)) != DT_ROW ||
        !map_get(&form, "datolite/dump")) {
        if (rc == DT_ROW || rc == DT_DONE)
            code = cli_fail(cmd, DT_INVALID,
                            "%s: not a datolite dump (it starts with {:datolite/dump 1 ...})",
                            in.name);
        else
            code = cli_fail(cmd, rc, "%s: %s", in.name, err);
        goto done;
    }
    const dt_value *ver = map_get(&form, "datolite/dump");
    if (ver->type != DT_LONG || ver->u.i != 1) {
        code = cli_fail(cmd, DT_INVALID, "%s: dump version not supported (this is 1)", in.name);
        goto done;
    }
    uint64_t expect = 0;
    const dt_value *nd = map_get(&form, "datoms");
    if (nd && nd->type == DT_LONG && nd->u.i > 0) expect = (uint64_t)nd->u.i;
    if ((code = cli_cmd_open(&c, dir, CLI_OPEN_WRITE)) != CLI_OK) goto done;
    conn = c.conn;
    {
        dt_db *db = NULL;
        uint64_t have = 0;
        if ((rc = dt_conn_db(conn, &db)) == DT_OK)
            rc = dt_db_count_datoms(db, DT_INDEX_EAV, NULL, 0, &have);
        if (rc == DT_OK && have == 0) rc = dt_db_count_datoms(db, DT_INDEX_AVE, NULL, 0, &have);
        dt_db_close(db);
        if (rc != DT_OK) {
            code = cli_fail(cmd, rc, "%s", dt_errmsg(conn));
            goto done;
        }
        if (have) {
            code = cli_fail(cmd, DT_CONFLICT,
                            "%s already holds %llu datoms: load needs an empty database", dir,
                            (unsigned long long)have);
            goto done;
        }
    }
    const dt_value *schema = map_get(&form, "schema");
    if (schema && schema->type == DT_MAP && schema->u.seq.n) {
        char *s = NULL;
        if ((rc = dt_edn_write(schema, DT_EDN_COMPACT, &s, NULL)) == DT_OK) {
            rc = dt_conn_update_schema(conn, s);
            dt_free(s);
        }
        if (rc != DT_OK) {
            code = cli_fail(cmd, rc, "schema: %s", dt_errmsg(conn));
            goto done;
        }
    }
    dt_value_free(&form);
    /* the replay runs in one block; when the map fills up, dt_with_txn
     * grows it and runs the replay again from the start */
    struct replay rp;
    memset(&rp, 0, sizeof rp);
    rp.r = &r;
    rp.start_off = r.off;
    rp.name = in.name;
    rp.expect = expect;
    rp.quiet = quiet;
    rc = dt_with_txn(conn, replay_fn, &rp);
    cli_progress_end(&rp.prog);
    if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s", rp.msg[0] ? rp.msg : dt_errmsg(conn));
        goto done;
    }
    ntx = rp.ntx;
    ndatoms = rp.ndatoms;
    printf("{:transactions %llu, :datoms %llu}\n", (unsigned long long)ntx,
           (unsigned long long)ndatoms);
done:
    dt_value_free(&form);
    dt_edn_reader_free(r.edn);
    cli_input_free(&in);
    return cli_cmd_end(&c, code);
}

/* }====== */

/* {====== stat ====== */

/* The database names of a Datolite environment (docs/format.md). */
static const char *const dt_dbis[] = {"dt/meta",   "dt/schema",  "dt/eav",   "dt/ave",
                                      "dt/giants", "dt/history", "dt/txlog", "dt/stats"};

int cli_stat_value(dt_conn *conn, const char *dir, dt_value *out) {
    dt_db *db = NULL;
    dt_datom_iter *it = NULL;
    char *schema = NULL;
    dt_value sv = DT_VALUE_NIL, amap = DT_VALUE_NIL;
    int rc;
    dt_value_nil(out);
    if ((rc = dt_conn_db(conn, &db)) != DT_OK) goto fail_conn;
    uint64_t datoms = 0, entities = 0, txs = 0;
    if ((rc = dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it)) != DT_OK) goto fail_db;
    dt_datom d;
    int64_t last = 0;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        datoms++;
        if (d.e != last) {
            last = d.e;
            if (d.e >= DT_TX0)
                txs++;
            else
                entities++;
        }
    }
    if (rc != DT_DONE) {
        dt_errmsg_set(NULL, rc, "%s", dt_errmsg(it));
        goto fail;
    }
    dt_datom_iter_close(it);
    it = NULL;
    if ((rc = dt_conn_schema(conn, &schema)) != DT_OK) goto fail_conn;
    if ((rc = dt_edn_read(schema, strlen(schema), &sv)) != DT_OK) goto fail;
    size_t na = sv.type == DT_MAP ? sv.u.seq.n / 2 : 0;
    if ((rc = dt_value_seq(DT_MAP, 2 * na, &amap)) != DT_OK) goto fail;
    for (size_t i = 0; i < na; i++) {
        const dt_value *k = &sv.u.seq.items[2 * i];
        dt_attr_stats st;
        memset(&st, 0, sizeof st);
        if ((rc = dt_db_attr_stats(db, k->u.s.ptr, &st)) != DT_OK) goto fail_db;
        dt_value_copy(k, &amap.u.seq.items[2 * i]);
        dt_value *m = &amap.u.seq.items[2 * i + 1];
        if ((rc = dt_value_seq(DT_MAP, 4, m)) != DT_OK) {
            dt_attr_stats_free(&st);
            goto fail;
        }
        kw("count", &m->u.seq.items[0]);
        dt_value_long((int64_t)st.count, &m->u.seq.items[1]);
        kw("distinct", &m->u.seq.items[2]);
        dt_value_long((int64_t)st.distinct, &m->u.seq.items[3]);
        dt_attr_stats_free(&st);
    }
    dt_kv *kv = dt_conn_kv(conn);
    dt_kv_envstat es;
    if ((rc = dt_kv_stat(kv, &es)) != DT_OK) {
        dt_errmsg_set(NULL, rc, "%s", dt_errmsg(kv));
        goto fail;
    }
    uint64_t used = 0;
    for (size_t i = 0; i < sizeof dt_dbis / sizeof dt_dbis[0]; i++) {
        dt_kv_dbi dbi;
        dt_kv_dbistat ds;
        if (dt_kv_dbi_open(kv, dt_dbis[i], 0, &dbi) != DT_OK) continue;
        if (dt_kv_dbi_stat(kv, NULL, dbi, &ds) != DT_OK) continue;
        used += ds.branch_pages + ds.leaf_pages + ds.overflow_pages;
    }
    uint64_t pages = es.last_page + 1;
    /* pages 0 and 1 are LMDB's meta pages; the main database holds a page
     * or two of names, counted as free here */
    uint64_t free_pages = pages > used + 2 ? pages - used - 2 : 0;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int64_t fsize = stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
    dt_value_free(&sv);
    if ((rc = dt_value_seq(DT_MAP, 2 * 14, out)) != DT_OK) goto fail;
    dt_value *m = out->u.seq.items;
    size_t k = 0;
#define PUT_LONG(name, x)                                                                          \
    do {                                                                                           \
        kw(name, &m[k++]);                                                                         \
        dt_value_long((int64_t)(x), &m[k++]);                                                      \
    } while (0)
    PUT_LONG("datoms", datoms);
    PUT_LONG("entities", entities);
    PUT_LONG("transactions", txs);
    PUT_LONG("basis-tx", dt_db_basis_tx(db));
    PUT_LONG("file-size", fsize);
    PUT_LONG("map-size", es.map_size);
    PUT_LONG("used-bytes", es.used_bytes);
    PUT_LONG("page-size", es.page_size);
    PUT_LONG("pages", pages);
    PUT_LONG("free-pages", free_pages);
    PUT_LONG("readers", es.num_readers);
    PUT_LONG("max-readers", es.max_readers);
    kw("attribute-count", &m[k++]);
    dt_value_long((int64_t)na, &m[k++]);
    kw("attributes", &m[k++]);
    m[k++] = amap;
#undef PUT_LONG
    dt_free(schema);
    dt_db_close(db);
    return DT_OK;
fail_db:
    dt_errmsg_set(NULL, rc, "%s", dt_errmsg(db));
    goto fail;
fail_conn:
    dt_errmsg_set(NULL, rc, "%s", dt_errmsg(conn));
fail:
    dt_datom_iter_close(it);
    dt_value_free(&sv);
    dt_value_free(&amap);
    dt_value_free(out);
    dt_free(schema);
    dt_db_close(db);
    return rc;
}

static const char stat_usage[] = "usage: datolite stat [--format edn|json] DIR\n";

static const char stat_help[] =
    "\n"
    "Prints statistics of the database in DIR (read-only) as an EDN map:\n"
    "  :datoms :entities :transactions  counts (entities without the transaction\n"
    "                                   entities; datoms of both)\n"
    "  :basis-tx                        the last transaction id\n"
    "  :file-size :map-size :used-bytes bytes of data.mdb, of the map, in use\n"
    "  :page-size :pages :free-pages    pages in use, and those of them that no\n"
    "                                   database holds (reused by later writes)\n"
    "  :readers :max-readers            reader slots in use (all processes) and\n"
    "                                   available\n"
    "  :attributes                      {:attr {:count datoms :distinct values}}\n"
    "It reads every datom once to count entities.\n"
    "\n"
    "Options:\n"
    "  --format F  edn (default) or json\n"
    "\n" CLI_EXIT_HELP;

int cmd_stat(int argc, char **argv) {
    cli_cmd c = CLI_CMD("stat", stat_usage, stat_help, CLI_TAKES_FORMAT, "edn or json");
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, 1, "DIR", NULL);
    if (code == CLI_OK) code = cli_cmd_open(&c, c.pos[0], 0);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    dt_value v = DT_VALUE_NIL;
    int rc = cli_stat_value(c.conn, c.pos[0], &v);
    if (rc != DT_OK)
        code = cli_fail(c.name, rc, "%s", dt_errmsg(NULL));
    else
        cli_value_print(stdout, c.fmt, &v);
    dt_value_free(&v);
    return cli_cmd_end(&c, code);
}

/* }====== */

/* {====== copy ====== */

struct copy_job {
    dt_kv *kv;
    const char *dest;
    int compact;
    int rc;
    char msg[512];
    volatile int done;
};

static void *copy_thread(void *arg) {
    struct copy_job *j = arg;
    j->rc = dt_kv_copy(j->kv, j->dest, j->compact);
    if (j->rc != DT_OK) snprintf(j->msg, sizeof j->msg, "%s", dt_errmsg(j->kv));
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static const char copy_usage[] = "usage: datolite copy [--compact] [--quiet] DIR DEST\n";

static const char copy_help[] =
    "\n"
    "Copies the database in DIR into the directory DEST (created when missing; it\n"
    "must not hold a data.mdb yet), consistent as of one moment, while other\n"
    "processes go on reading and writing DIR (a hot backup).  DEST is a database\n"
    "like DIR.\n"
    "\n"
    "Options:\n"
    "  --compact  leave out free pages (smaller copy, takes longer)\n"
    "  --quiet    no progress line on stderr (shown only when stderr is a terminal)\n"
    "\n" CLI_EXIT_HELP;

int cmd_copy(int argc, char **argv) {
    cli_cmd c = CLI_CMD("copy", copy_usage, copy_help, 0, NULL);
    const char *cmd = c.name;
    int compact = 0, quiet = 0;
    cli_opt opts[] = {
        {"compact", 0, NULL, &compact}, {"quiet", 0, NULL, &quiet}, {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code == CLI_OK) code = cli_cmd_args(&c, 2, "DIR", "DEST", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    const char *dir = c.pos[0], *dest = c.pos[1];
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/data.mdb", dest);
    if (stat(path, &st) == 0)
        return cli_cmd_end(&c, cli_fail(cmd, DT_IO,
                                        "%s already holds a database (data.mdb): copy needs a new "
                                        "or empty directory",
                                        dest));
    if (mkdir(dest, 0777) != 0 && errno != EEXIST)
        return cli_cmd_end(&c, cli_fail(cmd, DT_IO, "cannot create %s: %s", dest, strerror(errno)));
    if ((code = cli_cmd_open(&c, dir, 0)) != CLI_OK) return cli_cmd_end(&c, code);
    dt_kv *kv = dt_conn_kv(c.conn);
    dt_kv_envstat es;
    memset(&es, 0, sizeof es);
    dt_kv_stat(kv, &es);
    struct copy_job job = {kv, dest, compact, DT_OK, "", 0};
    cli_progress prog;
    cli_progress_start(&prog, cmd, "bytes", es.used_bytes, quiet);
    pthread_t th;
    if (pthread_create(&th, NULL, copy_thread, &job) != 0) {
        copy_thread(&job);
    } else {
        while (!__atomic_load_n(&job.done, __ATOMIC_ACQUIRE)) {
            usleep(50000);
            if (stat(path, &st) == 0) cli_progress_update(&prog, (uint64_t)st.st_size);
        }
        pthread_join(th, NULL);
    }
    cli_progress_end(&prog);
    if (job.rc != DT_OK) code = cli_fail(cmd, job.rc, "%s: %s", dest, job.msg);
    return cli_cmd_end(&c, code);
}

/* }====== */

/* {====== entity ====== */

static const char entity_usage[] =
    "usage: datolite entity [--format edn|json|table|csv] [--as-of T] [--since T] DIR EID\n";

static const char entity_help[] =
    "\n"
    "Prints every attribute of one entity of the database in DIR (pull [*]: refs as\n"
    "{:db/id N}, components pulled whole).  EID is EDN: an entity id, an ident\n"
    "keyword or a lookup ref:\n"
    "  datolite entity db 12\n"
    "  datolite entity db '[:person/email \"ann@example.com\"]'\n"
    "An EID that matches no entity is an input error (exit 2).\n"
    "\n"
    "Options:\n"
    "  --format F  edn (default), json, table or csv (attribute, value rows)\n"
    "  --as-of T   the entity as of transaction T (an id, a number, or an instant:\n"
    "              2026-01-01T00:00:00Z or #inst \"...\")\n"
    "  --since T   only its datoms asserted after transaction T\n"
    "\n" CLI_EXIT_HELP;

int cmd_entity(int argc, char **argv) {
    cli_cmd c = CLI_CMD("entity", entity_usage, entity_help, CLI_TAKES_FORMAT | CLI_TAKES_TIME,
                        CLI_GRID_FORMATS);
    const char *cmd = c.name;
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, 2, "DIR", "EID", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    const char *eid_text = c.pos[1];
    dt_value eid = DT_VALUE_NIL, pattern = DT_VALUE_NIL, out = DT_VALUE_NIL;
    cli_input in = {0};
    if (!strcmp(eid_text, "-")) {
        if ((code = cli_input_read(cmd, "-", 1, &in)) != CLI_OK) return cli_cmd_end(&c, code);
        eid_text = in.data;
    }
    /* eid_text (in `in` when read from stdin) names the entity in messages */
    if ((code = cli_edn_arg(cmd, "EID", eid_text, &eid)) != CLI_OK) goto done;
    dt_edn_read("[*]", 3, &pattern);
    if ((code = cli_cmd_open(&c, c.pos[0], CLI_OPEN_SNAPSHOT)) != CLI_OK) goto done;
    dt_db *db = c.db;
    int rc;
    int64_t e = 0;
    if ((rc = dt_db_entid(db, &eid, &e)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
        goto done;
    }
    dt_value ev;
    uint64_t nd = 0;
    dt_value_long(e, &ev);
    if ((rc = dt_db_count_datoms(db, DT_INDEX_EAV, &ev, 1, &nd)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
        goto done;
    }
    if (nd == 0) {
        code = cli_fail(cmd, DT_NOTFOUND, "entity %s has no datoms", eid_text);
        goto done;
    }
    if ((rc = dt_pull_value(db, &pattern, &eid, &out)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
        goto done;
    }
    if (out.type == DT_NIL) {
        code = cli_fail(cmd, DT_NOTFOUND, "entity %s has no datoms", eid_text);
        goto done;
    }
    if ((rc = cli_map_print(stdout, c.fmt, &out)) != DT_OK)
        code = cli_fail(cmd, rc, "cannot print: %s", dt_errmsg(NULL));
done:
    dt_value_free(&out);
    dt_value_free(&pattern);
    dt_value_free(&eid);
    cli_input_free(&in);
    return cli_cmd_end(&c, code);
}

/* }====== */
