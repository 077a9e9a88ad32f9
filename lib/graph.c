/*
 * The block graph.  x-debug-query-block-graph is the only QMP command that
 * tells which nodes a job holds and how nodes hang together, so it is used
 * where it exists and everything still works, less precisely, where not.
 */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "jsonutil.h"

int bc_graph_query(bc_conn *conn, json_object **graph, bc_error *err)
{
    bc_error tmp;

    *graph = NULL;
    bc_error_init(&tmp);
    if (bc_conn_query(conn, "x-debug-query-block-graph", NULL, graph,
                      &tmp) == 0)
        return 1;
    /* Missing, or refused by policy (-compat unstable-input=reject): the
     * graph only ever makes an answer more precise. */
    if (tmp.code == BC_ERR_QMP)
        return 0;
    *err = tmp;
    return -1;
}

static json_object *nodes_of(json_object *g)
{
    return bc_json_get(g, "nodes");
}

static json_object *edges_of(json_object *g)
{
    return bc_json_get(g, "edges");
}

static json_object *node_by_id(json_object *g, int64_t id)
{
    json_object *nodes = nodes_of(g);
    size_t i, n = bc_json_len(nodes);

    for (i = 0; i < n; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);

        if (bc_json_int(node, "id", -1) == id)
            return node;
    }
    return NULL;
}

static int64_t node_id(json_object *g, const char *type, const char *name)
{
    json_object *nodes = nodes_of(g);
    size_t i, n = bc_json_len(nodes);

    for (i = 0; i < n; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        const char *t = bc_json_str(node, "type");
        const char *nm = bc_json_str(node, "name");

        if (t && nm && strcmp(t, type) == 0 && strcmp(nm, name) == 0)
            return bc_json_int(node, "id", -1);
    }
    return -1;
}

/* Does a block backend named like 'disk' sit above node 'id'? */
static bool backend_above(json_object *g, int64_t id, const bc_disk *disk,
                          int depth)
{
    json_object *edges = edges_of(g);
    size_t i, n = bc_json_len(edges);

    if (depth > 64)
        return false;
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(edges, i);
        json_object *parent;
        const char *type, *name;

        if (bc_json_int(e, "child", -1) != id)
            continue;
        parent = node_by_id(g, bc_json_int(e, "parent", -1));
        type = bc_json_str(parent, "type");
        name = bc_json_str(parent, "name");
        if (!type || !name)
            continue;
        if (strcmp(type, "block-backend") == 0) {
            if ((disk->drive && strcmp(name, disk->drive) == 0) ||
                (disk->qdev && strcmp(name, disk->qdev) == 0))
                return true;
        } else if (strcmp(type, "block-driver") == 0) {
            if (backend_above(g, bc_json_int(parent, "id", -1), disk,
                              depth + 1))
                return true;
        }
    }
    return false;
}

bool bc_graph_job_on_disk(json_object *g, const char *job_id,
                          const bc_disk *disk)
{
    json_object *edges = edges_of(g);
    int64_t job = node_id(g, "block-job", job_id);
    size_t i, n = bc_json_len(edges);

    if (job < 0)
        return false;
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(edges, i);
        const char *ename = bc_json_str(e, "name");

        /* The target of a copy belongs to the copy, not to a disk. */
        if (bc_json_int(e, "parent", -1) != job ||
            (ename && strcmp(ename, "target") == 0))
            continue;
        if (backend_above(g, bc_json_int(e, "child", -1), disk, 0))
            return true;
    }
    return false;
}

void bc_strv_free(char **strv)
{
    char **p;

    if (!strv)
        return;
    for (p = strv; *p; p++)
        free(*p);
    free(strv);
}

static bool strv_has(char **strv, size_t n, const char *s)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(strv[i], s) == 0)
            return true;
    return false;
}

char **bc_graph_subtree(json_object *g, const char *node)
{
    json_object *edges = edges_of(g);
    size_t nedges = bc_json_len(edges);
    size_t count = 0, done = 0, cap = 8, i;
    char **names = calloc(cap + 1, sizeof(*names));

    if (!names)
        return NULL;
    if (!(names[count++] = strdup(node)))
        goto oom;
    /* Breadth first, so that every parent comes before its children. */
    for (done = 0; done < count; done++) {
        int64_t id = node_id(g, "block-driver", names[done]);

        for (i = 0; id >= 0 && i < nedges; i++) {
            json_object *e = json_object_array_get_idx(edges, i);
            const char *cname;

            if (bc_json_int(e, "parent", -1) != id)
                continue;
            cname = bc_json_str(node_by_id(g, bc_json_int(e, "child", -1)),
                                "name");
            if (!cname || !*cname || strv_has(names, count, cname))
                continue;
            if (count == cap) {
                char **grown = realloc(names, (cap * 2 + 1) * sizeof(*names));

                if (!grown)
                    goto oom;
                names = grown;
                cap *= 2;
            }
            if (!(names[count++] = strdup(cname)))
                goto oom;
            names[count] = NULL;
        }
    }
    names[count] = NULL;
    return names;

 oom:
    names[count] = NULL;
    bc_strv_free(names);
    return NULL;
}
