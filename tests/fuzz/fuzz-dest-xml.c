/*
 * The destination <disk> parser with hostile documents: whatever parses
 * must also map to QEMU options and format back to XML that parses to
 * the same thing; whatever fails must fail as an XML error.  The same
 * bytes, taken as a file name QEMU reports ("ssh://...", "json:{...}"),
 * go through the reader of image locations, which must not crash.
 */
#include <stdlib.h>
#include <string.h>

#include "diskxml.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_dest dest, again;
    bc_error err;
    json_object *opts;
    char *xml = NULL, *xml2 = NULL, *desc;

    if ((xml = malloc(size + 1))) {
        memcpy(xml, data, size);
        xml[size] = '\0';
        free(bc_location_of_filename(xml));
        free(xml);
        xml = NULL;
    }

    bc_error_init(&err);
    if (bc_dest_parse((const char *)data, size, &dest, &err) < 0) {
        FUZZ_ASSERT(err.code == BC_ERR_XML || err.code == BC_ERR_INTERNAL);
        FUZZ_ASSERT(err.message[0] != '\0');
        bc_dest_clear(&dest);
        return 0;
    }

    opts = bc_dest_protocol_options(&dest, "fuzz-node",
                                    bc_dest_needs_secret(&dest) ?
                                    "fuzz-secret" : NULL,
                                    bc_dest_uses_tls(&dest) ?
                                    "fuzz-tls" : NULL, &err);
    FUZZ_ASSERT(opts || err.code == BC_ERR_XML);
    json_object_put(opts);
    bc_error_init(&err);
    desc = bc_dest_describe(&dest);
    FUZZ_ASSERT(desc);
    free(desc);
    (void)bc_dest_can_create(&dest);
    free(bc_dest_location(&dest));

    /* What --print-xml shows is a fixed point of parse and format. */
    xml = bc_dest_format(&dest, &err);
    FUZZ_ASSERT(xml);
    if (bc_dest_parse(xml, strlen(xml), &again, &err) < 0)
        fuzz_fail(__FILE__, __LINE__, err.message);
    xml2 = bc_dest_format(&again, &err);
    FUZZ_ASSERT(xml2 && strcmp(xml, xml2) == 0);

    free(xml2);
    free(xml);
    bc_dest_clear(&again);
    bc_dest_clear(&dest);
    return 0;
}
