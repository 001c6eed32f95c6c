/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the InfluxDB line protocol decoder (dataplane/dec_influx.c):
 * must-parse and must-not-parse tables, one case per rule of SPEC §3 item 2
 * and per rejection reason the encoding can reach. Single threaded.
 */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dp_decode.h"
#include "decode_test_util.h"

#define S_NS 1000000000LL
#define ARRIVAL (1700000000LL * S_NS)
#define AT_ARRIVAL INT64_MIN	/* expected time: the arrival time */

static void
make_cfg(struct dp_decode_cfg *c)
{
	fz_decode_cfg_make(c, CFG_ENC_INFLUX, -50);
}

static const struct dp_pkt_meta meta0 = { .arrival_ns = ARRIVAL, .shift_ns = 0 };

static void
decode(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta, const char *in,
       size_t len, struct dtu_cap *c)
{
	dtu_cap_decode(dp_decode_influx, cfg, meta, (const uint8_t *)in, len, c);
}

/* One-line cases: emitted with these contents, or rejected for 'reason'. */
struct lp_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int reason;		/* WR_REASON_NONE: emitted */
	const char *id;
	int64_t time_ns;	/* AT_ARRIVAL: no timestamp */
	uint64_t present;
	double v[4];
};

#define OK(in, id, t, present, ...) { in, 0, WR_REASON_NONE, id, t, present, { __VA_ARGS__ } }
#define BAD(in, reason) { in, 0, WR_REASON_##reason, NULL, 0, 0, { 0 } }
#define T0 (1699999999LL * S_NS)

static const struct lp_case must_parse[] = {
	/* shape, timestamp, arrival time */
	OK("weather,device_id=d1 temperature=21.5 1699999999000000000", "d1", T0, 1, 21.5),
	OK("weather,device_id=d1 temperature=21.5", "d1", AT_ARRIVAL, 1, 21.5),
	OK("w,device_id=d1 temperature=1 0", "d1", 0, 1, 1),
	OK("w,device_id=d1 temperature=1 -0", "d1", 0, 1, 1),
	OK("w,device_id=d1 temperature=1 01699999999000000000", "d1", T0, 1, 1),
	OK("  w,device_id=d1   temperature=1   1699999999000000000   ", "d1", T0, 1, 1),
	OK("\tw,device_id=d1 temperature=1", "d1", AT_ARRIVAL, 1, 1),
	OK("w,device_id=d1 temperature=1\r", "d1", AT_ARRIVAL, 1, 1),
	OK("w,device_id=d1 temperature=1 1699999999000000000\r", "d1", T0, 1, 1),
	OK("w,device_id=d1 temperature=1 1700000300000000000", "d1", ARRIVAL + 300 * S_NS, 1, 1),
	/* every numeric kind, unknown fields skipped */
	OK("w,device_id=d1 temperature=1,humidity=2i,pressure=3u,other=4,vibration=-0.5",
	   "d1", AT_ARRIVAL, 15, 1, 2, 3, -0.5),
	OK("w,host=h1,device_id=d1,region=eu humidity=-7i", "d1", AT_ARRIVAL, 2, 0, -7),
	OK("w,device_id=d1 humidity=-9223372036854775808i,pressure=9223372036854775807i",
	   "d1", AT_ARRIVAL, 6, 0, -9223372036854775808.0, 9223372036854775807.0),
	OK("w,device_id=d1 pressure=18446744073709551615u,humidity=0u", "d1", AT_ARRIVAL, 6, 0,
	   0, 18446744073709551615.0),
	/* device id: priority order, first of a repeated key, escapes */
	OK("w,sensor_id=s9 humidity=50", "s9", AT_ARRIVAL, 2, 0, 50),
	OK("w,sensor_id=s9,device_id=d1 humidity=50", "d1", AT_ARRIVAL, 2, 0, 50),
	OK("w,device_id=d1,sensor_id=s9 humidity=50", "d1", AT_ARRIVAL, 2, 0, 50),
	OK("w,device_id=a,device_id=b humidity=1", "a", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=dev\\ 1\\,x\\=y humidity=1", "dev 1,x=y", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=a\\b humidity=1", "a\\b", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=a\\\\ humidity=1", "a\\", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=a\\\\\\ b humidity=1", "a\\ b", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=\"q\" humidity=1", "\"q\"", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=\xc3\xa9t\xc3\xa9 humidity=1", "\xc3\xa9t\xc3\xa9", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=0123456789012345678901234567890123456789012345678901234567890123 "
	   "humidity=1", "0123456789012345678901234567890123456789012345678901234567890123",
	   AT_ARRIVAL, 2, 0, 1),
	/* 70 bytes on the wire, 64 once unescaped */
	OK("w,device_id=\\,\\,\\,\\,\\,\\,01234567890123456789012345678901234567890123456789"
	   "01234567 humidity=1",
	   ",,,,,,0123456789012345678901234567890123456789012345678901234567", AT_ARRIVAL, 2, 0,
	   1),
	OK("w,device_id\\ x=a,device_id=d1 humidity=1", "d1", AT_ARRIVAL, 2, 0, 1),
	/* measurement escapes, '=' and quotes allowed in it */
	OK("my\\ meas\\,x,device_id=d1 temperature=1", "d1", AT_ARRIVAL, 1, 1),
	OK("a=b,device_id=d1 temperature=1", "d1", AT_ARRIVAL, 1, 1),
	OK("\"m\",device_id=d1 temperature=1", "d1", AT_ARRIVAL, 1, 1),
	OK("m\\ ,device_id=d1 temperature=1", "d1", AT_ARRIVAL, 1, 1),
	OK("m\\,device_id=d1,sensor_id=s temperature=1", "s", AT_ARRIVAL, 1, 1),
	/* strings and booleans are skipped */
	OK("w,device_id=d1 note=\"a, b=c \\\"q\\\" \\\\\",temperature=2", "d1", AT_ARRIVAL, 1, 2),
	OK("w,device_id=d1 note=\"\",temperature=2", "d1", AT_ARRIVAL, 1, 2),
	OK("w,device_id=d1 note=\"x\\y#\",temperature=2 1699999999000000000", "d1", T0, 1, 2),
	OK("w,device_id=d1 a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE,"
	   "temperature=3", "d1", AT_ARRIVAL, 1, 3),
	/* escaped field keys */
	OK("w,device_id=d1 wind\\ speed=1,x\\,y=2,a\\=b=3,temperature=4", "d1", AT_ARRIVAL, 1, 4),
	/* a repeated field: the last one wins */
	OK("w,device_id=d1 temperature=1,temperature=2", "d1", AT_ARRIVAL, 1, 2),
	OK("w,device_id=d1 temperature=1,temperature=\"x\",humidity=1", "d1", AT_ARRIVAL, 2, 0,
	   1),
	OK("w,device_id=d1 temperature=t,temperature=5i", "d1", AT_ARRIVAL, 1, 5),
	/* float syntax, correctly rounded */
	OK("w,device_id=d1 humidity=1e3", "d1", AT_ARRIVAL, 2, 0, 1000),
	OK("w,device_id=d1 humidity=.5", "d1", AT_ARRIVAL, 2, 0, 0.5),
	OK("w,device_id=d1 humidity=-.5", "d1", AT_ARRIVAL, 2, 0, -0.5),
	OK("w,device_id=d1 humidity=1.", "d1", AT_ARRIVAL, 2, 0, 1),
	OK("w,device_id=d1 humidity=1.e2", "d1", AT_ARRIVAL, 2, 0, 100),
	OK("w,device_id=d1 humidity=1E+2", "d1", AT_ARRIVAL, 2, 0, 100),
	OK("w,device_id=d1 humidity=-1.5e-3", "d1", AT_ARRIVAL, 2, 0, -1.5e-3),
	OK("w,device_id=d1 humidity=0.1", "d1", AT_ARRIVAL, 2, 0, 0.1),
	OK("w,device_id=d1 humidity=000123.4500", "d1", AT_ARRIVAL, 2, 0, 123.45),
	OK("w,device_id=d1 humidity=0.30000000000000004", "d1", AT_ARRIVAL, 2, 0,
	   0.30000000000000004),
	OK("w,device_id=d1 humidity=9007199254740993", "d1", AT_ARRIVAL, 2, 0,
	   9007199254740992.0),
	OK("w,device_id=d1 humidity=123456789012345678901234567890", "d1", AT_ARRIVAL, 2, 0,
	   123456789012345678901234567890.0),
	OK("w,device_id=d1 humidity=2.2250738585072014e-308", "d1", AT_ARRIVAL, 2, 0,
	   2.2250738585072014e-308),
	OK("w,device_id=d1 humidity=4.9e-324", "d1", AT_ARRIVAL, 2, 0, 4.9e-324),
	OK("w,device_id=d1 humidity=1e-400", "d1", AT_ARRIVAL, 2, 0, 0),
	OK("w,device_id=d1 humidity=0e999999999999", "d1", AT_ARRIVAL, 2, 0, 0),
	OK("w,device_id=d1 humidity=1.7976931348623157e308", "d1", AT_ARRIVAL, 2, 0,
	   1.7976931348623157e308),
	OK("w,device_id=d1 humidity=3.14159265358979323846264338327950288", "d1", AT_ARRIVAL,
	   2, 0, 3.14159265358979323846264338327950288),
	OK("w,device_id=d1 humidity=1e22,pressure=1e23", "d1", AT_ARRIVAL, 6, 0, 1e22, 1e23),
	/* a 17-digit significand above 2^53: the exact fast path must not take it */
	OK("w,device_id=d1 humidity=47.856959858438490", "d1", AT_ARRIVAL, 2, 0,
	   47.856959858438490),
	/* more than 19 digits: beyond uint64 */
	OK("w,device_id=d1 humidity=18446744073709551617", "d1", AT_ARRIVAL, 2, 0,
	   18446744073709551616.0),
	/* schema range on temperature is inclusive */
	OK("w,device_id=d1 temperature=150", "d1", AT_ARRIVAL, 1, 150),
	OK("w,device_id=d1 temperature=-50i", "d1", AT_ARRIVAL, 1, -50),
	OK("w,device_id=d1 humidity=1e300", "d1", AT_ARRIVAL, 2, 0, 1e300),
};

static const struct lp_case must_not_parse[] = {
	/* missing parts */
	BAD("w", BAD_LINE),
	BAD("w ", BAD_LINE),
	BAD("w,device_id=d1", BAD_LINE),
	BAD("w,device_id=d1 ", BAD_LINE),
	BAD("w,device_id=d1  1699999999000000000", BAD_LINE),
	BAD(",device_id=d1 temperature=1", BAD_LINE),
	BAD(" ,device_id=d1 temperature=1", BAD_LINE),
	/* tags */
	BAD("w,device_id temperature=1", BAD_LINE),
	BAD("w,=d1 temperature=1", BAD_LINE),
	BAD("w,device_id= temperature=1", BAD_LINE),
	BAD("w,device_id=a=b temperature=1", BAD_LINE),
	BAD("w,,device_id=d1 temperature=1", BAD_LINE),
	BAD("w, device_id=d1 temperature=1", BAD_LINE),
	BAD("w,device_id=d1, temperature=1", BAD_LINE),
	/* fields */
	BAD("w,device_id=d1 temperature", BAD_LINE),
	BAD("w,device_id=d1 =1", BAD_LINE),
	BAD("w,device_id=d1 temperature=", BAD_LINE),
	BAD("w,device_id=d1 temperature= 1", BAD_LINE),
	BAD("w,device_id=d1 temperature=1,", BAD_LINE),
	BAD("w,device_id=d1 temperature=1, humidity=2", BAD_LINE),
	BAD("w,device_id=d1 temperature=1,,humidity=2", BAD_LINE),
	BAD("w,device_id=d1 temperature==1", BAD_LINE),
	BAD("w,device_id=d1 note=\"abc", BAD_LINE),
	BAD("w,device_id=d1 note=\"abc\\\"", BAD_LINE),
	BAD("w,device_id=d1 note=\"abc\"x", BAD_LINE),
	BAD("w,device_id=d1 note=\"abc\",", BAD_LINE),
	BAD("w,device_id=d1 note='abc'", BAD_LINE),
	/* numbers */
	BAD("w,device_id=d1 temperature=abc", BAD_LINE),
	BAD("w,device_id=d1 temperature=nan", BAD_LINE),
	BAD("w,device_id=d1 temperature=NaN", BAD_LINE),
	BAD("w,device_id=d1 temperature=inf", BAD_LINE),
	BAD("w,device_id=d1 temperature=-inf", BAD_LINE),
	BAD("w,device_id=d1 temperature=Infinity", BAD_LINE),
	BAD("w,device_id=d1 temperature=1.2.3", BAD_LINE),
	BAD("w,device_id=d1 temperature=1e", BAD_LINE),
	BAD("w,device_id=d1 temperature=1e+", BAD_LINE),
	BAD("w,device_id=d1 temperature=+1", BAD_LINE),
	BAD("w,device_id=d1 temperature=--1", BAD_LINE),
	BAD("w,device_id=d1 temperature=.", BAD_LINE),
	BAD("w,device_id=d1 temperature=-", BAD_LINE),
	BAD("w,device_id=d1 temperature=.e5", BAD_LINE),
	BAD("w,device_id=d1 temperature=1x", BAD_LINE),
	BAD("w,device_id=d1 temperature=0x10", BAD_LINE),
	BAD("w,device_id=d1 temperature=1_000", BAD_LINE),
	BAD("w,device_id=d1 temperature=1\t", BAD_LINE),
	BAD("w,device_id=d1 temperature=tru", BAD_LINE),
	BAD("w,device_id=d1 temperature=truex", BAD_LINE),
	BAD("w,device_id=d1 temperature=yes", BAD_LINE),
	BAD("w,device_id=d1 temperature=9223372036854775808i", BAD_LINE),
	BAD("w,device_id=d1 temperature=-9223372036854775809i", BAD_LINE),
	BAD("w,device_id=d1 temperature=99999999999999999999999i", BAD_LINE),
	BAD("w,device_id=d1 temperature=18446744073709551616u", BAD_LINE),
	BAD("w,device_id=d1 temperature=-1u", BAD_LINE),
	BAD("w,device_id=d1 temperature=1.5i", BAD_LINE),
	BAD("w,device_id=d1 temperature=1e2i", BAD_LINE),
	BAD("w,device_id=d1 temperature=i", BAD_LINE),
	BAD("w,device_id=d1 temperature=-i", BAD_LINE),
	BAD("w,device_id=d1 temperature=u", BAD_LINE),
	BAD("w,device_id=d1 temperature=1ii", BAD_LINE),
	BAD("w,device_id=d1 temperature=12I", BAD_LINE),
	/* a bad value in a field that is not a metric still breaks the line */
	BAD("w,device_id=d1 temperature=1,other=1x", BAD_LINE),
	/* timestamps */
	BAD("w,device_id=d1 temperature=1 1.5", BAD_LINE),
	BAD("w,device_id=d1 temperature=1 abc", BAD_LINE),
	BAD("w,device_id=d1 temperature=1 1699999999000000000x", BAD_LINE),
	BAD("w,device_id=d1 temperature=1 1 2", BAD_LINE),
	BAD("w,device_id=d1 temperature=1 -", BAD_LINE),
	BAD("w,device_id=d1 temperature=1 +1", BAD_LINE),
	BAD("w,device_id=d1 temperature=1 1e9", BAD_LINE),
	/* control characters outside string values */
	BAD("w\x01,device_id=d1 temperature=1", BAD_LINE),
	BAD("w,device_id=d\t1 temperature=1", BAD_LINE),
	BAD("w,device_id=d1 temp\x7f=1", BAD_LINE),
	BAD("w,device_id=d\\\x01 temperature=1", BAD_LINE),
	BAD("w,device_id=d1 temperature=1\r\r", BAD_LINE),
	/* device id */
	BAD("w temperature=1", MISSING_DEVICE_ID),
	BAD("w,host=h temperature=1", MISSING_DEVICE_ID),
	BAD("w,Device_id=d1 temperature=1", MISSING_DEVICE_ID),
	BAD("w,device\\_id=d1 temperature=1", MISSING_DEVICE_ID),
	BAD("w device_id=1,temperature=1", MISSING_DEVICE_ID),
	BAD("w device_id=\"d1\",temperature=1", MISSING_DEVICE_ID),
	BAD("w,device_id=01234567890123456789012345678901234567890123456789012345678901234 "
	    "temperature=1", BAD_DEVICE_ID),
	BAD("w,device_id=\\,\\,\\,\\,\\,\\,\\,0123456789012345678901234567890123456789012345678"
	    "901234567 temperature=1", BAD_DEVICE_ID),
	BAD("w,device_id=\xff temperature=1", BAD_DEVICE_ID),
	BAD("w,device_id=\xc3 temperature=1", BAD_DEVICE_ID),
	/* time */
	BAD("w,device_id=d1 temperature=1 -1", BAD_TIMESTAMP),
	BAD("w,device_id=d1 temperature=1 -1699999999000000000", BAD_TIMESTAMP),
	BAD("w,device_id=d1 temperature=1 9223372036854775808", BAD_TIMESTAMP),
	BAD("w,device_id=d1 temperature=1 99999999999999999999999", BAD_TIMESTAMP),
	BAD("w,device_id=d1 temperature=1 18446744073709551616", BAD_TIMESTAMP),
	BAD("w,device_id=d1 temperature=1 1700000300000000001", FUTURE_TIMESTAMP),
	BAD("w,device_id=d1 temperature=1 9223372036854775807", FUTURE_TIMESTAMP),
	/* metrics */
	BAD("w,device_id=d1 other=1", NO_METRICS),
	BAD("w,device_id=d1 temperature=true", NO_METRICS),
	BAD("w,device_id=d1 temperature=\"21.5\"", NO_METRICS),
	BAD("w,device_id=d1 Temperature=1", NO_METRICS),
	BAD("w,device_id=d1 temperature=1,temperature=f", NO_METRICS),
	BAD("w,device_id=d1 temperature=150.0001", OUT_OF_RANGE),
	BAD("w,device_id=d1 temperature=-51i", OUT_OF_RANGE),
	BAD("w,device_id=d1 temperature=1,humidity=1e400", OUT_OF_RANGE),
	BAD("w,device_id=d1 humidity=-1e309", OUT_OF_RANGE),
	BAD("w,device_id=d1 pressure=1,temperature=1000u", OUT_OF_RANGE),
};

static void
check_case(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
	   const struct lp_case *tc)
{
	size_t len = tc->len != 0 ? tc->len : strlen(tc->in);
	struct dtu_cap c;
	unsigned int i;

	decode(cfg, meta, tc->in, len, &c);
	if (c.out.records != 1)
		fail_msg("%s: %" PRIu64 " records", tc->in, c.out.records);
	if (tc->reason != WR_REASON_NONE) {
		if (c.n != 0 || c.out.rejected[tc->reason] != 1) {
			for (i = 0; i < WR_REASON_COUNT; i++)
				if (c.out.rejected[i] != 0)
					print_error("got %s\n", wr_reason_name((int)i));
			fail_msg("%s: expected %s", tc->in, wr_reason_name(tc->reason));
		}
		return;
	}
	if (c.n != 1) {
		for (i = 0; i < WR_REASON_COUNT; i++)
			if (c.out.rejected[i] != 0)
				print_error("got %s\n", wr_reason_name((int)i));
		fail_msg("%s: not emitted", tc->in);
	}
	if (c.rec[0].id_len != strlen(tc->id) || memcmp(c.rec[0].id, tc->id, strlen(tc->id)))
		fail_msg("%s: id %.*s", tc->in, (int)c.rec[0].id_len, c.rec[0].id);
	if (c.rec[0].time_ns != (tc->time_ns == AT_ARRIVAL ? meta->arrival_ns : tc->time_ns))
		fail_msg("%s: time %" PRId64, tc->in, c.rec[0].time_ns);
	if (c.rec[0].present != tc->present)
		fail_msg("%s: present %" PRIx64, tc->in, c.rec[0].present);
	for (i = 0; i < 4; i++) {
		if (!(tc->present & (1ULL << i)))
			continue;
		/* exact: the decoder must round like the compiler's literal */
		if (memcmp(&c.rec[0].values[i], &tc->v[i], sizeof(double)) != 0)
			fail_msg("%s: values[%u] = %.17g, want %.17g", tc->in, i,
				 c.rec[0].values[i], tc->v[i]);
	}
}

static void
test_must_parse(void **state)
{
	struct dp_decode_cfg cfg;
	size_t k;

	(void)state;
	make_cfg(&cfg);
	for (k = 0; k < sizeof(must_parse) / sizeof(must_parse[0]); k++)
		check_case(&cfg, &meta0, &must_parse[k]);
}

static void
test_must_not_parse(void **state)
{
	struct dp_decode_cfg cfg;
	size_t k;

	(void)state;
	make_cfg(&cfg);
	for (k = 0; k < sizeof(must_not_parse) / sizeof(must_not_parse[0]); k++)
		check_case(&cfg, &meta0, &must_not_parse[k]);
}

/* Cases with bytes a C string cannot end on, or that cannot be ASCII-only. */
static void
test_embedded_nul(void **state)
{
	static const char nul_name[] = "w,device_id=d\0001 temperature=1";
	static const char nul_str[] = "w,device_id=d1 note=\"a\0b\",temperature=1";
	static const char nul_end[] = "w,device_id=d1 temperature=1\0";
	struct dp_decode_cfg cfg;
	struct dtu_cap c;

	(void)state;
	make_cfg(&cfg);
	decode(&cfg, &meta0, nul_name, sizeof(nul_name) - 1, &c);
	assert_int_equal(c.out.rejected[WR_REASON_BAD_LINE], 1);
	decode(&cfg, &meta0, nul_str, sizeof(nul_str) - 1, &c);
	assert_int_equal(c.n, 1);
	decode(&cfg, &meta0, nul_end, sizeof(nul_end) - 1, &c);
	assert_int_equal(c.out.rejected[WR_REASON_BAD_LINE], 1);
}

/* Several lines: blanks and comments are not records; a bad line spares the others. */
static void
test_lines(void **state)
{
	static const char in[] =
		"# header comment\n"
		"\n"
		"   \t \r\n"
		"  # indented comment, with=a field 1\n"
		"w,device_id=a temperature=1 1699999999000000000\r\n"
		"this is not line protocol\n"
		"w,device_id=b humidity=2\n"
		"\r\n"
		"w,sensor_id=c pressure=3i\n"
		"w,device_id=d other=1\n"
		"w,device_id=e vibration=4u 1699999998000000000";
	struct dp_decode_cfg cfg;
	struct dtu_cap c;

	(void)state;
	make_cfg(&cfg);
	decode(&cfg, &meta0, in, sizeof(in) - 1, &c);
	assert_int_equal(c.out.records, 6);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.out.rejected[WR_REASON_BAD_LINE], 1);
	assert_int_equal(c.out.rejected[WR_REASON_NO_METRICS], 1);
	assert_memory_equal(c.rec[0].id, "a", 1);
	assert_int_equal(c.rec[0].time_ns, T0);
	assert_memory_equal(c.rec[1].id, "b", 1);
	assert_int_equal(c.rec[1].time_ns, ARRIVAL);
	assert_true(c.rec[1].present == 2 && c.rec[1].values[M_HUM] == 2);
	assert_memory_equal(c.rec[2].id, "c", 1);
	assert_true(c.rec[2].present == 4 && c.rec[2].values[M_PRES] == 3);
	assert_memory_equal(c.rec[3].id, "e", 1);
	assert_int_equal(c.rec[3].time_ns, T0 - S_NS);
	assert_true(c.rec[3].present == 8 && c.rec[3].values[M_VIB] == 4);
	assert_int_equal(c.rec[3].kind, WR_REC_DATA);
	assert_int_equal(c.rec[3].id_len, 1);
}

static void
test_no_records(void **state)
{
	static const char *const in[] = { "# only a comment", "\n\n\n", "#a\n  #b\r\n\t\n", " " };
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t k;

	(void)state;
	make_cfg(&cfg);
	for (k = 0; k < sizeof(in) / sizeof(in[0]); k++) {
		decode(&cfg, &meta0, in[k], strlen(in[k]), &c);
		assert_int_equal(c.out.records, 0);
	}
	/* a line cut by the end of the payload is still a line */
	decode(&cfg, &meta0, "w,device_id=a temperature=1\nw,dev", 33, &c);
	assert_int_equal(c.out.records, 2);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.out.rejected[WR_REASON_BAD_LINE], 1);
}

/* Timestamp precision: s, ms, us, ns and auto (= ns). */
static void
test_precision(void **state)
{
	static const struct {
		enum cfg_ts_unit unit;
		const char *in;
		int reason;
		int64_t t;
	} tc[] = {
		{ CFG_TS_S, "w,device_id=a temperature=1 1699999999", WR_REASON_NONE, T0 },
		{ CFG_TS_MS, "w,device_id=a temperature=1 1699999999000", WR_REASON_NONE, T0 },
		{ CFG_TS_US, "w,device_id=a temperature=1 1699999999000000", WR_REASON_NONE, T0 },
		{ CFG_TS_NS, "w,device_id=a temperature=1 1699999999000000000", WR_REASON_NONE,
		  T0 },
		{ CFG_TS_AUTO, "w,device_id=a temperature=1 1699999999", WR_REASON_NONE,
		  1699999999 },
		{ CFG_TS_S, "w,device_id=a temperature=1 9300000000", WR_REASON_BAD_TIMESTAMP, 0 },
		{ CFG_TS_MS, "w,device_id=a temperature=1 9300000000000",
		  WR_REASON_BAD_TIMESTAMP, 0 },
		{ CFG_TS_S, "w,device_id=a temperature=1 1700000301", WR_REASON_FUTURE_TIMESTAMP,
		  0 },
		{ CFG_TS_S, "w,device_id=a temperature=1 -1", WR_REASON_BAD_TIMESTAMP, 0 },
	};
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t k;

	(void)state;
	make_cfg(&cfg);
	for (k = 0; k < sizeof(tc) / sizeof(tc[0]); k++) {
		cfg.influx_precision = tc[k].unit;
		decode(&cfg, &meta0, tc[k].in, strlen(tc[k].in), &c);
		assert_int_equal(c.out.records, 1);
		if (tc[k].reason == WR_REASON_NONE) {
			assert_int_equal(c.n, 1);
			assert_int_equal(c.rec[0].time_ns, tc[k].t);
		} else {
			assert_int_equal(c.out.rejected[tc[k].reason], 1);
		}
	}
}

/* Replay --loop shift: added to event times, compared against shifted arrival. */
static void
test_shift(void **state)
{
	static const char in[] = "w,device_id=a temperature=1 1699999999000000000\n"
				 "w,device_id=b temperature=1\n";
	struct dp_pkt_meta meta = { .arrival_ns = ARRIVAL + 3600 * S_NS,
				    .shift_ns = 3600 * S_NS };
	struct dp_decode_cfg cfg;
	struct dtu_cap c;

	(void)state;
	make_cfg(&cfg);
	decode(&cfg, &meta, in, sizeof(in) - 1, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.rec[0].time_ns, T0 + 3600 * S_NS);
	assert_int_equal(c.rec[1].time_ns, meta.arrival_ns);
}

/* Names with escapable bytes match configured names once unescaped. */
static void
test_escaped_names(void **state)
{
	static const char in[] = "w,site\\ id=s\\=1,x\\,y=z wind\\ speed=5,a\\=b=6 1\n";
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	int i;

	(void)state;
	make_cfg(&cfg);
	fz_name_add(cfg.metric, cfg.metric_len, &cfg.n_metrics, "wind speed");
	fz_name_add(cfg.metric, cfg.metric_len, &cfg.n_metrics, "a=b");
	fz_name_add(cfg.id_field, cfg.id_field_len, &cfg.n_id_fields, "site id");
	/* stale keys: plain lookups; indexed again: the fast path's */
	for (i = 0; i < 2; i++) {
		if (i == 1)
			dp_decode_cfg_index(&cfg);
		decode(&cfg, &meta0, in, sizeof(in) - 1, &c);
		assert_int_equal(c.n, 1);
		assert_int_equal(c.rec[0].id_len, 3);
		assert_memory_equal(c.rec[0].id, "s=1", 3);
		assert_int_equal(c.rec[0].present, 0x30);
		assert_true(c.rec[0].values[4] == 5 && c.rec[0].values[5] == 6);
		assert_int_equal(c.rec[0].time_ns, 1);
	}
}

/* A float longer than the decoder's copy buffer is refused, not overrun. */
static void
test_long_number(void **state)
{
	char in[2048];
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	int n;

	(void)state;
	make_cfg(&cfg);
	n = snprintf(in, sizeof(in), "w,device_id=a humidity=0.");
	memset(in + n, '0', 1500);
	in[n + 1500] = '5';
	decode(&cfg, &meta0, in, (size_t)n + 1501, &c);
	assert_int_equal(c.out.rejected[WR_REASON_BAD_LINE], 1);
	/* 400 digits still go through strtod, correctly rounded */
	n = snprintf(in, sizeof(in), "w,device_id=a humidity=0.");
	memset(in + n, '3', 400);
	decode(&cfg, &meta0, in, (size_t)n + 400, &c);
	assert_int_equal(c.n, 1);
	assert_true(c.rec[0].values[M_HUM] == 1.0 / 3.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_must_parse),
		cmocka_unit_test(test_must_not_parse),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_no_records),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_shift),
		cmocka_unit_test(test_escaped_names),
		cmocka_unit_test(test_long_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
