#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "edge/hostinfo.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

static void probe_mounts(struct hostinfo *h)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;

	if (!f)
		return;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "tracefs") == 0)
			h->tracefs = true;
		if (strcmp(m->mnt_type, "cgroup2") == 0 && !h->cgroup2) {
			h->cgroup2 = true;
			str_copy(h->cgroup2_path, m->mnt_dir, sizeof(h->cgroup2_path));
		}
	}
	endmntent(f);
}

static bool pid1_is_systemd(void)
{
	/* sd_booted()'s test: this directory exists only when systemd is the init. */
	return access("/run/systemd/system", F_OK) == 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void probe_bpf(struct hostinfo *h)
{
	libbpf_print_fn_t old;
	int r;

	if (!h->btf) {
		snprintf(h->bpf_why, sizeof(h->bpf_why),
		         "no kernel BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load");
		return;
	}
	old = libbpf_set_print(silent_print);
	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL);
	libbpf_set_print(old);
	if (r == 1) {
		h->bpf_tracing = true;
		h->cap_bpf = true;
		return;
	}
	/* Unprivileged, libbpf reports the refused load as "unsupported" (0), so the
	 * privilege check comes first: the operator needs the real reason. */
	if (r == -EPERM || !h->root)
		snprintf(h->bpf_why, sizeof(h->bpf_why),
		         "not permitted to load BPF programs (needs root or CAP_BPF+CAP_PERFMON)");
	else if (r == 0)
		snprintf(h->bpf_why, sizeof(h->bpf_why),
		         "the kernel does not support BPF tracing programs");
	else
		snprintf(h->bpf_why, sizeof(h->bpf_why), "BPF probe failed: %s", strerror(-r));
}

void hostinfo_probe(struct hostinfo *h)
{
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (uname(&u) == 0) {
		str_copy(h->kernel, u.release, sizeof(h->kernel));
		str_copy(h->arch, u.machine, sizeof(h->arch));
	}
	h->root = geteuid() == 0;
	h->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	h->psi = access("/proc/pressure/cpu", R_OK) == 0;
	h->systemd = pid1_is_systemd();
	h->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	probe_mounts(h);
	probe_bpf(h);
}

cJSON *hostinfo_json(const struct hostinfo *h)
{
	cJSON *o = json_obj();

	json_add_str(o, "kernel", h->kernel);
	json_add_str(o, "arch", h->arch);
	json_add_num(o, "cpus", (double)h->ncpu);
	json_add_bool(o, "root", h->root);
	json_add_bool(o, "btf", h->btf);
	json_add_bool(o, "bpf", h->bpf_tracing);
	if (!h->bpf_tracing)
		json_add_str(o, "bpf_off_reason", h->bpf_why);
	json_add_bool(o, "psi", h->psi);
	json_add_bool(o, "tracefs", h->tracefs);
	json_add_str(o, "cgroup2", h->cgroup2 ? h->cgroup2_path : NULL);
	json_add_str(o, "init", h->systemd ? "systemd" : "other");
	return o;
}
