/* chat.h - the relay's chat router and the thin platform adapters behind it (docs/chat.md).
 *
 * The router (router.c) owns policy: allowlists, user roles, the thread <-> incident map,
 * approvals with double-sign, commands and the audit rows. An adapter (slack.c,
 * telegram.c, local.c, dingtalk.c, wecom.c, lark.c) only moves messages: it turns its
 * platform's inbound events into struct chat_event and calls host->deliver(), and it
 * posts or edits messages the router has already rendered for its format (render.c).
 * Each adapter exports one const ops object; chat_adapters[] is the registry.
 *
 * Everything runs on the relay's libev loop; nothing here is thread-safe.
 */
#ifndef ONGRID_RELAY_CHAT_H
#define ONGRID_RELAY_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "relay/relay.h"
#include "shared/buf.h"
#include "shared/diag.h"

#define CHAT_ID_MAX     96   /* chat, thread, user and message ids */
#define CHAT_TEXT_MAX   8192 /* one inbound message; longer ones are cut */
#define CHAT_ACTION_MAX 96   /* "approve:<action id>" */

enum {
	CHAT_CAN_RECEIVE = 1u << 0, /* delivers inbound events */
	CHAT_CAN_EDIT = 1u << 1,    /* edit() streams an answer into one message */
	CHAT_CAN_BUTTONS = 1u << 2, /* approve/deny buttons */
};

/* How an adapter wants text: render.c writes each. */
enum chat_format {
	CHAT_FMT_PLAIN,    /* the terminal (`ongrid-relay ask`) */
	CHAT_FMT_SLACK,    /* Slack mrkdwn: only & < > escaped */
	CHAT_FMT_HTML,     /* Telegram parse_mode HTML */
	CHAT_FMT_MARKDOWN, /* DingTalk / WeCom / Lark markdown */
};

/* Inbound, normalised. Strings are valid during deliver() only. */
struct chat_event {
	const char *workspace; /* Slack team id; NULL elsewhere */
	const char *chat_id;   /* Slack channel, Telegram chat id */
	const char *thread_id; /* the thread root: Slack thread_ts or ts; Telegram root id */
	const char *msg_id;    /* this message's id (reply target) */
	const char *user_id;
	const char *user_name;  /* for messages; may be NULL */
	const char *text;       /* NULL for a button press; mentions already removed */
	const char *action;     /* "approve:<id>" or "deny:<id>"; NULL for text */
	const char *action_ref; /* Telegram callback_query id, Slack message ts of the buttons */
	bool addressed; /* to the bot: a mention, a DM, a reply to it; else only a reply in a thread */
	const char *host; /* the edge asked for explicitly (`ongrid-relay ask HOST`) */
};

enum chat_button_style { CHAT_BUTTON_PRIMARY, CHAT_BUTTON_DANGER };
struct chat_button {
	const char *label;
	const char *action; /* "approve:<id>" */
	enum chat_button_style style;
};

/* Outbound, already rendered in the adapter's format and within its length limit. */
struct chat_out {
	const char *chat_id;
	const char *thread_id; /* NULL: top level */
	const char *text;
	const struct chat_button *buttons;
	size_t nbuttons;
	const char *title; /* webhooks: the markdown title */
};

/* A posted message, to edit it later. */
struct chat_ref {
	char chat_id[CHAT_ID_MAX];
	char msg_id[CHAT_ID_MAX];
};

typedef void chat_sent_fn(void *udata, int err, const struct chat_ref *ref);

struct chat_adapter; /* each adapter's own state; starts with nothing the router reads */
struct chat_http;

struct chat_host {
	struct ev_loop *loop;
	struct chat_http *http;
	const struct relay_conf *conf;
	void (*deliver)(void *udata, struct chat_adapter *a, const struct chat_event *ev);
	/* An action press was handled; the adapter answers the platform (Telegram's
	 * answerCallbackQuery) with text. */
	void *udata;
};

struct chat_adapter_ops {
	const char *name; /* "slack": config group, incident ids and log module */
	unsigned caps;
	enum chat_format format;
	size_t max_text; /* longest text one message carries, in bytes of rendered text */
	/* 0 and *ret NULL when the platform is not configured. */
	int (*create)(const struct chat_host *host, struct chat_adapter **ret, struct diag *d);
	/* send and edit return 0 and then run done exactly once (possibly before they
	 * return), or return a negative errno and never run it. */
	int (*send)(struct chat_adapter *a, const struct chat_out *m, chat_sent_fn *done,
	            void *udata);
	int (*edit)(struct chat_adapter *a, const struct chat_ref *ref, const struct chat_out *m,
	            chat_sent_fn *done, void *udata); /* NULL unless CHAT_CAN_EDIT */
	/* The answer to chat_id's last message is complete (the terminal exits); may be
	 * NULL. */
	void (*done)(struct chat_adapter *a, const char *chat_id);
	/* Tell the presser what happened (Telegram answerCallbackQuery); may be NULL. */
	void (*answer_action)(struct chat_adapter *a, const char *action_ref, const char *text);
	void (*destroy)(struct chat_adapter *a); /* NULL-safe */
};

extern const struct chat_adapter_ops slack_adapter, telegram_adapter, local_adapter,
        dingtalk_adapter, wecom_adapter, lark_adapter;

/* The ops of a live adapter (each adapter struct starts with a pointer to its ops). */
static inline const struct chat_adapter_ops *chat_ops(const struct chat_adapter *a)
{
	return *(const struct chat_adapter_ops *const *)(const void *)a;
}

/* ---- policy (router.c), pure functions unit-tested in test_chat_router.c --------- */

enum chat_role { CHAT_ROLE_NONE, CHAT_ROLE_VIEWER, CHAT_ROLE_OPERATOR, CHAT_ROLE_ADMIN };
enum chat_class { CHAT_CLASS_SAFE_READ, CHAT_CLASS_SAFE_WRITE, CHAT_CLASS_DANGEROUS };

int chat_role_parse(const char *s, enum chat_role *ret);
const char *chat_role_name(enum chat_role r);
int chat_class_parse(const char *s, enum chat_class *ret);
const char *chat_class_name(enum chat_class c);
/* The role of platform:user from conf->chat_users ("slack:U222=admin"), else the
 * default role. */
enum chat_role chat_user_role(const struct relay_conf *c, const char *platform, const char *user);
/* Whether a message from workspace/chat on platform may be served at all. */
bool chat_allowed(const struct relay_conf *c, const char *platform, const char *workspace,
                  const char *chat);
/* The least role that may approve an action of class c. */
enum chat_role chat_role_for_class(enum chat_class c);
/* Check chat.* keys that the table cannot (user=role syntax); -EINVAL with d set. */
int chat_conf_check(const struct relay_conf *c, struct diag *d);

/* The decision on one approval press, given what is recorded so far. */
enum chat_verdict {
	CHAT_VERDICT_REFUSED,   /* the role may not approve this class */
	CHAT_VERDICT_SAME_USER, /* double-sign: the first approver pressed again */
	CHAT_VERDICT_FIRST,     /* double-sign: one approval recorded, one more needed */
	CHAT_VERDICT_APPROVED,  /* forward approve to the edge */
	CHAT_VERDICT_DENIED,    /* forward deny to the edge */
	CHAT_VERDICT_CLOSED,    /* already decided */
};
struct chat_approval_state {
	enum chat_class cls;
	bool decided;
	const char *first_user; /* NULL or "" when no approval is recorded yet */
};
enum chat_verdict chat_approval_judge(const struct chat_approval_state *st, bool double_sign,
                                      enum chat_role role, const char *user, bool approve);

/* Commands a message may be (after the mention is removed). */
enum chat_cmd {
	CHAT_CMD_NONE, /* a question */
	CHAT_CMD_HELP,
	CHAT_CMD_STATUS,
	CHAT_CMD_INCIDENTS,
	CHAT_CMD_MODELS,
	CHAT_CMD_MODEL_USE,   /* args: purpose, target */
	CHAT_CMD_MODEL_RESET, /* args: purpose */
	CHAT_CMD_APPROVE,     /* args: action id (typed, for the terminal) */
	CHAT_CMD_DENY,
};
/* Parse text; args (two slots of 128 bytes) receive the arguments. */
enum chat_cmd chat_cmd_parse(const char *text, char args[2][128]);

/* ---- rendering (render.c) ---------------------------------------------------------- */

/* Append s escaped for fmt (Slack: & < >; HTML: & < > "; Markdown/plain: as is). */
int render_escape(struct buf *b, enum chat_format fmt, const char *s);
/* Telegram MarkdownV2: every special character and the backslash get a backslash; in
 * code only ` and \ do. */
int render_escape_mdv2(struct buf *b, const char *s, bool code);
/* Length in UTF-16 code units (Telegram's measure). */
size_t render_utf16_len(const char *s, size_t n);
/* Split text into chunks of at most max UTF-16 units (HTML: of visible text; tags are
 * closed at a cut and reopened in the next chunk), at line ends when possible, never
 * inside a UTF-8 sequence, tag or entity. Returns the number of chunks (>= 1) in a
 * NULL-terminated array the caller frees with render_chunks_free. */
size_t render_split(const char *text, enum chat_format fmt, size_t max, char ***ret);
void render_chunks_free(char **v);
/* The report document (DESIGN.md, "Report format") as text in fmt. */
int render_report(struct buf *b, enum chat_format fmt, const cJSON *report);
/* One proposed action, for the approval message. */
int render_action(struct buf *b, enum chat_format fmt, const cJSON *action, const char *id,
                  const char *host);
/* Remove the leading bot mention ("<@U111>", "@ongrid_bot") and blanks from text. */
void render_strip_mention(char *text, const char *bot);
/* Slack inbound: "&amp;" "&lt;" "&gt;" back to & < >, <http://x|label> to the URL. */
void render_slack_unescape(char *text);

/* ---- HTTP on the relay's loop (http.c): libcurl multi driven by libev ------------- */

struct chat_http_req {
	const char *method; /* "POST" (default) or "GET" */
	const char *url;
	const char *const *headers; /* NULL-terminated, "Name: value" */
	const char *body;           /* NULL: none */
	size_t body_len;
	const char *proxy;  /* NULL/"": the environment's */
	int64_t timeout_ms; /* whole transfer */
};
struct chat_http_resp {
	long status; /* 0 on a transport error */
	const char *body;
	size_t len;
	int64_t retry_after_ms; /* from a Retry-After header; -1 when absent */
	const char *error;      /* transport error text, or NULL */
};
typedef void chat_http_fn(void *udata, const struct chat_http_resp *resp);

int chat_http_new(struct ev_loop *loop, struct chat_http **ret, struct diag *d);
void chat_http_free(struct chat_http *h); /* pending callbacks run with status 0 */
/* cb runs exactly once, never from inside this call. */
int chat_http_send(struct chat_http *h, const struct chat_http_req *in, chat_http_fn *cb,
                   void *udata);

/* base64(HMAC-SHA256(key, msg)) into out (at least 45 bytes). */
void chat_hmac_b64(const char *key, size_t keylen, const char *msg, size_t msglen, char *out);
/* Percent-encode s (RFC 3986 unreserved kept) into b. */
int chat_urlencode(struct buf *b, const char *s);

/* ---- inbound parsers, pure (fuzzed by tests/fuzz/fuzz_chat_events.c) ------------- */

typedef void chat_event_fn(void *udata, const struct chat_event *ev);
/* One Socket Mode frame. Writes the envelope id to ack (if any) to envelope_id,
 * the frame type ("hello", "disconnect", "events_api", "interactive") to type, and
 * delivers at most one event. Events from bots or from self_user are dropped. */
int slack_parse_frame(const char *frame, size_t len, const char *self_user, char *envelope_id,
                      size_t idsz, char *type, size_t typesz, char *reason, size_t reasonsz,
                      char *event_id, size_t evsz, chat_event_fn *fn, void *udata);
/* One Telegram Update. *ret_update_id gets its update_id (-1 when missing). Only
 * messages addressed to the bot (mention, reply to it, a private chat) are delivered. */
int telegram_parse_update(const cJSON *u, const char *bot_username, int64_t bot_id,
                          int64_t *ret_update_id, chat_event_fn *fn, void *udata);

/* ---- the module ------------------------------------------------------------------ */

struct relay;
int chat_start(struct relay *r, const struct relay_conf *conf, struct diag *d);
/* Post an alert, report or post-mortem draft (markdown) to every webhook robot
 * (DingTalk, WeCom, Lark); in order, each split to its robot's limit. */
void chat_broadcast(struct relay *r, const char *title, const char *markdown);
/* Alerts (relay/alerts.c): post text (plain words) at the top level of platform:chat_id,
 * make that message an incident's thread and, when edge and question are set, ask edge
 * to investigate there (its report lands in the thread like a chat question's). cb runs
 * once: err 0 with the incident and thread ids, or the error posting. -ENOENT when the
 * platform is not on (or cannot hold threads). */
typedef void chat_opened_fn(void *udata, int err, const char *incident, const char *thread_id);
int chat_open_thread(struct relay *r, const char *platform, const char *chat_id, const char *edge,
                     const char *text, const char *question, chat_opened_fn *cb, void *udata);
/* Post plain words into a thread; -ENOENT when the platform is not on. */
int chat_thread_say(struct relay *r, const char *platform, const char *chat_id,
                    const char *thread_id, const char *text);

/* local.c: the Unix socket `ongrid-relay ask` talks to. */
#define CHAT_SOCKET_NAME "chat.sock"

#endif
