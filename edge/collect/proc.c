/* proc.c - the "proc" collector: CPU, resident memory, open files and threads of the
 * processes that use the most CPU or memory, and the number of processes by state.
 *
 * Cost and memory stay bounded on hosts with many processes: one pass reads only
 * /proc/[pid]/stat (one small read each) into a compact array; the top N by CPU used
 * since the last round and the top N by RSS are chosen from it, and only those get the
 * more expensive /proc/[pid]/fd count. Series exist only for the chosen few, so label
 * cardinality stays at most 2 x collect.top_processes per round, and only processes
 * seen in two consecutive rounds are chosen, so short-lived ones do not churn series. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/str.h"
#include "shared/banned.h"

/* Processes considered per round; past this the rest are ignored for the top-N choice
 * (their states are still counted). 32768 entries are about 1.5 MiB, transiently. */
#define PROC_MAX_SCAN 32768

static const struct metric_desc m_cpu = { "ongrid_process_cpu_seconds_total", METRIC_COUNTER,
	                                  "CPU time of a top process (user + system)" };
static const struct metric_desc m_rss = { "ongrid_process_resident_memory_bytes", METRIC_GAUGE,
	                                  "Resident memory of a top process" };
static const struct metric_desc m_fds = { "ongrid_process_open_fds", METRIC_GAUGE,
	                                  "Open file descriptors of a top process" };
static const struct metric_desc m_threads = { "ongrid_process_threads", METRIC_GAUGE,
	                                      "Threads of a top process" };
static const struct metric_desc m_fd_alloc = { "ongrid_file_descriptors_allocated", METRIC_GAUGE,
	                                       "File handles allocated host-wide" };
static const struct metric_desc m_fd_max = {
	"ongrid_file_descriptors_limit", METRIC_GAUGE,
	"Most file handles the kernel allocates (fs.file-max)"
};
static const struct metric_desc m_states = { "ongrid_processes", METRIC_GAUGE,
	                                     "Processes on the host by scheduler state" };

int procfs_parse_pidstat(char *text, struct procfs_pidstat *ret)
{
	char *open = strchr(text, '('), *close = strrchr(text, ')'), *f[24];
	uint64_t utime, stime, threads, start, rss;
	size_t nf, len;

	if (!open || !close || close < open)
		return -EPROTO;
	/* After "pid (comm) " come fields 3.. of proc(5): state is field 3, utime 14,
	 * stime 15, num_threads 20, starttime 22, rss 24. */
	nf = procfs_split(close + 1, f, 24);
	if (nf < 22 || strlen(f[0]) != 1 || procfs_u64(f[11], &utime) < 0 ||
	    procfs_u64(f[12], &stime) < 0 || procfs_u64(f[17], &threads) < 0 ||
	    procfs_u64(f[19], &start) < 0 || procfs_u64(f[21], &rss) < 0)
		return -EPROTO;
	len = (size_t)(close - open - 1);
	if (len >= sizeof(ret->comm))
		len = sizeof(ret->comm) - 1;
	memcpy(ret->comm, open + 1, len);
	ret->comm[len] = '\0';
	ret->state = f[0][0];
	ret->utime = utime;
	ret->stime = stime;
	ret->threads = threads;
	ret->start_ticks = start;
	ret->rss_pages = rss;
	return 0;
}

struct proc_entry {
	int pid;
	char comm[16];
	uint32_t threads;
	uint64_t ticks, delta, rss_pages, start;
	bool chosen;
	bool fresh; /* not in the previous scan: one sample cannot make a rate */
};

struct proc_prev {
	int pid;
	uint64_t ticks, start;
};

struct proc_state {
	struct buf b;
	size_t top;
	double hz;
	long page_size;
	struct proc_entry *cur; /* this round's scan */
	size_t ncur, cur_alloc;
	struct proc_prev *prev; /* last round's CPU ticks, sorted by pid */
	size_t nprev, prev_alloc;
};

static int prev_cmp(const void *a, const void *b)
{
	int x = ((const struct proc_prev *)a)->pid, y = ((const struct proc_prev *)b)->pid;

	return (x > y) - (x < y);
}

/* Ties break by pid so that an idle host picks the same processes round after round:
 * an arbitrary pick among equals would mint new series every round. */
static int by_delta(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;

	if (x->delta != y->delta)
		return x->delta < y->delta ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A fresh process does not compete on RSS either (see proc_collect). */
static uint64_t rss_key(const struct proc_entry *e)
{
	return e->fresh ? 0 : e->rss_pages;
}

static int by_rss(const void *a, const void *b)
{
	const struct proc_entry *x = a, *y = b;

	if (rss_key(x) != rss_key(y))
		return rss_key(x) < rss_key(y) ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static const char *state_name(char s)
{
	switch (s) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk_sleep";
	case 'Z':
		return "zombie";
	case 'T':
		return "stopped";
	case 't':
		return "tracing_stop";
	case 'I':
		return "idle";
	case 'X':
		return "dead";
	default:
		return "other";
	}
}

static int count_fds(int pid)
{
	char path[32];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -errno; /* another user's process when we are not root */
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(dir);
	return n;
}

static void emit(struct proc_state *st, const struct proc_entry *e, struct snapshot *out)
{
	char pid[16];
	struct label l[] = { { "comm", e->comm }, { "pid", pid } };
	int fds;

	(void)snprintf(pid, sizeof(pid), "%d", e->pid);
	snapshot_add(out, &m_cpu, l, 2, (double)e->ticks / st->hz);
	snapshot_add(out, &m_rss, l, 2, (double)e->rss_pages * (double)st->page_size);
	snapshot_add(out, &m_threads, l, 2, (double)e->threads);
	fds = count_fds(e->pid);
	if (fds >= 0)
		snapshot_add(out, &m_fds, l, 2, (double)fds);
}

/* /proc/sys/fs/file-nr: "allocated unused maximum". */
static void add_file_nr(struct proc_state *st, struct snapshot *out)
{
	char *f[4];
	uint64_t alloc, max;

	if (procfs_read("/proc/sys/fs/file-nr", &st->b) < 0 || procfs_split(st->b.data, f, 4) < 3)
		return;
	/* the newline stays on the last field */
	f[2][strcspn(f[2], "\n")] = '\0';
	if (procfs_u64(f[0], &alloc) < 0 || procfs_u64(f[2], &max) < 0)
		return;
	snapshot_add(out, &m_fd_alloc, NULL, 0, (double)alloc);
	snapshot_add(out, &m_fd_max, NULL, 0, (double)max);
}

static int scan(struct proc_state *st, uint64_t states[128])
{
	struct dirent *de;
	char path[64];
	DIR *dir;
	int r = 0;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	st->ncur = 0;
	while ((de = readdir(dir))) {
		struct procfs_pidstat ps;
		struct proc_entry *e;
		int64_t pid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
		    str_to_i64(de->d_name, &pid) < 0 || pid <= 0 || pid > INT32_MAX)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (procfs_read(path, &st->b) < 0)
			continue; /* exited between readdir and open */
		if (procfs_parse_pidstat(st->b.data, &ps) < 0) {
			r = -EPROTO;
			continue;
		}
		states[(unsigned char)ps.state & 127]++;
		if (st->ncur >= PROC_MAX_SCAN)
			continue;
		ALLOC_GROW(st->cur, st->ncur + 1, st->cur_alloc);
		e = &st->cur[st->ncur++];
		e->pid = (int)pid;
		str_copy(e->comm, ps.comm, sizeof(e->comm));
		e->threads = ps.threads > UINT32_MAX ? UINT32_MAX : (uint32_t)ps.threads;
		e->ticks = ps.utime + ps.stime;
		e->rss_pages = ps.rss_pages;
		e->start = ps.start_ticks;
		e->chosen = false;
	}
	(void)closedir(dir);
	return r;
}

static int proc_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct proc_state *st = state;
	uint64_t states[128] = { 0 };
	size_t top;
	int r;

	(void)now_ms;
	r = scan(st, states);
	if (r == -ENOENT || r == -EACCES)
		return r;
	/* CPU used since the last round. A process the previous scan did not see (or a
	 * reused pid: another start time) is fresh and not chosen this round: most are
	 * short-lived (compilers, shell pipelines) and would each leave four series with a
	 * single sample, which no rate() can use and which only grow the store's index.
	 * Exec and exit of short-lived processes is what the procexec collector records. */
	for (size_t i = 0; i < st->ncur; i++) {
		struct proc_entry *e = &st->cur[i];
		struct proc_prev key = { e->pid, 0, 0 }, *p = NULL;
		if (st->nprev)
			p = bsearch(&key, st->prev, st->nprev, sizeof(*st->prev), prev_cmp);
		e->fresh = !p || p->start != e->start || p->ticks > e->ticks;
		e->delta = e->fresh ? 0 : e->ticks - p->ticks;
	}
	st->nprev = 0;
	ALLOC_GROW(st->prev, st->ncur, st->prev_alloc);
	for (size_t i = 0; i < st->ncur; i++)
		st->prev[st->nprev++] =
		        (struct proc_prev){ st->cur[i].pid, st->cur[i].ticks, st->cur[i].start };
	if (st->nprev)
		qsort(st->prev, st->nprev, sizeof(*st->prev), prev_cmp);

	top = st->top < st->ncur ? st->top : st->ncur;
	if (st->ncur)
		qsort(st->cur, st->ncur, sizeof(*st->cur), by_delta);
	/* Only processes that used CPU since the last round compete on CPU, and only
	 * ones with resident memory (not kernel threads) on RSS. */
	for (size_t i = 0; i < top && st->cur[i].delta > 0; i++)
		st->cur[i].chosen = true;
	/* The mark travels with the entry, so the CPU choice survives the RSS sort. */
	if (st->ncur)
		qsort(st->cur, st->ncur, sizeof(*st->cur), by_rss);
	for (size_t i = 0; i < top && rss_key(&st->cur[i]) > 0; i++)
		st->cur[i].chosen = true;
	for (size_t i = 0; i < st->ncur; i++)
		if (st->cur[i].chosen)
			emit(st, &st->cur[i], out);
	for (int s = 0; s < 128; s++) {
		struct label l = { "state", state_name((char)s) };
		if (states[s])
			snapshot_add(out, &m_states, &l, 1, (double)states[s]);
	}
	add_file_nr(st, out);
	/* Give back the scan array when a burst of processes has gone away. */
	if (st->cur_alloc > 4096 && st->ncur < st->cur_alloc / 4) {
		FREE_AND_NULL(st->cur);
		st->cur_alloc = 0;
	}
	return r;
}

static int proc_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct proc_state *st;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t top = env->conf ? env->conf->collect_top_processes : 10;

	if (access("/proc/self/stat", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/self/stat': %s", strerror(errno));
	if (hz <= 0)
		return diag_set(why, -EINVAL, "sysconf(_SC_CLK_TCK) failed");
	if (top <= 0)
		return diag_set(why, -EINVAL, "collect.top_processes is 0");
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, 4096);
	st->top = top > PROCFS_MAX_TOP ? PROCFS_MAX_TOP : (size_t)top;
	st->hz = (double)hz;
	st->page_size = sysconf(_SC_PAGESIZE);
	*ret_state = st;
	return 0;
}

static void proc_stop(void *state)
{
	struct proc_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st->cur);
	free(st->prev);
	free(st);
}

const struct collector proc_collector = {
	.name = "proc",
	.kind = "procfs",
	.summary = "CPU, memory, open files and threads of the top processes (collect."
	           "top_processes by CPU and by RSS), processes by state",
	.start = proc_start,
	.collect = proc_collect,
	.stop = proc_stop,
};
