/* read_file.c and tail_file (below, same checks): file contents for evidence, only where
 * the path rules allow reading (tools.read_paths, never secrets: path_rules.h). The path
 * is checked as written and as resolved, and the resolved path is what is opened, with
 * O_NOFOLLOW, so a symlink into a denied place is refused rather than followed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/path_rules.h"
#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/banned.h"

/* tail_file reads at most this much from the end to find its lines. */
#define TAIL_WINDOW_BYTES (4 << 20)

static int open_allowed(struct tool_ctx *ctx, const char *path, struct stat *st)
{
	struct path_rules rules;
	char real[PATH_MAX];
	int fd, r;

	if (path[0] != '/')
		return diag_set(&ctx->diag, -EINVAL, "path '%s': expected an absolute path", path);
	evidence_path_rules(ctx->conf, &rules);
	r = path_check(&rules, path, PATH_READ, &ctx->diag);
	if (r < 0)
		return r;
	if (!realpath(path, real))
		return diag_set(&ctx->diag, -errno, "cannot open '%s': %s", path, strerror(errno));
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return diag_set(&ctx->diag, -errno, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return diag_set(&ctx->diag, -EINVAL, "'%s' is not a regular file", path);
	}
	return fd;
}

static size_t cap_of(const struct tool_ctx *ctx, const cJSON *args)
{
	size_t cap = ctx->output_max ? ctx->output_max : 65536;
	int64_t want = arg_int(args, "max_bytes", 16384);

	return want > 0 && (size_t)want < cap ? (size_t)want : cap;
}

static ssize_t pread_all(int fd, char *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

static int read_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *path = arg_str(args, "path", "");
	int64_t off = arg_int(args, "offset", 0);
	size_t cap = cap_of(ctx, args);
	struct stat st = { 0 };
	char *buf, size[32];
	ssize_t n;
	cJSON *ev;
	int fd;

	fd = open_allowed(ctx, path, &st);
	if (fd < 0)
		return fd;
	buf = xmalloc(cap + 1);
	n = pread_all(fd, buf, cap, (off_t)off);
	close(fd);
	if (n < 0) {
		free(buf);
		return diag_set(&ctx->diag, (int)n, "cannot read '%s': %s", path,
		                strerror((int)-n));
	}
	ev = evidence_new();
	evidence_bytes(size, sizeof(size), (double)st.st_size);
	bool more = off + n < st.st_size;
	evidence_say(ev, "%s: %s, bytes %lld-%lld shown%s", path, size, (long long)off,
	             (long long)off + (long long)n, more ? "; more follows (raise offset)" : "");
	json_add_str(ev, "path", path);
	json_add_num(ev, "size", (double)st.st_size);
	json_add_num(ev, "offset", (double)off);
	json_add_num(ev, "mtime", (double)st.st_mtime);
	tool_add_output(ev, "content", buf, (size_t)n, more);
	free(buf);
	*ret_evidence = ev;
	return 0;
}

static int tail_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *path = arg_str(args, "path", ""), *match = arg_str(args, "match", NULL);
	size_t want = (size_t)arg_int(args, "lines", 50), cap = cap_of(ctx, args);
	size_t window, nlines = 0, matched = 0;
	struct stat st = { 0 };
	char *buf, **lines;
	ssize_t n;
	cJSON *ev;
	int fd;

	fd = open_allowed(ctx, path, &st);
	if (fd < 0)
		return fd;
	window = st.st_size < TAIL_WINDOW_BYTES ? (size_t)st.st_size : TAIL_WINDOW_BYTES;
	buf = xmalloc(window + 1);
	n = pread_all(fd, buf, window, st.st_size - (off_t)window);
	close(fd);
	if (n < 0) {
		free(buf);
		return diag_set(&ctx->diag, (int)n, "cannot read '%s': %s", path,
		                strerror((int)-n));
	}
	buf[n] = '\0';
	/* Walk back from the end collecting the last `want` (matching) lines. */
	lines = xcalloc(want, sizeof(*lines));
	char *end = buf + n;
	if (end > buf && end[-1] == '\n')
		*--end = '\0';
	while (end > buf && nlines < want) {
		char *s = end;
		while (s > buf && s[-1] != '\n')
			s--;
		bool first_partial = s == buf && window < (size_t)st.st_size;
		if (!first_partial && (!match || strstr(s, match))) {
			lines[nlines++] = s;
			matched++;
		}
		if (s == buf)
			break;
		s[-1] = '\0';
		end = s - 1;
	}
	struct buf_out {
		char *p;
		size_t len, cap;
	} o = { xmalloc(cap + 1), 0, cap };
	bool truncated = false;
	for (size_t i = nlines; i-- > 0;) {
		size_t l = strlen(lines[i]);
		if (o.len + l + 1 > o.cap) {
			truncated = true;
			break;
		}
		memcpy(o.p + o.len, lines[i], l);
		o.len += l;
		o.p[o.len++] = '\n';
	}
	ev = evidence_new();
	if (match)
		evidence_say(ev, "%s: last %zu lines containing '%s' (searched the last %zu bytes)",
		             path, matched, match, window);
	else
		evidence_say(ev, "%s: last %zu lines of %lld bytes", path, nlines,
		             (long long)st.st_size);
	json_add_str(ev, "path", path);
	json_add_num(ev, "size", (double)st.st_size);
	json_add_num(ev, "lines", (double)nlines);
	tool_add_output(ev, "content", o.p, o.len, truncated);
	free(o.p);
	free(lines);
	free(buf);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_read_file = {
	.name = "read_file",
	.class = TOOL_SAFE_READ,
	.summary = "read part of a file (allowed paths only, secrets refused)",
	.description = "Read a configuration or log file: up to max_bytes from offset. Only "
	               "regular files under tools.read_paths; shadow files, SSH and GnuPG "
	               "directories, private keys, ongrid's own keys and data are refused, also "
	               "through symlinks and '..'.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"path\"],\"properties\":{"
	               "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
	               "\"offset\":{\"type\":\"integer\",\"minimum\":0},"
	               "\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1048576}},"
	               "\"additionalProperties\":false}",
	.run = read_run,
};

const struct tool tool_tail_file = {
	.name = "tail_file",
	.class = TOOL_SAFE_READ,
	.summary = "the last lines of a file, optionally only those containing a string",
	.description = "The last N lines (default 50) of a log file, or the last N that contain "
	               "`match`, searched in the last 4 MiB. Same path rules as read_file.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"path\"],\"properties\":{"
	               "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096},"
	               "\"lines\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
	               "\"match\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":256},"
	               "\"max_bytes\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1048576}},"
	               "\"additionalProperties\":false}",
	.run = tail_run,
};
