/* logstore.c - compressed blocks of lines in segment files, indexed in SQLite. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uthash.h>
#include <xxhash.h>
#include <zstd.h>

#include "edge/logs/logstore.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/db.h"
#include "shared/fsutil.h"
#include "shared/banned.h"

#define BLOCK_MAGIC    0x314c474fu /* "OGL1" little-endian */
#define BLOCK_HDR      24u
#define SEG_MIN        (1ull << 20)
#define SEG_MAX        (64ull << 20)
#define ZSTD_LEVEL     3
#define MAX_STREAMS    100000u     /* more distinct label sets than this is a label explosion */
#define ENTRY_OVERHEAD 30u         /* worst case varints per line */
#define SMALL_BLOCK    (32u << 10) /* blocks under this much raw text are merged */
#define COMPACT_MIN    8           /* ... once at least this many can go into one */
#define COMPACT_MS     60000       /* looked for at most once a minute */

static const char *const migrations[] = {
	"CREATE TABLE streams(id INTEGER PRIMARY KEY, labels TEXT NOT NULL UNIQUE);"
	"CREATE TABLE segments(id INTEGER PRIMARY KEY, bytes INTEGER NOT NULL);"
	"CREATE TABLE blocks(id INTEGER PRIMARY KEY, seg INTEGER NOT NULL, off INTEGER NOT NULL,"
	" len INTEGER NOT NULL, raw_len INTEGER NOT NULL, nlines INTEGER NOT NULL,"
	" t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, streams BLOB NOT NULL,"
	" grams BLOB NOT NULL);"
	"CREATE INDEX blocks_seg ON blocks(seg);"
	"CREATE INDEX blocks_tmax ON blocks(t_max);"
	"CREATE TABLE tail_files(dev INTEGER NOT NULL, ino INTEGER NOT NULL, path TEXT NOT NULL,"
	" offset INTEGER NOT NULL, fp_len INTEGER NOT NULL, fp_hash INTEGER NOT NULL,"
	" draining INTEGER NOT NULL, PRIMARY KEY(dev, ino));"
	"CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE patterns(id INTEGER PRIMARY KEY, template TEXT NOT NULL UNIQUE,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, total INTEGER NOT NULL,"
	" sample TEXT NOT NULL);"
	"CREATE TABLE pattern_minutes(pattern INTEGER NOT NULL, minute INTEGER NOT NULL,"
	" count INTEGER NOT NULL, PRIMARY KEY(pattern, minute)) WITHOUT ROWID;",
	/* 2: find small blocks to merge */
	"CREATE INDEX blocks_raw ON blocks(raw_len);",
};

struct stream_ent {
	UT_hash_handle hh;
	uint32_t id;
	char labels[];
};

struct sealed {
	uint64_t seg, off, len, raw_len;
	uint32_t nlines;
	int64_t t_min, t_max;
	uint32_t *streams;
	size_t nstreams;
	uint8_t *grams;
	size_t grams_len; /* zstd of the bitmap (or the bitmap itself when that is smaller) */
};

struct logstore {
	char *dir;
	sqlite3 *db;
	bool read_only;
	int lock_fd;
	struct logstore_opts o;
	uint64_t seg_max;
	struct stream_ent *streams; /* uthash by labels */
	size_t nstreams;

	/* the segment appended to */
	uint64_t seg_id;
	int seg_fd;
	uint64_t seg_off;
	int64_t seg_t_min; /* oldest line in the segment; 0 while empty */
	bool seg_dirty;

	/* the open block */
	struct buf payload;
	uint32_t nlines;
	int64_t t_prev, t_min, t_max;
	uint32_t *bstreams;
	size_t nbstreams, abstreams;
	uint8_t grams[LOGSTORE_GRAM_BYTES];

	struct sealed *sealed; /* written, not yet committed */
	size_t nsealed, asealed;
	int *dirty_fds; /* segment fds to fdatasync at commit (older segments closed after) */
	size_t ndirty, adirty;
	size_t pending;
	int64_t last_compact;
	int64_t *merged; /* ids of the blocks the sealed block replaces (compaction) */
	size_t nmerged;
	void *zbuf;
	size_t zcap;
};

static char *seg_path(const struct logstore *s, uint64_t id)
{
	return xasprintf("%s/seg-%08" PRIu64 ".dat", s->dir, id);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -EPROTO;
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EPROTO;
}

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static inline uint32_t gram_bit(uint8_t a, uint8_t b, uint8_t c)
{
	uint32_t t = ((uint32_t)lower(a) << 16) | ((uint32_t)lower(b) << 8) | lower(c);
	return (t * 2654435761u) >> 16;
}

bool logstore_grams_may_contain(const uint8_t *grams, const char *lit, size_t n)
{
	const uint8_t *u = (const uint8_t *)lit;

	for (size_t i = 0; i + 2 < n; i++) {
		uint32_t bit = gram_bit(u[i], u[i + 1], u[i + 2]);
		if (!(grams[bit >> 3] & (1u << (bit & 7))))
			return false;
	}
	return true;
}

/* ---- open ---------------------------------------------------------------------------- */

static int load_streams(struct logstore *s, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(s->db, "SELECT id, labels FROM streams", &st, d);

	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(st, 1);
		size_t n = strlen(l);
		struct stream_ent *e = xmalloc(sizeof(*e) + n + 1);
		e->id = (uint32_t)sqlite3_column_int64(st, 0);
		memcpy(e->labels, l, n + 1);
		HASH_ADD(hh, s->streams, labels[0], n, e);
		s->nstreams++;
	}
	sqlite3_finalize(st);
	return 0;
}

static int query_i64(sqlite3 *db, const char *sql, int64_t def, int64_t *ret, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(db, sql, &st, d);

	if (r < 0)
		return r;
	*ret = def;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* Cut the last segment back to its last committed block and remove segment files the
 * index does not know: both are writes a crash interrupted before their commit. */
static int recover(struct logstore *s, struct diag *d)
{
	int64_t last = 0, end = 0;
	DIR *dir;
	struct dirent *de;
	char *path;
	int r;

	r = query_i64(s->db, "SELECT MAX(id) FROM segments", 0, &last, d);
	if (r < 0)
		return r;
	dir = opendir(s->dir);
	if (!dir)
		return diag_set(d, -errno, "cannot list '%s': %m", s->dir);
	while ((de = readdir(dir))) {
		char *rest = NULL;
		unsigned long long id;
		if (strncmp(de->d_name, "seg-", 4) != 0)
			continue;
		errno = 0;
		id = strtoull(de->d_name + 4, &rest, 10);
		if (errno || rest == de->d_name + 4 || strcmp(rest, ".dat") != 0)
			continue;
		if ((int64_t)id > last) {
			char *p = seg_path(s, id);
			(void)unlink(p);
			free(p);
		}
	}
	closedir(dir);
	if (last == 0) {
		r = db_exec(s->db, "INSERT INTO segments(id, bytes) VALUES (1, 0)", d);
		if (r < 0)
			return r;
		last = 1;
	}
	{
		char sql[128];
		snprintf(sql, sizeof(sql), "SELECT MAX(off + len) FROM blocks WHERE seg = %" PRId64,
		         last);
		r = query_i64(s->db, sql, 0, &end, d);
		if (r < 0)
			return r;
	}
	s->seg_id = (uint64_t)last;
	path = seg_path(s, s->seg_id);
	s->seg_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->seg_fd < 0) {
		r = diag_set(d, -errno, "cannot open '%s': %m", path);
		free(path);
		return r;
	}
	if (ftruncate(s->seg_fd, end) < 0) {
		r = diag_set(d, -errno, "cannot cut torn tail of '%s': %m", path);
		free(path);
		return r;
	}
	free(path);
	s->seg_off = (uint64_t)end;
	{
		char sql[128];
		snprintf(sql, sizeof(sql), "SELECT MIN(t_min) FROM blocks WHERE seg = %" PRId64,
		         last);
		r = query_i64(s->db, sql, 0, &s->seg_t_min, d);
	}
	return r;
}

int logstore_open(const char *dir, const struct logstore_opts *o, struct logstore **ret,
                  struct diag *d)
{
	struct logstore *s = xcalloc(1, sizeof(*s));
	char *path = NULL;
	int r;

	s->dir = xstrdup(dir);
	s->o = *o;
	s->read_only = o->read_only;
	s->lock_fd = -1;
	s->seg_fd = -1;
	s->seg_max = o->max_bytes / 8;
	if (s->seg_max < SEG_MIN)
		s->seg_max = SEG_MIN;
	if (s->seg_max > SEG_MAX)
		s->seg_max = SEG_MAX;
	buf_init(&s->payload, LOGSTORE_BLOCK_RAW + (1u << 21));
	path = xasprintf("%s/index.sqlite", dir);
	if (s->read_only) {
		if (access(path, F_OK) < 0) {
			r = diag_set(
			        d, -ENOENT,
			        "no log index in '%s' yet (run `ongrid-edge tail` or the daemon)",
			        dir);
			goto fail;
		}
		if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
			r = diag_set(d, -EIO, "%s: cannot open database: %s", path,
			             s->db ? sqlite3_errmsg(s->db) : "out of memory");
			goto fail;
		}
		sqlite3_busy_timeout(s->db, 5000);
	} else {
		char *lock = xasprintf("%s/LOCK", dir);
		r = mkdir_p(dir, 0700);
		if (r < 0) {
			diag_set(d, r, "cannot create '%s': %s", dir, strerror(-r));
			free(lock);
			goto fail;
		}
		s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(lock);
		if (s->lock_fd < 0) {
			r = diag_set(d, -errno, "cannot create lock in '%s': %m", dir);
			goto fail;
		}
		if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
			r = diag_set(
			        d, -EBUSY,
			        "another ongrid process is indexing logs in '%s' (the daemon or "
			        "`ongrid-edge tail`)",
			        dir);
			goto fail;
		}
		r = db_open(path, migrations, ARRAY_SIZE(migrations), &s->db, d);
		if (r < 0)
			goto fail;
		r = recover(s, d);
		if (r < 0)
			goto fail;
	}
	r = load_streams(s, d);
	if (r < 0)
		goto fail;
	free(path);
	*ret = s;
	return 0;
fail:
	free(path);
	logstore_close(s);
	return r;
}

static void sealed_free(struct sealed *b)
{
	free(b->streams);
	free(b->grams);
}

void logstore_close(struct logstore *s)
{
	struct stream_ent *e, *tmp;

	if (!s)
		return;
	HASH_ITER(hh, s->streams, e, tmp)
	{
		/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): HASH_ITER keeps the next element in tmp */
		HASH_DEL(s->streams, e);
		free(e);
	}
	for (size_t i = 0; i < s->nsealed; i++)
		sealed_free(&s->sealed[i]);
	free(s->sealed);
	for (size_t i = 0; i < s->ndirty; i++)
		if (s->dirty_fds[i] != s->seg_fd)
			close(s->dirty_fds[i]);
	free(s->dirty_fds);
	if (s->seg_fd >= 0)
		close(s->seg_fd);
	db_close(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	buf_release(&s->payload);
	free(s->bstreams);
	free(s->merged);
	free(s->zbuf);
	free(s->dir);
	free(s);
}

sqlite3 *logstore_db(struct logstore *s)
{
	return s->db;
}

int logstore_stream(struct logstore *s, const char *labels, uint32_t *ret, struct diag *d)
{
	struct stream_ent *e;
	size_t n = strlen(labels);
	sqlite3_stmt *st;
	int r;

	HASH_FIND(hh, s->streams, labels, n, e);
	if (e) {
		*ret = e->id;
		return 0;
	}
	if (s->read_only)
		return -ENOENT;
	if (s->nstreams >= MAX_STREAMS)
		return diag_set(d, -E2BIG,
		                "more than %u distinct log streams; refusing stream %s (check "
		                "logs.labels and the files matched)",
		                MAX_STREAMS, labels);
	r = db_prepare(s->db, "INSERT INTO streams(labels) VALUES (?)", &st, d);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, labels, (int)n, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	if (r < 0)
		return r;
	e = xmalloc(sizeof(*e) + n + 1);
	e->id = (uint32_t)sqlite3_last_insert_rowid(s->db);
	memcpy(e->labels, labels, n + 1);
	HASH_ADD(hh, s->streams, labels[0], n, e);
	s->nstreams++;
	*ret = e->id;
	return 0;
}

/* ---- write --------------------------------------------------------------------------- */

static int seg_roll(struct logstore *s, struct diag *d)
{
	char *path;

	ALLOC_GROW(s->dirty_fds, s->ndirty + 1, s->adirty);
	s->dirty_fds[s->ndirty++] = s->seg_fd; /* synced and closed at commit */
	s->seg_fd = -1;
	s->seg_id++;
	path = seg_path(s, s->seg_id);
	s->seg_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s->seg_fd < 0) {
		int r = diag_set(d, -errno, "cannot create '%s': %m", path);
		free(path);
		return r;
	}
	free(path);
	s->seg_off = 0;
	s->seg_t_min = 0;
	return 0;
}

static void write_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t read_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t read_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const char *c = p;

	while (n) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Compress the open block and write it after the segment's last block. */
static int seal(struct logstore *s, struct diag *d)
{
	size_t bound, clen;
	struct sealed *b;
	uint8_t *out;
	int r;

	if (!s->nlines)
		return 0;
	/* a new segment when this one is full, or spans an eighth of the retention, so
	 * retention can drop whole segments on quiet hosts too */
	if (s->seg_off >= s->seg_max || (s->o.retention_ms > 0 && s->seg_off > 0 &&
	                                 s->t_max - s->seg_t_min > s->o.retention_ms / 8)) {
		r = seg_roll(s, d);
		if (r < 0)
			return r;
	}
	bound = ZSTD_compressBound(s->payload.len) + BLOCK_HDR;
	if (bound > s->zcap) {
		free(s->zbuf);
		s->zbuf = xmalloc(bound);
		s->zcap = bound;
	}
	out = s->zbuf;
	clen = ZSTD_compress(out + BLOCK_HDR, bound - BLOCK_HDR, s->payload.data, s->payload.len,
	                     ZSTD_LEVEL);
	if (ZSTD_isError(clen))
		return diag_set(d, -EIO, "zstd: %s", ZSTD_getErrorName(clen));
	write_le32(out, BLOCK_MAGIC);
	write_le32(out + 4, (uint32_t)s->payload.len);
	write_le32(out + 8, (uint32_t)clen);
	write_le32(out + 12, s->nlines);
	write_le64(out + 16, XXH64(out + BLOCK_HDR, clen, 0));
	r = pwrite_all(s->seg_fd, out, clen + BLOCK_HDR, s->seg_off);
	if (r < 0) {
		char *p = seg_path(s, s->seg_id);
		diag_set(d, r, "cannot write '%s': %s", p, strerror(-r));
		free(p);
		return r;
	}
	ALLOC_GROW(s->sealed, s->nsealed + 1, s->asealed);
	b = &s->sealed[s->nsealed++];
	b->seg = s->seg_id;
	b->off = s->seg_off;
	b->len = clen + BLOCK_HDR;
	b->raw_len = s->payload.len;
	b->nlines = s->nlines;
	b->t_min = s->t_min;
	b->t_max = s->t_max;
	b->streams = xmalloc(st_mul(s->nbstreams, sizeof(uint32_t)));
	memcpy(b->streams, s->bstreams, s->nbstreams * sizeof(uint32_t));
	b->nstreams = s->nbstreams;
	/* the bitmap is sparse: compressed it costs ~1/5 of its 8 KiB */
	b->grams = xmalloc(ZSTD_compressBound(LOGSTORE_GRAM_BYTES));
	b->grams_len = ZSTD_compress(b->grams, ZSTD_compressBound(LOGSTORE_GRAM_BYTES), s->grams,
	                             LOGSTORE_GRAM_BYTES, 1);
	if (ZSTD_isError(b->grams_len) || b->grams_len >= LOGSTORE_GRAM_BYTES) {
		memcpy(b->grams, s->grams, LOGSTORE_GRAM_BYTES);
		b->grams_len = LOGSTORE_GRAM_BYTES;
	}
	if (!s->seg_off || b->t_min < s->seg_t_min)
		s->seg_t_min = b->t_min;
	s->seg_off += b->len;
	s->seg_dirty = true;
	buf_reset(&s->payload);
	s->nlines = 0;
	s->nbstreams = 0;
	memset(s->grams, 0, sizeof(s->grams));
	return 0;
}

static void add_block_stream(struct logstore *s, uint32_t id)
{
	size_t lo = 0, hi = s->nbstreams;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->bstreams[mid] == id)
			return;
		if (s->bstreams[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	ALLOC_GROW(s->bstreams, s->nbstreams + 1, s->abstreams);
	memmove(&s->bstreams[lo + 1], &s->bstreams[lo], (s->nbstreams - lo) * sizeof(uint32_t));
	s->bstreams[lo] = id;
	s->nbstreams++;
}

static int append_line(struct logstore *s, int64_t ts_ms, uint32_t stream, const char *line,
                       size_t len, struct diag *d)
{
	uint8_t hdr[ENTRY_OVERHEAD];
	const uint8_t *u = (const uint8_t *)line;
	size_t h = 0;
	int64_t delta;
	int r;

	if (len > LOGSTORE_BLOCK_RAW)
		len = LOGSTORE_BLOCK_RAW; /* callers cap lines far below this */
	if (s->nlines && (s->payload.len + len + ENTRY_OVERHEAD > LOGSTORE_BLOCK_RAW ||
	                  s->nlines >= LOGSTORE_BLOCK_LINES)) {
		r = seal(s, d);
		if (r < 0)
			return r;
	}
	if (!s->nlines) {
		s->t_prev = 0; /* the first line's delta is its absolute time */
		s->t_min = s->t_max = ts_ms;
	}
	if (ts_ms < s->t_min)
		s->t_min = ts_ms;
	if (ts_ms > s->t_max)
		s->t_max = ts_ms;
	delta = ts_ms - s->t_prev;
	s->t_prev = ts_ms;
	h += put_varint(hdr + h, ((uint64_t)delta << 1) ^ (delta < 0 ? UINT64_MAX : 0));
	h += put_varint(hdr + h, stream);
	h += put_varint(hdr + h, len);
	if (buf_add(&s->payload, hdr, h) < 0 || buf_add(&s->payload, line, len) < 0)
		return diag_set(d, -E2BIG, "log block over its size bound");
	for (size_t i = 0; i + 2 < len; i++) {
		uint32_t bit = gram_bit(u[i], u[i + 1], u[i + 2]);
		s->grams[bit >> 3] |= (uint8_t)(1u << (bit & 7));
	}
	if (!s->nbstreams || s->bstreams[s->nbstreams - 1] != stream)
		add_block_stream(s, stream);
	s->nlines++;
	return 0;
}

int logstore_append(struct logstore *s, int64_t ts_ms, uint32_t stream, const char *line,
                    size_t len, struct diag *d)
{
	int r;

	if (s->read_only)
		return diag_set(d, -EPERM, "log index opened read-only");
	r = append_line(s, ts_ms, stream, line, len, d);
	if (r == 0)
		s->pending++;
	return r;
}

size_t logstore_pending(const struct logstore *s)
{
	return s->pending;
}

static int delete_segment(struct logstore *s, int64_t id, struct diag *d)
{
	char sql[160];
	char *p;
	int r;

	snprintf(sql, sizeof(sql),
	         "BEGIN; DELETE FROM blocks WHERE seg = %" PRId64 "; DELETE FROM segments WHERE "
	         "id = %" PRId64 "; COMMIT;",
	         id, id);
	r = db_exec(s->db, sql, d);
	if (r < 0) {
		(void)db_exec(s->db, "ROLLBACK", NULL);
		return r;
	}
	p = seg_path(s, (uint64_t)id);
	(void)unlink(p);
	free(p);
	return 0;
}

/* Drop whole segments, oldest first, while over the byte budget or entirely past
 * retention. The segment being appended to is never dropped. */
static int enforce_bounds(struct logstore *s, int64_t now, struct diag *d)
{
	for (;;) {
		int64_t total = 0, oldest = 0, oldest_tmax = 0;
		char sql[128];
		int r;

		r = query_i64(s->db, "SELECT SUM(bytes) FROM segments", 0, &total, d);
		if (r == 0)
			r = query_i64(s->db, "SELECT MIN(id) FROM segments", 0, &oldest, d);
		if (r < 0)
			return r;
		if (oldest <= 0 || (uint64_t)oldest >= s->seg_id)
			return 0;
		snprintf(sql, sizeof(sql), "SELECT MAX(t_max) FROM blocks WHERE seg = %" PRId64,
		         oldest);
		r = query_i64(s->db, sql, 0, &oldest_tmax, d);
		if (r < 0)
			return r;
		if ((uint64_t)total <= s->o.max_bytes &&
		    !(s->o.retention_ms > 0 && oldest_tmax < now - s->o.retention_ms))
			return 0;
		r = delete_segment(s, oldest, d);
		if (r < 0)
			return r;
	}
}

static int insert_blocks(struct logstore *s, struct diag *d)
{
	sqlite3_stmt *st, *sg;
	int r;

	r = db_prepare(s->db,
	               "INSERT INTO blocks(seg, off, len, raw_len, nlines, t_min, t_max, streams, "
	               "grams) VALUES (?,?,?,?,?,?,?,?,?)",
	               &st, d);
	if (r < 0)
		return r;
	r = db_prepare(s->db, "INSERT OR REPLACE INTO segments(id, bytes) VALUES (?, ?)", &sg, d);
	if (r < 0) {
		sqlite3_finalize(st);
		return r;
	}
	for (size_t i = 0; r == 0 && i < s->nsealed; i++) {
		const struct sealed *b = &s->sealed[i];
		sqlite3_bind_int64(st, 1, (int64_t)b->seg);
		sqlite3_bind_int64(st, 2, (int64_t)b->off);
		sqlite3_bind_int64(st, 3, (int64_t)b->len);
		sqlite3_bind_int64(st, 4, (int64_t)b->raw_len);
		sqlite3_bind_int64(st, 5, b->nlines);
		sqlite3_bind_int64(st, 6, b->t_min);
		sqlite3_bind_int64(st, 7, b->t_max);
		sqlite3_bind_blob(st, 8, b->streams, (int)(b->nstreams * sizeof(uint32_t)),
		                  SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, b->grams, (int)b->grams_len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(s->db));
		sqlite3_reset(st);
		sqlite3_bind_int64(sg, 1, (int64_t)b->seg);
		sqlite3_bind_int64(sg, 2, (int64_t)(b->off + b->len));
		if (r == 0 && sqlite3_step(sg) != SQLITE_DONE)
			r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(s->db));
		sqlite3_reset(sg);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(sg);
	return r;
}

/* Seal, sync, and insert the sealed blocks' rows together with fn's rows. */
static int commit_sealed(struct logstore *s, logstore_commit_fn *fn, void *udata, struct diag *d)
{
	int r;

	r = seal(s, d);
	if (r < 0)
		return r;
	/* Data first: the rows below must never point at bytes a crash could lose. */
	for (size_t i = 0; i < s->ndirty; i++) {
		if (fdatasync(s->dirty_fds[i]) < 0)
			return diag_set(d, -errno, "cannot sync log segment: %m");
	}
	if (s->seg_dirty && fdatasync(s->seg_fd) < 0)
		return diag_set(d, -errno, "cannot sync log segment: %m");
	r = db_exec(s->db, "BEGIN IMMEDIATE", d);
	if (r < 0)
		return r;
	r = insert_blocks(s, d);
	if (r == 0 && fn)
		r = fn(udata, s->db, d);
	if (r == 0)
		r = db_exec(s->db, "COMMIT", d);
	if (r < 0) {
		(void)db_exec(s->db, "ROLLBACK", NULL);
		return r;
	}
	for (size_t i = 0; i < s->nsealed; i++)
		sealed_free(&s->sealed[i]);
	s->nsealed = 0;
	for (size_t i = 0; i < s->ndirty; i++)
		close(s->dirty_fds[i]);
	s->ndirty = 0;
	s->seg_dirty = false;
	s->pending = 0;
	return 0;
}

static int compact(struct logstore *s, int64_t now, struct diag *d);

int logstore_commit(struct logstore *s, int64_t now, logstore_commit_fn *fn, void *udata,
                    struct diag *d)
{
	int r;

	if (s->read_only)
		return diag_set(d, -EPERM, "log index opened read-only");
	r = commit_sealed(s, fn, udata, d);
	if (r == 0)
		r = enforce_bounds(s, now, d);
	if (r == 0 && now - s->last_compact >= COMPACT_MS) {
		s->last_compact = now;
		r = compact(s, now, d);
	}
	return r;
}

/* ---- read ---------------------------------------------------------------------------- */

struct line_ref {
	int64_t ts;
	uint32_t stream;
	uint32_t off, len;
};

/* Each line: zigzag delta of its time from the previous line's (the first line's from 0),
 * stream id, length, bytes. */
static int decode_block(const uint8_t *p, size_t n, struct line_ref **refs, size_t *nrefs,
                        size_t *arefs)
{
	const uint8_t *q = p, *end = p + n;
	int64_t ts = 0;

	*nrefs = 0;
	while (q < end) {
		uint64_t zz, stream, len;
		if (get_varint(&q, end, &zz) < 0 || get_varint(&q, end, &stream) < 0 ||
		    get_varint(&q, end, &len) < 0 || len > (uint64_t)(end - q))
			return -EPROTO;
		ts += (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
		ALLOC_GROW(*refs, *nrefs + 1, *arefs);
		(*refs)[*nrefs].ts = ts;
		(*refs)[*nrefs].stream = (uint32_t)stream;
		(*refs)[*nrefs].off = (uint32_t)(q - p);
		(*refs)[*nrefs].len = (uint32_t)len;
		(*nrefs)++;
		q += len;
	}
	return 0;
}

struct scan_ctx {
	struct line_ref *refs;
	size_t nrefs, arefs;
	uint8_t *raw, *comp;
	size_t raw_cap, comp_cap;
};

static int emit_lines(struct scan_ctx *c, const uint8_t *raw, int64_t start, int64_t end,
                      bool backward, logstore_line_fn *lfn, void *udata,
                      struct logstore_scan_stats *st)
{
	for (size_t k = 0; k < c->nrefs; k++) {
		size_t i = backward ? c->nrefs - 1 - k : k;
		const struct line_ref *l = &c->refs[i];
		int r;
		if (l->ts < start || l->ts > end)
			continue;
		st->lines_read++;
		r = lfn(udata, l->ts, l->stream, (const char *)raw + l->off, l->len);
		if (r)
			return r;
	}
	return 0;
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;

	while (n) {
		ssize_t g = pread(fd, c, n, (off_t)off);
		if (g < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (g == 0)
			return -EPROTO;
		c += g;
		n -= (size_t)g;
		off += (uint64_t)g;
	}
	return 0;
}

static int read_block(struct logstore *s, struct scan_ctx *c, int *fd, uint64_t *fd_seg,
                      uint64_t seg, uint64_t off, uint64_t len, uint64_t raw_len)
{
	size_t got;

	if (len < BLOCK_HDR ||
	    len > ZSTD_compressBound((size_t)LOGSTORE_BLOCK_RAW * 2) + BLOCK_HDR ||
	    raw_len > (uint64_t)LOGSTORE_BLOCK_RAW * 2)
		return -EPROTO;
	if (*fd < 0 || *fd_seg != seg) {
		char *p = seg_path(s, seg);
		if (*fd >= 0)
			close(*fd);
		*fd = open(p, O_RDONLY | O_CLOEXEC);
		free(p);
		if (*fd < 0)
			return -errno;
		*fd_seg = seg;
	}
	if (len > c->comp_cap) {
		free(c->comp);
		c->comp = xmalloc(len);
		c->comp_cap = len;
	}
	if (raw_len + 1 > c->raw_cap) {
		free(c->raw);
		c->raw = xmalloc(raw_len + 1);
		c->raw_cap = raw_len + 1;
	}
	if (pread_all(*fd, c->comp, len, off) < 0)
		return -EPROTO;
	if (read_le32(c->comp) != BLOCK_MAGIC || read_le32(c->comp + 4) != raw_len ||
	    read_le32(c->comp + 8) != len - BLOCK_HDR ||
	    read_le64(c->comp + 16) != XXH64(c->comp + BLOCK_HDR, len - BLOCK_HDR, 0))
		return -EPROTO;
	got = ZSTD_decompress(c->raw, raw_len, c->comp + BLOCK_HDR, len - BLOCK_HDR);
	if (ZSTD_isError(got) || got != raw_len)
		return -EPROTO;
	return decode_block(c->raw, raw_len, &c->refs, &c->nrefs, &c->arefs);
}

/* The open block (lines not yet committed, only in the writer) is the newest. */
static int scan_open_block(struct logstore *s, struct scan_ctx *c, int64_t start, int64_t end,
                           bool backward, logstore_block_fn *bfn, logstore_line_fn *lfn,
                           void *udata, struct logstore_scan_stats *st)
{
	struct logstore_block_info bi = { s->t_min,    s->t_max,     s->nlines,
		                          s->bstreams, s->nbstreams, s->grams };
	int want, r;

	if (!s->nlines || s->t_max < start || s->t_min > end)
		return 0;
	st->blocks_total++;
	want = bfn ? bfn(udata, &bi) : 1;
	if (want <= 0)
		return want < 0 ? 1 : 0;
	st->blocks_read++;
	r = decode_block((const uint8_t *)s->payload.data, s->payload.len, &c->refs, &c->nrefs,
	                 &c->arefs);
	if (r < 0)
		return r;
	return emit_lines(c, (const uint8_t *)s->payload.data, start, end, backward, lfn, udata,
	                  st);
}

int logstore_scan(struct logstore *s, int64_t start, int64_t end, bool backward,
                  logstore_block_fn *bfn, logstore_line_fn *lfn, void *udata,
                  struct logstore_scan_stats *st, struct diag *d)
{
	uint8_t grams[LOGSTORE_GRAM_BYTES];
	struct scan_ctx c = { 0 };
	struct logstore_scan_stats dummy;
	sqlite3_stmt *q = NULL;
	uint64_t fd_seg = 0;
	int fd = -1, r = 0;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (backward) {
		r = scan_open_block(s, &c, start, end, true, bfn, lfn, udata, st);
		if (r)
			goto out;
	}
	r = db_prepare(s->db,
	               backward ? "SELECT seg, off, len, raw_len, nlines, t_min, t_max, streams, "
	                          "grams FROM blocks WHERE t_max >= ?1 AND t_min <= ?2 "
	                          "ORDER BY t_max DESC, id DESC"
	                        : "SELECT seg, off, len, raw_len, nlines, t_min, t_max, streams, "
	                          "grams FROM blocks WHERE t_max >= ?1 AND t_min <= ?2 "
	                          "ORDER BY t_min ASC, id ASC",
	               &q, d);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(q, 1, start);
	sqlite3_bind_int64(q, 2, end);
	for (;;) {
		struct logstore_block_info bi;
		int sb, gb, want, step = sqlite3_step(q);

		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(s->db));
			goto out;
		}
		st->blocks_total++;
		sb = sqlite3_column_bytes(q, 7);
		gb = sqlite3_column_bytes(q, 8);
		bi.t_min = sqlite3_column_int64(q, 5);
		bi.t_max = sqlite3_column_int64(q, 6);
		bi.nlines = (uint32_t)sqlite3_column_int64(q, 4);
		bi.streams = sqlite3_column_blob(q, 7);
		bi.nstreams = (size_t)sb / sizeof(uint32_t);
		if (gb == (int)LOGSTORE_GRAM_BYTES) {
			bi.grams = sqlite3_column_blob(q, 8);
		} else {
			size_t got = ZSTD_decompress(grams, sizeof(grams),
			                             sqlite3_column_blob(q, 8), (size_t)gb);
			if (ZSTD_isError(got) || got != LOGSTORE_GRAM_BYTES)
				gb = -1;
			bi.grams = grams;
		}
		if (gb < 0 || (sb % 4) != 0) {
			st->corrupt_blocks++;
			continue;
		}
		want = bfn ? bfn(udata, &bi) : 1;
		if (want < 0)
			break;
		if (want == 0)
			continue;
		st->blocks_read++;
		if (read_block(s, &c, &fd, &fd_seg, (uint64_t)sqlite3_column_int64(q, 0),
		               (uint64_t)sqlite3_column_int64(q, 1),
		               (uint64_t)sqlite3_column_int64(q, 2),
		               (uint64_t)sqlite3_column_int64(q, 3)) < 0) {
			/* a segment dropped by retention under a reader, or damage: never trusted */
			st->corrupt_blocks++;
			continue;
		}
		r = emit_lines(&c, c.raw, start, end, backward, lfn, udata, st);
		if (r)
			goto out;
	}
	if (!backward)
		r = scan_open_block(s, &c, start, end, false, bfn, lfn, udata, st);
out:
	sqlite3_finalize(q);
	if (fd >= 0)
		close(fd);
	free(c.refs);
	free(c.raw);
	free(c.comp);
	return r < 0 ? r : 0;
}

int logstore_streams(struct logstore *s, logstore_stream_fn *fn, void *udata, struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_prepare(s->db, "SELECT id, labels FROM streams ORDER BY id", &st, d);

	if (r < 0)
		return r;
	while (r == 0 && sqlite3_step(st) == SQLITE_ROW)
		r = fn(udata, (uint32_t)sqlite3_column_int64(st, 0),
		       (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	return r;
}

static uint64_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

int logstore_stats(struct logstore *s, struct logstore_stats *st, struct diag *d)
{
	sqlite3_stmt *q;
	char *p;
	int r;

	memset(st, 0, sizeof(*st));
	r = db_prepare(s->db,
	               "SELECT COALESCE(SUM(len),0), COALESCE(SUM(raw_len),0), "
	               "COALESCE(SUM(nlines),0), COUNT(*), MIN(t_min), MAX(t_max) FROM blocks",
	               &q, d);
	if (r < 0)
		return r;
	if (sqlite3_step(q) == SQLITE_ROW) {
		st->segment_bytes = (uint64_t)sqlite3_column_int64(q, 0);
		st->raw_bytes = (uint64_t)sqlite3_column_int64(q, 1);
		st->lines = (uint64_t)sqlite3_column_int64(q, 2);
		st->blocks = (uint64_t)sqlite3_column_int64(q, 3);
		st->t_min = sqlite3_column_int64(q, 4);
		st->t_max = sqlite3_column_int64(q, 5);
	}
	sqlite3_finalize(q);
	st->streams = s->nstreams;
	p = xasprintf("%s/index.sqlite", s->dir);
	st->index_bytes = file_size(p);
	free(p);
	p = xasprintf("%s/index.sqlite-wal", s->dir);
	st->index_bytes += file_size(p);
	free(p);
	return 0;
}

/* ---- compaction ---------------------------------------------------------------------- */

static int delete_merged(void *udata, sqlite3 *db, struct diag *d)
{
	struct logstore *s = udata;
	sqlite3_stmt *st;
	int r = db_prepare(db, "DELETE FROM blocks WHERE id = ?", &st, d);

	for (size_t i = 0; r == 0 && i < s->nmerged; i++) {
		sqlite3_bind_int64(st, 1, s->merged[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = diag_set(d, -EIO, "sqlite: %s", sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

/* A quiet host commits a few lines a second, each commit a block of its own. Merge runs
 * of small blocks into one: the merged block is written and synced, then one
 * transaction inserts it and deletes the blocks it replaces, so a crash leaves either
 * the old blocks or the new one. The old bytes stay in their segment until it is
 * dropped. Called right after a commit, with no lines pending. */
static int compact(struct logstore *s, int64_t now, struct diag *d)
{
	struct scan_ctx c = { 0 };
	sqlite3_stmt *q;
	uint64_t fd_seg = 0, total = 0;
	size_t amerged = 0;
	int fd = -1, r;

	(void)now;
	if (s->nlines || s->nsealed)
		return 0;
	r = db_prepare(s->db,
	               "SELECT id, seg, off, len, raw_len FROM blocks WHERE raw_len < ?1 "
	               "ORDER BY id LIMIT 256",
	               &q, d);
	if (r < 0)
		return r;
	sqlite3_bind_int64(q, 1, SMALL_BLOCK);
	s->nmerged = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		uint64_t raw = (uint64_t)sqlite3_column_int64(q, 4);
		if (total + raw > LOGSTORE_BLOCK_RAW / 2)
			break;
		if (read_block(s, &c, &fd, &fd_seg, (uint64_t)sqlite3_column_int64(q, 1),
		               (uint64_t)sqlite3_column_int64(q, 2),
		               (uint64_t)sqlite3_column_int64(q, 3), raw) < 0)
			continue; /* damaged: left for readers to skip */
		for (size_t i = 0; r == 0 && i < c.nrefs; i++)
			r = append_line(s, c.refs[i].ts, c.refs[i].stream,
			                (const char *)c.raw + c.refs[i].off, c.refs[i].len, d);
		if (r < 0)
			break;
		ALLOC_GROW(s->merged, s->nmerged + 1, amerged);
		s->merged[s->nmerged++] = sqlite3_column_int64(q, 0);
		total += raw;
	}
	sqlite3_finalize(q);
	if (fd >= 0)
		close(fd);
	free(c.refs);
	free(c.raw);
	free(c.comp);
	if (r == 0 && s->nmerged >= COMPACT_MIN)
		r = commit_sealed(s, delete_merged, s, d);
	if (s->nsealed) {
		/* the merged block was written but not committed: its bytes are dead */
		for (size_t i = 0; i < s->nsealed; i++)
			sealed_free(&s->sealed[i]);
		s->nsealed = 0;
	}
	if (s->nlines) {
		/* too few to be worth it, or a failure: forget the copy */
		buf_reset(&s->payload);
		s->nlines = 0;
		s->nbstreams = 0;
		memset(s->grams, 0, sizeof(s->grams));
	}
	FREE_AND_NULL(s->merged);
	s->nmerged = 0;
	return r;
}
