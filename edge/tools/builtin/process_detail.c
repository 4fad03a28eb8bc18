/* process_detail.c - one process up close: status, limits, open files, command line,
 * cgroup. Never the environment (it holds secrets) and never memory contents. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/procs.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* Open files listed by name; the rest are only counted. */
#define DETAIL_MAX_FILES 50
/* Descriptors looked at per process (a leak can reach millions). */
#define DETAIL_SCAN_FDS  100000

static const char *const status_keys[] = {
	"State",
	"Tgid",
	"PPid",
	"Uid",
	"Gid",
	"Threads",
	"VmPeak",
	"VmSize",
	"VmRSS",
	"VmHWM",
	"VmSwap",
	"RssAnon",
	"RssFile",
	"voluntary_ctxt_switches",
	"nonvoluntary_ctxt_switches",
	"Cpus_allowed_list",
	"NoNewPrivs",
	"Seccomp",
	"CapEff",
};

static void add_status(cJSON *ev, int pid)
{
	char path[64], *text = NULL, *save = NULL;
	cJSON *o = json_obj();

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (evidence_read(path, 16384, &text) >= 0) {
		for (char *line = text; line && *line; line = save) {
			char *nl = strchr(line, '\n'), *colon;
			save = nl ? nl + 1 : NULL;
			if (nl)
				*nl = '\0';
			colon = strchr(line, ':');
			if (!colon)
				continue;
			*colon = '\0';
			for (size_t i = 0; i < sizeof(status_keys) / sizeof(status_keys[0]); i++)
				if (strcmp(line, status_keys[i]) == 0) {
					char *v = colon + 1;
					while (*v == ' ' || *v == '\t')
						v++;
					for (char *t = v; *t; t++)
						if (*t == '\t')
							*t = ' ';
					json_add_str(o, line, v);
				}
		}
	}
	free(text);
	json_add(ev, "status", o);
}

/* /proc/PID/limits: "Max open files  1024  524288  files" -> {"Max open files": {soft, hard}} */
static long long add_limits(cJSON *ev, int pid)
{
	char path[64], *text = NULL;
	cJSON *o = json_obj();
	long long nofile = -1;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	if (evidence_read(path, 8192, &text) >= 0) {
		char *line = strchr(text, '\n'); /* skip the header */
		while (line && *++line) {
			char *nl = strchr(line, '\n'), name[32], soft[32], hard[32];
			if (nl)
				*nl = '\0';
			if (strlen(line) > 46 && sscanf(line + 26, "%31s %31s", soft, hard) == 2) {
				snprintf(name, sizeof(name), "%.25s", line);
				for (int k = (int)strlen(name) - 1; k >= 0 && name[k] == ' '; k--)
					name[k] = '\0';
				cJSON *l = json_obj();
				json_add_str(l, "soft", soft);
				json_add_str(l, "hard", hard);
				json_add(o, name, l);
				if (strcmp(name, "Max open files") == 0)
					nofile = strtoll(soft, NULL, 10);
			}
			line = nl;
		}
	}
	free(text);
	json_add(ev, "limits", o);
	return nofile;
}

static size_t add_files(cJSON *ev, int pid, size_t *ret_sockets)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	size_t n = 0, sockets = 0, pipes = 0, files = 0;
	cJSON *list = json_arr();

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	while (d && (e = readdir(d)) && n < DETAIL_SCAN_FDS) {
		char lp[300], target[512];
		ssize_t k;
		if (e->d_name[0] == '.')
			continue;
		snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", pid, e->d_name);
		k = readlink(lp, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		n++;
		if (strncmp(target, "socket:", 7) == 0)
			sockets++;
		else if (strncmp(target, "pipe:", 5) == 0)
			pipes++;
		else
			files++;
		if (cJSON_GetArraySize(list) < DETAIL_MAX_FILES) {
			cJSON *o = json_obj();
			json_add_num(o, "fd", (double)strtol(e->d_name, NULL, 10));
			json_add_str(o, "target", target);
			json_push(list, o);
		}
	}
	if (d)
		closedir(d);
	cJSON *sum = json_obj();
	json_add_num(sum, "total", (double)n);
	json_add_num(sum, "files", (double)files);
	json_add_num(sum, "sockets", (double)sockets);
	json_add_num(sum, "pipes", (double)pipes);
	json_add(ev, "open_files_summary", sum);
	json_add(ev, "open_files", list);
	*ret_sockets = sockets;
	return n;
}

static void add_text(cJSON *ev, const char *key, int pid, const char *file, size_t max)
{
	char path[64], *text = NULL;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	n = evidence_read(path, max, &text);
	if (n >= 0) {
		while (n > 0 && text[n - 1] == '\n')
			n--;
		tool_add_output(ev, key, text, (size_t)n, (size_t)n == max);
	}
	free(text);
}

static int detail_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	int pid = (int)arg_int(args, "pid", 0);
	struct proc_row p;
	size_t nfds, sockets;
	long long nofile;
	char exe[512] = "", lp[64], b[32], when[40];
	cJSON *ev;
	int r;

	r = procs_read(pid, &p);
	if (r < 0)
		return diag_set(&ctx->diag, -ENOENT, "no process with pid %d", pid);
	ev = evidence_new();
	json_add(ev, "process", procs_json(&p));
	snprintf(lp, sizeof(lp), "/proc/%d/exe", pid);
	ssize_t k = readlink(lp, exe, sizeof(exe) - 1);
	exe[k > 0 ? k : 0] = '\0';
	json_add_str(ev, "exe", exe);
	add_status(ev, pid);
	nofile = add_limits(ev, pid);
	nfds = add_files(ev, pid, &sockets);
	add_text(ev, "cgroup", pid, "cgroup", 4096);
	snprintf(lp, sizeof(lp), "/proc/%d/cwd", pid);
	char cwd[512];
	k = readlink(lp, cwd, sizeof(cwd) - 1);
	cwd[k > 0 ? k : 0] = '\0';
	json_add_str(ev, "cwd", cwd);

	evidence_bytes(b, sizeof(b), (double)p.rss_bytes);
	clock_format_rfc3339(when, sizeof(when), p.start_ms);
	evidence_say(ev, "pid %d (%s) state %c, owner %s, %llu threads, %s resident, started %s",
	             pid, p.comm, p.state, p.user, (unsigned long long)p.threads, b, when);
	if (nofile > 0)
		evidence_say(ev, "%zu open descriptors (%zu sockets) of a limit of %lld%s", nfds,
		             sockets, nofile,
		             (double)nfds > 0.8 * (double)nofile ? ": close to the limit" : "");
	else
		evidence_say(ev, "%zu open descriptors (%zu sockets)", nfds, sockets);
	if (strstr(exe, " (deleted)"))
		evidence_say(ev, "its executable %s was replaced or deleted after it started", exe);
	if (p.state == 'Z')
		evidence_say(ev, "it is a zombie: parent pid %d has not reaped it", p.ppid);
	if (p.state == 'D')
		evidence_say(ev, "it is in uninterruptible sleep (D), usually waiting for I/O");
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_process_detail = {
	.name = "process_detail",
	.class = TOOL_SAFE_READ,
	.summary = "one process: status, limits, open files, command line, cgroup",
	.description = "Everything about one pid: state, owner, threads, memory (VmRSS, VmSwap), "
	               "context switches, resource limits, open descriptors against the open-"
	               "files limit (first 50 listed), executable (and whether it was replaced), "
	               "working directory, cgroup. Never the environment.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"pid\"],\"properties\":{"
	               "\"pid\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":4194304}},"
	               "\"additionalProperties\":false}",
	.run = detail_run,
};
