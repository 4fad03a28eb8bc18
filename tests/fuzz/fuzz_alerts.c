/* fuzz_alerts: an Alertmanager webhook body through the relay's checks (json_parse +
 * alerts_parse) must never crash, leak or read out of bounds; and every alert handed on
 * has the fields the handler relies on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/alerts.h"
#include "shared/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_alert(void *udata, const struct alert *a)
{
	(void)udata;
	if (!a->status || !a->alertname || !a->starts_at || !a->labels ||
	    (strcmp(a->status, "firing") != 0 && strcmp(a->status, "resolved") != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	size_t dropped = 0;
	cJSON *j = json_parse((const char *)data, size, 1 << 20, &d);

	if (j) {
		(void)alerts_parse(j, 8, on_alert, NULL, &dropped, &d);
		cJSON_Delete(j);
	}
	return 0;
}
