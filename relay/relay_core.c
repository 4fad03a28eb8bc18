/* relay_core.c - the edge server; see relay_core.h and docs/protocol.md.
 *
 * A connection moves HELLO -> AUTHED -> CLOSING. In HELLO the relay has sent its nonce
 * and accepts exactly one "auth" request; anything else closes the connection. Frames
 * leave through a per-connection queue drained one frame per WRITEABLE callback, which is
 * how libwebsockets wants writes done; the queue has a byte cap so an edge that stops
 * reading cannot make the relay buffer without bound.
 */
#define LOG_MODULE "edges"
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <malloc.h>

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <uthash.h>

#include "relay/db.h"
#include "relay/keys.h"
#include "relay/relay_core.h"
#include "shared/alloc.h"
#include "shared/auth.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/tls.h"
#include "shared/ws_outq.h"
#include "shared/banned.h"

/* Closing connections get this long to flush their last frame. */
#define CLOSE_FLUSH_S 3
/* Bytes queued towards one edge before it is dropped as not reading: a few frames. */
#define QUEUE_FRAMES  8

enum conn_state { CONN_HELLO, CONN_AUTHED, CONN_CLOSING };

struct handler {
	char type[PROTO_TYPE_MAX + 1];
	relay_handler_fn *fn;
	void *udata;
	UT_hash_handle hh;
};

struct conn;

struct relay_call {
	struct relay *relay;
	struct conn *conn; /* NULL once the edge is gone */
	char id[PROTO_ID_MAX + 1];
	char type[PROTO_TYPE_MAX + 1];
	char edge[AUTH_EDGE_ID_MAX + 1];
	char role[16];
	int64_t deadline_mono;
	ev_timer timer;
	bool answered; /* the edge has had its reply (or timeout); later replies are dropped */
	void (*on_cancel)(void *udata);
	void *cancel_udata;
	UT_hash_handle hh; /* conn->calls by id */
};

struct pending {
	char id[PROTO_ID_MAX + 1];
	struct relay *relay;
	struct conn *conn;
	relay_reply_fn *cb;
	void *udata;
	ev_timer timer;
	struct list_head conn_link;
	UT_hash_handle hh; /* relay->pending by id */
};

struct conn {
	struct relay *relay;
	struct lws *wsi;
	enum conn_state state;
	char addr[INET6_ADDRSTRLEN + 8];
	char nonce[2 * AUTH_NONCE_BYTES + 1];
	int64_t opened_mono, last_rx_mono;
	struct buf rx;
	bool rx_discard, rx_binary;
	size_t rx_seen;
	int bad_frames;
	struct ws_outq outq;
	int close_status;
	/* after auth */
	char name[AUTH_EDGE_ID_MAX + 1];
	char key_name[KEYS_NAME_MAX + 1];
	char access_key[AUTH_ACCESS_LEN + 1];
	char role[16];
	char version[33];
	char *labels; /* JSON text */
	int64_t connected_since_ms, last_heartbeat_ms;
	bool hb_dirty, shared_key, registered;
	bool session; /* a CLI session acting for the edge: not in the registry, gets no requests */
	struct relay_call *calls;
	unsigned ncalls;
	struct list_head pending;
	struct list_head link; /* relay->conns */
	UT_hash_handle hh;     /* relay->by_name */
};

struct cleanup {
	void (*fn)(void *udata);
	void *udata;
	struct cleanup *next;
};

struct module_slot {
	char name[32];
	void *state;
	struct module_slot *next;
};

struct relay {
	struct ev_loop *loop;
	struct cleanup *cleanups;
	struct module_slot *modules;
	const struct relay_conf *conf;
	sqlite3 *db;
	struct lws_context *ctx;
	struct handler *handlers;
	struct pending *pending;
	struct conn *by_name;
	struct list_head conns;
	unsigned nconns;
	struct auth_replay *replay;
	ev_timer tick;
	int64_t data_version;
	uint64_t next_id;
	unsigned churn; /* connections opened since the last heap trim */
	int64_t last_opened_mono;
	char fingerprint[TLS_FINGERPRINT_LEN + 1];
	struct relay_stats stats;
	bool shutting_down;
};

static void conn_close(struct conn *c, int status, const char *why);
static void registry_update(struct relay *r, struct conn *c, bool connected);

/* ---- sending ------------------------------------------------------------------ */

static size_t queue_cap(const struct relay *r)
{
	return QUEUE_FRAMES * (size_t)r->conf->max_frame + 65536;
}

/* Queue frame (len bytes) for c. Takes nothing; copies. */
static int conn_send(struct conn *c, const char *frame, size_t len)
{
	int r;

	if (!c->wsi || c->state == CONN_CLOSING)
		return -ENOTCONN;
	r = ws_outq_push(&c->outq, c->wsi, frame, len, queue_cap(c->relay));
	if (r == -ENOBUFS) {
		/* Not conn_close(): nothing more can be queued to an edge that does not read. */
		log_warn("dropping %s (%s): send queue full, the edge is not reading",
		         c->name[0] ? c->name : "connection", c->addr);
		ws_outq_clear(&c->outq);
		c->state = CONN_CLOSING;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	return r;
}

static int conn_send_owned(struct conn *c, char *frame, size_t len)
{
	int r = conn_send(c, frame, len);

	free(frame);
	return r;
}

static void send_failure(struct conn *c, enum proto_kind kind, const char *id, int err,
                         const char *msg)
{
	size_t len;
	char *f = proto_encode_failure(kind, id, proto_code_from_errno(err), msg, &len);

	(void)conn_send_owned(c, f, len);
}

/* Close after the queued frames are out (CLOSE_FLUSH_S at most). */
static void conn_close(struct conn *c, int status, const char *why)
{
	if (c->state == CONN_CLOSING || !c->wsi)
		return;
	if (c->state == CONN_AUTHED)
		log_info("closing edge '%s' (%s): %s", c->name, c->addr, why);
	else
		log_info("closing connection from %s: %s", c->addr, why);
	/* Tell the edge why, as the last frame, then close with status. A queue that is
	 * already most of its cap is dropped: that edge is not reading anyway. */
	if (c->outq.bytes + 1024 > queue_cap(c->relay) / 2)
		ws_outq_clear(&c->outq);
	send_failure(c, PROTO_ERROR, "",
	             status == LWS_CLOSE_STATUS_POLICY_VIOLATION ? -EPERM : -ESHUTDOWN, why);
	c->state = CONN_CLOSING;
	c->close_status = status;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_FLUSH_S);
	lws_callback_on_writable(c->wsi);
}

static int on_writable(struct conn *c)
{
	if (ws_outq_write(&c->outq, c->wsi) < 0)
		return -1;
	if (ws_outq_empty(&c->outq) && c->state == CONN_CLOSING) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_status, NULL, 0);
		return -1;
	}
	return 0;
}

/* ---- calls from edges ----------------------------------------------------------- */

static void call_free(struct relay_call *call)
{
	ev_timer_stop(call->relay->loop, &call->timer);
	free(call);
}

/* The edge will hear nothing more about this call from us; keep it until the handler
 * replies. */
static void call_detach(struct relay_call *call, bool fire_cancel)
{
	struct conn *c = call->conn;

	if (c) {
		HASH_DEL(c->calls, call);
		c->ncalls--;
		call->conn = NULL;
	}
	ev_timer_stop(call->relay->loop, &call->timer);
	call->answered = true;
	if (fire_cancel && call->on_cancel) {
		void (*fn)(void *) = call->on_cancel;
		call->on_cancel = NULL;
		fn(call->cancel_udata);
	}
}

static void call_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay_call *call = container_of(w, struct relay_call, timer);
	struct conn *c = call->conn;

	(void)loop, (void)revents;
	if (c)
		send_failure(c, PROTO_REPLY, call->id, -ETIMEDOUT,
		             "the relay did not finish this request before its deadline");
	call_detach(call, true);
}

void relay_reply(struct relay_call *call, const cJSON *payload)
{
	struct conn *c = call->conn;

	if (!call->answered && c) {
		size_t len;
		char *f = proto_encode_reply(call->id, payload, c->relay->conf->max_frame, &len);
		if (f)
			(void)conn_send_owned(c, f, len);
		else
			send_failure(c, PROTO_REPLY, call->id, -E2BIG,
			             "the reply is larger than the frame limit");
	}
	call->on_cancel = NULL;
	call_detach(call, false);
	call_free(call);
}

void relay_reply_error(struct relay_call *call, int err, const char *fmt, ...)
{
	struct conn *c = call->conn;
	char msg[PROTO_MSG_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!call->answered && c)
		send_failure(c, PROTO_REPLY, call->id, err, msg);
	call->on_cancel = NULL;
	call_detach(call, false);
	call_free(call);
}

void relay_call_on_cancel(struct relay_call *call, void (*fn)(void *udata), void *udata)
{
	call->on_cancel = fn;
	call->cancel_udata = udata;
}

const char *relay_call_edge(const struct relay_call *call)
{
	return call->edge;
}

const char *relay_call_role(const struct relay_call *call)
{
	return call->role;
}

const char *relay_call_type(const struct relay_call *call)
{
	return call->type;
}

struct relay *relay_call_relay(const struct relay_call *call)
{
	return call->relay;
}

int64_t relay_call_remaining_ms(const struct relay_call *call)
{
	int64_t left = call->deadline_mono - mono_ms();

	return left > 0 ? left : 0;
}

int relay_register_handler(struct relay *r, const char *type, relay_handler_fn *fn, void *udata)
{
	struct handler *h;

	if (!proto_valid_type(type))
		return -EINVAL;
	HASH_FIND_STR(r->handlers, type, h);
	if (h)
		return -EEXIST;
	h = xcalloc(1, sizeof(*h));
	str_copy(h->type, type, sizeof(h->type));
	h->fn = fn;
	h->udata = udata;
	HASH_ADD_STR(r->handlers, type, h);
	return 0;
}

/* ---- requests to edges --------------------------------------------------------- */

static void pending_finish(struct pending *p, int err, const cJSON *payload, const char *msg)
{
	struct relay *r = p->relay;
	relay_reply_fn *cb = p->cb;
	void *udata = p->udata;

	HASH_DEL(r->pending, p);
	list_del(&p->conn_link);
	ev_timer_stop(r->loop, &p->timer);
	free(p);
	cb(udata, err, payload, msg);
}

static void pending_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pending *p = container_of(w, struct pending, timer);
	size_t len;
	char *f;

	(void)loop, (void)revents;
	if (p->conn && p->conn->state == CONN_AUTHED) {
		f = proto_encode_cancel(p->id, &len);
		(void)conn_send_owned(p->conn, f, len);
	}
	pending_finish(p, -ETIMEDOUT, NULL, "the edge did not answer before the deadline");
}

int relay_request(struct relay *r, const char *edge, const char *type, const cJSON *payload,
                  int64_t timeout_ms, relay_reply_fn *cb, void *udata, char *ret_id)
{
	struct conn *c;
	struct pending *p;
	size_t len;
	char *f;
	int rc;

	if (!proto_valid_type(type))
		return -EINVAL;
	HASH_FIND_STR(r->by_name, edge, c);
	if (!c || c->state != CONN_AUTHED)
		return -EHOSTUNREACH;
	if (timeout_ms <= 0)
		timeout_ms = r->conf->request_timeout_ms;
	p = xcalloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "r%llu", (unsigned long long)++r->next_id);
	f = proto_encode_request(type, p->id, timeout_ms, payload, r->conf->max_frame, &len);
	if (!f) {
		free(p);
		return -E2BIG;
	}
	rc = conn_send_owned(c, f, len);
	if (rc < 0) {
		free(p);
		return rc;
	}
	p->relay = r;
	p->conn = c;
	p->cb = cb;
	p->udata = udata;
	ev_timer_init(&p->timer, pending_deadline, (double)timeout_ms / 1000.0, 0.);
	ev_timer_start(r->loop, &p->timer);
	list_add_tail(&p->conn_link, &c->pending);
	HASH_ADD_STR(r->pending, id, p);
	r->stats.requests_out++;
	if (ret_id)
		str_copy(ret_id, p->id, PROTO_ID_MAX + 1);
	return 0;
}

void relay_cancel(struct relay *r, const char *id)
{
	struct pending *p;
	size_t len;
	char *f;

	HASH_FIND_STR(r->pending, id, p);
	if (!p)
		return;
	if (p->conn && p->conn->state == CONN_AUTHED) {
		f = proto_encode_cancel(p->id, &len);
		(void)conn_send_owned(p->conn, f, len);
	}
	pending_finish(p, -ECANCELED, NULL, "cancelled");
}

/* ---- authentication ------------------------------------------------------------ */

static void send_hello(struct conn *c)
{
	struct relay *r = c->relay;
	cJSON *p = json_obj();
	size_t len;
	char *f;

	if (auth_random_hex(c->nonce, sizeof(c->nonce), AUTH_NONCE_BYTES) < 0) {
		cJSON_Delete(p);
		conn_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "the random generator failed");
		return;
	}
	json_add_str(p, "nonce", c->nonce);
	json_add_num(p, "time_ms", (double)now_ms());
	json_add_num(p, "heartbeat_ms", (double)r->conf->heartbeat_ms);
	json_add_num(p, "max_frame_bytes", (double)r->conf->max_frame);
	json_add_num(p, "protocol", PROTO_VERSION);
	json_add_str(p, "relay_version", ONGRID_VERSION);
	f = proto_encode_request("hello", "hello", r->conf->auth_timeout_ms, p, (size_t)-1, &len);
	cJSON_Delete(p);
	(void)conn_send_owned(c, f, len);
}

/* Refuse: one reply naming why, an audit row, then close. The edge learns what was wrong
 * with its own credentials; nothing about other keys. */
static void auth_refuse(struct conn *c, const char *id, const char *edge, const char *key,
                        const char *why)
{
	struct relay *r = c->relay;

	r->stats.auth_refused++;
	log_warn("refused authentication from %s (edge '%s'): %s", c->addr, edge ? edge : "?", why);
	if (relay_db_audit(r->db, "auth.refused", edge, key, "%s from %s", why, c->addr) < 0)
		log_warn("cannot write audit row, ignoring");
	send_failure(c, PROTO_REPLY, id, -EACCES, why);
	conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "authentication refused");
}

static void check_shared_key(struct relay *r, struct conn *c)
{
	struct conn *o, *tmp;

	for (o = r->by_name; o; o = tmp) {
		tmp = o->hh.next;
		if (o == c || strcmp(o->access_key, c->access_key) != 0)
			continue;
		if (!c->shared_key)
			log_warn("edges '%s' (%s) and '%s' (%s) use the same key '%s': give each "
			         "edge its own key",
			         c->name, c->addr, o->name, o->addr, c->key_name);
		if (relay_db_audit(r->db, "key.shared", c->name, c->key_name,
		                   "also used by edge '%s' from %s", o->name, o->addr) < 0)
			log_warn("cannot write audit row, ignoring");
		c->shared_key = true;
		if (!o->shared_key) {
			o->shared_key = true;
			registry_update(r, o, true);
		}
	}
}

static void on_auth(struct conn *c, const struct proto_msg *m)
{
	struct relay *r = c->relay;
	const char *ak = NULL, *edge = NULL, *nonce = NULL, *mac = NULL, *version = NULL;
	const cJSON *labels, *session;
	struct relay_key key;
	struct diag d = { 0 };
	struct conn *old;
	char nonce_issued[sizeof(c->nonce)];
	int64_t ts = 0;
	cJSON *reply;
	char *lbl;

	/* One try per connection: the nonce is spent whatever happens next. */
	memcpy(nonce_issued, c->nonce, sizeof(nonce_issued));
	memset(c->nonce, 0, sizeof(c->nonce));
	if (!m->payload || json_get_string(m->payload, "access_key", &ak, "auth", &d) < 0 ||
	    json_get_string(m->payload, "edge_id", &edge, "auth", &d) < 0 ||
	    json_get_string(m->payload, "nonce", &nonce, "auth", &d) < 0 ||
	    json_get_string(m->payload, "mac", &mac, "auth", &d) < 0 ||
	    json_get_int(m->payload, "ts_ms", &ts, "auth", &d) < 0 || !ak || !edge || !nonce ||
	    !mac) {
		auth_refuse(c, m->id, NULL, NULL,
		            d.code ? d.msg
		                   : "auth needs access_key, edge_id, nonce, ts_ms and mac");
		return;
	}
	if (!auth_valid_edge_id(edge)) {
		auth_refuse(c, m->id, NULL, NULL,
		            "edge_id: expected 1-64 characters of [A-Za-z0-9._-]");
		return;
	}
	if (!nonce_issued[0] || strcmp(nonce, nonce_issued) != 0) {
		auth_refuse(c, m->id, edge, NULL,
		            "nonce is not the one this relay issued on this connection (replay?)");
		return;
	}
	if (auth_replay_check(r->replay, nonce, mono_ms()) < 0) {
		auth_refuse(c, m->id, edge, NULL, "nonce already used (replay)");
		return;
	}
	if (auth_check_time(ts, now_ms(), r->conf->auth_window_ms) < 0) {
		auth_refuse(c, m->id, edge, NULL,
		            "timestamp is outside the allowed window (stale or clock skew)");
		return;
	}
	if (!auth_valid_access_key(ak) || keys_lookup(r->db, ak, &key, &d) < 0) {
		auth_refuse(c, m->id, edge, NULL, "unknown access key");
		return;
	}
	if (key.revoked_ms) {
		auth_refuse(c, m->id, edge, key.name, "access key has been revoked");
		return;
	}
	if (auth_verify(key.verifier, ak, edge, nonce, ts, mac) < 0) {
		auth_refuse(c, m->id, edge, key.name, "bad signature (wrong secret key?)");
		return;
	}
	if (json_get_string(m->payload, "version", &version, "auth", NULL) < 0)
		version = NULL;
	labels = cJSON_GetObjectItemCaseSensitive(m->payload, "labels");
	lbl = cJSON_IsObject(labels) ? json_print(labels, false) : xstrdup("{}");
	if (strlen(lbl) > 4096) {
		free(lbl);
		auth_refuse(c, m->id, edge, key.name, "labels: more than 4096 bytes");
		return;
	}

	session = cJSON_GetObjectItemCaseSensitive(m->payload, "session");
	c->session = cJSON_IsString(session) && !strcmp(session->valuestring, "cli");
	HASH_FIND_STR(r->by_name, edge, old);
	if (old && !c->session) {
		char why[200];
		log_warn("edge '%s' connected from %s while already connected from %s: closing the "
		         "older connection (two edges with the same name?)",
		         edge, c->addr, old->addr);
		if (relay_db_audit(r->db, "edge.duplicate", edge, key.name,
		                   "new connection from %s replaced the one from %s", c->addr,
		                   old->addr) < 0)
			log_warn("cannot write audit row, ignoring");
		snprintf(why, sizeof(why), PROTO_REPLACED_MSG " from %s", c->addr);
		HASH_DEL(r->by_name, old);
		old->registered = false;
		conn_close(old, LWS_CLOSE_STATUS_POLICY_VIOLATION, why);
	}
	c->state = CONN_AUTHED;
	str_copy(c->name, edge, sizeof(c->name));
	str_copy(c->key_name, key.name, sizeof(c->key_name));
	str_copy(c->access_key, ak, sizeof(c->access_key));
	str_copy(c->role, key.role, sizeof(c->role));
	str_copy(c->version, version ? version : "", sizeof(c->version));
	free(c->labels);
	c->labels = lbl;
	c->connected_since_ms = c->last_heartbeat_ms = now_ms();
	r->stats.auth_ok++;
	if (c->session) {
		log_debug("CLI session for edge '%s' from %s (key '%s')", c->name, c->addr,
		          c->key_name);
	} else {
		HASH_ADD_STR(r->by_name, name, c);
		c->registered = true;
		check_shared_key(r, c);
		registry_update(r, c, true);
		log_info("edge '%s' connected from %s (key '%s', version %s)", c->name, c->addr,
		         c->key_name, c->version[0] ? c->version : "?");
	}

	reply = json_obj();
	json_add_str(reply, "edge", c->name);
	json_add_str(reply, "role", c->role);
	json_add_num(reply, "heartbeat_ms", (double)r->conf->heartbeat_ms);
	json_add_str(reply, "relay_version", ONGRID_VERSION);
	{
		size_t len;
		char *f = proto_encode_reply(m->id, reply, (size_t)-1, &len);
		(void)conn_send_owned(c, f, len);
	}
	cJSON_Delete(reply);
}

/* ---- receiving ----------------------------------------------------------------- */

static void bad_frame(struct conn *c, const char *id, int err, const char *msg)
{
	struct relay *r = c->relay;

	r->stats.bad_frames++;
	c->bad_frames++;
	log_debug("bad frame from %s: %s", c->addr, msg);
	send_failure(c, PROTO_ERROR, id, err, msg);
	if (c->bad_frames > r->conf->max_bad_frames)
		conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		           "too many malformed or oversized frames");
}

static void on_request(struct conn *c, const struct proto_msg *m)
{
	struct relay *r = c->relay;
	struct relay_call *call;
	struct handler *h;
	int64_t deadline;

	r->stats.requests_in++;
	if (!strcmp(m->type, "heartbeat")) {
		cJSON *p = json_obj();
		size_t len;
		char *f;

		c->last_heartbeat_ms = now_ms();
		c->hb_dirty = true;
		json_add_num(p, "time_ms", (double)c->last_heartbeat_ms);
		f = proto_encode_reply(m->id, p, (size_t)-1, &len);
		cJSON_Delete(p);
		(void)conn_send_owned(c, f, len);
		return;
	}
	HASH_FIND_STR(r->handlers, m->type, h);
	if (!h) {
		char msg[128];
		snprintf(msg, sizeof(msg), "no handler for request type '%s'", m->type);
		send_failure(c, PROTO_REPLY, m->id, -ENOSYS, msg);
		return;
	}
	HASH_FIND_STR(c->calls, m->id, call);
	if (call) {
		send_failure(c, PROTO_REPLY, m->id, -EEXIST, "a request with this id is in flight");
		return;
	}
	if (c->ncalls >= (unsigned)r->conf->max_inflight) {
		send_failure(c, PROTO_REPLY, m->id, -EBUSY, "too many requests in flight");
		return;
	}
	deadline = m->deadline_ms > 0 ? m->deadline_ms : r->conf->request_timeout_ms;
	call = xcalloc(1, sizeof(*call));
	call->relay = r;
	call->conn = c;
	str_copy(call->id, m->id, sizeof(call->id));
	str_copy(call->type, m->type, sizeof(call->type));
	str_copy(call->edge, c->name, sizeof(call->edge));
	str_copy(call->role, c->role, sizeof(call->role));
	call->deadline_mono = mono_ms() + deadline;
	ev_timer_init(&call->timer, call_deadline, (double)deadline / 1000.0, 0.);
	ev_timer_start(r->loop, &call->timer);
	HASH_ADD_STR(c->calls, id, call);
	c->ncalls++;
	h->fn(call, m->payload, h->udata);
}

static void on_message(struct conn *c, const char *data, size_t len)
{
	struct relay *r = c->relay;
	struct proto_msg m;
	struct diag d = { 0 };
	struct pending *p;
	struct relay_call *call;
	int rc;

	rc = proto_decode(data, len, r->conf->max_frame, &m, &d);
	if (rc < 0) {
		bad_frame(c, m.id, rc, d.msg);
		return;
	}
	if (c->state == CONN_HELLO) {
		if (m.kind == PROTO_REQUEST && !strcmp(m.type, "auth"))
			on_auth(c, &m);
		else
			auth_refuse(c, m.kind == PROTO_REQUEST ? m.id : "", NULL, NULL,
			            "authenticate first: the first request must be 'auth'");
		proto_msg_release(&m);
		return;
	}
	switch (m.kind) {
	case PROTO_REQUEST:
		if (!strcmp(m.type, "auth"))
			send_failure(c, PROTO_REPLY, m.id, -EINVAL, "already authenticated");
		else
			on_request(c, &m);
		break;
	case PROTO_REPLY:
		HASH_FIND_STR(r->pending, m.id, p);
		if (!p || p->conn != c) {
			log_debug("reply from '%s' to unknown request '%s', ignoring", c->name,
			          m.id);
			break;
		}
		if (m.ok)
			pending_finish(p, 0, m.payload, NULL);
		else
			pending_finish(p, proto_errno_from_code(m.code), NULL, m.message);
		break;
	case PROTO_CANCEL:
		HASH_FIND_STR(c->calls, m.id, call);
		if (call)
			call_detach(call, true);
		break;
	case PROTO_ERROR:
		log_warn("edge '%s' reports a protocol error about '%s': %s: %s", c->name,
		         m.id[0] ? m.id : "-", m.code, m.message);
		break;
	case _PROTO_KIND_MAX:
		break;
	}
	proto_msg_release(&m);
}

static void on_rx(struct conn *c, const void *in, size_t len)
{
	struct relay *r = c->relay;
	bool first = lws_is_first_fragment(c->wsi), final = lws_is_final_fragment(c->wsi);

	c->last_rx_mono = mono_ms();
	if (c->state == CONN_CLOSING)
		return;
	if (first) {
		buf_reset(&c->rx);
		c->rx_discard = false;
		c->rx_seen = 0;
		c->rx_binary = lws_frame_is_binary(c->wsi);
	}
	c->rx_seen += len;
	/* Past the limit, keep counting but stop storing: memory stays bounded however long
	 * the message is, and the error can say how large it was. */
	if (!c->rx_discard && !c->rx_binary && buf_add(&c->rx, in, len) < 0) {
		c->rx_discard = true;
		buf_release(&c->rx);
	}
	if (!final)
		return;
	if (c->rx_binary) {
		bad_frame(c, "", -EPROTO, "binary frames are not accepted; send JSON text frames");
	} else if (c->rx_discard) {
		char msg[128];
		snprintf(msg, sizeof(msg), "frame of %zu bytes exceeds the limit of %llu bytes",
		         c->rx_seen, (unsigned long long)r->conf->max_frame);
		bad_frame(c, "", -E2BIG, msg);
	} else {
		on_message(c, c->rx.data ? c->rx.data : "", c->rx.len);
	}
	buf_release(&c->rx);
	buf_init(&c->rx, r->conf->max_frame);
}

/* ---- connection lifecycle ------------------------------------------------------ */

static void peer_address(struct lws *wsi, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	char ip[INET6_ADDRSTRLEN];
	int fd = lws_get_socket_fd(wsi);

	str_copy(out, "?", outsz);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, outsz, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, outsz, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

static struct conn *conn_new(struct relay *r, struct lws *wsi)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->relay = r;
	c->wsi = wsi;
	c->state = CONN_HELLO;
	c->opened_mono = c->last_rx_mono = mono_ms();
	buf_init(&c->rx, r->conf->max_frame);
	ws_outq_init(&c->outq);
	list_init(&c->pending);
	peer_address(wsi, c->addr, sizeof(c->addr));
	list_add_tail(&c->link, &r->conns);
	r->nconns++;
	return c;
}

/* The socket is gone: fail what waits on this edge, forget it. */
static void conn_gone(struct conn *c)
{
	struct relay *r = c->relay;
	struct relay_call *call, *tmp;
	struct list_head *p, *n;

	c->wsi = NULL;
	if (c->registered) {
		HASH_DEL(r->by_name, c);
		c->registered = false;
		registry_update(r, c, false);
		log_info("edge '%s' (%s) disconnected", c->name, c->addr);
	}
	for (call = c->calls; call; call = tmp) {
		tmp = call->hh.next;
		call_detach(call, true);
	}
	list_for_each_safe(p, n, &c->pending) {
		struct pending *pe = list_entry(p, struct pending, conn_link);
		pending_finish(pe, r->shutting_down ? -ESHUTDOWN : -ECONNRESET, NULL,
		               "the edge disconnected");
	}
	ws_outq_clear(&c->outq);
	buf_release(&c->rx);
	list_del(&c->link);
	r->nconns--;
	free(c->labels);
	free(c);
}

static int cb_edge(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	struct relay *r = ctx ? lws_context_user(ctx) : NULL;
	struct conn **pc = user;

	if (!r)
		return 0;

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* Idle edges are the normal state: let OpenSSL free each connection's read and
		 * write buffers (about 34 KiB) while nothing is in flight. */
		if (user)
			SSL_CTX_set_mode((SSL_CTX *)user, SSL_MODE_RELEASE_BUFFERS);
		break;
	case LWS_CALLBACK_ESTABLISHED:
		if (r->nconns >= (unsigned)r->conf->max_edges) {
			log_warn("refusing a connection: %u connections is the limit (edges.max)",
			         r->nconns);
			return -1;
		}
		*pc = conn_new(r, wsi);
		r->churn++;
		r->last_opened_mono = mono_ms();
		send_hello(*pc);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (*pc)
			on_rx(*pc, in, len);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (*pc)
			return on_writable(*pc);
		break;
	case LWS_CALLBACK_CLOSED:
		if (*pc) {
			conn_gone(*pc);
			*pc = NULL;
		}
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- registry in SQLite -------------------------------------------------------- */

static void registry_update(struct relay *r, struct conn *c, bool connected)
{
	sqlite3_stmt *st;
	int64_t now = now_ms();

	if (db_prepare(r->db,
	               "INSERT INTO edges(name, key_name, labels, version, address, connected, "
	               "connected_since_ms, last_heartbeat_ms, last_seen_ms, shared_key) "
	               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
	               "ON CONFLICT(name) DO UPDATE SET key_name = ?2, labels = ?3, version = ?4, "
	               "address = ?5, connected = ?6, connected_since_ms = ?7, "
	               "last_heartbeat_ms = ?8, last_seen_ms = ?9, shared_key = ?10",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->key_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->labels ? c->labels : "{}", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->addr, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, connected);
	sqlite3_bind_int64(st, 7, c->connected_since_ms);
	sqlite3_bind_int64(st, 8, c->last_heartbeat_ms);
	sqlite3_bind_int64(st, 9, now);
	sqlite3_bind_int(st, 10, c->shared_key);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warn("cannot update the registry row of '%s': %s, ignoring", c->name,
		         sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
	c->hb_dirty = false;
}

/* Heartbeats are written once a tick, in one transaction, not one write per frame. */
static void registry_flush(struct relay *r)
{
	struct conn *c, *tmp;
	sqlite3_stmt *st;
	bool any = false;

	for (c = r->by_name; c; c = tmp) {
		tmp = c->hh.next;
		if (c->hb_dirty)
			any = true;
	}
	if (!any)
		return;
	if (db_prepare(r->db,
	               "UPDATE edges SET last_heartbeat_ms = ?, last_seen_ms = ? WHERE name = ?",
	               &st, NULL) < 0)
		return;
	(void)db_exec(r->db, "BEGIN", NULL);
	for (c = r->by_name; c; c = tmp) {
		tmp = c->hh.next;
		if (!c->hb_dirty)
			continue;
		sqlite3_bind_int64(st, 1, c->last_heartbeat_ms);
		sqlite3_bind_int64(st, 2, c->last_heartbeat_ms);
		sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
		(void)sqlite3_step(st);
		sqlite3_reset(st);
		c->hb_dirty = false;
	}
	if (db_exec(r->db, "COMMIT", NULL) < 0)
		(void)db_exec(r->db, "ROLLBACK", NULL);
	sqlite3_finalize(st);
}

/* `ongrid-relay keys revoke` runs in another process: SQLite's data_version tells us
 * another connection committed, and then every live key is checked again. */
static void check_revocations(struct relay *r)
{
	sqlite3_stmt *st;
	struct list_head *p, *n;
	int64_t v = 0;

	if (db_prepare(r->db, "PRAGMA data_version", &st, NULL) < 0)
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (v == r->data_version)
		return;
	r->data_version = v;
	list_for_each_safe(p, n, &r->conns) {
		struct conn *c = list_entry(p, struct conn, link);
		struct relay_key k;
		int rc;

		if (c->state != CONN_AUTHED)
			continue;
		rc = keys_lookup(r->db, c->access_key, &k, NULL);
		if (rc == -ENOENT || (rc == 0 && k.revoked_ms)) {
			if (relay_db_audit(r->db, "key.cut", c->name, c->key_name,
			                   "live connection from %s closed: key revoked",
			                   c->addr) < 0)
				log_warn("cannot write audit row, ignoring");
			log_warn("key '%s' was revoked: disconnecting edge '%s' (%s)", c->key_name,
			         c->name, c->addr);
			if (c->registered) {
				HASH_DEL(r->by_name, c);
				c->registered = false;
				registry_update(r, c, false);
			}
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "access key revoked");
		}
	}
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct relay *r = container_of(w, struct relay, tick);
	int64_t now = mono_ms();
	struct list_head *p, *n;

	(void)loop, (void)revents;
	list_for_each_safe(p, n, &r->conns) {
		struct conn *c = list_entry(p, struct conn, link);

		if (c->state == CONN_HELLO && now - c->opened_mono > r->conf->auth_timeout_ms)
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION,
			           "did not authenticate in time");
		else if (c->state == CONN_AUTHED &&
		         now - c->last_rx_mono > 3 * r->conf->heartbeat_ms)
			conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY,
			           "no heartbeat for three intervals");
	}
	registry_flush(r);
	check_revocations(r);
	/* A reconnect storm runs a thousand TLS handshakes at once; their buffers are freed
	 * after, but glibc keeps the heap's high-water mark. Once the storm is over, give
	 * the memory back, so RSS at rest does not depend on how the edges arrived. */
	if (r->churn >= 64 && now - r->last_opened_mono > 3000) {
		r->churn = 0;
		malloc_trim(0);
	}
}

/* ---- setup --------------------------------------------------------------------- */

static void lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	(void)level;
	log_debug("lws: %.*s", (int)n, line);
}

static const struct lws_protocols protocols[] = {
	/* A 4 KiB receive buffer per connection: frames are reassembled in conn->rx anyway,
	 * and at 1,000 idle edges every KiB here is a MiB of RSS. */
	{ PROTO_SUBPROTOCOL, cb_edge, sizeof(struct conn *), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

int relay_new(struct ev_loop *loop, const struct relay_conf *conf, sqlite3 *db, struct relay **ret,
              struct diag *d)
{
	struct lws_context_creation_info info;
	char host[256], cert[4096], key[4096];
	void *loops[1] = { loop };
	struct relay *r;
	int port, rc;

	rc = relay_conf_listen(conf, host, sizeof(host), &port, d);
	if (rc < 0)
		return rc;
	r = xcalloc(1, sizeof(*r));
	r->loop = loop;
	r->conf = conf;
	r->db = db;
	list_init(&r->conns);
	/* Issued nonces are single-use by construction; this remembers spent ones for the
	 * whole timestamp window as a second line of defence. */
	r->replay = auth_replay_new(2 * conf->auth_window_ms, 1u << 16);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
	               LWS_SERVER_OPTION_DISABLE_IPV6;
	if (strchr(host, ':'))
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
	info.foreign_loops = loops;
	info.port = port;
	info.iface = (!strcmp(host, "0.0.0.0") || !strcmp(host, "*")) ? NULL : host;
	info.protocols = protocols;
	info.user = r;
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;
	info.timeout_secs = 10;
	info.fd_limit_per_thread = (unsigned)conf->max_edges + 64;
	if (!conf->tls_insecure) {
		snprintf(cert, sizeof(cert), "%s",
		         conf->tls_cert && *conf->tls_cert ? conf->tls_cert : "");
		snprintf(key, sizeof(key), "%s",
		         conf->tls_key && *conf->tls_key ? conf->tls_key : "");
		if (!cert[0])
			snprintf(cert, sizeof(cert), "%s/server.pem", conf->data_dir);
		if (!key[0])
			snprintf(key, sizeof(key), "%s/server.key", conf->data_dir);
		rc = tls_fingerprint_file(cert, r->fingerprint, sizeof(r->fingerprint), d);
		if (rc < 0)
			goto out_free;
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
	}
	lws_set_log_level(log_get_level() >= LOG_LEVEL_DEBUG ? (LLL_ERR | LLL_WARN) : 0,
	                  lws_log_emit);
	r->ctx = lws_create_context(&info);
	if (!r->ctx) {
		rc = diag_set(d, -EADDRNOTAVAIL,
		              "cannot listen on %s (in use, not an address of this host, or a bad "
		              "certificate)",
		              conf->listen);
		goto out_free;
	}
	ev_timer_init(&r->tick, on_tick, 1.0, 1.0);
	ev_timer_start(loop, &r->tick);
	(void)db_exec(db, "UPDATE edges SET connected = 0", NULL);
	*ret = r;
	return 0;

out_free:
	auth_replay_free(r->replay);
	free(r);
	return rc;
}

void relay_free(struct relay *r)
{
	struct handler *h, *tmp;
	struct list_head *p, *n;

	if (!r)
		return;
	r->shutting_down = true;
	ev_timer_stop(r->loop, &r->tick);
	while (r->cleanups) {
		struct cleanup *cl = r->cleanups;
		r->cleanups = cl->next;
		cl->fn(cl->udata);
		free(cl);
	}
	if (r->ctx)
		lws_context_destroy(r->ctx);
	/* Anything lws did not close for us. */
	list_for_each_safe(p, n, &r->conns) {
		conn_gone(list_entry(p, struct conn, link));
	}
	(void)db_exec(r->db, "UPDATE edges SET connected = 0", NULL);
	h = r->handlers;
	HASH_CLEAR(hh, r->handlers);
	for (; h; h = tmp) {
		tmp = h->hh.next;
		free(h);
	}
	while (r->modules) {
		struct module_slot *m = r->modules;
		r->modules = m->next;
		free(m);
	}
	auth_replay_free(r->replay);
	free(r);
}

void relay_at_free(struct relay *r, void (*fn)(void *udata), void *udata)
{
	struct cleanup *cl = xcalloc(1, sizeof(*cl));

	cl->fn = fn;
	cl->udata = udata;
	cl->next = r->cleanups;
	r->cleanups = cl;
}

void relay_set_module(struct relay *r, const char *name, void *state)
{
	struct module_slot *m = xcalloc(1, sizeof(*m));

	str_copy(m->name, name, sizeof(m->name));
	m->state = state;
	m->next = r->modules;
	r->modules = m;
}

void *relay_module(const struct relay *r, const char *name)
{
	for (const struct module_slot *m = r->modules; m; m = m->next)
		if (!strcmp(m->name, name))
			return m->state;
	return NULL;
}

const char *relay_fingerprint(const struct relay *r)
{
	return r->fingerprint;
}

sqlite3 *relay_db(const struct relay *r)
{
	return r->db;
}

struct ev_loop *relay_loop(const struct relay *r)
{
	return r->loop;
}

bool relay_edge_connected(const struct relay *r, const char *edge)
{
	struct conn *c;

	HASH_FIND_STR(r->by_name, edge, c);
	return c && c->state == CONN_AUTHED;
}

cJSON *relay_edges_json(const struct relay *r)
{
	cJSON *arr = json_arr();
	struct conn *c, *tmp;
	char ts[40];

	for (c = r->by_name; c; c = tmp) {
		tmp = c->hh.next;
		cJSON *o = json_obj();
		json_add_str(o, "name", c->name);
		json_add(o, "labels", cJSON_Parse(c->labels ? c->labels : "{}"));
		json_add_str(o, "version", c->version);
		json_add_str(o, "address", c->addr);
		clock_format_rfc3339(ts, sizeof(ts), c->connected_since_ms);
		json_add_str(o, "connected_since", ts);
		clock_format_rfc3339(ts, sizeof(ts), c->last_heartbeat_ms);
		json_add_str(o, "last_heartbeat", ts);
		json_add_bool(o, "shared_key", c->shared_key);
		json_push(arr, o);
	}
	return arr;
}

void relay_get_stats(const struct relay *r, struct relay_stats *ret)
{
	*ret = r->stats;
	ret->connections = r->nconns;
	ret->edges = HASH_COUNT(r->by_name);
}
