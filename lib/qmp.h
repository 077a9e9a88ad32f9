/*
 * A QMP client: one connection to a QEMU monitor, commands matched to
 * their replies by id, events queued in between.  Internal to the library.
 */
#ifndef BC_QMP_H
#define BC_QMP_H

#include <stdint.h>

#include <json-c/json.h>

#include "blockcopy.h"

/* The largest message accepted from QEMU; a longer one ends the session. */
#define BC_QMP_MAX_MESSAGE (16 * 1024 * 1024)

/* Events kept while nobody reads them; older ones are dropped first. */
#define BC_QMP_MAX_EVENTS 4096

typedef struct bc_qmp bc_qmp;

typedef struct bc_qmp_event {
    struct bc_qmp_event *next;
    char *name;                 /* "JOB_STATUS_CHANGE" */
    json_object *data;          /* the event's "data", or NULL; owned */
    int64_t timestamp_us;       /* QEMU's timestamp (wall clock) */
} bc_qmp_event;

typedef enum {
    BC_QMP_TRACE_SEND,
    BC_QMP_TRACE_RECV,
} bc_qmp_trace_dir;

typedef void (*bc_qmp_trace_cb)(bc_qmp_trace_dir dir, const char *json,
                                void *opaque);

/* A client with default timeouts; NULL on allocation failure. */
bc_qmp *bc_qmp_new(void);

/* Close and release.  Accepts NULL. */
void bc_qmp_free(bc_qmp *q);

void bc_qmp_set_timeouts(bc_qmp *q, int connect_ms, int greeting_ms,
                         int command_ms);
/* The timeout of a command, in ms. */
int bc_qmp_command_timeout(const bc_qmp *q);
void bc_qmp_set_trace(bc_qmp *q, bc_qmp_trace_cb cb, void *opaque);

/*
 * Connect to "unix:PATH", "tcp:HOST:PORT" or a plain socket path, then
 * read the greeting and negotiate capabilities.
 */
int bc_qmp_connect(bc_qmp *q, const char *address, bc_error *err);

/* Connect to whichever of one QEMU's unix monitors 'addresses' greets
 * first (QEMU serves one client per monitor); none greeting within the
 * greeting timeout is what bc_qmp_connect() on the first says. */
#define BC_QMP_MAX_MONITORS 8
int bc_qmp_connect_any(bc_qmp *q, char *const *addresses, size_t n,
                       bc_error *err);

/* From now on, refuse a unix socket that a process of another uid than
 * 'uid' listens on (BC_ERR_NO_DOMAIN), before a byte is exchanged. */
void bc_qmp_require_peer(bc_qmp *q, uid_t uid);

/* Take over a connected descriptor (tests use a socketpair) and do the
 * handshake on it. */
int bc_qmp_attach_fd(bc_qmp *q, int fd, bc_error *err);

/* The descriptor to poll for incoming data, or -1. */
int bc_qmp_fd(const bc_qmp *q);

/* QEMU's version from the greeting. */
void bc_qmp_version(const bc_qmp *q, int *major, int *minor, int *micro);

/*
 * Execute 'cmd' with 'args' (borrowed, may be NULL).  On success *ret (if
 * not NULL) receives a new reference to the "return" value.  Events that
 * arrive meanwhile are queued.
 */
int bc_qmp_execute(bc_qmp *q, const char *cmd, json_object *args,
                   json_object **ret, bc_error *err);

/* As bc_qmp_execute(), passing descriptor 'pass_fd' (SCM_RIGHTS) with
 * the command if it is >= 0; the caller keeps its own. */
int bc_qmp_execute_fd(bc_qmp *q, const char *cmd, json_object *args,
                      int pass_fd, json_object **ret, bc_error *err);

/* Can descriptors be passed: is the monitor a unix socket? */
bool bc_qmp_can_pass_fds(const bc_qmp *q);

/*
 * Take the oldest queued event, reading from the socket for at most
 * 'timeout_ms' (-1: forever, 0: only what is already there) if none is
 * queued.  Returns 1 with *ev set, 0 on timeout, -1 on error.
 */
int bc_qmp_next_event(bc_qmp *q, int timeout_ms, bc_qmp_event **ev,
                      bc_error *err);

/* Is anything queued or read but not parsed yet?  Then poll() on the
 * socket would wait for what is here already. */
bool bc_qmp_has_pending(const bc_qmp *q);

/* Queued events not yet taken. */
size_t bc_qmp_pending_events(const bc_qmp *q);

/* True (and reset) if events were dropped since the last call. */
bool bc_qmp_events_lost(bc_qmp *q);

/* Read whatever is available now without blocking; queue the events. */
int bc_qmp_poll(bc_qmp *q, bc_error *err);

void bc_qmp_event_free(bc_qmp_event *ev);

/* The id of the last command sent ("bc-7"). */
const char *bc_qmp_last_id(const bc_qmp *q);

/* The address connected to. */
const char *bc_qmp_address(const bc_qmp *q);

/*
 * What became of a command that failed with BC_ERR_NO_REPLY: 0 while its
 * reply is still owed, 1 once QEMU answered that it ran it, -1 with
 * QEMU's error once QEMU answered that it refused it.
 */
int bc_qmp_late_reply(bc_qmp *q, const char *id, bc_error *err);

/*
 * Drop the queued events about job 'job' (JOB_STATUS_CHANGE "id",
 * BLOCK_JOB_* "device"): they are about an earlier job of that id, once
 * a new one is about to start.  Returns how many were dropped.
 */
size_t bc_qmp_drop_events(bc_qmp *q, const char *job);

#endif /* BC_QMP_H */
