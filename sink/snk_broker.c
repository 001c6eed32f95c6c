/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The embedded broker: a librdkafka mock cluster (a real Kafka wire
 * protocol listener on localhost) hosted by a private rd_kafka_t. Started
 * by main() for `kafka.brokers = embedded` and by weir-devbroker; it runs
 * on librdkafka's own threads, nothing here is on a data path.
 *
 * The mock keeps only about 5 MiB per partition and silently drops older
 * data, hence topics with many partitions (c->partitions, default 64).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "snk.h"
#include "wr_log.h"

#define SNK_BROKER_PARTITIONS_DEFAULT	64

struct snk_broker {
	rd_kafka_t *rk;			/* hosts the cluster; otherwise idle */
	rd_kafka_mock_cluster_t *mc;
};

/* librdkafka threads call this; stderr is line buffered enough for whole lines. */
static void
broker_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	rte_log(wr_log_from_syslog(level), wr_logtype_sink,
		"weir.sink: event=rdkafka_log instance=%s level=%d fac=%s msg=\"%s\"\n",
		rd_kafka_name(rk), level, fac, buf);
}

struct snk_broker *
snk_broker_start(const struct weir_config *c, char *bootstrap, size_t len, char *err,
		 size_t errlen)
{
	const char *topics[3] = { c->topic_aggregated, c->topic_alerts, c->topic_rejected };
	int partitions = c->partitions ? (int)c->partitions : SNK_BROKER_PARTITIONS_DEFAULT;
	char errstr[512];
	struct snk_broker *b;
	rd_kafka_conf_t *conf;
	const char *bs;
	unsigned int i, j;

	if (c->partitions > 100000) {
		snprintf(err, errlen, "embedded broker: partitions %u out of range 1..100000",
			 c->partitions);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		snprintf(err, errlen, "embedded broker: out of memory");
		return NULL;
	}
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, broker_log_cb);
	/* Warnings and worse only: the mock is chatty about every client that disconnects. */
	if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "client.id", "weir-embedded-broker", errstr,
			      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "embedded broker: %s", errstr);
		rd_kafka_conf_destroy(conf);
		free(b);
		return NULL;
	}
	b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (b->rk == NULL) {
		snprintf(err, errlen, "embedded broker: rd_kafka_new: %s", errstr);
		rd_kafka_conf_destroy(conf);
		free(b);
		return NULL;
	}
	b->mc = rd_kafka_mock_cluster_new(b->rk, 1);
	if (b->mc == NULL) {
		snprintf(err, errlen, "embedded broker: cannot create the mock cluster");
		goto fail;
	}
	for (i = 0; i < 3; i++) {
		rd_kafka_resp_err_t e;
		int dup = 0;

		if (topics[i][0] == '\0') {
			snprintf(err, errlen, "embedded broker: empty topic name");
			goto fail;
		}
		/* Two roles may share one topic; create it once. */
		for (j = 0; j < i; j++)
			dup |= strcmp(topics[i], topics[j]) == 0;
		if (dup)
			continue;
		e = rd_kafka_mock_topic_create(b->mc, topics[i], partitions, 1);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			snprintf(err, errlen, "embedded broker: topic %s: %s", topics[i],
				 rd_kafka_err2str(e));
			goto fail;
		}
	}
	bs = rd_kafka_mock_cluster_bootstraps(b->mc);
	if (bs == NULL || strlen(bs) >= len) {
		snprintf(err, errlen, "embedded broker: bootstrap address does not fit");
		goto fail;
	}
	memcpy(bootstrap, bs, strlen(bs) + 1);
	return b;

fail:
	snk_broker_stop(b);
	return NULL;
}

void
snk_broker_stop(struct snk_broker *b)
{
	if (b == NULL)
		return;
	if (b->mc != NULL)
		rd_kafka_mock_cluster_destroy(b->mc);
	if (b->rk != NULL)
		rd_kafka_destroy(b->rk);
	free(b);
}

static int
parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *v >= lo && *v <= hi ? 0 : -1;
}

int
snk_broker_fault(struct snk_broker *b, const char *cmd, char *msg, size_t msglen)
{
	char line[256], *argv[5], *save = NULL, *tok;
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
	long api, n, code, ms;
	int argc = 0;

	if (b == NULL || b->mc == NULL) {
		snprintf(msg, msglen, "no broker");
		return -1;
	}
	snprintf(line, sizeof(line), "%s", cmd);
	for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && argc < 5;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	if (argc == 0 || tok != NULL) {
		snprintf(msg, msglen,
			 "expected: down | up | rtt MS | errors API N ERR | clear API");
		return -1;
	}
	if (strcmp(argv[0], "down") == 0 && argc == 1) {
		e = rd_kafka_mock_broker_set_down(b->mc, -1);
	} else if (strcmp(argv[0], "up") == 0 && argc == 1) {
		e = rd_kafka_mock_broker_set_up(b->mc, -1);
	} else if (strcmp(argv[0], "rtt") == 0 && argc == 2) {
		if (parse_long(argv[1], 0, 600000, &ms) < 0) {
			snprintf(msg, msglen, "rtt: '%s' is not 0..600000 ms", argv[1]);
			return -1;
		}
		e = rd_kafka_mock_broker_set_rtt(b->mc, -1, (int)ms);
	} else if (strcmp(argv[0], "errors") == 0 && argc == 4) {
		if (parse_long(argv[1], 0, 100, &api) < 0 ||
		    parse_long(argv[2], 1, 1000000, &n) < 0 ||
		    parse_long(argv[3], -200, 200, &code) < 0) {
			snprintf(msg, msglen, "errors: expected API 0..100, N 1..1000000, "
				 "ERR -200..200");
			return -1;
		}
		while (n-- > 0)
			rd_kafka_mock_push_request_errors(b->mc, (int16_t)api, 1,
							  (rd_kafka_resp_err_t)code);
	} else if (strcmp(argv[0], "clear") == 0 && argc == 2) {
		if (parse_long(argv[1], 0, 100, &api) < 0) {
			snprintf(msg, msglen, "clear: API '%s' is not 0..100", argv[1]);
			return -1;
		}
		rd_kafka_mock_clear_request_errors(b->mc, (int16_t)api);
	} else {
		snprintf(msg, msglen, "unknown command '%s' (down | up | rtt MS | "
			 "errors API N ERR | clear API)", argv[0]);
		return -1;
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(msg, msglen, "%s: %s", argv[0], rd_kafka_err2str(e));
		return -1;
	}
	snprintf(msg, msglen, "ok %s", argv[0]);
	WR_LOG(NOTICE, sink, "event=broker_fault cmd=%s", argv[0]);
	return 0;
}
