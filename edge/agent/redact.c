/* redact.c - secrets out of tool output before it leaves the host (to a model, the relay or
 * a chat). Done in code with fixed patterns, because a model cannot be asked to forget
 * what it was shown. Over-redaction is accepted: a "[REDACTED]" in a report costs a
 * reader little, a leaked key costs much more.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/alloc.h"
#include "shared/compiler.h"
#include "shared/banned.h"

/* Secret-bearing names: a key=value, key: value or "key": "value" with one of these in the
 * key has its value redacted. */
#define SECRET_NAME                                                      \
	"(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|" \
	"access[_-]?key|private[_-]?key|credentials?|session[_-]?id|cookie)"

struct rule {
	const char *pattern;
	const char *replacement; /* PCRE2 substitution syntax */
};

static const struct rule rules[] = {
	/* PEM private key blocks, to the END line or the end of the text when cut. */
	{ "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE "
	  "KEY-----|\\z)",
	  REDACTED " (private key)" },
	/* AWS access key ids. */
	{ "\\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\\b", REDACTED },
	/* JSON Web Tokens. */
	{ "\\beyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*", REDACTED },
	/* Vendor tokens with a recognisable prefix (GitHub, Slack, OpenAI/Anthropic, GitLab,
	 * Google, ongrid's own edge keys). */
	{ "\\b(?:gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
	  "sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|og[sk]_[A-Za-z0-9_-]{8,}|glpat-[A-Za-z0-9_-]{20,}|"
	  "AIza[0-9A-Za-z_-]{35})",
	  REDACTED },
	/* Authorization header values. */
	{ "(?i)\\b(bearer|basic)(\\s+)[A-Za-z0-9._~+/=-]{8,}", "$1$2" REDACTED },
	/* Passwords in URLs and DSNs: scheme://user:password@host. */
	{ "(?i)([a-z][a-z0-9+.-]*://[^\\s:/@]*:)[^\\s@/]+@", "$1" REDACTED "@" },
	/* key=value, key: value, "key": "value", with a secret-bearing key. */
	{ "(?i)([A-Za-z0-9_.-]*" SECRET_NAME "[A-Za-z0-9_.-]*[\"']?[ \\t]*[:=][ \\t]*[\"']?)"
	  "(?!\\[REDACTED)([^\\s\"',;&}]+)",
	  "$1" REDACTED },
};

static pcre2_code *compiled[ARRAY_SIZE(rules)];
static pcre2_code *secret_name_re;

static pcre2_code *compile(const char *pattern)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err,
	                               &off, NULL);

	/* The patterns are constants: a failure is a bug found by the first unit test. */
	if (!re)
		abort();
	return re;
}

static void compile_rules(void)
{
	if (secret_name_re)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		compiled[i] = compile(rules[i].pattern);
	secret_name_re = compile("(?i)" SECRET_NAME);
}

/* One rule over s; returns the new string (or s itself when nothing matched). */
static char *apply(pcre2_code *re, const char *repl, char *s, size_t *count)
{
	size_t len = strlen(s), outlen = len * 2 + 64;
	char *out = NULL;
	int r;

	for (int tries = 0; tries < 2; tries++) {
		out = xrealloc(out, outlen);
		PCRE2_SIZE n = outlen;
		r = pcre2_substitute(re, (PCRE2_SPTR)s, len, 0,
		                     PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
		                     NULL, NULL, (PCRE2_SPTR)repl, PCRE2_ZERO_TERMINATED,
		                     (PCRE2_UCHAR *)out, &n);
		if (r == PCRE2_ERROR_NOMEMORY) {
			outlen = n + 1;
			continue;
		}
		break;
	}
	if (r <= 0) {
		/* no match, or input that is not UTF-8: an invalid string cannot be matched as
		 * text, so it is replaced whole rather than passed on unread */
		if (r < 0 && r != PCRE2_ERROR_NOMATCH) {
			free(out);
			free(s);
			(*count)++;
			return xstrdup(REDACTED " (not valid UTF-8)");
		}
		free(out);
		return s;
	}
	*count += (size_t)r;
	free(s);
	return out;
}

char *redact_text(const char *s, size_t *ret_count)
{
	size_t count = 0;
	char *cur = xstrdup(s ? s : "");

	compile_rules();
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		cur = apply(compiled[i], rules[i].replacement, cur, &count);
	if (ret_count)
		*ret_count = count;
	return cur;
}

static bool secret_name(const char *key)
{
	pcre2_match_data *md;
	int r;

	if (!key)
		return false;
	compile_rules();
	md = pcre2_match_data_create_from_pattern(secret_name_re, NULL);
	r = pcre2_match(secret_name_re, (PCRE2_SPTR)key, strlen(key), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return r > 0;
}

/* Recursion bounded by depth (64, as every JSON the edge parses). */
static size_t walk(cJSON *item, int depth) /* NOLINT(misc-no-recursion) */
{
	size_t n = 0;

	if (depth > 64)
		return 0;
	for (cJSON *c = item; c; c = c->next) {
		if (cJSON_IsString(c) && c->valuestring) {
			size_t k = 0;
			char *red;

			/* {"password": "hunter2"} has no marker in the value itself */
			if (secret_name(c->string) && *c->valuestring &&
			    strcmp(c->valuestring, REDACTED) != 0) {
				red = xstrdup(REDACTED);
				k = 1;
			} else {
				red = redact_text(c->valuestring, &k);
			}
			if (k)
				cJSON_SetValuestring(c, red);
			free(red);
			n += k;
		}
		if (c->child)
			n += walk(c->child, depth + 1); /* NOLINT(misc-no-recursion) */
		if (depth == 0)
			break; /* the top item only, not its siblings */
	}
	return n;
}

size_t redact_json(cJSON *item)
{
	return item ? walk(item, 0) : 0;
}
