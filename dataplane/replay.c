/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay feeder: turns a preloaded capture into mbufs on the ring
 * behind the replay ethdev, paced (--speed) and repeated (--loop), with
 * the capture time (+ loop shift) in a dynfield for the RX lcore. Replay
 * is not a wire: when the pipeline is slower than the pace, the feeder
 * waits (mbuf pool or ring full) and reports the lag instead of dropping.
 * Zero-copy: an mbuf is attached to its frame in the preloaded (read-only)
 * capture as an external buffer; the capture's per-block shared infos
 * count the mbufs in flight, so every --loop pass reuses the same memory.
 * The copy path (WEIR_REPLAY_COPY=1, or a capture too large for the
 * bookkeeping) copies each frame into the mbuf's own buffer instead.
 * Runs on the main lcore.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "dp.h"

#define FEED_BURST 32

/* The frame lives in a read-only mapping no device reads: no IOVA needed. */
#define ZC_IOVA	RTE_BAD_IOVA

int
dp_speed_parse(const char *s, enum dp_speed_mode *mode, double *v)
{
	char *end;
	double x;

	if (strcmp(s, "max") == 0) {
		*mode = DP_SPEED_MAX;
		*v = 0;
		return 0;
	}
	x = strtod(s, &end);
	if (end == s || !(x > 0) || x > 1e12)
		return -1;
	if (strcmp(end, "x") == 0) {
		*mode = DP_SPEED_MULT;
	} else if (strcmp(end, "pps") == 0) {
		*mode = DP_SPEED_PPS;
	} else {
		return -1;
	}
	*v = x;
	return 0;
}

/* Seconds after the start at which global packet g (frame i of a loop) is due. */
static double
due_s(const struct dp_replay *r, uint64_t g, uint64_t i, int64_t shift)
{
	const struct dp_capture *c = r->cap;

	if (r->speed_mode == DP_SPEED_PPS)
		return (double)g / r->speed;
	return (double)(c->ts_ns[i] - c->ts_ns[0] + shift) / 1e9 / r->speed;
}

static void
progress(const struct dp_replay *r, uint64_t total, double el)
{
	fprintf(stderr, "replay: %5.1f%%  %" PRIu64 "/%" PRIu64 " packets  %.2f Mpps  lag %.3f s\n",
		total ? 100.0 * (double)r->fed / (double)total : 100.0, r->fed, total,
		el > 0 ? (double)r->fed / el / 1e6 : 0.0, r->max_lag_s);
}

static int
copy_forced(void)
{
	const char *e = getenv("WEIR_REPLAY_COPY");

	return e != NULL && e[0] != '\0' && strcmp(e, "0") != 0;
}

/* Copy path: frame i into the mbuf's own data room (sized for max_len). */
static inline void
frames_copy(const struct dp_capture *c, struct rte_mbuf **m, uint64_t i, unsigned int cnt)
{
	unsigned int k;

	for (k = 0; k < cnt; k++) {
		/* the pool's data room fits the largest frame (ctl_pipeline.c) up
		 * to 64 KiB; a larger one is cut there and parses as truncated */
		uint16_t len = (uint16_t)RTE_MIN(c->len[i + k],
						 (uint32_t)rte_pktmbuf_tailroom(m[k]));
		char *dst = rte_pktmbuf_append(m[k], len);

		if (dst != NULL)
			memcpy(dst, c->data + c->off[i + k], len);
	}
}

/*
 * Zero-copy path: take one reference per frame on its block's shared info
 * (one update per block run in the burst), then attach. The 16-bit refcnt
 * can hold UINT16_MAX - 1 mbufs in flight per block: above that (a small
 * capture looped through a big pool) wait for the RX lcore to free some.
 * @return 0, or -1 when asked to quit while waiting.
 */
static inline int
frames_attach(const struct dp_replay *r, struct rte_mbuf **m, uint64_t i, unsigned int cnt)
{
	const struct dp_capture *c = r->cap;
	unsigned int k = 0;

	while (k < cnt) {
		uint64_t b = (i + k) / DP_ZC_BLOCK;
		struct rte_mbuf_ext_shared_info *si = &c->zc[b].si;
		unsigned int run = (unsigned int)RTE_MIN((uint64_t)(cnt - k),
							 (b + 1) * DP_ZC_BLOCK - (i + k));
		unsigned int j;

		while (rte_mbuf_ext_refcnt_read(si) > UINT16_MAX - 1 - run) {
			if (atomic_load_explicit(r->quit, memory_order_acquire))
				return -1;
			rte_pause();
		}
		rte_mbuf_ext_refcnt_update(si, (int16_t)run);
		for (j = 0; j < run; j++, k++) {
			uint16_t len = (uint16_t)c->len[i + k];
			struct rte_mbuf *mb = m[k];

			rte_pktmbuf_attach_extbuf(mb, (void *)(uintptr_t)(c->data + c->off[i + k]),
						  ZC_IOVA, len, si);
			mb->data_len = len;
			mb->pkt_len = len;
		}
	}
	return 0;
}

/* Several RX queues: each frame to the ring RSS picks, in capture order per ring. */
static void
feed_spread(const struct dp_replay *r, struct rte_mbuf **m, uint64_t i, unsigned int cnt)
{
	struct rte_mbuf *by_q[CFG_RX_QUEUES_MAX][FEED_BURST];
	unsigned int n[CFG_RX_QUEUES_MAX] = { 0 }, k, q;

	for (k = 0; k < cnt; k++) {
		q = r->queue_of[i + k];
		by_q[q][n[q]++] = m[k];
	}
	for (q = 0; q < r->n_rings; q++) {
		unsigned int sent = 0;

		while (sent < n[q])
			sent += rte_ring_enqueue_burst(r->rings[q], (void **)by_q[q] + sent,
						       n[q] - sent, NULL);
	}
}

int
dp_replay_feed(struct dp_replay *r)
{
	const struct dp_capture *c = r->cap;
	const uint64_t hz = rte_get_tsc_hz();
	const uint64_t start = rte_rdtsc();
	const uint64_t total = c->n * r->loops;
	uint64_t next_progress = start + 2 * hz;	/* quiet for short runs */
	struct rte_mbuf *m[FEED_BURST];
	uint64_t loop, g = 0;

	r->zero_copy = c->zc != NULL && !copy_forced();
	if (r->progress)
		fprintf(stderr, "replay: %s\n", r->zero_copy ?
			"zero-copy (mbufs attached to the preloaded capture)" :
			"copying each frame into its mbuf");
	r->fed = 0;
	r->max_lag_s = 0;
	r->schedule_s = r->speed_mode == DP_SPEED_MAX || total == 0 ? 0 :
		due_s(r, total - 1, c->n - 1, (int64_t)(r->loops - 1) * c->span_ns);
	for (loop = 0; loop < r->loops; loop++) {
		int64_t shift = (int64_t)loop * c->span_ns;
		uint64_t i = 0;

		while (i < c->n) {
			unsigned int cnt = (unsigned int)RTE_MIN((uint64_t)FEED_BURST, c->n - i);
			unsigned int k, sent = 0;
			uint64_t now = rte_rdtsc();

			if (atomic_load_explicit(r->quit, memory_order_acquire))
				goto out;
			if (r->speed_mode != DP_SPEED_MAX) {
				double el = (double)(now - start) / (double)hz;
				double due = due_s(r, g, i, shift);

				if (due > el) {
					if (due - el > 0.002)
						rte_delay_us_sleep(1000);
					else
						rte_pause();
					continue;
				}
				if (el - due > r->max_lag_s)
					r->max_lag_s = el - due;
				/* send only the frames already due */
				for (k = 1; k < cnt; k++)
					if (due_s(r, g + k, i + k, shift) > el)
						break;
				cnt = k;
			}
			/* mbufs come back as the RX lcore frees them: wait for them */
			while (rte_pktmbuf_alloc_bulk(r->pool, m, cnt) != 0) {
				if (atomic_load_explicit(r->quit, memory_order_acquire))
					goto out;
				rte_pause();
			}
			if (!r->zero_copy) {
				frames_copy(c, m, i, cnt);
			} else if (frames_attach(r, m, i, cnt) != 0) {
				rte_pktmbuf_free_bulk(m, cnt);
				goto out;
			}
			for (k = 0; k < cnt; k++) {
				struct dp_replay_meta *rm;

				rm = RTE_MBUF_DYNFIELD(m[k], r->dynfield_off,
						       struct dp_replay_meta *);
				rm->arrival_ns = c->ts_ns[i + k] + shift;
				rm->shift_ns = shift;
			}
			if (r->n_rings <= 1)
				while (sent < cnt)
					sent += rte_ring_enqueue_burst(r->rings[0],
								       (void **)m + sent,
								       cnt - sent, NULL);
			else
				feed_spread(r, m, i, cnt);
			i += cnt;
			g += cnt;
			r->fed += cnt;
			if (r->progress && now > next_progress) {
				next_progress = now + hz;
				progress(r, total, (double)(now - start) / (double)hz);
			}
		}
	}
out:
	r->seconds = (double)(rte_rdtsc() - start) / (double)hz;
	if (r->progress && r->seconds > 2)
		progress(r, total, r->seconds);
	return 0;
}
