/* SPDX-License-Identifier: BSD-3-Clause */
/* The weir log types, registered at load time (before EAL init). */
#include "wr_log.h"

RTE_LOG_REGISTER(wr_logtype_dataplane, weir.dataplane, NOTICE);
RTE_LOG_REGISTER(wr_logtype_aggregator, weir.aggregator, NOTICE);
RTE_LOG_REGISTER(wr_logtype_sink, weir.sink, NOTICE);
RTE_LOG_REGISTER(wr_logtype_control, weir.control, NOTICE);
