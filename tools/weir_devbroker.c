/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-devbroker: the embedded broker (librdkafka mock cluster) as a
 * standalone process for demos and tests, e.g.
 *   weir-devbroker --bootstrap-file /tmp/bs &  kcat -b $(cat /tmp/bs) -t aggregated -C
 * stdout carries exactly one line, the bootstrap address HOST:PORT; everything else
 * goes to stderr. The main thread only waits for SIGINT/SIGTERM; the
 * broker runs on librdkafka's threads.
 *
 * The mock keeps only about 5 MiB per partition and silently drops older
 * data, hence 64 partitions per topic by default.
 *
 * With --commands, a second thread reads fault-injection commands from
 * stdin, one a line (snk_broker_fault: down, up, rtt MS, errors API N ERR,
 * clear API) and answers each on stderr, so a test can take the broker
 * down during a replay and bring it back.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "snk.h"

#define DEVBROKER_PARTITIONS	64
#define DEVBROKER_PARTITIONS_MAX	100000
#define DEVBROKER_TOPICS_MAX	3	/* the three topic slots of [topics] */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: weir-devbroker [--partitions N] [--topic NAME ...] "
		"[--bootstrap-file PATH] [--commands] [--help]\n"
		"\n"
		"Runs an in-process Kafka broker (librdkafka mock cluster) on localhost until\n"
		"SIGINT or SIGTERM. Prints its bootstrap address HOST:PORT on stdout.\n"
		"\n"
		"  --partitions N         partitions per topic (default %d, 1..%d)\n"
		"  --topic NAME           topic to create; repeat for more (up to %d); replaces\n"
		"                         the default list: aggregated, alerts, rejected\n"
		"  --bootstrap-file PATH  also write the bootstrap address to PATH (atomically)\n"
		"  --commands             read fault commands from stdin, one a line:\n"
		"                         down | up | rtt MS | errors API N ERR | clear API\n"
		"                         (API 0 = Produce; ERR a Kafka error code)\n"
		"  --help                 this text\n"
		"\n"
		"The mock broker keeps only about 5 MiB per partition in memory and silently\n"
		"drops older messages: use many partitions for long runs.\n",
		DEVBROKER_PARTITIONS, DEVBROKER_PARTITIONS_MAX, DEVBROKER_TOPICS_MAX);
}

/* Readers polling for PATH must never see a half-written address. */
static int
write_bootstrap_file(const char *path, const char *bootstrap)
{
	char tmp[PATH_MAX];
	FILE *f;
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "weir-devbroker: --bootstrap-file %s: path too long\n", path);
		return -1;
	}
	f = fopen(tmp, "w");
	if (f == NULL) {
		fprintf(stderr, "weir-devbroker: --bootstrap-file %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fprintf(f, "%s\n", bootstrap) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fprintf(stderr, "weir-devbroker: --bootstrap-file %s: %s\n", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "weir-devbroker: --bootstrap-file %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* stdin reader of --commands; ends at EOF, the process keeps running. */
static void *
command_thread(void *arg)
{
	struct snk_broker *b = arg;
	char line[256], msg[256];
	int rc;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		rc = snk_broker_fault(b, line, msg, sizeof(msg));
		fprintf(stderr, "weir-devbroker: event=command %s%s\n", rc == 0 ? "" : "error=",
			msg);
	}
	return NULL;
}

static int
set_topic(char *dst, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= CFG_STR_MAX) {
		fprintf(stderr, "weir-devbroker: --topic '%s': name must be 1..%d bytes\n", name,
			CFG_STR_MAX - 1);
		return -1;
	}
	/* Kafka's legal topic characters; anything else the broker would refuse later. */
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != len) {
		fprintf(stderr, "weir-devbroker: --topic '%s': only [A-Za-z0-9._-] allowed\n",
			name);
		return -1;
	}
	memcpy(dst, name, len + 1);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "partitions", required_argument, NULL, 'p' },
		{ "topic", required_argument, NULL, 't' },
		{ "bootstrap-file", required_argument, NULL, 'b' },
		{ "commands", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct weir_config cfg;	/* ~40 KiB: keep it off the stack */
	char *topics[DEVBROKER_TOPICS_MAX] = { cfg.topic_aggregated, cfg.topic_alerts,
					       cfg.topic_rejected };
	const char *bootstrap_file = NULL;
	unsigned int n_topics = 0, i;
	int commands = 0;
	pthread_t cmd_thread;
	char bootstrap[1024], err[512];
	struct snk_broker *b;
	sigset_t stop;
	char *end;
	long v;
	int opt, sig;

	cfg.partitions = DEVBROKER_PARTITIONS;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "p:t:b:ch", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || v < 1 ||
			    v > DEVBROKER_PARTITIONS_MAX) {
				fprintf(stderr, "weir-devbroker: --partitions '%s': expected an "
					"integer in 1..%d\n", optarg, DEVBROKER_PARTITIONS_MAX);
				return 2;
			}
			cfg.partitions = (unsigned int)v;
			break;
		case 't':
			if (n_topics == DEVBROKER_TOPICS_MAX) {
				fprintf(stderr, "weir-devbroker: --topic '%s': at most %d topics\n",
					optarg, DEVBROKER_TOPICS_MAX);
				return 2;
			}
			if (set_topic(topics[n_topics], optarg) < 0)
				return 2;
			n_topics++;
			break;
		case 'b':
			if (optarg[0] == '\0') {
				fprintf(stderr, "weir-devbroker: --bootstrap-file: empty path\n");
				return 2;
			}
			bootstrap_file = optarg;
			break;
		case 'c':
			commands = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			/* optind already points past the offending word */
			fprintf(stderr, "weir-devbroker: %s: %s\n", argv[optind - 1],
				optopt != 0 && strchr("ptb", optopt) != NULL ?
				"missing argument" : "unknown option");
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weir-devbroker: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (n_topics == 0) {
		set_topic(cfg.topic_aggregated, "aggregated");
		set_topic(cfg.topic_alerts, "alerts");
		set_topic(cfg.topic_rejected, "rejected");
	} else {
		/* Fewer names than slots: repeats are created once by the broker. */
		for (i = n_topics; i < DEVBROKER_TOPICS_MAX; i++)
			memcpy(topics[i], topics[0], strlen(topics[0]) + 1);
	}

	/*
	 * Block the stop signals before librdkafka starts its threads (they
	 * inherit the mask), so that only sigwait() below sees them.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	b = snk_broker_start(&cfg, bootstrap, sizeof(bootstrap), err, sizeof(err));
	if (b == NULL) {
		fprintf(stderr, "weir-devbroker: %s\n", err);
		return 1;
	}
	if (bootstrap_file != NULL && write_bootstrap_file(bootstrap_file, bootstrap) < 0) {
		snk_broker_stop(b);
		return 1;
	}
	printf("%s\n", bootstrap);
	fflush(stdout);
	fprintf(stderr, "weir-devbroker: event=started bootstrap=%s partitions=%u topics=%s",
		bootstrap, cfg.partitions, topics[0]);
	for (i = 1; i < DEVBROKER_TOPICS_MAX; i++)
		if (strcmp(topics[i], topics[0]) != 0 && strcmp(topics[i], topics[i - 1]) != 0)
			fprintf(stderr, ",%s", topics[i]);
	fprintf(stderr, "\nweir-devbroker: read it with: kcat -b %s -t %s -C; "
		"stop with Ctrl-C\n", bootstrap, topics[0]);

	if (commands) {
		if (pthread_create(&cmd_thread, NULL, command_thread, b) != 0) {
			fprintf(stderr, "weir-devbroker: cannot start the command thread\n");
			snk_broker_stop(b);
			return 1;
		}
		/* it may sit in fgets() at exit: never joined */
		pthread_detach(cmd_thread);
	}
	do {
		if (sigwait(&stop, &sig) != 0)
			sig = 0;
	} while (sig != SIGINT && sig != SIGTERM);

	fprintf(stderr, "weir-devbroker: event=stopping signal=%s\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	snk_broker_stop(b);
	return 0;
}
