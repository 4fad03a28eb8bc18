/* promql_lex.c - PromQL tokens: identifiers, numbers, durations, strings, operators.
 *
 * Follows Prometheus' lexer where it matters to a user: Go string escapes in "..." and
 * '...', raw `...` strings, hex and exponent numbers, Inf/NaN in any case, durations as
 * unit-suffixed integers in descending order ("1h30m", "250ms"). A NUL inside a string
 * is refused because label values are C strings here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge/tsdb/promql_ast.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/limits.h"
#include "shared/banned.h"

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* what may not directly follow a number or duration (':' may: "[5m:1m]") */
static bool is_word_char(char c)
{
	return is_ident_char(c) && c != ':';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int lex_error(const struct promql_lexer *lx, size_t pos, struct diag *d, const char *what)
{
	(void)lx;
	diag_set(d, -EINVAL, "position %zu: %s", pos + 1, what);
	return -EINVAL;
}

void promql_token_release(struct promql_token *tok)
{
	FREE_AND_NULL(tok->str);
}

/* Units in the order they must appear; ms before m so "5ms" is not "5m" + "s". */
static const struct {
	const char *unit;
	int64_t ms;
} units[] = {
	{ "y", 365LL * 86400000 },
	{ "w", 7LL * 86400000 },
	{ "d", 86400000 },
	{ "h", 3600000 },
	{ "ms", 1 },
	{ "m", 60000 },
	{ "s", 1000 },
};

/* Try to read a duration at off. Returns the bytes consumed (0 if it is not one). Units
 * must come in descending size, each at most once, as Prometheus requires. */
static size_t scan_duration(const char *s, size_t len, size_t off, int64_t *ret_ms, bool *bad)
{
	size_t i = off, last_rank = 0;
	int64_t total = 0;
	bool any = false;

	*bad = false;
	while (i < len && is_digit(s[i])) {
		size_t j = i, k, rank = 0;
		int64_t n = 0;
		bool found = false;

		while (j < len && is_digit(s[j])) {
			if (n > (INT64_MAX - 9) / 10)
				return 0; /* a long number, not a duration: strtod reads it */
			n = n * 10 + (s[j] - '0');
			j++;
		}
		/* "ms" must be checked before "m": the table order does that, but "m" ranks
		 * above "ms" in size, so ranks are by size, not table position. */
		for (k = 0; k < ARRAY_SIZE(units); k++) {
			size_t ul = strlen(units[k].unit);
			if (j + ul <= len && strncmp(s + j, units[k].unit, ul) == 0 &&
			    !(ul == 1 && units[k].unit[0] == 'm' && j + 1 < len &&
			      s[j + 1] == 's')) {
				found = true;
				break;
			}
		}
		if (!found)
			return any ? i - off : 0;
		/* size rank: y=1 w=2 d=3 h=4 m=5 s=6 ms=7 */
		switch (units[k].unit[0]) {
		case 'y':
			rank = 1;
			break;
		case 'w':
			rank = 2;
			break;
		case 'd':
			rank = 3;
			break;
		case 'h':
			rank = 4;
			break;
		case 'm':
			rank = units[k].unit[1] == 's' ? 7 : 5;
			break;
		default:
			rank = 6;
			break;
		}
		if (rank <= last_rank) {
			*bad = true;
			return 0;
		}
		last_rank = rank;
		if (n > 0 && units[k].ms > (INT64_MAX - total) / n) {
			*bad = true;
			return 0;
		}
		total += n * units[k].ms;
		any = true;
		i = j + strlen(units[k].unit);
	}
	if (!any)
		return 0;
	*ret_ms = total;
	return i - off;
}

static int lex_number(struct promql_lexer *lx, struct promql_token *tok, struct diag *d)
{
	const char *s = lx->src;
	size_t i = lx->off, start = lx->off, n;
	char tmp[128];
	char *end;
	bool bad;
	int64_t ms = 0;

	n = scan_duration(s, lx->len, i, &ms, &bad);
	if (bad)
		return lex_error(lx, start, d,
		                 "bad duration: units must be in descending order (1h30m) and "
		                 "the value must fit in 64 bits");
	if (n > 0 && (start + n >= lx->len || !is_word_char(s[start + n]))) {
		tok->type = TOK_DURATION;
		tok->dur_ms = ms;
		lx->off = start + n;
		return 0;
	}
	if (s[i] == '0' && i + 1 < lx->len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		i += 2;
		while (i < lx->len &&
		       ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		        (s[i] >= 'A' && s[i] <= 'F')))
			i++;
	} else {
		while (i < lx->len && is_digit(s[i]))
			i++;
		if (i < lx->len && s[i] == '.') {
			i++;
			while (i < lx->len && is_digit(s[i]))
				i++;
		}
		if (i < lx->len && (s[i] == 'e' || s[i] == 'E')) {
			size_t j = i + 1;
			if (j < lx->len && (s[j] == '+' || s[j] == '-'))
				j++;
			if (j < lx->len && is_digit(s[j])) {
				i = j;
				while (i < lx->len && is_digit(s[i]))
					i++;
			}
		}
	}
	if ((i < lx->len && (is_word_char(s[i]) || s[i] == '.')) || i - start >= sizeof(tmp))
		return lex_error(lx, start, d, "bad number or duration");
	memcpy(tmp, s + start, i - start);
	tmp[i - start] = '\0';
	errno = 0;
	tok->num = strtod(tmp, &end);
	if (end == tmp || *end)
		return lex_error(lx, start, d, "bad number or duration");
	tok->type = TOK_NUMBER;
	lx->off = i;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int add_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_add(b, u, n);
}

/* One escape after the backslash at s[i]; appends to b and returns the bytes consumed
 * after the backslash, or a negative errno. */
static int lex_escape(const struct promql_lexer *lx, size_t i, char quote, struct buf *b,
                      struct diag *d)
{
	const char *s = lx->src;
	char c = i < lx->len ? s[i] : '\0';
	unsigned long cp = 0;
	int n, k, r;

	switch (c) {
	case 'a':
		return buf_addc(b, '\a') < 0 ? -E2BIG : 1;
	case 'b':
		return buf_addc(b, '\b') < 0 ? -E2BIG : 1;
	case 'f':
		return buf_addc(b, '\f') < 0 ? -E2BIG : 1;
	case 'n':
		return buf_addc(b, '\n') < 0 ? -E2BIG : 1;
	case 'r':
		return buf_addc(b, '\r') < 0 ? -E2BIG : 1;
	case 't':
		return buf_addc(b, '\t') < 0 ? -E2BIG : 1;
	case 'v':
		return buf_addc(b, '\v') < 0 ? -E2BIG : 1;
	case '\\':
		return buf_addc(b, '\\') < 0 ? -E2BIG : 1;
	case 'x':
	case 'u':
	case 'U':
		n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
		for (k = 0; k < n; k++) {
			int h = i + 1 + k < lx->len ? hexval(s[i + 1 + k]) : -1;
			if (h < 0)
				return lex_error(lx, i - 1, d,
				                 "bad escape in string: expected hex digits");
			cp = cp * 16 + (unsigned long)h;
		}
		if (cp == 0)
			return lex_error(lx, i - 1, d, "string contains a NUL character");
		if (c == 'x')
			r = buf_addc(b, (char)cp);
		else if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return lex_error(lx, i - 1, d, "bad escape in string: invalid code point");
		else
			r = add_utf8(b, cp);
		return r < 0 ? r : n + 1;
	default:
		if (c == quote)
			return buf_addc(b, c) < 0 ? -E2BIG : 1;
		if (c >= '0' && c <= '7') {
			for (k = 0; k < 3; k++) {
				if (i + k >= lx->len || s[i + k] < '0' || s[i + k] > '7')
					return lex_error(
					        lx, i - 1, d,
					        "bad escape in string: expected 3 octal digits");
				cp = cp * 8 + (unsigned long)(s[i + k] - '0');
			}
			if (cp > 255)
				return lex_error(lx, i - 1, d,
				                 "bad escape in string: octal over 255");
			if (cp == 0)
				return lex_error(lx, i - 1, d, "string contains a NUL character");
			return buf_addc(b, (char)cp) < 0 ? -E2BIG : 3;
		}
		return lex_error(lx, i - 1, d, "unknown escape sequence in string");
	}
}

static int lex_string(struct promql_lexer *lx, struct promql_token *tok, struct diag *d)
{
	struct buf b = BUF_INIT(ONGRID_PROMQL_MAX_QUERY_BYTES);
	const char *s = lx->src;
	char quote = s[lx->off];
	size_t i = lx->off + 1;
	int r;

	for (;;) {
		if (i >= lx->len || (quote != '`' && s[i] == '\n')) {
			buf_release(&b);
			return lex_error(lx, lx->off, d, "unterminated string");
		}
		if (s[i] == quote)
			break;
		if (s[i] == '\\' && quote != '`') {
			r = lex_escape(lx, i + 1, quote, &b, d);
			if (r < 0) {
				buf_release(&b);
				return r;
			}
			i += 1 + (size_t)r;
			continue;
		}
		if (buf_addc(&b, s[i]) < 0) {
			buf_release(&b);
			return lex_error(lx, lx->off, d, "string too long");
		}
		i++;
	}
	tok->type = TOK_STRING;
	tok->str = buf_detach(&b, NULL);
	lx->off = i + 1;
	return 0;
}

int promql_lex_next(struct promql_lexer *lx, struct promql_token *tok, struct diag *d)
{
	const char *s = lx->src;
	char c, n;

	promql_token_release(tok);
	memset(tok, 0, sizeof(*tok));
	/* Blanks, and "# comment" to the end of the line, as Prometheus allows. */
	while (lx->off < lx->len) {
		c = s[lx->off];
		if (c == '#') {
			while (lx->off < lx->len && s[lx->off] != '\n')
				lx->off++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			lx->off++;
		} else {
			break;
		}
	}
	tok->pos = lx->off;
	if (lx->off >= lx->len) {
		tok->type = TOK_EOF;
		return 0;
	}
	c = s[lx->off];
	n = lx->off + 1 < lx->len ? s[lx->off + 1] : '\0';
	if (is_digit(c) || (c == '.' && is_digit(n))) {
		int r = lex_number(lx, tok, d);
		tok->len = lx->off - tok->pos;
		return r;
	}
	if (is_ident_start(c)) {
		size_t i = lx->off;
		while (i < lx->len && is_ident_char(s[i]))
			i++;
		tok->len = i - lx->off;
		lx->off = i;
		if (tok->len == 3 && strncasecmp(s + tok->pos, "inf", 3) == 0) {
			tok->type = TOK_NUMBER;
			tok->num = INFINITY;
		} else if (tok->len == 3 && strncasecmp(s + tok->pos, "nan", 3) == 0) {
			tok->type = TOK_NUMBER;
			tok->num = NAN;
		} else {
			tok->type = TOK_IDENT;
		}
		return 0;
	}
	if (c == '"' || c == '\'' || c == '`') {
		int r = lex_string(lx, tok, d);
		tok->len = lx->off - tok->pos;
		return r;
	}
	tok->len = 1;
	switch (c) {
	case '(':
		tok->type = TOK_LPAREN;
		break;
	case ')':
		tok->type = TOK_RPAREN;
		break;
	case '{':
		tok->type = TOK_LBRACE;
		break;
	case '}':
		tok->type = TOK_RBRACE;
		break;
	case '[':
		tok->type = TOK_LBRACKET;
		break;
	case ']':
		tok->type = TOK_RBRACKET;
		break;
	case ',':
		tok->type = TOK_COMMA;
		break;
	case '+':
		tok->type = TOK_ADD;
		break;
	case '-':
		tok->type = TOK_SUB;
		break;
	case '*':
		tok->type = TOK_MUL;
		break;
	case '/':
		tok->type = TOK_DIV;
		break;
	case '%':
		tok->type = TOK_MOD;
		break;
	case '^':
		tok->type = TOK_POW;
		break;
	case ':':
		tok->type = TOK_COLON;
		break;
	case '@':
		tok->type = TOK_AT;
		break;
	case '=':
		if (n == '=') {
			tok->type = TOK_EQLC;
			tok->len = 2;
		} else if (n == '~') {
			tok->type = TOK_RE;
			tok->len = 2;
		} else {
			tok->type = TOK_ASSIGN;
		}
		break;
	case '!':
		if (n == '=') {
			tok->type = TOK_NEQ;
		} else if (n == '~') {
			tok->type = TOK_NRE;
		} else {
			return lex_error(lx, lx->off, d,
			                 "unexpected character '!' (expected '!=' or '!~')");
		}
		tok->len = 2;
		break;
	case '<':
		tok->type = n == '=' ? TOK_LTE : TOK_LSS;
		tok->len = n == '=' ? 2 : 1;
		break;
	case '>':
		tok->type = n == '=' ? TOK_GTE : TOK_GTR;
		tok->len = n == '=' ? 2 : 1;
		break;
	default:
		if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
			diag_set(d, -EINVAL, "position %zu: unexpected character '%c'", lx->off + 1,
			         c);
		else
			diag_set(d, -EINVAL, "position %zu: unexpected byte 0x%02x", lx->off + 1,
			         (unsigned char)c);
		return -EINVAL;
	}
	lx->off += tok->len;
	return 0;
}

void promql_token_describe(const struct promql_lexer *lx, const struct promql_token *tok, char *out,
                           size_t outsz)
{
	int len = tok->len > 40 ? 40 : (int)tok->len;
	const char *more = tok->len > 40 ? "..." : "";
	const char *text = lx->src + tok->pos;

	switch (tok->type) {
	case TOK_EOF:
		snprintf(out, outsz, "end of input");
		break;
	case TOK_IDENT:
		snprintf(out, outsz, "identifier '%.*s%s'", len, text, more);
		break;
	case TOK_NUMBER:
		snprintf(out, outsz, "number '%.*s%s'", len, text, more);
		break;
	case TOK_DURATION:
		snprintf(out, outsz, "duration '%.*s%s'", len, text, more);
		break;
	case TOK_STRING:
		snprintf(out, outsz, "string %.*s%s", len, text, more);
		break;
	default:
		snprintf(out, outsz, "'%.*s'", len, text);
		break;
	}
}
