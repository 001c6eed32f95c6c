/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perf-microbench --kafka-results N: the cost of the sink, on its own.
 *  - ns per double: snk_json_double (the fast path) and
 *    snk_json_double_plain (snprintf + strtod) over the same doubles;
 *  - ns per result JSON: snk_json_result of results shaped like weir's;
 *  - end to end: N results enqueued as one window close into an
 *    agg_to_sink ring and drained by the real sink thread (snk_loop)
 *    through librdkafka into the embedded broker, with the default
 *    producer settings: results/s until the last delivery report, and
 *    close->ack p50/p99/p99.9 from the sink's own HDR histogram.
 * Run under `valgrind --tool=callgrind` for instruction counts.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "hdr.h"
#include "mb_sink.h"
#include "perf_common.h"
#include "snk.h"

#define MB_DOUBLES	4096	/* a power of two: index by mask */
#define MB_RESULTS	1024
#define MB_FLUSH_MS	600000

static uint64_t
mb_rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* One device window as the aggregator makes it: a few readings per metric. */
static void
mb_fill_result(struct wr_result *r, unsigned int n_metrics, uint64_t dev, uint64_t *seed)
{
	unsigned int i, k;

	memset(r, 0, wr_result_size(n_metrics));
	r->id_len = (uint8_t)snprintf(r->id, sizeof(r->id), "sensor-%07" PRIu64, dev);
	r->start_ns = INT64_C(1732233600) * 1000000000;
	r->end_ns = r->start_ns + INT64_C(60000000000);
	for (i = 0; i < n_metrics; i++) {
		struct wr_stat *s = &r->stats[i];
		unsigned int readings = 1 + (unsigned int)(mb_rng(seed) % 4);

		s->min = INFINITY;
		s->max = -INFINITY;
		for (k = 0; k < readings; k++) {
			/* two decimals, like the generator's readings */
			double x = (double)(int64_t)(mb_rng(seed) % 100000) / 100.0 - 200.0;
			double d = x - s->mean;

			s->count++;
			s->sum += x;
			s->mean += d / (double)s->count;
			s->m2 += d * (x - s->mean);
			s->min = RTE_MIN(s->min, x);
			s->max = RTE_MAX(s->max, x);
		}
		r->count += s->count;
		r->present |= UINT64_C(1) << i;
	}
}

/* The doubles a result prints: min, max, sum, avg, stddev of each metric. */
static void
mb_fill_doubles(double *d, unsigned int n, unsigned int n_metrics, uint64_t *seed)
{
	struct wr_result r;
	double five[5];
	unsigned int i = 0, m, k;

	while (i < n && n_metrics > 0) {
		mb_fill_result(&r, n_metrics, i, seed);
		for (m = 0; m < n_metrics; m++) {
			const struct wr_stat *s = &r.stats[m];

			five[0] = s->min;
			five[1] = s->max;
			five[2] = s->sum;
			five[3] = s->sum / (double)s->count;
			five[4] = sqrt(s->m2 / (double)s->count);
			for (k = 0; k < 5 && i < n; k++)
				d[i++] = five[k];
		}
	}
}

typedef size_t (*mb_dbl_fn)(char *buf, size_t cap, double v);

static double
mb_time_doubles(mb_dbl_fn fn, const double *d, double min_seconds, uint64_t *check)
{
	char buf[64];
	uint64_t done = 0, sum = 0;
	double t0 = perf_mono_s(), el;
	unsigned int i;

	do {
		for (i = 0; i < MB_DOUBLES; i++)
			sum += fn(buf, sizeof(buf), d[i]) + (uint8_t)buf[0];
		done += MB_DOUBLES;
		el = perf_mono_s() - t0;
	} while (el < min_seconds);
	*check += sum;
	return el * 1e9 / (double)done;
}

static double
mb_time_results(const struct weir_config *c, const char *res, size_t esize, double min_seconds,
		uint64_t *check, double *bytes)
{
	static char buf[65536];
	uint64_t done = 0, sum = 0;
	double t0 = perf_mono_s(), el;
	unsigned int i;

	do {
		for (i = 0; i < MB_RESULTS; i++)
			sum += snk_json_result(buf, sizeof(buf),
					       (const struct wr_result *)(res + i * esize), c);
		done += MB_RESULTS;
		el = perf_mono_s() - t0;
	} while (el < min_seconds);
	*check += sum;
	*bytes = (double)sum / (double)done;
	return el * 1e9 / (double)done;
}

/* N results through a ring into snk_loop, as one window close. */
static int
mb_end_to_end(const struct weir_config *c, const struct wr_result *tmpl, size_t esize,
	      uint64_t n_results)
{
	static _Atomic unsigned int done;
	struct snk_broker *broker;
	struct snk_kafka *kafka;
	struct snk_loop_arg arg;
	const struct snk_stats *st;
	const struct hdr *lat;
	struct rte_ring *ring;
	struct wr_result *r;
	char bootstrap[256], err[512];
	uint64_t i, waits = 0, seed = 7;
	double t0, el;
	pthread_t th;
	int rc = 0;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	memcpy(r, tmpl, esize);
	broker = snk_broker_start(c, bootstrap, sizeof(bootstrap), err, sizeof(err));
	if (broker == NULL) {
		fprintf(stderr, "mb_sink: %s\n", err);
		free(r);
		return -1;
	}
	kafka = snk_kafka_create(c, bootstrap, err, sizeof(err));
	ring = rte_ring_create_elem("mb_agg_to_sink", (unsigned int)esize, c->ring_size,
				    (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (kafka == NULL || ring == NULL) {
		fprintf(stderr, "mb_sink: %s\n", kafka == NULL ? err : "ring create failed");
		rc = -1;
		goto out;
	}
	atomic_store(&done, 0);
	arg = (struct snk_loop_arg){
		.kafka = kafka,
		.rings = &ring,
		.n_rings = 1,
		.n_metrics = c->n_metrics,
		.producers_done = &done,
		.n_producers = 1,
		.flush_timeout_ms = MB_FLUSH_MS,
	};
	t0 = perf_mono_s();
	if (pthread_create(&th, NULL, snk_loop, &arg) != 0) {
		rc = -1;
		goto out;
	}
	for (i = 0; i < n_results; i++) {
		/* distinct keys, values of the same shape */
		r->id_len = (uint8_t)snprintf(r->id, sizeof(r->id), "sensor-%07" PRIu64, i);
		r->stats[0].sum = (double)(mb_rng(&seed) % 100000) / 100.0;
		r->close_tsc = rte_rdtsc();
		/* ring full: sleep, leave the cores to the sink and librdkafka */
		while (rte_ring_enqueue_elem(ring, r, (unsigned int)esize) != 0) {
			waits++;
			rte_delay_us_sleep(50);
		}
	}
	atomic_store_explicit(&done, 1, memory_order_release);
	pthread_join(th, NULL);
	el = perf_mono_s() - t0;
	st = snk_kafka_stats(kafka);
	lat = snk_kafka_latency(kafka);
	printf(",\"kafka\":{\"results\":%" PRIu64 ",\"seconds\":%.3f,\"results_per_s\":%.0f,"
	       "\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"produce_retries\":%" PRIu64
	       ",\"ring_waits\":%" PRIu64 ",\"close_to_ack_ns\":{\"count\":%" PRIu64
	       ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64
	       "}}", n_results, el, (double)n_results / el,
	       (uint64_t)atomic_load(&st->delivered), (uint64_t)atomic_load(&st->failed),
	       (uint64_t)atomic_load(&st->produce_retries), waits, hdr_count(lat),
	       hdr_percentile(lat, 50), hdr_percentile(lat, 99), hdr_percentile(lat, 99.9),
	       hdr_max(lat));
	if (atomic_load(&st->delivered) != n_results)
		rc = -1;
out:
	rte_ring_free(ring);
	snk_kafka_destroy(kafka);
	snk_broker_stop(broker);
	free(r);
	return rc;
}

int
mb_sink_run(const struct weir_config *c, uint64_t n_results, double min_seconds)
{
	size_t esize = wr_result_size(c->n_metrics);
	uint64_t seed = 42, check = 0;
	double fast, plain, res_ns, bytes;
	double *d;
	char *res;
	unsigned int i;
	int rc = 0;

	d = calloc(MB_DOUBLES, sizeof(*d));
	res = calloc(MB_RESULTS, esize);
	if (d == NULL || res == NULL) {
		free(d);
		free(res);
		return -1;
	}
	mb_fill_doubles(d, MB_DOUBLES, c->n_metrics, &seed);
	for (i = 0; i < MB_RESULTS; i++)
		mb_fill_result((struct wr_result *)(res + i * esize), c->n_metrics, i, &seed);
	fast = mb_time_doubles(snk_json_double, d, min_seconds, &check);
	plain = mb_time_doubles(snk_json_double_plain, d, min_seconds, &check);
	res_ns = mb_time_results(c, res, esize, min_seconds, &check, &bytes);
	printf("\"sink\":{\"metrics\":%u,\"double_ns\":%.1f,\"double_plain_ns\":%.1f,"
	       "\"result_json_ns\":%.1f,\"result_json_bytes\":%.1f,\"check\":%" PRIu64,
	       c->n_metrics, fast, plain, res_ns, bytes, check);
	if (n_results > 0 && mb_end_to_end(c, (const struct wr_result *)res, esize,
					   n_results) != 0)
		rc = -1;
	putchar('}');
	free(d);
	free(res);
	return rc;
}
