/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perf-kernel-rx: the kernel-socket baseline of SPEC §8. A UDP socket on
 * 127.0.0.1:PORT read with recvmmsg (batches of 64), each datagram through
 * the same decoder (dp_decode_payload) and the same aggregation
 * (agg_table_process) as weir with [aggregator] workers = 0: the watermark,
 * late decision and first_k of dataplane/rx_loop.c (live mode: arrival =
 * wall clock per batch, or a capture-like clock with --clock-start) are
 * repeated here in a few lines. Closed windows are counted, not produced
 * to Kafka. Stops after --count datagrams or --idle-ms without one;
 * prints JSON on stdout. One thread (the EAL main
 * lcore: rte_hash needs EAL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "agg.h"
#include "cfg.h"
#include "dp_decode.h"
#include "hdr.h"
#include "perf_common.h"

#define BATCH		64
#define DGRAM_MAX	9216
#define HDR_HIGHEST	3600000000000ULL

struct krx {
	struct dp_decode_out out;	/* must stay first: emit gets &out */
	struct agg_table *table;
	struct hdr *lat;
	int64_t size_ns, slide_ns, lateness_ns, idle_ns;
	/* watermark state, as dataplane/rx_loop.c */
	int64_t w;
	int64_t w_sent;
	int64_t last_valid_arrival;
	int64_t w_at_last_valid;
	int have_valid;
	int64_t arrival_ns;
	uint64_t batch_tsc;
	double ns_per_tsc;
	/* counters */
	uint64_t routed, late, folded, dropped, windows;
};

static int64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* agg_emit_fn: weir hands the result to the sink; the baseline counts it. */
static void
krx_window(void *arg, const struct wr_result *res)
{
	struct krx *k = arg;

	(void)res;
	k->windows++;
}

static void
krx_idle_advance(struct krx *k, int64_t clock)
{
	int64_t quiet = clock - k->last_valid_arrival;

	if (!k->have_valid || quiet < k->idle_ns)
		return;
	if (k->w_at_last_valid + quiet > k->w)
		k->w = k->w_at_last_valid + quiet;
}

/* dp_emit_fn: rx_loop.c's rx_emit + rx_inline, minus the rings. */
static void
krx_emit(struct dp_decode_out *out, struct wr_record *r)
{
	struct krx *k = (struct krx *)out;
	int64_t t = r->time_ns, k_last, k_first, k_open;
	int rc;

	if (t - k->lateness_ns > k->w)
		k->w = t - k->lateness_ns;
	k->last_valid_arrival = k->arrival_ns;
	k->w_at_last_valid = k->w;
	k->have_valid = 1;
	k_last = agg_floor_div(t, k->slide_ns);
	if (k_last * k->slide_ns + k->size_ns <= k->w) {
		k->late++;
		return;
	}
	k_first = agg_floor_div(t - k->size_ns, k->slide_ns) + 1;
	k_open = agg_floor_div(k->w - k->size_ns, k->slide_ns) + 1;
	r->watermark_ns = k->w;
	r->first_k = k_first > k_open ? k_first : k_open;
	r->rx_tsc = k->batch_tsc;
	r->hash = agg_devkey_hash(r->id, r->id_len);
	r->kind = WR_REC_DATA;
	k->routed++;
	hdr_record(k->lat, (uint64_t)((double)(rte_rdtsc() - r->rx_tsc) * k->ns_per_tsc));
	rc = agg_table_process(k->table, r, krx_window, k);
	if (rc == 0)
		k->folded++;
	else
		k->dropped++;
}

/* End of a batch: tell the table the watermark moved (closes windows). */
static void
krx_batch_end(struct krx *k)
{
	struct wr_record tick;

	if (k->w_sent == k->w)
		return;
	memset(&tick, 0, sizeof(tick));
	tick.kind = WR_REC_TICK;
	tick.watermark_ns = k->w;
	agg_table_process(k->table, &tick, krx_window, k);
	k->w_sent = k->w;
}

/* UDP InErrors from /proc/net/snmp (it includes RcvbufErrors): kernel-side drops. */
static uint64_t
udp_drops(void)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	char names[1024], vals[1024];
	uint64_t d = 0;

	if (f == NULL)
		return 0;
	while (fgets(names, sizeof(names), f) != NULL) {
		char *sn, *sv, *n, *v;
		int col = 0, in_err = -1;

		if (strncmp(names, "Udp:", 4) != 0 || fgets(vals, sizeof(vals), f) == NULL)
			continue;
		n = strtok_r(names, " \n", &sn);
		for (; n != NULL; n = strtok_r(NULL, " \n", &sn), col++) {
			if (strcmp(n, "InErrors") == 0)
				in_err = col;
		}
		col = 0;
		v = strtok_r(vals, " \n", &sv);
		for (; v != NULL; v = strtok_r(NULL, " \n", &sv), col++)
			if (col == in_err)
				d += strtoull(v, NULL, 10);
		break;
	}
	fclose(f);
	return d;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: perf-kernel-rx [--port P] [--count N] [--idle-ms MS] [--wait-ms MS]\n"
		"                      [--max-devices N] [--ready-file F] [--clock-start NS]\n"
		"Receives UDP on 127.0.0.1:P (default 9700) with recvmmsg, decodes and\n"
		"aggregates like weir (workers = 0); stops after N datagrams or MS ms without\n"
		"one (default 1000; --wait-ms for the first, default 30000); prints JSON.\n"
		"--clock-start: the arrival clock starts at this epoch ns at the first datagram\n"
		"(the capture's start, as in a replay) instead of the wall clock.\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "wait-ms", required_argument, NULL, 'w' },
		{ "max-devices", required_argument, NULL, 'd' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "clock-start", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t bufs[BATCH][DGRAM_MAX];
	static struct krx k;
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct weir_config cfg;
	struct dp_decode_cfg dcfg;
	struct dp_pkt_meta meta;
	struct agg_cfg ac;
	struct pollfd pfd;
	char lcores[64];
	const char *ready = NULL;
	int64_t clock_start = -1, clock_off = 0;
	uint64_t count = 0, dgrams = 0, bytes = 0, drops0, first_batch = 0;
	unsigned long port = 9700;
	int idle_ms = 1000, wait_ms = 30000, opt, fd, rcvbuf = 64 << 20, i;
	double t_first = 0, t_last = 0;
	cpu_set_t set;

	cfg_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'i':
			idle_ms = atoi(optarg);
			break;
		case 'w':
			wait_ms = atoi(optarg);
			break;
		case 'd':
			cfg.max_devices = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			ready = optarg;
			break;
		case 'c':
			clock_start = strtoll(optarg, NULL, 10);
			break;
		default:
			return perf_usage_exit(usage, opt == 'h');
		}
	}
	if (optind != argc || port == 0 || port > 65535 || idle_ms <= 0 || wait_ms <= 0 ||
	    cfg.max_devices == 0)
		return perf_usage_exit(usage, 0);

	/* one lcore, free to float over every CPU we may use */
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1) {
		int c, off = snprintf(lcores, sizeof(lcores), "--lcores=0@("), first = 1;

		for (c = 0; c < CPU_SETSIZE && off < (int)sizeof(lcores) - 8; c++)
			if (CPU_ISSET(c, &set)) {
				off += snprintf(lcores + off, sizeof(lcores) - (size_t)off, "%s%d",
						first ? "" : ",", c);
				first = 0;
			}
		snprintf(lcores + off, sizeof(lcores) - (size_t)off, ")");
	} else {
		snprintf(lcores, sizeof(lcores), "-l0");
	}
	/* rte_hash: key store + buckets, ~200 bytes per device (ctl_pipeline.c) */
	if (perf_eal_init(argv[0], "perf-kernel-rx", "krx",
			  128 + ((uint64_t)cfg.max_devices * 200 >> 20), lcores) != 0)
		return 1;

	dp_decode_cfg_init(&dcfg, &cfg);
	perf_agg_cfg(&ac, &cfg, "krx", cfg.max_devices);
	k.out.emit = krx_emit;
	k.table = agg_table_create(&ac);
	k.lat = hdr_create(HDR_HIGHEST, 3);
	if (k.table == NULL || k.lat == NULL) {
		fprintf(stderr, "perf-kernel-rx: device table: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	k.size_ns = cfg.size_ns;
	k.slide_ns = cfg.slide_ns;
	k.lateness_ns = cfg.allowed_lateness_ns;
	k.idle_ns = cfg.idle_timeout_ns;
	k.w = INT64_MIN;
	k.w_sent = INT64_MIN;
	k.ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();

	fd = perf_udp_socket("perf-kernel-rx", (uint16_t)port, 0, rcvbuf);
	if (fd < 0)
		return 1;
	perf_mmsg_init(msgs, iov, BATCH);
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = DGRAM_MAX;
	}
	drops0 = udp_drops();
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");

		if (f != NULL)
			fclose(f);
	}
	fprintf(stderr, "perf-kernel-rx: listening on 127.0.0.1:%lu\n", port);

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (count == 0 || dgrams < count) {
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				perror("perf-kernel-rx: recvmmsg");
				break;
			}
			/* nothing queued: block until data or the idle limit */
			if (poll(&pfd, 1, dgrams ? idle_ms : wait_ms) <= 0)
				break;
			continue;
		}
		k.batch_tsc = rte_rdtsc();
		k.arrival_ns = wall_ns();
		t_last = perf_mono_s();
		if (dgrams == 0 && clock_start >= 0)
			clock_off = clock_start - k.arrival_ns;
		k.arrival_ns += clock_off;
		if (dgrams == 0) {
			t_first = t_last;
			first_batch = (uint64_t)n;
		}
		krx_idle_advance(&k, k.arrival_ns);
		meta.arrival_ns = k.arrival_ns;
		meta.shift_ns = 0;
		for (i = 0; i < n; i++) {
			dp_decode_payload(&dcfg, &meta, bufs[i], msgs[i].msg_len, &k.out);
			bytes += msgs[i].msg_len;
		}
		dgrams += (uint64_t)n;
		krx_batch_end(&k);
	}
	agg_table_flush(k.table, krx_window, &k);
	{
		uint64_t rejected = 0, drops = udp_drops() - drops0;
		/* the first batch arrived before t_first: the rate counts the rest */
		double secs = t_last - t_first;
		uint64_t timed = dgrams - first_batch;

		for (i = 0; i < WR_REASON_COUNT; i++)
			rejected += k.out.rejected[i];
		printf("{\"tool\":\"perf-kernel-rx\",\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"records\":{\"seen\":%" PRIu64 ",\"accepted\":%" PRIu64
		       ",\"late\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"dropped\":%" PRIu64 "}"
		       ",\"windows\":%" PRIu64 ",\"udp_drops\":%" PRIu64 ",\"seconds\":%.6f"
		       ",\"packets_per_s\":%.1f,\"records_per_s\":%.1f"
		       ",\"rx_to_agg_ns\":{\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 "}}\n",
		       dgrams, bytes, k.out.records, k.folded, k.late, rejected, k.dropped,
		       k.windows, drops, secs,
		       secs > 0 ? (double)timed / secs : 0.0,
		       secs > 0 && dgrams ?
		       (double)k.folded * (double)timed / (double)dgrams / secs : 0.0,
		       hdr_percentile(k.lat, 50), hdr_percentile(k.lat, 99));
	}
	close(fd);
	agg_table_destroy(k.table);
	hdr_destroy(k.lat);
	rte_eal_cleanup();
	return dgrams > 0 ? 0 : 1;
}
