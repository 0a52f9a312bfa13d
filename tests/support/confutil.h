/*
 * confutil.h -- helpers shared by the tests that run the cases of the
 * shared conformance suite (conformance/cases.edn beside the checkout):
 * reading the cases, looking into case maps, comparing values the way the
 * suite's README says (one number type; floats within a relative 1e-9),
 * loading a case's dataset, and a growing text buffer for the messages.
 */
#ifndef DT_CONFUTIL_H
#define DT_CONFUTIL_H

#include "dbutil.h"

/* {====== Text buffer ====== */

/* A growing text buffer for failure messages ({0} is empty). */
typedef struct tu_sbuf {
    char *p;
    size_t len, cap;
} tu_sbuf;

void tu_sb_printf(tu_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* }====== */

/* {====== Case maps ====== */

/* The value of keyword key `kw` (without ':') in map m, or NULL. */
const dt_value *tu_map_get(const dt_value *m, const char *kw);
/* 1 when v is the keyword `kw` (without ':'). */
int tu_is_kw(const dt_value *v, const char *kw);
/* 1 when v is the boolean true. */
int tu_is_true(const dt_value *v);
/* The NUL-terminated text of a string value; fails the test (naming the
 * case and `what`) when v is not a string. */
const char *tu_str_of(const dt_value *v, const char *case_id, const char *what);

/* A file under the shared folder, read whole (fails the test when missing). */
char *tu_read_shared(const char *relative);

/* Every case of conformance/cases.edn (a vector of maps); the caller
 * frees it with dt_value_free. */
dt_value tu_conf_cases(void);

/* }====== */

/* {====== Comparing values ====== */

/*
 * tu_values_match: `got` equals the expected `want` as the suite compares:
 * numbers numerically across long/ref/double/float (refs are entity ids,
 * written as plain integers in the expectations), a double on either side
 * within a relative 1e-9; vectors, lists and tuples element by element
 * (a tuple matches a vector); sets as sets; maps key by key, and inside
 * a map an expected set matches a vector with the same items (pulled
 * cardinality-many values compare as sets); anything else with
 * dt_value_equal.
 */
int tu_values_match(const dt_value *want, const dt_value *got);

/*
 * tu_multiset_match: the items want[0..nw) and got[0..ng) are equal as
 * multisets under tu_values_match (each wanted item pairs with a distinct
 * got item).  When not, and msg is not NULL, appends "missing" and
 * "unexpected" lines, indented by `indent`.
 */
int tu_multiset_match(const dt_value *want, size_t nw, const dt_value *got, size_t ng, tu_sbuf *msg,
                      const char *indent);

/* }====== */

/* {====== Datasets ====== */

/*
 * tu_conf_dataset: a database with the schema `schema` (a value, may be
 * NULL) and conformance/datasets/<name>.edn transacted into it.  Databases
 * are kept (keyed by name and schema) until tu_conf_datasets_close, so
 * cases on the same dataset share one load.  Returns the connection.
 */
dt_conn *tu_conf_dataset(const char *name, const dt_value *schema);
void tu_conf_datasets_close(void);

/* }====== */

/* {====== Running cases ====== */

/* Every case of an EDN file in the cases format (a vector of maps), by
 * path; the caller frees it with dt_value_free. */
dt_value tu_conf_cases_file(const char *path);

/*
 * tu_conf_run_q: runs one `:op :q` case through dt_q_inputs under plan
 * mode `plan` (inputs "$" are the case's dataset, loaded through
 * tu_conf_dataset).  Returns 1 when it conforms, else appends a report
 * (id, query, inputs, expected, actual) to msg and returns 0.  An :error
 * case must fail, an :error-allowed one may; DT_INTERNAL, DT_NOMEM and
 * DT_MISUSE never conform.  *divergent is set for a :known-divergence
 * case, which must run and whose result is printed for a human.
 */
int tu_conf_run_q(const dt_value *cs, dt_plan_mode plan, int *divergent, tu_sbuf *msg);

/* tu_conf_run_pull: one `:op :pull` / `:op :pull-many` case (dt_pull,
 * dt_pull_many on the case's dataset); 1 when it conforms, else appends
 * what differs to msg and returns 0. */
int tu_conf_run_pull(const dt_value *cs, tu_sbuf *msg);

/* tu_conf_run_tx: one `:op :tx` case on a fresh database; datoms, tempid
 * maps and report datoms compared as the README says.  1 when it
 * conforms, else appends the differences to msg and returns 0. */
int tu_conf_run_tx(const dt_value *cs, tu_sbuf *msg);

/* }====== */

#endif
