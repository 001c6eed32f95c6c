/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir: `weir run` (the daemon on configured ports) and `weir replay`
 * (a capture through the same RX path, then the summary JSON on stdout).
 * Parses the config, builds the EAL arguments, assembles the pipeline
 * (control/ctl_pipeline.c), and shuts it down in one fixed order. Human
 * text goes to stderr; only the summary goes to stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "dp.h"

#define MAX_SETS 256

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: weir run -c FILE [--set section.key=value ...] [-- EAL args]\n"
		"       weir replay CAPTURE.pcap [-c FILE] [--set section.key=value ...]\n"
		"                   [--speed max|1x|Nx|Npps] [--loop N] [-- EAL args]\n"
		"       weir config [--keys]\n"
		"\n"
		"  run      receive sensor datagrams on the DPDK ports until SIGINT/SIGTERM,\n"
		"           then flush every open window to Kafka.\n"
		"  replay   feed a pcap/pcapng capture through the same RX path at --speed\n"
		"           (default max), --loop N times (each pass shifted by the capture's\n"
		"           span), flush, and print the summary JSON on stdout.\n"
		"  config   print the commented example configuration (--keys: the key table).\n"
		"\n"
		"options:\n"
		"  -c, --config FILE   INI configuration (see config/weir.conf)\n"
		"  -s, --set S.K=V     override one key, e.g. --set window.size=10s (repeatable)\n"
		"      --speed SPEED   replay pace: max (default), 1x, 2.5x, 100000pps\n"
		"      --loop N        replay the capture N times (default 1)\n"
		"  -h, --help          this text\n"
		"EAL arguments go after `--`; without them weir picks a unique --file-prefix,\n"
		"maps its lcores onto the available CPUs and uses --no-huge when no hugepages\n"
		"are free.\n");
}

static int
do_config(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[2], "--keys") == 0)
		cfg_print_help(stdout);
	else if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
		printf("usage: weir config [--keys]\n"
		       "  prints the commented example configuration, or with --keys the\n"
		       "  table of every key with its type, default and meaning.\n");
	else
		cfg_write_example(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "speed", required_argument, NULL, 'S' },
		{ "loop", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_options o;
	const char *sets[MAX_SETS];
	unsigned int n_sets = 0, i;
	const char *cfg_file = NULL;
	char err[1024];
	int c, is_replay, eal_at;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "config") == 0)
		return do_config(argc, argv);
	if (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "replay") != 0) {
		fprintf(stderr, "weir: unknown command '%s' (run, replay, config; see --help)\n",
			argv[1]);
		return 2;
	}
	is_replay = strcmp(argv[1], "replay") == 0;

	memset(&o, 0, sizeof(o));
	o.replay = is_replay;
	o.loops = 1;
	o.speed_mode = DP_SPEED_MAX;
	/* everything after `--` belongs to the EAL; options and the capture
	 * may come in any order before it */
	for (eal_at = 2; eal_at < argc; eal_at++)
		if (strcmp(argv[eal_at], "--") == 0)
			break;
	o.eal_argc = eal_at < argc ? argc - eal_at - 1 : 0;
	o.eal_argv = argv + (eal_at < argc ? eal_at + 1 : argc);
	optind = 2;
	while ((c = getopt_long(eal_at, argv, "c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg_file = optarg;
			break;
		case 's':
			if (n_sets == MAX_SETS) {
				fprintf(stderr, "weir: too many --set (max %d)\n", MAX_SETS);
				return 2;
			}
			sets[n_sets++] = optarg;
			break;
		case 'S':
			if (!is_replay || dp_speed_parse(optarg, &o.speed_mode, &o.speed) != 0) {
				fprintf(stderr, "weir: --speed %s: %s\n", optarg,
					is_replay ? "use max, 1x, 2.5x or 100000pps" :
					"only for weir replay");
				return 2;
			}
			break;
		case 'L': {
			char *end;
			unsigned long long n = strtoull(optarg, &end, 10);

			if (!is_replay || *end != '\0' || end == optarg || n == 0 || n > 1000000) {
				fprintf(stderr, "weir: --loop %s: %s\n", optarg,
					is_replay ? "a count from 1 to 1000000" :
					"only for weir replay");
				return 2;
			}
			o.loops = n;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "weir: see 'weir --help'\n");
			return 2;
		}
	}
	if (is_replay && optind < eal_at)
		o.capture = argv[optind++];
	if (optind < eal_at) {
		fprintf(stderr, "weir: unexpected argument '%s' (EAL arguments go after --)\n",
			argv[optind]);
		return 2;
	}
	if (is_replay && o.capture == NULL) {
		fprintf(stderr, "weir replay: missing CAPTURE.pcap (see --help)\n");
		return 2;
	}
	if (!is_replay && cfg_file == NULL) {
		fprintf(stderr, "weir run: missing -c FILE (see --help)\n");
		return 2;
	}

	o.config_file = cfg_file;
	cfg_defaults(&o.cfg);
	if (cfg_file != NULL && cfg_load_file(&o.cfg, cfg_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "weir: %s\n", err);
		return 2;
	}
	for (i = 0; i < n_sets; i++) {
		if (cfg_set(&o.cfg, sets[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "weir: %s\n", err);
			return 2;
		}
	}
	if (cfg_validate(&o.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "weir: %s\n", err);
		return 2;
	}
	return ctl_main(&o);
}
