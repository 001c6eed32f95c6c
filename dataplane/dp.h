/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The RX lcore (rx_loop.c), port setup (dp_port.c) and the replay feeder
 * (replay.c, pcap_load.c). The RX loop is the same for a NIC port and for
 * a replay: replay feeds mbufs into an rte_ring-backed ethdev.
 */
#ifndef DP_H
#define DP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf_core.h>

#include "agg.h"
#include "dp_decode.h"
#include "dp_parse.h"
#include "wr_stats.h"

struct agg_ckpt;

struct rte_mempool;
struct rte_ip_frag_tbl;
struct agg_alerts;
struct wr_alert_rules;
struct dp_host;
struct rte_ring;
struct agg_table;
struct hdr;

/* Replay metadata carried in an mbuf dynamic field. */
/* Largest frame weir handles whole: a 64 KiB IP datagram behind two VLAN tags. */
#define DP_FRAME_MAX	(65536 + 22)

struct dp_replay_meta {
	int64_t arrival_ns;	/* capture time + loop shift */
	int64_t shift_ns;	/* loop shift: added to decoded event times */
};

/** Register the replay dynfield (once, before use). @return offset or -1. */
int dp_replay_dynfield_register(void);

/*
 * Runtime tunables (weirctl set). The control plane publishes a new
 * immutable copy through dp_rx.tun (double buffer); the RX lcore picks it
 * up between bursts and acknowledges it in dp_rx.tun_ack, after which the
 * other buffer is free to be rewritten.
 */
struct dp_tunables {
	int64_t lateness_ns;
	int64_t idle_ns;
	double dlq_rate;		/* dead letters per second, 0 = off */
	struct dp_decode_cfg dcfg;	/* max_future_ns, ranges */
	/* window scheme change (weirctl set window): when win_gen moves, the RX
	 * lcore switches to size_new/slide_new at the boundary it picks */
	uint32_t win_gen;
	int64_t size_new, slide_new;
};

/* Greatest common divisor of two positive numbers. */
static inline int64_t
dp_gcd(int64_t a, int64_t b)
{
	while (b != 0) {
		int64_t r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/**
 * The boundary of a window scheme change: the first multiple of
 * lcm(d_old, d_new) strictly greater than t_max (the largest time judged
 * so far), so that no record at or after it was judged under the old
 * scheme and both schemes have a window edge there.
 * @return the boundary, or INT64_MAX when it does not fit in int64.
 */
static inline int64_t
dp_switch_boundary(int64_t t_max, int64_t d_old, int64_t d_new)
{
	int64_t l, q, b;

	if (d_old <= 0 || d_new <= 0)
		return INT64_MAX;
	if (__builtin_mul_overflow(d_old / dp_gcd(d_old, d_new), d_new, &l))
		return INT64_MAX;
	q = t_max / l;
	if (t_max % l != 0 && t_max < 0)
		q--;	/* floor */
	if (__builtin_add_overflow(q, 1, &q) || __builtin_mul_overflow(q, l, &b))
		return INT64_MAX;
	return b;
}

/*
 * One RX lcore. Fields marked (ro) are set before launch and only read by
 * the RX lcore; (rx) are written by the RX lcore only.
 */
struct dp_rx {
	/* (ro) */
	uint16_t port_id;
	uint16_t queue_id;
	unsigned int burst;
	const struct dp_port_set *ports;
	int64_t size_ns, slide_ns;
	int time_arrival;		/* window on arrival time */
	int replay;			/* arrival from dynfield, back-pressure, no drops */
	int dynfield_off;		/* replay dynfield offset */
	unsigned int n_workers;		/* 0: aggregate inline on this lcore */
	/* ARP/ND/echo responder (live only; NULL = off) and its reply mbufs */
	const struct dp_host *host;
	struct rte_mempool *host_pool;
	/* alerts when aggregating inline (workers = 0), as in struct agg_worker */
	struct wr_alert_rules *_Atomic *alert_rules;
	struct agg_alerts *alerts;
	struct rte_ring *alerts_out;
	/* IP reassembly (NULL = off): the table (timeouts in arrival ns) and the
	 * pool its fragment copies come from */
	struct rte_ip_frag_tbl *frag_tbl;
	struct rte_mempool *frag_pool;
	struct rte_ring **to_agg;	/* rx_to_agg rings, SP (this lcore) / SC (worker) */
	/* several RX queues: every RX lcore's struct (this one among them),
	 * read for their watermarks, so that this one never lags the highest
	 * by more than skew_ns (a quiet queue must not hold windows open) */
	const struct dp_rx *peers;
	unsigned int n_peers;
	int64_t skew_ns;
	unsigned int n_metrics;
	size_t rec_size;		/* wr_record_size(n_metrics) */
	/* workers == 0 only: the inline table and its output ring */
	struct agg_table *inline_table;
	struct rte_ring *inline_out;	/* agg_to_sink ring */
	size_t res_size;
	struct hdr *inline_lat;		/* rx_to_agg latency (ns) */
	struct agg_ckpt *inline_ckpt;	/* its [checkpoint] state; NULL = off */
	/* checkpoints: every ckpt_interval_ns of the RX clock (0 = off) a
	 * WR_REC_CHECKPOINT to every worker; restore: the watermark state to
	 * start from (NULL = fresh), read by dp_rx_init only */
	int64_t ckpt_interval_ns;
	const struct wr_ckpt_rx *restore;
	_Atomic unsigned int *producers_done;	/* +1 when the inline table is flushed */
	/* control -> rx (acquire): stop now (live) / input finished (replay) */
	_Atomic int *quit;
	_Atomic int *input_done;
	/* dead letters (topic rejected): ring rx_to_sink_dlq (SP: rx, SC: sink),
	 * at most tun->dlq_rate per second of arrival time; NULL ring = off */
	struct rte_ring *dlq;
	/* control: wo (publish), rx: ro, picked up between bursts */
	struct dp_tunables *_Atomic tun;
	/* rx: wo (the snapshot in use), control: ro */
	struct dp_tunables *_Atomic tun_ack;
	/* control -> rx, workers == 0 only: the table of a pending window scheme,
	 * set before the snapshot announcing it; rx -> control: the old table
	 * once the change completed (control destroys it) */
	struct agg_table *_Atomic inline_next;
	struct agg_table *_Atomic inline_retired;
	/* rx -> control: the boundary of the last window scheme change, stored
	 * before tun_ack; and the win_gen whose change completed */
	_Atomic int64_t switch_at_ns;
	_Atomic uint32_t win_done;
	/* control: increments to request a flush of every open window; rx: ro */
	_Atomic uint64_t flush_req;
	/* control <-> rx, workers == 0 only: weirctl top on the inline table */
	struct agg_top_req top;
	/* (rx) */
	struct wr_counters *ctr;
	_Atomic int64_t watermark_ns;	/* rx: wo; control: ro (stats) */
	_Atomic uint32_t inline_devices; /* workers = 0: devices with open windows */
	/* private state */
	struct dp_rx_state *st;
};

/** Allocate the RX lcore's private state (staging buffers). @return 0 or -errno. */
int dp_rx_init(struct dp_rx *rx);
void dp_rx_free(struct dp_rx *rx);	/* accepts NULL state */

/**
 * Configure and start port with n_queues RX and TX queue pairs on pool;
 * with more than one, RSS over the UDP 4-tuple with dp_rss_key (as far as
 * the port supports it: what it cannot hash is said on stderr).
 * @return 0, or -errno with err filled.
 */
int dp_port_init(uint16_t port, struct rte_mempool *pool, uint16_t nb_rxd, uint16_t n_queues,
		 char *err, size_t errlen);

/* Software RSS (dp_rss.c): the queue a NIC would pick for a frame. */
#define DP_RSS_KEY_LEN	40
extern const uint8_t dp_rss_key[DP_RSS_KEY_LEN];

/** Toeplitz hash of the frame's UDP 4-tuple (IP fragments, other IP: the
 * address pair; not IP: 0), as the NIC computes it with dp_rss_key. */
uint32_t dp_rss_hash(const uint8_t *frame, uint32_t len);
/** The queue of a hash under the default 128-entry redirection table. */
unsigned int dp_rss_queue(uint32_t hash, unsigned int n_queues);
void dp_port_stop(uint16_t port);

/**
 * rte_eal_cleanup, then remove the EAL runtime directory (/var/run/dpdk/
 * <prefix>) when its prefix is own_prefix (one we picked, e.g. weir-<pid>)
 * and it holds only this primary process's files, so that runs do not
 * leave a directory each behind. own_prefix NULL: only rte_eal_cleanup.
 * @return 0, or the rte_eal_cleanup error, or -errno of the removal.
 */
int dp_eal_cleanup(const char *own_prefix);

/** The RX lcore body (rte_eal_remote_launch). */
int dp_rx_loop(void *arg);

/* Emit callback context used for the inline aggregator and by agg_loop. */
struct dp_res_stage;

/*
 * Capture preloaded into memory (pcap_load.c).
 */
struct dp_capture {
	const uint8_t *data;	/* every frame back to back, read-only once loaded */
	uint64_t *off;		/* frame i starts at data + off[i] */
	uint32_t *len;		/* captured length of frame i */
	int64_t *ts_ns;		/* capture timestamp of frame i (epoch ns) */
	uint64_t n;
	uint32_t max_len;
	int64_t span_ns;	/* loop shift: see dp_capture_load */
	size_t map_len;		/* bytes mapped at data */
	/* zero-copy replay: one external-buffer shared info per DP_ZC_BLOCK
	 * frames (block i covers frames i * DP_ZC_BLOCK ...); NULL when the
	 * capture does not fit the bookkeeping (the feeder then copies).
	 * refcnt: 1 (the capture's own reference) + mbufs in flight; feeder
	 * increments, whoever frees an mbuf decrements. */
	struct dp_zc_block *zc;
	uint64_t n_zc;
};

/* Frames per zero-copy shared info: one refcount update per block per burst. */
#define DP_ZC_BLOCK	64

/* One shared info per cache line: the feeder and the RX lcore update
 * different blocks' refcounts without sharing a line most of the time. */
struct dp_zc_block {
	struct rte_mbuf_ext_shared_info si;
} __rte_cache_aligned;
/* Blocks a capture may have for zero-copy replay (64 bytes each). */
#define DP_ZC_BLOCKS_MAX	(1ULL << 22)

/**
 * Read a pcap or pcapng capture (Ethernet link type) into memory, mapped
 * read-only: replay lends this memory to mbufs, so nothing downstream may
 * write into packet data (a write faults instead of corrupting a later
 * --loop pass). Sets up the zero-copy bookkeeping when the capture fits it.
 * span_ns = last_ts - first_ts + max(1 ms, mean gap between frames): the
 * shift applied per --loop pass.
 * @return 0, or -1 with err filled.
 */
int dp_capture_load(const char *path, struct dp_capture *cap, char *err, size_t errlen);
void dp_capture_free(struct dp_capture *cap);
/**
 * The RX queue of every frame of cap (dp_rss_queue), in a malloc'd array
 * of cap->n bytes at *out. @return 0 or -errno.
 */
int dp_capture_queues(const struct dp_capture *cap, unsigned int n_queues, uint8_t **out);

/* Replay pacing. */
enum dp_speed_mode { DP_SPEED_MAX, DP_SPEED_MULT, DP_SPEED_PPS };

struct dp_replay {
	/* (ro) */
	const struct dp_capture *cap;
	struct rte_ring *const *rings;	/* the rings behind the replay ethdev's RX
					 * queues, SP: feeder */
	unsigned int n_rings;
	const uint8_t *queue_of;	/* n_rings > 1: the ring of each frame */
	struct rte_mempool *pool;
	int dynfield_off;
	enum dp_speed_mode speed_mode;
	double speed;			/* multiplier (MULT) or packets/s (PPS) */
	uint64_t loops;
	int progress;			/* print progress on stderr */
	_Atomic int *quit;		/* stop early (signal) */
	/* (feeder) written by the feeder, read by control after it returns */
	int zero_copy;			/* mbufs lent the capture memory (else copies) */
	uint64_t fed;
	double max_lag_s;		/* worst lag behind the pacing schedule */
	double schedule_s;		/* when the last frame is due: the plan, no clock */
	double seconds;
};

/**
 * Feed the capture (loops times) into the ring; runs on the calling thread.
 * Zero-copy (mbufs attached to the capture memory as external buffers)
 * unless the capture has no zero-copy bookkeeping or WEIR_REPLAY_COPY=1 is
 * set in the environment: then every frame is copied into its mbuf. Both
 * give the same mbuf contents.
 */
int dp_replay_feed(struct dp_replay *r);

/** Parse --speed: "max", "1x", "2.5x", "10000pps". @return 0 or -1. */
int dp_speed_parse(const char *s, enum dp_speed_mode *mode, double *v);

#endif /* DP_H */
