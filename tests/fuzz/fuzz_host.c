/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for dp_host_reply(): arbitrary bytes as one frame to a
 * host with both addresses. Beyond ASan's checks: a reply fits the buffer,
 * is at least an Ethernet header long and goes back to the sender's MAC
 * (or the all-nodes group), and says what it is.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dp_host h = {
		.mac = { 0x02, 0, 0, 0, 0, 0x01 },
		.ip4 = { 10, 99, 0, 2 },
		.ip6 = { 0xfd, [15] = 2 },
		.has_ip4 = 1,
		.has_ip6 = 1,
	};
	static const uint8_t all_nodes[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	uint8_t out[2048];
	enum dp_host_reply_kind kind;
	uint32_t n;

	if (size > UINT32_MAX)
		return 0;
	n = dp_host_reply(&h, data, (uint32_t)size, out, sizeof(out), &kind);
	if (n == 0) {
		if (kind != DP_HOST_NONE)
			abort();
		return 0;
	}
	if (n > sizeof(out) || n < 14 || kind == DP_HOST_NONE || kind > DP_HOST_ECHO6)
		abort();
	if (memcmp(out + 6, h.mac, 6) != 0)
		abort();
	if (kind != DP_HOST_ARP && memcmp(out, data + 6, 6) != 0 &&
	    memcmp(out, all_nodes, 6) != 0)
		abort();
	return 0;
}
