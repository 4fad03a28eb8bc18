/* fuzz_conf: any configuration file gives a config or a clean error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "edge/edge.h"
#include "shared/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct edge_conf c = { 0 };
	struct diag d = { 0 };
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/fuzz_conf.%d", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	conf_load(&edge_conf_table, &c, path, &d);
	conf_release(&edge_conf_table, &c);
	unlink(path);
	return 0;
}
