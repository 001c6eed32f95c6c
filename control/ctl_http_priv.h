/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the metrics/status HTTP listener (ctl_http.c), exposed
 * only so that tests/unit/test_http.c can check the pure parts: the
 * request parser, the output buffer and its escapers, and the two
 * renderers. Control thread only.
 */
#ifndef CTL_HTTP_PRIV_H
#define CTL_HTTP_PRIV_H

#include <stddef.h>

#include "ctl_priv.h"

#define CTL_HTTP_REQ_MAX	8192		/* request line + headers */
#define CTL_HTTP_OUT_MAX	(16u << 20)	/* largest response body */

/* What the parser found; status 0 = a complete, well-formed request. */
enum ctl_http_route {
	CTL_HTTP_ROUTE_NONE = 0,
	CTL_HTTP_ROUTE_PAGE,		/* GET / */
	CTL_HTTP_ROUTE_METRICS,		/* GET /metrics */
	CTL_HTTP_ROUTE_STATS,		/* GET /stats.json */
};

struct ctl_http_req {
	int status;			/* 0, or the HTTP error status to answer */
	int head;			/* HEAD: headers only */
	enum ctl_http_route route;
};

/**
 * Parse the request head in buf[0..len).
 * @return 1 when the head is not complete yet (no empty line), else 0 with
 * req filled (req->status 0, or 400/404/405/431/505).
 */
int ctl_http_parse(const char *buf, size_t len, struct ctl_http_req *req);

/* A growing output buffer; an allocation failure or CTL_HTTP_OUT_MAX sets 'failed'. */
struct ctl_http_buf {
	char *p;
	size_t len;
	size_t cap;
	int failed;
};

void ctl_http_buf_printf(struct ctl_http_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ctl_http_buf_free(struct ctl_http_buf *b);
/** Append s as a Prometheus label value (escapes \ " and newline). */
void ctl_http_buf_label(struct ctl_http_buf *b, const char *s);
/** Append s as Prometheus HELP text (escapes \ and newline). */
void ctl_http_buf_help(struct ctl_http_buf *b, const char *s);
/** Append s as a quoted JSON string. */
void ctl_http_buf_json_str(struct ctl_http_buf *b, const char *s);
/** Append a double as a JSON number (null when not finite). */
void ctl_http_buf_json_num(struct ctl_http_buf *b, double v);

/*
 * The renderers; h gives the scratch histogram for merging the lcores'
 * latencies (NULL: latencies are left out), pl may be NULL.
 */
/** Render the Prometheus text exposition of sample s into b. */
void ctl_http_render_metrics(struct ctl_http *h, struct ctl_http_buf *b,
			     const struct ctl_pipeline *pl, const struct ctl_stats *s);
/** Render /stats.json: the sample and the history (hist may be NULL). */
void ctl_http_render_stats(struct ctl_http *h, struct ctl_http_buf *b,
			   const struct ctl_pipeline *pl, const struct ctl_stats *s,
			   const struct ctl_history *hist);

#endif /* CTL_HTTP_PRIV_H */
