/*
 * schema.h -- attributes and the in-memory schema (datalog layer).
 *
 * An attribute is identified by its ident (keyword text, "user/name") and
 * interned to a small attribute id (aid) used in index keys.  The schema is
 * an immutable-after-build table; the connection swaps in a new one when
 * the schema changes, and each snapshot keeps the one it started with.
 */
#ifndef DL_SCHEMA_H
#define DL_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "datolite.h"

enum { DL_UNIQUE_NONE = 0, DL_UNIQUE_IDENTITY = 1, DL_UNIQUE_VALUE = 2 };

/* Attribute ids below this are the built-in attributes. */
enum {
    DL_AID_IDENT = 1,     /* :db/ident, keyword, unique identity */
    DL_AID_TXINSTANT = 2, /* :db/txInstant, instant */
    DL_AID_DOC = 3,       /* :db/doc, string */
    DL_AID_FN = 4,        /* :db/fn, string: the Lua source of a stored function */
    DL_AID_UDF = 5,       /* :db/udf, component ref: a host function's descriptor */
    DL_AID_UDF_LANG = 6,  /* :udf/lang, keyword (:c or :lua) */
    DL_AID_UDF_KIND = 7,  /* :udf/kind, keyword (:tx-fn) */
    DL_AID_UDF_ID = 8,    /* :udf/id, keyword: the registered name */
    DL_AID_FIRST_USER = 16
};

typedef struct dl_attr {
    uint32_t aid;
    char *ident; /* keyword text without the colon */
    size_t ident_len;
    dt_type vtype;         /* DT_NIL: not declared, typed by its values */
    uint8_t many;          /* cardinality many */
    uint8_t unique;        /* DL_UNIQUE_* */
    uint8_t component;     /* :db/isComponent */
    uint8_t indexed;       /* :db/index (informational: AVE covers all) */
    uint8_t no_history;    /* :db/noHistory */
    uint8_t declared;      /* given in a schema (not created implicitly) */
    char *doc;             /* :db/doc or NULL */
    uint32_t *tuple_attrs; /* :db/tupleAttrs as aids, or NULL */
    size_t ntuple_attrs;
} dl_attr;

typedef struct dl_schema dl_schema;

/*
 * A new schema holding only the built-in attributes, with one reference.
 * Schemas are shared by snapshots: dl_schema_retain adds a reference,
 * dl_schema_release drops one and frees the schema with the last (both
 * thread-safe).  dl_schema_free frees at once (single owner only).
 */
int dl_schema_new(dl_schema **out);
void dl_schema_free(dl_schema *s);
dl_schema *dl_schema_retain(dl_schema *s);
void dl_schema_release(dl_schema *s);

/* Deep copy (for copy-on-write updates).  DT_OK / DT_NOMEM. */
int dl_schema_clone(const dl_schema *s, dl_schema **out);

/*
 * dl_ident_bare: drops one leading ':' from an attribute name, so that
 * "p/age" and ":p/age" name the same attribute (the rule of every function
 * that takes an attribute name; idents are stored without the colon).
 */
static inline void dl_ident_bare(const char **name, size_t *len) {
    if (*len && (*name)[0] == ':') {
        (*name)++;
        (*len)--;
    }
}

/* Look-ups; NULL when absent.  dl_schema_by_ident accepts the name with or
 * without its leading colon.  Thread-safe on a schema nobody modifies. */
const dl_attr *dl_schema_by_ident(const dl_schema *s, const char *ident, size_t len);
const dl_attr *dl_schema_by_aid(const dl_schema *s, uint32_t aid);
size_t dl_schema_count(const dl_schema *s);                /* attributes incl. built-ins */
const dl_attr *dl_schema_at(const dl_schema *s, size_t i); /* 0 <= i < count, in aid order */
uint32_t dl_schema_next_aid(const dl_schema *s);

/*
 * dl_schema_put: adds or replaces the attribute `a` (its aid must be set;
 * the schema takes ownership of a's strings/arrays, and *a is zeroed).
 * DT_OK / DT_NOMEM.
 */
int dl_schema_put(dl_schema *s, dl_attr *a);

/*
 * dl_attr_from_spec: builds an attribute named `ident` from a schema map
 * value such as {:db/valueType :db.type/string :db/unique :db.unique/identity}.
 * Unknown properties, bad values, and contradictions (component on a
 * non-ref, unique on a cardinality-many tuple...) give DT_SCHEMA with a
 * message naming the attribute and property.  The aid is left 0.
 * :db/tupleAttrs names are resolved through `s` (must exist).
 */
int dl_attr_from_spec(const dl_schema *s, const char *ident, size_t ident_len, const dt_value *spec,
                      dl_attr *out);

/* The schema map of an attribute as a value ({:db/valueType ...}).  DT_NOMEM. */
int dl_attr_to_spec(const dl_schema *s, const dl_attr *a, dt_value *out);

void dl_attr_release(dl_attr *a);

/* The :db.type/... keyword text for a value type ("db.type/long"), or NULL. */
const char *dl_valuetype_keyword(dt_type t);

/* Map helper: the value under keyword key `kw` in map `m`, or NULL. */
const dt_value *dl_map_get_kw(const dt_value *m, const char *kw);

/* True when v is the keyword with text kw. */
int dl_is_kw(const dt_value *v, const char *kw);

#endif
