/*
 * The destination <disk> element, as virsh blockcopy --xml reads it.
 *
 * The document comes from a user and may be hostile, so the parser is
 * boxed in: a DOCTYPE stops it at once (no DTD, so no entity can be
 * declared, expanded or fetched), the network is off, and the size is
 * bounded before libxml2 sees a byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "diskxml.h"
#include "jsonutil.h"

/* Formats QEMU can write to.  Anything else is refused by name. */
static const char *const writable_formats[] = {
    "raw", "qcow2", "qed", "vmdk", "vdi", "vhdx", "vpc", NULL
};

/*
 * One row per network protocol: everything the tool knows of it.  The
 * table itself is at the end, after the functions that map each
 * protocol's XML to its blockdev options.  A protocol missing there is
 * unknown; adding one is adding a row.
 */
struct protocol {
    const char *name;           /* <source protocol=> and QEMU's driver */
    const char *port;           /* default port, or NULL: it takes none */
    bool writable;              /* QEMU can write to it */
    bool can_create;            /* blockdev-create works over it */
    bool tls;                   /* the connection can use TLS */
    bool server_path;           /* <source name=> is a path in the
                                   server's file system */
    bc_dest_secret secret;      /* what <auth>'s secret file holds */
    /* QEMU's words when the image to open does not exist, a pattern of
     * fnmatch(3): the existence probe before a creation looks for them.  NULL: not probed, as the
     * protocol cannot create. */
    const char *missing;
    /* How long opening or closing an image may keep the monitor from
     * answering (gluster's close takes about 10 s); 0: the usual. */
    int slow_ms;
    /* Fill 'o' (whose "driver" is set) with the protocol's options. */
    int (*options)(const bc_dest *dest, const char *secret_id,
                   const char *tls_creds, json_object *o, bc_error *err);
    /* Which of QEMU's options, joined by '/', name the image on its
     * server, as <source name=> does: how two names of one image are
     * told to be the same. */
    const char *name_keys;
};

static const struct protocol *find_protocol(const char *name);

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static void host_clear(bc_dest_host *h)
{
    free(h->name);
    free(h->port);
    free(h->transport);
    free(h->socket);
}

void bc_dest_clear(bc_dest *dest)
{
    size_t i;

    if (!dest)
        return;
    free(dest->format);
    free(dest->path);
    free(dest->protocol);
    free(dest->name);
    for (i = 0; i < dest->nhosts; i++)
        host_clear(&dest->hosts[i]);
    free(dest->hosts);
    free(dest->auth_username);
    free(dest->tls_hostname);
    free(dest->known_hosts);
    free(dest->host_key_sha256);
    free(dest->backing_path);
    free(dest->backing_format);
    memset(dest, 0, sizeof(*dest));
}

/* ---- parsing ------------------------------------------------------- */

struct parse_state {
    bool dtd_refused;
    /* The first error is the cause; later ones are its echoes. */
    bool have_error;
    int line, column;
    char message[256];
};

/* libxml2 calls this on <!DOCTYPE ...>, before the internal subset. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
                       const xmlChar *sys)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;

    st->dtd_refused = true;
    xmlStopParser(ctxt);
}

/* Errors are kept, never printed. */
static void keep_error(void *ctx, xmlErrorPtr error)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct parse_state *st = ctxt->_private;
    size_t n;

    if (st->have_error || !error)
        return;
    st->have_error = true;
    st->line = error->line;
    st->column = error->int2;
    bc_strlcpy(st->message, error->message ? error->message : "not well-formed",
               sizeof(st->message));
    n = strlen(st->message);
    while (n && (st->message[n - 1] == '\n' || st->message[n - 1] == ' '))
        st->message[--n] = '\0';
}

static char *attr(xmlNodePtr node, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(node, (const xmlChar *)name);
    char *s;

    if (!v)
        return NULL;
    s = strdup((const char *)v);
    xmlFree(v);
    return s;
}

static bool is_elem(xmlNodePtr node, const char *name)
{
    return node->type == XML_ELEMENT_NODE &&
           strcmp((const char *)node->name, name) == 0;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n;

    for (n = parent->children; n; n = n->next)
        if (is_elem(n, name))
            return n;
    return NULL;
}

static int xml_error(bc_error *err, xmlNodePtr node, const char *fmt, ...)
    BC_PRINTF(3, 4);

static int xml_error(bc_error *err, xmlNodePtr node, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (node && xmlGetLineNo(node) > 0)
        return bc_set_error(err, BC_ERR_XML, "destination XML, line %ld: %s",
                            xmlGetLineNo(node), msg);
    return bc_set_error(err, BC_ERR_XML, "destination XML: %s", msg);
}

static int parse_port(xmlNodePtr node, const char *port, bc_error *err)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(port, &end, 10);
    if (!*port || *end || errno || v < 1 || v > 65535)
        return xml_error(err, node, "port '%s' is out of range (1-65535)",
                         port);
    return 0;
}

static int parse_hosts(xmlNodePtr source, bc_dest *dest, bc_error *err)
{
    xmlNodePtr n;
    size_t count = 0;

    for (n = source->children; n; n = n->next)
        if (is_elem(n, "host"))
            count++;
    if (count == 0)
        return 0;
    if (!(dest->hosts = calloc(count, sizeof(*dest->hosts))))
        return bc_set_error_oom(err);

    for (n = source->children; n; n = n->next) {
        bc_dest_host *h;

        if (!is_elem(n, "host"))
            continue;
        h = &dest->hosts[dest->nhosts++];
        h->name = attr(n, "name");
        h->port = attr(n, "port");
        h->transport = attr(n, "transport");
        h->socket = attr(n, "socket");
        if (h->transport && strcmp(h->transport, "tcp") != 0 &&
            strcmp(h->transport, "unix") != 0 &&
            strcmp(h->transport, "rdma") != 0)
            return xml_error(err, n, "unknown host transport '%s'",
                             h->transport);
        if (h->transport && strcmp(h->transport, "unix") == 0) {
            if (!h->socket || !*h->socket)
                return xml_error(err, n, "host with transport 'unix' has no "
                                 "socket attribute");
            if (h->socket[0] != '/')
                return xml_error(err, n, "host socket '%s' is not an "
                                 "absolute path", h->socket);
        } else {
            if (!h->name || !*h->name)
                return xml_error(err, n, "host has no name attribute");
            if (h->port && parse_port(n, h->port, err) < 0)
                return -1;
        }
    }
    return 0;
}

/*
 * libvirt's tls='yes|no' and tlsHostname= on <source>.  Only a protocol
 * whose connection QEMU can wrap in TLS takes them: a request for TLS
 * that would be dropped silently must not send a disk in the clear.
 */
static int parse_tls(xmlNodePtr source, const struct protocol *proto,
                     bc_dest *dest, bc_error *err)
{
    char *tls = attr(source, "tls");
    int ret = -1;

    dest->tls_hostname = attr(source, "tlsHostname");
    if (!tls)
        dest->tls = BC_DEST_TLS_DEFAULT;
    else if (strcmp(tls, "yes") == 0)
        dest->tls = BC_DEST_TLS_YES;
    else if (strcmp(tls, "no") == 0)
        dest->tls = BC_DEST_TLS_NO;
    else {
        xml_error(err, source, "tls must be 'yes' or 'no', not '%s'", tls);
        goto out;
    }
    if (dest->tls == BC_DEST_TLS_YES && !proto->tls) {
        xml_error(err, source, "protocol '%s' cannot use TLS (tls='yes' is "
                  "for nbd)", proto->name);
        goto out;
    }
    if (dest->tls_hostname) {
        if (!proto->tls) {
            xml_error(err, source, "protocol '%s' cannot use TLS, so it "
                      "takes no tlsHostname", proto->name);
            goto out;
        }
        if (!*dest->tls_hostname) {
            xml_error(err, source, "tlsHostname is empty");
            goto out;
        }
        if (dest->tls != BC_DEST_TLS_YES) {
            xml_error(err, source, "tlsHostname '%s' is given, but TLS is "
                      "not on (add tls='yes')", dest->tls_hostname);
            goto out;
        }
    }
    ret = 0;

 out:
    free(tls);
    return ret;
}

/*
 * <reconnect delay='N'/> in an NBD <source>, as libvirt reads it: QEMU's
 * reconnect-delay, the seconds the client keeps requests waiting while it
 * connects again to a server that went away, instead of failing them at
 * once.  enabled='yes' timeout='N', the form of libvirt's character
 * devices, means the same here: a request to reconnect that is dropped
 * silently would fail a copy that could have survived.
 */
static int parse_reconnect(xmlNodePtr source, bc_dest *dest, bc_error *err)
{
    xmlNodePtr n = child(source, "reconnect");
    char *delay, *enabled, *timeout, *num, *end;
    unsigned long v = 0;
    int ret = -1;

    if (!n)
        return 0;
    delay = attr(n, "delay");
    enabled = attr(n, "enabled");
    timeout = attr(n, "timeout");
    num = delay ? delay : timeout;
    if (strcmp(dest->protocol, "nbd") != 0) {
        xml_error(err, n, "protocol '%s' cannot reconnect (<reconnect> is "
                  "for nbd)", dest->protocol);
        goto out;
    }
    if (delay && (enabled || timeout)) {
        xml_error(err, n, "<reconnect> takes either delay or enabled and "
                  "timeout, not both");
        goto out;
    }
    if (!delay && !enabled) {
        xml_error(err, n, "<reconnect> has no delay attribute");
        goto out;
    }
    if (enabled && strcmp(enabled, "yes") != 0 && strcmp(enabled, "no") != 0) {
        xml_error(err, n, "reconnect enabled must be 'yes' or 'no', not '%s'",
                  enabled);
        goto out;
    }
    if (enabled && strcmp(enabled, "no") == 0 && timeout) {
        xml_error(err, n, "reconnect timeout '%s' is given, but reconnecting "
                  "is off (enabled='no')", timeout);
        goto out;
    }
    if (enabled && strcmp(enabled, "yes") == 0 && !timeout) {
        xml_error(err, n, "<reconnect enabled='yes'> has no timeout "
                  "attribute");
        goto out;
    }
    if (num) {
        errno = 0;
        if (*num >= '0' && *num <= '9')
            v = strtoul(num, &end, 10);
        if (!(*num >= '0' && *num <= '9') || *end || errno ||
            v > 4294967295UL) {
            xml_error(err, n, "reconnect %s '%s' is not a number of seconds "
                      "(0-4294967295)", delay ? "delay" : "timeout", num);
            goto out;
        }
    }
    dest->reconnect_delay = v;
    ret = 0;

 out:
    free(delay);
    free(enabled);
    free(timeout);
    return ret;
}

static int parse_network(xmlNodePtr source, bc_dest *dest, bc_error *err)
{
    const struct protocol *proto;
    xmlNodePtr auth, kh;

    dest->protocol = attr(source, "protocol");
    dest->name = attr(source, "name");
    if (!dest->protocol || !*dest->protocol)
        return xml_error(err, source, "network <source> has no protocol "
                         "attribute");
    if (!(proto = find_protocol(dest->protocol)))
        return xml_error(err, source, "unknown network protocol '%s'",
                         dest->protocol);
    if (!proto->writable)
        return xml_error(err, source, "protocol '%s' is read-only in QEMU "
                         "and cannot be a copy destination", dest->protocol);
    if (!dest->name || !*dest->name) {
        /* An NBD server may export a single unnamed image. */
        if (strcmp(dest->protocol, "nbd") != 0)
            return xml_error(err, source, "network <source> with protocol "
                             "'%s' has no name attribute", dest->protocol);
        free(dest->name);
        dest->name = NULL;
    }
    if (parse_tls(source, proto, dest, err) < 0)
        return -1;
    if (parse_hosts(source, dest, err) < 0)
        return -1;
    if (parse_reconnect(source, dest, err) < 0)
        return -1;
    if (dest->nhosts == 0 && strcmp(dest->protocol, "rbd") != 0)
        return xml_error(err, source, "network <source> with protocol '%s' "
                         "has no <host>", dest->protocol);

    if ((kh = child(source, "knownHosts"))) {
        if (strcmp(dest->protocol, "ssh") != 0)
            return xml_error(err, kh, "<knownHosts> is for protocol 'ssh', "
                             "not '%s'", dest->protocol);
        dest->known_hosts = attr(kh, "path");
        if (!dest->known_hosts || dest->known_hosts[0] != '/')
            return xml_error(err, kh, "<knownHosts> needs a path attribute "
                             "with an absolute path");
    }

    /* libvirt accepts <auth> inside <source> and, in older XML, beside it. */
    auth = child(source, "auth");
    if (!auth && source->parent)
        auth = child(source->parent, "auth");
    if (auth) {
        dest->auth_username = attr(auth, "username");
        if (!dest->auth_username || !*dest->auth_username)
            return xml_error(err, auth, "<auth> has no username attribute");
    }
    return 0;
}

static int parse_backing(xmlNodePtr bs, bc_dest *dest, bc_error *err)
{
    xmlNodePtr src = child(bs, "source"), fmt = child(bs, "format");

    /* An empty <backingStore/> means "no backing file", as in libvirt. */
    if (!src)
        return 0;
    dest->has_backing = true;
    dest->backing_path = attr(src, "file");
    if (!dest->backing_path)
        dest->backing_path = attr(src, "dev");
    if (fmt)
        dest->backing_format = attr(fmt, "type");
    return 0;
}

static int parse_disk(xmlNodePtr root, bc_dest *dest, bc_error *err)
{
    xmlNodePtr source, driver, bs;
    char *type = attr(root, "type");
    int ret = -1;

    if (!type || strcmp(type, "file") == 0) {
        dest->type = BC_DEST_FILE;
    } else if (strcmp(type, "block") == 0) {
        dest->type = BC_DEST_BLOCK;
    } else if (strcmp(type, "network") == 0) {
        dest->type = BC_DEST_NETWORK;
    } else if (strcmp(type, "volume") == 0 || strcmp(type, "dir") == 0) {
        xml_error(err, root, "disk type '%s' cannot be a copy destination "
                  "(use type 'file', 'block' or 'network')", type);
        goto out;
    } else {
        xml_error(err, root, "unknown disk type '%s'", type);
        goto out;
    }

    if (child(root, "readonly")) {
        xml_error(err, child(root, "readonly"),
                  "a copy destination cannot be <readonly/>");
        goto out;
    }
    if (child(root, "shareable")) {
        xml_error(err, child(root, "shareable"),
                  "a copy destination cannot be <shareable/>");
        goto out;
    }

    if ((driver = child(root, "driver"))) {
        dest->format = attr(driver, "type");
        if (dest->format && !in_list(writable_formats, dest->format)) {
            xml_error(err, driver, "unknown or unsupported destination "
                      "format '%s'", dest->format);
            goto out;
        }
    }

    if (!(source = child(root, "source"))) {
        xml_error(err, root, "<disk> has no <source>");
        goto out;
    }
    switch (dest->type) {
    case BC_DEST_FILE:
    case BC_DEST_BLOCK: {
        const char *want = dest->type == BC_DEST_FILE ? "file" : "dev";

        dest->path = attr(source, want);
        if (!dest->path || !*dest->path) {
            xml_error(err, source, "<source> of a disk of type '%s' has no "
                      "%s attribute", dest->type == BC_DEST_FILE ? "file"
                      : "block", want);
            goto out;
        }
        if (dest->path[0] != '/') {
            xml_error(err, source, "destination '%s' is not an absolute path",
                      dest->path);
            goto out;
        }
        break;
    }
    case BC_DEST_NETWORK:
        if (parse_network(source, dest, err) < 0)
            goto out;
        break;
    }

    if ((bs = child(root, "backingStore")) && parse_backing(bs, dest, err) < 0)
        goto out;
    ret = 0;

 out:
    free(type);
    return ret;
}

int bc_dest_parse(const char *xml, size_t len, bc_dest *dest, bc_error *err)
{
    struct parse_state st;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    int ret = -1;

    memset(dest, 0, sizeof(*dest));
    memset(&st, 0, sizeof(st));
    if (len > BC_DEST_XML_MAX)
        return bc_set_error(err, BC_ERR_XML,
                            "destination XML is larger than %d KiB",
                            BC_DEST_XML_MAX / 1024);
    if (len == 0)
        return bc_set_error(err, BC_ERR_XML, "destination XML is empty");

    if (!(ctxt = xmlNewParserCtxt()))
        return bc_set_error_oom(err);
    ctxt->_private = &st;
    ctxt->sax->internalSubset = refuse_dtd;
    ctxt->sax->externalSubset = refuse_dtd;
    ctxt->sax->serror = keep_error;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;

    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (st.dtd_refused) {
        bc_set_error(err, BC_ERR_XML, "destination XML, line %d: a DOCTYPE "
                     "(DTD) is not allowed in a destination document",
                     ctxt->input ? ctxt->input->line : 0);
        goto out;
    }
    if (!doc || !ctxt->wellFormed) {
        bc_set_error(err, BC_ERR_XML,
                     "destination XML is not well-formed, line %d, column "
                     "%d: %s", st.line, st.column,
                     st.have_error ? st.message : "not well-formed");
        goto out;
    }

    root = xmlDocGetRootElement(doc);
    if (!root || !is_elem(root, "disk")) {
        bc_set_error(err, BC_ERR_XML,
                     "destination XML: root element is <%s>, expected <disk>",
                     root ? (const char *)root->name : "");
        goto out;
    }
    if (parse_disk(root, dest, err) < 0)
        goto out;
    ret = 0;

 out:
    if (ret < 0)
        bc_dest_clear(dest);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return ret;
}

/* ---- formatting ---------------------------------------------------- */

static void set_prop(xmlNodePtr node, const char *name, const char *value)
{
    if (value)
        xmlNewProp(node, (const xmlChar *)name, (const xmlChar *)value);
}

static xmlNodePtr new_child(xmlNodePtr parent, const char *name)
{
    return xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
}

char *bc_dest_format(const bc_dest *dest, bc_error *err)
{
    static const char *const types[] = { "file", "block", "network" };
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root, src, n;
    xmlBufferPtr buf = NULL;
    xmlSaveCtxtPtr save;
    char *out = NULL;
    size_t i;

    if (!doc)
        goto oom;
    root = xmlNewNode(NULL, (const xmlChar *)"disk");
    xmlDocSetRootElement(doc, root);
    set_prop(root, "type", types[dest->type]);
    if (dest->format) {
        n = new_child(root, "driver");
        set_prop(n, "type", dest->format);
    }
    src = new_child(root, "source");
    switch (dest->type) {
    case BC_DEST_FILE:
        set_prop(src, "file", dest->path);
        break;
    case BC_DEST_BLOCK:
        set_prop(src, "dev", dest->path);
        break;
    case BC_DEST_NETWORK:
        set_prop(src, "protocol", dest->protocol);
        set_prop(src, "name", dest->name);
        if (dest->tls != BC_DEST_TLS_DEFAULT)
            set_prop(src, "tls", dest->tls == BC_DEST_TLS_YES ? "yes" : "no");
        set_prop(src, "tlsHostname", dest->tls_hostname);
        for (i = 0; i < dest->nhosts; i++) {
            n = new_child(src, "host");
            set_prop(n, "name", dest->hosts[i].name);
            set_prop(n, "port", dest->hosts[i].port);
            set_prop(n, "transport", dest->hosts[i].transport);
            set_prop(n, "socket", dest->hosts[i].socket);
        }
        if (dest->auth_username) {
            n = new_child(src, "auth");
            set_prop(n, "username", dest->auth_username);
        }
        if (dest->reconnect_delay) {
            char delay[16];

            snprintf(delay, sizeof(delay), "%u", dest->reconnect_delay);
            n = new_child(src, "reconnect");
            set_prop(n, "delay", delay);
        }
        if (dest->known_hosts) {
            n = new_child(src, "knownHosts");
            set_prop(n, "path", dest->known_hosts);
        }
        break;
    }
    if (dest->has_backing) {
        xmlNodePtr bs = new_child(root, "backingStore");

        set_prop(bs, "type", "file");
        if (dest->backing_format) {
            n = new_child(bs, "format");
            set_prop(n, "type", dest->backing_format);
        }
        n = new_child(bs, "source");
        set_prop(n, "file", dest->backing_path);
    }

    if (!(buf = xmlBufferCreate()))
        goto oom;
    save = xmlSaveToBuffer(buf, NULL, XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    if (!save)
        goto oom;
    xmlSaveTree(save, root);
    xmlSaveClose(save);
    if (!(out = strdup((const char *)xmlBufferContent(buf))))
        goto oom;
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    return out;

 oom:
    if (buf)
        xmlBufferFree(buf);
    xmlFreeDoc(doc);
    bc_set_error_oom(err);
    return NULL;
}

/* ---- mapping to QEMU ----------------------------------------------- */

bool bc_format_is_writable(const char *format)
{
    return format && in_list(writable_formats, format);
}


static const char *host_port(const bc_dest_host *h, const char *def)
{
    return h->port ? h->port : def;
}

static bool host_is_unix(const bc_dest_host *h)
{
    return h->transport && strcmp(h->transport, "unix") == 0;
}

/* A QAPI SocketAddress for one host. */
static json_object *socket_address(const bc_dest_host *h, const char *port)
{
    json_object *o = json_object_new_object();

    if (host_is_unix(h)) {
        bc_json_add_str(o, "type", "unix");
        bc_json_add_str(o, "path", h->socket);
    } else {
        bc_json_add_str(o, "type", "inet");
        bc_json_add_str(o, "host", h->name);
        bc_json_add_str(o, "port", host_port(h, port));
    }
    return o;
}

/* Split "a/b" at the first slash into two new strings. */
static int split_name(const bc_dest *dest, const char *what, char **first,
                      char **rest, bc_error *err)
{
    const char *slash = dest->name ? strchr(dest->name, '/') : NULL;

    if (!slash || slash == dest->name || !slash[1])
        return bc_set_error(err, BC_ERR_XML,
                            "destination XML: %s name '%s' must be '%s'",
                            dest->protocol, dest->name ? dest->name : "",
                            what);
    *first = strndup(dest->name, slash - dest->name);
    *rest = strdup(slash + 1);
    if (!*first || !*rest) {
        free(*first);
        free(*rest);
        return bc_set_error_oom(err);
    }
    return 0;
}

/* <source name='A/B'> as QEMU's options: 'keys' names both ("pool/image"
 * gives "pool": A and "image": B). */
static int add_split_name(const bc_dest *dest, const char *keys,
                          json_object *o, bc_error *err)
{
    const char *slash = strchr(keys, '/');
    char key[32], *a, *b;

    if (split_name(dest, keys, &a, &b, err) < 0)
        return -1;
    snprintf(key, sizeof(key), "%.*s", (int)(slash - keys), keys);
    bc_json_add_str(o, key, a);
    bc_json_add_str(o, slash + 1, b);
    free(a);
    free(b);
    return 0;
}

bool bc_dest_uses_tls(const bc_dest *dest)
{
    return dest->type == BC_DEST_NETWORK && dest->tls == BC_DEST_TLS_YES;
}

static int nbd_options(const bc_dest *dest, const char *secret_id,
                       const char *tls_creds, json_object *o, bc_error *err)
{
    if (dest->nhosts != 1)
        return bc_set_error(err, BC_ERR_XML, "destination XML: nbd takes "
                            "exactly one <host>, not %zu", dest->nhosts);
    bc_json_add(o, "server", socket_address(&dest->hosts[0],
                                            find_protocol("nbd")->port));
    bc_json_add_str(o, "export", dest->name);
    if (bc_dest_uses_tls(dest)) {
        if (!tls_creds)
            return bc_set_error(err, BC_ERR_INTERNAL, "destination '%s' "
                                "uses TLS, but has no credentials",
                                dest->name ? dest->name : "");
        bc_json_add_str(o, "tls-creds", tls_creds);
        /* Without it QEMU checks the certificate against the host
         * name of a TCP address, and checks no name over a unix
         * socket. */
        if (dest->tls_hostname)
            bc_json_add_str(o, "tls-hostname", dest->tls_hostname);
    }
    if (dest->reconnect_delay)
        bc_json_add_int(o, "reconnect-delay", dest->reconnect_delay);
    return 0;
}

static int rbd_options(const bc_dest *dest, const char *secret_id,
                       const char *tls_creds, json_object *o, bc_error *err)
{
    json_object *servers;
    size_t i;

    if (add_split_name(dest, "pool/image", o, err) < 0)
        return -1;
    if (dest->nhosts) {
        servers = json_object_new_array();
        for (i = 0; i < dest->nhosts; i++) {
            json_object *s = json_object_new_object();

            bc_json_add_str(s, "host", dest->hosts[i].name);
            bc_json_add_str(s, "port", host_port(&dest->hosts[i],
                                                 find_protocol("rbd")->port));
            json_object_array_add(servers, s);
        }
        bc_json_add(o, "server", servers);
    }
    if (dest->auth_username) {
        json_object *modes = json_object_new_array();

        bc_json_add_str(o, "user", dest->auth_username);
        json_object_array_add(modes, json_object_new_string("cephx"));
        bc_json_add(o, "auth-client-required", modes);
        bc_json_add_str(o, "key-secret", secret_id);
    }
    return 0;
}

static int gluster_options(const bc_dest *dest, const char *secret_id,
                           const char *tls_creds, json_object *o,
                           bc_error *err)
{
    json_object *servers;
    size_t i;

    if (add_split_name(dest, "volume/path", o, err) < 0)
        return -1;
    servers = json_object_new_array();
    for (i = 0; i < dest->nhosts; i++)
        json_object_array_add(servers,
                              socket_address(&dest->hosts[i],
                                             find_protocol("gluster")->port));
    bc_json_add(o, "server", servers);
    return 0;
}

static int tcp_host(const bc_dest *dest, const bc_dest_host **h,
                    bc_error *err)
{
    *h = &dest->hosts[0];
    if (host_is_unix(*h))
        return bc_set_error(err, BC_ERR_XML, "destination XML: %s needs a "
                            "TCP host", dest->protocol);
    return 0;
}

static int iscsi_options(const bc_dest *dest, const char *secret_id,
                         const char *tls_creds, json_object *o, bc_error *err)
{
    const bc_dest_host *h;
    char portal[512];
    char *a, *b, *end;
    long lun;

    if (tcp_host(dest, &h, err) < 0 ||
        split_name(dest, "target-iqn/lun", &a, &b, err) < 0)
        return -1;
    errno = 0;
    lun = strtol(b, &end, 10);
    if (!*b || *end || errno || lun < 0 || lun > 255) {
        bc_set_error(err, BC_ERR_XML, "destination XML: iscsi LUN '%s' is "
                     "not a number in 0-255", b);
        free(a);
        free(b);
        return -1;
    }
    snprintf(portal, sizeof(portal), strchr(h->name, ':') ? "[%s]:%s"
             : "%s:%s", h->name, host_port(h, find_protocol("iscsi")->port));
    bc_json_add_str(o, "transport", "tcp");
    bc_json_add_str(o, "portal", portal);
    bc_json_add_str(o, "target", a);
    bc_json_add_int(o, "lun", lun);
    free(a);
    free(b);
    if (dest->auth_username) {
        bc_json_add_str(o, "user", dest->auth_username);
        bc_json_add_str(o, "password-secret", secret_id);
    }
    return 0;
}

static int ssh_options(const bc_dest *dest, const char *secret_id,
                       const char *tls_creds, json_object *o, bc_error *err)
{
    const bc_dest_host *h;
    json_object *server, *check;

    if (tcp_host(dest, &h, err) < 0)
        return -1;
    server = json_object_new_object();
    bc_json_add_str(server, "host", h->name);
    bc_json_add_str(server, "port", host_port(h, find_protocol("ssh")->port));
    if (dest->auth_username)
        bc_json_add_str(o, "user", dest->auth_username);
    bc_json_add(o, "server", server);
    bc_json_add_str(o, "path", dest->name);
    /* The key of <knownHosts>, as the tool found it: QEMU itself reads
     * only the known_hosts file of its own user. */
    if (dest->host_key_sha256) {
        check = json_object_new_object();
        bc_json_add_str(check, "mode", "hash");
        bc_json_add_str(check, "type", "sha256");
        bc_json_add_str(check, "hash", dest->host_key_sha256);
        bc_json_add(o, "host-key-check", check);
    }
    return 0;
}

static int nfs_options(const bc_dest *dest, const char *secret_id,
                       const char *tls_creds, json_object *o, bc_error *err)
{
    const bc_dest_host *h;
    json_object *server;

    if (tcp_host(dest, &h, err) < 0)
        return -1;
    server = json_object_new_object();
    bc_json_add_str(server, "type", "inet");
    bc_json_add_str(server, "host", h->name);
    bc_json_add(o, "server", server);
    bc_json_add_str(o, "path", dest->name);
    return 0;
}
json_object *bc_dest_protocol_options(const bc_dest *dest,
                                      const char *node_name,
                                      const char *secret_id,
                                      const char *tls_creds, bc_error *err)
{
    json_object *o = json_object_new_object();

    if (!o) {
        bc_set_error_oom(err);
        return NULL;
    }
    if (node_name)
        bc_json_add_str(o, "node-name", node_name);
    switch (dest->type) {
    case BC_DEST_FILE:
        bc_json_add_str(o, "driver", "file");
        bc_json_add_str(o, "filename", dest->path);
        break;
    case BC_DEST_BLOCK:
        bc_json_add_str(o, "driver", "host_device");
        bc_json_add_str(o, "filename", dest->path);
        break;
    case BC_DEST_NETWORK:
        bc_json_add_str(o, "driver", dest->protocol);
        if (find_protocol(dest->protocol)->options(dest, secret_id, tls_creds,
                                                   o, err) < 0) {
            json_object_put(o);
            return NULL;
        }
        break;
    }
    return o;
}

char *bc_dest_describe(const bc_dest *dest)
{
    const bc_dest_host *h;
    char *s = NULL;
    int rc;

    if (dest->type != BC_DEST_NETWORK)
        return strdup(dest->path);
    h = dest->nhosts ? &dest->hosts[0] : NULL;
    if (h && host_is_unix(h))
        rc = asprintf(&s, "%s+unix:///%s?socket=%s", dest->protocol,
                      dest->name ? dest->name : "", h->socket);
    else if (h)
        rc = asprintf(&s, "%s://%s%s%s%s%s", dest->protocol, h->name,
                      h->port ? ":" : "", h->port ? h->port : "",
                      dest->name && dest->name[0] == '/' ? "" : "/",
                      dest->name ? dest->name : "");
    else
        rc = asprintf(&s, "%s:%s", dest->protocol, dest->name);
    return rc < 0 ? NULL : s;
}

/* ---- public helpers ------------------------------------------------ */

char *bc_dest_xml_from_path(const char *path, const char *format, bool block,
                            bc_error *err)
{
    bc_dest dest;
    char *xml = NULL;

    memset(&dest, 0, sizeof(dest));
    if (!path || !*path) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "no destination given");
        return NULL;
    }
    if (path[0] != '/') {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "destination '%s' is not an absolute path", path);
        return NULL;
    }
    if (format && !bc_format_is_writable(format)) {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "unknown or unsupported destination format '%s'", format);
        return NULL;
    }
    dest.type = block ? BC_DEST_BLOCK : BC_DEST_FILE;
    dest.path = (char *)path;
    dest.format = (char *)format;
    xml = bc_dest_format(&dest, err);
    return xml;
}

char *bc_dest_xml_canonical(const char *xml, bc_error *err)
{
    bc_dest dest;
    char *out;

    if (!xml) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "no destination XML given");
        return NULL;
    }
    if (bc_dest_parse(xml, strlen(xml), &dest, err) < 0)
        return NULL;
    out = bc_dest_format(&dest, err);
    bc_dest_clear(&dest);
    return out;
}

/* ---- the protocols ------------------------------------------------- */

static const struct protocol protocols[] = {
    { .name = "nbd", .port = "10809", .writable = true, .tls = true,
      .options = nbd_options, .name_keys = "export" },
    /* Creating an image that exists fails with EEXIST, but only once
     * the copy is under way: probed like the others. */
    { .name = "rbd", .port = "6789", .writable = true, .can_create = true,
      .secret = BC_SECRET_BASE64,
      .missing = "*error reading header from *: No such file or directory*",
      .options = rbd_options, .name_keys = "pool/image" },
    { .name = "gluster", .port = "24007", .writable = true,
      .can_create = true, .missing = "*No such file or directory*",
      .slow_ms = 20000,
      .options = gluster_options, .name_keys = "volume/path" },
    /* LUNs are made on the target, never by QEMU. */
    { .name = "iscsi", .port = "3260", .writable = true,
      .secret = BC_SECRET_RAW,
      .options = iscsi_options, .name_keys = "target/lun" },
    /* SSH_FX_NO_SUCH_FILE is SFTP's error code 2. */
    { .name = "ssh", .port = "22", .writable = true, .can_create = true,
      .server_path = true, .missing = "*sftp error code: 2)*",
      .options = ssh_options, .name_keys = "path" },
    /* libnfs asks the portmapper: there is no port to give. */
    { .name = "nfs", .writable = true, .can_create = true,
      .missing = "*NFS3ERR_NOENT*",
      .options = nfs_options, .name_keys = "path" },
    /* Read-only in QEMU: refused as destinations. */
    { .name = "http", .port = "80" },
    { .name = "https", .port = "443" },
    { .name = "ftp", .port = "21" },
    { .name = "ftps", .port = "990" },
    { .name = "tftp", .port = "69" },
};

static const struct protocol *find_protocol(const char *name)
{
    size_t i;

    for (i = 0; name && i < BC_ARRAY_SIZE(protocols); i++)
        if (strcmp(protocols[i].name, name) == 0)
            return &protocols[i];
    return NULL;
}

static const struct protocol *dest_protocol(const bc_dest *dest)
{
    return dest->type == BC_DEST_NETWORK ? find_protocol(dest->protocol)
                                         : NULL;
}

bool bc_dest_can_create(const bc_dest *dest)
{
    return dest->type == BC_DEST_FILE ||
           (dest_protocol(dest) && dest_protocol(dest)->can_create);
}

bool bc_dest_needs_secret(const bc_dest *dest)
{
    return dest->auth_username && bc_dest_secret_kind(dest) != BC_SECRET_NONE;
}

bc_dest_secret bc_dest_secret_kind(const bc_dest *dest)
{
    return dest_protocol(dest) ? dest_protocol(dest)->secret
                               : BC_SECRET_NONE;
}

bool bc_dest_can_use_tls(const bc_dest *dest)
{
    return dest_protocol(dest) && dest_protocol(dest)->tls;
}

const char *bc_dest_local_path(const bc_dest *dest)
{
    static const char *const loopback[] = {
        "localhost", "127.0.0.1", "::1", "localhost6", NULL
    };
    const bc_dest_host *h = dest->nhosts ? &dest->hosts[0] : NULL;

    if (!dest_protocol(dest) || !dest_protocol(dest)->server_path || !h ||
        host_is_unix(h) || !h->name || !in_list(loopback, h->name) ||
        !dest->name || dest->name[0] != '/')
        return NULL;
    return dest->name;
}

const char *bc_dest_missing_words(const bc_dest *dest)
{
    return dest_protocol(dest) ? dest_protocol(dest)->missing : NULL;
}

int bc_dest_slow_ms(const bc_dest *dest)
{
    return dest_protocol(dest) ? dest_protocol(dest)->slow_ms : 0;
}

/* ---- where an image is --------------------------------------------- */

static char *location(const char *proto, const char *host, const char *port,
                      const char *path)
{
    const struct protocol *p = find_protocol(proto);
    char *s;

    if (!p || !host || !path)
        return NULL;
    if (!port || !*port)
        port = p->port ? p->port : "";
    while (*path == '/')
        path++;
    if (asprintf(&s, strchr(host, ':') ? "%s://[%s]:%s/%s" : "%s://%s:%s/%s",
                 proto, host, port, path) < 0)
        return NULL;
    return s;
}

char *bc_dest_location(const bc_dest *dest)
{
    const bc_dest_host *h;

    if (dest->type != BC_DEST_NETWORK || !dest->nhosts)
        return NULL;
    h = &dest->hosts[0];
    return location(dest->protocol, host_is_unix(h) ? h->socket : h->name,
                    host_is_unix(h) ? "" : h->port,
                    dest->name ? dest->name : "");
}

/* A member of a QEMU options dict, nested ("server": {"host": ...}) or
 * flattened ("server.host"), as a string. */
static const char *opt(json_object *o, const char *key)
{
    json_object *v;

    if (json_object_object_get_ex(o, key, &v) &&
        (json_object_is_type(v, json_type_string) ||
         json_object_is_type(v, json_type_int)))
        return json_object_get_string(v);
    return NULL;
}

/* The values of 'keys' ("volume/path") in 'o', joined by '/'. */
static char *json_name(json_object *o, const char *keys)
{
    char *name, *key, *k, *save = NULL, *n;

    /* A read-only protocol is never a destination. */
    if (!keys)
        return NULL;
    name = strdup("");
    key = strdup(keys);
    if (!name || !key) {
        free(name);
        free(key);
        return NULL;
    }

    for (k = strtok_r(key, "/", &save); k && name;
         k = strtok_r(NULL, "/", &save)) {
        if (asprintf(&n, "%s%s%s", name, *name ? "/" : "",
                     opt(o, k) ? opt(o, k) : "") < 0)
            n = NULL;
        free(name);
        name = n;
    }
    free(key);
    return name;
}

/* Down from the format layers of a "json:" name's options to the node
 * that reaches the image: the first whose "file" is no node of options. */
static json_object *protocol_layer(json_object *o)
{
    json_object *f;
    int depth;

    for (depth = 0; o && depth < 16; depth++) {
        if (!json_object_object_get_ex(o, "file", &f) ||
            !json_object_is_type(f, json_type_object))
            return o;
        o = f;
    }
    return NULL;
}

char *bc_local_path_of_filename(const char *filename)
{
    json_object *root, *o;
    const char *drv, *path;
    char *ret = NULL;

    if (!filename || !bc_str_has_prefix(filename, "json:") ||
        !(root = json_tokener_parse(filename + 5)))
        return NULL;
    o = protocol_layer(root);
    drv = opt(o, "driver");
    path = opt(o, "filename");
    if (drv && path && path[0] == '/' &&
        (!strcmp(drv, "file") || !strcmp(drv, "host_device") ||
         !strcmp(drv, "host_cdrom")))
        ret = strdup(path);
    json_object_put(root);
    return ret;
}

static char *json_location(const char *text)
{
    json_object *root = json_tokener_parse(text), *o, *srv;
    const char *drv, *host, *port, *portal;
    char key[64], *full = NULL, *name = NULL, *loc = NULL;

    o = protocol_layer(root);
    if (!(drv = opt(o, "driver")) || !find_protocol(drv))
        goto out;
    srv = NULL;
    if (json_object_object_get_ex(o, "server", &srv) &&
        json_object_is_type(srv, json_type_array))
        srv = json_object_array_get_idx(srv, 0);
    if (srv) {
        host = opt(srv, "host") ? opt(srv, "host") : opt(srv, "path");
        port = opt(srv, "port");
    } else {
        snprintf(key, sizeof(key), "server%s.host",
                 opt(o, "server.0.host") ? ".0" : "");
        host = opt(o, key);
        snprintf(key, sizeof(key), "server%s.port",
                 opt(o, "server.0.host") ? ".0" : "");
        port = opt(o, key);
    }
    /* iscsi names its server "portal": "host:port" or "[v6]:port". */
    if (!host && (portal = opt(o, "portal")) && (full = strdup(portal))) {
        char *colon;

        host = full;
        if (full[0] == '[' && (colon = strchr(full, ']'))) {
            host = full + 1;
            *colon++ = '\0';
            if (*colon == ':')
                port = portal + (colon + 1 - full);
        } else if ((colon = strrchr(full, ':'))) {
            *colon = '\0';
            port = portal + (colon + 1 - full);
        }
    }
    if ((name = json_name(o, find_protocol(drv)->name_keys)))
        loc = location(drv, host, port, name);

 out:
    free(name);
    free(full);
    json_object_put(root);
    return loc;
}

/* "scheme[+transport]://[user@]host[:port]/path[?query]" */
static char *url_location(const char *url)
{
    const char *sep = strstr(url, "://"), *h, *end, *colon, *sock;
    char proto[32], *host = NULL, *port = NULL, *path = NULL, *loc = NULL;
    size_t n;

    if (!sep || (n = strcspn(url, "+:")) >= sizeof(proto))
        return NULL;
    memcpy(proto, url, n);
    proto[n] = '\0';
    h = sep + 3;
    end = h + strcspn(h, "/?");
    if (memchr(h, '@', end - h))
        h = (const char *)memchr(h, '@', end - h) + 1;
    colon = h[0] == '[' ? memchr(h, ']', end - h) : h;
    colon = colon ? memchr(colon, ':', end - colon) : NULL;
    host = strndup(h[0] == '[' ? h + 1 : h,
                   (colon ? colon : end) - h - (h[0] == '[' ? 2 : 0));
    port = colon ? strndup(colon + 1, end - colon - 1) : NULL;
    path = strndup(end, strcspn(end, "?"));
    /* "nbd+unix:///export?socket=PATH": the socket is the host. */
    if ((sock = strstr(end, "?socket=")) || (sock = strstr(end, "&socket="))) {
        free(host);
        host = strndup(sock + 8, strcspn(sock + 8, "&"));
    }
    if (host && path)
        loc = location(proto, host, port, path);
    free(host);
    free(port);
    free(path);
    return loc;
}

char *bc_location_of_filename(const char *filename)
{
    if (!filename)
        return NULL;
    if (bc_str_has_prefix(filename, "json:"))
        return json_location(filename + 5);
    return url_location(filename);
}
