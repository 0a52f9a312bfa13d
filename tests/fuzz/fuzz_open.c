/*
 * fuzz_open.c -- opening a damaged database file.  A valid database is
 * built once; each input replaces the start of its data.mdb, which holds
 * LMDB's two meta pages (format, page size, map size, last page, the
 * roots of the trees and the transaction id: what open reads before
 * anything else), except the fields in KEPT below.  LMDB keeps no
 * checksums, so damage below the roots is out of this target's reach
 * (see docs/fuzzing.md).  Opening then either
 * fails with an error, or gives a connection whose datoms can be read to
 * the end or fail with an error; it never crashes.
 */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datolite.h"
#include "fuzz.h"

enum { META_PAGE = 4096, META_BYTES = 2 * META_PAGE };

/*
 * Meta fields kept from the valid image (offsets in each meta page,
 * x86-64).  Open checks the page size, the two tree roots and the last
 * page number against the file before LMDB maps it (kv.c,
 * check_meta_pages), so those are fuzzed too; what stays out of reach is
 * a root that is in range but points at the wrong page, which only a walk
 * of the trees (dt_check) can find.  The table is empty for now and kept
 * for fields a future LMDB may trust.
 */
static const struct {
    size_t off, len;
} KEPT[] = {
    {0, 0},
};

static char base_dir[64], dir[64];
static uint8_t *image;
static size_t image_len;

static int rm_entry(const char *p, const struct stat *sb, int fl, struct FTW *ftw) {
    (void)sb;
    (void)fl;
    (void)ftw;
    return remove(p);
}

static void cleanup(void) {
    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(image);
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    FUZZ_CHECK(p && fread(p, 1, (size_t)n, f) == (size_t)n, "reading %s", path);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* A small database: a schema, some entities, a retraction, two commits. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(base_dir, sizeof base_dir, "/tmp/dt_fuzz_open_XXXXXX");
    snprintf(dir, sizeof dir, "/tmp/dt_fuzz_open_XXXXXX");
    FUZZ_CHECK(mkdtemp(base_dir) && mkdtemp(dir), "mkdtemp");
    atexit(cleanup);
    dt_conn *c = NULL;
    int rc = dt_conn_open(base_dir,
                          "{:p/name {:db/valueType :db.type/string :db/unique "
                          ":db.unique/identity} :p/age {:db/valueType :db.type/long}}",
                          NULL, &c);
    FUZZ_CHECK(rc == DT_OK, "open: %s", dt_errmsg(NULL));
    FUZZ_CHECK(dt_transact(c, "[{:p/name \"ann\" :p/age 31} {:p/name \"bob\" :p/age 42}]", NULL) ==
                   DT_OK,
               "transact: %s", dt_errmsg(c));
    FUZZ_CHECK(dt_transact(c, "[[:db/retract [:p/name \"bob\"] :p/age 42]]", NULL) == DT_OK,
               "retract: %s", dt_errmsg(c));
    FUZZ_CHECK(dt_conn_close(c) == DT_OK, "close");
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", base_dir);
    image = read_all(path, &image_len);
    FUZZ_CHECK(image_len >= META_BYTES, "a database of %zu bytes", image_len);
    const char *seed = getenv("DT_FUZZ_WRITE_SEED"); /* how tests/fuzz/corpus/open was made */
    if (seed) {
        FILE *f = fopen(seed, "wb");
        FUZZ_CHECK(f && fwrite(image, 1, META_BYTES, f) == META_BYTES, "writing %s", seed);
        fclose(f);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[128];
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    uint8_t meta[META_BYTES];
    size_t n = size < META_BYTES ? size : META_BYTES;
    memcpy(meta, data, n);
    memcpy(meta + n, image + n, META_BYTES - n);
    for (size_t m = 0; m < META_BYTES; m += META_PAGE)
        for (size_t k = 0; k < sizeof KEPT / sizeof *KEPT; k++)
            memcpy(meta + m + KEPT[k].off, image + m + KEPT[k].off, KEPT[k].len);
    FUZZ_CHECK(fwrite(meta, 1, META_BYTES, f) == META_BYTES, "write");
    FUZZ_CHECK(fwrite(image + META_BYTES, 1, image_len - META_BYTES, f) == image_len - META_BYTES,
               "write");
    fclose(f);

    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.map_size = (uint64_t)64 << 20;
    dt_conn *c = NULL;
    int rc = dt_conn_open(dir, NULL, &o, &c);
    if (rc != DT_OK) {
        FUZZ_CHECK(c == NULL, "a failed open returned a connection");
        FUZZ_CHECK(dt_errmsg(NULL)[0] != '\0', "a failed open (%d) set no message", rc);
        return 0;
    }
    dt_db *db = NULL;
    if (dt_conn_db(c, &db) == DT_OK) {
        dt_datom_iter *it = NULL;
        if (dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it) == DT_OK) {
            dt_datom d;
            long rows = 0;
            while (dt_datom_iter_next(it, &d) == DT_ROW && rows < 100000) rows++;
            dt_datom_iter_close(it);
        }
        dt_db_close(db);
    }
    dt_conn_close(c);
    return 0;
}
