/* test_held_space.c - space held by deleted files still open: found per process and file
 * system, counted once however many descriptors name it, and gone once it is closed. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/tools/builtin/held_space.h"
#include "shared/clock.h"

#define WRITTEN (2u << 20) /* 2 MiB: well above a file system's rounding */

static char dir[64];
static dev_t dir_dev;

static int setup(void **state)
{
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ongrid-held-XXXXXX");
	if (!mkdtemp(dir) || stat(dir, &st) < 0)
		return -1;
	dir_dev = st.st_dev;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

/* A file of WRITTEN bytes, deleted, its descriptor returned. */
static int deleted_file(const char *name)
{
	char path[128], block[65536];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(block, 'x', sizeof(block));
	for (unsigned n = 0; n < WRITTEN; n += sizeof(block))
		assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

static const struct held_space *mine(const struct held_space *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].pid == getpid())
			return &h[i];
	return NULL;
}

static void finds_this_process_once_per_file(void **state)
{
	struct held_space h[HELD_SPACE_TOP];
	const struct held_space *m;
	int fd = deleted_file("spool"), dup_fd = dup(fd), cut;
	size_t n;

	(void)state;
	n = held_space_scan(&dir_dev, 1, mono_ms() + 5000, h, &cut);
	m = mine(h, n);
	assert_non_null(m);
	assert_int_equal(m->dev, dir_dev);
	assert_int_equal(m->files, 1); /* two descriptors, one file */
	assert_true(m->bytes >= WRITTEN && m->bytes < 2 * WRITTEN);
	assert_non_null(strstr(m->example, "spool (deleted)"));
	assert_int_equal(cut, 0);
	close(dup_fd);
	close(fd);
	/* closed: nothing held any more */
	n = held_space_scan(&dir_dev, 1, mono_ms() + 5000, h, &cut);
	assert_null(mine(h, n));
}

static void an_open_file_that_still_has_a_name_is_not_held(void **state)
{
	struct held_space h[HELD_SPACE_TOP];
	char path[128];
	int fd, cut;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/x (deleted)", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	n = held_space_scan(&dir_dev, 1, mono_ms() + 5000, h, &cut);
	assert_null(mine(h, n)); /* its name says "(deleted)"; its link count does not */
	close(fd);
	unlink(path);
}

static void other_file_systems_are_left_out(void **state)
{
	struct held_space h[HELD_SPACE_TOP];
	dev_t other = dir_dev + 1;
	int fd = deleted_file("elsewhere"), cut;
	size_t n;

	(void)state;
	n = held_space_scan(&other, 1, mono_ms() + 5000, h, &cut);
	assert_null(mine(h, n));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_this_process_once_per_file),
		cmocka_unit_test(an_open_file_that_still_has_a_name_is_not_held),
		cmocka_unit_test(other_file_systems_are_left_out),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
