/* wecom.c - WeCom (企业微信) group robot, outbound only. No signing: the key in the URL
 * is the secret. markdown content is at most 4,096 bytes, so chunks are cut at 1,300
 * UTF-16 units (at most 3 bytes of UTF-8 each). */
#include <errno.h>
#include <stdlib.h>

#include "relay/chat/webhook.h"
#include "shared/json.h"
#include "shared/banned.h"

static int build(const char *base, const char *secret, int64_t now, const struct chat_out *m,
                 struct buf *url, struct buf *body)
{
	cJSON *o = json_obj(), *md = json_obj();
	char *s;
	int r = buf_adds(url, base);

	(void)secret, (void)now;
	json_add_str(o, "msgtype", "markdown");
	json_add_str(md, "content", m->text);
	json_add(o, "markdown", md);
	s = json_print(o, false);
	r |= buf_adds(body, s);
	free(s);
	cJSON_Delete(o);
	return r ? -E2BIG : 0;
}

static int create(const struct chat_host *host, struct chat_adapter **ret, struct diag *d)
{
	return webhook_create(host, &wecom_adapter, host->conf->wecom_url, "", build, ret, d);
}

const struct chat_adapter_ops wecom_adapter = {
	.name = "wecom",
	.format = CHAT_FMT_MARKDOWN,
	.max_text = 1300,
	.create = create,
	.send = webhook_send,
	.destroy = webhook_destroy,
};
