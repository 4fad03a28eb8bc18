// SPDX-License-Identifier: GPL-2.0
/* runqlat.bpf.c - run-queue latency: the time from a task becoming runnable (woken, or
 * preempted while still runnable) to it running on a CPU. Aggregated in the kernel into
 * log2 histograms in microseconds: one per CPU for the whole host, one per cgroup (the
 * task's cgroup2 cgroup, so per service).
 *
 * The switch storm case sets the budget here (~600k switches/s): each event does one
 * task-local-storage access and two map lookups, no hash insert on the hot path except
 * the first time a cgroup is seen. The tp_btf programs carry the task pointer the
 * verifier trusts, which task storage needs; the raw_tp fallback (kernels without
 * BTF-typed tracepoints) keeps the timestamps in a hash keyed by pid instead.
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

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} wakeup_ts SEC(".maps");

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

/* ---- tp_btf: task-local storage ---------------------------------------- */

static __always_inline void stamp_task(struct task_struct *p, __u64 now)
{
	__u64 *ts = bpf_task_storage_get(&wakeup_ts, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (ts)
		*ts = now;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	stamp_task(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	stamp_task(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 *ts, t, now = 0;

	/* The pointers are trusted here: plain loads, no bpf_probe_read_kernel() calls.
	 * The clock is read at most once (45 ns in a VM: as much as the rest). */
	if (task_state_btf(prev) == TASK_RUNNING) {
		now = bpf_ktime_get_ns();
		stamp_task(prev, now);
	}
	ts = bpf_task_storage_get(&wakeup_ts, next, 0, 0);
	if (!ts || !*ts)
		return 0;
	t = *ts;
	*ts = 0;
	if (!now)
		now = bpf_ktime_get_ns();
	account(per_cgroup ? next->cgroups->dfl_cgrp->kn->id : 0, now - t);
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
