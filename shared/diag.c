#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shared/diag.h"
#include "shared/banned.h"

int diag_set(struct diag *d, int code, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return code;
	d->code = code;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return code;
}

int diag_prefix(struct diag *d, const char *fmt, ...)
{
	char prefix[ONGRID_DIAG_MAX], old[ONGRID_DIAG_MAX];
	va_list ap;

	if (!d)
		return 0;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* Truncation is acceptable: the message is for a human and stays terminated. */
	memcpy(old, d->msg, sizeof(old));
	size_t np = strnlen(prefix, sizeof(d->msg) - 1);
	size_t no = strnlen(old, sizeof(d->msg) - 1 - np);
	memcpy(d->msg, prefix, np);
	memcpy(d->msg + np, old, no);
	d->msg[np + no] = '\0';
	return d->code;
}

int diag_exit_status(int code)
{
	switch (code) {
	case -EINVAL:
	case -E2BIG:
	case -ERANGE:
		return 2;
	default:
		return 1;
	}
}
