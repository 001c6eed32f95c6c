# SPDX-License-Identifier: BSD-3-Clause
"""weirctl set window at run time (issue 3): a window size/slide change
takes effect at the next aligned boundary B and says when.

A paced `weir replay` (30 s of traffic at 1x, 10 s tumbling windows) into
weir-devbroker; about 8 s in, `weirctl set window "20s 20s"` must name B;
a second change while it is pending is refused as busy; once the old
scheme's windows are closed `get` shows 20s. Kafka (kcat) must then hold
only 10 s windows starting before B (tumbling: ending at or before it) and
20 s windows starting at or after B, and their counts must add up to
records.accepted (each record counted once per window it joins). Runs with
one aggregator lcore, inline (workers = 0), and two lcores starting from
sliding 10 s/5 s windows.

    WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_winchange.py
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wtest import ROOT, build_dir  # noqa: E402
S = 1000  # ms


class WinChangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("kcat") is None:
            raise unittest.SkipTest("kcat not installed")
        cls.tools = os.path.join(build_dir(), "tools")
        cls.tmp = tempfile.mkdtemp(prefix="winchange-test-")
        cls.cap = os.path.join(cls.tmp, "cap.pcap")
        subprocess.run([cls.tool("weir-gen"), "-o", cls.cap, "--devices", "20", "--rate",
                        "300", "--duration", "30", "-q"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tool(cls, name):
        return os.path.join(cls.tools, name)

    def ctl(self, sock, *args):
        return subprocess.run([self.tool("weirctl"), "-s", sock] + list(args),
                              capture_output=True, text=True, timeout=20)

    def run_change(self, workers, slide_s=10):
        tmp = tempfile.mkdtemp(dir=self.tmp)
        sock = os.path.join(tmp, "weir.sock")
        bfile = os.path.join(tmp, "bootstrap")
        broker = subprocess.Popen([self.tool("weir-devbroker"), "--partitions", "2",
                                   "--bootstrap-file", bfile],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        weir = None
        try:
            deadline = time.time() + 10
            while not os.path.exists(bfile) and time.time() < deadline:
                time.sleep(0.05)
            with open(bfile) as f:
                bootstrap = f.read().strip()
            err = open(os.path.join(tmp, "weir.err"), "w+")
            self.addCleanup(err.close)
            weir = subprocess.Popen(
                [self.tool("weir"), "replay", self.cap, "--speed", "1x",
                 "--set", "control.socket=" + sock, "--set", "control.metrics_listen=",
                 "--set", "kafka.brokers=" + bootstrap, "--set", "window.size=10s",
                 "--set", "window.slide=%ds" % slide_s, "--set", "window.allowed_lateness=1s",
                 "--set", "aggregator.workers=%d" % workers],
                stdout=subprocess.PIPE, stderr=err, text=True)
            deadline = time.time() + 15
            while not os.path.exists(sock) and time.time() < deadline:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(sock), "weir did not create its socket")
            time.sleep(8)

            r = self.ctl(sock, "--json", "set", "window", "20s 20s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            ans = json.loads(r.stdout)
            b_ms = ans["takes_effect_at_ms"]
            self.assertEqual(b_ms % (20 * S), 0)
            self.assertIn(ans["takes_effect_at"], ans["note"])
            self.assertEqual(ans["value"], "20s/20s")
            w = json.loads(self.ctl(sock, "--json", "windows").stdout)
            self.assertEqual(w["window"]["pending"]["at_ms"], b_ms)
            self.assertEqual(w["window"]["pending"]["size"], "20s")
            # the boundary lies past every time judged so far
            self.assertGreater(b_ms, w["watermark_ms"])
            r = self.ctl(sock, "set", "window.size", "40s")
            self.assertEqual(r.returncode, 1)
            self.assertIn("busy", r.stderr)
            self.assertIn(ans["takes_effect_at"], r.stderr)

            # the readable form says when too
            deadline = time.time() + 40
            size = None
            while time.time() < deadline:
                g = json.loads(self.ctl(sock, "--json", "get", "window.size").stdout)
                size = g["value"]
                if size == "20s":
                    break
                time.sleep(0.5)
            self.assertEqual(size, "20s", "the change did not complete")
            self.assertEqual(json.loads(self.ctl(sock, "--json", "get", "window.slide")
                                        .stdout)["value"], "20s")
            w = json.loads(self.ctl(sock, "--json", "windows").stdout)
            self.assertIsNone(w["window"]["pending"])
            r = self.ctl(sock, "set", "window.slide", "10s")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("takes effect at", r.stdout)

            out, _ = weir.communicate(timeout=90)
            self.assertEqual(weir.returncode, 0)
            summary = json.loads(out)
            accepted = summary["records"]["accepted"]
            self.assertGreater(accepted, 1000)
            self.assertEqual(summary["records"]["dropped"], 0)
            emitted = summary["windows"]["emitted"]
            msgs = []
            for _ in range(5):
                k = subprocess.run(["kcat", "-b", bootstrap, "-t", "aggregated", "-C", "-e",
                                    "-o", "beginning", "-q", "-f", "%s\n"],
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(k.returncode, 0, k.stderr)
                msgs = [json.loads(l) for l in k.stdout.splitlines() if l]
                if len(msgs) >= emitted:
                    break
                time.sleep(1)
            self.assertEqual(len(msgs), emitted)
            old = new = old_sum = new_sum = 0
            for m in msgs:
                span = m["window_end"] - m["window_start"]
                if span == 10 * S:
                    # old scheme: only windows that start before B (with a
                    # 10 s slide: that end at or before it), holding t < B
                    self.assertLess(m["window_start"], b_ms, m)
                    self.assertEqual(m["window_start"] % (slide_s * S), 0, m)
                    if slide_s == 10:
                        self.assertLessEqual(m["window_end"], b_ms, m)
                    old += 1
                    old_sum += m["count"]
                elif span == 20 * S:
                    self.assertGreaterEqual(m["window_start"], b_ms, m)
                    self.assertEqual(m["window_start"] % (20 * S), 0, m)
                    new += 1
                    new_sum += m["count"]
                else:
                    # the last change (slide 10s, sliding 20s windows) may have
                    # started before the end of input
                    self.fail("unexpected window %r" % m)
            self.assertGreater(old, 0)
            self.assertGreater(new, 0)
            # every record is in exactly 10 / slide old windows or in one new one
            per = 10 // slide_s
            self.assertEqual(old_sum % per, 0)
            self.assertEqual(old_sum // per + new_sum, accepted)
        finally:
            for p in (weir, broker):
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()

    def test_one_worker(self):
        self.run_change(1)

    def test_inline(self):
        self.run_change(0)

    def test_two_workers_from_sliding(self):
        self.run_change(2, slide_s=5)


if __name__ == "__main__":
    unittest.main()
