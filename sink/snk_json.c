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

#include "snk.h"

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

/* JSON string body: ids are valid UTF-8, so only quote, backslash and C0 need escapes. */
static void
jw_escaped(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		jw_raw(w, s + run, i - run);
		run = i + 1;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			jw_raw(w, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			jw_raw(w, esc, 6);
		}
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

static void
jw_double(struct jw *w, double v)
{
	char tmp[32];
	size_t n = snk_json_double(tmp, sizeof(tmp), v);

	if (n == 0)
		w->full = true;
	else
		jw_raw(w, tmp, n);
}

size_t
snk_json_double(char *buf, size_t cap, double v)
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
