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

/* PromQL (edge/tsdb/promql_*.c). A query is typed by a person or a model; 64 KiB is far
 * beyond any real one. The parser and evaluator recurse per nesting level, so a hostile
 * query is refused past PROMQL_MAX_DEPTH instead of exhausting the stack. */
#define ONGRID_PROMQL_MAX_QUERY_BYTES   (64u << 10)
#define ONGRID_PROMQL_MAX_DEPTH         128
/* One result (or intermediate) vector holds at most this many series: more is a query
 * that needs a narrower selector, not more memory. */
#define ONGRID_PROMQL_MAX_SERIES        10000
/* Steps per range query, as in Prometheus (11,000 points per series). */
#define ONGRID_PROMQL_MAX_STEPS         11000
/* Points (series x steps) alive at once during one evaluation: 4M doubles = 32 MiB. */
#define ONGRID_PROMQL_MAX_POINTS        (4u << 20)
/* Points in one query's answer. It becomes JSON (about 25 bytes a point, ~250 bytes as a
 * cJSON tree) and must fit a control-socket answer (ONGRID_JSON_MAX_BYTES) and a screen. */
#define ONGRID_PROMQL_MAX_RESULT_POINTS 200000

/* Time-series store (edge/tsdb). The edge stores its own host's series (~2000); a label
 * set past these sizes is a bug or an attack, and every cap bounds memory or a disk read. */
#define ONGRID_TSDB_MAX_SERIES        200000
#define ONGRID_TSDB_MAX_LABELS        64
#define ONGRID_TSDB_MAX_LABEL_BYTES   4096
/* One series' record in one file (at most a day of samples) and one file's index. */
#define ONGRID_TSDB_MAX_RECORD_BYTES  (16u << 20)
#define ONGRID_TSDB_MAX_INDEX_BYTES   (128u << 20)
/* Files loaded at open: compaction keeps a normal store under a hundred. */
#define ONGRID_TSDB_MAX_FILES         4096
/* Samples one series may return from one query: 4M x 16 bytes = 64 MiB. */
#define ONGRID_TSDB_MAX_QUERY_SAMPLES (4u << 20)

/* LLM router (relay/llm/, shared/sse.c). One SSE event is one JSON chunk of a model's
 * stream; 1 MiB is far beyond any real chunk. A whole response (body or the sum of a
 * stream) is capped so a runaway or hostile endpoint cannot grow the relay without
 * bound; 8 MiB is about two million tokens of text. Error bodies are only read for a
 * message and a parameter name. */
#define ONGRID_SSE_MAX_EVENT_BYTES    (1u << 20)
#define ONGRID_SSE_MAX_STRAY_BYTES    (64u << 10)
#define ONGRID_LLM_MAX_RESPONSE_BYTES (8u << 20)
#define ONGRID_LLM_MAX_ERROR_BYTES    (64u << 10)
/* A request from an edge: messages, tools and their results. */
#define ONGRID_LLM_MAX_REQUEST_BYTES  (8u << 20)
#define ONGRID_LLM_MAX_MESSAGES       1024
#define ONGRID_LLM_MAX_TOOLS          128
#define ONGRID_LLM_MAX_TOOL_CALLS     64
/* Providers, models and fallback routes in relay.conf. */
#define ONGRID_LLM_MAX_PROVIDERS      32
#define ONGRID_LLM_MAX_MODELS         64
#define ONGRID_LLM_MAX_ROUTES         32
#define ONGRID_LLM_MAX_FALLBACKS      8
/* Calls in flight at once on one relay. */
#define ONGRID_LLM_MAX_CALLS          256

/* Tools (edge/tools/). A bash command is typed by a person or a model: 4 KiB and 128 words
 * are far beyond a real diagnostic one-liner, and a pipeline of more than 4 stages is a
 * script. Output and wall time bound what one call may cost; config may lower them. */
#define ONGRID_TOOL_CMD_MAX_BYTES     4096
#define ONGRID_TOOL_CMD_MAX_WORDS     128
#define ONGRID_TOOL_CMD_MAX_STAGES    4
#define ONGRID_TOOL_OUTPUT_MAX        (1u << 20)
#define ONGRID_TOOL_TIMEOUT_MAX_MS    300000
/* Tool arguments as JSON, and the nesting a schema (or the arguments) may have. */
#define ONGRID_TOOL_ARGS_MAX_BYTES    (64u << 10)
#define ONGRID_SCHEMA_MAX_DEPTH       16
/* Pending approvals older than this are expired whatever the configured TTL. */
#define ONGRID_APPROVAL_TTL_MAX_MS    (7LL * 24 * 3600 * 1000)
/* A model that proposes in a loop must not fill the disk or bury real proposals: past this
 * many pending, proposing fails until humans decide or they expire. Decided approvals are
 * kept this long for the record, then deleted. */
#define ONGRID_APPROVALS_MAX_PENDING  256
#define ONGRID_APPROVALS_KEEP_MS      (90LL * 24 * 3600 * 1000)
/* Notes on one incident (add_incident_note): a record, not a log. */
#define ONGRID_NOTES_MAX_PER_INCIDENT 1000

/* Investigations (edge/agent/). A question is a sentence or an alert's text, not a
 * document; a follow-up carries at most this many earlier conclusions of its incident. */
#define ONGRID_AGENT_QUESTION_MAX_BYTES 4096u
#define ONGRID_AGENT_FOLLOWUP_MAX       5

#endif
