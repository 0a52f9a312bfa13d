/*
 * fuzz_transact.c -- dt_transact_value of fuzzed tx-data (EDN text)
 * against a small schema, on one database that lives for the run.  Input
 * that does not read as EDN is skipped (fuzz_edn covers the reader).  A
 * transaction either commits exactly one transaction, or fails with an
 * input error and leaves the database as it was (same basis and the same
 * number of datoms).  The database starts again every 1000 inputs so that
 * a long run stays small.
 */
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datolite.h"
#include "fuzz.h"

static const char *SCHEMA =
    "{:p/name {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/email {:db/valueType :db.type/string :db/unique :db.unique/value}"
    " :p/age {:db/valueType :db.type/long :db/index true}"
    " :p/score {:db/valueType :db.type/double}"
    " :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :p/part {:db/valueType :db.type/ref :db/isComponent true}"
    " :p/tag {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}"
    " :p/at {:db/valueType :db.type/instant}"
    " :p/id {:db/valueType :db.type/uuid}"
    " :p/ok {:db/valueType :db.type/boolean}"
    " :p/data {:db/valueType :db.type/bytes}}";

static char dir[64];
static dt_conn *conn;
static unsigned runs;

static int rm_entry(const char *p, const struct stat *sb, int fl, struct FTW *ftw) {
    (void)sb;
    (void)fl;
    (void)ftw;
    return remove(p);
}

static void close_db(void) {
    if (conn) FUZZ_CHECK(dt_conn_close(conn) == DT_OK, "close: %s", dt_errmsg(NULL));
    conn = NULL;
    if (dir[0]) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void open_db(void) {
    snprintf(dir, sizeof dir, "/tmp/dt_fuzz_tx_XXXXXX");
    FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = DT_KV_NOSYNC; /* a crash of the fuzzer loses nothing we need */
    int rc = dt_conn_open(dir, SCHEMA, &o, &conn);
    FUZZ_CHECK(rc == DT_OK, "open: %s", dt_errmsg(NULL));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    open_db();
    atexit(close_db);
    return 0;
}

/* The basis and the number of datoms (every index entry of EAV). */
static void state(int64_t *basis, long *datoms) {
    dt_db *db = NULL;
    FUZZ_CHECK(dt_conn_db(conn, &db) == DT_OK, "snapshot: %s", dt_errmsg(conn));
    *basis = dt_db_basis_tx(db);
    dt_datom_iter *it = NULL;
    FUZZ_CHECK(dt_db_datoms(db, DT_INDEX_EAV, NULL, 0, &it) == DT_OK, "datoms: %s", dt_errmsg(db));
    long n = 0;
    dt_datom d;
    int rc;
    while ((rc = dt_datom_iter_next(it, &d)) == DT_ROW) n++;
    FUZZ_CHECK(rc == DT_DONE, "iterating the datoms: %d", rc);
    dt_datom_iter_close(it);
    dt_db_close(db);
    *datoms = n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dt_value tx;
    if (dt_edn_read((const char *)data, size, &tx) != DT_OK) return 0;
    if (++runs % 1000 == 0) {
        close_db();
        open_db();
    }
    int64_t basis0, basis1;
    long n0, n1;
    state(&basis0, &n0);
    dt_report *r = NULL;
    int rc = dt_transact_value(conn, &tx, &r);
    state(&basis1, &n1);
    if (rc == DT_OK) {
        FUZZ_CHECK(
            r != NULL && dt_report_tx(r) == basis1 && basis1 == (basis0 ? basis0 : DT_TX0) + 1,
            "a commit moved the basis from %lld to %lld", (long long)basis0, (long long)basis1);
    } else {
        FUZZ_CHECK(r == NULL, "a failed transact returned a report");
        int primary = rc & 0xff; /* extended codes keep the primary in the low byte */
        FUZZ_CHECK(primary == DT_INVALID || primary == DT_SCHEMA || primary == DT_NOTFOUND ||
                       primary == DT_CONFLICT || primary == DT_TXFN || primary == DT_LIMIT,
                   "transact gave %d: %s", rc, dt_errmsg(conn));
        FUZZ_CHECK(basis1 == basis0 && n1 == n0,
                   "a refused transaction (%d: %s) changed the database: basis %lld -> %lld, "
                   "%ld -> %ld datoms",
                   rc, dt_errmsg(conn), (long long)basis0, (long long)basis1, n0, n1);
        FUZZ_CHECK(dt_errmsg(conn)[0] != '\0', "a failed transact set no message");
    }
    dt_report_close(r);
    dt_value_free(&tx);
    return 0;
}
