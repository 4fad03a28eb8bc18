/* cmd_status.c - `ongrid-edge status`: what this host lets the edge do, which collectors
 * run (or would run) and why the others are off, how big the store is, and the state of
 * the tunnel to the relay (kept by `ongrid-edge connect` in data_dir/tunnel.json).
 *
 * When a daemon answers on the control socket, the collectors and the store are the
 * daemon's own view. Otherwise status starts and stops each collector itself, so the
 * answer is still "could this collector run here, and if not, why", and reads the store
 * read-only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/ctl.h"
#include "edge/edge.h"
#include "edge/hostinfo.h"
#include "edge/tunnel.h"
#include "edge/tsdb/tsdb.h"
#include "shared/alloc.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/banned.h"

#define STATUS_CTL_TIMEOUT_MS 5000

static void print_text(const struct edge_conf *c, const struct hostinfo *h)
{
	printf("host        %s\n", c->name);
	printf("version     %s\n", ONGRID_VERSION);
	printf("kernel      %s %s, %ld cpus\n", h->kernel, h->arch, h->ncpu);
	printf("privileges  %s\n", h->root ? "root" : "unprivileged");
	printf("btf         %s\n", h->btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	if (h->bpf_tracing)
		printf("bpf         yes (tracepoint programs load)\n");
	else
		printf("bpf         off: %s\n", h->bpf_why);
	printf("psi         %s\n", h->psi ? "yes (/proc/pressure)" : "no");
	printf("cgroup2     %s\n", h->cgroup2 ? h->cgroup2_path : "not mounted");
	printf("init        %s\n", h->systemd ? "systemd" : "not systemd (plain processes)");
	printf("data_dir    %s\n", c->data_dir);
}

static const char *jstr(const cJSON *o, const char *key, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : def;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_collectors(const cJSON *arr, bool from_daemon)
{
	const cJSON *c;

	printf("collectors  %s\n", from_daemon ? "(as the running daemon reports them)"
	                                       : "(no daemon: each one started and stopped now)");
	cJSON_ArrayForEach(c, arr) {
		const char *name = jstr(c, "name", "?"), *fb = jstr(c, "fallback", NULL);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "on"))) {
			printf("  %-12s on   %-6s %s\n", name, jstr(c, "kind", ""),
			       jstr(c, "summary", ""));
			continue;
		}
		printf("  %-12s off  %-6s %s", name, jstr(c, "kind", ""), jstr(c, "why", ""));
		if (fb)
			printf("; %s covers for it", fb);
		putchar('\n');
	}
}

static void print_store(const cJSON *t)
{
	if (!t) {
		printf("store       none yet\n");
		return;
	}
	printf("store       %.0f series, %.0f bytes on disk in %.0f files, %.0f samples in "
	       "memory\n",
	       jnum(t, "series"), jnum(t, "disk_bytes"), jnum(t, "files"), jnum(t, "head_samples"));
}

static void print_tunnel(const cJSON *t)
{
	const char *state = jstr(t, "state", "unknown"), *why = jstr(t, "why", NULL);
	const char *since = jstr(t, "connected_since", NULL), *err = jstr(t, "last_error", NULL);

	printf("tunnel      %s", state);
	if (since && strcmp(state, "up") == 0)
		printf(" since %s", since);
	if (jstr(t, "relay", NULL))
		printf(" (relay %s)", jstr(t, "relay", ""));
	if (why)
		printf(": %s", why);
	if (err && strcmp(state, "up") != 0)
		printf("; last error: %s", err);
	putchar('\n');
}

/* No daemon: would each collector start on this host, and why not? */
static cJSON *probe_collectors(const struct edge_conf *c, const struct hostinfo *h)
{
	struct collect_env env = { h, c };
	struct collector_set set;
	struct diag d = { 0 };
	cJSON *arr;

	/* The reasons go into the table below; the start-up log lines would repeat them. */
	if (log_get_level() == LOG_LEVEL_INFO)
		log_setup(LOG_LEVEL_WARN, LOG_FORMAT_TEXT, "ongrid-edge");
	if (collector_set_start(&set, &env, NULL, &c->collect_disable, &d) < 0) {
		fprintf(stderr, "ongrid-edge status: %s\n", d.msg);
		return NULL;
	}
	arr = collector_set_json(&set);
	collector_set_stop(&set);
	return arr;
}

static cJSON *store_stats(const struct edge_conf *c)
{
	char *dir = xasprintf("%s/tsdb", c->data_dir);
	struct tsdb_opts o = { .dir = dir, .read_only = true };
	struct tsdb_stats ts;
	struct diag d = { 0 };
	struct tsdb *db;
	struct stat st;
	cJSON *t;

	if (stat(dir, &st) < 0 || tsdb_open(&o, &db, &d) < 0) {
		free(dir);
		return NULL;
	}
	tsdb_get_stats(db, &ts);
	tsdb_close(db);
	free(dir);
	t = json_obj();
	json_add_num(t, "series", (double)ts.series);
	json_add_num(t, "head_samples", (double)ts.head_samples);
	json_add_num(t, "disk_samples", (double)ts.disk_samples);
	json_add_num(t, "disk_bytes", (double)ts.disk_bytes);
	json_add_num(t, "files", (double)ts.files);
	json_add_num(t, "mint_ms", (double)ts.mint);
	json_add_num(t, "maxt_ms", (double)ts.maxt);
	return t;
}

int cmd_status(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, from_daemon = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
	};
	cJSON *req, *resp = NULL, *collectors = NULL, *store = NULL, *daemon, *tunnel = NULL;
	struct edge_conf c;
	struct hostinfo h;
	struct diag d = { 0 };
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "status", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-edge status: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = edge_conf_load(&c, path);
	if (r)
		return r;
	hostinfo_probe(&h);

	daemon = json_obj();
	json_add_str(daemon, "socket", c.control_socket);
	req = json_obj();
	json_add_str(req, "cmd", "status");
	r = ctl_call(c.control_socket, req, STATUS_CTL_TIMEOUT_MS, &resp, &d);
	cJSON_Delete(req);
	if (r == 0 && cJSON_IsObject(resp)) {
		from_daemon = true;
		collectors = cJSON_DetachItemFromObject(resp, "collectors");
		store = cJSON_DetachItemFromObject(resp, "tsdb");
		json_add_bool(daemon, "running", true);
		json_add_num(daemon, "pid", jnum(resp, "pid"));
		json_add_num(daemon, "started_ms", jnum(resp, "started_ms"));
		json_add_num(daemon, "rounds", jnum(resp, "rounds"));
	} else {
		json_add_bool(daemon, "running", false);
		json_add_str(daemon, "why", d.msg);
		collectors = probe_collectors(&c, &h);
		store = store_stats(&c);
		if (!collectors) {
			r = 2;
			goto out;
		}
	}

	tunnel = tunnel_file_load(&c);
	if (json) {
		cJSON *o = json_obj();
		json_add_str(o, "host", c.name);
		json_add_str(o, "version", ONGRID_VERSION);
		json_add(o, "system", hostinfo_json(&h));
		json_add_str(o, "data_dir", c.data_dir);
		json_add(o, "daemon", daemon);
		daemon = NULL;
		json_add(o, "collectors", collectors);
		collectors = NULL;
		json_add(o, "tsdb", store ? store : cJSON_CreateNull());
		store = NULL;
		json_add(o, "tunnel", tunnel);
		tunnel = NULL;
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
		cJSON_Delete(o);
	} else {
		print_text(&c, &h);
		if (from_daemon)
			printf("daemon      running (pid %.0f, socket %s)\n", jnum(daemon, "pid"),
			       c.control_socket);
		else
			printf("daemon      not running (%s)\n", d.msg);
		print_collectors(collectors, from_daemon);
		print_store(store);
		print_tunnel(tunnel);
		r = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	cJSON_Delete(daemon);
	cJSON_Delete(collectors);
	cJSON_Delete(store);
	cJSON_Delete(tunnel);
	cJSON_Delete(resp);
	edge_conf_release(&c);
	return r;
}
