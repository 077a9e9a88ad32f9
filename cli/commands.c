/*
 * The command table.  --help, the shell's help, completion and the man
 * page's command list all come from here (tests/man-consistency checks
 * the man page against it).
 */
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

#define DOMAIN_OPT                                                           \
    { "domain", CLI_OPT_STRING,                                              \
      CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL | CLI_OPT_DOMAIN, "DOMAIN",      \
      "the VM: a name, a socket path, unix:PATH or tcp:HOST:PORT",           \
      CLI_COMPLETE_DOMAIN, NULL }
#define DISK_OPT                                                             \
    { "disk", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL, "DISK", \
      "the disk: target (vda), device id, drive id, node name or image path",\
      CLI_COMPLETE_DISK, NULL },                                             \
    { "path", CLI_OPT_STRING, 0, "DISK", "another name for --disk (virsh)",  \
      CLI_COMPLETE_DISK, "disk" }

/* The one reading of a bare --bandwidth number under 1 MiB/s. */
#define BYTES_OPT                                                            \
    { "bytes", CLI_OPT_BOOL, 0, NULL,                                        \
      "a --bandwidth without unit under 1 MiB/s really is bytes/s", 0, NULL }

static const cli_opt copy_opts[] = {
    DOMAIN_OPT,
    { "disk", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "DISK",
      "the disk: target (vda), device id, drive id, node name or image "
      "path; several: vda,vdb", CLI_COMPLETE_DISK, NULL },
    { "path", CLI_OPT_STRING, 0, "DISK", "another name for --disk (virsh)",
      CLI_COMPLETE_DISK, "disk" },
    { "dest", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "DEST",
      "the destination image: an absolute path", CLI_COMPLETE_FILE, NULL },
    { "all", CLI_OPT_BOOL, 0, NULL,
      "every disk that has an image (with --dest-dir)", 0, NULL },
    { "dest-dir", CLI_OPT_STRING, 0, "DIR",
      "copy each disk into DIR under its image's name", CLI_COMPLETE_FILE,
      NULL },
    { "xml", CLI_OPT_STRING, 0, "FILE",
      "the destination as a libvirt <disk> element", CLI_COMPLETE_FILE, NULL },
    { "format", CLI_OPT_STRING, 0, "FMT",
      "the destination format (default: what DEST's name ends in, else "
      "the source's)", CLI_COMPLETE_FORMAT,
      NULL },
    { "raw", CLI_OPT_BOOL, 0, NULL, "same as --format raw", 0, NULL },
    { "secret-file", CLI_OPT_STRING, 0, "FILE",
      "the key or password for the XML's <auth> (default: "
      "$BLOCKCOPY_SECRET_FILE)", CLI_COMPLETE_FILE, NULL },
    { "tls-dir", CLI_OPT_STRING, 0, "DIR",
      "the certificates for the XML's tls='yes' (default: "
      "$BLOCKCOPY_TLS_DIR, else /etc/pki/qemu)", CLI_COMPLETE_FILE, NULL },
    { "tls-hostname", CLI_OPT_STRING, 0, "NAME",
      "the name the server's certificate must carry", 0, NULL },
    { "blockdev", CLI_OPT_BOOL, 0, NULL,
      "DEST is a block device, not a file", 0, NULL },
    { "shallow", CLI_OPT_BOOL, 0, NULL,
      "copy only the top image; the copy keeps the backing file", 0, NULL },
    { "reuse-external", CLI_OPT_BOOL, 0, NULL,
      "copy into an existing destination image", 0, NULL },
    { "bandwidth", CLI_OPT_SIZE, 0, "SIZE",
      "limit the copy to SIZE per second (64M: 64 MiB/s)", 0, NULL },
    BYTES_OPT,
    { "granularity", CLI_OPT_SIZE, 0, "SIZE",
      "dirty-bitmap granularity: a power of 2 from 512 to 64M", 0, NULL },
    { "buf-size", CLI_OPT_SIZE, 0, "SIZE",
      "the most data in flight at once", 0, NULL },
    { "wait", CLI_OPT_BOOL, 0, NULL,
      "wait until the copy reaches the mirroring phase", 0, NULL },
    { "verbose", CLI_OPT_BOOL, 0, NULL,
      "show progress while waiting", 0, NULL },
    { "async", CLI_OPT_BOOL, 0, NULL,
      "on timeout or signal, request the abort and return at once", 0, NULL },
    { "timeout", CLI_OPT_INT, 0, "SECONDS",
      "abort the copy if it is not done within SECONDS (implies --wait)", 0,
      NULL },
    { "pivot", CLI_OPT_BOOL, 0, NULL,
      "switch the disk to the copy once it is ready (implies --wait)", 0,
      NULL },
    { "finish", CLI_OPT_BOOL, 0, NULL,
      "keep the copy and stay on the source once ready (implies --wait)", 0,
      NULL },
    { "synchronous-writes", CLI_OPT_BOOL, 0, NULL,
      "guest writes complete only once on both disks", 0, NULL },
    { "auto-converge", CLI_OPT_INT, CLI_OPT_VALUE_OPTIONAL, "[=SECONDS]",
      "switch to synchronous writes a copy not ready in SECONDS (60) or "
      "not shrinking", 0, NULL },
    { "transient-job", CLI_OPT_BOOL, 0, NULL,
      "accepted for virsh: QEMU's jobs are never persistent", 0, NULL },
    { "dest-is-zero", CLI_OPT_BOOL, 0, NULL,
      "the reused destination reads as zeroes: skip writing zeroes", 0, NULL },
    { "print-xml", CLI_OPT_BOOL, 0, NULL,
      "print the destination XML that would be used and exit", 0, NULL },
    { "dry-run", CLI_OPT_BOOL, 0, NULL,
      "print the QMP commands that would change the VM; change nothing", 0,
      NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt job_opts[] = {
    DOMAIN_OPT,
    DISK_OPT,
    { "info", CLI_OPT_BOOL, 0, NULL,
      "show the job's progress (the default)", 0, NULL },
    { "raw", CLI_OPT_BOOL, 0, NULL,
      "show type=, bandwidth=, cur=, end= lines", 0, NULL },
    BYTES_OPT,
    { "abort", CLI_OPT_BOOL, 0, NULL,
      "end the job: a ready copy is finished, anything else cancelled", 0,
      NULL },
    { "async", CLI_OPT_BOOL, 0, NULL,
      "with --abort, --pivot or --finish: request it and return", 0, NULL },
    { "pivot", CLI_OPT_BOOL, 0, NULL,
      "switch the disk to the copy (the job must be ready)", 0, NULL },
    { "finish", CLI_OPT_BOOL, 0, NULL,
      "end a ready copy, keeping it and staying on the source", 0, NULL },
    { "bandwidth", CLI_OPT_SIZE, 0, "SIZE",
      "change the job's speed limit to SIZE per second (0: none)", 0,
      NULL },
    { "synchronous-writes", CLI_OPT_BOOL, 0, NULL,
      "switch a running copy to synchronous writes (QEMU 8.2 or later)", 0,
      NULL },
    { "wait", CLI_OPT_BOOL, 0, NULL,
      "attach to the job and wait until it is ready", 0, NULL },
    { "verbose", CLI_OPT_BOOL, 0, NULL, "show progress while waiting", 0,
      NULL },
    { "timeout", CLI_OPT_INT, 0, "SECONDS",
      "with --wait: abort the job after SECONDS", 0, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt evacuate_opts[] = {
    { "from", CLI_OPT_STRING, CLI_OPT_REQUIRED, "DIR",
      "move the disks whose images lie under DIR", CLI_COMPLETE_FILE, NULL },
    { "to", CLI_OPT_STRING, CLI_OPT_REQUIRED, "DIR",
      "to the same place under DIR", CLI_COMPLETE_FILE, NULL },
    { "pivot", CLI_OPT_BOOL, 0, NULL,
      "switch the disks to the copies (the default)", 0, NULL },
    { "finish", CLI_OPT_BOOL, 0, NULL,
      "keep the copies and leave the VMs on their images", 0, NULL },
    { "parallel", CLI_OPT_INT, 0, "N",
      "at most N copies at once (4); a VM's disks go together", 0, NULL },
    { "bandwidth", CLI_OPT_SIZE, 0, "SIZE",
      "SIZE per second in all, shared by the running copies", 0, NULL },
    BYTES_OPT,
    { "timeout", CLI_OPT_INT, 0, "SECONDS",
      "roll back the copies of a round not done within SECONDS", 0, NULL },
    { "verbose", CLI_OPT_BOOL, 0, NULL,
      "show progress (the default on a terminal)", 0, NULL },
    { "dry-run", CLI_OPT_BOOL, 0, NULL,
      "print the plan: VM, disk, allocated size, from, to; change nothing",
      0, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt version_opts[] = {
    { "domain", CLI_OPT_STRING, CLI_OPT_POSITIONAL | CLI_OPT_DOMAIN,
      "DOMAIN", "the VM whose QEMU to show", CLI_COMPLETE_DOMAIN, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt domain_only_opts[] = {
    DOMAIN_OPT,
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt qmp_opts[] = {
    DOMAIN_OPT,
    { "command", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "COMMAND", "the QMP command, e.g. query-block", 0, NULL },
    { "arguments", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "JSON",
      "its arguments as a JSON object", 0, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt help_opts[] = {
    { "command", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "COMMAND",
      "the command to describe", CLI_COMPLETE_COMMAND, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt no_opts[] = {
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

/* The shell's options (repl.c, complete.c). */
static const cli_opt shell_opts[] = {
    { "stop-on-error", CLI_OPT_BOOL, 0, NULL,
      "with commands from a file or pipe: stop at the first that fails", 0,
      NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt connect_opts[] = {
    { "domain", CLI_OPT_STRING, CLI_OPT_REQUIRED | CLI_OPT_POSITIONAL,
      "DOMAIN", "the VM: a name, a socket path, unix:PATH or tcp:HOST:PORT",
      CLI_COMPLETE_DOMAIN, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

static const cli_opt complete_opts[] = {
    { "line", CLI_OPT_STRING, CLI_OPT_POSITIONAL, "LINE",
      "a command line up to the cursor, without the program name", 0, NULL },
    { "null", CLI_OPT_BOOL, 0, NULL,
      "end each word with a NUL byte instead of a newline and print them "
      "raw, after a first word telling what they are: 'files' or 'words'",
      0, NULL },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

const cli_opt cli_global_opts[] = {
    { "socket", CLI_OPT_STRING, 0, "PATH",
      "the QMP socket (unix:PATH, tcp:HOST:PORT)", CLI_COMPLETE_FILE, NULL },
    { "s", CLI_OPT_STRING, 0, "PATH", NULL, CLI_COMPLETE_FILE, "socket" },
    { "json", CLI_OPT_BOOL, 0, NULL, "print JSON", 0, NULL },
    { "quiet", CLI_OPT_BOOL, 0, NULL, "print only errors", 0, NULL },
    { "q", CLI_OPT_BOOL, 0, NULL, NULL, 0, "quiet" },
    { "any-owner", CLI_OPT_BOOL, 0, NULL,
      "let a VM name lead to other users' VMs too", 0, NULL },
    { "help", CLI_OPT_BOOL, 0, NULL,
      "show this help (after a command: that command's)", 0, NULL },
    { "h", CLI_OPT_BOOL, 0, NULL, NULL, 0, "help" },
    { "version", CLI_OPT_BOOL, 0, NULL, "show the version", 0, NULL },
    { "V", CLI_OPT_BOOL, 0, NULL, NULL, 0, "version" },
    { NULL, 0, 0, NULL, NULL, 0, NULL }
};

/* What blockdev-create makes; --format takes QEMU's driver names. */
const char *const cli_formats[] = {
    "qcow2", "qed", "raw", "vdi", "vhdx", "vmdk", "vpc", NULL
};

/* What virsh calls the commands that do the same here, or the nearest. */
static const struct {
    const char *virsh, *ours;
} virsh_names[] = {
    { "blockcopy", "copy" },
    { "blockjob", "job" },
    { "domblklist", "disks" },
    { "domblkinfo", "disks" },
    { "domjobinfo", "jobs" },
    { "domjobabort", "job" },
    { "qemu-monitor-command", "qmp" },
};

const cli_cmd cli_commands[] = {
    { "copy", "Copying",
      "copy a disk of a running VM (the default command)",
      "Start copying DISK of DOMAIN to DEST (or to the destination that "
      "--xml describes) while the guest keeps running.  Without --wait the "
      "copy runs on in QEMU; 'job' drives it later.",
      cli_cmd_copy, copy_opts, false },
    { "job", "Copying",
      "show, change, pivot, finish or abort the block job of a disk",
      "Work with the block job of DISK, as virsh blockjob does: --info "
      "(default), --raw, --bandwidth, --abort, --pivot, --finish, or --wait "
      "to attach to a running job.",
      cli_cmd_job, job_opts, false },
    { "evacuate", "Copying",
      "move every disk under a directory to another, VM by VM",
      "Move every disk of every running VM that 'list' finds whose image "
      "lies under --from to the same path under --to: a few copies at a "
      "time, the disks of one VM switched together, sharing --bandwidth.  "
      "Run it again after an interruption: disks already moved are "
      "skipped, copies still running taken up, the rest copied again.",
      cli_cmd_evacuate, evacuate_opts, false },
    { "jobs", "Information",
      "list every block job of a VM",
      "List the block jobs of DOMAIN, including jobs that blockcopy did not "
      "start, with their disk, type, state, progress and speed.",
      cli_cmd_jobs, domain_only_opts, false },
    { "disks", "Information",
      "list the disks of a VM and the names they can be given",
      "List the block devices of DOMAIN: target name, device id, node name, "
      "format, virtual size and source.",
      cli_cmd_disks, domain_only_opts, false },
    { "list", "Information",
      "list the QEMU VMs that blockcopy can find",
      "List running QEMU processes and monitor sockets found in "
      "$BLOCKCOPY_SOCKET_DIRS, with name, PID and QMP socket.",
      cli_cmd_list, no_opts, false },
    { "qmp", "Information",
      "send one raw QMP command and print QEMU's answer",
      "Send COMMAND with the JSON object ARGUMENTS to DOMAIN's monitor and "
      "print the \"return\" value as JSON.",
      cli_cmd_qmp, qmp_opts, false },
    { "help", "Other",
      "show the commands, or the options of one",
      "Without COMMAND, list the commands; with it, describe its options.",
      cli_cmd_help, help_opts, false },
    { "version", "Other",
      "show the versions of blockcopy and of a VM's QEMU",
      "Print blockcopy's version; with DOMAIN also its QEMU's version and "
      "which optional features of QEMU blockcopy finds there.",
      cli_cmd_version, version_opts, false },

    /* The shell (repl.c).  Shell-only commands are refused elsewhere. */
    { "shell", "Shell",
      "read commands from the terminal, a file or a pipe",
      "Run blockcopy commands one after another.  On a terminal: line "
      "editing, Tab completion and history; otherwise one command a line, "
      "as a script whose exit status is 0 only if every command succeeded.  "
      "'blockcopy' without a command does the same.",
      cli_cmd_shell, shell_opts, false },
    { "connect", "Shell",
      "make DOMAIN the VM that the next commands work on",
      "Connect to DOMAIN and keep its monitor open: the next commands take "
      "DISK without DOMAIN, and QEMU's events for it are shown while the "
      "shell waits for input.",
      cli_cmd_connect, connect_opts, true },
    { "disconnect", "Shell",
      "close the connection that 'connect' opened",
      "Close the connection to the connected VM; commands take DOMAIN "
      "again.",
      cli_cmd_disconnect, no_opts, true },
    { "quit", "Shell", "leave the shell", "Leave the shell (so does Ctrl-D).",
      cli_cmd_quit, no_opts, true },
    { "exit", "Shell", "leave the shell", "Leave the shell (so does Ctrl-D).",
      cli_cmd_quit, no_opts, true },
    /* Not listed: what Tab offers, for completion scripts and tests. */
    { "__complete", "Hidden",
      "print the completions of a command line",
      "Print the words that can complete the last word of LINE, one a line "
      "with control characters escaped, as Tab does in the shell.",
      cli_cmd_complete, complete_opts, false },
    { NULL, NULL, NULL, NULL, NULL, NULL, false }
};

const cli_cmd *cli_find_command(const char *name)
{
    const cli_cmd *c;

    for (c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* ---- help ---------------------------------------------------------- */

static void opt_synopsis(FILE *f, const cli_opt *o)
{
    bool req = o->flags & CLI_OPT_REQUIRED;

    if (o->flags & CLI_OPT_POSITIONAL)
        fprintf(f, req ? " %s" : " [%s]", o->arg);
    else if (o->type == CLI_OPT_BOOL)
        fprintf(f, " [--%s]", o->name);
    else
        fprintf(f, " [--%s %s]", o->name, o->arg);
}

void cli_print_usage(FILE *f, const cli_cmd *cmd)
{
    const cli_opt *o;
    int col;

    fprintf(f, "usage: blockcopy %s", cmd->name);
    for (o = cmd->opts; o->name; o++)
        if (!o->alias_of && (o->flags & CLI_OPT_POSITIONAL))
            opt_synopsis(f, o);
    fprintf(f, " [OPTIONS]\n\n  %s\n\n", cmd->description);
    if (!cmd->opts[0].name)
        return;
    fprintf(f, "options:\n");
    for (o = cmd->opts; o->name; o++) {
        if (o->alias_of)
            continue;
        if (o->type == CLI_OPT_BOOL)
            col = fprintf(f, "  --%s", o->name);
        else if (o->flags & CLI_OPT_POSITIONAL)
            col = fprintf(f, "  [--%s] %s", o->name, o->arg);
        else
            col = fprintf(f, "  --%s %s", o->name, o->arg);
        fprintf(f, "%*s%s\n", col < 28 ? 28 - col : 1, "", o->help);
    }
}

void cli_print_command_list(FILE *f, bool shell)
{
    static const char *const groups[] = { "Copying", "Information", "Shell",
                                          "Other" };
    const cli_cmd *c;
    size_t g;

    for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        bool heading = false;

        for (c = cli_commands; c->name; c++) {
            if (strcmp(c->group, groups[g]) != 0 || (c->shell_only && !shell))
                continue;
            if (!heading)
                fprintf(f, "%s%s:\n", g ? "\n" : "", groups[g]);
            heading = true;
            fprintf(f, "  %-10s %s\n", c->name, c->summary);
        }
    }
}

static const char *const opt_types[] = {
    [CLI_OPT_BOOL] = "bool",
    [CLI_OPT_STRING] = "string",
    [CLI_OPT_INT] = "int",
    [CLI_OPT_SIZE] = "size",
};

static json_object *command_json(const cli_cmd *c)
{
    json_object *o = json_object_new_object(), *opts = json_object_new_array();
    const cli_opt *opt;

    json_object_object_add(o, "name", json_object_new_string(c->name));
    json_object_object_add(o, "group", json_object_new_string(c->group));
    json_object_object_add(o, "summary", json_object_new_string(c->summary));
    json_object_object_add(o, "shell-only",
                           json_object_new_boolean(c->shell_only));
    for (opt = c->opts; opt->name; opt++) {
        json_object *j = json_object_new_object();

        json_object_object_add(j, "name", json_object_new_string(opt->name));
        json_object_object_add(j, "type",
                               json_object_new_string(opt_types[opt->type]));
        if (opt->arg)
            json_object_object_add(j, "arg", json_object_new_string(opt->arg));
        json_object_object_add(j, "required", json_object_new_boolean(
            opt->flags & CLI_OPT_REQUIRED));
        json_object_object_add(j, "positional", json_object_new_boolean(
            opt->flags & CLI_OPT_POSITIONAL));
        if (opt->alias_of)
            json_object_object_add(j, "alias-of",
                                   json_object_new_string(opt->alias_of));
        json_object_object_add(j, "help", json_object_new_string(opt->help));
        json_object_array_add(opts, j);
    }
    json_object_object_add(o, "options", opts);
    return o;
}

/* The command table as JSON, for scripts and completion. */
static int help_json(cli_ctx *ctx, const cli_cmd *only)
{
    json_object *a = json_object_new_array(), *o;
    const cli_cmd *c;

    for (c = cli_commands; c->name; c++)
        if ((!only || c == only) && (!c->shell_only || ctx->shell))
            json_object_array_add(a, command_json(c));
    o = json_object_new_object();
    json_object_object_add(o, "commands", a);
    cli_print_json_obj(o);
    return CLI_OK;
}

/*
 * The command 'word' was probably meant to be, or NULL.  With 'exact',
 * only virsh's names count: after -s or 'connect' the first word may be
 * a disk, and "disk0" is a slip away from "disks".
 */
static const cli_cmd *meant_command(const cli_ctx *ctx, const char *word,
                                    bool exact)
{
    const cli_cmd *c;
    size_t i;

    for (i = 0; i < sizeof(virsh_names) / sizeof(virsh_names[0]); i++)
        if (!strcmp(word, virsh_names[i].virsh))
            return cli_find_command(virsh_names[i].ours);
    for (c = cli_commands; c->name && !exact; c++)
        if ((!c->shell_only || ctx->shell) && strcmp(c->group, "Hidden") &&
            cli_near(word, c->name))
            return c;
    return NULL;
}

static int unknown_command(cli_ctx *ctx, const char *word)
{
    const cli_cmd *meant = meant_command(ctx, word, false);

    if (meant)
        cli_error("unknown command '%s'; did you mean '%s'?", word,
                  meant->name);
    else if (ctx->shell)
        cli_error("unknown command '%s'; to copy a disk: copy DOMAIN DISK "
                  "DEST (see 'help')", word);
    else
        cli_error("unknown command '%s'; to copy a disk: blockcopy DOMAIN "
                  "DISK DEST (see 'blockcopy help')", word);
    return CLI_USAGE;
}

/* Whether a VM answers to 'name' (without connecting to it). */
static bool domain_exists(const cli_ctx *ctx, const char *name)
{
    char *address = NULL;
    bc_error err;
    int rc;

    bc_error_init(&err);
    rc = bc_domain_lookup_flags(name, ctx->conn_opts.flags, &address, &err);
    free(address);
    return rc == 0;
}

/*
 * Whether the first word of what would be a copy is rather a command typed
 * wrong: a word near a command's name that no VM answers to, or a word
 * that is no VM and that no copy could follow ("status vm1").  After -s or
 * 'connect' the first word may be the DISK: only virsh's names count.
 * Options first belong to the copy.
 */
static bool mistyped_command(const cli_ctx *ctx, int argc,
                             char *const argv[])
{
    if (argv[0][0] == '-')
        return false;
    if (argc == 1)
        return true;
    if (ctx->socket || ctx->domain)
        return meant_command(ctx, argv[0], true) != NULL;
    if (strchr(argv[0], '/') ||
        (!meant_command(ctx, argv[0], false) &&
         !(argc == 2 && argv[1][0] != '-')))
        return false;
    return !domain_exists(ctx, argv[0]);
}

/* Parse 'argv' for 'cmd' and run it. */
static int run_command(cli_ctx *ctx, const cli_cmd *cmd, int argc,
                       char *const argv[])
{
    cli_args args;
    int status;

    if (cli_parse_args(ctx, cmd, argc, argv, &args) < 0) {
        cli_report_usage(ctx);
        return CLI_USAGE;
    }
    if (args.help)
        return ctx->json ? help_json(ctx, cmd)
                         : (cli_print_usage(stdout, cmd), CLI_OK);
    status = cmd->run(ctx, &args);
    if (status == CLI_USAGE)
        cli_report_usage(ctx);
    return status;
}

int cli_run_words(cli_ctx *ctx, int argc, char *const argv[])
{
    const cli_cmd *cmd;
    int status;

    if (argc == 0)
        return CLI_OK;
    cmd = cli_find_command(argv[0]);
    if (cmd && (!cmd->shell_only || ctx->shell))
        return run_command(ctx, cmd, argc - 1, argv + 1);
    if (cmd) {
        cli_error("'%s' works only in the shell (run 'blockcopy' without a "
                  "command)", cmd->name);
        return CLI_USAGE;
    }
    if (mistyped_command(ctx, argc, argv))
        return unknown_command(ctx, argv[0]);
    ctx->implicit_copy = true;
    status = run_command(ctx, cli_find_command("copy"), argc, argv);
    ctx->implicit_copy = false;
    return status;
}

/* "  -s, --socket PATH   the QMP socket ..." */
static void print_global_opts(FILE *f)
{
    const cli_opt *o, *a;
    int col;

    for (o = cli_global_opts; o->name; o++) {
        if (o->alias_of)
            continue;
        col = fprintf(f, "  ");
        for (a = cli_global_opts; a->name; a++)
            if (a->alias_of && !strcmp(a->alias_of, o->name))
                col += fprintf(f, "-%s, ", a->name);
        col += fprintf(f, "--%s%s%s", o->name, o->arg ? " " : "",
                       o->arg ? o->arg : "");
        fprintf(f, "%*s%s\n", col < 22 ? 22 - col : 1, "", o->help);
    }
    fprintf(f, "\n");
}

int cli_cmd_help(cli_ctx *ctx, const cli_args *args)
{
    const char *name = cli_arg(args, "command");
    const cli_cmd *cmd = NULL;

    if (name && (!(cmd = cli_find_command(name)) ||
                 (cmd->shell_only && !ctx->shell)))
        return unknown_command(ctx, name);
    if (ctx->json)
        return help_json(ctx, cmd);

    if (!name) {
        if (!ctx->shell)
            printf("usage: blockcopy [GLOBAL] DOMAIN DISK DEST [COPY-OPTIONS]"
                   "\n       blockcopy [GLOBAL] DOMAIN DISK --xml FILE "
                   "[COPY-OPTIONS]\n       blockcopy [GLOBAL] COMMAND [ARGS]"
                   "\n       blockcopy [GLOBAL]   (an interactive shell)\n\n"
                   "global options:\n");
        if (!ctx->shell)
            print_global_opts(stdout);
        cli_print_command_list(stdout, ctx->shell);
        printf("\n'help COMMAND' describes a command's options.\n");
        return CLI_OK;
    }
    cli_print_usage(stdout, cmd);
    return CLI_OK;
}

/* With a VM: its QEMU and what blockcopy finds in its schema. */
static int show_qemu(cli_ctx *ctx, const char *domain, json_object *o)
{
    json_object *feats = json_object_new_object();
    int maj, min, mic, status = CLI_FAILED, f;
    char version[64];
    bc_conn *conn;
    bc_error err;
    bool has;

    if (!(conn = cli_connect(ctx, domain, &status))) {
        json_object_put(feats);
        return status;
    }
    bc_error_init(&err);
    bc_conn_get_qemu_version(conn, &maj, &min, &mic);
    snprintf(version, sizeof(version), "%d.%d.%d", maj, min, mic);
    if (!ctx->json)
        printf("QEMU %s\n", version);
    for (f = 0; f < BC_FEATURE_COUNT; f++) {
        if (bc_conn_has_feature(conn, (bc_feature)f, &has, &err) < 0) {
            status = cli_report(ctx, NULL, &err);
            goto out;
        }
        json_object_object_add(feats, bc_feature_name((bc_feature)f),
                               json_object_new_boolean(has));
        if (!ctx->json)
            printf("  %-18s %s%s%s\n", bc_feature_name((bc_feature)f),
                   has ? "yes" : "no (QEMU ",
                   has ? "" : bc_feature_since((bc_feature)f),
                   has ? "" : " or later)");
    }
    json_object_object_add(o, "qemu", json_object_new_string(version));
    json_object_object_add(o, "features", json_object_get(feats));
    status = CLI_OK;
 out:
    json_object_put(feats);
    cli_disconnect(ctx, conn);
    return status;
}

int cli_cmd_version(cli_ctx *ctx, const cli_args *args)
{
    const char *domain = args ? cli_domain(ctx, args) : NULL;
    json_object *o = json_object_new_object();
    int status = CLI_OK;

    json_object_object_add(o, "blockcopy",
                           json_object_new_string(BC_VERSION_STRING));
    if (!ctx->json)
        printf("blockcopy %s\n", BC_VERSION_STRING);
    if (domain)
        status = show_qemu(ctx, domain, o);
    if (ctx->json && status == CLI_OK)
        cli_print_json_obj(o);
    else
        json_object_put(o);
    return status;
}
