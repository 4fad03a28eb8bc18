/* net.c - the "net" collector: per-interface traffic and error counters from
 * /proc/net/dev (the network namespace the edge runs in). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/banned.h"

/* Columns after "iface:", in the kernel's order (dev_seq_printf_stats()). */
static const struct net_field {
	int col;
	struct metric_desc m;
} fields[] = {
	{ 0, { "ongrid_net_receive_bytes_total", METRIC_COUNTER, "Bytes received" } },
	{ 1, { "ongrid_net_receive_packets_total", METRIC_COUNTER, "Packets received" } },
	{ 2, { "ongrid_net_receive_errors_total", METRIC_COUNTER, "Receive errors" } },
	{ 3,
	  { "ongrid_net_receive_drops_total", METRIC_COUNTER,
	    "Received packets dropped (no buffer, filtered, backlog full)" } },
	{ 4, { "ongrid_net_receive_fifo_total", METRIC_COUNTER, "Receive FIFO overruns" } },
	{ 5, { "ongrid_net_receive_frame_total", METRIC_COUNTER, "Receive framing errors" } },
	{ 7,
	  { "ongrid_net_receive_multicast_total", METRIC_COUNTER, "Multicast packets received" } },
	{ 8, { "ongrid_net_transmit_bytes_total", METRIC_COUNTER, "Bytes sent" } },
	{ 9, { "ongrid_net_transmit_packets_total", METRIC_COUNTER, "Packets sent" } },
	{ 10, { "ongrid_net_transmit_errors_total", METRIC_COUNTER, "Transmit errors" } },
	{ 11, { "ongrid_net_transmit_drops_total", METRIC_COUNTER, "Packets dropped on send" } },
	{ 12, { "ongrid_net_transmit_fifo_total", METRIC_COUNTER, "Transmit FIFO underruns" } },
	{ 13, { "ongrid_net_transmit_collisions_total", METRIC_COUNTER, "Collisions on send" } },
	{ 14, { "ongrid_net_transmit_carrier_total", METRIC_COUNTER, "Carrier losses on send" } },
};

int procfs_parse_netdev(char *text, struct snapshot *out, uint64_t *ret_truncated)
{
	char *f[20], *line;
	size_t nif = 0;
	uint64_t truncated = 0;
	int r = 0;

	while ((line = procfs_next_line(&text))) {
		char *colon = strchr(line, ':'), *name = line;
		uint64_t v[16];
		size_t nf;
		bool ok;

		/* The two header lines have '|' and no ':'. */
		if (!colon) {
			if (*line && !strchr(line, '|'))
				r = -EPROTO;
			continue;
		}
		*colon = '\0';
		while (*name == ' ' || *name == '\t')
			name++;
		nf = procfs_split(colon + 1, f, 20);
		ok = nf >= 16 && *name && !strchr(name, ' ');
		for (size_t i = 0; ok && i < 16; i++)
			ok = procfs_u64(f[i], &v[i]) == 0;
		if (!ok) {
			r = -EPROTO;
			continue;
		}
		if (nif >= PROCFS_MAX_INTERFACES) {
			truncated++;
			continue;
		}
		nif++;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			struct label l = { "interface", name };
			snapshot_add(out, &fields[i].m, &l, 1, (double)v[fields[i].col]);
		}
	}
	if (ret_truncated)
		*ret_truncated = truncated;
	return r;
}

struct net_state {
	struct buf b;
};

static int net_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct net_state *st;

	(void)env;
	if (access("/proc/net/dev", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/net/dev': %s", strerror(errno));
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, PROCFS_READ_MAX);
	*ret_state = st;
	return 0;
}

static int net_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct net_state *st = state;
	int r;

	(void)now_ms;
	r = procfs_read("/proc/net/dev", &st->b);
	if (r == 0)
		r = procfs_parse_netdev(st->b.data, out, NULL);
	return r;
}

static void net_stop(void *state)
{
	struct net_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st);
}

const struct collector net_collector = {
	.name = "net",
	.kind = "procfs",
	.summary = "per-interface bytes, packets, errors and drops",
	.start = net_start,
	.collect = net_collect,
	.stop = net_stop,
};
