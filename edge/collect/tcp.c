/* tcp.c - TCP per peer: connect latency, connection lifetime, failed connects,
 * retransmits, resets sent and received, smoothed RTT (bpf/tcp.bpf.c).
 *
 * A peer is the remote address of a connection, without the port: a client's ports are
 * ephemeral, and per address is what an operator asks about ("is the database host
 * dropping packets?"). peer="other" takes the addresses past the kernel map's capacity.
 * So that a server whose clients come and go does not fill the map with departed ones
 * for good, a peer with no new event for TCP_PEER_IDLE_MS is deleted once the map is
 * three-quarters full: its series end, and a later event starts them again from zero.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "bpf/tcp.h"
#if ONGRID_BPF
#include "tcp.skel.h"
#endif
#include "shared/banned.h"

/* _unused_: a BPF=0 build has no reader, so nothing refers to these. */
static const struct metric_desc m_connect _unused_ = {
	"ongrid_tcp_connect_latency_seconds", METRIC_HISTOGRAM,
	"time from SYN sent to connection established, per peer"
};
static const struct metric_desc m_lifetime _unused_ = {
	"ongrid_tcp_connection_lifetime_seconds", METRIC_HISTOGRAM,
	"time from established to closed, per peer"
};
static const struct metric_desc m_failures _unused_ = {
	"ongrid_tcp_connect_failures_total", METRIC_COUNTER,
	"connects that closed before being established (refused, reset, timed out), per peer"
};
static const struct metric_desc m_retrans _unused_ = { "ongrid_tcp_retransmits_total",
	                                               METRIC_COUNTER,
	                                               "TCP segments retransmitted, per peer" };
static const struct metric_desc m_rst_sent _unused_ = { "ongrid_tcp_resets_sent_total",
	                                                METRIC_COUNTER,
	                                                "TCP resets sent, per peer" };
static const struct metric_desc m_rst_recv _unused_ = { "ongrid_tcp_resets_received_total",
	                                                METRIC_COUNTER,
	                                                "TCP resets received, per peer" };
static const struct metric_desc m_srtt _unused_ = {
	"ongrid_tcp_srtt_seconds", METRIC_GAUGE,
	"smoothed RTT last sampled for a connection to the peer (at establish, retransmit, close)"
};

/* A peer idle this long may be deleted when the map fills up. */
#define TCP_PEER_IDLE_MS ((int64_t)10 * 60 * 1000)

/* What the edge last saw of a peer, to tell idle peers from active ones. */
struct peer_seen {
	struct peer_key key;
	uint64_t events;    /* sum of the peer's counters and histogram counts */
	int64_t changed_ms; /* monotonic time events last changed */
	bool present;       /* found in the map this round */
	UT_hash_handle hh;
};

struct tcp {
#if ONGRID_BPF
	struct tcp_bpf *skel;
#endif
	struct peer_seen *seen;
};

static void forget_peers(struct tcp *t)
{
	struct peer_seen *p = t->seen, *next;

	/* Free the table, then walk the elements' own list: no HASH_DEL per element. */
	HASH_CLEAR(hh, t->seen);
	for (; p; p = next) {
		next = p->hh.next;
		free(p);
	}
}

static void tcp_stop(void *state)
{
	struct tcp *t = state;

	if (!t)
		return;
#if ONGRID_BPF
	tcp_bpf__destroy(t->skel);
#endif
	forget_peers(t);
	free(t);
}

static int tcp_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	int r = ebpf_check(env, why);

	if (r < 0)
		return r;
#if ONGRID_BPF
	const struct tcp_peer zero = { 0 };
	struct peer_key other = { 0 };
	struct tcp *t;

	if (!ebpf_tp_btf_ok("inet_sock_set_state"))
		return diag_set(why, -EOPNOTSUPP,
		                "the kernel does not load tp_btf/inet_sock_set_state programs");
	t = xcalloc(1, sizeof(*t));
	t->skel = tcp_bpf__open();
	if (!t->skel) {
		r = ebpf_fail(why, -errno, "open");
		goto out_stop;
	}
	r = tcp_bpf__load(t->skel);
	if (r < 0) {
		ebpf_fail(why, r, "load");
		goto out_stop;
	}
	ebpf_release_object_bytes(t->skel->skeleton);
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.peers), &other, &zero, BPF_ANY) < 0) {
		r = ebpf_fail(why, -errno, "initialise the maps of");
		goto out_stop;
	}
	r = tcp_bpf__attach(t->skel);
	if (r < 0) {
		ebpf_fail(why, r, "attach");
		goto out_stop;
	}
	*ret_state = t;
	return 0;

out_stop:
	tcp_stop(t);
	return r;
#else
	(void)ret_state;
	return -EOPNOTSUPP;
#endif
}

#if ONGRID_BPF
static void export_peer(struct snapshot *out, const char *peer, const struct tcp_peer *p)
{
	const struct label l = { "peer", peer };

	if (hist_count(&p->connect))
		ebpf_export_hist(out, &m_connect, &l, 1, &p->connect, 1e-6, 1e-9, 0);
	if (hist_count(&p->lifetime))
		ebpf_export_hist(out, &m_lifetime, &l, 1, &p->lifetime, 1e-3, 1e-3, 0);
	snapshot_add(out, &m_failures, &l, 1, (double)p->connect_failures);
	snapshot_add(out, &m_retrans, &l, 1, (double)p->retransmits);
	snapshot_add(out, &m_rst_sent, &l, 1, (double)p->resets_sent);
	snapshot_add(out, &m_rst_recv, &l, 1, (double)p->resets_received);
	if (p->srtt_samples)
		snapshot_add(out, &m_srtt, &l, 1, (double)p->srtt_last_us * 1e-6);
}
#endif

#if ONGRID_BPF
/* Note that key was in the map with this many events; returns its record. */
static struct peer_seen *seen_update(struct tcp *t, const struct peer_key *key, uint64_t events,
                                     int64_t now)
{
	struct peer_seen *p;

	HASH_FIND(hh, t->seen, key, sizeof(*key), p);
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->key = *key;
		p->events = UINT64_MAX; /* differs from anything: counts as a change */
		p->changed_ms = now;
		HASH_ADD(hh, t->seen, key, sizeof(p->key), p);
	}
	if (p->events != events) {
		p->events = events;
		p->changed_ms = now;
	}
	p->present = true;
	return p;
}

/* Drop records of peers gone from the map; when the map is 3/4 full, delete the peers
 * idle for TCP_PEER_IDLE_MS from it. */
static void sweep_peers(struct tcp *t, int fd, size_t in_map, int64_t now)
{
	bool crowded = in_map * 4 >= (size_t)TCP_MAX_PEERS * 3;
	struct peer_seen *p, *tmp;

	HASH_ITER(hh, t->seen, p, tmp)
	{
		/* p is an element HASH_ITER handed over, set up by seen_update(); cppcheck
		 * loses track of it in the macro's expansion. */
		// cppcheck-suppress uninitvar
		bool idle = now - p->changed_ms >= TCP_PEER_IDLE_MS && p->key.family != 0;
		if (p->present && crowded && idle)
			(void)bpf_map_delete_elem(fd, &p->key);
		if (!p->present || (crowded && idle)) {
			/* The analyzer assumes p is the last element and tmp another at once. */
			/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
			HASH_DEL(t->seen, p);
			free(p);
			continue;
		}
		p->present = false;
	}
}
#endif

static int tcp_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct tcp *t = state;

	(void)now_ms;
#if ONGRID_BPF
	int fd = bpf_map__fd(t->skel->maps.peers);
	int64_t now = mono_ms();
	struct peer_key key, next;
	void *prev = NULL;
	size_t n = 0;

	for (int i = 0; i <= TCP_MAX_PEERS && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		struct tcp_peer p;
		uint64_t events;
		char peer[64];

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &p) < 0)
			continue;
		n++;
		events = hist_count(&p.connect) + hist_count(&p.lifetime) + p.connect_failures +
		         p.retransmits + p.resets_sent + p.resets_received + p.srtt_samples;
		seen_update(t, &key, events, now);
		if (key.family == 0 && events == 0)
			continue; /* "other" before anything overflowed into it */
		peer_format(&key, peer, sizeof(peer));
		export_peer(out, peer, &p);
	}
	sweep_peers(t, fd, n, now);
	return 0;
#else
	(void)t;
	(void)out;
	return -EOPNOTSUPP;
#endif
}

int tcp_flows_json(const struct collector_set *set, int64_t max_idle_s, cJSON **ret, struct diag *d)
{
	const struct collector_slot *slot = NULL;

	for (size_t i = 0; i < set->n; i++)
		if (set->slots[i].c == &tcp_collector)
			slot = &set->slots[i];
	if (!slot || !slot->on)
		return diag_set(d, -ENOENT, "the tcp collector is off: %s",
		                slot ? slot->why : "not in this process");
#if ONGRID_BPF
	const struct tcp *t = slot->state;
	int fd = bpf_map__fd(t->skel->maps.flows);
	struct tcp_flow_key key, next;
	struct timespec ts;
	uint64_t now_ns;
	void *prev = NULL;
	cJSON *arr = json_arr();

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
	now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	for (int i = 0; i < TCP_MAX_FLOWS && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		struct peer_key pk = { 0 };
		struct tcp_flow f;
		char addr[64], comm[sizeof(key.comm) + 1];
		int64_t idle_s;
		cJSON *o;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &f) < 0)
			continue;
		idle_s = f.last_ns && now_ns > f.last_ns
		                 ? (int64_t)((now_ns - f.last_ns) / 1000000000u)
		                 : 0;
		if (idle_s >= max_idle_s || (!f.connections && !f.failures))
			continue;
		memcpy(pk.addr, key.addr, sizeof(pk.addr));
		pk.family = key.family;
		peer_format(&pk, addr, sizeof(addr));
		memcpy(comm, key.comm, sizeof(key.comm));
		comm[sizeof(key.comm)] = '\0';
		o = json_obj();
		json_add_str(o, "process", comm);
		json_add_str(o, "peer_addr", addr);
		json_add_num(o, "peer_port", key.port);
		json_add_num(o, "connections", (double)f.connections);
		json_add_num(o, "failures", (double)f.failures);
		json_add_num(o, "connect_ms",
		             f.connections
		                     ? (double)f.connect_us_sum / (double)f.connections / 1000.
		                     : 0.);
		json_add_num(o, "bytes_sent", (double)f.bytes_sent);
		json_add_num(o, "bytes_received", (double)f.bytes_received);
		json_add_num(o, "retransmits", (double)f.retransmits);
		json_add_num(o, "idle_s", (double)idle_s);
		json_push(arr, o);
	}
	*ret = arr;
	return 0;
#else
	(void)max_idle_s;
	(void)ret;
	return diag_set(d, -ENOENT, "built without eBPF");
#endif
}

const struct collector tcp_collector = {
	.name = "tcp",
	.kind = "ebpf",
	.summary = "TCP per peer: connect latency, lifetimes, retransmits, resets, smoothed RTT",
	.fallback = "netstat",
	.start = tcp_start,
	.collect = tcp_collect,
	.stop = tcp_stop,
};
