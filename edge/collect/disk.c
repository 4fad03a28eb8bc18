/* disk.c - the "disk" collector: per-device I/O counters from /proc/diskstats. It is the
 * procfs fallback of biolatency: no latency distribution, but operations, bytes and busy
 * time per disk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/banned.h"

/* One exported counter per diskstats column we keep. scale turns the column into base
 * units: sectors (always 512 bytes in this file) into bytes, milliseconds into seconds. */
static const struct disk_field {
	int col; /* index in the split line: 0 major, 1 minor, 2 name, 3.. the statistics */
	double scale;
	struct metric_desc m;
} fields[] = {
	{ 3, 1, { "ongrid_disk_reads_completed_total", METRIC_COUNTER, "Reads completed" } },
	{ 4, 1, { "ongrid_disk_reads_merged_total", METRIC_COUNTER, "Adjacent reads merged" } },
	{ 5, 512, { "ongrid_disk_read_bytes_total", METRIC_COUNTER, "Bytes read" } },
	{ 6,
	  1e-3,
	  { "ongrid_disk_read_time_seconds_total", METRIC_COUNTER, "Time spent on reads" } },
	{ 7, 1, { "ongrid_disk_writes_completed_total", METRIC_COUNTER, "Writes completed" } },
	{ 8, 1, { "ongrid_disk_writes_merged_total", METRIC_COUNTER, "Adjacent writes merged" } },
	{ 9, 512, { "ongrid_disk_written_bytes_total", METRIC_COUNTER, "Bytes written" } },
	{ 10,
	  1e-3,
	  { "ongrid_disk_write_time_seconds_total", METRIC_COUNTER, "Time spent on writes" } },
	{ 11, 1, { "ongrid_disk_io_now", METRIC_GAUGE, "I/Os in flight right now" } },
	{ 12,
	  1e-3,
	  { "ongrid_disk_io_time_seconds_total", METRIC_COUNTER,
	    "Time the device had I/O in flight (utilisation = rate of this)" } },
	{ 13,
	  1e-3,
	  { "ongrid_disk_io_time_weighted_seconds_total", METRIC_COUNTER,
	    "I/O time weighted by requests in flight (queue depth = rate of this)" } },
	/* Since Linux 4.18 (discards) and 5.5 (flushes); absent columns are skipped. */
	{ 14, 1, { "ongrid_disk_discards_completed_total", METRIC_COUNTER, "Discards completed" } },
	{ 16, 512, { "ongrid_disk_discarded_bytes_total", METRIC_COUNTER, "Bytes discarded" } },
	{ 17,
	  1e-3,
	  { "ongrid_disk_discard_time_seconds_total", METRIC_COUNTER, "Time spent on discards" } },
	{ 18,
	  1,
	  { "ongrid_disk_flushes_completed_total", METRIC_COUNTER, "Cache flushes completed" } },
	{ 19,
	  1e-3,
	  { "ongrid_disk_flush_time_seconds_total", METRIC_COUNTER, "Time spent on flushes" } },
};

static bool is_virtual_idle(const char *name, uint64_t reads, uint64_t writes)
{
	return reads == 0 && writes == 0 &&
	       (strncmp(name, "loop", 4) == 0 || strncmp(name, "ram", 3) == 0 ||
	        strncmp(name, "zram", 4) == 0);
}

int procfs_parse_diskstats(char *text, struct snapshot *out, uint64_t *ret_truncated)
{
	char *f[24], *line;
	size_t ndisks = 0;
	uint64_t truncated = 0;
	int r = 0;

	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 24);
		uint64_t v[20] = { 0 };
		bool ok = nf >= 14;

		if (nf == 0)
			continue;
		for (size_t i = 3; ok && i < nf && i < 20; i++)
			ok = procfs_u64(f[i], &v[i]) == 0;
		if (!ok || !f[2][0]) {
			r = -EPROTO;
			continue;
		}
		if (is_virtual_idle(f[2], v[3], v[7]))
			continue;
		if (ndisks >= PROCFS_MAX_DISKS) {
			truncated++;
			continue;
		}
		ndisks++;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			struct label l = { "disk", f[2] };
			if ((size_t)fields[i].col >= nf)
				continue;
			snapshot_add(out, &fields[i].m, &l, 1,
			             (double)v[fields[i].col] * fields[i].scale);
		}
	}
	if (ret_truncated)
		*ret_truncated = truncated;
	return r;
}

struct disk_state {
	struct buf b;
};

static int disk_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct disk_state *st;

	(void)env;
	if (access("/proc/diskstats", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/diskstats': %s", strerror(errno));
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, PROCFS_READ_MAX);
	*ret_state = st;
	return 0;
}

static int disk_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct disk_state *st = state;
	int r;

	(void)now_ms;
	uint64_t ignored = 0;

	r = procfs_read("/proc/diskstats", &st->b);
	if (r == 0)
		r = procfs_parse_diskstats(st->b.data, out, &ignored);
	procfs_add_ignored(out, "disk", ignored);
	return r;
}

static void disk_stop(void *state)
{
	struct disk_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st);
}

const struct collector disk_collector = {
	.name = "disk",
	.kind = "procfs",
	.summary = "per-disk reads, writes, bytes, busy time and queue depth",
	.start = disk_start,
	.collect = disk_collect,
	.stop = disk_stop,
};
