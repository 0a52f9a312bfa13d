/*
 * fuzz_query.c -- the query parser on arbitrary bytes.  The input is a
 * query text, optionally followed by a NUL and a rules text.  A parse
 * either fails cleanly (DT_INVALID or DT_LIMIT, no tree) or gives a tree
 * whose printed form parses again and prints the same (parse -> print ->
 * parse).  Prepared queries go through the public API the same way: a
 * text dq_parse accepts without rules is one dt_query_prepare accepts.
 */
#include <string.h>

#include "datolite.h"
#include "fuzz.h"
#include "parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

static char *dup_text(const uint8_t *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t qlen = nul ? (size_t)(nul - data) : size;
    char *qtext = dup_text(data, qlen);
    char *rtext = nul ? dup_text(nul + 1, size - qlen - 1) : NULL;
    dq_query *q = NULL;
    int rc = dq_parse_text(qtext, rtext, &q, NULL);
    FUZZ_CHECK(rc == DT_OK || rc == DT_INVALID || rc == DT_LIMIT, "parse gave %d: %s", rc,
               dt_errmsg(NULL));
    FUZZ_CHECK((rc == DT_OK) == (q != NULL), "a tree iff DT_OK");
    if (rc == DT_OK) {
        dt_buf a = DT_BUF_INIT, ar = DT_BUF_INIT;
        FUZZ_CHECK(dq_query_print(q, &a) == DT_OK && dt_buf_terminate(&a) == DT_OK, "print");
        FUZZ_CHECK(dq_rules_print(q, &ar) == DT_OK && dt_buf_terminate(&ar) == DT_OK, "print");
        dq_query *q2 = NULL;
        rc = dq_parse_text((const char *)a.p, rtext ? (const char *)ar.p : NULL, &q2, NULL);
        FUZZ_CHECK(rc == DT_OK, "the printed query <%s> does not parse: %s", (const char *)a.p,
                   dt_errmsg(NULL));
        dt_buf b = DT_BUF_INIT;
        FUZZ_CHECK(dq_query_print(q2, &b) == DT_OK, "print again");
        FUZZ_CHECK(b.len == a.len && memcmp(a.p, b.p, a.len) == 0,
                   "printing the re-parsed query gave other text: <%s>", (const char *)a.p);
        dq_query_free(q2);
        dt_buf_release(&a);
        dt_buf_release(&ar);
        dt_buf_release(&b);
        dq_query_free(q);
    }
    /* the public entry point agrees on what is a query (rules come later) */
    dt_query *pq = NULL;
    rc = dt_query_prepare(qtext, qlen, &pq);
    FUZZ_CHECK(rc == DT_OK || rc == DT_INVALID || rc == DT_LIMIT, "prepare gave %d: %s", rc,
               dt_errmsg(NULL));
    dt_query_free(pq);
    free(qtext);
    free(rtext);
    return 0;
}
