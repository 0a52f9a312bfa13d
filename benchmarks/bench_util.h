/*
 * bench_util.h -- small helpers shared by the benchmark programs: a
 * monotonic clock, the thread's CPU clock, a fixed-seed generator, a comparator for sorting
 * timings, and removal of a directory tree.
 */
#ifndef DT_BENCH_UTIL_H
#define DT_BENCH_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds of CPU time the calling thread has used: for CPU-bound read
 * benchmarks on a shared machine, where wall time also counts the time
 * other processes hold the core. */
static inline double bench_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: deterministic for a given seed state. */
static inline uint64_t bench_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* qsort comparator for doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* bench_ratio_stats: sorts v[0..n) (per-run ratios) and gives their
 * median, min and max (the spread a reader needs to trust a median). */
typedef struct bench_spread {
    double median, min, max;
} bench_spread;

static inline bench_spread bench_ratio_stats(double *v, size_t n) {
    bench_spread s = {0, 0, 0};
    if (n == 0) return s;
    qsort(v, n, sizeof *v, bench_cmp_double);
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

static inline int bench_rm_entry(const char *p, const struct stat *sb, int fl, struct FTW *ftw) {
    (void)sb;
    (void)fl;
    (void)ftw;
    return remove(p);
}

/* Removes path and everything below it (missing is fine). */
static inline void bench_rm_rf(const char *path) {
    nftw(path, bench_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
