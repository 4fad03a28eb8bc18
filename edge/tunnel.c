/* tunnel.c - the edge's WSS client; see tunnel.h and docs/protocol.md.
 *
 * States: DOWN (waiting out the backoff) -> CONNECTING (TCP, TLS, upgrade, then the
 * relay's hello and our auth) -> UP (requests both ways, heartbeats). Any failure goes
 * back to DOWN and schedules the next attempt; a successful auth resets the backoff,
 * except after the relay closed the link because another process connected under this
 * edge's name: then each replacement in a row waits longer (see on_replaced()).
 * Writes go through a queue drained one frame per WRITEABLE callback, as lws requires.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <uthash.h>

#include "edge/tunnel.h"
#include "shared/alloc.h"
#include "shared/auth.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/tls.h"
#include "shared/ws_outq.h"
#include "shared/banned.h"

#define MAX_LISTENERS       8
#define FRAME_MAX_DEFAULT   (1u << 20)
#define FRAME_MAX_CEILING   (16u << 20)
#define HELLO_TIMEOUT_MS    15000
#define MAX_BAD_FRAMES      3
#define DEFAULT_DEADLINE_MS 30000
#define QUEUE_MAX_BYTES     (32u << 20)

struct handler {
	char type[PROTO_TYPE_MAX + 1];
	tunnel_handler_fn *fn;
	void *udata;
	UT_hash_handle hh;
};

struct pending {
	char id[PROTO_ID_MAX + 1];
	struct tunnel *t;
	tunnel_reply_fn *cb;
	void *udata;
	ev_timer timer;
	UT_hash_handle hh;
};

struct tunnel_call {
	struct tunnel *t; /* NULL once the link that carried it is gone */
	char id[PROTO_ID_MAX + 1];
	int64_t deadline_mono;
	ev_timer timer;
	bool answered;
	void (*on_cancel)(void *udata);
	void *cancel_udata;
	UT_hash_handle hh;
};

struct listener {
	tunnel_state_fn *fn;
	void *udata;
};

struct tunnel {
	struct ev_loop *loop;
	struct lws_context *ctx;
	struct lws *wsi;
	enum tunnel_state state;
	bool authed, stopping, tls;
	/* configuration, copied */
	char *url, *host, *path;
	int port;
	char access_key[AUTH_ACCESS_LEN + 1];
	char key_hex[AUTH_HEX_MAX + 1];
	char fingerprint[TLS_FINGERPRINT_LEN + 1];
	bool insecure, session;
	char edge_id[AUTH_EDGE_ID_MAX + 1];
	char version[33];
	cJSON *labels;
	int64_t backoff_min_ms, backoff_max_ms;
	/* connection */
	unsigned attempt;
	unsigned replaced;   /* links taken over by another process with our name, in a row */
	bool replaced_now;   /* the relay said so on the link that is going away */
	int64_t authed_mono; /* when the current link authenticated */
	uint64_t seed;
	ev_timer retry, heartbeat, watchdog;
	int64_t heartbeat_ms, last_rx_mono, connect_mono, connected_since_ms;
	size_t max_frame;
	struct buf rx;
	bool rx_discard;
	int bad_frames;
	struct ws_outq outq;
	char auth_id[PROTO_ID_MAX + 1];
	char role[16];
	char last_error[640];
	uint64_t reconnects, next_id;
	bool hb_outstanding;
	/* dispatch */
	struct handler *handlers;
	struct pending *pending;
	struct tunnel_call *calls;
	struct listener listeners[MAX_LISTENERS];
	unsigned nlisteners;
};

static void link_drop(struct tunnel *t, const char *why);

const char *tunnel_state_name(enum tunnel_state s)
{
	switch (s) {
	case TUNNEL_DOWN:
		return "down";
	case TUNNEL_CONNECTING:
		return "connecting";
	case TUNNEL_UP:
		return "up";
	case _TUNNEL_STATE_MAX:
		break;
	}
	return "?";
}

static void set_state(struct tunnel *t, enum tunnel_state s)
{
	if (t->state == s)
		return;
	t->state = s;
	for (unsigned i = 0; i < t->nlisteners; i++)
		t->listeners[i].fn(t->listeners[i].udata, s);
}

int64_t tunnel_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t *seed)
{
	int64_t d = min_ms;
	uint64_t x;

	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* xorshift64*: jitter only needs to spread edges apart, not be secret. */
	x = *seed ? *seed : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*seed = x;
	x *= 0x2545f4914f6cdd1dull;
	return d / 2 + (int64_t)(x % (uint64_t)(d / 2 + 1));
}

/* ---- sending ------------------------------------------------------------------ */

static int send_frame(struct tunnel *t, char *frame, size_t len)
{
	int r = t->wsi ? ws_outq_push(&t->outq, t->wsi, frame, len, QUEUE_MAX_BYTES) : -ENOTCONN;

	free(frame);
	if (r == -ENOBUFS)
		link_drop(t, "send queue full: the relay is not reading");
	return r;
}

static void send_failure(struct tunnel *t, enum proto_kind kind, const char *id, int err,
                         const char *msg)
{
	size_t len;
	char *f = proto_encode_failure(kind, id, proto_code_from_errno(err), msg, &len);

	(void)send_frame(t, f, len);
}

static int on_writable(struct tunnel *t)
{
	return ws_outq_write(&t->outq, t->wsi);
}

/* ---- requests to the relay ----------------------------------------------------- */

static void pending_finish(struct pending *p, int err, const cJSON *payload, const char *msg)
{
	struct tunnel *t = p->t;
	tunnel_reply_fn *cb = p->cb;
	void *udata = p->udata;

	HASH_DEL(t->pending, p);
	ev_timer_stop(t->loop, &p->timer);
	free(p);
	cb(udata, err, payload, msg);
}

static void pending_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pending *p = container_of(w, struct pending, timer);
	size_t len;

	(void)loop, (void)revents;
	if (p->t->wsi) {
		char *f = proto_encode_cancel(p->id, &len);
		(void)send_frame(p->t, f, len);
	}
	pending_finish(p, -ETIMEDOUT, NULL, "the relay did not answer before the deadline");
}

static int request_raw(struct tunnel *t, const char *type, const cJSON *payload,
                       int64_t deadline_ms, tunnel_reply_fn *cb, void *udata, char *ret_id)
{
	struct pending *p;
	size_t len;
	char *f;
	int r;

	if (deadline_ms <= 0)
		deadline_ms = DEFAULT_DEADLINE_MS;
	p = xcalloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "e%llu", (unsigned long long)++t->next_id);
	f = proto_encode_request(type, p->id, deadline_ms, payload, t->max_frame, &len);
	if (!f) {
		free(p);
		return -E2BIG;
	}
	r = send_frame(t, f, len);
	if (r < 0) {
		free(p);
		return r;
	}
	p->t = t;
	p->cb = cb;
	p->udata = udata;
	ev_timer_init(&p->timer, pending_deadline, (double)deadline_ms / 1000.0, 0.);
	ev_timer_start(t->loop, &p->timer);
	HASH_ADD_STR(t->pending, id, p);
	if (ret_id)
		str_copy(ret_id, p->id, PROTO_ID_MAX + 1);
	return 0;
}

int tunnel_request(struct tunnel *t, const char *type, const cJSON *payload, int64_t deadline_ms,
                   tunnel_reply_fn *cb, void *udata, char *ret_id)
{
	if (!proto_valid_type(type))
		return -EINVAL;
	if (t->state != TUNNEL_UP)
		return -ENOTCONN;
	return request_raw(t, type, payload, deadline_ms, cb, udata, ret_id);
}

void tunnel_cancel(struct tunnel *t, const char *id)
{
	struct pending *p;
	size_t len;

	HASH_FIND_STR(t->pending, id, p);
	if (!p)
		return;
	if (t->wsi) {
		char *f = proto_encode_cancel(p->id, &len);
		(void)send_frame(t, f, len);
	}
	pending_finish(p, -ECANCELED, NULL, "cancelled");
}

/* ---- requests from the relay --------------------------------------------------- */

int tunnel_register_handler(struct tunnel *t, const char *type, tunnel_handler_fn *fn, void *udata)
{
	struct handler *h;

	if (!proto_valid_type(type))
		return -EINVAL;
	HASH_FIND_STR(t->handlers, type, h);
	if (h)
		return -EEXIST;
	h = xcalloc(1, sizeof(*h));
	str_copy(h->type, type, sizeof(h->type));
	h->fn = fn;
	h->udata = udata;
	HASH_ADD_STR(t->handlers, type, h);
	return 0;
}

static void call_detach(struct tunnel_call *call, bool fire_cancel)
{
	if (call->t) {
		ev_timer_stop(call->t->loop, &call->timer);
		HASH_DEL(call->t->calls, call);
		call->t = NULL;
	}
	call->answered = true;
	if (fire_cancel && call->on_cancel) {
		void (*fn)(void *) = call->on_cancel;
		call->on_cancel = NULL;
		fn(call->cancel_udata);
	}
}

static void call_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel_call *call = container_of(w, struct tunnel_call, timer);

	(void)loop, (void)revents;
	send_failure(call->t, PROTO_REPLY, call->id, -ETIMEDOUT,
	             "the edge did not finish this request before its deadline");
	call_detach(call, true);
}

void tunnel_reply(struct tunnel_call *call, const cJSON *payload)
{
	struct tunnel *t = call->t;

	if (!call->answered && t && t->wsi) {
		size_t len;
		char *f = proto_encode_reply(call->id, payload, t->max_frame, &len);
		if (f)
			(void)send_frame(t, f, len);
		else
			send_failure(t, PROTO_REPLY, call->id, -E2BIG,
			             "the reply is larger than the frame limit");
	}
	call->on_cancel = NULL;
	call_detach(call, false);
	free(call);
}

void tunnel_reply_error(struct tunnel_call *call, int err, const char *fmt, ...)
{
	struct tunnel *t = call->t;
	char msg[PROTO_MSG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!call->answered && t && t->wsi)
		send_failure(t, PROTO_REPLY, call->id, err, msg);
	call->on_cancel = NULL;
	call_detach(call, false);
	free(call);
}

void tunnel_call_on_cancel(struct tunnel_call *call, void (*fn)(void *udata), void *udata)
{
	call->on_cancel = fn;
	call->cancel_udata = udata;
}

int64_t tunnel_call_remaining_ms(const struct tunnel_call *call)
{
	int64_t left = call->deadline_mono - mono_ms();

	return left > 0 ? left : 0;
}

static void on_request(struct tunnel *t, const struct proto_msg *m)
{
	struct tunnel_call *call;
	struct handler *h;
	int64_t deadline;

	HASH_FIND_STR(t->handlers, m->type, h);
	if (!h) {
		char msg[128];
		snprintf(msg, sizeof(msg), "this edge has no handler for '%s'", m->type);
		send_failure(t, PROTO_REPLY, m->id, -ENOSYS, msg);
		return;
	}
	HASH_FIND_STR(t->calls, m->id, call);
	if (call) {
		send_failure(t, PROTO_REPLY, m->id, -EEXIST, "a request with this id is in flight");
		return;
	}
	deadline = m->deadline_ms > 0 ? m->deadline_ms : DEFAULT_DEADLINE_MS;
	call = xcalloc(1, sizeof(*call));
	call->t = t;
	str_copy(call->id, m->id, sizeof(call->id));
	call->deadline_mono = mono_ms() + deadline;
	ev_timer_init(&call->timer, call_deadline, (double)deadline / 1000.0, 0.);
	ev_timer_start(t->loop, &call->timer);
	HASH_ADD_STR(t->calls, id, call);
	h->fn(call, m->payload, h->udata);
}

/* ---- handshake and heartbeats -------------------------------------------------- */

static void on_heartbeat_reply(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct tunnel *t = udata;

	(void)payload;
	t->hb_outstanding = false;
	if (err == -ETIMEDOUT)
		link_drop(t, "the relay missed a heartbeat");
	else if (err && err != -ECONNRESET && err != -ESHUTDOWN)
		log_debug("heartbeat: %s", msg ? msg : "error");
}

static void on_heartbeat(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, heartbeat);

	(void)loop, (void)revents;
	if (t->state != TUNNEL_UP || t->hb_outstanding)
		return;
	if (request_raw(t, "heartbeat", NULL, t->heartbeat_ms, on_heartbeat_reply, t, NULL) == 0)
		t->hb_outstanding = true;
}

/* Silence is the only sign of a dead link through NAT: no frame for three heartbeat
 * intervals (or no hello in time) and the link is dropped. */
static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, watchdog);
	int64_t now = mono_ms();

	(void)loop, (void)revents;
	if (!t->wsi)
		return;
	if (!t->authed && now - t->connect_mono > HELLO_TIMEOUT_MS)
		link_drop(t, "no hello or auth reply from the relay in time");
	else if (t->authed && now - t->last_rx_mono > 3 * t->heartbeat_ms)
		link_drop(t, "nothing from the relay for three heartbeat intervals");
	/* A link nobody took over for twice the longest backoff: the other process with
	 * our name, if there was one, is gone. */
	if (t->authed && t->replaced && now - t->authed_mono > 2 * t->backoff_max_ms)
		t->replaced = 0;
}

static void on_auth_reply(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct tunnel *t = udata;
	const char *role = NULL;

	if (err) {
		if (err != -ECONNRESET && err != -ESHUTDOWN) {
			snprintf(t->last_error, sizeof(t->last_error), "relay refused auth: %s",
			         msg ? msg : proto_code_from_errno(err));
			log_err("relay '%s' refused authentication of edge '%s': %s", t->url,
			        t->edge_id, msg ? msg : proto_code_from_errno(err));
			link_drop(t, "authentication refused");
		}
		return;
	}
	if (payload && json_get_string(payload, "role", &role, "auth", NULL) == 0 && role)
		str_copy(t->role, role, sizeof(t->role));
	t->authed = true;
	t->attempt = 0;
	t->authed_mono = mono_ms();
	t->last_error[0] = '\0';
	t->connected_since_ms = now_ms();
	ev_timer_set(&t->heartbeat, (double)t->heartbeat_ms / 1000.0,
	             (double)t->heartbeat_ms / 1000.0);
	ev_timer_again(t->loop, &t->heartbeat);
	log_info("connected to relay '%s' as edge '%s'", t->url, t->edge_id);
	set_state(t, TUNNEL_UP);
}

static void on_hello(struct tunnel *t, const struct proto_msg *m)
{
	const char *nonce = NULL;
	int64_t hb = 0, maxf = 0;
	char mac[AUTH_HEX_MAX + 1];
	int64_t ts = now_ms();
	cJSON *p;
	int r;

	if (t->authed || !m->payload ||
	    json_get_string(m->payload, "nonce", &nonce, "hello", NULL) < 0 || !nonce) {
		link_drop(t, "the relay's hello has no nonce");
		return;
	}
	if (json_get_int(m->payload, "heartbeat_ms", &hb, "hello", NULL) == 0 && hb >= 1000 &&
	    hb <= 600000)
		t->heartbeat_ms = hb;
	if (json_get_int(m->payload, "max_frame_bytes", &maxf, "hello", NULL) == 0 &&
	    maxf >= 4096 && (uint64_t)maxf <= FRAME_MAX_CEILING)
		t->max_frame = (size_t)maxf;
	r = auth_sign(t->key_hex, t->access_key, t->edge_id, nonce, ts, mac, sizeof(mac));
	if (r < 0) {
		link_drop(t, "cannot sign the relay's challenge (malformed nonce)");
		return;
	}
	p = json_obj();
	json_add_str(p, "access_key", t->access_key);
	json_add_str(p, "edge_id", t->edge_id);
	json_add_str(p, "nonce", nonce);
	json_add_num(p, "ts_ms", (double)ts);
	json_add_str(p, "mac", mac);
	json_add_str(p, "version", t->version);
	json_add(p, "labels", cJSON_Duplicate(t->labels, true));
	if (t->session)
		json_add_str(p, "session", "cli");
	r = request_raw(t, "auth", p, HELLO_TIMEOUT_MS, on_auth_reply, t, t->auth_id);
	cJSON_Delete(p);
	if (r < 0)
		link_drop(t, "cannot send auth");
}

/* ---- receiving ----------------------------------------------------------------- */

static void bad_frame(struct tunnel *t, const char *id, int err, const char *msg)
{
	log_warn("bad frame from relay '%s': %s", t->url, msg);
	send_failure(t, PROTO_ERROR, id, err, msg);
	if (++t->bad_frames > MAX_BAD_FRAMES)
		link_drop(t, "too many malformed frames from the relay");
}

/* Another process authenticated as this edge, and the relay let the newer connection
 * win. Reconnecting at once would take the name back and be taken over in turn, two
 * edges trading one name several times a second, each time an audit row on the relay.
 * So every takeover in a row counts as a failed attempt: the two back off to
 * relay.backoff_max and trade the name at most about once per backoff_max, with this
 * error in both logs, until one of them stops. */
static void on_replaced(struct tunnel *t, const char *msg)
{
	if (t->replaced < 63)
		t->replaced++;
	t->replaced_now = true;
	snprintf(t->last_error, sizeof(t->last_error),
	         "relay: %s: another process connected as edge '%s' (two edges with one name?)",
	         msg, t->edge_id);
	log_err("relay '%s': %s; backing off (taken over %u times in a row)", t->url, t->last_error,
	        t->replaced);
}

static void on_message(struct tunnel *t, const char *data, size_t len)
{
	struct proto_msg m;
	struct diag d = { 0 };
	struct pending *p;
	struct tunnel_call *call;
	int r;

	r = proto_decode(data, len, t->max_frame, &m, &d);
	if (r < 0) {
		bad_frame(t, m.id, r, d.msg);
		return;
	}
	switch (m.kind) {
	case PROTO_REQUEST:
		if (!strcmp(m.type, "hello"))
			on_hello(t, &m);
		else if (!t->authed)
			send_failure(t, PROTO_REPLY, m.id, -EACCES, "not authenticated yet");
		else
			on_request(t, &m);
		break;
	case PROTO_REPLY:
		HASH_FIND_STR(t->pending, m.id, p);
		if (!p)
			break;
		if (m.ok)
			pending_finish(p, 0, m.payload, NULL);
		else
			pending_finish(p, proto_errno_from_code(m.code), NULL, m.message);
		break;
	case PROTO_CANCEL:
		HASH_FIND_STR(t->calls, m.id, call);
		if (call)
			call_detach(call, true);
		break;
	case PROTO_ERROR:
		if (!t->last_error[0])
			snprintf(t->last_error, sizeof(t->last_error), "relay: %s: %s", m.code,
			         m.message);
		if (t->authed &&
		    !strncmp(m.message, PROTO_REPLACED_MSG, strlen(PROTO_REPLACED_MSG)))
			on_replaced(t, m.message);
		else
			log_warn("relay '%s' reports %s: %s", t->url, m.code, m.message);
		break;
	case _PROTO_KIND_MAX:
		break;
	}
	proto_msg_release(&m);
}

static void on_rx(struct tunnel *t, const void *in, size_t len)
{
	t->last_rx_mono = mono_ms();
	if (lws_is_first_fragment(t->wsi)) {
		buf_release(&t->rx);
		buf_init(&t->rx, t->max_frame);
		t->rx_discard = false;
	}
	if (!t->rx_discard && buf_add(&t->rx, in, len) < 0) {
		t->rx_discard = true;
		buf_release(&t->rx);
	}
	if (!lws_is_final_fragment(t->wsi))
		return;
	if (t->rx_discard)
		bad_frame(t, "", -E2BIG, "frame exceeds the limit");
	else
		on_message(t, t->rx.data ? t->rx.data : "", t->rx.len);
	buf_release(&t->rx);
	buf_init(&t->rx, t->max_frame);
}

/* ---- connection lifecycle ------------------------------------------------------ */

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents);

static void schedule_retry(struct tunnel *t)
{
	int64_t delay;

	if (t->stopping)
		return;
	delay = tunnel_backoff_ms(t->attempt, t->backoff_min_ms, t->backoff_max_ms, &t->seed);
	if (t->attempt < 63)
		t->attempt++;
	log_info("relay '%s': %s, retrying in %lldms", t->url,
	         t->last_error[0] ? t->last_error : "disconnected", (long long)delay);
	ev_timer_stop(t->loop, &t->retry);
	ev_timer_set(&t->retry, (double)delay / 1000.0, 0.);
	ev_timer_start(t->loop, &t->retry);
}

/* The socket is gone (or never came up): fail what was in flight, forget the link. */
static void link_gone(struct tunnel *t)
{
	struct pending *p, *ptmp;
	struct tunnel_call *call, *ctmp;
	bool was_up = t->authed;

	t->wsi = NULL;
	t->authed = false;
	t->hb_outstanding = false;
	ev_timer_stop(t->loop, &t->heartbeat);
	ws_outq_clear(&t->outq);
	buf_release(&t->rx);
	for (p = t->pending; p; p = ptmp) {
		ptmp = p->hh.next;
		pending_finish(p, t->stopping ? -ESHUTDOWN : -ECONNRESET, NULL,
		               "the link to the relay dropped");
	}
	for (call = t->calls; call; call = ctmp) {
		ctmp = call->hh.next;
		call_detach(call, true);
	}
	if (was_up && !t->stopping)
		log_warn("lost the relay '%s'", t->url);
	if (t->replaced_now)
		t->attempt = t->replaced;
	t->replaced_now = false;
	set_state(t, TUNNEL_DOWN);
	schedule_retry(t);
}

/* Ask lws to close the link; link_gone() follows from the CLOSED callback. */
static void link_drop(struct tunnel *t, const char *why)
{
	if (!t->wsi)
		return;
	/* Keep a more specific reason (the relay's refusal) over the generic one. */
	if (!t->last_error[0] || strcmp(why, "authentication refused") != 0)
		snprintf(t->last_error, sizeof(t->last_error), "%s", why);
	lws_set_timeout(t->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Compare the relay's certificate with relay.fingerprint before anything is sent. */
static int check_pin(struct tunnel *t, struct lws *wsi)
{
	char got[TLS_FINGERPRINT_LEN + 1] = "";
	unsigned char *der = NULL;
	SSL *ssl;
	X509 *cert;
	int len;

	if (!t->tls || !t->fingerprint[0])
		return 0;
	ssl = lws_get_ssl(wsi);
	cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (!cert) {
		snprintf(t->last_error, sizeof(t->last_error), "the relay sent no certificate");
		return -1;
	}
	len = i2d_X509(cert, &der);
	X509_free(cert);
	if (len > 0)
		(void)tls_fingerprint_der(der, (size_t)len, got, sizeof(got));
	OPENSSL_free(der);
	if (!tls_fingerprint_equal(got, t->fingerprint)) {
		snprintf(t->last_error, sizeof(t->last_error),
		         "relay certificate %s does not match relay.fingerprint %s", got,
		         t->fingerprint);
		log_err("refusing relay '%s': certificate %s does not match relay.fingerprint %s",
		        t->url, got, t->fingerprint);
		return -1;
	}
	return 0;
}

static int cb_client(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
	struct tunnel *t = lws_get_opaque_user_data(wsi);

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (t) {
			snprintf(t->last_error, sizeof(t->last_error), "cannot connect: %s",
			         in ? (const char *)in : "unknown error");
			link_gone(t);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!t)
			return -1;
		if (check_pin(t, wsi) < 0)
			return -1;
		t->bad_frames = 0;
		t->last_rx_mono = mono_ms();
		buf_init(&t->rx, t->max_frame);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (t && t->wsi == wsi)
			on_rx(t, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (t && t->wsi == wsi)
			return on_writable(t);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (t && len > 2)
			snprintf(t->last_error, sizeof(t->last_error),
			         "relay closed the link: %.*s", (int)(len - 2),
			         (const char *)in + 2);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (t && t->wsi == wsi)
			link_gone(t);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ PROTO_SUBPROTOCOL, cb_client, 0, 16384, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void connect_now(struct tunnel *t)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = t->ctx;
	ci.address = t->host;
	ci.port = t->port;
	ci.path = t->path;
	ci.host = t->host;
	ci.origin = t->host;
	ci.protocol = PROTO_SUBPROTOCOL;
	ci.local_protocol_name = PROTO_SUBPROTOCOL;
	ci.opaque_user_data = t;
	ci.pwsi = &t->wsi;
	if (t->tls)
		/* Chain and name checks are off because the pin replaces them: check_pin()
		 * compares the exact certificate before anything is sent. */
		ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
		                    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
	t->connect_mono = mono_ms();
	t->max_frame = FRAME_MAX_DEFAULT;
	set_state(t, TUNNEL_CONNECTING);
	if (t->reconnects++ && t->insecure)
		log_debug("relay.insecure is set for '%s'", t->url);
	if (!lws_client_connect_via_info(&ci)) {
		t->wsi = NULL;
		snprintf(t->last_error, sizeof(t->last_error), "cannot start a connection to '%s'",
		         t->url);
		set_state(t, TUNNEL_DOWN);
		schedule_retry(t);
	}
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tunnel *t = container_of(w, struct tunnel, retry);

	(void)loop, (void)revents;
	if (!t->wsi && !t->stopping)
		connect_now(t);
}

/* ---- setup --------------------------------------------------------------------- */

static int parse_url(struct tunnel *t, const char *url, struct diag *d)
{
	char *copy = xstrdup(url), *p = copy, *hs, *pe;
	int64_t port;

	if (str_startswith(p, "wss://")) {
		t->tls = true;
		p += 6;
	} else if (str_startswith(p, "ws://")) {
		p += 5;
	} else {
		free(copy);
		return diag_set(d, -EINVAL, "relay.url: expected wss://HOST:PORT/, got '%s'", url);
	}
	hs = p;
	pe = strchr(p, '/');
	t->path = xstrdup(pe ? pe : "/");
	if (pe)
		*pe = '\0';
	if (*hs == '[') {
		char *close = strchr(hs, ']');
		if (!close)
			goto bad;
		*close = '\0';
		t->host = xstrdup(hs + 1);
		p = close + 1;
	} else {
		char *colon = strrchr(hs, ':');
		if (colon)
			*colon = '\0';
		t->host = xstrdup(hs);
		p = colon ? colon : hs + strlen(hs);
		if (colon)
			*p = ':';
	}
	if (*p == ':') {
		if (str_to_i64(p + 1, &port) < 0 || port < 1 || port > 65535)
			goto bad;
		t->port = (int)port;
	} else if (*p == '\0') {
		t->port = t->tls ? 443 : 80;
	} else {
		goto bad;
	}
	if (!t->host[0])
		goto bad;
	free(copy);
	return 0;
bad:
	free(copy);
	return diag_set(d, -EINVAL, "relay.url: cannot read host and port in '%s'", url);
}

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	(void)level;
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_debug("lws: %.*s", (int)n, line);
}

int tunnel_open(struct ev_loop *loop, const struct tunnel_conf *conf, struct tunnel **ret,
                struct diag *d)
{
	struct lws_context_creation_info info;
	void *loops[1] = { loop };
	struct tunnel *t;
	int r;

	if (!conf->url || !*conf->url)
		return diag_set(d, -EINVAL, "relay.url: not set");
	if (!auth_valid_access_key(conf->access_key))
		return diag_set(d, -EINVAL,
		                "relay.access_key: expected ogk_ and 24 hex digits (from "
		                "`ongrid-relay keys create`)");
	if (!auth_valid_secret(conf->secret_key))
		return diag_set(d, -EINVAL, "relay.secret_key: expected ogs_ and 64 hex digits");
	if (!auth_valid_edge_id(conf->edge_id))
		return diag_set(d, -EINVAL,
		                "name: '%s' cannot be an edge id (1-64 characters of "
		                "[A-Za-z0-9._-])",
		                conf->edge_id ? conf->edge_id : "");
	t = xcalloc(1, sizeof(*t));
	t->loop = loop;
	r = parse_url(t, conf->url, d);
	if (r < 0)
		goto out_free;
	if (!t->tls && !conf->insecure) {
		r = diag_set(d, -EINVAL,
		             "relay.url: ws:// is plain text; use wss://, or set relay.insecure = "
		             "true to allow it");
		goto out_free;
	}
	if (t->tls && !conf->insecure && (!conf->fingerprint || !*conf->fingerprint)) {
		r = diag_set(
		        d, -EINVAL,
		        "relay.fingerprint: required for wss:// (printed by `ongrid-relay keys "
		        "create`), or set relay.insecure = true");
		goto out_free;
	}
	if (conf->fingerprint && *conf->fingerprint) {
		if (!tls_fingerprint_equal(conf->fingerprint, conf->fingerprint)) {
			r = diag_set(
			        d, -EINVAL,
			        "relay.fingerprint: expected sha256: and 64 hex digits, got '%s'",
			        conf->fingerprint);
			goto out_free;
		}
		str_copy(t->fingerprint, conf->fingerprint, sizeof(t->fingerprint));
	}
	r = auth_derive_key(conf->secret_key, t->key_hex, sizeof(t->key_hex));
	if (r < 0) {
		diag_set(d, r, "relay.secret_key: cannot derive the signing key");
		goto out_free;
	}
	t->url = xstrdup(conf->url);
	t->insecure = conf->insecure;
	t->session = conf->session;
	str_copy(t->access_key, conf->access_key, sizeof(t->access_key));
	str_copy(t->edge_id, conf->edge_id, sizeof(t->edge_id));
	str_copy(t->version, conf->version ? conf->version : ONGRID_VERSION, sizeof(t->version));
	t->labels = conf->labels ? cJSON_Duplicate(conf->labels, true) : json_obj();
	t->backoff_min_ms = conf->backoff_min_ms > 0 ? conf->backoff_min_ms : 500;
	t->backoff_max_ms = conf->backoff_max_ms > 0 ? conf->backoff_max_ms : 60000;
	if (t->backoff_max_ms < t->backoff_min_ms)
		t->backoff_max_ms = t->backoff_min_ms;
	t->heartbeat_ms = 15000;
	t->max_frame = FRAME_MAX_DEFAULT;
	t->seed = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)t;
	ws_outq_init(&t->outq);
	buf_init(&t->rx, t->max_frame);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBEV;
	if (t->tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = t;
	info.fd_limit_per_thread = 16;
	lws_set_log_level(log_get_level() >= LOG_LEVEL_DEBUG ? (LLL_ERR | LLL_WARN) : 0,
	                  lws_log_emit);
	t->ctx = lws_create_context(&info);
	if (!t->ctx) {
		r = diag_set(d, -EIO,
		             "cannot create the WebSocket client (libwebsockets-evlib-ev "
		             "missing?)");
		goto out_free;
	}
	if (t->insecure)
		log_warn("relay.insecure is set: %s",
		         t->tls ? "the relay's certificate is not pinned"
		                : "the tunnel is plain text (ws://)");
	ev_timer_init(&t->retry, on_retry, 0., 0.);
	ev_timer_start(loop, &t->retry);
	ev_init(&t->heartbeat, on_heartbeat);
	ev_timer_init(&t->watchdog, on_watchdog, 1.0, 1.0);
	ev_timer_start(loop, &t->watchdog);
	*ret = t;
	return 0;

out_free:
	free(t->host);
	free(t->path);
	free(t->url);
	cJSON_Delete(t->labels);
	free(t);
	return r;
}

void tunnel_close(struct tunnel *t)
{
	struct handler *h, *htmp;
	struct pending *p, *ptmp;
	struct tunnel_call *call, *ctmp;

	if (!t)
		return;
	t->stopping = true;
	ev_timer_stop(t->loop, &t->retry);
	ev_timer_stop(t->loop, &t->heartbeat);
	ev_timer_stop(t->loop, &t->watchdog);
	if (t->ctx)
		lws_context_destroy(t->ctx);
	t->wsi = NULL;
	for (p = t->pending; p; p = ptmp) {
		ptmp = p->hh.next;
		pending_finish(p, -ESHUTDOWN, NULL, "the tunnel is closing");
	}
	for (call = t->calls; call; call = ctmp) {
		ctmp = call->hh.next;
		call_detach(call, true);
	}
	h = t->handlers;
	HASH_CLEAR(hh, t->handlers);
	for (; h; h = htmp) {
		htmp = h->hh.next;
		free(h);
	}
	ws_outq_clear(&t->outq);
	buf_release(&t->rx);
	cJSON_Delete(t->labels);
	free(t->host);
	free(t->path);
	free(t->url);
	explicit_bzero(t->key_hex, sizeof(t->key_hex));
	free(t);
}

int tunnel_on_state(struct tunnel *t, tunnel_state_fn *fn, void *udata)
{
	if (t->nlisteners >= MAX_LISTENERS)
		return -E2BIG;
	t->listeners[t->nlisteners].fn = fn;
	t->listeners[t->nlisteners].udata = udata;
	t->nlisteners++;
	return 0;
}

void tunnel_off_state(struct tunnel *t, tunnel_state_fn *fn, void *udata)
{
	for (unsigned i = 0; i < t->nlisteners; i++) {
		if (t->listeners[i].fn == fn && t->listeners[i].udata == udata) {
			memmove(&t->listeners[i], &t->listeners[i + 1],
			        (t->nlisteners - i - 1) * sizeof(t->listeners[0]));
			t->nlisteners--;
			return;
		}
	}
}

bool tunnel_link_lost(const struct tunnel *t)
{
	return !t->wsi && !t->stopping;
}

enum tunnel_state tunnel_get_state(const struct tunnel *t)
{
	return t->state;
}

cJSON *tunnel_status_json(const struct tunnel *t)
{
	cJSON *o = json_obj();
	char ts[40];

	json_add_str(o, "state", tunnel_state_name(t->state));
	json_add_str(o, "relay", t->url);
	if (t->state == TUNNEL_UP) {
		clock_format_rfc3339(ts, sizeof(ts), t->connected_since_ms);
		json_add_str(o, "connected_since", ts);
		json_add_str(o, "role", t->role);
	}
	json_add_num(o, "connects", (double)t->reconnects);
	if (t->last_error[0])
		json_add_str(o, "last_error", t->last_error);
	return o;
}
