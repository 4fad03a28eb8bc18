/* tcp.c - TCP per peer: connect latency, connection lifetime, failed connects,
 * retransmits, resets sent and received, smoothed RTT (bpf/tcp.bpf.c).
 *
 * A peer is the remote address of a connection, without the port: a client's ports are
 * ephemeral, and per address is what an operator asks about ("is the database host
 * dropping packets?"). peer="other" takes the addresses past the kernel map's capacity.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "shared/alloc.h"
#include "bpf/tcp.h"
#if ONGRID_BPF
#include "tcp.skel.h"
#endif
#include "shared/banned.h"

static const struct metric_desc m_connect = {
	"ongrid_tcp_connect_latency_seconds", METRIC_HISTOGRAM,
	"time from SYN sent to connection established, per peer"
};
static const struct metric_desc m_lifetime = { "ongrid_tcp_connection_lifetime_seconds",
	                                       METRIC_HISTOGRAM,
	                                       "time from established to closed, per peer" };
static const struct metric_desc m_failures = {
	"ongrid_tcp_connect_failures_total", METRIC_COUNTER,
	"connects that closed before being established (refused, reset, timed out), per peer"
};
static const struct metric_desc m_retrans = { "ongrid_tcp_retransmits_total", METRIC_COUNTER,
	                                      "TCP segments retransmitted, per peer" };
static const struct metric_desc m_rst_sent = { "ongrid_tcp_resets_sent_total", METRIC_COUNTER,
	                                       "TCP resets sent, per peer" };
static const struct metric_desc m_rst_recv = { "ongrid_tcp_resets_received_total", METRIC_COUNTER,
	                                       "TCP resets received, per peer" };
static const struct metric_desc m_srtt = {
	"ongrid_tcp_srtt_seconds", METRIC_GAUGE,
	"smoothed RTT last sampled for a connection to the peer (at establish, retransmit, close)"
};

struct tcp {
#if ONGRID_BPF
	struct tcp_bpf *skel;
#else
	int unused;
#endif
};

static void tcp_stop(void *state)
{
	struct tcp *t = state;

	if (!t)
		return;
#if ONGRID_BPF
	tcp_bpf__destroy(t->skel);
#endif
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

static int tcp_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct tcp *t = state;

	(void)now_ms;
#if ONGRID_BPF
	int fd = bpf_map__fd(t->skel->maps.peers);
	struct peer_key key, next;
	void *prev = NULL;

	for (int i = 0; i <= TCP_MAX_PEERS && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		struct tcp_peer p;
		char peer[64];

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &p) < 0)
			continue;
		if (key.family == 0 && !hist_count(&p.connect) && !hist_count(&p.lifetime) &&
		    !p.connect_failures && !p.retransmits && !p.resets_sent && !p.resets_received)
			continue; /* "other" before anything overflowed into it */
		peer_format(&key, peer, sizeof(peer));
		export_peer(out, peer, &p);
	}
	return 0;
#else
	(void)t;
	(void)out;
	return -EOPNOTSUPP;
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
