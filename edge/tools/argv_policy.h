/* argv_policy.h - the bash tool's allowlist: a command line is split into words without a
 * shell, then each program and each of its arguments must be on the read-only list.
 *
 * Splitting (argv_split) understands exactly what a reader expects a shell to do with a
 * simple command and nothing more: words separated by blanks, '...' and "..." quoting,
 * backslash escapes, and '|' between commands. Everything a shell would do besides -
 * ; & && || > < ` $( ${ $VAR, unquoted globs * ? [ ], braces, ~, # comments, subshells,
 * NAME=value prefixes - is refused with the reason, never passed through literally: a
 * command that only means what the caller thinks under a real shell must not run at all.
 * Newlines, NUL and other control characters are refused anywhere.
 *
 * Checking (argv_policy_check) looks each program up in a fixed table (argv_rules.c).
 * Each entry lists the options the program may have - by exact spelling, so an abbreviated
 * long option cannot smuggle in one that is not listed - and says how its operands are
 * used; a few programs (find, ps, ip, systemctl, sed, awk ...) have a function that reads
 * their expression or script. Every word is then checked by path_rules as a possible path.
 * The check may rewrite argv to make a program safer in its own terms: egrep becomes
 * grep -E, sed gets --sandbox, a recursive grep gets --exclude-dir=.ssh and friends.
 */
#ifndef ONGRID_ARGV_POLICY_H
#define ONGRID_ARGV_POLICY_H

#include <stddef.h>

#include "edge/tools/path_rules.h"
#include "shared/diag.h"
#include "shared/limits.h"

struct argv_stage {
	char **argv; /* NULL-terminated, owned; argv[0] is the program's bare name */
	size_t argc;
};

struct argv_line {
	struct argv_stage stage[ONGRID_TOOL_CMD_MAX_STAGES]; /* stage i's stdout feeds i+1 */
	size_t nstages;
};

/* Split cmd into stages of words. Returns 0, -EPERM with the reason for shell syntax that is
 * refused, -EINVAL for malformed input (an unterminated quote, an empty command or stage),
 * or -E2BIG past the limits in shared/limits.h. On failure ret is empty. */
int argv_split(const char *cmd, struct argv_line *ret, struct diag *d);

/* Check (and possibly rewrite) every stage of l against the allowlist and rules. Returns 0
 * or -EPERM with the reason ("sed: option '-i' is not allowed: edits files in place"). */
int argv_policy_check(const struct path_rules *rules, struct argv_line *l, struct diag *d);

/* argv_split + argv_policy_check. On failure ret is empty. */
int argv_policy_vet(const struct path_rules *rules, const char *cmd, struct argv_line *ret,
                    struct diag *d);

/* Print the stages back as one line, words quoted where needed: what ran, for evidence. */
char *argv_line_format(const struct argv_line *l);

void argv_line_release(struct argv_line *l);

/* Append a word to a stage (used by rules that rewrite argv). Takes a copy. */
void argv_stage_push(struct argv_stage *s, const char *word);
/* Insert a word at position pos (1 = right after the program name). Takes a copy. */
void argv_stage_insert(struct argv_stage *s, size_t pos, const char *word);

/* The names of every program the allowlist knows, NULL-terminated, for docs and tests. */
const char *const *argv_policy_programs(void);

#endif
