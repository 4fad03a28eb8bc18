/* httpd.c - the relay's plain-HTTP listener; see httpd.h. */
#define LOG_MODULE "http"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay/httpd.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

struct route {
	char method[8];
	char path[96];
	httpd_handler_fn *fn;
	void *udata;
};

struct conn {
	struct httpd *h;
	int fd;
	ev_io io;
	ev_timer timer;
	struct buf in;
	char peer[64];
	size_t head_len; /* bytes of the head including the blank line, once seen */
	int64_t clen;
	char *head; /* the parsed head (req points into it) */
	struct httpd_req req;
	bool writing, sent_continue;
	char *out;
	size_t out_len, out_off;
};

struct httpd {
	struct ev_loop *loop;
	int fd, port;
	ev_io io;
	uint64_t max_body;
	unsigned nconns;
	struct route routes[HTTPD_MAX_ROUTES];
	size_t nroutes;
	struct conn *conns[HTTPD_MAX_CONNS];
};

static const char *reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Status";
	}
}

void httpd_text(struct httpd_resp *resp, int status, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(resp->body);
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	resp->body = s ? xasprintf("%s\n", s) : NULL;
	resp->len = resp->body ? strlen(resp->body) : 0;
	free(s);
}

void httpd_json(struct httpd_resp *resp, int status, const cJSON *o)
{
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = json_print(o, false);
	resp->len = strlen(resp->body);
}

/* ---- parsing ------------------------------------------------------------------------ */

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c);
}

int httpd_parse_head(char *head, struct httpd_req *req, int64_t *ret_clen, int *expect100,
                     const char **why)
{
	char *line, *next, *sp1, *sp2, *q;

	memset(req, 0, sizeof(*req));
	req->query = req->host = req->authorization = req->content_type = "";
	*ret_clen = -1;
	*expect100 = 0;
	*why = NULL;
	next = strstr(head, "\r\n");
	if (next) {
		*next = '\0';
		next += 2;
	}
	line = head;
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == line) {
		*why = "malformed request line";
		return 400;
	}
	*sp1 = *sp2 = '\0';
	for (const char *p = line; *p; p++)
		if (!token_char(*p)) {
			*why = "malformed method";
			return 400;
		}
	if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0) {
		*why = "only HTTP/1.0 and HTTP/1.1 are served";
		return 505;
	}
	req->method = line;
	req->path = sp1 + 1;
	if (req->path[0] != '/') {
		*why = "the target must be a path";
		return 400;
	}
	if (strlen(req->path) > 2048) {
		*why = "the path is too long";
		return 414;
	}
	q = strchr(sp1 + 1, '?');
	if (q) {
		*q = '\0';
		req->query = q + 1;
	}
	while (next && *next) {
		char *colon, *val, *end;
		line = next;
		next = strstr(line, "\r\n");
		if (next) {
			*next = '\0';
			next += 2;
		}
		colon = strchr(line, ':');
		if (!colon || colon == line) {
			*why = "malformed header line";
			return 400;
		}
		*colon = '\0';
		for (const char *p = line; *p; p++)
			if (!token_char(*p)) {
				*why = "malformed header name";
				return 400;
			}
		val = colon + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!strcasecmp(line, "host")) {
			req->host = val;
		} else if (!strcasecmp(line, "authorization")) {
			req->authorization = val;
		} else if (!strcasecmp(line, "content-type")) {
			req->content_type = val;
		} else if (!strcasecmp(line, "content-length")) {
			int64_t n;
			if (str_to_i64(val, &n) < 0 || n < 0 ||
			    (*ret_clen >= 0 && *ret_clen != n)) {
				*why = "malformed Content-Length";
				return 400;
			}
			*ret_clen = n;
		} else if (!strcasecmp(line, "transfer-encoding")) {
			*why = "chunked bodies are not accepted: send Content-Length";
			return 501;
		} else if (!strcasecmp(line, "expect")) {
			*expect100 = !strcasecmp(val, "100-continue");
		}
	}
	return 0;
}

/* ---- connections -------------------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	struct httpd *h = c->h;

	ev_io_stop(h->loop, &c->io);
	ev_timer_stop(h->loop, &c->timer);
	close(c->fd);
	buf_release(&c->in);
	free(c->head);
	free(c->out);
	for (size_t i = 0; i < HTTPD_MAX_CONNS; i++)
		if (h->conns[i] == c)
			h->conns[i] = NULL;
	h->nconns--;
	free(c);
}

static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->writing) {
		conn_free(c);
		return;
	}
	/* The "100 Continue" went out: back to reading. */
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	ev_io_stop(c->h->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ);
	ev_io_start(c->h->loop, &c->io);
}

static void conn_send(struct conn *c, struct httpd_resp *resp)
{
	struct buf b = BUF_INIT(SIZE_MAX / 2);
	int r;

	r = buf_addf(&b,
	             "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
	             "Cache-Control: no-store\r\n",
	             resp->status, reason(resp->status), resp->len);
	if (resp->content_type)
		r |= buf_addf(&b, "Content-Type: %s\r\n", resp->content_type);
	if (resp->www_authenticate)
		r |= buf_addf(&b, "WWW-Authenticate: %s\r\n", resp->www_authenticate);
	r |= buf_adds(&b, "\r\n");
	if (resp->len)
		r |= buf_add(&b, resp->body, resp->len);
	free(resp->body);
	resp->body = NULL;
	if (r < 0) {
		buf_release(&b);
		conn_free(c);
		return;
	}
	free(c->out);
	c->out = buf_detach(&b, &c->out_len);
	c->out_off = 0;
	c->writing = true;
	ev_timer_stop(c->h->loop, &c->timer);
	ev_timer_set(&c->timer, (double)HTTPD_TIMEOUT_MS / 1000.0, 0.);
	ev_timer_start(c->h->loop, &c->timer);
	ev_io_stop(c->h->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(c->h->loop, &c->io);
	conn_write(c);
}

static void conn_error(struct conn *c, int status, const char *why)
{
	struct httpd_resp resp = { 0 };

	log_debug("%s: %d %s", c->peer, status, why);
	httpd_text(&resp, status, "%s", why);
	conn_send(c, &resp);
}

static void conn_dispatch(struct conn *c)
{
	struct httpd *h = c->h;
	struct httpd_resp resp = { 0 };
	bool path_known = false;

	c->req.body = c->in.data + c->head_len;
	c->req.body_len = (size_t)c->clen;
	c->req.peer = c->peer;
	for (size_t i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].path, c->req.path) != 0)
			continue;
		path_known = true;
		if (strcmp(h->routes[i].method, c->req.method) != 0)
			continue;
		resp.status = 200;
		h->routes[i].fn(h->routes[i].udata, &c->req, &resp);
		log_debug("%s %s %s: %d", c->peer, c->req.method, c->req.path, resp.status);
		conn_send(c, &resp);
		return;
	}
	if (path_known)
		conn_error(c, 405, "method not allowed on this path");
	else
		conn_error(c, 404, "no such path");
}

static void conn_read(struct conn *c)
{
	char tmp[16384];

	for (;;) {
		ssize_t n = read(c->fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		if (buf_add(&c->in, tmp, (size_t)n) < 0) {
			conn_error(c, c->head_len ? 413 : 431,
			           c->head_len ? "the body is larger than http.max_body"
			                       : "the request head is too large");
			return;
		}
		if ((size_t)n < sizeof(tmp))
			break;
	}
	if (!c->head_len) {
		const char *end = c->in.len ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL;
		const char *why;
		int expect100, st;
		if (!end) {
			if (c->in.len > HTTPD_MAX_HEAD)
				conn_error(c, 431, "the request head is too large");
			return;
		}
		c->head_len = (size_t)(end - c->in.data) + 4;
		if (c->head_len > HTTPD_MAX_HEAD + 4) {
			conn_error(c, 431, "the request head is too large");
			return;
		}
		c->head = xmalloc(c->head_len - 1);
		memcpy(c->head, c->in.data, c->head_len - 2);
		c->head[c->head_len - 2] = '\0';
		st = httpd_parse_head(c->head, &c->req, &c->clen, &expect100, &why);
		if (st) {
			conn_error(c, st, why);
			return;
		}
		if (c->clen < 0) {
			if (!strcmp(c->req.method, "POST") || !strcmp(c->req.method, "PUT")) {
				conn_error(c, 411, "a body needs Content-Length");
				return;
			}
			c->clen = 0;
		}
		if ((uint64_t)c->clen > c->h->max_body) {
			conn_error(c, 413, "the body is larger than http.max_body");
			return;
		}
		if (expect100 && c->in.len == c->head_len && c->clen > 0 && !c->sent_continue) {
			c->sent_continue = true;
			c->out = xstrdup("HTTP/1.1 100 Continue\r\n\r\n");
			c->out_len = strlen(c->out);
			ev_io_stop(c->h->loop, &c->io);
			ev_io_set(&c->io, c->fd, EV_WRITE);
			ev_io_start(c->h->loop, &c->io);
			conn_write(c);
			return;
		}
	}
	if (c->in.len - c->head_len < (size_t)c->clen)
		return;
	if (c->in.len - c->head_len > (size_t)c->clen) {
		conn_error(c, 400, "more bytes than Content-Length (pipelining is not served)");
		return;
	}
	ev_io_stop(c->h->loop, &c->io);
	conn_dispatch(c);
}

static void on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void)loop;
	if (c->out && (revents & EV_WRITE))
		conn_write(c);
	else if (revents & EV_READ)
		conn_read(c);
}

static void on_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	(void)loop, (void)revents;
	if (c->writing)
		conn_free(c);
	else
		conn_error(c, 408, "the request took too long");
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct httpd *h = w->data;

	(void)revents;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";
		struct conn *c;
		int fd = accept4(h->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (h->nconns >= HTTPD_MAX_CONNS) {
			static const char busy[] =
			        "HTTP/1.1 503 Service Unavailable\r\nConnection: "
			        "close\r\nContent-Length: 0\r\n\r\n";
			(void)!write(fd, busy, sizeof(busy) - 1);
			close(fd);
			log_warn("more than %d HTTP connections: refused one", HTTPD_MAX_CONNS);
			continue;
		}
		(void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
		                  sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
		c = xcalloc(1, sizeof(*c));
		c->h = h;
		c->fd = fd;
		snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
		buf_init(&c->in, HTTPD_MAX_HEAD + 4 + h->max_body);
		for (size_t i = 0; i < HTTPD_MAX_CONNS; i++)
			if (!h->conns[i]) {
				h->conns[i] = c;
				break;
			}
		h->nconns++;
		ev_io_init(&c->io, on_conn_io, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, on_conn_timeout, (double)HTTPD_TIMEOUT_MS / 1000.0, 0.);
		c->timer.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_start(loop, &c->timer);
	}
}

int httpd_new(struct ev_loop *loop, const char *addr, uint64_t max_body, struct httpd **ret,
              struct diag *d)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	struct httpd *h;
	size_t hl;
	int fd, one = 1, r;

	*ret = NULL;
	if (!colon || colon == addr || !colon[1] || strlen(colon + 1) >= sizeof(port))
		return diag_set(d, -EINVAL, "http.listen '%s': expected HOST:PORT", addr);
	hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return diag_set(d, -EINVAL, "http.listen '%s': host too long", addr);
	memcpy(host, addr, hl);
	host[hl] = '\0';
	str_copy(port, colon + 1, sizeof(port));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	r = getaddrinfo(!strcmp(host, "*") ? NULL : host, port, &hints, &ai);
	if (r != 0)
		return diag_set(d, -EINVAL, "http.listen '%s': %s", addr, gai_strerror(r));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return diag_set(d, r, "http.listen: socket: %s", strerror(-r));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		freeaddrinfo(ai);
		return diag_set(d, r, "cannot listen on %s:%s for HTTP: %s", host, port,
		                strerror(-r));
	}
	freeaddrinfo(ai);
	h = xcalloc(1, sizeof(*h));
	h->loop = loop;
	h->fd = fd;
	h->max_body = max_body;
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char pbuf[8];
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
		    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, pbuf, sizeof(pbuf),
		                NI_NUMERICSERV) == 0) {
			int64_t pn = 0;
			if (str_to_i64(pbuf, &pn) == 0)
				h->port = (int)pn;
		}
	}
	ev_io_init(&h->io, on_accept, fd, EV_READ);
	h->io.data = h;
	ev_io_start(loop, &h->io);
	*ret = h;
	return 0;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

int httpd_route(struct httpd *h, const char *method, const char *path, httpd_handler_fn *fn,
                void *udata)
{
	struct route *rt;

	if (h->nroutes >= HTTPD_MAX_ROUTES)
		return -ENOSPC;
	rt = &h->routes[h->nroutes++];
	str_copy(rt->method, method, sizeof(rt->method));
	str_copy(rt->path, path, sizeof(rt->path));
	rt->fn = fn;
	rt->udata = udata;
	return 0;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HTTPD_MAX_CONNS; i++)
		if (h->conns[i])
			conn_free(h->conns[i]);
	ev_io_stop(h->loop, &h->io);
	close(h->fd);
	free(h);
}
