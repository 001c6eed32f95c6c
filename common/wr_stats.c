/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counter names and sums. Read by the control plane (main thread) while
 * lcores run; each struct has a single writer.
 */
#include "wr_stats.h"

static const char *const names[WR_CTR_COUNT] = {
#define WR_X(e, n, h) [WR_CTR_##e] = n,
	WR_COUNTERS(WR_X)
#undef WR_X
};

static const char *const helps[WR_CTR_COUNT] = {
#define WR_X(e, n, h) [WR_CTR_##e] = h,
	WR_COUNTERS(WR_X)
#undef WR_X
};

void
wr_counters_add(struct wr_counters *dst, const struct wr_counters *src)
{
	unsigned int i;

	for (i = 0; i < WR_CTR_COUNT; i++)
		dst->v[i] += __atomic_load_n(&src->v[i], __ATOMIC_RELAXED);
	for (i = 0; i < WR_REASON_COUNT; i++)
		dst->rejected[i] += __atomic_load_n(&src->rejected[i], __ATOMIC_RELAXED);
}

const char *
wr_counter_name(enum wr_counter c)
{
	return (unsigned int)c < WR_CTR_COUNT ? names[c] : NULL;
}

const char *
wr_counter_help(enum wr_counter c)
{
	return (unsigned int)c < WR_CTR_COUNT ? helps[c] : NULL;
}

uint64_t
wr_counters_rejected(const struct wr_counters *c)
{
	uint64_t s = 0;
	unsigned int i;

	for (i = 0; i < WR_REASON_COUNT; i++)
		s += c->rejected[i];
	return s;
}

uint64_t
wr_counters_dropped(const struct wr_counters *c)
{
	return c->v[WR_CTR_DROP_RING_FULL] + c->v[WR_CTR_DROP_DEVICES_FULL] +
	       c->v[WR_CTR_DROP_REFUSED] + c->v[WR_CTR_DROP_SKEW];
}

uint64_t
wr_counters_accepted(const struct wr_counters *c)
{
	return c->v[WR_CTR_REC_ROUTED] - wr_counters_dropped(c);
}
