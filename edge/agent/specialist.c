/* specialist.c - the specialists as a table: what each may call and how much it may spend.
 * A tool outside a specialist's list is refused before the gate sees it, so a confused or
 * manipulated model in the network specialist cannot reach restart_service at all; the
 * one that may propose restarts (ops) still only gets a proposal from the gate.
 */
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/compiler.h"
#include "shared/banned.h"

static const char *const sre_tools[] = {
	"query_metrics",      "query_logs",
	"log_patterns",       "list_processes",
	"process_detail",     "host_probe_cpu",
	"host_probe_memory",  "query_change_events",
	"kb_search",          "profile_cpu",
	"find_topology_node", "expand_topology",
	"add_incident_note",  NULL,
};
static const char *const network_tools[] = {
	"query_metrics",
	"host_probe_net",
	"probe_tcp",
	"probe_http",
	"probe_dns",
	"find_topology_node",
	"expand_topology",
	"query_logs",
	"log_patterns",
	"kb_search",
	NULL,
};
static const char *const disk_tools[] = {
	"query_metrics",
	"host_probe_disk",
	"list_processes",
	"process_detail",
	"tail_file",
	"read_file",
	"query_logs",
	"log_patterns",
	"kb_search",
	"bash",
	NULL,
};
static const char *const ops_tools[] = {
	"list_processes",  "process_detail",      "service_status",    "service_logs",
	"query_logs",      "log_patterns",        "tail_file",         "read_file",
	"query_metrics",   "query_change_events", "kb_search",         "bash",
	"restart_service", "kill_process",        "add_incident_note", NULL,
};

const struct specialist agent_specialists[] = {
	{ .name = "sre",
	  .focus = "saturation and errors of the host as a whole: CPU, memory, pressure, OOM kills",
	  .tools = sre_tools,
	  .max_steps = 12,
	  .max_tokens = 20000,
	  .categories = { CAT_CPU, CAT_MEMORY, CAT_UNKNOWN } },
	{ .name = "network",
	  .focus = "connectivity: retransmits, resets, connect failures and latency per peer, DNS, "
	           "the services this host talks to",
	  .tools = network_tools,
	  .max_steps = 10,
	  .max_tokens = 15000,
	  .categories = { CAT_NETWORK, CAT_DEPENDENCY, CAT_UNKNOWN } },
	{ .name = "disk",
	  .focus = "storage: filesystems filling, block I/O latency per device, who writes",
	  .tools = disk_tools,
	  .max_steps = 10,
	  .max_tokens = 15000,
	  .categories = { CAT_DISK, CAT_UNKNOWN } },
	{ .name = "ops",
	  .focus = "processes and services: crash loops, exit codes, restarts, configuration "
	           "changes and the errors that follow them",
	  .tools = ops_tools,
	  .max_steps = 12,
	  .max_tokens = 20000,
	  .categories = { CAT_SERVICE, CAT_CONFIG, CAT_UNKNOWN } },
};
const size_t agent_specialists_count = ARRAY_SIZE(agent_specialists);

const struct specialist *specialist_find(const char *name)
{
	for (size_t i = 0; name && i < agent_specialists_count; i++)
		if (strcmp(agent_specialists[i].name, name) == 0)
			return &agent_specialists[i];
	return NULL;
}

const struct specialist *specialist_for(enum agent_category c)
{
	for (size_t i = 0; i < agent_specialists_count; i++)
		for (size_t j = 0; j < ARRAY_SIZE(agent_specialists[i].categories) &&
		                   agent_specialists[i].categories[j] != CAT_UNKNOWN;
		     j++)
			if (agent_specialists[i].categories[j] == c)
				return &agent_specialists[i];
	return &agent_specialists[0];
}

bool specialist_allows(const struct specialist *s, const char *tool)
{
	for (const char *const *t = s->tools; *t; t++)
		if (strcmp(*t, tool) == 0)
			return true;
	return false;
}
