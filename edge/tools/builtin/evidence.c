/* evidence.c - see evidence.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/ctl.h"
#include "edge/hostinfo.h"
#include "edge/tools/builtin/evidence.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

cJSON *evidence_new(void)
{
	cJSON *ev = json_obj();

	json_add(ev, "findings", json_arr());
	return ev;
}

void evidence_say(cJSON *ev, const char *fmt, ...)
{
	cJSON *f = cJSON_GetObjectItemCaseSensitive(ev, "findings");
	char line[300];
	va_list ap;

	if (!f || cJSON_GetArraySize(f) >= EVIDENCE_MAX_FINDINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	json_push(f, cJSON_CreateString(line));
}

size_t evidence_nfindings(const cJSON *ev)
{
	return (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev, "findings"));
}

cJSON *evidence_rows(cJSON *ev, const char *key)
{
	cJSON *a = json_arr();

	json_add(ev, key, a);
	return a;
}

int64_t arg_int(const cJSON *args, const char *key, int64_t def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : def;
}

const char *arg_str(const cJSON *args, const char *key, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsString(v) ? v->valuestring : def;
}

bool arg_bool(const cJSON *args, const char *key, bool def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

size_t arg_limit(const cJSON *args)
{
	int64_t n = arg_int(args, "limit", EVIDENCE_ROWS_DEFAULT);

	if (n < 1)
		n = 1;
	if (n > EVIDENCE_ROWS_MAX)
		n = EVIDENCE_ROWS_MAX;
	return (size_t)n;
}

void evidence_path_rules(const struct edge_conf *c, struct path_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->deny = (const char *const *)c->tools_deny_paths.v;
	r->ndeny = c->tools_deny_paths.n;
	r->read_roots = (const char *const *)c->tools_read_paths.v;
	r->nread_roots = c->tools_read_paths.n;
	r->data_dir = c->data_dir;
	r->conf_dir = "/etc/ongrid";
}

int evidence_ctl(const struct edge_conf *c, cJSON *req, int64_t timeout_ms, cJSON **ret,
                 struct diag *d)
{
	if (!c->control_socket || !*c->control_socket || access(c->control_socket, F_OK) < 0)
		return diag_set(d, -ENOENT, "no daemon is running (no control socket)");
	return ctl_call(c->control_socket, req, timeout_ms, ret, d);
}

int evidence_promql(const struct edge_conf *c, const char *query, int64_t at_ms, cJSON **ret,
                    struct diag *d)
{
	cJSON *req = json_obj(), *res = NULL, *result;
	int r;

	json_add_str(req, "cmd", "query");
	json_add_str(req, "query", query);
	json_add_num(req, "time", (double)(at_ms > 0 ? at_ms : now_ms()));
	r = evidence_ctl(c, req, 10000, &res, d);
	cJSON_Delete(req);
	if (r < 0)
		return r;
	result = cJSON_DetachItemFromObjectCaseSensitive(res, "result");
	cJSON_Delete(res);
	if (!cJSON_IsArray(result)) {
		cJSON_Delete(result);
		return diag_set(d, -EPROTO, "the daemon's answer to '%s' has no result", query);
	}
	*ret = result;
	return 0;
}

double evidence_promql_first(const cJSON *result)
{
	const cJSON *s = cJSON_GetArrayItem(result, 0);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "value");
	const cJSON *x = cJSON_GetArrayItem(v, 1);

	if (!cJSON_IsString(x))
		return NAN;
	return strtod(x->valuestring, NULL);
}

static void nap_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int evidence_sample(const struct edge_conf *c, const char *only, int64_t gap_ms, struct snapshot *a,
                    struct snapshot *b, cJSON **ret_off, struct diag *d)
{
	struct collector_set set = { 0 };
	struct hostinfo h;
	cJSON *off = json_arr();
	int r;

	hostinfo_probe(&h);
	struct collect_env env = { &h, c };
	r = collector_set_start(&set, &env, only, NULL, d);
	if (r < 0) {
		cJSON_Delete(off);
		return r;
	}
	for (size_t i = 0; i < set.n; i++)
		if (!set.slots[i].on && strcmp(set.slots[i].why, "not selected") != 0) {
			cJSON *o = json_obj();
			json_add_str(o, "collector", set.slots[i].c->name);
			json_add_str(o, "why", set.slots[i].why);
			json_push(off, o);
		}
	snapshot_init(a, now_ms());
	collector_set_collect(&set, a, a->t_ms);
	nap_ms(gap_ms);
	snapshot_init(b, now_ms());
	collector_set_collect(&set, b, b->t_ms);
	collector_set_stop(&set);
	*ret_off = off;
	return 0;
}

const char *snap_label(const struct snapshot_sample *x, const char *key)
{
	for (size_t i = 0; i < x->nlabels; i++)
		if (strcmp(x->labels[i].name, key) == 0)
			return x->labels[i].value;
	return "";
}

double snap_value(const struct snapshot *s, const char *name, const char *lk, const char *lv)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_sample *x = &s->samples[i];
		if (strcmp(x->name, name) != 0)
			continue;
		if (lk && strcmp(snap_label(x, lk), lv) != 0)
			continue;
		return x->value;
	}
	return NAN;
}

static bool same_labels(const struct snapshot_sample *x, const struct snapshot_sample *y)
{
	if (x->nlabels != y->nlabels || strcmp(x->name, y->name) != 0)
		return false;
	for (size_t i = 0; i < x->nlabels; i++)
		if (strcmp(x->labels[i].name, y->labels[i].name) != 0 ||
		    strcmp(x->labels[i].value, y->labels[i].value) != 0)
			return false;
	return true;
}

double snap_rate(const struct snapshot *a, const struct snapshot *b,
                 const struct snapshot_sample *x)
{
	double dt = (double)(b->t_ms - a->t_ms) / 1000.0;

	if (dt <= 0)
		return NAN;
	for (size_t i = 0; i < a->n; i++)
		if (same_labels(&a->samples[i], x)) {
			double dv = x->value - a->samples[i].value;
			return dv < 0 ? NAN : dv / dt;
		}
	return NAN;
}

void evidence_bytes(char *out, size_t outsz, double bytes)
{
	double v = bytes;
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (fabs(v) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%.0f B", v);
	else
		snprintf(out, outsz, "%.1f %s", v, units[u]);
}

int evidence_read(const char *path, size_t max, char **ret)
{
	char *buf = xmalloc(max + 1);
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		free(buf);
		return -errno;
	}
	while (n < max) {
		ssize_t k = read(fd, buf + n, max - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = -errno;
			close(fd);
			free(buf);
			return e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	*ret = buf;
	return (int)n;
}

double snap_delta(const struct snapshot *a, const struct snapshot *b, const char *name,
                  const char *lk, const char *lv)
{
	double sum = 0;
	bool any = false;

	for (size_t i = 0; i < b->n; i++) {
		const struct snapshot_sample *x = &b->samples[i];
		if (strcmp(x->name, name) != 0 || (lk && strcmp(snap_label(x, lk), lv) != 0))
			continue;
		for (size_t j = 0; j < a->n; j++)
			if (same_labels(&a->samples[j], x)) {
				sum += x->value - a->samples[j].value;
				any = true;
				break;
			}
	}
	return any ? sum : NAN;
}

#define HIST_MAX_BUCKETS 64

double snap_hist_quantile(const struct snapshot *a, const struct snapshot *b, const char *base,
                          double q)
{
	return snap_hist_quantile_where(a, b, base, q, NULL, NULL, NULL);
}

double snap_hist_quantile_where(const struct snapshot *a, const struct snapshot *b,
                                const char *base, double q, const char *lk, const char *lv,
                                double *ret_count)
{
	double le[HIST_MAX_BUCKETS], cnt[HIST_MAX_BUCKETS];
	size_t nb = 0;
	char name[128];

	if (ret_count)
		*ret_count = 0;
	snprintf(name, sizeof(name), "%s_bucket", base);
	for (size_t i = 0; i < b->n; i++) {
		const struct snapshot_sample *x = &b->samples[i];
		if (strcmp(x->name, name) != 0 || (lk && strcmp(snap_label(x, lk), lv) != 0))
			continue;
		const char *l = snap_label(x, "le");
		double bound = strcmp(l, "+Inf") == 0 ? INFINITY : strtod(l, NULL);
		double before = 0;
		for (size_t j = 0; j < a->n; j++)
			if (same_labels(&a->samples[j], x)) {
				before = a->samples[j].value;
				break;
			}
		size_t k;
		for (k = 0; k < nb; k++)
			if (le[k] == bound)
				break;
		if (k == nb) {
			if (nb == HIST_MAX_BUCKETS)
				continue;
			le[nb] = bound;
			cnt[nb++] = 0;
		}
		cnt[k] += x->value - before;
	}
	/* sort by bound (insertion: few buckets) */
	for (size_t i = 1; i < nb; i++)
		for (size_t j = i; j > 0 && le[j - 1] > le[j]; j--) {
			double t = le[j];
			le[j] = le[j - 1];
			le[j - 1] = t;
			t = cnt[j];
			cnt[j] = cnt[j - 1];
			cnt[j - 1] = t;
		}
	if (nb == 0 || cnt[nb - 1] <= 0)
		return NAN;
	if (ret_count)
		*ret_count = cnt[nb - 1];
	double rank = q * cnt[nb - 1];
	for (size_t i = 0; i < nb; i++)
		if (cnt[i] >= rank) {
			if (isinf(le[i]))
				return i > 0 ? le[i - 1] : NAN;
			double lo = i > 0 ? le[i - 1] : 0, clo = i > 0 ? cnt[i - 1] : 0;
			if (cnt[i] == clo)
				return le[i];
			return lo + (le[i] - lo) * (rank - clo) / (cnt[i] - clo);
		}
	return NAN;
}

bool evidence_history(const struct edge_conf *c, const char *query, const int64_t *ago_ms, size_t n,
                      double *ret)
{
	int64_t now = now_ms();
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		struct diag d = { 0 };
		cJSON *res = NULL;
		ret[i] = NAN;
		int r = evidence_promql(c, query, now - ago_ms[i], &res, &d);
		if (r == -ENOENT || r == -ECONNREFUSED)
			return false;
		if (r < 0)
			continue;
		any = true;
		ret[i] = evidence_promql_first(res);
		cJSON_Delete(res);
	}
	return any;
}

static size_t trend_value(char *out, size_t outsz, double v, enum trend_unit unit)
{
	char b[32];

	switch (unit) {
	case TREND_PCT:
		return (size_t)snprintf(out, outsz, "%.0f%%", v);
	case TREND_BYTES:
		evidence_bytes(b, sizeof(b), v);
		return (size_t)snprintf(out, outsz, "%s", b);
	default:
		return (size_t)snprintf(out, outsz, "%.1f/s", v);
	}
}

void evidence_trend(cJSON *ev, const char *what, const double *ago3, double now,
                    enum trend_unit unit)
{
	static const char *const labels[] = { "30 min ago", "15 min ago", "5 min ago" };
	char line[256];
	size_t o = 0;
	int have = 0;

	o += (size_t)snprintf(line, sizeof(line), "%s:", what);
	for (int i = 0; i < 3 && o < sizeof(line); i++) {
		if (isnan(ago3[i]))
			continue;
		have++;
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %s ", labels[i]);
		if (o < sizeof(line))
			o += trend_value(line + o, sizeof(line) - o, ago3[i], unit);
		if (o < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o, ",");
	}
	if (!have) {
		evidence_say(ev,
		             "%s: the daemon's store has no samples from the last 30 minutes yet",
		             what);
		return;
	}
	if (o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, " now ");
	if (o < sizeof(line))
		trend_value(line + o, sizeof(line) - o, now, unit);
	evidence_say(ev, "%s", line);
}
