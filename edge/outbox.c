/* outbox.c - the persistent outbox and its pump; see outbox.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/outbox.h"
#include "shared/alloc.h"
#include "shared/auth.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

static const char *const migrations[] = {
	"CREATE TABLE outbox ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  id TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL);",
};

struct outbox {
	sqlite3 *db;
	int64_t max_rows;
	sqlite3_stmt *put, *peek, *ack, *count;
};

int outbox_open(const char *path, int64_t max_rows, struct outbox **ret, struct diag *d)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	int r;

	ob->max_rows = max_rows > 0 ? max_rows : 100000;
	r = db_open(path, migrations, ARRAY_SIZE(migrations), &ob->db, d);
	if (r == 0)
		r = db_prepare(ob->db,
		               "INSERT INTO outbox(id, kind, body, created_ms) VALUES (?, ?, ?, ?)",
		               &ob->put, d);
	if (r == 0)
		r = db_prepare(ob->db,
		               "SELECT seq, id, kind, body, created_ms FROM outbox WHERE seq > ? "
		               "ORDER BY seq LIMIT ?",
		               &ob->peek, d);
	if (r == 0)
		r = db_prepare(ob->db, "DELETE FROM outbox WHERE id = ?", &ob->ack, d);
	if (r == 0)
		r = db_prepare(ob->db, "SELECT count(*) FROM outbox", &ob->count, d);
	if (r < 0) {
		outbox_close(ob);
		return r;
	}
	*ret = ob;
	return 0;
}

void outbox_close(struct outbox *ob)
{
	if (!ob)
		return;
	sqlite3_finalize(ob->put);
	sqlite3_finalize(ob->peek);
	sqlite3_finalize(ob->ack);
	sqlite3_finalize(ob->count);
	db_close(ob->db);
	free(ob);
}

int outbox_count(struct outbox *ob, int64_t *ret)
{
	int r = -EIO;

	sqlite3_reset(ob->count);
	if (sqlite3_step(ob->count) == SQLITE_ROW) {
		*ret = sqlite3_column_int64(ob->count, 0);
		r = 0;
	}
	sqlite3_reset(ob->count);
	return r;
}

int outbox_put(struct outbox *ob, const char *kind, const cJSON *body, char *ret_id, struct diag *d)
{
	char id[OUTBOX_ID_LEN + 1];
	int64_t n = 0;
	size_t len;
	char *text;
	int r = 0;

	if (!proto_valid_type(kind))
		return diag_set(d, -EINVAL,
		                "outbox kind '%s': expected 1-64 characters of "
		                "[a-z0-9._-]",
		                kind);
	text = json_print(body, false);
	len = strlen(text);
	if (len > OUTBOX_BODY_MAX) {
		free(text);
		return diag_set(d, -E2BIG, "outbox message of %zu bytes exceeds the limit of %u",
		                len, OUTBOX_BODY_MAX);
	}
	if (outbox_count(ob, &n) < 0 || n >= ob->max_rows) {
		free(text);
		return diag_set(d, -E2BIG, "the outbox is full (%lld messages, outbox.max_rows)",
		                (long long)n);
	}
	id[0] = 'm';
	if (auth_random_hex(id + 1, sizeof(id) - 1, 12) < 0) {
		free(text);
		return diag_set(d, -EIO, "the random generator failed");
	}
	sqlite3_reset(ob->put);
	sqlite3_bind_text(ob->put, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->put, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(ob->put, 3, text, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(ob->put, 4, now_ms());
	if (sqlite3_step(ob->put) != SQLITE_DONE)
		r = diag_set(d, -EIO, "outbox: %s", sqlite3_errmsg(ob->db));
	sqlite3_reset(ob->put);
	free(text);
	if (r == 0 && ret_id)
		memcpy(ret_id, id, sizeof(id));
	return r;
}

int outbox_put_latest(struct outbox *ob, const char *kind, const cJSON *body, char *ret_id,
                      struct diag *d)
{
	sqlite3_stmt *st;
	int r = db_exec(ob->db, "BEGIN IMMEDIATE", d);

	if (r < 0)
		return r;
	r = db_prepare(ob->db, "DELETE FROM outbox WHERE kind = ?", &st, d);
	if (r == 0) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = diag_set(d, -EIO, "outbox: %s", sqlite3_errmsg(ob->db));
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = outbox_put(ob, kind, body, ret_id, d);
	if (r == 0)
		r = db_exec(ob->db, "COMMIT", d);
	if (r < 0)
		(void)db_exec(ob->db, "ROLLBACK", NULL);
	return r;
}

int outbox_peek(struct outbox *ob, int64_t after_seq, size_t max, struct outbox_msg *ret,
                size_t *ret_n)
{
	size_t n = 0;

	sqlite3_reset(ob->peek);
	sqlite3_bind_int64(ob->peek, 1, after_seq);
	sqlite3_bind_int64(ob->peek, 2, (int64_t)max);
	while (n < max && sqlite3_step(ob->peek) == SQLITE_ROW) {
		struct outbox_msg *m = &ret[n++];
		m->seq = sqlite3_column_int64(ob->peek, 0);
		str_copy(m->id, (const char *)sqlite3_column_text(ob->peek, 1), sizeof(m->id));
		str_copy(m->kind, (const char *)sqlite3_column_text(ob->peek, 2), sizeof(m->kind));
		m->body = xstrdup((const char *)sqlite3_column_text(ob->peek, 3));
		m->created_ms = sqlite3_column_int64(ob->peek, 4);
	}
	sqlite3_reset(ob->peek);
	*ret_n = n;
	return 0;
}

void outbox_msg_release(struct outbox_msg *m)
{
	if (m)
		FREE_AND_NULL(m->body);
}

int outbox_ack(struct outbox *ob, const char *id)
{
	int r = 0;

	sqlite3_reset(ob->ack);
	sqlite3_bind_text(ob->ack, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(ob->ack) != SQLITE_DONE)
		r = -EIO;
	sqlite3_reset(ob->ack);
	return r;
}

int64_t outbox_data_version(struct outbox *ob)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (db_prepare(ob->db, "PRAGMA data_version", &st, NULL) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* ---- the pump ------------------------------------------------------------------ */

struct inflight {
	struct outbox_pump *pump;
	char id[OUTBOX_ID_LEN + 1];
	char req_id[PROTO_ID_MAX + 1];
	struct list_head link;
};

struct outbox_pump {
	struct ev_loop *loop;
	struct outbox *ob;
	struct tunnel *t;
	ev_timer poll;
	int64_t last_seq, data_version;
	unsigned inflight;
	bool rewind, stopping;
	struct list_head flights;
	uint64_t delivered;
};

static void fill(struct outbox_pump *p);

static bool permanent(int err)
{
	/* The relay looked at the message and will never take it: retrying cannot help. */
	return err == -EINVAL || err == -E2BIG || err == -ENOSYS;
}

static void on_ack(void *udata, int err, const cJSON *payload, const char *msg)
{
	struct inflight *f = udata;
	struct outbox_pump *p = f->pump;

	(void)payload;
	list_del(&f->link);
	p->inflight--;
	if (err == 0 || permanent(err)) {
		if (err)
			log_err("dropping outbox message '%s': the relay refused it: %s", f->id,
			        msg ? msg : proto_code_from_errno(err));
		if (outbox_ack(p->ob, f->id) < 0)
			log_warn("cannot delete delivered message '%s'; the relay will see a "
			         "duplicate, ignoring",
			         f->id);
		else if (!err)
			p->delivered++;
	} else if (err != -ECANCELED && err != -ESHUTDOWN) {
		/* Lost in flight: start again from the oldest; the relay acks what it already
		 * has as a duplicate. */
		p->rewind = true;
	}
	free(f);
	if (!p->stopping)
		fill(p);
}

static void fill(struct outbox_pump *p)
{
	struct outbox_msg msgs[OUTBOX_WINDOW];
	size_t n = 0;

	if (tunnel_get_state(p->t) != TUNNEL_UP)
		return;
	if (p->rewind) {
		if (p->inflight)
			return; /* wait for the rest of the window to settle */
		p->rewind = false;
		p->last_seq = 0;
	}
	if (p->inflight >= OUTBOX_WINDOW)
		return;
	if (outbox_peek(p->ob, p->last_seq, OUTBOX_WINDOW - p->inflight, msgs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct inflight *f = xcalloc(1, sizeof(*f));
		cJSON *pl = json_obj(), *body = cJSON_Parse(msgs[i].body);
		int r;

		json_add_str(pl, "msg_id", msgs[i].id);
		json_add_str(pl, "kind", msgs[i].kind);
		json_add(pl, "body", body ? body : cJSON_CreateNull());
		json_add_num(pl, "created_ms", (double)msgs[i].created_ms);
		f->pump = p;
		str_copy(f->id, msgs[i].id, sizeof(f->id));
		r = tunnel_request(p->t, "outbox.deliver", pl, 30000, on_ack, f, f->req_id);
		cJSON_Delete(pl);
		if (r < 0) {
			free(f);
			if (r == -E2BIG) {
				log_err("dropping outbox message '%s': larger than the relay's "
				        "frame "
				        "limit",
				        msgs[i].id);
				(void)outbox_ack(p->ob, msgs[i].id);
				p->last_seq = msgs[i].seq;
				continue;
			}
			for (; i < n; i++)
				outbox_msg_release(&msgs[i]);
			return;
		}
		list_add_tail(&f->link, &p->flights);
		p->inflight++;
		p->last_seq = msgs[i].seq;
		outbox_msg_release(&msgs[i]);
	}
}

static void on_state(void *udata, enum tunnel_state s)
{
	struct outbox_pump *p = udata;

	if (s == TUNNEL_UP) {
		p->last_seq = 0;
		p->rewind = false;
		fill(p);
	}
}

static void on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct outbox_pump *p = container_of(w, struct outbox_pump, poll);
	int64_t v = outbox_data_version(p->ob);

	(void)loop, (void)revents;
	if (v != p->data_version || p->rewind) {
		p->data_version = v;
		fill(p);
	}
}

int outbox_pump_start(struct ev_loop *loop, struct outbox *ob, struct tunnel *t,
                      struct outbox_pump **ret)
{
	struct outbox_pump *p = xcalloc(1, sizeof(*p));
	int r;

	p->loop = loop;
	p->ob = ob;
	p->t = t;
	p->data_version = outbox_data_version(ob);
	list_init(&p->flights);
	r = tunnel_on_state(t, on_state, p);
	if (r < 0) {
		free(p);
		return r;
	}
	ev_timer_init(&p->poll, on_poll, OUTBOX_POLL_MS / 1000.0, OUTBOX_POLL_MS / 1000.0);
	ev_timer_start(loop, &p->poll);
	fill(p);
	*ret = p;
	return 0;
}

void outbox_pump_kick(struct outbox_pump *p)
{
	fill(p);
}

uint64_t outbox_pump_delivered(const struct outbox_pump *p)
{
	return p->delivered;
}

void outbox_pump_stop(struct outbox_pump *p)
{
	if (!p)
		return;
	p->stopping = true;
	ev_timer_stop(p->loop, &p->poll);
	tunnel_off_state(p->t, on_state, p);
	while (!list_empty(&p->flights)) {
		struct inflight *f = list_entry(p->flights.next, struct inflight, link);
		tunnel_cancel(p->t, f->req_id); /* on_ack runs now and frees f */
	}
	free(p);
}
