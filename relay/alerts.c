/* alerts.c - Alertmanager webhooks into investigations; see alerts.h, docs/alerts.md.
 *
 * This module also owns the relay's HTTP listener (http.listen): it creates it, serves
 * its webhook there and lets install_serve.c add the installer routes.
 */
#define LOG_MODULE "alerts"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "relay/alerts.h"
#include "relay/chat/chat.h"
#include "relay/db.h"
#include "relay/httpd.h"
#include "relay/inbox.h"
#include "relay/install_serve.h"
#include "relay/modules.h"
#include "relay/postmortem.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define ALERTS_PATH "/alerts/alertmanager"

static const char schema[] = "CREATE TABLE IF NOT EXISTS alerts ("
                             "  fingerprint TEXT NOT NULL,"
                             "  starts_at TEXT NOT NULL,"
                             "  alertname TEXT NOT NULL,"
                             "  instance TEXT NOT NULL,"
                             "  severity TEXT NOT NULL DEFAULT '',"
                             "  summary TEXT NOT NULL DEFAULT '',"
                             "  labels TEXT NOT NULL,"
                             "  status TEXT NOT NULL,"
                             "  edge TEXT,"
                             "  platform TEXT,"
                             "  chat_id TEXT,"
                             "  thread_id TEXT,"
                             "  incident TEXT,"
                             "  received_ms INTEGER NOT NULL,"
                             "  resolved_ms INTEGER,"
                             "  ends_at TEXT,"
                             "  repeats INTEGER NOT NULL DEFAULT 0,"
                             "  PRIMARY KEY (fingerprint, starts_at));"
                             "CREATE INDEX IF NOT EXISTS alerts_incident ON alerts(incident);";

struct alerts {
	struct relay *relay;
	const struct relay_conf *conf;
	sqlite3 *db;
	struct httpd *httpd;
	uint64_t received, firing_new, resolved, refused;
};

/* ---- parsing (pure) -------------------------------------------------------------- */

static const char *str_field(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s && strlen(s) <= ALERTS_FIELD_MAX ? s : NULL;
}

int alerts_parse(const cJSON *payload, size_t max, alerts_fn *fn, void *udata, size_t *ret_dropped,
                 struct diag *d)
{
	const cJSON *v, *arr, *a;
	size_t i = 0;

	*ret_dropped = 0;
	if (!cJSON_IsObject(payload))
		return diag_set(d, -EINVAL, "expected a JSON object (an Alertmanager webhook)");
	v = cJSON_GetObjectItemCaseSensitive(payload, "version");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "4") != 0)
		return diag_set(d, -EINVAL,
		                "version: expected \"4\" (Alertmanager webhook payload)");
	arr = cJSON_GetObjectItemCaseSensitive(payload, "alerts");
	if (!cJSON_IsArray(arr))
		return diag_set(d, -EINVAL, "alerts: expected an array");
	/* Check every alert before acting on any: a payload is taken whole or refused. */
	cJSON_ArrayForEach(a, arr) {
		const cJSON *labels, *l;
		const char *st;
		int n = 0;
		if (!cJSON_IsObject(a))
			return diag_set(d, -EINVAL, "alerts[%zu]: expected an object", i);
		st = str_field(a, "status");
		if (!st || (strcmp(st, "firing") != 0 && strcmp(st, "resolved") != 0))
			return diag_set(d, -EINVAL,
			                "alerts[%zu].status: expected firing or resolved", i);
		labels = cJSON_GetObjectItemCaseSensitive(a, "labels");
		if (!cJSON_IsObject(labels))
			return diag_set(d, -EINVAL, "alerts[%zu].labels: expected an object", i);
		cJSON_ArrayForEach(l, labels) {
			if (!cJSON_IsString(l) || strlen(l->valuestring) > ALERTS_LABEL_MAX)
				return diag_set(d, -EINVAL,
				                "alerts[%zu].labels.%.64s: expected a string of at "
				                "most %d bytes",
				                i, l->string, ALERTS_LABEL_MAX);
			if (++n > ALERTS_LABELS_MAX)
				return diag_set(d, -EINVAL, "alerts[%zu].labels: more than %d", i,
				                ALERTS_LABELS_MAX);
		}
		if (!str_field(labels, "alertname"))
			return diag_set(d, -EINVAL, "alerts[%zu].labels.alertname: missing", i);
		if (!str_field(a, "startsAt"))
			return diag_set(d, -EINVAL, "alerts[%zu].startsAt: expected a time string",
			                i);
		if (cJSON_GetObjectItemCaseSensitive(a, "annotations") &&
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(a, "annotations")))
			return diag_set(d, -EINVAL, "alerts[%zu].annotations: expected an object",
			                i);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(a, arr) {
		struct alert al = { 0 };
		const cJSON *ann;
		if (i >= max) {
			(*ret_dropped)++;
			continue;
		}
		al.labels = cJSON_GetObjectItemCaseSensitive(a, "labels");
		ann = cJSON_GetObjectItemCaseSensitive(a, "annotations");
		al.annotations = ann;
		al.status = str_field(a, "status");
		al.fingerprint = str_field(a, "fingerprint");
		al.starts_at = str_field(a, "startsAt");
		al.ends_at = str_field(a, "endsAt");
		al.alertname = str_field(al.labels, "alertname");
		al.instance = str_field(al.labels, "instance");
		al.severity = str_field(al.labels, "severity");
		al.edge_label = str_field(al.labels, "ongrid_edge");
		al.channel_label = str_field(al.labels, "ongrid_channel");
		al.summary = ann ? str_field(ann, "summary") : NULL;
		al.description = ann ? str_field(ann, "description") : NULL;
		fn(udata, &al);
		i++;
	}
	return 0;
}

int alerts_instance_matches(const char *instance, const char *edge_name, const char *edge_address)
{
	char host[300], addr[300];
	const char *c;
	size_t n;

	if (!instance || !*instance || !edge_name)
		return 0;
	/* host[:port], [v6]:port */
	if (instance[0] == '[' && (c = strchr(instance, ']')))
		snprintf(host, sizeof(host), "%.*s", (int)(c - instance - 1), instance + 1);
	else if ((c = strrchr(instance, ':')) && strchr(instance, ':') == c)
		snprintf(host, sizeof(host), "%.*s", (int)(c - instance), instance);
	else
		snprintf(host, sizeof(host), "%s", instance);
	if (!strcasecmp(host, edge_name))
		return 1;
	/* "web-3.example.net" names the edge "web-3", and the other way round. */
	n = strcspn(host, ".");
	if (n == strcspn(edge_name, ".") && !strncasecmp(host, edge_name, n) &&
	    (!host[n] || !edge_name[n]))
		return 1;
	if (edge_address && *edge_address) {
		if (edge_address[0] == '[' && (c = strchr(edge_address, ']')))
			snprintf(addr, sizeof(addr), "%.*s", (int)(c - edge_address - 1),
			         edge_address + 1);
		else if ((c = strrchr(edge_address, ':')) && strchr(edge_address, ':') == c)
			snprintf(addr, sizeof(addr), "%.*s", (int)(c - edge_address), edge_address);
		else
			snprintf(addr, sizeof(addr), "%s", edge_address);
		/* An address matches only when no name does: loopback is every edge's in
		 * tests, so the caller prefers name matches. */
		if (!strcmp(addr, host))
			return 2;
	}
	return 0;
}

static bool ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* Compare over the longer length so the time does not tell the length of a prefix. */
	bool same = la == lb;
	return CRYPTO_memcmp(a, b, la < lb ? la : lb) == 0 && same;
}

int alerts_check_auth(const struct relay_conf *c, const char *authorization)
{
	bool have_token = c->alerts_token && *c->alerts_token;
	bool have_basic = c->alerts_user && *c->alerts_user;

	if (!have_token && !have_basic)
		return -ENOKEY;
	if (!authorization)
		return -EACCES;
	if (have_token && !strncasecmp(authorization, "Bearer ", 7))
		return ct_equal(authorization + 7, c->alerts_token) ? 0 : -EACCES;
	if (have_basic && !strncasecmp(authorization, "Basic ", 6)) {
		unsigned char dec[512];
		char want[400];
		const char *b64 = authorization + 6;
		size_t bl = strlen(b64);
		int n;
		if (bl == 0 || bl > 600 || bl % 4)
			return -EACCES;
		n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)bl);
		if (n < 0)
			return -EACCES;
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		if (bl >= 1 && b64[bl - 1] == '=')
			n--;
		if (bl >= 2 && b64[bl - 2] == '=')
			n--;
		dec[n] = '\0';
		snprintf(want, sizeof(want), "%s:%s", c->alerts_user,
		         c->alerts_password ? c->alerts_password : "");
		return ct_equal((const char *)dec, want) ? 0 : -EACCES;
	}
	return -EACCES;
}

/* ---- handling -------------------------------------------------------------------- */

struct opened {
	struct alerts *al;
	char fingerprint[ALERTS_FIELD_MAX + 1], starts_at[64];
	char platform[32], chat_id[CHAT_ID_MAX];
};

static void row_set_thread(struct alerts *al, const struct opened *o, const char *incident,
                           const char *thread)
{
	sqlite3_stmt *st;

	if (db_prepare(al->db,
	               "UPDATE alerts SET platform = ?, chat_id = ?, thread_id = ?, incident = ? "
	               "WHERE fingerprint = ? AND starts_at = ?",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, o->platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, o->chat_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, thread, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, incident, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, o->starts_at, -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
}

static void resolved_text(char *out, size_t outsz, const char *alertname, const char *instance,
                          const char *ends_at)
{
	snprintf(out, outsz, "RESOLVED: %s on %s (ended %s)", alertname, instance,
	         ends_at && *ends_at ? ends_at : "now");
}

static void on_opened(void *udata, int err, const char *incident, const char *thread)
{
	struct opened *o = udata;
	struct alerts *al = o->al;
	sqlite3_stmt *st;

	if (err) {
		log_warn("cannot open a thread in %s:%s for alert %s: %s", o->platform, o->chat_id,
		         o->fingerprint, strerror(-err));
		free(o);
		return;
	}
	row_set_thread(al, o, incident, thread);
	log_info("alert %s: incident %s, thread %s:%s:%s", o->fingerprint, incident, o->platform,
	         o->chat_id, thread);
	/* Resolved while the thread was opening: say so now. */
	if (db_prepare(al->db,
	               "SELECT alertname, instance, COALESCE(ends_at, '') FROM alerts WHERE "
	               "fingerprint = ? AND starts_at = ? AND status = 'resolved'",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, o->fingerprint, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o->starts_at, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char t[1200];
			resolved_text(t, sizeof(t), (const char *)sqlite3_column_text(st, 0),
			              (const char *)sqlite3_column_text(st, 1),
			              (const char *)sqlite3_column_text(st, 2));
			(void)chat_thread_say(al->relay, o->platform, o->chat_id, thread, t);
		}
		sqlite3_finalize(st);
	}
	free(o);
}

/* The connected edge an alert is about: ongrid_edge, else a name match of instance,
 * else an address match. */
static bool route(struct alerts *al, const struct alert *a, char *edge, size_t edgesz)
{
	cJSON *edges = relay_edges_json(al->relay), *e;
	bool found = false;
	int best = 0;

	cJSON_ArrayForEach(e, edges) {
		const char *name =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
		const char *addr =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "address"));
		int m;
		if (!name)
			continue;
		if (a->edge_label) {
			if (!strcmp(a->edge_label, name)) {
				str_copy(edge, name, edgesz);
				found = true;
				break;
			}
			continue;
		}
		m = alerts_instance_matches(a->instance, name, addr);
		if (m && (best == 0 || m < best)) {
			best = m;
			str_copy(edge, name, edgesz);
			found = true;
		}
	}
	cJSON_Delete(edges);
	return found;
}

static void split_channel(const char *ch, char *platform, size_t psz, char *chat, size_t csz)
{
	const char *colon = ch ? strchr(ch, ':') : NULL;

	platform[0] = chat[0] = '\0';
	if (!colon || colon == ch || !colon[1])
		return;
	snprintf(platform, psz, "%.*s", (int)(colon - ch), ch);
	snprintf(chat, csz, "%s", colon + 1);
}

/* Alertmanager sends a fingerprint; a hand-written payload may not: hash the labels. */
static void fingerprint_of(const struct alert *a, char *out, size_t outsz)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *s;

	if (a->fingerprint && *a->fingerprint) {
		str_copy(out, a->fingerprint, outsz);
		return;
	}
	s = json_print(a->labels, false);
	(void)EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
	free(s);
	for (unsigned i = 0; i < 8 && 2 * i + 2 < outsz; i++)
		snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
}

struct batch {
	struct alerts *al;
	cJSON *result; /* per alert: what was done */
};

static void handle_firing(struct alerts *al, const struct alert *a, const char *fp,
                          const char *from_edge, cJSON *res)
{
	char edge[130] = "", platform[32], chat[CHAT_ID_MAX], text[2400], question[512];
	const char *inst = a->instance ? a->instance : "";
	sqlite3_stmt *st;
	char *labels;
	int rc;

	if (db_prepare(al->db,
	               "UPDATE alerts SET repeats = repeats + 1 WHERE fingerprint = ? AND "
	               "starts_at = ?",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->starts_at, -1, SQLITE_STATIC);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	if (sqlite3_changes(al->db) > 0) {
		json_add_str(res, "action", "repeat");
		return;
	}
	al->firing_new++;
	if (from_edge)
		str_copy(edge, from_edge, sizeof(edge));
	else
		(void)route(al, a, edge, sizeof(edge));
	split_channel(a->channel_label ? a->channel_label : al->conf->alerts_channel, platform,
	              sizeof(platform), chat, sizeof(chat));
	labels = json_print(a->labels, false);
	if (db_prepare(al->db,
	               "INSERT INTO alerts(fingerprint, starts_at, alertname, instance, severity, "
	               "summary, labels, status, edge, received_ms) VALUES "
	               "(?, ?, ?, ?, ?, ?, ?, 'firing', ?, ?)",
	               &st, NULL) == 0) {
		sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->starts_at, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, a->alertname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, inst, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, a->severity ? a->severity : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, a->summary ? a->summary : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, labels, -1, SQLITE_STATIC);
		if (edge[0])
			sqlite3_bind_text(st, 8, edge, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 9, now_ms());
		(void)sqlite3_step(st);
		sqlite3_finalize(st);
	}
	free(labels);
	(void)relay_db_audit(al->db, "alert.firing", edge[0] ? edge : NULL, NULL, "%s on %s (%s)",
	                     a->alertname, inst, fp);
	json_add_str(res, "action", "new");
	json_add_str(res, "edge", edge);
	snprintf(question, sizeof(question),
	         "Alert %s is firing on %s%s%.300s. Find the root cause.", a->alertname,
	         inst[0] ? inst : "(no instance)", a->summary ? ": " : "",
	         a->summary ? a->summary : "");
	snprintf(text, sizeof(text), "FIRING [%s] %s on %s%s%.600s%s%.600s%s",
	         a->severity ? a->severity : "alert", a->alertname,
	         inst[0] ? inst : "(no instance)", a->summary ? "\n" : "",
	         a->summary ? a->summary : "", a->description ? "\n" : "",
	         a->description ? a->description : "",
	         !edge[0] ? "\n(no connected edge matches this instance: no investigation)"
	         : from_edge || al->conf->alerts_investigate ? "\nInvestigating on this host..."
	                                                     : "");
	if (!platform[0]) {
		json_add_str(res, "thread", "none: alerts.channel is unset");
		log_info("alert %s %s on %s: no channel configured", fp, a->alertname, inst);
		return;
	}
	{
		struct opened *o = xcalloc(1, sizeof(*o));
		o->al = al;
		str_copy(o->fingerprint, fp, sizeof(o->fingerprint));
		str_copy(o->starts_at, a->starts_at, sizeof(o->starts_at));
		str_copy(o->platform, platform, sizeof(o->platform));
		str_copy(o->chat_id, chat, sizeof(o->chat_id));
		rc = chat_open_thread(
		        al->relay, platform, chat, edge, text,
		        /* A local alert's edge investigates on its own. */
		        edge[0] && !from_edge && al->conf->alerts_investigate ? question : NULL,
		        on_opened, o);
		if (rc < 0) {
			log_warn("alert %s: cannot open a thread in %s:%s: %s", fp, platform, chat,
			         rc == -ENOENT ? "that chat platform is not configured"
			                       : strerror(-rc));
			json_add_str(res, "thread", "none: the chat platform is not on");
			free(o);
		}
	}
}

static void handle_resolved(struct alerts *al, const struct alert *a, const char *fp, cJSON *res)
{
	sqlite3_stmt *st;
	char platform[32] = "", chat[CHAT_ID_MAX] = "", thread[CHAT_ID_MAX] = "", t[1200];
	bool have = false;

	al->resolved++;
	if (db_prepare(al->db,
	               "UPDATE alerts SET status = 'resolved', resolved_ms = ?, ends_at = ? WHERE "
	               "fingerprint = ? AND starts_at = ? AND status = 'firing' "
	               "RETURNING COALESCE(platform, ''), COALESCE(chat_id, ''), "
	               "COALESCE(thread_id, '')",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_int64(st, 1, now_ms());
	sqlite3_bind_text(st, 2, a->ends_at ? a->ends_at : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->starts_at, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		have = true;
		str_copy(platform, (const char *)sqlite3_column_text(st, 0), sizeof(platform));
		str_copy(chat, (const char *)sqlite3_column_text(st, 1), sizeof(chat));
		str_copy(thread, (const char *)sqlite3_column_text(st, 2), sizeof(thread));
	}
	sqlite3_finalize(st);
	if (!have) {
		json_add_str(res, "action", "resolved-unknown");
		return;
	}
	(void)relay_db_audit(al->db, "alert.resolved", NULL, NULL, "%s on %s (%s)", a->alertname,
	                     a->instance ? a->instance : "", fp);
	json_add_str(res, "action", "resolved");
	/* No thread yet: on_opened posts it once the thread exists. */
	if (!thread[0])
		return;
	resolved_text(t, sizeof(t), a->alertname, a->instance ? a->instance : "", a->ends_at);
	(void)chat_thread_say(al->relay, platform, chat, thread, t);
}

static void on_alert(void *udata, const struct alert *a)
{
	struct batch *b = udata;
	char fp[ALERTS_FIELD_MAX + 1];
	cJSON *res = json_obj();

	fingerprint_of(a, fp, sizeof(fp));
	json_add_str(res, "fingerprint", fp);
	json_add_str(res, "status", a->status);
	if (!strcmp(a->status, "firing"))
		handle_firing(b->al, a, fp, NULL, res);
	else
		handle_resolved(b->al, a, fp, res);
	json_push(b->result, res);
}

static void on_webhook(void *udata, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct alerts *al = udata;
	struct diag d = { 0 };
	struct batch b = { al, NULL };
	cJSON *payload, *out;
	size_t dropped = 0;
	int rc = alerts_check_auth(al->conf, req->authorization);

	if (rc == -ENOKEY) {
		httpd_text(resp, 503,
		           "alerts are off: set alerts.token or alerts.user in relay.conf");
		return;
	}
	if (rc < 0) {
		al->refused++;
		log_warn("refused an alert webhook from %s: %s", req->peer,
		         req->authorization[0] ? "wrong credentials" : "no credentials");
		resp->www_authenticate = "Bearer realm=\"ongrid-relay\"";
		httpd_text(resp, 401, "unauthorized: send alerts.token as a Bearer token");
		return;
	}
	payload = json_parse(req->body, req->body_len, al->conf->http_max_body, &d);
	if (!payload) {
		httpd_text(resp, 400, "malformed payload: %s", d.msg);
		return;
	}
	b.result = json_arr();
	rc = alerts_parse(payload, (size_t)al->conf->alerts_max_per_request, on_alert, &b, &dropped,
	                  &d);
	if (rc < 0) {
		httpd_text(resp, 400, "malformed payload: %s", d.msg);
		log_warn("malformed alert webhook from %s: %s", req->peer, d.msg);
	} else {
		al->received++;
		if (dropped)
			log_warn("webhook from %s: %zu alerts over alerts.max_per_request dropped",
			         req->peer, dropped);
		out = json_obj();
		json_add(out, "alerts", b.result);
		b.result = NULL;
		json_add_num(out, "dropped", (double)dropped);
		httpd_json(resp, 200, out);
		cJSON_Delete(out);
	}
	cJSON_Delete(b.result);
	cJSON_Delete(payload);
}

/* ---- local alerts from edges (edge/alerting.c, outbox kind "alert") -------------- */

static void post_report(struct alerts *al, const char *fp, const cJSON *report)
{
	sqlite3_stmt *st;
	struct buf b = BUF_INIT(64 << 10);

	if (db_prepare(al->db,
	               "SELECT COALESCE(platform, ''), COALESCE(chat_id, ''), "
	               "COALESCE(thread_id, '') FROM alerts WHERE fingerprint = ? ORDER BY "
	               "received_ms DESC LIMIT 1",
	               &st, NULL) < 0)
		return;
	sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 2)[0] &&
	    render_report(&b, CHAT_FMT_PLAIN, report) == 0)
		(void)chat_thread_say(al->relay, (const char *)sqlite3_column_text(st, 0),
		                      (const char *)sqlite3_column_text(st, 1),
		                      (const char *)sqlite3_column_text(st, 2), buf_str(&b));
	sqlite3_finalize(st);
	buf_release(&b);
}

static void on_edge_alert(void *udata, const char *edge, const char *msg_id, const cJSON *body)
{
	struct alerts *al = udata;
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "state"));
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "key"));
	const char *rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "rule"));
	const cJSON *since = cJSON_GetObjectItemCaseSensitive(body, "active_since_ms");
	struct alert a = { 0 };
	char fp[ALERTS_FIELD_MAX + 1], starts[32], ends[32];
	cJSON *res;

	if (!state || !key || !rule || strlen(key) > 512 || strlen(rule) > 64) {
		log_warn("edge %s sent a malformed alert (%s)", edge, msg_id);
		return;
	}
	/* One fingerprint per edge, rule and series: the key names rule and labels. */
	snprintf(fp, sizeof(fp), "%s/%s", edge, key);
	if (!strcmp(state, "report")) {
		post_report(al, fp, cJSON_GetObjectItemCaseSensitive(body, "report"));
		return;
	}
	snprintf(starts, sizeof(starts), "%.0f", cJSON_IsNumber(since) ? since->valuedouble : 0.0);
	snprintf(ends, sizeof(ends), "%.0f",
	         cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(body, "at_ms")));
	a.status = state;
	a.fingerprint = fp;
	a.starts_at = starts;
	a.ends_at = ends;
	a.alertname = rule;
	a.instance = edge;
	a.severity = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "severity"));
	a.summary = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "summary"));
	a.labels = cJSON_GetObjectItemCaseSensitive(body, "labels");
	if (!cJSON_IsObject(a.labels))
		a.labels = body;
	res = json_obj();
	if (!strcmp(state, "firing"))
		handle_firing(al, &a, fp, edge, res);
	else if (!strcmp(state, "resolved"))
		handle_resolved(al, &a, fp, res);
	cJSON_Delete(res);
}

/* POST /postmortem {"incident"}: `ongrid-relay postmortem --to thread` asks the running
 * relay, which holds the chat connections, to post the draft into the thread. */
static void on_postmortem(void *udata, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct alerts *al = udata;
	struct postmortem_thread th;
	struct buf md = BUF_INIT(POSTMORTEM_MAX);
	struct diag d = { 0 };
	const char *inc = NULL;
	cJSON *p;
	int rc = alerts_check_auth(al->conf, req->authorization);

	if (rc < 0) {
		httpd_text(resp, rc == -ENOKEY ? 503 : 401, "unauthorized");
		return;
	}
	p = json_parse(req->body, req->body_len, 4096, &d);
	if (!p || json_get_string(p, "incident", &inc, "postmortem", &d) < 0 || !inc) {
		httpd_text(resp, 400, "expected {\"incident\": \"ID\"}");
		cJSON_Delete(p);
		return;
	}
	rc = postmortem_draft(al->db, inc, &md, &th, &d);
	if (rc < 0) {
		httpd_text(resp, rc == -ENOENT ? 404 : 500, "%s", d.msg);
	} else if (!th.thread_id[0] || chat_thread_say(al->relay, th.platform, th.chat_id,
	                                               th.thread_id, buf_str(&md)) < 0) {
		httpd_text(resp, 409, "incident %s has no thread on a configured chat platform",
		           inc);
	} else {
		(void)relay_db_audit(al->db, "postmortem.posted", NULL, NULL, "incident %s", inc);
		httpd_text(resp, 200, "posted");
	}
	buf_release(&md);
	cJSON_Delete(p);
}

static void alerts_free(void *udata)
{
	struct alerts *al = udata;

	httpd_free(al->httpd);
	free(al);
}

int alerts_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	struct alerts *al;
	int rc;

	rc = db_exec(relay_db(r), schema, d);
	if (rc < 0)
		return rc;
	al = xcalloc(1, sizeof(*al));
	al->relay = r;
	al->conf = conf;
	al->db = relay_db(r);
	relay_at_free(r, alerts_free, al);
	relay_set_module(r, "alerts", al);
	rc = inbox_subscribe(r, "alert", on_edge_alert, al);
	if (rc < 0)
		return diag_set(d, rc, "cannot subscribe to edges' alerts");
	if (!conf->http_listen || !conf->http_listen[0])
		return 0;
	rc = httpd_new(relay_loop(r), conf->http_listen, conf->http_max_body, &al->httpd, d);
	if (rc < 0)
		return rc;
	if (httpd_route(al->httpd, "POST", ALERTS_PATH, on_webhook, al) < 0 ||
	    httpd_route(al->httpd, "POST", "/postmortem", on_postmortem, al) < 0 ||
	    install_serve_start(r, al->httpd, conf) < 0)
		return diag_set(d, -ENOSPC, "too many HTTP routes");
	log_info("HTTP on %s (port %d): %s%s", conf->http_listen, httpd_port(al->httpd),
	         ALERTS_PATH, conf->install_dir[0] ? ", /install/" : "");
	return 0;
}
