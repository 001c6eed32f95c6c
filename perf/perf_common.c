/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Start-up and timing helpers of the perf/ tools (perf_common.h). Run on
 * each tool's main thread only; none is on a timed path but perf_mono_s.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "perf_common.h"

double
perf_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
perf_eal_init(const char *argv0, const char *tool, const char *tag, uint64_t mem_mb,
	      const char *lcores)
{
	/* EAL keeps pointers into argv: these must outlive the call */
	static char prefix[64], mem[32], lc[64], prog[256];
	static char *eal_argv[16];
	int eal_argc = 0;

	snprintf(prog, sizeof(prog), "%s", argv0);
	snprintf(prefix, sizeof(prefix), "--file-prefix=perf-%s-%d", tag, (int)getpid());
	snprintf(mem, sizeof(mem), "-m%" PRIu64, mem_mb);
	snprintf(lc, sizeof(lc), "%s", lcores);
	eal_argv[eal_argc++] = prog;
	eal_argv[eal_argc++] = "--no-huge";
	eal_argv[eal_argc++] = mem;
	eal_argv[eal_argc++] = "--no-pci";
	eal_argv[eal_argc++] = prefix;
	eal_argv[eal_argc++] = lc;
	eal_argv[eal_argc++] = "--log-level=lib.eal:warning";
	eal_argv[eal_argc] = NULL;
	rte_openlog_stream(stderr);
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "%s: EAL init failed: %s\n", tool, rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int
perf_udp_socket(const char *tool, uint16_t port, int connect_to, int bytes)
{
	const int force = connect_to ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
	const int capped = connect_to ? SO_SNDBUF : SO_RCVBUF;
	struct sockaddr_in sa;
	char what[128];
	int fd, rc;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		snprintf(what, sizeof(what), "%s: socket", tool);
		perror(what);
		return -1;
	}
	/* as root, beyond [rw]mem_max; else the capped size */
	if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(bytes)) != 0)
		setsockopt(fd, SOL_SOCKET, capped, &bytes, sizeof(bytes));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect_to)
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	else
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc != 0) {
		snprintf(what, sizeof(what), "%s: %s", tool, connect_to ? "connect" : "bind");
		perror(what);
		close(fd);
		return -1;
	}
	return fd;
}

void
perf_mmsg_init(struct mmsghdr *msgs, struct iovec *iov, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

void
perf_agg_cfg(struct agg_cfg *ac, const struct weir_config *c, const char *name,
	     uint32_t max_devices)
{
	memset(ac, 0, sizeof(*ac));
	ac->name = name;
	ac->socket = (int)rte_socket_id();
	ac->n_metrics = c->n_metrics;
	ac->size_ns = c->size_ns;
	ac->slide_ns = c->slide_ns;
	ac->lateness_ns = c->allowed_lateness_ns;
	ac->max_devices = max_devices;
}

int
perf_usage_exit(void (*usage)(FILE *f), int help)
{
	usage(help ? stdout : stderr);
	return help ? 0 : 2;
}
