/*
 * coerce.c -- a value given for an attribute -> its canonical stored
 * encoding (datalog layer).  One function for writes and reads.
 */
#include "coerce.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "edn.h"

void dl_show(const dt_value *v, char *out, size_t cap) {
    if (!cap) return;
    dt_buf b = DT_BUF_INIT;
    if (v && dl_edn_write_buf(v, 0, &b) == DT_OK && dt_buf_terminate(&b) == DT_OK) {
        if (b.len >= cap && cap > 4) {
            memcpy(out, b.p, cap - 4);
            memcpy(out + cap - 4, "...", 4);
        } else if (b.len >= cap) {
            out[0] = '\0';
        } else {
            memcpy(out, b.p, b.len + 1);
        }
    } else {
        snprintf(out, cap, "%s", v ? "?" : "nil");
    }
    dt_buf_release(&b);
}

static int type_error(const dl_attr *a, const dt_value *v, const char *why) {
    char buf[96];
    dl_show(v, buf, sizeof buf);
    return dt__seterr(NULL, DT_INVALID, "attribute :%s expects %s, got %s %s%s", a->ident,
                      a->vtype == DT_NIL ? "a datom value" : dt_type_name(a->vtype),
                      dt_type_name(v->type), buf, why);
}

/* {====== Tuples ====== */

/* 1 when a vector occurs inside the elements of tuple/vector v. */
static int has_inner_vector(const dt_value *v, int depth) {
    if (depth > DL_CODEC_MAX_DEPTH) return 0; /* the codec reports the depth */
    for (size_t i = 0; i < v->u.seq.n; i++) {
        const dt_value *x = &v->u.seq.items[i];
        if (x->type == DT_VECTOR) return 1;
        if (x->type == DT_TUPLE && has_inner_vector(x, depth + 1)) return 1;
    }
    return 0;
}

/* A deep copy of vector/tuple v with every vector turned into a tuple. */
static int tuple_copy(const dt_value *v, dt_value *out, int depth) {
    int rc = dt_value_seq(DT_TUPLE, v->u.seq.n, out);
    if (rc != DT_OK) return rc;
    for (size_t i = 0; i < v->u.seq.n && rc == DT_OK; i++) {
        const dt_value *x = &v->u.seq.items[i];
        if ((x->type == DT_VECTOR || x->type == DT_TUPLE) && depth <= DL_CODEC_MAX_DEPTH)
            rc = tuple_copy(x, &out->u.seq.items[i], depth + 1);
        else
            rc = dt_value_copy(x, &out->u.seq.items[i]);
    }
    if (rc != DT_OK) dt_value_free(out);
    return rc;
}

/* }====== */

int dl_coerce(const dl_attr *a, const dt_value *v, dt_buf *out) {
    out->len = 0;
    if (v->type == DT_NIL)
        return dt__seterr(NULL, DT_INVALID, "attribute :%s: nil is not a value (retract instead)",
                          a->ident);
    dt_value tmp = *v;            /* the value to encode: v, or v retyped */
    dt_value conv = DT_VALUE_NIL; /* or a converted copy (owned) */
    int rc = DT_OK;
    int want_tuple = 0;
    switch (a->vtype) {
    case DT_NIL: /* undeclared: typed by the value */
        if (v->type == DT_VECTOR || v->type == DT_TUPLE)
            want_tuple = 1;
        else if (v->type > DT_TUPLE)
            return type_error(a, v, "");
        break;
    case DT_REF:
        if ((v->type != DT_LONG && v->type != DT_REF) || v->u.i <= 0)
            return type_error(
                a, v, v->type == DT_LONG || v->type == DT_REF ? " (entity ids are positive)" : "");
        if (dt_buf_reserve(out, 9) != DT_OK) return dt__seterr(NULL, DT_NOMEM, "out of memory");
        out->len = dl_codec_put_int(DT_REF, v->u.i, out->p);
        return DT_OK;
    case DT_FLOAT:
        if (v->type == DT_DOUBLE) {
            float f = (float)v->u.d;
            if (isinf(f) && !isinf(v->u.d)) return type_error(a, v, " (out of float range)");
            dt_value_float(f, &tmp);
        } else if (v->type != DT_FLOAT) {
            return type_error(a, v, "");
        }
        break;
    case DT_DOUBLE:
        if (v->type == DT_FLOAT)
            dt_value_double(v->u.f, &tmp);
        else if (v->type != DT_DOUBLE)
            return type_error(a, v, "");
        break;
    case DT_BIGINT:
    case DT_BIGDEC:
        if (v->type == DT_LONG || (a->vtype == DT_BIGDEC && v->type == DT_BIGINT)) {
            char num[32];
            const char *text = num;
            size_t n;
            if (v->type == DT_LONG) {
                n = (size_t)snprintf(num, sizeof num, "%lld", (long long)v->u.i);
            } else {
                text = v->u.s.ptr;
                n = v->u.s.len;
            }
            if ((rc = dt_value_text(a->vtype, text, n, &conv)) != DT_OK) return rc;
            tmp = conv;
        } else if (v->type != a->vtype) {
            return type_error(a, v, "");
        }
        break;
    case DT_TUPLE:
        if (v->type != DT_VECTOR && v->type != DT_TUPLE) return type_error(a, v, "");
        want_tuple = 1;
        break;
    default:
        if (v->type != a->vtype) return type_error(a, v, "");
        break;
    }
    if (want_tuple) {
        if (has_inner_vector(v, 0)) {
            if ((rc = tuple_copy(v, &conv, 0)) != DT_OK)
                return dt__seterr(NULL, rc, "attribute :%s: out of memory", a->ident);
            tmp = conv;
        } else {
            tmp.type = DT_TUPLE; /* same items, borrowed */
        }
    }
    rc = dl_codec_encode(&tmp, out);
    dt_value_free(&conv);
    if (rc != DT_OK) {
        char inner[DT__ERRMSG_MAX], buf[96];
        snprintf(inner, sizeof inner, "%s", dt_errmsg(NULL));
        dl_show(v, buf, sizeof buf);
        return dt__seterr(NULL, rc, "attribute :%s: cannot store %s: %s", a->ident, buf, inner);
    }
    return DT_OK;
}
