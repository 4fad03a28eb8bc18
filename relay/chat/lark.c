/* lark.c - Lark / Feishu custom bot, outbound only. Signing is DingTalk's inverted:
 * key = timestamp_s + "\n" + secret, sign = base64(HMAC-SHA256(key, "")), and both go in
 * the JSON body. Text messages (markdown needs a card). */
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
	cJSON *o = json_obj(), *content = json_obj();
	char *s;
	int r = buf_adds(url, base);

	if (*secret) {
		char ts[32], sig[64], *key;
		snprintf(ts, sizeof(ts), "%lld", (long long)(now / 1000));
		key = xasprintf("%s\n%s", ts, secret);
		chat_hmac_b64(key, strlen(key), "", 0, sig);
		free(key);
		json_add_str(o, "timestamp", ts);
		json_add_str(o, "sign", sig);
	}
	json_add_str(o, "msg_type", "text");
	json_add_str(content, "text", m->text);
	json_add(o, "content", content);
	s = json_print(o, false);
	r |= buf_adds(body, s);
	free(s);
	cJSON_Delete(o);
	return r ? -E2BIG : 0;
}

static int create(const struct chat_host *host, struct chat_adapter **ret, struct diag *d)
{
	return webhook_create(host, &lark_adapter, host->conf->lark_url, host->conf->lark_secret,
	                      build, ret, d);
}

const struct chat_adapter_ops lark_adapter = {
	.name = "lark",
	.format = CHAT_FMT_MARKDOWN,
	.max_text = 6000,
	.create = create,
	.send = webhook_send,
	.destroy = webhook_destroy,
};
