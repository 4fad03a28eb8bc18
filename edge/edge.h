/* edge.h - the edge's configuration and the command table entry points. */
#ifndef ONGRID_EDGE_H
#define ONGRID_EDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/conf.h"
#include "shared/diag.h"

/* Every field is set from edge_conf_table (edge_conf.c), the one list of keys. */
struct edge_conf {
	char *name;     /* this host's name in reports and at the relay */
	char *data_dir; /* state: tsdb, logs index, timeline, outbox */
	char *log_level;
	char *log_format;
	char *control_socket;
	/* collect.* and metrics.*: edge/collect/, edge/daemon.c, edge/http_metrics.c */
	int64_t collect_interval_ms;         /* one collection round every this often */
	struct conf_strlist collect_disable; /* collector names not to start */
	int64_t collect_top_processes;       /* the proc collector's N */
	bool metrics_enabled;                /* serve /metrics */
	char *metrics_listen;                /* "127.0.0.1:9256" */
	/* tsdb.*: the store the daemon opens under data_dir/tsdb */
	int64_t tsdb_retention_ms;
	uint64_t tsdb_max_bytes;
	int64_t tsdb_flush_interval_ms;
	/* relay.* and outbox.*: edge/tunnel.c, edge/outbox.c */
	char *relay_url;                    /* wss://host:port/; empty = stand-alone */
	char *relay_access_key;             /* "ogk_..." from `ongrid-relay keys create` */
	char *relay_secret_key;             /* "ogs_..."; never sent, only used to sign */
	char *relay_fingerprint;            /* "sha256:..." of the relay's certificate */
	bool relay_insecure;                /* allow ws:// and an unpinned certificate */
	struct conf_strlist relay_labels;   /* "key=value" labels shown at the relay */
	int64_t relay_backoff_max_ms;       /* reconnect delay cap */
	int64_t relay_topology_interval_ms; /* topology.report period; 0 = at connect only */
	int64_t outbox_max_rows;            /* messages kept while the relay is away */
	/* logs.*: edge/logs/ (tailing, index, patterns) */
	struct conf_strlist logs_paths;  /* globs of files to tail */
	struct conf_strlist logs_labels; /* "key=value" labels added to every stream */
	uint64_t logs_max_bytes;         /* disk budget of the log index */
	int64_t logs_retention_ms;       /* lines older than this are dropped */
	bool logs_journal;               /* read the systemd journal where present */
	uint64_t logs_max_line;          /* longer lines are cut and marked */
	/* tools.*: edge/tools/ (gate, approvals, bash sandbox) */
	struct conf_strlist tools_roles_viewer; /* classes each role may call */
	struct conf_strlist tools_roles_operator;
	struct conf_strlist tools_roles_admin;
	bool tools_double_sign;                     /* dangerous needs two distinct approvers */
	int64_t tools_approval_ttl_ms;              /* a pending approval expires after this */
	struct conf_strlist tools_approvers;        /* who may approve; empty = anyone */
	int64_t tools_bash_timeout_ms;              /* wall time of one bash call */
	uint64_t tools_output_max;                  /* raw output bytes one call may return */
	struct conf_strlist tools_read_paths;       /* where readers may read; empty = anywhere */
	struct conf_strlist tools_deny_paths;       /* extra denied places */
	struct conf_strlist tools_restart_commands; /* "unit=command" for restart_service */
	char *tools_init_dir;                       /* init scripts without systemd */
	/* changes.* and kb.*: edge/change.c, tools/builtin/kb_search.c */
	struct conf_strlist changes_watch;    /* directories whose writes are events */
	struct conf_strlist changes_bin_dirs; /* binaries replaced here are events */
	char *changes_dpkg_log, *changes_apt_log, *changes_auth_log, *changes_wtmp;
	bool changes_kmsg;
	int64_t changes_retention_ms;
	char *kb_dir; /* runbooks for kb_search */
	/* agent.*: edge/agent/ (investigations) */
	char *agent_mode;              /* "auto", "offline", "llm" */
	int64_t agent_window_ms;       /* how far back evidence is read */
	int64_t agent_deadline_ms;     /* offline planner wall time */
	int64_t agent_llm_deadline_ms; /* with a model */
	int64_t agent_max_steps;       /* tool calls per investigation */
	int64_t agent_max_tokens;      /* model tokens per investigation */
	/* alerts.*: edge/alert_rules.c, edge/alerting.c (local alert rules) */
	char *alerts_rules_file; /* "": the built-in rules only */
	int64_t alerts_interval_ms;
	bool alerts_default_rules; /* load the built-in rules */
	bool alerts_investigate;   /* a firing rule starts `ongrid-edge investigate` */
};

extern const struct conf_table edge_conf_table;

/* Load the configuration for a command: -c path (or NULL for the default) plus the
 * environment. Prints the error and returns its exit status (2) on bad input, else 0. */
int edge_conf_load(struct edge_conf *c, const char *path);
void edge_conf_release(struct edge_conf *c);

/* Commands (edge/cmd_*.c). Each gets argv starting at the command name and returns the
 * process exit status: 0 success, 1 run-time failure, 2 bad usage or input. */
int cmd_status(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_run(int argc, char **argv);         /* edge/cmd_run.c */
int cmd_query(int argc, char **argv);       /* edge/cmd_query.c */
int cmd_connect(int argc, char **argv);     /* edge/cmd_connect.c */
int cmd_outbox(int argc, char **argv);      /* edge/cmd_connect.c */
int cmd_alerts(int argc, char **argv);      /* edge/cmd_alerts.c */
int cmd_logs(int argc, char **argv);        /* edge/cmd_logs.c */
int cmd_tail(int argc, char **argv);        /* edge/cmd_logs.c */
int cmd_patterns(int argc, char **argv);    /* edge/cmd_logs.c */
int cmd_tools(int argc, char **argv);       /* edge/cmd_tools.c */
int cmd_tool(int argc, char **argv);        /* edge/cmd_tool.c */
int cmd_approve(int argc, char **argv);     /* edge/cmd_approve.c */
int cmd_topology(int argc, char **argv);    /* edge/cmd_topology.c */
int cmd_deny(int argc, char **argv);        /* edge/cmd_approve.c */
int cmd_investigate(int argc, char **argv); /* edge/cmd_investigate.c */
/* Shared by cmd_tool.c and cmd_approve.c: the caller's name (--as, SUDO_USER, login) and
 * printing a gate result (returns the exit status). */
const char *cmd_tool_identity(const char *as);
int cmd_tool_print(const cJSON *res, bool json);

#endif
