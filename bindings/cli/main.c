/*
 * main.c -- the `datolite` command-line tool: global options and command
 * dispatch (bindings layer: uses only include/datolite.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* {====== The crash guard ======
 *
 * LMDB keeps no page checksums: reading a zeroed or bit-flipped page of a
 * damaged file may fault, or fail one of LMDB's assertions.  The handlers
 * below turn such a crash into a message and exit code CLI_STORAGE (only
 * `datolite check` isolates its walk in a child process).  They use
 * write(2) and _exit only (async-signal-safe); the directory is copied
 * into a static buffer before the database is opened.
 * DATOLITE_CRASH=1 leaves the default actions (core dumps, debuggers).
 */

static char crash_dir[1024];
static volatile sig_atomic_t crash_dir_len;

void cli_crash_dir(const char *dir) {
    crash_dir_len = 0;
    if (!dir) return;
    size_t n = strlen(dir);
    if (n >= sizeof crash_dir) n = sizeof crash_dir - 1;
    memcpy(crash_dir, dir, n);
    crash_dir[n] = '\0';
    crash_dir_len = (sig_atomic_t)n;
}

static void put(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void puts_safe(const char *s) { put(s, strlen(s)); }

static void on_crash(int sig) {
    const char *name = sig == SIGSEGV   ? "SIGSEGV"
                       : sig == SIGBUS  ? "SIGBUS"
                       : sig == SIGABRT ? "SIGABRT"
                       : sig == SIGFPE  ? "SIGFPE"
                                        : "a signal";
    size_t n = (size_t)crash_dir_len;
    puts_safe("datolite: fatal signal ");
    puts_safe(name);
    if (n) {
        puts_safe(" while reading ");
        put(crash_dir, n);
        puts_safe(": the database may be damaged; run 'datolite check ");
        put(crash_dir, n);
        puts_safe("'\n");
    } else {
        puts_safe(": the database may be damaged; run 'datolite check' on it\n");
    }
    _exit(CLI_STORAGE);
}

/* Installs on_crash for the crash signals, on an alternate stack (a
 * fault from a stack overflow has no stack left to run on). */
static void crash_guard(void) {
    const char *env = getenv("DATOLITE_CRASH");
    if (env && !strcmp(env, "1")) return;
    static char alt[1 << 16];
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = alt;
    ss.ss_size = sizeof alt;
    int onstack = sigaltstack(&ss, NULL) == 0;
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_crash;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | (onstack ? SA_ONSTACK : 0);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* }====== */

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
    {"query", cmd_query, "run a Datalog query and print the result"},
    {"explain", cmd_explain, "run a Datalog query and print the plan it ran"},
    {"pull", cmd_pull, "pull an entity with a pull pattern"},
    {"check", cmd_check, "check a database for damage (read-only)"},
    {"dump", cmd_dump, "write the whole database as a portable EDN or msgpack dump"},
    {"load", cmd_load, "read a dump into an empty database, keeping every id"},
    {"stat", cmd_stat, "print database statistics: datoms, entities, attributes, size"},
    {"copy", cmd_copy, "copy a database (hot backup), optionally compacted"},
    {"entity", cmd_entity, "print every attribute of an entity (pull [*])"},
    {"repl", cli_repl, "the REPL (also: datolite [DIR] with no command)"},
    {"fn", cmd_fn, "install or list stored transaction functions (Lua)"},
    {"log", cmd_log, "print the transaction log as EDN, over a range of transactions"},
    {"gc", cmd_gc, "drop the history of retractions older than a transaction"},
    {"kv", cmd_kv, "work with a plain key-value environment (see 'datolite kv --help')"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
    fprintf(f,
            "usage: datolite [--version] [--help] <command> [args]\n"
            "       datolite [--format F] [DIR]   (the REPL on DIR, default ./datolite-db)\n"
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
    crash_guard();
    if (argc < 2) return finish("repl", cli_repl(0, argv + 1));
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
    /* no command: the REPL, on DIR (a word that is no command) */
    return finish("repl", cli_repl(argc - 1, argv + 1));
}
