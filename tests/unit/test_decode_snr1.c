/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the SNR1 binary decoder (dataplane/dec_snr1.c): framing,
 * header checks, short tails, per-record value checks and every rejection
 * reason SNR1 can reach (SPEC §3 item 3). Single threaded.
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

#define MS_NS 1000000LL
#define ARRIVAL_MS 1700000000000LL
#define T0_MS 1699999999000LL

static void
make_cfg(struct dp_decode_cfg *c)
{
	fz_decode_cfg_make(c, CFG_ENC_SNR1, -50);
}

static const struct dp_pkt_meta meta0 = { .arrival_ns = ARRIVAL_MS * MS_NS, .shift_ns = 0 };

/* Builder of SNR1 datagrams; the fields are free so tests can break them. */
struct val {
	uint16_t metric;
	uint16_t reserved;
	float value;
};

struct rec {
	const char *magic;	/* NULL: "SNR1" */
	const char *id;
	int id_len;		/* -1: strlen(id) */
	int n_values;		/* -1: count of vals */
	uint16_t flags;
	uint64_t ts_ms;
	unsigned int nv;
	struct val v[64];
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Append a record; @return bytes written. */
static size_t
build(uint8_t *p, const struct rec *r)
{
	size_t id_len = r->id_len >= 0 ? (size_t)r->id_len : strlen(r->id);
	size_t o = 0;
	unsigned int k;

	memcpy(p, r->magic != NULL ? r->magic : "SNR1", 4);
	p[4] = (uint8_t)id_len;
	p[5] = (uint8_t)(r->n_values >= 0 ? (unsigned int)r->n_values : r->nv);
	put16(p + 6, r->flags);
	put64(p + 8, r->ts_ms);
	o = 16;
	/* an id_len past the id string (a lie in the header) copies only the string */
	memcpy(p + o, r->id, id_len < strlen(r->id) ? id_len : strlen(r->id));
	o += id_len;
	for (k = 0; k < r->nv; k++) {
		uint32_t bits;

		memcpy(&bits, &r->v[k].value, sizeof(bits));
		put16(p + o, r->v[k].metric);
		put16(p + o + 2, r->v[k].reserved);
		put32(p + o + 4, bits);
		o += 8;
	}
	return o;
}

#define GOOD(idv, ...) { .id = idv, .id_len = -1, .n_values = -1, .ts_ms = T0_MS, \
	.nv = sizeof((struct val[]){ __VA_ARGS__ }) / sizeof(struct val), .v = { __VA_ARGS__ } }

static uint8_t buf[8192];

static void
decode(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta, const uint8_t *p,
       size_t n, struct dtu_cap *c)
{
	dtu_cap_decode(dp_decode_snr1, cfg, meta, p, n, c);
}

static void
test_good_record(void **state)
{
	struct rec r = GOOD("dev-1", { M_TEMP, 0, 21.5f }, { M_HUM, 0, 0.1f },
			    { M_VIB, 0, -3.25f });
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t n;

	(void)state;
	make_cfg(&cfg);
	n = build(buf, &r);
	assert_int_equal(n, 16 + 5 + 3 * 8);
	decode(&cfg, &meta0, buf, n, &c);
	assert_int_equal(c.out.records, 1);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.rec[0].kind, WR_REC_DATA);
	assert_int_equal(c.rec[0].id_len, 5);
	assert_memory_equal(c.rec[0].id, "dev-1", 5);
	assert_int_equal(c.rec[0].time_ns, T0_MS * MS_NS);
	assert_int_equal(c.rec[0].present, 0xb);
	assert_true(c.rec[0].values[M_TEMP] == 21.5);
	/* the f32 value, widened exactly: not the decimal 0.1 */
	assert_true(c.rec[0].values[M_HUM] == (double)0.1f);
	assert_true(c.rec[0].values[M_HUM] != 0.1);
	assert_true(c.rec[0].values[M_VIB] == -3.25);
}

/* Records back to back, decoded in order; loads work at any alignment. */
static void
test_back_to_back_unaligned(void **state)
{
	struct rec a = GOOD("a", { M_TEMP, 0, 1.0f });
	struct rec b = GOOD("bb", { M_PRES, 0, 1013.25f }, { M_HUM, 0, 55.0f });
	struct rec d = GOOD("ccc", { M_VIB, 0, 0.5f });
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t n, off;

	(void)state;
	make_cfg(&cfg);
	for (off = 1; off < 8; off++) {
		b.ts_ms = T0_MS + off;
		n = build(buf + off, &a);
		n += build(buf + off + n, &b);
		n += build(buf + off + n, &d);
		decode(&cfg, &meta0, buf + off, n, &c);
		assert_int_equal(c.n, 3);
		assert_memory_equal(c.rec[0].id, "a", 1);
		assert_int_equal(c.rec[1].id_len, 2);
		assert_memory_equal(c.rec[1].id, "bb", 2);
		assert_int_equal(c.rec[1].time_ns, (T0_MS + (int64_t)off) * MS_NS);
		assert_int_equal(c.rec[1].present, 6);
		assert_true(c.rec[1].values[M_PRES] == 1013.25);
		assert_true(c.rec[1].values[M_HUM] == 55.0);
		assert_memory_equal(c.rec[2].id, "ccc", 3);
		assert_true(c.rec[2].present == 8 && c.rec[2].values[M_VIB] == 0.5);
	}
}

/* Boundaries of id_len and n_values that are still valid. */
static void
test_limits(void **state)
{
	static const char id64[] =
		"0123456789012345678901234567890123456789012345678901234567890123";
	struct rec r = GOOD(id64, { M_TEMP, 0, 1.0f });
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	unsigned int k;
	size_t n;

	(void)state;
	make_cfg(&cfg);
	n = build(buf, &r);
	decode(&cfg, &meta0, buf, n, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.rec[0].id_len, 64);
	assert_memory_equal(c.rec[0].id, id64, 64);

	/* 64 values framed fine: with 64 metrics configured all count */
	for (k = 4; k < 64; k++) {
		char name[16];

		snprintf(name, sizeof(name), "m%u", k);
		fz_name_add(cfg.metric, cfg.metric_len, &cfg.n_metrics, name);
		cfg.min[k] = -INFINITY;
		cfg.max[k] = INFINITY;
	}
	r.id = "x";
	r.nv = 64;
	for (k = 0; k < 64; k++)
		r.v[k] = (struct val){ (uint16_t)(63 - k), 0, (float)k };
	n = build(buf, &r);
	assert_int_equal(n, 16 + 1 + 64 * 8);
	decode(&cfg, &meta0, buf, n, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.rec[0].present, UINT64_MAX);
	assert_true(c.rec[0].values[63] == 0 && c.rec[0].values[0] == 63);
}

/*
 * Table of one good record followed by a second record or tail: what the
 * second one must count as, and whether decoding goes on to a third
 * (good) record after it.
 */
struct tail_case {
	const char *name;
	const uint8_t *tail;	/* raw bytes, or NULL: build 'r' */
	size_t tail_len;
	struct rec r;
	int reason;		/* of the second record; NONE: emitted */
	int continues;		/* the third record is decoded */
};

static const struct tail_case tails[] = {
	/* a bad header ends the datagram */
	{ "wrong magic", NULL, 0, { .magic = "SNR2", .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = T0_MS, .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	{ "lowercase magic", NULL, 0, { .magic = "snr1", .id = "a", .id_len = -1,
	  .n_values = -1, .ts_ms = T0_MS, .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	{ "id_len 0", NULL, 0, { .id = "", .id_len = 0, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	{ "id_len 65", NULL, 0, { .id = "0123456789012345678901234567890123456789012345678901"
	  "2345678901234", .id_len = 65, .n_values = -1, .ts_ms = T0_MS, .nv = 1 },
	  WR_REASON_BAD_BINARY, 0 },
	{ "id_len 255", NULL, 0, { .id = "a", .id_len = 255, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	{ "n_values 0", NULL, 0, { .id = "a", .id_len = -1, .n_values = 0, .ts_ms = T0_MS,
	  .nv = 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "n_values 65", NULL, 0, { .id = "a", .id_len = -1, .n_values = 65, .ts_ms = T0_MS,
	  .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	{ "flags 1", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .flags = 1,
	  .ts_ms = T0_MS, .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	{ "flags 0x8000", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .flags = 0x8000,
	  .ts_ms = T0_MS, .nv = 1 }, WR_REASON_BAD_BINARY, 0 },
	/* a bad value entry costs only its record */
	{ "reserved 1", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 1, .v = { { M_TEMP, 1, 1.0f } } }, WR_REASON_BAD_BINARY, 1 },
	{ "reserved 0x100", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 2, .v = { { M_TEMP, 0, 1.0f }, { M_HUM, 0x100, 1.0f } } },
	  WR_REASON_BAD_BINARY, 1 },
	{ "metric 4 unknown", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = T0_MS, .nv = 2, .v = { { M_TEMP, 0, 1.0f }, { 4, 0, 1.0f } } },
	  WR_REASON_BAD_BINARY, 1 },
	{ "metric 0xffff unknown", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = T0_MS, .nv = 1, .v = { { 0xffff, 0, 1.0f } } }, WR_REASON_BAD_BINARY, 1 },
	{ "metric repeated", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = T0_MS, .nv = 3, .v = { { M_HUM, 0, 1.0f }, { M_TEMP, 0, 1.0f },
	  { M_HUM, 0, 2.0f } } }, WR_REASON_BAD_BINARY, 1 },
	/* the common checks */
	{ "NaN", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS, .nv = 2,
	  .v = { { M_TEMP, 0, 1.0f }, { M_HUM, 0, NAN } } }, WR_REASON_OUT_OF_RANGE, 1 },
	{ "+inf", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS, .nv = 1,
	  .v = { { M_PRES, 0, INFINITY } } }, WR_REASON_OUT_OF_RANGE, 1 },
	{ "-inf", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS, .nv = 1,
	  .v = { { M_VIB, 0, -INFINITY } } }, WR_REASON_OUT_OF_RANGE, 1 },
	{ "above range", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 1, .v = { { M_TEMP, 0, 150.5f } } }, WR_REASON_OUT_OF_RANGE, 1 },
	{ "below range", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 1, .v = { { M_TEMP, 0, -50.5f } } }, WR_REASON_OUT_OF_RANGE, 1 },
	{ "range edge", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = T0_MS,
	  .nv = 1, .v = { { M_TEMP, 0, 150.0f } } }, WR_REASON_NONE, 1 },
	{ "id not UTF-8", NULL, 0, { .id = "a\xff", .id_len = -1, .n_values = -1,
	  .ts_ms = T0_MS, .nv = 1 }, WR_REASON_BAD_DEVICE_ID, 1 },
	{ "id surrogate", NULL, 0, { .id = "\xed\xa0\x80", .id_len = -1, .n_values = -1,
	  .ts_ms = T0_MS, .nv = 1 }, WR_REASON_BAD_DEVICE_ID, 1 },
	{ "id UTF-8", NULL, 0, { .id = "\xe6\xb8\xa9\xe5\xba\xa6", .id_len = -1,
	  .n_values = -1, .ts_ms = T0_MS, .nv = 1 }, WR_REASON_NONE, 1 },
	{ "ts_ms 0", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1, .ts_ms = 0, .nv = 1 },
	  WR_REASON_NONE, 1 },
	{ "ts_ms > INT64_MAX", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = 0x8000000000000000ULL, .nv = 1 }, WR_REASON_BAD_TIMESTAMP, 1 },
	{ "ts_ms all ones", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = UINT64_MAX, .nv = 1 }, WR_REASON_BAD_TIMESTAMP, 1 },
	{ "ts_ms beyond int64 ns", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = INT64_MAX / MS_NS + 1, .nv = 1 }, WR_REASON_BAD_TIMESTAMP, 1 },
	{ "ts 5 min ahead", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = ARRIVAL_MS + 300000, .nv = 1 }, WR_REASON_NONE, 1 },
	{ "ts 5 min 1 ms ahead", NULL, 0, { .id = "a", .id_len = -1, .n_values = -1,
	  .ts_ms = ARRIVAL_MS + 300001, .nv = 1 }, WR_REASON_FUTURE_TIMESTAMP, 1 },
	/* short tails: the magic on what is there, then the header fields that are */
	{ "tail S", (const uint8_t *)"S", 1, { 0 }, WR_REASON_TRUNCATED, 0 },
	{ "tail SN", (const uint8_t *)"SN", 2, { 0 }, WR_REASON_TRUNCATED, 0 },
	{ "tail SNR", (const uint8_t *)"SNR", 3, { 0 }, WR_REASON_TRUNCATED, 0 },
	{ "tail SNR1", (const uint8_t *)"SNR1", 4, { 0 }, WR_REASON_TRUNCATED, 0 },
	{ "tail X", (const uint8_t *)"X", 1, { 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "tail SX", (const uint8_t *)"SX", 2, { 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "tail newline", (const uint8_t *)"\n", 1, { 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "tail NUL", (const uint8_t *)"\0", 1, { 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "tail id_len 0", (const uint8_t *)"SNR1\0", 5, { 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "tail id_len 65", (const uint8_t *)"SNR1\x41", 5, { 0 }, WR_REASON_BAD_BINARY, 0 },
	{ "tail id_len 64", (const uint8_t *)"SNR1\x40", 5, { 0 }, WR_REASON_TRUNCATED, 0 },
	{ "tail n_values 0", (const uint8_t *)"SNR1\x05\0", 6, { 0 }, WR_REASON_BAD_BINARY,
	  0 },
	{ "tail n_values 65", (const uint8_t *)"SNR1\x05\x41", 6, { 0 }, WR_REASON_BAD_BINARY,
	  0 },
	{ "tail 7 bytes", (const uint8_t *)"SNR1\x05\x01\x01", 7, { 0 }, WR_REASON_TRUNCATED,
	  0 },
	{ "tail flags", (const uint8_t *)"SNR1\x05\x01\x01\0", 8, { 0 }, WR_REASON_BAD_BINARY,
	  0 },
	{ "tail flags high", (const uint8_t *)"SNR1\x05\x01\0\x01", 8, { 0 },
	  WR_REASON_BAD_BINARY, 0 },
	{ "tail 15 bytes", (const uint8_t *)"SNR1\x05\x01\0\0\0\0\0\0\0\0\0", 15, { 0 },
	  WR_REASON_TRUNCATED, 0 },
	{ "header only", (const uint8_t *)"SNR1\x01\x01\0\0\0\0\0\0\0\0\0\0", 16, { 0 },
	  WR_REASON_TRUNCATED, 0 },
	{ "id cut", (const uint8_t *)"SNR1\x03\x01\0\0\0\0\0\0\0\0\0\0ab", 18, { 0 },
	  WR_REASON_TRUNCATED, 0 },
	{ "value cut", (const uint8_t *)"SNR1\x01\x01\0\0\0\0\0\0\0\0\0\0a\0\0\0\0\0\0\0",
	  24, { 0 }, WR_REASON_TRUNCATED, 0 },
	{ "second value missing",
	  (const uint8_t *)"SNR1\x01\x02\0\0\0\0\0\0\0\0\0\0a\0\0\0\0\0\0\x80\x3f", 25, { 0 },
	  WR_REASON_TRUNCATED, 0 },
};

static void
test_second_record(void **state)
{
	struct rec first = GOOD("first", { M_TEMP, 0, 20.0f });
	struct rec third = GOOD("third", { M_HUM, 0, 30.0f });
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t k;

	(void)state;
	make_cfg(&cfg);
	for (k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
		const struct tail_case *t = &tails[k];
		size_t n = build(buf, &first);
		int want_emit = 1 + (t->reason == WR_REASON_NONE);

		if (t->tail != NULL) {
			memcpy(buf + n, t->tail, t->tail_len);
			n += t->tail_len;
		} else {
			n += build(buf + n, &t->r);
			n += build(buf + n, &third);
			want_emit += t->continues;
		}
		decode(&cfg, &meta0, buf, n, &c);
		if (c.n != (unsigned int)want_emit ||
		    c.out.records != (uint64_t)want_emit + (t->reason != WR_REASON_NONE) ||
		    (t->reason != WR_REASON_NONE && c.out.rejected[t->reason] != 1))
			fail_msg("%s: %u emitted of %" PRIu64 " records", t->name, c.n,
				 c.out.records);
		assert_memory_equal(c.rec[0].id, "first", 5);
		if (t->continues)
			assert_memory_equal(c.rec[want_emit - 1].id, "third", 5);
	}
}

/* A record alone in a datagram: the same rules hold at offset 0. */
static void
test_alone(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		int reason;
	} tc[] = {
		{ "S", 1, WR_REASON_TRUNCATED },
		{ "SNR1\x05\x01\0\0\0\0\0\0\0\0\0\0abc", 19, WR_REASON_TRUNCATED },
		{ "SNR1\0\x01\0\0\0\0\0\0\0\0\0\0abc", 19, WR_REASON_BAD_BINARY },
		{ "{\"device_id\":\"a\"}", 17, WR_REASON_BAD_BINARY },
		{ "w,device_id=a temperature=1", 27, WR_REASON_BAD_BINARY },
	};
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t k;

	(void)state;
	make_cfg(&cfg);
	for (k = 0; k < sizeof(tc) / sizeof(tc[0]); k++) {
		decode(&cfg, &meta0, (const uint8_t *)tc[k].in, tc[k].n, &c);
		assert_int_equal(c.out.records, 1);
		assert_int_equal(c.out.rejected[tc[k].reason], 1);
	}
}

/* Replay --loop shift is added to the event time. */
static void
test_shift(void **state)
{
	struct rec r = GOOD("a", { M_TEMP, 0, 1.0f });
	struct dp_pkt_meta meta = { .arrival_ns = (ARRIVAL_MS + 3600000) * MS_NS,
				    .shift_ns = 3600000 * MS_NS };
	struct dp_decode_cfg cfg;
	struct dtu_cap c;
	size_t n;

	(void)state;
	make_cfg(&cfg);
	n = build(buf, &r);
	decode(&cfg, &meta, buf, n, &c);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.rec[0].time_ns, (T0_MS + 3600000) * MS_NS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_record),
		cmocka_unit_test(test_back_to_back_unaligned),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_second_record),
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_shift),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
