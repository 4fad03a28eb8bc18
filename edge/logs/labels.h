/* labels.h - label sets of log streams and parsed lines.
 *
 * A stream is named by its sorted label set, written canonically as
 * {file="/var/log/app.log",host="web-1",level="error"}: the store keeps that text, the
 * query layer parses it back. Values may hold any bytes except NUL; '"', '\' and newline
 * are escaped. A set owns its strings.
 */
#ifndef ONGRID_LOGS_LABELS_H
#define ONGRID_LOGS_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/buf.h"

struct log_label {
	char *name;  /* owned */
	char *value; /* owned */
};

struct log_labels {
	struct log_label *v; /* owned */
	size_t n, alloc;
};

/* Set name to value (replacing an existing value); keeps the set sorted by name. */
void log_labels_set(struct log_labels *l, const char *name, const char *value);
void log_labels_setn(struct log_labels *l, const char *name, const char *value, size_t vlen);
/* Remove name if present. */
void log_labels_del(struct log_labels *l, const char *name);
/* The value of name, or NULL. */
const char *log_labels_get(const struct log_labels *l, const char *name);
void log_labels_copy(struct log_labels *dst, const struct log_labels *src);
void log_labels_clear(struct log_labels *l); /* frees everything; l is empty and reusable */
/* Append the canonical text to out. Returns 0 or -E2BIG. */
int log_labels_format(const struct log_labels *l, struct buf *out) _warn_unused_;
/* Parse canonical text (as written by log_labels_format) into l. -EINVAL if malformed. */
int log_labels_parse(const char *text, struct log_labels *l);
/* A valid label name: [a-zA-Z_][a-zA-Z0-9_]* */
bool log_label_name_valid(const char *s, size_t n);

#endif
