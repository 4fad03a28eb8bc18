/* procs.h - a scan of /proc for the process tools and the host probes: every process
 * with its CPU share and I/O rates measured over a short gap, resident memory, owner and
 * command line. The scan is bounded (PROCS_MAX processes) and a process that exits
 * between the two looks is simply left out.
 */
#ifndef ONGRID_PROCS_H
#define ONGRID_PROCS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* More processes than this on one host are not listed (the scan stops and says so). */
#define PROCS_MAX 32768

struct proc_row {
	int pid, ppid;
	char comm[32];
	char state;
	char user[32];
	char cmdline[256]; /* arguments joined by spaces, cut */
	uint64_t threads;
	uint64_t rss_bytes;
	uint64_t start_ticks;
	int64_t start_ms;           /* epoch ms */
	double cpu_pct;             /* of one CPU, over the gap */
	double read_bps, write_bps; /* storage I/O (/proc/PID/io), bytes/s over the gap */
	uint64_t write_bytes;       /* total written to storage so far */
};

/* Scan twice gap_ms apart (0: one look, CPU and I/O rates are 0). *ret is owned. Sets
 * *ret_truncated when PROCS_MAX was reached. */
int procs_scan(int64_t gap_ms, struct proc_row **ret, size_t *ret_n, int *ret_truncated);

/* Sort helpers for qsort. */
int procs_by_cpu(const void *a, const void *b);
int procs_by_rss(const void *a, const void *b);
int procs_by_write(const void *a, const void *b);

/* Read one process now (no rates). -ENOENT when it is gone. */
int procs_read(int pid, struct proc_row *ret);

/* A row as JSON. */
cJSON *procs_json(const struct proc_row *p);

#endif
