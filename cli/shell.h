/*
 * What the shell's files share: completion (complete.c), the history file
 * (history.c), QEMU's events between commands (events.c) and the loops
 * (repl.c).  Not used by the one-shot commands.
 */
#ifndef CLI_SHELL_H
#define CLI_SHELL_H

#include <stdbool.h>
#include <stddef.h>

#include <histedit.h>

#include "cli.h"

/* ---- complete.c ---------------------------------------------------- */

typedef struct cli_completion {
    char **items;               /* whole words, unquoted, sorted, unique */
    size_t n;
    size_t cap;
    char *partial;              /* the word being completed, unquoted */
    char quote;                 /* ' or " when that word's quote is open */
    bool paths;                 /* file names: a directory ends with '/' */
    size_t show_from;           /* lists show items from this offset on */
} cli_completion;

/*
 * What can complete the last word of 'line' (the text before the cursor,
 * without the program name): command names, option names, VM names,
 * disk names of the VM the line names or the connected one, file names.
 * Never prints.  Returns -1 only when out of memory.
 */
int cli_complete(cli_ctx *ctx, const char *line, cli_completion *c);
void cli_completion_release(cli_completion *c);

/* ---- history.c ----------------------------------------------------- */

#define CLI_HISTORY_LINES 1000

typedef struct cli_history {
    History *hist;
    char *path;                 /* NULL: not kept across sessions */
    char *last;                 /* the line entered last */
    int limit;
} cli_history;

/*
 * Set up the history of the interactive shell and load the lines of
 * earlier sessions from $XDG_STATE_HOME/blockcopy/history (or
 * ~/.local/state/blockcopy/history), creating the directory (0700).
 * Trouble with the file is a warning: the shell works without it.
 */
int cli_history_open(cli_history *h, int limit);
/* Remember 'line' and append it to the file (created 0600), unless it
 * is blank or starts with a space. */
void cli_history_add(cli_history *h, const char *line);
/* Cut the file to the newest 'limit' lines and release everything. */
void cli_history_close(cli_history *h);
/* The file's path for this user, or NULL.  Caller frees. */
char *cli_history_path(void);

/* ---- events.c ------------------------------------------------------ */

/*
 * Take the events QEMU has sent on the shell's connection and describe
 * those an admin wants to see (a block job ready, completed, cancelled
 * or failed, an I/O error, the VM shutting down), one line each, in
 * *text (NULL if none; caller frees).  When QEMU has gone away, says so
 * and disconnects.  With 'show' false the events are only dropped.
 */
void cli_shell_events(cli_ctx *ctx, bool show, char **text);

/* ---- repl.c -------------------------------------------------------- */

/* Close the shell's connection and forget the connected VM. */
void cli_shell_disconnect(cli_ctx *ctx);

#endif /* CLI_SHELL_H */
