/*
 * Target names: vda, vdb, ... for virtio-blk disks in PCI address order;
 * sda, ... for SCSI and SATA disks in controller/bus/target/lun order;
 * hda-hdd for IDE on the PC machine's controller, by position.
 *
 * QEMU knows nothing of these names; they are worked out from the device
 * tree in QOM.  PCI address order is bus number, then slot and function,
 * where firmware numbers buses depth first: so a device sorts by the
 * chain of bridge addresses above it (shorter chains first), then by its
 * own devfn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "jsonutil.h"

#define MAX_DEPTH 8
#define MAX_KEY 16

/* Answers of qom-get, remembered for one listing: disks share
 * controllers and bridges. */
struct qom_entry {
    char *path;
    char *prop;
    json_object *val;           /* NULL: the property does not exist */
};

struct qom_cache {
    bc_conn *conn;
    struct qom_entry *e;
    size_t n, cap;
};

static json_object *qom_get(struct qom_cache *c, const char *path,
                            const char *prop)
{
    json_object *args, *val = NULL;
    struct qom_entry *e;
    size_t i;

    for (i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].path, path) && !strcmp(c->e[i].prop, prop))
            return c->e[i].val;
    args = json_object_new_object();
    bc_json_add_str(args, "path", path);
    bc_json_add_str(args, "property", prop);
    /* A missing property is an answer too, not an error. */
    if (bc_conn_query(c->conn, "qom-get", args, &val, NULL) < 0)
        val = NULL;
    if (c->n == c->cap) {
        size_t want = c->cap ? c->cap * 2 : 16;
        struct qom_entry *grown = realloc(c->e, want * sizeof(*grown));

        if (!grown)
            return val ? (json_object_put(val), NULL) : NULL;
        c->e = grown;
        c->cap = want;
    }
    e = &c->e[c->n];
    if (!(e->path = strdup(path)) || !(e->prop = strdup(prop))) {
        free(e->path);
        json_object_put(val);
        return NULL;
    }
    e->val = val;
    c->n++;
    return val;
}

static const char *qom_str(struct qom_cache *c, const char *path,
                           const char *prop)
{
    json_object *v = qom_get(c, path, prop);

    return v && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

static int qom_int(struct qom_cache *c, const char *path, const char *prop,
                   int def)
{
    json_object *v = qom_get(c, path, prop);

    return v && json_object_is_type(v, json_type_int) ? json_object_get_int(v)
                                                      : def;
}

static void cache_clear(struct qom_cache *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->e[i].path);
        free(c->e[i].prop);
        json_object_put(c->e[i].val);
    }
    free(c->e);
}

/* The directory part of a QOM path, in 'buf'. */
static const char *dirname_of(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;

    if (n >= len)
        n = len - 1;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return buf;
}

static void strip_suffix(char *s, const char *suffix)
{
    size_t len = strlen(s), slen = strlen(suffix);

    if (len > slen && !strcmp(s + len - slen, suffix))
        s[len - slen] = '\0';
}

/* The QOM path of the device behind query-block's "qdev". */
static char *device_path(const char *qdev)
{
    char *p;

    if (!strchr(qdev, '/')) {
        if (asprintf(&p, "/machine/peripheral/%s", qdev) < 0)
            return NULL;
        return p;
    }
    if ((p = strdup(qdev)))
        strip_suffix(p, "/virtio-backend");
    return p;
}

/* A sort key: the bridge chain above the PCI device, its devfn, and a
 * tail (SCSI channel/target/lun, or SATA port/unit). */
struct key {
    int chain[MAX_DEPTH];
    int nchain;
    int devfn;
    int tail[3];
    int ntail;
};

/* Fill the PCI part of 'k' for the device at 'path'.  False if it is not
 * a PCI device. */
static bool pci_key(struct qom_cache *c, const char *path, struct key *k)
{
    char cur[512], buf[512];
    int chain[MAX_DEPTH], n = 0, i;

    snprintf(cur, sizeof(cur), "%s", path);
    k->devfn = qom_int(c, cur, "addr", -1);
    if (k->devfn < 0)
        return false;
    while (n < MAX_DEPTH) {
        const char *bus = qom_str(c, cur, "parent_bus");
        int addr;

        if (!bus)
            break;
        dirname_of(bus, buf, sizeof(buf));
        /* The host bridge has no PCI address: the root is reached. */
        if ((addr = qom_int(c, buf, "addr", -1)) < 0)
            break;
        chain[n++] = addr;
        snprintf(cur, sizeof(cur), "%s", buf);
    }
    /* Collected bottom up; the key wants the root first. */
    k->nchain = n;
    for (i = 0; i < n; i++)
        k->chain[i] = chain[n - 1 - i];
    return true;
}

static int cmp_key(const struct key *a, const struct key *b)
{
    int i;

    for (i = 0; i < a->nchain && i < b->nchain; i++)
        if (a->chain[i] != b->chain[i])
            return a->chain[i] < b->chain[i] ? -1 : 1;
    if (a->nchain != b->nchain)
        return a->nchain < b->nchain ? -1 : 1;
    if (a->devfn != b->devfn)
        return a->devfn < b->devfn ? -1 : 1;
    for (i = 0; i < a->ntail && i < b->ntail; i++)
        if (a->tail[i] != b->tail[i])
            return a->tail[i] < b->tail[i] ? -1 : 1;
    return a->ntail - b->ntail;
}

/* "vd" + 0 -> "vda", 25 -> "vdz", 26 -> "vdaa", as libvirt counts. */
static char *index_name(const char *prefix, int idx)
{
    char letters[8];
    int n = 0, i;
    char *s;

    for (; idx >= 0 && n < 7; idx = idx / 26 - 1)
        letters[n++] = (char)('a' + idx % 26);
    s = malloc(strlen(prefix) + n + 1);
    if (!s)
        return NULL;
    strcpy(s, prefix);
    for (i = 0; i < n; i++)
        s[strlen(prefix) + i] = letters[n - 1 - i];
    s[strlen(prefix) + n] = '\0';
    return s;
}

enum cls { CLS_NONE, CLS_VD, CLS_SD, CLS_HD, CLS_FD };

struct item {
    bc_disk *disk;
    enum cls cls;
    struct key key;
    int fixed;                  /* hd/fd: the index itself, else -1 */
};

/* The number after the last '.' of a bus name ("ide.2" -> 2). */
static int bus_index(const char *bus)
{
    const char *dot = strrchr(bus, '.');

    return dot ? atoi(dot + 1) : 0;
}

static void classify(struct qom_cache *c, struct item *it)
{
    bc_disk *d = it->disk;
    char *path = d->qdev ? device_path(d->qdev) : NULL;
    const char *type, *bus;
    char ctrl[512];

    it->cls = CLS_NONE;
    it->fixed = -1;
    memset(&it->key, 0, sizeof(it->key));
    if (!path || !(type = qom_str(c, path, "type")))
        goto out;

    if (bc_str_has_prefix(type, "virtio-blk")) {
        if (pci_key(c, path, &it->key)) {
            it->cls = CLS_VD;
            d->bus = strdup("virtio");
        }
    } else if (bc_str_has_prefix(type, "scsi-")) {
        if (!(bus = qom_str(c, path, "parent_bus")))
            goto out;
        /* virtio-scsi's bus hangs off its virtio-backend child. */
        dirname_of(bus, ctrl, sizeof(ctrl));
        strip_suffix(ctrl, "/virtio-backend");
        if (!pci_key(c, ctrl, &it->key))
            goto out;
        it->key.tail[0] = qom_int(c, path, "channel", 0);
        it->key.tail[1] = qom_int(c, path, "scsi-id", 0);
        it->key.tail[2] = qom_int(c, path, "lun", 0);
        it->key.ntail = 3;
        it->cls = CLS_SD;
        d->bus = strdup("scsi");
    } else if (bc_str_has_prefix(type, "ide-")) {
        const char *ctype;

        if (!(bus = qom_str(c, path, "parent_bus")))
            goto out;
        dirname_of(bus, ctrl, sizeof(ctrl));
        ctype = qom_str(c, ctrl, "type");
        if (ctype && bc_str_has_prefix(ctype, "piix")) {
            it->cls = CLS_HD;
            it->fixed = bus_index(bus) * 2 + qom_int(c, path, "unit", 0);
            d->bus = strdup("ide");
        } else if (pci_key(c, ctrl, &it->key)) {
            it->key.tail[0] = bus_index(bus);
            it->key.tail[1] = qom_int(c, path, "unit", 0);
            it->key.tail[2] = 0;
            it->key.ntail = 3;
            it->cls = CLS_SD;
            d->bus = strdup("sata");
        }
    } else if (!strcmp(type, "floppy")) {
        it->cls = CLS_FD;
        it->fixed = qom_int(c, path, "unit", 0);
        d->bus = strdup("fdc");
    }
 out:
    free(path);
}

static int cmp_item(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;

    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return cmp_key(&a->key, &b->key);
}

void bc_disks_name_targets(bc_conn *conn, bc_disk *disks, size_t n)
{
    static const char *const prefix[] = { "", "vd", "sd", "hd", "fd" };
    struct qom_cache cache = { conn, NULL, 0, 0 };
    struct item *items = calloc(n ? n : 1, sizeof(*items));
    int counter[5] = { 0 };
    size_t i;

    if (!items)
        return;
    for (i = 0; i < n; i++) {
        items[i].disk = &disks[i];
        classify(&cache, &items[i]);
    }
    qsort(items, n, sizeof(*items), cmp_item);
    for (i = 0; i < n; i++) {
        struct item *it = &items[i];
        int idx;

        if (it->cls == CLS_NONE)
            continue;
        idx = it->fixed >= 0 ? it->fixed : counter[it->cls]++;
        free(it->disk->target);
        it->disk->target = index_name(prefix[it->cls], idx);
    }
    free(items);
    cache_clear(&cache);
}

/* vda before vdb before vdaa, then sd*, hd*, fd*, then disks without a
 * target name in the order QEMU lists them. */
static int target_rank(const char *t)
{
    static const char *const order[] = { "vd", "sd", "hd", "fd" };
    size_t i;

    for (i = 0; t && i < BC_ARRAY_SIZE(order); i++)
        if (!strncmp(t, order[i], 2))
            return (int)i;
    return 9;
}

static int cmp_target(const void *pa, const void *pb)
{
    const bc_disk *a = pa, *b = pb;
    int ra = target_rank(a->target), rb = target_rank(b->target);

    if (ra != rb)
        return ra - rb;
    if (!a->target || !b->target)
        return a->index - b->index;
    if (strlen(a->target) != strlen(b->target))
        return strlen(a->target) < strlen(b->target) ? -1 : 1;
    return strcmp(a->target, b->target);
}

void bc_disks_sort(bc_disk *disks, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        disks[i].index = (int)i;
    /* A VM without disks has no array, and qsort() wants one. */
    if (n > 1)
        qsort(disks, n, sizeof(*disks), cmp_target);
}
