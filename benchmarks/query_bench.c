/*
 * query_bench.c -- Datalog queries and pulls through the public API, side
 * by side with their peers in one run (benchmarks/README.md, "query_bench"):
 *
 *   people   DataScript's own benchmark workloads (bench/README.md of the
 *            shared data folder): q1-q4, qpred1, qpred2 on people20k, the
 *            recursive `follows` rules on the wide and long databases, and
 *            three pulls on bench-wide-4x5.  Four implementations, run
 *            interleaved workload by workload:
 *              datolite    a prepared query (dt_query_prepare once,
 *                          dt_query_run + dt_result_count + dt_result_free
 *                          per call), or dt_pull_in (the pattern text
 *                          read and compiled per call, the result in an
 *                          arena reset after each call);
 *              datascript  the npm package in a node child process
 *                          (peers/datascript_peer.js), calling its query
 *                          function on already-parsed queries;
 *              sqlite      the same datoms in one EAV table in memory,
 *                          indexes (e,a,v) and (a,v,e), the questions in
 *                          SQL (a recursive CTE for the rules, prepared
 *                          statements per entity for the pulls);
 *              floor       a hand-written loop over Datolite's own datom
 *                          cursor (datalog/index.h) with the best access
 *                          path for each question.
 *   movies   the mini-JOB queries (bench/movies/): Datolite through the
 *            public API against SQLite on normalized tables with indexes
 *            (loaded by the folder's sqlite_bench.py), results checked
 *            against expected/ as sets.
 *
 * A run of one implementation calls it until T ms have passed (at least
 * once) and keeps the median time per call; runs alternate between the
 * implementations (the order rotates every run), and the reported ratio
 * is the median of the per-run ratios, with their minimum and maximum.
 * Times are wall-clock (the peer is another process).  Row counts of
 * every implementation are checked against the listed ones before timing.
 *
 * usage: query_bench [-r runs] [-t ms] [-d tmpdir] [-s shared-dir]
 *                    [-w workload,...] [--no-peer] [-m movies-data-dir]
 *                    [-q queries.edn ...] [people|movies|all]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec.h"
#include "datolite.h"
#include "db.h"
#include "index.h"
#include "schema.h"

#ifndef DT_BENCH_SHARED_DIR
#define DT_BENCH_SHARED_DIR "../shared"
#endif
#ifndef DT_BENCH_PEERS_DIR
#define DT_BENCH_PEERS_DIR "benchmarks/peers"
#endif

/* Implementations of the people workloads. */
enum { I_DT, I_DS, I_SQL, I_FLOOR, NIMPL };
static const char *impl_names[NIMPL] = {"datolite", "datascript", "sqlite", "floor"};

static int g_runs = 7;       /* measured runs per workload */
static double g_ms = 150;    /* length of one run */
static const char *g_tmp;    /* databases go below it */
static const char *g_shared; /* the shared data folder */
static const char *g_only;   /* comma-separated workload ids, or NULL */
static int g_no_peer;        /* --no-peer */
static int g_failed;         /* a check failed: exit status 1 */
static volatile uint64_t sink;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "query_bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = xmalloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read %s", path);
    buf[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s;
    if (vasprintf(&s, f, ap) < 0) die("out of memory");
    va_end(ap);
    return s;
}

static double median(double *v, size_t n) {
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int selected(const char *id) {
    if (!g_only) return 1;
    size_t n = strlen(id);
    for (const char *p = g_only; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == n && memcmp(p, id, n) == 0) return 1;
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

/* Leaf values of a value tree (maps: their values; sequences: items). */
static size_t leaves(const dt_value *v) {
    switch (v->type) {
    case DT_NIL:
        return 0;
    case DT_MAP: {
        size_t s = 0;
        for (size_t i = 1; i < v->u.seq.n; i += 2) s += leaves(&v->u.seq.items[i]);
        return s;
    }
    case DT_VECTOR:
    case DT_LIST:
    case DT_SET:
    case DT_TUPLE: {
        size_t s = 0;
        for (size_t i = 0; i < v->u.seq.n; i++) s += leaves(&v->u.seq.items[i]);
        return s;
    }
    default:
        return 1;
    }
}

/* {====== Datolite databases ====== */

typedef struct dataset {
    const char *name; /* "people", "wide-4x5", ... */
    char *file;       /* the EDN tx-data */
    dt_conn *conn;
    dt_db *db;    /* one snapshot for the whole run */
    sqlite3 *sql; /* the EAV copy */
    int used;
} dataset;

static const char *dataset_names[] = {"people",   "wide-3x3",  "wide-5x3",  "wide-7x3", "wide-4x6",
                                      "wide-4x5", "long-10x3", "long-30x3", "long-30x5"};
enum { NDATASETS = sizeof dataset_names / sizeof dataset_names[0] };
static dataset datasets[NDATASETS];

static dataset *dataset_get(const char *name) {
    for (int i = 0; i < NDATASETS; i++)
        if (strcmp(datasets[i].name, name) == 0) return &datasets[i];
    die("no dataset %s", name);
    return NULL;
}

static void dt_load(dataset *ds, const char *schema) {
    char *dir = fmt("%s/%s", g_tmp, ds->name);
    bench_rm_rf(dir);
    int rc = dt_conn_open(dir, schema, NULL, &ds->conn);
    if (rc != DT_OK) die("dt_conn_open %s: %s", dir, dt_errmsg(NULL));
    size_t len;
    char *text = read_file(ds->file, &len);
    double t0 = bench_now();
    if ((rc = dt_import_edn(ds->conn, text, len, 0, NULL)) != DT_OK)
        die("import %s: %s", ds->file, dt_errmsg(ds->conn));
    fprintf(stderr, "datolite: %s loaded in %.2f s\n", ds->name, bench_now() - t0);
    free(text);
    if ((rc = dt_conn_db(ds->conn, &ds->db)) != DT_OK) die("dt_conn_db: %s", dt_errmsg(ds->conn));
    free(dir);
}

/* }====== */

/* {====== SQLite: the EAV copy ====== */

static void sql_exec(sqlite3 *s, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(s, sql, NULL, NULL, &err) != SQLITE_OK) die("sqlite: %s: %s", sql, err);
}

static sqlite3_stmt *sql_prepare(sqlite3 *s, const char *sql) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(s, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        die("sqlite prepare: %s: %s", sql, sqlite3_errmsg(s));
    return st;
}

/* Copies every user datom of the Datolite snapshot (attributes outside
 * the db namespace) into a fresh in-memory EAV table: longs and refs as
 * integers, strings as text, keywords as ":text". */
static void sql_load(dataset *ds) {
    sqlite3 *s;
    if (sqlite3_open(":memory:", &s) != SQLITE_OK) die("sqlite3_open");
    sql_exec(s, "CREATE TABLE eav (e INTEGER NOT NULL, a TEXT NOT NULL, v,"
                " PRIMARY KEY (e, a, v)) WITHOUT ROWID");
    sql_exec(s, "BEGIN");
    sqlite3_stmt *ins = sql_prepare(s, "INSERT INTO eav (e, a, v) VALUES (?1, ?2, ?3)");
    const dl_schema *sch = dl_db_schema(ds->db);
    dl_cursor c;
    int rc = dl_cursor_open(&c, dl_db_store(ds->db), dl_db_txn(ds->db), DL_INDEX_EAV);
    if (rc != DT_OK) die("dl_cursor_open");
    dl_ikey from = {0, 0, 0, NULL, 0};
    if ((rc = dl_cursor_seek(&c, &from, 0, NULL)) != DT_OK) die("seek");
    dl_datom d;
    size_t n = 0;
    while ((rc = dl_cursor_next(&c, &d)) == DT_ROW) {
        const dl_attr *a = dl_schema_by_aid(sch, d.aid);
        if (!a || (a->ident_len > 3 && memcmp(a->ident, "db/", 3) == 0)) continue;
        if (a->ident_len >= 3 && memcmp(a->ident, "db.", 3) == 0) continue;
        dt_value v;
        size_t used;
        if (dl_codec_decode(d.v, d.vlen, &v, &used) != DT_OK) die("decode");
        sqlite3_bind_int64(ins, 1, d.e);
        sqlite3_bind_text(ins, 2, a->ident, (int)a->ident_len, SQLITE_TRANSIENT);
        switch (v.type) {
        case DT_LONG:
        case DT_REF:
            sqlite3_bind_int64(ins, 3, v.u.i);
            break;
        case DT_STRING:
            sqlite3_bind_text(ins, 3, v.u.s.ptr, (int)v.u.s.len, SQLITE_TRANSIENT);
            break;
        case DT_KEYWORD: {
            char *k = fmt(":%s", v.u.s.ptr);
            sqlite3_bind_text(ins, 3, k, -1, free);
            break;
        }
        default:
            die("unexpected value type %s", dt_type_name(v.type));
        }
        dt_value_free(&v);
        if (sqlite3_step(ins) != SQLITE_DONE) die("insert: %s", sqlite3_errmsg(s));
        sqlite3_reset(ins);
        n++;
    }
    if (rc != DT_DONE) die("cursor");
    dl_cursor_close(&c);
    sqlite3_finalize(ins);
    sql_exec(s, "COMMIT");
    sql_exec(s, "CREATE INDEX ave ON eav (a, v, e)");
    sql_exec(s, "ANALYZE");
    fprintf(stderr, "sqlite: %s: %zu datoms\n", ds->name, n);
    ds->sql = s;
}

/* }====== */

/* {====== The DataScript peer ====== */

static struct {
    pid_t pid;
    FILE *to, *from;
    int ok;
    char note[256];
    char *line;
    size_t cap;
} peer;

/* Sends one JSON line and reads the reply line (peer.line). */
static const char *peer_ask(const char *json) {
    if (fprintf(peer.to, "%s\n", json) < 0 || fflush(peer.to) != 0) die("the peer went away");
    if (getline(&peer.line, &peer.cap, peer.from) <= 0) die("the peer went away");
    if (strstr(peer.line, "\"error\"")) die("datascript peer: %s", peer.line);
    return peer.line;
}

static double json_num(const char *json, const char *key) {
    char *k = fmt("\"%s\":", key);
    const char *p = strstr(json, k);
    free(k);
    if (!p) die("peer reply without %s: %s", key, json);
    return strtod(p + strlen(key) + 3, NULL);
}

/* JSON string literal of s (malloc'd). */
static char *json_str(const char *s) {
    size_t n = strlen(s), o = 0;
    char *out = xmalloc(n * 6 + 3);
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o++] = '"';
    out[o] = 0;
    return out;
}

static int have_node(void) { return system("command -v node >/dev/null 2>&1") == 0; }

static void peer_start(void) {
    const char *peers = getenv("DT_BENCH_PEERS") ? getenv("DT_BENCH_PEERS") : DT_BENCH_PEERS_DIR;
    if (g_no_peer) {
        snprintf(peer.note, sizeof peer.note, "DataScript skipped (--no-peer)");
        return;
    }
    if (!have_node()) {
        snprintf(peer.note, sizeof peer.note,
                 "DataScript skipped: node is not installed (apt-get install nodejs npm, then"
                 " npm install in benchmarks/peers)");
        return;
    }
    char *mod = fmt("%s/node_modules/datascript/package.json", peers);
    if (access(mod, R_OK) != 0) {
        snprintf(peer.note, sizeof peer.note,
                 "DataScript skipped: the npm package is not installed (npm install in %s)",
                 "benchmarks/peers");
        free(mod);
        return;
    }
    free(mod);
    char *script = fmt("%s/datascript_peer.js", peers);
    char *schema = fmt("%s/bench/bench-schema.edn", g_shared);
    char *argv[4 + NDATASETS];
    int ac = 0;
    argv[ac++] = "node";
    argv[ac++] = script;
    argv[ac++] = schema;
    for (int i = 0; i < NDATASETS; i++)
        if (datasets[i].used) argv[ac++] = fmt("%s=%s", datasets[i].name, datasets[i].file);
    argv[ac] = NULL;
    int in[2], out[2];
    if (pipe(in) || pipe(out)) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execvp("node", argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    peer.pid = pid;
    peer.to = fdopen(in[1], "w");
    peer.from = fdopen(out[0], "r");
    fprintf(stderr, "datascript: loading the datasets in node ...\n");
    if (getline(&peer.line, &peer.cap, peer.from) <= 0 || !strstr(peer.line, "\"ready\"")) {
        snprintf(peer.note, sizeof peer.note, "DataScript skipped: the peer did not start: %s",
                 peer.line ? peer.line : "(no output)");
        fclose(peer.to);
        fclose(peer.from);
        waitpid(pid, NULL, 0);
        return;
    }
    fprintf(stderr, "datascript: %s", peer.line);
    peer.ok = 1;
    const char *v = strstr(peer.line, "\"version\":\"");
    snprintf(peer.note, sizeof peer.note, "DataScript %.*s (npm) on node", v ? 5 : 1,
             v ? v + 11 : "?");
    for (int i = 4; i < ac; i++) free(argv[i]);
    free(script);
    free(schema);
}

static void peer_stop(void) {
    if (!peer.ok) return;
    fprintf(peer.to, "{\"quit\":true}\n");
    fclose(peer.to);
    fclose(peer.from);
    waitpid(peer.pid, NULL, 0);
    free(peer.line);
}

/* }====== */

/* {====== The people workloads ====== */

typedef enum wkind { W_QUERY, W_PULL } wkind;
typedef enum fkind {
    F_Q1,
    F_Q2,
    F_Q3,
    F_Q4,
    F_QPRED,
    F_RULES,
    F_PULL1,
    F_PULLMANY,
    F_PULLSTAR
} fkind;

typedef struct workload {
    const char *id;
    const char *db;
    wkind kind;
    const char *text;  /* query, or pull pattern */
    const char *input; /* EDN of the input after $ (or NULL) */
    long rows;         /* the listed row count, -1: none (checked across implementations) */
    const char *sql;
    fkind floor;
} workload;

/* A workload's prepared state (workload_state[i] for workloads[i]). */
typedef struct wstate {
    dataset *ds;
    dt_query *q;
    dt_input in[2];
    size_t nin;
    dt_value eid;
    sqlite3_stmt *st;
    size_t got[NIMPL]; /* rows each implementation returned */
} wstate;

static const char *RULES = "[[(follows ?x ?y) [?x :follows ?y]]"
                           " [(follows ?x ?y) [?x :follows ?t] (follows ?t ?y)]]";
static const char *RULES_Q = "[:find ?e ?e2 :in $ % :where (follows ?e ?e2)]";
static const char *RULES_SQL =
    "WITH RECURSIVE f(x, y) AS (SELECT e, v FROM eav WHERE a = 'follows'"
    " UNION SELECT f.x, t.v FROM f JOIN eav t ON t.e = f.y AND t.a = 'follows')"
    " SELECT x, y FROM f";

static workload workloads[] = {
    {"q1", "people", W_QUERY, "[:find ?e :where [?e :name \"Ivan\"]]", NULL, 2579,
     "SELECT e FROM eav WHERE a = 'name' AND v = 'Ivan'", F_Q1},
    {"q2", "people", W_QUERY, "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a]]", NULL, 2579,
     "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e = n.e AND g.a = 'age'"
     " WHERE n.a = 'name' AND n.v = 'Ivan'",
     F_Q2},
    {"q3", "people", W_QUERY,
     "[:find ?e ?a :where [?e :name \"Ivan\"] [?e :age ?a] [?e :sex :male]]", NULL, 1307,
     "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e = n.e AND g.a = 'age'"
     " JOIN eav s ON s.e = n.e AND s.a = 'sex' AND s.v = ':male'"
     " WHERE n.a = 'name' AND n.v = 'Ivan'",
     F_Q3},
    {"q4", "people", W_QUERY,
     "[:find ?e ?l ?a :where [?e :name \"Ivan\"] [?e :last-name ?l] [?e :age ?a] [?e :sex :male]]",
     NULL, 1307,
     "SELECT n.e, l.v, g.v FROM eav n JOIN eav l ON l.e = n.e AND l.a = 'last-name'"
     " JOIN eav g ON g.e = n.e AND g.a = 'age'"
     " JOIN eav s ON s.e = n.e AND s.a = 'sex' AND s.v = ':male'"
     " WHERE n.a = 'name' AND n.v = 'Ivan'",
     F_Q4},
    {"qpred1", "people", W_QUERY, "[:find ?e ?s :where [?e :salary ?s] [(> ?s 50000)]]", NULL,
     10085, "SELECT e, v FROM eav WHERE a = 'salary' AND v > 50000", F_QPRED},
    {"qpred2", "people", W_QUERY,
     "[:find ?e ?s :in $ ?min_s :where [?e :salary ?s] [(> ?s ?min_s)]]", "50000", 10085,
     "SELECT e, v FROM eav WHERE a = 'salary' AND v > ?1", F_QPRED},
    {"rules-wide-3x3", "wide-3x3", W_QUERY, NULL, NULL, 102, NULL, F_RULES},
    {"rules-wide-5x3", "wide-5x3", W_QUERY, NULL, NULL, 1641, NULL, F_RULES},
    {"rules-wide-7x3", "wide-7x3", W_QUERY, NULL, NULL, 21324, NULL, F_RULES},
    {"rules-wide-4x6", "wide-4x6", W_QUERY, NULL, NULL, 5910, NULL, F_RULES},
    {"rules-long-10x3", "long-10x3", W_QUERY, NULL, NULL, 165, NULL, F_RULES},
    {"rules-long-30x3", "long-30x3", W_QUERY, NULL, NULL, 1395, NULL, F_RULES},
    {"rules-long-30x5", "long-30x5", W_QUERY, NULL, NULL, 2325, NULL, F_RULES},
    {"pull-one", "wide-4x5", W_PULL, "[:name {:follows ...}]", NULL, -1, NULL, F_PULL1},
    {"pull-many", "wide-4x5", W_PULL, "[:db/id :last-name :alias :sex :age :salary {:follows ...}]",
     NULL, -1, NULL, F_PULLMANY},
    {"pull-wildcard", "wide-4x5", W_PULL, "[* {:follows ...}]", NULL, -1, NULL, F_PULLSTAR},
};
enum { NWORK = sizeof workloads / sizeof workloads[0] };
static wstate wstates[NWORK];
#define S(w) (&wstates[(w)-workloads])

/* -- Datolite through the public API -- */

/* The check call (check = 1) reports an error in dt_err and returns 0;
 * it has a deadline of 120 s.  A timed call that fails stops the program. */
static char dt_err[512];

static size_t datolite_call(workload *w, int check) {
    if (w->kind == W_QUERY) {
        dt_result *r;
        dt_query_options o = {DT_QUERY_OPTIONS_VERSION, check ? 120000 : 0, 0, DT_PLAN_AUTO, NULL};
        int rc = dt_query_run(S(w)->q, S(w)->in, S(w)->nin, check ? &o : NULL, &r);
        if (rc != DT_OK && check) {
            snprintf(dt_err, sizeof dt_err, "%s: %s", dt_errstr(rc), dt_errmsg(NULL));
            return 0;
        }
        if (rc != DT_OK) die("%s: dt_query_run: %s: %s", w->id, dt_errstr(rc), dt_errmsg(NULL));
        size_t n = dt_result_count(r);
        dt_result_free(r);
        return n;
    }
    static dt_arena *arena; /* the pulls' results, dropped after each call */
    if (!arena && dt_arena_new(&arena) != DT_OK) die("dt_arena_new: %s", dt_errmsg(NULL));
    dt_value out;
    int rc = dt_pull_in(S(w)->ds->db, w->text, strlen(w->text), &S(w)->eid, arena, &out);
    if (rc != DT_OK && check) {
        snprintf(dt_err, sizeof dt_err, "%s: %s", dt_errstr(rc), dt_errmsg(S(w)->ds->db));
        return 0;
    }
    if (rc != DT_OK) die("%s: dt_pull_in: %s: %s", w->id, dt_errstr(rc), dt_errmsg(S(w)->ds->db));
    size_t n = check ? leaves(&out) : 1;
    dt_arena_reset(arena);
    return n;
}

/* -- SQLite -- */

static sqlite3_stmt *st_attr;   /* values of (e, a) */
static sqlite3_stmt *st_ent;    /* a, v of e */
static sqlite3_stmt *st_lookup; /* e of [:id v] */

static size_t sql_query(workload *w) {
    sqlite3_stmt *st = S(w)->st;
    if (w->input) sqlite3_bind_int64(st, 1, atoll(w->input));
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int cols = sqlite3_column_count(st);
        for (int i = 0; i < cols; i++) {
            if (sqlite3_column_type(st, i) == SQLITE_TEXT)
                sink += (uint64_t)sqlite3_column_bytes(st, i) + *sqlite3_column_text(st, i);
            else
                sink += (uint64_t)sqlite3_column_int64(st, i);
        }
        n++;
    }
    if (rc != SQLITE_DONE) die("%s: sqlite: %s", w->id, sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
    return n;
}

/* The pulls as an application would write them on the EAV table: one
 * statement per entity (all its attributes), recursing into :follows. */
static size_t sql_pull(fkind k, int64_t e) {
    size_t n = 0, nk = 0, capk = 16;
    int64_t *kids = xmalloc(capk * sizeof *kids);
    sqlite3_stmt *st;
    if (k == F_PULL1) {
        st = st_attr;
        sqlite3_bind_int64(st, 1, e);
        sqlite3_bind_text(st, 2, "name", 4, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            sink += (uint64_t)sqlite3_column_bytes(st, 0) + *sqlite3_column_text(st, 0);
            n++;
        }
        sqlite3_reset(st);
        sqlite3_bind_text(st, 2, "follows", 7, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (nk == capk) kids = xrealloc(kids, (capk *= 2) * sizeof *kids);
            kids[nk++] = sqlite3_column_int64(st, 0);
        }
        sqlite3_reset(st);
    } else {
        st = st_ent;
        n = 1; /* :db/id */
        sqlite3_bind_int64(st, 1, e);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *a = (const char *)sqlite3_column_text(st, 0);
            if (strcmp(a, "follows") == 0) {
                if (nk == capk) kids = xrealloc(kids, (capk *= 2) * sizeof *kids);
                kids[nk++] = sqlite3_column_int64(st, 1);
                continue;
            }
            if (k == F_PULLMANY && strcmp(a, "last-name") && strcmp(a, "alias") &&
                strcmp(a, "sex") && strcmp(a, "age") && strcmp(a, "salary"))
                continue;
            if (sqlite3_column_type(st, 1) == SQLITE_TEXT)
                sink += (uint64_t)sqlite3_column_bytes(st, 1) + *sqlite3_column_text(st, 1);
            else
                sink += (uint64_t)sqlite3_column_int64(st, 1);
            n++;
        }
        sqlite3_reset(st);
    }
    for (size_t i = 0; i < nk; i++) n += sql_pull(k, kids[i]);
    free(kids);
    return n;
}

static size_t sql_call(workload *w) {
    if (w->kind == W_QUERY) return sql_query(w);
    sqlite3_bind_int64(st_lookup, 1, 1);
    if (sqlite3_step(st_lookup) != SQLITE_ROW) die("%s: [:id 1] not found", w->id);
    int64_t e = sqlite3_column_int64(st_lookup, 0);
    sqlite3_reset(st_lookup);
    return sql_pull(w->floor, e);
}

/* -- The floor: loops over Datolite's datom cursor -- */

static struct {
    uint32_t name, last_name, age, sex, salary, follows, id;
    uint8_t ivan[64], male[64], s50000[16], one[16];
    size_t ivan_len, male_len, s50000_len, one_len;
    uint32_t w_aid[8]; /* pull-many's attributes */
} fl;

/* Growable output of the floor: rows of up to 3 words (ids, longs, or
 * pointers to value bytes kept as views). */
static uint64_t *fout;
static size_t fout_n, fout_cap;

static inline void fpush(uint64_t a) {
    if (fout_n == fout_cap) fout = xrealloc(fout, (fout_cap = fout_cap ? fout_cap * 2 : 4096) * 8);
    fout[fout_n++] = a;
}

static void enc_value(const char *edn, uint8_t *dst, size_t *len) {
    dt_value v;
    if (dt_edn_read(edn, strlen(edn), &v) != DT_OK) die("edn %s", edn);
    size_t n;
    if (dt_value_encode_to(&v, dst, 64, &n) != DT_OK) die("encode %s", edn);
    *len = n;
    dt_value_free(&v);
}

static uint32_t aid_or0(dt_db *db, const char *ident) {
    const dl_attr *a = dl_schema_by_ident(dl_db_schema(db), ident, strlen(ident));
    return a ? a->aid : 0;
}

/* The attribute ids of the workload's database (each has its own). */
static void floor_init(dt_db *db) {
    fl.name = aid_or0(db, "name");
    fl.last_name = aid_or0(db, "last-name");
    fl.age = aid_or0(db, "age");
    fl.sex = aid_or0(db, "sex");
    fl.salary = aid_or0(db, "salary");
    fl.follows = aid_or0(db, "follows");
    fl.id = aid_or0(db, "id");
    const char *many[] = {"last-name", "alias", "sex", "age", "salary"};
    for (int i = 0; i < 5; i++) fl.w_aid[i] = aid_or0(db, many[i]);
    enc_value("\"Ivan\"", fl.ivan, &fl.ivan_len);
    enc_value(":male", fl.male, &fl.male_len);
    enc_value("50000", fl.s50000, &fl.s50000_len);
    enc_value("1", fl.one, &fl.one_len);
}

#define CK(x)                                                                                      \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != DT_OK) die("floor: %s: %d", #x, rc_);                                           \
    } while (0)

/* The entities whose `aid` has value enc, in id order (AVE). */
static void ave_eq(dl_cursor *c, uint32_t aid, const uint8_t *enc, size_t len) {
    dl_ikey k = {2, 0, aid, enc, len};
    CK(dl_cursor_seek(c, &k, 2, NULL));
}

/* q2-q4: the entities named "Ivan" (an AVE run, in id order) as a bitmap
 * over their id range, narrowed by the AVE run of :sex :male (q3, q4);
 * then one AVE scan per attribute the query reads (:last-name, :age),
 * probing the bitmap.  Scanning an attribute's 20,000 datoms costs less
 * than a seek per entity (an EAV seek per entity measured 6-30x slower
 * for q2 on the development machine). */
static uint64_t *fbits, *fbits2;
static const uint8_t **fln;
static size_t fbits_cap;

static size_t floor_people(dl_cursor *c, fkind k) {
    dl_datom d;
    ave_eq(c, fl.name, fl.ivan, fl.ivan_len);
    int64_t lo = -1, hi = -1;
    size_t n = 0;
    fout_n = 0;
    while (dl_cursor_next(c, &d) == DT_ROW) {
        if (lo < 0) lo = d.e;
        hi = d.e;
        size_t x = (size_t)(d.e - lo);
        if (x >= fbits_cap * 64) {
            size_t cap = (x / 64 + 1) * 2;
            fbits = xrealloc(fbits, cap * 8);
            fbits2 = xrealloc(fbits2, cap * 8);
            fln = xrealloc(fln, cap * 64 * sizeof *fln);
            memset(fbits + fbits_cap, 0, (cap - fbits_cap) * 8);
            memset(fbits2 + fbits_cap, 0, (cap - fbits_cap) * 8);
            memset(fln + fbits_cap * 64, 0, (cap - fbits_cap) * 64 * sizeof *fln);
            fbits_cap = cap;
        }
        fbits[x >> 6] |= 1ull << (x & 63);
    }
    if (lo < 0) return 0;
    size_t words = (size_t)(hi - lo) / 64 + 1;
    uint64_t *bits = fbits;
    if (k != F_Q2) {
        ave_eq(c, fl.sex, fl.male, fl.male_len);
        while (dl_cursor_next(c, &d) == DT_ROW) {
            if (d.e < lo || d.e > hi) continue;
            size_t x = (size_t)(d.e - lo);
            fbits2[x >> 6] |= fbits[x >> 6] & (1ull << (x & 63));
        }
        bits = fbits2;
    }
    dl_ikey key = {1, 0, fl.last_name, NULL, 0};
    if (k == F_Q4) {
        CK(dl_cursor_seek(c, &key, 1, NULL));
        while (dl_cursor_next(c, &d) == DT_ROW) {
            if (d.e < lo || d.e > hi) continue;
            size_t x = (size_t)(d.e - lo);
            if (bits[x >> 6] >> (x & 63) & 1) fln[x] = d.v; /* a view of the value */
        }
    }
    key.aid = fl.age;
    CK(dl_cursor_seek(c, &key, 1, NULL));
    while (dl_cursor_next(c, &d) == DT_ROW) {
        if (d.e < lo || d.e > hi) continue;
        size_t x = (size_t)(d.e - lo);
        if (!(bits[x >> 6] >> (x & 63) & 1) || (k == F_Q4 && !fln[x])) continue;
        fpush((uint64_t)d.e);
        if (k == F_Q4) fpush((uint64_t)(uintptr_t)fln[x]);
        fpush((uint64_t)dl_codec_get_int(d.v));
        n++;
    }
    memset(fbits, 0, words * 8);
    memset(fbits2, 0, words * 8);
    if (k == F_Q4) memset(fln, 0, words * 64 * sizeof *fln);
    return n;
}

/* rules: one AVE scan of :follows gives every edge; then a BFS from each
 * entity with edges over an in-memory adjacency, with a visited stamp. */
typedef struct {
    int64_t *keys;
    uint32_t *vals;
    size_t cap;
} idmap;

static uint32_t idmap_get(idmap *m, int64_t e, uint32_t *next) {
    size_t i = ((uint64_t)e * 0x9E3779B97F4A7C15ull) >> 40 & (m->cap - 1);
    while (m->keys[i] != 0) {
        if (m->keys[i] == e) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = e;
    m->vals[i] = (*next)++;
    return m->vals[i];
}

static size_t floor_rules(dl_cursor *c) {
    dl_ikey k = {1, 0, fl.follows, NULL, 0};
    CK(dl_cursor_seek(c, &k, 1, NULL));
    size_t ne = 0, cap = 1024;
    uint32_t *src = xmalloc(cap * 4), *dst = xmalloc(cap * 4);
    idmap m = {NULL, NULL, 1024};
    m.keys = calloc(m.cap, 8);
    m.vals = xmalloc(m.cap * 4);
    uint32_t nn = 0;
    dl_datom d;
    while (dl_cursor_next(c, &d) == DT_ROW) {
        if (ne == cap) {
            cap *= 2;
            src = xrealloc(src, cap * 4);
            dst = xrealloc(dst, cap * 4);
        }
        if ((size_t)nn * 2 + 4 >= m.cap) {
            idmap g = {calloc(m.cap * 2, 8), xmalloc(m.cap * 8), m.cap * 2};
            for (size_t i = 0; i < m.cap; i++)
                if (m.keys[i]) {
                    uint32_t dummy = m.vals[i];
                    size_t j = ((uint64_t)m.keys[i] * 0x9E3779B97F4A7C15ull) >> 40 & (g.cap - 1);
                    while (g.keys[j]) j = (j + 1) & (g.cap - 1);
                    g.keys[j] = m.keys[i];
                    g.vals[j] = dummy;
                }
            free(m.keys);
            free(m.vals);
            m = g;
        }
        src[ne] = idmap_get(&m, d.e, &nn);
        dst[ne] = idmap_get(&m, dl_codec_get_int(d.v), &nn);
        ne++;
    }
    /* adjacency (CSR) */
    uint32_t *off = calloc((size_t)nn + 1, 4), *adj = xmalloc(ne * 4 + 4);
    for (size_t i = 0; i < ne; i++) off[src[i] + 1]++;
    for (uint32_t i = 0; i < nn; i++) off[i + 1] += off[i];
    uint32_t *pos = xmalloc(((size_t)nn + 1) * 4);
    memcpy(pos, off, ((size_t)nn + 1) * 4);
    for (size_t i = 0; i < ne; i++) adj[pos[src[i]]++] = dst[i];
    uint32_t *stamp = calloc((size_t)nn + 1, 4), *queue = xmalloc(((size_t)nn + 1) * 4);
    size_t rows = 0;
    for (uint32_t x = 0; x < nn; x++) {
        if (off[x] == off[x + 1]) continue;
        size_t qh = 0, qt = 0;
        for (uint32_t j = off[x]; j < off[x + 1]; j++)
            if (stamp[adj[j]] != x + 1) {
                stamp[adj[j]] = x + 1;
                queue[qt++] = adj[j];
            }
        while (qh < qt) {
            uint32_t y = queue[qh++];
            fpush((uint64_t)x << 32 | y);
            rows++;
            for (uint32_t j = off[y]; j < off[y + 1]; j++)
                if (stamp[adj[j]] != x + 1) {
                    stamp[adj[j]] = x + 1;
                    queue[qt++] = adj[j];
                }
        }
    }
    free(src);
    free(dst);
    free(m.keys);
    free(m.vals);
    free(off);
    free(adj);
    free(pos);
    free(stamp);
    free(queue);
    return rows;
}

/* pulls: the entity's datoms from one EAV seek (pull-one: two seeks),
 * children collected, then recursion. */
static size_t floor_pull(dl_cursor *c, fkind k, int64_t e) {
    size_t n = 0, nk = 0;
    int64_t kids[64];
    dl_datom d;
    if (k == F_PULL1) {
        dl_ikey a = {2, e, fl.name, NULL, 0};
        CK(dl_cursor_seek(c, &a, 2, NULL));
        while (dl_cursor_next(c, &d) == DT_ROW) {
            sink += d.vlen + d.v[0];
            n++;
        }
        dl_ikey f = {2, e, fl.follows, NULL, 0};
        CK(dl_cursor_seek(c, &f, 2, NULL));
        while (dl_cursor_next(c, &d) == DT_ROW && nk < 64) kids[nk++] = dl_codec_get_int(d.v);
    } else {
        n = 1; /* :db/id */
        dl_ikey a = {1, e, 0, NULL, 0};
        CK(dl_cursor_seek(c, &a, 1, NULL));
        while (dl_cursor_next(c, &d) == DT_ROW) {
            if (d.aid == fl.follows) {
                if (nk < 64) kids[nk++] = dl_codec_get_int(d.v);
                continue;
            }
            if (k == F_PULLMANY) {
                int want = 0;
                for (int i = 0; i < 5; i++) want |= d.aid == fl.w_aid[i];
                if (!want) continue;
            }
            sink += d.vlen + d.v[0];
            n++;
        }
    }
    if (nk == 64) die("floor: more than 64 children");
    for (size_t i = 0; i < nk; i++) n += floor_pull(c, k, kids[i]);
    return n;
}

static size_t floor_call(workload *w) {
    dl_cursor c, c2;
    dt_db *db = S(w)->ds->db;
    CK(dl_cursor_open(&c, dl_db_store(db), dl_db_txn(db), DL_INDEX_AVE));
    fout_n = 0;
    size_t rows = 0;
    dl_datom d;
    switch (w->floor) {
    case F_Q1:
        ave_eq(&c, fl.name, fl.ivan, fl.ivan_len);
        while (dl_cursor_next(&c, &d) == DT_ROW) fpush((uint64_t)d.e);
        rows = fout_n;
        break;
    case F_Q2:
    case F_Q3:
    case F_Q4:
        rows = floor_people(&c, w->floor);
        break;
    case F_QPRED: {
        dl_ikey k = {2, 0, fl.salary, fl.s50000, fl.s50000_len};
        CK(dl_cursor_seek(&c, &k, 1, NULL));
        while (dl_cursor_next(&c, &d) == DT_ROW) {
            if (d.vlen == fl.s50000_len && memcmp(d.v, fl.s50000, d.vlen) == 0) continue;
            fpush((uint64_t)d.e);
            fpush((uint64_t)dl_codec_get_int(d.v));
            rows++;
        }
        break;
    }
    case F_RULES:
        rows = floor_rules(&c);
        break;
    case F_PULL1:
    case F_PULLMANY:
    case F_PULLSTAR: {
        ave_eq(&c, fl.id, fl.one, fl.one_len);
        if (dl_cursor_next(&c, &d) != DT_ROW) die("floor: [:id 1] not found");
        int64_t e = d.e;
        CK(dl_cursor_open(&c2, dl_db_store(db), dl_db_txn(db), DL_INDEX_EAV));
        rows = floor_pull(&c2, w->floor, e);
        dl_cursor_close(&c2);
        break;
    }
    }
    dl_cursor_close(&c);
    sink += fout_n;
    return rows;
}

/* -- One run of one implementation -- */

typedef struct {
    double med;
    size_t n;
} runres;

static runres run_impl(workload *w, int impl, double ms) {
    runres r = {0, 0};
    if (impl == I_DS) {
        char buf[256];
        snprintf(buf, sizeof buf, "{\"run\":\"%s\",\"ms\":%.1f}", w->id, ms);
        const char *rep = peer_ask(buf);
        r.med = json_num(rep, "median_ms");
        r.n = (size_t)json_num(rep, "n");
        return r;
    }
    size_t cap = 256, n = 0;
    double *t = xmalloc(cap * sizeof *t);
    double end = bench_now() + ms / 1000;
    do {
        double t0 = bench_now();
        size_t rows = impl == I_DT    ? datolite_call(w, 0)
                      : impl == I_SQL ? sql_call(w)
                                      : floor_call(w);
        double t1 = bench_now();
        sink += rows;
        if (n == cap) t = xrealloc(t, (cap *= 2) * sizeof *t);
        t[n++] = (t1 - t0) * 1000;
    } while (bench_now() < end);
    r.med = median(t, n);
    r.n = n;
    free(t);
    return r;
}

static void prepare_workload(workload *w) {
    S(w)->ds = dataset_get(w->db);
    if (!w->text) { /* rules */
        w->text = RULES_Q;
        w->input = RULES;
        w->sql = RULES_SQL;
    }
    int rc;
    if (w->kind == W_QUERY) {
        if ((rc = dt_query_prepare(w->text, strlen(w->text), &S(w)->q)) != DT_OK)
            snprintf(dt_err, sizeof dt_err, "prepare: %s: %s", dt_errstr(rc), dt_errmsg(NULL));
        S(w)->in[0] = (dt_input){S(w)->ds->db, NULL, NULL, 0};
        S(w)->nin = 1;
        if (w->input) {
            S(w)->in[1] = (dt_input){NULL, NULL, w->input, strlen(w->input)};
            S(w)->nin = 2;
        }
        S(w)->st = sql_prepare(S(w)->ds->sql, w->sql);
    } else {
        if (dt_edn_read("[:id 1]", 7, &S(w)->eid) != DT_OK) die("eid");
    }
}

static void peer_define(workload *w) {
    if (!peer.ok) return;
    char *q = json_str(w->text), *buf;
    if (w->kind == W_QUERY) {
        char *in = w->input ? json_str(w->input) : NULL;
        buf = fmt("{\"def\":\"%s\",\"db\":\"%s\",\"q\":%s,\"in\":[%s]}", w->id, w->db, q,
                  in ? in : "");
        free(in);
    } else {
        buf =
            fmt("{\"def\":\"%s\",\"db\":\"%s\",\"pull\":%s,\"eid\":\"[:id 1]\"}", w->id, w->db, q);
    }
    S(w)->got[I_DS] = (size_t)json_num(peer_ask(buf), "rows");
    free(buf);
    free(q);
}

static void ratio_stats(double *r, size_t n, double *med, double *lo, double *hi) {
    qsort(r, n, sizeof *r, bench_cmp_double);
    *lo = n ? r[0] : 0;
    *hi = n ? r[n - 1] : 0;
    *med = median(r, n);
}

static int people_mode(void) {
    char *schema_path = fmt("%s/bench/bench-schema.edn", g_shared);
    char *schema = read_file(schema_path, NULL);
    for (int i = 0; i < NDATASETS; i++) {
        datasets[i].name = dataset_names[i];
        datasets[i].file = i == 0 ? fmt("%s/bench/people20k.edn", g_shared)
                                  : fmt("%s/bench/bench-%s.edn", g_shared, dataset_names[i]);
    }
    for (int i = 0; i < NWORK; i++)
        if (selected(workloads[i].id)) dataset_get(workloads[i].db)->used = 1;
    for (int i = 0; i < NDATASETS; i++)
        if (datasets[i].used) {
            dt_load(&datasets[i], schema);
            sql_load(&datasets[i]);
        }
    peer_start();
    dataset *wide = dataset_get("wide-4x5");
    if (wide->used) {
        st_attr = sql_prepare(wide->sql, "SELECT v FROM eav WHERE e = ?1 AND a = ?2");
        st_ent = sql_prepare(wide->sql, "SELECT a, v FROM eav WHERE e = ?1");
        st_lookup = sql_prepare(wide->sql, "SELECT e FROM eav WHERE a = 'id' AND v = ?1");
    }
    printf("| workload | rows | datolite ms | datascript ms | sqlite ms | floor ms |"
           " DataScript/Datolite | SQLite/Datolite | Datolite/floor |\n"
           "|---|---:|---:|---:|---:|---:|---|---|---|\n");
    fflush(stdout);
    char *json = NULL;
    size_t jcap = 0;
    FILE *js = open_memstream(&json, &jcap);
    for (int wi = 0; wi < NWORK; wi++) {
        workload *w = &workloads[wi];
        if (!selected(w->id)) continue;
        dt_err[0] = 0;
        prepare_workload(w);
        floor_init(S(w)->ds->db);
        /* check the row counts */
        double tc = bench_now();
        if (!dt_err[0]) S(w)->got[I_DT] = datolite_call(w, 1);
        tc = bench_now() - tc;
        if (dt_err[0]) {
            fprintf(stderr, "query_bench: %s: datolite: %s\n", w->id, dt_err);
            printf("| %s | datolite ERROR (%s) | | | | | | | |\n", w->id, dt_err);
            fflush(stdout);
            g_failed = 1;
            if (S(w)->q) dt_query_free(S(w)->q);
            if (S(w)->st) sqlite3_finalize(S(w)->st);
            dt_value_free(&S(w)->eid);
            continue;
        }
        S(w)->got[I_SQL] = w->kind == W_QUERY ? sql_query(w) : sql_call(w);
        S(w)->got[I_FLOOR] = floor_call(w);
        peer_define(w);
        long want = w->rows >= 0 ? w->rows : (long)S(w)->got[peer.ok ? I_DS : I_SQL];
        int bad = 0;
        for (int i = 0; i < NIMPL; i++) {
            if (i == I_DS && !peer.ok) continue;
            if ((long)S(w)->got[i] != want) {
                fprintf(stderr, "query_bench: %s: %s returned %zu rows, expected %ld\n", w->id,
                        impl_names[i], S(w)->got[i], want);
                bad = 1;
            }
        }
        g_failed |= bad;
        /* warm-up, then interleaved runs, the order rotating; a call of
         * more than 2 s (a slow engine) gets 3 runs without warm-up */
        int slow = tc > 2.0;
        for (int i = 0; i < NIMPL && !slow; i++)
            if (i != I_DS || peer.ok)
                run_impl(w, i, i == I_DS ? (g_ms * 4 > 1000 ? g_ms * 4 : 1000) : g_ms);
        double med[NIMPL][64], rat[3][64];
        size_t calls[NIMPL] = {0};
        int R = slow && g_runs > 3 ? 3 : g_runs > 64 ? 64 : g_runs;
        for (int r = 0; r < R; r++)
            for (int j = 0; j < NIMPL; j++) {
                int i = (j + r) % NIMPL;
                if (i == I_DS && !peer.ok) continue;
                runres x = run_impl(w, i, g_ms);
                med[i][r] = x.med;
                calls[i] += x.n;
            }
        double m[NIMPL], rm[3], rlo[3], rhi[3];
        for (int r = 0; r < R; r++) {
            rat[0][r] = peer.ok ? med[I_DS][r] / med[I_DT][r] : 0;
            rat[1][r] = med[I_SQL][r] / med[I_DT][r];
            rat[2][r] = med[I_DT][r] / med[I_FLOOR][r];
        }
        for (int k = 0; k < 3; k++) ratio_stats(rat[k], (size_t)R, &rm[k], &rlo[k], &rhi[k]);
        for (int i = 0; i < NIMPL; i++)
            m[i] = (i == I_DS && !peer.ok) ? 0 : median(med[i], (size_t)R);
        char ds_ms[32], ds_r[64];
        if (peer.ok) {
            snprintf(ds_ms, sizeof ds_ms, "%.3f", m[I_DS]);
            snprintf(ds_r, sizeof ds_r, "**%.1f** (%.1f–%.1f)", rm[0], rlo[0], rhi[0]);
        } else {
            snprintf(ds_ms, sizeof ds_ms, "–");
            snprintf(ds_r, sizeof ds_r, "–");
        }
        printf("| %s | %zu%s | %.3f | %s | %.3f | %.4f | %s | **%.2f** (%.2f–%.2f) |"
               " **%.2f** (%.2f–%.2f) |\n",
               w->id, S(w)->got[I_DT], bad ? " MISMATCH" : "", m[I_DT], ds_ms, m[I_SQL], m[I_FLOOR],
               ds_r, rm[1], rlo[1], rhi[1], rm[2], rlo[2], rhi[2]);
        fflush(stdout);
        fprintf(js,
                "{\"bench\":\"query\",\"workload\":\"%s\",\"rows\":%zu,\"rows_ok\":%s,\"runs\":%d,"
                "\"datolite_ms\":%.4f,\"datascript_ms\":%.4f,\"sqlite_ms\":%.4f,\"floor_ms\":%.5f,"
                "\"ds_over_dt\":[%.3f,%.3f,%.3f],\"sqlite_over_dt\":[%.3f,%.3f,%.3f],"
                "\"dt_over_floor\":[%.3f,%.3f,%.3f],\"calls\":[%zu,%zu,%zu,%zu]}\n",
                w->id, S(w)->got[I_DT], bad ? "false" : "true", R, m[I_DT], m[I_DS], m[I_SQL],
                m[I_FLOOR], rm[0], rlo[0], rhi[0], rm[1], rlo[1], rhi[1], rm[2], rlo[2], rhi[2],
                calls[0], calls[1], calls[2], calls[3]);
        if (S(w)->q) dt_query_free(S(w)->q);
        if (S(w)->st) sqlite3_finalize(S(w)->st);
        dt_value_free(&S(w)->eid);
    }
    fclose(js);
    printf("\nRatios: median of %d interleaved per-run ratios (min–max); times: median per call,"
           " median over runs of %.0f ms. %s; SQLite %s.\n",
           g_runs, g_ms, peer.note, sqlite3_libversion());
    fputs(json, stdout);
    free(json);
    peer_stop();
    if (st_attr) sqlite3_finalize(st_attr);
    if (st_ent) sqlite3_finalize(st_ent);
    if (st_lookup) sqlite3_finalize(st_lookup);
    for (int i = 0; i < NDATASETS; i++) {
        if (!datasets[i].used) continue;
        sqlite3_close(datasets[i].sql);
        dt_db_close(datasets[i].db);
        dt_conn_close(datasets[i].conn);
        char *dir = fmt("%s/%s", g_tmp, datasets[i].name);
        bench_rm_rf(dir);
        free(dir);
    }
    free(schema);
    free(schema_path);
    return 0;
}

/* }====== */

/* {====== movies ====== */

static const dt_value *map_get(const dt_value *m, const char *kw) {
    if (m->type != DT_MAP) return NULL;
    for (size_t i = 0; i + 1 < m->u.seq.n; i += 2) {
        const dt_value *k = &m->u.seq.items[i];
        if (k->type == DT_KEYWORD && strcmp(k->u.s.ptr, kw) == 0) return &m->u.seq.items[i + 1];
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical rows: each row printed as an EDN vector, sorted. */
typedef struct rowset {
    char **rows;
    size_t n, cap;
} rowset;

static void rowset_add(rowset *s, const dt_value *items, size_t n) {
    dt_value vec;
    vec.type = DT_VECTOR;
    vec.u.seq.items = (dt_value *)items;
    vec.u.seq.n = n;
    char *t;
    if (dt_edn_write(&vec, 0, &t, NULL) != DT_OK) die("edn write: %s", dt_errmsg(NULL));
    if (s->n == s->cap)
        s->rows = xrealloc(s->rows, (s->cap = s->cap ? s->cap * 2 : 64) * sizeof(char *));
    s->rows[s->n++] = strdup(t);
    dt_free(t);
}

static void rowset_finish(rowset *s) {
    qsort(s->rows, s->n, sizeof(char *), cmp_str);
    size_t o = 0; /* a set: drop duplicates */
    for (size_t i = 0; i < s->n; i++) {
        if (o && strcmp(s->rows[o - 1], s->rows[i]) == 0) {
            free(s->rows[i]);
            continue;
        }
        s->rows[o++] = s->rows[i];
    }
    s->n = o;
}

static void rowset_free(rowset *s) {
    for (size_t i = 0; i < s->n; i++) free(s->rows[i]);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

static int rowset_equal(const rowset *a, const rowset *b) {
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->rows[i], b->rows[i])) return 0;
    return 1;
}

typedef struct mquery {
    char id[16];
    char *query, *sql;
    char **inputs;
    size_t ninputs;
    char *expected_path;
    dt_query *q;
    dt_input *in;
    sqlite3_stmt *st;
    rowset want;
    int have_want;
} mquery;

static size_t read_queries(const char *path, mquery **qs, size_t nq) {
    size_t len;
    char *text = read_file(path, &len);
    dt_value v;
    if (dt_edn_read(text, len, &v) != DT_OK) die("%s: %s", path, dt_errmsg(NULL));
    free(text);
    char *dir = strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    size_t n = v.type == DT_VECTOR ? v.u.seq.n : 1;
    *qs = xrealloc(*qs, (nq + n) * sizeof **qs);
    for (size_t i = 0; i < n; i++) {
        const dt_value *m = v.type == DT_VECTOR ? &v.u.seq.items[i] : &v;
        mquery *q = &(*qs)[nq + i];
        memset(q, 0, sizeof *q);
        const dt_value *id = map_get(m, "id"), *qt = map_get(m, "query"), *sq = map_get(m, "sql"),
                       *in = map_get(m, "inputs");
        if (!id || !qt || !sq || id->type != DT_STRING)
            die("%s: a query without :id/:query/:sql", path);
        snprintf(q->id, sizeof q->id, "%s", id->u.s.ptr);
        q->query = strdup(qt->u.s.ptr);
        q->sql = strdup(sq->u.s.ptr);
        q->ninputs = in ? in->u.seq.n : 0;
        q->inputs = xmalloc((q->ninputs + 1) * sizeof(char *));
        for (size_t k = 0; k < q->ninputs; k++) q->inputs[k] = strdup(in->u.seq.items[k].u.s.ptr);
        q->expected_path = fmt("%s/expected/%s.edn", dir, q->id);
    }
    dt_value_free(&v);
    free(dir);
    return nq + n;
}

static void movies_rows_dt(mquery *q, dt_db *db, rowset *out, int *rc_out) {
    dt_result *r;
    dt_query_options o = {DT_QUERY_OPTIONS_VERSION, 120000, 0, DT_PLAN_AUTO, NULL};
    int rc = dt_query_run(q->q, q->in, q->ninputs + 1, &o, &r);
    (void)db;
    *rc_out = rc;
    if (rc != DT_OK) return;
    size_t w = dt_result_width(r);
    dt_value *row = xmalloc(w * sizeof *row);
    for (size_t i = 0; i < dt_result_count(r); i++) {
        for (size_t c = 0; c < w; c++) row[c] = *dt_result_get(r, i, c);
        rowset_add(out, row, w);
    }
    free(row);
    dt_result_free(r);
    rowset_finish(out);
}

static void movies_rows_sql(mquery *q, rowset *out) {
    int cols = sqlite3_column_count(q->st);
    dt_value *row = xmalloc((size_t)cols * sizeof *row);
    while (sqlite3_step(q->st) == SQLITE_ROW) {
        for (int c = 0; c < cols; c++) {
            switch (sqlite3_column_type(q->st, c)) {
            case SQLITE_INTEGER:
                dt_value_long(sqlite3_column_int64(q->st, c), &row[c]);
                break;
            case SQLITE_FLOAT:
                dt_value_double(sqlite3_column_double(q->st, c), &row[c]);
                break;
            case SQLITE_NULL:
                dt_value_nil(&row[c]);
                break;
            default:
                dt_value_text(DT_STRING, (const char *)sqlite3_column_text(q->st, c),
                              (size_t)sqlite3_column_bytes(q->st, c), &row[c]);
            }
        }
        rowset_add(out, row, (size_t)cols);
        for (int c = 0; c < cols; c++) dt_value_free(&row[c]);
    }
    sqlite3_reset(q->st);
    free(row);
    rowset_finish(out);
}

static double time_dt(mquery *q, double ms, size_t *calls) {
    size_t cap = 64, n = 0;
    double *t = xmalloc(cap * sizeof *t), end = bench_now() + ms / 1000;
    do {
        dt_result *r;
        double t0 = bench_now();
        int rc = dt_query_run(q->q, q->in, q->ninputs + 1, NULL, &r);
        if (rc == DT_OK) {
            sink += dt_result_count(r);
            dt_result_free(r);
        }
        double t1 = bench_now();
        if (rc != DT_OK) die("%s: %s", q->id, dt_errmsg(NULL));
        if (n == cap) t = xrealloc(t, (cap *= 2) * sizeof *t);
        t[n++] = (t1 - t0) * 1000;
    } while (bench_now() < end);
    double m = median(t, n);
    free(t);
    *calls += n;
    return m;
}

static double time_sql(mquery *q, double ms, size_t *calls) {
    size_t cap = 64, n = 0;
    double *t = xmalloc(cap * sizeof *t), end = bench_now() + ms / 1000;
    do {
        double t0 = bench_now();
        while (sqlite3_step(q->st) == SQLITE_ROW) {
            int cols = sqlite3_column_count(q->st);
            for (int c = 0; c < cols; c++)
                if (sqlite3_column_type(q->st, c) == SQLITE_TEXT)
                    sink += (uint64_t)sqlite3_column_bytes(q->st, c);
                else
                    sink += (uint64_t)sqlite3_column_int64(q->st, c);
        }
        sqlite3_reset(q->st);
        double t1 = bench_now();
        if (n == cap) t = xrealloc(t, (cap *= 2) * sizeof *t);
        t[n++] = (t1 - t0) * 1000;
    } while (bench_now() < end);
    double m = median(t, n);
    free(t);
    *calls += n;
    return m;
}

static int movies_mode(const char *data, const char **qfiles, size_t nqfiles) {
    char *mdir = fmt("%s/bench/movies", g_shared);
    char *edn = fmt("%s/movies.edn", data);
    if (access(edn, R_OK) != 0) {
        fprintf(stderr, "movies: generating the data in %s ...\n", data);
        char *cmd =
            fmt("python3 '%s/gen_movies.py' --seed 42 --scale 1 --out '%s' >&2", mdir, data);
        if (system(cmd) != 0) die("gen_movies.py failed");
        free(cmd);
    }
    /* SQLite: the folder's loader writes a file; it is copied into memory */
    char *sqlfile = fmt("%s/movies-sqlite.db", g_tmp);
    char *cmd = fmt("python3 -c \"import sys; sys.path.insert(0, '%s'); import sqlite_bench as s;"
                    " c, st = s.load('%s', '%s'); c.close();"
                    " print('sqlite: loaded in %%.2f s (+ %%.2f s EDN parse)' %% (st['load_s'],"
                    " st['parse_s']), file=sys.stderr)\"",
                    mdir, data, sqlfile);
    if (system(cmd) != 0) die("sqlite_bench.load failed");
    free(cmd);
    sqlite3 *file, *sql;
    if (sqlite3_open_v2(sqlfile, &file, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("open %s", sqlfile);
    if (sqlite3_open(":memory:", &sql) != SQLITE_OK) die("sqlite3_open");
    sqlite3_backup *bk = sqlite3_backup_init(sql, "main", file, "main");
    if (!bk || sqlite3_backup_step(bk, -1) != SQLITE_DONE) die("sqlite backup");
    sqlite3_backup_finish(bk);
    sqlite3_close(file);
    unlink(sqlfile);
    free(sqlfile);
    /* Datolite: schema + import */
    char *schema_path = fmt("%s/movies-schema.edn", data);
    char *schema = read_file(schema_path, NULL);
    char *dir = fmt("%s/movies-db", g_tmp);
    bench_rm_rf(dir);
    dt_conn *conn;
    if (dt_conn_open(dir, schema, NULL, &conn) != DT_OK) die("dt_conn_open: %s", dt_errmsg(NULL));
    size_t len;
    char *text = read_file(edn, &len);
    double t0 = bench_now();
    if (dt_import_edn(conn, text, len, 10000, NULL) != DT_OK) die("import: %s", dt_errmsg(conn));
    fprintf(stderr, "datolite: movies imported in %.2f s\n", bench_now() - t0);
    free(text);
    dt_db *db;
    if (dt_conn_db(conn, &db) != DT_OK) die("dt_conn_db");
    /* queries */
    mquery *qs = NULL;
    size_t nq = 0;
    char *def = fmt("%s/queries.edn", mdir);
    if (nqfiles == 0) nq = read_queries(def, &qs, 0);
    for (size_t i = 0; i < nqfiles; i++) nq = read_queries(qfiles[i], &qs, nq);
    free(def);
    printf("| query | rows | datolite ms | sqlite ms | Datolite/SQLite | result |\n"
           "|---|---:|---:|---:|---|---|\n");
    fflush(stdout);
    double tot_dt = 0, tot_sql = 0;
    int all_timed = 1, worst_ok = 1;
    double worst = 0;
    char worst_id[16] = "";
    char *json = NULL;
    size_t jcap = 0;
    FILE *js = open_memstream(&json, &jcap);
    for (size_t i = 0; i < nq; i++) {
        mquery *q = &qs[i];
        if (!selected(q->id)) continue;
        int rc = dt_query_prepare(q->query, strlen(q->query), &q->q);
        if (rc != DT_OK) {
            fprintf(stderr, "%s: prepare: %s: %s\n", q->id, dt_errstr(rc), dt_errmsg(NULL));
            printf("| %s | | – | – | – | datolite ERROR (prepare) |\n", q->id);
            g_failed = 1;
            continue;
        }
        q->in = xmalloc((q->ninputs + 1) * sizeof *q->in);
        q->in[0] = (dt_input){db, NULL, NULL, 0};
        for (size_t k = 0; k < q->ninputs; k++)
            q->in[k + 1] = (dt_input){NULL, NULL, q->inputs[k], strlen(q->inputs[k])};
        q->st = sql_prepare(sql, q->sql);
        rowset want = {0}, got_dt = {0}, got_sql = {0};
        if (access(q->expected_path, R_OK) == 0) {
            char *et = read_file(q->expected_path, &len);
            dt_value ev;
            if (dt_edn_read(et, len, &ev) != DT_OK)
                die("%s: %s", q->expected_path, dt_errmsg(NULL));
            for (size_t r = 0; r < ev.u.seq.n; r++)
                rowset_add(&want, ev.u.seq.items[r].u.seq.items, ev.u.seq.items[r].u.seq.n);
            rowset_finish(&want);
            dt_value_free(&ev);
            free(et);
            q->have_want = 1;
        }
        movies_rows_sql(q, &got_sql);
        double tdt = bench_now();
        movies_rows_dt(q, db, &got_dt, &rc);
        tdt = bench_now() - tdt;
        const char *status;
        int dt_ok = rc == DT_OK;
        if (!dt_ok) {
            status = rc == DT_TIMEOUT ? "datolite TIMEOUT (120 s)" : "datolite ERROR";
            fprintf(stderr, "%s: %s: %s\n", q->id, dt_errstr(rc), dt_errmsg(NULL));
            g_failed = 1;
        } else if (q->have_want) {
            int a = rowset_equal(&got_dt, &want), b = rowset_equal(&got_sql, &want);
            status = a && b ? "ok" : !a ? "datolite MISMATCH" : "sqlite MISMATCH";
            if (!a || !b) g_failed = 1;
        } else {
            status = rowset_equal(&got_dt, &got_sql) ? "same as sqlite (no expected file)"
                                                     : "datolite differs from sqlite";
        }
        if (!dt_ok) {
            all_timed = 0;
            printf("| %s | %zu | – | – | – | %s |\n", q->id, got_sql.n, status);
        } else {
            int slow = tdt > 2.0;
            if (!slow) {
                time_dt(q, g_ms / 2, &(size_t){0});
                time_sql(q, g_ms / 2, &(size_t){0});
            }
            double md[64], ms[64], rr[64];
            size_t cd = 0, cs = 0;
            int R = slow && g_runs > 3 ? 3 : g_runs > 64 ? 64 : g_runs;
            for (int r = 0; r < R; r++) {
                if (r % 2 == 0) {
                    md[r] = time_dt(q, g_ms, &cd);
                    ms[r] = time_sql(q, g_ms, &cs);
                } else {
                    ms[r] = time_sql(q, g_ms, &cs);
                    md[r] = time_dt(q, g_ms, &cd);
                }
                rr[r] = md[r] / ms[r];
            }
            double rm, rlo, rhi;
            ratio_stats(rr, (size_t)R, &rm, &rlo, &rhi);
            double mdt = median(md, (size_t)R), msq = median(ms, (size_t)R);
            tot_dt += mdt;
            tot_sql += msq;
            if (rm > worst) {
                worst = rm;
                snprintf(worst_id, sizeof worst_id, "%s", q->id);
            }
            printf("| %s | %zu | %.3f | %.3f | **%.2f** (%.2f–%.2f) | %s |\n", q->id, got_dt.n, mdt,
                   msq, rm, rlo, rhi, status);
            fprintf(js,
                    "{\"bench\":\"movies\",\"query\":\"%s\",\"rows\":%zu,\"result\":\"%s\","
                    "\"datolite_ms\":%.4f,\"sqlite_ms\":%.4f,\"dt_over_sqlite\":[%.3f,%.3f,%.3f],"
                    "\"calls\":[%zu,%zu]}\n",
                    q->id, got_dt.n, status, mdt, msq, rm, rlo, rhi, cd, cs);
        }
        fflush(stdout);
        rowset_free(&want);
        rowset_free(&got_dt);
        rowset_free(&got_sql);
    }
    fclose(js);
    (void)worst_ok;
    if (tot_sql > 0)
        printf("| **total** | | %.3f | %.3f | **%.2f**%s | worst query %s at %.2f |\n", tot_dt,
               tot_sql, tot_dt / tot_sql, all_timed ? "" : " (untimed queries left out)", worst_id,
               worst);
    printf("\nRatios: median of %d interleaved per-run ratios (min–max); times: median per call,"
           " median over runs of %.0f ms; total: sums of the medians. SQLite %s, normalized tables"
           " in memory.\n",
           g_runs, g_ms, sqlite3_libversion());
    fputs(json, stdout);
    free(json);
    for (size_t i = 0; i < nq; i++) {
        mquery *q = &qs[i];
        if (q->q) dt_query_free(q->q);
        if (q->st) sqlite3_finalize(q->st);
        free(q->in);
        free(q->query);
        free(q->sql);
        for (size_t k = 0; k < q->ninputs; k++) free(q->inputs[k]);
        free(q->inputs);
        free(q->expected_path);
    }
    free(qs);
    sqlite3_close(sql);
    dt_db_close(db);
    dt_conn_close(conn);
    bench_rm_rf(dir);
    free(dir);
    free(schema);
    free(schema_path);
    free(edn);
    free(mdir);
    return 0;
}

/* }====== */

int main(int argc, char **argv) {
    const char *mode = "people";
    const char *mdata = NULL;
    const char *qfiles[32];
    size_t nqfiles = 0;
    g_tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    g_shared = DT_BENCH_SHARED_DIR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-r") && i + 1 < argc)
            g_runs = atoi(argv[++i]);
        else if (!strcmp(a, "-t") && i + 1 < argc)
            g_ms = atof(argv[++i]);
        else if (!strcmp(a, "-d") && i + 1 < argc)
            g_tmp = argv[++i];
        else if (!strcmp(a, "-s") && i + 1 < argc)
            g_shared = argv[++i];
        else if (!strcmp(a, "-w") && i + 1 < argc)
            g_only = argv[++i];
        else if (!strcmp(a, "-m") && i + 1 < argc)
            mdata = argv[++i];
        else if (!strcmp(a, "-q") && i + 1 < argc && nqfiles < 32)
            qfiles[nqfiles++] = argv[++i];
        else if (!strcmp(a, "--no-peer"))
            g_no_peer = 1;
        else if (!strcmp(a, "people") || !strcmp(a, "movies") || !strcmp(a, "all"))
            mode = a;
        else {
            fprintf(stderr, "usage: query_bench [-r runs] [-t ms] [-d tmpdir] [-s shared-dir]"
                            " [-w id,...] [--no-peer] [-m movies-data] [-q queries.edn ...]"
                            " [people|movies|all]\n");
            return 2;
        }
    }
    if (g_runs < 1) g_runs = 1;
    signal(SIGPIPE, SIG_IGN);
    char *tmp = fmt("%s/query_bench.%d", g_tmp, (int)getpid());
    if (mkdir(tmp, 0755) != 0) die("mkdir %s", tmp);
    g_tmp = tmp;
    char *md =
        mdata ? strdup(mdata) : fmt("%s/movies-data", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!strcmp(mode, "people") || !strcmp(mode, "all")) people_mode();
    if (!strcmp(mode, "movies") || !strcmp(mode, "all")) {
        if (!strcmp(mode, "all")) printf("\n");
        movies_mode(md, qfiles, nqfiles);
    }
    bench_rm_rf(tmp);
    free(tmp);
    free(md);
    return g_failed ? 1 : 0;
}
