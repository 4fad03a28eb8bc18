/* host_probe_cpu.c - is the CPU the problem, and who is using it? Utilisation by mode and
 * steal over one second now, CPU pressure (PSI), run-queue latency from the runqlat eBPF
 * collector (how long runnable tasks wait for a CPU: the measure of saturation that
 * utilisation is not), load against the number of CPUs, and the busiest processes. With
 * the daemon running, utilisation 30, 15 and 5 minutes ago from its store. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/procs.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

static const char *const modes[] = {
	"user", "system", "iowait", "irq", "softirq", "steal", "nice"
};

static int cpu_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	struct snapshot a, b;
	cJSON *off, *ev, *util, *rows;
	struct proc_row *procs;
	size_t nprocs, limit = arg_limit(args);
	int truncated, r;
	double total, idle, pct[sizeof(modes) / sizeof(modes[0])];

	r = evidence_sample(ctx->conf, "cpu,pressure,runqlat", 1000, &a, &b, &off, &ctx->diag);
	if (r < 0)
		return r;
	ev = evidence_new();
	double ncpu = snap_value(&b, "ongrid_cpus", NULL, NULL);
	total = snap_delta(&a, &b, "ongrid_cpu_seconds_total", NULL, NULL);
	idle = snap_delta(&a, &b, "ongrid_cpu_seconds_total", "mode", "idle");
	util = json_obj();
	double busy = total > 0 ? (1 - idle / total) * 100 : NAN;
	json_add_num(util, "busy_pct", round(busy * 10) / 10);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		pct[i] = total > 0 ? snap_delta(&a, &b, "ongrid_cpu_seconds_total", "mode",
		                                modes[i]) /
		                             total * 100
		                   : NAN;
		json_add_num(util, modes[i], isnan(pct[i]) ? 0 : round(pct[i] * 10) / 10);
	}
	json_add(ev, "utilisation_pct", util);
	double psi_some = snap_value(&b, "ongrid_pressure_cpu_some_avg10", NULL, NULL);
	double load1 = snap_value(&b, "ongrid_load1", NULL, NULL);
	double running = snap_value(&b, "ongrid_procs_running", NULL, NULL);
	double rq_p50 = snap_hist_quantile(&a, &b, "ongrid_runq_latency_seconds", 0.5);
	double rq_p99 = snap_hist_quantile(&a, &b, "ongrid_runq_latency_seconds", 0.99);
	double rq_n = snap_delta(&a, &b, "ongrid_runq_latency_seconds_count", NULL, NULL);
	cJSON *sat = json_obj();
	json_add_num(sat, "cpus", ncpu);
	json_add_num(sat, "load1", load1);
	json_add_num(sat, "procs_running", running);
	json_add_num(sat, "psi_cpu_some_avg10", psi_some);
	if (!isnan(rq_p99)) {
		json_add_num(sat, "runq_latency_p50_ms", rq_p50 * 1000);
		json_add_num(sat, "runq_latency_p99_ms", rq_p99 * 1000);
		json_add_num(sat, "runq_wakeups_per_s", rq_n);
	}
	json_add(ev, "saturation", sat);

	evidence_say(ev,
	             "CPU %.0f%% busy over 1 s on %.0f CPUs (user %.0f%%, system %.0f%%, iowait "
	             "%.0f%%, steal %.0f%%)",
	             busy, ncpu, pct[0], pct[1], pct[2], pct[5]);
	if (!isnan(rq_p99))
		evidence_say(ev, "run-queue latency p50 %.2f ms, p99 %.2f ms over %.0f wakeups%s",
		             rq_p50 * 1000, rq_p99 * 1000, rq_n,
		             rq_p99 > 0.01 ? ": runnable tasks wait for a CPU (saturated)" : "");
	else
		evidence_say(ev, "run-queue latency not measured (runqlat eBPF collector off)");
	if (!isnan(psi_some))
		evidence_say(ev, "CPU pressure: some tasks stalled %.1f%% of the last 10 s%s",
		             psi_some, psi_some > 20 ? " (high)" : "");
	if (!isnan(load1) && ncpu > 0 && load1 > ncpu)
		evidence_say(ev, "load %.2f is above the %.0f CPUs", load1, ncpu);
	if (pct[5] > 10)
		evidence_say(ev,
		             "steal %.0f%%: the hypervisor is giving this VM's CPU time to "
		             "others",
		             pct[5]);
	if (pct[2] > 20)
		evidence_say(ev,
		             "iowait %.0f%%: CPUs idle waiting for storage; see host_probe_disk",
		             pct[2]);

	procs_scan(500, &procs, &nprocs, &truncated);
	qsort(procs, nprocs, sizeof(*procs), procs_by_cpu);
	rows = evidence_rows(ev, "top_processes");
	for (size_t i = 0; i < nprocs && i < limit; i++)
		json_push(rows, procs_json(&procs[i]));
	if (nprocs > 0 && procs[0].cpu_pct >= 1)
		evidence_say(ev, "busiest process: pid %d (%s) at %.0f%% of one CPU", procs[0].pid,
		             procs[0].comm, procs[0].cpu_pct);
	free(procs);

	static const int64_t ago[] = { 1800000, 900000, 300000 }; /* 30, 15, 5 min */
	double hist[3];
	if (evidence_history(ctx->conf,
	                     "100 * (1 - sum(rate(ongrid_cpu_seconds_total{mode=\"idle\"}[1m])) / "
	                     "sum(rate(ongrid_cpu_seconds_total[1m])))",
	                     ago, 3, hist)) {
		json_add_str(ev, "history", "on");
		evidence_trend(ev, "CPU busy", hist, busy, TREND_PCT);
		cJSON *h = json_obj();
		json_add_num(h, "busy_pct_30m_ago", hist[0]);
		json_add_num(h, "busy_pct_15m_ago", hist[1]);
		json_add_num(h, "busy_pct_5m_ago", hist[2]);
		json_add(ev, "trend", h);
	} else {
		json_add_str(ev, "history", "off: no daemon running; two samples 1 s apart now");
	}
	json_add(ev, "collectors_off", off);
	snapshot_release(&a);
	snapshot_release(&b);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_host_probe_cpu = {
	.name = "host_probe_cpu",
	.class = TOOL_SAFE_READ,
	.summary = "CPU now: utilisation by mode, PSI, run-queue latency, load, top processes",
	.description = "One call for 'is the CPU the problem': utilisation by mode (user, system, "
	               "iowait, steal) over 1 s, CPU pressure stall information, run-queue "
	               "latency p50/p99 from eBPF, load against CPU count, and the busiest "
	               "processes over 0.5 s. With the daemon running, the trend of the last "
	               "30 minutes.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = cpu_run,
};
