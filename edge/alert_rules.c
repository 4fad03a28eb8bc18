/* alert_rules.c - local alert rules: loading and the pending/firing state machine; see
 * alert_rules.h. */
#define LOG_MODULE "alerts"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "edge/alert_rules.h"
#include "edge/tsdb/promql.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/fsutil.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

/* Quiet on a healthy host: each threshold is a state an operator would want to hear
 * about, and each `for` outlasts the spikes a busy but healthy machine has (a build, a
 * backup, a deploy). Filesystems that cannot fill (tmpfs and friends, read-only images)
 * are left out. */
static const char defaults_text[] =
        "rules = (\n"
        "  { name = \"RunQueueLatencyHigh\";\n"
        "    expr = \"histogram_quantile(0.99, sum by (le) "
        "(rate(ongrid_runq_latency_seconds_bucket[1m]))) > 0.25\";\n"
        "    for = \"5m\"; severity = \"warning\";\n"
        "    summary = \"runnable tasks wait over 250 ms for a CPU (p99)\"; },\n"
        "  { name = \"DiskAlmostFull\";\n"
        "    expr = \"ongrid_filesystem_avail_bytes{fstype!~\\\"tmpfs|devtmpfs|ramfs|"
        "overlay|squashfs|iso9660\\\"} / "
        "ongrid_filesystem_size_bytes{fstype!~\\\"tmpfs|devtmpfs|ramfs|overlay|squashfs|"
        "iso9660\\\"} < 0.05\";\n"
        "    for = \"5m\"; severity = \"critical\";\n"
        "    summary = \"a filesystem has less than 5% space left\"; },\n"
        "  { name = \"DiskFillsWithin4h\";\n"
        "    expr = \"ongrid_filesystem_avail_bytes{fstype!~\\\"tmpfs|devtmpfs|ramfs|"
        "overlay|squashfs|iso9660\\\"} / ((ongrid_filesystem_avail_bytes{fstype!~\\\"tmpfs|"
        "devtmpfs|ramfs|overlay|squashfs|iso9660\\\"} offset 30m - "
        "ongrid_filesystem_avail_bytes{fstype!~\\\"tmpfs|devtmpfs|ramfs|overlay|squashfs|"
        "iso9660\\\"}) / 1800) < 14400 > 0\";\n"
        "    for = \"10m\"; severity = \"warning\";\n"
        "    summary = \"at the last 30 minutes' rate a filesystem is full within 4 "
        "hours\"; },\n"
        "  { name = \"TcpRetransmitsHigh\";\n"
        "    expr = \"sum(rate(ongrid_netstat_tcp_retrans_segs_total[5m])) / "
        "sum(rate(ongrid_netstat_tcp_out_segs_total[5m])) > 0.05\";\n"
        "    for = \"10m\"; severity = \"warning\";\n"
        "    summary = \"over 5% of TCP segments sent are retransmissions\"; },\n"
        "  { name = \"CrashLoop\";\n"
        "    expr = \"sum by (comm) (increase(ongrid_process_exits_total{signal=~"
        "\\\"SIGSEGV|SIGABRT|SIGBUS|SIGILL|SIGFPE\\\"}[10m])) > 5\";\n"
        "    for = \"2m\"; severity = \"warning\";\n"
        "    summary = \"a program keeps crashing (more than 5 crashes in 10 minutes)\"; },\n"
        "  { name = \"MemoryPressureHigh\";\n"
        "    expr = \"ongrid_pressure_memory_full_avg10 > 20\";\n"
        "    for = \"5m\"; severity = \"warning\";\n"
        "    summary = \"tasks stall on memory over 20% of the time\"; }\n"
        ");\n";

struct active {
	char *key;
	cJSON *labels;
	double value;
	int64_t since;
	bool firing, seen;
};

struct rule {
	char name[ALERT_NAME_MAX + 1];
	char *expr_src, *severity, *summary;
	int64_t for_ms;
	struct promql_expr *expr;
	struct active act[ALERT_SERIES_MAX];
	size_t nact;
	bool overflow_logged;
};

struct alert_rules {
	struct rule *rules; /* grown as rules load: a rule is ~2.7 KiB, ALERT_RULES_MAX of
	                     * them 344 KiB the daemon would keep for six built-in rules */
	size_t n, cap;
};

const char *alert_state_name(enum alert_state s)
{
	switch (s) {
	case ALERT_PENDING:
		return "pending";
	case ALERT_FIRING:
		return "firing";
	case ALERT_RESOLVED:
		return "resolved";
	}
	return "?";
}

static void rule_release(struct rule *r)
{
	for (size_t i = 0; i < r->nact; i++) {
		free(r->act[i].key);
		cJSON_Delete(r->act[i].labels);
	}
	free(r->expr_src);
	free(r->severity);
	free(r->summary);
	promql_expr_free(r->expr);
	memset(r, 0, sizeof(*r));
}

void alert_rules_free(struct alert_rules *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_release(&rs->rules[i]);
	free(rs->rules);
	free(rs);
}

size_t alert_rules_count(const struct alert_rules *rs)
{
	return rs ? rs->n : 0;
}

const char *alert_rules_defaults(void)
{
	return defaults_text;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ALERT_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static const char *group_str(const config_setting_t *g, const char *k)
{
	const char *v = NULL;
	return config_setting_lookup_string(g, k, &v) == CONFIG_TRUE ? v : NULL;
}

/* Parse the libconfig text of one rules file into rs (replacing rules of the same name).
 * what names the source in errors. */
static int load_text(struct alert_rules *rs, const char *text, const char *what, struct diag *d)
{
	config_t cfg;
	config_setting_t *list;
	int r = 0, n;

	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		r = diag_set(d, -EINVAL, "%s: line %d: %s", what, config_error_line(&cfg),
		             config_error_text(&cfg));
		goto out;
	}
	list = config_lookup(&cfg, "rules");
	if (!list) {
		r = diag_set(d, -EINVAL, "%s: no 'rules = ( ... );' list", what);
		goto out;
	}
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		r = diag_set(d, -EINVAL, "%s: rules: expected a list ( { ... }, ... )", what);
		goto out;
	}
	n = config_setting_length(list);
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		const char *name, *expr, *forv, *sev, *sum;
		struct rule nr = { 0 };
		int enabled = 1;
		size_t slot;
		if (!config_setting_is_group(g)) {
			r = diag_set(d, -EINVAL,
			             "%s: rules[%d]: expected a group { name; expr; ... }", what,
			             i);
			goto out;
		}
		name = group_str(g, "name");
		expr = group_str(g, "expr");
		forv = group_str(g, "for");
		sev = group_str(g, "severity");
		sum = group_str(g, "summary");
		(void)config_setting_lookup_bool(g, "enabled", &enabled);
		if (!name || !valid_name(name)) {
			r = diag_set(
			        d, -EINVAL,
			        "%s: rules[%d].name: expected 1-%d characters of [A-Za-z0-9_.-]",
			        what, i, ALERT_NAME_MAX);
			goto out;
		}
		str_copy(nr.name, name, sizeof(nr.name));
		if (enabled) {
			struct diag pd = { 0 };
			if (!expr || !*expr || strlen(expr) > ALERT_TEXT_MAX) {
				r = diag_set(
				        d, -EINVAL,
				        "%s: rules[%d] (%s).expr: expected a PromQL expression of "
				        "at most %d bytes",
				        what, i, name, ALERT_TEXT_MAX);
				goto out;
			}
			if (forv && (str_to_duration_ms(forv, &nr.for_ms) < 0 || nr.for_ms < 0)) {
				r = diag_set(
				        d, -EINVAL,
				        "%s: rules[%d] (%s).for: expected a duration like \"5m\", "
				        "got '%s'",
				        what, i, name, forv);
				goto out;
			}
			if ((sum && strlen(sum) > ALERT_TEXT_MAX) || (sev && strlen(sev) > 32)) {
				r = diag_set(d, -EINVAL,
				             "%s: rules[%d] (%s): summary or severity too long",
				             what, i, name);
				goto out;
			}
			if (promql_parse(expr, &nr.expr, &pd) < 0) {
				r = diag_set(d, -EINVAL, "%s: rules[%d] (%s).expr: %s", what, i,
				             name, pd.msg);
				goto out;
			}
			nr.expr_src = xstrdup(expr);
			nr.severity = xstrdup(sev ? sev : "warning");
			nr.summary = xstrdup(sum ? sum : "");
		}
		/* Same name: replace (or, disabled, remove) the earlier rule. */
		for (slot = 0; slot < rs->n; slot++)
			if (!strcmp(rs->rules[slot].name, nr.name))
				break;
		if (slot < rs->n) {
			rule_release(&rs->rules[slot]);
			if (!enabled) {
				memmove(&rs->rules[slot], &rs->rules[slot + 1],
				        (rs->n - slot - 1) * sizeof(*rs->rules));
				rs->n--;
				continue;
			}
		} else {
			if (!enabled)
				continue;
			if (rs->n >= ALERT_RULES_MAX) {
				rule_release(&nr);
				r = diag_set(d, -EINVAL, "%s: more than %d rules", what,
				             ALERT_RULES_MAX);
				goto out;
			}
			if (rs->n == rs->cap) {
				rs->cap = rs->cap ? 2 * rs->cap : 8;
				if (rs->cap > ALERT_RULES_MAX)
					rs->cap = ALERT_RULES_MAX;
				rs->rules =
				        xrealloc(rs->rules, st_mul(rs->cap, sizeof(*rs->rules)));
			}
			slot = rs->n++;
		}
		rs->rules[slot] = nr;
	}
out:
	config_destroy(&cfg);
	return r;
}

int alert_rules_load(const char *path, bool defaults, struct alert_rules **ret, struct diag *d)
{
	struct alert_rules *rs = xcalloc(1, sizeof(*rs));
	int r = 0;

	*ret = NULL;
	if (defaults)
		r = load_text(rs, defaults_text, "built-in rules", d);
	if (r == 0 && path && *path) {
		char *text;
		size_t len;
		r = read_file_max(path, ALERT_RULES_FILE_MAX, &text, &len);
		if (r < 0) {
			r = diag_set(d, r == -EFBIG ? -EINVAL : r, "%s: cannot read: %s", path,
			             strerror(-r));
		} else {
			r = load_text(rs, text, path, d);
			free(text);
		}
	}
	if (r < 0) {
		alert_rules_free(rs);
		return r;
	}
	*ret = rs;
	return 0;
}

static cJSON *labels_json(const struct promql_series *s)
{
	cJSON *o = json_obj();

	for (size_t i = 0; i < s->nlabels; i++)
		json_add_str(o, s->labels[i].name, s->labels[i].value);
	return o;
}

static void emit(const struct rule *r, const struct active *a, enum alert_state st, int64_t now,
                 alert_event_fn *fn, void *udata)
{
	struct alert_event ev = {
		.rule = r->name,
		.severity = r->severity,
		.summary = r->summary,
		.expr = r->expr_src,
		.state = st,
		.key = a->key,
		.labels = a->labels,
		.value = a->value,
		.active_since = a->since,
		.at = now,
	};
	fn(udata, &ev);
}

static void eval_rule(struct rule *r, const struct promql_result *res, int64_t now,
                      alert_event_fn *fn, void *udata)
{
	for (size_t i = 0; i < r->nact; i++)
		r->act[i].seen = false;
	for (size_t i = 0; res && i < res->nseries; i++) {
		const struct promql_series *s = &res->series[i];
		struct buf kb = BUF_INIT(4096);
		struct active *a = NULL;
		double v = s->n ? s->v[s->n - 1] : NAN;
		if (isnan(v))
			continue;
		/* A key cut at the buffer's cap still tells series apart in practice. */
		if (buf_adds(&kb, r->name) == 0 &&
		    promql_labels_format(s->labels, s->nlabels, &kb) < 0)
			log_debug("rule %s: a series key was cut", r->name);
		for (size_t k = 0; k < r->nact; k++)
			if (!strcmp(r->act[k].key, buf_str(&kb)))
				a = &r->act[k];
		if (!a) {
			if (r->nact >= ALERT_SERIES_MAX) {
				if (!r->overflow_logged)
					log_warn(
					        "rule %s: more than %d active series; the rest are "
					        "ignored",
					        r->name, ALERT_SERIES_MAX);
				r->overflow_logged = true;
				buf_release(&kb);
				continue;
			}
			a = &r->act[r->nact++];
			memset(a, 0, sizeof(*a));
			a->key = buf_detach(&kb, NULL);
			a->labels = labels_json(s);
			a->since = now;
			a->value = v;
			a->seen = true;
			emit(r, a, ALERT_PENDING, now, fn, udata);
		}
		buf_release(&kb);
		a->value = v;
		a->seen = true;
		if (!a->firing && now - a->since >= r->for_ms) {
			a->firing = true;
			emit(r, a, ALERT_FIRING, now, fn, udata);
		}
	}
	/* Series no longer returned: resolved if they fired, else forgotten. */
	for (size_t i = 0; i < r->nact;) {
		struct active *a = &r->act[i];
		if (a->seen) {
			i++;
			continue;
		}
		if (a->firing)
			emit(r, a, ALERT_RESOLVED, now, fn, udata);
		free(a->key);
		cJSON_Delete(a->labels);
		r->act[i] = r->act[--r->nact];
	}
}

int alert_rules_eval(struct alert_rules *rs, struct tsdb *db, int64_t now, alert_event_fn *fn,
                     void *udata)
{
	int failed = 0;

	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = &rs->rules[i];
		struct promql_result *res = NULL;
		struct diag d = { 0 };
		if (promql_eval(db, r->expr, now, now, 0, &res, &d) < 0) {
			/* No such series is an empty result, not a failure worth a warning. */
			log_debug("rule %s: %s", r->name, d.msg);
			failed++;
		}
		if (res && res->type == PROMQL_SCALAR) {
			/* A scalar is active while it is non-zero (vector(1) style rules). */
			if (res->nseries && res->series[0].n && res->series[0].v[0] == 0)
				res->nseries = 0;
		}
		eval_rule(r, res, now, fn, udata);
		promql_result_free(res);
	}
	return failed;
}

static struct rule *same_rule(struct alert_rules *rs, const struct rule *r)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->rules[i].name, r->name) &&
		    !strcmp(rs->rules[i].expr_src, r->expr_src) && rs->rules[i].for_ms == r->for_ms)
			return &rs->rules[i];
	return NULL;
}

size_t alert_rules_adopt(struct alert_rules *to, struct alert_rules *from, int64_t now,
                         alert_event_fn *fn, void *udata)
{
	size_t kept = 0;

	for (size_t i = 0; from && i < from->n; i++) {
		struct rule *old = &from->rules[i], *r = same_rule(to, old);
		if (r && r->nact == 0) {
			/* the key starts with the rule's name, which did not change */
			memcpy(r->act, old->act, old->nact * sizeof(old->act[0]));
			r->nact = old->nact;
			old->nact = 0;
			kept++;
			continue;
		}
		for (size_t k = 0; k < old->nact; k++) {
			if (old->act[k].firing)
				emit(old, &old->act[k], ALERT_RESOLVED, now, fn, udata);
			free(old->act[k].key);
			cJSON_Delete(old->act[k].labels);
		}
		old->nact = 0;
	}
	return kept;
}

cJSON *alert_rules_json(const struct alert_rules *rs)
{
	cJSON *arr = json_arr();

	for (size_t i = 0; rs && i < rs->n; i++) {
		const struct rule *r = &rs->rules[i];
		cJSON *o = json_obj(), *act = json_arr();
		json_add_str(o, "name", r->name);
		json_add_str(o, "expr", r->expr_src);
		json_add_num(o, "for_ms", (double)r->for_ms);
		json_add_str(o, "severity", r->severity);
		json_add_str(o, "summary", r->summary);
		for (size_t k = 0; k < r->nact; k++) {
			cJSON *a = json_obj();
			json_add(a, "labels", cJSON_Duplicate(r->act[k].labels, true));
			json_add_num(a, "value", r->act[k].value);
			json_add_str(a, "state", r->act[k].firing ? "firing" : "pending");
			json_add_num(a, "since_ms", (double)r->act[k].since);
			json_push(act, a);
		}
		json_add(o, "active", act);
		json_push(arr, o);
	}
	return arr;
}
