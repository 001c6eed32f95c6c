#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Checkpoints across SIGKILL (issue 5, [checkpoint] dir).

A weir-gen capture is cut in two at a point in time: part A, then part B.
A first `weir replay A --speed 1x` with checkpoints every 1 s of capture
time is SIGKILLed right after a window closed that every owner's last
checkpoint still holds next to windows still open; a second
`weir replay B` with the same checkpoint directory resumes the open windows
and finishes. Kafka lives in a separate weir-devbroker, so what the first
run delivered survives its crash. Reading topic `aggregated` back:
  - no (device, window_start) appears twice;
  - windows delivered before the kill equal the reference model's (on A+B);
  - every window of the second run is a model window with count <= the
    model's (a crash loses records folded since the last checkpoint), and
    windows whose records all lie in B are exact;
  - SPEC 7 with checkpoints: records.accepted + checkpoint.restored_records
    = sum of count over the second run's windows, and
    windows.emitted = delivered + failed + spilled;
  - the restart restores exactly the checkpointed windows above each
    owner's close mark and discards (counts) the others;
  - a clean end removes the checkpoint files.

Usage: WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_checkpoint.py
"""
import collections
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_faults import Broker, build_dir, decode_messages, start_replay  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
REFMODEL = os.path.join(ROOT, "tests", "refmodel.py")
START = 1732233600
SPLIT = 24			# seconds of capture in part A
# no idle advance: the gap between the kill and part B must not move the watermark
WIN = ["window.size=5s", "window.slide=5s", "window.allowed_lateness=2s",
       "window.idle_timeout=1h"]
NS = 10**9


def split_pcap(src, a, b, cut_ns):
    """Frames with a timestamp < cut_ns go to a, the others to b."""
    with open(src, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    frac = 1 if magic == 0xa1b23c4d else 1000	# ns or us timestamps
    out = [bytearray(data[:24]), bytearray(data[:24])]
    off = 24
    while off + 16 <= len(data):
        sec, sub, incl, _ = struct.unpack_from("<IIII", data, off)
        rec = data[off:off + 16 + incl]
        out[0 if sec * NS + sub * frac < cut_ns else 1] += rec
        off += 16 + incl
    for path, buf in zip((a, b), out):
        with open(path, "wb") as f:
            f.write(buf)


def read_ckpt(path, n_metrics=4):
    """Window (k, count) entries of a checkpoint file (aggregator/agg_ckpt.c layout)."""
    with open(path, "rb") as f:
        data = f.read()
    magic, _, hdr_size = struct.unpack_from("<IHH", data, 0)
    assert magic == 0x504b4357 and hdr_size == 104
    n = struct.unpack_from("<Q", data, 40)[0]
    off, out = hdr_size, []
    for _ in range(n):
        k, count, id_len = struct.unpack_from("<qQB", data, off)
        out.append((k, count))
        off += 24 + (id_len + 7) // 8 * 8 + n_metrics * 48
    return out


def read_closed(path):
    """closed_k of a close mark (None: none yet)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if len(data) != 32:
        return None
    return struct.unpack_from("<q", data, 8)[0]


def same_window(a, b):
    if a["count"] != b["count"] or set(a["metrics"]) != set(b["metrics"]):
        return False
    for name, m in a["metrics"].items():
        e = b["metrics"][name]
        if m["count"] != e["count"]:
            return False
        for k in ("min", "max", "sum", "avg"):
            if abs(m[k] - e[k]) > 1e-9 * max(1.0, abs(e[k])):
                return False
    return True


class CheckpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("kcat") is None:
            raise unittest.SkipTest("kcat not installed")
        cls.tools = os.path.join(build_dir(), "tools")
        cls.tmp = tempfile.mkdtemp(prefix="weir-ckpt-")
        full = os.path.join(cls.tmp, "full.pcap")
        subprocess.run([os.path.join(cls.tools, "weir-gen"), "-o", full, "--devices", "40",
                        "--rate", "2000", "--duration", "36", "--encoding", "json=1,snr1=1",
                        "--jitter", "0.5", "--seed", "11", "--start", str(START), "-q"],
                       check=True)
        cls.cap_a = os.path.join(cls.tmp, "a.pcap")
        cls.cap_b = os.path.join(cls.tmp, "b.pcap")
        split_pcap(full, cls.cap_a, cls.cap_b, (START + SPLIT) * NS)
        sets = []
        for s in WIN:
            sets += ["--set", s]
        r = subprocess.run([sys.executable, REFMODEL, full] + sets, capture_output=True,
                           text=True, timeout=600, check=True)
        cls.model = {(w["device_id"], w["window_start"]): w
                     for w in json.loads(r.stdout)["windows"]}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=self.tmp)
        self.broker = Broker(self.tools, self.dir)
        self.addCleanup(self.broker.stop)
        self.n_run = 0

    def weir(self, cap, sets, speed):
        return start_replay(self, os.path.join(self.tools, "weir"), cap, WIN + sets, speed)

    def stats(self, sock):
        if not os.path.exists(sock):
            return None
        r = subprocess.run([os.path.join(self.tools, "weirctl"), "-s", sock, "--json",
                            "stats"], capture_output=True, text=True, timeout=20)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def consume(self):
        """Everything in topic aggregated (two reads that agree: nothing in flight)."""
        last = None
        for _ in range(20):
            k = subprocess.run(["kcat", "-b", self.broker.addr, "-t", "aggregated", "-C",
                                "-e", "-o", "beginning", "-q", "-f", "%k\t%T\t%s\n"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(k.returncode, 0, k.stderr)
            msgs = [l.split("\t", 2) for l in k.stdout.splitlines() if l]
            if last is not None and len(msgs) == len(last):
                break
            last = msgs
            time.sleep(1)
        return decode_messages(self, msgs)

    def sigkill_resume(self, workers, interval):
        ck = os.path.join(self.dir, "ckpt")
        sets = ["checkpoint.dir=" + ck, "checkpoint.interval=%ds" % interval,
                "aggregator.workers=%d" % workers]
        owners = max(workers, 1)

        def state():
            """Per owner (checkpoint entries, close mark), None until all exist."""
            out = []
            for w in range(owners):
                path = os.path.join(ck, "agg%d.ckpt" % w)
                closed = read_closed(os.path.join(ck, "agg%d.closed" % w))
                if not os.path.exists(path) or closed is None:
                    return None
                out.append((read_ckpt(path), closed))
            return out

        # run 1: part A in capture time, SIGKILLed at the moment that tests
        # the most: every owner's last checkpoint holds windows closed since
        # (in Kafka: must not come back) and windows still open (to restore)
        p, _, err = self.weir(self.cap_a, sets, "1x")
        deadline = time.time() + 90
        hit = None
        while time.time() < deadline and p.poll() is None:
            st = state()
            # (from the close of [t0 + 10 s, t0 + 15 s) on: a run well under way)
            if st is not None and all(closed >= (START + 10) // 5 and
                                      any(k <= closed for k, _ in e) and
                                      any(k > closed for k, _ in e) for e, closed in st):
                hit = st
                break
            time.sleep(0.02)
        self.assertIsNotNone(hit, "no checkpoint straddling a window close in run 1")
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        # the files as the crash left them: what the restart must do
        st = state()
        self.assertIsNotNone(st)
        want_restored = sum(1 for e, closed in st for k, _ in e if k > closed)
        want_records = sum(n for e, closed in st for k, n in e if k > closed)
        want_discarded = sum(1 for e, closed in st for k, _ in e if k <= closed)
        first = self.consume()
        self.assertGreater(len(first), 0)

        # run 2: part B resumes the open windows
        p, _, err = self.weir(self.cap_b, sets, "max")
        out, _ = p.communicate(timeout=180)
        err.seek(0)
        log = err.read()
        self.assertEqual(p.returncode, 0, log[-3000:])
        s = json.loads(out)
        self.assertIn("resuming from checkpoint", log)
        c = s["checkpoint"]
        self.assertGreater(c["restored_windows"], 0, c)
        self.assertGreater(c["restored_records"], 0, c)
        self.assertEqual(c["refused"], 0, c)
        self.assertEqual(c["restored_windows"], want_restored, c)
        self.assertEqual(c["restored_records"], want_records, c)
        self.assertEqual(c["discarded"], want_discarded, c)
        self.assertGreater(c["discarded"], 0, c)
        self.assertEqual(c["failed"], 0, c)
        self.assertEqual(s["records"]["dropped"], 0)
        k = s["kafka"]
        self.assertEqual(s["windows"]["emitted"] + k["replayed"],
                         k["delivered"] + k["failed"] + k["spilled"], s)
        self.assertEqual(k["failed"], 0)
        # a clean end leaves nothing to resume
        self.assertEqual([f for f in os.listdir(ck) if f.startswith("agg")], [])

        msgs = self.consume()
        got = collections.Counter((m["device_id"], m["window_start"]) for m in msgs)
        dups = [key for key, n in got.items() if n > 1]
        self.assertEqual(dups, [], "a (device, window) emitted twice across the crash")

        before = {(m["device_id"], m["window_start"]) for m in first}
        second = [m for m in msgs if (m["device_id"], m["window_start"]) not in before]
        self.assertEqual(len(second), s["windows"]["emitted"])
        for m in first:
            key = (m["device_id"], m["window_start"])
            self.assertIn(key, self.model)
            self.assertTrue(same_window(m, self.model[key]),
                            "closed before the kill, differs from the model: %r vs %r"
                            % (m, self.model[key]))
        b_start_ms = (START + SPLIT) * 1000
        exact = 0
        for m in second:
            key = (m["device_id"], m["window_start"])
            self.assertIn(key, self.model)
            self.assertLessEqual(m["count"], self.model[key]["count"], key)
            # every record of this window is in part B (jitter < 1 s)
            if m["window_start"] >= b_start_ms + 1000:
                self.assertTrue(same_window(m, self.model[key]), key)
                exact += 1
        self.assertGreater(exact, 0)
        # SPEC 7 with checkpoints (tumbling)
        self.assertEqual(sum(m["count"] for m in second),
                         s["records"]["accepted"] + c["restored_records"])
        # the restored windows were the ones open at the last checkpoint: some
        # are windows the first run never emitted, and none was emitted twice
        restored_keys = [m for m in second if m["window_start"] < b_start_ms]
        self.assertGreaterEqual(len(restored_keys), c["restored_windows"])
        lost = sum(self.model[(m["device_id"], m["window_start"])]["count"] - m["count"]
                   for m in second)
        if os.environ.get("WEIR_TEST_VERBOSE"):
            print("\nworkers=%d: first run delivered %d windows; second emitted %d (%d "
                  "exact, %d restored from %s); %d records lost in the crash; %r"
                  % (workers, len(first), len(second), exact, c["restored_windows"],
                     "checkpoints", lost, c), file=sys.stderr)
        return c

    # A checkpoint every second of capture time, 5 s windows, 2 s lateness:
    # window [5m - 5, 5m) closes at about 5m + 2.2 s, so the checkpoints at
    # 5m + 1 and 5m + 2 straddle it and the kill has until 5m + 3 to land.

    def test_sigkill_resume_workers2(self):
        """Two aggregator lcores, each saving and restoring its own windows."""
        self.sigkill_resume(2, 1)

    def test_sigkill_resume_inline(self):
        """workers = 0: the RX lcore aggregates and checkpoints inline."""
        self.sigkill_resume(0, 1)

    def test_lost_records_counted(self):
        """What a crash loses is counted by the next start (the counters of
        the crashed run survive in [checkpoint] dir/counters). No checkpoint
        is taken here (interval 1 h), so every record of a window still open
        at the kill is lost; the expectation comes from the reference model
        and from what reached Kafka, not from weir's counters."""
        ck = os.path.join(self.dir, "ckpt")
        sets = ["checkpoint.dir=" + ck, "checkpoint.interval=1h"]
        # part A, then 40 s of frames to another port: weir keeps running,
        # every record of A judged, while the test waits for Kafka
        tail = os.path.join(self.dir, "tail.pcap")
        subprocess.run([os.path.join(self.tools, "weir-gen"), "-o", tail, "--count", "40",
                        "--rate", "1", "--port", "9999", "--seed", "2", "-q",
                        "--start", str(START + SPLIT + 1)], check=True)
        both = os.path.join(self.dir, "a_tail.pcap")
        with open(self.cap_a, "rb") as fa, open(tail, "rb") as ft, open(both, "wb") as fo:
            fo.write(fa.read())
            fo.write(ft.read()[24:])
        sets_w = []
        for x in WIN:
            sets_w += ["--set", x]
        r = subprocess.run([sys.executable, REFMODEL, self.cap_a] + sets_w,
                           capture_output=True, text=True, timeout=600, check=True)
        total_a = sum(w["count"] for w in json.loads(r.stdout)["windows"])

        p, sock, _ = self.weir(both, sets, "4x")
        deadline = time.time() + 60
        st = None
        while time.time() < deadline and p.poll() is None:
            st = self.stats(sock)
            if (st is not None and st["records"]["accepted"] == total_a and
                    st["windows"]["emitted"] > 0 and
                    st["kafka"]["delivered"] == st["windows"]["emitted"]):
                break
            time.sleep(0.1)
        self.assertIsNone(p.poll(), "the replay ended before the kill")
        self.assertEqual(st["records"]["accepted"], total_a)
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        first = self.consume()
        in_kafka = sum(m["count"] for m in first)
        self.assertGreater(total_a - in_kafka, 0, "nothing was open at the kill")

        p, _, err = self.weir(tail, sets, "max")
        out, _ = p.communicate(timeout=120)
        err.seek(0)
        log = err.read()
        self.assertEqual(p.returncode, 0, log[-3000:])
        c = json.loads(out)["checkpoint"]
        self.assertEqual(c["restored_records"], 0, c)
        self.assertEqual(c["lost_records"], total_a - in_kafka, c)
        self.assertIn("lost %d records" % (total_a - in_kafka), log)
        # a clean stop removes the ledger: the next start counts nothing
        self.assertFalse(os.path.exists(os.path.join(ck, "counters")))
        p, _, _ = self.weir(tail, sets, "max")
        out, _ = p.communicate(timeout=120)
        self.assertEqual(json.loads(out)["checkpoint"]["lost_records"], 0)

    def test_refused_checkpoint_starts_fresh(self):
        """A checkpoint of another configuration is refused with a clear log
        line and counted; the run starts fresh and stays exact."""
        ck = os.path.join(self.dir, "ckpt")
        sets = ["checkpoint.dir=" + ck, "checkpoint.interval=2s"]
        p, sock, _ = self.weir(self.cap_a, sets, "1x")
        deadline = time.time() + 90
        while time.time() < deadline and p.poll() is None:
            if os.path.exists(os.path.join(ck, "agg0.ckpt")):
                break
            time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        self.assertTrue(os.path.exists(os.path.join(ck, "agg0.ckpt")))
        # the same directory under another metric list
        p, _, err = self.weir(self.cap_b, sets + ["input.metrics=temperature,humidity"], "max")
        out, _ = p.communicate(timeout=180)
        err.seek(0)
        log = err.read()
        self.assertEqual(p.returncode, 0, log[-3000:])
        s = json.loads(out)
        self.assertEqual(s["checkpoint"]["refused"], 1, s["checkpoint"])
        self.assertEqual(s["checkpoint"]["restored_windows"], 0)
        self.assertIn("event=checkpoint_refused", log)
        self.assertIn("another configuration", log)


if __name__ == "__main__":
    unittest.main()
