/* filesystem.c - the "filesystem" collector: space and inodes of each mounted real
 * filesystem, from /proc/self/mounts and statvfs(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/banned.h"

static const struct metric_desc m_size = { "ongrid_filesystem_size_bytes", METRIC_GAUGE,
	                                   "Filesystem size" };
static const struct metric_desc m_free = { "ongrid_filesystem_free_bytes", METRIC_GAUGE,
	                                   "Free space, including space reserved for root" };
static const struct metric_desc m_avail = { "ongrid_filesystem_avail_bytes", METRIC_GAUGE,
	                                    "Free space available to unprivileged users" };
static const struct metric_desc m_files = { "ongrid_filesystem_files", METRIC_GAUGE,
	                                    "Inodes in the filesystem" };
static const struct metric_desc m_files_free = { "ongrid_filesystem_files_free", METRIC_GAUGE,
	                                         "Free inodes" };
static const struct metric_desc m_ro = { "ongrid_filesystem_readonly", METRIC_GAUGE,
	                                 "1 when mounted read-only" };

/* Kernel-internal filesystems: nothing to fill, and dozens of them on any host. */
static const char *const pseudo[] = {
	"autofs",    "binfmt_misc", "bpf",      "cgroup",   "cgroup2",    "configfs",
	"debugfs",   "devpts",      "devtmpfs", "efivarfs", "fusectl",    "hugetlbfs",
	"mqueue",    "nsfs",        "proc",     "pstore",   "rpc_pipefs", "securityfs",
	"selinuxfs", "squashfs",    "sysfs",    "tracefs",  "iso9660",    "ramfs",
};
/* statvfs() on these waits for a server; a dead one would stall the whole event loop. */
static const char *const network[] = { "nfs",  "nfs4",      "cifs",   "smb3", "smbfs",
	                               "ceph", "glusterfs", "lustre", "afs",  "9p" };
/* Mount points that belong to containers or the kernel, not to the host's storage. */
static const char *const skip_prefix[] = {
	"/proc/", "/sys/", "/dev/", "/run/credentials/", "/var/lib/docker/", "/var/lib/containers/"
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static bool skip_mount(const char *mountpoint, const char *fstype)
{
	if (in_list(fstype, pseudo, sizeof(pseudo) / sizeof(pseudo[0])) ||
	    in_list(fstype, network, sizeof(network) / sizeof(network[0])) ||
	    strncmp(fstype, "fuse.", 5) == 0)
		return true;
	if (strcmp(mountpoint, "/proc") == 0 || strcmp(mountpoint, "/sys") == 0 ||
	    strcmp(mountpoint, "/dev") == 0)
		return true;
	for (size_t i = 0; i < sizeof(skip_prefix) / sizeof(skip_prefix[0]); i++)
		if (strncmp(mountpoint, skip_prefix[i], strlen(skip_prefix[i])) == 0)
			return true;
	return false;
}

int procfs_parse_mounts(char *text, struct procfs_mount *ret, size_t max, size_t *ret_n,
                        uint64_t *ret_truncated)
{
	char *f[7], *line;
	size_t n = 0;
	uint64_t truncated = 0;
	int r = 0;

	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 7), i;

		if (nf == 0)
			continue;
		if (nf < 4 || f[1][0] != '/') {
			r = -EPROTO;
			continue;
		}
		procfs_unescape(f[0]);
		procfs_unescape(f[1]);
		if (skip_mount(f[1], f[2]))
			continue;
		/* A later mount on the same point hides the earlier one: keep the last. */
		for (i = 0; i < n; i++)
			if (strcmp(ret[i].mountpoint, f[1]) == 0)
				break;
		if (i == n) {
			if (n >= max) {
				truncated++;
				continue;
			}
			n++;
		}
		ret[i].device = f[0];
		ret[i].mountpoint = f[1];
		ret[i].fstype = f[2];
		ret[i].readonly = strcmp(f[3], "ro") == 0 || strncmp(f[3], "ro,", 3) == 0;
	}
	*ret_n = n;
	if (ret_truncated)
		*ret_truncated = truncated;
	return r;
}

void procfs_add_filesystem(const struct procfs_mount *m, const struct procfs_fsstat *st,
                           struct snapshot *out)
{
	struct label l[] = {
		{ "device", m->device },
		{ "fstype", m->fstype },
		{ "mountpoint", m->mountpoint },
	};

	snapshot_add(out, &m_size, l, 3, (double)st->size_bytes);
	snapshot_add(out, &m_free, l, 3, (double)st->free_bytes);
	snapshot_add(out, &m_avail, l, 3, (double)st->avail_bytes);
	snapshot_add(out, &m_files, l, 3, (double)st->files);
	snapshot_add(out, &m_files_free, l, 3, (double)st->files_free);
	snapshot_add(out, &m_ro, l, 3, m->readonly ? 1 : 0);
}

struct filesystem_state {
	struct buf b;
	struct procfs_mount *mounts; /* PROCFS_MAX_MOUNTS, reused every round */
};

static int filesystem_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct filesystem_state *st;

	(void)env;
	if (access("/proc/self/mounts", R_OK) < 0)
		return diag_set(why, -errno, "cannot read '/proc/self/mounts': %s",
		                strerror(errno));
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, PROCFS_READ_MAX);
	st->mounts = xcalloc(PROCFS_MAX_MOUNTS, sizeof(*st->mounts));
	*ret_state = st;
	return 0;
}

static int filesystem_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct filesystem_state *st = state;
	uint64_t ignored = 0;
	size_t n = 0;
	int r;

	(void)now_ms;
	r = procfs_read("/proc/self/mounts", &st->b);
	if (r < 0)
		return r;
	r = procfs_parse_mounts(st->b.data, st->mounts, PROCFS_MAX_MOUNTS, &n, &ignored);
	procfs_add_ignored(out, "filesystem", ignored);
	for (size_t i = 0; i < n; i++) {
		struct statvfs sv;
		struct procfs_fsstat fs;

		/* A mount point we may not enter (unprivileged) is not an error of ours. */
		if (statvfs(st->mounts[i].mountpoint, &sv) < 0)
			continue;
		fs.size_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
		fs.free_bytes = (uint64_t)sv.f_bfree * sv.f_frsize;
		fs.avail_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
		fs.files = sv.f_files;
		fs.files_free = sv.f_ffree;
		procfs_add_filesystem(&st->mounts[i], &fs, out);
	}
	return r;
}

static void filesystem_stop(void *state)
{
	struct filesystem_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st->mounts);
	free(st);
}

const struct collector filesystem_collector = {
	.name = "filesystem",
	.kind = "procfs",
	.summary = "space and inodes per mounted filesystem (pseudo and network filesystems "
	           "skipped)",
	.start = filesystem_start,
	.collect = filesystem_collect,
	.stop = filesystem_stop,
};
