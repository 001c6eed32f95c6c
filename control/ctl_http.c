/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metrics/status HTTP listener: GET /metrics (Prometheus text format
 * 0.0.4), GET /stats.json (the last sample and the history) and GET / (a
 * self-contained status page that polls /stats.json). A minimal HTTP/1.1
 * handler of our own: one connection per call, request head bounded to
 * CTL_HTTP_REQ_MAX, short socket timeouts and overall deadlines so that a
 * slow or hostile client never holds the control thread for long, and
 * Connection: close on every answer.
 *
 * Runs on the control thread only (ctl_server.c's poll loop calls
 * ctl_http_serve when the listening socket is readable). Counters are read
 * fresh per request (single writer each, as the sampler reads them), rates
 * and the history come from the control thread's 1 s samples.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "ctl_http_priv.h"

/* Same range as the per-lcore rx_to_agg histograms (1 h in ns), so they merge. */
#define LAT_HIGHEST_NS	3600000000000ULL
#define IO_TIMEOUT_MS	200	/* per recv()/send() */
#define READ_BUDGET_MS	400	/* whole request head */
#define WRITE_BUDGET_MS	1000	/* whole response */

struct ctl_http {
	int fd;
	struct hdr *scratch;		/* merged rx_to_agg, reset per request */
	struct ctl_http_buf body;	/* kept between requests */
	struct ctl_stats now;		/* fresh counters for this request */
	struct ctl_stats prev;		/* the sampler's baseline, saved meanwhile */
	double prev_s;
	char req[CTL_HTTP_REQ_MAX];
};

static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999 };

/* The status page: one self-contained document that polls stats.json. */
static const char page_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\"><head><meta charset=\"utf-8\"><title>weir status</title>\n"
	"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
	"<style>\n"
	"body{font:13px/1.35 system-ui,sans-serif;margin:0;background:#f3f4f6;color:#1f2328}\n"
	"header{background:#263238;color:#e8eaed;padding:6px 14px;display:flex;gap:22px;\n"
	"align-items:baseline;flex-wrap:wrap}\n"
	"header b{font-size:17px;letter-spacing:.5px}\n"
	"#conn{margin-left:auto;font-weight:600}\n"
	".ok{color:#7ee787}.bad{color:#ff8a80}\n"
	"main{padding:8px 14px}\n"
	".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(118px,1fr));gap:6px}"
	"\n"
	".tile{background:#fff;border:1px solid #d0d7de;border-radius:4px;padding:4px 8px}\n"
	".tile span{display:block;font-size:18px;font-weight:600;font-variant-numeric:tabular-n"
	"ums}\n"
	".tile small{font-size:10.5px;color:#57606a;text-transform:uppercase}\n"
	".tile.alert span{color:#c62828}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:6px"
	";\n"
	"margin-top:8px}\n"
	".chart{background:#fff;border:1px solid #d0d7de;border-radius:4px;padding:3px 8px 4px}"
	"\n"
	".chart h3{margin:0;font-size:12px;display:flex;justify-content:space-between}\n"
	".chart h3 em{font-style:normal;font-weight:400;color:#57606a}\n"
	".chart svg{width:100%;height:92px;display:block;background:#fbfbfc;border-bottom:1px s"
	"olid #d0d7de}\n"
	".legend{font-size:11px;min-height:15px;color:#333}\n"
	".legend span{margin-right:9px;white-space:nowrap}\n"
	".legend i{display:inline-block;width:10px;height:3px;margin-right:3px;vertical-align:m"
	"iddle}\n"
	".tables{display:flex;gap:14px;flex-wrap:wrap;align-items:flex-start;margin-top:8px}\n"
	"table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums}\n"
	"caption{text-align:left;font-weight:600;font-size:12px;padding:2px 0}\n"
	"th,td{border:1px solid #d0d7de;padding:1px 8px;text-align:right}\n"
	"th{background:#eaeef2;font-weight:600}\n"
	"td:first-child,th:first-child{text-align:left}\n"
	"td.nz{color:#c62828;font-weight:600}\n"
	"</style></head>\n"
	"<body>\n"
	"<header><b>weir</b><span>uptime <span id=\"uptime\">-</span></span>\n"
	"<span>broker <span id=\"broker\">-</span></span><span>config <span id=\"config\">-</sp"
	"an></span>\n"
	"<span>watermark lag <span id=\"wmlag\">-</span></span><span id=\"conn\">connecting</sp"
	"an></header>\n"
	"<main>\n"
	"<div class=\"tiles\">\n"
	"<div class=\"tile\"><small>packets/s</small><span id=\"pps\">-</span></div>\n"
	"<div class=\"tile\"><small>records/s</small><span id=\"rps\">-</span></div>\n"
	"<div class=\"tile\"><small>packets</small><span id=\"packets\">-</span></div>\n"
	"<div class=\"tile\"><small>accepted</small><span id=\"accepted\">-</span></div>\n"
	"<div class=\"tile\"><small>late</small><span id=\"late\">-</span></div>\n"
	"<div class=\"tile\" id=\"t_rejected\"><small>rejected</small><span id=\"rejected\">-</"
	"span></div>\n"
	"<div class=\"tile\" id=\"t_dropped\"><small>dropped</small><span id=\"dropped\">-</spa"
	"n></div>\n"
	"<div class=\"tile\"><small>devices open</small><span id=\"devices\">-</span></div>\n"
	"<div class=\"tile\"><small>windows emitted</small><span id=\"emitted\">-</span></div>"
	"\n"
	"<div class=\"tile\"><small>kafka delivered</small><span id=\"delivered\">-</span></div"
	">\n"
	"<div class=\"tile\" id=\"t_failed\"><small>kafka failed</small><span id=\"failed\">-</"
	"span></div>\n"
	"<div class=\"tile\"><small>kafka queue</small><span id=\"outq\">-</span></div>\n"
	"<div class=\"tile\"><small>p99 rx&rarr;agg</small><span id=\"p99agg\">-</span></div>\n"
	"<div class=\"tile\"><small>p99 close&rarr;ack</small><span id=\"p99ack\">-</span></div"
	">\n"
	"</div>\n"
	"<div class=\"charts\" id=\"charts\"></div>\n"
	"<div class=\"tables\"><table id=\"lcores\"></table><table id=\"drops\"></table>\n"
	"<table id=\"rejects\"></table></div>\n"
	"</main>\n"
	"<script>\n"
	"\"use strict\";\n"
	"var SPAN = 300000, COLORS = [\"#1f77b4\", \"#d62728\", \"#2ca02c\", \"#ff7f0e\", \"#94"
	"67bd\",\n"
	"\t\"#8c564b\", \"#e377c2\", \"#17becf\", \"#7f7f7f\", \"#bcbd22\", \"#393b79\", \"#637"
	"939\"];\n"
	"function $(id) { return document.getElementById(id); }\n"
	"function si(v, d) {\n"
	"\tif (v === null || v === undefined || !isFinite(v)) return \"-\";\n"
	"\tvar a = Math.abs(v), u = [\"\", \"k\", \"M\", \"G\", \"T\"], i = 0;\n"
	"\twhile (a >= 1000 && i < 4) { a /= 1000; v /= 1000; i++; }\n"
	"\treturn (i === 0 && v === Math.round(v) ? v.toString() : v.toFixed(d === undefined ? "
	"2 : d))\n"
	"\t\t+ u[i];\n"
	"}\n"
	"function int(v) { return v === undefined ? \"-\" : Math.round(v).toLocaleString(\"en-U"
	"S\"); }\n"
	"function ns(v) {\n"
	"\tif (!v) return \"0\";\n"
	"\tif (v < 1e3) return v + \" ns\";\n"
	"\tif (v < 1e6) return (v / 1e3).toFixed(1) + \" \\u00b5s\";\n"
	"\tif (v < 1e9) return (v / 1e6).toFixed(1) + \" ms\";\n"
	"\treturn (v / 1e9).toFixed(2) + \" s\";\n"
	"}\n"
	"function dur(s) {\n"
	"\ts = Math.floor(s);\n"
	"\tvar h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;\n"
	"\treturn (h ? h + \"h \" : \"\") + (h || m ? m + \"m \" : \"\") + (s % 60) + \"s\";\n"
	"}\n"
	"function rate(h, a) {\n"
	"\tvar out = [null], i;\n"
	"\tfor (i = 1; i < a.length; i++) {\n"
	"\t\tvar dt = (h.t[i] - h.t[i - 1]) / 1000;\n"
	"\t\tout.push(dt > 0 && a[i] >= a[i - 1] ? (a[i] - a[i - 1]) / dt : null);\n"
	"\t}\n"
	"\treturn out;\n"
	"}\n"
	"function scale(a) { return function (v) { return v === null ? null : v * a; }; }\n"
	"var CHARTS = [\n"
	"\t{ title: \"packets & records /s\", fmt: si, series: function (d) {\n"
	"\t\tvar h = d.history;\n"
	"\t\treturn [{ n: \"packets/s\", v: h.pps }, { n: \"records/s\", v: h.rps }];\n"
	"\t} },\n"
	"\t{ title: \"records/s by lcore\", fmt: si, series: function (d) {\n"
	"\t\treturn d.history.lcores.map(function (l) { return { n: l.role, v: l.rps }; });\n"
	"\t} },\n"
	"\t{ title: \"busy % by lcore\", fmt: si, max: 100, series: function (d) {\n"
	"\t\treturn d.history.lcores.map(function (l) { return { n: l.role, v: l.busy_pct }; })"
	";\n"
	"\t} },\n"
	"\t{ title: \"input ring fill % by lcore\", fmt: si, floor: 1, series: function (d) {\n"
	"\t\treturn d.history.lcores.map(function (l) { return { n: l.role, v: l.ring_fill_pct "
	"}; });\n"
	"\t} },\n"
	"\t{ title: \"record outcomes /s\", fmt: si, series: function (d) {\n"
	"\t\tvar h = d.history;\n"
	"\t\treturn [{ n: \"accepted\", v: rate(h, h.accepted) }, { n: \"late\", v: rate(h, h.l"
	"ate) },\n"
	"\t\t\t{ n: \"rejected\", v: rate(h, h.rejected) }, { n: \"dropped\", v: rate(h, h.drop"
	"ped) }];\n"
	"\t} },\n"
	"\t{ title: \"rejected /s by reason\", fmt: si, series: function (d) {\n"
	"\t\tvar r = d.history.rejected_by_reason, s = [];\n"
	"\t\tObject.keys(r).forEach(function (k) {\n"
	"\t\t\tvar a = r[k];\n"
	"\t\t\tif (a.length && a[a.length - 1] > 0) s.push({ n: k, v: rate(d.history, a) });\n"
	"\t\t});\n"
	"\t\treturn s;\n"
	"\t} },\n"
	"\t{ title: \"kafka deliveries /s\", fmt: si, series: function (d) {\n"
	"\t\tvar h = d.history;\n"
	"\t\treturn [{ n: \"delivered\", v: rate(h, h.delivered) }, { n: \"failed\", v: rate(h,"
	" h.failed) }];\n"
	"\t} },\n"
	"\t{ title: \"kafka queue (messages)\", fmt: si, series: function (d) {\n"
	"\t\treturn [{ n: \"queued\", v: d.history.outq }];\n"
	"\t} },\n"
	"\t{ title: \"p99 latency rx\\u2192aggregated (\\u00b5s)\", fmt: si, series: function ("
	"d) {\n"
	"\t\treturn [{ n: \"p99\", v: d.history.p99_rx_to_agg_ns.map(scale(1e-3)) }];\n"
	"\t} },\n"
	"\t{ title: \"p99 latency close\\u2192kafka ack (ms)\", fmt: si, series: function (d) {"
	"\n"
	"\t\treturn [{ n: \"p99\", v: d.history.p99_close_to_ack_ns.map(scale(1e-6)) }];\n"
	"\t} }\n"
	"];\n"
	"var SVGNS = \"http://www.w3.org/2000/svg\";\n"
	"function setup() {\n"
	"\tvar box = $(\"charts\");\n"
	"\tCHARTS.forEach(function (c, i) {\n"
	"\t\tvar div = document.createElement(\"div\");\n"
	"\t\tdiv.className = \"chart\";\n"
	"\t\tdiv.innerHTML = \"<h3><span></span><em id=\\\"cmax\" + i + \"\\\"></em></h3>\" +\n"
	"\t\t\t\"<svg viewBox=\\\"0 0 300 100\\\" preserveAspectRatio=\\\"none\\\"></svg>\" +\n"
	"\t\t\t\"<div class=\\\"legend\\\"></div>\";\n"
	"\t\tdiv.querySelector(\"h3 span\").textContent = c.title;\n"
	"\t\tbox.appendChild(div);\n"
	"\t\tc.svg = div.querySelector(\"svg\");\n"
	"\t\tc.legend = div.querySelector(\".legend\");\n"
	"\t\tc.maxel = div.querySelector(\"em\");\n"
	"\t});\n"
	"}\n"
	"function draw(c, d) {\n"
	"\tvar ser = c.series(d), t = d.history.t, now = d.now_ms, max = 0;\n"
	"\t/* the charts span what history there is: at least 1 min, at most 5 */\n"
	"\tvar span = Math.min(SPAN, Math.max(60000, t.length ? now - t[0] : 0));\n"
	"\tser.forEach(function (s) { s.v.forEach(function (v) { if (v !== null && v > max) max"
	" = v; }); });\n"
	"\tif (c.max) max = c.max;\n"
	"\tif (c.floor && max < c.floor) max = c.floor;\n"
	"\tif (max <= 0) max = 1;\n"
	"\twhile (c.svg.firstChild) c.svg.removeChild(c.svg.firstChild);\n"
	"\t[25, 50, 75].forEach(function (y) {\n"
	"\t\tvar g = document.createElementNS(SVGNS, \"line\");\n"
	"\t\tg.setAttribute(\"x1\", 0); g.setAttribute(\"x2\", 300);\n"
	"\t\tg.setAttribute(\"y1\", y); g.setAttribute(\"y2\", y);\n"
	"\t\tg.setAttribute(\"stroke\", \"#e1e4e8\"); g.setAttribute(\"vector-effect\", \"non-s"
	"caling-stroke\");\n"
	"\t\tc.svg.appendChild(g);\n"
	"\t});\n"
	"\tvar leg = \"\";\n"
	"\tser.forEach(function (s, k) {\n"
	"\t\tvar col = COLORS[k % COLORS.length], pts = [], segs = [];\n"
	"\t\ts.v.forEach(function (v, i) {\n"
	"\t\t\tif (v === null) { if (pts.length) segs.push(pts); pts = []; return; }\n"
	"\t\t\tvar x = 300 - (now - t[i]) / span * 300, y = 100 - Math.min(v / max, 1) * 97;\n"
	"\t\t\tpts.push(x.toFixed(2) + \",\" + y.toFixed(2));\n"
	"\t\t});\n"
	"\t\tif (pts.length) segs.push(pts);\n"
	"\t\tsegs.forEach(function (p) {\n"
	"\t\t\tvar pl = document.createElementNS(SVGNS, \"polyline\");\n"
	"\t\t\tpl.setAttribute(\"points\", p.join(\" \"));\n"
	"\t\t\tpl.setAttribute(\"fill\", \"none\"); pl.setAttribute(\"stroke\", col);\n"
	"\t\t\tpl.setAttribute(\"stroke-width\", \"1.6\");\n"
	"\t\t\tpl.setAttribute(\"vector-effect\", \"non-scaling-stroke\");\n"
	"\t\t\tc.svg.appendChild(pl);\n"
	"\t\t});\n"
	"\t\tvar last = s.v.length ? s.v[s.v.length - 1] : null;\n"
	"\t\tleg += \"<span><i style=\\\"background:\" + col + \"\\\"></i>\" + esc(s.n) + \" \""
	" +\n"
	"\t\t\tc.fmt(last) + \"</span>\";\n"
	"\t});\n"
	"\tc.legend.innerHTML = leg || \"<span>none</span>\";\n"
	"\tc.maxel.textContent = \"max \" + c.fmt(max) + \" \\u00b7 last \" + Math.round(span /"
	" 1000) + \" s\";\n"
	"}\n"
	"function esc(s) {\n"
	"\treturn String(s).replace(/[&<>\"]/g, function (ch) {\n"
	"\t\treturn { \"&\": \"&amp;\", \"<\": \"&lt;\", \">\": \"&gt;\", \"\\\"\": \"&quot;\" "
	"}[ch];\n"
	"\t});\n"
	"}\n"
	"function table(id, caption, head, rows) {\n"
	"\tvar h = \"<caption>\" + caption + \"</caption><tr>\" + head.map(function (x) {\n"
	"\t\treturn \"<th>\" + x + \"</th>\";\n"
	"\t}).join(\"\") + \"</tr>\";\n"
	"\trows.forEach(function (r) {\n"
	"\t\th += \"<tr>\" + r.map(function (x, i) {\n"
	"\t\t\tvar nz = i > 0 && typeof x === \"number\" && x > 0 && r.alert;\n"
	"\t\t\treturn \"<td\" + (nz ? \" class=\\\"nz\\\"\" : \"\") + \">\" +\n"
	"\t\t\t\tesc(typeof x === \"number\" ? int(x) : x) + \"</td>\";\n"
	"\t\t}).join(\"\") + \"</tr>\";\n"
	"\t});\n"
	"\t$(id).innerHTML = h;\n"
	"}\n"
	"function flag(id, v) { $(id).className = v > 0 ? \"tile alert\" : \"tile\"; }\n"
	"function render(d) {\n"
	"\tvar s = d.sample, r = s.records, k = s.kafka;\n"
	"\t$(\"uptime\").textContent = dur(s.uptime_s);\n"
	"\t$(\"broker\").textContent = d.broker || \"-\";\n"
	"\t$(\"config\").textContent = d.config || \"(defaults)\";\n"
	"\t$(\"wmlag\").textContent = s.watermark_ms < 0 ? \"-\" : dur((s.wall_ms - s.watermark"
	"_ms) / 1000);\n"
	"\t$(\"pps\").textContent = si(s.pkts_per_s, 1);\n"
	"\t$(\"rps\").textContent = si(s.recs_per_s, 1);\n"
	"\t$(\"packets\").textContent = int(s.packets.rx);\n"
	"\t$(\"accepted\").textContent = int(r.accepted);\n"
	"\t$(\"late\").textContent = int(r.late);\n"
	"\t$(\"rejected\").textContent = int(r.rejected);\n"
	"\t$(\"dropped\").textContent = int(r.dropped);\n"
	"\t$(\"devices\").textContent = int(s.devices);\n"
	"\t$(\"emitted\").textContent = int(s.windows.emitted);\n"
	"\t$(\"delivered\").textContent = int(k.delivered);\n"
	"\t$(\"failed\").textContent = int(k.failed);\n"
	"\t$(\"outq\").textContent = int(k.queue);\n"
	"\t$(\"p99agg\").textContent = ns(s.latency_ns.rx_to_agg.p99);\n"
	"\t$(\"p99ack\").textContent = ns(s.latency_ns.close_to_ack.p99);\n"
	"\tflag(\"t_rejected\", r.rejected); flag(\"t_dropped\", r.dropped); flag(\"t_failed\","
	" k.failed);\n"
	"\tCHARTS.forEach(function (c) { draw(c, d); });\n"
	"\ttable(\"lcores\", \"lcores\", [\"role\", \"lcore\", \"packets/s\", \"records/s\", \""
	"busy %\", \"ring in\",\n"
	"\t\t\"ring out\", \"devices\", \"p99 rx\\u2192agg\"], s.lcores.map(function (l) {\n"
	"\t\treturn [l.role, String(l.lcore), si(l.pkts_per_s, 1), si(l.recs_per_s, 1),\n"
	"\t\t\tl.busy_pct.toFixed(1), l.ring_used + \" / \" + l.ring_size,\n"
	"\t\t\tl.out_used + \" / \" + l.out_size, l.devices, ns(l.p99_rx_to_agg_ns)];\n"
	"\t}));\n"
	"\tfunction reasons(o) {\n"
	"\t\treturn Object.keys(o).map(function (n) { var x = [n, o[n]]; x.alert = true; return"
	" x; });\n"
	"\t}\n"
	"\ttable(\"drops\", \"dropped by reason\", [\"reason\", \"records\"], reasons(r.dropped"
	"_by_reason));\n"
	"\ttable(\"rejects\", \"rejected by reason\", [\"reason\", \"records\"], reasons(r.reje"
	"cted_by_reason));\n"
	"}\n"
	"function conn(ok, why) {\n"
	"\tvar c = $(\"conn\");\n"
	"\tc.className = ok ? \"ok\" : \"bad\";\n"
	"\tc.textContent = ok ? \"live\" : \"disconnected\" + (why ? \" (\" + why + \")\" : \""
	"\");\n"
	"}\n"
	"function tick() {\n"
	"\tfetch(\"stats.json\", { cache: \"no-store\" }).then(function (res) {\n"
	"\t\tif (!res.ok) throw new Error(\"HTTP \" + res.status);\n"
	"\t\treturn res.json();\n"
	"\t}).then(function (d) { render(d); conn(true); }, function (e) {\n"
	"\t\tconn(false, e.message);\n"
	"\t}).then(function () { setTimeout(tick, 1000); });\n"
	"}\n"
	"setup();\n"
	"tick();\n"
	"</script>\n"
	"</body></html>\n";

/* ---- output buffer ---- */

static int
buf_reserve(struct ctl_http_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	if (b->len + more + 1 > CTL_HTTP_OUT_MAX) {
		b->failed = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap > CTL_HTTP_OUT_MAX)
		cap = CTL_HTTP_OUT_MAX;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
ctl_http_buf_printf(struct ctl_http_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 64) < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n) < 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static void
buf_putc(struct ctl_http_buf *b, char c)
{
	if (buf_reserve(b, 1) < 0)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
ctl_http_buf_free(struct ctl_http_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Prometheus escapes: label values \ " \n, HELP text \ \n (text format 0.0.4). */
static void
buf_prom_escaped(struct ctl_http_buf *b, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			ctl_http_buf_printf(b, "\\\\");
		else if (*s == '\n')
			ctl_http_buf_printf(b, "\\n");
		else if (*s == '"' && quote)
			ctl_http_buf_printf(b, "\\\"");
		else
			buf_putc(b, *s);
	}
}

void
ctl_http_buf_label(struct ctl_http_buf *b, const char *s)
{
	buf_prom_escaped(b, s, true);
}

void
ctl_http_buf_help(struct ctl_http_buf *b, const char *s)
{
	buf_prom_escaped(b, s, false);
}

void
ctl_http_buf_json_str(struct ctl_http_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	buf_putc(b, '"');
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			ctl_http_buf_printf(b, "\\%c", *u);
		else if (*u < 0x20 || *u == 0x7f)
			ctl_http_buf_printf(b, "\\u%04x", *u);
		else
			buf_putc(b, (char)*u);
	}
	buf_putc(b, '"');
}

void
ctl_http_buf_json_num(struct ctl_http_buf *b, double v)
{
	if (isfinite(v))
		ctl_http_buf_printf(b, "%.10g", v);
	else
		ctl_http_buf_printf(b, "null");
}

/* ---- request parsing ---- */

static bool
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Length of the head including its terminating empty line, or 0 if incomplete. */
static size_t
head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Next line of [*p, end): sets *p past its LF; the line excludes CR LF. */
static size_t
next_line(const char **p, const char *end, const char **line)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	if (nl == NULL)
		nl = end;
	*line = *p;
	n = (size_t)(nl - *p);
	if (n > 0 && (*p)[n - 1] == '\r')
		n--;
	*p = nl < end ? nl + 1 : end;
	return n;
}

static enum ctl_http_route
route_of(const char *path, size_t n)
{
	static const struct {
		const char *path;
		enum ctl_http_route route;
	} routes[] = {
		{ "/", CTL_HTTP_ROUTE_PAGE },
		{ "/index.html", CTL_HTTP_ROUTE_PAGE },
		{ "/metrics", CTL_HTTP_ROUTE_METRICS },
		{ "/stats.json", CTL_HTTP_ROUTE_STATS },
	};
	unsigned int i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == n && memcmp(routes[i].path, path, n) == 0)
			return routes[i].route;
	return CTL_HTTP_ROUTE_NONE;
}

int
ctl_http_parse(const char *buf, size_t len, struct ctl_http_req *req)
{
	const char *p = buf, *end, *line, *method, *sp1, *sp2, *target, *q;
	size_t hl = head_end(buf, len), n, mlen, tlen, vlen;
	bool host = false, http11;

	memset(req, 0, sizeof(*req));
	if (hl == 0) {
		if (len < CTL_HTTP_REQ_MAX)
			return 1;
		req->status = 431;
		return 0;
	}
	end = buf + hl;
	req->status = 400;
	if (memchr(buf, '\0', hl) != NULL)
		return 0;
	/* RFC 9112 2.2: ignore at least one empty line before the request line */
	n = next_line(&p, end, &line);
	if (n == 0)
		n = next_line(&p, end, &line);
	method = line;
	sp1 = memchr(line, ' ', n);
	if (sp1 == NULL)
		return 0;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
	if (sp2 == NULL)
		return 0;
	mlen = (size_t)(sp1 - line);
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	vlen = n - (size_t)(sp2 + 1 - line);
	if (mlen == 0 || tlen == 0)
		return 0;
	for (q = line; q < sp1; q++)
		if (!is_tchar(*q))
			return 0;
	for (q = target; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return 0;
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 || sp2[7] != '.' ||
	    sp2[6] < '0' || sp2[6] > '9' || sp2[8] < '0' || sp2[8] > '9')
		return 0;
	if (sp2[6] != '1') {
		req->status = 505;
		return 0;
	}
	http11 = sp2[8] != '0';
	/* header fields: name ":" value; obsolete line folding is refused (RFC 9112 5.2) */
	while (p < end) {
		const char *colon;

		n = next_line(&p, end, &line);
		if (n == 0)
			break;
		colon = memchr(line, ':', n);
		if (colon == NULL || colon == line)
			return 0;
		for (q = line; q < colon; q++)
			if (!is_tchar(*q))
				return 0;
		if (colon - line == 4 && strncasecmp(line, "host", 4) == 0)
			host = true;
	}
	if (http11 && !host)		/* RFC 9112 3.2: MUST answer 400 */
		return 0;
	if (mlen == 3 && memcmp(method, "GET", 3) == 0) {
		req->head = 0;
	} else if (mlen == 4 && memcmp(method, "HEAD", 4) == 0) {
		req->head = 1;
	} else {
		req->status = 405;
		return 0;
	}
	/* absolute-form (RFC 9112 3.2.2): keep the path */
	if (tlen > 7 && strncasecmp(target, "http://", 7) == 0) {
		const char *slash = memchr(target + 7, '/', tlen - 7);

		if (slash == NULL) {
			target = "/";
			tlen = 1;
		} else {
			tlen -= (size_t)(slash - target);
			target = slash;
		}
	}
	if (target[0] != '/')
		return 0;	/* still 400: neither origin- nor absolute-form */
	q = target;
	while (q < target + tlen && *q != '?' && *q != '#')
		q++;
	req->route = route_of(target, (size_t)(q - target));
	req->status = req->route == CTL_HTTP_ROUTE_NONE ? 404 : 0;
	return 0;
}

/* ---- /metrics ---- */

static void
family(struct ctl_http_buf *b, const char *name, const char *type, const char *help)
{
	ctl_http_buf_printf(b, "# HELP %s ", name);
	ctl_http_buf_help(b, help);
	ctl_http_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* name{k1="v1",...} followed by a space; the pairs end with NULL. */
static void
sample_name(struct ctl_http_buf *b, const char *name, ...)
{
	const char *k;
	va_list ap;
	int n = 0;

	ctl_http_buf_printf(b, "%s", name);
	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		ctl_http_buf_printf(b, "%s%s=\"", n++ ? "," : "{", k);
		ctl_http_buf_label(b, va_arg(ap, const char *));
		buf_putc(b, '"');
	}
	va_end(ap);
	ctl_http_buf_printf(b, n ? "} " : " ");
}

static void
value_u64(struct ctl_http_buf *b, uint64_t v)
{
	ctl_http_buf_printf(b, "%" PRIu64 "\n", v);
}

static void
value_f(struct ctl_http_buf *b, double v)
{
	if (isnan(v))
		ctl_http_buf_printf(b, "NaN\n");
	else if (isinf(v))
		ctl_http_buf_printf(b, "%cInf\n", v > 0 ? '+' : '-');
	else
		ctl_http_buf_printf(b, "%.12g\n", v);
}

/* Counters exposed through a labelled family rather than per lcore. */
static const struct {
	enum wr_counter c;
	const char *family;
	const char *label;
	const char *value;
} grouped[] = {
	{ WR_CTR_PKT_RX, "weir_packets_total", "outcome", "rx" },
	{ WR_CTR_PKT_IGNORED, "weir_packets_total", "outcome", "ignored" },
	{ WR_CTR_PKT_MALFORMED, "weir_packets_total", "outcome", "malformed" },
	{ WR_CTR_DATAGRAMS, "weir_datagrams_total", NULL, NULL },
	{ WR_CTR_DROP_RING_FULL, "weir_records_dropped_total", "reason", "ring_full" },
	{ WR_CTR_DROP_DEVICES_FULL, "weir_records_dropped_total", "reason", "devices_full" },
	{ WR_CTR_DROP_REFUSED, "weir_records_dropped_total", "reason", "refused" },
	{ WR_CTR_DROP_SKEW, "weir_records_dropped_total", "reason", "queue_skew" },
};

static bool
is_grouped(enum wr_counter c)
{
	unsigned int i;

	for (i = 0; i < sizeof(grouped) / sizeof(grouped[0]); i++)
		if (grouped[i].c == c)
			return true;
	return c == WR_CTR_REC_LATE;	/* weir_records_total{outcome="late"} */
}

/* One family out of the grouped[] rows named fam; HELP joins their X-macro help. */
static void
grouped_family(struct ctl_http_buf *b, const char *fam, const char *what,
	       const struct wr_counters *sum)
{
	char help[1024];
	const char *v;
	size_t off;
	unsigned int i;

	off = (size_t)snprintf(help, sizeof(help), "%s", what);
	for (i = 0; i < sizeof(grouped) / sizeof(grouped[0]); i++) {
		if (strcmp(grouped[i].family, fam) != 0 || off >= sizeof(help))
			continue;
		v = grouped[i].value;
		off += (size_t)snprintf(help + off, sizeof(help) - off, "%s%s%s; ", v ? v : "",
					v ? " = " : "", wr_counter_help(grouped[i].c));
	}
	if (off >= 2 && off < sizeof(help))
		help[off - 2] = '\0';
	family(b, fam, "counter", help);
	for (i = 0; i < sizeof(grouped) / sizeof(grouped[0]); i++) {
		if (strcmp(grouped[i].family, fam) != 0)
			continue;
		if (grouped[i].label != NULL)
			sample_name(b, fam, grouped[i].label, grouped[i].value, NULL);
		else
			sample_name(b, fam, NULL);
		value_u64(b, sum->v[grouped[i].c]);
	}
}

static uint64_t
pct_ns(const struct hdr *h, double p)
{
	uint64_t v = hdr_percentile(h, p);

	/* a percentile is the top of its bucket: never report it above the exact max */
	return v > hdr_max(h) ? hdr_max(h) : v;
}

static void
latency_families(struct ctl_http_buf *b, const char *base, const char *what,
		 const struct hdr *h)
{
	char name[96], help[256];
	unsigned int i;

	snprintf(name, sizeof(name), "%s_seconds", base);
	snprintf(help, sizeof(help), "%s: HDR histogram quantiles since start (a gauge, not "
		 "a summary: weir keeps no exact sum)", what);
	family(b, name, "gauge", help);
	for (i = 0; h != NULL && i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
		char q[16];

		snprintf(q, sizeof(q), "%g", quantiles[i]);
		sample_name(b, name, "quantile", q, NULL);
		value_f(b, (double)pct_ns(h, quantiles[i] * 100.0) / 1e9);
	}
	snprintf(name, sizeof(name), "%s_max_seconds", base);
	snprintf(help, sizeof(help), "%s: largest value since start", what);
	family(b, name, "gauge", help);
	if (h != NULL) {
		sample_name(b, name, NULL);
		value_f(b, (double)hdr_max(h) / 1e9);
	}
	snprintf(name, sizeof(name), "%s_observations_total", base);
	snprintf(help, sizeof(help), "%s: values recorded", what);
	family(b, name, "counter", help);
	if (h != NULL) {
		sample_name(b, name, NULL);
		value_u64(b, hdr_count(h));
	}
}

/*
 * The lcores' rx_to_agg histograms merged into the scratch copy. They are
 * written while we read (one writer each, 64-bit loads): a merge may miss
 * the values recorded meanwhile, never more.
 */
static const struct hdr *
merge_lat(struct ctl_http *h, const struct ctl_stats *s)
{
	unsigned int i;

	if (h == NULL || h->scratch == NULL)
		return NULL;
	hdr_reset(h->scratch);
	for (i = 0; i < s->n_lcores && i < CTL_LCORES_MAX; i++)
		if (s->lc[i].lat != NULL)
			hdr_merge(h->scratch, s->lc[i].lat);
	return h->scratch;
}

/* A per-lcore gauge family; get() returns the value of lcore l. */
static void
lcore_gauge(struct ctl_http_buf *b, const struct ctl_stats *s, const char *name,
	    const char *help, double (*get)(const struct ctl_lcore_stats *l))
{
	unsigned int i;

	family(b, name, "gauge", help);
	for (i = 0; i < s->n_lcores && i < CTL_LCORES_MAX; i++) {
		char id[16];

		snprintf(id, sizeof(id), "%u", s->lc[i].lcore_id);
		sample_name(b, name, "lcore", id, "role", s->lc[i].role, NULL);
		value_f(b, get(&s->lc[i]));
	}
}

static double
get_busy(const struct ctl_lcore_stats *l)
{
	return l->busy_pct / 100.0;
}

static double
get_pps(const struct ctl_lcore_stats *l)
{
	return l->pkts_per_s;
}

static double
get_rps(const struct ctl_lcore_stats *l)
{
	return l->recs_per_s;
}

static double
get_devices(const struct ctl_lcore_stats *l)
{
	return (double)l->devices;
}

static void
ring_family(struct ctl_http_buf *b, const struct ctl_stats *s, const char *name,
	    const char *help, bool capacity)
{
	unsigned int i;

	family(b, name, "gauge", help);
	for (i = 0; i < s->n_lcores && i < CTL_LCORES_MAX; i++) {
		const struct ctl_lcore_stats *l = &s->lc[i];
		char id[16];

		snprintf(id, sizeof(id), "%u", l->lcore_id);
		if (l->ring_size > 0) {
			sample_name(b, name, "lcore", id, "role", l->role, "ring", "input", NULL);
			value_u64(b, capacity ? l->ring_size : l->ring_used);
		}
		if (l->out_size > 0) {
			sample_name(b, name, "lcore", id, "role", l->role, "ring", "output", NULL);
			value_u64(b, capacity ? l->out_size : l->out_used);
		}
	}
}

void
ctl_http_render_metrics(struct ctl_http *h, struct ctl_http_buf *b,
			const struct ctl_pipeline *pl, const struct ctl_stats *s)
{
	const struct wr_counters *sum = &s->sum;
	unsigned int i, c;
	char help[512];

	(void)pl;
	family(b, "weir_uptime_seconds", "gauge", "seconds since weir started");
	sample_name(b, "weir_uptime_seconds", NULL);
	value_f(b, s->uptime_s);

	grouped_family(b, "weir_packets_total", "frames by outcome: ", sum);
	grouped_family(b, "weir_datagrams_total", "", sum);

	snprintf(help, sizeof(help), "records by outcome: accepted = records aggregated (routed "
		 "minus dropped); late = %s; rejected = invalid records (see "
		 "weir_records_rejected_total); dropped = see weir_records_dropped_total",
		 wr_counter_help(WR_CTR_REC_LATE));
	family(b, "weir_records_total", "counter", help);
	sample_name(b, "weir_records_total", "outcome", "accepted", NULL);
	value_u64(b, wr_counters_accepted(sum));
	sample_name(b, "weir_records_total", "outcome", "late", NULL);
	value_u64(b, sum->v[WR_CTR_REC_LATE]);
	sample_name(b, "weir_records_total", "outcome", "rejected", NULL);
	value_u64(b, wr_counters_rejected(sum));
	sample_name(b, "weir_records_total", "outcome", "dropped", NULL);
	value_u64(b, wr_counters_dropped(sum));

	family(b, "weir_records_rejected_total", "counter",
	       "invalid records by reject reason (SPEC section 3)");
	for (i = 0; i < WR_REASON_COUNT; i++) {
		sample_name(b, "weir_records_rejected_total", "reason", wr_reason_name((int)i),
			    NULL);
		value_u64(b, sum->rejected[i]);
	}
	grouped_family(b, "weir_records_dropped_total", "valid records dropped, by reason: ",
		       sum);

	family(b, "weir_windows_emitted_total", "counter",
	       "device windows closed and produced to Kafka (one message each)");
	sample_name(b, "weir_windows_emitted_total", NULL);
	value_u64(b, s->kafka_emitted);
	family(b, "weir_kafka_messages_total", "counter",
	       "Kafka delivery reports by result (delivered = acknowledged by the broker)");
	sample_name(b, "weir_kafka_messages_total", "result", "delivered", NULL);
	value_u64(b, s->kafka_delivered);
	sample_name(b, "weir_kafka_messages_total", "result", "failed", NULL);
	value_u64(b, s->kafka_failed);
	family(b, "weir_kafka_produce_retries_total", "counter",
	       "produce calls retried because the librdkafka queue was full");
	sample_name(b, "weir_kafka_produce_retries_total", NULL);
	value_u64(b, s->kafka_retries);
	family(b, "weir_kafka_queue_messages", "gauge",
	       "messages queued or in flight in librdkafka");
	sample_name(b, "weir_kafka_queue_messages", NULL);
	value_f(b, (double)s->kafka_outq);

	family(b, "weir_watermark_seconds", "gauge",
	       "event-time watermark, seconds since the epoch (absent before the first record)");
	if (s->watermark_ns != INT64_MIN) {
		sample_name(b, "weir_watermark_seconds", NULL);
		value_f(b, (double)s->watermark_ns / 1e9);
	}
	family(b, "weir_watermark_lag_seconds", "gauge",
	       "wall clock minus the watermark (absent before the first record)");
	if (s->watermark_ns != INT64_MIN) {
		sample_name(b, "weir_watermark_lag_seconds", NULL);
		value_f(b, (double)(s->wall_ns - s->watermark_ns) / 1e9);
	}

	lcore_gauge(b, s, "weir_lcore_busy_ratio",
		    "share of polls that returned work over the last sampling interval", get_busy);
	lcore_gauge(b, s, "weir_lcore_packets_per_second",
		    "frames received per second over the last interval (RX lcore)", get_pps);
	lcore_gauge(b, s, "weir_lcore_records_per_second",
		    "records routed (RX) or folded (aggregators) per second over the last interval",
		    get_rps);
	lcore_gauge(b, s, "weir_devices_open", "devices with open windows", get_devices);
	ring_family(b, s, "weir_ring_entries", "entries in the lcore's input/output ring", false);
	ring_family(b, s, "weir_ring_capacity", "capacity of the lcore's input/output ring",
		    true);

	/* every other counter of the X-macro, per lcore, named and explained by it */
	for (c = 0; c < WR_CTR_COUNT; c++) {
		char name[96];

		if (is_grouped((enum wr_counter)c))
			continue;
		snprintf(name, sizeof(name), "weir_%s_total", wr_counter_name((enum wr_counter)c));
		family(b, name, "counter", wr_counter_help((enum wr_counter)c));
		for (i = 0; i < s->n_lcores && i < CTL_LCORES_MAX; i++) {
			char id[16];

			snprintf(id, sizeof(id), "%u", s->lc[i].lcore_id);
			sample_name(b, name, "lcore", id, "role", s->lc[i].role, NULL);
			value_u64(b, s->lc[i].ctr.v[c]);
		}
	}

	latency_families(b, "weir_rx_to_agg_latency", "packet received -> record aggregated",
			 merge_lat(h, s));
	latency_families(b, "weir_close_to_ack_latency", "window closed -> Kafka ack",
			 s->close_to_ack);
}

/* ---- /stats.json ---- */

static void
json_latency(struct ctl_http_buf *b, const char *name, const struct hdr *h)
{
	unsigned int i;

	ctl_http_buf_printf(b, "\"%s\":{\"count\":%" PRIu64, name, h ? hdr_count(h) : 0);
	for (i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
		char key[16], *d;

		/* 0.5 -> p50, 0.999 -> p999 */
		snprintf(key, sizeof(key), "%g", quantiles[i] * 100.0);
		d = strchr(key, '.');
		if (d != NULL)
			memmove(d, d + 1, strlen(d));
		ctl_http_buf_printf(b, ",\"p%s\":%" PRIu64, key,
				    h ? pct_ns(h, quantiles[i] * 100.0) : 0);
	}
	ctl_http_buf_printf(b, ",\"max\":%" PRIu64 "}", h ? hdr_max(h) : 0);
}

static void
json_sample(struct ctl_http_buf *b, const struct ctl_stats *s, const struct hdr *merged)
{
	const struct wr_counters *c = &s->sum;
	unsigned int i, k;

	ctl_http_buf_printf(b, "{\"uptime_s\":");
	ctl_http_buf_json_num(b, s->uptime_s);
	ctl_http_buf_printf(b, ",\"interval_s\":");
	ctl_http_buf_json_num(b, s->interval_s);
	ctl_http_buf_printf(b, ",\"wall_ms\":%" PRId64 ",\"pkts_per_s\":", s->wall_ns / 1000000);
	ctl_http_buf_json_num(b, s->pkts_per_s);
	ctl_http_buf_printf(b, ",\"recs_per_s\":");
	ctl_http_buf_json_num(b, s->recs_per_s);
	ctl_http_buf_printf(b, ",\"packets\":{\"rx\":%" PRIu64 ",\"ignored\":%" PRIu64
			    ",\"malformed\":%" PRIu64 "},\"datagrams\":%" PRIu64,
			    c->v[WR_CTR_PKT_RX], c->v[WR_CTR_PKT_IGNORED],
			    c->v[WR_CTR_PKT_MALFORMED], c->v[WR_CTR_DATAGRAMS]);
	ctl_http_buf_printf(b, ",\"records\":{\"accepted\":%" PRIu64 ",\"late\":%" PRIu64
			    ",\"rejected\":%" PRIu64 ",\"dropped\":%" PRIu64
			    ",\"rejected_by_reason\":{", wr_counters_accepted(c),
			    c->v[WR_CTR_REC_LATE], wr_counters_rejected(c), wr_counters_dropped(c));
	for (i = 0; i < WR_REASON_COUNT; i++)
		ctl_http_buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", wr_reason_name((int)i),
				    c->rejected[i]);
	ctl_http_buf_printf(b, "},\"dropped_by_reason\":{");
	for (i = 0, k = 0; i < sizeof(grouped) / sizeof(grouped[0]); i++)
		if (strcmp(grouped[i].family, "weir_records_dropped_total") == 0)
			ctl_http_buf_printf(b, "%s\"%s\":%" PRIu64, k++ ? "," : "",
					    grouped[i].value, c->v[grouped[i].c]);
	ctl_http_buf_printf(b, "}},\"windows\":{\"emitted\":%" PRIu64 "}", s->kafka_emitted);
	ctl_http_buf_printf(b, ",\"kafka\":{\"emitted\":%" PRIu64 ",\"delivered\":%" PRIu64
			    ",\"failed\":%" PRIu64 ",\"produce_retries\":%" PRIu64
			    ",\"queue\":%d}", s->kafka_emitted, s->kafka_delivered,
			    s->kafka_failed, s->kafka_retries, s->kafka_outq);
	ctl_http_buf_printf(b, ",\"devices\":%" PRIu32 ",\"watermark_ms\":%" PRId64,
			    s->devices, s->watermark_ns == INT64_MIN ? (int64_t)-1 :
			    s->watermark_ns / 1000000);
	ctl_http_buf_printf(b, ",\"latency_ns\":{");
	json_latency(b, "rx_to_agg", merged);
	buf_putc(b, ',');
	json_latency(b, "close_to_ack", s->close_to_ack);
	ctl_http_buf_printf(b, "},\"lcores\":[");
	for (i = 0; i < s->n_lcores && i < CTL_LCORES_MAX; i++) {
		const struct ctl_lcore_stats *l = &s->lc[i];

		ctl_http_buf_printf(b, "%s{\"role\":", i ? "," : "");
		ctl_http_buf_json_str(b, l->role);
		ctl_http_buf_printf(b, ",\"lcore\":%u,\"pkts_per_s\":", l->lcore_id);
		ctl_http_buf_json_num(b, l->pkts_per_s);
		ctl_http_buf_printf(b, ",\"recs_per_s\":");
		ctl_http_buf_json_num(b, l->recs_per_s);
		ctl_http_buf_printf(b, ",\"busy_pct\":");
		ctl_http_buf_json_num(b, l->busy_pct);
		ctl_http_buf_printf(b, ",\"ring_used\":%u,\"ring_size\":%u,\"out_used\":%u,"
				    "\"out_size\":%u,\"devices\":%" PRIu32
				    ",\"p99_rx_to_agg_ns\":%" PRIu64 ",\"counters\":{",
				    l->ring_used, l->ring_size, l->out_used, l->out_size,
				    l->devices, l->lat ? pct_ns(l->lat, 99.0) : 0);
		for (k = 0; k < WR_CTR_COUNT; k++)
			ctl_http_buf_printf(b, "%s\"%s\":%" PRIu64, k ? "," : "",
					    wr_counter_name((enum wr_counter)k), l->ctr.v[k]);
		ctl_http_buf_printf(b, "}}");
	}
	ctl_http_buf_printf(b, "]}");
}

enum col {
	COL_T, COL_PPS, COL_RPS, COL_ACCEPTED, COL_LATE, COL_REJECTED, COL_DROPPED,
	COL_DELIVERED, COL_FAILED, COL_OUTQ, COL_P99_AGG, COL_P99_ACK,
	COL_REJECTED_BY,	/* idx = reason */
	COL_BUSY, COL_RING, COL_LC_PPS, COL_LC_RPS,	/* idx = lcore slot */
};

/* The value of column col at point p; false when p has none (null). */
static bool
col_value(const struct ctl_point *p, enum col col, unsigned int idx, double *v)
{
	bool lc = idx < p->n_lcores && idx < CTL_LCORES_MAX;

	switch (col) {
	case COL_T:
		*v = (double)p->wall_ms;
		return true;
	case COL_PPS:
		*v = p->pkts_per_s;
		return true;
	case COL_RPS:
		*v = p->recs_per_s;
		return true;
	case COL_ACCEPTED:
		*v = (double)p->accepted;
		return true;
	case COL_LATE:
		*v = (double)p->late;
		return true;
	case COL_REJECTED:
		*v = (double)p->rejected;
		return true;
	case COL_DROPPED:
		*v = (double)p->dropped;
		return true;
	case COL_DELIVERED:
		*v = (double)p->kafka_delivered;
		return true;
	case COL_FAILED:
		*v = (double)p->kafka_failed;
		return true;
	case COL_OUTQ:
		*v = (double)p->kafka_outq;
		return true;
	case COL_P99_AGG:
		*v = (double)p->p99_rx_to_agg_ns;
		return true;
	case COL_P99_ACK:
		*v = (double)p->p99_close_to_ack_ns;
		return true;
	case COL_REJECTED_BY:
		if (idx >= WR_REASON_COUNT)
			return false;
		*v = (double)p->rejected_by_reason[idx];
		return true;
	case COL_BUSY:
		*v = lc ? p->busy_pct[idx] : 0;
		return lc;
	case COL_RING:
		*v = lc ? p->ring_fill_pct[idx] : 0;
		return lc;
	case COL_LC_PPS:
		*v = lc ? p->lcore_pkts_per_s[idx] : 0;
		return lc;
	case COL_LC_RPS:
		*v = lc ? p->lcore_recs_per_s[idx] : 0;
		return lc;
	}
	return false;
}

/* "name":[v, v, ...] over the history, oldest first. */
static void
column(struct ctl_http_buf *b, const struct ctl_history *hist, const char *name, enum col col,
       unsigned int idx)
{
	unsigned int n = hist ? hist->n : 0, i, start;

	if (n > CTL_HISTORY)
		n = CTL_HISTORY;
	start = hist ? (hist->head % CTL_HISTORY + CTL_HISTORY - n) % CTL_HISTORY : 0;
	ctl_http_buf_printf(b, "\"%s\":[", name);
	for (i = 0; i < n; i++) {
		double v;

		if (i)
			buf_putc(b, ',');
		if (!col_value(&hist->p[(start + i) % CTL_HISTORY], col, idx, &v))
			ctl_http_buf_printf(b, "null");
		else if (v == floor(v) && fabs(v) < 9007199254740992.0)
			ctl_http_buf_printf(b, "%.0f", v);
		else
			ctl_http_buf_json_num(b, v);
	}
	buf_putc(b, ']');
}

void
ctl_http_render_stats(struct ctl_http *h, struct ctl_http_buf *b, const struct ctl_pipeline *pl,
		      const struct ctl_stats *s, const struct ctl_history *hist)
{
	static const struct {
		const char *name;
		enum col col;
	} cols[] = {
		{ "pps", COL_PPS }, { "rps", COL_RPS }, { "accepted", COL_ACCEPTED },
		{ "late", COL_LATE }, { "rejected", COL_REJECTED }, { "dropped", COL_DROPPED },
		{ "delivered", COL_DELIVERED }, { "failed", COL_FAILED }, { "outq", COL_OUTQ },
		{ "p99_rx_to_agg_ns", COL_P99_AGG }, { "p99_close_to_ack_ns", COL_P99_ACK },
	};
	static const struct {
		const char *name;
		enum col col;
	} lcols[] = {
		{ "busy_pct", COL_BUSY }, { "ring_fill_pct", COL_RING }, { "pps", COL_LC_PPS },
		{ "rps", COL_LC_RPS },
	};
	const struct hdr *merged = merge_lat(h, s);
	const struct ctl_point *newest = NULL;
	unsigned int i, k, n_lc = 0;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ctl_http_buf_printf(b, "{\"now_ms\":%" PRId64 ",\"broker\":",
			    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	ctl_http_buf_json_str(b, pl != NULL ? pl->bootstrap : "");
	ctl_http_buf_printf(b, ",\"config\":");
	if (pl != NULL && pl->config_file != NULL)
		ctl_http_buf_json_str(b, pl->config_file);
	else
		ctl_http_buf_printf(b, "null");
	ctl_http_buf_printf(b, ",\"sample\":");
	json_sample(b, s, merged);

	if (hist != NULL && hist->n > 0) {
		newest = &hist->p[(hist->head % CTL_HISTORY + CTL_HISTORY - 1) % CTL_HISTORY];
		n_lc = newest->n_lcores < CTL_LCORES_MAX ? newest->n_lcores : CTL_LCORES_MAX;
	}
	ctl_http_buf_printf(b, ",\"history\":{");
	column(b, hist, "t", COL_T, 0);
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		buf_putc(b, ',');
		column(b, hist, cols[i].name, cols[i].col, 0);
	}
	ctl_http_buf_printf(b, ",\"rejected_by_reason\":{");
	for (i = 0; i < WR_REASON_COUNT; i++) {
		if (i)
			buf_putc(b, ',');
		column(b, hist, wr_reason_name((int)i), COL_REJECTED_BY, i);
	}
	ctl_http_buf_printf(b, "},\"lcores\":[");
	for (i = 0; i < n_lc; i++) {
		char role[sizeof(newest->role[0]) + 1];

		memcpy(role, newest->role[i], sizeof(newest->role[i]));
		role[sizeof(role) - 1] = '\0';
		ctl_http_buf_printf(b, "%s{\"role\":", i ? "," : "");
		ctl_http_buf_json_str(b, role);
		for (k = 0; k < sizeof(lcols) / sizeof(lcols[0]); k++) {
			buf_putc(b, ',');
			column(b, hist, lcols[k].name, lcols[k].col, i);
		}
		buf_putc(b, '}');
	}
	ctl_http_buf_printf(b, "]}}\n");
}

/* ---- the listener ---- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "host:port", "[v6]:port" or ":port" (every interface) -> host, port. */
static int
split_listen(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr, *he;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= portlen)
		return -1;
	he = colon;
	if (h[0] == '[') {
		if (he - h < 2 || he[-1] != ']')
			return -1;
		h++;
		he--;
	}
	if ((size_t)(he - h) >= hostlen)
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	strcpy(port, colon + 1);
	for (h = port; *h != '\0'; h++)
		if (*h < '0' || *h > '9')
			return -1;
	return strtoul(port, NULL, 10) <= 65535 ? 0 : -1;
}

struct ctl_http *
ctl_http_open(const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	char host[256], port[8];
	struct ctl_http *h;
	int rc, fd = -1, e = 0, one = 1;

	if (errlen > 0)
		err[0] = '\0';
	if (addr == NULL || addr[0] == '\0')
		return NULL;
	if (split_listen(addr, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "metrics_listen '%s': expected host:port", addr);
		return NULL;
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "metrics_listen '%s': %s", addr, gai_strerror(rc));
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "metrics_listen '%s': %s", addr, strerror(e));
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		close(fd);
		snprintf(err, errlen, "metrics_listen: out of memory");
		return NULL;
	}
	h->fd = fd;
	h->scratch = hdr_create(LAT_HIGHEST_NS, 3);
	if (h->scratch == NULL) {
		ctl_http_close(h);
		snprintf(err, errlen, "metrics_listen: out of memory");
		return NULL;
	}
	return h;
}

int
ctl_http_fd(const struct ctl_http *h)
{
	return h != NULL ? h->fd : -1;
}

void
ctl_http_close(struct ctl_http *h)
{
	if (h == NULL)
		return;
	if (h->fd >= 0)
		close(h->fd);
	hdr_destroy(h->scratch);
	ctl_http_buf_free(&h->body);
	free(h);
}

static void
set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = IO_TIMEOUT_MS * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Read the request head; @return 0 with req filled, -1 when there is nothing to answer. */
static int
read_request(struct ctl_http *h, int fd, struct ctl_http_req *req)
{
	int64_t deadline = now_ms() + READ_BUDGET_MS;
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, h->req + len, sizeof(h->req) - len, 0);

		if (n > 0) {
			len += (size_t)n;
			if (ctl_http_parse(h->req, len, req) == 0)
				return 0;
			if (now_ms() < deadline)
				continue;
		} else if (n == 0) {
			if (len == 0)
				return -1;	/* connected and closed: nothing to say */
			memset(req, 0, sizeof(*req));
			req->status = 400;	/* cut request */
			return 0;
		} else if (errno == EINTR && now_ms() < deadline) {
			continue;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return -1;
		} else if (now_ms() < deadline) {
			continue;
		}
		memset(req, 0, sizeof(*req));
		req->status = 408;
		return 0;
	}
}

static int
send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (now_ms() >= deadline)
			return -1;
	}
	return 0;
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/*
 * Counters and gauges as of now (a scrape agrees with `weirctl stats`, which
 * reads them fresh too), rates from the last full sampling interval. The
 * sampler's rate baseline in pl is put back untouched.
 */
static const struct ctl_stats *
fresh(struct ctl_http *h, struct ctl_pipeline *pl, const struct ctl_stats *last)
{
	struct ctl_stats *now = &h->now;
	unsigned int i;

	h->prev = pl->prev;
	h->prev_s = pl->prev_s;
	ctl_stats_sample(pl, now);
	pl->prev = h->prev;
	pl->prev_s = h->prev_s;
	now->interval_s = last->interval_s;
	now->pkts_per_s = last->pkts_per_s;
	now->recs_per_s = last->recs_per_s;
	for (i = 0; i < now->n_lcores && i < last->n_lcores && i < CTL_LCORES_MAX; i++) {
		now->lc[i].pkts_per_s = last->lc[i].pkts_per_s;
		now->lc[i].recs_per_s = last->lc[i].recs_per_s;
		now->lc[i].busy_pct = last->lc[i].busy_pct;
	}
	return now;
}

void
ctl_http_serve(struct ctl_http *h, struct ctl_pipeline *pl, const struct ctl_stats *last,
	       const struct ctl_history *hist)
{
	const char *type = "text/plain; charset=utf-8", *body;
	struct ctl_http_req req;
	char head[512], msg[64];
	size_t body_len;
	int fd, status, hl;
	int64_t deadline;

	if (h == NULL)
		return;
	/* accepted sockets do not inherit O_NONBLOCK: blocking, with timeouts */
	fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	set_timeouts(fd);
	if (read_request(h, fd, &req) < 0)
		goto out;
	status = req.status ? req.status : 200;
	h->body.len = 0;
	h->body.failed = 0;
	if (status == 200 && req.route != CTL_HTTP_ROUTE_PAGE && last == NULL)
		status = 503;		/* no sample yet */
	if (status == 200 && req.route != CTL_HTTP_ROUTE_PAGE && pl != NULL && pl->ctr != NULL)
		last = fresh(h, pl, last);
	if (status == 200) {
		switch (req.route) {
		case CTL_HTTP_ROUTE_METRICS:
			type = "text/plain; version=0.0.4; charset=utf-8";
			ctl_http_render_metrics(h, &h->body, pl, last);
			break;
		case CTL_HTTP_ROUTE_STATS:
			type = "application/json";
			ctl_http_render_stats(h, &h->body, pl, last, hist);
			break;
		default:
			type = "text/html; charset=utf-8";
			break;
		}
		if (h->body.failed)
			status = 500;
	}
	if (status == 200 && req.route == CTL_HTTP_ROUTE_PAGE) {
		body = page_html;
		body_len = sizeof(page_html) - 1;
	} else if (status == 200) {
		body = h->body.p;
		body_len = h->body.len;
	} else {
		type = "text/plain; charset=utf-8";
		snprintf(msg, sizeof(msg), "%d %s\n", status, reason_phrase(status));
		body = msg;
		body_len = strlen(msg);
	}
	hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		      "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n"
		      "%s%s\r\n", status, reason_phrase(status), type, body_len,
		      status == 405 ? "Allow: GET, HEAD\r\n" : "",
		      status == 503 ? "Retry-After: 1\r\n" : "");
	deadline = now_ms() + WRITE_BUDGET_MS;
	if (send_all(fd, head, (size_t)hl, deadline) == 0 && !req.head)
		send_all(fd, body, body_len, deadline);
	shutdown(fd, SHUT_WR);
	/* unread request bytes would turn close() into a reset that may eat the answer */
	while (recv(fd, h->req, sizeof(h->req), MSG_DONTWAIT) > 0)
		;
out:
	close(fd);
}
