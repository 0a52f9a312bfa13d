/*
 * cmd_db.c -- the Datalog database commands of the `datolite` tool
 * (bindings layer): schema, transact, import, init-db, fill-db, datoms.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* {====== Shared ====== */

/* Prints one datom as [e :attr value tx] or, in reports, [e :attr value added]. */
static int print_datom(FILE *f, const dt_datom *d, int report) {
    fprintf(f, "[%lld :%s ", (long long)d->e, d->a);
    int rc = cli_print_value(f, &d->v);
    if (rc != DT_OK) return rc;
    if (report == 2) /* history: both */
        fprintf(f, " %lld %s]", (long long)d->tx, d->added ? "true" : "false");
    else if (report)
        fprintf(f, " %s]", d->added ? "true" : "false");
    else
        fprintf(f, " %lld]", (long long)d->tx);
    return DT_OK;
}

/* Prints EDN text pretty (re-read and re-printed), or as it is if it does
 * not read. */
static void print_pretty(const char *text) {
    dt_value v = DT_VALUE_NIL;
    char *s = NULL;
    if (dt_edn_read(text, strlen(text), &v) == DT_OK &&
        dt_edn_write(&v, DT_EDN_PRETTY, &s, NULL) == DT_OK)
        printf("%s\n", s);
    else
        printf("%s\n", text);
    dt_free(s);
    dt_value_free(&v);
}

static int print_schema(const char *cmd, dt_conn *conn) {
    char *text = NULL;
    int rc = dt_conn_schema(conn, &text);
    if (rc != DT_OK) return cli_fail(cmd, rc, "%s", dt_errmsg(conn));
    print_pretty(text);
    dt_free(text);
    return CLI_OK;
}

/* The message of a failed loader call: on the loader, else the
 * connection, else the thread's handle-less message. */
static const char *loader_msg(dt_loader *ld, dt_conn *conn) {
    const char *m = ld ? dt_errmsg(ld) : "";
    if (!*m) m = dt_errmsg(conn);
    if (!*m) m = dt_errmsg(NULL);
    return m;
}

/* }====== */

/* {====== schema ====== */

static const char schema_usage[] = "usage: datolite schema DIR [FILE|-]\n";

static const char schema_help[] =
    "\n"
    "Without FILE, prints the schema of the database in DIR as an EDN map from\n"
    "attribute to definition.  With FILE (or '-' for stdin), first adds or changes\n"
    "attributes from the EDN schema map in it, in one transaction, then prints the\n"
    "resulting schema:\n"
    "  datolite schema db schema.edn\n"
    "  echo '{:user/email {:db/valueType :db.type/string\n"
    "                      :db/unique :db.unique/identity}}' | datolite schema db -\n"
    "A change the existing data forbids (unique on an attribute with duplicate\n"
    "values, another value type, ...) changes nothing and exits with 3.\n"
    "\n" CLI_EXIT_HELP;

int cmd_schema(int argc, char **argv) {
    cli_cmd c = CLI_CMD("schema", schema_usage, schema_help, 0, NULL);
    const char *cmd = c.name;
    int code = cli_cmd_start(&c, argc, argv, NULL);
    if (code == CLI_OK) code = cli_cmd_args(&c, 2, "DIR", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    cli_input in = {0};
    if (c.npos == 2 && (code = cli_input_read(cmd, c.pos[1], 1, &in)) != CLI_OK)
        return cli_cmd_end(&c, code);
    if ((code = cli_cmd_open(&c, c.pos[0], c.npos == 1 ? 0 : CLI_OPEN_WRITE)) == CLI_OK) {
        if (c.npos == 2) {
            int rc = dt_conn_update_schema_text(c.conn, in.data, in.len);
            if (rc != DT_OK) code = cli_fail(cmd, rc, "%s: %s", in.name, dt_errmsg(c.conn));
        }
        if (code == CLI_OK) code = print_schema(cmd, c.conn);
    }
    code = cli_cmd_end(&c, code);
    cli_input_free(&in);
    return code;
}

/* }====== */

/* {====== transact ====== */

static const char transact_usage[] =
    "usage: datolite transact [--tx] [--closed-schema] DIR TXDATA|-\n";

static const char transact_help[] =
    "\n"
    "Transacts the EDN tx-data TXDATA (or stdin, with '-') into the database in DIR\n"
    "(created if missing) as one transaction, and prints the report:\n"
    "  {:tx 4398046511105\n"
    "   :tempids {\"ivan\" 1}\n"
    "   :tx-data [[1 :name \"Ivan\" true]\n"
    "             [1 :age 25 true]]}\n"
    "Each tx-data entry is [entity :attribute value added?].  Datoms about the\n"
    "transaction entity itself (its :db/txInstant, tx metadata) are left out, so\n"
    "the report compares directly with DataScript's; --tx includes them.\n"
    "\n"
    "Options:\n"
    "  --tx              include the datoms of transaction entities\n"
    "  --closed-schema   an attribute the schema does not declare is an error (exit\n"
    "                    3) instead of being created, typed by its first value\n"
    "\n" CLI_EXIT_HELP;

/* Prints the report of a transaction. */
static int print_report(const char *cmd, dt_report *rep, int with_tx) {
    printf("{:tx %lld\n :tempids ", (long long)dt_report_tx(rep));
    int rc = cli_print_value(stdout, dt_report_tempids(rep));
    if (rc != DT_OK) return cli_fail(cmd, rc, "cannot print the tempids: %s", dt_errmsg(NULL));
    printf("\n :tx-data [");
    size_t n = dt_report_count(rep), shown = 0;
    for (size_t i = 0; i < n; i++) {
        dt_datom d;
        if ((rc = dt_report_datom(rep, i, &d)) != DT_OK)
            return cli_fail(cmd, rc, "report: %s", dt_errmsg(rep));
        if (!with_tx && d.e >= DT_TX0) continue;
        if (shown++) printf("\n           ");
        if ((rc = print_datom(stdout, &d, 1)) != DT_OK)
            return cli_fail(cmd, rc, "cannot print a datom: %s", dt_errmsg(NULL));
    }
    printf("]}\n");
    return CLI_OK;
}

int cmd_transact(int argc, char **argv) {
    cli_cmd c = CLI_CMD("transact", transact_usage, transact_help, 0, NULL);
    const char *cmd = c.name;
    int with_tx = 0, closed = 0;
    cli_opt opts[] = {
        {"tx", 0, NULL, &with_tx}, {"closed-schema", 0, NULL, &closed}, {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code == CLI_OK) code = cli_cmd_args(&c, 2, "DIR", "TXDATA", NULL);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    cli_input in = {0};
    const char *text = c.pos[1], *where = "";
    size_t text_len = strlen(text);
    if (!strcmp(c.pos[1], "-")) {
        if ((code = cli_input_read(cmd, "-", 1, &in)) != CLI_OK) return cli_cmd_end(&c, code);
        text = in.data;
        text_len = in.len; /* all of it: a NUL byte is an error, not the end */
        where = "<stdin>: ";
    }
    if ((code = cli_cmd_open(&c, c.pos[0],
                             CLI_OPEN_WRITE | (closed ? CLI_OPEN_CLOSED_SCHEMA : 0))) == CLI_OK) {
        dt_report *rep = NULL;
        int rc = dt_transact_text(c.conn, text, text_len, &rep);
        if (rc != DT_OK)
            code = cli_fail(cmd, rc, "%s%s%s", where, dt_errmsg(c.conn),
                            (*where == '\0' && access(c.pos[1], R_OK) == 0)
                                ? " (TXDATA is EDN text; to read a file: transact DIR - < FILE)"
                                : "");
        else
            code = print_report(cmd, rep, with_tx);
        dt_report_close(rep);
    }
    code = cli_cmd_end(&c, code);
    cli_input_free(&in);
    return code;
}

/* }====== */

/* {====== import ====== */

static const char import_usage[] =
    "usage: datolite import [--batch N] [--closed-schema] [--quiet] DIR FILE|-\n";

static const char import_help[] =
    "\n"
    "Transacts a large EDN tx-data file (one vector of forms: entity maps, [:db/add\n"
    "...] lists) into the database in DIR (created if missing), N forms per\n"
    "transaction.  Tempids are shared by all batches: a tempid used in two batches\n"
    "names one entity.  On an error the batches before it stay committed.\n"
    "Prints {:transactions N} on stdout and a timing line on stderr.\n"
    "\n"
    "Options:\n"
    "  --batch N         forms per transaction (default 10000)\n"
    "  --closed-schema   an undeclared attribute is an error (exit 3)\n"
    "  --quiet           no timing line\n"
    "\n" CLI_EXIT_HELP;

/* The progress of an import: a thread that watches the transactions it
 * commits (the snapshot's basis tx) while dt_import_edn runs. */
struct import_watch {
    dt_conn *conn;
    cli_progress prog;
    int64_t start;
    volatile int stop;
};

static void *import_watch_run(void *arg) {
    struct import_watch *w = arg;
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        usleep(100000);
        dt_db *db = NULL;
        if (dt_conn_db(w->conn, &db) != DT_OK) continue;
        int64_t basis = dt_db_basis_tx(db);
        dt_db_close(db);
        if (basis > w->start) cli_progress_update(&w->prog, (uint64_t)(basis - w->start));
    }
    return NULL;
}

int cmd_import(int argc, char **argv) {
    cli_cmd c = CLI_CMD("import", import_usage, import_help, 0, NULL);
    const char *cmd = c.name;
    const char *batch_s = NULL;
    int quiet = 0, closed = 0;
    cli_opt opts[] = {{"batch", 1, &batch_s, NULL},
                      {"quiet", 0, NULL, &quiet},
                      {"closed-schema", 0, NULL, &closed},
                      {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    uint64_t batch = 0;
    if (batch_s && (cli_parse_count(batch_s, &batch) != 0 || batch == 0))
        return cli_cmd_end(&c,
                           cli_usage_error(cmd, import_usage,
                                           "--batch needs a positive count, got '%s'", batch_s));
    if ((code = cli_cmd_args(&c, 2, "DIR", "FILE", NULL)) != CLI_OK) return cli_cmd_end(&c, code);
    cli_input in = {0};
    if ((code = cli_input_read(cmd, c.pos[1], 0, &in)) != CLI_OK) return cli_cmd_end(&c, code);
    dt_conn *conn = NULL;
    if ((code = cli_cmd_open(&c, c.pos[0],
                             CLI_OPEN_WRITE | (closed ? CLI_OPEN_CLOSED_SCHEMA : 0))) == CLI_OK) {
        conn = c.conn;
        double t0 = cli_now();
        uint64_t ntx = 0;
        struct import_watch w;
        memset(&w, 0, sizeof w);
        w.conn = conn;
        pthread_t th;
        int watching = 0;
        cli_progress_start(&w.prog, cmd, "transactions committed", 0, quiet);
        if (w.prog.on) {
            dt_db *db = NULL;
            if (dt_conn_db(conn, &db) == DT_OK) {
                w.start = dt_db_basis_tx(db);
                if (w.start == 0) w.start = DT_TX0; /* no transaction yet */
                dt_db_close(db);
                watching = pthread_create(&th, NULL, import_watch_run, &w) == 0;
            }
        }
        int rc = dt_import_edn(conn, in.data, in.len, (size_t)batch, &ntx);
        if (watching) {
            __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
            pthread_join(th, NULL);
        }
        cli_progress_end(&w.prog);
        if (rc != DT_OK) {
            code = cli_fail(cmd, rc, "%s: %s (batches before the failing one stay committed)",
                            in.name, dt_errmsg(conn));
        } else {
            printf("{:transactions %llu}\n", (unsigned long long)ntx);
            if (!quiet)
                fprintf(stderr, "import: %s: %llu transaction%s in %.3f s\n", in.name,
                        (unsigned long long)ntx, ntx == 1 ? "" : "s", cli_now() - t0);
        }
    }
    code = cli_cmd_end(&c, code);
    cli_input_free(&in);
    return code;
}

/* }====== */

/* {====== init-db, fill-db ====== */

static const char init_usage[] =
    "usage: datolite init-db [--format edn|msgpack] [--schema FILE] [--closed-schema]\n"
    "                        [--chunk-size BYTES] [--quiet] DIR FILE|-\n";
static const char fill_usage[] =
    "usage: datolite fill-db [--format edn|msgpack] [--schema FILE] [--closed-schema] [--quiet]\n"
    "                        DIR FILE|-\n";

static const char load_help[] =
    "\n"
    "Bulk-loads prepared datoms with explicit entity ids straight into the indexes,\n"
    "without tempids or upserts (values are still checked against the schema), in\n"
    "one transaction: on any error nothing is written.  init-db needs a database\n"
    "without datoms (else it exits with 3); fill-db adds to an existing one, skips\n"
    "datoms already present and refuses (exit 3) a second value of a\n"
    "cardinality-one attribute or a taken unique value.\n"
    "\n"
    "Input: EDN [e :attr value] vectors, one after another or inside one vector;\n"
    "or msgpack, a sequence of arrays [e attr value] (attr a keyword ext or a\n"
    "string).  Prints {:datoms N} (the datoms written) on stdout and a timing line\n"
    "on stderr.\n"
    "\n"
    "Options:\n"
    "  --format F    edn or msgpack; default: msgpack for *.msgpack and *.mp files,\n"
    "                else edn\n"
    "  --schema FILE an EDN schema map applied first (its own transaction)\n"
    "  --chunk-size BYTES  init-db: commit after this many bytes of index entries\n"
    "                (default 64 MiB; other writers of the database are refused\n"
    "                until the last chunk)\n"
    "  --closed-schema  an attribute the schema does not declare is an error\n"
    "                (exit 3) instead of being created, typed by its values\n"
    "  --quiet       no timing line\n"
    "\n" CLI_EXIT_HELP;

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Feeds a msgpack file ("-": stdin) to the loader block by block, so the
 * process holds one block and a cut-off datom, never the whole file.
 * DT_OK, the loader's code, or DT_IO (message in *why).
 */
#define LOAD_BLOCK ((size_t)8 << 20)

static int load_msgpack_stream(dt_loader *ld, const char *cmd, const char *path, int quiet,
                               const char **why) {
    int fd = strcmp(path, "-") ? open(path, O_RDONLY) : STDIN_FILENO;
    *why = NULL;
    if (fd < 0) {
        *why = strerror(errno);
        return DT_IO;
    }
    /* progress in bytes read (of the file's size when it has one) */
    struct stat st;
    uint64_t total = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    cli_progress prog;
    cli_progress_start(&prog, cmd, "bytes read", total, quiet);
    uint64_t done = 0;
    size_t cap = LOAD_BLOCK, len = 0;
    char *buf = malloc(cap);
    int rc = buf ? DT_OK : DT_NOMEM;
    while (rc == DT_OK) {
        if (len == cap) { /* one datom larger than the buffer */
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = DT_NOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            *why = strerror(errno);
            rc = DT_IO;
            break;
        }
        if (got == 0) { /* the end: what is left must be complete */
            rc = dt_loader_add_msgpack(ld, buf, len);
            break;
        }
        len += (size_t)got;
        done += (uint64_t)got;
        cli_progress_update(&prog, done);
        size_t used = 0;
        rc = dt_loader_add_msgpack_part(ld, buf, len, &used);
        if (rc == DT_OK && used) {
            memmove(buf, buf + used, len - used);
            len -= used;
        }
    }
    cli_progress_end(&prog);
    free(buf);
    if (fd != STDIN_FILENO) close(fd);
    return rc;
}

static int bulk_load(const char *cmd, const char *usage, dt_load_mode mode, int argc, char **argv) {
    cli_cmd c = CLI_CMD(cmd, usage, load_help, CLI_TAKES_FORMAT, "edn or msgpack");
    const char *schema = NULL, *chunk_s = NULL;
    int quiet = 0, closed = 0;
    cli_opt opts[] = {{"schema", 1, &schema, NULL},
                      {"chunk-size", 1, &chunk_s, NULL},
                      {"closed-schema", 0, NULL, &closed},
                      {"quiet", 0, NULL, &quiet},
                      {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    dt_load_options lo = DT_LOAD_OPTIONS_INIT;
    uint64_t chunk = 0;
    if (chunk_s && (cli_parse_count(chunk_s, &chunk) != 0 || chunk == 0 || chunk > SIZE_MAX))
        return cli_cmd_end(&c, cli_usage_error(cmd, usage,
                                               "--chunk-size needs a positive byte count, got '%s'",
                                               chunk_s));
    lo.chunk_size = (size_t)chunk;
    if ((code = cli_cmd_args(&c, 2, "DIR", "FILE", NULL)) != CLI_OK) return cli_cmd_end(&c, code);
    char **pos = c.pos;
    int msgpack = c.format ? !strcmp(c.format, "msgpack")
                           : (ends_with(pos[1], ".msgpack") || ends_with(pos[1], ".mp"));
    cli_input in = {0}, sch = {0};
    dt_conn *conn = NULL;
    dt_loader *ld = NULL;
    if (schema && (code = cli_input_read(cmd, schema, 1, &sch)) != CLI_OK) goto done;
    if (msgpack) { /* streamed below; only check that it can be read */
        in.name = strcmp(pos[1], "-") ? pos[1] : "<stdin>";
        if (strcmp(pos[1], "-") && access(pos[1], R_OK) != 0) {
            int e = errno;
            code = cli_fail(cmd, e == ENOENT ? DT_NOTFOUND : DT_IO, "%s: %s", pos[1], strerror(e));
            goto done;
        }
    } else if ((code = cli_input_read(cmd, pos[1], 0, &in)) != CLI_OK) {
        goto done;
    }
    if ((code = cli_cmd_open(&c, pos[0], CLI_OPEN_WRITE | (closed ? CLI_OPEN_CLOSED_SCHEMA : 0))) !=
        CLI_OK)
        goto done;
    conn = c.conn;
    int rc;
    if (schema && (rc = dt_conn_update_schema_text(conn, sch.data, sch.len)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s: %s", sch.name, dt_errmsg(conn));
        goto done;
    }
    double t0 = cli_now();
    if ((rc = dt_loader_open(conn, mode, &lo, &ld)) != DT_OK) {
        /* init-db on a database that has datoms: refused by the data */
        if (rc == DT_MISUSE && mode == DT_LOAD_INIT)
            code = cli_fail(cmd, DT_CONFLICT, "%s (fill-db adds to a database)",
                            loader_msg(NULL, conn));
        else
            code = cli_fail(cmd, rc, "%s", loader_msg(NULL, conn));
        goto done;
    }
    const char *why = NULL;
    rc = msgpack ? load_msgpack_stream(ld, cmd, pos[1], quiet, &why)
                 : dt_loader_add_edn(ld, in.data, in.len);
    if (rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s: %s", in.name, why ? why : loader_msg(ld, conn));
        goto done;
    }
    uint64_t count = 0;
    if ((rc = dt_loader_finish(ld, &count)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s: %s", in.name, loader_msg(ld, conn));
        goto done;
    }
    printf("{:datoms %llu}\n", (unsigned long long)count);
    if (!quiet)
        fprintf(stderr, "%s: %s: %llu datom%s in %.3f s\n", cmd, in.name, (unsigned long long)count,
                count == 1 ? "" : "s", cli_now() - t0);
done:
    dt_loader_close(ld);
    code = cli_cmd_end(&c, code);
    cli_input_free(&in);
    cli_input_free(&sch);
    return code;
}

int cmd_init_db(int argc, char **argv) {
    return bulk_load("init-db", init_usage, DT_LOAD_INIT, argc, argv);
}

int cmd_fill_db(int argc, char **argv) {
    return bulk_load("fill-db", fill_usage, DT_LOAD_FILL, argc, argv);
}

/* }====== */

/* {====== datoms ====== */

static const char datoms_usage[] =
    "usage: datolite datoms [--format lines|edn|json|csv|table] [--tx] [--limit N]\n"
    "                       [--as-of T] [--since T] [--history] DIR eav|ave [COMPONENT...]\n";

static const char datoms_help[] =
    "\n"
    "Prints the datoms of the EAV or AVE index of the database in DIR whose leading\n"
    "components equal the given ones, in index order.  Components are EDN: for eav\n"
    "an entity (id, ident keyword or lookup ref), an attribute, a value; for ave an\n"
    "attribute, a value, an entity:\n"
    "  datolite datoms db eav 1\n"
    "  datolite datoms db ave :user/name '\"Ivan\"'\n"
    "  datolite datoms db eav '[:user/email \"ivan@example.com\"]'\n"
    "Datoms of transaction entities (:db/txInstant, tx metadata) are left out, as in\n"
    "DataScript's datoms; --tx includes them.\n"
    "\n"
    "Output formats:\n"
    "  lines   (default) one [e :attr value tx] EDN vector per line\n"
    "  edn     one EDN vector holding every [e :attr value tx] vector\n"
    "  json    one JSON array of [e, \":attr\", value, tx] arrays (docs/cli.md mapping)\n"
    "  csv     a header row e,a,v,tx and one row per datom\n"
    "  table   aligned columns e | a | v | tx\n"
    "\n"
    "Options:\n"
    "  --format F  lines, edn, json, csv or table\n"
    "  --tx        include the datoms of transaction entities\n"
    "  --limit N   print at most N datoms\n" CLI_TIME_HELP
    "With --history each datom prints as [e :attr value tx added] (lines, edn).\n"
    "\n" CLI_EXIT_HELP;

/* Datoms in the JSON, CSV or table format (format.c): gathered first, as
 * a table sizes its columns from every row. */
static const dt_value *datom_cell(void *ud, size_t r, size_t c) {
    return &((const dt_value *)ud)[r * 4 + c];
}

static int datoms_grid(const char *cmd, dt_datom_iter *it, int fmt, int with_tx, uint64_t limit) {
    dt_value all = DT_VALUE_NIL;
    size_t n = 0, cap = 0;
    dt_value *cells = NULL;
    dt_datom d;
    int rc = DT_OK, code = CLI_OK;
    while (n < limit && (rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (!with_tx && d.e >= DT_TX0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            dt_value *p = realloc(cells, cap * 4 * sizeof *p);
            if (!p) {
                rc = DT_NOMEM;
                break;
            }
            cells = p;
        }
        dt_value *row = cells + n * 4;
        dt_value_long(d.e, &row[0]);
        dt_value_text(DT_KEYWORD, d.a, strlen(d.a), &row[1]);
        dt_value_copy(&d.v, &row[2]);
        dt_value_long(d.tx, &row[3]);
        n++;
    }
    if (rc != DT_ROW && rc != DT_DONE && rc != DT_OK) {
        code = cli_fail(cmd, rc, "%s", rc == DT_NOMEM ? "out of memory" : dt_errmsg(it));
    } else if (fmt == CLI_FMT_JSON || fmt == CLI_FMT_EDN) {
        if (dt_value_seq(DT_VECTOR, n, &all) == DT_OK) {
            for (size_t i = 0; i < n; i++) {
                dt_value *x = &all.u.seq.items[i];
                if (dt_value_seq(DT_VECTOR, 4, x) != DT_OK) break;
                memcpy(x->u.seq.items, cells + i * 4, 4 * sizeof *cells);
                memset(cells + i * 4, 0, 4 * sizeof *cells);
            }
            cli_sb b = {0};
            cli_json(&b, &all);
            if (b.s) printf("%s\n", b.s);
            cli_sb_free(&b);
        }
    } else {
        static const char *const head[] = {"e", "a", "v", "tx"};
        cli_grid g = {head, 4, n, datom_cell, cells, 0, 0};
        if ((rc = cli_grid_print(stdout, fmt, &g, SIZE_MAX)) != DT_OK)
            code = cli_fail(cmd, rc, "cannot print");
    }
    for (size_t i = 0; i < n * 4; i++) dt_value_free(&cells[i]);
    free(cells);
    dt_value_free(&all);
    return code;
}

int cmd_datoms(int argc, char **argv) {
    cli_cmd c = CLI_CMD("datoms", datoms_usage, datoms_help,
                        CLI_TAKES_FORMAT | CLI_TAKES_TIME | CLI_TAKES_HISTORY,
                        "lines, edn, json, csv or table");
    const char *cmd = c.name;
    const char *limit_s = NULL;
    int with_tx = 0;
    cli_opt opts[] = {
        {"tx", 0, NULL, &with_tx}, {"limit", 1, &limit_s, NULL}, {NULL, 0, NULL, NULL}};
    int code = cli_cmd_start(&c, argc, argv, opts);
    if (code != CLI_OK) return cli_cmd_end(&c, code);
    /* lines (the default) and edn print datoms; the others a grid */
    int grid_fmt = c.fmt == CLI_FMT_EDN ? -1 : c.fmt;
    int as_vector = c.fmt == CLI_FMT_EDN;
    uint64_t limit = UINT64_MAX;
    if (limit_s && cli_parse_count(limit_s, &limit) != 0)
        return cli_cmd_end(
            &c, cli_usage_error(cmd, datoms_usage, "--limit needs a count, got '%s'", limit_s));
    if ((code = cli_cmd_args(&c, -1, "DIR", "index (eav or ave)", NULL)) != CLI_OK)
        return cli_cmd_end(&c, code);
    char **pos = c.pos;
    dt_index index;
    if (!strcmp(pos[1], "eav") || !strcmp(pos[1], "EAV")) {
        index = DT_INDEX_EAV;
    } else if (!strcmp(pos[1], "ave") || !strcmp(pos[1], "AVE")) {
        index = DT_INDEX_AVE;
    } else {
        return cli_cmd_end(
            &c, cli_usage_error(cmd, datoms_usage, "unknown index '%s' (eav or ave)", pos[1]));
    }
    size_t ncomp = (size_t)c.npos - 2;
    if (ncomp > 3)
        return cli_cmd_end(
            &c, cli_usage_error(cmd, datoms_usage, "at most 3 components, got %zu", ncomp));
    static const char *const names[2][3] = {{"entity", "attribute", "value"},
                                            {"attribute", "value", "entity"}};
    dt_value comps[3] = {DT_VALUE_NIL, DT_VALUE_NIL, DT_VALUE_NIL};
    dt_datom_iter *it = NULL;
    for (size_t i = 0; i < ncomp; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s component '%s'", names[index][i], pos[2 + i]);
        if ((code = cli_edn_arg(cmd, what, pos[2 + i], &comps[i])) != CLI_OK) goto done;
    }
    if ((code = cli_cmd_open(&c, pos[0], CLI_OPEN_SNAPSHOT)) != CLI_OK) goto done;
    dt_db *db = c.db;
    int rc;
    if ((rc = dt_db_datoms(db, index, comps, ncomp, &it)) != DT_OK) {
        code = cli_fail(cmd, rc, "%s", dt_errmsg(db));
        goto done;
    }
    uint64_t shown = 0;
    dt_datom d;
    if (grid_fmt >= 0) {
        code = datoms_grid(cmd, it, grid_fmt, with_tx, limit);
        goto done;
    }
    if (as_vector) putchar('[');
    while (shown < limit && (rc = dt_datom_iter_next(it, &d)) == DT_ROW) {
        if (!with_tx && d.e >= DT_TX0) continue;
        if (as_vector && shown) fputs("\n ", stdout);
        if ((rc = print_datom(stdout, &d, c.time.history ? 2 : 0)) != DT_OK) {
            code = cli_fail(cmd, rc, "cannot print a datom: %s", dt_errmsg(NULL));
            goto done;
        }
        if (!as_vector) putchar('\n');
        shown++;
    }
    if (as_vector) fputs("]\n", stdout);
    /* DT_OK: stopped by --limit after printing a datom */
    if (rc != DT_ROW && rc != DT_DONE && rc != DT_OK)
        code = cli_fail(cmd, rc, "%s", *dt_errmsg(it) ? dt_errmsg(it) : dt_errmsg(db));
done:
    dt_datom_iter_close(it);
    code = cli_cmd_end(&c, code);
    for (size_t i = 0; i < 3; i++) dt_value_free(&comps[i]);
    return code;
}

/* }====== */
