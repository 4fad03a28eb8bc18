/* http_metrics.c - GET /metrics and GET /healthz over HTTP/1.1 (see http_metrics.h).
 *
 * Hand-written rather than libwebsockets: lws is kept for the relay tunnel, and this
 * server needs only one request line per connection. Each connection reads its request
 * head into a fixed buffer, renders the answer into a buffer, writes it as the socket
 * allows and closes. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edge/http_metrics.h"
#include "shared/alloc.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/banned.h"

struct http_conn {
	struct http_metrics *srv;
	struct list_head link;
	ev_io io;
	ev_timer timer;
	int fd;
	char req[HTTP_METRICS_REQUEST_MAX];
	size_t len;
	struct buf out; /* the whole answer, once the request is complete */
	size_t off;     /* bytes of out already written */
	bool writing;
};

struct http_metrics {
	struct ev_loop *loop;
	ev_io listen_io;
	int fd;
	int port;
	http_metrics_render_fn *render;
	void *udata;
	struct list_head conns;
	size_t nconns;
};

int http_metrics_parse_listen(const char *listen, struct sockaddr_storage *ret, unsigned *ret_len,
                              struct diag *d)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[64];
	const char *colon, *port, *h = listen;
	size_t hlen;
	int r;

	colon = strrchr(listen, ':');
	if (!colon || !colon[1])
		goto bad;
	port = colon + 1;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && listen[0] == '[' && listen[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0 || !ai || ai->ai_addrlen > sizeof(*ret)) {
		if (ai)
			freeaddrinfo(ai);
		goto bad;
	}
	memcpy(ret, ai->ai_addr, ai->ai_addrlen);
	*ret_len = (unsigned)ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	return diag_set(d, -EINVAL,
	                "metrics.listen: expected HOST:PORT with a numeric address, such as "
	                "127.0.0.1:9256 or [::1]:9256, got '%s'",
	                listen);
}

static void conn_close(struct http_conn *c)
{
	struct http_metrics *h = c->srv;

	ev_io_stop(h->loop, &c->io);
	ev_timer_stop(h->loop, &c->timer);
	(void)close(c->fd);
	list_del(&c->link);
	h->nconns--;
	buf_release(&c->out);
	free(c);
}

static void respond(struct http_conn *c, int status, const char *reason, const char *ctype,
                    const char *extra_headers, const char *body, size_t body_len, bool head)
{
	int r;

	buf_reset(&c->out);
	r = buf_addf(&c->out,
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
	             "Connection: close\r\n\r\n",
	             status, reason, ctype, body_len, extra_headers ? extra_headers : "");
	if (r == 0 && !head)
		r = buf_add(&c->out, body, body_len);
	if (r < 0) {
		conn_close(c);
		return;
	}
	c->off = 0;
	c->writing = true;
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->srv->loop, &c->io);
}

static void respond_text(struct http_conn *c, int status, const char *reason, const char *text,
                         bool head)
{
	respond(c, status, reason, "text/plain; charset=utf-8", NULL, text, strlen(text), head);
}

/* The request head is complete in c->req: answer it. */
static void handle(struct http_conn *c)
{
	char method[8], target[256], version[16];
	bool head;
	char *q;

	c->req[c->len] = '\0';
	if (sscanf(c->req, "%7s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		respond_text(c, 400, "Bad Request", "malformed request line\n", false);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (strcmp(method, "GET") != 0 && !head) {
		respond(c, 405, "Method Not Allowed", "text/plain; charset=utf-8",
		        "Allow: GET, HEAD\r\n", "only GET and HEAD\n", 18, false);
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	if (strcmp(target, "/healthz") == 0) {
		respond_text(c, 200, "OK", "ok\n", head);
	} else if (strcmp(target, "/metrics") == 0) {
		struct buf body = BUF_INIT(HTTP_METRICS_BODY_MAX);
		int r = c->srv->render(c->srv->udata, &body);
		if (r < 0) {
			log_warn("/metrics: cannot render the exposition: %s", strerror(-r));
			respond_text(c, 503, "Service Unavailable", "no metrics yet\n", head);
		} else {
			respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL,
			        buf_str(&body), body.len, head);
		}
		buf_release(&body);
	} else {
		respond_text(c, 404, "Not Found", "only /metrics and /healthz live here\n", head);
	}
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn *c = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (c->writing) {
		n = send(c->fd, c->out.data + c->off, c->out.len - c->off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->off += (size_t)n;
		if (c->off == c->out.len)
			conn_close(c);
		return;
	}
	n = recv(c->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		handle(c);
		return;
	}
	if (c->len >= sizeof(c->req) - 1)
		respond_text(c, 431, "Request Header Fields Too Large", "request head too large\n",
		             false);
}

static void on_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	conn_close(w->data);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_metrics *h = w->data;

	(void)revents;
	for (;;) {
		struct http_conn *c;
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("/metrics: accept failed: %s", strerror(errno));
			return;
		}
		if (h->nconns >= HTTP_METRICS_MAX_CONNS) {
			(void)close(fd); /* shed load: the scraper retries next interval */
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->srv = h;
		c->fd = fd;
		buf_init(&c->out, HTTP_METRICS_BODY_MAX + 1024);
		ev_io_init(&c->io, on_conn_io, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, on_conn_timeout, HTTP_METRICS_TIMEOUT_MS / 1000.0, 0);
		c->timer.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_start(loop, &c->timer);
		list_add_tail(&c->link, &h->conns);
		h->nconns++;
	}
}

int http_metrics_start(struct ev_loop *loop, const char *listen_addr,
                       http_metrics_render_fn *render, void *udata, struct http_metrics **ret,
                       struct diag *d)
{
	struct sockaddr_storage ss = { 0 }, bound = { 0 };
	socklen_t blen = sizeof(bound);
	struct http_metrics *h;
	unsigned len = 0;
	int fd, r, one = 1;

	r = http_metrics_parse_listen(listen_addr, &ss, &len, d);
	if (r < 0)
		return r;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diag_set(d, -errno, "metrics.listen: cannot create a socket: %s",
		                strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		r = diag_set(d, -errno, "metrics.listen: cannot listen on '%s': %s", listen_addr,
		             strerror(errno));
		(void)close(fd);
		return r;
	}
	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->fd = fd;
	h->render = render;
	h->udata = udata;
	list_init(&h->conns);
	memset(&bound, 0, sizeof(bound));
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
		in_port_t port = bound.ss_family == AF_INET6
		                         ? ((struct sockaddr_in6 *)&bound)->sin6_port
		                         : ((struct sockaddr_in *)&bound)->sin_port;
		h->port = ntohs(port);
	}
	ev_io_init(&h->listen_io, on_accept, fd, EV_READ);
	h->listen_io.data = h;
	ev_io_start(loop, &h->listen_io);
	*ret = h;
	return 0;
}

int http_metrics_port(const struct http_metrics *h)
{
	return h->port;
}

void http_metrics_stop(struct http_metrics *h)
{
	struct list_head *p, *n;

	if (!h)
		return;
	list_for_each_safe(p, n, &h->conns)
		conn_close(list_entry(p, struct http_conn, link));
	ev_io_stop(h->loop, &h->listen_io);
	(void)close(h->fd);
	free(h);
}
