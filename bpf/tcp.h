/* tcp.h - what bpf/tcp.bpf.c shares with edge/collect/tcp.c. */
#ifndef ONGRID_TCP_H
#define ONGRID_TCP_H

#include "hist.h"

/* Peers (remote addresses) with their own series; later ones share "other" (family 0),
 * which user space inserts before attaching. Each peer is ~60 series. */
#define TCP_MAX_PEERS 128
/* Sockets whose open time is remembered (an LRU: the oldest are forgotten first). */
#define TCP_MAX_SOCKS 65536

/* Flows: a local process's connections to one peer address:port (active opens only: the
 * side that depends on the other), for the local topology. An LRU, so the flows seen most
 * recently stay when there are more. */
#define TCP_MAX_FLOWS 1024

struct tcp_flow_key {
	char comm[16]; /* the connecting task's name (TASK_COMM_LEN) */
	__u8 addr[16];
	__u16 family; /* AF_INET, AF_INET6 */
	__u16 port;   /* the peer's, host byte order */
	__u32 pad;
};

struct tcp_flow {
	__u64 connections;    /* established */
	__u64 failures;       /* SYN sent, closed without being established */
	__u64 connect_us_sum; /* SYN to established, over connections */
	__u64 bytes_sent;     /* acked, at close */
	__u64 bytes_received; /* at close */
	__u64 retransmits;
	__u64 last_ns; /* bpf_ktime_get_ns() of the last event: CLOCK_MONOTONIC */
};

struct tcp_peer {
	struct hist connect;    /* SYN sent to established, microseconds (sum: ns) */
	struct hist lifetime;   /* established to closed, milliseconds (sum: ms) */
	__u64 connect_failures; /* SYN sent, then closed without being established */
	__u64 retransmits;
	__u64 resets_sent;
	__u64 resets_received;
	__u64 srtt_last_us; /* the last smoothed RTT sampled for a connection to the peer */
	__u64 srtt_samples;
};

#endif
