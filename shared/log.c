#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/banned.h"

static struct {
	enum log_level level;
	enum log_format format;
	const char *ident;
	time_t window;      /* the second the burst counter belongs to */
	unsigned in_window; /* messages written in that second */
	unsigned dropped;   /* messages suppressed in that second */
} logger = { LOG_LEVEL_INFO, LOG_FORMAT_TEXT, "ongrid", 0, 0, 0 };

static const char *const level_names[_LOG_LEVEL_MAX] = { "err", "warn", "info", "debug" };
/* syslog priorities, as journald reads them from a "<N>" line prefix */
static const int journal_prio[_LOG_LEVEL_MAX] = { 3, 4, 6, 7 };

void log_setup(enum log_level level, enum log_format format, const char *ident)
{
	logger.level = level;
	logger.format = format;
	if (ident)
		logger.ident = ident;
}

enum log_level log_get_level(void)
{
	return logger.level;
}

int log_level_parse(const char *s, enum log_level *ret)
{
	for (int i = 0; i < _LOG_LEVEL_MAX; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "error") == 0 || strcmp(s, "warning") == 0) {
		*ret = s[0] == 'e' ? LOG_LEVEL_ERR : LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level < _LOG_LEVEL_MAX ? level_names[level] : "?";
}

static void emit(enum log_level level, const char *func, const char *msg)
{
	if (logger.format == LOG_FORMAT_JOURNAL) {
		fprintf(stderr, "<%d>%s\n", journal_prio[level], msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (logger.level >= LOG_LEVEL_DEBUG && func)
		fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s: %s\n", stamp, ts.tv_nsec / 1000000,
		        logger.ident, (int)getpid(), level_names[level], func, msg);
	else
		fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000,
		        logger.ident, (int)getpid(), level_names[level], msg);
}

void log_write(enum log_level level, const char *func, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int saved_errno = errno;
	time_t now;

	if (level > logger.level)
		return;
	now = time(NULL);
	if (now != logger.window) {
		if (logger.dropped) {
			char note[96];
			snprintf(note, sizeof(note), "%u log messages suppressed (rate limit)",
			         logger.dropped);
			emit(LOG_LEVEL_WARN, NULL, note);
		}
		logger.window = now;
		logger.in_window = 0;
		logger.dropped = 0;
	}
	if (++logger.in_window > LOG_BURST && level != LOG_LEVEL_ERR) {
		logger.dropped++;
		errno = saved_errno;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, func, msg);
	errno = saved_errno;
}
