/*
 * fuzz_codec.c -- the key codec's decoder on arbitrary bytes (keys read
 * from a damaged file reach it).  A decode either fails with DT_CORRUPT
 * (or DT_NOTFOUND for a well-formed truncated key), or gives a value whose
 * length dl_codec_scan agrees with, and whose encoding decodes to an equal
 * value and re-encodes to the same bytes (decode -> encode -> decode).
 * Decoding through an allocator (dl_codec_decode_in, what pulls into an
 * arena use) gives the same result, length and value.
 */
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "codec.h"
#include "datolite.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

/* An allocator for dl_codec_decode_in: every block kept until the end
 * of the input (as an arena would). */
typedef struct blocks {
    void *p[4096];
    size_t n;
} blocks;

static void *blocks_alloc(void *ctx, size_t n) {
    blocks *b = ctx;
    if (b->n == sizeof b->p / sizeof b->p[0]) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) b->p[b->n++] = p;
    return p;
}

/* dl_codec_decode_in agrees with the heap decode's rc, length and value. */
static void check_decode_in(const uint8_t *data, size_t size, int rc, size_t used,
                            const dt_value *v) {
    static blocks b;
    b.n = 0;
    dl_alloc al = {blocks_alloc, &b};
    dt_value w;
    size_t wused = 0;
    int wrc = dl_codec_decode_in(data, size, &al, &w, &wused);
    FUZZ_CHECK(wrc == rc || (wrc == DT_NOMEM && b.n == sizeof b.p / sizeof b.p[0]),
               "decode_in gave %d, decode %d", wrc, rc);
    if (wrc == rc) {
        FUZZ_CHECK(wused == used, "decode_in consumed %zu, decode %zu", wused, used);
        FUZZ_CHECK(rc != DT_OK || dt_value_equal(v, &w), "decode_in gave another value");
    }
    if (wrc != DT_OK) FUZZ_CHECK(w.type == DT_NIL, "a failed decode_in left a value");
    while (b.n) free(b.p[--b.n]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dt_value v;
    size_t used = 0;
    int rc = dl_codec_decode(data, size, &v, &used);
    check_decode_in(data, size, rc, used, &v);
    dl_codec_info info;
    int src = dl_codec_scan(data, size, &info);
    if (rc == DT_NOTFOUND) {
        FUZZ_CHECK(dl_codec_is_truncated(data, size), "DT_NOTFOUND for a key not truncated");
        FUZZ_CHECK(v.type == DT_NIL, "a truncated key left a value");
        return 0;
    }
    if (rc != DT_OK) {
        FUZZ_CHECK(rc == DT_CORRUPT, "decode gave %d: %s", rc, dt_errmsg(NULL));
        FUZZ_CHECK(v.type == DT_NIL, "a failed decode left a value of type %d", (int)v.type);
        return 0;
    }
    FUZZ_CHECK(src == DT_OK && info.len == used && info.type == v.type,
               "scan (%d, %zu bytes) disagrees with decode (%zu bytes)", src, info.len, used);
    FUZZ_CHECK(used > 0 && used <= size, "consumed %zu of %zu bytes", used, size);
    /* a few bytes of exponent may stand for 16 million digits: decoding
     * them is the check; the round trip would only spend the time budget */
    if ((v.type == DT_BIGINT || v.type == DT_BIGDEC) && v.u.s.len > (1u << 20)) {
        dt_value_free(&v);
        return 0;
    }
    dt_buf enc = DT_BUF_INIT;
    rc = dl_codec_encode(&v, &enc);
    FUZZ_CHECK(rc == DT_OK, "encoding a decoded value: %d %s", rc, dt_errmsg(NULL));
    size_t want = 0;
    FUZZ_CHECK(dl_codec_encoded_len(&v, &want) == DT_OK && want == enc.len,
               "dl_codec_encoded_len says %zu, the encoding has %zu bytes", want, enc.len);
    dt_value back;
    size_t back_used = 0;
    rc = dl_codec_decode(enc.p, enc.len, &back, &back_used);
    FUZZ_CHECK(rc == DT_OK && back_used == enc.len, "decoding our own encoding: %d %s", rc,
               dt_errmsg(NULL));
    FUZZ_CHECK(dt_value_equal(&v, &back), "decode -> encode -> decode changed the value");
    dt_buf enc2 = DT_BUF_INIT;
    FUZZ_CHECK(dl_codec_encode(&back, &enc2) == DT_OK, "encoding again");
    FUZZ_CHECK(enc2.len == enc.len && memcmp(enc.p, enc2.p, enc.len) == 0,
               "two encodings of one value differ");
    dt_buf_release(&enc2);
    dt_value_free(&back);
    dt_buf_release(&enc);
    dt_value_free(&v);
    return 0;
}
