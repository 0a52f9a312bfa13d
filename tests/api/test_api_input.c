/* test_api_input.c -- input is read whole or refused: text passed with a
 * length is read to its end (a NUL byte or malformed UTF-8 anywhere is an
 * error naming the byte position, and nothing changes), and a tempid used
 * only as a value is an error, through the public header only. */
#include "dbutil.h"

#include <stdlib.h>
#include <string.h>

#define NUL_TX      "[[:db/add 1 :p/a 1]]\0[[:db/add 1 :p/b 2"
#define NUL_TX_LEN  (sizeof NUL_TX - 1)
#define BAD_UTF8_TX "[[:db/add 1 :p/s \"x\xc3(\"]]"

/* Asserts that the database's datoms (tx entities included) are `before`. */
static void assert_unchanged(dt_conn *conn, const char *before) {
    char *now = tu_dump(conn, 1);
    assert_string_equal(now, before);
    free(now);
}

static void assert_msg(const void *handle, const char *needle) {
    if (!strstr(dt_errmsg(handle), needle))
        fail_msg("message \"%s\" lacks \"%s\"", dt_errmsg(handle), needle);
}

static void test_transact_text_reads_all_of_it(void **state) {
    (void)state;
    tu_db *d = tu_db_open(NULL);
    tu_tx(d->conn, "[[:db/add 1 :p/a 0]]", DT_OK, 0);
    char *before = tu_dump(d->conn, 1);
    assert_int_equal(dt_transact_text(d->conn, NUL_TX, NUL_TX_LEN, NULL), DT_INVALID);
    assert_msg(d->conn, "NUL byte at byte offset 20 at 1:21");
    assert_int_equal(dt_transact_text(d->conn, BAD_UTF8_TX, strlen(BAD_UTF8_TX), NULL), DT_INVALID);
    assert_msg(d->conn, "malformed UTF-8 (byte 0xC3) at byte offset 19 at 1:20");
    assert_unchanged(d->conn, before);
    /* the length, not a terminator, ends the text */
    const char buf[] = "[[:db/add 1 :p/a 5]]garbage";
    assert_int_equal(dt_transact_text(d->conn, buf, 20, NULL), DT_OK);
    tu_assert_dump(d->conn, "[1 :p/a 5]");
    assert_int_equal(dt_transact_text(d->conn, NULL, 0, NULL), DT_INVALID); /* no form */
    free(before);
    tu_db_close(d);
}

static void test_every_text_entry_point_refuses_a_nul_byte(void **state) {
    (void)state;
    tu_db *d = tu_db_open("{:p/a {:db/valueType :db.type/long}}");
    tu_tx(d->conn, "[[:db/add 1 :p/a 0]]", DT_OK, 0);
    char *before = tu_dump(d->conn, 1);
    char *schema_before = NULL;
    assert_int_equal(dt_conn_schema(d->conn, &schema_before), DT_OK);

    static const char schema[] = "{:p/x {:db/valueType :db.type/long}}\0{:p/y 1}";
    assert_int_equal(dt_conn_update_schema_text(d->conn, schema, sizeof schema - 1), DT_INVALID);
    assert_msg(d->conn, "NUL byte at byte offset 36");

    dt_future *f = NULL;
    assert_int_equal(dt_transact_async_text(d->conn, NUL_TX, NUL_TX_LEN, NULL, NULL, &f),
                     DT_INVALID);
    assert_null(f);
    assert_msg(d->conn, "NUL byte");

    dt_txn *tx = NULL;
    assert_int_equal(dt_txn_begin(d->conn, &tx), DT_OK);
    assert_int_equal(dt_txn_transact_text(tx, NUL_TX, NUL_TX_LEN, NULL), DT_INVALID);
    assert_msg(tx, "NUL byte at byte offset 20");
    dt_txn_abort(tx);

    /* import: refused whole, so not even the first batch is committed */
    assert_int_equal(dt_import_edn(d->conn, "[[:db/add 1 :p/a 7]\0]", 21, 1, NULL), DT_INVALID);
    assert_msg(d->conn, "NUL byte at byte offset 19");

    dt_loader *ld = NULL;
    assert_int_equal(dt_loader_open(d->conn, DT_LOAD_FILL, NULL, &ld), DT_OK);
    static const char datoms[] = "[2 :p/a 1]\n[3 :p/a \"\xe2\x82\"]";
    assert_int_equal(dt_loader_add_edn(ld, datoms, sizeof datoms - 1), DT_INVALID);
    dt_loader_close(ld);

    assert_unchanged(d->conn, before);
    char *schema_after = NULL;
    assert_int_equal(dt_conn_schema(d->conn, &schema_after), DT_OK);
    assert_string_equal(schema_before, schema_after);
    dt_free(schema_before);
    dt_free(schema_after);
    /* the same entry points take good text */
    assert_int_equal(dt_transact_async_text(d->conn, "[[:db/add 1 :p/a 3]]", 20, NULL, NULL, &f),
                     DT_OK);
    assert_int_equal(dt_future_wait(f), DT_OK);
    dt_future_free(f);
    tu_assert_dump(d->conn, "[1 :p/a 3]");
    free(before);
    tu_db_close(d);
}

static void test_edn_reader_refuses_nul_and_malformed_utf8(void **state) {
    (void)state;
    dt_value v = DT_VALUE_NIL;
    /* in a string, a keyword, a comment, between forms */
    static const struct {
        const char *text;
        size_t len;
        const char *needle;
    } cases[] = {
        {"\"ab\0c\"", 6, "NUL byte at byte offset 3 at 1:4"},
        {"[1 2]\0", 6, "NUL byte at byte offset 5 at 1:6"},
        {"\"\xc3\xa9\xff\"", 5, "malformed UTF-8 (byte 0xFF) at byte offset 3 at 1:3"},
        {":k\xed\xa0\x80", 5, "malformed UTF-8 (byte 0xED) at byte offset 2"}, /* surrogate */
        {"1 ; \xc0\xaf comment", 15, "malformed UTF-8 (byte 0xC0) at byte offset 4"},
        {"\n\n  \xf8", 5, "malformed UTF-8 (byte 0xF8) at byte offset 4 at 3:3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(dt_edn_read(cases[i].text, cases[i].len, &v), DT_INVALID);
        assert_msg(NULL, cases[i].needle);
        assert_int_equal(v.type, DT_NIL);
    }
    /* valid UTF-8 of every length reads */
    static const char ok[] = "\"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"";
    assert_int_equal(dt_edn_read(ok, sizeof ok - 1, &v), DT_OK);
    assert_int_equal(v.u.s.len, 10);
    dt_value_free(&v);
    /* a streaming reader refuses the text whole: no form comes before the
     * error, which is sticky and positioned */
    dt_edn_reader *r = NULL;
    static const char many[] = "1 2 3 \xff 4";
    assert_int_equal(dt_edn_reader_new(many, sizeof many - 1, NULL, &r), DT_OK);
    assert_int_equal(dt_edn_reader_next(r, &v), DT_INVALID);
    assert_msg(r, "byte offset 6");
    size_t off = 0;
    assert_int_equal(dt_edn_reader_pos(r, NULL, NULL, &off), DT_OK);
    assert_int_equal(off, 6);
    assert_int_equal(dt_edn_reader_next(r, &v), DT_INVALID);
    dt_edn_reader_free(r);
}

static void test_msgpack_text_must_be_utf8(void **state) {
    (void)state;
    dt_value v = DT_VALUE_NIL;
    static const unsigned char bad[] = {0xa3, 'a', 0xff, 'b'}; /* str of 3 bytes */
    assert_int_equal(dt_msgpack_decode(bad, sizeof bad, &v, NULL), DT_CORRUPT);
    assert_msg(NULL, "malformed UTF-8 (byte 0xFF) in a string at byte 2");
    static const unsigned char nul[] = {0xa3, 'a', 0x00, 'b'}; /* "a\0b" is a fine string */
    assert_int_equal(dt_msgpack_decode(nul, sizeof nul, &v, NULL), DT_OK);
    assert_int_equal(v.u.s.len, 3);
    dt_value_free(&v);
    /* fill-db of a msgpack datom [1 "p/s" "a\xffb"] */
    tu_db *d = tu_db_open(NULL);
    static const unsigned char datom[] = {0x93, 0x01, 0xa3, 'p', '/', 's', 0xa3, 'a', 0xff, 'b'};
    dt_loader *ld = NULL;
    assert_int_equal(dt_loader_open(d->conn, DT_LOAD_FILL, NULL, &ld), DT_OK);
    assert_int_not_equal(dt_loader_add_msgpack(ld, datom, sizeof datom), DT_OK);
    dt_loader_close(ld);
    tu_assert_dump(d->conn, "");
    tu_db_close(d);
}

static void test_a_tempid_only_in_value_position_is_an_error(void **state) {
    (void)state;
    tu_db *d = tu_db_open("{:p/friend {:db/valueType :db.type/ref :db/cardinality "
                          ":db.cardinality/many} :p/best {:db/valueType :db.type/ref} :p/email "
                          "{:db/valueType :db.type/string "
                          ":db/unique :db.unique/identity}}");
    tu_tx(d->conn, "[{:db/id 1 :p/email \"a@x\"}]", DT_OK, 0);
    tu_assert_fails_unchanged(d->conn, "[[:db/add 1 :p/friend \"ghost\"]]", DT_INVALID,
                              "tempid \"ghost\" is used only as a value");
    tu_assert_fails_unchanged(d->conn, "[{:db/id 1 :p/friend [\"g1\" \"g2\"]}]", DT_INVALID,
                              "used only as a value");
    tu_assert_fails_unchanged(d->conn, "[{:db/id 1 :p/friend -3}]", DT_INVALID,
                              "tempid -3 is used only as a value");
    tu_assert_fails_unchanged(d->conn, "[[:db/cas 1 :p/best nil \"ghost\"]]", DT_INVALID,
                              "used only as a value");
    /* named as an entity anywhere in the transaction: fine */
    dt_report *r = tu_tx(d->conn,
                         "[[:db/add 1 :p/friend \"b\"] {:db/id \"b\" :p/email \"b@x\"}"
                         " {:db/id 1 :p/friend {:p/email \"c@x\"}}"
                         " {:db/id \"d\" :p/email \"d@x\" :p/_friend 1}]",
                         DT_OK, 1);
    assert_true(tu_tempid(r, "b") > 1);
    assert_true(tu_tempid(r, "d") > 1);
    dt_report_close(r);
    /* 1 has three friends now: b, the nested map's entity, and d */
    dt_db *db = NULL;
    assert_int_equal(dt_conn_db(d->conn, &db), DT_OK);
    dt_value comps[2] = {DT_VALUE_NIL, DT_VALUE_NIL};
    dt_value_long(1, &comps[0]);
    assert_int_equal(dt_value_text(DT_KEYWORD, "p/friend", 8, &comps[1]), DT_OK);
    uint64_t n = 0;
    assert_int_equal(dt_db_count_datoms(db, DT_INDEX_EAV, comps, 2, &n), DT_OK);
    assert_int_equal(n, 3);
    dt_value_free(&comps[1]);
    dt_db_close(db);
    /* an upserted tempid used as a value is an entity too */
    tu_tx(d->conn, "[{:db/id \"u\" :p/email \"a@x\"} [:db/add 1 :p/friend \"u\"]]", DT_OK, 0);
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transact_text_reads_all_of_it),
        cmocka_unit_test(test_every_text_entry_point_refuses_a_nul_byte),
        cmocka_unit_test(test_edn_reader_refuses_nul_and_malformed_utf8),
        cmocka_unit_test(test_msgpack_text_must_be_utf8),
        cmocka_unit_test(test_a_tempid_only_in_value_position_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
