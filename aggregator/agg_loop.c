/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The aggregator lcore: dequeue record bursts from its rx_to_agg ring,
 * fold them into its agg_table, stage closed windows onto agg_to_sink.
 * One lcore per struct agg_worker; it is the only writer of its table,
 * counters and latency histogram. During a window scheme change it folds
 * into two tables (old and new scheme, by wr_record.pad[0]) until RX says
 * the old one is done; the control thread frees that one, never the lcore.
 * Records are folded in place in the ring (zero-copy dequeue: the ring is
 * single-consumer) and their slots released after the burst.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>

#include "agg_loop.h"
#include "hdr.h"

#define AGG_BURST 64

/* Watermarks of the RX queues this aggregator hears from (agg_merge). */
struct agg_in_state {
	unsigned int n;			/* inputs */
	unsigned int flushed;		/* inputs that sent FLUSH */
	int64_t min;			/* the least */
	int64_t max;			/* the highest seen from a queue still sending */
	int64_t skew;			/* the table is told max(min, max - skew) */
	int64_t wm[AGG_IN_MAX];		/* last watermark of each input */
};

int
agg_stage_init(struct agg_stage *s, struct rte_ring *out, size_t res_size)
{
	s->out = out;
	s->res_size = res_size;
	s->n = 0;
	s->closed = NULL;
	s->buf = aligned_alloc(64, RTE_ALIGN_CEIL(AGG_STAGE_MAX * res_size, 64));
	return s->buf == NULL ? -ENOMEM : 0;
}

void
agg_stage_free(struct agg_stage *s)
{
	free(s->buf);
	s->buf = NULL;
}

void
agg_stage_flush(struct agg_stage *s)
{
	unsigned int done = 0;

	/* results are never dropped: the sink always drains, so wait */
	while (done < s->n) {
		done += rte_ring_enqueue_burst_elem(s->out, s->buf + done * s->res_size,
						    (unsigned int)s->res_size, s->n - done, NULL);
		if (done < s->n)
			rte_pause();
	}
	s->n = 0;
}

void
agg_stage_emit(void *arg, const struct wr_result *res)
{
	struct agg_stage *s = arg;

	memcpy(s->buf + s->n * s->res_size, res, s->res_size);
	if (s->closed != NULL)
		*s->closed += res->count;
	if (++s->n == AGG_STAGE_MAX)
		agg_stage_flush(s);
}

/* Close windows on every live table: watermarks and flushes apply to both schemes. */
static void
agg_tables_flush(struct agg_table *const tabs[2], struct agg_stage *stage)
{
	unsigned int p;

	for (p = 0; p < 2; p++)
		if (tabs[p] != NULL)
			agg_table_flush(tabs[p], agg_stage_emit, stage);
}

/* The table of scheme parity p, taking a pending scheme's table on first use. */
static struct agg_table *
agg_table_of(struct agg_worker *wk, struct agg_table *tabs[2], unsigned int p)
{
	if (tabs[p] == NULL) {
		tabs[p] = atomic_load_explicit(&wk->next_table, memory_order_acquire);
		if (tabs[p] != NULL)
			atomic_store_explicit(&wk->next_table, NULL, memory_order_relaxed);
	}
	return tabs[p];
}

/* A record the table had no room for: counted, and logged at most once a second. */
static void
agg_full(struct agg_worker *wk, uint64_t now)
{
	uint64_t n;

	wk->ctr->v[WR_CTR_DROP_DEVICES_FULL]++;
	n = wr_ratelimit_hit(&wk->full_log, 1, now, rte_get_tsc_hz());
	if (n != 0)
		WR_LOG(WARNING, aggregator, "event=devices_full worker=%u dropped=%" PRIu64
		       " total=%" PRIu64 " hint=\"raise [aggregator] max_devices\"", wk->index, n,
		       wk->ctr->v[WR_CTR_DROP_DEVICES_FULL]);
}

static int
agg_one(struct agg_worker *wk, struct agg_table *tabs[2], unsigned int *cur,
	const struct wr_record *r, struct agg_stage *stage)
{
	unsigned int p = r->pad[0] & 1u;
	struct agg_table *t;
	int rc = 0, rc2;

	if (r->kind == WR_REC_DATA) {
		t = agg_table_of(wk, tabs, p);
		rc = t != NULL ? agg_table_process(t, r, agg_stage_emit, stage) : -EINVAL;
		if (rc == 0 && wk->alert_rules != NULL)
			agg_alerts_eval(wk->alerts,
					atomic_load_explicit(wk->alert_rules, memory_order_acquire),
					r, wk->alert_slide_ns, wk->alerts_out, wk->ctr);
		return rc;
	}
	for (p = 0; p < 2; p++) {
		if (tabs[p] == NULL)
			continue;
		rc2 = agg_table_process(tabs[p], r, agg_stage_emit, stage);
		if (p == *cur)
			rc = rc2;
	}
	p = r->pad[0] & 1u;
	if (r->kind == WR_REC_TICK && r->pad[1] == AGG_REC_RETIRE && p != *cur &&
	    agg_table_of(wk, tabs, p) != NULL) {
		/* every window of the old scheme is closed: hand its table back */
		agg_ckpt_retire(wk->ckpt, tabs[p]);
		agg_table_flush(tabs[*cur], agg_stage_emit, stage);
		atomic_store_explicit(&wk->retired, tabs[*cur], memory_order_release);
		tabs[*cur] = NULL;
		*cur = p;
	}
	return rc;
}

/*
 * Several RX queues: the watermark a record carries is its queue's; the
 * table is told the least over the queues still sending, so a window
 * closes only when no queue can still send records for it. A FLUSH from
 * one queue ends that queue (it becomes a TICK); the last one ends all.
 * Rewrites the record in place (the ring slot is ours until finish).
 */
static void
agg_merge(struct agg_in_state *is, unsigned int src, struct wr_record *r)
{
	int64_t old = is->wm[src], m;
	unsigned int s;

	if (r->kind == WR_REC_FLUSH) {
		is->wm[src] = INT64_MAX;
		if (++is->flushed < is->n)
			r->kind = WR_REC_TICK;
	} else if (r->watermark_ns > old) {
		is->wm[src] = r->watermark_ns;
	}
	/* watermarks only rise: the least moves only when its holder did */
	if (is->wm[src] != old && old == is->min) {
		m = INT64_MAX;
		for (s = 0; s < is->n; s++)
			if (is->wm[s] < m)
				m = is->wm[s];
		is->min = m;
	}
	if (is->wm[src] != INT64_MAX && is->wm[src] > is->max)
		is->max = is->wm[src];
	/* never further behind the leading queue than the skew the tables are
	 * sized for (RX queues keep to it themselves; a stalled one may not) */
	if (is->max != INT64_MIN && is->max - is->skew > is->min)
		r->watermark_ns = is->max - is->skew;
	else
		r->watermark_ns = is->min;
}

/* Stage st of the hint for record i of the run, when there is one and its table is live. */
static inline void
agg_prefetch(struct agg_table *const tabs[2], const uint8_t *recs, size_t stride,
	     unsigned int cnt, unsigned int i, unsigned int st)
{
	const struct wr_record *r;
	const struct agg_table *t;

	if (i >= cnt)
		return;
	r = (const struct wr_record *)(recs + i * stride);
	t = tabs[r->pad[0] & 1u];
	if (t != NULL)
		agg_table_prefetch(t, r, st);
}

/*
 * Fold cnt records laid out stride bytes apart (in the ring's memory) that
 * came from RX queue src; pf: prefetch the table lines of later records
 * while folding this one.
 * @return 1 when a FLUSH record ended the input, else 0.
 */
static int
agg_fold(struct agg_worker *wk, struct agg_table *tabs[2], unsigned int *cur,
	 uint8_t *recs, unsigned int cnt, struct agg_stage *stage, uint64_t now,
	 struct agg_in_state *is, unsigned int src, int pf)
{
	const double ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	const size_t stride = wk->rec_size;
	unsigned int i;
	int rc, done = 0;

	/* the first records of a run only get the stages there is room for */
	for (i = 0; pf && i < AGG_PF_SLOT && i < cnt; i++)
		agg_prefetch(tabs, recs, stride, cnt, i, 0);
	for (i = 0; i < cnt; i++) {
		struct wr_record *r = (struct wr_record *)(recs + i * stride);

		if (pf) {
			agg_prefetch(tabs, recs, stride, cnt, i + AGG_PF_SLOT, 0);
			agg_prefetch(tabs, recs, stride, cnt, i + AGG_PF_DEV, 1);
			agg_prefetch(tabs, recs, stride, cnt, i + AGG_PF_WIN, 2);
		}
		if (is->n > 1)
			agg_merge(is, src, r);
		/* the close mark moves before anything closes (no window twice in Kafka) */
		agg_ckpt_before(wk->ckpt, tabs[*cur], r);
		if (r->kind == WR_REC_CLOSE) {
			/* weirctl flush: close everything, keep running */
			agg_tables_flush(tabs, stage);
			wk->ctr->v[WR_CTR_FLUSHES]++;
			continue;
		}
		if (r->kind == WR_REC_DATA)
			hdr_record(wk->lat, (uint64_t)((double)(now - r->rx_tsc) * ns_per_tsc));
		rc = agg_one(wk, tabs, cur, r, stage);
		if (rc == 0 && r->kind == WR_REC_DATA)
			wk->ctr->v[WR_CTR_REC_FOLDED]++;
		else if (rc == AGG_CLOSED)
			wk->ctr->v[WR_CTR_DROP_SKEW]++;
		else if (rc == -ENOSPC)
			agg_full(wk, now);
		else if (rc < 0)
			wk->ctr->v[WR_CTR_DROP_REFUSED]++;
		/* not during a window scheme change: the file holds one table */
		if (r->kind == WR_REC_CHECKPOINT && wk->ckpt != NULL && tabs[*cur ^ 1u] == NULL) {
			struct wr_ckpt_rx ck;

			memcpy(&ck, r->id, sizeof(ck));
			agg_ckpt_write(wk->ckpt, tabs[*cur], &ck);
		}
		if (r->kind == WR_REC_FLUSH)
			done = 1;
	}
	return done;
}

int
agg_loop(void *arg)
{
	struct agg_worker *wk = arg;
	struct agg_stage stage;
	struct agg_table *tabs[2] = { wk->table, NULL };
	struct agg_in_state is = { .n = wk->n_in, .min = INT64_MIN, .max = INT64_MIN,
				   .skew = wk->skew_ns };
	unsigned int cur = 0, src = 0, s;
	uint64_t idle_polls = 0, top_seen;
	int done = 0, pf = agg_prefetch_wanted();

	for (s = 0; s < AGG_IN_MAX; s++)
		is.wm[s] = INT64_MIN;
	if (agg_stage_init(&stage, wk->out, wk->res_size) != 0)
		return -ENOMEM;
	stage.closed = &wk->ctr->v[WR_CTR_REC_CLOSED];
	top_seen = atomic_load_explicit(&wk->top.req, memory_order_acquire);
	while (!done) {
		struct rte_ring_zc_data zcd;
		unsigned int n = 0;
		uint64_t now, top_req;

		/* the one control check per poll: a weirctl top request */
		top_req = atomic_load_explicit(&wk->top.req, memory_order_acquire);
		if (unlikely(top_req != top_seen)) {
			top_seen = top_req;
			agg_top_serve(&wk->top, top_req, tabs[cur]);
		}

		/* in place: the burst stays in the ring until finish; several
		 * inputs take turns, one burst each */
		for (s = 0; s < wk->n_in && n == 0; s++) {
			if (++src >= wk->n_in)
				src = 0;
			n = rte_ring_dequeue_zc_burst_elem_start(wk->in[src],
								 (unsigned int)wk->rec_size,
								 AGG_BURST, &zcd, NULL);
		}
		if (n == 0) {
			wk->ctr->v[WR_CTR_POLLS_IDLE]++;
			if (atomic_load_explicit(wk->quit, memory_order_acquire))
				break;
			/* oversubscribed lcores: give the CPU away when idle */
			if (++idle_polls > 64)
				rte_delay_us_sleep(50);
			else
				rte_pause();
			continue;
		}
		idle_polls = 0;
		wk->ctr->v[WR_CTR_POLLS_BUSY]++;
		now = rte_rdtsc();
		/* the burst may wrap the ring: two runs */
		done = agg_fold(wk, tabs, &cur, zcd.ptr1, zcd.n1, &stage, now, &is, src, pf);
		if (n > zcd.n1)
			done |= agg_fold(wk, tabs, &cur, zcd.ptr2, n - zcd.n1, &stage, now, &is,
					 src, pf);
		rte_ring_dequeue_zc_elem_finish(wk->in[src], n);
		agg_stage_flush(&stage);
		n = agg_table_devices(tabs[cur]);
		if (tabs[cur ^ 1u] != NULL)
			n += agg_table_devices(tabs[cur ^ 1u]);
		atomic_store_explicit(&wk->devices, n, memory_order_relaxed);
	}
	agg_tables_flush(tabs, &stage);
	agg_stage_flush(&stage);
	atomic_fetch_add_explicit(wk->producers_done, 1, memory_order_release);
	agg_stage_free(&stage);
	return 0;
}
