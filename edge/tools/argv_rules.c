/* argv_rules.c - the read-only programs the bash tool may run, each with the options it may
 * be given. An option that is not listed is refused; the notes say why for the ones people
 * reach for (sed -i, find -delete, tail -f). Adding a program means reading its manual for
 * every option that writes, executes, follows forever or reads a file named in an argument.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/argv_rules.h"
#include "shared/alloc.h"
#include "shared/str.h"
#include "shared/banned.h"

#define NOTE_FILE_LIST "reads a list of file names from a file"

/* ---- grep ------------------------------------------------------------------------- */

static const char *const grep_longs[] = {
	"extended-regexp",
	"fixed-strings",
	"basic-regexp",
	"perl-regexp",
	"ignore-case",
	"no-ignore-case",
	"word-regexp",
	"line-regexp",
	"count",
	"color?",
	"colour?",
	"files-with-matches",
	"files-without-match",
	"only-matching",
	"quiet",
	"silent",
	"no-messages",
	"byte-offset",
	"with-filename",
	"no-filename",
	"label=",
	"line-number",
	"initial-tab",
	"null",
	"null-data",
	"text",
	"binary-files=",
	"max-count=",
	"after-context=",
	"before-context=",
	"context=",
	"regexp=",
	"recursive",
	"include=",
	"exclude=",
	"exclude-dir=",
	"invert-match",
	"no-ignore-case",
	"line-buffered",
	NULL,
};
static const struct opt_note grep_notes[] = {
	{ "-f", "reads patterns from a file; give them with -e" },
	{ "--file", "reads patterns from a file; give them with -e" },
	{ "-R", "follows every symlink under the directory; use -r" },
	{ "--dereference-recursive", "follows every symlink under the directory; use -r" },
	{ "-d", "directory actions other than the default are not allowed; use -r" },
	{ "--directories", "use -r" },
	{ "-D", "device actions are not allowed" },
	{ "--devices", "device actions are not allowed" },
	{ "--exclude-from", NOTE_FILE_LIST },
	{ NULL, NULL },
};

/* Pattern rules that cannot be proven absent from a tree are excluded in grep's terms. */
static const char *const grep_tree_excludes[] = {
	"--exclude-dir=.ssh",     "--exclude-dir=.gnupg",  "--exclude-dir=.aws",
	"--exclude-dir=.kube",    "--exclude-dir=.docker", "--exclude-dir=.password-store",
	"--exclude=*.key",        "--exclude=*_key",       "--exclude=*.pem",
	"--exclude=*.p12",        "--exclude=*.pfx",       "--exclude=id_rsa",
	"--exclude=id_dsa",       "--exclude=id_ecdsa",    "--exclude=id_ed25519",
	"--exclude=.netrc",       "--exclude=.pgpass",     "--exclude=.git-credentials",
	"--exclude=.vault-token", "--exclude=.my.cnf",     "--exclude=environ",
};

static void rename_prog(struct argv_stage *st, const char *name, const char *flag)
{
	free(st->argv[0]);
	st->argv[0] = xstrdup(name);
	argv_stage_insert(st, 1, flag);
}

static int check_grep(struct rule_ctx *c, struct diag *d)
{
	bool recursive = rule_has(c, 'r', "recursive");
	size_t first = rule_has(c, 'e', "regexp") ? 0 : 1;
	int r;

	if (first == 1 && c->nops == 0)
		return diag_set(d, -EPERM, "grep: no pattern given");
	if (recursive) {
		if (c->nops <= first)
			return diag_set(d, -EPERM,
			                "grep: -r needs a directory (it would search from '/')");
		for (size_t i = first; i < c->nops; i++) {
			r = path_check_tree(c->rules, c->ops[i], d);
			if (r < 0)
				return diag_prefix(d, "grep: ");
		}
	} else {
		r = rule_check_files(c, first, d);
		if (r < 0)
			return r;
	}
	if (strcmp(c->st->argv[0], "egrep") == 0)
		rename_prog(c->st, "grep", "-E");
	else if (strcmp(c->st->argv[0], "fgrep") == 0)
		rename_prog(c->st, "grep", "-F");
	if (recursive)
		for (size_t i = 0; i < sizeof(grep_tree_excludes) / sizeof(grep_tree_excludes[0]);
		     i++)
			argv_stage_insert(c->st, 1, grep_tree_excludes[i]);
	return 0;
}

/* ---- sed -------------------------------------------------------------------------- */

static const char *const sed_longs[] = {
	"quiet",      "silent",    "regexp-extended", "separate",
	"unbuffered", "null-data", "zero-terminated", "posix",
	"debug",      "sandbox",   "expression=",     "line-length=",
	NULL,
};
static const struct opt_note sed_notes[] = {
	{ "-i", "edits files in place" },
	{ "--in-place", "edits files in place" },
	{ "-f", "reads the script from a file; give it with -e" },
	{ "--file", "reads the script from a file; give it with -e" },
	{ "--follow-symlinks", "only meaningful with -i" },
	{ NULL, NULL },
};

/* Skip a delimited part of an s or y command, or an address regex; backslash escapes the
 * next character. Returns the position after the closing delimiter, or NULL. */
static const char *sed_skip_delimited(const char *p, char delim)
{
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == delim)
			return p + 1;
	}
	return NULL;
}

static const char *sed_skip_address(const char *p)
{
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p) || *p == '~')
			p++;
	} else if (*p == '$') {
		p++;
	} else if (*p == '/' || *p == '\\') {
		char delim = '/';
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			delim = *++p;
		}
		p = sed_skip_delimited(p + 1, delim);
		while (p && (*p == 'I' || *p == 'M'))
			p++;
	}
	return p;
}

/* A reader of GNU sed scripts good enough to find the commands that write files, read
 * files or run commands (e, r, R, w, W and the s///e and s///w flags). Anything it does not
 * understand is refused; --sandbox is added as well, so sed itself refuses them too. */
static int sed_scan(const char *s, struct diag *d)
{
	const char *p = s;

	while (p && *p) {
		char cmd;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (!*p || *p == '#')
			return 0;
		p = sed_skip_address(p);
		if (p && *p == ',') {
			p++;
			if (*p == '+' || *p == '~')
				p++;
			p = sed_skip_address(p);
		}
		if (!p)
			return diag_set(d, -EPERM, "sed: cannot read the script '%s'", s);
		while (*p == ' ' || *p == '\t' || *p == '!')
			p++;
		cmd = *p++;
		switch (cmd) {
		case '{':
		case '}':
		case '=':
		case 'd':
		case 'D':
		case 'g':
		case 'G':
		case 'h':
		case 'H':
		case 'n':
		case 'N':
		case 'p':
		case 'P':
		case 'x':
		case 'z':
		case 'F':
			break;
		case 'l':
		case 'q':
		case 'Q':
		case 'L':
			while (*p == ' ' || isdigit((unsigned char)*p))
				p++;
			break;
		case 'a':
		case 'i':
		case 'c':
			return 0; /* text to the end of the expression */
		case ':':
		case 'b':
		case 't':
		case 'T':
		case 'v':
			while (*p && *p != ';' && *p != '}')
				p++;
			break;
		case 's': {
			char delim = *p;
			if (!delim || delim == '\\' || delim == '\n')
				return diag_set(d, -EPERM, "sed: cannot read the s command in '%s'",
				                s);
			p = sed_skip_delimited(p + 1, delim);
			if (p)
				p = sed_skip_delimited(p, delim);
			if (!p)
				return diag_set(d, -EPERM, "sed: unterminated s command in '%s'",
				                s);
			for (; *p && !strchr(" \t;}", *p); p++) {
				if (*p == 'e')
					return diag_set(
					        d, -EPERM,
					        "sed: the s///e flag runs commands and is not "
					        "allowed");
				if (*p == 'w' || *p == 'W')
					return diag_set(
					        d, -EPERM,
					        "sed: the s///w flag writes files and is not "
					        "allowed");
				if (!strchr("gpiImM0123456789", *p))
					return diag_set(d, -EPERM, "sed: unknown s flag '%c'", *p);
			}
			break;
		}
		case 'y': {
			char delim = *p;
			if (!delim || delim == '\\')
				return diag_set(d, -EPERM, "sed: cannot read the y command in '%s'",
				                s);
			p = sed_skip_delimited(p + 1, delim);
			if (p)
				p = sed_skip_delimited(p, delim);
			if (!p)
				return diag_set(d, -EPERM, "sed: unterminated y command in '%s'",
				                s);
			break;
		}
		case 'e':
			return diag_set(d, -EPERM,
			                "sed: the e command runs commands and is not allowed");
		case 'w':
		case 'W':
			return diag_set(d, -EPERM,
			                "sed: the %c command writes files and is not allowed", cmd);
		case 'r':
		case 'R':
			return diag_set(
			        d, -EPERM,
			        "sed: the %c command reads a file named in the script and is "
			        "not allowed",
			        cmd);
		default:
			return diag_set(d, -EPERM,
			                "sed: unknown or unsupported command '%c' in '%s'",
			                cmd ? cmd : ' ', s);
		}
	}
	return 0;
}

static int check_sed(struct rule_ctx *c, struct diag *d)
{
	size_t first = 0;
	int r = 0;

	if (rule_has(c, 'e', "expression")) {
		for (size_t i = 0; i < c->nopts && r == 0; i++)
			if (c->opts[i].shortc == 'e' ||
			    strcmp(c->opts[i].longname, "expression") == 0)
				r = sed_scan(c->opts[i].value, d);
	} else {
		if (c->nops == 0)
			return diag_set(d, -EPERM, "sed: no script given");
		r = sed_scan(c->ops[0], d);
		first = 1;
	}
	if (r == 0)
		r = rule_check_files(c, first, d);
	if (r == 0)
		argv_stage_insert(c->st, 1, "--sandbox");
	return r;
}

/* ---- awk -------------------------------------------------------------------------- */

static const struct opt_note awk_notes[] = {
	{ "-f", "reads the program from a file; give it inline" },
	{ "-W", "implementation options (exec, dump, ...) are not allowed" },
	{ "--exec", "reads the program from a file" },
	{ "--load", "loads a shared library" },
	{ "-l", "loads a shared library" },
	{ "--include", "reads source from a file" },
	{ "-i", "reads source from a file" },
	{ "--profile", "writes a file" },
	{ "--pretty-print", "writes a file" },
	{ "--dump-variables", "writes a file" },
	{ NULL, NULL },
};

static const char *const awk_banned_words[] = { "system", "getline", "ARGV", "ARGC", "PROCINFO" };

/* Keywords after which a '/' starts a regex, not a division ("return /x/", "else /x/"). */
static const char *const awk_expr_keywords[] = { "print", "printf", "return", "exit",
	                                         "else",  "do",     "case",   "in" };
/* Keywords whose parenthesised condition is followed by a statement: "if (x) /re/". */
static const char *const awk_cond_keywords[] = { "if", "while", "for", "switch" };

/* How a regex literal ends. Awks differ: gawk and mawk read a '/' inside a bracket
 * expression as part of it ("/[/]/"), an older reader ends the regex there, and a
 * backslash inside brackets may be an escape or a literal. The program is read all three
 * ways and must be clean in each, so a regex that one awk ends earlier than another cannot
 * hide code (a getline inside what one reading takes for a regex ran commands). */
enum awk_regex_reading { AWK_RE_PLAIN, AWK_RE_BRACKETS, AWK_RE_BRACKETS_LITERAL_BACKSLASH };

/* p is just after the opening '/'. Returns the position after the closing '/', or NULL. */
static const char *awk_skip_regex(const char *p, enum awk_regex_reading how)
{
	if (how == AWK_RE_PLAIN)
		return sed_skip_delimited(p, '/');
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '/')
			return p + 1;
		if (*p != '[')
			continue;
		/* a bracket expression: ']' first is literal, [:class:] [.x.] [=x=] nest */
		p++;
		if (*p == '^')
			p++;
		if (*p == ']')
			p++;
		for (; *p != ']'; p++) {
			if (!*p)
				return NULL;
			if (*p == '\\' && how == AWK_RE_BRACKETS && p[1]) {
				p++;
			} else if (*p == '[' && p[1] && strchr(":.=", p[1])) {
				char close[3] = { p[1], ']', '\0' };
				const char *e = strstr(p + 2, close);
				if (!e)
					return NULL;
				p = e + 1;
			}
		}
	}
	return NULL;
}

static bool awk_word_in(const char *s, size_t n, const char *const *list, size_t nlist)
{
	for (size_t i = 0; i < nlist; i++)
		if (n == strlen(list[i]) && strncmp(s, list[i], n) == 0)
			return true;
	return false;
}

#define AWK_MAX_PARENS 64

/* A reader of awk programs that refuses what runs commands, writes files or reads files the
 * policy has not seen: system(), getline, '|' (pipes to or from commands), '>' and '>>'
 * after print/printf (redirection), ARGV/ARGC (which change the input files) and '@'
 * (gawk's @load and indirect calls). Strings and regex literals are skipped so that
 * /a|b/ and "x > y" are fine; a '>' elsewhere is a comparison. Whether a '/' starts a
 * regex follows awk's grammar: after an operand it divides, after an operator, a keyword
 * that takes an expression or the condition of if/while/for it starts a regex. */
static int awk_scan_as(const char *prog, enum awk_regex_reading how, struct diag *d)
{
	bool operand = false; /* the last token ends an operand: '/' is division */
	bool in_print = false;
	bool cond_next = false; /* the last word was if/while/for: its '(' is a condition */
	bool cond_paren[AWK_MAX_PARENS];
	int depth = 0, parens = 0;
	const char *p = prog;

	if (strchr(prog, '@'))
		return diag_set(d, -EPERM, "awk: '@' (gawk's @load, @include) is not allowed");
	while (*p) {
		char c = *p;

		if (c == '"') {
			const char *e = sed_skip_delimited(p + 1, '"');
			if (!e)
				return diag_set(d, -EPERM,
				                "awk: unterminated string in the program");
			p = e;
			operand = true;
			cond_next = false;
			continue;
		}
		if (c == '/' && !operand) {
			const char *e = awk_skip_regex(p + 1, how);
			if (!e)
				return diag_set(d, -EPERM,
				                "awk: unterminated regex in the program");
			p = e;
			operand = true;
			cond_next = false;
			continue;
		}
		if (isalpha((unsigned char)c) || c == '_') {
			const char *s = p;
			size_t n;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			n = (size_t)(p - s);
			for (size_t i = 0;
			     i < sizeof(awk_banned_words) / sizeof(awk_banned_words[0]); i++)
				if (n == strlen(awk_banned_words[i]) &&
				    strncmp(s, awk_banned_words[i], n) == 0)
					return diag_set(d, -EPERM, "awk: '%s' is not allowed",
					                awk_banned_words[i]);
			if ((n == 5 && strncmp(s, "print", 5) == 0) ||
			    (n == 6 && strncmp(s, "printf", 6) == 0)) {
				in_print = true;
				depth = 0;
			}
			operand = !awk_word_in(s, n, awk_expr_keywords,
			                       sizeof(awk_expr_keywords) /
			                               sizeof(awk_expr_keywords[0]));
			cond_next = awk_word_in(s, n, awk_cond_keywords,
			                        sizeof(awk_cond_keywords) /
			                                sizeof(awk_cond_keywords[0]));
			if (cond_next)
				operand = false;
			continue;
		}
		if (isdigit((unsigned char)c) || c == '.') {
			while (isalnum((unsigned char)*p) || *p == '.')
				p++;
			operand = true;
			cond_next = false;
			continue;
		}
		if (c == '|') {
			if (p[1] != '|')
				return diag_set(
				        d, -EPERM,
				        "awk: '|' (a pipe to or from a command) is not allowed");
			p += 2;
			operand = false;
			cond_next = false;
			continue;
		}
		if (c == '>' && in_print && depth == 0)
			return diag_set(d, -EPERM,
			                "awk: output redirection ('>' after print) is not allowed");
		if (c == '(' || c == '[')
			depth++;
		if ((c == ')' || c == ']') && depth > 0)
			depth--;
		if (c == ';' || c == '{' || c == '}') {
			in_print = false;
			depth = 0;
		}
		if (c == ' ' || c == '\t') {
			p++;
			continue;
		}
		if ((c == '+' || c == '-') && p[1] == c) {
			p += 2; /* ++ and -- leave the operand state as it was */
			continue;
		}
		if (c == '\\') {
			p += p[1] ? 2 : 1;
			continue;
		}
		operand = c == ')' || c == ']' || c == '$';
		if (c == '(') {
			if (parens >= AWK_MAX_PARENS)
				return diag_set(d, -EPERM, "awk: parentheses nested deeper than %d",
				                AWK_MAX_PARENS);
			cond_paren[parens++] = cond_next;
		} else if (c == ')' && parens > 0 && cond_paren[--parens]) {
			operand = false; /* "if (x) /re/": a statement follows */
		}
		cond_next = false;
		p++;
	}
	return 0;
}

static int awk_scan(const char *prog, struct diag *d)
{
	int r = awk_scan_as(prog, AWK_RE_BRACKETS, d);

	if (r == 0)
		r = awk_scan_as(prog, AWK_RE_BRACKETS_LITERAL_BACKSLASH, d);
	if (r == 0)
		r = awk_scan_as(prog, AWK_RE_PLAIN, d);
	return r;
}

static int check_awk(struct rule_ctx *c, struct diag *d)
{
	int r;

	if (c->nops == 0)
		return diag_set(d, -EPERM, "awk: no program given");
	r = awk_scan(c->ops[0], d);
	for (size_t i = 1; r == 0 && i < c->nops; i++) {
		const char *op = c->ops[i], *eq = strchr(op, '=');
		bool assign = eq && eq > op && (isalpha((unsigned char)op[0]) || op[0] == '_');

		for (const char *q = op; assign && q < eq; q++)
			assign = isalnum((unsigned char)*q) || *q == '_';
		if (!assign && path_check(c->rules, op, PATH_READ, d) < 0)
			return diag_prefix(d, "awk: ");
	}
	return r;
}

/* ---- find ------------------------------------------------------------------------- */

static const char *const find_denied[] = {
	"-exec",   "-execdir", "-ok",  "-okdir",   "-delete",
	"-fprint", "-fprint0", "-fls", "-fprintf", "-files0-from",
};

static int check_find(struct rule_ctx *c, struct diag *d)
{
	size_t i = 1;
	bool in_expr = false;

	/* -H -L -P -D debugopts -Olevel come before the starting points */
	while (i < c->st->argc) {
		const char *w = c->st->argv[i];
		if (strcmp(w, "-H") == 0 || strcmp(w, "-L") == 0 || strcmp(w, "-P") == 0 ||
		    (str_startswith(w, "-O") && rule_is_number(w + 2))) {
			i++;
		} else if (strcmp(w, "-D") == 0) {
			i += 2;
		} else {
			break;
		}
	}
	for (; i < c->st->argc; i++) {
		const char *w = c->st->argv[i];

		if (!in_expr && (w[0] == '-' || strcmp(w, "(") == 0 || strcmp(w, "!") == 0 ||
		                 strcmp(w, ")") == 0 || strcmp(w, ",") == 0))
			in_expr = true;
		if (!in_expr) {
			if (path_check(c->rules, w, PATH_META, d) < 0)
				return diag_prefix(d, "find: ");
			continue;
		}
		for (size_t j = 0; j < sizeof(find_denied) / sizeof(find_denied[0]); j++)
			if (strcmp(w, find_denied[j]) == 0)
				return diag_set(
				        d, -EPERM,
				        "find: '%s' is not allowed: it runs commands, deletes or "
				        "writes files",
				        w);
	}
	return 0;
}

/* ---- ps, top ---------------------------------------------------------------------- */

/* The word after i is an option's value, not more options: true for a valued long option
 * spelled without '=' and for a letter cluster whose first valued letter ends the word
 * ("-eo", "axo"; "-opid" and "Uroot" carry their value). Letters before the first valued
 * one are options, letters after it are its value. Only letters ps really reads a value
 * for are listed: one wrongly listed would let the next word, read by ps as options,
 * pass unchecked ("ps -u root e" printed environments when a word ending in 't' was taken
 * for a 't' TTY option). */
static bool ps_value_follows(const char *w)
{
	static const char *const valued_long[] = { "--sort",   "--pid",  "--ppid",
		                                   "--format", "--user", "--group" };
	const char *letters = w[0] == '-' ? w + 1 : w;
	const char *valued = w[0] == '-' ? "oOpqstuUCGgk" : "oOpUtk";

	if (w[0] == '-' && w[1] == '-') {
		for (size_t j = 0; j < sizeof(valued_long) / sizeof(valued_long[0]); j++)
			if (strcmp(w, valued_long[j]) == 0)
				return true;
		return false;
	}
	for (const char *p = letters; *p; p++)
		if (strchr(valued, *p))
			return p[1] == '\0';
	return false;
}

static int check_ps(struct rule_ctx *c, struct diag *d)
{
	for (size_t i = 1; i < c->st->argc; i++) {
		const char *w = c->st->argv[i];
		bool value_next = ps_value_follows(w);

		if (w[0] != '-') {
			/* a BSD option word: 'e' shows every process's environment; refused
			 * anywhere in the word, even in an attached value ("Ue" is a user) */
			for (const char *p = w; *p; p++) {
				if (*p == 'e')
					return diag_set(d, -EPERM,
					                "ps: the BSD 'e' option shows processes' "
					                "environments "
					                "(secrets) and is not allowed");
				if (!isalnum((unsigned char)*p) && !strchr(",_=:.+", *p))
					return diag_set(d, -EPERM,
					                "ps: cannot read the argument '%s'", w);
			}
		}
		/* UNIX and GNU options only select and format; their values are not options */
		if (value_next)
			i++;
	}
	return 0;
}

static int check_top(struct rule_ctx *c, struct diag *d)
{
	const char *n = rule_value(c, 'n', NULL);
	int64_t iterations;

	if (!rule_has(c, 'b', NULL) || !n)
		return diag_set(d, -EPERM,
		                "top: needs -b (batch) and -n COUNT; it would run forever");
	if (str_to_i64(n, &iterations) < 0 || iterations < 1 || iterations > 10)
		return diag_set(d, -EPERM, "top: -n must be between 1 and 10, got '%s'", n);
	return 0;
}

/* ---- ip, ss, systemctl, journalctl ------------------------------------------------ */

static int check_ip(struct rule_ctx *c, struct diag *d)
{
	static const char *const flags[] = { "-s",     "-d",       "-j",    "-json",  "-br",
		                             "-brief", "-4",       "-6",    "-o",     "-oneline",
		                             "-p",     "-pretty",  "-h",    "-human", "-c",
		                             "-color", "-details", "-stats" };
	static const char *const objects[] = { "link",     "l",         "addr", "a",     "address",
		                               "route",    "r",         "ro",   "neigh", "n",
		                               "neighbor", "neighbour", "rule", "ru" };
	static const char *const verbs[] = { "show", "sh", "list", "ls", "lst", "get" };
	size_t i = 1;
	const char *obj;

	while (i < c->st->argc && c->st->argv[i][0] == '-') {
		bool ok = false;
		for (size_t j = 0; j < sizeof(flags) / sizeof(flags[0]) && !ok; j++)
			ok = strcmp(c->st->argv[i], flags[j]) == 0;
		if (!ok)
			return diag_set(d, -EPERM,
			                "ip: option '%s' is not in the read-only allowlist",
			                c->st->argv[i]);
		i++;
	}
	if (i >= c->st->argc)
		return diag_set(d, -EPERM, "ip: name an object (addr, link, route, neigh, rule)");
	obj = c->st->argv[i++];
	{
		bool ok = false;
		for (size_t j = 0; j < sizeof(objects) / sizeof(objects[0]) && !ok; j++)
			ok = strcmp(obj, objects[j]) == 0;
		if (!ok)
			return diag_set(
			        d, -EPERM,
			        "ip: object '%s' is not allowed; read-only objects: addr, link, "
			        "route, neigh, rule",
			        obj);
	}
	if (i < c->st->argc) {
		const char *verb = c->st->argv[i];
		bool ok = false;
		for (size_t j = 0; j < sizeof(verbs) / sizeof(verbs[0]) && !ok; j++)
			ok = strcmp(verb, verbs[j]) == 0;
		if (!ok || (strcmp(verb, "get") == 0 && obj[0] != 'r'))
			return diag_set(
			        d, -EPERM,
			        "ip: '%s %s' is not read-only; only 'ip %s show' (or list) is "
			        "allowed",
			        obj, verb, obj);
	}
	return 0;
}

static int check_systemctl(struct rule_ctx *c, struct diag *d)
{
	static const char *const verbs[] = { "status",
		                             "show",
		                             "list-units",
		                             "list-unit-files",
		                             "list-timers",
		                             "list-sockets",
		                             "list-dependencies",
		                             "is-active",
		                             "is-enabled",
		                             "is-failed",
		                             "cat",
		                             "list-jobs" };

	if (c->nops == 0)
		return 0; /* list-units */
	for (size_t j = 0; j < sizeof(verbs) / sizeof(verbs[0]); j++)
		if (strcmp(c->ops[0], verbs[j]) == 0)
			return 0;
	return diag_set(d, -EPERM,
	                "systemctl: '%s' is not read-only; allowed: status, show, list-units, "
	                "is-active ... (restart_service is the tool for restarts)",
	                c->ops[0]);
}

static int check_journalctl(struct rule_ctx *c, struct diag *d)
{
	for (size_t i = 0; i < c->nops; i++) {
		const char *op = c->ops[i], *eq = strchr(op, '=');
		bool field = eq && eq > op;

		for (const char *q = op; field && q < eq; q++)
			field = isupper((unsigned char)*q) || isdigit((unsigned char)*q) ||
			        *q == '_';
		if (field || strcmp(op, "+") == 0)
			continue;
		if (path_check(c->rules, op, PATH_META, d) < 0)
			return diag_prefix(d, "journalctl: ");
	}
	for (size_t i = 0; i < c->nopts; i++) {
		const char *v = c->opts[i].value;
		if (v &&
		    (c->opts[i].shortc == 'D' || strcmp(c->opts[i].longname, "directory") == 0 ||
		     strcmp(c->opts[i].longname, "file") == 0) &&
		    path_check(c->rules, v, PATH_READ, d) < 0)
			return diag_prefix(d, "journalctl: ");
	}
	return 0;
}

/* ---- small ones ------------------------------------------------------------------- */

static int check_date(struct rule_ctx *c, struct diag *d)
{
	if (c->nops == 1 && c->ops[0][0] != '+')
		return diag_set(d, -EPERM,
		                "date: '%s' would set the clock; only a +FORMAT operand is allowed",
		                c->ops[0]);
	if (rule_has(c, 'r', "reference") &&
	    path_check(c->rules, rule_value(c, 'r', "reference"), PATH_META, d) < 0)
		return diag_prefix(d, "date: ");
	return 0;
}

static int check_sysctl(struct rule_ctx *c, struct diag *d)
{
	for (size_t i = 0; i < c->nops; i++)
		if (strchr(c->ops[i], '='))
			return diag_set(d, -EPERM,
			                "sysctl: '%s' would set a value; only reads are allowed",
			                c->ops[i]);
	return 0;
}

/* vmstat 1 runs until killed: an interval needs a count, and both are small. */
static int check_sampler(struct rule_ctx *c, struct diag *d)
{
	int64_t interval, count;

	if (c->nops == 0)
		return 0;
	if (c->nops == 1)
		return diag_set(d, -EPERM,
		                "%s: an interval without a count runs until the timeout; give both "
		                "('%s 1 5')",
		                c->rule->name, c->rule->name);
	if (str_to_i64(c->ops[c->nops - 2], &interval) < 0 ||
	    str_to_i64(c->ops[c->nops - 1], &count) < 0 || interval < 1 || interval > 10 ||
	    count < 1 || count > 30)
		return diag_set(d, -EPERM, "%s: interval must be 1..10 s and count 1..30",
		                c->rule->name);
	for (size_t i = 0; i + 2 < c->nops; i++)
		if (path_check(c->rules, c->ops[i], PATH_META, d) < 0)
			return diag_prefix(d, "%s: ", c->rule->name);
	return 0;
}

static int check_lsof(struct rule_ctx *c, struct diag *d)
{
	/* -r and +r repeat forever; -D writes a device cache; -k and -m name kernel files */
	static const char minus_ok[] = "abcdgilnNOpPRstTuUwxVXEQ";
	static const char plus_ok[] = "cdDLfwME";
	/* letters whose value may follow in the same word ("-p1234", "-iTCP:80", "+c15"):
	 * the rest of the word is that value, not more options */
	static const char minus_valued[] = "cdgipsTux";
	static const char plus_valued[] = "cdDLf";

	for (size_t i = 1; i < c->st->argc; i++) {
		const char *w = c->st->argv[i];
		const char *ok = w[0] == '-' ? minus_ok : w[0] == '+' ? plus_ok : NULL;
		const char *valued = w[0] == '-' ? minus_valued : plus_valued;

		if (strcmp(w, "--") == 0)
			break;
		if (!ok || !w[1])
			continue;
		/* every letter of a cluster up to a valued one: "-nr1" repeats like "-r 1" */
		for (const char *p = w + 1; *p; p++) {
			if (!strchr(ok, *p))
				return diag_set(d, -EPERM,
				                "lsof: option '%c%c' is not in the read-only "
				                "allowlist",
				                w[0], *p);
			if (strchr(valued, *p))
				break;
		}
	}
	return 0;
}

/* ---- the table -------------------------------------------------------------------- */

static const char *const cat_longs[] = { "show-all",         "number-nonblank",
	                                 "show-ends",        "number",
	                                 "squeeze-blank",    "show-tabs",
	                                 "show-nonprinting", NULL };
static const char *const headtail_longs[] = { "bytes=",  "lines=",          "quiet", "silent",
	                                      "verbose", "zero-terminated", NULL };
static const struct opt_note tail_notes[] = {
	{ "-f", "follows the file forever" },
	{ "-F", "follows the file forever" },
	{ "--follow", "follows the file forever" },
	{ "--retry", "follows the file forever" },
	{ NULL, NULL },
};
static const char *const ls_longs[] = {
	"all",         "almost-all", "human-readable",  "sort=",       "time=",
	"color?",      "full-time",  "inode",           "recursive",   "directory",
	"reverse",     "size",       "numeric-uid-gid", "time-style=", "classify",
	"dereference", "si",         "literal",         "escape",      "quote-name",
	NULL,
};
static const char *const stat_longs[] = { "format=",     "printf=", "dereference",
	                                  "file-system", "terse",   NULL };
static const char *const df_longs[] = {
	"all",   "human-readable", "si",      "inodes", "local",       "portability", "print-type",
	"type=", "exclude-type=",  "output?", "total",  "block-size=", NULL
};
static const char *const du_longs[] = {
	"all",        "apparent-size",  "bytes",       "total",
	"max-depth=", "human-readable", "summarize",   "one-file-system",
	"si",         "threshold=",     "exclude=",    "dereference-args",
	"time",       "block-size=",    "count-links", "null",
	NULL
};
static const struct opt_note du_notes[] = {
	{ "--files0-from", NOTE_FILE_LIST },
	{ "-X", "reads patterns from a file" },
	{ "--exclude-from", "reads patterns from a file" },
	{ NULL, NULL },
};
static const char *const free_longs[] = { "bytes", "kibi", "mebi",  "gibi", "tebi",      "pebi",
	                                  "kilo",  "mega", "giga",  "tera", "peta",      "human",
	                                  "si",    "lohi", "total", "wide", "committed", NULL };
static const struct opt_note free_notes[] = {
	{ "-s", "repeats until killed" },
	{ "-c", "repeats" },
	{ "--seconds", "repeats until killed" },
	{ NULL, NULL },
};
static const char *const uptime_longs[] = { "pretty", "since", NULL };
static const char *const uname_longs[] = {
	"all",     "kernel-name", "nodename",          "kernel-release",   "kernel-version",
	"machine", "processor",   "hardware-platform", "operating-system", NULL
};
static const char *const sort_longs[] = {
	"numeric-sort",
	"reverse",
	"key=",
	"field-separator=",
	"unique",
	"human-numeric-sort",
	"general-numeric-sort",
	"ignore-case",
	"ignore-leading-blanks",
	"month-sort",
	"version-sort",
	"stable",
	"zero-terminated",
	"dictionary-order",
	"check?",
	"buffer-size=",
	NULL,
};
static const struct opt_note sort_notes[] = {
	{ "-o", "writes a file" },
	{ "--output", "writes a file" },
	{ "-T", "writes temporary files in a directory of your choice" },
	{ "--temporary-directory", "writes temporary files in a directory of your choice" },
	{ "--compress-program", "runs a program" },
	{ "--files0-from", NOTE_FILE_LIST },
	{ "--random-source", "reads a file" },
	{ NULL, NULL },
};
static const char *const uniq_longs[] = {
	"count",       "repeated",     "unique",          "ignore-case",   "skip-fields=",
	"skip-chars=", "check-chars=", "zero-terminated", "all-repeated?", NULL
};
static const char *const wc_longs[] = {
	"bytes", "chars", "lines", "words", "max-line-length", NULL
};
static const struct opt_note wc_notes[] = { { "--files0-from", NOTE_FILE_LIST }, { NULL, NULL } };
static const char *const cut_longs[] = {
	"bytes=",     "characters=",       "delimiter=",      "fields=", "only-delimited",
	"complement", "output-delimiter=", "zero-terminated", NULL
};
static const char *const tr_longs[] = { "complement", "delete", "squeeze-repeats", "truncate-set1",
	                                NULL };
static const char *const date_longs[] = { "utc",       "universal", "date=",      "rfc-email",
	                                  "iso-8601?", "rfc-3339=", "reference=", NULL };
static const struct opt_note date_notes[] = {
	{ "-s", "sets the clock" },
	{ "--set", "sets the clock" },
	{ "-f", "reads dates from a file" },
	{ "--file", "reads dates from a file" },
	{ NULL, NULL },
};
static const char *const id_longs[] = { "user", "group", "groups", "name", "real", "zero", NULL };
static const char *const hostname_longs[] = { "short",     "fqdn",       "long",
	                                      "domain",    "ip-address", "all-ip-addresses",
	                                      "all-fqdns", NULL };
static const struct opt_note hostname_notes[] = {
	{ "-F", "sets the host name from a file" },
	{ "--file", "sets the host name from a file" },
	{ "-b", "sets the host name" },
	{ "--boot", "sets the host name" },
	{ NULL, NULL },
};
static const char *const sysctl_longs[] = { "all",    "values",   "names", "binary",
	                                    "ignore", "pattern=", NULL };
static const struct opt_note sysctl_notes[] = {
	{ "-w", "writes kernel settings" },
	{ "--write", "writes kernel settings" },
	{ "-p", "loads settings from a file" },
	{ "--load", "loads settings from a file" },
	{ "-f", "loads settings from a file" },
	{ "--system", "loads settings from every system file" },
	{ NULL, NULL },
};
static const char *const mount_longs[] = { "show-labels", "types=", NULL };
static const char *const lsblk_longs[] = {
	"all",   "bytes",      "nodeps",  "discard",    "fs",       "ascii", "perms", "list",
	"raw",   "json",       "output=", "output-all", "pairs",    "paths", "scsi",  "topology",
	"tree?", "noheadings", "inverse", "include=",   "exclude=", "sort=", NULL,
};
static const char *const dmesg_longs[] = {
	"ctime",        "kernel",    "decode",  "notime",       "raw",    "show-delta",
	"reltime",      "userspace", "nopager", "human",        "level=", "facility=",
	"buffer-size=", "since=",    "until=",  "time-format=", "color?", NULL
};
static const struct opt_note dmesg_notes[] = {
	{ "-c", "clears the kernel ring buffer" },
	{ "--read-clear", "clears the kernel ring buffer" },
	{ "-C", "clears the kernel ring buffer" },
	{ "--clear", "clears the kernel ring buffer" },
	{ "-D", "disables console logging" },
	{ "--console-off", "disables console logging" },
	{ "-E", "enables console logging" },
	{ "--console-on", "enables console logging" },
	{ "-n", "sets the console log level" },
	{ "--console-level", "sets the console log level" },
	{ "-w", "follows forever" },
	{ "--follow", "follows forever" },
	{ "-W", "follows forever" },
	{ "-F", "reads a file" },
	{ "-K", "reads a file" },
	{ NULL, NULL },
};
static const char *const journalctl_longs[] = {
	"unit=",           "user-unit=",  "lines?",
	"priority=",       "since=",      "until=",
	"boot?",           "dmesg",       "output=",
	"no-pager",        "reverse",     "catalog",
	"quiet",           "identifier=", "grep=",
	"case-sensitive?", "utc",         "all",
	"output-fields=",  "list-boots",  "disk-usage",
	"no-full",         "full",        "no-hostname",
	"directory=",      "file=",       "merge",
	"facility=",       "cursor=",     "after-cursor=",
	"show-cursor",     "pager-end",   "system",
	"verify",          "header",      "fields",
	"field=",          "this-boot",   NULL,
};
static const struct opt_note journalctl_notes[] = {
	{ "-f", "follows forever" },
	{ "--follow", "follows forever" },
	{ "--vacuum-size", "deletes journal files" },
	{ "--vacuum-time", "deletes journal files" },
	{ "--vacuum-files", "deletes journal files" },
	{ "--rotate", "rotates journal files" },
	{ "--flush", "moves the journal" },
	{ "--sync", "writes the journal" },
	{ "--relinquish-var", "moves the journal" },
	{ "--smart-relinquish-var", "moves the journal" },
	{ "--setup-keys", "writes keys" },
	{ "--update-catalog", "writes the catalog" },
	{ "--cursor-file", "writes a file" },
	{ "-M", "reads another machine" },
	{ "--machine", "reads another machine" },
	{ NULL, NULL },
};
static const char *const systemctl_longs[] = {
	"no-pager", "full",    "all",   "type=",      "state=",  "property=", "value",
	"lines=",   "output=", "plain", "no-legend",  "failed",  "quiet",     "recursive",
	"reverse",  "before",  "after", "show-types", "legend=", NULL,
};
static const struct opt_note systemctl_notes[] = {
	{ "-H", "runs on another host over ssh" }, { "--host", "runs on another host over ssh" },
	{ "-M", "reaches into a container" },      { "--machine", "reaches into a container" },
	{ "--root", "operates on another root" },  { NULL, NULL },
};
static const char *const find_placeholder[] = { NULL };
static const char *const ss_longs[] = {
	"tcp",       "udp",      "unix",    "raw",    "listening", "all",     "numeric", "resolve",
	"processes", "extended", "info",    "memory", "options",   "summary", "ipv4",    "ipv6",
	"no-header", "oneline",  "sctp",    "dccp",   "tipc",      "vsock",   "xdp",     "threads",
	"cgroup",    "tos",      "family=", "query=", NULL,
};
static const struct opt_note ss_notes[] = {
	{ "-K", "kills sockets" },
	{ "--kill", "kills sockets" },
	{ "-D", "writes a file" },
	{ "--diag", "writes a file" },
	{ "-F", "reads a filter file" },
	{ "--filter", "reads a filter file" },
	{ "-E", "follows forever" },
	{ "--events", "follows forever" },
	{ "-N", "switches network namespace" },
	{ "--net", "switches network namespace" },
	{ NULL, NULL },
};
static const char *const netstat_longs[] = { "tcp",        "udp",        "listening", "all",
	                                     "numeric",    "program",    "extend",    "route",
	                                     "interfaces", "statistics", "groups",    "wide",
	                                     "timers",     "unix",       NULL };
static const struct opt_note netstat_notes[] = {
	{ "-c", "repeats until killed" },
	{ "--continuous", "repeats until killed" },
	{ NULL, NULL },
};
static const char *const pgrep_longs[] = {
	"list-name",  "list-full", "full", "exact",   "newest",     "oldest",   "count",
	"delimiter=", "euid=",     "uid=", "parent=", "terminal=",  "session=", "group=",
	"pidfile=",   "inverse",   "ns=",  "nslist=", "runstates=", NULL
};
static const char *const nproc_longs[] = { "all", "ignore=", NULL };
static const char *const lscpu_longs[] = { "all",    "online",   "offline", "json", "extended?",
	                                   "parse?", "physical", "hex",     NULL };
static const char *const none_longs[] = { NULL };

/* clang-format off */
const struct prog_rule argv_rules[] = {
	{ .name = "cat", .use = PATH_READ, .shorts = "AbeEnstTuv", .longs = cat_longs,
	  .max_operands = -1, .doc = "print files" },
	{ .name = "head", .use = PATH_READ, .shorts = "c:n:qvz", .longs = headtail_longs,
	  .digits = true, .max_operands = -1, .doc = "first lines of files" },
	{ .name = "tail", .use = PATH_READ, .shorts = "c:n:qvz", .longs = headtail_longs,
	  .digits = true, .max_operands = -1, .notes = tail_notes,
	  .doc = "last lines of files (no -f)" },
	{ .name = "grep", .use = PATH_READ, .shorts = "EFGPiywxclLoqsbHhnTZzaIrUe:m:A:B:C:v",
	  .longs = grep_longs, .max_operands = -1, .notes = grep_notes, .check = check_grep,
	  .doc = "search files (-r only in trees without denied places; no -f, -R)" },
	{ .name = "egrep", .use = PATH_READ, .shorts = "FGPiywxclLoqsbHhnTZzaIrUe:m:A:B:C:v",
	  .longs = grep_longs, .max_operands = -1, .notes = grep_notes, .check = check_grep,
	  .doc = "grep -E" },
	{ .name = "fgrep", .use = PATH_READ, .shorts = "EGPiywxclLoqsbHhnTZzaIrUe:m:A:B:C:v",
	  .longs = grep_longs, .max_operands = -1, .notes = grep_notes, .check = check_grep,
	  .doc = "grep -F" },
	{ .name = "sed", .use = PATH_READ, .shorts = "nErsuzl:e:", .longs = sed_longs,
	  .max_operands = -1, .notes = sed_notes, .check = check_sed,
	  .doc = "stream edits to stdout (no -i, no e/r/w commands; run with --sandbox)" },
	{ .name = "awk", .use = PATH_READ, .shorts = "F:v:", .longs = none_longs,
	  .posix_order = true, .max_operands = -1, .notes = awk_notes, .check = check_awk,
	  .doc = "awk programs without system(), getline, pipes or output redirection" },
	{ .name = "sort", .use = PATH_READ, .shorts = "bdfgiMhnRrVsuzck:t:S:", .longs = sort_longs,
	  .max_operands = -1, .notes = sort_notes, .doc = "sort lines (no -o, -T)" },
	{ .name = "uniq", .use = PATH_READ, .shorts = "cdDiuzf:s:w:", .longs = uniq_longs,
	  .max_operands = 1, .doc = "collapse repeated lines (one input, no output file)" },
	{ .name = "wc", .use = PATH_READ, .shorts = "clmwL", .longs = wc_longs, .max_operands = -1,
	  .notes = wc_notes, .doc = "count lines, words, bytes" },
	{ .name = "cut", .use = PATH_READ, .shorts = "b:c:d:f:snz", .longs = cut_longs,
	  .max_operands = -1, .doc = "select columns" },
	{ .name = "tr", .use = PATH_META, .shorts = "cdsCt", .longs = tr_longs, .max_operands = 2,
	  .doc = "translate characters of stdin" },
	{ .name = "ls", .use = PATH_META, .shorts = "aAlhtrSRd1iFnGgoUvXcuLZ", .longs = ls_longs,
	  .max_operands = -1, .doc = "list directories" },
	{ .name = "stat", .use = PATH_META, .shorts = "Lfc:t", .longs = stat_longs,
	  .max_operands = -1, .doc = "file metadata" },
	{ .name = "df", .use = PATH_META, .shorts = "ahHiklPTt:x:", .longs = df_longs,
	  .max_operands = -1, .doc = "file system usage" },
	{ .name = "du", .use = PATH_META, .shorts = "aAbchHkLmsSxlPd:t:", .longs = du_longs,
	  .max_operands = -1, .notes = du_notes, .doc = "disk usage of trees" },
	{ .name = "free", .use = PATH_META, .shorts = "bkmgthlwv", .longs = free_longs,
	  .max_operands = 0, .notes = free_notes, .doc = "memory usage (no -s)" },
	{ .name = "uptime", .use = PATH_META, .shorts = "ps", .longs = uptime_longs,
	  .max_operands = 0, .doc = "load averages" },
	{ .name = "uname", .use = PATH_META, .shorts = "asnrvmpio", .longs = uname_longs,
	  .max_operands = 0, .doc = "kernel and machine" },
	{ .name = "ps", .use = PATH_META, .raw = true, .check = check_ps,
	  .doc = "processes (not the BSD 'e' option: it prints environments)" },
	{ .name = "top", .use = PATH_META, .shorts = "bcHiSn:d:p:o:u:U:w:E:e:1", .longs = none_longs,
	  .max_operands = 0, .check = check_top, .doc = "top -b -n N (N <= 10)" },
	{ .name = "ss", .use = PATH_META, .shorts = "tuwxlanrpeimoOsH46SA:f:", .longs = ss_longs,
	  .max_operands = -1, .notes = ss_notes, .doc = "sockets (no -K, -D, -E)" },
	{ .name = "ip", .use = PATH_META, .raw = true, .check = check_ip,
	  .doc = "ip [-s|-d|-j|-br...] addr|link|route|neigh|rule [show|list|get ...]" },
	{ .name = "netstat", .use = PATH_META, .shorts = "tulnpaerisgWwvx46oe", .longs = netstat_longs,
	  .max_operands = 0, .notes = netstat_notes, .doc = "sockets and routes (no -c)" },
	{ .name = "lsof", .use = PATH_META, .raw = true, .check = check_lsof,
	  .doc = "open files (no -r, -D, -k, -m)" },
	{ .name = "dmesg", .use = PATH_META, .shorts = "TkxtrdeuPHLl:f:s:", .longs = dmesg_longs,
	  .max_operands = 0, .notes = dmesg_notes, .doc = "kernel ring buffer (no -c/-C/-D/-E/-n/-w)" },
	{ .name = "journalctl", .use = PATH_META, .shorts = "u:n;p:S:U:b;kro:xqt:g:amD:eNF:",
	  .longs = journalctl_longs, .max_operands = -1, .notes = journalctl_notes,
	  .check = check_journalctl, .doc = "the journal (no -f, --vacuum*, --rotate, --flush)" },
	{ .name = "systemctl", .use = PATH_META, .shorts = "lat:p:n:o:q", .longs = systemctl_longs,
	  .max_operands = -1, .notes = systemctl_notes, .check = check_systemctl,
	  .doc = "status, show, list-*, is-active, is-enabled, is-failed, cat" },
	{ .name = "find", .use = PATH_META, .raw = true, .longs = find_placeholder,
	  .check = check_find, .doc = "find (no -exec*, -ok*, -delete, -fprint*, -fls)" },
	{ .name = "date", .use = PATH_META, .shorts = "uRd:I;r:", .longs = date_longs,
	  .max_operands = 1, .notes = date_notes, .check = check_date,
	  .doc = "date [+FORMAT] (no -s)" },
	{ .name = "id", .use = PATH_META, .shorts = "ugGnrzZa", .longs = id_longs, .max_operands = 1,
	  .doc = "user and groups" },
	{ .name = "whoami", .use = PATH_META, .shorts = "", .longs = none_longs, .max_operands = 0,
	  .doc = "effective user" },
	{ .name = "hostname", .use = PATH_META, .shorts = "sfdiIAa", .longs = hostname_longs,
	  .max_operands = 0, .notes = hostname_notes, .doc = "host name (no arguments that set it)" },
	{ .name = "sysctl", .use = PATH_META, .shorts = "anNber:q", .longs = sysctl_longs,
	  .max_operands = -1, .notes = sysctl_notes, .check = check_sysctl,
	  .doc = "read kernel settings (no -w, -p, key=value)" },
	{ .name = "mount", .use = PATH_META, .shorts = "lt:", .longs = mount_longs,
	  .max_operands = 0, .doc = "list mounts (no operands)" },
	{ .name = "lsblk", .use = PATH_META, .shorts = "abdDfalmnOpPrsStTJo:I:e:x:", .longs = lsblk_longs,
	  .max_operands = -1, .doc = "block devices" },
	{ .name = "vmstat", .use = PATH_META, .shorts = "adDmsStwfnS:", .longs = none_longs,
	  .max_operands = 2, .check = check_sampler, .doc = "vmstat [INTERVAL COUNT]" },
	{ .name = "iostat", .use = PATH_META, .shorts = "cdhkmNstxyzg:H:j:o:p;", .longs = none_longs,
	  .max_operands = -1, .check = check_sampler, .doc = "iostat [INTERVAL COUNT]" },
	{ .name = "mpstat", .use = PATH_META, .shorts = "AnTuIP:o:", .longs = none_longs,
	  .max_operands = 2, .check = check_sampler, .doc = "mpstat [INTERVAL COUNT]" },
	{ .name = "pidstat", .use = PATH_META, .shorts = "dHhIlrRstUuvwC:G:p:T:", .longs = none_longs,
	  .max_operands = 2, .check = check_sampler, .doc = "pidstat [INTERVAL COUNT] (no -e)" },
	{ .name = "pgrep", .use = PATH_META, .shorts = "lafxnocvd:u:U:P:t:s:g:G:F:", .longs = pgrep_longs,
	  .max_operands = 1, .doc = "find processes by name" },
	{ .name = "nproc", .use = PATH_META, .shorts = "", .longs = nproc_longs, .max_operands = 0,
	  .doc = "processing units" },
	{ .name = "lscpu", .use = PATH_META, .shorts = "abcJpsxye;", .longs = lscpu_longs,
	  .max_operands = 0, .doc = "CPU architecture" },
	{ .name = "lsmod", .use = PATH_META, .shorts = "", .longs = none_longs, .max_operands = 0,
	  .doc = "loaded kernel modules" },
	{ .name = "w", .use = PATH_META, .shorts = "hsfio", .longs = none_longs, .max_operands = 1,
	  .doc = "who is logged in and what they run" },
	{ .name = "who", .use = PATH_META, .shorts = "abdHlmpqrsTtu", .longs = none_longs,
	  .max_operands = 0, .doc = "who is logged in" },
};
/* clang-format on */

const size_t argv_rules_count = sizeof(argv_rules) / sizeof(argv_rules[0]);
