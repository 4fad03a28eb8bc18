/* ws_outq.c - see ws_outq.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/alloc.h"
#include "shared/ws_outq.h"
#include "shared/banned.h"

struct frame {
	struct list_head link;
	size_t len;
	unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes of frame */
};

void ws_outq_init(struct ws_outq *q)
{
	list_init(&q->frames);
	q->bytes = 0;
}

int ws_outq_push(struct ws_outq *q, struct lws *wsi, const char *frame, size_t len, size_t cap)
{
	struct frame *f;

	if (q->bytes + len > cap)
		return -ENOBUFS;
	f = xmalloc(st_add(sizeof(*f) + LWS_PRE, len));
	f->len = len;
	memcpy(f->buf + LWS_PRE, frame, len);
	list_add_tail(&f->link, &q->frames);
	q->bytes += len;
	lws_callback_on_writable(wsi);
	return 0;
}

int ws_outq_write(struct ws_outq *q, struct lws *wsi)
{
	struct frame *f;
	int n;

	if (list_empty(&q->frames))
		return 0;
	f = list_entry(q->frames.next, struct frame, link);
	n = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
	list_del(&f->link);
	q->bytes -= f->len;
	free(f);
	if (n < 0)
		return -1;
	if (!list_empty(&q->frames))
		lws_callback_on_writable(wsi);
	return 0;
}

void ws_outq_clear(struct ws_outq *q)
{
	struct list_head *p, *n;

	list_for_each_safe(p, n, &q->frames) {
		list_del(p);
		free(list_entry(p, struct frame, link));
	}
	q->bytes = 0;
}
