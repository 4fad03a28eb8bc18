/* link_watch.h - network links going up and down, from the kernel's rtnetlink link
 * notifications (RTMGRP_LINK), as change events.
 *
 * Why not only kmsg: a NIC driver prints "Link is Down", but veth, bridges, bonds' slaves
 * in some drivers, and virtio on many hypervisors print nothing, while the kernel
 * announces every carrier and admin state change on rtnetlink. The watcher takes the links
 * as they are at open (a dump) as the baseline and reports only transitions after it: a
 * link that goes down or up, appears or is removed. Repeated notifications with the same
 * state (address or MTU changes, statistics) are not events.
 */
#ifndef ONGRID_LINK_WATCH_H
#define ONGRID_LINK_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/change.h"
#include "shared/diag.h"

/* One link message: RTM_NEWLINK or RTM_DELLINK. */
struct link_msg {
	int ifindex;
	char name[16]; /* IFNAMSIZ; "" when the message carries none */
	bool up;       /* administratively up and carrier present (IFF_UP and IFF_LOWER_UP) */
	bool admin_up; /* IFF_UP */
	bool deleted;  /* RTM_DELLINK */
};

/* Parse the netlink message at *off in buf (len bytes, as recv() returned them) and move
 * *off past it. Returns 1 with *ret for a link message, 0 for any other message (skipped),
 * -ENODATA at the end of the buffer, -EBADMSG for a malformed message (the rest of the
 * buffer is skipped: every length in it is the sender's word). */
int link_msg_parse(const void *buf, size_t len, size_t *off, struct link_msg *ret);

struct link_watch;

/* Subscribe and read the baseline. -errno with d set (no netlink: the caller reports the
 * source off). */
int link_watch_open(struct link_watch **ret, struct diag *d);
void link_watch_close(struct link_watch *lw); /* NULL-safe */

/* Read what arrived; each transition becomes a change event (kind "kernel", source
 * "netlink", subject the link's name) passed to emit. Never blocks. */
void link_watch_read(struct link_watch *lw, int64_t now_ms,
                     void (*emit)(void *udata, const struct change_event *ev), void *udata);

#endif
