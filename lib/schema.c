/*
 * What this QEMU can do, from its own schema (query-qmp-schema), read once
 * per connection: features are found, not inferred from version numbers,
 * which distributions backport around.
 */
#include <string.h>

#include "conn.h"
#include "internal.h"
#include "jsonutil.h"

/*
 * One row a feature: the command it is, or the command whose argument
 * ('arg') or returned member ('member', of the object or of an array's
 * elements) it is; and the first upstream QEMU that has it, for messages.
 */
static const struct {
    const char *name;
    const char *command;
    const char *arg;
    const char *member;
    const char *since;
} features[BC_FEATURE_COUNT] = {
    [BC_FEATURE_TARGET_IS_ZERO] = { "target-is-zero", "blockdev-mirror",
                                    "target-is-zero", NULL, "10.1" },
    [BC_FEATURE_JOB_CHANGE] = { "block-job-change", "block-job-change", NULL,
                                NULL, "8.2" },
    [BC_FEATURE_ACTIVELY_SYNCED] = { "actively-synced", "query-block-jobs",
                                     NULL, "actively-synced", "8.2" },
    [BC_FEATURE_NODE_ACTIVE] = { "node-active", "query-named-block-nodes",
                                 NULL, "active", "10.0" },
};

const char *bc_feature_name(bc_feature f)
{
    return (unsigned)f < BC_FEATURE_COUNT ? features[f].name : NULL;
}

const char *bc_feature_since(bc_feature f)
{
    return (unsigned)f < BC_FEATURE_COUNT ? features[f].since : NULL;
}

static json_object *entity(json_object *schema, const char *name)
{
    return name ? bc_json_array_find(schema, "name", name) : NULL;
}

/* Does object type 'type' (or, for an array, its element type) have a
 * member called 'member', in its own members or in a variant's (a union:
 * BlockJobInfo is one since 8.2, with actively-synced in its mirror
 * branch)? */
static bool has_member(json_object *schema, const char *type,
                       const char *member)
{
    json_object *t = entity(schema, type), *variants;
    const char *elem = bc_json_str(t, "element-type");
    size_t i;

    if (elem)
        t = entity(schema, elem);
    if (bc_json_array_find(bc_json_get(t, "members"), "name", member))
        return true;
    variants = bc_json_get(t, "variants");
    for (i = 0; i < bc_json_len(variants); i++) {
        json_object *v = entity(schema, bc_json_str(
            json_object_array_get_idx(variants, i), "type"));

        if (bc_json_array_find(bc_json_get(v, "members"), "name", member))
            return true;
    }
    return false;
}

static bool schema_has(json_object *schema, bc_feature f)
{
    json_object *cmd = entity(schema, features[f].command);

    if (!cmd)
        return false;
    if (features[f].arg)
        return has_member(schema, bc_json_str(cmd, "arg-type"),
                          features[f].arg);
    if (features[f].member)
        return has_member(schema, bc_json_str(cmd, "ret-type"),
                          features[f].member);
    return true;
}

int bc_conn_need_feature(bc_conn *conn, bc_feature f, const char *what,
                         bc_error *err)
{
    int maj, min, mic;
    bool has;

    if (bc_conn_has_feature(conn, f, &has, err) < 0)
        return -1;
    if (has)
        return 0;
    bc_conn_get_qemu_version(conn, &maj, &min, &mic);
    return bc_set_error(err, BC_ERR_UNSUPPORTED, "this QEMU (%d.%d.%d) "
                        "cannot %s: that needs %s, QEMU %s or later", maj,
                        min, mic, what, features[f].name, features[f].since);
}

int bc_conn_has_feature(bc_conn *conn, bc_feature f, bool *has,
                        bc_error *err)
{
    json_object *schema = NULL;
    int i;

    *has = false;
    if (!conn || (unsigned)f >= BC_FEATURE_COUNT)
        return bc_set_error(err, BC_ERR_INVALID_ARG, "no such feature");
    if (!conn->features_read) {
        if (bc_conn_query(conn, "query-qmp-schema", NULL, &schema, err) < 0)
            return -1;
        for (i = 0; i < BC_FEATURE_COUNT; i++)
            if (schema_has(schema, (bc_feature)i))
                conn->features |= 1u << i;
        conn->features_read = true;
        json_object_put(schema);
    }
    *has = conn->features & (1u << f);
    return 0;
}
