/* host_probe_disk.c - is storage the problem? Space and inodes per mount, per-disk I/O
 * (operations, throughput, average wait, utilisation) over one second, block I/O latency
 * from eBPF when it runs, the processes writing most, the space held by deleted files
 * still open (held_space.c), and - given a path - the largest directories and files under
 * it (one file system, bounded walk). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/held_space.h"
#include "edge/tools/builtin/procs.h"
#include "edge/tools/path_rules.h"
#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Entries the largest-files walk looks at, and how long it may take. */
#define DISK_WALK_MAX_ENTRIES 500000
#define DISK_WALK_MAX_MS      5000
#define DISK_TOP              10
#define DISK_HELD_MAX_MS      1500      /* the scan of open deleted files */
#define DISK_MOUNTS_MAX       64        /* mounts whose held space is looked for */
#define HELD_WORTH_BYTES      (1 << 20) /* below 1 MiB, held space is not a finding */

struct sized {
	char path[512];
	uint64_t bytes;
};

struct walk {
	dev_t dev;
	size_t entries;
	int64_t deadline;
	bool cut;
	struct sized files[DISK_TOP];
	size_t nfiles;
};

static void keep_top(struct sized *v, size_t *n, const char *path, uint64_t bytes)
{
	size_t i = *n;

	if (*n == DISK_TOP) {
		if (bytes <= v[DISK_TOP - 1].bytes)
			return;
		i = DISK_TOP - 1;
	} else {
		(*n)++;
	}
	while (i > 0 && v[i - 1].bytes < bytes) {
		v[i] = v[i - 1];
		i--;
	}
	snprintf(v[i].path, sizeof(v[i].path), "%s", path);
	v[i].bytes = bytes;
}

/* Bytes allocated under dir (st_blocks), recording the largest files. */
/* NOLINTNEXTLINE(misc-no-recursion): depth is capped at 64, entries and time too */
static uint64_t du(struct walk *w, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	uint64_t sum = 0;

	if (depth > 64 || w->cut)
		return 0;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char path[4096];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (++w->entries > DISK_WALK_MAX_ENTRIES || mono_ms() > w->deadline) {
			w->cut = true;
			break;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", strcmp(dir, "/") ? dir : "",
		                     e->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &st) < 0 || st.st_dev != w->dev)
			continue;
		uint64_t b = (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			sum += b + du(w, path, depth + 1);
		} else {
			sum += b;
			if (S_ISREG(st.st_mode))
				keep_top(w->files, &w->nfiles, path,
				         b > (uint64_t)st.st_size ? b : (uint64_t)st.st_size);
		}
	}
	if (d)
		closedir(d);
	return sum;
}

static int largest(struct tool_ctx *ctx, cJSON *ev, const char *root)
{
	struct path_rules rules;
	struct walk w = { 0 };
	struct stat st;
	struct sized dirs[DISK_TOP];
	size_t ndirs = 0;
	char b[32];
	DIR *d;
	struct dirent *e;
	int r;

	evidence_path_rules(ctx->conf, &rules);
	r = path_check(&rules, root, PATH_META, &ctx->diag);
	if (r < 0)
		return r;
	if (lstat(root, &st) < 0 || !S_ISDIR(st.st_mode))
		return diag_set(&ctx->diag, -EINVAL, "path '%s' is not a directory", root);
	w.dev = st.st_dev;
	w.deadline = mono_ms() + (tool_time_left_ms(ctx) / 2 < DISK_WALK_MAX_MS
	                                  ? tool_time_left_ms(ctx) / 2
	                                  : DISK_WALK_MAX_MS);
	uint64_t total = 0;
	d = opendir(root);
	while (d && (e = readdir(d))) {
		char path[4096];
		struct stat cs;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		w.entries++;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", strcmp(root, "/") ? root : "",
		                     e->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &cs) < 0 || cs.st_dev != w.dev)
			continue;
		uint64_t sz = (uint64_t)cs.st_blocks * 512;
		if (S_ISDIR(cs.st_mode)) {
			sz += du(&w, path, 1);
			keep_top(dirs, &ndirs, path, sz);
		} else if (S_ISREG(cs.st_mode)) {
			keep_top(w.files, &w.nfiles, path,
			         sz > (uint64_t)cs.st_size ? sz : (uint64_t)cs.st_size);
		}
		total += sz;
	}
	if (d)
		closedir(d);
	cJSON *dj = evidence_rows(ev, "largest_dirs"), *fj = evidence_rows(ev, "largest_files");
	for (size_t i = 0; i < ndirs; i++) {
		cJSON *o = json_obj();
		json_add_str(o, "path", dirs[i].path);
		json_add_num(o, "bytes", (double)dirs[i].bytes);
		json_push(dj, o);
	}
	for (size_t i = 0; i < w.nfiles; i++) {
		cJSON *o = json_obj();
		json_add_str(o, "path", w.files[i].path);
		json_add_num(o, "bytes", (double)w.files[i].bytes);
		json_push(fj, o);
	}
	evidence_bytes(b, sizeof(b), (double)total);
	evidence_say(ev, "under %s: %s in %zu entries%s", root, b, w.entries,
	             w.cut ? " (walk cut at its limit: figures are lower bounds)" : "");
	if (ndirs) {
		evidence_bytes(b, sizeof(b), (double)dirs[0].bytes);
		evidence_say(ev, "largest directory: %s (%s)", dirs[0].path, b);
	}
	if (w.nfiles) {
		evidence_bytes(b, sizeof(b), (double)w.files[0].bytes);
		evidence_say(ev, "largest file: %s (%s)", w.files[0].path, b);
	}
	return 0;
}

/* Space held by deleted files still open, per process and mount: what `du` under the mount
 * cannot see and what a full file system with nothing large on it is made of. */
static void held_by_deleted(cJSON *ev, const struct snapshot *b)
{
	struct {
		const char *mp;
		dev_t dev;
		double size;
	} m[DISK_MOUNTS_MAX];
	dev_t devs[DISK_MOUNTS_MAX];
	struct held_space h[HELD_SPACE_TOP];
	size_t nm = 0, n;
	int cut;
	cJSON *rows = evidence_rows(ev, "held_by_deleted");

	for (size_t i = 0; i < b->n && nm < DISK_MOUNTS_MAX; i++) {
		const struct snapshot_sample *x = &b->samples[i];
		struct stat st;
		if (strcmp(x->name, "ongrid_filesystem_size_bytes") != 0 || x->value <= 0)
			continue;
		m[nm].mp = snap_label(x, "mountpoint");
		if (!m[nm].mp || stat(m[nm].mp, &st) < 0)
			continue;
		m[nm].dev = st.st_dev;
		m[nm].size = x->value;
		devs[nm] = st.st_dev;
		nm++;
	}
	if (!nm)
		return;
	n = held_space_scan(devs, nm, mono_ms() + DISK_HELD_MAX_MS, h, &cut);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		char sz[32];
		double share;
		cJSON *o = json_obj();
		while (k < nm && m[k].dev != h[i].dev)
			k++;
		if (k == nm) {
			cJSON_Delete(o);
			continue;
		}
		share = (double)h[i].bytes / m[k].size * 100;
		json_add_num(o, "pid", h[i].pid);
		json_add_str(o, "comm", h[i].comm);
		json_add_str(o, "mountpoint", m[k].mp);
		json_add_num(o, "bytes", (double)h[i].bytes);
		json_add_num(o, "share_of_fs_pct", round(share * 10) / 10);
		json_add_num(o, "files", h[i].files);
		json_add_str(o, "example", h[i].example);
		json_push(rows, o);
		if (h[i].bytes < HELD_WORTH_BYTES)
			continue;
		evidence_bytes(sz, sizeof(sz), (double)h[i].bytes);
		evidence_say(ev,
		             "pid %d (%s) holds %s of deleted files on %s (%.0f%% of it), such as "
		             "%s: freed only when it closes them or exits",
		             h[i].pid, h[i].comm, sz, m[k].mp, share, h[i].example);
	}
	if (cut)
		evidence_say(ev, "the scan for open deleted files was cut at its limit: there may "
		                 "be more");
}

static int disk_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *path = arg_str(args, "path", NULL);
	struct snapshot a, b;
	cJSON *off, *ev, *mounts, *disks, *rows;
	struct proc_row *procs;
	size_t nprocs;
	int truncated, r;
	char s1[32], s2[32];
	double dt;

	r = evidence_sample(ctx->conf, "filesystem,disk,biolatency", 1000, &a, &b, &off,
	                    &ctx->diag);
	if (r < 0)
		return r;
	dt = (double)(b.t_ms - a.t_ms) / 1000.0;
	ev = evidence_new();
	mounts = evidence_rows(ev, "mounts");
	for (size_t i = 0; i < b.n; i++) {
		const struct snapshot_sample *x = &b.samples[i];
		if (strcmp(x->name, "ongrid_filesystem_size_bytes") != 0 || x->value <= 0)
			continue;
		const char *mp = snap_label(x, "mountpoint");
		double size = x->value;
		double avail = snap_value(&b, "ongrid_filesystem_avail_bytes", "mountpoint", mp);
		double files = snap_value(&b, "ongrid_filesystem_files", "mountpoint", mp);
		double ffree = snap_value(&b, "ongrid_filesystem_files_free", "mountpoint", mp);
		double used = (1 - avail / size) * 100;
		double iused = files > 0 ? (1 - ffree / files) * 100 : 0;
		cJSON *o = json_obj();
		json_add_str(o, "mountpoint", mp);
		json_add_str(o, "device", snap_label(x, "device"));
		json_add_str(o, "fstype", snap_label(x, "fstype"));
		json_add_num(o, "size_bytes", size);
		json_add_num(o, "avail_bytes", avail);
		json_add_num(o, "used_pct", round(used * 10) / 10);
		json_add_num(o, "inodes_used_pct", round(iused * 10) / 10);
		json_push(mounts, o);
		evidence_bytes(s1, sizeof(s1), avail);
		evidence_bytes(s2, sizeof(s2), size);
		if (used >= 90)
			evidence_say(ev, "%s is %.0f%% full: %s free of %s", mp, used, s1, s2);
		if (iused >= 90)
			evidence_say(ev, "%s has used %.0f%% of its inodes (%.0f free)", mp, iused,
			             ffree);
	}
	if (evidence_nfindings(ev) == 0)
		evidence_say(ev, "every mount has at least 10%% of its space and inodes free");
	disks = evidence_rows(ev, "disks");
	for (size_t i = 0; i < b.n; i++) {
		const struct snapshot_sample *x = &b.samples[i];
		if (strcmp(x->name, "ongrid_disk_reads_completed_total") != 0)
			continue;
		const char *dk = snap_label(x, "disk");
		double rd = snap_delta(&a, &b, "ongrid_disk_reads_completed_total", "disk", dk);
		double wr = snap_delta(&a, &b, "ongrid_disk_writes_completed_total", "disk", dk);
		double rt = snap_delta(&a, &b, "ongrid_disk_read_time_seconds_total", "disk", dk);
		double wt = snap_delta(&a, &b, "ongrid_disk_write_time_seconds_total", "disk", dk);
		double io = snap_delta(&a, &b, "ongrid_disk_io_time_seconds_total", "disk", dk);
		double rb = snap_delta(&a, &b, "ongrid_disk_read_bytes_total", "disk", dk);
		double wb = snap_delta(&a, &b, "ongrid_disk_written_bytes_total", "disk", dk);
		double ops = rd + wr;
		double await_ms = ops > 0 ? (rt + wt) / ops * 1000 : 0;
		cJSON *o = json_obj();
		json_add_str(o, "disk", dk);
		json_add_num(o, "iops", round(ops / dt));
		json_add_num(o, "read_bytes_per_s", round(rb / dt));
		json_add_num(o, "write_bytes_per_s", round(wb / dt));
		json_add_num(o, "await_ms", round(await_ms * 100) / 100);
		json_add_num(o, "util_pct", round(io / dt * 1000) / 10);
		json_push(disks, o);
		if (ops > 0 && (await_ms > 50 || io / dt > 0.8))
			evidence_say(ev, "disk %s: %.0f IOPS, average wait %.1f ms, %.0f%% busy",
			             dk, ops / dt, await_ms, io / dt * 100);
	}
	double p99 = snap_hist_quantile(&a, &b, "ongrid_bio_latency_seconds", 0.99);
	if (!isnan(p99))
		evidence_say(ev, "block I/O latency p99 %.2f ms over the second (eBPF)",
		             p99 * 1000);

	procs_scan(1000, &procs, &nprocs, &truncated);
	qsort(procs, nprocs, sizeof(*procs), procs_by_write);
	rows = evidence_rows(ev, "top_writers");
	for (size_t i = 0; i < nprocs && i < arg_limit(args) && procs[i].write_bps > 0; i++) {
		cJSON *o = procs_json(&procs[i]);
		json_add_num(o, "write_bytes_per_s", round(procs[i].write_bps));
		json_add_num(o, "read_bytes_per_s", round(procs[i].read_bps));
		json_push(rows, o);
	}
	if (nprocs > 0 && procs[0].write_bps > 0) {
		evidence_bytes(s1, sizeof(s1), procs[0].write_bps);
		evidence_say(ev, "top writer: pid %d (%s) at %s/s", procs[0].pid, procs[0].comm,
		             s1);
	}
	free(procs);
	held_by_deleted(ev, &b);
	if (path) {
		r = largest(ctx, ev, path);
		if (r < 0) {
			cJSON_Delete(ev);
			cJSON_Delete(off);
			snapshot_release(&a);
			snapshot_release(&b);
			return r;
		}
	}
	json_add_str(ev, "history", "off: two samples 1 s apart now");
	json_add(ev, "collectors_off", off);
	snapshot_release(&a);
	snapshot_release(&b);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_host_probe_disk = {
	.name = "host_probe_disk",
	.class = TOOL_SAFE_READ,
	.summary = "storage now: space and inodes per mount, I/O per disk, top writers, space held "
	           "by deleted files, largest under a path",
	.description = "One call for 'is storage the problem': space and inodes used per mount, "
	               "per-disk IOPS, throughput, average wait and utilisation over 1 s, block "
	               "I/O latency p99 from eBPF, the processes writing most, the space held by "
	               "deleted files a process still has open (per process and mount), and with "
	               "`path` "
	               "the largest directories and files under it (same file system, bounded "
	               "walk; secrets' places refused).",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"path\":{\"type\":\"string\",\"pattern\":\"^/\",\"maxLength\":4096},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = disk_run,
};
