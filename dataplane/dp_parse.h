/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * L2-L4 frame classification (SPEC §3): Ethernet II with up to two VLAN
 * tags, IPv4 (options) / IPv6 (extension headers), UDP to a sensor port.
 * Pure function over the frame bytes; runs on the RX lcore.
 */
#ifndef DP_PARSE_H
#define DP_PARSE_H

#include <stdint.h>

enum dp_pkt_class {
	DP_PKT_DATAGRAM = 0,	/* UDP to a sensor port: decode payload */
	DP_PKT_FRAGMENT,	/* UDP fragment: one datagram, one record rejected "fragment" */
	DP_PKT_IGNORED,		/* not for us (ARP, TCP, other UDP port, non-UDP fragment...) */
	DP_PKT_MALFORMED,	/* cut or inconsistent header, on any port */
};

/* Set of UDP destination ports weir listens on. */
struct dp_port_set {
	uint64_t bits[65536 / 64];
};

static inline void
dp_port_set_add(struct dp_port_set *s, uint16_t port)
{
	s->bits[port >> 6] |= 1ULL << (port & 63);
}

static inline int
dp_port_set_has(const struct dp_port_set *s, uint16_t port)
{
	return (s->bits[port >> 6] >> (port & 63)) & 1;
}

struct dp_pkt_info {
	const uint8_t *payload;	/* UDP payload (DATAGRAM only), ends at the UDP length */
	uint32_t payload_len;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t ip_version;	/* 4 or 6 */
	uint8_t src_addr[16];	/* IPv4 in the first 4 bytes */
};

/**
 * Classify one frame of len bytes.
 * @return enum dp_pkt_class; info filled for DATAGRAM (and ports/addr
 * where known for FRAGMENT).
 */
int dp_pkt_parse(const uint8_t *frame, uint32_t len, const struct dp_port_set *ports,
		 struct dp_pkt_info *info);

#endif /* DP_PARSE_H */
