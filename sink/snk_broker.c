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
