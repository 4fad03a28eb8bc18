/* sse.c - incremental Server-Sent-Events parser; see sse.h for what it accepts. */
#include <errno.h>
#include <string.h>

#include "shared/limits.h"
#include "shared/sse.h"
#include "shared/banned.h"

void sse_init(struct sse_parser *p, size_t max_event_bytes)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->line, max_event_bytes);
	buf_init(&p->data, max_event_bytes);
	buf_init(&p->stray, ONGRID_SSE_MAX_STRAY_BYTES);
}

void sse_release(struct sse_parser *p)
{
	buf_release(&p->line);
	buf_release(&p->data);
	buf_release(&p->stray);
}

static int dispatch(struct sse_parser *p, sse_event_fn *fn, void *udata)
{
	int r = 0;

	if (p->have_data) {
		p->events++;
		r = fn(udata, p->event, buf_str(&p->data), p->data.len);
	}
	/* The spec resets the data buffer and the event name after every blank line. */
	buf_reset(&p->data);
	p->event[0] = '\0';
	p->have_data = false;
	return r;
}

/* One complete line (without its end). */
static int process_line(struct sse_parser *p, const char *s, size_t n, sse_event_fn *fn,
                        void *udata)
{
	const char *colon, *val;
	size_t flen, vlen;

	if (n == 0)
		return dispatch(p, fn, udata);
	if (s[0] == ':')
		return 0; /* comment / keep-alive */
	colon = memchr(s, ':', n);
	flen = colon ? (size_t)(colon - s) : n;
	val = colon ? colon + 1 : s + n;
	vlen = colon ? n - flen - 1 : 0;
	if (vlen && *val == ' ') {
		val++;
		vlen--;
	}
	if (flen == 4 && memcmp(s, "data", 4) == 0) {
		if (p->have_data && buf_addc(&p->data, '\n') < 0)
			return -E2BIG;
		if (buf_add(&p->data, val, vlen) < 0)
			return -E2BIG;
		p->have_data = true;
		return 0;
	}
	if (flen == 5 && memcmp(s, "event", 5) == 0) {
		size_t k = vlen < sizeof(p->event) - 1 ? vlen : sizeof(p->event) - 1;
		memcpy(p->event, val, k);
		p->event[k] = '\0';
		return 0;
	}
	if ((flen == 2 && memcmp(s, "id", 2) == 0) || (flen == 5 && memcmp(s, "retry", 5) == 0))
		return 0;
	/* Not a field we know: keep it for the caller (bare JSON error bodies). A full stray
	 * buffer drops further lines; it is diagnostic material, not the stream. */
	if (p->stray.len + n + 1 <= p->stray.max) {
		if (buf_add(&p->stray, s, n) < 0 || buf_addc(&p->stray, '\n') < 0)
			return 0;
	}
	return 0;
}

int sse_feed(struct sse_parser *p, const char *bytes, size_t n, sse_event_fn *fn, void *udata)
{
	size_t i = 0;
	int r;

	if (n && p->after_cr && bytes[0] == '\n')
		i = 1;
	p->after_cr = false;
	while (i < n) {
		const char *cr = memchr(bytes + i, '\r', n - i);
		const char *lf = memchr(bytes + i, '\n', n - i);
		const char *end = !cr ? lf : !lf ? cr : (cr < lf ? cr : lf);
		size_t seg;

		if (!end) {
			if (buf_add(&p->line, bytes + i, n - i) < 0)
				return -E2BIG;
			break;
		}
		seg = (size_t)(end - (bytes + i));
		if (p->line.len) {
			if (buf_add(&p->line, bytes + i, seg) < 0)
				return -E2BIG;
			r = process_line(p, p->line.data, p->line.len, fn, udata);
			buf_reset(&p->line);
		} else {
			if (seg > p->line.max)
				return -E2BIG;
			r = process_line(p, bytes + i, seg, fn, udata);
		}
		if (r < 0)
			return r;
		i += seg + 1;
		if (*end == '\r') {
			if (i < n && bytes[i] == '\n')
				i++;
			else if (i == n)
				p->after_cr = true;
		}
	}
	return 0;
}

int sse_finish(struct sse_parser *p, sse_event_fn *fn, void *udata)
{
	int r = 0;

	if (p->line.len) {
		r = process_line(p, p->line.data, p->line.len, fn, udata);
		buf_reset(&p->line);
		if (r < 0)
			return r;
	}
	return dispatch(p, fn, udata);
}
