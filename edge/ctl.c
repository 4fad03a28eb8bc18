/* ctl.c - the control socket, server and client (see ctl.h).
 *
 * The server answers one request per connection, in the accept callback: the client is
 * our own CLI on the same host, root-only by file mode and checked again by peer
 * credentials, and it writes its request right after connecting. Each exchange is bounded
 * by CTL_IO_TIMEOUT_MS so a stuck client can hold the loop for at most that long. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "edge/ctl.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/log.h"
#include "shared/banned.h"

#define CTL_MAX_HANDLERS  32
#define CTL_IO_TIMEOUT_MS 2000
/* Requests are small commands; responses may carry a query result. */
#define CTL_REQUEST_MAX   (1u << 20)
#define CTL_RESPONSE_MAX  ONGRID_JSON_MAX_BYTES

struct ctl_handler {
	const char *cmd;
	ctl_handler_fn *fn;
	void *udata;
};

struct ctl_server {
	int fd;
	char *path;
	struct ctl_handler h[CTL_MAX_HANDLERS];
	size_t nh;
};

static int fill_addr(const char *path, struct sockaddr_un *sa, struct diag *d)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return diag_set(d, -ENAMETOOLONG,
		                "control socket path '%s' is longer than %zu bytes", path,
		                sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* A socket file left by a daemon that died: remove it, unless a daemon answers there. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, struct diag *d)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT
		               ? 0
		               : diag_set(d, -errno, "cannot stat '%s': %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return diag_set(d, -EEXIST, "'%s' exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diag_set(d, -errno, "cannot create a socket: %s", strerror(errno));
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	(void)close(fd);
	if (r == 0)
		return diag_set(d, -EADDRINUSE, "another ongrid-edge daemon listens on '%s'", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return diag_set(d, -errno, "cannot remove stale socket '%s': %s", path,
		                strerror(errno));
	return 0;
}

int ctl_server_open(const char *path, struct ctl_server **ret, struct diag *d)
{
	struct ctl_server *s;
	struct sockaddr_un sa;
	char *dir, *slash;
	mode_t old_mask;
	int fd, r;

	r = fill_addr(path, &sa, d);
	if (r < 0)
		return r;
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = mkdir_p(dir, 0700);
		if (r < 0) {
			diag_set(d, r, "cannot create directory '%s': %s", dir, strerror(-r));
			free(dir);
			return r;
		}
	}
	free(dir);
	r = clear_stale(path, &sa, d);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return diag_set(d, -errno, "cannot create a socket: %s", strerror(errno));
	/* The umask makes the socket 0600 from its first instant: no window where another
	 * user could connect. */
	old_mask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (r < 0) {
		r = diag_set(d, -errno, "cannot bind '%s': %s", path, strerror(errno));
		goto out_close;
	}
	if (listen(fd, 16) < 0) {
		r = diag_set(d, -errno, "cannot listen on '%s': %s", path, strerror(errno));
		goto out_unlink;
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->path = xstrdup(path);
	*ret = s;
	return 0;

out_unlink:
	(void)unlink(path);
out_close:
	(void)close(fd);
	return r;
}

void ctl_server_register(struct ctl_server *s, const char *cmd, ctl_handler_fn *fn, void *udata)
{
	/* A fixed table: registering past it is a programming error, found in testing. */
	if (s->nh >= CTL_MAX_HANDLERS) {
		log_err("control socket: too many commands, '%s' not registered", cmd);
		return;
	}
	s->h[s->nh++] = (struct ctl_handler){ cmd, fn, udata };
}

int ctl_server_fd(const struct ctl_server *s)
{
	return s->fd;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd p = { fd, events, 0 };
		int64_t left = deadline_ms - mono_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int write_all(int fd, const char *p, size_t n, int64_t deadline_ms)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			int r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = wait_fd(fd, POLLOUT, deadline_ms);
			if (r < 0)
				return r;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one line (without its "\n") into b; EOF also ends it. */
static int read_line(int fd, struct buf *b, int64_t deadline_ms)
{
	char chunk[4096];

	for (;;) {
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		char *nl;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = wait_fd(fd, POLLIN, deadline_ms);
			if (r < 0)
				return r;
			continue;
		}
		if (n == 0)
			return b->len ? 0 : -EPROTO;
		nl = memchr(chunk, '\n', (size_t)n);
		r = buf_add(b, chunk, nl ? (size_t)(nl - chunk) : (size_t)n);
		if (r < 0)
			return r;
		if (nl)
			return 0;
	}
}

static cJSON *error_response(const struct diag *d)
{
	cJSON *o = json_obj();

	json_add_bool(o, "ok", false);
	json_add_str(o, "error", d->msg[0] ? d->msg : strerror(-d->code));
	json_add_num(o, "code", diag_exit_status(d->code));
	return o;
}

static cJSON *dispatch(struct ctl_server *s, const char *text, size_t len)
{
	struct diag d = { 0 };
	const char *cmd = NULL;
	cJSON *req, *res = NULL, *o;
	int r;

	req = json_parse(text, len, CTL_REQUEST_MAX, &d);
	if (!req)
		return error_response(&d);
	if (!cJSON_IsObject(req)) {
		diag_set(&d, -EINVAL, "request: expected a JSON object");
		goto out_error;
	}
	r = json_get_string(req, "cmd", &cmd, "request", &d);
	if (r == -ENOENT)
		diag_set(&d, -EINVAL, "request: missing \"cmd\"");
	if (r < 0)
		goto out_error;
	for (size_t i = 0; i < s->nh; i++) {
		if (strcmp(s->h[i].cmd, cmd) != 0)
			continue;
		r = s->h[i].fn(s->h[i].udata, req, &res, &d);
		if (r < 0) {
			if (!d.code)
				diag_set(&d, r, "%s: %s", cmd, strerror(-r));
			goto out_error;
		}
		o = json_obj();
		json_add_bool(o, "ok", true);
		json_add(o, "result", res ? res : cJSON_CreateNull());
		cJSON_Delete(req);
		return o;
	}
	diag_set(&d, -EINVAL, "unknown command '%s'", cmd);
out_error:
	cJSON_Delete(req);
	return error_response(&d);
}

static void serve(struct ctl_server *s, int fd)
{
	int64_t deadline = mono_ms() + CTL_IO_TIMEOUT_MS;
	struct buf in = BUF_INIT(CTL_REQUEST_MAX);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	cJSON *resp;
	char *text;
	int r;

	/* The socket's mode already keeps other users out; this also covers a socket
	 * directory someone made world-writable. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warn("control socket: refused a client with uid %d", (int)cred.uid);
		return;
	}
	r = read_line(fd, &in, deadline);
	if (r < 0) {
		struct diag d = { 0 };
		diag_set(&d, r == -E2BIG ? -E2BIG : -EINVAL, "request: %s",
		         r == -E2BIG ? "larger than 1 MiB" : strerror(-r));
		resp = error_response(&d);
	} else {
		resp = dispatch(s, in.data, in.len);
	}
	buf_release(&in);
	text = json_print(resp, false);
	cJSON_Delete(resp);
	if (write_all(fd, text, strlen(text), deadline) == 0)
		(void)write_all(fd, "\n", 1, deadline);
	free(text);
}

void ctl_server_accept(struct ctl_server *s)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control socket: accept failed: %s", strerror(errno));
			return;
		}
		serve(s, fd);
		(void)close(fd);
	}
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	(void)close(s->fd);
	(void)unlink(s->path);
	free(s->path);
	free(s);
}

int ctl_call(const char *path, const cJSON *req, int64_t timeout_ms, cJSON **ret_result,
             struct diag *d)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct buf in = BUF_INIT(CTL_RESPONSE_MAX);
	struct sockaddr_un sa;
	cJSON *resp = NULL, *res;
	bool ok = false;
	char *text;
	int fd, r;

	r = fill_addr(path, &sa, d);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diag_set(d, -errno, "cannot create a socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = diag_set(d, -errno, "no daemon at '%s': %s", path, strerror(errno));
		goto out_close;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		r = diag_set(d, -errno, "cannot configure the socket: %s", strerror(errno));
		goto out_close;
	}
	text = json_print(req, false);
	r = write_all(fd, text, strlen(text), deadline);
	if (r == 0)
		r = write_all(fd, "\n", 1, deadline);
	free(text);
	if (r == 0)
		r = read_line(fd, &in, deadline);
	if (r < 0) {
		diag_set(d, r, "daemon at '%s' did not answer: %s", path, strerror(-r));
		goto out_free;
	}
	resp = json_parse(in.data, in.len, CTL_RESPONSE_MAX, d);
	if (!resp) {
		r = diag_prefix(d, "daemon's answer: ");
		goto out_free;
	}
	if (json_get_bool(resp, "ok", &ok, "answer", d) < 0) {
		r = diag_set(d, -EPROTO, "daemon's answer has no \"ok\" field");
		goto out_free;
	}
	if (!ok) {
		const char *msg = "unknown error";
		int64_t code = 1;
		(void)json_get_string(resp, "error", &msg, "answer", NULL);
		(void)json_get_int(resp, "code", &code, "answer", NULL);
		r = diag_set(d, code == 2 ? -EINVAL : -EREMOTEIO, "%s", msg);
		goto out_free;
	}
	res = cJSON_DetachItemFromObject(resp, "result");
	*ret_result = res ? res : cJSON_CreateNull();
	r = 0;
out_free:
	cJSON_Delete(resp);
	buf_release(&in);
out_close:
	(void)close(fd);
	return r;
}
