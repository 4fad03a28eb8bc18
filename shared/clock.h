/* clock.h - time in one unit everywhere: int64_t milliseconds. */
#ifndef ONGRID_CLOCK_H
#define ONGRID_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t now_ms(void);  /* wall clock, ms since the Unix epoch */
int64_t mono_ms(void); /* monotonic clock, for deadlines and durations */
int64_t mono_ns(void);

/* "2026-11-24T02:47:10Z" (or with ".123" when ms is not whole seconds). */
void clock_format_rfc3339(char *out, size_t outsz, int64_t epoch_ms);
/* Parse RFC 3339 ("...Z" or "+hh:mm", optional fraction) or a Unix time in seconds with
 * optional fraction. Returns 0 or -EINVAL. */
int clock_parse_time(const char *s, int64_t *ret_ms);

#endif
