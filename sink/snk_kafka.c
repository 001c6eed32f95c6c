/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The librdkafka producer (the only place weir talks to librdkafka as a
 * client). Created by main() before the lcores start; produce, poll and
 * flush then run on the sink thread only, which is also where librdkafka
 * serves the delivery reports (rd_kafka_poll), so the counters and the
 * close_to_ack histogram have a single writer.
 *
 * Back-pressure (STYLE "Errors by phase"): a full local queue is polled
 * and retried a bounded number of times, then the result is counted failed;
 * with a spill journal ([sink] spill_dir) it is spilled at once instead, as
 * is every result whose delivery fails (message timeout, broker errors,
 * purge at shutdown). snk_kafka_replay() produces journal records again
 * once the broker answers: a batch at a time, the replay position
 * committed only when every record of the batch is delivered or spilled
 * again, one record at a time (probe) after a failure, with back-off.
 *
 * A crash between producing a replayed batch and committing it replays
 * that batch again at the next start: journal replay is at-least-once.
 *
 * Exactly-once mode (a [kafka] transactional.id): results are not produced
 * one by one but collected in a batch (encoded as journal records, in
 * memory) and the batch is produced in one Kafka transaction when the
 * rings run dry, it holds SNK_TXN_MAX results or it is SNK_TXN_AGE_MS old:
 * begin, produce all, commit (retried while retriable); on an abortable
 * error abort and produce the whole batch again in a new transaction, up
 * to SNK_TXN_ATTEMPTS times, then spill it (or count it failed). A result
 * counts delivered when its transaction commits, so a read_committed
 * consumer sees each batch whole or not at all.
 */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include <rte_cycles.h>

#include "snk.h"
#include "snk_journal.h"
#include "wr_log.h"

static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "snk_stats counters must be lock-free");

/* Queue-full retries, each after a 10 ms poll: about 5 s of back-pressure. */
#define SNK_PRODUCE_TRIES	500
#define SNK_PRODUCE_POLL_MS	10
/* Largest value: 64 escaped ids/names and 6 doubles per metric stay far below. */
#define SNK_VALUE_MAX		(64 * 1024)
#define SNK_LATENCY_MAX_NS	3600000000000ULL
/* Journal replay: records per batch, back-off after a failed batch. */
#define SNK_REPLAY_BATCH	1000
#define SNK_REPLAY_BACKOFF_MS	250
#define SNK_REPLAY_BACKOFF_MAX_MS	4000
/* Replay waits while librdkafka holds more than this: fresh results first. */
#define SNK_REPLAY_OUTQ_MAX	50000

/* Exactly-once mode: results per transaction, batch age, tries, timeouts. */
#define SNK_TXN_MAX		5000
#define SNK_TXN_AGE_MS		100
#define SNK_TXN_ATTEMPTS	3
#define SNK_TXN_BUDGET_MS	10000	/* all attempts of one batch together */
#define SNK_TXN_CALL_MIN_MS	100	/* shortest timeout worth a blocking call */

/* Opaque of replayed messages; fresh ones carry their close TSC. */
static char replay_tag;
/* Opaque of messages produced inside a transaction (counted at commit). */
static char txn_tag;

/* The batch of exactly-once mode; sink thread only. */
struct snk_txn {
	int on;			/* [kafka] transactional.id is set */
	int inited;		/* init_transactions succeeded */
	int fatal;		/* the producer hit a fatal error: spill from now on */
	uint8_t *buf;		/* journal records (snk_jrec_encode), back to back */
	size_t len, cap;
	uint64_t *tsc;		/* close TSC per record (0: replayed) */
	unsigned int n, tsc_cap;
	uint64_t first_ms;	/* when the first record joined */
};

struct snk_kafka {
	/* sink thread: rw; control plane: ro through snk_kafka_stats() */
	struct snk_stats stats;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;		/* c->topic_aggregated */
	rd_kafka_topic_t *rkt_dlq;	/* c->topic_rejected */
	rd_kafka_topic_t *rkt_alerts;	/* c->topic_alerts */
	/* exactly-once mode: dead letters and alerts (best effort, outside the
	 * transactions) go through a second, plain producer; else NULL */
	rd_kafka_t *rk_side;
	struct hdr *latency;		/* close_to_ack ns; sink thread: wo */
	/* results counted failed by a timed-out flush whose report may still come */
	uint64_t written_off;
	rd_kafka_resp_err_t last_error;	/* error_cb: log each new error once */
	struct snk_journal *jnl;	/* spill journal, or NULL; sink thread */
	struct snk_txn txn;
	unsigned int replay_inflight;	/* replayed, no delivery report yet */
	int replay_batch_open;		/* a batch was handed out, not committed */
	int replay_failed;		/* the last batch (or a fresh result) failed */
	unsigned int backoff_ms;
	uint64_t replay_not_before_ms;	/* monotonic ms */
	uint64_t end_ms;		/* shutdown deadline (monotonic ms), 0 = none */
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
	return stat_get(&k->stats.emitted) + stat_get(&k->stats.replayed) -
		stat_get(&k->stats.delivered) - stat_get(&k->stats.failed) -
		stat_get(&k->stats.spilled);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Mirror the journal's counters into the atomics the control plane reads. */
static void
journal_sync(struct snk_kafka *k)
{
	const struct snk_journal_stats *js;

	if (k->jnl == NULL)
		return;
	js = snk_journal_stats(k->jnl);
	atomic_store_explicit(&k->stats.spill_dropped_cap, js->dropped_cap, memory_order_relaxed);
	atomic_store_explicit(&k->stats.spill_dropped_io, js->dropped_io, memory_order_relaxed);
	atomic_store_explicit(&k->stats.journal_pending, snk_journal_pending(k->jnl),
			      memory_order_relaxed);
	atomic_store_explicit(&k->stats.journal_bytes, snk_journal_bytes(k->jnl),
			      memory_order_relaxed);
	atomic_store_explicit(&k->stats.journal_recovered, js->recovered, memory_order_relaxed);
	atomic_store_explicit(&k->stats.journal_torn, js->torn, memory_order_relaxed);
	atomic_store_explicit(&k->stats.journal_corrupt, js->corrupt, memory_order_relaxed);
}

/*
 * Timestamp of a failed message: librdkafka reports none (-1) with an
 * error, but it is window_end (SPEC §5), which the value carries.
 */
static int64_t
value_window_end(const void *val, size_t len)
{
	static const char field[] = "\"window_end\":";
	const char *p = memmem(val, len, field, sizeof(field) - 1);
	const char *end = (const char *)val + len;
	int64_t v = 0;

	if (p == NULL)
		return 0;	/* librdkafka then stamps the time of the replay */
	for (p += sizeof(field) - 1; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v;
}

/* Broker trouble: replay waits (doubling back-off) and then probes with one record. */
static void
replay_backoff(struct snk_kafka *k)
{
	k->replay_failed = 1;
	k->backoff_ms = k->backoff_ms == 0 ? SNK_REPLAY_BACKOFF_MS : k->backoff_ms * 2;
	if (k->backoff_ms > SNK_REPLAY_BACKOFF_MAX_MS)
		k->backoff_ms = SNK_REPLAY_BACKOFF_MAX_MS;
	k->replay_not_before_ms = mono_ms() + k->backoff_ms;
}

/*
 * Spill one result. @return 0 when it is in the journal, -1 when it is
 * counted failed (no journal, cap reached, write error).
 */
static int
spill(struct snk_kafka *k, int64_t ts_ms, const void *key, size_t klen, const void *val,
      size_t vlen)
{
	uint64_t n;
	int rc;

	if (k->jnl == NULL) {
		stat_add(&k->stats.failed, 1);
		return -1;
	}
	rc = snk_journal_append(k->jnl, ts_ms, key, klen, val, vlen);
	journal_sync(k);
	if (rc == 0) {
		stat_add(&k->stats.spilled, 1);
		return 0;
	}
	stat_add(&k->stats.failed, 1);
	n = stat_get(rc == -ENOSPC ? &k->stats.spill_dropped_cap : &k->stats.spill_dropped_io);
	/* powers of two only: a full disk must not flood the log */
	if ((n & (n - 1)) == 0)
		WR_LOG(WARNING, sink, "event=spill_dropped reason=%s err=%s dropped_total=%" PRIu64
		       "", rc == -ENOSPC ? "cap" : "io", strerror(-rc), n);
	return -1;
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
	if (m->rkt == k->rkt_alerts) {
		stat_add(m->err ? &k->stats.alerts_failed : &k->stats.alerts_delivered, 1);
		return;
	}
	if (m->rkt == k->rkt_dlq) {
		stat_add(m->err ? &k->stats.dlq_failed : &k->stats.dlq_delivered, 1);
		return;
	}
	if (m->_private == &txn_tag)
		return;	/* settled by the transaction's commit or abort */
	if (m->_private == &replay_tag && k->replay_inflight > 0)
		k->replay_inflight--;
	if (k->written_off > 0) {
		/* already counted failed when the flush gave up on it */
		k->written_off--;
		return;
	}
	if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		replay_backoff(k);
		if (k->jnl != NULL &&
		    rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
			stat_add(&k->stats.possibly_persisted, 1);
		spill(k, value_window_end(m->payload, m->len), m->key, m->key_len, m->payload,
		      m->len);
		failed = stat_get(&k->stats.failed) + stat_get(&k->stats.spilled);
		/* powers of two only: a dead cluster must not flood the log */
		if ((failed & (failed - 1)) == 0)
			WR_LOG(WARNING, sink, "event=delivery_failed topic=%s err=%s "
				"failed_total=%" PRIu64 " spilled_total=%" PRIu64 "",
				k->cfg.topic_aggregated, rd_kafka_err2name(m->err),
				stat_get(&k->stats.failed), stat_get(&k->stats.spilled));
		return;
	}
	stat_add(&k->stats.delivered, 1);
	if (m->_private == &replay_tag)
		return;
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

/* SPEC §5 defaults, then every [kafka] key (side: without transactional.id). */
static rd_kafka_conf_t *
conf_build(struct snk_kafka *k, const struct weir_config *c, const char *brokers, int side,
	   char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	unsigned int i;

	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	/* SPEC §5 defaults first so that every [kafka] key can override them. */
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (conf_set(conf, defaults[i][0], defaults[i][1], err, errlen) < 0)
			goto fail;
	if (conf_set(conf, "bootstrap.servers", brokers, err, errlen) < 0)
		goto fail;
	for (i = 0; i < c->n_kafka; i++) {
		if (side && strcmp(c->kafka[i].key, "transactional.id") == 0)
			continue;
		if (conf_set(conf, c->kafka[i].key, c->kafka[i].value, err, errlen) < 0)
			goto fail;
	}
	if (side && conf_set(conf, "client.id", "weir-side", err, errlen) < 0)
		goto fail;
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

struct snk_kafka *
snk_kafka_create(const struct weir_config *c, const char *brokers, char *err, size_t errlen)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	struct snk_kafka *k;
	rd_kafka_t *rk_best;
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

	conf = conf_build(k, c, brokers, 0, err, errlen);
	if (conf == NULL)
		goto fail;

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
	for (i = 0; i < c->n_kafka; i++)
		if (strcmp(c->kafka[i].key, "transactional.id") == 0 &&
		    c->kafka[i].value[0] != '\0')
			k->txn.on = 1;
	if (k->txn.on) {
		conf = conf_build(k, c, brokers, 1, err, errlen);
		k->rk_side = conf == NULL ? NULL :
			     rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
		if (k->rk_side == NULL) {
			if (conf != NULL) {
				snprintf(err, errlen, "[kafka] side producer: %s", errstr);
				rd_kafka_conf_destroy(conf);
			}
			snk_kafka_destroy(k);
			return NULL;
		}
	}
	rk_best = k->rk_side != NULL ? k->rk_side : k->rk;
	k->rkt_dlq = rd_kafka_topic_new(rk_best, c->topic_rejected, NULL);
	if (k->rkt_dlq == NULL) {
		snprintf(err, errlen, "[topics] rejected = %s: %s", c->topic_rejected,
			 rd_kafka_err2str(rd_kafka_last_error()));
		rd_kafka_topic_destroy(k->rkt);
		rd_kafka_destroy(k->rk);
		goto fail;
	}
	k->rkt_alerts = rd_kafka_topic_new(rk_best, c->topic_alerts, NULL);
	if (k->rkt_alerts == NULL) {
		snprintf(err, errlen, "[topics] alerts = %s: %s", c->topic_alerts,
			 rd_kafka_err2str(rd_kafka_last_error()));
		snk_kafka_destroy(k);
		return NULL;
	}
	if (c->spill_dir[0] != '\0') {
		k->jnl = snk_journal_open(c->spill_dir, c->spill_max_bytes, err, errlen);
		if (k->jnl == NULL) {
			snk_kafka_destroy(k);
			return NULL;
		}
		journal_sync(k);
		if (snk_journal_pending(k->jnl) > 0)
			WR_LOG(NOTICE, sink, "event=journal_recovered dir=%s records=%" PRIu64
			       " bytes=%" PRIu64 " torn=%" PRIu64 " corrupt=%" PRIu64 "",
			       c->spill_dir, snk_journal_pending(k->jnl),
			       snk_journal_bytes(k->jnl), snk_journal_stats(k->jnl)->torn,
			       snk_journal_stats(k->jnl)->corrupt);
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
	if (k->rkt_alerts != NULL)
		rd_kafka_topic_destroy(k->rkt_alerts);
	if (k->rk_side != NULL) {
		rd_kafka_flush(k->rk_side, 2000);
		rd_kafka_destroy(k->rk_side);
	}
	if (k->rk != NULL)
		rd_kafka_destroy(k->rk);
	snk_journal_close(k->jnl);
	free(k->txn.buf);
	free(k->txn.tsc);
	hdr_destroy(k->latency);
	free(k);
}

/* Add one record to the open batch. @return 0, or -1 out of memory. */
static int
txn_add(struct snk_kafka *k, int64_t ts_ms, const void *key, size_t klen, const void *val,
	size_t vlen, uint64_t close_tsc)
{
	struct snk_txn *t = &k->txn;
	size_t need = SNK_JREC_HDR + SNK_JREC_FIXED + klen + vlen, n;

	if (t->len + need > t->cap) {
		size_t cap = t->cap ? t->cap : 1 << 20;
		uint8_t *b;

		while (cap < t->len + need)
			cap *= 2;
		b = realloc(t->buf, cap);
		if (b == NULL)
			return -1;
		t->buf = b;
		t->cap = cap;
	}
	if (t->n == t->tsc_cap) {
		unsigned int cap = t->tsc_cap ? t->tsc_cap * 2 : 1024;
		uint64_t *p = realloc(t->tsc, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		t->tsc = p;
		t->tsc_cap = cap;
	}
	n = snk_jrec_encode(t->buf + t->len, t->cap - t->len, ts_ms, key, klen, val, vlen);
	if (n == 0)
		return -1;
	if (t->n == 0)
		t->first_ms = mono_ms();
	t->len += n;
	t->tsc[t->n++] = close_tsc;
	return 0;
}

static void
txn_error(const char *what, rd_kafka_error_t *e)
{
	WR_LOG(WARNING, sink, "event=txn_error op=%s err=%s retriable=%d abortable=%d fatal=%d "
	       "reason=\"%s\"", what, rd_kafka_error_name(e), rd_kafka_error_is_retriable(e),
	       rd_kafka_error_txn_requires_abort(e), rd_kafka_error_is_fatal(e),
	       rd_kafka_error_string(e));
}

/*
 * One attempt: (init,) begin, produce the batch, commit.
 * @return 0 committed, 1 try again (aborted or not started), -1 fatal.
 */
/* ms until deadline_ms, as a librdkafka timeout (0 when past it) */
static int
txn_left(uint64_t deadline_ms)
{
	uint64_t now = mono_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}

static int
txn_attempt(struct snk_kafka *k, uint64_t deadline_ms)
{
	struct snk_txn *t = &k->txn;
	rd_kafka_error_t *e;
	rd_kafka_resp_err_t pe;
	struct snk_jrec r;
	size_t off = 0;
	long used;
	int tries;

	if (!t->inited) {
		if (txn_left(deadline_ms) < SNK_TXN_CALL_MIN_MS)
			return 1;
		e = rd_kafka_init_transactions(k->rk, txn_left(deadline_ms));
		if (e != NULL) {
			txn_error("init", e);
			tries = rd_kafka_error_is_fatal(e) ? -1 : 1;
			rd_kafka_error_destroy(e);
			return tries;
		}
		t->inited = 1;
	}
	e = rd_kafka_begin_transaction(k->rk);
	if (e != NULL) {
		txn_error("begin", e);
		tries = rd_kafka_error_is_fatal(e) ? -1 : 1;
		rd_kafka_error_destroy(e);
		return tries;
	}
	while (off < t->len) {
		used = snk_jrec_parse(t->buf + off, t->len - off, &r);
		if (used <= 0)
			break;	/* cannot happen: we encoded it */
		for (tries = 0; tries < SNK_PRODUCE_TRIES; tries++) {
			pe = rd_kafka_producev(k->rk,
					       RD_KAFKA_V_RKT(k->rkt),
					       RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
					       RD_KAFKA_V_KEY(r.key, r.key_len),
					       RD_KAFKA_V_VALUE((void *)(uintptr_t)r.value,
								r.value_len),
					       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					       RD_KAFKA_V_TIMESTAMP(r.ts_ms),
					       RD_KAFKA_V_OPAQUE(&txn_tag),
					       RD_KAFKA_V_END);
			if (pe != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			rd_kafka_poll(k->rk, SNK_PRODUCE_POLL_MS);
		}
		if (pe != RD_KAFKA_RESP_ERR_NO_ERROR) {
			WR_LOG(WARNING, sink, "event=txn_produce_failed err=%s",
			       rd_kafka_err2name(pe));
			goto abort;
		}
		off += (size_t)used;
	}
	for (tries = 0; tries < SNK_TXN_ATTEMPTS; tries++) {
		if (txn_left(deadline_ms) < SNK_TXN_CALL_MIN_MS)
			break;
		e = rd_kafka_commit_transaction(k->rk, txn_left(deadline_ms));
		if (e == NULL)
			return 0;
		txn_error("commit", e);
		if (rd_kafka_error_is_fatal(e)) {
			rd_kafka_error_destroy(e);
			return -1;
		}
		if (rd_kafka_error_txn_requires_abort(e)) {
			rd_kafka_error_destroy(e);
			goto abort;
		}
		/* retriable (e.g. timed out): the same commit again */
		rd_kafka_error_destroy(e);
	}
abort:
	stat_add(&k->stats.txn_aborts, 1);
	/* the abort gets at least a second even past the deadline: it must end the txn */
	e = rd_kafka_abort_transaction(k->rk, txn_left(deadline_ms) > 1000 ?
					 txn_left(deadline_ms) : 1000);
	if (e != NULL) {
		txn_error("abort", e);
		tries = rd_kafka_error_is_fatal(e) ? -1 : 1;
		rd_kafka_error_destroy(e);
		/* an abort that did not finish leaves the state unknown: start over */
		if (tries > 0)
			t->inited = 0;
		return tries;
	}
	return 1;
}

/* Settle the batch: commit it (delivered) or, after every attempt, spill it. */
static void
txn_flush(struct snk_kafka *k, int budget_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)(budget_ms > 0 ? budget_ms : 0);

	if (k->end_ms != 0 && k->end_ms < deadline)
		deadline = k->end_ms;
	struct snk_txn *t = &k->txn;
	uint64_t hz = rte_get_tsc_hz(), now;
	struct snk_jrec r;
	size_t off = 0;
	unsigned int i;
	long used;
	int rc = t->fatal ? -1 : 1, attempt;

	if (t->n == 0)
		return;
	/*
	 * Right after a failure, with a journal: spill at once rather than
	 * block the sink again (the journal's replay probes the broker).
	 */
	if (k->jnl != NULL && mono_ms() < k->replay_not_before_ms)
		rc = 1;
	else
		for (attempt = 0; rc > 0 && attempt < SNK_TXN_ATTEMPTS &&
		     txn_left(deadline) >= SNK_TXN_CALL_MIN_MS; attempt++)
			rc = txn_attempt(k, deadline);
	if (rc == 0) {
		stat_add(&k->stats.txn_commits, 1);
		stat_add(&k->stats.delivered, t->n);
		now = hz != 0 ? rte_rdtsc() : 0;
		for (i = 0; i < t->n; i++)
			if (hz != 0 && t->tsc[i] != 0 && now >= t->tsc[i])
				hdr_record(k->latency, tsc_to_ns(now - t->tsc[i], hz));
		k->backoff_ms = 0;
	} else {
		if (rc < 0 && !t->fatal) {
			t->fatal = 1;
			WR_LOG(ERR, sink, "event=txn_fatal action=%s",
			       k->jnl != NULL ? "spill_from_now_on" : "count_failed");
		}
		while (off < t->len) {
			used = snk_jrec_parse(t->buf + off, t->len - off, &r);
			if (used <= 0)
				break;
			spill(k, r.ts_ms, r.key, r.key_len, r.value, r.value_len);
			off += (size_t)used;
		}
		replay_backoff(k);
	}
	t->len = 0;
	t->n = 0;
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
	if (k->txn.on) {
		if (txn_add(k, res->end_ns / 1000000, res->id, res->id_len, k->value, len,
			    res->close_tsc) == 0)
			return 0;
		return spill(k, res->end_ns / 1000000, res->id, res->id_len, k->value, len);
	}
	/* with a journal a full queue spills at once: the sink never stalls */
	for (tries = 0; tries < (k->jnl != NULL ? 2 : SNK_PRODUCE_TRIES); tries++) {
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
		rd_kafka_poll(k->rk, k->jnl != NULL ? 0 : SNK_PRODUCE_POLL_MS);
	}
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	return spill(k, res->end_ns / 1000000, res->id, res->id_len, k->value, len);
}

unsigned int
snk_kafka_replay(struct snk_kafka *k)
{
	unsigned int n = 0, batch;
	rd_kafka_resp_err_t e;
	struct snk_jrec r;
	int rc;

	if (k->jnl == NULL || k->replay_inflight > 0 || (k->txn.on && k->txn.n > 0))
		return 0;
	if (k->replay_batch_open) {
		/* every record of the batch is delivered or spilled again */
		rc = snk_journal_commit(k->jnl);
		if (rc < 0)
			WR_LOG(WARNING, sink, "event=journal_commit_failed err=%s", strerror(-rc));
		k->replay_batch_open = 0;
		journal_sync(k);
	}
	if (snk_journal_pending(k->jnl) == 0 || mono_ms() < k->replay_not_before_ms ||
	    rd_kafka_outq_len(k->rk) > SNK_REPLAY_OUTQ_MAX)
		return 0;
	batch = k->replay_failed ? 1 : SNK_REPLAY_BATCH;
	while (n < batch) {
		rc = snk_journal_next(k->jnl, &r);
		if (rc == 0)
			break;
		if (rc < 0) {
			WR_LOG(WARNING, sink, "event=journal_read_failed err=%s", strerror(-rc));
			replay_backoff(k);
			break;
		}
		k->replay_batch_open = 1;
		stat_add(&k->stats.replayed, 1);
		if (k->txn.on) {
			/* into a transaction of their own, settled below */
			if (txn_add(k, r.ts_ms, r.key, r.key_len, r.value, r.value_len, 0) < 0)
				spill(k, r.ts_ms, r.key, r.key_len, r.value, r.value_len);
			n++;
			continue;
		}
		e = rd_kafka_producev(k->rk,
				      RD_KAFKA_V_RKT(k->rkt),
				      RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
				      RD_KAFKA_V_KEY(r.key, r.key_len),
				      RD_KAFKA_V_VALUE((void *)(uintptr_t)r.value, r.value_len),
				      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_TIMESTAMP(r.ts_ms),
				      RD_KAFKA_V_OPAQUE(&replay_tag),
				      RD_KAFKA_V_END);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			/* back to the journal's tail; settled, so the batch may commit */
			spill(k, r.ts_ms, r.key, r.key_len, r.value, r.value_len);
			replay_backoff(k);
			break;
		}
		k->replay_inflight++;
		n++;
	}
	if (n > 0 && !k->replay_failed)
		k->backoff_ms = 0;
	if (n > 0)
		k->replay_failed = 0;	/* a probe that fails sets it again */
	if (k->txn.on && n > 0) {
		txn_flush(k, SNK_TXN_BUDGET_MS);
		snk_journal_commit(k->jnl);
		k->replay_batch_open = 0;
	}
	journal_sync(k);
	return n;
}

void
snk_kafka_txn_tick(struct snk_kafka *k, int idle)
{
	struct snk_txn *t = &k->txn;

	if (!t->on || t->n == 0)
		return;
	if (idle || t->n >= SNK_TXN_MAX || mono_ms() - t->first_ms >= SNK_TXN_AGE_MS)
		txn_flush(k, SNK_TXN_BUDGET_MS);
}

uint64_t
snk_kafka_backlog(const struct snk_kafka *k)
{
	return k->jnl != NULL ? snk_journal_pending(k->jnl) + k->replay_inflight : 0;
}

int
snk_kafka_shutdown(struct snk_kafka *k, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	uint64_t left, now;
	int i;

	if (k == NULL)
		return 0;
	k->end_ms = deadline;
	if (k->txn.on)
		txn_flush(k, SNK_TXN_BUDGET_MS);
	/* no back-off at the end: one probe now, then as the broker allows */
	for (;;) {
		snk_kafka_replay(k);
		rd_kafka_poll(k->rk, 10);
		now = mono_ms();
		if ((outstanding(k) == 0 && snk_kafka_backlog(k) == 0) || now >= deadline)
			break;
		if (k->jnl != NULL && outstanding(k) == 0 && k->replay_not_before_ms > now &&
		    k->replay_not_before_ms >= deadline)
			break;	/* nothing in flight, next probe past the deadline */
	}
	if (outstanding(k) > 0) {
		/*
		 * Timed out. Purging makes librdkafka report what is left as
		 * failed (ERR__PURGE_*): spilled with a journal, else counted
		 * failed, keeping the invariant. Queued first; in flight (the
		 * broker may have it) only after a short grace.
		 */
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE);
		for (i = 0; i < 100 && outstanding(k) > 0; i++)
			rd_kafka_poll(k->rk, 10);
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		for (i = 0; i < 100 && outstanding(k) > 0; i++)
			rd_kafka_poll(k->rk, 10);
		left = outstanding(k);
		if (left > 0) {
			stat_add(&k->stats.failed, left);
			k->written_off += left;
		}
		WR_LOG(WARNING, sink, "event=shutdown_timeout timeout_ms=%d failed_total=%" PRIu64
			" spilled_total=%" PRIu64 " written_off=%" PRIu64 "", timeout_ms,
			stat_get(&k->stats.failed), stat_get(&k->stats.spilled), left);
	}
	/* dead letters and alerts still in flight: best effort, bounded */
	now = mono_ms();
	rd_kafka_flush(k->rk_side != NULL ? k->rk_side : k->rk,
		       now < deadline ? (int)RTE_MIN(deadline - now, (uint64_t)5000) : 0);
	if (k->jnl != NULL && k->replay_inflight == 0 && k->replay_batch_open) {
		snk_journal_commit(k->jnl);
		k->replay_batch_open = 0;
	}
	journal_sync(k);
	if (stat_get(&k->stats.failed) > 0)
		return -1;
	return k->jnl != NULL && snk_journal_pending(k->jnl) > 0 ? 1 : 0;
}

/*
 * Dead letters and alerts: best effort, one try (a full queue counts it
 * failed at once: they must never slow the results down), through the side
 * producer in exactly-once mode.
 */
static int
produce_best_effort(struct snk_kafka *k, rd_kafka_topic_t *rkt, const void *key, size_t klen,
		    size_t len, int64_t ts_ms, _Atomic uint64_t *failed)
{
	rd_kafka_resp_err_t e;

	if (len == 0) {
		stat_add(failed, 1);
		return -1;
	}
	e = rd_kafka_producev(k->rk_side != NULL ? k->rk_side : k->rk,
			      RD_KAFKA_V_RKT(rkt),
			      RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
			      RD_KAFKA_V_KEY(key, klen),
			      RD_KAFKA_V_VALUE(k->value, len),
			      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			      RD_KAFKA_V_TIMESTAMP(ts_ms),
			      RD_KAFKA_V_END);
	if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	stat_add(failed, 1);
	return -1;
}

int
snk_kafka_dead_letter(struct snk_kafka *k, const struct wr_dead_letter *dl)
{
	char key[64];
	size_t klen = snk_json_addr(key, sizeof(key), dl);

	return produce_best_effort(k, k->rkt_dlq, key, klen,
				   snk_json_dead_letter(k->value, sizeof(k->value), dl),
				   dl->arrival_ns / 1000000, &k->stats.dlq_failed);
}

int
snk_kafka_alert(struct snk_kafka *k, const struct wr_alert *a)
{
	return produce_best_effort(k, k->rkt_alerts, a->id, a->id_len,
				   snk_json_alert(k->value, sizeof(k->value), a),
				   a->event_ns / 1000000, &k->stats.alerts_failed);
}

void
snk_kafka_poll(struct snk_kafka *k, int timeout_ms)
{
	if (k->rk_side != NULL)
		rd_kafka_poll(k->rk_side, 0);
	rd_kafka_poll(k->rk, timeout_ms);
}

int
snk_kafka_flush(struct snk_kafka *k, int timeout_ms)
{
	uint64_t left;
	int i;

	if (k == NULL)
		return 0;
	if (k->rk_side != NULL)	/* dead letters and alerts: best effort, bounded */
		rd_kafka_flush(k->rk_side, timeout_ms < 5000 ? timeout_ms : 5000);
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
