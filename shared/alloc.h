/* alloc.h - allocation that cannot return NULL, and overflow-checked sizes.
 *
 * ongrid runs on small VMs, but an allocation failure there means the process is about to
 * be OOM-killed anyway; dying with a clear message beats a NULL dereference later
 * (OpenSSH's xmalloc, redis' zmalloc). Bounded inputs are enforced before allocating.
 */
#ifndef ONGRID_ALLOC_H
#define ONGRID_ALLOC_H

#include <stddef.h>

#include "shared/compiler.h"

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Sizes: die on overflow (git's st_add/st_mult). */
size_t st_add(size_t a, size_t b);
size_t st_mul(size_t a, size_t b);

/* Grow an array so that it holds at least n elements; alloc is its capacity. */
#define ALLOC_GROW(arr, n, alloc)                                                    \
	do {                                                                         \
		if ((n) > (alloc)) {                                                 \
			size_t new_alloc_ = (alloc) < 8 ? 8 : (alloc);               \
			while (new_alloc_ < (size_t)(n))                             \
				new_alloc_ = st_mul(new_alloc_, 2);                  \
			(arr) = xrealloc((arr), st_mul(new_alloc_, sizeof(*(arr)))); \
			(alloc) = new_alloc_;                                        \
		}                                                                    \
	} while (0)

#define FREE_AND_NULL(p)    \
	do {                \
		free(p);    \
		(p) = NULL; \
	} while (0)

#endif
