/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the JSON decoder (dataplane/dec_json.c). Any bytes
 * go to dp_decode_json; aborts when an invariant breaks: every record is
 * counted once (emitted or rejected), one record per non-blank line (or
 * one for a whole array payload that is broken), and every emitted
 * record is sane (id 1..64 bytes of UTF-8, time >= 0, at least one finite
 * in-range configured metric).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_decode_cfg cfg;
static uint64_t emitted;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_json: invariant broken: %s\n", what);
	abort();
}

static void
cfg_build(void)
{
	static const char *const metrics[] = { "temperature", "humidity", "pressure", "vibration" };
	static const char *const ids[] = { "device_id", "sensor_id" };
	unsigned int i;

	cfg.n_metrics = 4;
	for (i = 0; i < 4; i++) {
		snprintf(cfg.metric[i], sizeof(cfg.metric[i]), "%s", metrics[i]);
		cfg.metric_len[i] = (uint8_t)strlen(metrics[i]);
		cfg.min[i] = -INFINITY;
		cfg.max[i] = INFINITY;
	}
	cfg.min[0] = -60;
	cfg.max[0] = 150;
	cfg.n_id_fields = 2;
	for (i = 0; i < 2; i++) {
		snprintf(cfg.id_field[i], sizeof(cfg.id_field[i]), "%s", ids[i]);
		cfg.id_field_len[i] = (uint8_t)strlen(ids[i]);
	}
	cfg.encoding = CFG_ENC_AUTO;
	cfg.json_ts_unit = CFG_TS_AUTO;
	cfg.influx_precision = CFG_TS_AUTO;
	cfg.max_future_ns = 300LL * 1000000000LL;
}

static void
check_emit(struct dp_decode_out *out, struct wr_record *r)
{
	uint64_t m;

	(void)out;
	emitted++;
	if (r->id_len < 1 || r->id_len > WR_DEVID_MAX ||
	    !dp_utf8_valid((const uint8_t *)r->id, r->id_len))
		fail("emitted device id");
	if (r->time_ns < 0)
		fail("emitted time");
	if (r->present == 0 || (r->present >> cfg.n_metrics) != 0)
		fail("emitted metric mask");
	for (m = r->present; m != 0; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctzll(m);
		double v = r->values[i];

		if (!isfinite(v) || v < cfg.min[i] || v > cfg.max[i])
			fail("emitted value");
	}
}

/* Records a newline-delimited payload must count: its non-blank lines. */
static uint64_t
lines_expected(const uint8_t *p, size_t n)
{
	uint64_t lines = 0;
	int blank = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			lines += !blank;
			blank = 1;
		} else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			blank = 0;
		}
	}
	lines += !blank;
	return lines != 0 ? lines : 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct dp_pkt_meta meta = { .arrival_ns = 1755434100LL * 1000000000LL, .shift_ns = 0 };
	static struct dp_decode_out out;
	uint64_t rejected = 0;
	unsigned int i;
	size_t k = 0;

	if (!ready) {
		cfg_build();
		ready = 1;
	}
	if (size == 0)
		return 0;	/* dp_decode_payload's job, not the decoder's */
	memset(&out, 0, sizeof(out));
	out.emit = check_emit;
	emitted = 0;
	dp_decode_json(&cfg, &meta, data, size, &out);
	for (i = 0; i < WR_REASON_COUNT; i++)
		rejected += out.rejected[i];
	if (out.records != emitted + rejected)
		fail("records != emitted + rejected");
	if (out.records == 0)
		fail("no record counted");
	if (out.rejected[WR_REASON_BAD_LINE] + out.rejected[WR_REASON_BAD_BINARY] +
	    out.rejected[WR_REASON_TRUNCATED] + out.rejected[WR_REASON_FRAGMENT] != 0)
		fail("reason JSON cannot produce");
	while (k < size &&
	       (data[k] == ' ' || data[k] == '\t' || data[k] == '\r' || data[k] == '\n'))
		k++;
	/* arrays count elements (or 1 when broken), not lines */
	if ((k == size || data[k] != '[') && out.records != lines_expected(data, size))
		fail("records != non-blank lines");
	return 0;
}
