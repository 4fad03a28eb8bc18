/* relay_conf.c - every key of relay.conf, its type, default and meaning.
 * docs/config-relay.md is generated from this table (`ongrid-relay config --doc`). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "relay/relay.h"
#include "shared/log.h"
#include "shared/banned.h"

#define K(name, type, def, field, doc)                                               \
	{                                                                            \
		name, type, def, offsetof(struct relay_conf, field), doc, 0, 0, NULL \
	}
#define KC(name, def, field, choices, doc)                                                     \
	{                                                                                      \
		name, CONF_STRING, def, offsetof(struct relay_conf, field), doc, 0, 0, choices \
	}

static const struct conf_key keys[] = {
	K("data_dir", CONF_STRING, "/var/lib/ongrid-relay", data_dir,
	  "Directory for the relay's SQLite database, CA and server certificate."),
	KC("log.level", "info", log_level, "err|warn|info|debug", "How much the daemon logs."),
	KC("log.format", "text", log_format, "text|journal",
	   "text: timestamped lines; journal: <N> priority prefixes that journald reads."),
};

const struct conf_table relay_conf_table = {
	.daemon = "relay",
	.default_path = "/etc/ongrid/relay.conf",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
};

int relay_conf_load(struct relay_conf *c, const char *path)
{
	struct diag d = { 0 };
	enum log_level lvl = LOG_LEVEL_INFO;
	int r;

	memset(c, 0, sizeof(*c));
	r = conf_load(&relay_conf_table, c, path, &d);
	if (r == 0 && log_level_parse(c->log_level, &lvl) < 0)
		r = diag_set(&d, -EINVAL, "log.level: expected err, warn, info or debug, got '%s'",
		             c->log_level);
	if (r == 0 && strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "journal") != 0)
		r = diag_set(&d, -EINVAL, "log.format: expected text or journal, got '%s'",
		             c->log_format);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay: %s\n", d.msg);
		return 2;
	}
	log_setup(lvl, c->log_format[0] == 'j' ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT,
	          "ongrid-relay");
	return 0;
}

void relay_conf_release(struct relay_conf *c)
{
	conf_release(&relay_conf_table, c);
}
