/* sandbox.c - fork/exec for tools with a deadline, capped output, rlimits, a scrubbed
 * environment and, for read-only runs, seccomp and a privilege drop. See sandbox.h.
 *
 * Shape: the edge forks a supervisor, which calls setsid() and forks one child per stage,
 * all in its process group, then waits for them and reports the last stage's wait status
 * on a pipe. The edge reads the shared output pipe until EOF or the deadline, then kills
 * the whole group. Between fork and exec only async-signal-safe calls are made (the edge
 * may have other threads): the seccomp program is compiled and exported before forking,
 * and capabilities are set with raw syscalls instead of libcap-ng, which allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edge/tools/sandbox.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/limits.h"
#include "shared/banned.h"

#define NOBODY              65534
/* After the kill, output still buffered in the pipe is read for at most this long; a
 * process that escaped the group cannot hold the call open. */
#define DRAIN_AFTER_KILL_MS 500

static char env_path[] = "PATH=" SANDBOX_PATH;
static char env_lang[] = "LANG=C.UTF-8";
static char *const clean_env[] = { env_path, env_lang, NULL };

/* What read-only diagnosis needs as uid 65534: read any file (logs owned by root), look at
 * other users' /proc entries (ss -p, lsof, ps), read the kernel ring buffer (dmesg). */
static const int keep_caps[] = { CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYSLOG };

int sandbox_resolve(const char *name, char *out, size_t outsz)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

	if (name[0] == '/') {
		if (access(name, X_OK) < 0 || strlen(name) >= outsz)
			return -ENOENT;
		memcpy(out, name, strlen(name) + 1);
		return 0;
	}
	if (!*name || strchr(name, '/'))
		return -ENOENT;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int n = snprintf(out, outsz, "%s/%s", dirs[i], name);
		if (n > 0 && (size_t)n < outsz && access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

void sandbox_result_release(struct sandbox_result *r)
{
	if (!r)
		return;
	free(r->output);
	memset(r, 0, sizeof(*r));
}

/* ---- seccomp, built in the parent --------------------------------------------------- */

static const char *const denied_calls[] = {
	/* changing the file system */
	"creat",
	"truncate",
	"ftruncate",
	"unlink",
	"unlinkat",
	"rename",
	"renameat",
	"renameat2",
	"mkdir",
	"mkdirat",
	"rmdir",
	"link",
	"linkat",
	"symlink",
	"symlinkat",
	"chmod",
	"fchmod",
	"fchmodat",
	"chown",
	"fchown",
	"lchown",
	"fchownat",
	"utime",
	"utimes",
	"utimensat",
	"futimesat",
	"mknod",
	"mknodat",
	"setxattr",
	"lsetxattr",
	"fsetxattr",
	"removexattr",
	"lremovexattr",
	"fremovexattr",
	"fallocate",
	/* other processes' memory, and the handle trick CAP_DAC_READ_SEARCH would allow */
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"open_by_handle_at",
	"name_to_handle_at",
	/* the system */
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"swapon",
	"swapoff",
	"reboot",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"setns",
	"unshare",
	"bpf",
	"perf_event_open",
	"keyctl",
	"add_key",
	"request_key",
	"clock_settime",
	"clock_adjtime",
	"settimeofday",
	"adjtimex",
	"sethostname",
	"setdomainname",
	"iopl",
	"ioperm",
	"acct",
	"quotactl",
	"userfaultfd",
	"fanotify_init",
	"move_mount",
	"fsopen",
	"fsmount",
	"fsconfig",
	"open_tree",
	"mount_setattr",
	/* io_uring performs opens and writes that seccomp never sees */
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
};

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                    const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

/* The SCMP_An() macros leave a field to the compiler's zeroing, which clang flags. */
static struct scmp_arg_cmp cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };

	return c;
}

/* Compile the read-only filter and export it as a BPF program the child can load with
 * prctl() alone. Returns 0 or -errno; prog->filter is malloc'ed. */
static int build_filter(struct sock_fprog *prog)
{
	/* Creating and truncating are refused here. Opening an existing file for writing is
	 * not (lsof and others open /dev/null O_RDWR): RLIMIT_FSIZE 0 makes every write to a
	 * regular file fail with EFBIG, and as uid 65534 only world-writable files open. */
	static const int write_flags[] = { O_CREAT, O_TRUNC };
	static const int net_families[] = { AF_INET, AF_INET6, AF_PACKET };
	static const int syslog_writes[] = { 4, 5, 6, 7, 8 }; /* clear, console level/off/on */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct sock_filter *f = NULL;
	off_t size = 0;
	int fd = -1, r = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(denied_calls) / sizeof(denied_calls[0]) && r == 0; i++)
		r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), denied_calls[i], 0, NULL);
	for (size_t i = 0; i < sizeof(write_flags) / sizeof(write_flags[0]) && r == 0; i++) {
		struct scmp_arg_cmp at = cmp(2, SCMP_CMP_MASKED_EQ, (scmp_datum_t)write_flags[i],
		                             (scmp_datum_t)write_flags[i]);
		struct scmp_arg_cmp plain = cmp(1, SCMP_CMP_MASKED_EQ, (scmp_datum_t)write_flags[i],
		                                (scmp_datum_t)write_flags[i]);
		r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "openat", 1, &at);
		if (r == 0)
			r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "open", 1, &plain);
	}
	/* openat2's flags are in a struct seccomp cannot read: make libc fall back to openat */
	if (r == 0)
		r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, NULL);
	for (size_t i = 0; i < sizeof(net_families) / sizeof(net_families[0]) && r == 0; i++) {
		struct scmp_arg_cmp fam = cmp(0, SCMP_CMP_EQ, (scmp_datum_t)net_families[i], 0);
		r = add_rule(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 1, &fam);
	}
	for (size_t i = 0; i < sizeof(syslog_writes) / sizeof(syslog_writes[0]) && r == 0; i++) {
		struct scmp_arg_cmp act = cmp(0, SCMP_CMP_EQ, (scmp_datum_t)syslog_writes[i], 0);
		r = add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "syslog", 1, &act);
	}
	if (r == 0) {
		fd = memfd_create("ongrid-seccomp", MFD_CLOEXEC);
		r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	}
	if (r == 0) {
		size = lseek(fd, 0, SEEK_END);
		if (size <= 0 || size % (off_t)sizeof(*f) != 0 || size > 65536) {
			r = -EIO;
		} else {
			f = xmalloc((size_t)size);
			if (pread(fd, f, (size_t)size, 0) != size)
				r = -EIO;
		}
	}
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	if (r < 0) {
		free(f);
		return r;
	}
	prog->len = (unsigned short)((size_t)size / sizeof(*f));
	prog->filter = f;
	return 0;
}

/* ---- the child side: async-signal-safe only ------------------------------------------ */

static _noreturn_ void die_child(int fd, const char *what, const char *path)
{
	static const char prefix[] = "ongrid sandbox: ";

	(void)!write(fd, prefix, sizeof(prefix) - 1);
	(void)!write(fd, what, strlen(what));
	if (path) {
		(void)!write(fd, " ", 1);
		(void)!write(fd, path, strlen(path));
	}
	(void)!write(fd, "\n", 1);
	_exit(126);
}

static int drop_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	gid_t gid = NOBODY;

	memset(data, 0, sizeof(data));
	for (int cap = 0; cap < 64; cap++) {
		bool keep = false;
		for (size_t i = 0; i < sizeof(keep_caps) / sizeof(keep_caps[0]); i++)
			keep = keep || keep_caps[i] == cap;
		if (!keep && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(1, &gid) < 0 ||
	    setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(keep_caps) / sizeof(keep_caps[0]); i++) {
		int c = keep_caps[i];
		data[c / 32].effective |= 1u << (c % 32);
		data[c / 32].permitted |= 1u << (c % 32);
		data[c / 32].inheritable |= 1u << (c % 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(keep_caps) / sizeof(keep_caps[0]); i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, keep_caps[i], 0, 0) < 0)
			return -1;
	return 0;
}

struct plan {
	size_t n;
	char (*path)[PATH_MAX];
	char *const *argv[ONGRID_TOOL_CMD_MAX_STAGES];
	const struct sandbox_opts *o;
	struct sock_fprog *filter; /* NULL unless read-only */
	bool root;
	int out_w;    /* write end of the output pipe */
	int status_w; /* write end of the status pipe */
};

static void set_limit(int res, rlim_t v)
{
	struct rlimit rl = { v, v };

	(void)setrlimit(res, &rl);
}

static _noreturn_ void exec_stage(const struct plan *p, size_t i, int in_fd, int out_fd)
{
	const struct sandbox_opts *o = p->o;
	rlim_t cpu = o->cpu_seconds ? o->cpu_seconds : (rlim_t)(o->timeout_ms / 1000 + 1);

	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(p->out_w, 2) < 0)
		die_child(p->out_w, "cannot set up stdio for", p->path[i]);
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	if (chdir("/") < 0)
		die_child(2, "cannot chdir to / for", p->path[i]);
	set_limit(RLIMIT_CPU, cpu);
	set_limit(RLIMIT_AS, o->as_bytes ? o->as_bytes : (rlim_t)1 << 30);
	set_limit(RLIMIT_NOFILE, 256);
	set_limit(RLIMIT_CORE, 0);
	if (o->read_only) {
		set_limit(RLIMIT_FSIZE, 0);
		if (p->root && drop_privileges() < 0)
			die_child(2, "cannot drop privileges for", p->path[i]);
		/* counted per uid: only meaningful once we are not root */
		set_limit(RLIMIT_NPROC, 256);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    (p->filter && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, p->filter, 0, 0) < 0))
			die_child(2, "cannot install the seccomp filter for", p->path[i]);
	}
	signal(SIGPIPE, SIG_DFL);
	execve(p->path[i], p->argv[i], clean_env);
	die_child(2, "cannot execute", p->path[i]);
}

static _noreturn_ void supervise(const struct plan *p)
{
	pid_t pids[ONGRID_TOOL_CMD_MAX_STAGES];
	int in_fd, status = 0;

	setsid();
	in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in_fd < 0)
		die_child(p->out_w, "cannot open", "/dev/null");
	for (size_t i = 0; i < p->n; i++) {
		int pipefd[2] = { -1, -1 }, out_fd = p->out_w;

		if (i + 1 < p->n) {
			if (pipe2(pipefd, O_CLOEXEC) < 0)
				die_child(p->out_w, "cannot create a pipe for", p->path[i]);
			out_fd = pipefd[1];
		}
		pids[i] = fork();
		if (pids[i] < 0)
			die_child(p->out_w, "cannot fork", p->path[i]);
		if (pids[i] == 0)
			exec_stage(p, i, in_fd, out_fd);
		close(in_fd);
		if (pipefd[1] >= 0)
			close(pipefd[1]);
		in_fd = pipefd[0];
	}
	close(p->out_w);
	for (size_t i = 0; i < p->n; i++) {
		int st;
		while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (i + 1 == p->n)
			status = st;
	}
	(void)!write(p->status_w, &status, sizeof(status));
	_exit(0);
}

/* ---- the parent side ------------------------------------------------------------------ */

/* Read output until EOF or the deadline. With keep_group, also stop once the supervisor
 * has exited and the pipe has nothing more right now (*reaped, *status set). */
static void collect(struct sandbox_result *res, int fd, pid_t sup, const struct sandbox_opts *o,
                    size_t cap, bool *reaped, int *status)
{
	int64_t start = mono_ms(), deadline = start + o->timeout_ms, hard_stop = 0;
	char chunk[8192];

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int64_t now = mono_ms(), wait;
		ssize_t n;
		int pr;

		if (!res->timed_out && now >= deadline) {
			res->timed_out = true;
			kill(-sup, SIGKILL);
			hard_stop = now + DRAIN_AFTER_KILL_MS;
		}
		if (hard_stop && now >= hard_stop)
			break;
		wait = (hard_stop ? hard_stop : deadline) - now;
		if (o->keep_group && wait > 50)
			wait = 50;
		pr = poll(&pfd, 1, (int)(wait > 0 ? wait : 0));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0 && o->keep_group && !*reaped && waitpid(sup, status, WNOHANG) == sup)
			*reaped = true;
		if (pr == 0 && *reaped)
			break;
		if (pr <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (res->len < cap) {
			size_t take = MIN((size_t)n, cap - res->len);
			memcpy(res->output + res->len, chunk, take);
			res->len += take;
			if (take < (size_t)n)
				res->truncated = true;
		} else {
			res->truncated = true;
		}
	}
	res->output[res->len] = '\0';
	res->duration_ms = mono_ms() - start;
}

static int wait_supervisor(pid_t sup, const struct sandbox_opts *o, int64_t start,
                           struct sandbox_result *res, bool reaped)
{
	int64_t deadline = start + o->timeout_ms;
	int st;

	for (; !reaped;) {
		pid_t w = waitpid(sup, &st, WNOHANG);
		if (w == sup)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (mono_ms() >= deadline && !res->timed_out) {
			/* output closed early but the processes live on */
			res->timed_out = true;
			kill(-sup, SIGKILL);
		}
		{
			struct timespec ts = { 0, 5000000L };
			nanosleep(&ts, NULL);
		}
	}
	/* anything still in the group (a stage's own children) goes now, unless it is the
	 * service a restart just started */
	if (!o->keep_group || res->timed_out)
		kill(-sup, SIGKILL);
	return 0;
}

static int run_plan(struct plan *p, struct sandbox_result *res, struct diag *d)
{
	int out[2], status[2], r = 0, st = 0, sup_status = 0;
	bool reaped = false;
	size_t cap = p->o->output_max ? MIN(p->o->output_max, ONGRID_TOOL_OUTPUT_MAX)
	                              : ONGRID_TOOL_OUTPUT_MAX;
	int64_t start = mono_ms();
	pid_t sup;

	memset(res, 0, sizeof(*res));
	if (pipe2(out, O_CLOEXEC) < 0)
		return diag_set(d, -errno, "cannot create a pipe: %s", strerror(errno));
	if (pipe2(status, O_CLOEXEC) < 0) {
		r = diag_set(d, -errno, "cannot create a pipe: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		return r;
	}
	p->out_w = out[1];
	p->status_w = status[1];
	res->output = xmalloc(cap + 1);
	sup = fork();
	if (sup < 0) {
		r = diag_set(d, -EAGAIN, "cannot fork: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		close(status[0]);
		close(status[1]);
		sandbox_result_release(res);
		return r;
	}
	if (sup == 0) {
		close(out[0]);
		close(status[0]);
		supervise(p);
	}
	close(out[1]);
	close(status[1]);
	collect(res, out[0], sup, p->o, cap, &reaped, &sup_status);
	close(out[0]);
	r = wait_supervisor(sup, p->o, start, res, reaped);
	if (read(status[0], &st, sizeof(st)) != (ssize_t)sizeof(st))
		st = W_EXITCODE(0, SIGKILL); /* the supervisor itself was killed */
	close(status[0]);
	if (r < 0) {
		sandbox_result_release(res);
		return diag_set(d, r, "cannot wait for the sandbox: %s", strerror(-r));
	}
	if (WIFEXITED(st)) {
		res->exit_code = WEXITSTATUS(st);
	} else {
		res->exit_code = -1;
		res->term_signal = WIFSIGNALED(st) ? WTERMSIG(st) : SIGKILL;
	}
	res->duration_ms = mono_ms() - start;
	return 0;
}

static int run_common(struct plan *p, struct sandbox_result *ret, struct diag *d)
{
	struct sock_fprog filter = { 0, NULL };
	int r;

	p->root = geteuid() == 0;
	if (p->o->read_only && !p->o->no_filter) {
		r = build_filter(&filter);
		if (r < 0)
			return diag_set(d, r, "cannot build the seccomp filter: %s", strerror(-r));
		p->filter = &filter; /* cppcheck-suppress autoVariables ; cleared below */
	}
	r = run_plan(p, ret, d);
	p->filter = NULL;
	free(filter.filter);
	return r;
}

int sandbox_run(const struct argv_line *l, const struct sandbox_opts *o, struct sandbox_result *ret,
                struct diag *d)
{
	struct plan p = { .n = l->nstages, .o = o };
	int r;

	if (l->nstages == 0 || l->nstages > ONGRID_TOOL_CMD_MAX_STAGES)
		return diag_set(d, -EINVAL, "nothing to run");
	p.path = xcalloc(l->nstages, sizeof(*p.path));
	for (size_t i = 0; i < l->nstages; i++) {
		if (sandbox_resolve(l->stage[i].argv[0], p.path[i], PATH_MAX) < 0) {
			r = diag_set(d, -ENOENT, "program '%s' is not installed (searched %s)",
			             l->stage[i].argv[0], SANDBOX_PATH);
			free(p.path);
			return r;
		}
		p.argv[i] = l->stage[i].argv;
	}
	r = run_common(&p, ret, d);
	free(p.path);
	return r;
}

int sandbox_run_argv(char *const argv[], const struct sandbox_opts *o, struct sandbox_result *ret,
                     struct diag *d)
{
	struct plan p = { .n = 1, .o = o };
	int r;

	p.path = xcalloc(1, sizeof(*p.path));
	if (!argv[0] || sandbox_resolve(argv[0], p.path[0], PATH_MAX) < 0) {
		r = diag_set(d, -ENOENT, "program '%s' is not installed (searched %s)",
		             argv[0] ? argv[0] : "", SANDBOX_PATH);
		free(p.path);
		return r;
	}
	p.argv[0] = argv;
	r = run_common(&p, ret, d);
	free(p.path);
	return r;
}
