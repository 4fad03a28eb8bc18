/* tunnel_file.c - the tunnel's state where `ongrid-edge status` can read it.
 *
 * The tunnel lives in `ongrid-edge connect`, a process of its own (the daemon's control
 * socket answers one request at a time; the tunnel's calls must not wait behind it). On
 * every state change connect writes data_dir/tunnel.json atomically; status reads it and
 * checks that the writer still runs, so a killed connect reads as "not running" rather
 * than as its last word.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tunnel.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/banned.h"

#define TUNNEL_FILE     "tunnel.json"
#define TUNNEL_FILE_MAX (16u << 10)

int tunnel_file_save(const char *data_dir, const struct tunnel *t, bool stopped)
{
	cJSON *o = tunnel_status_json(t);
	char *path = xasprintf("%s/%s", data_dir, TUNNEL_FILE), *text;
	int r;

	json_add_num(o, "pid", (double)getpid());
	json_add_num(o, "updated_ms", (double)now_ms());
	if (stopped)
		cJSON_ReplaceItemInObjectCaseSensitive(o, "state", cJSON_CreateString("stopped"));
	text = json_print(o, false);
	r = write_atomic(path, text, strlen(text), 0600);
	free(text);
	free(path);
	cJSON_Delete(o);
	return r;
}

cJSON *tunnel_file_load(const struct edge_conf *c)
{
	char *path, buf[TUNNEL_FILE_MAX];
	const char *state;
	cJSON *o;
	FILE *f;
	size_t n;
	double pid;

	o = json_obj();
	if (!c->relay_url || !*c->relay_url) {
		json_add_str(o, "state", "stand-alone");
		json_add_str(o, "why", "relay.url is not set");
		return o;
	}
	json_add_str(o, "relay", c->relay_url);
	path = xasprintf("%s/%s", c->data_dir, TUNNEL_FILE);
	f = fopen(path, "re");
	free(path);
	if (!f) {
		json_add_str(o, "state", "not running");
		json_add_str(o, "why", "no `ongrid-edge connect` has run with this data_dir");
		return o;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cJSON_Delete(o);
	o = json_parse(buf, n, sizeof(buf), NULL);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = json_obj();
		json_add_str(o, "relay", c->relay_url);
		json_add_str(o, "state", "unknown");
		json_add_str(o, "why", "data_dir/tunnel.json is unreadable");
		return o;
	}
	pid = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "pid"));
	state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "state"));
	/* a connect killed with -9 left its last state behind */
	if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH &&
	    (!state || strcmp(state, "stopped") != 0)) {
		cJSON_ReplaceItemInObjectCaseSensitive(o, "state", cJSON_CreateString("stopped"));
		json_add_str(o, "why", "the connect process is gone");
	}
	return o;
}
