/* topo.h - the merged service graph: each edge reports its local graph (addresses,
 * listening ports, outbound connections); the relay joins them by address:port into
 * host -> service -> host links (docs/protocol.md, "Topology").
 *
 * Direction: upstream of X is what X depends on (the services X connects to and the
 * hosts serving them, as in Envoy's "upstream host"); downstream of X is who depends on X.
 *
 * The graph is built from relay.sqlite's topology table, so the CLI and the running
 * relay answer the same; functions here are pure over that table and unit-testable.
 */
#ifndef ONGRID_RELAY_TOPO_H
#define ONGRID_RELAY_TOPO_H

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "shared/diag.h"

#define TOPO_MAX_HOPS    5
#define TOPO_MAX_ENTRIES 4096 /* listen + connect items in one edge's report */

enum topo_dir { TOPO_UPSTREAM, TOPO_DOWNSTREAM, TOPO_BOTH };

/* Check and store one edge's report (replacing its previous one). -EINVAL names the bad
 * field ("topology.connect[3].peer: expected ADDRESS:PORT"). */
int topo_store(sqlite3 *db, const char *edge, const cJSON *report, struct diag *d);

struct topo_graph;
int topo_load(sqlite3 *db, struct topo_graph **ret, struct diag *d);
void topo_graph_free(struct topo_graph *g);

/* find_topology_node: nodes whose name, address, address:port or process matches query.
 * Returns {"nodes": [...]}; never NULL. */
cJSON *topo_find(const struct topo_graph *g, const char *query);
/* expand_topology: nodes and links within hops (1..TOPO_MAX_HOPS) of the node named by
 * query (an id from topo_find or anything topo_find accepts, when it matches one node).
 * -ENOENT when nothing matches, -EINVAL when the query is ambiguous or hops is out of
 * range, with d set. */
int topo_expand(const struct topo_graph *g, const char *query, int hops, enum topo_dir dir,
                cJSON **ret, struct diag *d);
int topo_dir_parse(const char *s, enum topo_dir *ret);

#endif
