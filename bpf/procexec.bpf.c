// SPDX-License-Identifier: GPL-2.0
/* procexec.bpf.c - process execs per command, and process exits per command and exit
 * status, so a crash loop (the same command dying again and again with one code or
 * signal) shows as a counter that climbs.
 *
 * An exit counts once per process, when its last thread exits, with the status wait(2)
 * would report. Counts are per (comm, event, status) in a hash
 * updated with atomic adds: no record per event leaves the kernel.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "procexec.h"
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROC_MAX_KEYS + 1);
	__type(key, struct proc_key);
	__type(value, __u64);
} counts SEC(".maps");

static const __u64 zero;

static __always_inline void count(struct proc_key *k)
{
	__u64 *n = map_lookup_or_init(&counts, k, &zero);

	if (!n) {
		/* The map is full: the event's "other" entry, which has no comm or status. */
		__builtin_memset(k->comm, 0, sizeof(k->comm));
		k->status = 0;
		n = bpf_map_lookup_elem(&counts, k);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p)
{
	struct proc_key k = { .event = PROCEXEC_EXEC };

	BPF_CORE_READ_STR_INTO(&k.comm, p, comm);
	count(&k);
	return 0;
}

static __always_inline void count_exit(struct task_struct *p)
{
	struct proc_key k = { .event = PROCEXEC_EXIT };

	k.status = BPF_CORE_READ(p, exit_code) & 0xffff;
	BPF_CORE_READ_STR_INTO(&k.comm, p, comm);
	count(&k);
}

/* Kernels since 6.16 pass group_dead, the result of do_exit()'s own
 * atomic_dec_and_test(&signal->live): true for exactly one thread of the process. User
 * space loads this program when the tracepoint has that argument. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit_group, struct task_struct *p, bool group_dead)
{
	if (group_dead)
		count_exit(p);
	return 0;
}

/* Older kernels: read signal->live after do_exit() decremented it. When the last two
 * threads of a process exit at the same moment on two CPUs, both can read 0, so an exit
 * can be counted twice there; the kernel gives no exact signal before 6.16. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		count_exit(p);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
