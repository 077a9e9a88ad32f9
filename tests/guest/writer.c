/*
 * The write log of the test guest, and its checker on the host.
 *
 *   writer guest DEVICE   in the guest: reads commands from stdin, one a
 *                         line, and reports on stdout, every line
 *                         starting with "bcw: "
 *   writer check IMAGE [MIN]
 *                         on the host: IMAGE (raw) must hold an exact
 *                         prefix of the log, at least MIN records
 *   writer fill IMAGE N   on the host: write the first N records, which
 *                         the guest then finds and continues
 *   writer check-pair IMAGE0 IMAGE1 [MIN]
 *                         on the host: the two images (raw) of an
 *                         alternating log must hold, together, an exact
 *                         prefix of it, at least MIN records: what both
 *                         devices held at one instant
 *
 * The log is a sequence of 4 KiB records, record N at offset N * 4096,
 * written one at a time with O_DIRECT, so the device sees them in order.
 * Each record holds a magic, its sequence number, its own offset and a
 * checksum of the whole record: a record that is missing, stale, torn or
 * written to the wrong place is found by reading it back.
 *
 * The alternating log spans two devices: record N goes to the first
 * device if N is even, to the second if it is odd, at slot N / 2, and each
 * is on its device (written with O_DIRECT, then fsync) before the next is
 * written.  Its records have their own magic.  Whatever the two devices
 * held at one instant is, together, an exact prefix of it: the first
 * device holds as many records as the second, or one more.  Two copies
 * taken one after the other while the guest writes are not: the later
 * one holds records the earlier one's device got after it was copied.
 *
 * Commands in the guest:
 *   write RATE SYNC   write RATE bytes/s (0: as fast as possible), fsync
 *                     every SYNC records; "acked N" is printed (at most
 *                     five times a second) when records 0..N-1 are
 *                     known to be on the device
 *   stop              stop writing, fsync, print the counts and the
 *                     write latency (p50, p99 of each pwrite, in us)
 *                     since the last write command
 *   alternate RATE DEVICE
 *                     write the alternating log to this device and DEVICE
 *                     at RATE bytes/s (0: as fast as possible), each
 *                     record acknowledged before the next; "acked N" as
 *                     for write.  It starts at record 0 on a device that
 *                     holds no log yet.
 *   verify            stop, then read the whole log back: every record
 *                     written present and intact, nothing after it
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REC 4096
#define CHUNK (256 * REC)
#define MAGIC "BCWLOG01"
#define ALT_MAGIC "BCWALT01"

/*
 * Which records a device holds: the one at slot S is record
 * first + S * stride, with this magic.  The plain log is { MAGIC, 0, 1 };
 * the alternating log's devices are { ALT_MAGIC, 0, 2 } and
 * { ALT_MAGIC, 1, 2 }.
 */
struct lane {
    const char *magic;
    uint64_t first, stride;
};

static const struct lane plain_lane = { MAGIC, 0, 1 };
static const struct lane alt_lanes[2] = { { ALT_MAGIC, 0, 2 }, { ALT_MAGIC, 1, 2 } };

struct rec_head {
    char magic[8];
    uint64_t seq;
    uint64_t offset;
    uint64_t sum;
};

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
    while (n--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t rec_sum(const unsigned char *r)
{
    static const unsigned char zero[8];
    uint64_t h = 0xcbf29ce484222325ULL;

    h = fnv(r, offsetof(struct rec_head, sum), h);
    h = fnv(zero, sizeof(zero), h);
    return fnv(r + sizeof(struct rec_head), REC - sizeof(struct rec_head), h);
}

static void rec_fill(unsigned char *r, const struct lane *l, uint64_t slot)
{
    struct rec_head h;
    uint64_t seq = l->first + slot * l->stride;
    size_t i;

    memcpy(h.magic, l->magic, 8);
    h.seq = seq;
    h.offset = slot * REC;
    h.sum = 0;
    memcpy(r, &h, sizeof(h));
    for (i = sizeof(h); i < REC; i++)
        r[i] = (unsigned char)(seq * 31 + i * 7);
    h.sum = rec_sum(r);
    memcpy(r, &h, sizeof(h));
}

/* 0: the record of SLOT, intact; 1: all zero; -1: anything else, said in why. */
static int rec_check(const unsigned char *r, const struct lane *l, uint64_t slot,
                     char *why, size_t len)
{
    struct rec_head h;
    uint64_t seq = l->first + slot * l->stride;
    size_t i;

    for (i = 0; i < REC && !r[i]; i++)
        ;
    if (i == REC)
        return 1;
    memcpy(&h, r, sizeof(h));
    if (memcmp(h.magic, l->magic, 8))
        snprintf(why, len, "no record at slot %" PRIu64, slot);
    else if (h.sum != rec_sum(r))
        snprintf(why, len, "torn record at slot %" PRIu64, slot);
    else if (h.seq != seq || h.offset != slot * REC)
        snprintf(why, len, "record %" PRIu64 " (offset %" PRIu64 ") at slot %" PRIu64,
                 h.seq, h.offset, slot);
    else
        return 0;
    return -1;
}

/*
 * Scan the log from its start: *prefix is the number of intact records
 * before the first slot that is not the next record.  Past it everything
 * must be zero.  Returns 0, or -1 with the reason in why.
 */
static int log_scan(int fd, const struct lane *l, uint64_t slots, uint64_t *prefix,
                    char *why, size_t len)
{
    unsigned char *buf = aligned_alloc(REC, CHUNK);
    uint64_t s = 0, p = 0;
    int in_log = 1, ret = -1;

    if (!buf) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    while (s < slots) {
        size_t n = (slots - s) * REC < CHUNK ? (slots - s) * REC : CHUNK;
        ssize_t got = pread(fd, buf, n, (off_t)(s * REC));
        size_t i;

        if (got < (ssize_t)n) {
            snprintf(why, len, "read at slot %" PRIu64 ": %s", s,
                     got < 0 ? strerror(errno) : "short read");
            goto out;
        }
        for (i = 0; i < n / REC; i++, s++) {
            char w[128];
            int rc = rec_check(buf + i * REC, l, s, w, sizeof(w));

            if (in_log && rc == 0) {
                p++;
                continue;
            }
            if (in_log && rc < 0) {
                snprintf(why, len, "%s after %" PRIu64 " records", w, p);
                goto out;
            }
            in_log = 0;
            if (rc != 1) {
                snprintf(why, len, "data after the end of the log (%" PRIu64
                         " records) at slot %" PRIu64, p, s);
                goto out;
            }
        }
    }
    ret = 0;
out:
    *prefix = p;
    free(buf);
    return ret;
}

/* The number of intact records at the start of the log. */
static uint64_t log_length(int fd, uint64_t slots)
{
    unsigned char *buf = aligned_alloc(REC, CHUNK);
    uint64_t s = 0;
    char why[128];

    while (buf && s < slots) {
        size_t n = (slots - s) * REC < CHUNK ? (slots - s) * REC : CHUNK;
        size_t i;

        if (pread(fd, buf, n, (off_t)(s * REC)) != (ssize_t)n)
            break;
        for (i = 0; i < n / REC; i++, s++)
            if (rec_check(buf + i * REC, &plain_lane, s, why, sizeof(why)) != 0)
                goto out;
    }
out:
    free(buf);
    return s;
}

static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("bcw: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

struct guest {
    int fd, fd2;                /* fd2: the alternating log's second device */
    int alt;                    /* writing the alternating log */
    uint64_t slots, slots2, written, acked, since_sync;
    uint64_t phase;             /* the first record of this write command */
    uint32_t *lat;              /* us, one per record written */
    int writing;
    double rate, start, last_report;
    unsigned sync_every;
    unsigned char *rec;
};

/* The device record SEQ goes to, its lane and its slot there. */
static int guest_where(const struct guest *g, uint64_t seq, const struct lane **l,
                       uint64_t *slot)
{
    if (!g->alt) {
        *l = &plain_lane;
        *slot = seq;
        return g->fd;
    }
    *l = &alt_lanes[seq % 2];
    *slot = seq / 2;
    return seq % 2 ? g->fd2 : g->fd;
}

/* How many records the log being written can hold. */
static uint64_t guest_capacity(const struct guest *g)
{
    if (!g->alt)
        return g->slots;
    return 2 * (g->slots < g->slots2 ? g->slots : g->slots2);
}

static void guest_sync(struct guest *g)
{
    const struct lane *l;
    uint64_t slot;

    if (g->written == g->acked)
        return;
    /* The alternating log syncs after every record: its device is the last one's. */
    if (fsync(guest_where(g, g->written - 1, &l, &slot)) < 0) {
        say("error fsync: %s", strerror(errno));
        exit(1);
    }
    g->acked = g->written;
    g->since_sync = 0;
    if (now() - g->last_report >= 0.2) {
        say("acked %" PRIu64, g->acked);
        g->last_report = now();
    }
}

static void guest_stop(struct guest *g)
{
    uint64_t n = g->written - g->phase;
    uint32_t p50 = 0, p99 = 0;

    g->writing = 0;
    guest_sync(g);
    if (n) {
        uint32_t *s = malloc(n * sizeof(*s));

        if (!s) {
            say("error out of memory");
            exit(1);
        }
        memcpy(s, g->lat + g->phase, n * sizeof(*s));
        qsort(s, n, sizeof(*s), cmp_u32);
        p50 = s[(n - 1) * 50 / 100];
        p99 = s[(n - 1) * 99 / 100];
        free(s);
    }
    say("stopped written=%" PRIu64 " acked=%" PRIu64 " p50=%" PRIu32 "us p99=%"
        PRIu32 "us", g->written, g->acked, p50, p99);
}

static void guest_write_one(struct guest *g)
{
    const struct lane *l;
    uint64_t slot;
    double t0;
    ssize_t n;
    int fd;

    if (g->written == guest_capacity(g)) {
        guest_sync(g);
        g->writing = 0;
        say("full acked=%" PRIu64, g->acked);
        return;
    }
    fd = guest_where(g, g->written, &l, &slot);
    rec_fill(g->rec, l, slot);
    t0 = now();
    n = pwrite(fd, g->rec, REC, (off_t)(slot * REC));
    if (n != REC) {
        say("error write at slot %" PRIu64 ": %s", slot,
            n < 0 ? strerror(errno) : "short write");
        exit(1);
    }
    g->lat[g->written++] = (uint32_t)((now() - t0) * 1e6);
    if (++g->since_sync >= g->sync_every)
        guest_sync(g);
}

/*
 * Start (or go on with) the alternating log on this device and DEV, each
 * record on its device before the next is written.  Returns 0, or -1
 * after saying why.
 */
static int guest_alternate(struct guest *g, const char *dev)
{
    uint32_t *lat;
    off_t size;

    if (g->alt)
        return 0;
    if (g->written) {
        say("alternate refused: the first device holds a log of %" PRIu64 " records",
            g->written);
        return -1;
    }
    g->fd2 = open(dev, O_RDWR | O_DIRECT);
    if (g->fd2 < 0 || (size = lseek(g->fd2, 0, SEEK_END)) < 0) {
        say("error open %s: %s", dev, strerror(errno));
        exit(1);
    }
    g->slots2 = (uint64_t)size / REC;
    g->alt = 1;
    lat = realloc(g->lat, (guest_capacity(g) + 1) * sizeof(*lat));
    if (!lat) {
        say("error out of memory");
        exit(1);
    }
    g->lat = lat;
    return 0;
}

static void guest_command(struct guest *g, char *line)
{
    unsigned long long rate;
    unsigned sync_every;
    char why[160], dev[128];
    uint64_t p, p2;

    if (sscanf(line, "write %llu %u", &rate, &sync_every) == 2 && sync_every > 0) {
        g->rate = (double)rate;
        g->sync_every = sync_every;
        g->writing = 1;
        g->phase = g->written;
        g->start = now();
        say("writing");
    } else if (sscanf(line, "alternate %llu %127s", &rate, dev) == 2) {
        if (guest_alternate(g, dev) < 0)
            return;
        g->rate = (double)rate;
        g->sync_every = 1;
        g->writing = 1;
        g->phase = g->written;
        g->start = now();
        say("writing");
    } else if (!strcmp(line, "stop")) {
        guest_stop(g);
    } else if (!strcmp(line, "verify") && g->alt) {
        guest_stop(g);
        if (log_scan(g->fd, &alt_lanes[0], g->slots, &p, why, sizeof(why)) < 0 ||
            log_scan(g->fd2, &alt_lanes[1], g->slots2, &p2, why, sizeof(why)) < 0)
            say("verify failed: %s", why);
        else if (p + p2 != g->written || (p != p2 && p != p2 + 1))
            say("verify failed: %" PRIu64 " and %" PRIu64 " records on the devices, %"
                PRIu64 " written", p, p2, g->written);
        else
            say("verify ok records=%" PRIu64, p + p2);
    } else if (!strcmp(line, "verify")) {
        guest_stop(g);
        if (log_scan(g->fd, &plain_lane, g->slots, &p, why, sizeof(why)) < 0)
            say("verify failed: %s", why);
        else if (p != g->written)
            say("verify failed: %" PRIu64 " records on the device, %" PRIu64
                " written", p, g->written);
        else
            say("verify ok records=%" PRIu64, p);
    } else if (line[0]) {
        say("unknown command");
    }
}

static int guest_main(const char *dev)
{
    struct guest g = { .sync_every = 16, .fd2 = -1 };
    char line[256];
    size_t used = 0;
    off_t size;

    g.fd = open(dev, O_RDWR | O_DIRECT);
    if (g.fd < 0 || (size = lseek(g.fd, 0, SEEK_END)) < 0) {
        say("error open %s: %s", dev, strerror(errno));
        return 1;
    }
    g.slots = (uint64_t)size / REC;
    g.lat = calloc(g.slots ? g.slots : 1, sizeof(*g.lat));
    g.rec = aligned_alloc(REC, REC);
    if (!g.lat || !g.rec) {
        say("error out of memory");
        return 1;
    }
    /* A log that is there already goes on. */
    g.written = g.acked = g.phase = log_length(g.fd, g.slots);
    say("ready slots=%" PRIu64 " records=%" PRIu64, g.slots, g.written);
    for (;;) {
        struct pollfd pfd = { .fd = 0, .events = POLLIN };
        struct timespec ts = { 0, 0 }, *tsp = NULL;
        ssize_t n;
        char *nl;

        if (g.writing && g.rate > 0) {
            double due = g.start + (g.written - g.phase) * REC / g.rate - now();

            /* Behind by more than a moment: do not burst to catch up. */
            if (due < -0.1)
                g.start -= due;
            if (due > 0) {
                ts.tv_sec = (time_t)due;
                ts.tv_nsec = (long)((due - ts.tv_sec) * 1e9);
            }
            tsp = &ts;
        } else if (g.writing) {
            tsp = &ts;
        }
        n = ppoll(&pfd, 1, tsp, NULL);
        if (n < 0 && errno != EINTR) {
            say("error poll: %s", strerror(errno));
            return 1;
        }
        if (n > 0) {
            n = read(0, line + used, sizeof(line) - 1 - used);
            if (n <= 0)
                return 0;
            used += (size_t)n;
            line[used] = 0;
            while ((nl = strpbrk(line, "\r\n"))) {
                *nl = 0;
                guest_command(&g, line);
                used -= (size_t)(nl + 1 - line);
                memmove(line, nl + 1, used + 1);
            }
            if (used == sizeof(line) - 1)
                used = 0;
            continue;
        }
        if (g.writing)
            guest_write_one(&g);
    }
}

static int check_main(const char *image, const char *min)
{
    uint64_t want = min ? strtoull(min, NULL, 10) : 0, p;
    char why[160];
    int fd = open(image, O_RDONLY);
    off_t size;

    if (fd < 0 || (size = lseek(fd, 0, SEEK_END)) < 0) {
        fprintf(stderr, "writer: cannot open '%s': %s\n", image, strerror(errno));
        return 1;
    }
    if (log_scan(fd, &plain_lane, (uint64_t)size / REC, &p, why, sizeof(why)) < 0) {
        fprintf(stderr, "writer: '%s': %s\n", image, why);
        return 1;
    }
    printf("prefix %" PRIu64 "\n", p);
    if (p < want) {
        fprintf(stderr, "writer: '%s': %" PRIu64 " records, %" PRIu64
                " were acknowledged\n", image, p, want);
        return 1;
    }
    return 0;
}

static int fill_main(const char *image, const char *count)
{
    unsigned char rec[REC];
    uint64_t n = strtoull(count, NULL, 10), i;
    int fd = open(image, O_WRONLY);

    if (fd < 0) {
        fprintf(stderr, "writer: cannot open '%s': %s\n", image, strerror(errno));
        return 1;
    }
    for (i = 0; i < n; i++) {
        rec_fill(rec, &plain_lane, i);
        if (pwrite(fd, rec, REC, (off_t)(i * REC)) != REC) {
            fprintf(stderr, "writer: cannot write '%s': %s\n", image,
                    strerror(errno));
            close(fd);
            return 1;
        }
    }
    return close(fd) < 0;
}

/*
 * The two images of an alternating log, read on the host: each an exact
 * prefix of its lane, and together an exact prefix of the log, at least
 * MIN records.
 */
static int check_pair_main(const char *img0, const char *img1, const char *min)
{
    const char *img[2] = { img0, img1 };
    uint64_t want = min ? strtoull(min, NULL, 10) : 0, p[2];
    char why[160];
    int i;

    for (i = 0; i < 2; i++) {
        int fd = open(img[i], O_RDONLY);
        off_t size;

        if (fd < 0 || (size = lseek(fd, 0, SEEK_END)) < 0) {
            fprintf(stderr, "writer: cannot open '%s': %s\n", img[i], strerror(errno));
            return 1;
        }
        if (log_scan(fd, &alt_lanes[i], (uint64_t)size / REC, &p[i], why, sizeof(why)) < 0) {
            fprintf(stderr, "writer: '%s': %s\n", img[i], why);
            close(fd);
            return 1;
        }
        close(fd);
    }
    printf("prefix %" PRIu64 " first %" PRIu64 " second %" PRIu64 "\n",
           p[0] + p[1], p[0], p[1]);
    /*
     * At one instant the first device holds as many records as the second
     * or one more; anything else means that one image was taken while the
     * other device went on receiving the log.
     */
    if (p[0] != p[1] && p[0] != p[1] + 1) {
        fprintf(stderr, "writer: not one instant: '%s' holds %" PRIu64
                " records of the log, '%s' %" PRIu64 "\n", img0, p[0], img1, p[1]);
        return 1;
    }
    if (p[0] + p[1] < want) {
        fprintf(stderr, "writer: %" PRIu64 " records, %" PRIu64 " were acknowledged\n",
                p[0] + p[1], want);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "guest"))
        return guest_main(argv[2]);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "check"))
        return check_main(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 4 && !strcmp(argv[1], "fill"))
        return fill_main(argv[2], argv[3]);
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "check-pair"))
        return check_pair_main(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: writer guest DEVICE\n"
            "       writer check IMAGE [MIN-RECORDS]\n"
            "       writer check-pair IMAGE0 IMAGE1 [MIN-RECORDS]\n"
            "       writer fill IMAGE RECORDS\n");
    return 2;
}
