/* gate.h - the only way a tool runs. The agent, the CLI (`ongrid-edge tool`) and the relay
 * all call gate_call(); approvals come back through gate_decide().
 *
 * For each call, in this order, and nothing runs unless every step passes:
 *   1. the tool exists;
 *   2. the arguments parse as JSON and validate against the tool's schema (an error names
 *      the field: "args.pid: expected an integer, got a string");
 *   3. the call's class is the tool's class, raised (never lowered) by the tool's
 *      classify() for this call (a bash command outside the allowlist is dangerous);
 *   4. the caller's role may call that class (tools.roles.*);
 *   5. a dangerous call is recorded as a pending approval and returned as a proposal; it
 *      runs only from gate_decide() once enough distinct humans approved (two with
 *      tools.double_sign, neither the requester), before it expires, and if nobody denied.
 *
 * Results are JSON with "status" as in the report contract's actions: "executed",
 * "failed", "proposed", "approved" (waiting for a second approver) or "denied".
 */
#ifndef ONGRID_GATE_H
#define ONGRID_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "edge/tools/tool.h"
#include "shared/diag.h"

struct edge_conf;
struct gate;

struct gate_caller {
	const char *role;     /* "viewer", "operator", "admin" */
	const char *identity; /* who asks: recorded as the requester of a proposal */
};

/* A gate over tools[0..ntools) (NULL = the registry). conf is borrowed for the gate's
 * life; approvals live in conf->data_dir and are opened when first needed. */
int gate_open(const struct edge_conf *conf, const struct tool *const *tools, size_t ntools,
              struct gate **ret, struct diag *d);
void gate_close(struct gate *g); /* NULL-safe */
void gate_set_timeline(struct gate *g, tool_timeline_fn *fn, void *udata);

/* One call. args_json may be NULL or "" for {}. Returns 0 with *ret_result (the caller
 * frees it) whenever the gate reached a verdict - executed, failed, proposed - or a
 * negative errno with d set when the call was refused before anything happened:
 * -ENOENT unknown tool, -EINVAL bad arguments or unknown role, -EPERM role may not call the
 * class, -EIO approvals storage. */
int gate_call(struct gate *g, const char *name, const char *args_json,
              const struct gate_caller *who, cJSON **ret_result, struct diag *d);

/* A human decision on a proposal. Approving the last needed time runs the call here, with
 * the requester's role re-checked against today's configuration. Returns 0 with a result,
 * or -ENOENT, -EALREADY, -ETIMEDOUT, -EPERM (see approvals.h; also: who is not in
 * tools.approvers) with d set. */
int gate_decide(struct gate *g, const char *id, const char *who, bool approve, cJSON **ret_result,
                struct diag *d);

/* The tools role may call, as the JSON array a model is given: name, class, description,
 * args_schema. A tool whose declared class the role may not call is left out; bash stays
 * (its refused commands are still refused or proposed per call). -EINVAL for an unknown
 * role. */
int gate_catalogue(const struct gate *g, const char *role, cJSON **ret, struct diag *d);

/* Pending proposals as a JSON array. */
int gate_pending(struct gate *g, cJSON **ret, struct diag *d);

/* The classes role may call, as a bit mask of (1 << enum tool_class); -EINVAL for a role
 * that is not viewer, operator or admin. */
int gate_role_classes(const struct edge_conf *conf, const char *role, unsigned *ret_mask,
                      struct diag *d);

/* Configuration check for tools.* (edge_conf.c calls it): every roles item is a class. */
int gate_conf_check(const struct edge_conf *conf, struct diag *d);

#endif
