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
    CLI_STORAGE = 4, /* storage or system: not a database, I/O, corrupt, full */
    CLI_STOPPED = 5  /* stopped: a deadline (--timeout) passed, or interrupted (Ctrl-C) */
};

/* The exit-code table as printed by every --help. */
#define CLI_EXIT_HELP                                                                              \
    "Exit codes: 0 ok, 1 usage, 2 input error (malformed EDN, wrong type, not\n"                   \
    "found), 3 refused (conflict, :db/cas mismatch, unique or schema constraint),\n"               \
    "4 storage or system error (not a database, corrupt, I/O, map full), 5 stopped\n"              \
    "(a --timeout deadline passed, or interrupted with Ctrl-C).\n"

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

/*
 * Time views (--as-of, --since, --history; docs/cli.md, "Time").
 * A command takes them through cli_cmd (CLI_TAKES_TIME, CLI_TAKES_HISTORY);
 * CLI_TIME_HELP is their help text.
 * cli_time_view: replaces *db with the view the options ask for (the
 * snapshot lives on inside the view; dt_db_close(*db) releases both).
 * AS-OF and SINCE take a transaction id, a transaction number (id minus
 * 2^42; 0: before the first), or an instant: #inst "..." or a bare
 * ISO-8601 date or date-time (2026-01-01, 2026-01-01T12:00:00Z).
 * Prints the problem and returns the exit code; CLI_OK when done (also
 * when no option was given).
 */
typedef struct cli_time {
    const char *as_of, *since;
    int history;
} cli_time;
#define CLI_TIME_HELP                                                                              \
    "  --as-of T    read the database as of transaction T (an id, a number, or an\n"               \
    "               instant: 2026-01-01T00:00:00Z or #inst \"...\")\n"                             \
    "  --since T    only datoms asserted after transaction T\n"                                    \
    "  --history    every assertion and retraction (queries see the added flag\n"                  \
    "               in the fifth position of a data pattern)\n"
int cli_time_view(const char *cmd, const char *usage, const cli_time *t, dt_db **db);

/* }====== */

/* {====== Commands (command.c) ======
 *
 * The frame every command runs in: parse its command line (its own
 * options and the shared ones it takes), answer --help, check --format
 * and --timeout, check the positional arguments, open the database (and
 * take a snapshot through the time options), close it all at the end:
 * one place for each of those steps and its messages.
 *
 *   cli_cmd c = CLI_CMD("datoms", datoms_usage, datoms_help, CLI_TAKES_TIME, NULL);
 *   int code = cli_cmd_start(&c, argc, argv, own_opts);
 *   if (code == CLI_OK) code = cli_cmd_args(&c, -1, "DIR", "index (eav or ave)", NULL);
 *   if (code == CLI_OK) code = cli_cmd_open(&c, c.pos[0], CLI_OPEN_SNAPSHOT);
 *   ... work on c.db ...
 *   return cli_cmd_end(&c, code);
 */

/* The shared options a command takes (cli_cmd.takes). */
enum {
    CLI_TAKES_FORMAT = 1 << 0,  /* --format F, F one of cli_cmd.formats */
    CLI_TAKES_TIMEOUT = 1 << 1, /* --timeout MS */
    CLI_TAKES_TIME = 1 << 2,    /* --as-of T, --since T */
    CLI_TAKES_HISTORY = 1 << 3  /* --history */
};

/* The --format names of the commands that print grids. */
#define CLI_GRID_FORMATS "edn, json, table or csv"

/* cli_cmd_start's result after printing --help: cli_cmd_end turns it
 * into CLI_OK.  Not an exit code. */
#define CLI_DONE (-1)

typedef struct cli_cmd {
    /* set by the command */
    const char *name;         /* "query", "kv put" */
    const char *usage, *help; /* --help prints usage then help */
    unsigned takes;           /* CLI_TAKES_* */
    /* with CLI_TAKES_FORMAT: the names --format accepts as its message
     * lists them, the default first ("edn, json, table or csv") */
    const char *formats;
    /* set by cli_cmd_start */
    char **pos; /* positional arguments (borrowed from argv) */
    int npos;
    const char *format;  /* --format as given; NULL when absent */
    int fmt;             /* its CLI_FMT_*, -1 for a name that is none ("lines") */
    uint32_t timeout_ms; /* --timeout; 0 when absent */
    cli_time time;       /* --as-of, --since, --history */
    /* set by cli_cmd_open */
    dt_conn *conn;
    dt_db *db; /* with CLI_OPEN_SNAPSHOT: the view the time options ask for */
} cli_cmd;

/* A cli_cmd as a command declares it: name, usage, help, what it takes
 * (CLI_TAKES_*) and its --format names (NULL without CLI_TAKES_FORMAT). */
#define CLI_CMD(n, u, h, t, f)                                                                     \
    { .name = (n), .usage = (u), .help = (h), .takes = (t), .formats = (f) }

/*
 * cli_cmd_start: parses argv[0..argc) (the words after the command name)
 * with the command's own options `opts` ({NULL}-terminated; NULL for
 * none) and the shared ones it takes, into c.  Prints the usage and
 * returns CLI_DONE for --help; prints the problem and returns the exit
 * code for a bad command line or a --format or --timeout it cannot take;
 * else CLI_OK.  Always finish with cli_cmd_end.
 */
int cli_cmd_start(cli_cmd *c, int argc, char **argv, const cli_opt *opts);

/*
 * cli_cmd_args: checks there are at least as many positional arguments
 * as names (a NULL-terminated list: "missing NAME" for the first absent
 * one) and at most `max` (-1: any number; "too many arguments").
 * Returns CLI_OK, or CLI_USAGE after printing the problem and the usage.
 */
int cli_cmd_args(cli_cmd *c, int max, ...);

/* How cli_cmd_open opens the database (flags). */
enum {
    CLI_OPEN_WRITE = 1 << 0,         /* read-write, creating it; else read-only */
    CLI_OPEN_CLOSED_SCHEMA = 1 << 1, /* refuse attributes the schema lacks */
    CLI_OPEN_SNAPSHOT = 1 << 2       /* also take a snapshot, in the time view */
};

/*
 * cli_cmd_open: opens the database in dir into c->conn (read-only opens
 * never create it: a missing one is "not found", exit 2) and, with
 * CLI_OPEN_SNAPSHOT, a snapshot in c->db as the time options ask
 * (cli_time_view).  Prints the error and returns the exit code, else
 * CLI_OK.
 */
int cli_cmd_open(cli_cmd *c, const char *dir, int flags);

/* cli_cmd_end: closes what cli_cmd_open opened and frees what
 * cli_cmd_start allocated; returns `code` (CLI_OK for CLI_DONE), or the
 * close's exit code when code was CLI_OK and closing failed. */
int cli_cmd_end(cli_cmd *c, int code);

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

/* {====== Output formats (format.c) ======
 *
 * Query, pull, datoms and entity output comes in four formats: an aligned
 * table (the REPL's default), EDN, JSON (mapping in docs/cli.md, "Output
 * formats") and CSV (RFC 4180, a header row, CRLF line ends).
 */

enum { CLI_FMT_TABLE = 0, CLI_FMT_EDN = 1, CLI_FMT_JSON = 2, CLI_FMT_CSV = 3 };

/* cli_fmt_parse: "table", "edn", "json" or "csv" to *out; -1 if none. */
int cli_fmt_parse(const char *name, int *out);
const char *cli_fmt_name(int fmt);

/* A growing text buffer (s is NUL-terminated once anything was added; oom
 * is set when memory ran out, and later additions are dropped). */
typedef struct cli_sb {
    char *s;
    size_t len, cap;
    int oom;
} cli_sb;
void cli_sb_add(cli_sb *b, const char *s, size_t n);
void cli_sb_str(cli_sb *b, const char *s);
void cli_sb_printf(cli_sb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cli_sb_free(cli_sb *b);

/* cli_json: appends the JSON form of v (docs/cli.md mapping). */
void cli_json(cli_sb *b, const dt_value *v);
/* cli_cell_text: appends v as a table or CSV cell shows it (strings bare,
 * keywords with ':', instants ISO-8601, the rest compact EDN). */
void cli_cell_text(cli_sb *b, const dt_value *v);
/* cli_iso8601: ms since the epoch as "2024-01-31T12:00:00.000Z". */
void cli_iso8601(int64_t ms, char out[64]);

/* A grid of values: column names and a cell accessor (cells borrowed; a
 * NULL cell prints empty).  max_width: widest table cell (0: 60). */
typedef struct cli_grid {
    const char *const *head;
    size_t ncols, nrows;
    const dt_value *(*cell)(void *ud, size_t row, size_t col);
    void *ud;
    size_t max_width;
    int left_only; /* 1: numbers left-aligned too (mixed columns) */
} cli_grid;

/*
 * cli_grid_print: prints g as a table (header, rule, rows; at most
 * `limit` rows, longer cells cut with "...") or CSV (every row).  EDN and
 * JSON are not grid formats: print the value instead.  Returns a Datolite
 * result code.
 */
int cli_grid_print(FILE *f, int fmt, const cli_grid *g, size_t limit);

/* cli_value_print: v as pretty EDN (table, edn, csv) or JSON, and a
 * newline. */
int cli_value_print(FILE *f, int fmt, const dt_value *v);

/* cli_map_print: a map as a table or CSV of attribute | value rows, or as
 * EDN/JSON. */
int cli_map_print(FILE *f, int fmt, const dt_value *m);

/* }====== */

/* {====== Progress (common.c) ======
 *
 * A progress line on stderr, redrawn at most 10 times a second, with the
 * count, rate and (when the total is known) percentage and ETA; only when
 * stderr is a terminal and not quiet.
 */
typedef struct cli_progress {
    const char *what; /* "datoms", "bytes" */
    const char *cmd;
    uint64_t total; /* 0: unknown */
    double start, last;
    int on;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *cmd, const char *what, uint64_t total,
                        int quiet);
void cli_progress_update(cli_progress *p, uint64_t done);
void cli_progress_end(cli_progress *p);

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
int cmd_dump(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_entity(int argc, char **argv);
/* cli_repl: the REPL on the database in dir (created when missing);
 * argv: the words after `datolite` (options and DIR). */
int cli_repl(int argc, char **argv);
/* cli_stat_value: the statistics `datolite stat` prints, as an EDN map
 * (cmd_dump.c); messages on dt_errmsg(NULL). */
int cli_stat_value(dt_conn *conn, const char *dir, dt_value *out);
/* cli_edn_complete: whether text[0..n) closes every bracket and string it
 * opens (repl.c). */
int cli_edn_complete(const char *s, size_t n);
int cmd_query(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_fn(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_gc(int argc, char **argv);

#endif /* DT_CLI_H */
