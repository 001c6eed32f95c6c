#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Acceptance tests written only from the Contract sections of SPEC.md.

Every capture is built by hand here (struct: Ethernet, VLAN, IPv4, IPv6,
UDP, pcap) and every expected Kafka message and counter is worked out by
hand from the spec text (§3 input, §4 windows, §5 output, §6/§6a command
line and keys, §7 summary), not from weir's code or tests/refmodel.py.

One weir-devbroker is shared by the whole module; each replay produces to
its own topic (the broker auto-creates it).

Usage: WEIR_BUILD=build python3 -m unittest tests/integration/test_contract.py
(WEIR_BUILD defaults to ./build; a relative path is taken from the repo root.)
"""
import json
import random
import math
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("WEIR_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
WEIR = os.path.join(BUILD, "tools", "weir")
WEIR_GEN = os.path.join(BUILD, "tools", "weir-gen")
DEVBROKER = os.path.join(BUILD, "tools", "weir-devbroker")

# 2023-11-14T22:13:00Z: a multiple of 60 s (and of 20 s), so [B, B+60) is a window.
B = 1699999980
BMS = B * 1000
REASONS = ("bad_json", "bad_line", "bad_binary", "truncated", "fragment",
           "missing_device_id", "bad_device_id", "bad_timestamp", "future_timestamp",
           "no_metrics", "out_of_range")

_broker = None
_workdir = None
_topic_seq = [0]


# ---------------------------------------------------------------- packets

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload, ethertype=0x0800, vlans=()):
    """Ethernet II; vlans = [(tpid, vid), ...] outermost first."""
    hdr = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"
    for tpid, vid in vlans:
        hdr += struct.pack("!HH", tpid, vid)
    return hdr + struct.pack("!H", ethertype) + payload


def udp(payload, dport=9700, sport=40000, length=None):
    if length is None:
        length = 8 + len(payload)
    return struct.pack("!HHHH", sport, dport, length, 0) + payload


def ipv4(l4, proto=17, options=b"", frag=0, total_len=None, ihl=None, version=4):
    """frag = the 16-bit flags/offset field (0x2000 = MF, 0x4000 = DF)."""
    if ihl is None:
        ihl = 5 + len(options) // 4
    if total_len is None:
        total_len = 20 + len(options) + len(l4)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total_len, 0x1234, frag,
                    64, proto, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4


def ipv6(l4, nh=17, exts=(), plen=None, version=6):
    """exts = [(type, body)], body padded here to the 8-byte rule."""
    chain = b""
    types = [t for t, _ in exts] + [nh]
    for i, (t, body) in enumerate(exts):
        nxt = types[i + 1]
        if t == 44:  # fragment header: fixed 8 bytes
            chain += struct.pack("!BB", nxt, 0) + body
            continue
        raw = body
        while (len(raw) + 2) % 8:
            raw += b"\0"
        chain += struct.pack("!BB", nxt, (len(raw) + 2) // 8 - 1) + raw
    first = types[0]
    pl = chain + l4
    if plen is None:
        plen = len(pl)
    h = struct.pack("!IHBB", version << 28, plen, first, 64)
    h += b"\xfe\x80" + b"\0" * 13 + b"\x01" + b"\xfe\x80" + b"\0" * 13 + b"\x02"
    return h + pl


def u4(payload, dport=9700, **kw):
    """A whole Ethernet/IPv4/UDP frame."""
    return eth(ipv4(udp(payload, dport=dport)), **kw)


def arp():
    return eth(struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + b"\x02" * 6 + b"\x0a\0\0\x01" +
               b"\0" * 6 + b"\x0a\0\0\x02", ethertype=0x0806)


def write_pcap(path, frames):
    """frames = [(capture time in seconds (float ok), frame bytes)]; µs pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t, fr in frames:
            us = int(round(t * 1e6))
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
            f.write(fr)


def jrec(dev="d1", ts=None, **metrics):
    """One JSON object as bytes (device_id and ts first, then the metrics)."""
    obj = {}
    if dev is not None:
        obj["device_id"] = dev
    if ts is not None:
        obj["ts"] = ts
    obj.update(metrics)
    return json.dumps(obj, separators=(",", ":")).encode()


def snr1(dev, ts_ms, values, flags=0, magic=b"SNR1", id_len=None, n_values=None):
    """values = [(metric_id, value) or (metric_id, value, reserved)]."""
    d = dev.encode() if isinstance(dev, str) else dev
    out = magic + struct.pack("<BBHQ", len(d) if id_len is None else id_len,
                              len(values) if n_values is None else n_values, flags, ts_ms)
    out += d
    for v in values:
        out += struct.pack("<HHf", v[0], v[2] if len(v) > 2 else 0, v[1])
    return out


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


# ---------------------------------------------------------------- running weir

def setUpModule():
    global _broker, _workdir
    _workdir = tempfile.mkdtemp(prefix="weir-contract-")
    bfile = os.path.join(_workdir, "bootstrap")
    proc = subprocess.Popen([DEVBROKER, "--partitions", "4", "--bootstrap-file", bfile],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not os.path.exists(bfile):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("weir-devbroker did not start")
        time.sleep(0.05)
    with open(bfile) as f:
        _broker = (proc, f.read().strip())


def tearDownModule():
    if _broker:
        proc = _broker[0]
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if _workdir:
        shutil.rmtree(_workdir, ignore_errors=True)


def new_topic():
    _topic_seq[0] += 1
    return "ct%d_%d" % (os.getpid(), _topic_seq[0])


def consume(topic, expect, tries=20):
    msgs = []
    for _ in range(tries):
        r = subprocess.run(["kcat", "-b", _broker[1], "-t", topic, "-C", "-e", "-o",
                            "beginning", "-q", "-f", "%k\t%T\t%s\n"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        msgs = [ln.split("\t", 2) for ln in r.stdout.splitlines() if ln]
        if r.returncode == 0 and len(msgs) >= expect:
            break
        time.sleep(0.25)
    return msgs


class Run:
    """One finished replay: summary, messages and handy accessors."""

    def __init__(self, summary, msgs, stderr):
        self.s = summary
        self.msgs = msgs            # list of decoded values
        self.raw = []               # (key, timestamp, value)
        self.stderr = stderr

    @property
    def rec(self):
        return self.s["records"]

    def reason(self, name):
        return self.s["records"]["rejected_by_reason"].get(name, 0)

    def nonzero_reasons(self):
        return {k: v for k, v in self.s["records"]["rejected_by_reason"].items() if v}

    def windows(self):
        """{(device, start_ms, end_ms): value}"""
        return {(m["device_id"], m["window_start"], m["window_end"]): m for m in self.msgs}


def _no_constant(name):
    raise ValueError("not JSON: %s" % name)


def murmur2(data):
    """Kafka's Java murmur2 (DefaultPartitioner / librdkafka murmur2_random)."""
    m = 0x5BD1E995
    h = (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) - len(data) % 4
    for i in range(0, n4, 4):
        k = struct.unpack_from("<I", data, i)[0]
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rem = len(data) % 4
    if rem == 3:
        h ^= data[n4 + 2] << 16
    if rem >= 2:
        h ^= data[n4 + 1] << 8
    if rem >= 1:
        h ^= data[n4]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def run_weir(args, timeout=120):
    return subprocess.run([WEIR] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


class ContractCase(unittest.TestCase):
    maxDiff = None

    def replay(self, frames, sets=(), args=(), topic=None, check=True, overloaded=False):
        """Write frames to a pcap, replay it, read the topic, check §5/§7 basics."""
        topic = topic or new_topic()
        path = os.path.join(_workdir, topic + ".pcap")
        write_pcap(path, frames)
        cmd = ["replay", path, "--set", "kafka.brokers=" + _broker[1],
               "--set", "topics.aggregated=" + topic]
        for s in sets:
            cmd += ["--set", s]
        cmd += list(args)
        r = run_weir(cmd)
        self.assertEqual(r.returncode, 0, "weir replay failed: " + r.stderr[-2000:])
        try:
            summary = json.loads(r.stdout)
        except ValueError:
            self.fail("summary is not JSON: %r" % r.stdout[:300])
        emitted = summary["windows"]["emitted"]
        raw = consume(topic, emitted) if emitted else []
        run = Run(summary, [], r.stderr)
        for key, ts, val in raw:
            v = json.loads(val, parse_constant=_no_constant)
            run.raw.append((key, int(ts), v))
            run.msgs.append(v)
        if check:
            self.check_invariants(run, hopping=any("slide" in s for s in sets),
                                  overloaded=overloaded)
        return run

    def check_invariants(self, run, hopping=False, overloaded=False):
        s = run.s
        p = s["packets"]
        rec = s["records"]
        self.assertEqual(p["rx"], p["ignored"] + p["malformed"] + s["datagrams"],
                         "packets.rx = ignored + malformed + datagrams")
        self.assertEqual(rec["rejected"], sum(rec["rejected_by_reason"].values()),
                         "records.rejected = sum(rejected_by_reason)")
        for r in REASONS:
            self.assertIn(r, rec["rejected_by_reason"])
        self.assertEqual(s["windows"]["emitted"], s["kafka"]["delivered"] + s["kafka"]["failed"])
        self.assertEqual(s["kafka"]["failed"], 0)
        if not overloaded:
            self.assertEqual(rec["dropped"], 0)
        self.assertEqual(len(run.msgs), s["windows"]["emitted"],
                         "one Kafka message per emitted device window")
        for key, ts, v in run.raw:
            self.assertEqual(key, v["device_id"], "key = device id")
            self.assertEqual(ts, v["window_end"], "message timestamp = window_end")
        if not hopping:
            self.assertEqual(sum(m["count"] for m in run.msgs), rec["accepted"])
        seen = set()
        for m in run.msgs:
            k = (m["device_id"], m["window_start"], m["window_end"])
            self.assertNotIn(k, seen, "duplicate device window %r" % (k,))
            seen.add(k)

    def assertWindow(self, run, dev, start_s, end_s, count, metrics):
        """metrics = {name: [readings]}; expected stats computed per §5."""
        w = run.windows()
        key = (dev, start_s * 1000, end_s * 1000)
        self.assertIn(key, w, "missing window %r; have %r" % (key, sorted(w)))
        m = w[key]
        self.assertEqual(m["count"], count, "count of %r" % (key,))
        self.assertEqual(sorted(m["metrics"]), sorted(metrics), "metric names of %r" % (key,))
        for name, vals in metrics.items():
            got = m["metrics"][name]
            n = len(vals)
            mean = sum(vals) / n
            sd = math.sqrt(sum((x - mean) ** 2 for x in vals) / n)
            self.assertEqual(got["count"], n, name)
            self.assertEqual(got["min"], min(vals), name)
            self.assertEqual(got["max"], max(vals), name)
            for f, want in (("sum", math.fsum(vals)), ("avg", mean), ("stddev", sd)):
                self.assertTrue(math.isclose(got[f], want, rel_tol=1e-12, abs_tol=1e-9),
                                "%r %s.%s = %r, want %r" % (key, name, f, got[f], want))

    def assertCounts(self, run, accepted=0, late=0, reasons=None):
        self.assertEqual(run.rec["accepted"], accepted, "accepted")
        self.assertEqual(run.rec["late"], late, "late")
        self.assertEqual(run.nonzero_reasons(), reasons or {}, "rejected_by_reason")


def json_frames(payloads, t0=B + 10, step=0.001, **kw):
    """One datagram per payload, capture times t0, t0+step, ..."""
    return [(t0 + i * step, u4(p, **kw)) for i, p in enumerate(payloads)]


# ---------------------------------------------------------------- §5 output

class TestOutput(ContractCase):
    def test_one_window_exact_message(self):
        recs = [jrec("dev-1", BMS + 1000, temperature=10, humidity=50),
                jrec("dev-1", BMS + 2000, temperature=20),
                jrec("dev-1", BMS + 3000, temperature=30, humidity=60),
                jrec("dev-1", BMS + 59999, temperature=45)]
        r = self.replay(json_frames(recs, t0=B + 59.9))
        self.assertCounts(r, accepted=4)
        self.assertEqual(r.s["packets"], {"rx": 4, "ignored": 0, "malformed": 0}
                         | {k: v for k, v in r.s["packets"].items()
                            if k not in ("rx", "ignored", "malformed")})
        self.assertEqual(r.s["datagrams"], 4)
        self.assertEqual(r.s["windows"]["emitted"], 1)
        self.assertEqual(r.s["kafka"]["delivered"], 1)
        self.assertEqual(len(r.raw), 1)
        key, ts, v = r.raw[0]
        self.assertEqual(key, "dev-1")
        self.assertEqual(ts, BMS + 60000)
        self.assertEqual(v["window_start"], BMS)
        self.assertEqual(v["window_end"], BMS + 60000)
        self.assertEqual(v["count"], 4)
        t = v["metrics"]["temperature"]
        self.assertEqual((t["count"], t["min"], t["max"], t["sum"], t["avg"]),
                         (4, 10, 45, 105, 26.25))
        # population: sqrt(((-16.25)^2 + (-6.25)^2 + 3.75^2 + 18.75^2) / 4)
        self.assertAlmostEqual(t["stddev"], math.sqrt(668.75 / 4), places=12)
        h = v["metrics"]["humidity"]
        self.assertEqual((h["count"], h["min"], h["max"], h["sum"], h["avg"], h["stddev"]),
                         (2, 50, 60, 110, 55, 5))
        self.assertEqual(sorted(v["metrics"]), ["humidity", "temperature"],
                         "a metric appears only if it had readings")

    def test_doubles_round_trip(self):
        vals = {"a": "0.1", "b": "1e23", "c": "9007199254740993", "d": "2.2250738585072011e-308",
                "e": "1.7976931348623157e308", "f": "-123456.78901234567", "g": "5e-324",
                "h": "0.30000000000000004"}
        lines = [b'{"device_id":"%s","ts":%d,"temperature":%s}' % (d.encode(), BMS + 5000,
                                                                   v.encode())
                 for d, v in vals.items()]
        r = self.replay([(B + 10, u4(b"\n".join(lines)))])
        self.assertCounts(r, accepted=len(vals))
        w = {m["device_id"]: m for m in r.msgs}
        for d, v in vals.items():
            t = w[d]["metrics"]["temperature"]
            self.assertEqual(t["min"], float(v), d)
            self.assertEqual(t["max"], float(v), d)
            self.assertEqual(t["sum"], float(v), d)
        # two readings: sum = 0.1 + 0.2 in double
        r = self.replay(json_frames([jrec("x", BMS + 1000, temperature=0.1),
                                     jrec("x", BMS + 2000, temperature=0.2)]))
        t = r.msgs[0]["metrics"]["temperature"]
        self.assertEqual(t["sum"], 0.1 + 0.2)
        self.assertEqual(t["avg"], (0.1 + 0.2) / 2)

    def test_devices_and_windows(self):
        recs = [jrec("a", BMS + 1000, temperature=1), jrec("b", BMS + 2000, pressure=1000.5),
                jrec("a", BMS + 61000, temperature=3), jrec("a", BMS + 62000, temperature=5),
                jrec("b", BMS + 119000, vibration=0.25)]
        r = self.replay(json_frames(recs, t0=B + 120))
        self.assertCounts(r, accepted=5)
        self.assertEqual(r.s["windows"]["emitted"], 4)
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})
        self.assertWindow(r, "b", B, B + 60, 1, {"pressure": [1000.5]})
        self.assertWindow(r, "a", B + 60, B + 120, 2, {"temperature": [3, 5]})
        self.assertWindow(r, "b", B + 60, B + 120, 1, {"vibration": [0.25]})

    def test_device_id_escapes_reach_key(self):
        lines = [b'{"device_id":"dev\\"q\\\\","ts":%d,"temperature":1}' % (BMS + 1000),
                 b'{"device_id":"caf\\u00e9\\ud83d\\ude00","ts":%d,"temperature":2}' % (BMS + 1000),
                 '{"device_id":"raw-\u00fc","ts":%d,"temperature":3}'.encode() % (BMS + 1000)]
        r = self.replay([(B + 10, u4(b"\n".join(lines)))])
        self.assertCounts(r, accepted=3)
        self.assertEqual(sorted(k for k, _, _ in r.raw),
                         sorted(['dev"q\\', "caf\u00e9\U0001F600", "raw-\u00fc"]))

    def test_64_byte_device_id_ok(self):
        d64 = "x" * 64
        r = self.replay(json_frames([jrec(d64, BMS + 1000, temperature=1),
                                     jrec("y", BMS + 1000, temperature=1)]))
        self.assertCounts(r, accepted=2)
        self.assertIn(d64, [m["device_id"] for m in r.msgs])

    def test_partitioner_murmur2(self):
        # §5: partitioner murmur2_random, the same partition as Java clients
        topic = new_topic()
        devs = ["dev-%d" % i for i in range(24)] + ["\u00e9t\u00e9", "x" * 64, "ab", "abc"]
        r = self.replay(json_frames([jrec(d, BMS + 1000, temperature=1) for d in devs]),
                        topic=topic)
        self.assertEqual(r.s["windows"]["emitted"], len(devs))
        md = subprocess.run(["kcat", "-b", _broker[1], "-L", "-t", topic, "-J"],
                            stdout=subprocess.PIPE, text=True, timeout=60)
        nparts = len(json.loads(md.stdout)["topics"][0]["partitions"])
        got = subprocess.run(["kcat", "-b", _broker[1], "-t", topic, "-C", "-e", "-o",
                              "beginning", "-q", "-f", "%k\t%p\n"],
                             stdout=subprocess.PIPE, text=True, timeout=60).stdout
        seen = 0
        for line in got.splitlines():
            key, part = line.split("\t")
            self.assertEqual(int(part), (murmur2(key.encode()) & 0x7FFFFFFF) % nparts, key)
            seen += 1
        self.assertEqual(seen, len(devs))
        self.assertGreater(nparts, 1)

    def test_device_ids_with_nul_and_controls(self):
        ts = BMS + 1000
        r = self.replay(json_frames([
            b'{"device_id":"a\\u0000b","ts":%d,"temperature":1}' % ts,
            b'{"device_id":"a\\u0000c","ts":%d,"temperature":2}' % ts,
            b'{"device_id":"x\\u0001\\u001f","ts":%d,"temperature":3}' % ts,
            b'{"device_id":"%s","ts":%d,"temperature":4}' % (b"\\u00e9" * 32, ts)]))
        self.assertCounts(r, accepted=4)
        self.assertEqual(sorted(k for k, _, _ in r.raw),
                         sorted(["a\0b", "a\0c", "x\x01\x1f", "\u00e9" * 32]))

    def test_huge_readings_stay_valid_json(self):
        r = self.replay(json_frames([jrec("a", BMS + 1000, humidity=1.7e308),
                                     jrec("a", BMS + 2000, humidity=1.7e308)]))
        self.assertCounts(r, accepted=2)
        h = r.msgs[0]["metrics"]["humidity"]
        self.assertEqual((h["count"], h["min"], h["max"]), (2, 1.7e308, 1.7e308))

    def test_sigterm_flushes_open_windows(self):
        topic = new_topic()
        path = os.path.join(_workdir, topic + ".pcap")
        write_pcap(path, [ev("a", 1, temperature=1), ev("a", 1.2, temperature=2),
                          ev("b", 31, temperature=3)])
        sock = os.path.join(_workdir, topic + ".sock")
        proc = subprocess.Popen([WEIR, "replay", path, "--speed", "1x", "--set",
                                 "kafka.brokers=" + _broker[1], "--set",
                                 "topics.aggregated=" + topic, "--set", "control.socket=" + sock,
                                 "--set", "control.metrics_listen="],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # SIGTERM once both early records are in (not after a fixed sleep: a
        # loaded machine may not have started feeding yet), well before the third
        weirctl = os.path.join(os.path.dirname(WEIR), "weirctl")
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            r = subprocess.run([weirctl, "-s", sock, "--json", "stats"], capture_output=True,
                               text=True)
            if r.returncode == 0 and json.loads(r.stdout)["records"]["accepted"] >= 2:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.fail("weir replay did not stop on SIGTERM")
        msgs = [json.loads(v) for _, _, v in consume(topic, 1)]
        self.assertEqual([(m["device_id"], m["count"]) for m in msgs], [("a", 2)])

    # §5 "topic rejected (dead letters: reason, source address, arrival
    # time, payload excerpt ...)"
    def test_rejected_topic_gets_dead_letters(self):
        topic = new_topic()
        r = self.replay(json_frames([b'{"device_id":"d1",', jrec("d1", BMS + 1000, temperature=1)]),
                        sets=["topics.rejected=" + topic + "_rej"], topic=topic)
        self.assertCounts(r, accepted=1, reasons={"bad_json": 1})
        dl = consume(topic + "_rej", 1, tries=3)
        self.assertGreaterEqual(len(dl), 1, "a dead letter on the rejected topic")
        self.assertIn("bad_json", dl[0][2])
        v = json.loads(dl[0][2])
        self.assertEqual(v["reason"], "bad_json")
        self.assertTrue(v["payload_excerpt"].startswith('{"device_id":"d1",'))
        for field in ("source", "arrival_time"):
            self.assertIn(field, v)
        self.assertEqual(r.s["dead_letters"]["sent"], 1)
        self.assertEqual(r.s["dead_letters"]["held_back"], 0)


# ---------------------------------------------------------------- §3 JSON

class TestJson(ContractCase):
    def test_bad_json_each_kind(self):
        ts = BMS + 1000
        bad = [
            b'{"device_id":"d1","temperature":1',                  # unterminated
            b'{"device_id":"d1","temperature":1} x',               # trailing garbage
            b'{"device_id":"d1","temperature":1}{"a":1}',          # two objects
            b'{"device_id":"d1","ts":%d,"temperature":NaN}' % ts,
            b'{"device_id":"d1","ts":%d,"temperature":Infinity}' % ts,
            b'{"device_id":"d1","ts":%d,"temperature":-Infinity}' % ts,
            b'{"device_id":"d\xff1","ts":%d,"temperature":1}' % ts,          # bad UTF-8
            b'{"device_id":"d1","note":"\xc3\x28","ts":%d,"temperature":1}' % ts,
            b'{"device_id":"d1","ts":%d,"temperature":1,"n":"\xed\xa0\x80"}' % ts,  # surrogate
            b'{"device_id":"d1","ts":%d,"temperature":1,"n":"\xc0\xaf"}' % ts,   # overlong
            b'{"device_id":"d1","note":"a\tb","ts":%d,"temperature":1}' % ts,  # raw tab
            b'{"device_id":"d\x01","ts":%d,"temperature":1}' % ts,  # raw control char
            b'{"device_id":"d1","ts":%d,"temperature":01}' % ts,      # leading zero
            b'{"device_id":"d1","ts":%d,"temperature":1.}' % ts,
            b'{"device_id":"d1","ts":%d,"temperature":+1}' % ts,
            b"{'device_id':'d1','temperature':1}",
            b'{"device_id":"d1","ts":%d,"temperature":1,}' % ts,  # trailing comma
            b'{"device_id":"d1","ts":%d,"temperature":1,"x":"\\q"}' % ts,  # bad escape
            b'{"device_id":"d1","ts":%d,"temperature":1,"x":tru}' % ts,
        ]
        r = self.replay(json_frames(bad + [jrec("d1", ts, temperature=7)]))
        self.assertCounts(r, accepted=1, reasons={"bad_json": len(bad)})
        self.assertEqual(r.s["datagrams"], len(bad) + 1)
        self.assertWindow(r, "d1", B, B + 60, 1, {"temperature": [7]})

    def test_ndjson_lines_independent(self):
        ts = BMS + 1000
        payload = b"\n".join([
            jrec("a", ts, temperature=1),
            b'{"device_id":"a","temperature":NaN}',
            b"",
            b"   ",
            jrec("a", ts + 1, temperature=2) + b"\r",      # CRLF line end
            b"42",                                          # not an object
            b'  ' + jrec("b", ts, humidity=3) + b'  ',
            b'{"device_id":"a", "ts":%d, "temperature":\xff}' % ts,
            jrec("c", ts, temperature=4),
        ]) + b"\n"
        r = self.replay([(B + 10, u4(payload))])
        self.assertEqual(r.s["datagrams"], 1)
        self.assertCounts(r, accepted=4, reasons={"bad_json": 3})
        self.assertWindow(r, "a", B, B + 60, 2, {"temperature": [1, 2]})
        self.assertWindow(r, "b", B, B + 60, 1, {"humidity": [3]})
        self.assertWindow(r, "c", B, B + 60, 1, {"temperature": [4]})

    def test_json_array(self):
        ts = BMS + 1000
        arr = b"[" + b",".join([jrec("a", ts, temperature=1), jrec("a", ts, temperature=3),
                                b"5", b'"s"', b"null", jrec(None, ts, temperature=9),
                                b' ' + jrec("b", ts, temperature=2)]) + b"]"
        broken = b"[" + jrec("z", ts, temperature=1) + b"," + jrec("z", ts, temperature=2)
        lead = b" \n\t[" + jrec("c", ts, humidity=5) + b"]\n"
        r = self.replay(json_frames([arr, broken, lead]))
        self.assertCounts(r, accepted=4, reasons={"bad_json": 4, "missing_device_id": 1})
        self.assertWindow(r, "a", B, B + 60, 2, {"temperature": [1, 3]})
        self.assertWindow(r, "b", B, B + 60, 1, {"temperature": [2]})
        self.assertWindow(r, "c", B, B + 60, 1, {"humidity": [5]})
        self.assertNotIn("z", [m["device_id"] for m in r.msgs])

    def test_nesting(self):
        ts = BMS + 1000
        ok = b'{"device_id":"a","ts":%d,"temperature":1,"x":%s%s}' % (ts, b"[" * 60, b"]" * 60)
        deep = b'{"device_id":"b","ts":%d,"temperature":1,"x":%s%s}' % (ts, b"[" * 1000,
                                                                          b"]" * 1000)
        r = self.replay(json_frames([ok, deep]))
        self.assertCounts(r, accepted=1, reasons={"bad_json": 1})

    def test_device_id_checks(self):
        ts = BMS + 1000
        recs = [
            b'{"ts":%d,"temperature":1}' % ts,                              # missing
            b'{"devid":"a","ts":%d,"temperature":1}' % ts,                  # missing
            b'{"device_id":null,"ts":%d,"temperature":1}' % ts,             # bad
            b'{"device_id":null,"sensor_id":"s","ts":%d,"temperature":1}' % ts,  # bad: first wins
            b'{"device_id":12,"ts":%d,"temperature":1}' % ts,
            b'{"device_id":true,"ts":%d,"temperature":1}' % ts,
            b'{"device_id":{"a":"b"},"ts":%d,"temperature":1}' % ts,
            b'{"device_id":["a"],"ts":%d,"temperature":1}' % ts,
            b'{"device_id":"","ts":%d,"temperature":1}' % ts,
            jrec("x" * 65, ts, temperature=1),
            jrec("\u00e9" * 33, ts, temperature=1),                         # 66 bytes
            b'{"sensor_id":"s1","ts":%d,"temperature":2}' % ts,              # ok: sensor_id
            b'{"sensor_id":"s2","device_id":"d2","ts":%d,"temperature":3}' % ts,  # d2
            b'{"Device_id":"zz","sensor_id":"s3","ts":%d,"temperature":4}' % ts,  # s3
        ]
        r = self.replay(json_frames(recs))
        self.assertCounts(r, accepted=3, reasons={"missing_device_id": 2, "bad_device_id": 9})
        self.assertEqual(sorted(m["device_id"] for m in r.msgs), ["d2", "s1", "s3"])

    def test_device_id_fields_setting(self):
        ts = BMS + 1000
        recs = [b'{"sensor_id":"s2","device_id":"d2","ts":%d,"temperature":3}' % ts,
                b'{"device_id":"d3","ts":%d,"temperature":3}' % ts,
                b'{"id":"i4","device_id":"d4","ts":%d,"temperature":3}' % ts]
        r = self.replay(json_frames(recs), sets=["input.device_id_fields=sensor_id,device_id"])
        self.assertEqual(sorted(m["device_id"] for m in r.msgs), ["d3", "d4", "s2"])
        r = self.replay(json_frames(recs), sets=["input.device_id_fields=id"])
        self.assertCounts(r, accepted=1, reasons={"missing_device_id": 2})
        self.assertEqual([m["device_id"] for m in r.msgs], ["i4"])

    def test_timestamps(self):
        # every valid form lands in [B, B+60); wrong unit guesses would not
        recs = [
            b'{"device_id":"s","ts":%d,"temperature":1}' % (B + 1),
            b'{"device_id":"sf","ts":%d.5,"temperature":1}' % (B + 1),
            b'{"device_id":"ms","ts":%d,"temperature":1}' % (BMS + 2000),
            b'{"device_id":"us","ts":%d,"temperature":1}' % ((B + 3) * 10 ** 6),
            b'{"device_id":"ns","ts":%d,"temperature":1}' % ((B + 4) * 10 ** 9),
            b'{"device_id":"ms_e","ts":1.69999998e12,"temperature":1}',
            b'{"device_id":"z","ts":"2023-11-14T22:13:05.789Z","temperature":1}',
            b'{"device_id":"off","ts":"2023-11-14T23:43:06+01:30","temperature":1}',
            b'{"device_id":"neg","ts":"2023-11-14T20:13:07-02:00","temperature":1}',
            b'{"device_id":"nozone","ts":"2023-11-14T22:13:08","temperature":1}',
            b'{"device_id":"tsfirst","ts":%d,"timestamp":%d,"temperature":1}' % (BMS + 9000,
                                                                                 BMS + 600000),
            b'{"device_id":"tsfirst2","timestamp":%d,"ts":%d,"temperature":1}' % (BMS + 600000,
                                                                                  BMS + 9000),
            b'{"device_id":"tstamp","timestamp":%d,"temperature":1}' % (BMS + 10000),
            b'{"device_id":"noTs","temperature":1}',             # arrival time = B+59
        ]
        r = self.replay([(B + 59, u4(b"\n".join(recs)))])
        self.assertCounts(r, accepted=len(recs))
        for m in r.msgs:
            self.assertEqual((m["window_start"], m["window_end"]), (BMS, BMS + 60000),
                             m["device_id"])
        # absent time = arrival: capture time B+61 puts it in the next window
        r = self.replay([(B + 61, u4(b'{"device_id":"noTs","temperature":1}'))])
        self.assertWindow(r, "noTs", B + 60, B + 120, 1, {"temperature": [1]})

    def test_ts_unit_boundaries(self):
        # 1e11 ms = 1e14 us = 1e17 ns = 1e8 s = 1973-03-03T09:46:40Z, window [99999960, 100000020)
        # one below each boundary is read in the coarser unit: 1e11 s, beyond int64 ns
        recs = [b'{"device_id":"u","ts":100000000000,"temperature":1}',
                b'{"device_id":"u","ts":100000000000000,"temperature":2}',
                b'{"device_id":"u","ts":100000000000000000,"temperature":3}']
        below = [b'{"device_id":"v","ts":99999999999999,"temperature":1}',
                 b'{"device_id":"v","ts":99999999999999984,"temperature":1}']  # exact double
        r = self.replay(json_frames(recs + below))
        self.assertEqual(r.rec["accepted"], 3)
        self.assertEqual(r.reason("bad_timestamp") + r.reason("future_timestamp"), 2)
        self.assertWindow(r, "u", 99999960, 100000020, 3, {"temperature": [1, 2, 3]})

    def test_first_present_field_wins(self):
        ts = BMS + 1000
        recs = [b'{"device_id":"a","ts":%d,"timestamp":"garbage","temperature":1}' % ts,
                b'{"device_id":"a","sensor_id":5,"ts":%d,"temperature":2}' % ts,
                b'{"x":{"device_id":"n"},"ts":%d,"temperature":1}' % ts,        # nested: absent
                b'{"device_id":"a","x":{"ts":"garbage"},"temperature":3}']    # nested ts skipped
        r = self.replay(json_frames(recs))
        self.assertCounts(r, accepted=3, reasons={"missing_device_id": 1})
        self.assertWindow(r, "a", B, B + 60, 3, {"temperature": [1, 2, 3]})

    def test_rfc3339_forms(self):
        good = [b'"2023-11-14t22:13:05z"', b'"2023-11-14T22:13:05.123456789Z"',
                b'"2023-11-14T22:13:05+00:00"', b'"2023-11-14T22:13:05-00:00"',
                b'"2023-11-14T12:13:05-10:00"', b'"2023-11-15T08:13:05+10:00"']
        bad = [b'"2023-11-14T22:13Z"', b'"2023-11-14"', b'"2023-11-14T22:13:05+0100"',
               b'"2023-02-30T22:13:05Z"', b'"2023-11-14T24:00:00Z"', b'"2023-11-14T22:60:00Z"',
               b'"2023-11-14T22:13:05.Z"', b'"x2023-11-14T22:13:05Z"']
        r = self.replay(json_frames([b'{"device_id":"a","ts":%s,"temperature":1}' % t
                                     for t in good + bad], t0=B + 59))
        self.assertCounts(r, accepted=len(good), reasons={"bad_timestamp": len(bad)})
        self.assertWindow(r, "a", B, B + 60, len(good), {"temperature": [1] * len(good)})

    def test_json_ts_unit_setting(self):
        r = self.replay([(B + 30, u4(jrec("a", B + 5, temperature=1)))],
                        sets=["input.json_ts_unit=s"])
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})
        r = self.replay([(B + 30, u4(jrec("a", (B + 5) * 1000, temperature=1)))],
                        sets=["input.json_ts_unit=ms"])
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})
        # 50 s read as ms is 1970: valid but far behind, still one record
        r = self.replay([(B + 30, u4(jrec("a", 5, temperature=1)))],
                        sets=["input.json_ts_unit=ms"])
        self.assertWindow(r, "a", 0, 60, 1, {"temperature": [1]})

    def test_bad_timestamps(self):
        recs = [
            b'{"device_id":"a","ts":null,"temperature":1}',
            b'{"device_id":"a","ts":-5,"temperature":1}',
            b'{"device_id":"a","ts":-1.5e12,"temperature":1}',
            b'{"device_id":"a","ts":"garbage","temperature":1}',
            b'{"device_id":"a","ts":"","temperature":1}',
            b'{"device_id":"a","ts":true,"temperature":1}',
            b'{"device_id":"a","ts":{},"temperature":1}',
            b'{"device_id":"a","ts":[1],"temperature":1}',
            b'{"device_id":"a","ts":"2023-13-45T00:00:00Z","temperature":1}',
            b'{"device_id":"a","ts":"2023-11-14T22:13:05Zjunk","temperature":1}',
            b'{"device_id":"a","ts":"1969-12-31T23:59:59Z","temperature":1}',
            b'{"device_id":"a","timestamp":null,"temperature":1}',
            b'{"device_id":"a","ts":null,"timestamp":%d,"temperature":1}' % (BMS + 1000),
        ]
        r = self.replay(json_frames(recs + [jrec("ok", BMS + 1000, temperature=1)]))
        self.assertCounts(r, accepted=1, reasons={"bad_timestamp": len(recs)})

    def test_timestamp_beyond_int64_ns(self):
        # beyond int64 ns is bad_timestamp; such a time is also in the future,
        # and "any of their reasons may be reported"
        recs = [b'{"device_id":"a","ts":1e19,"temperature":1}',
                b'{"device_id":"a","ts":9223372036854775808,"temperature":1}',
                b'{"device_id":"a","ts":1e300,"temperature":1}',
                b'{"device_id":"a","ts":99999999999,"temperature":1}',         # s: year 5138
                b'{"device_id":"a","ts":"2263-01-01T00:00:00Z","temperature":1}',
                b'{"device_id":"a","ts":"9999-12-31T23:59:59Z","temperature":1}']
        r = self.replay(json_frames(recs))
        self.assertEqual(r.rec["accepted"], 0)
        self.assertEqual(r.rec["rejected"], len(recs))
        self.assertEqual(r.reason("bad_timestamp") + r.reason("future_timestamp"), len(recs))

    def test_future_timestamp(self):
        arr = B + 100
        recs = [jrec("a", (arr + 300) * 1000, temperature=1),        # exactly max_future: ok
                jrec("a", (arr + 301) * 1000, temperature=2),
                jrec("a", (arr + 86400) * 1000, temperature=3),
                jrec("a", "2030-01-01T00:00:00Z", temperature=4)]
        r = self.replay([(arr, u4(p)) for p in recs])
        self.assertCounts(r, accepted=1, reasons={"future_timestamp": 3})
        self.assertWindow(r, "a", B + 360, B + 420, 1, {"temperature": [1]})
        r = self.replay([(arr, u4(jrec("a", (arr + 11) * 1000, temperature=1))),
                         (arr, u4(jrec("a", (arr + 10) * 1000, temperature=2)))],
                        sets=["input.max_future=10s"])
        self.assertCounts(r, accepted=1, reasons={"future_timestamp": 1})

    def test_no_metrics(self):
        ts = BMS + 1000
        recs = [jrec("a", ts), jrec("a", ts, other=5), jrec("a", ts, Temperature=5),
                jrec("a", ts, temperature="5"), jrec("a", ts, temperature=None),
                jrec("a", ts, temperature=True), jrec("a", ts, temperature=[5]),
                jrec("a", ts, temperature={"v": 5}), jrec("a", ts, x={"temperature": 5})]
        ok = jrec("a", ts, temperature="hot", humidity=4, extra={"temperature": 99},
                  arr=[1, 2], flag=True)
        r = self.replay(json_frames(recs + [ok]))
        self.assertCounts(r, accepted=1, reasons={"no_metrics": len(recs)})
        self.assertWindow(r, "a", B, B + 60, 1, {"humidity": [4]})

    def test_out_of_range(self):
        ts = BMS + 1000
        recs = [jrec("a", ts, temperature=150), jrec("a", ts, temperature=-60),
                jrec("a", ts, temperature=150.0001, humidity=1),
                jrec("a", ts, temperature=-60.5), jrec("a", ts, humidity=2, temperature=1000),
                jrec("a", ts, humidity=1e308)]
        inf = [b'{"device_id":"a","ts":%d,"humidity":1e400}' % ts,
               b'{"device_id":"a","ts":%d,"humidity":-1e999,"temperature":1}' % ts]
        r = self.replay(json_frames(recs + inf), sets=["input.range.temperature=-60,150"])
        self.assertCounts(r, accepted=3, reasons={"out_of_range": 5})
        self.assertWindow(r, "a", B, B + 60, 3, {"temperature": [150, -60], "humidity": [1e308]})
        # no range configured: only non-finite readings are out of range
        r = self.replay(json_frames(recs + inf))
        self.assertCounts(r, accepted=6, reasons={"out_of_range": 2})

    def test_range_with_spaces_and_decimals(self):
        r = self.replay(json_frames([jrec("a", BMS + 1000, humidity=0.5),
                                     jrec("a", BMS + 1000, humidity=100.25),
                                     jrec("a", BMS + 1000, humidity=100.26),
                                     jrec("a", BMS + 1000, humidity=-1e-9)]),
                        sets=["input.range.humidity= 0 , 100.25"])
        self.assertCounts(r, accepted=2, reasons={"out_of_range": 2})

    def test_metrics_setting(self):
        r = self.replay(json_frames([jrec("a", BMS + 1000, co2=400, temperature=1)]),
                        sets=["input.metrics=co2"])
        self.assertWindow(r, "a", B, B + 60, 1, {"co2": [400]})

    def test_empty_payload_one_rejected(self):
        r = self.replay([(B + 10, u4(b"")), (B + 11, u4(jrec("a", BMS + 1000, temperature=1)))])
        self.assertEqual(r.s["datagrams"], 2)
        self.assertEqual(r.rec["accepted"], 1)
        self.assertEqual(r.rec["rejected"], 1)


# ---------------------------------------------------------------- §3 line protocol

def lp_frames(lines, t=B + 59):
    return [(t, u4(b"\n".join(lines)))]


class TestLineProtocol(ContractCase):
    def test_fields_and_types(self):
        ns = (B + 5) * 10 ** 9
        lines = [
            b"weather,device_id=d1 temperature=21.5,humidity=40i %d" % ns,
            b"weather,device_id=d1,site=x temperature=-3e1,humidity=7u,pressure=t %d" % ns,
            b'weather,device_id=d1 temperature=1.25,pressure="high, very" %d' % ns,
            b"weather,device_id=d1 vibration=1E-2,pressure=false,humidity=-4i %d" % ns,
            b"weather,device_id=d1 temperature=5 %d" % ns,
        ]
        r = self.replay(lp_frames(lines))
        self.assertCounts(r, accepted=5)
        self.assertWindow(r, "d1", B, B + 60, 5,
                          {"temperature": [21.5, -30, 1.25, 5], "humidity": [40, 7, -4],
                           "vibration": [0.01]})

    def test_escaping(self):
        ns = (B + 5) * 10 ** 9
        lines = [
            b"my\\ meas\\,x,device_id=dev\\ 1\\,a\\=b temperature=1 %d" % ns,
            b'm,device_id=d2,note=a\\ b my\\ field=1,temperature=2,s="q\\"uo\\\\te" %d' % ns,
            b'm,device_id=d3 s="a=b c,d",temperature=3 %d' % ns,
            b"m,device_id=d4 temperature=4",             # no timestamp: arrival time
        ]
        r = self.replay(lp_frames(lines))
        self.assertCounts(r, accepted=4)
        self.assertWindow(r, "dev 1,a=b", B, B + 60, 1, {"temperature": [1]})
        self.assertWindow(r, "d2", B, B + 60, 1, {"temperature": [2]})
        self.assertWindow(r, "d3", B, B + 60, 1, {"temperature": [3]})
        self.assertWindow(r, "d4", B, B + 60, 1, {"temperature": [4]})

    def test_comments_blank_lines_and_bad_lines(self):
        ns = (B + 5) * 10 ** 9
        lines = [
            b"# a comment",
            b"",
            b"   ",
            b"m,device_id=ok temperature=1 %d" % ns,
            b"m,device_id=b1",                                 # no fields
            b"m,device_id=b2 temperature=",                    # empty value
            b"m,device_id=b3 temperature=abc %d" % ns,        # bare word
            b"m,device_id=b4 temperature=1 12x",              # bad timestamp syntax
            b"m,device_id=b5 temperature=1 %d extra" % ns,    # trailing token
            b'm,device_id=b6 s="abc %d' % ns,                  # unterminated string
            b"m,device_id b7 temperature=1 %d" % ns,          # tag without =
            b"m,device_id=b8 temperature=1i5 %d" % ns,
            b"m,device_id=b9 =1 %d" % ns,                      # empty field key
            b"m,device_id=b10 temperature=1,,humidity=2 %d" % ns,
            b"m,device_id=ok temperature=2 %d" % (ns + 1),
        ]
        r = self.replay(lp_frames(lines))
        self.assertCounts(r, accepted=2, reasons={"bad_line": 10})
        self.assertWindow(r, "ok", B, B + 60, 2, {"temperature": [1, 2]})

    def test_record_checks(self):
        ns = (B + 5) * 10 ** 9
        lines = [
            b"m,host=h temperature=1 %d" % ns,                  # missing_device_id
            b"m,device_id=%s temperature=1 %d" % (b"x" * 65, ns),  # bad_device_id
            b"m,device_id=d foo=1,pressure=true %d" % ns,      # no_metrics
            b"m,device_id=d temperature=200 %d" % ns,          # out_of_range
            b"m,device_id=d temperature=1 %d" % ((B + 59 + 301) * 10 ** 9),  # future
            b"m,device_id=d temperature=1 -5",                  # bad_timestamp (pre-1970)
            b"m,sensor_id=s1 temperature=1 %d" % ns,
            b"m,sensor_id=s2,device_id=d2 temperature=1 %d" % ns,
            b"m,device_id=%s temperature=1 %d" % (b"y" * 64, ns),
        ]
        r = self.replay(lp_frames(lines), sets=["input.range.temperature=-60,150"])
        self.assertCounts(r, accepted=3, reasons={
            "missing_device_id": 1, "bad_device_id": 1, "no_metrics": 1, "out_of_range": 1,
            "future_timestamp": 1, "bad_timestamp": 1})
        self.assertEqual(sorted(m["device_id"] for m in r.msgs), ["d2", "s1", "y" * 64])

    def test_more_lines(self):
        ns = (B + 5) * 10 ** 9
        bools = [b"t", b"T", b"true", b"True", b"TRUE", b"f", b"F", b"false", b"False", b"FALSE"]
        lines = [b"m,device_id=a temperature=1,pressure=%s %d" % (v, ns) for v in bools]
        lines += [b"m,device_id=a humidity=-1u %d" % ns,                      # bad_line
                  b'm device_id="a",temperature=1 %d' % ns,                     # a field: missing
                  b"m,device_id=a temperature=2 %d" % ((B + 60) * 10 ** 9 - 1),  # last ns of 1st
                  b"m,device_id=a temperature=3 %d" % ((B + 60) * 10 ** 9),      # next window
                  b"m,device_id=a temperature=4 %d\r" % ns]                   # CRLF
        r = self.replay(lp_frames(lines))
        self.assertCounts(r, accepted=len(bools) + 3,
                          reasons={"bad_line": 1, "missing_device_id": 1})
        self.assertWindow(r, "a", B, B + 60, len(bools) + 2,
                          {"temperature": [1] * len(bools) + [2, 4]})
        self.assertWindow(r, "a", B + 60, B + 120, 1, {"temperature": [3]})

    def test_precision(self):
        r = self.replay(lp_frames([b"m,device_id=a temperature=1 %d" % (BMS + 5000)]),
                        sets=["input.influx_precision=ms"])
        self.assertCounts(r, accepted=1)
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})
        r = self.replay(lp_frames([b"m,device_id=a temperature=1 %d" % (B + 5)]),
                        sets=["input.influx_precision=s"])
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})
        r = self.replay(lp_frames([b"m,device_id=a temperature=1 %d" % ((B + 5) * 10 ** 6)]),
                        sets=["input.influx_precision=us"])
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})


# ---------------------------------------------------------------- §3 SNR1

class TestSnr1(ContractCase):
    def test_multiple_records(self):
        ts = BMS + 1000
        dg = (snr1("a", ts, [(0, 20.5), (1, 40.0)]) + snr1("b", ts + 1, [(3, 0.25)]) +
              snr1("a", ts + 2, [(2, 1013.25), (0, -1.5)]))
        r = self.replay([(B + 10, u4(dg))])
        self.assertEqual(r.s["datagrams"], 1)
        self.assertCounts(r, accepted=3)
        self.assertWindow(r, "a", B, B + 60, 2, {"temperature": [20.5, -1.5],
                                                 "humidity": [40.0], "pressure": [1013.25]})
        self.assertWindow(r, "b", B, B + 60, 1, {"vibration": [0.25]})

    def test_f32_values_widened(self):
        r = self.replay([(B + 10, u4(snr1("a", BMS + 1000, [(0, 0.1)])))])
        t = r.msgs[0]["metrics"]["temperature"]
        self.assertEqual(t["min"], f32(0.1))

    def test_64_values_and_64_byte_id(self):
        names = ["m%d" % i for i in range(64)]
        dg = snr1("z" * 64, BMS + 1000, [(63 - i, float(i)) for i in range(64)])
        r = self.replay([(B + 10, u4(dg))], sets=["input.metrics=" + ",".join(names)])
        self.assertCounts(r, accepted=1)
        self.assertWindow(r, "z" * 64, B, B + 60, 1, {names[63 - i]: [float(i)] for i in range(64)})

    def test_metric_order_follows_setting(self):
        dg = snr1("a", BMS + 1000, [(0, 1.0), (1, 2.0)])
        r = self.replay([(B + 10, u4(dg))], sets=["input.metrics=humidity,temperature,co2"])
        self.assertWindow(r, "a", B, B + 60, 1, {"humidity": [1.0], "temperature": [2.0]})
        dg = snr1("a", BMS + 1000, [(2, 3.0)])
        r = self.replay([(B + 10, u4(dg))], sets=["input.metrics=humidity,temperature,co2"])
        self.assertWindow(r, "a", B, B + 60, 1, {"co2": [3.0]})

    def test_bad_header_ends_datagram(self):
        ts = BMS + 1000
        good = snr1("a", ts, [(0, 1.0)])
        cases = [snr1("a", ts, [(0, 1.0)], flags=1),
                 snr1("a", ts, [(0, 1.0)], flags=0x8000),
                 snr1("a", ts, [(0, 1.0)], magic=b"SNR2"),
                 snr1("", ts, [(0, 1.0)]),                                # id_len 0
                 snr1("x" * 65, ts, [(0, 1.0)]),                         # id_len 65
                 snr1("a", ts, []),                                       # n_values 0
                 snr1("a", ts, [(i % 4, 1.0) for i in range(65)])]        # n_values 65
        frames = [(B + 10 + i * 0.01, u4(good + c + good + good)) for i, c in enumerate(cases)]
        r = self.replay(frames)
        self.assertCounts(r, accepted=len(cases), reasons={"bad_binary": len(cases)})
        self.assertWindow(r, "a", B, B + 60, len(cases), {"temperature": [1.0] * len(cases)})

    def test_bad_record_keeps_framing(self):
        ts = BMS + 1000
        good = snr1("a", ts, [(0, 2.0)])
        bad = [snr1("a", ts, [(4, 1.0)]),                     # unknown metric id
               snr1("a", ts, [(0, 1.0), (0, 1.0)]),           # repeated
               snr1("a", ts, [(1, 1.0), (0, 1.0, 1)]),        # reserved != 0
               snr1("a", ts, [(0xFFFF, 1.0)])]
        r = self.replay([(B + 10, u4(b"".join(b + good for b in bad)))])
        self.assertCounts(r, accepted=len(bad), reasons={"bad_binary": len(bad)})
        self.assertWindow(r, "a", B, B + 60, len(bad), {"temperature": [2.0] * len(bad)})

    def test_truncated(self):
        ts = BMS + 1000
        good = snr1("a", ts, [(0, 2.0)])
        rec = snr1("b", ts, [(0, 1.0), (1, 1.0)])
        frames = [(B + 10, u4(good + rec[:-1])),       # cut inside a value
                  (B + 11, u4(good + rec[:17])),       # cut inside the device id
                  (B + 12, u4(good + rec[:12])),       # cut inside ts_ms
                  (B + 13, u4(rec[:20]))]
        r = self.replay(frames)
        self.assertCounts(r, accepted=3, reasons={"truncated": 4})

    def test_values_checks(self):
        ts = BMS + 1000
        dgs = [snr1("a", ts, [(0, float("nan"))]), snr1("a", ts, [(1, float("inf"))]),
               snr1("a", ts, [(1, 5.0), (0, float("-inf"))]),
               snr1("a", ts, [(0, 151.0)]), snr1("a", ts, [(0, 150.0)]),
               snr1("a", 2 ** 63, [(0, 1.0)]),
               snr1("a", 2 ** 64 - 1, [(0, 1.0)]),
               snr1("a", (B + 10 + 301) * 1000, [(0, 1.0)])]
        r = self.replay([(B + 10, u4(d)) for d in dgs], sets=["input.range.temperature=-60,150"])
        self.assertEqual(r.rec["accepted"], 1)
        self.assertEqual(r.reason("out_of_range"), 4)
        self.assertEqual(r.reason("future_timestamp"), 1 + (2 - r.reason("bad_timestamp")))
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [150.0]})

    def test_encoding_detection(self):
        ts = BMS + 1000
        frames = [(B + 10, u4(snr1("s", ts, [(0, 1.0)]))),
                  (B + 10, u4(b" \r\n\t" + jrec("j", ts, temperature=1))),
                  (B + 10, u4(b"m,device_id=l temperature=1 %d" % (ts * 10 ** 6))),
                  (B + 10, u4(b"SNR0" + b"\0" * 30))]                     # line protocol
        r = self.replay(frames)
        self.assertCounts(r, accepted=3, reasons={"bad_line": 1})
        self.assertEqual(sorted(m["device_id"] for m in r.msgs), ["j", "l", "s"])


# ---------------------------------------------------------------- §3 L2-L4

GOOD = jrec("d", BMS + 1000, temperature=1)


class TestPackets(ContractCase):
    def test_encapsulations_accepted(self):
        p = udp(GOOD)
        frames = [
            eth(ipv4(p)),
            eth(ipv4(p), vlans=[(0x8100, 5)]),
            eth(ipv4(p), vlans=[(0x88A8, 100), (0x8100, 5)]),
            eth(ipv4(p, options=b"\x01\x01\x01\x00")),                    # IHL 6
            eth(ipv4(p, options=b"\x01" * 39 + b"\x00"), vlans=[(0x8100, 7)]),  # IHL 15
            eth(ipv4(p, frag=0x4000)),                                     # DF only
            eth(ipv6(p), ethertype=0x86DD),
            eth(ipv6(p), ethertype=0x86DD, vlans=[(0x88A8, 1), (0x8100, 2)]),
            eth(ipv6(p, exts=[(0, b"\x01\x04\0\0\0\0"), (43, b"\0\0\0\0\0\0"),
                              (60, b"\x01\x0c" + b"\0" * 12)]), ethertype=0x86DD),
        ]
        r = self.replay([(B + 10, f) for f in frames])
        self.assertEqual(r.s["packets"]["ignored"], 0)
        self.assertEqual(r.s["packets"]["malformed"], 0)
        self.assertEqual(r.s["datagrams"], len(frames))
        self.assertCounts(r, accepted=len(frames))

    def test_jumbo_frame(self):
        recs = [jrec("j", BMS + 1000 + i, temperature=i) for i in range(160)]
        payload = b"\n".join(recs)
        self.assertGreater(len(payload), 8000)
        r = self.replay([(B + 10, u4(payload))])
        self.assertCounts(r, accepted=160)
        self.assertWindow(r, "j", B, B + 60, 160, {"temperature": list(range(160))})

    def test_padding_not_payload(self):
        small = b"m,d=p t=1"     # 9 bytes: the frame is padded to the 60-byte minimum
        fr = eth(ipv4(udp(small)))
        self.assertLess(len(fr), 60)
        frames = [
            fr + b"\x00" * (60 - len(fr)),
            fr + b"zz\n#x" + b"\xff" * (60 - len(fr) - 5),
            fr + b"\nm,d=p t=1000",
            eth(ipv4(udp(GOOD))) + b"garbage after the IP datagram",
            # IP payload longer than the UDP length: the datagram ends at UDP length
            eth(ipv4(udp(GOOD) + b"}junk")),
            eth(ipv6(udp(GOOD)), ethertype=0x86DD) + b"\x00" * 12,
            eth(ipv6(udp(GOOD) + b"xx"), ethertype=0x86DD),
        ]
        r = self.replay([(B + 10, f) for f in frames],
                        sets=["input.metrics=t,temperature", "input.device_id_fields=d,device_id"])
        self.assertEqual(r.s["packets"]["malformed"], 0)
        self.assertCounts(r, accepted=len(frames))

    def test_ignored(self):
        tcp = struct.pack("!HHIIBBHHH", 40000, 9700, 0, 0, 0x50, 0x02, 1024, 0, 0)
        icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 1)
        frames = [
            arp(),
            eth(b"\x02\x07\x04" + b"\0" * 40, ethertype=0x88CC),               # LLDP
            eth(ipv4(tcp, proto=6)),
            eth(ipv4(icmp, proto=1)),
            eth(ipv4(udp(GOOD, dport=9701))),
            eth(ipv4(udp(GOOD, dport=53)), vlans=[(0x8100, 3)]),
            eth(ipv6(udp(GOOD, dport=9701)), ethertype=0x86DD),
            eth(ipv6(icmp, nh=58), ethertype=0x86DD),
            eth(ipv4(tcp, proto=6, frag=0x2000)),                              # TCP fragment
            eth(ipv4(b"\0" * 16, proto=6, frag=0x0010)),
            eth(ipv6(tcp, nh=6, exts=[(44, struct.pack("!HI", 1, 7))]), ethertype=0x86DD),
        ]
        r = self.replay([(B + 10, f) for f in frames] + [(B + 11, u4(GOOD))])
        self.assertEqual(r.s["packets"], dict(r.s["packets"], rx=len(frames) + 1,
                                              ignored=len(frames), malformed=0))
        self.assertEqual(r.s["datagrams"], 1)
        self.assertCounts(r, accepted=1)

    def test_vlan_and_ipv6_edge_cases(self):
        p = udp(GOOD)
        ok = [eth(ipv4(p), vlans=[(0x8100, 1), (0x8100, 2)])]
        ignored = [eth(ipv4(p), vlans=[(0x88A8, 1), (0x8100, 2), (0x8100, 3)]),  # 3 tags
                   eth(arp()[14:], ethertype=0x0806, vlans=[(0x8100, 4)]),
                   eth(ipv6(b"", nh=59), ethertype=0x86DD),                    # no next header
                   eth(ipv6(b"\0" * 20, nh=50), ethertype=0x86DD)]             # ESP
        r = self.replay([(B + 10, f) for f in ok + ignored])
        self.assertEqual(r.s["packets"]["ignored"], len(ignored))
        self.assertEqual(r.s["packets"]["malformed"], 0)
        self.assertCounts(r, accepted=len(ok))

    def test_udp_ports_setting(self):
        frames = [(B + 10, eth(ipv4(udp(GOOD, dport=9700)))),
                  (B + 10, eth(ipv4(udp(GOOD, dport=5000)))),
                  (B + 10, eth(ipv4(udp(GOOD, dport=6000))))]
        r = self.replay(frames, sets=["input.udp_ports=5000, 6000"])
        self.assertEqual(r.s["packets"]["ignored"], 1)
        self.assertEqual(r.s["datagrams"], 2)
        self.assertCounts(r, accepted=2)

    def test_malformed(self):
        p = udp(GOOD)
        v4 = eth(ipv4(p))
        v6 = eth(ipv6(p), ethertype=0x86DD)
        frames = [
            v4[:10],                                                # inside Ethernet
            eth(b"", vlans=[(0x8100, 5)])[:15],                     # inside VLAN tag
            eth(ipv4(p), vlans=[(0x88A8, 1), (0x8100, 2)])[:19],    # inside inner tag
            v4[:14 + 12],                                           # inside IPv4
            eth(ipv4(p, options=b"\x01" * 40))[:14 + 30],           # inside IPv4 options
            v6[:14 + 30],                                           # inside IPv6
            v4[:14 + 20 + 5],                                       # inside UDP
            v6[:14 + 40 + 3],
            eth(ipv4(p, ihl=4)),
            eth(ipv4(p, version=5)),
            eth(ipv4(p, version=6)),
            eth(ipv4(p, total_len=19)),
            eth(ipv4(p, options=b"\x01\x01\x01\x00", total_len=22)),
            eth(ipv4(p, total_len=20 + len(p) + 1)),
            eth(ipv6(p, version=4), ethertype=0x86DD),
            eth(ipv6(p, plen=len(p) + 1), ethertype=0x86DD),
            eth(ipv4(udp(GOOD, length=7))),
            eth(ipv4(udp(GOOD, length=7, dport=9701))),             # on any port
            eth(ipv4(udp(GOOD, length=len(GOOD) + 9))),
            eth(ipv4(udp(GOOD, length=len(GOOD) + 9, dport=53))),
            eth(ipv6(udp(GOOD, length=4)), ethertype=0x86DD),
            eth(ipv6(udp(GOOD, length=len(GOOD) + 9)), ethertype=0x86DD),
        ]
        r = self.replay([(B + 10, f) for f in frames] + [(B + 11, u4(GOOD))])
        self.assertEqual(r.s["packets"], dict(r.s["packets"], rx=len(frames) + 1,
                                              ignored=0, malformed=len(frames)))
        self.assertEqual(r.s["datagrams"], 1)
        self.assertCounts(r, accepted=1)

    def test_fragments(self):
        frames = [
            eth(ipv4(udp(GOOD), frag=0x2000)),                            # MF, offset 0
            eth(ipv4(udp(GOOD), frag=0x6000)),                            # DF+MF
            eth(ipv4(b"\x01" * 40, frag=0x0005)),                         # offset 40, last
            eth(ipv4(b"\x01" * 40, frag=0x2005), vlans=[(0x8100, 9)]),    # middle
            eth(ipv6(udp(GOOD), exts=[(44, struct.pack("!HI", 1, 99))]), ethertype=0x86DD),
            eth(ipv6(b"\x01" * 24, exts=[(44, struct.pack("!HI", 3 << 3, 99))]),
                ethertype=0x86DD),
            eth(ipv6(udp(GOOD), exts=[(0, b"\x01\x04\0\0\0\0"),
                                      (44, struct.pack("!HI", 1, 98))]), ethertype=0x86DD),
            eth(ipv6(udp(GOOD), exts=[(44, struct.pack("!HI", 1, 97)),
                                      (60, b"\x01\x04\0\0\0\0")]), ethertype=0x86DD),
        ]
        r = self.replay([(B + 10, f) for f in frames] + [(B + 11, u4(GOOD))])
        self.assertEqual(r.s["packets"]["ignored"], 0)
        self.assertEqual(r.s["packets"]["malformed"], 0)
        self.assertEqual(r.s["datagrams"], len(frames) + 1)
        self.assertCounts(r, accepted=1, reasons={"fragment": len(frames)})

    @staticmethod
    def fragments(dgram, v6=False, size=512, ident=0x77, vlans=()):
        """dgram (UDP header + payload) cut into fragments of size bytes."""
        out = []
        for off in range(0, len(dgram), size):
            chunk, more = dgram[off:off + size], off + size < len(dgram)
            if v6:
                fh = struct.pack("!HI", (off // 8) << 3 | more, ident)
                out.append(eth(ipv6(chunk, exts=[(44, fh)]), ethertype=0x86DD, vlans=vlans))
            else:
                out.append(eth(ipv4(chunk, frag=(0x2000 if more else 0) | off // 8),
                               vlans=vlans))
        return out

    def test_reassembly(self):
        """Datagrams larger than one frame, cut into IPv4 and IPv6 fragments (in
        order, reversed, behind a VLAN tag) are reassembled and decoded whole;
        fragments count as datagrams, the whole datagram once as reassembled."""
        def batch(dev, n):
            return b"\n".join(jrec(dev, BMS + 1000 + i, temperature=i) for i in range(n))
        d4 = udp(batch("frag-v4", 60))
        d6 = udp(batch("frag-v6", 60))
        dv = udp(batch("frag-vlan", 30))
        f4 = self.fragments(d4)
        f6 = self.fragments(d6, v6=True)
        fv = self.fragments(dv, ident=0x78, vlans=[(0x8100, 7)])
        self.assertGreater(len(f4), 3)
        frames = f4 + list(reversed(f6)) + fv
        r = self.replay([(B + 10 + i * 0.001, f) for i, f in enumerate(frames)])
        self.assertEqual(r.s["datagrams"], len(frames))
        self.assertEqual(r.s["packets"]["reassembled"], 3)
        self.assertCounts(r, accepted=150)
        counts = {m["device_id"]: m["count"] for m in r.msgs}
        self.assertEqual(counts, {"frag-v4": 60, "frag-v6": 60, "frag-vlan": 30})
        self.assertEqual(sum(m["metrics"]["temperature"]["sum"] for m in r.msgs
                             if m["device_id"] == "frag-v4"), sum(range(60)))

    def test_reassembly_timeout_and_off(self):
        """Fragments that do not all arrive within reassembly_timeout, and every
        fragment with reassembly_flows = 0, are rejected "fragment" each."""
        f4 = self.fragments(udp(b"\n".join(jrec("late-frag", BMS + 1000 + i, temperature=i)
                                            for i in range(40))))
        n = len(f4)
        # the last fragment comes 3 s after the others (timeout 2 s): all lost
        frames = [(B + 10 + i * 0.001, f) for i, f in enumerate(f4[:-1])]
        frames.append((B + 13, f4[-1]))
        frames.append((B + 14, u4(GOOD)))
        r = self.replay(frames)
        self.assertEqual(r.s["datagrams"], n + 1)
        self.assertEqual(r.s["packets"]["reassembled"], 0)
        self.assertCounts(r, accepted=1, reasons={"fragment": n})
        # reassembly off: each fragment is rejected on arrival
        r = self.replay([(B + 10 + i * 0.001, f) for i, f in enumerate(f4)],
                        sets=["dataplane.reassembly_flows=0"])
        self.assertEqual(r.s["packets"]["reassembled"], 0)
        self.assertCounts(r, reasons={"fragment": n})


# ---------------------------------------------------------------- §4 windows

def ev(dev, sec, arrival=None, **m):
    """Record with event time B+sec (seconds, float ok), captured at arrival (default same)."""
    if not m:
        m = {"temperature": 1}
    t = B + sec if arrival is None else B + arrival
    return (t, u4(jrec(dev, int(round((B + sec) * 1000)), **m)))


class TestWindows(ContractCase):
    def test_late_and_out_of_order(self):
        # idle_timeout = 1h keeps the idle rule out of this test
        frames = [ev("a", 10, temperature=1),
                  ev("a", 33, temperature=2),
                  ev("a", 30, arrival=34, temperature=3),     # out of order, W = B+28: on time
                  ev("b", 64.999, temperature=4),     # W = B+59.999 < B+60: still open
                  ev("a", 59, arrival=65, temperature=5),     # on time
                  ev("a", 70, temperature=6),         # W = B+65 >= B+60: [B, B+60) closes
                  ev("a", 20, arrival=71, temperature=7),   # late
                  ev("b", 59.999, arrival=72, temperature=8),  # late
                  ev("a", 62, arrival=73, temperature=9)]   # on time, next window
        r = self.replay(frames, sets=["window.idle_timeout=1h"])
        self.assertCounts(r, accepted=7, late=2)
        self.assertWindow(r, "a", B, B + 60, 4, {"temperature": [1, 2, 3, 5]})
        self.assertWindow(r, "a", B + 60, B + 120, 2, {"temperature": [6, 9]})
        self.assertWindow(r, "b", B + 60, B + 120, 1, {"temperature": [4]})
        self.assertEqual(r.s["windows"]["emitted"], 3)

    def test_close_exactly_at_watermark(self):
        # W = B+65-5 = B+60 = e: the window closes, B+59 is late
        r = self.replay([ev("a", 10), ev("a", 65), ev("a", 59, arrival=66)],
                        sets=["window.idle_timeout=1h"])
        self.assertCounts(r, accepted=2, late=1)
        r = self.replay([ev("a", 10), ev("a", 65), ev("a", 59, arrival=66)],
                        sets=["window.allowed_lateness=6s", "window.idle_timeout=1h"])
        self.assertCounts(r, accepted=3)

    def test_boundary_belongs_to_next_window(self):
        r = self.replay([ev("a", 0, temperature=1), ev("a", 59.999, temperature=2),
                         ev("a", 60, temperature=3)], sets=["window.allowed_lateness=0s"])
        self.assertCounts(r, accepted=3)
        self.assertWindow(r, "a", B, B + 60, 2, {"temperature": [1, 2]})
        self.assertWindow(r, "a", B + 60, B + 120, 1, {"temperature": [3]})

    def test_rejected_records_do_not_advance_watermark(self):
        frames = [ev("a", 10, temperature=1),
                  (B + 11, u4(jrec("a", (B + 200) * 1000, temperature=500))),  # out_of_range
                  (B + 12, u4(jrec("a", (B + 200) * 1000, other=1))),          # no_metrics
                  (B + 13, u4(jrec("a", (B + 1000) * 1000, temperature=1))),   # future
                  (B + 14, u4(b'{"device_id":"a","ts":%d,"temperature":1,}' % ((B + 200) * 1000))),
                  (B + 15, u4(jrec("", (B + 200) * 1000, temperature=1))),
                  ev("a", 12, arrival=16, temperature=2)]
        r = self.replay(frames, sets=["input.range.temperature=-60,150"])
        self.assertCounts(r, accepted=2, reasons={"out_of_range": 1, "no_metrics": 1,
                                                  "future_timestamp": 1, "bad_json": 1,
                                                  "bad_device_id": 1})
        self.assertWindow(r, "a", B, B + 60, 2, {"temperature": [1, 2]})

    def test_late_records_advance_nothing_but_count(self):
        # a late record is valid: it advances W too (max is unchanged here)
        r = self.replay([ev("a", 10), ev("a", 100), ev("a", 5, arrival=101),
                         ev("b", 94, arrival=102)], sets=["window.idle_timeout=1h"])
        self.assertCounts(r, accepted=3, late=1)

    def test_hopping_one_record_three_windows(self):
        r = self.replay([ev("a", 50, temperature=2)],
                        sets=["window.size=60s", "window.slide=20s"])
        self.assertCounts(r, accepted=1)
        self.assertEqual(r.s["windows"]["emitted"], 3)
        for s in (0, 20, 40):
            self.assertWindow(r, "a", B + s, B + s + 60, 1, {"temperature": [2]})
        self.assertEqual(sum(m["count"] for m in r.msgs), 3)

    def test_hopping_partial_late(self):
        frames = [ev("a", 50, temperature=1), ev("a", 85, temperature=2),
                  ev("a", 45, arrival=86, temperature=3),   # only [B+40, B+100) still open
                  ev("a", 15, arrival=87, temperature=4)]   # [B-40..B+20) all closed: late
        r = self.replay(frames, sets=["window.size=60s", "window.slide=20s",
                                      "window.idle_timeout=1h"])
        self.assertCounts(r, accepted=3, late=1)
        self.assertWindow(r, "a", B, B + 60, 1, {"temperature": [1]})
        self.assertWindow(r, "a", B + 20, B + 80, 1, {"temperature": [1]})
        self.assertWindow(r, "a", B + 40, B + 100, 3, {"temperature": [1, 2, 3]})
        self.assertWindow(r, "a", B + 60, B + 120, 1, {"temperature": [2]})
        self.assertWindow(r, "a", B + 80, B + 140, 1, {"temperature": [2]})
        self.assertEqual(r.s["windows"]["emitted"], 5)
        self.assertEqual(sum(m["count"] for m in r.msgs), 7)

    def test_hopping_sum_of_counts(self):
        frames = [ev("d%d" % (i % 3), i * 7.3, temperature=i) for i in range(30)]
        r = self.replay(frames, sets=["window.size=30s", "window.slide=10s"])
        self.assertCounts(r, accepted=30)
        self.assertEqual(sum(m["count"] for m in r.msgs), 90)
        for m in r.msgs:
            self.assertEqual(m["window_start"] % 10000, 0)
            self.assertEqual(m["window_end"] - m["window_start"], 30000)

    def test_time_arrival(self):
        frames = [(B + 10, u4(jrec("a", (B - 1000) * 1000, temperature=1))),  # old event time
                  (B + 20, u4(jrec("a", temperature=2))),
                  (B + 30, u4(jrec("a", (B + 200) * 1000, temperature=3))),  # within max_future
                  (B + 40, u4(jrec("a", "garbage", temperature=4))),
                  (B + 50, u4(jrec("a", (B + 400) * 1000, temperature=5))),  # future
                  (B + 61, u4(jrec("a", (B + 5) * 1000, temperature=6)))]
        r = self.replay(frames, sets=["window.time=arrival"])
        self.assertCounts(r, accepted=4, reasons={"bad_timestamp": 1, "future_timestamp": 1})
        self.assertWindow(r, "a", B, B + 60, 3, {"temperature": [1, 2, 3]})
        self.assertWindow(r, "a", B + 60, B + 120, 1, {"temperature": [6]})

    def test_idle_timeout_uses_capture_clock(self):
        # 90 s of capture time pass with no record (only an ARP); the watermark
        # follows the capture clock, so [B, B+60) closes and B+20 is late.
        frames = [ev("a", 10), (B + 99, arp()), ev("a", 20, arrival=100)]
        r = self.replay(frames)
        self.assertCounts(r, accepted=1, late=1)
        r = self.replay(frames, sets=["window.idle_timeout=1h"])
        self.assertCounts(r, accepted=2)

    def test_idle_timeout_without_other_packets(self):
        r = self.replay([ev("a", 10), ev("a", 20, arrival=100)])
        self.assertCounts(r, accepted=1, late=1)

    def test_host_clock_does_not_move_watermark(self):
        # the capture is from 2023; if the host clock drove the idle rule,
        # everything after the first record would be late
        frames = [ev("a", i * 0.2, temperature=i) for i in range(10)]
        r = self.replay(frames, args=["--speed", "1x"], sets=["window.idle_timeout=1s"])
        self.assertCounts(r, accepted=10)


# ---------------------------------------------------------------- §6 replay options

def mixed_capture():
    frames = []
    for i in range(120):
        t = i * 1.7
        dev = "dev-%d" % (i % 7)
        if i % 3 == 0:
            frames.append((B + t, u4(snr1(dev, int((B + t) * 1000), [(0, float(i)), (2, 3.5)]))))
        elif i % 3 == 1:
            frames.append((B + t, u4(b"m,device_id=%s humidity=%di %d" %
                                     (dev.encode(), i, int((B + t) * 1e9)))))
        else:
            frames.append((B + t, u4(jrec(dev, int((B + t - 30) * 1000), temperature=i * 0.1))))
    return frames


class TestAlerts(ContractCase):
    """Threshold alerts (issue 6): every alert weir produces for a capture with
    known crossings equals what an independent model of the rules expects:
    a rule fires when its condition held for N consecutive readings of the
    device's metric, at most once per device, rule and window (slide); the
    next alert carries the repeats held back since the previous one."""

    RULES = [("hot", "temperature", ">", 30.0, 1), ("shaky", "vibration", ">=", 2.0, 3),
             ("cold", "temperature", "<=", 0.0, 1)]
    OPS = {">": lambda v, t: v > t, ">=": lambda v, t: v >= t,
           "<": lambda v, t: v < t, "<=": lambda v, t: v <= t}

    def model(self, recs, slide_ms):
        """(alerts, repeats held back in all)"""
        state, out, held = {}, [], 0
        for dev, ts, metrics in recs:
            for name, metric, op, thr, n in self.RULES:
                if metric not in metrics:
                    continue
                st = state.setdefault((dev, name), {"run": 0, "win": None, "held": 0})
                if not self.OPS[op](metrics[metric], thr):
                    st["run"] = 0
                    continue
                st["run"] += 1
                if st["run"] < n:
                    continue
                win = ts // slide_ms * slide_ms
                if st["win"] == win:
                    st["held"] += 1
                    held += 1
                    continue
                out.append((dev, name, metric, metrics[metric], ts, win, st["held"]))
                st["win"], st["held"] = win, 0
        return out, held

    def alerts_run(self, workers, extra=()):
        rng = random.Random(11)
        recs = []
        for i in range(400):
            dev = "sensor-%d" % rng.randrange(5)
            metrics = {"temperature": round(rng.uniform(-4, 36), 1)}
            if rng.random() < 0.8:
                metrics["vibration"] = round(rng.uniform(0, 3), 2)
            recs.append((dev, BMS + 200 * i, metrics))
        topic = new_topic()
        sets = ["window.size=10s", "window.slide=10s", "aggregator.workers=%d" % workers,
                "topics.alerts=" + topic] + list(extra)
        for name, metric, op, thr, n in self.RULES:
            sets.append("alert.%s=%s %s %s%s" % (name, metric, op, thr,
                                                 " for %d" % n if n > 1 else ""))
        frames = [(B + 10 + i * 0.001, u4(jrec(d, ts, **m))) for i, (d, ts, m) in enumerate(recs)]
        r = self.replay(frames, sets=sets)
        want, held = self.model(recs, 10000)
        a = r.s["alerts"]
        self.assertEqual(a["sent"], len(want), a)
        self.assertEqual(a["dropped"], 0, a)
        self.assertEqual(a["delivered"], a["sent"], a)
        self.assertEqual(a["suppressed"], held, a)
        got = []
        for key, ts, val in consume(topic, len(want)):
            m = json.loads(val)
            self.assertEqual(key, m["device_id"])
            self.assertEqual(int(ts), m["event_time"])
            got.append((m["device_id"], m["rule"], m["metric"], m["value"], m["event_time"],
                        m["window_start"], m["suppressed"]))
        self.assertEqual(sorted(got), sorted(want))
        self.assertGreater(len({w[1] for w in want}), 2, "every rule fires in this capture")
        self.assertTrue(any(w[6] > 0 for w in want), "some alert carries held repeats")

    def test_alerts_exact(self):
        self.alerts_run(1)

    def test_alerts_inline(self):
        self.alerts_run(0)

    def test_alerts_exactly_once_mode(self):
        """With transactions on, alerts still arrive (a plain side producer)."""
        self.alerts_run(1, ["kafka.transactional.id=ct-alerts-%d" % os.getpid()])

    def test_bad_rules(self):
        for rule, why in (("alert.x=nosuch > 1", "not one of [input] metrics"),
                          ("alert.x=temperature => 1", "operator"),
                          ("alert.x=temperature > hot", "not a finite number"),
                          ("alert.x=temperature > 1 for 0", "for N"),
                          ("alert.bad name=temperature > 1", "")):
            r = run_weir(["replay", "/nonexistent.pcap", "--set", rule])
            self.assertEqual(r.returncode, 2, rule)
            self.assertIn("alert", r.stderr)
            self.assertIn(why, r.stderr)


class TestReplayOptions(ContractCase):
    def test_workers_identical(self):
        frames = mixed_capture()
        out = []
        for w in ("0", "1", "2"):
            r = self.replay(frames, sets=["aggregator.workers=" + w])
            counters = (r.s["packets"], r.s["datagrams"], r.rec, r.s["windows"])
            msgs = sorted(json.dumps(m, sort_keys=True) for m in r.msgs)
            out.append((counters, msgs))
        self.assertGreater(out[0][0][2]["late"], 0)
        self.assertEqual(out[0], out[1])
        self.assertEqual(out[0], out[2])

    def test_workers_identical_hopping_idle(self):
        frames = mixed_capture()
        frames.insert(60, (B + 250, arp()))       # quiet gap: idle rule
        frames = [(t if i < 60 else t + 150, f) for i, (t, f) in enumerate(frames)]
        out = []
        for w in ("0", "2"):
            r = self.replay(frames, sets=["aggregator.workers=" + w, "window.size=30s",
                                          "window.slide=10s"])
            out.append((r.s["packets"], r.s["datagrams"], r.rec, r.s["windows"],
                        sorted(json.dumps(m, sort_keys=True) for m in r.msgs)))
        self.assertEqual(out[0], out[1])

    def test_max_devices_drops_are_counted(self):
        ts = BMS + 1000
        r = self.replay(json_frames([jrec("a", ts, temperature=1), jrec("b", ts, temperature=1),
                                     jrec("c", ts, temperature=1), jrec("a", ts, temperature=1)]),
                        sets=["aggregator.max_devices=2"], overloaded=True)
        self.assertEqual((r.rec["accepted"], r.rec["dropped"]), (3, 1))
        self.assertEqual(sorted(m["device_id"] for m in r.msgs), ["a", "b"])

    def test_loop_2(self):
        frames = [ev("a", 10, temperature=1), ev("a", 30, temperature=3),
                  ev("b", 50, temperature=5)]
        r1 = self.replay(frames)
        r2 = self.replay(frames, args=["--loop", "2"])
        self.assertEqual(r2.s["packets"]["rx"], 2 * r1.s["packets"]["rx"])
        self.assertEqual(r2.s["datagrams"], 6)
        self.assertCounts(r2, accepted=6)
        # the second pass is shifted later: more windows than one pass, all aligned
        self.assertGreater(r2.s["windows"]["emitted"], r1.s["windows"]["emitted"])
        starts = set()
        for m in r2.msgs:
            self.assertEqual(m["window_start"] % 60000, 0)
            self.assertEqual(m["window_end"] - m["window_start"], 60000)
            starts.add(m["window_start"])
        self.assertIn(BMS, starts)
        self.assertGreater(max(starts), BMS)

    def test_speed(self):
        # No wall-clock comparisons between runs (flaky on a loaded box): each
        # run reports its pacing plan (throughput.schedule_s, when --speed has
        # the last frame due), which is exact, and pacing only ever runs late,
        # so the measured feed time can never be below the plan.
        frames = [ev("a", i * 0.05, temperature=i) for i in range(21)]    # 1 s of capture
        base = self.replay(frames)
        fast = self.replay(frames, args=["--speed", "1000x"])
        real = self.replay(frames, args=["--speed", "1x"])
        half = self.replay(frames, args=["--speed", "0.5x"])
        pps = self.replay(frames, args=["--speed", "20pps"])
        for r in (fast, real, half, pps):
            self.assertEqual(sorted(json.dumps(m, sort_keys=True) for m in r.msgs),
                             sorted(json.dumps(m, sort_keys=True) for m in base.msgs))
            self.assertCounts(r, accepted=21)
        plans = [(base, 0.0), (fast, 0.001), (real, 1.0), (half, 2.0), (pps, 1.0)]
        for r, plan in plans:
            tp = r.s["throughput"]
            self.assertAlmostEqual(tp["schedule_s"], plan, places=6)
            self.assertGreaterEqual(tp["seconds"] + 1e-3, tp["schedule_s"])
            self.assertGreaterEqual(tp["max_lag_s"], 0.0)
        # the pace scales with --speed: 1000x plans 1/1000 of 1x
        self.assertAlmostEqual(fast.s["throughput"]["schedule_s"] * 1000,
                               real.s["throughput"]["schedule_s"], places=6)


# ---------------------------------------------------------------- §6a config errors

class TestConfigErrors(ContractCase):
    def setUp(self):
        self.pcap = os.path.join(_workdir, "cfg.pcap")
        write_pcap(self.pcap, [ev("a", 10)])

    def bad(self, args, *words):
        r = run_weir(["replay", self.pcap, "--set", "kafka.brokers=" + _broker[1]] + args,
                     timeout=30)
        self.assertNotEqual(r.returncode, 0, "accepted %r" % (args,))
        self.assertEqual(r.stdout, "", "nothing on stdout")
        for w in words:
            self.assertIn(w, r.stderr, "%r: message %r lacks %r" % (args, r.stderr, w))
        return r

    def test_set_errors(self):
        self.bad(["--set", "input.bogus_key=1"], "--set", "bogus_key")
        self.bad(["--set", "nosuch.key=1"], "--set", "nosuch")
        self.bad(["--set", "window.size=abc"], "--set", "size")
        self.bad(["--set", "window.allowed_lateness=5x"], "--set", "allowed_lateness")
        self.bad(["--set", "input.max_future=-"], "--set", "max_future")
        self.bad(["--set", "window.idle_timeout=s"], "--set", "idle_timeout")
        self.bad(["--set", "input.range.temperature=5"], "--set", "range.temperature")
        self.bad(["--set", "input.range.temperature=a,b"], "--set", "range.temperature")
        self.bad(["--set", "input.range.temperature=1,2,3"], "--set", "range.temperature")
        self.bad(["--set", "window.time=sometimes"], "--set", "time")
        self.bad(["--set", "aggregator.workers=many"], "--set", "workers")
        self.bad(["--set", "noequals"], "--set")

    def test_size_not_multiple_of_slide(self):
        r = self.bad(["--set", "window.size=60s", "--set", "window.slide=25s"])
        self.assertTrue("size" in r.stderr or "slide" in r.stderr, r.stderr)

    def test_durations_accept_units(self):
        r = self.replay([ev("a", 10)], sets=["window.size=2m", "window.slide=60000ms",
                                             "window.allowed_lateness=1h",
                                             "window.idle_timeout=10s", "input.max_future=5m"])
        self.assertWindow(r, "a", B - 60, B + 60, 1, {"temperature": [1]})
        self.assertWindow(r, "a", B, B + 120, 1, {"temperature": [1]})

    def test_file_errors(self):
        conf = os.path.join(_workdir, "bad.conf")
        with open(conf, "w") as f:
            f.write("; comment\n[window]\nsize = 60s\nbogus = 1\n")
        self.bad(["-c", conf], conf + ":4", "bogus")
        with open(conf, "w") as f:
            f.write("[input]\nmetrics = temperature\n\n[nosuch]\nkey = 1\n")
        self.bad(["-c", conf], conf + ":4", "nosuch")
        with open(conf, "w") as f:
            f.write("[window]\nslide = 10s\nallowed_lateness = soon\n")
        self.bad(["-c", conf], conf + ":3", "allowed_lateness")
        with open(conf, "w") as f:
            f.write("[input]\nrange.temperature = 1\n")
        self.bad(["-c", conf], conf + ":2", "range.temperature")

    def test_file_settings_apply(self):
        conf = os.path.join(_workdir, "good.conf")
        with open(conf, "w") as f:
            f.write("[window]\nsize = 30s\nslide = 30s\n[input]\nmetrics = humidity\n")
        r = self.replay([ev("a", 40, temperature=1, humidity=2)], args=["-c", conf])
        self.assertWindow(r, "a", B + 30, B + 60, 1, {"humidity": [2]})
        # --set overrides the file
        r = self.replay([ev("a", 40, temperature=1, humidity=2)], args=["-c", conf],
                        sets=["window.size=60s", "window.slide=60s"])
        self.assertWindow(r, "a", B, B + 60, 1, {"humidity": [2]})

    def test_file_key_outside_section(self):
        conf = os.path.join(_workdir, "nosect.conf")
        with open(conf, "w") as f:
            f.write("size = 60s\n")
        self.bad(["-c", conf], conf + ":1", "size")


# ---------------------------------------------------------------- §7 summary, §6 help

class TestSummaryAndHelp(ContractCase):
    def test_summary_fields(self):
        r = self.replay([ev("a", 10), (B + 11, arp()), (B + 12, u4(b"{")),
                         (B + 13, eth(ipv4(udp(GOOD, length=3))))])
        s = r.s
        for k in ("rx", "ignored", "malformed"):
            self.assertIsInstance(s["packets"][k], int)
        self.assertIsInstance(s["datagrams"], int)
        for k in ("accepted", "late", "rejected", "dropped"):
            self.assertIsInstance(s["records"][k], int)
        self.assertIsInstance(s["windows"]["emitted"], int)
        for k in ("delivered", "failed"):
            self.assertIsInstance(s["kafka"][k], int)
        for k in ("seconds", "packets_per_s"):
            self.assertIsInstance(s["throughput"][k], (int, float))
        for st in ("rx_to_agg", "close_to_ack"):
            lat = s["latency_ns"][st]
            for k in ("p50", "p99", "p999", "max"):
                self.assertIsInstance(lat[k], int)
            self.assertLessEqual(lat["p50"], lat["p99"])
            self.assertLessEqual(lat["p99"], lat["p999"])
        self.assertEqual((s["packets"]["rx"], s["packets"]["ignored"], s["packets"]["malformed"],
                          s["datagrams"]), (4, 1, 1, 2))
        self.assertCounts(r, accepted=1, reasons={"bad_json": 1})
        self.assertEqual(s["windows"]["emitted"], 1)
        self.assertEqual(s["kafka"]["delivered"], 1)

    # §7 latency_ns {"p50","p99","p999","max"}: no percentile above the max.
    def test_latency_percentiles_not_above_max(self):
        r = self.replay([ev("a", 10)])
        for st in ("rx_to_agg", "close_to_ack"):
            lat = r.s["latency_ns"][st]
            self.assertLessEqual(lat["p50"], lat["max"], st)
            self.assertLessEqual(lat["p99"], lat["max"], st)
            self.assertLessEqual(lat["p999"], lat["max"], st)

    def test_help(self):
        for cmd in ([WEIR, "replay", "--help"], [WEIR, "--help"], [WEIR_GEN, "--help"],
                    [DEVBROKER, "--help"]):
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 0, cmd)
            self.assertTrue((r.stdout + r.stderr).strip(), cmd)


if __name__ == "__main__":
    unittest.main()
