/* labels.c - sorted label sets and their canonical text form. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "edge/logs/labels.h"
#include "shared/alloc.h"
#include "shared/banned.h"

static size_t find(const struct log_labels *l, const char *name, bool *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid].name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

void log_labels_setn(struct log_labels *l, const char *name, const char *value, size_t vlen)
{
	bool found;
	size_t i = find(l, name, &found);

	if (found) {
		free(l->v[i].value);
		l->v[i].value = xstrndup(value, vlen);
		return;
	}
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(l->v[0]));
	l->v[i].name = xstrdup(name);
	l->v[i].value = xstrndup(value, vlen);
	l->n++;
}

void log_labels_set(struct log_labels *l, const char *name, const char *value)
{
	log_labels_setn(l, name, value, strlen(value));
}

void log_labels_del(struct log_labels *l, const char *name)
{
	bool found;
	size_t i = find(l, name, &found);

	if (!found)
		return;
	free(l->v[i].name);
	free(l->v[i].value);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
	l->n--;
}

const char *log_labels_get(const struct log_labels *l, const char *name)
{
	bool found;
	size_t i = find(l, name, &found);

	return found ? l->v[i].value : NULL;
}

void log_labels_clear(struct log_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

void log_labels_copy(struct log_labels *dst, const struct log_labels *src)
{
	log_labels_clear(dst);
	if (!src->n)
		return;
	dst->v = xcalloc(src->n, sizeof(dst->v[0]));
	dst->alloc = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i].name = xstrdup(src->v[i].name);
		dst->v[i].value = xstrdup(src->v[i].value);
	}
	dst->n = src->n;
}

int log_labels_format(const struct log_labels *l, struct buf *out)
{
	int r = buf_addc(out, '{');

	for (size_t i = 0; r == 0 && i < l->n; i++) {
		if (i)
			r = buf_addc(out, ',');
		if (r == 0)
			r = buf_addf(out, "%s=\"", l->v[i].name);
		for (const char *p = l->v[i].value; r == 0 && *p; p++) {
			if (*p == '"' || *p == '\\')
				r = buf_addc(out, '\\');
			if (r == 0)
				r = *p == '\n' ? buf_adds(out, "\\n") : buf_addc(out, *p);
		}
		if (r == 0)
			r = buf_addc(out, '"');
	}
	if (r == 0)
		r = buf_addc(out, '}');
	return r;
}

bool log_label_name_valid(const char *s, size_t n)
{
	if (n == 0 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

int log_labels_parse(const char *text, struct log_labels *l)
{
	const char *p = text;
	struct buf val = BUF_INIT(1u << 20);
	int r = -EINVAL;

	log_labels_clear(l);
	if (*p++ != '{')
		return -EINVAL;
	while (*p && *p != '}') {
		const char *name = p;
		char nbuf[128];
		size_t nlen;

		while (*p && *p != '=')
			p++;
		nlen = (size_t)(p - name);
		if (*p != '=' || p[1] != '"' || nlen >= sizeof(nbuf) ||
		    !log_label_name_valid(name, nlen))
			goto out;
		memcpy(nbuf, name, nlen);
		nbuf[nlen] = '\0';
		p += 2;
		buf_reset(&val);
		while (*p && *p != '"') {
			char c = *p++;
			if (c == '\\') {
				if (!*p)
					goto out;
				c = *p == 'n' ? '\n' : *p;
				p++;
			}
			if (buf_addc(&val, c) < 0)
				goto out;
		}
		if (*p != '"')
			goto out;
		p++;
		log_labels_setn(l, nbuf, buf_str(&val), val.len);
		if (*p == ',')
			p++;
	}
	if (*p == '}' && p[1] == '\0')
		r = 0;
out:
	buf_release(&val);
	if (r < 0)
		log_labels_clear(l);
	return r;
}
