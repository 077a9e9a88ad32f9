/*
 * Run a fuzz target once on each saved input: files, or every file in
 * the directories given.  make check builds this with the normal
 * compiler, so the corpora are regression tests even without clang.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    do {
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 65536);

            if (!grown) {
                fprintf(stderr, "'%s': out of memory\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = grown;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        fprintf(stderr, "cannot read '%s'\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in 'dir', in name order.  Returns the count or -1. */
static int run_dir(const char *dir)
{
    char **names = NULL, path[4096];
    size_t n = 0, i;
    struct dirent *de;
    DIR *d = opendir(dir);
    int count = 0;

    if (!d) {
        fprintf(stderr, "cannot open '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        char **grown;

        if (de->d_name[0] == '.')
            continue;
        if (!(grown = realloc(names, (n + 1) * sizeof(*names))) ||
            !(grown[n] = strdup(de->d_name))) {
            names = grown ? grown : names;
            count = -1;
            break;
        }
        names = grown;
        n++;
    }
    closedir(d);
    if (count == 0 && names)
        qsort(names, n, sizeof(*names), names_cmp);
    for (i = 0; i < n; i++) {
        if (count >= 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            if (run_file(path) < 0)
                count = -1;
            else
                count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    struct stat st;
    const char *name;
    int i, n, total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "cannot open '%s': %s\n", argv[i],
                    strerror(errno));
            return 1;
        }
        n = S_ISDIR(st.st_mode) ? run_dir(argv[i])
                                : run_file(argv[i]) < 0 ? -1 : 1;
        if (n < 0)
            return 1;
        total += n;
    }
    name = strrchr(argv[0], '/');
    printf("%s: %d inputs\n", name ? name + 1 : argv[0], total);
    return 0;
}
