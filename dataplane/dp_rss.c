/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive side scaling in software, for replay with several RX queues:
 * the Toeplitz hash a NIC computes with weir's RSS key (the one dp_port.c
 * programs into a live port) over the UDP 4-tuple, or over the address
 * pair for IP fragments and other IP traffic, then the default redirection
 * table (128 entries, queue i % n). So a replayed capture lands on the
 * queues the way it would from the wire. Main thread, before the replay.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_thash.h>

#include "dp.h"

#define ETH_HLEN	14
#define ET_VLAN		0x8100
#define ET_QINQ		0x88a8
#define ET_IPV4		0x0800
#define ET_IPV6		0x86dd
#define IPPROTO_UDP_	17
#define RETA_SIZE	128

/* The 40-byte key of the Microsoft RSS specification, which most NICs ship. */
const uint8_t dp_rss_key[DP_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static inline uint32_t
be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t
be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t
dp_rss_hash(const uint8_t *f, uint32_t len)
{
	uint32_t tuple[RTE_THASH_V6_L4_LEN], n = 0, off = ETH_HLEN, l4, i;
	uint16_t et;
	int vlans = 0;

	if (len < ETH_HLEN)
		return 0;
	et = be16_at(f + 12);
	while ((et == ET_VLAN || et == ET_QINQ) && vlans++ < 2) {
		if (len < off + 4)
			return 0;
		et = be16_at(f + off + 2);
		off += 4;
	}
	if (et == ET_IPV4) {
		const uint8_t *ip = f + off;
		uint32_t ihl;
		int frag;

		if (len < off + 20 || ip[0] >> 4 != 4)
			return 0;
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		frag = (be16_at(ip + 6) & 0x3fff) != 0;	/* MF or an offset */
		tuple[n++] = be32_at(ip + 12);
		tuple[n++] = be32_at(ip + 16);
		l4 = off + ihl;
		if (!frag && ip[9] == IPPROTO_UDP_ && ihl >= 20 && len >= l4 + 4)
			tuple[n++] = (uint32_t)be16_at(f + l4) << 16 | be16_at(f + l4 + 2);
	} else if (et == ET_IPV6) {
		const uint8_t *ip = f + off;

		if (len < off + 40 || ip[0] >> 4 != 6)
			return 0;
		for (i = 0; i < 8; i++)
			tuple[n++] = be32_at(ip + 8 + 4 * i);
		/* UDP right after the fixed header; extension headers (a fragment
		 * header among them) hash on the addresses, as most NICs do */
		l4 = off + 40;
		if (ip[6] == IPPROTO_UDP_ && len >= l4 + 4)
			tuple[n++] = (uint32_t)be16_at(f + l4) << 16 | be16_at(f + l4 + 2);
	} else {
		return 0;
	}
	return rte_softrss(tuple, n, dp_rss_key);
}

unsigned int
dp_rss_queue(uint32_t hash, unsigned int n_queues)
{
	/* the default redirection table: entry i -> queue i % n */
	return n_queues <= 1 ? 0 : (hash % RETA_SIZE) % n_queues;
}

int
dp_capture_queues(const struct dp_capture *cap, unsigned int n_queues, uint8_t **out)
{
	uint8_t *q;
	uint64_t i;

	*out = NULL;
	if (n_queues > UINT8_MAX + 1u)
		return -EINVAL;
	q = malloc(cap->n != 0 ? cap->n : 1);
	if (q == NULL)
		return -ENOMEM;
	for (i = 0; i < cap->n; i++)
		q[i] = (uint8_t)dp_rss_queue(dp_rss_hash(cap->data + cap->off[i], cap->len[i]),
					     n_queues);
	*out = q;
	return 0;
}
