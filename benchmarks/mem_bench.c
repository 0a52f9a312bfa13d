/*
 * mem_bench.c -- peak memory of large transactions: one transaction of N
 * datoms (default 1,000,000) and one datom holding a string of S bytes
 * (default 100 MB), each transacted as EDN text with dt_transact_text,
 * with and without a report.  Every case runs in a child process of its
 * own; the figure is the child's peak resident set (VmHWM) minus its
 * resident set just before the call, i.e. what the transaction itself
 * needed on top of its input text, in total and per datom / per byte.
 *
 * Usage: mem_bench [datoms] [string-bytes] [dir]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "datolite.h"

/* A field of /proc/self/status in kB ("VmRSS", "VmHWM"), or -1. */
static long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* The tx-data of `n` datoms: [[:db/add i :p/n i] ...]. */
static char *many_datoms(long n, size_t *len) {
    size_t cap = (size_t)n * 40 + 16, k = 0;
    char *t = malloc(cap);
    if (!t) return NULL;
    t[k++] = '[';
    for (long i = 1; i <= n; i++) k += (size_t)sprintf(t + k, "[:db/add %ld :p/n %ld]\n", i, i);
    t[k++] = ']';
    *len = k;
    return t;
}

/* The tx-data of one datom whose value is a string of `bytes` bytes. */
static char *big_string(size_t bytes, size_t *len) {
    static const char head[] = "[[:db/add 1 :p/s \"", tail[] = "\"]]";
    size_t k = sizeof head - 1;
    char *t = malloc(k + bytes + sizeof tail);
    if (!t) return NULL;
    memcpy(t, head, k);
    for (size_t i = 0; i < bytes; i++) t[k + i] = (char)('a' + i % 26);
    memcpy(t + k + bytes, tail, sizeof tail);
    *len = k + bytes + sizeof tail - 1;
    return t;
}

typedef struct result {
    long before_kb, peak_kb;
    int rc;
} result;

/* In a child: opens a database in a fresh directory, builds the input,
 * and transacts it; writes a result to the pipe. */
static void child(const char *dir, int kind, long n, size_t bytes, int report, int fd) {
    result r = {0, 0, DT_INTERNAL};
    size_t len = 0;
    char *text = kind == 0 ? many_datoms(n, &len) : big_string(bytes, &len);
    dt_conn *conn = NULL;
    dt_conn_options o = DT_CONN_OPTIONS_INIT;
    o.kv.flags = DT_KV_NOSYNC;
    if (text && dt_conn_open(dir, NULL, &o, &conn) == DT_OK) {
        r.before_kb = status_kb("VmRSS");
        dt_report *rep = NULL;
        r.rc = dt_transact_text(conn, text, len, report ? &rep : NULL);
        r.peak_kb = status_kb("VmHWM");
        if (r.rc != DT_OK) fprintf(stderr, "transact: %s\n", dt_errmsg(conn));
        dt_report_close(rep);
        dt_conn_close(conn);
    }
    free(text);
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
}

static int run(const char *base, const char *name, int kind, long n, size_t bytes, int report) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    int p[2];
    if (pipe(p) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        child(dir, kind, n, bytes, report, p[1]);
    }
    close(p[1]);
    result r;
    ssize_t got = read(p[0], &r, sizeof r);
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    bench_rm_rf(dir);
    if (got != (ssize_t)sizeof r || r.rc != DT_OK) {
        fprintf(stderr, "%s failed\n", name);
        return 1;
    }
    double peak = (double)(r.peak_kb - r.before_kb) * 1024.0;
    double units = kind == 0 ? (double)n : (double)bytes;
    printf("{\"case\":\"%s\",\"units\":%.0f,\"peak_bytes\":%.0f,\"per_unit\":%.2f}\n", name, units,
           peak, peak / units);
    printf("  %-22s %10.0f %s  peak +%7.1f MB  = %6.1f bytes per %s\n", name, units,
           kind == 0 ? "datoms" : "bytes ", peak / 1e6, peak / units,
           kind == 0 ? "datom" : "byte of the string");
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    size_t bytes = argc > 2 ? (size_t)atol(argv[2]) : 100u * 1000 * 1000;
    char base[4096];
    const char *tmp = argc > 3 ? argv[3] : getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/mem_bench.%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    if (mkdir(base, 0777) != 0 || n <= 0 || bytes == 0) return 2;
    int bad = 0;
    bad |= run(base, "datoms", 0, n, 0, 0);
    bad |= run(base, "datoms_report", 0, n, 0, 1);
    bad |= run(base, "string", 1, 0, bytes, 0);
    bad |= run(base, "string_report", 1, 0, bytes, 1);
    bench_rm_rf(base);
    return bad;
}
