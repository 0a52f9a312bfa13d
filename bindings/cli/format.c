/*
 * format.c -- the output formats of the `datolite` tool (bindings layer):
 * one value or a grid of values as EDN, JSON, CSV or an aligned table.
 * docs/cli.md, "Output formats", documents the JSON mapping.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_fmt_parse(const char *name, int *out) {
    static const char *const names[] = {"table", "edn", "json", "csv"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(name, names[i])) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

const char *cli_fmt_name(int fmt) {
    switch (fmt) {
    case CLI_FMT_EDN:
        return "edn";
    case CLI_FMT_JSON:
        return "json";
    case CLI_FMT_CSV:
        return "csv";
    default:
        return "table";
    }
}

/* {====== Text buffer ====== */

static int sb_grow(cli_sb *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->s = p;
    b->cap = cap;
    return 0;
}

void cli_sb_add(cli_sb *b, const char *s, size_t n) {
    if (b->oom || sb_grow(b, n) != 0) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void cli_sb_str(cli_sb *b, const char *s) { cli_sb_add(b, s, strlen(s)); }

void cli_sb_printf(cli_sb *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && !b->oom && sb_grow(b, (size_t)n) == 0) {
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void cli_sb_free(cli_sb *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* }====== */

/* {====== JSON ====== */

static void json_string(cli_sb *b, const char *s, size_t n) {
    cli_sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            cli_sb_str(b, "\\\"");
            break;
        case '\\':
            cli_sb_str(b, "\\\\");
            break;
        case '\n':
            cli_sb_str(b, "\\n");
            break;
        case '\r':
            cli_sb_str(b, "\\r");
            break;
        case '\t':
            cli_sb_str(b, "\\t");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                cli_sb_printf(b, "\\u%04x", c);
            else
                cli_sb_add(b, (const char *)&s[i], 1);
        }
    }
    cli_sb_add(b, "\"", 1);
}

/* A double as the shortest decimal that reads back; JSON has no NaN or
 * infinities, so those become the strings "NaN", "Infinity", "-Infinity". */
static void json_double(cli_sb *b, double d) {
    if (isnan(d)) {
        cli_sb_str(b, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        cli_sb_str(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    cli_sb_str(b, buf);
    /* keep it a float in JSON readers that care: 1.0 not 1 */
    if (!strpbrk(buf, ".eEn")) cli_sb_str(b, ".0");
}

void cli_iso8601(int64_t ms, char out[64]) {
    int64_t secs = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        rem += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 64, "%lld", (long long)ms);
        return;
    }
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
}

static void uuid_text(const uint8_t u[16], char out[37]) {
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hex[u[i] >> 4];
        out[k++] = hex[u[i] & 15];
    }
    out[k] = '\0';
}

/* The EDN text of v, appended (for the types JSON has no form for). */
static void edn_text(cli_sb *b, const dt_value *v) {
    char *s = NULL;
    size_t n = 0;
    if (dt_edn_write(v, DT_EDN_COMPACT, &s, &n) == DT_OK) {
        cli_sb_add(b, s, n);
        dt_free(s);
    } else {
        cli_sb_str(b, "?");
    }
}

static void json_value(cli_sb *b, const dt_value *v);

/* A map key: strings as they are, keywords as ":ns/name", anything else
 * as its EDN text. */
static void json_key(cli_sb *b, const dt_value *k) {
    if (k->type == DT_STRING) {
        json_string(b, k->u.s.ptr, k->u.s.len);
    } else {
        cli_sb t = {0};
        if (k->type == DT_KEYWORD) {
            cli_sb_add(&t, ":", 1);
            cli_sb_add(&t, k->u.s.ptr, k->u.s.len);
        } else {
            edn_text(&t, k);
        }
        json_string(b, t.s ? t.s : "", t.len);
        cli_sb_free(&t);
    }
}

static void json_value(cli_sb *b, const dt_value *v) {
    char buf[64];
    switch (v->type) {
    case DT_NIL:
        cli_sb_str(b, "null");
        break;
    case DT_BOOL:
        cli_sb_str(b, v->u.b ? "true" : "false");
        break;
    case DT_LONG:
    case DT_REF:
        cli_sb_printf(b, "%lld", (long long)v->u.i);
        break;
    case DT_DOUBLE:
        json_double(b, v->u.d);
        break;
    case DT_FLOAT:
        json_double(b, (double)v->u.f);
        break;
    case DT_BIGINT:
    case DT_BIGDEC:
    case DT_STRING:
    case DT_SYMBOL:
        json_string(b, v->u.s.ptr, v->u.s.len);
        break;
    case DT_KEYWORD: {
        cli_sb t = {0};
        cli_sb_add(&t, ":", 1);
        cli_sb_add(&t, v->u.s.ptr, v->u.s.len);
        json_string(b, t.s ? t.s : "", t.len);
        cli_sb_free(&t);
        break;
    }
    case DT_INSTANT:
        cli_iso8601(v->u.i, buf);
        json_string(b, buf, strlen(buf));
        break;
    case DT_UUID:
        uuid_text(v->u.uuid, buf);
        json_string(b, buf, strlen(buf));
        break;
    case DT_CHAR: {
        /* a char is a one-character string */
        char u[5];
        uint32_t c = v->u.c;
        size_t n = 0;
        if (c < 0x80) {
            u[n++] = (char)c;
        } else if (c < 0x800) {
            u[n++] = (char)(0xc0 | (c >> 6));
            u[n++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            u[n++] = (char)(0xe0 | (c >> 12));
            u[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            u[n++] = (char)(0x80 | (c & 0x3f));
        } else {
            u[n++] = (char)(0xf0 | (c >> 18));
            u[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
            u[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            u[n++] = (char)(0x80 | (c & 0x3f));
        }
        json_string(b, u, n);
        break;
    }
    case DT_BYTES:
    case DT_TAGGED: {
        /* the EDN text: #bytes "base64", #tag value */
        cli_sb t = {0};
        edn_text(&t, v);
        json_string(b, t.s ? t.s : "", t.len);
        cli_sb_free(&t);
        break;
    }
    case DT_TUPLE:
    case DT_LIST:
    case DT_VECTOR:
    case DT_SET:
        cli_sb_add(b, "[", 1);
        for (size_t i = 0; i < v->u.seq.n; i++) {
            if (i) cli_sb_add(b, ",", 1);
            json_value(b, &v->u.seq.items[i]);
        }
        cli_sb_add(b, "]", 1);
        break;
    case DT_MAP:
        cli_sb_add(b, "{", 1);
        for (size_t i = 0; i + 1 < v->u.seq.n; i += 2) {
            if (i) cli_sb_add(b, ",", 1);
            json_key(b, &v->u.seq.items[i]);
            cli_sb_add(b, ":", 1);
            json_value(b, &v->u.seq.items[i + 1]);
        }
        cli_sb_add(b, "}", 1);
        break;
    }
}

void cli_json(cli_sb *b, const dt_value *v) { json_value(b, v); }

/* }====== */

/* {====== Cells ====== */

/* The text of a value in a table or CSV cell: strings as they are,
 * instants in ISO-8601, everything else as compact EDN. */
void cli_cell_text(cli_sb *b, const dt_value *v) {
    if (!v) return;
    switch (v->type) {
    case DT_STRING:
        cli_sb_add(b, v->u.s.ptr, v->u.s.len);
        break;
    case DT_KEYWORD:
        cli_sb_add(b, ":", 1);
        cli_sb_add(b, v->u.s.ptr, v->u.s.len);
        break;
    case DT_INSTANT: {
        char buf[64];
        cli_iso8601(v->u.i, buf);
        cli_sb_str(b, buf);
        break;
    }
    default:
        edn_text(b, v);
    }
}

/* Display width of UTF-8 text: code points (continuation bytes do not
 * count). */
static size_t text_width(const char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) w++;
    return w;
}

/* Cuts s to at most `max` columns (on a code point boundary), ending in
 * "..." when it was cut; control characters become spaces.  Returns the
 * new length in bytes. */
static size_t clip(char *s, size_t n, size_t max) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20) s[i] = ' ';
    if (text_width(s, n) <= max) return n;
    size_t w = 0, i = 0;
    while (i < n) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (w == max - 3) break;
            w++;
        }
        i++;
    }
    memcpy(s + i, "...", 3);
    return i + 3;
}

static void csv_field(FILE *f, const char *s, size_t n) {
    if (n && !strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[n - 1] != ' ') {
        fwrite(s, 1, n, f);
        return;
    }
    if (!n) return;
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

int cli_grid_print(FILE *f, int fmt, const cli_grid *g, size_t limit) {
    size_t nrows = g->nrows, ncols = g->ncols;
    size_t shown = nrows < limit ? nrows : limit;
    if (fmt == CLI_FMT_CSV) {
        for (size_t c = 0; c < ncols; c++) {
            if (c) fputc(',', f);
            csv_field(f, g->head[c], strlen(g->head[c]));
        }
        fputs("\r\n", f);
        cli_sb b = {0};
        for (size_t r = 0; r < nrows; r++) {
            for (size_t c = 0; c < ncols; c++) {
                if (c) fputc(',', f);
                b.len = 0;
                cli_cell_text(&b, g->cell(g->ud, r, c));
                csv_field(f, b.s ? b.s : "", b.len);
            }
            fputs("\r\n", f);
        }
        int oom = b.oom;
        cli_sb_free(&b);
        return oom ? DT_NOMEM : DT_OK;
    }
    /* the table: cell texts first, to size the columns */
    char **text = calloc(shown * ncols + 1, sizeof *text);
    size_t *len = calloc(shown * ncols + 1, sizeof *len);
    size_t *width = calloc(ncols + 1, sizeof *width);
    if (!text || !len || !width) {
        free(text);
        free(len);
        free(width);
        return DT_NOMEM;
    }
    int rc = DT_OK;
    for (size_t c = 0; c < ncols; c++) width[c] = text_width(g->head[c], strlen(g->head[c]));
    for (size_t r = 0; r < shown && rc == DT_OK; r++) {
        for (size_t c = 0; c < ncols; c++) {
            cli_sb b = {0};
            cli_cell_text(&b, g->cell(g->ud, r, c));
            if (b.oom) {
                rc = DT_NOMEM;
                cli_sb_free(&b);
                break;
            }
            size_t i = r * ncols + c;
            text[i] = b.s ? b.s : calloc(1, 4);
            len[i] = b.s ? clip(b.s, b.len, g->max_width ? g->max_width : 60) : 0;
            size_t w = text_width(text[i] ? text[i] : "", len[i]);
            if (w > width[c]) width[c] = w;
        }
    }
    if (rc == DT_OK) {
        for (size_t c = 0; c < ncols; c++) {
            size_t w = text_width(g->head[c], strlen(g->head[c]));
            fprintf(f, "%s%s", c ? " | " : "", g->head[c]);
            if (c + 1 < ncols)
                for (; w < width[c]; w++) fputc(' ', f);
        }
        fputc('\n', f);
        for (size_t c = 0; c < ncols; c++) {
            if (c) fputs("-+-", f);
            for (size_t k = 0; k < width[c]; k++) fputc('-', f);
        }
        fputc('\n', f);
        for (size_t r = 0; r < shown; r++) {
            for (size_t c = 0; c < ncols; c++) {
                size_t i = r * ncols + c;
                const char *s = text[i] ? text[i] : "";
                if (c) fputs(" | ", f);
                const dt_value *v = g->cell(g->ud, r, c);
                int right = !g->left_only && v &&
                            (v->type == DT_LONG || v->type == DT_DOUBLE || v->type == DT_FLOAT ||
                             v->type == DT_REF || v->type == DT_BIGINT || v->type == DT_BIGDEC);
                size_t w = text_width(s, len[i]);
                if (right)
                    for (size_t k = w; k < width[c]; k++) fputc(' ', f);
                fwrite(s, 1, len[i], f);
                if (!right && c + 1 < ncols)
                    for (size_t k = w; k < width[c]; k++) fputc(' ', f);
            }
            fputc('\n', f);
        }
    }
    for (size_t i = 0; i < shown * ncols; i++) free(text[i]);
    free(text);
    free(len);
    free(width);
    return rc;
}

/* }====== */

int cli_value_print(FILE *f, int fmt, const dt_value *v) {
    if (fmt == CLI_FMT_JSON) {
        cli_sb b = {0};
        cli_json(&b, v);
        if (b.oom) {
            cli_sb_free(&b);
            return DT_NOMEM;
        }
        fwrite(b.s, 1, b.len, f);
        fputc('\n', f);
        cli_sb_free(&b);
        return DT_OK;
    }
    char *s = NULL;
    size_t n = 0;
    int rc = dt_edn_write(v, DT_EDN_PRETTY, &s, &n);
    if (rc != DT_OK) return rc;
    fwrite(s, 1, n, f);
    fputc('\n', f);
    dt_free(s);
    return DT_OK;
}

/* A map (entity, pull result) as a table or CSV of attribute | value. */
static const dt_value *map_cell(void *ud, size_t r, size_t c) {
    const dt_value *m = ud;
    return &m->u.seq.items[2 * r + c];
}

int cli_map_print(FILE *f, int fmt, const dt_value *m) {
    if (fmt == CLI_FMT_EDN || fmt == CLI_FMT_JSON || m->type != DT_MAP)
        return cli_value_print(f, fmt, m);
    static const char *const head[] = {"attribute", "value"};
    cli_grid g = {head, 2, m->u.seq.n / 2, map_cell, (void *)m, 100, 1};
    return cli_grid_print(f, fmt, &g, SIZE_MAX);
}
