/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNR1 binary decoder (SPEC §3 item 3). Runs on the RX lcore. Records are
 * little-endian and unaligned, so every load goes through memcpy (one mov
 * on x86 and arm64). No allocation.
 *
 * A bad header ends the datagram because the framing can no longer be
 * trusted; a bad value entry only costs its own record, whose length the
 * header still gives.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <rte_byteorder.h>

#include "dp_decode.h"

#define SNR1_MAGIC	"SNR1"
#define SNR1_HDR_LEN	16	/* magic 4, id_len 1, n_values 1, flags 2, ts_ms 8 */
#define SNR1_VAL_LEN	8	/* metric_id 2, reserved 2, value 4 */
#define SNR1_IDS_MAX	64
#define SNR1_VALS_MAX	64

static inline uint16_t
snr1_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_16(v);
}

static inline uint64_t
snr1_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_64(v);
}

static inline float
snr1_f32(const uint8_t *p)
{
	uint32_t u;
	float v;

	memcpy(&u, p, sizeof(u));
	u = rte_le_to_cpu_32(u);
	memcpy(&v, &u, sizeof(v));
	return v;
}

/*
 * Header checks on the first 'left' bytes of a record (any length): the
 * magic on what is there, then each field that is there.
 * @return true when nothing present is wrong.
 */
static bool
snr1_header_ok(const uint8_t *h, size_t left)
{
	size_t m = left < 4 ? left : 4;

	if (memcmp(h, SNR1_MAGIC, m) != 0)
		return false;
	if (left > 4 && (h[4] == 0 || h[4] > SNR1_IDS_MAX))
		return false;
	if (left > 5 && (h[5] == 0 || h[5] > SNR1_VALS_MAX))
		return false;
	if (left >= 8 && snr1_u16(h + 6) != 0)
		return false;
	return true;
}

void
dp_decode_snr1(const struct dp_decode_cfg *cfg, const struct dp_pkt_meta *meta,
	       const uint8_t *p, size_t n, struct dp_decode_out *out)
{
	struct dp_fields f;
	size_t off = 0;

	while (off < n) {
		const uint8_t *r = p + off;
		size_t left = n - off, rec_len;
		unsigned int id_len, n_values, k;
		const uint8_t *v;
		uint64_t ts_ms;
		bool bad = false;

		if (!snr1_header_ok(r, left)) {
			dp_record_reject(out, WR_REASON_BAD_BINARY);
			return;
		}
		if (left < SNR1_HDR_LEN) {
			dp_record_reject(out, WR_REASON_TRUNCATED);
			return;
		}
		id_len = r[4];
		n_values = r[5];
		rec_len = SNR1_HDR_LEN + id_len + (size_t)n_values * SNR1_VAL_LEN;
		if (left < rec_len) {
			dp_record_reject(out, WR_REASON_TRUNCATED);
			return;
		}
		off += rec_len;

		dp_fields_init(&f, out);
		ts_ms = snr1_u64(r + 8);
		if (ts_ms > (uint64_t)INT64_MAX ||
		    dp_time_from_int((int64_t)ts_ms, CFG_TS_MS, &f.ts_ns) != 0)
			f.ts_state = DP_BAD;
		else
			f.ts_state = DP_PRESENT;
		f.id_state = DP_PRESENT;
		f.id = r + SNR1_HDR_LEN;
		f.id_len = id_len;

		v = r + SNR1_HDR_LEN + id_len;
		for (k = 0; k < n_values; k++, v += SNR1_VAL_LEN) {
			unsigned int mid = snr1_u16(v);
			double x;

			if (snr1_u16(v + 2) != 0 || mid >= cfg->n_metrics ||
			    (f.present & (1ULL << mid)) != 0) {
				bad = true;
				break;
			}
			x = (double)snr1_f32(v + 4);
			if (!isfinite(x))
				f.bad_value = 1;
			f.values[mid] = x;
			f.present |= 1ULL << mid;
		}
		if (bad)
			dp_record_reject(out, WR_REASON_BAD_BINARY);
		else
			dp_record_finish(cfg, meta, &f, out);
	}
}
