/* test_change.c - the change-event parsers: dpkg.log, apt history blocks, auth.log in both
 * timestamp styles, kernel records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "edge/change.h"

static void dpkg_lines(void **state)
{
	struct change_event ev;
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(change_parse_dpkg(
	                         "2026-11-24 10:23:45 upgrade nginx:amd64 1.22.1-9 1.22.1-10", &ev),
	                 1);
	assert_string_equal(ev.kind, "package");
	assert_string_equal(ev.subject, "nginx");
	assert_string_equal(ev.detail, "upgrade 1.22.1-9 -> 1.22.1-10");
	assert_int_equal(ev.t_ms, 1795515825000LL);
	assert_int_equal(
	        change_parse_dpkg("2026-11-24 10:23:45 install libfoo:all <none> 0.1", &ev), 1);
	assert_string_equal(ev.detail, "install 0.1");
	assert_int_equal(change_parse_dpkg("2026-11-24 10:23:46 remove libfoo:all 0.1 <none>", &ev),
	                 1);
	assert_string_equal(ev.detail, "remove 0.1");
	/* not changes */
	assert_int_equal(
	        change_parse_dpkg("2026-11-24 10:23:45 status installed nginx:amd64 1.2", &ev), 0);
	assert_int_equal(change_parse_dpkg("2026-11-24 10:23:45 startup archives unpack", &ev), 0);
	assert_int_equal(change_parse_dpkg("", &ev), 0);
	/* malformed */
	assert_int_equal(change_parse_dpkg("2026-13-24 10:23:45 install a b c", &ev), -EINVAL);
	assert_int_equal(change_parse_dpkg("garbage garbage garbage garbage", &ev), -EINVAL);
}

static void apt_block(void **state)
{
	struct change_event ev;
	(void)state;
	const char *b = "Start-Date: 2026-11-24  10:23:40\n"
	                "Commandline: apt-get install -y nginx\n"
	                "Requested-By: alice (1000)\n"
	                "Install: nginx:amd64 (1.22.1-9), libnginx:amd64 (1.22.1-9, automatic)\n"
	                "End-Date: 2026-11-24  10:23:45\n";
	assert_int_equal(change_parse_apt_block(b, &ev), 1);
	assert_string_equal(ev.subject, "apt");
	assert_non_null(
	        strstr(ev.detail, "apt-get install -y nginx (by alice (1000)); Install: nginx"));
	assert_int_equal(ev.t_ms, 1795515820000LL);
	assert_int_equal(change_parse_apt_block("Commandline: x\n", &ev), -EINVAL);
	assert_int_equal(change_parse_apt_block("\n", &ev), 0);
}

static void auth_lines(void **state)
{
	struct change_event ev;
	(void)state;
	assert_int_equal(
	        change_parse_auth("Nov 24 17:01:02 web1 sshd[4242]: Accepted publickey for "
	                          "alice from 10.0.0.9 port 51000 ssh2: ED25519 SHA256:x",
	                          2026, &ev),
	        1);
	assert_string_equal(ev.kind, "login");
	assert_string_equal(ev.subject, "alice");
	assert_string_equal(ev.detail, "ssh login from 10.0.0.9 (publickey)");
	assert_int_equal(ev.pid, 4242);
	assert_int_equal(change_parse_auth("2026-11-24T17:01:02.123456+00:00 web1 sudo:    bob : "
	                                   "TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/"
	                                   "systemctl restart nginx",
	                                   2026, &ev),
	                 1);
	assert_string_equal(ev.subject, "bob");
	assert_string_equal(ev.detail, "sudo /usr/bin/systemctl restart nginx");
	assert_int_equal(ev.t_ms, 1795539662123LL);
	assert_int_equal(change_parse_auth("Nov 24 17:01:02 web1 CRON[1]: pam_unix(cron:session): "
	                                   "session opened",
	                                   2026, &ev),
	                 0);
	assert_int_equal(change_parse_auth("Foo 24 17:01:02 x", 2026, &ev), -EINVAL);
}

static void kmsg_records(void **state)
{
	struct change_event ev;
	(void)state;
	assert_int_equal(change_parse_kmsg("3,1234,5000000,-;Memory cgroup out of memory: Killed "
	                                   "process 777 (java) total-vm:1kB\n",
	                                   1000000, &ev),
	                 1);
	assert_string_equal(ev.kind, "kernel");
	assert_string_equal(ev.subject, "java");
	assert_int_equal(ev.pid, 777);
	assert_string_equal(ev.detail, "memory cgroup limit: OOM kill of pid 777 (java)");
	assert_int_equal(ev.t_ms, 1005000);
	assert_int_equal(change_parse_kmsg("3,1,2000,-;blk_update_request: I/O error, dev sdb, "
	                                   "sector 42 op 0x1:(WRITE)\n",
	                                   0, &ev),
	                 1);
	assert_string_equal(ev.subject, "sdb");
	assert_int_equal(change_parse_kmsg(
	                         "6,2,3000,-;e1000e 0000:00:19.0 eth0: NIC Link is Down\n", 0, &ev),
	                 1);
	assert_string_equal(ev.subject, "eth0");
	assert_int_equal(change_parse_kmsg("6,3,4000,-;random: crng init done\n", 0, &ev), 0);
	assert_int_equal(change_parse_kmsg("no header here", 0, &ev), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dpkg_lines),
		cmocka_unit_test(apt_block),
		cmocka_unit_test(auth_lines),
		cmocka_unit_test(kmsg_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
