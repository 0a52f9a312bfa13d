/*
 * init_bench.c -- bulk load (init-db) against the raw LMDB limit for the
 * same work, in the same run.
 *
 * Data: N synthetic datoms (fixed seed), N/4 entities in a scattered
 * order, four attributes each: :p/age long 0..99, :p/name string from a
 * vocabulary of 64 names, :p/email unique-identity string, :p/friend ref.
 * The datoms are written once to a msgpack stream file and to an EDN file
 * (one [e :a v] per line) in a temporary directory.
 *
 *  loader-msgpack  dt_loader (DT_LOAD_INIT, fresh database, default
 *                  durability: fsync at commit) fed from the msgpack file
 *                  in 4 MiB chunks cut at datom boundaries; from opening
 *                  the database to closing it.
 *  loader-edn      the same from the EDN file (chunks cut at newlines).
 *  raw-lmdb        the limit: the same EAV and AVE keys (same codec, same
 *                  layout) built from the datoms in memory, sorted in
 *                  memory (an introsort on 16-byte key prefixes held
 *                  inline, full keys compared only on ties: ~1.5x
 *                  faster than qsort of key pointers), then mdb_put
 *                  with MDB_APPEND in one write transaction per index
 *                  into a fresh LMDB
 *                  environment (durable commits); key building, sorting
 *                  and writing are all timed.
 * Each run is a fresh child process (fork), so its peak RSS (VmHWM) is
 * that run's own.  Both sides use a 32 GiB map (sparse) so that neither
 * pays for map growth.
 *
 *  people          bench/people20k.edn in $DT_SHARED_DIR, by default in
 *                  ../shared beside the checkout (or -p FILE): tempids
 *                  numbered in order of appearance, :alias collections
 *                  expanded, written as msgpack; init-db of it timed.
 *
 * usage: init_bench [-r runs] [-d tmpdir] [-m budget-MiB] [-c chunk-MiB|max]
 *                   [-p people.edn] [-s schema.edn] [N ...]
 *        N in datoms (default 1000000 5000000 10000000; 0 skips the
 *        synthetic sets); -m sets dt_load_options.mem_budget and -c
 *        dt_load_options.chunk_size ("max": one transaction) (default:
 *        the library's); -p /nonexistent skips people.
 * Runs interleave: each run measures raw, msgpack and EDN once, in an
 * order rotating from run to run; "vs raw" is the median (and range) of
 * the per-run ratios of a loader's rate to raw's rate in the same run.
 * Output: one JSON line per (dataset, implementation) with the median,
 * min and max of the runs and the ratio, then a table.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_util.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "datolite.h"

#define MAP_SIZE ((uint64_t)32 << 30)
#define CHUNK    ((size_t)4 << 20)
#define MAX_RUNS 32

static const char *SCHEMA =
    "{:p/age {:db/valueType :db.type/long}"
    " :p/name {:db/valueType :db.type/string}"
    " :p/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/friend {:db/valueType :db.type/ref}}";
static const char *ATTRS[4] = {"p/age", "p/name", "p/email", "p/friend"};

static char *tmproot;
static size_t mem_budget; /* loader option; 0: the default */
static size_t chunk_size; /* loader option; 0: the default */

/* {====== Utilities ====== */

static void die(const char *what, const char *msg) {
    fprintf(stderr, "init_bench: %s: %s\n", what, msg);
    exit(1);
}

static long vm_hwm_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Size of dir/data.mdb in MB (allocated blocks: the map is sparse). */
static double file_mb(const char *dir) {
    char *p = path_in(dir, "data.mdb");
    struct stat st;
    double mb = stat(p, &st) == 0 ? (double)st.st_blocks * 512.0 / 1048576.0 : 0;
    free(p);
    return mb;
}

/* }====== */

/* {====== Synthetic datoms ====== */

static const char *NAMES[64] = {
    "Ivan",   "Petr",   "Oleg",    "Anna",     "Maria",  "Olga",   "Yuri",    "Boris",
    "Lena",   "Nina",   "Igor",    "Pavel",    "Sofia",  "Vera",   "Gleb",    "Denis",
    "Egor",   "Fedor",  "Galina",  "Inna",     "Kira",   "Lev",    "Mark",    "Nikita",
    "Oksana", "Polina", "Roman",   "Sergei",   "Taras",  "Ulyana", "Vadim",   "Yana",
    "Zoya",   "Artem",  "Bogdan",  "Dina",     "Elena",  "Filipp", "Gennady", "Ilya",
    "Kostya", "Lidia",  "Marat",   "Nadia",    "Oskar",  "Pyotr",  "Raisa",   "Stepan",
    "Timur",  "Uliana", "Viktor",  "Yaroslav", "Zakhar", "Alla",   "Bella",   "Daria",
    "Emil",   "Feliks", "Grigory", "Irina",    "Klim",   "Lyuba",  "Miron",   "Nestor"};

/* The i-th datom: entity, attribute index (0..3), and the value. */
typedef struct gen_datom {
    int64_t e;
    int a;
    int64_t num;     /* age, friend */
    const char *str; /* name; email is built into buf */
    char buf[40];
} gen_datom;

static void datom_at(uint64_t i, uint64_t nent, uint64_t seed, gen_datom *d) {
    uint64_t ent = i / 4;
    d->e = (int64_t)((ent * 2654435761ull) % nent) + 1; /* scattered, a permutation */
    d->a = (int)(i % 4);
    uint64_t s = seed ^ (i * 0x9E3779B97F4A7C15ull);
    uint64_t r = bench_rng(&s);
    d->str = NULL;
    switch (d->a) {
    case 0:
        d->num = (int64_t)(r % 100);
        break;
    case 1:
        d->str = NAMES[r % 64];
        break;
    case 2:
        snprintf(d->buf, sizeof d->buf, "user%lld@example.com", (long long)d->e);
        d->str = d->buf;
        break;
    default:
        d->num = (int64_t)(r % nent) + 1;
        break;
    }
}

/* msgpack of [e :attr v] into out (at most 96 bytes); returns its length. */
static size_t mp_datom(const gen_datom *d, uint8_t *out) {
    uint8_t *p = out;
    *p++ = 0x93;
    *p++ = 0xd3; /* int64 */
    for (int k = 7; k >= 0; k--) *p++ = (uint8_t)((uint64_t)d->e >> (8 * k));
    const char *a = ATTRS[d->a];
    size_t al = strlen(a);
    *p++ = 0xc7; /* ext 8: keyword */
    *p++ = (uint8_t)al;
    *p++ = 1;
    memcpy(p, a, al);
    p += al;
    if (d->str) {
        size_t n = strlen(d->str);
        *p++ = (uint8_t)(0xa0 | n); /* fixstr: all < 32 bytes */
        memcpy(p, d->str, n);
        p += n;
    } else {
        *p++ = 0xd3;
        for (int k = 7; k >= 0; k--) *p++ = (uint8_t)((uint64_t)d->num >> (8 * k));
    }
    return (size_t)(p - out);
}

/* Length of the [e attr v] record at p (as mp_datom writes them, and the
 * people file's), or 0 when incomplete. */
static size_t mp_skip_value(const uint8_t *p, size_t n);
static size_t mp_skip_value(const uint8_t *p, size_t n) {
    if (n == 0) return 0;
    uint8_t c = p[0];
    size_t need;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return 1;
    if ((c & 0xe0) == 0xa0)
        need = 1 + (c & 0x1f);
    else if (c >= 0xcc && c <= 0xcf)
        need = 1 + (1u << (c - 0xcc));
    else if (c >= 0xd0 && c <= 0xd3)
        need = 1 + (1u << (c - 0xd0));
    else if (c == 0xca)
        need = 5;
    else if (c == 0xcb)
        need = 9;
    else if (c >= 0xd4 && c <= 0xd8)
        need = 2 + (1u << (c - 0xd4));
    else if (c == 0xd9 || c == 0xc7) {
        if (n < 2) return 0;
        need = (c == 0xd9 ? 2 : 3) + p[1];
    } else if ((c & 0xf0) == 0x90) {
        size_t pos = 1;
        for (unsigned i = 0; i < (c & 0x0fu); i++) {
            size_t m = mp_skip_value(p + pos, n - pos);
            if (!m) return 0;
            pos += m;
        }
        return pos;
    } else {
        die("msgpack skip", "unexpected type byte");
        return 0;
    }
    return need <= n ? need : 0;
}

static void write_inputs(uint64_t n, uint64_t seed, const char *mp_path, const char *edn_path) {
    FILE *fm = fopen(mp_path, "wb"), *fe = edn_path ? fopen(edn_path, "wb") : NULL;
    if (!fm || (edn_path && !fe)) die("write inputs", strerror(errno));
    uint64_t nent = n / 4 ? n / 4 : 1;
    uint8_t buf[128];
    gen_datom d;
    for (uint64_t i = 0; i < n; i++) {
        datom_at(i, nent, seed, &d);
        fwrite(buf, 1, mp_datom(&d, buf), fm);
        if (!fe) continue;
        if (d.str)
            fprintf(fe, "[%lld :%s \"%s\"]\n", (long long)d.e, ATTRS[d.a], d.str);
        else
            fprintf(fe, "[%lld :%s %lld]\n", (long long)d.e, ATTRS[d.a], (long long)d.num);
    }
    fclose(fm);
    if (fe) fclose(fe);
}

/* }====== */

/* {====== The loader runs (in a child process) ====== */

typedef struct result {
    double secs;
    long rss_kb;
    uint64_t count;
    double extra[3];
    double db_mb;
} result;

static int load_file(const char *db_dir, const char *schema, const char *input, int edn,
                     result *out) {
    double t0 = bench_now();
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = MAP_SIZE;
    dt_conn *c = NULL;
    if (dt_conn_open(db_dir, schema, &o, &c) != DT_OK) die("open", dt_errmsg(NULL));
    dt_loader *ld = NULL;
    dt_load_options lo = DT_LOAD_OPTIONS_INIT;
    lo.mem_budget = mem_budget;
    lo.chunk_size = chunk_size;
    if (dt_loader_open(c, DT_LOAD_INIT, &lo, &ld) != DT_OK) die("loader", dt_errmsg(c));
    int fd = open(input, O_RDONLY);
    if (fd < 0) die(input, strerror(errno));
    uint8_t *buf = malloc(CHUNK);
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, CHUNK - have);
        if (got < 0) die("read", strerror(errno));
        have += (size_t)got;
        /* the complete datoms at the front */
        size_t cut = 0;
        if (edn) {
            for (size_t i = have; i > 0; i--)
                if (buf[i - 1] == '\n') {
                    cut = i;
                    break;
                }
            if (got == 0) cut = have;
        } else {
            size_t m;
            while ((m = mp_skip_value(buf + cut, have - cut)) != 0) cut += m;
        }
        int rc = edn ? dt_loader_add_edn(ld, (const char *)buf, cut)
                     : dt_loader_add_msgpack(ld, buf, cut);
        if (rc != DT_OK) die("add", dt_errmsg(ld));
        memmove(buf, buf + cut, have - cut);
        have -= cut;
        if (got == 0) break;
    }
    close(fd);
    free(buf);
    uint64_t n = 0;
    if (dt_loader_finish(ld, &n) != DT_OK) die("finish", dt_errmsg(ld));
    dt_loader_close(ld);
    if (dt_conn_close(c) != DT_OK) die("close", dt_errmsg(c));
    out->secs = bench_now() - t0;
    out->count = n;
    out->rss_kb = vm_hwm_kb();
    out->db_mb = file_mb(db_dir);
    return 0;
}

/* }====== */

/* {====== The raw LMDB limit ====== */

static void put_be(uint8_t *p, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static int cmp_key(const void *x, const void *y) {
    const uint8_t *a = *(const uint8_t *const *)x, *b = *(const uint8_t *const *)y;
    size_t la = a[0], lb = b[0];
    int c = memcmp(a + 1, b + 1, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* The competent in-memory sort the raw limit uses: entries carry the key's
 * first 16 bytes as two big-endian integers (zero padded), compared as
 * integers; full keys are compared only when both prefixes tie.  An
 * introsort (quicksort, median of three, insertion sort for small
 * ranges, heap sort past the depth limit). */
typedef struct pent {
    uint64_t p0, p1;
    const uint8_t *k; /* [len][bytes] */
} pent;

static uint64_t be_pad(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) v = v << 8 | (i < n ? p[i] : 0);
    return v;
}

static void pent_set(pent *e, const uint8_t *k) {
    size_t n = k[0];
    e->p0 = be_pad(k + 1, n);
    e->p1 = be_pad(k + 9, n > 8 ? n - 8 : 0);
    e->k = k;
}

static inline int pent_less(const pent *a, const pent *b) {
    if (a->p0 != b->p0) return a->p0 < b->p0;
    if (a->p1 != b->p1) return a->p1 < b->p1;
    return cmp_key(&a->k, &b->k) < 0;
}

static void pent_swap(pent *a, pent *b) {
    pent t = *a;
    *a = *b;
    *b = t;
}

static void pent_heap_down(pent *v, size_t i, size_t n) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && pent_less(&v[m], &v[l])) m = l;
        if (l + 1 < n && pent_less(&v[m], &v[l + 1])) m = l + 1;
        if (m == i) return;
        pent_swap(&v[i], &v[m]);
        i = m;
    }
}

static void pent_sort(pent *v, size_t n, int limit) {
    while (n > 16) {
        if (limit-- == 0) {
            for (size_t i = n / 2; i-- > 0;) pent_heap_down(v, i, n);
            for (size_t i = n; i-- > 1;) {
                pent_swap(&v[0], &v[i]);
                pent_heap_down(v, 0, i);
            }
            return;
        }
        size_t mid = n / 2;
        if (pent_less(&v[mid], &v[0])) pent_swap(&v[mid], &v[0]);
        if (pent_less(&v[n - 1], &v[0])) pent_swap(&v[n - 1], &v[0]);
        if (pent_less(&v[n - 1], &v[mid])) pent_swap(&v[n - 1], &v[mid]);
        pent pivot = v[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (pent_less(&v[i], &pivot)) i++;
            while (pent_less(&pivot, &v[j])) j--;
            if (i >= j) break;
            pent_swap(&v[i], &v[j]);
            i++;
            j--;
        }
        size_t left = j + 1;
        if (left < n - left) {
            pent_sort(v, left, limit);
            v += left;
            n -= left;
        } else {
            pent_sort(v + left, n - left, limit);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        pent x = v[i];
        size_t j = i;
        while (j > 0 && pent_less(&x, &v[j - 1])) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sorts keys[0..n) with pent_sort (through a temporary entry array). */
static void sort_keys(uint8_t **keys, uint64_t n) {
    pent *v = malloc(n * sizeof *v);
    if (!v) die("raw", "out of memory");
    for (uint64_t i = 0; i < n; i++) pent_set(&v[i], keys[i]);
    int limit = 0;
    for (uint64_t k = n; k > 1; k >>= 1) limit += 2;
    pent_sort(v, n, limit);
    for (uint64_t i = 0; i < n; i++) keys[i] = (uint8_t *)v[i].k;
    free(v);
}

static void mdb_check(int rc, const char *what) {
    if (rc) die(what, mdb_strerror(rc));
}

static void write_sorted(MDB_env *env, const char *name, uint8_t **keys, uint64_t n) {
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "txn");
    mdb_check(mdb_dbi_open(txn, name, MDB_CREATE, &dbi), "dbi");
    mdb_check(mdb_cursor_open(txn, dbi, &cur), "cursor");
    uint8_t tx[8];
    put_be(tx, ((uint64_t)1 << 42) + 1, 8);
    MDB_val v = {8, tx};
    for (uint64_t i = 0; i < n; i++) {
        MDB_val k = {keys[i][0], keys[i] + 1};
        mdb_check(mdb_cursor_put(cur, &k, &v, MDB_APPEND), "append");
    }
    mdb_cursor_close(cur);
    mdb_check(mdb_txn_commit(txn), "commit");
}

static int raw_lmdb(const char *db_dir, uint64_t n, uint64_t seed, result *out) {
    mkdir(db_dir, 0755);
    MDB_env *env;
    mdb_check(mdb_env_create(&env), "env");
    mdb_check(mdb_env_set_mapsize(env, MAP_SIZE), "mapsize");
    mdb_check(mdb_env_set_maxdbs(env, 4), "maxdbs");
    mdb_check(mdb_env_open(env, db_dir, 0, 0644), "env open");
    uint64_t nent = n / 4 ? n / 4 : 1;
    /* keys as [len][bytes] in one arena; the datoms are generated first so
     * that only index work is timed */
    gen_datom *ds = malloc(n * sizeof *ds);
    for (uint64_t i = 0; i < n; i++) datom_at(i, nent, seed, &ds[i]);
    double t0 = bench_now();
    uint8_t *arena_e = malloc(n * 64), *arena_a = malloc(n * 64);
    uint8_t **ke = malloc(n * sizeof *ke), **ka = malloc(n * sizeof *ka);
    if (!ds || !arena_e || !arena_a || !ke || !ka) die("raw", "out of memory");
    size_t pe = 0, pa = 0;
    for (uint64_t i = 0; i < n; i++) {
        const gen_datom *d = &ds[i];
        dt_value v;
        if (d->a == 0)
            dt_value_long(d->num, &v);
        else if (d->a == 3)
            dt_value_ref(d->num, &v);
        else {
            v.type = DT_STRING;
            v.u.s.ptr = (char *)d->str;
            v.u.s.len = strlen(d->str);
        }
        uint8_t enc[64];
        size_t elen = 0;
        if (dt_value_encode_to(&v, enc, sizeof enc, &elen) != DT_OK) die("encode", dt_errmsg(NULL));
        uint32_t aid = 16 + (uint32_t)d->a;
        uint8_t *k = arena_e + pe;
        k[0] = (uint8_t)(12 + elen);
        put_be(k + 1, (uint64_t)d->e, 8);
        put_be(k + 9, aid, 4);
        memcpy(k + 13, enc, elen);
        ke[i] = k;
        pe += 13 + elen;
        k = arena_a + pa;
        k[0] = (uint8_t)(12 + elen);
        put_be(k + 1, aid, 4);
        memcpy(k + 5, enc, elen);
        put_be(k + 5 + elen, (uint64_t)d->e, 8);
        ka[i] = k;
        pa += 13 + elen;
    }
    double t1 = bench_now();
    sort_keys(ke, n);
    sort_keys(ka, n);
    double t2 = bench_now();
    write_sorted(env, "eav", ke, n);
    write_sorted(env, "ave", ka, n);
    mdb_env_close(env);
    double t3 = bench_now();
    out->secs = t3 - t0;
    out->count = n;
    out->extra[0] = t1 - t0;
    out->extra[1] = t2 - t1;
    out->extra[2] = t3 - t2;
    out->rss_kb = vm_hwm_kb();
    out->db_mb = file_mb(db_dir);
    free(ds);
    free(arena_e);
    free(arena_a);
    free(ke);
    free(ka);
    return 0;
}

/* }====== */

/* {====== Runs in child processes ====== */

enum { IMPL_MSGPACK, IMPL_EDN, IMPL_RAW };
static const char *IMPL_NAMES[] = {"loader-msgpack", "loader-edn", "raw-lmdb"};

typedef struct job {
    int impl;
    const char *schema;
    const char *input;
    uint64_t n, seed;
} job;

/* Runs one job in a fresh child with a fresh database directory. */
static result run_child(const job *j) {
    int fds[2];
    if (pipe(fds) != 0) die("pipe", strerror(errno));
    char *db_dir = path_in(tmproot, "db");
    bench_rm_rf(db_dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("fork", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        result r;
        memset(&r, 0, sizeof r);
        if (j->impl == IMPL_RAW)
            raw_lmdb(db_dir, j->n, j->seed, &r);
        else
            load_file(db_dir, j->schema, j->input, j->impl == IMPL_EDN, &r);
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
        _exit(0);
    }
    close(fds[1]);
    result r;
    memset(&r, 0, sizeof r);
    ssize_t got = read(fds[0], &r, sizeof r);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die(IMPL_NAMES[j->impl], "the child failed");
    bench_rm_rf(db_dir);
    free(db_dir);
    return r;
}

typedef struct summary {
    const char *dataset;
    const char *impl;
    uint64_t datoms;
    double med_s, min_s, max_s, rss_mb, db_mb;
    double ratio_med, ratio_min, ratio_max; /* per-run rate / raw's rate in that run */
    int has_ratio;
    int runs;
} summary;

static summary summaries[64];
static int nsum;

/*
 * Runs jobs[0..njobs) `runs` times each, interleaved: every run measures
 * each job once, in an order that rotates from run to run, so a slow
 * stretch of the machine (fsync times swing here) hits every
 * implementation alike.  jobs[0] must be the raw reference when
 * `raw_first` is set: the ratio of each job's rate to raw's rate in the
 * same run is kept, and their median and spread reported.
 */
static void measure_set(const char *dataset, const job *jobs, int njobs, int runs, int raw_first) {
    double secs[8][MAX_RUNS];
    long rss[8] = {0};
    uint64_t count[8] = {0};
    double extra[8][3] = {{0}}, db_mb[8] = {0};
    for (int i = 0; i < runs; i++) {
        for (int k = 0; k < njobs; k++) {
            int jx = (k + i) % njobs;
            result r = run_child(&jobs[jx]);
            db_mb[jx] = r.db_mb;
            secs[jx][i] = r.secs;
            if (r.rss_kb > rss[jx]) rss[jx] = r.rss_kb;
            count[jx] = r.count;
            for (int e = 0; e < 3; e++) extra[jx][e] += r.extra[e] / runs;
        }
    }
    for (int jx = 0; jx < njobs; jx++) {
        summary *s = &summaries[nsum++];
        const job *j = &jobs[jx];
        double ratios[MAX_RUNS];
        s->has_ratio = raw_first && jx > 0;
        if (s->has_ratio) {
            for (int i = 0; i < runs; i++)
                ratios[i] = ((double)count[jx] / secs[jx][i]) / ((double)count[0] / secs[0][i]);
            bench_spread sp = bench_ratio_stats(ratios, (size_t)runs);
            s->ratio_med = sp.median;
            s->ratio_min = sp.min;
            s->ratio_max = sp.max;
        }
        double sorted[MAX_RUNS];
        memcpy(sorted, secs[jx], sizeof(double) * (size_t)runs);
        bench_spread st = bench_ratio_stats(sorted, (size_t)runs);
        s->dataset = dataset;
        s->impl = IMPL_NAMES[j->impl];
        s->datoms = count[jx];
        s->runs = runs;
        s->med_s = st.median;
        s->min_s = st.min;
        s->max_s = st.max;
        s->rss_mb = (double)rss[jx] / 1024.0;
        s->db_mb = db_mb[jx];
        printf("{\"bench\":\"init\",\"dataset\":\"%s\",\"impl\":\"%s\",\"datoms\":%llu,"
               "\"runs\":%d,\"median_s\":%.3f,\"min_s\":%.3f,\"max_s\":%.3f,"
               "\"datoms_per_s\":%.0f,\"peak_rss_mb\":%.1f,\"db_mb\":%.1f",
               dataset, s->impl, (unsigned long long)count[jx], runs, s->med_s, s->min_s, s->max_s,
               (double)count[jx] / s->med_s, s->rss_mb, s->db_mb);
        if (s->has_ratio)
            printf(",\"vs_raw_median\":%.3f,\"vs_raw_min\":%.3f,\"vs_raw_max\":%.3f", s->ratio_med,
                   s->ratio_min, s->ratio_max);
        if (j->impl == IMPL_RAW)
            printf(",\"build_s\":%.3f,\"sort_s\":%.3f,\"write_s\":%.3f", extra[jx][0], extra[jx][1],
                   extra[jx][2]);
        printf("}\n");
        fflush(stdout);
    }
}

/* }====== */

/* {====== The people dataset ====== */

typedef struct idmap {
    int64_t *keys;
    int64_t *vals;
    size_t n, cap;
} idmap;

static int64_t tempid_to_id(idmap *m, int64_t tempid, int64_t *next) {
    /* linear probing on negative tempids */
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        int64_t *k = calloc(cap, sizeof *k), *v = calloc(cap, sizeof *v);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t j = (size_t)(m->keys[i] * -2654435761ll) & (cap - 1);
            while (k[j]) j = (j + 1) & (cap - 1);
            k[j] = m->keys[i];
            v[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = k;
        m->vals = v;
        m->cap = cap;
    }
    size_t j = (size_t)(tempid * -2654435761ll) & (m->cap - 1);
    while (m->keys[j] && m->keys[j] != tempid) j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        m->keys[j] = tempid;
        m->vals[j] = (*next)++;
        m->n++;
    }
    return m->vals[j];
}

static void mp_write_datom(FILE *f, int64_t e, const dt_value *attr, const dt_value *v) {
    dt_value rec;
    if (dt_value_seq(DT_VECTOR, 3, &rec) != DT_OK) die("people", "out of memory");
    dt_value_long(e, &rec.u.seq.items[0]);
    rec.u.seq.items[1] = *attr;
    rec.u.seq.items[2] = *v;
    void *b = NULL;
    size_t n = 0;
    if (dt_msgpack_encode(&rec, &b, &n) != DT_OK) die("people", dt_errmsg(NULL));
    fwrite(b, 1, n, f);
    dt_free(b);
    dt_value_nil(&rec.u.seq.items[1]);
    dt_value_nil(&rec.u.seq.items[2]);
    dt_value_free(&rec);
}

/* Converts the people tx-data into prepared datoms; returns their count. */
static uint64_t prepare_people(const char *edn_path, const char *mp_path) {
    FILE *f = fopen(edn_path, "rb");
    if (!f) die(edn_path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) die(edn_path, "short read");
    fclose(f);
    dt_value tx;
    if (dt_edn_read(text, (size_t)len, &tx) != DT_OK) die(edn_path, dt_errmsg(NULL));
    free(text);
    FILE *out = fopen(mp_path, "wb");
    if (!out) die(mp_path, strerror(errno));
    idmap ids = {0};
    int64_t next = 1;
    uint64_t count = 0;
    for (size_t i = 0; i < tx.u.seq.n; i++) {
        const dt_value *m = &tx.u.seq.items[i];
        int64_t e = 0;
        for (size_t k = 0; k + 1 < m->u.seq.n; k += 2)
            if (!strcmp(m->u.seq.items[k].u.s.ptr, "db/id"))
                e = tempid_to_id(&ids, m->u.seq.items[k + 1].u.i, &next);
        if (!e) e = next++;
        for (size_t k = 0; k + 1 < m->u.seq.n; k += 2) {
            const dt_value *a = &m->u.seq.items[k], *v = &m->u.seq.items[k + 1];
            if (!strcmp(a->u.s.ptr, "db/id")) continue;
            if (v->type == DT_VECTOR || v->type == DT_LIST || v->type == DT_SET) {
                for (size_t j = 0; j < v->u.seq.n; j++, count++)
                    mp_write_datom(out, e, a, &v->u.seq.items[j]);
            } else {
                mp_write_datom(out, e, a, v);
                count++;
            }
        }
    }
    fclose(out);
    dt_value_free(&tx);
    free(ids.keys);
    free(ids.vals);
    return count;
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)len + 1);
    size_t got = fread(t, 1, (size_t)len, f);
    t[got] = '\0';
    fclose(f);
    return t;
}

/* }====== */

int main(int argc, char **argv) {
    int runs = 0;
    const char *dir = getenv("TMPDIR");
    /* the shared data beside the checkout, or where DT_SHARED_DIR says */
    const char *shared = getenv("DT_SHARED_DIR");
#ifdef DT_BENCH_SHARED_DIR
    if (!shared || !*shared) shared = DT_BENCH_SHARED_DIR;
#endif
    if (!shared || !*shared) shared = "../shared";
    char people_buf[4096], schema_buf[4096];
    snprintf(people_buf, sizeof people_buf, "%s/bench/people20k.edn", shared);
    snprintf(schema_buf, sizeof schema_buf, "%s/bench/bench-schema.edn", shared);
    const char *people = people_buf, *people_schema = schema_buf;
    uint64_t ns[16];
    int nn = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-r") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-m") && i + 1 < argc)
            mem_budget = (size_t)strtoull(argv[++i], NULL, 10) << 20;
        else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            const char *a = argv[++i];
            chunk_size = !strcmp(a, "max") ? SIZE_MAX : (size_t)strtoull(a, NULL, 10) << 20;
        } else if (!strcmp(argv[i], "-d") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "-p") && i + 1 < argc)
            people = argv[++i];
        else if (!strcmp(argv[i], "-s") && i + 1 < argc)
            people_schema = argv[++i];
        else if (nn < 16)
            ns[nn++] = strtoull(argv[i], NULL, 10);
    }
    if (nn == 0) {
        ns[0] = 1000000;
        ns[1] = 5000000;
        ns[2] = 10000000;
        nn = 3;
    }
    if (runs < 1 || runs > MAX_RUNS) runs = runs > MAX_RUNS ? MAX_RUNS : 5;
    if (!dir || !*dir) dir = "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/init_bench-XXXXXX", dir);
    if (!mkdtemp(tmpl)) die("mkdtemp", strerror(errno));
    tmproot = tmpl;
    const uint64_t seed = 42;
    static char labels[16][32];
    for (int i = 0; i < nn; i++) {
        if (ns[i] == 0) continue;
        char *mp = path_in(tmproot, "datoms.msgpack"), *edn = path_in(tmproot, "datoms.edn");
        write_inputs(ns[i], seed, mp, edn);
        snprintf(labels[i], sizeof labels[i], "synthetic-%llu", (unsigned long long)ns[i]);
        job js[3] = {{IMPL_RAW, SCHEMA, NULL, ns[i], seed},
                     {IMPL_MSGPACK, SCHEMA, mp, ns[i], seed},
                     {IMPL_EDN, SCHEMA, edn, ns[i], seed}};
        measure_set(labels[i], js, 3, runs, 1);
        remove(mp);
        remove(edn);
        free(mp);
        free(edn);
    }
    char *schema = read_text(people_schema);
    if (schema && access(people, R_OK) == 0) {
        char *mp = path_in(tmproot, "people.msgpack");
        uint64_t count = prepare_people(people, mp);
        printf("{\"bench\":\"init\",\"dataset\":\"people20k\",\"prepared_datoms\":%llu}\n",
               (unsigned long long)count);
        job j = {IMPL_MSGPACK, schema, mp, 0, 0};
        measure_set("people20k", &j, 1, runs, 0);
        remove(mp);
        free(mp);
    } else {
        fprintf(stderr, "init_bench: %s or %s not readable: people skipped\n", people,
                people_schema);
    }
    free(schema);
    bench_rm_rf(tmproot);

    printf("\n%-20s %-15s %10s %9s %12s %18s %9s %8s\n", "dataset", "impl", "datoms", "median s",
           "datoms/s", "vs raw [min,max]", "peak MB", "db MB");
    for (int i = 0; i < nsum; i++) {
        const summary *s = &summaries[i];
        char ratio[40] = "-";
        if (s->has_ratio)
            snprintf(ratio, sizeof ratio, "%.0f%% [%.0f,%.0f]", 100 * s->ratio_med,
                     100 * s->ratio_min, 100 * s->ratio_max);
        printf("%-20s %-15s %10llu %9.3f %12.0f %18s %9.1f %8.1f\n", s->dataset, s->impl,
               (unsigned long long)s->datoms, s->med_s, (double)s->datoms / s->med_s, ratio,
               s->rss_mb, s->db_mb);
    }
    return 0;
}
