/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * L2-L4 frame classifier (SPEC §3 Input): Ethernet II, up to two VLAN tags,
 * IPv4 with options, IPv6 with extension headers, UDP to a sensor port.
 * Runs on the RX lcore once per packet, so it is one pass of bounds-checked
 * byte loads: no allocation, no calls through pointers, no aligned loads
 * (VLAN tags and IPv4 options leave the L4 header at any offset).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>

#include "dp_parse.h"

#define VLAN_MAX_TAGS	2
#define IPV4_HDR_LEN	20
#define IPV6_HDR_LEN	40
#define IPV6_FRAG_LEN	8
#define UDP_HDR_LEN	8

#define IPV4_MF		0x2000
#define IPV4_OFFSET_MASK	0x1fff
#define IPV6_OFFSET_MASK	0xfff8

static inline uint16_t
ld_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* 0x9100 is the pre-802.1ad S-tag some switches still emit. */
static inline int
is_vlan_tpid(uint16_t t)
{
	return t == RTE_ETHER_TYPE_VLAN || t == RTE_ETHER_TYPE_QINQ || t == RTE_ETHER_TYPE_QINQ1;
}

/*
 * A UDP fragment that starts with the UDP header (first fragment): only the
 * ports are trusted, the UDP length describes the whole datagram. A first
 * fragment aimed at a port we do not serve is someone else's traffic.
 */
static inline int
classify_fragment(const uint8_t *l4, uint32_t l4_len, int first,
		  const struct dp_port_set *ports, struct dp_pkt_info *info)
{
	if (first && l4_len >= UDP_HDR_LEN) {
		info->src_port = ld_be16(l4);
		info->dst_port = ld_be16(l4 + 2);
		if (!dp_port_set_has(ports, info->dst_port))
			return DP_PKT_IGNORED;
	}
	return DP_PKT_FRAGMENT;
}

static inline int
classify_udp(const uint8_t *l4, uint32_t l4_len, const struct dp_port_set *ports,
	     struct dp_pkt_info *info)
{
	uint16_t udp_len;

	/* Length checks come before the port check: malformed on any port. */
	if (l4_len < UDP_HDR_LEN)
		return DP_PKT_MALFORMED;
	udp_len = ld_be16(l4 + 4);
	if (udp_len < UDP_HDR_LEN || udp_len > l4_len)
		return DP_PKT_MALFORMED;
	info->src_port = ld_be16(l4);
	info->dst_port = ld_be16(l4 + 2);
	if (!dp_port_set_has(ports, info->dst_port))
		return DP_PKT_IGNORED;
	info->payload = l4 + UDP_HDR_LEN;
	info->payload_len = (uint32_t)udp_len - UDP_HDR_LEN;
	return DP_PKT_DATAGRAM;
}

static inline int
parse_ipv4(const uint8_t *ip, uint32_t avail, const struct dp_port_set *ports,
	   struct dp_pkt_info *info)
{
	uint32_t hlen, tot_len;
	uint16_t frag;

	if (avail < IPV4_HDR_LEN)
		return DP_PKT_MALFORMED;
	if ((ip[0] >> 4) != 4)
		return DP_PKT_MALFORMED;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (hlen < IPV4_HDR_LEN || hlen > avail)
		return DP_PKT_MALFORMED;
	tot_len = ld_be16(ip + 2);
	if (tot_len < hlen || tot_len > avail)
		return DP_PKT_MALFORMED;

	info->ip_version = 4;
	memcpy(info->src_addr, ip + 12, 4);
	memset(info->src_addr + 4, 0, sizeof(info->src_addr) - 4);

	frag = ld_be16(ip + 6);
	if (ip[9] != IPPROTO_UDP)
		return DP_PKT_IGNORED;
	/* tot_len, not avail: Ethernet padding after the datagram is not payload. */
	if (frag & (IPV4_MF | IPV4_OFFSET_MASK))
		return classify_fragment(ip + hlen, tot_len - hlen,
					 (frag & IPV4_OFFSET_MASK) == 0, ports, info);
	return classify_udp(ip + hlen, tot_len - hlen, ports, info);
}

static inline int
parse_ipv6(const uint8_t *ip, uint32_t avail, const struct dp_port_set *ports,
	   struct dp_pkt_info *info)
{
	const uint8_t *p;
	uint32_t left, plen, ext_len;
	uint8_t nh;
	int frag = 0;

	if (avail < IPV6_HDR_LEN)
		return DP_PKT_MALFORMED;
	if ((ip[0] >> 4) != 6)
		return DP_PKT_MALFORMED;
	plen = ld_be16(ip + 4);
	if (plen > avail - IPV6_HDR_LEN)
		return DP_PKT_MALFORMED;

	info->ip_version = 6;
	memcpy(info->src_addr, ip + 8, 16);

	/*
	 * A jumbogram has payload length 0 and its real length in a hop-by-hop
	 * option; with plen 0 every header after the fixed one is "cut", which
	 * makes jumbograms malformed without a special case.
	 * Each extension header is at least 8 bytes long, so the walk ends
	 * within left / 8 steps whatever the chain says.
	 */
	p = ip + IPV6_HDR_LEN;
	left = plen;
	nh = ip[6];
	for (;;) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			if (left < 8)
				return DP_PKT_MALFORMED;
			ext_len = ((uint32_t)p[1] + 1) * 8;
			if (ext_len > left)
				return DP_PKT_MALFORMED;
		} else if (nh == IPPROTO_FRAGMENT) {
			if (left < IPV6_FRAG_LEN)
				return DP_PKT_MALFORMED;
			frag = 1;
			/* Offset != 0: the upper-layer header is in another fragment. */
			if ((ld_be16(p + 2) & IPV6_OFFSET_MASK) != 0)
				return p[0] == IPPROTO_UDP ? DP_PKT_FRAGMENT : DP_PKT_IGNORED;
			ext_len = IPV6_FRAG_LEN;
		} else {
			break;
		}
		nh = p[0];
		p += ext_len;
		left -= ext_len;
	}

	if (nh != IPPROTO_UDP)
		return DP_PKT_IGNORED;
	if (frag)
		return classify_fragment(p, left, 1, ports, info);
	return classify_udp(p, left, ports, info);
}

int
dp_pkt_parse(const uint8_t *frame, uint32_t len, const struct dp_port_set *ports,
	     struct dp_pkt_info *info)
{
	uint32_t off = RTE_ETHER_HDR_LEN;
	uint16_t type;
	int tags;

	info->payload = NULL;
	info->payload_len = 0;
	info->src_port = 0;
	info->dst_port = 0;
	info->ip_version = 0;

	if (len < RTE_ETHER_HDR_LEN)
		return DP_PKT_MALFORMED;
	type = ld_be16(frame + 12);
	for (tags = 0; tags < VLAN_MAX_TAGS && is_vlan_tpid(type); tags++) {
		if (len - off < RTE_VLAN_HLEN)
			return DP_PKT_MALFORMED;
		type = ld_be16(frame + off + 2);
		off += RTE_VLAN_HLEN;
	}

	if (type == RTE_ETHER_TYPE_IPV4)
		return parse_ipv4(frame + off, len - off, ports, info);
	if (type == RTE_ETHER_TYPE_IPV6)
		return parse_ipv6(frame + off, len - off, ports, info);
	/* A third tag, 802.3 length frames, ARP, LLDP, ...: not ours. */
	return DP_PKT_IGNORED;
}
