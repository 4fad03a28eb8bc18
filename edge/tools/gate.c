/* gate.c - class x role, schema validation, approvals and double_sign, in one place. The
 * tools never see a call the gate has not passed (see gate.h for the order of checks). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge.h"
#include "edge/tools/approvals.h"
#include "edge/tools/gate.h"
#include "edge/tools/schema.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

struct gate {
	const struct edge_conf *conf;
	const struct tool *const *tools;
	size_t ntools;
	struct approvals *approvals; /* opened on first use */
	tool_timeline_fn *timeline;
	void *timeline_udata;
};

static const char *const role_names[] = { "viewer", "operator", "admin" };

static const struct conf_strlist *role_list(const struct edge_conf *c, const char *role)
{
	if (strcmp(role, "viewer") == 0)
		return &c->tools_roles_viewer;
	if (strcmp(role, "operator") == 0)
		return &c->tools_roles_operator;
	if (strcmp(role, "admin") == 0)
		return &c->tools_roles_admin;
	return NULL;
}

int gate_role_classes(const struct edge_conf *conf, const char *role, unsigned *ret_mask,
                      struct diag *d)
{
	const struct conf_strlist *l = role ? role_list(conf, role) : NULL;
	unsigned mask = 0;

	if (!l)
		return diag_set(d, -EINVAL, "unknown role '%s' (roles: viewer, operator, admin)",
		                role ? role : "");
	for (size_t i = 0; i < l->n; i++) {
		enum tool_class c;
		if (tool_class_parse(l->v[i], &c) < 0)
			return diag_set(
			        d, -EINVAL,
			        "tools.roles.%s: '%s' is not a class (safe-read, safe-write, "
			        "dangerous)",
			        role, l->v[i]);
		mask |= 1u << c;
	}
	*ret_mask = mask;
	return 0;
}

int gate_conf_check(const struct edge_conf *conf, struct diag *d)
{
	unsigned mask;

	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		int r = gate_role_classes(conf, role_names[i], &mask, d);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < conf->tools_restart_commands.n; i++) {
		const char *item = conf->tools_restart_commands.v[i], *eq = strchr(item, '=');
		if (!eq || eq == item || !eq[1])
			return diag_set(
			        d, -EINVAL,
			        "tools.restart_commands: expected \"unit=command\", got '%s'",
			        item);
	}
	return 0;
}

int gate_open(const struct edge_conf *conf, const struct tool *const *tools, size_t ntools,
              struct gate **ret, struct diag *d)
{
	struct gate *g;
	int r = gate_conf_check(conf, d);

	if (r < 0)
		return r;
	g = xcalloc(1, sizeof(*g));
	g->conf = conf;
	g->tools = tools ? tools : tool_registry;
	g->ntools = tools ? ntools : tool_registry_count;
	*ret = g;
	return 0;
}

void gate_close(struct gate *g)
{
	if (!g)
		return;
	approvals_close(g->approvals);
	free(g);
}

void gate_set_timeline(struct gate *g, tool_timeline_fn *fn, void *udata)
{
	g->timeline = fn;
	g->timeline_udata = udata;
}

static int need_approvals(struct gate *g, struct diag *d)
{
	if (g->approvals)
		return 0;
	if (!g->conf->data_dir || !*g->conf->data_dir)
		return diag_set(d, -EIO, "data_dir is not set: nowhere to keep approvals");
	return approvals_open(g->conf->data_dir, &g->approvals, d);
}

static const struct tool *find(const struct gate *g, const char *name)
{
	for (size_t i = 0; i < g->ntools; i++)
		if (strcmp(g->tools[i]->name, name) == 0)
			return g->tools[i];
	return NULL;
}

static void note(struct gate *g, const char *event, const cJSON *detail)
{
	if (g->timeline)
		g->timeline(g->timeline_udata, event, detail);
}

static void ctx_init(struct gate *g, struct tool_ctx *ctx, const char *role, const char *identity,
                     const char *approval_id)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = g->conf;
	ctx->role = role;
	ctx->identity = identity;
	ctx->approval_id = approval_id;
	/* the outer bound; each tool keeps its own, shorter one (bash: tools.bash_timeout) */
	ctx->deadline_ms = mono_ms() + ONGRID_TOOL_TIMEOUT_MAX_MS;
	ctx->output_max =
	        g->conf->tools_output_max > 0 && g->conf->tools_output_max <= ONGRID_TOOL_OUTPUT_MAX
	                ? g->conf->tools_output_max
	                : ONGRID_TOOL_OUTPUT_MAX;
	ctx->timeline = g->timeline;
	ctx->timeline_udata = g->timeline_udata;
}

/* Run a call that has passed the gate; always returns a result object. */
static cJSON *execute(struct gate *g, const struct tool *t, enum tool_class class,
                      const cJSON *args, struct tool_ctx *ctx)
{
	cJSON *res = json_obj(), *evidence = NULL;
	int64_t start = mono_ms();
	int r;

	json_add_str(res, "tool", t->name);
	json_add(res, "args", cJSON_Duplicate(args, true));
	json_add_str(res, "class", tool_class_name(class));
	r = t->run(ctx, args, &evidence);
	json_add_num(res, "duration_ms", (double)(mono_ms() - start));
	if (r < 0) {
		cJSON_Delete(evidence);
		json_add_str(res, "status", "failed");
		json_add_str(res, "error",
		             ctx->diag.msg[0] ? ctx->diag.msg
		                              : "the tool failed without a message");
	} else {
		json_add_str(res, "status", "executed");
		json_add(res, "evidence", evidence ? evidence : json_obj());
	}
	note(g, "tool_result", res);
	return res;
}

static int parse_args(const char *args_json, cJSON **ret, struct diag *d)
{
	struct diag pd = { 0 };
	cJSON *args;

	if (!args_json || !*args_json) {
		*ret = json_obj();
		return 0;
	}
	args = json_parse(args_json, strlen(args_json), ONGRID_TOOL_ARGS_MAX_BYTES, &pd);
	if (!args)
		return diag_set(d, pd.code == -E2BIG ? -E2BIG : -EINVAL, "args: %s", pd.msg);
	*ret = args;
	return 0;
}

int gate_call(struct gate *g, const char *name, const char *args_json,
              const struct gate_caller *who, cJSON **ret_result, struct diag *d)
{
	const struct tool *t = find(g, name);
	enum tool_class class, raised;
	struct tool_ctx ctx;
	struct diag why = { 0 };
	unsigned mask;
	cJSON *args = NULL, *res;
	int r;

	if (!t)
		return diag_set(d, -ENOENT, "unknown tool '%s' (see 'ongrid-edge tools')", name);
	r = parse_args(args_json, &args, d);
	if (r < 0)
		return r;
	r = schema_validate_text(t->args_schema, args, "args", d);
	if (r < 0)
		goto out;
	r = gate_role_classes(g->conf, who->role, &mask, d);
	if (r < 0)
		goto out;
	ctx_init(g, &ctx, who->role, who->identity, NULL);
	class = t->class;
	if (t->classify) {
		r = t->classify(&ctx, args, &raised, &why);
		if (r < 0) {
			diag_set(d, r, "%s", why.msg);
			goto out;
		}
		if (raised > class)
			class = raised;
	}
	if (!(mask & (1u << class))) {
		r = diag_set(d, -EPERM, "role '%s' may not call %s tools ('%s' is %s%s%s)",
		             who->role, tool_class_name(class), t->name, tool_class_name(class),
		             why.msg[0] ? " here: " : "", why.msg);
		goto out;
	}
	if (class == TOOL_DANGEROUS) {
		struct approval_request req = {
			.tool = t->name,
			.requested_by = who->identity,
			.role = who->role,
			.reason = why.msg[0] ? why.msg : NULL,
			.ttl_ms = g->conf->tools_approval_ttl_ms,
			.needed = g->conf->tools_double_sign ? 2 : 1,
		};
		char id[APPROVAL_ID_LEN + 1];
		char *text = json_print(args, false);

		req.args = text;
		r = need_approvals(g, d);
		if (r == 0)
			r = approvals_propose(g->approvals, &req, now_ms(), id, d);
		free(text);
		if (r < 0)
			goto out;
		r = approvals_describe(g->approvals, id, &res, d);
		if (r < 0)
			goto out;
		cJSON_DeleteItemFromObject(res, "status");
		json_add_str(res, "class", "dangerous");
		json_add_str(res, "status", "proposed");
		note(g, "proposed", res);
		*ret_result = res;
		goto out;
	}
	note(g, "tool_call", args);
	*ret_result = execute(g, t, class, args, &ctx);
out:
	cJSON_Delete(args);
	return r;
}

static bool may_approve(const struct edge_conf *c, const char *who)
{
	if (c->tools_approvers.n == 0)
		return true;
	for (size_t i = 0; i < c->tools_approvers.n; i++)
		if (strcmp(c->tools_approvers.v[i], who) == 0)
			return true;
	return false;
}

/* The decision made it APPROVAL_GO: run the stored call and record how it ended. */
static int run_approved(struct gate *g, const char *id, cJSON **ret_result, struct diag *d)
{
	struct approval ap;
	const struct tool *t;
	struct tool_ctx ctx;
	unsigned mask = 0;
	cJSON *args = NULL, *res = NULL;
	char *text;
	int r = approvals_get(g->approvals, id, &ap, d);

	if (r < 0)
		return r;
	t = find(g, ap.tool);
	/* Configuration may have changed since the proposal: check everything again. */
	if (!t)
		r = diag_set(d, -ENOENT, "tool '%s' no longer exists", ap.tool);
	if (r == 0)
		r = parse_args(ap.args, &args, d);
	if (r == 0 && t)
		r = schema_validate_text(t->args_schema, args, "args", d);
	if (r == 0)
		r = gate_role_classes(g->conf, ap.role, &mask, d);
	if (r == 0 && !(mask & (1u << TOOL_DANGEROUS)))
		r = diag_set(d, -EPERM,
		             "role '%s' of the requester may no longer call dangerous tools",
		             ap.role);
	if (r == 0 && t) {
		ctx_init(g, &ctx, ap.role, ap.requested_by, ap.id);
		ctx.proposed_ms = ap.created_ms;
		res = execute(g, t, TOOL_DANGEROUS, args, &ctx);
	} else {
		res = json_obj();
		json_add_str(res, "tool", ap.tool);
		json_add_str(res, "status", "failed");
		json_add_str(res, "error", d->msg);
	}
	json_add_str(res, "id", ap.id);
	text = json_print(res, false);
	{
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(res, "status");
		bool ok = cJSON_IsString(st) && strcmp(st->valuestring, "executed") == 0;
		struct diag fd = { 0 };
		/* the run happened; failing to record it is logged by the caller, not hidden */
		if (approvals_finish(g->approvals, ap.id, ok, text, now_ms(), &fd) < 0)
			json_add_str(res, "warning", fd.msg);
	}
	free(text);
	cJSON_Delete(args);
	approval_release(&ap);
	*ret_result = res;
	return 0;
}

int gate_decide(struct gate *g, const char *id, const char *who, bool approve, cJSON **ret_result,
                struct diag *d)
{
	enum approval_outcome out;
	cJSON *res;
	int r;

	if (!may_approve(g->conf, who))
		return diag_set(d, -EPERM, "'%s' is not in tools.approvers", who);
	r = need_approvals(g, d);
	if (r < 0)
		return r;
	r = approvals_decide(g->approvals, id, who, approve, now_ms(), &out, d);
	if (r < 0)
		return r;
	if (out == APPROVAL_GO)
		return run_approved(g, id, ret_result, d);
	r = approvals_describe(g->approvals, id, &res, d);
	if (r < 0)
		return r;
	cJSON_DeleteItemFromObject(res, "status");
	json_add_str(res, "status", out == APPROVAL_DENIED ? "denied" : "approved");
	note(g, "approval", res);
	*ret_result = res;
	return 0;
}

int gate_catalogue(const struct gate *g, const char *role, cJSON **ret, struct diag *d)
{
	unsigned mask = 0;
	cJSON *arr;
	int r = gate_role_classes(g->conf, role, &mask, d);

	if (r < 0)
		return r;
	arr = json_arr();
	for (size_t i = 0; i < g->ntools; i++) {
		const struct tool *t = g->tools[i];
		cJSON *o, *schema;

		if (!(mask & (1u << t->class)))
			continue;
		o = json_obj();
		schema = cJSON_Parse(t->args_schema);
		json_add_str(o, "name", t->name);
		json_add_str(o, "class", tool_class_name(t->class));
		json_add_str(o, "summary", t->summary);
		json_add_str(o, "description", t->description);
		json_add(o, "args_schema", schema ? schema : cJSON_CreateNull());
		json_push(arr, o);
	}
	*ret = arr;
	return 0;
}

int gate_pending(struct gate *g, cJSON **ret, struct diag *d)
{
	int r = need_approvals(g, d);

	return r < 0 ? r : approvals_list_pending(g->approvals, now_ms(), ret, d);
}
