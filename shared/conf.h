/* conf.h - one table per daemon describes every configuration key; this module parses a
 * libconfig file and ONGRID_* environment variables into a plain struct from it.
 *
 * The table is the single source of truth: parsing, defaults, type checks, the rejection
 * of unknown keys and the reference in docs/config-*.md all come from it (fluent-bit's
 * config_map, redis' standardConfig).
 *
 * Precedence, lowest first: the table's defaults, the file, ONGRID_<KEY> variables (the
 * dotted key upper-cased with '.' -> '_': tsdb.retention -> ONGRID_TSDB_RETENTION).
 * Errors name the file, the line and the key: "edge.conf:12: tsdb.retention: expected a
 * duration such as 15d, got 'fortnight'".
 */
#ifndef ONGRID_CONF_H
#define ONGRID_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shared/diag.h"

enum conf_type {
	CONF_STRING,   /* char * (owned by the struct; conf_release frees it) */
	CONF_INT,      /* int64_t */
	CONF_BOOL,     /* bool */
	CONF_DURATION, /* int64_t milliseconds; "15s", "7d", or an integer of seconds */
	CONF_SIZE,     /* uint64_t bytes; "64MiB", or an integer of bytes */
	CONF_DOUBLE,   /* double */
	CONF_STRLIST,  /* struct conf_strlist; a list ("a", "b") or a comma-separated string */
	_CONF_TYPE_MAX
};

struct conf_strlist {
	char **v; /* owned */
	size_t n;
};

struct conf_key {
	const char *name; /* dotted path: "tsdb.retention" is group tsdb, setting retention */
	enum conf_type type;
	const char *def;     /* default, written as a user would write it; NULL = unset/empty */
	size_t offset;       /* offsetof() the target field in the daemon's struct */
	const char *doc;     /* one sentence for docs and --help */
	int64_t min, max;    /* for CONF_INT (and DURATION/SIZE when max > 0): inclusive bounds */
	const char *choices; /* for CONF_STRING: "a|b|c" lists the only values accepted */
};

/* A section whose shape a flat key cannot express (a list of groups, a group of lists),
 * parsed whole by its owner's function. The table still drives everything else: unknown
 * keys around it are rejected, docs list it, conf_print shows it, conf_release frees it.
 * Sections have no default (an absent section leaves the field zeroed) and no ONGRID_*
 * override. parse() gets the libconfig setting, so its errors can name file:line. */
struct config_setting_t; /* libconfig's, which only conf.c and section parsers include */
struct cJSON;
struct conf_section {
	const char *name; /* dotted path: "llm.providers" */
	const char *type; /* for docs: "list of groups" */
	const char *doc;
	size_t offset; /* offsetof() the field parse() fills */
	int (*parse)(struct config_setting_t *s, void *field, const char *file, struct diag *d);
	void (*release)(void *field);                /* NULL-safe on a zeroed field */
	struct cJSON *(*to_json)(const void *field); /* for conf_print */
};

struct conf_table {
	const char *daemon;       /* "edge" */
	const char *default_path; /* "/etc/ongrid/edge.conf" */
	const struct conf_key *keys;
	size_t nkeys;
	const struct conf_section *sections; /* may be NULL */
	size_t nsections;
};

/* Fill obj from defaults, then path (if path is NULL, the table's default_path when it
 * exists; an explicit path must exist), then the environment. On error obj holds the
 * defaults plus whatever was valid; returns -EINVAL/-ENOENT with d set. */
int conf_load(const struct conf_table *t, void *obj, const char *path, struct diag *d);

/* Apply defaults only. */
void conf_defaults(const struct conf_table *t, void *obj);

/* Set one key from text, as if it came from a file ("origin" names where, for errors). */
int conf_set(const struct conf_table *t, void *obj, const char *key, const char *value,
             const char *origin, struct diag *d);

/* Free everything the table's fields own. */
void conf_release(const struct conf_table *t, void *obj);

/* Print the effective values: `key = value;` lines in the file's own syntax, or one JSON
 * object keyed by dotted name. Returns 0 or 1 when stdout fails. */
int conf_print(const struct conf_table *t, const void *obj, bool json);

/* Markdown reference of every key with type, default and description. */
void conf_write_doc(const struct conf_table *t, FILE *out);

#endif
