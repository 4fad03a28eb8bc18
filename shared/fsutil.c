#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/alloc.h"
#include "shared/fsutil.h"
#include "shared/str.h"
#include "shared/banned.h"

int read_file_max(const char *path, size_t max, char **ret, size_t *ret_len)
{
	size_t len = 0, alloc = 4096;
	char *data;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	data = xmalloc(alloc);
	for (;;) {
		ssize_t n;
		if (len + 1 >= alloc) {
			if (alloc > max) {
				free(data);
				close(fd);
				return -E2BIG;
			}
			alloc *= 2;
			data = xrealloc(data, alloc);
		}
		n = read(fd, data + len, alloc - len - 1);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			free(data);
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(data);
			close(fd);
			return -E2BIG;
		}
	}
	close(fd);
	data[len] = '\0';
	*ret = data;
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	if (str_copy(dir, path, sizeof(dir)) >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		str_copy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return fsync_dir_of(path);
fail:
	close(fd);
	unlink(tmp);
	return r;
}

int mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];

	if (str_copy(p, path, sizeof(p)) >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int read_file_i64(const char *path, long long *ret)
{
	char *data = NULL;
	int64_t v;
	int r = read_file_max(path, 4096, &data, NULL);

	if (r < 0)
		return r;
	r = str_to_i64(str_trim(data), &v);
	free(data);
	if (r == 0)
		*ret = v;
	return r;
}
