/* ws_outq.h - frames waiting for a WebSocket to become writable, for both ends of the
 * tunnel (edge/tunnel.c, relay/relay_core.c).
 *
 * libwebsockets writes one frame per writable callback and wants LWS_PRE bytes of
 * headroom in front of each; the queue keeps both. Its byte cap is the caller's: a peer
 * that does not read must not make us buffer without bound.
 */
#ifndef ONGRID_WS_OUTQ_H
#define ONGRID_WS_OUTQ_H

#include <stddef.h>

#include <libwebsockets.h>

#include "shared/list.h"

struct ws_outq {
	struct list_head frames;
	size_t bytes; /* frame bytes queued, headroom not counted */
};

void ws_outq_init(struct ws_outq *q);
/* Copy frame into q and ask for a writable callback on wsi. -ENOBUFS, with nothing
 * queued, when q would hold more than cap bytes. */
int ws_outq_push(struct ws_outq *q, struct lws *wsi, const char *frame, size_t len, size_t cap);
/* From the writable callback: write the oldest frame, and ask for another callback when
 * more wait. 0, or -1 when the write failed (the connection is gone). */
int ws_outq_write(struct ws_outq *q, struct lws *wsi);
void ws_outq_clear(struct ws_outq *q);

static inline bool ws_outq_empty(const struct ws_outq *q)
{
	return list_empty(&q->frames);
}

#endif
