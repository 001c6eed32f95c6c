/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir configuration: the key table and everything it drives -- defaults,
 * the INI parser, --set, cross-key checks, --help and the generated example
 * config/weir.conf. Runs on the main thread only, once, before EAL init;
 * nothing here is on a data path.
 *
 * Our own INI reader rather than rte_cfgfile: errors must name FILE:LINE,
 * the key and what is wrong, and rte_cfgfile keeps no line numbers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <librdkafka/rdkafka.h>

#include "cfg.h"
#include "wr_alert.h"

#define LINE_MAX_BYTES	16384	/* longest accepted config line */
#define MSG_MAX		384	/* "what is wrong" part of an error */
#define TOPIC_MAX	249	/* Kafka's own limit on topic names */
#define WRAP_COLS	78	/* help text width in --help and weir.conf */
#define SUN_PATH_MAX	107	/* sizeof(sockaddr_un.sun_path) - 1 on Linux */

typedef unsigned __int128 u128;

enum cfg_section {
	SEC_INPUT,
	SEC_WINDOW,
	SEC_AGGREGATOR,
	SEC_DATAPLANE,
	SEC_TOPICS,
	SEC_KAFKA,
	SEC_SINK,
	SEC_CHECKPOINT,
	SEC_ALERT,
	SEC_CONTROL,
	SEC_EAL,
	SEC_COUNT
};

static const char *const sec_names[SEC_COUNT] = {
	[SEC_INPUT] = "input",
	[SEC_WINDOW] = "window",
	[SEC_AGGREGATOR] = "aggregator",
	[SEC_DATAPLANE] = "dataplane",
	[SEC_TOPICS] = "topics",
	[SEC_KAFKA] = "kafka",
	[SEC_SINK] = "sink",
	[SEC_CHECKPOINT] = "checkpoint",
	[SEC_ALERT] = "alert",
	[SEC_CONTROL] = "control",
	[SEC_EAL] = "eal",
};

static const char *const sec_help[SEC_COUNT] = {
	[SEC_INPUT] = "What arrives: UDP ports, record encodings, metrics and their checks.",
	[SEC_WINDOW] = "Event-time windows, aligned to the Unix epoch: [k*slide, k*slide + size).",
	[SEC_AGGREGATOR] = "Aggregator lcores and their per-device state.",
	[SEC_DATAPLANE] = "Receive path sizing.",
	[SEC_TOPICS] = "Kafka topics weir produces to.",
	[SEC_KAFKA] = "Kafka producer.",
	[SEC_SINK] = "Sink thread: spill journal for results Kafka cannot take, shutdown bound.",
	[SEC_CHECKPOINT] = "Crash recovery: periodic checkpoints of open windows, so that a "
			   "restart after a crash of weir (SIGKILL, OOM killer) resumes them and "
			   "emits no device window twice. A crash loses what was folded since the "
			   "last checkpoint (README \"Crash recovery\").",
	[SEC_ALERT] = "Threshold alerts on readings, to topic alerts: NAME = metric OP value "
		      "[for N], OP one of > >= < <=; with for N the condition must hold for "
		      "N consecutive readings of the device. At most one alert per device, "
		      "rule and window (slide); the next one carries the count of repeats "
		      "held back. Changed at run time with weirctl set alert.NAME.",
	[SEC_CONTROL] = "Control plane: the weirctl socket and the metrics/status page listener.",
	[SEC_EAL] = "DPDK EAL.",
};

enum cfg_type {
	CT_PORTS,	/* list of UDP ports */
	CT_NAMES,	/* list of distinct names */
	CT_RANGE,	/* range.<metric> = min, max (dynamic key) */
	CT_DURATION,
	CT_ENUM,
	CT_UINT,
	CT_TOPIC,
	CT_BROKERS,
	CT_STRING,
	CT_LISTEN,	/* host:port, [v6]:port or :port; empty = off */
	CT_PATH,	/* a Unix socket path (bounded by sun_path) */
	CT_PASS,	/* any other [kafka] key (dynamic key) */
	CT_ALERT,	/* [alert] NAME = rule (dynamic key) */
};

#define F_POSITIVE	0x1	/* duration must be > 0 */
#define F_POW2		0x2	/* integer must be a power of two */
#define F_DYNAMIC	0x4	/* name is a pattern, not a key */

struct cfg_choice {
	const char *name;
	int value;
};

struct cfg_key {
	enum cfg_section section;
	const char *name;
	enum cfg_type type;
	const char *def;		/* default, exactly as written in weir.conf */
	size_t off;			/* where the value lands */
	size_t size;			/* sizeof that field */
	size_t off_n;			/* lists: where the entry count lands */
	uint64_t min;			/* integers: bounds; lists: max entries */
	uint64_t max;
	unsigned int flags;
	const struct cfg_choice *choices;	/* enums, NULL terminated */
	const char *help;
	const char *example;		/* dynamic keys: commented example lines */
};

static const struct cfg_choice enc_choices[] = {
	{ "auto", CFG_ENC_AUTO }, { "json", CFG_ENC_JSON },
	{ "influx", CFG_ENC_INFLUX }, { "snr1", CFG_ENC_SNR1 }, { NULL, 0 },
};

static const struct cfg_choice ts_choices[] = {
	{ "auto", CFG_TS_AUTO }, { "s", CFG_TS_S }, { "ms", CFG_TS_MS },
	{ "us", CFG_TS_US }, { "ns", CFG_TS_NS }, { NULL, 0 },
};

static const struct cfg_choice prec_choices[] = {
	{ "ns", CFG_TS_NS }, { "us", CFG_TS_US }, { "ms", CFG_TS_MS }, { "s", CFG_TS_S },
	{ NULL, 0 },
};

static const struct cfg_choice time_choices[] = {
	{ "event", CFG_TIME_EVENT }, { "arrival", CFG_TIME_ARRIVAL }, { NULL, 0 },
};

#define AT(f) \
	.off = offsetof(struct weir_config, f), \
	.size = sizeof(((struct weir_config *)0)->f)
#define COUNT_AT(f) .off_n = offsetof(struct weir_config, f)

static const struct cfg_key cfg_keys[] = {
	{ SEC_INPUT, "udp_ports", CT_PORTS, "9700", AT(udp_ports), COUNT_AT(n_udp_ports),
	  .max = CFG_PORTS_MAX,
	  .help = "UDP ports the sensors send to, comma separated. UDP to any other "
		  "port is counted as ignored." },
	{ SEC_INPUT, "metrics", CT_NAMES, "temperature, humidity, pressure, vibration",
	  AT(metrics), COUNT_AT(n_metrics), .max = WR_METRICS_MAX,
	  .help = "Metrics to aggregate, comma separated, case-sensitive. The order "
		  "is the SNR1 metric_id (first = 0). Other fields are ignored." },
	{ SEC_INPUT, "device_id_fields", CT_NAMES, "device_id, sensor_id",
	  AT(device_id_fields), COUNT_AT(n_device_id_fields), .max = CFG_ID_FIELDS_MAX,
	  .help = "JSON fields / line protocol tags that hold the device id; the "
		  "first one present wins." },
	{ SEC_INPUT, "range.<metric>", CT_RANGE, NULL, .flags = F_DYNAMIC,
	  .help = "Accepted readings of one metric, \"min, max\" (inclusive). One "
		  "reading outside rejects the whole record out_of_range. Unset = any "
		  "finite value.",
	  .example = "range.temperature = -60, 150\n" },
	{ SEC_INPUT, "max_future", CT_DURATION, "5m", AT(max_future_ns),
	  .help = "A record whose event time is further than this ahead of its "
		  "arrival is rejected future_timestamp." },
	{ SEC_INPUT, "encoding", CT_ENUM, "auto", AT(encoding), .choices = enc_choices,
	  .help = "Record encoding: auto detects per datagram (SNR1 magic, '{' or "
		  "'[' = JSON, else line protocol), or pin json, influx or snr1." },
	{ SEC_INPUT, "json_ts_unit", CT_ENUM, "auto", AT(json_ts_unit), .choices = ts_choices,
	  .help = "Unit of numeric JSON timestamps; auto decides by magnitude "
		  "(< 1e11 s, < 1e14 ms, < 1e17 us, else ns)." },
	{ SEC_INPUT, "influx_precision", CT_ENUM, "ns", AT(influx_precision),
	  .choices = prec_choices,
	  .help = "Unit of line protocol timestamps." },
	{ SEC_INPUT, "address", CT_STRING, "", AT(address), .max = CFG_NAME_MAX - 1,
	  .help = "IPv4 address of weir on the port (weir run): it answers ARP and "
		  "ping for it, so senders need no static neighbour entry. Empty: "
		  "no answers (kernel port types answer themselves)." },
	{ SEC_INPUT, "address6", CT_STRING, "", AT(address6), .max = CFG_NAME_MAX - 1,
	  .help = "IPv6 address of weir on the port: it answers neighbour "
		  "solicitations and ICMPv6 echo for it. Empty: no answers." },
	{ SEC_WINDOW, "size", CT_DURATION, "60s", AT(size_ns), .flags = F_POSITIVE,
	  .help = "Window length; a multiple of slide." },
	{ SEC_WINDOW, "slide", CT_DURATION, "60s", AT(slide_ns), .flags = F_POSITIVE,
	  .help = "Distance between window starts; slide = size is tumbling, "
		  "smaller is hopping." },
	{ SEC_WINDOW, "allowed_lateness", CT_DURATION, "5s", AT(allowed_lateness_ns),
	  .help = "Watermark = latest event time seen minus this; a window closes "
		  "when the watermark passes its end." },
	{ SEC_WINDOW, "idle_timeout", CT_DURATION, "10s", AT(idle_timeout_ns),
	  .help = "With no record for this long the watermark follows the clock, "
		  "so quiet streams still emit." },
	{ SEC_WINDOW, "time", CT_ENUM, "event", AT(time_mode), .choices = time_choices,
	  .help = "Window on event time (from the record) or arrival time." },
	{ SEC_AGGREGATOR, "workers", CT_UINT, "1", AT(workers), .min = 0, .max = 16,
	  .help = "Aggregator lcores; 0 = aggregate on the RX lcore." },
	{ SEC_AGGREGATOR, "max_devices", CT_UINT, "1000000", AT(max_devices),
	  .min = 1, .max = 100000000,
	  .help = "Devices tracked at once, over all workers; records of further "
		  "devices are dropped and counted." },
	{ SEC_AGGREGATOR, "alert_devices", CT_UINT, "16384", AT(alert_devices), .min = 1,
	  .max = 10000000,
	  .help = "Devices each aggregator lcore keeps alert state for ([alert] "
		  "rules: runs of hits, last alert); a device gets an entry at its "
		  "first hit. Hits of further devices are counted alerts_dropped." },
	{ SEC_DATAPLANE, "rx_queues", CT_UINT, "1", AT(rx_queues), .min = 1,
	  .max = CFG_RX_QUEUES_MAX,
	  .help = "RX queues of the port, one RX lcore each; the NIC spreads "
		  "datagrams over them by RSS on the UDP 4-tuple (fragments on "
		  "the address pair), replay does the same in software. Each "
		  "queue keeps its own watermark; an aggregator closes a window "
		  "once every queue's watermark passed it. Needs [aggregator] "
		  "workers >= 1." },
	{ SEC_DATAPLANE, "burst", CT_UINT, "32", AT(burst), .min = 1, .max = 512,
	  .help = "Packets per rx burst." },
	{ SEC_DATAPLANE, "ring_size", CT_UINT, "16384", AT(ring_size),
	  .min = 1024, .max = 1048576, .flags = F_POW2,
	  .help = "Entries of each rx_to_agg and agg_to_sink ring." },
	{ SEC_DATAPLANE, "mbufs", CT_UINT, "8191", AT(mbufs), .min = 1023, .max = 1048575,
	  .help = "Mbufs in the packet pool (2^n - 1 uses memory best)." },
	{ SEC_DATAPLANE, "mbuf_size", CT_UINT, "2176", AT(mbuf_size), .min = 1280,
	  .max = 65535,
	  .help = "Bytes per mbuf (128 headroom + data room; weir run). Frames "
		  "larger than the data room are cut by the port (and counted "
		  "malformed) or dropped by it: raise it for jumbo frames, or for "
		  "AF_PACKET ports whose kernel reassembles fragments (with the "
		  "port's framesz)." },
	{ SEC_DATAPLANE, "reassembly_flows", CT_UINT, "256", AT(reassembly_flows), .min = 0,
	  .max = 65536,
	  .help = "IPv4/IPv6 datagrams reassembled at once from fragments (each "
		  "of at most 8 fragments); 0 turns reassembly off and every "
		  "fragment is rejected \"fragment\". Fragments that time out, "
		  "overlap or do not fit are rejected \"fragment\"." },
	{ SEC_DATAPLANE, "reassembly_timeout", CT_DURATION, "2s", AT(reassembly_timeout_ns),
	  .flags = F_POSITIVE,
	  .help = "All fragments of a datagram must arrive within this (arrival "
		  "time; replay: capture time)." },
	{ SEC_TOPICS, "aggregated", CT_TOPIC, "aggregated", AT(topic_aggregated),
	  .help = "Window results: one JSON message per device per window." },
	{ SEC_TOPICS, "alerts", CT_TOPIC, "alerts", AT(topic_alerts),
	  .help = "Threshold alerts on readings." },
	{ SEC_TOPICS, "rejected", CT_TOPIC, "rejected", AT(topic_rejected),
	  .help = "Dead letters: rejected records with reason and payload excerpt." },
	{ SEC_TOPICS, "rejected_rate", CT_UINT, "100", AT(rejected_rate), .min = 0,
	  .max = 1000000,
	  .help = "Dead letters per second at most (arrival time; replay: capture "
		  "time); what the limit holds back is counted. 0 turns them off." },
	{ SEC_TOPICS, "partitions", CT_UINT, "64", AT(partitions), .min = 1, .max = 1024,
	  .help = "Partitions per topic when the embedded broker or weir-devbroker "
		  "creates them (the mock broker keeps ~5 MiB per partition)." },
	{ SEC_KAFKA, "brokers", CT_BROKERS, "embedded", AT(brokers),
	  .help = "\"embedded\" starts librdkafka's in-process mock cluster; else "
		  "bootstrap servers host:port[,host:port...]." },
	{ SEC_KAFKA, "<property>", CT_PASS, NULL, .flags = F_DYNAMIC,
	  .help = "Any other key is a librdkafka property, passed through verbatim "
		  "and applied over weir's defaults (acks = all, enable.idempotence = "
		  "true, partitioner = murmur2_random, compression.type = lz4). "
		  "Checked by librdkafka at start.",
	  .example = "security.protocol = SASL_SSL\n"
		     "sasl.mechanisms = PLAIN\n"
		     "sasl.username = weir\n"
		     "sasl.password = \"change me\"\n"
		     "linger.ms = 5\n" },
	{ SEC_SINK, "spill_dir", CT_STRING, "", AT(spill_dir), .max = CFG_STR_MAX - 1,
	  .help = "Directory of the spill journal: results that Kafka cannot take "
		  "(local queue full, delivery failed) are appended there and "
		  "replayed in order when the broker is back, also after a restart. "
		  "Empty = no journal: such results are counted kafka.failed." },
	{ SEC_SINK, "spill_max_bytes", CT_UINT, "1073741824", AT(spill_max_bytes), .min = 65536,
	  .max = 1ULL << 40,
	  .help = "Cap on the journal's size on disk; results that would exceed it are "
		  "counted kafka.spill_dropped.cap (and kafka.failed)." },
	{ SEC_SINK, "shutdown_timeout_ms", CT_UINT, "30000", AT(shutdown_timeout_ms),
	  .min = 100, .max = 3600000,
	  .help = "On SIGTERM/SIGINT or end of replay: time the sink may spend "
		  "delivering what is left (and replaying the journal) before it "
		  "spills (or counts failed) the rest and exits." },
	{ SEC_CHECKPOINT, "dir", CT_STRING, "", AT(ckpt_dir), .max = CFG_STR_MAX - 1,
	  .help = "Directory of the checkpoint files (created if missing; must be "
		  "writable by weir). Empty = no checkpoints: a crash loses every open "
		  "window. A clean stop removes the files (nothing left to resume)." },
	{ SEC_CHECKPOINT, "interval", CT_DURATION, "10s", AT(ckpt_interval_ns),
	  .flags = F_POSITIVE,
	  .help = "Time between checkpoints, on the clock the watermark follows "
		  "(capture time in replay, wall clock live)." },
	{ SEC_ALERT, "<name>", CT_ALERT, NULL, .flags = F_DYNAMIC,
	  .help = "A rule: NAME (letters, digits, _ and -; at most 31) = metric OP "
		  "value [for N]; the metric must be one of [input] metrics; at most "
		  "16 rules.",
	  .example = "hot = temperature > 45\n"
		     "shaking = vibration >= 2.5 for 3\n" },
	{ SEC_CONTROL, "socket", CT_PATH, "/run/weir/weir.sock", AT(control_socket),
	  .max = SUN_PATH_MAX,
	  .help = "Unix socket weirctl talks to; its directory is created, the "
		  "socket is mode 0660. A stale socket is replaced; one another weir "
		  "answers on is left alone (this weir then runs without one)." },
	{ SEC_CONTROL, "metrics_listen", CT_LISTEN, "127.0.0.1:9109", AT(metrics_listen),
	  .max = CFG_STR_MAX - 1,
	  .help = "host:port of the HTTP listener serving Prometheus /metrics and "
		  "the status page at /; empty disables it. Neither has authentication: "
		  "keep it on loopback (a warning is logged for any other address)." },
	{ SEC_CONTROL, "socket_group", CT_STRING, "", AT(socket_group),
	  .max = CFG_NAME_MAX - 1,
	  .help = "Group that owns the weirctl socket (mode 0660), so its members can "
		  "run weirctl without being root; empty keeps weir's own group. The "
		  "group must exist." },
	{ SEC_CONTROL, "user", CT_STRING, "", AT(run_user), .max = CFG_NAME_MAX - 1,
	  .help = "Once ports and sockets are up, switch to this user and its groups "
		  "(setgroups, setgid, setuid); empty stays as started. Needs weir "
		  "started as root, an outside broker (the embedded one stops on the "
		  "switch), and DPDK memory that does not grow later (--no-huge or "
		  "--legacy-mem in [eal] args)." },
	{ SEC_EAL, "args", CT_STRING, "", AT(eal_args), .max = CFG_EAL_MAX - 1,
	  .help = "Extra DPDK EAL arguments, whitespace separated (e.g. -l 0-2 "
		  "--no-huge); arguments after -- on the command line come after "
		  "these." },
};

#define N_KEYS (sizeof(cfg_keys) / sizeof(cfg_keys[0]))

_Static_assert(N_KEYS <= CFG_KEYS_MAX, "raise CFG_KEYS_MAX in cfg.h");
_Static_assert(sizeof(enum cfg_encoding) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum cfg_ts_unit) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum cfg_time_mode) == sizeof(int), "enums are stored as int");

/* --- small helpers ---------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Copy at most n bytes of s into dst (size dstlen), trimming spaces and tabs. */
static void
copy_trimmed(char *dst, size_t dstlen, const char *s, size_t n)
{
	while (n > 0 && is_space(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * A user value as it appears in a message: in double quotes, at most 48
 * bytes, anything unprintable shown as '?', so a message stays one line.
 */
static const char *
quoted(const char *v, char *buf, size_t buflen)
{
	size_t i, o = 0;

	buf[o++] = '"';
	for (i = 0; v[i] != '\0' && o + 6 < buflen; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (i == 48) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define QBUF 64

static void *
field(struct weir_config *c, size_t off)
{
	return (char *)c + off;
}

/* Callers checked the length; the rest of the field is zeroed. */
static void
str_store(struct weir_config *c, const struct cfg_key *k, const char *v)
{
	memset(field(c, k->off), 0, k->size);
	memcpy(field(c, k->off), v, strnlen(v, k->size - 1));
}

/* Split a comma separated list; items are trimmed. Returns items, or -1. */
static int
split_list(const char *v, char items[][CFG_STR_MAX], unsigned int max_items,
	   char *msg, size_t msglen)
{
	unsigned int n = 0;
	const char *p = v;
	char q[QBUF];

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		const char *s = p;
		size_t l = len;

		while (l > 0 && is_space(*s)) {
			s++;
			l--;
		}
		while (l > 0 && is_space(s[l - 1]))
			l--;
		if (l == 0) {
			if (n == 0 && comma == NULL)
				snprintf(msg, msglen, "is empty");
			else
				snprintf(msg, msglen, "%s has an empty entry",
					 quoted(v, q, sizeof(q)));
			return -1;
		}
		if (n == max_items) {
			snprintf(msg, msglen, "has more than %u entries", max_items);
			return -1;
		}
		if (l >= CFG_STR_MAX) {
			snprintf(msg, msglen, "entry %u is longer than %d bytes", n + 1,
				 CFG_STR_MAX - 1);
			return -1;
		}
		memcpy(items[n], s, l);
		items[n][l] = '\0';
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return (int)n;
}

/* Strict unsigned decimal: digits only. Returns 0, -1 not a number, -2 too big. */
static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	bool big = false;

	if (!is_digit(*s))
		return -1;
	for (; is_digit(*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			big = true;
		else
			v = v * 10 + d;
	}
	if (*s != '\0')
		return -1;
	if (big)
		return -2;
	*out = v;
	return 0;
}

/* Metric and id field names: printable ASCII, no spaces, quotes or backslashes. */
static bool
name_ok(const char *s, char *msg, size_t msglen)
{
	size_t i, n = strlen(s);
	char q[QBUF];

	if (n == 0 || n >= CFG_NAME_MAX) {
		snprintf(msg, msglen, "name %s must be 1..%d bytes", quoted(s, q, sizeof(q)),
			 CFG_NAME_MAX - 1);
		return false;
	}
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
			snprintf(msg, msglen, "name %s may only hold printable ASCII without "
				 "spaces, '\"' or '\\'", quoted(s, q, sizeof(q)));
			return false;
		}
	}
	return true;
}

/* --- durations -------------------------------------------------------- */

enum dur_err { DUR_OK, DUR_SYNTAX, DUR_UNIT, DUR_NEGATIVE, DUR_RANGE, DUR_FINE };

static const struct {
	const char *unit;
	uint64_t ns;
} dur_units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	{ "m", 60000000000ULL }, { "h", 3600000000000ULL },
};

static enum dur_err
dur_parse(const char *s, int64_t *out)
{
	static const uint64_t pow10[19] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
		100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
		1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
		1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL,
	};
	const char *p = s, *fs = NULL, *fe = NULL;
	bool negative = false, big = false, nonzero = false;
	uint64_t ip = 0, fp = 0, mult = 0;
	u128 total;
	size_t i, k = 0;

	if (*p == '-') {
		negative = true;
		p++;
	}
	if (!is_digit(*p))
		return DUR_SYNTAX;
	for (; is_digit(*p); p++) {
		if (*p != '0')
			nonzero = true;
		if (ip > (uint64_t)INT64_MAX)
			big = true;
		else
			ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return DUR_SYNTAX;
		fs = p;
		while (is_digit(*p)) {
			if (*p != '0')
				nonzero = true;
			p++;
		}
		fe = p;
		/* trailing zeros say nothing about precision */
		while (fe > fs && fe[-1] == '0')
			fe--;
		k = (size_t)(fe - fs);
	}
	if (*p == '\0') {
		if (nonzero)
			return negative ? DUR_NEGATIVE : DUR_UNIT;
		*out = 0;
		return negative ? DUR_NEGATIVE : DUR_OK;
	}
	for (i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
		if (strcmp(p, dur_units[i].unit) == 0)
			mult = dur_units[i].ns;
	if (mult == 0)
		return DUR_SYNTAX;
	if (negative)
		return DUR_NEGATIVE;
	if (big || ip > (uint64_t)INT64_MAX)
		return DUR_RANGE;
	/*
	 * The largest unit (h = 2^13 * 3^2 * 5^11 ns) can absorb at most 13
	 * decimal places, so a longer fraction is never a whole nanosecond.
	 */
	if (k > 18)
		return DUR_FINE;
	for (i = 0; i < k; i++)
		fp = fp * 10 + (uint64_t)(fs[i] - '0');
	total = (u128)ip * mult;
	if ((u128)fp * mult % pow10[k] != 0)
		return DUR_FINE;
	total += (u128)fp * mult / pow10[k];
	if (total > (u128)INT64_MAX)
		return DUR_RANGE;
	*out = (int64_t)total;
	return DUR_OK;
}

int
cfg_parse_duration(const char *s, int64_t *ns)
{
	int64_t v;

	if (s == NULL || ns == NULL || dur_parse(s, &v) != DUR_OK)
		return -1;
	*ns = v;
	return 0;
}

/*
 * A duration for messages: whole seconds when it is ("90s", "3600s") so that
 * size and slide read alike, else the largest exact sub-second unit ("1500ms").
 */
static const char *
dur_format(int64_t ns, char *buf, size_t buflen)
{
	size_t i;

	for (i = 4; i-- > 0;) {		/* s, ms, us, ns */
		int64_t u = (int64_t)dur_units[i].ns;

		if (ns % u == 0) {
			snprintf(buf, buflen, "%lld%s", (long long)(ns / u), dur_units[i].unit);
			break;
		}
	}
	return buf;
}

/* --- value parsers: each fills msg with what is wrong and returns -1 --- */

static int
set_ports(struct weir_config *c, const struct cfg_key *k, const char *v,
	  char *msg, size_t msglen)
{
	char items[CFG_PORTS_MAX][CFG_STR_MAX];
	uint16_t ports[CFG_PORTS_MAX];
	int n = split_list(v, items, (unsigned int)k->max, msg, msglen);
	char q[QBUF];
	int i, j;

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t port;

		if (parse_u64(items[i], &port) != 0 || port < 1 || port > 65535) {
			snprintf(msg, msglen, "%s is not a UDP port (1..65535)",
				 quoted(items[i], q, sizeof(q)));
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (ports[j] == port) {
				snprintf(msg, msglen, "port %u is listed twice",
					 (unsigned int)port);
				return -1;
			}
		}
		ports[i] = (uint16_t)port;
	}
	/* whole field rewritten, so two configs with equal settings compare equal */
	memset(field(c, k->off), 0, k->size);
	memcpy(field(c, k->off), ports, (size_t)n * sizeof(ports[0]));
	*(unsigned int *)field(c, k->off_n) = (unsigned int)n;
	return 0;
}

static int
set_names(struct weir_config *c, const struct cfg_key *k, const char *v,
	  char *msg, size_t msglen)
{
	char items[WR_METRICS_MAX][CFG_STR_MAX];
	char (*dst)[CFG_NAME_MAX] = field(c, k->off);
	int n = split_list(v, items, (unsigned int)k->max, msg, msglen);
	char q[QBUF];
	int i, j;

	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (!name_ok(items[i], msg, msglen))
			return -1;
		for (j = 0; j < i; j++) {
			if (strcmp(items[i], items[j]) == 0) {
				snprintf(msg, msglen, "%s is listed twice",
					 quoted(items[i], q, sizeof(q)));
				return -1;
			}
		}
	}
	memset(dst, 0, k->size);
	for (i = 0; i < n; i++)	/* name_ok() bounded the length */
		memcpy(dst[i], items[i], strlen(items[i]) + 1);
	*(unsigned int *)field(c, k->off_n) = (unsigned int)n;
	return 0;
}

static int
set_duration(struct weir_config *c, const struct cfg_key *k, const char *v,
	     char *msg, size_t msglen)
{
	char q[QBUF];
	int64_t ns = 0;

	switch (dur_parse(v, &ns)) {
	case DUR_OK:
		break;
	case DUR_SYNTAX:
		snprintf(msg, msglen, "%s is not a duration (use ms, s, m, h)",
			 quoted(v, q, sizeof(q)));
		return -1;
	case DUR_UNIT:
		snprintf(msg, msglen, "%s needs a unit (ns, us, ms, s, m or h)",
			 quoted(v, q, sizeof(q)));
		return -1;
	case DUR_NEGATIVE:
		snprintf(msg, msglen, "%s must not be negative", quoted(v, q, sizeof(q)));
		return -1;
	case DUR_RANGE:
		snprintf(msg, msglen, "%s is too large (at most 2562047h)",
			 quoted(v, q, sizeof(q)));
		return -1;
	case DUR_FINE:
		snprintf(msg, msglen, "%s is not a whole number of nanoseconds",
			 quoted(v, q, sizeof(q)));
		return -1;
	}
	if ((k->flags & F_POSITIVE) && ns == 0) {
		snprintf(msg, msglen, "%s must be greater than 0", quoted(v, q, sizeof(q)));
		return -1;
	}
	memcpy(field(c, k->off), &ns, sizeof(ns));
	return 0;
}

static void
choices_list(const struct cfg_choice *ch, const char *sep, char *buf, size_t buflen)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; ch->name != NULL; ch++) {
		int w = snprintf(buf + o, buflen - o, "%s%s", o > 0 ? sep : "", ch->name);

		if (w < 0 || (size_t)w >= buflen - o)
			break;
		o += (size_t)w;
	}
}

static int
set_enum(struct weir_config *c, const struct cfg_key *k, const char *v,
	 char *msg, size_t msglen)
{
	const struct cfg_choice *ch;
	char q[QBUF], list[128];

	for (ch = k->choices; ch->name != NULL; ch++) {
		if (strcmp(ch->name, v) == 0) {
			memcpy(field(c, k->off), &ch->value, sizeof(ch->value));
			return 0;
		}
	}
	choices_list(k->choices, ", ", list, sizeof(list));
	snprintf(msg, msglen, "%s is not one of %s", quoted(v, q, sizeof(q)), list);
	return -1;
}

static int
set_uint(struct weir_config *c, const struct cfg_key *k, const char *v,
	 char *msg, size_t msglen)
{
	char q[QBUF];
	uint64_t x = 0;
	uint32_t x32;
	int rc = parse_u64(v, &x);

	if (rc == -1) {
		snprintf(msg, msglen, "%s is not a whole number", quoted(v, q, sizeof(q)));
		return -1;
	}
	if (rc == -2 || x < k->min || x > k->max) {
		snprintf(msg, msglen, "%s is out of range (%llu..%llu)", quoted(v, q, sizeof(q)),
			 (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	if ((k->flags & F_POW2) && (x & (x - 1)) != 0) {
		snprintf(msg, msglen, "%s is not a power of two", quoted(v, q, sizeof(q)));
		return -1;
	}
	_Static_assert(sizeof(unsigned int) == sizeof(uint32_t), "integer keys are 32 bit");
	if (k->size == sizeof(uint64_t)) {
		/* byte counts: the only 64-bit integer keys */
		memcpy(field(c, k->off), &x, sizeof(x));
		return 0;
	}
	x32 = (uint32_t)x;
	memcpy(field(c, k->off), &x32, sizeof(x32));
	return 0;
}

static int
set_topic(struct weir_config *c, const struct cfg_key *k, const char *v,
	  char *msg, size_t msglen)
{
	size_t i, n = strlen(v);
	char q[QBUF];
	bool ok = n > 0 && n <= TOPIC_MAX && strcmp(v, ".") != 0 && strcmp(v, "..") != 0;

	for (i = 0; ok && i < n; i++) {
		char ch = v[i];

		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
			ch == '.' || ch == '_' || ch == '-';
	}
	if (!ok) {
		snprintf(msg, msglen, "%s is not a Kafka topic name (1..%d of a-z A-Z 0-9 . _ -)",
			 quoted(v, q, sizeof(q)), TOPIC_MAX);
		return -1;
	}
	str_store(c, k, v);
	return 0;
}

static int
set_brokers(struct weir_config *c, const struct cfg_key *k, const char *v,
	    char *msg, size_t msglen)
{
	char items[CFG_PASS_MAX][CFG_STR_MAX];
	char out[CFG_STR_MAX], q[QBUF];
	size_t o = 0;
	int n, i;

	if (strcmp(v, "embedded") == 0) {
		str_store(c, k, v);
		return 0;
	}
	n = split_list(v, items, CFG_PASS_MAX, msg, msglen);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char *colon = strrchr(items[i], ':');
		uint64_t port;
		size_t j;

		for (j = 0; items[i][j] != '\0'; j++)
			if (items[i][j] <= 0x20 || items[i][j] >= 0x7f)
				colon = NULL;
		if (colon == NULL || colon == items[i] ||
		    parse_u64(colon + 1, &port) != 0 || port < 1 || port > 65535) {
			snprintf(msg, msglen, "%s is not host:port (or use embedded)",
				 quoted(items[i], q, sizeof(q)));
			return -1;
		}
		if (o + (i > 0) + strlen(items[i]) >= sizeof(out)) {
			snprintf(msg, msglen, "is longer than %zu bytes", sizeof(out) - 1);
			return -1;
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i > 0 ? "," : "",
				      items[i]);
	}
	str_store(c, k, out);
	return 0;
}

static int
set_string(struct weir_config *c, const struct cfg_key *k, const char *v,
	   char *msg, size_t msglen)
{
	size_t i, n = strlen(v);

	if (n > k->max) {
		snprintf(msg, msglen, "is longer than %llu bytes", (unsigned long long)k->max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t') {
			snprintf(msg, msglen, "holds a control character");
			return -1;
		}
	}
	str_store(c, k, v);
	return 0;
}

/* "host:port", "[v6]:port" or ":port" (every address), port 0..65535; "" = off. */
static int
set_listen(struct weir_config *c, const struct cfg_key *k, const char *v,
	   char *msg, size_t msglen)
{
	const char *colon = strrchr(v, ':'), *h = v, *he;
	char q[QBUF];
	uint64_t port;
	size_t i;

	if (v[0] == '\0') {
		str_store(c, k, v);
		return 0;
	}
	he = colon;
	if (colon != NULL && h[0] == '[') {
		if (he - h < 3 || he[-1] != ']') {
			he = NULL;
		} else {
			h++;
			he--;
		}
	}
	for (i = 0; he != NULL && h + i < he; i++)
		if (h[i] <= 0x20 || h[i] >= 0x7f || h[i] == '[' || h[i] == ']' ||
		    (v[0] != '[' && h[i] == ':'))
			he = NULL;
	if (he == NULL || parse_u64(colon + 1, &port) != 0 || port > 65535 ||
	    strlen(v) >= k->size) {
		snprintf(msg, msglen, "%s is not host:port, [IPv6]:port or :port (port "
			 "0..65535), or empty to turn it off", quoted(v, q, sizeof(q)));
		return -1;
	}
	str_store(c, k, v);
	return 0;
}

static int
set_path(struct weir_config *c, const struct cfg_key *k, const char *v,
	 char *msg, size_t msglen)
{
	if (strlen(v) > k->max) {
		snprintf(msg, msglen, "is %zu bytes long; a Unix socket path holds at most %llu",
			 strlen(v), (unsigned long long)k->max);
		return -1;
	}
	return set_string(c, k, v, msg, msglen);
}

/* A number for a range bound: decimal with optional sign, fraction, exponent. */
static int
parse_bound(const char *s, double *out)
{
	const char *p = s;
	char *end;
	bool digits = false;

	if (*p == '+' || *p == '-')
		p++;
	for (; is_digit(*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			digits = true;
	if (!digits)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return -1;
		while (is_digit(*p))
			p++;
	}
	if (*p != '\0')
		return -1;
	*out = strtod(s, &end);
	if (*end != '\0' || !isfinite(*out))
		return -2;
	return 0;
}

static void
ranges_resolve(struct weir_config *c)
{
	unsigned int i, j;

	for (i = 0; i < WR_METRICS_MAX; i++) {
		c->range_min[i] = -INFINITY;
		c->range_max[i] = INFINITY;
	}
	for (j = 0; j < c->priv.n_ranges; j++) {
		for (i = 0; i < c->n_metrics && i < WR_METRICS_MAX; i++) {
			if (strcmp(c->metrics[i], c->priv.ranges[j].metric) == 0) {
				c->range_min[i] = c->priv.ranges[j].min;
				c->range_max[i] = c->priv.ranges[j].max;
			}
		}
	}
}

static int
set_range(struct weir_config *c, const char *metric, const char *v, const char *origin,
	  char *msg, size_t msglen)
{
	char items[2][CFG_STR_MAX], q[QBUF];
	struct cfg_range_set *r = NULL;
	double lo, hi;
	unsigned int i;
	int n, rc;

	if (!name_ok(metric, msg, msglen))
		return -1;
	n = split_list(v, items, 2, msg, msglen);
	if (n != 2) {
		snprintf(msg, msglen, "%s needs two numbers \"min, max\"", quoted(v, q, sizeof(q)));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		rc = parse_bound(items[i], i == 0 ? &lo : &hi);
		if (rc == -1) {
			snprintf(msg, msglen, "%s is not a number", quoted(items[i], q, sizeof(q)));
			return -1;
		}
		if (rc == -2) {
			snprintf(msg, msglen, "%s is not finite", quoted(items[i], q, sizeof(q)));
			return -1;
		}
	}
	if (lo > hi) {
		char q2[QBUF];

		snprintf(msg, msglen, "min %s is above max %s", quoted(items[0], q, sizeof(q)),
			 quoted(items[1], q2, sizeof(q2)));
		return -1;
	}
	for (i = 0; i < c->priv.n_ranges; i++)
		if (strcmp(c->priv.ranges[i].metric, metric) == 0)
			r = &c->priv.ranges[i];
	if (r == NULL) {
		if (c->priv.n_ranges == WR_METRICS_MAX) {
			snprintf(msg, msglen, "more than %d range.<metric> keys", WR_METRICS_MAX);
			return -1;
		}
		r = &c->priv.ranges[c->priv.n_ranges++];
	}
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	r->min = lo;
	r->max = hi;
	snprintf(r->origin, sizeof(r->origin), "%s", origin);
	return 0;
}

/* librdkafka judges its own properties, so a typo stops weir at start with FILE:LINE. */
static int
kafka_prop_check(const char *key, const char *v, char *msg, size_t msglen)
{
	rd_kafka_conf_t *conf;
	rd_kafka_conf_res_t res;
	char errstr[256];

	/* setting this one loads shared objects: leave it to the sink */
	if (strcmp(key, "plugin.library.paths") == 0)
		return 0;
	conf = rd_kafka_conf_new();
	if (conf == NULL) {
		snprintf(msg, msglen, "cannot check: out of memory");
		return -1;
	}
	errstr[0] = '\0';
	res = rd_kafka_conf_set(conf, key, v, errstr, sizeof(errstr));
	rd_kafka_conf_destroy(conf);
	if (res != RD_KAFKA_CONF_OK) {
		snprintf(msg, msglen, "librdkafka: %s", errstr);
		return -1;
	}
	return 0;
}

static int
set_pass(struct weir_config *c, const char *key, const char *v, char *msg, size_t msglen)
{
	size_t i, n = strlen(key);
	struct cfg_kv *kv = NULL;

	for (i = 0; i < n; i++) {
		char ch = key[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
		      ch == '.' || ch == '_' || ch == '-')) {
			snprintf(msg, msglen, "not a librdkafka property name");
			return -1;
		}
	}
	if (n >= CFG_STR_MAX || strlen(v) >= CFG_STR_MAX) {
		snprintf(msg, msglen, "key or value longer than %d bytes", CFG_STR_MAX - 1);
		return -1;
	}
	if (kafka_prop_check(key, v, msg, msglen) != 0)
		return -1;
	for (i = 0; i < c->n_kafka && i < CFG_PASS_MAX; i++)
		if (strcmp(c->kafka[i].key, key) == 0)
			kv = &c->kafka[i];
	if (kv == NULL) {
		if (c->n_kafka >= CFG_PASS_MAX) {
			snprintf(msg, msglen, "more than %d librdkafka properties", CFG_PASS_MAX);
			return -1;
		}
		kv = &c->kafka[c->n_kafka++];
	}
	memset(kv, 0, sizeof(*kv));
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	snprintf(kv->value, sizeof(kv->value), "%s", v);
	return 0;
}

static int
key_set(struct weir_config *c, const struct cfg_key *k, const char *v, char *msg, size_t msglen)
{
	switch (k->type) {
	case CT_PORTS:
		return set_ports(c, k, v, msg, msglen);
	case CT_NAMES:
		return set_names(c, k, v, msg, msglen);
	case CT_DURATION:
		return set_duration(c, k, v, msg, msglen);
	case CT_ENUM:
		return set_enum(c, k, v, msg, msglen);
	case CT_UINT:
		return set_uint(c, k, v, msg, msglen);
	case CT_TOPIC:
		return set_topic(c, k, v, msg, msglen);
	case CT_BROKERS:
		return set_brokers(c, k, v, msg, msglen);
	case CT_STRING:
		return set_string(c, k, v, msg, msglen);
	case CT_LISTEN:
		return set_listen(c, k, v, msg, msglen);
	case CT_PATH:
		return set_path(c, k, v, msg, msglen);
	case CT_RANGE:
	case CT_PASS:
	case CT_ALERT:
		break;
	}
	snprintf(msg, msglen, "internal: dynamic key without a name");
	return -1;
}

/* [alert] NAME = "metric OP value [for N]"; "off" (or empty) removes the rule. */
static int
set_alert(struct weir_config *c, const char *name, const char *v, const char *origin,
	  char *msg, size_t msglen)
{
	struct wr_alert_rules *a = &c->alerts;
	struct wr_alert_rule r;
	unsigned int i;

	if (!wr_alert_name_ok(name)) {
		snprintf(msg, msglen, "a rule name is 1..%d letters, digits, _ or -",
			 WR_ALERT_NAME_MAX - 1);
		return -1;
	}
	for (i = 0; i < a->n && strcmp(a->r[i].name, name) != 0; i++)
		;
	if (v[0] == '\0' || strcmp(v, "off") == 0) {
		if (i < a->n) {
			memmove(&a->r[i], &a->r[i + 1], (a->n - i - 1) * sizeof(a->r[0]));
			memmove(c->priv.alert_origin[i], c->priv.alert_origin[i + 1],
				(a->n - i - 1) * sizeof(c->priv.alert_origin[0]));
			a->n--;
			a->gen++;
		}
		return 0;
	}
	memset(&r, 0, sizeof(r));
	if (wr_alert_parse(v, &r, msg, msglen) != 0)
		return -1;
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.metric = -1;
	if (i == a->n) {
		if (a->n >= WR_ALERT_RULES_MAX) {
			snprintf(msg, msglen, "more than %d alert rules", WR_ALERT_RULES_MAX);
			return -1;
		}
		a->n++;
	}
	a->r[i] = r;
	snprintf(c->priv.alert_origin[i], sizeof(c->priv.alert_origin[i]), "%s", origin);
	a->gen++;
	return 0;
}

static int
section_find(const char *name)
{
	int s;

	for (s = 0; s < SEC_COUNT; s++)
		if (strcmp(sec_names[s], name) == 0)
			return s;
	return -1;
}

/*
 * Set one key of a known section. origin is "FILE:LINE", "--set ARG" or
 * "default"; every message starts with it.
 */
static int
apply(struct weir_config *c, int sec, const char *key, const char *v, const char *origin,
      char *err, size_t errlen)
{
	char msg[MSG_MAX];
	size_t i;
	int rc = -1;

	msg[0] = '\0';
	for (i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if ((int)k->section != sec || (k->flags & F_DYNAMIC) || strcmp(k->name, key) != 0)
			continue;
		rc = key_set(c, k, v, msg, sizeof(msg));
		if (rc == 0) {
			snprintf(c->priv.origin[i], CFG_ORIGIN_MAX, "%s", origin);
			if (k->type == CT_NAMES)
				ranges_resolve(c);
		}
		goto out;
	}
	if (sec == SEC_INPUT && strncmp(key, "range.", 6) == 0) {
		rc = set_range(c, key + 6, v, origin, msg, sizeof(msg));
		if (rc == 0)
			ranges_resolve(c);
		goto out;
	}
	if (sec == SEC_KAFKA) {
		rc = set_pass(c, key, v, msg, sizeof(msg));
		goto out;
	}
	if (sec == SEC_ALERT) {
		rc = set_alert(c, key, v, origin, msg, sizeof(msg));
		goto out;
	}
	errf(err, errlen, "%s: unknown key [%s] %s", origin, sec_names[sec], key);
	return -1;
out:
	if (rc != 0)
		errf(err, errlen, "%s: [%s] %s: %s", origin, sec_names[sec], key, msg);
	return rc;
}

/* --- public entry points ---------------------------------------------- */

int
cfg_alerts_resolve(struct weir_config *c, char *err, size_t errlen)
{
	unsigned int i, m;

	for (i = 0; i < c->alerts.n && i < WR_ALERT_RULES_MAX; i++) {
		struct wr_alert_rule *r = &c->alerts.r[i];

		r->metric = -1;
		for (m = 0; m < c->n_metrics && m < WR_METRICS_MAX; m++)
			if (strcmp(c->metrics[m], r->metric_name) == 0)
				r->metric = (int)m;
		if (r->metric < 0) {
			errf(err, errlen, "%s: [alert] %s: metric '%s' is not one of [input] "
			     "metrics", c->priv.alert_origin[i], r->name, r->metric_name);
			return -1;
		}
	}
	return 0;
}

void
cfg_defaults(struct weir_config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		/* the table's defaults are checked by test_cfg; they cannot fail */
		if (k->def != NULL)
			apply(c, (int)k->section, k->name, k->def, "default", NULL, 0);
		snprintf(c->priv.origin[i], CFG_ORIGIN_MAX, "default");
	}
	ranges_resolve(c);
}

/*
 * The value part of a file line: a double-quoted value is literal; else
 * '#' or ';' after whitespace starts a comment, and spaces are trimmed.
 */
static int
value_from_line(const char *p, char *out, size_t outlen, char *msg, size_t msglen)
{
	const char *end;
	size_t n;

	while (is_space(*p))
		p++;
	if (*p == '"') {
		const char *close = strchr(p + 1, '"');
		const char *rest;

		if (close == NULL) {
			snprintf(msg, msglen, "unterminated quoted value");
			return -1;
		}
		for (rest = close + 1; is_space(*rest); rest++)
			;
		if (*rest != '\0' && !(rest > close + 1 && (*rest == '#' || *rest == ';'))) {
			snprintf(msg, msglen, "text after the closing quote");
			return -1;
		}
		n = (size_t)(close - (p + 1));
		if (n >= outlen) {
			snprintf(msg, msglen, "value longer than %zu bytes", outlen - 1);
			return -1;
		}
		memcpy(out, p + 1, n);
		out[n] = '\0';
		return 0;
	}
	/* p is past the '=', so end[-1] is always inside the line */
	for (end = p; *end != '\0'; end++)
		if ((*end == '#' || *end == ';') && is_space(end[-1]))
			break;
	n = (size_t)(end - p);
	while (n > 0 && is_space(p[n - 1]))
		n--;
	if (n >= outlen) {
		snprintf(msg, msglen, "value longer than %zu bytes", outlen - 1);
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int
load_line(struct weir_config *c, char *line, const char *origin, int *sec,
	  char *err, size_t errlen)
{
	char key[CFG_STR_MAX], msg[MSG_MAX], q[QBUF];
	char value[LINE_MAX_BYTES + 1];
	char *p = line, *eq;
	size_t n;

	while (is_space(*p))
		p++;
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	if (*p == '[') {
		char name[CFG_STR_MAX], *close = strchr(p, ']'), *rest;

		if (close != NULL)
			for (rest = close + 1; is_space(*rest); rest++)
				;
		if (close == NULL || (*rest != '\0' && *rest != '#' && *rest != ';')) {
			errf(err, errlen, "%s: bad section header %s", origin,
			     quoted(p, q, sizeof(q)));
			return -1;
		}
		copy_trimmed(name, sizeof(name), p + 1, (size_t)(close - p - 1));
		*sec = section_find(name);
		if (*sec < 0) {
			errf(err, errlen, "%s: unknown section [%s]", origin, name);
			return -1;
		}
		return 0;
	}
	if (*sec < 0) {
		errf(err, errlen, "%s: %s is outside any [section]", origin,
		     quoted(p, q, sizeof(q)));
		return -1;
	}
	eq = strchr(p, '=');
	if (eq == NULL) {
		errf(err, errlen, "%s: [%s] %s: expected \"key = value\"", origin, sec_names[*sec],
		     quoted(p, q, sizeof(q)));
		return -1;
	}
	n = (size_t)(eq - p);
	while (n > 0 && is_space(p[n - 1]))
		n--;
	if (n == 0) {
		errf(err, errlen, "%s: [%s] missing key before '='", origin, sec_names[*sec]);
		return -1;
	}
	if (n >= sizeof(key)) {
		errf(err, errlen, "%s: [%s] key longer than %zu bytes", origin, sec_names[*sec],
		     sizeof(key) - 1);
		return -1;
	}
	memcpy(key, p, n);
	key[n] = '\0';
	if (strpbrk(key, " \t") != NULL) {
		errf(err, errlen, "%s: [%s] %s: a key has no spaces", origin, sec_names[*sec],
		     quoted(key, q, sizeof(q)));
		return -1;
	}
	if (value_from_line(eq + 1, value, sizeof(value), msg, sizeof(msg)) != 0) {
		errf(err, errlen, "%s: [%s] %s: %s", origin, sec_names[*sec], key, msg);
		return -1;
	}
	return apply(c, *sec, key, value, origin, err, errlen);
}

int
cfg_load_file(struct weir_config *c, const char *path, char *err, size_t errlen)
{
	char origin[CFG_ORIGIN_MAX];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	int sec = -1, rc = 0;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		size_t n = (size_t)len;
		char *p = line;

		lineno++;
		snprintf(origin, sizeof(origin), "%s:%u", path, lineno);
		if (n > LINE_MAX_BYTES) {
			errf(err, errlen, "%s: line longer than %d bytes", origin, LINE_MAX_BYTES);
			rc = -1;
			break;
		}
		if (strlen(line) != n) {
			errf(err, errlen, "%s: NUL byte in line", origin);
			rc = -1;
			break;
		}
		if (n > 0 && p[n - 1] == '\n')
			p[--n] = '\0';
		if (n > 0 && p[n - 1] == '\r')
			p[--n] = '\0';
		if (lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
			p += 3;
		rc = load_line(c, p, origin, &sec, err, errlen);
		if (rc != 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		errf(err, errlen, "%s: read error: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

int
cfg_set(struct weir_config *c, const char *assignment, char *err, size_t errlen)
{
	char origin[CFG_ORIGIN_MAX], sec[CFG_STR_MAX], key[CFG_STR_MAX], q[QBUF];
	const char *eq = strchr(assignment, '='), *dot = strchr(assignment, '.');
	const char *v;
	char *value;
	size_t n;
	int s, rc;

	snprintf(origin, sizeof(origin), "--set %s", assignment);
	if (eq != NULL && (size_t)(eq - assignment) < sizeof(key)) {
		/* messages start with the origin: never with a password in it */
		memcpy(key, assignment, (size_t)(eq - assignment));
		key[eq - assignment] = '\0';
		if (cfg_key_secret(key))
			snprintf(origin, sizeof(origin), "--set %.*s=(hidden)",
				 (int)(eq - assignment), assignment);
	}
	if (eq == NULL || dot == NULL || dot > eq) {
		errf(err, errlen, "%s: expected section.key=value", origin);
		return -1;
	}
	copy_trimmed(sec, sizeof(sec), assignment, (size_t)(dot - assignment));
	copy_trimmed(key, sizeof(key), dot + 1, (size_t)(eq - dot - 1));
	if (sec[0] == '\0' || key[0] == '\0') {
		errf(err, errlen, "%s: expected section.key=value", origin);
		return -1;
	}
	s = section_find(sec);
	if (s < 0) {
		errf(err, errlen, "%s: unknown section [%s]", origin, sec);
		return -1;
	}
	if (strpbrk(key, " \t") != NULL) {
		errf(err, errlen, "%s: [%s] %s: a key has no spaces", origin, sec,
		     quoted(key, q, sizeof(q)));
		return -1;
	}
	/* the shell already did the quoting; outer double quotes are dropped like in files */
	for (v = eq + 1; is_space(*v); v++)
		;
	n = strlen(v);
	while (n > 0 && is_space(v[n - 1]))
		n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	value = malloc(n + 1);
	if (value == NULL) {
		errf(err, errlen, "%s: out of memory", origin);
		return -1;
	}
	memcpy(value, v, n);
	value[n] = '\0';
	rc = apply(c, s, key, value, origin, err, errlen);
	free(value);
	return rc;
}

static int
key_index(enum cfg_section sec, const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (cfg_keys[i].section == sec && strcmp(cfg_keys[i].name, name) == 0)
			return (int)i;
	return 0;
}

static const char *
origin_of(const struct weir_config *c, enum cfg_section sec, const char *name)
{
	const char *o = c->priv.origin[key_index(sec, name)];

	return o[0] != '\0' ? o : "not set";
}

int
cfg_validate(const struct weir_config *c, char *err, size_t errlen)
{
	char a[32], b[32];
	unsigned int i, j;

	if (c->n_udp_ports == 0 || c->n_udp_ports > CFG_PORTS_MAX) {
		errf(err, errlen, "%s: [input] udp_ports: need 1..%d ports",
		     origin_of(c, SEC_INPUT, "udp_ports"), CFG_PORTS_MAX);
		return -1;
	}
	for (i = 0; i < c->n_udp_ports; i++) {
		if (c->udp_ports[i] == 0) {
			errf(err, errlen, "%s: [input] udp_ports: port 0 is not a UDP port",
			     origin_of(c, SEC_INPUT, "udp_ports"));
			return -1;
		}
	}
	if (c->n_metrics == 0 || c->n_metrics > WR_METRICS_MAX) {
		errf(err, errlen, "%s: [input] metrics: need 1..%d metrics",
		     origin_of(c, SEC_INPUT, "metrics"), WR_METRICS_MAX);
		return -1;
	}
	if (c->n_device_id_fields == 0 || c->n_device_id_fields > CFG_ID_FIELDS_MAX) {
		errf(err, errlen, "%s: [input] device_id_fields: need 1..%d fields",
		     origin_of(c, SEC_INPUT, "device_id_fields"), CFG_ID_FIELDS_MAX);
		return -1;
	}
	if (c->address[0] != '\0' && inet_pton(AF_INET, c->address, a) != 1) {
		errf(err, errlen, "%s: [input] address: '%s' is not an IPv4 address "
		     "(a.b.c.d)", origin_of(c, SEC_INPUT, "address"), c->address);
		return -1;
	}
	if (c->address6[0] != '\0' && inet_pton(AF_INET6, c->address6, a) != 1) {
		errf(err, errlen, "%s: [input] address6: '%s' is not an IPv6 address",
		     origin_of(c, SEC_INPUT, "address6"), c->address6);
		return -1;
	}
	if (cfg_alerts_resolve((struct weir_config *)c, err, errlen) != 0)
		return -1;
	if (c->rx_queues > 1 && c->workers == 0) {
		errf(err, errlen, "[dataplane] rx_queues %u (%s) needs [aggregator] workers >= 1 "
		     "(%s: 0 aggregates on the one RX lcore)", c->rx_queues,
		     origin_of(c, SEC_DATAPLANE, "rx_queues"),
		     origin_of(c, SEC_AGGREGATOR, "workers"));
		return -1;
	}
	if (c->rx_queues > 1 && c->ckpt_dir[0] != '\0') {
		/* each queue would cut at its own moment: no consistent checkpoint yet */
		errf(err, errlen, "[checkpoint] dir (%s) needs [dataplane] rx_queues = 1 (%s: %u); "
		     "checkpoints of several RX queues are not supported",
		     origin_of(c, SEC_CHECKPOINT, "dir"), origin_of(c, SEC_DATAPLANE, "rx_queues"),
		     c->rx_queues);
		return -1;
	}
	if (c->brokers[0] == '\0') {
		errf(err, errlen, "%s: [kafka] brokers: is empty (use embedded or host:port)",
		     origin_of(c, SEC_KAFKA, "brokers"));
		return -1;
	}
	if (c->size_ns <= 0 || c->slide_ns <= 0) {
		errf(err, errlen, "%s: [window] %s: must be greater than 0",
		     c->size_ns <= 0 ? origin_of(c, SEC_WINDOW, "size") :
		     origin_of(c, SEC_WINDOW, "slide"), c->size_ns <= 0 ? "size" : "slide");
		return -1;
	}
	if (c->slide_ns > c->size_ns) {
		errf(err, errlen, "[window] slide %s (%s) is larger than [window] size %s (%s)",
		     dur_format(c->slide_ns, a, sizeof(a)), origin_of(c, SEC_WINDOW, "slide"),
		     dur_format(c->size_ns, b, sizeof(b)), origin_of(c, SEC_WINDOW, "size"));
		return -1;
	}
	if (c->size_ns % c->slide_ns != 0) {
		errf(err, errlen,
		     "[window] size %s (%s) is not a multiple of [window] slide %s (%s)",
		     dur_format(c->size_ns, a, sizeof(a)), origin_of(c, SEC_WINDOW, "size"),
		     dur_format(c->slide_ns, b, sizeof(b)), origin_of(c, SEC_WINDOW, "slide"));
		return -1;
	}
	if (c->max_future_ns < 0 || c->allowed_lateness_ns < 0 || c->idle_timeout_ns < 0) {
		errf(err, errlen, "durations must not be negative");
		return -1;
	}
	for (j = 0; j < c->priv.n_ranges && j < WR_METRICS_MAX; j++) {
		const struct cfg_range_set *r = &c->priv.ranges[j];

		for (i = 0; i < c->n_metrics; i++)
			if (strcmp(c->metrics[i], r->metric) == 0)
				break;
		if (i == c->n_metrics) {
			errf(err, errlen, "%s: [input] range.%s: metric \"%s\" is not in "
			     "[input] metrics (%s)", r->origin, r->metric, r->metric,
			     origin_of(c, SEC_INPUT, "metrics"));
			return -1;
		}
	}
	for (i = 0; i < c->n_metrics; i++) {
		if (!(c->range_min[i] <= c->range_max[i])) {
			errf(err, errlen, "[input] range.%s: min is above max", c->metrics[i]);
			return -1;
		}
	}
	/* names resolve now, so a typo stops weir before anything starts */
	if (c->socket_group[0] != '\0' && getgrnam(c->socket_group) == NULL) {
		errf(err, errlen, "%s: [control] socket_group: no group named \"%s\" on this "
		     "host", origin_of(c, SEC_CONTROL, "socket_group"), c->socket_group);
		return -1;
	}
	if (c->run_user[0] != '\0' && getpwnam(c->run_user) == NULL) {
		errf(err, errlen, "%s: [control] user: no user named \"%s\" on this host",
		     origin_of(c, SEC_CONTROL, "user"), c->run_user);
		return -1;
	}
	return 0;
}

/* --- help and example ------------------------------------------------- */

static void
type_describe(const struct cfg_key *k, char *buf, size_t buflen)
{
	switch (k->type) {
	case CT_PORTS:
		snprintf(buf, buflen, "list of ports (max %llu)", (unsigned long long)k->max);
		return;
	case CT_NAMES:
		snprintf(buf, buflen, "list of names (max %llu)", (unsigned long long)k->max);
		return;
	case CT_RANGE:
		snprintf(buf, buflen, "min, max");
		return;
	case CT_DURATION:
		snprintf(buf, buflen, "%s", (k->flags & F_POSITIVE) ? "duration > 0" : "duration");
		return;
	case CT_ENUM:
		choices_list(k->choices, "|", buf, buflen);
		return;
	case CT_UINT:
		snprintf(buf, buflen, "%s%llu..%llu", (k->flags & F_POW2) ? "2^n " : "",
			 (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	case CT_TOPIC:
		snprintf(buf, buflen, "topic name");
		return;
	case CT_BROKERS:
		snprintf(buf, buflen, "embedded|host:port,...");
		return;
	case CT_STRING:
	case CT_PASS:
		snprintf(buf, buflen, "string");
		return;
	case CT_ALERT:
		snprintf(buf, buflen, "metric OP value [for N]");
		return;
	case CT_LISTEN:
		snprintf(buf, buflen, "host:port or empty");
		return;
	case CT_PATH:
		snprintf(buf, buflen, "path (max %llu bytes)", (unsigned long long)k->max);
		return;
	}
	buf[0] = '\0';
}

/* Word-wrap text to WRAP_COLS, every line starting with prefix. */
static void
wrap(FILE *f, const char *prefix, const char *text)
{
	size_t width = WRAP_COLS - strlen(prefix);
	const char *p = text;

	while (*p != '\0') {
		size_t n = strlen(p), cut = n;

		if (n > width) {
			cut = width;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = strcspn(p, " ");
		}
		fprintf(f, "%s%.*s\n", prefix, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

void
cfg_print_help(FILE *f)
{
	char full[96], type[96];
	size_t i;

	fprintf(f, "Configuration keys: set them in the INI file (-c FILE) under [section],\n"
		   "or with --set section.key=value (applied after the file, in order).\n"
		   "Durations need a unit: ns, us, ms, s, m or h (1.5s, 500ms); only 0 may "
		   "be bare.\n\n");
	fprintf(f, "%-26s %-26s %s\n", "KEY", "TYPE", "DEFAULT");
	for (i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const char *def = k->def;

		snprintf(full, sizeof(full), "%s.%s", sec_names[k->section], k->name);
		type_describe(k, type, sizeof(type));
		if (k->type == CT_RANGE)
			def = "none";
		else if (k->type == CT_PASS || def == NULL)
			def = "-";
		else if (def[0] == '\0')
			def = "(empty)";
		fprintf(f, "%-26s %-26s %s\n", full, type, def);
		wrap(f, "    ", k->help);
	}
}

void
cfg_write_example(FILE *f)
{
	size_t i;
	int s;

	fprintf(f,
		"; weir configuration. Generated from the key table in common/cfg.c by\n"
		"; `weir config > config/weir.conf`; every key is shown at its default, so\n"
		"; this file as shipped changes nothing. `weir config --keys` lists them all.\n"
		";\n"
		";   weir run -c config/weir.conf [--set section.key=value ...] [-- EAL args]\n"
		";\n"
		"; Every key can be overridden with --set section.key=value, which splits at\n"
		"; the first dot (--set input.range.temperature=-60,150 sets range.temperature\n"
		"; in [input]). The file is read first, then each --set in order; the last\n"
		"; setting of a key wins.\n"
		";\n"
		"; Syntax: [section] headers and \"key = value\" lines; keys are\n"
		"; case-sensitive. '#' and ';' start a comment at the start of a line, or\n"
		"; after whitespace inside one. Lists are comma separated. A value in double\n"
		"; quotes is taken literally (keeps '#', ';' and spaces; no escapes).\n"
		"; Durations need a unit: ns, us, ms, s, m or h; decimals are fine (1.5s);\n"
		"; only 0 may be written bare. Unknown sections or keys and bad values stop\n"
		"; weir at start, naming FILE:LINE and the key.\n");
	for (s = 0; s < SEC_COUNT; s++) {
		fprintf(f, "\n[%s]\n", sec_names[s]);
		wrap(f, "; ", sec_help[s]);
		for (i = 0; i < N_KEYS; i++) {
			const struct cfg_key *k = &cfg_keys[i];
			const char *p;
			size_t n;

			if ((int)k->section != s)
				continue;
			fprintf(f, "\n");
			wrap(f, "; ", k->help);
			if (k->def == NULL) {
				/* dynamic keys: commented examples, one per line */
				for (p = k->example; p != NULL && *p != '\0';
				     p += n + (p[n] == '\n')) {
					n = strcspn(p, "\n");
					fprintf(f, "; %.*s\n", (int)n, p);
				}
				continue;
			}
			if (k->def[0] == '\0')
				fprintf(f, "%s =\n", k->name);
			else
				fprintf(f, "%s = %s\n", k->name, k->def);
		}
	}
}

/* --- reading values back (weirctl get) --------------------------------- */

static const char *
const_field(const struct weir_config *c, size_t off)
{
	return (const char *)c + off;
}

/* Append a formatted piece to out, keeping it NUL terminated when full. */
static void __attribute__((format(printf, 4, 5)))
out_add(char *out, size_t outlen, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= outlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *o, outlen - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o += (size_t)n < outlen - *o ? (size_t)n : outlen - *o - 1;
}

static void
key_format(const struct weir_config *c, const struct cfg_key *k, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned int i, n;
	int64_t d;
	uint32_t u;
	int e;

	out[0] = '\0';
	switch (k->type) {
	case CT_PORTS:
		n = *(const unsigned int *)const_field(c, k->off_n);
		for (i = 0; i < n && i < CFG_PORTS_MAX; i++)
			out_add(out, outlen, &o, "%s%u", i ? ", " : "",
				((const uint16_t *)const_field(c, k->off))[i]);
		return;
	case CT_NAMES:
		n = *(const unsigned int *)const_field(c, k->off_n);
		for (i = 0; i < n && i < k->max; i++)
			out_add(out, outlen, &o, "%s%s", i ? ", " : "",
				((const char (*)[CFG_NAME_MAX])const_field(c, k->off))[i]);
		return;
	case CT_DURATION:
		memcpy(&d, const_field(c, k->off), sizeof(d));
		dur_format(d, out, outlen);
		return;
	case CT_ENUM:
		memcpy(&e, const_field(c, k->off), sizeof(e));
		for (i = 0; k->choices[i].name != NULL; i++)
			if (k->choices[i].value == e)
				out_add(out, outlen, &o, "%s", k->choices[i].name);
		return;
	case CT_UINT:
		if (k->size == sizeof(uint64_t)) {
			uint64_t u64;

			memcpy(&u64, const_field(c, k->off), sizeof(u64));
			out_add(out, outlen, &o, "%" PRIu64, u64);
			return;
		}
		memcpy(&u, const_field(c, k->off), sizeof(u));
		out_add(out, outlen, &o, "%u", u);
		return;
	case CT_TOPIC:
	case CT_BROKERS:
	case CT_STRING:
	case CT_LISTEN:
	case CT_PATH:
		out_add(out, outlen, &o, "%.*s", (int)strnlen(const_field(c, k->off), k->size),
			const_field(c, k->off));
		return;
	case CT_RANGE:
	case CT_PASS:
	case CT_ALERT:
		return;
	}
}

int
cfg_get(const struct weir_config *c, const char *skey, char *out, size_t outlen)
{
	const char *dot = strchr(skey, '.');
	char sec[CFG_STR_MAX];
	size_t i, n;
	int s;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (dot == NULL || (size_t)(dot - skey) >= sizeof(sec))
		return -1;
	n = (size_t)(dot - skey);
	memcpy(sec, skey, n);
	sec[n] = '\0';
	s = section_find(sec);
	if (s < 0)
		return -1;
	for (i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if ((int)k->section == s && !(k->flags & F_DYNAMIC) &&
		    strcmp(k->name, dot + 1) == 0) {
			key_format(c, k, out, outlen);
			return 0;
		}
	}
	if (s == SEC_INPUT && strncmp(dot + 1, "range.", 6) == 0) {
		for (i = 0; i < c->n_metrics && i < WR_METRICS_MAX; i++) {
			if (strcmp(c->metrics[i], dot + 7) != 0)
				continue;
			if (isinf(c->range_min[i]) && isinf(c->range_max[i]))
				snprintf(out, outlen, "none");
			else
				snprintf(out, outlen, "%.17g, %.17g", c->range_min[i],
					 c->range_max[i]);
			return 0;
		}
		return -1;
	}
	if (s == SEC_KAFKA) {
		for (i = 0; i < c->n_kafka && i < CFG_PASS_MAX; i++) {
			if (strcmp(c->kafka[i].key, dot + 1) == 0) {
				snprintf(out, outlen, "%s", c->kafka[i].value);
				return 0;
			}
		}
	}
	if (s == SEC_ALERT) {
		for (i = 0; i < c->alerts.n && i < WR_ALERT_RULES_MAX; i++) {
			if (strcmp(c->alerts.r[i].name, dot + 1) == 0) {
				wr_alert_format(&c->alerts.r[i], out, outlen);
				return 0;
			}
		}
	}
	return -1;
}

static bool
contains_nocase(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s != '\0'; s++)
		if (strncasecmp(s, word, n) == 0)
			return true;
	return false;
}

int
cfg_key_secret(const char *skey)
{
	static const char *const exact[] = {
		"kafka.ssl.key.pem", "kafka.ssl_key.pem", "kafka.sasl.oauthbearer.config",
	};
	size_t i;

	if (skey == NULL)
		return 0;
	if (contains_nocase(skey, "password") || contains_nocase(skey, "secret"))
		return 1;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcasecmp(skey, exact[i]) == 0)
			return 1;
	return 0;
}

int
cfg_key_at(unsigned int i, char *out, size_t outlen)
{
	size_t j;

	for (j = 0; j < N_KEYS; j++) {
		if (cfg_keys[j].flags & F_DYNAMIC)
			continue;
		if (i-- == 0) {
			snprintf(out, outlen, "%s.%s", sec_names[cfg_keys[j].section],
				 cfg_keys[j].name);
			return 0;
		}
	}
	return -1;
}
