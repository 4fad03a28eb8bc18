/* argv_policy.c - split a command line without a shell, and hold every stage against the
 * allowlist in argv_rules.c. See argv_policy.h for what is accepted and why. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/argv_rules.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/banned.h"

void argv_stage_push(struct argv_stage *s, const char *word)
{
	s->argv = xrealloc(s->argv, st_mul(s->argc + 2, sizeof(*s->argv)));
	s->argv[s->argc++] = xstrdup(word);
	s->argv[s->argc] = NULL;
}

void argv_stage_insert(struct argv_stage *s, size_t pos, const char *word)
{
	if (pos > s->argc)
		pos = s->argc;
	s->argv = xrealloc(s->argv, st_mul(s->argc + 2, sizeof(*s->argv)));
	memmove(s->argv + pos + 1, s->argv + pos, (s->argc - pos + 1) * sizeof(*s->argv));
	s->argv[pos] = xstrdup(word);
	s->argc++;
}

void argv_line_release(struct argv_line *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nstages; i++) {
		for (size_t j = 0; j < l->stage[i].argc; j++)
			free(l->stage[i].argv[j]);
		free(l->stage[i].argv);
	}
	memset(l, 0, sizeof(*l));
}

/* ---- splitting -------------------------------------------------------------------- */

static int refuse_meta(const char *p, struct diag *d)
{
	switch (*p) {
	case ';':
		return diag_set(d, -EPERM,
		                "';' (a command list) is not supported: run one command");
	case '&':
		if (p[1] == '&')
			return diag_set(d, -EPERM,
			                "'&&' (a command list) is not supported: run one command");
		return diag_set(d, -EPERM, "'&' (background or fd duplication) is not supported");
	case '>':
	case '<':
		return diag_set(d, -EPERM,
		                "redirection ('%c') is not supported: the output comes back as "
		                "evidence",
		                *p);
	case '`':
		return diag_set(d, -EPERM, "command substitution (`...`) is not supported");
	case '$':
		if (p[1] == '(')
			return diag_set(d, -EPERM,
			                "command substitution ($(...)) is not supported");
		if (p[1] == '{')
			return diag_set(d, -EPERM, "parameter expansion (${...}) is not supported");
		return diag_set(d, -EPERM,
		                "variable expansion ('$') is not supported: the environment is "
		                "scrubbed");
	case '*':
	case '?':
	case '[':
	case ']':
		return diag_set(d, -EPERM,
		                "unquoted glob character '%c' is not expanded: quote it if the "
		                "program itself should see it",
		                *p);
	case '{':
	case '}':
		return diag_set(d, -EPERM, "brace expansion ('%c') is not supported", *p);
	case '~':
		return diag_set(d, -EPERM,
		                "tilde expansion ('~') is not supported: write the path");
	case '#':
		return diag_set(d, -EPERM, "'#' (a comment) is not supported");
	case '(':
	case ')':
		return diag_set(d, -EPERM, "subshells and grouping ('%c') are not supported", *p);
	default:
		return 0;
	}
}

static int refuse_control(unsigned char c, struct diag *d)
{
	if (c == '\n' || c == '\r')
		return diag_set(d, -EPERM,
		                "a newline in a command is not supported: run one command");
	return diag_set(d, -EPERM, "control character 0x%02x in a command is not supported", c);
}

static bool is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

struct splitter {
	struct argv_line *l;
	struct buf word;
	bool in_word;
	bool bare_eq; /* the current word has an unquoted '=' */
	size_t nwords;
};

static int end_word(struct splitter *s, struct diag *d)
{
	struct argv_stage *st = &s->l->stage[s->l->nstages - 1];

	if (!s->in_word)
		return 0;
	if (st->argc == 0 && s->bare_eq)
		return diag_set(d, -EPERM,
		                "environment assignments (NAME=value before a command) are not "
		                "supported");
	if (++s->nwords > ONGRID_TOOL_CMD_MAX_WORDS)
		return diag_set(d, -E2BIG, "command has more than %d words",
		                ONGRID_TOOL_CMD_MAX_WORDS);
	argv_stage_push(st, buf_str(&s->word));
	buf_reset(&s->word);
	s->in_word = false;
	s->bare_eq = false;
	return 0;
}

static int add(struct splitter *s, char c)
{
	s->in_word = true;
	/* cannot overflow: the word buffer is as large as the whole command */
	return buf_addc(&s->word, c);
}

static int split(struct splitter *s, const char *cmd, struct diag *d)
{
	const char *p = cmd;
	int r = 0;

	s->l->nstages = 1;
	for (; *p && r == 0; p++) {
		unsigned char c = (unsigned char)*p;

		if (is_control(c))
			return refuse_control(c, d);
		if (c == ' ' || c == '\t') {
			r = end_word(s, d);
		} else if (c == '\'') {
			s->in_word = true;
			for (p++; *p != '\''; p++) {
				if (!*p)
					return diag_set(d, -EINVAL, "unterminated single quote");
				if (is_control((unsigned char)*p))
					return refuse_control((unsigned char)*p, d);
				r = add(s, *p);
			}
		} else if (c == '"') {
			s->in_word = true;
			for (p++; *p != '"' && r == 0; p++) {
				if (!*p)
					return diag_set(d, -EINVAL, "unterminated double quote");
				if (is_control((unsigned char)*p))
					return refuse_control((unsigned char)*p, d);
				if (*p == '$' || *p == '`')
					return refuse_meta(p, d);
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1]))
					p++;
				r = add(s, *p);
			}
			if (*p != '"')
				break;
		} else if (c == '\\') {
			if (!p[1])
				return diag_set(d, -EINVAL, "trailing backslash");
			if (is_control((unsigned char)p[1]))
				return refuse_control((unsigned char)p[1], d);
			r = add(s, *++p);
		} else if (c == '|') {
			r = end_word(s, d);
			if (r < 0)
				break;
			if (p[1] == '|')
				return diag_set(
				        d, -EPERM,
				        "'||' (a command list) is not supported: run one command");
			if (p[1] == '&')
				return diag_set(d, -EPERM, "'|&' is not supported");
			if (s->l->stage[s->l->nstages - 1].argc == 0)
				return diag_set(d, -EINVAL, "empty command before '|'");
			if (s->l->nstages >= ONGRID_TOOL_CMD_MAX_STAGES)
				return diag_set(d, -E2BIG,
				                "a pipeline may have at most %d commands",
				                ONGRID_TOOL_CMD_MAX_STAGES);
			s->l->nstages++;
		} else if (refuse_meta(p, NULL) < 0) {
			return refuse_meta(p, d);
		} else {
			if (c == '=')
				s->bare_eq = true;
			r = add(s, (char)c);
		}
	}
	if (r == 0)
		r = end_word(s, d);
	if (r < 0)
		return r;
	if (s->l->stage[s->l->nstages - 1].argc == 0)
		return diag_set(d, -EINVAL,
		                s->l->nstages > 1 ? "nothing after '|'" : "empty command");
	return 0;
}

int argv_split(const char *cmd, struct argv_line *ret, struct diag *d)
{
	struct splitter s = { .l = ret };
	size_t len = strlen(cmd);
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > ONGRID_TOOL_CMD_MAX_BYTES)
		return diag_set(d, -E2BIG, "command is %zu bytes, more than the limit of %d", len,
		                ONGRID_TOOL_CMD_MAX_BYTES);
	buf_init(&s.word, len + 1);
	r = split(&s, cmd, d);
	buf_release(&s.word);
	if (r < 0) {
		ret->nstages = ret->nstages ? ret->nstages : 1;
		argv_line_release(ret);
	}
	return r;
}

/* ---- options ---------------------------------------------------------------------- */

bool rule_is_number(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

bool rule_has(const struct rule_ctx *c, char shortc, const char *longname)
{
	for (size_t i = 0; i < c->nopts; i++) {
		if (shortc && c->opts[i].shortc == shortc)
			return true;
		if (longname && !c->opts[i].shortc && strcmp(c->opts[i].longname, longname) == 0)
			return true;
	}
	return false;
}

const char *rule_value(const struct rule_ctx *c, char shortc, const char *longname)
{
	const char *v = NULL;

	for (size_t i = 0; i < c->nopts; i++) {
		if ((shortc && c->opts[i].shortc == shortc) ||
		    (longname && !c->opts[i].shortc && strcmp(c->opts[i].longname, longname) == 0))
			v = c->opts[i].value;
	}
	return v;
}

int rule_check_files(struct rule_ctx *c, size_t first, struct diag *d)
{
	for (size_t i = first; i < c->nops; i++) {
		int r = path_check(c->rules, c->ops[i], c->rule->use, d);
		if (r < 0)
			return diag_prefix(d, "%s: ", c->rule->name);
	}
	return 0;
}

static int refuse_opt(const struct rule_ctx *c, const char *opt, size_t len, struct diag *d)
{
	const struct opt_note *n;

	for (n = c->rule->notes; n && n->opt; n++) {
		if (strlen(n->opt) == len && strncmp(n->opt, opt, len) == 0)
			return diag_set(d, -EPERM, "%s: option '%.*s' is not allowed: %s",
			                c->rule->name, (int)len, opt, n->why);
		/* --in would be --in-place to getopt_long */
		if (len > 3 && opt[1] == '-' && strncmp(n->opt, opt, len) == 0)
			return diag_set(d, -EPERM, "%s: option '%.*s' (%s) is not allowed: %s",
			                c->rule->name, (int)len, opt, n->opt, n->why);
	}
	return diag_set(d, -EPERM,
	                "%s: option '%.*s' is not in the read-only allowlist (long options must "
	                "be spelled in full)",
	                c->rule->name, (int)len, opt);
}

static int seen(struct rule_ctx *c, char shortc, const char *name, size_t len, const char *value)
{
	struct opt_seen *o;

	if (c->nopts >= sizeof(c->opts) / sizeof(c->opts[0]))
		return -E2BIG;
	o = &c->opts[c->nopts++];

	o->shortc = shortc;
	o->longname[0] = '\0';
	if (name && len < sizeof(o->longname)) {
		memcpy(o->longname, name, len);
		o->longname[len] = '\0';
	}
	o->value = value;
	return 0;
}

static int parse_long(struct rule_ctx *c, size_t *i, struct diag *d)
{
	const char *w = c->st->argv[*i];
	const char *name = w + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);

	for (const char *const *l = c->rule->longs; l && *l; l++) {
		size_t n = strcspn(*l, "=?");
		char kind = (*l)[n];

		if (n != len || strncmp(*l, name, len) != 0)
			continue;
		if (kind == '\0' && eq)
			return diag_set(d, -EPERM, "%s: option '--%.*s' takes no value",
			                c->rule->name, (int)len, name);
		if (kind == '=' && !eq) {
			if (*i + 1 >= c->st->argc)
				return diag_set(d, -EPERM, "%s: option '--%.*s' needs a value",
				                c->rule->name, (int)len, name);
			return seen(c, 0, name, len, c->st->argv[++*i]);
		}
		return seen(c, 0, name, len, eq ? eq + 1 : NULL);
	}
	return refuse_opt(c, w, eq ? (size_t)(eq - w) : strlen(w), d);
}

static int parse_short(struct rule_ctx *c, size_t *i, struct diag *d)
{
	const char *w = c->st->argv[*i];

	if (c->rule->digits && rule_is_number(w + 1))
		return seen(c, '#', NULL, 0, w + 1);
	for (size_t j = 1; w[j]; j++) {
		const char *pos = w[j] != ':' && w[j] != ';' && c->rule->shorts
		                          ? strchr(c->rule->shorts, w[j])
		                          : NULL;
		char opt[3] = { '-', w[j], '\0' };

		if (!pos)
			return refuse_opt(c, opt, 2, d);
		if (pos[1] == ':') {
			if (w[j + 1])
				return seen(c, w[j], NULL, 0, w + j + 1);
			if (*i + 1 >= c->st->argc)
				return diag_set(d, -EPERM, "%s: option '-%c' needs a value",
				                c->rule->name, w[j]);
			return seen(c, w[j], NULL, 0, c->st->argv[++*i]);
		}
		if (pos[1] == ';') {
			if (w[j + 1])
				return seen(c, w[j], NULL, 0, w + j + 1);
			if (*i + 1 < c->st->argc && rule_is_number(c->st->argv[*i + 1]))
				return seen(c, w[j], NULL, 0, c->st->argv[++*i]);
			return seen(c, w[j], NULL, 0, NULL);
		}
		if (seen(c, w[j], NULL, 0, NULL) < 0)
			return diag_set(d, -E2BIG, "%s: too many options", c->rule->name);
	}
	return 0;
}

static int parse_opts(struct rule_ctx *c, struct diag *d)
{
	bool end = false;
	int r = 0;

	for (size_t i = 1; i < c->st->argc && r == 0; i++) {
		const char *w = c->st->argv[i];

		if (!end && strcmp(w, "--") == 0) {
			end = true;
		} else if (end || w[0] != '-' || w[1] == '\0' ||
		           (c->rule->posix_order && c->nops > 0)) {
			c->ops[c->nops++] = w;
		} else if (w[1] == '-') {
			r = parse_long(c, &i, d);
		} else {
			r = parse_short(c, &i, d);
		}
	}
	if (r == -E2BIG && d && !d->code)
		return diag_set(d, r, "%s: too many options", c->rule->name);
	if (r == 0 && c->rule->max_operands >= 0 && c->nops > (size_t)c->rule->max_operands) {
		if (c->rule->max_operands == 0)
			return diag_set(d, -EPERM, "%s: takes no operands, got '%s'", c->rule->name,
			                c->ops[0]);
		return diag_set(d, -EPERM, "%s: takes at most %d operand%s", c->rule->name,
		                c->rule->max_operands, c->rule->max_operands == 1 ? "" : "s");
	}
	return r;
}

/* ---- checking --------------------------------------------------------------------- */

static const struct prog_rule *find_rule(const char *name)
{
	for (size_t i = 0; i < argv_rules_count; i++)
		if (strcmp(argv_rules[i].name, name) == 0)
			return &argv_rules[i];
	return NULL;
}

const char *const *argv_policy_programs(void)
{
	static const char *names[128];

	if (!names[0]) {
		size_t n = argv_rules_count < 127 ? argv_rules_count : 127;
		for (size_t i = 0; i < n; i++)
			names[i] = argv_rules[i].name;
	}
	return names;
}

static int check_stage(const struct path_rules *rules, struct argv_line *l, size_t si,
                       struct diag *d)
{
	struct argv_stage *st = &l->stage[si];
	const char *prog = st->argv[0];
	const struct prog_rule *rule = find_rule(prog);
	struct path_rules loose;
	struct rule_ctx *c;
	int r;

	if (strchr(prog, '/'))
		return diag_set(d, -EPERM,
		                "program '%s' is given by path: name it ('cat', not '/bin/cat'); "
		                "programs come from the fixed PATH",
		                prog);
	if (!rule)
		return diag_set(d, -EPERM, "program '%s' is not in the read-only allowlist", prog);
	c = xcalloc(1, sizeof(*c));
	c->rules = rules;
	c->st = st;
	c->rule = rule;
	c->stage_index = si;
	r = rule->raw ? 0 : parse_opts(c, d);
	/* Every word, whatever the program makes of it, must not name a secret. Read roots
	 * apply to the files a reader is given, not to its patterns. */
	loose = rules ? *rules : (struct path_rules){ 0 };
	loose.nread_roots = 0;
	for (size_t i = 1; r == 0 && i < st->argc; i++)
		r = path_check_word(&loose, st->argv[i], PATH_META, d);
	if (r < 0 && d && d->code == r && strncmp(d->msg, prog, strlen(prog)) != 0)
		diag_prefix(d, "%s: ", prog);
	if (r == 0 && rule->check)
		r = rule->check(c, d);
	else if (r == 0 && rule->use == PATH_READ)
		r = rule_check_files(c, 0, d);
	free(c);
	return r;
}

int argv_policy_check(const struct path_rules *rules, struct argv_line *l, struct diag *d)
{
	for (size_t i = 0; i < l->nstages; i++) {
		int r = check_stage(rules, l, i, d);
		if (r < 0)
			return r;
	}
	return 0;
}

int argv_policy_vet(const struct path_rules *rules, const char *cmd, struct argv_line *ret,
                    struct diag *d)
{
	int r = argv_split(cmd, ret, d);

	if (r < 0)
		return r;
	r = argv_policy_check(rules, ret, d);
	if (r < 0)
		argv_line_release(ret);
	return r;
}

static bool plain_word(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (!isalnum((unsigned char)*w) && !strchr("_./:=,+@%-", *w))
			return false;
	return true;
}

char *argv_line_format(const struct argv_line *l)
{
	struct buf b = BUF_INIT(ONGRID_TOOL_CMD_MAX_BYTES * 4 + 64);
	int r = 0;

	for (size_t i = 0; i < l->nstages; i++) {
		if (i)
			r |= buf_adds(&b, " | ");
		for (size_t j = 0; j < l->stage[i].argc; j++) {
			const char *w = l->stage[i].argv[j];

			if (j)
				r |= buf_addc(&b, ' ');
			if (plain_word(w)) {
				r |= buf_adds(&b, w);
				continue;
			}
			r |= buf_addc(&b, '\'');
			for (; *w; w++)
				r |= *w == '\'' ? buf_adds(&b, "'\\''") : buf_addc(&b, *w);
			r |= buf_addc(&b, '\'');
		}
	}
	/* the cap is four times the longest command: quoting cannot reach it */
	(void)r;
	return buf_detach(&b, NULL);
}
