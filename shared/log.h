/* log.h - leveled logging to stderr, as plain text or in journald's <N> priority format.
 *
 * Daemons log; library code returns errors (see diag.h) and logs at most at debug level.
 * Messages are lowercase, name what failed first and quote the subject:
 *     log_err("cannot open '%s': %s", path, strerror(errno));
 * A message repeated more than LOG_BURST times within a second is suppressed, and one
 * line says how many were dropped, so a hot loop cannot flood the journal.
 */
#ifndef ONGRID_LOG_H
#define ONGRID_LOG_H

#include "shared/compiler.h"

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG, _LOG_LEVEL_MAX };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JOURNAL };

#define LOG_BURST 50

void log_setup(enum log_level level, enum log_format format, const char *ident);
enum log_level log_get_level(void);

/* Parse "err|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);
const char *log_level_name(enum log_level level);

void log_write(enum log_level level, const char *func, const char *fmt, ...) _printf_(3, 4);

#define log_err(...)   log_write(LOG_LEVEL_ERR, __func__, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __func__, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __func__, __VA_ARGS__)

#endif
