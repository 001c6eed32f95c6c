/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perf-ceiling: the upper bound for `weir replay --speed max`. Same capture
 * loader, same feeder (dp_replay_feed on the main lcore), same ring-backed
 * ethdev, same mbuf pool and burst size as weir; the RX lcore only does
 * rte_eth_rx_burst + rte_pktmbuf_free_bulk. Prints one JSON line on stdout.
 * Threads: main lcore = feeder, one worker lcore = the bare RX loop.
 */
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "cfg.h"
#include "dp.h"
#include "perf_common.h"

#define RX_BURST_MAX	512
#define REPLAY_RING	4096	/* as control/ctl_pipeline.c */

struct ceil_rx {
	uint16_t port;
	unsigned int burst;
	_Atomic int input_done;		/* main: wo (release) after the last enqueue; rx: ro */
	uint64_t packets;		/* rx: wo; main reads after the lcore returned */
	uint64_t bytes;
	uint64_t polls_idle;
};

/* The whole RX lcore: receive and free, with weir's idle back-off. */
static int
ceil_rx_loop(void *arg)
{
	struct ceil_rx *c = arg;
	struct rte_mbuf *pkts[RX_BURST_MAX];
	uint64_t idle = 0;
	int done_seen = 0;
	uint16_t n, i;

	for (;;) {
		n = rte_eth_rx_burst(c->port, 0, pkts, (uint16_t)c->burst);
		if (n == 0) {
			c->polls_idle++;
			if (done_seen)
				break;
			done_seen = atomic_load_explicit(&c->input_done, memory_order_acquire);
			/* same back-off as dataplane/rx_loop.c on an oversubscribed box */
			if (++idle > 64)
				rte_delay_us_sleep(50);
			continue;
		}
		idle = 0;
		c->packets += n;
		for (i = 0; i < n; i++)
			c->bytes += rte_pktmbuf_pkt_len(pkts[i]);
		rte_pktmbuf_free_bulk(pkts, n);
	}
	return 0;
}

/*
 * --feed-only: no RX lcore. The main lcore feeds every frame into a ring
 * sized to hold them all, then receives and frees them in bursts, so that
 * `valgrind --tool=callgrind --toggle-collect=dp_replay_feed
 * --toggle-collect=ceil_drain` counts the feeder's and the free path's
 * instructions per packet without the spinning of two threads sharing
 * valgrind's one CPU.
 */
static __rte_noinline uint64_t
ceil_drain(uint16_t port, unsigned int burst)
{
	struct rte_mbuf *pkts[RX_BURST_MAX];
	uint64_t total = 0;
	uint16_t n;

	while ((n = rte_eth_rx_burst(port, 0, pkts, (uint16_t)burst)) != 0) {
		total += n;
		rte_pktmbuf_free_bulk(pkts, n);
	}
	return total;
}

/* --lcores map: main + RX pinned on two CPUs we may use, floating on one. */
static void
lcores_arg(char *buf, size_t len)
{
	cpu_set_t set;
	int cpus[2], n = 0, c;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (c = 0; c < CPU_SETSIZE && n < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus[n++] = c;
	if (n == 2)
		snprintf(buf, len, "--lcores=0@%d,1@%d", cpus[0], cpus[1]);
	else
		snprintf(buf, len, "--lcores=(0-1)@(%d)", n ? cpus[0] : 0);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: perf-ceiling CAPTURE.pcap [--loop N] [--feed-only]\n"
		"--feed-only: no RX lcore; feed all into a ring that holds them, then drain it.\n"
		"Replays the capture at max speed through weir's feeder and ring ethdev into\n"
		"an RX lcore that only receives and frees; prints JSON on stdout.\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "loop", required_argument, NULL, 'L' },
		{ "feed-only", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct dp_capture cap;
	static _Atomic int quit;
	struct weir_config cfg;
	struct ceil_rx rx;
	struct dp_replay feed;
	uint64_t mem_mb;
	struct rte_mempool *pool;
	struct rte_ring *ring;
	char lcores[64], err[512];
	int opt, port, off;
	uint64_t loops = 1;
	int feed_only = 0;
	unsigned int ring_size = REPLAY_RING, n_mbufs;
	unsigned int rx_lcore;
	uint32_t room;
	double t0, t1;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'L':
			loops = strtoull(optarg, NULL, 10);
			break;
		case 'F':
			feed_only = 1;
			break;
		default:
			return perf_usage_exit(usage, opt == 'h');
		}
	}
	if (optind != argc - 1 || loops == 0)
		return perf_usage_exit(usage, 0);
	cfg_defaults(&cfg);
	if (dp_capture_load(argv[optind], &cap, err, sizeof(err)) != 0) {
		fprintf(stderr, "perf-ceiling: %s\n", err);
		return 2;
	}

	lcores_arg(lcores, sizeof(lcores));
	n_mbufs = cfg.mbufs;
	if (feed_only) {
		if (cap.n * loops > (1u << 22)) {
			fprintf(stderr, "perf-ceiling: --feed-only holds at most %u frames\n",
				1u << 22);
			return 2;
		}
		ring_size = (unsigned int)rte_align64pow2(cap.n * loops + 1);
		n_mbufs = (unsigned int)(cap.n * loops);
	}
	mem_mb = 64 + (uint64_t)n_mbufs * 2 * (RTE_MBUF_DEFAULT_BUF_SIZE + 256) / (1 << 20) +
		 ring_size / (1 << 16);
	if (perf_eal_init(argv[0], "perf-ceiling", "ceil", mem_mb, lcores) != 0)
		return 1;

	room = RTE_MBUF_DEFAULT_BUF_SIZE;
	if (cap.max_len + RTE_PKTMBUF_HEADROOM > room)
		room = RTE_MIN(cap.max_len + RTE_PKTMBUF_HEADROOM, (uint32_t)UINT16_MAX);
	pool = rte_pktmbuf_pool_create("ceil_mbufs", n_mbufs, 256, 0, (uint16_t)room,
				       (int)rte_socket_id());
	off = dp_replay_dynfield_register();
	ring = rte_ring_create("replay_to_rx", ring_size, (int)rte_socket_id(),
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (pool == NULL || off < 0 || ring == NULL) {
		fprintf(stderr, "perf-ceiling: setup: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	port = rte_eth_from_rings("net_replay", &ring, 1, &ring, 1, rte_socket_id());
	if (port < 0 || dp_port_init((uint16_t)port, pool, 1024, 1, err, sizeof(err)) != 0) {
		fprintf(stderr, "perf-ceiling: port: %s\n", port < 0 ? "rte_eth_from_rings" : err);
		return 1;
	}

	memset(&rx, 0, sizeof(rx));
	rx.port = (uint16_t)port;
	rx.burst = RTE_MIN(cfg.burst, (unsigned int)RX_BURST_MAX);
	atomic_init(&rx.input_done, 0);
	rx_lcore = rte_get_next_lcore(-1, 1, 0);
	if (rx_lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "perf-ceiling: need 2 lcores\n");
		return 1;
	}
	feed = (struct dp_replay){
		.cap = &cap,
		.rings = &ring, .n_rings = 1,
		.pool = pool,
		.dynfield_off = off,
		.speed_mode = DP_SPEED_MAX,
		.loops = loops,
		.quit = &quit,
	};
	t0 = perf_mono_s();
	if (feed_only) {
		dp_replay_feed(&feed);
		rx.packets = ceil_drain(rx.port, rx.burst);
	} else {
		rte_eal_remote_launch(ceil_rx_loop, &rx, rx_lcore);
		dp_replay_feed(&feed);
		atomic_store_explicit(&rx.input_done, 1, memory_order_release);
		rte_eal_mp_wait_lcore();
	}
	t1 = perf_mono_s();

	printf("{\"tool\":\"perf-ceiling\",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"fed\":%" PRIu64 ",\"seconds\":%.6f,\"packets_per_s\":%.1f,\"burst\":%u"
	       ",\"zero_copy\":%s}\n",
	       rx.packets, rx.bytes, feed.fed, t1 - t0,
	       t1 > t0 ? (double)rx.packets / (t1 - t0) : 0.0, rx.burst,
	       feed.zero_copy ? "true" : "false");
	dp_port_stop((uint16_t)port);
	rte_ring_free(ring);
	rte_mempool_free(pool);
	dp_capture_free(&cap);
	{
		char own[32];

		snprintf(own, sizeof(own), "perf-ceil-%d", (int)getpid());
		dp_eal_cleanup(own);	/* perf_eal_init's prefix */
	}
	return rx.packets == feed.fed ? 0 : 1;
}
