/*
 * cli.h -- shared declarations of the `datolite` command-line tool
 * (bindings layer: everything here uses only include/datolite.h).
 */
#ifndef DT_CLI_H
#define DT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "datolite.h"

/* Exit codes of every command (docs/cli.md, "Exit codes"). */
enum {
    CLI_OK = 0,      /* success */
    CLI_USAGE = 1,   /* bad command line: unknown command or flag, missing argument */
    CLI_INPUT = 2,   /* bad input: malformed EDN, wrong type, not found */
    CLI_REFUSED = 3, /* refused by the data: conflict, constraint, schema */
    CLI_STORAGE = 4  /* storage or system: not a database, I/O, corrupt, full */
};

/* The exit-code table as printed by every --help. */
#define CLI_EXIT_HELP                                                                              \
    "Exit codes: 0 ok, 1 usage, 2 input error (malformed EDN, wrong type, not\n"                   \
    "found), 3 refused (conflict, :db/cas mismatch, unique or schema constraint),\n"               \
    "4 storage or system error (not a database, corrupt, I/O, map full).\n"

/*
 * cli_crash_dir: names the database directory a command is about to open,
 * for the message of the crash guard (main.c): a SIGSEGV, SIGBUS, SIGABRT
 * or SIGFPE while reading a damaged file ends the command with
 * "datolite: fatal signal SIGSEGV while reading DIR: the database may be
 * damaged; run 'datolite check DIR'" and exit code CLI_STORAGE instead of
 * a core dump (unless DATOLITE_CRASH=1; docs/cli.md).  dir is copied
 * (truncated to 1 KiB); NULL forgets it.  Not thread-safe: call from the
 * main thread before the database is opened.
 */
void cli_crash_dir(const char *dir);

/* cli_exit_code: the exit code for a Datolite result code. */
int cli_exit_code(int rc);

/*
 * cli_fail: prints "datolite CMD: message" (printf-style) on stderr and
 * returns cli_exit_code(rc).
 */
int cli_fail(const char *cmd, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* {====== Command line ====== */

/*
 * One option of a command.  Flags (has_arg 0) set *flag to 1; options with
 * an argument store it (borrowed from argv) in *value.  Both `--name value`
 * and `--name=value` are accepted.
 */
typedef struct cli_opt {
    const char *name; /* without the leading "--" */
    int has_arg;
    const char **value;
    int *flag;
} cli_opt;

/*
 * cli_parse: splits argv[0..argc) (the words after the command name) into
 * options (from `opts`, terminated by a {NULL} entry) and positional
 * arguments, which are stored in pos[0..*npos) (pos must have room for
 * argc entries).  "--" ends the options; "-" and words that start with a
 * '-' followed by a digit (negative numbers) are positional.  -h/--help
 * sets *help.  Returns CLI_OK, or CLI_USAGE after printing the problem and
 * the usage text on stderr.
 */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv, const cli_opt *opts,
              char **pos, int *npos, int *help);

/* cli_usage_error: prints "datolite CMD: message" and the usage on stderr;
 * returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* cli_parse_count: parses a non-negative decimal count; 0 on success, -1
 * when `s` is not one. */
int cli_parse_count(const char *s, uint64_t *out);

/* }====== */

/* {====== Input ====== */

/* A whole input, from a file (memory-mapped) or stdin (read). */
typedef struct cli_input {
    char *data;
    size_t len;
    int mapped;       /* 1: munmap, 0: free */
    const char *name; /* "<stdin>" or the path, for messages */
} cli_input;

/*
 * cli_input_read: reads `path` ("-" = stdin) whole.  A regular file is
 * memory-mapped unless `nul` is set; with `nul` the data is read into a
 * buffer and NUL-terminated (for the APIs that take C strings).  On error
 * prints the reason and returns the exit code; else CLI_OK.
 */
int cli_input_read(const char *cmd, const char *path, int nul, cli_input *out);
void cli_input_free(cli_input *in);

/*
 * cli_edn_arg: reads one EDN form from the command-line word `text` into
 * *out.  On error prints "datolite CMD: WHAT: <reader message>" and
 * returns CLI_INPUT.
 */
int cli_edn_arg(const char *cmd, const char *what, const char *text, dt_value *out);

/* }====== */

/* {====== Output ====== */

/* cli_print_value: writes `v` as compact EDN to `f` (no newline).  Returns
 * a Datolite result code (message on dt_errmsg(NULL)). */
int cli_print_value(FILE *f, const dt_value *v);

/* cli_now: a monotonic clock in seconds, for the timing lines. */
double cli_now(void);

/* }====== */

/* The commands (argv[0] is the first word after the command name). */
int cmd_schema(int argc, char **argv);
int cmd_transact(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_init_db(int argc, char **argv);
int cmd_fill_db(int argc, char **argv);
int cmd_datoms(int argc, char **argv);
int cmd_kv(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_log(int argc, char **argv);

#endif /* DT_CLI_H */
