/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of the InfluxDB line protocol decoder
 * (dataplane/dec_influx.c). Checks that every record is counted once,
 * emitted or rejected, and that emitted records hold what the checks
 * promise. Decodes each input at ns and at s precision so the timestamp
 * overflow paths are reached too.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_decode_cfg fz_cfg;
static uint64_t fz_emitted;

static void
fz_name(char name[][CFG_NAME_MAX], uint8_t *len, unsigned int *n, const char *s)
{
	snprintf(name[*n], CFG_NAME_MAX, "%s", s);
	len[*n] = (uint8_t)strlen(s);
	(*n)++;
}

static void
fz_init(void)
{
	unsigned int i;

	fz_name(fz_cfg.metric, fz_cfg.metric_len, &fz_cfg.n_metrics, "temperature");
	fz_name(fz_cfg.metric, fz_cfg.metric_len, &fz_cfg.n_metrics, "humidity");
	fz_name(fz_cfg.metric, fz_cfg.metric_len, &fz_cfg.n_metrics, "pressure");
	fz_name(fz_cfg.metric, fz_cfg.metric_len, &fz_cfg.n_metrics, "vibration");
	for (i = 0; i < WR_METRICS_MAX; i++) {
		fz_cfg.min[i] = -INFINITY;
		fz_cfg.max[i] = INFINITY;
	}
	fz_cfg.min[0] = -50;
	fz_cfg.max[0] = 150;
	fz_name(fz_cfg.id_field, fz_cfg.id_field_len, &fz_cfg.n_id_fields, "device_id");
	fz_name(fz_cfg.id_field, fz_cfg.id_field_len, &fz_cfg.n_id_fields, "sensor_id");
	fz_cfg.encoding = CFG_ENC_INFLUX;
	fz_cfg.max_future_ns = 300LL * 1000000000LL;
}

static void
fz_emit(struct dp_decode_out *out, struct wr_record *r)
{
	uint64_t m;

	(void)out;
	if (r->id_len < 1 || r->id_len > WR_DEVID_MAX || r->present == 0 ||
	    (r->present >> fz_cfg.n_metrics) != 0)
		abort();
	for (m = r->present; m != 0; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctzll(m);

		if (!isfinite(r->values[i]) || r->values[i] < fz_cfg.min[i] ||
		    r->values[i] > fz_cfg.max[i])
			abort();
	}
	fz_emitted++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cfg_ts_unit units[] = { CFG_TS_AUTO, CFG_TS_S };
	const struct dp_pkt_meta meta = { .arrival_ns = 1700000000LL * 1000000000LL };
	struct dp_decode_out out;
	uint64_t rejected;
	unsigned int u;
	int i;

	if (fz_cfg.n_metrics == 0)
		fz_init();
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		fz_cfg.influx_precision = units[u];
		memset(&out, 0, sizeof(out));
		out.emit = fz_emit;
		fz_emitted = 0;
		dp_decode_influx(&fz_cfg, &meta, data, size, &out);
		rejected = 0;
		for (i = 0; i < WR_REASON_COUNT; i++)
			rejected += out.rejected[i];
		if (out.records != fz_emitted + rejected)
			abort();
	}
	return 0;
}
