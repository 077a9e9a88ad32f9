/*
 * Whether a QMP monitor socket is free, held by a client, or stale, and
 * who holds it.
 *
 * QEMU serves one client at a time on each monitor socket; another client
 * waits in the listen queue without a greeting.  The kernel tells the
 * rest: /proc/net/unix lists the listening socket and the connection
 * QEMU accepted on it (both under the socket's path), and sock_diag
 * names the peer of that connection, whose descriptor some process has.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "sockstate.h"
#include "internal.h"

#define SS_UNCONNECTED 1
#define SS_CONNECTING 2
#define SS_CONNECTED 3
#define SO_ACCEPTCON 0x10000

/* The path of a "unix:PATH" address, or NULL. */
static const char *unix_path(const char *address)
{
    return address && bc_str_has_prefix(address, "unix:") ? address + 5
                                                           : NULL;
}

/* Look 'path' up in /proc/net/unix: whether something listens there, the
 * inode of a connection accepted on it (0: none), and whether a client
 * waits to be accepted (it shows as connecting, without an inode). */
static int scan_unix(const char *path, bool *listening,
                     unsigned long *accepted, bool *waiting)
{
    FILE *f = fopen("/proc/net/unix", "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    *listening = false;
    *accepted = 0;
    *waiting = false;
    if (!f)
        return -1;
    while ((n = getline(&line, &cap, f)) > 0) {
        unsigned long flags, type, st, ino;
        int off = 0;

        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (sscanf(line, "%*s %*s %*s %lx %lx %lx %lu %n", &flags, &type, &st,
                   &ino, &off) != 4 || !off || strcmp(line + off, path) != 0)
            continue;
        if (st == SS_UNCONNECTED && (flags & SO_ACCEPTCON))
            *listening = true;
        else if (st == SS_CONNECTED && !*accepted)
            *accepted = ino;
        else if (st == SS_CONNECTING)
            *waiting = true;
    }
    free(line);
    fclose(f);
    return 0;
}

bc_sock_state bc_sock_state_of(const char *address)
{
    const char *path = unix_path(address);
    struct sockaddr_un sa;
    unsigned long accepted;
    bool listening, waiting;
    int fd, rc, e;

    if (!path || scan_unix(path, &listening, &accepted, &waiting) < 0)
        return BC_SOCK_UNKNOWN;
    if (listening)
        return accepted ? BC_SOCK_BUSY : BC_SOCK_FREE;
    /* Not listed: stale, or a socket of another network namespace.  Only
     * a refused connection says stale; one that is accepted is given up
     * at once, before any greeting is read. */
    if (strlen(path) >= sizeof(sa.sun_path))
        return BC_SOCK_UNKNOWN;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                     0)) < 0)
        return BC_SOCK_UNKNOWN;
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    e = errno;
    close(fd);
    if (rc < 0 && (e == ECONNREFUSED || e == ENOENT))
        return BC_SOCK_STALE;
    return BC_SOCK_UNKNOWN;
}

/* The inode of the peer of unix socket 'ino', from sock_diag; 0 if not
 * known. */
static unsigned long peer_inode(unsigned long ino)
{
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg;
    struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
    union { char buf[8192]; struct nlmsghdr align; } reply;
    unsigned long peer = 0;
    ssize_t len;
    int fd;

    if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                     NETLINK_SOCK_DIAG)) < 0)
        return 0;
    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = AF_UNIX;
    msg.req.udiag_states = ~0u;
    msg.req.udiag_ino = (unsigned int)ino;
    msg.req.udiag_show = UDIAG_SHOW_PEER;
    msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;
    if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nl,
               sizeof(nl)) < 0 ||
        (len = recv(fd, reply.buf, sizeof(reply.buf), 0)) <= 0) {
        close(fd);
        return 0;
    }
    close(fd);
    for (struct nlmsghdr *h = &reply.align; NLMSG_OK(h, (size_t)len);
         h = NLMSG_NEXT(h, len)) {
        struct unix_diag_msg *m = NLMSG_DATA(h);
        struct rtattr *a;
        int alen;

        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
            h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->udiag_ino != ino)
            continue;
        alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
        for (a = (struct rtattr *)(m + 1); RTA_OK(a, alen);
             a = RTA_NEXT(a, alen))
            if (a->rta_type == UNIX_DIAG_PEER &&
                RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
                uint32_t v;

                memcpy(&v, RTA_DATA(a), sizeof(v));
                peer = v;
            }
    }
    return peer;
}

/* The process that has socket inode 'ino' open: its pid, 0 if none this
 * user may see. */
static int pid_with_socket(unsigned long ino)
{
    char want[48], fddir[300], link[64], path[600];
    DIR *procs = opendir("/proc");
    struct dirent *p;
    int pid = 0;

    if (!procs)
        return 0;
    snprintf(want, sizeof(want), "socket:[%lu]", ino);
    while (!pid && (p = readdir(procs))) {
        DIR *fds;
        struct dirent *f;

        if (p->d_name[0] < '1' || p->d_name[0] > '9')
            continue;
        snprintf(fddir, sizeof(fddir), "/proc/%s/fd", p->d_name);
        if (!(fds = opendir(fddir)))
            continue;
        while ((f = readdir(fds))) {
            ssize_t n;

            snprintf(path, sizeof(path), "%s/%s", fddir, f->d_name);
            n = readlink(path, link, sizeof(link) - 1);
            if (n < 0)
                continue;
            link[n] = '\0';
            if (!strcmp(link, want)) {
                pid = atoi(p->d_name);
                break;
            }
        }
        closedir(fds);
    }
    closedir(procs);
    return pid;
}

int bc_sock_holder(const char *address, char *comm, size_t len)
{
    const char *path = unix_path(address);
    unsigned long accepted, peer;
    bool listening, waiting;
    char file[64];
    int pid, fd;
    ssize_t n;

    if (len)
        comm[0] = '\0';
    if (!path || scan_unix(path, &listening, &accepted, &waiting) < 0 ||
        !accepted ||
        !(peer = peer_inode(accepted)) || !(pid = pid_with_socket(peer)))
        return 0;
    snprintf(file, sizeof(file), "/proc/%d/comm", pid);
    if (len && (fd = open(file, O_RDONLY | O_CLOEXEC)) >= 0) {
        n = read(fd, comm, len - 1);
        close(fd);
        comm[n > 0 ? n : 0] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
    }
    return pid;
}

const char *bc_sock_state_name(bc_sock_state s)
{
    static const char *const names[] = {
        [BC_SOCK_UNKNOWN] = "-",
        [BC_SOCK_FREE] = "free",
        [BC_SOCK_BUSY] = "busy",
        [BC_SOCK_STALE] = "stale",
    };

    return names[s];
}

bool bc_sock_has_waiters(const char *address)
{
    const char *path = unix_path(address);
    unsigned long accepted;
    bool listening, waiting;

    return path && scan_unix(path, &listening, &accepted, &waiting) == 0 &&
           waiting;
}
