/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The decoders' fast and plain paths agree (issue 4, acceptance 3): every
 * file of the JSON and Influx fuzz corpora, every prefix of it, and
 * hundreds of thousands of generated payloads -- the common layouts the
 * fast paths take, with numbers of every shape, and mutations of them that
 * push the fast paths onto their fallbacks at every byte -- decode to the
 * same records (values bit for bit), reasons and counters with
 * cfg.path = DP_PATH_FAST and DP_PATH_PLAIN (tests/fuzz/fuzz_paths.h).
 * Each is run under several time units. argv[1]: tests/fuzz/corpus.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_decode.h"
#include "../fuzz/fuzz_common.h"
#include "../fuzz/fuzz_paths.h"

#define GEN_PAYLOADS	150000	/* per decoder */
#define PAYLOAD_MAX	4096

static const char *corpus_root;

static const struct dp_pkt_meta meta_now = {
	.arrival_ns = 1732233600LL * 1000000000LL + 30LL * 1000000000LL,
};

static uint64_t
rng_next(uint64_t *s)
{
	/* splitmix64: reproducible, no libc state */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Both paths of cfg on p, under each time unit; fails naming the input. */
static void
check_paths(fz_decode_fn decode, struct dp_decode_cfg *cfg, const uint8_t *p, size_t n,
	    const char *what)
{
	static const enum cfg_ts_unit units[] = { CFG_TS_AUTO, CFG_TS_S, CFG_TS_MS, CFG_TS_NS };
	unsigned int u;

	for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		const char *why;

		cfg->json_ts_unit = units[u];
		cfg->influx_precision = units[u];
		why = fzp_compare(decode, cfg, &meta_now, p, n);
		if (why != NULL)
			fail_msg("%s (unit %u, %zu bytes '%.*s'): fast and plain differ: %s", what,
				 u, n, (int)(n < 300 ? n : 300), (const char *)p, why);
	}
}

/* Every file of corpus/<sub>, whole and every prefix. @return files checked. */
static unsigned int
check_corpus(fz_decode_fn decode, enum cfg_encoding enc, const char *sub)
{
	static uint8_t buf[1 << 16];
	struct dp_decode_cfg cfg;
	char dir[4096], path[8192];
	unsigned int files = 0;
	struct dirent *de;
	DIR *d;

	fz_decode_cfg_make(&cfg, enc, -60);
	snprintf(dir, sizeof(dir), "%s/%s", corpus_root, sub);
	d = opendir(dir);
	if (d == NULL)
		fail_msg("no corpus %s", dir);
	while ((de = readdir(d)) != NULL) {
		FILE *f;
		size_t n, k;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		files++;
		if (n == 0)
			continue;
		check_paths(decode, &cfg, buf, n, path);
		for (k = 1; k < n && k <= 2048; k++)
			check_paths(decode, &cfg, buf, k, path);
	}
	closedir(d);
	return files;
}

static void
test_corpus_json(void **state)
{
	(void)state;
	assert_true(check_corpus(dp_decode_json, CFG_ENC_JSON, "json") >= 10);
}

static void
test_corpus_influx(void **state)
{
	(void)state;
	assert_true(check_corpus(dp_decode_influx, CFG_ENC_INFLUX, "influx") >= 10);
}

/* Output buffer for the generators. */
struct gen {
	uint8_t b[PAYLOAD_MAX];
	size_t n;
	uint64_t rng;
};

static void
put(struct gen *g, const char *s)
{
	size_t k = strlen(s);

	if (g->n + k <= sizeof(g->b)) {
		memcpy(g->b + g->n, s, k);
		g->n += k;
	}
}

static unsigned int
pick(struct gen *g, unsigned int n)
{
	return (unsigned int)(rng_next(&g->rng) % n);
}

/* A number of any shape: what senders write, and what strains the parsers. */
static void
put_number(struct gen *g, int json)
{
	char t[96];
	unsigned int i, nd;
	int o = 0;

	if (pick(g, 4) == 0)
		t[o++] = '-';
	switch (pick(g, 8)) {
	case 0:
		/* a double printed to 1..17 significant digits */
		{
			uint64_t b = rng_next(&g->rng);
			double d;

			memcpy(&d, &b, sizeof(d));
			if (!(d == d) || d - d != 0)
				d = 1.5;
			o = snprintf(t, sizeof(t), "%.*g", 1 + pick(g, 17), d);
		}
		break;
	case 1:
		/* long runs of digits: the 8-at-a-time loop and the 19-digit limit */
		nd = 1 + pick(g, 30);
		t[o++] = (char)('1' + pick(g, 9));
		for (i = 1; i < nd; i++)
			t[o++] = (char)('0' + pick(g, 10));
		if (pick(g, 2)) {
			t[o++] = '.';
			for (i = pick(g, 25) + 1; i > 0; i--)
				t[o++] = (char)('0' + pick(g, 10));
		}
		break;
	case 2:
		/* exponents around the exact range and beyond */
		o += snprintf(t + o, sizeof(t) - (size_t)o, "%u.%ue%d", pick(g, 100000),
			      pick(g, 1000), (int)pick(g, 80) - 40);
		break;
	case 3:
		/* epoch times in every unit, with and without fractions */
		o += snprintf(t + o, sizeof(t) - (size_t)o, "1732233%03u", pick(g, 1000));
		for (i = pick(g, 10); i > 0; i--)
			t[o++] = (char)('0' + pick(g, 10));
		if (pick(g, 2))
			o += snprintf(t + o, sizeof(t) - (size_t)o, ".%u", pick(g, 1000000));
		break;
	case 4:
		/* leading zeros, lone points, empty exponents: grammar edges */
		{
			static const char *const edge[] = {
				"0", "00", "0.5", "01", "0.", ".5", "1.", "1e", "1e+", "1E-2",
				"0e0", "0.000", "9007199254740993", "18446744073709551616",
				"9223372036854775807", "9223372036854775808", "1e400", "5e-324",
				"1.7976931348623157e308", "2.2250738585072011e-308", "-",
				"99999999999.999999999", "99999999999999.99999999",
			};

			o += snprintf(t + o, sizeof(t) - (size_t)o, "%s",
				      edge[pick(g, sizeof(edge) / sizeof(edge[0]))]);
		}
		break;
	default:
		/* sensor readings: 1..4 integer digits, 0..16 fraction digits */
		o += snprintf(t + o, sizeof(t) - (size_t)o, "%u", pick(g, 10000));
		nd = pick(g, 17);
		if (nd > 0) {
			t[o++] = '.';
			for (i = 0; i < nd; i++)
				t[o++] = (char)('0' + pick(g, 10));
		}
		break;
	}
	t[o] = '\0';
	if (!json && pick(g, 6) == 0)
		strcat(t, pick(g, 2) ? "i" : "u");
	put(g, t);
}

static const char *const keys[] = {
	"device_id", "sensor_id", "ts", "timestamp", "temperature", "humidity", "pressure",
	"vibration", "fw", "ok", "t", "temperaturE", "device_i", "x2345678", "x23456789abcdefgh",
};

static void
put_json_value(struct gen *g, unsigned int key)
{
	static const char *const other[] = {
		"true", "false", "null", "{}", "[]", "{\"a\":[1,{\"b\":null}]}", "[\"a\",null]",
		"\"\"", "\"dev\\u002d1\"", "\"d\xc3\xa9v\"", "\"2025-08-17T12:34:56.789Z\"",
		"\"2024-11-22T00:00:30+01:00\"", "\"2024-02-30T00:00:00Z\"", "nul", "tru",
	};
	char t[64];

	if (key < 2 && pick(g, 8) != 0) {
		snprintf(t, sizeof(t), "\"dev-%05u\"", pick(g, 100000));
		put(g, t);
	} else if (pick(g, 5) == 0) {
		put(g, other[pick(g, sizeof(other) / sizeof(other[0]))]);
	} else {
		put_number(g, 1);
	}
}

/* One JSON record line in the common layout, sometimes with odd members. */
static void
gen_json_record(struct gen *g)
{
	unsigned int i, n = 1 + pick(g, 7);

	put(g, "{");
	if (pick(g, 10) != 0) {
		put(g, "\"device_id\":");
		put_json_value(g, 0);
		put(g, ",");
	}
	for (i = 0; i < n; i++) {
		unsigned int k = pick(g, sizeof(keys) / sizeof(keys[0]));

		if (i > 0)
			put(g, pick(g, 30) == 0 ? " , " : ",");
		put(g, "\"");
		put(g, keys[k]);
		put(g, pick(g, 40) == 0 ? "\" :" : "\":");
		put_json_value(g, k);
	}
	put(g, "}");
}

/* Overwrite, insert or delete a few bytes with what the fast paths bail on. */
static void
mutate(struct gen *g)
{
	static const char bytes[] = " \t\r\n\"\\,:{}[]0.-e=\x01\x7f\xc3\xa9\xff";
	unsigned int k, times = 1 + pick(g, 3);

	for (k = 0; k < times && g->n > 0; k++) {
		size_t at = pick(g, (unsigned int)g->n);
		uint8_t c = (uint8_t)bytes[pick(g, sizeof(bytes) - 1)];

		switch (pick(g, 3)) {
		case 0:
			g->b[at] = c;
			break;
		case 1:
			if (g->n < sizeof(g->b)) {
				memmove(g->b + at + 1, g->b + at, g->n - at);
				g->b[at] = c;
				g->n++;
			}
			break;
		default:
			memmove(g->b + at, g->b + at + 1, g->n - at - 1);
			g->n--;
			break;
		}
	}
}

static void
test_generated_json(void **state)
{
	struct dp_decode_cfg cfg;
	struct gen g = { .rng = 4 };
	unsigned int i, r;

	(void)state;
	fz_decode_cfg_make(&cfg, CFG_ENC_JSON, -60);
	for (i = 0; i < GEN_PAYLOADS; i++) {
		unsigned int recs = 1 + (pick(&g, 4) == 0 ? pick(&g, 4) : 0);

		g.n = 0;
		if (pick(&g, 20) == 0)
			put(&g, "[");
		for (r = 0; r < recs; r++) {
			if (r > 0)
				put(&g, g.b[0] == '[' ? "," : pick(&g, 3) ? "\n" : "\r\n\n");
			gen_json_record(&g);
		}
		if (g.b[0] == '[')
			put(&g, "]");
		if (pick(&g, 3) == 0)
			mutate(&g);
		if (g.n > 0)
			check_paths(dp_decode_json, &cfg, g.b, g.n, "generated JSON");
	}
}

/* One line protocol record with random fields. */
static void
gen_influx_record(struct gen *g)
{
	static const char *const other[] = {
		"true", "F", "\"fw 2.1\"", "\"a\\\"b\"", "FALSE", "\"\"", "t",
	};
	unsigned int i, n = 1 + pick(g, 6);
	char t[64];

	put(g, pick(g, 2) ? "sensors" : "w\\ x");
	if (pick(g, 10) != 0) {
		snprintf(t, sizeof(t), ",device_id=dev-%05u", pick(g, 100000));
		put(g, t);
	}
	if (pick(g, 4) == 0)
		put(g, ",site=a\\,b");
	put(g, " ");
	for (i = 0; i < n; i++) {
		if (i > 0)
			put(g, ",");
		put(g, keys[4 + pick(g, sizeof(keys) / sizeof(keys[0]) - 4)]);
		put(g, "=");
		if (pick(g, 6) == 0)
			put(g, other[pick(g, sizeof(other) / sizeof(other[0]))]);
		else
			put_number(g, 0);
	}
	if (pick(g, 2)) {
		snprintf(t, sizeof(t), " 17322336%02u%09u", pick(g, 100), pick(g, 1000000000));
		put(g, t);
	}
}

static void
test_generated_influx(void **state)
{
	struct dp_decode_cfg cfg;
	struct gen g = { .rng = 5 };
	unsigned int i, r;

	(void)state;
	fz_decode_cfg_make(&cfg, CFG_ENC_INFLUX, -60);
	for (i = 0; i < GEN_PAYLOADS; i++) {
		unsigned int recs = 1 + (pick(&g, 4) == 0 ? pick(&g, 4) : 0);

		g.n = 0;
		for (r = 0; r < recs; r++) {
			if (r > 0)
				put(&g, pick(&g, 3) ? "\n" : "\r\n# comment\n");
			gen_influx_record(&g);
		}
		if (pick(&g, 3) == 0)
			mutate(&g);
		if (g.n > 0)
			check_paths(dp_decode_influx, &cfg, g.b, g.n, "generated line protocol");
	}
}

/*
 * The comparison itself can fail: a value one ulp off, a dropped record
 * and a moved counter are each reported.
 */
static void
test_compare_detects(void **state)
{
	static struct fzp_run a, b;
	static const uint8_t in[] = "{\"device_id\":\"d\",\"temperature\":21.5}\n{\"x\":1}";
	struct dp_decode_cfg cfg;

	(void)state;
	fz_decode_cfg_make(&cfg, CFG_ENC_JSON, -60);
	fzp_run_decode(dp_decode_json, &cfg, &meta_now, in, sizeof(in) - 1, &a);
	fzp_run_decode(dp_decode_json, &cfg, &meta_now, in, sizeof(in) - 1, &b);
	assert_int_equal(a.n, 1);
	assert_null(fzp_diff(&a, &b));
	b.rec[0].values[0] = nextafter(b.rec[0].values[0], 100);
	assert_string_equal(fzp_diff(&a, &b), "value bits");
	b.rec[0].values[0] = a.rec[0].values[0];
	b.out.rejected[WR_REASON_NO_METRICS]++;
	b.out.rejected[WR_REASON_MISSING_DEVICE_ID]--;
	assert_string_equal(fzp_diff(&a, &b), "reject counters");
	b.out.rejected[WR_REASON_NO_METRICS]--;
	b.out.rejected[WR_REASON_MISSING_DEVICE_ID]++;
	b.n = 0;
	assert_string_equal(fzp_diff(&a, &b), "records emitted");
	free(a.rec);
	free(b.rec);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_detects),
		cmocka_unit_test(test_corpus_json),
		cmocka_unit_test(test_corpus_influx),
		cmocka_unit_test(test_generated_json),
		cmocka_unit_test(test_generated_influx),
	};

	corpus_root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
