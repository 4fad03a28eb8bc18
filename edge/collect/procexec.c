/* procexec.c - process execs and exits per command, exits per exit code or signal
 * (bpf/procexec.bpf.c). A crash loop is a climbing
 * ongrid_process_exits_total{comm="worker",code="1"} or {signal="SIGSEGV"}.
 *
 * comm is the kernel's 15-character command name. comm="other" takes what did not fit
 * in the kernel's map (its exits carry code="other").
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

struct procexec {
#if ONGRID_BPF
	struct procexec_bpf *skel;
#else
	int unused;
#endif
};

static void procexec_stop(void *state)
{
	struct procexec *p = state;

	if (!p)
		return;
#if ONGRID_BPF
	procexec_bpf__destroy(p->skel);
#endif
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

static int procexec_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct procexec *p = state;

	(void)now_ms;
#if ONGRID_BPF
	int fd = bpf_map__fd(p->skel->maps.counts);
	struct proc_key key, next;
	void *prev = NULL;

	for (int i = 0; i <= PROC_MAX_KEYS + 1 && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		char comm[PROC_COMM_LEN + 1], code[16], sig[32];
		uint64_t n;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &n) < 0)
			continue;
		memcpy(comm, key.comm, PROC_COMM_LEN);
		comm[PROC_COMM_LEN] = '\0';
		if (!comm[0]) {
			if (!n)
				continue; /* "other" before anything overflowed into it */
			str_copy(comm, "other", sizeof(comm));
		}
		if (key.event == PROCEXEC_EXEC) {
			const struct label l = { "comm", comm };
			snapshot_add(out, &m_execs, &l, 1, (double)n);
			continue;
		}
		if (key.comm[0]) {
			status_labels(key.status, code, sizeof(code), sig, sizeof(sig));
		} else {
			str_copy(code, "other", sizeof(code));
			sig[0] = '\0';
		}
		/* One of code and signal: an empty label is an absent one to Prometheus. */
		const struct label l[] = { { "comm", comm },
			                   sig[0] ? (struct label){ "signal", sig }
			                          : (struct label){ "code", code } };
		snapshot_add(out, &m_exits, l, ARRAY_SIZE(l), (double)n);
	}
	return 0;
#else
	(void)p;
	(void)out;
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
