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

/*
 * At most one line per second for an overload event (ring full, device
 * table full, ...), saying how many happened since the last line. The
 * caller counts every event in its counter anyway; this only bounds the log.
 */
struct wr_ratelimit {
	uint64_t next_tsc;	/* no line before this TSC */
	uint64_t held;		/* events since the last line */
};

/** Count one (or n) events; @return the events to report now, 0 = stay quiet. */
static inline uint64_t
wr_ratelimit_hit(struct wr_ratelimit *r, uint64_t n, uint64_t now_tsc, uint64_t hz)
{
	uint64_t out;

	r->held += n;
	if (now_tsc < r->next_tsc)
		return 0;
	r->next_tsc = now_tsc + hz;
	out = r->held;
	r->held = 0;
	return out;
}

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
