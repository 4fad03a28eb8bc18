/* fuzz_json: json_parse must never crash, leak or read out of bounds on any input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "shared/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	cJSON *j = json_parse((const char *)data, size, 1 << 20, &d);

	if (j) {
		char *s = json_print(j, false);
		free(s);
		cJSON_Delete(j);
	}
	return 0;
}
