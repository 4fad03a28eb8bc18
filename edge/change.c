/* change.c - see change.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

#include <sqlite3.h>

#include "edge/change.h"
#include "edge/link_watch.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Processes remembered between two scans; exited program names remembered for restarts. */
#define CHANGE_MAX_PROCS          32768
#define CHANGE_EXITED_MAX         256
#define CHANGE_RESTART_MS         ((int64_t)10 * 60 * 1000)
/* Only a process that ran this long is a service whose return is a restart; build tools
 * and shell pipelines come and go under the same names all the time. */
#define CHANGE_SERVICE_MIN_AGE_MS 10000

static const char *const migrations[] = {
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  t_ms INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  pid INTEGER NOT NULL DEFAULT 0,"
	"  comm TEXT NOT NULL DEFAULT '',"
	"  source TEXT NOT NULL"
	");"
	"CREATE UNIQUE INDEX events_unique ON events(t_ms, kind, subject, detail);"
	"CREATE INDEX events_by_time ON events(t_ms);"
	"CREATE TABLE offsets (path TEXT PRIMARY KEY, ino INTEGER NOT NULL, off INTEGER NOT NULL);",
};

struct procrec {
	int pid, ppid;
	uint64_t start; /* clock ticks since boot: tells a reused pid */
	int seen;       /* consecutive scans it was in */
	char comm[16];
};

struct exited {
	char comm[16];
	int pid;
	int64_t t_ms;
};

struct watch {
	int wd;
	char *path;
	bool bin;
};

struct source {
	const char *name;
	bool on;
	char why[160];
};

enum {
	SRC_DPKG,
	SRC_APT,
	SRC_AUTH,
	SRC_WTMP,
	SRC_KMSG,
	SRC_NETLINK,
	SRC_INOTIFY,
	SRC_FANOTIFY,
	SRC_PROC,
	SRC_N
};

struct change {
	const struct edge_conf *conf;
	sqlite3 *db;
	sqlite3_stmt *ins;
	int ino_fd, fan_fd, kmsg_fd;
	struct link_watch *links; /* link up/down from rtnetlink; NULL when off */
	struct watch *watches;
	size_t nwatches;
	struct procrec *procs;
	size_t nprocs;
	bool have_procs;
	struct exited exited[CHANGE_EXITED_MAX];
	size_t nexited;
	struct source src[SRC_N];
	uint64_t recorded, dropped;
	int per_poll;
	int64_t boot_ms, last_retention_ms;
};

int64_t change_boot_ms(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long bt = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "btime ", 6) == 0) {
			char *end;
			errno = 0;
			bt = strtoll(line + 6, &end, 10);
			if (errno || (*end != '\n' && *end != '\0'))
				bt = 0;
			break;
		}
	if (f)
		fclose(f);
	if (bt <= 0) {
		struct timespec rt, b;
		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_BOOTTIME, &b);
		return ((int64_t)rt.tv_sec - (int64_t)b.tv_sec) * 1000;
	}
	return (int64_t)bt * 1000;
}

static void copy(char *dst, size_t n, const char *src, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- parsers ------------------------------------------------------------------- */

/* "2026-11-24 10:23:45" in local time -> epoch ms */
static int local_time_ms(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	int n = 0;

	/* NOLINTNEXTLINE(cert-err34-c): width-limited fields cannot overflow; checked below */
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (int64_t)t * 1000;
	return 0;
}

int change_parse_dpkg(const char *line, struct change_event *ev)
{
	char action[16], pkg[200], v1[100], v2[100];

	memset(ev, 0, sizeof(*ev));
	if (strlen(line) < 21)
		return strlen(line) == 0 ? 0 : -EINVAL;
	if (local_time_ms(line, &ev->t_ms) < 0)
		return -EINVAL;
	if (sscanf(line + 20, "%15s %199s %99s %99s", action, pkg, v1, v2) != 4)
		return 0; /* "startup archives unpack", "trigproc" ... are not changes */
	if (strcmp(action, "install") != 0 && strcmp(action, "upgrade") != 0 &&
	    strcmp(action, "remove") != 0 && strcmp(action, "purge") != 0)
		return 0;
	char *colon = strchr(pkg, ':');
	copy(ev->kind, sizeof(ev->kind), "package", 7);
	copy(ev->subject, sizeof(ev->subject), pkg, colon ? (size_t)(colon - pkg) : strlen(pkg));
	if (strcmp(action, "upgrade") == 0)
		snprintf(ev->detail, sizeof(ev->detail), "upgrade %s -> %s", v1, v2);
	else if (strcmp(action, "install") == 0)
		snprintf(ev->detail, sizeof(ev->detail), "install %s", v2);
	else
		snprintf(ev->detail, sizeof(ev->detail), "%s %s", action, v1);
	copy(ev->source, sizeof(ev->source), "dpkg.log", 8);
	return 1;
}

int change_parse_apt_block(const char *block, struct change_event *ev)
{
	const char *start = strstr(block, "Start-Date: "), *cmd = strstr(block, "Commandline: ");
	const char *by = strstr(block, "Requested-By: ");
	char date[32] = "";
	size_t o = 0;

	memset(ev, 0, sizeof(*ev));
	if (!start || !cmd)
		return start || cmd ? -EINVAL : 0;
	/* "Start-Date: 2026-11-24  10:23:40": two spaces between date and time */
	if (sscanf(start + 12, "%10s", date) != 1)
		return -EINVAL;
	const char *tp = start + 12 + strlen(date);
	while (*tp == ' ')
		tp++;
	char stamp[48];
	snprintf(stamp, sizeof(stamp), "%s %.8s", date, tp);
	if (local_time_ms(stamp, &ev->t_ms) < 0)
		return -EINVAL;
	copy(ev->kind, sizeof(ev->kind), "package", 7);
	copy(ev->subject, sizeof(ev->subject), "apt", 3);
	const char *end = strchr(cmd, '\n');
	o = (size_t)snprintf(ev->detail, sizeof(ev->detail), "%.*s",
	                     (int)(end ? end - cmd - 13 : (long)strlen(cmd + 13)), cmd + 13);
	if (by && o < sizeof(ev->detail)) {
		end = strchr(by, '\n');
		o += (size_t)snprintf(ev->detail + o, sizeof(ev->detail) - o, " (by %.*s)",
		                      (int)(end ? end - by - 14 : (long)strlen(by + 14)), by + 14);
	}
	static const char *const what[] = { "Install: ", "Upgrade: ", "Remove: ", "Purge: " };
	for (size_t i = 0; i < 4 && o < sizeof(ev->detail); i++) {
		const char *w = strstr(block, what[i]);
		if (!w)
			continue;
		end = strchr(w, '\n');
		o += (size_t)snprintf(ev->detail + o, sizeof(ev->detail) - o, "; %.*s",
		                      (int)(end ? end - w : (long)strlen(w)), w);
	}
	copy(ev->source, sizeof(ev->source), "apt/history.log", 15);
	return 1;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int change_parse_auth(const char *line, int year, struct change_event *ev)
{
	const char *msg;
	char user[64], from[64];

	memset(ev, 0, sizeof(*ev));
	if (isdigit((unsigned char)line[0])) {
		/* RFC 3339: "2026-11-24T17:01:02.123456+00:00 host prog[pid]: msg" */
		char ts[40];
		if (sscanf(line, "%39s", ts) != 1 || clock_parse_time(ts, &ev->t_ms) < 0)
			return -EINVAL;
	} else {
		/* "Nov 24 17:01:02 host prog[pid]: msg" (local time, no year) */
		char mon[4], stamp[80];
		int day, h, m, s, mi = -1;
		/* NOLINTNEXTLINE(cert-err34-c): width-limited fields; local_time_ms checks ranges */
		if (sscanf(line, "%3s %2d %2d:%2d:%2d", mon, &day, &h, &m, &s) != 5)
			return -EINVAL;
		for (int i = 0; i < 12; i++)
			if (strcmp(mon, months[i]) == 0)
				mi = i;
		if (mi < 0)
			return -EINVAL;
		snprintf(stamp, sizeof(stamp), "%04d-%02d-%02d %02d:%02d:%02d", year, mi + 1, day,
		         h, m, s);
		if (local_time_ms(stamp, &ev->t_ms) < 0)
			return -EINVAL;
	}
	copy(ev->kind, sizeof(ev->kind), "login", 5);
	copy(ev->source, sizeof(ev->source), "auth.log", 8);
	if ((msg = strstr(line, "sshd[")) && (msg = strstr(msg, "]: Accepted "))) {
		char method[32];
		if (sscanf(msg + 12, "%31s for %63s from %63s", method, user, from) != 3)
			return -EINVAL;
		const char *pid = strstr(line, "sshd[");
		ev->pid = (int)strtol(pid + 5, NULL, 10);
		copy(ev->comm, sizeof(ev->comm), "sshd", 4);
		copy(ev->subject, sizeof(ev->subject), user, strlen(user));
		snprintf(ev->detail, sizeof(ev->detail), "ssh login from %s (%s)", from, method);
		return 1;
	}
	if ((msg = strstr(line, " sudo: ")) && strstr(msg, "COMMAND=")) {
		if (sscanf(msg + 7, " %63s", user) != 1)
			return -EINVAL;
		const char *c = strstr(msg, "COMMAND=");
		copy(ev->subject, sizeof(ev->subject), user, strlen(user));
		snprintf(ev->detail, sizeof(ev->detail), "sudo %.400s", c + 8);
		copy(ev->comm, sizeof(ev->comm), "sudo", 4);
		return 1;
	}
	return 0;
}

int change_parse_kmsg(const char *record, int64_t boot_ms, struct change_event *ev)
{
	unsigned long long seq, usec;
	int pri, n = 0;
	const char *msg, *p;

	memset(ev, 0, sizeof(*ev));
	/* NOLINTNEXTLINE(cert-err34-c): the kernel's own record header; count checked */
	if (sscanf(record, "%d,%llu,%llu,%*[^;];%n", &pri, &seq, &usec, &n) != 3 || n == 0)
		return -EINVAL;
	msg = record + n;
	ev->t_ms = boot_ms + (int64_t)(usec / 1000);
	copy(ev->kind, sizeof(ev->kind), "kernel", 6);
	copy(ev->source, sizeof(ev->source), "kmsg", 4);
	size_t mlen = strcspn(msg, "\n");
	if ((p = strstr(msg, "Killed process ")) && p < msg + mlen) {
		int pid;
		char comm[32] = "?";
		/* NOLINTNEXTLINE(cert-err34-c): the kernel prints a pid; count checked */
		if (sscanf(p + 15, "%d (%31[^)])", &pid, comm) < 1)
			return -EINVAL;
		ev->pid = pid;
		copy(ev->comm, sizeof(ev->comm), comm, strlen(comm));
		copy(ev->subject, sizeof(ev->subject), comm, strlen(comm));
		snprintf(ev->detail, sizeof(ev->detail), "%s: OOM kill of pid %d (%s)%s",
		         strstr(msg, "Memory cgroup") ? "memory cgroup limit" : "out of memory",
		         pid, comm, "");
		return 1;
	}
	if ((p = strstr(msg, "I/O error")) && p < msg + mlen) {
		const char *dev = strstr(msg, "dev ");
		char name[64] = "?";
		if (dev && dev < msg + mlen)
			sscanf(dev + 4, "%63[^, \n]", name);
		copy(ev->subject, sizeof(ev->subject), name, strlen(name));
		copy(ev->detail, sizeof(ev->detail), msg, mlen);
		return 1;
	}
	if (((p = strstr(msg, "Link is Up")) || (p = strstr(msg, "Link is Down")) ||
	     (p = strstr(msg, "link becomes ready")) || (p = strstr(msg, "link is not ready"))) &&
	    p < msg + mlen) {
		/* "e1000e 0000:00:19.0 eth0: NIC Link is Up", "ADDRCONF(NETDEV_CHANGE): veth0: link ..." */
		char name[64] = "?";
		const char *colon = p;
		while (colon > msg && colon[-1] != ':')
			colon--;
		if (colon > msg) {
			const char *s = colon - 1;
			while (s > msg && s[-1] != ' ' && s[-1] != ':')
				s--;
			copy(name, sizeof(name), s, (size_t)(colon - 1 - s));
		}
		copy(ev->subject, sizeof(ev->subject), name, strlen(name));
		copy(ev->detail, sizeof(ev->detail), msg, mlen);
		return 1;
	}
	return 0;
}

/* ---- store --------------------------------------------------------------------- */

static int store_open(const struct edge_conf *c, sqlite3 **ret, struct diag *d)
{
	char *path;
	int r, fd;

	r = mkdir_p(c->data_dir, 0700);
	if (r < 0)
		return diag_set(d, r, "cannot create '%s': %s", c->data_dir, strerror(-r));
	path = xasprintf("%s/changes.db", c->data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		close(fd);
	r = db_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), ret, d);
	free(path);
	return r;
}

static int record(struct change *ch, const struct change_event *ev)
{
	if (ch->per_poll >= CHANGE_MAX_PER_POLL) {
		ch->dropped++;
		return 0;
	}
	sqlite3_reset(ch->ins);
	sqlite3_bind_int64(ch->ins, 1, ev->t_ms);
	sqlite3_bind_text(ch->ins, 2, ev->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(ch->ins, 3, ev->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(ch->ins, 4, ev->detail, -1, SQLITE_STATIC);
	sqlite3_bind_int(ch->ins, 5, ev->pid);
	sqlite3_bind_text(ch->ins, 6, ev->comm, -1, SQLITE_STATIC);
	sqlite3_bind_text(ch->ins, 7, ev->source, -1, SQLITE_STATIC);
	if (sqlite3_step(ch->ins) != SQLITE_DONE)
		return -EIO;
	if (sqlite3_changes(ch->db) > 0) {
		ch->recorded++;
		ch->per_poll++;
		return 1;
	}
	return 0;
}

static bool get_offset(struct change *ch, const char *path, uint64_t *ino, int64_t *off)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (db_prepare(ch->db, "SELECT ino, off FROM offsets WHERE path = ?", &st, NULL) < 0)
		return false;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ino = (uint64_t)sqlite3_column_int64(st, 0);
		*off = sqlite3_column_int64(st, 1);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

static void set_offset(struct change *ch, const char *path, uint64_t ino, int64_t off)
{
	sqlite3_stmt *st = NULL;

	if (db_prepare(ch->db, "INSERT OR REPLACE INTO offsets (path, ino, off) VALUES (?, ?, ?)",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	sqlite3_bind_int64(st, 3, off);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* ---- logs ---------------------------------------------------------------------- */

/* Read what is new in path (from the stored offset; a new file or a rotated one from its
 * start, a file seen the first time from its last CHANGE_LOG_CHUNK bytes). Complete lines
 * only; apt's blocks are cut at "End-Date:". */
static void read_log(struct change *ch, int which, const char *path)
{
	struct source *src = &ch->src[which];
	struct stat st;
	uint64_t ino = 0;
	int64_t off = 0;
	int fd;

	if (!path || !*path) {
		src->on = false;
		snprintf(src->why, sizeof(src->why), "not configured");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		src->on = false;
		snprintf(src->why, sizeof(src->why), "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	src->on = true;
	src->why[0] = '\0';
	if (!get_offset(ch, path, &ino, &off))
		off = st.st_size > CHANGE_LOG_CHUNK ? st.st_size - CHANGE_LOG_CHUNK : 0;
	else if (ino != (uint64_t)st.st_ino || off > st.st_size)
		off = 0; /* rotated or truncated */
	if (off >= st.st_size) {
		close(fd);
		set_offset(ch, path, (uint64_t)st.st_ino, off);
		return;
	}
	size_t want = (size_t)(st.st_size - off) < CHANGE_LOG_CHUNK ? (size_t)(st.st_size - off)
	                                                            : CHANGE_LOG_CHUNK;
	char *buf = xmalloc(want + 1);
	ssize_t n = pread(fd, buf, want, off);
	close(fd);
	if (n <= 0) {
		free(buf);
		return;
	}
	buf[n] = '\0';
	char *last_nl = strrchr(buf, '\n');
	if (!last_nl) {
		/* one line longer than a chunk: skip it */
		set_offset(ch, path, (uint64_t)st.st_ino, off + n);
		free(buf);
		return;
	}
	last_nl[1] = '\0';
	size_t used = (size_t)(last_nl + 1 - buf);
	struct change_event ev;
	int year;
	{
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		year = tm.tm_year + 1900;
	}
	if (which == SRC_APT) {
		char *end_block = NULL;
		for (char *b = strstr(buf, "Start-Date: "); b; b = strstr(b + 1, "Start-Date: ")) {
			char *e = strstr(b, "End-Date: ");
			if (!e)
				break;
			char *eol = strchr(e, '\n');
			if (!eol)
				break;
			char save = eol[1];
			eol[1] = '\0';
			if (change_parse_apt_block(b, &ev) == 1)
				record(ch, &ev);
			eol[1] = save;
			end_block = eol + 1;
		}
		used = end_block ? (size_t)(end_block - buf) : (off == 0 ? 0 : used);
		if (!end_block && n == (ssize_t)want && want == CHANGE_LOG_CHUNK)
			used = (size_t)n; /* a chunk without a block: move on */
	} else {
		for (char *line = buf; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			int r = which == SRC_DPKG ? change_parse_dpkg(line, &ev)
			                          : change_parse_auth(line, year, &ev);
			if (r == 1)
				record(ch, &ev);
			line = nl ? nl + 1 : NULL;
		}
	}
	set_offset(ch, path, (uint64_t)st.st_ino, off + (int64_t)used);
	free(buf);
}

static void read_wtmp(struct change *ch)
{
	struct source *src = &ch->src[SRC_WTMP];
	const char *path = ch->conf->changes_wtmp;
	uint64_t ino = 0;
	int64_t last = 0, newest;
	struct utmpx *u;

	if (!path || !*path || access(path, R_OK) < 0) {
		src->on = false;
		snprintf(src->why, sizeof(src->why), "cannot read %s", path ? path : "(unset)");
		return;
	}
	src->on = true;
	get_offset(ch, path, &ino, &last);
	newest = last;
	if (utmpxname(path) < 0)
		return;
	setutxent();
	while ((u = getutxent())) {
		int64_t t = (int64_t)u->ut_tv.tv_sec * 1000 + u->ut_tv.tv_usec / 1000;
		if (u->ut_type != USER_PROCESS || t <= last)
			continue;
		struct change_event ev = { .t_ms = t, .pid = u->ut_pid };
		copy(ev.kind, sizeof(ev.kind), "login", 5);
		copy(ev.subject, sizeof(ev.subject), u->ut_user,
		     strnlen(u->ut_user, sizeof(u->ut_user)));
		snprintf(ev.detail, sizeof(ev.detail), "login on %.*s%s%.*s",
		         (int)sizeof(u->ut_line), u->ut_line, u->ut_host[0] ? " from " : "",
		         (int)sizeof(u->ut_host), u->ut_host);
		copy(ev.source, sizeof(ev.source), "wtmp", 4);
		record(ch, &ev);
		if (t > newest)
			newest = t;
	}
	endutxent();
	set_offset(ch, path, 0, newest);
}

static void read_kmsg(struct change *ch, int fd)
{
	char rec[8192];

	for (int i = 0; i < 100000; i++) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue; /* overwritten before we read it */
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		struct change_event ev;
		if (change_parse_kmsg(rec, ch->boot_ms, &ev) == 1)
			record(ch, &ev);
	}
}

static void record_link(void *udata, const struct change_event *ev)
{
	(void)record(udata, ev);
}

/* ---- file watches -------------------------------------------------------------- */

static bool under(const char *path, const char *dir)
{
	size_t n;

	if (!dir || !*dir)
		return false;
	n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* NOLINTNEXTLINE(misc-no-recursion): depth is capped at 16 and watches at CHANGE_MAX_WATCHES */
static void add_watch(struct change *ch, const char *dir, bool bin, int depth)
{
	uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR |
	                IN_DONT_FOLLOW | IN_EXCL_UNLINK;
	int wd;

	if (ch->nwatches >= CHANGE_MAX_WATCHES || under(dir, ch->conf->data_dir))
		return;
	if (ch->fan_fd < 0)
		mask |= IN_CLOSE_WRITE;
	wd = inotify_add_watch(ch->ino_fd, dir, mask);
	if (wd < 0)
		return;
	ch->watches = xrealloc(ch->watches, st_mul(ch->nwatches + 1, sizeof(*ch->watches)));
	ch->watches[ch->nwatches++] = (struct watch){ wd, xstrdup(dir), bin };
	if (ch->fan_fd >= 0)
		fanotify_mark(ch->fan_fd, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD,
		              AT_FDCWD, dir);
	if (bin || depth >= 16)
		return;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && ch->nwatches < CHANGE_MAX_WATCHES) {
		char sub[PATH_MAX];
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= sizeof(sub))
			continue;
		add_watch(ch, sub, false, depth + 1);
	}
	if (d)
		closedir(d);
}

static const struct watch *watch_of(const struct change *ch, int wd)
{
	for (size_t i = 0; i < ch->nwatches; i++)
		if (ch->watches[i].wd == wd)
			return &ch->watches[i];
	return NULL;
}

static void file_event(struct change *ch, const char *path, bool bin, const char *what, int pid,
                       const char *comm, const char *source)
{
	struct change_event ev = { .t_ms = now_ms(), .pid = pid };

	if (under(path, ch->conf->data_dir))
		return;
	copy(ev.kind, sizeof(ev.kind), bin ? "binary" : "file", bin ? 6 : 4);
	copy(ev.subject, sizeof(ev.subject), path, strlen(path));
	if (pid)
		snprintf(ev.detail, sizeof(ev.detail), "%s%s by pid %d (%s)", what,
		         bin ? " (binary replaced)" : "", pid, comm && *comm ? comm : "exited");
	else
		snprintf(ev.detail, sizeof(ev.detail), "%s%s; writer unknown (inotify cannot tell)",
		         what, bin ? " (binary replaced)" : "");
	if (comm)
		copy(ev.comm, sizeof(ev.comm), comm, strlen(comm));
	copy(ev.source, sizeof(ev.source), source, strlen(source));
	record(ch, &ev);
}

static bool is_bin_dir(const struct change *ch, const char *path)
{
	for (size_t i = 0; i < ch->conf->changes_bin_dirs.n; i++)
		if (under(path, ch->conf->changes_bin_dirs.v[i]))
			return true;
	return false;
}

static void read_inotify(struct change *ch)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(ch->ino_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)(void *)p;
			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				ch->dropped++;
				continue;
			}
			const struct watch *w = watch_of(ch, e->wd);
			if (!w || !e->len)
				continue;
			char path[PATH_MAX];
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", w->path, e->name) >=
			    sizeof(path))
				continue;
			if ((e->mask & IN_ISDIR) && (e->mask & (IN_CREATE | IN_MOVED_TO)) &&
			    !w->bin)
				add_watch(ch, path, false, 1);
			const char *what = e->mask & IN_CLOSE_WRITE ? "written"
			                   : e->mask & IN_CREATE    ? "created"
			                   : e->mask & IN_DELETE    ? "deleted"
			                   : e->mask & IN_MOVED_TO  ? "moved into place"
			                                            : "moved away";
			if (w->bin && !(e->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
				continue;
			if (!w->bin && (e->mask & IN_CREATE) && !(e->mask & IN_ISDIR) &&
			    ch->fan_fd >= 0)
				continue; /* the close after writing it comes from fanotify with the pid */
			file_event(ch, path, w->bin, what, 0, NULL, "inotify");
		}
	}
}

static void read_fanotify(struct change *ch)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));

	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = read(ch->fan_fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		const struct fanotify_event_metadata *m = (const void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			char lp[64], path[PATH_MAX], comm[32] = "";
			ssize_t k;
			if (m->fd < 0) {
				ch->dropped++;
				continue;
			}
			snprintf(lp, sizeof(lp), "/proc/self/fd/%d", m->fd);
			k = readlink(lp, path, sizeof(path) - 1);
			close(m->fd);
			if (k <= 0)
				continue;
			path[k] = '\0';
			snprintf(lp, sizeof(lp), "/proc/%d/comm", m->pid);
			FILE *f = fopen(lp, "re");
			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(f);
			}
			if (m->pid == getpid())
				continue; /* our own writes (the store) */
			if (!*comm)
				for (size_t i = 0; i < ch->nprocs; i++)
					if (ch->procs[i].pid == m->pid)
						copy(comm, sizeof(comm), ch->procs[i].comm,
						     strlen(ch->procs[i].comm));
			file_event(ch, path, is_bin_dir(ch, path), "written", m->pid, comm,
			           "fanotify");
		}
	}
}

/* ---- processes ----------------------------------------------------------------- */

static size_t scan_procs(struct procrec *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	while (d && (e = readdir(d)) && n < max) {
		char *end, path[64], text[1024];
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (k <= 0)
			continue;
		text[k] = '\0';
		char *o = strchr(text, '('), *c = strrchr(text, ')');
		unsigned long long start;
		int ppid;
		if (!o || !c || c < o)
			continue;
		/* state ppid ... field 22 starttime */
		/* NOLINTNEXTLINE(cert-err34-c): /proc/PID/stat fields; count checked */
		if (sscanf(c + 2,
		           "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
		           "%*d %*d %*d %llu",
		           &ppid, &start) != 2)
			continue;
		out[n].pid = (int)pid;
		out[n].ppid = ppid;
		out[n].start = start;
		copy(out[n].comm, sizeof(out[n].comm), o + 1, (size_t)(c - o - 1));
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

static const struct procrec *find_proc(const struct procrec *v, size_t n, int pid, uint64_t start)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid && v[i].start == start)
			return &v[i];
	return NULL;
}

static void poll_procs(struct change *ch, int64_t now)
{
	struct procrec *cur = xcalloc(CHANGE_MAX_PROCS, sizeof(*cur));
	size_t n = scan_procs(cur, CHANGE_MAX_PROCS);
	int64_t tck = sysconf(_SC_CLK_TCK);

	if (ch->have_procs) {
		/* gone since the last scan: a long-lived one is remembered for restarts */
		for (size_t i = 0; i < ch->nprocs; i++) {
			const struct procrec *p = &ch->procs[i];
			int64_t age = now - (ch->boot_ms + (int64_t)p->start * 1000 / tck);
			if (p->ppid != 1 || find_proc(cur, n, p->pid, p->start) ||
			    age < CHANGE_SERVICE_MIN_AGE_MS)
				continue;
			struct exited *x = &ch->exited[ch->nexited % CHANGE_EXITED_MAX];
			copy(x->comm, sizeof(x->comm), p->comm, strlen(p->comm));
			x->pid = p->pid;
			x->t_ms = now;
			ch->nexited++;
		}
		/* a process is judged in the scan after it first appeared: a short-lived one
		 * never is */
		for (size_t i = 0; i < n; i++) {
			struct procrec *p = &cur[i];
			const struct procrec *old =
			        find_proc(ch->procs, ch->nprocs, p->pid, p->start);
			p->seen = old ? old->seen + 1 : 1;
			if (p->seen != 2 || p->ppid != 1)
				continue; /* services are children of init (or daemonised to it) */
			const struct exited *prev = NULL;
			size_t m =
			        ch->nexited < CHANGE_EXITED_MAX ? ch->nexited : CHANGE_EXITED_MAX;
			for (size_t k = 0; k < m; k++)
				if (strcmp(ch->exited[k].comm, p->comm) == 0 &&
				    now - ch->exited[k].t_ms <= CHANGE_RESTART_MS &&
				    (!prev || ch->exited[k].t_ms > prev->t_ms))
					prev = &ch->exited[k];
			struct change_event ev = { .t_ms = now, .pid = p->pid };
			copy(ev.kind, sizeof(ev.kind), "process", 7);
			copy(ev.subject, sizeof(ev.subject), p->comm, strlen(p->comm));
			copy(ev.comm, sizeof(ev.comm), p->comm, strlen(p->comm));
			if (prev)
				snprintf(ev.detail, sizeof(ev.detail),
				         "restarted as pid %d (pid %d exited %.0f s before)",
				         p->pid, prev->pid, (double)(now - prev->t_ms) / 1000);
			else
				snprintf(ev.detail, sizeof(ev.detail),
				         "started as pid %d under init", p->pid);
			copy(ev.source, sizeof(ev.source), "proc", 4);
			record(ch, &ev);
		}
	} else {
		for (size_t i = 0; i < n; i++)
			cur[i].seen = 2; /* the baseline: already running, not a change */
	}
	free(ch->procs);
	ch->procs = xrealloc(cur, st_mul(n ? n : 1, sizeof(*cur)));
	ch->nprocs = n;
	ch->have_procs = true;
}

/* ---- lifecycle ----------------------------------------------------------------- */

static void init_sources(struct change *ch)
{
	static const char *const names[SRC_N] = {
		"dpkg.log", "apt/history.log", "auth.log", "wtmp", "kmsg",
		"netlink",  "inotify",         "fanotify", "proc"
	};
	for (int i = 0; i < SRC_N; i++) {
		ch->src[i].name = names[i];
		ch->src[i].on = false;
		snprintf(ch->src[i].why, sizeof(ch->src[i].why), "not started");
	}
}

static int prepare(struct change *ch, struct diag *d)
{
	int r = store_open(ch->conf, &ch->db, d);

	if (r < 0)
		return r;
	r = db_prepare(
	        ch->db,
	        "INSERT OR IGNORE INTO events (t_ms, kind, subject, detail, pid, comm, source) "
	        "VALUES (?, ?, ?, ?, ?, ?, ?)",
	        &ch->ins, d);
	if (r < 0)
		return r;
	ch->boot_ms = change_boot_ms();
	ch->ino_fd = ch->fan_fd = ch->kmsg_fd = -1;
	return 0;
}

int change_open(const struct edge_conf *c, struct change **ret, struct diag *d)
{
	struct change *ch = xcalloc(1, sizeof(*ch));
	int r;

	ch->conf = c;
	init_sources(ch);
	r = prepare(ch, d);
	if (r < 0) {
		change_close(ch);
		return r;
	}
	ch->fan_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
	                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (ch->fan_fd < 0)
		snprintf(ch->src[SRC_FANOTIFY].why, sizeof(ch->src[SRC_FANOTIFY].why),
		         "fanotify: %s (file writers will be unknown)", strerror(errno));
	else
		ch->src[SRC_FANOTIFY].on = true, ch->src[SRC_FANOTIFY].why[0] = '\0';
	ch->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ch->ino_fd < 0) {
		snprintf(ch->src[SRC_INOTIFY].why, sizeof(ch->src[SRC_INOTIFY].why), "inotify: %s",
		         strerror(errno));
	} else {
		for (size_t i = 0; i < c->changes_watch.n; i++)
			add_watch(ch, c->changes_watch.v[i], false, 0);
		for (size_t i = 0; i < c->changes_bin_dirs.n; i++)
			add_watch(ch, c->changes_bin_dirs.v[i], true, 0);
		ch->src[SRC_INOTIFY].on = ch->nwatches > 0;
		snprintf(ch->src[SRC_INOTIFY].why, sizeof(ch->src[SRC_INOTIFY].why), "%s",
		         ch->nwatches ? "" : "no watched directory exists");
	}
	if (c->changes_kmsg) {
		ch->kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ch->src[SRC_KMSG].on = ch->kmsg_fd >= 0;
		snprintf(ch->src[SRC_KMSG].why, sizeof(ch->src[SRC_KMSG].why), "%s",
		         ch->kmsg_fd >= 0 ? "" : strerror(errno));
		/* drivers that print nothing on a carrier change (veth, virtio on many
		 * hypervisors): the kernel still announces it on rtnetlink */
		struct diag ld = { 0 };
		ch->src[SRC_NETLINK].on = link_watch_open(&ch->links, &ld) == 0;
		snprintf(ch->src[SRC_NETLINK].why, sizeof(ch->src[SRC_NETLINK].why), "%.150s",
		         ch->links ? "" : ld.msg);
	} else {
		snprintf(ch->src[SRC_KMSG].why, sizeof(ch->src[SRC_KMSG].why),
		         "changes.kmsg is off");
		snprintf(ch->src[SRC_NETLINK].why, sizeof(ch->src[SRC_NETLINK].why),
		         "changes.kmsg is off");
	}
	ch->src[SRC_PROC].on = true;
	ch->src[SRC_PROC].why[0] = '\0';
	*ret = ch;
	return 0;
}

void change_close(struct change *ch)
{
	if (!ch)
		return;
	sqlite3_finalize(ch->ins);
	db_close(ch->db);
	if (ch->ino_fd >= 0)
		close(ch->ino_fd);
	if (ch->fan_fd >= 0)
		close(ch->fan_fd);
	if (ch->kmsg_fd >= 0)
		close(ch->kmsg_fd);
	link_watch_close(ch->links);
	for (size_t i = 0; i < ch->nwatches; i++)
		free(ch->watches[i].path);
	free(ch->watches);
	free(ch->procs);
	free(ch);
}

int change_poll(struct change *ch, int64_t now)
{
	uint64_t before = ch->recorded;

	ch->per_poll = 0;
	db_exec(ch->db, "BEGIN", NULL);
	if (ch->fan_fd >= 0)
		read_fanotify(ch);
	if (ch->ino_fd >= 0)
		read_inotify(ch);
	read_log(ch, SRC_DPKG, ch->conf->changes_dpkg_log);
	read_log(ch, SRC_APT, ch->conf->changes_apt_log);
	read_log(ch, SRC_AUTH, ch->conf->changes_auth_log);
	read_wtmp(ch);
	if (ch->kmsg_fd >= 0)
		read_kmsg(ch, ch->kmsg_fd);
	if (ch->links)
		link_watch_read(ch->links, now, record_link, ch);
	poll_procs(ch, now);
	if (now - ch->last_retention_ms > (int64_t)3600 * 1000) {
		sqlite3_stmt *st = NULL;
		if (db_prepare(ch->db, "DELETE FROM events WHERE t_ms < ?", &st, NULL) == 0) {
			sqlite3_bind_int64(st, 1, now - ch->conf->changes_retention_ms);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
		ch->last_retention_ms = now;
	}
	db_exec(ch->db, "COMMIT", NULL);
	return (int)(ch->recorded - before);
}

cJSON *change_status_json(const struct change *ch)
{
	cJSON *o = json_obj(), *a = json_arr();

	for (int i = 0; i < SRC_N; i++) {
		cJSON *s = json_obj();
		json_add_str(s, "name", ch->src[i].name);
		json_add_bool(s, "on", ch->src[i].on);
		if (ch->src[i].why[0])
			json_add_str(s, "why", ch->src[i].why);
		json_push(a, s);
	}
	json_add(o, "sources", a);
	json_add_num(o, "watches", (double)ch->nwatches);
	json_add_num(o, "recorded", (double)ch->recorded);
	json_add_num(o, "dropped", (double)ch->dropped);
	return o;
}

int change_scan(const struct edge_conf *c, struct diag *d)
{
	struct change *ch = xcalloc(1, sizeof(*ch));
	int r;

	ch->conf = c;
	init_sources(ch);
	r = prepare(ch, d);
	if (r < 0) {
		change_close(ch);
		return r;
	}
	db_exec(ch->db, "BEGIN", NULL);
	read_log(ch, SRC_DPKG, c->changes_dpkg_log);
	read_log(ch, SRC_APT, c->changes_apt_log);
	read_log(ch, SRC_AUTH, c->changes_auth_log);
	read_wtmp(ch);
	if (c->changes_kmsg) {
		int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			read_kmsg(ch, fd);
			close(fd);
		}
	}
	db_exec(ch->db, "COMMIT", NULL);
	r = (int)ch->recorded;
	change_close(ch);
	return r;
}

int change_query_json(const struct edge_conf *c, int64_t since, int64_t until, const char *kind,
                      const char *match, size_t limit, cJSON **ret, struct diag *d)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	cJSON *o, *events, *kinds;
	int r;

	if (limit > CHANGE_QUERY_MAX)
		limit = CHANGE_QUERY_MAX;
	r = store_open(c, &db, d);
	if (r < 0)
		return r;
	r = db_prepare(db,
	               "SELECT t_ms, kind, subject, detail, pid, comm, source FROM events "
	               "WHERE t_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR kind = ?3) AND "
	               "(?4 IS NULL OR instr(subject, ?4) > 0 OR instr(detail, ?4) > 0) "
	               "ORDER BY t_ms DESC, id DESC",
	               &st, d);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	if (kind)
		sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (match)
		sqlite3_bind_text(st, 4, match, -1, SQLITE_STATIC);
	o = json_obj();
	events = json_arr();
	kinds = json_obj();
	size_t total = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 1);
		cJSON *kc = cJSON_GetObjectItemCaseSensitive(kinds, k);
		if (kc)
			cJSON_SetNumberValue(kc, kc->valuedouble + 1);
		else
			json_add_num(kinds, k, 1);
		if (total++ >= limit)
			continue;
		cJSON *e = json_obj();
		char when[40];
		clock_format_rfc3339(when, sizeof(when), sqlite3_column_int64(st, 0));
		json_add_str(e, "time", when);
		json_add_str(e, "kind", k);
		json_add_str(e, "subject", (const char *)sqlite3_column_text(st, 2));
		json_add_str(e, "detail", (const char *)sqlite3_column_text(st, 3));
		if (sqlite3_column_int(st, 4))
			json_add_num(e, "pid", sqlite3_column_int(st, 4));
		if (*(const char *)sqlite3_column_text(st, 5))
			json_add_str(e, "comm", (const char *)sqlite3_column_text(st, 5));
		json_add_str(e, "source", (const char *)sqlite3_column_text(st, 6));
		json_push(events, e);
	}
	if (r != SQLITE_DONE) {
		cJSON_Delete(o);
		cJSON_Delete(events);
		cJSON_Delete(kinds);
		r = diag_set(d, -EIO, "changes: sqlite: %s", sqlite3_errmsg(db));
		goto out;
	}
	json_add_num(o, "total", (double)total);
	json_add(o, "by_kind", kinds);
	json_add(o, "events", events);
	*ret = o;
	r = 0;
out:
	sqlite3_finalize(st);
	db_close(db);
	return r;
}
