/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the JSON decoder (dataplane/dec_json.c). Any bytes
 * go to dp_decode_json; aborts when an invariant breaks: every record is
 * counted once (emitted or rejected), one record per non-blank line (or
 * one for a whole array payload that is broken), and every emitted
 * record is sane (id 1..64 bytes of UTF-8, time >= 0, at least one finite
 * in-range configured metric); the fast and plain paths give the same
 * output (fuzz_paths.h); and where the input is a decimal token,
 * dp_decimal_parse gives strtod's value bit for bit.
 */
#include <stddef.h>
#include <stdint.h>

#include "dp_decode.h"
#include "fuzz_common.h"
#include "fuzz_paths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_decode_cfg cfg;

/* Records a newline-delimited payload must count: its non-blank lines. */
static uint64_t
lines_expected(const uint8_t *p, size_t n)
{
	uint64_t lines = 0;
	int blank = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			lines += !blank;
			blank = 1;
		} else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
			blank = 0;
		}
	}
	lines += !blank;
	return lines != 0 ? lines : 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static struct fz_state st = {
		.target = "fuzz_json", .cfg = &cfg, .checks = FZ_CHECK_TIME | FZ_CHECK_UTF8,
	};
	struct dp_pkt_meta meta = { .arrival_ns = 1755434100LL * 1000000000LL, .shift_ns = 0 };
	static struct dp_decode_out out;
	size_t k = 0;
	const char *why;
	double a, b;

	if (!ready) {
		fz_decode_cfg_make(&cfg, CFG_ENC_AUTO, -60);
		ready = 1;
	}
	if (size == 0)
		return 0;	/* dp_decode_payload's job, not the decoder's */
	if (dp_decimal_parse(data, size, &a) == 0) {
		if (dp_decimal_parse_plain(data, size, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
			fz_fail(st.target, "dp_decimal_parse != strtod");
	} else if (dp_decimal_parse_plain(data, size, &b) == 0) {
		fz_fail(st.target, "dp_decimal_parse grammar");
	}
	why = fzp_compare(dp_decode_json, &cfg, &meta, data, size);
	if (why != NULL) {
		fprintf(stderr, "fuzz_json: fast and plain paths differ: %s\n", why);
		abort();
	}
	fz_decode(dp_decode_json, &st, &meta, data, size, &out);
	if (out.records == 0)
		fz_fail(st.target, "no record counted");
	if (out.rejected[WR_REASON_BAD_LINE] + out.rejected[WR_REASON_BAD_BINARY] +
	    out.rejected[WR_REASON_TRUNCATED] + out.rejected[WR_REASON_FRAGMENT] != 0)
		fz_fail(st.target, "reason JSON cannot produce");
	while (k < size &&
	       (data[k] == ' ' || data[k] == '\t' || data[k] == '\r' || data[k] == '\n'))
		k++;
	/* arrays count elements (or 1 when broken), not lines */
	if ((k == size || data[k] != '[') && out.records != lines_expected(data, size))
		fz_fail(st.target, "records != non-blank lines");
	return 0;
}
