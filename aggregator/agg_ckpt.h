/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Checkpoints of open window state ([checkpoint] dir, issue 5). Each table
 * owner (aggregator lcore, or the RX lcore with workers = 0) keeps two files
 * in the directory:
 *  - agg<W>.ckpt: its open windows and the RX watermark state at the last
 *    WR_REC_CHECKPOINT, written to agg<W>.ckpt.tmp and renamed over;
 *  - agg<W>.closed: a close mark, the highest window index that may have
 *    been handed to the sink and the watermark that closed it, rewritten
 *    (one 32-byte pwrite) before any window closes, so it is never behind
 *    what Kafka may hold.
 * At start, windows of a checkpoint at or below the close mark are dropped
 * (they were emitted) and the rest go back into the table: no device window
 * is emitted twice across a SIGKILL. What a crash loses is what was folded
 * since the last checkpoint (README "Crash recovery").
 */
#ifndef AGG_CKPT_H
#define AGG_CKPT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "wr_stats.h"

#define AGG_CKPT_MAGIC		0x504b4357u	/* "WCKP" little-endian */
#define AGG_CKPT_CLOSED_MAGIC	0x4c434357u	/* "WCCL" */
#define AGG_CKPT_VERSION	1
#define AGG_CKPT_CLOSED_SIZE	32
#define AGG_CKPT_PATH_MAX	4096
/* close marks looked at on start: every table owner a config can have */
#define AGG_CKPT_OWNERS_MAX	64

struct agg_ckpt_writer;

/* What a checkpoint must match to be restored: the configuration it came from. */
struct agg_ckpt_fp {
	uint32_t n_metrics;
	uint32_t workers;		/* [aggregator] workers (0: inline) */
	uint32_t worker;		/* table owner index W */
	uint32_t names_crc;		/* agg_ckpt_names_crc of the metric list */
	int64_t size_ns;
	int64_t slide_ns;
};

/* Outcome of a restore, also added to the owner's counters. */
struct agg_ckpt_counts {
	uint64_t windows;		/* put back */
	uint64_t records;		/* sum of their counts */
	uint64_t discarded;		/* at or below the close mark, or no room */
};

/** CRC-32C of n bytes at any address, from crc (UINT32_MAX to start; no final xor). */
uint32_t agg_ckpt_crc(const void *buf, size_t n, uint32_t crc);

/** CRC-32C of the metric names in order, each with its NUL. */
uint32_t agg_ckpt_names_crc(const char *const *names, unsigned int n);

/**
 * Serialise t's open windows, fp and rx into buf.
 * @return the bytes the checkpoint takes; buf is written only when that is <= cap.
 */
size_t agg_ckpt_encode(const struct agg_table *t, const struct agg_ckpt_fp *fp,
		       const struct wr_ckpt_rx *rx, uint8_t *buf, size_t cap);

/**
 * Check a checkpoint (framing, CRC, fingerprint, every value) and only then
 * restore into t its windows of index > closed_k; rx gets its RX state.
 * @return 0; -EBADMSG (torn, bad CRC, bad framing or value) or -ESTALE
 * (another configuration): t untouched.
 */
int agg_ckpt_decode(const uint8_t *buf, size_t len, const struct agg_ckpt_fp *fp,
		    int64_t closed_k, struct agg_table *t, struct wr_ckpt_rx *rx,
		    struct agg_ckpt_counts *cnt);

/** The 32-byte close mark. */
void agg_ckpt_closed_encode(uint8_t buf[AGG_CKPT_CLOSED_SIZE], int64_t closed_k,
			    int64_t closed_wm);
/** @return 0, or -EBADMSG for anything but a whole, valid mark. */
int agg_ckpt_closed_decode(const uint8_t *buf, size_t len, int64_t *closed_k,
			   int64_t *closed_wm);

/*
 * One table owner's checkpoint state. Only the owning lcore touches it once
 * it runs (the main thread before launch).
 */
enum agg_ckpt_state {
	AGG_CKPT_IDLE = 0,	/* the buffer is the owner's */
	AGG_CKPT_READY = 1,	/* owner -> writer: buf[0..len) to save (release) */
	AGG_CKPT_DONE = 2,	/* writer -> owner: saved, rc and ns set (release) */
	AGG_CKPT_WRITING = 3,	/* writer: took a READY buffer (READY -> WRITING, CAS) */
};

struct agg_ckpt {
	/* the watermark at which the next window closes: the data path's one
	 * compare per record (agg_ckpt_before) */
	int64_t next_close_wm;
	/* owner <-> writer thread handshake on buf (enum agg_ckpt_state); with
	 * no writer (async == 0) the owner writes the file itself */
	_Atomic int state;
	int async;			/* main: set before launch; then ro */
	int rc;				/* writer: wo before DONE; owner: ro after */
	uint64_t write_ns;		/* writer: wo before DONE; owner: ro after */
	size_t len;			/* owner: wo before READY; writer: ro */
	int64_t closed_k;		/* close mark: windows <= closed_k may be in Kafka */
	int64_t closed_wm;		/* the watermark of that mark */
	int closed_fd;			/* agg<W>.closed, open for pwrite */
	/* the configuration's fingerprint; size/slide follow the table's
	 * scheme after a weirctl set window change (agg_ckpt_retire) */
	struct agg_ckpt_fp fp;
	struct wr_counters *ctr;	/* the owner's */
	uint8_t *buf;			/* encode buffer, grown at a checkpoint when short */
	size_t cap;
	char path[AGG_CKPT_PATH_MAX];	/* agg<W>.ckpt */
	char tmp[AGG_CKPT_PATH_MAX];	/* agg<W>.ckpt.tmp */
};

/**
 * Create dir if missing and open owner fp->worker's files there; reads its
 * close mark. @return the state, or NULL with err filled (not writable, ...).
 */
struct agg_ckpt *agg_ckpt_open(const char *dir, const struct agg_ckpt_fp *fp,
			       struct wr_counters *ctr, char *err, size_t errlen);
void agg_ckpt_close(struct agg_ckpt *c);	/* accepts NULL */

/**
 * Start: restore this owner's checkpoint into t (counters and log say what
 * happened; a refused file leaves t empty). @return 1 and rx filled when a
 * checkpoint was restored, else 0.
 */
int agg_ckpt_restore(struct agg_ckpt *c, struct agg_table *t, struct wr_ckpt_rx *rx);

/** Largest watermark of every close mark in dir (INT64_MIN: none). */
int64_t agg_ckpt_dir_closed_wm(const char *dir);

/** Clean shutdown: nothing left to resume, remove every owner's files. */
void agg_ckpt_dir_clear(const char *dir);

/** Data path, slow part of agg_ckpt_before: move the close mark. */
void agg_ckpt_mark(struct agg_ckpt *c, const struct agg_table *t, const struct wr_record *r);

/**
 * Before t handles r: when r will close a window (watermark past the next
 * end, FLUSH, CLOSE), write the close mark first.
 */
static inline void
agg_ckpt_before(struct agg_ckpt *c, const struct agg_table *t, const struct wr_record *r)
{
	if (c != NULL && (r->watermark_ns >= c->next_close_wm || r->kind == WR_REC_FLUSH ||
			  r->kind == WR_REC_CLOSE))
		agg_ckpt_mark(c, t, r);
}

/**
 * On a WR_REC_CHECKPOINT, after t handled it: serialise t into the buffer
 * and hand it to the writer thread (or, with none, write the file now).
 * When the writer still holds the previous checkpoint this one is skipped
 * (counted). @return 0 or -errno (counted and logged).
 */
int agg_ckpt_write(struct agg_ckpt *c, const struct agg_table *t, const struct wr_ckpt_rx *rx);

/**
 * A window scheme change retires the owner's old table: before the old
 * windows are flushed, drop the checkpoint (it holds them: a restart must
 * not bring them back), then follow the new table's scheme for close marks
 * and checkpoints. Waits for the writer if it is saving (rare, ms).
 */
void agg_ckpt_retire(struct agg_ckpt *c, const struct agg_table *next);

/**
 * The thread that saves every owner's checkpoints, so that the rename (ext4
 * may flush the file's data there: milliseconds) never stalls an lcore.
 * Sets async on each. @return the writer, or NULL with err filled.
 */
struct agg_ckpt_writer *agg_ckpt_writer_start(struct agg_ckpt *const *c, unsigned int n,
					      char *err, size_t errlen);
/** Stop and join (accepts NULL); then count each owner's last save (lcores stopped). */
void agg_ckpt_writer_stop(struct agg_ckpt_writer *w);

#endif /* AGG_CKPT_H */
