/*
 * Messages, JSON output and the connection the commands share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"

/*
 * The last error printed, for the JSON result of a usage error: like
 * errno, it belongs to the stream it was printed on, not to a command.
 */
static char last_error[1024];
static bool last_error_in_json;

/* The length of the UTF-8 sequence at s, or 0 if it is not a valid one
 * (overlong forms, surrogates and code points past U+10FFFF count as
 * invalid). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n, i;
    unsigned long cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

/* Does the character at s (of length n) do anything on a terminal: a C0
 * or C1 control, DEL, or a byte that is no character at all? */
static bool unprintable(const unsigned char *s, size_t n)
{
    return n == 0 || (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) ||
           (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

char *cli_escape_dup(const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    char *out, *o;
    size_t n;

    /* At worst every byte becomes "\xHH". */
    if (!(out = o = malloc(strlen((const char *)s) * 4 + 1)))
        return NULL;
    while (*s) {
        n = utf8_len(s);
        if (!unprintable(s, n)) {
            memcpy(o, s, n);
            o += n;
            s += n;
            continue;
        }
        n = n ? n : 1;
        for (; n > 0; n--, s++) {
            switch (*s) {
            case '\n': o += sprintf(o, "\\n"); break;
            case '\t': o += sprintf(o, "\\t"); break;
            case '\r': o += sprintf(o, "\\r"); break;
            default: o += sprintf(o, "\\x%02x", *s); break;
            }
        }
    }
    *o = '\0';
    return out;
}

/* Escaped copies live in a small ring, so that one printf() can show a
 * few of them; each is freed when its slot comes round again. */
#define SAFE_SLOTS 8
static char *safe_ring[SAFE_SLOTS];
static unsigned safe_next;

const char *cli_safe(const char *text)
{
    char **slot = &safe_ring[safe_next++ % SAFE_SLOTS];

    if (!text)
        return NULL;
    free(*slot);
    if (!(*slot = cli_escape_dup(text)))
        return "?";
    return *slot;
}

void cli_safe_release(void)
{
    size_t i;

    for (i = 0; i < SAFE_SLOTS; i++) {
        free(safe_ring[i]);
        safe_ring[i] = NULL;
    }
}

/* The script line being run, 0 for none. */
static unsigned long script_line;

void cli_set_script_line(unsigned long line)
{
    script_line = line;
}

/* "line 3: " while a script runs, else "". */
static const char *where(char *buf, size_t len)
{
    if (!script_line)
        return "";
    snprintf(buf, len, "line %lu: ", script_line);
    return buf;
}

void cli_warn(const char *fmt, ...)
{
    char at[32];
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "warning: %s%s\n", where(at, sizeof(at)), cli_safe(msg));
}

void cli_warning_cb(const char *msg, void *opaque)
{
    cli_ctx *ctx = opaque;

    if (!ctx->quiet)
        cli_warn("%s", msg);
}

void cli_print_json(const char *json)
{
    cli_fprint_json(stdout, json);
}

void cli_fprint_json(FILE *out, const char *json)
{
    const unsigned char *s = (const unsigned char *)json;

    /* json-c escapes C0 controls only; DEL and C1 controls get the same
     * \u escapes, which read back as the same string. */
    for (; *s; s++) {
        if (*s == 0x7f)
            fputs("\\u007f", out);
        else if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] < 0xa0)
            fprintf(out, "\\u%04x", *++s);
        else
            putc(*s, out);
    }
    putc('\n', out);
    fflush(out);
}

void cli_print_json_obj(json_object *o)
{
    cli_print_json(json_object_to_json_string_ext(o, CLI_JSON_FLAGS));
    json_object_put(o);
}

static void print_error_json(const char *code, const bc_error *err,
                             const char *prefix, int status)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    char msg[1200];

    snprintf(msg, sizeof(msg), "%s%s", prefix ? prefix : "", err->message);
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(msg));
    if (err->qmp_class[0])
        json_object_object_add(e, "qmp-class",
                               json_object_new_string(err->qmp_class));
    json_object_object_add(o, "type", json_object_new_string("result"));
    json_object_object_add(o, "status", json_object_new_string("error"));
    json_object_object_add(o, "error", e);
    json_object_object_add(o, "exit", json_object_new_int(status));
    cli_print_json_obj(o);
    last_error_in_json = true;
}


void cli_error(const char *fmt, ...)
{
    char at[32];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    last_error_in_json = false;
    fflush(stdout);
    fprintf(stderr, "error: %s%s\n", where(at, sizeof(at)),
            cli_safe(last_error));
}

void cli_report_usage(cli_ctx *ctx)
{
    bc_error err;

    if (!ctx->json || last_error_in_json)
        return;
    bc_error_init(&err);
    err.code = BC_ERR_INVALID_ARG;
    snprintf(err.message, sizeof(err.message), "%s", last_error);
    print_error_json("usage", &err, NULL, CLI_USAGE);
}

int cli_report(cli_ctx *ctx, const char *prefix, const bc_error *err)
{
    int status = bc_error_is_usage(err) ? CLI_USAGE : CLI_FAILED;

    cli_error("%s%s", prefix ? prefix : "", err->message);
    if (ctx->json)
        print_error_json(bc_error_code_name(err->code), err, prefix, status);
    return status;
}

int cli_report_on(cli_ctx *ctx, const char *prefix, const bc_error *err,
                  bc_conn *conn, const char *disk)
{
    int status = cli_report(ctx, prefix, err);

    /* What is not known for sure, QEMU can tell. */
    if (err->code == BC_ERR_UNCERTAIN && conn)
        fprintf(stderr, "hint: 'blockcopy job %s %s' shows what QEMU has "
                "now; add --wait to see it end, or --abort to end it\n",
                cli_safe(bc_conn_get_address(conn)), cli_safe(disk));
    return status;
}

int cli_percent(unsigned long long cur, unsigned long long end)
{
    unsigned long long remaining = end > cur ? end - cur : 0;
    int p;

    /* virsh's rule: 100 only when nothing remains, else at most 99. */
    if (remaining == 0)
        return 100;
    p = (int)(100.0 - (double)remaining * 100.0 / (double)end);
    return p >= 100 ? 99 : p < 0 ? 0 : p;
}

const char *cli_scale(double *v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
                                         "PiB", "EiB" };
    size_t u = 0;

    while (*v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        *v /= 1024;
        u++;
    }
    return units[u];
}

const char *cli_human_size(double v, char *buf, size_t len)
{
    const char *unit = cli_scale(&v);

    if (unit[0] == 'B' || v == (double)(unsigned long long)v)
        snprintf(buf, len, "%.0f %s", v, unit);
    else
        snprintf(buf, len, "%.1f %s", v, unit);
    return buf;
}

void cli_print_result(cli_ctx *ctx, const char *key, const char *name,
                      const char *status, const char *human, int exit_status)
{
    if (ctx->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string("result"));
        if (key && name)
            json_object_object_add(o, key, json_object_new_string(name));
        json_object_object_add(o, "status", json_object_new_string(status));
        json_object_object_add(o, "exit", json_object_new_int(exit_status));
        if (ctx->result_extra) {
            json_object_object_foreach(ctx->result_extra, k, v)
                json_object_object_add(o, k, json_object_get(v));
        }
        cli_print_json_obj(o);
    } else if (human && !ctx->quiet) {
        printf("%s\n", human);
        fflush(stdout);
    }
    json_object_put(ctx->result_extra);
    ctx->result_extra = NULL;
}
