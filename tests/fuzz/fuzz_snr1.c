/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of the SNR1 binary decoder (dataplane/dec_snr1.c).
 * Checks that every record is counted once, emitted or rejected, that a
 * datagram ends in at most one truncated record, and that emitted records
 * hold what the checks promise.
 */
#include <stdint.h>

#include "dp_decode.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* smallest whole record: header, 1 id byte, 1 value */
#define FZ_REC_MIN (16 + 1 + 8)

static struct dp_decode_cfg fz_cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_state st = {
		.target = "fuzz_snr1", .cfg = &fz_cfg, .checks = FZ_CHECK_TIME,
	};
	static struct dp_decode_out out;
	const struct dp_pkt_meta meta = { .arrival_ns = 1700000000LL * 1000000000LL };

	if (fz_cfg.n_metrics == 0)
		fz_decode_cfg_make(&fz_cfg, CFG_ENC_SNR1, -50);
	fz_decode(dp_decode_snr1, &st, &meta, data, size, &out);
	if (out.rejected[WR_REASON_TRUNCATED] > 1)
		fz_fail(st.target, "more than one truncated record");
	if (out.records > size / FZ_REC_MIN + 1)
		fz_fail(st.target, "more records than the datagram can frame");
	return 0;
}
