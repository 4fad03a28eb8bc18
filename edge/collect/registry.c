/* registry.c - the one list of collectors, and the lifecycle of a set of them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edge/collect/bpf_common.h"
#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/banned.h"

/* Every collector, in the order status lists them. Add new ones here. */
static const struct collector *const all[] = {
	/* procfs: always available, and the fallbacks the eBPF collectors name */
	&cpu_collector,
	&pressure_collector,
	&memory_collector,
	&disk_collector,
	&filesystem_collector,
	&net_collector,
	&netstat_collector,
	&proc_collector,
	/* eBPF: each names the procfs collector above that covers for it when it is off */
	&runqlat_collector,
	&biolatency_collector,
	&tcp_collector,
	&procexec_collector,
	&oomkill_collector,
};

const struct collector *const *collectors_all(size_t *ret_n)
{
	*ret_n = sizeof(all) / sizeof(all[0]);
	return all;
}

static bool in_csv(const char *csv, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = csv; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static bool known(const char *name)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && strcmp(all[i]->name, name) == 0)
			return true;
	return false;
}

static int check_names(const char *csv, const char *what, struct diag *d)
{
	char name[64];

	for (const char *p = csv; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), p);
		if (!known(name))
			return diag_set(d, -EINVAL, "%s: unknown collector '%s'", what, name);
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int collector_set_start(struct collector_set *set, const struct collect_env *env, const char *only,
                        const struct conf_strlist *disabled, struct diag *d)
{
	int r;

	memset(set, 0, sizeof(*set));
	if (only && (r = check_names(only, "--only", d)) < 0)
		return r;
	for (size_t i = 0; disabled && i < disabled->n; i++)
		if (!known(disabled->v[i]))
			return diag_set(d, -EINVAL, "collect.disable: unknown collector '%s'",
			                disabled->v[i]);
	set->slots = xcalloc(sizeof(all) / sizeof(all[0]), sizeof(*set->slots));
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const struct collector *c = all[i];
		struct collector_slot *s;
		struct diag why = { 0 };
		bool off = false;

		if (!c)
			continue;
		s = &set->slots[set->n++];
		s->c = c;
		if (only && !in_csv(only, c->name)) {
			snprintf(s->why, sizeof(s->why), "not selected");
			continue;
		}
		for (size_t j = 0; disabled && j < disabled->n; j++)
			off |= strcmp(disabled->v[j], c->name) == 0;
		if (off) {
			snprintf(s->why, sizeof(s->why),
			         "disabled in configuration (collect.disable)");
			continue;
		}
		r = c->start(env, &s->state, &why);
		if (r < 0) {
			snprintf(s->why, sizeof(s->why), "%s", why.msg[0] ? why.msg : strerror(-r));
			log_info("collector %s is off: %s", c->name, s->why);
			continue;
		}
		s->on = true;
	}
	return 0;
}

void collector_set_collect(struct collector_set *set, struct snapshot *out, int64_t now_ms)
{
	for (size_t i = 0; i < set->n; i++) {
		struct collector_slot *s = &set->slots[i];
		int64_t t0;

		if (!s->on)
			continue;
		t0 = mono_ns();
		if (s->c->collect(s->state, out, now_ms) < 0)
			s->errors++;
		s->rounds++;
		s->last_ms = now_ms;
		s->last_duration_us = (mono_ns() - t0) / 1000;
	}
}

cJSON *collector_set_json(const struct collector_set *set)
{
	cJSON *arr = json_arr();

	for (size_t i = 0; i < set->n; i++) {
		const struct collector_slot *s = &set->slots[i];
		cJSON *o = json_obj();
		json_add_str(o, "name", s->c->name);
		json_add_str(o, "kind", s->c->kind);
		json_add_str(o, "summary", s->c->summary);
		json_add_bool(o, "on", s->on);
		if (!s->on)
			json_add_str(o, "why", s->why);
		if (s->c->fallback)
			json_add_str(o, "fallback", s->c->fallback);
		json_add_num(o, "rounds", (double)s->rounds);
		json_add_num(o, "errors", (double)s->errors);
		json_add_num(o, "last_duration_us", (double)s->last_duration_us);
		json_push(arr, o);
	}
	return arr;
}

void collector_set_stop(struct collector_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->slots[i].on && set->slots[i].c->stop)
			set->slots[i].c->stop(set->slots[i].state);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}
