/*
 * parse.h -- internal interface of the query parser (query layer): a
 * Datalog query in EDN (vector or map form) plus its rules (`%`) to a plain
 * C syntax tree, checked with Datomic's rules; the table of built-in
 * functions and aggregates; and the printer of the tree back to EDN.  The
 * planner and evaluator build on these structs; the public query API in
 * datolite.h comes with them.  docs/query.md describes the language.
 *
 * Ownership: a dq_query owns everything it points to.  Constants, pull
 * patterns and names point into the query's own copy of the parsed EDN
 * (never into the caller's text or value), so they stay valid until
 * dq_query_free.  A dq_query is immutable after parsing: several threads
 * may read it at once.
 */
#ifndef DQ_PARSE_H
#define DQ_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "datolite.h"

/* Deepest nesting of the query or rules EDN (collections in collections):
 * deeper input is DT_LIMIT, so no walk of the tree recurses further. */
#define DQ_MAX_DEPTH 128

/* The most positions a data pattern has: e a v tx added. */
#define DQ_MAX_PATTERN 5

/* {====== Built-in functions and aggregates ====== */

/* What a built-in returns (every function may also serve as a predicate,
 * by the truth of its result, as in Datomic). */
typedef enum dq_fn_kind {
    DQ_FNK_PRED = 0, /* a test: true or false */
    DQ_FNK_VALUE,    /* computes a value */
    DQ_FNK_SOURCE    /* reads a database: its first argument is a source ($) */
} dq_fn_kind;

/* Built-in function ids: the index of the function in dq_builtins. */
typedef enum dq_fn_id {
    DQ_FN_EQ = 0,  /* = */
    DQ_FN_NUM_EQ,  /* == */
    DQ_FN_NOT_EQ,  /* not= */
    DQ_FN_BANG_EQ, /* != */
    DQ_FN_LT,
    DQ_FN_GT,
    DQ_FN_LE,
    DQ_FN_GE,
    DQ_FN_ADD,
    DQ_FN_SUB,
    DQ_FN_MUL,
    DQ_FN_DIV,
    DQ_FN_QUOT,
    DQ_FN_REM,
    DQ_FN_MOD,
    DQ_FN_INC,
    DQ_FN_DEC,
    DQ_FN_MIN,
    DQ_FN_MAX,
    DQ_FN_ZERO_P,
    DQ_FN_POS_P,
    DQ_FN_NEG_P,
    DQ_FN_EVEN_P,
    DQ_FN_ODD_P,
    DQ_FN_STR,
    DQ_FN_SUBS,
    DQ_FN_COUNT,
    DQ_FN_GROUND,
    DQ_FN_IDENTITY,
    DQ_FN_VECTOR,
    DQ_FN_LIST,
    DQ_FN_HASH_MAP,
    DQ_FN_KEYWORD,
    DQ_FN_NAME,
    DQ_FN_NAMESPACE,
    DQ_FN_RE_FIND,
    DQ_FN_RE_MATCHES,
    DQ_FN_RE_SEQ,
    DQ_FN_RE_PATTERN,
    DQ_FN_STARTS_WITH,
    DQ_FN_ENDS_WITH,
    DQ_FN_INCLUDES,
    DQ_FN_BLANK_P,
    DQ_FN_LOWER_CASE,
    DQ_FN_UPPER_CASE,
    DQ_FN_NIL_P,
    DQ_FN_SOME_P,
    DQ_FN_TRUE_P,
    DQ_FN_FALSE_P,
    DQ_FN_TUPLE,
    DQ_FN_UNTUPLE,
    DQ_FN_GET_ELSE,
    DQ_FN_GET_SOME,
    DQ_FN_MISSING_P,
    DQ_FN_RANGE,
    DQ_FN_CONTAINS_P,
    DQ_FN_GET,
    DQ_FN_COMPARE,
    DQ_FN_NOT,
    DQ_FN_EMPTY_P,
    DQ_FN_SET,
    DQ_FN_TX_IDS,
    DQ_FN_TX_DATA,
    DQ_FN_COUNT_ /* number of built-ins */
} dq_fn_id;

/* The id of a call to a function the host registered (a namespaced name
 * that is not a built-in, such as acme/score): the clause's `ufn` says
 * which.  Not an index of dq_builtins: check for it before indexing. */
#define DQ_FN_USER ((dq_fn_id)DQ_FN_COUNT_)

/* dq_is_user_fn_name: 1 when name[0..len), not a built-in, can name a
 * function the host registers: a namespaced symbol (ns/name, both parts
 * non-empty) outside the clojure.* namespaces.  Thread-safe. */
int dq_is_user_fn_name(const char *name, size_t len);

/*
 * One built-in: its name as written in queries, id, how many arguments
 * it takes (max_args < 0: no upper bound; `even_args`: an even count, as
 * hash-map needs) and its kind.  For DQ_FNK_SOURCE functions the source
 * counts as an argument ((get-else $ ?e :a 0) has 4).
 */
typedef struct dq_builtin {
    const char *name;
    dq_fn_id id;
    int min_args;
    int max_args;
    int even_args;
    dq_fn_kind kind;
} dq_builtin;

/* dq_builtins[id] for every id below DQ_FN_COUNT_ (static, thread-safe). */
extern const dq_builtin dq_builtins[DQ_FN_COUNT_];

/* dq_builtin_find: the built-in called name[0..len), or NULL.  Thread-safe. */
const dq_builtin *dq_builtin_find(const char *name, size_t len);

/* Aggregate ids: the index of the aggregate in dq_aggregates. */
typedef enum dq_agg_id {
    DQ_AGG_COUNT = 0,
    DQ_AGG_COUNT_DISTINCT,
    DQ_AGG_SUM,
    DQ_AGG_AVG,
    DQ_AGG_MEDIAN,
    DQ_AGG_VARIANCE,
    DQ_AGG_STDDEV,
    DQ_AGG_MIN, /* (min ?x) or (min n ?x): the n smallest, ascending */
    DQ_AGG_MAX, /* (max ?x) or (max n ?x): the n largest, ascending */
    DQ_AGG_DISTINCT,
    DQ_AGG_RAND,   /* (rand ?x) or (rand n ?x): n picks with replacement */
    DQ_AGG_SAMPLE, /* (sample n ?x): n distinct values at random */
    DQ_AGG_COUNT_
} dq_agg_id;

/* One aggregate: name, id, and its argument count including the variable. */
typedef struct dq_aggregate {
    const char *name;
    dq_agg_id id;
    int min_args;
    int max_args;
} dq_aggregate;

extern const dq_aggregate dq_aggregates[DQ_AGG_COUNT_];

/* dq_aggregate_find: the aggregate called name[0..len), or NULL. */
const dq_aggregate *dq_aggregate_find(const char *name, size_t len);

/* }====== */

/* {====== The syntax tree ====== */

/* A variable: its index in the variable table of its scope (the query's,
 * or one rule body's).  DQ_NOVAR: none. */
typedef int32_t dq_var;
#define DQ_NOVAR ((dq_var)-1)

/* Variable names of one scope; names[id] is "?x" (points into the
 * query's EDN). */
typedef struct dq_vars {
    const char **names;
    size_t n, cap;
} dq_vars;

/* Source ids index dq_query.srcs; these two are special: */
#define DQ_SRC_CALLER (-1) /* in a rule body: the source the rule was called on */
#define DQ_SRC_NONE   (-2) /* no source (predicates, functions, :in bindings) */

/* A position of a pattern, or an argument of a call. */
typedef enum dq_term_kind {
    DQ_TERM_VAR = 0, /* id: the variable */
    DQ_TERM_CONST,   /* value: the constant (a keyword, a lookup ref [:a v], ...) */
    DQ_TERM_BLANK,   /* _ */
    DQ_TERM_SRC      /* id: a source ($, $name); only in function arguments */
} dq_term_kind;

typedef struct dq_term {
    dq_term_kind kind;
    int32_t id;
    const dt_value *value; /* the form as written (the constant for DQ_TERM_CONST) */
} dq_term;

/*
 * A binding form (of an :in input or of a function's result):
 *   DQ_BIND_VAR    ?x             var
 *   DQ_BIND_BLANK  _
 *   DQ_BIND_TUPLE  [?a _ ?b]      items[0..n): one binding per element
 *   DQ_BIND_COLL   [?x ...]       items[0]: the binding of each element
 *   DQ_BIND_REL    [[?a ?b]]      items[0..n): the binding of each column
 * Elements may themselves be tuples or collections, as in Datomic.
 */
typedef enum dq_bind_kind {
    DQ_BIND_VAR = 0,
    DQ_BIND_BLANK,
    DQ_BIND_TUPLE,
    DQ_BIND_COLL,
    DQ_BIND_REL
} dq_bind_kind;

typedef struct dq_binding {
    dq_bind_kind kind;
    dq_var var;
    size_t n;
    struct dq_binding *items;
} dq_binding;

/* One :in entry, in order (the inputs of a call are positional). */
typedef enum dq_in_kind {
    DQ_IN_SRC = 0, /* $ or $name: src */
    DQ_IN_RULES,   /* % */
    DQ_IN_PATTERN, /* a plain symbol naming a pull pattern: name */
    DQ_IN_BINDING  /* ?x, [?a ?b], [?x ...], [[?a ?b]], _: bind */
} dq_in_kind;

typedef struct dq_input {
    dq_in_kind kind;
    int32_t src;
    const char *name;
    dq_binding bind;
} dq_input;

/* :find */
typedef enum dq_find_kind {
    DQ_FIND_REL = 0, /* :find ?a ?b        a set of tuples */
    DQ_FIND_COLL,    /* :find [?a ...]     a collection of values */
    DQ_FIND_SCALAR,  /* :find ?a .         one value */
    DQ_FIND_TUPLE    /* :find [?a ?b]      one tuple */
} dq_find_kind;

typedef enum dq_elem_kind { DQ_ELEM_VAR = 0, DQ_ELEM_AGG, DQ_ELEM_PULL } dq_elem_kind;

/*
 * One :find element.
 *   VAR   var
 *   AGG   agg, var = the aggregated variable (the last argument),
 *         args[0..nargs) = the arguments before it (constants or
 *         variables: the 3 of (max 3 ?x))
 *   PULL  var = the entity, src = the source (the query's $ unless
 *         written), and the pattern: a literal (`pattern`), an :in
 *         variable (`pattern_var`) or an :in pattern name (`pattern_in`,
 *         the index of that input)
 */
typedef struct dq_find_elem {
    dq_elem_kind kind;
    dq_var var;
    dq_agg_id agg;
    size_t nargs;
    dq_term *args;
    int32_t src;
    int explicit_src;
    const dt_value *pattern;
    dq_var pattern_var;
    int32_t pattern_in;
    const dt_value *form;
} dq_find_elem;

/* :keys / :strs / :syms: results as maps with these keys. */
typedef enum dq_ret_kind { DQ_RET_NONE = 0, DQ_RET_KEYS, DQ_RET_STRS, DQ_RET_SYMS } dq_ret_kind;

typedef enum dq_clause_kind {
    DQ_CL_PATTERN = 0, /* [$? e a v tx added] */
    DQ_CL_PRED,        /* [(pred args...)] */
    DQ_CL_FN,          /* [(f args...) binding] */
    DQ_CL_RULE,        /* ($? rule args...) */
    DQ_CL_AND,         /* (and clauses...): only as a branch of or/or-join */
    DQ_CL_OR,          /* ($? or branches...) */
    DQ_CL_OR_JOIN,     /* ($? or-join [vars] branches...) */
    DQ_CL_NOT,         /* ($? not clauses...) */
    DQ_CL_NOT_JOIN     /* ($? not-join [vars] clauses...) */
} dq_clause_kind;

/*
 * One :where clause (or rule body clause).
 *   src         the source it reads: an index of dq_query.srcs, or
 *               DQ_SRC_CALLER in rule bodies, DQ_SRC_NONE for PRED/FN/AND;
 *               explicit_src says whether it was written
 *   terms       PATTERN: the positions (nterms 1..5); PRED/FN/RULE: the
 *               arguments
 *   fn, bind    PRED/FN: the built-in (DQ_FN_USER: a host function);
 *               FN: the binding of its result
 *   ufn         fn == DQ_FN_USER: the index in dq_query.ufns (else unused)
 *   rule        RULE: index of dq_query.rules
 *   clauses     AND/NOT/NOT_JOIN: the body; OR/OR_JOIN: the branches (a
 *               branch of several clauses is an AND)
 *   vars        OR_JOIN/NOT_JOIN: the declared join variables, the nreq
 *               required ones ([[?a] ?b]) first.  OR: the variables all
 *               branches use; NOT: those of its variables bound outside
 *               it (computed, not written; never empty)
 *   line, col   where the clause starts in the text (0 from a value);
 *               in_rules: in the rules text rather than the query's
 */
typedef struct dq_clause {
    dq_clause_kind kind;
    int32_t src;
    int explicit_src;
    size_t nterms;
    dq_term *terms;
    dq_fn_id fn;
    int32_t ufn;
    dq_binding bind;
    int32_t rule;
    size_t nclauses;
    struct dq_clause *clauses;
    size_t nvars, nreq;
    dq_var *vars;
    int line, col, in_rules;
    const dt_value *form;
} dq_clause;

/* One body of a rule: its variables (ids 0..arity-1 are the head's, in
 * order) and clauses. */
typedef struct dq_rule_body {
    dq_vars vars;
    size_t nclauses;
    dq_clause *clauses;
    int line, col;
    const dt_value *form;
} dq_rule_body;

/* A rule: every body of one name (same arity, same required count). */
typedef struct dq_rule {
    const char *name;
    size_t arity, nreq;
    size_t nbodies;
    dq_rule_body *bodies;
} dq_rule;

/* A host function the query calls (by name; the connection the query
 * runs on resolves it): its name (NUL-terminated, in the query's EDN) and
 * the first clause that calls it, for messages. */
typedef struct dq_ufn {
    const char *name;
    size_t len;
    const struct dq_clause *first;
} dq_ufn;

/*
 * A parsed query.  Variables of :find, :with, :in and :where share
 * `vars`; variables local to an or-join branch or a not-join body have
 * ids there too (the evaluator scopes them).  srcs[] are the source
 * names ("$", "$hist") in first-use order; `default_src` is the id of
 * "$" when :in declares it (or when there is no :in), else -1.
 */
typedef struct dq_query {
    dq_find_kind find_kind;
    size_t nfind;
    dq_find_elem *find;
    dq_ret_kind ret;
    const char **ret_names; /* nfind names when ret != DQ_RET_NONE */
    size_t nwith;
    dq_var *with;
    int in_written; /* :in was given (else the inputs are just $) */
    size_t nin;
    dq_input *in;
    size_t nwhere;
    dq_clause *where;
    dq_vars vars;
    size_t nsrcs, capsrcs;
    const char **srcs;
    int32_t default_src;
    size_t nrules;
    dq_rule *rules;
    size_t nufns; /* host functions called (each name once), rules included */
    dq_ufn *ufns;
    struct dq_private *priv; /* storage; not for readers */
} dq_query;

/* }====== */

/* {====== Parsing and printing ====== */

/* A query or rules given either as EDN text or as a value (one of them). */
typedef struct dq_input_form {
    const char *text;
    size_t len;
    const dt_value *value;
} dq_input_form;

/* Where a parse error was found: line and col 1-based (0 when unknown, as
 * for a query given as a value), offset in bytes, in_rules when in the
 * rules text. */
typedef struct dq_errpos {
    int line, col;
    size_t offset;
    int in_rules;
} dq_errpos;

/*
 * dq_parse: parses and checks `query` with the rules `rules` (NULL when
 * none are given; a query whose :in has % needs them only if it calls a
 * rule).  On success *out is the tree (free with dq_query_free).
 * @retval DT_OK
 * @retval DT_INVALID  malformed EDN, or a query Datomic would reject when
 *                     parsing it: unknown function, aggregate or rule,
 *                     wrong arity, a :find/:with variable bound nowhere,
 *                     or-branches over different variables, a not with no
 *                     variable bound outside, bad or-join/not-join
 *                     variables, inconsistent rule heads, duplicate :in
 *                     names, :keys not matching :find, malformed clauses
 * @retval DT_LIMIT    nesting deeper than DQ_MAX_DEPTH
 * @retval DT_NOMEM    out of memory
 * @retval DT_MISUSE   NULL out/query, or a form with both or neither of
 *                     text and value
 * On error *out is NULL and dt_errmsg(NULL) says what and where ("query:
 * unknown function foo in [(foo ?a)] at 1:29"); *pos (if not NULL) gets
 * the position.  Never crashes on any input.  Thread-safe.
 *
 * Fuzzing: any bytes are a valid argument.  A libFuzzer target splits its
 * input at the first NUL into query and rules texts, calls dq_parse, and
 * on DT_OK checks that dq_query_print's text parses again to the same
 * print, then frees both trees.
 */
int dq_parse(const dq_input_form *query, const dq_input_form *rules, dq_query **out,
             dq_errpos *pos);

/* dq_parse_text: dq_parse of NUL-terminated texts (rules may be NULL). */
int dq_parse_text(const char *query, const char *rules, dq_query **out, dq_errpos *pos);

/* dq_query_free: frees the query and all it owns.  NULL is allowed. */
void dq_query_free(dq_query *q);

/*
 * dq_query_print: appends the query as EDN text in vector form
 * ([:find ... :where ...]) to b; reading it back with dq_parse gives the
 * same tree (and prints the same text).  dq_rules_print appends the rules
 * ([[(name ?a ?b) clause...] ...], one vector per body); "[]" when there
 * are none.  Return DT_OK, DT_NOMEM (b may then hold part of the text).
 */
int dq_query_print(const dq_query *q, dt_buf *b);
int dq_rules_print(const dq_query *q, dt_buf *b);

/* dq_var_name: the name of variable v of the query (or of a rule body's
 * table), for messages. */
static inline const char *dq_var_name(const dq_vars *vars, dq_var v) {
    return v >= 0 && (size_t)v < vars->n ? vars->names[v] : "?";
}

/* }====== */

#endif
