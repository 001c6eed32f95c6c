/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control plane: assembles the pipeline (EAL, ports, rings, lcores,
 * sink thread), runs it (`weir run` / `weir replay`), shuts it down in
 * one fixed order and reports the summary (SPEC §7).
 */
#ifndef CTL_H
#define CTL_H

#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "dp.h"
#include "hdr.h"
#include "snk.h"
#include "wr_stats.h"

struct ctl_options {
	struct weir_config cfg;
	int replay;
	const char *config_file;	/* -c, or NULL */
	const char *capture;
	enum dp_speed_mode speed_mode;
	double speed;
	uint64_t loops;
	int eal_argc;		/* arguments after `--` */
	char **eal_argv;
};

/** Run the daemon or the replay. @return the process exit code. */
int ctl_main(struct ctl_options *o);

/* Everything the summary needs, gathered after the pipeline stopped. */
struct ctl_report {
	struct wr_counters sum;
	const struct snk_stats *kafka;
	struct hdr *rx_to_agg;		/* merged */
	const struct hdr *close_to_ack;
	double seconds;			/* first packet fed .. last packet processed */
	double wall_seconds;		/* including the final flush */
	double max_lag_s;		/* replay: worst lag behind --speed */
	double schedule_s;		/* replay: when --speed has the last frame due */
	uint64_t loops;
	int64_t watermark_ns;
	/* per RX queue (NULL: left out): "rx_queues" in the summary */
	const struct wr_counters *rxq;
	unsigned int n_rxq;
};

/** Write the summary JSON (one line) to f. */
void ctl_summary_write(FILE *f, const struct ctl_report *r);

#endif /* CTL_H */
