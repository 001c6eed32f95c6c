/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the weirctl protocol (control/ctl_proto.c): the
 * bytes a client sends, delivered in reads of the sizes the first byte
 * picks, framed with ctl_req_frame() as the server does, then parsed with
 * ctl_req_parse(). Beyond ASan/UBSan, checks what ctl_server.c relies on:
 * a line has no newline and lies in the buffer, a parsed request holds a
 * known command, set has a key and a non-empty trimmed value inside the
 * line, top N stays in range, and every refusal says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#define TOP_MAX 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_ctlproto: invariant broken: %s\n", what);
	abort();
}

static int
inside(const char *p, const char *buf, size_t n)
{
	return p >= buf && p <= buf + n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[CTL_REQ_MAX + 1], err[512];
	enum ctl_frame fr = CTL_FRAME_MORE;
	struct ctl_req req;
	size_t n = 0, step, len, total;
	int eof = 0;

	if (size == 0)
		return 0;
	step = (size_t)(data[0] % 64) + 1;
	data++;
	size--;
	total = size < CTL_REQ_MAX ? size : CTL_REQ_MAX;
	/* the server reads until a line, the buffer is full, or EOF */
	while (fr == CTL_FRAME_MORE) {
		size_t r = total - n < step ? total - n : step;

		if (r == 0)
			eof = 1;
		memcpy(buf + n, data + n, r);
		n += r;
		fr = ctl_req_frame(buf, n, eof, err, sizeof(err));
		if (fr == CTL_FRAME_MORE && (eof || n == CTL_REQ_MAX ||
					     memchr(buf, '\n', n) != NULL))
			fail("MORE although the line is complete");
	}
	if (fr == CTL_FRAME_ERROR) {
		if (err[0] == '\0' && n != 0)
			fail("framing error without a reason");
		return 0;
	}
	len = strlen(buf);
	if (len > n || memchr(buf, '\n', len) != NULL)
		fail("framed line longer than the input or holding a newline");
	if (ctl_req_parse(buf, TOP_MAX, &req, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			fail("refusal without a reason");
		return 0;
	}
	switch (req.cmd) {
	case CTL_CMD_SET:
		if (req.key == NULL || req.value == NULL || req.key[0] == '\0' ||
		    req.value[0] == '\0')
			fail("set without key or value");
		if (!inside(req.key, buf, len) || !inside(req.value, buf, len))
			fail("set key/value outside the line");
		if (req.value[0] == ' ' || req.value[0] == '\t' ||
		    req.value[strlen(req.value) - 1] == ' ' ||
		    req.value[strlen(req.value) - 1] == '\t')
			fail("set value not trimmed");
		if (strchr(req.key, ' ') != NULL || strchr(req.key, '\t') != NULL)
			fail("set key holds a blank");
		break;
	case CTL_CMD_TOP:
		if (req.top_n < 1 || req.top_n > TOP_MAX)
			fail("top N out of range");
		break;
	case CTL_CMD_GET:
		if (req.key != NULL && (!inside(req.key, buf, len) || req.key[0] == '\0'))
			fail("get key outside the line or empty");
		break;
	case CTL_CMD_LATENCY:
		if (req.reset != 0 && req.reset != 1)
			fail("latency reset not a flag");
		break;
	case CTL_CMD_STATUS:
	case CTL_CMD_STATS:
	case CTL_CMD_WINDOWS:
	case CTL_CMD_FLUSH:
		break;
	default:
		fail("unknown command parsed");
	}
	return 0;
}
