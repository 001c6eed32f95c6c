/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The aggregator lcore loop: rx_to_agg ring in, agg_table, agg_to_sink
 * ring out. Also the result staging used when the RX lcore aggregates
 * inline (workers = 0).
 */
#ifndef AGG_LOOP_H
#define AGG_LOOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "agg_alert.h"
#include "agg_ckpt.h"
#include "wr_log.h"
#include "wr_stats.h"

struct rte_ring;
struct hdr;

#define AGG_STAGE_MAX 32

/* Closed windows waiting to be enqueued on agg_to_sink, one lcore's own. */
struct agg_stage {
	struct rte_ring *out;
	size_t res_size;
	unsigned int n;
	uint8_t *buf;		/* AGG_STAGE_MAX * res_size bytes */
	uint64_t *closed;	/* NULL, or += the count of every result staged */
};

/** agg_emit_fn: copy a result into the stage, flushing when full. */
void agg_stage_emit(void *arg, const struct wr_result *res);
/** Enqueue everything staged; waits for ring space (results are never dropped). */
void agg_stage_flush(struct agg_stage *s);
int agg_stage_init(struct agg_stage *s, struct rte_ring *out, size_t res_size);
void agg_stage_free(struct agg_stage *s);

/*
 * A window scheme change (weirctl set window) runs two tables for a while:
 * wr_record.pad[0] is the scheme parity of a DATA record (which table it
 * folds into); a TICK with pad[1] = AGG_REC_RETIRE means every window of
 * the old scheme is closed: retire the old table.
 */
#define AGG_REC_RETIRE	1

#define AGG_IN_MAX	16	/* = CFG_RX_QUEUES_MAX */

struct agg_worker {
	/* (ro) */
	unsigned int index;
	struct agg_table *table;
	/* rx_to_agg, one per RX lcore (queue), SP: that RX lcore, SC: this one.
	 * With several, a window closes once every queue's watermark passed it
	 * (the least of the last watermark each sent; one that sent FLUSH no
	 * longer counts), and the input ends at the last FLUSH. */
	struct rte_ring *in[AGG_IN_MAX];
	unsigned int n_in;
	int64_t skew_ns;		/* n_in > 1: the spread of queue watermarks kept */
	struct rte_ring *out;		/* agg_to_sink, SP: this lcore */
	size_t rec_size;
	size_t res_size;
	/* control -> worker: stop without flush (never set in replay) */
	_Atomic int *quit;
	_Atomic unsigned int *producers_done;	/* +1 (release) after the final flush */
	/* (worker) wo; control: ro */
	struct wr_counters *ctr;
	struct hdr *lat;		/* rx_to_agg latency in ns, per record */
	_Atomic uint32_t devices;	/* devices with open windows, after each burst */
	/* control -> worker: the table of a pending window scheme (set before
	 * RX can send it a record of that scheme); worker -> control: the old
	 * table once it is retired (wr_record.pad[1] = 1), for control to free */
	struct agg_table *_Atomic next_table;
	struct agg_table *_Atomic retired;
	/* control <-> worker: weirctl top, served between bursts */
	struct agg_top_req top;
	/* alerts: the rule set control publishes (acquire), this lcore's state,
	 * the ring to the sink (MP), the slide their windows follow */
	struct wr_alert_rules *_Atomic *alert_rules;
	struct agg_alerts *alerts;
	struct rte_ring *alerts_out;
	int64_t alert_slide_ns;
	struct wr_ratelimit full_log;	/* (worker) devices_full log line */
	struct agg_ckpt *ckpt;		/* (worker) [checkpoint] state; NULL = off */
};

/** The aggregator lcore body (rte_eal_remote_launch). */
int agg_loop(void *arg);

#endif /* AGG_LOOP_H */
