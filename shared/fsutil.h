/* fsutil.h - small file helpers with limits and crash-safe writes. */
#ifndef ONGRID_FSUTIL_H
#define ONGRID_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Read a whole file of at most max bytes into a NUL-terminated buffer the caller frees.
 * Works on procfs/sysfs files whose st_size is 0. Returns 0, -errno, or -E2BIG. */
int read_file_max(const char *path, size_t max, char **ret, size_t *ret_len);

/* Write data to path atomically: tmp file in the same directory, fsync, rename, fsync of
 * the directory. After a crash the file holds either the old or the new contents. */
int write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with mode for each created component. */
int mkdir_p(const char *path, mode_t mode);

/* Read a file holding one integer (sysfs style). */
int read_file_i64(const char *path, long long *ret);

#endif
