/* service_status.c and service_logs (below): a service as systemd knows it where systemd
 * is PID 1, otherwise as plain processes: which processes carry the name, since when,
 * what they listen on, how often they restarted (change events), and the log files they
 * write. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/change.h"
#include "edge/edge.h"
#include "edge/topo.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/procs.h"
#include "edge/tools/path_rules.h"
#include "edge/tools/sandbox.h"
#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Log files of a service read by service_logs, and processes matched by name. */
#define SVC_MAX_LOGS  8
#define SVC_MAX_PROCS 64

static bool systemd_is_init(void)
{
	struct stat st;

	return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_service_proc(const struct proc_row *p, const char *name)
{
	if (p->pid == getpid())
		return false;
	if (strcmp(p->comm, name) == 0)
		return true;
	/* an interpreter running it: "python3 /opt/app/name.py", "java -jar name.jar" */
	const char *base = strrchr(p->cmdline, '/');
	const char *first = strchr(p->cmdline, ' ');
	return strncmp(p->cmdline, name, strlen(name)) == 0 ||
	       (base && (!first || base < first) && strncmp(base + 1, name, strlen(name)) == 0);
}

static int run_capture(struct tool_ctx *ctx, char *const argv[], cJSON *ev, const char *key)
{
	struct sandbox_opts o = { .timeout_ms = tool_time_left_ms(ctx) > 10000
		                                        ? 10000
		                                        : tool_time_left_ms(ctx),
		                  .output_max = ctx->output_max ? ctx->output_max : 65536,
		                  .read_only = true };
	struct sandbox_result res = { 0 };
	int r = sandbox_run_argv(argv, &o, &res, &ctx->diag);

	if (r < 0)
		return r;
	tool_add_output(ev, key, res.output, res.len, res.truncated);
	r = res.exit_code;
	if (res.timed_out) /* a systemd or journal that does not answer: say so */
		r = diag_set(&ctx->diag, -ETIMEDOUT, "%s did not answer within %lld ms", argv[0],
		             (long long)o.timeout_ms);
	sandbox_result_release(&res);
	return r;
}

static int status_systemd(struct tool_ctx *ctx, const char *name, cJSON *ev)
{
	char unit[300], a0[] = "systemctl", a1[] = "show",
	                a3[] = "--property=ActiveState,SubState,MainPID,NRestarts,Result,"
	                       "ExecMainStartTimestamp,ExecMainStatus,LoadState";
	char *argv[] = { a0, a1, unit, a3, NULL };
	int r;

	snprintf(unit, sizeof(unit), "%s%s", name, strchr(name, '.') ? "" : ".service");
	r = run_capture(ctx, argv, ev, "systemctl_show");
	if (r < 0)
		return r;
	const char *out = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "systemctl_show"));
	const char *as = out ? strstr(out, "ActiveState=") : NULL;
	const char *nr = out ? strstr(out, "NRestarts=") : NULL;
	if (!as) /* systemctl could not ask systemd (no D-Bus, no permission): its words */
		evidence_say(ev, "systemd unit %s: systemctl show failed (exit %d): %.*s", unit, r,
		             out ? (int)strcspn(out, "\n") : 0, out ? out : "");
	else
		evidence_say(ev, "systemd unit %s: %.*s, %.*s", unit, (int)strcspn(as, "\n"), as,
		             nr ? (int)strcspn(nr, "\n") : 1, nr ? nr : "?");
	json_add_str(ev, "manager", "systemd");
	return 0;
}

static void status_plain(struct tool_ctx *ctx, const char *name, cJSON *ev)
{
	struct proc_row *procs;
	size_t n, found = 0;
	int truncated;
	cJSON *rows = evidence_rows(ev, "processes"), *ports = evidence_rows(ev, "listening");
	int pids[SVC_MAX_PROCS];
	int64_t oldest = 0;

	json_add_str(ev, "manager", "none (systemd is not PID 1): plain processes");
	procs_scan(300, &procs, &n, &truncated);
	for (size_t i = 0; i < n; i++) {
		if (!is_service_proc(&procs[i], name) || found >= SVC_MAX_PROCS)
			continue;
		pids[found++] = procs[i].pid;
		json_push(rows, procs_json(&procs[i]));
		if (!oldest || procs[i].start_ms < oldest)
			oldest = procs[i].start_ms;
	}
	struct topo *t;
	struct diag d = { 0 };
	if (found && topo_scan(&t, &d) == 0) {
		for (size_t i = 0; i < t->nlisten; i++)
			for (size_t k = 0; k < found; k++)
				if (t->listen[i].pid == pids[k]) {
					cJSON *o = json_obj();
					json_add_str(o, "addr", t->listen[i].addr);
					json_add_num(o, "port", t->listen[i].port);
					json_add_num(o, "pid", t->listen[i].pid);
					json_add_num(o, "connections", t->listen[i].connections);
					json_push(ports, o);
				}
		topo_free(t);
	}
	if (found) {
		char when[40];
		clock_format_rfc3339(when, sizeof(when), oldest);
		evidence_say(ev,
		             "%s is running: %zu processes (pid %d first), up since %s, listening "
		             "on %d ports",
		             name, found, pids[0], when, cJSON_GetArraySize(ports));
	} else {
		evidence_say(ev, "%s is not running: no process has that name or runs that program",
		             name);
	}
	free(procs);
	/* restarts the daemon saw (edge/change.c) */
	cJSON *ch = NULL;
	struct diag cd = { 0 };
	int64_t now = now_ms();
	if (change_query_json(ctx->conf, now - (int64_t)24 * 3600 * 1000, now, "process", name, 20,
	                      &ch, &cd) == 0) {
		int restarts = 0;
		cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(ch, "events")) {
			const char *subj = cJSON_GetStringValue(cJSON_GetObjectItem(e, "subject"));
			const char *det = cJSON_GetStringValue(cJSON_GetObjectItem(e, "detail"));
			if (subj && strcmp(subj, name) == 0 && det && strstr(det, "restarted"))
				restarts++;
		}
		if (restarts)
			evidence_say(ev, "restarted %d times in the last 24 h (change events)",
			             restarts);
		json_add(ev, "change_events", cJSON_DetachItemFromObject(ch, "events"));
		cJSON_Delete(ch);
	}
	char init[PATH_MAX];
	snprintf(init, sizeof(init), "%s/%s",
	         ctx->conf->tools_init_dir ? ctx->conf->tools_init_dir : "/etc/init.d", name);
	if (access(init, X_OK) == 0)
		json_add_str(ev, "init_script", init);
}

static int status_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *name = arg_str(args, "name", "");
	cJSON *ev = evidence_new();

	json_add_str(ev, "service", name);
	if (systemd_is_init()) {
		int r = status_systemd(ctx, name, ev);
		if (r < 0) {
			cJSON_Delete(ev);
			return r;
		}
	} else {
		status_plain(ctx, name, ev);
	}
	*ret_evidence = ev;
	return 0;
}

/* ---- service_logs -------------------------------------------------------------- */

static bool seen_path(char paths[][PATH_MAX], size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(paths[i], p) == 0)
			return true;
	return false;
}

/* Log files: the service's processes' open files that look like logs, then
 * /var/log/NAME.log and /var/log/NAME/ (*.log). */
static size_t find_logs(const char *name, char paths[][PATH_MAX])
{
	struct proc_row *procs;
	size_t n, np = 0;
	int truncated;

	procs_scan(0, &procs, &n, &truncated);
	for (size_t i = 0; i < n && np < SVC_MAX_LOGS; i++) {
		if (!is_service_proc(&procs[i], name))
			continue;
		char fdd[64];
		snprintf(fdd, sizeof(fdd), "/proc/%d/fd", procs[i].pid);
		DIR *d = opendir(fdd);
		struct dirent *e;
		while (d && (e = readdir(d)) && np < SVC_MAX_LOGS) {
			char lp[320], target[PATH_MAX];
			struct stat st;
			snprintf(lp, sizeof(lp), "%s/%s", fdd, e->d_name);
			ssize_t k = readlink(lp, target, sizeof(target) - 1);
			if (k <= 0)
				continue;
			target[k] = '\0';
			if (target[0] != '/' || stat(target, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (!strstr(target, ".log") && strncmp(target, "/var/log/", 9) != 0)
				continue;
			if (!seen_path(paths, np, target))
				snprintf(paths[np++], PATH_MAX, "%s", target);
		}
		if (d)
			closedir(d);
	}
	free(procs);
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "/var/log/%s.log", name);
	if (np < SVC_MAX_LOGS && access(p, R_OK) == 0 && !seen_path(paths, np, p))
		snprintf(paths[np++], PATH_MAX, "%s", p);
	snprintf(p, sizeof(p), "/var/log/%s", name);
	DIR *d = opendir(p);
	struct dirent *e;
	while (d && (e = readdir(d)) && np < SVC_MAX_LOGS) {
		char f[PATH_MAX];
		if (!strstr(e->d_name, ".log") || strstr(e->d_name, ".gz"))
			continue;
		if ((size_t)snprintf(f, sizeof(f), "%s/%s", p, e->d_name) >= sizeof(f))
			continue;
		if (!seen_path(paths, np, f))
			snprintf(paths[np++], PATH_MAX, "%s", f);
	}
	if (d)
		closedir(d);
	return np;
}

/* The last `lines` lines of path (at most 1 MiB read from its end). */
static void tail_into(cJSON *o, const char *path, size_t lines, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		json_add_str(o, "error", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	size_t win = st.st_size < (1 << 20) ? (size_t)st.st_size : (1 << 20);
	char *buf = xmalloc(win + 1);
	ssize_t n = pread(fd, buf, win, st.st_size - (off_t)win);
	close(fd);
	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	size_t seen = 0;
	ssize_t start = n;
	if (start > 0 && buf[start - 1] == '\n')
		start--;
	while (start > 0 && seen < lines) {
		start--;
		if (buf[start] == '\n')
			seen++;
	}
	if (start > 0 || buf[0] == '\n')
		start++;
	size_t len = (size_t)(n - start);
	bool cut = len > cap;
	if (cut) {
		start += (ssize_t)(len - cap);
		len = cap;
	}
	tool_add_output(o, "content", buf + start, len, cut);
	free(buf);
}

static int logs_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *name = arg_str(args, "name", "");
	size_t lines = (size_t)arg_int(args, "lines", 50);
	size_t cap = ctx->output_max ? ctx->output_max : 65536;
	cJSON *ev = evidence_new();
	int r;

	json_add_str(ev, "service", name);
	if (systemd_is_init()) {
		char unit[300], n[24];
		snprintf(unit, sizeof(unit), "%s%s", name, strchr(name, '.') ? "" : ".service");
		snprintf(n, sizeof(n), "%zu", lines);
		char a0[] = "journalctl", a1[] = "-u", a3[] = "-n", a5[] = "--no-pager",
		     a6[] = "-o", a7[] = "short-iso";
		char *argv[] = { a0, a1, unit, a3, n, a5, a6, a7, NULL };
		r = run_capture(ctx, argv, ev, "journal");
		if (r < 0) {
			cJSON_Delete(ev);
			return r;
		}
		evidence_say(ev, "last %zu journal lines of %s", lines, unit);
		*ret_evidence = ev;
		return 0;
	}
	char(*paths)[PATH_MAX] = xcalloc(SVC_MAX_LOGS, PATH_MAX);
	size_t np = find_logs(name, paths), shown = 0;
	struct path_rules rules;
	cJSON *files = evidence_rows(ev, "files");

	evidence_path_rules(ctx->conf, &rules);
	for (size_t i = 0; i < np; i++) {
		cJSON *o = json_obj();
		struct diag d = { 0 };
		json_add_str(o, "path", paths[i]);
		if (path_check(&rules, paths[i], PATH_READ, &d) < 0) {
			json_add_str(o, "refused", d.msg);
		} else {
			tail_into(o, paths[i], lines, cap / (np ? np : 1));
			shown++;
		}
		json_push(files, o);
	}
	if (np == 0)
		evidence_say(ev,
		             "no log file found for %s: none open by its processes, none in "
		             "/var/log/%s.log or /var/log/%s/; try query_logs",
		             name, name, name);
	else
		evidence_say(ev, "%zu log files of %s (systemd is not PID 1): %s%s", np, name,
		             paths[0], np > 1 ? " and more" : "");
	if (shown < np)
		evidence_say(ev, "%zu of them refused by the path rules", np - shown);
	free(paths);
	*ret_evidence = ev;
	return 0;
}

#define SVC_NAME_SCHEMA \
	"\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9][A-Za-z0-9@._:-]{0,127}$\"}"

const struct tool tool_service_status = {
	.name = "service_status",
	.class = TOOL_SAFE_READ,
	.summary = "is a service running: systemd's view, or its processes, ports and restarts",
	.description = "Where systemd is PID 1: the unit's active state, main pid, restarts and "
	               "result. Otherwise: the processes with that name (or running that "
	               "program), since when, the ports they listen on, restarts seen in change "
	               "events in the last 24 h, and its init script.",
	.args_schema =
	        "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{" SVC_NAME_SCHEMA
	        "},\"additionalProperties\":false}",
	.run = status_run,
};

const struct tool tool_service_logs = {
	.name = "service_logs",
	.class = TOOL_SAFE_READ,
	.summary = "a service's recent log lines: the journal, or the log files it writes",
	.description = "Where systemd is PID 1: journalctl -u for the unit. Otherwise: the log "
	               "files the service's processes hold open, and /var/log/NAME.log or "
	               "/var/log/NAME/*.log, the last `lines` of each (path rules apply).",
	.args_schema =
	        "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{" SVC_NAME_SCHEMA
	        ",\"lines\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000}},"
	        "\"additionalProperties\":false}",
	.run = logs_run,
};
