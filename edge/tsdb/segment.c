/* segment.c - write and load the TSDB's immutable files (layout in segment.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "edge/tsdb/segment.h"
#include "shared/alloc.h"
#include "shared/limits.h"
#include "shared/banned.h"

static const char seg_magic[8] = { 'O', 'G', 'T', 'S', 'D', 'B', '0', '1' };
#define SEG_VERSION    1
/* Records are written through this buffer; one write per 64 KiB. */
#define SEGW_BUF_BYTES (64u << 10)

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPROTO; /* shorter than its header says: torn */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- loading ---- */

/* A bounds-checked cursor over the index section. */
struct cur {
	const uint8_t *p, *end;
};

static const uint8_t *take(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if ((size_t)(c->end - c->p) < n)
		return NULL;
	c->p += n;
	return p;
}

static bool name_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
		          (i > 0 && ch >= '0' && ch <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* Parse one series entry into lbl (strings copied into sbuf, NUL-terminated). */
static int parse_entry(struct cur *c, struct label *lbl, size_t *ret_nl, char *sbuf,
                       size_t sbuf_len, int64_t *mint, int64_t *maxt, uint64_t *off, uint32_t *len,
                       uint32_t *nsamples)
{
	const uint8_t *p = take(c, 2);
	size_t nl, used = 0;

	if (!p)
		return -EPROTO;
	nl = get_u16(p);
	if (nl == 0 || nl > ONGRID_TSDB_MAX_LABELS)
		return -EPROTO;
	for (size_t i = 0; i < nl; i++) {
		for (int part = 0; part < 2; part++) {
			const uint8_t *q = take(c, 2), *s;
			size_t n;
			if (!q)
				return -EPROTO;
			n = get_u16(q);
			s = take(c, n);
			if (!s || n > ONGRID_TSDB_MAX_LABEL_BYTES || used + n + 1 > sbuf_len ||
			    (part == 1 && n == 0) || memchr(s, '\0', n))
				return -EPROTO;
			if (part == 0 && !name_valid((const char *)s, n))
				return -EPROTO;
			memcpy(sbuf + used, s, n);
			sbuf[used + n] = '\0';
			if (part == 0)
				lbl[i].name = sbuf + used;
			else
				lbl[i].value = sbuf + used;
			used += n + 1;
		}
		if (i > 0 && strcmp(lbl[i - 1].name, lbl[i].name) >= 0)
			return -EPROTO; /* sorted and unique */
	}
	p = take(c, 8 + 8 + 8 + 4 + 4);
	if (!p)
		return -EPROTO;
	*mint = (int64_t)get_u64(p);
	*maxt = (int64_t)get_u64(p + 8);
	*off = get_u64(p + 16);
	*len = get_u32(p + 24);
	*nsamples = get_u32(p + 28);
	*ret_nl = nl;
	return *mint <= *maxt ? 0 : -EPROTO;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct seg_entry *x = a, *y = b;

	return x->sidx < y->sidx ? -1 : x->sidx > y->sidx;
}

/* Walk the index twice: first only to validate (so a corrupt file creates no series),
 * then to intern the series and build the entries. */
static int parse_index(struct seg *s, const uint8_t *idx, size_t idx_len, uint32_t nseries,
                       uint64_t index_off, seg_intern_fn *intern, void *udata, struct diag *d)
{
	struct label lbl[ONGRID_TSDB_MAX_LABELS];
	size_t sbuf_len = (size_t)ONGRID_TSDB_MAX_LABELS * 2 * (ONGRID_TSDB_MAX_LABEL_BYTES + 1);
	char *sbuf = xmalloc(sbuf_len);
	size_t k = 0;
	int r = 0;

	for (int pass = 0; pass < 2 && r == 0; pass++) {
		struct cur c = { idx + s->nparents * 8, idx + idx_len };
		k = 0;
		for (uint32_t i = 0; i < nseries; i++) {
			int64_t mint, maxt;
			uint64_t off;
			uint32_t len, ns, sidx;
			size_t nl;

			r = parse_entry(&c, lbl, &nl, sbuf, sbuf_len, &mint, &maxt, &off, &len,
			                &ns);
			if (r < 0) {
				diag_set(d, -EPROTO, "series %u of the index is malformed", i);
				break;
			}
			if (off < SEG_HEADER_BYTES || len < 12 || off + len > index_off ||
			    mint < s->mint || maxt > s->maxt) {
				r = diag_set(d, -EPROTO,
				             "series %u points outside the file's records", i);
				break;
			}
			if (pass == 0)
				continue;
			s->samples += ns;
			r = intern(udata, lbl, nl, maxt, &sidx);
			if (r < 0) {
				diag_set(d, r, "cannot index series %u", i);
				break;
			}
			if (r > 0) { /* left out of memory */
				r = 0;
				continue;
			}
			s->ent[k++] = (struct seg_entry){ sidx, len, off };
		}
		if (r == 0 && c.p != c.end)
			r = diag_set(d, -EPROTO, "index has %zu trailing bytes",
			             (size_t)(c.end - c.p));
	}
	free(sbuf);
	if (r < 0)
		return r;
	s->nent = k;
	qsort(s->ent, s->nent, sizeof(*s->ent), cmp_entry);
	for (size_t i = 1; i < s->nent; i++)
		if (s->ent[i].sidx == s->ent[i - 1].sidx)
			return diag_set(d, -EPROTO, "a series appears twice in the index");
	return 0;
}

/* Read, verify and parse the index into a fresh entry array; on success it replaces
 * s->ent (and, at load, fills s->parents). */
static int read_index(struct seg *s, seg_intern_fn *intern, void *udata, bool first, struct diag *d)
{
	uint8_t *idx = xmalloc(s->index_len ? s->index_len : 1);
	struct seg_entry *old_ent = s->ent;
	size_t old_nent = s->nent;
	uint64_t old_samples = s->samples;
	int r = pread_full(s->fd, idx, s->index_len, s->index_off);

	if (r < 0) {
		diag_set(d, r, "cannot read the index");
		goto out;
	}
	if (XXH3_64bits(idx, s->index_len) != s->index_hash) {
		r = diag_set(d, -EPROTO, "index checksum mismatch");
		goto out;
	}
	if (first)
		for (size_t i = 0; i < s->nparents; i++)
			s->parents[i] = get_u64(idx + 8 * i);
	s->nent = s->nseries;
	s->ent = xcalloc(s->nseries ? s->nseries : 1, sizeof(*s->ent));
	s->samples = 0;
	r = parse_index(s, idx, s->index_len, s->nseries, s->index_off, intern, udata, d);
	if (r < 0) {
		free(s->ent);
		s->ent = old_ent;
		s->nent = old_nent;
		s->samples = old_samples;
		goto out;
	}
	free(old_ent);
	s->dropped = s->nseries - s->nent;
	if (s->dropped)
		s->ent = xrealloc(s->ent, (s->nent ? s->nent : 1) * sizeof(*s->ent));
out:
	free(idx);
	return r;
}

int seg_reindex(struct seg *s, seg_intern_fn *intern, void *udata, struct diag *d)
{
	return read_index(s, intern, udata, false, d);
}

int seg_load(const char *path, seg_intern_fn *intern, void *udata, struct seg **ret, struct diag *d)
{
	uint8_t h[SEG_HEADER_BYTES];
	uint64_t index_off, index_hash;
	uint32_t index_len, nseries;
	struct seg *s;
	struct stat st;
	int r;

	s = xcalloc(1, sizeof(*s));
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		r = -errno;
		diag_set(d, r, "cannot open: %s", strerror(-r));
		goto fail;
	}
	s->path = xstrdup(path);
	if (fstat(s->fd, &st) < 0) {
		r = diag_set(d, -errno, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (st.st_size < SEG_HEADER_BYTES) {
		r = diag_set(d, -EPROTO, "truncated: %lld bytes, shorter than the header",
		             (long long)st.st_size);
		goto fail;
	}
	r = pread_full(s->fd, h, sizeof(h), 0);
	if (r < 0) {
		diag_set(d, r, "cannot read the header");
		goto fail;
	}
	if (memcmp(h, seg_magic, sizeof(seg_magic)) != 0) {
		r = diag_set(d, -EPROTO, "not a time-series file (bad magic)");
		goto fail;
	}
	if (XXH3_64bits(h, 72) != get_u64(h + 72)) {
		r = diag_set(d, -EPROTO, "header checksum mismatch");
		goto fail;
	}
	if (get_u32(h + 8) != SEG_VERSION) {
		r = diag_set(d, -EPROTO, "unsupported version %u", get_u32(h + 8));
		goto fail;
	}
	s->level = get_u32(h + 12);
	s->seq = get_u64(h + 16);
	s->mint = (int64_t)get_u64(h + 24);
	s->maxt = (int64_t)get_u64(h + 32);
	index_off = get_u64(h + 40);
	index_len = get_u32(h + 48);
	nseries = get_u32(h + 52);
	s->nparents = get_u32(h + 56);
	index_hash = get_u64(h + 64);
	s->bytes = (uint64_t)st.st_size;
	if (index_off < SEG_HEADER_BYTES || index_off + index_len != (uint64_t)st.st_size) {
		r = diag_set(d, -EPROTO, "torn: size %llu, header says %llu",
		             (unsigned long long)st.st_size,
		             (unsigned long long)index_off + index_len);
		goto fail;
	}
	if (index_len > ONGRID_TSDB_MAX_INDEX_BYTES || nseries > ONGRID_TSDB_MAX_SERIES ||
	    s->nparents > index_len / 8 || s->mint > s->maxt) {
		r = diag_set(d, -EPROTO, "header out of range");
		goto fail;
	}
	s->parents = xcalloc(s->nparents ? s->nparents : 1, sizeof(*s->parents));
	s->index_off = index_off;
	s->index_len = index_len;
	s->index_hash = index_hash;
	s->nseries = nseries;
	r = read_index(s, intern, udata, true, d);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	seg_free(s);
	return r;
}

void seg_free(struct seg *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s->ent);
	free(s->parents);
	free(s);
}

void seg_drop_entries(struct seg *s, const uint64_t *drop, size_t nbits)
{
	size_t k = 0;

	for (size_t i = 0; i < s->nent; i++) {
		uint32_t x = s->ent[i].sidx;
		if (x < nbits && (drop[x / 64] >> (x % 64) & 1))
			continue;
		s->ent[k++] = s->ent[i];
	}
	if (k == s->nent)
		return;
	s->dropped += s->nent - k;
	s->nent = k;
	/* give the memory back: a file of old series may keep none of them */
	s->ent = xrealloc(s->ent, (k ? k : 1) * sizeof(*s->ent));
}

const struct seg_entry *seg_find(const struct seg *s, uint32_t sidx)
{
	size_t lo = 0, hi = s->nent;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ent[mid].sidx == sidx)
			return &s->ent[mid];
		if (s->ent[mid].sidx < sidx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int seg_rec_read(const struct seg *s, const struct seg_entry *e, struct seg_rec *r)
{
	const uint8_t *p, *data, *end;
	uint32_t nch;
	int err;

	r->nch = 0;
	if (e->len > ONGRID_TSDB_MAX_RECORD_BYTES || e->len < 12)
		return -EPROTO;
	if (r->cap < e->len) {
		free(r->buf);
		r->buf = xmalloc(e->len);
		r->cap = e->len;
	}
	err = pread_full(s->fd, r->buf, e->len, e->off);
	if (err < 0)
		return err;
	p = r->buf;
	end = p + e->len;
	if (XXH3_64bits(p + 8, e->len - 8) != get_u64(p))
		return -EPROTO;
	nch = get_u32(p + 8);
	if (nch > (e->len - 12) / SEG_CHUNK_META_BYTES)
		return -EPROTO;
	ALLOC_GROW(r->ch, nch, r->ach);
	data = p + 12 + (size_t)nch * SEG_CHUNK_META_BYTES;
	for (uint32_t i = 0; i < nch; i++) {
		const uint8_t *m = p + 12 + (size_t)i * SEG_CHUNK_META_BYTES;
		struct seg_chunk *c = &r->ch[i];

		c->mint = (int64_t)get_u64(m);
		c->maxt = (int64_t)get_u64(m + 8);
		c->len = get_u32(m + 16);
		if (c->len > (size_t)(end - data) || c->mint > c->maxt)
			return -EPROTO;
		c->data = data;
		data += c->len;
	}
	if (data != end)
		return -EPROTO;
	r->nch = nch;
	return 0;
}

void seg_rec_release(struct seg_rec *r)
{
	free(r->buf);
	free(r->ch);
	memset(r, 0, sizeof(*r));
}

/* ---- writing ---- */

struct segw {
	int fd;
	char *tmp, *final;
	uint64_t seq, off;
	uint32_t level, nseries, nparents;
	int64_t mint, maxt;
	uint8_t *wbuf;
	size_t wlen;
	uint8_t *idx; /* parents, then series entries */
	size_t idx_len, idx_cap;
	uint8_t *rec;
	size_t rec_cap;
};

static void idx_add(struct segw *w, const void *p, size_t n)
{
	ALLOC_GROW(w->idx, st_add(w->idx_len, n), w->idx_cap);
	memcpy(w->idx + w->idx_len, p, n);
	w->idx_len += n;
}

static int wflush(struct segw *w)
{
	int r = write_full(w->fd, w->wbuf, w->wlen);

	w->wlen = 0;
	return r;
}

static int wadd(struct segw *w, const uint8_t *p, size_t n)
{
	int r;

	if (w->wlen + n > SEGW_BUF_BYTES) {
		r = wflush(w);
		if (r < 0)
			return r;
	}
	if (n > SEGW_BUF_BYTES)
		return write_full(w->fd, p, n);
	memcpy(w->wbuf + w->wlen, p, n);
	w->wlen += n;
	return 0;
}

int segw_open(const char *dir, uint64_t seq, uint32_t level, const uint64_t *parents,
              size_t nparents, struct segw **ret, struct diag *d)
{
	struct segw *w = xcalloc(1, sizeof(*w));
	uint8_t zero[SEG_HEADER_BYTES] = { 0 };
	int r;

	w->final = xasprintf("%s/%016llx.seg", dir, (unsigned long long)seq);
	w->tmp = xasprintf("%s.tmp", w->final);
	w->seq = seq;
	w->level = level;
	w->nparents = (uint32_t)nparents;
	w->mint = INT64_MAX;
	w->maxt = INT64_MIN;
	w->wbuf = xmalloc(SEGW_BUF_BYTES);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		r = -errno;
		diag_set(d, r, "cannot create '%s': %s", w->tmp, strerror(-r));
		w->fd = -1;
		segw_abort(w);
		return r;
	}
	for (size_t i = 0; i < nparents; i++) {
		uint8_t b[8];
		put_u64(b, parents[i]);
		idx_add(w, b, 8);
	}
	w->off = SEG_HEADER_BYTES;
	r = wadd(w, zero, sizeof(zero));
	if (r < 0) {
		diag_set(d, r, "cannot write '%s': %s", w->tmp, strerror(-r));
		segw_abort(w);
		return r;
	}
	*ret = w;
	return 0;
}

int segw_add(struct segw *w, const struct label *l, size_t nl, const struct seg_chunk *ch, size_t n,
             uint64_t nsamples, struct diag *d)
{
	size_t len = 12 + n * SEG_CHUNK_META_BYTES, pos;
	uint8_t b[32];
	int r;

	if (n == 0 || nl == 0 || nl > ONGRID_TSDB_MAX_LABELS || nsamples > UINT32_MAX)
		return diag_set(d, -EINVAL, "bad series for a segment");
	for (size_t i = 0; i < n; i++)
		len = st_add(len, ch[i].len);
	if (len > ONGRID_TSDB_MAX_RECORD_BYTES)
		return diag_set(d, -E2BIG, "series '%s' has %zu bytes for one file, over %u",
		                l[0].value, len, ONGRID_TSDB_MAX_RECORD_BYTES);
	ALLOC_GROW(w->rec, len, w->rec_cap);
	put_u32(w->rec + 8, (uint32_t)n);
	pos = 12 + n * SEG_CHUNK_META_BYTES;
	for (size_t i = 0; i < n; i++) {
		uint8_t *m = w->rec + 12 + i * SEG_CHUNK_META_BYTES;
		put_u64(m, (uint64_t)ch[i].mint);
		put_u64(m + 8, (uint64_t)ch[i].maxt);
		put_u32(m + 16, ch[i].len);
		memcpy(w->rec + pos, ch[i].data, ch[i].len);
		pos += ch[i].len;
	}
	put_u64(w->rec, XXH3_64bits(w->rec + 8, len - 8));
	r = wadd(w, w->rec, len);
	if (r < 0)
		return diag_set(d, r, "cannot write '%s': %s", w->tmp, strerror(-r));

	put_u16(b, (uint16_t)nl);
	idx_add(w, b, 2);
	for (size_t i = 0; i < nl; i++) {
		size_t nn = strlen(l[i].name), vn = strlen(l[i].value);
		put_u16(b, (uint16_t)nn);
		idx_add(w, b, 2);
		idx_add(w, l[i].name, nn);
		put_u16(b, (uint16_t)vn);
		idx_add(w, b, 2);
		idx_add(w, l[i].value, vn);
	}
	put_u64(b, (uint64_t)ch[0].mint);
	put_u64(b + 8, (uint64_t)ch[n - 1].maxt);
	put_u64(b + 16, w->off);
	put_u32(b + 24, (uint32_t)len);
	put_u32(b + 28, (uint32_t)nsamples);
	idx_add(w, b, 32);
	if (ch[0].mint < w->mint)
		w->mint = ch[0].mint;
	if (ch[n - 1].maxt > w->maxt)
		w->maxt = ch[n - 1].maxt;
	w->off += len;
	w->nseries++;
	if (w->idx_len > ONGRID_TSDB_MAX_INDEX_BYTES)
		return diag_set(d, -E2BIG, "segment index over %u bytes",
		                ONGRID_TSDB_MAX_INDEX_BYTES);
	return 0;
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int segw_finish(struct segw *w, char **ret_path, struct diag *d)
{
	uint8_t h[SEG_HEADER_BYTES] = { 0 };
	int r;

	r = wflush(w);
	if (r == 0)
		r = write_full(w->fd, w->idx, w->idx_len);
	if (r < 0) {
		diag_set(d, r, "cannot write '%s': %s", w->tmp, strerror(-r));
		goto fail;
	}
	memcpy(h, seg_magic, sizeof(seg_magic));
	put_u32(h + 8, SEG_VERSION);
	put_u32(h + 12, w->level);
	put_u64(h + 16, w->seq);
	put_u64(h + 24, (uint64_t)(w->nseries ? w->mint : 0));
	put_u64(h + 32, (uint64_t)(w->nseries ? w->maxt : 0));
	put_u64(h + 40, w->off);
	put_u32(h + 48, (uint32_t)w->idx_len);
	put_u32(h + 52, w->nseries);
	put_u32(h + 56, w->nparents);
	put_u64(h + 64, XXH3_64bits(w->idx, w->idx_len));
	put_u64(h + 72, XXH3_64bits(h, 72));
	if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		r = diag_set(d, -EIO, "cannot write the header of '%s'", w->tmp);
		goto fail;
	}
	if (fsync(w->fd) < 0) {
		r = diag_set(d, -errno, "cannot fsync '%s': %s", w->tmp, strerror(errno));
		goto fail;
	}
	r = close(w->fd);
	w->fd = -1;
	if (r < 0) {
		r = diag_set(d, -errno, "cannot close '%s': %s", w->tmp, strerror(errno));
		goto fail;
	}
	if (rename(w->tmp, w->final) < 0) {
		r = diag_set(d, -errno, "cannot rename '%s': %s", w->tmp, strerror(errno));
		goto fail;
	}
	r = fsync_dir(w->final);
	if (r < 0) {
		/* the file is complete under its final name; only its durability is unknown */
		diag_set(d, r, "cannot fsync the directory of '%s': %s", w->final, strerror(-r));
		goto fail_renamed;
	}
	*ret_path = w->final;
	w->final = NULL;
	segw_abort(w);
	return 0;
fail_renamed:
	(void)unlink(w->final);
fail:
	segw_abort(w);
	return r;
}

void segw_abort(struct segw *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		(void)unlink(w->tmp); /* after a successful rename: a harmless ENOENT */
	free(w->tmp);
	free(w->final);
	free(w->wbuf);
	free(w->idx);
	free(w->rec);
	free(w);
}
