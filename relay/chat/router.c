/* router.c - the chat router: a thread is an incident (see chat.h, docs/chat.md).
 *
 * The first question in a thread opens an incident on one edge (the host the message
 * names, the one topology points at, or the only one connected; when that is ambiguous
 * the relay asks back) and sends it "investigate". Progress the edge streams back with
 * "investigate.progress" is edited into one message at most every chat.edit_interval;
 * the final report replaces it (split to the platform's limit), and each proposed action
 * gets a message with approve/deny buttons. Later questions in the thread go to the same
 * edge with the thread's earlier turns as context. Approvals are judged by role (and
 * double-sign), recorded and audited here, then sent to the edge as "approval.decide".
 *
 * Messages to one adapter leave in order, one at a time (struct outq): a report's chunks
 * must not overtake each other, and the platforms rate-limit per chat anyway.
 *
 * State lives in relay.sqlite: chat_incidents (thread <-> incident <-> edge), chat_turns
 * (the conversation, for context), chat_approvals (who pressed what, when).
 */
#define LOG_MODULE "chat"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/chat/chat.h"
#include "relay/db.h"
#include "relay/llm/accounting.h"
#include "relay/llm/llm_conf.h"
#include "relay/llm/service.h"
#include "relay/inbox.h"
#include "relay/modules.h"
#include "relay/topo.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define MAX_ADAPTERS     8
#define PROGRESS_MAX     3000 /* bytes of streamed progress kept (the tail) */
#define CONTEXT_TURNS    12   /* earlier turns sent with a follow-up */
#define REPORT_MAX       (256u << 10)
#define DECIDE_TIMEOUT   90000 /* the edge answers once the action ran (restarts: 60 s) */
#define EDGES_LISTED_MAX 20

/* Text for people: one cut at a buffer's cap is acceptable, so appends may fail. */
#define ADD(expr)               \
	do {                    \
		if ((expr) < 0) \
			break;  \
	} while (0)

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS chat_incidents ("
        "  id TEXT PRIMARY KEY,"
        "  platform TEXT NOT NULL,"
        "  chat_id TEXT NOT NULL,"
        "  thread_id TEXT NOT NULL,"
        "  edge TEXT,"
        "  status TEXT NOT NULL DEFAULT 'open',"
        "  question TEXT NOT NULL DEFAULT '',"
        "  created_ms INTEGER NOT NULL,"
        "  updated_ms INTEGER NOT NULL,"
        "  UNIQUE (platform, chat_id, thread_id));"
        "CREATE TABLE IF NOT EXISTS chat_turns ("
        "  incident TEXT NOT NULL,"
        "  at_ms INTEGER NOT NULL,"
        "  who TEXT NOT NULL,"
        "  text TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS chat_turns_incident ON chat_turns(incident, at_ms);"
        "CREATE TABLE IF NOT EXISTS chat_approvals ("
        "  action_id TEXT PRIMARY KEY,"
        "  incident TEXT NOT NULL,"
        "  edge TEXT NOT NULL,"
        "  class TEXT NOT NULL,"
        "  tool TEXT NOT NULL DEFAULT '',"
        "  status TEXT NOT NULL DEFAULT 'proposed',"
        "  first_user TEXT,"
        "  first_ms INTEGER,"
        "  decided_by TEXT,"
        "  decided_ms INTEGER,"
        "  msg_chat TEXT,"
        "  msg_id TEXT);"
        /* One row per action whose outcome (ran, failed, denied) was posted in its thread:
         * the reply to approval.decide and the edge's approval.result may both bring it. */
        "CREATE TABLE IF NOT EXISTS chat_outcomes ("
        "  action_id TEXT PRIMARY KEY,"
        "  status TEXT NOT NULL,"
        "  posted_ms INTEGER NOT NULL);";

struct chat;

struct outq {
	struct chat *c;
	struct chat_adapter *a;
	struct list_head items;
	bool busy;
};

struct inv;

/* One message to post or edit. */
struct qitem {
	struct list_head node;
	struct outq *q;
	bool edit;           /* edit inv's placeholder (or ref) instead of posting */
	bool progress;       /* text is inv's progress, rendered when the item leaves */
	bool marker;         /* no message: tell the adapter the answer is complete */
	struct chat_ref ref; /* for edits not tied to an inv */
	char *chat_id, *thread_id, *text, *title;
	struct chat_button btn[2];
	char *btn_action[2];
	size_t nbtn;
	struct inv *inv;
	char action_id[CHAT_ACTION_MAX]; /* an approval message: remember its ref */
};

struct inv {
	struct list_head node;
	struct chat *c;
	struct outq *q;
	char incident[64];
	char edge[130];
	char chat_id[CHAT_ID_MAX], thread_id[CHAT_ID_MAX];
	char question[512];
	char req_id[PROTO_ID_MAX + 1];
	struct chat_ref msg; /* the placeholder, once posted */
	bool have_msg, placeholder_failed;
	struct buf progress;
	ev_timer edit_timer;
	bool edit_queued, dirty, finished;
	unsigned pending; /* queue items that point here */
};

struct chat {
	struct relay *relay;
	const struct relay_conf *conf;
	sqlite3 *db;
	struct ev_loop *loop;
	struct chat_http *http;
	struct outq queues[MAX_ADAPTERS];
	size_t n;
	struct list_head invs;
	struct llm_acct *acct;
	uint64_t seq;
	bool closing;
};

static const struct chat_adapter_ops *const registry[] = {
	&local_adapter,    &slack_adapter, &telegram_adapter,
	&dingtalk_adapter, &wecom_adapter, &lark_adapter,
};

static void audit(struct chat *c, const char *event, const char *edge, const char *fmt, ...)
        _printf_(4, 5);
static void audit(struct chat *c, const char *event, const char *edge, const char *fmt, ...)
{
	char detail[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (relay_db_audit(c->db, event, edge, NULL, "%s", detail) < 0)
		log_warn("cannot write audit row '%s', ignoring", event);
}

/* ---- the ordered outbound queue ---------------------------------------------------- */

static void queue_run(struct outq *q);
static void inv_maybe_free(struct inv *inv);

static void item_free(struct qitem *it)
{
	free(it->chat_id);
	free(it->thread_id);
	free(it->text);
	free(it->title);
	free(it->btn_action[0]);
	free(it->btn_action[1]);
	free(it);
}

static const char *adapter_name(const struct outq *q)
{
	return chat_ops(q->a)->name;
}

static char *progress_text(struct inv *inv)
{
	const struct chat_adapter_ops *ops = chat_ops(inv->q->a);
	struct buf b = BUF_INIT((size_t)PROGRESS_MAX * 8);
	const char *p = buf_str(&inv->progress);
	int r;

	r = buf_adds(&b, "Investigating on ");
	r |= render_escape(&b, ops->format, inv->edge);
	r |= buf_adds(&b, " (");
	r |= render_escape(&b, ops->format, inv->incident);
	r |= buf_adds(&b, "): ");
	r |= render_escape(&b, ops->format, inv->question);
	r |= buf_adds(&b, "\n");
	/* Only whole lines that fit: the tail is what is new. */
	while (strlen(p) + b.len + 16 > ops->max_text && strchr(p, '\n'))
		p = strchr(p, '\n') + 1;
	r |= render_escape(&b, ops->format, p);
	if (r)
		log_debug("progress of %s cut short", inv->incident);
	return buf_detach(&b, NULL);
}

/* An adapter may finish a send at once (the terminal, a refusal), which runs the queue
 * again from here: each round takes one item off, so the depth is the queue's length. */
static void on_item_sent(void *udata, int err, /* NOLINT(misc-no-recursion) */
                         const struct chat_ref *ref)
{
	struct qitem *it = udata;
	struct outq *q = it->q;
	struct chat *c = q->c;

	if (err)
		log_warn("%s: cannot %s a message in %s: %s", adapter_name(q),
		         it->edit ? "edit" : "post", it->chat_id ? it->chat_id : "?",
		         strerror(-err));
	if (it->inv) {
		struct inv *inv = it->inv;
		if (!it->edit && it->progress && !inv->have_msg) {
			if (!err && ref) {
				inv->msg = *ref;
				inv->have_msg = true;
			} else {
				inv->placeholder_failed = true;
			}
		}
		if (it->progress)
			inv->edit_queued = false;
		inv->pending--;
		inv_maybe_free(inv);
	}
	if (!err && ref && it->action_id[0]) {
		sqlite3_stmt *st;
		if (db_prepare(c->db,
		               "UPDATE chat_approvals SET msg_chat = ?, msg_id = ? WHERE action_id "
		               "= ?",
		               &st, NULL) == 0) {
			sqlite3_bind_text(st, 1, ref->chat_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, ref->msg_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, it->action_id, -1, SQLITE_TRANSIENT);
			(void)sqlite3_step(st);
			sqlite3_finalize(st);
		}
	}
	item_free(it);
	q->busy = false;
	queue_run(q);
}

static void queue_run(struct outq *q) /* NOLINT(misc-no-recursion) */
{
	const struct chat_adapter_ops *ops = chat_ops(q->a);

	while (!q->busy && !list_empty(&q->items)) {
		struct qitem *it = list_entry(q->items.next, struct qitem, node);
		struct chat_out m = { 0 };
		const struct chat_ref *ref = NULL;
		int r;

		list_del(&it->node);
		if (it->marker) {
			q->busy = true;
			if (ops->done)
				ops->done(q->a, it->chat_id);
			on_item_sent(it, 0, NULL);
			return;
		}
		if (it->progress && it->inv) {
			free(it->text);
			it->text = progress_text(it->inv);
			it->inv->dirty = false;
		}
		if (it->edit) {
			if (it->inv && it->inv->have_msg)
				ref = &it->inv->msg;
			else if (!it->inv && it->ref.msg_id[0])
				ref = &it->ref;
			/* A progress edit before the placeholder exists is pointless: skip it. */
			if (!ref && it->progress) {
				q->busy = true;
				on_item_sent(it, 0, NULL);
				return;
			}
		}
		m.chat_id = it->chat_id;
		m.thread_id = it->thread_id;
		m.text = it->text;
		m.title = it->title;
		m.buttons = it->nbtn ? it->btn : NULL;
		m.nbuttons = it->nbtn;
		q->busy = true;
		if (ref && ops->edit)
			r = ops->edit(q->a, ref, &m, on_item_sent, it);
		else
			r = ops->send(q->a, &m, on_item_sent, it);
		if (r < 0) {
			/* The adapter did not take it: finish it here, in order. */
			on_item_sent(it, r, NULL);
			return;
		}
	}
}

static struct qitem *item_new(struct outq *q, const char *chat_id, const char *thread_id,
                              const char *text)
{
	struct qitem *it = xcalloc(1, sizeof(*it));

	it->q = q;
	it->chat_id = xstrdup(chat_id ? chat_id : "");
	it->thread_id = thread_id && *thread_id ? xstrdup(thread_id) : NULL;
	it->text = xstrdup(text ? text : "");
	return it;
}

static void item_push(struct qitem *it)
{
	if (it->inv)
		it->inv->pending++;
	list_add_tail(&it->node, &it->q->items);
	queue_run(it->q);
}

/* The answer to chat_id is complete once what is queued before this has left. */
static void mark_done(struct outq *q, const char *chat_id)
{
	struct qitem *it;

	if (!chat_ops(q->a)->done)
		return;
	it = item_new(q, chat_id, NULL, NULL);
	it->marker = true;
	item_push(it);
}

/* Post text (already rendered) into a thread, split to the adapter's limit. */
static void post(struct outq *q, const char *chat_id, const char *thread_id, const char *text)
{
	const struct chat_adapter_ops *ops = chat_ops(q->a);
	char **chunks;
	size_t n = render_split(text, ops->format, ops->max_text, &chunks);

	for (size_t i = 0; i < n; i++)
		item_push(item_new(q, chat_id, thread_id, chunks[i]));
	render_chunks_free(chunks);
}

/* Post plain words (escaped here). */
static void say(struct outq *q, const char *chat_id, const char *thread_id, const char *fmt, ...)
        _printf_(4, 5);
static void say(struct outq *q, const char *chat_id, const char *thread_id, const char *fmt, ...)
{
	struct buf b = BUF_INIT(64 << 10);
	char *raw;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = NULL;
	va_end(ap);
	if (!raw)
		return;
	if (render_escape(&b, chat_ops(q->a)->format, raw) == 0)
		post(q, chat_id, thread_id, buf_str(&b));
	free(raw);
	buf_release(&b);
}

static struct outq *queue_of(struct chat *c, const char *platform)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(chat_ops(c->queues[i].a)->name, platform))
			return &c->queues[i];
	return NULL;
}

static struct outq *queue_of_adapter(struct chat *c, const struct chat_adapter *a)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->queues[i].a == a)
			return &c->queues[i];
	return NULL;
}

/* ---- incidents ---------------------------------------------------------------------- */

struct incident {
	char id[64];
	char edge[130];
	char question[512];
	bool found;
};

static int incident_find(struct chat *c, const char *platform, const char *chat_id,
                         const char *thread_id, struct incident *ret)
{
	sqlite3_stmt *st;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = db_prepare(c->db,
	               "SELECT id, COALESCE(edge, ''), question FROM chat_incidents "
	               "WHERE platform = ? AND chat_id = ? AND thread_id = ?",
	               &st, NULL);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, chat_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, thread_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ret->found = true;
		str_copy(ret->id, (const char *)sqlite3_column_text(st, 0), sizeof(ret->id));
		str_copy(ret->edge, (const char *)sqlite3_column_text(st, 1), sizeof(ret->edge));
		str_copy(ret->question, (const char *)sqlite3_column_text(st, 2),
		         sizeof(ret->question));
	}
	sqlite3_finalize(st);
	return 0;
}

static int incident_create(struct chat *c, const char *platform, const char *chat_id,
                           const char *thread_id, const char *edge, const char *question,
                           struct incident *ret)
{
	sqlite3_stmt *st;
	int64_t now = now_ms();
	int r;

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->id, sizeof(ret->id), "inc-%llx-%llu", (unsigned long long)now,
	         (unsigned long long)++c->seq);
	str_copy(ret->edge, edge ? edge : "", sizeof(ret->edge));
	str_copy(ret->question, question, sizeof(ret->question));
	r = db_prepare(c->db,
	               "INSERT INTO chat_incidents(id, platform, chat_id, thread_id, edge, "
	               "question, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	               &st, NULL);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, ret->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, chat_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, thread_id, -1, SQLITE_STATIC);
	if (edge && *edge)
		sqlite3_bind_text(st, 5, edge, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, question, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, now);
	r = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	ret->found = r == 0;
	return r;
}

static void incident_set_edge(struct chat *c, const char *id, const char *edge)
{
	sqlite3_stmt *st;

	if (db_prepare(c->db, "UPDATE chat_incidents SET edge = ?, updated_ms = ? WHERE id = ?",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, edge, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms());
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

static void turn_add(struct chat *c, const char *incident, const char *who, const char *text)
{
	sqlite3_stmt *st;

	if (db_prepare(c->db, "INSERT INTO chat_turns(incident, at_ms, who, text) VALUES (?,?,?,?)",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms());
	sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	if (db_prepare(c->db, "UPDATE chat_incidents SET updated_ms = ? WHERE id = ?", &st, NULL) ==
	    0) {
		sqlite3_bind_int64(st, 1, now_ms());
		sqlite3_bind_text(st, 2, incident, -1, SQLITE_STATIC);
		(void)sqlite3_step(st);
		sqlite3_finalize(st);
	}
}

static cJSON *turns_json(struct chat *c, const char *incident)
{
	cJSON *arr = json_arr();
	sqlite3_stmt *st;

	if (db_prepare(c->db,
	               "SELECT who, text FROM (SELECT rowid, who, text FROM chat_turns "
	               "WHERE incident = ? ORDER BY rowid DESC LIMIT ?) ORDER BY rowid",
	               &st, NULL) < 0)
		return arr;
	sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, CONTEXT_TURNS);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *t = json_obj();
		json_add_str(t, "who", (const char *)sqlite3_column_text(st, 0));
		json_add_str(t, "text", (const char *)sqlite3_column_text(st, 1));
		json_push(arr, t);
	}
	sqlite3_finalize(st);
	return arr;
}

/* ---- picking the edge ------------------------------------------------------------------ */

static bool name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':';
}

/* The connected edge the question points at: named, or found through topology, or the
 * only one. Returns 1 with out set, 0 when ambiguous or none (list filled with the
 * connected names for the question back). */
static int pick_edge(struct chat *c, const char *text, char *out, size_t outsz, struct buf *list)
{
	cJSON *edges = relay_edges_json(c->relay), *e;
	struct topo_graph *g = NULL;
	char found[130] = "";
	int nconnected = 0, nfound = 0;
	const char *p = text;

	cJSON_ArrayForEach(e, edges) {
		const char *name =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
		if (!name)
			continue;
		if (nconnected < EDGES_LISTED_MAX)
			ADD(buf_addf(list, "%s%s", nconnected ? ", " : "", name));
		nconnected++;
	}
	while (*p) {
		char w[130] = "";
		size_t n = 0;
		while (*p && !name_char(*p))
			p++;
		while (*p && name_char(*p)) {
			if (n + 1 < sizeof(w))
				w[n++] = *p;
			p++;
		}
		while (n && (w[n - 1] == '.' || w[n - 1] == ':'))
			n--; /* "web-1." at the end of a sentence */
		w[n] = '\0';
		if (n < 2)
			continue;
		if (relay_edge_connected(c->relay, w)) {
			if (strcmp(found, w) != 0)
				nfound++;
			str_copy(found, w, sizeof(found));
			continue;
		}
		/* An address, address:port or process name the topology knows. */
		if (n >= 3 && (strchr(w, '.') || strchr(w, ':'))) {
			cJSON *res, *node;
			if (!g && topo_load(c->db, &g, NULL) < 0)
				continue;
			res = topo_find(g, w);
			cJSON_ArrayForEach(node, cJSON_GetObjectItemCaseSensitive(res, "nodes")) {
				const char *id = cJSON_GetStringValue(
				        cJSON_GetObjectItemCaseSensitive(node, "id"));
				char host[130];
				if (!id || (!str_startswith(id, "host:") &&
				            !str_startswith(id, "service:")))
					continue;
				str_copy(host, strchr(id, ':') + 1, sizeof(host));
				if (strchr(host, ':'))
					*strchr(host, ':') = '\0';
				if (relay_edge_connected(c->relay, host) &&
				    strcmp(found, host) != 0) {
					nfound++;
					str_copy(found, host, sizeof(found));
				}
			}
			cJSON_Delete(res);
		}
	}
	topo_graph_free(g);
	if (nfound == 0 && nconnected == 1) {
		cJSON *only = cJSON_GetArrayItem(edges, 0);
		str_copy(found,
		         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(only, "name")),
		         sizeof(found));
		nfound = 1;
	}
	cJSON_Delete(edges);
	if (nfound != 1)
		return 0;
	str_copy(out, found, outsz);
	return 1;
}

/* ---- investigations ----------------------------------------------------------------- */

static void inv_maybe_free(struct inv *inv)
{
	if (!inv->finished || inv->pending)
		return;
	ev_timer_stop(inv->c->loop, &inv->edit_timer);
	list_del(&inv->node);
	buf_release(&inv->progress);
	free(inv);
}

static void queue_progress_edit(struct inv *inv)
{
	struct qitem *it;

	if (inv->edit_queued || inv->finished)
		return;
	if (!(chat_ops(inv->q->a)->caps & CHAT_CAN_EDIT)) {
		inv->dirty = false;
		return;
	}
	it = item_new(inv->q, inv->chat_id, inv->thread_id, NULL);
	it->inv = inv;
	it->edit = true;
	it->progress = true;
	inv->edit_queued = true;
	item_push(it);
}

static void on_edit_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct inv *inv = w->data;

	(void)loop, (void)revents;
	if (inv->dirty)
		queue_progress_edit(inv);
}

static const char *jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

#define ACTION_EDGE_MAX 130 /* an edge's name, as chat_approvals.edge is read back */

static void record_action(struct chat *c, struct inv *inv, const char *id, const char *cls,
                          const char *tool, const char *edge)
{
	sqlite3_stmt *st;

	if (db_prepare(c->db,
	               "INSERT OR IGNORE INTO chat_approvals(action_id, incident, edge, class, "
	               "tool) VALUES (?, ?, ?, ?, ?)",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, inv->incident, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, edge, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cls, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tool ? tool : "", -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

/* An edge that has connected here at least once (the registry), whether or not it is
 * connected now: a report delivered late may arrive before the host it names is back,
 * and a press while that host is away is answered "not connected" and can be repeated. */
static bool edge_known(struct chat *c, const char *name)
{
	sqlite3_stmt *st;
	bool known;

	if (db_prepare(c->db, "SELECT 1 FROM edges WHERE name = ?", &st, NULL) < 0)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	known = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return known;
}

static void post_report(struct inv *inv, const cJSON *rep)
{
	struct chat *c = inv->c;
	const struct chat_adapter_ops *ops = chat_ops(inv->q->a);
	struct buf b = BUF_INIT(REPORT_MAX);
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(rep, "actions"), *a;
	char **chunks;
	size_t n;

	if (render_report(&b, ops->format, rep) < 0)
		log_warn("report of %s cut at %u KiB", inv->incident, REPORT_MAX >> 10);
	n = render_split(buf_str(&b), ops->format, ops->max_text, &chunks);
	for (size_t i = 0; i < n; i++) {
		struct qitem *it = item_new(inv->q, inv->chat_id, inv->thread_id, chunks[i]);
		it->inv = inv;
		/* The first chunk replaces the streamed progress. */
		it->edit = i == 0 && (ops->caps & CHAT_CAN_EDIT) && !inv->placeholder_failed;
		item_push(it);
	}
	render_chunks_free(chunks);
	buf_release(&b);
	if (jstr(rep, "summary"))
		turn_add(c, inv->incident, "ongrid", jstr(rep, "summary"));
	cJSON_ArrayForEach(a, acts) {
		const char *id = jstr(a, "id"), *status = jstr(a, "status"),
		           *cls = jstr(a, "class"), *host = jstr(a, "host");
		enum chat_class k;
		struct qitem *it;
		struct buf t = BUF_INIT(8192);
		if (!id || !*id || strlen(id) > 64 || (status && strcmp(status, "proposed") != 0))
			continue;
		/* An action proposed on an upstream host (the investigation walked there) is held
		 * by that host's gate: the decision goes there. The edge cannot make another run
		 * anything by naming it: the host runs only an id its own gate recorded, and only
		 * when it is the tool shown here (approval.decide carries it). */
		if (!host || !*host)
			host = inv->edge;
		else if (strlen(host) >= ACTION_EDGE_MAX || !edge_known(c, host)) {
			log_warn("report of %s: action %s names host '%.64s', which is no edge of "
			         "this relay; not offered",
			         inv->incident, id, host);
			continue;
		}
		if (chat_class_parse(cls, &k) < 0)
			k = CHAT_CLASS_DANGEROUS; /* unknown class: the strictest rule */
		record_action(c, inv, id, chat_class_name(k), jstr(a, "tool"), host);
		(void)render_action(&t, ops->format, a, id, host);
		if (c->conf->approvals_double_sign && k == CHAT_CLASS_DANGEROUS)
			ADD(buf_adds(&t, "\n(needs two different approvers)"));
		if (!(ops->caps & CHAT_CAN_BUTTONS))
			ADD(buf_addf(&t, "\nReply: approve %s | deny %s", id, id));
		it = item_new(inv->q, inv->chat_id, inv->thread_id, buf_str(&t));
		buf_release(&t);
		it->inv = inv;
		str_copy(it->action_id, id, sizeof(it->action_id));
		if (ops->caps & CHAT_CAN_BUTTONS) {
			it->btn_action[0] = xasprintf("approve:%s", id);
			it->btn_action[1] = xasprintf("deny:%s", id);
			it->btn[0] = (struct chat_button){ "Approve", it->btn_action[0],
				                           CHAT_BUTTON_PRIMARY };
			it->btn[1] = (struct chat_button){ "Deny", it->btn_action[1],
				                           CHAT_BUTTON_DANGER };
			it->nbtn = 2;
		}
		item_push(it);
		audit(c, "chat.action.proposed", inv->edge, "incident %s action %s %s (%s)",
		      inv->incident, id, jstr(a, "tool") ? jstr(a, "tool") : "?",
		      chat_class_name(k));
	}
}

/* To every outbound-only adapter (the group robots), split to each one's limit. */
static void broadcast(struct chat *c, const char *title, const char *markdown)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct chat_adapter_ops *ops = chat_ops(c->queues[i].a);
		char **chunks;
		size_t n;
		if (ops->caps & CHAT_CAN_RECEIVE)
			continue;
		n = render_split(markdown, ops->format, ops->max_text, &chunks);
		for (size_t k = 0; k < n; k++) {
			struct qitem *it = item_new(&c->queues[i], "", NULL, chunks[k]);
			it->title = xstrdup(title);
			item_push(it);
		}
		render_chunks_free(chunks);
	}
}

static void on_investigate_reply(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct inv *inv = udata;
	struct chat *c = inv->c;

	ev_timer_stop(c->loop, &inv->edit_timer);
	inv->req_id[0] = '\0';
	if (err) {
		char t[600];
		log_warn("investigation %s on '%s' failed: %s", inv->incident, inv->edge,
		         msg ? msg : proto_code_from_errno(err));
		snprintf(t, sizeof(t), "The investigation on %s failed: %s", inv->edge,
		         msg ? msg : proto_code_from_errno(err));
		audit(c, "chat.investigate.failed", inv->edge, "incident %s: %s", inv->incident,
		      msg ? msg : proto_code_from_errno(err));
		if (!c->closing) {
			struct buf b = BUF_INIT(4096);
			struct qitem *it;
			(void)render_escape(&b, chat_ops(inv->q->a)->format, t);
			it = item_new(inv->q, inv->chat_id, inv->thread_id, buf_str(&b));
			buf_release(&b);
			it->inv = inv;
			it->edit = (chat_ops(inv->q->a)->caps & CHAT_CAN_EDIT) != 0;
			item_push(it);
		}
	} else if (!cJSON_IsObject(payload)) {
		say(inv->q, inv->chat_id, inv->thread_id, "The edge %s sent no report.", inv->edge);
	} else {
		struct buf md = BUF_INIT(REPORT_MAX);
		char title[512];
		audit(c, "chat.investigate.done", inv->edge, "incident %s", inv->incident);
		post_report(inv, payload);
		/* The group robots get every report too (alerts and post-mortem drafts come
		 * the same way from their modules). */
		snprintf(title, sizeof(title), "[ongrid] %s: %.200s", inv->edge, inv->question);
		if (render_report(&md, CHAT_FMT_MARKDOWN, payload) == 0 && !c->closing)
			broadcast(c, title, buf_str(&md));
		buf_release(&md);
	}
	if (!c->closing)
		mark_done(inv->q, inv->chat_id);
	inv->finished = true;
	inv_maybe_free(inv);
}

static bool investigate(struct chat *c, struct outq *q, const struct chat_event *ev,
                        enum chat_role role, const struct incident *inc, const char *question,
                        bool follow_up)
{
	struct inv *inv = xcalloc(1, sizeof(*inv));
	cJSON *p, *req;
	struct qitem *it;
	int r;

	inv->c = c;
	inv->q = q;
	str_copy(inv->incident, inc->id, sizeof(inv->incident));
	str_copy(inv->edge, inc->edge, sizeof(inv->edge));
	str_copy(inv->chat_id, ev->chat_id, sizeof(inv->chat_id));
	str_copy(inv->thread_id, ev->thread_id ? ev->thread_id : "", sizeof(inv->thread_id));
	str_copy(inv->question, question, sizeof(inv->question));
	buf_init(&inv->progress, PROGRESS_MAX);
	ev_timer_init(&inv->edit_timer, on_edit_timer, 0.,
	              (double)c->conf->chat_edit_interval_ms / 1000.0);
	inv->edit_timer.data = inv;
	list_add_tail(&inv->node, &c->invs);

	p = json_obj();
	json_add_str(p, "question", question);
	json_add_str(p, "incident_id", inc->id);
	json_add(p, "context", turns_json(c, inc->id));
	json_add_bool(p, "follow_up", follow_up);
	req = json_obj();
	json_add_str(req, "platform", adapter_name(q));
	json_add_str(req, "user", ev->user_id);
	json_add_str(req, "role", chat_role_name(role));
	json_add(p, "requester", req);
	turn_add(c, inc->id, "user", question);

	/* The placeholder the progress is edited into. */
	it = item_new(q, inv->chat_id, inv->thread_id, NULL);
	it->inv = inv;
	it->progress = true;
	item_push(it);

	r = relay_request(c->relay, inv->edge, "investigate", p,
	                  c->conf->chat_investigate_timeout_ms, on_investigate_reply, inv,
	                  inv->req_id);
	cJSON_Delete(p);
	audit(c, "chat.investigate", inv->edge, "incident %s %s:%s (%s) asked: %.300s", inc->id,
	      adapter_name(q), ev->user_id, chat_role_name(role), question);
	if (r < 0) {
		say(q, inv->chat_id, inv->thread_id, "Cannot reach %s: %s", inv->edge,
		    r == -EHOSTUNREACH ? "it is not connected" : strerror(-r));
		inv->finished = true;
		inv_maybe_free(inv);
		return false;
	}
	ev_timer_again(c->loop, &inv->edit_timer);
	return true;
}

/* "investigate.report" from an edge's outbox: an investigation whose request was lost (the
 * relay restarted, the link dropped) finished anyway, and its report belongs in the
 * incident's thread. Delivered exactly once (relay/inbox.c), so it is posted once. */
static void on_late_report(void *udata, const char *edge, const char *msg_id, const cJSON *body)
{
	struct chat *c = udata;
	const char *id = jstr(body, "incident_id");
	const cJSON *rep = cJSON_GetObjectItemCaseSensitive(body, "report");
	char platform[32] = "", chat_id[CHAT_ID_MAX] = "", thread_id[CHAT_ID_MAX] = "",
	     inc_edge[130] = "", question[512] = "";
	struct outq *q = NULL;
	sqlite3_stmt *st;
	struct inv *inv;

	if (!id || !cJSON_IsObject(rep)) {
		log_warn("edge %s sent a malformed investigate.report (%s)", edge, msg_id);
		return;
	}
	if (db_prepare(c->db,
	               "SELECT platform, chat_id, thread_id, COALESCE(edge, ''), question "
	               "FROM chat_incidents WHERE id = ?",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		str_copy(platform, (const char *)sqlite3_column_text(st, 0), sizeof(platform));
		str_copy(chat_id, (const char *)sqlite3_column_text(st, 1), sizeof(chat_id));
		str_copy(thread_id, (const char *)sqlite3_column_text(st, 2), sizeof(thread_id));
		str_copy(inc_edge, (const char *)sqlite3_column_text(st, 3), sizeof(inc_edge));
		str_copy(question, (const char *)sqlite3_column_text(st, 4), sizeof(question));
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(adapter_name(&c->queues[i]), platform))
			q = &c->queues[i];
	if (!q || strcmp(inc_edge, edge) != 0 || c->closing) {
		log_warn("edge %s delivered a report for incident '%s', which %s", edge, id,
		         !platform[0] ? "this relay does not know"
		         : !q         ? "belongs to a chat platform that is off"
		                      : "is not that edge's");
		return;
	}
	audit(c, "chat.investigate.late", edge,
	      "incident %s: the report arrived through the outbox", id);
	inv = xcalloc(1, sizeof(*inv));
	inv->c = c;
	inv->q = q;
	str_copy(inv->incident, id, sizeof(inv->incident));
	str_copy(inv->edge, edge, sizeof(inv->edge));
	str_copy(inv->chat_id, chat_id, sizeof(inv->chat_id));
	str_copy(inv->thread_id, thread_id, sizeof(inv->thread_id));
	str_copy(inv->question, question, sizeof(inv->question));
	inv->placeholder_failed = true; /* nothing to edit: the report is new messages */
	buf_init(&inv->progress, PROGRESS_MAX);
	ev_timer_init(&inv->edit_timer, on_edit_timer, 0., 1.);
	inv->edit_timer.data = inv;
	list_add_tail(&inv->node, &c->invs);
	post_report(inv, rep);
	inv->finished = true;
	inv_maybe_free(inv);
}

/* "investigate.progress" from an edge: a line for the incident's streamed message. */
static void on_progress(struct relay_call *call, const cJSON *p, void *udata)
{
	struct chat *c = udata;
	const char *id = jstr(p, "incident_id"), *text = jstr(p, "text");
	struct list_head *n;

	if (!id || !text) {
		relay_reply_error(call, -EINVAL, "investigate.progress needs incident_id and text");
		return;
	}
	list_for_each(n, &c->invs) {
		struct inv *inv = list_entry(n, struct inv, node);
		size_t tl = strlen(text);
		if (inv->finished || strcmp(inv->incident, id) != 0 ||
		    strcmp(inv->edge, relay_call_edge(call)) != 0)
			continue;
		if (tl > PROGRESS_MAX / 2)
			tl = PROGRESS_MAX / 2;
		/* Keep the tail: drop whole old lines until the new one fits. */
		while (inv->progress.len + tl + 1 > PROGRESS_MAX) {
			const char *nl = memchr(inv->progress.data, '\n', inv->progress.len);
			buf_consume(&inv->progress,
			            nl ? (size_t)(nl - inv->progress.data) + 1 : inv->progress.len);
		}
		if (buf_add(&inv->progress, text, tl) == 0)
			ADD(buf_addc(&inv->progress, '\n'));
		inv->dirty = true;
		relay_reply(call, NULL);
		return;
	}
	relay_reply_error(call, -ENOENT, "no investigation '%s' is running from this edge", id);
}

/* ---- approvals --------------------------------------------------------------------- */

struct decide {
	struct chat *c;
	char action_id[CHAT_ACTION_MAX];
	char incident[64], edge[130], who[160], first[160];
	bool approve;
};

struct approval_row {
	char incident[64], edge[ACTION_EDGE_MAX], cls[16], tool[96], status[16], first[160];
	char msg_chat[CHAT_ID_MAX], msg_id[CHAT_ID_MAX];
	char platform[32], chat_id[CHAT_ID_MAX], thread_id[CHAT_ID_MAX];
};

static int approval_get(struct chat *c, const char *id, struct approval_row *a)
{
	sqlite3_stmt *st;
	int r = -ENOENT;

	memset(a, 0, sizeof(*a));
	if (db_prepare(c->db,
	               "SELECT a.incident, a.edge, a.class, a.tool, a.status, "
	               "COALESCE(a.first_user, ''), COALESCE(a.msg_chat, ''), "
	               "COALESCE(a.msg_id, ''), i.platform, i.chat_id, i.thread_id "
	               "FROM chat_approvals a JOIN chat_incidents i ON i.id = a.incident "
	               "WHERE a.action_id = ?",
	               &st, NULL) < 0)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char *f[] = { a->incident, a->edge,    a->cls,      a->tool,
			      a->status,   a->first,   a->msg_chat, a->msg_id,
			      a->platform, a->chat_id, a->thread_id };
		size_t sz[] = { sizeof(a->incident), sizeof(a->edge),     sizeof(a->cls),
			        sizeof(a->tool),     sizeof(a->status),   sizeof(a->first),
			        sizeof(a->msg_chat), sizeof(a->msg_id),   sizeof(a->platform),
			        sizeof(a->chat_id),  sizeof(a->thread_id) };
		for (int i = 0; i < 11; i++)
			str_copy(f[i], (const char *)sqlite3_column_text(st, i), sz[i]);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static void approval_set(struct chat *c, const char *id, const char *status, const char *first,
                         const char *decided_by)
{
	sqlite3_stmt *st;

	if (db_prepare(c->db,
	               "UPDATE chat_approvals SET status = ?, "
	               "first_user = COALESCE(?, first_user), "
	               "first_ms = CASE WHEN ? IS NULL THEN first_ms ELSE ? END, "
	               "decided_by = COALESCE(?, decided_by), "
	               "decided_ms = CASE WHEN ? IS NULL THEN decided_ms ELSE ? END "
	               "WHERE action_id = ?",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	if (first) {
		sqlite3_bind_text(st, 2, first, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, first, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 4, now_ms());
	if (decided_by) {
		sqlite3_bind_text(st, 5, decided_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, decided_by, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 7, now_ms());
	sqlite3_bind_text(st, 8, id, -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Replace the buttons' message with the outcome so nobody presses twice. */
static void close_buttons(struct chat *c, const struct approval_row *a, const char *text)
{
	struct outq *q = queue_of(c, a->platform);
	struct qitem *it;
	struct buf b = BUF_INIT(4096);

	if (!q || !a->msg_id[0] || !(chat_ops(q->a)->caps & CHAT_CAN_EDIT))
		return;
	(void)render_escape(&b, chat_ops(q->a)->format, text);
	it = item_new(q, a->msg_chat, a->thread_id, buf_str(&b));
	buf_release(&b);
	it->edit = true;
	str_copy(it->ref.chat_id, a->msg_chat, sizeof(it->ref.chat_id));
	str_copy(it->ref.msg_id, a->msg_id, sizeof(it->ref.msg_id));
	item_push(it);
}

/* True for the first caller with this action's outcome: it posts it; later ones do not.
 * The insert is atomic, so the reply and the outbox copy cannot both win. */
static bool outcome_claim(struct chat *c, const char *action_id, const char *status)
{
	sqlite3_stmt *st;
	bool won;

	if (db_prepare(c->db,
	               "INSERT OR IGNORE INTO chat_outcomes(action_id, status, posted_ms) "
	               "VALUES (?, ?, ?)",
	               &st, NULL) < 0)
		return true; /* better twice than never */
	sqlite3_bind_text(st, 1, action_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms());
	won = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(c->db) == 1;
	sqlite3_finalize(st);
	return won;
}

static bool is_outcome(const char *status)
{
	return status && (!strcmp(status, "executed") || !strcmp(status, "failed") ||
	                  !strcmp(status, "denied"));
}

/* The link to the edge dropped (or the relay restarted) while it ran the call: the
 * decision may well be recorded there, and its outcome comes through the edge's outbox. */
static bool link_dropped(int err)
{
	return err == -ECONNRESET || err == -ESHUTDOWN || err == -ENOTCONN || err == -EPIPE;
}

static void on_decided(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct decide *dc = udata;
	struct chat *c = dc->c;
	struct approval_row a;
	struct outq *q;
	char by[340], line[700];
	const char *est = jstr(payload, "status");
	const cJSON *recorded = cJSON_GetObjectItemCaseSensitive(payload, "recorded");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(payload, "result");
	const char *finding = jstr(cJSON_GetObjectItemCaseSensitive(result, "evidence"), "finding");
	const char *failure = jstr(result, "error");
	/* NaN (absent) compares false: only an edge that counted says it waits */
	double napproved =
	        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "approvals"));
	double nneeded = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(payload, "needed"));

	if (dc->first[0])
		snprintf(by, sizeof(by), "%s and %s", dc->first, dc->who);
	else
		snprintf(by, sizeof(by), "%s", dc->who);
	if (approval_get(c, dc->action_id, &a) < 0) {
		free(dc);
		return;
	}
	q = queue_of(c, a.platform);
	if (err) {
		/* pressing again is safe: an edge that recorded it answers what it did */
		approval_set(c, dc->action_id, "proposed", NULL, NULL);
		audit(c, "chat.approval.failed", dc->edge, "action %s %s by %s: edge said %s",
		      dc->action_id, dc->approve ? "approve" : "deny", by,
		      msg ? msg : proto_code_from_errno(err));
		if (q) {
			if (link_dropped(err))
				say(q, a.chat_id, a.thread_id,
				    "The link to %s dropped while it recorded the decision on %s; "
				    "if it ran, the outcome follows here once %s is back (pressing "
				    "again is safe: %s runs nothing twice).",
				    dc->edge, dc->action_id, dc->edge, dc->edge);
			else if (err == -ETIMEDOUT)
				say(q, a.chat_id, a.thread_id,
				    "%s did not answer about %s in time; it may still be running "
				    "there (ongrid-edge approve --list on the host).",
				    dc->edge, dc->action_id);
			else
				say(q, a.chat_id, a.thread_id,
				    "%s could not record the decision on %s: %s", dc->edge,
				    dc->action_id, msg ? msg : proto_code_from_errno(err));
			mark_done(q, a.chat_id);
		}
		free(dc);
		return;
	}
	/* the edge may need more approvers than the relay asked for (its tools.double_sign):
	 * it says "approved" with approvals < needed, and the buttons stay for the next person */
	if (dc->approve && est && strcmp(est, "approved") == 0 && napproved > 0 &&
	    napproved < nneeded) {
		approval_set(c, dc->action_id, "proposed", NULL, NULL);
		audit(c, "chat.approval.recorded", dc->edge,
		      "action %s (%s %s) approved by %s; %s waits for another approver",
		      dc->action_id, a.tool, a.cls, by, dc->edge);
		if (q) {
			say(q, a.chat_id, a.thread_id,
			    "%s recorded the approval of %s by %s (%d of %d); it needs another "
			    "approver there.",
			    dc->edge, dc->action_id, by, (int)napproved, (int)nneeded);
			mark_done(q, a.chat_id);
		}
		free(dc);
		return;
	}
	approval_set(c, dc->action_id, dc->approve ? "approved" : "denied", NULL, by);
	audit(c, dc->approve ? "chat.approval.approved" : "chat.approval.denied", dc->edge,
	      "action %s (%s %s) %s by %s; forwarded to %s%s%s", dc->action_id, a.tool, a.cls,
	      dc->approve ? "approved" : "denied", by, dc->edge, est ? ", which says " : "",
	      est ? est : "");
	snprintf(line, sizeof(line), "%s %s (%s) %s by %s", dc->approve ? "Approved" : "Denied",
	         dc->action_id, a.tool, dc->approve ? "on its way to the edge" : "not run", by);
	/* the edge's approval.result may have come first (through its outbox) and said it */
	if (is_outcome(est) && !(recorded && recorded->type == cJSON_False) &&
	    !outcome_claim(c, dc->action_id, est)) {
		free(dc);
		return;
	}
	close_buttons(c, &a, line);
	if (q) {
		say(q, a.chat_id, a.thread_id, "%s: %s recorded it.", line, dc->edge);
		/* what the edge did: the run's outcome, or what an earlier decision left */
		if (est && recorded && recorded->type == cJSON_False)
			say(q, a.chat_id, a.thread_id, "%s had decided %s before: %s.", dc->edge,
			    dc->action_id, est);
		else if (est && (!strcmp(est, "executed") || !strcmp(est, "failed")))
			say(q, a.chat_id, a.thread_id, "%s on %s: %s%s%s", a.tool, dc->edge, est,
			    finding || failure ? ": " : "",
			    finding   ? finding
			    : failure ? failure
			              : "");
		mark_done(q, a.chat_id);
	}
	free(dc);
}

/* "approval.result" through an edge's outbox: a decision there ended the approval (it ran,
 * failed or was denied), made in this thread while the link dropped under the run, or at
 * the host with `ongrid-edge approve|deny`. Posted once per action (outcome_claim); an
 * action this relay never showed in a thread is the host's own business. */
static void on_approval_result(void *udata, const char *edge, const char *msg_id, const cJSON *body)
{
	struct chat *c = udata;
	const char *id = jstr(body, "action_id"), *st = jstr(body, "status"),
	           *by = jstr(body, "by"), *finding = jstr(body, "finding"),
	           *failure = jstr(body, "error");
	struct approval_row a;
	struct outq *q;
	char line[700];
	bool ran;

	if (!id || !is_outcome(st) || !by) {
		log_warn("edge %s sent a malformed approval.result (%s)", edge, msg_id);
		return;
	}
	if (approval_get(c, id, &a) < 0 || strcmp(a.edge, edge) != 0) {
		log_debug("approval.result %s from %s: not an action shown in a thread here", id,
		          edge);
		return;
	}
	if (c->closing || !outcome_claim(c, id, st))
		return;
	ran = strcmp(st, "denied") != 0;
	approval_set(c, id, ran ? "approved" : "denied", NULL, by);
	audit(c, ran ? "chat.approval.approved" : "chat.approval.denied", edge,
	      "action %s (%s %s) %s by %s on %s, delivered through its outbox", id, a.tool, a.cls,
	      st, by, edge);
	snprintf(line, sizeof(line), "%s %s (%s) by %s on %s", ran ? "Approved" : "Denied", id,
	         a.tool, by, edge);
	close_buttons(c, &a, line);
	q = queue_of(c, a.platform);
	if (!q)
		return;
	if (ran)
		say(q, a.chat_id, a.thread_id, "%s on %s: %s%s%s (approved by %s)", a.tool, edge,
		    st, finding || failure ? ": " : "",
		    finding   ? finding
		    : failure ? failure
		              : "",
		    by);
	else
		say(q, a.chat_id, a.thread_id, "%s: not run.", line);
	mark_done(q, a.chat_id);
}

static bool handle_decision(struct chat *c, struct outq *q, const struct chat_event *ev,
                            enum chat_role role, const char *action_id, bool approve)
{
	bool started = false;
	struct approval_row a;
	struct chat_approval_state st = { 0 };
	enum chat_verdict v;
	char who[160], answer[300];
	const char *tid;

	snprintf(who, sizeof(who), "%s:%s", adapter_name(q), ev->user_id);
	if (approval_get(c, action_id, &a) < 0) {
		snprintf(answer, sizeof(answer), "No pending action '%s'.", action_id);
		if (ev->action_ref && chat_ops(q->a)->answer_action)
			chat_ops(q->a)->answer_action(q->a, ev->action_ref, answer);
		else
			say(q, ev->chat_id, ev->thread_id, "%s", answer);
		return false;
	}
	tid = a.thread_id;
	(void)chat_class_parse(a.cls, &st.cls);
	st.decided = strcmp(a.status, "proposed") != 0;
	st.first_user = a.first;
	v = chat_approval_judge(&st, c->conf->approvals_double_sign, role, who, approve);
	switch (v) {
	case CHAT_VERDICT_CLOSED:
		snprintf(answer, sizeof(answer), "%s is already %s.", action_id, a.status);
		break;
	case CHAT_VERDICT_REFUSED:
		audit(c, "chat.approval.refused", a.edge,
		      "action %s (%s %s): %s by %s refused, role %s may not (needs %s)", action_id,
		      a.tool, a.cls, approve ? "approve" : "deny", who, chat_role_name(role),
		      chat_role_name(chat_role_for_class(st.cls)));
		snprintf(answer, sizeof(answer), "Refused: role %s may not decide %s actions.",
		         chat_role_name(role), a.cls);
		say(q, ev->chat_id, tid, "%s may not decide %s (%s, needs role %s); refused.", who,
		    action_id, a.cls, chat_role_name(chat_role_for_class(st.cls)));
		break;
	case CHAT_VERDICT_SAME_USER:
		audit(c, "chat.approval.same_user", a.edge,
		      "action %s: second approval by %s refused", action_id, who);
		snprintf(answer, sizeof(answer),
		         "You approved already; a different person must approve too.");
		say(q, ev->chat_id, tid, "%s needs a second approval from a different person.",
		    action_id);
		break;
	case CHAT_VERDICT_FIRST:
		approval_set(c, action_id, "proposed", who, NULL);
		audit(c, "chat.approval.first", a.edge, "action %s (%s %s): first approval by %s",
		      action_id, a.tool, a.cls, who);
		snprintf(answer, sizeof(answer), "Recorded: 1 of 2 approvals.");
		say(q, ev->chat_id, tid,
		    "Approval 1 of 2 for %s from %s; one more from a different "
		    "person is needed.",
		    action_id, who);
		break;
	case CHAT_VERDICT_APPROVED:
	case CHAT_VERDICT_DENIED: {
		struct decide *dc = xcalloc(1, sizeof(*dc));
		cJSON *p = json_obj(), *approvers = json_arr();
		int r;
		dc->c = c;
		dc->approve = v == CHAT_VERDICT_APPROVED;
		str_copy(dc->action_id, action_id, sizeof(dc->action_id));
		str_copy(dc->edge, a.edge, sizeof(dc->edge));
		str_copy(dc->who, who, sizeof(dc->who));
		if (dc->approve && a.first[0] && strcmp(a.first, who) != 0)
			str_copy(dc->first, a.first, sizeof(dc->first));
		approval_set(c, action_id, "deciding", NULL, NULL);
		json_add_str(p, "action_id", action_id);
		json_add_str(p, "tool", a.tool);
		json_add_str(p, "decision", dc->approve ? "approve" : "deny");
		json_add_str(p, "approver", who);
		if (dc->first[0])
			json_push(approvers, cJSON_CreateString(dc->first));
		json_push(approvers, cJSON_CreateString(who));
		json_add(p, "approvers", approvers);
		json_add_str(p, "role", chat_role_name(role));
		json_add_str(p, "incident_id", a.incident);
		json_add_num(p, "at_ms", (double)now_ms());
		snprintf(answer, sizeof(answer), "%s %s.", dc->approve ? "Approving" : "Denying",
		         action_id);
		r = relay_request(c->relay, a.edge, "approval.decide", p, DECIDE_TIMEOUT,
		                  on_decided, dc, NULL);
		cJSON_Delete(p);
		if (r < 0) {
			approval_set(c, action_id, "proposed", NULL, NULL);
			say(q, ev->chat_id, tid, "Cannot reach %s to record the decision: %s",
			    a.edge, r == -EHOSTUNREACH ? "not connected" : strerror(-r));
			free(dc);
		} else {
			started = true;
		}
		break;
	}
	}
	if (ev->action_ref && chat_ops(q->a)->answer_action)
		chat_ops(q->a)->answer_action(q->a, ev->action_ref, answer);
	return started;
}

/* ---- commands ------------------------------------------------------------------------ */

static void cmd_status(struct chat *c, struct outq *q, const struct chat_event *ev)
{
	struct buf b = BUF_INIT(16384);
	sqlite3_stmt *st;
	int n = 0;

	ADD(buf_adds(&b, "Hosts:\n"));
	if (db_prepare(c->db,
	               "SELECT name, version, COALESCE(last_heartbeat_ms, 0) FROM edges "
	               "ORDER BY name LIMIT 100",
	               &st, NULL) == 0) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 0);
			ADD(buf_addf(&b, "%s %s: %s, version %s\n",
			             chat_ops(q->a)->format == CHAT_FMT_MARKDOWN ? "-" : "•", name,
			             relay_edge_connected(c->relay, name) ? "connected"
			                                                  : "disconnected",
			             (const char *)sqlite3_column_text(st, 1)));
			n++;
		}
		sqlite3_finalize(st);
	}
	if (!n)
		ADD(buf_adds(&b, "(no edge has connected yet)\n"));
	say(q, ev->chat_id, ev->thread_id, "%s", buf_str(&b));
	buf_release(&b);
}

static void cmd_incidents(struct chat *c, struct outq *q, const struct chat_event *ev)
{
	struct buf b = BUF_INIT(16384);
	sqlite3_stmt *st;
	int n = 0;

	ADD(buf_adds(&b, "Open incidents:\n"));
	if (db_prepare(c->db,
	               "SELECT id, COALESCE(edge, '?'), platform, question FROM chat_incidents "
	               "WHERE status = 'open' ORDER BY updated_ms DESC LIMIT 20",
	               &st, NULL) == 0) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			ADD(buf_addf(&b, "• %s on %s (%s): %.120s\n", sqlite3_column_text(st, 0),
			             sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			             sqlite3_column_text(st, 3)));
			n++;
		}
		sqlite3_finalize(st);
	}
	if (!n)
		ADD(buf_adds(&b, "(none)\n"));
	say(q, ev->chat_id, ev->thread_id, "%s", buf_str(&b));
	buf_release(&b);
}

/* The llm section the router uses now, which a SIGHUP may have re-read. */
static const struct llm_conf *llm_conf_now(const struct chat *c)
{
	const struct llm_service *s = relay_module(c->relay, "llm");

	return s ? llm_service_conf(s) : &c->conf->llm;
}

static void cmd_models(struct chat *c, struct outq *q, const struct chat_event *ev)
{
	struct buf b = BUF_INIT(16384);
	const struct llm_routes_conf *rs = &llm_conf_now(c)->routes;

	ADD(buf_adds(&b, "Model routes:\n"));
	for (size_t i = 0; i < rs->n; i++) {
		char **ov = NULL;
		bool is_ov =
		        c->acct && llm_acct_route_get(c->acct, rs->v[i].purpose, &ov, NULL) == 0;
		ADD(buf_addf(&b, "• %s: ", rs->v[i].purpose));
		if (is_ov) {
			for (size_t j = 0; ov && ov[j]; j++)
				ADD(buf_addf(&b, "%s%s", j ? ", " : "", ov[j]));
			ADD(buf_adds(&b, " (override)\n"));
			llm_strv_free(ov);
		} else {
			for (size_t j = 0; j < rs->v[i].ntargets; j++)
				ADD(buf_addf(&b, "%s%s", j ? ", " : "", rs->v[i].targets[j]));
			ADD(buf_adds(&b, "\n"));
		}
	}
	if (!rs->n)
		ADD(buf_adds(&b, "(llm.routes is empty)\n"));
	say(q, ev->chat_id, ev->thread_id, "%s", buf_str(&b));
	buf_release(&b);
}

static void cmd_model_use(struct chat *c, struct outq *q, const struct chat_event *ev,
                          enum chat_role role, char args[2][128], bool reset)
{
	char prov[65], *v[2] = { args[1], NULL };
	const char *model;
	struct diag d = { 0 };
	bool known = false;
	int r;

	if (role < CHAT_ROLE_ADMIN) {
		audit(c, "chat.model.refused", NULL, "%s:%s (%s) tried model %s %s",
		      adapter_name(q), ev->user_id, chat_role_name(role), reset ? "reset" : "use",
		      args[0]);
		say(q, ev->chat_id, ev->thread_id,
		    "Only admins may change model routes (you are %s).", chat_role_name(role));
		return;
	}
	const struct llm_conf *lc = llm_conf_now(c);

	for (size_t i = 0; i < lc->routes.n; i++)
		known |= !strcmp(lc->routes.v[i].purpose, args[0]);
	if (!known) {
		say(q, ev->chat_id, ev->thread_id, "Unknown purpose '%s' (see: models).", args[0]);
		return;
	}
	if (!reset && (llm_target_split(args[1], prov, sizeof(prov), &model) < 0 ||
	               !llm_conf_provider(lc, prov))) {
		say(q, ev->chat_id, ev->thread_id,
		    "Expected PROVIDER/MODEL with a configured "
		    "provider, got '%s'.",
		    args[1]);
		return;
	}
	if (!c->acct) {
		say(q, ev->chat_id, ev->thread_id,
		    "Model routes cannot be changed: no llm.sqlite.");
		return;
	}
	r = reset ? llm_acct_route_clear(c->acct, args[0], &d)
	          : llm_acct_route_set(c->acct, args[0], v, 1, &d);
	if (r < 0) {
		say(q, ev->chat_id, ev->thread_id, "Cannot change the route: %s", d.msg);
		return;
	}
	audit(c, "chat.model", NULL, "%s:%s: model %s %s %s", adapter_name(q), ev->user_id,
	      reset ? "reset" : "use", args[0], reset ? "" : args[1]);
	if (reset)
		say(q, ev->chat_id, ev->thread_id, "%s follows relay.conf again.", args[0]);
	else
		say(q, ev->chat_id, ev->thread_id, "%s now uses %s.", args[0], args[1]);
}

static void cmd_help(struct outq *q, const struct chat_event *ev)
{
	say(q, ev->chat_id, ev->thread_id,
	    "Ask a question about a host (\"why is web-1 slow?\"): the thread becomes an "
	    "incident and follow-ups in it go to the same host.\n"
	    "Commands: status (hosts), incidents (open ones), models (LLM routes), "
	    "model use PURPOSE PROVIDER/MODEL and model reset PURPOSE (admins), "
	    "approve ID / deny ID, help.");
}

/* ---- inbound ------------------------------------------------------------------------- */

/* Returns true when work goes on after this (an investigation, a decision). */
static bool deliver(struct chat *c, struct outq *q, struct chat_adapter *a,
                    const struct chat_event *ev)
{
	const char *platform = chat_ops(a)->name;
	enum chat_role role;
	char args[2][128];
	enum chat_cmd cmd;
	struct incident inc;

	if (!chat_allowed(c->conf, platform, ev->workspace, ev->chat_id)) {
		audit(c, "chat.refused", NULL,
		      "%s: workspace %s chat %s is not in the allowlist "
		      "(user %s)",
		      platform, ev->workspace ? ev->workspace : "-", ev->chat_id, ev->user_id);
		log_info("%s: ignoring chat %s: not in the allowlist", platform, ev->chat_id);
		if (ev->action_ref && chat_ops(a)->answer_action)
			chat_ops(a)->answer_action(a, ev->action_ref, "This chat is not allowed.");
		return false;
	}
	/* The local socket is root's only (0600): whoever is on it is an admin. */
	role = !strcmp(platform, "local") ? CHAT_ROLE_ADMIN
	                                  : chat_user_role(c->conf, platform, ev->user_id);
	if (ev->action) {
		bool approve = str_startswith(ev->action, "approve:");
		if (!approve && !str_startswith(ev->action, "deny:"))
			return false;
		return handle_decision(c, q, ev, role, strchr(ev->action, ':') + 1, approve);
	}
	if (!ev->text || !*ev->text)
		return false;
	/* A thread reply that does not address the bot matters only in an incident's
	 * thread. */
	if (!ev->addressed && (incident_find(c, platform, ev->chat_id,
	                                     ev->thread_id ? ev->thread_id : "", &inc) < 0 ||
	                       !inc.found))
		return false;
	if (role == CHAT_ROLE_NONE) {
		audit(c, "chat.refused", NULL, "%s: user %s is not authorised (chat %s): %.200s",
		      platform, ev->user_id, ev->chat_id, ev->text);
		say(q, ev->chat_id, ev->thread_id,
		    "Sorry, %s is not authorised to use ongrid here (ask an admin to add "
		    "%s:%s to chat.users).",
		    ev->user_id, platform, ev->user_id);
		return false;
	}
	cmd = chat_cmd_parse(ev->text, args);
	switch (cmd) {
	case CHAT_CMD_HELP:
		cmd_help(q, ev);
		return false;
	case CHAT_CMD_STATUS:
		cmd_status(c, q, ev);
		return false;
	case CHAT_CMD_INCIDENTS:
		cmd_incidents(c, q, ev);
		return false;
	case CHAT_CMD_MODELS:
		cmd_models(c, q, ev);
		return false;
	case CHAT_CMD_MODEL_USE:
	case CHAT_CMD_MODEL_RESET:
		cmd_model_use(c, q, ev, role, args, cmd == CHAT_CMD_MODEL_RESET);
		return false;
	case CHAT_CMD_APPROVE:
	case CHAT_CMD_DENY:
		return handle_decision(c, q, ev, role, args[0], cmd == CHAT_CMD_APPROVE);
	case CHAT_CMD_NONE:
		break;
	}
	if (incident_find(c, platform, ev->chat_id, ev->thread_id ? ev->thread_id : "", &inc) < 0)
		return false;
	if (inc.found && inc.edge[0]) {
		return investigate(c, q, ev, role, &inc, ev->text, true);
	}
	{
		struct buf list = BUF_INIT(4096);
		char edge[130];
		if (ev->host && !relay_edge_connected(c->relay, ev->host)) {
			say(q, ev->chat_id, ev->thread_id, "%s is not connected to the relay.",
			    ev->host);
			buf_release(&list);
			return false;
		}
		if (ev->host)
			str_copy(edge, ev->host, sizeof(edge));
		else if (!pick_edge(c, ev->text, edge, sizeof(edge), &list)) {
			if (!inc.found)
				(void)incident_create(c, platform, ev->chat_id,
				                      ev->thread_id ? ev->thread_id : "", NULL,
				                      ev->text, &inc);
			else
				turn_add(c, inc.id, "user", ev->text);
			if (list.len)
				say(q, ev->chat_id, ev->thread_id,
				    "Which host? Name one in this thread: %s.", buf_str(&list));
			else
				say(q, ev->chat_id, ev->thread_id,
				    "No edge is connected to the relay, so there is no host to "
				    "ask.");
			buf_release(&list);
			return false;
		}
		buf_release(&list);
		if (!inc.found) {
			if (incident_create(c, platform, ev->chat_id,
			                    ev->thread_id ? ev->thread_id : "", edge, ev->text,
			                    &inc) < 0) {
				say(q, ev->chat_id, ev->thread_id, "Cannot record the incident.");
				return false;
			}
		} else {
			incident_set_edge(c, inc.id, edge);
			str_copy(inc.edge, edge, sizeof(inc.edge));
		}
		/* The question is the one that named no host, when there was one. */
		return investigate(c, q, ev, role, &inc,
		                   inc.question[0] && strcmp(inc.question, ev->text) != 0
		                           ? inc.question
		                           : ev->text,
		                   false);
	}
}

static void on_deliver(void *udata, struct chat_adapter *a, const struct chat_event *ev)
{
	struct chat *c = udata;
	struct outq *q = queue_of_adapter(c, a);

	if (!q || !ev->chat_id || !ev->user_id)
		return;
	if (!deliver(c, q, a, ev))
		mark_done(q, ev->chat_id);
}

/* ---- the module ---------------------------------------------------------------------- */

static void chat_free(void *udata)
{
	struct chat *c = udata;
	struct list_head *p, *n;

	c->closing = true;
	list_for_each_safe(p, n, &c->invs) {
		struct inv *inv = list_entry(p, struct inv, node);
		if (inv->req_id[0])
			relay_cancel(c->relay, inv->req_id); /* runs on_investigate_reply */
	}
	/* Transfers in flight end now, with the adapters still there to hear it; sends
	 * queued behind them fail at once. */
	chat_http_free(c->http);
	c->http = NULL;
	for (size_t i = 0; i < c->n; i++) {
		list_for_each_safe(p, n, &c->queues[i].items) {
			struct qitem *it = list_entry(p, struct qitem, node);
			list_del(&it->node);
			if (it->inv)
				it->inv->pending--;
			item_free(it);
		}
		chat_ops(c->queues[i].a)->destroy(c->queues[i].a);
	}
	list_for_each_safe(p, n, &c->invs) {
		struct inv *inv = list_entry(p, struct inv, node);
		inv->finished = true;
		inv->pending = 0;
		inv_maybe_free(inv);
	}
	llm_acct_close(c->acct);
	free(c);
}

int chat_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	struct chat *c = xcalloc(1, sizeof(*c));
	struct chat_host host;
	int rc;

	c->relay = r;
	c->conf = conf;
	c->db = relay_db(r);
	c->loop = relay_loop(r);
	list_init(&c->invs);
	rc = db_exec(c->db, schema, d);
	if (rc < 0) {
		free(c);
		return rc;
	}
	rc = chat_http_new(c->loop, &c->http, d);
	if (rc < 0) {
		free(c);
		return rc;
	}
	if (llm_acct_open(conf->data_dir, &c->acct, NULL) < 0)
		c->acct = NULL; /* `models` then shows relay.conf only */
	host.loop = c->loop;
	host.http = c->http;
	host.conf = conf;
	host.deliver = on_deliver;
	host.udata = c;
	for (size_t i = 0; i < ARRAY_SIZE(registry); i++) {
		struct chat_adapter *a = NULL;
		rc = registry[i]->create(&host, &a, d);
		if (rc < 0) {
			diag_prefix(d, "chat.%s: ", registry[i]->name);
			chat_free(c);
			return rc;
		}
		if (!a)
			continue;
		c->queues[c->n].c = c;
		c->queues[c->n].a = a;
		list_init(&c->queues[c->n].items);
		c->n++;
		log_info("chat: %s on", registry[i]->name);
	}
	rc = relay_register_handler(r, "investigate.progress", on_progress, c);
	if (rc == 0)
		rc = inbox_subscribe(r, "investigate.report", on_late_report, c);
	if (rc == 0)
		rc = inbox_subscribe(r, "approval.result", on_approval_result, c);
	if (rc < 0) {
		chat_free(c);
		return diag_set(d, rc, "cannot register investigate.progress");
	}
	relay_at_free(r, chat_free, c);
	relay_set_module(r, "chat", c);
	return 0;
}

void chat_broadcast(struct relay *r, const char *title, const char *markdown)
{
	struct chat *c = relay_module(r, "chat");

	if (c)
		broadcast(c, title, markdown);
}

/* ---- alerts (relay/alerts.c) ----------------------------------------------------------- */

struct opening {
	struct chat *c;
	struct outq *q;
	char platform[32], chat_id[CHAT_ID_MAX], edge[130], question[512];
	chat_opened_fn *cb;
	void *udata;
};

static void on_thread_opened(void *udata, int err, const struct chat_ref *ref)
{
	struct opening *o = udata;
	struct incident inc;
	struct chat_event ev = { 0 };

	if (!err && (!ref || !ref->msg_id[0]))
		err = -EIO;
	if (!err && incident_create(o->c, o->platform, o->chat_id, ref->msg_id, o->edge,
	                            o->question, &inc) < 0)
		err = -EIO;
	if (err) {
		o->cb(o->udata, err, NULL, NULL);
		free(o);
		return;
	}
	o->cb(o->udata, 0, inc.id, ref->msg_id);
	if (o->edge[0] && o->question[0] && !o->c->closing) {
		ev.chat_id = o->chat_id;
		ev.thread_id = ref->msg_id;
		ev.msg_id = ref->msg_id;
		ev.user_id = "alertmanager";
		/* An alert asks with the least role: what it proposes waits for a person. */
		(void)investigate(o->c, o->q, &ev, CHAT_ROLE_VIEWER, &inc, o->question, false);
	}
	free(o);
}

int chat_open_thread(struct relay *r, const char *platform, const char *chat_id, const char *edge,
                     const char *text, const char *question, chat_opened_fn *cb, void *udata)
{
	struct chat *c = relay_module(r, "chat");
	struct outq *q = c ? queue_of(c, platform) : NULL;
	struct opening *o;
	struct buf b = BUF_INIT(CHAT_TEXT_MAX);
	struct chat_out m = { 0 };
	int rc;

	if (!q || !(chat_ops(q->a)->caps & CHAT_CAN_RECEIVE))
		return -ENOENT;
	o = xcalloc(1, sizeof(*o));
	o->c = c;
	o->q = q;
	str_copy(o->platform, platform, sizeof(o->platform));
	str_copy(o->chat_id, chat_id, sizeof(o->chat_id));
	str_copy(o->edge, edge ? edge : "", sizeof(o->edge));
	str_copy(o->question, question ? question : "", sizeof(o->question));
	o->cb = cb;
	o->udata = udata;
	(void)render_escape(&b, chat_ops(q->a)->format, text);
	m.chat_id = chat_id;
	m.text = buf_str(&b);
	/* The thread's root goes out directly: its id is the thread the rest follows. */
	rc = chat_ops(q->a)->send(q->a, &m, on_thread_opened, o);
	buf_release(&b);
	if (rc < 0)
		free(o);
	return rc;
}

int chat_thread_say(struct relay *r, const char *platform, const char *chat_id,
                    const char *thread_id, const char *text)
{
	struct chat *c = relay_module(r, "chat");
	struct outq *q = c ? queue_of(c, platform) : NULL;

	if (!q)
		return -ENOENT;
	say(q, chat_id, thread_id, "%s", text);
	return 0;
}
