/* test_gate: try to get a tool to run without passing the gate. Test tools count their
 * runs; every refusal below must leave the count where it was. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/edge.h"
#include "edge/tools/approvals.h"
#include "edge/tools/gate.h"
#include "shared/json.h"

static int runs[3];

static int count_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence, int which)
{
	(void)args;
	runs[which]++;
	*ret_evidence = json_obj();
	json_add_str(*ret_evidence, "finding", "ran");
	json_add_str(*ret_evidence, "identity", ctx->identity);
	return 0;
}

static int read_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret)
{
	return count_run(ctx, args, ret, TOOL_SAFE_READ);
}

static int write_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret)
{
	return count_run(ctx, args, ret, TOOL_SAFE_WRITE);
}

static int danger_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret)
{
	return count_run(ctx, args, ret, TOOL_DANGEROUS);
}

/* a tool that tries to talk its way down to safe-read */
static int lower_classify(struct tool_ctx *ctx, const cJSON *args, enum tool_class *ret,
                          struct diag *why)
{
	(void)ctx;
	(void)args;
	(void)why;
	*ret = TOOL_SAFE_READ;
	return 0;
}

/* a read tool whose argument can make one call dangerous */
static int raise_classify(struct tool_ctx *ctx, const cJSON *args, enum tool_class *ret,
                          struct diag *why)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(args, "x");

	(void)ctx;
	*ret = cJSON_IsNumber(x) && x->valuedouble > 10 ? TOOL_DANGEROUS : TOOL_SAFE_READ;
	if (*ret == TOOL_DANGEROUS)
		diag_set(why, 0, "x over 10");
	return 0;
}

#define SCHEMA                                                                              \
	"{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\",\"minimum\":0}}," \
	"\"additionalProperties\":false}"

static const struct tool t_read = { "t_read", TOOL_SAFE_READ, "r", "r", SCHEMA, read_run, NULL };
static const struct tool t_write = {
	"t_write", TOOL_SAFE_WRITE, "w", "w", SCHEMA, write_run, NULL
};
static const struct tool t_danger = { "t_danger", TOOL_DANGEROUS, "d",           "d",
	                              SCHEMA,     danger_run,     lower_classify };
static const struct tool t_raise = { "t_raise", TOOL_SAFE_READ, "x",           "x",
	                             SCHEMA,    danger_run,     raise_classify };
static const struct tool *const test_tools[] = { &t_read, &t_write, &t_danger, &t_raise };

struct world {
	struct edge_conf conf;
	struct gate *g;
	char dir[64];
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct diag d = { 0 };

	conf_defaults(&edge_conf_table, &w->conf);
	snprintf(w->dir, sizeof(w->dir), "/tmp/ongrid-gate-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	free(w->conf.data_dir);
	w->conf.data_dir = strdup(w->dir);
	assert_int_equal(gate_open(&w->conf, test_tools, 4, &w->g, &d), 0);
	memset(runs, 0, sizeof(runs));
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	char cmd[128];

	gate_close(w->g);
	conf_release(&edge_conf_table, &w->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
	assert_int_equal(system(cmd), 0);
	free(w);
	return 0;
}

static const char *status_of(const cJSON *res)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(res, "status");
	return cJSON_IsString(s) ? s->valuestring : "";
}

static char *propose(struct world *w, const char *tool, const char *args, const char *who_id)
{
	struct gate_caller who = { "admin", who_id };
	struct diag d = { 0 };
	cJSON *res = NULL;
	char *id;

	assert_int_equal(gate_call(w->g, tool, args, &who, &res, &d), 0);
	assert_string_equal(status_of(res), "proposed");
	id = strdup(cJSON_GetObjectItemCaseSensitive(res, "id")->valuestring);
	cJSON_Delete(res);
	return id;
}

static int decide(struct world *w, const char *id, const char *who, bool approve, char *status,
                  size_t n)
{
	struct diag d = { 0 };
	cJSON *res = NULL;
	int r = gate_decide(w->g, id, who, approve, &res, &d);

	if (status)
		snprintf(status, n, "%s", r == 0 ? status_of(res) : d.msg);
	cJSON_Delete(res);
	return r;
}

static void roles_by_classes_matrix(void **state)
{
	static const struct {
		const char *role, *tool, *outcome; /* executed, proposed, refused */
	} m[] = {
		{ "viewer", "t_read", "executed" },    { "viewer", "t_write", "refused" },
		{ "viewer", "t_danger", "refused" },   { "operator", "t_read", "executed" },
		{ "operator", "t_write", "executed" }, { "operator", "t_danger", "refused" },
		{ "admin", "t_read", "executed" },     { "admin", "t_write", "executed" },
		{ "admin", "t_danger", "proposed" },
	};
	struct world *w = *state;

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct gate_caller who = { m[i].role, "tester" };
		struct diag d = { 0 };
		int before[3] = { runs[0], runs[1], runs[2] };
		cJSON *res = NULL;
		int r = gate_call(w->g, m[i].tool, "{}", &who, &res, &d);
		const char *got = r == -EPERM ? "refused" : r == 0 ? status_of(res) : d.msg;

		if (strcmp(got, m[i].outcome) != 0)
			fail_msg("%s calling %s: got '%s', wanted '%s'", m[i].role, m[i].tool, got,
			         m[i].outcome);
		if (strcmp(m[i].outcome, "executed") != 0)
			assert_memory_equal(before, runs, sizeof(runs));
		if (r == -EPERM)
			assert_non_null(strstr(d.msg, m[i].role));
		cJSON_Delete(res);
	}
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
}

static void bad_input_runs_nothing(void **state)
{
	struct world *w = *state;
	struct gate_caller admin = { "admin", "tester" }, nobody = { "root", "tester" };
	struct diag d = { 0 };
	cJSON *res = NULL;

	assert_int_equal(gate_call(w->g, "t_read", "{\"x\":\"1\"}", &admin, &res, &d), -EINVAL);
	assert_string_equal(d.msg, "args.x: expected an integer, got a string");
	assert_int_equal(gate_call(w->g, "t_read", "{\"y\":1}", &admin, &res, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "args.y: unknown field"));
	assert_int_equal(gate_call(w->g, "t_read", "{\"x\":", &admin, &res, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "args: invalid JSON"));
	assert_int_equal(gate_call(w->g, "t_nope", "{}", &admin, &res, &d), -ENOENT);
	assert_int_equal(gate_call(w->g, "t_read", "{}", &nobody, &res, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown role 'root'"));
	assert_null(res);
	assert_int_equal(runs[0] + runs[1] + runs[2], 0);
}

static void dangerous_never_runs_without_approval(void **state)
{
	struct world *w = *state;
	char st[512];
	char *id = propose(w, "t_danger", "{\"x\":1}", "bob");

	/* a classify() that says safe-read does not lower a dangerous tool */
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	assert_int_equal(decide(w, "0123456789abcdef", "alice", true, st, sizeof(st)), -ENOENT);
	assert_int_equal(decide(w, "../../etc/passwd", "alice", true, st, sizeof(st)), -ENOENT);
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), 0);
	assert_string_equal(st, "executed");
	assert_int_equal(runs[TOOL_DANGEROUS], 1);
	/* it ran once; approving again does not run it again */
	assert_int_equal(decide(w, id, "carol", true, st, sizeof(st)), -EALREADY);
	assert_int_equal(runs[TOOL_DANGEROUS], 1);
	free(id);
}

static void a_call_can_be_raised_but_not_lowered(void **state)
{
	struct world *w = *state;
	struct gate_caller viewer = { "viewer", "v" };
	struct diag d = { 0 };
	cJSON *res = NULL;
	char *id;

	assert_int_equal(gate_call(w->g, "t_raise", "{\"x\":3}", &viewer, &res, &d), 0);
	assert_string_equal(status_of(res), "executed");
	cJSON_Delete(res);
	res = NULL;
	assert_int_equal(gate_call(w->g, "t_raise", "{\"x\":30}", &viewer, &res, &d), -EPERM);
	assert_non_null(strstr(d.msg, "x over 10"));
	id = propose(w, "t_raise", "{\"x\":30}", "admin1");
	assert_int_equal(runs[TOOL_DANGEROUS], 1); /* the x=3 call */
	free(id);
}

static void double_sign_needs_two_distinct_approvers_not_the_requester(void **state)
{
	struct world *w = *state;
	char st[512];
	char *id;

	w->conf.tools_double_sign = true;
	id = propose(w, "t_danger", "{}", "bob");
	assert_int_equal(decide(w, id, "bob", true, st, sizeof(st)), -EPERM);
	assert_non_null(strstr(st, "cannot approve"));
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), 0);
	assert_string_equal(st, "approved");
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), -EPERM);
	assert_non_null(strstr(st, "already approved"));
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	assert_int_equal(decide(w, id, "carol", true, st, sizeof(st)), 0);
	assert_string_equal(st, "executed");
	assert_int_equal(runs[TOOL_DANGEROUS], 1);
	free(id);
}

static void double_sign_is_kept_from_the_proposal(void **state)
{
	struct world *w = *state;
	char st[512];
	char *id;

	w->conf.tools_double_sign = true;
	id = propose(w, "t_danger", "{}", "bob");
	/* turning it off later does not make the pending call cheaper */
	w->conf.tools_double_sign = false;
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), 0);
	assert_string_equal(st, "approved");
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	free(id);
}

static void expired_approval_is_refused(void **state)
{
	struct world *w = *state;
	char st[512];
	char *id;

	w->conf.tools_approval_ttl_ms = 1;
	id = propose(w, "t_danger", "{}", "bob");
	usleep(20000);
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), -ETIMEDOUT);
	assert_non_null(strstr(st, "expired"));
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), -EALREADY);
	assert_non_null(strstr(st, "expired"));
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	free(id);
}

static void deny_wins(void **state)
{
	struct world *w = *state;
	char st[512];
	char *id;

	w->conf.tools_double_sign = true;
	id = propose(w, "t_danger", "{}", "bob");
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), 0);
	assert_int_equal(decide(w, id, "dave", false, st, sizeof(st)), 0);
	assert_string_equal(st, "denied");
	assert_int_equal(decide(w, id, "carol", true, st, sizeof(st)), -EALREADY);
	assert_non_null(strstr(st, "denied"));
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	free(id);

	/* a single deny before any approval, without double_sign */
	w->conf.tools_double_sign = false;
	id = propose(w, "t_danger", "{}", "bob");
	assert_int_equal(decide(w, id, "bob", false, st, sizeof(st)), 0);
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), -EALREADY);
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	free(id);
}

static void approvers_list_and_role_changes_are_enforced_at_decision_time(void **state)
{
	struct world *w = *state;
	char *approvers[] = { (char *)"alice" };
	char *admin_now[] = { (char *)"safe-read" };
	struct conf_strlist saved;
	char st[512];
	char *id;

	id = propose(w, "t_danger", "{}", "bob");
	w->conf.tools_approvers.v = approvers;
	w->conf.tools_approvers.n = 1;
	assert_int_equal(decide(w, id, "mallory", true, st, sizeof(st)), -EPERM);
	assert_non_null(strstr(st, "tools.approvers"));
	/* the requester's role lost dangerous since the proposal */
	saved = w->conf.tools_roles_admin;
	w->conf.tools_roles_admin.v = admin_now;
	w->conf.tools_roles_admin.n = 1;
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), 0);
	assert_string_equal(st, "failed");
	w->conf.tools_roles_admin = saved;
	w->conf.tools_approvers.v = NULL;
	w->conf.tools_approvers.n = 0;
	assert_int_equal(runs[TOOL_DANGEROUS], 0);
	free(id);
}

static void requester_identity_reaches_the_tool(void **state)
{
	struct world *w = *state;
	struct diag d = { 0 };
	cJSON *res = NULL;
	char *id = propose(w, "t_danger", "{}", "bob");

	assert_int_equal(gate_decide(w->g, id, "alice", true, &res, &d), 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
	                            cJSON_GetObjectItemCaseSensitive(res, "evidence"), "identity")
	                            ->valuestring,
	                    "bob");
	cJSON_Delete(res);
	free(id);
}

static void catalogue_shows_a_role_only_what_it_may_call(void **state)
{
	struct world *w = *state;
	struct diag d = { 0 };
	cJSON *arr = NULL;

	assert_int_equal(gate_catalogue(w->g, "viewer", &arr, &d), 0);
	assert_int_equal(cJSON_GetArraySize(arr), 2); /* t_read, t_raise */
	assert_string_equal(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "name")->valuestring,
	        "t_read");
	assert_non_null(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "args_schema"));
	cJSON_Delete(arr);
	assert_int_equal(gate_catalogue(w->g, "admin", &arr, &d), 0);
	assert_int_equal(cJSON_GetArraySize(arr), 4);
	cJSON_Delete(arr);
	assert_int_equal(gate_catalogue(w->g, "guest", &arr, &d), -EINVAL);
}

static char events[256];

static void record_event(void *udata, const char *event, const cJSON *detail)
{
	(void)udata;
	(void)detail;
	strncat(events, event, sizeof(events) - strlen(events) - 2);
	strncat(events, " ", sizeof(events) - strlen(events) - 1);
}

static void every_step_reaches_the_timeline(void **state)
{
	struct world *w = *state;
	char st[512];
	char *id;

	events[0] = '\0';
	gate_set_timeline(w->g, record_event, NULL);
	{
		struct gate_caller who = { "viewer", "v" };
		struct diag d = { 0 };
		cJSON *res = NULL;
		assert_int_equal(gate_call(w->g, "t_read", "{}", &who, &res, &d), 0);
		cJSON_Delete(res);
	}
	id = propose(w, "t_danger", "{}", "bob");
	assert_int_equal(decide(w, id, "alice", true, st, sizeof(st)), 0);
	assert_string_equal(events, "tool_call tool_result proposed tool_result ");
	free(id);
}

static void proposals_are_bounded_and_old_decisions_forgotten(void **state)
{
	struct world *w = *state;
	struct gate_caller admin = { "admin", "loop" };
	struct approval_request req = { "t_danger", "{}", "bob", "admin", NULL, 60000, 1 };
	struct approvals *a;
	struct approval ap;
	struct diag d = { 0 };
	enum approval_outcome out;
	char old[APPROVAL_ID_LEN + 1], id[APPROVAL_ID_LEN + 1];
	cJSON *res = NULL;
	int64_t t0 = 1700000000000LL;
	char sub[128];

	for (int i = 0; i < ONGRID_APPROVALS_MAX_PENDING; i++) {
		assert_int_equal(gate_call(w->g, "t_danger", "{}", &admin, &res, &d), 0);
		cJSON_Delete(res);
		res = NULL;
	}
	assert_int_equal(gate_call(w->g, "t_danger", "{}", &admin, &res, &d), -EAGAIN);
	assert_non_null(strstr(d.msg, "already wait"));
	assert_int_equal(runs[TOOL_DANGEROUS], 0);

	/* a decided approval is kept for the record, then deleted (a store of its own: the
	 * one above is full) */
	snprintf(sub, sizeof(sub), "%s/other", w->dir);
	assert_int_equal(approvals_open(sub, &a, &d), 0);
	assert_int_equal(approvals_propose(a, &req, t0, old, &d), 0);
	assert_int_equal(approvals_decide(a, old, "alice", false, t0 + 1, &out, &d), 0);
	assert_int_equal(approvals_propose(a, &req, t0 + ONGRID_APPROVALS_KEEP_MS - 1, id, &d), 0);
	assert_int_equal(approvals_get(a, old, &ap, &d), 0);
	approval_release(&ap);
	assert_int_equal(approvals_propose(a, &req, t0 + ONGRID_APPROVALS_KEEP_MS + 1, id, &d), 0);
	assert_int_equal(approvals_get(a, old, &ap, &d), -ENOENT);
	approvals_close(a);
}

/* What tool_add_output made of data. */
static char *added(const char *data, bool truncated)
{
	cJSON *ev = json_obj();
	char *out;

	tool_add_output(ev, "output", data, strlen(data), truncated);
	out = strdup(cJSON_GetObjectItem(ev, "output")->valuestring);
	cJSON_Delete(ev);
	return out;
}

static void private_keys_are_withheld_from_any_output(void **state)
{
	char *o;

	(void)state;
	/* a key after certificates, as in a bundle: the certificate stays, the key goes */
	o = added("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"
	          "-----BEGIN RSA PRIVATE KEY-----\nSECRETLINE1\nSECRETLINE2\n"
	          "-----END RSA PRIVATE KEY-----\nafter\n",
	          false);
	assert_null(strstr(o, "SECRETLINE"));
	assert_non_null(strstr(o, "MIIC"));
	assert_non_null(strstr(o, "[private key withheld]\nafter\n"));
	free(o);
	/* grep -r -A1 output: file-name prefixes before the markers */
	o = added("/srv/x.txt:-----BEGIN PRIVATE KEY-----\n/srv/x.txt-SECRETLINE\n"
	          "/srv/x.txt------END PRIVATE KEY-----\n/srv/y.txt:fine\n",
	          false);
	assert_null(strstr(o, "SECRETLINE"));
	assert_non_null(strstr(o, "/srv/y.txt:fine"));
	free(o);
	/* cut inside a key: before its END line (tail), after its BEGIN line (a cap) */
	o = added("SECRETLINE1\nSECRETLINE2\n-----END PRIVATE KEY-----\nlog line\n", false);
	assert_string_equal(o, "[private key withheld]\nlog line\n");
	free(o);
	o = added("head\n-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETLINE1\nSECR", true);
	assert_null(strstr(o, "SECR"));
	assert_non_null(strstr(o, "head\n[private key withheld]"));
	assert_non_null(strstr(o, "truncated at"));
	free(o);
	/* text that only talks about keys is left alone */
	o = added("rotate the PRIVATE KEY file weekly\n", false);
	assert_string_equal(o, "rotate the PRIVATE KEY file weekly\n");
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roles_by_classes_matrix, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_input_runs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(dangerous_never_runs_without_approval, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(a_call_can_be_raised_but_not_lowered, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        double_sign_needs_two_distinct_approvers_not_the_requester, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(double_sign_is_kept_from_the_proposal, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(expired_approval_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(deny_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        approvers_list_and_role_changes_are_enforced_at_decision_time, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(requester_identity_reaches_the_tool, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(catalogue_shows_a_role_only_what_it_may_call, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(every_step_reaches_the_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(proposals_are_bounded_and_old_decisions_forgotten,
		                                setup, teardown),
		cmocka_unit_test(private_keys_are_withheld_from_any_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
