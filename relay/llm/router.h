/* router.h - every LLM call the relay makes goes through here.
 *
 * A call names a purpose ("investigate", "classify", "summarize"); the purpose's route
 * is an ordered list of provider/model targets: `ongrid-relay model use` overrides
 * (llm.sqlite, read at every call) over llm.routes in relay.conf. For each target the
 * router builds the request with the provider's translator, sends it with libcurl
 * (streaming when asked), and on failure:
 *   - 408/409/429/5xx/529, timeouts and connection errors: retries with exponential
 *     backoff and jitter, honouring retry-after-ms / retry-after (and Gemini's RetryInfo)
 *     up to llm.max_retry_wait, llm.retries times, then tries the next target;
 *   - a 400 naming a rejected parameter: applies the downgrade at once, remembers it per
 *     (base URL, model) in llm.sqlite, and retries;
 *   - auth, quota, unknown model: the next target at once.
 * Each decision is logged once. Usage and cost are recorded per edge, incident and
 * purpose; llm.budget.* caps are checked before a call starts.
 *
 * Threading: none. The router runs on the caller's loop, in one of two ways:
 *   - the host's event loop (the relay's libev loop): llm_router_set_loop() gives it
 *     callbacks that are told which fds to watch and when to fire one timer (curl's
 *     CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION plus the retry wake-ups); the loop calls
 *     llm_router_fd_ready() and llm_router_timer_expired() back;
 *   - or llm_router_poll(), which runs poll(2) itself (the CLI, tests).
 * Callbacks (on_delta, on_done) run from those entry points, never from submit.
 */
#ifndef ONGRID_LLM_ROUTER_H
#define ONGRID_LLM_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "relay/llm/llm.h"
#include "relay/llm/llm_conf.h"
#include "shared/diag.h"

struct llm_router;
struct llm_call;

/* The end of a call. err is 0 with resp set, or negative (-EDQUOT budget, -ENOENT no
 * route, -EHOSTUNREACH every target failed, -ECANCELED) with msg saying what happened
 * on the last target. resp is valid during the callback; to keep it, copy the struct
 * and zero *resp. The call is freed after the callback returns. */
typedef void llm_done_fn(void *udata, int err, struct llm_response *resp, const char *msg);

/* conf is borrowed and must outlive the router (or be replaced by llm_router_reload);
 * data_dir holds llm.sqlite. */
int llm_router_new(const struct llm_conf *conf, const char *data_dir, struct llm_router **ret,
                   struct diag *d);
/* Cancels calls in flight (their done callbacks run with -ECANCELED). NULL-safe. */
void llm_router_free(struct llm_router *r);

/* Use conf for calls submitted from now on; calls in flight keep the targets they
 * resolved. conf is borrowed as in llm_router_new. */
int llm_router_reload(struct llm_router *r, const struct llm_conf *conf, struct diag *d);

struct llm_call_opts {
	const char *purpose;   /* required */
	const char *edge;      /* for accounting; may be NULL */
	const char *incident;  /* for accounting and llm.budget.incident_*; may be NULL */
	llm_emit_fn *on_delta; /* streamed text (req->stream); may be NULL */
	llm_done_fn *on_done;  /* required */
	void *udata;
};

/* Start a call. req is borrowed until on_done runs. Fails at once, without calling
 * on_done, when the purpose has no route (-ENOENT), a budget is spent (-EDQUOT) or too
 * many calls are in flight (-EBUSY); d says which. */
int llm_router_submit(struct llm_router *r, const struct llm_request *req,
                      const struct llm_call_opts *o, struct llm_call **ret_call, struct diag *d);
/* Cancel: on_done runs now with -ECANCELED. */
void llm_call_cancel(struct llm_call *c);

enum { LLM_WATCH_IN = 1u << 0, LLM_WATCH_OUT = 1u << 1 };
struct llm_loop_ops {
	/* Watch fd for events (LLM_WATCH_*); 0 means stop watching it. */
	void (*watch)(void *udata, int fd, unsigned events);
	/* (Re)arm the one timer to fire in timeout_ms (0 = now); -1 means disarm. */
	void (*timer)(void *udata, int64_t timeout_ms);
	void *udata;
};
/* Let the host's loop drive the router; the current fds and timer are reported at once.
 * ops is copied. */
void llm_router_set_loop(struct llm_router *r, const struct llm_loop_ops *ops);
void llm_router_fd_ready(struct llm_router *r, int fd, unsigned events);
void llm_router_timer_expired(struct llm_router *r);

/* Drive transfers and retry timers for at most timeout_ms (0: do what is ready and
 * return). Returns the number of calls still in flight. */
int llm_router_poll(struct llm_router *r, int timeout_ms);
/* How soon poll must run again, in ms (-1: nothing in flight). */
int64_t llm_router_timeout_ms(struct llm_router *r);

/* Synchronous: submit and poll until done. ret is filled on success (caller releases);
 * on failure d holds the message. For the CLI and tests. */
int llm_router_call(struct llm_router *r, const struct llm_request *req,
                    const struct llm_call_opts *o, struct llm_response *ret, struct diag *d);

/* The effective route of purpose: overrides, else config. NULL-terminated array the
 * caller frees with llm_strv_free(); *ret_override tells which. -ENOENT if none. */
int llm_router_route(struct llm_router *r, const char *purpose, char ***ret, bool *ret_override,
                     struct diag *d);

/* The accounting store the router uses (for `model` commands). */
struct llm_acct *llm_router_acct(struct llm_router *r);
/* The providers and routes calls use now: the start-up ones or the last reload's. */
const struct llm_conf *llm_router_conf(const struct llm_router *r);

#endif
