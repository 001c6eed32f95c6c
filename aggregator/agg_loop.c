/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The aggregator lcore: dequeue record bursts from its rx_to_agg ring,
 * fold them into its agg_table, stage closed windows onto agg_to_sink.
 * One lcore per struct agg_worker; it is the only writer of its table,
 * counters and latency histogram. During a window scheme change it folds
 * into two tables (old and new scheme, by wr_record.pad[0]) until RX says
 * the old one is done; the control thread frees that one, never the lcore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "agg_loop.h"
#include "hdr.h"

#define AGG_BURST 64

int
agg_stage_init(struct agg_stage *s, struct rte_ring *out, size_t res_size)
{
	s->out = out;
	s->res_size = res_size;
	s->n = 0;
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

static int
agg_one(struct agg_worker *wk, struct agg_table *tabs[2], unsigned int *cur,
	const struct wr_record *r, struct agg_stage *stage)
{
	unsigned int p = r->pad[0] & 1u;
	struct agg_table *t;
	int rc = 0, rc2;

	if (r->kind == WR_REC_DATA) {
		t = agg_table_of(wk, tabs, p);
		return t != NULL ? agg_table_process(t, r, agg_stage_emit, stage) : -EINVAL;
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
		agg_table_flush(tabs[*cur], agg_stage_emit, stage);
		atomic_store_explicit(&wk->retired, tabs[*cur], memory_order_release);
		tabs[*cur] = NULL;
		*cur = p;
	}
	return rc;
}

int
agg_loop(void *arg)
{
	struct agg_worker *wk = arg;
	struct agg_stage stage;
	struct agg_table *tabs[2] = { wk->table, NULL };
	unsigned int cur = 0;
	uint8_t *burst;
	uint64_t idle_polls = 0, top_seen;
	const double ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	int done = 0, rc;

	burst = aligned_alloc(64, RTE_ALIGN_CEIL(AGG_BURST * wk->rec_size, 64));
	if (burst == NULL || agg_stage_init(&stage, wk->out, wk->res_size) != 0) {
		free(burst);
		return -ENOMEM;
	}
	top_seen = atomic_load_explicit(&wk->top.req, memory_order_acquire);
	while (!done) {
		unsigned int n, i;
		uint64_t now, top_req;

		/* the one control check per poll: a weirctl top request */
		top_req = atomic_load_explicit(&wk->top.req, memory_order_acquire);
		if (unlikely(top_req != top_seen)) {
			top_seen = top_req;
			agg_top_serve(&wk->top, top_req, tabs[cur]);
		}

		n = rte_ring_dequeue_burst_elem(wk->in, burst, (unsigned int)wk->rec_size,
						AGG_BURST, NULL);
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
		for (i = 0; i < n; i++) {
			const struct wr_record *r =
				(const struct wr_record *)(burst + i * wk->rec_size);

			if (r->kind == WR_REC_CLOSE) {
				/* weirctl flush: close everything, keep running */
				agg_tables_flush(tabs, &stage);
				wk->ctr->v[WR_CTR_FLUSHES]++;
				continue;
			}
			if (r->kind == WR_REC_DATA)
				hdr_record(wk->lat,
					   (uint64_t)((double)(now - r->rx_tsc) * ns_per_tsc));
			rc = agg_one(wk, tabs, &cur, r, &stage);
			if (rc == 0 && r->kind == WR_REC_DATA)
				wk->ctr->v[WR_CTR_REC_FOLDED]++;
			else if (rc == -ENOSPC)
				wk->ctr->v[WR_CTR_DROP_DEVICES_FULL]++;
			else if (rc < 0)
				wk->ctr->v[WR_CTR_DROP_REFUSED]++;
			if (r->kind == WR_REC_FLUSH)
				done = 1;
		}
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
	free(burst);
	return 0;
}
