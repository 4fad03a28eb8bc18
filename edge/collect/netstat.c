/* netstat.c - the "netstat" collector: protocol counters from /proc/net/snmp and
 * /proc/net/netstat (retransmits, resets, listen-queue overflows, UDP buffer errors).
 * Host-wide totals: the procfs fallback of the per-peer tcpretrans/tcpstates collectors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/fsutil.h"
#include "shared/banned.h"

#define C(group, field, name, help)                                           \
	{                                                                     \
		group, field,                                                 \
		{                                                             \
			"ongrid_netstat_" name "_total", METRIC_COUNTER, help \
		}                                                             \
	}
#define G(group, field, name, help)                                \
	{                                                          \
		group, field,                                      \
		{                                                  \
			"ongrid_netstat_" name, METRIC_GAUGE, help \
		}                                                  \
	}

/* The counters worth keeping out of the ~200 these files hold: what an operator looks
 * at when connections fail, stall or get dropped. */
static const struct snmp_field {
	const char *group, *field; /* "Tcp", "RetransSegs" */
	struct metric_desc m;
} fields[] = {
	C("Ip", "InReceives", "ip_in_receives", "IP datagrams received"),
	C("Ip", "InDelivers", "ip_in_delivers", "IP datagrams delivered to protocols"),
	C("Ip", "OutRequests", "ip_out_requests", "IP datagrams sent"),
	C("Ip", "InDiscards", "ip_in_discards", "IP datagrams discarded on input (no buffer)"),
	C("Ip", "OutDiscards", "ip_out_discards", "IP datagrams discarded on output"),
	C("Ip", "OutNoRoutes", "ip_out_no_routes", "IP datagrams without a route"),
	C("Icmp", "InMsgs", "icmp_in_msgs", "ICMP messages received"),
	C("Icmp", "OutMsgs", "icmp_out_msgs", "ICMP messages sent"),
	C("Icmp", "InErrors", "icmp_in_errors", "ICMP messages received with errors"),
	C("Icmp", "InDestUnreachs", "icmp_in_dest_unreachs",
	  "ICMP destination unreachable received"),
	C("Tcp", "ActiveOpens", "tcp_active_opens", "TCP connections this host opened"),
	C("Tcp", "PassiveOpens", "tcp_passive_opens", "TCP connections this host accepted"),
	C("Tcp", "AttemptFails", "tcp_attempt_fails", "TCP connection attempts that failed"),
	C("Tcp", "EstabResets", "tcp_estab_resets", "Established TCP connections reset"),
	G("Tcp", "CurrEstab", "tcp_curr_estab", "TCP connections established or closing now"),
	C("Tcp", "InSegs", "tcp_in_segs", "TCP segments received"),
	C("Tcp", "OutSegs", "tcp_out_segs", "TCP segments sent"),
	C("Tcp", "RetransSegs", "tcp_retrans_segs", "TCP segments retransmitted"),
	C("Tcp", "InErrs", "tcp_in_errs", "TCP segments received in error"),
	C("Tcp", "OutRsts", "tcp_out_rsts", "TCP resets sent"),
	C("Tcp", "InCsumErrors", "tcp_in_csum_errors", "TCP segments with a bad checksum"),
	C("Udp", "InDatagrams", "udp_in_datagrams", "UDP datagrams received"),
	C("Udp", "OutDatagrams", "udp_out_datagrams", "UDP datagrams sent"),
	C("Udp", "NoPorts", "udp_no_ports", "UDP datagrams to a port nobody listens on"),
	C("Udp", "InErrors", "udp_in_errors", "UDP datagrams that could not be delivered"),
	C("Udp", "RcvbufErrors", "udp_rcvbuf_errors", "UDP datagrams dropped: receive buffer full"),
	C("Udp", "SndbufErrors", "udp_sndbuf_errors", "UDP datagrams dropped: send buffer full"),
	C("TcpExt", "ListenOverflows", "tcp_listen_overflows",
	  "Connections dropped because a listen queue was full"),
	C("TcpExt", "ListenDrops", "tcp_listen_drops", "Connections dropped at listen, any reason"),
	C("TcpExt", "SyncookiesSent", "tcp_syncookies_sent", "SYN cookies sent (SYN queue full)"),
	C("TcpExt", "SyncookiesFailed", "tcp_syncookies_failed", "Invalid SYN cookies received"),
	C("TcpExt", "TCPTimeouts", "tcp_timeouts", "TCP retransmission timeouts"),
	C("TcpExt", "TCPSynRetrans", "tcp_syn_retrans", "SYN and SYN-ACK retransmits"),
	C("TcpExt", "TCPFastRetrans", "tcp_fast_retrans", "TCP fast retransmits"),
	C("TcpExt", "TCPLostRetransmit", "tcp_lost_retransmit", "Retransmits that were lost too"),
	C("TcpExt", "TCPAbortOnData", "tcp_abort_on_data", "Connections reset on unexpected data"),
	C("TcpExt", "TCPAbortOnClose", "tcp_abort_on_close",
	  "Connections reset: closed with unread data"),
	C("TcpExt", "TCPAbortOnMemory", "tcp_abort_on_memory",
	  "Connections reset: out of socket memory"),
	C("TcpExt", "TCPAbortOnTimeout", "tcp_abort_on_timeout",
	  "Connections reset: too many retransmits"),
	C("TcpExt", "TCPRcvQDrop", "tcp_rcvq_drop", "Segments dropped: receive queue full"),
	C("TcpExt", "TCPBacklogDrop", "tcp_backlog_drop", "Segments dropped: socket backlog full"),
	C("TcpExt", "PruneCalled", "tcp_prune_called",
	  "Receive queues pruned under memory pressure"),
	C("TcpExt", "TW", "tcp_time_wait", "Connections that finished TIME-WAIT"),
	C("IpExt", "InOctets", "ip_in_octets", "IP bytes received"),
	C("IpExt", "OutOctets", "ip_out_octets", "IP bytes sent"),
};

#define SNMP_MAX_COLUMNS 256 /* TcpExt has ~130 columns on 6.x kernels */

static const struct snmp_field *lookup(const char *group, const char *field)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].group, group) == 0 && strcmp(fields[i].field, field) == 0)
			return &fields[i];
	return NULL;
}

/* Values may be negative (Tcp MaxConn is -1); only the ones we keep must be counts. */
int procfs_parse_snmp(char *text, struct snapshot *out)
{
	char *names[SNMP_MAX_COLUMNS], *vals[SNMP_MAX_COLUMNS], *hdr = NULL, *line;
	int r = 0;

	while ((line = procfs_next_line(&text))) {
		char *colon = strchr(line, ':');
		size_t nn, nv;

		if (!*line)
			continue;
		if (!colon || colon == line) {
			r = -EPROTO;
			hdr = NULL;
			continue;
		}
		if (!hdr) {
			hdr = line;
			continue;
		}
		/* line must be the values of hdr: the same "Group:" prefix. */
		*colon = '\0';
		if (strncmp(hdr, line, (size_t)(colon - line)) != 0 || hdr[colon - line] != ':') {
			*colon = ':';
			r = -EPROTO;
			hdr = line; /* resynchronise: treat this one as a header */
			continue;
		}
		hdr[colon - line] = '\0';
		nn = procfs_split(hdr + (colon - line) + 1, names, SNMP_MAX_COLUMNS);
		nv = procfs_split(colon + 1, vals, SNMP_MAX_COLUMNS);
		if (nn != nv)
			r = -EPROTO;
		for (size_t i = 0; i < nn && i < nv; i++) {
			const struct snmp_field *sf = lookup(line, names[i]);
			uint64_t v;
			if (!sf)
				continue;
			if (procfs_u64(vals[i], &v) < 0) {
				r = -EPROTO;
				continue;
			}
			snapshot_add(out, &sf->m, NULL, 0, (double)v);
		}
		hdr = NULL;
	}
	if (hdr)
		r = -EPROTO; /* a header without its values: truncated file */
	return r;
}

static const struct sockstat_field {
	const char *proto, *key; /* "TCP", "tw" */
	bool pages;              /* the value counts pages: export bytes */
	struct metric_desc m;
} sockstat_fields[] = {
	{ "sockets",
	  "used",
	  false,
	  { "ongrid_sockstat_sockets_used", METRIC_GAUGE, "Sockets of all kinds in use" } },
	{ "TCP",
	  "inuse",
	  false,
	  { "ongrid_sockstat_tcp_inuse", METRIC_GAUGE, "TCP sockets in use (not TIME-WAIT)" } },
	{ "TCP",
	  "orphan",
	  false,
	  { "ongrid_sockstat_tcp_orphan", METRIC_GAUGE,
	    "TCP sockets no process holds any more, still closing" } },
	{ "TCP",
	  "tw",
	  false,
	  { "ongrid_sockstat_tcp_time_wait", METRIC_GAUGE, "TCP sockets in TIME-WAIT" } },
	{ "TCP",
	  "alloc",
	  false,
	  { "ongrid_sockstat_tcp_alloc", METRIC_GAUGE, "TCP sockets allocated" } },
	{ "TCP",
	  "mem",
	  true,
	  { "ongrid_sockstat_tcp_mem_bytes", METRIC_GAUGE, "Memory of TCP socket buffers" } },
	{ "UDP",
	  "inuse",
	  false,
	  { "ongrid_sockstat_udp_inuse", METRIC_GAUGE, "UDP sockets in use" } },
	{ "UDP",
	  "mem",
	  true,
	  { "ongrid_sockstat_udp_mem_bytes", METRIC_GAUGE, "Memory of UDP socket buffers" } },
};

/* "TCP: inuse 4 orphan 0 tw 5 alloc 5 mem 12": a protocol, then key/value pairs. */
int procfs_parse_sockstat(char *text, long page_size, struct snapshot *out)
{
	char *f[16], *line;
	int r = 0;

	if (page_size <= 0)
		return -EINVAL;
	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 16), plen;

		if (nf == 0)
			continue;
		plen = strlen(f[0]);
		if (plen < 2 || f[0][plen - 1] != ':' || nf % 2 == 0) {
			r = -EPROTO;
			continue;
		}
		f[0][plen - 1] = '\0';
		for (size_t i = 1; i + 1 < nf; i += 2) {
			for (size_t j = 0; j < sizeof(sockstat_fields) / sizeof(sockstat_fields[0]);
			     j++) {
				const struct sockstat_field *sf = &sockstat_fields[j];
				uint64_t v;
				if (strcmp(sf->proto, f[0]) != 0 || strcmp(sf->key, f[i]) != 0)
					continue;
				if (procfs_u64(f[i + 1], &v) < 0) {
					r = -EPROTO;
					break;
				}
				snapshot_add(out, &sf->m, NULL, 0,
				             (double)v * (sf->pages ? (double)page_size : 1));
				break;
			}
		}
	}
	return r;
}

static const struct metric_desc m_ct_entries = { "ongrid_conntrack_entries", METRIC_GAUGE,
	                                         "Connections the netfilter tracker holds" };
static const struct metric_desc m_ct_limit = { "ongrid_conntrack_limit", METRIC_GAUGE,
	                                       "Most connections the tracker holds before "
	                                       "dropping new ones (nf_conntrack_max)" };

struct netstat_state {
	struct buf b;
	long page_size;
};

static int netstat_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct netstat_state *st;

	(void)env;
	if (access("/proc/net/snmp", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/net/snmp': %s", strerror(errno));
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, PROCFS_READ_MAX);
	st->page_size = sysconf(_SC_PAGESIZE);
	*ret_state = st;
	return 0;
}

static int netstat_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	static const char *const files[] = { "/proc/net/snmp", "/proc/net/netstat" };
	struct netstat_state *st = state;
	int r = 0;

	(void)now_ms;
	long long ct, ct_max;
	int e;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		e = procfs_read(files[i], &st->b);
		if (e == 0)
			e = procfs_parse_snmp(st->b.data, out);
		if (e < 0)
			r = e;
	}
	e = procfs_read("/proc/net/sockstat", &st->b);
	if (e == 0)
		e = procfs_parse_sockstat(st->b.data, st->page_size, out);
	if (e < 0)
		r = e;
	/* Only when the conntrack module is loaded; its absence is not an error. */
	if (read_file_i64("/proc/sys/net/netfilter/nf_conntrack_count", &ct) == 0 &&
	    read_file_i64("/proc/sys/net/netfilter/nf_conntrack_max", &ct_max) == 0) {
		snapshot_add(out, &m_ct_entries, NULL, 0, (double)ct);
		snapshot_add(out, &m_ct_limit, NULL, 0, (double)ct_max);
	}
	return r;
}

static void netstat_stop(void *state)
{
	struct netstat_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st);
}

const struct collector netstat_collector = {
	.name = "netstat",
	.kind = "procfs",
	.summary = "IP, ICMP, TCP and UDP counters (retransmits, resets, listen overflows, "
	           "buffer errors), sockets in use and TIME-WAIT, conntrack fill",
	.start = netstat_start,
	.collect = netstat_collect,
	.stop = netstat_stop,
};
