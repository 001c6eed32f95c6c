/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the decoder fuzz targets (and the decoder unit tests, for the
 * config) share: the decode config every target runs with, and the
 * invariants every decoder must keep -- each record counted once, emitted
 * or rejected, and each emitted record holding what the common checks
 * promise. Header only (static inline): each target is one translation
 * unit and links nothing extra. Single threaded.
 */
#ifndef WEIR_FUZZ_COMMON_H
#define WEIR_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_decode.h"

/* Extra checks on emitted records, for decoders that promise them. */
#define FZ_CHECK_TIME	0x1u	/* time_ns >= 0 */
#define FZ_CHECK_UTF8	0x2u	/* the device id is valid UTF-8 */

/* Where the emit callback keeps what it needs (dp_decode_out.arg). */
struct fz_state {
	const char *target;			/* for the failure message */
	const struct dp_decode_cfg *cfg;
	unsigned int checks;			/* FZ_CHECK_* */
	uint64_t emitted;
};

static inline void
fz_name_add(char name[][CFG_NAME_MAX], uint8_t *len, unsigned int *n, const char *s)
{
	snprintf(name[*n], CFG_NAME_MAX, "%s", s);
	len[*n] = (uint8_t)strlen(s);
	(*n)++;
}

/*
 * The sensors' config of the tests: four metrics, temperature bounded to
 * [temp_min, 150], the rest open; ids from device_id then sensor_id.
 */
static inline void
fz_decode_cfg_make(struct dp_decode_cfg *c, enum cfg_encoding enc, double temp_min)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	fz_name_add(c->metric, c->metric_len, &c->n_metrics, "temperature");
	fz_name_add(c->metric, c->metric_len, &c->n_metrics, "humidity");
	fz_name_add(c->metric, c->metric_len, &c->n_metrics, "pressure");
	fz_name_add(c->metric, c->metric_len, &c->n_metrics, "vibration");
	for (i = 0; i < WR_METRICS_MAX; i++) {
		c->min[i] = -INFINITY;
		c->max[i] = INFINITY;
	}
	c->min[0] = temp_min;
	c->max[0] = 150;
	fz_name_add(c->id_field, c->id_field_len, &c->n_id_fields, "device_id");
	fz_name_add(c->id_field, c->id_field_len, &c->n_id_fields, "sensor_id");
	c->encoding = enc;
	c->json_ts_unit = CFG_TS_AUTO;
	c->influx_precision = CFG_TS_AUTO;
	c->max_future_ns = 300LL * 1000000000LL;
	c->path = DP_PATH_FAST;
	dp_decode_cfg_index(c);
}

static inline void
fz_fail(const char *target, const char *what)
{
	fprintf(stderr, "%s: invariant broken: %s\n", target, what);
	abort();
}

/* What is wrong with an emitted record, or NULL. */
static inline const char *
fz_record_fault(const struct dp_decode_cfg *c, const struct wr_record *r, unsigned int checks)
{
	uint64_t m;

	if (r->id_len < 1 || r->id_len > WR_DEVID_MAX)
		return "emitted device id";
	if ((checks & FZ_CHECK_UTF8) && !dp_utf8_valid((const uint8_t *)r->id, r->id_len))
		return "emitted device id";
	if ((checks & FZ_CHECK_TIME) && r->time_ns < 0)
		return "emitted time";
	if (r->present == 0 || (r->present >> c->n_metrics) != 0)
		return "emitted metric mask";
	for (m = r->present; m != 0; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctzll(m);
		double v = r->values[i];

		if (!isfinite(v) || v < c->min[i] || v > c->max[i])
			return "emitted value";
	}
	return NULL;
}

static inline void
fz_emit(struct dp_decode_out *out, struct wr_record *r)
{
	struct fz_state *st = out->arg;
	const char *why = fz_record_fault(st->cfg, r, st->checks);

	if (why != NULL)
		fz_fail(st->target, why);
	st->emitted++;
}

static inline uint64_t
fz_rejected(const struct dp_decode_out *out)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < WR_REASON_COUNT; i++)
		s += out->rejected[i];
	return s;
}

typedef void (*fz_decode_fn)(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
			     const uint8_t *p, size_t n, struct dp_decode_out *out);

/*
 * One decode of data with every emitted record checked; aborts unless
 * every record was counted once, emitted or rejected. out is left for the
 * target's own checks.
 */
static inline void
fz_decode(fz_decode_fn decode, struct fz_state *st, const struct dp_pkt_meta *meta,
	  const uint8_t *data, size_t size, struct dp_decode_out *out)
{
	memset(out, 0, sizeof(*out));
	out->emit = fz_emit;
	out->arg = st;
	st->emitted = 0;
	decode(st->cfg, meta, data, size, out);
	if (out->records != st->emitted + fz_rejected(out))
		fz_fail(st->target, "records != emitted + rejected");
}

#endif /* WEIR_FUZZ_COMMON_H */
