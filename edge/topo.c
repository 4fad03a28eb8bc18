/* topo.c - see topo.h. */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <uthash.h>

#include "edge/collect/procfs.h"
#include "edge/ctl.h"
#include "edge/topo.h"

/* netinet/tcp.h numbering (the kernel's TOPO_ESTABLISHED .. TCP_CLOSING) */
enum { TOPO_ESTABLISHED = 1, TOPO_LISTEN = 10 };
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/banned.h"

/* The daemon answers from memory; a daemon that does not answer at once is busy. */
#define TOPO_FLOWS_TIMEOUT_MS 2000

/* Processes walked to find socket owners; fds looked at per process. */
#define TOPO_MAX_PIDS    32768
#define TOPO_MAX_FDS_PID 65536

static const char *const state_names[] = {
	"?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
};

const char *topo_state_name(int state)
{
	if (state <= 0 || state >= (int)(sizeof(state_names) / sizeof(state_names[0])))
		return "?";
	return state_names[state];
}

static void addr_text(int family, const void *a, char *out, size_t outsz)
{
	if (family == AF_INET6) {
		const struct in6_addr *a6 = a;
		/* IPv4-mapped addresses read as IPv4: that is how the peer is known elsewhere */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)outsz);
			return;
		}
	}
	inet_ntop(family, a, out, (socklen_t)outsz);
}

struct sockvec {
	struct topo_sock *v;
	size_t n, alloc;
	int truncated;
};

static struct topo_sock *sock_push(struct sockvec *sv)
{
	if (sv->n == TOPO_MAX_SOCKETS) {
		sv->truncated = 1;
		return NULL;
	}
	if (sv->n == sv->alloc) {
		sv->alloc = sv->alloc ? sv->alloc * 2 : 256;
		sv->v = xrealloc(sv->v, st_mul(sv->alloc, sizeof(*sv->v)));
	}
	memset(&sv->v[sv->n], 0, sizeof(sv->v[0]));
	return &sv->v[sv->n++];
}

static int diag_dump(int family, struct sockvec *sv, struct diag *d)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = { 0 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	static char buf[32768];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), r = 0;

	if (fd < 0)
		return diag_set(d, -errno, "sock_diag: %s", strerror(errno));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.req.sdiag_family = (__u8)family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	msg.req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = diag_set(d, -errno, "sock_diag: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = diag_set(d, -errno, "sock_diag: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			goto out;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				r = diag_set(d, e->error ? e->error : -EPROTO, "sock_diag: %s",
				             strerror(-e->error));
				goto out;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			struct topo_sock *s = sock_push(sv);
			if (!s)
				goto out;
			s->family = m->idiag_family;
			s->state = m->idiag_state;
			s->inode = m->idiag_inode;
			s->lport = ntohs(m->id.idiag_sport);
			s->rport = ntohs(m->id.idiag_dport);
			addr_text(s->family, m->id.idiag_src, s->laddr, sizeof(s->laddr));
			addr_text(s->family, m->id.idiag_dst, s->raddr, sizeof(s->raddr));
			snprintf(s->comm, sizeof(s->comm), "?");
			int alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
			for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				if (a->rta_type != INET_DIAG_INFO)
					continue;
				struct tcp_info ti = { 0 };
				size_t len =
				        RTA_PAYLOAD(a) < sizeof(ti) ? RTA_PAYLOAD(a) : sizeof(ti);
				memcpy(&ti, RTA_DATA(a), len);
				s->rtt_us = ti.tcpi_rtt;
				s->retrans = ti.tcpi_total_retrans;
				if (len >= offsetof(struct tcp_info, tcpi_bytes_received) + 8) {
					s->bytes_acked = ti.tcpi_bytes_acked;
					s->bytes_received = ti.tcpi_bytes_received;
				}
			}
		}
	}
out:
	close(fd);
	return r;
}

int topo_parse_proc_line(const char *line, int family, struct topo_sock *s)
{
	char la[40], ra[40];
	unsigned lp, rp, st, txq, rxq;
	unsigned long long inode;

	/* NOLINTNEXTLINE(cert-err34-c): /proc/net/tcp fields; count and ranges checked */
	if (sscanf(line,
	           " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %x:%x %*x:%*x %*x %*u %*u %llu",
	           la, &lp, ra, &rp, &st, &txq, &rxq, &inode) != 8)
		return -EINVAL;
	if (lp > 65535 || rp > 65535 || st > 12)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->state = (int)st;
	s->lport = (int)lp;
	s->rport = (int)rp;
	s->inode = inode;
	snprintf(s->comm, sizeof(s->comm), "?");
	for (int k = 0; k < 2; k++) {
		const char *hex = k ? ra : la;
		unsigned char bytes[16];
		size_t nb = family == AF_INET ? 4 : 16;
		if (strlen(hex) != nb * 2)
			return -EINVAL;
		/* the kernel prints each 32-bit word in host order */
		for (size_t w = 0; w < nb / 4; w++) {
			unsigned v;
			char word[9];
			memcpy(word, hex + w * 8, 8);
			word[8] = '\0';
			/* NOLINTNEXTLINE(cert-err34-c): 8 hex digits cannot overflow */
			if (sscanf(word, "%x", &v) != 1)
				return -EINVAL;
			memcpy(bytes + w * 4, &v, 4);
		}
		addr_text(family, bytes, k ? s->raddr : s->laddr, sizeof(s->laddr));
	}
	return 0;
}

static void proc_fallback(struct sockvec *sv)
{
	static const struct {
		const char *path;
		int family;
	} files[] = { { "/proc/net/tcp", AF_INET }, { "/proc/net/tcp6", AF_INET6 } };

	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(files[i].path, "re");
		char line[512];
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			struct topo_sock s;
			if (topo_parse_proc_line(line, files[i].family, &s) < 0)
				continue;
			struct topo_sock *p = sock_push(sv);
			if (!p)
				break;
			*p = s;
		}
		fclose(f);
	}
}

struct owner {
	uint64_t inode;
	int pid;
	char comm[32];
	UT_hash_handle hh;
};

/* inode -> owning process, for the inodes in sv only. */
static void find_owners(struct sockvec *sv)
{
	struct owner *want = NULL, *o, *tmp;
	DIR *proc = opendir("/proc");
	struct dirent *pe;
	size_t npids = 0;

	for (size_t i = 0; i < sv->n; i++) {
		if (!sv->v[i].inode)
			continue;
		HASH_FIND(hh, want, &sv->v[i].inode, sizeof(uint64_t), o);
		if (o)
			continue;
		o = xcalloc(1, sizeof(*o));
		o->inode = sv->v[i].inode;
		HASH_ADD(hh, want, inode, sizeof(uint64_t), o);
	}
	while (proc && (pe = readdir(proc)) && npids++ < TOPO_MAX_PIDS) {
		char *end, path[300];
		long pid = strtol(pe->d_name, &end, 10);
		DIR *fds;
		struct dirent *fe;
		size_t nfd = 0;
		char comm[32] = "";
		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		fds = opendir(path);
		while (fds && (fe = readdir(fds)) && nfd++ < TOPO_MAX_FDS_PID) {
			char lp[300], target[64];
			unsigned long long ino;
			ssize_t k;
			if (fe->d_name[0] == '.')
				continue;
			snprintf(lp, sizeof(lp), "/proc/%ld/fd/%s", pid, fe->d_name);
			k = readlink(lp, target, sizeof(target) - 1);
			if (k <= 8)
				continue;
			target[k] = '\0';
			/* NOLINTNEXTLINE(cert-err34-c): the kernel's fd link text; count checked */
			if (sscanf(target, "socket:[%llu]", &ino) != 1)
				continue;
			uint64_t key = ino;
			HASH_FIND(hh, want, &key, sizeof(uint64_t), o);
			if (!o || o->pid)
				continue;
			if (!*comm)
				procfs_comm((int)pid, comm, sizeof(comm));
			o->pid = (int)pid;
			snprintf(o->comm, sizeof(o->comm), "%s", comm);
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
	for (size_t i = 0; i < sv->n; i++) {
		HASH_FIND(hh, want, &sv->v[i].inode, sizeof(uint64_t), o);
		if (o && o->pid) {
			sv->v[i].pid = o->pid;
			snprintf(sv->v[i].comm, sizeof(sv->v[i].comm), "%s", o->comm);
		}
	}
	HASH_ITER(hh, want, o, tmp)
	{
		HASH_DEL(want, o);
		free(o);
	}
}

int topo_sockets(struct topo_sock **ret, size_t *ret_n, struct diag *d)
{
	struct sockvec sv = { 0 };
	struct diag ignored = { 0 };
	int r;

	r = diag_dump(AF_INET, &sv, d);
	if (r == 0)
		diag_dump(AF_INET6, &sv, &ignored); /* a host without IPv6 has none to report */
	if (r < 0) {
		/* no sock_diag (module absent, seccomp): /proc/net/tcp has all but tcp_info */
		sv.n = 0;
		memset(d, 0, sizeof(*d));
		proc_fallback(&sv);
	}
	find_owners(&sv);
	*ret = sv.v;
	*ret_n = sv.n;
	return sv.truncated;
}

static bool is_wild(const char *a)
{
	return strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;
}

static void peer_key(const char *addr, int port, char *out, size_t outsz)
{
	if (strchr(addr, ':'))
		snprintf(out, outsz, "[%s]:%d", addr, port);
	else
		snprintf(out, outsz, "%s:%d", addr, port);
}

int topo_scan(struct topo **ret, struct diag *d)
{
	struct topo_sock *s;
	size_t n;
	struct topo *t = xcalloc(1, sizeof(*t));
	size_t alisten = 0, aconnect = 0;
	int r = topo_sockets(&s, &n, d);

	if (r < 0) {
		free(t);
		return r;
	}
	t->truncated = r;
	t->nsockets = n;
	for (size_t i = 0; i < n; i++) {
		if (s[i].state > 0 && s[i].state < 16)
			t->states[s[i].state]++;
		if (s[i].state != TOPO_LISTEN)
			continue;
		/* one entry per port and process: a dual-stack listener is one service */
		size_t k;
		for (k = 0; k < t->nlisten; k++)
			if (t->listen[k].port == s[i].lport && t->listen[k].pid == s[i].pid)
				break;
		if (k < t->nlisten) {
			if (is_wild(s[i].laddr))
				snprintf(t->listen[k].addr, sizeof(t->listen[k].addr), "0.0.0.0");
			continue;
		}
		if (t->nlisten == TOPO_MAX_ENTRIES) {
			t->truncated = 1;
			continue;
		}
		if (t->nlisten == alisten) {
			alisten = alisten ? alisten * 2 : 16;
			t->listen = xrealloc(t->listen, st_mul(alisten, sizeof(*t->listen)));
		}
		struct topo_listen *l = &t->listen[t->nlisten++];
		memset(l, 0, sizeof(*l));
		snprintf(l->addr, sizeof(l->addr), "%s",
		         is_wild(s[i].laddr) ? "0.0.0.0" : s[i].laddr);
		l->port = s[i].lport;
		l->pid = s[i].pid;
		snprintf(l->process, sizeof(l->process), "%s", s[i].comm);
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i].state != TOPO_ESTABLISHED)
			continue;
		/* accepted on a local listening port: inbound */
		struct topo_listen *in = NULL;
		for (size_t k = 0; k < t->nlisten; k++)
			if (t->listen[k].port == s[i].lport &&
			    (is_wild(t->listen[k].addr) ||
			     strcmp(t->listen[k].addr, s[i].laddr) == 0)) {
				in = &t->listen[k];
				break;
			}
		if (in) {
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = s[j].state == TOPO_ESTABLISHED && s[j].lport == s[i].lport &&
				       strcmp(s[j].raddr, s[i].raddr) == 0;
			in->connections++;
			if (!seen)
				in->clients++;
			continue;
		}
		char key[64];
		peer_key(s[i].raddr, s[i].rport, key, sizeof(key));
		size_t k;
		for (k = 0; k < t->nconnect; k++)
			if (strcmp(t->connect[k].peer, key) == 0 &&
			    strcmp(t->connect[k].process, s[i].comm) == 0)
				break;
		if (k == t->nconnect) {
			if (t->nconnect == TOPO_MAX_ENTRIES) {
				t->truncated = 1;
				continue;
			}
			if (t->nconnect == aconnect) {
				aconnect = aconnect ? aconnect * 2 : 16;
				t->connect =
				        xrealloc(t->connect, st_mul(aconnect, sizeof(*t->connect)));
			}
			struct topo_connect *c = &t->connect[t->nconnect++];
			memset(c, 0, sizeof(*c));
			snprintf(c->process, sizeof(c->process), "%s", s[i].comm);
			c->pid = s[i].pid;
			snprintf(c->peer, sizeof(c->peer), "%s", key);
			snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", s[i].raddr);
			c->peer_port = s[i].rport;
		}
		struct topo_connect *c = &t->connect[k];
		c->rtt_ms = (c->rtt_ms * c->count + s[i].rtt_us / 1000.0) / (c->count + 1);
		c->count++;
		c->bytes_sent += s[i].bytes_acked;
		c->bytes_received += s[i].bytes_received;
		c->retransmits += s[i].retrans;
	}
	free(s);
	*ret = t;
	return 0;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : 0;
}

void topo_add_flows(struct topo *t, const cJSON *flows)
{
	const cJSON *f;
	size_t cap = t->nconnect + (size_t)cJSON_GetArraySize(flows);

	if (cap > TOPO_MAX_ENTRIES)
		cap = TOPO_MAX_ENTRIES;
	if (cap > t->nconnect)
		t->connect = xrealloc(t->connect, st_mul(cap, sizeof(*t->connect)));
	cJSON_ArrayForEach(f, flows) {
		const char *proc =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "process"));
		const char *addr =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "peer_addr"));
		int port = (int)num(f, "peer_port");
		struct topo_connect *c = NULL;
		char key[64];

		if (!proc || !addr || port <= 0 || port > 65535)
			continue;
		peer_key(addr, port, key, sizeof(key));
		for (size_t k = 0; k < t->nconnect && !c; k++)
			if (strcmp(t->connect[k].peer, key) == 0 &&
			    strcmp(t->connect[k].process, proc) == 0)
				c = &t->connect[k];
		if (!c) {
			if (t->nconnect == cap) {
				t->truncated = 1;
				continue;
			}
			c = &t->connect[t->nconnect++];
			memset(c, 0, sizeof(*c));
			snprintf(c->process, sizeof(c->process), "%s", proc);
			snprintf(c->peer, sizeof(c->peer), "%s", key);
			snprintf(c->peer_addr, sizeof(c->peer_addr), "%s", addr);
			c->peer_port = port;
		}
		c->recent = true;
		c->recent_connections = (uint64_t)num(f, "connections");
		c->recent_failures = (uint64_t)num(f, "failures");
		c->recent_connect_ms = num(f, "connect_ms");
		c->recent_bytes_sent = (uint64_t)num(f, "bytes_sent");
		c->recent_bytes_received = (uint64_t)num(f, "bytes_received");
		c->recent_retransmits = (uint64_t)num(f, "retransmits");
		c->recent_idle_s = (int64_t)num(f, "idle_s");
	}
}

void topo_add_daemon_flows(struct topo *t, const char *control_socket)
{
	cJSON *req = json_obj(), *res = NULL;
	struct diag d = { 0 };

	json_add_str(req, "cmd", "tcp_flows");
	if (!control_socket || !*control_socket) {
		snprintf(t->flows, sizeof(t->flows), "off: no control socket configured");
	} else if (ctl_call(control_socket, req, TOPO_FLOWS_TIMEOUT_MS, &res, &d) < 0) {
		snprintf(t->flows, sizeof(t->flows), "off: %.180s", d.msg);
	} else {
		topo_add_flows(t, cJSON_GetObjectItemCaseSensitive(res, "flows"));
		snprintf(t->flows, sizeof(t->flows), "on");
	}
	cJSON_Delete(res);
	cJSON_Delete(req);
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	free(t->listen);
	free(t->connect);
	free(t);
}

cJSON *topo_report_json(const struct topo *t)
{
	cJSON *o = json_obj(), *addrs = json_arr(), *listen = json_arr(), *conn = json_arr();
	struct ifaddrs *ifa = NULL;

	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i && cJSON_GetArraySize(addrs) < 64;
		     i = i->ifa_next) {
			char a[46];
			if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET &&
			                     i->ifa_addr->sa_family != AF_INET6))
				continue;
			if (i->ifa_addr->sa_family == AF_INET)
				inet_ntop(AF_INET,
				          &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, a,
				          sizeof(a));
			else
				inet_ntop(AF_INET6,
				          &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
				          a, sizeof(a));
			if (strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0 ||
			    strncmp(a, "fe80:", 5) == 0)
				continue;
			json_push(addrs, cJSON_CreateString(a));
		}
		freeifaddrs(ifa);
	}
	for (size_t i = 0; i < t->nlisten; i++) {
		cJSON *l = json_obj();
		json_add_num(l, "port", t->listen[i].port);
		json_add_str(l, "addr", t->listen[i].addr);
		json_add_str(l, "process", t->listen[i].process);
		json_add_num(l, "pid", t->listen[i].pid);
		json_add_num(l, "connections", t->listen[i].connections);
		json_add_num(l, "clients", t->listen[i].clients);
		json_push(listen, l);
	}
	for (size_t i = 0; i < t->nconnect; i++) {
		const struct topo_connect *c = &t->connect[i];
		cJSON *e = json_obj();
		json_add_str(e, "peer", c->peer);
		json_add_str(e, "process", c->process);
		json_add_num(e, "pid", c->pid);
		json_add_num(e, "count", c->count);
		json_add_num(e, "bytes_sent", (double)c->bytes_sent);
		json_add_num(e, "bytes_received", (double)c->bytes_received);
		json_add_num(e, "rtt_ms", (double)(int64_t)(c->rtt_ms * 1000) / 1000);
		json_add_num(e, "retransmits", (double)c->retransmits);
		if (c->recent) {
			cJSON *r = json_obj();
			json_add_num(r, "connections", (double)c->recent_connections);
			json_add_num(r, "failures", (double)c->recent_failures);
			json_add_num(r, "connect_ms",
			             (double)(int64_t)(c->recent_connect_ms * 1000) / 1000);
			json_add_num(r, "bytes_sent", (double)c->recent_bytes_sent);
			json_add_num(r, "bytes_received", (double)c->recent_bytes_received);
			json_add_num(r, "retransmits", (double)c->recent_retransmits);
			json_add_num(r, "idle_s", (double)c->recent_idle_s);
			json_add(e, "recent", r);
		}
		json_push(conn, e);
	}
	if (t->flows[0])
		json_add_str(o, "kernel_flows", t->flows);
	json_add(o, "addresses", addrs);
	json_add(o, "listen", listen);
	json_add(o, "connect", conn);
	return o;
}
