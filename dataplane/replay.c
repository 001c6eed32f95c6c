/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The replay feeder: turns a preloaded capture into mbufs on the ring
 * behind the replay ethdev, paced (--speed) and repeated (--loop), with
 * the capture time (+ loop shift) in a dynfield for the RX lcore. Replay
 * is not a wire: when the pipeline is slower than the pace, the feeder
 * waits (mbuf pool or ring full) and reports the lag instead of dropping.
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
			for (k = 0; k < cnt; k++) {
				uint32_t len = c->len[i + k];
				struct dp_replay_meta *rm;
				char *dst = rte_pktmbuf_append(m[k], (uint16_t)len);

				/* the pool's data room fits the largest frame (weir.c) */
				if (dst != NULL)
					memcpy(dst, c->data + c->off[i + k], len);
				rm = RTE_MBUF_DYNFIELD(m[k], r->dynfield_off,
						       struct dp_replay_meta *);
				rm->arrival_ns = c->ts_ns[i + k] + shift;
				rm->shift_ns = shift;
			}
			while (sent < cnt)
				sent += rte_ring_enqueue_burst(r->ring, (void **)m + sent,
							       cnt - sent, NULL);
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
