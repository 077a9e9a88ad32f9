/*
 * libblockcopy: copy the disk of a running QEMU virtual machine over QMP.
 *
 * The API mirrors libvirt's virDomainBlockCopy() and virDomainBlockJob*():
 * open a connection to a VM's QMP monitor, then start a copy of one of its
 * disks with typed parameters and flags, and drive the resulting block job.
 *
 * Conventions:
 * - Functions return 0 on success and -1 on failure unless documented
 *   otherwise.  On failure they fill the caller's bc_error, if one is given.
 * - The library never prints, never exits and installs no signal handlers.
 * - Strings and arrays returned through pointer arguments belong to the
 *   caller and are released with the matching _free function.
 * - A bc_conn is not thread-safe: use one connection per thread.
 */
#ifndef BLOCKCOPY_H
#define BLOCKCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BC_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
# define BC_EXPORT __attribute__((visibility("default")))
#else
# define BC_EXPORT
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

typedef enum {
    BC_ERR_NONE = 0,
    BC_ERR_INTERNAL,        /* a bug or an allocation failure */
    BC_ERR_INVALID_ARG,     /* a bad argument or value; nothing was changed */
    BC_ERR_XML,             /* the destination XML is invalid */
    BC_ERR_NO_DOMAIN,       /* no VM or monitor socket by that name */
    BC_ERR_NO_DISK,         /* no disk by that name, or it cannot be copied */
    BC_ERR_JOB_EXISTS,      /* the disk already has a block job */
    BC_ERR_NO_JOB,          /* the disk has no block job */
    BC_ERR_NOT_READY,       /* the job cannot pivot or finish yet */
    BC_ERR_UNSUPPORTED,     /* this QEMU cannot do what was asked */
    BC_ERR_SYSTEM,          /* a system call failed: see sys_errno */
    BC_ERR_CONNECT,         /* the monitor socket cannot be reached */
    BC_ERR_BUSY,            /* the monitor is held by another client */
    BC_ERR_TIMEOUT,         /* the caller's timeout passed */
    BC_ERR_PROTOCOL,        /* QEMU sent something that is not valid QMP */
    BC_ERR_CLOSED,          /* QEMU closed the monitor connection */
    BC_ERR_QMP,             /* QEMU refused a command: see qmp_class */
    BC_ERR_JOB_FAILED,      /* the block job failed: message has QEMU's reason */
    BC_ERR_ABORTED,         /* the block job was aborted */
    BC_ERR_INTERRUPTED,     /* the caller's interrupt descriptor fired */
    BC_ERR_NO_REPLY,        /* QEMU did not answer a command in time; it
                               may still run it (not the caller's timeout) */
    BC_ERR_UNCERTAIN,       /* what happened is not known for sure: the
                               message says what is known and which
                               command settles it */
    BC_ERR_DEST_CHANGED,    /* the destination's path no longer shows the
                               file the copy writes: no pivot was asked */
} bc_error_code;

/*
 * A caller-owned error object.  It holds no allocated memory, so it can
 * live on the stack; bc_error_init() clears it.  'message' is a complete
 * sentence fragment suitable after "error: ".
 */
typedef struct bc_error {
    bc_error_code code;
    int sys_errno;          /* errno of a failed system call, or 0 */
    char qmp_class[64];     /* QMP error class ("GenericError"), or "" */
    char message[1024];
} bc_error;

BC_EXPORT void bc_error_init(bc_error *err);

/* A short stable name for an error code ("invalid-arg", "job-failed"). */
BC_EXPORT const char *bc_error_code_name(bc_error_code code);

/*
 * True when the error was found before anything was changed in the VM or
 * on disk because of bad input (the tool's exit status 2).
 */
BC_EXPORT bool bc_error_is_usage(const bc_error *err);

/* ------------------------------------------------------------------ */
/* Sizes                                                              */
/* ------------------------------------------------------------------ */

/*
 * Parse a size with libvirt's scaled-integer suffixes: none (bytes, or
 * 'default_scale' units), b, k/K/KiB (1024), KB (1000), M/MiB, MB, G/GiB,
 * GB, T/TiB, TB, P/PiB, PB, E/EiB, EB.  Fails with BC_ERR_INVALID_ARG on
 * garbage, a negative number, overflow, or a result above 'max'.
 */
BC_EXPORT int bc_parse_size(const char *str, unsigned long long default_scale,
                            unsigned long long max, unsigned long long *value,
                            bc_error *err);

/* ------------------------------------------------------------------ */
/* Typed parameters (as libvirt's virTypedParameter)                  */
/* ------------------------------------------------------------------ */

#define BC_TYPED_PARAM_FIELD_LENGTH 80

typedef enum {
    BC_TYPED_PARAM_INT = 1,
    BC_TYPED_PARAM_UINT = 2,
    BC_TYPED_PARAM_LLONG = 3,
    BC_TYPED_PARAM_ULLONG = 4,
    BC_TYPED_PARAM_DOUBLE = 5,
    BC_TYPED_PARAM_BOOLEAN = 6,
    BC_TYPED_PARAM_STRING = 7,
} bc_typed_param_type;

typedef struct bc_typed_param {
    char field[BC_TYPED_PARAM_FIELD_LENGTH];
    int type;                   /* bc_typed_param_type */
    union {
        int i;
        unsigned int ui;
        long long l;
        unsigned long long ul;
        double d;
        char b;
        char *s;                /* owned by the array */
    } value;
} bc_typed_param;

/*
 * Append a parameter to a growing array.  *params, *nparams and
 * *maxparams start as NULL, 0, 0; the array is released with
 * bc_typed_params_free().  A name of BC_TYPED_PARAM_FIELD_LENGTH bytes or
 * more is refused.  Adding a name twice is not checked here: validation
 * reports it.
 */
BC_EXPORT int bc_typed_params_add_int(bc_typed_param **params, int *nparams,
                                      int *maxparams, const char *name,
                                      int value, bc_error *err);
BC_EXPORT int bc_typed_params_add_uint(bc_typed_param **params, int *nparams,
                                       int *maxparams, const char *name,
                                       unsigned int value, bc_error *err);
BC_EXPORT int bc_typed_params_add_llong(bc_typed_param **params, int *nparams,
                                        int *maxparams, const char *name,
                                        long long value, bc_error *err);
BC_EXPORT int bc_typed_params_add_ullong(bc_typed_param **params, int *nparams,
                                         int *maxparams, const char *name,
                                         unsigned long long value,
                                         bc_error *err);
BC_EXPORT int bc_typed_params_add_double(bc_typed_param **params, int *nparams,
                                         int *maxparams, const char *name,
                                         double value, bc_error *err);
BC_EXPORT int bc_typed_params_add_boolean(bc_typed_param **params,
                                          int *nparams, int *maxparams,
                                          const char *name, bool value,
                                          bc_error *err);
BC_EXPORT int bc_typed_params_add_string(bc_typed_param **params,
                                         int *nparams, int *maxparams,
                                         const char *name, const char *value,
                                         bc_error *err);

/*
 * Look up a parameter.  Return 1 and store the value when 'name' is present
 * with the requested type, 0 when it is absent, -1 (BC_ERR_INVALID_ARG)
 * when it is present with another type.  A string is borrowed.
 */
BC_EXPORT int bc_typed_params_get_int(const bc_typed_param *params,
                                      int nparams, const char *name,
                                      int *value, bc_error *err);
BC_EXPORT int bc_typed_params_get_uint(const bc_typed_param *params,
                                       int nparams, const char *name,
                                       unsigned int *value, bc_error *err);
BC_EXPORT int bc_typed_params_get_llong(const bc_typed_param *params,
                                        int nparams, const char *name,
                                        long long *value, bc_error *err);
BC_EXPORT int bc_typed_params_get_ullong(const bc_typed_param *params,
                                         int nparams, const char *name,
                                         unsigned long long *value,
                                         bc_error *err);
BC_EXPORT int bc_typed_params_get_double(const bc_typed_param *params,
                                         int nparams, const char *name,
                                         double *value, bc_error *err);
BC_EXPORT int bc_typed_params_get_boolean(const bc_typed_param *params,
                                          int nparams, const char *name,
                                          bool *value, bc_error *err);
BC_EXPORT int bc_typed_params_get_string(const bc_typed_param *params,
                                         int nparams, const char *name,
                                         const char **value, bc_error *err);

/* Release the array and the strings in it.  Accepts NULL. */
BC_EXPORT void bc_typed_params_free(bc_typed_param *params, int nparams);

/* One allowed parameter: its name and type.  A spec ends with field NULL. */
typedef struct bc_typed_param_spec {
    const char *field;
    int type;
} bc_typed_param_spec;

/*
 * Check every parameter against 'spec': a field without a terminating NUL
 * ("field name '...' too long"), an unknown name ("parameter 'x' not
 * supported"), a wrong type ("invalid type 'int' for parameter 'bandwidth',
 * expected 'ullong'") and a repeated name ("parameter 'x' occurs multiple
 * times") each fail with BC_ERR_INVALID_ARG.
 */
BC_EXPORT int bc_typed_params_validate(const bc_typed_param *params,
                                       int nparams,
                                       const bc_typed_param_spec *spec,
                                       bc_error *err);

/* The name of a type ("ullong"), or "unknown". */
BC_EXPORT const char *bc_typed_param_type_name(int type);

/* ------------------------------------------------------------------ */
/* Connections                                                        */
/* ------------------------------------------------------------------ */

typedef struct bc_conn bc_conn;

typedef struct bc_domain_info {
    char *name;                 /* the VM's -name, or the socket's name */
    int pid;                    /* the QEMU process, 0 if not known */
    char *address;              /* "unix:PATH" or "tcp:HOST:PORT", or NULL */
    char *note;                 /* why it cannot be driven, or not by its
                                   name, or NULL */
    uid_t uid;                  /* its owner: the QEMU process's real uid,
                                   or the socket's owner when there is no
                                   process */
    char *owner;                /* the owner's user name, or NULL if the
                                   uid has none */
    const char *state;          /* the monitor socket: "free", "busy" (QEMU
                                   serves a client there), "stale"
                                   (nothing listens) or "-" (not known) */
} bc_domain_info;

/*
 * The VMs blockcopy can find: sockets in $BLOCKCOPY_SOCKET_DIRS (default
 * /run/blockcopy:/run/qemu:/var/run/qemu-server) and running QEMU
 * processes with their -name and QMP sockets, whoever owns them, one
 * entry for each monitor socket: a VM whose uid is not the caller's
 * effective uid is found by name only with BC_DOMAIN_ANY_OWNER.  A name
 * leads to a free monitor of the VM where it has several.  Free with
 * bc_domains_free().
 */
BC_EXPORT int bc_domains_list(bc_domain_info **domains, size_t *ndomains,
                              bc_error *err);
BC_EXPORT void bc_domains_free(bc_domain_info *domains, size_t ndomains);

typedef enum {
    /* Let a name lead to the VMs and sockets of other users too.  Without
     * it a name resolves only to the caller's own (effective uid):
     * another user could otherwise start a process that looks like QEMU,
     * under a name the caller knows, and receive the caller's commands
     * and file descriptors. */
    BC_DOMAIN_ANY_OWNER = 1 << 0,
} bc_domain_flags;

/*
 * Resolve DOMAIN to a monitor address without connecting: a socket path
 * (anything with a '/'), "unix:PATH" or "tcp:HOST:PORT", taken as given,
 * or a name, looked up as NAME.qmp, NAME.sock, NAME/qmp.sock in the socket
 * directories, then as the -name of a running QEMU process.  A name leads
 * only to the caller's sockets and processes unless 'flags' has
 * BC_DOMAIN_ANY_OWNER, and never to a socket that a process declares but
 * another user owns, nor to a symbolic link or a file that is not a
 * socket.  The caller frees *address.  Fails with BC_ERR_NO_DOMAIN, whose
 * message says whose a VM is when it is not the caller's.
 */
BC_EXPORT int bc_domain_lookup_flags(const char *domain, unsigned int flags,
                                     char **address, bc_error *err);

/* bc_domain_lookup_flags() with no flags. */
BC_EXPORT int bc_domain_lookup(const char *domain, char **address,
                               bc_error *err);

/*
 * Connect to a VM's QMP monitor and negotiate capabilities.  'domain' is a
 * socket path (anything with a '/'), "unix:PATH", "tcp:HOST:PORT", or a VM
 * name looked up as bc_domain_lookup() does; a name's unix socket must
 * also be served by the uid the lookup found (checked with SO_PEERCRED,
 * so that a socket swapped after the lookup is refused).  Fails with
 * BC_ERR_NO_DOMAIN, BC_ERR_CONNECT (missing socket, refused, permission),
 * BC_ERR_BUSY (no greeting: another client holds the monitor) or
 * BC_ERR_PROTOCOL.
 */
BC_EXPORT bc_conn *bc_conn_open(const char *domain, bc_error *err);

typedef struct bc_conn_opts {
    int greeting_ms;            /* wait for the greeting (default 2000) */
    int command_ms;             /* wait for each reply (default 30000) */
    unsigned int flags;         /* bc_domain_flags, for a VM name */
} bc_conn_opts;

/* bc_conn_open() with timeouts and lookup flags; 0 in a field, or a NULL
 * 'opts', keeps the default. */
BC_EXPORT bc_conn *bc_conn_open_opts(const char *domain,
                                     const bc_conn_opts *opts, bc_error *err);

/* Close the connection and release it.  Accepts NULL. */
BC_EXPORT void bc_conn_free(bc_conn *conn);

/* The monitor address in use ("unix:/run/qemu/vm1.qmp").  Borrowed.  A VM
 * found by name with several QMP monitors is reached through whichever
 * was free. */
BC_EXPORT const char *bc_conn_get_address(const bc_conn *conn);

/* Whether another client waits in line for this connection's monitor
 * (QEMU serves one client per monitor socket): a connection that only
 * idles may let it go.  False where the kernel does not tell (tcp). */
BC_EXPORT bool bc_conn_monitor_wanted(const bc_conn *conn);

/* Whether QEMU listens at monitor 'address' ("unix:PATH") and serves no
 * client there, nor has one waiting. */
BC_EXPORT bool bc_monitor_is_free(const char *address);

/* The QEMU version from the greeting. */
BC_EXPORT void bc_conn_get_qemu_version(const bc_conn *conn, int *major,
                                        int *minor, int *micro);

/*
 * Set timeouts in milliseconds (0 keeps the current value): for the
 * greeting after connect (default 2000) and for each command's reply
 * (default 30000).
 */
BC_EXPORT void bc_conn_set_timeouts(bc_conn *conn, int greeting_ms,
                                    int command_ms);

/*
 * Dry-run mode: commands that would change the VM are not sent; each is
 * handed to 'cb' as one line of JSON instead.  Queries are still sent.
 */
typedef void (*bc_command_cb)(const char *json, void *opaque);
BC_EXPORT void bc_conn_set_dry_run(bc_conn *conn, bc_command_cb cb,
                                   void *opaque);

/*
 * Warnings (a guess the library had to make, a value QEMU will round) go
 * to 'cb'; without one they are dropped.
 */
typedef void (*bc_message_cb)(const char *message, void *opaque);
BC_EXPORT void bc_conn_set_warning_cb(bc_conn *conn, bc_message_cb cb,
                                      void *opaque);

/*
 * While the library waits on QEMU for longer than one command (an image
 * being created, a block job), a readable 'fd' ends the wait with
 * BC_ERR_INTERRUPTED once what can be undone is undone.  -1: none.  The
 * caller keeps the descriptor readable (a self-pipe written by a signal
 * handler); the library never reads it.
 */
BC_EXPORT void bc_conn_set_interrupt_fd(bc_conn *conn, int fd);

/* The monitor socket's descriptor, to poll() while idle; -1 if closed. */
BC_EXPORT int bc_conn_get_fd(const bc_conn *conn);

/*
 * Optional features of QEMU that blockcopy uses where the monitor's schema
 * (query-qmp-schema, read once per connection) has them.
 */
typedef enum {
    BC_FEATURE_TARGET_IS_ZERO,  /* blockdev-mirror target-is-zero */
    BC_FEATURE_JOB_CHANGE,      /* block-job-change: a running copy's mode */
    BC_FEATURE_ACTIVELY_SYNCED, /* query-block-jobs actively-synced */
    BC_FEATURE_NODE_ACTIVE,     /* query-named-block-nodes active */
    BC_FEATURE_COUNT
} bc_feature;

/* Whether the QEMU on 'conn' has feature 'f': 0 with *has, or -1 (the
 * schema could not be read). */
BC_EXPORT int bc_conn_has_feature(bc_conn *conn, bc_feature f, bool *has,
                                  bc_error *err);
/* The feature's name ("block-job-change") and the first QEMU release that
 * has it ("8.2"); NULL for no such feature.  Static strings. */
BC_EXPORT const char *bc_feature_name(bc_feature f);
BC_EXPORT const char *bc_feature_since(bc_feature f);

typedef struct bc_event {
    const char *name;           /* "BLOCK_JOB_READY", "SHUTDOWN", ... */
    const char *data_json;      /* the event's "data" as JSON, or "{}" */
    long long timestamp_us;     /* QEMU's timestamp (wall clock) */
} bc_event;

typedef void (*bc_event_cb)(const bc_event *event, void *opaque);

/*
 * Read what QEMU has sent, without blocking, and hand every QMP event
 * received so far to 'cb' (the strings are valid during the call only).
 * Fails with BC_ERR_CLOSED once QEMU has gone away.
 */
BC_EXPORT int bc_conn_dispatch_events(bc_conn *conn, bc_event_cb cb,
                                      void *opaque, bc_error *err);

/*
 * Send one QMP command.  'args_json' is a JSON object or NULL.  On success
 * *reply_json (if not NULL) receives the "return" value as JSON text, which
 * the caller frees with free().  QEMU's error becomes BC_ERR_QMP.
 */
BC_EXPORT int bc_qmp_command(bc_conn *conn, const char *command,
                             const char *args_json, char **reply_json,
                             bc_error *err);

/* ------------------------------------------------------------------ */
/* Disks                                                              */
/* ------------------------------------------------------------------ */

typedef struct bc_disk_info {
    char *target;               /* "vda", "sdb", ...; NULL if unknown */
    char *device;               /* qdev id, or QOM path if it has none */
    char *drive;                /* -drive id, NULL for -blockdev disks */
    char *node;                 /* root block node, NULL when empty */
    char *format;               /* "qcow2", "raw", ... */
    char *source;               /* image file name or URI */
    char *bus;                  /* "virtio", "scsi", "sata", "ide", ... */
    unsigned long long virtual_size;
    bool removable;             /* a CD-ROM or floppy drive */
    bool empty;                 /* no medium */
    bool readonly;
} bc_disk_info;

/* Every block device of the VM, in target-name order (vd*, sd*, hd*,
 * fd*, then those without one).  Free with bc_disks_free(). */
BC_EXPORT int bc_disks_list(bc_conn *conn, bc_disk_info **disks,
                            size_t *ndisks, bc_error *err);
BC_EXPORT void bc_disks_free(bc_disk_info *disks, size_t ndisks);

/* ------------------------------------------------------------------ */
/* Block copy                                                         */
/* ------------------------------------------------------------------ */

/* Typed parameter names for bc_block_copy(). */
#define BC_BLOCK_COPY_BANDWIDTH "bandwidth"      /* ullong, bytes/s */
#define BC_BLOCK_COPY_GRANULARITY "granularity"  /* uint, bytes */
#define BC_BLOCK_COPY_BUF_SIZE "buf-size"        /* ullong, bytes */
/* string: a file holding the key or password for the destination's
 * <auth username=> (rbd: the base64 key 'ceph auth get-key' prints;
 * iscsi: the CHAP password), a newline at its end not counted.  The
 * library reads it and hands the secret to QEMU through the monitor; it
 * never appears in a message. */
#define BC_BLOCK_COPY_SECRET_FILE "secret-file"
/* string: the directory of the certificates for a destination with
 * tls='yes' (nbd): ca-cert.pem, and client-cert.pem with client-key.pem
 * if the server asks for a client certificate.  Default /etc/pki/qemu,
 * as libvirt's; a relative path is taken from the caller's working
 * directory.  QEMU reads the files, so QEMU must be allowed to.  Unused
 * for a destination without TLS. */
#define BC_BLOCK_COPY_TLS_DIR "tls-dir"
/* string: the name the server's certificate must carry, instead of the
 * host name of the destination (its tlsHostname attribute, which this
 * overrides).  An error for a destination without TLS. */
#define BC_BLOCK_COPY_TLS_HOSTNAME "tls-hostname"

typedef enum {
    BC_BLOCK_COPY_SHALLOW = 1 << 0,          /* copy only the top image */
    BC_BLOCK_COPY_REUSE_EXT = 1 << 1,        /* the destination exists */
    BC_BLOCK_COPY_TRANSIENT_JOB = 1 << 2,    /* accepted: QEMU jobs are
                                                never persistent */
    BC_BLOCK_COPY_SYNCHRONOUS_WRITES = 1 << 3, /* guest writes reach both */
    BC_BLOCK_COPY_TARGET_ZEROED = 1 << 4,    /* destination reads as zero */
} bc_block_copy_flags;

/*
 * Start copying 'disk' of the connected VM to the destination described by
 * 'destxml' (a libvirt <disk> element).  Returns once the block job runs;
 * drive it with bc_block_job_*().  Every check that can be made before
 * changing anything is made first and fails with a usage error
 * (bc_error_is_usage()).  When a later step fails, what this call created
 * is removed again and the VM stays on its source.
 */
BC_EXPORT int bc_block_copy(bc_conn *conn, const char *disk,
                            const char *destxml,
                            const bc_typed_param *params, int nparams,
                            unsigned int flags, bc_error *err);

/*
 * The <disk> XML for a plain destination, as virsh builds it from
 * "DEST --format FMT [--blockdev]": a file, or a block device when
 * 'block'.  'format' may be NULL.  The caller frees the result.
 */
BC_EXPORT char *bc_dest_xml_from_path(const char *path, const char *format,
                                      bool block, bc_error *err);

/*
 * Parse 'xml' as bc_block_copy() would and return it as it will be used
 * (validated, normalized, everything ignored left out).  Caller frees.
 */
BC_EXPORT char *bc_dest_xml_canonical(const char *xml, bc_error *err);

/* ------------------------------------------------------------------ */
/* Block jobs                                                         */
/* ------------------------------------------------------------------ */

typedef struct bc_job_info {
    char *id;                   /* QEMU's job id */
    char *type;                 /* "mirror", "commit", "stream", ... */
    char *status;               /* "running", "ready", "concluded", ... */
    unsigned long long cur;     /* bytes done */
    unsigned long long end;     /* bytes in all; grows with guest writes */
    unsigned long long bandwidth; /* bytes/s, 0 for unlimited */
    bool ready;
    bool paused;
    char *io_status;            /* "ok", "failed", "nospace" */
    char *error;                /* QEMU's reason once it failed, or NULL */
    char *disk;                 /* the disk it works on, if known */
    int actively_synced;        /* 1: a write-blocking copy in sync, 0: not,
                                   -1: this QEMU does not say (before 8.2) */
    char *target;               /* bc_block_job_info() of a copy of the
                                   tool's: the image it copies into, as
                                   QEMU names it; else NULL */
} bc_job_info;

/* Release the strings of 'info' (not 'info' itself).  Accepts NULL. */
BC_EXPORT void bc_job_info_clear(bc_job_info *info);

/*
 * Every block job of the VM, also those blockcopy did not start.  Free
 * with bc_job_infos_free().
 */
BC_EXPORT int bc_block_jobs_list(bc_conn *conn, bc_job_info **jobs,
                                 size_t *njobs, bc_error *err);
BC_EXPORT void bc_job_infos_free(bc_job_info *jobs, size_t njobs);

/*
 * Settle what earlier runs left on every disk of the VM: a copy of the
 * tool's that ended with nobody waiting for it (dismissed, its outcome
 * reported through the warning callback), the old image a pivot left
 * open.  Running jobs are left alone.
 */
BC_EXPORT int bc_block_jobs_settle(bc_conn *conn, bc_error *err);

/*
 * Fill 'info' with the block job of 'disk'.  Returns 1 when there is one,
 * 0 when there is none, -1 on error.
 */
BC_EXPORT int bc_block_job_info(bc_conn *conn, const char *disk,
                                bc_job_info *info, bc_error *err);

typedef enum {
    BC_BLOCK_JOB_ABORT_ASYNC = 1 << 0,  /* request, do not wait */
    BC_BLOCK_JOB_ABORT_PIVOT = 1 << 1,  /* switch the disk to the copy */
} bc_block_job_abort_flags;

/*
 * End the block job of 'disk'.  With PIVOT, the disk switches to the copy
 * (the job must be ready).  Without it, a ready copy job is finished (the
 * copy stays consistent, the VM stays on its source) and any other job is
 * cancelled.  Unless ASYNC, wait for the job to end and clean up the
 * nodes the copy added.
 */
BC_EXPORT int bc_block_job_abort(bc_conn *conn, const char *disk,
                                 unsigned int flags, bc_error *err);

/* Set the speed limit of the block job of 'disk' in bytes/s (0: none). */
BC_EXPORT int bc_block_job_set_speed(bc_conn *conn, const char *disk,
                                     unsigned long long bandwidth,
                                     bc_error *err);

/*
 * Switch the running copy of 'disk' to synchronous writes (write-blocking
 * mode: every guest write reaches both images before it completes), so
 * that a copy the guest outpaces converges.  Needs block-job-change (QEMU
 * 8.2): without it BC_ERR_UNSUPPORTED and nothing changes; a job that is
 * no copy is BC_ERR_INVALID_ARG.
 */
BC_EXPORT int bc_block_job_set_synchronous(bc_conn *conn, const char *disk,
                                           bc_error *err);

typedef enum {
    BC_JOB_EVENT_PROGRESS = 1,  /* cur/end changed */
    BC_JOB_EVENT_READY,         /* mirroring phase reached */
    BC_JOB_EVENT_PIVOTED,       /* the disk now uses the copy */
    BC_JOB_EVENT_COPIED,        /* finished: the copy is complete */
    BC_JOB_EVENT_COMPLETED,     /* a job of another type completed */
    BC_JOB_EVENT_ABORTED,
    BC_JOB_EVENT_FAILED,        /* 'error' has QEMU's reason */
    BC_JOB_EVENT_ERROR,         /* an I/O error: 'error' says which */
    BC_JOB_EVENT_SWITCHED,      /* not converging (opts->converge_ms):
                                   switched to synchronous writes */
    BC_JOB_EVENT_NOT_CONVERGING,/* not converging, and this QEMU cannot
                                   switch a running copy ('error' says
                                   why): it goes on as it was */
} bc_job_event_type;

typedef struct bc_job_event {
    bc_job_event_type type;
    const char *job;            /* job id */
    const char *disk;           /* the disk as the caller named it */
    int member;                 /* a group's copy: its place in the group
                                   (bc_group_*), else 0 */
    unsigned long long cur;
    unsigned long long end;
    unsigned long long bandwidth;
    const char *error;          /* FAILED, ERROR: the reason */
    long long timestamp_us;     /* QEMU's timestamp, or the local clock */
    /* PROGRESS and READY, for a copy of the tool's into an image whose
     * allocation QEMU reports, when progress is asked for (0: not known): the data the copy holds now, and the
     * data the source has to copy.  Zero ranges count in cur and end but
     * in neither of these, so they measure the work, not the distance. */
    unsigned long long written;
    unsigned long long data;
    /* SWITCHED and NOT_CONVERGING: how fast, in bytes/s, the guest made
     * new data to copy and the copy copied, since the copy was last
     * nearest to done (0: not measured). */
    unsigned long long dirty_rate;
    unsigned long long copy_rate;
} bc_job_event;

typedef void (*bc_job_event_cb)(const bc_job_event *event, void *opaque);

typedef enum {
    BC_WAIT_READY = 1,          /* return once the job is ready */
    BC_WAIT_END,                /* return once the job has ended */
    BC_WAIT_PIVOT,              /* pivot the moment it is ready, then END */
    BC_WAIT_FINISH,             /* finish the moment it is ready, then END */
    BC_WAIT_ABORT,              /* cancel it now, then END */
} bc_wait_until;

typedef struct bc_wait_opts {
    bc_wait_until until;
    int timeout_ms;             /* 0: none; BC_ERR_TIMEOUT when it passes */
    int interrupt_fd;           /* -1: the connection's (see
                                   bc_conn_set_interrupt_fd()); readable:
                                   BC_ERR_INTERRUPTED */
    int progress_ms;            /* 0: no progress events; else interval */
    bc_job_event_cb cb;         /* may be NULL */
    void *opaque;
    int converge_ms;            /* 0: off; else see bc_block_job_wait() */
} bc_wait_opts;

/* Fill 'opts' with defaults: BC_WAIT_END, no timeout, no interrupt. */
BC_EXPORT void bc_wait_opts_init(bc_wait_opts *opts);

/*
 * Wait for the block job of 'disk' on QMP events (no fixed sleeps).  State
 * changes and, every progress_ms, progress are reported to opts->cb.
 * With BC_WAIT_PIVOT or BC_WAIT_FINISH the job is pivoted or finished as
 * soon as QEMU reports it ready, without a round trip in between; with
 * BC_WAIT_ABORT it is cancelled at once.  The timeout counts until the
 * end is asked for; the interrupt descriptor in every phase.
 *
 * Events only wake the wait: every outcome is read back from QEMU's state
 * (the job's status and error, the disk's image) before it is reported,
 * so *outcome says what QEMU shows, whatever was asked: READY, PIVOTED
 * (the disk runs on the copy), COPIED (the copy is complete and the disk
 * stays on its source), ABORTED, or COMPLETED (a job of another kind).
 * Returns 0 when the job reached opts->until or ended as asked (ABORTED
 * counts for BC_WAIT_ABORT).  Otherwise -1: BC_ERR_JOB_FAILED with QEMU's
 * reason, BC_ERR_ABORTED (cancelled by someone else), BC_ERR_CLOSED or
 * BC_ERR_UNCERTAIN (the monitor went away, another client removed the
 * job, or the interrupt came while a pivot, finish or abort was under way,
 * before the outcome could be read: the message says what is known),
 * BC_ERR_TIMEOUT and BC_ERR_INTERRUPTED (the job is left as it is, and
 * *outcome is 0).  A command QEMU answers late is not a failure: the wait
 * reads the state again and goes on.  A job that ended is cleaned up:
 * dismissed, the nodes the copy added removed, after a pivot the old
 * image closed.
 *
 * With converge_ms, a copy that is not ready after converge_ms, or whose
 * remaining data has not shrunk for BC_CONVERGE_WINDOW_MS, does not
 * converge: the guest dirties data as fast as the copy copies it.  It is
 * switched to synchronous writes (block-job-change, QEMU 8.2), which
 * makes it converge at the cost of the guest's write latency, and the
 * callback gets BC_JOB_EVENT_SWITCHED; on a QEMU without that command,
 * or if QEMU refuses it, BC_JOB_EVENT_NOT_CONVERGING and the copy goes
 * on as it was (until the timeout, if any).  Either happens once.
 */
#define BC_CONVERGE_WINDOW_MS 10000
/* The bound of blockcopy's --auto-converge without a value. */
#define BC_CONVERGE_DEFAULT_MS 60000
BC_EXPORT int bc_block_job_wait(bc_conn *conn, const char *disk,
                                const bc_wait_opts *opts,
                                bc_job_event_type *outcome, bc_error *err);

/*
 * As bc_block_job_abort(), and say how the job ended, as QEMU shows it:
 * *outcome is PIVOTED, COPIED, ABORTED, COMPLETED, or 0 with ASYNC (the
 * end is only requested).  A job that had ended already (a pivot asked
 * for with ASYNC, a run that was killed) is cleaned up and its outcome
 * reported, whatever 'flags' ask.
 */
BC_EXPORT int bc_block_job_end(bc_conn *conn, const char *disk,
                               unsigned int flags, bc_job_event_type *outcome,
                               bc_error *err);

/* ------------------------------------------------------------------ */
/* Groups: several copies at once                                     */
/* ------------------------------------------------------------------ */

/*
 * A group copies several disks at once, of one VM or of several (each
 * on its own connection), with one wait over all of them.  The copies of
 * one VM are ended together: once every one of them is ready, the guest
 * is paused (if it runs), each job pivoted or finished, and the guest
 * resumed, so that all the VM's disks switch, or all its copies are
 * taken, at one instant.  A copy that fails before that takes its VM's
 * other copies with it: they are rolled back as a failed bc_block_copy()
 * is, and the VM stays on all its sources.  The guest runs afterwards if
 * it ran before, whatever failed; a run killed while it was paused leaves
 * a mark that the next bc_group_start() on that VM finds, resuming it.
 */
typedef struct bc_group bc_group;

BC_EXPORT bc_group *bc_group_new(bc_error *err);
/* Release the group (not the copies' jobs).  Accepts NULL. */
BC_EXPORT void bc_group_free(bc_group *g);

/*
 * Add a copy of 'disk' of the VM on 'conn' to 'destxml', with the
 * parameters and flags of bc_block_copy().  Every check that can be
 * made before anything changes is made now, also against the group's
 * other copies (the same disk twice, two copies into one file): a
 * failure changes nothing.  bc_group_start() starts it.
 */
BC_EXPORT int bc_group_add_copy(bc_group *g, bc_conn *conn, const char *disk,
                                const char *destxml,
                                const bc_typed_param *params, int nparams,
                                unsigned int flags, bc_error *err);

/* Add the copy that already runs on 'disk' (an earlier run's). */
BC_EXPORT int bc_group_add_job(bc_group *g, bc_conn *conn, const char *disk,
                               bc_error *err);

/*
 * Share 'total' bytes/s (0: no limit of the group's) among the copies:
 * each copy still in its first pass gets total divided by their number,
 * set again as that number changes; a ready copy, which copies only what
 * its guest writes, gets as much.
 */
BC_EXPORT int bc_group_set_bandwidth(bc_group *g, unsigned long long total,
                                     bc_error *err);

/*
 * Start every copy added and not started yet.  A copy that cannot start
 * rolls back its VM's copies (see above); the others go on.  Fails when
 * any failed: bc_group_result_get() says which.
 */
BC_EXPORT int bc_group_start(bc_group *g, bc_error *err);

/*
 * One wait over every copy of the group, as bc_block_job_wait() waits for
 * one, until opts->until: BC_WAIT_READY (every copy ready), BC_WAIT_PIVOT
 * or BC_WAIT_FINISH (each VM's copies ended together, as above).  Events
 * carry each copy's disk and place ('member').  An interrupt or the
 * timeout rolls back every copy not yet being ended.  Fails when any
 * copy failed or ended otherwise than asked; err holds the first reason.
 */
BC_EXPORT int bc_group_wait(bc_group *g, const bc_wait_opts *opts,
                            bc_error *err);

typedef struct bc_group_result {
    bc_conn *conn;
    const char *disk;           /* as it was added */
    const char *job;            /* its job id, or NULL */
    bc_job_event_type outcome;  /* READY, PIVOTED, COPIED, ABORTED (rolled
                                   back), FAILED, or 0 (not got that far) */
    const bc_error *error;      /* why it failed, or NULL */
    long long paused_us;        /* how long its guest was paused for the
                                   switch, 0 if it was not */
} bc_group_result;

/* The copies in the order they were added.  Strings are borrowed from
 * the group. */
BC_EXPORT size_t bc_group_size(const bc_group *g);
BC_EXPORT int bc_group_result_get(const bc_group *g, size_t i,
                                  bc_group_result *res);

#ifdef __cplusplus
}
#endif

#endif /* BLOCKCOPY_H */
