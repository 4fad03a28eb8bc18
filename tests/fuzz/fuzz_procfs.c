/* fuzz_procfs: every procfs parser must never crash, leak or read out of bounds, whatever
 * the kernel (or a hostile container runtime bind-mounting /proc) hands it. Each parser
 * tokenises in place, so each gets its own NUL-terminated copy. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/collect/procfs.h"
#include "edge/tsdb/expose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *copy(const uint8_t *data, size_t size)
{
	char *t = malloc(size + 1);

	if (!t)
		abort();
	memcpy(t, data, size);
	t[size] = '\0';
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procfs_mount m[8];
	struct procfs_pidstat ps;
	struct snapshot s;
	struct buf out = BUF_INIT(1 << 20);
	size_t n;
	char *t;

	if (size > 1 << 16)
		return 0;
	snapshot_init(&s, 0);
#define RUN(call)                     \
	do {                          \
		t = copy(data, size); \
		(void)(call);         \
		free(t);              \
	} while (0)
	RUN(procfs_parse_stat(t, 100, true, &s));
	RUN(procfs_parse_loadavg(t, &s));
	RUN(procfs_parse_pressure(t, "io", &s));
	RUN(procfs_parse_meminfo(t, &s));
	RUN(procfs_parse_vmstat(t, 4096, &s));
	RUN(procfs_parse_diskstats(t, &s, NULL));
	RUN(procfs_parse_netdev(t, &s, NULL));
	RUN(procfs_parse_snmp(t, &s));
	RUN(procfs_parse_pidstat(t, &ps));
	RUN(procfs_parse_sockstat(t, 4096, &s));
	RUN(procfs_parse_softnet(t, &s));
	t = copy(data, size);
	if (procfs_parse_mounts(t, m, 8, &n, NULL) >= 0)
		for (size_t i = 0; i < n; i++) {
			struct procfs_fsstat st = { 1, 2, 3, 4, 5 };
			procfs_add_filesystem(&m[i], &st, &s);
		}
	free(t);
	/* and whatever came out must expose cleanly (label values are arbitrary bytes) */
	(void)expose_snapshot(&s, &out);
	buf_release(&out);
	snapshot_release(&s);
	return 0;
}
