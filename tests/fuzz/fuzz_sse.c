/* fuzz_sse: the SSE parser must never crash, leak or read out of bounds, whatever the
 * bytes and however they are split. The first byte picks the chunk size. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shared/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *udata, const char *event, const char *data, size_t len)
{
	size_t *n = udata;

	/* Touch every byte so ASan sees an overread. */
	for (size_t i = 0; i < len; i++)
		*n += (unsigned char)data[i];
	*n += strlen(event);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_parser p;
	size_t sum = 0, chunk;
	int r = 0;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	sse_init(&p, 4096);
	for (size_t i = 0; i < size && r == 0; i += chunk)
		r = sse_feed(&p, (const char *)data + i, size - i < chunk ? size - i : chunk,
		             on_event, &sum);
	if (r == 0)
		r = sse_finish(&p, on_event, &sum);
	sse_release(&p);
	return 0;
}
