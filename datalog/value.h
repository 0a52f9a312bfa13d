/*
 * value.h -- internal helpers around dt_value shared inside datalog/ and by
 * later modules: order keys for floating point and decimal decomposition.
 */
#ifndef DL_VALUE_H
#define DL_VALUE_H

#include <stdint.h>

#include "base.h"
#include "datolite.h"

/*
 * dl_double_key / dl_float_key: unsigned integers whose natural order is
 * the order dt_value_compare gives doubles/floats (-0.0 < 0.0, NaN above
 * +inf, all NaNs equal).  The codec writes these big-endian.
 */
uint64_t dl_double_key(double d);
uint32_t dl_float_key(float f);
double dl_double_from_key(uint64_t k);
float dl_float_from_key(uint32_t k);

/*
 * A decimal number in parts: value = (neg ? -1 : 1) * digits * 10^-scale,
 * where digits has no leading zeros ("0" for zero; zero is never neg).
 * dl_decimal_parse reads canonical or user text ("[+-]d[.d][e[+-]d]",
 * bigint text is the scale 0 case); digits is malloc'd (dt__free).
 * Returns DT_OK, DT_INVALID (message names the text) or DT_NOMEM.
 */
typedef struct dl_decimal {
    int neg;
    char *digits;
    size_t ndigits;
    int64_t scale;
} dl_decimal;

#define DL_DECIMAL_MAX_EXPONENT 1000000

int dl_decimal_parse(const char *text, size_t len, int allow_fraction, dl_decimal *out);
void dl_decimal_release(dl_decimal *d);

/* Canonical text of a decimal into b ("-12.30", "15E2"); DT_OK/DT_NOMEM. */
int dl_decimal_format(const dl_decimal *d, int is_bigint, dt_buf *b);

/* Numeric comparison of two decimals; ties broken by scale (smaller first). */
int dl_decimal_compare(const dl_decimal *a, const dl_decimal *b);

#endif
