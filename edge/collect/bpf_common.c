/* bpf_common.c - the shared user side of the eBPF collectors (see bpf_common.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <uthash.h>

#include "edge/collect/bpf_common.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

/* A cgroup hierarchy with more directories than this is walked only this far: the rest
 * show up as their numeric id. */
#define CGNAME_MAX_DIRS  8192
/* Label values longer than this are cut: cgroup paths are labels, not file names. */
#define CGNAME_MAX_PATH  256
/* An unknown id triggers a new walk at most this often. */
#define CGNAME_RESCAN_MS 1000

/* ---- libbpf's messages ---------------------------------------------------- */

#if ONGRID_BPF
/* libbpf writes warnings for every failed load (with the verifier's log) and chatty
 * info lines for every successful one. The reason a collector is off reaches the operator
 * through status; the details belong to the debug log. */
static _printf_(2, 0) int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level ours = level == LIBBPF_WARN ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
	char line[1024];
	size_t n;

	if (ours > log_get_level())
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n)
		log_write(ours, NULL, "libbpf: %s", line);
	return 0;
}
#endif

int ebpf_check(const struct collect_env *env, struct diag *why)
{
	static bool print_set;

#if !ONGRID_BPF
	(void)env;
	(void)print_set;
	return diag_set(why, -EOPNOTSUPP, "built without eBPF support (BPF=0)");
#else
	if (!print_set) {
		libbpf_set_print(print_libbpf);
		print_set = true;
	}
	if (!env->host->root && !env->host->cap_bpf)
		return diag_set(why, -EPERM,
		                "needs root (or CAP_BPF+CAP_PERFMON) to load BPF programs");
	if (!env->host->btf)
		return diag_set(
		        why, -EOPNOTSUPP,
		        "no kernel BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load");
	if (!env->host->bpf_tracing)
		return diag_set(why, -EOPNOTSUPP, "%s", env->host->bpf_why);
	return 0;
#endif
}

/* ---- tp_btf or raw_tp ---------------------------------------------------- */

static bool probe_tp_btf(const char *tp)
{
	/* r0 = 0; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_prog_load_opts opts = {
		.sz = sizeof(opts),
		.expected_attach_type = BPF_TRACE_RAW_TP,
	};
	int id, fd;

	id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	if (id <= 0)
		return false;
	opts.attach_btf_id = (unsigned)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, ARRAY_SIZE(insns), &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool ebpf_tp_btf_ok(const char *tp)
{
	static struct {
		char name[64];
		bool ok;
	} cache[16];
	static size_t ncache;

	/* For tests and for ruling tp_btf out on a misbehaving kernel: act as if no
	 * tracepoint loaded as tp_btf, so the raw_tp fallbacks (or the refusals) run. */
	if (getenv("ONGRID_BPF_NO_TP_BTF"))
		return false;
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i].name, tp) == 0)
			return cache[i].ok;
	bool ok = probe_tp_btf(tp);
	if (ncache < ARRAY_SIZE(cache)) {
		str_copy(cache[ncache].name, tp, sizeof(cache[ncache].name));
		cache[ncache++].ok = ok;
	}
	log_debug("tp_btf/%s: %s", tp, ok ? "loads" : "refused, using raw_tp");
	return ok;
}

int ebpf_tp_nargs(const char *tp)
{
#if ONGRID_BPF
	char name[128];
	const struct btf_type *t;
	struct btf *btf;
	int id, r;

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	/* typedef -> pointer -> function prototype (void *ctx, args...) */
	if (t)
		t = btf__type_by_id(btf, t->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	r = t && btf_is_func_proto(t) && btf_vlen(t) > 0 ? (int)btf_vlen(t) - 1 : -ENOENT;
	btf__free(btf);
	return r;
#else
	(void)tp;
	return -EOPNOTSUPP;
#endif
}

void ebpf_release_object_bytes(const struct bpf_object_skeleton *s)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), p = (uintptr_t)s->data;
	/* Whole pages only: the first and last share bytes with other read-only data. */
	uintptr_t a = (p + page - 1) & ~(page - 1), b = (p + s->data_sz) & ~(page - 1);

	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
}

void ebpf_pick_programs(struct bpf_object *obj, bool tp_btf)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		const char *sec = bpf_program__section_name(p);
		if (str_startswith(sec, "tp_btf/"))
			bpf_program__set_autoload(p, tp_btf);
		else if (str_startswith(sec, "raw_tp/"))
			bpf_program__set_autoload(p, !tp_btf);
	}
}

int ebpf_fail(struct diag *why, int r, const char *step)
{
	if (r >= 0)
		r = -EINVAL;
	if (r == -EPERM || r == -EACCES)
		return diag_set(why, r, "cannot %s BPF programs: %s (needs root or CAP_BPF)", step,
		                strerror(-r));
	return diag_set(why, r, "cannot %s BPF programs: %s", step, strerror(-r));
}

/* ---- histograms ---------------------------------------------------------- */

int ebpf_percpu_hist(int map_fd, const void *key, struct hist *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct hist *vals;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	/* A per-CPU value is stored rounded up to 8 bytes; struct hist already is. */
	vals = xcalloc((size_t)ncpu, sizeof(*vals));
	if (bpf_map_lookup_elem(map_fd, key, vals) < 0) {
		int r = -errno;
		free(vals);
		return r;
	}
	for (int i = 0; i < ncpu; i++)
		hist_merge(out, &vals[i]);
	free(vals);
	return 0;
}

int ebpf_percpu_zero(int map_fd, const void *key, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	void *zeros;
	int r = 0;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	zeros = xcalloc((size_t)ncpu, (value_size + 7) & ~(size_t)7);
	if (bpf_map_update_elem(map_fd, key, zeros, BPF_ANY) < 0)
		r = -errno;
	free(zeros);
	return r;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	dst->sum += src->sum;
}

uint64_t hist_count(const struct hist *h)
{
	uint64_t n = 0;

	for (int i = 0; i < HIST_SLOTS; i++)
		n += h->slots[i];
	return n;
}

void ebpf_export_hist(struct snapshot *s, const struct metric_desc *m, const struct label *l,
                      size_t nl, const struct hist *h, double unit, double sum_unit,
                      unsigned first_slot)
{
	double upper[HIST_SLOTS];
	uint64_t counts[HIST_SLOTS];
	size_t nb = 0;

	if (first_slot > HIST_SLOTS - 2)
		first_slot = HIST_SLOTS - 2;
	/* Slot i holds values below 2^(i+1); the last slot also holds everything above, so
	 * it is the overflow bucket (+Inf). */
	for (unsigned i = first_slot; i < HIST_SLOTS - 1; i++) {
		upper[nb] = (double)(1ull << (i + 1)) * unit;
		counts[nb] = h->slots[i];
		if (i == first_slot)
			for (unsigned j = 0; j < first_slot; j++)
				counts[nb] += h->slots[j];
		nb++;
	}
	snapshot_histogram(s, m, l, nl, upper, counts, nb, h->slots[HIST_SLOTS - 1],
	                   (double)h->sum * sum_unit);
}

void peer_format(const struct peer_key *k, char *out, size_t outsz)
{
	if (k->family == AF_INET) {
		if (!inet_ntop(AF_INET, k->addr, out, (socklen_t)outsz))
			str_copy(out, "?", outsz);
	} else if (k->family == AF_INET6) {
		if (!inet_ntop(AF_INET6, k->addr, out, (socklen_t)outsz))
			str_copy(out, "?", outsz);
	} else {
		str_copy(out, "other", outsz);
	}
}

/* ---- cgroup names -------------------------------------------------------- */

struct cgname_entry {
	uint64_t id;
	char path[CGNAME_MAX_PATH];
	UT_hash_handle hh;
};

struct cgname {
	char mount[PATH_MAX];
	struct cgname_entry *by_id;
	int64_t scanned_ms; /* monotonic time of the last walk; 0 = never */
};

static bool find_mount(const char *hierarchy, char *out, size_t outsz)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	bool found = false;

	if (!f)
		return false;
	while (!found && (m = getmntent(f))) {
		if (!hierarchy)
			found = strcmp(m->mnt_type, "cgroup2") == 0;
		else
			found = strcmp(m->mnt_type, "cgroup") == 0 && hasmntopt(m, hierarchy);
		if (found)
			str_copy(out, m->mnt_dir, outsz);
	}
	endmntent(f);
	return found;
}

struct cgname *cgname_new(const char *hierarchy)
{
	struct cgname *c = xcalloc(1, sizeof(*c));

	if (!find_mount(hierarchy, c->mount, sizeof(c->mount))) {
		free(c);
		return NULL;
	}
	return c;
}

static void clear_entries(struct cgname *c)
{
	struct cgname_entry *e = c->by_id, *next;

	/* Free the table, then walk the elements' own list: no HASH_DEL per element. */
	HASH_CLEAR(hh, c->by_id);
	for (; e; e = next) {
		next = e->hh.next;
		free(e);
	}
}

void cgname_free(struct cgname *c)
{
	if (!c)
		return;
	clear_entries(c);
	free(c);
}

static void remember(struct cgname *c, uint64_t id, const char *rel)
{
	struct cgname_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	if (e)
		return;
	e = xcalloc(1, sizeof(*e));
	e->id = id;
	str_copy(e->path, rel[0] ? rel : "/", sizeof(e->path));
	HASH_ADD(hh, c->by_id, id, sizeof(e->id), e);
}

/* Walk the hierarchy breadth-first with an explicit queue (no recursion), at most
 * CGNAME_MAX_DIRS directories. The queue holds paths relative to the mount. */
static void rescan(struct cgname *c)
{
	char **queue = xcalloc(CGNAME_MAX_DIRS, sizeof(*queue));
	size_t head = 0, tail = 0;
	struct stat st;

	clear_entries(c);
	queue[tail++] = xstrdup("");
	while (head < tail) {
		char *rel = queue[head++], full[PATH_MAX];
		struct dirent *de;
		DIR *dir;

		if ((size_t)snprintf(full, sizeof(full), "%s%s", c->mount, rel) >= sizeof(full))
			continue;
		if (stat(full, &st) == 0)
			remember(c, (uint64_t)st.st_ino, rel);
		dir = opendir(full);
		while (dir && (de = readdir(dir))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			if (tail == CGNAME_MAX_DIRS)
				break;
			queue[tail++] = xasprintf("%s/%s", rel, de->d_name);
		}
		if (dir)
			closedir(dir);
	}
	for (size_t i = 0; i < tail; i++)
		free(queue[i]);
	free(queue);
	c->scanned_ms = mono_ms();
}

int cgname_lookup(struct cgname *c, uint64_t id, char *out, size_t outsz)
{
	struct cgname_entry *e;

	HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	if (!e) {
		if (c->scanned_ms && mono_ms() - c->scanned_ms < CGNAME_RESCAN_MS)
			return -EAGAIN;
		rescan(c);
		HASH_FIND(hh, c->by_id, &id, sizeof(id), e);
	}
	if (!e)
		return -ENOENT;
	str_copy(out, e->path, outsz);
	return 0;
}
