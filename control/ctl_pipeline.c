/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pipeline assembly and the one shutdown order (STYLE "Errors by phase"):
 * quit flag / end of input, wait for lcores (RX drains and sends FLUSH,
 * aggregators close every window), sink thread drains and flushes Kafka,
 * stop ports, destroy in reverse order, rte_eal_cleanup. Main thread.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
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
#include <rte_ip_frag.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "agg.h"
#include "agg_ckpt.h"
#include "agg_loop.h"
#include "ctl.h"
#include "ctl_priv.h"

#define EAL_ARGS_MAX	128
#define REPLAY_RING	4096
#define HDR_HIGHEST	3600000000000ULL	/* 1 h in ns */

static _Atomic int quit;	/* signal -> everyone: stop (live) / stop feeding (replay) */
static _Atomic int abort_workers; /* never set in a clean run */

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&quit, 1);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
has_arg(int argc, char **argv, const char *const *names)
{
	int i, k;

	for (i = 0; i < argc; i++)
		for (k = 0; names[k] != NULL; k++) {
			size_t n = strlen(names[k]);

			if (strncmp(argv[i], names[k], n) == 0 &&
			    (argv[i][n] == '\0' || argv[i][n] == '='))
				return 1;
		}
	return 0;
}

static int
free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n > 0;
}

/* The EAL file prefix weir picks (its runtime directory is removed at exit). */
static const char *
own_prefix(void)
{
	static char p[32];

	snprintf(p, sizeof(p), "weir-%d", (int)getpid());
	return p;
}

/*
 * argv for rte_eal_init: [eal] args, then the ones after `--`, then what
 * the user left out: a unique --file-prefix (so runs can be parallel),
 * an lcore map that fits the CPUs we may use, --no-huge (+ -m) when no
 * hugepages are free, --no-pci for replay.
 */
static int
eal_args_build(const struct ctl_options *o, unsigned int lcores_needed, uint64_t mem_mb,
	       char **argv, char *store, size_t store_len)
{
	static const char *const prefix_opts[] = { "--file-prefix", NULL };
	static const char *const lcore_opts[] = { "-l", "--lcores", "-c", NULL };
	static const char *const huge_opts[] = { "--no-huge", "--huge-dir", "--socket-mem",
						 "--in-memory", NULL };
	static const char *const mem_opts[] = { "-m", "--socket-mem", NULL };
	static const char *const pci_opts[] = { "--no-pci", "-a", "--allow", "-b", "--block",
						NULL };
	static const char *const log_opts[] = { "--log-level", NULL };
	char *p = store, *tok, *save = NULL;
	char eal[CFG_EAL_MAX];
	int argc = 0, user_first, i;
	size_t left = store_len;

#define PUSH(s) do { \
		int _n = snprintf(p, left, "%s", (s)); \
		if (_n < 0 || (size_t)_n >= left || argc >= EAL_ARGS_MAX - 1) \
			return -1; \
		argv[argc++] = p; p += _n + 1; left -= (size_t)_n + 1; \
	} while (0)

	PUSH("weir");
	user_first = argc;
	snprintf(eal, sizeof(eal), "%s", o->cfg.eal_args);
	for (tok = strtok_r(eal, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save))
		PUSH(tok);
	for (i = 0; i < o->eal_argc; i++)
		PUSH(o->eal_argv[i]);
	{
		int n_user = argc - user_first;
		char **user = argv + user_first;
		char buf[512];

		if (!has_arg(n_user, user, prefix_opts)) {
			snprintf(buf, sizeof(buf), "--file-prefix=%s", own_prefix());
			PUSH(buf);
		}
		if (!has_arg(n_user, user, lcore_opts)) {
			cpu_set_t set;
			int cpus[CPU_SETSIZE], n = 0, c;
			size_t off;

			CPU_ZERO(&set);
			if (sched_getaffinity(0, sizeof(set), &set) == 0)
				for (c = 0; c < CPU_SETSIZE; c++)
					if (CPU_ISSET(c, &set))
						cpus[n++] = c;
			if (n == 0)
				cpus[n++] = 0;
			if ((unsigned int)n >= lcores_needed) {
				off = (size_t)snprintf(buf, sizeof(buf), "--lcores=");
				for (c = 0; c < (int)lcores_needed; c++)
					off += (size_t)snprintf(buf + off, sizeof(buf) - off,
								"%s%d@%d", c ? "," : "", c,
								cpus[c]);
			} else {
				/* more lcores than CPUs: let them float over all of them */
				off = (size_t)snprintf(buf, sizeof(buf), "--lcores=(0-%u)@(",
						       lcores_needed - 1);
				for (c = 0; c < n && off < sizeof(buf) - 16; c++)
					off += (size_t)snprintf(buf + off, sizeof(buf) - off,
								"%s%d", c ? "," : "", cpus[c]);
				snprintf(buf + off, sizeof(buf) - off, ")");
			}
			PUSH(buf);
		}
		if (!has_arg(n_user, user, huge_opts) && !free_hugepages()) {
			fprintf(stderr, "weir: no free hugepages: running with --no-huge\n");
			PUSH("--no-huge");
			if (!has_arg(n_user, user, mem_opts)) {
				snprintf(buf, sizeof(buf), "-m%" PRIu64, mem_mb);
				PUSH(buf);
			}
		}
		if (o->replay && !has_arg(n_user, user, pci_opts))
			PUSH("--no-pci");
		if (!has_arg(n_user, user, log_opts))
			PUSH("--log-level=lib.eal:warning");
	}
	argv[argc] = NULL;
	return argc;
#undef PUSH
}


static uint64_t
mem_estimate_mb(const struct ctl_options *o, uint32_t max_len)
{
	const struct weir_config *c = &o->cfg;
	unsigned int tables = c->workers ? c->workers : 1;
	uint64_t room = RTE_MAX((uint64_t)RTE_MBUF_DEFAULT_BUF_SIZE,
				(uint64_t)max_len + RTE_PKTMBUF_HEADROOM);
	uint64_t b = 0;

	b += (uint64_t)c->mbufs * (room + 256);
	b += (uint64_t)tables * c->ring_size *
	     ((uint64_t)c->rx_queues * wr_record_size(c->n_metrics) +
	      wr_result_size(c->n_metrics));
	/* Device tables (agg_table.c: index, devices, window records, about
	 * 250 B per device-window) live in the process heap, not in EAL memory. */
	b += 128ULL << 20;
	return (b >> 20) + 1;
}

/*
 * How far an RX queue's watermark may trail the highest (rx_peer_raise):
 * a slide or the idle timeout, whichever is longer, so that traffic spread
 * over queues by RSS is judged as one stream would be.
 */
static int64_t
rx_skew(const struct weir_config *c)
{
	return RTE_MAX(c->slide_ns, c->idle_timeout_ns);
}

/*
 * The crash ledger ([checkpoint] dir): every lcore's counters live in
 * DIR/counters, mapped MAP_SHARED, so that their plain stores outlive a
 * SIGKILL in the page cache and the next start can say what the crashed run
 * lost: records it accepted (plus those it had restored) that reached
 * neither a window handed to the sink nor the checkpoint restored now.
 * A clean stop removes the file.
 */
#define LEDGER_MAGIC	0x4c525757u	/* "WWRL" */
#define LEDGER_VERSION	1
#define LEDGER_STRUCTS_MAX	4096

struct ledger_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t n_ctr;			/* WR_CTR_COUNT */
	uint32_t n_reason;		/* WR_REASON_COUNT */
	uint32_t n_structs;		/* struct wr_counters that follow */
	uint32_t tumbling;		/* size == slide: counts compare record for record */
	uint8_t pad[40];		/* the counters start 64-byte aligned */
};

static void
ledger_path(char *buf, size_t len, const char *dir)
{
	snprintf(buf, len, "%s/counters", dir);
}

/* A crashed run's ledger, summed into *sum. @return 1 when there was a usable one. */
static int
ledger_read(const char *dir, struct wr_counters *sum, int *tumbling)
{
	struct wr_counters one;
	struct ledger_hdr h;
	char path[PATH_MAX];
	struct stat stt;
	unsigned int i;
	int fd, ok = 0;

	ledger_path(path, sizeof(path), dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	memset(sum, 0, sizeof(*sum));
	if (fstat(fd, &stt) == 0 && pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    h.magic == LEDGER_MAGIC && h.version == LEDGER_VERSION && h.n_ctr == WR_CTR_COUNT &&
	    h.n_reason == WR_REASON_COUNT && h.n_structs <= LEDGER_STRUCTS_MAX &&
	    (uint64_t)stt.st_size == sizeof(h) + (uint64_t)h.n_structs * sizeof(one)) {
		ok = 1;
		for (i = 0; i < h.n_structs && ok; i++) {
			ok = pread(fd, &one, sizeof(one), (off_t)(sizeof(h) + i * sizeof(one))) ==
			     (ssize_t)sizeof(one);
			if (ok)
				wr_counters_add(sum, &one);
		}
		*tumbling = h.tumbling != 0;
	}
	close(fd);
	if (!ok)
		fprintf(stderr, "weir: %s is not a counter ledger of this weir version: the "
			"records a crash lost are not counted this time\n", path);
	return ok;
}

/* A fresh ledger for n counter structs, zeroed. @return them, or NULL with err. */
static struct wr_counters *
ledger_map(struct ctl_pipeline *pl, const char *dir, unsigned int n, char *err, size_t errlen)
{
	struct ledger_hdr h = {
		.magic = LEDGER_MAGIC,
		.version = LEDGER_VERSION,
		.n_ctr = WR_CTR_COUNT,
		.n_reason = WR_REASON_COUNT,
		.n_structs = n,
		.tumbling = pl->o->cfg.size_ns == pl->o->cfg.slide_ns,
	};
	size_t len = sizeof(h) + (size_t)n * sizeof(struct wr_counters);
	char path[PATH_MAX];
	void *m;
	int fd;

	ledger_path(path, sizeof(path), dir);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "[checkpoint] dir: cannot create %.512s: %s", dir,
			 strerror(errno));
		return NULL;
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || ftruncate(fd, (off_t)len) != 0) {
		snprintf(err, errlen, "[checkpoint] dir: cannot create %.512s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "[checkpoint] dir: cannot map %.512s: %s", path,
			 strerror(errno));
		return NULL;
	}
	memcpy(m, &h, sizeof(h));	/* the rest is zero (ftruncate) */
	pl->ledger = m;
	pl->ledger_len = len;
	return (struct wr_counters *)((uint8_t *)m + sizeof(h));
}

/*
 * After the restore: what the crashed run had open (accepted + restored -
 * handed to the sink, tumbling windows) minus what came back now.
 */
static void
ledger_lost(struct ctl_pipeline *pl, const struct wr_counters *prev, int prev_tumbling)
{
	uint64_t open_then, back = 0;
	unsigned int i;

	if (!prev_tumbling || pl->o->cfg.size_ns != pl->o->cfg.slide_ns)
		return;		/* hopping: counts are per window joined, not per record */
	for (i = 0; i < pl->n_rx + pl->n_out; i++)
		back += pl->ctr[i].v[WR_CTR_CKPT_RESTORED_RECORDS];
	open_then = wr_counters_accepted(prev) + prev->v[WR_CTR_CKPT_RESTORED_RECORDS] -
		    prev->v[WR_CTR_REC_CLOSED];
	if (open_then < back || open_then > wr_counters_accepted(prev) +
	    prev->v[WR_CTR_CKPT_RESTORED_RECORDS]) {
		fprintf(stderr, "weir: the crash ledger does not add up (open %" PRIu64
			", restored %" PRIu64 "): lost records not counted\n", open_then, back);
		return;
	}
	pl->ctr[0].v[WR_CTR_CKPT_LOST_RECORDS] = open_then - back;
	fprintf(stderr, "weir: the crashed run lost %" PRIu64 " records (accepted, in no "
		"result and no checkpoint); checkpoint.lost_records counts them\n",
		open_then - back);
}

/*
 * [checkpoint]: open every table owner's files and put back what a crashed
 * run saved. The RX lcore resumes from the newest checkpoint's watermark
 * state, raised to the highest close mark: a window some owner closed (so
 * Kafka may hold it) must stay closed for every later record.
 */
static int
ckpt_setup(struct ctl_pipeline *pl, char *err, size_t errlen)
{
	const struct weir_config *c = &pl->o->cfg;
	const char *names[WR_METRICS_MAX];
	struct agg_ckpt_fp fp = {
		.n_metrics = c->n_metrics,
		.workers = c->workers,
		.size_ns = c->size_ns,
		.slide_ns = c->slide_ns,
	};
	struct wr_ckpt_rx rx;
	int64_t wm;
	unsigned int w;

	for (w = 0; w < c->n_metrics; w++)
		names[w] = c->metrics[w];
	fp.names_crc = agg_ckpt_names_crc(names, c->n_metrics);
	pl->ckpt_rx.w = INT64_MIN;
	pl->ckpt_rx.t_max = INT64_MIN;
	for (w = 0; w < pl->n_out; w++) {
		/* the owner's counters: worker w, or RX when it aggregates inline */
		struct wr_counters *ctr = &pl->ctr[pl->n_workers == 0 ? 0 : pl->n_rx + w];

		fp.worker = w;
		pl->ckpt[w] = agg_ckpt_open(c->ckpt_dir, &fp, ctr, err, errlen);
		if (pl->ckpt[w] == NULL)
			return -1;
		if (w < pl->n_workers)
			pl->workers[w].ckpt = pl->ckpt[w];
		memset(&rx, 0, sizeof(rx));
		if (agg_ckpt_restore(pl->ckpt[w], pl->tables[w], &rx) != 1)
			continue;
		/* owners may hold different checkpoints (killed between two
		 * writes): the newest RX state, the highest watermark */
		wm = RTE_MAX(pl->ckpt_rx.w, rx.w);
		if (rx.seq > pl->ckpt_rx.seq)
			pl->ckpt_rx = rx;
		pl->ckpt_rx.w = wm;
	}
	pl->ckpt_writer = agg_ckpt_writer_start(pl->ckpt, pl->n_out, err, errlen);
	if (pl->ckpt_writer == NULL)
		return -1;
	wm = agg_ckpt_dir_closed_wm(c->ckpt_dir);
	if (wm > pl->ckpt_rx.w)
		pl->ckpt_rx.w = wm;
	if (pl->ckpt_rx.seq != 0 || pl->ckpt_rx.w != INT64_MIN)
		fprintf(stderr, "weir: resuming from checkpoint %" PRIu64 " in %s: watermark %"
			PRId64 " ms\n", pl->ckpt_rx.seq, c->ckpt_dir,
			pl->ckpt_rx.w == INT64_MIN ? -1 : pl->ckpt_rx.w / 1000000);
	return 0;
}

static int
pipeline_setup(struct ctl_pipeline *pl, char *err, size_t errlen)
{
	const struct weir_config *c = &pl->o->cfg;
	size_t rec_size = wr_record_size(c->n_metrics), res_size = wr_result_size(c->n_metrics);
	unsigned int socket = rte_socket_id(), w, i;
	char name[RTE_RING_NAMESIZE];
	struct wr_counters prev;
	int have_prev = 0, prev_tumbling = 0;
	uint32_t room;
	int rc;

	dp_decode_cfg_init(&pl->tun[0].dcfg, c);
	pl->tun[0].lateness_ns = c->allowed_lateness_ns;
	pl->tun[0].idle_ns = c->idle_timeout_ns;
	pl->tun[0].dlq_rate = c->rejected_rate;
	pl->size_ns = c->size_ns;
	pl->slide_ns = c->slide_ns;
	/* the aggregator keeps K = (S + L)/D + 2 window slots per device: the
	 * largest lateness it can hold without closing windows early */
	pl->lateness_max_ns = ((c->size_ns + c->allowed_lateness_ns) / c->slide_ns + 1) *
			      c->slide_ns - c->size_ns - 1;
	for (i = 0; i < c->n_udp_ports; i++)
		dp_port_set_add(&pl->ports, c->udp_ports[i]);
	pl->n_workers = c->workers;
	pl->n_out = c->workers ? c->workers : 1;
	pl->n_rx = c->rx_queues;
	if (rte_lcore_count() < 1 + pl->n_rx + pl->n_workers) {
		snprintf(err, errlen, "need %u lcores (main, %u RX, %u aggregator%s), EAL gave %u",
			 1 + pl->n_rx + pl->n_workers, pl->n_rx, pl->n_workers,
			 pl->n_workers == 1 ? "" : "s", rte_lcore_count());
		return -1;
	}

	/* sink first: the embedded broker must be up before anything produces */
	if (strcmp(c->brokers, "embedded") == 0) {
		pl->broker = snk_broker_start(c, pl->bootstrap, sizeof(pl->bootstrap), err, errlen);
		if (pl->broker == NULL)
			return -1;
		fprintf(stderr, "weir: embedded broker (librdkafka mock cluster) at %s\n",
			pl->bootstrap);
	} else {
		snprintf(pl->bootstrap, sizeof(pl->bootstrap), "%s", c->brokers);
	}
	pl->kafka = snk_kafka_create(c, pl->bootstrap, err, errlen);
	if (pl->kafka == NULL)
		return -1;

	room = RTE_MAX(c->mbuf_size, (unsigned int)RTE_PKTMBUF_HEADROOM + 1024);
	if (pl->o->replay && pl->cap.max_len + RTE_PKTMBUF_HEADROOM > room)
		room = RTE_MIN(pl->cap.max_len + RTE_PKTMBUF_HEADROOM, (uint32_t)UINT16_MAX);
	pl->pool = rte_pktmbuf_pool_create("weir_mbufs", c->mbufs, 256, 0, (uint16_t)room,
					   (int)socket);
	if (pl->pool == NULL) {
		snprintf(err, errlen, "cannot create the mbuf pool (%u mbufs of %u bytes): %s",
			 c->mbufs, room, rte_strerror(rte_errno));
		return -1;
	}

	if (pl->o->replay) {
		rc = dp_replay_dynfield_register();
		if (rc < 0) {
			snprintf(err, errlen, "cannot register the replay mbuf field: %s",
				 rte_strerror(rte_errno));
			return -1;
		}
		pl->rx[0].dynfield_off = rc;
		for (i = 0; i < pl->n_rx; i++) {
			snprintf(name, sizeof(name), "replay_to_rx%u", i);
			pl->replay_rings[i] = rte_ring_create(name, REPLAY_RING, (int)socket,
							      RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (pl->replay_rings[i] == NULL) {
				snprintf(err, errlen, "cannot create the replay ring: %s",
					 rte_strerror(rte_errno));
				return -1;
			}
		}
		if (pl->n_rx > 1) {
			/* the queue RSS would pick for each frame, once, before the clock runs */
			rc = dp_capture_queues(&pl->cap, pl->n_rx, &pl->replay_queue_of);
			if (rc != 0) {
				snprintf(err, errlen, "cannot spread the capture over %u "
					 "queues: %s", pl->n_rx, strerror(-rc));
				return -1;
			}
		}
		pl->port_id = rte_eth_from_rings("net_replay", pl->replay_rings, pl->n_rx,
						 pl->replay_rings, pl->n_rx, socket);
		if (pl->port_id < 0) {
			snprintf(err, errlen, "cannot create the replay port: %s",
				 rte_strerror(rte_errno));
			return -1;
		}
	} else {
		uint16_t pid;

		pl->port_id = -1;
		RTE_ETH_FOREACH_DEV(pid) {
			if (pl->port_id < 0)
				pl->port_id = pid;
		}
		if (pl->port_id < 0) {
			snprintf(err, errlen, "no DPDK port: give one with EAL arguments, e.g. "
				 "-- --vdev=net_pcap0,iface=eth0 or a NIC bound to vfio-pci");
			return -1;
		}
		if (rte_eth_dev_count_avail() > 1)
			fprintf(stderr, "weir: %u ports found, receiving on port %d only\n",
				rte_eth_dev_count_avail(), pl->port_id);
	}
	rc = dp_port_init((uint16_t)pl->port_id, pl->pool, 1024, (uint16_t)pl->n_rx, err, errlen);
	if (rc != 0)
		return -1;
	if (c->reassembly_flows > 0) {
		/* up to RTE_LIBRTE_IP_FRAG_MAX_FRAG fragment copies per datagram,
		 * in a pool of their own: the RX pool is never starved by them;
		 * a table per RX queue (RSS keeps a datagram's fragments together) */
		unsigned int n = pl->n_rx * c->reassembly_flows * RTE_LIBRTE_IP_FRAG_MAX_FRAG + 512;
		uint32_t flows = rte_align32pow2(c->reassembly_flows);

		pl->frag_pool = rte_pktmbuf_pool_create("weir_frags", n, 64, 0,
							(uint16_t)room, (int)socket);
		for (i = 0; i < pl->n_rx && pl->frag_pool != NULL; i++) {
			pl->frag_tbl[i] = rte_ip_frag_table_create(flows, 16, c->reassembly_flows,
					(uint64_t)c->reassembly_timeout_ns, (int)socket);
			if (pl->frag_tbl[i] == NULL)
				break;
		}
		if (pl->frag_pool == NULL || i < pl->n_rx) {
			snprintf(err, errlen, "[dataplane] reassembly_flows %u: cannot create the "
				 "reassembly table and its %u mbufs: %s", c->reassembly_flows, n,
				 rte_strerror(rte_errno));
			return -1;
		}
	}
	if (c->address[0] != '\0' || c->address6[0] != '\0') {
		struct rte_ether_addr mac;

		if (pl->o->replay) {
			fprintf(stderr, "weir: [input] address/address6: no ARP/ping answers in "
				"replay (there is no one to answer)\n");
		} else if (rte_eth_macaddr_get((uint16_t)pl->port_id, &mac) != 0) {
			snprintf(err, errlen, "[input] address: cannot read port %d's MAC "
				 "address", pl->port_id);
			return -1;
		} else {
			memcpy(pl->host.mac, mac.addr_bytes, sizeof(pl->host.mac));
			pl->host.has_ip4 = c->address[0] != '\0' &&
					   inet_pton(AF_INET, c->address, pl->host.ip4) == 1;
			pl->host.has_ip6 = c->address6[0] != '\0' &&
					   inet_pton(AF_INET6, c->address6, pl->host.ip6) == 1;
			pl->rx[0].host = &pl->host;
			pl->rx[0].host_pool = pl->pool;
			fprintf(stderr, "weir: answering ARP/ND and ping for %s%s%s on port %d "
				"(MAC " RTE_ETHER_ADDR_PRT_FMT ")\n", c->address,
				c->address[0] && c->address6[0] ? " and " : "", c->address6,
				pl->port_id, RTE_ETHER_ADDR_BYTES(&mac));
		}
	}

	if (c->ckpt_dir[0] != '\0') {
		have_prev = ledger_read(c->ckpt_dir, &prev, &prev_tumbling);
		pl->ctr = ledger_map(pl, c->ckpt_dir, pl->n_rx + pl->n_out, err, errlen);
		if (pl->ctr == NULL)
			return -1;
	} else {
		pl->ctr = aligned_alloc(64, sizeof(*pl->ctr) * (pl->n_rx + pl->n_out));
		if (pl->ctr == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memset(pl->ctr, 0, sizeof(*pl->ctr) * (pl->n_rx + pl->n_out));
	}
	for (w = 0; w < pl->n_out; w++) {
		struct agg_cfg ac = {
			.socket = (int)socket,
			.n_metrics = c->n_metrics,
			.size_ns = c->size_ns,
			.slide_ns = c->slide_ns,
			/* several queues: room for windows up to the skew apart */
			.lateness_ns = c->allowed_lateness_ns + (pl->n_rx > 1 ? rx_skew(c) : 0),
			.max_devices = c->max_devices,
			.devices_in_use = &pl->devices_in_use,
			.devices_limit = c->max_devices,
		};
		char tname[32];

		snprintf(tname, sizeof(tname), "agg%u", w);
		ac.name = tname;
		pl->tables[w] = agg_table_create(&ac);
		if (pl->tables[w] == NULL) {
			snprintf(err, errlen, "aggregator %u: cannot create the device table for "
				 "%u devices: %s (lower [aggregator] max_devices?)", w,
				 c->max_devices, rte_strerror(rte_errno));
			return -1;
		}
		pl->lat[w] = hdr_create(HDR_HIGHEST, 3);
		snprintf(name, sizeof(name), "agg%u_to_sink", w);
		pl->to_sink[w] = rte_ring_create_elem(name, (unsigned int)res_size, c->ring_size,
						      (int)socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (pl->lat[w] == NULL || pl->to_sink[w] == NULL) {
			snprintf(err, errlen, "aggregator %u: cannot create %s: %s", w, name,
				 rte_strerror(rte_errno));
			return -1;
		}
		if (pl->n_workers == 0)
			break;
		pl->workers[w] = (struct agg_worker){
			.index = w,
			.table = pl->tables[w],
			.n_in = pl->n_rx,
			.skew_ns = rx_skew(c),
			.out = pl->to_sink[w],
			.rec_size = rec_size,
			.res_size = res_size,
			.quit = &abort_workers,
			.producers_done = &pl->producers_done,
			.ctr = &pl->ctr[pl->n_rx + w],
			.lat = pl->lat[w],
		};
		for (i = 0; i < pl->n_rx; i++) {
			struct rte_ring **r = &pl->to_agg[i * pl->n_workers + w];

			if (pl->n_rx == 1)
				snprintf(name, sizeof(name), "rx_to_agg%u", w);
			else
				snprintf(name, sizeof(name), "rx%u_to_agg%u", i % 100u, w % 1000u);
			*r = rte_ring_create_elem(name, (unsigned int)rec_size, c->ring_size,
						  (int)socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (*r == NULL) {
				snprintf(err, errlen, "cannot create %s: %s", name,
					 rte_strerror(rte_errno));
				return -1;
			}
			pl->workers[w].in[i] = *r;
		}
	}

	if (c->ckpt_dir[0] != '\0' && ckpt_setup(pl, err, errlen) != 0)
		return -1;
	if (have_prev)
		ledger_lost(pl, &prev, prev_tumbling);

	/* alerts: every aggregator (or the RX lcore inline) -> the sink */
	pl->alerts_ring = rte_ring_create_elem("agg_to_sink_alerts", sizeof(struct wr_alert),
					       4096, (int)socket, RING_F_SC_DEQ);
	pl->rule_versions[0] = malloc(sizeof(struct wr_alert_rules));
	if (pl->alerts_ring == NULL || pl->rule_versions[0] == NULL) {
		snprintf(err, errlen, "cannot create the alerts ring: %s",
			 rte_strerror(rte_errno));
		return -1;
	}
	*pl->rule_versions[0] = c->alerts;
	pl->n_rule_versions = 1;
	atomic_init(&pl->alert_rules, pl->rule_versions[0]);
	for (w = 0; w < pl->n_out; w++) {
		pl->alert_state[w] = agg_alerts_create(c->alert_devices);
		if (pl->alert_state[w] == NULL) {
			snprintf(err, errlen, "out of memory for alert state");
			return -1;
		}
		if (w < pl->n_workers) {
			pl->workers[w].alert_rules = &pl->alert_rules;
			pl->workers[w].alerts = pl->alert_state[w];
			pl->workers[w].alerts_out = pl->alerts_ring;
			pl->workers[w].alert_slide_ns = c->slide_ns;
		}
	}

	/* dead letters: small ring, rate limited on the RX lcore */
	pl->dlq = rte_ring_create_elem("rx_to_sink_dlq", sizeof(struct wr_dead_letter), 1024,
				       (int)socket, (pl->n_rx == 1 ? RING_F_SP_ENQ : 0) |
				       RING_F_SC_DEQ);
	if (pl->dlq == NULL) {
		snprintf(err, errlen, "cannot create rx_to_sink_dlq: %s", rte_strerror(rte_errno));
		return -1;
	}

	for (i = 0; i < pl->n_rx; i++) {
		struct dp_rx *rx = &pl->rx[i];

		*rx = (struct dp_rx){
			.port_id = (uint16_t)pl->port_id,
			.queue_id = (uint16_t)i,
			.burst = c->burst,
			.ports = &pl->ports,
			.size_ns = c->size_ns,
			.slide_ns = c->slide_ns,
			.time_arrival = c->time_mode == CFG_TIME_ARRIVAL,
			.replay = pl->o->replay,
			.dynfield_off = pl->rx[0].dynfield_off,
			.n_workers = pl->n_workers,
			.host = pl->rx[0].host,
			.host_pool = pl->rx[0].host_pool,
			.frag_tbl = pl->frag_tbl[i],
			.frag_pool = pl->frag_pool,
			.to_agg = &pl->to_agg[i * pl->n_workers],
			.peers = pl->rx,
			.n_peers = pl->n_rx,
			.skew_ns = rx_skew(c),
			.n_metrics = c->n_metrics,
			.rec_size = rec_size,
			.inline_table = pl->n_workers == 0 ? pl->tables[0] : NULL,
			.inline_out = pl->to_sink[0],
			.res_size = res_size,
			.inline_lat = pl->lat[0],
			.producers_done = &pl->producers_done,
			.quit = &quit,
			.input_done = &pl->input_done,
			.ctr = &pl->ctr[i],
			.dlq = pl->dlq,
			.alert_rules = pl->n_workers == 0 ? &pl->alert_rules : NULL,
			.alerts = pl->n_workers == 0 ? pl->alert_state[0] : NULL,
			.alerts_out = pl->alerts_ring,
			.inline_ckpt = pl->n_workers == 0 ? pl->ckpt[0] : NULL,
			.ckpt_interval_ns = c->ckpt_dir[0] != '\0' ? c->ckpt_interval_ns : 0,
			.restore = pl->ckpt_rx.seq != 0 || pl->ckpt_rx.w != INT64_MIN ?
				   &pl->ckpt_rx : NULL,
		};
		atomic_init(&rx->watermark_ns, INT64_MIN);
		atomic_init(&rx->tun, &pl->tun[0]);
		if (dp_rx_init(rx) != 0) {
			snprintf(err, errlen, "out of memory for the RX lcore");
			return -1;
		}
	}

	pl->sink_arg = (struct snk_loop_arg){
		.kafka = pl->kafka,
		.rings = pl->to_sink,
		.n_rings = pl->n_out,
		.n_metrics = c->n_metrics,
		.dlq = pl->dlq,
		.alerts = pl->alerts_ring,
		.producers_done = &pl->producers_done,
		.n_producers = pl->n_out,
		.flush_timeout_ms = (int)c->shutdown_timeout_ms,
	};
	return 0;
}

static int
pipeline_launch(struct ctl_pipeline *pl, char *err, size_t errlen)
{
	unsigned int lcore, w = 0, q = 0;
	int rc;

	rc = pthread_create(&pl->sink_thread, NULL, snk_loop, &pl->sink_arg);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the sink thread: %s", strerror(rc));
		return -1;
	}
	pthread_setname_np(pl->sink_thread, "weir-sink");
	pl->sink_started = 1;
	/* aggregators first, so the RX lcore never waits on an unstarted ring */
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (q < pl->n_rx) {
			pl->rx_lcore[q++] = lcore;	/* the first worker lcores: RX */
			continue;
		}
		if (w == pl->n_workers)
			break;
		pl->agg_lcore[w] = lcore;
		rte_eal_remote_launch(agg_loop, &pl->workers[w++], lcore);
	}
	for (q = 0; q < pl->n_rx; q++)
		rte_eal_remote_launch(dp_rx_loop, &pl->rx[q], pl->rx_lcore[q]);
	return 0;
}

static void
pipeline_destroy(struct ctl_pipeline *pl)
{
	unsigned int w;

	for (w = 0; w < CFG_RX_QUEUES_MAX; w++)
		dp_rx_free(&pl->rx[w]);
	agg_ckpt_writer_stop(pl->ckpt_writer);	/* before the states it reads */
	pl->ckpt_writer = NULL;
	if (pl->port_id >= 0)
		dp_port_stop((uint16_t)pl->port_id);
	for (w = 0; w < pl->n_out; w++) {
		agg_ckpt_close(pl->ckpt[w]);
		agg_table_destroy(pl->tables[w]);
		agg_table_destroy(pl->next_tables[w]);
		hdr_destroy(pl->lat[w]);
		rte_ring_free(pl->to_sink[w]);
	}
	for (w = 0; w < CFG_RX_QUEUES_MAX * RTE_MAX_LCORE; w++)
		rte_ring_free(pl->to_agg[w]);
	for (w = 0; w < CFG_RX_QUEUES_MAX; w++) {
		rte_ring_free(pl->replay_rings[w]);
		if (pl->frag_tbl[w] != NULL)
			rte_ip_frag_table_destroy(pl->frag_tbl[w]);
	}
	free(pl->replay_queue_of);
	rte_ring_free(pl->dlq);
	rte_ring_free(pl->alerts_ring);
	for (w = 0; w < pl->n_rule_versions; w++)
		free(pl->rule_versions[w]);
	for (w = 0; w < pl->n_out; w++)
		agg_alerts_destroy(pl->alert_state[w]);
	rte_mempool_free(pl->frag_pool);
	rte_mempool_free(pl->pool);
	snk_kafka_destroy(pl->kafka);
	snk_broker_stop(pl->broker);
	if (pl->ledger != NULL)
		munmap(pl->ledger, pl->ledger_len);
	else
		free(pl->ctr);
	dp_capture_free(&pl->cap);
}

int
ctl_main(struct ctl_options *o)
{
	static struct ctl_pipeline pipeline;
	struct ctl_pipeline *pl = &pipeline;
	static char eal_store[16384];
	char *eal_argv[EAL_ARGS_MAX];
	struct ctl_report rep;
	struct dp_replay feed;
	char err[1024];
	double t0, t1, t2;
	int eal_argc, rc = 0;
	unsigned int w;
	struct sigaction sa;
	static const char *const legacy_opts[] = { "--legacy-mem", NULL };
	struct ctl_user user;
	int legacy_mem;

	memset(pl, 0, sizeof(*pl));
	pl->o = o;
	pl->config_file = o->config_file;
	pl->start_s = mono_s();
	pl->port_id = -1;
	if (o->replay && dp_capture_load(o->capture, &pl->cap, err, sizeof(err)) != 0) {
		fprintf(stderr, "weir replay: %s\n", err);
		return 2;
	}
	eal_argc = eal_args_build(o, 1 + o->cfg.rx_queues + o->cfg.workers,
				  mem_estimate_mb(o, pl->cap.max_len),
				  eal_argv, eal_store, sizeof(eal_store));
	if (eal_argc < 0) {
		fprintf(stderr, "weir: too many EAL arguments\n");
		return 2;
	}
	legacy_mem = has_arg(eal_argc, eal_argv, legacy_opts);
	rte_openlog_stream(stderr);	/* stdout carries only the summary */
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "weir: EAL init failed: %s\n", rte_strerror(rte_errno));
		dp_capture_free(&pl->cap);
		return 1;
	}
	if (ctl_user_check(&o->cfg, legacy_mem, &user, err, sizeof(err)) != 0) {
		fprintf(stderr, "weir: %s\n", err);
		dp_capture_free(&pl->cap);
		rte_eal_cleanup();
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (pipeline_setup(pl, err, sizeof(err)) != 0 ||
	    pipeline_launch(pl, err, sizeof(err)) != 0) {
		fprintf(stderr, "weir: %s\n", err);
		pipeline_destroy(pl);
		dp_eal_cleanup(own_prefix());
		return 1;
	}
	/* weirctl and /metrics: optional, the pipeline runs without them */
	if (ctl_server_start(pl, err, sizeof(err)) != 0)
		fprintf(stderr, "weir: warning: %s; running without weirctl and metrics\n", err);
	/* everything that needs root is up: ports, sockets, broker, threads */
	if (user.active) {
		ctl_server_handover(pl, user.uid, user.gid);
		if (ctl_user_drop(&user, err, sizeof(err)) != 0) {
			/* never run on as root when told not to: stop as on SIGTERM */
			fprintf(stderr, "weir: %s: stopping\n", err);
			atomic_store(&quit, 1);
			rc = 2;
		}
	}
	memset(&feed, 0, sizeof(feed));
	t0 = mono_s();
	if (o->replay) {
		feed = (struct dp_replay){
			.cap = &pl->cap,
			.rings = pl->replay_rings,
			.n_rings = pl->n_rx,
			.queue_of = pl->replay_queue_of,
			.pool = pl->pool,
			.dynfield_off = pl->rx[0].dynfield_off,
			.speed_mode = o->speed_mode,
			.speed = o->speed,
			.loops = o->loops,
			.progress = 1,
			.quit = &quit,
		};
		fprintf(stderr, "weir: replaying %s: %" PRIu64 " frames x %" PRIu64 " loop%s\n",
			o->capture, pl->cap.n, o->loops, o->loops == 1 ? "" : "s");
		dp_replay_feed(&feed);
		atomic_store_explicit(&pl->input_done, 1, memory_order_release);
	} else {
		fprintf(stderr, "weir: running on port %d, udp ports", pl->port_id);
		for (w = 0; w < o->cfg.n_udp_ports; w++)
			fprintf(stderr, " %u", o->cfg.udp_ports[w]);
		fprintf(stderr, "; SIGINT/SIGTERM to stop\n");
		while (!atomic_load(&quit))
			usleep(100000);
		fprintf(stderr, "weir: stopping: flushing open windows\n");
	}
	/* RX drains and sends FLUSH; aggregators close everything and exit */
	rte_eal_mp_wait_lcore();
	t1 = mono_s();
	pthread_join(pl->sink_thread, NULL);
	t2 = mono_s();
	/* every window is flushed and with the sink (delivered, spilled or
	 * counted failed): nothing is left for a restart to resume */
	agg_ckpt_writer_stop(pl->ckpt_writer);
	pl->ckpt_writer = NULL;
	if (o->cfg.ckpt_dir[0] != '\0' && pl->ckpt[0] != NULL) {
		char path[PATH_MAX];

		agg_ckpt_dir_clear(o->cfg.ckpt_dir);
		ledger_path(path, sizeof(path), o->cfg.ckpt_dir);
		unlink(path);	/* a clean stop: nothing lost to count next time */
	}
	ctl_server_stop(pl);

	memset(&rep, 0, sizeof(rep));
	for (w = 0; w < pl->n_rx + pl->n_out; w++)
		wr_counters_add(&rep.sum, &pl->ctr[w]);
	rep.kafka = snk_kafka_stats(pl->kafka);
	rep.rx_to_agg = hdr_create(HDR_HIGHEST, 3);
	for (w = 0; w < pl->n_out && rep.rx_to_agg != NULL; w++)
		hdr_merge(rep.rx_to_agg, pl->lat[w]);
	rep.close_to_ack = snk_kafka_latency(pl->kafka);
	rep.seconds = t1 - t0;
	rep.wall_seconds = t2 - t0;
	rep.max_lag_s = feed.max_lag_s;
	rep.schedule_s = feed.schedule_s;
	rep.rxq = pl->ctr;
	rep.n_rxq = pl->n_rx;
	rep.loops = o->replay ? o->loops : 0;
	rep.watermark_ns = ctl_watermark(pl);
	if (rep.rx_to_agg != NULL) {
		if (o->replay)
			ctl_summary_write(stdout, &rep);
		else
			ctl_summary_write(stderr, &rep);
		hdr_destroy(rep.rx_to_agg);
	}
	if (atomic_load(&rep.kafka->failed) != 0) {
		fprintf(stderr,
			"weir: %" PRIu64 " window results could not be delivered to Kafka\n",
			(uint64_t)atomic_load(&rep.kafka->failed));
		rc = 3;
	}
	pipeline_destroy(pl);
	dp_eal_cleanup(own_prefix());
	return rc;
}
