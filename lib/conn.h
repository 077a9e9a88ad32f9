/*
 * The connection object shared by the library's modules.  Internal.
 */
#ifndef BC_CONN_H
#define BC_CONN_H

#include "internal.h"
#include "qmp.h"

struct bc_conn {
    bc_qmp *qmp;
    char *address;

    bc_command_cb dry_run_cb;
    void *dry_run_opaque;
    bc_message_cb warn_cb;
    void *warn_opaque;

    /* The last command that got no answer (no reply in time, connection
     * closed, garbage), for a best-effort step that swallowed it. */
    bc_error fault;

    /* Readable: stop waiting (bc_conn_set_interrupt_fd()), or -1. */
    int interrupt_fd;

    /* The record of the copy bc_block_copy() just started, for the wait
     * that follows on this connection (saves reading it back). */
    struct bc_job_record *record;

    /* The optional features of this QEMU (bit 1 << bc_feature), once
     * read from its schema. */
    bool features_read;
    unsigned int features;

    /* The last target name looked up and the disk it named (its drive or
     * qdev), so that repeated calls need not walk QOM again. */
    char *alias_name;
    char *alias_disk;
};

/* Run a command that only reads state.  *ret as bc_qmp_execute(), with
 * the files QEMU knows as "/dev/fdset/N" named by their paths (see
 * fdset.h).  Takes over the reference to 'args'. */
int bc_conn_query(bc_conn *conn, const char *cmd, json_object *args,
                  json_object **ret, bc_error *err);

/*
 * Run a command that changes the VM.  In dry-run mode it is handed to the
 * dry-run callback instead and succeeds with an empty object.  Takes over
 * the reference to 'args'.
 */
int bc_conn_change(bc_conn *conn, const char *cmd, json_object *args,
                   json_object **ret, bc_error *err);
/* The same, passing descriptor 'fd' with the command (see
 * bc_qmp_execute_fd()). */
int bc_conn_change_fd(bc_conn *conn, const char *cmd, json_object *args,
                      int fd, json_object **ret, bc_error *err);

/*
 * A clean-up step with one string argument ("job-dismiss" "id" ID):
 * best effort, since QEMU refusing it (a node still in use, a job gone
 * already) is an expected answer that changes nothing.  Honours dry-run.
 */
void bc_conn_try_change(bc_conn *conn, const char *cmd, const char *key,
                        const char *value);

/* query-named-block-nodes, flat: every node (new reference in *nodes). */
int bc_conn_named_nodes(bc_conn *conn, json_object **nodes, bc_error *err);

/* The query-jobs entry of job 'id': 1 with *job (new reference), 0 when
 * there is no such job, -1. */
int bc_conn_find_job(bc_conn *conn, const char *id, json_object **job,
                     bc_error *err);

/* 0 if the QEMU on 'conn' has feature 'f'; else -1 with
 * BC_ERR_UNSUPPORTED, saying that it cannot 'what' ("switch a running
 * copy to synchronous writes") and which QEMU can. */
int bc_conn_need_feature(bc_conn *conn, bc_feature f, const char *what,
                         bc_error *err);

/* True in dry-run mode. */
bool bc_conn_is_dry_run(const bc_conn *conn);

/* Hand a warning to the caller's callback. */
void bc_conn_warn(bc_conn *conn, const char *fmt, ...) BC_PRINTF(2, 3);

/* Where a DOMAIN leads. */
typedef struct bc_domain_addr {
    char *address;              /* "unix:PATH" or "tcp:HOST:PORT" */
    char **others;              /* the same QEMU's other monitors */
    size_t nothers;
    bool check_peer;            /* a name led to a unix socket: it must be */
    uid_t peer_uid;             /* served by this uid */
} bc_domain_addr;

/* Resolve DOMAIN as bc_domain_lookup_flags() documents: a name leads to
 * the best of the VM's monitors, the others in out->others.  Release with
 * bc_domain_addr_clear(). */
int bc_domain_resolve(const char *domain, unsigned int flags,
                      bc_domain_addr *out, bc_error *err);
void bc_domain_addr_clear(bc_domain_addr *a);

#endif /* BC_CONN_H */
