/* test_argv_policy: the bash tool's splitter, allowlist and path rules. Every line of
 * tests/fixtures/hostile-commands.txt must be refused, every line of benign-commands.txt
 * accepted, and the rewrites (egrep, sed --sandbox, grep -r excludes) must happen. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/tools/argv_policy.h"
#include "shared/alloc.h"

static const char *const deny_extra[] = { "/srv/private" };
static const struct path_rules rules = {
	.deny = deny_extra,
	.ndeny = 1,
	.data_dir = "/var/lib/ongrid",
	.conf_dir = "/etc/ongrid",
};

/* The fixtures live beside the sources: found from the working directory (tests/run runs
 * from the top of the tree) or from the binary (build/san/tests/). */
static FILE *open_fixture(const char *name)
{
	char path[PATH_MAX + 64], exe[PATH_MAX];
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "tests/fixtures/%s", name);
	f = fopen(path, "r");
	if (f)
		return f;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	for (int i = 0; i < 4; i++)
		*strrchr(exe, '/') = '\0';
	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", exe, name);
	f = fopen(path, "r");
	assert_non_null(f);
	return f;
}

static int vet(const char *cmd, char **ret_formatted, struct diag *d)
{
	struct argv_line l;
	int r;

	memset(d, 0, sizeof(*d));
	r = argv_policy_vet(&rules, cmd, &l, d);
	if (r == 0) {
		if (ret_formatted)
			*ret_formatted = argv_line_format(&l);
		argv_line_release(&l);
	}
	return r;
}

static void every_hostile_command_is_refused_with_a_reason(void **state)
{
	FILE *f = open_fixture("hostile-commands.txt");
	char line[8192];
	int n = 0, accepted = 0;

	(void)state;
	while (fgets(line, sizeof(line), f)) {
		struct diag d;
		char *ran = NULL;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		n++;
		if (vet(line, &ran, &d) == 0) {
			print_message("ACCEPTED hostile command: %s\n  as: %s\n", line, ran);
			accepted++;
			free(ran);
			continue;
		}
		if (d.msg[0] == '\0') {
			print_message("refused without a reason: %s\n", line);
			accepted++;
		}
	}
	fclose(f);
	assert_true(n >= 100);
	assert_int_equal(accepted, 0);
}

static void every_benign_command_is_accepted(void **state)
{
	FILE *f = open_fixture("benign-commands.txt");
	char line[8192];
	int n = 0, refused = 0;

	(void)state;
	while (fgets(line, sizeof(line), f)) {
		struct diag d;
		char *ran = NULL;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		n++;
		if (vet(line, &ran, &d) < 0) {
			print_message("REFUSED benign command: %s\n  because: %s\n", line, d.msg);
			refused++;
		}
		free(ran);
	}
	fclose(f);
	assert_true(n >= 50);
	assert_int_equal(refused, 0);
}

static void splitting_follows_shell_quoting(void **state)
{
	struct argv_line l;
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(argv_split("grep -e 'a b' \"c\\\"d\" e\\ f ''", &l, &d), 0);
	assert_int_equal(l.nstages, 1);
	assert_int_equal(l.stage[0].argc, 6);
	assert_string_equal(l.stage[0].argv[2], "a b");
	assert_string_equal(l.stage[0].argv[3], "c\"d");
	assert_string_equal(l.stage[0].argv[4], "e f");
	assert_string_equal(l.stage[0].argv[5], "");
	assert_null(l.stage[0].argv[6]);
	argv_line_release(&l);

	/* quoted metacharacters are plain text for the program */
	assert_int_equal(argv_split("grep 'a;b|c>d$(e)*' f", &l, &d), 0);
	assert_string_equal(l.stage[0].argv[1], "a;b|c>d$(e)*");
	argv_line_release(&l);

	assert_int_equal(argv_split("ps aux|grep  x | head", &l, &d), 0);
	assert_int_equal(l.nstages, 3);
	assert_string_equal(l.stage[1].argv[0], "grep");
	assert_string_equal(l.stage[2].argv[0], "head");
	argv_line_release(&l);
}

static void refusals_name_the_construct(void **state)
{
	static const struct {
		const char *cmd, *needle;
		int code;
	} cases[] = {
		{ "ls; id", "';'", -EPERM },
		{ "ls && id", "'&&'", -EPERM },
		{ "ls || id", "'||'", -EPERM },
		{ "ls > x", "redirection", -EPERM },
		{ "ls $(id)", "command substitution", -EPERM },
		{ "ls ${X}", "parameter expansion", -EPERM },
		{ "ls `id`", "command substitution", -EPERM },
		{ "ls *", "glob", -EPERM },
		{ "ls ~", "tilde", -EPERM },
		{ "ls\nid", "newline", -EPERM },
		{ "ls\rid", "newline", -EPERM },
		{ "ls\x01", "control character 0x01", -EPERM },
		{ "ls 'x", "unterminated single quote", -EINVAL },
		{ "ls \"x", "unterminated double quote", -EINVAL },
		{ "", "empty command", -EINVAL },
		{ "ls |", "nothing after '|'", -EINVAL },
		{ "X=1 ls", "environment assignments", -EPERM },
		{ "ls | ls | ls | ls | ls", "at most 4", -E2BIG },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct argv_line l;
		struct diag d = { 0 };
		int r = argv_split(cases[i].cmd, &l, &d);

		if (r != cases[i].code || !strstr(d.msg, cases[i].needle))
			fail_msg("'%s': got %d '%s', wanted %d and '%s'", cases[i].cmd, r, d.msg,
			         cases[i].code, cases[i].needle);
	}
}

static void limits_are_enforced(void **state)
{
	char *big = xmalloc(ONGRID_TOOL_CMD_MAX_BYTES + 2);
	struct argv_line l;
	struct diag d = { 0 };

	(void)state;
	memset(big, 'a', ONGRID_TOOL_CMD_MAX_BYTES + 1);
	big[ONGRID_TOOL_CMD_MAX_BYTES + 1] = '\0';
	assert_int_equal(argv_split(big, &l, &d), -E2BIG);
	/* 129 words */
	for (int i = 0; i < 129; i++) {
		big[2 * i] = 'a';
		big[2 * i + 1] = ' ';
	}
	big[258] = '\0';
	assert_int_equal(argv_split(big, &l, &d), -E2BIG);
	/* an option cluster longer than the options table */
	memset(big, 'v', 1000);
	memcpy(big, "cat -", 5);
	big[1000] = '\0';
	assert_int_equal(vet(big, NULL, &d), -E2BIG);
	/* a word of slashes is refused by count, not checked piece by piece for seconds */
	memcpy(big, "cat ", 4);
	for (int i = 4; i < 4000; i += 2) {
		big[i] = 'a';
		big[i + 1] = '/';
	}
	big[4000] = '\0';
	assert_int_equal(vet(big, NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "path-like parts"));
	free(big);
}

static void reasons_name_the_option_and_why(void **state)
{
	struct diag d;

	(void)state;
	assert_int_equal(vet("sed -i s/a/b/ /etc/hosts", NULL, &d), -EPERM);
	assert_string_equal(d.msg, "sed: option '-i' is not allowed: edits files in place");
	assert_int_equal(vet("sed --in-pl s/a/b/ /etc/hosts", NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "--in-place"));
	assert_int_equal(vet("rm -rf /", NULL, &d), -EPERM);
	assert_string_equal(d.msg, "program 'rm' is not in the read-only allowlist");
	assert_int_equal(vet("cat /etc/shadow", NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "password hashes"));
	assert_int_equal(vet("find / -delete", NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "'-delete'"));
	assert_int_equal(vet("awk 'BEGIN{system(\"id\")}'", NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "system"));
	assert_int_equal(vet("ls /srv/private/x", NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "tools.deny_paths"));
}

static void rewrites_make_programs_safe_in_their_own_terms(void **state)
{
	struct diag d;
	char *s = NULL;

	(void)state;
	assert_int_equal(vet("egrep 'a|b' /etc/services", &s, &d), 0);
	assert_string_equal(s, "grep -E 'a|b' /etc/services");
	free(s);
	assert_int_equal(vet("sed -n 1p /etc/hosts", &s, &d), 0);
	assert_string_equal(s, "sed --sandbox -n 1p /etc/hosts");
	free(s);
	assert_int_equal(vet("grep -r error /var/log", &s, &d), 0);
	assert_non_null(strstr(s, "--exclude-dir=.ssh"));
	assert_non_null(strstr(s, "'--exclude=*.key'"));
	free(s);
}

static void symlinks_and_private_keys_are_seen_through(void **state)
{
	char dir[] = "/tmp/ongrid-argv-XXXXXX", link[PATH_MAX], key[PATH_MAX], cmd[PATH_MAX * 2];
	struct diag d;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/innocent.txt", dir);
	assert_int_equal(symlink("/etc/shadow", link), 0);
	snprintf(cmd, sizeof(cmd), "cat %s", link);
	assert_int_equal(vet(cmd, NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "/etc/shadow"));

	/* a key by content, whatever its name */
	snprintf(key, sizeof(key), "%s/notes.txt", dir);
	f = fopen(key, "w");
	assert_non_null(f);
	fputs("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "head -n 1 %s", key);
	assert_int_equal(vet(cmd, NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, "private key"));
	/* listing it is fine: names and sizes are not the secret */
	snprintf(cmd, sizeof(cmd), "ls -l %s", key);
	assert_int_equal(vet(cmd, NULL, &d), 0);

	{
		char bundle[PATH_MAX];

		/* a certificate bundle with its key after 5 KiB of certificates is a key too */
		snprintf(bundle, sizeof(bundle), "%s/site.crt", dir);
		f = fopen(bundle, "w");
		assert_non_null(f);
		for (int i = 0; i < 3; i++) {
			fputs("-----BEGIN CERTIFICATE-----\n", f);
			for (int j = 0; j < 30; j++)
				fputs("MIIDdzCCAl+"
				      "gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n",
				      f);
			fputs("-----END CERTIFICATE-----\n", f);
		}
		fputs("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
		      "-----END PRIVATE KEY-----\n",
		      f);
		assert_true(ftell(f) > 5000);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "cat %s", bundle);
		assert_int_equal(vet(cmd, NULL, &d), -EPERM);
		assert_non_null(strstr(d.msg, "holds a private key"));
		unlink(bundle);
	}

	/* a symlinked directory into a denied place, spelled through a missing file */
	snprintf(link, sizeof(link), "%s/sshdir", dir);
	assert_int_equal(symlink("/root/.ssh", link), 0);
	snprintf(cmd, sizeof(cmd), "cat %s/missing/../id_rsa.pub", link);
	assert_int_equal(vet(cmd, NULL, &d), -EPERM);
	unlink(link);

	/* a dangling link is judged by what it names, which may not exist yet */
	snprintf(link, sizeof(link), "%s/later", dir);
	assert_int_equal(symlink("/nonexistent-ongrid/../root/.aws/credentials", link), 0);
	snprintf(cmd, sizeof(cmd), "cat %s", link);
	assert_int_equal(vet(cmd, NULL, &d), -EPERM);
	assert_non_null(strstr(d.msg, ".aws"));
	unlink(link);

	/* two links naming each other: refused, not followed for ever */
	{
		char a[PATH_MAX], b[PATH_MAX];

		snprintf(a, sizeof(a), "%s/a", dir);
		snprintf(b, sizeof(b), "%s/b", dir);
		assert_int_equal(symlink(b, a), 0);
		assert_int_equal(symlink(a, b), 0);
		snprintf(cmd, sizeof(cmd), "cat %s/x", a);
		assert_int_equal(vet(cmd, NULL, &d), -ELOOP);
		assert_non_null(strstr(d.msg, "symbolic links"));
		unlink(a);
		unlink(b);
	}

	unlink(key);
	snprintf(link, sizeof(link), "%s/sshdir", dir);
	unlink(link);
	snprintf(link, sizeof(link), "%s/innocent.txt", dir);
	unlink(link);
	rmdir(dir);
}

static void a_hard_link_to_a_denied_file_is_the_denied_file(void **state)
{
	char dir[] = "/tmp/ongrid-argv-XXXXXX", secret[PATH_MAX], alias[PATH_MAX],
	     cmd[PATH_MAX * 2];
	const char *deny[1];
	struct path_rules r = rules;
	struct argv_line l;
	struct diag d = { 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(alias, sizeof(alias), "%s/harmless.log", dir);
	f = fopen(secret, "w");
	assert_non_null(f);
	fputs("token\n", f);
	fclose(f);
	assert_int_equal(link(secret, alias), 0);
	deny[0] = secret;
	r.deny = deny;
	r.ndeny = 1;
	snprintf(cmd, sizeof(cmd), "tail -n 1 %s", alias);
	assert_int_equal(argv_policy_vet(&r, cmd, &l, &d), -EPERM);
	assert_non_null(strstr(d.msg, "same file as the denied"));
	unlink(alias);
	unlink(secret);
	rmdir(dir);
}

static void read_roots_bound_readers_but_not_patterns(void **state)
{
	static const char *const roots[] = { "/etc" };
	struct path_rules r = rules;
	struct argv_line l;
	struct diag d = { 0 };

	(void)state;
	r.read_roots = roots;
	r.nread_roots = 1;
	assert_int_equal(argv_policy_vet(&r, "grep error /etc/services", &l, &d), 0);
	argv_line_release(&l);
	assert_int_equal(argv_policy_vet(&r, "cat /var/log/dpkg.log", &l, &d), -EPERM);
	assert_non_null(strstr(d.msg, "outside tools.read_paths"));
	/* ls only looks at names */
	assert_int_equal(argv_policy_vet(&r, "ls /var/log", &l, &d), 0);
	argv_line_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_hostile_command_is_refused_with_a_reason),
		cmocka_unit_test(every_benign_command_is_accepted),
		cmocka_unit_test(splitting_follows_shell_quoting),
		cmocka_unit_test(refusals_name_the_construct),
		cmocka_unit_test(limits_are_enforced),
		cmocka_unit_test(reasons_name_the_option_and_why),
		cmocka_unit_test(rewrites_make_programs_safe_in_their_own_terms),
		cmocka_unit_test(symlinks_and_private_keys_are_seen_through),
		cmocka_unit_test(a_hard_link_to_a_denied_file_is_the_denied_file),
		cmocka_unit_test(read_roots_bound_readers_but_not_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
