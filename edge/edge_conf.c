/* edge_conf.c - every key of edge.conf, its type, default and meaning. docs/config-edge.md
 * is generated from this table (`ongrid-edge config --doc`), and a test keeps them equal. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tools/gate.h"
#include "shared/alloc.h"
#include "shared/log.h"
#include "shared/banned.h"

#define K(name, type, def, field, doc)                                              \
	{                                                                           \
		name, type, def, offsetof(struct edge_conf, field), doc, 0, 0, NULL \
	}
#define KC(name, def, field, choices, doc)                                                    \
	{                                                                                     \
		name, CONF_STRING, def, offsetof(struct edge_conf, field), doc, 0, 0, choices \
	}

static const struct conf_key keys[] = {
	K("name", CONF_STRING, NULL, name,
	  "Name of this host in reports and at the relay; the kernel's hostname when unset."),
	K("data_dir", CONF_STRING, "/var/lib/ongrid", data_dir,
	  "Directory for the edge's state: time series, log index, timeline and outbox."),
	K("control_socket", CONF_STRING, "/run/ongrid/edge.sock", control_socket,
	  "Unix socket the CLI uses to reach a running daemon (mode 0600, root only)."),
	{ "collect.interval", CONF_DURATION, "10s", offsetof(struct edge_conf, collect_interval_ms),
	  "How often the collectors run; each round is stored and served on /metrics.", 1000,
	  3600000, NULL },
	K("collect.disable", CONF_STRLIST, NULL, collect_disable,
	  "Collectors not to start, by name (`ongrid-edge status` lists them)."),
	{ "collect.top_processes", CONF_INT, "10",
	  offsetof(struct edge_conf, collect_top_processes),
	  "The proc collector reports this many processes by CPU and this many by memory.", 1, 100,
	  NULL },
	K("metrics.enabled", CONF_BOOL, "true", metrics_enabled,
	  "Serve the latest samples in Prometheus text format on metrics.listen."),
	K("metrics.listen", CONF_STRING, "127.0.0.1:9256", metrics_listen,
	  "Address of the /metrics endpoint, HOST:PORT; loopback unless you mean otherwise."),
	{ "tsdb.retention", CONF_DURATION, "15d", offsetof(struct edge_conf, tsdb_retention_ms),
	  "Samples older than this are dropped from the time-series store.", 3600000,
	  3153600000000LL, NULL },
	{ "tsdb.max_bytes", CONF_SIZE, "256MiB", offsetof(struct edge_conf, tsdb_max_bytes),
	  "Disk budget of the time-series store; the oldest data goes first.", 1 << 20, 1LL << 40,
	  NULL },
	{ "tsdb.flush_interval", CONF_DURATION, "1m",
	  offsetof(struct edge_conf, tsdb_flush_interval_ms),
	  "How often the store is written to disk: the most a crash can lose.", 1000, 3600000,
	  NULL },
	K("relay.url", CONF_STRING, "", relay_url,
	  "The relay's WebSocket URL (wss://relay.example.net:8443/); unset: stand-alone, no "
	  "tunnel."),
	K("relay.access_key", CONF_STRING, "", relay_access_key,
	  "This edge's access key (ogk_...), printed by `ongrid-relay keys create`."),
	K("relay.secret_key", CONF_STRING, "", relay_secret_key,
	  "This edge's secret (ogs_...); it signs the relay's challenge and never leaves the "
	  "host. Keep the file mode 0600."),
	K("relay.fingerprint", CONF_STRING, "", relay_fingerprint,
	  "SHA-256 fingerprint of the relay's certificate (sha256:...); the tunnel refuses any "
	  "other certificate."),
	K("relay.insecure", CONF_BOOL, "false", relay_insecure,
	  "Allow a plain ws:// URL, or wss:// without a fingerprint. Tests and trusted links "
	  "only; logged at every connect."),
	K("relay.labels", CONF_STRLIST, NULL, relay_labels,
	  "Labels shown for this edge at the relay, as \"key=value\" items."),
	{ "relay.backoff_max", CONF_DURATION, "60s",
	  offsetof(struct edge_conf, relay_backoff_max_ms),
	  "Longest wait between reconnect attempts (exponential backoff with jitter from 500ms).",
	  1000, 3600000, NULL },
	{ "relay.topology_interval", CONF_DURATION, "60s",
	  offsetof(struct edge_conf, relay_topology_interval_ms),
	  "How often the tunnel sends this host's service graph (its TCP connections and "
	  "listeners, `ongrid-edge topology`) for the relay to merge; it is also sent at every "
	  "connect. 0: at connect only.",
	  0, 86400000, NULL },
	{ "outbox.max_rows", CONF_INT, "100000", offsetof(struct edge_conf, outbox_max_rows),
	  "Messages (reports, alerts, approvals, topology) kept on disk while the relay is away; "
	  "past this, new ones are refused.",
	  100, 10000000, NULL },
	KC("log.level", "info", log_level, "err|warn|info|debug", "How much the daemon logs."),
	KC("log.format", "text", log_format, "text|journal",
	   "text: timestamped lines; journal: <N> priority prefixes that journald reads."),
	K("logs.paths", CONF_STRLIST, NULL, logs_paths,
	  "Files to tail, as globs (\"/var/log/*.log\"); new matches are picked up as they "
	  "appear."),
	K("logs.labels", CONF_STRLIST, NULL, logs_labels,
	  "Extra labels on every log stream, as \"key=value\" items."),
	{ "logs.max_bytes", CONF_SIZE, "256MiB", offsetof(struct edge_conf, logs_max_bytes),
	  "Disk budget of the log index; the oldest segments go first.", 1 << 20, 1LL << 40, NULL },
	{ "logs.retention", CONF_DURATION, "7d", offsetof(struct edge_conf, logs_retention_ms),
	  "Log lines older than this are dropped from the index.", 60000, 31536000000LL, NULL },
	K("logs.journal", CONF_BOOL, "true", logs_journal,
	  "Read the systemd journal where it exists (/var/log/journal or /run/log/journal)."),
	{ "logs.max_line", CONF_SIZE, "16KiB", offsetof(struct edge_conf, logs_max_line),
	  "Longer lines are cut to this size and marked with a trailing \"…[truncated]\".", 256,
	  1 << 20, NULL },
	K("tools.roles.viewer", CONF_STRLIST, "safe-read", tools_roles_viewer,
	  "Tool classes the viewer role may call (safe-read, safe-write, dangerous)."),
	K("tools.roles.operator", CONF_STRLIST, "safe-read, safe-write", tools_roles_operator,
	  "Tool classes the operator role may call."),
	K("tools.roles.admin", CONF_STRLIST, "safe-read, safe-write, dangerous", tools_roles_admin,
	  "Tool classes the admin role may call; dangerous calls still wait for an approval."),
	K("tools.double_sign", CONF_BOOL, "false", tools_double_sign,
	  "A dangerous call needs two distinct approvers, neither of them the requester."),
	{ "tools.approval_ttl", CONF_DURATION, "30m",
	  offsetof(struct edge_conf, tools_approval_ttl_ms),
	  "A pending dangerous call expires if not approved within this time.", 60000,
	  7LL * 24 * 3600 * 1000, NULL },
	K("tools.approvers", CONF_STRLIST, NULL, tools_approvers,
	  "Names allowed to approve or deny dangerous calls; empty = anyone who can reach the "
	  "edge's CLI or chat."),
	{ "tools.bash_timeout", CONF_DURATION, "10s",
	  offsetof(struct edge_conf, tools_bash_timeout_ms),
	  "Wall time of one bash tool call; the whole process group is killed after it.", 100,
	  300000, NULL },
	{ "tools.output_max", CONF_SIZE, "64KiB", offsetof(struct edge_conf, tools_output_max),
	  "Output (stdout and stderr) one tool call may return; the rest is cut and marked.", 1024,
	  1 << 20, NULL },
	K("tools.read_paths", CONF_STRLIST, NULL, tools_read_paths,
	  "Directories whose files the bash tool's readers (cat, grep ...) may read; empty = "
	  "anywhere not denied."),
	K("tools.deny_paths", CONF_STRLIST, NULL, tools_deny_paths,
	  "Places no tool may read or list, besides the built-in ones (shadow files, .ssh, keys)."),
	K("tools.restart_commands", CONF_STRLIST, NULL, tools_restart_commands,
	  "\"unit=command\" items: how restart_service restarts a service when systemd is not "
	  "PID 1; tried before tools.init_dir (the command runs without a shell)."),
	K("tools.init_dir", CONF_STRING, "/etc/init.d", tools_init_dir,
	  "Where restart_service looks for NAME init scripts when systemd is not PID 1."),
	K("changes.watch", CONF_STRLIST, "/etc", changes_watch,
	  "Directories whose file writes are change events (subdirectories included, up to "
	  "1024 directories in all): configuration and deploy directories."),
	K("changes.bin_dirs", CONF_STRLIST, "/usr/bin, /usr/sbin, /usr/local/bin", changes_bin_dirs,
	  "Directories where a binary written or moved into place is a \"binary replaced\" "
	  "event."),
	K("changes.dpkg_log", CONF_STRING, "/var/log/dpkg.log", changes_dpkg_log,
	  "dpkg's log: package installs, removals and upgrades."),
	K("changes.apt_log", CONF_STRING, "/var/log/apt/history.log", changes_apt_log,
	  "apt's history: the command line behind each package change."),
	K("changes.auth_log", CONF_STRING, "/var/log/auth.log", changes_auth_log,
	  "sshd and login lines (accepted logins, sudo sessions)."),
	K("changes.wtmp", CONF_STRING, "/var/log/wtmp", changes_wtmp,
	  "Login records (utmp format)."),
	K("changes.kmsg", CONF_BOOL, "true", changes_kmsg,
	  "Read the kernel ring buffer (/dev/kmsg) for OOM kills, I/O errors and link changes, "
	  "and rtnetlink for links going up and down."),
	{ "changes.retention", CONF_DURATION, "30d",
	  offsetof(struct edge_conf, changes_retention_ms),
	  "Change events older than this are deleted.", 3600000, 31536000000LL, NULL },
	/* alerts.*: edge/alert_rules.c, edge/alerting.c, docs/alerts.md */
	K("alerts.rules_file", CONF_STRING, "", alerts_rules_file,
	  "Local alert rules (libconfig: rules = ( { name; expr; for; severity; summary; } ); "
	  "see docs/alerts.md); a rule named like a built-in one replaces it. Empty: the "
	  "built-in rules only."),
	K("alerts.default_rules", CONF_BOOL, "true", alerts_default_rules,
	  "Evaluate the built-in rules (run-queue p99, disk full and fill ETA, TCP retransmit "
	  "ratio, crash loops, memory pressure), chosen to stay quiet on a healthy host."),
	{ "alerts.interval", CONF_DURATION, "15s", offsetof(struct edge_conf, alerts_interval_ms),
	  "How often the rules are evaluated against the local store; 0 turns local alerting "
	  "off.",
	  0, 3600000, NULL },
	K("alerts.investigate", CONF_BOOL, "true", alerts_investigate,
	  "A rule that starts firing runs `ongrid-edge investigate` on it; the report goes to "
	  "the relay with the alert."),
	K("kb.dir", CONF_STRING, "/etc/ongrid/runbooks", kb_dir,
	  "Directory of runbooks (Markdown or text, subdirectories included) that kb_search "
	  "ranks for a query."),
	KC("agent.mode", "auto", agent_mode, "auto|offline|llm",
	   "How `investigate` reasons: offline (fixed rules, no model), llm (a model through the "
	   "relay; fails when there is none) or auto (the model when the relay answers, else "
	   "offline)."),
	{ "agent.window", CONF_DURATION, "10m", offsetof(struct edge_conf, agent_window_ms),
	  "How far back an investigation looks for metrics that moved, log spikes and changes.",
	  60000, 86400000, NULL },
	{ "agent.deadline", CONF_DURATION, "3s", offsetof(struct edge_conf, agent_deadline_ms),
	  "Wall time of the offline planner's evidence gathering; what is not done by then is "
	  "left out and the report says so.",
	  500, 600000, NULL },
	{ "agent.llm_deadline", CONF_DURATION, "120s",
	  offsetof(struct edge_conf, agent_llm_deadline_ms),
	  "Wall time of an investigation with a model, round trips included.", 1000, 3600000,
	  NULL },
	{ "agent.max_steps", CONF_INT, "40", offsetof(struct edge_conf, agent_max_steps),
	  "Tool calls one investigation may make, all specialists together; past it the "
	  "coordinator forces a conclusion from what it has.",
	  4, 500, NULL },
	{ "agent.max_tokens", CONF_INT, "60000", offsetof(struct edge_conf, agent_max_tokens),
	  "Model tokens (input and output) one investigation may spend; past it the coordinator "
	  "forces a conclusion.",
	  1000, 10000000, NULL },
};

const struct conf_table edge_conf_table = {
	.daemon = "edge",
	.default_path = "/etc/ongrid/edge.conf",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
};

static int validate(struct edge_conf *c, struct diag *d)
{
	enum log_level lvl;

	if (log_level_parse(c->log_level, &lvl) < 0)
		return diag_set(d, -EINVAL,
		                "log.level: expected err, warn, info or debug, got '%s'",
		                c->log_level);
	if (strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "journal") != 0)
		return diag_set(d, -EINVAL, "log.format: expected text or journal, got '%s'",
		                c->log_format);
	if (!c->name || !*c->name) {
		char host[256];
		if (gethostname(host, sizeof(host)) < 0)
			return diag_set(d, -errno, "cannot read hostname");
		host[sizeof(host) - 1] = '\0';
		free(c->name);
		c->name = xstrdup(host);
	}
	if (gate_conf_check(c, d) < 0)
		return d->code;
	log_setup(lvl, c->log_format[0] == 'j' ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT,
	          "ongrid-edge");
	return 0;
}

int edge_conf_load(struct edge_conf *c, const char *path)
{
	struct diag d = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	r = conf_load(&edge_conf_table, c, path, &d);
	if (r == 0)
		r = validate(c, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge: %s\n", d.msg);
		return 2;
	}
	return 0;
}

void edge_conf_release(struct edge_conf *c)
{
	conf_release(&edge_conf_table, c);
}
