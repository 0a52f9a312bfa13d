/*
 * coerce.h -- the one value coercion of the datalog layer: a value given
 * for an attribute (by tx-data, a bulk load, a read's components, a lookup
 * ref or, later, a query constant) -> the canonical encoding it is stored
 * under.  Writes and reads call the same function, so what was written
 * with a literal is found with the same literal, and what cannot be
 * coerced is refused by both with the same message.
 */
#ifndef DL_COERCE_H
#define DL_COERCE_H

#include "base.h"
#include "datolite.h"
#include "schema.h"

/*
 * dl_coerce: the full codec encoding of `v` as a value of attribute `a`
 * into `out` (out->len is reset first).  The rules (docs/datalog.md,
 * "Value types and coercion"):
 *   - a value of the declared type is taken as it is;
 *   - long -> bigint; long and bigint -> bigdec (scale 0);
 *     double -> float (must be within float range; NaN and infinities
 *     stay what they are); float -> double; vector -> tuple;
 *   - ref attributes take a positive entity id (DT_LONG or DT_REF); idents,
 *     lookup refs and tempids are resolved by the caller first;
 *   - an undeclared attribute (a->vtype == DT_NIL) takes any datom value
 *     type (DT_BOOL .. DT_TUPLE), a vector as a tuple;
 *   - nothing else: nil is never a value (retract instead), and the
 *     EDN-only kinds (char, list, set, map, tagged) are never stored.
 * @retval DT_OK
 * @retval DT_INVALID  v cannot be a value of a; the message (on the NULL
 *                     handle) names the attribute, the expected and the
 *                     given type and shows the value:
 *                     "attribute :p/age expects long, got string \"x\""
 * @retval DT_LIMIT    tuples nested too deep, decimal exponent too large
 * @retval DT_NOMEM
 * Thread-safe on distinct buffers.
 */
int dl_coerce(const dl_attr *a, const dt_value *v, dt_buf *out);

/*
 * dl_show: the EDN text of v for messages into out[0..cap), cut with
 * "..." when longer; "nil" for NULL.  Never fails.
 */
void dl_show(const dt_value *v, char *out, size_t cap);

#endif
