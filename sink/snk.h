/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The Kafka sink (SPEC §5): serialises closed windows as JSON and produces
 * them with librdkafka (wrapped here only). One dedicated sink thread runs
 * snk_loop(); the embedded broker (librdkafka mock cluster) lives here too.
 */
#ifndef SNK_H
#define SNK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "hdr.h"
#include "wr_alert.h"
#include "wr_types.h"

struct rte_ring;
struct snk_kafka;
struct snk_broker;

/* Written by the sink thread only, read by anyone (relaxed atomics). */
struct snk_stats {
	_Atomic uint64_t emitted;	/* results handed to produce (device windows) */
	_Atomic uint64_t delivered;	/* delivery reports without error */
	_Atomic uint64_t failed;	/* delivery reports with error, or produce gave up */
	_Atomic uint64_t produce_retries; /* queue full: polled and retried */
	_Atomic uint64_t dlq_delivered;	/* dead letters on topic rejected */
	_Atomic uint64_t dlq_failed;
	_Atomic uint64_t alerts_delivered; /* alerts on topic alerts */
	_Atomic uint64_t alerts_failed;
	/*
	 * Spill journal ([sink] spill_dir). Every produce attempt, of a fresh
	 * result (emitted) or of one read back from the journal (replayed),
	 * ends delivered, failed or spilled:
	 *   emitted + replayed = delivered + failed + spilled (+ in flight).
	 */
	_Atomic uint64_t spilled;	/* results appended to the journal */
	_Atomic uint64_t replayed;	/* results read back and produced again */
	_Atomic uint64_t spill_dropped_cap; /* not spilled: spill_max_bytes (also failed) */
	_Atomic uint64_t spill_dropped_io;  /* not spilled: write error (also failed) */
	_Atomic uint64_t possibly_persisted; /* spilled although the broker may have it */
	_Atomic uint64_t journal_pending;   /* gauge: records waiting for replay */
	_Atomic uint64_t journal_bytes;	    /* gauge: segment bytes on disk */
	_Atomic uint64_t journal_recovered; /* pending at start (left by an earlier run) */
	_Atomic uint64_t journal_torn;	    /* torn last records cut at start */
	_Atomic uint64_t journal_corrupt;   /* bad CRC/length: rest of a segment lost */
	_Atomic uint64_t txn_commits;	    /* exactly-once mode: transactions committed */
	_Atomic uint64_t txn_aborts;	    /* ... aborted (their batch produced again) */
};

/**
 * Start the embedded broker: a librdkafka mock cluster with the three
 * topics of c ([topics] aggregated/alerts/rejected), c->partitions each.
 * @param bootstrap  receives "host:port,..." to connect to.
 * @return the broker, or NULL with err filled.
 */
struct snk_broker *snk_broker_start(const struct weir_config *c, char *bootstrap, size_t len,
				    char *err, size_t errlen);
void snk_broker_stop(struct snk_broker *b);	/* accepts NULL */

/**
 * Fault injection on a running broker (tests, demos), one command a line:
 *   down | up                 every broker refuses / accepts connections
 *   rtt MS                    add MS ms of round-trip time (0 = none)
 *   errors API N ERR          fail the next N requests of Kafka API key API
 *                             (0 = Produce) with error code ERR (a Kafka
 *                             code, e.g. 7 REQUEST_TIMED_OUT, or -195 =
 *                             transport: disconnect)
 *   clear API                 forget pushed errors of API
 * Any thread. @return 0, or -1 with the reason in msg (msg always filled).
 */
int snk_broker_fault(struct snk_broker *b, const char *cmd, char *msg, size_t msglen);

/**
 * Create the producer: SPEC §5 defaults (acks=all, idempotence,
 * murmur2_random, lz4, small linger) then every [kafka] passthrough key.
 * @param brokers  bootstrap servers (already resolved from "embedded").
 * @return the producer, or NULL with err naming the bad property.
 */
struct snk_kafka *snk_kafka_create(const struct weir_config *c, const char *brokers, char *err,
				   size_t errlen);
void snk_kafka_destroy(struct snk_kafka *k);	/* accepts NULL */

/**
 * Serialise and produce one window result (key = device id, timestamp =
 * window_end). On a full local queue: poll and retry a bounded number of
 * times, then count it failed.
 * @return 0 when queued, -1 when counted failed.
 */
int snk_kafka_produce(struct snk_kafka *k, const struct wr_result *res);

/**
 * Produce one dead letter to the rejected topic (key = source address).
 * Best effort: a full queue counts it failed at once (no retries: dead
 * letters must never slow the results down).
 */
int snk_kafka_dead_letter(struct snk_kafka *k, const struct wr_dead_letter *dl);

/** Produce one alert to the alerts topic (key = device id); best effort like dead letters. */
int snk_kafka_alert(struct snk_kafka *k, const struct wr_alert *a);

/** JSON of an alert. @return bytes written, 0 when cap is too small. */
size_t snk_json_alert(char *buf, size_t cap, const struct wr_alert *a);

/**
 * Replay the spill journal: when nothing replayed is still in flight,
 * settle the previous batch and, unless the broker failed recently
 * (back-off), produce the next batch of journal records. Sink thread.
 * @return records produced by this call.
 */
unsigned int snk_kafka_replay(struct snk_kafka *k);

/**
 * Exactly-once mode ([kafka] transactional.id): commit the open batch in
 * one transaction when idle (the rings ran dry) or it is big or old enough.
 * No-op otherwise. Sink thread; blocks while the transaction commits.
 */
void snk_kafka_txn_tick(struct snk_kafka *k, int idle);

/** Records waiting in the journal or replayed and not yet settled (0 without one). */
uint64_t snk_kafka_backlog(const struct snk_kafka *k);

/**
 * The final phase (end of replay, SIGTERM/SIGINT): deliver what is queued
 * and replay the journal until both are done or timeout_ms passed, then
 * spill (or count failed) whatever is left. Sink thread.
 * @return 0 when everything was delivered, 1 when some is left spilled,
 *   -1 when some was counted failed.
 */
int snk_kafka_shutdown(struct snk_kafka *k, int timeout_ms);

/** Serve delivery reports (updates stats and the close_to_ack histogram). */
void snk_kafka_poll(struct snk_kafka *k, int timeout_ms);

/** Wait for every outstanding delivery report. @return 0, or -1 on timeout. */
int snk_kafka_flush(struct snk_kafka *k, int timeout_ms);

const struct snk_stats *snk_kafka_stats(const struct snk_kafka *k);
/** Messages waiting in librdkafka (queued or in flight); any thread. */
int snk_kafka_outq(const struct snk_kafka *k);
/** close_to_ack latency in ns; written by the sink thread. */
const struct hdr *snk_kafka_latency(const struct snk_kafka *k);

/**
 * Write the SPEC §5 JSON of one result into buf.
 * @return bytes written (no NUL counted), or 0 when cap is too small.
 */
size_t snk_json_result(char *buf, size_t cap, const struct wr_result *res,
		       const struct weir_config *c);

/** JSON of a dead letter. @return bytes written, 0 when cap is too small. */
size_t snk_json_dead_letter(char *buf, size_t cap, const struct wr_dead_letter *dl);
/** "ip:port" / "[ip6]:port" of a dead letter's source. @return length or 0. */
size_t snk_json_addr(char *buf, size_t cap, const struct wr_dead_letter *dl);

/** Shortest decimal that parses back to exactly v (finite v). @return length. */
size_t snk_json_double(char *buf, size_t cap, double v);
/** The same bytes as snk_json_double via snprintf/strtod (its reference). */
size_t snk_json_double_plain(char *buf, size_t cap, double v);

/* Argument of snk_loop. */
struct snk_loop_arg {
	struct snk_kafka *kafka;
	struct rte_ring **rings;	/* agg_to_sink rings, single consumer: this thread */
	unsigned int n_rings;
	unsigned int n_metrics;		/* ring element = wr_result_size(n_metrics) */
	struct rte_ring *dlq;		/* rx_to_sink_dlq (struct wr_dead_letter), or NULL */
	struct rte_ring *alerts;	/* agg_to_sink_alerts (struct wr_alert), or NULL */
	/* aggregators that will enqueue nothing more (each: +1 once, release);
	 * the loop exits when it equals n_producers and every ring is empty. */
	_Atomic unsigned int *producers_done;
	unsigned int n_producers;
	int flush_timeout_ms;		/* final phase bound ([sink] shutdown_timeout_ms) */
};

/** The sink thread: drain rings, produce in batches, poll, flush at the end. */
void *snk_loop(void *arg);

#endif /* SNK_H */
