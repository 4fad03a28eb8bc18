/* inbox.h - the relay end of the edges' outboxes: exactly-once acceptance of what edges
 * queue (reports, alerts, approvals, topology updates).
 *
 * An edge sends "outbox.deliver" {msg_id, kind, body, created_ms} until it gets an ack.
 * The relay records (edge, msg_id) in relay.sqlite in the same transaction that accepts
 * the message and only then acks, so a relay killed at any instant either never saw the
 * message (the edge sends it again) or has it recorded (the resend is acked as a
 * duplicate and not passed on again). Subscribers see each message once.
 */
#ifndef ONGRID_RELAY_INBOX_H
#define ONGRID_RELAY_INBOX_H

#include <cjson/cJSON.h>

#include "relay/relay_core.h"

/* Called once per accepted message of kind, after it is committed. body is borrowed. */
typedef void inbox_fn(void *udata, const char *edge, const char *msg_id, const cJSON *body);
int inbox_subscribe(struct relay *r, const char *kind, inbox_fn *fn, void *udata);

#endif
