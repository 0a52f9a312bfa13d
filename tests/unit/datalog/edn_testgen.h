/*
 * edn_testgen.h -- random dt_value trees for the EDN and msgpack property
 * tests (deterministic: the caller owns the xorshift state).
 */
#ifndef EDN_TESTGEN_H
#define EDN_TESTGEN_H

#include <stdint.h>
#include <string.h>

#include "testutil.h"

/* Which kinds a tree may contain. */
#define GEN_EDN_EXACT 1 /* only kinds that print and read back identically */
#define GEN_ALL       2 /* every dt_type (msgpack round-trips them all) */

static uint64_t gen_below(uint64_t *s, uint64_t n) { return tu_rand(s) % n; }

static void gen_name(uint64_t *s, char *out, int allow_ns) {
    static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*!_?$%&=<>";
    static const char rest[] = "abcdefghijklmnopqrstuvwxyz0123456789*+!-_?$%&=<>.#'";
    size_t k = 0;
    int parts = allow_ns && gen_below(s, 3) == 0 ? 2 : 1;
    for (int p = 0; p < parts; p++) {
        if (p) out[k++] = '/';
        out[k++] = first[gen_below(s, sizeof first - 1)];
        size_t n = (size_t)gen_below(s, 8);
        for (size_t i = 0; i < n; i++) out[k++] = rest[gen_below(s, sizeof rest - 1)];
    }
    out[k] = '\0';
    /* never the three reserved words */
    if (!strcmp(out, "nil") || !strcmp(out, "true") || !strcmp(out, "false")) strcpy(out, "x");
}

static int64_t gen_long(uint64_t *s) {
    switch (gen_below(s, 5)) {
    case 0:
        return INT64_MIN;
    case 1:
        return INT64_MAX;
    case 2:
        return (int64_t)gen_below(s, 200) - 100;
    default:
        return (int64_t)tu_rand(s);
    }
}

/* Random text of up to 24 characters into buf (room for 48 bytes).  With
 * `utf8` (strings, which EDN reads back only when they are UTF-8) a byte
 * above 0x7F stands for that code point, encoded; else it is raw. */
static void gen_text(uint64_t *s, int utf8, char *buf, size_t *len) {
    size_t n = (size_t)gen_below(s, 24), k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        switch (gen_below(s, 4)) {
        case 0:
            buf[k] = (char)gen_below(s, 256); /* any byte, even NUL */
            if (utf8 && (unsigned char)buf[k] >= 0x80) {
                unsigned c = (unsigned char)buf[k];
                buf[k++] = (char)(0xC0 | c >> 6);
                buf[k] = (char)(0x80 | (c & 0x3F));
            }
            break;
        case 1:
            buf[k] = "\"\\\n\t\r\b\f\x01\x7f"[gen_below(s, 9)];
            break;
        default:
            buf[k] = (char)(' ' + gen_below(s, 95));
            break;
        }
    }
    *len = k;
}

static void gen_value(uint64_t *s, int mode, int depth, dt_value *out);

static void gen_scalar(uint64_t *s, int mode, dt_value *out) {
    char buf[64];
    size_t len;
    int kinds = mode == GEN_ALL ? 18 : 15;
    switch (gen_below(s, (uint64_t)kinds)) {
    case 0:
        dt_value_nil(out);
        break;
    case 1:
        dt_value_bool((int)gen_below(s, 2), out);
        break;
    case 2:
        dt_value_long(gen_long(s), out);
        break;
    case 3: {
        uint64_t bits = tu_rand(s);
        double d;
        if (gen_below(s, 2))
            d = (double)(int64_t)gen_below(s, 2000) / 8.0 - 100.0;
        else
            memcpy(&d, &bits, 8);
        dt_value_double(d, out);
        break;
    }
    case 4: {
        int k = 0;
        if (gen_below(s, 2)) buf[k++] = '-';
        int nd = 1 + (int)gen_below(s, 30);
        buf[k++] = (char)('1' + gen_below(s, 9));
        for (int i = 1; i < nd; i++) buf[k++] = (char)('0' + gen_below(s, 10));
        assert_int_equal(dt_value_text(DT_BIGINT, buf, (size_t)k, out), DT_OK);
        break;
    }
    case 5: {
        int k = snprintf(buf, sizeof buf, "%s%llu.%llu", gen_below(s, 2) ? "-" : "",
                         (unsigned long long)gen_below(s, 100000),
                         (unsigned long long)gen_below(s, 1000));
        if (gen_below(s, 3) == 0)
            k += snprintf(buf + k, sizeof buf - (size_t)k, "e%d", (int)gen_below(s, 40) - 20);
        assert_int_equal(dt_value_text(DT_BIGDEC, buf, (size_t)k, out), DT_OK);
        break;
    }
    case 6:
        dt_value_instant(gen_below(s, 2) ? gen_long(s) : (int64_t)gen_below(s, 4000000000000ULL),
                         out);
        break;
    case 7:
        gen_text(s, 1, buf, &len);
        assert_int_equal(dt_value_text(DT_STRING, buf, len, out), DT_OK);
        break;
    case 8:
        gen_name(s, buf, 1);
        assert_int_equal(dt_value_text(DT_KEYWORD, buf, strlen(buf), out), DT_OK);
        break;
    case 9:
        gen_name(s, buf, 1);
        assert_int_equal(dt_value_text(DT_SYMBOL, buf, strlen(buf), out), DT_OK);
        break;
    case 10: {
        uint8_t u[16];
        for (int i = 0; i < 16; i++) u[i] = (uint8_t)tu_rand(s);
        dt_value_uuid(u, out);
        break;
    }
    case 11: {
        uint32_t c;
        switch (gen_below(s, 3)) {
        case 0:
            c = (uint32_t)gen_below(s, 128);
            break;
        case 1:
            c = (uint32_t)gen_below(s, 0x10000);
            break;
        default:
            c = (uint32_t)gen_below(s, 0x110000);
            break;
        }
        dt_value_char(c, out);
        break;
    }
    case 12:
    case 13:
    case 14:
        gen_text(s, 0, buf, &len);
        assert_int_equal(dt_value_text(DT_BYTES, buf, len, out), DT_OK);
        break;
    case 15:
        dt_value_ref(gen_long(s), out);
        break;
    case 16: {
        uint32_t bits = (uint32_t)tu_rand(s);
        float f;
        memcpy(&f, &bits, 4);
        dt_value_float(f, out);
        break;
    }
    default:
        dt_value_long(gen_long(s), out);
        break;
    }
}

/* Appends v to a set/map key list unless an equal one is there. */
static int gen_contains(const dt_value *items, size_t n, size_t stride, const dt_value *v) {
    for (size_t i = 0; i < n; i++)
        if (dt_value_equal(&items[i * stride], v)) return 1;
    return 0;
}

static void gen_value(uint64_t *s, int mode, int depth, dt_value *out) {
    if (depth <= 0 || gen_below(s, 3) == 0) {
        gen_scalar(s, mode, out);
        return;
    }
    static const dt_type kinds[] = {DT_LIST, DT_VECTOR, DT_SET, DT_MAP, DT_TAGGED, DT_TUPLE};
    dt_type t = kinds[gen_below(s, mode == GEN_ALL ? 6 : 5)];
    size_t n = (size_t)gen_below(s, 6);
    if (t == DT_TAGGED) {
        assert_int_equal(dt_value_seq(DT_TAGGED, 2, out), DT_OK);
        char name[64];
        gen_name(s, name, 1);
        name[0] = 'q'; /* a letter, and never inst/uuid/bytes */
        assert_int_equal(dt_value_text(DT_SYMBOL, name, strlen(name), &out->u.seq.items[0]), DT_OK);
        gen_value(s, mode, depth - 1, &out->u.seq.items[1]);
        return;
    }
    size_t stride = t == DT_MAP ? 2 : 1;
    assert_int_equal(dt_value_seq(t, n * stride, out), DT_OK);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        dt_value v;
        gen_value(s, mode, depth - 1, &v);
        if ((t == DT_SET || t == DT_MAP) && gen_contains(out->u.seq.items, k, stride, &v)) {
            dt_value_free(&v);
            continue;
        }
        out->u.seq.items[k * stride] = v;
        if (t == DT_MAP) gen_value(s, mode, depth - 1, &out->u.seq.items[k * stride + 1]);
        k++;
    }
    out->u.seq.n = k * stride; /* the unused tail items are nil */
}

#endif
