/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weirctl request framing and parsing (see ctl_proto.h). Pure functions
 * on the caller's buffer: no I/O, no allocation, no pipeline state. Runs
 * on the control thread; fuzzed by tests/fuzz/fuzz_ctlproto.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

#define WORDS_MAX	8	/* more words than any command takes */

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

enum ctl_frame
ctl_req_frame(char *buf, size_t n, int eof, char *err, size_t errlen)
{
	char *nl;
	size_t len;

	if (errlen > 0)
		err[0] = '\0';
	if (n > CTL_REQ_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
		return CTL_FRAME_ERROR;
	}
	nl = memchr(buf, '\n', n);
	if (nl != NULL) {
		len = (size_t)(nl - buf);
	} else if (eof) {
		if (n == 0)
			return CTL_FRAME_ERROR;	/* said nothing: nothing to answer */
		len = n;			/* EOF ends the line too */
	} else if (n == CTL_REQ_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
		return CTL_FRAME_ERROR;
	} else {
		return CTL_FRAME_MORE;
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in request");
		return CTL_FRAME_ERROR;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	return CTL_FRAME_LINE;
}

/* The next blank-separated word of *p, NUL terminated in place; NULL at the end. */
static char *
next_word(char **p)
{
	char *w, *q = *p;

	while (is_blank(*q))
		q++;
	if (*q == '\0') {
		*p = q;
		return NULL;
	}
	w = q;
	while (*q != '\0' && !is_blank(*q))
		q++;
	if (*q != '\0')
		*q++ = '\0';
	*p = q;
	return w;
}

static int
parse_count(const char *v, unsigned int lo, unsigned int hi, unsigned int *out)
{
	unsigned long x;
	char *end;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (*end != '\0' || errno != 0 || x < lo || x > hi)
		return -1;
	*out = (unsigned int)x;
	return 0;
}

static const struct {
	const char *name;
	enum ctl_cmd cmd;
	unsigned int min_args, max_args;	/* words after the command */
} cmds[] = {
	{ "status", CTL_CMD_STATUS, 0, 0 },
	{ "stats", CTL_CMD_STATS, 0, 0 },
	{ "latency", CTL_CMD_LATENCY, 0, 1 },
	{ "windows", CTL_CMD_WINDOWS, 0, 0 },
	{ "top", CTL_CMD_TOP, 0, 1 },
	{ "get", CTL_CMD_GET, 0, 1 },
	{ "set", CTL_CMD_SET, 2, WORDS_MAX },
	{ "flush", CTL_CMD_FLUSH, 0, 0 },
};

int
ctl_req_parse(char *line, unsigned int top_max, struct ctl_req *req, char *err, size_t errlen)
{
	char *words[WORDS_MAX];
	char *p = line, *cmd, *e;
	unsigned int n = 0, i;

	memset(req, 0, sizeof(*req));
	cmd = next_word(&p);
	if (cmd == NULL) {
		snprintf(err, errlen, "empty request");
		return -1;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		snprintf(err, errlen, "unknown command '%.64s' (status, stats, latency, windows, "
			 "top, get, set, flush)", cmd);
		return -1;
	}
	req->cmd = cmds[i].cmd;
	if (req->cmd == CTL_CMD_SET) {
		/* set KEY VALUE: the value is the rest of the line, inner blanks kept */
		req->key = next_word(&p);
		while (is_blank(*p))
			p++;
		e = p + strlen(p);
		while (e > p && is_blank(e[-1]))
			*--e = '\0';
		req->value = p;
		if (req->key != NULL && *p != '\0')
			return 0;
		n = req->key != NULL;
	} else {
		while (n < WORDS_MAX && (words[n] = next_word(&p)) != NULL)
			n++;
	}
	if (n < cmds[i].min_args || n > cmds[i].max_args ||
	    (req->cmd == CTL_CMD_LATENCY && n == 1 && strcmp(words[0], "--reset") != 0)) {
		snprintf(err, errlen, "%s: wrong arguments (status, stats, latency [--reset], "
			 "windows, top [N], get [KEY], set KEY VALUE, flush)", cmd);
		return -1;
	}
	switch (req->cmd) {
	case CTL_CMD_LATENCY:
		req->reset = n == 1;
		break;
	case CTL_CMD_TOP:
		req->top_n = top_max < 10 ? top_max : 10;
		if (n == 1 && parse_count(words[0], 1, top_max, &req->top_n) != 0) {
			snprintf(err, errlen, "top: N must be 1..%u", top_max);
			return -1;
		}
		break;
	case CTL_CMD_GET:
		req->key = n == 1 ? words[0] : NULL;
		break;
	default:
		break;
	}
	return 0;
}
