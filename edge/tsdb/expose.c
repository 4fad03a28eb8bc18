/* expose.c - snapshot -> Prometheus text exposition (see expose.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tsdb/expose.h"
#include "shared/alloc.h"
#include "shared/banned.h"

static const char *const type_names[_METRIC_TYPE_MAX] = { "gauge", "counter", "histogram" };

int expose_value(struct buf *out, double v)
{
	char tmp[40];

	if (isnan(v))
		return buf_adds(out, "NaN");
	if (isinf(v))
		return buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	/* Shortest form that reads back as the same double: counters stay integers. */
	for (int prec = 15; prec <= 17; prec++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	return buf_adds(out, tmp);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* in_label: label values also escape '"'; HELP text escapes only '\\' and newline. */
static int add_escaped(struct buf *out, const char *s, bool in_label)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	int r = 0;

	while (n && r == 0) {
		size_t len = utf8_len(p, n);
		if (len == 0) {
			r = buf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
			len = 1;
		} else if (*p == '\\') {
			r = buf_adds(out, "\\\\");
		} else if (*p == '\n') {
			r = buf_adds(out, "\\n");
		} else if (*p == '"' && in_label) {
			r = buf_adds(out, "\\\"");
		} else {
			r = buf_add(out, p, len);
		}
		p += len;
		n -= len;
	}
	return r;
}

static int add_sample(struct buf *out, const struct snapshot_sample *x)
{
	int r = buf_adds(out, x->name);

	for (size_t i = 0; r == 0 && i < x->nlabels; i++) {
		r = buf_addc(out, i ? ',' : '{');
		if (r == 0)
			r = buf_addf(out, "%s=\"", x->labels[i].name);
		if (r == 0)
			r = add_escaped(out, x->labels[i].value, true);
		if (r == 0)
			r = buf_addc(out, '"');
	}
	if (r == 0 && x->nlabels)
		r = buf_addc(out, '}');
	if (r == 0)
		r = buf_addc(out, ' ');
	if (r == 0)
		r = expose_value(out, x->value);
	if (r == 0)
		r = buf_addc(out, '\n');
	return r;
}

int expose_snapshot(const struct snapshot *s, struct buf *out)
{
	size_t *first = NULL, nfams = 0, alloc = 0;
	int r = 0;

	/* Families in order of first appearance (by the index of their first sample);
	 * collectors often interleave them (one device at a time), and the format wants
	 * each family in one block. Two collectors declaring the same name share the block
	 * (by name, not by descriptor). */
	for (size_t i = 0; i < s->n; i++) {
		const struct metric_desc *m = s->samples[i].desc;
		size_t j;
		for (j = 0; j < nfams; j++) {
			const struct metric_desc *f = s->samples[first[j]].desc;
			if (f == m || strcmp(f->name, m->name) == 0)
				break;
		}
		if (j == nfams) {
			ALLOC_GROW(first, nfams + 1, alloc);
			first[nfams++] = i;
		}
	}
	for (size_t f = 0; r == 0 && f < nfams; f++) {
		const struct metric_desc *m = s->samples[first[f]].desc;
		r = buf_addf(out, "# HELP %s ", m->name);
		if (r == 0)
			r = add_escaped(out, m->help, false);
		if (r == 0)
			r = buf_addf(out, "\n# TYPE %s %s\n", m->name,
			             m->type < _METRIC_TYPE_MAX ? type_names[m->type] : "untyped");
		for (size_t i = first[f]; r == 0 && i < s->n; i++)
			if (s->samples[i].desc == m ||
			    strcmp(s->samples[i].desc->name, m->name) == 0)
				r = add_sample(out, &s->samples[i]);
	}
	free(first);
	return r;
}
