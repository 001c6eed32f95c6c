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
