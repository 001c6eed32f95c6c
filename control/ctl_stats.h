/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Stats snapshots of a running pipeline for weirctl, /metrics and the
 * status page. Sampled by the control thread (once a second and on
 * demand); rates are over the interval since the previous sample.
 */
#ifndef CTL_STATS_H
#define CTL_STATS_H

#include <stdint.h>

#include "hdr.h"
#include "wr_stats.h"

#define CTL_LCORES_MAX 18	/* rx + up to 16 aggregators + spare */

struct ctl_pipeline;

struct ctl_lcore_stats {
	char role[16];			/* "rx", "agg0", "agg1", ... */
	unsigned int lcore_id;
	struct wr_counters ctr;		/* cumulative, this lcore only */
	double pkts_per_s;		/* rx: frames/s; aggregators: 0 */
	double recs_per_s;		/* rx: records routed/s; agg: records folded/s */
	double busy_pct;		/* polls that returned work, last interval */
	unsigned int ring_used;		/* input ring fill (rx: replay ring, 0 live) */
	unsigned int ring_size;
	unsigned int out_used;		/* output ring fill (agg_to_sink; rx: 0) */
	unsigned int out_size;
	uint32_t devices;		/* aggregators: devices with open windows */
	const struct hdr *lat;		/* rx_to_agg latency of this lcore (NULL for rx
					 * unless it aggregates inline) */
};

struct ctl_stats {
	double uptime_s;
	double interval_s;		/* since the previous sample (rates) */
	struct wr_counters sum;		/* every lcore */
	unsigned int n_lcores;
	struct ctl_lcore_stats lc[CTL_LCORES_MAX];
	double pkts_per_s;		/* total */
	double recs_per_s;
	uint64_t kafka_emitted, kafka_delivered, kafka_failed, kafka_retries;
	int kafka_outq;			/* messages queued/in flight in librdkafka */
	uint32_t devices;		/* sum over aggregators */
	int64_t watermark_ns;		/* INT64_MIN before the first record */
	int64_t wall_ns;		/* when sampled */
	const struct hdr *close_to_ack;	/* the sink's histogram (live, single writer) */
};

/* One point of the last minutes, for the status page charts. */
struct ctl_point {
	int64_t wall_ms;
	double pkts_per_s;
	double recs_per_s;
	uint64_t accepted, late, rejected, dropped;	/* cumulative */
	uint64_t rejected_by_reason[WR_REASON_COUNT];	/* cumulative */
	uint64_t kafka_delivered, kafka_failed;		/* cumulative */
	int kafka_outq;
	uint64_t p99_rx_to_agg_ns;			/* merged, since start */
	uint64_t p99_close_to_ack_ns;
	unsigned int n_lcores;
	char role[CTL_LCORES_MAX][16];
	double busy_pct[CTL_LCORES_MAX];
	double ring_fill_pct[CTL_LCORES_MAX];		/* input ring */
	double lcore_pkts_per_s[CTL_LCORES_MAX];
	double lcore_recs_per_s[CTL_LCORES_MAX];
};

#define CTL_HISTORY 300		/* one point a second: five minutes */

/* Written by the control thread only; the HTTP handler runs there too. */
struct ctl_history {
	struct ctl_point p[CTL_HISTORY];
	unsigned int n;		/* valid points */
	unsigned int head;	/* index of the next write */
};

/**
 * Take a sample. Only the control thread calls it; it keeps the previous
 * sample inside pl to compute rates.
 */
void ctl_stats_sample(struct ctl_pipeline *pl, struct ctl_stats *out);

#endif /* CTL_STATS_H */
