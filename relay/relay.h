/* relay.h - the relay's configuration and command entry points. */
#ifndef ONGRID_RELAY_H
#define ONGRID_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/llm/llm_conf.h"
#include "shared/conf.h"

/* Every field is set from relay_conf_table (relay_conf.c), the one list of keys. */
struct relay_conf {
	char *data_dir; /* SQLite: edges, keys, threads, audit, token spend */
	char *log_level;
	char *log_format;
	/* listen, tls.*, edges.*, inbox.*: the edge server (relay/relay_core.c) */
	char *listen;             /* "host:port" */
	bool tls_insecure;        /* plain ws://, only when asked for */
	char *tls_cert, *tls_key; /* empty: data_dir/server.pem, made on first start */
	char *tls_hostname;       /* CN and DNS SAN of the generated certificate */
	int64_t heartbeat_ms;
	uint64_t max_frame;
	int64_t max_bad_frames;
	int64_t auth_timeout_ms;
	int64_t auth_window_ms;
	int64_t max_edges;
	int64_t request_timeout_ms;
	int64_t max_inflight;
	int64_t inbox_retention_ms;
	struct llm_conf llm; /* llm.*: the LLM router (relay/llm/, docs/llm.md) */
	/* chat.*, approvals.*: the chat router (relay/chat/, docs/chat.md) */
	struct conf_strlist chat_users; /* "platform:user=role" */
	char *chat_default_role;
	int64_t chat_investigate_timeout_ms;
	int64_t chat_edit_interval_ms;
	bool chat_local; /* data_dir/chat.sock for `ongrid-relay ask` */
	bool approvals_double_sign;
	char *slack_app_token, *slack_bot_token, *slack_api_base, *slack_proxy;
	struct conf_strlist slack_workspaces, slack_channels;
	char *tg_token, *tg_api_base, *tg_proxy;
	struct conf_strlist tg_chats;
	int64_t tg_poll_timeout_ms;
	char *dingtalk_url, *dingtalk_secret;
	char *wecom_url;
	char *lark_url, *lark_secret;
	/* http.*, install.*, alerts.*: the HTTP listener (relay/httpd.c), the edge installer
	 * (relay/install_serve.c) and Alertmanager intake (relay/alerts.c, docs/alerts.md) */
	char *http_listen;
	uint64_t http_max_body;
	char *http_public_url;
	char *install_dir;
	char *alerts_token, *alerts_user, *alerts_password;
	char *alerts_channel; /* "platform:chat_id" */
	bool alerts_investigate;
	int64_t alerts_max_per_request;
};

extern const struct conf_table relay_conf_table;

int relay_conf_load(struct relay_conf *c, const char *path);
void relay_conf_release(struct relay_conf *c);

int cmd_config(int argc, char **argv);
int cmd_run(int argc, char **argv);        /* relay/cmd_run.c */
int cmd_keys(int argc, char **argv);       /* relay/cmd_keys.c */
int cmd_edges(int argc, char **argv);      /* relay/cmd_edges.c */
int cmd_model(int argc, char **argv);      /* relay/cmd_model.c */
int cmd_llm(int argc, char **argv);        /* relay/cmd_llm.c */
int cmd_ask(int argc, char **argv);        /* relay/cmd_ask.c */
int cmd_enrol(int argc, char **argv);      /* relay/cmd_enrol.c */
int cmd_postmortem(int argc, char **argv); /* relay/cmd_postmortem.c */

/* Split conf->listen into host and port; -EINVAL with d set when malformed. */
int relay_conf_listen(const struct relay_conf *c, char *host, size_t hostsz, int *ret_port,
                      struct diag *d);

#endif
