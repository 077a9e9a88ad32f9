/*
 * The shell's history across sessions.  The file is plain text, one
 * command a line, so that an admin can grep it; new lines are appended
 * as they are entered, so that a session that is killed keeps its
 * commands and two sessions at once lose nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"

char *cli_history_path(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *path;
    int rc;

    /* The XDG spec says to ignore a relative path. */
    if (state && state[0] == '/') {
        rc = asprintf(&path, "%s/blockcopy/history", state);
    } else {
        if (!home || home[0] != '/') {
            struct passwd *pw = getpwuid(getuid());

            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || home[0] != '/')
            return NULL;
        rc = asprintf(&path, "%s/.local/state/blockcopy/history", home);
    }
    return rc < 0 ? NULL : path;
}

/* Create the missing directories above 'path', private to the user. */
static int make_dirs(const char *path)
{
    char *dir = strdup(path), *p;
    int ret = -1;

    if (!dir)
        return -1;
    if ((p = strrchr(dir, '/')))
        *p = '\0';
    for (p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;

            *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                cli_warn("history is not kept: cannot create '%s': %s", dir,
                         strerror(errno));
                goto out;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    ret = 0;
 out:
    free(dir);
    return ret;
}

/*
 * Open the history file never through a symbolic link, only if it is a
 * regular file of the user's own, and private: what was typed may name
 * secrets' files and hosts.  -1 with errno (ELOOP for a link, EPERM for
 * someone else's file).
 */
static int open_private(const char *path, int flags)
{
    struct stat st;
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid()) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0600) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct lines {
    char **v;
    size_t n;
} lines;

static void lines_free(lines *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* The file's non-empty lines; none if it does not exist. */
static int read_lines(const char *path, lines *l)
{
    char *buf = NULL;
    size_t cap = 0, vcap = 0;
    ssize_t len;
    FILE *f;
    int fd, ret = -1;

    l->v = NULL;
    l->n = 0;
    if ((fd = open_private(path, O_RDONLY)) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!(f = fdopen(fd, "r"))) {
        close(fd);
        return -1;
    }
    while ((len = getline(&buf, &cap, f)) >= 0) {
        if (len > 0 && buf[len - 1] == '\n')
            buf[--len] = '\0';
        if (len == 0)
            continue;
        if (l->n == vcap) {
            size_t ncap = vcap ? vcap * 2 : 256;
            char **grown = realloc(l->v, ncap * sizeof(*grown));

            if (!grown)
                goto out;
            l->v = grown;
            vcap = ncap;
        }
        if (!(l->v[l->n] = strdup(buf)))
            goto out;
        l->n++;
    }
    ret = ferror(f) ? -1 : 0;
 out:
    free(buf);
    fclose(f);
    if (ret < 0)
        lines_free(l);
    return ret;
}

/* Keep only the newest 'limit' lines: write them to a new file that
 * replaces the old one at once. */
static int trim_file(const char *path, const lines *l, size_t limit)
{
    char *tmp = NULL;
    FILE *f = NULL;
    size_t i;
    int fd, ret = -1;

    if (l->n <= limit)
        return 0;
    if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
        return -1;
    /* mkstemp() creates the file with mode 0600. */
    if ((fd = mkstemp(tmp)) < 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto out;
    }
    for (i = l->n - limit; i < l->n; i++)
        fprintf(f, "%s\n", l->v[i]);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        goto out;
    }
    ret = 0;
 out:
    free(tmp);
    return ret;
}

int cli_history_open(cli_history *h, int limit)
{
    HistEvent ev;
    lines l = { NULL, 0 };
    size_t i;

    memset(h, 0, sizeof(*h));
    h->limit = limit;
    if (!(h->hist = history_init()))
        return -1;
    history(h->hist, &ev, H_SETSIZE, limit);
    history(h->hist, &ev, H_SETUNIQUE, 1);

    if (!(h->path = cli_history_path()))
        return 0;
    if (make_dirs(h->path) < 0)
        goto no_file;
    if (read_lines(h->path, &l) < 0) {
        cli_warn("history is not kept: cannot read '%s': %s", h->path,
                 errno == ELOOP ? "it is a symbolic link"
                 : errno == EPERM ? "it is not a file of your own"
                 : strerror(errno));
        goto no_file;
    }
    for (i = l.n > (size_t)limit ? l.n - (size_t)limit : 0; i < l.n; i++)
        history(h->hist, &ev, H_ENTER, l.v[i]);
    if (l.n > 0 && !(h->last = strdup(l.v[l.n - 1]))) {
        lines_free(&l);
        return -1;
    }
    trim_file(h->path, &l, (size_t)limit);
    lines_free(&l);
    return 0;

 no_file:
    free(h->path);
    h->path = NULL;
    return 0;
}

void cli_history_add(cli_history *h, const char *line)
{
    HistEvent ev;
    size_t len = strlen(line);
    char *rec;
    int fd;

    /* As bash's ignorespace: a line can be kept out of the history. */
    if (line[0] == ' ' || line[strspn(line, " \t")] == '\0')
        return;
    if (h->last && strcmp(h->last, line) == 0)
        return;
    history(h->hist, &ev, H_ENTER, line);
    free(h->last);
    h->last = strdup(line);
    if (!h->path)
        return;

    if (!(rec = malloc(len + 2)))
        return;
    memcpy(rec, line, len);
    rec[len] = '\n';
    /* One write() with O_APPEND: lines of two sessions never mix. */
    fd = open_private(h->path, O_WRONLY | O_APPEND | O_CREAT);
    if (fd < 0 || write(fd, rec, len + 1) != (ssize_t)(len + 1)) {
        cli_warn("history is not kept: cannot write '%s': %s", h->path,
                 strerror(errno));
        free(h->path);
        h->path = NULL;
    }
    if (fd >= 0)
        close(fd);
    free(rec);
}

void cli_history_close(cli_history *h)
{
    lines l;

    if (h->path && read_lines(h->path, &l) == 0) {
        trim_file(h->path, &l, (size_t)h->limit);
        lines_free(&l);
    }
    if (h->hist)
        history_end(h->hist);
    free(h->path);
    free(h->last);
    memset(h, 0, sizeof(*h));
}
