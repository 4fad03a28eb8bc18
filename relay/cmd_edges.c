/* cmd_edges.c - `ongrid-relay edges [--json]`: the registry of edges, from relay.sqlite.
 *
 * The running relay keeps the registry rows current (connect, disconnect, heartbeats once
 * a second). When no relay runs on this data_dir, every edge is shown as disconnected,
 * whatever the rows say, since a relay killed with -9 could not mark them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/db.h"
#include "relay/relay.h"
#include "shared/cli.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/banned.h"

static void add_time(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	char ts[40];

	if (sqlite3_column_type(st, col) == SQLITE_NULL || !sqlite3_column_int64(st, col)) {
		json_add(o, key, cJSON_CreateNull());
		return;
	}
	clock_format_rfc3339(ts, sizeof(ts), sqlite3_column_int64(st, col));
	json_add_str(o, key, ts);
}

static void print_table(const cJSON *arr)
{
	const cJSON *e;

	printf("%-20s %-5s %-22s %-10s %-22s %-22s %s\n", "EDGE", "UP", "ADDRESS", "VERSION",
	       "CONNECTED SINCE", "LAST HEARTBEAT", "LABELS");
	cJSON_ArrayForEach(e, arr) {
		const cJSON *since = cJSON_GetObjectItem(e, "connected_since");
		const cJSON *hb = cJSON_GetObjectItem(e, "last_heartbeat");
		char *labels = json_print(cJSON_GetObjectItem(e, "labels"), false);
		bool up = cJSON_IsTrue(cJSON_GetObjectItem(e, "connected"));

		printf("%-20s %-5s %-22s %-10s %-22s %-22s %s%s\n",
		       cJSON_GetObjectItem(e, "name")->valuestring, up ? "yes" : "no",
		       cJSON_GetObjectItem(e, "address")->valuestring,
		       cJSON_GetObjectItem(e, "version")->valuestring,
		       up && cJSON_IsString(since) ? since->valuestring : "-",
		       cJSON_IsString(hb) ? hb->valuestring : "-", labels,
		       cJSON_IsTrue(cJSON_GetObjectItem(e, "shared_key")) ? "  (key shared!)" : "");
		free(labels);
	}
}

int cmd_edges(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct relay_conf conf;
	struct diag d = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *arr;
	char **args;
	int nargs, r, alive;

	r = cli_parse("ongrid-relay", "edges", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-relay edges: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = relay_conf_load(&conf, path);
	if (r)
		return r;
	r = relay_db_open(conf.data_dir, &db, &d);
	if (r == 0)
		r = db_prepare(db,
		               "SELECT name, key_name, labels, version, address, connected, "
		               "connected_since_ms, last_heartbeat_ms, shared_key FROM edges "
		               "ORDER BY name",
		               &st, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay edges: %s\n", d.msg);
		db_close(db);
		relay_conf_release(&conf);
		return 1;
	}
	alive = relay_pidfile_alive(conf.data_dir);
	arr = json_arr();
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *o = json_obj(), *labels;
		const char *lbl = (const char *)sqlite3_column_text(st, 2);

		json_add_str(o, "name", (const char *)sqlite3_column_text(st, 0));
		json_add_str(o, "key", (const char *)sqlite3_column_text(st, 1));
		labels = cJSON_Parse(lbl ? lbl : "{}");
		json_add(o, "labels", labels ? labels : json_obj());
		json_add_str(o, "version", (const char *)sqlite3_column_text(st, 3));
		json_add_str(o, "address", (const char *)sqlite3_column_text(st, 4));
		json_add_bool(o, "connected", alive && sqlite3_column_int(st, 5));
		add_time(o, "connected_since", st, 6);
		add_time(o, "last_heartbeat", st, 7);
		json_add_bool(o, "shared_key", sqlite3_column_int(st, 8));
		json_push(arr, o);
	}
	sqlite3_finalize(st);
	if (json)
		r = json_print_stdout(arr, true) < 0 ? 1 : 0;
	else
		print_table(arr);
	if (!alive && !json)
		fprintf(stderr, "ongrid-relay edges: no relay is running on '%s'\n", conf.data_dir);
	cJSON_Delete(arr);
	db_close(db);
	relay_conf_release(&conf);
	return r;
}
