/* test_bpf_common.c - the eBPF collectors' shared user side: log2 histograms exported
 * the Prometheus way, peer names, cgroup id -> path. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "edge/collect/bpf_common.h"
#include "shared/banned.h"

static const struct metric_desc lat = { "ongrid_test_latency_seconds", METRIC_HISTOGRAM, "t" };

static const struct snapshot_sample *find(const struct snapshot *s, const char *name,
                                          const char *le)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snapshot_sample *x = &s->samples[i];
		if (strcmp(x->name, name) != 0)
			continue;
		if (!le)
			return x;
		for (size_t j = 0; j < x->nlabels; j++)
			if (strcmp(x->labels[j].name, "le") == 0 &&
			    strcmp(x->labels[j].value, le) == 0)
				return x;
	}
	return NULL;
}

static double value(const struct snapshot *s, const char *name, const char *le)
{
	const struct snapshot_sample *x = find(s, name, le);

	assert_non_null(x);
	return x->value;
}

static void microsecond_slots_become_second_buckets(void **state)
{
	struct hist h = { 0 };
	struct snapshot s;

	(void)state;
	h.slots[0] = 1;              /* 0-1 us: below 2 us */
	h.slots[3] = 2;              /* 8-15 us: below 16 us */
	h.slots[HIST_SLOTS - 1] = 4; /* the last slot takes everything larger: +Inf only */
	h.sum = 3000000000ull;       /* ns */
	snapshot_init(&s, 0);
	ebpf_export_hist(&s, &lat, NULL, 0, &h, 1e-6, 1e-9, 0);
	/* HIST_SLOTS - 1 finite buckets, +Inf, _sum, _count */
	assert_int_equal(s.n, HIST_SLOTS + 2);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "2e-06") == 1);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "8e-06") == 1);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "1.6e-05") == 3);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "67.108864") == 3);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "+Inf") == 7);
	assert_true(value(&s, "ongrid_test_latency_seconds_count", NULL) == 7);
	assert_true(value(&s, "ongrid_test_latency_seconds_sum", NULL) == 3.0);
	snapshot_release(&s);
}

static void slots_below_first_slot_fold_into_it(void **state)
{
	struct hist h = { 0 };
	struct snapshot s;

	(void)state;
	h.slots[0] = 1;
	h.slots[9] = 2;  /* 512-1023 bytes */
	h.slots[12] = 5; /* 4096-8191 bytes */
	snapshot_init(&s, 0);
	ebpf_export_hist(&s, &lat, NULL, 0, &h, 1, 1, 9);
	assert_null(find(&s, "ongrid_test_latency_seconds_bucket", "512"));
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "1024") == 3);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "4096") == 3);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "8192") == 8);
	assert_true(value(&s, "ongrid_test_latency_seconds_bucket", "+Inf") == 8);
	snapshot_release(&s);
}

static void labels_are_kept_beside_le(void **state)
{
	struct hist h = { 0 };
	struct label l = { "disk", "vda" };
	struct snapshot s;

	(void)state;
	h.slots[1] = 1;
	snapshot_init(&s, 0);
	ebpf_export_hist(&s, &lat, &l, 1, &h, 1e-6, 1e-9, 0);
	const struct snapshot_sample *x = find(&s, "ongrid_test_latency_seconds_bucket", "4e-06");
	assert_non_null(x);
	assert_int_equal(x->nlabels, 2);
	assert_string_equal(x->labels[0].name, "disk");
	assert_string_equal(x->labels[0].value, "vda");
	snapshot_release(&s);
}

static void merge_adds_every_slot_and_the_sum(void **state)
{
	struct hist a = { 0 }, b = { 0 };

	(void)state;
	a.slots[2] = 1;
	a.sum = 10;
	b.slots[2] = 2;
	b.slots[HIST_SLOTS - 1] = 1;
	b.sum = 5;
	hist_merge(&a, &b);
	assert_int_equal(a.slots[2], 3);
	assert_int_equal(a.slots[HIST_SLOTS - 1], 1);
	assert_int_equal(a.sum, 15);
	assert_int_equal(hist_count(&a), 4);
}

static void peers_are_printed_by_family(void **state)
{
	struct peer_key k = { 0 };
	char out[64];

	(void)state;
	k.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "198.18.0.2", k.addr), 1);
	peer_format(&k, out, sizeof(out));
	assert_string_equal(out, "198.18.0.2");
	memset(&k, 0, sizeof(k));
	k.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", k.addr), 1);
	peer_format(&k, out, sizeof(out));
	assert_string_equal(out, "2001:db8::1");
	memset(&k, 0, sizeof(k));
	peer_format(&k, out, sizeof(out));
	assert_string_equal(out, "other");
}

/* Needs a cgroup2 mount; on a host without one cgname_new() says so with NULL. */
static void cgroup_ids_map_to_paths_and_unknown_ids_are_told_apart(void **state)
{
	struct cgname *c = cgname_new(NULL);
	struct stat st;
	char path[256], mount[256], dev[256], type[64] = "";
	FILE *f;

	(void)state;
	if (!c) {
		skip();
		return;
	}
	/* The root cgroup's id is its directory's inode number. */
	f = fopen("/proc/self/mounts", "re");
	assert_non_null(f);
	mount[0] = '\0';
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, mount, type) == 3)
		if (strcmp(type, "cgroup2") == 0)
			break;
	fclose(f);
	assert_string_equal(type, "cgroup2");
	assert_int_equal(stat(mount, &st), 0);
	assert_int_equal(cgname_lookup(c, (uint64_t)st.st_ino, path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	/* Right after a walk, an unknown id is not worth another walk yet. */
	assert_int_equal(cgname_lookup(c, UINT64_MAX - 1, path, sizeof(path)), -EAGAIN);
	cgname_free(c);
	/* A cache that never walked walks for it, and then knows no cgroup has it. */
	c = cgname_new(NULL);
	assert_non_null(c);
	assert_int_equal(cgname_lookup(c, UINT64_MAX - 1, path, sizeof(path)), -ENOENT);
	assert_int_equal(cgname_lookup(c, (uint64_t)st.st_ino, path, sizeof(path)), 0);
	assert_string_equal(path, "/");
	cgname_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(microsecond_slots_become_second_buckets),
		cmocka_unit_test(slots_below_first_slot_fold_into_it),
		cmocka_unit_test(labels_are_kept_beside_le),
		cmocka_unit_test(merge_adds_every_slot_and_the_sum),
		cmocka_unit_test(peers_are_printed_by_family),
		cmocka_unit_test(cgroup_ids_map_to_paths_and_unknown_ids_are_told_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
