/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_decimal_parse (dataplane/dec_common.c) against strtod: fixed hard
 * cases (ties, 2^53 + 1, 19-digit significands, the ends of the exact
 * range, long tokens) and millions of random tokens shaped to reach every
 * branch of the fast path and its fallback. Values must match bit for
 * bit; tokens outside the grammar must be refused by both parsers.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_decode.h"

#define RANDOM_TOKENS	3000000

static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64: reproducible, no libc state */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Both parsers agree with strtod on tok; fails the test with the token otherwise. */
static void
check_token(const char *tok)
{
	size_t n = strlen(tok);
	double fast = 0, plain = 0, ref;
	char *end;

	ref = strtod(tok, &end);
	assert_ptr_equal(end, tok + n);
	assert_int_equal(dp_decimal_parse((const uint8_t *)tok, n, &fast), 0);
	assert_int_equal(dp_decimal_parse_plain((const uint8_t *)tok, n, &plain), 0);
	if (memcmp(&fast, &ref, sizeof(ref)) != 0 || memcmp(&plain, &ref, sizeof(ref)) != 0)
		fail_msg("'%s': fast %.17g plain %.17g strtod %.17g", tok, fast, plain, ref);
}

static void
test_fixed(void **state)
{
	static const char *const toks[] = {
		"0", "-0", "0.0", "-0.0", "0e999999999", "-0e-5", "1", "-1", "5e-324", "4.9e-324",
		"2.4703282292062327e-324", "2.4703282292062328e-324", "1e-400", "1e309",
		"1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
		"9007199254740992", "9007199254740993", "9007199254740995", "9007199254740997",
		"18014398509481987", "18014398509481989", "9223372036854775807",
		"9223372036854775808", "18446744073709551615", "9999999999999999999",
		/* the quotient of 9007199254740992000 / 10^3 is 2^121: high word 2^57 */
		"9007199254740992.000", "-9007199254740992.000", "9007199254740992000e-3",
		"10000000000000000000", "99999999999999999999", "1e22", "1e23", "1e27", "1e28",
		"1e-22", "1e-23", "1e-27", "1e-28", "9999999999999999999e27",
		"9999999999999999999e-27", "1234567890123456789e-10", "0.1", "0.2", "0.3",
		"123.456", "1025.7504325710422", "1.1892996237851878", "17.199945840071067",
		"1732233600.000", "2.2250738585072011e-308", "2.2250738585072014e-308",
		"7.2057594037927933e16", "4.35679716906e-7", "1.", ".5", "-.5", "00012.50",
		"0.000000000000000000000000000001", "1E5", "1e+5", "1E-5",
		"3.0000000000000000000000000000000000000000000000001",
		"9007199254740993.0000000000000000000001",
		"2.00000000000000011102230246251565404236316680908203125",
		"2.00000000000000011102230246251565404236316680908203124",
		"2.00000000000000011102230246251565404236316680908203126",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		check_token(toks[i]);
}

/* Tokens longer than any copy buffer: rewritten, still correctly rounded. */
static void
test_long(void **state)
{
	static char tok[4096];
	size_t n;

	(void)state;
	/* 1 + 2^-53 (a tie, rounds to even: 1) then a far non-zero digit (rounds up) */
	n = (size_t)snprintf(tok, sizeof(tok), "%s",
			     "1.00000000000000011102230246251565404236316680908203125");
	memset(tok + n, '0', 3000);
	tok[n + 3000] = '\0';
	check_token(tok);
	tok[n + 2999] = '1';
	check_token(tok);
	/* 3000 leading zeros after the point */
	memcpy(tok, "0.", 2);
	memset(tok + 2, '0', 3000);
	snprintf(tok + 3002, sizeof(tok) - 3002, "123e3000");
	check_token(tok);
	memset(tok, '7', 2000);
	snprintf(tok + 2000, sizeof(tok) - 2000, "e-2100");
	check_token(tok);
}

static void
test_grammar(void **state)
{
	static const char *const bad[] = {
		"", "-", ".", "-.", "e5", "1e", "1e+", "1e-", "+1", "1..2", "1.2.3", "0x10", "nan",
		"inf", "-inf", "1 ", " 1", "1e5.0", "1f", "--1", "1-", "1e--5", "1ee5",
	};
	unsigned int i;
	double v;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const uint8_t *p = (const uint8_t *)bad[i];

		if (dp_decimal_parse(p, strlen(bad[i]), &v) != -1 ||
		    dp_decimal_parse_plain(p, strlen(bad[i]), &v) != -1)
			fail_msg("'%s' accepted", bad[i]);
	}
	/* an embedded NUL ends nothing: the token must match whole */
	assert_int_equal(dp_decimal_parse((const uint8_t *)"1\0" "5", 3, &v), -1);
}

/* Append up to 'digits' random digits of m (no leading zero unless m is 0). */
static int
put_digits(char *o, uint64_t *s, int digits)
{
	int i;

	o[0] = (char)('1' + rng_next(s) % 9);
	for (i = 1; i < digits; i++)
		o[i] = (char)('0' + rng_next(s) % 10);
	return digits;
}

/* One random token; the shapes are chosen to hit every branch. */
static void
random_token(uint64_t *s, char *tok, size_t cap)
{
	uint64_t r = rng_next(s);
	int n = 0, digits, point, x;
	double d;

	switch (r % 6) {
	case 0:
	case 1:
		/* 1..19 significant digits, a point anywhere, exponent around the exact range */
		if (rng_next(s) & 1)
			tok[n++] = '-';
		digits = 1 + (int)(rng_next(s) % 19);
		point = (int)(rng_next(s) % (uint64_t)(digits + 1));
		if (point == 0) {
			tok[n++] = '0';
			tok[n++] = '.';
			for (x = (int)(rng_next(s) % 4); x > 0; x--)
				tok[n++] = '0';
			n += put_digits(tok + n, s, digits);
		} else {
			n += put_digits(tok + n, s, point);
			if (point < digits) {
				tok[n++] = '.';
				n += put_digits(tok + n, s, digits - point);
			}
		}
		if (rng_next(s) % 3 != 0)
			n += snprintf(tok + n, cap - (size_t)n, "e%d",
				      (int)(rng_next(s) % 70) - 35);
		tok[n] = '\0';
		break;
	case 2:
		/* a random finite double, shortest-ish and long forms */
		do {
			uint64_t b = rng_next(s);

			memcpy(&d, &b, sizeof(d));
		} while (!(d == d) || d - d != 0);
		snprintf(tok, cap, "%.*g", 1 + (int)(rng_next(s) % 17), d);
		break;
	case 3:
		/* doubles of sensor magnitudes, printed to 15..19 digits */
		d = (double)(rng_next(s) >> 11) / (double)(1ULL << 53) *
		    (double)(1ULL << (rng_next(s) % 40));
		snprintf(tok, cap, "%.*f", (int)(rng_next(s) % 20), d);
		break;
	case 4:
		/* exact ties and near-ties between two doubles above 2^53 */
		{
			uint64_t m = (rng_next(s) >> 11) | (1ULL << 52);
			int sh = 1 + (int)(rng_next(s) % 11);
			uint64_t v = (m << sh) + (1ULL << (sh - 1));

			v += (uint64_t)(int64_t)((int)(rng_next(s) % 3) - 1);
			snprintf(tok, cap, "%" PRIu64, v);
		}
		break;
	default:
		/* integers of 1..20 digits with a random exponent */
		digits = 1 + (int)(rng_next(s) % 20);
		n = put_digits(tok, s, digits);
		snprintf(tok + n, cap - (size_t)n, "e%d", (int)(rng_next(s) % 60) - 30);
		break;
	}
}

static void
test_random(void **state)
{
	uint64_t seed = 42;
	char tok[128];
	unsigned int i;

	(void)state;
	for (i = 0; i < RANDOM_TOKENS; i++) {
		random_token(&seed, tok, sizeof(tok));
		check_token(tok);
	}
}

/* dp_decimal_exact alone: exactly the tokens it takes, the same value. */
static void
test_exact(void **state)
{
	uint64_t seed = 7;
	unsigned int i;

	(void)state;
	for (i = 0; i < 1000000; i++) {
		uint64_t m = rng_next(&seed) % 10000000000000000000ULL;
		int x = (int)(rng_next(&seed) % 80) - 40;
		char tok[64];
		double v, ref;

		m >>= rng_next(&seed) % 64;
		snprintf(tok, sizeof(tok), "%" PRIu64 "e%d", m, x);
		ref = strtod(tok, NULL);
		if (dp_decimal_exact(m, x, 0, &v) == 0 && memcmp(&v, &ref, sizeof(v)) != 0)
			fail_msg("%s: exact %.17g strtod %.17g", tok, v, ref);
		/* its whole documented range is taken */
		if (x >= -27 && x <= 27)
			assert_int_equal(dp_decimal_exact(m, x, 1, &v), 0);
	}
}

static void
check_exact(uint64_t m, int x)
{
	char tok[64];
	double v, ref;

	if (m == 0)
		return;
	snprintf(tok, sizeof(tok), "%" PRIu64 "e%d", m, x);
	ref = strtod(tok, NULL);
	assert_int_equal(dp_decimal_exact(m, x, 0, &v), 0);
	if (memcmp(&v, &ref, sizeof(v)) != 0)
		fail_msg("%s: exact %.17g strtod %.17g", tok, v, ref);
}

/*
 * Significands 5^a * 2^b (and one either side): quotients and products
 * with a single bit set anywhere in 128 bits, which random digits almost
 * never produce.
 */
static void
test_exact_sparse(void **state)
{
	uint64_t p5 = 1;
	int a, b, x, d;

	(void)state;
	for (a = 0; a <= 27; a++, p5 *= 5) {
		for (b = 0; b < 64 && (p5 << b) >> b == p5 &&
		     (p5 << b) < 10000000000000000000ULL; b++) {
			for (d = -1; d <= 1; d++)
				for (x = -27; x <= 27; x++)
					check_exact((p5 << b) + (uint64_t)(int64_t)d, x);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_exact_sparse),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
