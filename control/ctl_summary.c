/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The summary JSON of SPEC §7 (Contract): printed on stdout at the end of
 * a replay. Field names come from the counter and reason tables.
 * Main thread, after every lcore and the sink thread stopped.
 */
#include <inttypes.h>
#include <stdio.h>

#include "ctl.h"

/* A percentile is the top of its bucket: never report it above the exact max. */
static uint64_t
pct(const struct hdr *h, double p)
{
	uint64_t v = hdr_percentile(h, p);

	return v > hdr_max(h) ? hdr_max(h) : v;
}

static void
latency(FILE *f, const char *name, const struct hdr *h)
{
	fprintf(f, "\"%s\":{\"count\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
		",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}",
		name, hdr_count(h), pct(h, 50.0), pct(h, 99.0), pct(h, 99.9), hdr_max(h));
}

void
ctl_summary_write(FILE *f, const struct ctl_report *r)
{
	const struct wr_counters *c = &r->sum;
	uint64_t delivered = atomic_load(&r->kafka->delivered);
	uint64_t failed = atomic_load(&r->kafka->failed);
	int i;

	fprintf(f, "{\"packets\":{\"rx\":%" PRIu64 ",\"ignored\":%" PRIu64
		",\"malformed\":%" PRIu64 ",\"host_replies\":%" PRIu64 ",\"host_tx_failed\":%"
		PRIu64 ",\"reassembled\":%" PRIu64 "},", c->v[WR_CTR_PKT_RX],
		c->v[WR_CTR_PKT_IGNORED], c->v[WR_CTR_PKT_MALFORMED], c->v[WR_CTR_HOST_REPLIES],
		c->v[WR_CTR_HOST_TX_FAILED], c->v[WR_CTR_REASSEMBLED]);
	fprintf(f, "\"datagrams\":%" PRIu64 ",", c->v[WR_CTR_DATAGRAMS]);
	fprintf(f, "\"records\":{\"accepted\":%" PRIu64 ",\"late\":%" PRIu64
		",\"rejected\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"rejected_by_reason\":{",
		wr_counters_accepted(c), c->v[WR_CTR_REC_LATE], wr_counters_rejected(c),
		wr_counters_dropped(c));
	for (i = 0; i < WR_REASON_COUNT; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", wr_reason_name(i), c->rejected[i]);
	fprintf(f, "},\"dropped_by_reason\":{\"ring_full\":%" PRIu64 ",\"devices_full\":%" PRIu64
		",\"refused\":%" PRIu64 ",\"queue_skew\":%" PRIu64 "}},",
		c->v[WR_CTR_DROP_RING_FULL], c->v[WR_CTR_DROP_DEVICES_FULL],
		c->v[WR_CTR_DROP_REFUSED], c->v[WR_CTR_DROP_SKEW]);
	fprintf(f, "\"windows\":{\"emitted\":%" PRIu64 "},",
		(uint64_t)atomic_load(&r->kafka->emitted));
	fprintf(f, "\"kafka\":{\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64
		",\"produce_retries\":%" PRIu64 ",", delivered, failed,
		(uint64_t)atomic_load(&r->kafka->produce_retries));
	/* emitted + replayed = delivered + failed + spilled */
	fprintf(f, "\"spilled\":%" PRIu64 ",\"replayed\":%" PRIu64
		",\"spill_dropped\":{\"cap\":%" PRIu64 ",\"io\":%" PRIu64 "},"
		"\"possibly_persisted\":%" PRIu64 ",\"transactions\":{\"committed\":%" PRIu64
		",\"aborted\":%" PRIu64 "},",
		(uint64_t)atomic_load(&r->kafka->spilled),
		(uint64_t)atomic_load(&r->kafka->replayed),
		(uint64_t)atomic_load(&r->kafka->spill_dropped_cap),
		(uint64_t)atomic_load(&r->kafka->spill_dropped_io),
		(uint64_t)atomic_load(&r->kafka->possibly_persisted),
		(uint64_t)atomic_load(&r->kafka->txn_commits),
		(uint64_t)atomic_load(&r->kafka->txn_aborts));
	fprintf(f, "\"journal\":{\"pending\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"recovered\":%" PRIu64 ",\"torn\":%" PRIu64 ",\"corrupt\":%" PRIu64 "}},",
		(uint64_t)atomic_load(&r->kafka->journal_pending),
		(uint64_t)atomic_load(&r->kafka->journal_bytes),
		(uint64_t)atomic_load(&r->kafka->journal_recovered),
		(uint64_t)atomic_load(&r->kafka->journal_torn),
		(uint64_t)atomic_load(&r->kafka->journal_corrupt));
	fprintf(f, "\"dead_letters\":{\"sent\":%" PRIu64 ",\"held_back\":%" PRIu64
		",\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64 "},", c->v[WR_CTR_DLQ_SENT],
		c->v[WR_CTR_DLQ_HELD_BACK], (uint64_t)atomic_load(&r->kafka->dlq_delivered),
		(uint64_t)atomic_load(&r->kafka->dlq_failed));
	fprintf(f, "\"alerts\":{\"sent\":%" PRIu64 ",\"suppressed\":%" PRIu64
		",\"dropped\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64 "},",
		c->v[WR_CTR_ALERTS], c->v[WR_CTR_ALERTS_SUPPRESSED], c->v[WR_CTR_ALERTS_DROPPED],
		(uint64_t)atomic_load(&r->kafka->alerts_delivered),
		(uint64_t)atomic_load(&r->kafka->alerts_failed));
	/* tumbling windows: records.accepted + restored_records = sum of count emitted */
	fprintf(f, "\"checkpoint\":{\"written\":%" PRIu64 ",\"failed\":%" PRIu64
		",\"restored_windows\":%" PRIu64 ",\"restored_records\":%" PRIu64
		",\"discarded\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"skipped\":%" PRIu64
		",\"lcore_ns\":%" PRIu64 ",\"write_ns\":%" PRIu64 ",\"lost_records\":%" PRIu64
		"},",
		c->v[WR_CTR_CKPT_WRITTEN], c->v[WR_CTR_CKPT_FAILED],
		c->v[WR_CTR_CKPT_RESTORED_WINDOWS], c->v[WR_CTR_CKPT_RESTORED_RECORDS],
		c->v[WR_CTR_CKPT_DISCARDED], c->v[WR_CTR_CKPT_REFUSED], c->v[WR_CTR_CKPT_SKIPPED],
		c->v[WR_CTR_CKPT_NS], c->v[WR_CTR_CKPT_WRITE_NS], c->v[WR_CTR_CKPT_LOST_RECORDS]);
	fprintf(f, "\"throughput\":{\"seconds\":%.6f,\"packets_per_s\":%.1f,"
		"\"wall_seconds\":%.6f,\"max_lag_s\":%.6f,\"schedule_s\":%.6f,"
		"\"loops\":%" PRIu64 "},",
		r->seconds, r->seconds > 0 ? (double)c->v[WR_CTR_PKT_RX] / r->seconds : 0.0,
		r->wall_seconds, r->max_lag_s, r->schedule_s, r->loops);
	if (r->rxq != NULL) {
		/* how RSS spread the traffic, and how often a queue followed the others */
		fprintf(f, "\"rx_queues\":[");
		for (i = 0; i < (int)r->n_rxq; i++)
			fprintf(f, "%s{\"packets\":%" PRIu64 ",\"records\":%" PRIu64 ",\"late\":%"
				PRIu64 ",\"watermark_raised\":%" PRIu64 "}", i ? "," : "",
				r->rxq[i].v[WR_CTR_PKT_RX], r->rxq[i].v[WR_CTR_REC_ROUTED],
				r->rxq[i].v[WR_CTR_REC_LATE], r->rxq[i].v[WR_CTR_WM_RAISED]);
		fprintf(f, "],");
	}
	fprintf(f, "\"latency_ns\":{");
	latency(f, "rx_to_agg", r->rx_to_agg);
	fputc(',', f);
	latency(f, "close_to_ack", r->close_to_ack);
	fprintf(f, "},\"watermark_ms\":%" PRId64 "}\n",
		r->watermark_ns == INT64_MIN ? (int64_t)-1 : r->watermark_ns / 1000000);
	fflush(f);
}
