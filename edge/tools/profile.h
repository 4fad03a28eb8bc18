/* profile.h - on-CPU profiling for the profile_cpu tool: every CPU sampled by a cpu-clock
 * perf event running bpf/profile.bpf.c for a few seconds; kernel and user stacks counted
 * in the kernel, symbolised here (user space with elfutils' libdwfl against the live
 * process's mappings, the kernel with /proc/kallsyms). */
#ifndef ONGRID_PROFILE_TOOL_H
#define ONGRID_PROFILE_TOOL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

/* Functions and folded stacks listed per process. */
#define PROFILE_TOP_FUNCTIONS 10
#define PROFILE_TOP_STACKS    5

struct profile_opts {
	int duration_ms;  /* 100 .. 30000 */
	int hz;           /* samples per second per CPU, 1 .. 999 */
	int pid;          /* only this process in the results (all are sampled); 0 = all */
	size_t processes; /* processes listed, busiest first */
};

/* Sample, then build {"samples", "idle_samples", "lost", "cpus", "duration_ms",
 * "processes": [{"pid", "comm", "samples", "pct", "functions": [{"name", "samples",
 * "pct"}], "stacks": [{"stack": "main;work;burn", "samples"}]}]}. -ENOTSUP when built
 * without BPF; -EPERM and others from loading or attaching, with d saying which step. */
int profile_cpu_json(const struct profile_opts *o, cJSON **ret, struct diag *d);

#endif
