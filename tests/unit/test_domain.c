/*
 * Names in the socket directories (lib/domain.c): a name leads only to
 * the caller's own sockets unless BC_DOMAIN_ANY_OWNER, a link only when
 * the link and the socket have one owner; a path is taken as given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "blockcopy.h"
#include "unit.h"

#define OTHER_UID 65534

static char dir[64];
static char *saved_dirs;

/* A listening unix socket at DIR/name; returns its descriptor. */
static int make_socket(const char *name)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir, name);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

static void setup(void)
{
    const char *d = getenv("BLOCKCOPY_SOCKET_DIRS");

    saved_dirs = d ? strdup(d) : NULL;
    snprintf(dir, sizeof(dir), "/tmp/bc-unit-domain.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    setenv("BLOCKCOPY_SOCKET_DIRS", dir, 1);
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    if (saved_dirs)
        setenv("BLOCKCOPY_SOCKET_DIRS", saved_dirs, 1);
    else
        unsetenv("BLOCKCOPY_SOCKET_DIRS");
    free(saved_dirs);
}

/* 'domain' resolves to "unix:DIR/file" with 'flags'. */
static void leads_to(const char *domain, unsigned int flags,
                     const char *file)
{
    char *address = NULL, want[128];
    bc_error err;

    bc_error_init(&err);
    snprintf(want, sizeof(want), "unix:%s/%s", dir, file);
    ck_assert_msg(bc_domain_lookup_flags(domain, flags, &address, &err) == 0,
                  "'%s': %s", domain, err.message);
    ck_assert_str_eq(address, want);
    free(address);
}

/* 'domain' does not resolve with 'flags'; the message has 'text'. */
static void refused(const char *domain, unsigned int flags, const char *text)
{
    char *address = NULL;
    bc_error err;

    bc_error_init(&err);
    ck_assert_int_eq(bc_domain_lookup_flags(domain, flags, &address, &err),
                     -1);
    ck_assert_ptr_null(address);
    ck_assert_int_eq(err.code, BC_ERR_NO_DOMAIN);
    ck_assert_msg(strstr(err.message, text), "'%s': '%s' lacks '%s'", domain,
                  err.message, text);
}

START_TEST(test_paths_as_given)
{
    char *address = NULL;
    bc_error err;

    bc_error_init(&err);
    ck_assert_int_eq(bc_domain_lookup("/nowhere/vm.qmp", &address, &err), 0);
    ck_assert_str_eq(address, "unix:/nowhere/vm.qmp");
    free(address);
    ck_assert_int_eq(bc_domain_lookup("tcp:127.0.0.1:4444", &address, &err),
                     0);
    ck_assert_str_eq(address, "tcp:127.0.0.1:4444");
    free(address);
}
END_TEST

START_TEST(test_own_sockets_and_links)
{
    char target[128], link[128], file[128];
    int fd = make_socket("mine.qmp");
    FILE *f;

    leads_to("mine", 0, "mine.qmp");
    snprintf(target, sizeof(target), "%s/mine.qmp", dir);
    snprintf(link, sizeof(link), "%s/alias.sock", dir);
    ck_assert_int_eq(symlink(target, link), 0);
    leads_to("alias", 0, "alias.sock");
    /* A file that is not a socket is no VM. */
    snprintf(file, sizeof(file), "%s/plain.qmp", dir);
    ck_assert_ptr_nonnull(f = fopen(file, "w"));
    fclose(f);
    refused("plain", 0, "no VM named 'plain'");
    close(fd);
}
END_TEST

START_TEST(test_other_users_sockets)
{
    char path[128], link[128];
    int fd;

    if (geteuid() != 0)
        return;                 /* cannot give a socket away */
    fd = make_socket("theirs.qmp");
    snprintf(path, sizeof(path), "%s/theirs.qmp", dir);
    ck_assert_int_eq(lchown(path, OTHER_UID, OTHER_UID), 0);
    refused("theirs", 0, "(uid 65534), not to you; use --any-owner");
    leads_to("theirs", BC_DOMAIN_ANY_OWNER, "theirs.qmp");

    /* The caller's link to another user's socket lends it a name: refused
     * even with BC_DOMAIN_ANY_OWNER. */
    snprintf(link, sizeof(link), "%s/lent.qmp", dir);
    ck_assert_int_eq(symlink(path, link), 0);
    refused("lent", 0, "is a symbolic link of user");
    refused("lent", BC_DOMAIN_ANY_OWNER, "to a socket of");
    close(fd);
}
END_TEST

Suite *domain_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tcase_create("lookup");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_paths_as_given);
    tcase_add_test(tc, test_own_sockets_and_links);
    tcase_add_test(tc, test_other_users_sockets);
    suite_add_tcase(s, tc);
    return s;
}
