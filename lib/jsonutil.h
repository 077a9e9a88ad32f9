/*
 * Small helpers over json-c for building QMP arguments and reading
 * replies.  Internal to the library.
 */
#ifndef BC_JSONUTIL_H
#define BC_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Add a member; a NULL string value adds nothing.  Return 'obj'. */
json_object *bc_json_add_str(json_object *obj, const char *key,
                             const char *val);
json_object *bc_json_add_int(json_object *obj, const char *key, int64_t val);
json_object *bc_json_add_bool(json_object *obj, const char *key, bool val);
json_object *bc_json_add_null(json_object *obj, const char *key);
/* Add 'val', taking over the caller's reference. */
json_object *bc_json_add(json_object *obj, const char *key, json_object *val);

/* Read a member; missing or mistyped members give 'def' or NULL. */
const char *bc_json_str(json_object *obj, const char *key);
int64_t bc_json_int(json_object *obj, const char *key, int64_t def);
uint64_t bc_json_uint(json_object *obj, const char *key, uint64_t def);
bool bc_json_bool(json_object *obj, const char *key, bool def);
json_object *bc_json_get(json_object *obj, const char *key);

/* The length of 'array', 0 when it is NULL or not an array: QEMU's
 * replies are type-checked before use, never trusted. */
size_t bc_json_len(json_object *array);

/* The job an event is about: JOB_STATUS_CHANGE's "id" or BLOCK_JOB_*'s
 * "device", or NULL. */
const char *bc_json_event_job(json_object *data);

/* The first object of 'array' whose string member 'key' is 'value'
 * (borrowed), or NULL; 'array' may be NULL or not an array. */
json_object *bc_json_array_find(json_object *array, const char *key,
                                const char *value);

#endif /* BC_JSONUTIL_H */
