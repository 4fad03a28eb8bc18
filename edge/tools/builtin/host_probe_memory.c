/* host_probe_memory.c - is memory the problem? Available memory and swap now, memory
 * pressure (PSI), major faults and OOM kills over one second, the largest processes by
 * resident memory, and the OOM kills the kernel still remembers (/dev/kmsg), each with
 * its victim. With the daemon running, available memory 30, 15 and 5 minutes ago. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/change.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/procs.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* OOM kills listed from the kernel ring buffer, newest kept. */
#define MEM_OOM_MAX 10

static void add_ooms(cJSON *ev)
{
	struct change_event ring[MEM_OOM_MAX];
	size_t n = 0;
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int64_t boot = change_boot_ms();
	cJSON *rows = evidence_rows(ev, "oom_kills");

	if (fd < 0) {
		evidence_say(ev, "OOM history unknown: cannot read /dev/kmsg (%s)",
		             strerror(errno));
		return;
	}
	for (int i = 0; i < 200000; i++) {
		ssize_t k = read(fd, rec, sizeof(rec) - 1);
		if (k < 0 && (errno == EPIPE || errno == EINTR))
			continue;
		if (k <= 0)
			break;
		rec[k] = '\0';
		struct change_event e;
		if (change_parse_kmsg(rec, boot, &e) == 1 && strstr(e.detail, "OOM kill"))
			ring[n++ % MEM_OOM_MAX] = e;
	}
	close(fd);
	size_t shown = n < MEM_OOM_MAX ? n : MEM_OOM_MAX;
	for (size_t i = 0; i < shown; i++) {
		const struct change_event *e = &ring[(n - 1 - i) % MEM_OOM_MAX];
		char when[40];
		cJSON *o = json_obj();
		clock_format_rfc3339(when, sizeof(when), e->t_ms);
		json_add_str(o, "time", when);
		json_add_num(o, "pid", e->pid);
		json_add_str(o, "comm", e->comm);
		json_add_str(o, "detail", e->detail);
		json_push(rows, o);
	}
	if (n == 0) {
		evidence_say(ev, "no OOM kill in the kernel's ring buffer");
	} else {
		const struct change_event *last = &ring[(n - 1) % MEM_OOM_MAX];
		char when[40];
		clock_format_rfc3339(when, sizeof(when), last->t_ms);
		evidence_say(ev, "%zu OOM kills in the kernel's ring buffer; last at %s: %s", n,
		             when, last->detail);
	}
}

static int mem_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	struct snapshot a, b;
	cJSON *off, *ev, *m, *rows;
	struct proc_row *procs;
	size_t nprocs;
	int truncated, r;
	char s1[32], s2[32], s3[32];

	r = evidence_sample(ctx->conf, "memory,pressure", 1000, &a, &b, &off, &ctx->diag);
	if (r < 0)
		return r;
	ev = evidence_new();
	double total = snap_value(&b, "ongrid_memory_total_bytes", NULL, NULL);
	double avail = snap_value(&b, "ongrid_memory_available_bytes", NULL, NULL);
	double swap_t = snap_value(&b, "ongrid_swap_total_bytes", NULL, NULL);
	double swap_f = snap_value(&b, "ongrid_swap_free_bytes", NULL, NULL);
	double some = snap_value(&b, "ongrid_pressure_memory_some_avg10", NULL, NULL);
	double full = snap_value(&b, "ongrid_pressure_memory_full_avg10", NULL, NULL);
	double majflt = snap_delta(&a, &b, "ongrid_memory_major_faults_total", NULL, NULL);
	double swapin = snap_delta(&a, &b, "ongrid_swap_in_bytes_total", NULL, NULL);
	double ooms = snap_delta(&a, &b, "ongrid_memory_oom_kills_total", NULL, NULL);
	m = json_obj();
	json_add_num(m, "total_bytes", total);
	json_add_num(m, "available_bytes", avail);
	json_add_num(m, "swap_total_bytes", swap_t);
	json_add_num(m, "swap_used_bytes", swap_t - swap_f);
	json_add_num(m, "psi_memory_some_avg10", some);
	json_add_num(m, "psi_memory_full_avg10", full);
	json_add_num(m, "major_faults_per_s", isnan(majflt) ? 0 : majflt);
	json_add_num(m, "swap_in_bytes_per_s", isnan(swapin) ? 0 : swapin);
	json_add(ev, "memory", m);
	evidence_bytes(s1, sizeof(s1), avail);
	evidence_bytes(s2, sizeof(s2), total);
	evidence_bytes(s3, sizeof(s3), swap_t - swap_f);
	evidence_say(ev, "%s available of %s (%.0f%% used), swap used %s", s1, s2,
	             total > 0 ? (1 - avail / total) * 100 : NAN, s3);
	if (!isnan(some))
		evidence_say(ev,
		             "memory pressure: some tasks stalled %.1f%%, all tasks %.1f%% of the "
		             "last 10 s%s",
		             some, full, some > 10 ? " (reclaim is hurting)" : "");
	if (majflt > 100 || swapin > 0)
		evidence_say(ev,
		             "%.0f major faults/s and %.0f B/s swapped in: the working set does "
		             "not fit",
		             majflt, swapin);
	if (ooms > 0)
		evidence_say(ev, "%.0f OOM kills in the last second", ooms);

	procs_scan(0, &procs, &nprocs, &truncated);
	qsort(procs, nprocs, sizeof(*procs), procs_by_rss);
	rows = evidence_rows(ev, "top_rss");
	for (size_t i = 0; i < nprocs && i < arg_limit(args); i++)
		json_push(rows, procs_json(&procs[i]));
	if (nprocs > 0 && total > 0) {
		evidence_bytes(s1, sizeof(s1), (double)procs[0].rss_bytes);
		evidence_say(ev, "largest process: pid %d (%s) with %s resident (%.0f%% of memory)",
		             procs[0].pid, procs[0].comm, s1,
		             (double)procs[0].rss_bytes / total * 100);
	}
	free(procs);
	add_ooms(ev);

	static const int64_t ago[] = { 1800000, 900000, 300000 }; /* 30, 15, 5 min */
	double hist[3];
	if (evidence_history(ctx->conf, "ongrid_memory_available_bytes", ago, 3, hist)) {
		json_add_str(ev, "history", "on");
		evidence_trend(ev, "memory available", hist, avail, TREND_BYTES);
	} else {
		json_add_str(ev, "history", "off: no daemon running; two samples 1 s apart now");
	}
	json_add(ev, "collectors_off", off);
	snapshot_release(&a);
	snapshot_release(&b);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_host_probe_memory = {
	.name = "host_probe_memory",
	.class = TOOL_SAFE_READ,
	.summary = "memory now: available, swap, PSI, major faults, top RSS, OOM kills",
	.description = "One call for 'is memory the problem': available memory and swap, memory "
	               "pressure stall information, major faults and swap-in per second, the "
	               "largest processes by resident memory, and the OOM kills in the kernel's "
	               "ring buffer with their victims. With the daemon running, the trend of "
	               "available memory.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = mem_run,
};
