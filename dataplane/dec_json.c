/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON payload decoder (SPEC §3 item 1). Owns the JSON grammar (strict
 * RFC 8259), newline-delimited and array framing, device id / event time /
 * metric extraction, RFC 3339 times and correctly rounded numbers. Runs on
 * the RX lcore: one pass per line, no allocation, no recursion (containers
 * are tracked on a fixed stack bounded by JSON_DEPTH_MAX).
 *
 * Choices the spec leaves open:
 *  - Nesting: a record object is depth 1; up to JSON_DEPTH_MAX levels are
 *    accepted, one more is bad_json. In array payloads the enclosing array
 *    is not counted, and a too-deep element breaks the whole array.
 *  - An empty array "[]" (like an all-blank payload) is one bad_json record.
 *  - Lone UTF-16 surrogates in \u escapes are grammatical (RFC 8259); once
 *    unescaped they are not valid UTF-8, so such a device id is
 *    bad_device_id and such a key matches no configured name.
 *  - RFC 3339 second 60 (leap second) is accepted and lands on the next
 *    second; more than 9 fraction digits are truncated to nanoseconds;
 *    "-00:00" means UTC.
 *  - Numeric times with a fraction or exponent are converted exactly
 *    (truncated to ns), not through a double.
 *  - strtod (the slow number path) assumes the process runs in the C
 *    locale, as weir never calls setlocale().
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "dp_decode.h"

#define JSON_DEPTH_MAX	64	/* nesting levels of one record, SPEC: at least 64 */
#define TS_STR_MAX	64	/* longest escaped time string we unescape */

/* Byte classes inside a string: what ends the fast scan. */
enum { SC_PLAIN = 0, SC_QUOTE, SC_ESC, SC_CTRL, SC_UTF8 };

static const uint8_t str_class[256] = {
	[0x00 ... 0x1f] = SC_CTRL,
	['"'] = SC_QUOTE,
	['\\'] = SC_ESC,
	[0x80 ... 0xff] = SC_UTF8,
};

/* Top-level members of one record that matter, last occurrence wins. */
struct json_rec {
	uint32_t id_seen;			/* bit i: device_id_fields[i] present */
	uint32_t id_bad;			/* bit i: ... but not a string */
	uint32_t id_esc;			/* bit i: ... string has escapes */
	const uint8_t *id_s[CFG_ID_FIELDS_MAX];	/* raw string body (between quotes) */
	size_t id_n[CFG_ID_FIELDS_MAX];
	unsigned int ts_seen;			/* bit 0: "ts", bit 1: "timestamp" */
	unsigned int ts_bad;
	int64_t ts_ns[2];
	uint64_t present;			/* metric bits with a numeric value */
	uint64_t bad;				/* metric bits whose number overflowed */
};

static inline int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline const uint8_t *
skip_ws(const uint8_t *p, const uint8_t *e)
{
	/* compact JSON has no whitespace between tokens */
	if (p < e && *p > ' ')
		return p;
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int
hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
hex4(const uint8_t *p)
{
	int a = hex_val(p[0]), b = hex_val(p[1]), c = hex_val(p[2]), d = hex_val(p[3]);

	if ((a | b | c | d) < 0)
		return -1;
	return (a << 12) | (b << 8) | (c << 4) | d;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if invalid. */
static size_t
utf8_seq(const uint8_t *p, const uint8_t *e)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, k;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		/* no overlongs, no UTF-16 surrogates */
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		/* no overlongs, nothing past U+10FFFF */
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if ((size_t)(e - p) < len || p[1] < lo || p[1] > hi)
		return 0;
	for (k = 2; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

#define SWAR_ONES	0x0101010101010101ULL
#define SWAR_HIGHS	0x8080808080808080ULL

/*
 * Non-zero when some byte of w needs a look: below 0x20, '"', '\\' or
 * non-ASCII. x - ONES*c sets a byte's high bit where the byte was below c
 * (borrows only start at such a byte); XOR with a repeated c turns equal
 * bytes into zero bytes.
 */
static inline uint64_t
swar_special(uint64_t w)
{
	uint64_t ctl = w - SWAR_ONES * 0x20;
	uint64_t q = w ^ (SWAR_ONES * '"');
	uint64_t b = w ^ (SWAR_ONES * '\\');

	q = q - SWAR_ONES;
	b = b - SWAR_ONES;
	/* high bits of w itself: non-ASCII; ~w masks false hits from such bytes */
	return ((ctl | q | b) & ~w & SWAR_HIGHS) | (w & SWAR_HIGHS);
}

/*
 * Validate a string body; p points after the opening quote. Sets *esc when
 * it holds escapes. Returns the byte after the closing quote, NULL on error.
 */
static const uint8_t *
scan_string(const uint8_t *p, const uint8_t *e, int *esc)
{
	size_t k;

	for (;;) {
		/* 8 plain bytes at a time while no '"', '\\', < 0x20 or >= 0x80 among them */
		while (e - p >= 8) {
			uint64_t w;

			memcpy(&w, p, sizeof(w));
			if (swar_special(w))
				break;
			p += 8;
		}
		while (p < e && str_class[*p] == SC_PLAIN)
			p++;
		if (p == e)
			return NULL;
		switch (str_class[*p]) {
		case SC_QUOTE:
			return p + 1;
		case SC_ESC:
			*esc = 1;
			if (e - p < 2)
				return NULL;
			switch (p[1]) {
			case '"': case '\\': case '/':
			case 'b': case 'f': case 'n': case 'r': case 't':
				p += 2;
				break;
			case 'u':
				if (e - p < 6 || hex4(p + 2) < 0)
					return NULL;
				p += 6;
				break;
			default:
				return NULL;
			}
			break;
		case SC_UTF8:
			k = utf8_seq(p, e);
			if (k == 0)
				return NULL;
			p += k;
			break;
		default:
			return NULL;	/* raw control character */
		}
	}
}

/*
 * Validate a number token (RFC 8259: no '+', no leading zeros, digits on
 * both sides of '.'); p points at '-' or a digit. *is_int is cleared when
 * it has a fraction or exponent. Returns the byte after it, NULL on error.
 */
static const uint8_t *
scan_number(const uint8_t *p, const uint8_t *e, int *is_int)
{
	*is_int = 1;
	if (*p == '-')
		p++;
	if (p == e)
		return NULL;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (++p < e && is_digit(*p))
			;
	else
		return NULL;
	if (p < e && *p == '.') {
		*is_int = 0;
		if (++p == e || !is_digit(*p))
			return NULL;
		while (++p < e && is_digit(*p))
			;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		*is_int = 0;
		if (++p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || !is_digit(*p))
			return NULL;
		while (++p < e && is_digit(*p))
			;
	}
	return p;
}

static const uint8_t *
scan_literal(const uint8_t *p, const uint8_t *e)
{
	static const char *const lit[] = { "true", "false", "null" };
	unsigned int i;

	for (i = 0; i < RTE_DIM(lit); i++) {
		size_t n = strlen(lit[i]);

		if (lit[i][0] == (char)*p)
			return ((size_t)(e - p) >= n && memcmp(p, lit[i], n) == 0) ? p + n : NULL;
	}
	return NULL;
}

/*
 * Validate one value of any type, containers included, at most max_depth
 * levels deep; leading whitespace allowed. Iterative: the stack holds one
 * byte per open container ('}' or ']': what closes it).
 */
static const uint8_t *
skip_value(const uint8_t *p, const uint8_t *e, unsigned int max_depth)
{
	uint8_t stack[JSON_DEPTH_MAX + 1];
	unsigned int depth = 0;
	int dummy;

	if (max_depth > RTE_DIM(stack))
		max_depth = RTE_DIM(stack);
value:
	p = skip_ws(p, e);
	if (p == e)
		return NULL;
	switch (*p) {
	case '{':
		if (depth == max_depth)
			return NULL;
		stack[depth++] = '}';
		p = skip_ws(p + 1, e);
		if (p < e && *p == '}') {
			p++;
			depth--;
			goto after;
		}
		goto member;
	case '[':
		if (depth == max_depth)
			return NULL;
		stack[depth++] = ']';
		p = skip_ws(p + 1, e);
		if (p < e && *p == ']') {
			p++;
			depth--;
			goto after;
		}
		goto value;
	case '"':
		p = scan_string(p + 1, e, &dummy);
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		p = scan_number(p, e, &dummy);
		break;
	default:
		p = scan_literal(p, e);
		break;
	}
	if (p == NULL)
		return NULL;
after:
	if (depth == 0)
		return p;
	p = skip_ws(p, e);
	if (p == e)
		return NULL;
	if (*p == stack[depth - 1]) {
		p++;
		depth--;
		goto after;
	}
	if (*p != ',')
		return NULL;
	p = skip_ws(p + 1, e);
	if (stack[depth - 1] == ']')
		goto value;
member:
	/* p is past whitespace, at what must be a key */
	if (p == e || *p != '"')
		return NULL;
	p = scan_string(p + 1, e, &dummy);
	if (p == NULL)
		return NULL;
	p = skip_ws(p, e);
	if (p == e || *p != ':')
		return NULL;
	p++;
	goto value;
}

static size_t
utf8_put(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | (cp >> 18));
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Unescape a string body already validated by scan_string. Returns its
 * length, or cap + 1 as soon as it would not fit in cap bytes.
 */
static size_t
json_unescape(const uint8_t *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n) {
		uint8_t tmp[4];
		uint32_t cp;
		size_t k;

		if (s[i] != '\\') {
			if (o == cap)
				return cap + 1;
			out[o++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			cp = (uint32_t)hex4(s + i + 2);
			if (cp >= 0xd800 && cp <= 0xdbff && n - i >= 12 && s[i + 6] == '\\' &&
			    s[i + 7] == 'u') {
				uint32_t lo = (uint32_t)hex4(s + i + 8);

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			i += 4;
			break;
		default:
			cp = s[i + 1];	/* '"', '\\', '/' */
			break;
		}
		i += 2;
		k = utf8_put(cp, tmp);
		if (cap - o < k)
			return cap + 1;
		memcpy(out + o, tmp, k);
		o += k;
	}
	return o;
}

/* Value of a validated number token, correctly rounded (overflow: +-inf). */
static inline double
json_number(const struct dp_decode_cfg *cfg, const uint8_t *s, size_t n)
{
	double v = 0;

	if (cfg->path == DP_PATH_FAST)
		dp_decimal_parse(s, n, &v);
	else
		dp_decimal_parse_plain(s, n, &v);
	return v;
}

/* Exact int64 of an integer token; -1 when negative (not -0) or too big. */
static int
number_int64(const uint8_t *s, size_t n, int64_t *v)
{
	const uint8_t *p = s, *e = s + n;
	uint64_t m = 0;
	int neg = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	/* 18 digits cannot overflow: check only longer tokens, without a division */
	if (e - p <= 18) {
		for (; p < e; p++)
			m = m * 10 + (uint64_t)(*p - '0');
	} else {
		for (; p < e; p++)
			if (__builtin_mul_overflow(m, 10, &m) ||
			    __builtin_add_overflow(m, (uint64_t)(*p - '0'), &m))
				return -1;
		if (m > (uint64_t)INT64_MAX)
			return -1;
	}
	if (neg && m != 0)
		return -1;
	*v = (int64_t)m;
	return 0;
}

/*
 * Epoch ns of a number token with a fraction or exponent, exact (then
 * truncated to ns like dp_time_from_double) instead of going through a
 * double, so that 1755434096.789 and "...:56.789Z" are the same instant.
 * The unit is chosen on the value's magnitude as dp_time_from_*() do.
 */
static int
ts_from_decimal(const struct dp_decode_cfg *cfg, const uint8_t *s, size_t n, int64_t *ns)
{
	const uint8_t *p = s, *e = s + n;
	enum cfg_ts_unit unit = cfg->json_ts_unit;
	uint64_t m = 0;
	int64_t exp10 = 0, x = 0;
	int nd = 0, xneg = 0;

	if (*p == '-')
		p++;
	/*
	 * Beyond 19 significant digits every dropped digit is below 1 ns of
	 * any time that fits int64 ns, so truncating them keeps the floor.
	 */
	for (; p < e && is_digit(*p); p++) {
		if (nd == 19) {
			exp10++;
			continue;
		}
		m = m * 10 + (uint64_t)(*p - '0');
		nd += m != 0;
	}
	if (p < e && *p == '.') {
		for (p++; p < e && is_digit(*p); p++) {
			if (nd == 19)
				continue;
			m = m * 10 + (uint64_t)(*p - '0');
			nd += m != 0;
			exp10--;
		}
	}
	if (p < e) {
		p++;
		if (*p == '+' || *p == '-')
			xneg = *p++ == '-';
		for (; p < e; p++)
			if (x < 100000)
				x = x * 10 + (*p - '0');
		exp10 += xneg ? -x : x;
	}
	if (m == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '-')
		return -1;
	if (unit == CFG_TS_AUTO) {
		double mag = json_number(cfg, s, n);

		unit = mag < 1e11 ? CFG_TS_S : mag < 1e14 ? CFG_TS_MS :
		       mag < 1e17 ? CFG_TS_US : CFG_TS_NS;
	}
	exp10 += unit == CFG_TS_S ? 9 : unit == CFG_TS_MS ? 6 : unit == CFG_TS_US ? 3 : 0;
	if (exp10 < -20) {
		*ns = 0;
		return 0;
	}
	for (; exp10 < 0; exp10++)
		m /= 10;
	for (; exp10 > 0; exp10--) {
		if (m > (uint64_t)INT64_MAX / 10)
			return -1;
		m *= 10;
	}
	if (m > (uint64_t)INT64_MAX)
		return -1;
	*ns = (int64_t)m;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (valid y/m/d). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	/* count years from March so that the leap day is the last day */
	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	/* 719468 = days from 0000-03-01 to 1970-01-01 */
	return era * 146097 + doe - 719468;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
digits(const uint8_t *p, unsigned int n)
{
	int v = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* RFC 3339 date-time (see the file comment for the leniencies). */
static int
rfc3339_parse(const uint8_t *s, size_t n, int64_t *ns)
{
	static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, secs;
	size_t i = 19, nd = 0;

	if (n < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 60)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -1;
	if (i < n && s[i] == '.') {
		for (i++; i < n && is_digit(s[i]); i++, nd++)
			if (nd < 9)
				frac = frac * 10 + (s[i] - '0');
		if (nd == 0)
			return -1;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '-' ? -1 : 1;
		if (n - i < 6 || s[i + 3] != ':')
			return -1;
		oh = digits(s + i + 1, 2);
		om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		i += 6;
	}
	if (i != n)
		return -1;
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	if (secs < 0 || secs > (INT64_MAX - frac) / 1000000000)
		return -1;
	*ns = secs * 1000000000 + frac;
	return 0;
}

enum { VT_STRING, VT_NUMBER, VT_OTHER };

/* Event time of a "ts"/"timestamp" value; -1 when it is not a valid time. */
static int
ts_value(const struct dp_decode_cfg *cfg, int type, const uint8_t *v, size_t n, int esc,
	 int is_int, int64_t *ns)
{
	uint8_t buf[TS_STR_MAX];
	int64_t i;

	if (type == VT_STRING) {
		if (esc) {
			n = json_unescape(v, n, buf, sizeof(buf));
			if (n > sizeof(buf))
				return -1;
			v = buf;
		}
		return rfc3339_parse(v, n, ns);
	}
	if (type != VT_NUMBER)
		return -1;
	if (is_int) {
		if (number_int64(v, n, &i) != 0)
			return -1;
		return dp_time_from_int(i, cfg->json_ts_unit, ns);
	}
	return ts_from_decimal(cfg, v, n, ns);
}

/*
 * dp_metric_index / dp_id_field_index semantics, inlined with a first-byte
 * check: every key of every record goes through here.
 */
static inline int
name_find(const char (*names)[CFG_NAME_MAX], const uint8_t *lens, unsigned int count,
	  const uint8_t *k, size_t n)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		if (lens[i] == n && (uint8_t)names[i][0] == k[0] && memcmp(names[i], k, n) == 0)
			return (int)i;
	return -1;
}

/* Which roles a top-level key plays: id field priority, time slot, metric. */
static void
key_roles(const struct dp_decode_cfg *cfg, const uint8_t *k, size_t n, int esc, int *id,
	  int *ts, int *m)
{
	uint8_t buf[CFG_NAME_MAX];

	*id = *ts = *m = -1;
	if (esc) {
		n = json_unescape(k, n, buf, sizeof(buf));
		if (n > sizeof(buf))
			return;	/* longer than any configured name */
		k = buf;
	}
	if (n == 0)
		return;	/* configured names are never empty */
	*id = name_find(cfg->id_field, cfg->id_field_len, cfg->n_id_fields, k, n);
	if (n == 2 && memcmp(k, "ts", 2) == 0)
		*ts = 0;
	else if (n == 9 && memcmp(k, "timestamp", 9) == 0)
		*ts = 1;
	*m = name_find(cfg->metric, cfg->metric_len, cfg->n_metrics, k, n);
}

/*
 * Record what a value says for the roles its key plays (last occurrence
 * wins); v/n: the string body or number token, num: its value when
 * already known.
 */
static inline void
role_apply(const struct dp_decode_cfg *cfg, struct json_rec *r, double *values, int id, int ts,
	   int m, int type, const uint8_t *v, size_t n, int esc, int is_int, const double *num)
{
	if (id >= 0) {
		uint32_t bit = 1u << id;

		r->id_seen |= bit;
		r->id_bad &= ~bit;
		r->id_esc &= ~bit;
		if (type != VT_STRING) {
			r->id_bad |= bit;
		} else {
			r->id_s[id] = v;
			r->id_n[id] = n;
			if (esc)
				r->id_esc |= bit;
		}
	}
	if (ts >= 0) {
		r->ts_seen |= 1u << ts;
		r->ts_bad &= ~(1u << ts);
		if (ts_value(cfg, type, v, n, esc, is_int, &r->ts_ns[ts]) != 0)
			r->ts_bad |= 1u << ts;
	}
	if (m >= 0) {
		uint64_t bit = 1ULL << m;

		r->present &= ~bit;
		r->bad &= ~bit;
		if (type == VT_NUMBER) {
			double d = num != NULL ? *num : json_number(cfg, v, n);

			values[m] = d;
			r->present |= bit;
			/* kept present so the record is out_of_range, not no_metrics */
			if (!isfinite(d))
				r->bad |= bit;
		}
	}
}

/* Parse a value whose key plays a role and record what it says. */
static const uint8_t *
role_value(const struct dp_decode_cfg *cfg, const uint8_t *p, const uint8_t *e,
	   struct json_rec *r, double *values, int id, int ts, int m)
{
	const uint8_t *v = p, *q;
	int type, esc = 0, is_int = 0;
	size_t n;

	if (*p == '"') {
		type = VT_STRING;
		v = p + 1;
		q = scan_string(v, e, &esc);
		n = q != NULL ? (size_t)(q - 1 - v) : 0;
	} else if (*p == '-' || is_digit(*p)) {
		type = VT_NUMBER;
		q = scan_number(p, e, &is_int);
		n = q != NULL ? (size_t)(q - p) : 0;
	} else {
		type = VT_OTHER;
		q = skip_value(p, e, JSON_DEPTH_MAX - 1);
		n = 0;
	}
	if (q == NULL)
		return NULL;
	role_apply(cfg, r, values, id, ts, m, type, v, n, esc, is_int, NULL);
	return q;
}

/*
 * Parse one record object; p points at '{'. Fills r. Returns the byte
 * after the closing '}', NULL on any syntax error.
 */
static const uint8_t *
json_record_parse(const struct dp_decode_cfg *cfg, const uint8_t *p, const uint8_t *e,
		  struct json_rec *r, double *values)
{
	r->id_seen = r->id_bad = r->id_esc = 0;
	r->ts_seen = r->ts_bad = 0;
	r->present = r->bad = 0;
	p = skip_ws(p + 1, e);
	if (p < e && *p == '}')
		return p + 1;
	for (;;) {
		const uint8_t *k;
		int kesc = 0, id, ts, m;

		if (p == e || *p != '"')
			return NULL;
		k = p + 1;
		p = scan_string(k, e, &kesc);
		if (p == NULL)
			return NULL;
		key_roles(cfg, k, (size_t)(p - 1 - k), kesc, &id, &ts, &m);
		p = skip_ws(p, e);
		if (p == e || *p != ':')
			return NULL;
		p = skip_ws(p + 1, e);
		if (p == e)
			return NULL;
		if (id < 0 && ts < 0 && m < 0)
			p = skip_value(p, e, JSON_DEPTH_MAX - 1);
		else
			p = role_value(cfg, p, e, r, values, id, ts, m);
		if (p == NULL)
			return NULL;
		p = skip_ws(p, e);
		if (p == e)
			return NULL;
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p = skip_ws(p + 1, e);
	}
}

/* Turn a parsed record into dp_fields and run the common checks. */
static void
json_record_finish(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		   const struct json_rec *r, struct dp_fields *f, struct dp_decode_out *out)
{
	uint8_t idbuf[WR_DEVID_MAX];

	if (r->id_seen != 0) {
		unsigned int i = (unsigned int)__builtin_ctz(r->id_seen);
		uint32_t bit = 1u << i;

		if (r->id_bad & bit) {
			f->id_state = DP_BAD;
		} else if (r->id_esc & bit) {
			/* > WR_DEVID_MAX comes back as WR_DEVID_MAX + 1: bad_device_id */
			f->id_state = DP_PRESENT;
			f->id_len = json_unescape(r->id_s[i], r->id_n[i], idbuf, sizeof(idbuf));
			f->id = idbuf;
		} else {
			f->id_state = DP_PRESENT;
			f->id = r->id_s[i];
			f->id_len = r->id_n[i];
		}
	}
	if (r->ts_seen != 0) {
		unsigned int t = (r->ts_seen & 1) ? 0 : 1;

		if (r->ts_bad & (1u << t)) {
			f->ts_state = DP_BAD;
		} else {
			f->ts_state = DP_PRESENT;
			f->ts_ns = r->ts_ns[t];
		}
	}
	f->present = r->present;
	f->bad_value = r->bad != 0;
	dp_record_finish(cfg, meta, f, out);
}

/*
 * Fast path: the closing quote of a string body at p that holds only
 * printable ASCII (no escape, control or non-ASCII byte), else NULL.
 */
static inline const uint8_t *
fast_string_end(const uint8_t *p, const uint8_t *e)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (e - p >= 8) {
		uint64_t w, x;

		memcpy(&w, p, sizeof(w));
		x = swar_special(w);
		if (x != 0) {
			/* borrows run upwards: the lowest flag is a real hit */
			p += __builtin_ctzll(x) >> 3;
			return *p == '"' ? p : NULL;
		}
		p += 8;
	}
#endif
	for (; p < e; p++)
		if (str_class[*p] != SC_PLAIN)
			return *p == '"' ? p : NULL;
	return NULL;
}

#define SWAR_ZEROS	0x3030303030303030ULL

/* 1 when all 8 bytes of w are ASCII digits. */
static inline int
swar_8digits(uint64_t w)
{
	return ((w & 0xf0f0f0f0f0f0f0f0ULL) |
		(((w + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) ==
	       0x3333333333333333ULL;
}

/* Value of 8 ASCII digits, the first in the lowest byte. */
static inline uint64_t
swar_8digits_value(uint64_t w)
{
	w -= SWAR_ZEROS;
	/* each byte pair -> 2-digit value, pairs -> 4 digits, then 8 */
	w = w * 10 + (w >> 8);
	w = ((w & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32)) +
	     ((w >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32))) >> 32;
	return w & 0xffffffffULL;
}

/* Digits from p: accumulated into *m (wrapping past 19, counted in *nd). */
static inline const uint8_t *
fast_digits(const uint8_t *p, const uint8_t *e, uint64_t *m, unsigned int *nd)
{
	uint64_t acc = *m;
	unsigned int k = *nd;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (e - p >= 8) {
		uint64_t w;

		memcpy(&w, p, sizeof(w));
		if (!swar_8digits(w))
			break;
		acc = acc * 100000000 + swar_8digits_value(w);
		k += 8;
		p += 8;
	}
#endif
	for (; p < e && is_digit(*p); p++, k++)
		acc = acc * 10 + (uint64_t)(*p - '0');
	*m = acc;
	*nd = k;
	return p;
}

/*
 * Fast path number: the JSON grammar of scan_number (NULL where it would
 * fail) and, in the same pass, the value when want is set and the token
 * has at most 19 digits (else through dp_decimal_parse).
 */
static inline const uint8_t *
fast_number(const uint8_t *p, const uint8_t *e, int *is_int, int want, double *d)
{
	const uint8_t *s = p, *f;
	uint64_t m = 0;
	unsigned int nd = 0;
	int64_t exp10 = 0, x = 0;
	int neg = *p == '-', xneg = 0;

	*is_int = 1;
	p += neg;
	if (p == e)
		return NULL;
	if (*p == '0') {
		p++;
		nd = 1;
	} else if (is_digit(*p)) {
		p = fast_digits(p, e, &m, &nd);
	} else {
		return NULL;
	}
	if (p < e && *p == '.') {
		*is_int = 0;
		f = ++p;
		p = fast_digits(p, e, &m, &nd);
		if (p == f)
			return NULL;
		exp10 = -(int64_t)(p - f);
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		*is_int = 0;
		if (++p < e && (*p == '+' || *p == '-'))
			xneg = *p++ == '-';
		f = p;
		for (; p < e && is_digit(*p); p++)
			if (x < 1000000000)
				x = x * 10 + (*p - '0');
		if (p == f)
			return NULL;
		exp10 += xneg ? -x : x;
	}
	/* a digit right after the leading "0" of "0123": the plain path's bad_json */
	if (p < e && is_digit(*p))
		return NULL;
	if (want && (nd > 19 || dp_decimal_exact(m, exp10, neg, d) != 0))
		dp_decimal_parse(s, (size_t)(p - s), d);
	return p;
}

/*
 * Fast path for the common record layout: one object filling the line, no
 * whitespace between its members, keys and string values of printable
 * ASCII without escapes; keys found through cfg->keys. Numbers are parsed
 * in one pass, literals and nested values go through skip_value. p points
 * at '{'. Returns 0 before anything is counted as soon as it meets anything
 * else (whitespace, escapes, non-ASCII, bad syntax), and the plain parser
 * takes the line.
 */
static int
json_fast_line(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
	       const uint8_t *p, const uint8_t *e, struct dp_decode_out *out)
{
	struct json_rec r;
	struct dp_fields f;

	dp_fields_init(&f, out);
	r.id_seen = r.id_bad = r.id_esc = 0;
	r.ts_seen = r.ts_bad = 0;
	r.present = r.bad = 0;
	p++;
	for (;;) {
		const uint8_t *k, *v, *q;
		const struct dp_key *key;
		int type, is_int = 0;
		double d = 0;
		size_t kn, n;

		if (p == e || *p != '"')
			return 0;
		k = p + 1;
		q = fast_string_end(k, e);
		if (q == NULL || q == k)
			return 0;
		kn = (size_t)(q - k);
		p = q + 1;
		if (e - p < 2 || *p != ':')
			return 0;
		p++;
		key = kn < CFG_NAME_MAX ? dp_key_find(&cfg->keys, k, kn) : NULL;
		if (*p == '"') {
			v = p + 1;
			q = fast_string_end(v, e);
			if (q == NULL)
				return 0;
			type = VT_STRING;
			n = (size_t)(q - v);
			p = q + 1;
		} else if (*p == '-' || is_digit(*p)) {
			v = p;
			p = fast_number(p, e, &is_int, key != NULL && key->metric >= 0, &d);
			if (p == NULL)
				return 0;
			type = VT_NUMBER;
			n = (size_t)(p - v);
		} else if (*p == '{' || *p == '[' || *p == 't' || *p == 'f' || *p == 'n') {
			/* literals and containers: the plain validator */
			v = p;
			p = skip_value(p, e, JSON_DEPTH_MAX - 1);
			if (p == NULL)
				return 0;
			type = VT_OTHER;
			n = 0;
		} else {
			return 0;	/* whitespace, or not JSON */
		}
		if (key != NULL)
			role_apply(cfg, &r, f.values, key->id, key->ts, key->metric, type, v, n, 0,
				   is_int, &d);
		if (p == e)
			return 0;
		if (*p == '}')
			break;
		if (*p != ',')
			return 0;
		p++;
	}
	if (skip_ws(p + 1, e) != e)
		return 0;
	json_record_finish(cfg, meta, &r, &f, out);
	return 1;
}

/* One non-blank line [p, e) of a newline-delimited payload. */
static void
json_line(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta, const uint8_t *p,
	  const uint8_t *e, struct dp_decode_out *out)
{
	struct json_rec r;
	struct dp_fields f;

	if (*p != '{') {
		dp_record_reject(out, WR_REASON_BAD_JSON);
		return;
	}
	if (dp_keys_ready(cfg) && json_fast_line(cfg, meta, p, e, out))
		return;
	dp_fields_init(&f, out);
	p = json_record_parse(cfg, p, e, &r, f.values);
	if (p == NULL || skip_ws(p, e) != e) {
		dp_record_reject(out, WR_REASON_BAD_JSON);
		return;
	}
	json_record_finish(cfg, meta, &r, &f, out);
}

/*
 * A payload that starts with '[': validate it whole first, so a broken
 * array is one bad_json record and emits nothing, then decode elements.
 */
static void
json_array(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta, const uint8_t *p,
	   const uint8_t *e, struct dp_decode_out *out)
{
	const uint8_t *q = skip_value(p, e, JSON_DEPTH_MAX + 1);

	if (q == NULL || skip_ws(q, e) != e) {
		dp_record_reject(out, WR_REASON_BAD_JSON);
		return;
	}
	p = skip_ws(p + 1, e);
	if (*p == ']') {
		dp_record_reject(out, WR_REASON_BAD_JSON);
		return;
	}
	for (;;) {
		if (*p == '{') {
			struct json_rec r;
			struct dp_fields f;

			dp_fields_init(&f, out);
			q = json_record_parse(cfg, p, e, &r, f.values);
			if (q != NULL)
				json_record_finish(cfg, meta, &r, &f, out);
		} else {
			q = skip_value(p, e, JSON_DEPTH_MAX);
			dp_record_reject(out, WR_REASON_BAD_JSON);
		}
		/* validated above: only a decoder bug could stop here */
		if (q == NULL)
			return;
		p = skip_ws(q, e);
		if (p == e || *p != ',')
			return;
		p = skip_ws(p + 1, e);
	}
}

void
dp_decode_json(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
	       const uint8_t *p, size_t n, struct dp_decode_out *out)
{
	const uint8_t *e = p + n, *q = skip_ws(p, e);
	uint64_t before = out->records;

	if (q < e && *q == '[') {
		json_array(cfg, meta, q, e, out);
		return;
	}
	while (p < e) {
		const uint8_t *le = memchr(p, '\n', (size_t)(e - p));

		if (le == NULL)
			le = e;
		q = p;
		while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < le)
			json_line(cfg, meta, q, le, out);
		if (le == e)
			break;
		p = le + 1;
	}
	/* all blank: like an empty payload, one rejected record */
	if (out->records == before)
		dp_record_reject(out, WR_REASON_BAD_JSON);
}
