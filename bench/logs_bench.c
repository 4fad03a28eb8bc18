/* logs_bench.c - driver for bench/logs.sh: makes the synthetic log, runs the edge's log
 * pipeline on it pinned to one core, and measures a baseline command the same way.
 *
 *   logs_bench gen FILE N           N lines of a realistic mix (web access, app errors with
 *                                   peers, JSON, slow queries), times over the last 50
 *                                   minutes, and a few needles for selective queries
 *   logs_bench ingest CONF N        index logs.paths of CONF from scratch (edge/logs/logs.h,
 *                                   the same pipeline `ongrid-edge tail` runs); prints
 *                                   lines_per_s (wall), lines_per_cpu_s and rss_kb
 *   logs_bench rate N 'CMD'         run CMD with /bin/sh; prints the same three for CMD
 *   logs_bench bytes PATH...        bytes under the paths (files or directories)
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edge/edge.h"
#include "edge/logs/logs.h"
#include "shared/clock.h"
#include "shared/banned.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static int gen(const char *path, long n)
{
	static const char *const paths[] = { "/api/v1/orders", "/api/v1/users",  "/healthz",
		                             "/static/app.js", "/api/v2/search", "/login" };
	static const char *const users[] = { "alice", "bob", "carol", "dave", "erin", "frank" };
	FILE *f = fopen(path, "w");
	int64_t now = now_ms(), t0 = now - 50LL * 60000;

	if (!f)
		return 1;
	for (long i = 0; i < n; i++) {
		int64_t t = t0 + (int64_t)((double)i / (double)n * 49.0 * 60000.0);
		char ts[40];
		uint32_t r = rnd(), k = r % 100;
		clock_format_rfc3339(ts, sizeof(ts), t - t % 1000 + (int64_t)(r % 1000));
		if (i == n / 3 || i == n / 2 || i == n * 9 / 10)
			fprintf(f,
			        "%s ERROR payment failed trace_id=4bf92f3577b34da6a3ce929d0e0e4736 "
			        "user=%s amount=%u\n",
			        ts, users[r % 6], r % 10000);
		else if (k < 55)
			fprintf(f,
			        "%s INFO 10.%u.%u.%u - - \"GET %s HTTP/1.1\" %u %u %u ms "
			        "ua=\"curl/7.%u\"\n",
			        ts, r % 256, (r >> 8) % 256, (r >> 16) % 256, paths[r % 6],
			        k < 50 ? 200u : 404u, r % 50000, r % 900, r % 90);
		else if (k < 70)
			fprintf(f,
			        "%s ERROR read tcp 10.0.%u.%u:%u->10.0.0.7:5432: read: connection "
			        "reset by peer\n",
			        ts, r % 8, (r >> 3) % 250, 30000 + r % 30000);
		else if (k < 85)
			fprintf(f,
			        "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request "
			        "served\",\"user\":\"%s\","
			        "\"status\":%u,\"latency_ms\":%u}\n",
			        ts, users[r % 6], k < 80 ? 200u : 503u, r % 2000);
		else if (k < 95)
			fprintf(f, "%s WARN slow query on table %s took %u ms rows=%u\n", ts,
			        r % 2 ? "orders" : "users", 500 + r % 5000, r % 100000);
		else
			fprintf(f, "%s DEBUG cache %s key=sess:%08x ttl=%us\n", ts,
			        r % 3 ? "hit" : "miss", rnd(), r % 3600);
	}
	return fclose(f) == 0 ? 0 : 1;
}

static long rss_kb_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
	       (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static int ingest(const char *conf_path, long n)
{
	struct edge_conf c;
	struct diag d = { 0 };
	struct logs *l;
	int64_t t0;
	double secs;
	int r;

	if (edge_conf_load(&c, conf_path))
		return 2;
	t0 = mono_ns();
	r = logs_open(&c, &l, &d);
	while (r >= 0 && (r = logs_poll(l, now_ms(), true, &d)) > 0)
		;
	if (r >= 0)
		r = logs_flush(l, now_ms(), &d);
	secs = (double)(mono_ns() - t0) / 1e9;
	if (r < 0) {
		fprintf(stderr, "logs_bench: %s\n", d.msg);
		return 1;
	}
	if ((long)logs_lines_ingested(l) != n) {
		fprintf(stderr, "logs_bench: indexed %" PRIu64 " lines, expected %ld\n",
		        logs_lines_ingested(l), n);
		return 1;
	}
	logs_close(l);
	edge_conf_release(&c);
	{
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("lines_per_s %.0f\nlines_per_cpu_s %.0f\nrss_kb %ld\nseconds %.3f\n",
		       (double)n / secs, (double)n / cpu_s(&ru), rss_kb_self(), secs);
	}
	return 0;
}

static int rate(long n, const char *cmd)
{
	int64_t t0 = mono_ns();
	struct rusage ru;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "logs_bench: '%s' failed\n", cmd);
		return 1;
	}
	printf("lines_per_s %.0f\nlines_per_cpu_s %.0f\nrss_kb %ld\n",
	       (double)n / ((double)(mono_ns() - t0) / 1e9), (double)n / cpu_s(&ru), ru.ru_maxrss);
	return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): the store directory is one level deep */
static uint64_t bytes_under(const char *path)
{
	struct stat st;
	uint64_t total = 0;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_size;
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[4096];
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		total += bytes_under(sub);
	}
	closedir(d);
	return total;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "ingest"))
		return ingest(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "rate"))
		return rate(strtol(argv[2], NULL, 10), argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "bytes")) {
		uint64_t t = 0;
		for (int i = 2; i < argc; i++)
			t += bytes_under(argv[i]);
		printf("bytes %" PRIu64 "\n", t);
		return 0;
	}
	fprintf(stderr,
	        "usage: logs_bench gen FILE N | ingest CONF N | rate N 'CMD' | bytes PATH...\n");
	return 2;
}
