/*
 * cmd_kv.c -- `datolite kv ...`: the KV store commands and the interactive
 * KV shell (bindings layer: uses only include/datolite.h).
 *
 * Keys and values are EDN values.  A key is stored in the order-preserving
 * key encoding (dt_value_encode), so ranges run in value order; EDN
 * vectors and lists in keys become tuples.  A value is stored as msgpack
 * (dt_msgpack_encode).  Bytes that do not decode (another program's data,
 * the Datalog store's own databases) print as #bytes "base64".
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"

/* {====== Encoding and printing ====== */

/* Vectors and lists are not key values; tuples are, and have the same
 * layout, so a key's vectors and lists become tuples in place. */
static void vectors_to_tuples(dt_value *v) {
    if (v->type == DT_VECTOR || v->type == DT_LIST) v->type = DT_TUPLE;
    if (v->type == DT_TUPLE)
        for (size_t i = 0; i < v->u.seq.n; i++) vectors_to_tuples(&v->u.seq.items[i]);
}

/* Encodes key `k` (changed in place: vectors become tuples) into *out
 * (dt_free).  Prints the error and returns the exit code. */
static int encode_key(const char *cmd, dt_value *k, void **out, size_t *out_len) {
    vectors_to_tuples(k);
    int rc = dt_value_encode(k, out, out_len);
    if (rc != DT_OK) return cli_fail(cmd, rc, "key: %s", dt_errmsg(NULL));
    if (*out_len > 511) {
        dt_free(*out);
        *out = NULL;
        return cli_fail(cmd, DT_INVALID, "key: encoded key of %zu bytes exceeds 511", *out_len);
    }
    return CLI_OK;
}

static int encode_val(const char *cmd, const dt_value *v, void **out, size_t *out_len) {
    int rc = dt_msgpack_encode(v, out, out_len);
    if (rc != DT_OK) return cli_fail(cmd, rc, "value: %s", dt_errmsg(NULL));
    return CLI_OK;
}

static void print_bytes(FILE *f, const void *p, size_t n) {
    dt_value b = DT_VALUE_NIL;
    if (dt_value_text(DT_BYTES, p, n, &b) == DT_OK) cli_print_value(f, &b);
    dt_value_free(&b);
}

/* Prints a stored key: its value if it is exactly one encoded value, else
 * its bytes. */
static void print_key(FILE *f, const void *p, size_t n) {
    dt_value v = DT_VALUE_NIL;
    size_t used = 0;
    if (dt_value_decode(p, n, &v, &used) == DT_OK && used == n && cli_print_value(f, &v) == DT_OK) {
        dt_value_free(&v);
        return;
    }
    dt_value_free(&v);
    print_bytes(f, p, n);
}

/* Prints a stored value: its msgpack value, else its bytes. */
static void print_val(FILE *f, const void *p, size_t n) {
    dt_value v = DT_VALUE_NIL;
    if (dt_msgpack_decode(p, n, &v, NULL) == DT_OK && cli_print_value(f, &v) == DT_OK) {
        dt_value_free(&v);
        return;
    }
    dt_value_free(&v);
    print_bytes(f, p, n);
}

/* }====== */

/* {====== Environment and databases ====== */

static int kv_open(const char *cmd, const char *dir, int readonly, dt_kv **out) {
    dt_kv_options o = DT_KV_OPTIONS_INIT;
    if (readonly) o.flags |= DT_KV_RDONLY;
    cli_crash_dir(dir);
    int rc = dt_kv_open(dir, &o, out);
    if (rc == DT_OK) return CLI_OK;
    if (rc == DT_NOTFOUND)
        return cli_fail(cmd, rc, "no KV environment in %s (%s)", dir, dt_errmsg(NULL));
    return cli_fail(cmd, rc, "cannot open %s: %s", dir, dt_errmsg(NULL));
}

static int kv_close(const char *cmd, dt_kv *kv, int code) {
    int rc = dt_kv_close(kv);
    if (rc != DT_OK && code == CLI_OK) return cli_fail(cmd, rc, "close: %s", dt_errmsg(kv));
    return code;
}

/* Opens the named database; `create` for writes. */
static int kv_dbi(const char *cmd, dt_kv *kv, const char *name, int create, dt_kv_dbi *out) {
    int rc = dt_kv_dbi_open(kv, name, create ? DT_KV_DBI_CREATE : 0, out);
    if (rc == DT_OK) return CLI_OK;
    if (rc == DT_NOTFOUND) return cli_fail(cmd, rc, "no database named \"%s\"", name);
    return cli_fail(cmd, rc, "database \"%s\": %s", name, dt_errmsg(kv));
}

/* }====== */

/* {====== Operations shared by the commands and the shell ====== */

/* Range bounds as given on the command line or in the shell. */
typedef struct kv_bounds {
    dt_value *from, *to; /* NULL: unbounded */
    int open_from, open_to, reverse;
    uint64_t limit; /* 0: none */
} kv_bounds;

static int op_put(const char *cmd, dt_kv *kv, const char *dbname, dt_value *k, const dt_value *v) {
    void *kb = NULL, *vb = NULL;
    size_t kn = 0, vn = 0;
    dt_kv_dbi dbi;
    int code;
    if ((code = encode_key(cmd, k, &kb, &kn)) != CLI_OK) goto done;
    if ((code = encode_val(cmd, v, &vb, &vn)) != CLI_OK) goto done;
    if ((code = kv_dbi(cmd, kv, dbname, 1, &dbi)) != CLI_OK) goto done;
    int rc = dt_kv_put(kv, NULL, dbi, kb, kn, vb, vn, 0);
    if (rc != DT_OK) code = cli_fail(cmd, rc, "%s", dt_errmsg(kv));
done:
    dt_free(kb);
    dt_free(vb);
    return code;
}

static int op_get(const char *cmd, dt_kv *kv, const char *dbname, dt_value *k) {
    void *kb = NULL, *vb = NULL;
    size_t kn = 0, vn = 0;
    dt_kv_dbi dbi;
    int code;
    if ((code = encode_key(cmd, k, &kb, &kn)) != CLI_OK) goto done;
    if ((code = kv_dbi(cmd, kv, dbname, 0, &dbi)) != CLI_OK) goto done;
    int rc = dt_kv_get(kv, NULL, dbi, kb, kn, &vb, &vn);
    if (rc == DT_NOTFOUND) {
        fprintf(stderr, "datolite %s: key ", cmd);
        cli_print_value(stderr, k);
        fprintf(stderr, " not found in \"%s\"\n", dbname);
        code = cli_exit_code(rc);
    } else if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(kv));
    } else {
        print_val(stdout, vb, vn);
        putchar('\n');
    }
done:
    dt_free(kb);
    dt_free(vb);
    return code;
}

static int op_del(const char *cmd, dt_kv *kv, const char *dbname, dt_value *k) {
    void *kb = NULL;
    size_t kn = 0;
    dt_kv_dbi dbi;
    int code;
    if ((code = encode_key(cmd, k, &kb, &kn)) != CLI_OK) goto done;
    if ((code = kv_dbi(cmd, kv, dbname, 0, &dbi)) != CLI_OK) goto done;
    int rc = dt_kv_del(kv, NULL, dbi, kb, kn, NULL, 0);
    if (rc == DT_NOTFOUND) {
        fprintf(stderr, "datolite %s: key ", cmd);
        cli_print_value(stderr, k);
        fprintf(stderr, " not found in \"%s\"\n", dbname);
        code = cli_exit_code(rc);
    } else if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(kv));
    }
done:
    dt_free(kb);
    return code;
}

/* Prints the entries of a range as [k v] lines, or (count) their number. */
static int op_range(const char *cmd, dt_kv *kv, const char *dbname, kv_bounds *b, int count) {
    void *lo = NULL, *hi = NULL;
    size_t lon = 0, hin = 0;
    dt_kv_dbi dbi;
    dt_kv_iter *it = NULL;
    int code, rc;
    if (b->from && (code = encode_key(cmd, b->from, &lo, &lon)) != CLI_OK) goto done;
    if (b->to && (code = encode_key(cmd, b->to, &hi, &hin)) != CLI_OK) goto done;
    if ((code = kv_dbi(cmd, kv, dbname, 0, &dbi)) != CLI_OK) goto done;
    dt_kv_range r = DT_KV_RANGE_ALL;
    r.lo.ptr = lo;
    r.lo.len = lon;
    r.lo_bound = !b->from ? DT_KV_UNBOUNDED : b->open_from ? DT_KV_OPEN : DT_KV_CLOSED;
    r.hi.ptr = hi;
    r.hi.len = hin;
    r.hi_bound = !b->to ? DT_KV_UNBOUNDED : b->open_to ? DT_KV_OPEN : DT_KV_CLOSED;
    r.backward = b->reverse;
    r.limit = (size_t)b->limit;
    if (count) {
        uint64_t n = 0;
        if ((rc = dt_kv_range_count(kv, NULL, dbi, &r, &n)) != DT_OK)
            code = cli_fail(cmd, rc, "%s", dt_errmsg(kv));
        else
            printf("%llu\n", (unsigned long long)n);
        goto done;
    }
    if ((rc = dt_kv_iter_open(kv, NULL, dbi, &r, &it)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(kv));
        goto done;
    }
    dt_kv_bytes k, v;
    while ((rc = dt_kv_iter_next(it, &k, &v)) == DT_ROW) {
        putchar('[');
        print_key(stdout, k.ptr, k.len);
        putchar(' ');
        print_val(stdout, v.ptr, v.len);
        fputs("]\n", stdout);
    }
    if (rc != DT_DONE)
        code = cli_fail(cmd, rc, "%s", *dt_errmsg(it) ? dt_errmsg(it) : dt_errmsg(kv));
done:
    dt_kv_iter_close(it);
    dt_free(lo);
    dt_free(hi);
    return code;
}

/* Appends ":name value" to a map value under construction. */
static void map_set(dt_value *m, size_t *i, const char *name, const dt_value *v) {
    dt_value_text(DT_KEYWORD, name, strlen(name), &m->u.seq.items[(*i)++]);
    m->u.seq.items[(*i)++] = *v;
}

static void map_long(dt_value *m, size_t *i, const char *name, uint64_t n) {
    dt_value v;
    dt_value_long((int64_t)n, &v);
    map_set(m, i, name, &v);
}

/* Prints the statistics of the environment, or of one database, as an
 * EDN map. */
static int op_stat(const char *cmd, dt_kv *kv, const char *dbname) {
    dt_value m = DT_VALUE_NIL;
    size_t i = 0;
    int rc;
    if (dbname) {
        dt_kv_dbi dbi;
        dt_kv_dbistat s;
        int code = kv_dbi(cmd, kv, dbname, 0, &dbi);
        if (code != CLI_OK) return code;
        if ((rc = dt_kv_dbi_stat(kv, NULL, dbi, &s)) != DT_OK)
            return cli_fail(cmd, rc, "%s", dt_errmsg(kv));
        if ((rc = dt_value_seq(DT_MAP, 12, &m)) != DT_OK) return cli_fail(cmd, rc, "out of memory");
        map_long(&m, &i, "entries", s.entries);
        map_long(&m, &i, "depth", s.depth);
        map_long(&m, &i, "branch-pages", s.branch_pages);
        map_long(&m, &i, "leaf-pages", s.leaf_pages);
        map_long(&m, &i, "overflow-pages", s.overflow_pages);
        map_long(&m, &i, "page-size", s.page_size);
    } else {
        dt_kv_envstat s;
        if ((rc = dt_kv_stat(kv, &s)) != DT_OK) return cli_fail(cmd, rc, "%s", dt_errmsg(kv));
        if ((rc = dt_value_seq(DT_MAP, 18, &m)) != DT_OK) return cli_fail(cmd, rc, "out of memory");
        map_long(&m, &i, "map-size", s.map_size);
        map_long(&m, &i, "max-map-size", s.max_map_size);
        map_long(&m, &i, "page-size", s.page_size);
        map_long(&m, &i, "last-page", s.last_page);
        map_long(&m, &i, "used-bytes", s.used_bytes);
        dt_value d;
        dt_value_double(s.map_use, &d);
        map_set(&m, &i, "map-use", &d);
        map_long(&m, &i, "last-txn-id", s.last_txn_id);
        map_long(&m, &i, "max-readers", s.max_readers);
        map_long(&m, &i, "num-readers", s.num_readers);
    }
    char *text = NULL;
    if ((rc = dt_edn_write(&m, DT_EDN_PRETTY, &text, NULL)) != DT_OK) {
        dt_value_free(&m);
        return cli_fail(cmd, rc, "%s", dt_errmsg(NULL));
    }
    printf("%s\n", text);
    dt_free(text);
    dt_value_free(&m);
    return CLI_OK;
}

/* }====== */

/* {====== Subcommands ====== */

#define KV_HELP_KEYS                                                                               \
    "Keys and values are EDN: \"text\", 42, :kw, #inst \"...\", [1 \"a\"] (a tuple key),\n"        \
    "{:any \"value\"}.  Keys sort in value order (longs before strings, by type).\n"

/* The frame of a subcommand (cli_cmd_start; c->help is the text between
 * the usage and the exit codes), with DIR DBI KEY VALUE: at least min
 * of them, at most max.  Returns CLI_OK to go on, else what to pass to
 * cli_cmd_end. */
static int kv_start(cli_cmd *c, int min, int max, int argc, char **argv, const cli_opt *opts) {
    static char help[4096];
    snprintf(help, sizeof help, "\n%s\n" CLI_EXIT_HELP, c->help);
    c->help = help;
    int code = cli_cmd_start(c, argc, argv, opts);
    if (code != CLI_OK) return code;
    return cli_cmd_args(c, max, min > 0 ? "DIR" : NULL, min > 1 ? "DBI" : NULL,
                        min > 2 ? "KEY" : NULL, min > 3 ? "VALUE" : NULL, NULL);
}

static int kv_put(int argc, char **argv) {
    cli_cmd a = {.name = "kv put",
                 .usage = "usage: datolite kv put DIR DBI KEY VALUE\n",
                 .help =
                     "Stores VALUE under KEY in the database DBI of the environment in DIR (both\n"
                     "created if missing), replacing an earlier value.\n" KV_HELP_KEYS};
    int code = kv_start(&a, 4, 4, argc, argv, NULL);
    if (code != CLI_OK) goto out;
    dt_value k = DT_VALUE_NIL, v = DT_VALUE_NIL;
    dt_kv *kv = NULL;
    if ((code = cli_edn_arg(a.name, "key", a.pos[2], &k)) == CLI_OK &&
        (code = cli_edn_arg(a.name, "value", a.pos[3], &v)) == CLI_OK &&
        (code = kv_open(a.name, a.pos[0], 0, &kv)) == CLI_OK) {
        code = op_put(a.name, kv, a.pos[1], &k, &v);
        code = kv_close(a.name, kv, code);
    }
    dt_value_free(&k);
    dt_value_free(&v);
out:
    return cli_cmd_end(&a, code);
}

/* get and del: DIR DBI KEY */
static int kv_key_cmd(int argc, char **argv, int del) {
    cli_cmd a = {
        .name = del ? "kv del" : "kv get",
        .usage =
            del ? "usage: datolite kv del DIR DBI KEY\n" : "usage: datolite kv get DIR DBI KEY\n",
        .help =
            del ? "Deletes KEY from the database DBI of the environment in DIR.  A missing key\n"
                  "is an error (exit 2).\n" KV_HELP_KEYS
                : "Prints the value of KEY in the database DBI of the environment in DIR, as\n"
                  "EDN.  A missing key is an error (exit 2).\n" KV_HELP_KEYS};
    int code = kv_start(&a, 3, 3, argc, argv, NULL);
    if (code != CLI_OK) goto out;
    dt_value k = DT_VALUE_NIL;
    dt_kv *kv = NULL;
    if ((code = cli_edn_arg(a.name, "key", a.pos[2], &k)) == CLI_OK &&
        (code = kv_open(a.name, a.pos[0], !del, &kv)) == CLI_OK) {
        code = del ? op_del(a.name, kv, a.pos[1], &k) : op_get(a.name, kv, a.pos[1], &k);
        code = kv_close(a.name, kv, code);
    }
    dt_value_free(&k);
out:
    return cli_cmd_end(&a, code);
}

static int kv_get(int argc, char **argv) { return kv_key_cmd(argc, argv, 0); }
static int kv_del(int argc, char **argv) { return kv_key_cmd(argc, argv, 1); }

/* range and count: DIR DBI with bounds */
static int kv_range_cmd(int argc, char **argv, int count) {
    cli_cmd a = {
        .name = count ? "kv count" : "kv range",
        .usage =
            count
                ? "usage: datolite kv count DIR DBI [--from K] [--to K] [--open-from] [--open-to]\n"
                  "                         [--reverse] [--limit N]\n"
                : "usage: datolite kv range DIR DBI [--from K] [--to K] [--open-from] [--open-to]\n"
                  "                         [--reverse] [--limit N]\n",
        .help =
            count ? "Prints the number of entries of the database DBI in the environment in DIR\n"
                    "whose keys lie in the range (default: all).\n"
                  : "Prints the entries of the database DBI in the environment in DIR whose keys\n"
                    "lie in the range (default: all), one [key value] EDN vector per line, in key\n"
                    "order.\n"};
    const char *from_s = NULL, *to_s = NULL, *limit_s = NULL;
    int open_from = 0, open_to = 0, reverse = 0;
    cli_opt opts[] = {{"from", 1, &from_s, NULL},
                      {"to", 1, &to_s, NULL},
                      {"open-from", 0, NULL, &open_from},
                      {"open-to", 0, NULL, &open_to},
                      {"reverse", 0, NULL, &reverse},
                      {"limit", 1, &limit_s, NULL},
                      {NULL, 0, NULL, NULL}};
    static char help_buf[2048];
    snprintf(help_buf, sizeof help_buf,
             "%s\n"
             "Options:\n"
             "  --from K      the range starts at key K (inclusive)\n"
             "  --to K        the range ends at key K (inclusive)\n"
             "  --open-from   exclude K of --from\n"
             "  --open-to     exclude K of --to\n"
             "  --reverse     from the last key down to the first\n"
             "  --limit N     at most N entries\n\n"
             "%s",
             a.help, KV_HELP_KEYS);
    a.help = help_buf;
    int code = kv_start(&a, 2, 2, argc, argv, opts);
    if (code != CLI_OK) goto out;
    uint64_t limit = 0;
    if (limit_s && cli_parse_count(limit_s, &limit) != 0) {
        code = cli_usage_error(a.name, a.usage, "--limit needs a count, got '%s'", limit_s);
        goto out;
    }
    dt_value from = DT_VALUE_NIL, to = DT_VALUE_NIL;
    kv_bounds b = {from_s ? &from : NULL, to_s ? &to : NULL, open_from, open_to, reverse, limit};
    dt_kv *kv = NULL;
    if ((!from_s || (code = cli_edn_arg(a.name, "--from", from_s, &from)) == CLI_OK) &&
        (!to_s || (code = cli_edn_arg(a.name, "--to", to_s, &to)) == CLI_OK) &&
        (code = kv_open(a.name, a.pos[0], 1, &kv)) == CLI_OK) {
        code = op_range(a.name, kv, a.pos[1], &b, count);
        code = kv_close(a.name, kv, code);
    }
    dt_value_free(&from);
    dt_value_free(&to);
out:
    return cli_cmd_end(&a, code);
}

static int kv_range(int argc, char **argv) { return kv_range_cmd(argc, argv, 0); }
static int kv_count(int argc, char **argv) { return kv_range_cmd(argc, argv, 1); }

static int kv_stat(int argc, char **argv) {
    cli_cmd a = {.name = "kv stat",
                 .usage = "usage: datolite kv stat DIR [DBI]\n",
                 .help =
                     "Prints statistics of the environment in DIR (map size and use, pages,\n"
                     "readers, last transaction), or of its database DBI (entries, B-tree depth\n"
                     "and pages), as an EDN map.\n"};
    int code = kv_start(&a, 1, 2, argc, argv, NULL);
    if (code != CLI_OK) goto out;
    dt_kv *kv = NULL;
    if ((code = kv_open(a.name, a.pos[0], 1, &kv)) == CLI_OK) {
        code = op_stat(a.name, kv, a.npos > 1 ? a.pos[1] : NULL);
        code = kv_close(a.name, kv, code);
    }
out:
    return cli_cmd_end(&a, code);
}

static int kv_copy(int argc, char **argv) {
    cli_cmd a = {
        .name = "kv copy",
        .usage = "usage: datolite kv copy [--compact] DIR DEST\n",
        .help = "Copies the environment in DIR (any LMDB environment, a Datolite database too)\n"
                "into the directory DEST, created if missing, which must not hold a data.mdb\n"
                "yet.  The copy is consistent as of one snapshot, also while others write.\n"
                "\n"
                "Options:\n"
                "  --compact   leave out free pages (smaller, slower to make)\n"};
    int compact = 0;
    cli_opt opts[] = {{"compact", 0, NULL, &compact}, {NULL, 0, NULL, NULL}};
    int code = kv_start(&a, 2, 2, argc, argv, opts);
    if (code != CLI_OK) goto out;
    dt_kv *kv = NULL;
    if ((code = kv_open(a.name, a.pos[0], 1, &kv)) == CLI_OK) {
        int rc = dt_kv_copy(kv, a.pos[1], compact);
        if (rc != DT_OK) code = cli_fail(a.name, rc, "%s", dt_errmsg(kv));
        code = kv_close(a.name, kv, code);
    }
out:
    return cli_cmd_end(&a, code);
}

/* The encoded pairs of a load. */
typedef struct load_ops {
    dt_kv_op *ops;
    size_t n, cap;
} load_ops;

static void load_ops_free(load_ops *l) {
    for (size_t i = 0; i < l->n; i++) {
        dt_free((void *)l->ops[i].key.ptr);
        dt_free((void *)l->ops[i].val.ptr);
    }
    free(l->ops);
}

/* Adds the pair `p` (a 2-element vector); `where` names it for messages. */
static int load_pair(const char *cmd, dt_kv_dbi dbi, dt_value *p, const char *where, load_ops *l) {
    if (p->type != DT_VECTOR && p->type != DT_LIST)
        return cli_fail(cmd, DT_INVALID, "%s: expected a [key value] pair, got a %s", where,
                        dt_type_name(p->type));
    if (p->u.seq.n != 2)
        return cli_fail(cmd, DT_INVALID, "%s: expected a [key value] pair, got %zu items", where,
                        p->u.seq.n);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        dt_kv_op *ops = realloc(l->ops, cap * sizeof *ops);
        if (!ops) return cli_fail(cmd, DT_NOMEM, "out of memory");
        l->ops = ops;
        l->cap = cap;
    }
    void *kb = NULL, *vb = NULL;
    size_t kn = 0, vn = 0;
    vectors_to_tuples(&p->u.seq.items[0]);
    int rc = dt_value_encode(&p->u.seq.items[0], &kb, &kn);
    if (rc != DT_OK) return cli_fail(cmd, rc, "%s: key: %s", where, dt_errmsg(NULL));
    if ((rc = dt_msgpack_encode(&p->u.seq.items[1], &vb, &vn)) != DT_OK) {
        dt_free(kb);
        return cli_fail(cmd, rc, "%s: value: %s", where, dt_errmsg(NULL));
    }
    dt_kv_op *op = &l->ops[l->n++];
    memset(op, 0, sizeof *op);
    op->type = DT_KV_OP_PUT;
    op->dbi = dbi;
    op->key.ptr = kb;
    op->key.len = kn;
    op->val.ptr = vb;
    op->val.len = vn;
    return CLI_OK;
}

static int kv_load(int argc, char **argv) {
    cli_cmd a = {
        .name = "kv load",
        .usage = "usage: datolite kv load DIR DBI [FILE|-]\n",
        .help = "Stores [key value] pairs read from FILE (default and '-': stdin) in the\n"
                "database DBI of the environment in DIR (both created if missing), all in one\n"
                "transaction: on any error nothing is written.  The input is either one\n"
                "vector of pairs, [[k1 v1] [k2 v2] ...], or a sequence of pairs [k1 v1]\n"
                "[k2 v2] ...  (a lone pair must be written inside a vector).  A later pair\n"
                "replaces an earlier one with the same key.  Prints {:loaded N}.\n" KV_HELP_KEYS};
    int code = kv_start(&a, 2, 3, argc, argv, NULL);
    if (code != CLI_OK) goto out;
    cli_input in = {0};
    dt_edn_reader *r = NULL;
    dt_kv *kv = NULL;
    load_ops l = {NULL, 0, 0};
    dt_value *forms = NULL;
    size_t nforms = 0, capforms = 0;
    int *lines = NULL, *cols = NULL;
    if ((code = cli_input_read(a.name, a.npos > 2 ? a.pos[2] : "-", 0, &in)) != CLI_OK) goto done;
    if ((code = kv_open(a.name, a.pos[0], 0, &kv)) != CLI_OK) goto done;
    dt_kv_dbi dbi;
    if ((code = kv_dbi(a.name, kv, a.pos[1], 1, &dbi)) != CLI_OK) goto done;
    int rc = dt_edn_reader_new(in.data, in.len, NULL, &r);
    if (rc != DT_OK) {
        code = cli_fail(a.name, rc, "%s", dt_errmsg(NULL));
        goto done;
    }
    for (;;) {
        if (nforms == capforms) {
            size_t cap = capforms ? capforms * 2 : 64;
            dt_value *f = realloc(forms, cap * sizeof *f);
            int *ln = f ? realloc(lines, cap * sizeof *ln) : NULL;
            if (f) forms = f;
            if (ln) lines = ln;
            int *cl = ln ? realloc(cols, cap * sizeof *cl) : NULL;
            if (!cl) {
                code = cli_fail(a.name, DT_NOMEM, "out of memory");
                goto done;
            }
            cols = cl;
            capforms = cap;
        }
        dt_value_nil(&forms[nforms]);
        rc = dt_edn_reader_next(r, &forms[nforms]);
        if (rc == DT_DONE) break;
        if (rc != DT_ROW) {
            code = cli_fail(a.name, rc, "%s: %s", in.name, dt_errmsg(r));
            goto done;
        }
        dt_edn_reader_pos(r, &lines[nforms], &cols[nforms], NULL);
        nforms++;
    }
    char where[128];
    if (nforms == 1 && (forms[0].type == DT_VECTOR || forms[0].type == DT_LIST)) {
        for (size_t i = 0; i < forms[0].u.seq.n; i++) {
            snprintf(where, sizeof where, "%s: pair %zu of the vector at %d:%d", in.name, i + 1,
                     lines[0], cols[0]);
            if ((code = load_pair(a.name, dbi, &forms[0].u.seq.items[i], where, &l)) != CLI_OK)
                goto done;
        }
    } else {
        for (size_t i = 0; i < nforms; i++) {
            snprintf(where, sizeof where, "%s: %d:%d", in.name, lines[i], cols[i]);
            if ((code = load_pair(a.name, dbi, &forms[i], where, &l)) != CLI_OK) goto done;
        }
    }
    if (l.n && (rc = dt_kv_batch(kv, NULL, l.ops, l.n)) != DT_OK) {
        code = cli_fail(a.name, rc, "%s: %s", in.name, dt_errmsg(kv));
        goto done;
    }
    printf("{:loaded %zu}\n", l.n);
done:
    load_ops_free(&l);
    for (size_t i = 0; i < nforms; i++) dt_value_free(&forms[i]);
    free(forms);
    free(lines);
    free(cols);
    dt_edn_reader_free(r);
    if (kv) code = kv_close(a.name, kv, code);
    cli_input_free(&in);
out:
    return cli_cmd_end(&a, code);
}

/* }====== */

/* {====== The shell ====== */

static const char shell_commands[] =
    "  put DBI KEY VALUE      store VALUE under KEY\n"
    "  get DBI KEY            print the value of KEY\n"
    "  del DBI KEY            delete KEY\n"
    "  range DBI [FROM [TO]]  print the [key value] entries with FROM <= key <= TO\n"
    "  count DBI [FROM [TO]]  count them\n"
    "  stat [DBI]             statistics of the environment or of DBI\n"
    "  help                   this list\n"
    "  quit                   leave (so does end of input)\n";

/* Splits off the next whitespace-delimited word of *s (NUL-terminating it
 * in place); NULL when none is left. */
static char *next_word(char **s) {
    char *p = *s;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return NULL;
    char *w = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (*p) *p++ = '\0';
    *s = p;
    return w;
}

/* Runs one shell line; returns the exit code of the command. */
static int shell_line(dt_kv *kv, char *line, const char *cmd, int *quit) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    char *rest = line;
    char *word = next_word(&rest);
    if (!word || word[0] == ';' || word[0] == '#') return CLI_OK;
    if (!strcmp(word, "quit") || !strcmp(word, "exit")) {
        *quit = 1;
        return CLI_OK;
    }
    if (!strcmp(word, "help") || !strcmp(word, "?")) {
        printf("%s", shell_commands);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int min, max; /* EDN forms after DBI */
    } cmds[] = {{"put", 2, 2},   {"get", 1, 1},   {"del", 1, 1},
                {"range", 0, 2}, {"count", 0, 2}, {"stat", 0, 0}};
    size_t c = 0;
    while (c < sizeof cmds / sizeof cmds[0] && strcmp(cmds[c].name, word) != 0) c++;
    if (c == sizeof cmds / sizeof cmds[0])
        return cli_fail(cmd, DT_INVALID, "unknown command '%s' (try help)", word);
    char *dbname = next_word(&rest);
    if (!strcmp(word, "stat")) {
        if (next_word(&rest)) return cli_fail(cmd, DT_INVALID, "usage: stat [DBI]");
        return op_stat(cmd, kv, dbname);
    }
    if (!dbname) return cli_fail(cmd, DT_INVALID, "%s needs a database name (try help)", word);
    dt_value forms[3] = {DT_VALUE_NIL, DT_VALUE_NIL, DT_VALUE_NIL};
    int nforms = 0, code = CLI_OK, rc;
    dt_edn_reader *r = NULL;
    if ((rc = dt_edn_reader_new(rest, strlen(rest), NULL, &r)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(NULL));
        goto done;
    }
    while (nforms < 3 && (rc = dt_edn_reader_next(r, &forms[nforms])) == DT_ROW) nforms++;
    if (rc != DT_ROW && rc != DT_DONE) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(r));
        goto done;
    }
    if (nforms < cmds[c].min || nforms > cmds[c].max) {
        code = cli_fail(cmd, DT_INVALID, "%s takes %s (try help)", word,
                        c == 0   ? "DBI KEY VALUE"
                        : c <= 2 ? "DBI KEY"
                                 : "DBI [FROM [TO]]");
        goto done;
    }
    switch (c) {
    case 0:
        if ((code = op_put(cmd, kv, dbname, &forms[0], &forms[1])) == CLI_OK) printf("ok\n");
        break;
    case 1:
        code = op_get(cmd, kv, dbname, &forms[0]);
        break;
    case 2:
        if ((code = op_del(cmd, kv, dbname, &forms[0])) == CLI_OK) printf("ok\n");
        break;
    default: {
        kv_bounds b = {nforms > 0 ? &forms[0] : NULL, nforms > 1 ? &forms[1] : NULL, 0, 0, 0, 0};
        code = op_range(cmd, kv, dbname, &b, c == 4);
        break;
    }
    }
done:
    dt_edn_reader_free(r);
    for (int i = 0; i < 3; i++) dt_value_free(&forms[i]);
    return code;
}

/* The history file of the interactive shell: $HOME/.datolite_history
 * (malloc'ed), or NULL without a HOME. */
static char *history_path(void) {
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + sizeof "/.datolite_history";
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/.datolite_history", home);
    return p;
}

static int kv_shell(int argc, char **argv) {
    cli_cmd a = CLI_CMD("kv shell", "usage: datolite kv shell DIR\n", NULL, 0, NULL);
    static char help_buf[2048];
    snprintf(help_buf, sizeof help_buf,
             "An interactive shell on the environment in DIR (created if missing).  One\n"
             "command per line:\n"
             "%s"
             "KEY, VALUE, FROM and TO are EDN values.  Lines starting with ';' or '#' are\n"
             "comments.  On a terminal the shell has line editing and a history (kept in\n"
             "~/.datolite_history); otherwise it reads commands from stdin line by line,\n"
             "without a prompt, and exits with the code of the first failing command (0\n"
             "when none failed), so it can run scripts:\n"
             "  printf 'put s 1 \"one\"\\nget s 1\\n' | datolite kv shell DIR\n"
             "Errors go to stderr, with the line number when not on a terminal.\n",
             shell_commands);
    a.help = help_buf;
    int code = kv_start(&a, 1, 1, argc, argv, NULL);
    if (code != CLI_OK) goto out;
    dt_kv *kv = NULL;
    if ((code = kv_open(a.name, a.pos[0], 0, &kv)) != CLI_OK) goto out;
    int quit = 0, first_fail = CLI_OK;
    if (isatty(STDIN_FILENO)) {
        char *hist = history_path();
        using_history();
        if (hist) read_history(hist);
        printf("Datolite %s KV shell on %s; 'help' lists the commands, 'quit' leaves.\n",
               dt_version(), a.pos[0]);
        while (!quit) {
            char *line = readline("datolite kv> ");
            if (!line) {
                putchar('\n');
                break;
            }
            if (line[strspn(line, " \t")]) add_history(line);
            shell_line(kv, line, "kv shell", &quit);
            fflush(stdout);
            free(line);
        }
        if (hist) write_history(hist);
        free(hist);
    } else {
        char *line = NULL;
        size_t cap = 0;
        long lineno = 0;
        char cmd[64];
        while (!quit && getline(&line, &cap, stdin) >= 0) {
            snprintf(cmd, sizeof cmd, "kv shell: line %ld", ++lineno);
            int rc = shell_line(kv, line, cmd, &quit);
            if (rc != CLI_OK && first_fail == CLI_OK) first_fail = rc;
        }
        free(line);
    }
    code = kv_close(a.name, kv, first_fail);
out:
    return cli_cmd_end(&a, code);
}

/* }====== */

/* {====== Dispatch ====== */

static const struct kv_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} kv_commands[] = {
    {"put", kv_put, "store a value under a key"},
    {"get", kv_get, "print the value of a key"},
    {"del", kv_del, "delete a key"},
    {"range", kv_range, "print the [key value] entries of a key range"},
    {"count", kv_count, "count the entries of a key range"},
    {"load", kv_load, "store [key value] pairs from EDN, in one transaction"},
    {"stat", kv_stat, "statistics of the environment or of a database"},
    {"copy", kv_copy, "copy the environment (hot backup)"},
    {"shell", kv_shell, "an interactive shell (scriptable through stdin)"},
    {NULL, NULL, NULL},
};

static void kv_usage(FILE *f) {
    fprintf(f, "usage: datolite kv <subcommand> DIR [args]\n"
               "\n"
               "Works with a plain key-value environment: the directory DIR of an LMDB\n"
               "environment with named databases (DBI).\n"
               "\n"
               "Subcommands:\n");
    for (const struct kv_command *c = kv_commands; c->name; c++)
        fprintf(f, "  %-6s %s\n", c->name, c->summary);
    fprintf(f, "\n" KV_HELP_KEYS
               "Values are stored as msgpack.  Stored bytes that are not such a key or value\n"
               "print as #bytes \"base64\".  A Datolite database is a KV environment too; its\n"
               "own databases are named \"dt/...\": read them, never write them.\n"
               "'datolite kv <subcommand> --help' describes a subcommand.\n"
               "\n" CLI_EXIT_HELP);
}

int cmd_kv(int argc, char **argv) {
    if (argc < 1) {
        kv_usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        kv_usage(stdout);
        return CLI_OK;
    }
    for (const struct kv_command *c = kv_commands; c->name; c++)
        if (!strcmp(c->name, argv[0])) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "datolite kv: unknown subcommand '%s' (try 'datolite kv --help')\n", argv[0]);
    return CLI_USAGE;
}

/* }====== */
