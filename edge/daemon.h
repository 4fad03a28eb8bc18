/* daemon.h - the state of a running `ongrid-edge run`, passed explicitly (no globals).
 *
 * One libev loop owns everything: a timer runs a collection round every
 * collect.interval (collectors -> snapshot -> time-series store, and the snapshot is kept
 * for /metrics), another flushes the store every tsdb.flush_interval, a third applies
 * retention; the control socket and the /metrics server are fds on the same loop.
 * SIGTERM and SIGINT stop the loop and the store is flushed on the way out; SIGHUP
 * reloads the configuration (a bad file leaves the running one in place).
 */
#ifndef ONGRID_DAEMON_H
#define ONGRID_DAEMON_H

#include <stdint.h>

#include <ev.h>

#include "edge/alerting.h"
#include "edge/logs/logs.h"
#include "edge/collect/collector.h"
#include "edge/ctl.h"
#include "edge/edge.h"
#include "edge/hostinfo.h"
#include "edge/http_metrics.h"
#include "edge/tsdb/tsdb.h"
#include "shared/buf.h"

/* Buckets of ongrid_edge_round_duration_seconds, the edge's own histogram. */
#define DAEMON_ROUND_BUCKETS 10

struct daemon {
	struct ev_loop *loop;
	char *conf_path; /* NULL: the default path */
	struct edge_conf conf;
	struct hostinfo host;
	struct collector_set set;
	struct tsdb *db;
	struct ctl_server *ctl;
	struct http_metrics *http;
	struct snapshot last; /* the latest round, served on /metrics */
	bool have_last;
	ev_timer collect_timer, flush_timer, maintain_timer;
	ev_io ctl_io;
	ev_signal sigterm, sigint, sighup;
	int64_t started_ms;
	uint64_t rounds, append_errors, flushes, flush_errors;
	uint64_t round_buckets[DAEMON_ROUND_BUCKETS], round_overflow;
	double round_sum_s;
	struct buf scratch;        /* /proc/self/status, reused */
	struct change *changes;    /* edge/change.h, polled every round; NULL when off */
	struct alerting *alerting; /* edge/alerting.h: local alert rules; NULL when off */
	struct logs *logs;         /* edge/logs/logs.h: tailing and index; NULL when off */
	ev_timer logs_timer;
};

/* Load the configuration, open the store, start the collectors, the control socket and
 * /metrics. Errors name what failed; -EINVAL means bad configuration (exit 2). */
int daemon_open(struct daemon *dm, const char *conf_path, struct diag *d);
/* Run until SIGTERM/SIGINT. Returns 0. */
int daemon_run(struct daemon *dm);
/* Stop everything and flush the store. */
void daemon_close(struct daemon *dm);

#endif
