/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of common/cfg.c: defaults, every key, every kind of error with
 * its exact FILE:LINE / --set message, durations, list limits, cross-key
 * validation, quoting and comments, and that config/weir.conf is exactly
 * what cfg_write_example() writes.
 *
 * config/weir.conf is found through $WEIR_CONF, else relative to this source
 * file. WEIR_CFG_WRITE_EXAMPLE=1 rewrites it from cfg_write_example() first.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"

#define ERRLEN 512

/* --- helpers ----------------------------------------------------------- */

/* Write text (len bytes) to a fresh temp file; returns its malloc'd path. */
static char *
tmp_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/weir-cfg-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Load text as a file over c; on error err holds the message. */
static int
load_text(struct weir_config *c, const char *text, char **pathp, char *err)
{
	char *path = tmp_file(text, strlen(text));
	int rc;

	err[0] = '\0';
	rc = cfg_load_file(c, path, err, ERRLEN);
	unlink(path);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
	return rc;
}

/* The whole public part of two configs is equal (setters zero unused bytes). */
static void
assert_same_config(const struct weir_config *a, const struct weir_config *b)
{
	unsigned int i;

	assert_memory_equal(a, b, offsetof(struct weir_config, kafka));
	assert_int_equal(a->n_kafka, b->n_kafka);
	for (i = 0; i < a->n_kafka; i++) {
		assert_string_equal(a->kafka[i].key, b->kafka[i].key);
		assert_string_equal(a->kafka[i].value, b->kafka[i].value);
	}
	assert_string_equal(a->eal_args, b->eal_args);
}

/* --- defaults ---------------------------------------------------------- */

static void
check_defaults(const struct weir_config *c)
{
	unsigned int i;

	assert_int_equal(c->n_udp_ports, 1);
	assert_int_equal(c->udp_ports[0], 9700);
	assert_int_equal(c->n_metrics, 4);
	assert_string_equal(c->metrics[0], "temperature");
	assert_string_equal(c->metrics[1], "humidity");
	assert_string_equal(c->metrics[2], "pressure");
	assert_string_equal(c->metrics[3], "vibration");
	assert_int_equal(c->n_device_id_fields, 2);
	assert_string_equal(c->device_id_fields[0], "device_id");
	assert_string_equal(c->device_id_fields[1], "sensor_id");
	for (i = 0; i < WR_METRICS_MAX; i++) {
		assert_true(isinf(c->range_min[i]) && c->range_min[i] < 0);
		assert_true(isinf(c->range_max[i]) && c->range_max[i] > 0);
	}
	assert_int_equal(c->max_future_ns, 300LL * 1000000000LL);
	assert_int_equal(c->encoding, CFG_ENC_AUTO);
	assert_int_equal(c->json_ts_unit, CFG_TS_AUTO);
	assert_int_equal(c->influx_precision, CFG_TS_NS);
	assert_int_equal(c->size_ns, 60LL * 1000000000LL);
	assert_int_equal(c->slide_ns, 60LL * 1000000000LL);
	assert_int_equal(c->allowed_lateness_ns, 5LL * 1000000000LL);
	assert_int_equal(c->idle_timeout_ns, 10LL * 1000000000LL);
	assert_string_equal(c->ckpt_dir, "");	/* checkpoints off by default */
	assert_int_equal(c->ckpt_interval_ns, 10LL * 1000000000LL);
	assert_int_equal(c->time_mode, CFG_TIME_EVENT);
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->max_devices, 1000000);
	assert_int_equal(c->burst, 32);
	assert_int_equal(c->ring_size, 16384);
	assert_int_equal(c->mbufs, 8191);
	assert_string_equal(c->topic_aggregated, "aggregated");
	assert_string_equal(c->topic_alerts, "alerts");
	assert_string_equal(c->topic_rejected, "rejected");
	assert_int_equal(c->partitions, 64);
	assert_string_equal(c->brokers, "embedded");
	assert_int_equal(c->n_kafka, 0);
	assert_string_equal(c->eal_args, "");
}

static void
test_defaults(void **state)
{
	static struct weir_config c;
	char err[ERRLEN];

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	cfg_defaults(&c);
	check_defaults(&c);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
}

/* --- every key --------------------------------------------------------- */

static const char every_key[] =
	"# every key, none at its default\n"
	"[input]\n"
	"udp_ports = 9700, 9701 , 5000\n"
	"range.t = -1.5, 2.5e1\n"	/* before metrics: resolved when they arrive */
	"metrics = t, h\n"
	"device_id_fields = id\n"
	"range.h = 0,100\n"
	"max_future = 1.5m\n"
	"encoding = snr1\n"
	"json_ts_unit = ms\n"
	"influx_precision = us\n"
	"[window]\n"
	"size = 10m\n"
	"slide = 30s\n"
	"allowed_lateness = 250ms\n"
	"idle_timeout = 0\n"
	"time = arrival\n"
	"[aggregator]\n"
	"workers = 0\n"
	"max_devices = 100000000\n"
	"[dataplane]\n"
	"burst = 512\n"
	"ring_size = 1048576\n"
	"mbufs = 1048575\n"
	"[topics]\n"
	"aggregated = agg.v1\n"
	"alerts = alerts_v1\n"
	"rejected = dead-letters\n"
	"partitions = 1024\n"
	"[kafka]\n"
	"brokers = k1:9092, k2:9093\n"
	"client.id = weir-test\n"
	"[eal]\n"
	"args = -l 0-1 --no-huge\n";

static void
check_every_key(const struct weir_config *c)
{
	unsigned int i;

	assert_int_equal(c->n_udp_ports, 3);
	assert_int_equal(c->udp_ports[0], 9700);
	assert_int_equal(c->udp_ports[1], 9701);
	assert_int_equal(c->udp_ports[2], 5000);
	assert_int_equal(c->n_metrics, 2);
	assert_string_equal(c->metrics[0], "t");
	assert_string_equal(c->metrics[1], "h");
	assert_int_equal(c->n_device_id_fields, 1);
	assert_string_equal(c->device_id_fields[0], "id");
	assert_true(c->range_min[0] == -1.5 && c->range_max[0] == 25.0);
	assert_true(c->range_min[1] == 0.0 && c->range_max[1] == 100.0);
	for (i = 2; i < WR_METRICS_MAX; i++)
		assert_true(isinf(c->range_min[i]) && isinf(c->range_max[i]));
	assert_int_equal(c->max_future_ns, 90LL * 1000000000LL);
	assert_int_equal(c->encoding, CFG_ENC_SNR1);
	assert_int_equal(c->json_ts_unit, CFG_TS_MS);
	assert_int_equal(c->influx_precision, CFG_TS_US);
	assert_int_equal(c->size_ns, 600LL * 1000000000LL);
	assert_int_equal(c->slide_ns, 30LL * 1000000000LL);
	assert_int_equal(c->allowed_lateness_ns, 250LL * 1000000LL);
	assert_int_equal(c->idle_timeout_ns, 0);
	assert_int_equal(c->time_mode, CFG_TIME_ARRIVAL);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->max_devices, 100000000);
	assert_int_equal(c->burst, 512);
	assert_int_equal(c->ring_size, 1048576);
	assert_int_equal(c->mbufs, 1048575);
	assert_string_equal(c->topic_aggregated, "agg.v1");
	assert_string_equal(c->topic_alerts, "alerts_v1");
	assert_string_equal(c->topic_rejected, "dead-letters");
	assert_int_equal(c->partitions, 1024);
	assert_string_equal(c->brokers, "k1:9092,k2:9093");
	assert_int_equal(c->n_kafka, 1);
	assert_string_equal(c->kafka[0].key, "client.id");
	assert_string_equal(c->kafka[0].value, "weir-test");
	assert_string_equal(c->eal_args, "-l 0-1 --no-huge");
}

static void
test_every_key(void **state)
{
	static struct weir_config c;
	char err[ERRLEN];

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, every_key, NULL, err), 0);
	check_every_key(&c);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
}

/* [checkpoint]: both keys through --set */
static void
test_checkpoint_keys(void **state)
{
	static struct weir_config c;
	char err[ERRLEN];

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "checkpoint.dir=/var/lib/weir/ckpt", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "checkpoint.interval=250ms", err, sizeof(err)), 0);
	assert_string_equal(c.ckpt_dir, "/var/lib/weir/ckpt");
	assert_int_equal(c.ckpt_interval_ns, 250LL * 1000000LL);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
	assert_int_not_equal(cfg_set(&c, "checkpoint.interval=soon", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "[checkpoint] interval"));
	/* several RX queues would cut at different moments: refused at start */
	assert_int_equal(cfg_set(&c, "dataplane.rx_queues=2", err, sizeof(err)), 0);
	assert_int_not_equal(cfg_validate(&c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "[checkpoint] dir (--set checkpoint.dir=/var/lib/weir/ckpt) "
				    "needs [dataplane] rx_queues = 1"));
	assert_int_equal(cfg_set(&c, "checkpoint.dir=", err, sizeof(err)), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
}

static void
test_enum_choices(void **state)
{
	static const struct {
		const char *set;
		size_t off;
		int value;
	} t[] = {
		{ "input.encoding=auto", offsetof(struct weir_config, encoding), CFG_ENC_AUTO },
		{ "input.encoding=json", offsetof(struct weir_config, encoding), CFG_ENC_JSON },
		{ "input.encoding=influx", offsetof(struct weir_config, encoding),
		  CFG_ENC_INFLUX },
		{ "input.encoding=snr1", offsetof(struct weir_config, encoding), CFG_ENC_SNR1 },
		{ "input.json_ts_unit=auto", offsetof(struct weir_config, json_ts_unit),
		  CFG_TS_AUTO },
		{ "input.json_ts_unit=s", offsetof(struct weir_config, json_ts_unit), CFG_TS_S },
		{ "input.json_ts_unit=ms", offsetof(struct weir_config, json_ts_unit), CFG_TS_MS },
		{ "input.json_ts_unit=us", offsetof(struct weir_config, json_ts_unit), CFG_TS_US },
		{ "input.json_ts_unit=ns", offsetof(struct weir_config, json_ts_unit), CFG_TS_NS },
		{ "input.influx_precision=s", offsetof(struct weir_config, influx_precision),
		  CFG_TS_S },
		{ "input.influx_precision=ms", offsetof(struct weir_config, influx_precision),
		  CFG_TS_MS },
		{ "input.influx_precision=us", offsetof(struct weir_config, influx_precision),
		  CFG_TS_US },
		{ "input.influx_precision=ns", offsetof(struct weir_config, influx_precision),
		  CFG_TS_NS },
		{ "window.time=arrival", offsetof(struct weir_config, time_mode),
		  CFG_TIME_ARRIVAL },
		{ "window.time=event", offsetof(struct weir_config, time_mode), CFG_TIME_EVENT },
	};
	static struct weir_config c;
	char err[ERRLEN];
	size_t i;

	(void)state;
	cfg_defaults(&c);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int v;

		assert_int_equal(cfg_set(&c, t[i].set, err, sizeof(err)), 0);
		memcpy(&v, (char *)&c + t[i].off, sizeof(v));
		if (v != t[i].value)
			fail_msg("%s gave %d", t[i].set, v);
	}
}

/* --- errors in files: exact FILE:LINE messages ------------------------- */

static const struct {
	const char *text;
	const char *msg;	/* message after "PATH" */
} file_errors[] = {
	{ "[window]\nsize = 6x\n",
	  ":2: [window] size: \"6x\" is not a duration (use ms, s, m, h)" },
	{ "[window]\nslid = 1s\n", ":2: unknown key [window] slid" },
	{ "[checkpoint]\ninterval = 5x\n",
	  ":2: [checkpoint] interval: \"5x\" is not a duration (use ms, s, m, h)" },
	{ "[checkpoint]\ninterval = 0\n",
	  ":2: [checkpoint] interval: \"0\" must be greater than 0" },
	{ "[checkpoint]\ninterval = -1s\n",
	  ":2: [checkpoint] interval: \"-1s\" must not be negative" },
	{ "[checkpoint]\ndirr = /x\n", ":2: unknown key [checkpoint] dirr" },
	{ "[window]\nSize = 1s\n", ":2: unknown key [window] Size" },
	{ "[input]\nsize = 1s\n", ":2: unknown key [input] size" },
	{ "[input]\nrange = 1, 2\n", ":2: unknown key [input] range" },
	{ "[nope]\n", ":1: unknown section [nope]" },
	{ "[Input]\n", ":1: unknown section [Input]" },
	{ "size = 60s\n", ":1: \"size = 60s\" is outside any [section]" },
	{ "# c\n\n  ; c\nsize = 60s\n", ":4: \"size = 60s\" is outside any [section]" },
	{ "[window]\nsize\n", ":2: [window] \"size\": expected \"key = value\"" },
	{ "[window\n", ":1: bad section header \"[window\"" },
	{ "[window] x\n", ":1: bad section header \"[window] x\"" },
	{ "[input]\n = 5\n", ":2: [input] missing key before '='" },
	{ "[input]\nudp ports = 5\n", ":2: [input] \"udp ports\": a key has no spaces" },
	{ "[input]\nudp_ports = 0\n", ":2: [input] udp_ports: \"0\" is not a UDP port (1..65535)" },
	{ "[input]\nudp_ports = 65536\n",
	  ":2: [input] udp_ports: \"65536\" is not a UDP port (1..65535)" },
	{ "[input]\nudp_ports = 9700, x\n",
	  ":2: [input] udp_ports: \"x\" is not a UDP port (1..65535)" },
	{ "[input]\nudp_ports = 9700, 9700\n", ":2: [input] udp_ports: port 9700 is listed twice" },
	{ "[input]\nudp_ports = 9700,,9701\n",
	  ":2: [input] udp_ports: \"9700,,9701\" has an empty entry" },
	{ "[input]\nudp_ports = 9700,\n", ":2: [input] udp_ports: \"9700,\" has an empty entry" },
	{ "[input]\nudp_ports =\n", ":2: [input] udp_ports: is empty" },
	{ "[input]\nudp_ports = # nothing\n", ":2: [input] udp_ports: is empty" },
	{ "[input]\nmetrics = a, b, a\n", ":2: [input] metrics: \"a\" is listed twice" },
	{ "[input]\nmetrics = \"a b\"\n",
	  ":2: [input] metrics: name \"a b\" may only hold printable ASCII without spaces, "
	  "'\"' or '\\'" },
	{ "[input]\ndevice_id_fields = a\\b\n",
	  ":2: [input] device_id_fields: name \"a\\b\" may only hold printable ASCII without "
	  "spaces, '\"' or '\\'" },
	{ "[input]\nrange.temperature = 5\n",
	  ":2: [input] range.temperature: \"5\" needs two numbers \"min, max\"" },
	{ "[input]\nrange.temperature = 1, 2, 3\n",
	  ":2: [input] range.temperature: \"1, 2, 3\" needs two numbers \"min, max\"" },
	{ "[input]\nrange.temperature = 1, x\n",
	  ":2: [input] range.temperature: \"x\" is not a number" },
	{ "[input]\nrange.temperature = nan, 1\n",
	  ":2: [input] range.temperature: \"nan\" is not a number" },
	{ "[input]\nrange.temperature = -inf, 1\n",
	  ":2: [input] range.temperature: \"-inf\" is not a number" },
	{ "[input]\nrange.temperature = 0x10, 20\n",
	  ":2: [input] range.temperature: \"0x10\" is not a number" },
	{ "[input]\nrange.temperature = 1, 1e999\n",
	  ":2: [input] range.temperature: \"1e999\" is not finite" },
	{ "[input]\nrange.temperature = 10, 1\n",
	  ":2: [input] range.temperature: min \"10\" is above max \"1\"" },
	{ "[input]\nrange. = 1, 2\n",
	  ":2: [input] range.: name \"\" must be 1..63 bytes" },
	{ "[input]\nencoding = xml\n",
	  ":2: [input] encoding: \"xml\" is not one of auto, json, influx, snr1" },
	{ "[input]\nencoding = JSON\n",
	  ":2: [input] encoding: \"JSON\" is not one of auto, json, influx, snr1" },
	{ "[input]\ninflux_precision = auto\n",
	  ":2: [input] influx_precision: \"auto\" is not one of ns, us, ms, s" },
	{ "[input]\njson_ts_unit = min\n",
	  ":2: [input] json_ts_unit: \"min\" is not one of auto, s, ms, us, ns" },
	{ "[input]\nmax_future = -5s\n", ":2: [input] max_future: \"-5s\" must not be negative" },
	{ "[input]\nmax_future = 5\n",
	  ":2: [input] max_future: \"5\" needs a unit (ns, us, ms, s, m or h)" },
	{ "[window]\nsize = 0\n", ":2: [window] size: \"0\" must be greater than 0" },
	{ "[window]\nslide = 0ms\n", ":2: [window] slide: \"0ms\" must be greater than 0" },
	{ "[window]\nsize = 2562048h\n",
	  ":2: [window] size: \"2562048h\" is too large (at most 2562047h)" },
	{ "[window]\nsize = 1.5ns\n",
	  ":2: [window] size: \"1.5ns\" is not a whole number of nanoseconds" },
	{ "[window]\ntime = wall\n", ":2: [window] time: \"wall\" is not one of event, arrival" },
	{ "[aggregator]\nworkers = 17\n",
	  ":2: [aggregator] workers: \"17\" is out of range (0..16)" },
	{ "[aggregator]\nworkers = -1\n",
	  ":2: [aggregator] workers: \"-1\" is not a whole number" },
	{ "[aggregator]\nworkers = 1.0\n",
	  ":2: [aggregator] workers: \"1.0\" is not a whole number" },
	{ "[aggregator]\nworkers = 99999999999999999999999\n",
	  ":2: [aggregator] workers: \"99999999999999999999999\" is out of range (0..16)" },
	{ "[aggregator]\nmax_devices = 0\n",
	  ":2: [aggregator] max_devices: \"0\" is out of range (1..100000000)" },
	{ "[dataplane]\nburst = 513\n", ":2: [dataplane] burst: \"513\" is out of range (1..512)" },
	{ "[dataplane]\nring_size = 3000\n",
	  ":2: [dataplane] ring_size: \"3000\" is not a power of two" },
	{ "[dataplane]\nring_size = 512\n",
	  ":2: [dataplane] ring_size: \"512\" is out of range (1024..1048576)" },
	{ "[dataplane]\nmbufs = 1022\n",
	  ":2: [dataplane] mbufs: \"1022\" is out of range (1023..1048575)" },
	{ "[topics]\npartitions = 1025\n",
	  ":2: [topics] partitions: \"1025\" is out of range (1..1024)" },
	{ "[topics]\naggregated = \"my topic\"\n",
	  ":2: [topics] aggregated: \"my topic\" is not a Kafka topic name "
	  "(1..249 of a-z A-Z 0-9 . _ -)" },
	{ "[topics]\nalerts = ..\n",
	  ":2: [topics] alerts: \"..\" is not a Kafka topic name (1..249 of a-z A-Z 0-9 . _ -)" },
	{ "[topics]\nrejected =\n",
	  ":2: [topics] rejected: \"\" is not a Kafka topic name (1..249 of a-z A-Z 0-9 . _ -)" },
	{ "[kafka]\nbrokers = host\n",
	  ":2: [kafka] brokers: \"host\" is not host:port (or use embedded)" },
	{ "[kafka]\nbrokers = h:1, h:0\n",
	  ":2: [kafka] brokers: \"h:0\" is not host:port (or use embedded)" },
	{ "[kafka]\nbrokers = :9092\n",
	  ":2: [kafka] brokers: \":9092\" is not host:port (or use embedded)" },
	{ "[kafka]\nbrokers =\n", ":2: [kafka] brokers: is empty" },
	{ "[kafka]\nsasl/user = x\n", ":2: [kafka] sasl/user: not a librdkafka property name" },
	{ "[input]\nmetrics = \"abc\n", ":2: [input] metrics: unterminated quoted value" },
	{ "[input]\nmetrics = \"abc\" x\n", ":2: [input] metrics: text after the closing quote" },
	{ "[input]\nmetrics = \"abc\"#x\n", ":2: [input] metrics: text after the closing quote" },
	/* an error after good lines names the right line */
	{ "; weir\n\n[input]\nudp_ports = 1\n  # indented comment\n[window]\nsize = 6x\n",
	  ":7: [window] size: \"6x\" is not a duration (use ms, s, m, h)" },
	{ "[input]\r\nudp_ports = 1\r\nmetrics = a,a\r\n",
	  ":3: [input] metrics: \"a\" is listed twice" },
};

static void
test_file_errors(void **state)
{
	static struct weir_config c;
	char err[ERRLEN], want[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(file_errors) / sizeof(file_errors[0]); i++) {
		char *path;

		cfg_defaults(&c);
		if (load_text(&c, file_errors[i].text, &path, err) != -1)
			fail_msg("case %zu loaded: %s", i, file_errors[i].text);
		snprintf(want, sizeof(want), "%s%s", path, file_errors[i].msg);
		if (strcmp(err, want) != 0)
			fail_msg("case %zu\n got: %s\nwant: %s", i, err, want);
		free(path);
	}
}

static void
test_file_errors_raw(void **state)
{
	static const char nul_line[] = "[input]\nmetrics = a\0b\n";
	static struct weir_config c;
	char err[ERRLEN], want[ERRLEN];
	char *path, *big;
	size_t n;

	(void)state;
	cfg_defaults(&c);

	assert_int_equal(cfg_load_file(&c, "/nonexistent/weir.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/weir.conf: cannot open: No such file or directory");

	path = tmp_file(nul_line, sizeof(nul_line) - 1);
	assert_int_equal(cfg_load_file(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: NUL byte in line", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	n = 20000;
	big = malloc(n + 16);
	assert_non_null(big);
	memcpy(big, "[eal]\nargs = ", 13);
	memset(big + 13, 'x', n);
	memcpy(big + 13 + n, "\n", 2);
	assert_int_equal(load_text(&c, big, &path, err), -1);
	snprintf(want, sizeof(want), "%s:2: line longer than 16384 bytes", path);
	assert_string_equal(err, want);
	free(path);

	/* fits a line but not [eal] args */
	big[13 + 1024] = '\n';
	big[13 + 1025] = '\0';
	assert_int_equal(load_text(&c, big, &path, err), -1);
	snprintf(want, sizeof(want), "%s:2: [eal] args: is longer than 1023 bytes", path);
	assert_string_equal(err, want);
	free(path);
	big[13 + 1023] = '\n';
	big[13 + 1024] = '\0';
	assert_int_equal(load_text(&c, big, NULL, err), 0);
	assert_int_equal(strlen(c.eal_args), 1023);
	free(big);

	assert_int_equal(load_text(&c, "[eal]\nargs = a\x01z\n", &path, err), -1);
	snprintf(want, sizeof(want), "%s:2: [eal] args: holds a control character", path);
	assert_string_equal(err, want);
	free(path);

	/* a directory opens but cannot be read */
	assert_int_equal(cfg_load_file(&c, "/tmp", err, sizeof(err)), -1);
	assert_true(strncmp(err, "/tmp: ", 6) == 0);
}

/* Messages never overflow a short buffer, and err may be NULL. */
static void
test_error_buffer(void **state)
{
	static struct weir_config c;
	char err[8];

	(void)state;
	cfg_defaults(&c);
	memset(err, 'z', sizeof(err));
	assert_int_equal(cfg_set(&c, "window.size=6x", err, sizeof(err)), -1);
	assert_string_equal(err, "--set w");
	assert_int_equal(cfg_set(&c, "window.size=6x", NULL, 0), -1);
	assert_int_equal(cfg_set(&c, "window.size=6x", err, 0), -1);
	assert_int_equal(cfg_load_file(&c, "/nonexistent", NULL, 0), -1);
	/* a failed set leaves the old value */
	assert_int_equal(c.size_ns, 60LL * 1000000000LL);
}

/* --- --set ------------------------------------------------------------ */

static void
test_set(void **state)
{
	static const struct {
		const char *arg;
		const char *msg;
	} bad[] = {
		{ "window.slid=1s", "--set window.slid=1s: unknown key [window] slid" },
		{ "window.size=6x",
		  "--set window.size=6x: [window] size: \"6x\" is not a duration "
		  "(use ms, s, m, h)" },
		{ "foo.bar=1", "--set foo.bar=1: unknown section [foo]" },
		{ "windowsize=1s", "--set windowsize=1s: expected section.key=value" },
		{ "window.size", "--set window.size: expected section.key=value" },
		{ "size=1.5s", "--set size=1.5s: expected section.key=value" },
		{ ".size=1s", "--set .size=1s: expected section.key=value" },
		{ "window.=1s", "--set window.=1s: expected section.key=value" },
		{ "", "--set : expected section.key=value" },
		{ "window.si ze=1s",
		  "--set window.si ze=1s: [window] \"si ze\": a key has no spaces" },
		{ "input.range.temperature=1", "--set input.range.temperature=1: [input] "
		  "range.temperature: \"1\" needs two numbers \"min, max\"" },
		{ "window.range.x=1,2", "--set window.range.x=1,2: unknown key [window] range.x" },
		{ "aggregator.workers=", "--set aggregator.workers=: [aggregator] workers: "
		  "\"\" is not a whole number" },
	};
	static struct weir_config c;
	char err[ERRLEN];
	size_t i;

	(void)state;
	cfg_defaults(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cfg_set(&c, bad[i].arg, err, sizeof(err)) != -1)
			fail_msg("--set %s accepted", bad[i].arg);
		if (strcmp(err, bad[i].msg) != 0)
			fail_msg("--set %s\n got: %s\nwant: %s", bad[i].arg, err, bad[i].msg);
	}
	check_defaults(&c);

	assert_int_equal(cfg_set(&c, "window.size=5m", err, sizeof(err)), 0);
	assert_int_equal(c.size_ns, 300LL * 1000000000LL);
	/* split at the first dot: range.temperature in [input] */
	assert_int_equal(cfg_set(&c, "input.range.temperature=-60,150", err, sizeof(err)), 0);
	assert_true(c.range_min[0] == -60.0 && c.range_max[0] == 150.0);
	assert_true(isinf(c.range_min[1]));
	/* the last setting wins */
	assert_int_equal(cfg_set(&c, "input.range.temperature=-10, 10", err, sizeof(err)), 0);
	assert_true(c.range_min[0] == -10.0 && c.range_max[0] == 10.0);
	assert_int_equal(cfg_set(&c, "input.range.vibration=0,0", err, sizeof(err)), 0);
	assert_true(c.range_min[3] == 0.0 && c.range_max[3] == 0.0);
	/* spaces around the parts, outer quotes dropped */
	assert_int_equal(cfg_set(&c, " window . slide = 30s ", err, sizeof(err)), 0);
	assert_int_equal(c.slide_ns, 30LL * 1000000000LL);
	assert_int_equal(cfg_set(&c, "eal.args=\" -l 0 # 1 \"", err, sizeof(err)), 0);
	assert_string_equal(c.eal_args, " -l 0 # 1 ");
	/* no comment stripping in --set: the shell already parsed it */
	assert_int_equal(cfg_set(&c, "kafka.sasl.password=a ;b #c", err, sizeof(err)), 0);
	assert_string_equal(c.kafka[0].key, "sasl.password");
	assert_string_equal(c.kafka[0].value, "a ;b #c");
	/* '=' inside the value */
	assert_int_equal(cfg_set(&c, "kafka.client.id=a=b", err, sizeof(err)), 0);
	assert_string_equal(c.kafka[1].value, "a=b");
	/* metrics after the range: the range follows its metric to its new index */
	assert_int_equal(cfg_set(&c, "input.metrics=humidity,temperature", err, sizeof(err)), 0);
	assert_true(isinf(c.range_min[0]));
	assert_true(c.range_min[1] == -10.0 && c.range_max[1] == 10.0);
	/* vibration is gone: validate names where its range was set */
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "--set input.range.vibration=0,0: [input] range.vibration: "
			    "metric \"vibration\" is not in [input] metrics "
			    "(--set input.metrics=humidity,temperature)");
	assert_int_equal(cfg_set(&c, "input.metrics=humidity,temperature,vibration", err,
				 sizeof(err)), 0);
	assert_true(c.range_min[2] == 0.0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
}

/* --- [kafka] passthrough ---------------------------------------------- */

static void
test_kafka_passthrough(void **state)
{
	static struct weir_config c;
	char err[ERRLEN], want[ERRLEN];
	char *path;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(load_text(&c,
		"[kafka]\n"
		"security.protocol = SASL_SSL\n"
		"sasl.mechanisms = PLAIN\n"
		"sasl.username = user;x\n"		/* ';' not after a space: literal */
		"sasl.password = \"p #w; d\"  ; the password\n"
		"linger.ms = 5\n"
		"security.protocol = SSL\n"		/* replaces, keeps its place */
		"brokers = b1:9092\n", NULL, err), 0);
	assert_string_equal(c.brokers, "b1:9092");
	assert_int_equal(c.n_kafka, 5);
	assert_string_equal(c.kafka[0].key, "security.protocol");
	assert_string_equal(c.kafka[0].value, "SSL");
	assert_string_equal(c.kafka[1].key, "sasl.mechanisms");
	assert_string_equal(c.kafka[1].value, "PLAIN");
	assert_string_equal(c.kafka[2].key, "sasl.username");
	assert_string_equal(c.kafka[2].value, "user;x");
	assert_string_equal(c.kafka[3].key, "sasl.password");
	assert_string_equal(c.kafka[3].value, "p #w; d");
	assert_string_equal(c.kafka[4].key, "linger.ms");
	assert_string_equal(c.kafka[4].value, "5");

	/* --set after the file replaces in place or appends */
	assert_int_equal(cfg_set(&c, "kafka.linger.ms=20", err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "kafka.acks=1", err, sizeof(err)), 0);
	assert_int_equal(c.n_kafka, 6);
	assert_string_equal(c.kafka[4].value, "20");
	assert_string_equal(c.kafka[5].key, "acks");
	assert_string_equal(c.kafka[5].value, "1");

	/* librdkafka judges names and values, with FILE:LINE */
	assert_int_equal(load_text(&c, "[kafka]\n\nsecurty.protocol = SSL\n", &path, err), -1);
	snprintf(want, sizeof(want), "%s:3: [kafka] securty.protocol: librdkafka: ", path);
	assert_true(strncmp(err, want, strlen(want)) == 0);
	assert_non_null(strstr(err + strlen(want), "securty.protocol"));
	free(path);
	assert_int_equal(cfg_set(&c, "kafka.linger.ms=soon", err, sizeof(err)), -1);
	assert_true(strncmp(err, "--set kafka.linger.ms=soon: [kafka] linger.ms: librdkafka: ",
			    59) == 0);
	assert_int_equal(c.n_kafka, 6);
	assert_string_equal(c.kafka[4].value, "20");
}

/* --- durations ---------------------------------------------------------- */

static void
test_durations(void **state)
{
	static const struct {
		const char *s;
		int64_t ns;
	} good[] = {
		{ "0", 0 }, { "0.0", 0 }, { "00", 0 }, { "0s", 0 }, { "0h", 0 },
		{ "1ns", 1 }, { "1us", 1000 }, { "1ms", 1000000 }, { "1s", 1000000000 },
		{ "1m", 60000000000LL }, { "1h", 3600000000000LL },
		{ "1.5s", 1500000000 }, { "0.001s", 1000000 }, { "2.5ms", 2500000 },
		{ "1.25m", 75000000000LL }, { "0.5h", 1800000000000LL }, { "1.5us", 1500 },
		{ "0.000000001s", 1 }, { "1.0000000000000000000000s", 1000000000 },
		{ "0.00000000001h", 36 }, { "007s", 7000000000LL },
		{ "9223372036854775807ns", INT64_MAX },
		{ "9223372036.854775807s", INT64_MAX },
		{ "2562047h", 2562047LL * 3600000000000LL },
	};
	static const char *const bad[] = {
		"", "s", "5", "1.5", "-1s", "-0", "+1s", "1.s", ".5s", "1e3s", "1 s", " 1s",
		"1s ", "1sec", "1S", "1M", "1d", "0x10s", "1.5.5s", "nan", "inf", "1,5s",
		"9223372036854775808ns", "2562048h", "99999999999999999999999h",
		"99999999999999999999999999999999999999999ns", "1.0000000001ns", "0.5ns",
		"1.00000000000000000001s", "0.0000000000001h", "9223372036.854775808s",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t ns = -1;

		if (cfg_parse_duration(good[i].s, &ns) != 0)
			fail_msg("\"%s\" rejected", good[i].s);
		if (ns != good[i].ns)
			fail_msg("\"%s\" = %lld, want %lld", good[i].s, (long long)ns,
				 (long long)good[i].ns);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 42;

		if (cfg_parse_duration(bad[i], &ns) != -1)
			fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ns);
		assert_int_equal(ns, 42);
	}
	assert_int_equal(cfg_parse_duration(NULL, NULL), -1);
}

/* --- list limits -------------------------------------------------------- */

/* "prefix0, prefix1, ..." with n entries, into buf. */
static void
make_list(char *buf, size_t buflen, const char *key, const char *prefix, unsigned int base,
	  unsigned int n)
{
	size_t o = (size_t)snprintf(buf, buflen, "%s=", key);
	unsigned int i;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, buflen - o, "%s%s%u", i ? ", " : "", prefix,
				      base + i);
	assert_true(o < buflen);
}

static void
test_list_limits(void **state)
{
	static struct weir_config c;
	static char arg[8192];
	static char want[sizeof(arg) + ERRLEN];
	char err[ERRLEN], name[80];

	(void)state;
	cfg_defaults(&c);

	make_list(arg, sizeof(arg), "input.udp_ports", "", 9000, CFG_PORTS_MAX);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), 0);
	assert_int_equal(c.n_udp_ports, CFG_PORTS_MAX);
	assert_int_equal(c.udp_ports[CFG_PORTS_MAX - 1], 9000 + CFG_PORTS_MAX - 1);
	make_list(arg, sizeof(arg), "input.udp_ports", "", 9000, CFG_PORTS_MAX + 1);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "--set %s: [input] udp_ports: has more than 16 entries", arg);
	want[ERRLEN - 1] = '\0';	/* err holds at most ERRLEN - 1 bytes */
	assert_string_equal(err, want);
	assert_int_equal(c.n_udp_ports, CFG_PORTS_MAX);

	make_list(arg, sizeof(arg), "input.metrics", "m", 0, WR_METRICS_MAX);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), 0);
	assert_int_equal(c.n_metrics, WR_METRICS_MAX);
	assert_string_equal(c.metrics[63], "m63");
	make_list(arg, sizeof(arg), "input.metrics", "m", 0, WR_METRICS_MAX + 1);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": [input] metrics: has more than 64 entries"));

	make_list(arg, sizeof(arg), "input.device_id_fields", "f", 0, CFG_ID_FIELDS_MAX);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), 0);
	assert_int_equal(c.n_device_id_fields, CFG_ID_FIELDS_MAX);
	make_list(arg, sizeof(arg), "input.device_id_fields", "f", 0, CFG_ID_FIELDS_MAX + 1);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": [input] device_id_fields: has more than 8 entries"));

	/* names: 63 bytes fit, 64 do not */
	memset(name, 'n', 63);
	name[63] = '\0';
	snprintf(arg, sizeof(arg), "input.metrics=a,%s", name);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), 0);
	assert_string_equal(c.metrics[1], name);
	assert_int_equal(c.n_metrics, 2);
	assert_string_equal(c.metrics[2], "");	/* old entries are cleared */
	snprintf(arg, sizeof(arg), "input.metrics=a,%sn", name);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "] metrics: name \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
			       "nnnnnn...\" must be 1..63 bytes"));

	/* ranges for at most 64 metric names are kept */
	cfg_defaults(&c);
	for (unsigned int i = 0; i <= WR_METRICS_MAX; i++) {
		snprintf(arg, sizeof(arg), "input.range.r%u=0,1", i);
		assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), i < WR_METRICS_MAX ? 0 : -1);
	}
	assert_string_equal(err, "--set input.range.r64=0,1: [input] range.r64: "
			    "more than 64 range.<metric> keys");

	/* brokers: at most 255 bytes once joined */
	cfg_defaults(&c);
	make_list(arg, sizeof(arg), "kafka.brokers", "broker-with-a-long-name.example:", 9000,
		  6);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.brokers), 221);
	make_list(arg, sizeof(arg), "kafka.brokers", "broker-with-a-long-name.example:", 9000,
		  7);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[kafka] brokers: is longer than 255 bytes"));
}

/* --- cross-key validation ---------------------------------------------- */

static void
test_validate(void **state)
{
	static struct weir_config c;
	char err[ERRLEN], want[ERRLEN];
	char *path;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[window]\nsize = 90s\n", &path, err), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "[window] size 90s (%s:2) is not a multiple of "
		 "[window] slide 60s (default)", path);
	assert_string_equal(err, want);
	free(path);
	assert_int_equal(cfg_set(&c, "window.slide=30s", err, sizeof(err)), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "window.slide=1500ms", err, sizeof(err)), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
	assert_int_equal(cfg_set(&c, "window.slide=7s", err, sizeof(err)), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[window] size 90s"));
	assert_non_null(strstr(err, "[window] slide 7s (--set window.slide=7s)"));

	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "window.slide=2m", err, sizeof(err)), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "[window] slide 120s (--set window.slide=2m) is larger than "
			    "[window] size 60s (default)");

	/* range on a metric that is not configured, set in a file */
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[input]\n\nrange.temp = -60, 150\n", &path, err), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:3: [input] range.temp: metric \"temp\" is not in "
		 "[input] metrics (default)", path);
	assert_string_equal(err, want);
	free(path);
	/* the file lists the range before the metric: fine */
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[input]\nrange.temp = -60, 150\nmetrics = x, temp\n",
				   NULL, err), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
	assert_true(c.range_min[1] == -60.0 && c.range_max[1] == 150.0);
	assert_true(isinf(c.range_min[0]));

	/* structs filled by hand are checked too */
	cfg_defaults(&c);
	c.n_metrics = 0;
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "default: [input] metrics: need 1..64 metrics");
	cfg_defaults(&c);
	c.n_udp_ports = 0;
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "default: [input] udp_ports: need 1..16 ports");
	cfg_defaults(&c);
	c.n_device_id_fields = 0;
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "default: [input] device_id_fields: need 1..8 fields");
	cfg_defaults(&c);
	c.brokers[0] = '\0';
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "default: [kafka] brokers: is empty (use embedded or host:port)");
	cfg_defaults(&c);
	c.slide_ns = 0;
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "default: [window] slide: must be greater than 0");
}

/* --- quoting and comments ------------------------------------------------ */

static void
test_quoting_comments(void **state)
{
	static struct weir_config c;
	char err[ERRLEN];

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(load_text(&c,
		"\xef\xbb\xbf# a BOM, then a comment\n"
		"   ; indented comment\n"
		"\t# tab-indented comment\n"
		"[ input ]   # header with spaces and a comment\n"
		"metrics=a,b;c   ; ';' after a non-space is part of the value\n"
		"device_id_fields = \"id\"\n"
		"\t udp_ports\t=\t1 ,2\t# tabs\n"
		"[eal];comment right after the header\n"
		"args = -l 0#1 # ok\n"
		"[topics]\n"
		"aggregated = \"a.b\"\n"
		"alerts =   x.y   \n"
		"rejected = r ;\n", NULL, err), 0);
	assert_int_equal(c.n_metrics, 2);
	assert_string_equal(c.metrics[0], "a");
	assert_string_equal(c.metrics[1], "b;c");
	assert_string_equal(c.device_id_fields[0], "id");
	assert_int_equal(c.n_udp_ports, 2);
	assert_int_equal(c.udp_ports[1], 2);
	assert_string_equal(c.eal_args, "-l 0#1");
	assert_string_equal(c.topic_aggregated, "a.b");
	assert_string_equal(c.topic_alerts, "x.y");
	assert_string_equal(c.topic_rejected, "r");
	assert_int_equal(c.n_kafka, 0);

	/* '#' is not a topic character: the quoted value reached the topic check */
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[topics]\naggregated = \"a#b\"\n", NULL, err), -1);
	assert_non_null(strstr(err, ":2: [topics] aggregated: \"a#b\" is not a Kafka topic"));

	cfg_defaults(&c);
	assert_int_equal(load_text(&c,
		"[eal]\n"
		"args = \"  -l 0 ; --x # y  \"   # quoted keeps everything\n"
		"[input]\n"
		"metrics = \"temp,hum\" ; quoted lists still split at commas\n"
		"[kafka]\n"
		"client.id = \"\"\n", NULL, err), 0);
	assert_string_equal(c.eal_args, "  -l 0 ; --x # y  ");
	assert_int_equal(c.n_metrics, 2);
	assert_string_equal(c.metrics[1], "hum");
	assert_int_equal(c.n_kafka, 1);
	assert_string_equal(c.kafka[0].value, "");

	/* a key set twice: the later line wins; sections may repeat */
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[window]\nsize = 2m\n[input]\n[window]\nsize = 3m\n",
				   NULL, err), 0);
	assert_int_equal(c.size_ns, 180LL * 1000000000LL);
}

/* --- [alert] rules ---------------------------------------------------------- */

static void
test_alerts(void **state)
{
	static const struct {
		const char *set, *why;
	} bad[] = {
		{ "alert.x=temperature => 1", "operator" },
		{ "alert.x=temperature > warm", "not a finite number" },
		{ "alert.x=temperature > 1e999", "not a finite number" },
		{ "alert.x=temperature > 1 for 0", "for N" },
		{ "alert.x=temperature > 1 for 2 please", "unexpected" },
		{ "alert.x=> 1", "expected" },
		{ "alert.x y=temperature > 1", "no spaces" },
		{ "alert.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=temperature > 1", "rule name" },
	};
	struct weir_config c;
	char err[ERRLEN], v[128], set[192];
	char *path;
	unsigned int i;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[alert]\nhot = temperature > 30\n"
				   "shaky=vibration>=2.5 for 3\ncold = temperature <= -0.5\n",
				   NULL, err), 0);
	assert_int_equal(c.alerts.n, 3);
	assert_int_equal(cfg_validate(&c, err, ERRLEN), 0);
	assert_int_equal(c.alerts.r[0].metric, 0);		/* temperature */
	assert_int_equal(c.alerts.r[1].metric, 3);		/* vibration */
	assert_int_equal(c.alerts.r[1].op, WR_ALERT_GE);
	assert_int_equal(c.alerts.r[1].for_n, 3);
	assert_true(c.alerts.r[2].threshold == -0.5);
	assert_int_equal(cfg_get(&c, "alert.shaky", v, sizeof(v)), 0);
	assert_string_equal(v, "vibration >= 2.5 for 3");
	assert_int_equal(cfg_get(&c, "alert.cold", v, sizeof(v)), 0);
	assert_string_equal(v, "temperature <= -0.5");
	/* what get shows, set again, means the same */
	snprintf(set, sizeof(set), "alert.cold=%s", v);
	assert_int_equal(cfg_set(&c, set, err, ERRLEN), 0);
	assert_int_equal(c.alerts.n, 3);
	/* off removes; the others keep their order */
	assert_int_equal(cfg_set(&c, "alert.hot=off", err, ERRLEN), 0);
	assert_int_equal(c.alerts.n, 2);
	assert_string_equal(c.alerts.r[0].name, "shaky");
	assert_int_equal(cfg_get(&c, "alert.hot", v, sizeof(v)), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cfg_set(&c, bad[i].set, err, ERRLEN), -1);
		assert_non_null(strstr(err, "--set"));
		assert_non_null(strstr(err, "[alert]"));
		assert_non_null(strstr(err, bad[i].why));
	}
	/* an unknown metric is found by validate, naming the file and line */
	assert_int_equal(load_text(&c, "[alert]\n\nwet = rain > 3\n", &path, err), 0);
	assert_int_equal(cfg_validate(&c, err, ERRLEN), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ":3: [alert] wet: metric 'rain'"));
	free(path);
	/* at most WR_ALERT_RULES_MAX rules */
	cfg_defaults(&c);
	for (i = 0; i < WR_ALERT_RULES_MAX; i++) {
		snprintf(set, sizeof(set), "alert.r%u=temperature > %u", i, i);
		assert_int_equal(cfg_set(&c, set, err, ERRLEN), 0);
	}
	assert_int_equal(cfg_set(&c, "alert.one_more=temperature > 1", err, ERRLEN), -1);
	assert_non_null(strstr(err, "more than 16 alert rules"));
}

/* --- garbage never crashes ---------------------------------------------- */

static void
test_garbage(void **state)
{
	static const char alphabet[] = "[]=#;\" \t\r\n.,-0123456789smhuabcinputwdokfkaeal\xff";
	static const char *const sections[] = {
		"input", "window", "aggregator", "dataplane", "topics", "kafka", "eal",
		"input.range",
	};
	static struct weir_config c;
	char err[ERRLEN], text[256], arg[300];
	uint32_t seed = 12345;
	int i;
	size_t j;

	(void)state;
	for (i = 0; i < 2000; i++) {
		size_t n = 1 + (size_t)i % (sizeof(text) - 1);

		for (j = 0; j < n - 1; j++) {
			seed = seed * 1103515245u + 12345u;
			text[j] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		text[n - 1] = '\0';
		cfg_defaults(&c);
		if (load_text(&c, text, NULL, err) == 0)
			(void)cfg_validate(&c, err, sizeof(err));
		snprintf(arg, sizeof(arg), "%s.%s", sections[i % 8], text);
		(void)cfg_set(&c, arg, err, sizeof(err));
	}
}

/* --- --help and config/weir.conf ----------------------------------------- */

static const char *const all_keys[] = {
	"input.udp_ports", "input.metrics", "input.device_id_fields", "input.range.<metric>",
	"input.max_future", "input.encoding", "input.json_ts_unit", "input.influx_precision",
	"window.size", "window.slide", "window.allowed_lateness", "window.idle_timeout",
	"window.time", "aggregator.workers", "aggregator.max_devices", "dataplane.burst",
	"dataplane.ring_size", "dataplane.mbufs", "topics.aggregated", "topics.alerts",
	"topics.rejected", "topics.partitions", "kafka.brokers", "kafka.<property>", "eal.args",
	"topics.rejected_rate", "control.socket", "control.metrics_listen", "control.socket_group",
	"control.user", "checkpoint.dir", "checkpoint.interval",
};

static char *
capture(void (*fn)(FILE *f), size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	fn(f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_help(void **state)
{
	static const char *const rows[][3] = {
		{ "window.size", "duration > 0", "60s" },
		{ "window.allowed_lateness", "duration", "5s" },
		{ "dataplane.ring_size", "2^n 1024..1048576", "16384" },
		{ "aggregator.workers", "0..16", "1" },
		{ "input.encoding", "auto|json|influx|snr1", "auto" },
		{ "input.udp_ports", "list of ports (max 16)", "9700" },
		{ "input.range.<metric>", "min, max", "none" },
		{ "kafka.<property>", "string", "-" },
		{ "eal.args", "string", "(empty)" },
	};
	size_t len, i;
	char *out = capture(cfg_print_help, &len);
	char needle[128];
	const char *line;

	(void)state;
	for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		snprintf(needle, sizeof(needle), "\n%s ", all_keys[i]);
		if (strstr(out, needle) == NULL)
			fail_msg("--help lacks %s", all_keys[i]);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(needle, sizeof(needle), "\n%-26s %-26s %s\n", rows[i][0], rows[i][1],
			 rows[i][2]);
		if (strstr(out, needle) == NULL)
			fail_msg("--help lacks the row %s", needle + 1);
	}
	for (line = out; *line != '\0'; line += strcspn(line, "\n") + 1)
		assert_true(strcspn(line, "\n") <= 100);
	free(out);
}

/* config/weir.conf from $WEIR_CONF, else relative to this file's path. */
static void
example_path(char *buf, size_t buflen)
{
	static const char tail[] = "tests/unit/test_cfg.c";
	const char *src = __FILE__, *env = getenv("WEIR_CONF");
	size_t n = strlen(src);
	char exe[PATH_MAX];
	ssize_t e;

	if (env != NULL) {
		snprintf(buf, buflen, "%s", env);
		return;
	}
	assert_true(n >= sizeof(tail) - 1 && strcmp(src + n - (sizeof(tail) - 1), tail) == 0);
	n -= sizeof(tail) - 1;
	if (src[0] == '/') {
		snprintf(buf, buflen, "%.*sconfig/weir.conf", (int)n, src);
		return;
	}
	/* relative to the build root, which is two levels above this binary */
	e = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(e > 0);
	exe[e] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(buf, buflen, "%s/../../%.*sconfig/weir.conf", exe, (int)n, src);
}

static void
test_example_file(void **state)
{
	static struct weir_config c, d;
	static char fixed[sizeof(every_key)];
	char path[PATH_MAX + 64], err[ERRLEN];
	size_t len, i, flen;
	char *gen = capture(cfg_write_example, &len);
	const char *line;
	char *file;
	FILE *f;

	(void)state;
	example_path(path, sizeof(path));
	if (getenv("WEIR_CFG_WRITE_EXAMPLE") != NULL) {
		f = fopen(path, "w");
		assert_non_null(f);
		cfg_write_example(f);
		assert_int_equal(fclose(f), 0);
		print_message("wrote %s\n", path);
	}
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set WEIR_CONF)", path);
	file = malloc(len + 2);
	assert_non_null(file);
	flen = fread(file, 1, len + 1, f);
	fclose(f);
	if (flen != len || memcmp(file, gen, len) != 0)
		fail_msg("%s differs from cfg_write_example(); regenerate it with "
			 "`weir config > config/weir.conf` (or WEIR_CFG_WRITE_EXAMPLE=1 on "
			 "this test) and review the diff", path);
	free(file);

	/* every key in the example, and only valid ones; lines stay short */
	for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		const char *k = strchr(all_keys[i], '.') + 1;
		char needle[64];

		if (strchr(k, '<') != NULL)
			continue;
		snprintf(needle, sizeof(needle), "\n%s =", k);
		if (strstr(gen, needle) == NULL)
			fail_msg("example lacks %s", all_keys[i]);
	}
	assert_non_null(strstr(gen, "\n; range.temperature = -60, 150\n"));
	assert_non_null(strstr(gen, "\n; security.protocol = SASL_SSL\n"));
	for (line = gen; *line != '\0'; line += strcspn(line, "\n") + 1)
		assert_true(strcspn(line, "\n") <= 80);
	free(gen);

	/*
	 * Loading it over a config where every fixed key differs gives the
	 * defaults (ranges and passthrough keys are only commented examples).
	 */
	for (line = every_key, i = 0; *line != '\0'; line += strcspn(line, "\n") + 1) {
		size_t n = strcspn(line, "\n") + 1;

		if (strncmp(line, "range.", 6) == 0 || strncmp(line, "client.id", 9) == 0)
			continue;
		memcpy(fixed + i, line, n);
		i += n;
	}
	fixed[i] = '\0';
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, fixed, NULL, err), 0);
	assert_int_equal(c.workers, 0);
	if (cfg_load_file(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	cfg_defaults(&d);
	check_defaults(&c);
	assert_same_config(&c, &d);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), 0);
}

/* --- [control] keys and secrets ----------------------------------------- */

static void
test_control_keys(void **state)
{
	static const struct {
		const char *set;
		const char *msg;	/* NULL: accepted */
	} t[] = {
		{ "control.metrics_listen=127.0.0.1:9109", NULL },
		{ "control.metrics_listen=[::1]:0", NULL },
		{ "control.metrics_listen=:9109", NULL },
		{ "control.metrics_listen=localhost:80", NULL },
		{ "control.metrics_listen=", NULL },
		{ "control.metrics_listen=9109",
		  "--set control.metrics_listen=9109: [control] metrics_listen: \"9109\" is not "
		  "host:port, [IPv6]:port or :port (port 0..65535), or empty to turn it off" },
		{ "control.metrics_listen=::1:9109",
		  "--set control.metrics_listen=::1:9109: [control] metrics_listen: \"::1:9109\" "
		  "is not host:port, [IPv6]:port or :port (port 0..65535), or empty to turn it "
		  "off" },
		{ "control.metrics_listen=h:65536",
		  "--set control.metrics_listen=h:65536: [control] metrics_listen: \"h:65536\" "
		  "is not host:port, [IPv6]:port or :port (port 0..65535), or empty to turn it "
		  "off" },
		{ "control.metrics_listen=a b:1",
		  "--set control.metrics_listen=a b:1: [control] metrics_listen: \"a b:1\" "
		  "is not host:port, [IPv6]:port or :port (port 0..65535), or empty to turn it "
		  "off" },
		{ "control.socket=/tmp/w.sock", NULL },
		{ "control.socket=", NULL },
		{ "control.socket=/0123456789012345678901234567890123456789012345678901234567890"
		  "1234567890123456789012345678901234567890123456",
		  "--set control.socket=/01234567890123456789012345678901234567890123456789012345"
		  "678901234567890123456789012345678901234567890123456: [control] socket: is 108 "
		  "bytes long; a Unix socket path holds at most 107" },
		{ "control.socket_group=root", NULL },
		{ "control.user=root", NULL },
		{ "topics.rejected_rate=0", NULL },
		{ "topics.rejected_rate=1000001",
		  "--set topics.rejected_rate=1000001: [topics] rejected_rate: \"1000001\" is out "
		  "of range (0..1000000)" },
		{ "topics.rejected_rate=1.5",
		  "--set topics.rejected_rate=1.5: [topics] rejected_rate: \"1.5\" is not a whole "
		  "number" },
	};
	static struct weir_config c;
	char err[ERRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cfg_defaults(&c);
		err[0] = '\0';
		if (t[i].msg == NULL) {
			if (cfg_set(&c, t[i].set, err, sizeof(err)) != 0 ||
			    cfg_validate(&c, err, sizeof(err)) != 0)
				fail_msg("%s refused: %s", t[i].set, err);
			continue;
		}
		if (cfg_set(&c, t[i].set, err, sizeof(err)) != -1)
			fail_msg("%s accepted", t[i].set);
		assert_string_equal(err, t[i].msg);
	}
}

/* Names are resolved at start, so a typo stops weir with the key and where it was set. */
static void
test_control_names(void **state)
{
	static struct weir_config c;
	char err[ERRLEN], want[ERRLEN];
	char *path;

	(void)state;
	cfg_defaults(&c);
	assert_int_equal(load_text(&c, "[control]\nsocket_group = no-such-group-weir\n", &path,
				   err), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: [control] socket_group: no group named "
		 "\"no-such-group-weir\" on this host", path);
	assert_string_equal(err, want);
	free(path);
	cfg_defaults(&c);
	assert_int_equal(cfg_set(&c, "control.user=no-such-user-weir", err, sizeof(err)), 0);
	assert_int_equal(cfg_validate(&c, err, sizeof(err)), -1);
	assert_string_equal(err, "--set control.user=no-such-user-weir: [control] user: no user "
			    "named \"no-such-user-weir\" on this host");
}

/* A message about a secret names the key, never the value. */
static void
test_secret_messages(void **state)
{
	static struct weir_config c;
	char err[ERRLEN], arg[600];

	(void)state;
	cfg_defaults(&c);
	snprintf(arg, sizeof(arg), "kafka.sasl.password=%0300d", 7);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	assert_string_equal(err, "--set kafka.sasl.password=(hidden): [kafka] sasl.password: key "
			    "or value longer than 255 bytes");
	snprintf(arg, sizeof(arg), "kafka.ssl.key.password=%0300d", 7);
	assert_int_equal(cfg_set(&c, arg, err, sizeof(err)), -1);
	assert_null(strstr(err, "0000000007"));
	/* other keys keep the whole --set in their messages */
	assert_int_equal(cfg_set(&c, "kafka.security.protocol=NOPE", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--set kafka.security.protocol=NOPE: [kafka] "
			       "security.protocol: librdkafka: "));
	/* accepted secrets are stored as given: they go to librdkafka unchanged */
	assert_int_equal(cfg_set(&c, "kafka.sasl.password=s3cr3t", err, sizeof(err)), 0);
	assert_int_equal(cfg_get(&c, "kafka.sasl.password", arg, sizeof(arg)), 0);
	assert_string_equal(arg, "s3cr3t");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_enum_choices),
		cmocka_unit_test(test_checkpoint_keys),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_errors_raw),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_kafka_passthrough),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_quoting_comments),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_control_keys),
		cmocka_unit_test(test_control_names),
		cmocka_unit_test(test_secret_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
