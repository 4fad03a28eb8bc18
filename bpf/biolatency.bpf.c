// SPDX-License-Identifier: GPL-2.0
/* biolatency.bpf.c - block I/O latency (issue to completion, the device's share) and
 * request sizes, per disk and operation, as log2 histograms in a per-CPU hash.
 *
 * Per request: one hash insert at issue, one lookup and delete at completion, one
 * per-CPU lookup for the histograms. The request pointer is the key: blk-mq reuses
 * requests, but never while one is in flight.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "biolatency.h"
#include "bits.bpf.h"
#include "maps.bpf.h"
#include "core_fixes.bpf.h"

#define MINORBITS   20
/* include/linux/blk_types.h: the operation is the low REQ_OP_BITS (8) bits. */
#define REQ_OP_MASK ((1u << 8) - 1)

struct start {
	__u64 ts;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BIO_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, struct start);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BIO_MAX_KEYS + 1);
	__type(key, struct bio_key);
	__type(value, struct bio_val);
} hists SEC(".maps");

static const struct bio_val zero_val;

static __always_inline __u32 op_of(struct request *rq)
{
	__u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;

	switch (op) {
	case REQ_OP_READ:
		return BIO_OP_READ;
	case REQ_OP_WRITE:
		return BIO_OP_WRITE;
	case REQ_OP_FLUSH:
		return BIO_OP_FLUSH;
	case REQ_OP_DISCARD:
		return BIO_OP_DISCARD;
	default:
		return BIO_OP_OTHER;
	}
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	struct start s = { bpf_ktime_get_ns(), BPF_CORE_READ(rq, __data_len) };
	__u64 key = (__u64)rq;

	bpf_map_update_elem(&inflight, &key, &s, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, delta;
	struct bio_key k = {};
	struct gendisk *disk;
	struct bio_val *v;
	struct start *s;

	s = bpf_map_lookup_elem(&inflight, &key);
	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	disk = request_disk(rq);
	k.dev = disk ? ((__u32)BPF_CORE_READ(disk, major) << MINORBITS) |
	                        (__u32)BPF_CORE_READ(disk, first_minor)
	             : 0;
	k.op = op_of(rq);
	v = k.dev ? map_lookup_or_init(&hists, &k, &zero_val) : NULL;
	if (!v) {
		k.dev = 0; /* no disk, or the map is full: "other" */
		k.op = 0;
		v = bpf_map_lookup_elem(&hists, &k);
	}
	if (v) {
		v->latency.slots[hist_slot(delta / 1000)]++;
		v->latency.sum += delta;
		v->size.slots[hist_slot(s->bytes)]++;
		v->size.sum += s->bytes;
	}
	bpf_map_delete_elem(&inflight, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
