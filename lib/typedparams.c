/*
 * Typed parameters, as libvirt's virTypedParameter: a flat array of named,
 * typed values that an API can grow without changing its signature.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const type_names[] = {
    [BC_TYPED_PARAM_INT] = "int",
    [BC_TYPED_PARAM_UINT] = "uint",
    [BC_TYPED_PARAM_LLONG] = "llong",
    [BC_TYPED_PARAM_ULLONG] = "ullong",
    [BC_TYPED_PARAM_DOUBLE] = "double",
    [BC_TYPED_PARAM_BOOLEAN] = "boolean",
    [BC_TYPED_PARAM_STRING] = "string",
};

const char *bc_typed_param_type_name(int type)
{
    if (type > 0 && (size_t)type < BC_ARRAY_SIZE(type_names))
        return type_names[type];
    return "unknown";
}

/* Make room for one more parameter and name it. */
static bc_typed_param *append(bc_typed_param **params, int *nparams,
                              int *maxparams, const char *name, int type,
                              bc_error *err)
{
    bc_typed_param *p;

    if (!params || !nparams || !maxparams || !name) {
        bc_set_error(err, BC_ERR_INVALID_ARG, "invalid typed parameter array");
        return NULL;
    }
    if (strlen(name) >= BC_TYPED_PARAM_FIELD_LENGTH) {
        bc_set_error(err, BC_ERR_INVALID_ARG,
                     "field name '%s' too long (at most %d bytes)", name,
                     BC_TYPED_PARAM_FIELD_LENGTH - 1);
        return NULL;
    }
    if (*nparams >= *maxparams) {
        int want = *maxparams ? *maxparams * 2 : 4;
        bc_typed_param *grown = realloc(*params, want * sizeof(**params));

        if (!grown) {
            bc_set_error_oom(err);
            return NULL;
        }
        *params = grown;
        *maxparams = want;
    }
    p = &(*params)[*nparams];
    memset(p, 0, sizeof(*p));
    bc_strlcpy(p->field, name, sizeof(p->field));
    p->type = type;
    return p;
}

#define DEFINE_ADD(suffix, ctype, TYPE, member)                               \
    int bc_typed_params_add_##suffix(bc_typed_param **params, int *nparams,   \
                                     int *maxparams, const char *name,        \
                                     ctype value, bc_error *err)              \
    {                                                                         \
        bc_typed_param *p = append(params, nparams, maxparams, name,          \
                                   BC_TYPED_PARAM_##TYPE, err);               \
                                                                              \
        if (!p)                                                               \
            return -1;                                                        \
        p->value.member = value;                                              \
        (*nparams)++;                                                         \
        return 0;                                                             \
    }

DEFINE_ADD(int, int, INT, i)
DEFINE_ADD(uint, unsigned int, UINT, ui)
DEFINE_ADD(llong, long long, LLONG, l)
DEFINE_ADD(ullong, unsigned long long, ULLONG, ul)
DEFINE_ADD(double, double, DOUBLE, d)
DEFINE_ADD(boolean, bool, BOOLEAN, b)

int bc_typed_params_add_string(bc_typed_param **params, int *nparams,
                               int *maxparams, const char *name,
                               const char *value, bc_error *err)
{
    bc_typed_param *p;
    char *copy;

    if (!value)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "string parameter '%s' has no value", name);
    if (!(copy = strdup(value)))
        return bc_set_error_oom(err);
    if (!(p = append(params, nparams, maxparams, name, BC_TYPED_PARAM_STRING,
                     err))) {
        free(copy);
        return -1;
    }
    p->value.s = copy;
    (*nparams)++;
    return 0;
}

static const bc_typed_param *find(const bc_typed_param *params, int nparams,
                                  const char *name)
{
    int i;

    for (i = 0; params && i < nparams; i++)
        if (strncmp(params[i].field, name, BC_TYPED_PARAM_FIELD_LENGTH) == 0)
            return &params[i];
    return NULL;
}

static int lookup(const bc_typed_param *params, int nparams, const char *name,
                  int type, const bc_typed_param **out, bc_error *err)
{
    const bc_typed_param *p = find(params, nparams, name);

    if (!p)
        return 0;
    if (p->type != type)
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "invalid type '%s' for parameter '%s', expected "
                            "'%s'", bc_typed_param_type_name(p->type), name,
                            bc_typed_param_type_name(type));
    *out = p;
    return 1;
}

#define DEFINE_GET(suffix, ctype, TYPE, member)                               \
    int bc_typed_params_get_##suffix(const bc_typed_param *params,            \
                                     int nparams, const char *name,           \
                                     ctype *value, bc_error *err)             \
    {                                                                         \
        const bc_typed_param *p = NULL;                                       \
        int rc = lookup(params, nparams, name, BC_TYPED_PARAM_##TYPE, &p,     \
                        err);                                                 \
                                                                              \
        if (rc == 1)                                                          \
            *value = p->value.member;                                         \
        return rc;                                                            \
    }

DEFINE_GET(int, int, INT, i)
DEFINE_GET(uint, unsigned int, UINT, ui)
DEFINE_GET(llong, long long, LLONG, l)
DEFINE_GET(ullong, unsigned long long, ULLONG, ul)
DEFINE_GET(double, double, DOUBLE, d)
DEFINE_GET(string, const char *, STRING, s)

int bc_typed_params_get_boolean(const bc_typed_param *params, int nparams,
                                const char *name, bool *value, bc_error *err)
{
    const bc_typed_param *p = NULL;
    int rc = lookup(params, nparams, name, BC_TYPED_PARAM_BOOLEAN, &p, err);

    if (rc == 1)
        *value = p->value.b != 0;
    return rc;
}

void bc_typed_params_free(bc_typed_param *params, int nparams)
{
    int i;

    if (!params)
        return;
    for (i = 0; i < nparams; i++)
        if (params[i].type == BC_TYPED_PARAM_STRING)
            free(params[i].value.s);
    free(params);
}

int bc_typed_params_validate(const bc_typed_param *params, int nparams,
                             const bc_typed_param_spec *spec, bc_error *err)
{
    const bc_typed_param_spec *s;
    int i, j;

    if (nparams < 0 || (nparams > 0 && !params))
        return bc_set_error(err, BC_ERR_INVALID_ARG,
                            "invalid typed parameter array");
    for (i = 0; i < nparams; i++) {
        const bc_typed_param *p = &params[i];

        if (!memchr(p->field, '\0', sizeof(p->field)))
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "field name '%.*s...' too long",
                                BC_TYPED_PARAM_FIELD_LENGTH - 1 - 3, p->field);
        for (s = spec; s && s->field; s++)
            if (strcmp(s->field, p->field) == 0)
                break;
        if (!s || !s->field)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "parameter '%s' not supported", p->field);
        if (s->type != p->type)
            return bc_set_error(err, BC_ERR_INVALID_ARG,
                                "invalid type '%s' for parameter '%s', "
                                "expected '%s'",
                                bc_typed_param_type_name(p->type), p->field,
                                bc_typed_param_type_name(s->type));
        for (j = 0; j < i; j++)
            if (strcmp(params[j].field, p->field) == 0)
                return bc_set_error(err, BC_ERR_INVALID_ARG,
                                    "parameter '%s' occurs multiple times",
                                    p->field);
    }
    return 0;
}
