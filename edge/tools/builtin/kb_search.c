/* kb_search.c - the kb_search tool and its ranking (kb.h): runbooks in kb.dir, best match
 * first, with the line that matched most of the query, so the next step can be to read
 * the runbook or follow it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/builtin/kb.h"
#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/banned.h"

size_t kb_tokens(const char *text, void (*fn)(const char *tok, size_t len, void *udata),
                 void *udata)
{
	char tok[65];
	size_t n = 0, count = 0;

	for (const char *p = text;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c && (isalnum(c) || c == '_' || c == '-' || c >= 0x80)) {
			if (n < 64)
				tok[n++] = (char)tolower(c);
			continue;
		}
		while (n > 0 && tok[n - 1] == '-')
			n--;
		if (n >= 2) {
			tok[n] = '\0';
			fn(tok, n, udata);
			count++;
		}
		n = 0;
		if (!c)
			break;
	}
	return count;
}

struct terms {
	char t[KB_MAX_TERMS][65];
	size_t n;
};

static void add_term(const char *tok, size_t len, void *udata)
{
	struct terms *q = udata;

	(void)len;
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->t[i], tok) == 0)
			return;
	if (q->n < KB_MAX_TERMS)
		snprintf(q->t[q->n++], sizeof(q->t[0]), "%s", tok);
}

struct doc {
	char *path, *title, *snippet;
	int line;
	size_t len; /* tokens */
	unsigned tf[KB_MAX_TERMS], title_tf[KB_MAX_TERMS];
	double score;
};

struct count_ctx {
	const struct terms *q;
	unsigned *tf;
	size_t len;
};

static void count_tok(const char *tok, size_t len, void *udata)
{
	struct count_ctx *c = udata;

	(void)len;
	c->len++;
	for (size_t i = 0; i < c->q->n; i++)
		if (strcmp(c->q->t[i], tok) == 0)
			c->tf[i]++;
}

static void read_doc(const char *path, const char *name, const struct terms *q, struct doc *d)
{
	char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	memset(d, 0, sizeof(*d));
	d->path = xstrdup(path);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		d->title = xstrdup(name);
		return;
	}
	size_t max = st.st_size < KB_MAX_FILE_BYTES ? (size_t)st.st_size : KB_MAX_FILE_BYTES;
	text = xmalloc(max + 1);
	ssize_t n = read(fd, text, max);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	/* title: the first "# " heading, else the file name */
	const char *h = strncmp(text, "# ", 2) == 0 ? text : strstr(text, "\n# ");
	if (h) {
		h += h[0] == '\n' ? 3 : 2;
		d->title = xstrndup(h, strcspn(h, "\n"));
	} else {
		d->title = xstrdup(name);
	}
	struct count_ctx c = { q, d->tf, 0 };
	kb_tokens(text, count_tok, &c);
	d->len = c.len;
	struct count_ctx tc = { q, d->title_tf, 0 };
	kb_tokens(d->title, count_tok, &tc);
	/* the best line: most distinct query terms (headings only when no body line matches) */
	int best = 0, lineno = 0;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		unsigned tf[KB_MAX_TERMS] = { 0 };
		struct count_ctx lc = { q, tf, 0 };
		kb_tokens(line, count_tok, &lc);
		int distinct = 0;
		for (size_t i = 0; i < q->n; i++)
			distinct += tf[i] > 0;
		/* the title is shown already: any matching body line is better */
		if (line[0] != '#')
			distinct *= 100;
		if (distinct > best) {
			best = distinct;
			free(d->snippet);
			d->snippet = xstrndup(line, 300);
			d->line = lineno;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
}

struct docs {
	struct doc *v;
	size_t n;
	int truncated;
};

/* NOLINTNEXTLINE(misc-no-recursion): depth is capped at KB_MAX_DEPTH */
static void walk(const char *dir, int depth, const struct terms *q, struct docs *ds)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[4096];
		if (e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		if (e->d_type == DT_DIR) {
			if (depth < KB_MAX_DEPTH)
				walk(path, depth + 1, q, ds);
			continue;
		}
		if (e->d_type != DT_REG)
			continue;
		const char *dot = strrchr(e->d_name, '.');
		if (!dot || (strcmp(dot, ".md") != 0 && strcmp(dot, ".txt") != 0 &&
		             strcmp(dot, ".markdown") != 0 && strcmp(dot, ".rst") != 0))
			continue;
		if (ds->n == KB_MAX_FILES) {
			ds->truncated = 1;
			break;
		}
		ds->v = xrealloc(ds->v, st_mul(ds->n + 1, sizeof(*ds->v)));
		read_doc(path, e->d_name, q, &ds->v[ds->n++]);
	}
	if (d)
		closedir(d);
}

static int by_score(const void *a, const void *b)
{
	const struct doc *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->path, y->path);
}

int kb_search_dir(const char *dir, const char *query, size_t limit, cJSON **ret, struct diag *d)
{
	struct terms q = { .n = 0 };
	struct docs ds = { 0 };
	struct stat st;
	double avg = 0;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return diag_set(d, -ENOENT, "no runbook directory '%s' (kb.dir)", dir);
	kb_tokens(query, add_term, &q);
	if (q.n == 0)
		return diag_set(d, -EINVAL, "query '%s' has no word to search for", query);
	walk(dir, 0, &q, &ds);
	for (size_t i = 0; i < ds.n; i++)
		avg += (double)ds.v[i].len;
	avg = ds.n ? avg / (double)ds.n : 1;
	for (size_t t = 0; t < q.n; t++) {
		size_t df = 0;
		for (size_t i = 0; i < ds.n; i++)
			df += ds.v[i].tf[t] > 0;
		double idf = log(1 + ((double)ds.n - (double)df + 0.5) / ((double)df + 0.5));
		for (size_t i = 0; i < ds.n; i++) {
			double tf = ds.v[i].tf[t] + 2.0 * ds.v[i].title_tf[t];
			double norm =
			        1.2 * (0.25 + 0.75 * (double)ds.v[i].len / (avg > 0 ? avg : 1));
			ds.v[i].score += idf * tf * 2.2 / (tf + norm);
		}
	}
	if (ds.n)
		qsort(ds.v, ds.n, sizeof(*ds.v), by_score);
	cJSON *o = json_obj(), *res = json_arr();
	json_add_num(o, "documents", (double)ds.n);
	json_add_bool(o, "truncated", ds.truncated);
	for (size_t i = 0; i < ds.n; i++) {
		if (i < limit && ds.v[i].score > 0) {
			cJSON *r = json_obj();
			json_add_str(r, "path", ds.v[i].path);
			json_add_str(r, "title", ds.v[i].title);
			json_add_num(r, "score", round(ds.v[i].score * 1000) / 1000);
			if (ds.v[i].snippet) {
				json_add_str(r, "snippet", ds.v[i].snippet);
				json_add_num(r, "line", ds.v[i].line);
			}
			json_push(res, r);
		}
		free(ds.v[i].path);
		free(ds.v[i].title);
		free(ds.v[i].snippet);
	}
	free(ds.v);
	json_add(o, "results", res);
	*ret = o;
	return 0;
}

static int kb_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *q = arg_str(args, "query", "");
	const char *dir = ctx->conf->kb_dir && *ctx->conf->kb_dir ? ctx->conf->kb_dir
	                                                          : "/etc/ongrid/runbooks";
	cJSON *data = NULL, *ev, *r0;
	int r = kb_search_dir(dir, q, arg_limit(args), &data, &ctx->diag);

	if (r < 0)
		return r;
	ev = evidence_new();
	cJSON *res = cJSON_DetachItemFromObject(data, "results");
	int n = cJSON_GetArraySize(res);
	double docs = cJSON_GetNumberValue(cJSON_GetObjectItem(data, "documents"));
	if (n == 0) {
		evidence_say(ev, "no runbook among %.0f in %s matches '%s'", docs, dir, q);
	} else {
		r0 = cJSON_GetArrayItem(res, 0);
		evidence_say(ev, "%d of %.0f runbooks match; best: \"%s\" (%s, score %.2f)", n,
		             docs, cJSON_GetStringValue(cJSON_GetObjectItem(r0, "title")),
		             cJSON_GetStringValue(cJSON_GetObjectItem(r0, "path")),
		             cJSON_GetNumberValue(cJSON_GetObjectItem(r0, "score")));
		if (cJSON_GetObjectItem(r0, "snippet"))
			evidence_say(ev, "line %.0f: %.200s",
			             cJSON_GetNumberValue(cJSON_GetObjectItem(r0, "line")),
			             cJSON_GetStringValue(cJSON_GetObjectItem(r0, "snippet")));
	}
	json_add_str(ev, "dir", dir);
	json_add(ev, "results", res);
	cJSON_Delete(data);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_kb_search = {
	.name = "kb_search",
	.class = TOOL_SAFE_READ,
	.summary = "search the runbooks in kb.dir, best match first",
	.description = "Full-text search (BM25, titles weighted) over the Markdown and text "
	               "runbooks in kb.dir: each hit with its title, path, score and the line "
	               "that matches most of the query. Read a hit with read_file.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"query\"],\"properties\":{"
	               "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":512},"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50}},"
	               "\"additionalProperties\":false}",
	.run = kb_run,
};
