/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The assembled pipeline, shared by the files of the control plane only
 * (pipeline setup, stats snapshot, weirctl server, metrics listener).
 * Fields are written by the main thread before launch unless a comment
 * says otherwise; lcores publish through their own counters and atomics.
 */
#ifndef CTL_PRIV_H
#define CTL_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <rte_lcore.h>

#include "agg.h"
#include "agg_loop.h"
#include "ctl.h"
#include "ctl_stats.h"
#include "dp.h"
#include "dp_host.h"

struct ctl_server;

#define CTL_RULE_VERSIONS	1024	/* weirctl set alert.* changes per run */

struct ctl_pipeline {
	struct ctl_options *o;
	struct dp_capture cap;
	struct dp_tunables tun[2];	/* double buffer published through rx[q].tun */
	int64_t lateness_max_ns;	/* largest lateness the window tables fit */
	struct dp_port_set ports;
	struct dp_host host;		/* [input] address/address6 responder */
	/* alerts: ring to the sink (MP/SC), the published rule set (every
	 * version stays allocated until exit: lcores may still read one) */
	struct rte_ring *alerts_ring;
	struct wr_alert_rules *_Atomic alert_rules;
	struct wr_alert_rules *rule_versions[CTL_RULE_VERSIONS];
	unsigned int n_rule_versions;
	struct agg_alerts *alert_state[RTE_MAX_LCORE];
	struct rte_ip_frag_tbl *frag_tbl[CFG_RX_QUEUES_MAX]; /* IP reassembly, NULL = off */
	struct rte_mempool *frag_pool;	/* its fragment copies */
	struct rte_mempool *pool;
	struct rte_ring *replay_rings[CFG_RX_QUEUES_MAX];
	uint8_t *replay_queue_of;	/* rx_queues > 1: each frame's queue (RSS) */
	struct rte_ring *dlq;		/* rx_to_sink_dlq: dead letters */
	int port_id;
	unsigned int n_workers;		/* aggregator lcores (0 = inline) */
	unsigned int n_out;		/* agg_to_sink rings */
	/* rx_to_agg of RX queue q to worker w: to_agg[q * n_workers + w] */
	struct rte_ring *to_agg[CFG_RX_QUEUES_MAX * RTE_MAX_LCORE];
	struct rte_ring *to_sink[RTE_MAX_LCORE];
	struct agg_table *tables[RTE_MAX_LCORE];
	/* weirctl set window (control thread only): the scheme in use, the
	 * pending one (size_new == 0: none), its tables and boundary. tables[]
	 * and next_tables[] own every table; the old ones are destroyed once
	 * every owner retired them (win_reap in ctl_server.c). */
	struct agg_table *next_tables[RTE_MAX_LCORE];
	int64_t size_ns, slide_ns;
	int64_t size_new, slide_new, switch_at_ns;
	uint32_t win_gen;
	struct agg_worker workers[RTE_MAX_LCORE];
	/* [checkpoint]: each table owner's state (NULL = off) and the RX
	 * watermark state restored at start (rx.restore points here) */
	struct agg_ckpt *ckpt[RTE_MAX_LCORE];
	struct agg_ckpt_writer *ckpt_writer;	/* saves their files, off the lcores */
	struct wr_ckpt_rx ckpt_rx;
	struct wr_counters *ctr;	/* [q] = RX queue q, [n_rx + w] = worker w */
	/* [checkpoint] dir: ctr lives in the crash ledger, a MAP_SHARED file */
	void *ledger;
	size_t ledger_len;
	struct hdr *lat[RTE_MAX_LCORE];
	_Atomic uint64_t devices_in_use;
	_Atomic unsigned int producers_done;
	_Atomic int input_done;
	struct dp_rx rx[CFG_RX_QUEUES_MAX];	/* one per RX queue (lcore) */
	unsigned int n_rx;
	struct snk_broker *broker;
	struct snk_kafka *kafka;
	struct snk_loop_arg sink_arg;
	pthread_t sink_thread;
	int sink_started;
	char bootstrap[1024];
	const char *config_file;
	double start_s;			/* CLOCK_MONOTONIC at start */
	int64_t start_wall_ns;
	struct ctl_server *server;	/* weirctl socket + metrics listener */
	unsigned int rx_lcore[CFG_RX_QUEUES_MAX];	/* lcore ids, set at launch */
	unsigned int agg_lcore[RTE_MAX_LCORE];
	/* control thread only: the previous sample, for rates */
	struct ctl_stats prev;
	double prev_s;
};

/**
 * Start the control thread: the weirctl Unix socket ([control] socket) and
 * the metrics/status HTTP listener ([control] metrics_listen); it samples
 * stats once a second into its history. A socket or port already in use
 * is reported on stderr and that endpoint stays off (the pipeline runs).
 * @return 0, or -1 with err filled on a hard failure.
 */
int ctl_server_start(struct ctl_pipeline *pl, char *err, size_t errlen);
/** Stop the control thread and remove the socket (accepts no server). */
void ctl_server_stop(struct ctl_pipeline *pl);

/**
 * Hand the weirctl socket (and its directory when weir created it) over to
 * uid:gid before [control] user takes effect, so that the unprivileged weir
 * can still remove them at exit. The socket's group stays.
 */
void ctl_server_handover(struct ctl_pipeline *pl, uid_t uid, gid_t gid);

/**
 * The pipeline watermark: the least over the RX queues (what aggregators
 * close windows on); INT64_MIN before any record.
 */
int64_t ctl_watermark(const struct ctl_pipeline *pl);

/* [control] user (ctl_user.c) */
struct ctl_user {
	int active;			/* a switch is due */
	uid_t uid;
	gid_t gid;
	char name[CFG_NAME_MAX];
};
/**
 * Resolve [control] user and refuse what cannot work unprivileged (weir
 * not root, the user is root, dynamic hugepage memory). Right after EAL
 * init. @return 0 (u->active says whether to switch), or -1 with err.
 */
int ctl_user_check(const struct weir_config *c, int legacy_mem, struct ctl_user *u, char *err,
		   size_t errlen);
/** setgroups, setgid, setuid; then check root is gone from every thread. */
int ctl_user_drop(const struct ctl_user *u, char *err, size_t errlen);

/* The HTTP listener, driven by the control thread's poll loop (ctl_http.c). */
struct ctl_http;
/** Bind "host:port" (empty = disabled: returns NULL with err[0] == 0). */
struct ctl_http *ctl_http_open(const char *listen, char *err, size_t errlen);
/** The listening socket, for poll(). */
int ctl_http_fd(const struct ctl_http *h);
/** Accept and serve one connection: GET /metrics, /, /stats.json. Never blocks long. */
void ctl_http_serve(struct ctl_http *h, struct ctl_pipeline *pl, const struct ctl_stats *last,
		    const struct ctl_history *hist);
void ctl_http_close(struct ctl_http *h);	/* accepts NULL */

#endif /* CTL_PRIV_H */
