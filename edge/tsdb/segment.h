/* segment.h - the TSDB's immutable on-disk files (internal to edge/tsdb).
 *
 * A segment holds, for each series it covers, the label set and one record of encoded
 * chunks. It is written once to "<seq>.seg.tmp", fsynced, renamed to "<seq>.seg" and the
 * directory fsynced, so a file under its final name is always complete. Layout (all
 * integers little endian):
 *
 *   header (80 bytes)  magic "OGTSDB01", u32 version, u32 level, u64 seq, i64 mint,
 *                      i64 maxt, u64 index_off, u32 index_len, u32 nseries, u32 nparents,
 *                      u32 zero, u64 XXH3 of the index section, u64 XXH3 of bytes 0..71
 *   records            per series: u64 XXH3 of the rest, u32 nchunks,
 *                      nchunks x (i64 mint, i64 maxt, u32 len), then the chunk bytes
 *   index section      nparents x u64 seq (files this one replaces), then per series:
 *                      u16 nlabels, nlabels x (u16 len, name, u16 len, value),
 *                      i64 mint, i64 maxt, u64 record offset, u32 record len, u32 nsamples
 *
 * Opening a segment checks the header, the file size and the index checksum and parses
 * the index with bounds checks, keeping only 16 bytes per series in memory; a record's
 * checksum is checked each time it is read (queries and compaction), so a bad disk block
 * costs that series' data in that file, never a crash or wrong samples.
 *
 * The store may drop the entries of series it no longer holds in memory (seg_drop_entries)
 * and read them back from the index when a query or a merge needs them (seg_reindex).
 */
#ifndef ONGRID_TSDB_SEGMENT_H
#define ONGRID_TSDB_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "edge/tsdb/tsdb.h"
#include "shared/diag.h"

#define SEG_HEADER_BYTES     80
#define SEG_CHUNK_META_BYTES 20

struct seg_entry {
	uint32_t sidx; /* the store's series index (ref - 1) */
	uint32_t len;  /* record length */
	uint64_t off;  /* record offset */
};

struct seg {
	int fd;
	char *path;
	uint64_t seq;
	uint32_t level;
	int64_t mint, maxt;
	uint64_t bytes, samples;
	struct seg_entry *ent; /* sorted by sidx */
	size_t nent;
	size_t dropped; /* series in the file left out of ent (seg_drop_entries) */
	uint64_t *parents;
	size_t nparents;
	uint64_t index_off, index_hash; /* where seg_reindex finds the index again */
	uint32_t index_len, nseries;
};

/* Called once per series while a segment loads: map the label set (sorted, validated)
 * to the store's series index, creating the series when needed. Returns 0, a negative
 * errno, or (seg_reindex only) 1 to leave the series out of the entries. */
typedef int seg_intern_fn(void *udata, const struct label *l, size_t n, int64_t maxt,
                          uint32_t *ret_sidx);

/* Open and verify path. -EPROTO (d says what is wrong) for a torn or corrupt file. */
int seg_load(const char *path, seg_intern_fn *intern, void *udata, struct seg **ret,
             struct diag *d);
/* Close the fd and free. NULL-safe. */
void seg_free(struct seg *s);
const struct seg_entry *seg_find(const struct seg *s, uint32_t sidx);
/* Drop the entries whose series index is set in the bitmap drop (one bit per index, at
 * least nbits long); they count in s->dropped until seg_reindex brings them back. */
void seg_drop_entries(struct seg *s, const uint64_t *drop, size_t nbits);
/* Read the index again and rebuild the entries, calling intern for every series in it,
 * dropped ones included; those it answers 1 for stay dropped. The file was checked at
 * load; a failure here (-EPROTO: it changed under us) keeps the old entries. */
int seg_reindex(struct seg *s, seg_intern_fn *intern, void *udata, struct diag *d);

struct seg_chunk {
	int64_t mint, maxt;
	const uint8_t *data;
	uint32_t len;
};

/* A record read into a reusable buffer; chunks point into buf. */
struct seg_rec {
	uint8_t *buf;
	size_t cap;
	struct seg_chunk *ch;
	size_t nch, ach;
};
/* Read and verify one record. -EPROTO when its checksum or layout is wrong. */
int seg_rec_read(const struct seg *s, const struct seg_entry *e, struct seg_rec *r);
void seg_rec_release(struct seg_rec *r);

struct segw;
/* Start "<dir>/<seq>.seg.tmp". parents lists the segments the new one replaces. */
int segw_open(const char *dir, uint64_t seq, uint32_t level, const uint64_t *parents,
              size_t nparents, struct segw **ret, struct diag *d);
/* Add one series (labels sorted by name) with its chunks in time order. */
int segw_add(struct segw *w, const struct label *l, size_t nl, const struct seg_chunk *ch, size_t n,
             uint64_t nsamples, struct diag *d);
/* Write the index and header, fsync, rename into place, fsync the directory. Frees w;
 * on success *ret_path is the final path (caller frees). On failure the tmp file is gone. */
int segw_finish(struct segw *w, char **ret_path, struct diag *d);
/* Discard an unfinished segment. NULL-safe. */
void segw_abort(struct segw *w);

#endif
