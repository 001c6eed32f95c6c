/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sink thread (a plain pthread, not an lcore: librdkafka blocks and
 * sleeps). Drains the agg_to_sink rings in bursts, produces each result,
 * serves delivery reports every pass, replays the spill journal when the
 * broker allows, and exits once every aggregator has said it is done and
 * the rings are empty, after a bounded final phase (snk_kafka_shutdown:
 * deliver or spill everything within [sink] shutdown_timeout_ms).
 */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "snk.h"
#include "wr_log.h"

#define SNK_BURST	32
#define SNK_IDLE_POLL_MS	1

static int
rings_empty(struct rte_ring **rings, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!rte_ring_empty(rings[i]))
			return 0;
	return 1;
}

static void
produce_dead_letter(struct snk_kafka *k, const void *e)
{
	snk_kafka_dead_letter(k, e);
}

static void
produce_alert(struct snk_kafka *k, const void *e)
{
	snk_kafka_alert(k, e);
}

/*
 * Dead letters and alerts go after the results of the same pass (results
 * come first), at most a burst each. @return elements produced.
 */
static unsigned int
drain_side(struct snk_kafka *k, struct rte_ring *r, size_t esize,
	   void (*produce)(struct snk_kafka *k, const void *e))
{
	union {
		struct wr_dead_letter dl;
		struct wr_alert al;
	} e;
	unsigned int n = 0;

	while (r != NULL && n < SNK_BURST && esize <= sizeof(e) &&
	       rte_ring_dequeue_elem(r, &e, (unsigned int)esize) == 0) {
		produce(k, &e);
		n++;
	}
	return n;
}

void *
snk_loop(void *arg)
{
	struct snk_loop_arg *a = arg;
	size_t esize = wr_result_size(a->n_metrics);
	struct wr_result one;
	unsigned int burst = SNK_BURST;
	unsigned int i, j, n, got;
	char *buf;

	if (a->n_metrics > WR_METRICS_MAX) {
		/* cfg_validate rules this out; never read past a result here */
		WR_LOG(WARNING, sink, "event=bad_loop_arg n_metrics=%u", a->n_metrics);
		return NULL;
	}
	/* Once, before the loop: a burst of up to 64-metric results is ~100 KiB. */
	buf = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(esize * SNK_BURST,
								 RTE_CACHE_LINE_SIZE));
	if (buf == NULL) {
		WR_LOG(WARNING, sink, "event=burst_alloc_failed fallback_burst=1");
		buf = (char *)&one;
		burst = 1;
	}
	for (;;) {
		got = 0;
		for (i = 0; i < a->n_rings; i++) {
			n = rte_ring_dequeue_burst_elem(a->rings[i], buf, (unsigned int)esize,
							burst, NULL);
			for (j = 0; j < n; j++)
				snk_kafka_produce(a->kafka,
						  (const struct wr_result *)(buf + j * esize));
			got += n;
		}
		got += drain_side(a->kafka, a->dlq, sizeof(struct wr_dead_letter),
				  produce_dead_letter);
		got += drain_side(a->kafka, a->alerts, sizeof(struct wr_alert), produce_alert);
		snk_kafka_poll(a->kafka, 0);
		snk_kafka_txn_tick(a->kafka, got == 0);
		snk_kafka_replay(a->kafka);
		if (got > 0)
			continue;
		/* done is read before the rings: every enqueue happened before its release. */
		if (atomic_load_explicit(a->producers_done, memory_order_acquire) >=
		    a->n_producers && rings_empty(a->rings, a->n_rings) &&
		    (a->dlq == NULL || rte_ring_empty(a->dlq)) &&
		    (a->alerts == NULL || rte_ring_empty(a->alerts)))
			break;
		snk_kafka_poll(a->kafka, SNK_IDLE_POLL_MS);
	}
	snk_kafka_shutdown(a->kafka, a->flush_timeout_ms);
	if (burst != 1)
		free(buf);
	return NULL;
}
