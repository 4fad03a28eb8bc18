/* cmd_postmortem.c - `ongrid-relay postmortem INCIDENT [--to thread|dingtalk|wecom|lark]`:
 * print the post-mortem draft of an incident (relay/postmortem.h), post it into the
 * incident's thread (through the running relay's HTTP listener, which owns the chat
 * connections), or send it to one group robot directly (docs/alerts.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "relay/chat/chat.h"
#include "relay/db.h"
#include "relay/postmortem.h"
#include "relay/relay.h"
#include "shared/cli.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/banned.h"

#define ROBOT_TIMEOUT_S 30

struct sent {
	struct ev_loop *loop;
	int pending, err;
};

static void on_sent(void *udata, int err, const struct chat_ref *ref)
{
	struct sent *s = udata;

	(void)ref;
	if (err && !s->err)
		s->err = err;
	if (--s->pending == 0)
		ev_break(s->loop, EVBREAK_ALL);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sent *s = w->data;

	(void)revents;
	s->err = -ETIMEDOUT;
	ev_break(loop, EVBREAK_ALL);
}

static int to_robot(const struct relay_conf *conf, const char *name, const char *title,
                    const char *md)
{
	const struct chat_adapter_ops *ops = !strcmp(name, "dingtalk") ? &dingtalk_adapter
	                                     : !strcmp(name, "wecom")  ? &wecom_adapter
	                                                               : &lark_adapter;
	struct chat_adapter *a = NULL;
	struct chat_host host = { 0 };
	struct diag d = { 0 };
	struct sent s = { 0 };
	ev_timer t;
	char **chunks;
	size_t n;
	int r;

	s.loop = ev_loop_new(EVFLAG_AUTO);
	if (!s.loop)
		return 1;
	host.loop = s.loop;
	host.conf = conf;
	if (chat_http_new(s.loop, &host.http, &d) < 0 || ops->create(&host, &a, &d) < 0) {
		fprintf(stderr, "ongrid-relay postmortem: %s: %s\n", name, d.msg);
		chat_http_free(host.http);
		ev_loop_destroy(s.loop);
		return 1;
	}
	if (!a) {
		fprintf(stderr, "ongrid-relay postmortem: chat.%s.webhook is not set\n", name);
		chat_http_free(host.http);
		ev_loop_destroy(s.loop);
		return 2;
	}
	n = render_split(md, ops->format, ops->max_text, &chunks);
	/* One at a time, in order: a robot shows pieces in the order they arrive. */
	for (size_t i = 0; i < n && !s.err; i++) {
		struct chat_out m = { .chat_id = "", .text = chunks[i], .title = title };
		s.pending = 1;
		r = ops->send(a, &m, on_sent, &s);
		if (r < 0) {
			s.err = r;
			break;
		}
		ev_timer_init(&t, on_timeout, ROBOT_TIMEOUT_S, 0.);
		t.data = &s;
		ev_timer_start(s.loop, &t);
		ev_run(s.loop, 0);
		ev_timer_stop(s.loop, &t);
	}
	render_chunks_free(chunks);
	chat_http_free(host.http);
	ops->destroy(a);
	ev_loop_destroy(s.loop);
	if (s.err) {
		fprintf(stderr, "ongrid-relay postmortem: %s refused or did not answer: %s\n", name,
		        strerror(-s.err));
		return 1;
	}
	printf("posted to %s (%zu message%s)\n", name, n, n == 1 ? "" : "s");
	return 0;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
	struct buf *b = u;

	/* The answer is one line for the user; past the cap the rest is dropped. */
	if (buf_add(b, p, sz * n) < 0)
		return sz * n;
	return sz * n;
}

/* The thread belongs to the running relay's chat connection: ask it to post. */
static int to_thread(const struct relay_conf *conf, const char *incident)
{
	struct buf resp = BUF_INIT(64 << 10);
	struct curl_slist *h = NULL;
	char url[400], auth[600], body[300];
	long status = 0;
	CURL *c;
	CURLcode cr;

	if (!conf->http_listen[0] || !conf->alerts_token[0]) {
		fprintf(stderr,
		        "ongrid-relay postmortem: --to thread needs the relay's http.listen "
		        "and alerts.token\n");
		return 2;
	}
	snprintf(url, sizeof(url), "http://%s/postmortem", conf->http_listen);
	if (!strncmp(conf->http_listen, "0.0.0.0:", 8))
		snprintf(url, sizeof(url), "http://127.0.0.1:%s/postmortem", conf->http_listen + 8);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", conf->alerts_token);
	snprintf(body, sizeof(body), "{\"incident\":\"%.200s\"}", incident);
	c = curl_easy_init();
	if (!c)
		return 1;
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cr != CURLE_OK) {
		fprintf(stderr, "ongrid-relay postmortem: cannot reach the relay at %s: %s\n", url,
		        curl_easy_strerror(cr));
		buf_release(&resp);
		return 1;
	}
	if (status != 200) {
		fprintf(stderr, "ongrid-relay postmortem: the relay answered %ld: %s", status,
		        resp.len ? buf_str(&resp) : "\n");
		buf_release(&resp);
		return status == 404 ? 2 : 1;
	}
	printf("posted into the incident's thread\n");
	buf_release(&resp);
	return 0;
}

int cmd_postmortem(int argc, char **argv)
{
	const char *path = NULL, *to = NULL;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "to", 0, true, &to, NULL },
	};
	struct relay_conf conf;
	struct postmortem_thread th;
	struct buf md = BUF_INIT(POSTMORTEM_MAX);
	struct diag d = { 0 };
	sqlite3 *db = NULL;
	char **args, title[300];
	int nargs, r;

	r = cli_parse("ongrid-relay", "postmortem", argc, argv, opts, ARRAY_SIZE(opts), &args,
	              &nargs);
	if (r)
		return r;
	if (nargs != 1) {
		fprintf(stderr, "usage: ongrid-relay postmortem INCIDENT "
		                "[--to thread|dingtalk|wecom|lark] [-c FILE]\n");
		return 2;
	}
	if (to && strcmp(to, "thread") != 0 && strcmp(to, "dingtalk") != 0 &&
	    strcmp(to, "wecom") != 0 && strcmp(to, "lark") != 0) {
		fprintf(stderr,
		        "ongrid-relay postmortem: --to '%s': expected thread, dingtalk, wecom or "
		        "lark\n",
		        to);
		return 2;
	}
	r = relay_conf_load(&conf, path);
	if (r)
		return r;
	if (relay_db_open(conf.data_dir, &db, &d) < 0) {
		fprintf(stderr, "ongrid-relay postmortem: %s\n", d.msg);
		r = 1;
		goto out;
	}
	r = postmortem_draft(db, args[0], &md, &th, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay postmortem: %s\n", d.msg);
		r = r == -ENOENT ? 2 : 1;
		goto out;
	}
	r = 0;
	if (!to) {
		fputs(buf_str(&md), stdout);
	} else if (!strcmp(to, "thread")) {
		r = to_thread(&conf, args[0]);
	} else {
		snprintf(title, sizeof(title), "[ongrid] post-mortem %s", args[0]);
		r = to_robot(&conf, to, title, buf_str(&md));
	}
out:
	buf_release(&md);
	db_close(db);
	relay_conf_release(&conf);
	return r;
}
