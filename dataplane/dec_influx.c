/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * InfluxDB line protocol decoder (SPEC §3 item 2). Runs on the RX lcore.
 * One pass per line straight over the payload: names are unescaped only
 * when they hold a backslash (into stack buffers), numbers go through
 * dp_decimal_parse (exact fast path, strtod fallback; cfg->path PLAIN:
 * strtod always). No allocation.
 *
 * Syntax follows the influxdata line-protocol grammar: spaces separate the
 * sections, control characters are not allowed in names, a backslash pairs
 * with the next byte (so "\\" is one backslash and "\," does not end a
 * name) and unescapes only the characters special to that element.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dp_decode.h"

/* Byte classes; a name ends at a byte whose class is in the caller's stop mask. */
enum {
	LP_CTL = 1,	/* 0x00-0x1f, 0x7f: never part of a name */
	LP_COMMA = 2,
	LP_SPACE = 4,
	LP_EQ = 8,
	LP_BSL = 16,
};

static const uint8_t lp_class[256] = {
	[0x00 ... 0x1f] = LP_CTL,
	[0x7f] = LP_CTL,
	[','] = LP_COMMA,
	[' '] = LP_SPACE,
	['='] = LP_EQ,
	['\\'] = LP_BSL,
};

/* Number tokens longer than this are bad_line: no sender writes a 500-digit reading. */
#define LP_NUM_MAX 512

enum lp_value { LP_V_BAD, LP_V_NUM, LP_V_SKIP };

static inline bool
lp_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * Scan a name (measurement, key or tag value) from *pos up to a byte of a
 * class in 'stop'. Sets *esc when a backslash was seen.
 * @return 0, or -1 on a control character.
 */
static inline int
lp_scan_name(const uint8_t *l, size_t len, size_t *pos, unsigned int stop, bool *esc)
{
	size_t i = *pos;

	*esc = false;
	while (i < len) {
		unsigned int cl = lp_class[l[i]];

		if (cl == 0) {
			i++;
			continue;
		}
		if (cl & stop)
			break;
		if (cl & LP_CTL)
			return -1;
		if (cl & LP_BSL) {
			*esc = true;
			/* a backslash ending the line is a literal one */
			if (i + 1 < len) {
				if (lp_class[l[i + 1]] & LP_CTL)
					return -1;
				i++;
			}
		}
		i++;
	}
	*pos = i;
	return 0;
}

/*
 * Unescape a key or tag value: backslash before comma, equals, space or
 * backslash yields that byte; before anything else it is literal. Writes
 * at most cap bytes.
 * @return the full unescaped length (may exceed cap).
 */
static size_t
lp_unescape(const uint8_t *s, size_t n, uint8_t *dst, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == '\\' && i + 1 < n) {
			uint8_t d = s[i + 1];

			if (d == ',' || d == '=' || d == ' ' || d == '\\') {
				c = d;
				i++;
			}
		}
		if (o < cap)
			dst[o] = c;
		o++;
	}
	return o;
}

/* Index of a configured metric or id field (by 'id') for a possibly escaped name. */
static int
lp_name_index(const struct dp_decode_cfg *cfg, const uint8_t *s, size_t n, bool esc, bool id)
{
	uint8_t buf[CFG_NAME_MAX];

	if (esc) {
		n = lp_unescape(s, n, buf, sizeof(buf));
		if (n > sizeof(buf))
			return -1; /* longer than any configured name */
		s = buf;
	}
	if (dp_keys_ready(cfg)) {
		/* one hash probe instead of a scan of every configured name */
		const struct dp_key *k = n > 0 && n < CFG_NAME_MAX ? dp_key_find(&cfg->keys, s, n) :
								      NULL;

		return k == NULL ? -1 : id ? k->id : k->metric;
	}
	return id ? dp_id_field_index(cfg, s, n) : dp_metric_index(cfg, s, n);
}

/* Integer field without its suffix: -?digits (signed) or digits (unsigned). */
static int
lp_integer(const uint8_t *s, size_t n, bool is_unsigned, double *v)
{
	uint64_t acc = 0, limit;
	bool neg = false;
	size_t i = 0;

	if (!is_unsigned && n > 0 && s[0] == '-') {
		neg = true;
		i++;
	}
	if (i == n)
		return -1;
	limit = is_unsigned ? UINT64_MAX : neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		unsigned int d;

		if (!lp_digit(s[i]))
			return -1;
		d = s[i] - '0';
		if (acc > (limit - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*v = neg ? -(double)acc : (double)acc;
	return 0;
}

/*
 * Float field: -?(digits[.digits*]|.digits)([eE][+-]?digits)? -- no
 * leading '+', no nan/inf, no hex -- correctly rounded (overflow: inf,
 * which the range check rejects for a metric). dp_decimal_parse's grammar
 * is exactly this one.
 */
static inline int
lp_float(enum dp_path path, const uint8_t *s, size_t n, double *v)
{
	if (n > LP_NUM_MAX)
		return -1;
	return path == DP_PATH_FAST ? dp_decimal_parse(s, n, v) : dp_decimal_parse_plain(s, n, v);
}

static bool
lp_bool(const uint8_t *s, size_t n)
{
	switch (n) {
	case 1:
		return s[0] == 't' || s[0] == 'T' || s[0] == 'f' || s[0] == 'F';
	case 4:
		return memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 ||
		       memcmp(s, "TRUE", 4) == 0;
	case 5:
		return memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 ||
		       memcmp(s, "FALSE", 5) == 0;
	default:
		return false;
	}
}

/*
 * Fast path: a plain float field (-?digits[.digits], at most 19 digits)
 * ending at ',', ' ' or the line end, scanned and valued in one pass.
 * @return 1 with *pos at the terminator, or 0: take the general path.
 */
static inline int
lp_fast_float(const uint8_t *l, size_t len, size_t *pos, double *v)
{
	size_t j = *pos, f;
	uint64_t m = 0;
	int64_t exp10 = 0;
	int neg = 0;
	unsigned int nd = 0;

	if (j < len && l[j] == '-') {
		neg = 1;
		j++;
	}
	for (; j < len && lp_digit(l[j]); j++, nd++)
		m = m * 10 + (uint64_t)(l[j] - '0');
	if (j < len && l[j] == '.') {
		f = ++j;
		for (; j < len && lp_digit(l[j]); j++, nd++)
			m = m * 10 + (uint64_t)(l[j] - '0');
		exp10 = -(int64_t)(j - f);
	}
	if (nd == 0 || nd > 19 || (j < len && l[j] != ',' && l[j] != ' '))
		return 0;
	if (dp_decimal_exact(m, exp10, neg, v) != 0)
		return 0;
	*pos = j;
	return 1;
}

/* A field value from *pos: a number (into *v), a skipped string/boolean, or bad. */
static enum lp_value
lp_field_value(enum dp_path path, const uint8_t *l, size_t len, size_t *pos, double *v)
{
	size_t i = *pos, start = i;
	uint8_t c, last;
	int rc;

	if (i >= len)
		return LP_V_BAD;
	if (path == DP_PATH_FAST && lp_fast_float(l, len, pos, v))
		return LP_V_NUM;
	if (l[i] == '"') {
		for (i++; i < len; i++) {
			if (l[i] == '\\')
				i++; /* escapes the next byte, whatever it is */
			else if (l[i] == '"')
				break;
		}
		if (i >= len)
			return LP_V_BAD; /* unterminated */
		*pos = i + 1;
		return LP_V_SKIP;
	}
	while (i < len && l[i] != ',' && l[i] != ' ')
		i++;
	*pos = i;
	if (i == start)
		return LP_V_BAD;
	c = l[start];
	if (c == 't' || c == 'T' || c == 'f' || c == 'F')
		return lp_bool(l + start, i - start) ? LP_V_SKIP : LP_V_BAD;
	last = l[i - 1];
	if (last == 'i' || last == 'u')
		rc = lp_integer(l + start, i - 1 - start, last == 'u', v);
	else
		rc = lp_float(path, l + start, i - start, v);
	return rc == 0 ? LP_V_NUM : LP_V_BAD;
}

/* Timestamp token: -?digits. Sets ts_state/ts_ns; @return -1 on bad syntax. */
static int
lp_timestamp(const uint8_t *s, size_t n, enum cfg_ts_unit unit, struct dp_fields *f)
{
	uint64_t acc = 0;
	bool neg = false, over = false;
	size_t i = 0;

	if (n > 0 && s[0] == '-') {
		neg = true;
		i++;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		unsigned int d;

		if (!lp_digit(s[i]))
			return -1;
		d = s[i] - '0';
		if (acc > (UINT64_MAX - d) / 10)
			over = true;
		else
			acc = acc * 10 + d;
	}
	if (over || (neg && acc != 0) || acc > (uint64_t)INT64_MAX ||
	    dp_time_from_int((int64_t)acc, unit, &f->ts_ns) != 0) {
		f->ts_state = DP_BAD;
		return 0;
	}
	f->ts_state = DP_PRESENT;
	return 0;
}

/*
 * Parse one non-blank, non-comment line (no '\n', trailing '\r' removed)
 * into f. @return 0, or -1 on any syntax error.
 */
static int
lp_parse(const struct dp_decode_cfg *cfg, const uint8_t *l, size_t len, size_t i,
	 enum cfg_ts_unit unit, struct dp_fields *f, uint8_t *idbuf)
{
	const uint8_t *id = NULL;
	size_t id_len = 0, start;
	int best = CFG_ID_FIELDS_MAX;
	bool esc, id_esc = false;

	/* measurement: only its syntax matters */
	start = i;
	if (lp_scan_name(l, len, &i, LP_COMMA | LP_SPACE, &esc) != 0 || i == start)
		return -1;

	/* tag set */
	while (i < len && l[i] == ',') {
		size_t ks, ke, vs;
		bool kesc, vesc;
		int idx;

		ks = ++i;
		if (lp_scan_name(l, len, &i, LP_COMMA | LP_SPACE | LP_EQ, &kesc) != 0 ||
		    i == ks || i >= len || l[i] != '=')
			return -1;
		ke = i;
		vs = ++i;
		if (lp_scan_name(l, len, &i, LP_COMMA | LP_SPACE | LP_EQ, &vesc) != 0 ||
		    i == vs || (i < len && l[i] == '='))
			return -1;
		/* once the first id field is found no later tag can beat it */
		if (best == 0)
			continue;
		idx = lp_name_index(cfg, l + ks, ke - ks, kesc, true);
		/* strictly better only: the first tag of a repeated key wins */
		if (idx >= 0 && idx < best) {
			best = idx;
			id = l + vs;
			id_len = i - vs;
			id_esc = vesc;
		}
	}
	if (i >= len || l[i] != ' ')
		return -1; /* no field set */
	while (i < len && l[i] == ' ')
		i++;

	/* field set */
	for (;;) {
		size_t ks = i, ke;
		bool kesc;
		enum lp_value kind;
		double v = 0;
		int idx;

		if (lp_scan_name(l, len, &i, LP_COMMA | LP_SPACE | LP_EQ, &kesc) != 0 ||
		    i == ks || i >= len || l[i] != '=')
			return -1;
		ke = i++;
		kind = lp_field_value(cfg->path, l, len, &i, &v);
		if (kind == LP_V_BAD)
			return -1;
		idx = lp_name_index(cfg, l + ks, ke - ks, kesc, false);
		if (idx >= 0) {
			/* a repeated key: the last value wins, even a non-numeric one */
			if (kind == LP_V_NUM) {
				f->values[idx] = v;
				f->present |= 1ULL << idx;
			} else {
				f->present &= ~(1ULL << idx);
			}
		}
		if (i >= len || l[i] == ' ')
			break;
		if (l[i] != ',')
			return -1; /* e.g. bytes after a closing quote */
		i++;
	}

	/* optional timestamp, optional trailing spaces */
	while (i < len && l[i] == ' ')
		i++;
	if (i < len) {
		start = i;
		while (i < len && l[i] != ' ')
			i++;
		if (lp_timestamp(l + start, i - start, unit, f) != 0)
			return -1;
		while (i < len && l[i] == ' ')
			i++;
		if (i < len)
			return -1;
	}

	if (id != NULL) {
		f->id_state = DP_PRESENT;
		if (id_esc) {
			id_len = lp_unescape(id, id_len, idbuf, WR_DEVID_MAX + 1);
			if (id_len > WR_DEVID_MAX)
				id_len = WR_DEVID_MAX + 1; /* too long: finish rejects it */
			id = idbuf;
		}
		f->id = id;
		f->id_len = id_len;
	}
	return 0;
}

void
dp_decode_influx(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
		 const uint8_t *p, size_t n, struct dp_decode_out *out)
{
	enum cfg_ts_unit unit =
		cfg->influx_precision == CFG_TS_AUTO ? CFG_TS_NS : cfg->influx_precision;
	uint8_t idbuf[WR_DEVID_MAX + 1];
	struct dp_fields f;
	size_t s = 0;

	while (s < n) {
		const uint8_t *nl = memchr(p + s, '\n', n - s);
		size_t e = nl != NULL ? (size_t)(nl - p) : n;
		const uint8_t *l = p + s;
		size_t len = e - s, i = 0;

		s = nl != NULL ? e + 1 : n;
		if (len > 0 && l[len - 1] == '\r')
			len--;
		while (i < len && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i == len || l[i] == '#')
			continue; /* blank line or comment: not a record */
		dp_fields_init(&f, out);
		if (lp_parse(cfg, l, len, i, unit, &f, idbuf) != 0) {
			dp_record_reject(out, WR_REASON_BAD_LINE);
			continue;
		}
		dp_record_finish(cfg, meta, &f, out);
	}
}
