/* procexec.c - process execs and exits per command, exits per exit code or signal
 * (bpf/procexec.bpf.c). A crash loop is a climbing
 * ongrid_process_exits_total{comm="worker",code="1"} or {signal="SIGSEGV"}.
 *
 * comm is the kernel's 15-character command name. A busy host runs hundreds of distinct
 * commands an hour, and each (comm, event, status) is a series in the store, so the label
 * sets are bounded here:
 *   - a key is exported while its count moved within PROCEXEC_ACTIVE_MS; after that it is
 *     deleted from the kernel's map and forgotten (if the command comes back its counters
 *     start again from 0, a reset that rate() and increase() handle);
 *   - at most PROCEXEC_MAX_COMMS commands are exported by name in a round, ranked by
 *     their failed exits (code != 0 or a signal) in the last rounds (a score that decays
 *     by FAIL_DECAY a round), plus one for a command named last round so names do not
 *     flap, then by when they last ran. A crash loop outscores one-off failures within
 *     a round or two and keeps its name; the rest count under comm="other", keeping
 *     their code or signal. Their keys leave the kernel's map at once, so it keeps room
 *     for new commands, and are remembered only while their failures may earn them a
 *     name (at most PROC_MAX_KEYS of them); a command forgotten there that gets a name
 *     later starts its counters from 0 again.
 * Every counter only grows: a key's exported value is the sum of the increments seen
 * while it was exported by name, and "other" adds those seen while it was not, so a sum
 * over comm counts every exec and exit once. comm="other" with code="other" is what did
 * not fit in the kernel's map.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uthash.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "shared/alloc.h"
#include "shared/str.h"
#include "bpf/procexec.h"
#if ONGRID_BPF
#include "procexec.skel.h"
#endif
#include "shared/banned.h"

/* _unused_: a BPF=0 build has no reader, so nothing refers to these. */
static const struct metric_desc m_execs _unused_ = {
	"ongrid_process_execs_total", METRIC_COUNTER,
	"successful execve() calls, per new command name"
};
static const struct metric_desc m_exits _unused_ = {
	"ongrid_process_exits_total", METRIC_COUNTER,
	"processes that exited, per command name and exit code (code) or killing signal (signal)"
};

/* A key idle this long stops being exported and leaves the kernel's map. */
#define PROCEXEC_ACTIVE_MS INT64_C(600000)
/* Commands exported by name per round; about three series each (execs, exit code 0, a
 * failure). */
#define PROCEXEC_MAX_COMMS 64
/* What a failure's weight keeps from one round to the next. */
#define FAIL_DECAY         0.9
/* An unnamed key is remembered while its score is above this (a dozen rounds after one
 * failure), so a command failing every minute or two builds up a score. */
#define FAIL_KEEP          0.3
/* status of the "other" entry that counts what did not fit in the kernel's map */
#define STATUS_MAP_FULL    UINT32_MAX

/* One (comm, event, status) the kernel counts, or (comm all zero) an "other" bucket. */
struct pe_key {
	struct proc_key k;
	uint64_t kernel;    /* the kernel's count at the last round */
	uint64_t total;     /* the exported counter */
	uint64_t pending;   /* increments of this round, not yet assigned */
	int64_t changed_ms; /* when the count last moved */
	double fail_score;  /* failed exits, decayed by FAIL_DECAY a round */
	bool named;         /* exported under its own comm last round */
	UT_hash_handle hh;
};

struct procexec {
#if ONGRID_BPF
	struct procexec_bpf *skel;
#else
	int unused;
#endif
	struct pe_key *keys;   /* the kernel's keys with a command name */
	struct pe_key *others; /* comm="other" buckets by (event, status) */
};

static void keys_free(struct pe_key **h)
{
	struct pe_key *e, *tmp;

	HASH_ITER(hh, *h, e, tmp)
	{
		/* The analyzer assumes e is the last element and tmp another at once. */
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc,clang-analyzer-core.NullDereference) */
		HASH_DEL(*h, e);
		free(e);
	}
}

static struct pe_key *key_get(struct pe_key **h, const struct proc_key *k)
{
	struct pe_key *e;

	HASH_FIND(hh, *h, k, sizeof(*k), e);
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->k = *k;
		HASH_ADD(hh, *h, k, sizeof(e->k), e);
	}
	return e;
}

static void procexec_stop(void *state)
{
	struct procexec *p = state;

	if (!p)
		return;
#if ONGRID_BPF
	procexec_bpf__destroy(p->skel);
#endif
	keys_free(&p->keys);
	keys_free(&p->others);
	free(p);
}

static int procexec_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	int r = ebpf_check(env, why);

	if (r < 0)
		return r;
#if ONGRID_BPF
	struct proc_key other = { .event = PROCEXEC_EXEC };
	const uint64_t zero = 0;
	struct procexec *p;
	int fd;

	if (!ebpf_tp_btf_ok("sched_process_exit"))
		return diag_set(why, -EOPNOTSUPP,
		                "the kernel does not load tp_btf/sched_process_exit programs");
	p = xcalloc(1, sizeof(*p));
	p->skel = procexec_bpf__open();
	if (!p->skel) {
		r = ebpf_fail(why, -errno, "open");
		goto out_stop;
	}
	/* Exactly one of the two exit programs loads: the kernel's group_dead where the
	 * tracepoint passes it (see procexec.bpf.c), signal->live otherwise. */
	bool group_dead = ebpf_tp_nargs("sched_process_exit") >= 2;
	bpf_program__set_autoload(p->skel->progs.sched_process_exit_group, group_dead);
	bpf_program__set_autoload(p->skel->progs.sched_process_exit, !group_dead);
	r = procexec_bpf__load(p->skel);
	if (r < 0) {
		ebpf_fail(why, r, "load");
		goto out_stop;
	}
	ebpf_release_object_bytes(p->skel->skeleton);
	fd = bpf_map__fd(p->skel->maps.counts);
	r = bpf_map_update_elem(fd, &other, &zero, BPF_ANY);
	other.event = PROCEXEC_EXIT;
	if (r == 0)
		r = bpf_map_update_elem(fd, &other, &zero, BPF_ANY);
	if (r < 0) {
		r = ebpf_fail(why, -errno, "initialise the maps of");
		goto out_stop;
	}
	r = procexec_bpf__attach(p->skel);
	if (r < 0) {
		ebpf_fail(why, r, "attach");
		goto out_stop;
	}
	*ret_state = p;
	return 0;

out_stop:
	procexec_stop(p);
	return r;
#else
	(void)ret_state;
	return -EOPNOTSUPP;
#endif
}

#if ONGRID_BPF
/* The wait(2) status to labels: code="N" for exit(N), signal="SIGSEGV" for a kill. */
static void status_labels(uint32_t status, char *code, size_t codesz, char *sig, size_t sigsz)
{
	int signo = status & 0x7f;

	code[0] = sig[0] = '\0';
	if (signo) {
		const char *abbrev = sigabbrev_np(signo);
		if (abbrev)
			snprintf(sig, sigsz, "SIG%s", abbrev);
		else
			snprintf(sig, sigsz, "%d", signo);
	} else {
		snprintf(code, codesz, "%u", (status >> 8) & 0xff);
	}
}
#endif

#if ONGRID_BPF
static bool key_failed(const struct proc_key *k)
{
	return k->event == PROCEXEC_EXIT && k->status != 0;
}

/* One command's standing in a round. */
struct pe_comm {
	const char *comm; /* points into a key */
	double score;     /* fail_score of its keys, +1 when named last round */
	bool named;
	int64_t changed_ms;
};

static int cmp_comm_rank(const void *a, const void *b)
{
	const struct pe_comm *x = a, *y = b;
	double sx = x->score + x->named, sy = y->score + y->named;

	if (sx != sy)
		return sx > sy ? -1 : 1;
	if (x->named != y->named)
		return x->named ? -1 : 1;
	if (x->changed_ms != y->changed_ms)
		return x->changed_ms > y->changed_ms ? -1 : 1;
	return strncmp(x->comm, y->comm, PROC_COMM_LEN);
}

static int cmp_comm_name(const void *a, const void *b)
{
	return strncmp(((const struct pe_comm *)a)->comm, ((const struct pe_comm *)b)->comm,
	               PROC_COMM_LEN);
}

/* Read the kernel's counts into pending increments. */
static void read_counts(struct procexec *p, int fd, int64_t now_ms)
{
	struct proc_key key, next;
	void *prev = NULL;

	for (int i = 0; i <= PROC_MAX_KEYS + 1 && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		struct pe_key *e;
		uint64_t n;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &n) < 0)
			continue;
		if (!key.comm[0]) {
			/* the map was full: the event's own bucket, labelled code="other" */
			struct proc_key o = { .event = key.event,
				              .status = key.event == PROCEXEC_EXIT ? STATUS_MAP_FULL
				                                                   : 0 };
			e = key_get(&p->others, &o);
		} else {
			e = key_get(&p->keys, &key);
		}
		/* below the last count: the key was deleted and counts again from 0 */
		uint64_t delta = n >= e->kernel ? n - e->kernel : n;
		e->kernel = n;
		if (delta) {
			e->pending += delta;
			e->changed_ms = now_ms;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Of the keys not named this round, keep at most PROC_MAX_KEYS: those with the highest
 * failure scores. Returns the score at or below which an unnamed key goes. */
static double unnamed_cut(struct procexec *p)
{
	size_t n = 0, count = HASH_COUNT(p->keys);
	double *sc, cut = FAIL_KEEP;

	if (count <= PROC_MAX_KEYS)
		return cut;
	sc = xcalloc(count, sizeof(*sc));
	for (struct pe_key *e = p->keys; e; e = e->hh.next)
		if (!e->named)
			sc[n++] = e->fail_score;
	if (n > count - PROC_MAX_KEYS) {
		qsort(sc, n, sizeof(*sc), cmp_double);
		cut = MAX(cut, sc[count - PROC_MAX_KEYS - 1]);
	}
	free(sc);
	return cut;
}

/* Forget keys idle for PROCEXEC_ACTIVE_MS (deleting them from the kernel's map, so it
 * never fills with commands that ran once) and unnamed keys (already out of the kernel's
 * map) unless their failures may yet earn them a name. */
static void forget_keys(struct procexec *p, int fd, int64_t now_ms)
{
	double cut = unnamed_cut(p);
	struct pe_key *e, *tmp;

	HASH_ITER(hh, p->keys, e, tmp)
	{
		uint64_t n;

		/* e is an element HASH_ITER handed over, set up by key_get(); cppcheck loses
		 * track of it in the macro's expansion (as in tcp.c). */
		// cppcheck-suppress uninitvar
		bool idle = now_ms - e->changed_ms >= PROCEXEC_ACTIVE_MS;
		if (!idle && (e->named || e->fail_score > cut))
			continue;
		/* an exit between this check and the delete is lost: a key idle for minutes
		 * rarely moves in that microsecond */
		if (e->kernel && bpf_map_lookup_elem(fd, &e->k, &n) == 0 && n != e->kernel)
			continue;
		if (e->kernel)
			(void)bpf_map_delete_elem(fd, &e->k);
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc,clang-analyzer-core.NullDereference) */
		HASH_DEL(p->keys, e);
		free(e);
	}
}

/* Take an unnamed key out of the kernel's map, so the map keeps room for new commands
 * (a crash loop that starts while thousands of commands came and went must still get a
 * key of its own); what it counted since read_counts goes to *pending. */
static void kernel_release(int fd, struct pe_key *e, uint64_t *pending)
{
	uint64_t n;
	int r;

	if (!e->kernel)
		return;
	r = bpf_map_lookup_and_delete_elem(fd, &e->k, &n);
	if (r < 0 && errno != ENOENT && bpf_map_lookup_elem(fd, &e->k, &n) == 0)
		r = bpf_map_delete_elem(fd, &e->k); /* before 5.14: hash maps lacked it */
	if (r == 0 && n > e->kernel)
		*pending += n - e->kernel;
	e->kernel = 0;
}

/* Pick the commands exported by name this round; returns how many of comms[] are named
 * (the first ones, then sorted by name for lookups). */
static size_t rank_comms(struct procexec *p, int64_t now_ms, struct pe_comm **ret)
{
	size_t n = 0, ncomms = 0, named;
	struct pe_comm *c = xcalloc(HASH_COUNT(p->keys) + 1, sizeof(*c));

	/* no key leaves the table here: a plain walk of its list */
	for (struct pe_key *e = p->keys; e; e = e->hh.next) {
		if (key_failed(&e->k))
			e->fail_score = e->fail_score * FAIL_DECAY + (double)e->pending;
		if (now_ms - e->changed_ms >= PROCEXEC_ACTIVE_MS)
			continue;
		c[n++] = (struct pe_comm){ e->k.comm, e->fail_score, e->named, e->changed_ms };
	}
	/* one entry per command: its keys' scores add up */
	qsort(c, n, sizeof(*c), cmp_comm_name);
	for (size_t i = 0; i < n; i++) {
		if (ncomms && cmp_comm_name(&c[ncomms - 1], &c[i]) == 0) {
			struct pe_comm *m = &c[ncomms - 1];
			m->score += c[i].score;
			m->named |= c[i].named;
			m->changed_ms = MAX(m->changed_ms, c[i].changed_ms);
			continue;
		}
		c[ncomms++] = c[i];
	}
	qsort(c, ncomms, sizeof(*c), cmp_comm_rank);
	named = MIN(ncomms, (size_t)PROCEXEC_MAX_COMMS);
	qsort(c, named, sizeof(*c), cmp_comm_name);
	*ret = c;
	return named;
}

static void export_key(struct snapshot *out, uint32_t event, uint32_t status, const char *comm,
                       uint64_t value)
{
	char code[16], sig[32];

	if (event == PROCEXEC_EXEC) {
		const struct label l = { "comm", comm };
		snapshot_add(out, &m_execs, &l, 1, (double)value);
		return;
	}
	if (status == STATUS_MAP_FULL) {
		str_copy(code, "other", sizeof(code));
		sig[0] = '\0';
	} else {
		status_labels(status, code, sizeof(code), sig, sizeof(sig));
	}
	/* One of code and signal: an empty label is an absent one to Prometheus. */
	const struct label l[] = { { "comm", comm },
		                   sig[0] ? (struct label){ "signal", sig }
		                          : (struct label){ "code", code } };
	snapshot_add(out, &m_exits, l, ARRAY_SIZE(l), (double)value);
}
#endif

static int procexec_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct procexec *p = state;

#if ONGRID_BPF
	int fd = bpf_map__fd(p->skel->maps.counts);
	struct pe_key *e;
	struct pe_comm *comms;
	size_t named;

	read_counts(p, fd, now_ms);
	named = rank_comms(p, now_ms, &comms);
	for (e = p->keys; e; e = e->hh.next) {
		char comm[PROC_COMM_LEN + 1];
		struct pe_comm want = { .comm = e->k.comm };

		e->named = now_ms - e->changed_ms < PROCEXEC_ACTIVE_MS &&
		           bsearch(&want, comms, named, sizeof(*comms), cmp_comm_name);
		if (!e->named) {
			kernel_release(fd, e, &e->pending);
			if (e->pending) {
				struct proc_key o = { .event = e->k.event, .status = e->k.status };
				struct pe_key *other = key_get(&p->others, &o);
				other->pending += e->pending;
				other->changed_ms = now_ms;
				e->pending = 0;
			}
			continue;
		}
		e->total += e->pending;
		e->pending = 0;
		memcpy(comm, e->k.comm, PROC_COMM_LEN);
		comm[PROC_COMM_LEN] = '\0';
		export_key(out, e->k.event, e->k.status, comm, e->total);
	}
	free(comms);
	for (e = p->others; e; e = e->hh.next) {
		e->total += e->pending;
		e->pending = 0;
		/* kept while it moves, like a command; the bucket itself stays (a few dozen) */
		if (e->total && now_ms - e->changed_ms < PROCEXEC_ACTIVE_MS)
			export_key(out, e->k.event, e->k.status, "other", e->total);
	}
	forget_keys(p, fd, now_ms);
	return 0;
#else
	(void)p;
	(void)out;
	(void)now_ms;
	return -EOPNOTSUPP;
#endif
}

const struct collector procexec_collector = {
	.name = "procexec",
	.kind = "ebpf",
	.summary = "process execs and exits per command, with exit codes and signals",
	.fallback = "proc",
	.start = procexec_start,
	.collect = procexec_collect,
	.stop = procexec_stop,
};
