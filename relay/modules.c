/* modules.c - start every relay module, in order; see modules.h. */
#include "relay/modules.h"
#include "shared/banned.h"

int relay_modules_start(struct relay *r, const struct relay_conf *conf, struct diag *d)
{
	int (*const starts[])(struct relay *, const struct relay_conf *, struct diag *) = {
		inbox_start, topo_start,   xcall_start, llm_service_start,
		chat_start,  alerts_start, /* after chat: alert threads go through it */
	};

	for (size_t i = 0; i < ARRAY_SIZE(starts); i++) {
		int rc = starts[i](r, conf, d);
		if (rc < 0)
			return rc;
	}
	return 0;
}
