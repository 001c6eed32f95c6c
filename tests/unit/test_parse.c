/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of dataplane/pkt_parse.c: one case per kind of frame (valid,
 * malformed, ignored, fragment), frames built by hand field by field, plus
 * every truncation of every valid frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_parse.h"

#define PORT_A		9700
#define PORT_B		9701
#define PORT_OTHER	53

#define ET_IPV4		0x0800
#define ET_IPV6		0x86dd
#define ET_ARP		0x0806
#define ET_LLDP		0x88cc
#define ET_VLAN		0x8100
#define ET_QINQ		0x88a8
#define ET_QINQ_OLD	0x9100

#define P_HOP		0
#define P_ICMP		1
#define P_TCP		6
#define P_UDP		17
#define P_ROUTING	43
#define P_FRAG		44
#define P_ESP		50
#define P_ICMP6		58
#define P_NONE		59
#define P_DSTOPTS	60

static struct dp_port_set ports;

static const uint8_t SRC4[4] = { 192, 0, 2, 7 };
static const uint8_t SRC6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42 };
static const char PAYLOAD[] = "{\"device_id\":\"s1\",\"t\":21.5}";
#define PAYLOAD_LEN	((uint32_t)sizeof(PAYLOAD) - 1)

/* A frame under construction; offsets of the headers whose length is fixed up last. */
struct fb {
	uint8_t b[1600];
	uint32_t len;
	uint32_t ip;	/* offset of the IP header */
	uint32_t udp;	/* offset of the UDP header */
	int ipv;
};

static void
put8(struct fb *f, uint8_t v)
{
	assert_true(f->len < sizeof(f->b));
	f->b[f->len++] = v;
}

static void
put16(struct fb *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void
put_bytes(struct fb *f, const void *p, uint32_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void
set16(struct fb *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void
fb_eth(struct fb *f, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	memset(f, 0, sizeof(*f));
	put_bytes(f, macs, sizeof(macs));
	put16(f, type);
}

/* One tag: TCI, then the type of what follows. */
static void
fb_vlan(struct fb *f, uint16_t vid, uint16_t type)
{
	put16(f, vid & 0x0fff);
	put16(f, type);
}

/* IPv4 header with opt_words 32-bit words of options; total length set by fb_done. */
static void
fb_ipv4(struct fb *f, uint8_t proto, uint16_t frag, unsigned int opt_words)
{
	unsigned int i;

	f->ip = f->len;
	f->ipv = 4;
	put8(f, (uint8_t)(0x40 | (5 + opt_words)));
	put8(f, 0);
	put16(f, 0);
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put_bytes(f, SRC4, 4);
	put8(f, 198);
	put8(f, 51);
	put8(f, 100);
	put8(f, 1);
	/* NOPs then an end-of-options in the last byte */
	for (i = 0; i < opt_words * 4; i++)
		put8(f, i + 1 == opt_words * 4 ? 0 : 1);
}

static void
fb_ipv6(struct fb *f, uint8_t nh)
{
	static const uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	f->ip = f->len;
	f->ipv = 6;
	put8(f, 0x60);
	put8(f, 0);
	put16(f, 0);
	put16(f, 0);
	put8(f, nh);
	put8(f, 64);
	put_bytes(f, SRC6, 16);
	put_bytes(f, dst, 16);
}

/* Hop-by-hop / routing / destination options: (ext_len + 1) * 8 bytes of PadN. */
static void
fb_ext6(struct fb *f, uint8_t nh, uint8_t ext_len)
{
	unsigned int i, body = ((unsigned int)ext_len + 1) * 8 - 2;

	put8(f, nh);
	put8(f, ext_len);
	put8(f, 1);
	put8(f, (uint8_t)(body - 2));
	for (i = 2; i < body; i++)
		put8(f, 0);
}

static void
fb_frag6(struct fb *f, uint8_t nh, uint16_t offset8, int more)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, (uint16_t)((offset8 << 3) | (more ? 1 : 0)));
	put16(f, 0xbeef);
	put16(f, 0x0001);
}

static void
fb_udp(struct fb *f, uint16_t sport, uint16_t dport, const void *payload, uint32_t n)
{
	f->udp = f->len;
	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + n));
	put16(f, 0);
	put_bytes(f, payload, n);
}

/* Set the IP length fields to cover everything written so far. */
static void
fb_done(struct fb *f)
{
	if (f->ipv == 4)
		set16(f, f->ip + 2, (uint16_t)(f->len - f->ip));
	else if (f->ipv == 6)
		set16(f, f->ip + 4, (uint16_t)(f->len - f->ip - 40));
}

/* Ethernet, then an IPv4 header (fb_ipv4's arguments). */
static void
v4_frame(struct fb *f, uint8_t proto, uint16_t frag, unsigned int opt_words)
{
	fb_eth(f, ET_IPV4);
	fb_ipv4(f, proto, frag, opt_words);
}

/* Ethernet, then an IPv6 header announcing nh. */
static void
v6_frame(struct fb *f, uint8_t nh)
{
	fb_eth(f, ET_IPV6);
	fb_ipv6(f, nh);
}

/* UDP from port 40000 with n bytes of PAYLOAD, and the IP lengths fixed up. */
static void
fb_udp_done(struct fb *f, uint16_t dport, uint32_t n)
{
	fb_udp(f, 40000, dport, PAYLOAD, n);
	fb_done(f);
}

/* n bytes of PAYLOAD as the IP payload (no UDP header), lengths fixed up. */
static void
fb_raw_done(struct fb *f, uint32_t n)
{
	put_bytes(f, PAYLOAD, n);
	fb_done(f);
}

/* Ethernet minimum frame: padding after the IP datagram. */
static void
fb_pad(struct fb *f, uint32_t to)
{
	while (f->len < to)
		put8(f, 0xee);
}

/*
 * Parse a heap copy of exactly the frame's length, so that ASan sees any
 * read past the end; the payload comes back as an offset into the frame.
 */
static int
parse_at(const uint8_t *frame, uint32_t len, struct dp_pkt_info *info, long *payload_off)
{
	uint8_t *buf = malloc(len > 0 ? len : 1);
	int rc;

	assert_non_null(buf);
	memcpy(buf, frame, len);
	rc = dp_pkt_parse(buf, len, &ports, info);
	*payload_off = -1;
	if (rc == DP_PKT_DATAGRAM) {
		assert_true(info->payload >= buf);
		assert_true(info->payload + info->payload_len <= buf + len);
		*payload_off = info->payload - buf;
	}
	info->payload = NULL;
	free(buf);
	return rc;
}

static int
parse(const struct fb *f, struct dp_pkt_info *info)
{
	long off;

	return parse_at(f->b, f->len, info, &off);
}

static int
parse_class(const struct fb *f)
{
	struct dp_pkt_info info;

	return parse(f, &info);
}

static void
assert_datagram(const struct fb *f, uint16_t dport, uint32_t payload_len)
{
	struct dp_pkt_info info;
	long off;

	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(parse_at(f->b, f->len, &info, &off), DP_PKT_DATAGRAM);
	assert_int_equal(off, f->udp + 8);
	assert_int_equal(info.payload_len, payload_len);
	assert_memory_equal(f->b + off, PAYLOAD, payload_len);
	assert_int_equal(info.src_port, 40000);
	assert_int_equal(info.dst_port, dport);
	assert_int_equal(info.ip_version, f->ipv);
	if (f->ipv == 4) {
		static const uint8_t zero[12];

		assert_memory_equal(info.src_addr, SRC4, 4);
		assert_memory_equal(info.src_addr + 4, zero, 12);
	} else {
		assert_memory_equal(info.src_addr, SRC6, 16);
	}
}

/* Every proper prefix of an unpadded valid frame is cut somewhere: malformed. */
static void
assert_prefixes_malformed(const struct fb *f)
{
	struct dp_pkt_info info;
	uint32_t n;
	long off;

	for (n = 0; n < f->len; n++)
		assert_int_equal(parse_at(f->b, n, &info, &off), DP_PKT_MALFORMED);
}

/* ---- frame builders shared by several cases ---- */

static void
v4_udp(struct fb *f, uint16_t dport)
{
	v4_frame(f, P_UDP, 0, 0);
	fb_udp_done(f, dport, PAYLOAD_LEN);
}

static void
v6_udp(struct fb *f, uint16_t dport)
{
	v6_frame(f, P_UDP);
	fb_udp_done(f, dport, PAYLOAD_LEN);
}

/* ---- valid datagrams ---- */

static void
test_v4(void **state)
{
	struct fb f;

	(void)state;
	v4_udp(&f, PORT_A);
	assert_datagram(&f, PORT_A, PAYLOAD_LEN);
	assert_prefixes_malformed(&f);
	v4_udp(&f, PORT_B);
	assert_datagram(&f, PORT_B, PAYLOAD_LEN);
}

static void
test_v6(void **state)
{
	struct fb f;

	(void)state;
	v6_udp(&f, PORT_A);
	assert_datagram(&f, PORT_A, PAYLOAD_LEN);
	assert_prefixes_malformed(&f);
}

static void
test_vlan(void **state)
{
	struct fb f;

	(void)state;
	fb_eth(&f, ET_VLAN);
	fb_vlan(&f, 10, ET_IPV4);
	fb_ipv4(&f, P_UDP, 0, 0);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_datagram(&f, PORT_A, PAYLOAD_LEN);
	assert_prefixes_malformed(&f);

	fb_eth(&f, ET_VLAN);
	fb_vlan(&f, 10, ET_IPV6);
	fb_ipv6(&f, P_UDP);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_datagram(&f, PORT_A, PAYLOAD_LEN);
}

static void
test_qinq(void **state)
{
	static const uint16_t outer[] = { ET_QINQ, ET_QINQ_OLD, ET_VLAN };
	struct fb f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(outer) / sizeof(outer[0]); i++) {
		fb_eth(&f, outer[i]);
		fb_vlan(&f, 100, ET_VLAN);
		fb_vlan(&f, 10, ET_IPV4);
		fb_ipv4(&f, P_UDP, 0, 0);
		fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
		assert_datagram(&f, PORT_A, PAYLOAD_LEN);
		assert_prefixes_malformed(&f);
	}
}

static void
test_v4_options(void **state)
{
	unsigned int words;
	struct fb f;

	(void)state;
	for (words = 1; words <= 10; words++) {
		v4_frame(&f, P_UDP, 0, words);
		fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
		assert_datagram(&f, PORT_A, PAYLOAD_LEN);
		assert_prefixes_malformed(&f);
	}
}

static void
test_v6_ext_headers(void **state)
{
	struct fb f;

	(void)state;
	v6_frame(&f, P_HOP);
	fb_ext6(&f, P_ROUTING, 0);
	fb_ext6(&f, P_DSTOPTS, 2);
	fb_ext6(&f, P_UDP, 1);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_datagram(&f, PORT_A, PAYLOAD_LEN);
	assert_prefixes_malformed(&f);
}

static void
test_padding_trimmed(void **state)
{
	struct fb f;

	(void)state;
	/* 2-byte payload: the frame is padded to the Ethernet minimum */
	v4_frame(&f, P_UDP, 0, 0);
	fb_udp_done(&f, PORT_A, 2);
	fb_pad(&f, 60);
	assert_datagram(&f, PORT_A, 2);

	v6_frame(&f, P_UDP);
	fb_udp_done(&f, PORT_A, 2);
	fb_pad(&f, 100);
	assert_datagram(&f, PORT_A, 2);

	/* UDP length shorter than the IP payload: the payload ends at the UDP length */
	v4_udp(&f, PORT_A);
	set16(&f, f.udp + 4, 8 + 5);
	assert_datagram(&f, PORT_A, 5);
	v6_udp(&f, PORT_A);
	set16(&f, f.udp + 4, 8 + 5);
	assert_datagram(&f, PORT_A, 5);
}

static void
test_empty_payload(void **state)
{
	struct fb f;

	(void)state;
	v4_frame(&f, P_UDP, 0, 0);
	fb_udp_done(&f, PORT_A, 0);
	assert_datagram(&f, PORT_A, 0);
	fb_pad(&f, 60);
	assert_datagram(&f, PORT_A, 0);
}

/* ---- malformed ---- */

static void
test_malformed_ethernet_vlan(void **state)
{
	struct fb f;

	(void)state;
	fb_eth(&f, ET_IPV4);
	f.len = 0;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	f.len = 13;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* first tag cut */
	fb_eth(&f, ET_VLAN);
	put16(&f, 10);
	put8(&f, 0x08);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* second tag cut */
	fb_eth(&f, ET_QINQ);
	fb_vlan(&f, 100, ET_VLAN);
	put16(&f, 10);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* a VLAN frame with nothing after the tag is an empty IPv4 header */
	fb_eth(&f, ET_VLAN);
	fb_vlan(&f, 10, ET_IPV4);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
}

static void
test_malformed_v4(void **state)
{
	struct fb f;

	(void)state;
	/* cut inside the fixed header */
	v4_udp(&f, PORT_A);
	f.len = f.ip + 19;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* bad version */
	v4_udp(&f, PORT_A);
	f.b[f.ip] = 0x65;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	v4_udp(&f, PORT_A);
	f.b[f.ip] = 0x05;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/*
	 * bad IHL; the source port / IP id are chosen so that a parser trusting
	 * the IHL would find a plausible UDP length where it looks
	 */
	v4_udp(&f, PORT_A);
	f.b[f.ip] = 0x44;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	set16(&f, f.udp, 8);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	v4_udp(&f, PORT_A);
	f.b[f.ip] = 0x40;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	set16(&f, f.ip + 4, 8);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* options longer than the frame */
	v4_frame(&f, P_UDP, 0, 10);
	f.len = f.ip + 40;
	set16(&f, f.ip + 2, 40);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* total length below the header length */
	v4_frame(&f, P_UDP, 0, 2);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	set16(&f, f.ip + 2, 27);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	set16(&f, f.ip + 2, 0);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* total length beyond the frame */
	v4_udp(&f, PORT_A);
	set16(&f, f.ip + 2, (uint16_t)(f.len - f.ip + 1));
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	set16(&f, f.ip + 2, 0xffff);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* the malformed checks come before the protocol check */
	v4_frame(&f, P_TCP, 0, 0);
	f.b[f.ip] = 0x43;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
}

static void
test_malformed_v6(void **state)
{
	struct fb f;

	(void)state;
	/* cut inside the fixed header */
	v6_udp(&f, PORT_A);
	f.len = f.ip + 39;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* bad version */
	v6_udp(&f, PORT_A);
	f.b[f.ip] = 0x40;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* payload length beyond the frame */
	v6_udp(&f, PORT_A);
	set16(&f, f.ip + 4, (uint16_t)(f.len - f.ip - 40 + 1));
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* extension header longer than the payload */
	v6_frame(&f, P_HOP);
	fb_ext6(&f, P_UDP, 0);
	fb_done(&f);
	f.b[f.ip + 41] = 1;
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* extension header cut before its 8 bytes */
	v6_frame(&f, P_DSTOPTS);
	put16(&f, (P_UDP << 8) | 0);
	put16(&f, 0);
	fb_done(&f);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* routing header, then nothing */
	v6_frame(&f, P_ROUTING);
	fb_done(&f);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* fragment header cut */
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_UDP, 0, 1);
	f.len -= 1;
	fb_done(&f);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	/* jumbogram: payload length 0, the length sits in a hop-by-hop option */
	v6_frame(&f, P_HOP);
	put8(&f, P_UDP);
	put8(&f, 0);
	put8(&f, 0xc2);
	put8(&f, 4);
	put16(&f, 0);
	put16(&f, 8 + 8 + PAYLOAD_LEN);
	fb_udp(&f, 40000, PORT_A, PAYLOAD, PAYLOAD_LEN);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
}

static void
test_malformed_udp(void **state)
{
	static const uint16_t dports[] = { PORT_A, PORT_OTHER };
	struct fb f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dports) / sizeof(dports[0]); i++) {
		/* UDP header cut by the IP total length (frame is longer) */
		v4_udp(&f, dports[i]);
		set16(&f, f.ip + 2, 20 + 7);
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
		v6_udp(&f, dports[i]);
		set16(&f, f.ip + 4, 7);
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
		/* UDP length < 8 */
		v4_udp(&f, dports[i]);
		set16(&f, f.udp + 4, 7);
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
		set16(&f, f.udp + 4, 0);
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
		v6_udp(&f, dports[i]);
		set16(&f, f.udp + 4, 0);
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
		/* UDP length > IP payload, even with padding in the frame */
		v4_udp(&f, dports[i]);
		set16(&f, f.udp + 4, (uint16_t)(8 + PAYLOAD_LEN + 1));
		fb_pad(&f, f.len + 16);
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
		v6_udp(&f, dports[i]);
		set16(&f, f.udp + 4, (uint16_t)(8 + PAYLOAD_LEN + 1));
		assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
	}
}

/* ---- ignored ---- */

static void
test_ignored_l2(void **state)
{
	struct fb f;

	(void)state;
	fb_eth(&f, ET_ARP);
	fb_pad(&f, 60);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	fb_eth(&f, ET_LLDP);
	fb_pad(&f, 60);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	/* 802.3 frame: the type field is a length */
	fb_eth(&f, 46);
	fb_pad(&f, 60);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	/* ... even when it carries what would be a valid IPv4 header */
	fb_eth(&f, 46);
	fb_ipv4(&f, P_UDP, 0, 0);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	/* three tags */
	fb_eth(&f, ET_QINQ);
	fb_vlan(&f, 100, ET_VLAN);
	fb_vlan(&f, 10, ET_VLAN);
	fb_vlan(&f, 1, ET_IPV4);
	fb_ipv4(&f, P_UDP, 0, 0);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
}

static void
test_ignored_l3_l4(void **state)
{
	static const uint8_t v6_next[] = { P_TCP, P_ICMP6, P_ESP, 51, P_NONE };
	struct fb f;
	size_t i;

	(void)state;
	v4_frame(&f, P_TCP, 0, 0);
	fb_raw_done(&f, PAYLOAD_LEN);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	v4_frame(&f, P_ICMP, 0, 0);
	fb_raw_done(&f, 8);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	/* TCP too short to hold a UDP header: still ignored, not malformed */
	v4_frame(&f, P_TCP, 0, 0);
	fb_done(&f);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);

	for (i = 0; i < sizeof(v6_next); i++) {
		v6_frame(&f, v6_next[i]);
		fb_raw_done(&f, 20);
		assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	}
	/* no-next-header with payload length 0 */
	v6_frame(&f, P_NONE);
	fb_done(&f);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	/* TCP behind extension headers */
	v6_frame(&f, P_HOP);
	fb_ext6(&f, P_TCP, 0);
	fb_raw_done(&f, 20);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
}

static void
test_ignored_port(void **state)
{
	struct dp_pkt_info info;
	struct fb f;

	(void)state;
	v4_udp(&f, PORT_OTHER);
	assert_int_equal(parse(&f, &info), DP_PKT_IGNORED);
	v4_udp(&f, PORT_A + 2);
	assert_int_equal(parse(&f, &info), DP_PKT_IGNORED);
	v6_udp(&f, PORT_OTHER);
	assert_int_equal(parse(&f, &info), DP_PKT_IGNORED);
	/* the source port does not matter */
	v4_udp(&f, PORT_OTHER);
	set16(&f, f.udp, PORT_A);
	assert_int_equal(parse(&f, &info), DP_PKT_IGNORED);
}

static void
test_ignored_fragments(void **state)
{
	struct fb f;

	(void)state;
	/* non-UDP fragments, first and later */
	v4_frame(&f, P_TCP, 0x2000, 0);
	fb_raw_done(&f, 24);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	v4_frame(&f, P_ICMP, 0x0003, 0);
	fb_raw_done(&f, 24);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_TCP, 0, 1);
	fb_raw_done(&f, 24);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_TCP, 3, 0);
	fb_raw_done(&f, 24);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	/* first UDP fragment to a port we do not serve */
	v4_frame(&f, P_UDP, 0x2000, 0);
	fb_udp_done(&f, PORT_OTHER, PAYLOAD_LEN);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_UDP, 0, 1);
	fb_udp_done(&f, PORT_OTHER, PAYLOAD_LEN);
	assert_int_equal(parse_class(&f), DP_PKT_IGNORED);
}

/* ---- fragments ---- */

static void
assert_fragment(const struct fb *f, uint16_t dport)
{
	struct dp_pkt_info info;

	assert_int_equal(parse(f, &info), DP_PKT_FRAGMENT);
	assert_int_equal(info.ip_version, f->ipv);
	assert_int_equal(info.dst_port, dport);
	if (dport != 0)
		assert_int_equal(info.src_port, 40000);
	assert_memory_equal(info.src_addr, f->ipv == 4 ? SRC4 : SRC6, f->ipv == 4 ? 4 : 16);
}

static void
test_fragments_v4(void **state)
{
	struct fb f;

	(void)state;
	/* first fragment: MF set, offset 0; UDP length is the whole datagram's */
	v4_frame(&f, P_UDP, 0x2000, 0);
	fb_udp_done(&f, PORT_A, 16);
	set16(&f, f.udp + 4, 3000);
	assert_fragment(&f, PORT_A);
	/* DF does not make a fragment */
	v4_frame(&f, P_UDP, 0x4000, 0);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_datagram(&f, PORT_A, PAYLOAD_LEN);
	/* middle fragment: MF and offset; the bytes are not a UDP header */
	v4_frame(&f, P_UDP, 0x2000 | 185, 0);
	fb_raw_done(&f, 24);
	assert_fragment(&f, 0);
	/* last fragment: offset only, even a tiny one */
	v4_frame(&f, P_UDP, 370, 0);
	fb_raw_done(&f, 3);
	assert_fragment(&f, 0);
	/* first fragment too short for a UDP header: port unknown, still a fragment */
	v4_frame(&f, P_UDP, 0x2000, 0);
	fb_raw_done(&f, 6);
	assert_fragment(&f, 0);
	/* with options and a VLAN tag */
	fb_eth(&f, ET_VLAN);
	fb_vlan(&f, 5, ET_IPV4);
	fb_ipv4(&f, P_UDP, 0x2000, 3);
	fb_udp_done(&f, PORT_B, 16);
	assert_fragment(&f, PORT_B);
}

static void
test_fragments_v6(void **state)
{
	struct fb f;

	(void)state;
	/* first fragment */
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_UDP, 0, 1);
	fb_udp_done(&f, PORT_A, 16);
	set16(&f, f.udp + 4, 3000);
	assert_fragment(&f, PORT_A);
	/* later fragment */
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_UDP, 181, 0);
	fb_raw_done(&f, 10);
	assert_fragment(&f, 0);
	/* atomic fragment (offset 0, M clear) still goes through a Fragment header */
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_UDP, 0, 0);
	fb_udp_done(&f, PORT_A, PAYLOAD_LEN);
	assert_fragment(&f, PORT_A);
	/* extension headers on both sides of the Fragment header */
	v6_frame(&f, P_HOP);
	fb_ext6(&f, P_FRAG, 0);
	fb_frag6(&f, P_DSTOPTS, 0, 1);
	fb_ext6(&f, P_UDP, 1);
	fb_udp_done(&f, PORT_A, 16);
	assert_fragment(&f, PORT_A);
	/* first fragment cut inside the UDP header: port unknown */
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_UDP, 0, 1);
	fb_raw_done(&f, 4);
	assert_fragment(&f, 0);
	/* first fragment cut inside a later extension header */
	v6_frame(&f, P_FRAG);
	fb_frag6(&f, P_DSTOPTS, 0, 1);
	fb_raw_done(&f, 4);
	assert_int_equal(parse_class(&f), DP_PKT_MALFORMED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_qinq),
		cmocka_unit_test(test_v4_options),
		cmocka_unit_test(test_v6_ext_headers),
		cmocka_unit_test(test_padding_trimmed),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_malformed_ethernet_vlan),
		cmocka_unit_test(test_malformed_v4),
		cmocka_unit_test(test_malformed_v6),
		cmocka_unit_test(test_malformed_udp),
		cmocka_unit_test(test_ignored_l2),
		cmocka_unit_test(test_ignored_l3_l4),
		cmocka_unit_test(test_ignored_port),
		cmocka_unit_test(test_ignored_fragments),
		cmocka_unit_test(test_fragments_v4),
		cmocka_unit_test(test_fragments_v6),
	};

	dp_port_set_add(&ports, PORT_A);
	dp_port_set_add(&ports, PORT_B);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
