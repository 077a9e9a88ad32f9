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

/* A short description for messages: the path, or "nbd://host:port/name". */
char *bc_dest_describe(const bc_dest *dest);

#endif /* BC_DISKXML_H */
