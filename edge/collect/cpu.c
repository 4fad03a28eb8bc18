/* cpu.c - the "cpu" collector: CPU time by mode from /proc/stat, load averages from
 * /proc/loadavg. Always available; it is also the fallback that still measures CPU
 * saturation (procs_running, load) when the runqlat eBPF collector is off. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/banned.h"

static const struct metric_desc m_cpu = { "ongrid_cpu_seconds_total", METRIC_COUNTER,
	                                  "CPU time spent in each mode, summed over all CPUs" };
static const struct metric_desc m_core = { "ongrid_cpu_core_seconds_total", METRIC_COUNTER,
	                                   "CPU time per CPU in user, system, iowait and idle" };
static const struct metric_desc m_count = { "ongrid_cpus", METRIC_GAUGE,
	                                    "Number of CPUs listed in /proc/stat" };
static const struct metric_desc m_ctxt = { "ongrid_context_switches_total", METRIC_COUNTER,
	                                   "Context switches since boot" };
static const struct metric_desc m_intr = { "ongrid_interrupts_total", METRIC_COUNTER,
	                                   "Interrupts serviced since boot" };
static const struct metric_desc m_forks = { "ongrid_forks_total", METRIC_COUNTER,
	                                    "Processes and threads created since boot" };
static const struct metric_desc m_running = { "ongrid_procs_running", METRIC_GAUGE,
	                                      "Tasks runnable right now (running or queued)" };
static const struct metric_desc m_blocked = { "ongrid_procs_blocked", METRIC_GAUGE,
	                                      "Tasks blocked waiting for I/O right now" };
static const struct metric_desc m_btime = { "ongrid_boot_time_seconds", METRIC_GAUGE,
	                                    "When the host booted, in seconds since the epoch" };
static const struct metric_desc m_load1 = { "ongrid_load1", METRIC_GAUGE, "1-minute load average" };
static const struct metric_desc m_load5 = { "ongrid_load5", METRIC_GAUGE, "5-minute load average" };
static const struct metric_desc m_load15 = { "ongrid_load15", METRIC_GAUGE,
	                                     "15-minute load average" };
static const struct metric_desc m_threads = { "ongrid_threads", METRIC_GAUGE,
	                                      "Threads that exist on the host" };

/* /proc/stat's column order after the "cpu" word. guest and guest_nice are already
 * counted in user and nice, so they are not exported (a sum over modes stays right). */
static const char *const modes[] = { "user",   "nice", "system",  "idle",
	                             "iowait", "irq",  "softirq", "steal" };
/* Per CPU only the modes that tell one hot or stalled CPU apart; the others stay in the
 * host total. Each kept mode costs one series per CPU in the store. */
static const bool per_cpu_mode[] = { true, false, true, true, true, false, false, false };

static int parse_cpu_line(char **f, size_t nf, double hz, const char *cpu, struct snapshot *out)
{
	uint64_t v;

	/* Kernels since 2.6.11 print at least 8 values; fewer is not /proc/stat. */
	if (nf < 1 + 4)
		return -EPROTO;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && 1 + i < nf; i++) {
		if (procfs_u64(f[1 + i], &v) < 0)
			return -EPROTO;
		if (cpu && per_cpu_mode[i]) {
			struct label l[] = { { "cpu", cpu }, { "mode", modes[i] } };
			snapshot_add(out, &m_core, l, 2, (double)v / hz);
		} else if (!cpu) {
			struct label l[] = { { "mode", modes[i] } };
			snapshot_add(out, &m_cpu, l, 1, (double)v / hz);
		}
	}
	return 0;
}

static int add_one(char **f, size_t nf, const struct metric_desc *m, struct snapshot *out)
{
	uint64_t v;

	if (nf < 2 || procfs_u64(f[1], &v) < 0)
		return -EPROTO;
	snapshot_add(out, m, NULL, 0, (double)v);
	return 0;
}

int procfs_parse_stat(char *text, double hz, bool per_cpu, struct snapshot *out)
{
	char *f[16], *line;
	size_t ncpu = 0;
	bool total = false;
	int r = 0;

	if (hz <= 0)
		return -EINVAL;
	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 16);
		int e = 0;

		if (nf == 0)
			continue;
		if (strcmp(f[0], "cpu") == 0) {
			e = parse_cpu_line(f, nf, hz, NULL, out);
			total = e == 0;
		} else if (strncmp(f[0], "cpu", 3) == 0) {
			uint64_t id;
			if (procfs_u64(f[0] + 3, &id) < 0) {
				e = -EPROTO;
			} else if (ncpu < PROCFS_MAX_CPUS) {
				ncpu++;
				if (per_cpu)
					e = parse_cpu_line(f, nf, hz, f[0] + 3, out);
			}
		} else if (strcmp(f[0], "ctxt") == 0) {
			e = add_one(f, nf, &m_ctxt, out);
		} else if (strcmp(f[0], "intr") == 0) {
			e = add_one(f, nf, &m_intr, out);
		} else if (strcmp(f[0], "processes") == 0) {
			e = add_one(f, nf, &m_forks, out);
		} else if (strcmp(f[0], "procs_running") == 0) {
			e = add_one(f, nf, &m_running, out);
		} else if (strcmp(f[0], "procs_blocked") == 0) {
			e = add_one(f, nf, &m_blocked, out);
		} else if (strcmp(f[0], "btime") == 0) {
			e = add_one(f, nf, &m_btime, out);
		}
		if (e < 0)
			r = e;
	}
	if (ncpu)
		snapshot_add(out, &m_count, NULL, 0, (double)ncpu);
	return total ? r : -EPROTO;
}

static int parse_double(const char *s, double *ret)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*ret = strtod(s, &end);
	return (*end || errno) ? -EINVAL : 0;
}

int procfs_parse_loadavg(char *text, struct snapshot *out)
{
	char *f[6], *slash;
	double l1, l5, l15;
	uint64_t threads;
	size_t nf = procfs_split(text, f, 6);

	/* "0.20 0.18 0.12 1/80 11206\n": the newline ends up in the last field. */
	if (nf < 4 || parse_double(f[0], &l1) < 0 || parse_double(f[1], &l5) < 0 ||
	    parse_double(f[2], &l15) < 0)
		return -EPROTO;
	snapshot_add(out, &m_load1, NULL, 0, l1);
	snapshot_add(out, &m_load5, NULL, 0, l5);
	snapshot_add(out, &m_load15, NULL, 0, l15);
	slash = strchr(f[3], '/');
	if (!slash || procfs_u64(slash + 1, &threads) < 0)
		return -EPROTO;
	snapshot_add(out, &m_threads, NULL, 0, (double)threads);
	return 0;
}

struct cpu_state {
	struct buf b;
	double hz;
	bool per_cpu;
};

static int cpu_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct cpu_state *st;
	long hz = sysconf(_SC_CLK_TCK);

	if (access("/proc/stat", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/stat': %s", strerror(errno));
	if (hz <= 0)
		return diag_set(why, -EINVAL, "sysconf(_SC_CLK_TCK) failed");
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, PROCFS_READ_MAX);
	st->hz = (double)hz;
	/* Past PROCFS_MAX_PER_CPU CPUs, per-CPU series would outweigh everything else the
	 * edge stores; the host totals still say how busy the machine is. */
	st->per_cpu = env->host ? env->host->ncpu <= PROCFS_MAX_PER_CPU : true;
	*ret_state = st;
	return 0;
}

static int cpu_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct cpu_state *st = state;
	int r, r2;

	(void)now_ms;
	r = procfs_read("/proc/stat", &st->b);
	if (r == 0)
		r = procfs_parse_stat(st->b.data, st->hz, st->per_cpu, out);
	r2 = procfs_read("/proc/loadavg", &st->b);
	if (r2 == 0)
		r2 = procfs_parse_loadavg(st->b.data, out);
	return r < 0 ? r : r2;
}

static void cpu_stop(void *state)
{
	struct cpu_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st);
}

const struct collector cpu_collector = {
	.name = "cpu",
	.kind = "procfs",
	.summary = "CPU time by mode (total and per CPU), load averages, context switches, "
	           "runnable and blocked tasks",
	.start = cpu_start,
	.collect = cpu_collect,
	.stop = cpu_stop,
};
