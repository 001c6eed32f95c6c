/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weirctl: the control CLI of a running weir. Sends one request line to
 * the daemon's Unix socket ([control] socket), gets one line of JSON back
 * and prints it as is (--json) or as text tables; `watch` redraws a live
 * view every second with plain ANSI escapes. Single threaded; the JSON
 * reader below is only for the daemon's answers (bounded depth and size).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"

#define ANSWER_MAX	(4u << 20)
#define ANSWER_TIMEOUT_MS 15000		/* flush may take 2 s, top 1 s */
#define JSON_DEPTH	32
#define COLS		80

enum { EXIT_OK = 0, EXIT_DAEMON = 1, EXIT_USAGE = 2 };

/* --- a small JSON reader --------------------------------------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype t;
	double num;
	char *str;		/* J_STR: decoded, NUL terminated */
	char *key;		/* member name inside an object */
	int child;		/* first child (arrays, objects), -1 */
	int next;		/* next sibling, -1 */
};

struct jdoc {
	struct jnode *n;
	int len, cap;
	const char *p, *end;
	int err;
};

static int
jnew(struct jdoc *d, enum jtype t)
{
	if (d->len == d->cap) {
		int cap = d->cap ? d->cap * 2 : 256;
		struct jnode *n = realloc(d->n, (size_t)cap * sizeof(*n));

		if (n == NULL) {
			d->err = 1;
			return -1;
		}
		d->n = n;
		d->cap = cap;
	}
	d->n[d->len] = (struct jnode){ .t = t, .child = -1, .next = -1 };
	return d->len++;
}

static void
jws(struct jdoc *d)
{
	while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
		d->p++;
}

static char *
jstring(struct jdoc *d)
{
	char *out, *o;
	const char *s = ++d->p;

	while (d->p < d->end && *d->p != '"')
		d->p += *d->p == '\\' ? 2 : 1;
	if (d->p >= d->end) {
		d->err = 1;
		return NULL;
	}
	out = malloc((size_t)(d->p - s) + 1);
	if (out == NULL) {
		d->err = 1;
		return NULL;
	}
	for (o = out; s < d->p; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned int u = 0;
			int i;

			for (i = 0; i < 4 && s + 1 < d->p; i++) {
				char h = *++s;

				u = u * 16 + (unsigned int)(h >= 'a' ? h - 'a' + 10 :
							    h >= 'A' ? h - 'A' + 10 : h - '0');
			}
			/* the daemon escapes single bytes only; show others as '?' */
			*o++ = u < 0x20 || u >= 0x7f ? '?' : (char)u;
			break;
		}
		default: *o++ = *s; break;
		}
	}
	*o = '\0';
	d->p++;
	return out;
}

static int
jvalue(struct jdoc *d, int depth)
{
	int id, last = -1, kid;

	jws(d);
	if (d->p >= d->end || depth > JSON_DEPTH) {
		d->err = 1;
		return -1;
	}
	if (*d->p == '{' || *d->p == '[') {
		int obj = *d->p == '{';

		id = jnew(d, obj ? J_OBJ : J_ARR);
		if (id < 0)
			return -1;
		d->p++;
		jws(d);
		if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
			d->p++;
			return id;
		}
		for (;;) {
			char *key = NULL;

			jws(d);
			if (obj) {
				if (d->p >= d->end || *d->p != '"') {
					d->err = 1;
					return -1;
				}
				key = jstring(d);
				jws(d);
				if (key == NULL || d->p >= d->end || *d->p != ':') {
					free(key);
					d->err = 1;
					return -1;
				}
				d->p++;
			}
			kid = jvalue(d, depth + 1);
			if (kid < 0) {
				free(key);
				return -1;
			}
			d->n[kid].key = key;
			if (last < 0)
				d->n[id].child = kid;
			else
				d->n[last].next = kid;
			last = kid;
			jws(d);
			if (d->p < d->end && *d->p == ',') {
				d->p++;
				continue;
			}
			if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
				d->p++;
				return id;
			}
			d->err = 1;
			return -1;
		}
	}
	if (*d->p == '"') {
		id = jnew(d, J_STR);
		if (id >= 0)
			d->n[id].str = jstring(d);
		return d->err ? -1 : id;
	}
	if (d->end - d->p >= 4 && strncmp(d->p, "null", 4) == 0) {
		d->p += 4;
		return jnew(d, J_NULL);
	}
	if (d->end - d->p >= 4 && strncmp(d->p, "true", 4) == 0) {
		d->p += 4;
		id = jnew(d, J_BOOL);
		if (id >= 0)
			d->n[id].num = 1;
		return id;
	}
	if (d->end - d->p >= 5 && strncmp(d->p, "false", 5) == 0) {
		d->p += 5;
		return jnew(d, J_BOOL);
	}
	{
		char *e;
		double v = strtod(d->p, &e);

		if (e == d->p || e > d->end) {
			d->err = 1;
			return -1;
		}
		d->p = e;
		id = jnew(d, J_NUM);
		if (id >= 0)
			d->n[id].num = v;
		return id;
	}
}

static void
jfree(struct jdoc *d)
{
	int i;

	for (i = 0; i < d->len; i++) {
		free(d->n[i].str);
		free(d->n[i].key);
	}
	free(d->n);
	memset(d, 0, sizeof(*d));
}

static int
jparse(struct jdoc *d, const char *s, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->p = s;
	d->end = s + len;
	if (jvalue(d, 0) != 0 || d->err)
		return -1;
	jws(d);
	return d->p == d->end ? 0 : -1;
}

/* Node at a dotted path below node 'at' ("records.late"); -1 when absent. */
static int
jget(const struct jdoc *d, int at, const char *path)
{
	char part[64];

	while (at >= 0 && *path != '\0') {
		size_t n = strcspn(path, ".");
		int k;

		if (n >= sizeof(part) || d->n[at].t != J_OBJ)
			return -1;
		memcpy(part, path, n);
		part[n] = '\0';
		for (k = d->n[at].child; k >= 0; k = d->n[k].next)
			if (d->n[k].key != NULL && strcmp(d->n[k].key, part) == 0)
				break;
		at = k;
		path += n + (path[n] == '.');
	}
	return at;
}

static double
jnum(const struct jdoc *d, int at, const char *path)
{
	int k = jget(d, at, path);

	return k >= 0 && (d->n[k].t == J_NUM || d->n[k].t == J_BOOL) ? d->n[k].num : NAN;
}

static const char *
jstr(const struct jdoc *d, int at, const char *path)
{
	int k = jget(d, at, path);

	return k >= 0 && d->n[k].t == J_STR ? d->n[k].str : NULL;
}

static const char *
jstr_or(const struct jdoc *d, int at, const char *path, const char *dflt)
{
	const char *s = jstr(d, at, path);

	return s != NULL ? s : dflt;
}

/* --- talking to the daemon ---------------------------------------------- */

static const char *sock_path;

/* One request; *out is the answer line (malloc'd). @return 0 or an exit code. */
static int
request(const char *line, char **out, size_t *outlen, int quiet)
{
	struct sockaddr_un sa;
	size_t cap = 65536, len = 0;
	char *buf;
	int fd;

	*out = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "weirctl: socket path too long: %s\n", sock_path);
		return EXIT_USAGE;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "weirctl: socket: %s\n", strerror(errno));
		return EXIT_DAEMON;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (quiet)
			return EXIT_DAEMON;
		if (e == ENOENT || e == ENOTDIR)
			fprintf(stderr, "weirctl: no weir running: %s does not exist (start weir, "
				"or point -s/-c at its [control] socket)\n", sock_path);
		else if (e == ECONNREFUSED)
			fprintf(stderr, "weirctl: no weir running: nothing listens on %s (a stale "
				"socket of a weir that stopped)\n", sock_path);
		else if (e == EACCES || e == EPERM)
			fprintf(stderr, "weirctl: permission denied on %s: run as its owner or a "
				"member of its group (the socket is mode 0660)\n", sock_path);
		else
			fprintf(stderr, "weirctl: cannot connect to %s: %s\n", sock_path,
				strerror(e));
		return EXIT_DAEMON;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) != (ssize_t)strlen(line) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "weirctl: cannot send to %s: %s\n", sock_path, strerror(errno));
		close(fd);
		return EXIT_DAEMON;
	}
	buf = malloc(cap);
	while (buf != NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, ANSWER_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "weirctl: no answer from %s within %d s\n", sock_path,
				ANSWER_TIMEOUT_MS / 1000);
			free(buf);
			close(fd);
			return EXIT_DAEMON;
		}
		if (len + 1 == cap) {
			char *nb = cap * 2 > ANSWER_MAX ? NULL : realloc(buf, cap * 2);

			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (buf == NULL) {
		fprintf(stderr, "weirctl: answer too large or out of memory\n");
		return EXIT_DAEMON;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "weirctl: %s closed without an answer\n", sock_path);
		free(buf);
		return EXIT_DAEMON;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* --- formatting -------------------------------------------------------- */

static const char *
fmt_ns(double ns, char *buf, size_t len)
{
	if (isnan(ns))
		snprintf(buf, len, "-");
	else if (ns < 1e3)
		snprintf(buf, len, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

static const char *
fmt_rate(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

static const char *
fmt_ms_utc(double ms, char *buf, size_t len)
{
	time_t t;
	struct tm tm;

	if (isnan(ms)) {
		snprintf(buf, len, "none yet");
		return buf;
	}
	t = (time_t)floor(ms / 1000);
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)fmod(ms, 1000.0));
	return buf;
}

static uint64_t
u(double v)
{
	return isnan(v) || v < 0 ? 0 : (uint64_t)v;
}

/* The non-zero members of an object of counters, "name N name N". */
static void
print_nonzero(const struct jdoc *d, int obj, const char *none)
{
	int k, any = 0;

	if (obj >= 0)
		for (k = d->n[obj].child; k >= 0; k = d->n[k].next)
			if (d->n[k].t == J_NUM && d->n[k].num != 0) {
				printf("%s%s %" PRIu64, any ? "  " : "", d->n[k].key,
				       u(d->n[k].num));
				any = 1;
			}
	printf("%s\n", any ? "" : none);
}

static void
show_status(const struct jdoc *d)
{
	int l, k;

	printf("weir %s  pid %.0f  mode %s", jstr_or(d, 0, "version", "?"), jnum(d, 0, "pid"),
	       jstr_or(d, 0, "mode", "?"));
	if (jstr(d, 0, "capture") != NULL)
		printf(" (%s)", jstr(d, 0, "capture"));
	printf("  up %.1f s\n", jnum(d, 0, "uptime_s"));
	printf("config     %s\n", jstr_or(d, 0, "config_file", "(defaults and --set only)"));
	printf("port       %.0f (%s), rx queues %.0f, udp ports", jnum(d, 0, "port.id"),
	       jstr_or(d, 0, "port.driver", "?"),
	       jget(d, 0, "port.rx_queues") >= 0 ? jnum(d, 0, "port.rx_queues") : 1.0);
	l = jget(d, 0, "port.udp_ports");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next)
		printf(" %.0f", d->n[k].num);
	printf("\nkafka      %s (bootstrap %s)\n", jstr_or(d, 0, "kafka.brokers", "?"),
	       jstr_or(d, 0, "kafka.bootstrap", "?"));
	printf("topics     aggregated=%s alerts=%s rejected=%s\n",
	       jstr_or(d, 0, "topics.aggregated", "?"), jstr_or(d, 0, "topics.alerts", "?"),
	       jstr_or(d, 0, "topics.rejected", "?"));
	printf("window     size %s, slide %s, %s time\n", jstr_or(d, 0, "window.size", "?"),
	       jstr_or(d, 0, "window.slide", "?"), jstr_or(d, 0, "window.time", "?"));
	printf("control    socket %s, metrics %s\n", jstr_or(d, 0, "control.socket", "off"),
	       jstr_or(d, 0, "control.metrics_listen", "off"));
	printf("\n%-8s %-6s %s\n", "ROLE", "LCORE", "THREAD");
	l = jget(d, 0, "lcores");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next) {
		double lc = jnum(d, k, "lcore");
		char lcs[16];

		snprintf(lcs, sizeof(lcs), isnan(lc) ? "-" : "%.0f", lc);
		printf("%-8s %-6s %s\n", jstr_or(d, k, "role", "?"), lcs,
		       jstr_or(d, k, "thread", "-"));
	}
}

static void
show_stats(const struct jdoc *d)
{
	char a[32], b[32];
	int l, k;

	printf("packets   rx %" PRIu64 "  ignored %" PRIu64 "  malformed %" PRIu64
	       "  datagrams %" PRIu64 "\n", u(jnum(d, 0, "packets.rx")),
	       u(jnum(d, 0, "packets.ignored")), u(jnum(d, 0, "packets.malformed")),
	       u(jnum(d, 0, "datagrams")));
	printf("records   accepted %" PRIu64 "  late %" PRIu64 "  rejected %" PRIu64
	       "  dropped %" PRIu64 "\n", u(jnum(d, 0, "records.accepted")),
	       u(jnum(d, 0, "records.late")), u(jnum(d, 0, "records.rejected")),
	       u(jnum(d, 0, "records.dropped")));
	printf("rejected  ");
	print_nonzero(d, jget(d, 0, "records.rejected_by_reason"), "none");
	printf("dropped   ");
	print_nonzero(d, jget(d, 0, "records.dropped_by_reason"), "none");
	printf("windows   emitted %" PRIu64 "\n", u(jnum(d, 0, "windows.emitted")));
	printf("kafka     delivered %" PRIu64 "  failed %" PRIu64 "  queue %" PRIu64
	       "  retries %" PRIu64 "\n", u(jnum(d, 0, "kafka.delivered")),
	       u(jnum(d, 0, "kafka.failed")), u(jnum(d, 0, "kafka.queue")),
	       u(jnum(d, 0, "kafka.produce_retries")));
	printf("rates     %s packets/s  %s records/s  devices %" PRIu64 "  up %.1f s\n",
	       fmt_rate(jnum(d, 0, "rates.packets_per_s"), a, sizeof(a)),
	       fmt_rate(jnum(d, 0, "rates.records_per_s"), b, sizeof(b)),
	       u(jnum(d, 0, "devices")), jnum(d, 0, "uptime_s"));
	printf("latency   rx_to_agg p99 %s", fmt_ns(jnum(d, 0, "latency_ns.rx_to_agg.p99"), a,
						  sizeof(a)));
	printf("  close_to_ack p99 %s\n",
	       fmt_ns(jnum(d, 0, "latency_ns.close_to_ack.p99"), a, sizeof(a)));
	printf("\n%-6s %5s %9s %9s %6s %13s %13s %8s\n", "ROLE", "LCORE", "PKT/S", "REC/S",
	       "BUSY%", "IN RING", "OUT RING", "DEVICES");
	l = jget(d, 0, "lcores");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next) {
		char in[32], out[32];

		snprintf(in, sizeof(in), "%" PRIu64 "/%" PRIu64, u(jnum(d, k, "ring.used")),
			 u(jnum(d, k, "ring.size")));
		snprintf(out, sizeof(out), "%" PRIu64 "/%" PRIu64, u(jnum(d, k, "out_ring.used")),
			 u(jnum(d, k, "out_ring.size")));
		printf("%-6s %5.0f %9s %9s %6.1f %13s %13s %8" PRIu64 "\n",
		       jstr_or(d, k, "role", "?"), jnum(d, k, "lcore"),
		       fmt_rate(jnum(d, k, "packets_per_s"), a, sizeof(a)),
		       fmt_rate(jnum(d, k, "records_per_s"), b, sizeof(b)),
		       jnum(d, k, "busy_pct"), in, out, u(jnum(d, k, "devices")));
	}
}

static void
lat_row(const struct jdoc *d, int at, const char *stage, const char *who)
{
	char c[6][24];

	printf("%-13s %-6s %10" PRIu64 " %9s %9s %9s %9s %9s\n", stage, who,
	       u(jnum(d, at, "count")), fmt_ns(jnum(d, at, "p50"), c[0], sizeof(c[0])),
	       fmt_ns(jnum(d, at, "p90"), c[1], sizeof(c[1])),
	       fmt_ns(jnum(d, at, "p99"), c[2], sizeof(c[2])),
	       fmt_ns(jnum(d, at, "p999"), c[3], sizeof(c[3])),
	       fmt_ns(jnum(d, at, "max"), c[4], sizeof(c[4])));
}

static void
show_latency(const struct jdoc *d)
{
	int l, k;

	printf("since %s, %.1f s%s\n\n", jstr_or(d, 0, "since", "?"), jnum(d, 0, "since_s"),
	       jnum(d, 0, "reset") == 1 ? " (now reset: the next figures start from here)" : "");
	printf("%-13s %-6s %10s %9s %9s %9s %9s %9s\n", "STAGE", "LCORE", "COUNT", "P50", "P90",
	       "P99", "P99.9", "MAX");
	lat_row(d, jget(d, 0, "rx_to_agg"), "rx_to_agg", "all");
	l = jget(d, 0, "lcores");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next)
		lat_row(d, jget(d, k, "rx_to_agg"), "rx_to_agg", jstr_or(d, k, "role", "?"));
	lat_row(d, jget(d, 0, "close_to_ack"), "close_to_ack", "sink");
}

static void
show_windows(const struct jdoc *d)
{
	char a[96];
	int l, k;

	printf("devices    %" PRIu64 " with open windows (", u(jnum(d, 0, "devices")));
	l = jget(d, 0, "lcores");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next)
		printf("%s%s %" PRIu64, k == d->n[l].child ? "" : ", ", jstr_or(d, k, "role", "?"),
		       u(jnum(d, k, "devices")));
	printf("), at most %" PRIu64 " windows each\n",
	       u(jnum(d, 0, "open_windows_per_device_max")));
	printf("watermark  %s", fmt_ms_utc(jnum(d, 0, "watermark_ms"), a, sizeof(a)));
	if (!isnan(jnum(d, 0, "watermark_lag_ms")))
		printf(", %.3f s behind the wall clock", jnum(d, 0, "watermark_lag_ms") / 1e3);
	printf("\nwindow     size %s, slide %s, %s time\n", jstr_or(d, 0, "window.size", "?"),
	       jstr_or(d, 0, "window.slide", "?"), jstr_or(d, 0, "window.time", "?"));
	printf("lateness   %s (at most %s without a restart), idle timeout %s\n",
	       jstr_or(d, 0, "window.allowed_lateness", "?"),
	       jstr_or(d, 0, "window.allowed_lateness_max", "?"),
	       jstr_or(d, 0, "window.idle_timeout", "?"));
	printf("records    late %" PRIu64 ", accepted %" PRIu64 "\n",
	       u(jnum(d, 0, "records_late")), u(jnum(d, 0, "records_accepted")));
	printf("windows    emitted %" PRIu64 ", flushes %" PRIu64 "\n",
	       u(jnum(d, 0, "windows_emitted")), u(jnum(d, 0, "flushes")));
}

static void
show_top(const struct jdoc *d)
{
	int l = jget(d, 0, "devices"), k, i = 1;

	if (jnum(d, 0, "partial") == 1)
		printf("(partial: an aggregator did not answer)\n");
	printf("%3s  %-32s %10s %8s  %s\n", "#", "DEVICE", "RECORDS", "WINDOWS", "LCORE");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next)
		printf("%3d  %-32s %10" PRIu64 " %8" PRIu64 "  %s\n", i++,
		       jstr_or(d, k, "device", "?"), u(jnum(d, k, "records")),
		       u(jnum(d, k, "windows")), jstr_or(d, k, "lcore", "?"));
	if (i == 1)
		printf("     (no open windows)\n");
}

static void
show_get(const struct jdoc *d)
{
	int l, k;

	if (jstr(d, 0, "key") != NULL) {
		printf("%s = %s%s\n", jstr(d, 0, "key"), jstr_or(d, 0, "value", ""),
		       jnum(d, 0, "writable") == 1 ? "" : "   (read-only: restart to change)");
		return;
	}
	printf("tunables (weirctl set KEY VALUE):\n");
	l = jget(d, 0, "tunables");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next)
		printf("  %-28s %s\n", d->n[k].key, d->n[k].str != NULL ? d->n[k].str : "");
	printf("  (window.allowed_lateness at most %s)\n",
	       jstr_or(d, 0, "limits.allowed_lateness_max", "?"));
	printf("read-only (change the config and restart):\n");
	l = jget(d, 0, "read_only");
	for (k = l >= 0 ? d->n[l].child : -1; k >= 0; k = d->n[k].next)
		printf("  %-28s %s\n", d->n[k].key, d->n[k].str != NULL ? d->n[k].str : "");
}

static void
show_set(const struct jdoc *d)
{
	printf("%s: %s -> %s (%s)\n", jstr_or(d, 0, "key", "?"), jstr_or(d, 0, "old", "?"),
	       jstr_or(d, 0, "value", "?"),
	       jnum(d, 0, "applied") == 1 ? "in effect" : jstr_or(d, 0, "note", "published"));
}

static void
show_flush(const struct jdoc *d)
{
	if (jnum(d, 0, "served") == 1)
		printf("flushed in %.1f ms: windows emitted %" PRIu64 " -> %" PRIu64 "\n",
		       jnum(d, 0, "ms"), u(jnum(d, 0, "windows_emitted_before")),
		       u(jnum(d, 0, "windows_emitted")));
	else
		printf("flush %s\n", jstr_or(d, 0, "note", "requested"));
}

/* --- help ----------------------------------------------------------------- */

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	void (*show)(const struct jdoc *d);
};

static const struct cmd cmds[] = {
	{ "status", "", "Version, uptime, config file, port and queue, each lcore's role\n"
	  "and thread, Kafka bootstrap address and topics.", show_status },
	{ "stats", "", "Every counter of the summary (SPEC 7) with the same JSON nesting,\n"
	  "the Kafka queue depth, and per lcore: packets/s and records/s over the\n"
	  "last second, busy % (polls that returned work), ring fill, devices.", show_stats },
	{ "latency", "[--reset]", "p50/p90/p99/p99.9/max of rx_to_agg (merged and per lcore)\n"
	  "and close_to_ack, in ns. --reset reports, then starts the figures from\n"
	  "zero (the daemon keeps a baseline; the histograms are not touched).",
	  show_latency },
	{ "windows", "", "Devices with open windows, the watermark and its lag behind\n"
	  "the wall clock, window size/slide/lateness, late records.", show_windows },
	{ "top", "[N]", "The N (default 10, at most 64) devices with the most records\n"
	  "in their open windows.", show_top },
	{ "get", "[KEY]", "Without KEY: every tunable and every read-only key with its\n"
	  "value. With KEY (section.key): that value.", show_get },
	{ "set", "KEY VALUE", "Change a tunable while weir runs; it takes effect at the RX\n"
	  "lcore's next burst. Tunables: window.allowed_lateness (up to the limit\n"
	  "get shows), window.idle_timeout, input.max_future (durations: 5s,\n"
	  "250ms), input.range.<metric> (\"min, max\" or none), log.level (error,\n"
	  "warning, notice, info, debug), window \"SIZE SLIDE\", window.size,\n"
	  "window.slide (size a multiple of slide; takes effect at the next\n"
	  "boundary aligned to both slides past the data, which set names; one\n"
	  "change at a time), alert.NAME \"metric OP value [for N]\" (OP > >= <\n"
	  "<=; off removes the rule). Other keys are refused: restart.", show_set },
	{ "flush", "", "Close every open window now and deliver it to Kafka.", show_flush },
	{ "reload", "", "Re-read weir's config file (the one weir was started with, or\n"
	  "-c FILE) and apply what changed: tunables through set (window size and\n"
	  "slide as one change), changed read-only keys listed as needing a\n"
	  "restart. Exit 1 when a change was refused. systemd's ExecReload.", NULL },
	{ "watch", "[--interval S]", "A live view refreshed every S seconds (default 1): rates,\n"
	  "busy %, drops, p99 latencies, Kafka health per lcore. q quits.", NULL },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: weirctl [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n"
		   "       weirctl help COMMAND | COMMAND --help\n\n"
		   "Control a running weir (weir run, or a weir replay in progress).\n\n"
		   "commands:\n");
	for (i = 0; i < N_CMDS; i++) {
		char head[40];

		snprintf(head, sizeof(head), "%s %s", cmds[i].name, cmds[i].args);
		fprintf(f, "  %-26s %.*s\n", head, (int)strcspn(cmds[i].help, "\n"),
			cmds[i].help);
	}
	fprintf(f, "\noptions:\n"
		   "  -s, --socket PATH   the daemon's socket (default %s)\n"
		   "  -c, --config FILE   read [control] socket from weir's config file\n"
		   "  -j, --json          print the daemon's JSON answer (one line)\n"
		   "  -h, --help          this text\n\n"
		   "exit status: 0 ok, 1 daemon error (refused, or no daemon), 2 usage.\n",
		"/run/weir/weir.sock");
}

static const struct cmd *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_CMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void
cmd_help(const struct cmd *c)
{
	printf("usage: weirctl [-s SOCKET] [--json] %s %s\n\n%s\n", c->name, c->args, c->help);
}

/* --- watch ----------------------------------------------------------------- */

static struct termios tty_saved;
static int tty_raw;
static volatile sig_atomic_t watch_stop;

static void
tty_restore(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
		tty_raw = 0;
	}
	/* cursor back, leave the alternate screen */
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
}

static void
on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* A screen line, cut to the terminal width, clearing what was there. */
static void __attribute__((format(printf, 1, 2)))
line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	buf[COLS - 1] = '\0';
	printf("%s\033[K\r\n", buf);
}

static void
watch_frame(const struct jdoc *st, const struct jdoc *lat, double interval)
{
	char a[32], b[32], c[32], now[96];
	int l, k, rows = 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fmt_ms_utc((double)ts.tv_sec * 1e3, now, sizeof(now));
	printf("\033[H");
	line("weir watch  %s  up %.0f s  every %.1f s  (q quits)", now,
	     jnum(st, 0, "uptime_s"), interval);
	line("%s", "");
	line("total     %10s pkt/s %10s rec/s   devices %" PRIu64,
	     fmt_rate(jnum(st, 0, "rates.packets_per_s"), a, sizeof(a)),
	     fmt_rate(jnum(st, 0, "rates.records_per_s"), b, sizeof(b)),
	     u(jnum(st, 0, "devices")));
	line("records   accepted %" PRIu64 "  late %" PRIu64 "  rejected %" PRIu64
	     "  dropped %" PRIu64, u(jnum(st, 0, "records.accepted")),
	     u(jnum(st, 0, "records.late")), u(jnum(st, 0, "records.rejected")),
	     u(jnum(st, 0, "records.dropped")));
	line("drops     ring_full %" PRIu64 "  devices_full %" PRIu64 "  refused %" PRIu64,
	     u(jnum(st, 0, "records.dropped_by_reason.ring_full")),
	     u(jnum(st, 0, "records.dropped_by_reason.devices_full")),
	     u(jnum(st, 0, "records.dropped_by_reason.refused")));
	line("kafka     %s  delivered %" PRIu64 "  failed %" PRIu64 "  queue %" PRIu64
	     "  windows %" PRIu64, u(jnum(st, 0, "kafka.failed")) ? "FAILING" : "ok",
	     u(jnum(st, 0, "kafka.delivered")), u(jnum(st, 0, "kafka.failed")),
	     u(jnum(st, 0, "kafka.queue")), u(jnum(st, 0, "windows.emitted")));
	line("latency   p99 rx_to_agg %s   p99 close_to_ack %s   (since %s)",
	     fmt_ns(jnum(lat, 0, "rx_to_agg.p99"), a, sizeof(a)),
	     fmt_ns(jnum(lat, 0, "close_to_ack.p99"), b, sizeof(b)),
	     jstr_or(lat, 0, "since", "start"));
	line("%s", "");
	line("%-6s %5s %10s %10s %6s %6s %9s %10s", "ROLE", "LCORE", "PKT/S", "REC/S", "BUSY%",
	     "RING%", "DEVICES", "P99");
	l = jget(st, 0, "lcores");
	for (k = l >= 0 ? st->n[l].child : -1; k >= 0 && rows < 12; k = st->n[k].next, rows++) {
		const char *role = jstr_or(st, k, "role", "?");
		double size = jnum(st, k, "ring.size"), p99 = NAN;
		int m, ll = jget(lat, 0, "lcores");

		for (m = ll >= 0 ? lat->n[ll].child : -1; m >= 0; m = lat->n[m].next)
			if (strcmp(jstr_or(lat, m, "role", ""), role) == 0)
				p99 = jnum(lat, m, "rx_to_agg.p99");
		line("%-6s %5.0f %10s %10s %6.1f %6.1f %9" PRIu64 " %10s", role,
		     jnum(st, k, "lcore"), fmt_rate(jnum(st, k, "packets_per_s"), a, sizeof(a)),
		     fmt_rate(jnum(st, k, "records_per_s"), b, sizeof(b)),
		     jnum(st, k, "busy_pct"),
		     size > 0 ? 100.0 * jnum(st, k, "ring.used") / size : 0.0,
		     u(jnum(st, k, "devices")), fmt_ns(p99, c, sizeof(c)));
	}
	line("%s", "");
	{
		char rej[256] = "rejected  ";
		size_t o = strlen(rej);
		int r = jget(st, 0, "records.rejected_by_reason"), any = 0;

		for (k = r >= 0 ? st->n[r].child : -1; k >= 0 && o < sizeof(rej); k = st->n[k].next)
			if (st->n[k].num != 0) {
				o += (size_t)snprintf(rej + o, sizeof(rej) - o, "%s %" PRIu64 "  ",
						      st->n[k].key, u(st->n[k].num));
				any = 1;
			}
		line("%s%s", rej, any ? "" : "none");
	}
	printf("\033[J");
	fflush(stdout);
}

static int
watch(double interval)
{
	struct sigaction sa;
	int rc = EXIT_OK, tty = isatty(STDIN_FILENO);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (tty && tcgetattr(STDIN_FILENO, &tty_saved) == 0) {
		struct termios t = tty_saved;

		/* cbreak: keys one at a time, no echo; signals still work */
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
			tty_raw = 1;
	}
	atexit(tty_restore);
	fputs("\033[?1049h\033[?25l\033[2J", stdout);
	while (!watch_stop) {
		struct jdoc st, lat;
		char *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

		rc = request("stats", &a, &al, 0);
		if (rc == 0)
			rc = request("latency", &b, &bl, 0);
		if (rc != 0) {
			free(a);
			break;
		}
		if (jparse(&st, a, al) == 0 && jparse(&lat, b, bl) == 0) {
			watch_frame(&st, &lat, interval);
		} else {
			fprintf(stderr, "weirctl: the daemon's answer is not JSON\n");
			rc = EXIT_DAEMON;
		}
		jfree(&st);
		jfree(&lat);
		free(a);
		free(b);
		if (rc != 0)
			break;
		/* wait for the next frame, or a key */
		if (poll(&p, 1, (int)(interval * 1e3)) > 0 && (p.revents & POLLIN)) {
			char key[16];
			ssize_t n = read(STDIN_FILENO, key, sizeof(key));

			if (n == 0 && !tty)
				continue;	/* stdin at EOF (not a terminal): keep watching */
			if (n > 0 && memchr(key, 'q', (size_t)n) != NULL)
				break;
			if (n > 0 && memchr(key, 'Q', (size_t)n) != NULL)
				break;
		}
	}
	tty_restore();
	return rc;
}

/* --- reload ------------------------------------------------------------------ */

/* Same value as written in the daemon's and in cfg_get's format? */
static int
same_value(const char *key, const char *a, const char *b)
{
	int64_t na, nb;
	double a0, a1, b0, b1;

	if (strcmp(a, b) == 0)
		return 1;
	if (cfg_parse_duration(a, &na) == 0 && cfg_parse_duration(b, &nb) == 0)
		return na == nb;
	if (strncmp(key, "input.range.", 12) == 0 &&
	    sscanf(a, "%lf , %lf", &a0, &a1) == 2 && sscanf(b, "%lf , %lf", &b0, &b1) == 2)
		return a0 == b0 && a1 == b1;
	return 0;
}

/* The member named key of object at (keys may contain dots), or -1. */
static int
jchild(const struct jdoc *d, int at, const char *key)
{
	int k;

	for (k = d->n[at].child; k >= 0; k = d->n[k].next)
		if (d->n[k].key != NULL && strcmp(d->n[k].key, key) == 0)
			return k;
	return -1;
}

/* Send "set KEY VALUE"; print what happened. @return 0 applied or published, 1 refused */
static int
reload_set(const char *key, const char *value)
{
	char line[1024], *ans = NULL;
	struct jdoc d;
	size_t len;
	int ok;

	snprintf(line, sizeof(line), "set %s %s", key, value);
	if (request(line, &ans, &len, 0) != 0)
		return 1;
	ok = jparse(&d, ans, len) == 0 && d.len > 0 && jnum(&d, 0, "ok") == 1;
	if (ok)
		show_set(&d);
	else
		fprintf(stderr, "weirctl: reload: %s: %s\n", key,
			d.len > 0 ? jstr_or(&d, 0, "error", "refused") : "refused");
	jfree(&d);
	free(ans);
	return ok ? 0 : 1;
}

/*
 * Re-read the daemon's config file and apply what changed: every tunable
 * through "set" (window size and slide as one change), every changed
 * read-only key named as needing a restart. systemd's ExecReload.
 */
static int
reload(const char *cfg_file)
{
	struct weir_config *cfg = calloc(1, sizeof(*cfg));
	char err[512], fv[CFG_EAL_MAX], win[160], path[CFG_STR_MAX] = "", *ans = NULL;
	const char *size = NULL, *slide = NULL;
	unsigned int applied = 0, refused = 0, restart = 0;
	struct jdoc d;
	size_t len;
	int l, k, rc;

	if (cfg == NULL)
		return EXIT_DAEMON;
	if (cfg_file == NULL) {
		/* the file the daemon was started with */
		rc = request("status", &ans, &len, 0);
		if (rc != 0) {
			free(cfg);
			return rc;
		}
		if (jparse(&d, ans, len) == 0 && jstr(&d, 0, "config_file") != NULL)
			snprintf(path, sizeof(path), "%s", jstr(&d, 0, "config_file"));
		jfree(&d);
		free(ans);
		if (path[0] != '/') {
			fprintf(stderr, "weirctl: reload: weir was started %s; name the file with "
				"-c FILE\n", path[0] ? "with a relative config path" :
				"without a config file");
			free(cfg);
			return EXIT_USAGE;
		}
		cfg_file = path;
	}
	cfg_defaults(cfg);
	if (cfg_load_file(cfg, cfg_file, err, sizeof(err)) != 0 ||
	    cfg_validate(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "weirctl: reload: %s (nothing changed)\n", err);
		free(cfg);
		return EXIT_USAGE;
	}
	rc = request("get", &ans, &len, 0);
	if (rc != 0) {
		free(cfg);
		return rc;
	}
	if (jparse(&d, ans, len) != 0 || jnum(&d, 0, "ok") != 1) {
		fprintf(stderr, "weirctl: reload: unexpected answer to get: %.200s\n", ans);
		jfree(&d);
		free(ans);
		free(cfg);
		return EXIT_DAEMON;
	}
	l = jget(&d, 0, "tunables");
	for (k = l >= 0 ? d.n[l].child : -1; k >= 0; k = d.n[k].next) {
		const char *key = d.n[k].key, *cur = d.n[k].str ? d.n[k].str : "";

		if (strcmp(key, "window.size") == 0) {
			size = cur;
			continue;
		}
		if (strcmp(key, "window.slide") == 0) {
			slide = cur;
			continue;
		}
		if (cfg_get(cfg, key, fv, sizeof(fv)) != 0) {
			if (strncmp(key, "alert.", 6) != 0)
				continue;	/* not a file key (log.level) */
			snprintf(fv, sizeof(fv), "off");	/* a rule the file no longer has */
		}
		if (same_value(key, cur, fv))
			continue;
		if (reload_set(key, fv) == 0)
			applied++;
		else
			refused++;
	}
	/* rules the file has and weir does not run yet */
	for (k = 0; k < (int)cfg->alerts.n; k++) {
		char key[64];

		snprintf(key, sizeof(key), "alert.%s", cfg->alerts.r[k].name);
		if (l >= 0 && jchild(&d, l, key) >= 0)
			continue;
		wr_alert_format(&cfg->alerts.r[k], fv, sizeof(fv));
		if (reload_set(key, fv) == 0)
			applied++;
		else
			refused++;
	}
	if (size != NULL && slide != NULL) {
		char fsize[64], fslide[64];

		if (cfg_get(cfg, "window.size", fsize, sizeof(fsize)) == 0 &&
		    cfg_get(cfg, "window.slide", fslide, sizeof(fslide)) == 0 &&
		    !(same_value("window.size", size, fsize) &&
		      same_value("window.slide", slide, fslide))) {
			snprintf(win, sizeof(win), "%s %s", fsize, fslide);
			if (reload_set("window", win) == 0)
				applied++;
			else
				refused++;
		}
	}
	l = jget(&d, 0, "read_only");
	for (k = l >= 0 ? d.n[l].child : -1; k >= 0; k = d.n[k].next) {
		const char *key = d.n[k].key, *cur = d.n[k].str ? d.n[k].str : "";

		if (strcmp(cur, "(hidden)") == 0 || cfg_get(cfg, key, fv, sizeof(fv)) != 0 ||
		    same_value(key, cur, fv))
			continue;
		printf("%s: %s -> %s in %s: read-only at run time, restart weir to apply\n",
		       key, cur, fv, cfg_file);
		restart++;
	}
	printf("reload %s: %u applied, %u refused, %u need a restart\n", cfg_file, applied,
	       refused, restart);
	jfree(&d);
	free(ans);
	free(cfg);
	return refused ? EXIT_DAEMON : EXIT_OK;
}

/* --- main ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	static char path_buf[CFG_STR_MAX];
	const char *cfg_file = NULL, *pos[8];
	const struct cmd *c;
	int npos = 0, json = 0, help = 0, reset = 0, i, rc, ok;
	double interval = 1.0;
	char line_buf[1024];
	struct jdoc d;
	char *ans;
	size_t len;

	sock_path = NULL;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0 ||
		    strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
		    strcmp(a, "--interval") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "weirctl: %s needs a value (see --help)\n", a);
				return EXIT_USAGE;
			}
			if (a[1] == 's' || a[2] == 's')
				sock_path = argv[++i];
			else if (a[1] == 'c' || a[2] == 'c')
				cfg_file = argv[++i];
			else {
				char *end;

				interval = strtod(argv[++i], &end);
				if (*end != '\0' || !(interval >= 0.1 && interval <= 3600)) {
					fprintf(stderr, "weirctl: --interval %s: seconds, 0.1 to "
						"3600\n", argv[i]);
					return EXIT_USAGE;
				}
			}
		} else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			help = 1;
		} else if (strcmp(a, "--reset") == 0) {
			reset = 1;
		} else if (a[0] == '-' && a[1] != '\0' && !(npos >= 2 && pos[0] != NULL &&
							   strcmp(pos[0], "set") == 0)) {
			fprintf(stderr, "weirctl: unknown option %s (see --help)\n", a);
			return EXIT_USAGE;
		} else {
			if (npos == 8) {
				fprintf(stderr, "weirctl: too many arguments (see --help)\n");
				return EXIT_USAGE;
			}
			pos[npos++] = a;
		}
	}
	if (npos == 0) {
		usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	if (strcmp(pos[0], "help") == 0) {
		if (npos == 1) {
			usage(stdout);
			return EXIT_OK;
		}
		c = cmd_find(pos[1]);
		if (c == NULL) {
			fprintf(stderr, "weirctl: no command '%s' (see --help)\n", pos[1]);
			return EXIT_USAGE;
		}
		cmd_help(c);
		return EXIT_OK;
	}
	c = cmd_find(pos[0]);
	if (c == NULL) {
		fprintf(stderr, "weirctl: unknown command '%s' (see --help)\n", pos[0]);
		return EXIT_USAGE;
	}
	if (help) {
		cmd_help(c);
		return EXIT_OK;
	}
	/* arguments per command */
	if ((reset && strcmp(c->name, "latency") != 0) ||
	    (npos > 1 && strcmp(c->name, "top") != 0 && strcmp(c->name, "get") != 0 &&
	     strcmp(c->name, "set") != 0) ||
	    (npos > 2 && strcmp(c->name, "set") != 0) ||
	    (strcmp(c->name, "set") == 0 && npos != 3)) {
		fprintf(stderr, "usage: weirctl %s %s (see weirctl help %s)\n", c->name, c->args,
			c->name);
		return EXIT_USAGE;
	}
	if (strcmp(c->name, "top") == 0 && npos == 2) {
		char *end;
		long n = strtol(pos[1], &end, 10);

		if (*end != '\0' || end == pos[1] || n < 1 || n > 64) {
			fprintf(stderr, "weirctl: top N: N is 1..64\n");
			return EXIT_USAGE;
		}
	}
	if (sock_path == NULL) {
		struct weir_config *cfg = calloc(1, sizeof(*cfg));
		char err[512];

		if (cfg == NULL)
			return EXIT_DAEMON;
		cfg_defaults(cfg);
		if (cfg_file != NULL && cfg_load_file(cfg, cfg_file, err, sizeof(err)) != 0) {
			fprintf(stderr, "weirctl: %s\n", err);
			free(cfg);
			return EXIT_USAGE;
		}
		snprintf(path_buf, sizeof(path_buf), "%s", cfg->control_socket);
		free(cfg);
		sock_path = path_buf;
	}
	if (strcmp(c->name, "watch") == 0)
		return watch(interval);
	if (strcmp(c->name, "reload") == 0)
		return reload(cfg_file);

	if (strcmp(c->name, "set") == 0) {
		if (strchr(pos[2], '\n') != NULL || strchr(pos[1], '\n') != NULL) {
			fprintf(stderr, "weirctl: set: no newlines in KEY or VALUE\n");
			return EXIT_USAGE;
		}
		snprintf(line_buf, sizeof(line_buf), "set %s %s", pos[1], pos[2]);
	} else if (npos == 2) {
		if (strchr(pos[1], '\n') != NULL) {
			fprintf(stderr, "weirctl: no newlines in arguments\n");
			return EXIT_USAGE;
		}
		snprintf(line_buf, sizeof(line_buf), "%s %s", c->name, pos[1]);
	} else {
		snprintf(line_buf, sizeof(line_buf), "%s%s", c->name, reset ? " --reset" : "");
	}
	rc = request(line_buf, &ans, &len, 0);
	if (rc != 0)
		return rc;
	if (jparse(&d, ans, len) != 0 || d.len == 0 || d.n[0].t != J_OBJ) {
		fprintf(stderr, "weirctl: the daemon's answer is not a JSON object: %.200s\n", ans);
		jfree(&d);
		free(ans);
		return EXIT_DAEMON;
	}
	ok = jnum(&d, 0, "ok") == 1;
	if (json)
		printf("%s\n", ans);
	else if (ok)
		c->show(&d);
	if (!ok)
		fprintf(stderr, "weirctl: %s\n", jstr_or(&d, 0, "error", "the daemon refused"));
	jfree(&d);
	free(ans);
	return ok ? EXIT_OK : EXIT_DAEMON;
}
