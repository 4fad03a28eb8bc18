/* argv_rules.h - internal to argv_policy.c and argv_rules.c: the shape of one program's
 * entry in the allowlist and what its check function sees. */
#ifndef ONGRID_ARGV_RULES_H
#define ONGRID_ARGV_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "edge/tools/argv_policy.h"

struct opt_note {
	const char *opt; /* "-i" or "--in-place", as refused */
	const char *why; /* "edits files in place" */
};

struct opt_seen {
	char shortc;       /* 'n' for -n, 0 for a long option */
	char longname[40]; /* "lines" for --lines, "" for a short one */
	const char *value; /* the option's argument, or NULL; points into argv */
};

struct rule_ctx {
	const struct path_rules *rules;
	struct argv_stage *st;
	const struct prog_rule *rule;
	size_t stage_index; /* 0 for the first command of a pipeline */
	struct opt_seen opts[ONGRID_TOOL_CMD_MAX_WORDS];
	size_t nopts;
	const char *ops[ONGRID_TOOL_CMD_MAX_WORDS]; /* operands, in order; point into argv */
	size_t nops;
};

struct prog_rule {
	const char *name;
	enum path_use use; /* what the program does with the files it is given */
	/* getopt-style short options: ':' after a letter = takes an argument (attached or the
	 * next word); ';' = optional argument (attached, or a next word that is a number) */
	const char *shorts;
	/* long options by exact name: "lines=" takes an argument, "color?" an optional one
	 * (only as --color=WHEN), "all" none */
	const char *const *longs;
	bool digits;      /* -20 style counts (head, tail) */
	bool posix_order; /* options end at the first operand (awk) */
	bool raw;         /* no generic option parsing: check() reads argv itself */
	int max_operands; /* -1 = any number */
	const struct opt_note *notes;
	/* Extra checks after the generic ones; NULL = operands are files (for PATH_READ
	 * programs checked as such) or free words. May rewrite c->st. */
	int (*check)(struct rule_ctx *c, struct diag *d);
	const char *doc; /* one line for docs/tools.md */
};

extern const struct prog_rule argv_rules[];
extern const size_t argv_rules_count;

/* Helpers for check functions (argv_policy.c). */
bool rule_has(const struct rule_ctx *c, char shortc, const char *longname);
const char *rule_value(const struct rule_ctx *c, char shortc, const char *longname);
int rule_check_files(struct rule_ctx *c, size_t first, struct diag *d);
bool rule_is_number(const char *s);

#endif
