/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-device alert state: open addressing on the RX lcore's device hash
 * (wr_record.hash), linear probing, no deletion (a device keeps its entry
 * once it had a hit; the table is bounded and a full table is counted).
 * Entries are laid out for the current rule count; a new rule set resets
 * the table (runs restart from zero).
 */
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "agg.h"
#include "agg_alert.h"

struct alert_run {
	uint32_t consec;	/* consecutive hits so far */
	uint32_t pad;
	int64_t last_win;	/* window start of the last alert, INT64_MIN: none */
	uint64_t suppressed;	/* repeats held back since that alert */
};

struct alert_ent {
	uint32_t hash;
	uint8_t used;
	uint8_t id_len;
	uint8_t pad[2];
	char id[WR_DEVID_MAX];
	struct alert_run run[];	/* rules->n of them */
};

struct agg_alerts {
	uint32_t max_devices;
	uint32_t devices;
	uint32_t mask;		/* slots - 1 */
	uint64_t gen;		/* rule set the table is laid out for */
	unsigned int n_rules;
	size_t stride;		/* bytes per entry */
	uint8_t *slots;
};

struct agg_alerts *
agg_alerts_create(uint32_t max_devices)
{
	struct agg_alerts *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->max_devices = max_devices > 0 ? max_devices : 1;
	a->gen = UINT64_MAX;
	return a;
}

void
agg_alerts_destroy(struct agg_alerts *a)
{
	if (a == NULL)
		return;
	free(a->slots);
	free(a);
}

static inline struct alert_ent *
slot(const struct agg_alerts *a, uint32_t i)
{
	return (struct alert_ent *)(a->slots + (size_t)i * a->stride);
}

/* Lay the table out for rules (once per rule set). @return 0 or -1 (no memory). */
static int
reset(struct agg_alerts *a, const struct wr_alert_rules *rules)
{
	uint32_t n = rte_align32pow2(a->max_devices + a->max_devices / 3 + 1);
	size_t stride = RTE_ALIGN_CEIL(sizeof(struct alert_ent) +
				       rules->n * sizeof(struct alert_run), 8);

	if (a->slots == NULL || stride != a->stride) {
		free(a->slots);
		a->slots = calloc(n, stride);
		if (a->slots == NULL) {
			a->stride = 0;
			return -1;
		}
	} else {
		memset(a->slots, 0, (size_t)n * stride);
	}
	a->stride = stride;
	a->mask = n - 1;
	a->devices = 0;
	a->n_rules = rules->n;
	a->gen = rules->gen;
	return 0;
}

/* The device's entry; created when create is set and there is room. */
static struct alert_ent *
find(struct agg_alerts *a, const struct wr_record *rec, int create)
{
	uint32_t i = rec->hash & a->mask, r;
	struct alert_ent *e;

	for (;;) {
		e = slot(a, i);
		if (!e->used)
			break;
		if (e->hash == rec->hash && e->id_len == rec->id_len &&
		    memcmp(e->id, rec->id, rec->id_len) == 0)
			return e;
		i = (i + 1) & a->mask;
	}
	if (!create || a->devices >= a->max_devices)
		return NULL;
	e->used = 1;
	e->hash = rec->hash;
	e->id_len = rec->id_len;
	memcpy(e->id, rec->id, rec->id_len);
	for (r = 0; r < a->n_rules; r++)
		e->run[r].last_win = INT64_MIN;
	a->devices++;
	return e;
}

static void
fire(const struct wr_alert_rule *rule, struct alert_run *run, const struct wr_record *rec,
     int64_t win, struct rte_ring *out, struct wr_counters *ctr)
{
	struct wr_alert al;

	memset(&al, 0, sizeof(al));
	al.event_ns = rec->time_ns;
	al.window_ns = win;
	al.value = rec->values[rule->metric];
	al.threshold = rule->threshold;
	al.suppressed = run->suppressed;
	al.for_n = rule->for_n;
	al.op = (uint8_t)rule->op;
	al.id_len = rec->id_len;
	memcpy(al.id, rec->id, rec->id_len);
	memcpy(al.rule, rule->name, sizeof(al.rule));
	memcpy(al.metric, rule->metric_name, sizeof(al.metric));
	if (rte_ring_mp_enqueue_elem(out, &al, sizeof(al)) != 0) {
		ctr->v[WR_CTR_ALERTS_DROPPED]++;
		return;	/* not sent: the repeats stay counted for the next one */
	}
	ctr->v[WR_CTR_ALERTS]++;
	run->suppressed = 0;
	run->last_win = win;
}

void
agg_alerts_eval(struct agg_alerts *a, const struct wr_alert_rules *rules,
		const struct wr_record *rec, int64_t slide_ns, struct rte_ring *out,
		struct wr_counters *ctr)
{
	uint64_t hits = 0;
	struct alert_ent *e;
	int64_t win;
	unsigned int i;

	if (rules == NULL || rules->n == 0 || a == NULL || out == NULL)
		return;
	if (rules->gen != a->gen && reset(a, rules) != 0) {
		ctr->v[WR_CTR_ALERTS_DROPPED]++;
		return;
	}
	for (i = 0; i < rules->n; i++) {
		const struct wr_alert_rule *r = &rules->r[i];

		if (r->metric >= 0 && (rec->present >> r->metric) & 1 &&
		    wr_alert_hit(r, rec->values[r->metric]))
			hits |= 1ULL << i;
	}
	/* a miss only matters to a device that has a run going */
	e = find(a, rec, hits != 0);
	if (e == NULL) {
		if (hits != 0)
			ctr->v[WR_CTR_ALERTS_DROPPED]++;	/* state table full */
		return;
	}
	win = agg_floor_div(rec->time_ns, slide_ns) * slide_ns;
	for (i = 0; i < rules->n; i++) {
		const struct wr_alert_rule *r = &rules->r[i];
		struct alert_run *run = &e->run[i];

		if (r->metric < 0 || !((rec->present >> r->metric) & 1))
			continue;	/* no reading of its metric: the run goes on */
		if (!((hits >> i) & 1)) {
			run->consec = 0;
			continue;
		}
		if (run->consec < UINT32_MAX)
			run->consec++;
		if (run->consec < r->for_n)
			continue;
		if (run->last_win == win) {
			run->suppressed++;
			ctr->v[WR_CTR_ALERTS_SUPPRESSED]++;
			continue;
		}
		fire(r, run, rec, win, out, ctr);
	}
}
