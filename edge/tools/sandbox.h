/* sandbox.h - run programs for tools: no shell, a deadline, capped output, limits.
 *
 * Every run:
 *   - resolves each program from the fixed PATH /usr/sbin:/usr/bin:/sbin:/bin and execve()s
 *     it directly (no shell unless a caller passes /bin/sh explicitly, which only approved
 *     dangerous calls do);
 *   - starts a supervisor in a new session; every stage of a pipeline joins its process
 *     group, so the timeout kills the stages and anything they started, with SIGKILL;
 *   - gives the environment PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 and nothing
 *     else, stdin from /dev/null, the working directory "/", all other fds closed;
 *   - sets rlimits: CPU seconds, address space, open files, processes, core 0;
 *   - collects stdout and stderr of every stage into one buffer of at most output_max
 *     bytes; beyond that the rest is drained and dropped and `truncated` is set.
 *
 * A read-only run (the bash tool's allowlisted commands) also gets: RLIMIT_FSIZE 0 (any
 * write to a regular file fails with EFBIG, in place or appending), no_new_privs, a
 * seccomp filter that refuses creating or truncating files, changing the file system, network sockets (only unix and
 * netlink remain, for ss, ip and systemctl), ptrace, process_vm_*, open_by_handle_at,
 * mount, module, clock, reboot, kexec, bpf and namespace calls; and, when started as root,
 * it runs as uid/gid 65534 keeping only CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE and CAP_SYSLOG
 * (ambient), which is what reading logs, /proc of other users and the kernel ring buffer
 * needs, and nothing that writes.
 */
#ifndef ONGRID_SANDBOX_H
#define ONGRID_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/tools/argv_policy.h"
#include "shared/diag.h"

#define SANDBOX_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

struct sandbox_opts {
	int64_t timeout_ms;
	size_t output_max;
	bool read_only;       /* fsize 0, seccomp, privilege drop: see above */
	uint64_t cpu_seconds; /* 0 = timeout rounded up */
	uint64_t as_bytes;    /* address space; 0 = 1 GiB */
	bool no_filter;       /* tests only: skip seccomp to observe the other layers alone */
	/* Service starts: when the last stage exits, stop reading and leave what it started
	 * (a daemon that kept our stdout) alive. The timeout still kills the group. */
	bool keep_group;
};

struct sandbox_result {
	char *output; /* stdout+stderr, NUL-terminated, owned */
	size_t len;
	bool truncated;
	bool timed_out;
	int exit_code;   /* the last stage's exit status, or -1 when killed by a signal */
	int term_signal; /* the signal that ended the last stage, else 0 */
	int64_t duration_ms;
};

/* The absolute path of program name in SANDBOX_PATH; -ENOENT if none is executable. */
int sandbox_resolve(const char *name, char *out, size_t outsz);

/* Run the stages of l connected by pipes. Returns 0 when they ran (whatever their exit
 * status: see ret), or -ENOENT (a program is not installed), -EAGAIN (fork failed), -EIO,
 * with d set. */
int sandbox_run(const struct argv_line *l, const struct sandbox_opts *o, struct sandbox_result *ret,
                struct diag *d);

/* One program with an argv (argv[0] is resolved from the fixed PATH unless absolute). */
int sandbox_run_argv(char *const argv[], const struct sandbox_opts *o, struct sandbox_result *ret,
                     struct diag *d);

void sandbox_result_release(struct sandbox_result *r);

#endif
