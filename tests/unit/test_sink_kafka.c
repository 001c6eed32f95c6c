/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of sink/snk_kafka.c, snk_broker.c and snk_loop.c against the
 * embedded broker (librdkafka mock cluster, real Kafka protocol on
 * localhost): produce, read back with a consumer (key, partition,
 * timestamp, value), passthrough errors, queue-full back-pressure,
 * delivery failures and flush timeouts keeping emitted == delivered +
 * failed, and the sink thread draining rings. No EAL: rings live in
 * plain memory and close_to_ack latency is skipped (TSC rate unknown).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "snk.h"

#define PARTITIONS	4
#define DEVICES		300
#define WINDOWS		3
#define N_MSGS		(DEVICES * WINDOWS)
#define WINDOW_NS	INT64_C(60000000000)
#define BASE_NS		INT64_C(1732233600000000000)

static struct weir_config cfg;
static char bootstrap[512];
static struct snk_broker *broker;

static void
cfg_reset(void)
{
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.topic_aggregated, "aggregated");
	strcpy(cfg.topic_alerts, "alerts");
	strcpy(cfg.topic_rejected, "rejected");
	cfg.partitions = PARTITIONS;
	strcpy(cfg.metrics[0], "temperature");
	strcpy(cfg.metrics[1], "humidity");
	cfg.n_metrics = 2;
}

static void
cfg_pass(const char *key, const char *value)
{
	snprintf(cfg.kafka[cfg.n_kafka].key, CFG_STR_MAX, "%s", key);
	snprintf(cfg.kafka[cfg.n_kafka].value, CFG_STR_MAX, "%s", value);
	cfg.n_kafka++;
}

/* Deterministic result of device d in window w. */
static void
make_result(struct wr_result *r, unsigned int d, unsigned int w)
{
	memset(r, 0, sizeof(*r));
	r->id_len = (uint8_t)snprintf(r->id, sizeof(r->id), "dev-%05u", d);
	r->start_ns = BASE_NS + (int64_t)w * WINDOW_NS;
	r->end_ns = r->start_ns + WINDOW_NS;
	r->count = 1 + d % 7 + w;
	r->close_tsc = 12345;
	r->present = d % 3 == 0 ? 1 : 3;
	r->stats[0] = (struct wr_stat){ .count = r->count, .min = -1.5 - d, .max = 20.1 + w,
					.sum = 0.1 * d, .mean = 0, .m2 = 2.25 * r->count };
	r->stats[1] = (struct wr_stat){ .count = 1, .min = 55.5, .max = 55.5, .sum = 55.5,
					.mean = 55.5, .m2 = 0 };
}

/* Kafka's murmur2 (Java DefaultPartitioner), to check key -> partition. */
static uint32_t
murmur2(const void *key, size_t len)
{
	const uint32_t m = 0x5bd1e995;
	const unsigned char *p = key;
	uint32_t h = 0x9747b28c ^ (uint32_t)len;

	for (; len >= 4; len -= 4, p += 4) {
		uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			(uint32_t)p[3] << 24;

		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (len) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* fall through */
	case 1:
		h ^= p[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
st(_Atomic uint64_t const *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static int
setup_broker(void **state)
{
	char err[256];

	(void)state;
	cfg_reset();
	broker = snk_broker_start(&cfg, bootstrap, sizeof(bootstrap), err, sizeof(err));
	if (broker == NULL) {
		fprintf(stderr, "broker: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown_broker(void **state)
{
	(void)state;
	snk_broker_stop(broker);
	broker = NULL;
	return 0;
}

static rd_kafka_t *
consumer_new(void)
{
	rd_kafka_topic_partition_list_t *parts;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[256];
	rd_kafka_t *rk;
	int p;

	assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
					   sizeof(errstr)), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "group.id", "weir-test", errstr,
					   sizeof(errstr)), RD_KAFKA_CONF_OK);
	assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr,
					   sizeof(errstr)), RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	assert_non_null(rk);
	rd_kafka_poll_set_consumer(rk);
	parts = rd_kafka_topic_partition_list_new(PARTITIONS);
	for (p = 0; p < PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(parts, "aggregated", p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);
	return rk;
}

static void
test_produce_consume(void **state)
{
	static unsigned char seen[DEVICES][WINDOWS];
	static char want[65536];
	const struct snk_stats *s;
	struct snk_kafka *k;
	struct wr_result r;
	char err[256], key[16];
	unsigned int d, w, got = 0;
	double deadline;
	rd_kafka_t *c;

	(void)state;
	cfg_reset();
	k = snk_kafka_create(&cfg, bootstrap, err, sizeof(err));
	assert_non_null(k);
	/* windows in time order, devices interleaved, as the aggregators emit */
	for (w = 0; w < WINDOWS; w++)
		for (d = 0; d < DEVICES; d++) {
			make_result(&r, d, w);
			assert_int_equal(snk_kafka_produce(k, &r), 0);
		}
	assert_int_equal(snk_kafka_flush(k, 20000), 0);
	s = snk_kafka_stats(k);
	assert_int_equal(st(&s->emitted), N_MSGS);
	assert_int_equal(st(&s->delivered), N_MSGS);
	assert_int_equal(st(&s->failed), 0);
	/* no EAL here, so no TSC rate: latency must be skipped, not garbage */
	assert_int_equal(hdr_count(snk_kafka_latency(k)), 0);
	snk_kafka_destroy(k);

	memset(seen, 0, sizeof(seen));
	c = consumer_new();
	deadline = now_s() + 30;
	while (got < N_MSGS && now_s() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
		rd_kafka_timestamp_type_t tstype;
		int64_t ts;
		size_t n;

		if (m == NULL)
			continue;
		if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			assert_int_equal(m->err, RD_KAFKA_RESP_ERR__PARTITION_EOF);
			rd_kafka_message_destroy(m);
			continue;
		}
		assert_int_equal(m->key_len, 9);
		memcpy(key, m->key, m->key_len);
		key[m->key_len] = '\0';
		assert_int_equal(sscanf(key, "dev-%05u", &d), 1);
		assert_true(d < DEVICES);
		/* same partition a Java client would pick for this key */
		assert_int_equal(m->partition,
				 (int)((murmur2(m->key, m->key_len) & 0x7fffffff) % PARTITIONS));
		ts = rd_kafka_message_timestamp(m, &tstype);
		assert_int_equal(tstype, RD_KAFKA_TIMESTAMP_CREATE_TIME);
		assert_true(ts >= BASE_NS / 1000000 + 60000);
		w = (unsigned int)((ts - BASE_NS / 1000000) / 60000 - 1);
		assert_true(w < WINDOWS);
		make_result(&r, d, w);
		assert_int_equal(ts, r.end_ns / 1000000);
		n = snk_json_result(want, sizeof(want), &r, &cfg);
		assert_int_equal(m->len, n);
		assert_memory_equal(m->payload, want, n);
		assert_int_equal(seen[d][w], 0);
		seen[d][w] = 1;
		got++;
		rd_kafka_message_destroy(m);
	}
	assert_int_equal(got, N_MSGS);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
}

static void
expect_create_error(const char *key, const char *value, const char *in_err)
{
	char err[512] = "";

	cfg_reset();
	cfg_pass("linger.ms", "1");	/* a good one before the bad one */
	cfg_pass(key, value);
	assert_null(snk_kafka_create(&cfg, bootstrap, err, sizeof(err)));
	if (strstr(err, in_err) == NULL)
		fail_msg("error '%s' does not name '%s'", err, in_err);
}

static void
test_bad_passthrough(void **state)
{
	struct snk_kafka *k;
	char err[512] = "";

	(void)state;
	expect_create_error("no.such.property", "1", "no.such.property");
	expect_create_error("acks", "bogus", "acks");
	expect_create_error("compression.type", "zip", "compression.type");
	/* valid alone, contradicts the idempotence default: rd_kafka_new refuses */
	expect_create_error("acks", "1", "acks");
	/* never echo values: they may be passwords */
	expect_create_error("no.such.secret", "hunter2", "no.such.secret");
	cfg_reset();
	cfg_pass("no.such.secret", "hunter2");
	assert_null(snk_kafka_create(&cfg, bootstrap, err, sizeof(err)));
	assert_null(strstr(err, "hunter2"));

	cfg_reset();
	assert_null(snk_kafka_create(&cfg, "", err, sizeof(err)));
	assert_non_null(strstr(err, "brokers"));
	cfg.topic_aggregated[0] = '\0';
	assert_null(snk_kafka_create(&cfg, bootstrap, err, sizeof(err)));
	assert_non_null(strstr(err, "aggregated"));

	/* passthrough keys override the SPEC defaults */
	cfg_reset();
	cfg_pass("linger.ms", "0");
	cfg_pass("compression.type", "none");
	cfg_pass("enable.idempotence", "false");
	cfg_pass("acks", "1");
	k = snk_kafka_create(&cfg, bootstrap, err, sizeof(err));
	assert_non_null(k);
	snk_kafka_destroy(k);
	snk_kafka_destroy(NULL);
}

static void
test_bad_result(void **state)
{
	const struct snk_stats *s;
	struct snk_kafka *k;
	struct wr_result r;
	char err[256];

	(void)state;
	cfg_reset();
	k = snk_kafka_create(&cfg, bootstrap, err, sizeof(err));
	assert_non_null(k);
	make_result(&r, 1, 0);
	r.id_len = WR_DEVID_MAX + 1;
	assert_int_equal(snk_kafka_produce(k, &r), -1);
	make_result(&r, 1, 0);
	assert_int_equal(snk_kafka_produce(k, &r), 0);
	assert_int_equal(snk_kafka_flush(k, 20000), 0);
	s = snk_kafka_stats(k);
	assert_int_equal(st(&s->emitted), 2);
	assert_int_equal(st(&s->delivered), 1);
	assert_int_equal(st(&s->failed), 1);
	snk_kafka_destroy(k);
}

static void
test_queue_full(void **state)
{
	const struct snk_stats *s;
	struct snk_kafka *k;
	struct wr_result r;
	char err[256];
	unsigned int i;

	(void)state;
	cfg_reset();
	/* a tiny local queue held full by linger: produce must poll and retry */
	cfg_pass("queue.buffering.max.messages", "4");
	cfg_pass("linger.ms", "20");
	k = snk_kafka_create(&cfg, bootstrap, err, sizeof(err));
	assert_non_null(k);
	for (i = 0; i < 200; i++) {
		make_result(&r, i % DEVICES, 0);
		assert_int_equal(snk_kafka_produce(k, &r), 0);
	}
	assert_int_equal(snk_kafka_flush(k, 20000), 0);
	s = snk_kafka_stats(k);
	assert_true(st(&s->produce_retries) > 0);
	assert_int_equal(st(&s->emitted), 200);
	assert_int_equal(st(&s->delivered), 200);
	assert_int_equal(st(&s->failed), 0);
	snk_kafka_destroy(k);
}

/* Nothing listens on port 1: every message must end up counted failed. */
static void
test_dead_broker(void **state)
{
	const struct snk_stats *s;
	struct snk_kafka *k;
	struct wr_result r;
	char err[256];
	unsigned int i;

	(void)state;
	cfg_reset();
	cfg_pass("message.timeout.ms", "300");
	k = snk_kafka_create(&cfg, "127.0.0.1:1", err, sizeof(err));
	assert_non_null(k);
	for (i = 0; i < 10; i++) {
		make_result(&r, i, 0);
		assert_int_equal(snk_kafka_produce(k, &r), 0);
	}
	/* the reports come as timeouts within the flush */
	assert_int_equal(snk_kafka_flush(k, 10000), 0);
	s = snk_kafka_stats(k);
	assert_int_equal(st(&s->emitted), 10);
	assert_int_equal(st(&s->delivered), 0);
	assert_int_equal(st(&s->failed), 10);
	snk_kafka_destroy(k);

	/* reports that would come too late: the flush gives up and counts them */
	cfg_reset();
	k = snk_kafka_create(&cfg, "127.0.0.1:1", err, sizeof(err));
	assert_non_null(k);
	for (i = 0; i < 10; i++) {
		make_result(&r, i, 0);
		assert_int_equal(snk_kafka_produce(k, &r), 0);
	}
	assert_int_equal(snk_kafka_flush(k, 200), -1);
	s = snk_kafka_stats(k);
	assert_int_equal(st(&s->emitted), 10);
	assert_int_equal(st(&s->delivered), 0);
	assert_int_equal(st(&s->failed), 10);
	/* later polls must not count them twice */
	snk_kafka_poll(k, 50);
	assert_int_equal(st(&s->failed), 10);
	assert_int_equal(snk_kafka_flush(k, 100), 0);
	snk_kafka_destroy(k);
}

/* ---- the sink thread over plain-memory rings ---- */

#define LOOP_RINGS	2
#define LOOP_PER_RING	2000
#define LOOP_RING_SIZE	64

struct feeder {
	struct rte_ring *ring;
	unsigned int first_dev;
	_Atomic unsigned int *done;
};

static void *
feeder_run(void *arg)
{
	struct feeder *f = arg;
	size_t esize = wr_result_size(cfg.n_metrics);
	struct wr_result r;
	unsigned int i;

	for (i = 0; i < LOOP_PER_RING; i++) {
		make_result(&r, f->first_dev + i % 1000, i / 1000);
		/* only the first esize bytes travel, as in the aggregators */
		while (rte_ring_enqueue_elem(f->ring, &r, (unsigned int)esize) != 0)
			sched_yield();
	}
	atomic_fetch_add_explicit(f->done, 1, memory_order_release);
	return NULL;
}

static void
test_loop(void **state)
{
	size_t esize = wr_result_size(2);
	struct rte_ring *rings[LOOP_RINGS];
	struct feeder feeders[LOOP_RINGS];
	pthread_t ft[LOOP_RINGS], sink;
	_Atomic unsigned int done = 0;
	struct snk_loop_arg la;
	const struct snk_stats *s;
	struct snk_kafka *k;
	char err[256], name[32];
	unsigned int i;
	ssize_t sz;

	(void)state;
	cfg_reset();
	k = snk_kafka_create(&cfg, bootstrap, err, sizeof(err));
	assert_non_null(k);
	sz = rte_ring_get_memsize_elem((unsigned int)esize, LOOP_RING_SIZE);
	assert_true(sz > 0);
	for (i = 0; i < LOOP_RINGS; i++) {
		rings[i] = aligned_alloc(RTE_CACHE_LINE_SIZE,
					 RTE_ALIGN_CEIL((size_t)sz, RTE_CACHE_LINE_SIZE));
		assert_non_null(rings[i]);
		snprintf(name, sizeof(name), "agg_to_sink_%u", i);
		assert_int_equal(rte_ring_init(rings[i], name, LOOP_RING_SIZE,
					       RING_F_SP_ENQ | RING_F_SC_DEQ), 0);
	}
	la = (struct snk_loop_arg){ .kafka = k, .rings = rings, .n_rings = LOOP_RINGS,
				    .n_metrics = 2, .producers_done = &done,
				    .n_producers = LOOP_RINGS, .flush_timeout_ms = 20000 };
	assert_int_equal(pthread_create(&sink, NULL, snk_loop, &la), 0);
	for (i = 0; i < LOOP_RINGS; i++) {
		feeders[i] = (struct feeder){ .ring = rings[i], .first_dev = i * 1000,
					      .done = &done };
		assert_int_equal(pthread_create(&ft[i], NULL, feeder_run, &feeders[i]), 0);
	}
	for (i = 0; i < LOOP_RINGS; i++)
		pthread_join(ft[i], NULL);
	pthread_join(sink, NULL);

	s = snk_kafka_stats(k);
	assert_int_equal(st(&s->emitted), LOOP_RINGS * LOOP_PER_RING);
	assert_int_equal(st(&s->delivered), LOOP_RINGS * LOOP_PER_RING);
	assert_int_equal(st(&s->failed), 0);
	for (i = 0; i < LOOP_RINGS; i++) {
		assert_true(rte_ring_empty(rings[i]));
		free(rings[i]);
	}
	snk_kafka_destroy(k);
}

static void
test_broker_errors(void **state)
{
	struct snk_broker *b;
	char bs[512], err[256], tiny[4];

	(void)state;
	cfg_reset();
	cfg.topic_alerts[0] = '\0';
	err[0] = '\0';
	assert_null(snk_broker_start(&cfg, bs, sizeof(bs), err, sizeof(err)));
	assert_non_null(strstr(err, "topic"));

	cfg_reset();
	assert_null(snk_broker_start(&cfg, tiny, sizeof(tiny), err, sizeof(err)));
	assert_non_null(strstr(err, "bootstrap"));

	/* one topic in every role is created once */
	cfg_reset();
	strcpy(cfg.topic_alerts, "aggregated");
	strcpy(cfg.topic_rejected, "aggregated");
	b = snk_broker_start(&cfg, bs, sizeof(bs), err, sizeof(err));
	assert_non_null(b);
	assert_non_null(strchr(bs, ':'));
	snk_broker_stop(b);
	snk_broker_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_produce_consume),
		cmocka_unit_test(test_bad_passthrough),
		cmocka_unit_test(test_bad_result),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_dead_broker),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_broker_errors),
	};

	return cmocka_run_group_tests(tests, setup_broker, teardown_broker);
}
