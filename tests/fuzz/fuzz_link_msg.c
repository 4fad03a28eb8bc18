/* fuzz_link_msg: what recv() returns on an rtnetlink socket, parsed message by message,
 * must never crash or read out of bounds; every link name comes back terminated, and the
 * offset only moves forward and stays within the buffer. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/link_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, prev;
	struct link_msg m;
	int r;

	do {
		prev = off;
		r = link_msg_parse(data, size, &off, &m);
		if (off > size || (r != -ENODATA && off <= prev))
			abort();
		if (r == 1 && strnlen(m.name, sizeof(m.name)) == sizeof(m.name))
			abort();
	} while (r >= 0);
	return 0;
}
