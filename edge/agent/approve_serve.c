/* approve_serve.c - the relay's "approval.decide": a decision made in a chat thread
 * reaches the edge's own gate (docs/protocol.md). The edge does not take the relay's word
 * for it: the approver's role must allow dangerous calls here (tools.roles.*), each
 * approver must be allowed by tools.approvers, and a call that needs two approvers runs
 * only when two different people are named. Recording and running are the CLI's
 * (`ongrid-edge approve ID --as WHO`): the decision that completes an approval runs in
 * that command as a child, so a restart that takes seconds never stalls the tunnel.
 *
 * Flow: look the action up (unknown: not_found; already decided: its recorded status and
 * result, nothing runs again); check the role; record the approvers before the last one
 * here (quick: a row each, nothing runs while more approvers are needed); then exec the
 * last one's `approve --json` (or `deny --json`) and reply with what it printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "edge/agent/agent.h"
#include "edge/edge.h"
#include "edge/tools/approvals.h"
#include "edge/tools/gate.h"
#include "edge/tunnel.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/banned.h"

#define ACTION_ID_MAX 64
#define APPROVER_MAX  160
#define APPROVERS_MAX 8
#define CHILD_OUT_MAX (1u << 20) /* a tool result is capped far below this */
#define CHILD_ERR_MAX 16384

struct approve_serve {
	char *conf_path; /* NULL = the default configuration */
};

/* One `ongrid-edge approve|deny --json` child and the call waiting for it. */
struct decide_job {
	struct tunnel_call *call; /* NULL once cancelled */
	char action_id[ACTION_ID_MAX + 1];
	ev_child child;
	ev_io out_io, err_io;
	struct buf out, err;
	int out_fd, err_fd, status;
	pid_t pid;
	bool approve, exited, out_eof, err_eof;
};

static const char *jstr(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Ids are the gate's (16 hex digits); anything that could pass as an option or a path is
 * refused before it reaches an argv. */
static bool valid_action_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > ACTION_ID_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_-",
		            s[i]))
			return false;
	return true;
}

static bool valid_person(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > APPROVER_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The approvals table's status, in the words of the report contract's actions. */
static const char *reply_status(const char *db_status)
{
	if (strcmp(db_status, "done") == 0)
		return "executed";
	return db_status; /* failed, denied, expired, running */
}

/* The action's result, when it ran: the tool's result without the gate's bookkeeping. */
static void add_result(cJSON *reply, const char *status, const cJSON *res)
{
	if (strcmp(status, "executed") == 0 || strcmp(status, "failed") == 0)
		json_add(reply, "result", cJSON_Duplicate(res, true));
}

static void decide_finish(struct decide_job *j)
{
	struct diag d = { 0 };
	cJSON *res = NULL, *reply;
	const char *st;

	if (!j->exited || !j->out_eof || !j->err_eof)
		return;
	if (j->call) {
		if (j->out.len)
			res = json_parse(buf_str(&j->out), j->out.len, CHILD_OUT_MAX, &d);
		st = res ? jstr(res, "status") : NULL;
		if (st) {
			/* exit status 1 with a result is a tool that failed: still an answer */
			reply = json_obj();
			json_add_str(reply, "action_id", j->action_id);
			json_add_str(reply, "status", st);
			json_add_bool(reply, "recorded", true);
			if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(res, "approvals"))) {
				json_add_num(reply, "approvals",
				             cJSON_GetObjectItemCaseSensitive(res, "approvals")
				                     ->valuedouble);
				json_add_num(reply, "needed",
				             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
				                     res, "needed")));
			}
			add_result(reply, st, res);
			log_info("approval %s: %s", j->action_id, st);
			tunnel_reply(j->call, reply);
			cJSON_Delete(reply);
		} else {
			/* the command's own message: "ongrid-edge approve: <why>", after any logs */
			const char *msg = j->err.len ? buf_str(&j->err) : "", *why = NULL;
			const char *prefix =
			        j->approve ? "ongrid-edge approve: " : "ongrid-edge deny: ";
			char line[CHILD_ERR_MAX];

			for (const char *m = msg; (m = strstr(m, prefix)) != NULL; m++)
				why = m + strlen(prefix);
			snprintf(line, sizeof(line), "%s",
			         why ? why
			             : (WIFEXITED(j->status) ? "the approve command printed nothing"
			                                     : "the approve command was killed"));
			line[strcspn(line, "\n")] = '\0';
			why = line;
			log_warn("approval %s: not recorded: %s", j->action_id, why);
			/* races lost after our checks: expired or decided meanwhile, or refused */
			tunnel_reply_error(j->call,
			                   strstr(why, "no longer pending") ? -EEXIST
			                   : strstr(why, "expired")         ? -EEXIST
			                                                    : -EPERM,
			                   "%s", why);
		}
	}
	cJSON_Delete(res);
	buf_release(&j->out);
	buf_release(&j->err);
	free(j);
}

static void drain(struct ev_loop *loop, ev_io *w, struct buf *b, int *fd, bool *eof)
{
	char tmp[8192];
	ssize_t n = read(*fd, tmp, sizeof(tmp));

	if (n > 0) {
		/* past the cap the rest is dropped; the JSON then fails to parse, loudly */
		if (buf_add(b, tmp, (size_t)n) < 0)
			log_warn("the approve command printed over %zu bytes; the rest is dropped",
			         b->len);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(loop, w);
	close(*fd);
	*eof = true;
}

static void on_out(struct ev_loop *loop, ev_io *w, int revents)
{
	struct decide_job *j = container_of(w, struct decide_job, out_io);

	(void)revents;
	drain(loop, w, &j->out, &j->out_fd, &j->out_eof);
	decide_finish(j);
}

static void on_err(struct ev_loop *loop, ev_io *w, int revents)
{
	struct decide_job *j = container_of(w, struct decide_job, err_io);

	(void)revents;
	drain(loop, w, &j->err, &j->err_fd, &j->err_eof);
	decide_finish(j);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct decide_job *j = container_of(w, struct decide_job, child);

	(void)revents;
	ev_child_stop(loop, w);
	j->status = w->rstatus;
	j->exited = true;
	decide_finish(j);
}

/* A decision that started is not taken back: the child records and runs to its end, and
 * only the reply is dropped. */
static void on_cancel(void *udata)
{
	struct decide_job *j = udata;

	j->call = NULL;
}

/* exec `ongrid-edge approve|deny --json [-c CONF] ID --as WHO` with its output on pipes. */
static void start_child(struct approve_serve *sv, struct tunnel_call *call, const char *id,
                        const char *who, bool approve)
{
	struct ev_loop *loop = EV_DEFAULT;
	const char *argv[12];
	int out[2], err[2], a = 0;
	struct decide_job *j;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0) {
		tunnel_reply_error(call, -errno, "cannot record the decision: %s", strerror(errno));
		return;
	}
	if (pipe2(err, O_CLOEXEC) < 0) {
		tunnel_reply_error(call, -errno, "cannot record the decision: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		return;
	}
	argv[a++] = "ongrid-edge";
	argv[a++] = approve ? "approve" : "deny";
	argv[a++] = "--json";
	if (sv->conf_path) {
		argv[a++] = "-c";
		argv[a++] = sv->conf_path;
	}
	argv[a++] = "--as";
	argv[a++] = who;
	argv[a++] = id;
	argv[a] = NULL;
	pid = fork();
	if (pid < 0) {
		tunnel_reply_error(call, -errno, "cannot record the decision: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		return;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	j = xcalloc(1, sizeof(*j));
	j->call = call;
	j->pid = pid;
	j->approve = approve;
	snprintf(j->action_id, sizeof(j->action_id), "%s", id);
	j->out_fd = out[0];
	j->err_fd = err[0];
	buf_init(&j->out, CHILD_OUT_MAX);
	buf_init(&j->err, CHILD_ERR_MAX);
	(void)fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
	(void)fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&j->out_io, on_out, j->out_fd, EV_READ);
	ev_io_init(&j->err_io, on_err, j->err_fd, EV_READ);
	ev_io_start(loop, &j->out_io);
	ev_io_start(loop, &j->err_io);
	ev_child_init(&j->child, on_child, pid, 0);
	ev_child_start(loop, &j->child);
	tunnel_call_on_cancel(call, on_cancel, j);
}

/* Who approved already, from approvals_describe()'s decisions. */
static bool already_approved(const cJSON *desc, const char *who)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(desc, "decisions")) {
		const char *w = jstr(e, "who"), *dec = jstr(e, "decision");
		if (w && dec && strcmp(w, who) == 0 && strcmp(dec, "approve") == 0)
			return true;
	}
	return false;
}

/* The reply for an action decided before: its recorded status and result; nothing runs. */
static void reply_recorded(struct tunnel_call *call, const struct approval *ap)
{
	cJSON *reply = json_obj(), *res = NULL;
	const char *st = reply_status(ap->status ? ap->status : "unknown");

	json_add_str(reply, "action_id", ap->id);
	json_add_str(reply, "status", st);
	json_add_bool(reply, "recorded", false);
	if (ap->result && (res = cJSON_Parse(ap->result)) != NULL)
		add_result(reply, st, res);
	tunnel_reply(call, reply);
	cJSON_Delete(res);
	cJSON_Delete(reply);
}

/* The people whose approval is recorded by this request, oldest first: those in approvers
 * not yet recorded (the same person named twice counts once), then approver, the one whose
 * press completed it; no more than the approval still needs. */
static int collect_approvers(const cJSON *p, const char *approver, const cJSON *desc, int remaining,
                             const char **ret, struct diag *d)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "approvers"), *e;
	int n = 0;

	if (list && (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > APPROVERS_MAX))
		return diag_set(d, -EINVAL,
		                "approval.decide.approvers: expected an array of at most %d "
		                "names",
		                APPROVERS_MAX);
	cJSON_ArrayForEach(e, list) {
		bool dup = false;

		if (!cJSON_IsString(e) || !valid_person(e->valuestring))
			return diag_set(d, -EINVAL,
			                "approval.decide.approvers: expected names of 1 to %d "
			                "printable bytes",
			                APPROVER_MAX);
		if (strcmp(e->valuestring, approver) == 0 || already_approved(desc, e->valuestring))
			continue;
		for (int i = 0; i < n; i++)
			dup |= strcmp(ret[i], e->valuestring) == 0;
		if (!dup && n < remaining - 1)
			ret[n++] = e->valuestring;
	}
	ret[n++] = approver;
	return n;
}

static void h_decide(struct tunnel_call *call, const cJSON *p, void *udata)
{
	struct approve_serve *sv = udata;
	const char *id = jstr(p, "action_id"), *decision = jstr(p, "decision");
	const char *approver = jstr(p, "approver"), *role = jstr(p, "role");
	const char *people[APPROVERS_MAX + 1] = { 0 };
	struct edge_conf conf;
	struct approval ap = { 0 };
	struct approvals *db = NULL;
	struct gate *g = NULL;
	struct diag d = { 0 };
	cJSON *desc = NULL;
	unsigned mask = 0;
	bool approve, conf_loaded = false;
	int n, r;

	if (!valid_action_id(id)) {
		tunnel_reply_error(call, -EINVAL,
		                   "approval.decide.action_id: expected 1 to %d letters, digits, "
		                   "'_' or '-'",
		                   ACTION_ID_MAX);
		return;
	}
	if (!decision || (strcmp(decision, "approve") != 0 && strcmp(decision, "deny") != 0)) {
		tunnel_reply_error(call, -EINVAL,
		                   "approval.decide.decision: expected \"approve\" or \"deny\"");
		return;
	}
	approve = decision[0] == 'a';
	if (!valid_person(approver)) {
		tunnel_reply_error(call, -EINVAL,
		                   "approval.decide.approver: expected 1 to %d printable bytes",
		                   APPROVER_MAX);
		return;
	}
	if (!role) {
		tunnel_reply_error(call, -EINVAL, "approval.decide.role: missing");
		return;
	}
	/* today's configuration, as the CLI would read it */
	if (edge_conf_load(&conf, sv->conf_path) != 0) {
		tunnel_reply_error(call, -EIO, "cannot read this edge's configuration");
		return;
	}
	conf_loaded = true;
	r = approvals_open(conf.data_dir, &db, &d);
	if (r == 0)
		r = approvals_get(db, id, &ap, &d);
	if (r == -ENOENT) {
		tunnel_reply_error(call, -ENOENT, "no action '%s' on this edge", id);
		goto out;
	}
	if (r < 0) {
		tunnel_reply_error(call, -EIO, "%s", d.msg);
		goto out;
	}
	/* The person pressed a button under one tool's name: an id that holds another tool
	 * here (a relay or a proposing edge that got the id wrong, or lied) is not it. */
	if (jstr(p, "tool") && (!ap.tool || strcmp(jstr(p, "tool"), ap.tool) != 0)) {
		log_warn("approval %s: %s by %s refused: the thread showed %.64s, this edge holds "
		         "%s",
		         ap.id, decision, approver, jstr(p, "tool"), ap.tool ? ap.tool : "?");
		tunnel_reply_error(call, -EPERM,
		                   "action '%s' on this edge is %s, not the %.64s shown to the "
		                   "approver",
		                   id, ap.tool ? ap.tool : "?", jstr(p, "tool"));
		goto out;
	}
	/* decided before (here, from the CLI, or by an earlier press): say how it ended */
	if (!ap.status || strcmp(ap.status, "pending") != 0) {
		log_info("approval %s: %s by %s ignored: already %s", ap.id, decision, approver,
		         ap.status ? ap.status : "decided");
		reply_recorded(call, &ap);
		goto out;
	}
	/* the edge's own rule, whatever the relay decided: every pending call is dangerous */
	r = gate_role_classes(&conf, role, &mask, &d);
	if (r < 0) {
		tunnel_reply_error(call, -EINVAL, "approval.decide.role: %s", d.msg);
		goto out;
	}
	if (!(mask & (1u << TOOL_DANGEROUS))) {
		log_warn("approval %s: %s by %s refused: role %s may not decide dangerous calls",
		         ap.id, decision, approver, role);
		tunnel_reply_error(call, -EPERM,
		                   "role '%s' may not decide dangerous calls on this edge "
		                   "(tools.roles.%s)",
		                   role, role);
		goto out;
	}
	if (!approve) {
		/* one deny is enough */
		people[0] = approver;
		n = 1;
	} else {
		r = approvals_describe(db, ap.id, &desc, &d);
		if (r < 0) {
			tunnel_reply_error(call, -EIO, "%s", d.msg);
			goto out;
		}
		n = collect_approvers(p, approver, desc, ap.needed - ap.napproved, people, &d);
		if (n < 1) {
			tunnel_reply_error(call, -EINVAL, "%s", d.msg);
			goto out;
		}
	}
	/* all but the last are recorded here: nothing runs while another approver is needed */
	r = gate_open(&conf, NULL, 0, &g, &d);
	for (int i = 0; r == 0 && i < n - 1; i++) {
		cJSON *res = NULL;

		r = gate_decide(g, ap.id, people[i], true, &res, &d);
		if (r == 0)
			log_info("approval %s: approved by %s (%s)", ap.id, people[i],
			         jstr(res, "status"));
		cJSON_Delete(res);
	}
	if (r < 0) {
		log_warn("approval %s: approval refused: %s", ap.id, d.msg);
		tunnel_reply_error(call,
		                   r == -EALREADY || r == -ETIMEDOUT ? -EEXIST
		                   : r == -EPERM                     ? -EPERM
		                                                     : -EIO,
		                   "%s", d.msg);
		goto out;
	}
	log_info("approval %s (%s): %s by %s, role %s", ap.id, ap.tool, decision, people[n - 1],
	         role);
	start_child(sv, call, ap.id, people[n - 1], approve);
out:
	cJSON_Delete(desc);
	gate_close(g);
	approval_release(&ap);
	approvals_close(db);
	if (conf_loaded)
		edge_conf_release(&conf);
}

int agent_approve_serve_register(struct tunnel *t, const char *conf_path)
{
	/* lives as long as the process: the tunnel keeps a pointer to it */
	struct approve_serve *sv = xcalloc(1, sizeof(*sv));

	sv->conf_path = conf_path ? xstrdup(conf_path) : NULL;
	return tunnel_register_handler(t, "approval.decide", h_decide, sv);
}
