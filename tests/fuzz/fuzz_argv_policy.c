/* fuzz_argv_policy: splitting and vetting any command line must never crash, leak or read
 * out of bounds, and whatever is accepted must format back to a line that vets again to
 * the same words (what ran is what the evidence says ran). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/argv_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct path_rules rules = { .data_dir = "/var/lib/ongrid" };
	struct argv_line l, again;
	struct diag d = { 0 };
	char *cmd, *text;

	if (size > 8192)
		return 0;
	cmd = malloc(size + 1);
	if (!cmd)
		return 0;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	if (argv_policy_vet(&rules, cmd, &l, &d) == 0) {
		text = argv_line_format(&l);
		/* the formatted line splits back into the same words */
		if (argv_split(text, &again, &d) == 0) {
			if (again.nstages != l.nstages)
				abort();
			for (size_t i = 0; i < l.nstages; i++) {
				if (again.stage[i].argc != l.stage[i].argc)
					abort();
				for (size_t j = 0; j < l.stage[i].argc; j++)
					if (strcmp(again.stage[i].argv[j], l.stage[i].argv[j]) != 0)
						abort();
			}
			argv_line_release(&again);
		}
		free(text);
		argv_line_release(&l);
	}
	free(cmd);
	return 0;
}
