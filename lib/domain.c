/*
 * Finding a VM's monitor socket from what the user typed.
 *
 * Without libvirt there is no registry of VMs, so a name is looked up
 * where sockets are conventionally kept ($BLOCKCOPY_SOCKET_DIRS), then
 * among the running QEMU processes, whose command lines say both the
 * VM's name (-name) and where its QMP monitor listens.
 *
 * A name is a claim anyone can make: any user can start a process called
 * qemu-system-x86_64 with "-name vm1" and a monitor of its own, or leave
 * a socket named vm1.qmp in a directory others may write.  So a name
 * leads only to the caller's own processes and sockets, unless the caller
 * says otherwise (BC_DOMAIN_ANY_OWNER) or gives the socket itself.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "sockstate.h"

#define DEFAULT_SOCKET_DIRS "/run/blockcopy:/run/qemu:/var/run/qemu-server"
#define CMDLINE_MAX (1024 * 1024)

static const char *socket_dirs(void)
{
    const char *dirs = getenv("BLOCKCOPY_SOCKET_DIRS");

    return dirs ? dirs : DEFAULT_SOCKET_DIRS;
}

static char *prefixed(const char *prefix, const char *rest)
{
    char *s;

    if (asprintf(&s, "%s%s", prefix, rest) < 0)
        return NULL;
    return s;
}

/* The user name of 'uid' (a new string), or NULL if it has none. */
static char *user_name(uid_t uid)
{
    struct passwd pw, *res = NULL;
    char pwbuf[1024];

    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
        return strdup(res->pw_name);
    return NULL;
}

const char *bc_user_describe(uid_t uid, char *buf, size_t len)
{
    char *name = user_name(uid);

    if (name)
        snprintf(buf, len, "user '%s' (uid %u)", name, (unsigned)uid);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    free(name);
    return buf;
}

/* ---- sockets ------------------------------------------------------- */

typedef enum {
    SOCK_NONE,                  /* nothing there, or not a socket */
    SOCK_OK,                    /* a socket, owned by the uid given back */
    SOCK_REFUSED,               /* a name must not lead there: see 'why' */
} sock_kind;

/*
 * A candidate in a socket directory.  A symbolic link is the admin's way
 * of giving a VM a second name, so it is followed, but only when the
 * link and the socket have one owner: another user's link must not lend
 * the caller's name to a socket.
 */
static sock_kind dir_socket(const char *path, uid_t *uid, char *why,
                            size_t len)
{
    struct stat lst, st;
    char a[160], b[160];

    if (lstat(path, &lst) < 0)
        return SOCK_NONE;
    if (!S_ISLNK(lst.st_mode)) {
        if (!S_ISSOCK(lst.st_mode))
            return SOCK_NONE;
        *uid = lst.st_uid;
        return SOCK_OK;
    }
    if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return SOCK_NONE;
    *uid = st.st_uid;
    if (lst.st_uid == st.st_uid)
        return SOCK_OK;
    snprintf(why, len, "'%s' is a symbolic link of %s to a socket of %s",
             path, bc_user_describe(lst.st_uid, a, sizeof(a)),
             bc_user_describe(st.st_uid, b, sizeof(b)));
    return SOCK_REFUSED;
}

/*
 * The socket a QEMU command line declares.  QEMU creates it itself, as a
 * socket: a link or another kind of file in its place was put there by
 * someone else.  A missing one is left to connect(), which says so.
 */
static sock_kind declared_socket(const char *path, uid_t *uid, char *why,
                                 size_t len)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return SOCK_NONE;
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, len, "its monitor socket '%s' is a symbolic link",
                 path);
        return SOCK_REFUSED;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(why, len, "its monitor socket '%s' is not a socket", path);
        return SOCK_REFUSED;
    }
    *uid = st.st_uid;
    return SOCK_OK;
}

/* What a lookup passed over, to explain a name that found nothing. */
typedef struct passed_over {
    int others;                 /* VMs of other users by that name */
    uid_t other_uid;            /* the owner of the first of them */
    char refused[512];          /* why the first refused socket was */
} passed_over;

static void pass_other(passed_over *po, uid_t uid)
{
    if (po->others++ == 0)
        po->other_uid = uid;
}

/* ---- socket directories -------------------------------------------- */

/*
 * Look for NAME.qmp, NAME.sock and NAME/qmp.sock in each directory of
 * $BLOCKCOPY_SOCKET_DIRS.  Returns 1 with 'out' set, 0 when none is there
 * for the caller ('po' says what was passed over).
 */
static int find_in_socket_dirs(const char *name, unsigned int flags,
                               bc_domain_addr *out, passed_over *po,
                               bc_error *err)
{
    static const char *const patterns[] = { "%s/%s.qmp", "%s/%s.sock",
                                            "%s/%s/qmp.sock" };
    char *copy, *dir, *save = NULL;
    uid_t me = geteuid();
    size_t i;
    int ret = 0;

    if (!(copy = strdup(socket_dirs())))
        return bc_set_error_oom(err);
    for (dir = strtok_r(copy, ":", &save); dir && ret == 0;
         dir = strtok_r(NULL, ":", &save)) {
        for (i = 0; i < BC_ARRAY_SIZE(patterns); i++) {
            char *p, why[512];
            uid_t uid = 0;
            sock_kind k;

            if (asprintf(&p, patterns[i], dir, name) < 0) {
                ret = bc_set_error_oom(err);
                break;
            }
            k = dir_socket(p, &uid, why, sizeof(why));
            if (k == SOCK_REFUSED && !po->refused[0])
                bc_strlcpy(po->refused, why, sizeof(po->refused));
            if (k == SOCK_OK && uid != me && !(flags & BC_DOMAIN_ANY_OWNER)) {
                pass_other(po, uid);
            } else if (k == SOCK_OK) {
                out->address = prefixed("unix:", p);
                out->check_peer = true;
                out->peer_uid = uid;
                ret = out->address ? 1 : bc_set_error_oom(err);
                free(p);
                break;
            }
            free(p);
        }
    }
    free(copy);
    return ret;
}

/* ---- QEMU processes ------------------------------------------------ */

typedef struct qemu_proc {
    int pid;
    uid_t uid;                  /* its real uid */
    char *name;
    char *address;              /* the QMP monitor, or NULL */
    char **others;              /* its other QMP monitors */
    size_t nothers;
    bool hmp;                   /* it has a human monitor */
} qemu_proc;

static void proc_clear(qemu_proc *p)
{
    size_t i;

    free(p->name);
    free(p->address);
    for (i = 0; i < p->nothers; i++)
        free(p->others[i]);
    free(p->others);
    memset(p, 0, sizeof(*p));
}

/* Take QMP monitor 'address' (NULL: none) into 'p': the first, or one
 * more. */
static void proc_add_monitor(qemu_proc *p, char *address)
{
    char **grown;

    if (!address)
        return;
    if (!p->address) {
        p->address = address;
        return;
    }
    if (!(grown = realloc(p->others, (p->nothers + 1) * sizeof(*grown)))) {
        free(address);
        return;
    }
    p->others = grown;
    p->others[p->nothers++] = address;
}

/* Whether 'address' is one of p's monitors. */
static bool proc_has_monitor(const qemu_proc *p, const char *address)
{
    size_t i;

    if (p->address && !strcmp(p->address, address))
        return true;
    for (i = 0; i < p->nothers; i++)
        if (!strcmp(p->others[i], address))
            return true;
    return false;
}

/* Of p's monitors, make the first one the best to connect to: a free one,
 * then one whose state is not known, then a busy one, a stale one last.
 * QEMU serves one client per monitor socket. */
static void proc_pick_monitor(qemu_proc *p)
{
    static const int rank[] = {
        [BC_SOCK_FREE] = 0, [BC_SOCK_UNKNOWN] = 1, [BC_SOCK_BUSY] = 2,
        [BC_SOCK_STALE] = 3,
    };
    int best;
    size_t i;

    if (!p->address || !p->nothers)
        return;
    best = rank[bc_sock_state_of(p->address)];
    for (i = 0; i < p->nothers && best > 0; i++) {
        int r = rank[bc_sock_state_of(p->others[i])];

        if (r < best) {
            char *t = p->address;

            p->address = p->others[i];
            p->others[i] = t;
            best = r;
        }
    }
}

/*
 * The real uid of a process, from /proc/PID/status: the user who started
 * it, also when it runs a set-user-ID program, whose effective uid (the
 * owner of /proc/PID) is the program's owner.
 */
static int proc_uid(int pid, uid_t *uid)
{
    char path[64], line[256];
    bool line_start = true;
    unsigned long u;
    FILE *f;
    int ret = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if (!(f = fopen(path, "re")))
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (line_start && sscanf(line, "Uid: %lu", &u) == 1) {
            *uid = (uid_t)u;
            ret = 0;
            break;
        }
        line_start = strchr(line, '\n') != NULL;
    }
    fclose(f);
    return ret;
}

/* Read /proc/PID/cmdline into a NULL-terminated argv. */
static char **read_cmdline(int pid)
{
    char path[64], *buf, **argv, *p;
    size_t len = 0, n = 0, i;
    ssize_t r;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return NULL;
    if (!(buf = malloc(CMDLINE_MAX + 1))) {
        close(fd);
        return NULL;
    }
    while (len < CMDLINE_MAX &&
           (r = read(fd, buf + len, CMDLINE_MAX - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = '\0';
    for (i = 0; i < len; i++)
        if (buf[i] == '\0')
            n++;
    if (len == 0 || !(argv = calloc(n + 2, sizeof(*argv)))) {
        free(buf);
        return NULL;
    }
    /* argv[0] points at the buffer, so freeing argv[0] frees it all. */
    for (i = 0, p = buf; p < buf + len && i <= n; p += strlen(p) + 1)
        argv[i++] = p;
    argv[i] = NULL;
    return argv;
}

static bool is_qemu(const char *argv0)
{
    const char *base = strrchr(argv0, '/');

    base = base ? base + 1 : argv0;
    return bc_str_has_prefix(base, "qemu-system-") ||
           !strcmp(base, "qemu-kvm") || !strcmp(base, "kvm");
}

/*
 * The value of key 'key' in a QEMU option string ("socket,id=x,path=y"),
 * with ",," unescaped; the first element counts as 'implied' if it has no
 * '='.  Caller frees.
 */
static char *opt_get(const char *opts, const char *key, const char *implied)
{
    const char *p = opts;
    bool first = true;

    while (*p) {
        const char *start = p, *eq = NULL;
        char *val, *v;

        /* Find the end of this element, honouring ",," escapes. */
        while (*p && !(*p == ',' && p[1] != ',')) {
            if (*p == ',' && p[1] == ',')
                p++;
            else if (*p == '=' && !eq)
                eq = p;
            p++;
        }
        if (eq ? (size_t)(eq - start) == strlen(key) &&
                 !strncmp(start, key, eq - start)
               : first && implied && !strcmp(implied, key)) {
            const char *from = eq ? eq + 1 : start;

            if (!(val = malloc(p - from + 1)))
                return NULL;
            for (v = val; from < p; from++) {
                *v++ = *from;
                if (*from == ',' && from[1] == ',')
                    from++;
            }
            *v = '\0';
            return val;
        }
        first = false;
        if (*p == ',')
            p++;
    }
    return NULL;
}

/* "unix:PATH,server=on" or "unix:path=PATH" or "tcp:H:P,server=on". */
static char *address_from_spec(const char *spec, const char *cwd)
{
    char *rest, *path, *addr = NULL;

    if (bc_str_has_prefix(spec, "unix:")) {
        rest = strdup(spec + 5);
        if (!rest)
            return NULL;
        path = bc_str_has_prefix(rest, "path=") ? opt_get(rest, "path", NULL)
                                                : opt_get(rest, "path", "path");
        free(rest);
        if (!path)
            return NULL;
        if (path[0] != '/' && cwd) {
            if (asprintf(&addr, "unix:%s/%s", cwd, path) < 0)
                addr = NULL;
        } else {
            addr = prefixed("unix:", path);
        }
        free(path);
        return addr;
    }
    if (bc_str_has_prefix(spec, "tcp:")) {
        char *hp = opt_get(spec + 4, "host", "host");

        if (hp) {
            addr = prefixed("tcp:", hp);
            free(hp);
        }
    }
    return addr;
}

/* The address of a "-chardev socket,..." backend. */
static char *address_from_chardev(const char *opts, const char *cwd)
{
    char *path = opt_get(opts, "path", NULL), *addr = NULL;

    if (path) {
        if (path[0] != '/' && cwd) {
            if (asprintf(&addr, "unix:%s/%s", cwd, path) < 0)
                addr = NULL;
        } else {
            addr = prefixed("unix:", path);
        }
        free(path);
    } else {
        char *host = opt_get(opts, "host", NULL);
        char *port = opt_get(opts, "port", NULL);

        if (port && asprintf(&addr, "tcp:%s:%s", host ? host : "localhost",
                             port) < 0)
            addr = NULL;
        free(host);
        free(port);
    }
    return addr;
}

static const char *arg_name(const char *a)
{
    /* QEMU takes "--opt" as "-opt". */
    return a[0] == '-' && a[1] == '-' ? a + 1 : a;
}

static int parse_proc(int pid, char **argv, qemu_proc *p)
{
    char cwdlink[64], cwd[PATH_MAX];
    ssize_t n;
    int i, j;

    snprintf(cwdlink, sizeof(cwdlink), "/proc/%d/cwd", pid);
    n = readlink(cwdlink, cwd, sizeof(cwd) - 1);
    if (n >= 0)
        cwd[n] = '\0';

    p->pid = pid;
    for (i = 1; argv[i] && argv[i + 1]; i++) {
        const char *a = arg_name(argv[i]), *v = argv[i + 1];

        if (!strcmp(a, "-name")) {
            free(p->name);
            p->name = opt_get(v, "guest", "guest");
        } else if (!strcmp(a, "-qmp") || !strcmp(a, "-qmp-pretty")) {
            proc_add_monitor(p, address_from_spec(v, n >= 0 ? cwd : NULL));
        } else if (!strcmp(a, "-monitor")) {
            p->hmp = true;
        } else if (!strcmp(a, "-mon")) {
            char *mode = opt_get(v, "mode", NULL);
            char *chardev = opt_get(v, "chardev", "chardev");

            if (mode && !strcmp(mode, "control") && chardev) {
                /* Find the socket chardev it names. */
                for (j = 1; argv[j] && argv[j + 1]; j++) {
                    char *id;

                    if (strcmp(arg_name(argv[j]), "-chardev") ||
                        !bc_str_has_prefix(argv[j + 1], "socket,"))
                        continue;
                    id = opt_get(argv[j + 1], "id", NULL);
                    if (id && !strcmp(id, chardev))
                        proc_add_monitor(p, address_from_chardev(
                                                argv[j + 1],
                                                n >= 0 ? cwd : NULL));
                    free(id);
                }
            } else {
                p->hmp = true;
            }
            free(mode);
            free(chardev);
        }
    }
    return 0;
}

/* Every QEMU process this user can see. */
static int scan_procs(qemu_proc **out, size_t *nout, bc_error *err)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    qemu_proc *list = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    *nout = 0;
    if (!d)
        return bc_set_error_errno(err, BC_ERR_SYSTEM, errno,
                                  "cannot read /proc");
    while ((de = readdir(d))) {
        char **argv;
        uid_t uid;
        int pid;

        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid = atoi(de->d_name);
        if (proc_uid(pid, &uid) < 0 || !(argv = read_cmdline(pid)))
            continue;
        if (is_qemu(argv[0])) {
            if (n == cap) {
                qemu_proc *grown = realloc(list, (cap ? cap * 2 : 8) *
                                           sizeof(*list));

                if (!grown) {
                    free(argv[0]);
                    free(argv);
                    break;
                }
                list = grown;
                cap = cap ? cap * 2 : 8;
            }
            memset(&list[n], 0, sizeof(list[n]));
            list[n].uid = uid;
            parse_proc(pid, argv, &list[n]);
            n++;
        }
        free(argv[0]);
        free(argv);
    }
    closedir(d);
    *out = list;
    *nout = n;
    return 0;
}

static void procs_free(qemu_proc *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        proc_clear(&list[i]);
    free(list);
}

/*
 * May a name lead to the monitor that process 'p' declares?  QEMU makes
 * its socket as the user it runs as: a socket of another user in that
 * place is someone else's, whatever the command line says.  Returns
 * false with the reason in 'why'.
 */
static bool proc_socket_ok(const qemu_proc *p, char *why, size_t len)
{
    char a[160], b[160];
    uid_t uid;

    if (!p->address || !bc_str_has_prefix(p->address, "unix:"))
        return true;
    switch (declared_socket(p->address + 5, &uid, why, len)) {
    case SOCK_NONE:
        return true;
    case SOCK_REFUSED:
        return false;
    case SOCK_OK:
        break;
    }
    if (uid == p->uid)
        return true;
    snprintf(why, len, "its monitor socket '%s' belongs to %s, the QEMU "
             "process to %s", p->address + 5,
             bc_user_describe(uid, a, sizeof(a)),
             bc_user_describe(p->uid, b, sizeof(b)));
    return false;
}

/* ---- lookup and listing -------------------------------------------- */

/* A name that led nowhere the caller may go: say why. */
static int not_found(const char *domain, const passed_over *po,
                     bc_error *err)
{
    char who[160];

    if (po->others)
        return bc_set_error(err, BC_ERR_NO_DOMAIN,
                            "VM '%s' belongs to %s%s, not to you; use "
                            "--any-owner or its socket path", domain,
                            bc_user_describe(po->other_uid, who, sizeof(who)),
                            po->others > 1 ? " (and others)" : "");
    if (po->refused[0])
        return bc_set_error(err, BC_ERR_NO_DOMAIN,
                            "VM '%s': %s: refused by name; give the socket "
                            "path if you trust it", domain, po->refused);
    return bc_set_error(err, BC_ERR_NO_DOMAIN,
                        "no VM named '%s': no socket for it in %s and no "
                        "QEMU process with -name %s", domain, socket_dirs(),
                        domain);
}

/* Give 'out' the monitors of QEMU process 'p' (its best one first):
 * the connection takes whichever is free. */
static void take_monitors(bc_domain_addr *out, qemu_proc *p)
{
    free(out->address);
    out->address = p->address;
    out->others = p->others;
    out->nothers = p->nothers;
    p->address = NULL;
    p->others = NULL;
    p->nothers = 0;
}

/* A socket found in a directory that a client holds (or nothing serves)
 * is one of the monitors of a QEMU process that may have more. */
static void prefer_free(bc_domain_addr *out)
{
    bc_sock_state st = bc_sock_state_of(out->address);
    qemu_proc *procs = NULL;
    size_t n = 0, i;
    bc_error ignored;
    char why[512];

    if (st != BC_SOCK_BUSY && st != BC_SOCK_STALE)
        return;
    bc_error_init(&ignored);
    if (scan_procs(&procs, &n, &ignored) < 0)
        return;
    for (i = 0; i < n; i++) {
        qemu_proc *p = &procs[i];

        if (p->uid != out->peer_uid || !p->nothers ||
            !proc_has_monitor(p, out->address))
            continue;
        proc_pick_monitor(p);
        if (proc_socket_ok(p, why, sizeof(why)))
            take_monitors(out, p);
        break;
    }
    procs_free(procs, n);
}

void bc_domain_addr_clear(bc_domain_addr *a)
{
    size_t i;

    free(a->address);
    for (i = 0; i < a->nothers; i++)
        free(a->others[i]);
    free(a->others);
    memset(a, 0, sizeof(*a));
}

/* Resolve a name: 0 with 'out' set; 1 when nothing was found, 'po'
 * saying what was passed over; -1 with 'err' set. */
static int resolve_name(const char *domain, unsigned int flags,
                        bc_domain_addr *out, passed_over *po, bc_error *err)
{
    qemu_proc *procs = NULL;
    size_t n = 0, i;
    ssize_t found = -1;
    uid_t me = geteuid();
    char why[512];
    int rc, matches = 0;

    rc = find_in_socket_dirs(domain, flags, out, po, err);
    if (rc < 0)
        return -1;
    if (rc > 0) {
        prefer_free(out);
        return 0;
    }

    if (scan_procs(&procs, &n, err) < 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!procs[i].name || strcmp(procs[i].name, domain) != 0)
            continue;
        if (procs[i].uid != me && !(flags & BC_DOMAIN_ANY_OWNER)) {
            pass_other(po, procs[i].uid);
            continue;
        }
        matches++;
        if (found < 0 || (!procs[found].address && procs[i].address))
            found = i;
    }
    if (found >= 0)
        proc_pick_monitor(&procs[found]);
    if (matches > 1) {
        rc = bc_set_error(err, BC_ERR_NO_DOMAIN,
                          "%d QEMU processes are named '%s': give the monitor "
                          "socket instead (see 'blockcopy list')", matches,
                          domain);
    } else if (found < 0) {
        rc = 1;
    } else if (!procs[found].address) {
        rc = bc_set_error(err, BC_ERR_NO_DOMAIN,
                          "VM '%s' (pid %d) has no QMP monitor %s; blockcopy "
                          "needs one (-qmp unix:PATH,server=on,wait=off)",
                          domain, procs[found].pid,
                          procs[found].hmp ? "(only a human monitor)"
                                           : "at all");
    } else if (!proc_socket_ok(&procs[found], why, sizeof(why))) {
        rc = bc_set_error(err, BC_ERR_NO_DOMAIN,
                          "VM '%s' (pid %d): %s: refused by name; give the "
                          "socket path if you trust it", domain,
                          procs[found].pid, why);
    } else {
        take_monitors(out, &procs[found]);
        /* Whoever listens there must be the process's user, also if the
         * socket appears, or changes, after the look above. */
        out->check_peer = bc_str_has_prefix(out->address, "unix:");
        out->peer_uid = procs[found].uid;
        rc = 0;
    }
    procs_free(procs, n);
    return rc;
}

int bc_domain_resolve(const char *domain, unsigned int flags,
                      bc_domain_addr *out, bc_error *err)
{
    passed_over po;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&po, 0, sizeof(po));
    /* A socket the user names is the user's own statement: taken as
     * given, whoever owns it. */
    if (bc_str_has_prefix(domain, "unix:") ||
        bc_str_has_prefix(domain, "tcp:") || strchr(domain, '/')) {
        out->address = strchr(domain, '/') &&
                       !bc_str_has_prefix(domain, "unix:")
                       ? prefixed("unix:", domain) : strdup(domain);
        return out->address ? 0 : bc_set_error_oom(err);
    }

    /* The caller's own VM by that name comes first, also with
     * BC_DOMAIN_ANY_OWNER: that only widens a search that found nothing
     * but other users' VMs. */
    rc = resolve_name(domain, flags & ~BC_DOMAIN_ANY_OWNER, out, &po, err);
    if (rc == 1 && po.others && (flags & BC_DOMAIN_ANY_OWNER)) {
        memset(&po, 0, sizeof(po));
        rc = resolve_name(domain, flags, out, &po, err);
    }
    if (rc == 1)
        return not_found(domain, &po, err);
    return rc;
}

void bc_domains_free(bc_domain_info *doms, size_t n)
{
    size_t i;

    if (!doms)
        return;
    for (i = 0; i < n; i++) {
        free(doms[i].name);
        free(doms[i].address);
        free(doms[i].note);
        free(doms[i].owner);
    }
    free(doms);
}

static int add_domain(bc_domain_info **list, size_t *n, size_t *cap,
                      const char *name, int pid, uid_t uid,
                      const char *address, const char *note)
{
    bc_domain_info *d;

    if (*n == *cap) {
        size_t want = *cap ? *cap * 2 : 8;
        bc_domain_info *grown = realloc(*list, want * sizeof(**list));

        if (!grown)
            return -1;
        *list = grown;
        *cap = want;
    }
    d = &(*list)[(*n)++];
    d->name = bc_strdup0(name);
    d->pid = pid;
    d->address = bc_strdup0(address);
    d->note = bc_strdup0(note);
    d->uid = uid;
    d->owner = NULL;
    d->state = NULL;
    return 0;
}

/* Sockets in the socket directories, named after their files. */
static int list_socket_dirs(bc_domain_info **list, size_t *n, size_t *cap)
{
    char *copy = strdup(socket_dirs()), *dir, *save = NULL;

    if (!copy)
        return -1;
    for (dir = strtok_r(copy, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
            continue;
        while ((de = readdir(d))) {
            const char *nm = de->d_name;
            size_t len = strlen(nm);
            char *path = NULL, *name = NULL, why[512], note[600];
            sock_kind k = SOCK_NONE;
            uid_t uid = 0;

            if (nm[0] == '.')
                continue;
            if (len > 4 && !strcmp(nm + len - 4, ".qmp"))
                name = strndup(nm, len - 4);
            else if (len > 5 && !strcmp(nm + len - 5, ".sock"))
                name = strndup(nm, len - 5);
            else
                name = strdup(nm);
            if (!name)
                continue;
            if (asprintf(&path, "%s/%s", dir, nm) < 0)
                path = NULL;
            if (path && (k = dir_socket(path, &uid, why, sizeof(why))) ==
                            SOCK_NONE) {
                free(path);
                path = NULL;
                if (asprintf(&path, "%s/%s/qmp.sock", dir, nm) < 0)
                    path = NULL;
                if (path && (k = dir_socket(path, &uid, why, sizeof(why))) ==
                                SOCK_NONE) {
                    free(path);
                    path = NULL;
                }
            }
            if (path) {
                char *addr = prefixed("unix:", path);

                if (k == SOCK_REFUSED)
                    snprintf(note, sizeof(note), "refused by name: %s", why);
                if (addr)
                    add_domain(list, n, cap, name, 0, uid, addr,
                               k == SOCK_REFUSED ? note : NULL);
                free(addr);
            }
            free(path);
            free(name);
        }
        closedir(d);
    }
    free(copy);
    return 0;
}

int bc_domains_list(bc_domain_info **out, size_t *nout, bc_error *err)
{
    bc_domain_info *list = NULL;
    qemu_proc *procs = NULL;
    size_t n = 0, cap = 0, nprocs = 0, i, j;

    *out = NULL;
    *nout = 0;
    if (list_socket_dirs(&list, &n, &cap) < 0)
        goto oom;
    if (scan_procs(&procs, &nprocs, err) < 0) {
        bc_domains_free(list, n);
        return -1;
    }
    for (i = 0; i < nprocs; i++) {
        qemu_proc *p = &procs[i];
        const char *note = NULL;
        size_t k;
        char why[512], refusal[600];

        if (!p->address)
            note = p->hmp ? "no QMP monitor (only HMP): cannot be driven"
                          : "no monitor: cannot be driven";
        else if (!proc_socket_ok(p, why, sizeof(why)))
            note = refusal;
        if (note == refusal)
            snprintf(refusal, sizeof(refusal), "refused by name: %s", why);

        /* A row for each of its monitors.  A socket found in a directory
         * is the same VM: add the pid.  The process's owner is the VM's. */
        for (k = 0; k <= p->nothers; k++) {
            const char *addr = k == 0 ? p->address : p->others[k - 1];
            bool merged = false;

            for (j = 0; j < n && addr; j++)
                if (list[j].address && !strcmp(list[j].address, addr) &&
                    !list[j].pid) {
                    list[j].pid = p->pid;
                    list[j].uid = p->uid;
                    if (p->name) {
                        free(list[j].name);
                        list[j].name = strdup(p->name);
                    }
                    if (note && !list[j].note)
                        list[j].note = strdup(note);
                    merged = true;
                }
            if (!merged && add_domain(&list, &n, &cap, p->name, p->pid,
                                      p->uid, addr, note) < 0)
                goto oom;
        }
    }
    procs_free(procs, nprocs);
    for (i = 0; i < n; i++) {
        list[i].owner = user_name(list[i].uid);
        list[i].state = bc_sock_state_name(bc_sock_state_of(list[i].address));
    }
    *out = list;
    *nout = n;
    return 0;

 oom:
    procs_free(procs, nprocs);
    bc_domains_free(list, n);
    return bc_set_error_oom(err);
}

int bc_domain_lookup_flags(const char *domain, unsigned int flags,
                           char **address, bc_error *err)
{
    bc_domain_addr to;

    *address = NULL;
    if (!domain || !*domain)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no domain given");
    if (bc_domain_resolve(domain, flags, &to, err) < 0)
        return -1;
    *address = to.address;
    to.address = NULL;
    bc_domain_addr_clear(&to);
    return 0;
}

int bc_domain_lookup(const char *domain, char **address, bc_error *err)
{
    return bc_domain_lookup_flags(domain, 0, address, err);
}
