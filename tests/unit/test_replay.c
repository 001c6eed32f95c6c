/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay feeder (dataplane/replay.c, pcap_load.c): the zero-copy and copy
 * paths hand the RX lcore the same frames, lengths and loop-shifted times;
 * zero-copy lends the capture memory (no copy) and every block reference
 * it takes comes back when the mbufs are freed, across --loop passes; the
 * preloaded capture is read-only; captures the bookkeeping cannot describe
 * fall back to copying; dp_eal_cleanup removes our EAL runtime directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dp.h"

#define N_FRAMES	150	/* not a multiple of DP_ZC_BLOCK: a partial last block */
#define LOOPS		3
#define TS0_NS		1732233600000000000LL
#define GAP_NS		1000

static char cap_path[128];
static int dyn_off;
static struct rte_mempool *pool;
static struct rte_ring *ring;

static uint32_t
frame_len(unsigned int i)
{
	return 60 + (i * 37) % 400;
}

/* A capture of n frames with lengths frame_len(i) and byte j = i * 31 + j. */
static void
write_capture(const char *path, unsigned int n, uint32_t big_len)
{
	static uint8_t buf[70000];
	struct pcap_pkthdr h;
	pcap_dumper_t *d;
	pcap_t *p;
	unsigned int i, j;

	p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
	assert_non_null(p);
	d = pcap_dump_open(p, path);
	assert_non_null(d);
	for (i = 0; i < n; i++) {
		uint32_t len = i == 0 && big_len != 0 ? big_len : frame_len(i);
		int64_t ts = TS0_NS + (int64_t)i * GAP_NS;

		assert_true(len <= sizeof(buf));
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)(i * 31 + j);
		memset(&h, 0, sizeof(h));
		h.ts.tv_sec = ts / 1000000000LL;
		h.ts.tv_usec = ts % 1000000000LL;	/* nanoseconds in a nano capture */
		h.caplen = len;
		h.len = len;
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

/* Feed cap LOOPS times into the ring; returns the zero_copy the feeder chose. */
static int
feed(const struct dp_capture *cap, struct rte_mbuf **m, unsigned int total)
{
	static _Atomic int quit;
	struct dp_replay r = {
		.cap = cap,
		.rings = &ring, .n_rings = 1,
		.pool = pool,
		.dynfield_off = dyn_off,
		.speed_mode = DP_SPEED_MAX,
		.loops = LOOPS,
		.quit = &quit,
	};

	assert_int_equal(dp_replay_feed(&r), 0);
	assert_int_equal(r.fed, total);
	assert_int_equal(rte_ring_dequeue_bulk(ring, (void **)m, total, NULL), total);
	assert_int_equal(rte_ring_count(ring), 0);
	return r.zero_copy;
}

/* What the RX lcore sees for global packet g: frame, length and times. */
static void
check_mbufs(const struct dp_capture *cap, struct rte_mbuf **m, unsigned int total, int zc)
{
	unsigned int g;

	for (g = 0; g < total; g++) {
		uint64_t i = g % cap->n, loop = g / cap->n;
		const struct dp_replay_meta *rm =
			RTE_MBUF_DYNFIELD(m[g], dyn_off, const struct dp_replay_meta *);
		const uint8_t *d = rte_pktmbuf_mtod(m[g], const uint8_t *);
		uint32_t j;

		assert_int_equal(m[g]->nb_segs, 1);
		assert_int_equal(rte_pktmbuf_pkt_len(m[g]), frame_len((unsigned int)i));
		assert_int_equal(rte_pktmbuf_data_len(m[g]), frame_len((unsigned int)i));
		for (j = 0; j < frame_len((unsigned int)i); j++)
			assert_int_equal(d[j], (uint8_t)(i * 31 + j));
		assert_int_equal(rm->shift_ns, (int64_t)loop * cap->span_ns);
		assert_int_equal(rm->arrival_ns,
				 TS0_NS + (int64_t)i * GAP_NS + (int64_t)loop * cap->span_ns);
		if (zc) {
			/* lent, not copied: the mbuf points into the capture */
			assert_true(RTE_MBUF_HAS_EXTBUF(m[g]));
			assert_ptr_equal(d, cap->data + cap->off[i]);
			assert_ptr_equal(m[g]->shinfo, &cap->zc[i / DP_ZC_BLOCK].si);
		} else {
			assert_false(RTE_MBUF_HAS_EXTBUF(m[g]));
			assert_ptr_not_equal(d, cap->data + cap->off[i]);
		}
	}
}

static void
test_zero_copy_and_copy_agree(void **state)
{
	static struct rte_mbuf *zc[N_FRAMES * LOOPS], *cp[N_FRAMES * LOOPS];
	const unsigned int total = N_FRAMES * LOOPS;
	unsigned int avail = rte_mempool_avail_count(pool);
	struct dp_capture cap;
	char err[256];
	uint64_t b;
	unsigned int g;

	(void)state;
	write_capture(cap_path, N_FRAMES, 0);
	assert_int_equal(dp_capture_load(cap_path, &cap, err, sizeof(err)), 0);
	assert_int_equal(cap.n, N_FRAMES);
	assert_non_null(cap.zc);
	assert_int_equal(cap.n_zc, (N_FRAMES + DP_ZC_BLOCK - 1) / DP_ZC_BLOCK);

	unsetenv("WEIR_REPLAY_COPY");
	assert_true(feed(&cap, zc, total));
	check_mbufs(&cap, zc, total, 1);
	/* one reference per mbuf in flight on its block, plus the capture's own */
	for (b = 0; b < cap.n_zc; b++) {
		uint64_t in_block = RTE_MIN((uint64_t)DP_ZC_BLOCK, cap.n - b * DP_ZC_BLOCK);

		assert_int_equal(rte_mbuf_ext_refcnt_read(&cap.zc[b].si), 1 + LOOPS * in_block);
	}

	setenv("WEIR_REPLAY_COPY", "1", 1);
	assert_false(feed(&cap, cp, total));
	unsetenv("WEIR_REPLAY_COPY");
	check_mbufs(&cap, cp, total, 0);
	for (g = 0; g < total; g++)
		assert_memory_equal(rte_pktmbuf_mtod(zc[g], const void *),
				    rte_pktmbuf_mtod(cp[g], const void *),
				    rte_pktmbuf_pkt_len(zc[g]));

	/* freeing hands every reference back and every mbuf to the pool */
	rte_pktmbuf_free_bulk(zc, total);
	rte_pktmbuf_free_bulk(cp, total);
	for (b = 0; b < cap.n_zc; b++)
		assert_int_equal(rte_mbuf_ext_refcnt_read(&cap.zc[b].si), 1);
	assert_int_equal(rte_mempool_avail_count(pool), avail);

	/* the same memory serves a second replay */
	assert_true(feed(&cap, zc, total));
	check_mbufs(&cap, zc, total, 1);
	rte_pktmbuf_free_bulk(zc, total);
	for (b = 0; b < cap.n_zc; b++)
		assert_int_equal(rte_mbuf_ext_refcnt_read(&cap.zc[b].si), 1);
	dp_capture_free(&cap);
	unlink(cap_path);
}

/* A write into the lent capture memory faults instead of corrupting it. */
static void
test_capture_read_only(void **state)
{
	struct dp_capture cap;
	char err[256];
	int status;
	pid_t pid;

	(void)state;
	write_capture(cap_path, 10, 0);
	assert_int_equal(dp_capture_load(cap_path, &cap, err, sizeof(err)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);	/* not cmocka's handler */
		*(volatile uint8_t *)(uintptr_t)cap.data = 0;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	dp_capture_free(&cap);
	unlink(cap_path);
}

/* A frame beyond an mbuf's 16-bit buffer length: no zero-copy bookkeeping. */
static void
test_too_large_copies(void **state)
{
	static _Atomic int quit;
	struct rte_mbuf *m[4];
	struct dp_capture cap;
	struct dp_replay r;
	char err[256];

	(void)state;
	write_capture(cap_path, 4, 66000);
	assert_int_equal(dp_capture_load(cap_path, &cap, err, sizeof(err)), 0);
	assert_int_equal(cap.max_len, 66000);
	assert_null(cap.zc);
	unsetenv("WEIR_REPLAY_COPY");
	r = (struct dp_replay){
		.cap = &cap, .rings = &ring, .n_rings = 1, .pool = pool, .dynfield_off = dyn_off,
		.speed_mode = DP_SPEED_MAX, .loops = 1, .quit = &quit,
	};
	assert_int_equal(dp_replay_feed(&r), 0);
	assert_false(r.zero_copy);
	assert_int_equal(rte_ring_dequeue_bulk(ring, (void **)m, 4, NULL), 4);
	/* cut at the data room, not past it; the others were copied whole */
	assert_true(rte_pktmbuf_pkt_len(m[0]) <= rte_pktmbuf_data_room_size(pool));
	assert_true(rte_pktmbuf_pkt_len(m[0]) > 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m[1]), frame_len(1));
	assert_memory_equal(rte_pktmbuf_mtod(m[3], const void *), cap.data + cap.off[3],
			    frame_len(3));
	rte_pktmbuf_free_bulk(m, 4);
	dp_capture_free(&cap);
	unlink(cap_path);
}

int
main(void)
{
	char prefix[64], dir[4096];
	char *eal_argv[] = {
		"test_replay", "--no-huge", "--no-pci", "-m", "128", "--file-prefix", prefix,
		"--log-level", "lib.eal:error", NULL,
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_copy_and_copy_agree),
		cmocka_unit_test(test_capture_read_only),
		cmocka_unit_test(test_too_large_copies),
	};
	int ret;

	snprintf(prefix, sizeof(prefix), "test_replay_%d", (int)getpid());
	snprintf(cap_path, sizeof(cap_path), "/tmp/test_replay_%d.pcap", (int)getpid());
	if (rte_eal_init(RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	dyn_off = dp_replay_dynfield_register();
	pool = rte_pktmbuf_pool_create("test_replay", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	ring = rte_ring_create("test_replay", 1024, SOCKET_ID_ANY,
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (dyn_off < 0 || pool == NULL || ring == NULL) {
		fprintf(stderr, "setup: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	rte_ring_free(ring);
	rte_mempool_free(pool);
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	if (dp_eal_cleanup(prefix) != 0 || access(dir, F_OK) == 0) {
		fprintf(stderr, "dp_eal_cleanup left %s behind\n", dir);
		ret = 1;
	}
	return ret;
}
