/* daemon.c - `ongrid-edge run`: collectors, store, control socket and /metrics on one
 * libev loop (see daemon.h). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "edge/collect/procfs.h"
#include "edge/alert_rules.h"
#include "edge/change.h"
#include "edge/daemon.h"
#include "edge/tsdb/expose.h"
#include "edge/tsdb/promql.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/reloc_pages.h"
#include "shared/banned.h"

/* How often retention and compaction run; cheap when there is nothing to do. */
#define DAEMON_MAINTAIN_INTERVAL_MS (60 * 1000)

static const double round_bounds[DAEMON_ROUND_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
	                                                   0.05,  0.1,    0.25,  0.5,  1 };

static const struct metric_desc m_rss = { "ongrid_edge_resident_memory_bytes", METRIC_GAUGE,
	                                  "Resident memory of the edge daemon" };
static const struct metric_desc m_cpu = { "ongrid_edge_cpu_seconds_total", METRIC_COUNTER,
	                                  "CPU time the edge daemon used (user + system)" };
static const struct metric_desc m_start = {
	"ongrid_edge_start_time_seconds", METRIC_GAUGE,
	"When the edge daemon started, seconds since the epoch"
};
static const struct metric_desc m_info = { "ongrid_edge_build_info", METRIC_GAUGE,
	                                   "Always 1; the version label says which edge runs" };
static const struct metric_desc m_up = { "ongrid_edge_collector_up", METRIC_GAUGE,
	                                 "1 when the collector runs, 0 when it is off" };
static const struct metric_desc m_dur = { "ongrid_edge_collector_duration_seconds", METRIC_GAUGE,
	                                  "How long the collector's last round took" };
static const struct metric_desc m_errs = { "ongrid_edge_collector_errors_total", METRIC_COUNTER,
	                                   "Rounds in which the collector reported an error" };
static const struct metric_desc m_round = { "ongrid_edge_round_duration_seconds", METRIC_HISTOGRAM,
	                                    "How long one round of all collectors took" };
static const struct metric_desc m_series = { "ongrid_edge_tsdb_series", METRIC_GAUGE,
	                                     "Series in the edge's time-series store" };
static const struct metric_desc m_head = { "ongrid_edge_tsdb_head_samples", METRIC_GAUGE,
	                                   "Samples in memory, not yet flushed" };
static const struct metric_desc m_disk = { "ongrid_edge_tsdb_disk_bytes", METRIC_GAUGE,
	                                   "Bytes of the store's files on disk" };
static const struct metric_desc m_appfail = { "ongrid_edge_tsdb_append_errors_total",
	                                      METRIC_COUNTER,
	                                      "Rounds in which the store refused samples" };
static const struct metric_desc m_flushfail = { "ongrid_edge_tsdb_flush_errors_total",
	                                        METRIC_COUNTER,
	                                        "Flushes of the store that failed" };

static void add_self(struct daemon *dm, struct snapshot *s)
{
	struct tsdb_stats ts;
	struct rusage ru;
	char *vm;

	/* VmRSS is what the memory budget is about; ru_maxrss would be the peak. */
	if (procfs_read("/proc/self/status", &dm->scratch) == 0 &&
	    (vm = strstr(dm->scratch.data, "\nVmRSS:"))) {
		unsigned long long kib = strtoull(vm + 7, NULL, 10);
		snapshot_add(s, &m_rss, NULL, 0, (double)kib * 1024);
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		snapshot_add(s, &m_cpu, NULL, 0,
		             (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		                     (double)ru.ru_stime.tv_sec +
		                     (double)ru.ru_stime.tv_usec / 1e6);
	snapshot_add(s, &m_start, NULL, 0, (double)dm->started_ms / 1000.0);
	snapshot_add(s, &m_info, &(struct label){ "version", ONGRID_VERSION }, 1, 1);
	for (size_t i = 0; i < dm->set.n; i++) {
		const struct collector_slot *sl = &dm->set.slots[i];
		struct label l = { "collector", sl->c->name };
		snapshot_add(s, &m_up, &l, 1, sl->on ? 1 : 0);
		if (!sl->on)
			continue;
		snapshot_add(s, &m_dur, &l, 1, (double)sl->last_duration_us / 1e6);
		snapshot_add(s, &m_errs, &l, 1, (double)sl->errors);
	}
	snapshot_histogram(s, &m_round, NULL, 0, round_bounds, dm->round_buckets,
	                   DAEMON_ROUND_BUCKETS, dm->round_overflow, dm->round_sum_s);
	tsdb_get_stats(dm->db, &ts);
	snapshot_add(s, &m_series, NULL, 0, (double)ts.series);
	snapshot_add(s, &m_head, NULL, 0, (double)ts.head_samples);
	snapshot_add(s, &m_disk, NULL, 0, (double)ts.disk_bytes);
	snapshot_add(s, &m_appfail, NULL, 0, (double)dm->append_errors);
	snapshot_add(s, &m_flushfail, NULL, 0, (double)dm->flush_errors);
}

static void observe_round(struct daemon *dm, double seconds)
{
	size_t i;

	for (i = 0; i < DAEMON_ROUND_BUCKETS; i++)
		if (seconds <= round_bounds[i])
			break;
	if (i < DAEMON_ROUND_BUCKETS)
		dm->round_buckets[i]++;
	else
		dm->round_overflow++;
	dm->round_sum_s += seconds;
}

static void collect_round(struct daemon *dm)
{
	struct snapshot s;
	struct diag d = { 0 };
	int64_t t0 = mono_ns();

	snapshot_init(&s, now_ms());
	collector_set_collect(&dm->set, &s, s.t_ms);
	observe_round(dm, (double)(mono_ns() - t0) / 1e9);
	dm->rounds++;
	add_self(dm, &s);
	if (snapshot_to_tsdb(&s, dm->db, &d) < 0) {
		dm->append_errors++;
		log_warn("time-series store: %s", d.msg);
	}
	if (dm->have_last)
		snapshot_release(&dm->last);
	dm->last = s;
	dm->have_last = true;
}

static void on_collect(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	collect_round(w->data);
	if (((struct daemon *)w->data)->changes)
		change_poll(((struct daemon *)w->data)->changes, now_ms());
}

static void flush_store(struct daemon *dm)
{
	struct diag d = { 0 };

	if (tsdb_flush(dm->db, &d) < 0) {
		dm->flush_errors++;
		log_err("cannot flush the time-series store: %s, retrying at the next flush",
		        d.msg);
		return;
	}
	dm->flushes++;
	/* The flushed head's chunks were freed: return the memory, not just to malloc. */
	malloc_trim(0);
}

static void on_flush(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	flush_store(w->data);
}

static void on_maintain(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *dm = w->data;
	struct diag d = { 0 };

	(void)loop;
	(void)revents;
	if (tsdb_maintain(dm->db, now_ms(), &d) < 0)
		log_warn("time-series store maintenance failed: %s, retrying in 60s", d.msg);
}

static void on_ctl(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *dm = w->data;

	(void)loop;
	(void)revents;
	ctl_server_accept(dm->ctl);
}

static int render_metrics(void *udata, struct buf *body)
{
	struct daemon *dm = udata;

	if (!dm->have_last)
		return -EAGAIN;
	return expose_snapshot(&dm->last, body);
}

static cJSON *tsdb_stats_json(struct tsdb *db)
{
	struct tsdb_stats ts;
	cJSON *o = json_obj();

	tsdb_get_stats(db, &ts);
	json_add_num(o, "series", (double)ts.series);
	json_add_num(o, "head_samples", (double)ts.head_samples);
	json_add_num(o, "disk_samples", (double)ts.disk_samples);
	json_add_num(o, "disk_bytes", (double)ts.disk_bytes);
	json_add_num(o, "files", (double)ts.files);
	json_add_num(o, "mint_ms", (double)ts.mint);
	json_add_num(o, "maxt_ms", (double)ts.maxt);
	return o;
}

static int ctl_status(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct daemon *dm = udata;
	cJSON *o = json_obj(), *store;

	(void)req;
	(void)d;
	json_add_str(o, "host", dm->conf.name);
	json_add_str(o, "version", ONGRID_VERSION);
	json_add_num(o, "pid", (double)getpid());
	json_add_num(o, "started_ms", (double)dm->started_ms);
	json_add_num(o, "rounds", (double)dm->rounds);
	json_add_str(o, "data_dir", dm->conf.data_dir);
	json_add(o, "system", hostinfo_json(&dm->host));
	json_add(o, "collectors", collector_set_json(&dm->set));
	store = tsdb_stats_json(dm->db);
	json_add_num(store, "flushes", (double)dm->flushes);
	json_add_num(store, "flush_errors", (double)dm->flush_errors);
	json_add(o, "tsdb", store);
	if (dm->http) {
		cJSON *m = json_obj();
		json_add_str(m, "listen", dm->conf.metrics_listen);
		json_add_num(m, "port", http_metrics_port(dm->http));
		json_add(o, "metrics", m);
	}
	*ret = o;
	return 0;
}

/* {"cmd":"investigate"}: `ongrid-edge investigate` asks whether history is there before it
 * runs (edge/cmd_investigate.c); the investigation itself runs in the CLI, whose tools then
 * come back here for metrics and logs, one request at a time. */
static int ctl_investigate(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct daemon *dm = udata;
	cJSON *o = json_obj();

	(void)req;
	(void)d;
	json_add_str(o, "history", dm->db ? "on" : "off");
	json_add_num(o, "rounds", (double)dm->rounds);
	json_add_num(o, "started_ms", (double)dm->started_ms);
	*ret = o;
	return 0;
}

static int ctl_flush(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct daemon *dm = udata;
	int r;

	(void)req;
	r = tsdb_flush(dm->db, d);
	if (r < 0)
		return r;
	*ret = tsdb_stats_json(dm->db);
	return 0;
}

/* {"cmd":"tcp_flows","max_idle_s":N}: the tcp collector's flows for the local topology
 * (connections seen by the kernel, however short-lived), those idle for N s or more left
 * out (default an hour). */
static int ctl_tcp_flows(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct daemon *dm = udata;
	const cJSON *idle = cJSON_GetObjectItemCaseSensitive(req, "max_idle_s");
	int64_t max_idle_s =
	        cJSON_IsNumber(idle) && idle->valuedouble > 0 ? (int64_t)idle->valuedouble : 3600;
	cJSON *flows = NULL;
	int r = tcp_flows_json(&dm->set, max_idle_s, &flows, d);

	if (r < 0)
		return r;
	*ret = json_obj();
	json_add(*ret, "flows", flows);
	return 0;
}

/* {"cmd":"query","query":"rate(x[1m])"} evaluates at now; "time" (ms) picks the instant;
 * "start", "end" (ms) and "step" (ms) make a range query. */
static int ctl_query(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct daemon *dm = udata;
	const char *q = NULL;
	int64_t t = now_ms(), start, end, step = 0;
	int r;

	r = json_get_string(req, "query", &q, "request", d);
	if (r == -ENOENT)
		return diag_set(d, -EINVAL, "request: missing \"query\"");
	if (r < 0)
		return r;
	if ((r = json_get_int(req, "time", &t, "request", d)) < 0 && r != -ENOENT)
		return r;
	start = end = t;
	if ((r = json_get_int(req, "start", &start, "request", d)) < 0 && r != -ENOENT)
		return r;
	if ((r = json_get_int(req, "end", &end, "request", d)) < 0 && r != -ENOENT)
		return r;
	if ((r = json_get_int(req, "step", &step, "request", d)) < 0 && r != -ENOENT)
		return r;
	if (end < start || (end > start && step <= 0))
		return diag_set(d, -EINVAL,
		                "request: a range needs start <= end and a positive step");
	return promql_query_json(dm->db, q, start, end, step, ret, d);
}

/* Start the collectors (and /metrics) the configuration asks for. */
static int start_collectors(struct daemon *dm, struct diag *d)
{
	struct collect_env env = { &dm->host, &dm->conf };

	return collector_set_start(&dm->set, &env, NULL, &dm->conf.collect_disable, d);
}

static int start_http(struct daemon *dm, struct diag *d)
{
	if (!dm->conf.metrics_enabled)
		return 0;
	return http_metrics_start(dm->loop, dm->conf.metrics_listen, render_metrics, dm, &dm->http,
	                          d);
}

static void start_timers(struct daemon *dm)
{
	double iv = (double)dm->conf.collect_interval_ms / 1000.0;

	/* The first round runs at once so /metrics and status have data right away. */
	ev_timer_init(&dm->collect_timer, on_collect, 0., iv);
	dm->collect_timer.data = dm;
	ev_timer_start(dm->loop, &dm->collect_timer);
}

/* The rules follow the new configuration: rules (NULL when alerts.interval is now 0) are
 * handed to the running alerting, or alerting starts or stops. */
static void reload_alerting(struct daemon *dm, struct alert_rules *rules)
{
	struct diag d = { 0 };

	if (dm->alerting && rules) {
		alerting_reload(dm->alerting, rules);
		return;
	}
	alert_rules_free(rules);
	if (dm->alerting) {
		alerting_stop(dm->alerting);
		dm->alerting = NULL;
		log_info("local alerting: off (alerts.interval is 0)");
	} else if (dm->conf.alerts_interval_ms > 0 &&
	           alerting_start(dm->loop, &dm->conf, dm->conf_path, dm->db, &dm->alerting, &d) <
	                   0) {
		log_err("reload: local alerting stays off: %s", d.msg);
	}
}

/* SIGHUP: parse the file into a new configuration; keep the old one if it is bad. */
static void reload(struct daemon *dm)
{
	struct edge_conf nc;
	struct diag d = { 0 };
	struct collector_set old_set = dm->set;
	struct http_metrics *old_http = dm->http;

	struct alert_rules *rules = NULL;

	if (edge_conf_load(&nc, dm->conf_path) != 0) {
		log_err("reload: configuration unchanged (the error is above)");
		return;
	}
	/* A bad rules file fails the whole reload, as a bad configuration does: half a new
	 * configuration is harder to reason about than the old one. */
	if (nc.alerts_interval_ms > 0 &&
	    alert_rules_load(nc.alerts_rules_file, nc.alerts_default_rules, &rules, &d) < 0) {
		log_err("reload: %s; configuration unchanged", d.msg);
		edge_conf_release(&nc);
		return;
	}
	if (strcmp(nc.data_dir, dm->conf.data_dir) != 0 ||
	    strcmp(nc.control_socket, dm->conf.control_socket) != 0 ||
	    nc.tsdb_retention_ms != dm->conf.tsdb_retention_ms ||
	    nc.tsdb_max_bytes != dm->conf.tsdb_max_bytes)
		log_warn("reload: data_dir, control_socket and tsdb.* take effect at the next "
		         "restart");
	/* Swap first so the collectors and /metrics see the new values; on failure, go
	 * back to the old configuration and the old set. */
	struct edge_conf old = dm->conf;
	dm->conf = nc;
	if (start_collectors(dm, &d) < 0) {
		log_err("reload: %s, configuration unchanged", d.msg);
		dm->conf = old;
		dm->set = old_set;
		edge_conf_release(&nc);
		alert_rules_free(rules);
		return;
	}
	reload_alerting(dm, rules);
	if (old.metrics_enabled != nc.metrics_enabled ||
	    strcmp(old.metrics_listen, nc.metrics_listen) != 0) {
		http_metrics_stop(old_http);
		dm->http = NULL;
		if (start_http(dm, &d) < 0)
			log_err("reload: /metrics is off: %s", d.msg);
	}
	collector_set_stop(&old_set);
	ev_timer_stop(dm->loop, &dm->collect_timer);
	start_timers(dm);
	dm->conf.tsdb_retention_ms = old.tsdb_retention_ms;
	dm->conf.tsdb_max_bytes = old.tsdb_max_bytes;
	/* data_dir and control_socket are strings the running parts do not keep. */
	edge_conf_release(&old);
	malloc_trim(0); /* the old collectors' BPF objects and BTF */
	log_info("configuration reloaded");
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *dm = w->data;

	(void)revents;
	if (w->signum == SIGHUP) {
		reload(dm);
		return;
	}
	log_info("received %s, stopping", w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
	ev_break(loop, EVBREAK_ALL);
}

static int open_store(struct daemon *dm, struct diag *d)
{
	char *dir = xasprintf("%s/tsdb", dm->conf.data_dir);
	struct tsdb_opts o = {
		.dir = dir,
		.retention_ms = dm->conf.tsdb_retention_ms,
		.max_bytes = dm->conf.tsdb_max_bytes,
		.flush_interval_ms = dm->conf.tsdb_flush_interval_ms,
	};
	int r = mkdir_p(dir, 0700);

	if (r < 0)
		r = diag_set(d, r, "cannot create '%s': %s", dir, strerror(-r));
	else
		r = tsdb_open(&o, &dm->db, d);
	free(dir);
	return r;
}

/* {"cmd":"alerts"}: the local rules and their active series (`ongrid-edge alerts`). */
static int ctl_alerts(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	struct daemon *dm = udata;

	(void)req, (void)d;
	*ret = alerting_json(dm->alerting);
	return 0;
}

/* Log lines are read in slices of DAEMON_LOGS_BUDGET bytes (a few ms of work each), at
 * most DAEMON_LOGS_SLICES slices per tick, so a burst of log lines cannot starve the
 * collection timer or the control socket; a backlog drains over the following ticks. */
#define DAEMON_LOGS_BUDGET      ((size_t)256 * 1024)
#define DAEMON_LOGS_SLICES      8
#define DAEMON_LOGS_INTERVAL_MS 250
/* A quiet host's logs are polled less often, up to this: a daemon that wakes four times
 * a second to find nothing costs an idle host more CPU than its collectors do. The first
 * line after a quiet spell waits at most this long; then polling is fast again. */
#define DAEMON_LOGS_IDLE_MAX_MS 2000

static void on_logs(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *dm = w->data;
	struct diag d = { 0 };
	uint64_t before = logs_lines_ingested(dm->logs);
	double next;
	int r = 1;

	(void)revents;
	for (int i = 0; i < DAEMON_LOGS_SLICES && r == 1; i++)
		r = logs_poll(dm->logs, now_ms(), false, &d);
	if (r < 0)
		log_warn("logs: %s", d.msg);
	/* lines came (or more wait): the short interval; nothing: twice as long, capped */
	if (r != 0 || logs_lines_ingested(dm->logs) != before)
		next = DAEMON_LOGS_INTERVAL_MS / 1000.;
	else
		next = w->repeat * 2 < DAEMON_LOGS_IDLE_MAX_MS / 1000.
		               ? w->repeat * 2
		               : DAEMON_LOGS_IDLE_MAX_MS / 1000.;
	if (next != w->repeat) {
		w->repeat = next;
		ev_timer_again(loop, w);
	}
}

static void start_logs(struct daemon *dm)
{
	struct diag d = { 0 };

	/* Logs are evidence, not a reason to refuse to start: say why they are off. */
	if (logs_open(&dm->conf, &dm->logs, &d) < 0) {
		log_warn("log tailing is off: %s", d.msg);
		dm->logs = NULL;
		return;
	}
	logs_set_budget(dm->logs, DAEMON_LOGS_BUDGET);
	ctl_server_register(dm->ctl, "logs", logs_ctl_query, dm->logs);
	ctl_server_register(dm->ctl, "log_patterns", logs_ctl_patterns, dm->logs);
	ev_timer_init(&dm->logs_timer, on_logs, 0., DAEMON_LOGS_INTERVAL_MS / 1000.);
	dm->logs_timer.data = dm;
	ev_timer_start(dm->loop, &dm->logs_timer);
}

int daemon_open(struct daemon *dm, const char *conf_path, struct diag *d)
{
	int r;

	/* Fixed malloc thresholds. Left dynamic, glibc raises both to the size of the largest
	 * block freed from mmap, and loading the BPF objects frees multi-MiB BTF buffers: from
	 * then on blocks up to that size come from the heap and the heap's free top is never
	 * returned, so RSS rose by ~1.5 MiB between two flushes' malloc_trim() and fell
	 * back. With 128 KiB (glibc's starting values) big blocks are mapped and unmapped on
	 * their own and free() gives the heap's top back as it goes. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	memset(dm, 0, sizeof(*dm));
	dm->conf_path = conf_path ? xstrdup(conf_path) : NULL;
	buf_init(&dm->scratch, (size_t)64 * 1024);
	if (edge_conf_load(&dm->conf, conf_path) != 0) {
		free(dm->conf_path);
		return diag_set(d, -EINVAL, "bad configuration");
	}
	dm->loop = ev_default_loop(EVFLAG_AUTO);
	if (!dm->loop) {
		r = diag_set(d, -ENOMEM, "cannot create the event loop");
		goto out_conf;
	}
	dm->started_ms = now_ms();
	hostinfo_probe(&dm->host);
	/* The socket first: a second daemon is told another one answers there. */
	r = ctl_server_open(dm->conf.control_socket, &dm->ctl, d);
	if (r < 0)
		goto out_conf;
	r = open_store(dm, d);
	if (r < 0)
		goto out_ctl;
	r = start_collectors(dm, d);
	if (r < 0)
		goto out_store;
	r = start_http(dm, d);
	if (r < 0)
		goto out_collectors;
	{
		/* Change events are evidence, not a reason to refuse to start. */
		struct diag cd = { 0 };
		if (change_open(&dm->conf, &dm->changes, &cd) < 0)
			log_warn("change events are off: %s", cd.msg);
	}
	/* A bad rule is bad configuration: refuse to start rather than watch nothing. */
	r = alerting_start(dm->loop, &dm->conf, dm->conf_path, dm->db, &dm->alerting, d);
	if (r < 0) {
		change_close(dm->changes);
		http_metrics_stop(dm->http);
		goto out_collectors;
	}
	/* Loading BPF objects parses the kernel's BTF (megabytes, freed right after); give
	 * those pages back instead of carrying them in the heap for the daemon's life. */
	malloc_trim(0);
	/* Likewise the libraries' relocation tables, read once when they were loaded. */
	reloc_pages_release();
	ctl_server_register(dm->ctl, "status", ctl_status, dm);
	ctl_server_register(dm->ctl, "flush", ctl_flush, dm);
	ctl_server_register(dm->ctl, "query", ctl_query, dm);
	ctl_server_register(dm->ctl, "tcp_flows", ctl_tcp_flows, dm);
	ctl_server_register(dm->ctl, "investigate", ctl_investigate, dm);
	ctl_server_register(dm->ctl, "alerts", ctl_alerts, dm);
	start_logs(dm);
	ev_io_init(&dm->ctl_io, on_ctl, ctl_server_fd(dm->ctl), EV_READ);
	dm->ctl_io.data = dm;
	ev_io_start(dm->loop, &dm->ctl_io);
	start_timers(dm);
	ev_timer_init(&dm->flush_timer, on_flush, (double)dm->conf.tsdb_flush_interval_ms / 1000.,
	              (double)dm->conf.tsdb_flush_interval_ms / 1000.);
	dm->flush_timer.data = dm;
	ev_timer_start(dm->loop, &dm->flush_timer);
	ev_timer_init(&dm->maintain_timer, on_maintain, DAEMON_MAINTAIN_INTERVAL_MS / 1000.,
	              DAEMON_MAINTAIN_INTERVAL_MS / 1000.);
	dm->maintain_timer.data = dm;
	ev_timer_start(dm->loop, &dm->maintain_timer);
	ev_signal_init(&dm->sigterm, on_signal, SIGTERM);
	ev_signal_init(&dm->sigint, on_signal, SIGINT);
	ev_signal_init(&dm->sighup, on_signal, SIGHUP);
	dm->sigterm.data = dm->sigint.data = dm->sighup.data = dm;
	ev_signal_start(dm->loop, &dm->sigterm);
	ev_signal_start(dm->loop, &dm->sigint);
	ev_signal_start(dm->loop, &dm->sighup);
	(void)signal(SIGPIPE, SIG_IGN);
	return 0;

out_collectors:
	collector_set_stop(&dm->set);
out_store:
	tsdb_close(dm->db);
out_ctl:
	ctl_server_close(dm->ctl);
out_conf:
	edge_conf_release(&dm->conf);
	free(dm->conf_path);
	buf_release(&dm->scratch);
	return r;
}

int daemon_run(struct daemon *dm)
{
	size_t on = 0;

	for (size_t i = 0; i < dm->set.n; i++)
		on += dm->set.slots[i].on;
	log_info("running: %zu of %zu collectors on, every %llds; control socket '%s'%s%s", on,
	         dm->set.n, (long long)dm->conf.collect_interval_ms / 1000, dm->conf.control_socket,
	         dm->http ? ", /metrics on " : "", dm->http ? dm->conf.metrics_listen : "");
	ev_run(dm->loop, 0);
	return 0;
}

void daemon_close(struct daemon *dm)
{
	struct diag d = { 0 };

	ev_timer_stop(dm->loop, &dm->collect_timer);
	ev_timer_stop(dm->loop, &dm->flush_timer);
	ev_timer_stop(dm->loop, &dm->maintain_timer);
	ev_io_stop(dm->loop, &dm->ctl_io);
	ev_signal_stop(dm->loop, &dm->sigterm);
	ev_signal_stop(dm->loop, &dm->sigint);
	ev_signal_stop(dm->loop, &dm->sighup);
	http_metrics_stop(dm->http);
	ctl_server_close(dm->ctl);
	collector_set_stop(&dm->set);
	change_close(dm->changes);
	alerting_stop(dm->alerting);
	if (dm->logs) {
		ev_timer_stop(dm->loop, &dm->logs_timer);
		logs_close(dm->logs); /* commits what was read */
	}
	if (tsdb_flush(dm->db, &d) < 0)
		log_err("cannot flush the time-series store at exit: %s", d.msg);
	else
		log_info("time-series store flushed");
	tsdb_close(dm->db);
	if (dm->have_last)
		snapshot_release(&dm->last);
	buf_release(&dm->scratch);
	edge_conf_release(&dm->conf);
	free(dm->conf_path);
}
