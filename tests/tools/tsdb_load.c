/* tsdb_load - write samples into a time-series store, for integration tests.
 *
 * usage: tsdb_load DIR < samples
 * Each input line is `name{label="value",...} T_MS VALUE` (labels optional, values may
 * be NaN, +Inf, -Inf); blank lines and lines starting with '#' are skipped. The store is
 * DIR (created if missing) and is flushed to disk on exit, so `ongrid-edge query` reading
 * DIR read-only sees every sample. Exit 0, or 1 with the line number of a bad line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tsdb/tsdb.h"
#include "shared/str.h"
#include "shared/banned.h"

#define MAX_LABELS 32

/* Parse `name{k="v",...}` in place; returns the rest of the line or NULL. */
static char *parse_series(char *s, struct label *l, size_t *ret_n)
{
	size_t n = 0;

	l[n].name = "__name__";
	l[n].value = s;
	n++;
	while (*s && *s != '{' && *s != ' ')
		s++;
	if (*s == ' ') {
		*s++ = '\0';
		*ret_n = n;
		return s;
	}
	if (*s != '{')
		return NULL;
	*s++ = '\0';
	while (*s != '}') {
		char *w;
		if (n >= MAX_LABELS)
			return NULL;
		l[n].name = s;
		while (*s && *s != '=')
			s++;
		if (*s != '=' || s[1] != '"')
			return NULL;
		*s = '\0';
		s += 2;
		l[n].value = w = s;
		while (*s && *s != '"') {
			if (*s == '\\' && s[1])
				s++;
			*w++ = *s++;
		}
		if (*s != '"')
			return NULL;
		s++;
		*w = '\0';
		n++;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return NULL;
	}
	s++;
	while (*s == ' ')
		s++;
	*ret_n = n;
	return s;
}

int main(int argc, char **argv)
{
	struct tsdb_opts o = { 0 };
	struct diag d = { 0 };
	struct tsdb *db;
	char line[4096];
	int lineno = 0, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: tsdb_load DIR < samples\n");
		return 2;
	}
	o.dir = argv[1];
	if (tsdb_open(&o, &db, &d) < 0) {
		fprintf(stderr, "tsdb_load: %s\n", d.msg);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		struct label l[MAX_LABELS];
		char *rest, *ts, *vs, *save = NULL;
		size_t n;
		int64_t t;
		double v;
		uint64_t ref;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		rest = parse_series(line, l, &n);
		ts = rest ? strtok_r(rest, " ", &save) : NULL;
		vs = ts ? strtok_r(NULL, " ", &save) : NULL;
		if (!vs || str_to_i64(ts, &t) < 0 || str_to_double(vs, &v) < 0) {
			fprintf(stderr, "tsdb_load: line %d: expected 'name{k=\"v\"} T_MS VALUE'\n",
			        lineno);
			rc = 1;
			break;
		}
		if (tsdb_series(db, l, n, &ref, &d) < 0 || tsdb_append(db, ref, t, v) < 0) {
			fprintf(stderr, "tsdb_load: line %d: %s\n", lineno,
			        d.msg[0] ? d.msg : "sample refused");
			rc = 1;
			break;
		}
	}
	if (rc == 0 && tsdb_flush(db, &d) < 0) {
		fprintf(stderr, "tsdb_load: %s\n", d.msg);
		rc = 1;
	}
	tsdb_close(db);
	return rc;
}
