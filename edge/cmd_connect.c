/* cmd_connect.c - `ongrid-edge connect`: the relay tunnel and the outbox alone, in the
 * foreground, until the edge daemon (`ongrid-edge run`) embeds the same tunnel; and
 * `ongrid-edge outbox`, which queues messages for it.
 *
 * connect answers the relay's "ping", "echo" and "tool.run". tool.run goes through the
 * tool registry's gate (edge/tools/gate.c) for every registry tool, with the role chosen by
 * the class ceiling the relay passes for cross-host calls (max_class). Three tools of the
 * tunnel's own remain for when the gate cannot open and for tests: ping and echo
 * (safe-read) and note (safe-write: appends a line to data_dir/notes.log).
 *
 * The relay's merged topology needs this host's service graph: connect scans it (topo.c)
 * at every connect and every relay.topology_interval and queues it in the outbox (kind
 * "topology") when it changed; --topology FILE queues that file's graph instead.
 *
 * With --call TYPE ['JSON'], connect sends one request once the tunnel is up, prints the
 * reply's payload and exits: 0 on success, 1 when the relay answered an error or could
 * not be reached in --timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "edge/agent/agent.h"
#include "edge/edge.h"
#include "edge/outbox.h"
#include "edge/topo.h"
#include "edge/tools/gate.h"
#include "edge/tunnel.h"
#include "shared/alloc.h"
#include "shared/cli.h"
#include "shared/clock.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

enum tclass { CLASS_SAFE_READ, CLASS_SAFE_WRITE, CLASS_DANGEROUS, _CLASS_MAX };

static const char *const class_names[_CLASS_MAX] = { "safe-read", "safe-write", "dangerous" };

static int class_parse(const char *s)
{
	for (int i = 0; i < _CLASS_MAX; i++)
		if (s && !strcmp(s, class_names[i]))
			return i;
	return -1;
}

struct connect_ctx {
	struct ev_loop *loop;
	const struct edge_conf *conf;
	struct tunnel *tunnel;
	struct gate *gate;   /* the tool registry's gate; NULL when it could not open */
	cJSON *topology;     /* --topology FILE: the graph queued instead of this host's */
	ev_timer topo_timer; /* this host's graph, scanned and queued when it changed */
	struct outbox *ob;   /* what the relay must get (owned by cmd_connect) */
	struct outbox_pump *pump;
	uint64_t topo_hash; /* of the graph queued last; 0 = none yet */
	/* --call */
	const char *call_type;
	cJSON *call_payload;
	int64_t timeout_ms;
	bool json, sent, done;
	int exit_status;
	ev_timer deadline;
};

/* ---- what the relay may ask --------------------------------------------------- */

static void h_ping(struct tunnel_call *call, const cJSON *p, void *udata)
{
	struct connect_ctx *cx = udata;
	cJSON *r = json_obj();

	(void)p;
	json_add_bool(r, "pong", true);
	json_add_str(r, "edge", cx->conf->name);
	json_add_num(r, "time_ms", (double)now_ms());
	tunnel_reply(call, r);
	cJSON_Delete(r);
}

static void h_echo(struct tunnel_call *call, const cJSON *p, void *udata)
{
	(void)udata;
	tunnel_reply(call, p);
}

static int tool_note(struct connect_ctx *cx, const cJSON *args, const char *caller, cJSON *out,
                     struct diag *d)
{
	const char *text = NULL;
	char path[4096], line[1400], ts[40];
	int fd, n;

	if (json_get_string(args, "text", &text, "args", d) < 0 || !text)
		return diag_set(d, -EINVAL, "args.text: a string is required");
	if (strlen(text) > 1024 || strpbrk(text, "\r\n"))
		return diag_set(d, -EINVAL, "args.text: one line of at most 1024 bytes");
	snprintf(path, sizeof(path), "%s/notes.log", cx->conf->data_dir);
	clock_format_rfc3339(ts, sizeof(ts), now_ms());
	n = snprintf(line, sizeof(line), "%s %s %s\n", ts, caller, text);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return diag_set(d, -errno, "cannot open '%s': %s", path, strerror(errno));
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		return diag_set(d, -EIO, "cannot write '%s'", path);
	}
	close(fd);
	json_add_bool(out, "written", true);
	json_add_str(out, "file", path);
	return 0;
}

static const struct {
	const char *name;
	enum tclass cls;
} tools[] = {
	{ "ping", CLASS_SAFE_READ },
	{ "echo", CLASS_SAFE_READ },
	{ "note", CLASS_SAFE_WRITE },
};

/* The most capable role whose classes all lie at or below limit: the relay passes a class
 * ceiling, the gate thinks in roles (tools.roles.*), so the ceiling picks the role. */
static const char *role_for_limit(const struct connect_ctx *cx, int limit)
{
	static const char *const roles[] = { "admin", "operator", "viewer" };
	unsigned allowed = (2u << limit) - 1, mask;

	for (size_t i = 0; i < ARRAY_SIZE(roles); i++)
		if (gate_role_classes(cx->conf, roles[i], &mask, NULL) == 0 && mask &&
		    (mask & ~allowed) == 0)
			return roles[i];
	return NULL;
}

/* A registry tool: through the gate, like every other caller (schema, class, role,
 * approvals for dangerous calls). The gate runs the tool synchronously on this loop; the
 * daemon, which embeds the tunnel, runs it off the loop. */
static void run_gated(struct connect_ctx *cx, struct tunnel_call *call, const cJSON *p,
                      const char *name, int limit, const char *caller)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(p, "args");
	struct gate_caller who = { role_for_limit(cx, limit), caller };
	struct diag d = { 0 };
	cJSON *result = NULL;
	char *args_json;
	int r;

	if (!who.role) {
		tunnel_reply_error(call, -EPERM, "no role on edge '%s' is limited to %s",
		                   cx->conf->name, class_names[limit]);
		return;
	}
	args_json = args ? json_print(args, false) : NULL;
	r = gate_call(cx->gate, name, args_json, &who, &result, &d);
	free(args_json);
	if (r < 0)
		tunnel_reply_error(call, r, "%s", d.msg);
	else
		tunnel_reply(call, result);
	cJSON_Delete(result);
}

static void h_tool_run(struct tunnel_call *call, const cJSON *p, void *udata)
{
	struct connect_ctx *cx = udata;
	const char *name = NULL, *max = NULL, *caller = NULL;
	const cJSON *args;
	struct diag d = { 0 };
	int limit = CLASS_DANGEROUS, r;
	cJSON *out;
	size_t i;

	if (!p || json_get_string(p, "tool", &name, "tool.run", &d) < 0 || !name) {
		tunnel_reply_error(call, -EINVAL, "%s", d.code ? d.msg : "tool.run.tool: missing");
		return;
	}
	if (json_get_string(p, "max_class", &max, "tool.run", &d) == -EINVAL) {
		tunnel_reply_error(call, -EINVAL, "%s", d.msg);
		return;
	}
	/* A call that came through the relay for another edge carries its caller's limit;
	 * this edge applies it itself rather than trusting that the relay did. */
	if (max) {
		limit = class_parse(max);
		if (limit < 0) {
			tunnel_reply_error(call, -EINVAL, "tool.run.max_class: unknown class '%s'",
			                   max);
			return;
		}
	}
	if (json_get_string(p, "caller", &caller, "tool.run", NULL) < 0 || !caller)
		caller = "relay";
	if (cx->gate && tool_find(name)) {
		run_gated(cx, call, p, name, limit, caller);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(tools); i++)
		if (!strcmp(tools[i].name, name))
			break;
	if (i == ARRAY_SIZE(tools)) {
		tunnel_reply_error(call, -ENOENT, "no tool named '%s' on edge '%s'", name,
		                   cx->conf->name);
		return;
	}
	if ((int)tools[i].cls > limit) {
		tunnel_reply_error(call, -EPERM,
		                   "tool '%s' is %s; the caller '%s' may run at most %s", name,
		                   class_names[tools[i].cls], caller, class_names[limit]);
		return;
	}
	args = cJSON_GetObjectItemCaseSensitive(p, "args");
	out = json_obj();
	json_add_str(out, "tool", name);
	json_add_str(out, "edge", cx->conf->name);
	json_add_str(out, "class", class_names[tools[i].cls]);
	if (!strcmp(name, "ping"))
		json_add_bool(out, "pong", true);
	else if (!strcmp(name, "echo"))
		json_add(out, "echo", args ? cJSON_Duplicate(args, true) : json_obj());
	r = strcmp(name, "note") != 0 ? 0 : tool_note(cx, args, caller, out, &d);
	if (r < 0)
		tunnel_reply_error(call, r, "%s", d.msg);
	else
		tunnel_reply(call, out);
	cJSON_Delete(out);
}

/* ---- --call and state ---------------------------------------------------------- */

static void on_call_reply(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct connect_ctx *cx = udata;

	cx->done = true;
	if (err) {
		fprintf(stderr, "ongrid-edge connect: relay answered %s: %s: %s\n", cx->call_type,
		        proto_code_from_errno(err), msg ? msg : "");
		cx->exit_status = 1;
	} else {
		cx->exit_status = json_print_stdout(payload, !cx->json) < 0 ? 1 : 0;
	}
	ev_break(cx->loop, EVBREAK_ALL);
}

/* ongrid's own connections (this tunnel, an investigation's session) lead to the relay,
 * which no service here depends on: in the merged graph they would make the relay look
 * like every host's upstream. */
static void drop_own_connections(cJSON *rep)
{
	cJSON *conn = cJSON_GetObjectItemCaseSensitive(rep, "connect");

	for (int i = cJSON_GetArraySize(conn) - 1; i >= 0; i--) {
		const char *proc = cJSON_GetStringValue(
		        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(conn, i), "process"));
		if (proc && strcmp(proc, "ongrid-edge") == 0)
			cJSON_DeleteItemFromArray(conn, i);
	}
}

/* FNV-1a: enough to tell one graph from the next; a collision costs one missed update,
 * which the next change makes good. */
static uint64_t text_hash(const char *text)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h ? h : 1;
}

/* The graph the relay merges (the --topology file as given, or this host's now), queued
 * in the outbox as "topology" when it differs from the one queued last: a change made
 * while the relay is away waits on disk and is delivered once, and an older undelivered
 * graph is replaced, not sent first (outbox_put_latest). */
static void queue_topology(struct connect_ctx *cx)
{
	struct topo *t = NULL;
	struct diag d = { 0 };
	cJSON *rep = cx->topology;
	uint64_t h;
	char *text;

	if (!cx->ob)
		return;
	if (!rep) {
		if (topo_scan(&t, &d) < 0) {
			log_warn("cannot read this host's connections for the relay's topology: %s",
			         d.msg);
			return;
		}
		topo_add_daemon_flows(t, cx->conf->control_socket);
		rep = topo_report_json(t);
		topo_free(t);
		drop_own_connections(rep);
	}
	text = json_print(rep, false);
	h = text_hash(text);
	free(text);
	if (h != cx->topo_hash) {
		if (outbox_put_latest(cx->ob, "topology", rep, NULL, &d) < 0) {
			log_warn("cannot queue the topology for the relay: %s", d.msg);
		} else {
			cx->topo_hash = h;
			outbox_pump_kick(cx->pump);
		}
	}
	if (rep != cx->topology)
		cJSON_Delete(rep);
}

/* Services come and go: the graph is scanned every relay.topology_interval, whether the
 * tunnel is up or not, and a change waits in the outbox while the relay is away. */
static void on_topology_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct connect_ctx *cx = container_of(w, struct connect_ctx, topo_timer);

	(void)loop, (void)revents;
	queue_topology(cx);
}

static void on_state(void *udata, enum tunnel_state s)
{
	struct connect_ctx *cx = udata;
	int r;

	/* for `ongrid-edge status`; a session (--call) is not the edge's tunnel */
	if (!cx->call_type && tunnel_file_save(cx->conf->data_dir, cx->tunnel, false) < 0)
		log_warn("cannot write %s/tunnel.json for status, ignoring", cx->conf->data_dir);
	if (s != TUNNEL_UP)
		return;
	if (!cx->call_type) /* a change since the last scan goes now, not at the next tick */
		queue_topology(cx);
	if (cx->call_type && !cx->sent) {
		cx->sent = true;
		r = tunnel_request(cx->tunnel, cx->call_type, cx->call_payload, cx->timeout_ms,
		                   on_call_reply, cx, NULL);
		if (r < 0) {
			fprintf(stderr, "ongrid-edge connect: cannot send '%s': %s\n",
			        cx->call_type, strerror(-r));
			cx->done = true;
			cx->exit_status = r == -E2BIG ? 2 : 1;
			ev_break(cx->loop, EVBREAK_ALL);
		}
	}
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct connect_ctx *cx = container_of(w, struct connect_ctx, deadline);
	cJSON *st;
	const cJSON *err;

	(void)revents;
	if (cx->sent)
		return; /* the request has its own deadline */
	st = tunnel_status_json(cx->tunnel);
	err = cJSON_GetObjectItem(st, "last_error");
	fprintf(stderr, "ongrid-edge connect: no connection to the relay within %llds%s%s\n",
	        (long long)(cx->timeout_ms / 1000), cJSON_IsString(err) ? ": " : "",
	        cJSON_IsString(err) ? err->valuestring : "");
	cJSON_Delete(st);
	cx->done = true;
	cx->exit_status = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("received %s, disconnecting", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

/* relay.labels "k=v" items -> {"k": "v"}; -EINVAL names the bad item. */
static int labels_json(const struct conf_strlist *l, cJSON **ret, struct diag *d)
{
	cJSON *o = json_obj();

	for (size_t i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');
		char key[65];

		if (!eq || eq == l->v[i] || (size_t)(eq - l->v[i]) >= sizeof(key) ||
		    strlen(eq + 1) > 256) {
			cJSON_Delete(o);
			return diag_set(
			        d, -EINVAL,
			        "relay.labels: expected \"key=value\" (key up to 64, value up "
			        "to 256 bytes), got '%s'",
			        l->v[i]);
		}
		memcpy(key, l->v[i], (size_t)(eq - l->v[i]));
		key[eq - l->v[i]] = '\0';
		json_add_str(o, key, eq + 1);
	}
	*ret = o;
	return 0;
}

static int load_json_file(const char *path, cJSON **ret)
{
	struct diag d = { 0 };
	size_t len;
	char *text;
	int r;

	r = read_file_max(path, OUTBOX_BODY_MAX, &text, &len);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge connect: cannot read '%s': %s\n", path, strerror(-r));
		return 2;
	}
	*ret = json_parse(text, len, OUTBOX_BODY_MAX, &d);
	free(text);
	if (!*ret || !cJSON_IsObject(*ret)) {
		fprintf(stderr, "ongrid-edge connect: %s: %s\n", path,
		        d.code ? d.msg : "expected a JSON object");
		cJSON_Delete(*ret);
		return 2;
	}
	return 0;
}

int cmd_connect(int argc, char **argv)
{
	const char *path = NULL, *call = NULL, *timeout = NULL, *topo = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },   { "call", 0, true, &call, NULL },
		{ "timeout", 0, true, &timeout, NULL }, { "topology", 0, true, &topo, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct connect_ctx cx = { 0 };
	struct edge_conf conf;
	struct tunnel_conf tc = { 0 };
	struct outbox *ob = NULL;
	struct outbox_pump *pump = NULL;
	struct diag d = { 0 };
	ev_signal sigint, sigterm;
	cJSON *labels = NULL;
	char obpath[4096];
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "connect", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs > (call ? 1 : 0)) {
		fprintf(stderr, "ongrid-edge connect: unexpected argument '%s'\n",
		        args[call ? 1 : 0]);
		return 2;
	}
	cx.timeout_ms = 10000;
	if (timeout && (str_to_duration_ms(timeout, &cx.timeout_ms) < 0 || cx.timeout_ms <= 0 ||
	                cx.timeout_ms > 86400000)) {
		fprintf(stderr,
		        "ongrid-edge connect: --timeout: expected a duration such as 10s, "
		        "got '%s'\n",
		        timeout);
		return 2;
	}
	if (call) {
		if (!proto_valid_type(call)) {
			fprintf(stderr,
			        "ongrid-edge connect: --call: '%s' is not a request type "
			        "([a-z0-9._-], not reply/cancel/error)\n",
			        call);
			return 2;
		}
		cx.call_payload =
		        nargs ? json_parse(args[0], strlen(args[0]), ONGRID_JSON_MAX_BYTES, &d)
		              : json_obj();
		if (!cx.call_payload || !cJSON_IsObject(cx.call_payload)) {
			fprintf(stderr, "ongrid-edge connect: request payload: %s\n",
			        d.code ? d.msg : "expected a JSON object");
			cJSON_Delete(cx.call_payload);
			return 2;
		}
	}
	r = edge_conf_load(&conf, path);
	if (r)
		goto out_payload;
	if (!conf.relay_url || !*conf.relay_url) {
		fprintf(stderr,
		        "ongrid-edge connect: relay.url is not set: this edge is stand-alone\n");
		r = 2;
		goto out_conf;
	}
	if (topo) {
		r = load_json_file(topo, &cx.topology);
		if (r)
			goto out_conf;
	}
	if (labels_json(&conf.relay_labels, &labels, &d) < 0) {
		fprintf(stderr, "ongrid-edge connect: %s\n", d.msg);
		r = 2;
		goto out_conf;
	}
	signal(SIGPIPE, SIG_IGN);
	cx.loop = ev_default_loop(EVFLAG_AUTO);
	cx.conf = &conf;
	cx.json = json;
	cx.call_type = call;
	tc.url = conf.relay_url;
	tc.access_key = conf.relay_access_key;
	tc.secret_key = conf.relay_secret_key;
	tc.fingerprint = conf.relay_fingerprint;
	tc.insecure = conf.relay_insecure;
	tc.edge_id = conf.name;
	tc.labels = labels;
	tc.backoff_max_ms = conf.relay_backoff_max_ms;
	tc.session = call != NULL;
	r = tunnel_open(cx.loop, &tc, &cx.tunnel, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge connect: %s\n", d.msg);
		r = r == -EINVAL ? 2 : 1;
		goto out_conf;
	}
	(void)tunnel_register_handler(cx.tunnel, "ping", h_ping, &cx);
	(void)tunnel_register_handler(cx.tunnel, "echo", h_echo, &cx);
	(void)tunnel_register_handler(cx.tunnel, "tool.run", h_tool_run, &cx);
	/* the relay's investigate (chat, alerts): edge/agent/serve.c runs it as a child */
	if (!call)
		(void)agent_serve_register(cx.tunnel, cx.loop, path, conf.data_dir);
	if (!call && gate_open(&conf, NULL, 0, &cx.gate, &d) < 0) {
		log_warn("tool gate unavailable (%s): only ping, echo and note answer tool.run",
		         d.msg);
		cx.gate = NULL;
	}
	(void)tunnel_on_state(cx.tunnel, on_state, &cx);
	if (!call) {
		r = mkdir_p(conf.data_dir, 0700);
		snprintf(obpath, sizeof(obpath), "%s/%s", conf.data_dir, OUTBOX_FILE);
		if (r == 0)
			r = outbox_open(obpath, conf.outbox_max_rows, &ob, &d);
		if (r == 0)
			r = outbox_pump_start(cx.loop, ob, cx.tunnel, &pump);
		cx.ob = ob;
		cx.pump = pump;
		if (r < 0) {
			log_err("cannot open the outbox '%s': %s", obpath,
			        d.code ? d.msg : strerror(-r));
			r = 1;
			goto out_tunnel;
		}
		if (!cx.topology && conf.relay_topology_interval_ms > 0) {
			double every = (double)conf.relay_topology_interval_ms / 1000.0;

			ev_timer_init(&cx.topo_timer, on_topology_timer, every, every);
			ev_timer_start(cx.loop, &cx.topo_timer);
		}
	} else {
		ev_timer_init(&cx.deadline, on_deadline, (double)cx.timeout_ms / 1000.0, 0.);
		ev_timer_start(cx.loop, &cx.deadline);
	}
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_start(cx.loop, &sigint);
	ev_signal_start(cx.loop, &sigterm);
	ev_run(cx.loop, 0);
	ev_signal_stop(cx.loop, &sigint);
	ev_signal_stop(cx.loop, &sigterm);
	ev_timer_stop(cx.loop, &cx.deadline);
	ev_timer_stop(cx.loop, &cx.topo_timer);
	/* closing the tunnel below reports "down"; what status should read is "stopped" */
	tunnel_off_state(cx.tunnel, on_state, &cx);
	if (!call)
		(void)tunnel_file_save(conf.data_dir, cx.tunnel, true);
	r = call ? (cx.done ? cx.exit_status : 1) : 0;
	outbox_pump_stop(pump);
out_tunnel:
	tunnel_close(cx.tunnel);
	gate_close(cx.gate);
	outbox_close(ob);
out_conf:
	cJSON_Delete(labels);
	cJSON_Delete(cx.topology);
	edge_conf_release(&conf);
out_payload:
	cJSON_Delete(cx.call_payload);
	return r;
}

int cmd_outbox(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct edge_conf conf;
	struct outbox *ob = NULL;
	struct diag d = { 0 };
	char obpath[4096], id[OUTBOX_ID_LEN + 1];
	cJSON *body = NULL;
	int64_t n = 0;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "outbox", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	bool add = nargs >= 1 && strcmp(args[0], "add") == 0;
	if (nargs < 1 || (add && nargs != 3) || (!add && nargs != 1) ||
	    (!add && strcmp(args[0], "count") != 0)) {
		fprintf(stderr, "usage: ongrid-edge outbox add KIND 'JSON' | count [-c FILE] "
		                "[--json]\n");
		return 2;
	}
	if (!strcmp(args[0], "add")) {
		if (!proto_valid_type(args[1])) {
			fprintf(stderr,
			        "ongrid-edge outbox: kind '%s': expected 1-64 characters "
			        "of [a-z0-9._-]\n",
			        args[1]);
			return 2;
		}
		body = json_parse(args[2], strlen(args[2]), OUTBOX_BODY_MAX, &d);
		if (!body) {
			fprintf(stderr, "ongrid-edge outbox: message body: %s\n", d.msg);
			return 2;
		}
	}
	r = edge_conf_load(&conf, path);
	if (r)
		goto out_body;
	r = mkdir_p(conf.data_dir, 0700);
	snprintf(obpath, sizeof(obpath), "%s/%s", conf.data_dir, OUTBOX_FILE);
	if (r == 0)
		r = outbox_open(obpath, conf.outbox_max_rows, &ob, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge outbox: cannot open '%s': %s\n", obpath,
		        d.code ? d.msg : strerror(-r));
		r = 1;
		goto out_conf;
	}
	if (body) {
		r = outbox_put(ob, args[1], body, id, &d);
		if (r < 0) {
			fprintf(stderr, "ongrid-edge outbox: %s\n", d.msg);
			r = r == -E2BIG ? 1 : 2;
		} else {
			printf(json ? "{\"id\": \"%s\"}\n" : "%s\n", id);
			r = 0;
		}
	} else if (outbox_count(ob, &n) < 0) {
		fprintf(stderr, "ongrid-edge outbox: cannot count the queue\n");
		r = 1;
	} else {
		printf(json ? "{\"queued\": %lld}\n" : "%lld\n", (long long)n);
		r = 0;
	}
	outbox_close(ob);
out_conf:
	edge_conf_release(&conf);
out_body:
	cJSON_Delete(body);
	return r;
}
