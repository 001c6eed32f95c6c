/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Alert evaluation on the aggregator lcore (or the RX lcore when it
 * aggregates inline): every folded record is checked against the current
 * rule set; per device and rule the lcore keeps the run of consecutive
 * hits (for N), the window of its last alert and the repeats held back
 * since. Alerts go to the sink through a multi-producer ring.
 */
#ifndef AGG_ALERT_H
#define AGG_ALERT_H

#include <stdint.h>

#include "wr_alert.h"
#include "wr_stats.h"
#include "wr_types.h"

struct rte_ring;
struct agg_alerts;

/**
 * State for at most max_devices devices with a hit (allocated when a rule
 * set first arrives). @return NULL when out of memory.
 */
struct agg_alerts *agg_alerts_create(uint32_t max_devices);
void agg_alerts_destroy(struct agg_alerts *a);	/* accepts NULL */

/**
 * Check rec (a DATA record just folded) against rules (NULL or empty: no
 * work). A new rule set (another gen) starts every run from zero. Alerts
 * are enqueued on out; a full ring or a full state table is counted
 * (WR_CTR_ALERTS_DROPPED), repeats held back as WR_CTR_ALERTS_SUPPRESSED.
 */
void agg_alerts_eval(struct agg_alerts *a, const struct wr_alert_rules *rules,
		     const struct wr_record *rec, int64_t slide_ns, struct rte_ring *out,
		     struct wr_counters *ctr);

#endif /* AGG_ALERT_H */
