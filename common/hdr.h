/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * HDR histogram: log-linear buckets over [1, highest], fixed memory
 * allocated at creation, 3 significant digits (relative error <= 0.1%).
 * One writer per instance (one per lcore); readers merge copies.
 */
#ifndef HDR_H
#define HDR_H

#include <stdint.h>

struct hdr;

/**
 * @param highest  largest value tracked exactly (e.g. 3600e9 ns); larger
 *                 values are counted in hdr_overflow() and clamped to highest.
 * @param sigfigs  significant digits, 1..5 (weir uses 3).
 * @return the histogram, or NULL when out of memory / bad arguments.
 */
struct hdr *hdr_create(uint64_t highest, int sigfigs);
void hdr_destroy(struct hdr *h);	/* accepts NULL */
void hdr_reset(struct hdr *h);

/** Record one value; never allocates. @return 0, or -1 when clamped. */
int hdr_record(struct hdr *h, uint64_t v);
/** Record n copies of v. */
int hdr_record_n(struct hdr *h, uint64_t v, uint64_t n);

/** dst += src (same highest and sigfigs). @return 0 or -1 on mismatch. */
int hdr_merge(struct hdr *dst, const struct hdr *src);

/** A new empty histogram with the same highest and sigfigs as h (NULL: no memory). */
struct hdr *hdr_clone_empty(const struct hdr *h);

/**
 * dst -= src, slot by slot, saturating at 0: what was recorded into a
 * histogram since src was copied from it (with hdr_reset + hdr_merge).
 * min and max of the difference are only known to slot precision: they are
 * rebuilt from the remaining slots and clamped to dst's exact range.
 * @return 0 or -1 on mismatch.
 */
int hdr_sub(struct hdr *dst, const struct hdr *src);

/**
 * Value at percentile p in [0, 100]: the highest value equivalent to the
 * bucket holding the ceil(p/100 * count)-th smallest value (like
 * HdrHistogram's getValueAtPercentile). 0 when empty.
 */
uint64_t hdr_percentile(const struct hdr *h, double p);
uint64_t hdr_count(const struct hdr *h);
uint64_t hdr_min(const struct hdr *h);	/* 0 when empty */
uint64_t hdr_max(const struct hdr *h);	/* exact largest recorded (clamped) value */
uint64_t hdr_overflow(const struct hdr *h);	/* values above highest */

#endif /* HDR_H */
