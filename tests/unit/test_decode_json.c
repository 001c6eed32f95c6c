/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the JSON decoder (dataplane/dec_json.c): must-parse and
 * must-not-parse tables, one vector per rule of SPEC §3 item 1, checking
 * exactly what is emitted (id, time, metrics) and which reason is counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "dp_decode.h"
#include "decode_test_util.h"

#define SEC		1000000000LL
#define TS		(1755434096LL * SEC)	/* 2025-08-17T12:34:56Z */
#define ARR		(1755434100LL * SEC)	/* arrival: 2025-08-17T12:35:00Z */

static struct dp_decode_cfg cfg;
static struct dp_pkt_meta meta = { .arrival_ns = ARR, .shift_ns = 0 };
static struct dtu_cap cap;

static int
setup(void **state)
{
	(void)state;
	fz_decode_cfg_make(&cfg, CFG_ENC_AUTO, -60);
	return 0;
}

/* Decode n bytes with dp_decode_json; checks the counting invariant. */
static void
decode_n(const char *in, size_t n)
{
	dtu_cap_decode(dp_decode_json, &cfg, &meta, (const uint8_t *)in, n, &cap);
	assert_true(cap.n <= DTU_CAP_MAX);
}

static void
decode(const char *in)
{
	decode_n(in, strlen(in));
}

/* Exactly these counts: emitted, then per reason. */
static void
expect_counts(const char *what, unsigned int emitted, const uint64_t *rej)
{
	unsigned int i;

	if (cap.n != emitted)
		fail_msg("%s: emitted %u, want %u", what, cap.n, emitted);
	for (i = 0; i < WR_REASON_COUNT; i++)
		if (cap.out.rejected[i] != rej[i])
			fail_msg("%s: %s = %llu, want %llu", what, wr_reason_name((int)i),
				 (unsigned long long)cap.out.rejected[i],
				 (unsigned long long)rej[i]);
}

static void
expect_rec(const char *what, unsigned int k, const char *id, int64_t t, uint64_t present,
	   const double *v)
{
	const struct wr_record *r = &cap.rec[k];
	unsigned int i;

	if (k >= cap.n)
		fail_msg("%s: record %u not emitted", what, k);
	if (r->id_len != strlen(id) || memcmp(r->id, id, r->id_len) != 0)
		fail_msg("%s: id '%.*s', want '%s'", what, (int)r->id_len, r->id, id);
	if (r->time_ns != t)
		fail_msg("%s: time %lld, want %lld", what, (long long)r->time_ns, (long long)t);
	if (r->present != present)
		fail_msg("%s: present %#llx, want %#llx", what, (unsigned long long)r->present,
			 (unsigned long long)present);
	for (i = 0; i < 4; i++)
		if ((present & (1ULL << i)) && memcmp(&r->values[i], &v[i], sizeof(double)) != 0)
			fail_msg("%s: value[%u] %.17g, want %.17g", what, i, r->values[i], v[i]);
}

struct vec {
	const char *in;
	int reason;		/* WR_REASON_NONE: emitted */
	const char *id;
	int64_t t;
	uint64_t present;
	double v[4];
};

#define OK(i_, id_, t_, p_, ...) \
	{ .in = i_, .reason = WR_REASON_NONE, .id = id_, .t = t_, .present = p_, \
	  .v = { __VA_ARGS__ } }
#define NO(i_, r_) { .in = i_, .reason = WR_REASON_##r_ }

#define D "{\"device_id\":\"d\","	/* record prefix with a good id */

static const struct vec single[] = {
	/* ids */
	OK(D "\"temperature\":21.5}", "d", ARR, 1, 21.5),
	OK("{\"sensor_id\":\"s-9\",\"temperature\":1}", "s-9", ARR, 1, 1),
	OK("{\"sensor_id\":\"s\",\"device_id\":\"dd\",\"humidity\":2}", "dd", ARR, 2, 0, 2),
	OK("{\"device_id\":\"a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\n\",\"temperature\":1}",
	   "a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80\n", ARR, 1, 1),
	OK("{\"dev\\u0069ce_id\":\"x\",\"temp\\u0065rature\":2}", "x", ARR, 1, 2),
	OK("{\"device_id\":\"a\",\"device_id\":\"b\",\"temperature\":1,\"temperature\":2}",
	   "b", ARR, 1, 2),
	OK("{\"device_id\":5,\"device_id\":\"b\",\"temperature\":1}", "b", ARR, 1, 1),
	OK("{\"device_id\":\"\xe2\x98\x83\",\"temperature\":1}", "\xe2\x98\x83", ARR, 1, 1),
	NO("{\"temperature\":1}", MISSING_DEVICE_ID),
	NO("{}", MISSING_DEVICE_ID),
	NO("{\"Device_id\":\"a\",\"temperature\":1}", MISSING_DEVICE_ID),
	NO("{\"x\":{\"device_id\":\"a\"},\"temperature\":1}", MISSING_DEVICE_ID),
	NO("{\"device_id\":null,\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":42,\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":{},\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":[\"a\"],\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":true,\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":\"\",\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":\"a\",\"device_id\":null,\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":null,\"sensor_id\":\"s\",\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"sensor_id\":\"s\",\"device_id\":7,\"temperature\":1}", BAD_DEVICE_ID),
	NO("{\"device_id\":\"\\ud800\",\"temperature\":1}", BAD_DEVICE_ID),

	/* numeric times, auto unit by magnitude */
	OK(D "\"ts\":1755434096,\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":1755434096789,\"temperature\":1}", "d", 1755434096789000000LL, 1, 1),
	OK(D "\"ts\":1755434096789123,\"temperature\":1}", "d", 1755434096789123000LL, 1, 1),
	OK(D "\"ts\":1755434096789123456,\"temperature\":1}", "d", 1755434096789123456LL, 1, 1),
	OK(D "\"ts\":1755434096.5,\"temperature\":1}", "d", TS + SEC / 2, 1, 1),
	OK(D "\"ts\":1.755434096e9,\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":1755434096250E-3,\"temperature\":1}", "d", TS + SEC / 4, 1, 1),
	OK(D "\"ts\":1755434096.789,\"temperature\":1}", "d", TS + 789000000, 1, 1),
	OK(D "\"ts\":1755434096789.5,\"temperature\":1}", "d", TS + 789500000, 1, 1),
	OK(D "\"ts\":1755434096789123.4567,\"temperature\":1}", "d", TS + 789123456, 1, 1),
	OK(D "\"ts\":1.755434096789123456789e18,\"temperature\":1}", "d", TS + 789123456, 1,
	   1),
	OK(D "\"ts\":175543409678912345678912e-5,\"temperature\":1}", "d", TS + 789123456,
	   1, 1),
	OK(D "\"ts\":1e-30,\"temperature\":1}", "d", 0, 1, 1),
	OK(D "\"ts\":0,\"temperature\":1}", "d", 0, 1, 1),
	OK(D "\"ts\":-0,\"temperature\":1}", "d", 0, 1, 1),
	OK(D "\"ts\":17554340965e-1,\"temperature\":1}", "d", TS + SEC / 2, 1, 1),
	OK(D "\"timestamp\":1755434096,\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"timestamp\":\"bad\",\"ts\":1755434096,\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":1755434096,\"timestamp\":1,\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":1755434400,\"temperature\":1}", "d", ARR + 300 * SEC, 1, 1),
	NO(D "\"ts\":1755434401,\"temperature\":1}", FUTURE_TIMESTAMP),
	NO(D "\"ts\":9223372036854775807,\"temperature\":1}", FUTURE_TIMESTAMP),
	NO(D "\"ts\":9223372036854775808,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":99999999999,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":1e19,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":1e400,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":-1,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":-1.5,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":null,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":true,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":{},\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":[1755434096],\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"1755434096\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"garbage\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":1755434096,\"ts\":null,\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"timestamp\":null,\"temperature\":1}", BAD_TIMESTAMP),

	/* RFC 3339 */
	OK(D "\"ts\":\"2025-08-17T12:34:56.789Z\",\"temperature\":1}", "d", TS + 789000000, 1,
	   1),
	OK(D "\"ts\":\"2025-08-17t12:34:56z\",\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":\"2025-08-17 12:34:56\",\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":\"2025-08-17T12:34:56-00:00\",\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":\"2025-08-17T14:34:56+02:00\",\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":\"2025-08-17T07:04:56-05:30\",\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"ts\":\"2025-08-17T12:34:56.1Z\",\"temperature\":1}", "d", TS + 100000000, 1, 1),
	OK(D "\"ts\":\"2025-08-17T12:34:56.123456789123Z\",\"temperature\":1}", "d",
	   TS + 123456789, 1, 1),
	OK(D "\"ts\":\"2025-08-17T12:34:56.000000001+00:00\",\"temperature\":1}", "d", TS + 1,
	   1, 1),
	OK(D "\"ts\":\"2024-02-29T00:00:00Z\",\"temperature\":1}", "d", 1709164800LL * SEC, 1,
	   1),
	OK(D "\"ts\":\"2000-02-29T00:00:00Z\",\"temperature\":1}", "d", 951782400LL * SEC, 1, 1),
	OK(D "\"ts\":\"2025-03-01T00:00:00Z\",\"temperature\":1}", "d", 1740787200LL * SEC, 1,
	   1),
	OK(D "\"ts\":\"2024-12-31T23:59:59Z\",\"temperature\":1}", "d", 1735689599LL * SEC, 1,
	   1),
	OK(D "\"ts\":\"1970-01-01T00:00:00Z\",\"temperature\":1}", "d", 0, 1, 1),
	OK(D "\"ts\":\"1969-12-31T23:00:00-02:00\",\"temperature\":1}", "d", 3600 * SEC, 1, 1),
	OK(D "\"ts\":\"2016-12-31T23:59:60Z\",\"temperature\":1}", "d", 1483228800LL * SEC, 1,
	   1),
	OK(D "\"ts\":\"2025-08-17T12:34:5\\u0036Z\",\"temperature\":1}", "d", TS, 1, 1),
	OK(D "\"timestamp\":\"2025-08-17T12:34:56Z\",\"temperature\":1}", "d", TS, 1, 1),
	NO(D "\"ts\":\"2030-01-01T00:00:00Z\",\"temperature\":1}", FUTURE_TIMESTAMP),
	NO(D "\"ts\":\"2262-04-11T23:47:16.854775807Z\",\"temperature\":1}", FUTURE_TIMESTAMP),
	NO(D "\"ts\":\"2262-04-11T23:47:16.854775808Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"9999-12-31T23:59:59Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"1969-12-31T23:59:59Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"1970-01-01T00:30:00+01:00\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-02-29T00:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"1900-02-29T00:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-13-01T00:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-00-01T00:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-04-31T00:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-04-00T00:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T24:00:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:60:00Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:61Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:56+24:00\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:56+02:60\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:56+0200\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:56+02\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:56.Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34:56Z \",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17T12:34Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-08-17X12:34:56Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"2025-8-17T12:34:56Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"+025-08-17T12:34:56Z\",\"temperature\":1}", BAD_TIMESTAMP),
	NO(D "\"ts\":\"\",\"temperature\":1}", BAD_TIMESTAMP),

	/* metrics */
	OK(D "\"temperature\":1,\"humidity\":2.5,\"pressure\":-3e2,\"vibration\":0.001}", "d",
	   ARR, 15, 1, 2.5, -300, 0.001),
	OK(D "\"temperature\":1,\"humidity\":5,\"temperature\":\"x\"}", "d", ARR, 2, 0, 5),
	OK(D "\"temperature\":\"21\",\"humidity\":true,\"pressure\":null,\"vibration\":{},"
	   "\"Temperature\":5,\"humidity\":[1],\"vibration\":7}", "d", ARR, 8, 0, 0, 0, 7),
	OK(D "\"meta\":{\"x\":[1,2,{\"y\":null,\"temperature\":3}],\"z\":\"q\"},\"arr\":[],"
	   "\"o\":{},\"\":1,\"note\":\"h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80\","
	   "\"temperature\":-60}",
	   "d", ARR, 1, -60),
	OK(" \t{ \"device_id\" : \"d\" ,\"temperature\" :150 } \r", "d", ARR, 1, 150),
	OK(D "\"humidity\":1e400,\"humidity\":3}", "d", ARR, 2, 0, 3),
	NO(D "\"foo\":1}", NO_METRICS),
	NO("{\"device_id\":\"d\"}", NO_METRICS),
	NO(D "\"temperature\":null,\"humidity\":\"1\",\"pressure\":false}", NO_METRICS),
	NO(D "\"x\":{\"temperature\":1}}", NO_METRICS),
	NO(D "\"temperature\":150.00000000001}", OUT_OF_RANGE),
	NO(D "\"temperature\":-60.1}", OUT_OF_RANGE),
	NO(D "\"temperature\":21,\"humidity\":1e400}", OUT_OF_RANGE),
	NO(D "\"vibration\":-1e309}", OUT_OF_RANGE),

	/* syntax: every one a single bad_json record */
	NO(D "\"temperature\":1} x", BAD_JSON),
	NO(D "\"temperature\":1}{}", BAD_JSON),
	NO(D "\"temperature\":1}}", BAD_JSON),
	NO(D "\"temperature\":1},", BAD_JSON),
	NO(D "\"temperature\":01}", BAD_JSON),
	NO(D "\"temperature\":-01}", BAD_JSON),
	NO(D "\"temperature\":+1}", BAD_JSON),
	NO(D "\"temperature\":.5}", BAD_JSON),
	NO(D "\"temperature\":1.}", BAD_JSON),
	NO(D "\"temperature\":1.e5}", BAD_JSON),
	NO(D "\"temperature\":1e}", BAD_JSON),
	NO(D "\"temperature\":1e+}", BAD_JSON),
	NO(D "\"temperature\":0x1F}", BAD_JSON),
	NO(D "\"temperature\":--1}", BAD_JSON),
	NO(D "\"temperature\":-}", BAD_JSON),
	NO(D "\"temperature\":NaN}", BAD_JSON),
	NO(D "\"temperature\":Infinity}", BAD_JSON),
	NO(D "\"temperature\":-Infinity}", BAD_JSON),
	NO(D "\"temperature\":1 2}", BAD_JSON),
	NO(D "\"temperature\":1,}", BAD_JSON),
	NO(D "\"temperature\":}", BAD_JSON),
	NO(D "\"temperature\"}", BAD_JSON),
	NO(D "\"temperature\" 1}", BAD_JSON),
	NO(D "\"temperature\":1", BAD_JSON),
	NO(D "\"temperature\":1 \"humidity\":2}", BAD_JSON),
	NO(D "\"x\":tru,\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":True,\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":nulls,\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":nul", BAD_JSON),
	NO(D "\"x\":[1,2,],\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":[,1],\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":[1 2],\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":{\"a\":1,},\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":{\"a\"},\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":{1:2},\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":[1,2},\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":{\"a\":1],\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":[[[]],\"temperature\":1}", BAD_JSON),
	NO("{device_id:\"d\",\"temperature\":1}", BAD_JSON),
	NO("{'device_id':'d','temperature':1}", BAD_JSON),
	NO("{\"device_id\":\"d\",,\"temperature\":1}", BAD_JSON),
	NO("{,}", BAD_JSON),
	NO("{", BAD_JSON),
	NO("{\"device_id", BAD_JSON),
	NO("{\"device_id\":\"d", BAD_JSON),
	NO("\"device_id\"", BAD_JSON),
	NO("42", BAD_JSON),
	NO("null", BAD_JSON),
	NO("device_id=d temperature=1", BAD_JSON),
	NO("\xef\xbb\xbf{\"device_id\":\"d\",\"temperature\":1}", BAD_JSON),
	/* strings: control characters, escapes, UTF-8 */
	NO("{\"device_id\":\"a\x01" "b\",\"temperature\":1}", BAD_JSON),
	NO("{\"device_id\":\"a\tb\",\"temperature\":1}", BAD_JSON),
	NO("{\"device_id\":\"a\x1f\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\\x41\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\\'\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\\U0041\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\\u12\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\\u12g4\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\\\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xff\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xc0\xaf\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xc1\xbf\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xe0\x80\xaf\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xed\xa0\x80\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xe2\x82\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xf0\x8f\xbf\xbf\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xf4\x90\x80\x80\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\xf5\x80\x80\x80\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\":\"\x80\",\"temperature\":1}", BAD_JSON),
	NO(D "\"x\xff\":1,\"temperature\":1}", BAD_JSON),
	NO(D "\"temperature\":1}\xff", BAD_JSON),
	NO(D "\"temperature\":1}\f", BAD_JSON),
	NO(D "\"temperature\":\xc2\xa0" "1}", BAD_JSON),
};

static void
test_single_vectors(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		const struct vec *v = &single[i];
		uint64_t rej[WR_REASON_COUNT] = { 0 };

		decode(v->in);
		if (cap.out.records != 1)
			fail_msg("%s: %llu records", v->in, (unsigned long long)cap.out.records);
		if (v->reason == WR_REASON_NONE) {
			expect_counts(v->in, 1, rej);
			expect_rec(v->in, 0, v->id, v->t, v->present, v->v);
		} else {
			rej[v->reason] = 1;
			expect_counts(v->in, 0, rej);
		}
	}
}

/* A NUL byte is a control character in a string and garbage elsewhere. */
static void
test_nul_bytes(void **state)
{
	static const char in1[] = "{\"device_id\":\"a\0b\",\"temperature\":1}";
	static const char in2[] = "{\"device_id\":\"a\",\"temperature\":1}\0";
	static const char in3[] = "{\"device_id\":\"a\",\"temperature\":1}\n\0\n"
				  "{\"device_id\":\"b\",\"temperature\":2}";
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	const double v[4] = { 2 };

	(void)state;
	rej[WR_REASON_BAD_JSON] = 1;
	decode_n(in1, sizeof(in1) - 1);
	expect_counts("nul in string", 0, rej);
	decode_n(in2, sizeof(in2) - 1);
	expect_counts("nul after object", 0, rej);
	decode_n(in3, sizeof(in3) - 1);
	expect_counts("nul line", 2, rej);
	expect_rec("nul line", 1, "b", ARR, 1, v);
}

/* Device ids of 64 bytes pass, 65 do not, counted after unescaping. */
static void
test_id_length(void **state)
{
	char in[1024], id[80];
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	const double v[4] = { 1 };
	size_t k;

	(void)state;
	memset(id, 'x', 64);
	id[64] = '\0';
	snprintf(in, sizeof(in), "{\"device_id\":\"%s\",\"temperature\":1}", id);
	decode(in);
	expect_counts("id 64", 1, rej);
	expect_rec("id 64", 0, id, ARR, 1, v);

	snprintf(in, sizeof(in), "{\"device_id\":\"%sx\",\"temperature\":1}", id);
	decode(in);
	rej[WR_REASON_BAD_DEVICE_ID] = 1;
	expect_counts("id 65", 0, rej);

	/* 62 plain + one escape making 2 bytes = 64 */
	snprintf(in, sizeof(in), "{\"device_id\":\"%.62s\\u00e9\",\"temperature\":1}", id);
	decode(in);
	rej[WR_REASON_BAD_DEVICE_ID] = 0;
	expect_counts("escaped id 64", 1, rej);
	memcpy(id + 62, "\xc3\xa9", 3);
	expect_rec("escaped id 64", 0, id, ARR, 1, v);

	/* 63 plain + one 2-byte escape = 65 */
	memset(id, 'x', 64);
	id[64] = '\0';
	snprintf(in, sizeof(in), "{\"device_id\":\"%.63s\\u00e9\",\"temperature\":1}", id);
	decode(in);
	rej[WR_REASON_BAD_DEVICE_ID] = 1;
	expect_counts("escaped id 65", 0, rej);

	/* 100 escapes: far past the bound */
	k = (size_t)snprintf(in, sizeof(in), "{\"device_id\":\"");
	while (k < 14 + 200)
		k += (size_t)snprintf(in + k, sizeof(in) - k, "\\n");
	snprintf(in + k, sizeof(in) - k, "\",\"temperature\":1}");
	decode(in);
	expect_counts("escaped id long", 0, rej);
}

/* Metric values must equal strtod of the same text, bit for bit. */
static void
test_numbers(void **state)
{
	static const char *const nums[] = {
		"0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.2", "0.3", "0.30000000000000004",
		"1e-5", "1E2", "1e+2", "1E-2", "-1.5e-3", "123.456", "3.141592653589793",
		"2.718281828459045235360287", "9007199254740992", "9007199254740993",
		"9007199254740995", "18446744073709551615", "18446744073709551616",
		"1234567890123456789", "12345678901234567890123", "1e22", "1e23", "9.999e22",
		"1.7976931348623157e308", "1.7976931348623158e308", "2.2250738585072014e-308",
		"2.2250738585072011e-308", "4.9406564584124654e-324", "5e-324", "2e-324",
		"1e-400", "0.000000000000000000000000000000000000000000001",
		"100000000000000000000000", "0e999999999999", "1e-99999999999999999999",
		"7.2057594037927933e16", "22.2", "-273.15", "1013.25", "0.0001220703125",
		"8.98846567431158e307", "4.35e-12", "65535.99609375",
	};
	char in[256];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double want = strtod(nums[i], NULL);
		uint64_t rej[WR_REASON_COUNT] = { 0 };
		double v[4] = { 0, 0, want, 0 };

		snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", nums[i]);
		decode(in);
		expect_counts(nums[i], 1, rej);
		expect_rec(nums[i], 0, "n", ARR, 4, v);
	}
}

/* Tokens longer than the strtod copy buffer still round correctly. */
static void
test_long_numbers(void **state)
{
	static char in[4096], num[3000];
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	double v[4] = { 0 };
	size_t k;

	(void)state;
	/* 0.000...0001e602 = 10 */
	k = (size_t)snprintf(num, sizeof(num), "0.");
	memset(num + k, '0', 600);
	k += 600;
	snprintf(num + k, sizeof(num) - k, "1e602");
	snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", num);
	decode(in);
	v[2] = 10;
	expect_counts("long fraction", 1, rej);
	expect_rec("long fraction", 0, "n", ARR, 4, v);

	/* 1000...000e-700 = 1 */
	num[0] = '1';
	memset(num + 1, '0', 700);
	snprintf(num + 701, sizeof(num) - 701, "e-700");
	snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", num);
	decode(in);
	v[2] = 1;
	expect_counts("long integer", 1, rej);
	expect_rec("long integer", 0, "n", ARR, 4, v);

	/*
	 * 2^53 + 1 is half way between two doubles: ties to even gives 2^53,
	 * but a non-zero digit 900 places later must round up to 2^53 + 2.
	 */
	k = (size_t)snprintf(num, sizeof(num), "-9007199254740993.");
	memset(num + k, '0', 900);
	k += 900;
	snprintf(num + k, sizeof(num) - k, "1");
	snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", num);
	decode(in);
	v[2] = -9007199254740994.0;
	expect_counts("sticky up", 1, rej);
	expect_rec("sticky up", 0, "n", ARR, 4, v);
	num[k] = '0';
	snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", num);
	decode(in);
	v[2] = -9007199254740992.0;
	expect_counts("sticky even", 1, rej);
	expect_rec("sticky even", 0, "n", ARR, 4, v);

	/* a long mantissa matches strtod on the full text */
	k = (size_t)snprintf(num, sizeof(num), "3.");
	for (; k < 1500; k++)
		num[k] = (char)('0' + (k * 7) % 10);
	snprintf(num + k, sizeof(num) - k, "e-5");
	snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", num);
	decode(in);
	v[2] = strtod(num, NULL);
	expect_counts("long mantissa", 1, rej);
	expect_rec("long mantissa", 0, "n", ARR, 4, v);

	/* overflow to infinity: out_of_range */
	num[0] = '9';
	memset(num + 1, '9', 600);
	num[601] = '\0';
	snprintf(in, sizeof(in), "{\"device_id\":\"n\",\"pressure\":%s}", num);
	decode(in);
	rej[WR_REASON_OUT_OF_RANGE] = 1;
	expect_counts("long overflow", 0, rej);
}

/* Configured units for numeric times. */
static void
test_ts_units(void **state)
{
	static const struct {
		enum cfg_ts_unit unit;
		const char *ts;
		int64_t want;	/* -1: bad_timestamp */
	} u[] = {
		{ CFG_TS_S, "5", 5 * SEC },
		{ CFG_TS_S, "1755434096", TS },
		{ CFG_TS_S, "1755434096.25", TS + SEC / 4 },
		{ CFG_TS_S, "9223372037", -1 },
		{ CFG_TS_MS, "5", 5000000 },
		{ CFG_TS_MS, "1.5", 1500000 },
		{ CFG_TS_MS, "1755434096789", 1755434096789000000LL },
		{ CFG_TS_US, "5", 5000 },
		{ CFG_TS_NS, "5", 5 },
		{ CFG_TS_NS, "1755434096000000001", TS + 1 },
		{ CFG_TS_NS, "-5", -1 },
	};
	unsigned int i;
	char in[256];

	(void)state;
	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		uint64_t rej[WR_REASON_COUNT] = { 0 };
		const double v[4] = { 1 };

		cfg.json_ts_unit = u[i].unit;
		snprintf(in, sizeof(in), "{\"device_id\":\"d\",\"ts\":%s,\"temperature\":1}",
			 u[i].ts);
		decode(in);
		if (u[i].want < 0) {
			rej[WR_REASON_BAD_TIMESTAMP] = 1;
			expect_counts(in, 0, rej);
		} else {
			expect_counts(in, 1, rej);
			expect_rec(in, 0, "d", u[i].want, 1, v);
		}
	}
	cfg.json_ts_unit = CFG_TS_AUTO;
}

/* Replay shift: added to event times, future check against capture time. */
static void
test_shift(void **state)
{
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	const double v[4] = { 1 };

	(void)state;
	meta.shift_ns = 3600 * SEC;
	meta.arrival_ns = ARR + 3600 * SEC;
	decode("{\"device_id\":\"d\",\"ts\":1755434096,\"temperature\":1}");
	expect_counts("shift", 1, rej);
	expect_rec("shift", 0, "d", TS + 3600 * SEC, 1, v);
	meta.shift_ns = 0;
	meta.arrival_ns = ARR;
}

static void
test_multiline(void **state)
{
	static const char in[] =
		"{\"device_id\":\"a\",\"temperature\":1}\n"
		"\n"
		"   \t\r\n"
		"{\"device_id\":\"b\", bad\n"
		"[1,2]\n"
		"{\"device_id\":\"c\",\"humidity\":3}\r\n"
		"{\"temperature\":5}\n"
		"{\"device_id\":\"e\",\n"
		"\"temperature\":5}\n"
		"garbage\n"
		"\t{\"device_id\":\"f\",\"ts\":\"2025-08-17T12:34:56Z\",\"vibration\":-2}";
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	const double va[4] = { 1 }, vc[4] = { 0, 3 }, vf[4] = { 0, 0, 0, -2 };

	(void)state;
	decode(in);
	rej[WR_REASON_BAD_JSON] = 5;
	rej[WR_REASON_MISSING_DEVICE_ID] = 1;
	expect_counts("multiline", 3, rej);
	expect_rec("multiline", 0, "a", ARR, 1, va);
	expect_rec("multiline", 1, "c", ARR, 2, vc);
	expect_rec("multiline", 2, "f", TS, 8, vf);

	/* blank lines are not records; an all-blank payload is one bad_json */
	decode(" \r\n\t\n\n");
	memset(rej, 0, sizeof(rej));
	rej[WR_REASON_BAD_JSON] = 1;
	expect_counts("all blank", 0, rej);

	/* a line that is not an object, alone */
	decode("{\"device_id\":\"a\",\"temperature\":1}\n\"x\"\n");
	expect_counts("string line", 1, rej);

	/* each rejection reason on its own line */
	decode("{\"device_id\":\"a\",\"temperature\":1}\n"
	       "{\"temperature\":1}\n"
	       "{\"device_id\":1,\"temperature\":1}\n"
	       "{\"device_id\":\"a\",\"ts\":null,\"temperature\":1}\n"
	       "{\"device_id\":\"a\",\"ts\":\"2030-01-01T00:00:00Z\",\"temperature\":1}\n"
	       "{\"device_id\":\"a\"}\n"
	       "{\"device_id\":\"a\",\"temperature\":1000}\n"
	       "{\"device_id\":\"a\",\"temperature\":1\n"
	       "{\"device_id\":\"z\",\"temperature\":2}");
	rej[WR_REASON_BAD_JSON] = 1;
	rej[WR_REASON_MISSING_DEVICE_ID] = 1;
	rej[WR_REASON_BAD_DEVICE_ID] = 1;
	rej[WR_REASON_BAD_TIMESTAMP] = 1;
	rej[WR_REASON_FUTURE_TIMESTAMP] = 1;
	rej[WR_REASON_NO_METRICS] = 1;
	rej[WR_REASON_OUT_OF_RANGE] = 1;
	expect_counts("every reason", 2, rej);
	assert_int_equal(cap.out.records, 9);
}

static void
test_arrays(void **state)
{
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	const double va[4] = { 1 }, vb[4] = { 0, 2 };

	(void)state;
	decode("[{\"device_id\":\"a\",\"temperature\":1},{\"device_id\":\"b\",\"humidity\":2}]");
	expect_counts("array", 2, rej);
	expect_rec("array", 0, "a", ARR, 1, va);
	expect_rec("array", 1, "b", ARR, 2, vb);

	decode(" \r\n [\n {\"device_id\":\"a\",\"temperature\":1} ,\n 42, {\"x\":1}, \"s\", [],"
	       " null, {\"device_id\":\"b\",\"humidity\":2}, [{\"device_id\":\"c\"}], {}\n]\n\t");
	rej[WR_REASON_BAD_JSON] = 5;
	rej[WR_REASON_MISSING_DEVICE_ID] = 2;
	expect_counts("array with bad elements", 2, rej);
	expect_rec("array with bad elements", 0, "a", ARR, 1, va);
	expect_rec("array with bad elements", 1, "b", ARR, 2, vb);

	decode("[{\"temperature\":1},{\"device_id\":\"a\"},{\"device_id\":\"a\",\"ts\":-1,"
	       "\"temperature\":1},{\"device_id\":\"a\",\"temperature\":999}]");
	memset(rej, 0, sizeof(rej));
	rej[WR_REASON_MISSING_DEVICE_ID] = 1;
	rej[WR_REASON_NO_METRICS] = 1;
	rej[WR_REASON_BAD_TIMESTAMP] = 1;
	rej[WR_REASON_OUT_OF_RANGE] = 1;
	expect_counts("array rejects", 0, rej);

	/* broken arrays: one bad_json for the whole payload, nothing emitted */
	static const char *const broken[] = {
		"[{\"device_id\":\"a\",\"temperature\":1},{\"device_id\":\"b\",\"humidity\":2}",
		"[{\"device_id\":\"a\",\"temperature\":1}] x",
		"[{\"device_id\":\"a\",\"temperature\":1}]]",
		"[{\"device_id\":\"a\",\"temperature\":1},]",
		"[{\"device_id\":\"a\",\"temperature\":1} {\"device_id\":\"b\",\"humidity\":2}]",
		"[{\"device_id\":\"a\",\"temperature\":1}]\n{\"device_id\":\"b\",\"humidity\":2}",
		"[{\"device_id\":\"a\",\"temperature\":1},{\"device_id\":\"b\",\"humidity\":02}]",
		"[{\"device_id\":\"a\",\"temperature\":1},{\"device_id\":\"b\xff\",\"x\":2}]",
		"[{\"device_id\":\"a\",\"temperature\":1},NaN]",
		"[,{\"device_id\":\"a\",\"temperature\":1}]",
		"[",
		"[]",
		" [ \n ] ",
	};
	unsigned int i;

	memset(rej, 0, sizeof(rej));
	rej[WR_REASON_BAD_JSON] = 1;
	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		decode(broken[i]);
		expect_counts(broken[i], 0, rej);
	}
}

/* Nested containers: 64 levels per record pass, 65 are bad_json. */
static void
test_depth(void **state)
{
	static char in[1024];
	uint64_t rej[WR_REASON_COUNT] = { 0 };
	const double v[4] = { 1 };
	unsigned int levels, k, i, arr;

	(void)state;
	for (arr = 0; arr < 2; arr++) {
		for (levels = 63; levels <= 64; levels++) {
			/* the record object is level 1, "x" holds 'levels' more */
			k = (unsigned int)snprintf(in, sizeof(in), "%s{\"device_id\":\"d\",\"x\":",
						   arr ? "[" : "");
			for (i = 0; i < levels; i++)
				k += (unsigned int)snprintf(in + k, sizeof(in) - k,
							    (i & 1) ? "[" : "{\"y\":");
			/* an odd count ends on an object waiting for a value */
			if (levels & 1)
				in[k++] = '0';
			for (i = levels; i-- > 0;)
				in[k++] = (i & 1) ? ']' : '}';
			snprintf(in + k, sizeof(in) - k, ",\"temperature\":1}%s", arr ? "]" : "");
			decode(in);
			memset(rej, 0, sizeof(rej));
			if (levels == 63) {
				expect_counts(in, 1, rej);
				expect_rec(in, 0, "d", ARR, 1, v);
			} else {
				rej[WR_REASON_BAD_JSON] = 1;
				expect_counts(in, 0, rej);
			}
		}
	}

	/* deep non-object element: 64 levels is one bad element, 65 breaks the array */
	for (levels = 64; levels <= 65; levels++) {
		k = 0;
		in[k++] = '[';
		for (i = 0; i < levels; i++)
			in[k++] = '[';
		for (i = 0; i < levels; i++)
			in[k++] = ']';
		snprintf(in + k, sizeof(in) - k, ",{\"device_id\":\"d\",\"temperature\":1}]");
		decode(in);
		memset(rej, 0, sizeof(rej));
		rej[WR_REASON_BAD_JSON] = 1;
		expect_counts(in, levels == 64 ? 1 : 0, rej);
	}

	/* thousands of open brackets: bounded, no recursion */
	memset(in, '[', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[0] = '{';
	decode(in);
	expect_counts("deep garbage", 0, rej);
	in[0] = '[';
	decode(in);
	expect_counts("deep array", 0, rej);
}

/* Truncating a good payload at every length never crashes or over-counts. */
static void
test_prefixes(void **state)
{
	static const char full[] =
		"{\"device_id\":\"d\\u00e9\",\"ts\":\"2025-08-17T12:34:56.5+01:00\","
		"\"x\":[1,{\"a\":null}],\"temperature\":-1.5e1,\"humidity\":true}";
	static const char arr[] = "[{\"device_id\":\"a\",\"temperature\":1},{\"device_id\":"
				  "\"b\",\"humidity\":2}]";
	static char buf[sizeof(full)];
	size_t n;

	(void)state;
	for (n = 1; n < sizeof(full) - 1; n++) {
		memcpy(buf, full, n);
		decode_n(buf, n);
		assert_int_equal(cap.out.records, 1);
		assert_int_equal(cap.out.rejected[WR_REASON_BAD_JSON], 1);
	}
	decode_n(full, sizeof(full) - 1);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.rec[0].time_ns, TS - 3600 * SEC + SEC / 2);
	for (n = 1; n < sizeof(arr) - 1; n++) {
		decode_n(arr, n);
		assert_int_equal(cap.out.records, 1);
		assert_int_equal(cap.out.rejected[WR_REASON_BAD_JSON], 1);
	}
}

/* dp_decode_payload routes '{' and '[' here, after leading blanks. */
static void
test_dispatch(void **state)
{
	static const char in[] = "\r\n [{\"device_id\":\"a\",\"temperature\":1}]";
	const double v[4] = { 1 };
	uint64_t rej[WR_REASON_COUNT] = { 0 };

	(void)state;
	dtu_cap_init(&cap);
	dp_decode_payload(&cfg, &meta, (const uint8_t *)in, sizeof(in) - 1, &cap.out);
	expect_counts("dispatch", 1, rej);
	expect_rec("dispatch", 0, "a", ARR, 1, v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_vectors),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_id_length),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_long_numbers),
		cmocka_unit_test(test_ts_units),
		cmocka_unit_test(test_shift),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_dispatch),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
