/* procfs.c - the shared reading and tokenising helpers of the procfs collectors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/procfs.h"
#include "shared/banned.h"

static const struct metric_desc m_ignored = {
	"ongrid_edge_collector_ignored_devices", METRIC_GAUGE,
	"Devices, mounts or interfaces left out this round: past the collector's cap"
};

void procfs_add_ignored(struct snapshot *out, const char *collector, uint64_t n)
{
	struct label l = { "collector", collector };

	snapshot_add(out, &m_ignored, &l, 1, (double)n);
}

int procfs_read(const char *path, struct buf *b)
{
	char chunk[4096];
	int fd, r = 0;

	buf_reset(b);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = buf_add(b, chunk, (size_t)n);
		if (r < 0)
			break;
	}
	(void)close(fd);
	if (r == 0 && !b->data)
		r = buf_add(b, "", 0); /* an empty file still yields a valid string */
	return r;
}

char *procfs_next_line(char **cursor)
{
	char *line = *cursor, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*cursor = nl + 1;
	} else {
		*cursor = line + strlen(line);
	}
	return line;
}

size_t procfs_split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		fields[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

int procfs_u64(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return 0;
}

void procfs_unescape(char *s)
{
	char *w = s;

	for (const char *p = s; *p;) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 4;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
}

void procfs_comm(int pid, char *out, size_t n)
{
	char path[64];
	ssize_t len = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, out, n - 1);
		close(fd);
	}
	if (len <= 0) {
		snprintf(out, n, "?");
		return;
	}
	out[len] = '\0';
	out[strcspn(out, "\n")] = '\0';
}
