/* kb.h - full-text search over a directory of runbooks (Markdown or text), ranked with
 * BM25 (k1 1.2, b 0.75) over lowercase word tokens; a hit in a document's title (its
 * first "# " heading, else its file name) counts three times. Bounded: KB_MAX_FILES files
 * of at most KB_MAX_FILE_BYTES each, KB_MAX_DEPTH directories deep, symlinks not followed.
 */
#ifndef ONGRID_KB_H
#define ONGRID_KB_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

#define KB_MAX_FILES      2000
#define KB_MAX_FILE_BYTES (1 << 20)
#define KB_MAX_DEPTH      8
#define KB_MAX_TERMS      16

/* Split text into lowercase tokens of letters, digits, '_' and '-' (2..64 bytes), calling
 * fn for each; returns the number of tokens. */
size_t kb_tokens(const char *text, void (*fn)(const char *tok, size_t len, void *udata),
                 void *udata);

/* Rank the documents under dir for query. *ret: {"documents": n, "results": [{"path",
 * "title", "score", "snippet", "line"}...]} best first, at most limit. -ENOENT when dir does
 * not exist, -EINVAL for a query without any word. */
int kb_search_dir(const char *dir, const char *query, size_t limit, cJSON **ret, struct diag *d);

#endif
