/* test_procfs.c - the procfs parsers on fixture files (tests/fixtures/proc/), including
 * malformed ones: good lines still count, bad ones are reported, nothing crashes. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/collect/procfs.h"
#include "shared/fsutil.h"

static char fixture_dir[PATH_MAX];

/* Fixtures live in the source tree; find it from the cwd or from the binary's place
 * (build/san/tests/test_procfs). */
static void find_fixtures(void)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (access("tests/fixtures/proc/stat", R_OK) == 0) {
		snprintf(fixture_dir, sizeof(fixture_dir), "tests/fixtures/proc");
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/../../../tests/fixtures/proc", dirname(exe));
}

static char *load(const char *name)
{
	char path[PATH_MAX + 64];
	char *text;
	size_t len;

	if (!fixture_dir[0])
		find_fixtures();
	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	assert_int_equal(read_file_max(path, 1 << 20, &text, &len), 0);
	return text;
}

/* The value of the sample name{l1=v1[,l2=v2]}, or NAN when absent. */
static double find(const struct snapshot *s, const char *name, const char *l1, const char *v1,
                   const char *l2, const char *v2)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_sample *x = &s->samples[i];
		size_t want = (l1 ? 1 : 0) + (l2 ? 1 : 0), hit = 0;
		if (strcmp(x->name, name) != 0 || x->nlabels != want)
			continue;
		for (size_t j = 0; j < x->nlabels; j++)
			if ((l1 && strcmp(x->labels[j].name, l1) == 0 &&
			     strcmp(x->labels[j].value, v1) == 0) ||
			    (l2 && strcmp(x->labels[j].name, l2) == 0 &&
			     strcmp(x->labels[j].value, v2) == 0))
				hit++;
		if (hit == want)
			return x->value;
	}
	return NAN;
}

static double find0(const struct snapshot *s, const char *name)
{
	return find(s, name, NULL, NULL, NULL, NULL);
}

static void stat_gives_seconds_per_mode_total_and_per_cpu(void **state)
{
	char *t = load("stat");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_stat(t, 100, true, &s), 0);
	assert_float_equal(find(&s, "ongrid_cpu_seconds_total", "mode", "user", NULL, NULL), 100,
	                   1e-9);
	assert_float_equal(find(&s, "ongrid_cpu_seconds_total", "mode", "idle", NULL, NULL), 800,
	                   1e-9);
	assert_float_equal(find(&s, "ongrid_cpu_seconds_total", "mode", "steal", NULL, NULL), 0.5,
	                   1e-9);
	assert_float_equal(find(&s, "ongrid_cpu_core_seconds_total", "cpu", "1", "mode", "system"),
	                   15, 1e-9);
	assert_float_equal(find0(&s, "ongrid_cpus"), 2, 0);
	/* per CPU: user, system, iowait and idle only */
	assert_true(isnan(find(&s, "ongrid_cpu_core_seconds_total", "cpu", "1", "mode", "steal")));
	assert_float_equal(find(&s, "ongrid_cpu_core_seconds_total", "cpu", "0", "mode", "iowait"),
	                   2.5, 1e-9);
	assert_float_equal(find0(&s, "ongrid_context_switches_total"), 414133, 0);
	assert_float_equal(find0(&s, "ongrid_forks_total"), 14426, 0);
	assert_float_equal(find0(&s, "ongrid_procs_running"), 3, 0);
	assert_float_equal(find0(&s, "ongrid_procs_blocked"), 1, 0);
	assert_float_equal(find0(&s, "ongrid_interrupts_total"), 244684, 0);
	/* guest time is inside user already: no mode for it */
	assert_true(isnan(find(&s, "ongrid_cpu_seconds_total", "mode", "guest", NULL, NULL)));
	snapshot_release(&s);
	free(t);
}

static void stat_malformed_keeps_good_lines_and_reports(void **state)
{
	char *t = load("stat.malformed");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_stat(t, 100, true, &s), -EPROTO);
	assert_float_equal(find(&s, "ongrid_cpu_seconds_total", "mode", "user", NULL, NULL), 100,
	                   1e-9);
	assert_float_equal(find0(&s, "ongrid_procs_running"), 7, 0);
	assert_true(isnan(find0(&s, "ongrid_context_switches_total")));
	snapshot_release(&s);
	free(t);
}

static void stat_without_cpu_line_is_an_error(void **state)
{
	char t[] = "ctxt 5\n";
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_stat(t, 100, false, &s), -EPROTO);
	snapshot_release(&s);
}

static void loadavg_gives_three_loads_and_threads(void **state)
{
	char *t = load("loadavg");
	char bad[] = "0.5 x 2\n";
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_loadavg(t, &s), 0);
	assert_float_equal(find0(&s, "ongrid_load1"), 0.5, 1e-12);
	assert_float_equal(find0(&s, "ongrid_load5"), 1.25, 1e-12);
	assert_float_equal(find0(&s, "ongrid_load15"), 2, 1e-12);
	assert_float_equal(find0(&s, "ongrid_threads"), 456, 0);
	assert_int_equal(procfs_parse_loadavg(bad, &s), -EPROTO);
	snapshot_release(&s);
	free(t);
}

static void pressure_totals_in_seconds_and_avg10_as_ratio(void **state)
{
	char *t = load("pressure_io");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_pressure(t, "io", &s), 0);
	assert_float_equal(find0(&s, "ongrid_pressure_io_some_seconds_total"), 4.706002, 1e-9);
	assert_float_equal(find0(&s, "ongrid_pressure_io_full_seconds_total"), 4.432328, 1e-9);
	assert_float_equal(find0(&s, "ongrid_pressure_io_some_avg10"), 0.015, 1e-12);
	assert_float_equal(find0(&s, "ongrid_pressure_io_full_avg10"), 0.0025, 1e-12);
	snapshot_release(&s);
	free(t);
}

static void pressure_malformed_is_reported_and_unknown_resource_refused(void **state)
{
	char *t = load("pressure.malformed");
	char ok[] = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n";
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_pressure(t, "memory", &s), -EPROTO);
	assert_int_equal(s.n, 0);
	assert_int_equal(procfs_parse_pressure(ok, "irq-nope", &s), -EINVAL);
	snapshot_release(&s);
	free(t);
}

static void meminfo_converts_kib_to_bytes_and_counts_stay_counts(void **state)
{
	char *t = load("meminfo");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_meminfo(t, &s), 0);
	assert_float_equal(find0(&s, "ongrid_memory_total_bytes"), 24683656.0 * 1024, 0);
	assert_float_equal(find0(&s, "ongrid_memory_available_bytes"), 24307652.0 * 1024, 0);
	assert_float_equal(find0(&s, "ongrid_swap_free_bytes"), 1048000.0 * 1024, 0);
	assert_float_equal(find0(&s, "ongrid_memory_hugepages"), 4, 0);
	snapshot_release(&s);
	free(t);
}

static void meminfo_malformed_keeps_good_lines(void **state)
{
	char *t = load("meminfo.malformed");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_meminfo(t, &s), -EPROTO);
	assert_float_equal(find0(&s, "ongrid_memory_total_bytes"), 24683656.0 * 1024, 0);
	assert_true(isnan(find0(&s, "ongrid_memory_cached_bytes"))); /* "MB" is not a unit */
	assert_true(isnan(find0(&s, "ongrid_swap_total_bytes")));    /* negative */
	snapshot_release(&s);
	free(t);
}

static void vmstat_swap_in_bytes_faults_and_oom_kills(void **state)
{
	char *t = load("vmstat");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_vmstat(t, 4096, &s), 0);
	assert_float_equal(find0(&s, "ongrid_swap_in_bytes_total"), 10 * 4096, 0);
	assert_float_equal(find0(&s, "ongrid_swap_out_bytes_total"), 20 * 4096, 0);
	assert_float_equal(find0(&s, "ongrid_memory_major_faults_total"), 2056, 0);
	assert_float_equal(find0(&s, "ongrid_memory_oom_kills_total"), 3, 0);
	snapshot_release(&s);
	free(t);
}

static void diskstats_bytes_and_seconds_idle_loop_and_ram_skipped(void **state)
{
	char *t = load("diskstats");
	struct snapshot s;
	uint64_t trunc = 99;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_diskstats(t, &s, &trunc), 0);
	assert_int_equal(trunc, 0);
	assert_float_equal(find(&s, "ongrid_disk_reads_completed_total", "disk", "vda", NULL, NULL),
	                   45089, 0);
	assert_float_equal(find(&s, "ongrid_disk_read_bytes_total", "disk", "vda", NULL, NULL),
	                   4045658.0 * 512, 0);
	assert_float_equal(find(&s, "ongrid_disk_written_bytes_total", "disk", "vda", NULL, NULL),
	                   1788976.0 * 512, 0);
	assert_float_equal(find(&s, "ongrid_disk_io_time_seconds_total", "disk", "vda", NULL, NULL),
	                   8.384, 1e-9);
	assert_float_equal(find(&s, "ongrid_disk_io_now", "disk", "vda", NULL, NULL), 2, 0);
	assert_float_equal(
	        find(&s, "ongrid_disk_flushes_completed_total", "disk", "vda", NULL, NULL), 1207,
	        0);
	/* an old-format line (11 statistics) has no discard or flush series */
	assert_true(
	        isnan(find(&s, "ongrid_disk_flushes_completed_total", "disk", "vda1", NULL, NULL)));
	assert_float_equal(
	        find(&s, "ongrid_disk_reads_completed_total", "disk", "vda1", NULL, NULL), 100, 0);
	/* a loop device that did I/O stays; idle loop and ram devices are noise */
	assert_false(
	        isnan(find(&s, "ongrid_disk_reads_completed_total", "disk", "loop1", NULL, NULL)));
	assert_true(
	        isnan(find(&s, "ongrid_disk_reads_completed_total", "disk", "loop0", NULL, NULL)));
	assert_true(
	        isnan(find(&s, "ongrid_disk_reads_completed_total", "disk", "ram0", NULL, NULL)));
	snapshot_release(&s);
	free(t);
}

static void diskstats_malformed_lines_are_skipped(void **state)
{
	char *t = load("diskstats.malformed");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_diskstats(t, &s, NULL), -EPROTO);
	assert_true(
	        isnan(find(&s, "ongrid_disk_reads_completed_total", "disk", "vda", NULL, NULL)));
	assert_true(
	        isnan(find(&s, "ongrid_disk_reads_completed_total", "disk", "vdb", NULL, NULL)));
	assert_float_equal(find(&s, "ongrid_disk_reads_completed_total", "disk", "vdc", NULL, NULL),
	                   1, 0);
	snapshot_release(&s);
	free(t);
}

static void diskstats_caps_the_number_of_devices(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	struct snapshot s;
	uint64_t trunc = 0;

	(void)state;
	for (int i = 0; i < PROCFS_MAX_DISKS + 10; i++)
		assert_int_equal(buf_addf(&b, "8 %d sd%d 1 0 0 0 1 0 0 0 0 0 0\n", i, i), 0);
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_diskstats(b.data, &s, &trunc), 0);
	assert_int_equal(trunc, 10);
	assert_true(
	        isnan(find(&s, "ongrid_disk_reads_completed_total", "disk", "sd260", NULL, NULL)));
	snapshot_release(&s);
	buf_release(&b);
}

static void netdev_counters_per_interface(void **state)
{
	char *t = load("net_dev");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_netdev(t, &s, NULL), 0);
	assert_float_equal(
	        find(&s, "ongrid_net_receive_bytes_total", "interface", "eth0", NULL, NULL),
	        87229048, 0);
	assert_float_equal(
	        find(&s, "ongrid_net_receive_errors_total", "interface", "eth0", NULL, NULL), 1, 0);
	assert_float_equal(
	        find(&s, "ongrid_net_receive_drops_total", "interface", "eth0", NULL, NULL), 2, 0);
	assert_float_equal(
	        find(&s, "ongrid_net_transmit_drops_total", "interface", "eth0", NULL, NULL), 4, 0);
	assert_float_equal(
	        find(&s, "ongrid_net_transmit_packets_total", "interface", "lo", NULL, NULL), 29,
	        0);
	snapshot_release(&s);
	free(t);
}

static void netdev_malformed_is_reported(void **state)
{
	char *t = load("net_dev.malformed");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_netdev(t, &s, NULL), -EPROTO);
	assert_true(
	        isnan(find(&s, "ongrid_net_receive_bytes_total", "interface", "eth0", NULL, NULL)));
	assert_float_equal(
	        find(&s, "ongrid_net_receive_bytes_total", "interface", "eth1", NULL, NULL), 1, 0);
	snapshot_release(&s);
	free(t);
}

static void snmp_and_netstat_pick_the_counters_by_column_name(void **state)
{
	char *t = load("snmp"), *t2 = load("netstat");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_snmp(t, &s), 0);
	assert_int_equal(procfs_parse_snmp(t2, &s), 0);
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_retrans_segs_total"), 7, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_active_opens_total"), 14, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_estab_resets_total"), 3, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_out_rsts_total"), 5, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_curr_estab"), 4, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_udp_rcvbuf_errors_total"), 3, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_listen_overflows_total"), 42, 0);
	assert_float_equal(find0(&s, "ongrid_netstat_ip_in_octets_total"), 123456, 0);
	snapshot_release(&s);
	free(t);
	free(t2);
}

static void snmp_mismatched_pairs_are_reported(void **state)
{
	char *t = load("snmp.malformed");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_snmp(t, &s), -EPROTO);
	/* "Tcp: 1 x 5" still yields RetransSegs = 5 after resynchronising */
	assert_float_equal(find0(&s, "ongrid_netstat_tcp_retrans_segs_total"), 5, 0);
	assert_true(isnan(find0(&s, "ongrid_netstat_tcp_active_opens_total")));
	snapshot_release(&s);
	free(t);
}

static void sockstat_counts_and_memory_in_bytes(void **state)
{
	char *t = load("sockstat");
	char bad[] = "TCP: inuse x\nUDP inuse\n";
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_sockstat(t, 4096, &s), 0);
	assert_float_equal(find0(&s, "ongrid_sockstat_sockets_used"), 21, 0);
	assert_float_equal(find0(&s, "ongrid_sockstat_tcp_time_wait"), 5, 0);
	assert_float_equal(find0(&s, "ongrid_sockstat_tcp_orphan"), 1, 0);
	assert_float_equal(find0(&s, "ongrid_sockstat_tcp_mem_bytes"), 12 * 4096, 0);
	assert_float_equal(find0(&s, "ongrid_sockstat_udp_inuse"), 2, 0);
	assert_int_equal(procfs_parse_sockstat(bad, 4096, &s), -EPROTO);
	snapshot_release(&s);
	free(t);
}

static void softnet_hex_columns_per_cpu_with_cpu_id(void **state)
{
	char *t = load("softnet_stat");
	struct snapshot s;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_softnet(t, &s), -EPROTO); /* the "zz" row */
	assert_float_equal(find(&s, "ongrid_net_softnet_processed_total", "cpu", "0", NULL, NULL),
	                   1023, 0);
	assert_float_equal(find(&s, "ongrid_net_softnet_dropped_total", "cpu", "0", NULL, NULL), 2,
	                   0);
	assert_float_equal(
	        find(&s, "ongrid_net_softnet_times_squeezed_total", "cpu", "0", NULL, NULL), 16, 0);
	/* the second row names CPU 3 in its 13th column (an offline CPU was skipped) */
	assert_float_equal(find(&s, "ongrid_net_softnet_processed_total", "cpu", "3", NULL, NULL),
	                   0xe2f, 0);
	snapshot_release(&s);
	free(t);
}

static void softnet_on_a_big_host_is_one_sum(void **state)
{
	struct buf b = BUF_INIT(1 << 20);
	struct snapshot s;

	(void)state;
	for (int i = 0; i < PROCFS_MAX_PER_CPU + 1; i++)
		assert_int_equal(buf_addf(&b, "00000010 00000001 00000000\n"), 0);
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_softnet(b.data, &s), 0);
	assert_int_equal(s.n, 3);
	assert_float_equal(find(&s, "ongrid_net_softnet_dropped_total", "cpu", "all", NULL, NULL),
	                   PROCFS_MAX_PER_CPU + 1, 0);
	snapshot_release(&s);
	buf_release(&b);
}

static void mounts_skip_pseudo_network_and_container_and_keep_last(void **state)
{
	char *t = load("mounts");
	struct procfs_mount m[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(procfs_parse_mounts(t, m, 8, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].mountpoint, "/");
	assert_string_equal(m[0].fstype, "ext4");
	assert_string_equal(m[1].mountpoint, "/run");
	assert_string_equal(m[2].mountpoint, "/mnt/my disk"); /* \040 decoded */
	assert_true(m[2].readonly);
	assert_false(m[0].readonly);
	free(t);
}

static void mounts_cap_counts_the_rest(void **state)
{
	char *t = load("mounts");
	struct procfs_mount m[2];
	uint64_t trunc = 0;
	size_t n = 0;

	(void)state;
	assert_int_equal(procfs_parse_mounts(t, m, 2, &n, &trunc), 0);
	assert_int_equal(n, 2);
	assert_int_equal(trunc, 1);
	free(t);
}

static void pidstat_reads_comm_with_spaces_and_parentheses(void **state)
{
	char *t = load("pid_stat"), *t2 = load("pid_stat.parens"), *t3 = load("pid_stat.malformed");
	struct procfs_pidstat ps;

	(void)state;
	assert_int_equal(procfs_parse_pidstat(t, &ps), 0);
	assert_string_equal(ps.comm, "tmux: server");
	assert_int_equal(ps.state, 'S');
	assert_int_equal(ps.utime, 150);
	assert_int_equal(ps.stime, 75);
	assert_int_equal(ps.threads, 3);
	assert_int_equal(ps.start_ticks, 100);
	assert_int_equal(ps.rss_pages, 2560);
	assert_int_equal(procfs_parse_pidstat(t2, &ps), 0);
	assert_string_equal(ps.comm, "a) b (c)");
	assert_int_equal(ps.rss_pages, 10);
	assert_int_equal(procfs_parse_pidstat(t3, &ps), -EPROTO);
	free(t);
	free(t2);
	free(t3);
}

static void helpers_are_strict(void **state)
{
	uint64_t v;
	char esc[] = "/a\\040b\\134c\\9";

	(void)state;
	assert_int_equal(procfs_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(procfs_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(procfs_u64("-1", &v), -EINVAL);
	assert_int_equal(procfs_u64("", &v), -EINVAL);
	procfs_unescape(esc);
	assert_string_equal(esc, "/a b\\c\\9");
}

static void parsers_survive_empty_input(void **state)
{
	char e1[] = "", e2[] = "", e3[] = "", e4[] = "", e5[] = "", e6[] = "", e7[] = "", e8[] = "",
	     e9[] = "", e10[] = "", e11[] = "";
	struct procfs_mount m[1];
	struct procfs_pidstat ps;
	struct snapshot s;
	size_t n;

	(void)state;
	snapshot_init(&s, 0);
	assert_int_equal(procfs_parse_stat(e1, 100, true, &s), -EPROTO);
	assert_int_equal(procfs_parse_loadavg(e2, &s), -EPROTO);
	assert_int_equal(procfs_parse_pressure(e3, "cpu", &s), -EPROTO);
	assert_int_equal(procfs_parse_meminfo(e4, &s), -EPROTO);
	assert_int_equal(procfs_parse_diskstats(e5, &s, NULL), 0);
	assert_int_equal(procfs_parse_netdev(e6, &s, NULL), 0);
	assert_int_equal(procfs_parse_snmp(e7, &s), 0);
	assert_int_equal(procfs_parse_mounts(e8, m, 1, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(procfs_parse_pidstat(e9, &ps), -EPROTO);
	assert_int_equal(procfs_parse_sockstat(e10, 4096, &s), 0);
	assert_int_equal(procfs_parse_softnet(e11, &s), 0);
	assert_int_equal(s.n, 0);
	snapshot_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stat_gives_seconds_per_mode_total_and_per_cpu),
		cmocka_unit_test(stat_malformed_keeps_good_lines_and_reports),
		cmocka_unit_test(stat_without_cpu_line_is_an_error),
		cmocka_unit_test(loadavg_gives_three_loads_and_threads),
		cmocka_unit_test(pressure_totals_in_seconds_and_avg10_as_ratio),
		cmocka_unit_test(pressure_malformed_is_reported_and_unknown_resource_refused),
		cmocka_unit_test(meminfo_converts_kib_to_bytes_and_counts_stay_counts),
		cmocka_unit_test(meminfo_malformed_keeps_good_lines),
		cmocka_unit_test(vmstat_swap_in_bytes_faults_and_oom_kills),
		cmocka_unit_test(diskstats_bytes_and_seconds_idle_loop_and_ram_skipped),
		cmocka_unit_test(diskstats_malformed_lines_are_skipped),
		cmocka_unit_test(diskstats_caps_the_number_of_devices),
		cmocka_unit_test(netdev_counters_per_interface),
		cmocka_unit_test(netdev_malformed_is_reported),
		cmocka_unit_test(snmp_and_netstat_pick_the_counters_by_column_name),
		cmocka_unit_test(snmp_mismatched_pairs_are_reported),
		cmocka_unit_test(sockstat_counts_and_memory_in_bytes),
		cmocka_unit_test(softnet_hex_columns_per_cpu_with_cpu_id),
		cmocka_unit_test(softnet_on_a_big_host_is_one_sum),
		cmocka_unit_test(mounts_skip_pseudo_network_and_container_and_keep_last),
		cmocka_unit_test(mounts_cap_counts_the_rest),
		cmocka_unit_test(pidstat_reads_comm_with_spaces_and_parentheses),
		cmocka_unit_test(helpers_are_strict),
		cmocka_unit_test(parsers_survive_empty_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
