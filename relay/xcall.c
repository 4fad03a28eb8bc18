/* xcall.c - "edge.call": an edge asks the relay to run a tool on another edge.
 *
 * The relay forwards {tool, args} as "tool.run" to the target with max_class set to the
 * caller's role (its key's role: safe-read unless `keys create --role` said more) and
 * the caller's name. The relay cannot know a tool's class, the target can: the target's
 * gate refuses anything above max_class, so the caller's limit holds even though the
 * class check runs on the far side. Cancellation and the deadline travel along.
 */
#define LOG_MODULE "xcall"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/db.h"
#include "relay/modules.h"
#include "shared/alloc.h"
#include "shared/auth.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

struct xcall {
	struct relay *relay;
	struct relay_call *call;
	char req_id[PROTO_ID_MAX + 1];
	char caller[AUTH_EDGE_ID_MAX + 1];
	char target[AUTH_EDGE_ID_MAX + 1];
	char tool[PROTO_TYPE_MAX + 1];
};

static void on_target_reply(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct xcall *x = udata;

	if (relay_db_audit(relay_db(x->relay), "xcall", x->caller, NULL, "%s -> %s tool %s: %s",
	                   x->caller, x->target, x->tool,
	                   err ? proto_code_from_errno(err) : "ok") < 0)
		log_warn("cannot write audit row, ignoring");
	if (err)
		relay_reply_error(x->call, err, "edge '%s': %s", x->target,
		                  msg ? msg : proto_code_from_errno(err));
	else
		relay_reply(x->call, payload);
	free(x);
}

static void on_caller_cancel(void *udata)
{
	struct xcall *x = udata;

	/* on_target_reply runs now with -ECANCELED and frees x. */
	relay_cancel(x->relay, x->req_id);
}

static void on_edge_call(struct relay_call *call, const cJSON *p, void *udata)
{
	struct relay *r = udata;
	const char *target = NULL, *tool = NULL;
	const cJSON *args;
	struct diag d = { 0 };
	struct xcall *x;
	cJSON *fwd;
	int rc;

	if (!p || json_get_string(p, "target", &target, "edge.call", &d) < 0 ||
	    json_get_string(p, "tool", &tool, "edge.call", &d) < 0 || !target || !tool) {
		relay_reply_error(call, -EINVAL, "%s",
		                  d.code ? d.msg : "edge.call needs target and tool");
		return;
	}
	if (!auth_valid_edge_id(target)) {
		relay_reply_error(call, -EINVAL, "edge.call.target: not an edge name");
		return;
	}
	if (!proto_valid_type(tool)) {
		relay_reply_error(call, -EINVAL, "edge.call.tool: not a tool name");
		return;
	}
	args = cJSON_GetObjectItemCaseSensitive(p, "args");
	if (args && !cJSON_IsObject(args)) {
		relay_reply_error(call, -EINVAL, "edge.call.args: expected an object");
		return;
	}
	if (!relay_edge_connected(r, target)) {
		relay_reply_error(call, -EHOSTUNREACH, "edge '%s' is not connected", target);
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->relay = r;
	x->call = call;
	str_copy(x->caller, relay_call_edge(call), sizeof(x->caller));
	str_copy(x->target, target, sizeof(x->target));
	str_copy(x->tool, tool, sizeof(x->tool));
	fwd = json_obj();
	json_add_str(fwd, "tool", tool);
	json_add(fwd, "args", args ? cJSON_Duplicate(args, true) : json_obj());
	json_add_str(fwd, "max_class", relay_call_role(call));
	json_add_str(fwd, "caller", x->caller);
	rc = relay_request(r, target, "tool.run", fwd, relay_call_remaining_ms(call),
	                   on_target_reply, x, x->req_id);
	cJSON_Delete(fwd);
	if (rc < 0) {
		relay_reply_error(call, rc, "cannot forward to edge '%s'", target);
		free(x);
		return;
	}
	relay_call_on_cancel(call, on_caller_cancel, x);
}

int xcall_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	int rc;

	(void)conf;
	rc = relay_register_handler(r, "edge.call", on_edge_call, r);
	if (rc < 0)
		return diag_set(d, rc, "cannot register edge.call");
	return 0;
}
