/* hostinfo.h - what this host can do for the edge: kernel, privileges, BTF, BPF, tracefs,
 * cgroups, init system. Collectors consult it to decide whether they can run, and
 * `ongrid-edge status` prints it so an operator sees why something is off. */
#ifndef ONGRID_HOSTINFO_H
#define ONGRID_HOSTINFO_H

#include <stdbool.h>

#include <cjson/cJSON.h>

struct hostinfo {
	char kernel[128]; /* uname -r */
	char arch[32];
	bool root;         /* effective uid 0 */
	bool cap_bpf;      /* can load BPF programs (root, or CAP_BPF+CAP_PERFMON) */
	bool btf;          /* /sys/kernel/btf/vmlinux readable */
	bool bpf_tracing;  /* the kernel accepts tracing programs (probed with libbpf) */
	char bpf_why[160]; /* why not, when bpf_tracing is false */
	bool tracefs;      /* tracefs mounted (only needed by some tools) */
	bool cgroup2;      /* a cgroup2 hierarchy is mounted */
	char cgroup2_path[128];
	bool systemd; /* systemd is PID 1 */
	bool psi;     /* /proc/pressure exists */
	long ncpu;
};

void hostinfo_probe(struct hostinfo *h);
cJSON *hostinfo_json(const struct hostinfo *h);

#endif
