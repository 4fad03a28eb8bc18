/* webhook.h - the engine shared by the outbound group-robot adapters (dingtalk.c, wecom.c,
 * lark.c): POST one JSON body per message, check the robot's own success code, retry
 * a rate limit up to three times. Each adapter only builds its body and URL. */
#ifndef ONGRID_RELAY_CHAT_WEBHOOK_H
#define ONGRID_RELAY_CHAT_WEBHOOK_H

#include "relay/chat/chat.h"

/* Fill url and body (JSON) for text in the robot's format, signed with secret ("" when
 * unsigned) at now_ms. */
typedef int webhook_build_fn(const char *base_url, const char *secret, int64_t now_ms,
                             const struct chat_out *m, struct buf *url, struct buf *body);

int webhook_create(const struct chat_host *host, const struct chat_adapter_ops *ops,
                   const char *url, const char *secret, webhook_build_fn *build,
                   struct chat_adapter **ret, struct diag *d);
int webhook_send(struct chat_adapter *a, const struct chat_out *m, chat_sent_fn *done, void *udata);
void webhook_destroy(struct chat_adapter *a);

#endif
