/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of sink/snk_journal.c: record encode/parse (good, torn, bad
 * length, bad CRC), append and replay in order across segments, the replay
 * position across a reopen, a torn last record cut at open, a corrupt
 * record skipping the rest of its segment, and the size cap. Each test
 * works in its own temporary directory.
 */
#include <dirent.h>
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

#include "snk_journal.h"

#define CAP_BIG		(64ULL << 20)

struct tdir {
	char path[256];
};

static int
setup(void **state)
{
	struct tdir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->path, sizeof(t->path), "/tmp/weir-jtest-XXXXXX");
	assert_non_null(mkdtemp(t->path));
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tdir *t = *state;
	char p[512];
	struct dirent *de;
	DIR *d = opendir(t->path);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->path, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(t->path);
	free(t);
	return 0;
}

static unsigned int
count_segments(const char *dir, char *last, size_t lastlen)
{
	struct dirent *de;
	unsigned int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	if (last != NULL)
		last[0] = '\0';
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".wj") == NULL)
			continue;
		n++;
		if (last != NULL && strcmp(de->d_name, last) > 0)
			snprintf(last, lastlen, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static struct snk_journal *
jopen(const struct tdir *t, uint64_t cap)
{
	char err[256] = "";
	struct snk_journal *j = snk_journal_open(t->path, cap, err, sizeof(err));

	if (j == NULL)
		fail_msg("open: %s", err);
	return j;
}

static void
append_n(struct snk_journal *j, unsigned int from, unsigned int n, size_t vlen)
{
	char key[32], val[4096];
	unsigned int i;

	assert_true(vlen <= sizeof(val));
	for (i = from; i < from + n; i++) {
		int k = snprintf(key, sizeof(key), "dev-%05u", i);

		memset(val, 'a' + (int)(i % 26), vlen);
		snprintf(val, vlen, "{\"i\":%u}", i);
		assert_int_equal(snk_journal_append(j, 1000 + i, key, (size_t)k, val, vlen), 0);
	}
}

/* Reads n records, checking they are from..from+n-1 in order. */
static void
expect_n(struct snk_journal *j, unsigned int from, unsigned int n)
{
	struct snk_jrec r;
	char key[32];
	unsigned int i;

	for (i = from; i < from + n; i++) {
		int k = snprintf(key, sizeof(key), "dev-%05u", i);

		assert_int_equal(snk_journal_next(j, &r), 1);
		assert_int_equal(r.ts_ms, 1000 + i);
		assert_int_equal(r.key_len, (size_t)k);
		assert_memory_equal(r.key, key, (size_t)k);
	}
}

static void
test_record_codec(void **state)
{
	uint8_t buf[256];
	struct snk_jrec r;
	size_t n, i;

	(void)state;
	n = snk_jrec_encode(buf, sizeof(buf), -5, "k1", 2, "value", 5);
	assert_int_equal(n, SNK_JREC_HDR + SNK_JREC_FIXED + 7);
	assert_int_equal(snk_jrec_parse(buf, n, &r), (long)n);
	assert_int_equal(r.ts_ms, -5);
	assert_memory_equal(r.key, "k1", 2);
	assert_int_equal(r.value_len, 5);
	assert_memory_equal(r.value, "value", 5);
	/* every cut is torn, never a record */
	for (i = 0; i < n; i++)
		assert_int_equal(snk_jrec_parse(buf, i, &r), 0);
	/* any flipped payload bit breaks the CRC */
	for (i = SNK_JREC_HDR; i < n; i++) {
		buf[i] ^= 0x10;
		assert_int_equal(snk_jrec_parse(buf, n, &r), -1);
		buf[i] ^= 0x10;
	}
	/* lengths no record can have */
	buf[0] = 3;
	assert_int_equal(snk_jrec_parse(buf, n, &r), -1);
	buf[0] = 0;
	buf[3] = 0x7f;
	assert_int_equal(snk_jrec_parse(buf, n, &r), -1);
	/* too small a buffer, too long a key */
	assert_int_equal(snk_jrec_encode(buf, 20, 0, "k", 1, "vvvvvvvvvv", 10), 0);
	assert_int_equal(snk_jrec_encode(buf, sizeof(buf), 0, buf, SNK_JREC_KEY_MAX + 1, "", 0),
			 0);
}

static void
test_append_replay_commit(void **state)
{
	struct tdir *t = *state;
	struct snk_journal *j = jopen(t, CAP_BIG);
	struct snk_jrec r;

	append_n(j, 0, 100, 200);
	assert_int_equal(snk_journal_pending(j), 100);
	assert_int_equal(snk_journal_stats(j)->appended, 100);
	expect_n(j, 0, 60);
	assert_int_equal(snk_journal_pending(j), 40);
	assert_int_equal(snk_journal_commit(j), 0);
	/* appends while replaying land after what is pending */
	append_n(j, 100, 10, 200);
	expect_n(j, 60, 50);
	assert_int_equal(snk_journal_next(j, &r), 0);
	assert_int_equal(snk_journal_pending(j), 0);
	assert_int_equal(snk_journal_commit(j), 0);
	assert_int_equal(count_segments(t->path, NULL, 0), 0);
	assert_int_equal(snk_journal_bytes(j), 0);
	/* and it keeps working after everything was dropped */
	append_n(j, 200, 3, 50);
	expect_n(j, 200, 3);
	snk_journal_close(j);
}

static void
test_reopen_resumes(void **state)
{
	struct tdir *t = *state;
	struct snk_journal *j = jopen(t, CAP_BIG);
	struct snk_jrec r;

	append_n(j, 0, 50, 100);
	expect_n(j, 0, 20);
	assert_int_equal(snk_journal_commit(j), 0);
	/* handed out but never committed: replayed again after a restart */
	expect_n(j, 20, 5);
	snk_journal_close(j);

	j = jopen(t, CAP_BIG);
	assert_int_equal(snk_journal_stats(j)->recovered, 30);
	assert_int_equal(snk_journal_pending(j), 30);
	append_n(j, 50, 5, 100);	/* a new run writes a new segment */
	assert_int_equal(count_segments(t->path, NULL, 0), 2);
	expect_n(j, 20, 35);
	assert_int_equal(snk_journal_next(j, &r), 0);
	assert_int_equal(snk_journal_commit(j), 0);
	snk_journal_close(j);

	j = jopen(t, CAP_BIG);
	assert_int_equal(snk_journal_pending(j), 0);
	assert_int_equal(count_segments(t->path, NULL, 0), 0);
	snk_journal_close(j);
}

static void
test_torn_tail(void **state)
{
	struct tdir *t = *state;
	struct snk_journal *j = jopen(t, CAP_BIG);
	char last[256], path[512];
	struct snk_jrec r;
	struct stat sb;
	off_t good;
	FILE *f;

	append_n(j, 0, 3, 100);
	snk_journal_close(j);
	assert_int_equal(count_segments(t->path, last, sizeof(last)), 1);
	snprintf(path, sizeof(path), "%s/%s", t->path, last);
	assert_int_equal(stat(path, &sb), 0);
	good = sb.st_size;
	/* a crash in the middle of the fourth record's write */
	f = fopen(path, "ab");
	assert_non_null(f);
	fwrite("\x80\x00\x00\x00\x11\x22\x33\x44" "partial", 1, 15, f);
	fclose(f);

	j = jopen(t, CAP_BIG);
	assert_int_equal(snk_journal_stats(j)->torn, 1);
	assert_int_equal(snk_journal_stats(j)->corrupt, 0);
	assert_int_equal(snk_journal_pending(j), 3);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, good);
	append_n(j, 3, 2, 100);
	expect_n(j, 0, 5);
	assert_int_equal(snk_journal_next(j, &r), 0);
	snk_journal_close(j);
}

static void
test_corrupt_crc(void **state)
{
	struct tdir *t = *state;
	struct snk_journal *j = jopen(t, CAP_BIG);
	char last[256], path[512];
	struct snk_jrec r;
	uint8_t b;
	FILE *f;
	long rec = SNK_JREC_HDR + SNK_JREC_FIXED + 9 + 100;	/* "dev-00000" + 100 */

	append_n(j, 0, 4, 100);
	snk_journal_close(j);
	assert_int_equal(count_segments(t->path, last, sizeof(last)), 1);
	snprintf(path, sizeof(path), "%s/%s", t->path, last);
	/* flip one value byte of the second record */
	f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, rec + rec - 5, SEEK_SET);
	assert_int_equal(fread(&b, 1, 1, f), 1);
	b ^= 0xff;
	fseek(f, rec + rec - 5, SEEK_SET);
	fwrite(&b, 1, 1, f);
	fclose(f);

	j = jopen(t, CAP_BIG);
	assert_int_equal(snk_journal_stats(j)->corrupt, 1);
	assert_int_equal(snk_journal_pending(j), 1);
	expect_n(j, 0, 1);
	assert_int_equal(snk_journal_next(j, &r), 0);
	snk_journal_close(j);
}

static void
test_cap_and_segments(void **state)
{
	struct tdir *t = *state;
	/* 64 KiB segments (the floor), 256 KiB cap */
	struct snk_journal *j = jopen(t, 256 << 10);
	char val[2000] = "x";
	unsigned int n = 0;
	struct snk_jrec r;
	int rc;

	while ((rc = snk_journal_append(j, n, "k", 1, val, sizeof(val))) == 0)
		n++;
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(snk_journal_stats(j)->dropped_cap, 1);
	assert_true(snk_journal_bytes(j) <= (256 << 10));
	assert_true(n >= 120);
	assert_true(count_segments(t->path, NULL, 0) >= 3);
	/* what was refused is not in it; reading frees room */
	while (snk_journal_next(j, &r) == 1)
		n--;
	assert_int_equal(n, 0);
	assert_int_equal(snk_journal_commit(j), 0);
	assert_int_equal(snk_journal_bytes(j), 0);
	assert_int_equal(snk_journal_append(j, 1, "k", 1, val, sizeof(val)), 0);
	snk_journal_close(j);
}

static void
test_one_owner(void **state)
{
	struct tdir *t = *state;
	struct snk_journal *j = jopen(t, CAP_BIG);
	char err[256];

	assert_null(snk_journal_open(t->path, CAP_BIG, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	snk_journal_close(j);
	j = jopen(t, CAP_BIG);
	snk_journal_close(j);
}

static void
test_bad_open(void **state)
{
	char err[256];

	(void)state;
	assert_null(snk_journal_open("", 1 << 20, err, sizeof(err)));
	assert_non_null(strstr(err, "spill_dir"));
	assert_null(snk_journal_open("/proc/no/such/dir", 1 << 20, err, sizeof(err)));
	assert_non_null(strstr(err, "spill_dir"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_codec),
		cmocka_unit_test_setup_teardown(test_append_replay_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_and_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_owner, setup, teardown),
		cmocka_unit_test(test_bad_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
