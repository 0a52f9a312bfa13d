/*
 * result.h -- the result stage of a query run (query layer): from the
 * rows an evaluator found (exec.h) to the dt_result the public API hands
 * out.  Shared by both evaluators, so they differ only in how they find
 * rows.
 */
#ifndef DQ_RESULT_H
#define DQ_RESULT_H

#include "exec.h"

/*
 * dq_result_build: turns `rows` (over dq_find_columns' columns, a
 * multiset) into the result of x's query: set semantics over the find and
 * :with variables; aggregates grouped by the other find elements (none
 * over zero rows); pull elements (pulled from the element's source);
 * the find shape and :keys/:strs/:syms.  patterns[i] is the value of
 * :in entry i when it is a pull pattern input (else unused; NULL when
 * the query has none).  *out owns copies of every cell; it may take
 * over rows' cell array (rows is then left empty, ready to release).
 * DT_OK, DT_INVALID (an aggregate or pull failed; message on NULL),
 * DT_NOMEM.
 */
int dq_result_build(dq_exec *x, dq_table *rows, const dt_value *const *patterns, dt_result **out);

#endif
