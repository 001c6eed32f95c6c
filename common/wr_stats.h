/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-lcore counters. The list is defined once (WR_COUNTERS) and expands
 * into the enum, the names and the summary JSON path, so they cannot
 * drift. Each lcore owns one cache-aligned struct wr_counters and is its
 * only writer (plain stores of 64-bit values, which are atomic on the
 * 64-bit targets weir supports); readers sum them without locks.
 */
#ifndef WR_STATS_H
#define WR_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "wr_types.h"

/* X(enum suffix, name, help) */
#define WR_COUNTERS(X) \
	X(PKT_RX, "packets_rx", "frames received on the RX queue") \
	X(PKT_IGNORED, "packets_ignored", "frames not for weir (ARP, TCP, other UDP ports, ...)") \
	X(PKT_MALFORMED, "packets_malformed", "frames with a cut or inconsistent L2-L4 header") \
	X(DATAGRAMS, "datagrams", "UDP datagrams to a sensor port (fragments included)") \
	X(REC_ROUTED, "records_routed", "valid, on-time records handed to aggregation") \
	X(REC_LATE, "records_late", "valid records whose windows had all closed") \
	X(DROP_RING_FULL, "dropped_ring_full", "records dropped: rx_to_agg ring full (live only)") \
	X(DROP_DEVICES_FULL, "dropped_devices_full", "records dropped: device table full") \
	X(DROP_REFUSED, "dropped_refused", \
	  "records the aggregator refused as inconsistent (a bug if not 0)") \
	X(DROP_SKEW, "dropped_queue_skew", \
	  "records dropped: every window they join had closed, another RX queue ran ahead") \
	X(RING_WAITS, "ring_waits", "times the RX lcore waited for ring space (replay)") \
	X(TICKS, "watermark_ticks", "watermark updates sent to aggregators") \
	X(WM_RAISED, "watermark_raised", \
	  "times an RX queue raised its watermark to stay within the skew of the others") \
	X(REC_FOLDED, "records_folded", "records folded by this aggregator") \
	X(POLLS_BUSY, "polls_busy", "polls (bursts) that returned work") \
	X(POLLS_IDLE, "polls_idle", "polls that returned nothing") \
	X(DLQ_SENT, "dead_letters_sent", \
	  "datagrams with rejected records sent to the rejected topic") \
	X(DLQ_HELD_BACK, "dead_letters_held_back", \
	  "dead letters the rate limit (or a full ring) held back") \
	X(FLUSHES, "flushes", "flush requests served (weirctl flush)") \
	X(HOST_REPLIES, "host_replies", \
	  "ARP, neighbour and echo replies sent for [input] address/address6") \
	X(HOST_TX_FAILED, "host_tx_failed", "replies not sent: no mbuf or TX queue full") \
	X(REASSEMBLED, "datagrams_reassembled", \
	  "UDP datagrams rebuilt from fragments (their fragments count as datagrams)") \
	X(ALERTS, "alerts", "alerts handed to the sink (topic alerts)") \
	X(ALERTS_SUPPRESSED, "alerts_suppressed", \
	  "alert repeats held back: one per device, rule and window") \
	X(ALERTS_DROPPED, "alerts_dropped", \
	  "alerts lost: sink ring full, or the alert state table full") \
	X(CKPT_WRITTEN, "checkpoints_written", \
	  "checkpoint files of open windows written ([checkpoint] dir)") \
	X(CKPT_FAILED, "checkpoints_failed", "checkpoints not written: I/O error (logged)") \
	X(CKPT_SKIPPED, "checkpoints_skipped", \
	  "checkpoints not taken: the writer thread was still saving the previous one") \
	X(CKPT_NS, "checkpoint_ns", \
	  "nanoseconds the owning lcore spent on checkpoints (serialising) and close marks") \
	X(CKPT_WRITE_NS, "checkpoint_write_ns", \
	  "nanoseconds the checkpoint writer thread spent saving files (off the lcores)") \
	X(CKPT_RESTORED_WINDOWS, "checkpoint_restored_windows", \
	  "open windows put back from a checkpoint at start") \
	X(CKPT_RESTORED_RECORDS, "checkpoint_restored_records", \
	  "records held by the restored windows (sum of their counts)") \
	X(CKPT_DISCARDED, "checkpoint_discarded", \
	  "checkpointed windows not restored: already closed (emitted) before the crash, " \
	  "or no room") \
	X(CKPT_REFUSED, "checkpoints_refused", \
	  "checkpoint files refused at start: torn, bad CRC or another configuration") \
	X(CKPT_LOST_RECORDS, "checkpoint_lost_records", \
	  "records a crashed run had accepted that reached no result and no checkpoint") \
	X(REC_CLOSED, "records_in_closed_windows", \
	  "sum of the counts of the windows handed to the sink")

enum wr_counter {
#define WR_X(e, n, h) WR_CTR_##e,
	WR_COUNTERS(WR_X)
#undef WR_X
	WR_CTR_COUNT
};

struct wr_counters {
	uint64_t v[WR_CTR_COUNT];
	uint64_t rejected[WR_REASON_COUNT];
} __attribute__((aligned(64)));

/** dst += src, field by field. */
void wr_counters_add(struct wr_counters *dst, const struct wr_counters *src);
const char *wr_counter_name(enum wr_counter c);
const char *wr_counter_help(enum wr_counter c);
/** Sum of the rejected[] reasons. */
uint64_t wr_counters_rejected(const struct wr_counters *c);
/** records.accepted: routed minus dropped on the way. */
uint64_t wr_counters_accepted(const struct wr_counters *c);
/** Sum of every drop counter (records.dropped). */
uint64_t wr_counters_dropped(const struct wr_counters *c);

#endif /* WR_STATS_H */
