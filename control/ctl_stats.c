/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Stats snapshots: sums every lcore's counters (single writer each, read
 * without locks), ring fill levels, Kafka health, and rates against the
 * previous sample. Control thread only.
 */
#include <string.h>
#include <time.h>

#include <rte_ring.h>

#include "ctl_priv.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
rate(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 && now >= before ? (double)(now - before) / dt : 0.0;
}

static double
busy(const struct wr_counters *now, const struct wr_counters *before)
{
	uint64_t b = now->v[WR_CTR_POLLS_BUSY] - before->v[WR_CTR_POLLS_BUSY];
	uint64_t i = now->v[WR_CTR_POLLS_IDLE] - before->v[WR_CTR_POLLS_IDLE];

	return b + i ? 100.0 * (double)b / (double)(b + i) : 0.0;
}

int64_t
ctl_watermark(const struct ctl_pipeline *pl)
{
	int64_t m = INT64_MAX, v;
	unsigned int q;

	for (q = 0; q < pl->n_rx; q++) {
		v = atomic_load_explicit(&pl->rx[q].watermark_ns, memory_order_relaxed);
		if (v < m)
			m = v;
	}
	return pl->n_rx == 0 ? INT64_MIN : m;
}

void
ctl_stats_sample(struct ctl_pipeline *pl, struct ctl_stats *out)
{
	const struct ctl_stats *prev = &pl->prev;
	const struct snk_stats *ks = snk_kafka_stats(pl->kafka);
	double t = now_s();
	double dt = pl->prev_s > 0 ? t - pl->prev_s : 0;
	struct timespec ts;
	unsigned int w, q, n = 0, n_rx;

	memset(out, 0, sizeof(*out));
	out->uptime_s = t - pl->start_s;
	out->interval_s = dt;

	/* the RX lcores */
	for (q = 0; q < pl->n_rx && n < CTL_LCORES_MAX; q++) {
		struct ctl_lcore_stats *l = &out->lc[n++];

		if (pl->n_rx == 1)
			snprintf(l->role, sizeof(l->role), "rx");
		else
			snprintf(l->role, sizeof(l->role), "rx%u", q);
		l->lcore_id = pl->rx_lcore[q];
		wr_counters_add(&l->ctr, &pl->ctr[q]);
		if (pl->replay_rings[q] != NULL) {
			l->ring_used = rte_ring_count(pl->replay_rings[q]);
			l->ring_size = rte_ring_get_capacity(pl->replay_rings[q]);
		}
		if (pl->n_workers == 0) {
			l->lat = pl->lat[0];
			l->out_used = rte_ring_count(pl->to_sink[0]);
			l->out_size = rte_ring_get_capacity(pl->to_sink[0]);
		}
	}
	n_rx = n;
	for (w = 0; w < pl->n_workers && n < CTL_LCORES_MAX; w++) {
		struct ctl_lcore_stats *l = &out->lc[n++];

		snprintf(l->role, sizeof(l->role), "agg%u", w);
		l->lcore_id = pl->agg_lcore[w];
		wr_counters_add(&l->ctr, &pl->ctr[pl->n_rx + w]);
		for (q = 0; q < pl->n_rx; q++) {
			const struct rte_ring *r = pl->to_agg[q * pl->n_workers + w];

			l->ring_used += rte_ring_count(r);
			l->ring_size += rte_ring_get_capacity(r);
		}
		l->out_used = rte_ring_count(pl->to_sink[w]);
		l->out_size = rte_ring_get_capacity(pl->to_sink[w]);
		l->devices = atomic_load_explicit(&pl->workers[w].devices, memory_order_relaxed);
		l->lat = pl->lat[w];
		out->devices += l->devices;
	}
	out->n_lcores = n;
	for (w = 0; w < n; w++) {
		struct ctl_lcore_stats *l = &out->lc[w];
		const struct wr_counters *before = &prev->lc[w].ctr;

		wr_counters_add(&out->sum, &l->ctr);
		if (prev->n_lcores != n)
			continue;
		l->busy_pct = busy(&l->ctr, before);
		if (w < n_rx) {
			l->pkts_per_s = rate(l->ctr.v[WR_CTR_PKT_RX], before->v[WR_CTR_PKT_RX], dt);
			l->recs_per_s = rate(l->ctr.v[WR_CTR_REC_ROUTED],
					     before->v[WR_CTR_REC_ROUTED], dt);
		} else {
			l->recs_per_s = rate(l->ctr.v[WR_CTR_REC_FOLDED],
					     before->v[WR_CTR_REC_FOLDED], dt);
		}
	}
	if (prev->n_lcores == n) {
		out->pkts_per_s = rate(out->sum.v[WR_CTR_PKT_RX], prev->sum.v[WR_CTR_PKT_RX], dt);
		out->recs_per_s = rate(out->sum.v[WR_CTR_REC_ROUTED],
				       prev->sum.v[WR_CTR_REC_ROUTED],
				       dt);
	}
	if (pl->n_workers == 0)
		out->devices = out->lc[0].devices =
			atomic_load_explicit(&pl->rx[0].inline_devices, memory_order_relaxed);
	out->kafka_emitted = atomic_load_explicit(&ks->emitted, memory_order_relaxed);
	out->kafka_delivered = atomic_load_explicit(&ks->delivered, memory_order_relaxed);
	out->kafka_failed = atomic_load_explicit(&ks->failed, memory_order_relaxed);
	out->kafka_retries = atomic_load_explicit(&ks->produce_retries, memory_order_relaxed);
	out->kafka_outq = snk_kafka_outq(pl->kafka);
	out->watermark_ns = ctl_watermark(pl);
	clock_gettime(CLOCK_REALTIME, &ts);
	out->wall_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	out->close_to_ack = snk_kafka_latency(pl->kafka);

	pl->prev = *out;
	pl->prev_s = t;
}
