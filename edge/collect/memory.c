/* memory.c - the "memory" collector: /proc/meminfo (memory and swap in bytes) and
 * /proc/vmstat (swap traffic, major faults, OOM kills). The oomkill eBPF collector names
 * the victims; this one still counts them when eBPF is off. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/banned.h"

#define MEM(key, metric, help)                     \
	{                                          \
		key,                               \
		{                                  \
			metric, METRIC_GAUGE, help \
		}                                  \
	}

static const struct meminfo_field {
	const char *key; /* as in /proc/meminfo, without the colon */
	struct metric_desc m;
} meminfo_fields[] = {
	MEM("MemTotal", "ongrid_memory_total_bytes", "Usable RAM (MemTotal)"),
	MEM("MemFree", "ongrid_memory_free_bytes", "RAM nobody uses (MemFree)"),
	MEM("MemAvailable", "ongrid_memory_available_bytes",
	    "RAM available for new work without swapping (MemAvailable)"),
	MEM("Buffers", "ongrid_memory_buffers_bytes", "Block device buffers (Buffers)"),
	MEM("Cached", "ongrid_memory_cached_bytes", "Page cache (Cached)"),
	MEM("Active", "ongrid_memory_active_bytes", "Recently used memory (Active)"),
	MEM("Inactive", "ongrid_memory_inactive_bytes", "Reclaimable memory (Inactive)"),
	MEM("Dirty", "ongrid_memory_dirty_bytes", "Memory waiting to be written back (Dirty)"),
	MEM("Writeback", "ongrid_memory_writeback_bytes", "Memory being written back (Writeback)"),
	MEM("AnonPages", "ongrid_memory_anon_bytes", "Anonymous pages (AnonPages)"),
	MEM("Mapped", "ongrid_memory_mapped_bytes", "Files mapped into memory (Mapped)"),
	MEM("Shmem", "ongrid_memory_shmem_bytes", "Shared memory and tmpfs (Shmem)"),
	MEM("Slab", "ongrid_memory_slab_bytes", "Kernel slab caches (Slab)"),
	MEM("SReclaimable", "ongrid_memory_slab_reclaimable_bytes",
	    "Reclaimable slab (SReclaimable)"),
	MEM("KernelStack", "ongrid_memory_kernel_stack_bytes", "Kernel stacks (KernelStack)"),
	MEM("PageTables", "ongrid_memory_page_tables_bytes", "Page tables (PageTables)"),
	MEM("Committed_AS", "ongrid_memory_committed_bytes",
	    "Memory promised to processes (Committed_AS)"),
	MEM("HugePages_Total", "ongrid_memory_hugepages", "Huge pages in the pool"),
	MEM("HugePages_Free", "ongrid_memory_hugepages_free", "Huge pages not in use"),
	MEM("Active(anon)", "ongrid_memory_active_anon_bytes", "Recently used anonymous memory"),
	MEM("Inactive(anon)", "ongrid_memory_inactive_anon_bytes",
	    "Anonymous memory that may be swapped out"),
	MEM("Active(file)", "ongrid_memory_active_file_bytes", "Recently used page cache"),
	MEM("Inactive(file)", "ongrid_memory_inactive_file_bytes", "Reclaimable page cache"),
	MEM("Unevictable", "ongrid_memory_unevictable_bytes", "Memory that cannot be reclaimed"),
	MEM("Mlocked", "ongrid_memory_mlocked_bytes", "Memory locked with mlock()"),
	MEM("SUnreclaim", "ongrid_memory_slab_unreclaimable_bytes", "Unreclaimable slab"),
	MEM("KReclaimable", "ongrid_memory_kernel_reclaimable_bytes",
	    "Kernel memory the kernel reclaims under pressure (KReclaimable)"),
	MEM("CommitLimit", "ongrid_memory_commit_limit_bytes",
	    "What may be committed under strict overcommit (CommitLimit)"),
	MEM("VmallocUsed", "ongrid_memory_vmalloc_used_bytes", "vmalloc area in use"),
	MEM("Percpu", "ongrid_memory_percpu_bytes", "Per-CPU allocations"),
	MEM("AnonHugePages", "ongrid_memory_anon_hugepages_bytes",
	    "Anonymous memory in transparent huge pages"),
	MEM("ShmemHugePages", "ongrid_memory_shmem_hugepages_bytes",
	    "Shared memory in transparent huge pages"),
	MEM("HugePages_Rsvd", "ongrid_memory_hugepages_reserved",
	    "Huge pages reserved, not yet used"),
	MEM("HugePages_Surp", "ongrid_memory_hugepages_surplus", "Huge pages over the pool size"),
	MEM("Hugepagesize", "ongrid_memory_hugepage_size_bytes", "Size of one huge page"),
	MEM("Hugetlb", "ongrid_memory_hugetlb_bytes", "Memory in huge pages of all sizes"),
	MEM("Zswap", "ongrid_memory_zswap_bytes", "Compressed swap cache in RAM (zswap pool)"),
	MEM("Zswapped", "ongrid_memory_zswapped_bytes", "Memory stored in the zswap pool"),
	MEM("SwapTotal", "ongrid_swap_total_bytes", "Swap space (SwapTotal)"),
	MEM("SwapFree", "ongrid_swap_free_bytes", "Unused swap space (SwapFree)"),
	MEM("SwapCached", "ongrid_swap_cached_bytes",
	    "Swapped-out memory also in RAM (SwapCached)"),
};

int procfs_parse_meminfo(char *text, struct snapshot *out)
{
	char *f[4], *line;
	int r = 0, seen = 0;

	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 4), klen;
		uint64_t v;

		if (nf == 0)
			continue;
		klen = strlen(f[0]);
		if (nf < 2 || klen < 2 || f[0][klen - 1] != ':' || procfs_u64(f[1], &v) < 0) {
			r = -EPROTO;
			continue;
		}
		f[0][klen - 1] = '\0';
		/* "kB" is the only unit the kernel prints; counts (HugePages_*) have none. */
		if (nf >= 3) {
			if (strcmp(f[2], "kB") != 0) {
				r = -EPROTO;
				continue;
			}
			if (v > UINT64_MAX / 1024) {
				r = -EPROTO;
				continue;
			}
			v *= 1024;
		}
		for (size_t i = 0; i < sizeof(meminfo_fields) / sizeof(meminfo_fields[0]); i++)
			if (strcmp(meminfo_fields[i].key, f[0]) == 0) {
				snapshot_add(out, &meminfo_fields[i].m, NULL, 0, (double)v);
				seen++;
				break;
			}
	}
	return seen ? r : -EPROTO;
}

static const struct metric_desc m_swapin = { "ongrid_swap_in_bytes_total", METRIC_COUNTER,
	                                     "Bytes swapped in since boot (pswpin)" };
static const struct metric_desc m_swapout = { "ongrid_swap_out_bytes_total", METRIC_COUNTER,
	                                      "Bytes swapped out since boot (pswpout)" };
static const struct metric_desc m_majflt = { "ongrid_memory_major_faults_total", METRIC_COUNTER,
	                                     "Page faults that needed I/O (pgmajfault)" };
static const struct metric_desc m_flt = { "ongrid_memory_page_faults_total", METRIC_COUNTER,
	                                  "Page faults of any kind (pgfault)" };
static const struct metric_desc m_oom = { "ongrid_memory_oom_kills_total", METRIC_COUNTER,
	                                  "Processes the OOM killer killed (oom_kill)" };

int procfs_parse_vmstat(char *text, long page_size, struct snapshot *out)
{
	char *f[3], *line;
	int r = 0;

	if (page_size <= 0)
		return -EINVAL;
	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 3);
		const struct metric_desc *m = NULL;
		double scale = 1;
		uint64_t v;

		if (nf == 0)
			continue;
		if (nf != 2 || procfs_u64(f[1], &v) < 0) {
			r = -EPROTO;
			continue;
		}
		if (strcmp(f[0], "pswpin") == 0) {
			m = &m_swapin;
			scale = (double)page_size;
		} else if (strcmp(f[0], "pswpout") == 0) {
			m = &m_swapout;
			scale = (double)page_size;
		} else if (strcmp(f[0], "pgmajfault") == 0) {
			m = &m_majflt;
		} else if (strcmp(f[0], "pgfault") == 0) {
			m = &m_flt;
		} else if (strcmp(f[0], "oom_kill") == 0) {
			m = &m_oom;
		}
		if (m)
			snapshot_add(out, m, NULL, 0, (double)v * scale);
	}
	return r;
}

struct memory_state {
	struct buf b;
	long page_size;
};

static int memory_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct memory_state *st;

	(void)env;
	if (access("/proc/meminfo", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/meminfo': %s", strerror(errno));
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, PROCFS_READ_MAX);
	st->page_size = sysconf(_SC_PAGESIZE);
	*ret_state = st;
	return 0;
}

static int memory_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct memory_state *st = state;
	int r, r2;

	(void)now_ms;
	r = procfs_read("/proc/meminfo", &st->b);
	if (r == 0)
		r = procfs_parse_meminfo(st->b.data, out);
	r2 = procfs_read("/proc/vmstat", &st->b);
	if (r2 == 0)
		r2 = procfs_parse_vmstat(st->b.data, st->page_size, out);
	return r < 0 ? r : r2;
}

static void memory_stop(void *state)
{
	struct memory_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st);
}

const struct collector memory_collector = {
	.name = "memory",
	.kind = "procfs",
	.summary = "memory and swap usage, swap traffic, major faults and OOM kills",
	.start = memory_start,
	.collect = memory_collect,
	.stop = memory_stop,
};
