/* diag.h - the error convention used everywhere.
 *
 * Functions that can fail return 0 on success or a negative errno (-EINVAL for bad
 * input, -ENOMEM, -EIO, ...), and, when the caller passes a struct diag, fill it with one
 * line a user can act on: what was wrong and where (file, line, column, key or position).
 * Library code never prints; the command at the top prints diag.msg once and maps the
 * code to an exit status (2 for bad input, 1 for run-time failure).
 */
#ifndef ONGRID_DIAG_H
#define ONGRID_DIAG_H

#include "shared/compiler.h"
#include "shared/limits.h"

struct diag {
	int code;                  /* negative errno, 0 when nothing was set */
	char msg[ONGRID_DIAG_MAX]; /* NUL-terminated, no trailing newline */
};

/* Set d (if not NULL) to code and a formatted message; returns code so callers can write
 * `return diag_set(d, -EINVAL, "bad key '%s'", k);`. */
int diag_set(struct diag *d, int code, const char *fmt, ...) _printf_(3, 4);

/* Prefix the existing message with more context ("file.conf: " + msg). Returns d->code. */
int diag_prefix(struct diag *d, const char *fmt, ...) _printf_(2, 3);

/* Exit status for a command that failed with code: 2 for bad input, else 1. */
int diag_exit_status(int code);

#endif
