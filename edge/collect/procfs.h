/* procfs.h - reading and parsing /proc files for the procfs collectors.
 *
 * The collectors read small kernel text files once per round. To stay within the edge's
 * memory budget each collector keeps one read buffer (struct buf) that it reuses round
 * after round, never stdio, and never a buffer sized for the worst case up front.
 *
 * Every parser below is a pure function over text already read (modified in place by
 * tokenising), so the unit tests run them on fixture files and the fuzz target on random
 * bytes. A parser adds what it understood to the snapshot and returns 0, or -EPROTO when
 * some line was malformed (the good lines are still added): the collector counts the
 * error and `ongrid-edge status` shows it, the round is never aborted.
 */
#ifndef ONGRID_PROCFS_H
#define ONGRID_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/collect/collector.h"
#include "edge/collect/snapshot.h"
#include "shared/buf.h"

/* The largest procfs file a collector reads (/proc/self/mounts on a host with thousands
 * of mounts, /proc/net/dev with thousands of interfaces stay far below this). */
#define PROCFS_READ_MAX (4u << 20)

/* Label cardinality bounds: beyond these, further devices are ignored (and counted in
 * ongrid_edge_collector_ignored_devices{collector}) so a host with 10,000 veths cannot
 * blow the store or the memory budget. */
#define PROCFS_MAX_DISKS      256
#define PROCFS_MAX_MOUNTS     256
#define PROCFS_MAX_INTERFACES 256
#define PROCFS_MAX_CPUS       1024
#define PROCFS_MAX_PER_CPU    64  /* more CPUs than this: host totals only, no per-CPU series */
#define PROCFS_MAX_TOP        100 /* collect.top_processes upper bound */

/* The procfs collectors (registry.c lists them). */
extern const struct collector cpu_collector, pressure_collector, memory_collector, disk_collector,
        filesystem_collector, net_collector, netstat_collector, proc_collector;

/* The ignored-devices gauge each capped collector (disk, filesystem, net) adds. */
void procfs_add_ignored(struct snapshot *out, const char *collector, uint64_t n);

/* Read path whole into b (reset first; the allocation is kept for the next round).
 * Returns 0, -errno from open/read, or -E2BIG when the file passes b->max. */
int procfs_read(const char *path, struct buf *b);

/* The command name of pid (/proc/PID/comm, at most n-1 bytes), or "?" when the process is
 * gone or cannot be read. */
void procfs_comm(int pid, char *out, size_t n);

/* Return the next line of *cursor, NUL-terminated in place, advancing *cursor; NULL at
 * the end of the text. */
char *procfs_next_line(char **cursor);

/* Split line in place on blanks into at most max fields; returns how many. */
size_t procfs_split(char *line, char **fields, size_t max);

/* Strict unsigned decimal: the whole string or -EINVAL. */
int procfs_u64(const char *s, uint64_t *ret);

/* Undo the octal escapes the kernel uses in mount paths ("\040" is a space), in place. */
void procfs_unescape(char *s);

/* The parsers, one per file format. Each adds samples to out. */

/* /proc/stat: CPU time by mode (total, and per CPU when per_cpu: user, system, iowait
 * and idle only), context switches,
 * forks, running and blocked tasks. hz is sysconf(_SC_CLK_TCK). */
int procfs_parse_stat(char *text, double hz, bool per_cpu, struct snapshot *out);
/* /proc/loadavg */
int procfs_parse_loadavg(char *text, struct snapshot *out);
/* /proc/pressure/<resource> where resource is "cpu", "memory" or "io". */
int procfs_parse_pressure(char *text, const char *resource, struct snapshot *out);
/* /proc/meminfo (kB values become bytes). */
int procfs_parse_meminfo(char *text, struct snapshot *out);
/* /proc/vmstat: swap-ins/outs (in bytes, with page_size), major faults, OOM kills. */
int procfs_parse_vmstat(char *text, long page_size, struct snapshot *out);
/* /proc/diskstats. Devices that never did I/O and whose name says loop, ram or zram
 * are skipped; at most PROCFS_MAX_DISKS devices. *ret_truncated counts the rest. */
int procfs_parse_diskstats(char *text, struct snapshot *out, uint64_t *ret_truncated);
/* /proc/net/dev: per-interface counters; at most PROCFS_MAX_INTERFACES. */
int procfs_parse_netdev(char *text, struct snapshot *out, uint64_t *ret_truncated);
/* /proc/net/snmp and /proc/net/netstat ("Group: names" / "Group: values" line pairs). */
int procfs_parse_snmp(char *text, struct snapshot *out);
/* /proc/net/sockstat: sockets in use, TCP orphans and TIME-WAIT, socket memory (pages
 * become bytes with page_size). */
int procfs_parse_sockstat(char *text, long page_size, struct snapshot *out);
/* /proc/net/softnet_stat: per-CPU packets processed, dropped (backlog full) and
 * time_squeeze (budget ran out), in hex. */
int procfs_parse_softnet(char *text, struct snapshot *out);

/* /proc/self/mounts: the real filesystems to statvfs(), without pseudo filesystems,
 * network filesystems (statvfs could hang the loop on a dead server) and duplicate
 * mount points. Fields point into text. */
struct procfs_mount {
	const char *device, *mountpoint, *fstype;
	bool readonly;
};
int procfs_parse_mounts(char *text, struct procfs_mount *ret, size_t max, size_t *ret_n,
                        uint64_t *ret_truncated);
/* statvfs() results of one mount, as samples. */
struct procfs_fsstat {
	uint64_t size_bytes, free_bytes, avail_bytes, files, files_free;
};
void procfs_add_filesystem(const struct procfs_mount *m, const struct procfs_fsstat *st,
                           struct snapshot *out);

/* /proc/[pid]/stat: the fields the process collector needs. comm may hold spaces and
 * parentheses; the parser finds its end at the last ')'. */
struct procfs_pidstat {
	char comm[32];
	char state;
	uint64_t utime, stime; /* clock ticks */
	uint64_t threads;
	uint64_t start_ticks; /* since boot: tells a reused pid from the old process */
	uint64_t rss_pages;
};
int procfs_parse_pidstat(char *text, struct procfs_pidstat *ret);

#endif
