/* bpf_common.h - what every eBPF collector's user side shares: the host check before
 * loading, libbpf's messages routed to our log, the tp_btf/raw_tp choice, reading per-CPU
 * histograms out of maps, exporting them, and naming cgroups and peers for labels.
 *
 * Nothing here starts with bpf_: that prefix is libbpf's (STYLE.md 3.2).
 */
#ifndef ONGRID_BPF_COMMON_H
#define ONGRID_BPF_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/collect/collector.h"
#include "edge/collect/snapshot.h"
#include "bpf/hist.h"

struct bpf_object;
struct bpf_object_skeleton;

/* Can an eBPF collector start here? 0, or a negative errno with the reason in why:
 * "built without eBPF support", "needs root (...)", "no kernel BTF ...". Also routes
 * libbpf's messages to our log (once per process). */
int ebpf_check(const struct collect_env *env, struct diag *why);

/* Does this kernel load BTF-typed tracepoint programs (tp_btf) for tracepoint tp (e.g.
 * "sched_switch")? Probed by loading a two-instruction program; cached per name. With
 * ONGRID_BPF_NO_TP_BTF set in the environment, always false. */
bool ebpf_tp_btf_ok(const char *tp);

/* How many arguments tracepoint tp passes to a tp_btf program, from the kernel's BTF
 * (the btf_trace_<tp> prototype, without its leading context pointer). Tracepoints gain
 * arguments across kernel versions (sched_process_exit got group_dead in 6.16); a
 * collector picks the program that matches. Returns the count or a negative errno. */
int ebpf_tp_nargs(const char *tp);

/* Choose which of obj's programs load: those in "tp_btf/" sections when tp_btf is true,
 * those in "raw_tp/" sections otherwise. Programs in other sections are left alone. */
void ebpf_pick_programs(struct bpf_object *obj, bool tp_btf);

/* Drop the pages of the skeleton's embedded object file (in the binary's read-only data)
 * from RSS once it is loaded: libbpf reads those bytes only to open the object, and they
 * would otherwise stay mapped for the daemon's life (~170 KiB for the five collectors).
 * Never-written file pages: a later open faults them back from the binary. */
void ebpf_release_object_bytes(const struct bpf_object_skeleton *s);

/* Fill why after a failed open/load/attach of a collector's skeleton (r from libbpf). */
int ebpf_fail(struct diag *why, int r, const char *step);

/* Read one per-CPU value of a PERCPU_ARRAY or PERCPU_HASH map holding struct hist and
 * add the CPUs' copies into *out (which the caller zeroes). 0 or -errno (-ENOENT when
 * the key is absent). */
int ebpf_percpu_hist(int map_fd, const void *key, struct hist *out);

/* Insert key into a per-CPU map with every CPU's value zeroed (value_size bytes each),
 * replacing what was there. 0 or -errno. */
int ebpf_percpu_zero(int map_fd, const void *key, size_t value_size);

/* Add src's counts into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
uint64_t hist_count(const struct hist *h);

/* Export h as a Prometheus histogram. A slot's value is in units of `unit` (1e-6 for
 * microseconds, 1 for bytes); its sum in units of sum_unit (1e-9 for nanoseconds).
 * Slots below first_slot are folded into it, so a histogram whose values never go that
 * low (I/O sizes below 1 KiB) carries no always-empty buckets. */
void ebpf_export_hist(struct snapshot *s, const struct metric_desc *m, const struct label *l,
                      size_t nl, const struct hist *h, double unit, double sum_unit,
                      unsigned first_slot);

/* "10.0.0.1", "fe80::1", or "other" for family 0. */
void peer_format(const struct peer_key *k, char *out, size_t outsz);

/* Cgroup id -> path under a cgroup hierarchy's mount, for labels. The kernel reports a
 * cgroup by its kernfs id, which is the inode number of its directory; the cache maps
 * those by walking the mount, again (at most once a second) when an id is unknown. */
struct cgname;

/* hierarchy: NULL for the cgroup2 mount, or a v1 controller name ("memory"). Returns
 * NULL when that hierarchy is not mounted. */
struct cgname *cgname_new(const char *hierarchy);
void cgname_free(struct cgname *c);
/* Copy the path of cgroup id ("/" for the root, "/app/web") into out. -ENOENT when a
 * walk made by this call found no cgroup with that id (it was removed, or was never in
 * this hierarchy); -EAGAIN when the id is unknown and the last walk is too recent to
 * walk again. */
int cgname_lookup(struct cgname *c, uint64_t id, char *out, size_t outsz);

/* The eBPF collectors (registry.c lists them). */
extern const struct collector runqlat_collector, biolatency_collector, tcp_collector,
        procexec_collector, oomkill_collector;

#endif
