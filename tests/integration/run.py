#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Integration suite: real binaries end to end.

For each scenario: weir-gen writes a capture; weir-devbroker (a real Kafka
wire-protocol broker: librdkafka's mock cluster) starts; `weir replay`
feeds the capture through DPDK (a ring-backed ethdev, --no-huge) into it;
kcat reads topic `aggregated` back; tests/refmodel.py, an independent
Python model of SPEC §3-§5, computes the expected windows and counters
and compares. The §7 summary invariants are asserted here as well.

Usage: run.py --build BUILD_DIR [--quick] [--keep] [-k NAME]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REFMODEL = os.path.join(ROOT, "tests", "refmodel.py")

# name, weir-gen args, weir --set overrides, extra replay args, quick?
SCENARIOS = [
    ("json", ["--encoding", "json", "--devices", "40", "--rate", "400",
              "--duration", "200"], [], [], True),
    ("influx", ["--encoding", "influx", "--devices", "40", "--rate", "400",
                "--duration", "200"], [], [], False),
    ("snr1", ["--encoding", "snr1", "--devices", "40", "--rate", "400",
              "--duration", "200", "--records-per-datagram", "3"], [], [], True),
    ("mix-vlan-ipv6", ["--encoding", "json=2,influx=1,snr1=1", "--devices", "60",
                       "--rate", "500", "--duration", "150", "--vlan", "0.3",
                       "--ipv6", "0.3", "--records-per-datagram", "4"], [], [], False),
    ("late-out-of-order", ["--encoding", "json=1,snr1=1", "--devices", "30",
                           "--rate", "300", "--duration", "240", "--jitter", "8",
                           "--late", "0.03"], [], [], True),
    ("hopping", ["--encoding", "json=1,influx=1", "--devices", "30", "--rate", "300",
                 "--duration", "200", "--jitter", "3"],
     ["window.size=60s", "window.slide=20s"], [], False),
    ("malformed-ignored", ["--encoding", "json=1,influx=1,snr1=1", "--devices", "30",
                           "--rate", "300", "--duration", "120", "--malformed", "0.08",
                           "--ignored", "0.05", "--vlan", "0.2", "--ipv6", "0.2"],
     ["input.range.temperature=-20,60"], [], True),
    ("workers-1", ["--encoding", "json=1,snr1=1", "--devices", "50", "--rate", "400",
                   "--duration", "150", "--jitter", "5", "--late", "0.02"],
     ["aggregator.workers=1"], [], False),
    ("workers-2", ["--encoding", "json=1,snr1=1", "--devices", "50", "--rate", "400",
                   "--duration", "150", "--jitter", "5", "--late", "0.02"],
     ["aggregator.workers=2"], [], False),
    ("workers-0", ["--encoding", "json=1,snr1=1", "--devices", "50", "--rate", "400",
                   "--duration", "150", "--jitter", "5", "--late", "0.02"],
     ["aggregator.workers=0"], [], False),
    # workers-0 and -2 without the burst prefetch of the fold loops (SCENARIO_ENV)
    ("workers-0-noprefetch", ["--encoding", "json=1,snr1=1", "--devices", "50",
                              "--rate", "400", "--duration", "150", "--jitter", "5",
                              "--late", "0.02"],
     ["aggregator.workers=0"], [], False),
    ("workers-2-noprefetch", ["--encoding", "json=1,snr1=1", "--devices", "50",
                              "--rate", "400", "--duration", "150", "--jitter", "5",
                              "--late", "0.02"],
     ["aggregator.workers=2"], [], False),
    ("loop-3", ["--encoding", "snr1=1,influx=1", "--devices", "20", "--rate", "200",
                "--duration", "90"], [], ["--loop", "3"], True),
    # the same capture through the copy path of the replay feeder (SCENARIO_ENV)
    ("loop-3-copy", ["--encoding", "snr1=1,influx=1", "--devices", "20", "--rate", "200",
                     "--duration", "90"], [], ["--loop", "3"], True),
    ("mix-copy", ["--encoding", "json=2,influx=1,snr1=1", "--devices", "60",
                  "--rate", "500", "--duration", "150", "--vlan", "0.3",
                  "--ipv6", "0.3", "--records-per-datagram", "4"], [], [], False),
    ("arrival-time", ["--encoding", "json", "--devices", "20", "--rate", "200",
                      "--duration", "120", "--jitter", "20"], ["window.time=arrival",
                                                               "window.size=30s",
                                                               "window.slide=30s"],
     [], False),
]

# Extra environment per scenario. The replay feeder lends the capture memory
# to mbufs (zero-copy) unless WEIR_REPLAY_COPY=1; every other scenario runs
# zero-copy, and these must give byte-identical messages to their twins.
# WEIR_AGG_PREFETCH=0: the plain fold loops (aggregator lcores, and RX
# folding each record at once with workers = 0), without the burst
# prefetch every other scenario runs with.
SCENARIO_ENV = {
    "loop-3-copy": {"WEIR_REPLAY_COPY": "1"},
    "mix-copy": {"WEIR_REPLAY_COPY": "1"},
    "workers-0-noprefetch": {"WEIR_AGG_PREFETCH": "0"},
    "workers-2-noprefetch": {"WEIR_AGG_PREFETCH": "0"},
}
SAME_OUTPUT = [("workers-0", "workers-1", "workers-2", "workers-0-noprefetch",
                "workers-2-noprefetch"),
               ("loop-3", "loop-3-copy"),
               ("mix-vlan-ipv6", "mix-copy")]


class Failure(Exception):
    pass


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw)


class Broker:
    """weir-devbroker on an ephemeral port, stopped with SIGTERM."""

    def __init__(self, build, workdir, name):
        self.file = os.path.join(workdir, name + ".bootstrap")
        self.proc = subprocess.Popen(
            [os.path.join(build, "tools", "weir-devbroker"), "--partitions", "8",
             "--bootstrap-file", self.file],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        while not os.path.exists(self.file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise Failure("weir-devbroker did not start: " + self.proc.stderr.read())
            time.sleep(0.05)
        with open(self.file) as f:
            self.addr = f.read().strip()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("weir-devbroker did not stop on SIGTERM")
        if self.proc.returncode != 0:
            raise Failure("weir-devbroker exited %d" % self.proc.returncode)


def consume(addr, topic, expect):
    """Read every message of topic: (key, timestamp, value) tuples."""
    out = []
    for _ in range(3):
        r = run(["kcat", "-b", addr, "-t", topic, "-C", "-e", "-o", "beginning", "-q",
                 "-f", "%k\t%T\t%s\n"], timeout=120)
        if r.returncode != 0:
            raise Failure("kcat failed: " + r.stderr)
        out = [line.split("\t", 2) for line in r.stdout.splitlines() if line]
        if len(out) >= expect:
            break
        time.sleep(1)
    return out


def check_invariants(s, n_msgs, msgs, hopping):
    p = s["packets"]
    rec = s["records"]
    errs = []
    if p["rx"] != p["ignored"] + p["malformed"] + s["datagrams"]:
        errs.append("packets.rx != ignored + malformed + datagrams")
    if rec["rejected"] != sum(rec["rejected_by_reason"].values()):
        errs.append("records.rejected != sum(rejected_by_reason)")
    if s["windows"]["emitted"] != s["kafka"]["delivered"] + s["kafka"]["failed"]:
        errs.append("windows.emitted != kafka.delivered + kafka.failed")
    if s["kafka"]["failed"] != 0:
        errs.append("kafka.failed = %d" % s["kafka"]["failed"])
    if rec["dropped"] != 0:
        errs.append("records.dropped = %d in replay" % rec["dropped"])
    if n_msgs != s["windows"]["emitted"]:
        errs.append("read %d messages, windows.emitted = %d" % (n_msgs, s["windows"]["emitted"]))
    if not hopping and sum(m["count"] for m in msgs) != rec["accepted"]:
        errs.append("sum(count) = %d != records.accepted = %d" %
                    (sum(m["count"] for m in msgs), rec["accepted"]))
    for k in ("rx_to_agg", "close_to_ack"):
        lat = s["latency_ns"][k]
        if not lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"] * 1.001 + 1:
            errs.append("latency %s percentiles not ordered: %s" % (k, lat))
    if errs:
        raise Failure("; ".join(errs))


def check_dead_letters(s, dead):
    """Topic rejected: one dead letter per datagram with rejected records,
    rate limited; the summary accounts for every one."""
    d = s["dead_letters"]
    errs = []
    if len(dead) != d["sent"] or d["delivered"] != d["sent"] or d["failed"]:
        errs.append("dead letters: read %d, summary %s" % (len(dead), d))
    total = 0
    for key, _ts, val in dead:
        v = json.loads(val)
        if sum(v["reasons"].values()) != v["records_rejected"] or key != v["source"]:
            errs.append("inconsistent dead letter %s" % val[:200])
            break
        total += v["records_rejected"]
    if d["held_back"] == 0 and total != s["records"]["rejected"]:
        errs.append("dead letters cover %d rejected records, summary says %d" %
                    (total, s["records"]["rejected"]))
    if errs:
        raise Failure("; ".join(errs))


def scenario(build, work, name, gen_args, sets, replay_args):
    pcap = os.path.join(work, name + ".pcap")
    r = run([os.path.join(build, "tools", "weir-gen"), "-o", pcap, "--seed", "7"] + gen_args)
    if r.returncode != 0:
        raise Failure("weir-gen: " + r.stderr)
    broker = Broker(build, work, name)
    try:
        set_args = []
        for s in sets + ["kafka.brokers=" + broker.addr]:
            set_args += ["--set", s]
        env = dict(os.environ)
        env.pop("WEIR_REPLAY_COPY", None)
        env.pop("WEIR_AGG_PREFETCH", None)
        env.update(SCENARIO_ENV.get(name, {}))
        r = run([os.path.join(build, "tools", "weir"), "replay", pcap] + set_args + replay_args,
                timeout=600, env=env)
        if r.returncode != 0:
            raise Failure("weir replay exited %d: %s" % (r.returncode, r.stderr[-2000:]))
        mode = "replay: copying" if "WEIR_REPLAY_COPY" in env else "replay: zero-copy"
        if mode not in r.stderr:
            raise Failure("the feeder did not say %r: %s" % (mode, r.stderr[-2000:]))
        try:
            summary = json.loads(r.stdout)
        except ValueError:
            raise Failure("summary is not JSON: %r" % r.stdout[:500])
        with open(os.path.join(work, name + ".summary.json"), "w") as f:
            json.dump(summary, f)
        msgs = consume(broker.addr, "aggregated", summary["windows"]["emitted"])
        dead = consume(broker.addr, "rejected", summary["dead_letters"]["sent"])
    finally:
        broker.stop()
    values = []
    for key, ts, val in msgs:
        v = json.loads(val)
        if v["device_id"] != key:
            raise Failure("message key %r != device_id %r" % (key, v["device_id"]))
        if int(ts) != v["window_end"]:
            raise Failure("message timestamp %s != window_end %d" % (ts, v["window_end"]))
        values.append(v)
    actual = os.path.join(work, name + ".actual.jsonl")
    with open(actual, "w") as f:
        for v in values:
            f.write(json.dumps(v) + "\n")
    check_invariants(summary, len(values), values, any("slide" in s for s in sets))
    check_dead_letters(summary, dead)
    loop = []
    if "--loop" in replay_args:
        loop = ["--loop", replay_args[replay_args.index("--loop") + 1]]
    model_sets = []
    for s in sets:
        model_sets += ["--set", s]
    r = run([sys.executable, REFMODEL, pcap] + model_sets + loop +
            ["--compare", actual, "--summary", os.path.join(work, name + ".summary.json")],
            timeout=900)
    if r.returncode != 0:
        raise Failure("reference model mismatch:\n" + r.stdout[-3000:] + r.stderr[-2000:])
    return summary, values


def live_run(build, work):
    """`weir run` on a net_pcap vdev (the capture as a live port), stopped
    with SIGTERM: every open window must be flushed and delivered. SNR1
    only, so event times never default to the (wall clock) arrival time."""
    pcap = os.path.join(work, "live.pcap")
    r = run([os.path.join(build, "tools", "weir-gen"), "-o", pcap, "--seed", "11",
             "--encoding", "snr1", "--devices", "25", "--rate", "250", "--duration", "100"])
    if r.returncode != 0:
        raise Failure("weir-gen: " + r.stderr)
    broker = Broker(build, work, "live")
    try:
        conf = os.path.join(ROOT, "config", "weir.conf")
        p = subprocess.Popen([os.path.join(build, "tools", "weir"), "run", "-c", conf,
                              "--set", "kafka.brokers=" + broker.addr,
                              "--set", "control.socket=" + os.path.join(work, "live.sock"),
                              "--set", "control.metrics_listen=",
                              "--", "--vdev=net_pcap0,rx_pcap=" + pcap],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # the port reads the whole file at once: stop when all 25000 are in
        # (polled, not a fixed sleep: a loaded machine starts slowly)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            st = run([os.path.join(build, "tools", "weirctl"), "-s",
                      os.path.join(work, "live.sock"), "--json", "stats"])
            if st.returncode == 0 and json.loads(st.stdout)["packets"]["rx"] >= 25000:
                break
            time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=120)
        if p.returncode != 0:
            raise Failure("weir run exited %d: %s" % (p.returncode, err[-2000:]))
        lines = [l for l in err.splitlines() if l.startswith("{")]
        if not lines:
            raise Failure("weir run printed no summary: " + err[-2000:])
        summary = json.loads(lines[-1])
        msgs = consume(broker.addr, "aggregated", summary["windows"]["emitted"])
    finally:
        broker.stop()
    values = [json.loads(v) for _k, _t, v in msgs]
    check_invariants(summary, len(values), values, False)
    if summary["packets"]["rx"] != 25000 or summary["records"]["accepted"] != 25000:
        raise Failure("live run: rx %d, accepted %d, expected 25000 each" %
                      (summary["packets"]["rx"], summary["records"]["accepted"]))
    actual = os.path.join(work, "live.actual.jsonl")
    with open(actual, "w") as f:
        for v in values:
            f.write(json.dumps(v) + "\n")
    r = run([sys.executable, REFMODEL, pcap, "--compare", actual], timeout=900)
    if r.returncode != 0:
        raise Failure("reference model mismatch:\n" + r.stdout[-3000:] + r.stderr[-2000:])
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="meson build directory")
    ap.add_argument("--quick", action="store_true", help="only the quick scenarios")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("-k", dest="only", help="run scenarios whose name contains this")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="weir-it-")
    passed = failed = 0
    outputs = {}
    for name, gen, sets, rargs, quick in SCENARIOS:
        if (a.quick and not quick) or (a.only and a.only not in name):
            continue
        t = time.time()
        try:
            summary, values = scenario(build, work, name, gen, sets, rargs)
            outputs[name] = values
            passed += 1
            print("ok   %-20s %6d packets %5d windows  %.1fs" %
                  (name, summary["packets"]["rx"], summary["windows"]["emitted"],
                   time.time() - t), flush=True)
        except (Failure, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %-20s %s" % (name, e), flush=True)
    if not a.quick and (not a.only or a.only in "live-run"):
        t = time.time()
        try:
            summary = live_run(build, work)
            passed += 1
            print("ok   %-20s %6d packets %5d windows  %.1fs" %
                  ("live-run (SIGTERM)", summary["packets"]["rx"],
                   summary["windows"]["emitted"], time.time() - t), flush=True)
        except (Failure, subprocess.TimeoutExpired) as e:
            failed += 1
            print("FAIL %-20s %s" % ("live-run", e), flush=True)
    # workers = 0, 1 and 2, zero-copy and copy replay over the same capture:
    # byte-identical messages
    for group in SAME_OUTPUT:
        same = [n for n in group if n in outputs]
        if len(same) < 2:
            continue
        canon = [sorted(json.dumps(v, sort_keys=True) for v in outputs[n]) for n in same]
        if all(c == canon[0] for c in canon):
            passed += 1
            print("ok   %s: %d identical messages" % (" == ".join(same), len(canon[0])))
        else:
            failed += 1
            print("FAIL %s: outputs differ" % ", ".join(same))
    if not a.keep and failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("work directory kept: " + work)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
