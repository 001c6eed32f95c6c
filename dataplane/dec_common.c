/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks every decoder shares (SPEC §3): device id, event time, future
 * time, metric presence and ranges; encoding detection and dispatch.
 * Runs on the RX lcore.
 */
#include <math.h>
#include <string.h>

#include "dp_decode.h"

static const char *const reason_names[WR_REASON_COUNT] = {
#define WR_X(e, s) [WR_REASON_##e] = s,
	WR_REASONS(WR_X)
#undef WR_X
};

const char *
wr_reason_name(int reason)
{
	if (reason < 0 || reason >= WR_REASON_COUNT)
		return NULL;
	return reason_names[reason];
}

int
dp_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t len, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

static enum cfg_ts_unit
auto_unit(double mag)
{
	if (mag < 1e11)
		return CFG_TS_S;
	if (mag < 1e14)
		return CFG_TS_MS;
	if (mag < 1e17)
		return CFG_TS_US;
	return CFG_TS_NS;
}

static int64_t
unit_ns(enum cfg_ts_unit unit)
{
	switch (unit) {
	case CFG_TS_S:
		return 1000000000LL;
	case CFG_TS_MS:
		return 1000000LL;
	case CFG_TS_US:
		return 1000LL;
	default:
		return 1;
	}
}

int
dp_time_from_int(int64_t v, enum cfg_ts_unit unit, int64_t *ns)
{
	int64_t mul;

	if (v < 0)
		return -1;
	if (unit == CFG_TS_AUTO)
		unit = auto_unit((double)v);
	mul = unit_ns(unit);
	if (v > INT64_MAX / mul)
		return -1;
	*ns = v * mul;
	return 0;
}

int
dp_time_from_double(double v, enum cfg_ts_unit unit, int64_t *ns)
{
	double t;

	if (!isfinite(v) || v < 0)
		return -1;
	if (unit == CFG_TS_AUTO)
		unit = auto_unit(v);
	t = v * (double)unit_ns(unit);
	/* 2^63 is the first double past INT64_MAX */
	if (!(t < 9223372036854775808.0))
		return -1;
	*ns = (int64_t)t;
	return 0;
}

int
dp_metric_index(const struct dp_decode_cfg *cfg, const uint8_t *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < cfg->n_metrics; i++)
		if (cfg->metric_len[i] == len && memcmp(cfg->metric[i], name, len) == 0)
			return (int)i;
	return -1;
}

int
dp_id_field_index(const struct dp_decode_cfg *cfg, const uint8_t *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < cfg->n_id_fields; i++)
		if (cfg->id_field_len[i] == len && memcmp(cfg->id_field[i], name, len) == 0)
			return (int)i;
	return -1;
}

void
dp_fields_init(struct dp_fields *f, struct dp_decode_out *out)
{
	f->id_state = DP_ABSENT;
	f->id = NULL;
	f->id_len = 0;
	f->ts_state = DP_ABSENT;
	f->ts_ns = 0;
	f->bad_value = 0;
	f->present = 0;
	f->values = out->scratch.values;
}

int
dp_record_finish(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		 struct dp_fields *f, struct dp_decode_out *out)
{
	struct wr_record *r = &out->scratch;
	enum wr_reason reason = WR_REASON_NONE;
	uint64_t m;

	if (f->id_state == DP_ABSENT)
		reason = WR_REASON_MISSING_DEVICE_ID;
	else if (f->id_state == DP_BAD || f->id_len == 0 || f->id_len > WR_DEVID_MAX ||
		 !dp_utf8_valid(f->id, f->id_len))
		reason = WR_REASON_BAD_DEVICE_ID;
	else if (f->ts_state == DP_BAD)
		reason = WR_REASON_BAD_TIMESTAMP;
	else if (f->ts_state == DP_PRESENT &&
		 f->ts_ns - cfg->max_future_ns > meta->arrival_ns - meta->shift_ns)
		reason = WR_REASON_FUTURE_TIMESTAMP;
	else if (f->ts_state == DP_PRESENT && f->ts_ns > INT64_MAX - meta->shift_ns)
		reason = WR_REASON_BAD_TIMESTAMP;
	else if (f->present == 0)
		reason = WR_REASON_NO_METRICS;
	else if (f->bad_value)
		reason = WR_REASON_OUT_OF_RANGE;
	if (reason == WR_REASON_NONE) {
		for (m = f->present; m != 0; m &= m - 1) {
			unsigned int i = (unsigned int)__builtin_ctzll(m);
			double v = f->values[i];

			/* !(a <= b) also catches NaN */
			if (!(v >= cfg->min[i] && v <= cfg->max[i]) || !isfinite(v)) {
				reason = WR_REASON_OUT_OF_RANGE;
				break;
			}
		}
	}
	if (reason != WR_REASON_NONE) {
		dp_record_reject(out, reason);
		return reason;
	}
	out->records++;
	r->kind = WR_REC_DATA;
	r->id_len = (uint8_t)f->id_len;
	memset(r->id, 0, sizeof(r->id));
	memcpy(r->id, f->id, f->id_len);
	r->time_ns = f->ts_state == DP_PRESENT ? f->ts_ns + meta->shift_ns : meta->arrival_ns;
	r->present = f->present;
	out->emit(out, r);
	return WR_REASON_NONE;
}

static enum cfg_encoding
detect(const uint8_t *p, size_t n)
{
	size_t i;

	if (n >= 4 && memcmp(p, "SNR1", 4) == 0)
		return CFG_ENC_SNR1;
	for (i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			continue;
		return (p[i] == '{' || p[i] == '[') ? CFG_ENC_JSON : CFG_ENC_INFLUX;
	}
	return CFG_ENC_AUTO; /* all blank */
}

void
dp_decode_payload(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		  const uint8_t *p, size_t n, struct dp_decode_out *out)
{
	enum cfg_encoding enc = detect(p, n);

	if (enc == CFG_ENC_AUTO) {
		/* empty or blank: one rejected record, named after the encoding */
		switch (cfg->encoding) {
		case CFG_ENC_JSON:
			dp_record_reject(out, WR_REASON_BAD_JSON);
			break;
		case CFG_ENC_SNR1:
			dp_record_reject(out, WR_REASON_TRUNCATED);
			break;
		default:
			dp_record_reject(out, WR_REASON_BAD_LINE);
			break;
		}
		return;
	}
	if (cfg->encoding != CFG_ENC_AUTO)
		enc = cfg->encoding;
	switch (enc) {
	case CFG_ENC_SNR1:
		dp_decode_snr1(cfg, meta, p, n, out);
		break;
	case CFG_ENC_JSON:
		dp_decode_json(cfg, meta, p, n, out);
		break;
	default:
		dp_decode_influx(cfg, meta, p, n, out);
		break;
	}
}

void
dp_decode_cfg_init(struct dp_decode_cfg *dc, const struct weir_config *c)
{
	unsigned int i;

	memset(dc, 0, sizeof(*dc));
	dc->n_metrics = c->n_metrics;
	for (i = 0; i < c->n_metrics; i++) {
		memcpy(dc->metric[i], c->metrics[i], CFG_NAME_MAX);
		dc->metric_len[i] = (uint8_t)strnlen(c->metrics[i], CFG_NAME_MAX - 1);
		dc->min[i] = c->range_min[i];
		dc->max[i] = c->range_max[i];
	}
	dc->n_id_fields = c->n_device_id_fields;
	for (i = 0; i < c->n_device_id_fields; i++) {
		memcpy(dc->id_field[i], c->device_id_fields[i], CFG_NAME_MAX);
		dc->id_field_len[i] = (uint8_t)strnlen(c->device_id_fields[i], CFG_NAME_MAX - 1);
	}
	dc->encoding = c->encoding;
	dc->json_ts_unit = c->json_ts_unit;
	dc->influx_precision = c->influx_precision;
	dc->max_future_ns = c->max_future_ns;
}
