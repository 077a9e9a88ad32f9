/*
 * QEMU's block graph (x-debug-query-block-graph): which job works on which
 * disk, and which nodes a disk's chain is made of.  Internal.
 */
#ifndef BC_GRAPH_H
#define BC_GRAPH_H

#include "disk.h"

/*
 * Fetch the graph.  Returns 1 with *graph set (new reference), 0 when this
 * QEMU does not have the command, -1 on error.
 */
int bc_graph_query(bc_conn *conn, json_object **graph, bc_error *err);

/* True when a node the job works on belongs to 'disk'. */
bool bc_graph_job_on_disk(json_object *graph, const char *job_id,
                          const bc_disk *disk);

/*
 * The names of 'node' and of the nodes below it (file, backing, ...),
 * parents before children, without duplicates.  A NULL-terminated array
 * the caller frees with bc_strv_free().
 */
char **bc_graph_subtree(json_object *graph, const char *node);

void bc_strv_free(char **strv);

#endif /* BC_GRAPH_H */
