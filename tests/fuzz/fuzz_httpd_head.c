/* fuzz_httpd_head: httpd_parse_head must never crash or read out of bounds on any
 * request head, and what it accepts must be a path-shaped request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_req req;
	int64_t clen;
	int e100;
	const char *why;
	char *head;

	if (size > HTTPD_MAX_HEAD)
		return 0;
	head = malloc(size + 1);
	if (!head)
		return 0;
	memcpy(head, data, size);
	head[size] = '\0';
	if (httpd_parse_head(head, &req, &clen, &e100, &why) == 0 &&
	    (!req.method || !req.path || req.path[0] != '/' || clen < -1))
		abort();
	free(head);
	return 0;
}
