/* cmd_ask.c - `ongrid-relay ask HOST "QUESTION"`: the chat conversation in a terminal, for
 * setups with no chat app. It talks to the running relay over data_dir/chat.sock
 * (relay/chat/local.c): the question starts an incident on HOST, progress streams in,
 * the report prints, and then each line on stdin is a follow-up in the same thread
 * ("approve ID" and "deny ID" decide proposed actions) until end of input.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay/chat/chat.h"
#include "relay/relay.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/cli.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

#define LINE_MAX_BYTES (4u << 20)

struct shown {
	char id[32];
	char *text;
};

static int send_line(int fd, const char *host, const char *text)
{
	cJSON *o = json_obj();
	char *j, *s;
	size_t len, off = 0;

	if (host)
		json_add_str(o, "host", host);
	json_add_str(o, "text", text);
	j = json_print(o, false);
	cJSON_Delete(o);
	s = xasprintf("%s\n", j);
	free(j);
	len = strlen(s);
	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(s);
			return -EIO;
		}
		off += (size_t)n;
	}
	free(s);
	return 0;
}

/* Print a message, or of an edit what is new since the last time. */
static void show(struct shown *last, const char *type, const char *id, const char *text,
                 const cJSON *buttons)
{
	const cJSON *b;

	if (!strcmp(type, "edit") && last->text && !strcmp(last->id, id) &&
	    str_startswith(text, last->text)) {
		fputs(text + strlen(last->text), stdout);
	} else {
		fputs(last->text && last->text[strlen(last->text) - 1] != '\n' ? "\n" : "", stdout);
		fputs(text, stdout);
	}
	free(last->text);
	last->text = xstrdup(text);
	str_copy(last->id, id, sizeof(last->id));
	cJSON_ArrayForEach(b, buttons) {
		const char *a = cJSON_GetStringValue(b), *colon = a ? strchr(a, ':') : NULL;
		if (colon)
			printf("\n  [type: %.*s %s]", (int)(colon - a), a, colon + 1);
	}
	fflush(stdout);
}

/* Read replies until {"type":"done"}; returns 0, or 1 when the relay went away. */
static int read_answer(int fd, struct buf *in, bool json, struct shown *last)
{
	for (;;) {
		char tmp[8192], *nl;
		ssize_t n;

		while ((nl = memchr(in->data ? in->data : "", '\n', in->len))) {
			size_t l = (size_t)(nl - in->data);
			cJSON *o = json_parse(in->data, l, LINE_MAX_BYTES, NULL);
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(o, "type"));
			const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(o, "text"));
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(o, "id"));
			bool done = type && !strcmp(type, "done");
			if (json) {
				fwrite(in->data, 1, l + 1, stdout);
				fflush(stdout);
			} else if (type && text &&
			           (!strcmp(type, "message") || !strcmp(type, "edit"))) {
				show(last, type, id ? id : "", text,
				     cJSON_GetObjectItem(o, "buttons"));
			} else if (type && !strcmp(type, "error") && text) {
				fprintf(stderr, "ongrid-relay ask: %s\n", text);
			}
			cJSON_Delete(o);
			buf_consume(in, l + 1);
			if (done) {
				if (!json)
					fputs("\n", stdout);
				fflush(stdout);
				return 0;
			}
		}
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_add(in, tmp, (size_t)n) < 0) {
			fprintf(stderr, "ongrid-relay ask: the relay closed the conversation\n");
			return 1;
		}
	}
}

int cmd_ask(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct buf in = BUF_INIT(LINE_MAX_BYTES);
	struct shown last = { 0 };
	struct relay_conf conf;
	char **args, line[CHAT_TEXT_MAX];
	int nargs, r, fd;

	r = cli_parse("ongrid-relay", "ask", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs != 2 || !*args[0] || !*args[1]) {
		fprintf(stderr, "usage: ongrid-relay ask [-c FILE] [--json] HOST \"QUESTION\"\n");
		return 2;
	}
	if (strlen(args[1]) >= CHAT_TEXT_MAX) {
		fprintf(stderr, "ongrid-relay ask: the question is longer than %d bytes\n",
		        CHAT_TEXT_MAX - 1);
		return 2;
	}
	r = relay_conf_load(&conf, path);
	if (r)
		return r;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", conf.data_dir,
	                     CHAT_SOCKET_NAME) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ongrid-relay ask: data_dir '%s' is too long\n", conf.data_dir);
		relay_conf_release(&conf);
		return 2;
	}
	relay_conf_release(&conf);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr,
		        "ongrid-relay ask: cannot reach the relay at '%s': %s (is `ongrid-relay "
		        "run` running with chat.local on, and are you root?)\n",
		        sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	r = send_line(fd, args[0], args[1]) < 0 ? 1 : read_answer(fd, &in, json, &last);
	while (r == 0 && fgets(line, sizeof(line), stdin)) {
		char *t = str_trim(line);
		if (!*t)
			continue;
		r = send_line(fd, NULL, t) < 0 ? 1 : read_answer(fd, &in, json, &last);
	}
	free(last.text);
	buf_release(&in);
	close(fd);
	return r;
}
