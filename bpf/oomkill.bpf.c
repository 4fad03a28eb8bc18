// SPDX-License-Identifier: GPL-2.0
/* oomkill.bpf.c - OOM kills: the victim and the state of its memory cgroup, from
 * oom:mark_victim. OOM kills are rare, so each one is a record in a ring buffer that user
 * space drains every round; the drops counter says if it ever filled.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "oomkill.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, OOM_RINGBUF_BYTES);
} events SEC(".maps");

__u64 kills = 0;
__u64 drops = 0;

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *task)
{
	int memory_id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css = NULL;
	struct mem_cgroup *memcg;
	struct oom_event *e;
	const char *name;

	__sync_fetch_and_add(&kills, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&drops, 1);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = BPF_CORE_READ(task, tgid);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	if (memory_id >= 0 && memory_id < CGROUP_SUBSYS_COUNT)
		css = BPF_CORE_READ(task, cgroups, subsys[memory_id]);
	if (css) {
		/* css is mem_cgroup's first member, but say so through CO-RE. */
		memcg = (void *)css - bpf_core_field_offset(struct mem_cgroup, css);
		e->usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
		e->limit_pages = BPF_CORE_READ(memcg, memory.max);
		e->memcg_id = BPF_CORE_READ(css, cgroup, kn, id);
		name = BPF_CORE_READ(css, cgroup, kn, name);
		bpf_probe_read_kernel_str(e->cgname, sizeof(e->cgname), name);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
