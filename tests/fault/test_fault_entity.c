/*
 * test_fault_entity.c -- entity reads, navigation, touch, staging,
 * transacting an entity and reading the log with the Nth allocation
 * failing, for every N until the operation succeeds: each failure is
 * DT_NOMEM with an "out of memory" message of its own on the handle the
 * operation reports on, leaks nothing (ASan) and changes nothing.
 */
#include "faultutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *SCHEMA =
    "{:p/email {:db/valueType :db.type/string :db/unique :db.unique/identity}"
    " :p/name {:db/valueType :db.type/string}"
    " :p/friend {:db/valueType :db.type/ref :db/cardinality :db.cardinality/many}"
    " :p/pet {:db/valueType :db.type/ref :db/isComponent true}"
    " :p/tags {:db/valueType :db.type/keyword :db/cardinality :db.cardinality/many}}";

static int op_entity_reads(dt_conn *c, const void **msg_on) {
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_value ref = DT_VALUE_NIL, v = DT_VALUE_NIL, t = DT_VALUE_NIL;
    dt_entity *e = NULL, *f = NULL, **list = NULL;
    size_t n = 0;
    rc = tu_fault_on(c, NULL, dt_edn_read("[:p/email \"a@x\"]", 16, &ref));
    if (rc == DT_OK) rc = tu_fault_on(c, db, dt_entity_get(db, &ref, &e));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_attr(e, ":p/tags", &v));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_refs(e, ":p/friend", &list, &n));
    if (rc == DT_OK) rc = tu_fault_on(c, list[0], dt_entity_attr(list[0], ":p/_friend", &t));
    dt_value_free(&t);
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_touch(e, &t));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_get_ref(e, ":p/pet", &f));
    dt_entity_close(f);
    dt_entity_list_close(list, n);
    dt_entity_close(e);
    dt_value_free(&ref);
    dt_value_free(&v);
    dt_value_free(&t);
    dt_db_close(db);
    return rc;
}

static int op_stage_and_transact(dt_conn *c, const void **msg_on) {
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_value ref, name = DT_VALUE_NIL, tags = DT_VALUE_NIL, fr = DT_VALUE_NIL, tx = DT_VALUE_NIL;
    dt_value_long(1, &ref);
    dt_entity *e = NULL;
    rc = tu_fault_on(c, db, dt_entity_get(db, &ref, &e));
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_edn_read("\"A2\"", 4, &name));
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_edn_read("#{:u :v}", 8, &tags));
    if (rc == DT_OK) rc = tu_fault_on(c, NULL, dt_edn_read("[:p/email \"b@x\"]", 16, &fr));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_assoc(e, ":p/name", &name));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_assoc(e, ":p/tags", &tags));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_retract(e, ":p/friend", &fr));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_retract_attr(e, ":p/pet"));
    if (rc == DT_OK) rc = tu_fault_on(c, e, dt_entity_tx_data(e, &tx));
    if (rc == DT_OK) rc = dt_transact_entity(c, e, NULL);
    dt_value_free(&tx);
    dt_value_free(&name);
    dt_value_free(&tags);
    dt_value_free(&fr);
    dt_entity_close(e);
    dt_db_close(db);
    return rc;
}

static int op_log(dt_conn *c, const void **msg_on) {
    dt_db *db = NULL;
    int rc = dt_conn_db(c, &db);
    if (rc != DT_OK) return rc;
    dt_log *log = NULL;
    rc = tu_fault_on(c, db, dt_log_open(db, 0, 0, &log));
    dt_log_tx t;
    while (rc == DT_OK && (rc = dt_log_next(log, &t)) == DT_ROW) rc = DT_OK;
    if (rc == DT_DONE) rc = DT_OK;
    if (rc != DT_OK && log) tu_fault_on(c, log, rc);
    dt_log_close(log);
    dt_db_close(db);
    return rc;
}

static void test_entities_and_log_fail_cleanly_at_every_allocation(void **state) {
    (void)state;
    tu_db *d = tu_db_open(SCHEMA);
    tu_tx(d->conn,
          "[{:db/id \"a\" :p/email \"a@x\" :p/name \"A\" :p/friend [\"b\"] :p/tags [:x :y]"
          "  :p/pet {:pet/name \"Rex\"}}"
          " {:db/id \"b\" :p/email \"b@x\"} {:db/id \"datomic.tx\" :app/by \"me\"}]",
          DT_OK, 0);
    tu_fail_each_alloc(d, op_entity_reads, NULL, "entity reads");
    tu_fail_each_alloc(d, op_log, NULL, "log");
    tu_fail_each_alloc(d, op_stage_and_transact, NULL, "staging and transacting an entity");
    /* retracting the component attribute :p/pet retracted the pet too */
    tu_assert_dump(d->conn, "[1 :p/email \"a@x\"]\n[1 :p/name \"A2\"]\n[1 :p/tags :u]\n"
                            "[1 :p/tags :v]\n[2 :p/email \"b@x\"]");
    tu_db_close(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entities_and_log_fail_cleanly_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
