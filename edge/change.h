/* change.h - change events: what changed on this host and when, so "what changed before
 * it broke?" is one query.
 *
 * Sources, each read incrementally by change_poll() (the daemon calls it every round) or
 * once by change_scan() (the CLI, when no daemon runs):
 *   package   dpkg.log (install, upgrade, remove, purge) and apt's history.log (the
 *             command line behind them)
 *   file      writes, creations, deletions and renames under changes.watch (inotify,
 *             recursive up to CHANGE_MAX_WATCHES directories). Who wrote a file is known
 *             only when fanotify is available (root, a kernel with it): then pid and comm
 *             are recorded; otherwise they are left empty and the event says "writer
 *             unknown" - never guessed.
 *   binary    a file written or renamed into changes.bin_dirs (a binary replaced)
 *   process   a process started under init (ppid 1: a service, or a daemon that
 *             detached), and a restart when one that ran at least 10 s exited and the same
 *             name came back under init, from consecutive /proc scans
 *   login     wtmp records (user, tty, remote host) and sshd "Accepted" lines of auth.log
 *   kernel    /dev/kmsg: OOM kills, I/O errors, link up/down
 *
 * Events live in <data_dir>/changes.db (SQLite), one row each, unique on (time, kind,
 * subject, detail), so reading the same log twice adds nothing.
 */
#ifndef ONGRID_CHANGE_H
#define ONGRID_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edge/edge.h"
#include "shared/diag.h"

/* Directories watched under changes.watch in all (inotify watches cost kernel memory). */
#define CHANGE_MAX_WATCHES  1024
/* Events recorded per poll at most (a storm of writes is cut, and says so). */
#define CHANGE_MAX_PER_POLL 2000
/* Bytes of a log read at most per poll, and from the end of a log by change_scan(). */
#define CHANGE_LOG_CHUNK    (1 << 20)
/* Rows change_query_json() returns at most. */
#define CHANGE_QUERY_MAX    1000

struct change_event {
	int64_t t_ms;
	char kind[16];     /* package, file, binary, process, login, kernel */
	char subject[256]; /* package name, path, program, user, device */
	char detail[512];  /* "upgrade 1.2 -> 1.3", "written", "OOM kill of pid 42 (java)" */
	int pid;           /* the actor, 0 when unknown */
	char comm[32];     /* the actor's name, "" when unknown */
	char source[32];   /* dpkg.log, inotify, fanotify, kmsg ... */
};

struct change;

/* Open the store and start the watches. Sources that cannot be read are skipped; their
 * reasons are in change_status_json(). */
int change_open(const struct edge_conf *c, struct change **ret, struct diag *d);
void change_close(struct change *ch); /* NULL-safe */
/* Read what is new in every source and record it. Returns the number of events recorded. */
int change_poll(struct change *ch, int64_t now_ms);
/* {"sources": [{"name", "on", "why"}], "recorded": n, "dropped": n} */
cJSON *change_status_json(const struct change *ch);

/* One-shot for the CLI: record what the logs, wtmp and kmsg still hold (the last
 * CHANGE_LOG_CHUNK bytes of each log) without watches. */
int change_scan(const struct edge_conf *c, struct diag *d);

/* Events in [since, until] (ms), newest first; kind and match (substring of subject or
 * detail) may be NULL. *ret: {"events": [...], "total": n}. */
int change_query_json(const struct edge_conf *c, int64_t since_ms, int64_t until_ms,
                      const char *kind, const char *match, size_t limit, cJSON **ret,
                      struct diag *d);

/* The wall-clock time of boot in ms (/proc/stat btime: the same in every process). */
int64_t change_boot_ms(void);

/* Parsers (unit-tested, fuzzable). Each returns 1 with *ev filled, 0 for a line that is
 * not an event, -EINVAL for a malformed one. */
int change_parse_dpkg(const char *line, struct change_event *ev);
int change_parse_auth(const char *line, int year, struct change_event *ev);
/* boot_ms: the wall-clock time of boot, to turn kmsg's microseconds since boot into time. */
int change_parse_kmsg(const char *record, int64_t boot_ms, struct change_event *ev);
/* apt history.log: a "Start-Date:" .. "End-Date:" block's Commandline and packages. */
int change_parse_apt_block(const char *block, struct change_event *ev);

#endif
