/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One DPDK log type per module (weir.dataplane, weir.aggregator,
 * weir.sink, weir.control), so levels can be changed per module at run
 * time (--log-level=weir.sink:debug, or weirctl set log.level). Messages
 * read as "event=... key=value" facts; never one per packet.
 */
#ifndef WR_LOG_H
#define WR_LOG_H

#include <rte_log.h>

extern int wr_logtype_dataplane;
extern int wr_logtype_aggregator;
extern int wr_logtype_sink;
extern int wr_logtype_control;

#define WR_LOG(level, module, fmt, ...) \
	rte_log(RTE_LOG_##level, wr_logtype_##module, "weir." #module ": " fmt "\n", ##__VA_ARGS__)

/** librdkafka / syslog severity (0 emerg .. 7 debug) to an rte_log level. */
static inline uint32_t
wr_log_from_syslog(int level)
{
	if (level < 0)
		level = 0;
	if (level > 7)
		level = 7;
	return (uint32_t)level + 1;	/* RTE_LOG_EMERG = 1 .. RTE_LOG_DEBUG = 8 */
}

#endif /* WR_LOG_H */
