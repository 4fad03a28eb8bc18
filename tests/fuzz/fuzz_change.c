/* fuzz_change: the change-event parsers (dpkg.log lines, apt history blocks, auth.log lines,
 * kernel records) and the /proc/net/tcp line parser take bytes from files and the kernel;
 * none may crash or read out of bounds, and every event they accept has NUL-terminated
 * fields within their buffers. The first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "edge/change.h"
#include "edge/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct change_event *ev)
{
	if (memchr(ev->kind, 0, sizeof(ev->kind)) == NULL ||
	    memchr(ev->subject, 0, sizeof(ev->subject)) == NULL ||
	    memchr(ev->detail, 0, sizeof(ev->detail)) == NULL ||
	    memchr(ev->comm, 0, sizeof(ev->comm)) == NULL ||
	    memchr(ev->source, 0, sizeof(ev->source)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct change_event ev;
	struct topo_sock s;
	char *text;

	if (size < 1 || size > 16384)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0:
		if (change_parse_dpkg(text, &ev) == 1)
			check(&ev);
		break;
	case 1:
		if (change_parse_apt_block(text, &ev) == 1)
			check(&ev);
		break;
	case 2:
		if (change_parse_auth(text, 2026, &ev) == 1)
			check(&ev);
		break;
	case 3:
		if (change_parse_kmsg(text, 1700000000000LL, &ev) == 1)
			check(&ev);
		break;
	case 4:
		if (topo_parse_proc_line(text, AF_INET, &s) == 0 &&
		    (!memchr(s.laddr, 0, sizeof(s.laddr)) || s.lport > 65535))
			abort();
		break;
	default:
		if (topo_parse_proc_line(text, AF_INET6, &s) == 0 &&
		    (!memchr(s.raddr, 0, sizeof(s.raddr)) || s.rport > 65535))
			abort();
		break;
	}
	free(text);
	return 0;
}
