/* link_watch.c - see link_watch.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "edge/link_watch.h"
#include "shared/alloc.h"
#include "shared/banned.h"

#define LINKS_MAX     4096 /* links remembered; a host with more reports only the first */
#define DUMP_WAIT_MS  2000 /* the baseline dump answers at once; this bounds a stuck kernel */
#define RECV_BUF      (64u << 10)
#define READS_PER_RUN 256

struct link_state {
	int ifindex;
	char name[16];
	bool up, admin_up;
};

struct link_watch {
	int fd;
	uint32_t dump_seq;
	struct link_state *links;
	size_t n, cap;
};

int link_msg_parse(const void *buf, size_t len, size_t *off, struct link_msg *ret)
{
	const unsigned char *p = buf;
	const struct nlmsghdr *h;
	const struct ifinfomsg *ifi;
	size_t at = *off, end, a;

	if (at >= len || len - at < sizeof(*h))
		return -ENODATA;
	h = (const struct nlmsghdr *)(const void *)(p + at);
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - at) {
		*off = len;
		return -EBADMSG;
	}
	end = at + h->nlmsg_len;
	*off = at + NLMSG_ALIGN(h->nlmsg_len) < len ? at + NLMSG_ALIGN(h->nlmsg_len) : len;
	if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
		return 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi))) {
		*off = len;
		return -EBADMSG;
	}
	ifi = (const struct ifinfomsg *)(const void *)(p + at + NLMSG_HDRLEN);
	memset(ret, 0, sizeof(*ret));
	ret->ifindex = ifi->ifi_index;
	ret->admin_up = ifi->ifi_flags & IFF_UP;
	ret->up = ret->admin_up && (ifi->ifi_flags & IFF_LOWER_UP);
	ret->deleted = h->nlmsg_type == RTM_DELLINK;
	/* the attributes: IFLA_IFNAME is the one needed */
	for (a = at + NLMSG_LENGTH(sizeof(*ifi)); a + sizeof(struct rtattr) <= end;) {
		const struct rtattr *rta = (const struct rtattr *)(const void *)(p + a);
		size_t alen = rta->rta_len;

		if (alen < sizeof(*rta) || alen > end - a) {
			*off = len;
			return -EBADMSG;
		}
		if (rta->rta_type == IFLA_IFNAME) {
			size_t n = alen - RTA_LENGTH(0);
			const char *s = (const char *)RTA_DATA(rta);

			n = strnlen(s, n);
			if (n >= sizeof(ret->name))
				n = sizeof(ret->name) - 1;
			memcpy(ret->name, s, n);
			ret->name[n] = '\0';
		}
		a += RTA_ALIGN(alen);
	}
	return 1;
}

static struct link_state *find(struct link_watch *lw, int ifindex)
{
	for (size_t i = 0; i < lw->n; i++)
		if (lw->links[i].ifindex == ifindex)
			return &lw->links[i];
	return NULL;
}

static void event(struct change_event *ev, int64_t now_ms, const char *name, const char *what)
{
	memset(ev, 0, sizeof(*ev));
	ev->t_ms = now_ms;
	snprintf(ev->kind, sizeof(ev->kind), "kernel");
	snprintf(ev->source, sizeof(ev->source), "netlink");
	snprintf(ev->subject, sizeof(ev->subject), "%s", name);
	snprintf(ev->detail, sizeof(ev->detail), "link %s %s", name, what);
}

/* Apply one message to the table; an event into *ev when it is a transition (returns 1). */
static int apply(struct link_watch *lw, const struct link_msg *m, bool baseline, int64_t now_ms,
                 struct change_event *ev)
{
	struct link_state *s = find(lw, m->ifindex);
	const char *name = m->name[0] ? m->name : s ? s->name : "?";

	if (m->deleted) {
		if (!s)
			return 0;
		event(ev, now_ms, s->name, "removed");
		*s = lw->links[--lw->n];
		return !baseline;
	}
	if (!s) {
		if (lw->n == LINKS_MAX)
			return 0;
		if (lw->n == lw->cap) {
			lw->cap = lw->cap ? 2 * lw->cap : 16;
			lw->links = xrealloc(lw->links, lw->cap * sizeof(*lw->links));
		}
		s = &lw->links[lw->n++];
		s->ifindex = m->ifindex;
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->up = m->up;
		s->admin_up = m->admin_up;
		event(ev, now_ms, s->name, m->up ? "added (up)" : "added (down)");
		return !baseline;
	}
	if (m->name[0])
		snprintf(s->name, sizeof(s->name), "%s", m->name); /* renamed */
	if (s->up == m->up) {
		s->admin_up = m->admin_up;
		return 0;
	}
	s->up = m->up;
	s->admin_up = m->admin_up;
	event(ev, now_ms, s->name,
	      m->up          ? "up"
	      : !m->admin_up ? "down (administratively)"
	                     : "down (no carrier)");
	return !baseline;
}

/* Ask for every link (RTM_GETLINK dump): the baseline at open, a resync after an overrun.
 * The replies arrive as RTM_NEWLINK messages like the notifications. */
static int send_dump(struct link_watch *lw)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req),
		         .nlmsg_type = RTM_GETLINK,
		         .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		         .nlmsg_seq = ++lw->dump_seq },
		  .i = { .ifi_family = AF_UNSPEC } };

	return send(lw->fd, &req, sizeof(req), 0) < 0 ? -errno : 0;
}

/* One recv()'s worth; false when nothing was there. */
static bool read_once(struct link_watch *lw, bool baseline, int64_t now_ms, bool *ret_done,
                      void (*emit)(void *, const struct change_event *), void *udata)
{
	static unsigned char buf[RECV_BUF];
	ssize_t n = recv(lw->fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t off = 0;
	struct link_msg m;
	struct change_event ev;
	int r;

	if (n < 0 && errno == ENOBUFS) {
		/* the kernel dropped notifications: read the whole table again; what changed
		 * meanwhile shows as transitions against what we knew */
		(void)send_dump(lw);
		return true;
	}
	if (n <= 0)
		return false;
	for (;;) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)(buf + off);

		if ((size_t)n - off >= sizeof(*h) && h->nlmsg_type == NLMSG_DONE && ret_done)
			*ret_done = true;
		r = link_msg_parse(buf, (size_t)n, &off, &m);
		if (r < 0)
			break;
		if (r == 1 && apply(lw, &m, baseline, now_ms, &ev) == 1 && emit)
			emit(udata, &ev);
	}
	return true;
}

int link_watch_open(struct link_watch **ret, struct diag *d)
{
	struct link_watch *lw = xcalloc(1, sizeof(*lw));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	bool done = false;
	int r;

	lw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (lw->fd < 0) {
		r = diag_set(d, -errno, "rtnetlink: %s", strerror(errno));
		free(lw);
		return r;
	}
	if (bind(lw->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send_dump(lw) < 0) {
		r = diag_set(d, -errno, "rtnetlink: %s", strerror(errno));
		link_watch_close(lw);
		return r;
	}
	/* the baseline: the table as it is, no events */
	while (!done) {
		struct pollfd pfd = { .fd = lw->fd, .events = POLLIN };

		if (poll(&pfd, 1, DUMP_WAIT_MS) <= 0)
			break;
		if (!read_once(lw, true, 0, &done, NULL, NULL))
			break;
	}
	*ret = lw;
	return 0;
}

void link_watch_close(struct link_watch *lw)
{
	if (!lw)
		return;
	if (lw->fd >= 0)
		close(lw->fd);
	free(lw->links);
	free(lw);
}

void link_watch_read(struct link_watch *lw, int64_t now_ms,
                     void (*emit)(void *udata, const struct change_event *ev), void *udata)
{
	for (int i = 0; i < READS_PER_RUN; i++)
		if (!read_once(lw, false, now_ms, NULL, emit, udata))
			break;
}
