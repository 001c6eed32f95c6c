/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of dataplane/dp_host.c: ARP, ICMP echo, IPv6 neighbour
 * solicitation and ICMPv6 echo for our address answered field by field
 * (checksums verified independently here), VLAN tags kept, everything not
 * ours left alone, and every truncation of every request harmless.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_host.h"

static const uint8_t MAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t PEER_MAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t IP4[4] = { 10, 99, 0, 2 };
static const uint8_t PEER4[4] = { 10, 99, 0, 1 };
static const uint8_t IP6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
static const uint8_t PEER6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static struct dp_host host;

static int
setup(void **state)
{
	(void)state;
	memset(&host, 0, sizeof(host));
	memcpy(host.mac, MAC, 6);
	memcpy(host.ip4, IP4, 4);
	memcpy(host.ip6, IP6, 16);
	host.has_ip4 = 1;
	host.has_ip6 = 1;
	return 0;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1071 checksum, written independently of dp_host.c: 0 when valid */
static uint16_t
cksum(const uint8_t *p, size_t n, uint32_t sum)
{
	size_t i;

	for (i = 0; i < n; i++)
		sum += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)(~sum & 0xffff);
}

static uint32_t
pseudo6(const uint8_t *src, const uint8_t *dst, uint32_t len)
{
	uint32_t s = 0;
	int i;

	for (i = 0; i < 16; i += 2)
		s += be16(src + i) + be16(dst + i);
	return s + len + 58;
}

/* Ethernet header (+ optional 802.1Q tag); @return its length */
static size_t
eth(uint8_t *f, const uint8_t *dst, uint16_t type, int vlan)
{
	size_t n = 12;

	memcpy(f, dst, 6);
	memcpy(f + 6, PEER_MAC, 6);
	if (vlan) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = 0x00;
		f[15] = 42;
		n = 16;
	}
	f[n] = (uint8_t)(type >> 8);
	f[n + 1] = (uint8_t)type;
	return n + 2;
}

static size_t
arp_request(uint8_t *f, const uint8_t *target, int vlan)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t l2 = eth(f, bcast, 0x0806, vlan);
	uint8_t *a = f + l2;

	memset(a, 0, 28);
	a[1] = 1;
	a[2] = 0x08;
	a[4] = 6;
	a[5] = 4;
	a[7] = 1;
	memcpy(a + 8, PEER_MAC, 6);
	memcpy(a + 14, PEER4, 4);
	memcpy(a + 24, target, 4);
	return l2 + 28;
}

static size_t
echo4_request(uint8_t *f, const uint8_t *dst, size_t data, int vlan)
{
	size_t l2 = eth(f, MAC, 0x0800, vlan), i;
	uint8_t *ip = f + l2, *ic = ip + 20;
	uint16_t c;

	memset(ip, 0, 20 + 8);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 8 + data) >> 8);
	ip[3] = (uint8_t)(20 + 8 + data);
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, PEER4, 4);
	memcpy(ip + 16, dst, 4);
	c = cksum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	ic[0] = 8;
	ic[4] = 0x12;
	ic[5] = 0x34;
	ic[7] = 7;
	for (i = 0; i < data; i++)
		ic[8 + i] = (uint8_t)(i * 7);
	c = cksum(ic, 8 + data, 0);
	ic[2] = (uint8_t)(c >> 8);
	ic[3] = (uint8_t)c;
	return l2 + 20 + 8 + data;
}

static size_t
icmp6(uint8_t *f, const uint8_t *dmac, const uint8_t *src, const uint8_t *dst, uint8_t hop,
      const uint8_t *msg, size_t n)
{
	size_t l2 = eth(f, dmac, 0x86dd, 0);
	uint8_t *ip = f + l2, *m = ip + 40;
	uint16_t c;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = (uint8_t)(n >> 8);
	ip[5] = (uint8_t)n;
	ip[6] = 58;
	ip[7] = hop;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	memcpy(m, msg, n);
	m[2] = 0;
	m[3] = 0;
	c = cksum(m, n, pseudo6(src, dst, (uint32_t)n));
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	return l2 + 40 + n;
}

static size_t
ns_request(uint8_t *f, const uint8_t *src, const uint8_t *dst, const uint8_t *target)
{
	static const uint8_t mc[6] = { 0x33, 0x33, 0xff, 0, 0, 2 };
	uint8_t m[32] = { 135 };

	memcpy(m + 8, target, 16);
	m[24] = 1;	/* source link-layer address option */
	m[25] = 1;
	memcpy(m + 26, PEER_MAC, 6);
	return icmp6(f, mc, src, dst, 255, m, sizeof(m));
}

static void
test_arp(void **state)
{
	uint8_t f[128], out[256];
	enum dp_host_reply_kind k;
	uint32_t n;
	int vlan;

	(void)state;
	for (vlan = 0; vlan < 2; vlan++) {
		size_t len = arp_request(f, IP4, vlan), l2 = vlan ? 18 : 14;
		const uint8_t *a = out + l2;

		n = dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k);
		assert_int_equal(k, DP_HOST_ARP);
		assert_int_equal(n, 60);
		assert_memory_equal(out, PEER_MAC, 6);
		assert_memory_equal(out + 6, MAC, 6);
		if (vlan)
			assert_int_equal(be16(out + 14), 42);
		assert_int_equal(be16(out + l2 - 2), 0x0806);
		assert_int_equal(be16(a + 6), 2);
		assert_memory_equal(a + 8, MAC, 6);
		assert_memory_equal(a + 14, IP4, 4);
		assert_memory_equal(a + 18, PEER_MAC, 6);
		assert_memory_equal(a + 24, PEER4, 4);
	}
	/* for another address, or a reply, or no address configured: nothing */
	n = dp_host_reply(&host, f, (uint32_t)arp_request(f, PEER4, 0), out, sizeof(out), &k);
	assert_int_equal(n, 0);
	assert_int_equal(k, DP_HOST_NONE);
	arp_request(f, IP4, 0);
	f[14 + 7] = 2;
	assert_int_equal(dp_host_reply(&host, f, 42, out, sizeof(out), &k), 0);
	host.has_ip4 = 0;
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)arp_request(f, IP4, 0), out,
				       sizeof(out), &k), 0);
}

static void
test_echo4(void **state)
{
	uint8_t f[1600], out[1600];
	enum dp_host_reply_kind k;
	size_t len, data;
	uint32_t n;

	(void)state;
	for (data = 0; data <= 1400; data += 700) {
		const uint8_t *ip = out + 18;

		len = echo4_request(f, IP4, data, 1);
		n = dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k);
		assert_int_equal(k, DP_HOST_ECHO4);
		assert_int_equal(n, len < 60 ? 60 : len);
		assert_memory_equal(out, PEER_MAC, 6);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(be16(ip + 2), 28 + data);
		assert_memory_equal(ip + 12, IP4, 4);
		assert_memory_equal(ip + 16, PEER4, 4);
		assert_int_equal(cksum(ip, 20, 0), 0);
		assert_int_equal(ip[20], 0);
		assert_int_equal(cksum(ip + 20, 8 + data, 0), 0);
		/* identifier, sequence and data echoed */
		assert_memory_equal(ip + 24, f + 18 + 24, 4 + data);
	}
	/* bad ICMP checksum, a fragment, another destination, too small a buffer */
	len = echo4_request(f, IP4, 16, 0);
	f[14 + 20 + 8] ^= 1;
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
	len = echo4_request(f, IP4, 16, 0);
	f[14 + 6] = 0x20;	/* MF */
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
	len = echo4_request(f, PEER4, 16, 0);
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
	len = echo4_request(f, IP4, 100, 0);
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, 80, &k), 0);
}

static void
test_neighbour_solicitation(void **state)
{
	static const uint8_t solicited[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 2 };
	static const uint8_t unspec[16];
	uint8_t f[256], out[256];
	enum dp_host_reply_kind k;
	const uint8_t *ip = out + 14, *m = ip + 40;
	size_t len;
	uint32_t n;

	(void)state;
	len = ns_request(f, PEER6, solicited, IP6);
	n = dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k);
	assert_int_equal(k, DP_HOST_NA);
	assert_int_equal(n, 14 + 40 + 32);
	assert_memory_equal(out, PEER_MAC, 6);
	assert_int_equal(ip[7], 255);
	assert_memory_equal(ip + 8, IP6, 16);
	assert_memory_equal(ip + 24, PEER6, 16);
	assert_int_equal(m[0], 136);
	assert_int_equal(m[4], 0x60);		/* solicited + override */
	assert_memory_equal(m + 8, IP6, 16);
	assert_int_equal(m[24], 2);
	assert_memory_equal(m + 26, MAC, 6);
	assert_int_equal(cksum(m, 32, pseudo6(ip + 8, ip + 24, 32)), 0);

	/* duplicate address detection: from ::, answered to all nodes, not solicited */
	len = ns_request(f, unspec, solicited, IP6);
	n = dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k);
	assert_int_equal(k, DP_HOST_NA);
	assert_int_equal(out[0], 0x33);
	assert_int_equal(ip[24], 0xff);
	assert_int_equal(m[4], 0x20);
	assert_int_equal(cksum(m, 32, pseudo6(ip + 8, ip + 24, 32)), 0);

	/* another target; a hop limit other than 255 (off-link) */
	len = ns_request(f, PEER6, solicited, PEER6);
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
	len = ns_request(f, PEER6, solicited, IP6);
	f[14 + 7] = 64;
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
}

static void
test_echo6(void **state)
{
	uint8_t f[256], out[256], msg[64] = { 128 };
	enum dp_host_reply_kind k;
	const uint8_t *ip = out + 14;
	size_t len, i;
	uint32_t n;

	(void)state;
	for (i = 4; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	len = icmp6(f, MAC, PEER6, IP6, 64, msg, sizeof(msg));
	n = dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k);
	assert_int_equal(k, DP_HOST_ECHO6);
	assert_int_equal(n, len);
	assert_memory_equal(ip + 8, IP6, 16);
	assert_memory_equal(ip + 24, PEER6, 16);
	assert_int_equal(ip[40], 129);
	assert_memory_equal(ip + 44, msg + 4, sizeof(msg) - 4);
	assert_int_equal(cksum(ip + 40, sizeof(msg), pseudo6(ip + 8, ip + 24, sizeof(msg))), 0);
	/* bad checksum: ignored */
	f[14 + 40 + 10] ^= 0x80;
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
	host.has_ip6 = 0;
	len = icmp6(f, MAC, PEER6, IP6, 64, msg, sizeof(msg));
	assert_int_equal(dp_host_reply(&host, f, (uint32_t)len, out, sizeof(out), &k), 0);
}

/* Every prefix of every request: no reply longer than allowed, no crash (ASan) */
static void
test_truncations(void **state)
{
	static const uint8_t solicited[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 2 };
	uint8_t f[4][1600], out[1600], msg[16] = { 128 };
	enum dp_host_reply_kind k;
	size_t len[4], i, cut;

	(void)state;
	len[0] = arp_request(f[0], IP4, 1);
	len[1] = echo4_request(f[1], IP4, 300, 0);
	len[2] = ns_request(f[2], PEER6, solicited, IP6);
	len[3] = icmp6(f[3], MAC, PEER6, IP6, 64, msg, sizeof(msg));
	for (i = 0; i < 4; i++) {
		for (cut = 0; cut < len[i]; cut++) {
			uint8_t *copy = malloc(cut ? cut : 1);
			uint32_t n;

			assert_non_null(copy);
			memcpy(copy, f[i], cut);
			n = dp_host_reply(&host, copy, (uint32_t)cut, out, sizeof(out), &k);
			assert_true(n <= sizeof(out));
			/* a cut frame never yields a reply that claims more than it had
			 * (ARP and ND replies are fixed size: those may be answered
			 * once their fixed part is there) */
			if (i == 1 || i == 3)
				assert_int_equal(n, 0);
			free(copy);
		}
		assert_true(dp_host_reply(&host, f[i], (uint32_t)len[i], out, sizeof(out), &k) >
			    0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_arp, setup),
		cmocka_unit_test_setup(test_echo4, setup),
		cmocka_unit_test_setup(test_neighbour_solicitation, setup),
		cmocka_unit_test_setup(test_echo6, setup),
		cmocka_unit_test_setup(test_truncations, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
