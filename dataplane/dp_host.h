/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The host-stack responder: with [input] address / address6 configured,
 * weir answers ARP requests, IPv6 neighbour solicitations and ICMP/ICMPv6
 * echo requests for its own addresses on the DPDK port, so senders reach a
 * port no kernel owns without static neighbour entries. Pure function over
 * frame bytes (the RX lcore sends what it returns); live mode only.
 */
#ifndef DP_HOST_H
#define DP_HOST_H

#include <stdint.h>

struct dp_host {
	uint8_t mac[6];		/* the port's MAC */
	uint8_t ip4[4];
	uint8_t ip6[16];
	int has_ip4;
	int has_ip6;
};

enum dp_host_reply_kind {
	DP_HOST_NONE = 0,	/* not for the responder */
	DP_HOST_ARP,		/* ARP reply */
	DP_HOST_ECHO4,		/* ICMP echo reply */
	DP_HOST_NA,		/* neighbour advertisement */
	DP_HOST_ECHO6,		/* ICMPv6 echo reply */
};

/**
 * Build the reply to frame (len bytes) into out (cap bytes): VLAN tags are
 * kept, addresses swapped, checksums computed.
 * @return reply length, 0 when there is nothing to answer (or it does not
 * fit cap); *kind says what was built.
 */
uint32_t dp_host_reply(const struct dp_host *h, const uint8_t *frame, uint32_t len,
		       uint8_t *out, uint32_t cap, enum dp_host_reply_kind *kind);

#endif /* DP_HOST_H */
