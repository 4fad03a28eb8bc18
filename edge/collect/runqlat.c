/* runqlat.c - run-queue latency, for the host and per cgroup (bpf/runqlat.bpf.c).
 *
 * The kernel keeps cumulative log2 histograms; each round reads them whole, so the
 * exported histograms are Prometheus counters that only grow. The host-wide series has
 * no cgroup label; each cgroup's series has cgroup="<path under the cgroup2 mount>", and
 * cgroup="other" takes the cgroups that no longer fit in the kernel's map. Entries of
 * cgroups that have been removed are deleted from the map, which frees their slots.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "shared/alloc.h"
#include "shared/log.h"
#include "bpf/runqlat.h"
#if ONGRID_BPF
#include "runqlat.skel.h"
#endif
#include "shared/banned.h"

/* _unused_: a BPF=0 build has no reader, so nothing refers to these. */
static const struct metric_desc runq_latency _unused_ = {
	"ongrid_runq_latency_seconds", METRIC_HISTOGRAM,
	"time runnable tasks waited for a CPU; without cgroup: the whole host"
};

struct runqlat {
#if ONGRID_BPF
	struct runqlat_bpf *skel;
#endif
	struct cgname *cg; /* NULL without a cgroup2 mount: no per-cgroup series */
};

static void runqlat_stop(void *state)
{
	struct runqlat *rq = state;

	if (!rq)
		return;
#if ONGRID_BPF
	runqlat_bpf__destroy(rq->skel);
#endif
	cgname_free(rq->cg);
	free(rq);
}

#if ONGRID_BPF
/* Open, load and attach one variant: the sched_info one (tp_btf) or the one that stamps
 * wakeups itself (raw_tp). On failure rq->skel is destroyed and NULL. */
static int load_variant(struct runqlat *rq, bool tp_btf, struct diag *why)
{
	const struct hist zero = { 0 };
	uint64_t other = 0;
	int r;

	rq->skel = runqlat_bpf__open();
	if (!rq->skel)
		return ebpf_fail(why, -errno, "open");
	rq->skel->rodata->per_cgroup = rq->cg != NULL;
	ebpf_pick_programs(rq->skel->obj, tp_btf);
	r = runqlat_bpf__load(rq->skel);
	if (r < 0) {
		ebpf_fail(why, r, "load");
		goto out_destroy;
	}
	ebpf_release_object_bytes(rq->skel->skeleton);
	/* The "other" entry exists before the first event, so a full map still counts. */
	r = ebpf_percpu_zero(bpf_map__fd(rq->skel->maps.hist_cgroup), &other, sizeof(zero));
	if (r < 0) {
		ebpf_fail(why, r, "initialise the maps of");
		goto out_destroy;
	}
	r = runqlat_bpf__attach(rq->skel);
	if (r < 0) {
		ebpf_fail(why, r, "attach");
		goto out_destroy;
	}
	return 0;

out_destroy:
	runqlat_bpf__destroy(rq->skel);
	rq->skel = NULL;
	return r;
}

/* Did the sched_info variant count anything? Without CONFIG_SCHED_INFO's stamps it never
 * does. Our own sleeps here end in a wakeup and a switch to us, so 100 ms is plenty. */
static bool stamps_seen(struct runqlat *rq)
{
	const struct timespec tick = { 0, 10000000L }; /* 10 ms */
	uint32_t zero = 0;

	for (int i = 0; i < 10; i++) {
		struct hist h = { 0 };
		nanosleep(&tick, NULL);
		if (ebpf_percpu_hist(bpf_map__fd(rq->skel->maps.hist_total), &zero, &h) == 0 &&
		    hist_count(&h) > 0)
			return true;
	}
	return false;
}
#endif

static int runqlat_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	int r = ebpf_check(env, why);

	if (r < 0)
		return r;
#if ONGRID_BPF
	struct runqlat *rq = xcalloc(1, sizeof(*rq));

	rq->cg = cgname_new(NULL);
	if (ebpf_tp_btf_ok("sched_switch")) {
		r = load_variant(rq, true, why);
		if (r == 0 && stamps_seen(rq)) {
			*ret_state = rq;
			return 0;
		}
		log_info("runqlat: %s, stamping wakeups instead",
		         r < 0 ? why->msg : "the kernel keeps no run-queue stamps (SCHED_INFO)");
		runqlat_bpf__destroy(rq->skel);
		rq->skel = NULL;
	}
	r = load_variant(rq, false, why);
	if (r < 0) {
		runqlat_stop(rq);
		return r;
	}
	*ret_state = rq;
	return 0;
#else
	(void)ret_state;
	return -EOPNOTSUPP;
#endif
}

#if ONGRID_BPF
static void collect_cgroups(struct runqlat *rq, struct snapshot *out)
{
	int fd = bpf_map__fd(rq->skel->maps.hist_cgroup);
	uint64_t key, next, gone[RUNQLAT_MAX_CGROUPS];
	size_t ngone = 0;
	void *prev = NULL;

	/* Bounded: a hash map yields each of its at most max_entries keys once. */
	for (int i = 0; i <= RUNQLAT_MAX_CGROUPS && bpf_map_get_next_key(fd, prev, &next) == 0;
	     i++) {
		struct hist h = { 0 };
		char path[256];
		int r;

		key = next;
		prev = &key;
		if (key == 0) {
			snprintf(path, sizeof(path), "other");
		} else {
			r = cgname_lookup(rq->cg, key, path, sizeof(path));
			if (r == -ENOENT && ngone < ARRAY_SIZE(gone)) {
				gone[ngone++] = key;
				continue;
			}
			if (r < 0)
				continue; /* unknown until the next walk */
		}
		if (ebpf_percpu_hist(fd, &key, &h) < 0 || hist_count(&h) == 0)
			continue;
		struct label l = { "cgroup", path };
		ebpf_export_hist(out, &runq_latency, &l, 1, &h, 1e-6, 1e-9, 0);
	}
	for (size_t i = 0; i < ngone; i++)
		(void)bpf_map_delete_elem(fd, &gone[i]);
}
#endif

static int runqlat_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct runqlat *rq = state;

	(void)now_ms;
#if ONGRID_BPF
	struct hist total = { 0 };
	uint32_t zero = 0;
	int r;

	r = ebpf_percpu_hist(bpf_map__fd(rq->skel->maps.hist_total), &zero, &total);
	if (r < 0)
		return r;
	ebpf_export_hist(out, &runq_latency, NULL, 0, &total, 1e-6, 1e-9, 0);
	if (rq->cg)
		collect_cgroups(rq, out);
	return 0;
#else
	(void)rq;
	(void)out;
	return -EOPNOTSUPP;
#endif
}

const struct collector runqlat_collector = {
	.name = "runqlat",
	.kind = "ebpf",
	.summary = "run-queue latency histograms, for the host and per cgroup",
	.fallback = "cpu",
	.start = runqlat_start,
	.collect = runqlat_collect,
	.stop = runqlat_stop,
};
