/* net.c - the "net" collector: per-interface traffic and error counters from
 * /proc/net/dev (the network namespace the edge runs in). */
#include <errno.h>
#include <stdio.h>
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

static const struct metric_desc m_sn_processed = { "ongrid_net_softnet_processed_total",
	                                           METRIC_COUNTER,
	                                           "Packets a CPU took from its backlog" };
static const struct metric_desc m_sn_dropped = {
	"ongrid_net_softnet_dropped_total", METRIC_COUNTER,
	"Packets dropped because a CPU's backlog was full (netdev_max_backlog)"
};
static const struct metric_desc m_sn_squeezed = {
	"ongrid_net_softnet_times_squeezed_total", METRIC_COUNTER,
	"Times a CPU's receive processing ran out of budget with work left"
};

static int hex_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 16)
		return -EINVAL;
	for (; *s; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return -EINVAL;
		v = v * 16 + (uint64_t)d;
	}
	*ret = v;
	return 0;
}

static void add_softnet(struct snapshot *out, const char *cpu, uint64_t processed, uint64_t dropped,
                        uint64_t squeezed)
{
	struct label l = { "cpu", cpu };

	snapshot_add(out, &m_sn_processed, &l, 1, (double)processed);
	snapshot_add(out, &m_sn_dropped, &l, 1, (double)dropped);
	snapshot_add(out, &m_sn_squeezed, &l, 1, (double)squeezed);
}

/* Per CPU up to PROCFS_MAX_PER_CPU rows; on bigger hosts one cpu="all" sum instead, so
 * the series count does not grow with the machine. */
int procfs_parse_softnet(char *text, struct snapshot *out)
{
	char *f[20], *line, cpu[24];
	bool per_cpu = true;
	uint64_t sum[3] = { 0 };
	size_t row = 0, lines = 0;
	int r = 0;

	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	per_cpu = lines <= PROCFS_MAX_PER_CPU;
	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 20);
		uint64_t processed, dropped, squeezed, id = row;

		if (nf == 0)
			continue;
		if (nf < 3 || hex_u64(f[0], &processed) < 0 || hex_u64(f[1], &dropped) < 0 ||
		    hex_u64(f[2], &squeezed) < 0) {
			r = -EPROTO;
			continue;
		}
		/* Since 5.10 column 13 is the CPU id (rows skip offline CPUs). */
		if (nf >= 13 && hex_u64(f[12], &id) < 0)
			id = row;
		row++;
		sum[0] += processed;
		sum[1] += dropped;
		sum[2] += squeezed;
		if (!per_cpu)
			continue;
		(void)snprintf(cpu, sizeof(cpu), "%llu", (unsigned long long)id);
		add_softnet(out, cpu, processed, dropped, squeezed);
	}
	if (!per_cpu && row)
		add_softnet(out, "all", sum[0], sum[1], sum[2]);
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
	uint64_t ignored = 0;
	int e;

	r = procfs_read("/proc/net/dev", &st->b);
	if (r == 0)
		r = procfs_parse_netdev(st->b.data, out, &ignored);
	procfs_add_ignored(out, "net", ignored);
	e = procfs_read("/proc/net/softnet_stat", &st->b);
	if (e == 0)
		e = procfs_parse_softnet(st->b.data, out);
	return r < 0 ? r : e;
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
	.summary = "per-interface bytes, packets, errors and drops; per-CPU softnet backlog "
	           "drops and squeezes",
	.start = net_start,
	.collect = net_collect,
	.stop = net_stop,
};
