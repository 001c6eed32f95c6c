#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Metrics and status page, end to end.

A ~40 s weir-gen capture is replayed at --speed 1x into weir-devbroker
with the metrics listener on a free loopback port. While it runs:
- /metrics is scraped in a loop and parsed by python3-prometheus-client's
  text parser (a parser no one here wrote); every counter is monotonic;
- each scrape is bracketed with `weirctl stats --json` (or its socket
  protocol when the weirctl binary is not built): both read the counters
  fresh, so scrape(t1) <= weirctl(t2) <= scrape(t3) must hold counter by
  counter, and equality when nothing moved in between;
- the status page is loaded twice in headless Chromium (--dump-dom) a few
  seconds apart: the page must be live and its packet count must change;
  a screenshot is saved for a human to look at.
After the replay: every scrape is <= the final summary (SPEC 7), the last
scrape covers most of the run, and the summary's invariants hold in each
scrape too (rejected = sum of reasons, dropped = sum of reasons).

Usage: test_metrics.py --build BUILD_DIR [--no-browser] [--keep]
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import Broker, Failure  # noqa: E402

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a non-Debian python3 first on PATH (pyenv, venv)
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

# (metric name, labels) -> path in the summary JSON / weirctl stats --json
COUNTERS = [
    (("weir_packets_total", (("outcome", "rx"),)), ("packets", "rx")),
    (("weir_packets_total", (("outcome", "ignored"),)), ("packets", "ignored")),
    (("weir_packets_total", (("outcome", "malformed"),)), ("packets", "malformed")),
    (("weir_datagrams_total", ()), ("datagrams",)),
    (("weir_records_total", (("outcome", "accepted"),)), ("records", "accepted")),
    (("weir_records_total", (("outcome", "late"),)), ("records", "late")),
    (("weir_records_total", (("outcome", "rejected"),)), ("records", "rejected")),
    (("weir_records_total", (("outcome", "dropped"),)), ("records", "dropped")),
    (("weir_windows_emitted_total", ()), ("windows", "emitted")),
    (("weir_kafka_messages_total", (("result", "delivered"),)), ("kafka", "delivered")),
    (("weir_kafka_messages_total", (("result", "failed"),)), ("kafka", "failed")),
    (("weir_kafka_produce_retries_total", ()), ("kafka", "produce_retries")),
    (("weir_rx_to_agg_latency_observations_total", ()), ("latency_ns", "rx_to_agg", "count")),
]


def dig(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def mapping(summary):
    """Every (metric, labels) -> summary path, the per-reason ones included."""
    m = list(COUNTERS)
    for r in summary["records"]["rejected_by_reason"]:
        m.append((("weir_records_rejected_total", (("reason", r),)),
                  ("records", "rejected_by_reason", r)))
    for r in summary["records"].get("dropped_by_reason", {}):
        m.append((("weir_records_dropped_total", (("reason", r),)),
                  ("records", "dropped_by_reason", r)))
    return m


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read().decode()


def scrape(base):
    """/metrics parsed by prometheus_client: {(name, labels): value}, {family: type}."""
    status, headers, text = http_get(base + "/metrics")
    if status != 200 or not headers["Content-Type"].startswith("text/plain; version=0.0.4"):
        raise Failure("/metrics: %d %s" % (status, headers.get("Content-Type")))
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in samples:
                raise Failure("sample twice: %r" % (key,))
            samples[key] = s.value
    return samples, types


def weirctl_stats(build, sock):
    exe = os.path.join(build, "tools", "weirctl")
    if os.path.exists(exe):
        r = subprocess.run([exe, "--socket", sock, "stats", "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=10)
        if r.returncode != 0:
            raise Failure("weirctl stats: %s" % r.stderr)
        return json.loads(r.stdout)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(sock)
        s.sendall(b"stats\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    st = json.loads(data)
    if not st.get("ok"):
        raise Failure("stats over the socket: %r" % st)
    return st


class Scraper(threading.Thread):
    """Scrape, weirctl stats, scrape, in a loop while the replay runs."""

    def __init__(self, build, base, sock, proc):
        super().__init__(daemon=True)
        self.build, self.base, self.sock, self.proc = build, base, sock, proc
        self.scrapes, self.brackets, self.error = [], [], None

    def run(self):
        try:
            while self.proc.poll() is None:
                try:
                    m1, types = scrape(self.base)
                    w = weirctl_stats(self.build, self.sock)
                    m2, _ = scrape(self.base)
                except (OSError, urllib.error.URLError, ValueError):
                    # weir closes its listeners once the sink is done, a moment
                    # before the process exits: an error then is the end of the run
                    try:
                        self.proc.wait(timeout=15)
                        break
                    except subprocess.TimeoutExpired:
                        raise
                self.scrapes += [m1, m2]
                self.brackets.append((m1, w, m2))
                self.types = types
                time.sleep(0.4)
        except Exception as e:  # reported by the main thread
            self.error = e


def check_scrapes(scrapes, brackets, types, summary):
    m = mapping(summary)
    # the names and types the README promises
    for fam, typ in [("weir_packets", "counter"), ("weir_records", "counter"),
                     ("weir_records_rejected", "counter"), ("weir_kafka_queue_messages", "gauge"),
                     ("weir_lcore_busy_ratio", "gauge"), ("weir_ring_entries", "gauge"),
                     ("weir_rx_to_agg_latency_seconds", "gauge"),
                     ("weir_close_to_ack_latency_seconds", "gauge"),
                     ("weir_records_folded", "counter"), ("weir_polls_busy", "counter")]:
        if types.get(fam) != typ:
            raise Failure("family %s: type %r, want %s" % (fam, types.get(fam), typ))
    for (key, path) in m:
        if key not in scrapes[-1]:
            raise Failure("/metrics lacks %s%r" % key)
    # monotonic counters, scrape after scrape
    for a, b in zip(scrapes, scrapes[1:]):
        for key, v in a.items():
            if types.get(re.sub("_total$", "", key[0])) == "counter" and b.get(key, v) < v:
                raise Failure("counter %r went back: %s -> %s" % (key, v, b[key]))
    # bracketed by weirctl stats
    for m1, w, m2 in brackets:
        for key, path in m:
            lo, mid, hi = m1[key], dig(w, path), m2[key]
            if not lo <= mid <= hi:
                raise Failure("%s%r: scrape %s, weirctl %s, scrape %s" % (key + (lo, mid, hi)))
    # invariants inside one scrape, and bounded by the final summary
    for s in scrapes:
        rej = sum(v for (n, _), v in s.items() if n == "weir_records_rejected_total")
        if rej != s[("weir_records_total", (("outcome", "rejected"),))]:
            raise Failure("rejected != sum of weir_records_rejected_total")
        drop = sum(v for (n, _), v in s.items() if n == "weir_records_dropped_total")
        if drop != s[("weir_records_total", (("outcome", "dropped"),))]:
            raise Failure("dropped != sum of weir_records_dropped_total")
        for key, path in m:
            if s[key] > dig(summary, path):
                raise Failure("%s%r = %s above the final summary's %s" %
                              (key + (s[key], dig(summary, path))))
    last = scrapes[-1][("weir_packets_total", (("outcome", "rx"),))]
    if last < 0.5 * summary["packets"]["rx"]:
        raise Failure("last scrape saw %d of %d packets" % (last, summary["packets"]["rx"]))


def chromium(exe, url, work, shot=None):
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--user-data-dir=" + os.path.join(work, "chromium"), "--window-size=1280,900",
            "--virtual-time-budget=4000"]
    args += ["--screenshot=" + shot] if shot else ["--dump-dom"]
    r = subprocess.run(args + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=90)
    if r.returncode != 0:
        raise Failure("chromium exited %d: %s" % (r.returncode, r.stderr[-1000:]))
    return r.stdout


def dom_value(dom, ident):
    m = re.search(r'id="%s"[^>]*>([^<]*)<' % ident, dom)
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium checks")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    browser = None if a.no_browser else shutil.which("chromium")
    if not a.no_browser and browser is None:
        raise SystemExit("test_metrics: chromium not found (install it or pass --no-browser)")
    work = tempfile.mkdtemp(prefix="weir-metrics-")
    t0 = time.time()
    pcap = os.path.join(work, "m.pcap")
    r = subprocess.run([os.path.join(build, "tools", "weir-gen"), "-o", pcap, "--seed", "11",
                        "--encoding", "json=2,influx=1,snr1=1", "--devices", "40", "--rate",
                        "400", "--duration", "40", "--jitter", "2", "--late", "0.02",
                        "--late-by", "30", "--malformed", "0.03", "--ignored", "0.02"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise Failure("weir-gen: " + r.stderr)
    broker = Broker(build, work, "metrics")
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    sock = os.path.join(work, "weir.sock")
    err = open(os.path.join(work, "weir.stderr"), "w")
    proc = subprocess.Popen(
        [os.path.join(build, "tools", "weir"), "replay", pcap, "--speed", "1x",
         "--set", "control.metrics_listen=127.0.0.1:%d" % port,
         "--set", "control.socket=" + sock, "--set", "window.size=5s",
         "--set", "window.slide=5s", "--set", "kafka.brokers=" + broker.addr],
        stdout=subprocess.PIPE, stderr=err, text=True)
    ok = False
    try:
        deadline = time.time() + 20
        while True:
            try:
                if http_get(base + "/metrics")[0] == 200:
                    break
            except (OSError, urllib.error.URLError):
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise Failure("/metrics never answered (weir exited %s)" % proc.poll())
            time.sleep(0.2)
        scraper = Scraper(build, base, sock, proc)
        scraper.start()
        doms = []
        if browser:
            time.sleep(2)
            doms.append(chromium(browser, base + "/", work))
            time.sleep(3)
            doms.append(chromium(browser, base + "/", work))
            shot = os.path.join(work, "status.png")
            chromium(browser, base + "/", work, shot)
            if proc.poll() is not None:
                raise Failure("the replay ended before the browser checks: too slow a host?")
            keep = os.path.join(build, "status-page.png")
            shutil.copy(shot, keep)
            print("test_metrics: screenshot %s" % keep)
        out, _ = proc.communicate(timeout=120)
        scraper.join(timeout=30)
        if scraper.error:
            raise scraper.error
        if proc.returncode != 0:
            raise Failure("weir replay exited %d" % proc.returncode)
        summary = json.loads(out)
        if len(scraper.scrapes) < 6:
            raise Failure("only %d scrapes during the replay" % len(scraper.scrapes))
        check_scrapes(scraper.scrapes, scraper.brackets, scraper.types, summary)
        for i, dom in enumerate(doms):
            if dom_value(dom, "conn") != "live":
                raise Failure("page %d not live: conn = %r" % (i, dom_value(dom, "conn")))
            for ident in ("pps", "packets", "accepted", "p99agg"):
                if dom_value(dom, ident) in (None, "-", ""):
                    raise Failure("page %d: #%s = %r" % (i, ident, dom_value(dom, ident)))
            if dom.count("<polyline") < 5:
                raise Failure("page %d: charts not drawn" % i)
        if doms and dom_value(doms[0], "packets") == dom_value(doms[1], "packets"):
            raise Failure("packet count did not change between two loads: %s" %
                          dom_value(doms[0], "packets"))
        print("test_metrics: %d scrapes, %d weirctl brackets, page %s -> %s packets, %.1f s" %
              (len(scraper.scrapes), len(scraper.brackets),
               dom_value(doms[0], "packets") if doms else "-",
               dom_value(doms[1], "packets") if doms else "-", time.time() - t0))
        ok = True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()
        broker.stop()
        if ok and not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("test_metrics: work directory kept: %s" % work)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("test_metrics: FAIL: %s" % e)
        print("0 passed, 1 failed")
        sys.exit(1)
