/* service.c - "llm.request" from edges through the LLM router, on the relay's libev loop
 * (see service.h). The router tells us which fds to watch and when to wake it
 * (llm_router_set_loop); each fd gets an ev_io, and one ev_timer serves the rest. */
#define LOG_MODULE "llm"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "relay/llm/router.h"
#include "relay/llm/service.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

struct fd_watch {
	struct list_head node;
	ev_io io;
	struct llm_service *s;
};

struct llm_service {
	struct relay *relay;
	struct ev_loop *loop;
	struct llm_router *router;
	ev_timer timer;
	struct list_head watches;
};

struct job {
	struct llm_service *s;
	struct relay_call *call;
	struct llm_call *lc;
	struct llm_request req;
	char purpose[65];
	char edge[129]; /* copied: the call is freed by the reply */
};

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fd_watch *fw = w->data;

	(void)loop;
	llm_router_fd_ready(fw->s->router, w->fd,
	                    (revents & EV_READ ? LLM_WATCH_IN : 0u) |
	                            (revents & EV_WRITE ? LLM_WATCH_OUT : 0u));
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct llm_service *s = w->data;

	(void)loop;
	(void)revents;
	llm_router_timer_expired(s->router);
}

static void watch_fd(void *udata, int fd, unsigned events)
{
	struct llm_service *s = udata;
	struct fd_watch *fw = NULL;
	struct list_head *p;

	list_for_each(p, &s->watches) {
		struct fd_watch *x = list_entry(p, struct fd_watch, node);
		if (x->io.fd == fd) {
			fw = x;
			break;
		}
	}
	if (fw) {
		ev_io_stop(s->loop, &fw->io);
		if (!events) {
			list_del(&fw->node);
			free(fw);
			return;
		}
	} else {
		if (!events)
			return;
		fw = xcalloc(1, sizeof(*fw));
		fw->s = s;
		fw->io.data = fw;
		list_add_tail(&fw->node, &s->watches);
		ev_init(&fw->io, on_io);
	}
	ev_io_set(&fw->io, fd,
	          (events & LLM_WATCH_IN ? EV_READ : 0) | (events & LLM_WATCH_OUT ? EV_WRITE : 0));
	ev_io_start(s->loop, &fw->io);
}

static void arm_timer(void *udata, int64_t timeout_ms)
{
	struct llm_service *s = udata;

	ev_timer_stop(s->loop, &s->timer);
	if (timeout_ms < 0)
		return;
	ev_timer_set(&s->timer, (double)timeout_ms / 1000.0, 0.);
	ev_timer_start(s->loop, &s->timer);
}

static void job_done(void *udata, int err, struct llm_response *resp, const char *msg)
{
	struct job *j = udata;

	if (err == 0) {
		cJSON *out = llm_response_to_json(resp);
		relay_reply(j->call, out);
		cJSON_Delete(out);
	} else {
		if (err != -ECANCELED)
			log_warn("llm.request from '%s' (purpose '%s') failed: %s", j->edge,
			         j->purpose, msg ? msg : "?");
		relay_reply_error(j->call, err, "%s", msg ? msg : "LLM call failed");
	}
	llm_request_release(&j->req);
	free(j);
}

static void job_cancel(void *udata)
{
	struct job *j = udata;

	/* job_done runs now with -ECANCELED and frees j. */
	llm_call_cancel(j->lc);
}

static void on_llm_request(struct relay_call *call, const cJSON *p, void *udata)
{
	struct llm_service *s = udata;
	const char *purpose = NULL, *incident = NULL;
	struct llm_call_opts o = { 0 };
	struct diag d = { 0 };
	struct job *j;
	int rc;

	if (!p || json_get_string(p, "purpose", &purpose, "llm.request", &d) < 0 || !purpose ||
	    (json_get_string(p, "incident", &incident, "llm.request", &d) < 0 && d.code)) {
		relay_reply_error(call, -EINVAL, "%s",
		                  d.code ? d.msg : "llm.request needs purpose and request");
		return;
	}
	if (strlen(purpose) > 64 || (incident && strlen(incident) > 128)) {
		relay_reply_error(call, -EINVAL, "llm.request: purpose or incident too long");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->call = call;
	str_copy(j->purpose, purpose, sizeof(j->purpose));
	str_copy(j->edge, relay_call_edge(call), sizeof(j->edge));
	rc = llm_request_from_json(cJSON_GetObjectItemCaseSensitive(p, "request"), &j->req, &d);
	if (rc < 0) {
		relay_reply_error(call, -EINVAL, "llm.request.%s", d.msg);
		free(j);
		return;
	}
	/* Edges get whole answers; streaming to the edge is not part of the protocol yet. */
	j->req.stream = false;
	o.purpose = purpose;
	o.edge = j->edge;
	o.incident = incident;
	o.on_done = job_done;
	o.udata = j;
	rc = llm_router_submit(s->router, &j->req, &o, &j->lc, &d);
	if (rc < 0) {
		if (rc == -EDQUOT)
			log_warn("llm.request from '%s' refused: %s", j->edge, d.msg);
		relay_reply_error(call, rc == -ENOENT ? -EINVAL : rc, "%s", d.msg);
		llm_request_release(&j->req);
		free(j);
		return;
	}
	relay_call_on_cancel(call, job_cancel, j);
}

static void service_free(void *udata)
{
	struct llm_service *s = udata;
	struct list_head *p, *n;

	/* Calls in flight end with -ECANCELED; their replies are dropped by the core. */
	llm_router_free(s->router);
	ev_timer_stop(s->loop, &s->timer);
	list_for_each_safe(p, n, &s->watches) {
		struct fd_watch *fw = list_entry(p, struct fd_watch, node);
		ev_io_stop(s->loop, &fw->io);
		free(fw);
	}
	free(s);
}

int llm_service_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	struct llm_loop_ops ops = { .watch = watch_fd, .timer = arm_timer };
	struct llm_service *s;
	int rc;

	s = xcalloc(1, sizeof(*s));
	s->relay = r;
	s->loop = relay_loop(r);
	list_init(&s->watches);
	ev_init(&s->timer, on_timer);
	s->timer.data = s;
	rc = llm_router_new(&conf->llm, conf->data_dir, &s->router, d);
	if (rc < 0) {
		free(s);
		return rc;
	}
	ops.udata = s;
	llm_router_set_loop(s->router, &ops);
	rc = relay_register_handler(r, "llm.request", on_llm_request, s);
	if (rc < 0) {
		llm_router_free(s->router);
		free(s);
		return diag_set(d, rc, "cannot register llm.request");
	}
	relay_at_free(r, service_free, s);
	relay_set_module(r, "llm", s);
	log_info("llm router: %zu providers, %zu routes", conf->llm.providers.n,
	         conf->llm.routes.n);
	return 0;
}

int llm_service_reload(struct llm_service *s, const struct relay_conf *conf, struct diag *d)
{
	return llm_router_reload(s->router, &conf->llm, d);
}

const struct llm_conf *llm_service_conf(const struct llm_service *s)
{
	return llm_router_conf(s->router);
}
