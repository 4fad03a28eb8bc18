// SPDX-License-Identifier: GPL-2.0
/* tcp.bpf.c - TCP per peer (remote address): connect latency, connection lifetime,
 * failed connects, retransmits, resets sent and received, and the smoothed RTT.
 *
 * Driven by tracepoints only: sock:inet_sock_set_state for the life of a connection,
 * tcp:tcp_retransmit_skb, tcp:tcp_send_reset and tcp:tcp_receive_reset. The smoothed RTT
 * is sampled when a connection is established, retransmits and closes, not per packet
 * (tcp:tcp_probe fires per ACK: too hot for a connection storm). Counters in the peer
 * map are updated with atomic adds: it is shared by all CPUs.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tcp.h"
#include "bits.bpf.h"
#include "maps.bpf.h"

#define AF_INET     2
#define AF_INET6    10
#define IPPROTO_TCP 6

struct sock_info {
	__u64 syn_ns;             /* SYN sent (active open), or 0 */
	__u64 established_ns;     /* became established, or 0 */
	struct tcp_flow_key flow; /* for an active open: who connected where */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCP_MAX_SOCKS);
	__type(key, __u64);
	__type(value, struct sock_info);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_MAX_PEERS + 1);
	__type(key, struct peer_key);
	__type(value, struct tcp_peer);
} peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TCP_MAX_FLOWS);
	__type(key, struct tcp_flow_key);
	__type(value, struct tcp_flow);
} flows SEC(".maps");

static const struct tcp_peer zero_peer;
static const struct tcp_flow zero_flow;

static __always_inline void peer_of_sock(const struct sock *sk, struct peer_key *k)
{
	k->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* bpf_core_read() with the field's own size: BPF_CORE_READ_INTO would read only
	 * sizeof(addr[0]) into an array. */
	if (k->family == AF_INET)
		bpf_core_read(k->addr, 4, &sk->__sk_common.skc_daddr);
	else if (k->family == AF_INET6)
		bpf_core_read(k->addr, 16, &sk->__sk_common.skc_v6_daddr);
}

/* The source address of a received packet: the peer we answer with a reset when no
 * socket owns the packet. */
static __always_inline void peer_of_skb(const struct sk_buff *skb, struct peer_key *k)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u8 ver = 0;

	bpf_probe_read_kernel(&ver, 1, head + nh);
	if (ver >> 4 == 4) {
		k->family = AF_INET;
		bpf_probe_read_kernel(k->addr, 4, head + nh + 12); /* iphdr.saddr */
	} else if (ver >> 4 == 6) {
		k->family = AF_INET6;
		bpf_probe_read_kernel(k->addr, 16, head + nh + 8); /* ipv6hdr.saddr */
	}
}

/* The flow of an active open, named at SYN_SENT: that transition runs in the connecting
 * task (connect()), so the current comm is the client's; later ones may run in softirq. */
static __always_inline void flow_of_connect(const struct sock *sk, struct tcp_flow_key *f)
{
	struct peer_key pk = {};

	bpf_get_current_comm(f->comm, sizeof(f->comm));
	peer_of_sock(sk, &pk);
	__builtin_memcpy(f->addr, pk.addr, sizeof(f->addr));
	f->family = pk.family;
	f->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

static __always_inline struct tcp_flow *flow_get(const struct sock_info *si)
{
	if (si->flow.family != AF_INET && si->flow.family != AF_INET6)
		return NULL;
	return map_lookup_or_init(&flows, &si->flow, &zero_flow);
}

static __always_inline struct tcp_peer *peer_get(struct peer_key *k)
{
	struct tcp_peer *p = NULL;

	if (k->family == AF_INET || k->family == AF_INET6)
		p = map_lookup_or_init(&peers, k, &zero_peer);
	if (!p) {
		__builtin_memset(k, 0, sizeof(*k)); /* "other" */
		p = bpf_map_lookup_elem(&peers, k);
	}
	return p;
}

static __always_inline void sample_srtt(struct tcp_peer *p, const struct sock *sk)
{
	__u32 srtt = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;

	if (!srtt)
		return;
	p->srtt_last_us = srtt;
	__sync_fetch_and_add(&p->srtt_samples, 1);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk, now;
	struct peer_key pk = {};
	struct sock_info *si, fresh = {};
	struct tcp_peer *p;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	now = bpf_ktime_get_ns();
	switch (newstate) {
	case TCP_SYN_SENT:
		fresh.syn_ns = now;
		flow_of_connect(sk, &fresh.flow);
		bpf_map_update_elem(&socks, &key, &fresh, BPF_ANY);
		return 0;
	case TCP_ESTABLISHED:
		si = bpf_map_lookup_elem(&socks, &key);
		peer_of_sock(sk, &pk);
		p = peer_get(&pk);
		if (p && si && si->syn_ns && oldstate == TCP_SYN_SENT) {
			__u64 d = now - si->syn_ns;
			__sync_fetch_and_add(&p->connect.slots[hist_slot(d / 1000)], 1);
			__sync_fetch_and_add(&p->connect.sum, d);
		}
		if (si && si->syn_ns && oldstate == TCP_SYN_SENT) {
			struct tcp_flow *f = flow_get(si);
			if (f) {
				__sync_fetch_and_add(&f->connections, 1);
				__sync_fetch_and_add(&f->connect_us_sum, (now - si->syn_ns) / 1000);
				f->last_ns = now;
			}
		}
		if (p)
			sample_srtt(p, sk);
		if (si) {
			si->established_ns = now;
		} else {
			fresh.established_ns = now;
			bpf_map_update_elem(&socks, &key, &fresh, BPF_ANY);
		}
		return 0;
	case TCP_CLOSE:
		si = bpf_map_lookup_elem(&socks, &key);
		if (!si)
			return 0;
		peer_of_sock(sk, &pk);
		p = peer_get(&pk);
		if (p && si->established_ns) {
			__u64 ms = (now - si->established_ns) / 1000000;
			__sync_fetch_and_add(&p->lifetime.slots[hist_slot(ms)], 1);
			__sync_fetch_and_add(&p->lifetime.sum, ms);
			sample_srtt(p, sk);
		} else if (p && si->syn_ns) {
			__sync_fetch_and_add(&p->connect_failures, 1);
		}
		if (si->syn_ns) {
			struct tcp_flow *f = flow_get(si);
			if (f && si->established_ns) {
				const struct tcp_sock *tp = (const struct tcp_sock *)sk;
				__sync_fetch_and_add(&f->bytes_sent,
				                     BPF_CORE_READ(tp, bytes_acked));
				__sync_fetch_and_add(&f->bytes_received,
				                     BPF_CORE_READ(tp, bytes_received));
				f->last_ns = now;
			} else if (f) {
				__sync_fetch_and_add(&f->failures, 1);
				f->last_ns = now;
			}
		}
		bpf_map_delete_elem(&socks, &key);
		return 0;
	}
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb)
{
	struct peer_key pk = {};
	struct tcp_peer *p;

	__u64 key = (__u64)sk;
	struct sock_info *si;

	peer_of_sock(sk, &pk);
	p = peer_get(&pk);
	if (p) {
		__sync_fetch_and_add(&p->retransmits, 1);
		sample_srtt(p, sk);
	}
	si = bpf_map_lookup_elem(&socks, &key);
	if (si && si->syn_ns) {
		struct tcp_flow *f = flow_get(si);
		if (f)
			__sync_fetch_and_add(&f->retransmits, 1);
	}
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct peer_key pk = {};
	struct tcp_peer *p;

	/* A reset answering a packet no connection owns comes with no socket, or with the
	 * listener's, whose remote address is unset: the peer is the packet's source. */
	if (sk)
		peer_of_sock(sk, &pk);
	if (skb && (!sk || (pk.family == AF_INET && !*(__u32 *)pk.addr))) {
		__builtin_memset(&pk, 0, sizeof(pk));
		peer_of_skb(skb, &pk);
	}
	p = peer_get(&pk);
	if (p)
		__sync_fetch_and_add(&p->resets_sent, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_receive_reset, struct sock *sk)
{
	struct peer_key pk = {};
	struct tcp_peer *p;

	peer_of_sock(sk, &pk);
	p = peer_get(&pk);
	if (p)
		__sync_fetch_and_add(&p->resets_received, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
