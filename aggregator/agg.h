/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-lcore event-time window aggregation (SPEC §4). One agg_table per
 * aggregator lcore, single threaded: the lcore that owns it is the only
 * caller. The RX lcore already decided, in capture order, the watermark
 * and which windows a record joins (wr_record.watermark_ns, first_k); the
 * table closes windows as the watermark passes their end and folds
 * records into the windows still open.
 */
#ifndef AGG_H
#define AGG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "wr_types.h"

/*
 * Device key of the per-lcore device table, also hashed by the RX lcore to
 * fill wr_record.hash: bytes 0..63 = device id zero padded, byte 64 =
 * id_len. Hash = rte_hash_crc(key, AGG_DEVKEY_LEN, 0).
 */
#define AGG_DEVKEY_LEN	(WR_DEVID_MAX + 1)

/** Build the 65-byte device key (id_len above WR_DEVID_MAX copies 64 bytes). */
static inline void
agg_devkey_fill(uint8_t key[AGG_DEVKEY_LEN], const char *id, uint8_t id_len)
{
	memset(key, 0, AGG_DEVKEY_LEN);
	memcpy(key, id, id_len > WR_DEVID_MAX ? WR_DEVID_MAX : id_len);
	key[WR_DEVID_MAX] = id_len;
}

/** Hash of a device key: what the RX lcore stores in wr_record.hash. */
static inline uint32_t
agg_devkey_hash(const char *id, uint8_t id_len)
{
	uint8_t key[AGG_DEVKEY_LEN];

	agg_devkey_fill(key, id, id_len);
	return rte_hash_crc(key, AGG_DEVKEY_LEN, 0);
}

/** Hash of a device id as the table expects it in wr_record.hash. */
typedef uint32_t (*agg_hash_fn)(const char *id, uint8_t id_len);

struct agg_cfg {
	const char *name;		/* unique, for logs; <= 20 chars */
	int socket;			/* NUMA socket for the tables (unused: process heap) */
	unsigned int n_metrics;
	int64_t size_ns;		/* window size S */
	int64_t slide_ns;		/* slide D; S % D == 0 */
	int64_t lateness_ns;		/* allowed lateness */
	uint32_t max_devices;		/* capacity of this table */
	/* Devices held across all tables, shared by every aggregator lcore
	 * (each: rw, atomic). NULL = only this table's capacity counts. */
	_Atomic uint64_t *devices_in_use;
	uint64_t devices_limit;		/* limit for *devices_in_use */
	/* Bound of the window record pool (one record per device per open
	 * window); 0 = max_devices x K, K = (size + lateness) / slide + 2. */
	uint64_t max_windows;
	/* What wr_record.hash must be for a new device; NULL = agg_devkey_hash
	 * (what RX computes). Tests use another one to force collisions. */
	agg_hash_fn hash_fn;
};

struct agg_table;

/** Called for every closed window, in the owning lcore. */
typedef void (*agg_emit_fn)(void *arg, const struct wr_result *res);

/** @return the table, or NULL with rte_errno set. */
struct agg_table *agg_table_create(const struct agg_cfg *cfg);
void agg_table_destroy(struct agg_table *t);	/* accepts NULL */

/* agg_table_process: the record joins only windows already closed here. */
#define AGG_CLOSED	1

/**
 * Handle one record from the rx_to_agg ring:
 *  - every kind: close (emit) each open window whose end <= watermark_ns;
 *  - WR_REC_DATA: fold the record into windows first_k .. floor(time/D);
 *  - WR_REC_FLUSH: close every open window.
 * @return 0; AGG_CLOSED when every window the record joins is closed
 *         here although its RX queue judged it on time (several RX queues,
 *         one ran ahead by more than the skew: the caller counts it dropped);
 *         or -ENOSPC when the device table is full or the window pool
 *         is exhausted (record dropped: the caller counts it, the table
 *         tells which in agg_table_stats), or -EINVAL for a record the RX lcore
 *         should never send (unknown kind, id_len not 1..64, time < 0,
 *         hash not agg_devkey_hash() for a new device; dropped, the
 *         watermark close still happened).
 */
int agg_table_process(struct agg_table *t, const struct wr_record *rec, agg_emit_fn emit,
		      void *arg);

/**
 * Prefetch hint for rec, a burst ahead of agg_table_process(t, rec):
 * stage 0 the index slot of rec->hash, 1 the device entry it names, 2 that
 * device's first window record; call each stage a few records after the
 * previous one. Reads the table, never changes it or any later result;
 * ignores records that are not WR_REC_DATA.
 */
void agg_table_prefetch(const struct agg_table *t, const struct wr_record *rec,
			unsigned int stage);

/*
 * Distances in records at which a fold loop calls stages 0, 1, 2 of
 * agg_table_prefetch: each stage gets three records of work to land before
 * the next stage reads what it fetched. 16/10/5 measured slower on the
 * 2-vCPU box (perf/RESULTS.md, "Profile and remaining gap"): more lines in
 * flight than the core keeps.
 */
#define AGG_PF_SLOT	9
#define AGG_PF_DEV	6
#define AGG_PF_WIN	3

/**
 * Whether fold loops should prefetch: yes unless WEIR_AGG_PREFETCH=0 in
 * the environment, which keeps the plain loops (A/B measurements, and the
 * integration twin that checks both give the same output). Read at start-up.
 */
bool agg_prefetch_wanted(void);

/** Close every open window (end of input, shutdown). */
void agg_table_flush(struct agg_table *t, agg_emit_fn emit, void *arg);

/** One open window of one device, as agg_table_walk hands it out. */
typedef void (*agg_walk_fn)(void *arg, const char *id, uint8_t id_len, int64_t k,
			    uint64_t count, const struct wr_stat *stats);

/**
 * Call fn for every open device-window, in the order a close would emit
 * them (window index, then arrival). fn NULL: only count. @return windows.
 */
uint64_t agg_table_walk(const struct agg_table *t, agg_walk_fn fn, void *arg);

/** The window scheme of t: size S and slide D. */
void agg_table_window(const struct agg_table *t, int64_t *size_ns, int64_t *slide_ns);

/** @return 1 and the open window index range [lo, hi], or 0 when none is open. */
int agg_table_span(const struct agg_table *t, int64_t *lo, int64_t *hi);

/**
 * Put a window back as a checkpoint saved it (n_metrics stats, metric i
 * present iff stats[i].count). Windows come back in agg_table_walk order.
 * @return 0; -EINVAL (bad id, k < 0, count 0), -ERANGE (k does not fit
 * beside the windows already restored), -EEXIST (that device-window is
 * already there), -ENOSPC (device table or window pool full).
 */
int agg_table_restore(struct agg_table *t, const char *id, uint8_t id_len, int64_t k,
		      uint64_t count, const struct wr_stat *stats);

/** Devices currently holding open windows. */
uint32_t agg_table_devices(const struct agg_table *t);

/* Occupancy and refusals of one table, for tests, perf and weirctl. */
struct agg_table_stats {
	uint64_t devices;		/* devices holding open windows */
	uint64_t windows;		/* open device-windows (window records in use) */
	uint64_t index_slots;		/* device index capacity (power of two) */
	uint64_t bytes;			/* heap held: index, devices, pools, lists */
	uint64_t refused_full;		/* new devices refused: max_devices or shared limit */
	uint64_t refused_pool;		/* records refused: window or long-id pool exhausted */
};

/** Fill st (zeroes for a NULL table). */
void agg_table_stats_get(const struct agg_table *t, struct agg_table_stats *st);

/**
 * Check the table's invariants (tests; O(size)): every device reachable
 * from its home slot with no empty slot on the way, device and window
 * lists consistent, counts matching. @return 0, or -1 with *why set.
 */
int agg_table_verify(const struct agg_table *t, const char **why);

/*
 * weirctl top: the busiest devices of a table. Only the owning lcore may
 * read its table, so the control thread asks it through an agg_top_req
 * that the lcore serves between bursts.
 */
#define AGG_TOP_MAX 64

struct agg_top_entry {
	uint64_t records;	/* sum of record counts over its open windows */
	uint32_t windows;	/* open windows */
	uint8_t id_len;
	char id[WR_DEVID_MAX];	/* not NUL terminated */
};

/**
 * The n (<= AGG_TOP_MAX) devices with the most records in open windows,
 * most first (ties: the one met first). Walks every device: O(devices).
 * @return entries written to out.
 */
unsigned int agg_table_top(const struct agg_table *t, unsigned int n, struct agg_top_entry *out);

/* One request slot, per lcore owning a table. */
struct agg_top_req {
	_Atomic uint64_t req;		/* control: +1 (release) after setting n and buf */
	_Atomic uint64_t done;		/* owner: = the req value served (release) */
	_Atomic unsigned int n;		/* entries wanted */
	unsigned int count;		/* owner: entries written, before done */
	struct agg_top_entry *buf;	/* control's AGG_TOP_MAX entries */
};

/** Owner lcore, between bursts, once it saw req move to r (acquire). */
static inline void
agg_top_serve(struct agg_top_req *q, uint64_t r, const struct agg_table *t)
{
	unsigned int n = atomic_load_explicit(&q->n, memory_order_relaxed);

	q->count = q->buf != NULL ? agg_table_top(t, n, q->buf) : 0;
	atomic_store_explicit(&q->done, r, memory_order_release);
}

/** Window index helpers shared with the RX lcore (floor division). */
static inline int64_t
agg_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif /* AGG_H */
