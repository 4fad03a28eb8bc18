/* webhook.c - see webhook.h. A robot answers HTTP 200 with its own code: DingTalk and
 * WeCom {"errcode": 0}, Lark {"code": 0} (or the legacy {"StatusCode": 0}); anything else
 * is a failure that names the robot's message. Rate limits (HTTP 429, DingTalk 130101,
 * WeCom 45009, Lark 11232) are retried after Retry-After or 2, 4, 8 s. */
#define LOG_MODULE "chat"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/chat/webhook.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define RETRIES 3

struct hook {
	const struct chat_adapter_ops *ops;
	struct chat_host host;
	char *url, *secret;
	webhook_build_fn *build;
	struct list_head sends;
};

struct hsend {
	struct list_head node;
	struct hook *h;
	struct chat_out m;
	char *text, *title;
	int tries;
	ev_timer retry;
	chat_sent_fn *done;
	void *udata;
	bool in_flight;
};

static void hsend_free(struct hsend *s)
{
	ev_timer_stop(s->h->host.loop, &s->retry);
	list_del(&s->node);
	free(s->text);
	free(s->title);
	free(s);
}

static void post_now(struct hsend *s);

static void on_reply(void *udata, const struct chat_http_resp *resp)
{
	struct hsend *s = udata;
	struct hook *h = s->h;
	struct chat_ref ref = { 0 };
	cJSON *o = NULL;
	double code = -1;
	bool limited = resp->status == 429;
	const char *msg = NULL;

	s->in_flight = false;
	if (resp->status == 200) {
		const cJSON *v;
		o = json_parse(resp->body, resp->len, 1 << 20, NULL);
		if ((v = cJSON_GetObjectItemCaseSensitive(o, "errcode")) ||
		    (v = cJSON_GetObjectItemCaseSensitive(o, "code")) ||
		    (v = cJSON_GetObjectItemCaseSensitive(o, "StatusCode")))
			code = cJSON_IsNumber(v) ? v->valuedouble : -1;
		msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "errmsg"));
		if (!msg)
			msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "msg"));
		limited = code == 130101 || code == 45009 || code == 11232;
	}
	if (limited && s->tries < RETRIES && resp->status) {
		int64_t wait = resp->retry_after_ms > 0 ? resp->retry_after_ms : 2000LL << s->tries;
		log_warn("%s robot is rate-limiting, retrying in %lld ms", h->ops->name,
		         (long long)wait);
		ev_timer_set(&s->retry, (double)wait / 1000.0, 0.);
		ev_timer_start(h->host.loop, &s->retry);
		cJSON_Delete(o);
		return;
	}
	if (resp->status == 200 && code == 0) {
		snprintf(ref.msg_id, sizeof(ref.msg_id), "%lld", (long long)now_ms());
		s->done(s->udata, 0, &ref);
	} else {
		log_warn("%s robot refused the message: %s%s%ld %s", h->ops->name,
		         resp->error ? resp->error : "", resp->error ? "; HTTP " : "HTTP ",
		         resp->status, msg ? msg : "");
		s->done(s->udata, resp->status ? -EPROTO : -ECONNREFUSED, NULL);
	}
	cJSON_Delete(o);
	hsend_free(s);
}

static void post_now(struct hsend *s)
{
	struct hook *h = s->h;
	struct buf url = BUF_INIT(8192), body = BUF_INIT(1 << 20);
	const char *hdrs[] = { "Content-Type: application/json; charset=utf-8", NULL };
	struct chat_http_req req = { 0 };
	int r;

	s->tries++;
	r = h->build(h->url, h->secret, now_ms(), &s->m, &url, &body);
	if (r == 0) {
		req.url = buf_str(&url);
		req.headers = hdrs;
		req.body = buf_str(&body);
		req.body_len = body.len;
		req.timeout_ms = 15000;
		r = chat_http_send(h->host.http, &req, on_reply, s);
	}
	buf_release(&url);
	buf_release(&body);
	if (r < 0) {
		s->done(s->udata, r, NULL);
		hsend_free(s);
		return;
	}
	s->in_flight = true;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	post_now(w->data);
}

int webhook_create(const struct chat_host *host, const struct chat_adapter_ops *ops,
                   const char *url, const char *secret, webhook_build_fn *build,
                   struct chat_adapter **ret, struct diag *d)
{
	struct hook *h;

	*ret = NULL;
	if (!url || !*url)
		return 0;
	if (!str_startswith(url, "https://") && !str_startswith(url, "http://"))
		return diag_set(d, -EINVAL, "webhook: expected an http(s):// URL, got '%s'", url);
	h = xcalloc(1, sizeof(*h));
	h->ops = ops;
	h->host = *host;
	h->url = xstrdup(url);
	h->secret = xstrdup(secret ? secret : "");
	h->build = build;
	list_init(&h->sends);
	*ret = (struct chat_adapter *)h;
	return 0;
}

int webhook_send(struct chat_adapter *a, const struct chat_out *m, chat_sent_fn *done, void *udata)
{
	struct hook *h = (struct hook *)a;
	struct hsend *s = xcalloc(1, sizeof(*s));

	s->h = h;
	s->text = xstrdup(m->text ? m->text : "");
	s->title = xstrdup(m->title ? m->title : "ongrid");
	s->m.text = s->text;
	s->m.title = s->title;
	s->done = done;
	s->udata = udata;
	ev_init(&s->retry, on_retry);
	s->retry.data = s;
	list_add_tail(&s->node, &h->sends);
	post_now(s);
	return 0;
}

void webhook_destroy(struct chat_adapter *a)
{
	struct hook *h = (struct hook *)a;
	struct list_head *p, *n;

	if (!h)
		return;
	/* Sends in flight were finished by chat_http_free; what waits for a retry ends. */
	list_for_each_safe(p, n, &h->sends) {
		struct hsend *s = list_entry(p, struct hsend, node);
		s->done(s->udata, -ECANCELED, NULL);
		hsend_free(s);
	}
	free(h->url);
	free(h->secret);
	free(h);
}
