/* render.c - report JSON and plain strings into each platform's text format, escaped, and
 * split to fit a message (see chat.h). Pure functions: tests/unit/test_chat_render.c.
 *
 * Telegram counts a message's length in UTF-16 code units after entity parsing, so the
 * splitter measures visible text for HTML: tags cost nothing, an entity costs one. A cut
 * inside <b>…</b> closes the open tags at the end of the chunk and reopens them at the
 * start of the next, so each chunk parses on its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/chat/chat.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

int render_escape(struct buf *b, enum chat_format fmt, const char *s)
{
	int r = 0;

	if (!s)
		return 0;
	if (fmt == CHAT_FMT_PLAIN || fmt == CHAT_FMT_MARKDOWN)
		return buf_adds(b, s);
	for (; *s && r == 0; s++) {
		switch (*s) {
		case '&':
			r = buf_adds(b, "&amp;");
			break;
		case '<':
			r = buf_adds(b, "&lt;");
			break;
		case '>':
			r = buf_adds(b, "&gt;");
			break;
		case '"':
			r = fmt == CHAT_FMT_HTML ? buf_adds(b, "&quot;") : buf_addc(b, '"');
			break;
		default:
			r = buf_addc(b, *s);
			break;
		}
	}
	return r;
}

int render_escape_mdv2(struct buf *b, const char *s, bool code)
{
	static const char special[] = "_*[]()~`>#+-=|{}.!\\";
	int r = 0;

	for (; s && *s && r == 0; s++) {
		bool esc = code ? (*s == '`' || *s == '\\') : strchr(special, *s) != NULL;
		if (esc)
			r = buf_addc(b, '\\');
		if (r == 0)
			r = buf_addc(b, *s);
	}
	return r;
}

/* Bytes in the UTF-8 sequence starting with c (1 for stray continuation bytes). */
static size_t u8len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

size_t render_utf16_len(const char *s, size_t n)
{
	size_t units = 0;

	for (size_t i = 0; i < n;) {
		size_t l = u8len((unsigned char)s[i]);
		if (i + l > n)
			l = n - i;
		units += l == 4 ? 2 : 1;
		i += l;
	}
	return units;
}

/* ---- splitting --------------------------------------------------------------------- */

#define TAG_STACK_MAX 8

struct tagstack {
	struct {
		size_t off, len; /* the opening tag in text */
		size_t name_len; /* "b" of "<b>" */
	} v[TAG_STACK_MAX];
	size_t n;
	size_t overflow; /* tags opened past the stack; their closers are ignored */
};

static size_t token_len(const char *t, enum chat_format fmt, bool *is_tag, bool *is_entity)
{
	*is_tag = *is_entity = false;
	if (fmt == CHAT_FMT_HTML && t[0] == '<') {
		const char *e = strchr(t, '>');
		if (e && e - t < 512) {
			*is_tag = true;
			return (size_t)(e - t) + 1;
		}
	}
	if ((fmt == CHAT_FMT_HTML || fmt == CHAT_FMT_SLACK) && t[0] == '&') {
		size_t i = 1;
		while (i < 12 && t[i] && t[i] != ';' && t[i] != ' ' && t[i] != '&')
			i++;
		if (t[i] == ';') {
			*is_entity = true;
			return i + 1;
		}
	}
	return u8len((unsigned char)t[0]);
}

static void tag_apply(struct tagstack *st, const char *text, size_t off, size_t len)
{
	const char *t = text + off;
	bool closing = t[1] == '/';
	const char *name = t + (closing ? 2 : 1);
	size_t nl = strcspn(name, " >/");

	if (closing) {
		if (st->overflow) {
			st->overflow--;
			return;
		}
		if (st->n && st->v[st->n - 1].name_len == nl &&
		    !memcmp(text + st->v[st->n - 1].off + 1, name, nl))
			st->n--;
		return;
	}
	if (t[len - 2] == '/') /* <br/> */
		return;
	if (st->n == TAG_STACK_MAX) {
		st->overflow++;
		return;
	}
	st->v[st->n].off = off;
	st->v[st->n].len = len;
	st->v[st->n].name_len = nl;
	st->n++;
}

static void emit_chunk(char ***v, size_t *n, size_t *alloc, const char *text,
                       const struct tagstack *open_at_start, size_t from, size_t to,
                       const struct tagstack *open_at_end)
{
	struct buf b = BUF_INIT(SIZE_MAX / 2);
	int r = 0;

	for (size_t i = 0; open_at_start && i < open_at_start->n; i++)
		r |= buf_add(&b, text + open_at_start->v[i].off, open_at_start->v[i].len);
	r |= buf_add(&b, text + from, to - from);
	for (size_t i = open_at_end ? open_at_end->n : 0; i-- > 0;) {
		r |= buf_adds(&b, "</");
		r |= buf_add(&b, text + open_at_end->v[i].off + 1, open_at_end->v[i].name_len);
		r |= buf_addc(&b, '>');
	}
	(void)r; /* the cap is SIZE_MAX/2: appends cannot fail short of OOM, which aborts */
	ALLOC_GROW(*v, *n + 2, *alloc);
	(*v)[(*n)++] = buf_detach(&b, NULL);
	(*v)[*n] = NULL;
}

size_t render_split(const char *text, enum chat_format fmt, size_t max, char ***ret)
{
	struct tagstack st = { 0 }, st_start = { 0 }, st_nl = { 0 }, st_sp = { 0 };
	size_t len = strlen(text), start = 0, units = 0, nl = 0, sp = 0, alloc = 0, n = 0;
	char **v = NULL;

	if (max < 1)
		max = 1;
	for (size_t i = start; i < len;) {
		bool tag, ent;
		size_t tl = token_len(text + i, fmt, &tag, &ent);
		size_t cost = tag ? 0 : (tl == 4 && !ent ? 2 : 1);

		if (i + tl > len)
			tl = len - i;
		if (cost && units + cost > max && i > start) {
			/* The best cut: this line end, the last one, the last blank, here. */
			bool here = text[i] == '\n';
			size_t cut = here ? i : nl > start ? nl : sp > start ? sp : i;
			const struct tagstack *at = here         ? &st
			                            : nl > start ? &st_nl
			                            : sp > start ? &st_sp
			                                         : &st;
			struct tagstack keep = *at;
			emit_chunk(&v, &n, &alloc, text, &st_start, start, cut, at);
			/* A cut at a line end or blank drops that one character. */
			start = cut <= i && (text[cut] == '\n' || text[cut] == ' ') ? cut + 1 : cut;
			st_start = keep;
			st = keep;
			nl = sp = 0;
			units = 0;
			i = start;
			continue;
		}
		if (tag)
			tag_apply(&st, text, i, tl);
		if (text[i] == '\n') {
			nl = i;
			st_nl = st;
		} else if (text[i] == ' ') {
			sp = i;
			st_sp = st;
		}
		units += cost;
		i += tl;
	}
	if (start < len || n == 0)
		emit_chunk(&v, &n, &alloc, text, &st_start, start, len, NULL);
	*ret = v;
	return n;
}

void render_chunks_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- the report ---------------------------------------------------------------------- */

static int bold(struct buf *b, enum chat_format fmt, const char *s)
{
	int r;

	switch (fmt) {
	case CHAT_FMT_SLACK:
		r = buf_addc(b, '*');
		r |= render_escape(b, fmt, s);
		return r | buf_addc(b, '*');
	case CHAT_FMT_HTML:
		r = buf_adds(b, "<b>");
		r |= render_escape(b, fmt, s);
		return r | buf_adds(b, "</b>");
	case CHAT_FMT_MARKDOWN:
		r = buf_adds(b, "**");
		r |= render_escape(b, fmt, s);
		return r | buf_adds(b, "**");
	default:
		return render_escape(b, fmt, s);
	}
}

static int code(struct buf *b, enum chat_format fmt, const char *s)
{
	int r;

	switch (fmt) {
	case CHAT_FMT_SLACK:
	case CHAT_FMT_MARKDOWN: {
		/* A backquote would end the span early: show it as a quote. */
		r = buf_addc(b, '`');
		for (const char *p = s; *p && r == 0; p++) {
			char one[2] = { *p == '`' ? '\'' : *p, 0 };
			r = render_escape(b, fmt, one);
		}
		return r | buf_addc(b, '`');
	}
	case CHAT_FMT_HTML:
		r = buf_adds(b, "<code>");
		r |= render_escape(b, fmt, s);
		return r | buf_adds(b, "</code>");
	default:
		return buf_adds(b, s);
	}
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static const char *bullet(enum chat_format fmt)
{
	return fmt == CHAT_FMT_MARKDOWN ? "- " : "• ";
}

/* Args as compact JSON, at most 300 bytes: it is for a human to read. */
static int args_text(struct buf *b, enum chat_format fmt, const cJSON *args)
{
	char *s = args ? json_print(args, false) : NULL;
	int r = 0;

	if (s) {
		if (strlen(s) > 300)
			memcpy(s + 297, "...", 4);
		r = code(b, fmt, s);
		free(s);
	}
	return r;
}

int render_action(struct buf *b, enum chat_format fmt, const cJSON *a, const char *id,
                  const char *host)
{
	const char *tool = jstr(a, "tool"), *cls = jstr(a, "class"), *why = jstr(a, "rationale");
	int r;

	r = bold(b, fmt, "Proposed action");
	r |= buf_adds(b, " ");
	r |= code(b, fmt, tool ? tool : "?");
	r |= buf_adds(b, " ");
	r |= args_text(b, fmt, cJSON_GetObjectItemCaseSensitive(a, "args"));
	r |= buf_adds(b, " on ");
	r |= render_escape(b, fmt, host ? host : "?");
	r |= buf_addf(b, " (%s", cls ? cls : "dangerous");
	if (id) {
		r |= buf_adds(b, ", id ");
		r |= render_escape(b, fmt, id);
	}
	r |= buf_adds(b, ")");
	if (why) {
		r |= buf_adds(b, "\n");
		r |= render_escape(b, fmt, why);
	}
	return r ? -E2BIG : 0;
}

int render_report(struct buf *b, enum chat_format fmt, const cJSON *rep)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause");
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(rep, "evidence");
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(rep, "actions");
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(rep, "tokens");
	const char *s;
	const cJSON *it;
	int r = 0;

	if (fmt == CHAT_FMT_MARKDOWN) {
		r |= buf_adds(b, "### ");
		r |= render_escape(b, fmt,
		                   jstr(rep, "question") ? jstr(rep, "question") : "Report");
		r |= buf_adds(b, "\n");
	}
	if ((s = jstr(rep, "summary"))) {
		r |= bold(b, fmt, "Summary");
		r |= buf_adds(b, ": ");
		r |= render_escape(b, fmt, s);
		r |= buf_adds(b, "\n");
	}
	if (cJSON_IsObject(rc)) {
		const char *cat = jstr(rc, "category"), *comp = jstr(rc, "component");
		double conf = jnum(rc, "confidence", -1);
		r |= bold(b, fmt, "Root cause");
		r |= buf_adds(b, " (");
		r |= render_escape(b, fmt, cat ? cat : "unknown");
		if (conf >= 0 && conf <= 1)
			r |= buf_addf(b, ", confidence %d%%", (int)(conf * 100 + 0.5));
		r |= buf_adds(b, "): ");
		r |= render_escape(b, fmt, jstr(rc, "statement") ? jstr(rc, "statement") : "?");
		if (comp) {
			r |= buf_adds(b, " ");
			r |= code(b, fmt, comp);
		}
		r |= buf_adds(b, "\n");
	}
	if (cJSON_GetArraySize(ev) > 0) {
		r |= bold(b, fmt, "Evidence");
		r |= buf_adds(b, "\n");
		cJSON_ArrayForEach(it, ev) {
			const char *tool = jstr(it, "tool"), *agent = jstr(it, "agent");
			r |= buf_adds(b, bullet(fmt));
			if (tool) {
				r |= code(b, fmt, tool);
				r |= buf_adds(b, " ");
			}
			if (agent) {
				r |= buf_adds(b, "(");
				r |= render_escape(b, fmt, agent);
				r |= buf_adds(b, ") ");
			}
			r |= render_escape(b, fmt, jstr(it, "finding") ? jstr(it, "finding") : "");
			r |= buf_adds(b, "\n");
		}
	}
	if (cJSON_GetArraySize(acts) > 0) {
		r |= bold(b, fmt, "Actions");
		r |= buf_adds(b, "\n");
		cJSON_ArrayForEach(it, acts) {
			const char *st = jstr(it, "status"), *why = jstr(it, "rationale");
			r |= buf_adds(b, bullet(fmt));
			r |= code(b, fmt, jstr(it, "tool") ? jstr(it, "tool") : "?");
			r |= buf_adds(b, " ");
			r |= args_text(b, fmt, cJSON_GetObjectItemCaseSensitive(it, "args"));
			if (jstr(it, "host")) {
				/* proposed on the host the walk found the cause on */
				r |= buf_adds(b, " on ");
				r |= render_escape(b, fmt, jstr(it, "host"));
			}
			r |= buf_adds(b, " ");
			r |= render_escape(b, fmt, jstr(it, "class") ? jstr(it, "class") : "");
			r |= buf_adds(b, ", ");
			r |= render_escape(b, fmt, st ? st : "proposed");
			if (why) {
				r |= buf_adds(b, ": ");
				r |= render_escape(b, fmt, why);
			}
			r |= buf_adds(b, "\n");
		}
	}
	{
		char foot[256];
		const char *planner = jstr(rep, "planner"), *host = jstr(rep, "host");
		snprintf(foot, sizeof(foot), "%s%s%s, %.1f s, %lld+%lld tokens", host ? host : "",
		         host ? " · " : "", planner ? planner : "?",
		         jnum(rep, "duration_ms", 0) / 1000.0, (long long)jnum(tok, "input", 0),
		         (long long)jnum(tok, "output", 0));
		r |= render_escape(b, fmt, foot);
	}
	return r ? -E2BIG : 0;
}

/* ---- inbound text -------------------------------------------------------------------- */

void render_strip_mention(char *text, const char *bot)
{
	size_t bl = bot ? strlen(bot) : 0;
	char *p, *w;

	if (bl) {
		while ((p = strcasestr(text, bot)) != NULL)
			memmove(p, p + bl, strlen(p + bl) + 1);
	}
	/* Leading blanks and the ":" or "," people put after a mention. */
	p = text;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ':' || *p == ',')
		p++;
	memmove(text, p, strlen(p) + 1);
	w = text + strlen(text);
	while (w > text && (w[-1] == ' ' || w[-1] == '\t' || w[-1] == '\n'))
		*--w = '\0';
}

void render_slack_unescape(char *text)
{
	char *r = text, *w = text;

	while (*r) {
		if (*r == '<') {
			char *e = strchr(r, '>');
			if (e) {
				char *bar = memchr(r, '|', (size_t)(e - r));
				if (r[1] == '@') { /* a user mention stays as written */
					memmove(w, r, (size_t)(e - r) + 1);
					w += e - r + 1;
				} else if (r[1] == '#' && bar) { /* <#C123|ops> -> #ops */
					*w++ = '#';
					memmove(w, bar + 1, (size_t)(e - bar - 1));
					w += e - bar - 1;
				} else { /* <url|label> and <url>: the URL */
					char *end = bar ? bar : e;
					memmove(w, r + 1, (size_t)(end - r - 1));
					w += end - r - 1;
				}
				r = e + 1;
				continue;
			}
		}
		if (*r == '&') {
			if (str_startswith(r, "&amp;")) {
				*w++ = '&';
				r += 5;
				continue;
			}
			if (str_startswith(r, "&lt;")) {
				*w++ = '<';
				r += 4;
				continue;
			}
			if (str_startswith(r, "&gt;")) {
				*w++ = '>';
				r += 4;
				continue;
			}
		}
		*w++ = *r++;
	}
	*w = '\0';
}
