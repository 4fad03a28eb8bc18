/* kill_process.c - send a signal to one process (dangerous: it always waits for a human).
 *
 * A pid can be reused between the proposal and the approval; the tool refuses to signal a
 * process that started after the call was proposed, and names what it is about to signal
 * in the proposal's reason so the approver sees more than a number. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "TERM", SIGTERM }, { "KILL", SIGKILL }, { "INT", SIGINT },
	{ "HUP", SIGHUP },   { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 }, { "STOP", SIGSTOP }, { "CONT", SIGCONT },
};

struct proc_info {
	char comm[64];
	char state;
	int64_t start_ms; /* epoch ms */
};

/* comm, state and start time from /proc/PID/stat; -ENOENT when there is no such process. */
static int proc_read(pid_t pid, struct proc_info *ret)
{
	char path[64], *stat = NULL, *open_paren, *close_paren, *boot = NULL;
	unsigned long long start_ticks = 0;
	long long btime = 0;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = read_file_max(path, 4096, &stat, NULL);
	if (r < 0)
		return r == -ENOENT || r == -ESRCH ? -ENOENT : r;
	open_paren = strchr(stat, '(');
	close_paren = strrchr(stat, ')');
	if (!open_paren || !close_paren || close_paren < open_paren || !close_paren[1]) {
		free(stat);
		return -EIO;
	}
	snprintf(ret->comm, sizeof(ret->comm), "%.*s", (int)(close_paren - open_paren - 1),
	         open_paren + 1);
	ret->state = close_paren[2];
	/* field 22 (starttime) is the 20th after the state */
	{
		const char *p = close_paren + 2;
		for (int field = 3; field < 22 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (p)
			start_ticks = strtoull(p, NULL, 10);
	}
	free(stat);
	if (read_file_max("/proc/stat", 1 << 20, &boot, NULL) == 0) {
		const char *b = strstr(boot, "\nbtime ");
		if (b)
			btime = strtoll(b + 7, NULL, 10);
		free(boot);
	}
	ret->start_ms = btime * 1000 +
	                (int64_t)(start_ticks * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
	return 0;
}

static int signal_of(const cJSON *args, const char **ret_name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(args, "signal");
	const char *name = cJSON_IsString(s) ? s->valuestring : "TERM";

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(signals[i].name, name) == 0) {
			*ret_name = signals[i].name;
			return signals[i].sig;
		}
	*ret_name = "TERM";
	return SIGTERM;
}

static pid_t pid_of(const cJSON *args)
{
	return (pid_t)cJSON_GetObjectItemCaseSensitive(args, "pid")->valuedouble;
}

static int kill_classify(struct tool_ctx *ctx, const cJSON *args, enum tool_class *ret_class,
                         struct diag *why)
{
	struct proc_info pi;
	const char *sig;
	pid_t pid = pid_of(args);

	(void)ctx;
	signal_of(args, &sig);
	*ret_class = TOOL_DANGEROUS;
	if (proc_read(pid, &pi) < 0)
		return diag_set(why, -ENOENT, "kill_process: no process with pid %d", (int)pid);
	diag_set(why, 0, "would send SIG%s to pid %d (%s)", sig, (int)pid, pi.comm);
	return 0;
}

static int kill_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(args, "wait_s");
	int64_t wait_ms = cJSON_IsNumber(w) ? (int64_t)w->valuedouble * 1000 : 5000, start;
	struct proc_info pi, after;
	const char *sig_name;
	int sig = signal_of(args, &sig_name);
	pid_t pid = pid_of(args);
	char finding[200];
	bool gone = false;
	cJSON *ev;

	if (pid <= 1 || pid == getpid() || pid == getppid())
		return diag_set(&ctx->diag, -EPERM, "kill_process: refusing to signal pid %d",
		                (int)pid);
	if (proc_read(pid, &pi) < 0)
		return diag_set(&ctx->diag, -ENOENT, "kill_process: no process with pid %d",
		                (int)pid);
	/* a second of slack for clock granularity (start times are in clock ticks) */
	if (ctx->proposed_ms && pi.start_ms > ctx->proposed_ms + 1000)
		return diag_set(
		        &ctx->diag, -ESTALE,
		        "kill_process: pid %d (%s) started after the call was proposed; the "
		        "pid was reused, refusing",
		        (int)pid, pi.comm);
	if (kill(pid, sig) < 0)
		return diag_set(&ctx->diag, -errno, "kill_process: cannot signal pid %d: %s",
		                (int)pid, strerror(errno));
	start = mono_ms();
	if (sig != SIGSTOP && sig != SIGCONT) {
		while (mono_ms() - start < wait_ms && mono_ms() < ctx->deadline_ms) {
			if (proc_read(pid, &after) < 0 || after.state == 'Z' ||
			    after.state == 'X' || after.start_ms != pi.start_ms) {
				gone = true;
				break;
			}
			struct timespec ts = { 0, 20000000L };
			nanosleep(&ts, NULL);
		}
	}
	ev = json_obj();
	if (gone)
		snprintf(finding, sizeof(finding), "pid %d (%s) exited %.1fs after SIG%s", (int)pid,
		         pi.comm, (double)(mono_ms() - start) / 1000.0, sig_name);
	else if (sig == SIGSTOP || sig == SIGCONT)
		snprintf(finding, sizeof(finding), "sent SIG%s to pid %d (%s)", sig_name, (int)pid,
		         pi.comm);
	else
		snprintf(finding, sizeof(finding), "pid %d (%s) is still running %llds after SIG%s",
		         (int)pid, pi.comm, (long long)(wait_ms / 1000), sig_name);
	json_add_str(ev, "finding", finding);
	json_add_num(ev, "pid", pid);
	json_add_str(ev, "comm", pi.comm);
	json_add_str(ev, "signal", sig_name);
	json_add_bool(ev, "exited", gone);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_kill_process = {
	.name = "kill_process",
	.class = TOOL_DANGEROUS,
	.summary = "send a signal to a process (TERM by default) and wait for it to exit",
	.description = "Stop a runaway or hung process by pid. Always needs a human approval. "
	               "Returns whether the process exited within wait_s.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"pid\"],\"properties\":{"
	               "\"pid\":{\"type\":\"integer\",\"minimum\":2,\"maximum\":4194304},"
	               "\"signal\":{\"enum\":[\"TERM\",\"KILL\",\"INT\",\"HUP\",\"QUIT\",\"USR1\","
	               "\"USR2\",\"STOP\",\"CONT\"]},"
	               "\"wait_s\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":30}},"
	               "\"additionalProperties\":false}",
	.run = kill_run,
	.classify = kill_classify,
};
