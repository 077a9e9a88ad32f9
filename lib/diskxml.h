/*
 * The destination <disk> element.  Internal.
 */
#ifndef BC_DISKXML_H
#define BC_DISKXML_H

#include <json-c/json.h>

#include "internal.h"

/* Documents larger than this are refused unread. */
#define BC_DEST_XML_MAX (1024 * 1024)

typedef enum {
    BC_DEST_FILE,
    BC_DEST_BLOCK,
    BC_DEST_NETWORK,
} bc_dest_type;

/* libvirt's tls attribute of a network <source>. */
typedef enum {
    BC_DEST_TLS_DEFAULT,        /* not given: off */
    BC_DEST_TLS_YES,
    BC_DEST_TLS_NO,
} bc_dest_tls;

/* What the secret file of a destination's <auth> holds, and so how it
 * reaches QEMU. */
typedef enum {
    BC_SECRET_NONE,             /* the protocol takes no secret */
    BC_SECRET_RAW,              /* the password itself (iscsi CHAP) */
    BC_SECRET_BASE64,           /* base64 text, as 'ceph auth get-key'
                                   prints a key */
} bc_dest_secret;

typedef struct bc_dest_host {
    char *name;                 /* host name or address */
    char *port;                 /* decimal, or NULL for the default */
    char *transport;            /* "tcp" (default), "unix", "rdma" */
    char *socket;               /* transport unix: the socket path */
} bc_dest_host;

typedef struct bc_dest {
    bc_dest_type type;
    char *format;               /* <driver type=>, or NULL: not given */
    char *path;                 /* file or block: the path */
    char *protocol;             /* network: "nbd", "rbd", ... */
    char *name;                 /* network: export, pool/image, ... */
    bc_dest_host *hosts;
    size_t nhosts;
    char *auth_username;        /* network: <auth username=> */
    bc_dest_tls tls;            /* network: <source tls=> */
    char *tls_hostname;         /* network: <source tlsHostname=>, the
                                   name the server's certificate must
                                   carry, if not the host's */
    unsigned int reconnect_delay;   /* network: <reconnect delay=>, the
                                   seconds an NBD client waits for its
                                   server to come back; 0: off */
    char *known_hosts;          /* ssh: <knownHosts path=> */
    char *host_key_sha256;      /* ssh: the SHA-256 of the host's key from
                                   'known_hosts', in hex, once looked up */
    bool has_backing;           /* <backingStore> with a source */
    char *backing_path;
    char *backing_format;
} bc_dest;

void bc_dest_clear(bc_dest *dest);

/*
 * Parse a <disk> element.  No DTD is loaded, no entity is expanded, the
 * network is never touched and input above BC_DEST_XML_MAX is refused.
 * Errors are BC_ERR_XML with the line and column where they can be told.
 */
int bc_dest_parse(const char *xml, size_t len, bc_dest *dest, bc_error *err);

/* The canonical XML for 'dest' (what --print-xml shows); caller frees. */
char *bc_dest_format(const bc_dest *dest, bc_error *err);

/*
 * The blockdev-add options of the protocol layer for 'dest' (the file,
 * block device or network connection), named 'node_name'.  'secret_id'
 * names the QEMU secret object holding the password or key of
 * <auth username=>, if the destination needs one; 'tls_creds' the
 * tls-creds-x509 object, if it uses TLS.  New reference.
 */
json_object *bc_dest_protocol_options(const bc_dest *dest,
                                      const char *node_name,
                                      const char *secret_id,
                                      const char *tls_creds, bc_error *err);

/* True when the connection to the destination is to use TLS (nbd with
 * tls='yes'). */
bool bc_dest_uses_tls(const bc_dest *dest);

/* True when the destination's protocol could use TLS, whether or not
 * the XML asks for it. */
bool bc_dest_can_use_tls(const bc_dest *dest);

/* True when the destination authenticates with a secret (rbd, iscsi). */
bool bc_dest_needs_secret(const bc_dest *dest);

/* True for a format name QEMU can write ("qcow2"). */
bool bc_format_is_writable(const char *format);

/* True when QEMU can create an image on this kind of destination. */
bool bc_dest_can_create(const bc_dest *dest);

/* What the destination's secret file holds (BC_SECRET_NONE: it takes
 * none). */
bc_dest_secret bc_dest_secret_kind(const bc_dest *dest);

/* For a destination on this very machine (ssh to a loopback address),
 * the path of its image here; else NULL. */
const char *bc_dest_local_path(const bc_dest *dest);

/* QEMU's words in the error of opening an image that does not exist on
 * this destination's protocol, or NULL when a creation there is not
 * probed for an existing image first. */
const char *bc_dest_missing_words(const bc_dest *dest);

/* How long (ms) opening or closing an image on the destination may keep
 * QEMU's monitor from answering; 0: no longer than any command. */
int bc_dest_slow_ms(const bc_dest *dest);

/*
 * Where an image is, as "PROTOCOL://HOST:PORT/PATH" with the default
 * port filled in and no leading slash on PATH, so that two names of one
 * image compare equal: of the destination, and of a file name as QEMU
 * reports it (a URL such as "ssh://user@host:port/path", or "json:{...}").
 * NULL for a local file, or for a name that cannot be read.  Caller frees.
 */
char *bc_dest_location(const bc_dest *dest);
char *bc_location_of_filename(const char *filename);

/* The local file or device under a "json:{...}" name QEMU gives a node
 * with options of its own (a raw node limited to a size), or NULL. */
char *bc_local_path_of_filename(const char *filename);

/*
 * Look up the ssh destination's host in its <knownHosts> file (plain,
 * hashed and "[host]:port" entries) and set dest->host_key_sha256.
 * BC_ERR_INVALID_ARG when the file cannot be read or does not know the
 * host.  Does nothing for a destination without <knownHosts>.
 */
int bc_dest_find_host_key(bc_dest *dest, bc_error *err);

/* A short description for messages: the path, or "nbd://host:port/name". */
char *bc_dest_describe(const bc_dest *dest);

#endif /* BC_DISKXML_H */
