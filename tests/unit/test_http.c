/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of control/ctl_http.c: the request parser (must-parse and
 * must-not-parse tables), the escapers, the /metrics and /stats.json
 * renderers on a synthetic sample (format checked line by line, JSON
 * checked by a small validator), and the listener over real loopback
 * sockets: every route, bad method, bad path, garbage, oversize head,
 * slow client within the deadline, stalled client, silent client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_http_priv.h"

#define HIGHEST	UINT64_C(3600000000000)

/* ---- parser tables ---- */

struct parse_case {
	const char *req;
	int status;
	enum ctl_http_route route;
	int head;
};

static const struct parse_case must_parse[] = {
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, CTL_HTTP_ROUTE_PAGE, 0 },
	{ "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 0, CTL_HTTP_ROUTE_PAGE, 0 },
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 0,
	  CTL_HTTP_ROUTE_METRICS, 0 },
	{ "GET /stats.json?x=1 HTTP/1.1\r\nhost: a\r\n\r\n", 0, CTL_HTTP_ROUTE_STATS, 0 },
	{ "GET /metrics HTTP/1.0\r\n\r\n", 0, CTL_HTTP_ROUTE_METRICS, 0 },
	{ "GET /metrics HTTP/1.0\n\n", 0, CTL_HTTP_ROUTE_METRICS, 0 },
	{ "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, CTL_HTTP_ROUTE_PAGE, 0 },
	{ "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, CTL_HTTP_ROUTE_METRICS, 1 },
	{ "GET http://h:9/metrics HTTP/1.1\r\nHost: h:9\r\n\r\n", 0, CTL_HTTP_ROUTE_METRICS, 0 },
	{ "GET http://h:9 HTTP/1.1\r\nHost: h:9\r\n\r\n", 0, CTL_HTTP_ROUTE_PAGE, 0 },
	{ "GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n", 0, CTL_HTTP_ROUTE_PAGE, 0 },
};

static const struct parse_case must_not_parse[] = {
	{ "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, 0, 0 },
	{ "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, 0, 0 },
	{ "get / HTTP/1.1\r\nHost: x\r\n\r\n", 405, 0, 0 },
	{ "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, 0, 0 },
	{ "GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", 404, 0, 0 },
	{ "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404, 0, 0 },
	{ "GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, 0, 0 },
	{ "GET / HTTP/1.1\r\n\r\n", 400, 0, 0 },		/* HTTP/1.1 without Host */
	{ "GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, 0, 0 },
	{ "hello\r\n\r\n", 400, 0, 0 },
	{ "\r\n\r\n", 400, 0, 0 },
};

static void
test_parse_tables(void **state)
{
	struct ctl_http_req r;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(must_parse) / sizeof(must_parse[0]); i++) {
		const struct parse_case *c = &must_parse[i];

		assert_int_equal(ctl_http_parse(c->req, strlen(c->req), &r), 0);
		if (r.status != 0 || r.route != c->route || r.head != c->head)
			fail_msg("must parse #%u: status %d route %d head %d", i, r.status,
				 r.route, r.head);
	}
	for (i = 0; i < sizeof(must_not_parse) / sizeof(must_not_parse[0]); i++) {
		const struct parse_case *c = &must_not_parse[i];

		assert_int_equal(ctl_http_parse(c->req, strlen(c->req), &r), 0);
		if (r.status != c->status)
			fail_msg("must not parse #%u: status %d, want %d", i, r.status, c->status);
	}
}

static void
test_parse_incomplete_nul_oversize(void **state)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: \0x\r\n\r\n";
	static char big[CTL_HTTP_REQ_MAX];
	const char *full = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct ctl_http_req r;
	size_t i;

	(void)state;
	/* every strict prefix is incomplete, never an error */
	for (i = 0; i < strlen(full); i++)
		assert_int_equal(ctl_http_parse(full, i, &r), 1);
	assert_int_equal(ctl_http_parse(nul, sizeof(nul) - 1, &r), 0);
	assert_int_equal(r.status, 400);
	memset(big, 'A', sizeof(big));
	assert_int_equal(ctl_http_parse(big, sizeof(big) - 1, &r), 1);
	assert_int_equal(ctl_http_parse(big, sizeof(big), &r), 0);
	assert_int_equal(r.status, 431);
}

/* ---- escapers ---- */

static void
test_escapes(void **state)
{
	struct ctl_http_buf b = { 0 };

	(void)state;
	ctl_http_buf_label(&b, "a\"b\\c\nd");
	assert_string_equal(b.p, "a\\\"b\\\\c\\nd");
	b.len = 0;
	ctl_http_buf_help(&b, "say \"x\"\\\n");
	assert_string_equal(b.p, "say \"x\"\\\\\\n");
	b.len = 0;
	ctl_http_buf_json_str(&b, "q\"b\\\x01\t\x7f\xc3\xa9");
	assert_string_equal(b.p, "\"q\\\"b\\\\\\u0001\\u0009\\u007f\xc3\xa9\"");
	b.len = 0;
	ctl_http_buf_json_num(&b, 0.0 / 0.0);
	ctl_http_buf_printf(&b, ",");
	ctl_http_buf_json_num(&b, 1.0 / 0.0);
	ctl_http_buf_printf(&b, ",");
	ctl_http_buf_json_num(&b, 2.5);
	assert_string_equal(b.p, "null,null,2.5");
	assert_int_equal(b.failed, 0);
	ctl_http_buf_free(&b);
	assert_null(b.p);
}

static void
test_buf_limit(void **state)
{
	struct ctl_http_buf b = { 0 };
	static char chunk[1 << 20];
	unsigned int i;

	(void)state;
	memset(chunk, 'x', sizeof(chunk) - 1);
	for (i = 0; i < (CTL_HTTP_OUT_MAX >> 20) + 2; i++)
		ctl_http_buf_printf(&b, "%s", chunk);
	assert_int_equal(b.failed, 1);
	assert_true(b.len < CTL_HTTP_OUT_MAX);
	ctl_http_buf_free(&b);
}

/* ---- a synthetic sample ---- */

static struct ctl_pipeline pl;
static struct ctl_stats st;
static struct ctl_history hist;
static struct hdr *lat0, *lat1, *ack;

static void
make_sample(void)
{
	unsigned int i, r;

	memset(&st, 0, sizeof(st));
	snprintf(pl.bootstrap, sizeof(pl.bootstrap), "127.0.0.1:9092");
	pl.config_file = "weir \"test\".conf";
	lat0 = hdr_create(HIGHEST, 3);
	lat1 = hdr_create(HIGHEST, 3);
	ack = hdr_create(HIGHEST, 3);
	assert_non_null(lat0);
	assert_non_null(lat1);
	assert_non_null(ack);
	hdr_record_n(lat0, 1000, 100);
	hdr_record_n(lat1, 1000, 100);
	hdr_record(lat1, 5000000);
	hdr_record_n(ack, 2000000, 10);

	st.uptime_s = 12.5;
	st.interval_s = 1.0;
	st.n_lcores = 2;
	snprintf(st.lc[0].role, sizeof(st.lc[0].role), "rx");
	st.lc[0].lcore_id = 1;
	st.lc[0].ctr.v[WR_CTR_PKT_RX] = 1000;
	st.lc[0].ctr.v[WR_CTR_PKT_IGNORED] = 10;
	st.lc[0].ctr.v[WR_CTR_PKT_MALFORMED] = 5;
	st.lc[0].ctr.v[WR_CTR_DATAGRAMS] = 985;
	st.lc[0].ctr.v[WR_CTR_REC_ROUTED] = 900;
	st.lc[0].ctr.v[WR_CTR_REC_LATE] = 7;
	st.lc[0].ctr.v[WR_CTR_DROP_RING_FULL] = 3;
	st.lc[0].ctr.v[WR_CTR_POLLS_BUSY] = 42;
	for (r = 0; r < WR_REASON_COUNT; r++)
		st.lc[0].ctr.rejected[r] = r + 1;
	st.lc[0].pkts_per_s = 100.5;
	st.lc[0].recs_per_s = 90;
	st.lc[0].busy_pct = 25;
	st.lc[0].ring_used = 3;
	st.lc[0].ring_size = 1023;
	snprintf(st.lc[1].role, sizeof(st.lc[1].role), "agg0");
	st.lc[1].lcore_id = 2;
	st.lc[1].ctr.v[WR_CTR_REC_FOLDED] = 897;
	st.lc[1].ctr.v[WR_CTR_DROP_REFUSED] = 0;
	st.lc[1].busy_pct = 50;
	st.lc[1].ring_used = 7;
	st.lc[1].ring_size = 4095;
	st.lc[1].out_used = 1;
	st.lc[1].out_size = 511;
	st.lc[1].devices = 40;
	st.lc[0].lat = lat0;
	st.lc[1].lat = lat1;
	for (i = 0; i < st.n_lcores; i++)
		wr_counters_add(&st.sum, &st.lc[i].ctr);
	st.pkts_per_s = 100.5;
	st.recs_per_s = 90;
	st.kafka_emitted = 55;
	st.kafka_delivered = 50;
	st.kafka_failed = 2;
	st.kafka_retries = 1;
	st.kafka_outq = 3;
	st.devices = 40;
	st.watermark_ns = 1732233600000000000LL;
	st.wall_ns = 1732233605000000000LL;
	st.close_to_ack = ack;

	/* a wrapped history: 310 points written into 300 slots, lcores 1 then 2 */
	memset(&hist, 0, sizeof(hist));
	for (i = 0; i < 310; i++) {
		struct ctl_point *p = &hist.p[hist.head];

		memset(p, 0, sizeof(*p));
		p->wall_ms = 1732233000000LL + i * 1000;
		p->pkts_per_s = i;
		p->recs_per_s = i / 2.0;
		p->accepted = i * 10;
		p->rejected_by_reason[0] = i;
		p->n_lcores = i < 305 ? 1 : 2;
		snprintf(p->role[0], sizeof(p->role[0]), "rx");
		snprintf(p->role[1], sizeof(p->role[1]), "agg0");
		p->busy_pct[0] = 10;
		p->busy_pct[1] = 20;
		hist.head = (hist.head + 1) % CTL_HISTORY;
		if (hist.n < CTL_HISTORY)
			hist.n++;
	}
}

static void
free_sample(void)
{
	hdr_destroy(lat0);
	hdr_destroy(lat1);
	hdr_destroy(ack);
}

/* ---- a tiny JSON validator (RFC 8259 grammar, no semantics) ---- */

static const char *json_value(const char *p, int depth);

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				int k;

				for (k = 1; k <= 4; k++)
					if (strchr("0123456789abcdefABCDEF", p[k]) == NULL ||
					    p[k] == '\0')
						return NULL;
				p += 4;
			} else if (*p == '\0' || strchr("\"\\/bfnrt", *p) == NULL) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *
json_number(const char *p)
{
	const char *s = p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p > s ? p : NULL;
}

static const char *
json_value(const char *p, int depth)
{
	char close;

	if (depth > 32)
		return NULL;
	p = json_ws(p);
	if (*p == '"')
		return json_string(p);
	if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	if (*p != '{' && *p != '[')
		return json_number(p);
	close = *p == '{' ? '}' : ']';
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = json_string(json_ws(p));
			if (p == NULL)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (p == NULL)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static void
assert_json(const char *s)
{
	const char *end = json_value(s, 0);

	if (end == NULL || *json_ws(end) != '\0')
		fail_msg("invalid JSON near offset %td", end ? end - s : (ptrdiff_t)-1);
}

static void
test_json_validator(void **state)
{
	(void)state;
	assert_non_null(json_value("{\"a\":[1,-2.5e3,null,\"x\\u00e9\"],\"b\":{}}", 0));
	assert_null(json_value("{\"a\":[1,]}", 0));
	assert_null(json_value("{\"a\":nan}", 0));
	assert_null(json_value("[01]", 0));
}

/* ---- /metrics ---- */

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n'))
			return true;
		p++;
	}
	return false;
}

/*
 * The exposition format, line by line: HELP then TYPE once per family,
 * samples only under their family's TYPE, a name, optional labels, a value.
 */
static void
check_exposition(char *text)
{
	char fam[128] = "", seen[256][128], *line, *save = NULL;
	unsigned int n_seen = 0, i;
	bool help_before = false;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32], *sp;

		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", name), 1);
			help_before = true;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s %31s", name, type), 2);
			assert_true(help_before);
			help_before = false;
			for (i = 0; i < n_seen; i++)
				if (strcmp(seen[i], name) == 0)
					fail_msg("TYPE %s twice", name);
			assert_true(n_seen < 256);
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
			snprintf(fam, sizeof(fam), "%s", name);
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
			if (strcmp(type, "counter") == 0 && strlen(name) > 6)
				assert_string_equal(name + strlen(name) - 6, "_total");
			continue;
		}
		assert_true(line[0] != '#');
		if (strncmp(line, fam, strlen(fam)) != 0 ||
		    (line[strlen(fam)] != '{' && line[strlen(fam)] != ' '))
			fail_msg("sample outside its family %s: %s", fam, line);
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		if (strcmp(sp + 1, "NaN") != 0) {
			char *end;

			strtod(sp + 1, &end);
			if (*end != '\0' || end == sp + 1)
				fail_msg("bad value: %s", line);
		}
		if (line[strlen(fam)] == '{')
			assert_true(sp[-1] == '}');
	}
	assert_true(n_seen > 20);
}

static void
test_render_metrics(void **state)
{
	struct ctl_http *h = ctl_http_open("127.0.0.1:0", (char[128]){ 0 }, 128);
	struct ctl_http_buf b = { 0 };
	char line[256];
	unsigned int i;

	(void)state;
	assert_non_null(h);
	make_sample();
	ctl_http_render_metrics(h, &b, &pl, &st);
	assert_int_equal(b.failed, 0);
	assert_true(has_line(b.p, "weir_packets_total{outcome=\"rx\"} 1000"));
	assert_true(has_line(b.p, "weir_packets_total{outcome=\"ignored\"} 10"));
	assert_true(has_line(b.p, "weir_packets_total{outcome=\"malformed\"} 5"));
	assert_true(has_line(b.p, "weir_datagrams_total 985"));
	assert_true(has_line(b.p, "weir_records_total{outcome=\"accepted\"} 897"));
	assert_true(has_line(b.p, "weir_records_total{outcome=\"late\"} 7"));
	assert_true(has_line(b.p, "weir_records_total{outcome=\"rejected\"} 66"));
	assert_true(has_line(b.p, "weir_records_total{outcome=\"dropped\"} 3"));
	for (i = 0; i < WR_REASON_COUNT; i++) {
		snprintf(line, sizeof(line), "weir_records_rejected_total{reason=\"%s\"} %u",
			 wr_reason_name((int)i), i + 1);
		assert_true(has_line(b.p, line));
	}
	assert_true(has_line(b.p, "weir_records_dropped_total{reason=\"ring_full\"} 3"));
	assert_true(has_line(b.p, "weir_records_dropped_total{reason=\"refused\"} 0"));
	assert_true(has_line(b.p, "weir_windows_emitted_total 55"));
	assert_true(has_line(b.p, "weir_kafka_messages_total{result=\"delivered\"} 50"));
	assert_true(has_line(b.p, "weir_kafka_messages_total{result=\"failed\"} 2"));
	assert_true(has_line(b.p, "weir_kafka_queue_messages 3"));
	assert_true(has_line(b.p, "weir_lcore_busy_ratio{lcore=\"2\",role=\"agg0\"} 0.5"));
	assert_true(has_line(b.p, "weir_lcore_packets_per_second{lcore=\"1\",role=\"rx\"} 100.5"));
	assert_true(has_line(b.p, "weir_ring_entries{lcore=\"2\",role=\"agg0\",ring=\"input\"} 7"));
	assert_true(has_line(b.p,
			     "weir_ring_capacity{lcore=\"2\",role=\"agg0\",ring=\"output\"} 511"));
	assert_true(strstr(b.p, "weir_ring_entries{lcore=\"1\",role=\"rx\",ring=\"output\"}") ==
		    NULL);	/* no such ring */
	assert_true(has_line(b.p, "weir_devices_open{lcore=\"2\",role=\"agg0\"} 40"));
	assert_true(has_line(b.p, "weir_watermark_seconds 1732233600"));
	assert_true(has_line(b.p, "weir_watermark_lag_seconds 5"));
	/* the per-lcore counters carry the X-macro's names and help */
	assert_true(has_line(b.p, "weir_records_folded_total{lcore=\"2\",role=\"agg0\"} 897"));
	assert_true(has_line(b.p, "weir_polls_busy_total{lcore=\"1\",role=\"rx\"} 42"));
	snprintf(line, sizeof(line), "# HELP weir_records_folded_total %s",
		 wr_counter_help(WR_CTR_REC_FOLDED));
	assert_true(has_line(b.p, line));
	assert_null(strstr(b.p, "weir_datagrams_total{"));
	/* merged latency: 200 values of 1 us and one of 5 ms */
	assert_true(has_line(b.p, "weir_rx_to_agg_latency_seconds{quantile=\"0.5\"} 1e-06"));
	assert_true(has_line(b.p, "weir_rx_to_agg_latency_observations_total 201"));
	assert_true(has_line(b.p, "weir_rx_to_agg_latency_max_seconds 0.005"));
	assert_true(has_line(b.p, "weir_close_to_ack_latency_seconds{quantile=\"0.99\"} 0.002"));
	assert_true(has_line(b.p, "weir_close_to_ack_latency_observations_total 10"));
	check_exposition(b.p);

	/* before the first record: no watermark sample, the family still declared */
	b.len = 0;
	st.watermark_ns = INT64_MIN;
	st.close_to_ack = NULL;
	ctl_http_render_metrics(h, &b, &pl, &st);
	assert_null(strstr(b.p, "\nweir_watermark_seconds "));
	assert_non_null(strstr(b.p, "# TYPE weir_watermark_seconds gauge"));
	assert_null(strstr(b.p, "\nweir_close_to_ack_latency_observations_total "));
	check_exposition(b.p);
	ctl_http_buf_free(&b);
	ctl_http_close(h);
	free_sample();
}

static void
test_render_stats(void **state)
{
	struct ctl_http *h = ctl_http_open("127.0.0.1:0", (char[128]){ 0 }, 128);
	struct ctl_http_buf b = { 0 };
	char want[128];

	(void)state;
	assert_non_null(h);
	make_sample();
	ctl_http_render_stats(h, &b, &pl, &st, &hist);
	assert_int_equal(b.failed, 0);
	assert_json(b.p);
	assert_non_null(strstr(b.p, "\"broker\":\"127.0.0.1:9092\""));
	assert_non_null(strstr(b.p, "\"config\":\"weir \\\"test\\\".conf\""));
	assert_non_null(strstr(b.p, "\"packets\":{\"rx\":1000,\"ignored\":10,\"malformed\":5}"));
	assert_non_null(strstr(b.p, "\"kafka\":{\"emitted\":55,\"delivered\":50,\"failed\":2,"));
	assert_non_null(strstr(b.p, "\"rx_to_agg\":{\"count\":201,\"p50\":1000,"));
	assert_non_null(strstr(b.p, "\"p999\":"));
	assert_non_null(strstr(b.p, "\"dropped_by_reason\":{\"ring_full\":3,"));
	/* oldest kept point is #10 (310 written into 300 slots), newest #309 */
	snprintf(want, sizeof(want), "\"t\":[%lld,", 1732233000000LL + 10 * 1000);
	assert_non_null(strstr(b.p, want));
	assert_non_null(strstr(b.p, ",309],\"rps\":["));
	/* lcore columns follow the newest point; older points without agg0 are null */
	assert_non_null(strstr(b.p, "{\"role\":\"agg0\",\"busy_pct\":[null,"));
	assert_non_null(strstr(b.p, "null,20,20,20,20,20]"));

	/* empty history, no histograms, no pipeline */
	b.len = 0;
	ctl_http_render_stats(NULL, &b, NULL, &st, NULL);
	assert_json(b.p);
	assert_non_null(strstr(b.p, "\"history\":{\"t\":[],"));
	assert_non_null(strstr(b.p, "\"config\":null"));
	ctl_http_buf_free(&b);
	ctl_http_close(h);
	free_sample();
}

/* ---- over sockets ---- */

struct client {
	uint16_t port;
	const char *chunks[4];
	size_t first_len;	/* length of chunks[0] if it holds NULs/isn't a string */
	int gap_ms;
	int hold_ms;		/* then wait this long before reading */
	int shut_wr;		/* half-close after sending */
	char resp[1 << 21];
	size_t resp_len;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
	unsigned int i;
	ssize_t n;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return NULL;
	for (i = 0; i < 4 && c->chunks[i] != NULL; i++) {
		size_t len = i == 0 && c->first_len ? c->first_len : strlen(c->chunks[i]);

		if (i > 0)
			sleep_ms(c->gap_ms);
		if (send(fd, c->chunks[i], len, MSG_NOSIGNAL) < 0)
			break;
	}
	if (c->shut_wr)
		shutdown(fd, SHUT_WR);
	if (c->hold_ms)
		sleep_ms(c->hold_ms);
	while (c->resp_len < sizeof(c->resp) - 1 &&
	       (n = recv(fd, c->resp + c->resp_len, sizeof(c->resp) - 1 - c->resp_len, 0)) > 0)
		c->resp_len += (size_t)n;
	c->resp[c->resp_len] = '\0';
	close(fd);
	return NULL;
}

static uint16_t
bound_port(const struct ctl_http *h)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	assert_int_equal(getsockname(ctl_http_fd(h), (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

/* Run one client against one ctl_http_serve call, as the control loop would. */
static double
exchange(struct ctl_http *h, struct client *c, const struct ctl_stats *s)
{
	struct pollfd pfd = { .fd = ctl_http_fd(h), .events = POLLIN };
	pthread_t t;
	double t0;

	c->port = bound_port(h);
	c->resp_len = 0;
	assert_int_equal(pthread_create(&t, NULL, client_main, c), 0);
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	t0 = mono_s();
	ctl_http_serve(h, &pl, s, &hist);
	t0 = mono_s() - t0;
	pthread_join(t, NULL);
	return t0;
}

/* Check the status line and framing; @return the body. */
static const char *
check_response(const struct client *c, int status, const char *type)
{
	const char *body = strstr(c->resp, "\r\n\r\n"), *cl;
	char want[64];
	unsigned long len;

	if (body == NULL)
		fail_msg("no response head: '%.80s'", c->resp);
	snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
	if (strncmp(c->resp, want, strlen(want)) != 0)
		fail_msg("want %d, got '%.40s'", status, c->resp);
	assert_non_null(strstr(c->resp, "\r\nConnection: close\r\n"));
	if (type != NULL) {
		snprintf(want, sizeof(want), "\r\nContent-Type: %s\r\n", type);
		assert_non_null(strstr(c->resp, want));
	}
	cl = strstr(c->resp, "\r\nContent-Length: ");
	assert_non_null(cl);
	len = strtoul(cl + 18, NULL, 10);
	body += 4;
	assert_int_equal(len, c->resp_len - (size_t)(body - c->resp));
	return body;
}

static struct client cl;

static void
test_serve_routes(void **state)
{
	char err[128];
	struct ctl_http *h = ctl_http_open("127.0.0.1:0", err, sizeof(err));
	const char *body;
	double dt;

	(void)state;
	assert_non_null(h);
	make_sample();
	/* nothing pending: returns at once */
	dt = mono_s();
	ctl_http_serve(h, &pl, &st, &hist);
	assert_true(mono_s() - dt < 0.05);

	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	exchange(h, &cl, &st);
	body = check_response(&cl, 200, "text/plain; version=0.0.4; charset=utf-8");
	assert_true(has_line(body, "weir_records_total{outcome=\"accepted\"} 897"));

	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET /stats.json HTTP/1.1\r\nHost: t\r\n\r\n";
	exchange(h, &cl, &st);
	body = check_response(&cl, 200, "application/json");
	assert_json(body);

	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
	exchange(h, &cl, &st);
	body = check_response(&cl, 200, "text/html; charset=utf-8");
	assert_non_null(strstr(body, "<!DOCTYPE html>"));
	assert_non_null(strstr(body, "id=\"pps\""));
	assert_non_null(strstr(body, "fetch(\"stats.json\""));
	/* self-contained: no external scripts, styles, images or fonts */
	assert_null(strstr(body, "src="));
	assert_null(strstr(body, "href="));
	assert_null(strstr(body, "@import"));
	assert_null(strstr(body, "url("));

	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	exchange(h, &cl, &st);
	assert_true(strncmp(cl.resp, "HTTP/1.1 200 ", 13) == 0);
	assert_true(strstr(cl.resp, "\r\n\r\n")[4] == '\0');
	assert_null(strstr(cl.resp, "\r\nContent-Length: 0\r\n"));

	/* no sample yet */
	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	exchange(h, &cl, NULL);
	check_response(&cl, 503, "text/plain; charset=utf-8");
	assert_non_null(strstr(cl.resp, "\r\nRetry-After: 1\r\n"));
	ctl_http_close(h);
	free_sample();
}

static void
test_serve_errors(void **state)
{
	static const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";
	static char big[CTL_HTTP_REQ_MAX + 2000];
	char err[128];
	struct ctl_http *h = ctl_http_open("127.0.0.1:0", err, sizeof(err));
	double dt;

	(void)state;
	assert_non_null(h);
	make_sample();
	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
	exchange(h, &cl, &st);
	check_response(&cl, 405, NULL);
	assert_non_null(strstr(cl.resp, "\r\nAllow: GET, HEAD\r\n"));

	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET /etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n";
	exchange(h, &cl, &st);
	check_response(&cl, 404, NULL);

	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = tls_hello;	/* binary garbage with NULs */
	cl.first_len = sizeof(tls_hello) - 1;
	exchange(h, &cl, &st);
	check_response(&cl, 400, NULL);

	/* a head that never ends within the bound */
	memset(&cl, 0, sizeof(cl));
	memset(big, 'A', sizeof(big));
	cl.chunks[0] = big;
	cl.first_len = sizeof(big);
	exchange(h, &cl, &st);
	check_response(&cl, 431, NULL);

	/* a slow client that finishes within the deadline is served */
	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET /met";
	cl.chunks[1] = "rics HTTP/1.1\r\nHo";
	cl.chunks[2] = "st: t\r\n\r\n";
	cl.gap_ms = 60;
	exchange(h, &cl, &st);
	check_response(&cl, 200, NULL);

	/* a stalled client gets 408 and holds the control thread well under a second */
	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET / HTTP/1.1\r\n";
	cl.chunks[1] = "Host: t\r\n\r\n";
	cl.gap_ms = 1500;
	dt = exchange(h, &cl, &st);
	check_response(&cl, 408, NULL);
	assert_true(dt < 0.8);

	/* a request cut by the client's close is a 400 */
	memset(&cl, 0, sizeof(cl));
	cl.chunks[0] = "GET / HTTP/1.1\r\n";
	cl.shut_wr = 1;
	dt = exchange(h, &cl, &st);
	check_response(&cl, 400, NULL);
	assert_true(dt < 0.1);

	ctl_http_close(h);
	free_sample();
}

/* A client that connects and closes at once costs nothing and gets nothing. */
static void *
silent_main(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*(uint16_t *)arg) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		shutdown(fd, SHUT_WR);
	sleep_ms(300);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void
test_serve_silent_and_eof(void **state)
{
	char err[128];
	struct ctl_http *h = ctl_http_open("127.0.0.1:0", err, sizeof(err));
	struct pollfd pfd;
	uint16_t port;
	pthread_t t;
	double dt;

	(void)state;
	assert_non_null(h);
	port = bound_port(h);
	assert_int_equal(pthread_create(&t, NULL, silent_main, &port), 0);
	pfd = (struct pollfd){ .fd = ctl_http_fd(h), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	sleep_ms(50);
	dt = mono_s();
	ctl_http_serve(h, &pl, &st, &hist);
	assert_true(mono_s() - dt < 0.1);
	pthread_join(t, NULL);
	ctl_http_close(h);
}

static void
test_open(void **state)
{
	char err[256];
	struct ctl_http *h, *h2;
	char addr[64];

	(void)state;
	err[0] = 'x';
	assert_null(ctl_http_open("", err, sizeof(err)));
	assert_int_equal(err[0], '\0');
	assert_null(ctl_http_open(NULL, err, sizeof(err)));
	assert_int_equal(err[0], '\0');
	assert_null(ctl_http_open("9109", err, sizeof(err)));
	assert_non_null(strstr(err, "host:port"));
	assert_null(ctl_http_open("127.0.0.1:http", err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_null(ctl_http_open("127.0.0.1:70000", err, sizeof(err)));
	assert_null(ctl_http_open("[::1:80", err, sizeof(err)));
	assert_null(ctl_http_open("no.such.host.invalid:80", err, sizeof(err)));
	assert_true(err[0] != '\0');
	h = ctl_http_open("localhost:0", err, sizeof(err));
	assert_non_null(h);
	assert_true(ctl_http_fd(h) >= 0);
	/* the same port twice: a clear error, the first listener unharmed */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", bound_port(h));
	h2 = ctl_http_open(addr, err, sizeof(err));
	if (h2 == NULL) {
		assert_non_null(strstr(err, "in use"));
	} else {
		/* localhost resolved to ::1 first: the v4 port was free */
		ctl_http_close(h2);
	}
	ctl_http_close(h);
	ctl_http_close(NULL);
	assert_int_equal(ctl_http_fd(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_tables),
		cmocka_unit_test(test_parse_incomplete_nul_oversize),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_json_validator),
		cmocka_unit_test(test_render_metrics),
		cmocka_unit_test(test_render_stats),
		cmocka_unit_test(test_serve_routes),
		cmocka_unit_test(test_serve_errors),
		cmocka_unit_test(test_serve_silent_and_eof),
		cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
