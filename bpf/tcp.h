/* tcp.h - what bpf/tcp.bpf.c shares with edge/collect/tcp.c. */
#ifndef ONGRID_TCP_H
#define ONGRID_TCP_H

#include "hist.h"

/* Peers (remote addresses) with their own series; later ones share "other" (family 0),
 * which user space inserts before attaching. Each peer is ~60 series. */
#define TCP_MAX_PEERS 128
/* Sockets whose open time is remembered (an LRU: the oldest are forgotten first). */
#define TCP_MAX_SOCKS 65536

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
