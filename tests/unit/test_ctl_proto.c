/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of control/ctl_proto.c (weirctl request framing and parsing)
 * and of cfg_key_secret(), which decides what weirctl get never shows:
 * table-driven must-parse / must-not-parse cases with the exact message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "ctl_proto.h"

#define TOP_MAX 1000

/* --- framing ------------------------------------------------------------ */

static void
test_frame(void **state)
{
	static const struct {
		const char *in;
		size_t n;		/* bytes received */
		int eof;
		enum ctl_frame fr;
		const char *line;	/* CTL_FRAME_LINE: the line; ERROR: the message */
	} t[] = {
		{ "status\n", 7, 0, CTL_FRAME_LINE, "status" },
		{ "status\r\n", 8, 0, CTL_FRAME_LINE, "status" },
		{ "status\r\r\n", 9, 0, CTL_FRAME_LINE, "status\r" },
		{ "stat", 4, 0, CTL_FRAME_MORE, "" },
		{ "status", 6, 1, CTL_FRAME_LINE, "status" },	/* EOF ends the line */
		{ "", 0, 1, CTL_FRAME_ERROR, "" },		/* nothing to answer */
		{ "", 0, 0, CTL_FRAME_MORE, "" },
		{ "get\nset x 1\n", 12, 0, CTL_FRAME_LINE, "get" },	/* one line only */
		{ "st\0atus\n", 8, 0, CTL_FRAME_ERROR, "NUL byte in request" },
		{ "st\0atus", 7, 1, CTL_FRAME_ERROR, "NUL byte in request" },
		{ "status\n\0", 8, 0, CTL_FRAME_LINE, "status" },	/* after the line */
		{ "\n", 1, 0, CTL_FRAME_LINE, "" },
	};
	char buf[CTL_REQ_MAX + 1], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum ctl_frame fr;

		memcpy(buf, t[i].in, t[i].n);
		fr = ctl_req_frame(buf, t[i].n, t[i].eof, err, sizeof(err));
		if (fr != t[i].fr)
			fail_msg("case %zu: frame %d, expected %d", i, fr, t[i].fr);
		if (fr == CTL_FRAME_LINE)
			assert_string_equal(buf, t[i].line);
		else if (fr == CTL_FRAME_ERROR)
			assert_string_equal(err, t[i].line);
	}
}

static void
test_frame_limit(void **state)
{
	char buf[CTL_REQ_MAX + 1], err[256];

	(void)state;
	/* a full buffer without a newline: too long, whether or not EOF follows */
	memset(buf, 'x', CTL_REQ_MAX);
	assert_int_equal(ctl_req_frame(buf, CTL_REQ_MAX, 0, err, sizeof(err)), CTL_FRAME_ERROR);
	assert_string_equal(err, "request longer than 1024 bytes");
	assert_int_equal(ctl_req_frame(buf, CTL_REQ_MAX - 1, 0, err, sizeof(err)),
			 CTL_FRAME_MORE);
	assert_int_equal(ctl_req_frame(buf, CTL_REQ_MAX + 1, 0, err, sizeof(err)),
			 CTL_FRAME_ERROR);
	/* the longest line that fits: 1023 bytes and its newline */
	buf[CTL_REQ_MAX - 1] = '\n';
	assert_int_equal(ctl_req_frame(buf, CTL_REQ_MAX, 0, err, sizeof(err)), CTL_FRAME_LINE);
	assert_int_equal(strlen(buf), CTL_REQ_MAX - 1);
	/* EOF on a full buffer is still a whole line */
	memset(buf, 'y', CTL_REQ_MAX);
	assert_int_equal(ctl_req_frame(buf, CTL_REQ_MAX, 1, err, sizeof(err)), CTL_FRAME_LINE);
	assert_int_equal(strlen(buf), CTL_REQ_MAX);
}

/* --- parsing ------------------------------------------------------------ */

static void
test_parse_good(void **state)
{
	static const struct {
		const char *line;
		enum ctl_cmd cmd;
		int reset;
		unsigned int top_n;
		const char *key;
		const char *value;
	} t[] = {
		{ "status", CTL_CMD_STATUS, 0, 0, NULL, NULL },
		{ "  stats\t", CTL_CMD_STATS, 0, 0, NULL, NULL },
		{ "latency", CTL_CMD_LATENCY, 0, 0, NULL, NULL },
		{ "latency --reset", CTL_CMD_LATENCY, 1, 0, NULL, NULL },
		{ "windows", CTL_CMD_WINDOWS, 0, 0, NULL, NULL },
		{ "top", CTL_CMD_TOP, 0, 10, NULL, NULL },
		{ "top 1", CTL_CMD_TOP, 0, 1, NULL, NULL },
		{ "top 1000", CTL_CMD_TOP, 0, 1000, NULL, NULL },
		{ "get", CTL_CMD_GET, 0, 0, NULL, NULL },
		{ "get window.size", CTL_CMD_GET, 0, 0, "window.size", NULL },
		{ "set window.allowed_lateness 10s", CTL_CMD_SET, 0, 0,
		  "window.allowed_lateness", "10s" },
		{ "set  input.range.t \t -60,  150 \t", CTL_CMD_SET, 0, 0, "input.range.t",
		  "-60,  150" },
		{ "set window 10s/5s", CTL_CMD_SET, 0, 0, "window", "10s/5s" },
		{ "flush", CTL_CMD_FLUSH, 0, 0, NULL, NULL },
	};
	char line[CTL_REQ_MAX + 1], err[256];
	struct ctl_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), "%s", t[i].line);
		err[0] = '\0';
		if (ctl_req_parse(line, TOP_MAX, &req, err, sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", t[i].line, err);
		assert_int_equal(req.cmd, t[i].cmd);
		assert_int_equal(req.reset, t[i].reset);
		if (t[i].cmd == CTL_CMD_TOP)
			assert_int_equal(req.top_n, t[i].top_n);
		if (t[i].key == NULL)
			assert_null(req.key);
		else
			assert_string_equal(req.key, t[i].key);
		if (t[i].value != NULL)
			assert_string_equal(req.value, t[i].value);
	}
}

#define WRONG "wrong arguments (status, stats, latency [--reset], windows, top [N], " \
	"get [KEY], set KEY VALUE, flush)"

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *line;
		const char *msg;
	} t[] = {
		{ "", "empty request" },
		{ " \t ", "empty request" },
		{ "bogus", "unknown command 'bogus' (status, stats, latency, windows, top, get, "
		  "set, flush)" },
		{ "STATUS", "unknown command 'STATUS' (status, stats, latency, windows, top, get, "
		  "set, flush)" },
		{ "status now", "status: " WRONG },
		{ "stats x", "stats: " WRONG },
		{ "latency --rest", "latency: " WRONG },
		{ "latency --reset x", "latency: " WRONG },
		{ "windows 1", "windows: " WRONG },
		{ "top 0", "top: N must be 1..1000" },
		{ "top 1001", "top: N must be 1..1000" },
		{ "top -1", "top: N must be 1..1000" },
		{ "top 5x", "top: N must be 1..1000" },
		{ "top 99999999999999999999999", "top: N must be 1..1000" },
		{ "top 1 2", "top: " WRONG },
		{ "get a b", "get: " WRONG },
		{ "set", "set: " WRONG },
		{ "set window.size", "set: " WRONG },
		{ "set window.size   ", "set: " WRONG },
		{ "flush now", "flush: " WRONG },
		{ "status a b c d e f g h i j", "status: " WRONG },
	};
	char line[CTL_REQ_MAX + 1], err[256];
	struct ctl_req req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(line, sizeof(line), "%s", t[i].line);
		err[0] = '\0';
		if (ctl_req_parse(line, TOP_MAX, &req, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", t[i].line);
		assert_string_equal(err, t[i].msg);
	}
}

/* The value of set keeps everything after the key, up to the line limit. */
static void
test_parse_long_value(void **state)
{
	char line[CTL_REQ_MAX + 1], err[256];
	struct ctl_req req;

	(void)state;
	memset(line, 'v', sizeof(line));
	memcpy(line, "set k ", 6);
	line[CTL_REQ_MAX - 1] = '\0';
	assert_int_equal(ctl_req_parse(line, TOP_MAX, &req, err, sizeof(err)), 0);
	assert_string_equal(req.key, "k");
	assert_int_equal(strlen(req.value), CTL_REQ_MAX - 1 - 6);
}

/* --- secrets ------------------------------------------------------------ */

static void
test_secret_keys(void **state)
{
	static const char *const secret[] = {
		"kafka.sasl.password", "kafka.ssl.key.password", "kafka.ssl.keystore.password",
		"kafka.ssl.key.pem", "kafka.sasl.oauthbearer.client.secret",
		"kafka.sasl.oauthbearer.config", "kafka.SASL.PASSWORD", "x.my_password_file",
	};
	static const char *const shown[] = {
		"kafka.sasl.username", "kafka.sasl.mechanisms", "kafka.security.protocol",
		"kafka.ssl.ca.location", "kafka.ssl.certificate.pem", "kafka.ssl.key.location",
		"kafka.brokers", "window.size", "control.socket", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!cfg_key_secret(secret[i]))
			fail_msg("%s is not treated as a secret", secret[i]);
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if (cfg_key_secret(shown[i]))
			fail_msg("%s is hidden although it is no secret", shown[i]);
	assert_int_equal(cfg_key_secret(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_long_value),
		cmocka_unit_test(test_secret_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
