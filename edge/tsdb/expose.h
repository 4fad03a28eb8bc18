/* expose.h - a snapshot in the Prometheus text exposition format (version 0.0.4).
 *
 * Each metric family is written once, with its # HELP and # TYPE lines, followed by all
 * of its samples, whatever order collectors added them in; a histogram's _bucket, _sum
 * and _count series stay inside their family. Label values are escaped as the format
 * requires (backslash, double quote, newline) and bytes that are not valid UTF-8 (a
 * process name can hold anything) become U+FFFD, so `promtool check metrics` and a real
 * Prometheus accept the page.
 */
#ifndef ONGRID_EXPOSE_H
#define ONGRID_EXPOSE_H

#include "edge/collect/snapshot.h"
#include "shared/buf.h"

/* Append the exposition of s to out. Returns 0, or -E2BIG when out would pass its max
 * (out then holds a truncated page the caller must not serve). */
int expose_snapshot(const struct snapshot *s, struct buf *out);

/* Append v as the format writes values: shortest exact decimal, NaN, +Inf, -Inf. */
int expose_value(struct buf *out, double v);

#endif
