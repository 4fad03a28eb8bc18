/* test_ctl.c - the control socket: request/response, errors with their exit-status
 * class, the socket's mode, stale sockets, a second daemon refused, no daemon. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "edge/ctl.h"
#include "shared/json.h"

static char dir[64], path[128];

static int echo(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	const char *w = NULL;

	(void)udata;
	if (json_get_string(req, "word", &w, "request", d) < 0)
		return diag_set(d, -EINVAL, "request: missing \"word\"");
	*ret = cJSON_CreateString(w);
	return 0;
}

static int broken(void *udata, const cJSON *req, cJSON **ret, struct diag *d)
{
	(void)udata;
	(void)req;
	(void)ret;
	return diag_set(d, -EIO, "disk on fire");
}

static void *serve_n(void *arg)
{
	struct ctl_server *s = arg;

	for (int i = 0; i < 3; i++) {
		struct pollfd p = { ctl_server_fd(s), POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ctl_server_accept(s);
	}
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ongrid-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/edge.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char sub[160];

	(void)state;
	(void)unlink(path);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	(void)rmdir(sub);
	(void)rmdir(dir);
	return 0;
}

static cJSON *req_of(const char *json)
{
	return cJSON_Parse(json);
}

static void requests_get_answers_and_errors_their_class(void **state)
{
	struct ctl_server *s;
	struct diag d = { 0 };
	struct stat st;
	pthread_t th;
	cJSON *req, *res = NULL;
	char sub[160];

	(void)state;
	assert_int_equal(ctl_server_open(path, &s, &d), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	ctl_server_register(s, "echo", echo, NULL);
	ctl_server_register(s, "broken", broken, NULL);
	assert_int_equal(pthread_create(&th, NULL, serve_n, s), 0);

	req = req_of("{\"cmd\":\"echo\",\"word\":\"hi\"}");
	assert_int_equal(ctl_call(path, req, 5000, &res, &d), 0);
	assert_string_equal(cJSON_GetStringValue(res), "hi");
	cJSON_Delete(req);
	cJSON_Delete(res);

	req = req_of("{\"cmd\":\"frob\"}");
	assert_int_equal(ctl_call(path, req, 5000, &res, &d), -EINVAL);
	assert_string_equal(d.msg, "unknown command 'frob'");
	cJSON_Delete(req);

	req = req_of("{\"cmd\":\"broken\"}");
	assert_int_equal(ctl_call(path, req, 5000, &res, &d), -EREMOTEIO);
	assert_string_equal(d.msg, "disk on fire");
	cJSON_Delete(req);

	pthread_join(th, NULL);
	ctl_server_close(s);
	assert_int_equal(access(path, F_OK), -1); /* close removes the socket */
}

static void a_second_server_is_refused_and_a_stale_socket_replaced(void **state)
{
	struct ctl_server *s, *s2;
	struct diag d = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	assert_int_equal(ctl_server_open(path, &s, &d), 0);
	assert_int_equal(ctl_server_open(path, &s2, &d), -EADDRINUSE);
	ctl_server_close(s);
	/* a socket file nobody listens on, as a killed daemon leaves it */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(ctl_server_open(path, &s, &d), 0);
	ctl_server_close(s);
}

static void no_daemon_is_enoent(void **state)
{
	struct diag d = { 0 };
	cJSON *req = req_of("{\"cmd\":\"status\"}"), *res = NULL;

	(void)state;
	assert_int_equal(ctl_call(path, req, 1000, &res, &d), -ENOENT);
	cJSON_Delete(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(requests_get_answers_and_errors_their_class, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        a_second_server_is_refused_and_a_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(no_daemon_is_enoent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
