/* oomkill.c - OOM kills: a counter per victim command and memory cgroup, and the last
 * few kills with the victim's pid and its cgroup's memory usage and limit
 * (bpf/oomkill.bpf.c).
 *
 * The kernel hands over one record per kill in a ring buffer, drained every round. The
 * cgroup is the victim's memory cgroup, named by its path under the hierarchy that has
 * the memory controller (cgroup v1 "memory", else cgroup2); a cgroup removed before the
 * round is named by its directory name alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/str.h"
#include "bpf/oomkill.h"
#if ONGRID_BPF
#include "oomkill.skel.h"
#endif
#include "shared/banned.h"

/* Kills kept for the per-kill gauges: the latest ones are what an investigation needs. */
#define OOM_RECENT   8
/* (comm, cgroup) pairs counted; later ones count under comm="other",cgroup="other". */
#define OOM_MAX_KEYS 128

/* _unused_: a BPF=0 build has no reader, so nothing refers to these. */
static const struct metric_desc m_kills _unused_ = {
	"ongrid_oom_kills_total", METRIC_COUNTER,
	"processes killed by the OOM killer since the edge "
	"started, per command and memory cgroup"
};
static const struct metric_desc m_dropped _unused_ = {
	"ongrid_oom_kill_records_dropped_total", METRIC_COUNTER,
	"OOM kills counted by the kernel whose record did not fit in the ring buffer"
};
static const struct metric_desc m_when _unused_ = { "ongrid_oom_kill_timestamp_seconds",
	                                            METRIC_GAUGE,
	                                            "when each of the last OOM kills happened" };
static const struct metric_desc m_usage _unused_ = {
	"ongrid_oom_kill_memory_usage_bytes", METRIC_GAUGE,
	"the victim's memory cgroup usage when each of the last OOM kills happened"
};
static const struct metric_desc m_limit _unused_ = {
	"ongrid_oom_kill_memory_limit_bytes", METRIC_GAUGE,
	"the victim's memory cgroup limit at each of the last OOM kills (absent: no limit)"
};

struct oom_kill {
	int64_t when_ms; /* wall clock */
	uint32_t pid;
	char comm[OOM_COMM_LEN + 1];
	char cgroup[256];
	uint64_t usage_bytes, limit_bytes; /* limit 0: none */
};

struct oom_count {
	char comm[OOM_COMM_LEN + 1];
	char cgroup[256];
	uint64_t n;
};

struct oomkill {
#if ONGRID_BPF
	struct oomkill_bpf *skel;
	struct ring_buffer *rb;
#endif
	struct cgname *cg; /* the memory controller's hierarchy; NULL: none mounted */
	long page_size;
	struct oom_kill recent[OOM_RECENT]; /* a ring: recent[nkills % OOM_RECENT] is next */
	uint64_t nkills;
	struct oom_count counts[OOM_MAX_KEYS + 1]; /* the last one is "other" */
	size_t ncounts;
};

static void oomkill_stop(void *state)
{
	struct oomkill *o = state;

	if (!o)
		return;
#if ONGRID_BPF
	ring_buffer__free(o->rb);
	oomkill_bpf__destroy(o->skel);
#endif
	cgname_free(o->cg);
	free(o);
}

#if ONGRID_BPF
static void count_kill(struct oomkill *o, const char *comm, const char *cgroup)
{
	struct oom_count *c = NULL;

	for (size_t i = 0; i < o->ncounts && !c; i++)
		if (strcmp(o->counts[i].comm, comm) == 0 &&
		    strcmp(o->counts[i].cgroup, cgroup) == 0)
			c = &o->counts[i];
	if (!c && o->ncounts < OOM_MAX_KEYS) {
		c = &o->counts[o->ncounts++];
		str_copy(c->comm, comm, sizeof(c->comm));
		str_copy(c->cgroup, cgroup, sizeof(c->cgroup));
	}
	if (!c) {
		c = &o->counts[OOM_MAX_KEYS];
		str_copy(c->comm, "other", sizeof(c->comm));
		str_copy(c->cgroup, "other", sizeof(c->cgroup));
	}
	c->n++;
}

/* ring_buffer__consume() callback: one kill. The record comes from the kernel: sizes are
 * checked and strings terminated before use. */
static int on_event(void *ctx, void *data, size_t size)
{
	struct oomkill *o = ctx;
	const struct oom_event *e = data;
	struct oom_kill *k = &o->recent[o->nkills % OOM_RECENT];
	char leaf[OOM_CGNAME_LEN + 1];

	if (size < sizeof(*e))
		return 0;
	memset(k, 0, sizeof(*k));
	k->when_ms = now_ms() - (mono_ns() - (int64_t)e->ts_ns) / 1000000;
	k->pid = e->pid;
	memcpy(k->comm, e->comm, OOM_COMM_LEN);
	memcpy(leaf, e->cgname, OOM_CGNAME_LEN);
	leaf[OOM_CGNAME_LEN] = '\0';
	if (!o->cg || cgname_lookup(o->cg, e->memcg_id, k->cgroup, sizeof(k->cgroup)) < 0)
		str_copy(k->cgroup, leaf[0] ? leaf : "unknown", sizeof(k->cgroup));
	k->usage_bytes = e->usage_pages * (uint64_t)o->page_size;
	/* An unlimited page_counter holds LONG_MAX / PAGE_SIZE pages. */
	if (e->limit_pages < (uint64_t)(INT64_MAX / o->page_size) / 2)
		k->limit_bytes = e->limit_pages * (uint64_t)o->page_size;
	o->nkills++;
	count_kill(o, k->comm, k->cgroup);
	log_info("oom kill: pid %u (%s) in memory cgroup '%s'", k->pid, k->comm, k->cgroup);
	return 0;
}
#endif

static int oomkill_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	int r = ebpf_check(env, why);

	if (r < 0)
		return r;
#if ONGRID_BPF
	struct oomkill *o;

	if (!ebpf_tp_btf_ok("mark_victim"))
		return diag_set(why, -EOPNOTSUPP,
		                "the kernel does not load tp_btf/mark_victim programs");
	o = xcalloc(1, sizeof(*o));
	o->page_size = sysconf(_SC_PAGESIZE);
	if (o->page_size <= 0)
		o->page_size = 4096;
	o->cg = cgname_new("memory");
	if (!o->cg)
		o->cg = cgname_new(NULL);
	o->skel = oomkill_bpf__open();
	if (!o->skel) {
		r = ebpf_fail(why, -errno, "open");
		goto out_stop;
	}
	r = oomkill_bpf__load(o->skel);
	if (r < 0) {
		ebpf_fail(why, r, "load");
		goto out_stop;
	}
	ebpf_release_object_bytes(o->skel->skeleton);
	o->rb = ring_buffer__new(bpf_map__fd(o->skel->maps.events), on_event, o, NULL);
	if (!o->rb) {
		r = ebpf_fail(why, -errno, "open the ring buffer of");
		goto out_stop;
	}
	r = oomkill_bpf__attach(o->skel);
	if (r < 0) {
		ebpf_fail(why, r, "attach");
		goto out_stop;
	}
	*ret_state = o;
	return 0;

out_stop:
	oomkill_stop(o);
	return r;
#else
	(void)ret_state;
	return -EOPNOTSUPP;
#endif
}

static int oomkill_collect(void *state, struct snapshot *out, int64_t now_ms_)
{
	struct oomkill *o = state;

	(void)now_ms_;
#if ONGRID_BPF
	int r = ring_buffer__consume(o->rb);

	if (r < 0)
		return r;
	for (size_t i = 0; i <= OOM_MAX_KEYS; i++) {
		const struct oom_count *c = &o->counts[i];
		if (!c->n)
			continue; /* unused slots, and "other" while nothing overflowed */
		const struct label l[] = { { "comm", c->comm }, { "cgroup", c->cgroup } };
		snapshot_add(out, &m_kills, l, ARRAY_SIZE(l), (double)c->n);
	}
	snapshot_add(out, &m_dropped, NULL, 0, (double)o->skel->bss->drops);
	for (uint64_t i = o->nkills > OOM_RECENT ? o->nkills - OOM_RECENT : 0; i < o->nkills; i++) {
		const struct oom_kill *k = &o->recent[i % OOM_RECENT];
		char pid[16];
		snprintf(pid, sizeof(pid), "%u", k->pid);
		const struct label l[] = { { "pid", pid },
			                   { "comm", k->comm },
			                   { "cgroup", k->cgroup } };
		snapshot_add(out, &m_when, l, ARRAY_SIZE(l), (double)k->when_ms / 1000.0);
		snapshot_add(out, &m_usage, l, ARRAY_SIZE(l), (double)k->usage_bytes);
		if (k->limit_bytes)
			snapshot_add(out, &m_limit, l, ARRAY_SIZE(l), (double)k->limit_bytes);
	}
	return 0;
#else
	(void)o;
	(void)out;
	return -EOPNOTSUPP;
#endif
}

const struct collector oomkill_collector = {
	.name = "oomkill",
	.kind = "ebpf",
	.summary = "OOM kills: victim, memory cgroup, its usage and limit",
	.fallback = "memory",
	.start = oomkill_start,
	.collect = oomkill_collect,
	.stop = oomkill_stop,
};
