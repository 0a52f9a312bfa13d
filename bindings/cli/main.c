/*
 * main.c -- the `datolite` command-line tool (bindings layer: uses only
 * include/datolite.h).
 */
#include <stdio.h>
#include <string.h>

#include "datolite.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: datolite [--version] [--help] <command> [args]\n"
            "\n"
            "Datolite %s, an embedded Datalog/EAV database on LMDB.\n",
            dt_version());
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("datolite %s\n", dt_version());
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "datolite: unknown command '%s' (try --help)\n", argv[1]);
    return 1;
}
