// SPDX-License-Identifier: GPL-2.0
/* profile.bpf.c - on-CPU sampling for the profile_cpu tool: attached to a cpu-clock
 * perf event on every CPU, each sample records the running task's kernel and user stack
 * ids (BPF_MAP_TYPE_STACK_TRACE) and counts them per (pid, kernel stack, user stack). The
 * idle task is counted too, so the user side can say how idle the CPUs were. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "profile.h"

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, PROFILE_MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PROFILE_MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROFILE_MAX_KEYS);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

/* samples that found the counts map full */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	struct profile_key k = {};
	__u64 one = 1, *v;
	__u32 zero = 0;

	k.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&k.comm, sizeof(k.comm));
	k.kstack = bpf_get_stackid(ctx, &stacks, 0);
	k.ustack = k.pid ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	v = bpf_map_lookup_elem(&counts, &k);
	if (v) {
		__sync_fetch_and_add(v, 1);
		return 0;
	}
	if (bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST) != 0) {
		v = bpf_map_lookup_elem(&counts, &k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else if ((v = bpf_map_lookup_elem(&lost, &zero)))
			*v += 1;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
