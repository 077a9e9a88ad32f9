/*
 * The blockcopy tool: commands as data, one parser for the command line
 * and the shell, one context for all state.
 */
#ifndef CLI_H
#define CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "blockcopy.h"

/* Exit statuses, as documented in blockcopy(1). */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,     /* the operation failed or was aborted */
    CLI_USAGE = 2,      /* bad usage or input; nothing was changed */
};

typedef enum {
    CLI_OPT_BOOL,
    CLI_OPT_STRING,
    CLI_OPT_INT,        /* a whole number > 0 */
    CLI_OPT_SIZE,       /* a scaled integer: 64M, 1GiB */
} cli_opt_type;

enum {
    CLI_OPT_REQUIRED = 1 << 0,
    CLI_OPT_POSITIONAL = 1 << 1,  /* may also be given without its name */
    CLI_OPT_DOMAIN = 1 << 2,      /* the shell fills it from 'connect' */
    CLI_OPT_VALUE_OPTIONAL = 1 << 3,  /* --name alone, or --name=VALUE */
};

typedef enum {
    CLI_COMPLETE_NONE,
    CLI_COMPLETE_COMMAND,
    CLI_COMPLETE_DOMAIN,
    CLI_COMPLETE_DISK,
    CLI_COMPLETE_FILE,
    CLI_COMPLETE_FORMAT,
} cli_completer;

typedef struct cli_opt {
    const char *name;           /* "bandwidth", used as --bandwidth */
    cli_opt_type type;
    unsigned int flags;
    const char *arg;            /* placeholder in help: "SIZE" */
    const char *help;
    cli_completer complete;
    const char *alias_of;       /* another name for that option */
} cli_opt;

#define CLI_MAX_OPTS 40

typedef struct cli_ctx cli_ctx;
typedef struct cli_args cli_args;

typedef struct cli_cmd {
    const char *name;
    const char *group;          /* heading in help and the man page */
    const char *summary;        /* one line */
    const char *description;
    int (*run)(cli_ctx *ctx, const cli_args *args);
    const cli_opt *opts;        /* ends with name NULL */
    bool shell_only;            /* 'connect', 'quit', ... */
} cli_cmd;

struct cli_args {
    const cli_cmd *cmd;
    const char *value[CLI_MAX_OPTS];
    bool set[CLI_MAX_OPTS];
    bool domain_from_context;
    bool help;                  /* --help: show the command's help */
};

struct cli_ctx {
    const char *progname;
    /* Global options. */
    const char *socket;
    bool json;
    bool quiet;
    bool implicit_copy;         /* running 'copy' without its name */
    const char *socket_domain;  /* the DOMAIN given with -s, for
                                   cli_connect() to check */
    bc_conn_opts conn_opts;     /* from $BLOCKCOPY_GREETING_TIMEOUT_MS,
                                   $BLOCKCOPY_COMMAND_TIMEOUT_MS and
                                   --any-owner (BC_DOMAIN_ANY_OWNER) */
    /* The shell. */
    bool shell;
    char *domain;               /* set by 'connect' */
    bc_conn *conn;              /* kept open for 'domain' in the shell */
    bool quit;                  /* set by 'quit' and 'exit' */
    /* Signals arrive as bytes on this pipe, which waits also watch. */
    int sigpipe[2];
    /* The signal that ended the last command's wait, 0 for none: the
     * shell goes on after a Ctrl-C but not after SIGTERM or SIGHUP. */
    int last_signal;
    /* Members the next JSON result takes over (a copy's summary). */
    json_object *result_extra;
};

/* The command table, and the global options, which go before the
 * command and after it too.  A one-letter name is a short form (-s). */
extern const cli_cmd cli_commands[];
extern const cli_opt cli_global_opts[];
/* The image formats --format takes, NULL-terminated. */
extern const char *const cli_formats[];
const cli_cmd *cli_find_command(const char *name);

/* commands.c: run one command line after the global options ("COMMAND
 * ARGS", or "DOMAIN DISK ..." for the default command).  Returns its exit
 * status. */
int cli_run_words(cli_ctx *ctx, int argc, char *const argv[]);

/* parse.c */
/*
 * Match 'argv' against cmd's options.  Global options found among them
 * update 'ctx'.  Prints the problem and returns -1 on a usage error.
 */
int cli_parse_args(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                   char *const argv[], cli_args *args);
/*
 * The global option that 'word' names (its canonical entry, not a short
 * alias), with the value after '=' in *value; NULL if it is none.
 */
const cli_opt *cli_global_find(const char *word, const char **value);
/*
 * If argv[i] is a global option, apply it to 'ctx' (--help and --version
 * only set *found) and return how many words it took; 0 if it is not one,
 * -1 (printed) if its value is missing.
 */
int cli_global_option(cli_ctx *ctx, int argc, char *const argv[], int i,
                      const cli_opt **found);
/* Whether 'typed' is a slip of the keyboard away from 'name'. */
bool cli_near(const char *typed, const char *name);
/* What cli_parse_partial() learns about the word after the line. */
typedef struct cli_partial {
    bool next_word;         /* in: that word may take a positional slot */
    int pending;            /* out: the option it is the value of, or -1 */
    const cli_opt *pending_global;  /* out: the global option it is the
                                       value of, or NULL */
    bool only_positional;   /* out: it comes after "--" */
    int next_slot;          /* out: the positional option it fills, or -1 */
} cli_partial;
/*
 * cli_parse_args() for completion: reads an unfinished line without
 * printing or stopping at mistakes, fills 'args' with what it finds
 * (global options update 'ctx' as when the line runs) and says in 'pt'
 * what the next word would be.
 */
void cli_parse_partial(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                       char *const argv[], cli_args *args, cli_partial *pt);
/* Split a shell line into words with sh-like quoting.  Returns the number
 * of words (argv is NULL-terminated, free with cli_free_words()), or -1
 * with *errmsg set on unbalanced quotes. */
int cli_split_words(const char *line, char ***argv, const char **errmsg);
void cli_free_words(char **argv);
/* 'word' quoted so that cli_split_words() gives it back, for after an
 * open 'quote' (' or ") or, with 0, outside quotes.  Caller frees. */
char *cli_quote_word(const char *word, char quote);

const char *cli_arg(const cli_args *args, const char *name);
/* False, with the message virsh prints, if options a and b are both set. */
bool cli_exclusive(const cli_args *args, const char *a, const char *b);
bool cli_flag(const cli_args *args, const char *name);
bool cli_has(const cli_args *args, const char *name);
/* Parse a SIZE option; 0 when absent, 1 when set, -1 (printed) when bad. */
int cli_arg_size(const cli_args *args, const char *name,
                 unsigned long long max, unsigned long long *value);
/*
 * --bandwidth as cli_arg_size() does, refusing what a virsh user may have
 * meant otherwise: a bare number under 1 MiB/s without --bytes (virsh
 * reads MiB/s there), and "10Mb" (bits or bytes).
 */
int cli_arg_bandwidth(const cli_args *args, unsigned long long max,
                      unsigned long long *bw);
/* Parse an INT option (whole number > 0); as cli_arg_size(). */
int cli_arg_int(const cli_args *args, const char *name, int *value);
/* cli_report() for an error about 'disk' of the VM on 'conn': an
 * uncertain outcome gets the command that settles it. */
int cli_report_on(cli_ctx *ctx, const char *prefix, const bc_error *err,
                  bc_conn *conn, const char *disk);
/* --timeout SECONDS, at most what a wait can count. */
int cli_arg_timeout(const cli_args *args, int *seconds);

/* output.c */
/*
 * Text from QEMU, from sockets and from other processes' command lines is
 * data: before it reaches a terminal, its control characters (C0, DEL,
 * C1) and bytes that are not UTF-8 become "\n", "\t", "\r" or "\xHH".
 * cli_escape_dup() returns a new string (NULL without memory);
 * cli_safe() returns one that stays valid for the next 7 calls (NULL
 * for NULL).
 */
char *cli_escape_dup(const char *text);
const char *cli_safe(const char *text);
void cli_safe_release(void);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* While a script runs, errors and warnings say which line (0: none). */
void cli_set_script_line(unsigned long line);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a library error: message on stderr, a JSON document on stdout
 * with --json.  Returns the exit status it calls for. */
int cli_report(cli_ctx *ctx, const char *prefix, const bc_error *err);
/* With --json, print the result document of the usage error cli_error()
 * reported last, unless a JSON result said so already. */
void cli_report_usage(cli_ctx *ctx);
/* Print a JSON text followed by a newline on stdout (or 'out'). */
void cli_print_json(const char *json);
void cli_fprint_json(FILE *out, const char *json);
/* Print a json-c object that way and drop the reference. */
struct json_object;
void cli_print_json_obj(struct json_object *o);
#define CLI_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* The library's warnings go to stderr. */
void cli_warning_cb(const char *msg, void *opaque);

/* A job's progress in percent, as virsh shows it: 100 only once nothing
 * remains. */
int cli_percent(unsigned long long cur, unsigned long long end);
/* Divide *v by 1024 until it is under 1024 (or in EiB); returns the
 * unit: "B", "KiB", "MiB", ... */
const char *cli_scale(double *v);
/* "1.5 GiB", "16 MiB", "512 B" in 'buf'; returns 'buf'. */
const char *cli_human_size(double bytes, char *buf, size_t len);
/*
 * The result of a command: with --json {"type":"result", KEY: NAME,
 * "status": STATUS, "exit": EXIT}, else HUMAN (if not NULL, and not with
 * -q) on stdout.
 */
void cli_print_result(cli_ctx *ctx, const char *key, const char *name,
                      const char *status, const char *human, int exit_status);

/* Open ctx's connection for 'domain' (from -s if given).  Prints. */
bc_conn *cli_connect(cli_ctx *ctx, const char *domain, int *status);
/* Close a connection unless the shell keeps it. */
void cli_disconnect(cli_ctx *ctx, bc_conn *conn);

/*
 * Why 'list' marks a VM and its name is not offered for completion: the
 * library's note, or, without --any-owner, that another user owns it.
 * NULL when the name leads to it.  Uses 'buf'.
 */
const char *cli_domain_note(const cli_ctx *ctx, const bc_domain_info *d,
                            char *buf, size_t len);

/* The domain the command works on: --domain, -s, or 'connect'. */
const char *cli_domain(cli_ctx *ctx, const cli_args *args);

/* help.c */
void cli_print_usage(FILE *f, const cli_cmd *cmd);
void cli_print_command_list(FILE *f, bool shell);

/* Install and remove the handlers that turn SIGINT, SIGTERM and SIGHUP
 * into bytes on ctx->sigpipe. */
void cli_signals_catch(cli_ctx *ctx);
void cli_signals_default(void);
/* Which signal arrived (0 for none); empties the pipe. */
int cli_signals_take(cli_ctx *ctx);

/* Commands. */
int cli_cmd_copy(cli_ctx *ctx, const cli_args *args);
int cli_cmd_job(cli_ctx *ctx, const cli_args *args);
int cli_cmd_jobs(cli_ctx *ctx, const cli_args *args);
int cli_cmd_disks(cli_ctx *ctx, const cli_args *args);
int cli_cmd_list(cli_ctx *ctx, const cli_args *args);
int cli_cmd_qmp(cli_ctx *ctx, const cli_args *args);
int cli_cmd_help(cli_ctx *ctx, const cli_args *args);
int cli_cmd_version(cli_ctx *ctx, const cli_args *args);

/* The shell (repl.c) and completion (complete.c). */
int cli_cmd_shell(cli_ctx *ctx, const cli_args *args);
int cli_cmd_connect(cli_ctx *ctx, const cli_args *args);
int cli_cmd_disconnect(cli_ctx *ctx, const cli_args *args);
int cli_cmd_quit(cli_ctx *ctx, const cli_args *args);
int cli_cmd_complete(cli_ctx *ctx, const cli_args *args);

/* Waiting for a job with progress and results, shared by copy and job. */
typedef enum {
    CLI_AFTER_READY_STAY,       /* report the mirroring phase and return */
    CLI_AFTER_READY_PIVOT,
    CLI_AFTER_READY_FINISH,
} cli_after_ready;

/* The result line of a job that ended as 'got' (what QEMU shows); exit
 * status 0 when 'want', a mask of CLI_OUTCOME()s, has it. */
#define CLI_OUTCOME(type) (1u << (type))
/* The word JSON gives an event or outcome ("pivoted"), and the line
 * virsh prints for an outcome ("Successfully pivoted"). */
const char *cli_event_state(bc_job_event_type type);
const char *cli_outcome_words(bc_job_event_type got);
int cli_print_outcome(cli_ctx *ctx, const char *disk, bc_job_event_type got,
                      unsigned int want);

/* Wait for the copy of 'disk'.  A signal aborts a copy this command
 * started ('watching' false); one it only attached to ('watching') goes
 * on, and the command says how to attach again. */
int cli_wait_job(cli_ctx *ctx, bc_conn *conn, const char *disk,
                 cli_after_ready after, bool verbose, int timeout_s,
                 bool async_abort, bool watching, int converge_s);

/* group.c: start the copies of 'g' (labels: how each is named in the
 * output), and with 'wait' wait for all of them as 'after' says,
 * printing progress and one result a copy.  A signal rolls back what
 * is not being switched yet.  Returns the exit status. */
int cli_run_group(cli_ctx *ctx, bc_group *g, const char *const *labels,
                  bool wait, cli_after_ready after, bool verbose,
                  int timeout_s, bool dry_run);

/* cmd_copy.c, for evacuate: the format a new image's name asks for. */
const char *cli_format_from_name(const char *dest);

int cli_cmd_evacuate(cli_ctx *ctx, const cli_args *args);

#endif /* CLI_H */
