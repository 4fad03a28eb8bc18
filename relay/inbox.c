/* inbox.c - "outbox.deliver": dedup by (edge, msg_id), commit, then ack; see inbox.h. */
#define LOG_MODULE "inbox"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/inbox.h"
#include "relay/modules.h"
#include "shared/auth.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

/* Pruning runs this often; rows older than inbox.retention go. */
#define PRUNE_INTERVAL_S 600.0

struct sub {
	char kind[PROTO_TYPE_MAX + 1];
	inbox_fn *fn;
	void *udata;
	struct sub *next;
};

struct inbox {
	struct relay *relay;
	const struct relay_conf *conf;
	sqlite3_stmt *insert;
	struct sub *subs;
	ev_timer prune;
	uint64_t accepted, duplicates;
};

int inbox_subscribe(struct relay *r, const char *kind, inbox_fn *fn, void *udata)
{
	struct inbox *ib = relay_module(r, "inbox");
	struct sub *s;

	if (!ib)
		return -ENOENT;
	s = xcalloc(1, sizeof(*s));
	str_copy(s->kind, kind, sizeof(s->kind));
	s->fn = fn;
	s->udata = udata;
	s->next = ib->subs;
	ib->subs = s;
	return 0;
}

static void on_deliver(struct relay_call *call, const cJSON *p, void *udata)
{
	struct inbox *ib = udata;
	sqlite3 *db = relay_db(ib->relay);
	const char *msg_id = NULL, *kind = NULL;
	const cJSON *body;
	struct diag d = { 0 };
	char edge[AUTH_EDGE_ID_MAX + 1];
	int64_t created = 0;
	bool dup;
	char *text;
	cJSON *reply;
	int rc;

	str_copy(edge, relay_call_edge(call), sizeof(edge));
	/* -ENOENT (absent) leaves the value unset; the checks below name what is missing. */
	if (!p || json_get_string(p, "msg_id", &msg_id, "outbox.deliver", &d) == -EINVAL ||
	    json_get_string(p, "kind", &kind, "outbox.deliver", &d) == -EINVAL ||
	    json_get_int(p, "created_ms", &created, "outbox.deliver", &d) == -EINVAL) {
		relay_reply_error(call, -EINVAL, "%s",
		                  d.code ? d.msg : "outbox.deliver: no payload");
		return;
	}
	if (!msg_id || !proto_valid_id(msg_id)) {
		relay_reply_error(call, -EINVAL,
		                  "outbox.deliver.msg_id: expected 1-64 printable "
		                  "characters");
		return;
	}
	if (!kind || !proto_valid_type(kind)) {
		relay_reply_error(call, -EINVAL,
		                  "outbox.deliver.kind: expected 1-64 characters of [a-z0-9._-]");
		return;
	}
	body = cJSON_GetObjectItemCaseSensitive(p, "body");
	if (!body) {
		relay_reply_error(call, -EINVAL, "outbox.deliver.body: missing");
		return;
	}
	text = json_print(body, false);
	sqlite3_reset(ib->insert);
	sqlite3_bind_text(ib->insert, 1, edge, -1, SQLITE_STATIC);
	sqlite3_bind_text(ib->insert, 2, msg_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ib->insert, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(ib->insert, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ib->insert, 5, created);
	sqlite3_bind_int64(ib->insert, 6, now_ms());
	rc = sqlite3_step(ib->insert);
	sqlite3_reset(ib->insert);
	free(text);
	if (rc != SQLITE_DONE) {
		/* No ack: the edge keeps the message and sends it again. */
		log_warn("cannot record message '%s' from '%s': %s", msg_id, edge,
		         sqlite3_errmsg(db));
		relay_reply_error(call, -EIO, "the relay cannot store the message now");
		return;
	}
	dup = sqlite3_changes(db) == 0;
	if (dup) {
		ib->duplicates++;
		log_debug("message '%s' from '%s' was already delivered, acking again", msg_id,
		          edge);
	} else {
		ib->accepted++;
	}
	reply = json_obj();
	json_add_str(reply, "msg_id", msg_id);
	json_add_bool(reply, "duplicate", dup);
	relay_reply(call, reply);
	cJSON_Delete(reply);
	if (dup)
		return;
	/* The call is gone; p and body belong to the frame, which lives until we return. */
	for (struct sub *s = ib->subs; s; s = s->next)
		if (!strcmp(s->kind, kind))
			s->fn(s->udata, edge, msg_id, body);
}

static void on_prune(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct inbox *ib = container_of(w, struct inbox, prune);
	sqlite3 *db = relay_db(ib->relay);
	sqlite3_stmt *st;

	(void)loop, (void)revents;
	if (db_prepare(db, "DELETE FROM inbox WHERE received_ms < ?", &st, NULL) < 0)
		return;
	sqlite3_bind_int64(st, 1, now_ms() - ib->conf->inbox_retention_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_warn("cannot prune the inbox: %s, ignoring", sqlite3_errmsg(db));
	sqlite3_finalize(st);
}

static void inbox_free(void *udata)
{
	struct inbox *ib = udata;

	ev_timer_stop(relay_loop(ib->relay), &ib->prune);
	sqlite3_finalize(ib->insert);
	while (ib->subs) {
		struct sub *s = ib->subs;
		ib->subs = s->next;
		free(s);
	}
	free(ib);
}

int inbox_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	struct inbox *ib = xcalloc(1, sizeof(*ib));
	int rc;

	ib->relay = r;
	ib->conf = conf;
	rc = db_prepare(relay_db(r),
	                "INSERT OR IGNORE INTO inbox(edge, msg_id, kind, body, created_ms, "
	                "received_ms) VALUES (?, ?, ?, ?, ?, ?)",
	                &ib->insert, d);
	if (rc < 0) {
		free(ib);
		return rc;
	}
	ev_timer_init(&ib->prune, on_prune, 5.0, PRUNE_INTERVAL_S);
	ev_timer_start(relay_loop(r), &ib->prune);
	relay_at_free(r, inbox_free, ib);
	relay_set_module(r, "inbox", ib);
	return relay_register_handler(r, "outbox.deliver", on_deliver, ib);
}
