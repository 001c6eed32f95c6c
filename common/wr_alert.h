/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Threshold alerts (SPEC §5, topic alerts): rules "metric OP value [for N]"
 * from [alert] NAME = ... or weirctl set alert.NAME, the rule set the
 * aggregators evaluate, and the alert they hand to the sink.
 */
#ifndef WR_ALERT_H
#define WR_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "wr_types.h"

#define WR_ALERT_RULES_MAX	16
#define WR_ALERT_NAME_MAX	32	/* rule name, NUL included */
#define WR_ALERT_METRIC_MAX	64	/* metric name, NUL included (CFG_NAME_MAX) */
#define WR_ALERT_FOR_MAX	1000000	/* "for N": consecutive readings */

enum wr_alert_op { WR_ALERT_GT, WR_ALERT_GE, WR_ALERT_LT, WR_ALERT_LE };

struct wr_alert_rule {
	char name[WR_ALERT_NAME_MAX];
	char metric_name[WR_ALERT_METRIC_MAX];
	int metric;			/* index in [input] metrics; -1 until resolved */
	enum wr_alert_op op;
	double threshold;
	uint32_t for_n;			/* >= 1 */
};

/* A complete rule set: published whole, never changed once published. */
struct wr_alert_rules {
	uint64_t gen;			/* changes whenever the set changes */
	unsigned int n;
	struct wr_alert_rule r[WR_ALERT_RULES_MAX];
};

/* One alert, aggregator -> sink (ring element). */
struct wr_alert {
	int64_t event_ns;		/* the reading that fired it */
	int64_t window_ns;		/* start of its slide-aligned window */
	double value;
	double threshold;
	uint64_t suppressed;		/* repeats held back in the rule's previous window */
	uint32_t for_n;
	uint8_t op;			/* enum wr_alert_op */
	uint8_t id_len;
	uint8_t pad[2];
	char id[WR_DEVID_MAX];
	char rule[WR_ALERT_NAME_MAX];
	char metric[WR_ALERT_METRIC_MAX];
};

/**
 * Parse "metric OP value [for N]" (OP: > >= < <=; value a finite number;
 * N 1..WR_ALERT_FOR_MAX) into r (name and metric index left alone).
 * @return 0, or -1 with the reason in msg.
 */
int wr_alert_parse(const char *text, struct wr_alert_rule *r, char *msg, size_t msglen);

/** The rule back as text ("temperature > 30 for 3"). @return its length. */
size_t wr_alert_format(const struct wr_alert_rule *r, char *buf, size_t len);

/** ">", ">=", "<", "<=" */
const char *wr_alert_op_name(int op);

/** Does value meet the rule's condition? */
static inline int
wr_alert_hit(const struct wr_alert_rule *r, double v)
{
	switch (r->op) {
	case WR_ALERT_GT:
		return v > r->threshold;
	case WR_ALERT_GE:
		return v >= r->threshold;
	case WR_ALERT_LT:
		return v < r->threshold;
	default:
		return v <= r->threshold;
	}
}

/** A valid rule name: 1..31 of [A-Za-z0-9_-]. */
int wr_alert_name_ok(const char *name);

#endif /* WR_ALERT_H */
