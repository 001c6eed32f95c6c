/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of dp_switch_boundary (dataplane/dp.h): where a weirctl set
 * window change takes effect. Fixed cases, a brute-force check against a
 * linear search on small values, negative times and overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dp.h"

#define SEC	1000000000LL

static void
test_fixed(void **state)
{
	(void)state;
	/* 10 s -> 20 s tumbling at t = 8 s: the next 20 s edge */
	assert_int_equal(dp_switch_boundary(8 * SEC, 10 * SEC, 20 * SEC), 20 * SEC);
	/* strictly greater: a time on an edge moves to the next one */
	assert_int_equal(dp_switch_boundary(20 * SEC, 10 * SEC, 20 * SEC), 40 * SEC);
	assert_int_equal(dp_switch_boundary(20 * SEC - 1, 10 * SEC, 20 * SEC), 20 * SEC);
	/* lcm of 4 s and 6 s is 12 s */
	assert_int_equal(dp_switch_boundary(13 * SEC, 4 * SEC, 6 * SEC), 24 * SEC);
	/* same slide: the next slide edge */
	assert_int_equal(dp_switch_boundary(5, 10, 10), 10);
	/* negative times round toward minus infinity */
	assert_int_equal(dp_switch_boundary(-1, 10, 10), 0);
	assert_int_equal(dp_switch_boundary(-10, 10, 10), 0);
	assert_int_equal(dp_switch_boundary(-11, 10, 10), -10);
	assert_int_equal(dp_switch_boundary(INT64_MIN, 10, 10), INT64_MIN + 8);
}

static void
test_brute_force(void **state)
{
	int64_t t, a, b, want, l;

	(void)state;
	for (a = 1; a <= 12; a++) {
		for (b = 1; b <= 12; b++) {
			for (l = a; l % b != 0; l += a)
				;
			for (t = -50; t <= 150; t++) {
				for (want = t + 1; want % a != 0 || want % b != 0; want++)
					;
				assert_int_equal(dp_switch_boundary(t, a, b), want);
				assert_true(want - l <= t);
			}
		}
	}
}

static void
test_refused(void **state)
{
	(void)state;
	assert_int_equal(dp_switch_boundary(0, 0, 10), INT64_MAX);
	assert_int_equal(dp_switch_boundary(0, 10, -1), INT64_MAX);
	/* lcm overflows int64 */
	assert_int_equal(dp_switch_boundary(0, INT64_MAX - 1, INT64_MAX - 2), INT64_MAX);
	/* the next multiple overflows */
	assert_int_equal(dp_switch_boundary(INT64_MAX - 5, 10, 10), INT64_MAX);
	assert_int_equal(dp_gcd(12, 18), 6);
	assert_int_equal(dp_gcd(7, 5), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
