/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scaffolding the decoder unit tests share: the decode config they run
 * with (the fuzz targets' one, tests/fuzz/fuzz_common.h) and a capture of
 * emitted records behind dp_decode_out. Header only (static inline);
 * include after <cmocka.h>. Single threaded.
 */
#ifndef WEIR_DECODE_TEST_UTIL_H
#define WEIR_DECODE_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "dp_decode.h"
#include "../fuzz/fuzz_common.h"

#define DTU_CAP_MAX	64	/* records kept per decode */

/* Metric indices of fz_decode_cfg_make's config. */
#define M_TEMP	0
#define M_HUM	1
#define M_PRES	2
#define M_VIB	3

/* Emitted records, captured through out->emit (n counts past DTU_CAP_MAX). */
struct dtu_cap {
	struct dp_decode_out out;
	unsigned int n;
	struct wr_record rec[DTU_CAP_MAX];
};

static inline void
dtu_cap_emit(struct dp_decode_out *out, struct wr_record *rec)
{
	struct dtu_cap *c = out->arg;

	if (c->n < DTU_CAP_MAX)
		c->rec[c->n] = *rec;
	c->n++;
}

static inline void
dtu_cap_init(struct dtu_cap *c)
{
	memset(c, 0, sizeof(*c));
	c->out.emit = dtu_cap_emit;
	c->out.arg = c;
}

static inline uint64_t
dtu_cap_rejected(const struct dtu_cap *c)
{
	return fz_rejected(&c->out);
}

/* Decode into a fresh capture; every record must be emitted or rejected exactly once. */
static inline void
dtu_cap_decode(fz_decode_fn decode, const struct dp_decode_cfg *cfg,
	       const struct dp_pkt_meta *meta, const uint8_t *p, size_t n, struct dtu_cap *c)
{
	dtu_cap_init(c);
	decode(cfg, meta, p, n, &c->out);
	assert_int_equal(c->out.records, c->n + dtu_cap_rejected(c));
}

#endif /* WEIR_DECODE_TEST_UTIL_H */
