/* held_space.c - see held_space.h. A file counts when stat() through /proc/PID/fd/N says
 * it is a regular file with no link left (st_nlink 0): the " (deleted)" suffix of the link
 * text is only shown, since a file may be named that. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/collect/procfs.h"
#include "edge/tools/builtin/held_space.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/banned.h"

#define SCAN_PROCS_MAX  32768 /* as procs.h: more than this on a host is not scanned */
#define SCAN_FDS_MAX    65536 /* descriptors looked at in one process */
#define DEVS_PER_PROC   8     /* file systems one process is counted on */
#define INODES_PER_PROC 256   /* distinct deleted files per process (several fds, one file) */

struct proc_held {
	struct held_space on[DEVS_PER_PROC];
	size_t n;
	struct {
		dev_t dev;
		ino_t ino;
	} seen[INODES_PER_PROC];
	size_t nseen;
};

static bool wanted(const dev_t *devs, size_t ndevs, dev_t dev)
{
	if (ndevs == 0)
		return true;
	for (size_t i = 0; i < ndevs; i++)
		if (devs[i] == dev)
			return true;
	return false;
}

/* One descriptor of the same file counts once per process. */
static bool first_sight(struct proc_held *p, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < p->nseen; i++)
		if (p->seen[i].dev == dev && p->seen[i].ino == ino)
			return false;
	if (p->nseen < INODES_PER_PROC) {
		p->seen[p->nseen].dev = dev;
		p->seen[p->nseen].ino = ino;
		p->nseen++;
	}
	return true;
}

static void add(struct proc_held *p, int pid, const struct stat *st, const char *link)
{
	struct held_space *h = NULL;

	for (size_t i = 0; i < p->n; i++)
		if (p->on[i].dev == st->st_dev)
			h = &p->on[i];
	if (!h) {
		if (p->n == DEVS_PER_PROC)
			return;
		h = &p->on[p->n++];
		memset(h, 0, sizeof(*h));
		h->pid = pid;
		h->dev = st->st_dev;
	}
	h->bytes += (uint64_t)st->st_blocks * 512;
	h->files++;
	if (!h->example[0])
		snprintf(h->example, sizeof(h->example), "%s", link);
}

/* Keep out[0..*n) the largest, at most HELD_SPACE_TOP. */
static void keep(struct held_space *out, size_t *n, const struct held_space *h)
{
	size_t i = *n;

	if (*n == HELD_SPACE_TOP) {
		if (h->bytes <= out[HELD_SPACE_TOP - 1].bytes)
			return;
		i = HELD_SPACE_TOP - 1;
	} else {
		(*n)++;
	}
	while (i > 0 && out[i - 1].bytes < h->bytes) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *h;
}

/* The deleted files pid holds on the wanted file systems; false when the deadline came. */
static bool scan_proc(int pid, const dev_t *devs, size_t ndevs, int64_t deadline_ms,
                      struct proc_held *p)
{
	char dir[64];
	DIR *d;
	struct dirent *e;
	size_t fds = 0;
	bool in_time = true;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return true; /* gone, or a kernel thread: nothing held */
	while ((e = readdir(d)) != NULL) {
		char path[320], link[256];
		struct stat st;
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		if (++fds > SCAN_FDS_MAX || ((fds & 255) == 0 && mono_ms() > deadline_ms)) {
			in_time = fds <= SCAN_FDS_MAX;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 0 ||
		    !wanted(devs, ndevs, st.st_dev) || !first_sight(p, st.st_dev, st.st_ino))
			continue;
		len = readlink(path, link, sizeof(link) - 1);
		link[len > 0 ? len : 0] = '\0';
		add(p, pid, &st, link);
	}
	closedir(d);
	return in_time;
}

size_t held_space_scan(const dev_t *devs, size_t ndevs, int64_t deadline_ms,
                       struct held_space out[HELD_SPACE_TOP], int *ret_cut)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct proc_held *p;
	size_t n = 0, procs = 0;

	*ret_cut = 0;
	if (!d)
		return 0;
	p = xmalloc(sizeof(*p)); /* 4 KiB and more: not on the stack of a tool thread */
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		if (++procs > SCAN_PROCS_MAX || mono_ms() > deadline_ms) {
			*ret_cut = 1;
			break;
		}
		p->n = 0;
		p->nseen = 0;
		if (!scan_proc((int)pid, devs, ndevs, deadline_ms, p))
			*ret_cut = 1;
		for (size_t i = 0; i < p->n; i++) {
			procfs_comm((int)pid, p->on[i].comm, sizeof(p->on[i].comm));
			keep(out, &n, &p->on[i]);
		}
	}
	free(p);
	closedir(d);
	return n;
}
