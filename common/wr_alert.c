/* SPDX-License-Identifier: BSD-3-Clause */
/* Alert rule text: parse and format (see wr_alert.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_alert.h"

static const char *const op_names[] = { ">", ">=", "<", "<=" };

const char *
wr_alert_op_name(int op)
{
	return op >= 0 && op <= WR_ALERT_LE ? op_names[op] : "?";
}

int
wr_alert_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= WR_ALERT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static const char *
skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int
wr_alert_parse(const char *text, struct wr_alert_rule *r, char *msg, size_t msglen)
{
	const char *p = skip_blank(text), *m0;
	char *end;
	size_t mlen;
	double v;

	m0 = p;
	while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '>' && *p != '<')
		p++;
	mlen = (size_t)(p - m0);
	if (mlen == 0 || mlen >= WR_ALERT_METRIC_MAX) {
		snprintf(msg, msglen, "expected \"metric OP value [for N]\" (OP: > >= < <=)");
		return -1;
	}
	memcpy(r->metric_name, m0, mlen);
	r->metric_name[mlen] = '\0';
	p = skip_blank(p);
	if (p[0] == '>' || p[0] == '<') {
		int ge = p[1] == '=';

		r->op = p[0] == '>' ? (ge ? WR_ALERT_GE : WR_ALERT_GT) :
				      (ge ? WR_ALERT_LE : WR_ALERT_LT);
		p += ge ? 2 : 1;
	} else {
		snprintf(msg, msglen, "'%.40s': the operator must be >, >=, < or <=", p);
		return -1;
	}
	p = skip_blank(p);
	errno = 0;
	v = strtod(p, &end);
	if (end == p || errno == ERANGE || !isfinite(v)) {
		snprintf(msg, msglen, "'%.40s' is not a finite number", p);
		return -1;
	}
	r->threshold = v;
	r->for_n = 1;
	p = skip_blank(end);
	if (strncmp(p, "for", 3) == 0 && (p[3] == ' ' || p[3] == '\t')) {
		long n;

		p = skip_blank(p + 3);
		errno = 0;
		n = strtol(p, &end, 10);
		if (end == p || errno != 0 || n < 1 || n > WR_ALERT_FOR_MAX) {
			snprintf(msg, msglen, "for N: N is a whole number of readings, 1..%d",
				 WR_ALERT_FOR_MAX);
			return -1;
		}
		r->for_n = (uint32_t)n;
		p = skip_blank(end);
	}
	if (*p != '\0') {
		snprintf(msg, msglen, "unexpected '%.40s' (expected \"metric OP value [for N]\")",
			 p);
		return -1;
	}
	return 0;
}

size_t
wr_alert_format(const struct wr_alert_rule *r, char *buf, size_t len)
{
	char num[32];
	int n;

	/* the shorter of 15 and 17 digits that reads back as the threshold */
	snprintf(num, sizeof(num), "%.15g", r->threshold);
	if (strtod(num, NULL) != r->threshold)
		snprintf(num, sizeof(num), "%.17g", r->threshold);
	if (r->for_n > 1)
		n = snprintf(buf, len, "%s %s %s for %u", r->metric_name,
			     wr_alert_op_name(r->op), num, r->for_n);
	else
		n = snprintf(buf, len, "%s %s %s", r->metric_name, wr_alert_op_name(r->op), num);
	return n < 0 ? 0 : (size_t)n;
}
