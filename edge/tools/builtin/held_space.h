/* held_space.h - space that `du` cannot find: files deleted while a process still has them
 * open. The blocks stay allocated until the last descriptor closes, so a full file system
 * with nothing large on it is, more often than not, a log or a dump some process unlinked
 * and kept writing. The scan reads /proc/PID/fd (bounded in processes, descriptors and
 * time) and sums, per process and per file system, the blocks of such files.
 */
#ifndef ONGRID_HELD_SPACE_H
#define ONGRID_HELD_SPACE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HELD_SPACE_TOP 10 /* holders reported, largest first */

struct held_space {
	int pid;
	char comm[32];
	dev_t dev;      /* the file system (st_dev of the files) */
	uint64_t bytes; /* allocated (st_blocks), not the apparent size */
	unsigned files;
	char example[256]; /* one of the files, as /proc shows it: "/data/x.log (deleted)" */
};

/* The largest holders on any of devs[0..ndevs) (ndevs 0: every file system), at most
 * HELD_SPACE_TOP, largest first, into out; returns how many. Bounded by deadline_ms (a
 * mono_ms() time); *ret_cut is set when a bound stopped the scan early. */
size_t held_space_scan(const dev_t *devs, size_t ndevs, int64_t deadline_ms,
                       struct held_space out[HELD_SPACE_TOP], int *ret_cut);

#endif
