/* telegram.c - Telegram Bot API adapter: getUpdates long polling in, sendMessage /
 * editMessageText out (parse_mode HTML, which needs fewer escapes than MarkdownV2 for
 * model output), inline keyboard approve/deny answered with answerCallbackQuery.
 *
 * Offsets: an update is confirmed by asking for offset = its update_id + 1, so the next
 * poll always carries the highest id seen + 1, and an update handled once is never
 * handled again, even if the poll that confirms it fails and is retried.
 *
 * Threads: Telegram has reply chains, not threads. A message that replies to nothing
 * starts a thread named by its own message id; a reply belongs to the thread of the
 * message it answers (remembered for the last THREAD_MEMORY messages, ours and theirs),
 * or, when that is forgotten, to a thread named by the replied-to message.
 *
 * 429 answers carry parameters.retry_after (seconds): the same call is retried after it,
 * up to TG_RETRIES times. "message is not modified" is success; "can't parse entities"
 * resends the text without markup.
 */
#define LOG_MODULE "telegram"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/chat/chat.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define TG_RETRIES        5
#define TG_RETRY_MAX_S    300
#define TG_RESPONSE_MAX   (8u << 20)
#define THREAD_MEMORY     4096
#define CALLBACK_DATA_MAX 64 /* bytes, Bot API limit */

struct thread_mem {
	int64_t chat, msg, root;
};

struct tg {
	const struct chat_adapter_ops *ops;
	struct chat_host host;
	char *base; /* api_base + "/bot" + token + "/" */
	char username[64];
	int64_t bot_id;
	int64_t offset;
	bool polling, stopping;
	ev_timer poll_retry;
	int64_t backoff_ms;
	struct list_head calls;
	struct thread_mem mem[THREAD_MEMORY];
	size_t mem_next;
};

typedef void tg_done_fn(void *udata, int err, const cJSON *result, const char *desc);

struct tgcall {
	struct list_head node;
	struct tg *t;
	char method[32];
	char *body;
	int tries;
	int64_t timeout_ms;
	ev_timer retry;
	tg_done_fn *done;
	void *udata;
};

/* ---- thread memory -------------------------------------------------------------------- */

static void mem_put(struct tg *t, int64_t chat, int64_t msg, int64_t root)
{
	t->mem[t->mem_next] = (struct thread_mem){ chat, msg, root };
	t->mem_next = (t->mem_next + 1) % THREAD_MEMORY;
}

static int64_t mem_root(const struct tg *t, int64_t chat, int64_t msg)
{
	for (size_t i = 0; i < THREAD_MEMORY; i++)
		if (t->mem[i].msg == msg && t->mem[i].chat == chat && msg)
			return t->mem[i].root;
	return msg;
}

/* ---- Bot API calls -------------------------------------------------------------------- */

static void call_now(struct tgcall *k);

static void call_free(struct tgcall *k)
{
	ev_timer_stop(k->t->host.loop, &k->retry);
	list_del(&k->node);
	free(k->body);
	free(k);
}

static void on_call_reply(void *udata, const struct chat_http_resp *resp)
{
	struct tgcall *k = udata;
	struct tg *t = k->t;
	cJSON *o = resp->len ? json_parse(resp->body, resp->len, TG_RESPONSE_MAX, NULL) : NULL;
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	const char *desc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "description"));
	char err[300];

	if (cJSON_IsTrue(ok)) {
		k->done(k->udata, 0, cJSON_GetObjectItemCaseSensitive(o, "result"), NULL);
		cJSON_Delete(o);
		call_free(k);
		return;
	}
	if (resp->status == 429 && k->tries < TG_RETRIES && !t->stopping) {
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "parameters");
		const cJSON *ra = cJSON_GetObjectItemCaseSensitive(params, "retry_after");
		double secs = cJSON_IsNumber(ra)          ? ra->valuedouble
		              : resp->retry_after_ms >= 0 ? (double)resp->retry_after_ms / 1000.0
		                                          : 1.0;
		if (secs < 0.1)
			secs = 0.1;
		if (secs > TG_RETRY_MAX_S)
			secs = TG_RETRY_MAX_S;
		log_warn("%s: flood control, retrying in %.1f s (as retry_after says)", k->method,
		         secs);
		ev_timer_set(&k->retry, secs, 0.);
		ev_timer_start(t->host.loop, &k->retry);
		cJSON_Delete(o);
		return;
	}
	if (desc)
		snprintf(err, sizeof(err), "%s", desc);
	else if (resp->error)
		snprintf(err, sizeof(err), "%s", resp->error);
	else
		snprintf(err, sizeof(err), "HTTP %ld", resp->status);
	k->done(k->udata, resp->status ? -EPROTO : -ECONNREFUSED, NULL, err);
	cJSON_Delete(o);
	call_free(k);
}

static void call_now(struct tgcall *k)
{
	struct tg *t = k->t;
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct chat_http_req req = { 0 };
	char *url = xasprintf("%s%s", t->base, k->method);
	int r;

	k->tries++;
	req.url = url;
	req.headers = hdrs;
	req.body = k->body;
	req.body_len = strlen(k->body);
	req.proxy = t->host.conf->tg_proxy;
	req.timeout_ms = k->timeout_ms;
	r = chat_http_send(t->host.http, &req, on_call_reply, k);
	free(url);
	if (r < 0) {
		k->done(k->udata, r, NULL, strerror(-r));
		call_free(k);
	}
}

static void on_call_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	call_now(w->data);
}

/* body is taken (a JSON object, freed here). */
static void tg_call(struct tg *t, const char *method, cJSON *body, int64_t timeout_ms,
                    tg_done_fn *done, void *udata)
{
	struct tgcall *k = xcalloc(1, sizeof(*k));

	k->t = t;
	str_copy(k->method, method, sizeof(k->method));
	k->body = json_print(body, false);
	cJSON_Delete(body);
	k->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	k->done = done;
	k->udata = udata;
	ev_init(&k->retry, on_call_retry);
	k->retry.data = k;
	list_add_tail(&k->node, &t->calls);
	call_now(k);
}

/* ---- inbound -------------------------------------------------------------------------- */

static bool get_i64(const cJSON *o, const char *k, int64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	/* Ids reach 52 bits: exact in a double; anything else is not an id. */
	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble ||
	    v->valuedouble > 9007199254740991.0 || v->valuedouble < -9007199254740991.0)
		return false;
	*ret = (int64_t)v->valuedouble;
	return true;
}

/* Byte offset in s (n bytes) of the UTF-16 unit offset u, or n when past the end. */
static size_t utf16_to_byte(const char *s, size_t n, int64_t u)
{
	size_t i = 0;

	while (i < n && u > 0) {
		unsigned char c = (unsigned char)s[i];
		size_t l = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		u -= l == 4 ? 2 : 1;
		i += l;
	}
	return i < n ? i : n;
}

/* Whether the message's entities mention @username (UTF-16 offsets, hostile input). */
static bool mentions(const cJSON *msg, const char *text, const char *username)
{
	const cJSON *e;
	size_t n = strlen(text), ul = strlen(username);

	if (!ul)
		return false;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(msg, "entities")) {
		const char *type =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
		int64_t off, len;
		size_t b, eb;
		if (!type || !get_i64(e, "offset", &off) || !get_i64(e, "length", &len) ||
		    off < 0 || len <= 0 || off > (int64_t)n * 2 || len > (int64_t)n * 2)
			continue;
		b = utf16_to_byte(text, n, off);
		eb = utf16_to_byte(text, n, off + len);
		if (!strcmp(type, "mention") && eb - b == ul + 1 && text[b] == '@' &&
		    !strncasecmp(text + b + 1, username, ul))
			return true;
		if (!strcmp(type, "bot_command")) {
			const char *at = memchr(text + b, '@', eb - b);
			if (!at || ((size_t)(text + eb - at - 1) == ul &&
			            !strncasecmp(at + 1, username, ul)))
				return true;
		}
	}
	return false;
}

int telegram_parse_update(const cJSON *u, const char *bot_username, int64_t bot_id,
                          int64_t *ret_update_id, chat_event_fn *fn, void *udata)
{
	const cJSON *msg, *cq, *chat, *from, *reply;
	struct chat_event ev = { 0 };
	char chat_id[32], user[32], mid[32], thread[32], textbuf[CHAT_TEXT_MAX];
	char action[CHAT_ACTION_MAX], mention[80];
	int64_t id, cid, uid, m, root;
	const char *type, *text;

	*ret_update_id = -1;
	if (!cJSON_IsObject(u) || !get_i64(u, "update_id", &id))
		return -EINVAL;
	*ret_update_id = id;
	if ((cq = cJSON_GetObjectItemCaseSensitive(u, "callback_query"))) {
		const char *data =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cq, "data"));
		const char *qid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cq, "id"));
		msg = cJSON_GetObjectItemCaseSensitive(cq, "message");
		from = cJSON_GetObjectItemCaseSensitive(cq, "from");
		chat = cJSON_GetObjectItemCaseSensitive(msg, "chat");
		if (!data || !qid || !get_i64(from, "id", &uid) || !get_i64(chat, "id", &cid) ||
		    !get_i64(msg, "message_id", &m) || strlen(qid) >= CHAT_ID_MAX)
			return -EINVAL;
		if (str_startswith(data, "ap:"))
			snprintf(action, sizeof(action), "approve:%.64s", data + 3);
		else if (str_startswith(data, "dn:"))
			snprintf(action, sizeof(action), "deny:%.64s", data + 3);
		else
			return -EINVAL;
		snprintf(chat_id, sizeof(chat_id), "%lld", (long long)cid);
		snprintf(user, sizeof(user), "%lld", (long long)uid);
		snprintf(mid, sizeof(mid), "%lld", (long long)m);
		ev.chat_id = chat_id;
		ev.user_id = user;
		ev.msg_id = mid;
		ev.thread_id = mid; /* the router finds the thread from the action */
		ev.action = action;
		ev.action_ref = qid;
		ev.user_name =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(from, "username"));
		fn(udata, &ev);
		return 0;
	}
	msg = cJSON_GetObjectItemCaseSensitive(u, "message");
	if (!msg)
		return 0; /* edited messages, channel posts, member updates: not ours */
	chat = cJSON_GetObjectItemCaseSensitive(msg, "chat");
	from = cJSON_GetObjectItemCaseSensitive(msg, "from");
	text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "text"));
	type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(chat, "type"));
	if (!text || !type || !get_i64(chat, "id", &cid) || !get_i64(from, "id", &uid) ||
	    !get_i64(msg, "message_id", &m))
		return -EINVAL;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(from, "is_bot")) || uid == bot_id)
		return 0; /* other bots and ourselves */
	reply = cJSON_GetObjectItemCaseSensitive(msg, "reply_to_message");
	/* Addressed to us: a private chat, a mention or command, or a reply to our message. */
	ev.addressed = true;
	if (strcmp(type, "private") != 0 &&
	    !mentions(msg, text, bot_username ? bot_username : "")) {
		int64_t rfrom;
		if (!reply ||
		    !get_i64(cJSON_GetObjectItemCaseSensitive(reply, "from"), "id", &rfrom) ||
		    rfrom != bot_id)
			return 0; /* group chatter not addressed to us */
	}
	root = m;
	if (reply && get_i64(reply, "message_id", &root) == false)
		root = m;
	snprintf(chat_id, sizeof(chat_id), "%lld", (long long)cid);
	snprintf(user, sizeof(user), "%lld", (long long)uid);
	snprintf(mid, sizeof(mid), "%lld", (long long)m);
	snprintf(thread, sizeof(thread), "%lld", (long long)root);
	str_copy(textbuf, text, sizeof(textbuf));
	snprintf(mention, sizeof(mention), "@%s", bot_username ? bot_username : "");
	if (bot_username && *bot_username)
		render_strip_mention(textbuf, mention);
	else
		render_strip_mention(textbuf, NULL);
	ev.chat_id = chat_id;
	ev.user_id = user;
	ev.msg_id = mid;
	ev.thread_id = thread; /* the replied-to message; the adapter maps it to its root */
	ev.text = textbuf;
	ev.user_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(from, "username"));
	fn(udata, &ev);
	return 0;
}

static void on_event(void *udata, const struct chat_event *ev)
{
	struct tg *t = udata;
	struct chat_event e = *ev;
	char thread[32];
	int64_t cid = 0, mid = 0, tid = 0;

	(void)str_to_i64(ev->chat_id, &cid);
	(void)str_to_i64(ev->msg_id, &mid);
	(void)str_to_i64(ev->thread_id, &tid);
	/* A fresh message is its own root; a reply joins the root of what it answers. */
	tid = tid == mid ? mid : mem_root(t, cid, tid);
	if (!ev->action)
		mem_put(t, cid, mid, tid);
	snprintf(thread, sizeof(thread), "%lld", (long long)tid);
	e.thread_id = thread;
	t->host.deliver(t->host.udata, (struct chat_adapter *)t, &e);
}

static void poll_start(struct tg *t);
static void tg_getme(struct tg *t);

static void on_updates(void *udata, int err, const cJSON *result, const char *desc)
{
	struct tg *t = udata;
	const cJSON *u;

	t->polling = false;
	if (t->stopping)
		return;
	if (err) {
		log_warn("getUpdates failed: %s; polling again in %lld ms", desc ? desc : "?",
		         (long long)t->backoff_ms);
		ev_timer_set(&t->poll_retry, (double)t->backoff_ms / 1000.0, 0.);
		ev_timer_start(t->host.loop, &t->poll_retry);
		t->backoff_ms = t->backoff_ms * 2 > 30000 ? 30000 : t->backoff_ms * 2;
		return;
	}
	t->backoff_ms = 500;
	cJSON_ArrayForEach(u, result) {
		int64_t id = -1;
		if (telegram_parse_update(u, t->username, t->bot_id, &id, on_event, t) < 0)
			log_debug("ignoring a malformed update");
		if (id >= t->offset)
			t->offset = id + 1;
	}
	poll_start(t);
}

static void poll_start(struct tg *t)
{
	cJSON *b = json_obj(), *allowed = json_arr();
	int64_t secs = t->host.conf->tg_poll_timeout_ms / 1000;

	if (t->polling || t->stopping)
		return;
	t->polling = true;
	if (t->offset)
		json_add_num(b, "offset", (double)t->offset);
	json_add_num(b, "timeout", (double)secs);
	json_push(allowed, cJSON_CreateString("message"));
	json_push(allowed, cJSON_CreateString("callback_query"));
	json_add(b, "allowed_updates", allowed);
	/* curl's deadline must outlast the long poll. */
	tg_call(t, "getUpdates", b, (secs + 10) * 1000, on_updates, t);
}

static void on_poll_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tg *t = w->data;

	(void)loop, (void)revents;
	if (!t->bot_id) {
		tg_getme(t);
	} else {
		poll_start(t);
	}
}

static void on_getme(void *udata, int err, const cJSON *result, const char *desc)
{
	struct tg *t = udata;
	const char *u = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "username"));

	if (t->stopping)
		return;
	if (err || !u || !get_i64(result, "id", &t->bot_id)) {
		log_warn("getMe failed: %s; retrying in %lld ms", desc ? desc : "no username",
		         (long long)t->backoff_ms);
		ev_timer_set(&t->poll_retry, (double)t->backoff_ms / 1000.0, 0.);
		ev_timer_start(t->host.loop, &t->poll_retry);
		t->backoff_ms = t->backoff_ms * 2 > 30000 ? 30000 : t->backoff_ms * 2;
		return;
	}
	str_copy(t->username, u, sizeof(t->username));
	log_info("connected as @%s", t->username);
	t->backoff_ms = 500;
	poll_start(t);
}

static void tg_getme(struct tg *t)
{
	tg_call(t, "getMe", json_obj(), 30000, on_getme, t);
}

/* ---- outbound ------------------------------------------------------------------------- */

struct tgsend {
	struct tg *t;
	chat_sent_fn *done;
	void *udata;
	char chat_id[CHAT_ID_MAX];
	int64_t root;
	cJSON *retry_plain; /* the same call without parse_mode, for "can't parse entities" */
	char method[32];
	bool edit;
	struct chat_ref ref;
};

/* HTML to plain text: drop tags, decode the entities we write. */
static char *html_to_plain(const char *s)
{
	struct buf b = BUF_INIT(1 << 20);
	int r = 0;

	while (*s && r == 0) {
		if (*s == '<' && strchr(s, '>')) {
			s = strchr(s, '>') + 1;
			continue;
		}
		if (*s == '&') {
			static const char *const ent[][2] = { { "&amp;", "&" },
				                              { "&lt;", "<" },
				                              { "&gt;", ">" },
				                              { "&quot;", "\"" } };
			bool hit = false;
			for (size_t i = 0; i < ARRAY_SIZE(ent) && !hit; i++)
				if (str_startswith(s, ent[i][0])) {
					r = buf_adds(&b, ent[i][1]);
					s += strlen(ent[i][0]);
					hit = true;
				}
			if (hit)
				continue;
		}
		r = buf_addc(&b, *s++);
	}
	return buf_detach(&b, NULL);
}

static cJSON *keyboard(const struct chat_out *m)
{
	cJSON *kb = json_obj(), *rows = json_arr(), *row = json_arr();

	for (size_t i = 0; i < m->nbuttons; i++) {
		const char *a = m->buttons[i].action, *id = strchr(a, ':');
		cJSON *bt = json_obj();
		char data[CALLBACK_DATA_MAX + 1];
		snprintf(data, sizeof(data), "%s:%s", str_startswith(a, "approve:") ? "ap" : "dn",
		         id ? id + 1 : "");
		json_add_str(bt, "text", m->buttons[i].label);
		json_add_str(bt, "callback_data", data);
		json_add_str(bt, "style",
		             m->buttons[i].style == CHAT_BUTTON_DANGER ? "danger" : "success");
		json_push(row, bt);
	}
	json_push(rows, row);
	json_add(kb, "inline_keyboard", rows);
	return kb;
}

static void on_sent(void *udata, int err, const cJSON *result, const char *desc)
{
	struct tgsend *s = udata;
	int64_t mid;

	if (err && desc && strstr(desc, "message is not modified")) {
		err = 0; /* the same text again: nothing to do */
		result = NULL;
	}
	if (err && desc && strstr(desc, "can't parse entities") && s->retry_plain &&
	    !s->t->stopping) {
		cJSON *b = s->retry_plain;
		log_warn("%s: Telegram could not parse our HTML (%s); sending plain text",
		         s->method, desc);
		s->retry_plain = NULL;
		tg_call(s->t, s->method, b, 30000, on_sent, s);
		return;
	}
	if (err) {
		log_warn("%s to %s failed: %s", s->method, s->chat_id, desc ? desc : "?");
		s->done(s->udata, err, NULL);
	} else {
		if (!s->edit && result && get_i64(result, "message_id", &mid)) {
			int64_t cid = 0;
			(void)str_to_i64(s->chat_id, &cid);
			snprintf(s->ref.msg_id, sizeof(s->ref.msg_id), "%lld", (long long)mid);
			str_copy(s->ref.chat_id, s->chat_id, sizeof(s->ref.chat_id));
			mem_put(s->t, cid, mid, s->root ? s->root : mid);
		}
		s->done(s->udata, 0, &s->ref);
	}
	cJSON_Delete(s->retry_plain);
	free(s);
}

static int tg_out(struct tg *t, const struct chat_ref *ref, const struct chat_out *m,
                  chat_sent_fn *done, void *udata)
{
	struct tgsend *s = xcalloc(1, sizeof(*s));
	cJSON *b = json_obj(), *lp = json_obj(), *plain;
	const char *chat = ref ? ref->chat_id : m->chat_id;
	int64_t cid;
	char *pt;

	if (str_to_i64(chat, &cid) < 0) {
		free(s);
		cJSON_Delete(b);
		cJSON_Delete(lp);
		return -EINVAL;
	}
	s->t = t;
	s->done = done;
	s->udata = udata;
	s->edit = ref != NULL;
	str_copy(s->chat_id, chat, sizeof(s->chat_id));
	str_copy(s->method, ref ? "editMessageText" : "sendMessage", sizeof(s->method));
	if (ref)
		s->ref = *ref;
	json_add_num(b, "chat_id", (double)cid);
	if (ref) {
		int64_t mid;
		if (str_to_i64(ref->msg_id, &mid) == 0)
			json_add_num(b, "message_id", (double)mid);
	} else if (m->thread_id && str_to_i64(m->thread_id, &s->root) == 0 && s->root > 0) {
		cJSON *rp = json_obj();
		json_add_num(rp, "message_id", (double)s->root);
		json_add_bool(rp, "allow_sending_without_reply", true);
		json_add(b, "reply_parameters", rp);
	}
	json_add_bool(lp, "is_disabled", true);
	json_add(b, "link_preview_options", lp);
	if (m->nbuttons)
		json_add(b, "reply_markup", keyboard(m));
	plain = cJSON_Duplicate(b, true);
	pt = html_to_plain(m->text ? m->text : "");
	json_add_str(plain, "text", *pt ? pt : " ");
	free(pt);
	s->retry_plain = plain;
	json_add_str(b, "text", m->text && *m->text ? m->text : " ");
	json_add_str(b, "parse_mode", "HTML");
	tg_call(t, s->method, b, 30000, on_sent, s);
	return 0;
}

static int tg_send(struct chat_adapter *a, const struct chat_out *m, chat_sent_fn *done,
                   void *udata)
{
	return tg_out((struct tg *)a, NULL, m, done, udata);
}

static int tg_edit(struct chat_adapter *a, const struct chat_ref *ref, const struct chat_out *m,
                   chat_sent_fn *done, void *udata)
{
	return tg_out((struct tg *)a, ref, m, done, udata);
}

static void on_answered(void *udata, int err, const cJSON *result, const char *desc)
{
	(void)udata, (void)result;
	if (err)
		log_warn("answerCallbackQuery failed: %s", desc ? desc : "?");
}

static void tg_answer(struct chat_adapter *a, const char *ref, const char *text)
{
	cJSON *b = json_obj();
	char t[201];

	str_copy(t, text, sizeof(t)); /* 0-200 characters */
	json_add_str(b, "callback_query_id", ref);
	json_add_str(b, "text", t);
	tg_call((struct tg *)a, "answerCallbackQuery", b, 30000, on_answered, NULL);
}

/* ---- life cycle ----------------------------------------------------------------------- */

static int tg_create(const struct chat_host *host, struct chat_adapter **ret, struct diag *d)
{
	const struct relay_conf *c = host->conf;
	struct tg *t;
	size_t bl;

	*ret = NULL;
	if (!c->tg_token || !*c->tg_token)
		return 0;
	if (!str_startswith(c->tg_api_base, "https://") &&
	    !str_startswith(c->tg_api_base, "http://"))
		return diag_set(d, -EINVAL, "api_base: expected an http(s):// URL, got '%s'",
		                c->tg_api_base);
	t = xcalloc(1, sizeof(*t));
	t->ops = &telegram_adapter;
	t->host = *host;
	bl = strlen(c->tg_api_base);
	t->base = xasprintf("%.*s/bot%s/", (int)(bl && c->tg_api_base[bl - 1] == '/' ? bl - 1 : bl),
	                    c->tg_api_base, c->tg_token);
	t->backoff_ms = 500;
	list_init(&t->calls);
	ev_init(&t->poll_retry, on_poll_retry);
	t->poll_retry.data = t;
	tg_getme(t);
	*ret = (struct chat_adapter *)t;
	return 0;
}

static void tg_destroy(struct chat_adapter *a)
{
	struct tg *t = (struct tg *)a;
	struct list_head *p, *n;

	if (!t)
		return;
	t->stopping = true;
	ev_timer_stop(t->host.loop, &t->poll_retry);
	/* Calls in flight were ended by chat_http_free; these wait for a retry timer. */
	list_for_each_safe(p, n, &t->calls) {
		struct tgcall *k = list_entry(p, struct tgcall, node);
		k->done(k->udata, -ECANCELED, NULL, "shutting down");
		call_free(k);
	}
	free(t->base);
	free(t);
}

const struct chat_adapter_ops telegram_adapter = {
	.name = "telegram",
	.caps = CHAT_CAN_RECEIVE | CHAT_CAN_EDIT | CHAT_CAN_BUTTONS,
	.format = CHAT_FMT_HTML,
	.max_text = 4096,
	.create = tg_create,
	.send = tg_send,
	.edit = tg_edit,
	.answer_action = tg_answer,
	.destroy = tg_destroy,
};
