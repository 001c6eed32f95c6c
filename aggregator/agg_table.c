/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-lcore window table: device index, per-device window slots, and the
 * per-window device lists that make closing cost proportional to what is
 * emitted. Runs on the aggregator lcore that owns it (or the RX lcore when
 * [aggregator] workers = 0); single threaded except *devices_in_use.
 *
 * Why K slots suffice: at every insert the table has already closed every
 * window with end <= W (the record's watermark), so an open window k has
 * k*D + S > W. A window is only created for a time t <= M (max time seen
 * by RX) and W >= M - L, so every open k lies in ((W - S)/D, (W + L)/D]:
 * at most ceil((S + L)/D) consecutive indices. K = (S + L)/D + 2 leaves one
 * spare, window k lives in slot k mod K and at most one window uses a slot
 * (or a list head) at a time. Records breaking that rule (a watermark that
 * lags the data) never corrupt anything: a window too new for the span
 * first closes the oldest windows early, one too old is emitted on its own
 * at once; either way every record is still counted exactly once per window
 * it joins.
 *
 * Memory: one calloc'd block per rte_hash position, [agg_dev][K x slot],
 * a slot being 24 bytes + n_metrics x struct wr_stat (216 bytes for 4
 * metrics). The device id lives only in the rte_hash key store.
 */

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "agg.h"

#define AGG_NONE	UINT32_MAX	/* end of a window's device list */
#define AGG_NAME_MAX	20		/* rte_hash ring "HT_EXT_<name>" fits 29 bytes */
#define AGG_K_MAX	(1u << 20)	/* sanity bound on windows open per device */
#define AGG_HASH_MIN	8u		/* rte_hash refuses fewer entries than one bucket */

/* One window of one device. count == 0 means the slot is free. */
struct agg_slot {
	uint64_t count;		/* records folded into the window */
	uint64_t present;	/* metrics that had readings */
	uint32_t next;		/* next device position in this window's list */
	uint32_t pad;
	struct wr_stat stats[];	/* n_metrics */
};

struct agg_dev {
	uint32_t n_open;	/* slots with count > 0; 0 = device is deleted */
	uint32_t hash;		/* signature it was added with */
};

struct agg_table {
	struct rte_hash *h;
	uint8_t *blocks;		/* n_pos device blocks of dev_stride bytes */
	uint32_t *head;			/* per slot index: first device of the window */
	uint32_t *tail;			/* per slot index: last device (arrival order) */
	struct wr_result *res;		/* emission scratch, full size */
	size_t slot_stride;
	size_t dev_stride;
	uint32_t n_pos;			/* rte_hash positions: 0 .. n_pos - 1 */
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
};

static inline struct agg_dev *
dev_of(const struct agg_table *t, uint32_t pos)
{
	return (struct agg_dev *)(t->blocks + (size_t)pos * t->dev_stride);
}

static inline struct agg_slot *
slot_of(const struct agg_table *t, uint32_t pos, uint32_t s)
{
	return (struct agg_slot *)(t->blocks + (size_t)pos * t->dev_stride +
				   sizeof(struct agg_dev) + (size_t)s * t->slot_stride);
}

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

static void
dev_delete(struct agg_table *t, const uint8_t *key, uint32_t hash)
{
	if (rte_hash_del_key_with_hash(t->h, key, hash) < 0)
		return;
	t->n_devices--;
	if (t->in_use != NULL)
		atomic_fetch_sub_explicit(t->in_use, 1, memory_order_relaxed);
}

/* Emit and free window k of every device in its list, dropping devices left empty. */
static void
close_window(struct agg_table *t, int64_t k, agg_emit_fn emit, void *arg)
{
	struct wr_result *res = t->res;
	uint32_t s = slot_index(t, k);
	uint32_t pos = t->head[s];

	if (pos == AGG_NONE)
		return;
	t->head[s] = AGG_NONE;
	t->tail[s] = AGG_NONE;
	res->start_ns = win_at(t, k, 0);
	res->end_ns = win_at(t, k, t->size_ns);
	res->close_tsc = rte_rdtsc();

	while (pos != AGG_NONE) {
		struct agg_slot *sl = slot_of(t, pos, s);
		struct agg_dev *d = dev_of(t, pos);
		uint8_t key[AGG_DEVKEY_LEN];
		void *kp;

		if (rte_hash_get_key_with_position(t->h, (int32_t)pos, &kp) == 0)
			memcpy(key, kp, AGG_DEVKEY_LEN);
		else
			memset(key, 0, sizeof(key));	/* cannot happen: pos is in the table */
		res->count = sl->count;
		res->present = sl->present;
		res->id_len = key[WR_DEVID_MAX];
		memcpy(res->id, key, WR_DEVID_MAX);
		memcpy(res->stats, sl->stats, t->n_metrics * sizeof(struct wr_stat));
		if (emit != NULL)
			emit(arg, res);

		pos = sl->next;
		memset(sl, 0, t->slot_stride);
		if (--d->n_open == 0)
			dev_delete(t, key, d->hash);
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

/*
 * Position of the record's device, created when new; -ENOSPC when full.
 * A new device's hash is checked once (rte_hash re-derives it from the key
 * when emitting), so a record hashed some other way is refused (-EINVAL)
 * instead of becoming a device whose key cannot be found again.
 */
static int32_t
dev_find(struct agg_table *t, const struct wr_record *rec)
{
	uint8_t key[AGG_DEVKEY_LEN];
	struct agg_dev *d;
	int32_t pos;

	agg_devkey_fill(key, rec->id, rec->id_len);
	pos = rte_hash_lookup_with_hash(t->h, key, rec->hash);
	if (pos >= 0)
		return pos;
	if (rte_hash_crc(key, AGG_DEVKEY_LEN, 0) != rec->hash)
		return -EINVAL;
	if (t->n_devices >= t->max_devices)
		return -ENOSPC;
	if (t->in_use != NULL &&
	    atomic_fetch_add_explicit(t->in_use, 1, memory_order_relaxed) >= t->in_use_limit) {
		atomic_fetch_sub_explicit(t->in_use, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	pos = rte_hash_add_key_with_hash(t->h, key, rec->hash);
	if (pos >= 0 && (uint32_t)pos >= t->n_pos) {
		/* Never expected: rte_hash positions stay below max_key_id. */
		rte_hash_del_key_with_hash(t->h, key, rec->hash);
		pos = -ENOSPC;
	}
	if (pos < 0) {
		if (t->in_use != NULL)
			atomic_fetch_sub_explicit(t->in_use, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	t->n_devices++;
	d = dev_of(t, (uint32_t)pos);
	d->n_open = 0;
	d->hash = rec->hash;
	return pos;
}

static int
process_data(struct agg_table *t, const struct wr_record *rec, agg_emit_fn emit, void *arg)
{
	int64_t tm = rec->time_ns, wm = rec->watermark_ns;
	int64_t first, last, low, kmin, k;
	struct agg_dev *d;
	uint64_t mask;
	uint32_t s, pos;
	int32_t ret;

	if (rec->id_len == 0 || rec->id_len > WR_DEVID_MAX || tm < 0)
		return -EINVAL;

	/* Only windows that contain tm and are still open under wm. */
	last = tm / t->slide_ns;
	first = rec->first_k;
	kmin = agg_floor_div(tm - t->size_ns, t->slide_ns) + 1;
	if (first < kmin)
		first = kmin;
	if (wm >= INT64_MIN + t->size_ns) {
		kmin = agg_floor_div(wm - t->size_ns, t->slide_ns) + 1;
		if (first < kmin)
			first = kmin;
	}
	if (first > last)
		return 0;

	low = span_admit(t, first, last, emit, arg);
	for (k = first; k < low && k <= last; k++)
		emit_single(t, rec, k, emit, arg);
	if (low > last)
		return 0;

	ret = dev_find(t, rec);
	if (ret < 0)
		return ret;
	pos = (uint32_t)ret;
	d = dev_of(t, pos);
	mask = rec->present & t->metric_mask;
	s = slot_index(t, low);
	for (k = low; k <= last; k++) {
		struct agg_slot *sl = slot_of(t, pos, s);
		uint64_t m = mask;

		if (sl->count == 0) {
			d->n_open++;
			sl->next = AGG_NONE;
			if (t->tail[s] == AGG_NONE)
				t->head[s] = pos;
			else
				slot_of(t, t->tail[s], s)->next = pos;
			t->tail[s] = pos;
		}
		sl->count++;
		while (m != 0) {
			unsigned int i = (unsigned int)__builtin_ctzll(m);
			double v = rec->values[i];

			m &= m - 1;
			if (!isfinite(v))
				continue;	/* never aggregated (SPEC §3) */
			stat_fold(&sl->stats[i], v);
			sl->present |= UINT64_C(1) << i;
		}
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
		return 0;
	case WR_REC_FLUSH:
		close_all(t, emit, arg);
		return 0;
	default:
		return -EINVAL;
	}
}

void
agg_table_flush(struct agg_table *t, agg_emit_fn emit, void *arg)
{
	if (t != NULL)
		close_all(t, emit, arg);
}

uint32_t
agg_table_devices(const struct agg_table *t)
{
	return t != NULL ? t->n_devices : 0;
}

unsigned int
agg_table_top(const struct agg_table *t, unsigned int n, struct agg_top_entry *out)
{
	const void *key;
	void *data;
	uint32_t next = 0, s;
	unsigned int m = 0, i;
	int32_t pos;

	if (t == NULL || out == NULL)
		return 0;
	if (n > AGG_TOP_MAX)
		n = AGG_TOP_MAX;
	while (n > 0 && (pos = rte_hash_iterate(t->h, &key, &data, &next)) >= 0) {
		const uint8_t *k = key;
		uint64_t records = 0;
		uint32_t windows = 0;

		if ((uint32_t)pos >= t->n_pos)
			continue;
		for (s = 0; s < t->k_slots; s++) {
			const struct agg_slot *sl = slot_of(t, (uint32_t)pos, s);

			if (sl->count != 0) {
				records += sl->count;
				windows++;
			}
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
		out[i].id_len = k[WR_DEVID_MAX] > WR_DEVID_MAX ? WR_DEVID_MAX : k[WR_DEVID_MAX];
		memcpy(out[i].id, k, WR_DEVID_MAX);
	}
	return m;
}

struct agg_table *
agg_table_create(const struct agg_cfg *cfg)
{
	struct rte_hash_parameters hp = {0};
	struct agg_table *t;
	int64_t span;
	size_t total;
	uint32_t i;
	int32_t max_id;
	int err = EINVAL;

	if (cfg == NULL || cfg->name == NULL || cfg->name[0] == '\0' ||
	    cfg->n_metrics > WR_METRICS_MAX || cfg->size_ns <= 0 || cfg->slide_ns <= 0 ||
	    cfg->size_ns % cfg->slide_ns != 0 || cfg->lateness_ns < 0 || cfg->max_devices == 0 ||
	    cfg->max_devices > RTE_HASH_ENTRIES_MAX) {
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
	t->slot_stride = sizeof(struct agg_slot) + cfg->n_metrics * sizeof(struct wr_stat);
	t->dev_stride = sizeof(struct agg_dev) + (size_t)t->k_slots * t->slot_stride;

	/* max_devices, not the rte_hash size, bounds the table. */
	hp.name = cfg->name;
	hp.entries = RTE_MAX(cfg->max_devices, AGG_HASH_MIN);
	hp.key_len = AGG_DEVKEY_LEN;
	hp.hash_func = rte_hash_crc;
	hp.hash_func_init_val = 0;
	hp.socket_id = cfg->socket;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	t->h = rte_hash_create(&hp);
	if (t->h == NULL) {
		err = rte_errno != 0 ? rte_errno : ENOMEM;
		goto fail;
	}
	max_id = rte_hash_max_key_id(t->h);
	if (max_id <= 0) {
		err = EINVAL;
		goto fail;
	}
	t->n_pos = (uint32_t)max_id;

	/* Big arrays from the process allocator: EAL memory may be small (--no-huge -m). */
	err = ENOMEM;
	if (__builtin_mul_overflow((size_t)t->n_pos, t->dev_stride, &total))
		goto fail;
	t->blocks = calloc(1, total);
	t->head = malloc(t->k_slots * sizeof(*t->head));
	t->tail = malloc(t->k_slots * sizeof(*t->tail));
	t->res = calloc(1, sizeof(*t->res));
	if (t->blocks == NULL || t->head == NULL || t->tail == NULL || t->res == NULL)
		goto fail;
	for (i = 0; i < t->k_slots; i++) {
		t->head[i] = AGG_NONE;
		t->tail[i] = AGG_NONE;
	}
	return t;

fail:
	agg_table_destroy(t);
	rte_errno = err;
	return NULL;
}

void
agg_table_destroy(struct agg_table *t)
{
	if (t == NULL)
		return;
	/* Devices still held give their share of the global limit back. */
	if (t->in_use != NULL && t->n_devices != 0)
		atomic_fetch_sub_explicit(t->in_use, t->n_devices, memory_order_relaxed);
	free(t->res);
	free(t->tail);
	free(t->head);
	free(t->blocks);
	rte_hash_free(t->h);
	free(t);
}
