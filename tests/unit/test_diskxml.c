/*
 * The destination <disk> parser: each form to its blockdev-add options,
 * each error, and hostile documents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diskxml.h"
#include "unit.h"

static bc_dest parse_ok(const char *xml)
{
    bc_dest d;
    bc_error err;

    bc_error_init(&err);
    ck_assert_msg(bc_dest_parse(xml, strlen(xml), &d, &err) == 0, "%s: %s",
                  xml, err.message);
    return d;
}

static void parse_bad(const char *xml, const char *want)
{
    bc_dest d;
    bc_error err;

    bc_error_init(&err);
    ck_assert_msg(bc_dest_parse(xml, strlen(xml), &d, &err) == -1,
                  "accepted: %s", xml);
    ck_assert_int_eq(err.code, BC_ERR_XML);
    ck_assert_msg(strstr(err.message, want), "'%s' not in '%s'", want,
                  err.message);
}

/* The protocol options of 'xml' as compact JSON, compared to 'want'. */
static void maps_to(const char *xml, const char *want)
{
    bc_dest d = parse_ok(xml);
    bc_error err;
    json_object *o;

    bc_error_init(&err);
    o = bc_dest_protocol_options(&d, "n", "sec0", "tls0", &err);
    ck_assert_msg(o != NULL, "%s", err.message);
    ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                     want);
    json_object_put(o);
    bc_dest_clear(&d);
}

START_TEST(test_file_and_block)
{
    bc_dest d = parse_ok("<disk type='file'><driver type='qcow2'/>"
                         "<source file='/var/lib/img/a.qcow2'/>"
                         "<target dev='vda'/><address type='pci'/></disk>");

    ck_assert_int_eq(d.type, BC_DEST_FILE);
    ck_assert_str_eq(d.format, "qcow2");
    ck_assert_str_eq(d.path, "/var/lib/img/a.qcow2");
    bc_dest_clear(&d);

    /* type defaults to file; no driver means no format. */
    d = parse_ok("<disk><source file='/x.img'/></disk>");
    ck_assert_int_eq(d.type, BC_DEST_FILE);
    ck_assert_ptr_null(d.format);
    bc_dest_clear(&d);

    maps_to("<disk type='file'><source file='/a b/c.img'/></disk>",
            "{\"node-name\":\"n\",\"driver\":\"file\",\"filename\":\"\\/a b"
            "\\/c.img\"}");
    maps_to("<disk type='block'><driver type='raw'/><source dev='/dev/sdz'/>"
            "</disk>",
            "{\"node-name\":\"n\",\"driver\":\"host_device\",\"filename\":"
            "\"\\/dev\\/sdz\"}");
}
END_TEST

START_TEST(test_network_forms)
{
    maps_to("<disk type='network'><driver type='raw'/>"
            "<source protocol='nbd' name='exp'><host name='10.0.0.2' "
            "port='10810'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"10.0.0.2\",\"port\":\"10810\"},\"export\":"
            "\"exp\"}");
    maps_to("<disk type='network'><source protocol='nbd' name='e'>"
            "<host name='h'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"h\",\"port\":\"10809\"},\"export\":\"e\"}");
    maps_to("<disk type='network'><source protocol='nbd' name='e'>"
            "<host transport='unix' socket='/run/nbd.sock'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"unix\",\"path\":\"\\/run\\/nbd.sock\"},\"export\":\"e\"}");
    maps_to("<disk type='network'><source protocol='rbd' name='pool/img'>"
            "<host name='mon1' port='6789'/><host name='mon2'/>"
            "<auth username='admin'><secret type='ceph' usage='x'/></auth>"
            "</source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"rbd\",\"pool\":\"pool\","
            "\"image\":\"img\",\"server\":[{\"host\":\"mon1\",\"port\":"
            "\"6789\"},{\"host\":\"mon2\",\"port\":\"6789\"}],\"user\":"
            "\"admin\",\"auth-client-required\":[\"cephx\"],\"key-secret\":"
            "\"sec0\"}");
    maps_to("<disk type='network'><source protocol='gluster' "
            "name='vol/dir/img.qcow2'><host name='g1' port='24007'/>"
            "</source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"gluster\",\"volume\":\"vol\","
            "\"path\":\"dir\\/img.qcow2\",\"server\":[{\"type\":\"inet\","
            "\"host\":\"g1\",\"port\":\"24007\"}]}");
    maps_to("<disk type='network'><source protocol='iscsi' "
            "name='iqn.2024-01.org.example:t1/2'><host name='10.1.1.1'/>"
            "</source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"iscsi\",\"transport\":\"tcp\","
            "\"portal\":\"10.1.1.1:3260\",\"target\":"
            "\"iqn.2024-01.org.example:t1\",\"lun\":2}");
    maps_to("<disk type='network'><source protocol='iscsi' "
            "name='iqn.2024-01.org.example:t1/0'><host name='::1' port='3261'/>"
            "<auth username='chap'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"iscsi\",\"transport\":\"tcp\","
            "\"portal\":\"[::1]:3261\",\"target\":"
            "\"iqn.2024-01.org.example:t1\",\"lun\":0,\"user\":\"chap\","
            "\"password-secret\":\"sec0\"}");
    maps_to("<disk type='network'><source protocol='ssh' name='/img/a.qcow2'>"
            "<host name='s' port='2222'/><auth username='u'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"ssh\",\"user\":\"u\","
            "\"server\":{\"host\":\"s\",\"port\":\"2222\"},\"path\":"
            "\"\\/img\\/a.qcow2\"}");
    maps_to("<disk type='network'><source protocol='nfs' name='/exp/a.img'>"
            "<host name='nfs1'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nfs\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"nfs1\"},\"path\":\"\\/exp\\/a.img\"}");
}
END_TEST

START_TEST(test_tls)
{
    bc_dest d;
    bc_error err;
    char *out;

    /* The credentials and, if given, the name the certificate carries. */
    maps_to("<disk type='network'><source protocol='nbd' name='e' tls='yes'>"
            "<host name='10.0.0.2'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"10.0.0.2\",\"port\":\"10809\"},\"export\":"
            "\"e\",\"tls-creds\":\"tls0\"}");
    maps_to("<disk type='network'><source protocol='nbd' name='e' tls='yes' "
            "tlsHostname='b.example.org'><host transport='unix' "
            "socket='/run/nbd.sock'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"unix\",\"path\":\"\\/run\\/nbd.sock\"},\"export\":\"e\","
            "\"tls-creds\":\"tls0\",\"tls-hostname\":\"b.example.org\"}");
    /* tls='no' is the default said aloud. */
    maps_to("<disk type='network'><source protocol='nbd' name='e' tls='no'>"
            "<host name='h'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"h\",\"port\":\"10809\"},\"export\":\"e\"}");

    d = parse_ok("<disk type='network'><source protocol='nbd' name='e' "
                 "tls='yes' tlsHostname='b'><host name='h'/></source></disk>");
    ck_assert(bc_dest_uses_tls(&d));
    bc_error_init(&err);
    out = bc_dest_format(&d, &err);
    ck_assert_str_eq(out, "<disk type=\"network\">\n"
                          "  <source protocol=\"nbd\" name=\"e\" tls=\"yes\" "
                          "tlsHostname=\"b\">\n"
                          "    <host name=\"h\"/>\n"
                          "  </source>\n"
                          "</disk>");
    free(out);
    bc_dest_clear(&d);
    d = parse_ok("<disk type='network'><source protocol='nbd' name='e' "
                 "tls='no'><host name='h'/></source></disk>");
    ck_assert(!bc_dest_uses_tls(&d));
    ck_assert(bc_dest_can_use_tls(&d));
    out = bc_dest_format(&d, &err);
    ck_assert_msg(strstr(out, "tls=\"no\""), "%s", out);
    free(out);
    bc_dest_clear(&d);

    d = parse_ok("<disk type='network'><source protocol='rbd' name='p/i' "
                 "tls='no'/></disk>");
    ck_assert(!bc_dest_can_use_tls(&d));
    bc_dest_clear(&d);

    /* Without credentials the options are not made at all. */
    d = parse_ok("<disk type='network'><source protocol='nbd' name='e' "
                 "tls='yes'><host name='h'/></source></disk>");
    ck_assert_ptr_null(bc_dest_protocol_options(&d, "n", NULL, NULL, &err));
    ck_assert_int_eq(err.code, BC_ERR_INTERNAL);
    bc_dest_clear(&d);

    parse_bad("<disk type='network'>\n<source protocol='nbd' name='e' "
              "tls='on'><host name='h'/></source></disk>",
              "line 2: tls must be 'yes' or 'no', not 'on'");
    parse_bad("<disk type='network'><source protocol='rbd' name='p/i' "
              "tls='yes'/></disk>", "protocol 'rbd' cannot use TLS");
    parse_bad("<disk type='network'><source protocol='gluster' name='v/p' "
              "tlsHostname='g'><host name='g'/></source></disk>",
              "protocol 'gluster' cannot use TLS, so it takes no tlsHostname");
    parse_bad("<disk type='network'><source protocol='nbd' name='e' "
              "tlsHostname='b'><host name='h'/></source></disk>",
              "tlsHostname 'b' is given, but TLS is not on (add tls='yes')");
    parse_bad("<disk type='network'><source protocol='nbd' name='e' "
              "tls='yes' tlsHostname=''><host name='h'/></source></disk>",
              "tlsHostname is empty");
}
END_TEST

START_TEST(test_errors)
{
    parse_bad("<disk", "not well-formed, line 1");
    parse_bad("<disk>\n<source file='/a'>\n</disk>", "line 3");
    parse_bad("<domain/>", "root element is <domain>, expected <disk>");
    parse_bad("<disk type='file'/>", "has no <source>");
    parse_bad("<disk type='volume'><source pool='p' volume='v'/></disk>",
              "disk type 'volume' cannot be a copy destination");
    parse_bad("<disk type='dir'><source dir='/d'/></disk>",
              "disk type 'dir' cannot be a copy destination");
    parse_bad("<disk type='floppy'><source file='/a'/></disk>",
              "unknown disk type 'floppy'");
    parse_bad("<disk><driver type='qcow9'/><source file='/a'/></disk>",
              "unknown or unsupported destination format 'qcow9'");
    parse_bad("<disk><source file='rel/a.img'/></disk>",
              "not an absolute path");
    parse_bad("<disk type='block'><source file='/a'/></disk>",
              "has no dev attribute");
    parse_bad("<disk><source file='/a'/><readonly/></disk>",
              "cannot be <readonly/>");
    parse_bad("<disk><source file='/a'/><shareable/></disk>",
              "cannot be <shareable/>");
    parse_bad("<disk type='network'><source protocol='http' name='x'>"
              "<host name='h'/></source></disk>", "read-only in QEMU");
    parse_bad("<disk type='network'><source protocol='ftps' name='x'>"
              "<host name='h'/></source></disk>", "read-only in QEMU");
    parse_bad("<disk type='network'><source protocol='sheepdog' name='x'>"
              "<host name='h'/></source></disk>",
              "unknown network protocol 'sheepdog'");
    parse_bad("<disk type='network'><source name='x'/></disk>",
              "has no protocol");
    parse_bad("<disk type='network'><source protocol='nbd' name='x'/></disk>",
              "has no <host>");
    parse_bad("<disk type='network'><source protocol='rbd'/></disk>",
              "has no name");
    parse_bad("<disk type='network'><source protocol='nbd'><host port='1'/>"
              "</source></disk>", "host has no name");
    parse_bad("<disk type='network'><source protocol='nbd'><host name='h' "
              "port='65536'/></source></disk>", "port '65536' is out of range");
    parse_bad("<disk type='network'><source protocol='nbd'><host name='h' "
              "port='0'/></source></disk>", "out of range");
    parse_bad("<disk type='network'><source protocol='nbd'><host name='h' "
              "port='8x'/></source></disk>", "out of range");
    parse_bad("<disk type='network'><source protocol='nbd'>"
              "<host transport='unix'/></source></disk>", "no socket");
    parse_bad("", "empty");
}
END_TEST

START_TEST(test_xxe_does_not_read_files)
{
    char path[] = "/tmp/bc-xxe-XXXXXX", xml[512];
    int fd = mkstemp(path);
    bc_dest d;
    bc_error err;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "/SECRET", 7), 7);
    close(fd);
    snprintf(xml, sizeof(xml),
             "<?xml version='1.0'?>\n<!DOCTYPE disk [\n"
             "<!ENTITY xxe SYSTEM 'file://%s'>\n]>\n"
             "<disk><source file='&xxe;'/></disk>", path);
    bc_error_init(&err);
    ck_assert_int_eq(bc_dest_parse(xml, strlen(xml), &d, &err), -1);
    ck_assert_msg(strstr(err.message, "DOCTYPE"), "%s", err.message);
    ck_assert(!strstr(err.message, "SECRET"));
    unlink(path);

    /* Without a DOCTYPE an entity is simply undefined. */
    parse_bad("<disk><source file='&xxe;'/></disk>", "not well-formed");
    /* Network DTDs are never fetched: refused before any load. */
    parse_bad("<!DOCTYPE disk SYSTEM 'http://127.0.0.1:9/x.dtd'>"
              "<disk><source file='/a'/></disk>", "DOCTYPE");
}
END_TEST

START_TEST(test_entity_bomb_refused_fast)
{
    const char *bomb =
        "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n"
        " <!ENTITY a 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'>\n"
        " <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>\n"
        " <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>\n"
        " <!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>\n"
        " <!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>\n"
        " <!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>\n"
        " <!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>\n"
        "]>\n<disk><source file='/&g;'/></disk>";
    struct timespec t0, t1;
    bc_dest d;
    bc_error err;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    bc_error_init(&err);
    ck_assert_int_eq(bc_dest_parse(bomb, strlen(bomb), &d, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_msg(strstr(err.message, "DOCTYPE"), "%s", err.message);
    ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 +
                     (t1.tv_nsec - t0.tv_nsec) / 1000000, 1000);
}
END_TEST

START_TEST(test_oversized_input_refused)
{
    size_t len = BC_DEST_XML_MAX + 1;
    char *xml = malloc(len + 1);
    bc_dest d;
    bc_error err;

    memset(xml, ' ', len);
    memcpy(xml, "<disk>", 6);
    xml[len] = '\0';
    bc_error_init(&err);
    ck_assert_int_eq(bc_dest_parse(xml, len, &d, &err), -1);
    ck_assert_msg(strstr(err.message, "larger than 1024 KiB"), "%s",
                  err.message);
    free(xml);
}
END_TEST

START_TEST(test_canonical_form)
{
    bc_dest d = parse_ok("<disk type='file' device='disk'>"
                         "<driver name='qemu' type='qcow2' cache='none'/>"
                         "<source file='/a&amp;b.qcow2'/><target dev='vda'/>"
                         "<alias name='x'/></disk>");
    bc_error err;
    char *out;

    bc_error_init(&err);
    out = bc_dest_format(&d, &err);
    ck_assert_str_eq(out, "<disk type=\"file\">\n"
                          "  <driver type=\"qcow2\"/>\n"
                          "  <source file=\"/a&amp;b.qcow2\"/>\n"
                          "</disk>");
    free(out);
    bc_dest_clear(&d);

    out = bc_dest_xml_from_path("/dev/vg/lv", "raw", true, &err);
    ck_assert_str_eq(out, "<disk type=\"block\">\n"
                          "  <driver type=\"raw\"/>\n"
                          "  <source dev=\"/dev/vg/lv\"/>\n"
                          "</disk>");
    free(out);
    ck_assert_ptr_null(bc_dest_xml_from_path("rel.img", NULL, false, &err));
    ck_assert_int_eq(err.code, BC_ERR_INVALID_ARG);
}
END_TEST

/* libvirt's <reconnect delay='N'/> on an NBD source is QEMU's
 * reconnect-delay; enabled='yes' timeout='N' says the same. */
START_TEST(test_reconnect)
{
    bc_dest d;
    bc_error err;
    char *out;

    maps_to("<disk type='network'><source protocol='nbd' name='e'>"
            "<host name='h'/><reconnect delay='10'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"h\",\"port\":\"10809\"},\"export\":\"e\","
            "\"reconnect-delay\":10}");
    maps_to("<disk type='network'><source protocol='nbd' name='e'>"
            "<host name='h'/><reconnect enabled='yes' timeout='4294967295'/>"
            "</source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"h\",\"port\":\"10809\"},\"export\":\"e\","
            "\"reconnect-delay\":4294967295}");
    /* Off, said aloud either way: QEMU's default, nothing sent. */
    maps_to("<disk type='network'><source protocol='nbd' name='e'>"
            "<host name='h'/><reconnect enabled='no'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"h\",\"port\":\"10809\"},\"export\":\"e\"}");
    maps_to("<disk type='network'><source protocol='nbd' name='e'>"
            "<host name='h'/><reconnect delay='0'/></source></disk>",
            "{\"node-name\":\"n\",\"driver\":\"nbd\",\"server\":{\"type\":"
            "\"inet\",\"host\":\"h\",\"port\":\"10809\"},\"export\":\"e\"}");

    bc_error_init(&err);
    d = parse_ok("<disk type='network'><source protocol='nbd' name='e'>"
                 "<host name='h'/><reconnect enabled='yes' timeout='7'/>"
                 "</source></disk>");
    out = bc_dest_format(&d, &err);
    ck_assert_str_eq(out, "<disk type=\"network\">\n"
                          "  <source protocol=\"nbd\" name=\"e\">\n"
                          "    <host name=\"h\"/>\n"
                          "    <reconnect delay=\"7\"/>\n"
                          "  </source>\n"
                          "</disk>");
    free(out);
    bc_dest_clear(&d);

    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect delay='ten'/></source></disk>",
              "reconnect delay 'ten' is not a number of seconds "
              "(0-4294967295)");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect enabled='yes' timeout='-1'/>"
              "</source></disk>",
              "reconnect timeout '-1' is not a number of seconds");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect delay='4294967296'/></source></disk>",
              "reconnect delay '4294967296' is not a number");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect delay=''/></source></disk>",
              "reconnect delay '' is not a number");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect delay=' 5'/></source></disk>",
              "reconnect delay ' 5' is not a number");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect enabled='no' timeout='5'/>"
              "</source></disk>",
              "reconnect timeout '5' is given, but reconnecting is off "
              "(enabled='no')");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect enabled='yes'/></source></disk>",
              "<reconnect enabled='yes'> has no timeout attribute");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect enabled='on' timeout='5'/>"
              "</source></disk>",
              "reconnect enabled must be 'yes' or 'no', not 'on'");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect/></source></disk>",
              "<reconnect> has no delay attribute");
    parse_bad("<disk type='network'><source protocol='nbd' name='e'>"
              "<host name='h'/><reconnect delay='5' enabled='yes' "
              "timeout='5'/></source></disk>",
              "<reconnect> takes either delay or enabled and timeout");
    parse_bad("<disk type='network'><source protocol='iscsi' "
              "name='iqn.2024-01.org.example:t1/0'><host name='h'/>"
              "<reconnect delay='5'/></source></disk>",
              "protocol 'iscsi' cannot reconnect (<reconnect> is for nbd)");
}
END_TEST

Suite *diskxml_suite(void)
{
    Suite *s = suite_create("diskxml");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_file_and_block);
    tcase_add_test(tc, test_network_forms);
    tcase_add_test(tc, test_tls);
    tcase_add_test(tc, test_reconnect);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_xxe_does_not_read_files);
    tcase_add_test(tc, test_entity_bomb_refused_fast);
    tcase_add_test(tc, test_oversized_input_refused);
    tcase_add_test(tc, test_canonical_form);
    suite_add_tcase(s, tc);
    return s;
}
