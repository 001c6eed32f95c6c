/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ethernet port setup for the RX lcore: one RX queue (and one TX queue,
 * which some PMDs require) on any ethdev: a NIC, a vdev (net_pcap,
 * net_tap, net_af_packet) or the ring-backed replay port. Main thread,
 * at start and stop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mempool.h>

#include "dp.h"

int
dp_port_init(uint16_t port, struct rte_mempool *pool, uint16_t nb_rxd, char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nb_txd = 512;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %u: cannot get device info: %s", port, strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, nb_rxd, rte_eth_dev_socket_id(port), NULL,
					    pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, nb_txd, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	if (rc != 0) {
		snprintf(err, errlen, "port %u (%s): setup failed: %s", port, info.driver_name,
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
