/* test_topo.c - /proc/net/tcp{,6} lines into sockets (the fallback when sock_diag is
 * refused), and the graph from a live scan of a listener and a connection made here. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "edge/topo.h"

static void ipv4_established_line(void **state)
{
	struct topo_sock s;
	(void)state;
	/* 127.0.0.1:8080 -> 10.0.0.7:5432, ESTABLISHED (01), inode 123456 */
	const char *line = "   3: 0100007F:1F90 0700000A:1538 01 00000000:00000000 00:00000000 "
	                   "00000000  1000        0 123456 1 0000000000000000 20 4 30 10 -1";
	assert_int_equal(topo_parse_proc_line(line, AF_INET, &s), 0);
	assert_string_equal(s.laddr, "127.0.0.1");
	assert_int_equal(s.lport, 8080);
	assert_string_equal(s.raddr, "10.0.0.7");
	assert_int_equal(s.rport, 5432);
	assert_int_equal(s.state, 1);
	assert_int_equal(s.inode, 123456);
	assert_string_equal(topo_state_name(s.state), "ESTABLISHED");
}

static void ipv6_listen_and_mapped_lines(void **state)
{
	struct topo_sock s;
	(void)state;
	const char *any = "   0: 00000000000000000000000000000000:0016 "
	                  "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
	                  "00000000     0        0 999 1 0000000000000000 100 0 0 10 0";
	assert_int_equal(topo_parse_proc_line(any, AF_INET6, &s), 0);
	assert_string_equal(s.laddr, "::");
	assert_int_equal(s.lport, 22);
	assert_string_equal(topo_state_name(s.state), "LISTEN");
	/* ::ffff:10.1.2.3 reads as 10.1.2.3 */
	const char *mapped =
	        "   1: 0000000000000000FFFF00000100007F:0050 "
	        "0000000000000000FFFF00000302010A:C350 01 00000000:00000000 00:00000000 "
	        "00000000     0        0 1000 1 0000000000000000 100 0 0 10 0";
	assert_int_equal(topo_parse_proc_line(mapped, AF_INET6, &s), 0);
	assert_string_equal(s.laddr, "127.0.0.1");
	assert_string_equal(s.raddr, "10.1.2.3");
	assert_int_equal(s.rport, 50000);
}

static void bad_lines_are_refused(void **state)
{
	struct topo_sock s;
	(void)state;
	assert_int_equal(topo_parse_proc_line("  sl  local_address rem_address   st tx_queue "
	                                      "rx_queue tr tm->when retrnsmt   uid  timeout inode",
	                                      AF_INET, &s),
	                 -EINVAL);
	assert_int_equal(topo_parse_proc_line("", AF_INET, &s), -EINVAL);
	/* an IPv6-length address in the IPv4 file */
	assert_int_equal(topo_parse_proc_line("   0: 00000000000000000000000000000000:0016 "
	                                      "00000000000000000000000000000000:0000 0A 0:0 0:0 0 "
	                                      "0 0 1",
	                                      AF_INET, &s),
	                 -EINVAL);
	/* a state past the kernel's */
	assert_int_equal(
	        topo_parse_proc_line("   3: 0100007F:1F90 0700000A:1538 FF 00000000:00000000 "
	                             "00:00000000 00000000 0 0 1",
	                             AF_INET, &s),
	        -EINVAL);
}

static void live_scan_sees_our_listener_and_connection(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct diag d = { 0 };
	struct topo *t;
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), port;
	bool listen_seen = false, connect_seen = false;
	char comm[32] = "", peer[64];
	FILE *f;
	(void)state;

	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	getsockname(l, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	f = fopen("/proc/self/comm", "r");
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_int_equal(topo_scan(&t, &d), 0);
	snprintf(peer, sizeof(peer), "127.0.0.1:%d", port);
	for (size_t i = 0; i < t->nlisten; i++)
		if (t->listen[i].port == port) {
			listen_seen = true;
			assert_int_equal(t->listen[i].pid, getpid());
			assert_string_equal(t->listen[i].process, comm);
			/* the accepted side (not yet accept()ed) is established on the port */
			assert_int_equal(t->listen[i].connections, 1);
		}
	for (size_t i = 0; i < t->nconnect; i++)
		if (strcmp(t->connect[i].peer, peer) == 0) {
			connect_seen = true;
			assert_int_equal(t->connect[i].count, 1);
			assert_int_equal(t->connect[i].pid, getpid());
		}
	assert_true(listen_seen);
	assert_true(connect_seen);
	topo_free(t);
	close(c);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv4_established_line),
		cmocka_unit_test(ipv6_listen_and_mapped_lines),
		cmocka_unit_test(bad_lines_are_refused),
		cmocka_unit_test(live_scan_sees_our_listener_and_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
