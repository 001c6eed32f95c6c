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

struct agg_cfg {
	const char *name;		/* unique, for rte_hash names; <= 20 chars */
	int socket;			/* NUMA socket for the tables */
	unsigned int n_metrics;
	int64_t size_ns;		/* window size S */
	int64_t slide_ns;		/* slide D; S % D == 0 */
	int64_t lateness_ns;		/* allowed lateness */
	uint32_t max_devices;		/* capacity of this table */
	/* Devices held across all tables, shared by every aggregator lcore
	 * (each: rw, atomic). NULL = only this table's capacity counts. */
	_Atomic uint64_t *devices_in_use;
	uint64_t devices_limit;		/* limit for *devices_in_use */
};

struct agg_table;

/** Called for every closed window, in the owning lcore. */
typedef void (*agg_emit_fn)(void *arg, const struct wr_result *res);

/** @return the table, or NULL with rte_errno set. */
struct agg_table *agg_table_create(const struct agg_cfg *cfg);
void agg_table_destroy(struct agg_table *t);	/* accepts NULL */

/**
 * Handle one record from the rx_to_agg ring:
 *  - every kind: close (emit) each open window whose end <= watermark_ns;
 *  - WR_REC_DATA: fold the record into windows first_k .. floor(time/D);
 *  - WR_REC_FLUSH: close every open window.
 * @return 0, or -ENOSPC when the device table is full (record dropped:
 *         the caller counts it), or -EINVAL for a record the RX lcore
 *         should never send (unknown kind, id_len not 1..64, time < 0,
 *         hash not agg_devkey_hash(); dropped, the watermark close still
 *         happened).
 */
int agg_table_process(struct agg_table *t, const struct wr_record *rec, agg_emit_fn emit,
		      void *arg);

/** Close every open window (end of input, shutdown). */
void agg_table_flush(struct agg_table *t, agg_emit_fn emit, void *arg);

/** Devices currently holding open windows. */
uint32_t agg_table_devices(const struct agg_table *t);

/** Window index helpers shared with the RX lcore (floor division). */
static inline int64_t
agg_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif /* AGG_H */
