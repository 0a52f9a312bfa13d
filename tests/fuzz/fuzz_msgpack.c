/*
 * fuzz_msgpack.c -- the msgpack decoder on arbitrary bytes.  A decode
 * either fails (DT_CORRUPT, DT_INVALID or DT_LIMIT) with a nil value, or
 * consumes at most the input and gives a value whose encoding decodes to
 * an equal value, consuming all of it, and encodes to the same bytes
 * again (decode -> encode -> decode).
 */
#include <string.h>

#include "datolite.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dt_value v;
    size_t used = 0;
    int rc = dt_msgpack_decode(data, size, &v, &used);
    if (rc != DT_OK) {
        FUZZ_CHECK(rc == DT_CORRUPT || rc == DT_INVALID || rc == DT_LIMIT, "decode gave %d: %s", rc,
                   dt_errmsg(NULL));
        FUZZ_CHECK(v.type == DT_NIL, "a failed decode left a value of type %d", (int)v.type);
        return 0;
    }
    FUZZ_CHECK(used > 0 && used <= size, "consumed %zu of %zu bytes", used, size);
    void *enc = NULL;
    size_t enc_len = 0;
    rc = dt_msgpack_encode(&v, &enc, &enc_len);
    FUZZ_CHECK(rc == DT_OK, "encoding a decoded value: %d %s", rc, dt_errmsg(NULL));
    dt_value back;
    size_t back_used = 0;
    rc = dt_msgpack_decode(enc, enc_len, &back, &back_used);
    FUZZ_CHECK(rc == DT_OK, "decoding our own encoding: %d %s", rc, dt_errmsg(NULL));
    FUZZ_CHECK(back_used == enc_len, "our encoding of %zu bytes decoded as %zu", enc_len,
               back_used);
    FUZZ_CHECK(dt_value_equal(&v, &back), "decode -> encode -> decode changed the value");
    void *enc2 = NULL;
    size_t enc2_len = 0;
    FUZZ_CHECK(dt_msgpack_encode(&back, &enc2, &enc2_len) == DT_OK, "encoding again");
    FUZZ_CHECK(enc2_len == enc_len && memcmp(enc, enc2, enc_len) == 0,
               "two encodings of one value differ");
    dt_free(enc2);
    dt_value_free(&back);
    dt_free(enc);
    dt_value_free(&v);
    return 0;
}
