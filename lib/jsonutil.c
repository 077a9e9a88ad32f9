/*
 * json-c helpers.  json-c's own API takes a reference on add and needs a
 * type check on every read; these keep the callers short.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"

json_object *bc_json_add(json_object *obj, const char *key, json_object *val)
{
    json_object_object_add(obj, key, val);
    return obj;
}

json_object *bc_json_add_str(json_object *obj, const char *key,
                             const char *val)
{
    if (val)
        json_object_object_add(obj, key, json_object_new_string(val));
    return obj;
}

json_object *bc_json_add_int(json_object *obj, const char *key, int64_t val)
{
    json_object_object_add(obj, key, json_object_new_int64(val));
    return obj;
}

json_object *bc_json_add_bool(json_object *obj, const char *key, bool val)
{
    json_object_object_add(obj, key, json_object_new_boolean(val));
    return obj;
}

json_object *bc_json_add_null(json_object *obj, const char *key)
{
    json_object_object_add(obj, key, NULL);
    return obj;
}

json_object *bc_json_get(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

const char *bc_json_str(json_object *obj, const char *key)
{
    json_object *v = bc_json_get(obj, key);

    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int64_t bc_json_int(json_object *obj, const char *key, int64_t def)
{
    json_object *v = bc_json_get(obj, key);

    if (!v || !json_object_is_type(v, json_type_int))
        return def;
    return json_object_get_int64(v);
}

uint64_t bc_json_uint(json_object *obj, const char *key, uint64_t def)
{
    json_object *v = bc_json_get(obj, key);

    if (!v || !json_object_is_type(v, json_type_int))
        return def;
    /* QEMU sends sizes as unsigned 64-bit numbers. */
    return json_object_get_uint64(v);
}

bool bc_json_bool(json_object *obj, const char *key, bool def)
{
    json_object *v = bc_json_get(obj, key);

    if (!v || !json_object_is_type(v, json_type_boolean))
        return def;
    return json_object_get_boolean(v);
}

json_object *bc_json_array_find(json_object *array, const char *key,
                                const char *value)
{
    size_t i, n;

    if (!array || !json_object_is_type(array, json_type_array))
        return NULL;
    n = json_object_array_length(array);
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(array, i);
        const char *v = bc_json_str(e, key);

        if (v && strcmp(v, value) == 0)
            return e;
    }
    return NULL;
}

size_t bc_json_len(json_object *array)
{
    return array && json_object_is_type(array, json_type_array)
               ? json_object_array_length(array) : 0;
}

const char *bc_json_event_job(json_object *data)
{
    const char *id = bc_json_str(data, "id");

    return id ? id : bc_json_str(data, "device");
}
