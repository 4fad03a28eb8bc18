/* limits.h - every hard limit in ongrid, each with its reason (SQLite's sqliteLimit.h). */
#ifndef ONGRID_LIMITS_H
#define ONGRID_LIMITS_H

/* A configuration file larger than this is a mistake, not a configuration. */
#define ONGRID_CONF_MAX_BYTES (1u << 20)

/* JSON from outside (CLI arguments, frames, model output) is parsed only up to this size,
 * so a hostile peer cannot make us allocate without bound. */
#define ONGRID_JSON_MAX_BYTES (16u << 20)

/* cJSON recurses per nesting level; cap the depth we accept before parsing. */
#define ONGRID_JSON_MAX_DEPTH 64

/* Files we read whole (procfs, small state files) never exceed this. */
#define ONGRID_READ_FILE_MAX (64u << 20)

/* One diagnostic message: enough for "file:line:col: key 'x': expected ..." */
#define ONGRID_DIAG_MAX 512

#endif
