/* agent.h - the investigation: one question in, one report (docs/agent.md, the report
 * contract in ../shared/DESIGN.md) out.
 *
 * Pieces, one file each:
 *   coordinator.c  classify the question, run the specialists, keep every tool call on the
 *                  gate, the cache and the timeline (agent_investigate, agent_tool)
 *   specialist.c   sre, network, disk, ops: tool subsets and budgets
 *   planner.c      the offline planner: six fixed steps, rules over the evidence
 *   reviewer.c     a proposed mutating action is checked before a human sees it
 *   redact.c       secrets out of any text before it leaves the host
 *   report.c       the JSON contract
 *   timeline.c     every step, in memory and in <data_dir>/timeline.db
 *   cache.c        identical tool calls answered once per investigation
 *
 * Every tool call goes through the gate (tools/gate.h) as role "viewer" with identity
 * "agent": specialists read; a mutating call can only come back "proposed".
 */
#ifndef ONGRID_AGENT_H
#define ONGRID_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

struct edge_conf;
struct gate;
struct agent_run;

/* Root-cause categories of the report contract. */
enum agent_category {
	CAT_UNKNOWN,
	CAT_CPU,
	CAT_MEMORY,
	CAT_DISK,
	CAT_NETWORK,
	CAT_SERVICE,
	CAT_CONFIG,
	CAT_DEPENDENCY,
	_CAT_MAX
};
const char *agent_category_name(enum agent_category c);

/* ---- redact.c --------------------------------------------------------------------------
 * Secrets in code, not in a prompt: AWS access keys, bearer/basic tokens, passwords in URLs
 * and DSNs, private key blocks, JWTs and generic key=value secrets (password=, token:,
 * api_key ...). The secret is replaced by "[REDACTED]"; the name of the field stays so a
 * reader still sees what was there. */
#define REDACTED "[REDACTED]"
/* A new string (caller frees) with every secret in s replaced; *ret_count (may be NULL)
 * gets the number replaced. */
char *redact_text(const char *s, size_t *ret_count);
/* Redact every string value (and object key) in item, in place; returns the count. */
size_t redact_json(cJSON *item);

/* ---- context.c -------------------------------------------------------------------------
 * What a question arrives with (the relay's "investigate" payload, `investigate --context
 * FILE`): {"context": [{"who", "text"}...], "follow_up", "requester": {"platform", "user",
 * "role"}, "alert": {...}}. Taken into a compact, redacted object of the same shape
 * (caller frees), the most recent messages within a few KiB, plus "context_omitted" (the
 * count left out); taking it again keeps it. A wrong shape is -EINVAL naming the
 * field. */
int agent_context_take(const cJSON *in, cJSON **ret, struct diag *d);
int agent_context_parse(const char *text, size_t len, cJSON **ret, struct diag *d);
/* The same from a file ("-": standard input); errors name the file. */
int agent_context_load(const char *path, cJSON **ret, struct diag *d);
/* The text the coordinator classifies: the question and the alert's name (split into
 * words) and summary. */
void agent_context_classify_text(const char *question, const cJSON *ctx, char *out, size_t n);

/* ---- prompt.c --------------------------------------------------------------------------
 * What a model is shown. Tool output is data: each piece is fenced between markers that
 * carry a random nonce the data cannot know, so a log line cannot close the fence and
 * speak as the system; text is redacted again on the way in. */
/* "<<<DATA label nonce=N>>>\n...\n<<<END nonce=N>>>" with data redacted; caller frees. */
char *prompt_fence(const char *label, const char *data, const char *nonce);
/* The first message of an investigation with a model: the question, the rules of the
 * game, and the offline planner's evidence already computed (each finding with its tool
 * call, fenced), so most investigations need one or two round trips. Caller frees. */
char *prompt_investigation(const cJSON *report, const char *nonce);
/* A fresh nonce of 16 hex digits into out (at least 17 bytes). */
void prompt_nonce(char *out, size_t n);

/* ---- report.c -------------------------------------------------------------------------- */
/* A new report document with question, host, planner, started_at and empty arrays. */
cJSON *report_new(const char *question, const char *host, const char *planner, int64_t started_ms);
/* Append an evidence item; args is copied. Returns its id ("e3"), owned by the report. */
const char *report_add_evidence(cJSON *rep, const char *agent, const char *tool, const cJSON *args,
                                const char *finding);
void report_set_root_cause(cJSON *rep, const char *statement, enum agent_category cat,
                           const char *component, double confidence);
/* Append an action; args is copied. */
void report_add_action(cJSON *rep, const char *tool, const cJSON *args, const char *class_name,
                       const char *status, const char *rationale);
/* Summary, duration, a copy of the timeline and the tokens. */
void report_finish(cJSON *rep, const char *summary, int64_t duration_ms, const cJSON *timeline,
                   int64_t tokens_in, int64_t tokens_out);
/* Check a document against the contract: every key, every enum value, every evidence item
 * naming a tool that has a tool_result in the timeline with the same arguments. -EINVAL
 * with d naming the first fault. */
int report_check(const cJSON *rep, struct diag *d);
/* The text rendering for a terminal. */
void report_print_text(const cJSON *rep);

/* ---- timeline.c ------------------------------------------------------------------------
 * Every step of one investigation: in memory (for the report) and, when data_dir is given,
 * as rows of <data_dir>/timeline.db (for `status` and later follow-ups). A store that
 * cannot be written is noted once and the investigation goes on in memory. */
struct timeline;
int timeline_open(const char *data_dir, const char *inv_id, const char *incident,
                  const char *question, struct timeline **ret, struct diag *d);
void timeline_close(struct timeline *tl); /* NULL-safe */
/* One step; detail is taken. Returns the step's t_ms since the start. */
int64_t timeline_add(struct timeline *tl, const char *agent, const char *event, cJSON *detail);
const cJSON *timeline_events(const struct timeline *tl);
int64_t timeline_elapsed_ms(const struct timeline *tl);
/* Whether the steps reach the SQLite store (false: in memory only, and why). */
bool timeline_persistent(const struct timeline *tl, const char **ret_why);
/* Earlier investigations of an incident: their questions and conclusions, newest last, as
 * a JSON array of at most max items (for follow-ups); -ENOENT when there are none. */
int timeline_incident_history(const char *data_dir, const char *incident, size_t max, cJSON **ret,
                              struct diag *d);
/* Record the report's conclusion against its investigation row. */
void timeline_conclude(struct timeline *tl, const cJSON *report);

/* ---- cache.c --------------------------------------------------------------------------- */
struct tool_cache;
struct tool_cache *tool_cache_new(size_t max_entries);
void tool_cache_free(struct tool_cache *c); /* NULL-safe */
/* The cached result of tool(args) or NULL; borrowed from the cache. */
const cJSON *tool_cache_get(struct tool_cache *c, const char *tool, const char *args_json);
/* Keep result (taken); returns it, borrowed from the cache for the investigation. */
const cJSON *tool_cache_put(struct tool_cache *c, const char *tool, const char *args_json,
                            cJSON *result);
size_t tool_cache_hits(const struct tool_cache *c);

/* ---- specialist.c ----------------------------------------------------------------------
 * Who may call what: each specialist has a tool subset, a step budget and a token budget;
 * the coordinator is the only one that dispatches and may call anything read-only. */
struct specialist {
	const char *name;                  /* "sre", "network", "disk", "ops" */
	const char *focus;                 /* one line for a model's system prompt */
	const char *const *tools;          /* NULL-terminated */
	int64_t max_tokens;                /* model tokens of its own */
	int max_steps;                     /* tool calls of its own */
	enum agent_category categories[3]; /* what it answers for; CAT_UNKNOWN ends */
};
extern const struct specialist agent_specialists[];
extern const size_t agent_specialists_count;
const struct specialist *specialist_find(const char *name);
/* The specialist that answers for a category (sre for unknown). */
const struct specialist *specialist_for(enum agent_category c);
bool specialist_allows(const struct specialist *s, const char *tool);

/* ---- llm.c -----------------------------------------------------------------------------
 * A model through the relay: the investigate command opens its own tunnel session for
 * this edge (tunnel_conf.session: the relay does not mistake it for the edge's daemon)
 * and sends "llm.request" (docs/protocol.md, docs/llm.md), waiting on a private loop. */
struct llm_session;
/* Connect within timeout_ms. -ENOTCONN with d set when relay.url is empty or the relay
 * cannot be reached in time (the caller then runs offline). */
int llm_open(const struct edge_conf *conf, int64_t timeout_ms, struct llm_session **ret,
             struct diag *d);
/* NULL-safe. A process has one session: llm_open hands the open one out again (the model's
 * and the planner's walk share it), and llm_close leaves it open until the process exits. */
void llm_close(struct llm_session *s);
/* One request; payload is borrowed. Returns 0 with *ret (the neutral response: text,
 * tool_calls, stop, usage, provider, model) or a negative errno with d set: the relay's
 * error (budget_exhausted, unavailable, bad_request) or -ETIMEDOUT. */
int llm_request(struct llm_session *s, const cJSON *payload, int64_t timeout_ms, cJSON **ret,
                struct diag *d);
/* Any other request the relay serves to an edge on the same session ("topology.expand",
 * "edge.call": the planner's walk to the hosts this one depends on); the same contract. */
int llm_call(struct llm_session *s, const char *type, const cJSON *payload, int64_t timeout_ms,
             cJSON **ret, struct diag *d);
/* Wait ms with the session's link still served (its heartbeats answered, a redial made):
 * the pause before asking a host again that was not connected. */
void llm_pause(struct llm_session *s, int64_t ms);
/* Parse a model's tool call ({"id", "name", "arguments"}) into name and an arguments
 * object; every byte of it is hostile. -EPROTO with d naming the fault. */
int llm_tool_call_parse(const cJSON *call, const char **ret_name, const cJSON **ret_args,
                        struct diag *d);

/* ---- reviewer.c ------------------------------------------------------------------------
 * A mutating action a model proposes is reviewed before a human sees it: only
 * remediations of the declared dangerous class (the gate can then only make them pending
 * approvals), aimed at something the evidence names, and not contradicted by a runbook
 * (kb_search). 0 = goes to the gate as a proposal; -EPERM with why set = dropped. */
int reviewer_check(struct agent_run *run, const char *tool, const cJSON *args, char *why,
                   size_t whylen);

/* ---- serve.c ---------------------------------------------------------------------------
 * The relay's "investigate" request (chat, alerts; docs/protocol.md): each one runs
 * `ongrid-edge investigate --json` as a child of whoever holds the tunnel, so the tunnel's
 * loop never waits on an investigation, and the report is the reply. conf_path (NULL = the
 * default) is the configuration the child reads. The loop must be libev's default loop
 * (child watchers). */
struct tunnel;
struct ev_loop;
int agent_serve_register(struct tunnel *t, struct ev_loop *loop, const char *conf_path,
                         const char *data_dir);
/* approve_serve.c: the relay's "approval.decide" (a chat button) goes to this edge's gate,
 * which checks the approver's role and the number of distinct approvers itself, then
 * records and runs it as `ongrid-edge approve ID --as WHO` in a child. Registered by
 * agent_serve_register(). */
int agent_approve_serve_register(struct tunnel *t, const char *conf_path);

/* ---- coordinator.c --------------------------------------------------------------------- */
struct agent_opts {
	const char *question;
	const char *incident;    /* follow-ups of one incident share context; NULL = new */
	const char *mode;        /* "auto", "offline", "llm"; NULL = agent.mode */
	bool history;            /* a daemon answers history queries */
	const char *history_why; /* when !history: why, for the report */
	const cJSON *context;    /* agent_context_parse()'s, or NULL */
	int progress_fd;         /* > 0: one line per step written here as it happens */
};

/* One investigation run: what the planner and the specialists share. */
struct agent_run {
	const struct edge_conf *conf;
	struct gate *gate;
	struct timeline *tl;
	struct tool_cache *cache;
	cJSON *report;
	const char *question;
	int64_t deadline_ms; /* mono_ms() */
	int steps;           /* tool calls made, cached or not */
	int max_steps;
	int64_t tokens_in, tokens_out;
	const cJSON *context;    /* agent_opts.context: thread, alert, requester; may be NULL */
	char planner[160];       /* "llm:PROVIDER/MODEL" once a model answered */
	int progress_fd;         /* agent_opts.progress_fd */
	char progress_last[240]; /* the last tool finding sent there */
};

/* A line on the progress fd, if there is one (coordinator.c): what a chat thread shows
 * while the investigation runs. Newlines in the text become spaces. */
void agent_progress(const struct agent_run *run, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Run one tool through the gate as the "agent" viewer, with the cache and the timeline:
 * timeline gets tool_call (agent, tool, args) then tool_result (status, digest of the
 * evidence, duration). Returns 0 with *ret_evidence borrowed from the cache (valid for the
 * run), -ENOENT when the tool is not on this edge, -ETIMEDOUT past the deadline or the step
 * budget, or the gate's error. The evidence is already redacted. */
int agent_tool(struct agent_run *run, const char *agent, const char *tool, const cJSON *args,
               const cJSON **ret_evidence);

/* A remediation proposed by `by` ("the model", "the offline planner"): the reviewer
 * (reviewer_check), then the gate as the "agent" admin, which can only record it as a
 * pending approval. The report gets the action, "proposed" with the approval's id or
 * "denied" with why, and the timeline a reviewer step. Returns what the proposer is told
 * (caller frees); *error is set when nothing was proposed. */
char *agent_propose(struct agent_run *run, const char *by, const char *name, const cJSON *args,
                    bool *error);

/* The whole investigation. Returns 0 with *ret_report (caller frees), or a negative errno
 * with d set (-EINVAL: empty or oversized question). */
int agent_investigate(const struct edge_conf *conf, const struct agent_opts *o, cJSON **ret_report,
                      struct diag *d);

/* The specialist a question goes to first, by its words ("disk", "latency", "crash"). */
const char *agent_classify(const char *question, enum agent_category *ret_hint);

/* ---- planner.c -------------------------------------------------------------------------
 * The offline planner: the six steps with fixed rules. planner_run gathers (tool calls
 * through agent_tool) and concludes; planner_conclude is the rules alone, over "facts"
 * (an array of {"agent", "tool", "args", "key", "evidence"}), so tests can feed it
 * synthetic evidence. It fills the report's evidence, root_cause and summary. */
int planner_run(struct agent_run *run, enum agent_category hint);
void planner_conclude(const cJSON *facts, enum agent_category hint, cJSON *report);

#endif
