/* outbox.h - what the edge must deliver to the relay (reports, alerts, approvals,
 * topology updates), kept on disk until the relay acknowledges it: exactly once, across
 * relay restarts, network loss and edge restarts.
 *
 * Each message gets a stable id when it is queued. The pump sends "outbox.deliver"
 * {msg_id, kind, body, created_ms} over the tunnel; the relay records (edge, msg_id)
 * before it acks (relay/inbox.c), so a resend after a lost ack is recognised there and
 * acked as a duplicate. The row is deleted here only on that ack. At-least-once sending
 * plus dedup at the receiver is exactly-once delivery.
 *
 * The store is SQLite (data_dir/outbox.sqlite, WAL): other processes (the CLI's
 * `ongrid-edge outbox add`) may queue while a daemon runs; the pump notices within
 * OUTBOX_POLL_MS.
 */
#ifndef ONGRID_OUTBOX_H
#define ONGRID_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "edge/tunnel.h"
#include "shared/diag.h"
#include "shared/proto.h"

#define OUTBOX_FILE     "outbox.sqlite"
#define OUTBOX_ID_LEN   25           /* "m" + 24 hex */
#define OUTBOX_BODY_MAX (512u << 10) /* one message; reports are compact evidence */
#define OUTBOX_WINDOW   64           /* deliveries in flight at once */
#define OUTBOX_POLL_MS  200

struct outbox;

struct outbox_msg {
	int64_t seq; /* order of queueing */
	char id[OUTBOX_ID_LEN + 1];
	char kind[PROTO_TYPE_MAX + 1];
	char *body; /* JSON text, owned */
	int64_t created_ms;
};

/* Open (creating) the store at path. max_rows bounds the queue. */
int outbox_open(const char *path, int64_t max_rows, struct outbox **ret, struct diag *d);
void outbox_close(struct outbox *ob); /* NULL-safe */

/* Queue one message; ret_id (OUTBOX_ID_LEN+1 bytes, may be NULL) gets its id. kind is a
 * proto type ("report", "alert", "approval", "topology"). -E2BIG when the body is over
 * OUTBOX_BODY_MAX or the queue holds max_rows; -EINVAL for a bad kind. Durable on return. */
int outbox_put(struct outbox *ob, const char *kind, const cJSON *body, char *ret_id,
               struct diag *d);
/* Queue body as the one message of its kind still waiting: undelivered messages of that
 * kind are dropped in the same transaction. For a state where only the latest counts
 * (the host's topology): an update made while the relay is away waits, superseded ones do
 * not pile up. One already sent and not yet acked may still arrive before this one. */
int outbox_put_latest(struct outbox *ob, const char *kind, const cJSON *body, char *ret_id,
                      struct diag *d);
/* Up to max messages with seq > after_seq, oldest first, into ret (caller releases each
 * with outbox_msg_release). */
int outbox_peek(struct outbox *ob, int64_t after_seq, size_t max, struct outbox_msg *ret,
                size_t *ret_n);
void outbox_msg_release(struct outbox_msg *m);
/* Delete a delivered message; deleting an absent id is not an error. */
int outbox_ack(struct outbox *ob, const char *id);
int outbox_count(struct outbox *ob, int64_t *ret);
/* A number that changes when another process changed the store (PRAGMA data_version). */
int64_t outbox_data_version(struct outbox *ob);

/* Delivery over a tunnel: sends whenever the tunnel is up, keeps OUTBOX_WINDOW in flight,
 * resends after a drop. The pump registers itself as a tunnel state listener. */
struct outbox_pump;
int outbox_pump_start(struct ev_loop *loop, struct outbox *ob, struct tunnel *t,
                      struct outbox_pump **ret);
/* Call after outbox_put() in the same process to send without waiting for the poll. */
void outbox_pump_kick(struct outbox_pump *p);
/* Stop before tunnel_close(): cancels what is in flight (those messages stay queued). */
void outbox_pump_stop(struct outbox_pump *p);
uint64_t outbox_pump_delivered(const struct outbox_pump *p);

#endif
