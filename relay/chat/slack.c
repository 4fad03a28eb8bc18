/* slack.c - Slack adapter: Socket Mode in (a WebSocket client on libwebsockets, on the
 * relay's libev loop), Web API out (chat.postMessage / chat.update over libcurl).
 *
 * Socket Mode: apps.connections.open (app token in the Authorization header) gives a
 * single-use URL; every (re)connect asks for a new one. Each envelope is acknowledged
 * with {"envelope_id"} before any work, so Slack's 3 s deadline holds whatever the router
 * does. A "disconnect" frame (refresh_requested, warning, too_many_websockets) opens a
 * fresh socket and lets the old one go; link_disabled stops Socket Mode with an error.
 * Redeliveries are dropped by event_id, and an app_mention that also arrives as a
 * message event is dropped by (channel, ts).
 *
 * Web API: errors are HTTP 200 with {"ok": false, "error"}; HTTP 429 carries Retry-After
 * (seconds), honoured up to SLACK_RETRIES times per call.
 */
#define LOG_MODULE "slack"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "relay/chat/chat.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define SLACK_RETRIES     5
#define SLACK_RETRY_MAX_S 120
#define FRAME_MAX         (1u << 20)
#define SEEN_MAX          512
#define SECTION_MAX       3000 /* a section block's text */

struct sconn {
	struct list_head node;
	struct slack *s;
	struct lws *wsi;
	struct buf rx;
	struct list_head acks;
	bool current;
};

struct ack {
	struct list_head node;
	size_t len;
	unsigned char buf[]; /* LWS_PRE headroom, then the frame */
};

struct slack {
	const struct chat_adapter_ops *ops;
	struct chat_host host;
	struct lws_context *ctx;
	char *api; /* api_base ending in '/' */
	char self_user[32], self_bot[32];
	struct list_head conns;
	ev_timer reconnect;
	int64_t backoff_ms;
	bool opening, stopping, disabled;
	struct list_head calls;
	char seen[SEEN_MAX][80]; /* event ids and channel:ts keys */
	size_t seen_next;
	unsigned reconnects;
};

/* ---- the pure frame parser ------------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const cJSON *jobj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsObject(v) ? v : NULL;
}

static bool id_ok(const char *s)
{
	return s && *s && strlen(s) < CHAT_ID_MAX;
}

static int parse_event(const cJSON *payload, const char *self_user, chat_event_fn *fn, void *udata)
{
	const cJSON *e = jobj(payload, "event");
	const char *type = jstr(e, "type"), *user = jstr(e, "user"), *text = jstr(e, "text");
	const char *channel = jstr(e, "channel"), *ts = jstr(e, "ts");
	const char *thread = jstr(e, "thread_ts"), *ctype = jstr(e, "channel_type");
	struct chat_event ev = { 0 };
	char buf[CHAT_TEXT_MAX], mention[48];

	if (!type || (strcmp(type, "app_mention") != 0 && strcmp(type, "message") != 0))
		return 0;
	/* Edits (ours too: chat.update makes message_changed), joins, bot posts. */
	if (cJSON_GetObjectItemCaseSensitive(e, "subtype") ||
	    cJSON_GetObjectItemCaseSensitive(e, "bot_id") ||
	    cJSON_GetObjectItemCaseSensitive(e, "bot_profile"))
		return 0;
	if (!id_ok(user) || !text || !id_ok(channel) || !id_ok(ts) || (thread && !id_ok(thread)))
		return -EINVAL;
	if (self_user && *self_user && !strcmp(user, self_user))
		return 0;
	str_copy(buf, text, sizeof(buf));
	if (self_user && *self_user) {
		snprintf(mention, sizeof(mention), "<@%s>", self_user);
		render_strip_mention(buf, mention);
	}
	render_slack_unescape(buf);
	render_strip_mention(buf, NULL);
	ev.workspace = jstr(payload, "team_id");
	ev.chat_id = channel;
	ev.thread_id = thread ? thread : ts;
	ev.msg_id = ts;
	ev.user_id = user;
	ev.text = buf;
	/* app_mention and DMs address the bot; other messages are thread replies that
	 * matter only in an incident's thread. */
	ev.addressed = !strcmp(type, "app_mention") || (ctype && !strcmp(ctype, "im"));
	if (!strcmp(type, "message") && !ev.addressed && !thread)
		return 0; /* top-level channel chatter */
	if (fn)
		fn(udata, &ev);
	return 0;
}

static int parse_actions(const cJSON *payload, chat_event_fn *fn, void *udata)
{
	const cJSON *user = jobj(payload, "user"), *team = jobj(payload, "team");
	const cJSON *container = jobj(payload, "container"), *chan = jobj(payload, "channel");
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(payload, "actions");
	const cJSON *a = cJSON_GetArrayItem(acts, 0);
	const char *aid = jstr(a, "action_id"), *value = jstr(a, "value");
	const char *uid = jstr(user, "id"), *cid = jstr(chan, "id");
	const char *mts = jstr(container, "message_ts"), *tts = jstr(container, "thread_ts");
	struct chat_event ev = { 0 };
	char action[CHAT_ACTION_MAX];

	if (!cid)
		cid = jstr(container, "channel_id");
	if (!tts)
		tts = jstr(jobj(payload, "message"), "thread_ts");
	if (!aid || !value || !id_ok(uid) || !id_ok(cid) || !id_ok(mts) || (tts && !id_ok(tts)) ||
	    strlen(value) > 64)
		return -EINVAL;
	if (strcmp(aid, "approve") != 0 && strcmp(aid, "deny") != 0)
		return 0;
	snprintf(action, sizeof(action), "%s:%s", aid, value);
	ev.workspace = jstr(team, "id");
	if (!ev.workspace)
		ev.workspace = jstr(user, "team_id");
	ev.chat_id = cid;
	ev.thread_id = tts ? tts : mts;
	ev.msg_id = mts;
	ev.user_id = uid;
	ev.user_name = jstr(user, "username");
	ev.action = action;
	ev.action_ref = mts;
	ev.addressed = true;
	if (fn)
		fn(udata, &ev);
	return 0;
}

int slack_parse_frame(const char *frame, size_t len, const char *self_user, char *envelope_id,
                      size_t idsz, char *type, size_t typesz, char *reason, size_t reasonsz,
                      char *event_id, size_t evsz, chat_event_fn *fn, void *udata)
{
	struct diag d = { 0 };
	cJSON *o = json_parse(frame, len, FRAME_MAX, &d);
	const char *t, *env;
	const cJSON *payload;
	int r = 0;

	envelope_id[0] = type[0] = reason[0] = event_id[0] = '\0';
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	t = jstr(o, "type");
	env = jstr(o, "envelope_id");
	if (!t) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	str_copy(type, t, typesz);
	if (env && strlen(env) < idsz)
		str_copy(envelope_id, env, idsz);
	payload = jobj(o, "payload");
	if (!strcmp(t, "disconnect")) {
		str_copy(reason, jstr(o, "reason") ? jstr(o, "reason") : "", reasonsz);
	} else if (!strcmp(t, "events_api") && payload) {
		const char *eid = jstr(payload, "event_id");
		if (eid && strlen(eid) < evsz)
			str_copy(event_id, eid, evsz);
		r = parse_event(payload, self_user, fn, udata);
	} else if (!strcmp(t, "interactive") && payload) {
		const char *pt = jstr(payload, "type");
		if (pt && !strcmp(pt, "block_actions"))
			r = parse_actions(payload, fn, udata);
	}
	cJSON_Delete(o);
	return r;
}

/* ---- Web API ----------------------------------------------------------------------------- */

typedef void api_done_fn(void *udata, int err, const cJSON *resp, const char *error);

struct apicall {
	struct list_head node;
	struct slack *s;
	char method[40];
	char *body;
	bool app_token;
	int tries;
	ev_timer retry;
	api_done_fn *done;
	void *udata;
};

static void api_now(struct apicall *k);

static void api_free(struct apicall *k)
{
	ev_timer_stop(k->s->host.loop, &k->retry);
	list_del(&k->node);
	free(k->body);
	free(k);
}

static void on_api_reply(void *udata, const struct chat_http_resp *resp)
{
	struct apicall *k = udata;
	struct slack *s = k->s;
	cJSON *o = resp->status == 200 ? json_parse(resp->body, resp->len, 4u << 20, NULL) : NULL;
	const char *err = jstr(o, "error");

	if (resp->status == 429 && k->tries < SLACK_RETRIES && !s->stopping) {
		double secs =
		        resp->retry_after_ms >= 0 ? (double)resp->retry_after_ms / 1000.0 : 30;
		if (secs > SLACK_RETRY_MAX_S)
			secs = SLACK_RETRY_MAX_S;
		log_warn("%s: rate limited, retrying in %.1f s (Retry-After)", k->method, secs);
		ev_timer_set(&k->retry, secs, 0.);
		ev_timer_start(s->host.loop, &k->retry);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		k->done(k->udata, 0, o, NULL);
	} else {
		char why[200];
		snprintf(why, sizeof(why), "%s",
		         err            ? err
		         : resp->error  ? resp->error
		         : resp->status ? "HTTP error"
		                        : "no answer");
		if (!err && resp->status && resp->status != 200)
			snprintf(why, sizeof(why), "HTTP %ld", resp->status);
		k->done(k->udata, resp->status ? -EPROTO : -ECONNREFUSED, o, why);
	}
	cJSON_Delete(o);
	api_free(k);
}

static void api_now(struct apicall *k)
{
	struct slack *s = k->s;
	const struct relay_conf *c = s->host.conf;
	char auth[600], *url = xasprintf("%s%s", s->api, k->method);
	const char *hdrs[] = { auth, "Content-Type: application/json; charset=utf-8", NULL };
	struct chat_http_req req = { 0 };
	int r;

	k->tries++;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	         k->app_token ? c->slack_app_token : c->slack_bot_token);
	req.url = url;
	req.headers = hdrs;
	req.body = k->body;
	req.body_len = strlen(k->body);
	req.timeout_ms = 30000;
	req.proxy = c->slack_proxy;
	r = chat_http_send(s->host.http, &req, on_api_reply, k);
	free(url);
	if (r < 0) {
		k->done(k->udata, r, NULL, strerror(-r));
		api_free(k);
	}
}

static void on_api_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	api_now(w->data);
}

static void api(struct slack *s, const char *method, cJSON *body, bool app_token, api_done_fn *done,
                void *udata)
{
	struct apicall *k = xcalloc(1, sizeof(*k));

	k->s = s;
	str_copy(k->method, method, sizeof(k->method));
	k->body = json_print(body, false);
	cJSON_Delete(body);
	k->app_token = app_token;
	k->done = done;
	k->udata = udata;
	ev_init(&k->retry, on_api_retry);
	k->retry.data = k;
	list_add_tail(&k->node, &s->calls);
	api_now(k);
}

/* ---- Socket Mode ------------------------------------------------------------------------- */

static void schedule_reconnect(struct slack *s, int64_t ms);

static bool seen(struct slack *s, const char *key)
{
	for (size_t i = 0; i < SEEN_MAX; i++)
		if (s->seen[i][0] && !strcmp(s->seen[i], key))
			return true;
	str_copy(s->seen[s->seen_next], key, sizeof(s->seen[0]));
	s->seen_next = (s->seen_next + 1) % SEEN_MAX;
	return false;
}

static void conn_free(struct sconn *sc)
{
	struct list_head *p, *n;

	list_for_each_safe(p, n, &sc->acks) {
		list_del(p);
		free(list_entry(p, struct ack, node));
	}
	buf_release(&sc->rx);
	list_del(&sc->node);
	free(sc);
}

static void conn_drop(struct sconn *sc)
{
	sc->current = false;
	if (sc->wsi)
		lws_set_timeout(sc->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void send_ack(struct sconn *sc, const char *envelope_id)
{
	cJSON *o = json_obj();
	char *txt;
	size_t len;
	struct ack *a;

	json_add_str(o, "envelope_id", envelope_id);
	txt = json_print(o, false);
	cJSON_Delete(o);
	len = strlen(txt);
	a = xmalloc(st_add(sizeof(*a) + LWS_PRE, len));
	a->len = len;
	memcpy(a->buf + LWS_PRE, txt, len);
	free(txt);
	list_add_tail(&a->node, &sc->acks);
	lws_callback_on_writable(sc->wsi);
}

static void on_slack_event(void *udata, const struct chat_event *ev)
{
	struct slack *s = udata;
	char key[80];

	if (!s)
		return;
	/* app_mention and message.channels both carry a mention in a channel. */
	if (!ev->action) {
		snprintf(key, sizeof(key), "m:%s:%s", ev->chat_id, ev->msg_id);
		if (seen(s, key))
			return;
	}
	s->host.deliver(s->host.udata, (struct chat_adapter *)s, ev);
}

static void open_socket(struct slack *s);
static void slack_auth_test(struct slack *s);

static void on_frame(struct sconn *sc, const char *frame, size_t len)
{
	struct slack *s = sc->s;
	char env[128], type[32], reason[64], eid[64], key[80];

	/* Parse without delivering first: the ack must leave before any work. */
	(void)slack_parse_frame(frame, len, s->self_user, env, sizeof(env), type, sizeof(type),
	                        reason, sizeof(reason), eid, sizeof(eid), NULL, NULL);
	if (env[0])
		send_ack(sc, env);
	if (!strcmp(type, "hello")) {
		s->backoff_ms = 1000;
		log_info("Socket Mode connected");
		return;
	}
	if (!strcmp(type, "disconnect")) {
		if (!strcmp(reason, "link_disabled")) {
			log_err("Slack says Socket Mode is disabled for this app (link_disabled); "
			        "turn it on in the app settings and restart the relay");
			s->disabled = true;
			conn_drop(sc);
			return;
		}
		log_info("Slack asked to reconnect (%s); opening a fresh socket",
		         reason[0] ? reason : "no reason");
		/* The new socket first, then the old one goes. */
		sc->current = false;
		open_socket(s);
		conn_drop(sc);
		return;
	}
	if (eid[0]) {
		snprintf(key, sizeof(key), "e:%s", eid);
		if (seen(s, key))
			return; /* a redelivery (retry_attempt > 0) of what we handled */
	}
	if (slack_parse_frame(frame, len, s->self_user, env, sizeof(env), type, sizeof(type),
	                      reason, sizeof(reason), eid, sizeof(eid), on_slack_event, s) < 0)
		log_debug("ignoring a malformed %s frame", type[0] ? type : "?");
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
	struct sconn *sc = lws_get_opaque_user_data(wsi);

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (sc) {
			struct slack *s = sc->s;
			bool cur = sc->current;
			log_warn("Socket Mode connection failed: %s", in ? (const char *)in : "?");
			lws_set_opaque_user_data(wsi, NULL);
			conn_free(sc);
			if (cur && !s->stopping)
				schedule_reconnect(s, -1);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!sc)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!sc)
			return -1;
		if (buf_add(&sc->rx, in, len) < 0) {
			log_warn("dropping a Socket Mode frame over %u bytes", FRAME_MAX);
			buf_reset(&sc->rx);
			return 0;
		}
		if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
			char *f = buf_detach(&sc->rx, &len);
			buf_init(&sc->rx, FRAME_MAX);
			on_frame(sc, f, len);
			free(f);
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (sc && !list_empty(&sc->acks)) {
			struct ack *a = list_entry(sc->acks.next, struct ack, node);
			if (lws_write(wsi, a->buf + LWS_PRE, a->len, LWS_WRITE_TEXT) < (int)a->len)
				return -1;
			list_del(&a->node);
			free(a);
			if (!list_empty(&sc->acks))
				lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (sc) {
			struct slack *s = sc->s;
			bool cur = sc->current;
			lws_set_opaque_user_data(wsi, NULL);
			conn_free(sc);
			if (cur && !s->stopping && !s->disabled) {
				log_warn("Socket Mode connection closed; reconnecting");
				schedule_reconnect(s, -1);
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Ping an idle socket after 10 s and drop it after 30 s without a valid frame: a dead
 * link is then noticed and replaced with a fresh URL like any other close. */
static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = 10,
	.secs_since_valid_hangup = 30,
};

static const struct lws_protocols protocols[] = {
	{ "slack-socket-mode", cb_ws, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static int connect_url(struct slack *s, const char *url)
{
	char *copy = xstrdup(url), *host, *path, *slash, *colon;
	struct lws_client_connect_info ci;
	struct sconn *sc;
	bool tls;
	int port;
	int64_t p;

	if (str_startswith(copy, "wss://")) {
		tls = true;
		host = copy + 6;
	} else if (str_startswith(copy, "ws://")) {
		tls = false;
		host = copy + 5;
	} else {
		free(copy);
		return -EINVAL;
	}
	slash = strchr(host, '/');
	path = xstrdup(slash ? slash : "/");
	if (slash)
		*slash = '\0';
	port = tls ? 443 : 80;
	colon = strrchr(host, ':');
	if (colon && !strchr(colon, ']')) {
		*colon = '\0';
		if (str_to_i64(colon + 1, &p) < 0 || p < 1 || p > 65535) {
			free(copy);
			free(path);
			return -EINVAL;
		}
		port = (int)p;
	}
	sc = xcalloc(1, sizeof(*sc));
	sc->s = s;
	sc->current = true;
	buf_init(&sc->rx, FRAME_MAX);
	list_init(&sc->acks);
	memset(&ci, 0, sizeof(ci));
	ci.context = s->ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = host;
	ci.origin = host;
	ci.protocol = NULL;
	ci.local_protocol_name = protocols[0].name;
	ci.opaque_user_data = sc;
	ci.pwsi = &sc->wsi;
	ci.retry_and_idle_policy = &idle_policy;
	if (tls)
		ci.ssl_connection = LCCSCF_USE_SSL;
	list_add_tail(&sc->node, &s->conns);
	if (!lws_client_connect_via_info(&ci)) {
		struct list_head *n;
		/* lws may have called CONNECTION_ERROR already, which freed sc. */
		list_for_each(n, &s->conns)
			if (list_entry(n, struct sconn, node) == sc) {
				conn_free(sc);
				break;
			}
		free(copy);
		free(path);
		return -ECONNREFUSED;
	}
	free(copy);
	free(path);
	return 0;
}

static void on_connections_open(void *udata, int err, const cJSON *resp, const char *error)
{
	struct slack *s = udata;
	const char *url = jstr(resp, "url");
	struct list_head *p;
	int r;

	s->opening = false;
	if (s->stopping)
		return;
	if (err || !url) {
		bool permanent = error && (!strcmp(error, "invalid_auth") ||
		                           !strcmp(error, "not_allowed_token_type") ||
		                           !strcmp(error, "account_inactive") ||
		                           !strcmp(error, "token_revoked") ||
		                           !strcmp(error, "missing_scope"));
		if (permanent) {
			log_err("apps.connections.open refused the app token: %s; Socket Mode is "
			        "off "
			        "until chat.slack.app_token is fixed",
			        error);
			s->disabled = true;
			return;
		}
		log_warn("apps.connections.open failed: %s", error ? error : "?");
		schedule_reconnect(s, -1);
		return;
	}
	/* Sockets still marked current are being replaced. */
	list_for_each(p, &s->conns)
		list_entry(p, struct sconn, node)->current = false;
	s->reconnects++;
	log_debug("opening Socket Mode connection %u", s->reconnects);
	r = connect_url(s, url);
	if (r < 0) {
		log_warn("cannot connect to the Socket Mode URL: %s", strerror(-r));
		schedule_reconnect(s, -1);
	}
}

static void open_socket(struct slack *s)
{
	if (s->opening || s->stopping || s->disabled)
		return;
	s->opening = true;
	api(s, "apps.connections.open", json_obj(), true, on_connections_open, s);
}

static void on_reconnect(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct slack *s = w->data;

	(void)loop, (void)revents;
	if (!s->self_user[0]) {
		slack_auth_test(s);
		return;
	}
	open_socket(s);
}

static void schedule_reconnect(struct slack *s, int64_t ms)
{
	if (s->stopping || s->disabled)
		return;
	if (ms < 0) {
		ms = s->backoff_ms;
		s->backoff_ms = s->backoff_ms * 2 > 30000 ? 30000 : s->backoff_ms * 2;
	}
	ev_timer_stop(s->host.loop, &s->reconnect);
	ev_timer_set(&s->reconnect, (double)ms / 1000.0, 0.);
	ev_timer_start(s->host.loop, &s->reconnect);
}

static void on_auth_test(void *udata, int err, const cJSON *resp, const char *error)
{
	struct slack *s = udata;
	const char *user = jstr(resp, "user_id"), *bot = jstr(resp, "bot_id");

	if (s->stopping)
		return;
	if (err || !user) {
		log_warn("auth.test failed: %s", error ? error : "no user_id");
		schedule_reconnect(s, -1);
		return;
	}
	str_copy(s->self_user, user, sizeof(s->self_user));
	str_copy(s->self_bot, bot ? bot : "", sizeof(s->self_bot));
	log_info("bot user %s in team %s", s->self_user,
	         jstr(resp, "team_id") ? jstr(resp, "team_id") : "?");
	open_socket(s);
}

static void slack_auth_test(struct slack *s)
{
	api(s, "auth.test", json_obj(), false, on_auth_test, s);
}

/* ---- outbound ----------------------------------------------------------------------------- */

struct ssend {
	chat_sent_fn *done;
	void *udata;
	struct chat_ref ref;
};

static void on_posted(void *udata, int err, const cJSON *resp, const char *error)
{
	struct ssend *x = udata;
	const char *ts = jstr(resp, "ts"), *ch = jstr(resp, "channel");

	if (err) {
		log_warn("posting to %s failed: %s", x->ref.chat_id, error ? error : "?");
		x->done(x->udata, err, NULL);
	} else {
		if (ts && strlen(ts) < sizeof(x->ref.msg_id))
			str_copy(x->ref.msg_id, ts, sizeof(x->ref.msg_id));
		if (ch && strlen(ch) < sizeof(x->ref.chat_id))
			str_copy(x->ref.chat_id, ch, sizeof(x->ref.chat_id));
		x->done(x->udata, 0, &x->ref);
	}
	free(x);
}

static cJSON *blocks(const struct chat_out *m)
{
	cJSON *bl = json_arr(), *sec = json_obj(), *txt = json_obj(), *acts, *els;
	char *t = xstrndup(m->text ? m->text : "", SECTION_MAX);

	json_add_str(sec, "type", "section");
	json_add_str(txt, "type", "mrkdwn");
	json_add_str(txt, "text", *t ? t : " ");
	free(t);
	json_add(sec, "text", txt);
	json_push(bl, sec);
	if (!m->nbuttons)
		return bl;
	acts = json_obj();
	els = json_arr();
	json_add_str(acts, "type", "actions");
	for (size_t i = 0; i < m->nbuttons; i++) {
		const char *a = m->buttons[i].action, *colon = strchr(a, ':');
		cJSON *b = json_obj(), *label = json_obj();
		char aid[16];
		snprintf(aid, sizeof(aid), "%.*s", colon ? (int)(colon - a) : 0, a);
		json_add_str(b, "type", "button");
		json_add_str(b, "action_id", aid);
		json_add_str(b, "value", colon ? colon + 1 : "");
		json_add_str(b, "style",
		             m->buttons[i].style == CHAT_BUTTON_DANGER ? "danger" : "primary");
		json_add_str(label, "type", "plain_text");
		json_add_str(label, "text", m->buttons[i].label);
		json_add(b, "text", label);
		json_push(els, b);
		if (i == 0 && colon) {
			char bid[80];
			snprintf(bid, sizeof(bid), "approval:%.64s", colon + 1);
			json_add_str(acts, "block_id", bid);
		}
	}
	json_add(acts, "elements", els);
	json_push(bl, acts);
	return bl;
}

static int slack_out(struct slack *s, const struct chat_ref *ref, const struct chat_out *m,
                     chat_sent_fn *done, void *udata)
{
	struct ssend *x = xcalloc(1, sizeof(*x));
	cJSON *b = json_obj();

	x->done = done;
	x->udata = udata;
	str_copy(x->ref.chat_id, ref ? ref->chat_id : m->chat_id, sizeof(x->ref.chat_id));
	if (ref)
		str_copy(x->ref.msg_id, ref->msg_id, sizeof(x->ref.msg_id));
	json_add_str(b, "channel", x->ref.chat_id);
	if (ref)
		json_add_str(b, "ts", ref->msg_id);
	else if (m->thread_id && *m->thread_id)
		json_add_str(b, "thread_ts", m->thread_id);
	json_add_str(b, "text", m->text && *m->text ? m->text : " ");
	if (m->nbuttons)
		json_add(b, "blocks", blocks(m));
	else if (ref)
		json_add(b, "blocks", json_arr()); /* an edit drops the buttons */
	if (!ref) {
		json_add_bool(b, "mrkdwn", true);
		json_add_bool(b, "unfurl_links", false);
	}
	api(s, ref ? "chat.update" : "chat.postMessage", b, false, on_posted, x);
	return 0;
}

static int slack_send(struct chat_adapter *a, const struct chat_out *m, chat_sent_fn *done,
                      void *udata)
{
	return slack_out((struct slack *)a, NULL, m, done, udata);
}

static int slack_edit(struct chat_adapter *a, const struct chat_ref *ref, const struct chat_out *m,
                      chat_sent_fn *done, void *udata)
{
	return slack_out((struct slack *)a, ref, m, done, udata);
}

/* ---- life cycle -------------------------------------------------------------------------- */

/* libwebsockets reads no https_proxy: take chat.slack.proxy, else the variables curl
 * would use for an https URL, as "http://host:port" -> host and port. */
static int ws_proxy(const char *conf, char *host, size_t hostsz, unsigned *port, struct diag *d)
{
	const char *p = conf && *conf ? conf : getenv("https_proxy");
	const char *h, *colon;
	int64_t n;

	host[0] = '\0';
	if (!p || !*p)
		p = getenv("HTTPS_PROXY");
	if (!p || !*p)
		return 0;
	h = str_startswith(p, "http://") ? p + 7 : p;
	if (strstr(h, "://"))
		return diag_set(d, -EINVAL,
		                "proxy: Socket Mode goes through http:// proxies only, got '%s'",
		                p);
	colon = strrchr(h, ':');
	if (!colon || colon == h || (size_t)(colon - h) >= hostsz ||
	    str_to_i64(strndupa(colon + 1, strcspn(colon + 1, "/")), &n) < 0 || n < 1 || n > 65535)
		return diag_set(d, -EINVAL, "proxy: expected http://HOST:PORT, got '%s'", p);
	memcpy(host, h, (size_t)(colon - h));
	host[colon - h] = '\0';
	*port = (unsigned)n;
	return 0;
}

static int slack_create(const struct chat_host *host, struct chat_adapter **ret, struct diag *d)
{
	char proxy_host[256];
	unsigned proxy_port = 0;
	int r;
	const struct relay_conf *c = host->conf;
	struct lws_context_creation_info info;
	void *loops[1] = { host->loop };
	struct slack *s;
	size_t bl;

	*ret = NULL;
	if (!c->slack_app_token || !*c->slack_app_token)
		return 0;
	if (!str_startswith(c->slack_api_base, "https://") &&
	    !str_startswith(c->slack_api_base, "http://"))
		return diag_set(d, -EINVAL, "api_base: expected an http(s):// URL, got '%s'",
		                c->slack_api_base);
	r = ws_proxy(c->slack_proxy, proxy_host, sizeof(proxy_host), &proxy_port, d);
	if (r < 0)
		return r;
	s = xcalloc(1, sizeof(*s));
	s->ops = &slack_adapter;
	s->host = *host;
	bl = strlen(c->slack_api_base);
	s->api = xasprintf("%s%s", c->slack_api_base,
	                   bl && c->slack_api_base[bl - 1] == '/' ? "" : "/");
	s->backoff_ms = 1000;
	list_init(&s->conns);
	list_init(&s->calls);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = loops;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = 16;
	if (proxy_host[0]) {
		info.http_proxy_address = proxy_host;
		info.http_proxy_port = proxy_port;
		log_info("Socket Mode through the proxy %s:%u", proxy_host, proxy_port);
	}
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		free(s->api);
		free(s);
		return diag_set(d, -EIO, "cannot create the Socket Mode WebSocket client");
	}
	ev_init(&s->reconnect, on_reconnect);
	s->reconnect.data = s;
	slack_auth_test(s);
	*ret = (struct chat_adapter *)s;
	return 0;
}

static void slack_destroy(struct chat_adapter *a)
{
	struct slack *s = (struct slack *)a;
	struct list_head *p, *n;

	if (!s)
		return;
	s->stopping = true;
	ev_timer_stop(s->host.loop, &s->reconnect);
	list_for_each_safe(p, n, &s->calls) {
		struct apicall *k = list_entry(p, struct apicall, node);
		k->done(k->udata, -ECANCELED, NULL, "shutting down");
		api_free(k);
	}
	list_for_each_safe(p, n, &s->conns) {
		struct sconn *sc = list_entry(p, struct sconn, node);
		if (sc->wsi)
			lws_set_opaque_user_data(sc->wsi, NULL);
		conn_free(sc);
	}
	lws_context_destroy(s->ctx);
	free(s->api);
	free(s);
}

const struct chat_adapter_ops slack_adapter = {
	.name = "slack",
	.caps = CHAT_CAN_RECEIVE | CHAT_CAN_EDIT | CHAT_CAN_BUTTONS,
	.format = CHAT_FMT_SLACK,
	.max_text = SECTION_MAX,
	.create = slack_create,
	.send = slack_send,
	.edit = slack_edit,
	.destroy = slack_destroy,
};
