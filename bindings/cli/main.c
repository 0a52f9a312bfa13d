/*
 * main.c -- the `datolite` command-line tool: global options and command
 * dispatch (bindings layer: uses only include/datolite.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"schema", cmd_schema, "print the schema, or update it from an EDN schema map"},
    {"transact", cmd_transact, "transact EDN tx-data and print the report"},
    {"import", cmd_import, "transact a large EDN tx-data file in batches"},
    {"init-db", cmd_init_db, "bulk-load prepared datoms into an empty database"},
    {"fill-db", cmd_fill_db, "bulk-load prepared datoms into an existing database"},
    {"datoms", cmd_datoms, "print the datoms of the EAV or AVE index"},
    {"check", cmd_check, "check a database for damage (read-only)"},
    {"kv", cmd_kv, "work with a plain key-value environment (see 'datolite kv --help')"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: datolite [--version] [--help] <command> [args]\n"
            "\n"
            "Datolite %s, an embedded Datalog/EAV database on LMDB.\n"
            "\n"
            "Commands:\n",
            dt_version());
    for (const struct command *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n"
               "'datolite <command> --help' describes a command.  Inputs are EDN; '-' reads\n"
               "stdin.  Results go to stdout, errors to stderr.\n"
               "\n" CLI_EXIT_HELP);
}

/* Flushes stdout: output that could not be written (a full disk, a closed
 * pipe) fails the command, which otherwise succeeded. */
static int finish(const char *name, int code) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "datolite %s: cannot write the output: %s\n", name, strerror(errno));
        if (code == CLI_OK) code = CLI_STORAGE;
    }
    return code;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("datolite %s\n", dt_version());
        return CLI_OK;
    }
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        if (!strcmp(name, "help") && argc > 2) {
            /* "datolite help CMD" is "datolite CMD --help" */
            for (const struct command *c = commands; c->name; c++) {
                if (!strcmp(c->name, argv[2])) {
                    char help[] = "--help";
                    char *args[] = {help, NULL};
                    return c->run(1, args);
                }
            }
            fprintf(stderr, "datolite: unknown command '%s' (try --help)\n", argv[2]);
            return CLI_USAGE;
        }
        usage(stdout);
        return CLI_OK;
    }
    for (const struct command *c = commands; c->name; c++)
        if (!strcmp(c->name, name)) return finish(name, c->run(argc - 2, argv + 2));
    if (name[0] == '-')
        fprintf(stderr, "datolite: unknown option '%s' (try --help)\n", name);
    else
        fprintf(stderr, "datolite: unknown command '%s' (try --help)\n", name);
    return CLI_USAGE;
}
