/* procs.c - see procs.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/procs.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

struct raw {
	uint64_t ticks, rbytes, wbytes;
};

static int64_t boot_ms(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((int64_t)rt.tv_sec - (int64_t)bt.tv_sec) * 1000 +
	       ((int64_t)rt.tv_nsec - (int64_t)bt.tv_nsec) / 1000000;
}

static void read_user(int pid, char *out, size_t outsz)
{
	char path[64], *text = NULL, *p;
	unsigned uid;

	snprintf(out, outsz, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (evidence_read(path, 8192, &text) < 0)
		return;
	p = strstr(text, "\nUid:");
	/* NOLINTNEXTLINE(cert-err34-c): the kernel's Uid line; count checked */
	if (p && sscanf(p + 5, "%u", &uid) == 1) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
			snprintf(out, outsz, "%s", pw.pw_name);
		else
			snprintf(out, outsz, "%u", uid);
	}
	free(text);
}

static void read_cmdline(int pid, char *out, size_t outsz)
{
	char path[64], *text = NULL;
	int n;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	n = evidence_read(path, outsz - 1, &text);
	if (n <= 0) {
		free(text);
		return;
	}
	for (int i = 0; i < n; i++)
		out[i] = text[i] == '\0' ? ' ' : (isprint((unsigned char)text[i]) ? text[i] : '?');
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	free(text);
}

static int read_stat(int pid, struct proc_row *p, struct raw *raw)
{
	char path[64], *text = NULL, *open_, *close_;
	unsigned long long f[24];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((n = evidence_read(path, 4096, &text)) < 0)
		return n;
	open_ = strchr(text, '(');
	close_ = strrchr(text, ')');
	if (!open_ || !close_ || close_ < open_) {
		free(text);
		return -EPROTO;
	}
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(close_ - open_ - 1), open_ + 1);
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime priority nice threads itreal starttime vsize rss */
	/* NOLINTNEXTLINE(cert-err34-c): /proc/PID/stat fields; count checked */
	if (sscanf(close_ + 2,
	           "%c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
	           "%llu %llu %llu %llu %llu %llu %llu %llu",
	           &p->state, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
	           &f[10], &f[11], &f[12], &f[13], &f[14], &f[15], &f[16], &f[17], &f[18], &f[19],
	           &f[20]) != 22) {
		free(text);
		return -EPROTO;
	}
	free(text);
	p->ppid = (int)f[0];
	raw->ticks = f[10] + f[11];
	p->threads = f[16];
	p->start_ticks = f[18];
	p->rss_bytes = f[20] * (uint64_t)sysconf(_SC_PAGESIZE);
	p->start_ms = boot_ms() + (int64_t)(p->start_ticks * 1000 / (uint64_t)sysconf(_SC_CLK_TCK));
	return 0;
}

static void read_io(int pid, struct raw *raw)
{
	char path[64], *text = NULL, *s;

	raw->rbytes = raw->wbytes = 0;
	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	if (evidence_read(path, 4096, &text) < 0)
		return;
	if ((s = strstr(text, "\nread_bytes:")))
		raw->rbytes = strtoull(s + 12, NULL, 10);
	if ((s = strstr(text, "\nwrite_bytes:")))
		raw->wbytes = strtoull(s + 13, NULL, 10);
	free(text);
}

int procs_read(int pid, struct proc_row *ret)
{
	struct raw raw;
	int r = read_stat(pid, ret, &raw);

	if (r < 0)
		return r == -EPROTO ? r : -ENOENT;
	read_user(pid, ret->user, sizeof(ret->user));
	read_cmdline(pid, ret->cmdline, sizeof(ret->cmdline));
	read_io(pid, &raw);
	ret->write_bytes = raw.wbytes;
	return 0;
}

static size_t list_pids(int *pids, size_t max, int *truncated)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	*truncated = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (*end || v <= 0)
			continue;
		if (n == max) {
			*truncated = 1;
			break;
		}
		pids[n++] = (int)v;
	}
	closedir(d);
	return n;
}

int procs_scan(int64_t gap_ms, struct proc_row **ret, size_t *ret_n, int *ret_truncated)
{
	int *pids = xcalloc(PROCS_MAX, sizeof(*pids));
	struct raw *first = xcalloc(PROCS_MAX, sizeof(*first));
	struct proc_row *rows = xcalloc(PROCS_MAX, sizeof(*rows));
	size_t n = list_pids(pids, PROCS_MAX, ret_truncated), out = 0;
	double hz = (double)sysconf(_SC_CLK_TCK);
	int64_t t0 = mono_ms(), t1;

	for (size_t i = 0; i < n; i++) {
		if (read_stat(pids[i], &rows[i], &first[i]) < 0) {
			pids[i] = 0;
			continue;
		}
		read_io(pids[i], &first[i]);
	}
	if (gap_ms > 0) {
		struct timespec ts = { (time_t)(gap_ms / 1000), (long)(gap_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	t1 = mono_ms();
	for (size_t i = 0; i < n; i++) {
		struct proc_row p;
		struct raw raw;
		double dt = (double)(t1 - t0) / 1000.0;
		if (!pids[i])
			continue;
		if (gap_ms > 0) {
			if (read_stat(pids[i], &p, &raw) < 0 ||
			    p.start_ticks != rows[i].start_ticks)
				continue;
			read_io(pids[i], &raw);
			if (dt > 0) {
				p.cpu_pct = (double)(raw.ticks - first[i].ticks) / hz / dt * 100.0;
				p.read_bps = (double)(raw.rbytes - first[i].rbytes) / dt;
				p.write_bps = raw.wbytes >= first[i].wbytes
				                      ? (double)(raw.wbytes - first[i].wbytes) / dt
				                      : 0;
			}
			p.write_bytes = raw.wbytes;
		} else {
			p = rows[i];
			p.write_bytes = first[i].wbytes;
		}
		read_user(p.pid, p.user, sizeof(p.user));
		read_cmdline(p.pid, p.cmdline, sizeof(p.cmdline));
		rows[out++] = p;
	}
	free(pids);
	free(first);
	*ret = rows;
	*ret_n = out;
	return 0;
}

int procs_by_cpu(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;

	return x->cpu_pct < y->cpu_pct ? 1 : x->cpu_pct > y->cpu_pct ? -1 : x->pid - y->pid;
}

int procs_by_rss(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;

	return x->rss_bytes < y->rss_bytes ? 1 : x->rss_bytes > y->rss_bytes ? -1 : x->pid - y->pid;
}

int procs_by_write(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;

	return x->write_bps < y->write_bps ? 1 : x->write_bps > y->write_bps ? -1 : x->pid - y->pid;
}

cJSON *procs_json(const struct proc_row *p)
{
	cJSON *o = json_obj();
	char st[2] = { p->state, 0 }, when[40];

	json_add_num(o, "pid", p->pid);
	json_add_num(o, "ppid", p->ppid);
	json_add_str(o, "comm", p->comm);
	json_add_str(o, "state", st);
	json_add_str(o, "user", p->user);
	json_add_num(o, "cpu_pct", (double)(int64_t)(p->cpu_pct * 10 + 0.5) / 10);
	json_add_num(o, "rss_bytes", (double)p->rss_bytes);
	json_add_num(o, "threads", (double)p->threads);
	clock_format_rfc3339(when, sizeof(when), p->start_ms);
	json_add_str(o, "started", when);
	json_add_str(o, "cmdline", p->cmdline);
	return o;
}
