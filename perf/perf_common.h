/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers the perf/ tools share: the clock they time with, the EAL set-up
 * (no hugepages, no PCI, a per-process file prefix), the loopback UDP
 * socket and mmsghdr arrays of the kernel-socket baseline, the device
 * table config, and the usage exit of their option parsing. Main thread
 * of each tool, at start-up and around timed loops.
 */
#ifndef WEIR_PERF_COMMON_H
#define WEIR_PERF_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "agg.h"
#include "cfg.h"

/** CLOCK_MONOTONIC in seconds. */
double perf_mono_s(void);

/**
 * rte_eal_init with --no-huge -m<mem_mb> --no-pci
 * --file-prefix=perf-<tag>-<pid>, the lcore option given and EAL logs at
 * warning on stderr.
 * @return 0, or -1 after a message on stderr prefixed with tool.
 */
int perf_eal_init(const char *argv0, const char *tool, const char *tag, uint64_t mem_mb,
		  const char *lcores);

/**
 * A UDP socket bound (connect == 0) or connected to 127.0.0.1:port, its
 * buffer (SO_RCVBUF or SO_SNDBUF) asked at bytes -- beyond the sysctl
 * limit when root.
 * @return the fd, or -1 after perror prefixed with tool.
 */
int perf_udp_socket(const char *tool, uint16_t port, int connect, int bytes);

/** Zero n mmsghdrs, each pointing at its own single iovec. */
void perf_mmsg_init(struct mmsghdr *msgs, struct iovec *iov, unsigned int n);

/** Device table config of weir's window settings in c, for max_devices. */
void perf_agg_cfg(struct agg_cfg *ac, const struct weir_config *c, const char *name,
		  uint32_t max_devices);

/**
 * The end of option parsing: usage on stdout for --help (exit code 0),
 * on stderr otherwise (exit code 2).
 * @return the exit code for main.
 */
int perf_usage_exit(void (*usage)(FILE *f), int help);

#endif /* WEIR_PERF_COMMON_H */
