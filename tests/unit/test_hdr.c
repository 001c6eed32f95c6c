/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of common/hdr.c: percentiles against exact sorted-array
 * percentiles on seeded random data, per-value relative error for every
 * sigfigs setting, merge, overflow, reset, record_n and the edge cases.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hdr.h"

#define HIGHEST		UINT64_C(3600000000000)	/* one hour in ns */
#define N_VALUES	200000

/* splitmix64: deterministic, good enough to spread test values */
static uint64_t
rnd_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* uniform in (0, 1] */
static double
rnd_unit(uint64_t *s)
{
	return ((double)(rnd_next(s) >> 11) + 1.0) / 9007199254740992.0;
}

enum dist { DIST_UNIFORM, DIST_EXP, DIST_PARETO };

static uint64_t
draw(enum dist d, uint64_t *s)
{
	double v;

	switch (d) {
	case DIST_UNIFORM:
		return 1 + rnd_next(s) % 1000000;
	case DIST_EXP:
		/* latencies around 50 us */
		v = -50000.0 * log(rnd_unit(s));
		return (uint64_t)v;
	case DIST_PARETO:
	default:
		/* alpha 1.1: a tail spanning many orders of magnitude */
		v = 1000.0 / pow(rnd_unit(s), 1.0 / 1.1);
		return v >= (double)HIGHEST ? HIGHEST : (uint64_t)v;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* percentiles as thousandths of a percent, so exact ranks are integer math */
static const uint64_t pct_milli[] = {
	0, 1000, 10000, 25000, 50000, 75000, 90000, 99000, 99900, 99990, 99999, 100000,
};

static uint64_t
exact_percentile(const uint64_t *sorted, uint64_t n, uint64_t milli)
{
	uint64_t rank = (milli * n + 99999) / 100000;

	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void
check_distribution(enum dist d, uint64_t seed)
{
	struct hdr *h = hdr_create(HIGHEST, 3);
	uint64_t *vals = malloc(N_VALUES * sizeof(*vals));
	size_t i;

	assert_non_null(h);
	assert_non_null(vals);
	for (i = 0; i < N_VALUES; i++) {
		vals[i] = draw(d, &seed);
		assert_int_equal(hdr_record(h, vals[i]), 0);
	}
	qsort(vals, N_VALUES, sizeof(*vals), cmp_u64);

	assert_int_equal(hdr_count(h), N_VALUES);
	assert_int_equal(hdr_min(h), vals[0]);
	assert_int_equal(hdr_max(h), vals[N_VALUES - 1]);
	assert_int_equal(hdr_overflow(h), 0);
	for (i = 0; i < sizeof(pct_milli) / sizeof(pct_milli[0]); i++) {
		uint64_t want = exact_percentile(vals, N_VALUES, pct_milli[i]);
		uint64_t got = hdr_percentile(h, (double)pct_milli[i] / 1000.0);

		/* the reported value is the top of the exact value's slot */
		assert_true(got >= want);
		assert_true((double)(got - want) <= 1e-3 * (double)want);
	}
	free(vals);
	hdr_destroy(h);
}

static void
test_uniform(void **state)
{
	(void)state;
	check_distribution(DIST_UNIFORM, 1);
}

static void
test_exponential(void **state)
{
	(void)state;
	check_distribution(DIST_EXP, 2);
}

static void
test_heavy_tail(void **state)
{
	(void)state;
	check_distribution(DIST_PARETO, 3);
}

/* Every sigfigs setting: one value at a time, error within 10^-sigfigs. */
static void
test_relative_error_per_sigfigs(void **state)
{
	int s;

	(void)state;
	for (s = 1; s <= 5; s++) {
		struct hdr *h = hdr_create(10000000, s);
		double bound = pow(10.0, -s);
		double step = s == 5 ? 1.1 : 1.01;
		double dv;

		assert_non_null(h);
		for (dv = 1.0; dv <= 10000000.0; dv = dv * step + 1.0) {
			uint64_t v = (uint64_t)dv, got;

			hdr_reset(h);
			assert_int_equal(hdr_record(h, v), 0);
			got = hdr_percentile(h, 50.0);
			assert_true(got >= v);
			assert_true((double)(got - v) <= bound * (double)v);
			assert_int_equal(hdr_percentile(h, 100.0), got);
			assert_int_equal(hdr_min(h), v);
			assert_int_equal(hdr_max(h), v);
		}
		hdr_destroy(h);
	}
}

/* Small values are exact; ranks like 99.9% of 1000 must not round up. */
static void
test_exact_ranks(void **state)
{
	struct hdr *h = hdr_create(HIGHEST, 3);
	uint64_t v;

	(void)state;
	assert_non_null(h);
	for (v = 1; v <= 1000; v++)
		hdr_record(h, v);
	assert_int_equal(hdr_percentile(h, 50.0), 500);
	assert_int_equal(hdr_percentile(h, 99.0), 990);
	assert_int_equal(hdr_percentile(h, 99.9), 999);
	assert_int_equal(hdr_percentile(h, 99.95), 1000);
	assert_int_equal(hdr_percentile(h, 100.0), 1000);
	assert_int_equal(hdr_percentile(h, 0.0), 1);
	assert_int_equal(hdr_percentile(h, 0.05), 1);
	assert_int_equal(hdr_percentile(h, 0.1), 1);
	assert_int_equal(hdr_percentile(h, 0.15), 2);
	/* out-of-range p is clamped */
	assert_int_equal(hdr_percentile(h, 250.0), 1000);
	assert_int_equal(hdr_percentile(h, -3.0), 1);
	assert_int_equal(hdr_percentile(h, NAN), 1);
	hdr_destroy(h);
}

/* Slot edges for sigfigs 3: width 1 below 2048, then 2, 4, ... */
static void
test_slot_edges(void **state)
{
	static const uint64_t cases[][2] = {
		{ 1023, 1023 }, { 1024, 1024 }, { 2047, 2047 }, { 2048, 2049 }, { 3001, 3001 },
		{ 4095, 4095 }, { 4096, 4099 }, { 4100, 4103 }, { 1000000, 1000447 },
	};
	struct hdr *h = hdr_create(HIGHEST, 3);
	size_t i;

	(void)state;
	assert_non_null(h);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hdr_reset(h);
		hdr_record(h, cases[i][0]);
		assert_int_equal(hdr_percentile(h, 100.0), cases[i][1]);
	}
	hdr_destroy(h);
}

static void
test_empty(void **state)
{
	struct hdr *h = hdr_create(HIGHEST, 3);

	(void)state;
	assert_non_null(h);
	assert_int_equal(hdr_count(h), 0);
	assert_int_equal(hdr_min(h), 0);
	assert_int_equal(hdr_max(h), 0);
	assert_int_equal(hdr_overflow(h), 0);
	assert_int_equal(hdr_percentile(h, 0.0), 0);
	assert_int_equal(hdr_percentile(h, 50.0), 0);
	assert_int_equal(hdr_percentile(h, 100.0), 0);
	hdr_destroy(h);
}

static void
test_zero_value(void **state)
{
	struct hdr *h = hdr_create(1000, 3);

	(void)state;
	assert_non_null(h);
	assert_int_equal(hdr_record(h, 0), 0);
	assert_int_equal(hdr_record(h, 7), 0);
	assert_int_equal(hdr_count(h), 2);
	assert_int_equal(hdr_min(h), 0);
	assert_int_equal(hdr_max(h), 7);
	assert_int_equal(hdr_percentile(h, 50.0), 0);
	assert_int_equal(hdr_percentile(h, 100.0), 7);
	hdr_destroy(h);
}

static void
test_overflow(void **state)
{
	struct hdr *h = hdr_create(100000, 3);
	uint64_t top;

	(void)state;
	assert_non_null(h);
	assert_int_equal(hdr_record(h, 100000), 0);
	assert_int_equal(hdr_overflow(h), 0);
	assert_int_equal(hdr_record(h, 100001), -1);
	assert_int_equal(hdr_record(h, UINT64_MAX), -1);
	assert_int_equal(hdr_record_n(h, 500000, 3), -1);
	assert_int_equal(hdr_overflow(h), 5);
	assert_int_equal(hdr_count(h), 6);
	/* clamped values count as highest */
	assert_int_equal(hdr_max(h), 100000);
	assert_int_equal(hdr_min(h), 100000);
	top = hdr_percentile(h, 100.0);
	assert_true(top >= 100000 && top <= 100100);
	hdr_destroy(h);
}

static void
test_full_range(void **state)
{
	struct hdr *h = hdr_create(UINT64_MAX, 3);

	(void)state;
	assert_non_null(h);
	assert_int_equal(hdr_record(h, UINT64_MAX), 0);
	assert_int_equal(hdr_record(h, UINT64_C(1) << 63), 0);
	assert_int_equal(hdr_record(h, 1), 0);
	assert_int_equal(hdr_overflow(h), 0);
	assert_true(hdr_percentile(h, 100.0) == UINT64_MAX);
	assert_true(hdr_percentile(h, 50.0) >= (UINT64_C(1) << 63));
	assert_true(hdr_percentile(h, 50.0) - (UINT64_C(1) << 63) <= (UINT64_C(1) << 53));
	assert_int_equal(hdr_percentile(h, 10.0), 1);
	assert_true(hdr_max(h) == UINT64_MAX);
	hdr_destroy(h);
}

static void
test_reset(void **state)
{
	struct hdr *h = hdr_create(1000, 2);

	(void)state;
	assert_non_null(h);
	hdr_record(h, 5);
	hdr_record(h, 2000);
	hdr_reset(h);
	assert_int_equal(hdr_count(h), 0);
	assert_int_equal(hdr_min(h), 0);
	assert_int_equal(hdr_max(h), 0);
	assert_int_equal(hdr_overflow(h), 0);
	assert_int_equal(hdr_percentile(h, 100.0), 0);
	hdr_record(h, 42);
	assert_int_equal(hdr_count(h), 1);
	assert_int_equal(hdr_min(h), 42);
	assert_int_equal(hdr_max(h), 42);
	assert_int_equal(hdr_percentile(h, 0.0), 42);
	hdr_destroy(h);
}

static void
assert_same(const struct hdr *a, const struct hdr *b)
{
	double p;

	assert_int_equal(hdr_count(a), hdr_count(b));
	assert_int_equal(hdr_min(a), hdr_min(b));
	assert_int_equal(hdr_max(a), hdr_max(b));
	assert_int_equal(hdr_overflow(a), hdr_overflow(b));
	for (p = 0.0; p <= 100.0; p += 0.25)
		assert_int_equal(hdr_percentile(a, p), hdr_percentile(b, p));
	assert_int_equal(hdr_percentile(a, 99.99), hdr_percentile(b, 99.99));
}

static void
test_record_n(void **state)
{
	struct hdr *a = hdr_create(HIGHEST, 3);
	struct hdr *b = hdr_create(HIGHEST, 3);
	uint64_t seed = 11;
	int i, k;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	for (i = 0; i < 200; i++) {
		uint64_t v = draw(DIST_PARETO, &seed), n = rnd_next(&seed) % 50;

		assert_int_equal(hdr_record_n(a, v, n), 0);
		for (k = 0; k < (int)n; k++)
			hdr_record(b, v);
	}
	assert_int_equal(hdr_record_n(a, 12345, 0), 0);
	assert_int_equal(hdr_record_n(a, HIGHEST + 1, 0), 0);
	assert_same(a, b);
	hdr_destroy(a);
	hdr_destroy(b);
}

static void
test_merge(void **state)
{
	struct hdr *all = hdr_create(HIGHEST, 3);
	struct hdr *parts[3];
	struct hdr *sum = hdr_create(HIGHEST, 3);
	uint64_t seed = 7;
	int i, j;

	(void)state;
	assert_non_null(all);
	assert_non_null(sum);
	for (j = 0; j < 3; j++) {
		parts[j] = hdr_create(HIGHEST, 3);
		assert_non_null(parts[j]);
		for (i = 0; i < 20000; i++) {
			uint64_t v = draw((enum dist)j, &seed);

			hdr_record(parts[j], v);
			hdr_record(all, v);
		}
	}
	hdr_record(parts[1], HIGHEST * 2);
	hdr_record(all, HIGHEST * 2);
	for (j = 0; j < 3; j++)
		assert_int_equal(hdr_merge(sum, parts[j]), 0);
	assert_same(sum, all);

	/* merging an empty histogram changes nothing (min stays exact) */
	hdr_reset(parts[0]);
	assert_int_equal(hdr_merge(sum, parts[0]), 0);
	assert_same(sum, all);

	for (j = 0; j < 3; j++)
		hdr_destroy(parts[j]);
	hdr_destroy(all);
	hdr_destroy(sum);
}

static void
test_merge_mismatch(void **state)
{
	struct hdr *a = hdr_create(HIGHEST, 3);
	struct hdr *b = hdr_create(HIGHEST, 2);
	struct hdr *c = hdr_create(HIGHEST / 2, 3);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	hdr_record(b, 10);
	hdr_record(c, 10);
	assert_int_equal(hdr_merge(a, b), -1);
	assert_int_equal(hdr_merge(a, c), -1);
	assert_int_equal(hdr_count(a), 0);
	hdr_destroy(a);
	hdr_destroy(b);
	hdr_destroy(c);
}

/* Baseline then more values: the difference equals a histogram of the later values. */
static void
test_sub(void **state)
{
	struct hdr *live = hdr_create(HIGHEST, 3);
	struct hdr *later = hdr_create(HIGHEST, 3);
	struct hdr *base, *diff, *other = hdr_create(HIGHEST, 2);
	uint64_t seed = 11;
	int i;

	(void)state;
	assert_non_null(live);
	assert_non_null(later);
	assert_non_null(other);
	base = hdr_clone_empty(live);
	diff = hdr_clone_empty(live);
	assert_non_null(base);
	assert_non_null(diff);
	for (i = 0; i < 5000; i++)
		hdr_record(live, draw(DIST_PARETO, &seed) + 1000000);
	hdr_record(live, HIGHEST * 2);
	assert_int_equal(hdr_merge(base, live), 0);
	for (i = 0; i < 7000; i++) {
		uint64_t v = 100 + draw(DIST_UNIFORM, &seed) % 50000;

		hdr_record(live, v);
		hdr_record(later, v);
	}
	assert_int_equal(hdr_merge(diff, live), 0);
	assert_int_equal(hdr_sub(diff, base), 0);
	assert_int_equal(hdr_count(diff), hdr_count(later));
	assert_int_equal(hdr_overflow(diff), 0);
	assert_int_equal(hdr_percentile(diff, 50.0), hdr_percentile(later, 50.0));
	assert_int_equal(hdr_percentile(diff, 99.0), hdr_percentile(later, 99.0));
	/* min/max: slot precision, never outside the true range of the slots */
	assert_true(hdr_max(diff) >= hdr_max(later));
	assert_true(hdr_max(diff) <= hdr_max(later) + hdr_max(later) / 1000 + 1);
	assert_true(hdr_min(diff) <= hdr_min(later));
	assert_true(hdr_min(diff) + hdr_min(later) / 1000 + 1 >= hdr_min(later));

	/* nothing new: empty; subtracting more than there is saturates at 0 */
	hdr_reset(diff);
	hdr_merge(diff, base);
	assert_int_equal(hdr_sub(diff, base), 0);
	assert_int_equal(hdr_count(diff), 0);
	assert_int_equal(hdr_max(diff), 0);
	assert_int_equal(hdr_min(diff), 0);
	assert_int_equal(hdr_sub(diff, live), 0);
	assert_int_equal(hdr_count(diff), 0);
	assert_int_equal(hdr_sub(diff, other), -1);

	hdr_destroy(live);
	hdr_destroy(later);
	hdr_destroy(base);
	hdr_destroy(diff);
	hdr_destroy(other);
}

static void
test_bad_args(void **state)
{
	(void)state;
	assert_null(hdr_create(0, 3));
	assert_null(hdr_create(1000, 0));
	assert_null(hdr_create(1000, 6));
	assert_null(hdr_create(1000, -1));
	hdr_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_exponential),
		cmocka_unit_test(test_heavy_tail),
		cmocka_unit_test(test_relative_error_per_sigfigs),
		cmocka_unit_test(test_exact_ranks),
		cmocka_unit_test(test_slot_edges),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_zero_value),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_full_range),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_record_n),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_mismatch),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
