/*
 * fuzz.h -- what the fuzz targets share: the libFuzzer entry points and a
 * check that stops the run (a finding) when a property does not hold.
 * Each target is built twice: with libFuzzer (-DDATOLITE_FUZZ=ON, clang)
 * and with driver.c, which runs the committed corpus and regression
 * inputs once as an ordinary test in every build.
 */
#ifndef DT_FUZZ_H
#define DT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Stops with a message: a broken property is a crash to libFuzzer. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
