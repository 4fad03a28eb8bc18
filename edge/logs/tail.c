/* tail.c - glob expansion, rotation and truncation detection, line splitting. */
#define LOG_MODULE "tail"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "edge/logs/tail.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/banned.h"

#define FP_MAX    1024u       /* bytes of a file's head that identify its contents */
#define CHUNK     (64u << 10) /* bytes per read() */
#define MAX_FILES 1024u       /* files followed at once; more is a glob mistake */

struct tail_file {
	char *path;  /* glob match: the `file` label and the name saved */
	char *where; /* where it is now (path, or its rotated name) */
	dev_t dev;
	ino_t ino;
	int fd;
	uint64_t offset;   /* start of the first incomplete line: what is saved */
	uint64_t read_off; /* next byte to read */
	struct buf partial;
	bool partial_cut; /* partial passed max_line; bytes up to the newline are skipped */
	uint64_t fp_len, fp_hash;
	off_t last_size;
	struct timespec last_mtime;
	bool draining, seen;
	int64_t last_growth_ms;
};

struct tail {
	struct tail_opts o;
	char **globs;
	size_t nglobs;
	struct tail_file **files;
	size_t nfiles, afiles;
	char *chunk;
	bool warned_max;
};

static void file_free(struct tail_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	buf_release(&f->partial);
	free(f->path);
	free(f->where);
	free(f);
}

static struct tail_file *file_new(struct tail *t, const char *path, const char *where,
                                  const struct stat *sb, int fd)
{
	struct tail_file *f = xcalloc(1, sizeof(*f));

	f->path = xstrdup(path);
	f->where = xstrdup(where);
	f->dev = sb->st_dev;
	f->ino = sb->st_ino;
	f->fd = fd;
	buf_init(&f->partial, t->o.max_line);
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	ALLOC_GROW(t->files, t->nfiles + 1, t->afiles);
	t->files[t->nfiles++] = f;
	return f;
}

static int hash_head(int fd, uint64_t len, uint64_t *ret)
{
	char head[FP_MAX];
	ssize_t n;

	if (len > FP_MAX)
		len = FP_MAX;
	n = pread(fd, head, len, 0);
	if (n < 0)
		return -errno;
	if ((uint64_t)n != len)
		return -EAGAIN; /* shrank under us: the caller sees the truncation next time */
	*ret = XXH64(head, len, 0);
	return 0;
}

static struct tail_file *find_ino(struct tail *t, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i]->dev == dev && t->files[i]->ino == ino)
			return t->files[i];
	return NULL;
}

static bool path_matches_globs(const struct tail *t, const char *path)
{
	for (size_t i = 0; i < t->nglobs; i++)
		if (fnmatch(t->globs[i], path, FNM_PATHNAME) == 0)
			return true;
	return false;
}

/* Siblings of path that rotation may have produced: same directory, name starting with
 * path's base name, regular files. fn returns 1 to stop. */
typedef int sibling_fn(void *udata, const char *full, const struct stat *sb);
static int for_siblings(const char *path, sibling_fn *fn, void *udata)
{
	char *dcopy = xstrdup(path), *bcopy = xstrdup(path);
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t blen = strlen(base);
	struct dirent *de;
	DIR *dp = opendir(dir);
	int r = 0;

	if (!dp)
		goto out;
	while (!r && (de = readdir(dp))) {
		struct stat sb;
		char *full;
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] == '\0')
			continue;
		full = xasprintf("%s/%s", dir, de->d_name);
		if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
			r = fn(udata, full, &sb);
		free(full);
	}
	closedir(dp);
out:
	free(dcopy);
	free(bcopy);
	return r;
}

struct find_ino_ctx {
	dev_t dev;
	ino_t ino;
	char *found;
};

static int sibling_by_ino(void *udata, const char *full, const struct stat *sb)
{
	struct find_ino_ctx *c = udata;

	if (sb->st_dev != c->dev || sb->st_ino != c->ino)
		return 0;
	c->found = xstrdup(full);
	return 1;
}

/* ---- line splitting ------------------------------------------------------------------ */

struct emit {
	tail_line_fn *fn;
	void *udata;
};

static int emit_partial(struct tail_file *f, const struct emit *e)
{
	int r = e->fn(e->udata, f->path, buf_str(&f->partial), f->partial.len, f->partial_cut);

	buf_reset(&f->partial);
	f->partial_cut = false;
	return r;
}

/* Split n bytes read at file offset base into lines. */
static int split(struct tail *t, struct tail_file *f, const char *p, size_t n, uint64_t base,
                 const struct emit *e)
{
	size_t pos = 0;

	while (pos < n) {
		const char *nl = memchr(p + pos, '\n', n - pos);
		size_t seg = nl ? (size_t)(nl - (p + pos)) : n - pos;
		int r;

		if (!nl || f->partial.len || f->partial_cut) {
			size_t room = t->o.max_line - f->partial.len, take = MIN(seg, room);
			if (take && buf_add(&f->partial, p + pos, take) < 0)
				return -E2BIG; /* cannot happen: room is computed from max */
			if (take < seg)
				f->partial_cut = true;
		}
		if (!nl)
			break;
		if (f->partial.len || f->partial_cut) {
			r = emit_partial(f, e);
		} else {
			bool cut = seg > t->o.max_line;
			r = e->fn(e->udata, f->path, p + pos, cut ? t->o.max_line : seg, cut);
		}
		if (r < 0)
			return r;
		pos += seg + 1;
		f->offset = base + pos;
	}
	return 0;
}

/* Read [from, to) of fd as complete lines for f (the last unterminated line is emitted
 * too: used for a rotated copy, which will never grow). */
static int read_range(struct tail *t, struct tail_file *f, int fd, uint64_t from, uint64_t to,
                      const struct emit *e)
{
	uint64_t off = from;
	int r = 0;

	buf_reset(&f->partial);
	f->partial_cut = false;
	while (off < to) {
		ssize_t n = pread(fd, t->chunk, MIN(CHUNK, to - off), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r = split(t, f, t->chunk, (size_t)n, off, e);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	if (f->partial.len || f->partial_cut)
		r = emit_partial(f, e);
	return r;
}

/* ---- truncation ---------------------------------------------------------------------- */

struct copy_ctx {
	const struct tail_file *f;
	struct tail *t;
	char *best;
	struct timespec best_mtime;
	uint64_t best_size;
};

static int sibling_is_copy(void *udata, const char *full, const struct stat *sb)
{
	struct copy_ctx *c = udata;
	uint64_t h;
	int fd;

	if ((sb->st_dev == c->f->dev && sb->st_ino == c->f->ino) ||
	    (uint64_t)sb->st_size < c->f->offset || (uint64_t)sb->st_size < c->f->fp_len ||
	    find_ino(c->t, sb->st_dev, sb->st_ino))
		return 0;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (hash_head(fd, c->f->fp_len, &h) == 0 && h == c->f->fp_hash &&
	    (!c->best || sb->st_mtim.tv_sec > c->best_mtime.tv_sec ||
	     (sb->st_mtim.tv_sec == c->best_mtime.tv_sec &&
	      sb->st_mtim.tv_nsec > c->best_mtime.tv_nsec))) {
		free(c->best);
		c->best = xstrdup(full);
		c->best_mtime = sb->st_mtim;
		c->best_size = (uint64_t)sb->st_size;
	}
	close(fd);
	return 0;
}

/* f was truncated: recover the lines past our offset from the copy, then start over. */
static int truncated(struct tail *t, struct tail_file *f, const struct emit *e)
{
	struct copy_ctx c = { .f = f, .t = t };
	int r = 0;

	if (f->fp_len > 0 && f->offset > 0) {
		for_siblings(f->path, sibling_is_copy, &c);
		if (c.best) {
			int fd = open(c.best, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				log_info("'%s' was truncated; reading %" PRIu64
				         " bytes past our offset from its copy '%s'",
				         f->path, c.best_size - f->offset, c.best);
				r = read_range(t, f, fd, f->offset, c.best_size, e);
				close(fd);
			}
			free(c.best);
		} else {
			log_info("'%s' was truncated; no copy of it found, reading it from the "
			         "start",
			         f->path);
		}
	}
	if (r < 0)
		return r;
	buf_reset(&f->partial);
	f->partial_cut = false;
	f->offset = f->read_off = 0;
	f->fp_len = 0;
	f->fp_hash = 0;
	return 0;
}

/* ---- open and restore ---------------------------------------------------------------- */

static int restore(struct tail *t, sqlite3 *db, struct diag *d)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(db,
	               "SELECT dev, ino, path, offset, fp_len, fp_hash, draining FROM tail_files",
	               &st, d);
	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct find_ino_ctx c = { (dev_t)sqlite3_column_int64(st, 0),
			                  (ino_t)sqlite3_column_int64(st, 1), NULL };
		const char *path = (const char *)sqlite3_column_text(st, 2);
		struct tail_file *f;
		struct stat sb;
		int fd;

		if (!path_matches_globs(t, path)) {
			log_info("'%s' no longer matches logs.paths, forgetting its position",
			         path);
			continue;
		}
		if (stat(path, &sb) == 0 && sb.st_dev == c.dev && sb.st_ino == c.ino)
			c.found = xstrdup(path);
		else
			for_siblings(path, sibling_by_ino, &c);
		if (!c.found) {
			log_warn("'%s' (inode %" PRIu64 ") is gone; lines after offset %lld were "
			         "not read",
			         path, (uint64_t)c.ino, (long long)sqlite3_column_int64(st, 3));
			continue;
		}
		fd = open(c.found, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_ino != c.ino) {
			log_warn("cannot reopen '%s': %m, its unread lines are lost", c.found);
			if (fd >= 0)
				close(fd);
			free(c.found);
			continue;
		}
		f = file_new(t, path, c.found, &sb, fd);
		f->offset = f->read_off = (uint64_t)sqlite3_column_int64(st, 3);
		f->fp_len = (uint64_t)sqlite3_column_int64(st, 4);
		f->fp_hash = (uint64_t)sqlite3_column_int64(st, 5);
		f->draining = sqlite3_column_int(st, 6) || strcmp(path, c.found) != 0;
		f->last_size = -1;
		if (f->draining)
			log_info("'%s' was rotated to '%s' while we were away; reading it from "
			         "offset "
			         "%" PRIu64,
			         path, c.found, f->offset);
		free(c.found);
	}
	sqlite3_finalize(st);
	return 0;
}

int tail_open(const struct tail_opts *o, sqlite3 *db, struct tail **ret, struct diag *d)
{
	struct tail *t = xcalloc(1, sizeof(*t));
	size_t aglobs = 0;
	int r;

	t->o = *o;
	if (t->o.max_line < 64)
		t->o.max_line = 64;
	for (size_t i = 0; o->globs && i < o->globs->n; i++) {
		if (o->globs->v[i][0] != '/') {
			tail_close(t);
			return diag_set(d, -EINVAL,
			                "logs.paths: '%s' is not an absolute path or glob",
			                o->globs->v[i]);
		}
		ALLOC_GROW(t->globs, t->nglobs + 1, aglobs);
		t->globs[t->nglobs++] = xstrdup(o->globs->v[i]);
	}
	t->chunk = xmalloc(CHUNK);
	if (db) {
		r = restore(t, db, d);
		if (r < 0) {
			tail_close(t);
			return r;
		}
	}
	*ret = t;
	return 0;
}

void tail_close(struct tail *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nfiles; i++)
		file_free(t->files[i]);
	free(t->files);
	for (size_t i = 0; i < t->nglobs; i++)
		free(t->globs[i]);
	free(t->globs);
	free(t->chunk);
	free(t);
}

size_t tail_nfiles(const struct tail *t)
{
	return t->nfiles;
}

/* ---- poll ---------------------------------------------------------------------------- */

static void start_draining(struct tail_file *f, int64_t now, const char *why)
{
	if (f->draining)
		return;
	log_debug("'%s' %s; reading it to its end", f->path, why);
	f->draining = true;
	f->last_growth_ms = now;
}

/* One glob match: a new file, a known one, or the successor of a rotated one. */
static void discover(struct tail *t, const char *path, int64_t now)
{
	struct tail_file *f, *old = NULL;
	struct stat sb;
	int fd;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return;
	f = find_ino(t, sb.st_dev, sb.st_ino);
	if (f) {
		f->seen = true;
		return;
	}
	for (size_t i = 0; i < t->nfiles; i++)
		if (!t->files[i]->draining && strcmp(t->files[i]->path, path) == 0)
			old = t->files[i];
	if (old)
		start_draining(old, now, "was rotated");
	if (t->nfiles >= MAX_FILES) {
		if (!t->warned_max)
			log_warn("following %u files already; '%s' and later matches are ignored",
			         MAX_FILES, path);
		t->warned_max = true;
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		log_warn("cannot open '%s': %m, ignoring", path);
		return;
	}
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return;
	}
	f = file_new(t, path, path, &sb, fd);
	f->seen = true;
	f->last_size = -1;
	f->last_growth_ms = now;
	log_debug("following '%s'", path);
}

static void scan_globs(struct tail *t, int64_t now)
{
	for (size_t i = 0; i < t->nfiles; i++)
		t->files[i]->seen = false;
	for (size_t i = 0; i < t->nglobs; i++) {
		glob_t g;
		int r = glob(t->globs[i], GLOB_NOSORT, NULL, &g);
		if (r == 0)
			for (size_t k = 0; k < g.gl_pathc; k++)
				discover(t, g.gl_pathv[k], now);
		if (r != GLOB_NOMATCH)
			globfree(&g);
	}
	/* a followed file whose name no longer leads to it was renamed or deleted */
	for (size_t i = 0; i < t->nfiles; i++) {
		struct tail_file *f = t->files[i];
		struct stat sb;
		if (f->draining || f->seen)
			continue;
		if (stat(f->path, &sb) < 0 || sb.st_dev != f->dev || sb.st_ino != f->ino)
			start_draining(f, now, "was renamed or deleted");
	}
}

/* Read what is new in f, up to *budget bytes. Returns 1 if more is waiting, or the line
 * callback's error; I/O errors on the file are logged and leave it for the next poll. */
static int read_file(struct tail *t, struct tail_file *f, int64_t now, size_t *budget,
                     const struct emit *e)
{
	struct stat sb;
	bool changed;
	int r;

	if (fstat(f->fd, &sb) < 0) {
		log_warn("cannot stat '%s': %m, ignoring", f->where);
		return 0;
	}
	changed = sb.st_size != f->last_size || sb.st_mtim.tv_sec != f->last_mtime.tv_sec ||
	          sb.st_mtim.tv_nsec != f->last_mtime.tv_nsec;
	if (!changed && (uint64_t)sb.st_size == f->read_off)
		return 0;
	if ((uint64_t)sb.st_size < f->read_off || (uint64_t)sb.st_size < f->fp_len) {
		r = truncated(t, f, e);
		if (r < 0)
			return r;
	} else if (f->fp_len > 0 && changed) {
		uint64_t h = 0;
		if (hash_head(f->fd, f->fp_len, &h) == 0 && h != f->fp_hash) {
			r = truncated(t, f, e);
			if (r < 0)
				return r;
		}
	}
	f->last_size = sb.st_size;
	f->last_mtime = sb.st_mtim;
	if (f->fp_len < FP_MAX && (uint64_t)sb.st_size > f->fp_len) {
		uint64_t len = MIN((uint64_t)sb.st_size, FP_MAX), h = 0;
		if (hash_head(f->fd, len, &h) == 0) {
			f->fp_len = len;
			f->fp_hash = h;
		}
	}
	while (f->read_off < (uint64_t)sb.st_size) {
		size_t want = MIN(CHUNK, (uint64_t)sb.st_size - f->read_off);
		ssize_t n;
		if (*budget == 0)
			return 1;
		n = pread(f->fd, t->chunk, want, (off_t)f->read_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("cannot read '%s': %m, ignoring", f->where);
			return 0;
		}
		if (n == 0)
			break;
		r = split(t, f, t->chunk, (size_t)n, f->read_off, e);
		if (r < 0)
			return r;
		f->read_off += (uint64_t)n;
		f->last_growth_ms = now;
		*budget -= MIN(*budget, (size_t)n);
	}
	return 0;
}

int tail_poll(struct tail *t, int64_t now, size_t budget, bool final, tail_line_fn *fn, void *udata)
{
	struct emit e = { fn, udata };
	int more = 0;

	/* Rotated files first: their lines are older than their successors'. */
	scan_globs(t, now);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->nfiles; i++) {
			struct tail_file *f = t->files[i];
			int r;
			if (f->draining != (pass == 0))
				continue;
			r = read_file(t, f, now, &budget, &e);
			if (r < 0)
				return r; /* from the line callback: stop; the line is read again */
			if (r > 0)
				more = 1;
			if (f->draining && r == 0 &&
			    (final || now - f->last_growth_ms >= t->o.drain_grace_ms)) {
				/* rotated away and quiet: its unterminated last line is final */
				if (f->partial.len || f->partial_cut) {
					r = emit_partial(f, &e);
					if (r < 0)
						return r;
				}
				/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
				size_t after = (t->nfiles - i - 1) * sizeof(t->files[0]);
				file_free(f);
				memmove(&t->files[i], &t->files[i + 1], after);
				t->nfiles--;
				i--;
			}
		}
	}
	return more;
}

int tail_save(struct tail *t, sqlite3 *db, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_exec(db, "DELETE FROM tail_files", d);

	if (r < 0)
		return r;
	r = db_prepare(db,
	               "INSERT OR REPLACE INTO tail_files(dev, ino, path, offset, fp_len, fp_hash,"
	               " draining) VALUES (?,?,?,?,?,?,?)",
	               &st, d);
	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < t->nfiles; i++) {
		const struct tail_file *f = t->files[i];
		sqlite3_bind_int64(st, 1, (int64_t)f->dev);
		sqlite3_bind_int64(st, 2, (int64_t)f->ino);
		sqlite3_bind_text(st, 3, f->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)f->offset);
		sqlite3_bind_int64(st, 5, (int64_t)f->fp_len);
		sqlite3_bind_int64(st, 6, (int64_t)f->fp_hash);
		sqlite3_bind_int(st, 7, f->draining);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}
