/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of the spill journal's record reader
 * (sink/snk_journal.c): the input is a segment file. The in-memory parser
 * must frame it without reading past the end, every record it accepts must
 * encode back to the same bytes, and opening a journal directory holding
 * the input as its only segment (recovery: torn and corrupt tails cut)
 * must hand out exactly the records the parser found before the first
 * bad one.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snk_journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t fz_buf[SNK_JREC_HDR + SNK_JREC_MAX];

static void
fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_journal: %s\n", what);
	abort();
}

static void
fz_clean(const char *dir)
{
	char p[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
}

static char dir[64];

static void
fz_rmdir(void)
{
	if (dir[0] != '\0')
		rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snk_journal *j;
	struct snk_jrec r;
	char path[128], err[256];
	size_t off = 0, good = 0;
	long n;
	FILE *f;

	while (off < size) {
		n = snk_jrec_parse(data + off, size - off, &r);
		if (n <= 0)
			break;
		if ((size_t)n > size - off)
			fz_fail("record longer than the input");
		if (r.key + r.key_len > data + size || r.value + r.value_len > data + size ||
		    r.key_len > SNK_JREC_KEY_MAX)
			fz_fail("record points past the input");
		if (snk_jrec_encode(fz_buf, sizeof(fz_buf), r.ts_ms, r.key, r.key_len, r.value,
				    r.value_len) != (size_t)n ||
		    memcmp(fz_buf, data + off, (size_t)n) != 0)
			fz_fail("record does not encode back to the same bytes");
		off += (size_t)n;
		good++;
	}

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/weir-fuzz-journal-XXXXXX");
		if (mkdtemp(dir) == NULL)
			fz_fail("mkdtemp");
		atexit(fz_rmdir);
	}
	fz_clean(dir);
	snprintf(path, sizeof(path), "%s/spill-0000000000000000.wj", dir);
	f = fopen(path, "wb");
	if (f == NULL)
		fz_fail("cannot write the segment");
	if (size > 0 && fwrite(data, 1, size, f) != size)
		fz_fail("cannot write the segment");
	fclose(f);
	j = snk_journal_open(dir, 1ULL << 30, err, sizeof(err));
	if (j == NULL)
		fz_fail(err);
	if (snk_journal_pending(j) != good)
		fz_fail("recovery counts other records than the parser");
	if (good < size && off < size &&
	    snk_journal_stats(j)->torn + snk_journal_stats(j)->corrupt != 1)
		fz_fail("a bad tail is neither torn nor corrupt");
	while (snk_journal_next(j, &r) == 1)
		good--;
	if (good != 0)
		fz_fail("replay hands out other records than recovery counted");
	snk_journal_close(j);
	fz_clean(dir);
	return 0;
}
