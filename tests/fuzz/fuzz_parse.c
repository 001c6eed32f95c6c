/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for dp_pkt_parse(): arbitrary bytes as one frame, port
 * set {9700}. Beyond "no crash, no out-of-bounds read" (ASan), checks the
 * invariants the RX loop relies on: a datagram's payload lies inside the
 * frame and was aimed at a port of the set. The same bytes go through
 * dp_rss_hash() (software RSS for replay over several queues), which reads
 * the same headers on its own.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dp.h"
#include "dp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_port_set ports;
	struct dp_pkt_info info;
	uint32_t len;
	int rc;

	if (size > UINT32_MAX)
		return 0;
	len = (uint32_t)size;
	dp_port_set_add(&ports, 9700);
	if (dp_rss_queue(dp_rss_hash(data, len), 3) >= 3)
		abort();
	rc = dp_pkt_parse(data, len, &ports, &info);
	switch (rc) {
	case DP_PKT_DATAGRAM:
		if (info.payload == NULL || info.payload < data ||
		    info.payload_len > len || info.payload + info.payload_len > data + len)
			abort();
		if (info.dst_port != 9700 || (info.ip_version != 4 && info.ip_version != 6))
			abort();
		break;
	case DP_PKT_FRAGMENT:
		if (info.ip_version != 4 && info.ip_version != 6)
			abort();
		break;
	case DP_PKT_IGNORED:
	case DP_PKT_MALFORMED:
		break;
	default:
		abort();
	}
	return 0;
}
