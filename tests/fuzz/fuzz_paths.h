/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fast path against plain path (issue 4, acceptance 3): decode the same
 * bytes with cfg->path = DP_PATH_FAST and DP_PATH_PLAIN and compare what
 * came out -- every emitted record (kind, id, time, metric mask, each
 * present value bit for bit, in order), the record count and every reject
 * counter. Used by the decoder fuzz targets (libFuzzer then reports any
 * disagreement as a crash) and by tests/unit/test_decode_paths.c. Header
 * only; single threaded; records are kept in a growing heap array (test
 * code, not the data path).
 */
#ifndef WEIR_FUZZ_PATHS_H
#define WEIR_FUZZ_PATHS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_decode.h"

/* What one decode produced. */
struct fzp_run {
	struct dp_decode_out out;	/* must stay first: emit gets &out */
	struct wr_record *rec;
	size_t n, cap;
};

static inline void
fzp_emit(struct dp_decode_out *out, struct wr_record *r)
{
	struct fzp_run *run = (struct fzp_run *)out;

	if (run->n == run->cap) {
		size_t cap = run->cap != 0 ? run->cap * 2 : 64;
		struct wr_record *p = realloc(run->rec, cap * sizeof(*p));

		if (p == NULL) {
			fprintf(stderr, "fuzz_paths: out of memory\n");
			abort();
		}
		run->rec = p;
		run->cap = cap;
	}
	run->rec[run->n++] = *r;
}

static inline void
fzp_run_decode(fz_decode_fn decode, const struct dp_decode_cfg *cfg,
	       const struct dp_pkt_meta *meta, const uint8_t *p, size_t n, struct fzp_run *run)
{
	memset(&run->out, 0, sizeof(run->out));
	run->out.emit = fzp_emit;
	run->n = 0;
	decode(cfg, meta, p, n, &run->out);
}

/* First difference between two records, or NULL. */
static inline const char *
fzp_record_diff(const struct wr_record *a, const struct wr_record *b)
{
	uint64_t m;

	if (a->kind != b->kind)
		return "record kind";
	if (a->id_len != b->id_len || memcmp(a->id, b->id, sizeof(a->id)) != 0)
		return "device id";
	if (a->time_ns != b->time_ns)
		return "time";
	if (a->present != b->present)
		return "metric mask";
	for (m = a->present; m != 0; m &= m - 1) {
		unsigned int i = (unsigned int)__builtin_ctzll(m);

		if (memcmp(&a->values[i], &b->values[i], sizeof(double)) != 0)
			return "value bits";
	}
	return NULL;
}

/* First difference between a fast and a plain run, or NULL. */
static inline const char *
fzp_diff(const struct fzp_run *fast, const struct fzp_run *plain)
{
	size_t i;

	if (fast->out.records != plain->out.records)
		return "records counted";
	if (memcmp(fast->out.rejected, plain->out.rejected, sizeof(fast->out.rejected)) != 0)
		return "reject counters";
	if (fast->n != plain->n)
		return "records emitted";
	for (i = 0; i < fast->n; i++) {
		const char *why = fzp_record_diff(&fast->rec[i], &plain->rec[i]);

		if (why != NULL)
			return why;
	}
	return NULL;
}

/*
 * Decode p with both paths of cfg (a copy is switched between them).
 * @return NULL when they agree, else what differs.
 */
static inline const char *
fzp_compare(fz_decode_fn decode, const struct dp_decode_cfg *cfg,
	    const struct dp_pkt_meta *meta, const uint8_t *p, size_t n)
{
	static struct dp_decode_cfg c;
	static struct fzp_run fast, plain;

	c = *cfg;
	c.path = DP_PATH_FAST;
	fzp_run_decode(decode, &c, meta, p, n, &fast);
	c.path = DP_PATH_PLAIN;
	fzp_run_decode(decode, &c, meta, p, n, &plain);
	return fzp_diff(&fast, &plain);
}

#endif /* WEIR_FUZZ_PATHS_H */
