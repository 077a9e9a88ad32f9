#ifndef BC_SOCKSTATE_H
#define BC_SOCKSTATE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    BC_SOCK_UNKNOWN,    /* not a unix socket, or the kernel did not say */
    BC_SOCK_FREE,       /* QEMU listens and serves no client */
    BC_SOCK_BUSY,       /* QEMU serves a client there */
    BC_SOCK_STALE,      /* nothing listens */
} bc_sock_state;

/* The state of monitor 'address' ("unix:PATH"; others are UNKNOWN). */
bc_sock_state bc_sock_state_of(const char *address);

/* "free", "busy", "stale", or "-". */
const char *bc_sock_state_name(bc_sock_state s);

/* The pid of the process holding busy monitor 'address', with its
 * command name in 'comm' (untrusted text); 0 when not known. */
int bc_sock_holder(const char *address, char *comm, size_t len);

/* Whether a client waits in line at monitor 'address' ("unix:PATH"). */
bool bc_sock_has_waiters(const char *address);

#endif /* BC_SOCKSTATE_H */
