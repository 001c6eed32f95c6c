/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/dp_rss.c: the Toeplitz hash on the vectors of Microsoft's
 * "Verifying the RSS Hash Calculation" (IPv4 and IPv6, addresses only and
 * with ports), built into real frames (plain, VLAN, QinQ, fragments,
 * IPv6), the redirection table, and frames too short to hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp.h"

/* Ethernet (+ tags) + IPv4 + UDP src:sport -> dst:dport; returns the length. */
static uint32_t
frame4(uint8_t *f, const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
       int vlans, uint16_t frag)
{
	uint32_t o = 12, i;

	memset(f, 0, 128);
	for (i = 0; i < (uint32_t)vlans; i++) {
		f[o] = i == 0 && vlans == 2 ? 0x88 : 0x81;
		f[o + 1] = i == 0 && vlans == 2 ? 0xa8 : 0x00;
		f[o + 3] = 7;
		o += 4;
	}
	f[o] = 0x08;
	f[o + 1] = 0x00;
	o += 2;
	f[o] = 0x45;
	f[o + 3] = 28;
	f[o + 6] = (uint8_t)(frag >> 8);
	f[o + 7] = (uint8_t)frag;
	f[o + 8] = 64;
	f[o + 9] = 17;
	memcpy(f + o + 12, src, 4);
	memcpy(f + o + 16, dst, 4);
	o += 20;
	f[o] = (uint8_t)(sport >> 8);
	f[o + 1] = (uint8_t)sport;
	f[o + 2] = (uint8_t)(dport >> 8);
	f[o + 3] = (uint8_t)dport;
	f[o + 5] = 8;
	return o + 8;
}

static void
test_ipv4_vectors(void **state)
{
	static const struct {
		uint8_t src[4], dst[4];
		uint16_t sport, dport;
		uint32_t l3, l4;
	} v[] = {
		{ { 66, 9, 149, 187 }, { 161, 142, 100, 80 }, 2794, 1766, 0x323e8fc2, 0x51ccc178 },
		{ { 199, 92, 111, 2 }, { 65, 69, 140, 83 }, 14230, 4739, 0xd718262a, 0xc626b0ea },
		{ { 24, 19, 198, 95 }, { 12, 22, 207, 184 }, 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
	};
	uint8_t f[128];
	unsigned int i;
	int vlans;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (vlans = 0; vlans <= 2; vlans++) {
			uint32_t n;

			n = frame4(f, v[i].src, v[i].dst, v[i].sport, v[i].dport, vlans, 0);
			assert_int_equal(dp_rss_hash(f, n), v[i].l4);
			/* a fragment (MF set, or an offset) hashes on the addresses */
			n = frame4(f, v[i].src, v[i].dst, v[i].sport, v[i].dport, vlans, 0x2000);
			assert_int_equal(dp_rss_hash(f, n), v[i].l3);
			n = frame4(f, v[i].src, v[i].dst, v[i].sport, v[i].dport, vlans, 0x00b9);
			assert_int_equal(dp_rss_hash(f, n), v[i].l3);
		}
	}
}

static void
test_ipv6_vector(void **state)
{
	/* 3ffe:2501:200:1fff::7:2794 -> 3ffe:2501:200:3::1:1766 */
	static const uint8_t src[16] = { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff,
					 0, 0, 0, 0, 0, 0, 0, 7 };
	static const uint8_t dst[16] = { 0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03,
					 0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t f[128];

	(void)state;
	memset(f, 0, sizeof(f));
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[19] = 8;
	f[20] = 17;
	f[21] = 64;
	memcpy(f + 22, src, 16);
	memcpy(f + 38, dst, 16);
	f[54] = 2794 >> 8;
	f[55] = 2794 & 0xff;
	f[56] = 1766 >> 8;
	f[57] = 1766 & 0xff;
	f[59] = 8;
	assert_int_equal(dp_rss_hash(f, 62), 0x40207d3d);
	/* behind an extension header (here a fragment header): addresses only */
	f[20] = 44;
	assert_int_equal(dp_rss_hash(f, 62), 0x2cc18cd5);
}

static void
test_short_and_other(void **state)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	uint8_t f[128], g[128];
	uint32_t n, k, l3, l4;

	(void)state;
	n = frame4(f, a, b, 40000, 9700, 1, 0);
	l4 = dp_rss_hash(f, n);
	l3 = dp_rss_hash(g, frame4(g, a, b, 40000, 9700, 1, 0x2000));
	assert_int_not_equal(l3, l4);
	/* every cut, in a buffer of exactly that size (ASan sees an overread):
	 * nothing before the IP header is whole, then addresses, then ports */
	for (k = 0; k < n; k++) {
		uint8_t *c = malloc(k != 0 ? k : 1);

		assert_non_null(c);
		memcpy(c, f, k);
		assert_int_equal(dp_rss_hash(c, k), k < 18 + 20 ? 0 : k < 18 + 24 ? l3 : l4);
		free(c);
	}
	/* ARP and other ethertypes: 0, queue 0 */
	f[16] = 0x08;
	f[17] = 0x06;
	assert_int_equal(dp_rss_hash(f, 60), 0);
	assert_int_equal(dp_rss_queue(0, 4), 0);
}

static void
test_reta(void **state)
{
	uint32_t h;
	unsigned int n, seen;

	(void)state;
	for (n = 1; n <= 16; n++) {
		seen = 0;
		for (h = 0; h < 4096; h++) {
			unsigned int q = dp_rss_queue(h * 2654435761u, n);

			assert_true(q < n);
			seen |= 1u << q;
		}
		assert_int_equal(seen, (1u << n) - 1);
	}
	/* entry i of the 128-entry table -> queue i % n */
	assert_int_equal(dp_rss_queue(130, 4), 2);
	assert_int_equal(dp_rss_queue(127, 3), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_vectors),
		cmocka_unit_test(test_ipv6_vector),
		cmocka_unit_test(test_short_and_other),
		cmocka_unit_test(test_reta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
