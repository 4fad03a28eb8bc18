/* modules.h - the relay modules that plug into relay_core, started in one place.
 *
 * To add a module: write NAME_start(struct relay *, const struct relay_conf *, struct diag *)
 * that registers its handlers (relay_register_handler) and its cleanup (relay_at_free),
 * declare it here and add one line to relay_modules_start() in modules.c.
 */
#ifndef ONGRID_RELAY_MODULES_H
#define ONGRID_RELAY_MODULES_H

#include "relay/relay.h"
#include "relay/relay_core.h"
#include "shared/diag.h"

int relay_modules_start(struct relay *r, const struct relay_conf *conf, struct diag *d);

/* relay/inbox.c: "outbox.deliver", exactly-once delivery of what edges queue. */
int inbox_start(struct relay *r, const struct relay_conf *conf, struct diag *d);
/* relay/topo.c: "topology.report", "topology.find", "topology.expand". */
int topo_start(struct relay *r, const struct relay_conf *conf, struct diag *d);
/* relay/xcall.c: "edge.call", a tool call on another edge. */
int xcall_start(struct relay *r, const struct relay_conf *conf, struct diag *d);
/* relay/llm/service.c: "llm.request", LLM calls through the router (docs/llm.md). */
int llm_service_start(struct relay *r, const struct relay_conf *conf, struct diag *d);
/* relay/chat/router.c: chat platforms, "investigate.progress" (docs/chat.md). */
int chat_start(struct relay *r, const struct relay_conf *conf, struct diag *d);
/* relay/alerts.c: the HTTP listener, Alertmanager webhooks, the edge installer. */
int alerts_start(struct relay *r, const struct relay_conf *conf, struct diag *d);

#endif
