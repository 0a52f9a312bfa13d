/*
 * fuzz_edn.c -- the EDN reader on arbitrary bytes.  A read either fails
 * with DT_INVALID or DT_LIMIT (and a nil value), or gives a value that
 * prints and reads back equal, in compact and pretty layout, and whose
 * text is the same when printed again (read -> print -> read).
 */
#include <string.h>

#include "datolite.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

static void roundtrip(const dt_value *v, const dt_edn_options *o) {
    for (int flags = DT_EDN_COMPACT; flags <= DT_EDN_PRETTY; flags += DT_EDN_PRETTY) {
        char *text = NULL;
        size_t len = 0;
        int rc = dt_edn_write(v, flags, &text, &len);
        FUZZ_CHECK(rc == DT_OK, "printing a value read from EDN: %d %s", rc, dt_errmsg(NULL));
        dt_value back;
        rc = dt_edn_read_opts(text, len, o, &back);
        FUZZ_CHECK(rc == DT_OK, "re-reading <%s>: %s", text, dt_errmsg(NULL));
        FUZZ_CHECK(dt_value_equal(v, &back), "the round trip changed the value: <%s>", text);
        char *again = NULL;
        size_t again_len = 0;
        FUZZ_CHECK(dt_edn_write(&back, flags, &again, &again_len) == DT_OK, "printing again");
        FUZZ_CHECK(again_len == len && memcmp(text, again, len) == 0,
                   "printing the re-read value gave other text: <%s> then <%s>", text, again);
        dt_free(again);
        dt_value_free(&back);
        dt_free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    dt_edn_options keep = DT_EDN_OPTIONS_INIT;
    keep.keep_unknown_tags = 1;
    const dt_edn_options *opts[2] = {NULL, &keep};
    for (int i = 0; i < 2; i++) {
        dt_value v;
        int rc = dt_edn_read_opts(text, size, opts[i], &v);
        if (rc != DT_OK) {
            FUZZ_CHECK(rc == DT_INVALID || rc == DT_LIMIT, "read gave %d: %s", rc, dt_errmsg(NULL));
            FUZZ_CHECK(v.type == DT_NIL, "a failed read left a value of type %d", (int)v.type);
            FUZZ_CHECK(strncmp(dt_errmsg(NULL), "edn", 3) == 0, "message: %s", dt_errmsg(NULL));
            continue;
        }
        roundtrip(&v, &keep);
        dt_value_free(&v);
    }
    return 0;
}
