/* biolatency.c - block I/O latency and request sizes per disk and operation
 * (bpf/biolatency.bpf.c).
 *
 * Latency runs from the request's issue to the device until its completion: the
 * device's share, without time queued in the scheduler. Histograms are cumulative in the
 * kernel; disk="other" takes the (disk, op) pairs past the map's capacity.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "shared/alloc.h"
#include "shared/str.h"
#include "bpf/biolatency.h"
#if ONGRID_BPF
#include "biolatency.skel.h"
#endif
#include "shared/banned.h"

/* Disk names remembered; a host with more disks than this names the rest MAJ:MIN. */
#define BIO_NAME_CACHE 64

/* _unused_: a BPF=0 build has no reader, so nothing refers to these. */
static const struct metric_desc bio_latency _unused_ = {
	"ongrid_bio_latency_seconds", METRIC_HISTOGRAM,
	"block I/O latency from issue to the device until completion, per disk and operation"
};
static const struct metric_desc bio_size _unused_ = {
	"ongrid_bio_size_bytes", METRIC_HISTOGRAM, "block I/O request size, per disk and operation"
};

static const char *const op_names[_BIO_OP_MAX] _unused_ = { "read", "write", "flush", "discard",
	                                                    "other" };

struct biolatency {
#if ONGRID_BPF
	struct biolatency_bpf *skel;
#endif
	struct {
		uint32_t dev;
		char name[32];
	} names[BIO_NAME_CACHE];
	size_t nnames;
};

static void biolatency_stop(void *state)
{
	struct biolatency *b = state;

	if (!b)
		return;
#if ONGRID_BPF
	biolatency_bpf__destroy(b->skel);
#endif
	free(b);
}

static int biolatency_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	int r = ebpf_check(env, why);

	if (r < 0)
		return r;
#if ONGRID_BPF
	struct biolatency *b;
	struct bio_key other = { 0, 0 };

	if (!ebpf_tp_btf_ok("block_rq_issue"))
		return diag_set(why, -EOPNOTSUPP,
		                "the kernel does not load tp_btf/block_rq_issue programs");
	b = xcalloc(1, sizeof(*b));
	b->skel = biolatency_bpf__open();
	if (!b->skel) {
		r = ebpf_fail(why, -errno, "open");
		goto out_stop;
	}
	r = biolatency_bpf__load(b->skel);
	if (r < 0) {
		ebpf_fail(why, r, "load");
		goto out_stop;
	}
	ebpf_release_object_bytes(b->skel->skeleton);
	r = ebpf_percpu_zero(bpf_map__fd(b->skel->maps.hists), &other, sizeof(struct bio_val));
	if (r < 0) {
		ebpf_fail(why, r, "initialise the maps of");
		goto out_stop;
	}
	r = biolatency_bpf__attach(b->skel);
	if (r < 0) {
		ebpf_fail(why, r, "attach");
		goto out_stop;
	}
	*ret_state = b;
	return 0;

out_stop:
	biolatency_stop(b);
	return r;
#else
	(void)ret_state;
	return -EOPNOTSUPP;
#endif
}

#if ONGRID_BPF
/* The kernel's dev_t (major << 20 | minor) to the disk's name under /sys/dev/block. */
static void disk_name(struct biolatency *b, uint32_t dev, char *out, size_t outsz)
{
	unsigned major = dev >> 20, minor = dev & 0xfffff;
	char link[64], target[PATH_MAX];
	ssize_t n;

	for (size_t i = 0; i < b->nnames; i++)
		if (b->names[i].dev == dev) {
			str_copy(out, b->names[i].name, outsz);
			return;
		}
	snprintf(out, outsz, "%u:%u", major, minor);
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major, minor);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return; /* not cached: the disk may appear later */
	target[n] = '\0';
	const char *base = strrchr(target, '/');
	str_copy(out, base ? base + 1 : target, outsz);
	if (b->nnames < BIO_NAME_CACHE) {
		b->names[b->nnames].dev = dev;
		str_copy(b->names[b->nnames++].name, out, sizeof(b->names[0].name));
	}
}

/* Sum a per-CPU struct bio_val. */
static int read_val(int fd, const struct bio_key *k, struct bio_val *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bio_val *vals;
	int r = 0;

	if (ncpu <= 0)
		return -EINVAL;
	vals = xcalloc((size_t)ncpu, sizeof(*vals));
	if (bpf_map_lookup_elem(fd, k, vals) < 0) {
		r = -errno;
	} else {
		for (int i = 0; i < ncpu; i++) {
			hist_merge(&out->latency, &vals[i].latency);
			hist_merge(&out->size, &vals[i].size);
		}
	}
	free(vals);
	return r;
}
#endif

static int biolatency_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct biolatency *b = state;

	(void)now_ms;
#if ONGRID_BPF
	int fd = bpf_map__fd(b->skel->maps.hists);
	struct bio_key key, next;
	void *prev = NULL;

	for (int i = 0; i <= BIO_MAX_KEYS && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		struct bio_val v = { 0 };
		char disk[64];

		key = next;
		prev = &key;
		if (read_val(fd, &key, &v) < 0 || hist_count(&v.latency) == 0)
			continue;
		if (key.dev == 0)
			str_copy(disk, "other", sizeof(disk));
		else
			disk_name(b, key.dev, disk, sizeof(disk));
		const struct label l[] = {
			{ "disk", disk },
			{ "op", key.dev && key.op < _BIO_OP_MAX ? op_names[key.op] : "other" },
		};
		ebpf_export_hist(out, &bio_latency, l, ARRAY_SIZE(l), &v.latency, 1e-6, 1e-9, 0);
		/* Requests are at least a 512-byte sector: start the buckets at 1 KiB. */
		ebpf_export_hist(out, &bio_size, l, ARRAY_SIZE(l), &v.size, 1, 1, 9);
	}
	return 0;
#else
	(void)b;
	(void)out;
	return -EOPNOTSUPP;
#endif
}

const struct collector biolatency_collector = {
	.name = "biolatency",
	.kind = "ebpf",
	.summary = "block I/O latency and size histograms per disk and operation",
	.fallback = "disk",
	.start = biolatency_start,
	.collect = biolatency_collect,
	.stop = biolatency_stop,
};
