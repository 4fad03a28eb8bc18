/* collector.h - one interface for every collector, eBPF or procfs.
 *
 * A collector starts once (loading its BPF programs or opening its files), then adds its
 * samples to a snapshot once per collection round, and stops at shutdown. start() may
 * refuse: the host has no BTF, we are not root, a file is missing. It then says why in
 * one line, the collector stays off, and `ongrid-edge status` shows the reason; the
 * edge keeps running with what it has. An eBPF collector names the procfs collector that
 * covers for it (`fallback`), so the status says what still measures the same thing.
 *
 * Each collector is one file in edge/collect/ and one entry in registry.c.
 */
#ifndef ONGRID_COLLECTOR_H
#define ONGRID_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/collect/snapshot.h"
#include "edge/edge.h"
#include "edge/hostinfo.h"
#include "shared/diag.h"

struct collect_env {
	const struct hostinfo *host;
	const struct edge_conf *conf;
};

struct collector {
	const char *name;     /* "runqlat" */
	const char *kind;     /* "ebpf" or "procfs" */
	const char *summary;  /* one line: what it measures */
	const char *fallback; /* for eBPF collectors: the procfs collector covering for it */
	/* Start. On success set *ret_state (may be NULL) and return 0; otherwise return a
	 * negative errno and put the reason in why (e.g. "needs root (CAP_BPF)"). */
	int (*start)(const struct collect_env *env, void **ret_state, struct diag *why);
	/* One round: add this collector's samples to out. Errors are counted and shown in
	 * status, never fatal. */
	int (*collect)(void *state, struct snapshot *out, int64_t now_ms);
	void (*stop)(void *state); /* NULL-safe on state */
};

/* The set of collectors a process runs, with each one's state. */
struct collector_slot {
	const struct collector *c;
	void *state;
	bool on;
	char why[ONGRID_DIAG_MAX]; /* why off ("disabled in config" when not selected) */
	uint64_t rounds, errors;
	int64_t last_ms, last_duration_us;
};

struct collector_set {
	struct collector_slot *slots;
	size_t n;
};

/* The registry: every collector ongrid has, in display order. */
const struct collector *const *collectors_all(size_t *ret_n);

/* Start every collector whose name is in `only` (comma-separated; NULL = all) and not in
 * `disabled`. Unknown names in either list are an error (-EINVAL, d names them). */
int collector_set_start(struct collector_set *set, const struct collect_env *env, const char *only,
                        const struct conf_strlist *disabled, struct diag *d);
void collector_set_collect(struct collector_set *set, struct snapshot *out, int64_t now_ms);
/* [{"name","kind","on","why","fallback","rounds","errors","last_duration_us"}...] */
cJSON *collector_set_json(const struct collector_set *set);
void collector_set_stop(struct collector_set *set);

/* The tcp collector's flows (bpf/tcp.h: a local process's connections to one peer
 * address:port, active opens), for the local topology: [{"process", "peer", "peer_addr",
 * "peer_port", "connections", "failures", "connect_ms", "bytes_sent", "bytes_received",
 * "retransmits", "idle_s"}...], those idle for max_idle_s or longer
 * left out. -ENOENT with d saying why when the collector is off. */
int tcp_flows_json(const struct collector_set *set, int64_t max_idle_s, cJSON **ret,
                   struct diag *d);

#endif
