/* relay_conf.c - every key of relay.conf, its type, default and meaning.
 * docs/config-relay.md is generated from this table (`ongrid-relay config --doc`). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "relay/chat/chat.h"
#include "relay/relay.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define K(name, type, def, field, doc)                                               \
	{                                                                            \
		name, type, def, offsetof(struct relay_conf, field), doc, 0, 0, NULL \
	}
#define KC(name, def, field, choices, doc)                                                     \
	{                                                                                      \
		name, CONF_STRING, def, offsetof(struct relay_conf, field), doc, 0, 0, choices \
	}

static const struct conf_key keys[] = {
	K("data_dir", CONF_STRING, "/var/lib/ongrid-relay", data_dir,
	  "Directory for the relay's SQLite database, CA and server certificate."),
	KC("log.level", "info", log_level, "err|warn|info|debug", "How much the daemon logs."),
	KC("log.format", "text", log_format, "text|journal",
	   "text: timestamped lines; journal: <N> priority prefixes that journald reads."),
	K("listen", CONF_STRING, "0.0.0.0:8443", listen,
	  "Address and port the edge server listens on (\"host:port\", \"[v6]:port\"). All "
	  "interfaces by default: edges dial in from other hosts, and TLS, the pinned "
	  "certificate and per-edge keys guard the port."),
	K("tls.insecure", CONF_BOOL, "false", tls_insecure,
	  "Serve plain ws:// without TLS. Only for tests and trusted links; the relay warns "
	  "at every start."),
	K("tls.cert", CONF_STRING, "", tls_cert,
	  "PEM server certificate (chain); empty: data_dir/server.pem, made with its own CA on "
	  "first start."),
	K("tls.key", CONF_STRING, "", tls_key,
	  "PEM private key of tls.cert; empty: data_dir/server.key."),
	K("tls.hostname", CONF_STRING, "", tls_hostname,
	  "Name in the generated certificate (CN and DNS SAN); the host name when unset."),
	{ "edges.heartbeat", CONF_DURATION, "15s", offsetof(struct relay_conf, heartbeat_ms),
	  "How often edges send a heartbeat; an edge silent for three intervals is dropped.", 1000,
	  600000, NULL },
	{ "edges.max_frame", CONF_SIZE, "1MiB", offsetof(struct relay_conf, max_frame),
	  "Largest message accepted from an edge; a larger one gets an error and counts as a "
	  "bad frame.",
	  4096, 16 << 20, NULL },
	{ "edges.max_bad_frames", CONF_INT, "3", offsetof(struct relay_conf, max_bad_frames),
	  "Malformed or oversized frames an edge may send before it is disconnected.", 0, 1000,
	  NULL },
	{ "edges.auth_timeout", CONF_DURATION, "10s", offsetof(struct relay_conf, auth_timeout_ms),
	  "Time a new connection has to authenticate before it is closed.", 1000, 300000, NULL },
	{ "edges.auth_window", CONF_DURATION, "2m", offsetof(struct relay_conf, auth_window_ms),
	  "Largest clock difference accepted in an edge's signed timestamp.", 1000, 3600000, NULL },
	{ "edges.max", CONF_INT, "10000", offsetof(struct relay_conf, max_edges),
	  "Most simultaneous edge connections (authenticated or not).", 1, 1000000, NULL },
	{ "edges.request_timeout", CONF_DURATION, "30s",
	  offsetof(struct relay_conf, request_timeout_ms),
	  "Deadline of a request that does not carry its own deadline_ms.", 100, 86400000, NULL },
	{ "edges.max_inflight", CONF_INT, "256", offsetof(struct relay_conf, max_inflight),
	  "Requests from one edge the relay works on at once; more are answered \"busy\".", 1,
	  65536, NULL },
	{ "inbox.retention", CONF_DURATION, "7d", offsetof(struct relay_conf, inbox_retention_ms),
	  "How long delivered outbox message ids (and bodies) are kept to refuse duplicates.",
	  3600000, INT64_MAX, NULL },
	{ "llm.proxy", CONF_STRING, NULL, offsetof(struct relay_conf, llm.proxy),
	  "HTTP(S) proxy for calls to LLM providers (\"http://proxy:3128\"); empty: the "
	  "https_proxy/http_proxy/NO_PROXY variables, as curl reads them.",
	  0, 0, NULL },
	{ "llm.timeout", CONF_DURATION, "120s", offsetof(struct relay_conf, llm.timeout_ms),
	  "Deadline of one attempt of one LLM call, first byte sent to last byte received.", 1000,
	  3600000, NULL },
	{ "llm.connect_timeout", CONF_DURATION, "10s",
	  offsetof(struct relay_conf, llm.connect_timeout_ms),
	  "Deadline for connecting to a provider (TCP, TLS and proxy).", 100, 600000, NULL },
	{ "llm.idle_timeout", CONF_DURATION, "60s",
	  offsetof(struct relay_conf, llm.idle_timeout_ms),
	  "A response that sends no byte for this long is abandoned and retried.", 1000, 3600000,
	  NULL },
	{ "llm.retries", CONF_INT, "2", offsetof(struct relay_conf, llm.retries),
	  "Retries of one route after 408/409/429/5xx/529 or a timeout, before the next route.", 0,
	  10, NULL },
	{ "llm.max_retry_wait", CONF_DURATION, "60s",
	  offsetof(struct relay_conf, llm.max_retry_wait_ms),
	  "A provider asking to wait longer than this (retry-after) is skipped for the next route.",
	  0, 3600000, NULL },
	{ "llm.max_tokens", CONF_INT, "4096", offsetof(struct relay_conf, llm.max_tokens),
	  "Output token limit sent when a request names none.", 1, 1000000, NULL },
	{ "llm.budget.day_usd", CONF_DOUBLE, "0", offsetof(struct relay_conf, llm.budget_day_usd),
	  "Spend cap per UTC day over all edges, in USD at the configured prices; 0: no cap.", 0, 0,
	  NULL },
	{ "llm.budget.incident_usd", CONF_DOUBLE, "0",
	  offsetof(struct relay_conf, llm.budget_incident_usd),
	  "Spend cap per investigation (incident id), in USD; 0: no cap.", 0, 0, NULL },
	{ "llm.budget.day_tokens", CONF_INT, "0",
	  offsetof(struct relay_conf, llm.budget_day_tokens),
	  "Token cap (input + output) per UTC day over all edges; 0: no cap.", 0, INT64_MAX, NULL },
	{ "llm.budget.incident_tokens", CONF_INT, "0",
	  offsetof(struct relay_conf, llm.budget_incident_tokens),
	  "Token cap (input + output) per investigation; 0: no cap.", 0, INT64_MAX, NULL },
#define CHAT(f) offsetof(struct relay_conf, f)
	/* chat.*: relay/chat/, docs/chat.md */
	{ "chat.users", CONF_STRLIST, NULL, CHAT(chat_users),
	  "Chat users and their roles: [ \"slack:U222=admin\", \"telegram:111=operator\", "
	  "\"slack:*=viewer\" ]. viewer asks questions, operator also approves safe-write "
	  "actions, admin also dangerous ones and `model use`.",
	  0, 0, NULL },
	{ "chat.default_role", CONF_STRING, "none", CHAT(chat_default_role),
	  "Role of a chat user not in chat.users; none: ignored (and audited).", 0, 0,
	  "none|viewer|operator|admin" },
	{ "chat.investigate_timeout", CONF_DURATION, "10m", CHAT(chat_investigate_timeout_ms),
	  "How long the relay waits for an edge's investigation report.", 5000, 86400000, NULL },
	{ "chat.edit_interval", CONF_DURATION, "1s", CHAT(chat_edit_interval_ms),
	  "Least time between two edits of a streamed answer (Slack and Telegram allow about "
	  "one per second).",
	  100, 60000, NULL },
	{ "chat.local", CONF_BOOL, "true", CHAT(chat_local),
	  "Serve `ongrid-relay ask` on the root-only socket data_dir/chat.sock.", 0, 0, NULL },
	{ "approvals.double_sign", CONF_BOOL, "false", CHAT(approvals_double_sign),
	  "Dangerous actions need approvals from two different chat users.", 0, 0, NULL },
	{ "chat.slack.app_token", CONF_STRING, "", CHAT(slack_app_token),
	  "Slack app-level token (xapp-…, scope connections:write) for Socket Mode; empty: "
	  "Slack off.",
	  0, 0, NULL },
	{ "chat.slack.bot_token", CONF_STRING, "", CHAT(slack_bot_token),
	  "Slack bot token (xoxb-…) for the Web API (chat:write, app_mentions:read).", 0, 0, NULL },
	{ "chat.slack.api_base", CONF_STRING, "https://slack.com/api/", CHAT(slack_api_base),
	  "Base URL of the Slack Web API (tests point it at a mock).", 0, 0, NULL },
	{ "chat.slack.proxy", CONF_STRING, "", CHAT(slack_proxy),
	  "HTTP proxy for the Web API and the Socket Mode WebSocket (\"http://proxy:3128\"); "
	  "empty: the https_proxy variables.",
	  0, 0, NULL },
	{ "chat.slack.allowed_workspaces", CONF_STRLIST, NULL, CHAT(slack_workspaces),
	  "Slack team ids served; empty: any.", 0, 0, NULL },
	{ "chat.slack.allowed_channels", CONF_STRLIST, NULL, CHAT(slack_channels),
	  "Slack channel ids served; empty: any.", 0, 0, NULL },
	{ "chat.telegram.token", CONF_STRING, "", CHAT(tg_token),
	  "Telegram bot token from @BotFather; empty: Telegram off.", 0, 0, NULL },
	{ "chat.telegram.api_base", CONF_STRING, "https://api.telegram.org", CHAT(tg_api_base),
	  "Base URL of the Bot API (a self-hosted telegram-bot-api server, or a test mock).", 0, 0,
	  NULL },
	{ "chat.telegram.proxy", CONF_STRING, "", CHAT(tg_proxy),
	  "HTTP(S) proxy for the Bot API (\"http://proxy:3128\"); empty: the https_proxy "
	  "variables.",
	  0, 0, NULL },
	{ "chat.telegram.allowed_chats", CONF_STRLIST, NULL, CHAT(tg_chats),
	  "Telegram chat ids served (groups are negative); empty: any.", 0, 0, NULL },
	{ "chat.telegram.poll_timeout", CONF_DURATION, "25s", CHAT(tg_poll_timeout_ms),
	  "Long-polling timeout of getUpdates.", 1000, 50000, NULL },
	{ "chat.dingtalk.webhook", CONF_STRING, "", CHAT(dingtalk_url),
	  "DingTalk robot webhook URL (…/robot/send?access_token=…) for alerts and reports.", 0, 0,
	  NULL },
	{ "chat.dingtalk.secret", CONF_STRING, "", CHAT(dingtalk_secret),
	  "DingTalk signing secret (SEC…); empty: unsigned.", 0, 0, NULL },
	{ "chat.wecom.webhook", CONF_STRING, "", CHAT(wecom_url),
	  "WeCom group robot webhook URL (…/webhook/send?key=…).", 0, 0, NULL },
	{ "chat.lark.webhook", CONF_STRING, "", CHAT(lark_url),
	  "Lark/Feishu custom bot webhook URL (…/bot/v2/hook/…).", 0, 0, NULL },
	{ "chat.lark.secret", CONF_STRING, "", CHAT(lark_secret),
	  "Lark/Feishu signing secret; empty: unsigned.", 0, 0, NULL },
#undef CHAT
#define HK(f) offsetof(struct relay_conf, f)
	/* http.*, install.*, alerts.*: relay/httpd.c, relay/alerts.c, docs/alerts.md */
	{ "http.listen", CONF_STRING, "", HK(http_listen),
	  "Address of the plain-HTTP listener for Alertmanager webhooks and the edge installer "
	  "(\"127.0.0.1:8444\"); empty: off. No TLS: loopback, a trusted network, or a TLS "
	  "proxy in front.",
	  0, 0, NULL },
	{ "http.max_body", CONF_SIZE, "1MiB", HK(http_max_body),
	  "Largest request body accepted on http.listen; a larger one gets 413.", 1024, 64 << 20,
	  NULL },
	{ "http.public_url", CONF_STRING, "", HK(http_public_url),
	  "Base URL edges reach http.listen at (\"http://relay.example.net:8444\"), for the "
	  "installer command `enrol` prints; empty: from the request's Host header.",
	  0, 0, NULL },
	{ "install.dir", CONF_STRING, "", HK(install_dir),
	  "Directory with ongrid-edge, install-edge.sh and the unit files, served at "
	  "/install/; empty: not served.",
	  0, 0, NULL },
	{ "alerts.token", CONF_STRING, "", HK(alerts_token),
	  "Bearer token Alertmanager sends (http_config.authorization.credentials); with "
	  "alerts.user unset too, the webhook answers 503.",
	  0, 0, NULL },
	{ "alerts.user", CONF_STRING, "", HK(alerts_user),
	  "Basic-auth user Alertmanager sends (http_config.basic_auth), with alerts.password.", 0,
	  0, NULL },
	{ "alerts.password", CONF_STRING, "", HK(alerts_password),
	  "Basic-auth password for alerts.user.", 0, 0, NULL },
	{ "alerts.channel", CONF_STRING, "", HK(alerts_channel),
	  "Where an alert's thread opens, \"platform:chat\" (\"slack:C0123\", "
	  "\"telegram:-100123\"); an alert's ongrid_channel label overrides it; empty: no "
	  "thread, the report is kept in the relay database.",
	  0, 0, NULL },
	{ "alerts.investigate", CONF_BOOL, "true", HK(alerts_investigate),
	  "A firing alert starts an investigation on the edge its instance label names.", 0, 0,
	  NULL },
	{ "alerts.max_per_request", CONF_INT, "100", HK(alerts_max_per_request),
	  "Alerts handled from one webhook; the rest are logged as dropped.", 1, 10000, NULL },
#undef HK
};

/* Shapes the key table cannot express, parsed by relay/llm/llm_conf.c. */
static const struct conf_section sections[] = {
	{ "llm.providers", "list of groups",
	  "LLM providers: ( { name; kind = anthropic|openai|openai-compatible|gemini|auto; "
	  "base_url; "
	  "api_key or api_key_env; vendor; models = ( \"id\" or { name; input_per_mtok; "
	  "output_per_mtok; } ) } ). See docs/llm.md.",
	  offsetof(struct relay_conf, llm.providers), llm_providers_parse, llm_providers_release,
	  llm_providers_json },
	{ "llm.routes", "group of lists",
	  "Per purpose, the provider/model targets in order of preference: { investigate = "
	  "[ \"anthropic/claude-sonnet-4-5\", \"openai/gpt-4o\" ]; }.",
	  offsetof(struct relay_conf, llm.routes), llm_routes_parse, llm_routes_release,
	  llm_routes_json },
};

const struct conf_table relay_conf_table = {
	.daemon = "relay",
	.default_path = "/etc/ongrid/relay.conf",
	.keys = keys,
	.nkeys = sizeof(keys) / sizeof(keys[0]),
	.sections = sections,
	.nsections = sizeof(sections) / sizeof(sections[0]),
};

int relay_conf_load(struct relay_conf *c, const char *path)
{
	struct diag d = { 0 };
	enum log_level lvl = LOG_LEVEL_INFO;
	int r;

	memset(c, 0, sizeof(*c));
	r = conf_load(&relay_conf_table, c, path, &d);
	if (r == 0 && log_level_parse(c->log_level, &lvl) < 0)
		r = diag_set(&d, -EINVAL, "log.level: expected err, warn, info or debug, got '%s'",
		             c->log_level);
	if (r == 0 && strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "journal") != 0)
		r = diag_set(&d, -EINVAL, "log.format: expected text or journal, got '%s'",
		             c->log_format);
	if (r == 0) {
		char host[256];
		int port;
		r = relay_conf_listen(c, host, sizeof(host), &port, &d);
	}
	if (r == 0)
		r = llm_conf_check(&c->llm, &d);
	if (r == 0)
		r = chat_conf_check(c, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay: %s\n", d.msg);
		relay_conf_release(c); /* callers do not release a configuration that failed */
		return 2;
	}
	log_setup(lvl, c->log_format[0] == 'j' ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT,
	          "ongrid-relay");
	return 0;
}

int relay_conf_listen(const struct relay_conf *c, char *host, size_t hostsz, int *ret_port,
                      struct diag *d)
{
	const char *s = c->listen ? c->listen : "";
	const char *colon, *h = s;
	size_t hl;
	int64_t port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return diag_set(d, -EINVAL, "listen: expected [v6addr]:port, got '%s'", s);
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return diag_set(d, -EINVAL, "listen: expected host:port, got '%s'", s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostsz)
		return diag_set(d, -EINVAL, "listen: expected host:port, got '%s'", s);
	if (str_to_i64(colon + 1, &port) < 0 || port < 1 || port > 65535)
		return diag_set(d, -EINVAL, "listen: port must be 1-65535, got '%s'", colon + 1);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*ret_port = (int)port;
	return 0;
}

void relay_conf_release(struct relay_conf *c)
{
	conf_release(&relay_conf_table, c);
}
