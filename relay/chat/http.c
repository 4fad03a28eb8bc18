/* http.c - the chat adapters' HTTP client: one libcurl multi handle driven by the relay's
 * libev loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION -> ev_io/ev_timer, as in curl's
 * docs/examples/evhiperfifo.c). Callbacks run from the loop, never from chat_http_send().
 * Bodies are capped at 4 MiB; a bigger answer fails the request.
 */
#define LOG_MODULE "chat"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "relay/chat/chat.h"
#include "shared/alloc.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define HTTP_BODY_MAX (4u << 20)

struct chat_http {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	ev_idle kick; /* runs finished transfers' callbacks outside of curl's callbacks */
	struct list_head socks, reqs;
	bool freeing;
};

struct sock {
	struct list_head node;
	struct chat_http *h;
	ev_io io;
	curl_socket_t fd;
};

struct req {
	struct list_head node;
	struct chat_http *h;
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf body;
	char *post;
	int64_t retry_after_ms;
	chat_http_fn *cb;
	void *udata;
	char err[CURL_ERROR_SIZE];
};

static void finish(struct req *q, CURLcode cc)
{
	struct chat_http_resp resp = { 0 };
	long status = 0;

	list_del(&q->node);
	curl_multi_remove_handle(q->h->multi, q->easy);
	if (cc == CURLE_OK)
		curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.status = status;
	resp.body = buf_str(&q->body);
	resp.len = q->body.len;
	resp.retry_after_ms = q->retry_after_ms;
	if (cc != CURLE_OK)
		resp.error = q->err[0] ? q->err : curl_easy_strerror(cc);
	q->cb(q->udata, &resp);
	curl_easy_cleanup(q->easy);
	curl_slist_free_all(q->hdrs);
	buf_release(&q->body);
	free(q->post);
	free(q);
}

static void check_done(struct chat_http *h)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct req *q = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		if (q)
			finish(q, m->data.result);
	}
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct chat_http *h = s->h;
	int running;

	(void)loop;
	curl_multi_socket_action(h->multi, w->fd,
	                         (revents & EV_READ ? CURL_CSELECT_IN : 0) |
	                                 (revents & EV_WRITE ? CURL_CSELECT_OUT : 0),
	                         &running);
	check_done(h);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct chat_http *h = w->data;
	int running;

	(void)loop, (void)revents;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static void on_kick(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct chat_http *h = w->data;
	int running;

	(void)revents;
	ev_idle_stop(loop, w);
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct chat_http *h = userp;
	struct sock *s = sockp;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(h->loop, &s->io);
			list_del(&s->node);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->h = h;
		s->fd = fd;
		s->io.data = s;
		ev_init(&s->io, on_io);
		list_add_tail(&s->node, &h->socks);
		curl_multi_assign(h->multi, fd, s);
	} else {
		ev_io_stop(h->loop, &s->io);
	}
	ev_io_set(&s->io, fd,
	          (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(h->loop, &s->io);
	return 0;
}

static int timer_cb(CURLM *m, long ms, void *userp)
{
	struct chat_http *h = userp;

	(void)m;
	ev_timer_stop(h->loop, &h->timer);
	if (ms >= 0) {
		ev_timer_set(&h->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *udata)
{
	struct req *q = udata;

	return buf_add(&q->body, p, sz * n) < 0 ? 0 : sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *udata)
{
	struct req *q = udata;
	size_t len = sz * n;

	if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
		char v[64];
		double secs;
		size_t l = len - 12 < sizeof(v) - 1 ? len - 12 : sizeof(v) - 1;
		memcpy(v, p + 12, l);
		v[l] = '\0';
		if (str_to_double(str_trim(v), &secs) == 0 && secs >= 0 && secs < 86400)
			q->retry_after_ms = (int64_t)(secs * 1000);
	}
	return len;
}

int chat_http_new(struct ev_loop *loop, struct chat_http **ret, struct diag *d)
{
	struct chat_http *h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return diag_set(d, -ENOMEM, "cannot create the chat HTTP client");
	}
	list_init(&h->socks);
	list_init(&h->reqs);
	ev_init(&h->timer, on_timer);
	h->timer.data = h;
	ev_idle_init(&h->kick, on_kick);
	h->kick.data = h;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	*ret = h;
	return 0;
}

void chat_http_free(struct chat_http *h)
{
	struct list_head *p, *n;

	if (!h)
		return;
	h->freeing = true;
	list_for_each_safe(p, n, &h->reqs) {
		struct req *q = list_entry(p, struct req, node);
		snprintf(q->err, sizeof(q->err), "shutting down");
		finish(q, CURLE_ABORTED_BY_CALLBACK);
	}
	list_for_each_safe(p, n, &h->socks) {
		struct sock *s = list_entry(p, struct sock, node);
		ev_io_stop(h->loop, &s->io);
		free(s);
	}
	ev_timer_stop(h->loop, &h->timer);
	ev_idle_stop(h->loop, &h->kick);
	curl_multi_cleanup(h->multi);
	free(h);
}

int chat_http_send(struct chat_http *h, const struct chat_http_req *in, chat_http_fn *cb,
                   void *udata)
{
	struct req *q;

	if (h->freeing)
		return -ESHUTDOWN;
	q = xcalloc(1, sizeof(*q));
	q->h = h;
	q->cb = cb;
	q->udata = udata;
	q->retry_after_ms = -1;
	buf_init(&q->body, HTTP_BODY_MAX);
	q->easy = curl_easy_init();
	if (!q->easy) {
		free(q);
		return -ENOMEM;
	}
	for (const char *const *hp = in->headers; hp && *hp; hp++)
		q->hdrs = curl_slist_append(q->hdrs, *hp);
	q->hdrs = curl_slist_append(q->hdrs, "Expect:");
	curl_easy_setopt(q->easy, CURLOPT_URL, in->url);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(q->easy, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_ERRORBUFFER, q->err);
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS,
	                 (long)(in->timeout_ms > 0 ? in->timeout_ms : 30000));
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(q->easy, CURLOPT_USERAGENT, "ongrid-relay/" ONGRID_VERSION);
	if (in->proxy && *in->proxy)
		curl_easy_setopt(q->easy, CURLOPT_PROXY, in->proxy);
	if (in->method && !strcmp(in->method, "GET")) {
		curl_easy_setopt(q->easy, CURLOPT_HTTPGET, 1L);
	} else {
		q->post = xstrndup(in->body ? in->body : "", in->body ? in->body_len : 0);
		curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->post);
		curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(in->body ? in->body_len : 0));
	}
	list_add_tail(&q->node, &h->reqs);
	if (curl_multi_add_handle(h->multi, q->easy) != CURLM_OK) {
		list_del(&q->node);
		curl_easy_cleanup(q->easy);
		curl_slist_free_all(q->hdrs);
		free(q->post);
		free(q);
		return -ENOMEM;
	}
	ev_idle_start(h->loop, &h->kick);
	return 0;
}

void chat_hmac_b64(const char *key, size_t keylen, const char *msg, size_t msglen, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, mac, &maclen);
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

int chat_urlencode(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (; *s && r == 0; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			r = buf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			r = buf_add(b, e, 3);
		}
	}
	return r;
}
