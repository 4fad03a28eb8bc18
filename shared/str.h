/* str.h - strict parsers for the values people type into configs and command lines.
 *
 * Each parser accepts the whole string or nothing: "15s " and "12abc" are errors, not 15s
 * and 12. All return 0 or -EINVAL (malformed) / -ERANGE (out of range) and leave *ret
 * untouched on failure.
 */
#ifndef ONGRID_STR_H
#define ONGRID_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int str_to_i64(const char *s, int64_t *ret);
int str_to_u64(const char *s, uint64_t *ret);
int str_to_double(const char *s, double *ret);
/* yes/no, true/false, on/off, 1/0 */
int str_to_bool(const char *s, bool *ret);
/* Durations in milliseconds: "250ms", "15s", "5m", "2h", "7d", "1w", or compound "1h30m"
 * (Prometheus' syntax). A bare number is seconds. */
int str_to_duration_ms(const char *s, int64_t *ret);
/* Sizes in bytes: "512", "64KiB", "10MiB", "2GiB", also "k", "M", "G" (powers of 1024). */
int str_to_size(const char *s, uint64_t *ret);

/* Format a duration as the shortest exact form ("90s" -> "1m30s"). */
void str_format_duration(char *out, size_t outsz, int64_t ms);

bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);
/* Trim ASCII whitespace in place; returns s advanced past leading blanks. */
char *str_trim(char *s);
/* strlcpy: copy at most size-1 bytes, always terminate; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);

#endif
