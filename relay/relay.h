/* relay.h - the relay's configuration and command entry points. */
#ifndef ONGRID_RELAY_H
#define ONGRID_RELAY_H

#include "shared/conf.h"

/* Every field is set from relay_conf_table (relay_conf.c), the one list of keys. */
struct relay_conf {
	char *data_dir; /* SQLite: edges, keys, threads, audit, token spend */
	char *log_level;
	char *log_format;
};

extern const struct conf_table relay_conf_table;

int relay_conf_load(struct relay_conf *c, const char *path);
void relay_conf_release(struct relay_conf *c);

int cmd_config(int argc, char **argv);

#endif
