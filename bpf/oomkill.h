/* oomkill.h - what bpf/oomkill.bpf.c shares with edge/collect/oomkill.c. */
#ifndef ONGRID_OOMKILL_H
#define ONGRID_OOMKILL_H

#define OOM_COMM_LEN      16
#define OOM_CGNAME_LEN    64
/* Ring buffer bytes: an OOM kill is rare, and 256 records between two collection rounds
 * would already be a storm; past that the kernel counts drops. */
#define OOM_RINGBUF_BYTES (64 * 1024)

/* One OOM victim, as the kernel marked it. */
struct oom_event {
	__u64 memcg_id;    /* kernfs id of the victim's memory cgroup (v1 memory or cgroup2) */
	__u64 usage_pages; /* that cgroup's memory usage at the kill, in pages */
	__u64 limit_pages; /* its limit (memory.max / memory.limit_in_bytes), in pages */
	__u64 ts_ns;       /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 pid;         /* the victim's process id (tgid) */
	__u32 pad;
	char comm[OOM_COMM_LEN];
	char cgname[OOM_CGNAME_LEN]; /* the cgroup directory's own name, if it is gone later */
};

#endif
