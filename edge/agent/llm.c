/* llm.c - model calls through the relay, from the investigate command.
 *
 * The daemon does not carry the tunnel yet, and its control socket answers one request at a
 * time, so the investigation opens a tunnel session of its own: the edge's key, marked as
 * a session so the relay neither lists it as the edge nor sends it requests. Each call
 * runs the session's private loop until the reply, the deadline or an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "edge/agent/agent.h"
#include "edge/edge.h"
#include "edge/tunnel.h"
#include "shared/alloc.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/banned.h"

struct llm_session {
	struct ev_loop *loop;
	struct tunnel *t;
	ev_timer timer;
	bool up, done, timed_out;
	int err;
	cJSON *reply;
	char msg[512];
};

static void on_state(void *udata, enum tunnel_state st)
{
	struct llm_session *s = udata;

	s->up = st == TUNNEL_UP;
	if (s->up)
		ev_break(s->loop, EVBREAK_ALL);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct llm_session *s = container_of(w, struct llm_session, timer);

	(void)revents;
	s->timed_out = true;
	ev_break(loop, EVBREAK_ALL);
}

static void arm(struct llm_session *s, int64_t ms)
{
	s->timed_out = false;
	ev_timer_stop(s->loop, &s->timer);
	ev_timer_set(&s->timer, (double)ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->timer);
}

/* An investigation opens a session for the model and, inside the planner, one for the walk
 * to other hosts. Two libwebsockets contexts in one process leave OpenSSL's tables behind
 * (LeakSanitizer sees them), so the process has one session: llm_open hands out the open
 * one again (this process is single-threaded and each call runs to its reply), and
 * llm_close keeps it, still connected, for the next llm_open; it is closed at exit. */
static struct llm_session *shared;

#define LINK_RETRIES 2 /* a call asked again after its link dropped, at most */

static void session_free(struct llm_session *s);

static void close_shared(void)
{
	struct llm_session *s = shared;

	shared = NULL;
	if (s)
		session_free(s);
}

int llm_open(const struct edge_conf *conf, int64_t timeout_ms, struct llm_session **ret,
             struct diag *d)
{
	static bool at_exit_set;
	struct tunnel_conf tc = { 0 };
	struct llm_session *s;
	int r;

	if (!conf->relay_url || !*conf->relay_url)
		return diag_set(d, -ENOTCONN, "relay.url is not set: no model to ask");
	if (shared) {
		*ret = shared;
		return 0;
	}
	if (!at_exit_set)
		at_exit_set = atexit(close_shared) == 0;
	s = xcalloc(1, sizeof(*s));
	s->loop = ev_loop_new(EVFLAG_AUTO);
	if (!s->loop) {
		free(s);
		return diag_set(d, -ENOMEM, "cannot create an event loop");
	}
	tc.url = conf->relay_url;
	tc.access_key = conf->relay_access_key;
	tc.secret_key = conf->relay_secret_key;
	tc.fingerprint = conf->relay_fingerprint;
	tc.insecure = conf->relay_insecure;
	tc.edge_id = conf->name;
	tc.backoff_max_ms = 1000;
	tc.session = true;
	r = tunnel_open(s->loop, &tc, &s->t, d);
	if (r < 0) {
		ev_loop_destroy(s->loop);
		free(s);
		return r;
	}
	(void)tunnel_on_state(s->t, on_state, s);
	ev_timer_init(&s->timer, on_timer, 0., 0.);
	arm(s, timeout_ms);
	ev_run(s->loop, 0);
	if (!s->up) {
		cJSON *st = tunnel_status_json(s->t);
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(st, "last_error"));

		r = diag_set(d, -ENOTCONN, "relay %s not reachable within %lld ms%s%s",
		             conf->relay_url, (long long)timeout_ms, why ? ": " : "",
		             why ? why : "");
		cJSON_Delete(st);
		llm_close(s);
		return r;
	}
	shared = s;
	*ret = s;
	return 0;
}

void llm_close(struct llm_session *s)
{
	/* the process's one session stays open until exit (close_shared) */
	if (!s || s == shared)
		return;
	session_free(s);
}

static void session_free(struct llm_session *s)
{
	ev_timer_stop(s->loop, &s->timer);
	tunnel_close(s->t);
	ev_loop_destroy(s->loop);
	cJSON_Delete(s->reply);
	free(s);
}

static void on_reply(void *udata, int err, const cJSON *payload, const char *message)
{
	struct llm_session *s = udata;

	s->done = true;
	s->err = err;
	if (err)
		snprintf(s->msg, sizeof(s->msg), "%s: %s", proto_code_from_errno(err),
		         message ? message : "");
	else
		s->reply = cJSON_Duplicate(payload, true);
	ev_break(s->loop, EVBREAK_ALL);
}

static int call_once(struct llm_session *s, const char *type, const cJSON *payload,
                     int64_t timeout_ms, cJSON **ret, struct diag *d)
{
	int r;

	s->done = false;
	s->err = 0;
	cJSON_Delete(s->reply);
	s->reply = NULL;
	r = tunnel_request(s->t, type, payload, timeout_ms, on_reply, s, NULL);
	if (r < 0)
		return diag_set(d, r, "cannot send %s: %s", type, strerror(-r));
	arm(s, timeout_ms + 1000);
	while (!s->done && !s->timed_out)
		ev_run(s->loop, 0);
	if (!s->done)
		return diag_set(d, -ETIMEDOUT, "%s: no answer within %lld ms", type,
		                (long long)timeout_ms);
	if (s->err)
		return diag_set(d, s->err, "%s: %s", type, s->msg);
	if (!cJSON_IsObject(s->reply))
		return diag_set(d, -EPROTO, "%s: the reply is not an object", type);
	*ret = s->reply;
	s->reply = NULL;
	return 0;
}

/* The relay went away under the call (restarted, a network cut), or was away when it was
 * sent: the tunnel redials on its own, with backoff. */
static bool link_lost(int err)
{
	return err == -ECONNRESET || err == -ENOTCONN || err == -EPIPE;
}

/* Until the tunnel is up again or ms have passed; 0 when it is up. */
static int wait_up(struct llm_session *s, int64_t ms)
{
	if (s->up && !tunnel_link_lost(s->t))
		return 0;
	arm(s, ms);
	while (!s->up && !s->timed_out)
		ev_run(s->loop, 0);
	return s->up ? 0 : -ETIMEDOUT;
}

/* A call the relay lost with its link is asked again once the tunnel is back, within the
 * same deadline: an investigation that is walking the topology or waiting for its model
 * when the relay restarts finishes with the answer, not without it. Every request type
 * sent here is a question (edge.call of a dangerous tool only records a proposal, which
 * a person decides once), so asking twice does no harm. */
int llm_call(struct llm_session *s, const char *type, const cJSON *payload, int64_t timeout_ms,
             cJSON **ret, struct diag *d)
{
	int64_t end = mono_ms() + timeout_ms;
	int r = call_once(s, type, payload, timeout_ms, ret, d);

	for (int again = 0; r < 0 && link_lost(r) && again < LINK_RETRIES; again++) {
		int64_t left = end - mono_ms();

		if (left < 500 || wait_up(s, left - 250) < 0)
			break;
		log_info("%s: the link to the relay dropped; asking again now that it is back",
		         type);
		if (d)
			memset(d, 0, sizeof(*d));
		r = call_once(s, type, payload, end - mono_ms(), ret, d);
	}
	return r;
}

void llm_pause(struct llm_session *s, int64_t ms)
{
	arm(s, ms);
	while (!s->timed_out)
		ev_run(s->loop, EVRUN_ONCE);
}

int llm_request(struct llm_session *s, const cJSON *payload, int64_t timeout_ms, cJSON **ret,
                struct diag *d)
{
	return llm_call(s, "llm.request", payload, timeout_ms, ret, d);
}

int llm_tool_call_parse(const cJSON *call, const char **ret_name, const cJSON **ret_args,
                        struct diag *d)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(call, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(call, "arguments");

	if (!cJSON_IsObject(call))
		return diag_set(d, -EPROTO, "tool call: not an object");
	if (!cJSON_IsString(name) || !*name->valuestring || strlen(name->valuestring) > 64)
		return diag_set(d, -EPROTO, "tool call: name: expected a string of 1 to 64 bytes");
	for (const char *p = name->valuestring; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return diag_set(d, -EPROTO, "tool call: name: only [a-z0-9_] allowed");
	if (args && !cJSON_IsObject(args))
		return diag_set(d, -EPROTO, "tool call %s: arguments: expected an object",
		                name->valuestring);
	*ret_name = name->valuestring;
	*ret_args = args;
	return 0;
}
