/* path_rules.c - the denied places of the bash tool, and the canonicalisation that keeps
 * "../" and symlinks from walking around them. See path_rules.h for the contract. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edge/tools/path_rules.h"
#include "shared/alloc.h"
#include "shared/str.h"
#include "shared/banned.h"

/* How much of a file is looked at for a private key: a certificate bundle puts the key
 * after the certificates (a few KiB each), so the first page is not enough. */
#define PATH_KEY_SCAN_BYTES ((size_t)64 * 1024)

/* Path-like pieces checked in one word (a sed script with 20 substitutions has 60). */
#define PATH_WORD_MAX_PIECES 128

/* Places whose names or contents are secrets: refused even to ls and stat. Each with the
 * reason a user sees. */
static const struct {
	const char *path;
	const char *why;
} fixed_deny[] = {
	{ "/etc/shadow", "password hashes" },
	{ "/etc/shadow-", "password hashes" },
	{ "/etc/gshadow", "group password hashes" },
	{ "/etc/gshadow-", "group password hashes" },
	{ "/etc/security/opasswd", "old password hashes" },
	{ "/var/backups/shadow.bak", "password hashes" },
	{ "/var/backups/gshadow.bak", "group password hashes" },
	{ "/etc/ssl/private", "TLS private keys" },
	{ "/etc/krb5.keytab", "Kerberos keys" },
	{ "/etc/NetworkManager/system-connections", "network credentials" },
	{ "/etc/wireguard", "VPN keys" },
	{ "/etc/ppp/chap-secrets", "PPP credentials" },
	{ "/etc/ppp/pap-secrets", "PPP credentials" },
	{ "/dev/mem", "physical memory" },
	{ "/dev/kmem", "kernel memory" },
	{ "/dev/port", "I/O ports" },
	{ "/proc/kcore", "kernel memory" },
	/* gawk opens network connections for these names */
	{ "/inet", "network special file" },
	{ "/inet4", "network special file" },
	{ "/inet6", "network special file" },
};

/* Directory names that hold credentials wherever they are (any user's home). */
static const char *const secret_dirs[] = {
	".ssh",         ".gnupg",  ".aws",
	".kube",        ".docker", ".password-store",
	".netrc",       ".pgpass", ".git-credentials",
	".vault-token", ".my.cnf", ".pypirc",
	".npmrc",
};

/* Names of private key files. */
static const char *const key_suffixes[] = { ".key", "_key", ".p12", ".pfx", ".jks", ".keystore" };
static const char *const key_names[] = { "id_rsa",     "id_dsa",      "id_ecdsa",
	                                 "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk" };

/* Links in /proc that lead into another process's view of the file system or its open
 * files: following them skips every rule above (a container's root, a pipe's contents). */
static const char *const proc_links[] = { "root", "cwd", "fd", "map_files", "exe" };
static const char *const proc_secret[] = { "environ", "mem", "pagemap" };

static bool under(const char *p, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n == 1 && prefix[0] == '/')
		return true;
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	return strncmp(p, prefix, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* Lexical normalisation against "/": collapse "//", "." and "..". */
static int normalise(const char *in, char *out, size_t outsz)
{
	char tmp[PATH_MAX];
	size_t o = 0;
	const char *p = in;

	if (strlen(in) + 2 > sizeof(tmp))
		return -E2BIG;
	out[0] = '\0';
	while (*p) {
		const char *s;
		size_t n;

		while (*p == '/')
			p++;
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && tmp[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + n + 2 > sizeof(tmp))
			return -E2BIG;
		tmp[o++] = '/';
		memcpy(tmp + o, s, n);
		o += n;
	}
	if (o == 0)
		tmp[o++] = '/';
	tmp[o] = '\0';
	if (o + 1 > outsz)
		return -E2BIG;
	memcpy(out, tmp, o + 1);
	return 0;
}

/* Resolve as far as the path exists: realpath() of the longest existing prefix, then the
 * rest lexically. A path through a missing directory cannot be opened, but its spelled
 * target still must not be a denied place. The prefix is found walking forward, so a long
 * path of missing components costs one failed lookup each, not one per suffix. */
static int resolve(const char *lex, char *out, size_t outsz)
{
	char cur[PATH_MAX], prefix[PATH_MAX], real[PATH_MAX], good[PATH_MAX], joined[PATH_MAX * 2],
	        target[PATH_MAX];
	int r;

	if (strlen(lex) + 1 > sizeof(cur))
		return -E2BIG;
	memcpy(cur, lex, strlen(lex) + 1);
	/* a dangling symlink on the way is followed by its text: it may point at a denied
	 * place that does not exist yet (~/.ssh before the first key), bounded like the
	 * kernel's own limit on links in a path */
	for (int links = 0; links <= 40; links++) {
		size_t n = strlen(cur), good_len = 0;
		ssize_t tl = -1;

		if (realpath(cur, real))
			return normalise(real, out, outsz);
		good[0] = '/';
		good[1] = '\0';
		for (size_t i = 1; i <= n; i++) {
			if (cur[i] != '/' && cur[i] != '\0')
				continue;
			memcpy(prefix, cur, i);
			prefix[i] = '\0';
			if (!realpath(prefix, real)) {
				tl = readlink(prefix, target, sizeof(target) - 1);
				break;
			}
			memcpy(good, real, strlen(real) + 1);
			good_len = i;
		}
		if (tl <= 0) {
			snprintf(joined, sizeof(joined), "%s/%s", good, cur + good_len);
			return normalise(joined, out, outsz);
		}
		/* prefix is a link whose target is missing: continue from its target */
		target[tl] = '\0';
		{
			size_t plen = strlen(prefix);
			const char *rest = cur + plen;

			if (target[0] == '/')
				r = snprintf(joined, sizeof(joined), "%s%s", target, rest);
			else
				r = snprintf(joined, sizeof(joined), "%s/%s%s", good, target, rest);
		}
		if (r < 0 || (size_t)r >= sizeof(cur))
			return -E2BIG;
		r = normalise(joined, cur, sizeof(cur));
		if (r < 0)
			return r;
	}
	return -ELOOP;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Rules every use obeys. */
static int check_secret(const struct path_rules *r, const char *p, const char *shown,
                        struct diag *d)
{
	const char *base = basename_of(p);

	for (size_t i = 0; i < sizeof(fixed_deny) / sizeof(fixed_deny[0]); i++)
		if (under(p, fixed_deny[i].path))
			return diag_set(d, -EPERM, "path '%s' is in a denied place (%s: %s)", shown,
			                fixed_deny[i].path, fixed_deny[i].why);
	if (r && r->data_dir && *r->data_dir && under(p, r->data_dir))
		return diag_set(d, -EPERM, "path '%s' is in ongrid's data directory '%s'", shown,
		                r->data_dir);
	if (under(p, r && r->conf_dir && *r->conf_dir ? r->conf_dir : "/etc/ongrid"))
		return diag_set(d, -EPERM,
		                "path '%s' is in ongrid's configuration and key directory", shown);
	for (size_t i = 0; r && i < r->ndeny; i++)
		if (r->deny[i] && *r->deny[i] && under(p, r->deny[i]))
			return diag_set(d, -EPERM,
			                "path '%s' is in a denied place (%s, tools.deny_paths)",
			                shown, r->deny[i]);
	/* a credential directory anywhere on the path */
	for (const char *c = p; *c;) {
		const char *e;
		size_t n;

		while (*c == '/')
			c++;
		e = strchr(c, '/');
		n = e ? (size_t)(e - c) : strlen(c);
		for (size_t i = 0; i < sizeof(secret_dirs) / sizeof(secret_dirs[0]); i++)
			if (n == strlen(secret_dirs[i]) && strncmp(c, secret_dirs[i], n) == 0)
				return diag_set(d, -EPERM,
				                "path '%s' is in a denied place (%s: credentials)",
				                shown, secret_dirs[i]);
		c += n;
	}
	for (size_t i = 0; i < sizeof(key_suffixes) / sizeof(key_suffixes[0]); i++)
		if (str_endswith(base, key_suffixes[i]) && strlen(base) > strlen(key_suffixes[i]))
			return diag_set(d, -EPERM, "path '%s' looks like a private key (*%s)",
			                shown, key_suffixes[i]);
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (strcmp(base, key_names[i]) == 0)
			return diag_set(d, -EPERM, "path '%s' looks like a private key (%s)", shown,
			                key_names[i]);
	if (under(p, "/proc")) {
		bool link = false;

		for (const char *c = p + 5; *c;) {
			const char *e;
			size_t n;

			while (*c == '/')
				c++;
			if (!*c)
				break;
			e = strchr(c, '/');
			n = e ? (size_t)(e - c) : strlen(c);
			if (link)
				return diag_set(d, -EPERM,
				                "path '%s' goes through a /proc link into another "
				                "process's files",
				                shown);
			for (size_t i = 0; i < sizeof(proc_secret) / sizeof(proc_secret[0]); i++)
				if (n == strlen(proc_secret[i]) &&
				    strncmp(c, proc_secret[i], n) == 0)
					return diag_set(
					        d, -EPERM,
					        "path '%s' is a process's %s (denied: it holds "
					        "secrets)",
					        shown, proc_secret[i]);
			for (size_t i = 0; i < sizeof(proc_links) / sizeof(proc_links[0]); i++)
				if (n == strlen(proc_links[i]) &&
				    strncmp(c, proc_links[i], n) == 0 &&
				    strcmp(proc_links[i], "fd") != 0)
					link = true;
			/* /proc/PID/fd lists, /proc/PID/fd/N is another process's open file */
			if (n == 2 && strncmp(c, "fd", 2) == 0 && e && e[1])
				link = true;
			c += n;
		}
	}
	return 0;
}

/* read() until n bytes or end of file (a pipe-like file in /sys may return less). */
static ssize_t read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got ? (ssize_t)got : r;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static bool same_inode(const char *path, const struct stat *st)
{
	struct stat ds;

	return stat(path, &ds) == 0 && S_ISREG(ds.st_mode) && ds.st_dev == st->st_dev &&
	       ds.st_ino == st->st_ino;
}

/* Is st one of the denied regular files? *ret_which is the fixed_deny index, or -(i + 1)
 * for r->deny[i]. */
static bool same_file_as_denied(const struct path_rules *r, const struct stat *st,
                                ssize_t *ret_which)
{
	for (size_t i = 0; i < sizeof(fixed_deny) / sizeof(fixed_deny[0]); i++)
		if (same_inode(fixed_deny[i].path, st)) {
			*ret_which = (ssize_t)i;
			return true;
		}
	for (size_t i = 0; r && i < r->ndeny; i++)
		if (r->deny[i] && same_inode(r->deny[i], st)) {
			*ret_which = -(ssize_t)i - 1;
			return true;
		}
	return false;
}

/* Rules for programs that read contents. */
static int check_read(const struct path_rules *r, const char *p, const char *shown, bool real,
                      struct diag *d)
{
	if (under(p, "/dev") && strcmp(p, "/dev/null") != 0)
		return diag_set(d, -EPERM, "path '%s' is a device; only /dev/null may be read",
		                shown);
	if (under(p, "/proc")) {
		for (size_t i = 0; i < sizeof(proc_links) / sizeof(proc_links[0]); i++) {
			char needle[32];

			snprintf(needle, sizeof(needle), "/%s", proc_links[i]);
			for (const char *c = strstr(p, needle); c; c = strstr(c + 1, needle))
				if (c[strlen(needle)] == '\0' || c[strlen(needle)] == '/')
					return diag_set(d, -EPERM,
					                "path '%s' reads through /proc/PID/%s, "
					                "another process's files",
					                shown, proc_links[i]);
		}
	}
	if (r && r->nread_roots > 0) {
		bool ok = false;

		for (size_t i = 0; i < r->nread_roots && !ok; i++)
			ok = r->read_roots[i] && under(p, r->read_roots[i]);
		if (!ok)
			return diag_set(d, -EPERM, "path '%s' is outside tools.read_paths", shown);
	}
	if (real && !under(p, "/proc") && !under(p, "/sys")) {
		struct stat st;
		char *head;
		bool key;
		ssize_t n;
		int fd;

		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			return 0;
		/* a hard link or a bind mount of a denied file has another name, not another
		 * inode */
		if (same_file_as_denied(r, &st, &n))
			return diag_set(
			        d, -EPERM, "path '%s' is the same file as the denied %s", shown,
			        n >= 0 && (size_t)n < sizeof(fixed_deny) / sizeof(fixed_deny[0])
			                ? fixed_deny[n].path
			                : r->deny[-n - 1]);
		fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return 0;
		head = xmalloc(PATH_KEY_SCAN_BYTES);
		n = read_full(fd, head, PATH_KEY_SCAN_BYTES);
		close(fd);
		key = n > 0 && memmem(head, (size_t)n, "PRIVATE KEY-----", 16);
		free(head);
		if (key)
			return diag_set(d, -EPERM, "path '%s' holds a private key", shown);
	}
	return 0;
}

static int canon(const char *path, char *lex, char *real, struct diag *d)
{
	char abs[PATH_MAX + 2];
	int r;

	if (strlen(path) >= PATH_MAX)
		return diag_set(d, -E2BIG, "path '%.64s...' is longer than PATH_MAX", path);
	snprintf(abs, sizeof(abs), "%s%s", path[0] == '/' ? "" : "/", path);
	if (normalise(abs, lex, PATH_MAX) < 0)
		return diag_set(d, -E2BIG, "path '%.64s...' is longer than PATH_MAX", path);
	r = resolve(lex, real, PATH_MAX);
	if (r == -ELOOP)
		return diag_set(d, -ELOOP, "path '%.64s' goes through more than 40 symbolic links",
		                path);
	if (r < 0)
		return diag_set(d, -E2BIG, "path '%.64s...' resolves past PATH_MAX", path);
	return 0;
}

int path_check(const struct path_rules *r, const char *path, enum path_use use, struct diag *d)
{
	char lex[PATH_MAX], real[PATH_MAX];
	int ret;

	if (!*path || strcmp(path, "-") == 0)
		return 0;
	ret = canon(path, lex, real, d);
	if (ret < 0)
		return ret;
	/* Check what was written (a /proc/1/root/... spelling) and where it lands. */
	ret = check_secret(r, lex, path, d);
	if (ret == 0)
		ret = check_secret(r, real, path, d);
	if (ret == 0 && use == PATH_READ)
		ret = check_read(r, lex, path, false, d);
	if (ret == 0 && use == PATH_READ)
		ret = check_read(r, real, path, true, d);
	return ret;
}

int path_check_tree(const struct path_rules *r, const char *dir, struct diag *d)
{
	static const char *const trees[] = { "/proc", "/sys", "/dev" };
	char lex[PATH_MAX], real[PATH_MAX];
	int ret = path_check(r, dir, PATH_READ, d);

	if (ret < 0)
		return ret;
	ret = canon(dir, lex, real, d);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++)
		if (under(real, trees[i]) || under(trees[i], real))
			return diag_set(d, -EPERM,
			                "directory '%s' is or contains %s; read single files there "
			                "instead",
			                dir, trees[i]);
	for (size_t i = 0; i < sizeof(fixed_deny) / sizeof(fixed_deny[0]); i++)
		if (under(fixed_deny[i].path, real))
			return diag_set(d, -EPERM, "directory '%s' contains the denied place %s",
			                dir, fixed_deny[i].path);
	if (r && r->data_dir && *r->data_dir && under(r->data_dir, real))
		return diag_set(d, -EPERM, "directory '%s' contains ongrid's data directory", dir);
	if (under(r && r->conf_dir && *r->conf_dir ? r->conf_dir : "/etc/ongrid", real))
		return diag_set(d, -EPERM, "directory '%s' contains ongrid's key directory", dir);
	for (size_t i = 0; r && i < r->ndeny; i++)
		if (r->deny[i] && *r->deny[i] && under(r->deny[i], real))
			return diag_set(d, -EPERM, "directory '%s' contains the denied place %s",
			                dir, r->deny[i]);
	return 0;
}

/* Characters that end a path inside a free-form word (a script, a filter expression). */
static bool ends_path(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '"' || c == '\'' || c == ';' ||
	       c == ',' || c == '(' || c == ')' || c == '<' || c == '>' || c == '{' || c == '}' ||
	       c == '|' || c == '=' || c == '`';
}

int path_check_word(const struct path_rules *r, const char *word, enum path_use use, struct diag *d)
{
	char piece[PATH_MAX];
	size_t len = strlen(word);
	int ret;

	if (len >= PATH_MAX)
		return diag_set(d, -E2BIG, "argument '%.64s...' is longer than PATH_MAX", word);
	ret = path_check(r, word, use, d);
	if (ret < 0)
		return ret;
	for (size_t i = 0, pieces = 0; i < len; i++) {
		size_t n = 0;

		/* the value after '=' and every run that starts at a '/' */
		if (!(word[i] == '/' || (i > 0 && ends_path(word[i - 1]))))
			continue;
		/* each piece costs a few lookups; a word that is mostly slashes is not a
		 * diagnostic command and must not make the check itself slow */
		if (++pieces > PATH_WORD_MAX_PIECES)
			return diag_set(d, -EPERM,
			                "argument '%.40s...' has more than %d path-like parts",
			                word, PATH_WORD_MAX_PIECES);
		while (!ends_path(word[i + n]))
			n++;
		if (n == 0)
			continue;
		memcpy(piece, word + i, n);
		piece[n] = '\0';
		ret = path_check(r, piece, use, d);
		if (ret < 0)
			return ret;
	}
	return 0;
}
