/* serve.c - the relay asks this edge to investigate (a chat question, an alert). The
 * investigation runs as a child process, `ongrid-edge investigate --json`, exactly as a
 * person at the host would run it: same planner, same gate, same timeline and incident
 * history. The tunnel's loop only watches the child's output and exit; a cancel or a
 * passed deadline terminates the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "edge/agent/agent.h"
#include "edge/outbox.h"
#include "edge/tunnel.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/log.h"
#include "shared/banned.h"

/* A report is findings, not dumps; a child that prints more is broken. */
#define REPORT_MAX_BYTES   (8u << 20)
/* Linux pipes hold 64 KiB by default; a compacted context (agent_context_take) is a few. */
#define PIPE_BUF_MIN       (64u << 10)
/* Progress lines sent to the thread per investigation; the report carries the rest. */
#define PROGRESS_LINES_MAX 40
/* The descriptor the child writes its progress lines to (--progress-fd). */
#define PROGRESS_FD        3

struct serve {
	struct tunnel *t;
	struct ev_loop *loop;
	char *conf_path;
	char *data_dir; /* its outbox takes the reports whose request the link lost */
};

struct job {
	struct ev_loop *loop;
	struct serve *sv;
	struct tunnel *t;
	struct tunnel_call *call; /* NULL once cancelled */
	ev_child child;
	ev_io io, pio;
	struct buf out;
	char line[400]; /* the progress line being read */
	size_t linelen;
	int fd, pfd, status, nlines;
	pid_t pid;
	bool exited, eof, peof, overflow;
	bool orphan; /* the link dropped: the report goes through the outbox */
	char incident[129];
};

/* The relay that asked went away while the child worked (a relay restart, a network cut):
 * the report is not lost with the request. It goes into the outbox as
 * "investigate.report" {incident_id, report}, delivered exactly once when the tunnel is
 * back, and the relay posts it in the incident's thread (relay/chat/router.c). */
static void deliver_later(struct job *j)
{
	char *path = xasprintf("%s/%s", j->sv->data_dir, OUTBOX_FILE);
	struct outbox *ob = NULL;
	struct diag d = { 0 };
	cJSON *rep, *body;

	rep = WIFEXITED(j->status) && WEXITSTATUS(j->status) == 0 && !j->overflow
	              ? json_parse(buf_str(&j->out), j->out.len, REPORT_MAX_BYTES, &d)
	              : NULL;
	if (!rep || !j->incident[0]) {
		log_warn("investigation for incident '%s' ended after its request was lost, "
		         "with no report to deliver",
		         j->incident);
		cJSON_Delete(rep);
		free(path);
		return;
	}
	body = json_obj();
	json_add_str(body, "incident_id", j->incident);
	json_add(body, "report", rep);
	if (outbox_open(path, 0, &ob, &d) < 0 ||
	    outbox_put(ob, "investigate.report", body, NULL, &d) < 0)
		log_err("the report for incident '%s' is lost: %s", j->incident, d.msg);
	else
		log_info("the relay's request for incident '%s' was lost with the link; its report "
		         "goes through the outbox",
		         j->incident);
	outbox_close(ob);
	cJSON_Delete(body);
	free(path);
}

static void finish(struct job *j)
{
	struct diag d = { 0 };
	cJSON *rep;

	if (!j->exited || !j->eof || !j->peof)
		return;
	if (j->orphan)
		deliver_later(j);
	if (j->call) {
		if (j->overflow)
			tunnel_reply_error(j->call, -E2BIG, "the report is over %u bytes",
			                   REPORT_MAX_BYTES);
		else if (!WIFEXITED(j->status) || WEXITSTATUS(j->status) != 0)
			tunnel_reply_error(j->call, -EIO, "the investigation failed (%s %d)",
			                   WIFEXITED(j->status) ? "exit status" : "signal",
			                   WIFEXITED(j->status) ? WEXITSTATUS(j->status)
			                                        : WTERMSIG(j->status));
		else if (!(rep = json_parse(buf_str(&j->out), j->out.len, REPORT_MAX_BYTES, &d)))
			tunnel_reply_error(j->call, -EPROTO,
			                   "the investigation printed no report: %s", d.msg);
		else {
			tunnel_reply(j->call, rep);
			cJSON_Delete(rep);
		}
	}
	buf_release(&j->out);
	free(j);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job *j = container_of(w, struct job, io);
	char tmp[16384];
	ssize_t n;

	(void)revents;
	n = read(j->fd, tmp, sizeof(tmp));
	if (n > 0) {
		if (buf_add(&j->out, tmp, (size_t)n) < 0 && !j->overflow) {
			j->overflow = true;
			kill(j->pid, SIGTERM);
		}
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(loop, w);
	close(j->fd);
	j->eof = true;
	finish(j);
}

static void progress_done(void *udata, int err, const cJSON *payload, const char *msg)
{
	(void)udata, (void)err, (void)payload, (void)msg;
}

static void send_progress(struct job *j, const char *text)
{
	cJSON *prog = json_obj();

	json_add_str(prog, "incident_id", j->incident);
	json_add_str(prog, "text", text);
	(void)tunnel_request(j->t, "investigate.progress", prog, 10000, progress_done, NULL, NULL);
	cJSON_Delete(prog);
}

/* One line of the child's progress: to the thread, up to PROGRESS_LINES_MAX of them. */
static void progress_line(struct job *j)
{
	j->line[j->linelen] = '\0';
	j->linelen = 0;
	if (!j->call || !j->line[0] || j->nlines > PROGRESS_LINES_MAX)
		return;
	send_progress(j,
	              ++j->nlines > PROGRESS_LINES_MAX ? "(more steps: see the report)" : j->line);
}

static void on_progress_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct job *j = container_of(w, struct job, pio);
	char tmp[4096];
	ssize_t n;

	(void)revents;
	n = read(j->pfd, tmp, sizeof(tmp));
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (tmp[i] == '\n')
				progress_line(j);
			else if (j->linelen < sizeof(j->line) - 1)
				j->line[j->linelen++] = tmp[i];
		}
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(loop, w);
	close(j->pfd);
	j->peof = true;
	finish(j);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct job *j = container_of(w, struct job, child);

	(void)revents;
	ev_child_stop(loop, w);
	j->status = w->rstatus;
	j->exited = true;
	finish(j);
}

/* A cancel from the relay or a passed deadline stops the child; a dropped link does not:
 * the investigation finishes and its report is delivered later (deliver_later). */
static void on_cancel(void *udata)
{
	struct job *j = udata;

	j->call = NULL;
	if (tunnel_link_lost(j->t)) {
		j->orphan = true;
		return;
	}
	kill(j->pid, SIGTERM);
}

static void h_investigate(struct tunnel_call *call, const cJSON *p, void *udata)
{
	struct serve *sv = udata;
	const char *q = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "question"));
	const char *inc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "incident_id"));
	const char *argv[16];
	struct job *j;
	cJSON *ctx = NULL;
	struct diag d = { 0 };
	char *question, *ctx_json;
	int fds[2], ctxfds[2], pfds[2], a = 0;
	pid_t pid;

	if (!q || !*q || strlen(q) > ONGRID_AGENT_QUESTION_MAX_BYTES) {
		tunnel_reply_error(call, -EINVAL, "investigate.question: expected 1 to %u bytes",
		                   ONGRID_AGENT_QUESTION_MAX_BYTES);
		return;
	}
	if (inc && (!*inc || strlen(inc) > 128)) {
		tunnel_reply_error(call, -EINVAL,
		                   "investigate.incident_id: expected 1 to 128 bytes");
		return;
	}
	/* the thread, the requester and the alert, checked here so that a bad payload is the
	 * relay's bad_request, then handed to the child on its standard input */
	if (agent_context_take(p, &ctx, &d) < 0) {
		tunnel_reply_error(call, -EINVAL, "investigate.%s", d.msg);
		return;
	}
	ctx_json = json_print(ctx, false);
	cJSON_Delete(ctx);
	if (strlen(ctx_json) >= PIPE_BUF_MIN || pipe2(ctxfds, O_CLOEXEC) < 0) {
		tunnel_reply_error(call, -EIO, "cannot hand the context to the investigation");
		free(ctx_json);
		return;
	}
	/* fits the pipe's buffer: written whole before the child reads */
	if (write(ctxfds[1], ctx_json, strlen(ctx_json)) != (ssize_t)strlen(ctx_json)) {
		tunnel_reply_error(call, -EIO, "cannot hand the context to the investigation");
		close(ctxfds[0]);
		close(ctxfds[1]);
		free(ctx_json);
		return;
	}
	close(ctxfds[1]);
	free(ctx_json);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		tunnel_reply_error(call, -errno, "cannot start the investigation: %s",
		                   strerror(errno));
		close(ctxfds[0]);
		return;
	}
	if (pipe2(pfds, O_CLOEXEC) < 0) {
		tunnel_reply_error(call, -errno, "cannot start the investigation: %s",
		                   strerror(errno));
		close(ctxfds[0]);
		close(fds[0]);
		close(fds[1]);
		return;
	}
	/* a question that starts with '-' is still a question, not an option */
	question = xasprintf("%s%s", q[0] == '-' ? " " : "", q);
	argv[a++] = "ongrid-edge";
	argv[a++] = "investigate";
	argv[a++] = "--json";
	argv[a++] = "--context";
	argv[a++] = "-";
	argv[a++] = "--progress-fd";
	argv[a++] = "3";
	if (sv->conf_path) {
		argv[a++] = "-c";
		argv[a++] = sv->conf_path;
	}
	if (inc) {
		argv[a++] = "--incident";
		argv[a++] = inc;
	}
	argv[a++] = question;
	argv[a] = NULL;
	pid = fork();
	if (pid < 0) {
		tunnel_reply_error(call, -errno, "cannot start the investigation: %s",
		                   strerror(errno));
		close(fds[0]);
		close(fds[1]);
		close(ctxfds[0]);
		close(pfds[0]);
		close(pfds[1]);
		free(question);
		return;
	}
	if (pid == 0) {
		dup2(ctxfds[0], 0);
		dup2(fds[1], 1);
		/* dup2 onto itself would keep close-on-exec */
		if (pfds[1] == PROGRESS_FD)
			(void)fcntl(PROGRESS_FD, F_SETFD, 0);
		else
			dup2(pfds[1], PROGRESS_FD);
		execv("/proc/self/exe", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	close(ctxfds[0]);
	close(pfds[1]);
	free(question);
	j = xcalloc(1, sizeof(*j));
	j->loop = sv->loop;
	j->sv = sv;
	j->t = sv->t;
	j->call = call;
	j->pid = pid;
	j->fd = fds[0];
	j->pfd = pfds[0];
	snprintf(j->incident, sizeof(j->incident), "%s", inc ? inc : "");
	buf_init(&j->out, REPORT_MAX_BYTES);
	(void)fcntl(j->fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&j->io, on_read, j->fd, EV_READ);
	ev_io_start(sv->loop, &j->io);
	(void)fcntl(j->pfd, F_SETFL, O_NONBLOCK);
	ev_io_init(&j->pio, on_progress_read, j->pfd, EV_READ);
	ev_io_start(sv->loop, &j->pio);
	ev_child_init(&j->child, on_child, pid, 0);
	ev_child_start(sv->loop, &j->child);
	tunnel_call_on_cancel(call, on_cancel, j);
	/* the first line for the chat thread; the child's steps follow as it takes them */
	send_progress(j, "investigating: metrics that moved, log spikes, latency tails, changes");
}

int agent_serve_register(struct tunnel *t, struct ev_loop *loop, const char *conf_path,
                         const char *data_dir)
{
	/* lives as long as the process: the tunnel keeps a pointer to it */
	struct serve *sv = xcalloc(1, sizeof(*sv));

	sv->t = t;
	sv->loop = loop;
	sv->conf_path = conf_path ? xstrdup(conf_path) : NULL;
	sv->data_dir = xstrdup(data_dir);
	if (agent_approve_serve_register(t, conf_path) < 0)
		return -ENOMEM;
	return tunnel_register_handler(t, "investigate", h_investigate, sv);
}
