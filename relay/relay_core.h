/* relay_core.h - the relay's edge server: WSS listener, authentication, the registry of
 * connected edges, request routing by id in both directions, heartbeats and limits.
 *
 * Other relay modules plug in through a dispatch table: at start, cmd_run.c calls each
 * module's register function, which calls relay_register_handler() for the request types
 * it serves (topo.c: "topology.*", inbox.c: "outbox.deliver", xcall.c: "edge.call"; the
 * LLM router adds its own). A handler gets a struct relay_call and must finish it exactly
 * once with relay_reply() or relay_reply_error(), now or later from the loop, even after
 * the call was cancelled or timed out (the reply is then dropped). To ask an edge
 * something, use relay_request(); its callback runs exactly once.
 *
 * Everything runs on the one libev loop; nothing here is thread-safe.
 */
#ifndef ONGRID_RELAY_CORE_H
#define ONGRID_RELAY_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>
#include <sqlite3.h>

#include "relay/relay.h"
#include "shared/compiler.h"
#include "shared/diag.h"
#include "shared/proto.h"

struct relay;
struct relay_call;

/* Create the server on loop with conf (borrowed; must outlive it) and db (borrowed),
 * listening at once. Returns 0 or -errno with d set ("cannot listen on 0.0.0.0:8443"). */
int relay_new(struct ev_loop *loop, const struct relay_conf *conf, sqlite3 *db, struct relay **ret,
              struct diag *d);
/* Close every connection (pending calls fail with -ESHUTDOWN) and free. NULL-safe. */
void relay_free(struct relay *r);

/* The SHA-256 fingerprint of the served certificate, or "" in insecure mode. */
const char *relay_fingerprint(const struct relay *r);
sqlite3 *relay_db(const struct relay *r);
struct ev_loop *relay_loop(const struct relay *r);

/* Requests from edges. type must pass proto_valid_type and not be taken (-EEXIST). */
typedef void relay_handler_fn(struct relay_call *call, const cJSON *payload, void *udata);
int relay_register_handler(struct relay *r, const char *type, relay_handler_fn *fn, void *udata);

/* Finish a call; payload is borrowed (NULL = {}). A payload too large for the edge's frame
 * limit is replaced by a "too_large" error. Frees the call. */
void relay_reply(struct relay_call *call, const cJSON *payload);
void relay_reply_error(struct relay_call *call, int err, const char *fmt, ...) _printf_(3, 4);
/* fn runs once if the edge cancels, the deadline passes or the edge goes away first. */
void relay_call_on_cancel(struct relay_call *call, void (*fn)(void *udata), void *udata);
const char *relay_call_edge(const struct relay_call *call); /* the caller's edge name */
const char *relay_call_role(const struct relay_call *call); /* its key's role */
const char *relay_call_type(const struct relay_call *call);
int64_t relay_call_remaining_ms(const struct relay_call *call); /* >= 0 */
struct relay *relay_call_relay(const struct relay_call *call);

/* Requests to edges. cb gets err 0 and the reply payload (borrowed for the call), or a
 * negative errno: -ETIMEDOUT, -ECONNRESET (edge went away), -ECANCELED, -EHOSTUNREACH (not
 * connected), or the error the edge answered (see proto_errno_from_code) with its message.
 * ret_id (PROTO_ID_MAX+1 bytes, may be NULL) identifies it for relay_cancel(). cb is never
 * called from inside relay_request(); a failure to send is returned instead. */
typedef void relay_reply_fn(void *udata, int err, const cJSON *payload, const char *message);
int relay_request(struct relay *r, const char *edge, const char *type, const cJSON *payload,
                  int64_t timeout_ms, relay_reply_fn *cb, void *udata, char *ret_id);
/* Cancel: cb runs now with -ECANCELED and the edge is told. Unknown ids are ignored. */
void relay_cancel(struct relay *r, const char *id);

bool relay_edge_connected(const struct relay *r, const char *edge);
/* Connected edges as a JSON array of {name, labels, version, address, connected_since,
 * last_heartbeat, shared_key}; the caller frees. */
cJSON *relay_edges_json(const struct relay *r);

/* fn(udata) runs in relay_free(), newest first: modules free their state there. */
void relay_at_free(struct relay *r, void (*fn)(void *udata), void *udata);

/* Named module state, so modules can find each other ("inbox"); not owned. */
void relay_set_module(struct relay *r, const char *name, void *state);
void *relay_module(const struct relay *r, const char *name); /* NULL when absent */

/* Make the CA and server certificate on first start (unless tls.insecure) and put the
 * served certificate's fingerprint in fp (TLS_FINGERPRINT_LEN+1 bytes; "" when insecure).
 * Logs and returns an exit status: 0, 1 or 2 (relay/cmd_run.c). */
int relay_prepare_tls(const struct relay_conf *c, char *fingerprint, size_t fpsz);

/* Counters for tests and benchmarks. */
struct relay_stats {
	unsigned connections, edges;
	uint64_t auth_ok, auth_refused, bad_frames, requests_in, requests_out;
};
void relay_get_stats(const struct relay *r, struct relay_stats *ret);

#endif
