#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/str.h"
#include "shared/banned.h"

int str_to_i64(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int str_to_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int str_to_double(const char *s, double *ret)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL))
		return -ERANGE;
	*ret = v;
	return 0;
}

int str_to_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int64_t unit_ms(const char *u, size_t n)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
		{ "ms", 1 },       { "s", 1000 },      { "m", 60000 },         { "h", 3600000 },
		{ "d", 86400000 }, { "w", 604800000 }, { "y", 31536000000LL },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
			return units[i].ms;
	return 0;
}

int str_to_duration_ms(const char *s, int64_t *ret)
{
	int64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	/* A bare non-negative number means seconds. */
	if (strspn(s, "0123456789") == strlen(s)) {
		uint64_t v;
		int r = str_to_u64(s, &v);
		if (r < 0)
			return r;
		if (v > INT64_MAX / 1000)
			return -ERANGE;
		*ret = (int64_t)v * 1000;
		return 0;
	}
	while (*p) {
		size_t nd = strspn(p, "0123456789"), nu;
		uint64_t v = 0;
		int64_t mult;

		if (nd == 0 || nd > 15)
			return nd ? -ERANGE : -EINVAL;
		for (size_t i = 0; i < nd; i++)
			v = v * 10 + (uint64_t)(p[i] - '0');
		p += nd;
		nu = strspn(p, "smhdwy");
		if (nu == 0)
			return -EINVAL;
		/* "ms" is the only two-letter unit; "5m" followed by "s..." is not valid. */
		if (nu >= 2 && p[0] == 'm' && p[1] == 's')
			nu = 2;
		else
			nu = 1;
		mult = unit_ms(p, nu);
		if (!mult)
			return -EINVAL;
		if (v > (uint64_t)(INT64_MAX / mult) || total > INT64_MAX - (int64_t)v * mult)
			return -ERANGE;
		total += (int64_t)v * mult;
		p += nu;
	}
	*ret = total;
	return 0;
}

void str_format_duration(char *out, size_t outsz, int64_t ms)
{
	static const struct {
		char name[3];
		int64_t ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 }
	};
	size_t off = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (ms <= 0) {
		snprintf(out, outsz, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && off < outsz; i++) {
		if (ms >= units[i].ms) {
			int n = snprintf(out + off, outsz - off, "%lld%s",
			                 (long long)(ms / units[i].ms), units[i].name);
			if (n < 0)
				return;
			off += (size_t)n;
			ms %= units[i].ms;
		}
	}
}

int str_to_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 },     { "B", 0 },   { "k", 10 },   { "K", 10 },   { "KiB", 10 },
		{ "KB", 10 },  { "M", 20 },  { "MiB", 20 }, { "MB", 20 },  { "G", 30 },
		{ "GiB", 30 }, { "GB", 30 }, { "T", 40 },   { "TiB", 40 }, { "TB", 40 },
	};
	size_t nd;
	uint64_t v = 0;

	if (!s)
		return -EINVAL;
	nd = strspn(s, "0123456789");
	if (nd == 0)
		return -EINVAL;
	if (nd > 19)
		return -ERANGE;
	for (size_t i = 0; i < nd; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + nd, units[i].suffix) == 0) {
			if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
				return -ERANGE;
			*ret = v << units[i].shift;
			return 0;
		}
	}
	return -EINVAL;
}

bool str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

char *str_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
