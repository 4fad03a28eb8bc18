/* local.c - the terminal as a chat platform: `ongrid-relay ask` (relay/cmd_ask.c) talks to
 * the running relay over data_dir/chat.sock, a Unix socket only root can open (0600 in a
 * 0700 directory), so whoever connects is treated as an admin.
 *
 * One connection is one thread (one incident). JSON lines both ways:
 *   client -> relay  {"text": "...", "host": "web-1"?}   host only with the first line
 *   relay -> client  {"type": "message", "id": "3", "text": "...", "buttons": ["approve:ID",
 *                     "deny:ID"]}
 *                    {"type": "edit", "id": "3", "text": "..."}   the whole new text
 *                    {"type": "done"}                            the answer is complete
 */
#define LOG_MODULE "chat"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay/chat/chat.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/list.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define LINE_MAX_BYTES (64u << 10)
#define OUT_MAX_BYTES  (4u << 20)
#define CLIENTS_MAX    32

struct client {
	struct list_head node;
	struct local *l;
	int fd;
	ev_io rio, wio;
	struct buf in, out;
	char chat_id[32];
	unsigned next_msg;
	unsigned uid;
	bool started; /* the first line (with its host) was delivered */
	char host[130];
};

struct local {
	const struct chat_adapter_ops *ops;
	struct chat_host host;
	int fd;
	ev_io accept_io;
	struct list_head clients;
	unsigned nclients, seq;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void client_close(struct client *cl)
{
	struct ev_loop *loop = cl->l->host.loop;

	ev_io_stop(loop, &cl->rio);
	ev_io_stop(loop, &cl->wio);
	close(cl->fd);
	list_del(&cl->node);
	cl->l->nclients--;
	buf_release(&cl->in);
	buf_release(&cl->out);
	free(cl);
}

static void flush_out(struct client *cl)
{
	while (cl->out.len) {
		ssize_t n = write(cl->fd, cl->out.data, cl->out.len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			/* Gone: drop what it will never read; its EOF closes it from on_readable,
			 * the one place a client is freed while events may still reach it. */
			buf_reset(&cl->out);
			break;
		}
		buf_consume(&cl->out, (size_t)n);
	}
	if (cl->out.len)
		ev_io_start(cl->l->host.loop, &cl->wio);
	else
		ev_io_stop(cl->l->host.loop, &cl->wio);
}

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	flush_out(w->data);
}

static struct client *find(struct local *l, const char *chat_id)
{
	struct list_head *p;

	list_for_each(p, &l->clients) {
		struct client *cl = list_entry(p, struct client, node);
		if (!strcmp(cl->chat_id, chat_id))
			return cl;
	}
	return NULL;
}

static int emit(struct client *cl, cJSON *o)
{
	char *s = json_print(o, false);
	int r = buf_adds(&cl->out, s);

	if (r == 0)
		r = buf_addc(&cl->out, '\n');
	free(s);
	cJSON_Delete(o);
	if (r < 0)
		return r; /* a client that reads nothing does not grow us without bound */
	flush_out(cl);
	return 0;
}

static void deliver_line(struct client *cl, char *line)
{
	struct diag d = { 0 };
	cJSON *o = json_parse(line, strlen(line), LINE_MAX_BYTES, &d);
	const char *text =
	        o ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "text")) : NULL;
	const char *host =
	        o ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "host")) : NULL;
	struct chat_event ev = { 0 };
	char user[32], textbuf[CHAT_TEXT_MAX];

	if (!text) {
		cJSON *e = json_obj();
		json_add_str(e, "type", "error");
		json_add_str(e, "text", o ? "expected {\"text\": ...}" : d.msg);
		cJSON_Delete(o);
		(void)emit(cl, e);
		return;
	}
	if (host && !cl->started)
		str_copy(cl->host, host, sizeof(cl->host));
	cl->started = true;
	str_copy(textbuf, text, sizeof(textbuf));
	snprintf(user, sizeof(user), "uid%u", cl->uid);
	ev.chat_id = cl->chat_id;
	ev.thread_id = "terminal";
	ev.user_id = user;
	ev.text = str_trim(textbuf);
	ev.addressed = true;
	ev.host = cl->host[0] ? cl->host : NULL;
	cl->l->host.deliver(cl->l->host.udata, (struct chat_adapter *)cl->l, &ev);
	cJSON_Delete(o);
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *cl = w->data;
	char tmp[4096];
	ssize_t n;
	char *nl;

	(void)loop, (void)revents;
	n = read(cl->fd, tmp, sizeof(tmp));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || buf_add(&cl->in, tmp, (size_t)n) < 0) {
		client_close(cl);
		return;
	}
	while (cl->in.len && (nl = memchr(cl->in.data, '\n', cl->in.len))) {
		size_t l = (size_t)(nl - cl->in.data);
		char *line = xstrndup(cl->in.data, l);
		buf_consume(&cl->in, l + 1);
		/* deliver may close nothing here: the client goes only on its own EOF/error */
		deliver_line(cl, line);
		free(line);
	}
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct local *l = w->data;
	struct ucred cred;
	socklen_t cl_len = sizeof(cred);
	struct client *cl;
	int fd;

	(void)revents;
	fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (l->nclients >= CLIENTS_MAX ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl_len) < 0) {
		close(fd);
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->l = l;
	cl->fd = fd;
	cl->uid = (unsigned)cred.uid;
	buf_init(&cl->in, LINE_MAX_BYTES);
	buf_init(&cl->out, OUT_MAX_BYTES);
	snprintf(cl->chat_id, sizeof(cl->chat_id), "local-%u-%u", (unsigned)getpid(), ++l->seq);
	ev_io_init(&cl->rio, on_readable, fd, EV_READ);
	ev_io_init(&cl->wio, on_writable, fd, EV_WRITE);
	cl->rio.data = cl->wio.data = cl;
	list_add_tail(&cl->node, &l->clients);
	l->nclients++;
	ev_io_start(loop, &cl->rio);
}

static int local_create(const struct chat_host *host, struct chat_adapter **ret, struct diag *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct local *l;
	mode_t old;
	int fd, r;

	*ret = NULL;
	if (!host->conf->chat_local)
		return 0;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", host->conf->data_dir,
	                     CHAT_SOCKET_NAME) >= sizeof(sa.sun_path))
		return diag_set(d, -ENAMETOOLONG,
		                "data_dir '%s' is too long for a Unix socket path",
		                host->conf->data_dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diag_set(d, -errno, "cannot create a Unix socket: %s", strerror(errno));
	(void)unlink(sa.sun_path);
	old = umask(0177); /* the socket is born 0600: no window where others can connect */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return diag_set(d, r, "cannot listen on '%s': %s", sa.sun_path, strerror(-r));
	}
	l = xcalloc(1, sizeof(*l));
	l->ops = &local_adapter;
	l->host = *host;
	l->fd = fd;
	str_copy(l->path, sa.sun_path, sizeof(l->path));
	list_init(&l->clients);
	ev_io_init(&l->accept_io, on_accept, fd, EV_READ);
	l->accept_io.data = l;
	ev_io_start(host->loop, &l->accept_io);
	*ret = (struct chat_adapter *)l;
	return 0;
}

static int out_json(struct local *l, const char *type, const char *chat_id, const char *id,
                    const struct chat_out *m)
{
	struct client *cl = find(l, chat_id);
	cJSON *o, *b;

	if (!cl)
		return -ENOTCONN;
	o = json_obj();
	json_add_str(o, "type", type);
	if (id)
		json_add_str(o, "id", id);
	if (m) {
		json_add_str(o, "text", m->text ? m->text : "");
		if (m->nbuttons) {
			b = json_arr();
			for (size_t i = 0; i < m->nbuttons; i++)
				json_push(b, cJSON_CreateString(m->buttons[i].action));
			json_add(o, "buttons", b);
		}
	}
	return emit(cl, o);
}

static int local_send(struct chat_adapter *a, const struct chat_out *m, chat_sent_fn *done,
                      void *udata)
{
	struct local *l = (struct local *)a;
	struct client *cl = find(l, m->chat_id);
	struct chat_ref ref = { 0 };
	int r;

	if (!cl)
		return -ENOTCONN;
	snprintf(ref.msg_id, sizeof(ref.msg_id), "%u", ++cl->next_msg);
	str_copy(ref.chat_id, m->chat_id, sizeof(ref.chat_id));
	r = out_json(l, "message", m->chat_id, ref.msg_id, m);
	if (r < 0)
		return r;
	done(udata, 0, &ref);
	return 0;
}

static int local_edit(struct chat_adapter *a, const struct chat_ref *ref, const struct chat_out *m,
                      chat_sent_fn *done, void *udata)
{
	int r = out_json((struct local *)a, "edit", ref->chat_id, ref->msg_id, m);

	if (r < 0)
		return r;
	done(udata, 0, ref);
	return 0;
}

static void local_done(struct chat_adapter *a, const char *chat_id)
{
	(void)out_json((struct local *)a, "done", chat_id, NULL, NULL);
}

static void local_destroy(struct chat_adapter *a)
{
	struct local *l = (struct local *)a;
	struct list_head *p, *n;

	if (!l)
		return;
	list_for_each_safe(p, n, &l->clients)
		client_close(list_entry(p, struct client, node));
	ev_io_stop(l->host.loop, &l->accept_io);
	close(l->fd);
	(void)unlink(l->path);
	free(l);
}

const struct chat_adapter_ops local_adapter = {
	.name = "local",
	.caps = CHAT_CAN_RECEIVE | CHAT_CAN_EDIT | CHAT_CAN_BUTTONS,
	.format = CHAT_FMT_PLAIN,
	.max_text = 65536,
	.create = local_create,
	.send = local_send,
	.edit = local_edit,
	.done = local_done,
	.destroy = local_destroy,
};
