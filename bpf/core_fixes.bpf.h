/* core_fixes.bpf.h - fields that kernels renamed or moved, read through CO-RE existence
 * checks instead of version tests (iovisor/bcc:libbpf-tools/core_fixes.bpf.h). */
#ifndef ONGRID_CORE_FIXES_BPF_H
#define ONGRID_CORE_FIXES_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_core_read.h>

/* task_struct::state became __state in 5.14. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

static __always_inline __s64 task_state(void *task)
{
	struct task_struct___o *t = task;

	if (bpf_core_field_exists(t->state))
		return BPF_CORE_READ(t, state);
	return BPF_CORE_READ((struct task_struct *)task, __state);
}

/* The same for a pointer the verifier trusts (tp_btf arguments): a plain load. The
 * branch for the field this kernel lacks is removed before the verifier sees it. */
static __always_inline __s64 task_state_btf(struct task_struct *task)
{
	struct task_struct___o *t = (void *)task;

	if (bpf_core_field_exists(t->state))
		return t->state;
	return task->__state;
}

/* request::rq_disk went away in 5.17; the disk is reached through the queue since. */
struct request___o {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *request_disk(void *rq)
{
	struct request___o *r = rq;

	if (bpf_core_field_exists(r->rq_disk))
		return BPF_CORE_READ(r, rq_disk);
	return BPF_CORE_READ((struct request *)rq, q, disk);
}

#endif
