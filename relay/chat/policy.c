/* policy.c - who may talk to the relay and who may approve what (see chat.h). Pure
 * functions over the configuration: tests/unit/test_chat_router.c.
 *
 * Roles: viewer asks and reads, operator also approves safe-write actions, admin also
 * dangerous ones and switches models. A role is looked up as "platform:user", then
 * "platform:*", then chat.default_role.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relay/chat/chat.h"
#include "shared/str.h"
#include "shared/banned.h"

static const char *const role_names[] = { "none", "viewer", "operator", "admin" };
static const char *const class_names[] = { "safe-read", "safe-write", "dangerous" };

int chat_role_parse(const char *s, enum chat_role *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(role_names); i++)
		if (!strcmp(s, role_names[i])) {
			*ret = (enum chat_role)i;
			return 0;
		}
	return -EINVAL;
}

const char *chat_role_name(enum chat_role r)
{
	return (unsigned)r < ARRAY_SIZE(role_names) ? role_names[r] : "none";
}

int chat_class_parse(const char *s, enum chat_class *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(class_names); i++)
		if (!strcmp(s, class_names[i])) {
			*ret = (enum chat_class)i;
			return 0;
		}
	return -EINVAL;
}

const char *chat_class_name(enum chat_class c)
{
	return (unsigned)c < ARRAY_SIZE(class_names) ? class_names[c] : "dangerous";
}

/* "platform:user=role" -> 0 with the parts pointing into e, or -EINVAL. */
static int user_entry(const char *e, const char **user, size_t *ulen, size_t *plen,
                      enum chat_role *role)
{
	const char *colon = strchr(e, ':'), *eq = strrchr(e, '=');

	if (!colon || !eq || eq < colon || colon == e || eq == colon + 1)
		return -EINVAL;
	if (chat_role_parse(eq + 1, role) < 0)
		return -EINVAL;
	*plen = (size_t)(colon - e);
	*user = colon + 1;
	*ulen = (size_t)(eq - colon - 1);
	return 0;
}

enum chat_role chat_user_role(const struct relay_conf *c, const char *platform, const char *user)
{
	enum chat_role wild = CHAT_ROLE_NONE, def = CHAT_ROLE_NONE;
	size_t pl = strlen(platform);
	bool have_wild = false;

	if (!user || !*user)
		return CHAT_ROLE_NONE;
	for (size_t i = 0; i < c->chat_users.n; i++) {
		const char *u;
		size_t ul, epl;
		enum chat_role role;
		if (user_entry(c->chat_users.v[i], &u, &ul, &epl, &role) < 0)
			continue;
		if (epl != pl || memcmp(c->chat_users.v[i], platform, pl) != 0)
			continue;
		if (ul == strlen(user) && !memcmp(u, user, ul))
			return role;
		if (ul == 1 && u[0] == '*') {
			wild = role;
			have_wild = true;
		}
	}
	if (have_wild)
		return wild;
	(void)chat_role_parse(c->chat_default_role, &def);
	return def;
}

static bool in_list(const struct conf_strlist *l, const char *s)
{
	if (l->n == 0)
		return true;
	for (size_t i = 0; s && i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

bool chat_allowed(const struct relay_conf *c, const char *platform, const char *workspace,
                  const char *chat)
{
	if (!strcmp(platform, "slack"))
		return in_list(&c->slack_workspaces, workspace) &&
		       in_list(&c->slack_channels, chat);
	if (!strcmp(platform, "telegram"))
		return in_list(&c->tg_chats, chat);
	return !strcmp(platform, "local");
}

enum chat_role chat_role_for_class(enum chat_class cls)
{
	switch (cls) {
	case CHAT_CLASS_SAFE_READ:
		return CHAT_ROLE_VIEWER;
	case CHAT_CLASS_SAFE_WRITE:
		return CHAT_ROLE_OPERATOR;
	default:
		return CHAT_ROLE_ADMIN;
	}
}

int chat_conf_check(const struct relay_conf *c, struct diag *d)
{
	for (size_t i = 0; i < c->chat_users.n; i++) {
		const char *u;
		size_t ul, pl;
		enum chat_role role;
		if (user_entry(c->chat_users.v[i], &u, &ul, &pl, &role) < 0)
			return diag_set(
			        d, -EINVAL,
			        "chat.users[%zu]: expected \"platform:user=role\" with role "
			        "viewer, operator, admin or none, got '%s'",
			        i, c->chat_users.v[i]);
	}
	if ((c->slack_app_token && *c->slack_app_token) !=
	    (c->slack_bot_token && *c->slack_bot_token))
		return diag_set(d, -EINVAL,
		                "chat.slack: app_token (xapp-…) and bot_token (xoxb-…) are both "
		                "needed, one is empty");
	if (c->tg_token && *c->tg_token && strchr(c->tg_token, '/'))
		return diag_set(d, -EINVAL, "chat.telegram.token: a bot token has no '/'");
	return 0;
}

enum chat_verdict chat_approval_judge(const struct chat_approval_state *st, bool double_sign,
                                      enum chat_role role, const char *user, bool approve)
{
	bool have_first = st->first_user && *st->first_user;

	if (st->decided)
		return CHAT_VERDICT_CLOSED;
	if (role < chat_role_for_class(st->cls) || role == CHAT_ROLE_NONE)
		return CHAT_VERDICT_REFUSED;
	if (!approve)
		return CHAT_VERDICT_DENIED;
	if (!double_sign || st->cls != CHAT_CLASS_DANGEROUS)
		return CHAT_VERDICT_APPROVED;
	if (!have_first)
		return CHAT_VERDICT_FIRST;
	if (!strcmp(st->first_user, user))
		return CHAT_VERDICT_SAME_USER;
	return CHAT_VERDICT_APPROVED;
}

static int word(const char **p, char *out, size_t outsz)
{
	size_t n = 0;

	while (**p == ' ')
		(*p)++;
	while (**p && **p != ' ') {
		if (n + 1 >= outsz)
			return -E2BIG;
		out[n++] = *(*p)++;
	}
	out[n] = '\0';
	return n ? 0 : -ENOENT;
}

enum chat_cmd chat_cmd_parse(const char *text, char args[2][128])
{
	char w0[32], w1[32];
	const char *p = text;

	args[0][0] = args[1][0] = '\0';
	if (word(&p, w0, sizeof(w0)) < 0)
		return CHAT_CMD_NONE;
	if (w0[0] == '/') /* Telegram's /status, /help */
		memmove(w0, w0 + 1, strlen(w0));
	if (strchr(w0, '@')) /* /status@ongrid_bot */
		*strchr(w0, '@') = '\0';
	while (*p == ' ')
		p++;
	if (!*p) {
		if (!strcasecmp(w0, "help"))
			return CHAT_CMD_HELP;
		if (!strcasecmp(w0, "status"))
			return CHAT_CMD_STATUS;
		if (!strcasecmp(w0, "incidents"))
			return CHAT_CMD_INCIDENTS;
		if (!strcasecmp(w0, "models"))
			return CHAT_CMD_MODELS;
		return CHAT_CMD_NONE;
	}
	if (!strcasecmp(w0, "approve") || !strcasecmp(w0, "deny")) {
		bool ok = word(&p, args[0], 128) == 0;
		while (*p == ' ')
			p++;
		if (ok && !*p)
			return w0[0] == 'a' || w0[0] == 'A' ? CHAT_CMD_APPROVE : CHAT_CMD_DENY;
		args[0][0] = '\0';
		return CHAT_CMD_NONE;
	}
	if (!strcasecmp(w0, "model") && word(&p, w1, sizeof(w1)) == 0) {
		if (!strcasecmp(w1, "list") && !*p)
			return CHAT_CMD_MODELS;
		if (!strcasecmp(w1, "use") && word(&p, args[0], 128) == 0 &&
		    word(&p, args[1], 128) == 0) {
			while (*p == ' ')
				p++;
			if (!*p)
				return CHAT_CMD_MODEL_USE;
		}
		if (!strcasecmp(w1, "reset") && word(&p, args[0], 128) == 0) {
			while (*p == ' ')
				p++;
			if (!*p)
				return CHAT_CMD_MODEL_RESET;
		}
		args[0][0] = args[1][0] = '\0';
	}
	return CHAT_CMD_NONE;
}
