/* consumer.c -- a program built against an installed Datolite (by
 * tests/install/test_install.sh, once through pkg-config and once through
 * find_package): opens a database in a temporary directory, transacts one
 * entity, reads its datom back and prints it.  Exits 0 only if all of that
 * gave exactly what was written. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <datolite.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, int rc, const void *handle) {
    fprintf(stderr, "consumer: %s: %s (%s)\n", what, dt_errstr(rc), dt_errmsg(handle));
    return 1;
}

int main(void) {
    if (strcmp(dt_version(), DT_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: library %s, header %s\n", dt_version(), DT_VERSION_STRING);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/datolite-consumer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("consumer: mkdtemp");
        return 1;
    }
    /* DT_KV_TEMP: the directory is deleted when the connection closes. */
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = DT_KV_TEMP;
    dt_conn *conn = NULL;
    int rc = dt_conn_open(dir, "{:person/name {:db/valueType :db.type/string}}", &o, &conn);
    if (rc != DT_OK) return fail("dt_conn_open", rc, NULL);

    int status = 1;
    dt_report *rep = NULL;
    dt_db *db = NULL;
    dt_datom_iter *it = NULL;
    int64_t e = 0;
    rc = dt_transact(conn, "[{:db/id \"ada\" :person/name \"Ada Lovelace\"}]", &rep);
    if (rc != DT_OK) {
        fail("dt_transact", rc, conn);
        goto done;
    }
    dt_value tempid;
    if ((rc = dt_value_text(DT_STRING, "ada", 3, &tempid)) != DT_OK) goto done;
    rc = dt_report_tempid(rep, &tempid, &e);
    dt_value_free(&tempid);
    if (rc != DT_OK) {
        fail("dt_report_tempid", rc, NULL);
        goto done;
    }
    if ((rc = dt_conn_db(conn, &db)) != DT_OK) {
        fail("dt_conn_db", rc, conn);
        goto done;
    }
    dt_value comp[2];
    dt_value_ref(e, &comp[0]);
    if ((rc = dt_value_text(DT_KEYWORD, "person/name", 11, &comp[1])) != DT_OK) goto done;
    rc = dt_db_datoms(db, DT_INDEX_EAV, comp, 2, &it);
    dt_value_free(&comp[1]);
    if (rc != DT_OK) {
        fail("dt_db_datoms", rc, db);
        goto done;
    }
    dt_datom d;
    rc = dt_datom_iter_next(it, &d);
    if (rc != DT_ROW || d.e != e || strcmp(d.a, "person/name") != 0 || d.v.type != DT_STRING ||
        strcmp(d.v.u.s.ptr, "Ada Lovelace") != 0 || d.tx != dt_report_tx(rep)) {
        fail("reading the datom back", rc, it);
        goto done;
    }
    printf("[%lld :%s \"%s\"]\n", (long long)d.e, d.a, d.v.u.s.ptr);
    if ((rc = dt_datom_iter_next(it, &d)) != DT_DONE) {
        fail("a second datom", rc, it);
        goto done;
    }
    status = 0;
done:
    dt_datom_iter_close(it);
    dt_db_close(db);
    dt_report_close(rep);
    rc = dt_conn_close(conn);
    if (rc != DT_OK) return fail("dt_conn_close", rc, NULL);
    return status;
}
