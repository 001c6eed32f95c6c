/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore window table: device index, per-device window records, and the
 * per-window device lists that make closing cost proportional to what is
 * emitted. Runs on the aggregator lcore that owns it (or the RX lcore when
 * [aggregator] workers = 0); single threaded except *devices_in_use.
 *
 * Why K window indices suffice: at every insert the table has already
 * closed every window with end <= W (the record's watermark), so an open
 * window k has k*D + S > W. A window is only created for a time t <= M (max
 * time seen by RX) and W >= M - L, so every open k lies in
 * ((W - S)/D, (W + L)/D]: at most ceil((S + L)/D) consecutive indices.
 * K = (S + L)/D + 2 leaves one spare, window k uses list head k mod K (its
 * slot index) and at most one window uses a slot index at a time. Records
 * breaking that rule (a watermark that lags the data) never corrupt
 * anything: a window too new for the span first closes the oldest windows
 * early, one too old is emitted on its own at once; either way every record
 * is still counted exactly once per window it joins.
 *
 * Layout (issue 4: <= 256 bytes per device-window at 10^6 devices):
 *  - index: a power-of-two array of 8-byte slots {hash, device + 1}, load
 *    <= 0.8 at max_devices, open addressing with linear probing from
 *    hash & mask, backward-shift deletion (no tombstones). The slot keeps
 *    the whole 32-bit hash that RX computed for sharding as the
 *    fingerprint: a probe reads a device entry only when it matches, and a
 *    shift finds each entry's home slot without leaving the index.
 *  - devices: max_devices entries of 20 bytes {first window record, id_len,
 *    id}, the id inline up to AGG_ID_INLINE bytes, longer ids in 64-byte
 *    blocks of an overflow pool (the inline bytes then hold the block).
 *  - window records: one per device per open window (24 bytes + n_metrics
 *    x struct wr_stat: 216 bytes for 4 metrics) from a chunked pool with a
 *    free list, bounded by max_windows, released when the window closes.
 *    A record sits on two lists: its device's, ordered by window index
 *    (what a fold walks), and its window's, in arrival order (what a close
 *    walks and the order results leave in).
 * 4 metrics, one open window per device, 10^6 devices: 216 + 20 + 16.8
 * (2^21 slots) = 253 bytes per device-window; hopping windows share the
 * index and device entry among more windows.
 */

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_prefetch.h>

#include "agg.h"

#define AGG_NONE	UINT32_MAX	/* end of a list, no record */
#define AGG_NAME_MAX	20
#define AGG_K_MAX	(1u << 20)	/* sanity bound on windows open per device */
#define AGG_DEVICES_MAX	(1u << 30)	/* device + 1 fits the slot, index fits memory */
#define AGG_INDEX_MIN	8u
#define AGG_ID_INLINE	15		/* longest id kept in the device entry */
#define AGG_WIN_SHIFT	10		/* window records per pool chunk: 1024 */
#define AGG_ID_SHIFT	8		/* long ids per pool chunk: 256 */

/* One index slot. dev == 0: empty. */
struct agg_slot {
	uint32_t hash;		/* wr_record.hash of the device: home = hash & mask */
	uint32_t dev;		/* device entry + 1 */
};

/* One device. id_len == 0: a free entry. */
struct agg_dev {
	uint32_t win;		/* first window record (device list), AGG_NONE: none;
				 * free entry: next free entry */
	uint8_t id_len;
	uint8_t id[AGG_ID_INLINE];	/* id_len <= AGG_ID_INLINE: the id, zero padded;
					 * longer: uint32 overflow block */
};

/* One window of one device. */
struct agg_win {
	uint64_t count;		/* records folded into the window */
	uint32_t next;		/* next record of this window (arrival order);
				 * free record: next free record */
	uint32_t dnext;		/* next record of this device (window order) */
	uint32_t dev;		/* device entry */
	uint32_t sidx;		/* slot index of the window: k mod K */
	struct wr_stat stats[];	/* n_metrics; metric i present iff stats[i].count */
};

/*
 * Fixed-size elements in chunks of 1 << shift, handed out by index
 * (uint32, AGG_NONE excluded); freed elements go on a free list linked
 * through the uint32 at link_off. Chunks are only freed with the pool.
 */
struct agg_pool {
	uint8_t **chunks;
	uint32_t n_chunks;
	uint32_t cap_chunks;	/* room in chunks[] */
	uint32_t used;		/* elements ever handed out of the chunks */
	uint32_t in_use;
	uint32_t max;		/* bound of in_use */
	uint32_t free_head;
	size_t stride;
	size_t link_off;
	unsigned int shift;
};

struct agg_table {
	struct agg_slot *slots;		/* index: mask + 1 slots */
	struct agg_dev *devs;		/* max_devices entries */
	struct agg_pool wins;		/* struct agg_win records */
	struct agg_pool ids;		/* long ids, WR_DEVID_MAX bytes each */
	uint32_t *head;			/* per slot index: first record of the window */
	uint32_t *tail;			/* per slot index: last record (arrival order) */
	struct wr_result *res;		/* emission scratch, full size */
	agg_hash_fn hash_fn;
	uint32_t mask;
	uint32_t dev_free;		/* free device entries, AGG_NONE: none */
	uint32_t dev_used;		/* entries ever used: 0 .. dev_used - 1 */
	uint32_t k_slots;		/* K */
	uint32_t max_devices;
	uint32_t n_devices;
	unsigned int n_metrics;
	uint64_t metric_mask;
	int64_t size_ns;
	int64_t slide_ns;
	/* When any_open, every open window index lies in [lo, hi], hi - lo < K. */
	int64_t lo;
	int64_t hi;
	bool any_open;
	_Atomic uint64_t *in_use;	/* shared by all tables: rw, atomic */
	uint64_t in_use_limit;
	uint64_t refused_full;
	uint64_t refused_pool;
};

/* ---- pool ------------------------------------------------------------- */

static void
pool_init(struct agg_pool *p, size_t stride, size_t link_off, unsigned int shift, uint64_t max)
{
	memset(p, 0, sizeof(*p));
	p->stride = stride;
	p->link_off = link_off;
	p->shift = shift;
	p->max = max > AGG_NONE - 1 ? AGG_NONE - 1 : (uint32_t)max;
	p->free_head = AGG_NONE;
}

static void
pool_free(struct agg_pool *p)
{
	uint32_t i;

	for (i = 0; i < p->n_chunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	p->chunks = NULL;
	p->n_chunks = 0;
}

static inline void *
pool_elem(const struct agg_pool *p, uint32_t i)
{
	return p->chunks[i >> p->shift] + (size_t)(i & ((1u << p->shift) - 1)) * p->stride;
}

static inline uint32_t *
pool_link(const struct agg_pool *p, uint32_t i)
{
	return (uint32_t *)((uint8_t *)pool_elem(p, i) + p->link_off);
}

/* Elements that pool_get can hand out now: allocated and within the bound. */
static inline uint64_t
pool_ready(const struct agg_pool *p)
{
	uint64_t room = (uint64_t)p->n_chunks << p->shift;

	return (room < p->max ? room : p->max) - p->in_use;
}

/* Make n more elements ready: 0, -ENOSPC past the bound, -ENOMEM. */
static int
pool_reserve(struct agg_pool *p, uint64_t n)
{
	if (pool_ready(p) >= n)
		return 0;
	if ((uint64_t)p->in_use + n > p->max)
		return -ENOSPC;
	while (pool_ready(p) < n) {
		uint8_t *c;

		if ((uint64_t)(p->n_chunks + 1) << p->shift > (uint64_t)AGG_NONE)
			return -ENOSPC;
		if (p->n_chunks == p->cap_chunks) {
			uint32_t cap = p->cap_chunks != 0 ? p->cap_chunks * 2 : 16;
			uint8_t **v = realloc(p->chunks, cap * sizeof(*v));

			if (v == NULL)
				return -ENOMEM;
			p->chunks = v;
			p->cap_chunks = cap;
		}
		c = malloc(p->stride << p->shift);
		if (c == NULL)
			return -ENOMEM;
		p->chunks[p->n_chunks++] = c;
	}
	return 0;
}

/* An element, zeroed; pool_reserve made it ready. */
static inline uint32_t
pool_get(struct agg_pool *p)
{
	uint32_t i = p->free_head;

	if (i != AGG_NONE)
		p->free_head = *pool_link(p, i);
	else
		i = p->used++;
	p->in_use++;
	memset(pool_elem(p, i), 0, p->stride);
	return i;
}

static inline void
pool_put(struct agg_pool *p, uint32_t i)
{
	*pool_link(p, i) = p->free_head;
	p->free_head = i;
	p->in_use--;
}

/* ---- device index ----------------------------------------------------- */

static inline struct agg_win *
win_of(const struct agg_table *t, uint32_t w)
{
	return pool_elem(&t->wins, w);
}

static inline const uint8_t *
dev_id(const struct agg_table *t, const struct agg_dev *d)
{
	uint32_t o;

	if (d->id_len <= AGG_ID_INLINE)
		return d->id;
	memcpy(&o, d->id, sizeof(o));
	return pool_elem(&t->ids, o);
}

/*
 * Device entry of (hash, id), or AGG_NONE; *slot = its index slot, or the
 * empty slot ending the probe (where it would go).
 */
static inline uint32_t
dev_lookup(const struct agg_table *t, uint32_t hash, const char *id, uint8_t len, uint32_t *slot)
{
	uint32_t i = hash & t->mask;

	for (;;) {
		const struct agg_slot *s = &t->slots[i];

		if (s->dev == 0)
			break;
		if (s->hash == hash) {
			const struct agg_dev *d = &t->devs[s->dev - 1];

			if (d->id_len == len && memcmp(dev_id(t, d), id, len) == 0) {
				*slot = i;
				return s->dev - 1;
			}
		}
		i = (i + 1) & t->mask;
	}
	*slot = i;
	return AGG_NONE;
}

/* Probe steps a prefetch hint walks before it gives up (a long run is rare at load <= 0.8). */
#define AGG_PF_PROBE	4

/*
 * The device entry a lookup of hash would most likely reach: the first
 * slot of the probe run with the same 32-bit hash, the id not compared.
 * Only for prefetch hints, so a wrong guess costs a wasted line, never a
 * wrong result. NULL when the probe ends (new device) or runs long.
 */
static inline const struct agg_dev *
dev_hint(const struct agg_table *t, uint32_t hash)
{
	uint32_t i = hash & t->mask, n;

	for (n = 0; n < AGG_PF_PROBE; n++) {
		const struct agg_slot *s = &t->slots[i];

		if (s->dev == 0)
			return NULL;
		if (s->hash == hash)
			return &t->devs[s->dev - 1];
		i = (i + 1) & t->mask;
	}
	return NULL;
}

/* Empty slot i, shifting back the entries of its probe run (no tombstones). */
static void
slot_delete(struct agg_table *t, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (t->slots[j].dev == 0)
			break;
		home = t->slots[j].hash & t->mask;
		/* the entry at j may fill i unless its home lies in (i, j] */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].hash = 0;
	t->slots[i].dev = 0;
}

static inline uint32_t
table_hash(const struct agg_table *t, const char *id, uint8_t len)
{
	return t->hash_fn != NULL ? t->hash_fn(id, len) : agg_devkey_hash(id, len);
}

/* Drop device e, whose last window just closed. */
static void
dev_remove(struct agg_table *t, uint32_t e)
{
	struct agg_dev *d = &t->devs[e];
	const uint8_t *id = dev_id(t, d);
	uint32_t i = table_hash(t, (const char *)id, d->id_len) & t->mask;
	uint32_t o;

	while (t->slots[i].dev != e + 1) {
		if (t->slots[i].dev == 0)
			break;	/* cannot happen: every device is in the index */
		i = (i + 1) & t->mask;
	}
	if (t->slots[i].dev == e + 1)
		slot_delete(t, i);
	if (d->id_len > AGG_ID_INLINE) {
		memcpy(&o, d->id, sizeof(o));
		pool_put(&t->ids, o);
	}
	memset(d, 0, sizeof(*d));
	d->win = t->dev_free;
	t->dev_free = e;
	t->n_devices--;
	if (t->in_use != NULL)
		atomic_fetch_sub_explicit(t->in_use, 1, memory_order_relaxed);
}

/*
 * A new device for rec in the empty slot that ended its probe. -EINVAL for
 * a hash that is not the table's own, -ENOSPC when full (either counter).
 */
static int64_t
dev_insert(struct agg_table *t, const struct wr_record *rec, uint32_t slot)
{
	struct agg_dev *d;
	uint32_t e, o;

	if (table_hash(t, rec->id, rec->id_len) != rec->hash)
		return -EINVAL;
	if (t->n_devices >= t->max_devices) {
		t->refused_full++;
		return -ENOSPC;
	}
	if (rec->id_len > AGG_ID_INLINE && pool_reserve(&t->ids, 1) != 0) {
		t->refused_pool++;
		return -ENOSPC;
	}
	if (t->in_use != NULL &&
	    atomic_fetch_add_explicit(t->in_use, 1, memory_order_relaxed) >= t->in_use_limit) {
		atomic_fetch_sub_explicit(t->in_use, 1, memory_order_relaxed);
		t->refused_full++;
		return -ENOSPC;
	}
	if (t->dev_free != AGG_NONE) {
		e = t->dev_free;
		t->dev_free = t->devs[e].win;
	} else {
		e = t->dev_used++;	/* < max_devices: n_devices was below it */
	}
	d = &t->devs[e];
	d->win = AGG_NONE;
	d->id_len = rec->id_len;
	if (rec->id_len <= AGG_ID_INLINE) {
		memset(d->id, 0, sizeof(d->id));
		memcpy(d->id, rec->id, rec->id_len);
	} else {
		o = pool_get(&t->ids);
		memcpy(pool_elem(&t->ids, o), rec->id, rec->id_len);
		memcpy(d->id, &o, sizeof(o));
	}
	t->slots[slot].hash = rec->hash;
	t->slots[slot].dev = e + 1;
	t->n_devices++;
	return e;
}

/* ---- windows ---------------------------------------------------------- */

static inline uint32_t
slot_index(const struct agg_table *t, int64_t k)
{
	int64_t m = k % (int64_t)t->k_slots;

	return (uint32_t)(m < 0 ? m + t->k_slots : m);
}

/* k * D + off, saturated: windows near the end of int64 time stay ordered. */
static inline int64_t
win_at(const struct agg_table *t, int64_t k, int64_t off)
{
	int64_t v;

	if (__builtin_mul_overflow(k, t->slide_ns, &v))
		return k < 0 ? INT64_MIN : INT64_MAX;
	if (__builtin_add_overflow(v, off, &v))
		return off < 0 ? INT64_MIN : INT64_MAX;
	return v;
}

static inline void
stat_fold(struct wr_stat *st, double v)
{
	double delta;

	if (st->count == 0) {
		st->min = v;
		st->max = v;
	} else {
		if (v < st->min)
			st->min = v;
		if (v > st->max)
			st->max = v;
	}
	st->count++;
	st->sum += v;
	delta = v - st->mean;
	st->mean += delta / (double)st->count;
	st->m2 += delta * (v - st->mean);
}

/* Emit and free window k of every device in its list, dropping devices left empty. */
static void
close_window(struct agg_table *t, int64_t k, agg_emit_fn emit, void *arg)
{
	struct wr_result *res = t->res;
	uint32_t s = slot_index(t, k);
	uint32_t w = t->head[s];
	unsigned int i;

	if (w == AGG_NONE)
		return;
	t->head[s] = AGG_NONE;
	t->tail[s] = AGG_NONE;
	res->start_ns = win_at(t, k, 0);
	res->end_ns = win_at(t, k, t->size_ns);
	res->close_tsc = rte_rdtsc();

	while (w != AGG_NONE) {
		struct agg_win *r = win_of(t, w);
		struct agg_dev *d = &t->devs[r->dev];
		uint32_t next = r->next, *link;

		res->count = r->count;
		res->present = 0;
		for (i = 0; i < t->n_metrics; i++)
			if (r->stats[i].count != 0)
				res->present |= UINT64_C(1) << i;
		res->id_len = d->id_len;
		memcpy(res->id, dev_id(t, d), d->id_len);
		memset(res->id + d->id_len, 0, WR_DEVID_MAX - d->id_len);
		memcpy(res->stats, r->stats, t->n_metrics * sizeof(struct wr_stat));
		if (emit != NULL)
			emit(arg, res);

		/* windows close oldest first: r is nearly always the device's first */
		link = &d->win;
		while (*link != w && *link != AGG_NONE)
			link = &win_of(t, *link)->dnext;
		if (*link == w)
			*link = r->dnext;
		pool_put(&t->wins, w);
		if (d->win == AGG_NONE)
			dev_remove(t, r->dev);
		w = next;
	}
}

static void
close_until(struct agg_table *t, int64_t wm, agg_emit_fn emit, void *arg)
{
	while (t->any_open && win_at(t, t->lo, t->size_ns) <= wm) {
		close_window(t, t->lo, emit, arg);
		if (t->lo++ == t->hi)
			t->any_open = false;
	}
}

static void
close_all(struct agg_table *t, agg_emit_fn emit, void *arg)
{
	while (t->any_open) {
		close_window(t, t->lo, emit, arg);
		if (t->lo++ == t->hi)
			t->any_open = false;
	}
}

/*
 * Make room for windows first..last (last - first < K) and return the lowest
 * of them that may be folded; lower ones do not fit beside newer open
 * windows. Only reached past the span when watermarks lag the data.
 */
static int64_t
span_admit(struct agg_table *t, int64_t first, int64_t last, agg_emit_fn emit, void *arg)
{
	int64_t low;

	if (t->any_open && last > t->hi) {
		while (t->any_open && (uint64_t)last - (uint64_t)t->lo >= t->k_slots) {
			close_window(t, t->lo, emit, arg);
			if (t->lo++ == t->hi)
				t->any_open = false;
		}
		if (t->any_open)
			t->hi = last;
	}
	if (!t->any_open) {
		t->lo = first;
		t->hi = last;
		t->any_open = true;
		return first;
	}
	low = t->hi - (int64_t)t->k_slots + 1;
	if (first > low)
		low = first;
	if (low <= last && low < t->lo)
		t->lo = low;
	return low;
}

/* Window k for this record alone: the fallback for a window older than the span. */
static void
emit_single(struct agg_table *t, const struct wr_record *rec, int64_t k, agg_emit_fn emit,
	    void *arg)
{
	struct wr_result *res = t->res;
	uint64_t m = rec->present & t->metric_mask;

	res->start_ns = win_at(t, k, 0);
	res->end_ns = win_at(t, k, t->size_ns);
	res->close_tsc = rte_rdtsc();
	res->count = 1;
	res->present = 0;
	res->id_len = rec->id_len;
	memcpy(res->id, rec->id, rec->id_len);
	memset(res->id + rec->id_len, 0, WR_DEVID_MAX - rec->id_len);
	memset(res->stats, 0, t->n_metrics * sizeof(struct wr_stat));
	while (m != 0) {
		unsigned int i = (unsigned int)__builtin_ctzll(m);

		m &= m - 1;
		if (!isfinite(rec->values[i]))
			continue;
		stat_fold(&res->stats[i], rec->values[i]);
		res->present |= UINT64_C(1) << i;
	}
	if (emit != NULL)
		emit(arg, res);
}

/* Position of window slot index s among the open windows: s - (lo mod K). */
static inline uint32_t
win_rel(const struct agg_table *t, uint32_t s, uint32_t s_lo)
{
	return s >= s_lo ? s - s_lo : s + t->k_slots - s_lo;
}

/* Windows low..last (offsets rl..rl + n - 1 from lo) that device e lacks. */
static uint32_t
dev_missing(const struct agg_table *t, uint32_t e, uint32_t s_lo, uint32_t rl, uint32_t n)
{
	uint32_t w = t->devs[e].win, missing = n;

	while (w != AGG_NONE) {
		const struct agg_win *r = win_of(t, w);
		uint32_t rel = win_rel(t, r->sidx, s_lo);

		if (rel >= rl + n)
			break;
		if (rel >= rl)
			missing--;
		w = r->dnext;
	}
	return missing;
}

static inline void
win_fold(struct agg_win *r, const struct wr_record *rec, uint64_t mask)
{
	r->count++;
	while (mask != 0) {
		unsigned int i = (unsigned int)__builtin_ctzll(mask);
		double v = rec->values[i];

		mask &= mask - 1;
		if (!isfinite(v))
			continue;	/* never aggregated (SPEC §3) */
		stat_fold(&r->stats[i], v);
	}
}

static int
process_data(struct agg_table *t, const struct wr_record *rec, agg_emit_fn emit, void *arg)
{
	int64_t tm = rec->time_ns, wm = rec->watermark_ns;
	int64_t first, last, low, kmin, k, ret;
	uint32_t s, s_lo, rel, rl, n, e, slot, w, *link;
	uint64_t mask;

	if (rec->id_len == 0 || rec->id_len > WR_DEVID_MAX || tm < 0)
		return -EINVAL;

	/* Only windows that contain tm and are still open under wm. */
	last = tm / t->slide_ns;
	first = rec->first_k;
	kmin = agg_floor_div(tm - t->size_ns, t->slide_ns) + 1;
	if (first < kmin)
		first = kmin;
	if (first > last)
		return 0;
	if (wm >= INT64_MIN + t->size_ns) {
		kmin = agg_floor_div(wm - t->size_ns, t->slide_ns) + 1;
		if (first < kmin)
			first = kmin;
	}
	/* with one RX queue the record's own watermark judged it: never here */
	if (first > last)
		return AGG_CLOSED;

	low = span_admit(t, first, last, emit, arg);
	for (k = first; k < low && k <= last; k++)
		emit_single(t, rec, k, emit, arg);
	if (low > last)
		return 0;

	/* low..last lie in [lo, hi]: offsets from lo order them like k does */
	e = dev_lookup(t, rec->hash, rec->id, rec->id_len, &slot);
	if (e == AGG_NONE) {
		ret = dev_insert(t, rec, slot);
		if (ret < 0)
			return (int)ret;
		e = (uint32_t)ret;
	}
	s_lo = slot_index(t, t->lo);
	rl = (uint32_t)(low - t->lo);
	n = (uint32_t)(last - low) + 1;
	if (pool_ready(&t->wins) < n &&
	    pool_reserve(&t->wins, dev_missing(t, e, s_lo, rl, n)) != 0) {
		t->refused_pool++;
		if (t->devs[e].win == AGG_NONE)
			dev_remove(t, e);	/* a device made for this record */
		return -ENOSPC;
	}

	/* one merge pass over the device's windows, ordered by offset */
	mask = rec->present & t->metric_mask;
	link = &t->devs[e].win;
	w = *link;
	s = s_lo + rl < t->k_slots ? s_lo + rl : s_lo + rl - t->k_slots;	/* low mod K */
	for (rel = rl; rel < rl + n; rel++) {
		struct agg_win *r = NULL;

		while (w != AGG_NONE) {
			r = win_of(t, w);
			if (win_rel(t, r->sidx, s_lo) >= rel)
				break;
			link = &r->dnext;
			w = r->dnext;
		}
		if (w == AGG_NONE || r->sidx != s) {
			/* a new window of the device, before w on its list */
			uint32_t nw = pool_get(&t->wins);

			r = win_of(t, nw);
			r->next = AGG_NONE;
			r->dnext = w;
			r->dev = e;
			r->sidx = s;
			*link = nw;
			if (t->tail[s] == AGG_NONE)
				t->head[s] = nw;
			else
				win_of(t, t->tail[s])->next = nw;
			t->tail[s] = nw;
			w = nw;
		}
		win_fold(r, rec, mask);
		link = &r->dnext;
		w = r->dnext;
		if (++s == t->k_slots)
			s = 0;
	}
	return 0;
}

int
agg_table_process(struct agg_table *t, const struct wr_record *rec, agg_emit_fn emit, void *arg)
{
	close_until(t, rec->watermark_ns, emit, arg);
	switch (rec->kind) {
	case WR_REC_DATA:
		return process_data(t, rec, emit, arg);
	case WR_REC_TICK:
	case WR_REC_CHECKPOINT:	/* the owner saves the table after this close */
		return 0;
	case WR_REC_FLUSH:
		close_all(t, emit, arg);
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * The profile of issue 4 put ~80% of agg_table_process in three loads that
 * miss: the index slot, the device entry, the first window record. Each
 * needs the one before, so a burst can only overlap them across records:
 * stage 0 for a record far ahead, 1 nearer, 2 nearest (DPDK's pipelined
 * rte_hash_lookup_bulk). Each stage reads only lines an earlier stage
 * asked for; it never writes.
 */
bool
agg_prefetch_wanted(void)
{
	const char *e = getenv("WEIR_AGG_PREFETCH");

	return e == NULL || e[0] == '\0' || strcmp(e, "0") != 0;
}

void
agg_table_prefetch(const struct agg_table *t, const struct wr_record *rec, unsigned int stage)
{
	const struct agg_dev *d;
	const uint8_t *w;
	size_t o;

	if (rec->kind != WR_REC_DATA)
		return;
	if (stage == 0) {
		rte_prefetch0(&t->slots[rec->hash & t->mask]);
		return;
	}
	d = dev_hint(t, rec->hash);
	if (d == NULL)
		return;
	if (stage == 1) {
		/* 20-byte entries: one may straddle two lines */
		rte_prefetch0(d);
		rte_prefetch0((const uint8_t *)d + sizeof(*d) - 1);
		return;
	}
	/* a free entry's win links free entries; a live one's is AGG_NONE or in use */
	if (d->id_len == 0 || d->win >= t->wins.used)
		return;
	w = pool_elem(&t->wins, d->win);
	/* the header and every stat: a fold touches count and the present metrics */
	for (o = 0; o < t->wins.stride; o += RTE_CACHE_LINE_SIZE)
		rte_prefetch0(w + o);
	rte_prefetch0(w + t->wins.stride - 1);
}

void
agg_table_flush(struct agg_table *t, agg_emit_fn emit, void *arg)
{
	if (t != NULL)
		close_all(t, emit, arg);
}

void
agg_table_window(const struct agg_table *t, int64_t *size_ns, int64_t *slide_ns)
{
	*size_ns = t->size_ns;
	*slide_ns = t->slide_ns;
}

int
agg_table_span(const struct agg_table *t, int64_t *lo, int64_t *hi)
{
	if (t == NULL || !t->any_open)
		return 0;
	*lo = t->lo;
	*hi = t->hi;
	return 1;
}

uint64_t
agg_table_walk(const struct agg_table *t, agg_walk_fn fn, void *arg)
{
	uint64_t n = 0;
	int64_t k;
	uint32_t w;

	if (t == NULL || !t->any_open)
		return 0;
	/* close order: window by window, each in arrival order, so that a
	 * restore rebuilds lists that emit in the same order as before */
	for (k = t->lo;; k++) {
		for (w = t->head[slot_index(t, k)]; w != AGG_NONE; w = win_of(t, w)->next) {
			const struct agg_win *r = win_of(t, w);
			const struct agg_dev *d = &t->devs[r->dev];

			if (fn != NULL)
				fn(arg, (const char *)dev_id(t, d), d->id_len, k, r->count,
				   r->stats);
			n++;
		}
		if (k == t->hi)
			break;
	}
	return n;
}

int
agg_table_restore(struct agg_table *t, const char *id, uint8_t id_len, int64_t k,
		  uint64_t count, const struct wr_stat *stats)
{
	struct wr_record rec;
	uint32_t e, slot, s, s_lo, rel, nw, w, *link;
	int64_t ret;

	if (id_len == 0 || id_len > WR_DEVID_MAX || k < 0 || count == 0 ||
	    win_at(t, k, t->size_ns) == INT64_MAX)
		return -EINVAL;
	/* only next to the windows already restored: never close one to make room */
	if (t->any_open && (k < t->hi - (int64_t)t->k_slots + 1 ||
			    k > t->lo + (int64_t)t->k_slots - 1))
		return -ERANGE;
	memset(&rec, 0, offsetof(struct wr_record, values));
	rec.id_len = id_len;
	memcpy(rec.id, id, id_len);
	rec.hash = table_hash(t, id, id_len);
	e = dev_lookup(t, rec.hash, rec.id, id_len, &slot);
	if (e == AGG_NONE) {
		ret = dev_insert(t, &rec, slot);
		if (ret < 0)
			return (int)ret;
		e = (uint32_t)ret;
	}
	if (pool_reserve(&t->wins, 1) != 0) {
		t->refused_pool++;
		if (t->devs[e].win == AGG_NONE)
			dev_remove(t, e);
		return -ENOSPC;
	}
	if (!t->any_open) {
		t->lo = k;
		t->hi = k;
		t->any_open = true;
	} else if (k < t->lo) {
		t->lo = k;
	} else if (k > t->hi) {
		t->hi = k;
	}
	/* the device's list is ordered by offset from lo: find k's place */
	s = slot_index(t, k);
	s_lo = slot_index(t, t->lo);
	rel = win_rel(t, s, s_lo);
	link = &t->devs[e].win;
	for (w = *link; w != AGG_NONE; w = *link) {
		const struct agg_win *r = win_of(t, w);

		if (r->sidx == s)
			return -EEXIST;	/* the same window twice: a bad checkpoint */
		if (win_rel(t, r->sidx, s_lo) > rel)
			break;
		link = &win_of(t, w)->dnext;
	}
	nw = pool_get(&t->wins);
	{
		struct agg_win *r = win_of(t, nw);

		r->count = count;
		r->next = AGG_NONE;
		r->dnext = w;
		r->dev = e;
		r->sidx = s;
		memcpy(r->stats, stats, t->n_metrics * sizeof(struct wr_stat));
	}
	*link = nw;
	if (t->tail[s] == AGG_NONE)
		t->head[s] = nw;
	else
		win_of(t, t->tail[s])->next = nw;
	t->tail[s] = nw;
	return 0;
}

uint32_t
agg_table_devices(const struct agg_table *t)
{
	return t != NULL ? t->n_devices : 0;
}

void
agg_table_stats_get(const struct agg_table *t, struct agg_table_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (t == NULL)
		return;
	st->devices = t->n_devices;
	st->windows = t->wins.in_use;
	st->index_slots = (uint64_t)t->mask + 1;
	st->bytes = sizeof(*t) + sizeof(*t->res) +
		    st->index_slots * sizeof(*t->slots) +
		    (uint64_t)t->max_devices * sizeof(*t->devs) +
		    2ULL * t->k_slots * sizeof(*t->head) +
		    ((uint64_t)t->wins.n_chunks << t->wins.shift) * t->wins.stride +
		    (uint64_t)t->wins.cap_chunks * sizeof(*t->wins.chunks) +
		    ((uint64_t)t->ids.n_chunks << t->ids.shift) * t->ids.stride +
		    (uint64_t)t->ids.cap_chunks * sizeof(*t->ids.chunks);
	st->refused_full = t->refused_full;
	st->refused_pool = t->refused_pool;
}

unsigned int
agg_table_top(const struct agg_table *t, unsigned int n, struct agg_top_entry *out)
{
	unsigned int m = 0, i;
	uint32_t e, w;

	if (t == NULL || out == NULL)
		return 0;
	if (n > AGG_TOP_MAX)
		n = AGG_TOP_MAX;
	for (e = 0; n > 0 && e < t->dev_used; e++) {
		const struct agg_dev *d = &t->devs[e];
		uint64_t records = 0;
		uint32_t windows = 0;

		if (d->id_len == 0)
			continue;	/* free entry */
		for (w = d->win; w != AGG_NONE; w = win_of(t, w)->dnext) {
			records += win_of(t, w)->count;
			windows++;
		}
		/* most devices lose against the current last place: one compare */
		if (m == n && records <= out[m - 1].records)
			continue;
		i = m < n ? m++ : m - 1;
		while (i > 0 && out[i - 1].records < records) {
			out[i] = out[i - 1];
			i--;
		}
		out[i].records = records;
		out[i].windows = windows;
		out[i].id_len = d->id_len;
		memcpy(out[i].id, dev_id(t, d), d->id_len);
		memset(out[i].id + d->id_len, 0, WR_DEVID_MAX - d->id_len);
	}
	return m;
}

struct agg_table *
agg_table_create(const struct agg_cfg *cfg)
{
	struct agg_table *t;
	uint64_t cap, max_win;
	int64_t span;
	uint32_t i;

	if (cfg == NULL || cfg->name == NULL || cfg->name[0] == '\0' ||
	    cfg->n_metrics > WR_METRICS_MAX || cfg->size_ns <= 0 || cfg->slide_ns <= 0 ||
	    cfg->size_ns % cfg->slide_ns != 0 || cfg->lateness_ns < 0 || cfg->max_devices == 0 ||
	    cfg->max_devices > AGG_DEVICES_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (strlen(cfg->name) > AGG_NAME_MAX) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	if (__builtin_add_overflow(cfg->size_ns, cfg->lateness_ns, &span) ||
	    span / cfg->slide_ns > AGG_K_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->n_metrics = cfg->n_metrics;
	t->metric_mask = cfg->n_metrics == WR_METRICS_MAX ? UINT64_MAX :
			 (UINT64_C(1) << cfg->n_metrics) - 1;
	t->size_ns = cfg->size_ns;
	t->slide_ns = cfg->slide_ns;
	t->k_slots = (uint32_t)(span / cfg->slide_ns) + 2;
	t->max_devices = cfg->max_devices;
	t->in_use = cfg->devices_in_use;
	t->in_use_limit = cfg->devices_limit;
	t->hash_fn = cfg->hash_fn;
	t->dev_free = AGG_NONE;

	/* index: load <= 0.8 when all max_devices are in */
	cap = AGG_INDEX_MIN;
	while (cap < (uint64_t)cfg->max_devices + cfg->max_devices / 4)
		cap <<= 1;
	t->mask = (uint32_t)(cap - 1);
	max_win = cfg->max_windows != 0 ? cfg->max_windows :
		  (uint64_t)cfg->max_devices * t->k_slots;
	pool_init(&t->wins, sizeof(struct agg_win) + cfg->n_metrics * sizeof(struct wr_stat),
		  offsetof(struct agg_win, next), AGG_WIN_SHIFT, max_win);
	pool_init(&t->ids, WR_DEVID_MAX, 0, AGG_ID_SHIFT, cfg->max_devices);

	/* Big arrays from the process allocator: EAL memory may be small (--no-huge -m). */
	t->slots = calloc(cap, sizeof(*t->slots));
	t->devs = calloc(cfg->max_devices, sizeof(*t->devs));
	t->head = malloc(t->k_slots * sizeof(*t->head));
	t->tail = malloc(t->k_slots * sizeof(*t->tail));
	t->res = calloc(1, sizeof(*t->res));
	if (t->slots == NULL || t->devs == NULL || t->head == NULL || t->tail == NULL ||
	    t->res == NULL) {
		agg_table_destroy(t);
		rte_errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < t->k_slots; i++) {
		t->head[i] = AGG_NONE;
		t->tail[i] = AGG_NONE;
	}
	return t;
}

void
agg_table_destroy(struct agg_table *t)
{
	if (t == NULL)
		return;
	/* Devices still held give their share of the global limit back. */
	if (t->in_use != NULL && t->n_devices != 0)
		atomic_fetch_sub_explicit(t->in_use, t->n_devices, memory_order_relaxed);
	pool_free(&t->ids);
	pool_free(&t->wins);
	free(t->res);
	free(t->tail);
	free(t->head);
	free(t->devs);
	free(t->slots);
	free(t);
}

int
agg_table_verify(const struct agg_table *t, const char **why)
{
	uint64_t devices = 0, windows = 0, listed = 0;
	uint32_t i, j, e, w, s, s_lo, prev;

#define AGG_BAD(msg) do { *why = (msg); return -1; } while (0)
	if (t == NULL)
		AGG_BAD("no table");
	for (i = 0; i <= t->mask; i++) {
		const struct agg_slot *sl = &t->slots[i];
		const struct agg_dev *d;

		if (sl->dev == 0)
			continue;
		if (sl->dev > t->dev_used)
			AGG_BAD("slot names a device never used");
		d = &t->devs[sl->dev - 1];
		if (d->id_len == 0 || d->win == AGG_NONE)
			AGG_BAD("slot names a free or windowless device");
		if (table_hash(t, (const char *)dev_id(t, d), d->id_len) != sl->hash)
			AGG_BAD("slot hash is not the device's");
		for (j = sl->hash & t->mask; j != i; j = (j + 1) & t->mask)
			if (t->slots[j].dev == 0)
				AGG_BAD("empty slot between a device's home and its slot");
		devices++;
		/* the device list: ordered by offset from lo, each record its own */
		s_lo = slot_index(t, t->lo);
		prev = AGG_NONE;
		for (w = d->win; w != AGG_NONE; w = win_of(t, w)->dnext) {
			const struct agg_win *r = win_of(t, w);
			uint32_t rel = win_rel(t, r->sidx, s_lo);

			if (r->dev != sl->dev - 1 || r->count == 0)
				AGG_BAD("window record of another device or empty");
			if (prev != AGG_NONE && rel <= prev)
				AGG_BAD("device windows out of order");
			if (!t->any_open || rel > (uint64_t)(t->hi - t->lo))
				AGG_BAD("device window outside [lo, hi]");
			prev = rel;
			windows++;
		}
	}
	if (devices != t->n_devices)
		AGG_BAD("device count differs from the index");
	if (windows != t->wins.in_use)
		AGG_BAD("window records in use differ from the device lists");
	for (s = 0; s < t->k_slots; s++) {
		for (w = t->head[s]; w != AGG_NONE; w = win_of(t, w)->next) {
			if (win_of(t, w)->sidx != s)
				AGG_BAD("record on another window's list");
			if (win_of(t, w)->next == AGG_NONE && t->tail[s] != w)
				AGG_BAD("window list tail");
			listed++;
		}
	}
	if (listed != windows)
		AGG_BAD("window lists and device lists disagree");
	for (e = 0, i = 0; e < t->dev_used; e++)
		if (t->devs[e].id_len == 0)
			i++;
	if (t->dev_used - i != t->n_devices)
		AGG_BAD("free device entries miscounted");
	*why = NULL;
	return 0;
#undef AGG_BAD
}
