/* hist.h - the log2 histogram the BPF programs fill and the edge reads.
 *
 * Shared by both compilers (clang -target bpf and the host compiler), so only __u64-style
 * types. Slot i counts values v (in the histogram's unit, microseconds or bytes) with
 * floor(log2(v)) == i, slot 0 also holds 0: slot i is [2^i, 2^(i+1)), so every value in it
 * is below 2^(i+1), which the edge exports as the bucket's upper bound (le). The last slot
 * also takes everything larger, and the edge exports it as +Inf only.
 */
#ifndef ONGRID_BPF_HIST_H
#define ONGRID_BPF_HIST_H

/* The BPF side has the types from vmlinux.h; user space from the UAPI header. */
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* 2^26 us is 67 s of latency and 2^26 bytes is 64 MiB of I/O: enough for both. */
#define HIST_SLOTS 27

struct hist {
	__u64 slots[HIST_SLOTS];
	__u64 sum; /* sum of the values in their finest unit: nanoseconds or bytes */
};

/* An IPv4 or IPv6 address as a map key: IPv4 in the first 4 bytes. family 0 is the
 * "other" entry that takes what no longer fits in a per-peer map. */
struct peer_key {
	__u8 addr[16];
	__u16 family; /* AF_INET, AF_INET6, or 0 for "other" */
	__u16 pad[3];
};

#endif
