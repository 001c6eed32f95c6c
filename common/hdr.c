/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HDR histogram (log-linear buckets, HdrHistogram layout). Each instance
 * has one writer, the lcore that owns it (hdr_record* is the per-record
 * path: no allocation, no loop, one counter increment); readers on the
 * control thread merge copies and query percentiles.
 *
 * Layout: a value v lands in bucket b = the number of doublings above the
 * sub-bucket range, and in sub-bucket v >> b of that bucket. Bucket 0 holds
 * sub_count linear slots [0, sub_count); every later bucket only needs its
 * upper half (the lower half would alias the previous bucket), so the
 * counts array is (buckets + 1) * half_count long. The width of a slot is
 * at most 1 / half_count of its lowest value: that is the relative error.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"

struct hdr {
	uint64_t highest;	/* largest trackable value, others clamp to it */
	int sigfigs;
	unsigned int sub_mag;		/* log2(sub_count) */
	unsigned int half_mag;		/* log2(half_count) */
	uint64_t sub_mask;		/* sub_count - 1 */
	uint64_t half_count;
	uint32_t bucket_count;
	uint32_t counts_len;
	uint64_t total;
	uint64_t min;		/* UINT64_MAX while empty */
	uint64_t max;
	uint64_t overflow;
	uint64_t counts[];
};

static inline unsigned int
bucket_of(const struct hdr *h, uint64_t v)
{
	/* OR-ing the mask puts every v < sub_count into bucket 0. */
	return (unsigned int)(63 - __builtin_clzll(v | h->sub_mask)) - h->half_mag;
}

static inline uint32_t
index_of(const struct hdr *h, uint64_t v)
{
	unsigned int b = bucket_of(h, v);
	uint64_t sub = v >> b;

	/* sub is in [half_count, sub_count) except in bucket 0, where it may be lower. */
	return (uint32_t)((((uint64_t)b + 1) << h->half_mag) + sub - h->half_count);
}

/* Highest value that maps to the same slot as counts[i]. */
static uint64_t
slot_highest(const struct hdr *h, uint32_t i)
{
	uint64_t b = (i >> h->half_mag);
	uint64_t sub = (i & (h->half_count - 1)) + h->half_count;

	if (b == 0) {
		/* first half_count slots: bucket 0, lower half, width 1 */
		return i;
	}
	b--;
	return (sub << b) + ((UINT64_C(1) << b) - 1);
}

struct hdr *
hdr_create(uint64_t highest, int sigfigs)
{
	uint64_t want, sub_count, top;
	unsigned int sub_mag = 0;
	uint32_t buckets = 1;
	struct hdr *h;
	size_t len;
	int i;

	if (highest < 1 || sigfigs < 1 || sigfigs > 5) {
		errno = EINVAL;
		return NULL;
	}
	want = 2;
	for (i = 0; i < sigfigs; i++)
		want *= 10;
	while ((UINT64_C(1) << sub_mag) < want)
		sub_mag++;
	sub_count = UINT64_C(1) << sub_mag;

	/* Bucket n (1-based) tracks values below sub_count << (n - 1). */
	top = sub_count;
	while (top <= highest) {
		if (top > UINT64_MAX / 2) {
			buckets++;
			break;
		}
		top <<= 1;
		buckets++;
	}

	len = sizeof(*h) + (size_t)(buckets + 1) * (sub_count / 2) * sizeof(uint64_t);
	h = calloc(1, len);
	if (h == NULL)
		return NULL;
	h->highest = highest;
	h->sigfigs = sigfigs;
	h->sub_mag = sub_mag;
	h->half_mag = sub_mag - 1;
	h->sub_mask = sub_count - 1;
	h->half_count = sub_count / 2;
	h->bucket_count = buckets;
	h->counts_len = (uint32_t)((buckets + 1) * (sub_count / 2));
	h->min = UINT64_MAX;
	return h;
}

void
hdr_destroy(struct hdr *h)
{
	free(h);
}

void
hdr_reset(struct hdr *h)
{
	memset(h->counts, 0, (size_t)h->counts_len * sizeof(h->counts[0]));
	h->total = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->overflow = 0;
}

int
hdr_record_n(struct hdr *h, uint64_t v, uint64_t n)
{
	int ret = 0;

	if (n == 0)
		return 0;
	if (v > h->highest) {
		h->overflow += n;
		v = h->highest;
		ret = -1;
	}
	h->counts[index_of(h, v)] += n;
	h->total += n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	return ret;
}

int
hdr_record(struct hdr *h, uint64_t v)
{
	return hdr_record_n(h, v, 1);
}

int
hdr_merge(struct hdr *dst, const struct hdr *src)
{
	uint32_t i;

	if (dst->highest != src->highest || dst->sigfigs != src->sigfigs)
		return -1;
	for (i = 0; i < dst->counts_len; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->overflow += src->overflow;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	return 0;
}

uint64_t
hdr_percentile(const struct hdr *h, double p)
{
	uint64_t rank, seen = 0;
	double x;
	uint32_t i;

	if (h->total == 0)
		return 0;
	if (!(p > 0.0))	/* also NaN */
		p = 0.0;
	if (p > 100.0)
		p = 100.0;
	/*
	 * p / 100 * total is rarely exact in binary (99.9% of 1000 comes out a
	 * hair above 999); shave a few ulps so such ranks do not round up.
	 */
	x = p / 100.0 * (double)h->total;
	x -= x * 4 * DBL_EPSILON;
	if (x >= (double)h->total)
		rank = h->total;
	else if (x > 0.0)
		rank = (uint64_t)ceil(x);
	else
		rank = 1;

	for (i = 0; i < h->counts_len; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			return slot_highest(h, i);
	}
	/* unreachable while total equals the sum of counts */
	return h->max;
}

uint64_t
hdr_count(const struct hdr *h)
{
	return h->total;
}

uint64_t
hdr_min(const struct hdr *h)
{
	return h->total == 0 ? 0 : h->min;
}

uint64_t
hdr_max(const struct hdr *h)
{
	return h->max;
}

uint64_t
hdr_overflow(const struct hdr *h)
{
	return h->overflow;
}

struct hdr *
hdr_clone_empty(const struct hdr *h)
{
	return hdr_create(h->highest, h->sigfigs);
}

/* Lowest value that maps to the same slot as counts[i]. */
static uint64_t
slot_lowest(const struct hdr *h, uint32_t i)
{
	uint64_t b = (i >> h->half_mag);
	uint64_t sub = (i & (h->half_count - 1)) + h->half_count;

	if (b == 0)
		return i;
	return sub << (b - 1);
}

int
hdr_sub(struct hdr *dst, const struct hdr *src)
{
	uint32_t i, lo = UINT32_MAX, hi = 0;
	uint64_t total = 0;

	if (dst->highest != src->highest || dst->sigfigs != src->sigfigs)
		return -1;
	for (i = 0; i < dst->counts_len; i++) {
		dst->counts[i] = dst->counts[i] > src->counts[i] ?
				 dst->counts[i] - src->counts[i] : 0;
		if (dst->counts[i] != 0) {
			if (lo == UINT32_MAX)
				lo = i;
			hi = i;
			total += dst->counts[i];
		}
	}
	dst->total = total;
	dst->overflow = dst->overflow > src->overflow ? dst->overflow - src->overflow : 0;
	if (total == 0) {
		dst->min = UINT64_MAX;
		dst->max = 0;
		return 0;
	}
	if (slot_lowest(dst, lo) > dst->min)
		dst->min = slot_lowest(dst, lo);
	if (slot_highest(dst, hi) < dst->max)
		dst->max = slot_highest(dst, hi);
	return 0;
}
