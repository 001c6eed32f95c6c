/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of the checkpoint decoder (aggregator/agg_ckpt.c): the
 * input is a checkpoint file. It is decoded twice into a fresh table: as
 * given, and with the fingerprint fields set to this target's
 * configuration and the CRC recomputed, so that mutations reach the entry
 * framing and value checks behind the CRC. Whatever the bytes:
 *  - the result is 0, -EBADMSG or -ESTALE, and a refused file leaves the
 *    table empty;
 *  - an accepted one leaves a table that passes agg_table_verify, holding
 *    exactly the windows and records the decoder counted, that re-encodes
 *    to a checkpoint decoding to the same windows, and whose flush emits
 *    those records with finite statistics only.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "agg_ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_METRICS	4
#define FZ_SEC		INT64_C(1000000000)
#define FZ_HDR		104	/* struct ckpt_hdr: fingerprint at 8..40 */
#define FZ_MAX		(1u << 20)

static const char *const fz_names[FZ_METRICS] = { "temperature", "humidity", "pressure",
						  "vibration" };

static void
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_ckpt: %s\n", what);
	abort();
}

static struct agg_table *
fz_table(void)
{
	struct agg_cfg c = {
		.name = "fuzz",
		.n_metrics = FZ_METRICS,
		.size_ns = 10 * FZ_SEC,
		.slide_ns = 10 * FZ_SEC,
		.lateness_ns = 5 * FZ_SEC,
		.max_devices = 64,
	};
	struct agg_table *t = agg_table_create(&c);

	if (t == NULL)
		fz_fail("agg_table_create");
	return t;
}

struct fz_flush {
	uint64_t windows;
	uint64_t records;
};

static void
fz_emit(void *arg, const struct wr_result *res)
{
	struct fz_flush *f = arg;
	unsigned int i;

	f->windows++;
	f->records += res->count;
	for (i = 0; i < FZ_METRICS; i++) {
		const struct wr_stat *s = &res->stats[i];

		if (s->count != 0 && (!isfinite(s->min) || !isfinite(s->max) ||
				      !isfinite(s->sum) || !isfinite(s->mean)))
			fz_fail("a restored window emits a non-finite statistic");
	}
}

static void
fz_check(const uint8_t *buf, size_t len, const struct agg_ckpt_fp *fp, int64_t closed_k)
{
	struct agg_table *t = fz_table(), *t2;
	struct agg_ckpt_counts cnt, cnt2;
	struct wr_ckpt_rx rx, rx2;
	struct fz_flush fl = { 0, 0 };
	const char *why;
	uint8_t *enc;
	size_t need;
	int rc;

	rc = agg_ckpt_decode(buf, len, fp, closed_k, t, &rx, &cnt);
	if (rc != 0) {
		if (rc != -EBADMSG && rc != -ESTALE)
			fz_fail("unexpected error code");
		if (agg_table_walk(t, NULL, NULL) != 0 || agg_table_devices(t) != 0)
			fz_fail("a refused checkpoint changed the table");
		agg_table_destroy(t);
		return;
	}
	if (agg_table_verify(t, &why) != 0)
		fz_fail(why);
	if (agg_table_walk(t, NULL, NULL) != cnt.windows)
		fz_fail("restored windows miscounted");

	/* what is restored saves and restores to the same */
	need = agg_ckpt_encode(t, fp, &rx, NULL, 0);
	enc = malloc(need);
	if (enc == NULL || agg_ckpt_encode(t, fp, &rx, enc, need) != need)
		fz_fail("re-encode");
	t2 = fz_table();
	if (agg_ckpt_decode(enc, need, fp, INT64_MIN, t2, &rx2, &cnt2) != 0 ||
	    cnt2.windows != cnt.windows || cnt2.records != cnt.records || cnt2.discarded != 0 ||
	    memcmp(&rx, &rx2, sizeof(rx)) != 0)
		fz_fail("a re-encoded checkpoint does not decode to the same");
	free(enc);
	agg_table_destroy(t2);

	agg_table_flush(t, fz_emit, &fl);
	if (fl.windows != cnt.windows || fl.records != cnt.records)
		fz_fail("the flush emits other windows than were restored");
	agg_table_destroy(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agg_ckpt_fp fp = {
		.n_metrics = FZ_METRICS,
		.workers = 1,
		.worker = 0,
		.names_crc = agg_ckpt_names_crc(fz_names, FZ_METRICS),
		.size_ns = 10 * FZ_SEC,
		.slide_ns = 10 * FZ_SEC,
	};
	int64_t closed_k = INT64_MIN;
	uint8_t *fix;
	uint32_t crc;

	if (size > FZ_MAX)
		return 0;
	fz_check(data, size, &fp, INT64_MIN);
	if (size < FZ_HDR + sizeof(crc))
		return 0;

	/* the same bytes as this configuration would have written them */
	fix = malloc(size);
	if (fix == NULL)
		return 0;
	memcpy(fix, data, size);
	memcpy(fix + 8, &fp.n_metrics, 4);
	memcpy(fix + 12, &fp.workers, 4);
	memcpy(fix + 16, &fp.worker, 4);
	memcpy(fix + 20, &fp.names_crc, 4);
	memcpy(fix + 24, &fp.size_ns, 8);
	memcpy(fix + 32, &fp.slide_ns, 8);
	crc = agg_ckpt_crc(fix, size - sizeof(crc), UINT32_MAX);
	memcpy(fix + size - sizeof(crc), &crc, sizeof(crc));
	fz_check(fix, size, &fp, INT64_MIN);
	/* and a close mark taken from the input: part of it discarded */
	memcpy(&closed_k, data + FZ_HDR - 8, sizeof(closed_k));
	fz_check(fix, size, &fp, closed_k % 4 == 0 ? INT64_MIN : 173223360 + closed_k % 4);
	free(fix);
	return 0;
}
