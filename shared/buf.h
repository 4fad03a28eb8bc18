/* buf.h - a growable byte buffer with a hard cap (curl's dynbuf, git's strbuf).
 *
 * Invariants: after buf_init, data is either NULL (nothing added yet) or points at len
 * bytes followed by a NUL, so text can be used as a C string. An append that would pass
 * max fails with -E2BIG and leaves the contents as they were. The buffer owns data;
 * buf_detach hands it to the caller, buf_release frees it.
 */
#ifndef ONGRID_BUF_H
#define ONGRID_BUF_H

#include <stddef.h>

#include "shared/compiler.h"

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t max; /* the most bytes this buffer may ever hold (excluding the NUL) */
};

#define BUF_INIT(maxbytes)             \
	{                              \
		NULL, 0, 0, (maxbytes) \
	}

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);                    /* len = 0, keeps the allocation */
char *buf_detach(struct buf *b, size_t *ret_len); /* caller frees; never NULL */

_warn_unused_ int buf_add(struct buf *b, const void *p, size_t n);
_warn_unused_ int buf_adds(struct buf *b, const char *s);
_warn_unused_ int buf_addc(struct buf *b, char c);
_warn_unused_ int buf_addf(struct buf *b, const char *fmt, ...) _printf_(2, 3);

/* Drop the first n bytes (consumed input). */
void buf_consume(struct buf *b, size_t n);

/* The contents as a C string; "" when empty. */
const char *buf_str(const struct buf *b);

#endif
