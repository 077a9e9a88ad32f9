/*
 * The host key of an ssh destination, from the known_hosts file its
 * <knownHosts> names.  QEMU checks a host key only against the
 * known_hosts of its own user, or against a hash it is given: the tool
 * reads the file, as an ssh client would, and hands QEMU the SHA-256 of
 * the key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "diskxml.h"

/* Files larger than this are refused: a known_hosts file is small. */
#define KNOWN_HOSTS_MAX (4 * 1024 * 1024)

/* The key types QEMU's ssh library offers to the server, most wanted
 * first: of several keys of one host, the server shows the first. */
static const char *const key_order[] = {
    "ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", NULL
};

static int key_rank(const char *type)
{
    int i;

    for (i = 0; key_order[i]; i++)
        if (strcmp(key_order[i], type) == 0)
            return i;
    return -1;
}

/* "|1|SALT|HASH": HMAC-SHA1 of the name under the salt, both base64. */
static bool hashed_match(const char *pattern, const char *name)
{
    char buf[256], *salt64, *hash64;
    unsigned char mac[BC_SHA1_LEN], *salt, *hash;
    size_t saltlen, hashlen;
    bool match = false;

    if (strlen(pattern + 3) >= sizeof(buf))
        return false;
    bc_strlcpy(buf, pattern + 3, sizeof(buf));
    salt64 = buf;
    if (!(hash64 = strchr(buf, '|')))
        return false;
    *hash64++ = '\0';
    salt = bc_base64_decode(salt64, &saltlen);
    hash = bc_base64_decode(hash64, &hashlen);
    if (salt && hash && hashlen == BC_SHA1_LEN) {
        bc_hmac_sha1(salt, saltlen, name, strlen(name), mac);
        match = memcmp(mac, hash, BC_SHA1_LEN) == 0;
    }
    free(salt);
    free(hash);
    return match;
}

/* OpenSSH's patterns: '*' and '?' only, so that "[host]:port" is a name,
 * not a bracket expression. */
static bool wild_match(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == '*') {
            for (; *s; s++)
                if (wild_match(p + 1, s))
                    return true;
            return wild_match(p + 1, s);
        }
        if (!*s || (*p != '?' && *p != *s))
            return false;
    }
    return !*s;
}

/* Does the hosts field "a,b,!c" name 'name'?  Negated patterns win. */
static bool hosts_match(char *field, const char *name)
{
    bool match = false;
    char *p, *save = NULL;

    if (bc_str_has_prefix(field, "|1|"))
        return hashed_match(field, name);
    for (p = strtok_r(field, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        bool neg = *p == '!';

        if (wild_match(p + neg, name)) {
            if (neg)
                return false;
            match = true;
        }
    }
    return match;
}

int bc_dest_find_host_key(bc_dest *dest, bc_error *err)
{
    const bc_dest_host *h;
    char name[600], line[16384];
    unsigned char *blob = NULL, sum[BC_SHA256_LEN];
    int best = -1, ret = -1, i;
    size_t len;
    FILE *f;

    if (!dest->known_hosts || dest->host_key_sha256)
        return 0;
    h = &dest->hosts[0];
    /* As ssh writes them: the bare name for port 22, else "[name]:port". */
    if (!h->port || strcmp(h->port, "22") == 0)
        snprintf(name, sizeof(name), "%s", h->name);
    else
        snprintf(name, sizeof(name), "[%s]:%s", h->name, h->port);

    if (!(f = fopen(dest->known_hosts, "re")))
        return bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno,
                                  "cannot read known hosts file '%s'",
                                  dest->known_hosts);
    while (ftell(f) < KNOWN_HOSTS_MAX && fgets(line, sizeof(line), f)) {
        char *save = NULL, *hosts, *type, *key;
        int rank;

        hosts = strtok_r(line, " \t\r\n", &save);
        if (!hosts || hosts[0] == '#')
            continue;
        /* "@revoked" keys are never trusted; certificate authorities
         * sign keys, which QEMU cannot check. */
        if (hosts[0] == '@')
            continue;
        type = strtok_r(NULL, " \t\r\n", &save);
        key = strtok_r(NULL, " \t\r\n", &save);
        if (!type || !key || !hosts_match(hosts, name))
            continue;
        rank = key_rank(type);
        if (rank < 0 || (best >= 0 && rank >= best))
            continue;
        free(blob);
        if (!(blob = bc_base64_decode(key, &len))) {
            bc_set_error(err, BC_ERR_INVALID_ARG, "known hosts file '%s' "
                         "has a key of '%s' that is not base64",
                         dest->known_hosts, name);
            goto out;
        }
        bc_sha256(blob, len, sum);
        best = rank;
    }
    if (ferror(f)) {
        bc_set_error_errno(err, BC_ERR_INVALID_ARG, errno, "cannot read "
                           "known hosts file '%s'", dest->known_hosts);
        goto out;
    }
    if (best < 0) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "host '%s' is not in known "
                     "hosts file '%s' (add its key with 'ssh-keyscan%s%s "
                     "%s >> %s')", name, dest->known_hosts,
                     h->port ? " -p " : "", h->port ? h->port : "", h->name,
                     dest->known_hosts);
        goto out;
    }
    if (!(dest->host_key_sha256 = malloc(2 * BC_SHA256_LEN + 1))) {
        bc_set_error_oom(err);
        goto out;
    }
    for (i = 0; i < BC_SHA256_LEN; i++)
        sprintf(dest->host_key_sha256 + 2 * i, "%02x", sum[i]);
    ret = 0;

 out:
    free(blob);
    fclose(f);
    return ret;
}
