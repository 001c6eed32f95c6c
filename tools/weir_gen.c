/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-gen: writes a pcap capture (Ethernet, ns timestamps) of synthetic
 * sensors sending UDP datagrams in JSON, InfluxDB line protocol and SNR1
 * binary (SPEC §3, §6), plus on request jittered, late, broken and
 * non-sensor traffic. The capture timestamp is the send time, paced by
 * --rate. Every random choice comes from one seeded splitmix64 stream, so
 * the same seed and options give a byte-identical file. Single threaded
 * command line tool; nothing here is shared with the appliance.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "wr_types.h"

#define NS_PER_S	INT64_C(1000000000)
#define NS_PER_MS	INT64_C(1000000)
#define PAYLOAD_CAP	65536
#define FRAME_CAP	(PAYLOAD_CAP + 256)
#define REC_CAP		16384	/* one record: 64 metrics with 63-byte names fit */
#define HDR_ROOM	64	/* payload limit = mtu - HDR_ROOM (v6 + ext + UDP fit) */
#define PROGRESS_EVERY	1000000ULL

enum enc { ENC_JSON, ENC_INFLUX, ENC_SNR1, ENC_COUNT };
static const char *const enc_name[ENC_COUNT] = { "json", "influx", "snr1" };

/* Broken variants of a record, per encoding (0 = a good record). */
enum {
	J_GOOD, J_CUT, J_TRAIL, J_NAN, J_UTF8, J_CTRL, J_NOTOBJ, J_NOID, J_IDNUM,
	J_IDNULL, J_IDEMPTY, J_IDLONG, J_TSNEG, J_TSSTR, J_TSNULL, J_TSBIG,
	J_TSBADDATE, J_FUTURE, J_NOMETRIC, J_INF, J_EMPTY, J_COUNT
};
enum {
	L_GOOD, L_NOFIELDS, L_BADVAL, L_UNTERM, L_BADTS, L_EMPTYTAG, L_NOID,
	L_IDLONG, L_TSNEG, L_TSBIG, L_FUTURE, L_NOMETRIC, L_INF, L_EMPTY, L_COUNT
};
enum {
	S_GOOD, S_MAGIC, S_FLAGS, S_IDLEN0, S_NVAL0, S_TRUNC, S_METRIC_UNKNOWN,
	S_METRIC_DUP, S_RESERVED, S_IDUTF8, S_TSBIG, S_FUTURE, S_NAN, S_EMPTY, S_COUNT
};
/* Broken frames (headers). */
enum {
	F_CUT_ETH, F_CUT_L3, F_CUT_UDP, F_IPVER, F_IHL, F_TOTLEN, F_UDPLEN_SHORT,
	F_UDPLEN_LONG, F_FRAG, F_COUNT
};

struct opts {
	const char *output;
	uint32_t devices;
	double rate;
	int64_t duration_ns;
	int64_t start_ns;
	double enc_weight[ENC_COUNT];
	unsigned int per_dgram;
	double json_array;
	int64_t jitter_ns;
	double late;
	int64_t late_by_ns;
	double malformed;
	double ignored;
	double vlan;
	double ipv6;
	char metric[WR_METRICS_MAX][64];
	unsigned int n_metrics;
	uint16_t port;
	uint64_t seed;
	uint64_t count;		/* 0 = use duration */
	unsigned int mtu;
	int quiet;
};

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

struct rec {
	uint32_t dev;
	int64_t ev_ns;
	uint64_t mask;
	uint64_t cents_mask;	/* bit i: val[i] == cents[i] / 100.0 exactly */
	double val[WR_METRICS_MAX];
	int64_t cents[WR_METRICS_MAX];
};

/* Layout of one frame, decided before the payload is built. */
struct frame_shape {
	unsigned int tags;	/* 0, 1 or 2 VLAN tags */
	int ipv6;
	int ip_opts;		/* IPv4: 4 bytes of options */
	int v6_ext;		/* IPv6: one 8-byte extension header before UDP */
	int frag;		/* IPv4 MF / IPv6 fragment header */
	uint16_t dport;
	uint32_t src;		/* device index, for addresses and source port */
};

struct gen {
	struct opts o;
	uint64_t rng;
	double *base;		/* devices x metrics */
	double scale[WR_METRICS_MAX];
	uint8_t *payload;
	uint8_t *frame;
	uint8_t *tmp;
	size_t payload_max;
	pcap_dumper_t *dump;
	int64_t now_ns;
	/* totals for the summary line */
	uint64_t frames, datagrams, records, ignored, broken, bytes;
};

/* ---------------------------------------------------------------- random */

static inline uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline double
rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static inline uint64_t
rng_below(uint64_t *s, uint64_t n)
{
	return n == 0 ? 0 : (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

static inline int
rng_chance(uint64_t *s, double p)
{
	return p > 0 && rng_unit(s) < p;
}

/* ---------------------------------------------------------------- buffers */

static inline void
buf_put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void
buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static inline void
buf_ch(struct buf *b, char c)
{
	if (b->len < b->cap)
		b->p[b->len++] = (uint8_t)c;
}

static void
buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
buf_fmt(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

static void
buf_u64(struct buf *b, uint64_t v)
{
	char s[24];
	int i = sizeof(s);

	do {
		s[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_put(b, s + i, sizeof(s) - (size_t)i);
}

static void
buf_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_ch(b, '-');
		buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		buf_u64(b, (uint64_t)v);
	}
}

/* Shortest %g that reads back as the same double (what strtod returns). */
static void
buf_double(struct buf *b, double v)
{
	char s[40];
	int prec;

	for (prec = 15; prec < 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(s, sizeof(s), "%.17g", v);
	buf_str(b, s);
}

/*
 * A reading as decimal text. Two-decimal readings print as cents: the
 * double k / 100.0 is the correctly rounded value of the decimal k/100, so
 * strtod reads the text back to the same double without a %g round trip.
 */
static void
buf_value(struct buf *b, const struct rec *r, unsigned int i)
{
	int64_t c = r->cents[i];
	uint64_t a;

	if (!(r->cents_mask >> i & 1)) {
		buf_double(b, r->val[i]);
		return;
	}
	if (c < 0)
		buf_ch(b, '-');
	a = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
	buf_u64(b, a / 100);
	buf_ch(b, '.');
	buf_ch(b, (char)('0' + a / 10 % 10));
	buf_ch(b, (char)('0' + a % 10));
}

static inline void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---------------------------------------------------------------- time */

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void
civil_from_days(int64_t days, int *y, unsigned int *m, unsigned int *d)
{
	int64_t era, yy;
	unsigned int doe, yoe, doy, mp;

	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned int)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

/* RFC 3339 with ms; zone: 0 = "Z", 1 = a +/-HH:MM offset, 2 = none (UTC). */
static void
buf_rfc3339(struct buf *b, uint64_t *rng, int64_t ns, int zone)
{
	int64_t ms = ns / NS_PER_MS;
	int off_min = 0;
	int64_t secs, days, sod;
	unsigned int mo, d;
	int y;

	if (zone == 1) {
		/* one call per statement: C leaves operand order open */
		off_min = (int)rng_below(rng, 27) * 60 - 12 * 60;
		off_min += rng_chance(rng, 0.2) ? 30 : 0;
	}
	secs = ms / 1000 + off_min * 60;
	days = secs / 86400;
	sod = secs % 86400;
	civil_from_days(days, &y, &mo, &d);
	buf_fmt(b, "%04d-%02u-%02uT%02d:%02d:%02d.%03d", y, mo, d, (int)(sod / 3600),
		(int)(sod / 60 % 60), (int)(sod % 60), (int)(ms % 1000));
	if (zone == 0)
		buf_ch(b, 'Z');
	else if (zone == 1)
		buf_fmt(b, "%c%02d:%02d", off_min < 0 ? '-' : '+', abs(off_min) / 60,
			abs(off_min) % 60);
}

/* ---------------------------------------------------------------- records */

static void
make_rec(struct gen *g, struct rec *r)
{
	const struct opts *o = &g->o;
	unsigned int i;

	r->dev = (uint32_t)rng_below(&g->rng, o->devices);
	r->ev_ns = g->now_ns;
	if (o->jitter_ns > 0)
		r->ev_ns -= (int64_t)rng_below(&g->rng, (uint64_t)o->jitter_ns);
	if (rng_chance(&g->rng, o->late))
		r->ev_ns -= o->late_by_ns;
	if (r->ev_ns < 0)
		r->ev_ns = 0;
	/* a random non-empty subset of the metrics */
	r->mask = 0;
	r->cents_mask = 0;
	for (i = 0; i < o->n_metrics; i++) {
		double noise, v;

		if (!rng_chance(&g->rng, 0.6))
			continue;
		r->mask |= 1ULL << i;
		/* one draw per statement: C leaves operand order open */
		noise = rng_unit(&g->rng) - 1.5;
		noise += rng_unit(&g->rng);
		noise += rng_unit(&g->rng);
		v = g->base[(size_t)r->dev * o->n_metrics + i] + 2.0 * g->scale[i] * noise;
		if (rng_chance(&g->rng, 0.7)) {
			r->cents[i] = (int64_t)llround(v * 100.0);
			r->cents_mask |= 1ULL << i;
			v = (double)r->cents[i] / 100.0;
		}
		r->val[i] = v;
	}
	if (r->mask == 0) {
		i = (unsigned int)rng_below(&g->rng, o->n_metrics);
		r->mask = 1ULL << i;
		r->val[i] = g->base[(size_t)r->dev * o->n_metrics + i];
	}
}

/* "dev-%05u" without snprintf (hot path). */
static void
dev_name(char *s, size_t n, uint32_t dev)
{
	char d[12];
	int i = sizeof(d), w;

	do {
		d[--i] = (char)('0' + dev % 10);
		dev /= 10;
	} while (dev);
	while (i > (int)sizeof(d) - 5)
		d[--i] = '0';
	w = (int)sizeof(d) - i;
	if ((size_t)w + 5 > n)
		w = (int)n - 5;
	memcpy(s, "dev-", 4);
	memcpy(s + 4, d + i, (size_t)w);
	s[4 + w] = '\0';
}

static void
json_put_id(struct gen *g, struct buf *b, const struct rec *r, int bad)
{
	char id[32];
	unsigned int i;

	dev_name(id, sizeof(id), r->dev);
	buf_str(b, rng_chance(&g->rng, 0.15) ? "\"sensor_id\":" : "\"device_id\":");
	switch (bad) {
	case J_IDNUM:
		buf_fmt(b, "%" PRIu32, r->dev);
		return;
	case J_IDNULL:
		buf_str(b, "null");
		return;
	case J_IDEMPTY:
		buf_str(b, "\"\"");
		return;
	case J_IDLONG:
		buf_ch(b, '"');
		for (i = 0; i < WR_DEVID_MAX + 1; i++)
			buf_ch(b, 'x');
		buf_ch(b, '"');
		return;
	case J_UTF8:
		id[3] = (char)0xff;
		break;
	case J_CTRL:
		id[3] = 0x01;
		break;
	default:
		if (rng_chance(&g->rng, 0.02)) {
			/* same id, spelled with an escape: decoders must unescape */
			id[3] = 0;
			buf_fmt(b, "\"%s\\u002d%s\"", id, id + 4);
			return;
		}
		break;
	}
	buf_ch(b, '"');
	buf_str(b, id);
	buf_ch(b, '"');
}

/* The time field, preceded by sep; @return 1 when something was written. */
static int
json_put_ts(struct gen *g, struct buf *b, const struct rec *r, int bad, const char *sep)
{
	int64_t ev = r->ev_ns;
	double pick;

	pick = rng_unit(&g->rng);
	if (bad == J_GOOD && pick >= 0.95)
		return 0;	/* no time: the arrival time is used */
	buf_str(b, sep);
	switch (bad) {
	case J_TSNEG:
		buf_str(b, "\"ts\":-5");
		return 1;
	case J_TSSTR:
		buf_str(b, "\"ts\":\"yesterday\"");
		return 1;
	case J_TSNULL:
		buf_str(b, "\"ts\":null");
		return 1;
	case J_TSBIG:
		buf_str(b, "\"ts\":1e300");
		return 1;
	case J_TSBADDATE:
		buf_str(b, "\"ts\":\"2024-02-30T00:00:00Z\"");
		return 1;
	case J_FUTURE:
		buf_fmt(b, "\"ts\":%" PRId64, (g->now_ns + 600 * NS_PER_S) / NS_PER_MS);
		return 1;
	default:
		break;
	}
	if (pick < 0.45) {
		buf_str(b, "\"ts\":");
		buf_i64(b, ev / NS_PER_MS);
	} else if (pick < 0.50) {
		buf_str(b, "\"ts\":");
		buf_i64(b, ev);
	} else if (pick < 0.55) {
		buf_str(b, "\"ts\":");
		buf_i64(b, ev / 1000);
	} else if (pick < 0.65) {
		buf_str(b, "\"timestamp\":");
		buf_i64(b, ev / NS_PER_MS);
	} else if (pick < 0.80) {
		buf_str(b, "\"ts\":\"");
		buf_rfc3339(b, &g->rng, ev, pick < 0.75 ? 0 : pick < 0.78 ? 1 : 2);
		buf_ch(b, '"');
	} else {
		buf_fmt(b, "\"ts\":%" PRId64 ".%03" PRId64, ev / NS_PER_S,
			ev / NS_PER_MS % 1000);
	}
	return 1;
}

static void
json_put_record(struct gen *g, struct buf *b, const struct rec *r, int bad)
{
	const struct opts *o = &g->o;
	unsigned int i, fields = 0;
	int first = 1;

	if (bad == J_NOTOBJ) {
		buf_str(b, rng_chance(&g->rng, 0.5) ? "42" : "\"dev-00001\"");
		return;
	}
	buf_ch(b, '{');
	if (bad != J_NOID) {
		json_put_id(g, b, r, bad);
		fields = 1;
	}
	fields += json_put_ts(g, b, r, bad, fields ? "," : "");
	if (bad == J_NOMETRIC) {
		buf_str(b, fields ? ",\"rssi\":-71}" : "\"rssi\":-71}");
		return;
	}
	for (i = 0; i < o->n_metrics; i++) {
		if (!(r->mask >> i & 1))
			continue;
		if (fields++)
			buf_ch(b, ',');
		buf_ch(b, '"');
		buf_str(b, o->metric[i]);
		buf_str(b, "\":");
		if (first && bad == J_NAN)
			buf_str(b, "NaN");
		else if (first && bad == J_INF)
			buf_str(b, "1e999");
		else
			buf_value(b, r, i);
		first = 0;
	}
	if (rng_chance(&g->rng, 0.1))
		buf_str(b, ",\"fw\":\"2.1.0\",\"ok\":true,\"loc\":{\"lat\":48.137,\"lon\":11.575},"
			"\"tags\":[\"a\",null],\"unit\":null");
	buf_ch(b, '}');
	if (bad == J_CUT)
		b->len--;
	else if (bad == J_TRAIL)
		buf_str(b, " x");
}

static void
influx_put_record(struct gen *g, struct buf *b, const struct rec *r, int bad)
{
	const struct opts *o = &g->o;
	unsigned int i;
	char id[32];
	int first = 1;

	dev_name(id, sizeof(id), r->dev);
	buf_str(b, rng_chance(&g->rng, 0.05) ? "sensor\\ data" : "sensors");
	if (bad == L_EMPTYTAG)
		buf_str(b, ",device_id=");
	else if (bad == L_IDLONG)
		buf_fmt(b, ",device_id=%s%s%s%s%s%s%s%s", id, id, id, id, id, id, id, id);
	else if (bad != L_NOID)
		buf_fmt(b, ",%s=%s", rng_chance(&g->rng, 0.15) ? "sensor_id" : "device_id", id);
	if (rng_chance(&g->rng, 0.5))
		buf_fmt(b, ",site=s%02" PRIu32, r->dev % 37);
	if (bad == L_NOFIELDS)
		return;
	buf_ch(b, ' ');
	if (bad == L_NOMETRIC) {
		buf_str(b, "rssi=-71i");
	} else {
		for (i = 0; i < o->n_metrics; i++) {
			double v = r->val[i];

			if (!(r->mask >> i & 1))
				continue;
			if (!first)
				buf_ch(b, ',');
			buf_str(b, o->metric[i]);
			buf_ch(b, '=');
			if (first && bad == L_BADVAL)
				buf_str(b, "abc");
			else if (first && bad == L_INF)
				buf_str(b, "1e400");
			else if (v == rint(v) && fabs(v) < 1e15 && rng_chance(&g->rng, 0.5)) {
				buf_i64(b, (int64_t)v);
				buf_ch(b, 'i');
			}
			else
				buf_value(b, r, i);
			first = 0;
		}
	}
	if (bad == L_UNTERM)
		buf_str(b, ",note=\"open");
	else if (rng_chance(&g->rng, 0.1))
		buf_str(b, ",ok=true,fw=\"2.1 beta, \\\"rc\\\"\"");
	switch (bad) {
	case L_BADTS:
		buf_str(b, " 12.5");
		return;
	case L_TSNEG:
		buf_str(b, " -5");
		return;
	case L_TSBIG:
		buf_str(b, " 99999999999999999999");
		return;
	case L_FUTURE:
		buf_fmt(b, " %" PRId64, g->now_ns + 600 * NS_PER_S);
		return;
	default:
		break;
	}
	if (!rng_chance(&g->rng, 0.1)) {
		buf_ch(b, ' ');
		buf_i64(b, r->ev_ns);
	}
}

static void
snr1_put_record(struct gen *g, struct buf *b, const struct rec *r, int bad)
{
	const struct opts *o = &g->o;
	uint8_t hdr[16];
	uint8_t v[8];
	char id[32];
	unsigned int i, n = 0, id_len;
	unsigned int order[WR_METRICS_MAX];
	uint64_t ts_ms = (uint64_t)(r->ev_ns / NS_PER_MS);
	size_t start = b->len;

	dev_name(id, sizeof(id), r->dev);
	id_len = (unsigned int)strlen(id);
	for (i = 0; i < o->n_metrics; i++)
		if (r->mask >> i & 1)
			order[n++] = i;
	/* sometimes out of metric order: ids, not positions, name metrics */
	if (n > 1 && rng_chance(&g->rng, 0.3)) {
		unsigned int a = (unsigned int)rng_below(&g->rng, n), t = order[a];

		order[a] = order[n - 1];
		order[n - 1] = t;
	}
	if (bad == S_METRIC_DUP)
		order[n++] = order[0];
	if (bad == S_TSBIG)
		ts_ms = UINT64_MAX - rng_below(&g->rng, 1000);
	else if (bad == S_FUTURE)
		ts_ms = (uint64_t)((g->now_ns + 600 * NS_PER_S) / NS_PER_MS);
	if (bad == S_IDUTF8)
		id[3] = (char)0xc0;
	memcpy(hdr, bad == S_MAGIC ? "SNR2" : "SNR1", 4);
	hdr[4] = (uint8_t)(bad == S_IDLEN0 ? 0 : id_len);
	hdr[5] = (uint8_t)(bad == S_NVAL0 ? 0 : n);
	put_le16(hdr + 6, bad == S_FLAGS ? 1 : 0);
	put_le64(hdr + 8, ts_ms);
	buf_put(b, hdr, sizeof(hdr));
	buf_put(b, id, id_len);
	for (i = 0; i < n; i++) {
		float f = (float)r->val[order[i]];
		uint32_t bits;

		if (i == 0 && bad == S_NAN)
			f = nanf("");
		memcpy(&bits, &f, sizeof(bits));
		put_le16(v, (uint16_t)(i == 0 && bad == S_METRIC_UNKNOWN ?
				       o->n_metrics + 3 : order[i]));
		put_le16(v + 2, i == 0 && bad == S_RESERVED ? 7 : 0);
		put_le32(v + 4, bits);
		buf_put(b, v, sizeof(v));
	}
	if (bad == S_TRUNC)
		b->len -= 1 + rng_below(&g->rng, b->len - start - 1);
}

/*
 * Fill g->payload with up to per_dgram records (fewer when the MTU is
 * reached). bad_at = index of the broken record, or -1.
 * @return number of records written.
 */
static unsigned int
build_payload(struct gen *g, enum enc enc, int bad, int bad_at, size_t *len)
{
	struct buf p = { g->payload, 0, PAYLOAD_CAP };
	struct buf t = { g->tmp, 0, REC_CAP };
	int array = enc == ENC_JSON && rng_chance(&g->rng, g->o.json_array);
	unsigned int i, n = 0;
	struct rec r;

	if ((enc == ENC_JSON && bad == J_EMPTY) || (enc == ENC_INFLUX && bad == L_EMPTY) ||
	    (enc == ENC_SNR1 && bad == S_EMPTY)) {
		static const char *const blanks[] = { "", " ", "\n", " \r\n\t" };
		const char *s = blanks[rng_below(&g->rng, 4)];

		memcpy(g->payload, s, strlen(s));
		*len = strlen(s);
		return 1;
	}
	if (array)
		buf_ch(&p, '[');
	for (i = 0; i < g->o.per_dgram; i++) {
		int kind = (int)i == bad_at ? bad : 0;

		make_rec(g, &r);
		t.len = 0;
		if (n > 0 && enc != ENC_SNR1)
			buf_ch(&t, array ? ',' : '\n');
		if (enc == ENC_JSON)
			json_put_record(g, &t, &r, kind);
		else if (enc == ENC_INFLUX)
			influx_put_record(g, &t, &r, kind);
		else
			snr1_put_record(g, &t, &r, kind);
		/* the first record always goes, even past the MTU */
		if (n > 0 && p.len + t.len + 1 > g->payload_max)
			break;
		buf_put(&p, t.p, t.len);
		n++;
		/* a cut SNR1 record ends the datagram: nothing may follow it */
		if (kind != 0 && enc == ENC_SNR1 && kind == S_TRUNC)
			break;
	}
	if (array)
		buf_ch(&p, ']');
	else if (enc != ENC_SNR1 && rng_chance(&g->rng, 0.3))
		buf_ch(&p, '\n');
	*len = p.len;
	return n;
}

/* ---------------------------------------------------------------- frames */

static uint16_t
ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t
put_l2(uint8_t *f, uint16_t ethertype, unsigned int tags, uint32_t src, uint64_t *rng)
{
	static const uint8_t dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
	size_t off = 12;

	memcpy(f, dst, 6);
	f[6] = 0x02;
	f[7] = 0x10;
	f[8] = (uint8_t)(src >> 24);
	f[9] = (uint8_t)(src >> 16);
	f[10] = (uint8_t)(src >> 8);
	f[11] = (uint8_t)src;
	if (tags == 2) {
		put_be16(f + off, 0x88a8);
		put_be16(f + off + 2, (uint16_t)(100 + rng_below(rng, 10)));
		off += 4;
	}
	if (tags >= 1) {
		uint64_t pcp = rng_below(rng, 8), vid = 10 + rng_below(rng, 50);

		put_be16(f + off, 0x8100);
		put_be16(f + off + 2, (uint16_t)(pcp << 13 | vid));
		off += 4;
	}
	put_be16(f + off, ethertype);
	return off + 2;
}

/* IPv4 header with proto at f; returns its length. tot = whole IP packet. */
static size_t
put_ipv4(uint8_t *f, int opts, uint8_t proto, size_t l4len, uint32_t src, int frag)
{
	size_t hl = opts ? 24 : 20;

	f[0] = (uint8_t)(0x40 | hl / 4);
	f[1] = 0;
	put_be16(f + 2, (uint16_t)(hl + l4len));
	put_be16(f + 4, (uint16_t)src);
	put_be16(f + 6, frag ? 0x2000 : 0x4000);	/* MF, else DF */
	f[8] = 64;
	f[9] = proto;
	put_be16(f + 10, 0);
	f[12] = 10;
	f[13] = (uint8_t)(src >> 16);
	f[14] = (uint8_t)(src >> 8);
	f[15] = (uint8_t)src;
	f[16] = 10;
	f[17] = 255;
	f[18] = 0;
	f[19] = 1;
	if (opts) {
		/* router alert option (RFC 2113): a real option decoders must skip */
		f[20] = 0x94;
		f[21] = 4;
		f[22] = 0;
		f[23] = 0;
	}
	put_be16(f + 10, ip_csum(f, hl));
	return hl;
}

static size_t
put_ipv6(uint8_t *f, uint8_t nh, size_t plen, uint32_t src)
{
	memset(f, 0, 40);
	f[0] = 0x60;
	put_be16(f + 4, (uint16_t)plen);
	f[6] = nh;
	f[7] = 64;
	f[8] = 0xfd;
	f[12] = (uint8_t)(src >> 24);
	f[13] = (uint8_t)(src >> 16);
	f[14] = (uint8_t)(src >> 8);
	f[15] = (uint8_t)src;
	f[24] = 0xfd;
	f[39] = 1;
	return 40;
}

/* Build the frame around payload; fills *l3 / *l4 offsets. @return frame length. */
static size_t
build_frame(struct gen *g, const struct frame_shape *s, const uint8_t *pl, size_t plen,
	    size_t *l3, size_t *l4)
{
	uint8_t *f = g->frame;
	size_t off, ulen = plen + 8, ext = 0;
	uint8_t *u;

	off = put_l2(f, s->ipv6 ? 0x86dd : 0x0800, s->tags, s->src, &g->rng);
	*l3 = off;
	if (!s->ipv6) {
		off += put_ipv4(f + off, s->ip_opts, 17, ulen, s->src, s->frag);
	} else {
		uint8_t nh = 17;

		if (s->v6_ext)
			ext += 8;
		if (s->frag)
			ext += 8;
		if (s->v6_ext)
			nh = rng_chance(&g->rng, 0.5) ? 0 : 60;
		else if (s->frag)
			nh = 44;
		off += put_ipv6(f + off, nh, ext + ulen, s->src);
		if (s->v6_ext) {
			/* hop-by-hop or destination options: PadN to 8 bytes */
			f[off] = s->frag ? 44 : 17;
			f[off + 1] = 0;
			f[off + 2] = 1;
			f[off + 3] = 4;
			memset(f + off + 4, 0, 4);
			off += 8;
		}
		if (s->frag) {
			f[off] = 17;
			f[off + 1] = 0;
			put_be16(f + off + 2, 1);	/* offset 0, M set */
			put_be16(f + off + 4, (uint16_t)(s->src >> 16));
			put_be16(f + off + 6, (uint16_t)s->src);
			off += 8;
		}
	}
	*l4 = off;
	u = f + off;
	put_be16(u, (uint16_t)(40000 + s->src % 20000));
	put_be16(u + 2, s->dport);
	put_be16(u + 4, (uint16_t)ulen);
	put_be16(u + 6, 0);
	memcpy(u + 8, pl, plen);
	off += ulen;
	if (s->ipv6) {
		/* UDP over IPv6 needs a checksum: pseudo header + datagram */
		uint32_t sum = 0;
		size_t i;
		uint16_t c;

		for (i = 0; i < 32; i += 2)
			sum += (uint32_t)(f[*l3 + 8 + i] << 8 | f[*l3 + 9 + i]);
		sum += (uint32_t)ulen + 17;
		for (i = 0; i + 1 < ulen; i += 2)
			sum += (uint32_t)(u[i] << 8 | u[i + 1]);
		if (ulen & 1)
			sum += (uint32_t)u[ulen - 1] << 8;
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		c = (uint16_t)~sum;
		put_be16(u + 6, c ? c : 0xffff);
	}
	/* Ethernet minimum: padding past the UDP length is not payload */
	while (off < 60)
		f[off++] = 0;
	return off;
}

static void
break_frame(struct gen *g, const struct frame_shape *s, int kind, size_t *len, size_t l3,
	    size_t l4)
{
	uint8_t *f = g->frame;
	uint8_t *ip = f + l3;
	size_t ulen = (size_t)(f[l4 + 4] << 8 | f[l4 + 5]);
	size_t ip_room = *len - l3;

	switch (kind) {
	case F_CUT_ETH:
		*len = 1 + rng_below(&g->rng, l3 - 1);
		break;
	case F_CUT_L3:
		*len = l3 + 1 + rng_below(&g->rng, (s->ipv6 ? 40 : 20) - 1);
		break;
	case F_CUT_UDP:
		/* the IP length says only part of the UDP header is there */
		if (s->ipv6)
			put_be16(ip + 4, (uint16_t)(l4 - l3 - 40 + 5));
		else
			put_be16(ip + 2, (uint16_t)(l4 - l3 + 5));
		*len = l4 + 5;
		break;
	case F_IPVER:
		ip[0] = (uint8_t)((s->ipv6 ? 0x40 : 0x60) | (ip[0] & 0x0f));
		break;
	case F_IHL:
		if (s->ipv6)
			ip[0] = 0x50;
		else
			ip[0] = (uint8_t)(0x40 | rng_below(&g->rng, 5));
		break;
	case F_TOTLEN:
		if (s->ipv6)
			put_be16(ip + 4, (uint16_t)(ip_room - 40 + 1 + rng_below(&g->rng, 100)));
		else if (rng_chance(&g->rng, 0.5))
			put_be16(ip + 2, (uint16_t)(ip_room + 1 + rng_below(&g->rng, 100)));
		else
			put_be16(ip + 2, (uint16_t)rng_below(&g->rng, 20));
		break;
	case F_UDPLEN_SHORT:
		put_be16(f + l4 + 4, (uint16_t)rng_below(&g->rng, 8));
		break;
	case F_UDPLEN_LONG:
		put_be16(f + l4 + 4, (uint16_t)(ulen + 1 + rng_below(&g->rng, 50)));
		break;
	default:
		break;
	}
	if (!s->ipv6 && kind != F_CUT_ETH && kind != F_CUT_L3) {
		/* keep the checksum right: only the named field is broken */
		size_t hl = (size_t)(ip[0] & 0x0f) * 4;

		if (hl >= 20 && l3 + hl <= *len) {
			put_be16(ip + 10, 0);
			put_be16(ip + 10, ip_csum(ip, hl));
		}
	}
}

static int
write_frame(struct gen *g, size_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(g->now_ns / NS_PER_S);
	h.ts.tv_usec = (suseconds_t)(g->now_ns % NS_PER_S);	/* ns: nano precision dumper */
	h.caplen = (bpf_u_int32)len;
	h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)g->dump, &h, g->frame);
	g->frames++;
	g->bytes += 16 + len;
	return 0;
}

/* A frame weir must count as ignored. */
static void
put_ignored(struct gen *g)
{
	uint8_t *f = g->frame;
	uint32_t src = (uint32_t)rng_below(&g->rng, g->o.devices);
	size_t off, len;
	static const char junk[] = "{\"device_id\":\"dev-00000\",\"temperature\":1}";

	switch (rng_below(&g->rng, 6)) {
	case 0:	/* ARP request */
		off = put_l2(f, 0x0806, 0, src, &g->rng);
		memset(f, 0xff, 6);
		memcpy(f + off, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
		memset(f + off + 8, 0, 20);
		len = off + 28;
		break;
	case 1:	/* TCP SYN to the sensor port */
		off = put_l2(f, 0x0800, 0, src, &g->rng);
		off += put_ipv4(f + off, 0, 6, 20, src, 0);
		memset(f + off, 0, 20);
		put_be16(f + off, 50000);
		put_be16(f + off + 2, g->o.port);
		f[off + 12] = 0x50;
		f[off + 13] = 0x02;
		len = off + 20;
		break;
	case 2:	/* UDP to another port */
		off = put_l2(f, 0x0800, rng_chance(&g->rng, 0.3), src, &g->rng);
		off += put_ipv4(f + off, 0, 17, 8 + sizeof(junk) - 1, src, 0);
		put_be16(f + off, 40000);
		put_be16(f + off + 2, (uint16_t)(g->o.port + 1));
		put_be16(f + off + 4, (uint16_t)(8 + sizeof(junk) - 1));
		put_be16(f + off + 6, 0);
		memcpy(f + off + 8, junk, sizeof(junk) - 1);
		len = off + 8 + sizeof(junk) - 1;
		break;
	case 3:	/* ICMP echo */
		off = put_l2(f, 0x0800, 0, src, &g->rng);
		off += put_ipv4(f + off, 0, 1, 16, src, 0);
		memset(f + off, 0, 16);
		f[off] = 8;
		len = off + 16;
		break;
	case 4:	/* LLDP */
		off = put_l2(f, 0x88cc, 0, src, &g->rng);
		memset(f + off, 0, 16);
		len = off + 16;
		break;
	default:	/* ICMPv6 echo */
		off = put_l2(f, 0x86dd, 0, src, &g->rng);
		off += put_ipv6(f + off, 58, 16, src);
		memset(f + off, 0, 16);
		f[off] = 128;
		len = off + 16;
		break;
	}
	while (len < 60)
		f[len++] = 0;
	write_frame(g, len);
	g->ignored++;
}

static enum enc
pick_encoding(struct gen *g)
{
	const double *w = g->o.enc_weight;
	double total = w[0] + w[1] + w[2];
	double x = rng_unit(&g->rng) * total;
	int i;

	for (i = 0; i < ENC_COUNT - 1; i++) {
		if (x < w[i])
			return (enum enc)i;
		x -= w[i];
	}
	return (enum enc)(ENC_COUNT - 1);
}

static int
generate(struct gen *g)
{
	const struct opts *o = &g->o;
	uint64_t next_progress = PROGRESS_EVERY;
	uint64_t paced = 0;	/* records sent so far: paces the clock */

	for (;;) {
		struct frame_shape s;
		enum enc enc;
		size_t plen, flen, l3, l4;
		int bad = 0, bad_at = -1, frame_bad = -1;
		unsigned int n;

		g->now_ns = o->start_ns + (int64_t)((double)paced / o->rate * 1e9);
		if (o->count ? g->datagrams >= o->count : g->now_ns - o->start_ns >= o->duration_ns)
			break;
		enc = pick_encoding(g);
		memset(&s, 0, sizeof(s));
		s.dport = o->port;
		s.src = (uint32_t)rng_below(&g->rng, o->devices);
		if (rng_chance(&g->rng, o->vlan))
			s.tags = rng_chance(&g->rng, 0.25) ? 2 : 1;
		s.ipv6 = rng_chance(&g->rng, o->ipv6);
		if (s.ipv6)
			s.v6_ext = rng_chance(&g->rng, 0.2);
		else
			s.ip_opts = rng_chance(&g->rng, 0.1);
		if (rng_chance(&g->rng, o->malformed)) {
			g->broken++;
			if (rng_chance(&g->rng, 0.4)) {
				frame_bad = (int)rng_below(&g->rng, F_COUNT);
				s.frag = frame_bad == F_FRAG;
			} else {
				static const int n_bad[ENC_COUNT] = { J_COUNT, L_COUNT, S_COUNT };

				bad = 1 + (int)rng_below(&g->rng, (uint64_t)n_bad[enc] - 1);
				bad_at = (int)rng_below(&g->rng, o->per_dgram);
			}
		}
		n = build_payload(g, enc, bad, bad_at, &plen);
		flen = build_frame(g, &s, g->payload, plen, &l3, &l4);
		if (frame_bad >= 0 && frame_bad != F_FRAG)
			break_frame(g, &s, frame_bad, &flen, l3, l4);
		write_frame(g, flen);
		g->datagrams++;
		g->records += n;
		paced += n ? n : 1;
		if (rng_chance(&g->rng, o->ignored))
			put_ignored(g);
		if (!o->quiet && g->datagrams >= next_progress) {
			fprintf(stderr, "weir-gen: %" PRIu64 " datagrams, %.1f s of traffic\n",
				g->datagrams, (double)(g->now_ns - o->start_ns) / 1e9);
			next_progress += PROGRESS_EVERY;
		}
	}
	/* pcap_dump() cannot report errors: the stream's error flag can */
	if (pcap_dump_flush(g->dump) != 0 || ferror(pcap_dump_file(g->dump))) {
		fprintf(stderr, "weir-gen: %s: write failed: %s\n", o->output, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- options */

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: weir-gen -o FILE [options]\n"
"Write a pcap capture (Ethernet, ns timestamps) of synthetic sensors sending UDP\n"
"datagrams for weir (JSON, InfluxDB line protocol, SNR1 binary).\n"
"\n"
"  -o, --output FILE            capture to write (required)\n"
"      --devices N              number of sensors, ids dev-00000.. (default 100)\n"
"      --rate R                 records per second, all sensors together (default 1000)\n"
"      --duration D             seconds of traffic, decimals ok (default 60)\n"
"      --count N                stop after N sensor datagrams (overrides --duration)\n"
"      --start EPOCH_SECONDS    time of the first datagram (default 1732233600)\n"
"      --encoding MIX           json, influx, snr1, or weights like\n"
"                               json=2,influx=1,snr1=1 (default json)\n"
"      --records-per-datagram N records per datagram, fewer when the MTU is reached\n"
"                               (default 1)\n"
"      --json-array F           fraction of JSON datagrams sent as one array (default 0)\n"
"      --mtu M                  largest IP packet, 576..9216; payload <= MTU - 64\n"
"                               (default 1500)\n"
"      --jitter D               event time = send time - uniform [0, D) seconds\n"
"                               (out-of-order data; default 0)\n"
"      --late F                 fraction of records whose event time is pushed back\n"
"                               by --late-by (default 0)\n"
"      --late-by D              seconds late records are pushed back (default 120)\n"
"      --malformed F            fraction of datagrams replaced by a broken variant: cut\n"
"                               or inconsistent headers, fragments, bad JSON / line\n"
"                               protocol / SNR1, truncated SNR1, bad device ids or\n"
"                               timestamps, future times, no metrics, NaN / inf values,\n"
"                               empty payloads (default 0)\n"
"      --ignored F              extra non-sensor frames per datagram: ARP, TCP, UDP to\n"
"                               another port, ICMP, LLDP, ICMPv6 (default 0)\n"
"      --vlan F                 fraction of frames with a VLAN tag, a quarter of them\n"
"                               QinQ (default 0)\n"
"      --ipv6 F                 fraction of datagrams over IPv6 (default 0)\n"
"      --metrics LIST           metric names, comma separated; SNR1 metric ids follow\n"
"                               this order (default temperature,humidity,pressure,\n"
"                               vibration)\n"
"      --port P                 UDP destination port (default 9700)\n"
"      --seed S                 random seed; same seed and options give the same\n"
"                               bytes (default 1)\n"
"  -q, --quiet                  no progress or summary on stderr\n"
"  -h, --help                   this text\n"
"\n"
"Fractions F are in [0, 1]. A summary line (frames, datagrams, records, bytes) is\n"
"printed on stderr at the end, progress every million datagrams.\n");
}

static int
opt_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "weir-gen: --%s: '%s' is not an integer in %" PRIu64 "..%" PRIu64 "\n",
		name, s, lo, hi);
	return -1;
}

static int
opt_double(const char *name, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || errno || *end || !isfinite(v) || v < lo || v > hi) {
		fprintf(stderr, "weir-gen: --%s: '%s' is not a number in [%g, %g]\n", name, s,
			lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* Decimal seconds -> ns, exact to the ns for up to 9 decimals. */
static int
opt_seconds(const char *name, const char *s, int64_t max_s, int64_t *ns)
{
	const char *p = s;
	int64_t whole = 0, frac = 0, scale = NS_PER_S;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		whole = whole * 10 + (*p++ - '0');
		digits++;
		if (whole > max_s)
			goto bad;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			scale /= 10;
			frac += (*p++ - '0') * scale;
			digits++;
		}
	}
	if (*p != '\0' || digits == 0)
		goto bad;
	*ns = whole * NS_PER_S + frac;
	return 0;
bad:
	fprintf(stderr, "weir-gen: --%s: '%s' is not a number of seconds in [0, %" PRId64 "]\n",
		name, s, max_s);
	return -1;
}

static int
opt_encoding(const char *s, double *w)
{
	char copy[256];
	char *save = NULL, *tok;
	int i;

	if (strlen(s) >= sizeof(copy))
		goto bad;
	strcpy(copy, s);
	memset(w, 0, sizeof(double) * ENC_COUNT);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		double v = 1;

		if (eq) {
			*eq = '\0';
			if (opt_double("encoding", eq + 1, 0, 1e9, &v) < 0)
				return -1;
		}
		for (i = 0; i < ENC_COUNT; i++)
			if (strcmp(tok, enc_name[i]) == 0)
				break;
		if (i == ENC_COUNT)
			goto bad;
		w[i] = v;
	}
	if (w[0] + w[1] + w[2] <= 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "weir-gen: --encoding: '%s': expected json, influx, snr1 or weights "
		"like json=1,influx=1,snr1=1 (sum > 0)\n", s);
	return -1;
}

static int
opt_metrics(const char *s, struct opts *o)
{
	const char *p = s;

	o->n_metrics = 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		unsigned int i;

		if (n == 0 || n >= sizeof(o->metric[0]) || o->n_metrics == WR_METRICS_MAX)
			goto bad;
		for (i = 0; i < n; i++)
			if (p[i] <= ' ' || p[i] == '"' || p[i] == '\\' || p[i] == '=' ||
			    p[i] == (char)0x7f)
				goto bad;
		memcpy(o->metric[o->n_metrics], p, n);
		o->metric[o->n_metrics++][n] = '\0';
		p += n;
		if (*p == ',' && *++p == '\0')
			goto bad;
	}
	if (o->n_metrics == 0)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "weir-gen: --metrics: '%s': expected 1..%d comma separated names of "
		"1..63 printable characters (no space, quote, backslash or '=')\n", s,
		WR_METRICS_MAX);
	return -1;
}

enum {
	O_DEVICES = 256, O_RATE, O_DURATION, O_START, O_ENCODING, O_PER_DGRAM, O_JSON_ARRAY,
	O_JITTER, O_LATE, O_LATE_BY, O_MALFORMED, O_IGNORED, O_VLAN, O_IPV6, O_METRICS,
	O_PORT, O_SEED, O_COUNT, O_MTU
};

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "devices", required_argument, NULL, O_DEVICES },
		{ "rate", required_argument, NULL, O_RATE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "start", required_argument, NULL, O_START },
		{ "encoding", required_argument, NULL, O_ENCODING },
		{ "records-per-datagram", required_argument, NULL, O_PER_DGRAM },
		{ "json-array", required_argument, NULL, O_JSON_ARRAY },
		{ "jitter", required_argument, NULL, O_JITTER },
		{ "late", required_argument, NULL, O_LATE },
		{ "late-by", required_argument, NULL, O_LATE_BY },
		{ "malformed", required_argument, NULL, O_MALFORMED },
		{ "ignored", required_argument, NULL, O_IGNORED },
		{ "vlan", required_argument, NULL, O_VLAN },
		{ "ipv6", required_argument, NULL, O_IPV6 },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "port", required_argument, NULL, O_PORT },
		{ "seed", required_argument, NULL, O_SEED },
		{ "count", required_argument, NULL, O_COUNT },
		{ "mtu", required_argument, NULL, O_MTU },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t u;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->devices = 100;
	o->rate = 1000;
	o->duration_ns = 60 * NS_PER_S;
	o->start_ns = 1732233600LL * NS_PER_S;
	o->enc_weight[ENC_JSON] = 1;
	o->per_dgram = 1;
	o->late_by_ns = 120 * NS_PER_S;
	o->port = 9700;
	o->seed = 1;
	o->mtu = 1500;
	opt_metrics("temperature,humidity,pressure,vibration", o);

	while ((c = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_DEVICES:
			rc |= opt_u64("devices", optarg, 1, 10000000, &u);
			o->devices = (uint32_t)u;
			break;
		case O_RATE:
			rc |= opt_double("rate", optarg, 1e-3, 1e9, &o->rate);
			break;
		case O_DURATION:
			rc |= opt_seconds("duration", optarg, 100LL * 365 * 86400, &o->duration_ns);
			break;
		case O_START:
			rc |= opt_seconds("start", optarg, 9000000000LL, &o->start_ns);
			break;
		case O_ENCODING:
			rc |= opt_encoding(optarg, o->enc_weight);
			break;
		case O_PER_DGRAM:
			rc |= opt_u64("records-per-datagram", optarg, 1, 1000, &u);
			o->per_dgram = (unsigned int)u;
			break;
		case O_JSON_ARRAY:
			rc |= opt_double("json-array", optarg, 0, 1, &o->json_array);
			break;
		case O_JITTER:
			rc |= opt_seconds("jitter", optarg, 86400, &o->jitter_ns);
			break;
		case O_LATE:
			rc |= opt_double("late", optarg, 0, 1, &o->late);
			break;
		case O_LATE_BY:
			rc |= opt_seconds("late-by", optarg, 86400, &o->late_by_ns);
			break;
		case O_MALFORMED:
			rc |= opt_double("malformed", optarg, 0, 1, &o->malformed);
			break;
		case O_IGNORED:
			rc |= opt_double("ignored", optarg, 0, 1, &o->ignored);
			break;
		case O_VLAN:
			rc |= opt_double("vlan", optarg, 0, 1, &o->vlan);
			break;
		case O_IPV6:
			rc |= opt_double("ipv6", optarg, 0, 1, &o->ipv6);
			break;
		case O_METRICS:
			rc |= opt_metrics(optarg, o);
			break;
		case O_PORT:
			rc |= opt_u64("port", optarg, 1, 65535, &u);
			o->port = (uint16_t)u;
			break;
		case O_SEED:
			rc |= opt_u64("seed", optarg, 0, UINT64_MAX, &o->seed);
			break;
		case O_COUNT:
			rc |= opt_u64("count", optarg, 1, UINT64_MAX, &o->count);
			break;
		case O_MTU:
			rc |= opt_u64("mtu", optarg, 576, 9216, &u);
			o->mtu = (unsigned int)u;
			break;
		default:
			fprintf(stderr, "Try 'weir-gen --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weir-gen: unexpected argument '%s'\n", argv[optind]);
		rc = -1;
	}
	if (!rc && !o->output) {
		fprintf(stderr, "weir-gen: -o/--output FILE is required (see --help)\n");
		rc = -1;
	}
	if (!rc && o->start_ns < o->late_by_ns + o->jitter_ns)
		fprintf(stderr, "weir-gen: note: early event times are clamped at the epoch\n");
	return rc ? -1 : 0;
}

/* Per-metric plausible baselines, so values look like their names. */
static void
metric_profile(const char *name, double *lo, double *hi, double *scale)
{
	if (strcmp(name, "temperature") == 0) {
		*lo = 10, *hi = 30, *scale = 0.5;
	} else if (strcmp(name, "humidity") == 0) {
		*lo = 30, *hi = 70, *scale = 2;
	} else if (strcmp(name, "pressure") == 0) {
		*lo = 990, *hi = 1030, *scale = 0.3;
	} else if (strcmp(name, "vibration") == 0) {
		*lo = 0.1, *hi = 2, *scale = 0.05;
	} else {
		*lo = 0, *hi = 100, *scale = 1;
	}
}

int
main(int argc, char **argv)
{
	struct gen g;
	pcap_t *pd = NULL;
	size_t i, n;
	int rc = 1;

	memset(&g, 0, sizeof(g));
	if (parse_opts(argc, argv, &g.o) < 0)
		return 2;
	g.rng = g.o.seed;
	n = (size_t)g.o.devices * g.o.n_metrics;
	g.base = malloc(n * sizeof(*g.base));
	g.payload = malloc(PAYLOAD_CAP);
	g.frame = malloc(FRAME_CAP);
	g.tmp = malloc(REC_CAP);
	if (!g.base || !g.payload || !g.frame || !g.tmp) {
		fprintf(stderr, "weir-gen: out of memory\n");
		goto out;
	}
	g.payload_max = g.o.mtu - HDR_ROOM;
	for (i = 0; i < g.o.n_metrics; i++) {
		double lo, hi;
		size_t d;

		metric_profile(g.o.metric[i], &lo, &hi, &g.scale[i]);
		for (d = 0; d < g.o.devices; d++)
			g.base[d * g.o.n_metrics + i] = lo + (hi - lo) * rng_unit(&g.rng);
	}
	pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!pd) {
		fprintf(stderr, "weir-gen: pcap_open_dead failed\n");
		goto out;
	}
	g.dump = pcap_dump_open(pd, g.o.output);
	if (!g.dump) {
		fprintf(stderr, "weir-gen: %s\n", pcap_geterr(pd));
		goto out;
	}
	rc = generate(&g) < 0;
	pcap_dump_close(g.dump);
	if (rc == 0 && !g.o.quiet)
		fprintf(stderr, "weir-gen: wrote %s: %" PRIu64 " frames, %" PRIu64 " datagrams "
			"(%" PRIu64 " broken), %" PRIu64 " records, %" PRIu64 " ignored frames, "
			"%" PRIu64 " bytes, %.3f s of traffic\n", g.o.output, g.frames,
			g.datagrams, g.broken, g.records, g.ignored, g.bytes + 24,
			(double)(g.now_ns - g.o.start_ns) / 1e9);
out:
	if (pd)
		pcap_close(pd);
	free(g.base);
	free(g.payload);
	free(g.frame);
	free(g.tmp);
	return rc;
}
