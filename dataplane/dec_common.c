/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks every decoder shares (SPEC §3): device id, event time, future
 * time, metric presence and ranges; encoding detection and dispatch.
 * Runs on the RX lcore.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
		uint64_t w;

		/* ASCII runs 8 bytes at a time */
		if (n - i >= 8) {
			memcpy(&w, p + i, sizeof(w));
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
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

/* Add a key's role, creating the key on first use. */
static void
key_add(struct dp_key_tab *t, const char *name, int id, int ts, int metric)
{
	size_t n = strnlen(name, CFG_NAME_MAX - 1);
	const struct dp_key *found;
	struct dp_key *k;
	unsigned int h;

	if (n == 0)
		return;	/* never matches: the decoders look up non-empty keys only */
	found = dp_key_find(t, (const uint8_t *)name, n);
	if (found != NULL) {
		k = &t->key[found - t->key];
	} else {
		k = &t->key[t->n++];
		memcpy(k->name, name, n);
		k->name[n] = '\0';
		k->len = (uint8_t)n;
		k->id = k->ts = k->metric = -1;
		h = dp_key_hash((const uint8_t *)name, n);
		k->next = t->head[h];
		t->head[h] = (uint8_t)t->n;
	}
	/* the first of a repeated name wins, as in dp_metric_index */
	if (id >= 0 && k->id < 0)
		k->id = (int8_t)id;
	if (ts >= 0 && k->ts < 0)
		k->ts = (int8_t)ts;
	if (metric >= 0 && k->metric < 0)
		k->metric = (int8_t)metric;
}

void
dp_decode_cfg_index(struct dp_decode_cfg *dc)
{
	struct dp_key_tab *t = &dc->keys;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	t->n_metrics = dc->n_metrics;
	t->n_id_fields = dc->n_id_fields;
	key_add(t, "ts", -1, 0, -1);
	key_add(t, "timestamp", -1, 1, -1);
	for (i = 0; i < dc->n_id_fields && i < CFG_ID_FIELDS_MAX; i++)
		key_add(t, dc->id_field[i], (int)i, -1, -1);
	for (i = 0; i < dc->n_metrics && i < WR_METRICS_MAX; i++)
		key_add(t, dc->metric[i], -1, -1, (int)i);
}

/*
 * Decimal numbers. A token is scanned once into a significand of at most
 * 19 digits and a power of ten; the slow path rewrites or copies it for
 * strtod, which assumes the C locale (weir never calls setlocale()).
 */
#define DEC_BUF		512	/* tokens shorter than this go to strtod as they are */
#define DEC_SIG_MAX	800	/* digits that can decide a double's rounding: 767 + margin */
#define DEC_POW_MAX	27	/* 5^27 < 2^63: the exact integer path's range */

struct dec_tok {
	uint64_t m;		/* first 19 significant digits */
	int64_t exp10;		/* value = m * 10^exp10 when !many */
	int many;		/* more than 19 significant digits */
	int neg;
};

static inline int
dec_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Scan a token (grammar of dp_decimal_parse). @return 0, or -1. */
static inline int
dec_scan(const uint8_t *s, size_t n, struct dec_tok *t)
{
	const uint8_t *p = s, *e = s + n, *d0;
	uint64_t m = 0;
	int64_t x = 0, exp10 = 0;
	int nd = 0, many = 0, xneg = 0, ndig;

	t->neg = p < e && *p == '-';
	p += t->neg;
	d0 = p;
	for (; p < e && dec_digit(*p); p++) {
		if (nd == 19) {
			many = 1;
			continue;
		}
		m = m * 10 + (uint64_t)(*p - '0');
		nd += m != 0;
	}
	ndig = (int)(p - d0);
	if (p < e && *p == '.') {
		for (p++; p < e && dec_digit(*p); p++, ndig++) {
			if (nd == 19) {
				many = 1;
				continue;
			}
			m = m * 10 + (uint64_t)(*p - '0');
			nd += m != 0;
			exp10--;
		}
	}
	if (ndig == 0)
		return -1;
	if (p < e && (*p == 'e' || *p == 'E')) {
		const uint8_t *x0;

		p++;
		if (p < e && (*p == '+' || *p == '-'))
			xneg = *p++ == '-';
		x0 = p;
		/* saturate: anything past 1e9 is 0 or inf already */
		for (; p < e && dec_digit(*p); p++)
			if (x < 1000000000)
				x = x * 10 + (*p - '0');
		if (p == x0)
			return -1;
	}
	if (p != e)
		return -1;
	t->m = m;
	t->exp10 = exp10 + (xneg ? -x : x);
	t->many = many;
	return 0;
}

/*
 * Long tokens: rewrite as "-0.<significant digits>e<exp>" with at most
 * DEC_SIG_MAX digits plus one sticky digit standing for any non-zero tail,
 * which rounds exactly like the full token, then strtod that.
 */
static __attribute__((noinline)) double
dec_long(const uint8_t *s, size_t n)
{
	char buf[DEC_SIG_MAX + 32];
	const uint8_t *p = s, *e = s + n;
	int64_t point = 0, x = 0;
	size_t o = 0, nd = 0;
	int sticky = 0, xneg = 0, seen = 0;

	if (*p == '-')
		buf[o++] = (char)*p++;
	buf[o++] = '0';
	buf[o++] = '.';
	for (; p < e && (dec_digit(*p) || *p == '.'); p++) {
		if (*p == '.') {
			seen = 1;
			continue;
		}
		/* the point sits after the integer digits, leading zeros dropped */
		if (!seen)
			point++;
		if (nd == 0 && *p == '0') {
			point--;
			continue;
		}
		if (nd < DEC_SIG_MAX)
			buf[o + nd++] = (char)*p;
		else if (*p != '0')
			sticky = 1;
	}
	if (nd == 0)
		return buf[0] == '-' ? -0.0 : 0.0;
	o += nd;
	if (sticky)
		buf[o++] = '1';
	if (p < e) {
		p++;
		if (*p == '+' || *p == '-')
			xneg = *p++ == '-';
		for (; p < e; p++)
			if (x < 1000000000)
				x = x * 10 + (*p - '0');
	}
	x = (xneg ? -x : x) + point;
	if (x > 100000)
		x = 100000;
	if (x < -100000)
		x = -100000;
	snprintf(buf + o, sizeof(buf) - o, "e%lld", (long long)x);
	return strtod(buf, NULL);
}

/* strtod of a scanned token: as it is when short, rewritten when long. */
static __attribute__((noinline)) double
dec_slow(const uint8_t *s, size_t n)
{
	char buf[DEC_BUF];

	if (n >= sizeof(buf))
		return dec_long(s, n);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return strtod(buf, NULL);
}

int
dp_decimal_parse_plain(const uint8_t *s, size_t n, double *v)
{
	struct dec_tok t;

	if (dec_scan(s, n, &t) != 0)
		return -1;
	*v = dec_slow(s, n);
	return 0;
}

#ifdef __SIZEOF_INT128__
static const uint64_t pow5[DEC_POW_MAX + 1] = {
	1ULL, 5ULL, 25ULL, 125ULL,
	625ULL, 3125ULL, 15625ULL, 78125ULL,
	390625ULL, 1953125ULL, 9765625ULL, 48828125ULL,
	244140625ULL, 1220703125ULL, 6103515625ULL, 30517578125ULL,
	152587890625ULL, 762939453125ULL, 3814697265625ULL, 19073486328125ULL,
	95367431640625ULL, 476837158203125ULL, 2384185791015625ULL, 11920928955078125ULL,
	59604644775390625ULL, 298023223876953125ULL, 1490116119384765625ULL,
	7450580596923828125ULL,
};

/*
 * The double nearest to (q + f) * 2^e2, 0 <= f < 1 and sticky = (f != 0),
 * ties to even; q != 0. Only called where the result is a normal double.
 */
static inline double
dec_round(unsigned __int128 q, int sticky, int e2)
{
	int hi = (q >> 64) != 0;
	int len = hi ? 128 - __builtin_clzll((uint64_t)(q >> 64)) :
		  64 - __builtin_clzll((uint64_t)q);
	uint64_t mant, bits;
	int sh = len - 53;
	double d;

	if (sh <= 0) {
		/* at most 53 bits: exact (sticky is never set here) */
		mant = (uint64_t)q << -sh;
	} else {
		unsigned __int128 one = 1, rem = q & ((one << sh) - 1), half = one << (sh - 1);

		mant = (uint64_t)(q >> sh);
		if (rem > half || (rem == half && (sticky || (mant & 1))))
			mant++;
		if (mant == 1ULL << 53) {
			mant >>= 1;
			sh++;
		}
	}
	/* mant is in [2^52, 2^53): value = mant * 2^(sh + e2) */
	bits = ((uint64_t)(sh + e2 + 52 + 1023) << 52) | (mant & ((1ULL << 52) - 1));
	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* m * 10^x, correctly rounded, for m != 0 and |x| <= DEC_POW_MAX. */
static inline double
dec_exact(uint64_t m, int x)
{
	unsigned __int128 q, num;
	uint64_t d;
	int lz;

	if (x >= 0)
		return dec_round((unsigned __int128)m * pow5[x], 0, x);
	/* m / (5^k 2^k): normalise m, divide with 64 more bits, keep the remainder */
	d = pow5[-x];
	lz = __builtin_clzll(m);
	num = (unsigned __int128)(m << lz) << 64;
	q = num / d;
	return dec_round(q, num - q * d != 0, x - 64 - lz);
}
#endif

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

int
dp_decimal_exact(uint64_t m, int64_t exp10, int neg, double *v)
{
	double r;

	if (m == 0) {
		*v = neg ? -0.0 : 0.0;
		return 0;
	}
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
	/* Clinger: both operands exact doubles, so one rounding */
	if (m <= (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
		r = (double)m;
		r = exp10 >= 0 ? r * pow10_exact[exp10] : r / pow10_exact[-exp10];
		*v = neg ? -r : r;
		return 0;
	}
#else
	(void)pow10_exact;
#endif
#ifdef __SIZEOF_INT128__
	if (exp10 >= -DEC_POW_MAX && exp10 <= DEC_POW_MAX) {
		r = dec_exact(m, (int)exp10);
		*v = neg ? -r : r;
		return 0;
	}
#endif
	return -1;
}

int
dp_decimal_parse(const uint8_t *s, size_t n, double *v)
{
	struct dec_tok t;

	if (dec_scan(s, n, &t) != 0)
		return -1;
	if (t.many || dp_decimal_exact(t.m, t.exp10, t.neg, v) != 0)
		*v = dec_slow(s, n);
	return 0;
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
	dc->path = DP_PATH_FAST;
	dp_decode_cfg_index(dc);
}
