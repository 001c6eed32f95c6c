/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP, neighbour discovery and echo replies for weir's own addresses
 * (RFC 826, RFC 4861 §4.3-4.4 and §7.2.4, RFC 792, RFC 4443 §4.2). Every
 * length is checked against the frame before it is read; nothing here
 * writes outside out[0, cap).
 */
#include <string.h>

#include "dp_host.h"

#define ETH_HDR		14
#define VLAN_HLEN	4
#define VLAN_MAX	2
#define ETH_MIN		60	/* without FCS: short replies are padded */
#define ET_IPV4		0x0800
#define ET_ARP		0x0806
#define ET_IPV6		0x86dd
#define ARP_LEN		28
#define IP4_HDR		20
#define IP6_HDR		40
#define PROTO_ICMP	1
#define PROTO_ICMP6	58
#define ICMP_ECHO	8
#define ICMP_ECHOREPLY	0
#define ICMP6_ECHO	128
#define ICMP6_ECHOREPLY	129
#define ND_NS		135
#define ND_NA		136
#define ND_NS_LEN	24	/* type, code, cksum, reserved, target */
#define ND_NA_LEN	32	/* 24 + target link-layer address option (8) */

static inline uint16_t
ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ones' complement sum of n bytes, folded later. */
static uint32_t
csum_add(uint32_t sum, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += ld16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and the message. */
static uint16_t
csum6(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, uint32_t n)
{
	uint32_t sum = 0;

	sum = csum_add(sum, src, 16);
	sum = csum_add(sum, dst, 16);
	sum += n >> 16;
	sum += n & 0xffff;
	sum += PROTO_ICMP6;
	return csum_fold(csum_add(sum, msg, n));
}

/* Copy the L2 header with its tags, destination = the sender. */
static void
l2_reply(const struct dp_host *h, const uint8_t *frame, uint32_t l2, uint8_t *out)
{
	memcpy(out, frame + 6, 6);
	memcpy(out + 6, h->mac, 6);
	memcpy(out + 12, frame + 12, l2 - 12);
}

static uint32_t
pad(uint8_t *out, uint32_t n, uint32_t cap)
{
	if (n < ETH_MIN && cap >= ETH_MIN) {
		memset(out + n, 0, ETH_MIN - n);
		n = ETH_MIN;
	}
	return n;
}

static uint32_t
arp_reply(const struct dp_host *h, const uint8_t *frame, uint32_t len, uint32_t l2,
	  uint8_t *out, uint32_t cap)
{
	const uint8_t *a = frame + l2;
	uint8_t *r = out + l2;

	if (!h->has_ip4 || len - l2 < ARP_LEN || cap < l2 + ARP_LEN)
		return 0;
	/* Ethernet/IPv4 request for our address */
	if (ld16(a) != 1 || ld16(a + 2) != ET_IPV4 || a[4] != 6 || a[5] != 4 ||
	    ld16(a + 6) != 1 || memcmp(a + 24, h->ip4, 4) != 0)
		return 0;
	l2_reply(h, frame, l2, out);
	memcpy(out, a + 8, 6);		/* to the sender hardware address */
	memcpy(r, a, 6);
	st16(r + 6, 2);
	memcpy(r + 8, h->mac, 6);
	memcpy(r + 14, h->ip4, 4);
	memcpy(r + 18, a + 8, 10);	/* target = the sender's MAC and IP */
	return pad(out, l2 + ARP_LEN, cap);
}

static uint32_t
echo4_reply(const struct dp_host *h, const uint8_t *frame, uint32_t len, uint32_t l2,
	    uint8_t *out, uint32_t cap)
{
	const uint8_t *ip = frame + l2;
	uint32_t avail = len - l2, hlen, tot, icmp_len;
	uint8_t *r = out + l2;

	if (!h->has_ip4 || avail < IP4_HDR || (ip[0] >> 4) != 4)
		return 0;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = ld16(ip + 2);
	if (hlen < IP4_HDR || tot < hlen || tot > avail || ip[9] != PROTO_ICMP ||
	    (ld16(ip + 6) & 0x3fff) != 0 || memcmp(ip + 16, h->ip4, 4) != 0)
		return 0;	/* not ours, or a fragment (not reassembled here) */
	icmp_len = tot - hlen;
	if (icmp_len < 8 || ip[hlen] != ICMP_ECHO || ip[hlen + 1] != 0 ||
	    csum_fold(csum_add(0, ip + hlen, icmp_len)) != 0)
		return 0;
	if (cap < l2 + IP4_HDR + icmp_len)
		return 0;
	l2_reply(h, frame, l2, out);
	/* a fresh 20-byte header: options are not echoed */
	r[0] = 0x45;
	r[1] = ip[1];
	st16(r + 2, (uint16_t)(IP4_HDR + icmp_len));
	memcpy(r + 4, ip + 4, 2);	/* identification */
	st16(r + 6, 0);
	r[8] = 64;
	r[9] = PROTO_ICMP;
	st16(r + 10, 0);
	memcpy(r + 12, h->ip4, 4);
	memcpy(r + 16, ip + 12, 4);
	st16(r + 10, csum_fold(csum_add(0, r, IP4_HDR)));
	memcpy(r + IP4_HDR, ip + hlen, icmp_len);
	r[IP4_HDR] = ICMP_ECHOREPLY;
	st16(r + IP4_HDR + 2, 0);
	st16(r + IP4_HDR + 2, csum_fold(csum_add(0, r + IP4_HDR, icmp_len)));
	return pad(out, l2 + IP4_HDR + icmp_len, cap);
}

/* ff02::1:ffXX:XXXX, the solicited-node group of addr */
static int
is_solicited_node(const uint8_t *dst, const uint8_t *addr)
{
	static const uint8_t pfx[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	return memcmp(dst, pfx, sizeof(pfx)) == 0 && memcmp(dst + 13, addr + 13, 3) == 0;
}

static uint32_t
icmp6_reply(const struct dp_host *h, const uint8_t *frame, uint32_t len, uint32_t l2,
	    uint8_t *out, uint32_t cap, enum dp_host_reply_kind *kind)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t unspec[16];
	const uint8_t *ip = frame + l2, *m = ip + IP6_HDR;
	uint32_t plen, n;
	uint8_t *r = out + l2, *rm = r + IP6_HDR;
	int dad;

	if (!h->has_ip6 || len - l2 < IP6_HDR || (ip[0] >> 4) != 6 || ip[6] != PROTO_ICMP6)
		return 0;
	plen = ld16(ip + 4);
	if (plen < 8 || plen > len - l2 - IP6_HDR)
		return 0;
	if (csum6(ip + 8, ip + 24, m, plen) != 0)
		return 0;
	if (m[0] == ICMP6_ECHO && m[1] == 0 && memcmp(ip + 24, h->ip6, 16) == 0) {
		if (cap < l2 + IP6_HDR + plen)
			return 0;
		l2_reply(h, frame, l2, out);
		memcpy(r, ip, 8);
		r[7] = 64;
		memcpy(r + 8, h->ip6, 16);
		memcpy(r + 24, ip + 8, 16);
		memcpy(rm, m, plen);
		rm[0] = ICMP6_ECHOREPLY;
		st16(rm + 2, 0);
		st16(rm + 2, csum6(r + 8, r + 24, rm, plen));
		*kind = DP_HOST_ECHO6;
		return pad(out, l2 + IP6_HDR + plen, cap);
	}
	/* neighbour solicitation for our address: hop limit 255, code 0 */
	if (m[0] != ND_NS || m[1] != 0 || ip[7] != 255 || plen < ND_NS_LEN ||
	    memcmp(m + 8, h->ip6, 16) != 0 ||
	    !(memcmp(ip + 24, h->ip6, 16) == 0 || is_solicited_node(ip + 24, h->ip6)))
		return 0;
	if (cap < l2 + IP6_HDR + ND_NA_LEN)
		return 0;
	dad = memcmp(ip + 8, unspec, 16) == 0;	/* duplicate address detection */
	l2_reply(h, frame, l2, out);
	r[0] = 0x60;
	r[1] = 0;
	r[2] = 0;
	r[3] = 0;
	st16(r + 4, ND_NA_LEN);
	r[6] = PROTO_ICMP6;
	r[7] = 255;
	memcpy(r + 8, h->ip6, 16);
	memcpy(r + 24, dad ? all_nodes : ip + 8, 16);
	if (dad) {	/* to all nodes: 33:33:00:00:00:01 */
		static const uint8_t mc[6] = { 0x33, 0x33, 0, 0, 0, 1 };

		memcpy(out, mc, 6);
	}
	memset(rm, 0, ND_NA_LEN);
	rm[0] = ND_NA;
	rm[4] = dad ? 0x20 : 0x60;	/* (solicited,) override */
	memcpy(rm + 8, h->ip6, 16);
	rm[24] = 2;			/* target link-layer address, 8 bytes */
	rm[25] = 1;
	memcpy(rm + 26, h->mac, 6);
	st16(rm + 2, csum6(r + 8, r + 24, rm, ND_NA_LEN));
	*kind = DP_HOST_NA;
	n = l2 + IP6_HDR + ND_NA_LEN;
	return pad(out, n, cap);
}

uint32_t
dp_host_reply(const struct dp_host *h, const uint8_t *frame, uint32_t len, uint8_t *out,
	      uint32_t cap, enum dp_host_reply_kind *kind)
{
	uint32_t l2 = ETH_HDR, n = 0;
	uint16_t type;
	int tags;

	*kind = DP_HOST_NONE;
	if (len < ETH_HDR || cap < ETH_HDR + VLAN_MAX * VLAN_HLEN)
		return 0;
	type = ld16(frame + 12);
	for (tags = 0; tags < VLAN_MAX && (type == 0x8100 || type == 0x88a8); tags++) {
		if (len - l2 < VLAN_HLEN)
			return 0;
		type = ld16(frame + l2 + 2);
		l2 += VLAN_HLEN;
	}
	if (type == ET_ARP) {
		n = arp_reply(h, frame, len, l2, out, cap);
		if (n != 0)
			*kind = DP_HOST_ARP;
	} else if (type == ET_IPV4) {
		n = echo4_reply(h, frame, len, l2, out, cap);
		if (n != 0)
			*kind = DP_HOST_ECHO4;
	} else if (type == ET_IPV6) {
		n = icmp6_reply(h, frame, len, l2, out, cap, kind);
	}
	return n;
}
