/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perf-kernel-tx: the sender of the kernel-socket baseline. Reads a pcap
 * capture with libpcap, keeps the UDP payloads of Ethernet (+ VLAN) / IPv4
 * frames to the sensor port (unfragmented), and sends them to
 * 127.0.0.1:PORT with sendmmsg as fast as it can, --loop N times. Loopback
 * only. Prints JSON on stdout. One thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "perf_common.h"

#define BATCH_MAX	1024

struct payloads {
	uint8_t *data;
	size_t used, cap;
	uint64_t *off;
	uint32_t *len;
	uint64_t n, n_cap;
};

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int
payloads_add(struct payloads *pl, const uint8_t *p, uint32_t n)
{
	if (pl->n == pl->n_cap) {
		uint64_t nc = pl->n_cap ? pl->n_cap * 2 : 65536;
		uint64_t *off = realloc(pl->off, nc * sizeof(*off));
		uint32_t *len;

		if (off == NULL)
			return -1;
		pl->off = off;
		len = realloc(pl->len, nc * sizeof(*len));
		if (len == NULL)
			return -1;
		pl->len = len;
		pl->n_cap = nc;
	}
	if (pl->used + n > pl->cap) {
		size_t nc = pl->cap ? pl->cap * 2 : (size_t)1 << 24;
		uint8_t *d;

		while (nc < pl->used + n)
			nc *= 2;
		d = realloc(pl->data, nc);
		if (d == NULL)
			return -1;
		pl->data = d;
		pl->cap = nc;
	}
	memcpy(pl->data + pl->used, p, n);
	pl->off[pl->n] = pl->used;
	pl->len[pl->n] = n;
	pl->used += n;
	pl->n++;
	return 0;
}

/* Ethernet (up to two VLAN tags) / IPv4 / UDP to dport: the payload, else NULL. */
static const uint8_t *
udp_payload(const uint8_t *f, uint32_t caplen, uint16_t dport, uint32_t *plen)
{
	uint32_t off = 12, ihl, ip_len, udp_len;
	uint16_t type;
	int tags;

	if (caplen < 14)
		return NULL;
	type = be16(f + off);
	for (tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
		off += 4;
		if (caplen < off + 2)
			return NULL;
		type = be16(f + off);
	}
	off += 2;
	if (type != 0x0800 || caplen < off + 20 || (f[off] >> 4) != 4 || f[off + 9] != 17)
		return NULL;
	ihl = (uint32_t)(f[off] & 0x0f) * 4;
	ip_len = be16(f + off + 2);
	/* fragments (MF set or an offset) are not whole datagrams */
	if ((be16(f + off + 6) & 0x3fff) != 0 || ihl < 20 || ip_len < ihl + 8 ||
	    caplen < off + ip_len)
		return NULL;
	off += ihl;
	if (be16(f + off + 2) != dport)
		return NULL;
	udp_len = be16(f + off + 4);
	if (udp_len < 8 || udp_len > ip_len - ihl)
		return NULL;
	*plen = udp_len - 8;
	return f + off + 8;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: perf-kernel-tx CAPTURE.pcap [--port P] [--capture-port C] [--loop N]\n"
		"                      [--batch B]\n"
		"Sends the UDP payloads of the capture's frames to port C (default 9700)\n"
		"to 127.0.0.1:P (default 9700) with sendmmsg, B per call (default 64), as\n"
		"fast as possible, N times; prints JSON on stdout.\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "capture-port", required_argument, NULL, 'c' },
		{ "loop", required_argument, NULL, 'L' },
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	struct payloads pl;
	struct pcap_pkthdr *h;
	const u_char *frame;
	char errbuf[PCAP_ERRBUF_SIZE];
	unsigned long port = 9700, cport = 9700, batch = 64;
	uint64_t loops = 1, loop, sent = 0, bytes = 0, errors = 0, skipped = 0, stuck = 0;
	int opt, fd, rc, sndbuf = 16 << 20;
	pcap_t *pc;
	double t0, t1;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			cport = strtoul(optarg, NULL, 10);
			break;
		case 'L':
			loops = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			batch = strtoul(optarg, NULL, 10);
			break;
		default:
			return perf_usage_exit(usage, opt == 'h');
		}
	}
	if (optind != argc - 1 || port == 0 || port > 65535 || cport > 65535 || loops == 0 ||
	    batch == 0 || batch > BATCH_MAX)
		return perf_usage_exit(usage, 0);

	pc = pcap_open_offline(argv[optind], errbuf);
	if (pc == NULL) {
		fprintf(stderr, "perf-kernel-tx: %s\n", errbuf);
		return 2;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "perf-kernel-tx: %s: not an Ethernet capture\n", argv[optind]);
		return 2;
	}
	memset(&pl, 0, sizeof(pl));
	while ((rc = pcap_next_ex(pc, &h, &frame)) == 1) {
		uint32_t n;
		const uint8_t *p = udp_payload(frame, h->caplen, (uint16_t)cport, &n);

		if (p == NULL) {
			skipped++;
			continue;
		}
		if (payloads_add(&pl, p, n) != 0) {
			fprintf(stderr, "perf-kernel-tx: out of memory\n");
			return 1;
		}
	}
	if (rc == -1)
		fprintf(stderr, "perf-kernel-tx: %s\n", pcap_geterr(pc));
	pcap_close(pc);
	if (pl.n == 0) {
		fprintf(stderr, "perf-kernel-tx: no IPv4 UDP datagram to port %lu\n", cport);
		return 1;
	}

	fd = perf_udp_socket("perf-kernel-tx", (uint16_t)port, 1, sndbuf);
	if (fd < 0)
		return 1;
	perf_mmsg_init(msgs, iov, BATCH_MAX);

	t0 = perf_mono_s();
	for (loop = 0; loop < loops; loop++) {
		uint64_t i = 0;

		while (i < pl.n) {
			unsigned int cnt = (unsigned int)(pl.n - i < batch ? pl.n - i : batch), k;
			int r;

			for (k = 0; k < cnt; k++) {
				iov[k].iov_base = pl.data + pl.off[i + k];
				iov[k].iov_len = pl.len[i + k];
			}
			r = sendmmsg(fd, msgs, cnt, 0);
			if (r < 0) {
				/* ECONNREFUSED: no receiver (yet); ENOBUFS: retry */
				if (errno != ECONNREFUSED && errno != ENOBUFS && errno != EINTR &&
				    errno != EAGAIN) {
					perror("perf-kernel-tx: sendmmsg");
					return 1;
				}
				errors++;
				if (++stuck > 1000000) {
					fprintf(stderr,
						"perf-kernel-tx: nobody receives on port %lu\n",
						port);
					return 1;
				}
				continue;
			}
			for (k = 0; k < (unsigned int)r; k++)
				bytes += pl.len[i + k];
			stuck = 0;
			sent += (uint64_t)r;
			i += (uint64_t)r;
		}
	}
	t1 = perf_mono_s();
	printf("{\"tool\":\"perf-kernel-tx\",\"datagrams\":%" PRIu64 ",\"per_loop\":%" PRIu64
	       ",\"skipped_frames\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"send_errors\":%" PRIu64
	       ",\"seconds\":%.6f,\"packets_per_s\":%.1f}\n",
	       sent, pl.n, skipped, bytes, errors, t1 - t0,
	       t1 > t0 ? (double)sent / (t1 - t0) : 0.0);
	close(fd);
	free(pl.data);
	free(pl.off);
	free(pl.len);
	return 0;
}
