/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sink part of perf-microbench (--kafka-results N): double and result
 * JSON formatting costs, and N synthetic results through the real sink
 * thread (snk_loop) into the embedded broker.
 */
#ifndef MB_SINK_H
#define MB_SINK_H

#include <stdint.h>

#include "cfg.h"

/**
 * Print the JSON member "sink":{...} (no leading comma) on stdout.
 * Needs the EAL (rings, TSC). @return 0, or -1 when a step failed.
 */
int mb_sink_run(const struct weir_config *c, uint64_t n_results, double min_seconds);

#endif /* MB_SINK_H */
