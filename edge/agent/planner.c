/* planner.c - the offline planner: the six steps an engineer takes at 3 AM, as fixed rules
 * over the same tools a model would call.
 *
 *   1. which metrics moved, and when (CPU, memory and OOM kills, filesystems, exits,
 *      retransmits per peer), plus what runs now (list_processes)
 *   2. which log patterns are new or spiked
 *   3. the kernel's latency tails (run queue, block I/O per disk)
 *   4. the topology one hop around the suspect
 *   5. the changes just before the onset
 *   6. conclude: every rule that fires is a candidate with a score; the best one is the
 *      root cause, and every claim in the report names the tool call it came from.
 *
 * Gathering stops at agent.deadline; a step left out is in the timeline as not run.
 * planner_conclude() is pure (facts in, report out) so tests feed it synthetic evidence.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "edge/edge.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/banned.h"

/* Rule thresholds, with why. */
#define CPU_BUSY_RATIO  0.85 /* host CPU busy, all cores: saturation, not just load */
#define CPU_PROC_PCT    25.0 /* on a saturated host a quarter of a core is a suspect */
#define MEM_AVAIL_RATIO 0.05 /* under 5% available memory the kernel reclaims hard */
#define FS_USED_RATIO   0.90 /* a filesystem at 90% is an alert in every runbook */
#define FS_MOVED_RATIO  0.02 /* and it "moved" when it grew by 2% of its size in the window */
#define FS_FULL_RATIO   0.98 /* full enough that writes fail soon, moved or not */
#define BIO_P99_S       0.05 /* 50 ms p99 block latency: a disk that makes callers wait */
#define RUNQ_P99_S      0.02 /* 20 ms p99 run-queue wait: CPU starvation */
#define RETRANS_PER_S   1.0  /* sustained retransmits to one peer: loss on the path */
#define EXITS_FAILED    3.0  /* three failed exits of one command in the window: a loop */
#define PROBE_COST_MS   2100 /* a live host probe measures over about two seconds */
#define HINT_BONUS      0.15 /* the question named this area */

/* Commands whose non-zero exit is an answer ("no match", "no such file") or a script's
 * everyday step, not a service failing: a test suite or a cron job runs them by the
 * hundred. A crash loop is a program that is restarted; these are not. */
static const char *const answer_commands[] = {
	"grep",    "egrep", "fgrep",   "test",  "[",     "cmp",      "diff",    "false",    "pgrep",
	"pidof",   "which", "timeout", "sleep", "ls",    "cat",      "stat",    "find",     "head",
	"tail",    "sed",   "awk",     "cut",   "sort",  "wc",       "tr",      "kill",     "mkdir",
	"rm",      "cp",    "mv",      "ln",    "id",    "readlink", "dirname", "basename", "env",
	"expr",    "seq",   "date",    "touch", "chmod", "mount",    "umount",  "ip",       "nft",
	"losetup", "curl",  "git",     "make",  "sh",    "bash",     "dash",    "zsh",      NULL,
};

/* ---- gathering ---------------------------------------------------------------------- */

struct gather {
	struct agent_run *run;
	cJSON *facts;
	int minutes, step_s, rate_s;
};

static void add_fact(struct gather *g, const char *agent, const char *tool, cJSON *args,
                     const char *key)
{
	const cJSON *ev = NULL;
	int r = agent_tool(g->run, agent, tool, args, &ev);
	cJSON *f;

	/* a tool that is missing, refused or failed is in the timeline; its rules stay quiet */
	if (r < 0 || !ev || cJSON_GetObjectItemCaseSensitive(ev, "error")) {
		cJSON_Delete(args);
		return;
	}
	f = json_obj();
	json_add_str(f, "agent", agent);
	json_add_str(f, "tool", tool);
	json_add(f, "args", args);
	json_add_str(f, "key", key);
	json_add(f, "evidence", cJSON_Duplicate(ev, true));
	json_push(g->facts, f);
}

static void metric(struct gather *g, const char *agent, const char *key, const char *query)
{
	cJSON *a = json_obj();

	json_add_str(a, "query", query);
	json_add_num(a, "minutes", g->minutes);
	json_add_num(a, "step_s", g->step_s);
	add_fact(g, agent, "query_metrics", a, key);
}

/* A query whose "[R]" become the rate window ("[15s]"): long enough for three samples. */
static void metric_rate(struct gather *g, const char *agent, const char *key, const char *tmpl)
{
	char q[512], w[16];
	size_t o = 0, wl;

	wl = (size_t)snprintf(w, sizeof(w), "[%ds]", g->rate_s);
	for (const char *p = tmpl; *p && o + wl + 1 < sizeof(q);) {
		if (strncmp(p, "[R]", 3) == 0) {
			memcpy(q + o, w, wl);
			o += wl;
			p += 3;
		} else {
			q[o++] = *p++;
		}
	}
	q[o] = '\0';
	metric(g, agent, key, q);
}

/* ---- reading evidence ---------------------------------------------------------------- */

struct stats {
	double first, last, min, max;
	double t_first, t_last; /* seconds */
	double t_onset;         /* first sample above the rule's threshold, or the biggest step */
	int n;
};

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static double sample_value(const cJSON *pt)
{
	const cJSON *v = cJSON_GetArrayItem(pt, 1);

	return cJSON_IsString(v) ? strtod(v->valuestring, NULL) : NAN;
}

/* Statistics of one series (matrix "values" or vector "value"); threshold sets t_onset. */
static bool series_stats(const cJSON *series, double threshold, struct stats *s)
{
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(series, "values"), *pt;
	double prev = NAN, big = -1;

	memset(s, 0, sizeof(*s));
	s->t_onset = NAN;
	if (!cJSON_IsArray(vals)) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(series, "value");
		double x = sample_value(v), t = cJSON_GetNumberValue(cJSON_GetArrayItem(v, 0));

		if (isnan(x))
			return false;
		*s = (struct stats){ x, x, x, x, t, t, t, 1 };
		return true;
	}
	cJSON_ArrayForEach(pt, vals) {
		double x = sample_value(pt), t = cJSON_GetNumberValue(cJSON_GetArrayItem(pt, 0));

		if (isnan(x) || isinf(x))
			continue;
		if (s->n == 0) {
			s->first = s->min = s->max = x;
			s->t_first = t;
		}
		s->last = x;
		s->t_last = t;
		s->min = x < s->min ? x : s->min;
		s->max = x > s->max ? x : s->max;
		if (isnan(s->t_onset) && !isnan(threshold) && x >= threshold)
			s->t_onset = t;
		if (!isnan(prev) && fabs(x - prev) > big && isnan(threshold)) {
			big = fabs(x - prev);
			s->t_onset = t;
		}
		prev = x;
		s->n++;
	}
	return s->n > 0;
}

static const cJSON *fact_result(const cJSON *fact)
{
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(fact, "evidence");

	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "data"),
	                                        "result");
}

static const cJSON *find_fact(const cJSON *facts, const char *key)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, facts) {
		const char *k = jstr(f, "key");
		if (k && strcmp(k, key) == 0)
			return f;
	}
	return NULL;
}

static const char *label(const cJSON *series, const char *name)
{
	return jstr(cJSON_GetObjectItemCaseSensitive(series, "metric"), name);
}

static void fmt_time(char *out, size_t n, double t_s)
{
	char full[40];

	if (isnan(t_s) || t_s <= 0) {
		snprintf(out, n, "an unknown time");
		return;
	}
	clock_format_rfc3339(full, sizeof(full), (int64_t)(t_s * 1000));
	/* hh:mm:ss is what a reader compares; the date is the report's */
	snprintf(out, n, "%.8s", strchr(full, 'T') ? strchr(full, 'T') + 1 : full);
}

/* ---- candidates ----------------------------------------------------------------------- */

#define MAX_CLAIMS 4

struct claim {
	const cJSON *fact;
	char finding[320];
};

struct candidate {
	enum agent_category cat;
	double score;
	double t_onset;
	char component[128];
	char statement[320];
	struct claim claims[MAX_CLAIMS];
	int nclaims;
};

struct rules {
	const cJSON *facts;
	enum agent_category hint;
	struct candidate best;
	struct candidate all[16];
	int n;
};

static struct candidate *candidate(struct rules *r, enum agent_category cat, double score,
                                   const char *component)
{
	struct candidate *c;

	if (r->n >= (int)ARRAY_SIZE(r->all))
		return NULL;
	c = &r->all[r->n++];
	memset(c, 0, sizeof(*c));
	c->cat = cat;
	c->score = score + (r->hint == cat ? HINT_BONUS : 0);
	c->t_onset = NAN;
	snprintf(c->component, sizeof(c->component), "%s", component);
	return c;
}

static void claim(struct candidate *c, const cJSON *fact, const char *fmt, ...) _printf_(3, 4);
static void claim(struct candidate *c, const cJSON *fact, const char *fmt, ...)
{
	va_list ap;

	if (!c || !fact || c->nclaims >= MAX_CLAIMS)
		return;
	c->claims[c->nclaims].fact = fact;
	va_start(ap, fmt);
	vsnprintf(c->claims[c->nclaims].finding, sizeof(c->claims[0].finding), fmt, ap);
	va_end(ap);
	c->nclaims++;
}

/* Growth of a counter over the window; a series that appeared inside it grew from 0. */
static double counter_growth(const struct stats *s, double window_start)
{
	return s->t_first > window_start ? s->last : s->last - s->first;
}

static double window_start_of(const cJSON *fact)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(fact, "args");
	double minutes, step;

	/* a fact from another host (edge.call) keeps the remote tool's arguments inside */
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(a, "args")))
		a = cJSON_GetObjectItemCaseSensitive(a, "args");
	minutes = jnum(a, "minutes");
	step = jnum(a, "step_s");
	const cJSON *series, *pt;
	double latest = 0;

	/* the window ends at the latest sample any series has */
	cJSON_ArrayForEach(series, fact_result(fact)) {
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(series, "values");
		double t;

		pt = cJSON_GetArrayItem(vals, cJSON_GetArraySize(vals) - 1);
		t = cJSON_GetNumberValue(cJSON_GetArrayItem(pt, 0));
		if (t > latest)
			latest = t;
	}
	return latest - (isnan(minutes) ? 0 : minutes * 60) + 2 * (isnan(step) ? 1 : step);
}

/* Processes now, summed per command: two stress workers are one suspect at 200%. */
struct proc_sum {
	char comm[64];
	double cpu_pct;
	double moved; /* percent points gained over the window (history only) */
	int n;
	long pid;
};

/* Busiest first, by what moved in the window, then by what it uses now: on a shared host
 * the steady consumers are the background, the one that rose is the news. */
static void sort_procs(struct proc_sum *p, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i;
		     j > 0 && (p[j].moved > p[j - 1].moved ||
		               (p[j].moved == p[j - 1].moved && p[j].cpu_pct > p[j - 1].cpu_pct));
		     j--) {
			struct proc_sum t = p[j];
			p[j] = p[j - 1];
			p[j - 1] = t;
		}
}

static int top_commands(const cJSON *facts, struct proc_sum *out, int max)
{
	const cJSON *f = find_fact(facts, "processes"), *p;
	int n = 0;

	cJSON_ArrayForEach(
	        p, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "evidence"),
	                                            "processes")) {
		const char *comm = jstr(p, "comm");
		double pct = jnum(p, "cpu_pct");
		int i;

		if (!comm || isnan(pct))
			continue;
		for (i = 0; i < n && strcmp(out[i].comm, comm) != 0; i++)
			;
		if (i == n) {
			if (n == max)
				continue;
			snprintf(out[n].comm, sizeof(out[n].comm), "%s", comm);
			out[n].cpu_pct = 0;
			out[n].moved = 0;
			out[n].n = 0;
			out[n].pid = (long)jnum(p, "pid");
			n++;
		}
		out[i].cpu_pct += pct;
		out[i].n++;
	}
	/* busiest first */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j].cpu_pct > out[j - 1].cpu_pct; j--) {
			struct proc_sum t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* Per command from history: the mean of the last points of rate(process CPU) per comm, in
 * percent of a core. Steadier than one half-second sample on a contended host. */
static int top_commands_history(const cJSON *facts, struct proc_sum *out, int max)
{
	const cJSON *f = find_fact(facts, "proc_cpu"), *series;
	double ws = f ? window_start_of(f) : 0;
	int n = 0;

	cJSON_ArrayForEach(series, fact_result(f)) {
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(series, "values");
		const char *comm = label(series, "comm");
		int len = cJSON_GetArraySize(vals), k = 0, k0 = 0;
		double sum = 0, sum0 = 0, t0;

		if (!comm || n == max || len == 0)
			continue;
		for (int i = len - 5 < 0 ? 0 : len - 5; i < len; i++, k++)
			sum += sample_value(cJSON_GetArrayItem(vals, i));
		/* the start of the window, or zero for a command that appeared inside it */
		t0 = cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(vals, 0), 0));
		if (t0 <= ws)
			for (int i = 0; i < 5 && i < len; i++, k0++)
				sum0 += sample_value(cJSON_GetArrayItem(vals, i));
		if (k == 0 || isnan(sum) || isnan(sum0))
			continue;
		snprintf(out[n].comm, sizeof(out[n].comm), "%s", comm);
		out[n].cpu_pct = sum / k * 100;
		out[n].moved = out[n].cpu_pct - (k0 ? sum0 / k0 * 100 : 0);
		out[n].n = 1;
		out[n].pid = 0;
		n++;
	}
	sort_procs(out, n);
	return n;
}

static void rule_cpu(struct rules *r)
{
	const cJSON *busy = find_fact(r->facts, "cpu_busy"),
	            *procs = find_fact(r->facts, "processes");
	struct proc_sum top[16], live[16];
	int n = top_commands_history(r->facts, top, (int)ARRAY_SIZE(top));
	int nl = top_commands(r->facts, live, (int)ARRAY_SIZE(live));

	/* history keeps only the top processes of each round, so many workers of one command
	 * can fall out of it; the live list sums them. The busier reading of each wins. */
	for (int i = 0; i < nl; i++) {
		int j;

		for (j = 0; j < n && strcmp(top[j].comm, live[i].comm) != 0; j++)
			;
		if (j == n && n < (int)ARRAY_SIZE(top)) {
			top[n] = live[i];
			top[n++].moved = 0; /* not in history: no telling whether it moved */
		} else if (j < n && live[i].cpu_pct > top[j].cpu_pct) {
			double moved = top[j].moved + (live[i].cpu_pct - top[j].cpu_pct);

			top[j] = live[i];
			top[j].moved = moved;
		}
	}
	sort_procs(top, n);
	if (n > 0 && top[0].pid == 0)
		procs = find_fact(r->facts, "proc_cpu");
	struct stats s = { 0 };
	bool saturated = false;
	struct candidate *c;
	char when[16];

	if (busy && series_stats(cJSON_GetArrayItem(fact_result(busy), 0), CPU_BUSY_RATIO, &s) &&
	    s.last >= CPU_BUSY_RATIO)
		saturated = true;
	if (n == 0 || top[0].cpu_pct < CPU_PROC_PCT)
		return;
	/* without history, a command burning more than a whole core is saturation enough */
	if (!saturated && !(busy == NULL && top[0].cpu_pct >= 90))
		return;
	c = candidate(r, CAT_CPU, 0.55, top[0].comm);
	if (!c)
		return;
	if (n == 1 || top[0].cpu_pct >= 2 * top[1].cpu_pct)
		c->score += 0.15; /* one clear consumer */
	c->t_onset = s.t_onset;
	snprintf(c->statement, sizeof(c->statement), "CPU saturation: %s uses %.0f%% of a core%s",
	         top[0].comm, top[0].cpu_pct, saturated ? " while the host's CPUs are busy" : "");
	if (saturated) {
		fmt_time(when, sizeof(when), s.t_onset);
		claim(c, busy, "host CPU busy %.0f%% (was %.0f%%), above %.0f%% since %s",
		      s.last * 100, s.first * 100, CPU_BUSY_RATIO * 100, when);
	}
	if (top[0].pid)
		claim(c, procs,
		      "busiest command now: %s at %.0f%% of one CPU over %d process%s (pid %ld)",
		      top[0].comm, top[0].cpu_pct, top[0].n, top[0].n == 1 ? "" : "es", top[0].pid);
	else
		claim(c, procs, "busiest command over the last samples: %s at %.0f%% of one CPU",
		      top[0].comm, top[0].cpu_pct);
	if (n > 1)
		claim(c, procs, "next: %s at %.0f%%", top[1].comm, top[1].cpu_pct);
}

static void rule_runq(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "runq_p99");
	struct stats s;

	/* run-queue latency only strengthens a CPU candidate; alone it names no component */
	if (!f || !series_stats(cJSON_GetArrayItem(fact_result(f), 0), RUNQ_P99_S, &s) ||
	    s.max < RUNQ_P99_S)
		return;
	for (int i = 0; i < r->n; i++)
		if (r->all[i].cat == CAT_CPU) {
			r->all[i].score += 0.1;
			claim(&r->all[i], f,
			      "run-queue wait p99 reached %.0f ms (tasks wait for a CPU)",
			      s.max * 1000);
		}
}

static void rule_oom(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "oom"), *series;
	double ws;
	struct stats s;
	struct candidate *c;
	char when[16];

	if (!f)
		return;
	ws = window_start_of(f);
	cJSON_ArrayForEach(series, fact_result(f)) {
		double kills;
		const char *cg = label(series, "cgroup"), *comm = label(series, "comm");

		if (!series_stats(series, NAN, &s))
			continue;
		kills = counter_growth(&s, ws);
		if (kills < 1)
			continue;
		c = candidate(r, CAT_MEMORY, 0.9, cg && *cg ? cg : comm ? comm : "host");
		if (!c)
			return;
		c->t_onset = s.t_first > ws ? s.t_first : s.t_onset;
		fmt_time(when, sizeof(when), c->t_onset);
		snprintf(c->statement, sizeof(c->statement),
		         "the OOM killer killed %s in memory cgroup %s: the cgroup reached its "
		         "memory "
		         "limit",
		         comm ? comm : "a process", cg ? cg : "(root)");
		claim(c, f, "%.0f OOM kill%s of %s in cgroup %s, first at %s", kills,
		      kills == 1 ? "" : "s", comm ? comm : "?", cg ? cg : "?", when);
	}
}

static void rule_memory(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "mem_avail");
	struct stats s;
	struct candidate *c;

	if (!f || !series_stats(cJSON_GetArrayItem(fact_result(f), 0), NAN, &s) ||
	    s.last >= MEM_AVAIL_RATIO)
		return;
	c = candidate(r, CAT_MEMORY, 0.6, "host");
	if (!c)
		return;
	c->t_onset = s.t_onset;
	snprintf(c->statement, sizeof(c->statement),
	         "the host is short of memory: %.1f%% available", s.last * 100);
	claim(c, f, "available memory fell from %.1f%% to %.1f%% of total", s.first * 100,
	      s.last * 100);
}

static void rule_fs(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "fs_used"), *series;
	struct stats s;
	struct candidate *c;
	char when[16];

	if (!f)
		return;
	cJSON_ArrayForEach(series, fact_result(f)) {
		const char *mp = label(series, "mountpoint");
		bool moved, full;

		if (!mp || !series_stats(series, FS_USED_RATIO, &s))
			continue;
		moved = s.last - s.min >= FS_MOVED_RATIO && s.last >= FS_USED_RATIO;
		full = s.last >= FS_FULL_RATIO && r->hint == CAT_DISK;
		if (!moved && !full)
			continue;
		c = candidate(r, CAT_DISK, s.last >= FS_FULL_RATIO ? 0.85 : 0.75, mp);
		if (!c)
			return;
		c->t_onset = s.t_onset;
		fmt_time(when, sizeof(when), s.t_onset);
		snprintf(c->statement, sizeof(c->statement), "filesystem %s is %.0f%% full%s", mp,
		         s.last * 100, moved ? " and filling" : "");
		claim(c, f, "%s used went from %.0f%% to %.0f%%, above %.0f%% since %s", mp,
		      s.min * 100, s.last * 100, FS_USED_RATIO * 100, when);
	}
}

/* Without history: host_probe_disk's findings ("/data is 94% full: ..."), a full
 * filesystem now, without knowing whether it moved. */
static void rule_probe_disk(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "probe_disk"), *it;

	if (!f || find_fact(r->facts, "fs_used"))
		return;
	cJSON_ArrayForEach(it,
	                   cJSON_GetObjectItemCaseSensitive(
	                           cJSON_GetObjectItemCaseSensitive(f, "evidence"), "findings")) {
		const char *txt = cJSON_GetStringValue(it), *is;
		char mp[128];
		double pct;
		struct candidate *c;

		char *end;

		if (!txt || txt[0] != '/' || !(is = strstr(txt, " is ")) ||
		    (size_t)(is - txt) >= sizeof(mp))
			continue;
		pct = strtod(is + 4, &end);
		if (end == is + 4 || strncmp(end, "% full", 6) != 0 || pct < FS_USED_RATIO * 100)
			continue;
		memcpy(mp, txt, (size_t)(is - txt));
		mp[is - txt] = '\0';
		c = candidate(r, CAT_DISK, pct >= FS_FULL_RATIO * 100 ? 0.7 : 0.6, mp);
		if (!c)
			return;
		snprintf(c->statement, sizeof(c->statement), "filesystem %s is %.0f%% full", mp,
		         pct);
		claim(c, f, "%s", txt);
	}
}

static void rule_bio(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "bio_p99"), *series;
	struct stats s;
	struct candidate *c;
	char when[16];

	if (!f)
		return;
	cJSON_ArrayForEach(series, fact_result(f)) {
		const char *disk = label(series, "disk");

		if (!disk || !series_stats(series, BIO_P99_S, &s) || s.max < BIO_P99_S)
			continue;
		c = candidate(r, CAT_DISK, s.max >= 4 * BIO_P99_S ? 0.8 : 0.7, disk);
		if (!c)
			return;
		c->t_onset = s.t_onset;
		fmt_time(when, sizeof(when), s.t_onset);
		snprintf(c->statement, sizeof(c->statement),
		         "slow block I/O on %s: p99 latency %.0f ms", disk, s.max * 1000);
		claim(c, f,
		      "block I/O p99 on %s rose to %.0f ms (from %.1f ms), above %.0f ms since %s",
		      disk, s.max * 1000, s.min * 1000, BIO_P99_S * 1000, when);
	}
}

static void rule_net(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "retrans"), *series;
	const cJSON *fail = find_fact(r->facts, "connfail");
	struct stats s;
	struct candidate *c;
	char when[16];

	if (!f)
		return;
	cJSON_ArrayForEach(series, fact_result(f)) {
		const char *peer = label(series, "peer");

		if (!peer || !series_stats(series, RETRANS_PER_S, &s) || s.max < RETRANS_PER_S)
			continue;
		c = candidate(r, CAT_NETWORK, s.max >= 5 * RETRANS_PER_S ? 0.8 : 0.7, peer);
		if (!c)
			return;
		c->t_onset = s.t_onset;
		fmt_time(when, sizeof(when), s.t_onset);
		snprintf(c->statement, sizeof(c->statement),
		         "packets to %s are being lost: TCP retransmits at %.1f/s", peer, s.max);
		claim(c, f, "retransmits to %s rose to %.1f/s (from %.1f/s) at %s", peer, s.max,
		      s.min, when);
		if (fail) {
			const cJSON *fs;
			cJSON_ArrayForEach(fs, fact_result(fail)) {
				struct stats s2;
				const char *p2 = label(fs, "peer");
				if (p2 && strcmp(p2, peer) == 0 && series_stats(fs, NAN, &s2) &&
				    s2.last - s2.first >= 1) {
					c->score += 0.05;
					claim(c, fail, "%.0f failed connects to %s in the window",
					      s2.last - s2.first, peer);
				}
			}
		}
	}
}

static bool answer_command(const char *comm)
{
	for (const char *const *a = answer_commands; *a; a++)
		if (strcmp(*a, comm) == 0)
			return true;
	return false;
}

static void rule_exits(struct rules *r)
{
	const cJSON *f = find_fact(r->facts, "exits"), *series;
	struct {
		char comm[64];
		double n;
		double t;
		char code[16];
	} agg[32];
	int na = 0, best = -1;
	double ws;
	struct stats s;
	struct candidate *c;
	char when[16];

	if (!f)
		return;
	ws = window_start_of(f);
	cJSON_ArrayForEach(series, fact_result(f)) {
		const char *comm = label(series, "comm"), *code = label(series, "code");
		double n;
		int i;

		if (!comm || strcmp(comm, "other") == 0 || answer_command(comm) ||
		    !series_stats(series, NAN, &s))
			continue;
		n = counter_growth(&s, ws);
		if (n <= 0)
			continue;
		for (i = 0; i < na && strcmp(agg[i].comm, comm) != 0; i++)
			;
		if (i == na) {
			if (na == (int)ARRAY_SIZE(agg))
				continue;
			snprintf(agg[i].comm, sizeof(agg[i].comm), "%s", comm);
			agg[i].n = 0;
			agg[i].t = s.t_first > ws ? s.t_first : s.t_onset;
			snprintf(agg[i].code, sizeof(agg[i].code), "%s",
			         code                      ? code
			         : label(series, "signal") ? label(series, "signal")
			                                   : "?");
			na++;
		}
		agg[i].n += n;
	}
	for (int i = 0; i < na; i++)
		if (agg[i].n >= EXITS_FAILED && (best < 0 || agg[i].n > agg[best].n))
			best = i;
	if (best < 0)
		return;
	c = candidate(r, CAT_SERVICE, agg[best].n >= 2 * EXITS_FAILED ? 0.85 : 0.75,
	              agg[best].comm);
	if (!c)
		return;
	c->t_onset = agg[best].t;
	fmt_time(when, sizeof(when), agg[best].t);
	snprintf(c->statement, sizeof(c->statement),
	         "%s is crash-looping: it exited with a failure %.0f times in the window",
	         agg[best].comm, agg[best].n);
	claim(c, f, "%s exited %.0f times with a failure (code/signal %s), from %s", agg[best].comm,
	      agg[best].n, agg[best].code, when);
}

/* Log patterns that are new or spiked and look like errors: the finding text of the tool. */
static const cJSON *error_spike(const cJSON *facts, char *out, size_t n)
{
	const cJSON *f = find_fact(facts, "log_patterns"), *it;

	if (!f)
		return NULL;
	cJSON_ArrayForEach(it,
	                   cJSON_GetObjectItemCaseSensitive(
	                           cJSON_GetObjectItemCaseSensitive(f, "evidence"), "findings")) {
		const char *s = cJSON_GetStringValue(it);

		if (s &&
		    (strcasestr(s, "error") || strcasestr(s, "fail") || strcasestr(s, "fatal") ||
		     strcasestr(s, "panic") || strcasestr(s, "exception"))) {
			snprintf(out, n, "%s", s);
			return f;
		}
	}
	return NULL;
}

/* The first change event in the evidence of query_change_events: its path/what, and time. */
static const cJSON *first_change(const cJSON *facts, char *what, size_t n, double *ret_t)
{
	const cJSON *f = find_fact(facts, "changes"), *ev, *arr, *e;

	if (!f)
		return NULL;
	ev = cJSON_GetObjectItemCaseSensitive(f, "evidence");
	arr = cJSON_GetObjectItemCaseSensitive(ev, "events");
	if (!cJSON_IsArray(arr))
		arr = cJSON_GetObjectItemCaseSensitive(ev, "changes");
	cJSON_ArrayForEach(e, arr) {
		const char *p = jstr(e, "path")      ? jstr(e, "path")
		                : jstr(e, "subject") ? jstr(e, "subject")
		                                     : jstr(e, "what");
		const char *kind = jstr(e, "kind") ? jstr(e, "kind") : jstr(e, "type");
		const char *ts = jstr(e, "time") ? jstr(e, "time") : jstr(e, "at");
		int64_t ms = 0;

		/* what an operator changes: files, packages, binaries; not restarts or logins */
		if (!p || (kind && strcmp(kind, "file") != 0 && strcmp(kind, "package") != 0 &&
		           strcmp(kind, "binary") != 0))
			continue;
		if (ts && clock_parse_time(ts, &ms) == 0)
			*ret_t = (double)ms / 1000;
		else if (!isnan(jnum(e, "t")))
			*ret_t = jnum(e, "t");
		else
			*ret_t = NAN;
		snprintf(what, n, "%s%s%s", kind ? kind : "", kind ? " " : "", p);
		return f;
	}
	return NULL;
}

static void rule_config(struct rules *r)
{
	char spike[320], what[256];
	double t_change = NAN;
	const cJSON *lf = error_spike(r->facts, spike, sizeof(spike));
	const cJSON *cf = first_change(r->facts, what, sizeof(what), &t_change);
	struct candidate *c;
	const char *comp;
	char when[16];

	if (!lf || !cf)
		return;
	/* the component is the changed file: the last word of "kind path" */
	comp = strrchr(what, ' ') ? strrchr(what, ' ') + 1 : what;
	c = candidate(r, CAT_CONFIG, 0.9, comp);
	if (!c)
		return;
	c->t_onset = t_change;
	fmt_time(when, sizeof(when), t_change);
	snprintf(c->statement, sizeof(c->statement),
	         "errors started right after a change: %s (at %s)", what, when);
	claim(c, cf, "change just before the errors: %s at %s", what, when);
	claim(c, lf, "log errors spiked: %s", spike);
}

static void rule_logs_only(struct rules *r)
{
	char spike[320];
	const cJSON *lf = error_spike(r->facts, spike, sizeof(spike));
	struct candidate *c;

	if (!lf || r->n > 0)
		return;
	c = candidate(r, CAT_SERVICE, 0.4, "logs");
	if (!c)
		return;
	snprintf(c->statement, sizeof(c->statement), "an error pattern spiked in the logs");
	claim(c, lf, "%s", spike);
}

/* The first finding that says more than a count ("3 series"): the numbers a reader wants. */
static const cJSON *informative_finding(const cJSON *fact)
{
	const cJSON *it;

	cJSON_ArrayForEach(
	        it, cJSON_GetObjectItemCaseSensitive(
	                    cJSON_GetObjectItemCaseSensitive(fact, "evidence"), "findings")) {
		const char *s = cJSON_GetStringValue(it);
		char *end;

		if (!s)
			continue;
		(void)strtol(s, &end, 10);
		if (end != s &&
		    (strcmp(end, " series") == 0 || strcmp(end, " series matched") == 0))
			continue;
		return it;
	}
	return NULL;
}

static void add_checked(cJSON *report, const cJSON *facts, const struct candidate *best)
{
	static const char *const shown[] = { "cpu_busy",   "mem_avail", "fs_used",
		                             "bio_p99",    "retrans",   "log_patterns",
		                             "probe_disk", "probe_cpu", "probe_memory",
		                             "probe_net",  NULL };
	int added = 0;

	/* a few "looked here, nothing" claims so the reader sees what was ruled out */
	for (const char *const *k = shown; *k && added < 4; k++) {
		const cJSON *f = find_fact(facts, *k), *first;
		bool used = false;

		if (!f)
			continue;
		for (int i = 0; best && i < best->nclaims; i++)
			used |= best->claims[i].fact == f;
		first = informative_finding(f);
		if (used || !cJSON_IsString(first))
			continue;
		report_add_evidence(report, jstr(f, "agent"), jstr(f, "tool"),
		                    cJSON_GetObjectItemCaseSensitive(f, "args"),
		                    first->valuestring);
		added++;
	}
}

void planner_conclude(const cJSON *facts, enum agent_category hint, cJSON *report)
{
	struct rules r = { .facts = facts, .hint = hint };
	const struct candidate *best = NULL;
	char summary[1024];
	int others = 0;

	rule_oom(&r);
	rule_exits(&r);
	rule_config(&r);
	rule_fs(&r);
	rule_probe_disk(&r);
	rule_bio(&r);
	rule_net(&r);
	rule_memory(&r);
	rule_cpu(&r);
	rule_runq(&r);
	rule_logs_only(&r);
	/* the best score wins; on a tie, the area the question named */
	for (int i = 0; i < r.n; i++)
		if (!best || r.all[i].score > best->score ||
		    (r.all[i].score == best->score && r.all[i].cat == hint && best->cat != hint))
			best = &r.all[i];
	if (!best) {
		report_set_root_cause(report,
		                      "no rule fired: no metric moved past its threshold, no error "
		                      "pattern spiked and no change came before",
		                      CAT_UNKNOWN, "", 0.1);
		add_checked(report, facts, NULL);
		snprintf(summary, sizeof(summary),
		         "Nothing stands out on %d sources of evidence; the problem may be "
		         "elsewhere "
		         "(a dependency on another host) or over before the window.",
		         cJSON_GetArraySize(facts));
		cJSON_ReplaceItemInObjectCaseSensitive(report, "summary",
		                                       cJSON_CreateString(summary));
		return;
	}
	report_set_root_cause(report, best->statement, best->cat, best->component,
	                      best->score > 0.95 ? 0.95 : best->score);
	for (int i = 0; i < best->nclaims; i++)
		report_add_evidence(report, jstr(best->claims[i].fact, "agent"),
		                    jstr(best->claims[i].fact, "tool"),
		                    cJSON_GetObjectItemCaseSensitive(best->claims[i].fact, "args"),
		                    best->claims[i].finding);
	/* the other candidates, weaker, as evidence too: a reader may know better */
	for (int i = 0; i < r.n; i++) {
		if (&r.all[i] == best || r.all[i].nclaims == 0 || others >= 2)
			continue;
		report_add_evidence(
		        report, jstr(r.all[i].claims[0].fact, "agent"),
		        jstr(r.all[i].claims[0].fact, "tool"),
		        cJSON_GetObjectItemCaseSensitive(r.all[i].claims[0].fact, "args"),
		        r.all[i].claims[0].finding);
		others++;
	}
	add_checked(report, facts, best);
	snprintf(summary, sizeof(summary), "Most likely %s (%s, %s). %s%s", best->statement,
	         agent_category_name(best->cat), best->component,
	         others ? "Other signals are listed as weaker evidence. " : "",
	         "Found by the offline planner's fixed rules.");
	cJSON_ReplaceItemInObjectCaseSensitive(report, "summary", cJSON_CreateString(summary));
}

/* ---- the fix ---------------------------------------------------------------------------
 * One cause here has a fix the planner proposes on its own: a file system filled by files
 * deleted while a process still holds them open. Nothing but closing them frees that
 * space, du under the mount does not see it, and stopping the holder is a call a human
 * can judge from one line. kill_process is dangerous, so the proposal is recorded as a
 * pending approval on the host that holds the space (through the relay when that is an
 * upstream host, whose own gate records it) and runs only when a person approves it. */

#define HELD_FIX_SHARE 20.0 /* a holder of a fifth of the file system is the cause */

/* The largest holder of deleted space on mp in host_probe_disk's evidence, or NULL. */
static const cJSON *space_holder(const cJSON *ev, const char *mp)
{
	const cJSON *row;

	/* rows come largest first */
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(ev, "held_by_deleted")) {
		const char *m = jstr(row, "mountpoint");
		if (m && strcmp(m, mp) == 0 && jnum(row, "share_of_fs_pct") >= HELD_FIX_SHARE &&
		    jnum(row, "pid") >= 2)
			return row;
	}
	return NULL;
}

static cJSON *relay_step(struct agent_run *run, struct llm_session *s, const char *agent,
                         const char *type, const cJSON *args);

/* An edge.call request for tool on host. */
static cJSON *edge_call_args(const char *host, const char *tool, const cJSON *args)
{
	cJSON *a = json_obj();

	json_add_str(a, "target", host);
	json_add_str(a, "tool", tool);
	json_add(a, "args", cJSON_Duplicate(args, true));
	return a;
}

/* kill_process on host (NULL: here) for the holder: the reviewer, then the gate of the host
 * that would run it. */
static void propose_kill(struct agent_run *run, struct llm_session *s, const char *host,
                         const cJSON *kill)
{
	char why[640];
	bool error;
	cJSON *a, *res, *det;
	const char *st, *id;

	if (!host) {
		free(agent_propose(run, "the offline planner", "kill_process", kill, &error));
		return;
	}
	det = json_obj();
	json_add_str(det, "tool", "kill_process");
	json_add(det, "args", cJSON_Duplicate(kill, true));
	json_add_str(det, "host", host);
	if (reviewer_check(run, "kill_process", kill, why, sizeof(why)) < 0) {
		report_add_action(run->report, "kill_process", kill, "dangerous", "denied", why);
		json_add_str(det, "status", "denied");
		json_add_str(det, "reason", why);
		timeline_add(run->tl, "reviewer", "approval", det);
		return;
	}
	a = edge_call_args(host, "kill_process", kill);
	res = relay_step(run, s, "ops", "edge.call", a);
	st = jstr(res, "status");
	id = jstr(res, "id");
	if (st && strcmp(st, "proposed") == 0 && id) {
		cJSON *acts = cJSON_GetObjectItemCaseSensitive(run->report, "actions"), *act;

		snprintf(why, sizeof(why),
		         "proposed by the offline planner; reviewed against the evidence; waits "
		         "for a human on %s",
		         host);
		report_add_action(run->report, "kill_process", kill, "dangerous", "proposed", why);
		act = cJSON_GetArrayItem(acts, cJSON_GetArraySize(acts) - 1);
		json_add_str(act, "id", id);
		json_add_str(act, "host", host);
		json_add_str(det, "status", "proposed");
		json_add_str(det, "id", id);
	} else {
		/* the far gate refused (this edge's key may not propose there), or no answer */
		snprintf(why, sizeof(why), "%s's gate did not record a proposal%s", host,
		         res ? "" : ": no answer through the relay");
		report_add_action(run->report, "kill_process", kill, "dangerous", "denied", why);
		json_add_str(det, "status", "denied");
		json_add_str(det, "reason", why);
	}
	timeline_add(run->tl, "reviewer", "approval", det);
	cJSON_Delete(res);
	cJSON_Delete(a);
}

/* After the conclusion: when it is a full file system, look for a holder of deleted space
 * there (on host, or here when host is NULL) and propose stopping it. */
static void propose_fix(struct agent_run *run, struct llm_session *s, const char *host)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(run->report, "root_cause"), *ev, *row;
	const char *comp = jstr(rc, "component"), *cat = jstr(rc, "category"), *mp = comp;
	cJSON *none = json_obj(), *a = NULL, *res = NULL, *kill;
	char finding[640], sz[32];

	if (!cat || strcmp(cat, "disk") != 0 || !comp)
		goto out;
	if (host) {
		size_t n = strlen(host);
		if (strncmp(comp, host, n) != 0 || comp[n] != ':')
			goto out;
		mp = comp + n + 1;
	}
	if (mp[0] != '/')
		goto out;
	if (host) {
		a = edge_call_args(host, "host_probe_disk", none);
		res = relay_step(run, s, "disk", "edge.call", a);
		ev = cJSON_GetObjectItemCaseSensitive(res, "evidence");
	} else if (agent_tool(run, "disk", "host_probe_disk", none, &ev) < 0) {
		goto out;
	}
	row = space_holder(ev, mp);
	/* another edge's evidence: every field is checked before it is used */
	if (!row || !jstr(row, "comm"))
		goto out;
	snprintf(sz, sizeof(sz), "%.1f MiB", jnum(row, "bytes") / (1 << 20));
	snprintf(finding, sizeof(finding),
	         "%s%spid %.0f (%s) holds %s of deleted files on %s (%.0f%% of it), such as %s: "
	         "freed only when it closes them or exits",
	         host ? host : "", host ? ": " : "", jnum(row, "pid"), jstr(row, "comm"), sz, mp,
	         jnum(row, "share_of_fs_pct"), jstr(row, "example") ? jstr(row, "example") : "?");
	report_add_evidence(run->report, "disk", host ? "edge.call" : "host_probe_disk",
	                    host ? a : none, finding);
	kill = json_obj();
	json_add_num(kill, "pid", jnum(row, "pid"));
	propose_kill(run, s, host, kill);
	cJSON_Delete(kill);
out:
	cJSON_Delete(res);
	cJSON_Delete(a);
	cJSON_Delete(none);
}

/* ---- the run ------------------------------------------------------------------------- */

static void topology_step(struct gather *g, cJSON *report)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(report, "root_cause");
	const char *comp = jstr(rc, "component"), *cat = jstr(rc, "category");
	const cJSON *ev = NULL, *first;
	cJSON *a;

	if (!comp || !*comp || !cat || strcmp(cat, "unknown") == 0 || comp[0] == '/')
		return;
	a = json_obj();
	json_add_str(a, "query", comp);
	json_add_num(a, "limit", 5);
	if (agent_tool(g->run, "network", "find_topology_node", a, &ev) == 0) {
		first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ev, "findings"), 0);
		if (cJSON_IsString(first) && !cJSON_GetObjectItemCaseSensitive(ev, "error"))
			report_add_evidence(report, "network", "find_topology_node", a,
			                    first->valuestring);
	}
	cJSON_Delete(a);
}

/* ---- 4. across hosts ------------------------------------------------------------------
 * When nothing here explains the question (no rule fired, or only a log spike), the cause
 * is likely a host this one depends on: the relay's topology upstream of this host (up to
 * WALK_HOPS hops, nearest first), and on each of those hosts the same metric questions,
 * asked with edge.call and run by that host's own gate. Each relay request is a step of
 * the timeline like a local tool call, so the evidence names the edge.call it came from. */

#define WALK_BELOW     0.6 /* weaker here (CPU on a busy host, a log spike alone, none): look further */
#define WALK_HOPS      2    /* web -> api -> db: two hops from the alerting host */
#define WALK_HOSTS_MAX 4    /* hosts asked, nearest first */
#define WALK_OPEN_MS   1500 /* the relay session; the rest of the deadline is the walk's */

/* One relay request as a timeline step (tool_call, then tool_result with a digest);
 * the reply, redacted, or NULL (in the timeline as failed, with why; *ret_err, when given,
 * gets the error, 0 on success). */
static cJSON *relay_step_err(struct agent_run *run, struct llm_session *s, const char *agent,
                             const char *type, const cJSON *args, int *ret_err)
{
	int64_t left = run->deadline_ms - mono_ms(), t0 = mono_ms();
	struct diag d = { 0 };
	cJSON *res = NULL, *det;
	const cJSON *f;
	int r;

	if (ret_err)
		*ret_err = -ETIMEDOUT;
	if (run->steps >= run->max_steps || left <= 0)
		return NULL;
	run->steps++;
	det = json_obj();
	json_add_str(det, "tool", type);
	json_add(det, "args", cJSON_Duplicate(args, true));
	timeline_add(run->tl, agent, "tool_call", cJSON_Duplicate(det, true));
	r = llm_call(s, type, args, left, &res, &d);
	if (r == 0)
		redact_json(res);
	f = cJSON_GetArrayItem(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "evidence"),
	                                         "findings"),
	        0);
	json_add_str(det, "status", r < 0 ? "failed" : "executed");
	json_add_str(det, "digest", r < 0 ? d.msg : cJSON_IsString(f) ? f->valuestring : "");
	json_add_num(det, "duration_ms", (double)(mono_ms() - t0));
	timeline_add(run->tl, agent, "tool_result", det);
	if (ret_err)
		*ret_err = r < 0 ? r : 0;
	return r < 0 ? NULL : res;
}

static cJSON *relay_step(struct agent_run *run, struct llm_session *s, const char *agent,
                         const char *type, const cJSON *args)
{
	return relay_step_err(run, s, agent, type, args, NULL);
}

/* A host upstream that is not connected right now (its tunnel restarting, its daemon
 * killed and brought back) is asked again for a few seconds before the walk gives up on
 * it: a restart takes a second or two, and the host it skips may be the one at fault. */
#define WALK_RECONNECT_MS ((int64_t)10000)
#define WALK_RETRY_MS     ((int64_t)1500)

static cJSON *remote_step(struct gather *g, struct llm_session *s, const char *agent,
                          const cJSON *args, bool *ret_away)
{
	int64_t until = mono_ms() + WALK_RECONNECT_MS;
	cJSON *res;
	int r;

	for (;;) {
		res = relay_step_err(g->run, s, agent, "edge.call", args, &r);
		if (r != -EHOSTUNREACH) {
			*ret_away = false;
			return res;
		}
		if (mono_ms() + WALK_RETRY_MS > until ||
		    g->run->deadline_ms - mono_ms() < 2 * WALK_RETRY_MS)
			break;
		log_info("walk: %s is not connected to the relay; asking again shortly",
		         jstr(args, "target"));
		llm_pause(s, WALK_RETRY_MS);
	}
	*ret_away = true;
	return NULL;
}

/* The facts of one remote host: the local metric questions, through edge.call. */
static cJSON *remote_facts(struct gather *g, struct llm_session *s, const cJSON *local,
                           const char *host)
{
	static const char *const keys[] = { "exits",    "oom",       "fs_used", "retrans",
		                            "connfail", "mem_avail", NULL };
	cJSON *facts = json_arr();
	bool away = false;

	for (const char *const *k = keys; *k; k++) {
		const cJSON *lf = find_fact(local, *k);
		cJSON *a, *res, *f;

		if (!lf || strcmp(jstr(lf, "tool"), "query_metrics") != 0)
			continue;
		a = json_obj();
		json_add_str(a, "target", host);
		json_add_str(a, "tool", "query_metrics");
		json_add(a, "args",
		         cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(lf, "args"), true));
		res = remote_step(g, s, jstr(lf, "agent"), a, &away);
		if (away) { /* not back within WALK_RECONNECT_MS: its other questions would fail too */
			cJSON_Delete(a);
			break;
		}
		if (!res || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(res, "evidence"))) {
			cJSON_Delete(res);
			cJSON_Delete(a);
			continue;
		}
		f = json_obj();
		json_add_str(f, "agent", jstr(lf, "agent"));
		json_add_str(f, "tool", "edge.call");
		json_add(f, "args", a);
		json_add_str(f, "key", *k);
		json_add(f, "evidence", cJSON_DetachItemFromObjectCaseSensitive(res, "evidence"));
		json_push(facts, f);
		cJSON_Delete(res);
	}
	return facts;
}

static enum agent_category category_of(const char *name)
{
	for (int i = 0; i < _CAT_MAX; i++)
		if (name && strcmp(agent_category_name((enum agent_category)i), name) == 0)
			return (enum agent_category)i;
	return CAT_UNKNOWN;
}

/* The remote host's conclusion becomes the report's: named for that host, with its
 * evidence (each an edge.call of the timeline) and the topology that led there. */
static void adopt_remote(struct agent_run *run, const cJSON *rep, const char *host,
                         const cJSON *path, const cJSON *topo_args)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause"), *ev;
	char stmt[640], comp[192], *hops = json_print(path, false);

	snprintf(stmt, sizeof(stmt), "%s: %s (upstream of %s, hosts asked: %s)", host,
	         jstr(rc, "statement"), run->conf->name, hops);
	snprintf(comp, sizeof(comp), "%s:%s", host, jstr(rc, "component"));
	report_set_root_cause(run->report, stmt, category_of(jstr(rc, "category")), comp,
	                      jnum(rc, "confidence"));
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(rep, "evidence")) {
		report_add_evidence(run->report, jstr(ev, "agent"), jstr(ev, "tool"),
		                    cJSON_GetObjectItemCaseSensitive(ev, "args"),
		                    jstr(ev, "finding"));
	}
	if (topo_args) {
		snprintf(stmt, sizeof(stmt),
		         "the relay's topology: %s depends on %s (hosts asked: %s)",
		         run->conf->name, host, hops);
		report_add_evidence(run->report, "network", "topology.expand", topo_args, stmt);
	}
	snprintf(stmt, sizeof(stmt), "Most likely on %s, which %s depends on: %s", host,
	         run->conf->name,
	         cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "summary")));
	cJSON_ReplaceItemInObjectCaseSensitive(run->report, "summary", cJSON_CreateString(stmt));
	free(hops);
}

/* Conclude on the facts here, or, when they explain nothing, on the first upstream host
 * whose facts do: its cause becomes the report's, named "HOST: ..." and "HOST:component". */
static bool conclude_walking(struct gather *g, enum agent_category hint)
{
	struct agent_run *run = g->run;
	const struct edge_conf *c = run->conf;
	struct llm_session *s = NULL;
	struct diag d = { 0 };
	cJSON *probe, *a, *topo = NULL, *path = NULL;
	const cJSON *n;
	double local_conf;
	int asked = 0;
	bool found = false;

	probe = report_new("", c->name, "offline", 0);
	planner_conclude(g->facts, hint, probe);
	local_conf = jnum(cJSON_GetObjectItemCaseSensitive(probe, "root_cause"), "confidence");
	cJSON_Delete(probe);
	if (!(local_conf < WALK_BELOW) || !c->relay_url || !*c->relay_url ||
	    run->deadline_ms - mono_ms() < WALK_OPEN_MS || llm_open(c, WALK_OPEN_MS, &s, &d) < 0) {
		planner_conclude(g->facts, hint, run->report);
		return false;
	}
	a = json_obj();
	json_add_str(a, "node", c->name);
	json_add_num(a, "hops", WALK_HOPS);
	json_add_str(a, "direction", "upstream");
	topo = relay_step(run, s, "network", "topology.expand", a);
	path = json_arr();
	/* nearest first: one hop, then two (the relay lists nodes in its own order) */
	for (int h = 1; h <= WALK_HOPS; h++) {
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(topo, "nodes")) {
			const char *id = jstr(n, "id"), *host;
			cJSON *facts, *rep;
			const cJSON *rc;

			if (!id || strncmp(id, "host:", 5) != 0 || jnum(n, "hops") != h)
				continue;
			host = id + 5;
			if (strcmp(host, c->name) == 0 || asked++ >= WALK_HOSTS_MAX)
				continue;
			json_push(path, cJSON_CreateString(host));
			facts = remote_facts(g, s, g->facts, host);
			rep = report_new("", host, "offline", 0);
			planner_conclude(facts, hint, rep);
			rc = cJSON_GetObjectItemCaseSensitive(rep, "root_cause");
			if (jnum(rc, "confidence") > local_conf) {
				adopt_remote(run, rep, host, path, topo ? a : NULL);
				propose_fix(run, s, host);
				found = true;
			}
			cJSON_Delete(rep);
			cJSON_Delete(facts);
			if (found)
				goto out;
		}
	}
	planner_conclude(g->facts, hint, run->report);
out:
	cJSON_Delete(path);
	cJSON_Delete(topo);
	cJSON_Delete(a);
	llm_close(s);
	return found;
}

int planner_run(struct agent_run *run, enum agent_category hint)
{
	const struct edge_conf *c = run->conf;
	struct gather g = { .run = run, .facts = json_arr() };
	int64_t interval_s = c->collect_interval_ms / 1000;
	cJSON *a;

	g.minutes = (int)(c->agent_window_ms / 60000);
	if (g.minutes < 1)
		g.minutes = 1;
	/* about 120 points per series, never finer than the collection interval */
	g.step_s = g.minutes * 60 / 120;
	if (g.step_s < interval_s)
		g.step_s = (int)interval_s;
	if (g.step_s < 1)
		g.step_s = 1;
	g.rate_s = (int)(3 * interval_s > 10 ? 3 * interval_s : 10);

	/* 1. what runs now (live, works without history), and which metrics moved */
	a = json_obj();
	json_add_str(a, "sort", "cpu");
	json_add_num(a, "limit", 15);
	add_fact(&g, "ops", "list_processes", a, "processes");
	metric_rate(&g, "sre", "cpu_busy",
	            "sum(rate(ongrid_cpu_seconds_total{mode!~\"idle|iowait\"}[R])) / "
	            "sum(rate(ongrid_cpu_seconds_total[R]))");
	metric_rate(&g, "sre", "proc_cpu",
	            "sum by (comm) (rate(ongrid_process_cpu_seconds_total[R]))");
	metric(&g, "sre", "oom", "ongrid_oom_kills_total");
	metric(&g, "disk", "fs_used",
	       "1 - ongrid_filesystem_avail_bytes / ongrid_filesystem_size_bytes");
	metric(&g, "ops", "exits", "ongrid_process_exits_total{code!=\"0\"}");
	metric_rate(&g, "network", "retrans",
	            "sum by (peer) (rate(ongrid_tcp_retransmits_total[R]))");
	metric(&g, "network", "connfail", "sum by (peer) (ongrid_tcp_connect_failures_total)");
	metric(&g, "sre", "mem_avail", "ongrid_memory_available_bytes / ongrid_memory_total_bytes");
	/* 2. log patterns that are new or spiked */
	a = json_obj();
	json_add_str(a, "mode", "changed");
	json_add_num(a, "minutes", g.minutes);
	json_add_num(a, "limit", 10);
	add_fact(&g, "ops", "log_patterns", a, "log_patterns");
	/* 3. the kernel's latency tails */
	metric_rate(&g, "disk", "bio_p99",
	            "histogram_quantile(0.99, sum by (le, disk) "
	            "(rate(ongrid_bio_latency_seconds_bucket[R])))");
	metric_rate(&g, "sre", "runq_p99",
	            "histogram_quantile(0.99, sum by (le) "
	            "(rate(ongrid_runq_latency_seconds_bucket[R])))");
	/* 5. changes before the onset (the tool may not be on this edge) */
	a = json_obj();
	json_add_num(a, "minutes", g.minutes);
	add_fact(&g, "ops", "query_change_events", a, "changes");
	/* without history, the live host probes stand in for the metrics; each measures for a
	 * second or two, so only those that fit in what is left of the deadline run */
	if (!find_fact(g.facts, "cpu_busy")) {
		static const struct {
			const char *agent, *tool, *key;
		} probes[] = {
			{ "disk", "host_probe_disk", "probe_disk" },
			{ "sre", "host_probe_cpu", "probe_cpu" },
			{ "sre", "host_probe_memory", "probe_memory" },
			{ "network", "host_probe_net", "probe_net" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
			if (run->deadline_ms - mono_ms() >= PROBE_COST_MS)
				add_fact(&g, probes[i].agent, probes[i].tool, json_obj(),
				         probes[i].key);
	}
	/* 6. conclude, walking to the hosts upstream when nothing here explains it; then 4.
	 * the local topology around a local suspect, for the reader */
	if (!conclude_walking(&g, hint)) {
		topology_step(&g, run->report);
		propose_fix(run, NULL, NULL);
	}
	cJSON_Delete(g.facts);
	return 0;
}
