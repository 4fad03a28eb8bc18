/* test_link_watch.c - rtnetlink link messages parsed from the bytes the kernel sends:
 * names and states read, other messages skipped, and every length the sender gives
 * checked before it is used. (The live path, a veth losing its carrier, is t4105.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cmocka.h>

#include "edge/link_watch.h"

/* Append one message (type, flags, with IFLA_IFNAME when name is given) to buf at *len. */
static void put_link(unsigned char *buf, size_t *len, uint16_t type, int ifindex, unsigned flags,
                     const char *name)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)(buf + *len);
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	size_t n = NLMSG_LENGTH(sizeof(*ifi));

	memset(h, 0, NLMSG_SPACE(sizeof(*ifi)) + 64);
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	if (name) {
		struct rtattr *rta = (struct rtattr *)(void *)((unsigned char *)h + NLMSG_ALIGN(n));
		rta->rta_type = IFLA_IFNAME;
		rta->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
		memcpy(RTA_DATA(rta), name, strlen(name) + 1);
		n = NLMSG_ALIGN(n) + RTA_ALIGN(rta->rta_len);
	}
	h->nlmsg_len = (uint32_t)n;
	h->nlmsg_type = type;
	*len += NLMSG_ALIGN(n);
}

static void reads_links_and_skips_the_rest(void **state)
{
	unsigned char buf[1024];
	size_t len = 0, off = 0;
	struct link_msg m;

	(void)state;
	put_link(buf, &len, RTM_NEWLINK, 3, IFF_UP | IFF_LOWER_UP, "eth0");
	put_link(buf, &len, RTM_NEWADDR, 3, 0, NULL);
	put_link(buf, &len, RTM_NEWLINK, 4, IFF_UP, "veth1");
	put_link(buf, &len, RTM_DELLINK, 5, 0, "gone0");
	assert_int_equal(link_msg_parse(buf, len, &off, &m), 1);
	assert_int_equal(m.ifindex, 3);
	assert_string_equal(m.name, "eth0");
	assert_true(m.up && m.admin_up && !m.deleted);
	assert_int_equal(link_msg_parse(buf, len, &off, &m), 0); /* an address: not ours */
	assert_int_equal(link_msg_parse(buf, len, &off, &m), 1);
	assert_string_equal(m.name, "veth1");
	assert_true(m.admin_up && !m.up); /* up, but no carrier */
	assert_int_equal(link_msg_parse(buf, len, &off, &m), 1);
	assert_true(m.deleted);
	assert_int_equal(m.ifindex, 5);
	assert_int_equal(link_msg_parse(buf, len, &off, &m), -ENODATA);
}

static void lengths_are_checked(void **state)
{
	unsigned char buf[1024];
	size_t len = 0, off = 0;
	struct link_msg m;
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf;
	struct rtattr *rta;

	(void)state;
	/* a message longer than what was received */
	put_link(buf, &len, RTM_NEWLINK, 3, IFF_UP, "eth0");
	h->nlmsg_len = (uint32_t)len + 8;
	assert_int_equal(link_msg_parse(buf, len, &off, &m), -EBADMSG);
	assert_int_equal(off, len);
	/* an attribute running past its message */
	len = off = 0;
	put_link(buf, &len, RTM_NEWLINK, 3, IFF_UP, "eth0");
	rta = (struct rtattr *)(void *)(buf + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct ifinfomsg))));
	rta->rta_len = 200;
	assert_int_equal(link_msg_parse(buf, len, &off, &m), -EBADMSG);
	/* a link message too short for its header */
	len = off = 0;
	put_link(buf, &len, RTM_NEWLINK, 3, IFF_UP, NULL);
	h->nlmsg_len = NLMSG_LENGTH(4);
	assert_int_equal(link_msg_parse(buf, len, &off, &m), -EBADMSG);
	/* a name without its NUL, longer than IFNAMSIZ: cut, terminated */
	len = off = 0;
	put_link(buf, &len, RTM_NEWLINK, 3, IFF_UP, "abcdefghijklmnopqrstuvwxyz");
	assert_int_equal(link_msg_parse(buf, len, &off, &m), 1);
	assert_int_equal(strlen(m.name), 15);
	/* fewer bytes than a header */
	off = 0;
	assert_int_equal(link_msg_parse(buf, 10, &off, &m), -ENODATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_links_and_skips_the_rest),
		cmocka_unit_test(lengths_are_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
