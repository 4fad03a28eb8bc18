#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/alloc.h"
#include "shared/banned.h"

static _noreturn_ void out_of_memory(size_t n)
{
	fprintf(stderr, "ongrid: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		out_of_memory(st_mul(nmemb, size));
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		out_of_memory(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(st_add(len, 1));

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		out_of_memory(0);
	va_end(ap);
	return p;
}

size_t st_add(size_t a, size_t b)
{
	if (SIZE_MAX - a < b) {
		fprintf(stderr, "ongrid: size overflow: %zu + %zu\n", a, b);
		abort();
	}
	return a + b;
}

size_t st_mul(size_t a, size_t b)
{
	if (a && SIZE_MAX / a < b) {
		fprintf(stderr, "ongrid: size overflow: %zu * %zu\n", a, b);
		abort();
	}
	return a * b;
}
