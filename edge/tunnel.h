/* tunnel.h - the edge's one outbound connection to the relay (docs/protocol.md).
 *
 * The edge dials out (WSS, the relay's certificate pinned by fingerprint), answers the
 * relay's challenge with an HMAC of its secret, then both sides send requests over the
 * same socket. The tunnel reconnects by itself with capped exponential backoff and
 * jitter, sends heartbeats, and fails what was in flight when the link drops.
 *
 * The edge daemon owns one tunnel on its libev loop: tunnel_open(), then
 * tunnel_register_handler() for what the relay may ask ("tool.run", "investigate", ...),
 * tunnel_request() to ask the relay, tunnel_on_state() to hear about up/down. Handlers
 * must finish each call exactly once with tunnel_reply() or tunnel_reply_error(), even
 * after it was cancelled (the reply is then dropped). Not thread-safe.
 */
#ifndef ONGRID_TUNNEL_H
#define ONGRID_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "shared/compiler.h"
#include "shared/diag.h"
#include "shared/proto.h"

struct tunnel;
struct tunnel_call;

struct tunnel_conf {
	const char *url;         /* wss://host:port/path (ws:// only with insecure) */
	const char *access_key;  /* ogk_... */
	const char *secret_key;  /* ogs_...; only a key derived from it is kept in memory */
	const char *fingerprint; /* sha256:...; required for wss:// unless insecure */
	bool insecure;
	const char *edge_id;                    /* this edge's name at the relay */
	const char *version;                    /* reported at auth; NULL = ONGRID_VERSION */
	const cJSON *labels;                    /* object of string labels, copied; may be NULL */
	int64_t backoff_min_ms, backoff_max_ms; /* 0 = 500 ms and 60 s */
	/* A CLI session acting for this edge (`connect --call`): the relay does not list it
	 * as the edge, replace the edge's own connection with it, or send it requests. */
	bool session;
};

enum tunnel_state { TUNNEL_DOWN, TUNNEL_CONNECTING, TUNNEL_UP, _TUNNEL_STATE_MAX };

/* Validate conf and start connecting (the first attempt happens from the loop). Returns
 * -EINVAL with d naming the bad key ("relay.url: ws:// is plain text; ..."). */
int tunnel_open(struct ev_loop *loop, const struct tunnel_conf *conf, struct tunnel **ret,
                struct diag *d);
/* Disconnect; pending requests fail with -ESHUTDOWN, calls are cancelled. NULL-safe. */
void tunnel_close(struct tunnel *t);

typedef void tunnel_state_fn(void *udata, enum tunnel_state state);
/* Add a listener for state changes (up to 8). */
int tunnel_on_state(struct tunnel *t, tunnel_state_fn *fn, void *udata);
/* Remove a listener added with the same fn and udata. */
void tunnel_off_state(struct tunnel *t, tunnel_state_fn *fn, void *udata);
enum tunnel_state tunnel_get_state(const struct tunnel *t);
/* The link is gone and the tunnel will reconnect (not closing): true already while the
 * calls of the lost link are being cancelled, before the state listeners hear "down". */
bool tunnel_link_lost(const struct tunnel *t);
const char *tunnel_state_name(enum tunnel_state s);
/* {"state", "relay", "connected_since", "reconnects", "last_error", "role"}; caller frees. */
cJSON *tunnel_status_json(const struct tunnel *t);

/* edge/tunnel_file.c: data_dir/tunnel.json, the state `ongrid-edge connect` keeps for
 * `ongrid-edge status`. save: tunnel_status_json() plus pid and time ("stopped" when the
 * process ends); load: that, or why there is none; a writer that is gone reads "stopped".
 * load never fails; caller frees. */
struct edge_conf;
int tunnel_file_save(const char *data_dir, const struct tunnel *t, bool stopped);
cJSON *tunnel_file_load(const struct edge_conf *c);

/* Ask the relay. cb runs exactly once, never from inside tunnel_request(): err 0 with the
 * reply payload (borrowed for the call), or -ETIMEDOUT, -ECANCELED, -ECONNRESET (link
 * dropped), -ESHUTDOWN, or the relay's error (proto_errno_from_code) with its message.
 * Returns -ENOTCONN while the tunnel is not up, -E2BIG for an oversized payload.
 * ret_id (PROTO_ID_MAX+1 bytes, may be NULL) is for tunnel_cancel(). */
typedef void tunnel_reply_fn(void *udata, int err, const cJSON *payload, const char *message);
int tunnel_request(struct tunnel *t, const char *type, const cJSON *payload, int64_t deadline_ms,
                   tunnel_reply_fn *cb, void *udata, char *ret_id);
/* cb runs now with -ECANCELED and the relay is told; unknown ids are ignored. */
void tunnel_cancel(struct tunnel *t, const char *id);

/* Requests from the relay. */
typedef void tunnel_handler_fn(struct tunnel_call *call, const cJSON *payload, void *udata);
int tunnel_register_handler(struct tunnel *t, const char *type, tunnel_handler_fn *fn, void *udata);
void tunnel_reply(struct tunnel_call *call, const cJSON *payload); /* borrowed; frees call */
void tunnel_reply_error(struct tunnel_call *call, int err, const char *fmt, ...) _printf_(3, 4);
/* fn runs once if the relay cancels, the deadline passes or the link drops first. */
void tunnel_call_on_cancel(struct tunnel_call *call, void (*fn)(void *udata), void *udata);
int64_t tunnel_call_remaining_ms(const struct tunnel_call *call);

/* The next reconnect delay for attempt n (0-based): a random value in [d/2, d] where
 * d = min(max_ms, min_ms * 2^n). seed is advanced. Exposed for tests. */
int64_t tunnel_backoff_ms(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t *seed);

#endif
