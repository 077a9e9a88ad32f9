/*
 * Shell lines split into words with sh-like quoting, and words quoted so
 * that they split back the same.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_free_words(char **argv)
{
    char **p;

    if (!argv)
        return;
    for (p = argv; *p; p++)
        free(*p);
    free(argv);
}

int cli_split_words(const char *line, char ***argvp, const char **errmsg)
{
    size_t len = strlen(line), n = 0, cap = 8;
    char **argv = calloc(cap + 1, sizeof(*argv));
    char *word = malloc(len + 1);
    const char *p = line;

    *argvp = NULL;
    *errmsg = NULL;
    if (!argv || !word)
        goto oom;

    for (;;) {
        size_t w = 0;
        bool have = false;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p || *p == '#')
            break;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            have = true;
            if (*p == '\'') {
                for (p++; *p && *p != '\''; p++)
                    word[w++] = *p;
                if (!*p) {
                    *errmsg = "unterminated single quote";
                    goto error;
                }
                p++;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                    /* Inside double quotes a backslash escapes only these. */
                    if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                        p++;
                    word[w++] = *p;
                }
                if (!*p) {
                    *errmsg = "unterminated double quote";
                    goto error;
                }
                p++;
            } else if (*p == '\\') {
                if (!p[1]) {
                    *errmsg = "backslash at the end of the line";
                    goto error;
                }
                word[w++] = p[1];
                p += 2;
            } else {
                word[w++] = *p++;
            }
        }
        if (!have)
            break;
        if (n == cap) {
            char **grown = realloc(argv, (cap * 2 + 1) * sizeof(*argv));

            if (!grown)
                goto oom;
            argv = grown;
            cap *= 2;
        }
        if (!(argv[n] = strndup(word, w)))
            goto oom;
        argv[++n] = NULL;
    }
    free(word);
    argv[n] = NULL;
    *argvp = argv;
    return (int)n;

 oom:
    *errmsg = "out of memory";
 error:
    if (argv)
        argv[n] = NULL;
    cli_free_words(argv);
    free(word);
    return -1;
}

char *cli_quote_word(const char *word, char quote)
{
    char *out = malloc(strlen(word) * 4 + 1), *o = out;
    const char *p;

    if (!out)
        return NULL;
    for (p = word; *p; p++) {
        if (quote == '\'') {
            /* A single quote cannot be escaped inside single quotes: close,
             * escape it, reopen. */
            if (*p == '\'') {
                memcpy(o, "'\\''", 4);
                o += 4;
                continue;
            }
        } else if (quote == '"') {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
        } else if (strchr(" \t\r\n\\'\"#", *p)) {
            *o++ = '\\';
        }
        *o++ = *p;
    }
    *o = '\0';
    return out;
}
