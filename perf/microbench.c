/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perf-microbench: per-operation costs of the pieces of the RX and
 * aggregator paths, on one thread with everything preloaded:
 *  - each decoder: dp_decode_payload over the UDP payloads of a capture
 *    (ns per record and per datagram);
 *  - the device table: agg_table_process of a DATA record for an existing
 *    device (lookup + fold) at 10^4 and 10^6 devices, in random order, and
 *    of the first record of each device (insert: a new device and window);
 *  - agg_devkey_hash (the RX lcore's per-record hash) and hdr_record;
 *  - the sink (mb_sink.c): JSON doubles and results, and with
 *    --kafka-results N, N results through snk_loop into the embedded broker.
 * Prints JSON on stdout. Main lcore only (EAL for the TSC and the decoders).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "agg.h"
#include "cfg.h"
#include "dp.h"
#include "dp_decode.h"
#include "dp_parse.h"
#include "hdr.h"
#include "mb_sink.h"
#include "perf_common.h"

#define MIN_SECONDS	0.3	/* each figure: repeat until at least this long */
#define PAYLOADS_MAX	200000	/* per encoding: enough to leave the L2 cache */

struct mb_payload {
	const uint8_t *p;
	uint32_t n;
	int64_t arrival_ns;
};

struct mb_sink {
	struct dp_decode_out out;	/* must stay first: emit gets &out */
	uint64_t valid;
	uint64_t check;			/* keeps the decoded values observable */
};

static double min_seconds = MIN_SECONDS;

static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64: a reproducible order, no libc state */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
mb_emit(struct dp_decode_out *out, struct wr_record *r)
{
	struct mb_sink *s = (struct mb_sink *)out;

	s->valid++;
	s->check += (uint64_t)r->time_ns ^ r->present;
}

/* Decoder cost over one capture's payloads; prints "name":{...}. */
static int
bench_decoder(const char *name, const char *path, const struct dp_decode_cfg *dcfg,
	      const struct dp_port_set *ports, int first)
{
	static struct mb_sink sink;
	struct dp_capture cap;
	struct dp_pkt_info info;
	struct dp_pkt_meta meta;
	struct mb_payload *pl;
	char err[512];
	uint64_t i, n = 0, reps = 0, recs = 0, dgrams = 0;
	double t0, el;

	if (dp_capture_load(path, &cap, err, sizeof(err)) != 0) {
		fprintf(stderr, "perf-microbench: %s\n", err);
		return -1;
	}
	pl = calloc(RTE_MIN(cap.n, (uint64_t)PAYLOADS_MAX) + 1, sizeof(*pl));
	if (pl == NULL)
		return -1;
	for (i = 0; i < cap.n && n < PAYLOADS_MAX; i++) {
		if (dp_pkt_parse(cap.data + cap.off[i], cap.len[i], ports, &info) !=
		    DP_PKT_DATAGRAM)
			continue;
		pl[n].p = info.payload;
		pl[n].n = info.payload_len;
		pl[n].arrival_ns = cap.ts_ns[i];
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "perf-microbench: %s: no datagram\n", path);
		free(pl);
		dp_capture_free(&cap);
		return -1;
	}
	memset(&sink, 0, sizeof(sink));
	sink.out.emit = mb_emit;
	meta.shift_ns = 0;
	t0 = perf_mono_s();
	do {
		for (i = 0; i < n; i++) {
			meta.arrival_ns = pl[i].arrival_ns;
			dp_decode_payload(dcfg, &meta, pl[i].p, pl[i].n, &sink.out);
		}
		reps++;
		el = perf_mono_s() - t0;
	} while (el < min_seconds);
	recs = sink.out.records;
	dgrams = reps * n;
	printf("%s\"%s\":{\"payloads\":%" PRIu64 ",\"records\":%" PRIu64 ",\"valid\":%" PRIu64
	       ",\"ns_per_record\":%.2f,\"ns_per_datagram\":%.2f,\"check\":%" PRIu64 "}",
	       first ? "" : ",", name, n, recs, sink.valid, el * 1e9 / (double)recs,
	       el * 1e9 / (double)dgrams, sink.check & 0xffff);
	free(pl);
	dp_capture_free(&cap);
	return 0;
}

static uint64_t windows_closed;

static void
mb_window(void *arg, const struct wr_result *res)
{
	(void)arg;
	(void)res;
	windows_closed++;
}

/* Lookup + fold of one record for an existing device, devices in random order. */
static int
bench_table(const struct weir_config *c, uint32_t devices, int first)
{
	const size_t rs = wr_record_size(c->n_metrics);
	const int64_t t = 1732233600LL * 1000000000LL + 1000000000LL;
	struct agg_cfg ac;
	struct agg_table *tab;
	uint8_t *recs;
	uint64_t seed = 42, ops = 0, i;
	uint32_t *order, d, m;
	char name[16];
	double t0, el, ins;
	int rc = 0;

	snprintf(name, sizeof(name), "mb%u", devices);
	perf_agg_cfg(&ac, c, name, devices);
	tab = agg_table_create(&ac);
	recs = malloc((size_t)devices * rs);
	order = malloc((size_t)devices * sizeof(*order));
	if (tab == NULL || recs == NULL || order == NULL) {
		fprintf(stderr, "perf-microbench: table of %u devices: %s\n", devices,
			tab == NULL ? rte_strerror(rte_errno) : "out of memory");
		agg_table_destroy(tab);
		free(recs);
		free(order);
		return -2;	/* nothing printed */
	}
	/* records in a shuffled device order, so lookups miss the cache as live */
	for (d = 0; d < devices; d++)
		order[d] = d;
	for (d = devices - 1; d > 0; d--) {
		uint32_t j = (uint32_t)(rng_next(&seed) % (d + 1)), tmp = order[d];

		order[d] = order[j];
		order[j] = tmp;
	}
	for (d = 0; d < devices; d++) {
		struct wr_record *r = (struct wr_record *)(recs + (size_t)d * rs);

		memset(r, 0, rs);
		r->kind = WR_REC_DATA;
		r->time_ns = t;
		r->watermark_ns = t - c->allowed_lateness_ns;
		r->first_k = agg_floor_div(t - c->size_ns, c->slide_ns) + 1;
		r->id_len = (uint8_t)snprintf(r->id, sizeof(r->id), "dev-%07u", order[d]);
		r->hash = agg_devkey_hash(r->id, r->id_len);
		r->present = (1ULL << c->n_metrics) - 1;
		for (m = 0; m < c->n_metrics; m++)
			r->values[m] = 20.0 + (double)(rng_next(&seed) % 1000) / 100.0;
	}
	/* first pass inserts every device (timed apart); the timed passes only update */
	t0 = perf_mono_s();
	for (d = 0; d < devices; d++)
		if (agg_table_process(tab, (struct wr_record *)(recs + (size_t)d * rs), mb_window,
				      NULL) != 0)
			rc = -1;
	ins = perf_mono_s() - t0;
	t0 = perf_mono_s();
	do {
		for (i = 0; i < devices; i++)
			agg_table_process(tab, (struct wr_record *)(recs + i * rs), mb_window,
					  NULL);
		ops += devices;
		el = perf_mono_s() - t0;
	} while (el < min_seconds);
	printf("%s\"%u\":{\"devices\":%u,\"ops\":%" PRIu64 ",\"ns_per_update\":%.2f,"
	       "\"ns_per_insert\":%.2f,\"insert_errors\":%d}", first ? "" : ",", devices,
	       agg_table_devices(tab), ops, el * 1e9 / (double)ops, ins * 1e9 / (double)devices,
	       rc);
	agg_table_destroy(tab);
	free(recs);
	free(order);
	return rc;
}

static void
bench_hdr(void)
{
	enum { NV = 1 << 20 };
	struct hdr *h = hdr_create(3600000000000ULL, 3);
	uint64_t *v = malloc(NV * sizeof(*v)), seed = 7, ops = 0, i;
	double t0, el;

	if (h == NULL || v == NULL) {
		hdr_destroy(h);
		free(v);
		printf("\"hdr_record_ns\":null");
		return;
	}
	/* latencies from ~100 ns to ~100 ms, log-spread like real ones */
	for (i = 0; i < NV; i++)
		v[i] = (uint64_t)100 << (rng_next(&seed) % 20) | (rng_next(&seed) & 0xff);
	t0 = perf_mono_s();
	do {
		for (i = 0; i < NV; i++)
			hdr_record(h, v[i]);
		ops += NV;
		el = perf_mono_s() - t0;
	} while (el < min_seconds);
	printf("\"hdr_record_ns\":%.2f,\"hdr_count\":%" PRIu64, el * 1e9 / (double)ops,
	       hdr_count(h));
	hdr_destroy(h);
	free(v);
}

static void
bench_devkey_hash(void)
{
	enum { NID = 4096 };
	static char ids[NID][16];
	uint8_t len[NID];
	uint64_t ops = 0, acc = 0, i;
	double t0, el;

	for (i = 0; i < NID; i++)
		len[i] = (uint8_t)snprintf(ids[i], sizeof(ids[i]), "dev-%07" PRIu64, i * 241);
	t0 = perf_mono_s();
	do {
		for (i = 0; i < NID; i++)
			acc += agg_devkey_hash(ids[i], len[i]);
		ops += NID;
		el = perf_mono_s() - t0;
	} while (el < min_seconds);
	printf("\"devkey_hash_ns\":%.2f,\"devkey_hash_check\":%" PRIu64, el * 1e9 / (double)ops,
	       acc & 0xff);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: perf-microbench [--snr1 CAP] [--json CAP] [--influx CAP]\n"
		"                       [--devices N[,N...]] [--seconds S]\n"
		"                       [--kafka-results N] [--kafka-set KEY=VALUE]...\n"
		"Decoder ns/record over each capture's payloads, device table lookup+update\n"
		"ns at each N (default 10000,1000000), agg_devkey_hash and hdr_record ns,\n"
		"sink JSON ns per double and per result; --kafka-results N also pushes N\n"
		"results through the sink thread into the embedded broker.\n"
		"Prints JSON on stdout.\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "snr1", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "influx", required_argument, NULL, 'i' },
		{ "devices", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "kafka-results", required_argument, NULL, 'k' },
		{ "kafka-set", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct dp_port_set ports;
	struct weir_config cfg;
	struct dp_decode_cfg dcfg;
	const char *caps[3] = { NULL, NULL, NULL };
	static const char *const names[3] = { "snr1", "json", "influx" };
	char devices[256] = "10000,1000000";
	char *tok, *save = NULL;
	uint64_t max_dev = 0, kafka_results = 0;
	const char *sets[CFG_PASS_MAX];
	unsigned int n_set = 0;
	int opt, first = 1, rc = 0, e;
	unsigned int i;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			caps[0] = optarg;
			break;
		case 'j':
			caps[1] = optarg;
			break;
		case 'i':
			caps[2] = optarg;
			break;
		case 'd':
			snprintf(devices, sizeof(devices), "%s", optarg);
			break;
		case 'S':
			min_seconds = atof(optarg);
			break;
		case 'k':
			kafka_results = strtoull(optarg, NULL, 10);
			break;
		case 'K':	/* a [kafka] passthrough property, key=value */
			if (n_set >= RTE_DIM(sets))
				return perf_usage_exit(usage, 0);
			sets[n_set++] = optarg;
			break;
		default:
			return perf_usage_exit(usage, opt == 'h');
		}
	}
	if (optind != argc || !(min_seconds > 0))
		return perf_usage_exit(usage, 0);
	{
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s", devices);
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			uint64_t v = strtoull(tok, NULL, 10);

			if (v == 0 || v > 50000000)
				return perf_usage_exit(usage, 0);
			max_dev = RTE_MAX(max_dev, v);
		}
	}
	cfg_defaults(&cfg);
	for (i = 0; i < n_set; i++) {
		const char *eq = strchr(sets[i], '=');

		if (eq == NULL || (size_t)(eq - sets[i]) >= sizeof(cfg.kafka[0].key))
			return perf_usage_exit(usage, 0);
		snprintf(cfg.kafka[i].key, sizeof(cfg.kafka[i].key), "%.*s",
			 (int)(eq - sets[i]), sets[i]);
		snprintf(cfg.kafka[i].value, sizeof(cfg.kafka[i].value), "%s", eq + 1);
	}
	cfg.n_kafka = n_set;
	dp_decode_cfg_init(&dcfg, &cfg);
	for (i = 0; i < cfg.n_udp_ports; i++)
		dp_port_set_add(&ports, cfg.udp_ports[i]);

	if (perf_eal_init(argv[0], "perf-microbench", "mb", 128 + (max_dev * 200 >> 20),
			  "-l0") != 0)
		return 1;

	printf("{\"tool\":\"perf-microbench\",\"decode\":{");
	for (i = 0; i < 3; i++) {
		if (caps[i] == NULL)
			continue;
		e = bench_decoder(names[i], caps[i], &dcfg, &ports, first);
		if (e != 0)
			rc = 1;
		else
			first = 0;
	}
	printf("},\"agg_table\":{");
	first = 1;
	for (tok = strtok_r(devices, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		e = bench_table(&cfg, (uint32_t)strtoul(tok, NULL, 10), first);
		if (e != 0)
			rc = 1;
		if (e != -2)
			first = 0;
	}
	printf("},");
	bench_devkey_hash();
	putchar(',');
	bench_hdr();
	printf(",\"windows_closed\":%" PRIu64 ",", windows_closed);
	if (mb_sink_run(&cfg, kafka_results, min_seconds) != 0)
		rc = 1;
	printf("}\n");
	rte_eal_cleanup();
	return rc;
}
