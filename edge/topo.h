/* topo.h - the local service graph: which local process talks to which peer
 * address:port, which services listen here and who connects to them, with counts,
 * bytes, RTT and retransmits per edge of the graph.
 *
 * Sockets come from NETLINK_SOCK_DIAG (TCP, IPv4 and IPv6, with tcp_info: RTT, bytes
 * acked and received, retransmits); the owning process from a walk of /proc/PID/fd
 * matching socket inodes. A socket whose owner cannot be seen (another network namespace,
 * a process gone meanwhile) is counted under process "?". Loopback edges are kept: a
 * local proxy in front of a local database is a dependency too. A snapshot misses the
 * connections that open and close between two scans; the tcp eBPF collector's flows, read
 * from the daemon (topo_add_daemon_flows), add them.
 *
 * topo_report_json() is the shape the relay merges (docs/protocol.md, "Topology"):
 * {"addresses", "listen": [{"port", "addr", "process", ...}], "connect": [{"peer",
 * "process", ...}]}, with our extra per-edge figures beside the fields it reads.
 */
#ifndef ONGRID_TOPO_H
#define ONGRID_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

/* Sockets looked at per scan, and graph entries kept (the relay takes 4,096). */
#define TOPO_MAX_SOCKETS 65536
#define TOPO_MAX_ENTRIES 4096

/* A TCP socket as sock_diag reports it. */
struct topo_sock {
	int family; /* AF_INET, AF_INET6 */
	int state;  /* TCP_ESTABLISHED, TCP_LISTEN, ... (netinet/tcp.h numbering) */
	char laddr[46], raddr[46];
	int lport, rport;
	uint64_t inode;
	uint32_t rtt_us; /* tcp_info.tcpi_rtt; 0 when absent */
	uint64_t bytes_acked, bytes_received;
	uint32_t retrans; /* tcpi_total_retrans */
	int pid;          /* owner, or 0 when unknown */
	char comm[32];    /* owner's name, or "?" */
};

/* A service listening here. */
struct topo_listen {
	char addr[46];
	int port;
	int pid;
	char process[32];
	uint32_t connections; /* established connections accepted on it now */
	uint32_t clients;     /* distinct peer addresses among them */
};

/* A local process's connections to one peer address:port. */
struct topo_connect {
	char process[32];
	int pid;       /* the first owner seen */
	char peer[64]; /* "10.0.0.5:5432", "[fd00::1]:443" */
	char peer_addr[46];
	int peer_port;
	uint32_t count;
	uint64_t bytes_sent, bytes_received;
	double rtt_ms; /* mean of the connections' smoothed RTT */
	uint64_t retransmits;
	/* What the kernel saw (the tcp collector's flows: every connection, however short,
	 * over the last hour), when `recent` is set; count and the rest are the sockets
	 * open at the scan. */
	bool recent;
	uint64_t recent_connections, recent_failures, recent_bytes_sent, recent_bytes_received,
	        recent_retransmits;
	double recent_connect_ms;
	int64_t recent_idle_s;
};

struct topo {
	struct topo_listen *listen;
	size_t nlisten;
	struct topo_connect *connect;
	size_t nconnect;
	uint32_t states[16]; /* sockets per TCP state (index = state number) */
	size_t nsockets;
	int truncated;   /* TOPO_MAX_SOCKETS or TOPO_MAX_ENTRIES reached */
	char flows[192]; /* "on", or why the kernel's flows are not in (topo_add_daemon_flows) */
};

/* Scan now. *ret is owned (topo_free). -EPERM/-EPROTO with d when sock_diag fails. */
int topo_scan(struct topo **ret, struct diag *d);
void topo_free(struct topo *t); /* NULL-safe */

/* Merge the tcp collector's flows (tcp_flows_json's array) into t: a flow whose process
 * and peer:port match a connect entry gives it the recent_* figures; any other becomes an
 * entry of its own with count 0 (nothing open at the scan: short-lived connections). */
void topo_add_flows(struct topo *t, const cJSON *flows);
/* Ask the edge daemon at control_socket for its flows and merge them; t->flows says "on"
 * or why not (no daemon, the collector off). Never fails the scan. */
void topo_add_daemon_flows(struct topo *t, const char *control_socket);

/* Read the sockets only (no graph), for callers that want rows: *ret owned. */
int topo_sockets(struct topo_sock **ret, size_t *ret_n, struct diag *d);

/* "ESTABLISHED", "LISTEN", ... */
const char *topo_state_name(int state);

/* The relay's report shape, with this host's non-loopback addresses. */
cJSON *topo_report_json(const struct topo *t);

/* Parse one line of /proc/net/tcp or tcp6 (the fallback and the unit tests' input) into s
 * (no owner, no tcp_info). 0, or -EINVAL for a header or malformed line. */
int topo_parse_proc_line(const char *line, int family, struct topo_sock *s);

#endif
