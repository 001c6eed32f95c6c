/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Kafka message value of one device window (SPEC §5, Contract).
 * Runs on the sink thread, once per result: no allocation, no logging.
 * Doubles print as the shortest %.15g/%.16g/%.17g form that parses back
 * to the same bits, so consumers see exactly what the aggregator computed.
 */

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <rte_common.h>

#include "snk.h"

/* A formatted double and the scratch its writer may use past the text. */
#define DBL_OUT_MAX	48

/* Bounded output cursor: once it overflows, everything else is dropped. */
struct jw {
	char *p;
	char *end;
	bool full;
};

static void
jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->full || (size_t)(w->end - w->p) < n) {
		w->full = true;
		return;
	}
	memcpy(w->p, s, n);
	w->p += n;
}

static void
jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/* One byte as a JSON escape: \" \\ or \u00XX. */
static void
jw_escape_byte(struct jw *w, uint8_t ch)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6] = { '\\', (char)ch, 0, 0, 0, 0 };

	if (ch == '"' || ch == '\\') {
		jw_raw(w, esc, 2);
		return;
	}
	memcpy(esc, "\\u00", 4);
	esc[4] = hex[ch >> 4];
	esc[5] = hex[ch & 0xf];
	jw_raw(w, esc, 6);
}

/* JSON string body: ids are valid UTF-8, so only quote, backslash and C0 need escapes. */
static void
jw_escaped(struct jw *w, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		jw_raw(w, s + run, i - run);
		run = i + 1;
		jw_escape_byte(w, ch);
	}
	jw_raw(w, s + run, n - run);
}

static void
jw_u64(struct jw *w, uint64_t v)
{
	char tmp[24];
	char *q = tmp + sizeof(tmp);

	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jw_raw(w, q, (size_t)(tmp + sizeof(tmp) - q));
}

static void
jw_i64(struct jw *w, int64_t v)
{
	if (v < 0) {
		jw_raw(w, "-", 1);
		/* via unsigned so INT64_MIN negates without overflow */
		jw_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		jw_u64(w, (uint64_t)v);
	}
}

static size_t dbl_format(char *out, double v);

static void
jw_double(struct jw *w, double v)
{
	char tmp[DBL_OUT_MAX];
	size_t n;

	if (!w->full && w->end - w->p >= DBL_OUT_MAX) {
		/* room for the scratch too: format in place */
		n = dbl_format(w->p, v);
		if (n == 0)
			w->full = true;
		w->p += n;
		return;
	}
	n = dbl_format(tmp, v);
	if (n == 0)
		w->full = true;
	else
		jw_raw(w, tmp, n);
}

size_t
snk_json_double_plain(char *buf, size_t cap, double v)
{
	static const char *const fmts[] = { "%.15g", "%.16g", "%.17g" };
	char tmp[32];
	int n = 0;
	unsigned int i;

	if (!isfinite(v)) {
		/* Results are finite; should one not be, stay valid JSON. */
		memcpy(tmp, "null", 5);
		n = 4;
	} else if (v != 0 && fabs(v) < 1e15 && v == (double)(int64_t)v) {
		/* Integral readings are common; %.15g would print the same digits. */
		n = snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)v);
	} else {
		for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
			n = snprintf(tmp, sizeof(tmp), fmts[i], v);
			if (strtod(tmp, NULL) == v)
				break;
		}
	}
	if (n <= 0 || (size_t)n >= sizeof(tmp) || (size_t)n > cap)
		return 0;
	memcpy(buf, tmp, (size_t)n);
	if ((size_t)n < cap)
		buf[n] = '\0';
	return (size_t)n;
}

/*
 * The fast path of snk_json_double: the very bytes of snk_json_double_plain
 * (%.15g, else %.16g, else %.17g, the first that strtod reads back as v)
 * without snprintf or strtod. |v| scaled by 10^s becomes N + F, N a 17 or
 * 18 digit integer and F an exact fraction fnum / fden (fden a power of two
 * or of five), all in unsigned __int128. Rounding to P digits (ties to even,
 * as glibc's printf) and the round-trip test (is the candidate inside the
 * interval that strtod rounds to v, ties to even) are exact comparisons on
 * those integers. Where they might not fit (|v| below ~1e-16 or above ~1e56,
 * subnormals) dbl_fast returns 0 and the plain path runs.
 */
#define DBL_FAST_S_MAX	32	/* m * 5^s < 2^128 */
#define DBL_FAST_J_MAX	40	/* 4 * 10^3 * 5^j < 2^127 */
#define DBL_FAST_K_MAX	99	/* 4 * 10^3 * 2^k < 2^127 */

static const uint64_t pow10_u64[] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
	1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
	1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
	1000000000000000000ULL,
};

static const uint64_t pow5_u64[] = {
	1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL, 390625ULL,
	1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL, 1220703125ULL,
	6103515625ULL, 30517578125ULL, 152587890625ULL, 762939453125ULL,
	3814697265625ULL, 19073486328125ULL, 95367431640625ULL, 476837158203125ULL,
	2384185791015625ULL, 11920928955078125ULL, 59604644775390625ULL,
	298023223876953125ULL, 1490116119384765625ULL, 7450580596923828125ULL,
};

/* 5^n for n <= 54 */
static inline unsigned __int128
pow5_128(unsigned int n)
{
	if (n < RTE_DIM(pow5_u64))
		return pow5_u64[n];
	return (unsigned __int128)pow5_u64[RTE_DIM(pow5_u64) - 1] *
		pow5_u64[n - (RTE_DIM(pow5_u64) - 1)];
}

/* floor(e * log10(2)), close enough for |e| <= 1100; a miss is caught later */
static inline int
floor_log10_pow2(int e)
{
	int32_t t = e * 78913;

	return t >= 0 ? t >> 18 : -((-t + (1 << 18) - 1) >> 18);
}

/* The scaled value N + fnum / fden of |v| * 10^s, and one ulp of v as unum / fden. */
struct dbl_scaled {
	uint64_t n;
	unsigned __int128 fnum;
	unsigned __int128 fden;
	unsigned __int128 unum;
};

static int
dbl_scale(struct dbl_scaled *sc, uint64_t m, int e, int s)
{
	unsigned __int128 t, p5;
	int sh;

	if (s >= 0) {
		if (s > DBL_FAST_S_MAX)
			return -1;
		p5 = pow5_128((unsigned int)s);
		t = (unsigned __int128)m * p5;	/* m 10^s 2^e = t 2^(e + s) */
		sh = e + s;
		if (sh >= 0) {
			if (sh >= 64 || (t >> (64 - sh)) != 0)
				return -1;
			sc->n = (uint64_t)(t << sh);
			sc->fnum = 0;
			sc->fden = 1;
			sc->unum = p5 << sh;
			return 0;
		}
		if (-sh > DBL_FAST_K_MAX || (t >> -sh) >> 64 != 0)
			return -1;
		sc->n = (uint64_t)(t >> -sh);
		sc->fden = (unsigned __int128)1 << -sh;
		sc->fnum = t & (sc->fden - 1);
		sc->unum = p5;
		return 0;
	}
	/* m 2^e / 10^j = (m 2^(e - j)) / 5^j */
	if (-s > DBL_FAST_J_MAX)
		return -1;
	sh = e + s;
	if (sh < 0 || sh > 74)
		return -1;
	p5 = pow5_128((unsigned int)-s);
	t = ((unsigned __int128)m << sh) / p5;
	if (t >> 64 != 0)
		return -1;
	sc->n = (uint64_t)t;
	sc->fnum = ((unsigned __int128)m << sh) - t * p5;
	sc->fden = p5;
	sc->unum = (unsigned __int128)1 << sh;
	return 0;
}

/* Round N to drop fewer digits: 1 when q = N / 10^drop must go up (ties to even). */
static inline unsigned int
dbl_round_up(const struct dbl_scaled *sc, uint64_t q, uint64_t r, uint64_t pw)
{
	int cmp;

	if (pw == 1) {
		cmp = 2 * sc->fnum > sc->fden ? 1 : 2 * sc->fnum < sc->fden ? -1 : 0;
	} else {
		uint64_t half = pw / 2;

		cmp = r > half ? 1 : r < half ? -1 : sc->fnum != 0 ? 1 : 0;
	}
	return cmp > 0 || (cmp == 0 && (q & 1) != 0);
}

/* Does the candidate C = N + delta (scaled units) read back as v with strtod? */
static inline bool
dbl_roundtrips(const struct dbl_scaled *sc, int64_t delta, uint64_t m)
{
	/* (C - v 10^s) * fden, exact */
	__int128 diff = (__int128)delta * (__int128)sc->fden - (__int128)sc->fnum;
	unsigned __int128 a = diff < 0 ? (unsigned __int128)-diff : (unsigned __int128)diff;
	/* below a power of two the gap to the predecessor is half an ulp */
	unsigned __int128 lim = sc->unum;

	a *= diff < 0 && m == (UINT64_C(1) << 52) ? 4 : 2;
	return a < lim || (a == lim && (m & 1) == 0);
}

static const char digit_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/*
 * The %.<p>g text of c * 10^(x - p + 1), c of p digits; returns the length.
 * Copies fixed 20-byte blocks and then moves the cursor by what counts, so
 * out needs DBL_OUT_MAX bytes even though the text is at most 24.
 */
static size_t
dbl_emit(char *out, bool neg, uint64_t c, int x, int p)
{
	char dig[40];	/* p digits, then what the fixed-size copies may read */
	char *o = out, *d = dig + p;
	int nd = p;

	/* exactly p digits, two at a time */
	while (c >= 100) {
		uint64_t t = c / 100;

		d -= 2;
		memcpy(d, digit_pairs + 2 * (c - t * 100), 2);
		c = t;
	}
	if (c >= 10) {
		d -= 2;
		memcpy(d, digit_pairs + 2 * c, 2);
	} else {
		*--d = (char)('0' + c);
	}
	while (dig[nd - 1] == '0')
		nd--;
	*o = '-';
	o += neg;
	if (x < -4 || x >= p) {
		unsigned int ax = (unsigned int)(x < 0 ? -x : x);

		o[0] = dig[0];
		o[1] = '.';
		memcpy(o + 2, dig + 1, 20);
		o += nd > 1 ? nd + 1 : 1;
		o[0] = 'e';
		o[1] = x < 0 ? '-' : '+';
		o += 2;
		if (ax >= 100) {
			*o++ = (char)('0' + ax / 100);
			ax %= 100;
		}
		memcpy(o, digit_pairs + 2 * ax, 2);
		o += 2;
	} else if (x >= 0) {
		memcpy(o, dig, 20);
		if (nd <= x + 1) {
			memset(o + nd, '0', 20);
			o += x + 1;
		} else {
			o += x + 1;
			*o = '.';
			memcpy(o + 1, dig + x + 1, 20);
			o += nd - x;
		}
	} else {
		memcpy(o, "0.0000", 6);
		o += 1 - x;
		memcpy(o, dig, 20);
		o += nd;
	}
	return (size_t)(o - out);
}

/* out has DBL_OUT_MAX bytes; returns 0 when the plain path must decide. */
static size_t
dbl_fast(char *out, double v)
{
	struct dbl_scaled sc;
	uint64_t bits, m, q, r, pw;
	int be, x0, x, d, p;

	memcpy(&bits, &v, sizeof(bits));
	be = (int)(bits >> 52 & 0x7ff);
	if (be == 0 || be == 0x7ff)
		return 0;	/* zero, subnormal, inf, nan */
	m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
	x0 = floor_log10_pow2(be - 1023);
	if (dbl_scale(&sc, m, be - 1075, 16 - x0) < 0)
		return 0;
	if (sc.n < pow10_u64[16] || sc.n >= pow10_u64[18])
		return 0;
	d = sc.n >= pow10_u64[17] ? 18 : 17;
	x = x0 + d - 17;
	for (p = 15; p <= 17; p++) {
		pw = pow10_u64[d - p];
		q = sc.n / pw;
		r = sc.n - q * pw;
		q += dbl_round_up(&sc, q, r, pw);
		/* %.17g always reads back: plain keeps it without asking */
		if (p == 17 || dbl_roundtrips(&sc, (int64_t)(q * pw - sc.n), m))
			break;
	}
	if (q == pow10_u64[p])
		return dbl_emit(out, bits >> 63, q / 10, x + 1, p);
	return dbl_emit(out, bits >> 63, q, x, p);
}

/* Integral |v| < 1e15: plain prints it with PRId64. */
static size_t
dbl_int(char *out, int64_t i)
{
	char tmp[24];
	char *q = tmp + sizeof(tmp);
	uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (i < 0)
		*--q = '-';
	memcpy(out, tmp, sizeof(tmp));	/* fixed size: no call; the text is at the end */
	memmove(out, out + (q - tmp), (size_t)(tmp + sizeof(tmp) - q));
	return (size_t)(tmp + sizeof(tmp) - q);
}

/* snk_json_double into out[DBL_OUT_MAX] (scratch past the text): length, 0 on failure. */
static size_t
dbl_format(char *out, double v)
{
	size_t n;

	if (v != 0 && fabs(v) < 1e15 && v == (double)(int64_t)v)
		return dbl_int(out, (int64_t)v);
	if (v == 0) {
		/* %.15g of zero; strtod reads "-0" back as -0 */
		memcpy(out, "-0", 2);
		if (!signbit(v)) {
			out[0] = '0';
			return 1;
		}
		return 2;
	}
	n = dbl_fast(out, v);
	if (n == 0)
		n = snk_json_double_plain(out, DBL_OUT_MAX, v);
	return n;
}

size_t
snk_json_double(char *buf, size_t cap, double v)
{
	char tmp[DBL_OUT_MAX];
	size_t n = dbl_format(tmp, v);

	if (n == 0 || n > cap)
		return 0;
	memcpy(buf, tmp, n);
	if (n < cap)
		buf[n] = '\0';
	return n;
}

size_t
snk_json_result(char *buf, size_t cap, const struct wr_result *res,
		const struct weir_config *c)
{
	struct jw w = { .p = buf, .end = buf + cap, .full = false };
	unsigned int n_metrics = c->n_metrics;
	bool first = true;
	unsigned int i;

	if (res->id_len == 0 || res->id_len > WR_DEVID_MAX)
		return 0;
	if (n_metrics > WR_METRICS_MAX)
		n_metrics = WR_METRICS_MAX;

	jw_lit(&w, "{\"device_id\":\"");
	jw_escaped(&w, res->id, res->id_len);
	jw_lit(&w, "\",\"window_start\":");
	jw_i64(&w, res->start_ns / 1000000);
	jw_lit(&w, ",\"window_end\":");
	jw_i64(&w, res->end_ns / 1000000);
	jw_lit(&w, ",\"count\":");
	jw_u64(&w, res->count);
	jw_lit(&w, ",\"metrics\":{");
	for (i = 0; i < n_metrics; i++) {
		const struct wr_stat *s = &res->stats[i];
		double n, var;

		if (!(res->present >> i & 1) || s->count == 0)
			continue;
		n = (double)s->count;
		var = s->m2 / n;
		/* Welford keeps m2 >= 0; a NaN or negative must not become a NaN stddev. */
		if (!(var > 0))
			var = 0;
		if (!first)
			jw_raw(&w, ",", 1);
		first = false;
		jw_raw(&w, "\"", 1);
		jw_escaped(&w, c->metrics[i], strnlen(c->metrics[i], CFG_NAME_MAX));
		jw_lit(&w, "\":{\"count\":");
		jw_u64(&w, s->count);
		jw_lit(&w, ",\"min\":");
		jw_double(&w, s->min);
		jw_lit(&w, ",\"max\":");
		jw_double(&w, s->max);
		jw_lit(&w, ",\"sum\":");
		jw_double(&w, s->sum);
		jw_lit(&w, ",\"avg\":");
		jw_double(&w, s->sum / n);
		jw_lit(&w, ",\"stddev\":");
		jw_double(&w, sqrt(var));
		jw_raw(&w, "}", 1);
	}
	jw_lit(&w, "}}");
	if (w.full)
		return 0;
	if (w.p < w.end)
		*w.p = '\0';
	return (size_t)(w.p - buf);
}

/* Payload bytes are arbitrary: escape everything that is not printable ASCII. */
static void
jw_bytes(struct jw *w, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			jw_raw(w, (const char *)&s[i], 1);
		else
			jw_escape_byte(w, s[i]);
	}
}

size_t
snk_json_addr(char *buf, size_t cap, const struct wr_dead_letter *dl)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (inet_ntop(dl->ip_version == 6 ? AF_INET6 : AF_INET, dl->src_addr, ip,
		      sizeof(ip)) == NULL)
		snprintf(ip, sizeof(ip), "?");
	n = snprintf(buf, cap, dl->ip_version == 6 ? "[%s]:%u" : "%s:%u", ip, dl->src_port);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t
snk_json_dead_letter(char *buf, size_t cap, const struct wr_dead_letter *dl)
{
	struct jw w = { .p = buf, .end = buf + cap, .full = false };
	char addr[64];
	const char *first = NULL;
	bool comma = false;
	int i;

	for (i = 0; i < WR_REASON_COUNT && first == NULL; i++)
		if (dl->rejected[i] != 0)
			first = wr_reason_name(i);
	jw_lit(&w, "{\"reason\":\"");
	jw_lit(&w, first != NULL ? first : "unknown");
	jw_lit(&w, "\",\"reasons\":{");
	for (i = 0; i < WR_REASON_COUNT; i++) {
		if (dl->rejected[i] == 0)
			continue;
		if (comma)
			jw_raw(&w, ",", 1);
		comma = true;
		jw_raw(&w, "\"", 1);
		jw_lit(&w, wr_reason_name(i));
		jw_lit(&w, "\":");
		jw_u64(&w, dl->rejected[i]);
	}
	jw_lit(&w, "},\"records_rejected\":");
	jw_u64(&w, dl->records_rejected);
	jw_lit(&w, ",\"source\":\"");
	if (snk_json_addr(addr, sizeof(addr), dl) > 0)
		jw_lit(&w, addr);
	jw_lit(&w, "\",\"dst_port\":");
	jw_u64(&w, dl->dst_port);
	jw_lit(&w, ",\"arrival_time\":");
	jw_i64(&w, dl->arrival_ns / 1000000);
	jw_lit(&w, ",\"payload_len\":");
	jw_u64(&w, dl->payload_len);
	jw_lit(&w, ",\"payload_excerpt\":\"");
	jw_bytes(&w, dl->excerpt, RTE_MIN(dl->excerpt_len, (uint16_t)WR_DLQ_EXCERPT));
	jw_lit(&w, "\"}");
	if (w.full)
		return 0;
	if (w.p < w.end)
		*w.p = '\0';
	return (size_t)(w.p - buf);
}

size_t
snk_json_alert(char *buf, size_t cap, const struct wr_alert *a)
{
	struct jw w = { .p = buf, .end = buf + cap, .full = false };

	jw_lit(&w, "{\"device_id\":\"");
	jw_escaped(&w, a->id, RTE_MIN(a->id_len, (uint8_t)WR_DEVID_MAX));
	jw_lit(&w, "\",\"rule\":\"");
	jw_escaped(&w, a->rule, strnlen(a->rule, sizeof(a->rule)));
	jw_lit(&w, "\",\"metric\":\"");
	jw_escaped(&w, a->metric, strnlen(a->metric, sizeof(a->metric)));
	jw_lit(&w, "\",\"op\":\"");
	jw_lit(&w, wr_alert_op_name(a->op));
	jw_lit(&w, "\",\"value\":");
	jw_double(&w, a->value);
	jw_lit(&w, ",\"threshold\":");
	jw_double(&w, a->threshold);
	jw_lit(&w, ",\"for\":");
	jw_u64(&w, a->for_n);
	jw_lit(&w, ",\"event_time\":");
	jw_i64(&w, a->event_ns / 1000000);
	jw_lit(&w, ",\"window_start\":");
	jw_i64(&w, a->window_ns / 1000000);
	jw_lit(&w, ",\"suppressed\":");
	jw_u64(&w, a->suppressed);
	jw_lit(&w, "}");
	if (w.full)
		return 0;
	return (size_t)(w.p - buf);
}
