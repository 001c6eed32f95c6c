/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The weirctl request protocol, apart from the socket and the pipeline so
 * that it can be unit tested and fuzzed: a client sends one line (at most
 * CTL_REQ_MAX bytes, ended by '\n' or by closing its side), weir answers
 * one line of JSON. This module frames the bytes received into that line
 * and parses it into a request; ctl_server.c executes it.
 */
#ifndef CTL_PROTO_H
#define CTL_PROTO_H

#include <stddef.h>

#define CTL_REQ_MAX	1024	/* longest request line, '\n' included */

enum ctl_cmd {
	CTL_CMD_STATUS,
	CTL_CMD_STATS,
	CTL_CMD_LATENCY,
	CTL_CMD_WINDOWS,
	CTL_CMD_TOP,
	CTL_CMD_GET,
	CTL_CMD_SET,
	CTL_CMD_FLUSH,
};

struct ctl_req {
	enum ctl_cmd cmd;
	int reset;			/* latency --reset */
	unsigned int top_n;		/* top N */
	const char *key;		/* get (NULL = every key), set: into the line */
	const char *value;		/* set: the rest of the line, blanks trimmed */
};

enum ctl_frame {
	CTL_FRAME_MORE,		/* no complete line yet: read on */
	CTL_FRAME_LINE,		/* buf now holds the line, NUL terminated, no CR/LF */
	CTL_FRAME_ERROR,	/* answer err and close */
};

/**
 * Frame the n bytes received so far (n <= CTL_REQ_MAX; buf has room for
 * n + 1). eof: the client closed its side, which ends a line too.
 * @return CTL_FRAME_*; on CTL_FRAME_ERROR err says why (empty when the
 *   client sent nothing at all: nothing to answer).
 */
enum ctl_frame ctl_req_frame(char *buf, size_t n, int eof, char *err, size_t errlen);

/**
 * Parse one framed line (modified in place; req points into it).
 * top_max: the largest N `top` accepts.
 * @return 0, or -1 with a message for the client in err.
 */
int ctl_req_parse(char *line, unsigned int top_max, struct ctl_req *req, char *err,
		  size_t errlen);

#endif /* CTL_PROTO_H */
