/*
 * Base64, SHA-1, SHA-256 and HMAC-SHA1 against published test vectors,
 * and the known_hosts lookup of an ssh destination.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "diskxml.h"
#include "unit.h"

static void hex(const unsigned char *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

START_TEST(test_base64)
{
    static const char *const v[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    size_t i, len;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *e = bc_base64_encode(v[i][0], strlen(v[i][0]));
        unsigned char *d = bc_base64_decode(v[i][1], &len);

        ck_assert_str_eq(e, v[i][1]);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq(len, strlen(v[i][0]));
        ck_assert(memcmp(d, v[i][0], len) == 0);
        free(e);
        free(d);
    }
    /* Not base64: a newline, a stray '=', a short group. */
    ck_assert_ptr_null(bc_base64_decode("Zm9v\n", &len));
    ck_assert_ptr_null(bc_base64_decode("Zm=v", &len));
    ck_assert_ptr_null(bc_base64_decode("Zm9", &len));
    ck_assert_ptr_null(bc_base64_decode("Zm9v====", &len));
}
END_TEST

START_TEST(test_digests)
{
    unsigned char d[BC_SHA256_LEN];
    char h[2 * BC_SHA256_LEN + 1];
    unsigned char *big = malloc(1000000);

    bc_sha1("abc", 3, d);
    hex(d, BC_SHA1_LEN, h);
    ck_assert_str_eq(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    bc_sha256("abc", 3, d);
    hex(d, BC_SHA256_LEN, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223"
                        "b00361a396177a9cb410ff61f20015ad");
    bc_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
              d);
    hex(d, BC_SHA256_LEN, h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039"
                        "a33ce45964ff2167f6ecedd419db06c1");
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', 1000000);
    bc_sha256(big, 1000000, d);
    hex(d, BC_SHA256_LEN, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67"
                        "f1809a48a497200e046d39ccc7112cd0");
    free(big);
    /* RFC 2202, test case 2. */
    bc_hmac_sha1("Jefe", 4, "what do ya want for nothing?", 28, d);
    hex(d, BC_SHA1_LEN, h);
    ck_assert_str_eq(h, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}
END_TEST

/* The host key of 'xml' (with "KH" as the known_hosts path) in a file of
 * 'lines', or NULL with the error in 'msg'. */
static char *host_key(const char *lines, const char *host, const char *port,
                      char *msg)
{
    char path[] = "/tmp/bc-unit-kh.XXXXXX", xml[1024];
    int fd = mkstemp(path);
    bc_dest d;
    bc_error err;
    char *key = NULL;

    ck_assert_int_ge(fd, 0);
    ck_assert(write(fd, lines, strlen(lines)) == (ssize_t)strlen(lines));
    close(fd);
    snprintf(xml, sizeof(xml), "<disk type='network'><source protocol='ssh' "
             "name='/a'><host name='%s'%s%s%s/><knownHosts path='%s'/>"
             "</source></disk>", host, port ? " port='" : "",
             port ? port : "", port ? "'" : "", path);
    bc_error_init(&err);
    ck_assert_int_eq(bc_dest_parse(xml, strlen(xml), &d, &err), 0);
    if (bc_dest_find_host_key(&d, &err) == 0)
        key = strdup(d.host_key_sha256);
    else
        strcpy(msg, err.message);
    bc_dest_clear(&d);
    unlink(path);
    return key;
}

/* ssh-keygen -H of "[127.0.0.1]:2222" with this salt. */
#define ED_KEY "AAAAC3NzaC1lZDI1NTE5AAAAIP9IqWnZofl7JrggtvE46vHkEn+tYYj8krl40mzkcH9g"
#define ED_SHA "8c4d6e302dc7b032eb8413d65a105b5990d67e27efdb27c6793d88df155226d9"
#define RSA_KEY "AAAAB3NzaC1yc2EAAAADAQAB"

START_TEST(test_known_hosts)
{
    char msg[512] = "", *k;
    char line[512];
    unsigned char mac[BC_SHA1_LEN];
    char *salt64, *mac64;

    /* Plain, by name and by "[name]:port"; the wanted key type first. */
    k = host_key("other ssh-ed25519 AAAA\nh1,h2 ssh-rsa " RSA_KEY "\n"
                 "h2 ssh-ed25519 " ED_KEY "\n", "h2", NULL, msg);
    ck_assert_str_eq(k, ED_SHA);
    free(k);
    k = host_key("[h1]:2222 ssh-ed25519 " ED_KEY "\n", "h1", "2222", msg);
    ck_assert_str_eq(k, ED_SHA);
    free(k);
    /* Port 22 is written without brackets; another port must match. */
    k = host_key("h1 ssh-ed25519 " ED_KEY "\n", "h1", "22", msg);
    ck_assert_str_eq(k, ED_SHA);
    free(k);
    ck_assert_ptr_null(host_key("h1 ssh-ed25519 " ED_KEY "\n", "h1", "2222",
                                msg));
    ck_assert_msg(strstr(msg, "host '[h1]:2222' is not in known hosts file"),
                  "%s", msg);
    /* Wildcards, negation, a revoked key, comments. */
    k = host_key("# c\n*.example.org,!bad.example.org ssh-ed25519 " ED_KEY
                 "\n", "a.example.org", NULL, msg);
    ck_assert_str_eq(k, ED_SHA);
    free(k);
    ck_assert_ptr_null(host_key("*.example.org,!bad.example.org ssh-ed25519 "
                                ED_KEY "\n", "bad.example.org", NULL, msg));
    ck_assert_ptr_null(host_key("@revoked h1 ssh-ed25519 " ED_KEY "\n", "h1",
                                NULL, msg));
    /* A hashed entry. */
    salt64 = bc_base64_encode("0123456789abcdefghij", 20);
    bc_hmac_sha1("0123456789abcdefghij", 20, "[h1]:2222", 9, mac);
    mac64 = bc_base64_encode(mac, sizeof(mac));
    snprintf(line, sizeof(line), "|1|%s|%s ssh-ed25519 %s\n", salt64, mac64,
             ED_KEY);
    k = host_key(line, "h1", "2222", msg);
    ck_assert_str_eq(k, ED_SHA);
    free(k);
    ck_assert_ptr_null(host_key(line, "h2", "2222", msg));
    free(salt64);
    free(mac64);
}
END_TEST

/* <knownHosts> is for ssh only, with an absolute path; the key found
 * reaches QEMU as a sha256 host-key-check. */
START_TEST(test_known_hosts_xml)
{
    static const char *const bad[][2] = {
        { "<disk type='network'><source protocol='nbd' name='e'><host "
          "name='h'/><knownHosts path='/k'/></source></disk>",
          "line 1: <knownHosts> is for protocol 'ssh', not 'nbd'" },
        { "<disk type='network'><source protocol='ssh' name='/a'><host "
          "name='h'/><knownHosts path='k'/></source></disk>",
          "<knownHosts> needs a path attribute with an absolute path" },
        { "<disk type='network'><source protocol='ssh' name='/a'><host "
          "name='h'/><knownHosts/></source></disk>",
          "<knownHosts> needs a path attribute with an absolute path" },
    };
    const char *xml = "<disk type='network'><source protocol='ssh' "
                      "name='/a'><host name='h'/><knownHosts path='/k'/>"
                      "</source></disk>";
    bc_dest d;
    bc_error err;
    json_object *o;
    char *canon;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bc_error_init(&err);
        ck_assert_int_eq(bc_dest_parse(bad[i][0], strlen(bad[i][0]), &d,
                                       &err), -1);
        ck_assert_msg(strstr(err.message, bad[i][1]), "%s", err.message);
    }
    bc_error_init(&err);
    ck_assert_int_eq(bc_dest_parse(xml, strlen(xml), &d, &err), 0);
    ck_assert_str_eq(d.known_hosts, "/k");
    ck_assert_ptr_null(bc_dest_local_path(&d));
    canon = bc_dest_format(&d, &err);
    ck_assert_msg(strstr(canon, "<knownHosts path=\"/k\"/>"), "%s", canon);
    free(canon);
    d.host_key_sha256 = strdup("00ff");
    o = bc_dest_protocol_options(&d, "n", NULL, NULL, &err);
    ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                     "{\"node-name\":\"n\",\"driver\":\"ssh\",\"server\":"
                     "{\"host\":\"h\",\"port\":\"22\"},\"path\":\"\\/a\","
                     "\"host-key-check\":{\"mode\":\"hash\",\"type\":"
                     "\"sha256\",\"hash\":\"00ff\"}}");
    json_object_put(o);
    bc_dest_clear(&d);

    /* Over ssh to a loopback address the path is one of this machine. */
    xml = "<disk type='network'><source protocol='ssh' name='/srv/a'>"
          "<host name='127.0.0.1' port='2222'/></source></disk>";
    ck_assert_int_eq(bc_dest_parse(xml, strlen(xml), &d, &err), 0);
    ck_assert_str_eq(bc_dest_local_path(&d), "/srv/a");
    bc_dest_clear(&d);
    xml = "<disk type='network'><source protocol='nfs' name='/srv/a'>"
          "<host name='127.0.0.1'/></source></disk>";
    ck_assert_int_eq(bc_dest_parse(xml, strlen(xml), &d, &err), 0);
    ck_assert_ptr_null(bc_dest_local_path(&d));
    bc_dest_clear(&d);
}
END_TEST

START_TEST(test_locations)
{
    static const char *const same[][2] = {
        { "ssh://root@h1:2222/srv/a.qcow2", "ssh://h1:2222/srv/a.qcow2" },
        { "ssh://h1/srv/a.qcow2", "ssh://h1:22/srv/a.qcow2" },
        { "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"ssh\",\"path\":"
          "\"/srv/a.qcow2\",\"server\":{\"host\":\"h1\",\"port\":\"2222\"}}}",
          "ssh://h1:2222/srv/a.qcow2" },
        { "gluster://h1/vol/dir/a.img", "gluster://h1:24007/vol/dir/a.img" },
        { "json:{\"driver\":\"gluster\",\"volume\":\"vol\",\"path\":"
          "\"dir/a.img\",\"server.0.host\":\"h1\",\"server.0.type\":"
          "\"inet\"}", "gluster://h1:24007/vol/dir/a.img" },
        { "nfs://h1/exp/a.img?uid=0", "nfs://h1:/exp/a.img" },
        { "json:{\"driver\":\"iscsi\",\"portal\":\"[::1]:3260\","
          "\"target\":\"iqn.x\",\"lun\":1,\"transport\":\"tcp\"}",
          "iscsi://[::1]/iqn.x/1" },
        { "json:{\"driver\":\"iscsi\",\"portal\":\"h1:3261\","
          "\"target\":\"iqn.x\",\"lun\":1}", "iscsi://h1:3261/iqn.x/1" },
        { "json:{\"driver\":\"raw\",\"file\":{\"driver\":\"rbd\","
          "\"pool\":\"p\",\"image\":\"i\",\"server\":[{\"host\":\"m1\","
          "\"port\":\"6789\"}]}}", "rbd://m1/p/i" },
        { "json:{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
          "\"path\":\"/run/s\"},\"export\":\"e\"}",
          "nbd+unix:///e?socket=/run/s" },
        { "iscsi://[::1]:3260/iqn.x/1", "iscsi://[::1]/iqn.x/1" },
    };
    size_t i;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        char *a = bc_location_of_filename(same[i][0]);
        char *b = bc_location_of_filename(same[i][1]);

        ck_assert_msg(a && b && !strcmp(a, b), "%s: %s != %s", same[i][0],
                      a ? a : "NULL", b ? b : "NULL");
        free(a);
        free(b);
    }
    /* The destination's own spelling matches QEMU's. */
    {
        static const char *const xml[][2] = {
            { "<disk type='network'><source protocol='ssh' name='/srv/a'>"
              "<host name='h1' port='2222'/></source></disk>",
              "ssh://root@h1:2222/srv/a" },
            { "<disk type='network'><source protocol='gluster' "
              "name='vol/a.img'><host name='h1'/></source></disk>",
              "gluster+tcp://h1:24007/vol/a.img" },
            { "<disk type='network'><source protocol='nbd' name='e'><host "
              "transport='unix' socket='/run/s'/></source></disk>",
              "nbd+unix:///e?socket=/run/s" },
        };

        for (i = 0; i < sizeof(xml) / sizeof(xml[0]); i++) {
            bc_dest d;
            bc_error err;
            char *a, *b;

            bc_error_init(&err);
            ck_assert_int_eq(bc_dest_parse(xml[i][0], strlen(xml[i][0]), &d,
                                           &err), 0);
            a = bc_dest_location(&d);
            b = bc_location_of_filename(xml[i][1]);
            ck_assert_msg(a && b && !strcmp(a, b), "%s: %s != %s", xml[i][1],
                          a ? a : "NULL", b ? b : "NULL");
            free(a);
            free(b);
            bc_dest_clear(&d);
        }
    }
    ck_assert_ptr_null(bc_location_of_filename("/var/lib/a.qcow2"));
    ck_assert_ptr_null(bc_location_of_filename("json:{\"driver\":\"file\"}"));
    ck_assert_ptr_null(bc_location_of_filename("json:not json"));
}
END_TEST

Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("codec");

    tcase_add_test(tc, test_base64);
    tcase_add_test(tc, test_digests);
    tcase_add_test(tc, test_known_hosts);
    tcase_add_test(tc, test_known_hosts_xml);
    tcase_add_test(tc, test_locations);
    suite_add_tcase(s, tc);
    return s;
}
