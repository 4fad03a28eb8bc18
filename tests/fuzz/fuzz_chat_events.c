/* fuzz_chat_events: hostile Slack Socket Mode frames and Telegram updates must never
 * crash, leak or read out of bounds in the inbound parsers (relay/chat/slack.c,
 * telegram.c), and every event they deliver must carry sane strings. The first byte picks
 * the parser; the rest is the frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/chat/chat.h"
#include "shared/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *udata, const struct chat_event *ev)
{
	size_t *n = udata;
	char text[CHAT_TEXT_MAX + 1];

	(*n)++;
	if (!ev->chat_id || !ev->user_id || !ev->thread_id || strlen(ev->chat_id) >= CHAT_ID_MAX ||
	    strlen(ev->user_id) >= CHAT_ID_MAX || strlen(ev->thread_id) >= CHAT_ID_MAX)
		abort();
	if (!ev->text == !ev->action)
		abort(); /* exactly one of a message or a button press */
	if (ev->text) {
		if (strlen(ev->text) >= CHAT_TEXT_MAX)
			abort();
		/* What the router does next with it. */
		memcpy(text, ev->text, strlen(ev->text) + 1);
		(void)render_utf16_len(text, strlen(text));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char env[64], type[32], reason[64], eid[64];
	size_t n = 0;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		(void)slack_parse_frame((const char *)data + 1, size - 1, "UBOT", env, sizeof(env),
		                        type, sizeof(type), reason, sizeof(reason), eid,
		                        sizeof(eid), check, &n);
	} else {
		cJSON *u = json_parse((const char *)data + 1, size - 1, 1 << 20, NULL);
		int64_t id;
		if (u) {
			(void)telegram_parse_update(u, "ongrid_bot", 999, &id, check, &n);
			cJSON_Delete(u);
		}
	}
	if (n > 1)
		abort(); /* one frame, at most one event */
	return 0;
}
