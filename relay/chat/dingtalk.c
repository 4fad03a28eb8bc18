/* dingtalk.c - DingTalk custom robot, outbound only (alerts, reports, post-mortem
 * drafts). Signing ("加签"): sign = urlencode(base64(HMAC-SHA256(secret,
 * timestamp_ms + "\n" + secret))), appended as &timestamp=…&sign=… */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/chat/webhook.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/banned.h"

static int build(const char *base, const char *secret, int64_t now, const struct chat_out *m,
                 struct buf *url, struct buf *body)
{
	cJSON *o = json_obj(), *md = json_obj();
	char *s;
	int r = buf_adds(url, base);

	if (*secret) {
		char ts[32], sig[64], *msg;
		snprintf(ts, sizeof(ts), "%lld", (long long)now);
		msg = xasprintf("%s\n%s", ts, secret);
		chat_hmac_b64(secret, strlen(secret), msg, strlen(msg), sig);
		free(msg);
		r |= buf_addf(url, "%stimestamp=%s&sign=", strchr(base, '?') ? "&" : "?", ts);
		r |= chat_urlencode(url, sig);
	}
	json_add_str(o, "msgtype", "markdown");
	json_add_str(md, "title", m->title ? m->title : "ongrid");
	json_add_str(md, "text", m->text);
	json_add(o, "markdown", md);
	s = json_print(o, false);
	r |= buf_adds(body, s);
	free(s);
	cJSON_Delete(o);
	return r ? -E2BIG : 0;
}

static int create(const struct chat_host *host, struct chat_adapter **ret, struct diag *d)
{
	return webhook_create(host, &dingtalk_adapter, host->conf->dingtalk_url,
	                      host->conf->dingtalk_secret, build, ret, d);
}

const struct chat_adapter_ops dingtalk_adapter = {
	.name = "dingtalk",
	.format = CHAT_FMT_MARKDOWN,
	.max_text = 4000,
	.create = create,
	.send = webhook_send,
	.destroy = webhook_destroy,
};
