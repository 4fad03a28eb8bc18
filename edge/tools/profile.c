/* profile.c - see profile.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <elfutils/libdwfl.h>

#include "edge/tools/profile.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/lazylib.h"
#include "bpf/profile.h"
#if ONGRID_BPF
#include "profile.skel.h"
#endif
#include "shared/banned.h"

#if ONGRID_BPF

/* Processes symbolised (each a libdwfl session over its mappings). */
#define PROFILE_MAX_PROCS 64

struct ksym {
	uint64_t addr;
	char *name;
};

struct kallsyms {
	struct ksym *v;
	size_t n;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void kallsyms_load(struct kallsyms *k)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512];
	size_t alloc = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];
		/* NOLINTNEXTLINE(cert-err34-c): the kernel's kallsyms lines; count checked */
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || addr == 0)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (k->n == alloc) {
			alloc = alloc ? alloc * 2 : 65536;
			k->v = xrealloc(k->v, st_mul(alloc, sizeof(*k->v)));
		}
		k->v[k->n].addr = addr;
		k->v[k->n++].name = xstrdup(name);
	}
	if (f)
		fclose(f);
	if (k->n)
		qsort(k->v, k->n, sizeof(*k->v), ksym_cmp);
}

static const char *kallsyms_find(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->n;

	if (!k->n || addr < k->v[0].addr)
		return "[kernel]";
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (k->v[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return k->v[lo].name;
}

static void kallsyms_free(struct kallsyms *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].name);
	free(k->v);
}

struct usym {
	int pid;
	Dwfl *dwfl;
};

/* libdw, mapped by the first profile (shared/lazylib.h), not at the edge's start: the
 * daemon would otherwise carry it (and libbz2) for a tool that runs on request. */
static struct {
	bool loaded;
	__typeof__(dwfl_begin) *begin;
	__typeof__(dwfl_linux_proc_report) *linux_proc_report;
	__typeof__(dwfl_report_end) *report_end;
	__typeof__(dwfl_end) *end;
	__typeof__(dwfl_addrmodule) *addrmodule;
	__typeof__(dwfl_module_addrname) *module_addrname;
	__typeof__(dwfl_module_info) *module_info;
	Dwfl_Callbacks cb;
} libdw;

static int libdw_load(struct diag *d)
{
	const struct lazylib_sym syms[] = {
		{ "dwfl_begin", (void **)&libdw.begin },
		{ "dwfl_linux_proc_report", (void **)&libdw.linux_proc_report },
		{ "dwfl_report_end", (void **)&libdw.report_end },
		{ "dwfl_end", (void **)&libdw.end },
		{ "dwfl_addrmodule", (void **)&libdw.addrmodule },
		{ "dwfl_module_addrname", (void **)&libdw.module_addrname },
		{ "dwfl_module_info", (void **)&libdw.module_info },
		{ "dwfl_linux_proc_find_elf", (void **)&libdw.cb.find_elf },
		{ "dwfl_standard_find_debuginfo", (void **)&libdw.cb.find_debuginfo },
	};
	int r;

	if (libdw.loaded)
		return 0;
	r = lazylib_load("libdw.so.1", syms, sizeof(syms) / sizeof(syms[0]), d);
	libdw.loaded = r == 0;
	return r;
}

static Dwfl *usym_for(struct usym *u, size_t *n, int pid)
{
	for (size_t i = 0; i < *n; i++)
		if (u[i].pid == pid)
			return u[i].dwfl;
	if (*n == PROFILE_MAX_PROCS)
		return NULL;
	Dwfl *d = libdw.begin(&libdw.cb);
	if (d && (libdw.linux_proc_report(d, pid) != 0 || libdw.report_end(d, NULL, NULL) != 0)) {
		libdw.end(d);
		d = NULL; /* gone, or not readable: frames stay addresses */
	}
	u[*n].pid = pid;
	u[(*n)++].dwfl = d;
	return d;
}

static void usym_name(Dwfl *d, uint64_t addr, char *out, size_t outsz)
{
	Dwfl_Module *m = d ? libdw.addrmodule(d, addr) : NULL;
	const char *name = m ? libdw.module_addrname(m, addr) : NULL;

	if (name) {
		snprintf(out, outsz, "%s", name);
		return;
	}
	if (m) {
		const char *mod = libdw.module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		const char *base = mod ? strrchr(mod, '/') : NULL;
		snprintf(out, outsz, "[%s]", base ? base + 1 : mod ? mod : "unknown");
		return;
	}
	snprintf(out, outsz, d ? "[unknown]" : "[exited]");
}

struct entry {
	struct profile_key k;
	uint64_t count;
};

struct named {
	char name[256];
	uint64_t samples;
};

struct proc {
	int pid;
	char comm[16];
	uint64_t samples;
	struct named *funcs;
	size_t nfuncs;
	struct named *stacks;
	size_t nstacks;
};

static void bump(struct named **v, size_t *n, const char *name, uint64_t c, size_t max)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0) {
			(*v)[i].samples += c;
			return;
		}
	if (*n >= max)
		return;
	*v = xrealloc(*v, st_mul(*n + 1, sizeof(**v)));
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	(*v)[(*n)++].samples = c;
}

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	return x->samples < y->samples   ? 1
	       : x->samples > y->samples ? -1
	                                 : strcmp(x->name, y->name);
}

static int proc_cmp(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return x->samples < y->samples ? 1 : x->samples > y->samples ? -1 : x->pid - y->pid;
}

static void nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Frames of stack id (innermost first) into ips; returns how many. */
static size_t read_stack(int fd, int id, uint64_t *ips)
{
	size_t n = 0;

	if (id < 0)
		return 0;
	memset(ips, 0, PROFILE_MAX_DEPTH * sizeof(*ips));
	if (bpf_map_lookup_elem(fd, &id, ips) != 0)
		return 0;
	while (n < PROFILE_MAX_DEPTH && ips[n])
		n++;
	return n;
}

int profile_cpu_json(const struct profile_opts *o, cJSON **ret, struct diag *d)
{
	struct profile_bpf *skel;
	struct bpf_link **links = NULL;
	int ncpu = libbpf_num_possible_cpus(), nlinks = 0, r = 0;
	struct entry *ents = NULL;
	size_t nents = 0;

	if (ncpu <= 0)
		return diag_set(d, -EIO, "cannot count CPUs");
	r = libdw_load(d);
	if (r < 0)
		return r;
	skel = profile_bpf__open_and_load();
	if (!skel)
		return diag_set(d, -errno ? -errno : -EIO, "loading the profiler's BPF program: %s",
		                strerror(errno));
	links = xcalloc((size_t)ncpu, sizeof(struct bpf_link *));
	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr a = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(a),
			.sample_freq = (unsigned long long)o->hz,
			.freq = 1,
		};
		int fd = (int)syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* offline CPU */
			r = diag_set(d, -errno, "perf_event_open on CPU %d: %s", cpu,
			             strerror(errno));
			goto out;
		}
		links[nlinks] = bpf_program__attach_perf_event(skel->progs.profile_sample, fd);
		if (!links[nlinks]) {
			r = diag_set(d, -errno, "attaching the profiler on CPU %d: %s", cpu,
			             strerror(errno));
			close(fd);
			goto out;
		}
		nlinks++;
	}
	nap(o->duration_ms);
	for (int i = 0; i < nlinks; i++) {
		bpf_link__destroy(links[i]); /* closes the perf fd too: sampling stops */
		links[i] = NULL;
	}

	int cfd = bpf_map__fd(skel->maps.counts), sfd = bpf_map__fd(skel->maps.stacks);
	struct profile_key key, next;
	bool first = true;
	while (bpf_map_get_next_key(cfd, first ? NULL : &key, &next) == 0 &&
	       nents < PROFILE_MAX_KEYS) {
		uint64_t c = 0;
		first = false;
		key = next;
		if (bpf_map_lookup_elem(cfd, &key, &c) != 0)
			continue;
		ents = xrealloc(ents, st_mul(nents + 1, sizeof(*ents)));
		ents[nents].k = key;
		ents[nents++].count = c;
	}
	uint64_t lost = 0, *percpu = xcalloc((size_t)ncpu, sizeof(uint64_t));
	uint32_t zero = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.lost), &zero, percpu) == 0)
		for (int i = 0; i < ncpu; i++)
			lost += percpu[i];
	free(percpu);

	/* aggregate per process */
	struct kallsyms ks = { 0 };
	struct usym *us = xcalloc(PROFILE_MAX_PROCS, sizeof(*us));
	size_t nus = 0, nprocs = 0;
	struct proc *procs = NULL;
	uint64_t total = 0, idle = 0;
	uint64_t *kips = xcalloc(PROFILE_MAX_DEPTH, sizeof(uint64_t));
	uint64_t *uips = xcalloc(PROFILE_MAX_DEPTH, sizeof(uint64_t));
	char *folded = xmalloc(4096);
	kallsyms_load(&ks);
	for (size_t i = 0; i < nents; i++) {
		const struct entry *e = &ents[i];
		total += e->count;
		if (e->k.pid == 0) {
			idle += e->count;
			continue;
		}
		size_t p;
		for (p = 0; p < nprocs; p++)
			if (procs[p].pid == (int)e->k.pid)
				break;
		if (p == nprocs) {
			procs = xrealloc(procs, st_mul(nprocs + 1, sizeof(*procs)));
			memset(&procs[nprocs], 0, sizeof(*procs));
			procs[nprocs].pid = (int)e->k.pid;
			memcpy(procs[nprocs].comm, e->k.comm, sizeof(procs[nprocs].comm));
			procs[nprocs].comm[15] = '\0';
			nprocs++;
		}
		procs[p].samples += e->count;
	}
	if (nprocs)
		qsort(procs, nprocs, sizeof(*procs), proc_cmp);
	/* symbolise only the processes that will be listed */
	size_t listed = 0;
	for (size_t p = 0; p < nprocs; p++) {
		if (o->pid && procs[p].pid != o->pid)
			continue;
		if (listed++ >= o->processes)
			break;
		Dwfl *dw = usym_for(us, &nus, procs[p].pid);
		for (size_t i = 0; i < nents; i++) {
			const struct entry *e = &ents[i];
			if ((int)e->k.pid != procs[p].pid)
				continue;
			size_t nk = read_stack(sfd, e->k.kstack, kips);
			size_t nu = read_stack(sfd, e->k.ustack, uips);
			char leaf[256] = "[unknown]";
			size_t fo = 0;
			folded[0] = '\0';
			/* outermost first: user frames reversed, then kernel frames reversed */
			for (size_t f = nu; f-- > 0;) {
				char nm[256];
				usym_name(dw, f ? uips[f] - 1 : uips[f], nm, sizeof(nm));
				if (f == 0 && nk == 0)
					snprintf(leaf, sizeof(leaf), "%s", nm);
				if (fo < 4000)
					fo += (size_t)snprintf(folded + fo, 4096 - fo, "%s%s",
					                       fo ? ";" : "", nm);
			}
			for (size_t f = nk; f-- > 0;) {
				const char *nm = kallsyms_find(&ks, kips[f]);
				if (f == 0)
					snprintf(leaf, sizeof(leaf), "%s [k]", nm);
				if (fo < 4000)
					fo += (size_t)snprintf(folded + fo, 4096 - fo, "%s%s [k]",
					                       fo ? ";" : "", nm);
			}
			bump(&procs[p].funcs, &procs[p].nfuncs, leaf, e->count, 4096);
			bump(&procs[p].stacks, &procs[p].nstacks, fo ? folded : "[no stack]",
			     e->count, 4096);
		}
	}
	cJSON *out = json_obj(), *pa = json_arr();
	json_add_num(out, "duration_ms", o->duration_ms);
	json_add_num(out, "hz", o->hz);
	json_add_num(out, "cpus", nlinks);
	json_add_num(out, "samples", (double)total);
	json_add_num(out, "idle_samples", (double)idle);
	json_add_num(out, "lost", (double)lost);
	listed = 0;
	for (size_t p = 0; p < nprocs; p++) {
		if (o->pid && procs[p].pid != o->pid)
			continue;
		if (listed++ >= o->processes)
			continue;
		cJSON *pj = json_obj(), *fj = json_arr(), *sj = json_arr();
		json_add_num(pj, "pid", procs[p].pid);
		json_add_str(pj, "comm", procs[p].comm);
		json_add_num(pj, "samples", (double)procs[p].samples);
		json_add_num(pj, "pct",
		             total ? round((double)procs[p].samples * 1000 / (double)total) / 10
		                   : 0);
		qsort(procs[p].funcs, procs[p].nfuncs, sizeof(struct named), named_cmp);
		qsort(procs[p].stacks, procs[p].nstacks, sizeof(struct named), named_cmp);
		for (size_t i = 0; i < procs[p].nfuncs && i < PROFILE_TOP_FUNCTIONS; i++) {
			cJSON *f = json_obj();
			json_add_str(f, "name", procs[p].funcs[i].name);
			json_add_num(f, "samples", (double)procs[p].funcs[i].samples);
			json_add_num(f, "pct",
			             round((double)procs[p].funcs[i].samples * 1000 /
			                   (double)procs[p].samples) /
			                     10);
			json_push(fj, f);
		}
		for (size_t i = 0; i < procs[p].nstacks && i < PROFILE_TOP_STACKS; i++) {
			cJSON *s = json_obj();
			json_add_str(s, "stack", procs[p].stacks[i].name);
			json_add_num(s, "samples", (double)procs[p].stacks[i].samples);
			json_push(sj, s);
		}
		json_add(pj, "functions", fj);
		json_add(pj, "stacks", sj);
		json_push(pa, pj);
	}
	json_add(out, "processes", pa);
	*ret = out;
	for (size_t p = 0; p < nprocs; p++) {
		free(procs[p].funcs);
		free(procs[p].stacks);
	}
	free(procs);
	for (size_t i = 0; i < nus; i++)
		if (us[i].dwfl)
			libdw.end(us[i].dwfl);
	free(us);
	free(kips);
	free(uips);
	free(folded);
	kallsyms_free(&ks);
out:
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	free(links);
	free(ents);
	profile_bpf__destroy(skel);
	return r;
}

#else

int profile_cpu_json(const struct profile_opts *o, cJSON **ret, struct diag *d)
{
	(void)o;
	(void)ret;
	return diag_set(d, -ENOTSUP, "profile_cpu needs eBPF: this edge was built with BPF=0");
}

#endif
