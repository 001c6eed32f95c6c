/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread (weir-ctl): owns the weirctl Unix socket and drives
 * the metrics/status HTTP listener (ctl_http.c) from one poll() loop,
 * samples stats once a second into its history, and answers weirctl
 * requests: one request line in, one line of JSON out, then close.
 *
 * It never touches what an lcore owns: counters and histograms are read
 * (single writer each), tunables are published through the double buffer
 * in pl->tun, flushes through each pl->rx[q].flush_req and `top` through each
 * table owner's agg_top_req. Nothing here runs on a dataplane lcore.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_ring.h>

#include "ctl_priv.h"
#include "ctl_proto.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "0.1.0"
#endif

#define REQ_TIMEOUT_MS	1000		/* a client has this long to send its line */
#define RESP_MAX	(1u << 20)	/* largest answer */
#define ACCEPT_BURST	16		/* clients served per wake-up */
#define WAIT_ACK_S	1.0		/* tunables / top: how long an lcore may take */
#define WAIT_FLUSH_S	2.0
#define SECRET_SHOWN	"(hidden)"	/* what get shows for a password, key, ... */

struct ctl_server {
	struct ctl_pipeline *pl;
	pthread_t thread;
	int efd;			/* eventfd: stop */
	int lfd;			/* weirctl listener, -1 when off */
	int own_path;			/* we bound path: unlink at stop */
	int own_dir;			/* we created the socket's directory */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_http *http;
	struct ctl_stats last;
	struct ctl_history hist;
	struct hdr *scratch;		/* merges, control thread only */
	struct hdr *diff;
	struct hdr *base_lat[RTE_MAX_LCORE];	/* latency --reset baselines */
	struct hdr *base_ack;
	double reset_s;			/* when the baselines were taken (0 = never) */
	struct agg_top_entry *top_buf[RTE_MAX_LCORE];
	int log_type;			/* weir.control, to read the weir.* level back */
	char *out;			/* the answer being built */
	size_t len;
	int trunc;
};

/* --- small helpers ---------------------------------------------------- */

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void __attribute__((format(printf, 2, 3)))
out_printf(struct ctl_server *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->trunc)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->out + s->len, RESP_MAX - s->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= RESP_MAX - s->len) {
		s->trunc = 1;
		return;
	}
	s->len += (size_t)n;
}

/* A JSON string of n bytes; bytes outside printable ASCII become \u00XX. */
static void
out_strn(struct ctl_server *s, const char *p, size_t n)
{
	size_t i;

	out_printf(s, "\"");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '"' || ch == '\\')
			out_printf(s, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			out_printf(s, "\\u%04x", ch);
		else
			out_printf(s, "%c", ch);
	}
	out_printf(s, "\"");
}

static void
out_str(struct ctl_server *s, const char *p)
{
	if (p == NULL)
		out_printf(s, "null");
	else
		out_strn(s, p, strlen(p));
}

static void
out_num(struct ctl_server *s, double v)
{
	if (isfinite(v))
		out_printf(s, "%.3f", v);
	else
		out_printf(s, "null");
}

static void
out_error(struct ctl_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_error(struct ctl_server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->len = 0;
	s->trunc = 0;
	out_printf(s, "{\"ok\":false,\"error\":");
	out_str(s, msg);
	out_printf(s, "}");
}

/* Durations as the config writes them: the largest exact unit. */
static const char *
fmt_dur(int64_t ns, char *buf, size_t len)
{
	static const struct { int64_t ns; const char *u; } units[] = {
		{ 3600000000000LL, "h" }, { 60000000000LL, "m" }, { 1000000000LL, "s" },
		{ 1000000LL, "ms" }, { 1000LL, "us" }, { 1, "ns" },
	};
	size_t i;

	if (ns == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	if (ns > 1000000000LL && ns % 1000000 != 0) {
		/* not a whole ms: exact decimal seconds read better than 9999999999ns */
		int n = snprintf(buf, len, "%" PRId64 ".%09" PRId64, (int64_t)(ns / 1000000000),
				 (int64_t)(ns % 1000000000));

		while (n > 0 && (size_t)n < len && buf[n - 1] == '0')
			buf[--n] = '\0';
		snprintf(buf + n, len - (size_t)n, "s");
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ns % units[i].ns == 0) {
			snprintf(buf, len, "%" PRId64 "%s", ns / units[i].ns, units[i].u);
			break;
		}
	return buf;
}

/* Role of table w's owner: the aggregator lcore, or RX aggregating inline. */
static void
table_role(const struct ctl_pipeline *pl, unsigned int w, char *buf, size_t len)
{
	if (pl->n_workers == 0)
		snprintf(buf, len, "rx");
	else
		snprintf(buf, len, "agg%u", w);
}

static unsigned int
table_lcore(const struct ctl_pipeline *pl, unsigned int w)
{
	return pl->n_workers == 0 ? pl->rx_lcore[0] : pl->agg_lcore[w];
}

/* scratch = h (minus its baseline when one was taken). */
static void
lat_current(struct hdr *dst, const struct hdr *h, const struct hdr *base)
{
	hdr_reset(dst);
	hdr_merge(dst, h);
	if (base != NULL)
		hdr_sub(dst, base);
}

static uint64_t
pct(const struct hdr *h, double p)
{
	uint64_t v = hdr_percentile(h, p);

	return v > hdr_max(h) ? hdr_max(h) : v;
}

static void
out_lat(struct ctl_server *s, const struct hdr *h)
{
	out_printf(s, "{\"count\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
		   ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}",
		   hdr_count(h), pct(h, 50.0), pct(h, 90.0), pct(h, 99.0), pct(h, 99.9),
		   hdr_max(h));
}

/* --- stats sampling and history ------------------------------------- */

static void
history_add(struct ctl_server *s)
{
	struct ctl_pipeline *pl = s->pl;
	const struct ctl_stats *st = &s->last;
	struct ctl_point *p = &s->hist.p[s->hist.head];
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->wall_ms = st->wall_ns / 1000000;
	p->pkts_per_s = st->pkts_per_s;
	p->recs_per_s = st->recs_per_s;
	p->accepted = wr_counters_accepted(&st->sum);
	p->late = st->sum.v[WR_CTR_REC_LATE];
	p->rejected = wr_counters_rejected(&st->sum);
	p->dropped = wr_counters_dropped(&st->sum);
	memcpy(p->rejected_by_reason, st->sum.rejected, sizeof(p->rejected_by_reason));
	p->kafka_delivered = st->kafka_delivered;
	p->kafka_failed = st->kafka_failed;
	p->kafka_outq = st->kafka_outq;
	hdr_reset(s->scratch);
	for (i = 0; i < pl->n_out; i++)
		hdr_merge(s->scratch, pl->lat[i]);
	p->p99_rx_to_agg_ns = pct(s->scratch, 99.0);
	p->p99_close_to_ack_ns = st->close_to_ack != NULL ? pct(st->close_to_ack, 99.0) : 0;
	p->n_lcores = st->n_lcores;
	for (i = 0; i < st->n_lcores && i < CTL_LCORES_MAX; i++) {
		const struct ctl_lcore_stats *l = &st->lc[i];

		memcpy(p->role[i], l->role, sizeof(p->role[i]));
		p->busy_pct[i] = l->busy_pct;
		p->ring_fill_pct[i] = l->ring_size ? 100.0 * l->ring_used / l->ring_size : 0.0;
		p->lcore_pkts_per_s[i] = l->pkts_per_s;
		p->lcore_recs_per_s[i] = l->recs_per_s;
	}
	s->hist.head = (s->hist.head + 1) % CTL_HISTORY;
	if (s->hist.n < CTL_HISTORY)
		s->hist.n++;
}

static void
sample(struct ctl_server *s)
{
	ctl_stats_sample(s->pl, &s->last);
	history_add(s);
}

/* --- commands ---------------------------------------------------------- */

static void win_reap(struct ctl_pipeline *pl);
static void out_win_pending(struct ctl_server *s);

static void
cmd_status(struct ctl_server *s)
{
	struct ctl_pipeline *pl = s->pl;
	const struct weir_config *c = &pl->o->cfg;
	struct rte_eth_dev_info info;
	char a[32], b[32];
	unsigned int i, w;

	out_printf(s, "{\"ok\":true,\"version\":\"%s\",\"pid\":%d,\"uptime_s\":", WEIR_VERSION,
		   (int)getpid());
	out_num(s, mono_s() - pl->start_s);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		out_printf(s, ",\"started_ms\":%" PRId64 ",\"config_file\":",
			   (int64_t)(((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec) / 1000000 -
				     (int64_t)((mono_s() - pl->start_s) * 1e3)));
	}
	out_str(s, pl->config_file);
	out_printf(s, ",\"mode\":\"%s\",\"capture\":", pl->o->replay ? "replay" : "run");
	out_str(s, pl->o->replay ? pl->o->capture : NULL);
	memset(&info, 0, sizeof(info));
	if (pl->port_id < 0 || rte_eth_dev_info_get((uint16_t)pl->port_id, &info) != 0)
		info.driver_name = NULL;
	out_printf(s, ",\"port\":{\"id\":%d,\"driver\":", pl->port_id);
	out_str(s, info.driver_name);
	out_printf(s, ",\"rx_queue\":0,\"rx_queues\":%u,\"udp_ports\":[", pl->n_rx);
	for (i = 0; i < c->n_udp_ports; i++)
		out_printf(s, "%s%u", i ? "," : "", c->udp_ports[i]);
	out_printf(s, "]},\"lcores\":[{\"role\":\"main\",\"lcore\":%u,\"thread\":\"weir\"}",
		   rte_get_main_lcore());
	for (w = 0; w < pl->n_rx; w++) {
		if (pl->n_rx == 1)
			out_printf(s, ",{\"role\":\"rx\",\"lcore\":%u,\"thread\":null}",
				   pl->rx_lcore[0]);
		else
			out_printf(s, ",{\"role\":\"rx%u\",\"lcore\":%u,\"thread\":null}", w,
				   pl->rx_lcore[w]);
	}
	for (w = 0; w < pl->n_workers; w++)
		out_printf(s, ",{\"role\":\"agg%u\",\"lcore\":%u,\"thread\":null}", w,
			   pl->agg_lcore[w]);
	out_printf(s, ",{\"role\":\"sink\",\"lcore\":null,\"thread\":\"weir-sink\"}"
		   ",{\"role\":\"control\",\"lcore\":null,\"thread\":\"weir-ctl\"}]");
	out_printf(s, ",\"kafka\":{\"brokers\":");
	out_str(s, c->brokers);
	out_printf(s, ",\"bootstrap\":");
	out_str(s, pl->bootstrap);
	out_printf(s, "},\"topics\":{\"aggregated\":");
	out_str(s, c->topic_aggregated);
	out_printf(s, ",\"alerts\":");
	out_str(s, c->topic_alerts);
	out_printf(s, ",\"rejected\":");
	out_str(s, c->topic_rejected);
	win_reap(pl);
	out_printf(s, "},\"window\":{\"size\":\"%s\",\"slide\":\"%s\",\"time\":\"%s\"",
		   fmt_dur(pl->size_ns, a, sizeof(a)), fmt_dur(pl->slide_ns, b, sizeof(b)),
		   c->time_mode == CFG_TIME_ARRIVAL ? "arrival" : "event");
	out_win_pending(s);
	out_printf(s, "}");
	out_printf(s, ",\"control\":{\"socket\":");
	out_str(s, s->lfd >= 0 ? s->path : NULL);
	out_printf(s, ",\"metrics_listen\":");
	out_str(s, s->http != NULL ? c->metrics_listen : NULL);
	out_printf(s, "}}");
}

static void
cmd_stats(struct ctl_server *s)
{
	struct ctl_pipeline *pl = s->pl;
	const struct ctl_stats *st = &s->last;
	struct ctl_report rep;
	char *mem = NULL, *kafka;
	size_t memlen = 0, n;
	unsigned int i, k;
	FILE *f;

	/* counters fresh, the same nesting as the summary (SPEC §7): reuse its writer */
	memset(&rep, 0, sizeof(rep));
	for (i = 0; i < pl->n_rx + pl->n_out; i++)
		wr_counters_add(&rep.sum, &pl->ctr[i]);
	rep.kafka = snk_kafka_stats(pl->kafka);
	hdr_reset(s->scratch);
	for (i = 0; i < pl->n_out; i++)
		hdr_merge(s->scratch, pl->lat[i]);
	rep.rx_to_agg = s->scratch;
	rep.close_to_ack = snk_kafka_latency(pl->kafka);
	rep.seconds = mono_s() - pl->start_s;
	rep.wall_seconds = rep.seconds;
	rep.rxq = pl->ctr;
	rep.n_rxq = pl->n_rx;
	rep.loops = pl->o->replay ? pl->o->loops : 0;
	rep.watermark_ns = ctl_watermark(pl);
	f = open_memstream(&mem, &memlen);
	if (f == NULL) {
		out_error(s, "out of memory");
		return;
	}
	ctl_summary_write(f, &rep);
	fclose(f);
	/* the summary is one object ending "}\n": reopen it and add the live parts */
	n = memlen;
	while (n > 0 && (mem[n - 1] == '\n' || mem[n - 1] == '}'))
		if (mem[--n] == '}')
			break;
	kafka = strstr(mem, "\"kafka\":{");
	if (n == 0 || mem[0] != '{' || kafka == NULL || (size_t)(kafka - mem) >= n) {
		free(mem);
		out_error(s, "internal: unexpected summary layout");
		return;
	}
	kafka += strlen("\"kafka\":{");
	out_printf(s, "{\"ok\":true,%.*s", (int)(kafka - mem - 1), mem + 1);
	out_printf(s, "\"queue\":%d,", snk_kafka_outq(pl->kafka));
	out_printf(s, "%.*s", (int)(mem + n - kafka), kafka);
	free(mem);

	out_printf(s, ",\"uptime_s\":");
	out_num(s, st->uptime_s);
	out_printf(s, ",\"interval_s\":");
	out_num(s, st->interval_s);
	out_printf(s, ",\"rates\":{\"packets_per_s\":");
	out_num(s, st->pkts_per_s);
	out_printf(s, ",\"records_per_s\":");
	out_num(s, st->recs_per_s);
	out_printf(s, "},\"devices\":%u,\"lcores\":[", st->devices);
	for (i = 0; i < st->n_lcores; i++) {
		const struct ctl_lcore_stats *l = &st->lc[i];

		out_printf(s, "%s{\"role\":", i ? "," : "");
		out_str(s, l->role);
		out_printf(s, ",\"lcore\":%u,\"packets_per_s\":", l->lcore_id);
		out_num(s, l->pkts_per_s);
		out_printf(s, ",\"records_per_s\":");
		out_num(s, l->recs_per_s);
		out_printf(s, ",\"busy_pct\":");
		out_num(s, l->busy_pct);
		out_printf(s, ",\"ring\":{\"used\":%u,\"size\":%u},\"out_ring\":{\"used\":%u,"
			   "\"size\":%u},\"devices\":%u,\"counters\":{", l->ring_used, l->ring_size,
			   l->out_used, l->out_size, l->devices);
		for (k = 0; k < WR_CTR_COUNT; k++)
			out_printf(s, "%s\"%s\":%" PRIu64, k ? "," : "",
				   wr_counter_name((enum wr_counter)k), l->ctr.v[k]);
		out_printf(s, ",\"rejected\":%" PRIu64 ",\"dropped\":%" PRIu64 "}}",
			   wr_counters_rejected(&l->ctr), wr_counters_dropped(&l->ctr));
	}
	out_printf(s, "]}");
}

static void
cmd_latency(struct ctl_server *s, int reset)
{
	struct ctl_pipeline *pl = s->pl;
	const struct hdr *ack = snk_kafka_latency(pl->kafka);
	char role[16];
	unsigned int w;

	out_printf(s, "{\"ok\":true,\"unit\":\"ns\",\"since\":\"%s\",\"since_s\":",
		   s->reset_s > 0 ? "reset" : "start");
	out_num(s, mono_s() - (s->reset_s > 0 ? s->reset_s : pl->start_s));
	out_printf(s, ",\"reset\":%s,\"rx_to_agg\":", reset ? "true" : "false");
	hdr_reset(s->scratch);
	for (w = 0; w < pl->n_out; w++) {
		lat_current(s->diff, pl->lat[w], s->base_lat[w]);
		hdr_merge(s->scratch, s->diff);
	}
	out_lat(s, s->scratch);
	out_printf(s, ",\"close_to_ack\":");
	lat_current(s->diff, ack, s->base_ack);
	out_lat(s, s->diff);
	out_printf(s, ",\"lcores\":[");
	for (w = 0; w < pl->n_out; w++) {
		table_role(pl, w, role, sizeof(role));
		out_printf(s, "%s{\"role\":\"%s\",\"lcore\":%u,\"rx_to_agg\":", w ? "," : "", role,
			   table_lcore(pl, w));
		lat_current(s->diff, pl->lat[w], s->base_lat[w]);
		out_lat(s, s->diff);
		out_printf(s, "}");
	}
	out_printf(s, "]}");
	if (!reset)
		return;
	/* the histograms have one writer each: copy them as the new zero instead */
	for (w = 0; w < pl->n_out; w++) {
		if (s->base_lat[w] == NULL)
			s->base_lat[w] = hdr_clone_empty(pl->lat[w]);
		if (s->base_lat[w] != NULL) {
			hdr_reset(s->base_lat[w]);
			hdr_merge(s->base_lat[w], pl->lat[w]);
		}
	}
	if (s->base_ack == NULL)
		s->base_ack = hdr_clone_empty(ack);
	if (s->base_ack != NULL) {
		hdr_reset(s->base_ack);
		hdr_merge(s->base_ack, ack);
	}
	s->reset_s = mono_s();
}

static void
cmd_windows(struct ctl_server *s)
{
	struct ctl_pipeline *pl = s->pl;
	const struct weir_config *c = &pl->o->cfg;
	const struct dp_tunables *t = atomic_load_explicit(&pl->rx[0].tun, memory_order_acquire);
	const struct snk_stats *ks = snk_kafka_stats(pl->kafka);
	int64_t wm = ctl_watermark(pl);
	struct wr_counters sum;
	struct timespec ts;
	int64_t wall;
	uint32_t devices = 0, d;
	unsigned int w;
	char role[16], a[32], b[32], l[32], i[32], m[32];

	win_reap(pl);
	clock_gettime(CLOCK_REALTIME, &ts);
	wall = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	memset(&sum, 0, sizeof(sum));
	for (w = 0; w < pl->n_rx + pl->n_out; w++)
		wr_counters_add(&sum, &pl->ctr[w]);
	out_printf(s, "{\"ok\":true,\"lcores\":[");
	for (w = 0; w < pl->n_out; w++) {
		d = pl->n_workers == 0 ?
		    atomic_load_explicit(&pl->rx[0].inline_devices, memory_order_relaxed) :
		    atomic_load_explicit(&pl->workers[w].devices, memory_order_relaxed);
		devices += d;
		table_role(pl, w, role, sizeof(role));
		out_printf(s, "%s{\"role\":\"%s\",\"lcore\":%u,\"devices\":%u}", w ? "," : "", role,
			   table_lcore(pl, w), d);
	}
	out_printf(s, "],\"devices\":%u,\"open_windows_per_device_max\":%" PRId64, devices,
		   (pl->size_ns + t->lateness_ns + pl->slide_ns - 1) / pl->slide_ns);
	out_printf(s, ",\"wall_ms\":%" PRId64, wall / 1000000);
	if (wm == INT64_MIN)
		out_printf(s, ",\"watermark_ms\":null,\"watermark_lag_ms\":null");
	else
		out_printf(s, ",\"watermark_ms\":%" PRId64 ",\"watermark_lag_ms\":%" PRId64,
			   wm / 1000000, (wall - wm) / 1000000);
	out_printf(s, ",\"window\":{\"size\":\"%s\",\"slide\":\"%s\",\"allowed_lateness\":\"%s\","
		   "\"idle_timeout\":\"%s\",\"allowed_lateness_max\":\"%s\",\"time\":\"%s\"",
		   fmt_dur(pl->size_ns, a, sizeof(a)), fmt_dur(pl->slide_ns, b, sizeof(b)),
		   fmt_dur(t->lateness_ns, l, sizeof(l)), fmt_dur(t->idle_ns, i, sizeof(i)),
		   fmt_dur(pl->lateness_max_ns, m, sizeof(m)),
		   c->time_mode == CFG_TIME_ARRIVAL ? "arrival" : "event");
	out_win_pending(s);
	out_printf(s, "}");
	out_printf(s, ",\"records_late\":%" PRIu64 ",\"records_accepted\":%" PRIu64
		   ",\"windows_emitted\":%" PRIu64 ",\"flushes\":%" PRIu64 "}",
		   sum.v[WR_CTR_REC_LATE], wr_counters_accepted(&sum),
		   (uint64_t)atomic_load_explicit(&ks->emitted, memory_order_relaxed),
		   pl->ctr[0].v[WR_CTR_FLUSHES]);
}

static int
top_cmp(const void *a, const void *b)
{
	const struct agg_top_entry *x = a, *y = b;

	if (x->records != y->records)
		return x->records < y->records ? 1 : -1;
	if (x->id_len != y->id_len)
		return x->id_len < y->id_len ? -1 : 1;
	return memcmp(x->id, y->id, x->id_len);
}

static void
cmd_top(struct ctl_server *s, unsigned int n)
{
	struct ctl_pipeline *pl = s->pl;
	struct agg_top_entry *all;
	uint8_t *owner;
	uint64_t want[RTE_MAX_LCORE] = {0};
	unsigned int w, i, total = 0, answered = 0;
	int got[RTE_MAX_LCORE];
	char role[16];
	double t0;

	all = calloc((size_t)pl->n_out * AGG_TOP_MAX, sizeof(*all));
	owner = calloc((size_t)pl->n_out * AGG_TOP_MAX, 1);
	if (all == NULL || owner == NULL) {
		free(all);
		free(owner);
		out_error(s, "out of memory");
		return;
	}
	/* ask every table owner at once, then collect */
	for (w = 0; w < pl->n_out; w++) {
		struct agg_top_req *q = pl->n_workers ? &pl->workers[w].top : &pl->rx[0].top;

		got[w] = 0;
		if (s->top_buf[w] == NULL)
			s->top_buf[w] = calloc(AGG_TOP_MAX, sizeof(struct agg_top_entry));
		if (s->top_buf[w] == NULL)
			continue;
		q->buf = s->top_buf[w];
		atomic_store_explicit(&q->n, n, memory_order_relaxed);
		want[w] = atomic_fetch_add_explicit(&q->req, 1, memory_order_release) + 1;
	}
	t0 = mono_s();
	while (answered < pl->n_out && mono_s() - t0 < WAIT_ACK_S) {
		for (w = 0; w < pl->n_out; w++) {
			struct agg_top_req *q = pl->n_workers ? &pl->workers[w].top :
						  &pl->rx[0].top;

			if (got[w] || s->top_buf[w] == NULL ||
			    atomic_load_explicit(&q->done, memory_order_acquire) != want[w])
				continue;
			got[w] = 1;
			answered++;
			for (i = 0; i < q->count && i < AGG_TOP_MAX; i++) {
				all[total] = s->top_buf[w][i];
				owner[total++] = (uint8_t)w;
			}
		}
		if (answered < pl->n_out)
			sleep_ms(1);
	}
	if (answered == 0) {
		free(all);
		free(owner);
		out_error(s, "no aggregator answered within %.0f s (input finished?)", WAIT_ACK_S);
		return;
	}
	/* owner goes along with the entries: sort pairs through an index */
	{
		struct { struct agg_top_entry e; uint8_t w; } *pairs;

		pairs = calloc(total ? total : 1, sizeof(*pairs));
		if (pairs == NULL) {
			free(all);
			free(owner);
			out_error(s, "out of memory");
			return;
		}
		for (i = 0; i < total; i++) {
			pairs[i].e = all[i];
			pairs[i].w = owner[i];
		}
		qsort(pairs, total, sizeof(*pairs), top_cmp);
		out_printf(s, "{\"ok\":true,\"n\":%u,\"partial\":%s,\"devices\":[", n,
			   answered < pl->n_out ? "true" : "false");
		for (i = 0; i < total && i < n; i++) {
			table_role(pl, pairs[i].w, role, sizeof(role));
			out_printf(s, "%s{\"device\":", i ? "," : "");
			out_strn(s, pairs[i].e.id, pairs[i].e.id_len);
			out_printf(s, ",\"records\":%" PRIu64 ",\"windows\":%u,\"lcore\":\"%s\"}",
				   pairs[i].e.records, pairs[i].e.windows, role);
		}
		out_printf(s, "]}");
		free(pairs);
	}
	free(all);
	free(owner);
}

/* --- tunables: get / set ---------------------------------------------- */

static const char *const log_names[] = {
	[RTE_LOG_ERR] = "error", [RTE_LOG_WARNING] = "warning", [RTE_LOG_NOTICE] = "notice",
	[RTE_LOG_INFO] = "info", [RTE_LOG_DEBUG] = "debug",
};

static const char *
log_level_name(int lvl)
{
	if (lvl < (int)RTE_LOG_ERR)
		return "error";
	if (lvl > (int)RTE_LOG_DEBUG)
		return "debug";
	return log_names[lvl];
}

static int
metric_index(const struct ctl_pipeline *pl, const char *name)
{
	const struct weir_config *c = &pl->o->cfg;
	unsigned int i;

	for (i = 0; i < c->n_metrics; i++)
		if (strcmp(c->metrics[i], name) == 0)
			return (int)i;
	return -1;
}

/* The tunable's current value; -1 when key is not a tunable. */
/* The running rule NAME as text, "off" when there is none. */
static void
alert_get(struct ctl_pipeline *pl, const char *name, char *out, size_t len)
{
	const struct wr_alert_rules *ar = atomic_load_explicit(&pl->alert_rules,
							       memory_order_acquire);
	unsigned int i;

	snprintf(out, len, "off");
	for (i = 0; ar != NULL && i < ar->n; i++)
		if (strcmp(ar->r[i].name, name) == 0)
			wr_alert_format(&ar->r[i], out, len);
}

static int
tun_get(struct ctl_server *s, const struct dp_tunables *t, const char *key, char *out,
	size_t len)
{
	int m;

	if (strcmp(key, "window.allowed_lateness") == 0)
		fmt_dur(t->lateness_ns, out, len);
	else if (strcmp(key, "window.size") == 0)
		fmt_dur(s->pl->size_ns, out, len);
	else if (strcmp(key, "window.slide") == 0)
		fmt_dur(s->pl->slide_ns, out, len);
	else if (strcmp(key, "window.idle_timeout") == 0)
		fmt_dur(t->idle_ns, out, len);
	else if (strcmp(key, "input.max_future") == 0)
		fmt_dur(t->dcfg.max_future_ns, out, len);
	else if (strcmp(key, "topics.rejected_rate") == 0)
		snprintf(out, len, "%.0f", t->dlq_rate);
	else if (strcmp(key, "log.level") == 0)
		snprintf(out, len, "%s", log_level_name(rte_log_get_level((uint32_t)s->log_type)));
	else if (strncmp(key, "input.range.", 12) == 0 && (m = metric_index(s->pl, key + 12)) >= 0)
		if (isinf(t->dcfg.min[m]) && isinf(t->dcfg.max[m]))
			snprintf(out, len, "none");
		else
			snprintf(out, len, "%.17g, %.17g", t->dcfg.min[m], t->dcfg.max[m]);
	else if (strncmp(key, "alert.", 6) == 0 && wr_alert_name_ok(key + 6))
		alert_get(s->pl, key + 6, out, len);
	else
		return -1;
	return 0;
}

static void
out_tunables(struct ctl_server *s, const struct dp_tunables *t)
{
	const struct weir_config *c = &s->pl->o->cfg;
	static const char *const fixed[] = {
		"window.allowed_lateness", "window.idle_timeout", "input.max_future", "log.level",
		"topics.rejected_rate", "window.size", "window.slide",
	};
	char key[CFG_STR_MAX], v[128];
	unsigned int i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		tun_get(s, t, fixed[i], v, sizeof(v));
		out_printf(s, "%s\"%s\":", i ? "," : "", fixed[i]);
		out_str(s, v);
	}
	for (i = 0; i < c->n_metrics; i++) {
		snprintf(key, sizeof(key), "input.range.%s", c->metrics[i]);
		tun_get(s, t, key, v, sizeof(v));
		out_printf(s, ",");
		out_str(s, key);
		out_printf(s, ":");
		out_str(s, v);
	}
	/* alert rules: alert.NAME = rule */
	{
		const struct wr_alert_rules *ar =
			atomic_load_explicit(&s->pl->alert_rules, memory_order_acquire);

		for (i = 0; ar != NULL && i < ar->n; i++) {
			snprintf(key, sizeof(key), "alert.%s", ar->r[i].name);
			wr_alert_format(&ar->r[i], v, sizeof(v));
			out_printf(s, ",");
			out_str(s, key);
			out_printf(s, ":");
			out_str(s, v);
		}
	}
}

/*
 * weirctl set alert.NAME "metric OP value [for N]" (or off): a new rule
 * set, published whole; the aggregators take it at their next record and
 * start every run from zero.
 */
static void
cmd_set_alert(struct ctl_server *s, const char *key, const char *v)
{
	struct ctl_pipeline *pl = s->pl;
	struct wr_alert_rules *cur = atomic_load_explicit(&pl->alert_rules, memory_order_acquire);
	struct wr_alert_rules *nxt;
	struct weir_config *tmp;
	char assign[CFG_STR_MAX * 2], err[512], old[160] = "off", now[160] = "off";
	unsigned int i;

	if (pl->n_rule_versions >= CTL_RULE_VERSIONS) {
		out_error(s, "%s: %d alert rule changes in this run already: change the config "
			  "and restart weir", key, CTL_RULE_VERSIONS);
		return;
	}
	tmp = malloc(sizeof(*tmp));
	nxt = malloc(sizeof(*nxt));
	if (tmp == NULL || nxt == NULL) {
		free(tmp);
		free(nxt);
		out_error(s, "out of memory");
		return;
	}
	*tmp = pl->o->cfg;
	tmp->alerts = *cur;
	snprintf(assign, sizeof(assign), "%s=%s", key, strcmp(v, "none") == 0 ? "off" : v);
	if (cfg_set(tmp, assign, err, sizeof(err)) != 0 ||
	    cfg_alerts_resolve(tmp, err, sizeof(err)) != 0) {
		/* "--set alert.x=...: [alert] x: why" -> "alert.x: why" */
		const char *why = strstr(err, "] ");

		if (why != NULL && strstr(why, ": ") != NULL)
			why = strstr(why, ": ") + 2;
		out_error(s, "%.64s: %.400s", key, why != NULL ? why : err);
		free(tmp);
		free(nxt);
		return;
	}
	for (i = 0; i < cur->n; i++)
		if (strcmp(cur->r[i].name, key + 6) == 0)
			wr_alert_format(&cur->r[i], old, sizeof(old));
	*nxt = tmp->alerts;
	free(tmp);
	for (i = 0; i < nxt->n; i++)
		if (strcmp(nxt->r[i].name, key + 6) == 0)
			wr_alert_format(&nxt->r[i], now, sizeof(now));
	pl->rule_versions[pl->n_rule_versions++] = nxt;
	atomic_store_explicit(&pl->alert_rules, nxt, memory_order_release);
	out_printf(s, "{\"ok\":true,\"key\":");
	out_str(s, key);
	out_printf(s, ",\"old\":");
	out_str(s, old);
	out_printf(s, ",\"value\":");
	out_str(s, now);
	out_printf(s, ",\"applied\":true}");
}

static void
cmd_get(struct ctl_server *s, const char *key)
{
	const struct weir_config *c = &s->pl->o->cfg;
	const struct dp_tunables *t = atomic_load_explicit(&s->pl->rx[0].tun, memory_order_acquire);
	char v[CFG_EAL_MAX], k[CFG_STR_MAX + 8], lim[32];
	unsigned int i, shown = 0;

	win_reap(s->pl);
	if (key == NULL) {
		out_printf(s, "{\"ok\":true,\"tunables\":{");
		out_tunables(s, t);
		out_printf(s, "},\"limits\":{\"allowed_lateness_max\":\"%s\"},\"read_only\":{",
			   fmt_dur(s->pl->lateness_max_ns, lim, sizeof(lim)));
		for (i = 0; cfg_key_at(i, k, sizeof(k)) == 0; i++) {
			if (tun_get(s, t, k, v, sizeof(v)) == 0 || cfg_get(c, k, v, sizeof(v)) != 0)
				continue;
			out_printf(s, "%s\"%s\":", shown++ ? "," : "", k);
			out_str(s, v);
		}
		/* [kafka] passthrough properties, secrets masked */
		for (i = 0; i < c->n_kafka && i < CFG_PASS_MAX; i++) {
			snprintf(k, sizeof(k), "kafka.%s", c->kafka[i].key);
			out_printf(s, "%s", shown++ ? "," : "");
			out_str(s, k);
			out_printf(s, ":");
			out_str(s, cfg_key_secret(k) ? SECRET_SHOWN : c->kafka[i].value);
		}
		out_printf(s, "}}");
		return;
	}
	if (tun_get(s, t, key, v, sizeof(v)) == 0) {
		out_printf(s, "{\"ok\":true,\"key\":");
		out_str(s, key);
		out_printf(s, ",\"value\":");
		out_str(s, v);
		out_printf(s, ",\"writable\":true}");
		return;
	}
	if (cfg_get(c, key, v, sizeof(v)) == 0) {
		out_printf(s, "{\"ok\":true,\"key\":");
		out_str(s, key);
		out_printf(s, ",\"value\":");
		out_str(s, cfg_key_secret(key) ? SECRET_SHOWN : v);
		out_printf(s, ",\"writable\":false}");
		return;
	}
	out_error(s, "unknown key '%.128s' (weirctl get lists every key)", key);
}

static int
parse_range(const char *v, double *lo, double *hi)
{
	char *end;

	if (strcmp(v, "none") == 0) {
		*lo = -INFINITY;
		*hi = INFINITY;
		return 0;
	}
	errno = 0;
	*lo = strtod(v, &end);
	if (end == v || errno != 0 || isnan(*lo))
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != ',')
		return -1;
	v = end + 1;
	*hi = strtod(v, &end);
	if (end == v || errno != 0 || isnan(*hi))
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0' && *lo <= *hi ? 0 : -1;
}

static int
log_level_parse(const char *v)
{
	int i;

	for (i = (int)RTE_LOG_ERR; i <= (int)RTE_LOG_DEBUG; i++)
		if (strcmp(v, log_names[i]) == 0)
			return i;
	return -1;
}

/* --- window scheme change (weirctl set window) ------------------------ */

/* Largest lcm of the old and new slides: the boundary is at most this far away. */
#define WIN_LCM_MAX	(24LL * 3600 * 1000000000LL)

/* "2026-11-22T03:04:10.000Z" */
static void
fmt_time_ms(int64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000LL);
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % 1000000000LL / 1000000));
}

/*
 * A pending change completed when the RX lcore acknowledged its end and
 * every table owner handed the old table back: only then may it be freed.
 */
static void
win_reap(struct ctl_pipeline *pl)
{
	unsigned int w;

	if (pl->size_new == 0 ||
	    atomic_load_explicit(&pl->rx[0].win_done, memory_order_acquire) != pl->win_gen)
		return;
	if (pl->n_workers == 0) {
		if (atomic_load_explicit(&pl->rx[0].inline_retired, memory_order_acquire) == NULL)
			return;
	} else {
		for (w = 0; w < pl->n_workers; w++)
			if (atomic_load_explicit(&pl->workers[w].retired,
						 memory_order_acquire) == NULL)
				return;
	}
	for (w = 0; w < pl->n_out; w++) {
		agg_table_destroy(pl->tables[w]);
		pl->tables[w] = pl->next_tables[w];
		pl->next_tables[w] = NULL;
		if (pl->n_workers != 0)
			atomic_store_explicit(&pl->workers[w].retired, NULL, memory_order_relaxed);
	}
	atomic_store_explicit(&pl->rx[0].inline_retired, NULL, memory_order_relaxed);
	atomic_store_explicit(&pl->rx[0].inline_next, NULL, memory_order_relaxed);
	pl->size_ns = pl->size_new;
	pl->slide_ns = pl->slide_new;
	pl->size_new = 0;
	pl->slide_new = 0;
}

/* Drop the tables of a change the RX lcore did not take. */
static void
win_abandon(struct ctl_pipeline *pl)
{
	unsigned int w;

	for (w = 0; w < pl->n_out; w++) {
		if (pl->n_workers != 0)
			atomic_store_explicit(&pl->workers[w].next_table, NULL,
					      memory_order_relaxed);
		agg_table_destroy(pl->next_tables[w]);
		pl->next_tables[w] = NULL;
	}
	atomic_store_explicit(&pl->rx[0].inline_next, NULL, memory_order_relaxed);
}

/* ,"pending":{...} or null: the change waiting for its boundary */
static void
out_win_pending(struct ctl_server *s)
{
	struct ctl_pipeline *pl = s->pl;
	char a[32], b[32], t[80];

	if (pl->size_new == 0) {
		out_printf(s, ",\"pending\":null");
		return;
	}
	fmt_time_ms(pl->switch_at_ns, t, sizeof(t));
	out_printf(s, ",\"pending\":{\"size\":\"%s\",\"slide\":\"%s\",\"at\":\"%s\","
		   "\"at_ms\":%" PRId64 "}", fmt_dur(pl->size_new, a, sizeof(a)),
		   fmt_dur(pl->slide_new, b, sizeof(b)), t, pl->switch_at_ns / 1000000);
}

/*
 * set window "SIZE SLIDE" | set window.size SIZE | set window.slide SLIDE.
 * One change at a time; the new tables are created here, before the RX
 * lcore can send them anything; it picks the boundary (dp_switch_boundary).
 */
/* Publish a tunables snapshot to every RX lcore. */
static void
rx_tun_publish(struct ctl_pipeline *pl, struct dp_tunables *t)
{
	unsigned int q;

	for (q = 0; q < pl->n_rx; q++)
		atomic_store_explicit(&pl->rx[q].tun, t, memory_order_release);
}

/* Every RX lcore took snapshot t (the other buffer is free). */
static int
rx_tun_acked(struct ctl_pipeline *pl, const struct dp_tunables *t)
{
	unsigned int q;

	for (q = 0; q < pl->n_rx; q++)
		if (atomic_load_explicit(&pl->rx[q].tun_ack, memory_order_acquire) != t)
			return 0;
	return 1;
}

static void
cmd_set_window(struct ctl_server *s, const char *key, const char *v)
{
	struct ctl_pipeline *pl = s->pl;
	const struct weir_config *c = &pl->o->cfg;
	struct dp_tunables *cur = atomic_load_explicit(&pl->rx[0].tun, memory_order_acquire);
	struct dp_tunables *nxt;
	int64_t size = pl->size_ns, slide = pl->slide_ns, b_ns;
	char w1[64], w2[64], extra[8], a[32], b[32], d[32], e[32], t[80];
	unsigned int w;
	double t0;
	int n, acked;

	win_reap(pl);
	if (pl->n_rx > 1) {
		out_error(s, "%.128s: a live change of the window scheme needs one RX queue "
			  "([dataplane] rx_queues is %u): change [window] in the configuration "
			  "and restart", key, pl->n_rx);
		return;
	}
	if (pl->size_new != 0) {
		fmt_time_ms(pl->switch_at_ns, t, sizeof(t));
		out_error(s, "busy: change to window %s/%s pending until %s (the last window "
			  "of the old scheme closes after that); try again then",
			  fmt_dur(pl->size_new, a, sizeof(a)), fmt_dur(pl->slide_new, b, sizeof(b)),
			  t);
		return;
	}
	if (strcmp(key, "window") == 0) {
		n = sscanf(v, "%63s %63s %7s", w1, w2, extra);
		if (n != 2 || cfg_parse_duration(w1, &size) != 0 ||
		    cfg_parse_duration(w2, &slide) != 0) {
			out_error(s, "window: '%.64s' is not \"SIZE SLIDE\" (two durations)", v);
			return;
		}
	} else if (cfg_parse_duration(v, strcmp(key, "window.size") == 0 ? &size : &slide) != 0) {
		out_error(s, "%.128s: '%.64s' is not a duration (a number with ns, us, ms, s, m "
			  "or h)", key, v);
		return;
	}
	fmt_dur(size, a, sizeof(a));
	fmt_dur(slide, b, sizeof(b));
	fmt_dur(pl->size_ns, d, sizeof(d));
	fmt_dur(pl->slide_ns, e, sizeof(e));
	if (size <= 0 || slide <= 0 || size % slide != 0) {
		out_error(s, "window size %s, slide %s: both must be > 0 and the size a multiple "
			  "of the slide (to change both: weirctl set window \"SIZE SLIDE\")", a, b);
		return;
	}
	if (size == pl->size_ns && slide == pl->slide_ns) {
		out_error(s, "window is already size %s, slide %s", a, b);
		return;
	}
	if (dp_switch_boundary(0, pl->slide_ns, slide) > WIN_LCM_MAX) {
		out_error(s, "window slide %s: the old and new slides (%s) must share an edge "
			  "at least once a day", b, e);
		return;
	}
	for (w = 0; w < pl->n_out; w++) {
		struct agg_cfg ac = {
			.socket = (int)rte_socket_id(),
			.n_metrics = c->n_metrics,
			.size_ns = size,
			.slide_ns = slide,
			/* what the old tables fit: window.allowed_lateness_max holds */
			.lateness_ns = pl->lateness_max_ns,
			.max_devices = c->max_devices,
			.devices_in_use = &pl->devices_in_use,
			.devices_limit = c->max_devices,
		};
		char tname[24];

		snprintf(tname, sizeof(tname), "agg%ug%u", w, (pl->win_gen + 1) % 1000000);
		ac.name = tname;
		pl->next_tables[w] = agg_table_create(&ac);
		if (pl->next_tables[w] == NULL) {
			out_error(s, "window size %s, slide %s: cannot create the window tables: "
				  "%s (too many windows per device for the allowed lateness?)", a,
				  b, rte_strerror(rte_errno));
			win_abandon(pl);
			return;
		}
	}
	/* the other buffer is free once RX acknowledged the current one */
	t0 = mono_s();
	while (!rx_tun_acked(pl, cur)) {
		if (mono_s() - t0 > WAIT_ACK_S) {
			out_error(s, "busy: the RX lcore has not picked up the previous change "
				  "yet; try again");
			win_abandon(pl);
			return;
		}
		sleep_ms(1);
	}
	for (w = 0; w < pl->n_out; w++)
		if (pl->n_workers != 0)
			atomic_store_explicit(&pl->workers[w].next_table, pl->next_tables[w],
					      memory_order_release);
	if (pl->n_workers == 0)
		atomic_store_explicit(&pl->rx[0].inline_next, pl->next_tables[0],
				      memory_order_release);
	nxt = cur == &pl->tun[0] ? &pl->tun[1] : &pl->tun[0];
	*nxt = *cur;
	nxt->win_gen = pl->win_gen + 1;
	nxt->size_new = size;
	nxt->slide_new = slide;
	rx_tun_publish(pl, nxt);
	t0 = mono_s();
	while (!(acked = rx_tun_acked(pl, nxt)) &&
	       mono_s() - t0 < WAIT_ACK_S)
		sleep_ms(1);
	pl->win_gen++;
	if (!acked) {
		/* RX may still take it later: keep the tables, report it pending */
		pl->size_new = size;
		pl->slide_new = slide;
		pl->switch_at_ns = INT64_MAX;
		out_printf(s, "{\"ok\":true,\"key\":");
		out_str(s, key);
		out_printf(s, ",\"old\":\"%s/%s\",\"value\":\"%s/%s\",\"applied\":false,"
			   "\"note\":\"published; the RX lcore is not running (input "
			   "finished?)\"}", d, e, a, b);
		return;
	}
	b_ns = atomic_load_explicit(&pl->rx[0].switch_at_ns, memory_order_relaxed);
	if (b_ns == INT64_MAX) {
		out_error(s, "window size %s, slide %s: the RX lcore found no boundary for it", a,
			  b);
		win_abandon(pl);
		return;
	}
	pl->size_new = size;
	pl->slide_new = slide;
	pl->switch_at_ns = b_ns;
	fmt_time_ms(b_ns, t, sizeof(t));
	out_printf(s, "{\"ok\":true,\"key\":");
	out_str(s, key);
	out_printf(s, ",\"old\":\"%s/%s\",\"value\":\"%s/%s\",\"applied\":false,"
		   "\"takes_effect_at\":\"%s\",\"takes_effect_at_ms\":%" PRId64
		   ",\"note\":\"takes effect at %s: windows before it stay %s/%s, from it on "
		   "%s/%s\"}", d, e, a, b, t, b_ns / 1000000, t, d, e, a, b);
}

static void
cmd_set(struct ctl_server *s, const char *key, const char *v)
{
	struct ctl_pipeline *pl = s->pl;
	struct dp_tunables *cur = atomic_load_explicit(&pl->rx[0].tun, memory_order_acquire);
	struct dp_tunables *nxt;
	char old[128], now[128], cfgv[CFG_EAL_MAX], a[32], b[32];
	int64_t ns = 0;
	double lo = 0, hi = 0, t0;
	int m = -1, lvl, acked;

	if (strcmp(key, "window") == 0 || strcmp(key, "window.size") == 0 ||
	    strcmp(key, "window.slide") == 0) {
		cmd_set_window(s, key, v);
		return;
	}
	if (strncmp(key, "alert.", 6) == 0) {
		cmd_set_alert(s, key, v);
		return;
	}
	if (tun_get(s, cur, key, old, sizeof(old)) != 0) {
		if (cfg_get(&pl->o->cfg, key, cfgv, sizeof(cfgv)) == 0)
			out_error(s, "%.128s is read-only at run time: change it in the config "
				  "file and restart weir", key);
		else
			out_error(s, "unknown key '%.128s' (weirctl get lists every key)", key);
		return;
	}
	if (strcmp(key, "log.level") == 0) {
		lvl = log_level_parse(v);
		if (lvl < 0) {
			out_error(s, "log.level: '%.64s' is not error, warning, notice, info or "
				  "debug", v);
			return;
		}
		rte_log_set_level_pattern("weir.*", (uint32_t)lvl);
		if ((int)rte_log_get_global_level() < lvl)
			rte_log_set_global_level((uint32_t)lvl);
		out_printf(s, "{\"ok\":true,\"key\":\"log.level\",\"old\":\"%s\",\"value\":\"%s\","
			   "\"applied\":true}", old, log_level_name(lvl));
		return;
	}
	if (strcmp(key, "topics.rejected_rate") == 0) {
		char *end;

		errno = 0;
		lo = strtod(v, &end);
		if (end == v || *end != '\0' || errno != 0 || !(lo >= 0 && lo <= 1000000) ||
		    lo != (double)(uint64_t)lo) {
			out_error(s, "topics.rejected_rate: '%.64s' is not a whole number of dead "
				  "letters per second (0..1000000)", v);
			return;
		}
	} else if (strncmp(key, "input.range.", 12) == 0) {
		m = metric_index(pl, key + 12);
		if (parse_range(v, &lo, &hi) != 0) {
			out_error(s, "%.128s: '%.64s' is not \"min, max\" (min <= max) or none",
				  key, v);
			return;
		}
	} else if (cfg_parse_duration(v, &ns) != 0) {
		out_error(s, "%.128s: '%.64s' is not a duration (a number with ns, us, ms, s, m "
			  "or h)", key, v);
		return;
	}
	if (strcmp(key, "window.allowed_lateness") == 0 && ns > pl->lateness_max_ns) {
		out_error(s, "window.allowed_lateness %s is above %s, the most the window tables "
			  "sized at start can hold; raise [window] allowed_lateness in the config "
			  "and restart", fmt_dur(ns, a, sizeof(a)),
			  fmt_dur(pl->lateness_max_ns, b, sizeof(b)));
		return;
	}
	if (strcmp(key, "window.idle_timeout") == 0 && ns == 0) {
		out_error(s, "window.idle_timeout must be greater than 0");
		return;
	}
	/* the other buffer is free once RX acknowledged the current one */
	t0 = mono_s();
	while (!rx_tun_acked(pl, cur)) {
		if (mono_s() - t0 > WAIT_ACK_S) {
			out_error(s, "busy: the RX lcore has not picked up the previous "
				  "change yet; "
				  "try again");
			return;
		}
		sleep_ms(1);
	}
	nxt = cur == &pl->tun[0] ? &pl->tun[1] : &pl->tun[0];
	*nxt = *cur;
	if (strcmp(key, "window.allowed_lateness") == 0)
		nxt->lateness_ns = ns;
	else if (strcmp(key, "window.idle_timeout") == 0)
		nxt->idle_ns = ns;
	else if (strcmp(key, "input.max_future") == 0)
		nxt->dcfg.max_future_ns = ns;
	else if (strcmp(key, "topics.rejected_rate") == 0)
		nxt->dlq_rate = lo;
	else {
		nxt->dcfg.min[m] = lo;
		nxt->dcfg.max[m] = hi;
	}
	rx_tun_publish(pl, nxt);
	/* say whether it is in effect: RX takes it at its next burst boundary */
	t0 = mono_s();
	while (!(acked = rx_tun_acked(pl, nxt)) &&
	       mono_s() - t0 < WAIT_ACK_S)
		sleep_ms(1);
	tun_get(s, nxt, key, now, sizeof(now));
	out_printf(s, "{\"ok\":true,\"key\":");
	out_str(s, key);
	out_printf(s, ",\"old\":");
	out_str(s, old);
	out_printf(s, ",\"value\":");
	out_str(s, now);
	out_printf(s, ",\"applied\":%s", acked ? "true" : "false");
	if (!acked)
		out_printf(s, ",\"note\":\"published; the RX lcore takes it at its next burst "
			   "(it is not running: input finished?)\"");
	out_printf(s, "}");
}

/* --- flush ---------------------------------------------------------- */

static int
rings_empty(const struct ctl_pipeline *pl)
{
	unsigned int w;

	for (w = 0; w < pl->n_out; w++)
		if (rte_ring_count(pl->to_sink[w]) != 0)
			return 0;
	for (w = 0; w < pl->n_rx * pl->n_workers; w++)
		if (rte_ring_count(pl->to_agg[w]) != 0)
			return 0;
	return 1;
}

static void
cmd_flush(struct ctl_server *s)
{
	struct ctl_pipeline *pl = s->pl;
	const struct snk_stats *ks = snk_kafka_stats(pl->kafka);
	uint64_t before[RTE_MAX_LCORE + CFG_RX_QUEUES_MAX], emitted0;
	unsigned int w, done = 0;
	double t0;

	emitted0 = atomic_load_explicit(&ks->emitted, memory_order_relaxed);
	for (w = 0; w < pl->n_rx + pl->n_workers; w++)
		before[w] = pl->ctr[w].v[WR_CTR_FLUSHES];
	for (w = 0; w < pl->n_rx; w++)
		atomic_fetch_add_explicit(&pl->rx[w].flush_req, 1, memory_order_release);
	/* served: RX sent CLOSE (or flushed inline), every aggregator closed */
	t0 = mono_s();
	while (mono_s() - t0 < WAIT_FLUSH_S) {
		for (done = 0, w = 0; w < pl->n_rx + pl->n_workers; w++)
			done += pl->ctr[w].v[WR_CTR_FLUSHES] != before[w];
		if (done == pl->n_rx + pl->n_workers)
			break;
		sleep_ms(2);
	}
	/* and the sink took what they closed, so windows.emitted says it */
	while (done == pl->n_rx + pl->n_workers && !rings_empty(pl) && mono_s() - t0 < WAIT_FLUSH_S)
		sleep_ms(2);
	out_printf(s, "{\"ok\":true,\"served\":%s,\"ms\":",
		   done == pl->n_rx + pl->n_workers ? "true" : "false");
	out_num(s, (mono_s() - t0) * 1e3);
	out_printf(s, ",\"windows_emitted_before\":%" PRIu64 ",\"windows_emitted\":%" PRIu64,
		   emitted0, (uint64_t)atomic_load_explicit(&ks->emitted, memory_order_relaxed));
	if (done != pl->n_rx + pl->n_workers)
		out_printf(s, ",\"note\":\"requested; not served within %.0f s (input finished "
			   "or lcores busy)\"", WAIT_FLUSH_S);
	out_printf(s, "}");
}

/* --- the request -------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
ctl_log(struct ctl_server *s, uint32_t level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rte_log(level, (uint32_t)s->log_type, "weir.control: %s\n", msg);
}

/* Who is asking (SO_PEERCRED): for the log line of every change. */
static void
peer_describe(int fd, char *buf, size_t len)
{
	struct ucred cr;
	socklen_t n = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) == 0 && n == sizeof(cr))
		snprintf(buf, len, "peer_pid=%d peer_uid=%u peer_gid=%u", (int)cr.pid,
			 (unsigned int)cr.uid, (unsigned int)cr.gid);
	else
		snprintf(buf, len, "peer=unknown");
}

static void
handle(struct ctl_server *s, char *line, int fd)
{
	struct ctl_req req;
	char err[512], peer[96];

	s->len = 0;
	s->trunc = 0;
	if (ctl_req_parse(line, AGG_TOP_MAX, &req, err, sizeof(err)) != 0) {
		out_error(s, "%s", err);
		return;
	}
	switch (req.cmd) {
	case CTL_CMD_STATUS:
		cmd_status(s);
		break;
	case CTL_CMD_STATS:
		cmd_stats(s);
		break;
	case CTL_CMD_LATENCY:
		cmd_latency(s, req.reset);
		break;
	case CTL_CMD_WINDOWS:
		cmd_windows(s);
		break;
	case CTL_CMD_TOP:
		cmd_top(s, req.top_n);
		break;
	case CTL_CMD_GET:
		cmd_get(s, req.key);
		break;
	case CTL_CMD_SET:
		peer_describe(fd, peer, sizeof(peer));
		cmd_set(s, req.key, req.value);
		/* changes leave a trace: who changed what (never a value: it may be a secret) */
		ctl_log(s, RTE_LOG_NOTICE, "event=ctl_set key=%.128s ok=%s %s", req.key,
			s->len > 10 && strncmp(s->out, "{\"ok\":true", 10) == 0 ? "true" :
			"false", peer);
		break;
	case CTL_CMD_FLUSH:
		peer_describe(fd, peer, sizeof(peer));
		ctl_log(s, RTE_LOG_NOTICE, "event=ctl_flush %s", peer);
		cmd_flush(s);
		break;
	}
	if (s->trunc)
		out_error(s, "answer longer than %u bytes", RESP_MAX);
}

/* One client: read one line within REQ_TIMEOUT_MS, answer, close. */
static void
serve_client(struct ctl_server *s, int fd)
{
	char line[CTL_REQ_MAX + 1], err[128];
	enum ctl_frame fr = CTL_FRAME_MORE;
	size_t n = 0, off = 0;
	double t0 = mono_s();
	int eof = 0;
	ssize_t r;

	while (fr == CTL_FRAME_MORE) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = REQ_TIMEOUT_MS - (int)((mono_s() - t0) * 1e3);

		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		r = recv(fd, line + n, CTL_REQ_MAX - n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return;
		if (r == 0)
			eof = 1;
		n += (size_t)r;
		fr = ctl_req_frame(line, n, eof, err, sizeof(err));
	}
	s->len = 0;
	s->trunc = 0;
	if (fr == CTL_FRAME_MORE) {
		if (n == 0)
			return;		/* connected and said nothing: nothing to answer */
		out_error(s, "incomplete request line (no newline within %d ms)", REQ_TIMEOUT_MS);
	} else if (fr == CTL_FRAME_ERROR) {
		if (err[0] == '\0')
			return;
		out_error(s, "%s", err);
	} else {
		handle(s, line, fd);
	}
	out_printf(s, "\n");
	while (off < s->len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (poll(&p, 1, REQ_TIMEOUT_MS) <= 0)
			break;
		r = send(fd, s->out + off, s->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
}

static void *
ctl_thread(void *arg)
{
	struct ctl_server *s = arg;
	double next = mono_s();

	for (;;) {
		struct pollfd p[3];
		nfds_t np = 0;
		int ifd = -1, ihttp = -1, timeout, i;
		double now = mono_s();

		if (now >= next) {
			sample(s);
			next += 1.0;
			if (next < now)
				next = now + 1.0;
		}
		timeout = (int)((next - now) * 1e3) + 1;
		p[np++] = (struct pollfd){ .fd = s->efd, .events = POLLIN };
		if (s->lfd >= 0) {
			ifd = (int)np;
			p[np++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		}
		if (s->http != NULL) {
			ihttp = (int)np;
			p[np++] = (struct pollfd){ .fd = ctl_http_fd(s->http), .events = POLLIN };
		}
		if (poll(p, np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents != 0)
			break;
		if (ifd >= 0 && (p[ifd].revents & POLLIN)) {
			for (i = 0; i < ACCEPT_BURST; i++) {
				int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

				if (fd < 0)
					break;
				serve_client(s, fd);
				close(fd);
			}
		}
		if (ihttp >= 0 && (p[ihttp].revents & POLLIN))
			ctl_http_serve(s->http, s->pl, &s->last, &s->hist);
	}
	return NULL;
}

/* --- start / stop ----------------------------------------------------- */

static int
mkdir_p(const char *dir, int *created)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(buf))
		return n == 0 ? 0 : -1;
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		*created = 0;
		if (mkdir(buf, 0775) == 0)
			*created = 1;
		else if (errno != EEXIST)
			return -1;
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* Bind the weirctl socket; on trouble warn and leave s->lfd at -1. */
static void
socket_open(struct ctl_server *s, const char *path, const char *group)
{
	struct sockaddr_un sa;
	struct stat st;
	char dir[sizeof(sa.sun_path)];
	struct group *gr = NULL;
	char *slash;
	mode_t mask;
	int fd, rc;

	if (path[0] == '\0')
		return;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "weir: [control] socket %s: path longer than %zu bytes: no weirctl "
			"socket\n", path, sizeof(sa.sun_path) - 1);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (mkdir_p(dir, &s->own_dir) != 0) {
			fprintf(stderr, "weir: [control] socket %s: cannot create %s: %s: "
				"no weirctl socket\n", path, dir, strerror(errno));
			return;
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "weir: [control] socket %s exists and is not a socket: no "
				"weirctl socket\n", path);
			return;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			fprintf(stderr, "weir: [control] socket %s: another weir answers there: "
				"running without a weirctl socket\n", path);
			return;
		}
		if (fd >= 0)
			close(fd);
		/* nobody listens: a stale socket of a weir that died */
		if (unlink(path) != 0 && errno != ENOENT) {
			fprintf(stderr, "weir: [control] socket %s: cannot remove the stale "
				"socket: %s\n", path, strerror(errno));
			return;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, "weir: weirctl socket: %s\n", strerror(errno));
		return;
	}
	/*
	 * 0660 from the start: bind() creates the file with the umask applied,
	 * so no one else can connect before chmod (umask is per process; the
	 * other threads create no files meanwhile).
	 */
	mask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (rc != 0 || chmod(path, 0660) != 0) {
		fprintf(stderr, "weir: [control] socket %s: %s: no weirctl socket\n", path,
			strerror(errno));
		close(fd);
		return;
	}
	s->own_path = 1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	/* the group's members may use weirctl; resolved at start by cfg_validate */
	if (group[0] != '\0') {
		gr = getgrnam(group);
		if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
			fprintf(stderr, "weir: [control] socket_group %s: %s: no weirctl socket\n",
				group, gr == NULL ? "no such group" : strerror(errno));
			close(fd);
			unlink(path);
			s->own_path = 0;
			return;
		}
	}
	if (listen(fd, 16) != 0) {
		fprintf(stderr, "weir: [control] socket %s: %s: no weirctl socket\n", path,
			strerror(errno));
		close(fd);
		unlink(path);
		s->own_path = 0;
		return;
	}
	s->lfd = fd;
}

void
ctl_server_handover(struct ctl_pipeline *pl, uid_t uid, gid_t gid)
{
	struct ctl_server *s = pl->server;
	char dir[sizeof(s->path)], *slash;

	if (s == NULL || !s->own_path)
		return;
	/* the socket keeps its group ([control] socket_group) */
	if (chown(s->path, uid, (gid_t)-1) != 0)
		fprintf(stderr, "weir: weirctl socket %s: cannot hand it to uid %u: %s\n",
			s->path, (unsigned int)uid, strerror(errno));
	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (s->own_dir && slash != NULL && slash != dir) {
		*slash = '\0';
		if (chown(dir, uid, gid) != 0)
			fprintf(stderr, "weir: %s: cannot hand it to uid %u: %s\n", dir,
				(unsigned int)uid, strerror(errno));
	}
}

/* /metrics and the status page have no authentication: say so when exposed. */
static void
metrics_exposure_warn(const char *addr)
{
	const char *listen = addr;
	struct in6_addr a6;
	struct in_addr a4;
	char host[256];
	const char *colon = strrchr(listen, ':');
	size_t n;

	if (colon == NULL)
		return;
	n = (size_t)(colon - listen);
	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") == 0 ||
	    (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
	    (inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)))
		return;
	fprintf(stderr, "weir: warning: [control] metrics_listen %s is not a loopback address: "
		"anyone who can reach it reads /metrics and the status page (no "
		"authentication); use 127.0.0.1 or firewall it\n",
		host[0] != '\0' ? addr : "(all addresses)");
}

static void
server_free(struct ctl_server *s)
{
	unsigned int w;

	if (s->lfd >= 0)
		close(s->lfd);
	if (s->own_path)
		unlink(s->path);
	if (s->efd >= 0)
		close(s->efd);
	ctl_http_close(s->http);
	hdr_destroy(s->scratch);
	hdr_destroy(s->diff);
	hdr_destroy(s->base_ack);
	for (w = 0; w < RTE_MAX_LCORE; w++) {
		hdr_destroy(s->base_lat[w]);
		free(s->top_buf[w]);
	}
	free(s->out);
	free(s);
}

int
ctl_server_start(struct ctl_pipeline *pl, char *err, size_t errlen)
{
	const struct weir_config *c = &pl->o->cfg;
	struct ctl_server *s;
	char herr[256];
	int rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "control thread: out of memory");
		return -1;
	}
	s->pl = pl;
	s->lfd = -1;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->out = malloc(RESP_MAX);
	s->scratch = hdr_clone_empty(pl->lat[0]);
	s->diff = hdr_clone_empty(pl->lat[0]);
	if (s->efd < 0 || s->out == NULL || s->scratch == NULL || s->diff == NULL) {
		snprintf(err, errlen, "control thread: %s", s->efd < 0 ? strerror(errno) :
			 "out of memory");
		server_free(s);
		return -1;
	}
	s->log_type = rte_log_register("weir.control");
	if (s->log_type < 0)
		s->log_type = RTE_LOGTYPE_USER1;
	socket_open(s, c->control_socket, c->socket_group);
	herr[0] = '\0';
	s->http = ctl_http_open(c->metrics_listen, herr, sizeof(herr));
	if (s->http != NULL)
		metrics_exposure_warn(c->metrics_listen);
	if (s->http == NULL && herr[0] != '\0')
		fprintf(stderr, "weir: [control] metrics_listen %s: %s: no metrics listener\n",
			c->metrics_listen, herr);
	if (s->lfd >= 0)
		fprintf(stderr, "weir: weirctl socket %s\n", s->path);
	if (s->http != NULL)
		fprintf(stderr, "weir: metrics and status page on http://%s/\n", c->metrics_listen);
	rc = pthread_create(&s->thread, NULL, ctl_thread, s);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		server_free(s);
		return -1;
	}
	pthread_setname_np(s->thread, "weir-ctl");
	pl->server = s;
	return 0;
}

void
ctl_server_stop(struct ctl_pipeline *pl)
{
	struct ctl_server *s = pl->server;
	uint64_t one = 1;

	if (s == NULL)
		return;
	if (write(s->efd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "weir: cannot signal the control thread: %s\n", strerror(errno));
	pthread_join(s->thread, NULL);
	server_free(s);
	pl->server = NULL;
}
