/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The spill journal: window results that Kafka could not take (local
 * queue full, delivery failed) are appended to segment files under
 * [sink] spill_dir and replayed, oldest first, when the broker is back; a
 * journal left by an earlier run is replayed first at start.
 *
 * On disk: DIR/spill-NNNNNNNNNNNNNNNN.wj segments (NNN = 16 decimal digits,
 * increasing), each a sequence of records, little-endian:
 *
 *     len u32 | crc u32 | ts_ms i64 | key_len u16 | key | value
 *
 * len counts the bytes after the crc field, crc is CRC32C (rte_hash_crc,
 * seed ~0) of those same bytes. DIR/replay.pos holds "SEGMENT OFFSET" of
 * the first record not yet known delivered (written by snk_journal_commit).
 * Writes are not fsync'ed per record: a process crash loses nothing that
 * write() returned for, a power cut may lose the page cache.
 *
 * Single thread (the sink thread); not thread safe.
 */
#ifndef SNK_JOURNAL_H
#define SNK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define SNK_JREC_HDR		8	/* len + crc */
#define SNK_JREC_FIXED		10	/* ts_ms + key_len */
#define SNK_JREC_KEY_MAX	1024
#define SNK_JREC_MAX		(1u << 20)	/* largest len accepted when reading */

struct snk_journal;

/* Every counter only grows; single writer (sink thread). */
struct snk_journal_stats {
	uint64_t appended;	/* records written */
	uint64_t read;		/* records handed out by snk_journal_next */
	uint64_t dropped_cap;	/* append refused: spill_max_bytes reached */
	uint64_t dropped_io;	/* append failed: write error, record too big */
	uint64_t torn;		/* torn last records truncated at open */
	uint64_t corrupt;	/* records with a bad CRC or length (segment rest skipped) */
	uint64_t recovered;	/* records pending when the journal was opened */
};

/* One record as read back; key and value point into the journal's buffer. */
struct snk_jrec {
	int64_t ts_ms;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
};

/**
 * Parse one record at the start of buf.
 * @return bytes the record takes (> 0) with r filled; 0 when buf ends
 *   inside the record (torn); -1 when it cannot be a record (bad length or
 *   CRC).
 */
long snk_jrec_parse(const uint8_t *buf, size_t len, struct snk_jrec *r);

/**
 * Encode one record into buf. @return its size, or 0 when it does not fit
 * or key_len > SNK_JREC_KEY_MAX or the record would exceed SNK_JREC_MAX.
 */
size_t snk_jrec_encode(uint8_t *buf, size_t cap, int64_t ts_ms, const void *key,
		       size_t key_len, const void *value, size_t value_len);

/**
 * Open (creating dir if needed) and recover the journal: scan every
 * segment from the replay position, count the pending records, truncate a
 * torn last record of the newest segment, skip a corrupt segment's rest.
 * @param max_bytes  cap on the bytes of all segments together (> 0).
 * @return the journal, or NULL with err filled.
 */
struct snk_journal *snk_journal_open(const char *dir, uint64_t max_bytes, char *err,
				     size_t errlen);

/** fdatasync and close; accepts NULL. */
void snk_journal_close(struct snk_journal *j);

/**
 * Append one record. @return 0; -ENOSPC when the cap is reached (counted
 * dropped_cap); another -errno on a write error or bad record (dropped_io).
 */
int snk_journal_append(struct snk_journal *j, int64_t ts_ms, const void *key, size_t key_len,
		       const void *value, size_t value_len);

/**
 * The next record not yet handed out (replay order = append order).
 * r's pointers stay valid until the next call.
 * @return 1 with r filled, 0 when nothing is pending, -errno on a read error.
 */
int snk_journal_next(struct snk_journal *j, struct snk_jrec *r);

/**
 * Everything handed out so far is settled (delivered or appended again):
 * persist the replay position and delete fully read segments.
 * @return 0 or -errno.
 */
int snk_journal_commit(struct snk_journal *j);

/** Records appended (this run or earlier) and not yet handed out. */
uint64_t snk_journal_pending(const struct snk_journal *j);
/** Bytes of every segment on disk. */
uint64_t snk_journal_bytes(const struct snk_journal *j);
const struct snk_journal_stats *snk_journal_stats(const struct snk_journal *j);

#endif /* SNK_JOURNAL_H */
