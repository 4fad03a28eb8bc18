/* alerting.c - local alert rules in the running daemon; see alerting.h. */
#define LOG_MODULE "alerts"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "edge/alert_rules.h"
#include "edge/alerting.h"
#include "edge/outbox.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define REPORT_FILE_MAX (4u << 20)

struct run {
	struct alerting *a;
	ev_child child;
	char key[512], rule[ALERT_NAME_MAX + 1], incident[128], path[4096];
	bool used;
};

struct alerting {
	struct ev_loop *loop;
	const struct edge_conf *conf;
	char *conf_path;
	struct tsdb *db;
	struct alert_rules *rules;
	struct outbox *ob;
	ev_timer timer;
	char exe[4096];
	struct run runs[ALERTING_MAX_RUNNING];
	uint64_t fired, resolved, investigations, skipped, evals;
};

static void queue(struct alerting *a, cJSON *body)
{
	struct diag d = { 0 };

	if (!a->ob) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", a->conf->data_dir, OUTBOX_FILE);
		if (outbox_open(path, a->conf->outbox_max_rows, &a->ob, &d) < 0) {
			log_warn("cannot open the outbox: %s; the alert stays local", d.msg);
			a->ob = NULL;
			return;
		}
	}
	if (outbox_put(a->ob, "alert", body, NULL, &d) < 0)
		log_warn("cannot queue an alert for the relay: %s", d.msg);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
	struct run *run = w->data;
	struct alerting *a = run->a;
	char *text = NULL;
	size_t len = 0;
	cJSON *rep = NULL, *body;

	(void)revents;
	ev_child_stop(loop, w);
	if (read_file_max(run->path, REPORT_FILE_MAX, &text, &len) == 0)
		rep = cJSON_ParseWithLength(text, len);
	free(text);
	log_info("investigation %s of alert %s ended (status %d)%s", run->incident, run->rule,
	         WIFEXITED(w->rstatus) ? WEXITSTATUS(w->rstatus) : -1, rep ? "" : ": no report");
	body = json_obj();
	json_add_str(body, "state", "report");
	json_add_str(body, "rule", run->rule);
	json_add_str(body, "key", run->key);
	json_add_str(body, "incident", run->incident);
	json_add_str(body, "host", a->conf->name);
	if (rep) {
		/* The outbox bounds a body: keep the report's own fields, drop bulky ones. */
		cJSON_DeleteItemFromObjectCaseSensitive(rep, "timeline");
		json_add(body, "report", rep);
	}
	queue(a, body);
	cJSON_Delete(body);
	run->used = false;
}

static void investigate(struct alerting *a, const struct alert_event *ev)
{
	struct run *run = NULL;
	char question[1400], value[32];
	pid_t pid;

	for (size_t i = 0; i < ALERTING_MAX_RUNNING; i++) {
		if (a->runs[i].used && !strcmp(a->runs[i].key, ev->key))
			return; /* already on it */
		if (!a->runs[i].used && !run)
			run = &a->runs[i];
	}
	if (!run) {
		a->skipped++;
		log_warn("alert %s fires but %d alert investigations already run; not starting "
		         "another",
		         ev->rule, ALERTING_MAX_RUNNING);
		return;
	}
	snprintf(value, sizeof(value), "%g", ev->value);
	snprintf(question, sizeof(question),
	         "Local alert %s is firing (value %s): %s. Find the root cause.", ev->rule, value,
	         ev->summary && *ev->summary ? ev->summary : ev->expr);
	memset(run, 0, sizeof(*run));
	run->a = a;
	str_copy(run->key, ev->key, sizeof(run->key));
	str_copy(run->rule, ev->rule, sizeof(run->rule));
	snprintf(run->incident, sizeof(run->incident), "alert-%s-%lld", ev->rule,
	         (long long)ev->at);
	snprintf(run->path, sizeof(run->path), "%s/alerts", a->conf->data_dir);
	(void)mkdir_p(run->path, 0700);
	snprintf(run->path, sizeof(run->path), "%s/alerts/%s.json", a->conf->data_dir,
	         run->incident);
	pid = fork();
	if (pid < 0) {
		log_warn("cannot start the investigation of %s: %s", ev->rule, strerror(errno));
		return;
	}
	if (pid == 0) {
		int fd = open(run->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		const char *argv[10];
		int n = 0;
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(127);
		argv[n++] = "ongrid-edge";
		argv[n++] = "investigate";
		argv[n++] = question;
		argv[n++] = "--incident";
		argv[n++] = run->incident;
		argv[n++] = "--json";
		if (a->conf_path) {
			argv[n++] = "-c";
			argv[n++] = a->conf_path;
		}
		argv[n] = NULL;
		execv(a->exe, (char *const *)argv);
		_exit(127);
	}
	run->used = true;
	a->investigations++;
	ev_child_init(&run->child, on_child, pid, 0);
	run->child.data = run;
	ev_child_start(a->loop, &run->child);
	log_info("alert %s: investigation %s started (pid %d)", ev->rule, run->incident, (int)pid);
}

static void on_event(void *udata, const struct alert_event *ev)
{
	struct alerting *a = udata;
	cJSON *body;
	char *labels = json_print(ev->labels, false);

	log_info("alert %s %s %s value %g", ev->rule, alert_state_name(ev->state), labels,
	         ev->value);
	free(labels);
	if (ev->state == ALERT_PENDING)
		return;
	if (ev->state == ALERT_FIRING)
		a->fired++;
	else
		a->resolved++;
	body = json_obj();
	json_add_str(body, "state", alert_state_name(ev->state));
	json_add_str(body, "rule", ev->rule);
	json_add_str(body, "key", ev->key);
	json_add_str(body, "severity", ev->severity);
	json_add_str(body, "summary", ev->summary);
	json_add_str(body, "expr", ev->expr);
	json_add(body, "labels", cJSON_Duplicate(ev->labels, true));
	json_add_num(body, "value", ev->value);
	json_add_num(body, "active_since_ms", (double)ev->active_since);
	json_add_num(body, "at_ms", (double)ev->at);
	json_add_str(body, "host", a->conf->name);
	queue(a, body);
	cJSON_Delete(body);
	if (ev->state == ALERT_FIRING && a->conf->alerts_investigate)
		investigate(a, ev);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct alerting *a = w->data;

	(void)loop, (void)revents;
	a->evals++;
	(void)alert_rules_eval(a->rules, a->db, now_ms(), on_event, a);
}

int alerting_start(struct ev_loop *loop, const struct edge_conf *conf, const char *conf_path,
                   struct tsdb *db, struct alerting **ret, struct diag *d)
{
	struct alerting *a;
	ssize_t n;
	int r;

	*ret = NULL;
	if (conf->alerts_interval_ms <= 0)
		return 0;
	a = xcalloc(1, sizeof(*a));
	r = alert_rules_load(conf->alerts_rules_file, conf->alerts_default_rules, &a->rules, d);
	if (r < 0) {
		free(a);
		return r;
	}
	n = readlink("/proc/self/exe", a->exe, sizeof(a->exe) - 1);
	if (n <= 0) {
		alert_rules_free(a->rules);
		free(a);
		return diag_set(d, -errno, "cannot find this program (/proc/self/exe)");
	}
	a->exe[n] = '\0';
	a->loop = loop;
	a->conf = conf;
	a->conf_path = conf_path ? xstrdup(conf_path) : NULL;
	a->db = db;
	ev_timer_init(&a->timer, on_timer, (double)conf->alerts_interval_ms / 1000.,
	              (double)conf->alerts_interval_ms / 1000.);
	a->timer.data = a;
	ev_timer_start(loop, &a->timer);
	log_info("local alerting: %zu rules every %llds", alert_rules_count(a->rules),
	         (long long)conf->alerts_interval_ms / 1000);
	*ret = a;
	return 0;
}

void alerting_reload(struct alerting *a, struct alert_rules *rules)
{
	size_t kept = alert_rules_adopt(rules, a->rules, now_ms(), on_event, a);
	double every = (double)a->conf->alerts_interval_ms / 1000.;

	alert_rules_free(a->rules);
	a->rules = rules;
	ev_timer_stop(a->loop, &a->timer);
	ev_timer_set(&a->timer, every, every);
	ev_timer_start(a->loop, &a->timer);
	log_info("local alerting: %zu rules every %llds (%zu unchanged, kept their state)",
	         alert_rules_count(rules), (long long)a->conf->alerts_interval_ms / 1000, kept);
}

void alerting_stop(struct alerting *a)
{
	if (!a)
		return;
	ev_timer_stop(a->loop, &a->timer);
	for (size_t i = 0; i < ALERTING_MAX_RUNNING; i++)
		if (a->runs[i].used)
			ev_child_stop(a->loop, &a->runs[i].child);
	alert_rules_free(a->rules);
	outbox_close(a->ob);
	free(a->conf_path);
	free(a);
}

cJSON *alerting_json(const struct alerting *a)
{
	cJSON *o = json_obj();

	json_add_bool(o, "on", a != NULL);
	if (!a)
		return o;
	json_add(o, "rules", alert_rules_json(a->rules));
	json_add_num(o, "evaluations", (double)a->evals);
	json_add_num(o, "fired", (double)a->fired);
	json_add_num(o, "resolved", (double)a->resolved);
	json_add_num(o, "investigations", (double)a->investigations);
	json_add_num(o, "investigations_skipped", (double)a->skipped);
	return o;
}
