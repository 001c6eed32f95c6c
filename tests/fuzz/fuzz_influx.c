/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target of the InfluxDB line protocol decoder
 * (dataplane/dec_influx.c). Checks that every record is counted once,
 * emitted or rejected, and that emitted records hold what the checks
 * promise. Decodes each input at ns and at s precision so the timestamp
 * overflow paths are reached too, and aborts when the fast and plain paths
 * disagree (fuzz_paths.h).
 */
#include <stdint.h>

#include "dp_decode.h"
#include "fuzz_common.h"
#include "fuzz_paths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp_decode_cfg fz_cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cfg_ts_unit units[] = { CFG_TS_AUTO, CFG_TS_S };
	static struct fz_state st = { .target = "fuzz_influx", .cfg = &fz_cfg };
	static struct dp_decode_out out;
	const struct dp_pkt_meta meta = { .arrival_ns = 1700000000LL * 1000000000LL };
	const char *why;
	unsigned int u;

	if (fz_cfg.n_metrics == 0)
		fz_decode_cfg_make(&fz_cfg, CFG_ENC_INFLUX, -50);
	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		fz_cfg.influx_precision = units[u];
		fz_decode(dp_decode_influx, &st, &meta, data, size, &out);
		why = fzp_compare(dp_decode_influx, &fz_cfg, &meta, data, size);
		if (why != NULL) {
			fprintf(stderr, "fuzz_influx: fast and plain paths differ: %s\n", why);
			abort();
		}
	}
	return 0;
}
