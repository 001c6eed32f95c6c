/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The librdkafka producer (the only place weir talks to librdkafka as a
 * client). Created by main() before the lcores start; produce, poll and
 * flush then run on the sink thread only, which is also where librdkafka
 * serves the delivery reports (rd_kafka_poll), so the counters and the
 * close_to_ack histogram have a single writer.
 *
 * Back-pressure (STYLE "Errors by phase"): a full local queue is polled
 * and retried a bounded number of times, then the result is counted failed.
 */

#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include <rte_cycles.h>

#include "snk.h"
#include "wr_log.h"

static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "snk_stats counters must be lock-free");

/* Queue-full retries, each after a 10 ms poll: about 5 s of back-pressure. */
#define SNK_PRODUCE_TRIES	500
#define SNK_PRODUCE_POLL_MS	10
/* Largest value: 64 escaped ids/names and 6 doubles per metric stay far below. */
#define SNK_VALUE_MAX		(64 * 1024)
#define SNK_LATENCY_MAX_NS	3600000000000ULL

struct snk_kafka {
	/* sink thread: rw; control plane: ro through snk_kafka_stats() */
	struct snk_stats stats;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;		/* c->topic_aggregated */
	rd_kafka_topic_t *rkt_dlq;	/* c->topic_rejected */
	struct hdr *latency;		/* close_to_ack ns; sink thread: wo */
	/* results counted failed by a timed-out flush whose report may still come */
	uint64_t written_off;
	rd_kafka_resp_err_t last_error;	/* error_cb: log each new error once */
	struct weir_config cfg;		/* own copy: metric names for the JSON */
	char value[SNK_VALUE_MAX];
};

/* Single writer: a relaxed load + store is enough and avoids a locked add. */
static inline void
stat_add(_Atomic uint64_t *ctr, uint64_t n)
{
	atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t
stat_get(const _Atomic uint64_t *ctr)
{
	return atomic_load_explicit(ctr, memory_order_relaxed);
}

static uint64_t
outstanding(const struct snk_kafka *k)
{
	return stat_get(&k->stats.emitted) - stat_get(&k->stats.delivered) -
		stat_get(&k->stats.failed);
}

static void
kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	rte_log(wr_log_from_syslog(level), wr_logtype_sink,
		"weir.sink: event=rdkafka_log instance=%s level=%d fac=%s msg=\"%s\"\n",
		rd_kafka_name(rk), level, fac, buf);
}

static void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct snk_kafka *k = opaque;

	/*
	 * The log callback already reports each failed connection; a dead
	 * broker would otherwise repeat the same error on every reconnect.
	 */
	if ((rd_kafka_resp_err_t)err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    (rd_kafka_resp_err_t)err == k->last_error)
		return;
	k->last_error = (rd_kafka_resp_err_t)err;
	WR_LOG(WARNING, sink, "event=kafka_error instance=%s err=%s reason=\"%s\"",
		rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static uint64_t
tsc_to_ns(uint64_t delta, uint64_t hz)
{
	/* split so that delta * 1e9 cannot overflow */
	return delta / hz * 1000000000ULL + delta % hz * 1000000000ULL / hz;
}

/* Served by rd_kafka_poll/flush, i.e. on the sink thread. */
static void
kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct snk_kafka *k = opaque;
	uint64_t close_tsc = (uint64_t)(uintptr_t)m->_private;
	uint64_t hz, now, failed;

	(void)rk;
	if (m->rkt == k->rkt_dlq) {
		stat_add(m->err ? &k->stats.dlq_failed : &k->stats.dlq_delivered, 1);
		return;
	}
	if (k->written_off > 0) {
		/* already counted failed when the flush gave up on it */
		k->written_off--;
		return;
	}
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		stat_add(&k->stats.failed, 1);
		failed = stat_get(&k->stats.failed);
		/* powers of two only: a dead cluster must not flood the log */
		if ((failed & (failed - 1)) == 0)
			WR_LOG(WARNING, sink, "event=delivery_failed topic=%s err=%s "
				"failed_total=%" PRIu64 "", k->cfg.topic_aggregated,
				rd_kafka_err2name(m->err), failed);
		return;
	}
	stat_add(&k->stats.delivered, 1);
	/* 0 until the EAL is up (unit tests, tools): no clock, no latency. */
	hz = rte_get_tsc_hz();
	if (hz == 0 || close_tsc == 0)
		return;
	now = rte_rdtsc();
	if (now < close_tsc)
		return;
	hdr_record(k->latency, tsc_to_ns(now - close_tsc, hz));
}

static int
conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errlen)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK)
		return 0;
	/* never echo the value: it may be a sasl.password */
	snprintf(err, errlen, "[kafka] %s: %s", key, errstr);
	return -1;
}

struct snk_kafka *
snk_kafka_create(const struct weir_config *c, const char *brokers, char *err, size_t errlen)
{
	static const char *const defaults[][2] = {
		{ "acks", "all" },
		{ "enable.idempotence", "true" },
		{ "partitioner", "murmur2_random" },
		{ "compression.type", "lz4" },
		{ "linger.ms", "5" },
		{ "queue.buffering.max.messages", "1000000" },
		{ "client.id", "weir" },
		{ "log_level", "4" },
	};
	char errstr[512];
	rd_kafka_conf_t *conf;
	struct snk_kafka *k;
	unsigned int i;

	if (brokers == NULL || brokers[0] == '\0') {
		snprintf(err, errlen, "[kafka] brokers: empty bootstrap server list");
		return NULL;
	}
	if (c->topic_aggregated[0] == '\0') {
		snprintf(err, errlen, "[topics] aggregated: empty topic name");
		return NULL;
	}
	if (c->n_kafka > CFG_PASS_MAX) {
		snprintf(err, errlen, "[kafka] %u passthrough properties, at most %d",
			 c->n_kafka, CFG_PASS_MAX);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		snprintf(err, errlen, "sink: out of memory");
		return NULL;
	}
	k->cfg = *c;
	k->latency = hdr_create(SNK_LATENCY_MAX_NS, 3);
	if (k->latency == NULL) {
		snprintf(err, errlen, "sink: cannot create the close_to_ack histogram");
		free(k);
		return NULL;
	}

	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	/* SPEC §5 defaults first so that every [kafka] key can override them. */
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (conf_set(conf, defaults[i][0], defaults[i][1], err, errlen) < 0)
			goto fail_conf;
	if (conf_set(conf, "bootstrap.servers", brokers, err, errlen) < 0)
		goto fail_conf;
	for (i = 0; i < c->n_kafka; i++)
		if (conf_set(conf, c->kafka[i].key, c->kafka[i].value, err, errlen) < 0)
			goto fail_conf;

	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (k->rk == NULL) {
		/* e.g. properties that contradict each other (acks=1 with idempotence) */
		snprintf(err, errlen, "[kafka] producer: %s", errstr);
		goto fail_conf;
	}
	k->rkt = rd_kafka_topic_new(k->rk, c->topic_aggregated, NULL);
	if (k->rkt == NULL) {
		snprintf(err, errlen, "[topics] aggregated = %s: %s", c->topic_aggregated,
			 rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_destroy(k->rk);
		goto fail;
	}
	k->rkt_dlq = rd_kafka_topic_new(k->rk, c->topic_rejected, NULL);
	if (k->rkt_dlq == NULL) {
		snprintf(err, errlen, "[topics] rejected = %s: %s", c->topic_rejected,
			 rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_topic_destroy(k->rkt);
		rd_kafka_destroy(k->rk);
		goto fail;
	}
	return k;

fail_conf:
	rd_kafka_conf_destroy(conf);
fail:
	hdr_destroy(k->latency);
	free(k);
	return NULL;
}

void
snk_kafka_destroy(struct snk_kafka *k)
{
	if (k == NULL)
		return;
	if (k->rkt != NULL)
		rd_kafka_topic_destroy(k->rkt);
	if (k->rkt_dlq != NULL)
		rd_kafka_topic_destroy(k->rkt_dlq);
	if (k->rk != NULL)
		rd_kafka_destroy(k->rk);
	hdr_destroy(k->latency);
	free(k);
}

int
snk_kafka_produce(struct snk_kafka *k, const struct wr_result *res)
{
	size_t len = snk_json_result(k->value, sizeof(k->value), res, &k->cfg);
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
	unsigned int tries;

	stat_add(&k->stats.emitted, 1);
	if (len == 0) {
		/* a malformed result (bad id length): nothing sensible to send */
		stat_add(&k->stats.failed, 1);
		return -1;
	}
	for (tries = 0; tries < SNK_PRODUCE_TRIES; tries++) {
		e = rd_kafka_producev(k->rk,
				      RD_KAFKA_V_RKT(k->rkt),
				      RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
				      RD_KAFKA_V_KEY(res->id, res->id_len),
				      RD_KAFKA_V_VALUE(k->value, len),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_TIMESTAMP(res->end_ns / 1000000),
				      RD_KAFKA_V_OPAQUE((void *)(uintptr_t)res->close_tsc),
				      RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		stat_add(&k->stats.produce_retries, 1);
		/* serving delivery reports is what frees queue space */
		rd_kafka_poll(k->rk, SNK_PRODUCE_POLL_MS);
	}
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	stat_add(&k->stats.failed, 1);
	return -1;
}

int
snk_kafka_dead_letter(struct snk_kafka *k, const struct wr_dead_letter *dl)
{
	char key[64];
	size_t klen = snk_json_addr(key, sizeof(key), dl);
	size_t len = snk_json_dead_letter(k->value, sizeof(k->value), dl);
	rd_kafka_resp_err_t e;

	if (len == 0) {
		stat_add(&k->stats.dlq_failed, 1);
		return -1;
	}
	e = rd_kafka_producev(k->rk,
			      RD_KAFKA_V_RKT(k->rkt_dlq),
			      RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
			      RD_KAFKA_V_KEY(key, klen),
			      RD_KAFKA_V_VALUE(k->value, len),
			      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			      RD_KAFKA_V_TIMESTAMP(dl->arrival_ns / 1000000),
			      RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	stat_add(&k->stats.dlq_failed, 1);
	return -1;
}

void
snk_kafka_poll(struct snk_kafka *k, int timeout_ms)
{
	rd_kafka_poll(k->rk, timeout_ms);
}

int
snk_kafka_flush(struct snk_kafka *k, int timeout_ms)
{
	uint64_t left;
	int i;

	if (k == NULL)
		return 0;
	rd_kafka_flush(k->rk, timeout_ms);
	if (outstanding(k) == 0)
		return 0;
	/*
	 * Timed out. Purging makes librdkafka report what is left as failed
	 * (ERR__PURGE_*), keeping emitted == delivered + failed.
	 */
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	for (i = 0; i < 100 && outstanding(k) > 0; i++)
		rd_kafka_poll(k->rk, 10);
	left = outstanding(k);
	if (left > 0) {
		stat_add(&k->stats.failed, left);
		k->written_off += left;
	}
	WR_LOG(WARNING, sink, "event=flush_timeout timeout_ms=%d failed_total=%" PRIu64
		" written_off=%" PRIu64 "", timeout_ms, stat_get(&k->stats.failed), left);
	return -1;
}

const struct snk_stats *
snk_kafka_stats(const struct snk_kafka *k)
{
	return &k->stats;
}

const struct hdr *
snk_kafka_latency(const struct snk_kafka *k)
{
	return k->latency;
}

int
snk_kafka_outq(const struct snk_kafka *k)
{
	/* rd_kafka_outq_len is thread safe: the control plane may call it */
	return k != NULL ? rd_kafka_outq_len(k->rk) : 0;
}
