/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Types every stage shares: the decoded record that crosses rx_to_agg
 * rings, the window result that crosses agg_to_sink rings, the reject
 * reasons, and the counter list (one X-macro, expanded into the per-lcore
 * struct, the sum and the JSON names so they cannot drift).
 */
#ifndef WR_TYPES_H
#define WR_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define WR_DEVID_MAX	64	/* device id: 1..64 bytes (SPEC §3) */
#define WR_METRICS_MAX	64	/* configured metrics; bit i of a mask = metric i */

/*
 * Reject reasons, SPEC §3. X(enum suffix, JSON name).
 * Order is the JSON output order.
 */
#define WR_REASONS(X) \
	X(BAD_JSON, "bad_json") \
	X(BAD_LINE, "bad_line") \
	X(BAD_BINARY, "bad_binary") \
	X(TRUNCATED, "truncated") \
	X(FRAGMENT, "fragment") \
	X(MISSING_DEVICE_ID, "missing_device_id") \
	X(BAD_DEVICE_ID, "bad_device_id") \
	X(BAD_TIMESTAMP, "bad_timestamp") \
	X(FUTURE_TIMESTAMP, "future_timestamp") \
	X(NO_METRICS, "no_metrics") \
	X(OUT_OF_RANGE, "out_of_range")

enum wr_reason {
	WR_REASON_NONE = -1,
#define WR_X(e, s) WR_REASON_##e,
	WR_REASONS(WR_X)
#undef WR_X
	WR_REASON_COUNT
};

/** JSON name of a reason ("bad_json", ...), NULL when out of range. */
const char *wr_reason_name(int reason);

/*
 * A decoded, validated record. Produced by the RX lcore, consumed by one
 * aggregator lcore (the one its device hashes to). Only values[i] with bit
 * i of 'present' set are meaningful. On rings only the first
 * wr_record_size(n_metrics) bytes travel (values[] is cut to the metric
 * count), so values[] must stay last.
 */
struct wr_record {
	int64_t time_ns;	/* the time windows use: event or arrival (time = ...) */
	int64_t watermark_ns;	/* pipeline watermark W right after judging this record */
	int64_t first_k;	/* first window index this record joins (RX decided) */
	uint64_t rx_tsc;	/* TSC when its packet left rx_burst (latency) */
	uint64_t present;	/* bit i: values[i] holds a reading of metric i */
	uint32_t hash;		/* rte_hash_crc of the device key (wr_devkey) */
	uint8_t kind;		/* enum wr_rec_kind */
	uint8_t id_len;		/* 1..WR_DEVID_MAX */
	uint8_t pad[2];
	char id[WR_DEVID_MAX];	/* not NUL terminated, zero padded */
	double values[WR_METRICS_MAX];
};

enum wr_rec_kind {
	WR_REC_DATA = 0,	/* a record to aggregate */
	WR_REC_TICK = 1,	/* only carries watermark_ns (watermark moved) */
	WR_REC_FLUSH = 2,	/* end of input: close every open window, then stop */
	WR_REC_CLOSE = 3,	/* weirctl flush: close every open window, keep going */
	WR_REC_CHECKPOINT = 4,	/* a TICK, then save the open windows ([checkpoint]) */
};

/*
 * The RX lcore's watermark state at a checkpoint (SPEC §4 rule in
 * rx_loop.c), what a restart needs to judge records as before. A
 * WR_REC_CHECKPOINT record carries it in wr_record.id (which always travels,
 * whatever the metric count); every checkpoint file stores it.
 */
struct wr_ckpt_rx {
	uint64_t seq;			/* checkpoint number, from 1 */
	int64_t w;			/* watermark W */
	int64_t t_max;			/* largest valid time judged */
	int64_t last_valid_arrival;	/* idle advance state */
	int64_t w_at_last_valid;
	uint32_t have_valid;
	uint32_t pad;
};

_Static_assert(sizeof(struct wr_ckpt_rx) <= WR_DEVID_MAX, "wr_ckpt_rx rides in wr_record.id");

/** Bytes of a wr_record on a ring when n metrics are configured (multiple of 8). */
static inline size_t
wr_record_size(unsigned int n_metrics)
{
	return offsetof(struct wr_record, values) + (size_t)n_metrics * sizeof(double);
}

/* Running statistics of one metric in one window. */
struct wr_stat {
	uint64_t count;
	double min;
	double max;
	double sum;	/* plain sum in arrival order */
	double mean;	/* Welford running mean */
	double m2;	/* Welford sum of squared deviations: variance = m2 / count */
};

/*
 * One device's closed window: aggregator -> sink. Like wr_record, only
 * wr_result_size(n_metrics) bytes travel; stats[] stays last.
 */
struct wr_result {
	int64_t start_ns;	/* window [start, end) in epoch ns */
	int64_t end_ns;
	uint64_t count;		/* accepted records of the device in the window */
	uint64_t close_tsc;	/* TSC when the window closed (close_to_ack latency) */
	uint64_t present;	/* bit i: stats[i] had readings */
	uint8_t id_len;
	uint8_t pad[7];
	char id[WR_DEVID_MAX];
	struct wr_stat stats[WR_METRICS_MAX];
};

static inline size_t
wr_result_size(unsigned int n_metrics)
{
	return offsetof(struct wr_result, stats) + (size_t)n_metrics * sizeof(struct wr_stat);
}

/*
 * A dead letter: one datagram that held rejected records, RX -> sink
 * (topic `rejected`, SPEC §5). Rate limited on the RX lcore.
 */
#define WR_DLQ_EXCERPT 256

struct wr_dead_letter {
	int64_t arrival_ns;
	uint32_t payload_len;		/* whole UDP payload */
	uint32_t records_rejected;	/* in this datagram */
	uint16_t rejected[WR_REASON_COUNT];	/* per reason, saturating */
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t excerpt_len;		/* <= WR_DLQ_EXCERPT */
	uint8_t ip_version;		/* 4 or 6 */
	uint8_t pad;
	uint8_t src_addr[16];
	uint8_t excerpt[WR_DLQ_EXCERPT];	/* first bytes of the payload */
};

#endif /* WR_TYPES_H */
