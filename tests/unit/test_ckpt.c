/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the checkpoint format and files (aggregator/agg_ckpt.c):
 * encode/decode round trip (a restored table emits byte for byte what the
 * original would, also after more records), torn files, bad CRC, another
 * configuration, close-mark filtering, the close mark itself, and the
 * file cycle in a temporary directory. Runs EAL with --no-huge (TSC).
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "agg.h"
#include "agg_ckpt.h"

#define SEC	INT64_C(1000000000)
#define NM	3	/* metrics */
#define T0	(INT64_C(1732233600) * SEC)

static const char *const names[NM] = { "temperature", "humidity", "pressure" };

static struct agg_ckpt_fp
mkfp(int64_t size, int64_t slide)
{
	struct agg_ckpt_fp fp = {
		.n_metrics = NM,
		.workers = 2,
		.worker = 1,
		.names_crc = agg_ckpt_names_crc(names, NM),
		.size_ns = size,
		.slide_ns = slide,
	};

	return fp;
}

static struct agg_table *
mktable(int64_t size, int64_t slide)
{
	struct agg_cfg c = {
		.name = "ckpt",
		.socket = SOCKET_ID_ANY,
		.n_metrics = NM,
		.size_ns = size,
		.slide_ns = slide,
		.lateness_ns = 2 * SEC,
		.max_devices = 1000,
	};
	struct agg_table *t = agg_table_create(&c);

	assert_non_null(t);
	return t;
}

/*
 * Record i of a deterministic stream: 7 devices (two with ids longer than
 * the inline 15 bytes), times moving forward with some disorder, watermark
 * = max time - 2 s, first_k as the RX lcore computes it.
 */
static struct wr_record
rec_i(unsigned int i, int64_t size, int64_t slide, int64_t *w)
{
	static const char *const ids[] = { "a", "dev-00001", "dev-00002", "b",
					   "a-sensor-with-a-long-name-0001",
					   "another-long-device-id-0002", "c" };
	struct wr_record r;
	int64_t t = T0 + (int64_t)i * 150000000 - (int64_t)(i % 5) * 300000000;
	int64_t kf, ko;
	uint8_t len;

	memset(&r, 0, sizeof(r));
	if (t - 2 * SEC > *w)
		*w = t - 2 * SEC;
	r.kind = WR_REC_DATA;
	r.time_ns = t;
	r.watermark_ns = *w;
	kf = agg_floor_div(t - size, slide) + 1;
	ko = agg_floor_div(*w - size, slide) + 1;
	r.first_k = kf > ko ? kf : ko;
	len = (uint8_t)strlen(ids[i % RTE_DIM(ids)]);
	memcpy(r.id, ids[i % RTE_DIM(ids)], len);
	r.id_len = len;
	r.hash = agg_devkey_hash(r.id, len);
	r.present = i % 4 == 3 ? 0x5 : 0x7;	/* metric 1 missing now and then */
	r.values[0] = 20.0 + (double)(i % 13) * 0.7;
	r.values[1] = 40.0 - (double)(i % 11) * 1.3;
	r.values[2] = 1000.0 + (double)i * 0.01;
	return r;
}

struct sink {
	struct wr_result v[4096];
	unsigned int n;
};

static void
sink_emit(void *arg, const struct wr_result *res)
{
	struct sink *s = arg;

	assert_true(s->n < RTE_DIM(s->v));
	s->v[s->n] = *res;
	s->v[s->n].close_tsc = 0;
	s->n++;
}

static void
assert_same(const struct sink *a, const struct sink *b)
{
	unsigned int i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_memory_equal(&a->v[i], &b->v[i], wr_result_size(NM));
}

/* Feed records lo..hi-1 into t (the watermark carried on). */
static void
feed(struct agg_table *t, unsigned int lo, unsigned int hi, int64_t size, int64_t slide,
     int64_t *w, struct sink *s)
{
	unsigned int i;

	for (i = lo; i < hi; i++) {
		struct wr_record r = rec_i(i, size, slide, w);

		if (r.first_k > r.time_ns / slide)
			continue;	/* late: RX would not send it */
		assert_int_equal(agg_table_process(t, &r, sink_emit, s), 0);
	}
}

static uint8_t *
encode(const struct agg_table *t, const struct agg_ckpt_fp *fp, const struct wr_ckpt_rx *rx,
       size_t *len)
{
	size_t need = agg_ckpt_encode(t, fp, rx, NULL, 0);
	uint8_t *buf = malloc(need);

	assert_non_null(buf);
	assert_int_equal(agg_ckpt_encode(t, fp, rx, buf, need - 1), need);	/* too short */
	*len = agg_ckpt_encode(t, fp, rx, buf, need);
	assert_int_equal(*len, need);
	return buf;
}

/*
 * The crash model: A folds records 0..599, is checkpointed, folds 600..999;
 * B restores the checkpoint and folds 600..999 too. Both emit the same
 * windows in the same order, byte for byte (close_tsc aside).
 */
static void
round_trip(int64_t size, int64_t slide)
{
	struct agg_ckpt_fp fp = mkfp(size, slide);
	struct wr_ckpt_rx rx = { .seq = 7, .t_max = 5, .last_valid_arrival = 6,
				 .w_at_last_valid = 8, .have_valid = 1 }, got;
	struct agg_table *a = mktable(size, slide), *b = mktable(size, slide);
	struct sink *sa = calloc(1, sizeof(*sa)), *sb = calloc(1, sizeof(*sb));
	struct agg_ckpt_counts cnt;
	int64_t wa = INT64_MIN, wb;
	const char *why;
	uint8_t *buf;
	size_t len;

	assert_non_null(sa);
	assert_non_null(sb);
	feed(a, 0, 600, size, slide, &wa, sa);
	rx.w = wa;
	buf = encode(a, &fp, &rx, &len);
	sa->n = 0;	/* what A emitted before the checkpoint is not B's business */

	assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MIN, b, &got, &cnt), 0);
	assert_memory_equal(&got, &rx, sizeof(rx));
	assert_int_equal(cnt.windows, agg_table_walk(a, NULL, NULL));
	assert_int_equal(cnt.discarded, 0);
	{
		struct agg_table_stats st;

		agg_table_stats_get(a, &st);
		assert_int_equal(cnt.windows, st.windows);
	}
	assert_int_equal(agg_table_verify(b, &why), 0);
	assert_int_equal(agg_table_devices(b), agg_table_devices(a));
	/* re-encoding the restored table gives the same bytes */
	{
		size_t len2;
		uint8_t *buf2 = encode(b, &fp, &rx, &len2);

		assert_int_equal(len2, len);
		assert_memory_equal(buf2, buf, len);
		free(buf2);
	}

	wb = wa;
	feed(a, 600, 1000, size, slide, &wa, sa);
	feed(b, 600, 1000, size, slide, &wb, sb);
	agg_table_flush(a, sink_emit, sa);
	agg_table_flush(b, sink_emit, sb);
	assert_true(sa->n > 10);
	assert_same(sa, sb);

	free(buf);
	free(sa);
	free(sb);
	agg_table_destroy(a);
	agg_table_destroy(b);
}

static void
test_round_trip_tumbling(void **state)
{
	(void)state;
	round_trip(10 * SEC, 10 * SEC);
}

static void
test_round_trip_hopping(void **state)
{
	(void)state;
	round_trip(10 * SEC, 2 * SEC);
}

static void
test_empty_table(void **state)
{
	struct agg_ckpt_fp fp = mkfp(10 * SEC, 10 * SEC);
	struct wr_ckpt_rx rx = { .seq = 1, .w = INT64_MIN, .t_max = INT64_MIN }, got;
	struct agg_table *a = mktable(10 * SEC, 10 * SEC), *b = mktable(10 * SEC, 10 * SEC);
	struct agg_ckpt_counts cnt;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = encode(a, &fp, &rx, &len);
	assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MIN, b, &got, &cnt), 0);
	assert_int_equal(cnt.windows, 0);
	assert_int_equal(got.w, INT64_MIN);
	free(buf);
	agg_table_destroy(a);
	agg_table_destroy(b);
}

/* Checkpoint of 400 records into buf (window 10 s, slide D). */
static uint8_t *
sample_d(size_t *len, struct agg_table **src, int64_t slide)
{
	struct agg_ckpt_fp fp = mkfp(10 * SEC, slide);
	struct wr_ckpt_rx rx = { .seq = 3 };
	struct agg_table *a = mktable(10 * SEC, slide);
	struct sink *s = calloc(1, sizeof(*s));
	int64_t w = INT64_MIN;
	uint8_t *buf;

	assert_non_null(s);
	feed(a, 0, 400, 10 * SEC, slide, &w, s);
	rx.w = w;
	buf = encode(a, &fp, &rx, len);
	free(s);
	if (src != NULL)
		*src = a;
	else
		agg_table_destroy(a);
	return buf;
}

static uint8_t *
sample(size_t *len, struct agg_table **src)
{
	return sample_d(len, src, 10 * SEC);
}

static void
test_torn(void **state)
{
	struct agg_ckpt_fp fp = mkfp(10 * SEC, 10 * SEC);
	struct agg_table *b = mktable(10 * SEC, 10 * SEC);
	struct agg_ckpt_counts cnt;
	struct wr_ckpt_rx got;
	size_t len, cut;
	uint8_t *buf = sample(&len, NULL);

	(void)state;
	/* every prefix: a kill while writing (without the rename) */
	for (cut = 0; cut < len; cut += cut < 200 ? 1 : 97) {
		assert_int_equal(agg_ckpt_decode(buf, cut, &fp, INT64_MIN, b, &got, &cnt),
				 -EBADMSG);
		assert_int_equal(agg_table_devices(b), 0);
		assert_int_equal(agg_table_walk(b, NULL, NULL), 0);
	}
	assert_int_equal(agg_ckpt_decode(NULL, 0, &fp, INT64_MIN, b, &got, &cnt), -EBADMSG);
	free(buf);
	agg_table_destroy(b);
}

static void
test_bad_crc(void **state)
{
	struct agg_ckpt_fp fp = mkfp(10 * SEC, 10 * SEC);
	struct agg_table *b = mktable(10 * SEC, 10 * SEC);
	struct agg_ckpt_counts cnt;
	struct wr_ckpt_rx got;
	size_t len, i;
	uint8_t *buf = sample(&len, NULL);

	(void)state;
	/* one flipped bit anywhere, the CRC itself included */
	for (i = 0; i < len; i += 13) {
		buf[i] ^= 0x10;
		assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MIN, b, &got, &cnt),
				 -EBADMSG);
		buf[i] ^= 0x10;
	}
	buf[len - 1] ^= 1;
	assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MIN, b, &got, &cnt), -EBADMSG);
	buf[len - 1] ^= 1;
	assert_int_equal(agg_table_devices(b), 0);
	assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MIN, b, &got, &cnt), 0);
	assert_true(cnt.windows > 0);
	free(buf);
	agg_table_destroy(b);
}

static void
test_fingerprint(void **state)
{
	struct agg_table *b = mktable(10 * SEC, 10 * SEC);
	struct agg_ckpt_counts cnt;
	struct wr_ckpt_rx got;
	struct agg_ckpt_fp fp;
	const char *other[NM] = { "temperature", "pressure", "humidity" };
	size_t len;
	uint8_t *buf = sample(&len, NULL);
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		fp = mkfp(10 * SEC, 10 * SEC);
		switch (i) {
		case 0: fp.n_metrics = NM - 1; break;
		case 1: fp.workers = 1; break;
		case 2: fp.worker = 0; break;
		case 3: fp.names_crc = agg_ckpt_names_crc(other, NM); break;
		case 4: fp.size_ns = 20 * SEC; break;
		default: fp.slide_ns = 5 * SEC; break;
		}
		assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MIN, b, &got, &cnt),
				 -ESTALE);
		assert_int_equal(agg_table_devices(b), 0);
	}
	free(buf);
	agg_table_destroy(b);
}

/* Windows at or below the close mark were emitted: not restored, counted. */
static void
test_closed_mark_filter(void **state)
{
	struct agg_ckpt_fp fp = mkfp(10 * SEC, 2 * SEC);
	struct agg_table *a, *b = mktable(10 * SEC, 2 * SEC);
	struct sink *sa = calloc(1, sizeof(*sa)), *sb = calloc(1, sizeof(*sb));
	struct agg_ckpt_counts cnt;
	struct wr_ckpt_rx got;
	int64_t lo, hi;
	uint64_t total;
	unsigned int i;
	size_t len;
	uint8_t *buf = sample_d(&len, &a, 2 * SEC);

	(void)state;
	assert_non_null(sa);
	assert_non_null(sb);
	assert_int_equal(agg_table_span(a, &lo, &hi), 1);
	assert_true(hi > lo);	/* two open windows at least: one is filtered */
	total = agg_table_walk(a, NULL, NULL);
	assert_int_equal(agg_ckpt_decode(buf, len, &fp, lo, b, &got, &cnt), 0);
	assert_true(cnt.discarded > 0);
	assert_int_equal(cnt.windows + cnt.discarded, total);
	agg_table_flush(a, sink_emit, sa);
	agg_table_flush(b, sink_emit, sb);
	/* B emits exactly A's windows above the mark */
	for (i = 0; i < sa->n && agg_floor_div(sa->v[i].start_ns, 2 * SEC) <= lo; i++)
		;
	assert_int_equal(sa->n - i, sb->n);
	for (total = 0; i < sa->n; i++) {
		assert_memory_equal(&sa->v[i], &sb->v[i - (sa->n - sb->n)], wr_result_size(NM));
		total += sa->v[i].count;
	}
	assert_int_equal(total, cnt.records);
	/* a mark above everything restores nothing */
	agg_table_destroy(b);
	b = mktable(10 * SEC, 2 * SEC);
	assert_int_equal(agg_ckpt_decode(buf, len, &fp, INT64_MAX, b, &got, &cnt), 0);
	assert_int_equal(cnt.windows, 0);
	assert_int_equal(agg_table_devices(b), 0);
	free(buf);
	free(sa);
	free(sb);
	agg_table_destroy(a);
	agg_table_destroy(b);
}

static void
test_closed_mark_codec(void **state)
{
	uint8_t m[AGG_CKPT_CLOSED_SIZE];
	int64_t k, wm;
	size_t i;

	(void)state;
	agg_ckpt_closed_encode(m, 173223360, T0 + 5 * SEC);
	assert_int_equal(agg_ckpt_closed_decode(m, sizeof(m), &k, &wm), 0);
	assert_int_equal(k, 173223360);
	assert_int_equal(wm, T0 + 5 * SEC);
	assert_int_equal(agg_ckpt_closed_decode(m, sizeof(m) - 1, &k, &wm), -EBADMSG);
	for (i = 0; i < sizeof(m); i++) {
		m[i] ^= 0x80;
		if (i < 28)	/* the last 4 bytes are padding */
			assert_int_equal(agg_ckpt_closed_decode(m, sizeof(m), &k, &wm),
					 -EBADMSG);
		m[i] ^= 0x80;
	}
}

/* The files: marks before closes, tmp + rename, restore, clear; a bad dir. */
static void
test_files(void **state)
{
	char dir[] = "/tmp/weir-test-ckpt-XXXXXX", path[256], err[256];
	struct agg_ckpt_fp fp = mkfp(10 * SEC, 10 * SEC);
	struct wr_counters ctr;
	struct agg_ckpt *c;
	struct agg_table *a = mktable(10 * SEC, 10 * SEC), *b;
	struct sink *s = calloc(1, sizeof(*s));
	struct wr_ckpt_rx rx = { .seq = 1 }, got;
	struct wr_record r;
	struct stat sb;
	int64_t w = INT64_MIN;
	unsigned int i;

	(void)state;
	assert_non_null(s);
	assert_non_null(mkdtemp(dir));
	memset(&ctr, 0, sizeof(ctr));
	snprintf(path, sizeof(path), "%s/sub", dir);	/* created when missing */
	c = agg_ckpt_open(path, &fp, &ctr, err, sizeof(err));
	assert_non_null(c);
	for (i = 0; i < 400; i++) {
		r = rec_i(i, 10 * SEC, 10 * SEC, &w);
		if (r.first_k > r.time_ns / (10 * SEC))
			continue;
		agg_ckpt_before(c, a, &r);
		assert_int_equal(agg_table_process(a, &r, sink_emit, s), 0);
	}
	/* every emitted window is at or below the mark written before it */
	assert_true(s->n > 0);
	for (i = 0; i < s->n; i++)
		assert_true(agg_floor_div(s->v[i].start_ns, 10 * SEC) <= c->closed_k);
	rx.w = w;
	assert_int_equal(agg_ckpt_write(c, a, &rx), 0);
	assert_int_equal(ctr.v[WR_CTR_CKPT_WRITTEN], 1);
	snprintf(path, sizeof(path), "%s/sub/agg1.ckpt.tmp", dir);
	assert_int_not_equal(stat(path, &sb), 0);	/* renamed over */
	agg_ckpt_close(c);

	/* restart */
	memset(&ctr, 0, sizeof(ctr));
	snprintf(path, sizeof(path), "%s/sub", dir);
	c = agg_ckpt_open(path, &fp, &ctr, err, sizeof(err));
	assert_non_null(c);
	b = mktable(10 * SEC, 10 * SEC);
	assert_int_equal(agg_ckpt_restore(c, b, &got), 1);
	assert_int_equal(got.w, w);
	assert_int_equal(ctr.v[WR_CTR_CKPT_RESTORED_WINDOWS], agg_table_walk(a, NULL, NULL));
	assert_int_equal(ctr.v[WR_CTR_CKPT_REFUSED], 0);
	assert_true(agg_ckpt_dir_closed_wm(path) <= w);
	assert_true(agg_ckpt_dir_closed_wm(path) > INT64_MIN);
	/* a flush moves the mark over every open window */
	r = rec_i(0, 10 * SEC, 10 * SEC, &w);
	r.kind = WR_REC_FLUSH;
	agg_ckpt_before(c, b, &r);
	{
		int64_t lo, hi;

		assert_int_equal(agg_table_span(b, &lo, &hi), 1);
		assert_int_equal(c->closed_k, hi);
		assert_true(agg_ckpt_dir_closed_wm(path) >= hi * 10 * SEC + 10 * SEC);
	}
	agg_ckpt_close(c);
	agg_table_destroy(b);

	/* a torn checkpoint is refused and counted; the table stays empty */
	snprintf(path, sizeof(path), "%s/sub/agg1.ckpt", dir);
	assert_int_equal(truncate(path, 100), 0);
	memset(&ctr, 0, sizeof(ctr));
	snprintf(path, sizeof(path), "%s/sub", dir);
	c = agg_ckpt_open(path, &fp, &ctr, err, sizeof(err));
	assert_non_null(c);
	b = mktable(10 * SEC, 10 * SEC);
	assert_int_equal(agg_ckpt_restore(c, b, &got), 0);
	assert_int_equal(ctr.v[WR_CTR_CKPT_REFUSED], 1);
	assert_int_equal(agg_table_devices(b), 0);
	agg_ckpt_close(c);
	agg_table_destroy(b);

	agg_ckpt_dir_clear(path);
	assert_int_equal(rmdir(path), 0);	/* nothing left behind */
	assert_int_equal(rmdir(dir), 0);

	/* a directory that cannot be made: a message naming the key */
	assert_null(agg_ckpt_open("/proc/weir-no/such", &fp, &ctr, err, sizeof(err)));
	assert_non_null(strstr(err, "[checkpoint] dir"));
	assert_null(agg_ckpt_open("", &fp, &ctr, err, sizeof(err)));
	free(s);
	agg_table_destroy(a);
}

int
main(void)
{
	char prefix[64];
	char *eal_argv[] = {
		"test_ckpt", "--no-huge", "--no-pci", "-m", "64", "--file-prefix", prefix,
		"--log-level", "lib.eal:error", NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_tumbling),
		cmocka_unit_test(test_round_trip_hopping),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_bad_crc),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_closed_mark_filter),
		cmocka_unit_test(test_closed_mark_codec),
		cmocka_unit_test(test_files),
	};
	int ret;

	snprintf(prefix, sizeof(prefix), "test_ckpt_%d", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return ret;
}
