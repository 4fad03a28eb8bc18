/* pressure.c - the "pressure" collector: pressure stall information (PSI) from
 * /proc/pressure/{cpu,memory,io}: how long tasks waited for CPU, memory or I/O. It is the
 * procfs view of saturation that runqlat and biolatency measure per event. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge/collect/collector.h"
#include "edge/collect/procfs.h"
#include "shared/alloc.h"
#include "shared/banned.h"

enum { PSI_CPU, PSI_MEMORY, PSI_IO, _PSI_MAX };
static const char *const resources[_PSI_MAX] = { "cpu", "memory", "io" };

#define PSI(res, kind, who)                                                               \
	{                                                                                 \
		{ "ongrid_pressure_" res "_" kind "_seconds_total", METRIC_COUNTER,       \
		  "Time " who " stalled waiting for " res " (PSI " kind " total)" },      \
		{                                                                         \
			"ongrid_pressure_" res "_" kind "_avg10", METRIC_GAUGE,           \
			        "Share of the last 10 s " who " stalled waiting for " res \
			        ", 0 to 1"                                                \
		}                                                                         \
	}
#define SOME "at least one task"
#define FULL "all non-idle tasks"

/* [resource][some=0, full=1][total=0, avg10=1] */
static const struct metric_desc psi[_PSI_MAX][2][2] = {
	{ PSI("cpu", "some", SOME), PSI("cpu", "full", FULL) },
	{ PSI("memory", "some", SOME), PSI("memory", "full", FULL) },
	{ PSI("io", "some", SOME), PSI("io", "full", FULL) },
};

int procfs_parse_pressure(char *text, const char *resource, struct snapshot *out)
{
	char *f[8], *line;
	int res = -1, r = 0, seen = 0;

	for (int i = 0; i < _PSI_MAX; i++)
		if (strcmp(resources[i], resource) == 0)
			res = i;
	if (res < 0)
		return -EINVAL;
	while ((line = procfs_next_line(&text))) {
		size_t nf = procfs_split(line, f, 8);
		const char *avg10 = NULL, *total = NULL;
		uint64_t total_us;
		double a10;
		char *end;
		int kind;

		if (nf == 0)
			continue;
		if (strcmp(f[0], "some") == 0) {
			kind = 0;
		} else if (strcmp(f[0], "full") == 0) {
			kind = 1;
		} else {
			r = -EPROTO;
			continue;
		}
		for (size_t i = 1; i < nf; i++) {
			if (strncmp(f[i], "avg10=", 6) == 0)
				avg10 = f[i] + 6;
			else if (strncmp(f[i], "total=", 6) == 0)
				total = f[i] + 6;
		}
		if (!avg10 || !total || procfs_u64(total, &total_us) < 0) {
			r = -EPROTO;
			continue;
		}
		a10 = strtod(avg10, &end);
		if (end == avg10 || *end || a10 < 0 || a10 > 100) {
			r = -EPROTO;
			continue;
		}
		snapshot_add(out, &psi[res][kind][0], NULL, 0, (double)total_us / 1e6);
		snapshot_add(out, &psi[res][kind][1], NULL, 0, a10 / 100.0);
		seen++;
	}
	return seen ? r : -EPROTO;
}

struct pressure_state {
	struct buf b;
};

static int pressure_start(const struct collect_env *env, void **ret_state, struct diag *why)
{
	struct pressure_state *st;

	(void)env;
	if (access("/proc/pressure/cpu", R_OK) < 0) {
		int e = errno;
		if (e == ENOENT)
			return diag_set(why, -ENOENT,
			                "no PSI: '/proc/pressure' is missing (kernel without "
			                "CONFIG_PSI, or booted with psi=0)");
		return diag_set(why, -e, "cannot read '/proc/pressure/cpu': %s", strerror(e));
	}
	st = xcalloc(1, sizeof(*st));
	buf_init(&st->b, 4096);
	*ret_state = st;
	return 0;
}

static int pressure_collect(void *state, struct snapshot *out, int64_t now_ms)
{
	struct pressure_state *st = state;
	char path[64];
	int r = 0;

	(void)now_ms;
	for (int i = 0; i < _PSI_MAX; i++) {
		int e;
		(void)snprintf(path, sizeof(path), "/proc/pressure/%s", resources[i]);
		e = procfs_read(path, &st->b);
		if (e == 0)
			e = procfs_parse_pressure(st->b.data, resources[i], out);
		if (e < 0)
			r = e;
	}
	return r;
}

static void pressure_stop(void *state)
{
	struct pressure_state *st = state;

	if (!st)
		return;
	buf_release(&st->b);
	free(st);
}

const struct collector pressure_collector = {
	.name = "pressure",
	.kind = "procfs",
	.summary = "pressure stall information: time tasks waited for CPU, memory and I/O",
	.start = pressure_start,
	.collect = pressure_collect,
	.stop = pressure_stop,
};
