/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * weir configuration: one declarative table of keys (type, default, where
 * the value lands, help) drives the INI parser, `--set`, `--help` and the
 * generated example config/weir.conf. Parsed once in main() before EAL
 * init; read-only afterwards.
 */
#ifndef CFG_H
#define CFG_H

#include <stdint.h>
#include <stdio.h>

#include "wr_alert.h"
#include "wr_types.h"

#define CFG_PORTS_MAX		16	/* [input] udp_ports entries */
#define CFG_ID_FIELDS_MAX	8	/* [input] device_id_fields entries */
#define CFG_NAME_MAX		64	/* metric names, id field names */
#define CFG_STR_MAX		256	/* topic names, brokers */
#define CFG_PASS_MAX		64	/* [kafka] passthrough properties */
#define CFG_EAL_MAX		1024	/* [eal] args */
#define CFG_RX_QUEUES_MAX	16	/* [dataplane] rx_queues */
#define CFG_KEYS_MAX		64	/* private: fixed keys in cfg.c's table */
#define CFG_ORIGIN_MAX		160	/* private: "FILE:LINE", "--set ARG" or "default" */

enum cfg_encoding { CFG_ENC_AUTO, CFG_ENC_JSON, CFG_ENC_INFLUX, CFG_ENC_SNR1 };
enum cfg_ts_unit { CFG_TS_AUTO, CFG_TS_S, CFG_TS_MS, CFG_TS_US, CFG_TS_NS };
enum cfg_time_mode { CFG_TIME_EVENT, CFG_TIME_ARRIVAL };

struct cfg_kv {
	char key[CFG_STR_MAX];
	char value[CFG_STR_MAX];
};

struct weir_config {
	/* [input] */
	uint16_t udp_ports[CFG_PORTS_MAX];
	unsigned int n_udp_ports;
	char metrics[WR_METRICS_MAX][CFG_NAME_MAX];
	unsigned int n_metrics;
	char device_id_fields[CFG_ID_FIELDS_MAX][CFG_NAME_MAX];
	unsigned int n_device_id_fields;
	double range_min[WR_METRICS_MAX];	/* -inf when no range.<metric> */
	double range_max[WR_METRICS_MAX];	/* +inf when no range.<metric> */
	int64_t max_future_ns;
	enum cfg_encoding encoding;		/* auto = detect per datagram */
	enum cfg_ts_unit json_ts_unit;		/* unit of numeric JSON ts */
	enum cfg_ts_unit influx_precision;	/* unit of line protocol ts (auto = ns) */
	char address[CFG_NAME_MAX];		/* IPv4 weir answers ARP/ping for; "" = none */
	char address6[CFG_NAME_MAX];		/* IPv6 for neighbour discovery/ping; "" = none */
	/* [window] */
	int64_t size_ns;
	int64_t slide_ns;
	int64_t allowed_lateness_ns;
	int64_t idle_timeout_ns;
	enum cfg_time_mode time_mode;
	/* [aggregator] */
	unsigned int workers;			/* 0 = aggregate on the RX lcore */
	uint32_t max_devices;
	uint32_t alert_devices;			/* alert state per aggregator lcore */
	/* [dataplane] */
	unsigned int burst;			/* rx burst size */
	unsigned int ring_size;			/* rx_to_agg / agg_to_sink ring entries */
	unsigned int mbufs;			/* mbuf pool size */
	unsigned int rx_queues;			/* RX queues = RX lcores (RSS) */
	unsigned int mbuf_size;			/* bytes per mbuf: headroom + data room */
	unsigned int reassembly_flows;		/* datagrams reassembled at once, 0 = off */
	int64_t reassembly_timeout_ns;		/* a datagram's fragments must arrive within */
	/* [topics] */
	char topic_aggregated[CFG_STR_MAX];
	char topic_alerts[CFG_STR_MAX];
	char topic_rejected[CFG_STR_MAX];
	unsigned int partitions;		/* embedded broker / devbroker topics */
	/* [kafka] */
	char brokers[CFG_STR_MAX];		/* "embedded" or host:port,... */
	struct cfg_kv kafka[CFG_PASS_MAX];	/* every other [kafka] key, in order */
	unsigned int n_kafka;
	/* [sink] */
	char spill_dir[CFG_STR_MAX];		/* spill journal directory; "" = off */
	char ckpt_dir[CFG_STR_MAX];		/* checkpoint directory; "" = off */
	int64_t ckpt_interval_ns;		/* RX clock between checkpoints */
	uint64_t spill_max_bytes;		/* cap on the journal's bytes on disk */
	unsigned int shutdown_timeout_ms;	/* final delivery bound */
	/* [eal] */
	char eal_args[CFG_EAL_MAX];		/* whitespace separated EAL arguments */
	/* [control] */
	char control_socket[CFG_STR_MAX];	/* weirctl Unix socket path */
	char metrics_listen[CFG_STR_MAX];	/* host:port of /metrics; empty = off */
	char socket_group[CFG_NAME_MAX];	/* group of the weirctl socket; empty = ours */
	char run_user[CFG_NAME_MAX];		/* [control] user: drop to it after start */
	unsigned int rejected_rate;		/* [topics] dead letters per second, 0 = off */
	/* [alert] NAME = rule; metric indexes resolved by cfg_validate */
	struct wr_alert_rules alerts;

	/*
	 * Private to cfg.c; other modules must not read or write these.
	 * range.<metric> may be set before the metric list is (file order,
	 * --set order), so ranges are kept by metric name with where they were
	 * set, and range_min/range_max are re-resolved after every change;
	 * cfg_validate reports a range whose metric is not configured.
	 */
	struct {
		char origin[CFG_KEYS_MAX][CFG_ORIGIN_MAX];	/* per table key */
		struct cfg_range_set {
			char metric[CFG_NAME_MAX];
			double min;
			double max;
			char origin[CFG_ORIGIN_MAX];
		} ranges[WR_METRICS_MAX];
		unsigned int n_ranges;
		char alert_origin[WR_ALERT_RULES_MAX][CFG_ORIGIN_MAX];	/* per alerts.r[] */
	} priv;
};

/** Fill every key with its default. */
void cfg_defaults(struct weir_config *c);

/**
 * Parse an INI file over the current values.
 * @return 0, or -1 with "FILE:LINE: [section] key: what is wrong" in err.
 */
int cfg_load_file(struct weir_config *c, const char *path, char *err, size_t errlen);

/**
 * Apply one "section.key=value" override (split at the first dot).
 * @return 0, or -1 with "--set ARG: key: what is wrong" in err.
 */
int cfg_set(struct weir_config *c, const char *assignment, char *err, size_t errlen);

/**
 * Cross-key checks once everything is loaded: size a multiple of slide,
 * every range.<metric> names a configured metric, ...
 * @return 0, or -1 with the reason (and where the key was set) in err.
 */
int cfg_validate(const struct weir_config *c, char *err, size_t errlen);

/**
 * Resolve every alert rule's metric name to its index in metrics (called
 * by cfg_validate; again by the control plane after weirctl set alert.*).
 * @return 0, or -1 with "[alert] NAME: metric ... " in err.
 */
int cfg_alerts_resolve(struct weir_config *c, char *err, size_t errlen);

/** Print every key with type, default and help (for --help). */
void cfg_print_help(FILE *f);

/** Write a commented example INI with every key at its default (config/weir.conf). */
void cfg_write_example(FILE *f);

/**
 * Parse a duration: integer or decimal number with ns, us, ms, s, m or h
 * suffix. The unit is required (only 0 may be written bare), the value must
 * be >= 0 and a whole number of nanoseconds.
 * @return 0, or -1 when it does not parse or overflows.
 */
int cfg_parse_duration(const char *s, int64_t *ns);

/**
 * The current value of "section.key" (a fixed key, input.range.<metric> or
 * a kafka passthrough property) as it would be written in the INI file.
 * @return 0, or -1 when there is no such key (out is then "").
 */
int cfg_get(const struct weir_config *c, const char *skey, char *out, size_t outlen);

/**
 * Whether the value of "section.key" is a secret that weir never shows
 * (weirctl get, error messages): any key whose name holds "password" or
 * "secret", private keys in PEM (ssl.key.pem) and sasl.oauthbearer.config.
 * @return 1 when secret, else 0.
 */
int cfg_key_secret(const char *skey);

/**
 * Name ("section.key") of the i-th fixed key of the table, dynamic keys
 * (range.<metric>, kafka properties) left out; for listing every key.
 * @return 0, or -1 past the last key.
 */
int cfg_key_at(unsigned int i, char *out, size_t outlen);

#endif /* CFG_H */
