/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the per-lcore window table (aggregator/agg_table.c). A small
 * RX model in this file computes watermarks and first_k the way the RX lcore
 * does; a naive array-of-windows reference checks every emitted result, and
 * the exact record at which it was emitted. Runs EAL with --no-huge.
 */

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include "agg.h"

#define SEC	INT64_C(1000000000)

/* ---- helpers ---------------------------------------------------------- */

static struct agg_cfg
mkcfg(const char *name, unsigned int n_metrics, int64_t size, int64_t slide, int64_t late,
      uint32_t max_devices)
{
	struct agg_cfg c = {
		.name = name,
		.socket = SOCKET_ID_ANY,
		.n_metrics = n_metrics,
		.size_ns = size,
		.slide_ns = slide,
		.lateness_ns = late,
		.max_devices = max_devices,
	};

	return c;
}

static struct agg_table *
mktable(const struct agg_cfg *c)
{
	struct agg_table *t = agg_table_create(c);

	if (t == NULL)
		fprintf(stderr, "agg_table_create(%s): %s\n", c->name, rte_strerror(rte_errno));
	assert_non_null(t);
	return t;
}

static void
set_id(struct wr_record *r, const char *id, uint8_t len)
{
	memset(r->id, 0, sizeof(r->id));
	memcpy(r->id, id, len);
	r->id_len = len;
	r->hash = agg_devkey_hash(r->id, len);
}

static struct wr_record
mkrec(const char *id, int64_t t, int64_t wm, int64_t first_k)
{
	struct wr_record r;

	memset(&r, 0, sizeof(r));
	r.kind = WR_REC_DATA;
	r.time_ns = t;
	r.watermark_ns = wm;
	r.first_k = first_k;
	set_id(&r, id, (uint8_t)strlen(id));
	return r;
}

static struct wr_record
mkval(const char *id, int64_t t, int64_t wm, int64_t first_k, double v0)
{
	struct wr_record r = mkrec(id, t, wm, first_k);

	r.present = 1;
	r.values[0] = v0;
	return r;
}

static struct wr_record
mkctl(uint8_t kind, int64_t wm)
{
	struct wr_record r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.watermark_ns = wm;
	return r;
}

/* Collects copies of every result. */
struct sink {
	struct wr_result *v;
	size_t n;
	size_t cap;
	uint64_t counts;
};

static void
sink_emit(void *arg, const struct wr_result *res)
{
	struct sink *s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap != 0 ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n++] = *res;
	s->counts += res->count;
}

static void
sink_free(struct sink *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static bool
id_is(const struct wr_result *r, const char *id)
{
	size_t n = strlen(id);

	return r->id_len == n && memcmp(r->id, id, n) == 0;
}

static const struct wr_result *
find_res(const struct sink *s, const char *id, int64_t start)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (id_is(&s->v[i], id) && s->v[i].start_ns == start)
			return &s->v[i];
	return NULL;
}

static bool
near(double a, double b, double rel)
{
	double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

	return fabs(a - b) <= rel * (m > 1.0 ? m : 1.0);
}

/*
 * RX model: watermark = max time - lateness (never down), late when no
 * containing window is open, first_k = first open containing window.
 */
struct rxm {
	int64_t size, slide, late;
	int64_t max_t;
	int64_t wm;
	bool seen;
};

static void
rxm_init(struct rxm *m, int64_t size, int64_t slide, int64_t late)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->slide = slide;
	m->late = late;
	m->wm = INT64_MIN;
}

static int64_t
rxm_first_open(const struct rxm *m)
{
	if (m->wm < INT64_MIN + m->size)
		return INT64_MIN;
	return agg_floor_div(m->wm - m->size, m->slide) + 1;
}

/* @return false when the record is late (not sent). */
static bool
rxm_judge(struct rxm *m, struct wr_record *r)
{
	int64_t first, open;

	if (!m->seen || r->time_ns > m->max_t)
		m->max_t = r->time_ns;
	m->seen = true;
	if (m->max_t - m->late > m->wm)
		m->wm = m->max_t - m->late;
	first = agg_floor_div(r->time_ns - m->size, m->slide) + 1;
	open = rxm_first_open(m);
	if (open > first)
		first = open;
	if (first > agg_floor_div(r->time_ns, m->slide))
		return false;
	r->first_k = first;
	r->watermark_ns = m->wm;
	return true;
}

/* Welford and friends, written independently of the table. */
struct refstat {
	uint64_t n;
	double min, max, sum, mean, m2;
};

static void
ref_fold(struct refstat *s, double v)
{
	double d;

	if (s->n == 0 || v < s->min)
		s->min = v;
	if (s->n == 0 || v > s->max)
		s->max = v;
	s->n++;
	s->sum += v;
	d = v - s->mean;
	s->mean += d / (double)s->n;
	s->m2 += d * (v - s->mean);
}

static void
assert_stat_eq(const struct wr_stat *a, const struct refstat *b)
{
	assert_int_equal(a->count, b->n);
	assert_true(a->min == b->min);
	assert_true(a->max == b->max);
	assert_true(a->sum == b->sum);
	assert_true(a->mean == b->mean);
	assert_true(a->m2 == b->m2);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_create_bad(void **state)
{
	struct agg_cfg c;

	(void)state;
	c = mkcfg("bad1", 2, 60 * SEC, 40 * SEC, 0, 16);	/* S % D != 0 */
	assert_null(agg_table_create(&c));
	assert_int_equal(rte_errno, EINVAL);
	c = mkcfg("bad2", 2, 60 * SEC, 0, 0, 16);
	assert_null(agg_table_create(&c));
	c = mkcfg("bad3", WR_METRICS_MAX + 1, 60 * SEC, 60 * SEC, 0, 16);
	assert_null(agg_table_create(&c));
	c = mkcfg("bad4", 2, 60 * SEC, 60 * SEC, -1, 16);
	assert_null(agg_table_create(&c));
	c = mkcfg("bad5", 2, 60 * SEC, 60 * SEC, 0, 0);
	assert_null(agg_table_create(&c));
	c = mkcfg("a_name_that_is_far_too_long", 2, 60 * SEC, 60 * SEC, 0, 16);
	assert_null(agg_table_create(&c));
	assert_int_equal(rte_errno, ENAMETOOLONG);
	assert_null(agg_table_create(NULL));
	agg_table_destroy(NULL);
	agg_table_flush(NULL, sink_emit, NULL);
	assert_int_equal(agg_table_devices(NULL), 0);
}

static void
test_devkey_layout(void **state)
{
	uint8_t key[AGG_DEVKEY_LEN], want[AGG_DEVKEY_LEN];

	(void)state;
	memset(want, 0, sizeof(want));
	memcpy(want, "dev-1", 5);
	want[64] = 5;
	memset(key, 0xaa, sizeof(key));
	agg_devkey_fill(key, "dev-1", 5);
	assert_memory_equal(key, want, sizeof(want));
	assert_int_equal(agg_devkey_hash("dev-1", 5), rte_hash_crc(want, AGG_DEVKEY_LEN, 0));
	/* The length byte tells "ab" from "ab\0". */
	assert_int_not_equal(agg_devkey_hash("ab\0", 2), agg_devkey_hash("ab\0", 3));
}

static void
test_tumbling(void **state)
{
	struct agg_cfg c = mkcfg("tumble", 2, 60 * SEC, 60 * SEC, 5 * SEC, 64);
	static const char *const ids[] = {"sensor-a", "sensor-b"};
	struct refstat ref[2][2][2];	/* device, window, metric */
	uint64_t cnt[2][2] = {{0}}, pres[2][2] = {{0}};
	double vals[2][2][64];		/* device, window, metric-0 readings for two-pass */
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	struct rxm m;
	int d, w, i;

	(void)state;
	memset(ref, 0, sizeof(ref));
	rxm_init(&m, c.size_ns, c.slide_ns, c.lateness_ns);
	for (i = 0; i < 100; i++) {
		w = i < 50 ? 0 : 1;
		d = i % 2;
		struct wr_record r = mkrec(ids[d], w * 60 * SEC + (i % 50) * SEC, 0, 0);

		r.values[0] = 20.0 + 0.37 * i - (i % 7) * 1.9;
		r.present = 1;
		if (i % 3 == 0) {
			r.values[1] = 1e6 + i * 0.001;
			r.present |= 2;
		}
		assert_true(rxm_judge(&m, &r));
		assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		vals[d][w][cnt[d][w]] = r.values[0];
		cnt[d][w]++;
		pres[d][w] |= r.present;
		ref_fold(&ref[d][w][0], r.values[0]);
		if (r.present & 2)
			ref_fold(&ref[d][w][1], r.values[1]);
		/* Window 0 closes exactly when W = max - 5 s reaches 60 s. */
		assert_int_equal(s.n, m.wm < 60 * SEC ? 0 : 2);
	}
	assert_int_equal(agg_table_devices(t), 2);	/* window 1 still open */
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.counts, 100);
	assert_int_equal(agg_table_devices(t), 0);
	for (d = 0; d < 2; d++) {
		for (w = 0; w < 2; w++) {
			const struct wr_result *r = find_res(&s, ids[d], w * 60 * SEC);
			double mean = 0, var = 0, sd;
			uint64_t k;

			assert_non_null(r);
			assert_int_equal(r->end_ns, r->start_ns + 60 * SEC);
			assert_int_equal(r->count, cnt[d][w]);
			assert_int_equal(r->present, pres[d][w]);
			assert_stat_eq(&r->stats[0], &ref[d][w][0]);
			assert_stat_eq(&r->stats[1], &ref[d][w][1]);
			/* Two-pass avg and population stddev agree with Welford. */
			for (k = 0; k < cnt[d][w]; k++)
				mean += vals[d][w][k];
			mean /= (double)cnt[d][w];
			for (k = 0; k < cnt[d][w]; k++)
				var += (vals[d][w][k] - mean) * (vals[d][w][k] - mean);
			var /= (double)cnt[d][w];
			assert_true(near(r->stats[0].mean, mean, 1e-12));
			sd = sqrt(r->stats[0].m2 / (double)r->stats[0].count);
			assert_true(near(sd, sqrt(var), 1e-9));
		}
	}
	/* Flush emitted window 0 of both devices before window 1. */
	assert_int_equal(s.v[0].start_ns, 0);
	assert_int_equal(s.v[1].start_ns, 0);
	assert_int_equal(s.v[2].start_ns, 60 * SEC);
	assert_true(id_is(&s.v[0], "sensor-a") && id_is(&s.v[1], "sensor-b"));
	sink_free(&s);
	agg_table_destroy(t);
}

static void
test_hopping(void **state)
{
	struct agg_cfg c = mkcfg("hop", 1, 60 * SEC, 20 * SEC, 5 * SEC, 16);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	const struct wr_result *r;
	struct wr_record rec;
	struct rxm m;

	(void)state;
	rxm_init(&m, c.size_ns, c.slide_ns, c.lateness_ns);
	rec = mkval("h", 65 * SEC, 0, 0, 1.0);
	assert_true(rxm_judge(&m, &rec));
	assert_int_equal(rec.first_k, 1);	/* [20,80) [40,100) [60,120) */
	assert_int_equal(agg_table_process(t, &rec, sink_emit, &s), 0);
	/* RX decided window 1 is no longer joined: first_k wins. */
	rec = mkval("h", 70 * SEC, 65 * SEC, 2, 3.0);
	assert_int_equal(agg_table_process(t, &rec, sink_emit, &s), 0);
	/* Window 1 ends at 80 s: W = 80 s closes it, and nothing else. */
	rec = mkctl(WR_REC_TICK, 80 * SEC);
	assert_int_equal(agg_table_process(t, &rec, sink_emit, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].start_ns, 20 * SEC);
	assert_int_equal(s.v[0].end_ns, 80 * SEC);
	assert_int_equal(s.v[0].count, 1);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 3);
	r = find_res(&s, "h", 40 * SEC);
	assert_non_null(r);
	assert_int_equal(r->end_ns, 100 * SEC);
	assert_int_equal(r->count, 2);
	assert_true(r->stats[0].sum == 4.0 && r->stats[0].min == 1.0 && r->stats[0].max == 3.0);
	r = find_res(&s, "h", 60 * SEC);
	assert_non_null(r);
	assert_int_equal(r->count, 2);
	assert_true(s.v[1].start_ns < s.v[2].start_ns);
	assert_int_equal(s.counts, 5);	/* 3 + 2 window memberships */
	assert_int_equal(agg_table_devices(t), 0);
	sink_free(&s);
	agg_table_destroy(t);
}

static void
test_watermark_order(void **state)
{
	/* Lateness 25 s over 10 s windows keeps windows 0..2 open together. */
	struct agg_cfg c = mkcfg("wmorder", 1, 10 * SEC, 10 * SEC, 25 * SEC, 16);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	struct wr_record r;

	(void)state;
	r = mkval("x", 25 * SEC, 0, 2, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("y", 5 * SEC, 0, 0, 2);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("z", 15 * SEC, 0, 1, 3);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("y", 16 * SEC, 0, 1, 4);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(agg_table_devices(t), 3);
	/* One ns short of window 0's end: nothing. */
	r = mkctl(WR_REC_TICK, 10 * SEC - 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 0);
	r = mkctl(WR_REC_TICK, 10 * SEC);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 1);
	assert_true(id_is(&s.v[0], "y") && s.v[0].start_ns == 0 && s.v[0].end_ns == 10 * SEC);
	/* y keeps window 1 open: still a device. */
	assert_int_equal(agg_table_devices(t), 3);
	/* A record's own watermark closes before it is folded; its window is
	 * then closed too: AGG_CLOSED, for the caller to count. */
	r = mkval("w", 29 * SEC, 100 * SEC, 2, 5);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), AGG_CLOSED);
	assert_int_equal(s.n, 4);
	/* Window 1 in order of first arrival (z then y), then window 2. */
	assert_true(id_is(&s.v[1], "z") && s.v[1].start_ns == 10 * SEC);
	assert_true(id_is(&s.v[2], "y") && s.v[2].start_ns == 10 * SEC);
	assert_true(id_is(&s.v[3], "x") && s.v[3].start_ns == 20 * SEC);
	/* w's window 2 ended at 30 s <= W: the table does not reopen it. */
	assert_int_equal(agg_table_devices(t), 0);
	assert_int_equal(s.counts, 4);
	sink_free(&s);
	agg_table_destroy(t);
}

static void
test_tick_and_flush(void **state)
{
	struct agg_cfg c = mkcfg("tick", 1, 10 * SEC, 10 * SEC, 2 * SEC, 16);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	struct wr_record r;

	(void)state;
	r = mkctl(WR_REC_FLUSH, INT64_MIN);	/* empty table */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 0);

	r = mkval("a", 3 * SEC, 1 * SEC, 0, 7);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("b", 13 * SEC, 11 * SEC, 1, 8);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 1);	/* window 0 closed by b's watermark */
	r = mkval("c", 24 * SEC, 22 * SEC, 2, 9);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 2);
	/* Idle: ticks alone close windows. */
	r = mkctl(WR_REC_TICK, 29 * SEC);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(agg_table_devices(t), 1);
	r = mkctl(WR_REC_TICK, 30 * SEC);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 3);
	assert_true(id_is(&s.v[2], "c") && s.v[2].start_ns == 20 * SEC);
	assert_int_equal(agg_table_devices(t), 0);

	/* FLUSH: watermark close first, then every window in increasing k. */
	r = mkval("d", 45 * SEC, 43 * SEC, 4, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("e", 52 * SEC, 50 * SEC, 5, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("d", 51 * SEC, 50 * SEC, 5, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 4);	/* d@40 closed */
	r = mkctl(WR_REC_FLUSH, 50 * SEC);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 6);
	assert_true(id_is(&s.v[4], "e") && id_is(&s.v[5], "d"));
	assert_int_equal(s.v[5].start_ns, 50 * SEC);
	assert_int_equal(agg_table_devices(t), 0);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.counts, 6);
	sink_free(&s);
	agg_table_destroy(t);
}

static void
test_reuse_positions(void **state)
{
	struct agg_cfg c = mkcfg("reuse", 1, 10 * SEC, 10 * SEC, 0, 8);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	char id[32];
	int round, i;

	(void)state;
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 8; i++) {
			int64_t tm = round * 10 * SEC + i * SEC;
			struct wr_record r;

			snprintf(id, sizeof(id), "r%d-d%d", round, i);
			r = mkval(id, tm, tm, round, i);
			assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		}
		assert_int_equal(agg_table_devices(t), 8);
		assert_int_equal(s.n, (size_t)round * 8);
	}
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 160);
	for (i = 0; i < 160; i++) {
		snprintf(id, sizeof(id), "r%d-d%d", i / 8, i % 8);
		assert_true(id_is(&s.v[i], id));
		assert_int_equal(s.v[i].count, 1);
		assert_true(s.v[i].stats[0].sum == (double)(i % 8));
	}
	assert_int_equal(agg_table_devices(t), 0);
	sink_free(&s);
	agg_table_destroy(t);
}

static void
test_full(void **state)
{
	struct agg_cfg c = mkcfg("full", 1, 10 * SEC, 10 * SEC, 0, 4);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	struct wr_record r;
	char id[8];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		r = mkval(id, SEC, 0, 0, 1);
		assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	}
	r = mkval("d4", SEC, 0, 0, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -ENOSPC);
	assert_int_equal(agg_table_devices(t), 4);
	r = mkval("d2", 2 * SEC, 0, 0, 1);	/* known devices still fold */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("d2", 12 * SEC, 0, 1, 1);	/* and may open new windows */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("d4", 13 * SEC, 10 * SEC, 1, 1);	/* window 0 closed first: room */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(agg_table_devices(t), 2);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.counts, 7);	/* the dropped record is nowhere */
	assert_null(find_res(&s, "d4", 0));
	sink_free(&s);
	agg_table_destroy(t);
}

static void
test_shared_limit(void **state)
{
	_Atomic uint64_t in_use = 0;
	struct agg_cfg c1 = mkcfg("lim1", 1, 10 * SEC, 10 * SEC, 0, 10);
	struct agg_cfg c2 = mkcfg("lim2", 1, 10 * SEC, 10 * SEC, 0, 10);
	struct agg_table *t1, *t2;
	struct sink s = {0};
	struct wr_record r;

	(void)state;
	c1.devices_in_use = &in_use;
	c1.devices_limit = 3;
	c2.devices_in_use = &in_use;
	c2.devices_limit = 3;
	t1 = mktable(&c1);
	t2 = mktable(&c2);
	r = mkval("a", SEC, 0, 0, 1);
	assert_int_equal(agg_table_process(t1, &r, sink_emit, &s), 0);
	r = mkval("b", SEC, 0, 0, 1);
	assert_int_equal(agg_table_process(t1, &r, sink_emit, &s), 0);
	r = mkval("c", SEC, 0, 0, 1);
	assert_int_equal(agg_table_process(t2, &r, sink_emit, &s), 0);
	assert_int_equal(atomic_load(&in_use), 3);
	r = mkval("d", SEC, 0, 0, 1);
	assert_int_equal(agg_table_process(t2, &r, sink_emit, &s), -ENOSPC);
	assert_int_equal(agg_table_process(t1, &r, sink_emit, &s), -ENOSPC);
	assert_int_equal(atomic_load(&in_use), 3);
	r = mkctl(WR_REC_TICK, 10 * SEC);
	assert_int_equal(agg_table_process(t1, &r, sink_emit, &s), 0);
	assert_int_equal(atomic_load(&in_use), 1);
	r = mkval("d", 11 * SEC, 0, 1, 1);
	assert_int_equal(agg_table_process(t2, &r, sink_emit, &s), 0);
	assert_int_equal(atomic_load(&in_use), 2);
	agg_table_destroy(t2);		/* gives back its 2 devices */
	assert_int_equal(atomic_load(&in_use), 0);
	agg_table_destroy(t1);
	assert_int_equal(s.n, 2);
	sink_free(&s);
}

struct many {
	uint32_t n_dev;
	uint8_t *seen;		/* per device: bit w set when window w emitted */
	uint64_t emitted;
	uint64_t counts;
	bool bad;
};

static void
many_emit(void *arg, const struct wr_result *res)
{
	struct many *m = arg;
	char buf[WR_DEVID_MAX + 1];
	unsigned long d;
	int w;

	memcpy(buf, res->id, res->id_len);
	buf[res->id_len] = '\0';
	d = strtoul(buf + 4, NULL, 10);
	w = (int)(res->start_ns / (60 * SEC));
	m->emitted++;
	m->counts += res->count;
	if (d >= m->n_dev || w < 0 || w > 1 || (m->seen[d] & (1u << w)) ||
	    res->count != (w == 0 ? 2u : 1u) || res->stats[0].sum != (double)d * res->count)
		m->bad = true;
	else
		m->seen[d] |= 1u << w;
}

static void
test_many_devices(void **state)
{
	const uint32_t n = 100000;
	struct agg_cfg c = mkcfg("many", 1, 60 * SEC, 60 * SEC, 15 * SEC, n);
	struct agg_table *t = mktable(&c);
	struct many m = { .n_dev = n };
	struct wr_record r;
	char id[16];
	uint32_t i;
	int pass;

	(void)state;
	m.seen = calloc(n, 1);
	assert_non_null(m.seen);
	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < n; i++) {
			int64_t tm = pass < 2 ? 30 * SEC + pass : 70 * SEC;
			int64_t wm = pass < 2 ? 15 * SEC : 55 * SEC;

			snprintf(id, sizeof(id), "dev-%06u", i);
			r = mkval(id, tm, wm, pass < 2 ? 0 : 1, (double)i);
			assert_int_equal(agg_table_process(t, &r, many_emit, &m), 0);
		}
		assert_int_equal(agg_table_devices(t), n);
	}
	assert_int_equal(m.emitted, 0);
	r = mkctl(WR_REC_TICK, 60 * SEC);
	agg_table_process(t, &r, many_emit, &m);
	assert_int_equal(m.emitted, n);
	assert_int_equal(agg_table_devices(t), n);	/* all still hold window 1 */
	r = mkctl(WR_REC_FLUSH, 60 * SEC);
	agg_table_process(t, &r, many_emit, &m);
	assert_false(m.bad);
	assert_int_equal(m.emitted, 2 * n);
	assert_int_equal(m.counts, 3 * n);
	assert_int_equal(agg_table_devices(t), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(m.seen[i], 3);
	free(m.seen);
	agg_table_destroy(t);
}

static void
test_stddev_zero(void **state)
{
	struct agg_cfg c = mkcfg("flat", 2, 60 * SEC, 60 * SEC, 0, 8);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	struct wr_record r;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		r = mkval("flat", i * 10000000LL, 0, 0, 0.1);
		r.values[1] = -273.15;
		r.present = 3;
		assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	}
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.v[0].count, 1000);
	assert_true(s.v[0].stats[0].m2 == 0.0 && s.v[0].stats[1].m2 == 0.0);
	assert_true(s.v[0].stats[0].mean == 0.1 && s.v[0].stats[1].mean == -273.15);
	assert_true(s.v[0].stats[0].min == 0.1 && s.v[0].stats[0].max == 0.1);
	sink_free(&s);
	agg_table_destroy(t);
}

/* ---- random streams against a naive reference ------------------------ */

#define RND_DEV		40
#define RND_NMET	2

struct refwin {
	uint64_t count;
	uint64_t present;
	struct refstat st[RND_NMET];
	int64_t emitted_at;	/* step index, -1 = not yet */
};

struct rnd {
	int64_t size, slide;
	int64_t k_lo;		/* lowest window index in ref[] */
	int64_t n_k;
	struct refwin *ref;	/* [dev][k - k_lo] */
	char ids[RND_DEV][WR_DEVID_MAX];
	uint8_t id_len[RND_DEV];
	int64_t step;		/* index of the record being processed */
	int64_t *wm_hist;	/* watermark after each step */
	int64_t last_start;	/* within one call: results come in increasing k */
	uint64_t emitted;
	bool bad;
	const char *why;
};

static uint64_t rnd_state;

static uint64_t
rnd_next(void)
{
	/* xorshift64*: deterministic, seeded per run */
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * UINT64_C(2685821657736338717);
}

static double
rnd_unit(void)
{
	return (double)(rnd_next() >> 11) / 9007199254740992.0;
}

static bool
rnd_fail(struct rnd *x, const char *why)
{
	if (!x->bad) {
		x->bad = true;
		x->why = why;
	}
	return false;
}

static bool
rnd_check(struct rnd *x, const struct wr_result *res)
{
	struct refwin *w;
	int64_t k;
	int d, i;

	for (d = 0; d < RND_DEV; d++)
		if (res->id_len == x->id_len[d] && memcmp(res->id, x->ids[d], WR_DEVID_MAX) == 0)
			break;
	if (d == RND_DEV)
		return rnd_fail(x, "unknown device id");
	k = agg_floor_div(res->start_ns, x->slide);
	if (res->start_ns != k * x->slide || res->end_ns != res->start_ns + x->size)
		return rnd_fail(x, "bad window bounds");
	if (k < x->k_lo || k >= x->k_lo + x->n_k)
		return rnd_fail(x, "window out of reference range");
	if (res->start_ns < x->last_start)
		return rnd_fail(x, "windows not in increasing order");
	x->last_start = res->start_ns;
	w = &x->ref[d * x->n_k + (k - x->k_lo)];
	if (w->count == 0 || w->emitted_at >= 0)
		return rnd_fail(x, "window emitted twice or never opened");
	w->emitted_at = x->step;
	x->emitted++;
	if (res->count != w->count || res->present != w->present)
		return rnd_fail(x, "count or present mask differ");
	for (i = 0; i < RND_NMET; i++) {
		const struct wr_stat *a = &res->stats[i];
		const struct refstat *b = &w->st[i];

		if (a->count != b->n)
			return rnd_fail(x, "metric count differs");
		if (b->n != 0 && (a->min != b->min || a->max != b->max || a->sum != b->sum ||
				  a->mean != b->mean || a->m2 != b->m2))
			return rnd_fail(x, "metric stats differ");
	}
	return true;
}

static void
rnd_emit(void *arg, const struct wr_result *res)
{
	rnd_check(arg, res);
}

static void
run_random(int64_t size, int64_t slide, int64_t late, int n_rec, uint64_t seed, bool ticks)
{
	struct agg_cfg c = mkcfg("rnd", RND_NMET, size, slide, late, RND_DEV);
	struct agg_table *t = mktable(&c);
	int64_t clock = 1000 * SEC, jitter = (size + late) / 2, dur;
	struct rnd x;
	struct rxm m;
	struct wr_record r;
	int64_t i, k, step = 0;
	int d, sent = 0, late_n = 0;

	memset(&x, 0, sizeof(x));
	rnd_state = seed;
	x.size = size;
	x.slide = slide;
	/* clock only grows; times stay in [clock - jitter, clock + jitter] */
	dur = (int64_t)n_rec * 24 * (SEC / 1000) + (n_rec / 1000 + 10) * 3 * size;
	x.k_lo = agg_floor_div(clock - 2 * jitter - size, slide);
	x.n_k = (clock + dur + 2 * jitter) / slide - x.k_lo + 2;
	x.ref = calloc((size_t)RND_DEV * x.n_k, sizeof(*x.ref));
	x.wm_hist = calloc(2 * (size_t)n_rec + 2, sizeof(*x.wm_hist));
	assert_non_null(x.ref);
	assert_non_null(x.wm_hist);
	for (i = 0; i < RND_DEV * x.n_k; i++)
		x.ref[i].emitted_at = -1;
	for (d = 0; d < RND_DEV; d++) {
		uint8_t len = (uint8_t)(1 + (d * 13) % WR_DEVID_MAX);
		int j;

		for (j = 0; j < len; j++)
			x.ids[d][j] = (char)('a' + (d + j * 7) % 26);
		x.id_len[d] = len;
	}
	/* Same bytes, different length: must be two devices. */
	memcpy(x.ids[1], x.ids[0], WR_DEVID_MAX);
	x.id_len[1] = (uint8_t)(x.id_len[0] + 1);
	rxm_init(&m, size, slide, late);

	for (i = 0; i < n_rec; i++) {
		int64_t tm, first, last;

		clock += (int64_t)(rnd_next() % (24 * (SEC / 1000)));
		if (ticks && rnd_next() % 4000 == 0) {
			/* idle gap: the watermark follows the clock */
			clock += (int64_t)(rnd_next() % (uint64_t)(3 * size));
			if (clock - late - size > m.wm) {
				m.wm = clock - late - size;
				r = mkctl(WR_REC_TICK, m.wm);
				x.step = step;
				x.last_start = INT64_MIN;
				assert_int_equal(agg_table_process(t, &r, rnd_emit, &x), 0);
				x.wm_hist[step++] = m.wm;
			}
		}
		tm = clock - jitter + (int64_t)(rnd_next() % (uint64_t)(2 * jitter));
		d = (int)(rnd_next() % RND_DEV);
		memset(&r, 0, sizeof(r));
		r.kind = WR_REC_DATA;
		r.time_ns = tm;
		memcpy(r.id, x.ids[d], WR_DEVID_MAX);
		r.id_len = x.id_len[d];
		r.hash = agg_devkey_hash(r.id, r.id_len);
		if (rnd_next() % 10 < 8) {
			r.present |= 1;
			r.values[0] = (rnd_unit() - 0.3) * 200.0;
		}
		if (rnd_next() % 2) {
			r.present |= 2;
			r.values[1] = rnd_unit() * 1e9 + 1e3;
		}
		if (rnd_next() % 50 == 0) {
			r.present |= 4;	/* beyond n_metrics: ignored */
			r.values[2] = 99;
		}
		if (!rxm_judge(&m, &r)) {
			late_n++;
			continue;
		}
		/* the reference folds into every window the RX decided */
		first = r.first_k;
		last = agg_floor_div(tm, slide);
		for (k = first; k <= last; k++) {
			struct refwin *w = &x.ref[d * x.n_k + (k - x.k_lo)];
			int j;

			assert_true(k >= x.k_lo && k < x.k_lo + x.n_k);
			w->count++;
			for (j = 0; j < RND_NMET; j++) {
				if (r.present & (1u << j)) {
					w->present |= 1u << j;
					ref_fold(&w->st[j], r.values[j]);
				}
			}
		}
		x.step = step;
		x.last_start = INT64_MIN;
		assert_int_equal(agg_table_process(t, &r, rnd_emit, &x), 0);
		x.wm_hist[step++] = r.watermark_ns;
		sent++;
		if (x.bad)
			break;
	}
	if (x.bad)
		fprintf(stderr, "random stream: %s at step %" PRId64 "\n", x.why, x.step);
	assert_false(x.bad);
	r = mkctl(WR_REC_FLUSH, m.wm);
	x.step = step;
	x.last_start = INT64_MIN;
	assert_int_equal(agg_table_process(t, &r, rnd_emit, &x), 0);
	assert_false(x.bad);
	assert_int_equal(agg_table_devices(t), 0);

	/* Each window came out at the first step whose watermark reached its end. */
	for (i = 0; i < RND_DEV * x.n_k; i++) {
		struct refwin *w = &x.ref[i];
		int64_t end = (x.k_lo + i % x.n_k) * slide + size;
		int64_t lo = 0, hi = step;	/* first step with wm >= end, step = flush */

		if (w->count == 0) {
			assert_int_equal(w->emitted_at, -1);
			continue;
		}
		while (lo < hi) {
			int64_t mid = (lo + hi) / 2;

			if (x.wm_hist[mid] >= end)
				hi = mid;
			else
				lo = mid + 1;
		}
		assert_int_equal(w->emitted_at, lo);
	}
	printf("random S=%" PRId64 "s D=%" PRId64 "s L=%" PRId64 "s: %d sent, %d late, "
	       "%" PRIu64 " windows emitted\n", size / SEC, slide / SEC, late / SEC, sent, late_n,
	       x.emitted);
	assert_true(x.emitted > 1000);
	assert_true(late_n > 0);
	free(x.ref);
	free(x.wm_hist);
	agg_table_destroy(t);
}

static void
test_random_tumbling(void **state)
{
	(void)state;
	run_random(10 * SEC, 10 * SEC, 3 * SEC, 200000, 0x9e3779b97f4a7c15ULL, true);
}

static void
test_random_hopping(void **state)
{
	(void)state;
	run_random(30 * SEC, 10 * SEC, 7 * SEC, 200000, 0xd1b54a32d192ed03ULL, true);
}

static void
test_random_hopping_long_lateness(void **state)
{
	(void)state;
	run_random(20 * SEC, 5 * SEC, 47 * SEC, 100000, 0x2545f4914f6cdd1dULL, false);
}

/*
 * Records the RX lcore never sends: rejected or absorbed without harm, and
 * a watermark lagging the data still counts every record once per window.
 */
static void
test_defensive(void **state)
{
	struct agg_cfg c = mkcfg("defense", 2, 10 * SEC, 10 * SEC, 5 * SEC, 16);
	struct agg_table *t = mktable(&c);
	struct sink s = {0};
	struct wr_record r;

	(void)state;
	r = mkval("x", SEC, 0, 0, 1);
	r.id_len = 0;
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -EINVAL);
	r.id_len = WR_DEVID_MAX + 1;
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -EINVAL);
	r = mkval("x", -SEC, INT64_MIN, 0, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -EINVAL);
	r = mkctl(9, INT64_MIN);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -EINVAL);
	r = mkval("x", SEC, 0, 0, 1);
	r.hash ^= 1;	/* not agg_devkey_hash(): never becomes a device */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -EINVAL);
	assert_int_equal(agg_table_devices(t), 0);
	/* first_k past the record's last window; a late record: no device made. */
	r = mkval("x", 15 * SEC, 0, 7, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("x", 15 * SEC, 40 * SEC, 1, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), AGG_CLOSED);
	assert_int_equal(agg_table_devices(t), 0);
	/* first_k far below the windows containing the record: clamped. */
	r = mkval("x", 15 * SEC, INT64_MIN, INT64_MIN, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	/* Non-finite readings are never folded; the record still counts. */
	r = mkval("x", 16 * SEC, INT64_MIN, 1, NAN);
	r.values[1] = 2.5;
	r.present = 3;
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("x", 17 * SEC, INT64_MIN, 1, INFINITY);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 0);
	/* A window 100 past the span, W still lagging: old windows close early. */
	r = mkval("y", 1000 * SEC, INT64_MIN, 100, 4);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 1);
	assert_true(id_is(&s.v[0], "x") && s.v[0].start_ns == 10 * SEC);
	assert_int_equal(s.v[0].count, 3);
	assert_int_equal(s.v[0].present, 3);
	assert_int_equal(s.v[0].stats[0].count, 1);
	assert_true(s.v[0].stats[1].sum == 2.5);
	/* And one far behind the span goes out alone, at once. */
	r = mkval("x", 21 * SEC, INT64_MIN, 2, 6);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(id_is(&s.v[1], "x") && s.v[1].start_ns == 20 * SEC && s.v[1].count == 1);
	assert_true(s.v[1].stats[0].sum == 6 && s.v[1].stats[0].m2 == 0);
	assert_int_equal(agg_table_devices(t), 1);
	/* Huge times: window ends saturate instead of wrapping. */
	r = mkval("z", INT64_MAX - 1, INT64_MAX - 5 * SEC, 0, 1);
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 4);
	assert_true(id_is(&s.v[2], "y") && s.v[2].start_ns == 1000 * SEC);
	assert_true(id_is(&s.v[3], "z") && s.v[3].end_ns == INT64_MAX);
	assert_int_equal(s.counts, 6);
	assert_int_equal(agg_table_devices(t), 0);
	sink_free(&s);
	agg_table_destroy(t);
}

/* ---- device table internals (issue 4) ---------------------------------- */

static uint32_t
hash_const(const char *id, uint8_t len)
{
	(void)id;
	(void)len;
	return 0x5a5a5a5au;
}

/* Few distinct hashes whose home slots sit near the end of a 64-slot index. */
static uint32_t
hash_clustered(const char *id, uint8_t len)
{
	return agg_devkey_hash(id, len) % 5 * 3 + 57;
}

static void
set_id_hash(struct wr_record *r, const char *id, uint8_t len, agg_hash_fn fn)
{
	memset(r->id, 0, sizeof(r->id));
	memcpy(r->id, id, len);
	r->id_len = len;
	r->hash = fn(r->id, len);
}

static void
assert_verified(const struct agg_table *t)
{
	const char *why = NULL;

	if (agg_table_verify(t, &why) != 0)
		fail_msg("agg_table_verify: %s", why);
}

/* Every device with the same hash: each probe walks the whole run. */
static void
test_collisions(void **state)
{
	struct agg_cfg c = mkcfg("collide", 1, 10 * SEC, 10 * SEC, 0, 24);
	struct agg_table_stats st;
	struct agg_table *t;
	struct sink s = {0};
	struct wr_record r;
	char id[16];
	int i, round;

	(void)state;
	c.hash_fn = hash_const;
	t = mktable(&c);
	for (round = 0; round < 3; round++) {
		int64_t base = round * 10 * SEC;

		for (i = 0; i < 24; i++) {
			snprintf(id, sizeof(id), "c%02d", i);
			r = mkval(id, base + SEC, base, round, i);
			set_id_hash(&r, id, (uint8_t)strlen(id), hash_const);
			assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		}
		for (i = 23; i >= 0; i--) {
			snprintf(id, sizeof(id), "c%02d", i);
			r = mkval(id, base + 2 * SEC, base, round, 2.0 * i);
			set_id_hash(&r, id, (uint8_t)strlen(id), hash_const);
			assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		}
		assert_int_equal(agg_table_devices(t), 24);
		assert_verified(t);
		r = mkval("c24", base + SEC, base, round, 1);
		set_id_hash(&r, "c24", 3, hash_const);
		assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -ENOSPC);
		/* the default hash is not this table's: refused as RX never sends it */
		r = mkval("c25", base + SEC, base, round, 1);
		assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -EINVAL);
		r = mkctl(WR_REC_TICK, base + 10 * SEC);
		assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		assert_int_equal(agg_table_devices(t), 0);
		assert_verified(t);
		assert_int_equal(s.n, (size_t)(round + 1) * 24);
		for (i = 0; i < 24; i++) {
			const struct wr_result *res = &s.v[round * 24 + i];

			snprintf(id, sizeof(id), "c%02d", i);
			assert_true(id_is(res, id));	/* arrival order */
			assert_int_equal(res->start_ns, base);
			assert_int_equal(res->count, 2);
			assert_true(res->stats[0].sum == 3.0 * i);
		}
	}
	agg_table_stats_get(t, &st);
	assert_int_equal(st.refused_full, 3);
	assert_int_equal(st.windows, 0);
	assert_int_equal(st.index_slots, 32);
	sink_free(&s);
	agg_table_destroy(t);
}

/*
 * agg_table_prefetch is a hint: two tables fed the same records, one
 * prefetching every stage of records ahead of it (other devices, long ids,
 * devices already gone, control records, the record itself), emit the same
 * results at the same records and stay valid. Colliding hashes make probe
 * runs longer than the hint walks; closes free device entries and windows
 * that the hints then meet again.
 */
static void
run_prefetch(agg_hash_fn fn)
{
	struct agg_cfg c = mkcfg("pf", 2, 2 * SEC, SEC, SEC, 40);
	struct agg_table *a, *b;
	struct sink sa = {0}, sb = {0};
	struct wr_record recs[8];
	char id[WR_DEVID_MAX];
	int64_t wm = INT64_MIN, t;
	unsigned int i, j, st;
	size_t k;

	c.hash_fn = fn;
	a = mktable(&c);
	b = mktable(&c);
	memset(recs, 0, sizeof(recs));
	rnd_state = 7;
	for (i = 0; i < 4000; i++) {
		struct wr_record *r = &recs[i % RTE_DIM(recs)];
		unsigned int d = (unsigned int)(rnd_next() % 48);
		uint8_t len;

		if (rnd_next() % 16 == 0) {
			*r = mkctl(rnd_next() % 2 ? WR_REC_TICK : WR_REC_FLUSH, wm);
		} else {
			t = (int64_t)(i / 100) * SEC + (int64_t)(rnd_next() % SEC);
			if (t - SEC > wm)
				wm = t - SEC;
			if (d % 5 == 0)
				len = (uint8_t)snprintf(id, sizeof(id), "a-long-device-id-over-the-"
							"inline-bytes-%u", d);
			else
				len = (uint8_t)snprintf(id, sizeof(id), "p%u", d);
			*r = mkval(id, t, wm, agg_floor_div(t - 2 * SEC, SEC) + 1,
				   (double)(rnd_next() % 1000));
			r->present = 1u | (rnd_next() % 2) << 1;
			r->values[1] = -(double)i;
			set_id_hash(r, id, len, fn);
		}
		/* hints for what the ring holds around this record, every stage */
		for (j = 0; j < RTE_DIM(recs); j++)
			for (st = 0; st < 3; st++)
				agg_table_prefetch(a, &recs[j], st);
		assert_int_equal(agg_table_process(a, r, sink_emit, &sa),
				 agg_table_process(b, r, sink_emit, &sb));
		if (i % 500 == 0) {
			assert_verified(a);
			assert_int_equal(agg_table_devices(a), agg_table_devices(b));
		}
	}
	agg_table_flush(a, sink_emit, &sa);
	agg_table_flush(b, sink_emit, &sb);
	assert_verified(a);
	assert_int_equal(sa.n, sb.n);
	assert_true(sa.n > 100);
	for (k = 0; k < sa.n; k++)
		assert_memory_equal(&sa.v[k], &sb.v[k], offsetof(struct wr_result, close_tsc));
	for (k = 0; k < sa.n; k++) {
		assert_int_equal(sa.v[k].present, sb.v[k].present);
		assert_memory_equal(sa.v[k].id, sb.v[k].id, WR_DEVID_MAX);
		assert_memory_equal(sa.v[k].stats, sb.v[k].stats, 2 * sizeof(struct wr_stat));
	}
	sink_free(&sa);
	sink_free(&sb);
	agg_table_destroy(a);
	agg_table_destroy(b);
}

static void
test_prefetch(void **state)
{
	(void)state;
	run_prefetch(agg_devkey_hash);
	run_prefetch(hash_const);
	run_prefetch(hash_clustered);
}

/* Ids of every length 1..64, the inline/overflow boundary, equal hashes. */
static void
test_long_ids(void **state)
{
	struct agg_cfg c = mkcfg("longid", 1, 10 * SEC, 10 * SEC, 0, 80);
	char ids[70][WR_DEVID_MAX];
	uint8_t len[70];
	struct agg_table_stats st;
	uint64_t bytes_first = 0;
	struct agg_table *t;
	struct sink s = {0};
	struct wr_record r;
	int i, j, round;

	(void)state;
	c.hash_fn = hash_const;
	t = mktable(&c);
	for (i = 0; i < 64; i++) {
		len[i] = (uint8_t)(i + 1);
		for (j = 0; j < len[i]; j++)
			ids[i][j] = (char)('a' + (j * 7 + i) % 26);
	}
	/* pairs that differ only in their last byte, and a zero byte inside */
	for (i = 64; i < 70; i++) {
		len[i] = (uint8_t)(i == 64 || i == 65 ? 64 : i == 66 || i == 67 ? 16 : 15);
		memcpy(ids[i], ids[len[i] - 1], len[i]);
		ids[i][len[i] - 1] = (char)(i & 1 ? 0 : 1);
	}
	ids[69][3] = '\0';
	for (round = 0; round < 2; round++) {
		int64_t base = round * 10 * SEC;

		for (i = 0; i < 70; i++) {
			r = mkval("x", base + SEC + i, base, round, (double)i);
			set_id_hash(&r, ids[i], len[i], hash_const);
			assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		}
		for (i = 0; i < 70; i++) {
			r = mkval("x", base + 2 * SEC, base, round, (double)i);
			set_id_hash(&r, ids[i], len[i], hash_const);
			assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
		}
		assert_int_equal(agg_table_devices(t), 70);
		assert_verified(t);
		agg_table_flush(t, sink_emit, &s);
		assert_int_equal(agg_table_devices(t), 0);
		assert_verified(t);
		assert_int_equal(s.n, (size_t)(round + 1) * 70);
		for (i = 0; i < 70; i++) {
			const struct wr_result *res = &s.v[round * 70 + i];
			char want[WR_DEVID_MAX] = {0};

			memcpy(want, ids[i], len[i]);
			assert_int_equal(res->id_len, len[i]);
			assert_memory_equal(res->id, want, WR_DEVID_MAX);	/* zero padded */
			assert_int_equal(res->count, 2);
			assert_true(res->stats[0].sum == 2.0 * i);
		}
		/* the second round reuses the pools' memory */
		agg_table_stats_get(t, &st);
		if (round == 0)
			bytes_first = st.bytes;
		assert_int_equal(st.bytes, bytes_first);
	}
	sink_free(&s);
	agg_table_destroy(t);
}

/*
 * Random inserts and deletes (a device goes when its last window closes)
 * on a crowded index with few distinct hashes, some wrapping past the end,
 * against a reference of which device holds which window: after every step
 * the table verifies, its device count matches, and every result matches.
 */
#define BS_DEV	64
#define BS_MAX	48
#define BS_K	8	/* reference windows kept: (S + L) / D + 2 covers them */

struct bs_ref {
	char ids[BS_DEV][WR_DEVID_MAX];
	uint8_t len[BS_DEV];
	uint64_t cnt[BS_DEV][BS_K];	/* [dev][k % BS_K] records */
	double sum[BS_DEV][BS_K];
	int64_t k_of[BS_DEV][BS_K];
	uint64_t emitted;
	const char *bad;
};

static void
bs_emit(void *arg, const struct wr_result *res)
{
	struct bs_ref *x = arg;
	int64_t k = res->start_ns / SEC;
	int d;

	for (d = 0; d < BS_DEV; d++)
		if (res->id_len == x->len[d] && memcmp(res->id, x->ids[d], res->id_len) == 0)
			break;
	if (d == BS_DEV) {
		x->bad = "unknown id";
		return;
	}
	if (x->cnt[d][k % BS_K] == 0 || x->k_of[d][k % BS_K] != k) {
		x->bad = "window the reference does not hold";
		return;
	}
	if (res->count != x->cnt[d][k % BS_K] || res->stats[0].sum != x->sum[d][k % BS_K])
		x->bad = "count or sum differ";
	x->cnt[d][k % BS_K] = 0;
	x->sum[d][k % BS_K] = 0;
	x->emitted++;
}

static int
bs_live(const struct bs_ref *x)
{
	int d, j, n = 0;

	for (d = 0; d < BS_DEV; d++)
		for (j = 0; j < BS_K; j++)
			if (x->cnt[d][j] != 0) {
				n++;
				break;
			}
	return n;
}

static void
run_backshift(uint64_t seed, int steps)
{
	struct agg_cfg c = mkcfg("bshift", 1, SEC, SEC, 4 * SEC, BS_MAX);
	static struct bs_ref x;
	struct agg_table_stats st;
	struct agg_table *t;
	struct wr_record r;
	int64_t wm = 0;
	int d, i, j, refused = 0;

	c.hash_fn = hash_clustered;
	t = mktable(&c);
	memset(&x, 0, sizeof(x));
	rnd_state = seed;
	for (d = 0; d < BS_DEV; d++) {
		if (d % 3 == 0)
			x.len[d] = (uint8_t)snprintf(x.ids[d], WR_DEVID_MAX,
						     "a-long-device-name-shared-prefix-%02d", d);
		else
			x.len[d] = (uint8_t)snprintf(x.ids[d], WR_DEVID_MAX, "d%d", d);
	}
	for (i = 0; i < steps && x.bad == NULL; i++) {
		/* phases of few and of many devices (the table fills up) */
		if (rnd_next() % (i / 1000 % 2 != 0 ? 40u : 4u) == 0) {
			/* the watermark moves one window: devices whose last window closes go */
			wm += SEC;
			r = mkctl(WR_REC_TICK, wm);
			assert_int_equal(agg_table_process(t, &r, bs_emit, &x), 0);
		} else {
			int64_t tm = wm + (int64_t)(rnd_next() % (uint64_t)(4 * SEC));
			int64_t k = tm / SEC;
			double v = (double)(rnd_next() % 1000);
			bool known = false;
			int rc;

			d = (int)(rnd_next() % BS_DEV);
			for (j = 0; j < BS_K; j++)
				known |= x.cnt[d][j] != 0;
			r = mkval("x", tm, wm, k, v);
			set_id_hash(&r, x.ids[d], x.len[d], hash_clustered);
			rc = agg_table_process(t, &r, bs_emit, &x);
			if (!known && bs_live(&x) == BS_MAX) {
				assert_int_equal(rc, -ENOSPC);
				refused++;
			} else {
				assert_int_equal(rc, 0);
				if (x.cnt[d][k % BS_K] != 0 && x.k_of[d][k % BS_K] != k)
					fail_msg("reference slot reused while open");
				x.k_of[d][k % BS_K] = k;
				x.cnt[d][k % BS_K]++;
				x.sum[d][k % BS_K] += v;
			}
		}
		if (x.bad != NULL)
			break;
		assert_verified(t);
		assert_int_equal(agg_table_devices(t), bs_live(&x));
	}
	if (x.bad != NULL)
		fail_msg("step %d: %s", i, x.bad);
	agg_table_flush(t, bs_emit, &x);
	assert_null(x.bad);
	assert_int_equal(bs_live(&x), 0);
	assert_int_equal(agg_table_devices(t), 0);
	assert_verified(t);
	agg_table_stats_get(t, &st);
	assert_int_equal(st.refused_full, (uint64_t)refused);
	assert_int_equal(st.windows, 0);
	printf("backward shift, seed %" PRIu64 ": %d steps, %" PRIu64 " windows emitted, "
	       "%d refused full\n", seed, steps, x.emitted, refused);
	assert_true(x.emitted > (uint64_t)steps / 4);
	agg_table_destroy(t);
}

static void
test_backshift_random(void **state)
{
	(void)state;
	run_backshift(1, 20000);
	run_backshift(0x9e3779b97f4a7c15ULL, 20000);
	run_backshift(77, 20000);
}

/* A window pool bounded by configuration: refusals are whole and counted. */
static void
test_pool_exhausted(void **state)
{
	struct agg_cfg c = mkcfg("pool", 1, 20 * SEC, 10 * SEC, 0, 8);
	struct agg_table_stats st;
	struct agg_table *t;
	struct sink s = {0};
	struct wr_record r;

	(void)state;
	c.max_windows = 3;
	t = mktable(&c);
	r = mkval("a", 15 * SEC, 0, 0, 1);	/* windows 0 and 1 */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("b", 15 * SEC, 0, 0, 2);	/* needs 2, 1 left: refused whole */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -ENOSPC);
	assert_int_equal(agg_table_devices(t), 1);	/* b not left behind */
	assert_verified(t);
	r = mkval("a", 16 * SEC, 0, 0, 3);	/* windows it holds: no record needed */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("c", 5 * SEC, 0, 0, 4);	/* window 0 only: the last record */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	r = mkval("a", 25 * SEC, 0, 1, 5);	/* a's window 2 is one too many */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), -ENOSPC);
	agg_table_stats_get(t, &st);
	assert_int_equal(st.refused_pool, 2);
	assert_int_equal(st.refused_full, 0);
	assert_int_equal(st.windows, 3);
	assert_int_equal(st.devices, 2);
	/* window 0 closes: its two records come back */
	r = mkval("b", 25 * SEC, 20 * SEC, 1, 6);	/* windows 1 and 2 */
	assert_int_equal(agg_table_process(t, &r, sink_emit, &s), 0);
	assert_int_equal(s.n, 2);
	assert_true(id_is(&s.v[0], "a") && s.v[0].count == 2 && s.v[0].stats[0].sum == 4);
	assert_true(id_is(&s.v[1], "c") && s.v[1].count == 1);
	assert_verified(t);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.counts, 2 + 1 + 2 + 1 + 1);	/* nothing refused is counted */
	agg_table_stats_get(t, &st);
	assert_int_equal(st.windows, 0);
	assert_int_equal(st.refused_pool, 2);
	sink_free(&s);
	agg_table_destroy(t);
}

static size_t
libc_heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* weirctl top: busiest devices by records in open windows, most first. */
static void
test_top(void **state)
{
	struct agg_cfg c = mkcfg("top", 1, 10 * SEC, 5 * SEC, 0, 200);
	struct agg_table *t = mktable(&c);
	struct agg_top_entry out[AGG_TOP_MAX + 1];
	struct sink s = {0};
	struct wr_record rec;
	char id[16];
	unsigned int n, i, j;

	(void)state;
	assert_int_equal(agg_table_top(t, 5, out), 0);
	/* device d%u gets i records, d7 the most; times in window 2 and 3 (hopping) */
	for (i = 1; i <= 100; i++) {
		snprintf(id, sizeof(id), "d%u", i);
		for (j = 0; j < (i % 50) + (i == 7 ? 100 : 0); j++) {
			rec = mkval(id, 15 * SEC + j, 0, 2, 1.0);
			assert_int_equal(agg_table_process(t, &rec, sink_emit, &s), 0);
		}
	}
	memset(out, 0xab, sizeof(out));
	n = agg_table_top(t, 4, out);
	assert_int_equal(n, 4);
	assert_int_equal(out[0].id_len, 2);
	assert_memory_equal(out[0].id, "d7", 2);
	assert_int_equal(out[0].records, 2 * 107);	/* two open windows each */
	assert_int_equal(out[0].windows, 2);
	assert_int_equal(out[1].records, 2 * 49);	/* d49 and d99 */
	assert_int_equal(out[2].records, 2 * 49);
	assert_int_equal(out[3].records, 2 * 48);
	for (i = 1; i < n; i++)
		assert_true(out[i - 1].records >= out[i].records);
	/* n is capped; fewer devices than asked returns what there is */
	n = agg_table_top(t, AGG_TOP_MAX + 1, out);
	assert_int_equal(n, AGG_TOP_MAX);
	assert_int_equal(agg_table_top(t, 0, out), 0);
	/* closing window 2 leaves one window of each device */
	rec = mkctl(WR_REC_TICK, 20 * SEC);
	assert_int_equal(agg_table_process(t, &rec, sink_emit, &s), 0);
	n = agg_table_top(t, 1, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].records, 107);
	assert_int_equal(out[0].windows, 1);
	agg_table_flush(t, sink_emit, &s);
	assert_int_equal(agg_table_top(t, 3, out), 0);
	assert_int_equal(agg_table_top(NULL, 3, out), 0);
	sink_free(&s);
	agg_table_destroy(t);
}

/*
 * SPEC §8: <= 256 bytes of state per device per open window (4 metrics,
 * the default window scheme, one open window per device): the heap the
 * table holds, by its own account and, where measurable, by mallinfo2.
 */
static void
test_memory_per_window(void **state)
{
	const uint32_t n = 100000;
	struct agg_cfg c = mkcfg("mem", 4, 60 * SEC, 60 * SEC, 5 * SEC, n);
	size_t libc0 = libc_heap_bytes(), libc_b;
	struct agg_table_stats st;
	struct agg_table *t = mktable(&c);
	struct wr_record r;
	char id[16];
	double per_win;
	uint32_t i;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "dev-%07u", i);
		r = mkval(id, 30 * SEC, 25 * SEC, 0, 1.0);
		r.present = 15;
		assert_int_equal(agg_table_process(t, &r, sink_emit, NULL), 0);
	}
	libc_b = libc_heap_bytes() - libc0;
	agg_table_stats_get(t, &st);
	assert_int_equal(st.windows, n);
	per_win = (double)st.bytes / (double)st.windows;
	printf("memory, 4 metrics, %u devices, one open window each: %" PRIu64 " index slots, "
	       "%.1f B per device-window held (%.1f B by mallinfo2)\n", n, st.index_slots,
	       per_win, (double)libc_b / n);
	assert_true(st.bytes >= (uint64_t)n * 4 * sizeof(struct wr_stat));
	assert_true(per_win <= 256.0);
	if (libc_b == 0) {
		/* Sanitizer allocators hide the libc heap from mallinfo2. */
		printf("libc heap not measurable here: mallinfo2 figure skipped\n");
	} else {
		assert_true((double)libc_b / n <= 256.0);
	}
	agg_table_destroy(t);
}

int
main(void)
{
	char prefix[64];
	char *eal_argv[] = {
		"test_agg", "--no-huge", "--no-pci", "-m", "256", "--file-prefix", prefix,
		"--log-level", "lib.eal:error", NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_bad),
		cmocka_unit_test(test_devkey_layout),
		cmocka_unit_test(test_tumbling),
		cmocka_unit_test(test_hopping),
		cmocka_unit_test(test_watermark_order),
		cmocka_unit_test(test_tick_and_flush),
		cmocka_unit_test(test_reuse_positions),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_shared_limit),
		cmocka_unit_test(test_many_devices),
		cmocka_unit_test(test_stddev_zero),
		cmocka_unit_test(test_random_tumbling),
		cmocka_unit_test(test_random_hopping),
		cmocka_unit_test(test_random_hopping_long_lateness),
		cmocka_unit_test(test_defensive),
		cmocka_unit_test(test_memory_per_window),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_long_ids),
		cmocka_unit_test(test_backshift_random),
		cmocka_unit_test(test_pool_exhausted),
		cmocka_unit_test(test_prefetch),
	};
	int ret;

	snprintf(prefix, sizeof(prefix), "test_agg_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
