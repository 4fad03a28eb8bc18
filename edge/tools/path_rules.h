/* path_rules.h - where the bash tool's programs may look, and where they may not.
 *
 * Every word of an allowed command that could name a file is checked here before the
 * command runs. A path is checked twice: as written (normalised lexically, against "/"
 * because commands run with "/" as their working directory) and as the kernel would
 * resolve it (realpath, so "../" and symlinks cannot walk around a rule). A path that
 * does not exist yet is resolved as far as it exists.
 *
 * Two strengths of rule:
 *   PATH_META  the program only looks at names and metadata (ls, stat, find, du): secrets
 *              are refused (shadow files, any .ssh or .gnupg directory, private keys,
 *              /proc/PID/environ and mem, ongrid's own data and key directories, the
 *              configured deny list).
 *   PATH_READ  the program reads contents (cat, grep, sed, awk ...): additionally refused
 *              are devices other than /dev/null, /proc/kcore, links through /proc/PID/fd,
 *              root, cwd and map_files, files outside the configured read roots, and
 *              regular files whose first 64 KiB hold a PEM private key whatever their
 *              name (a certificate bundle with its key). A key further into a file, or in a
 *              tree grep -r reads, is withheld from the output instead (tool_add_output).
 *
 * The check is made before exec; a local user who can swap a symlink between the check and
 * the open could race it. docs/security.md says so.
 */
#ifndef ONGRID_PATH_RULES_H
#define ONGRID_PATH_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/diag.h"

enum path_use { PATH_META, PATH_READ };

struct path_rules {
	const char *const *deny; /* extra denied prefixes (tools.deny_paths); may be NULL */
	size_t ndeny;
	const char *const *read_roots; /* PATH_READ only under these (tools.read_paths) */
	size_t nread_roots;            /* 0 = anywhere not denied */
	const char *data_dir;          /* ongrid's state directory: always denied; may be NULL */
	const char *conf_dir;          /* ongrid's configuration and keys: always denied */
};

/* 0 if path may be used this way, else -EPERM with a reason naming the path and the rule
 * (or -E2BIG for a path longer than PATH_MAX). */
int path_check(const struct path_rules *r, const char *path, enum path_use use, struct diag *d);

/* For a program that reads a whole tree (grep -r): 0 if dir may be read and no fixed denied
 * place lies inside it; -EPERM otherwise. Pattern rules (.ssh anywhere, *.key) cannot be
 * proven absent from a tree; the caller excludes them in the program's own terms. */
int path_check_tree(const struct path_rules *r, const char *dir, struct diag *d);

/* Check every place in a free-form word that could be a path: the word itself, the value
 * after an '=', and each suffix starting at a '/' ("-f/etc/shadow", "r /etc/shadow" in a
 * sed script). This is the net under the per-program rules: it refuses more than it must
 * (a grep pattern that spells a secret path) and that is the intended trade. */
int path_check_word(const struct path_rules *r, const char *word, enum path_use use,
                    struct diag *d);

#endif
