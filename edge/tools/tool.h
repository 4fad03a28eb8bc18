/* tool.h - what a tool is, and what it gets when it runs.
 *
 * A tool declares its class beside its name, in its own file under tools/builtin/, and is
 * listed once in tools/registry.c. The gate (tools/gate.c) is the only caller of run():
 * it validates the arguments against args_schema, checks the caller's role against the
 * class, and turns a `dangerous` call into a pending approval instead of running it. A
 * tool never decides its own class at run time; classify() may only raise it for one call
 * (bash: a command outside the allowlist is dangerous), and the gate ignores a lower one.
 *
 * Evidence is compact JSON, findings first: a tool returns what a reader (human or model)
 * needs to decide, with raw rows capped, never a dump.
 */
#ifndef ONGRID_TOOL_H
#define ONGRID_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

struct edge_conf;

enum tool_class { TOOL_SAFE_READ, TOOL_SAFE_WRITE, TOOL_DANGEROUS, _TOOL_CLASS_MAX };

/* "safe-read", "safe-write", "dangerous". */
const char *tool_class_name(enum tool_class c);
/* 0 or -EINVAL. */
int tool_class_parse(const char *s, enum tool_class *ret);

/* One step for the timeline: event is "call", "proposed", "ran", "refused"; detail is
 * borrowed for the call. */
typedef void tool_timeline_fn(void *udata, const char *event, const cJSON *detail);

struct tool_ctx {
	const struct edge_conf *conf;
	const char *role;        /* the caller's role ("viewer") */
	const char *identity;    /* who asked ("cli:root", "agent", "alice") */
	const char *approval_id; /* set when a dangerous call runs after its approval */
	int64_t proposed_ms;     /* when that call was proposed (epoch ms), else 0 */
	int64_t deadline_ms;     /* mono_ms() by which run() must return */
	size_t output_max;       /* raw output bytes a tool may put into its evidence */
	tool_timeline_fn *timeline;
	void *timeline_udata;
	struct diag diag; /* a tool's error message for the caller, when run() fails */
};

struct tool {
	const char *name;      /* "restart_service" */
	enum tool_class class; /* enforced by tools/gate.c, never by the tool */
	const char *summary;   /* one line for `ongrid-edge tools` */
	/* for a model: when to use it, what comes back */
	const char *description;
	const char *args_schema; /* JSON Schema (tools/schema.h); the gate validates first */
	/* Run with validated args. Returns 0 with *ret_evidence set (the caller frees it), or a
	 * negative errno with ctx->diag set; a tool that ran and found a failure (the service
	 * did not come back) returns 0 and says so in the evidence. */
	int (*run)(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence);
	/* Optional: the class of this particular call, with the reason when it is higher than
	 * the declared class. The gate takes the higher of the two. */
	int (*classify)(struct tool_ctx *ctx, const cJSON *args, enum tool_class *ret_class,
	                struct diag *why);
};

/* The registry (tools/registry.c). */
extern const struct tool *const tool_registry[];
extern const size_t tool_registry_count;
const struct tool *tool_find(const char *name);

/* Built-in tools (tools/builtin/). */
extern const struct tool tool_bash, tool_add_incident_note, tool_kill_process, tool_restart_service;
/* Evidence tools (tools/builtin/, helpers in builtin/evidence.h). */
extern const struct tool tool_list_processes, tool_process_detail, tool_read_file, tool_tail_file;
extern const struct tool tool_probe_tcp, tool_probe_http, tool_probe_dns;
extern const struct tool tool_query_metrics, tool_query_logs, tool_log_patterns;
extern const struct tool tool_find_topology_node, tool_expand_topology;
extern const struct tool tool_host_probe_cpu, tool_query_change_events;
extern const struct tool tool_kb_search, tool_host_probe_memory, tool_host_probe_disk,
        tool_host_probe_net, tool_service_status, tool_service_logs, tool_profile_cpu;

/* Helper for tools: the remaining time before ctx's deadline, at least 1 ms. */
int64_t tool_time_left_ms(const struct tool_ctx *ctx);

/* Put raw program output into evidence as key: invalid UTF-8 and control characters other
 * than newline and tab become '?', so the evidence is always valid JSON text; the lines of
 * a PEM private key block become "[private key withheld]"; a truncated output ends with a
 * "[... truncated at N bytes]" marker. */
void tool_add_output(cJSON *evidence, const char *key, const char *data, size_t len,
                     bool truncated);

#endif
