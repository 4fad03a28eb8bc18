// SPDX-License-Identifier: GPL-2.0
/* runqlat.bpf.c - run-queue latency: the time from a task becoming runnable (woken, or
 * preempted while still runnable) to it running on a CPU. Aggregated in the kernel into
 * log2 histograms in microseconds: one per CPU for the whole host, one per cgroup (the
 * task's cgroup2 cgroup, so per service).
 *
 * The switch storm case sets the budget here (~600k switches/s), so the main variant
 * attaches to sched_switch alone and reads what the scheduler already records: with
 * CONFIG_SCHED_INFO the kernel stamps task->sched_info.last_queued with its run queue's
 * clock when a task is queued, and clears it only after this tracepoint; the wait is that
 * run queue's clock now minus the stamp. No wakeup program, no clock read, no storage.
 * The user side checks that the stamps are there (they are not without SCHED_INFO) and
 * otherwise loads the raw_tp variant, which stamps wakeups itself in a hash keyed by pid.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "runqlat.h"
#include "bits.bpf.h"
#include "maps.bpf.h"
#include "core_fixes.bpf.h"

#define TASK_RUNNING 0

const volatile bool per_cgroup = true;

/* The raw_tp fallback's timestamps, keyed by pid (tid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} wakeup_ts_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hist);
} hist_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RUNQLAT_MAX_CGROUPS + 1);
	__type(key, __u64);
	__type(value, struct hist);
} hist_cgroup SEC(".maps");

static const struct hist zero_hist;

/* cgid: the task's cgroup2 id, 0 when not per_cgroup. */
static __always_inline void account(__u64 cgid, __u64 delta_ns)
{
	__u32 slot = hist_slot(delta_ns / 1000), zero = 0;
	struct hist *h;

	h = bpf_map_lookup_elem(&hist_total, &zero);
	if (!h)
		return;
	h->slots[slot]++;
	h->sum += delta_ns;
	if (!per_cgroup)
		return;
	h = map_lookup_or_init(&hist_cgroup, &cgid, &zero_hist);
	if (!h) {
		cgid = 0; /* map full: the "other" entry */
		h = bpf_map_lookup_elem(&hist_cgroup, &cgid);
		if (!h)
			return;
	}
	h->slots[slot]++;
	h->sum += delta_ns;
}

/* ---- tp_btf: the scheduler's own stamps ---------------------------------- */

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 queued = next->sched_info.last_queued, now;

	/* The pointers are trusted here: plain loads, no bpf_probe_read_kernel() calls. */
	if (!queued)
		return 0;
	/* This CPU's run queue, whose clock __schedule() has just updated: next is queued
	 * on it (its group's cfs_rq on this CPU; set for every scheduling class). */
	now = next->se.cfs_rq->rq->clock;
	if (now <= queued)
		return 0;
	account(per_cgroup ? next->cgroups->dfl_cgrp->kn->id : 0, now - queued);
	return 0;
}

/* ---- raw_tp: hash keyed by pid ------------------------------------------ */

static __always_inline void stamp_pid(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 ts = bpf_ktime_get_ns();

	if (pid)
		bpf_map_update_elem(&wakeup_ts_pid, &pid, &ts, BPF_ANY);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	stamp_pid(p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	stamp_pid(p);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 pid = BPF_CORE_READ(next, pid);
	__u64 *ts, delta;

	if (task_state(prev) == TASK_RUNNING)
		stamp_pid(prev);
	ts = bpf_map_lookup_elem(&wakeup_ts_pid, &pid);
	if (!ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&wakeup_ts_pid, &pid);
	account(per_cgroup ? BPF_CORE_READ(next, cgroups, dfl_cgrp, kn, id) : 0, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
