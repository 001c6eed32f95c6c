/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of sink/snk_json.c: exact SPEC §5 strings for hand-made
 * results, a small strict JSON parser that reads random results back
 * field by field, shortest round-trip doubles, id escaping, the present
 * mask, and every too-small buffer size.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_common.h>

#include "snk.h"

static struct weir_config cfg;	/* only metrics/n_metrics matter here */

static void
cfg_metrics(const char *const *names, unsigned int n)
{
	unsigned int i;

	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < n; i++)
		snprintf(cfg.metrics[i], sizeof(cfg.metrics[i]), "%s", names[i]);
	cfg.n_metrics = n;
}

static uint64_t
rnd_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* any finite double, every exponent equally likely */
static double
rnd_double(uint64_t *s)
{
	double d;
	uint64_t bits;

	do {
		bits = rnd_next(s);
		memcpy(&d, &bits, sizeof(d));
	} while (!isfinite(d));
	return d;
}

static void
set_id(struct wr_result *r, const char *id, size_t len)
{
	memset(r->id, 0, sizeof(r->id));
	memcpy(r->id, id, len);
	r->id_len = (uint8_t)len;
}

/* ---- a strict little JSON parser: RFC 8259 syntax, into a node array ---- */

enum jt { J_OBJ, J_ARR, J_STR, J_NUM, J_LIT };

struct jnode {
	enum jt type;
	char key[128];		/* member name, decoded */
	size_t key_len;
	char str[128];		/* J_STR decoded bytes */
	size_t str_len;
	double num;
	int child;		/* first child, -1 none */
	int next;		/* next sibling, -1 none */
};

struct jp {
	const char *p;
	const char *end;
	struct jnode nodes[512];
	int n;
};

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p) != NULL && *j->p != '\0')
		j->p++;
}

static int
jp_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes into out; \u escapes are only checked to be in 0..0xff here (ours). */
static bool
jp_string(struct jp *j, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = (unsigned char)*j->p++;
			switch (c) {
			case '"': case '\\': case '/':
				break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				int k, v = 0;

				if (j->end - j->p < 4)
					return false;
				for (k = 0; k < 4; k++) {
					int h = jp_hex(j->p[k]);

					if (h < 0)
						return false;
					v = v * 16 + h;
				}
				j->p += 4;
				if (v > 0xff)
					return false;
				c = (unsigned char)v;
				break;
			}
			default:
				return false;
			}
		}
		if (n == cap)
			return false;
		out[n++] = (char)c;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	*len = n;
	return true;
}

static bool
jp_number(struct jp *j, double *v)
{
	const char *s = j->p;
	char tmp[64];

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return false;
	if (*j->p == '0') {
		j->p++;
	} else if (*j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		return false;
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if ((size_t)(j->p - s) >= sizeof(tmp))
		return false;
	memcpy(tmp, s, (size_t)(j->p - s));
	tmp[j->p - s] = '\0';
	*v = strtod(tmp, NULL);
	return true;
}

static int jp_value(struct jp *j, int depth);

static bool
jp_members(struct jp *j, int self, int depth, bool object)
{
	char close = object ? '}' : ']';
	int prev = -1;

	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		char key[128];
		size_t key_len = 0;
		int c;

		jp_ws(j);
		if (object) {
			if (!jp_string(j, key, sizeof(key), &key_len))
				return false;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		c = jp_value(j, depth + 1);
		if (c < 0)
			return false;
		memcpy(j->nodes[c].key, key, key_len);
		j->nodes[c].key_len = key_len;
		if (prev < 0)
			j->nodes[self].child = c;
		else
			j->nodes[prev].next = c;
		prev = c;
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return true;
		}
		return false;
	}
}

static int
jp_value(struct jp *j, int depth)
{
	struct jnode *nd;
	int self;

	jp_ws(j);
	if (depth > 16 || j->n == (int)(sizeof(j->nodes) / sizeof(j->nodes[0])) ||
	    j->p >= j->end)
		return -1;
	self = j->n++;
	nd = &j->nodes[self];
	memset(nd, 0, sizeof(*nd));
	nd->child = -1;
	nd->next = -1;
	if (*j->p == '{' || *j->p == '[') {
		nd->type = *j->p == '{' ? J_OBJ : J_ARR;
		return jp_members(j, self, depth, nd->type == J_OBJ) ? self : -1;
	}
	if (*j->p == '"') {
		nd->type = J_STR;
		return jp_string(j, nd->str, sizeof(nd->str), &nd->str_len) ? self : -1;
	}
	if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) {
		nd->type = J_NUM;
		return jp_number(j, &nd->num) ? self : -1;
	}
	nd->type = J_LIT;
	if (j->end - j->p >= 4 && (memcmp(j->p, "true", 4) == 0 || memcmp(j->p, "null", 4) == 0)) {
		j->p += 4;
		return self;
	}
	if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
		j->p += 5;
		return self;
	}
	return -1;
}

/* Whole document must be exactly one value. @return root or -1. */
static int
jp_parse(struct jp *j, const char *s, size_t len)
{
	int root;

	j->p = s;
	j->end = s + len;
	j->n = 0;
	root = jp_value(j, 0);
	jp_ws(j);
	return root >= 0 && j->p == j->end ? root : -1;
}

static const struct jnode *
jp_get(const struct jp *j, int obj, const char *key)
{
	int c;

	for (c = j->nodes[obj].child; c >= 0; c = j->nodes[c].next)
		if (j->nodes[c].key_len == strlen(key) &&
		    memcmp(j->nodes[c].key, key, j->nodes[c].key_len) == 0)
			return &j->nodes[c];
	return NULL;
}

static void
test_parser_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\":1,}", "[1 2]", "01", "1.", "-", "1e", "\"\x01\"",
		"\"\\x\"", "{\"a\":1}x", "inf", "nan", "{a:1}", "\"abc",
	};
	static const char *const good[] = {
		"{}", "[]", "{\"a\":[1,-0,2.5e-3,true,null]}", "\"\\u001f\\\\\"", "-1E+2",
	};
	static struct jp j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jp_parse(&j, bad[i], strlen(bad[i])), -1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(jp_parse(&j, good[i], strlen(good[i])), 0);
}

/* ---- exact output ---- */

static const char *const four[] = { "temperature", "humidity", "pressure", "vibration" };

static void
fill_example(struct wr_result *r)
{
	memset(r, 0, sizeof(*r));
	set_id(r, "dev-00042", 9);
	r->start_ns = INT64_C(1732233600000000000);
	r->end_ns = INT64_C(1732233660000000000);
	r->count = 120;
	/* temperature: 20.5, 29.5 -> mean 25, m2 40.5, population stddev 4.5 */
	r->stats[0] = (struct wr_stat){ .count = 2, .min = 20.5, .max = 29.5, .sum = 50,
					.mean = 25, .m2 = 40.5 };
	/* humidity: present bit set but no readings: must not appear */
	r->stats[1] = (struct wr_stat){ .count = 0 };
	/* pressure: not present, garbage stats must be ignored */
	r->stats[2] = (struct wr_stat){ .count = 7, .min = NAN, .max = INFINITY };
	/* vibration: -1.25, 0.75, 0, 3 -> sum 2.5, avg 0.625 */
	r->stats[3] = (struct wr_stat){ .count = 4, .min = -1.25, .max = 3, .sum = 2.5,
					.mean = 0.625, .m2 = 1 };
	r->present = (1u << 0) | (1u << 1) | (1u << 3);
}

static const char example_json[] =
	"{\"device_id\":\"dev-00042\",\"window_start\":1732233600000,"
	"\"window_end\":1732233660000,\"count\":120,\"metrics\":{"
	"\"temperature\":{\"count\":2,\"min\":20.5,\"max\":29.5,\"sum\":50,\"avg\":25,"
	"\"stddev\":4.5},"
	"\"vibration\":{\"count\":4,\"min\":-1.25,\"max\":3,\"sum\":2.5,\"avg\":0.625,"
	"\"stddev\":0.5}}}";

static void
test_exact(void **state)
{
	struct wr_result r;
	char buf[4096];
	size_t n;

	(void)state;
	cfg_metrics(four, 4);
	fill_example(&r);
	n = snk_json_result(buf, sizeof(buf), &r, &cfg);
	assert_int_equal(n, strlen(example_json));
	assert_string_equal(buf, example_json);

	/* no metric had readings: an empty object, still valid */
	r.present = 0;
	n = snk_json_result(buf, sizeof(buf), &r, &cfg);
	assert_string_equal(buf, "{\"device_id\":\"dev-00042\",\"window_start\":1732233600000,"
			    "\"window_end\":1732233660000,\"count\":120,\"metrics\":{}}");
	assert_int_equal(n, strlen(buf));

	/* only the last metric: no leading comma */
	r.present = 1u << 3;
	n = snk_json_result(buf, sizeof(buf), &r, &cfg);
	assert_non_null(strstr(buf, "\"metrics\":{\"vibration\":{\"count\":4,"));
	assert_null(strstr(buf, "temperature"));

	/* present bits beyond n_metrics are ignored */
	cfg_metrics(four, 1);
	r.present = ~UINT64_C(0);
	n = snk_json_result(buf, sizeof(buf), &r, &cfg);
	assert_non_null(strstr(buf, "\"metrics\":{\"temperature\":{"));
	assert_null(strstr(buf, "vibration"));
	assert_int_equal(n, strlen(buf));
}

static void
test_bad_id_len(void **state)
{
	struct wr_result r;
	char buf[4096];

	(void)state;
	cfg_metrics(four, 4);
	fill_example(&r);
	r.id_len = 0;
	assert_int_equal(snk_json_result(buf, sizeof(buf), &r, &cfg), 0);
	r.id_len = WR_DEVID_MAX + 1;
	assert_int_equal(snk_json_result(buf, sizeof(buf), &r, &cfg), 0);
	r.id_len = WR_DEVID_MAX;
	memset(r.id, 'x', WR_DEVID_MAX);
	assert_int_not_equal(snk_json_result(buf, sizeof(buf), &r, &cfg), 0);
}

static void
test_escaping(void **state)
{
	static const struct {
		const char *id;
		size_t len;
		const char *json;
	} cases[] = {
		{ "a\"b", 3, "a\\\"b" },
		{ "a\\b", 3, "a\\\\b" },
		{ "\n\t\r", 3, "\\u000a\\u0009\\u000d" },
		{ "\x01\x1f ", 3, "\\u0001\\u001f " },
		{ "\0x", 2, "\\u0000x" },
		{ "\x7f", 1, "\x7f" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "\xe2\x82\xac/'<>", 7, "\xe2\x82\xac/'<>" },
		{ "\"\"\"", 3, "\\\"\\\"\\\"" },
	};
	static struct jp j;
	struct wr_result r;
	char buf[1024], want[256];
	size_t i, n;
	int root;

	(void)state;
	cfg_metrics(four, 4);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill_example(&r);
		r.present = 0;
		set_id(&r, cases[i].id, cases[i].len);
		n = snk_json_result(buf, sizeof(buf), &r, &cfg);
		assert_int_not_equal(n, 0);
		snprintf(want, sizeof(want), "{\"device_id\":\"%s\",", cases[i].json);
		assert_memory_equal(buf, want, strlen(want));
		root = jp_parse(&j, buf, n);
		assert_int_equal(root, 0);
		assert_int_equal(jp_get(&j, root, "device_id")->str_len, cases[i].len);
		assert_memory_equal(jp_get(&j, root, "device_id")->str, cases[i].id,
				    cases[i].len);
	}

	/* the worst case: 64 control bytes, each 6 bytes escaped */
	fill_example(&r);
	memset(r.id, 0x01, WR_DEVID_MAX);
	r.id_len = WR_DEVID_MAX;
	n = snk_json_result(buf, sizeof(buf), &r, &cfg);
	root = jp_parse(&j, buf, n);
	assert_int_equal(root, 0);
	assert_int_equal(jp_get(&j, root, "device_id")->str_len, WR_DEVID_MAX);
}

static void
test_cap_too_small(void **state)
{
	struct wr_result r;
	char buf[1024];
	size_t cap, len;

	(void)state;
	cfg_metrics(four, 4);
	fill_example(&r);
	len = strlen(example_json);
	for (cap = 0; cap < len; cap++) {
		memset(buf, '#', sizeof(buf));
		assert_int_equal(snk_json_result(buf, cap, &r, &cfg), 0);
		/* not a byte at or past cap */
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], '#');
	}
	/* exactly enough: no room for the NUL, which is then not written */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(snk_json_result(buf, len, &r, &cfg), len);
	assert_memory_equal(buf, example_json, len);
	assert_int_equal(buf[len], '#');
	assert_int_equal(snk_json_result(buf, len + 1, &r, &cfg), len);
	assert_int_equal(buf[len], '\0');

	/* snk_json_double the same way */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(snk_json_double(buf, 3, 0.125), 0);
	assert_int_equal(buf[0], '#');
	assert_int_equal(snk_json_double(buf, 5, 0.125), 5);
	assert_memory_equal(buf, "0.125", 5);
	assert_int_equal(buf[5], '#');
}

static void
test_double_known(void **state)
{
	static const struct {
		double v;
		const char *s;
	} cases[] = {
		{ 0.1, "0.1" },
		{ 20.1, "20.1" },
		{ 1.0 / 3.0, "0.3333333333333333" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 42, "42" },
		{ -3, "-3" },
		{ 123456789012345.0, "123456789012345" },
		{ 1e15, "1e+15" },
		{ 1e21, "1e+21" },
		{ 1e-7, "1e-07" },
		/* the smallest subnormal has one bit: 15 digits already round-trip */
		{ 5e-324, "4.94065645841247e-324" },
		{ DBL_MAX, "1.7976931348623157e+308" },
		{ -DBL_MAX, "-1.7976931348623157e+308" },
		{ 0, "0" },
		{ 9007199254740993.0, "9007199254740992" },
		{ INFINITY, "null" },
		{ -INFINITY, "null" },
		{ NAN, "null" },
	};
	char buf[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0, sizeof(buf));
		n = snk_json_double(buf, sizeof(buf), cases[i].v);
		assert_int_equal(n, strlen(cases[i].s));
		assert_string_equal(buf, cases[i].s);
	}
	/* -0 may print as -0 or 0; either must parse back as zero */
	n = snk_json_double(buf, sizeof(buf), -0.0);
	assert_true(strcmp(buf, "-0") == 0 || strcmp(buf, "0") == 0);
	assert_true(n == 1 || n == 2);
}

/* significant digits of the mantissa: no leading or trailing zeros */
static unsigned int
sig_digits(const char *s)
{
	char d[64];
	unsigned int n = 0, first = 0;

	for (; *s != '\0' && *s != 'e' && n < sizeof(d); s++)
		if (*s >= '0' && *s <= '9')
			d[n++] = *s;
	while (first < n && d[first] == '0')
		first++;
	while (n > first && d[n - 1] == '0')
		n--;
	return n - first;
}

static void
test_double_roundtrip(void **state)
{
	static struct jp j;
	uint64_t seed = 7;
	char buf[64], shorter[80];
	unsigned int i, digits;
	size_t n;
	double v;

	(void)state;
	for (i = 0; i < 200000; i++) {
		switch (i % 4) {
		case 0:
			v = rnd_double(&seed);
			break;
		case 1:	/* plausible readings: few decimals */
			v = (double)((int64_t)(rnd_next(&seed) % 2000001) - 1000000) / 100.0;
			break;
		case 2:	/* averages: sums divided by counts */
			v = (double)(rnd_next(&seed) % 100000);
			v /= (double)(1 + rnd_next(&seed) % 997);
			break;
		default: /* integers across the fast-path boundary */
			v = (double)(int64_t)(rnd_next(&seed) % UINT64_C(4000000000000000)) -
				2e15;
			break;
		}
		n = snk_json_double(buf, sizeof(buf), v);
		assert_true(n > 0 && n < sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_true(strtod(buf, NULL) == v);
		digits = sig_digits(buf);
		assert_true(digits <= 17);
		/* shortest of 15/16/17: when 16 or 17 were used, one fewer fails */
		if (digits > 15) {
			snprintf(shorter, sizeof(shorter), "%.*g", (int)digits - 1, v);
			assert_false(strtod(shorter, NULL) == v);
		}
		assert_int_equal(jp_parse(&j, buf, n), 0);
		assert_int_equal(j.nodes[0].type, J_NUM);
	}
}

/* fast and plain must agree byte for byte, buffer and return value included */
static void
check_same(double v)
{
	char a[64], b[64];
	size_t na, nb;

	memset(a, '#', sizeof(a));
	memset(b, '#', sizeof(b));
	na = snk_json_double(a, sizeof(a), v);
	nb = snk_json_double_plain(b, sizeof(b), v);
	if (na != nb || memcmp(a, b, sizeof(a)) != 0) {
		print_error("%a: fast \"%.*s\" (%zu) plain \"%.*s\" (%zu)\n", v, (int)na, a, na,
			    (int)nb, b, nb);
		fail();
	}
}

/* a decimal of 1..17 significant digits and exponent -30..30, as strtod reads it */
static double
rnd_decimal(uint64_t *s)
{
	char tmp[64];
	unsigned int digits = 1 + (unsigned int)(rnd_next(s) % 17);
	uint64_t mant = rnd_next(s) % UINT64_C(100000000000000000);
	int exp10 = (int)(rnd_next(s) % 61) - 30;

	mant /= (uint64_t)pow(10, 17 - digits);
	snprintf(tmp, sizeof(tmp), "%s%" PRIu64 "e%d", rnd_next(s) & 1 ? "-" : "", mant, exp10);
	return strtod(tmp, NULL);
}

static void
test_double_fast_vs_plain(void **state)
{
	static const double edge[] = {
		0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, DBL_MIN, -DBL_MIN, DBL_MAX,
		-DBL_MAX, DBL_EPSILON, DBL_TRUE_MIN, 1e15, 1e15 - 1, 1e15 + 1, -1e15,
		999999999999999.9, 1e16, 1e17, 1e18, 1e19, 1e21, 1e22, 1e23, 5e-324, 1e-4,
		0.0001, 0.00001, 9.9999999999999e-5, 0.5, 1.5, 2.5, 0.125, 1e-5, 1e-16,
		1e-17, 1e55, 1e56, 1e57, 9007199254740992.0, 9007199254740993.0,
		18014398509481984.0, 0.1, 0.2, 0.3, 1.0 / 3.0, 2.0 / 3.0, 123456789012345678.0,
		4.35, 0.015, 1.005, 2.675, 5e-5, 5.5e-5, 9.5, 99999999999999.95,
		1e300, 1e-300, 2.2250738585072014e-308,
		/* exact ties at the 16th digit that still read back: ties go to even */
		8.0000152587890625, 8.0000457763671875, 0.5000009536743164,
	};
	uint64_t seed = 2026, bits;
	unsigned int i;
	int e;
	double v;

	(void)state;
	for (i = 0; i < RTE_DIM(edge); i++) {
		check_same(edge[i]);
		check_same(-edge[i]);
		check_same(nextafter(edge[i], INFINITY));
		check_same(nextafter(edge[i], -INFINITY));
	}
	/* every power of ten and of two, and their neighbours */
	for (e = -324; e <= 308; e++) {
		v = strtod("1", NULL) * pow(10, e);
		check_same(v);
		check_same(nextafter(v, 0));
		check_same(nextafter(v, INFINITY));
	}
	for (e = -1074; e <= 1023; e++) {
		v = ldexp(1, e);
		check_same(v);
		check_same(nextafter(v, 0));
		check_same(nextafter(v, INFINITY));
	}
	for (i = 0; i < 2400000; i++) {
		switch (i % 7) {
		case 0:	/* any bit pattern: nan, inf and subnormals included */
			bits = rnd_next(&seed);
			memcpy(&v, &bits, sizeof(v));
			break;
		case 1:	/* subnormals */
			bits = rnd_next(&seed) & ((UINT64_C(1) << 52) - 1);
			memcpy(&v, &bits, sizeof(v));
			break;
		case 2:
		case 3:	/* decimals of 1..17 digits */
			v = rnd_decimal(&seed);
			break;
		case 4:	/* integers of every size up to 2^64 */
			v = (double)(rnd_next(&seed) >> (rnd_next(&seed) % 64));
			break;
		case 5:	/* dyadic rationals: exact decimals ending in 5, hence ties */
			v = ldexp((double)(rnd_next(&seed) >> (11 + rnd_next(&seed) % 53)),
				  -(int)(rnd_next(&seed) % 80));
			break;
		default: /* averages and roots, as the aggregator makes them */
			v = (double)(int64_t)(rnd_next(&seed) % 2000001 - 1000000) / 100.0;
			v /= (double)(1 + rnd_next(&seed) % 997);
			if (i & 1)
				v = sqrt(fabs(v));
			break;
		}
		check_same(v);
	}
}

/* Random results read back field by field through the parser. */
static void
test_random_results(void **state)
{
	static const char *const names[] = { "t", "h", "p", "v", "co2", "pm2_5", "lux", "db" };
	static struct jp j;
	static char buf[65536];
	uint64_t seed = 99;
	struct wr_result r;
	unsigned int it, i;

	(void)state;
	cfg_metrics(names, 8);
	for (it = 0; it < 3000; it++) {
		const struct jnode *metrics, *m;
		unsigned int id_len = 1 + rnd_next(&seed) % WR_DEVID_MAX;
		unsigned int seen = 0;
		size_t n;
		int root, c;

		memset(&r, 0, sizeof(r));
		/* ASCII incl. every control byte, quotes and backslashes */
		for (i = 0; i < id_len; i++)
			r.id[i] = (char)(rnd_next(&seed) % 0x80);
		r.id_len = (uint8_t)id_len;
		r.start_ns = (int64_t)(rnd_next(&seed) % UINT64_C(2000000000000)) * 1000000;
		r.end_ns = r.start_ns + 60000000000;
		r.count = rnd_next(&seed) % 100000;
		r.present = rnd_next(&seed) & 0xff;
		for (i = 0; i < 8; i++) {
			struct wr_stat *s = &r.stats[i];

			s->count = rnd_next(&seed) % 4;	/* some present with count 0 */
			s->min = rnd_double(&seed) / 4;
			s->max = rnd_double(&seed) / 4;
			s->sum = rnd_double(&seed) / 4;
			s->m2 = fabs(rnd_double(&seed)) / 4;
		}
		n = snk_json_result(buf, sizeof(buf), &r, &cfg);
		assert_int_not_equal(n, 0);
		root = jp_parse(&j, buf, n);
		assert_int_equal(root, 0);
		assert_int_equal(jp_get(&j, root, "device_id")->str_len, id_len);
		assert_memory_equal(jp_get(&j, root, "device_id")->str, r.id, id_len);
		assert_true(jp_get(&j, root, "window_start")->num ==
			    (double)(r.start_ns / 1000000));
		assert_true(jp_get(&j, root, "window_end")->num == (double)(r.end_ns / 1000000));
		assert_true(jp_get(&j, root, "count")->num == (double)r.count);
		metrics = jp_get(&j, root, "metrics");
		assert_non_null(metrics);
		assert_int_equal(metrics->type, J_OBJ);
		/* in configured order, exactly the present ones with readings */
		c = metrics->child;
		for (i = 0; i < 8; i++) {
			const struct wr_stat *s = &r.stats[i];
			int idx;

			if (!(r.present >> i & 1) || s->count == 0)
				continue;
			assert_true(c >= 0);
			m = &j.nodes[c];
			assert_int_equal(m->key_len, strlen(names[i]));
			assert_memory_equal(m->key, names[i], m->key_len);
			idx = (int)(m - j.nodes);
			assert_true(jp_get(&j, idx, "count")->num == (double)s->count);
			assert_true(jp_get(&j, idx, "min")->num == s->min);
			assert_true(jp_get(&j, idx, "max")->num == s->max);
			assert_true(jp_get(&j, idx, "sum")->num == s->sum);
			assert_true(jp_get(&j, idx, "avg")->num == s->sum / (double)s->count);
			assert_true(jp_get(&j, idx, "stddev")->num ==
				    sqrt(s->m2 / (double)s->count));
			c = m->next;
			seen++;
		}
		assert_int_equal(c, -1);
		(void)seen;
	}
}

/* Dead letters: reasons in order, source formatted, payload bytes escaped. */
static void
test_dead_letter(void **state)
{
	struct wr_dead_letter dl;
	char buf[2048];
	size_t n, k;
	const char payload[] = "{\"device_id\":\"a\"\n\x01\xff";

	(void)state;
	memset(&dl, 0, sizeof(dl));
	dl.arrival_ns = 1732233600123456789LL;
	dl.payload_len = 1000;
	dl.records_rejected = 3;
	dl.rejected[WR_REASON_BAD_JSON] = 2;
	dl.rejected[WR_REASON_NO_METRICS] = 1;
	dl.src_port = 5555;
	dl.dst_port = 9700;
	dl.ip_version = 4;
	dl.src_addr[0] = 10;
	dl.src_addr[3] = 7;
	dl.excerpt_len = sizeof(payload) - 1;
	memcpy(dl.excerpt, payload, dl.excerpt_len);
	n = snk_json_dead_letter(buf, sizeof(buf), &dl);
	assert_true(n > 0);
	assert_string_equal(buf,
		"{\"reason\":\"bad_json\",\"reasons\":{\"bad_json\":2,\"no_metrics\":1},"
		"\"records_rejected\":3,\"source\":\"10.0.0.7:5555\",\"dst_port\":9700,"
		"\"arrival_time\":1732233600123,\"payload_len\":1000,"
		"\"payload_excerpt\":\"{\\\"device_id\\\":\\\"a\\\"\\u000a\\u0001\\u00ff\"}");
	/* IPv6 source in brackets */
	dl.ip_version = 6;
	memset(dl.src_addr, 0, sizeof(dl.src_addr));
	dl.src_addr[15] = 1;
	n = snk_json_dead_letter(buf, sizeof(buf), &dl);
	assert_non_null(strstr(buf, "\"source\":\"[::1]:5555\""));
	/* every shorter buffer: 0, never past the end */
	for (k = 0; k < n; k++)
		assert_int_equal(snk_json_dead_letter(buf, k, &dl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_bad_id_len),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_cap_too_small),
		cmocka_unit_test(test_double_known),
		cmocka_unit_test(test_double_roundtrip),
		cmocka_unit_test(test_double_fast_vs_plain),
		cmocka_unit_test(test_random_results),
		cmocka_unit_test(test_dead_letter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
