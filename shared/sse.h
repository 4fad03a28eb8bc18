/* sse.h - an incremental Server-Sent-Events parser (WHATWG "event stream" framing).
 *
 * Bytes arrive in arbitrary chunks (a TCP read may end inside a line, between the CR and
 * LF of a CRLF, or inside a UTF-8 sequence); the parser keeps the partial line and calls
 * back once per complete event. What it accepts (docs: shared/reference §0.1):
 *   - lines end in LF, CRLF or a lone CR; a blank line dispatches the event;
 *   - "data:" lines (space after the colon optional) are joined with "\n";
 *   - "event:" names the event; "id:" and "retry:" are parsed and ignored;
 *   - lines starting with ':' are comments (DeepSeek's ": keep-alive");
 *   - any other line is not SSE at all: it is kept in ->stray (capped) so a caller can
 *     recover a bare JSON error object that Gemini sometimes sends without "data:".
 * Every buffer is capped: an event larger than max_event_bytes fails with -E2BIG.
 */
#ifndef ONGRID_SSE_H
#define ONGRID_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/buf.h"
#include "shared/compiler.h"

/* Called once per dispatched event. event is "" when the stream named none; data is
 * NUL-terminated (len excludes the NUL) and valid only during the call. A negative return
 * stops sse_feed, which returns it. */
typedef int sse_event_fn(void *udata, const char *event, const char *data, size_t len);

struct sse_parser {
	struct buf line;  /* the current partial line */
	struct buf data;  /* data lines of the current event, joined with '\n' */
	struct buf stray; /* lines that are not SSE fields (see above) */
	char event[64];   /* the current event name, truncated */
	bool have_data;   /* a data: line was seen since the last dispatch */
	bool after_cr;    /* the previous chunk ended in CR: skip a leading LF */
	size_t events;    /* events dispatched so far */
};

/* max_event_bytes bounds one line and one event's joined data; stray keeps at most
 * ONGRID_SSE_MAX_STRAY_BYTES. */
void sse_init(struct sse_parser *p, size_t max_event_bytes);
void sse_release(struct sse_parser *p);

/* Feed n bytes. Returns 0, -E2BIG when a line or event passes the cap, or the first
 * negative value returned by fn. After an error the parser must be released. */
_warn_unused_ int sse_feed(struct sse_parser *p, const char *bytes, size_t n, sse_event_fn *fn,
                           void *udata);

/* End of stream: a final line without its newline is processed, and an event with data
 * but no closing blank line is dispatched (servers that close the connection right after
 * the last event). Returns as sse_feed. */
_warn_unused_ int sse_finish(struct sse_parser *p, sse_event_fn *fn, void *udata);

#endif
