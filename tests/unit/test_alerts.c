/* test_alerts: the relay's Alertmanager intake: payload checks that name the field,
 * instance-to-edge matching, webhook credentials; and the HTTP head parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "relay/alerts.h"
#include "relay/httpd.h"
#include "shared/json.h"

static int seen;
static char last[256];

static void on_alert(void *udata, const struct alert *a)
{
	(void)udata;
	seen++;
	snprintf(last, sizeof(last), "%s %s %s %s", a->status, a->alertname,
	         a->instance ? a->instance : "-", a->summary ? a->summary : "-");
}

static int parse(const char *text, size_t max, size_t *dropped, struct diag *d)
{
	cJSON *j = cJSON_Parse(text);
	int r;

	assert_non_null(j);
	seen = 0;
	r = alerts_parse(j, max, on_alert, NULL, dropped, d);
	cJSON_Delete(j);
	return r;
}

#define ALERT(st, name)                                            \
	"{\"status\":\"" st "\",\"labels\":{\"alertname\":\"" name \
	"\",\"instance\":\"web-3:9100\"},"                         \
	"\"annotations\":{\"summary\":\"s\"},\"startsAt\":\"2026-01-01T00:00:00Z\"}"

static void test_parse_ok_and_limit(void **state)
{
	struct diag d = { 0 };
	size_t dropped;

	(void)state;
	assert_int_equal(
	        parse("{\"version\":\"4\",\"status\":\"firing\",\"unknown\":1,\"alerts\":[" ALERT(
	                      "firing", "A") "," ALERT("resolved", "B") "," ALERT("firing",
	                                                                          "C") "]}",
	              2, &dropped, &d),
	        0);
	assert_int_equal(seen, 2);
	assert_int_equal(dropped, 1);
	assert_string_equal(last, "resolved B web-3:9100 s");
}

static void test_parse_errors_name_the_field(void **state)
{
	struct diag d = { 0 };
	size_t dropped;

	(void)state;
	assert_int_equal(parse("[]", 10, &dropped, &d), -EINVAL);
	assert_int_equal(parse("{\"version\":\"3\",\"alerts\":[]}", 10, &dropped, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "version: expected \"4\""));
	assert_int_equal(parse("{\"version\":\"4\"}", 10, &dropped, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "alerts: expected an array"));
	assert_int_equal(parse("{\"version\":\"4\",\"alerts\":[" ALERT("firing",
	                                                               "A") ",{\"status\":\"x\"}]}",
	                       10, &dropped, &d),
	                 -EINVAL);
	assert_non_null(strstr(d.msg, "alerts[1].status"));
	assert_int_equal(seen, 0); /* nothing acted on before the whole payload is checked */
	assert_int_equal(parse("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{"
	                       "\"a\":1}}]}",
	                       10, &dropped, &d),
	                 -EINVAL);
	assert_non_null(strstr(d.msg, "alerts[0].labels.a"));
	assert_int_equal(
	        parse("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{}}]}", 10,
	              &dropped, &d),
	        -EINVAL);
	assert_non_null(strstr(d.msg, "alerts[0].labels.alertname: missing"));
}

static void test_instance_matches(void **state)
{
	(void)state;
	assert_int_equal(alerts_instance_matches("web-3:9100", "web-3", "10.0.0.3:5000"), 1);
	assert_int_equal(alerts_instance_matches("web-3.example.net:9100", "web-3", NULL), 1);
	assert_int_equal(alerts_instance_matches("web-3", "web-3.example.net", NULL), 1);
	assert_int_equal(alerts_instance_matches("WEB-3:1", "web-3", NULL), 1);
	assert_int_equal(alerts_instance_matches("web-30:9100", "web-3", NULL), 0);
	assert_int_equal(alerts_instance_matches("10.0.0.3:9100", "web-3", "10.0.0.3:5000"), 2);
	assert_int_equal(alerts_instance_matches("[fd00::3]:9100", "web-3", "[fd00::3]:5000"), 2);
	assert_int_equal(alerts_instance_matches("10.0.0.4:9100", "web-3", "10.0.0.3:5000"), 0);
	assert_int_equal(alerts_instance_matches("", "web-3", NULL), 0);
	assert_int_equal(alerts_instance_matches(NULL, "web-3", NULL), 0);
}

static void test_auth(void **state)
{
	struct relay_conf c = { 0 };
	char empty[] = "", token[] = "s3cret", user[] = "am", pw[] = "pw";

	(void)state;
	c.alerts_token = empty;
	c.alerts_user = empty;
	assert_int_equal(alerts_check_auth(&c, "Bearer x"), -ENOKEY);
	c.alerts_token = token;
	assert_int_equal(alerts_check_auth(&c, "Bearer s3cret"), 0);
	assert_int_equal(alerts_check_auth(&c, "bearer s3cret"), 0);
	assert_int_equal(alerts_check_auth(&c, "Bearer s3cre"), -EACCES);
	assert_int_equal(alerts_check_auth(&c, "Bearer s3cret2"), -EACCES);
	assert_int_equal(alerts_check_auth(&c, ""), -EACCES);
	assert_int_equal(alerts_check_auth(&c, "Basic YW06cHc="), -EACCES);
	c.alerts_user = user;
	c.alerts_password = pw;
	assert_int_equal(alerts_check_auth(&c, "Basic YW06cHc="), 0);       /* am:pw */
	assert_int_equal(alerts_check_auth(&c, "Basic YW06cHg="), -EACCES); /* am:px */
	assert_int_equal(alerts_check_auth(&c, "Basic !!!!"), -EACCES);
	assert_int_equal(alerts_check_auth(&c, "Basic YW0="), -EACCES); /* am */
}

static void test_http_head(void **state)
{
	char h1[] = "POST /alerts/alertmanager?x=1 HTTP/1.1\r\nHost: relay:8444\r\n"
	            "Authorization: Bearer t\r\nContent-Length: 12\r\nExpect: 100-continue";
	char h2[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked";
	char h3[] = "GET relative HTTP/1.1";
	char h4[] = "GET / HTTP/2";
	char h5[] = "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2";
	char h6[] = "GET / HTTP/1.1\r\nno colon here";
	struct httpd_req req;
	int64_t clen;
	int e100;
	const char *why;

	(void)state;
	assert_int_equal(httpd_parse_head(h1, &req, &clen, &e100, &why), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.path, "/alerts/alertmanager");
	assert_string_equal(req.query, "x=1");
	assert_string_equal(req.host, "relay:8444");
	assert_string_equal(req.authorization, "Bearer t");
	assert_int_equal(clen, 12);
	assert_int_equal(e100, 1);
	assert_int_equal(httpd_parse_head(h2, &req, &clen, &e100, &why), 501);
	assert_int_equal(httpd_parse_head(h3, &req, &clen, &e100, &why), 400);
	assert_int_equal(httpd_parse_head(h4, &req, &clen, &e100, &why), 505);
	assert_int_equal(httpd_parse_head(h5, &req, &clen, &e100, &why), 400);
	assert_non_null(strstr(why, "Content-Length"));
	assert_int_equal(httpd_parse_head(h6, &req, &clen, &e100, &why), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok_and_limit),
		cmocka_unit_test(test_parse_errors_name_the_field),
		cmocka_unit_test(test_instance_matches),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_http_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
