/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Preloads a capture (pcap or pcapng, via libpcap) into one buffer so a
 * replay measures weir, not the disk, and sets up the bookkeeping that
 * lets the feeder lend that buffer to mbufs (zero-copy replay). The buffer
 * is an anonymous mapping made read-only once loaded. Runs on the main
 * thread at start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <pcap/pcap.h>
#include <rte_mbuf.h>

#include "dp.h"

#define MAP_MIN	(1u << 20)

static int
grow(void **p, size_t elem, uint64_t *cap, uint64_t need)
{
	uint64_t c = *cap ? *cap : 1024;
	void *n;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return 0;
	n = realloc(*p, c * elem);
	if (n == NULL)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

/* Grow the data mapping to hold need bytes (doubling). */
static int
grow_map(uint8_t **p, size_t *len, uint64_t need)
{
	size_t l = *len ? *len : MAP_MIN;
	void *n;

	while (l < need)
		l *= 2;
	if (l == *len)
		return 0;
	if (*p == NULL)
		n = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		n = mremap(*p, *len, l, MREMAP_MAYMOVE);
	if (n == MAP_FAILED)
		return -1;
	*p = n;
	*len = l;
	return 0;
}

/* The capture memory is never freed while mbufs may point at it: nothing to do. */
static void
zc_free_cb(void *addr, void *opaque)
{
	RTE_SET_USED(addr);
	RTE_SET_USED(opaque);
}

/*
 * Zero-copy bookkeeping: one shared info per block of frames, holding the
 * capture's own reference so it never drops to 0. Left NULL (copy replay)
 * when a frame does not fit an mbuf's 16-bit buffer length or the capture
 * has more blocks than DP_ZC_BLOCKS_MAX.
 */
static void
zc_setup(struct dp_capture *cap)
{
	uint64_t b, nb = (cap->n + DP_ZC_BLOCK - 1) / DP_ZC_BLOCK;

	if (cap->max_len > UINT16_MAX || nb > DP_ZC_BLOCKS_MAX)
		return;
	cap->zc = aligned_alloc(RTE_CACHE_LINE_SIZE, nb * sizeof(*cap->zc));
	if (cap->zc == NULL)
		return;
	memset(cap->zc, 0, nb * sizeof(*cap->zc));
	for (b = 0; b < nb; b++) {
		cap->zc[b].si.free_cb = zc_free_cb;
		cap->zc[b].si.fcb_opaque = cap;
		rte_mbuf_ext_refcnt_set(&cap->zc[b].si, 1);
	}
	cap->n_zc = nb;
}

int
dp_capture_load(const char *path, struct dp_capture *cap, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint8_t *buf = NULL;
	uint64_t n_cap = 0, bytes = 0;
	pcap_t *p;
	int rc;

	memset(cap, 0, sizeof(*cap));
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (p == NULL) {
		snprintf(err, errlen, "cannot read capture %s: %s", path, perr);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: link type %s is not Ethernet", path,
			 pcap_datalink_val_to_name(pcap_datalink(p)) ?
			 pcap_datalink_val_to_name(pcap_datalink(p)) : "unknown");
		pcap_close(p);
		return -1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		uint64_t i = cap->n, old_cap = n_cap;

		if (grow((void **)&cap->off, sizeof(*cap->off), &n_cap, i + 1) != 0 ||
		    grow_map(&buf, &cap->map_len, bytes + h->caplen) != 0)
			goto nomem;
		cap->data = buf;	/* mremap may have moved it */
		/* off/len/ts share one growth schedule: keep them the same size */
		if (n_cap != old_cap) {
			void *l = realloc(cap->len, n_cap * sizeof(*cap->len));

			if (l == NULL)
				goto nomem;
			cap->len = l;
			l = realloc(cap->ts_ns, n_cap * sizeof(*cap->ts_ns));
			if (l == NULL)
				goto nomem;
			cap->ts_ns = l;
		}
		memcpy(buf + bytes, data, h->caplen);
		cap->off[i] = bytes;
		cap->len[i] = h->caplen;
		cap->ts_ns[i] = (int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec;
		if (h->caplen > cap->max_len)
			cap->max_len = h->caplen;
		bytes += h->caplen;
		cap->n++;
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s after %lu frames", path, pcap_geterr(p),
			 (unsigned long)cap->n);
		pcap_close(p);
		dp_capture_free(cap);
		return -1;
	}
	pcap_close(p);
	if (cap->n == 0) {
		snprintf(err, errlen, "%s: the capture holds no frames", path);
		dp_capture_free(cap);
		return -1;
	}
	{
		int64_t raw = cap->ts_ns[cap->n - 1] - cap->ts_ns[0];
		int64_t gap = cap->n > 1 ? raw / (int64_t)(cap->n - 1) : 0;

		if (raw < 0)
			raw = 0;
		if (gap < 1000000)
			gap = 1000000;
		cap->span_ns = raw + gap;
	}
	/* replay lends these bytes to mbufs: a write downstream must fault */
	if (mprotect(buf, cap->map_len, PROT_READ) != 0) {
		snprintf(err, errlen, "%s: cannot protect the preloaded capture: %s", path,
			 strerror(errno));
		dp_capture_free(cap);
		return -1;
	}
	zc_setup(cap);
	return 0;
nomem:
	pcap_close(p);
	dp_capture_free(cap);
	snprintf(err, errlen, "%s: out of memory preloading the capture", path);
	return -1;
}

void
dp_capture_free(struct dp_capture *cap)
{
	if (cap->data != NULL)
		munmap((void *)(uintptr_t)cap->data, cap->map_len);
	free(cap->zc);
	free(cap->off);
	free(cap->len);
	free(cap->ts_ns);
	memset(cap, 0, sizeof(*cap));
}
