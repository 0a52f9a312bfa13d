/*
 * builtins.c -- the table of built-in query functions and aggregates
 * (query layer): names, ids, argument counts and kinds.  The parser checks
 * calls against it; the evaluator dispatches on the ids.
 */
#include <string.h>

#include "parse.h"

#define ANY (-1)

/* Ordered by id: dq_builtins[id].id == id (checked by the tests). */
const dq_builtin dq_builtins[DQ_FN_COUNT_] = {
    {"=", DQ_FN_EQ, 1, ANY, 0, DQ_FNK_PRED},
    {"==", DQ_FN_NUM_EQ, 1, ANY, 0, DQ_FNK_PRED},
    {"not=", DQ_FN_NOT_EQ, 1, ANY, 0, DQ_FNK_PRED},
    {"!=", DQ_FN_BANG_EQ, 1, ANY, 0, DQ_FNK_PRED},
    {"<", DQ_FN_LT, 1, ANY, 0, DQ_FNK_PRED},
    {">", DQ_FN_GT, 1, ANY, 0, DQ_FNK_PRED},
    {"<=", DQ_FN_LE, 1, ANY, 0, DQ_FNK_PRED},
    {">=", DQ_FN_GE, 1, ANY, 0, DQ_FNK_PRED},
    {"+", DQ_FN_ADD, 0, ANY, 0, DQ_FNK_VALUE},
    {"-", DQ_FN_SUB, 1, ANY, 0, DQ_FNK_VALUE},
    {"*", DQ_FN_MUL, 0, ANY, 0, DQ_FNK_VALUE},
    {"/", DQ_FN_DIV, 1, ANY, 0, DQ_FNK_VALUE},
    {"quot", DQ_FN_QUOT, 2, 2, 0, DQ_FNK_VALUE},
    {"rem", DQ_FN_REM, 2, 2, 0, DQ_FNK_VALUE},
    {"mod", DQ_FN_MOD, 2, 2, 0, DQ_FNK_VALUE},
    {"inc", DQ_FN_INC, 1, 1, 0, DQ_FNK_VALUE},
    {"dec", DQ_FN_DEC, 1, 1, 0, DQ_FNK_VALUE},
    {"min", DQ_FN_MIN, 1, ANY, 0, DQ_FNK_VALUE},
    {"max", DQ_FN_MAX, 1, ANY, 0, DQ_FNK_VALUE},
    {"zero?", DQ_FN_ZERO_P, 1, 1, 0, DQ_FNK_PRED},
    {"pos?", DQ_FN_POS_P, 1, 1, 0, DQ_FNK_PRED},
    {"neg?", DQ_FN_NEG_P, 1, 1, 0, DQ_FNK_PRED},
    {"even?", DQ_FN_EVEN_P, 1, 1, 0, DQ_FNK_PRED},
    {"odd?", DQ_FN_ODD_P, 1, 1, 0, DQ_FNK_PRED},
    {"str", DQ_FN_STR, 0, ANY, 0, DQ_FNK_VALUE},
    {"subs", DQ_FN_SUBS, 2, 3, 0, DQ_FNK_VALUE},
    {"count", DQ_FN_COUNT, 1, 1, 0, DQ_FNK_VALUE},
    {"ground", DQ_FN_GROUND, 1, 1, 0, DQ_FNK_VALUE},
    {"identity", DQ_FN_IDENTITY, 1, 1, 0, DQ_FNK_VALUE},
    {"vector", DQ_FN_VECTOR, 0, ANY, 0, DQ_FNK_VALUE},
    {"list", DQ_FN_LIST, 0, ANY, 0, DQ_FNK_VALUE},
    {"hash-map", DQ_FN_HASH_MAP, 0, ANY, 1, DQ_FNK_VALUE},
    {"keyword", DQ_FN_KEYWORD, 1, 2, 0, DQ_FNK_VALUE},
    {"name", DQ_FN_NAME, 1, 1, 0, DQ_FNK_VALUE},
    {"namespace", DQ_FN_NAMESPACE, 1, 1, 0, DQ_FNK_VALUE},
    {"re-find", DQ_FN_RE_FIND, 2, 2, 0, DQ_FNK_VALUE},
    {"re-matches", DQ_FN_RE_MATCHES, 2, 2, 0, DQ_FNK_VALUE},
    {"re-seq", DQ_FN_RE_SEQ, 2, 2, 0, DQ_FNK_VALUE},
    {"re-pattern", DQ_FN_RE_PATTERN, 1, 1, 0, DQ_FNK_VALUE},
    {"clojure.string/starts-with?", DQ_FN_STARTS_WITH, 2, 2, 0, DQ_FNK_PRED},
    {"clojure.string/ends-with?", DQ_FN_ENDS_WITH, 2, 2, 0, DQ_FNK_PRED},
    {"clojure.string/includes?", DQ_FN_INCLUDES, 2, 2, 0, DQ_FNK_PRED},
    {"clojure.string/blank?", DQ_FN_BLANK_P, 1, 1, 0, DQ_FNK_PRED},
    {"clojure.string/lower-case", DQ_FN_LOWER_CASE, 1, 1, 0, DQ_FNK_VALUE},
    {"clojure.string/upper-case", DQ_FN_UPPER_CASE, 1, 1, 0, DQ_FNK_VALUE},
    {"nil?", DQ_FN_NIL_P, 1, 1, 0, DQ_FNK_PRED},
    {"some?", DQ_FN_SOME_P, 1, 1, 0, DQ_FNK_PRED},
    {"true?", DQ_FN_TRUE_P, 1, 1, 0, DQ_FNK_PRED},
    {"false?", DQ_FN_FALSE_P, 1, 1, 0, DQ_FNK_PRED},
    {"tuple", DQ_FN_TUPLE, 1, ANY, 0, DQ_FNK_VALUE},
    {"untuple", DQ_FN_UNTUPLE, 1, 1, 0, DQ_FNK_VALUE},
    {"get-else", DQ_FN_GET_ELSE, 4, 4, 0, DQ_FNK_SOURCE},
    {"get-some", DQ_FN_GET_SOME, 3, ANY, 0, DQ_FNK_SOURCE},
    {"missing?", DQ_FN_MISSING_P, 3, 3, 0, DQ_FNK_SOURCE},
    {"range", DQ_FN_RANGE, 1, 3, 0, DQ_FNK_VALUE},
    {"contains?", DQ_FN_CONTAINS_P, 2, 2, 0, DQ_FNK_PRED},
    {"get", DQ_FN_GET, 2, 3, 0, DQ_FNK_VALUE},
    {"compare", DQ_FN_COMPARE, 2, 2, 0, DQ_FNK_VALUE},
    {"not", DQ_FN_NOT, 1, 1, 0, DQ_FNK_PRED},
    {"empty?", DQ_FN_EMPTY_P, 1, 1, 0, DQ_FNK_PRED},
    {"set", DQ_FN_SET, 1, 1, 0, DQ_FNK_VALUE},
    {"tx-ids", DQ_FN_TX_IDS, 3, 3, 0, DQ_FNK_SOURCE},
    {"tx-data", DQ_FN_TX_DATA, 2, 2, 0, DQ_FNK_SOURCE},
};

const dq_aggregate dq_aggregates[DQ_AGG_COUNT_] = {
    {"count", DQ_AGG_COUNT, 1, 1},   {"count-distinct", DQ_AGG_COUNT_DISTINCT, 1, 1},
    {"sum", DQ_AGG_SUM, 1, 1},       {"avg", DQ_AGG_AVG, 1, 1},
    {"median", DQ_AGG_MEDIAN, 1, 1}, {"variance", DQ_AGG_VARIANCE, 1, 1},
    {"stddev", DQ_AGG_STDDEV, 1, 1}, {"min", DQ_AGG_MIN, 1, 2},
    {"max", DQ_AGG_MAX, 1, 2},       {"distinct", DQ_AGG_DISTINCT, 1, 1},
    {"rand", DQ_AGG_RAND, 1, 2},     {"sample", DQ_AGG_SAMPLE, 2, 2},
};

const dq_builtin *dq_builtin_find(const char *name, size_t len) {
    for (size_t i = 0; i < DQ_FN_COUNT_; i++)
        if (strlen(dq_builtins[i].name) == len && memcmp(dq_builtins[i].name, name, len) == 0)
            return &dq_builtins[i];
    return NULL;
}

const dq_aggregate *dq_aggregate_find(const char *name, size_t len) {
    for (size_t i = 0; i < DQ_AGG_COUNT_; i++)
        if (strlen(dq_aggregates[i].name) == len && memcmp(dq_aggregates[i].name, name, len) == 0)
            return &dq_aggregates[i];
    return NULL;
}
