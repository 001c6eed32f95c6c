/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet port setup for the RX lcores: one RX queue per RX lcore (and a
 * TX queue each, which some PMDs require; the ARP/ping responder answers
 * on it), RSS across them, on any ethdev: a NIC, a vdev (net_pcap,
 * net_tap, net_af_packet) or the ring-backed replay port; and the EAL
 * cleanup that removes our runtime directory. Main thread, at start and
 * stop.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mempool.h>

#include "dp.h"

/* What weir asks RSS to hash: UDP on the 4-tuple, fragments and other IP on addresses. */
#define WEIR_RSS_HF	(RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP | \
			 RTE_ETH_RSS_FRAG_IPV4 | RTE_ETH_RSS_FRAG_IPV6 | RTE_ETH_RSS_IPV4 | \
			 RTE_ETH_RSS_IPV6)

int
dp_port_init(uint16_t port, struct rte_mempool *pool, uint16_t nb_rxd, uint16_t n_queues,
	     char *err, size_t errlen)
{
	static uint8_t key[DP_RSS_KEY_LEN];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nb_txd = 512, q;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: cannot get device info: %s", port, strerror(-rc));
		return rc;
	}
	if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues) {
		snprintf(err, errlen, "port %u (%s): [dataplane] rx_queues %u: the port has at "
			 "most %u RX and %u TX queues", port, info.driver_name, n_queues,
			 info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	if (n_queues > 1) {
		uint64_t hf = WEIR_RSS_HF & info.flow_type_rss_offloads;

		memcpy(key, dp_rss_key, sizeof(key));
		conf.rxmode.mq_mode = hf != 0 ? RTE_ETH_MQ_RX_RSS : RTE_ETH_MQ_RX_NONE;
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
		if (info.hash_key_size == DP_RSS_KEY_LEN) {
			conf.rx_adv_conf.rss_conf.rss_key = key;
			conf.rx_adv_conf.rss_conf.rss_key_len = DP_RSS_KEY_LEN;
		}
		if (hf == 0)
			fprintf(stderr, "weir: port %u (%s) has no RSS: its driver spreads "
				"packets over the %u queues its own way (AF_PACKET: the kernel's "
				"flow hash fanout)\n", port, info.driver_name, n_queues);
		else if ((hf & (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP)) !=
			 (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP))
			fprintf(stderr, "weir: port %u (%s): RSS cannot hash UDP ports, only "
				"addresses: one sender's datagrams all go to one queue\n", port,
				info.driver_name);
	}
	rc = rte_eth_dev_configure(port, n_queues, n_queues, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	for (q = 0; rc == 0 && q < n_queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, rte_eth_dev_socket_id(port), NULL,
					    pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, nb_txd, rte_eth_dev_socket_id(port),
						    NULL);
	}
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0) {
		snprintf(err, errlen, "port %u (%s): setup with %u queue%s failed: %s", port,
			 info.driver_name, n_queues, n_queues == 1 ? "" : "s",
			 strerror(rc < 0 ? -rc : rc));
		return rc < 0 ? rc : -rc;
	}
	/* a sensor port receives datagrams for addresses other than ours */
	rte_eth_promiscuous_enable(port);
	return 0;
}

void
dp_port_stop(uint16_t port)
{
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
}

/*
 * Files a primary process leaves in its runtime directory (the telemetry
 * socket is unlinked only at process exit, after us).
 */
static int
runtime_file_ours(const char *name)
{
	return strcmp(name, "config") == 0 || strcmp(name, "hugepage_info") == 0 ||
	       strcmp(name, "mp_socket") == 0 || strncmp(name, "fbarray_", 8) == 0 ||
	       strncmp(name, "dpdk_telemetry.", 15) == 0;
}

/*
 * Remove dir when it holds only a primary's files: anything else (a
 * secondary's mp_socket_<pid>_..., a file someone put there) means another
 * user, and the directory stays.
 */
static int
runtime_dir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	int pass, rc = 0;
	DIR *d;

	for (pass = 0; pass < 2 && rc == 0; pass++) {
		d = opendir(dir);
		if (d == NULL)
			return -errno;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (!runtime_file_ours(e->d_name)) {
				rc = -EBUSY;
				break;
			}
			if (pass == 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
			    (int)sizeof(path)) {
				rc = -ENAMETOOLONG;
				break;
			}
			/* the telemetry thread may unlink its socket at the same time */
			if (unlink(path) != 0 && errno != ENOENT) {
				rc = -errno;
				break;
			}
		}
		closedir(d);
	}
	if (rc == 0 && rmdir(dir) != 0)
		rc = -errno;
	return rc;
}

int
dp_eal_cleanup(const char *own_prefix)
{
	char dir[PATH_MAX];
	const char *base;
	int rc, owned;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	base = strrchr(dir, '/');
	base = base != NULL ? base + 1 : dir;
	owned = own_prefix != NULL && dir[0] != '\0' && strcmp(base, own_prefix) == 0;
	rc = rte_eal_cleanup();
	if (rc != 0 || !owned)
		return rc;
	return runtime_dir_remove(dir);
}
