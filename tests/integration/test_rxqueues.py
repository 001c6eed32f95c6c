#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Several RX queues (issue 6): `[dataplane] rx_queues = N` spreads the
datagrams over N RX lcores by RSS on the UDP 4-tuple (replay does it in
software, with the NIC's Toeplitz hash and key). Checked here:

- the same capture through 1, 2 and 3 queues gives the same counters and
  the same window results in Kafka (by device and window);
- each queue got the frames an independent Toeplitz model (below, Python
  stdlib, checked against the Microsoft RSS verification vectors) assigns
  to it;
- a queue that gets no traffic does not hold windows back (it follows the
  others' watermark: rx_queues[].watermark_raised);
- rx_queues > 1 without aggregator workers is refused at start.

Usage: cd tests/integration && WEIR_BUILD=build-gcc python3 -m unittest test_rxqueues
"""
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import time
import unittest

from test_faults import Broker, build_dir

RSS_KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da3"
                        "8030f20c6a42b73bbeac01fa")


def toeplitz(data, key=RSS_KEY):
    """The Toeplitz hash of data: for every set input bit i, XOR in key bits i..i+31."""
    k = int.from_bytes(key, "big")
    klen = len(key) * 8
    h = 0
    for i, byte in enumerate(data):
        for b in range(8):
            if byte & (0x80 >> b):
                h ^= (k >> (klen - 32 - (i * 8 + b))) & 0xFFFFFFFF
    return h


def rss_input(frame):
    """The bytes a NIC hashes: IP addresses, plus UDP ports unless a fragment."""
    if len(frame) < 14:
        return None
    off, et = 14, struct.unpack_from(">H", frame, 12)[0]
    tags = 0
    while et in (0x8100, 0x88A8) and tags < 2:
        if len(frame) < off + 4:
            return None
        et = struct.unpack_from(">H", frame, off + 2)[0]
        off += 4
        tags += 1
    if et == 0x0800:
        if len(frame) < off + 20 or frame[off] >> 4 != 4:
            return None
        ihl = (frame[off] & 15) * 4
        frag = struct.unpack_from(">H", frame, off + 6)[0] & 0x3FFF
        data = frame[off + 12:off + 20]
        l4 = off + ihl
        if not frag and frame[off + 9] == 17 and ihl >= 20 and len(frame) >= l4 + 4:
            data += frame[l4:l4 + 4]
        return data
    if et == 0x86DD:
        if len(frame) < off + 40 or frame[off] >> 4 != 6:
            return None
        data = frame[off + 8:off + 40]
        l4 = off + 40
        if frame[off + 6] == 17 and len(frame) >= l4 + 4:
            data += frame[l4:l4 + 4]
        return data
    return None


def queue_of(frame, n):
    data = rss_input(frame)
    h = toeplitz(data) if data is not None else 0
    return (h % 128) % n


def pcap_frames(path):
    with open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack_from("<I", buf, 0)[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "not a little-endian pcap"
    off = 24
    while off + 16 <= len(buf):
        incl = struct.unpack_from("<I", buf, off + 8)[0]
        yield buf[off + 16:off + 16 + incl]
        off += 16 + incl


def by_window(msgs):
    return {(m["device_id"], m["window_start"]): m for m in msgs}


class ToeplitzModelTest(unittest.TestCase):
    def test_microsoft_vectors(self):
        # "Verifying the RSS hash calculation": 66.9.149.187:2794 -> 161.142.100.80:1766
        src, dst = bytes([66, 9, 149, 187]), bytes([161, 142, 100, 80])
        self.assertEqual(toeplitz(src + dst), 0x323E8FC2)
        self.assertEqual(toeplitz(src + dst + struct.pack(">HH", 2794, 1766)), 0x51CCC178)
        # 199.92.111.2:14230 -> 65.69.140.83:4739
        src, dst = bytes([199, 92, 111, 2]), bytes([65, 69, 140, 83])
        self.assertEqual(toeplitz(src + dst), 0xD718262A)
        self.assertEqual(toeplitz(src + dst + struct.pack(">HH", 14230, 4739)), 0xC626B0EA)


class RxQueuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("kcat") is None:
            raise unittest.SkipTest("kcat not installed")
        cls.tools = os.path.join(build_dir(), "tools")
        cls.tmp = tempfile.mkdtemp(prefix="weir-rxq-")
        cls.broker = Broker(cls.tools, cls.tmp)
        cls.cap = os.path.join(cls.tmp, "mixed.pcap")
        # many senders (one address and port per device), every encoding,
        # IPv6, VLANs, broken and foreign frames, out-of-order and late data
        subprocess.run([os.path.join(cls.tools, "weir-gen"), "-o", cls.cap, "--devices",
                        "300", "--rate", "2000", "--duration", "40", "--encoding",
                        "json=2,influx=1,snr1=1", "--jitter", "2", "--late", "0.01",
                        "--malformed", "0.02", "--ignored", "0.05", "--vlan", "0.1",
                        "--ipv6", "0.2", "--seed", "11", "-q"], check=True)
        cls.seq = 0

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def replay(self, cap, queues, workers=2, extra=()):
        RxQueuesTest.seq += 1
        topic = "rxq%d_%d" % (os.getpid(), self.seq)
        args = [os.path.join(self.tools, "weir"), "replay", cap,
                "--set", "dataplane.rx_queues=%d" % queues,
                "--set", "aggregator.workers=%d" % workers,
                "--set", "window.size=10s", "--set", "window.slide=10s",
                "--set", "control.socket=" + os.path.join(self.tmp, "w%d.sock" % self.seq),
                "--set", "control.metrics_listen=",
                "--set", "kafka.brokers=" + self.broker.addr,
                "--set", "topics.aggregated=" + topic] + list(extra)
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        s = json.loads(r.stdout)
        msgs = []
        for _ in range(20):
            k = subprocess.run(["kcat", "-b", self.broker.addr, "-t", topic, "-C", "-e", "-q",
                                "-o", "beginning", "-f", "%s\n"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=120)
            msgs = [json.loads(ln) for ln in k.stdout.splitlines() if ln]
            if len(msgs) >= s["windows"]["emitted"]:
                break
        return s, msgs

    def check(self, s, msgs):
        rec = s["records"]
        self.assertEqual(s["packets"]["rx"], s["packets"]["ignored"] +
                         s["packets"]["malformed"] + s["datagrams"])
        self.assertEqual(rec["dropped"], 0)
        self.assertEqual(s["windows"]["emitted"], s["kafka"]["delivered"])
        self.assertEqual(len(msgs), s["windows"]["emitted"])
        keys = [(m["device_id"], m["window_start"]) for m in msgs]
        self.assertEqual(len(keys), len(set(keys)), "a (device, window) twice")
        self.assertEqual(sum(m["count"] for m in msgs), rec["accepted"])

    def assertSameWindows(self, a, b, what):
        """Same (device, window) set, counts, min and max; sums and moments
        to 1e-9: records of a device that reach two queues (it sends over
        IPv4 and IPv6 here) are folded in another order, which moves the
        last bits of a floating-point sum."""
        wa, wb = by_window(a), by_window(b)
        self.assertEqual(sorted(wa), sorted(wb), what + ": (device, window) sets")
        for k, x in wa.items():
            y = wb[k]
            self.assertEqual((x["count"], x["window_end"], sorted(x["metrics"])),
                             (y["count"], y["window_end"], sorted(y["metrics"])), (what, k))
            for name, mx in x["metrics"].items():
                my = y["metrics"][name]
                self.assertEqual((mx["count"], mx["min"], mx["max"]),
                                 (my["count"], my["min"], my["max"]), (what, k, name))
                for f in ("sum", "avg", "stddev"):
                    self.assertTrue(math.isclose(mx[f], my[f], rel_tol=1e-9, abs_tol=1e-9),
                                    (what, k, name, f, mx[f], my[f]))

    def test_queues_give_the_same_results(self):
        frames = list(pcap_frames(self.cap))
        out = {}
        for n in (1, 2, 3):
            s, msgs = self.replay(self.cap, n)
            self.check(s, msgs)
            counters = (s["packets"], s["datagrams"], s["records"], s["windows"])
            out[n] = (counters, msgs)
            self.assertEqual(len(s["rx_queues"]), n)
            want = [0] * n
            for f in frames:
                want[queue_of(f, n)] += 1
            self.assertEqual([q["packets"] for q in s["rx_queues"]], want,
                             "frames per queue vs the Toeplitz model")
            if n > 1:
                self.assertTrue(all(w > len(frames) // (3 * n) for w in want), want)
        self.assertGreater(out[1][0][2]["late"], 0, "the capture has late records")
        self.assertGreater(out[1][0][2]["accepted"], 50000)
        for n in (2, 3):
            self.assertEqual(out[1][0], out[n][0], "%d RX queues: counters differ" % n)
            self.assertSameWindows(out[1][1], out[n][1], "%d RX queues" % n)

    def test_quiet_queue_follows(self):
        # one sender: everything hashes to one queue, the other hears nothing
        cap = os.path.join(self.tmp, "one.pcap")
        subprocess.run([os.path.join(self.tools, "weir-gen"), "-o", cap, "--devices", "1",
                        "--rate", "100", "--duration", "60", "--seed", "4", "-q"], check=True)
        frames = list(pcap_frames(cap))
        busy = queue_of(frames[0], 2)
        self.assertTrue(all(queue_of(f, 2) == busy for f in frames))
        ref, ref_msgs = self.replay(cap, 1)
        # paced, so that the quiet queue's lcore polls while the other works
        s, msgs = self.replay(cap, 2, extra=["--speed", "3000pps"])
        self.check(s, msgs)
        quiet = s["rx_queues"][1 - busy]
        self.assertEqual(quiet["packets"], 0)
        self.assertGreater(quiet["watermark_raised"], 0)
        self.assertSameWindows(ref_msgs, msgs, "one busy queue")
        self.assertEqual(s["records"], ref["records"])

    def test_weirctl_with_two_queues(self):
        cap = os.path.join(self.tmp, "paced.pcap")
        subprocess.run([os.path.join(self.tools, "weir-gen"), "-o", cap, "--devices", "40",
                        "--rate", "400", "--duration", "8", "--seed", "6", "-q"], check=True)
        sock = os.path.join(self.tmp, "paced.sock")
        p = subprocess.Popen([os.path.join(self.tools, "weir"), "replay", cap, "--speed", "1x",
                              "--set", "dataplane.rx_queues=2", "--set", "aggregator.workers=2",
                              "--set", "control.socket=" + sock,
                              "--set", "control.metrics_listen=",
                              "--set", "kafka.brokers=" + self.broker.addr],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for _ in range(200):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)

            def ctl(*args):
                return subprocess.run([os.path.join(self.tools, "weirctl"), "-s", sock,
                                       "--json"] + list(args), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, timeout=30)
            time.sleep(1.5)
            r = ctl("flush")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(json.loads(r.stdout)["served"], r.stdout)
            r = ctl("stats")
            roles = [l["role"] for l in json.loads(r.stdout)["lcores"]]
            self.assertEqual(roles[:4], ["rx0", "rx1", "agg0", "agg1"])
            r = ctl("set", "window.allowed_lateness", "7s")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = ctl("get", "window.allowed_lateness")
            self.assertIn("7s", r.stdout)
            r = ctl("set", "window.size", "20s")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("one RX queue", r.stdout + r.stderr)
        finally:
            out, _ = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0)
        s = json.loads(out)
        self.assertEqual(s["records"]["dropped"], 0)
        self.assertEqual(sum(q["packets"] for q in s["rx_queues"]), s["packets"]["rx"])

    def test_needs_workers(self):
        r = subprocess.run([os.path.join(self.tools, "weir"), "replay", self.cap, "--set",
                            "dataplane.rx_queues=2", "--set", "aggregator.workers=0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertIn("rx_queues", r.stderr)
        self.assertIn("workers", r.stderr)


if __name__ == "__main__":
    unittest.main()
