# SPDX-License-Identifier: BSD-3-Clause
"""weirctl against a running weir (issue 3).

One paced `weir replay` (about 35 s of sensor traffic at 1x, 5% of the
records 5 s late, 10 s tumbling windows, allowed lateness 1 s) into
weir-devbroker; while it runs every weirctl command is exercised in both
output forms, `set window.allowed_lateness` must stop the late count,
`flush` must emit the open windows, `watch` runs under tmux, and usage
and daemon errors give exit codes 2 and 1.

    python3 -m unittest tests/integration/test_weirctl.py
    WEIR_BUILD=build-asan python3 -m unittest tests/integration/test_weirctl.py

The build directory (WEIR_BUILD, default build-gcc, then build) is taken
relative to the repository, so any working directory works.
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


class WeirctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.build = build_dir()
        cls.tools = os.path.join(cls.build, "tools")
        cls.tmp = tempfile.mkdtemp(prefix="weirctl-test-")
        cls.sock = os.path.join(cls.tmp, "run", "weir.sock")
        cap = os.path.join(cls.tmp, "cap.pcap")
        subprocess.run([cls.tool("weir-gen"), "-o", cap, "--devices", "50", "--rate", "400",
                        "--duration", "36", "--late", "0.05", "--late-by", "5", "-q"],
                       check=True)
        bfile = os.path.join(cls.tmp, "bootstrap")
        cls.broker = subprocess.Popen([cls.tool("weir-devbroker"), "--partitions", "4",
                                       "--bootstrap-file", bfile],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
        deadline = time.time() + 10
        while not os.path.exists(bfile) and time.time() < deadline:
            time.sleep(0.05)
        with open(bfile) as f:
            bootstrap = f.read().strip()
        cls.err = open(os.path.join(cls.tmp, "weir.err"), "w+")
        cls.weir = subprocess.Popen(
            [cls.tool("weir"), "replay", cap, "--speed", "1x",
             "--set", "control.socket=" + cls.sock, "--set", "control.metrics_listen=",
             "--set", "kafka.brokers=" + bootstrap, "--set", "window.size=10s",
             "--set", "window.slide=10s", "--set", "window.allowed_lateness=1s"],
            stdout=subprocess.PIPE, stderr=cls.err, text=True)
        deadline = time.time() + 15
        while not os.path.exists(cls.sock) and time.time() < deadline:
            time.sleep(0.05)
        cls.t0 = time.time()

    @classmethod
    def tearDownClass(cls):
        for p in (cls.weir, cls.broker):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        cls.broker.stderr.close()
        cls.weir.stdout.close()
        cls.err.close()
        subprocess.run(["tmux", "-L", "weirctl-test", "kill-server"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tool(cls, name):
        return os.path.join(cls.tools, name)

    def ctl(self, *args, sock=None):
        return subprocess.run([self.tool("weirctl"), "-s", sock or self.sock] + list(args),
                              capture_output=True, text=True, timeout=20)

    def json_of(self, *args):
        r = self.ctl("--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertIs(doc["ok"], True)
        return doc

    def stats(self):
        return self.json_of("stats")

    def wait_until(self, seconds_after_start):
        left = self.t0 + seconds_after_start - time.time()
        if left > 0:
            time.sleep(left)

    # One test drives the whole timeline: the replay runs once.
    def test_weirctl(self):
        self.assertTrue(os.path.exists(self.sock), "weir did not create its socket")
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o660)
        self.commands_both_forms()
        self.errors_and_usage()
        self.flush_delivers()
        self.watch_under_tmux()
        self.lateness_change()
        # the replay ends by itself; the socket goes with it
        try:
            out, _ = self.weir.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            self.err.seek(0)
            self.fail("weir replay did not finish; its stderr ends:\n" + self.err.read()[-3000:])
        self.assertEqual(self.weir.returncode, 0)
        summary = json.loads(out)
        self.assertGreater(summary["records"]["accepted"], 0)
        self.assertFalse(os.path.exists(self.sock))
        r = self.ctl("status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no weir running", r.stderr)

    def commands_both_forms(self):
        self.wait_until(2.5)    # two stats samples: rates over a full second
        st = self.json_of("status")
        self.assertEqual(st["mode"], "replay")
        self.assertEqual(st["pid"], self.weir.pid)
        self.assertEqual([l["role"] for l in st["lcores"]],
                         ["main", "rx", "agg0", "sink", "control"])
        self.assertEqual(st["port"]["driver"], "net_ring")
        self.assertEqual(st["topics"]["aggregated"], "aggregated")

        s = self.stats()
        for key in ("packets", "datagrams", "records", "windows", "kafka", "throughput",
                    "latency_ns", "lcores", "rates"):
            self.assertIn(key, s)
        c = s["packets"]
        self.assertEqual(c["rx"], c["ignored"] + c["malformed"] + s["datagrams"])
        self.assertEqual(s["records"]["rejected"],
                         sum(s["records"]["rejected_by_reason"].values()))
        self.assertIn("queue", s["kafka"])
        self.assertEqual([l["role"] for l in s["lcores"]], ["rx", "agg0"])
        for l in s["lcores"]:
            for key in ("packets_per_s", "records_per_s", "busy_pct", "ring", "devices"):
                self.assertIn(key, l)
        self.assertGreater(s["rates"]["records_per_s"], 100)    # ~400/s flowing

        lat = self.json_of("latency")
        self.assertGreater(lat["rx_to_agg"]["count"], 0)
        for p in ("p50", "p90", "p99", "p999", "max"):
            self.assertIn(p, lat["close_to_ack"])
        self.assertLessEqual(lat["rx_to_agg"]["p50"], lat["rx_to_agg"]["max"])
        before = lat["rx_to_agg"]["count"]
        self.json_of("latency", "--reset")
        after = self.json_of("latency")
        self.assertEqual(after["since"], "reset")
        self.assertLess(after["rx_to_agg"]["count"], before)

        w = self.json_of("windows")
        self.assertEqual(w["window"]["size"], "10s")
        self.assertGreater(w["devices"], 0)
        self.assertIsNotNone(w["watermark_ms"])

        top = self.json_of("top", "5")
        self.assertEqual(len(top["devices"]), 5)
        recs = [d["records"] for d in top["devices"]]
        self.assertEqual(recs, sorted(recs, reverse=True))
        self.assertTrue(top["devices"][0]["device"].startswith("dev-"))

        g = self.json_of("get")
        self.assertEqual(g["tunables"]["window.allowed_lateness"], "1s")
        self.assertEqual(g["tunables"]["window.size"], "10s")
        self.assertNotIn("window.size", g["read_only"])
        self.assertEqual(self.json_of("get", "window.size")["writable"], True)
        self.assertIsNone(w["window"]["pending"])

        # the readable forms
        for args, want in ((["status"], "ROLE"), (["stats"], "records   accepted"),
                           (["latency"], "close_to_ack"), (["windows"], "watermark"),
                           (["top", "3"], "dev-"), (["get"], "read-only"),
                           (["get", "window.idle_timeout"], "window.idle_timeout = 10s")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(want, r.stdout)
            with self.assertRaises(ValueError):
                json.loads(r.stdout)

    def errors_and_usage(self):
        # 5 s is not a multiple of the 10 s slide: refused, nothing pending
        r = self.ctl("set", "window.size", "5s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("multiple of the slide", r.stderr)
        r = self.ctl("set", "window", "20s 0s")
        self.assertEqual(r.returncode, 1)
        r = self.ctl("set", "window", "10s 10s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already", r.stderr)
        r = self.ctl("set", "kafka.brokers", "x:1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("read-only", r.stderr)
        r = self.ctl("--json", "set", "window.size", "5s")
        self.assertEqual(r.returncode, 1)
        self.assertIs(json.loads(r.stdout)["ok"], False)
        r = self.ctl("set", "window.allowed_lateness", "1h")
        self.assertEqual(r.returncode, 1)
        self.assertIn("restart", r.stderr)
        self.assertIn("9.999999999s", r.stderr)
        r = self.ctl("set", "window.allowed_lateness", "soon")
        self.assertEqual(r.returncode, 1)
        for bad in (["frobnicate"], ["top", "zero"], ["set", "window.size"], ["--bogus"],
                    [], ["stats", "extra"], ["latency", "--reset", "now"]):
            r = self.ctl(*bad)
            self.assertEqual(r.returncode, 2, (bad, r.stdout, r.stderr))
        r = self.ctl("stats", sock=os.path.join(self.tmp, "none.sock"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("no weir running", r.stderr)
        for h in (["--help"], ["help", "stats"], ["stats", "--help"]):
            r = self.ctl(*h)
            self.assertEqual(r.returncode, 0)
            self.assertIn("usage: weirctl", r.stdout)

    def flush_delivers(self):
        before = self.stats()["windows"]["emitted"]
        f = self.json_of("flush")
        self.assertIs(f["served"], True)
        self.assertGreater(f["windows_emitted"], f["windows_emitted_before"])
        deadline = time.time() + 5
        while time.time() < deadline:
            s = self.stats()
            if s["kafka"]["delivered"] >= f["windows_emitted"]:
                break
            time.sleep(0.2)
        self.assertGreater(s["windows"]["emitted"], before)
        self.assertGreaterEqual(s["kafka"]["delivered"], f["windows_emitted"])
        self.assertEqual(self.json_of("windows")["flushes"], 1)

    def watch_under_tmux(self):
        tmux = ["tmux", "-L", "weirctl-test"]
        subprocess.run(tmux + ["new-session", "-d", "-s", "w", "-x", "80", "-y", "24",
                               self.tool("weirctl") + " -s " + self.sock + " watch"],
                       check=True)
        time.sleep(2.5)
        first = subprocess.run(tmux + ["capture-pane", "-p", "-t", "w"], check=True,
                               capture_output=True, text=True).stdout
        time.sleep(2.2)
        second = subprocess.run(tmux + ["capture-pane", "-p", "-t", "w"], check=True,
                                capture_output=True, text=True).stdout
        for screen in (first, second):
            self.assertIn("weir watch", screen)
            self.assertIn("agg0", screen)
            self.assertIn("kafka", screen)
            self.assertLessEqual(len(screen.rstrip("\n").split("\n")), 24)
            self.assertTrue(all(len(l) <= 80 for l in screen.split("\n")))
        self.assertNotEqual(first, second)      # live numbers
        subprocess.run(tmux + ["send-keys", "-t", "w", "q"], check=True)
        deadline = time.time() + 5
        while time.time() < deadline:
            if subprocess.run(tmux + ["has-session", "-t", "w"],
                              stderr=subprocess.DEVNULL).returncode != 0:
                break
            time.sleep(0.1)
        self.assertNotEqual(subprocess.run(tmux + ["has-session", "-t", "w"],
                                           stderr=subprocess.DEVNULL).returncode, 0,
                            "watch did not quit on q")

    def lateness_change(self):
        # 5 s late records against 1 s lateness: late whenever their window closed
        late0 = self.stats()["records"]["late"]
        self.assertGreater(late0, 0)
        r = self.ctl("set", "window.allowed_lateness", "8s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("in effect", r.stdout)
        self.assertEqual(self.json_of("get", "window.allowed_lateness")["value"], "8s")
        # the watermark holds until the data is 8 s past it; after ~5 s no
        # 5-s-late record can find its window closed any more
        time.sleep(5)
        s1 = self.stats()
        time.sleep(11)          # more than one window cycle
        s2 = self.stats()
        self.assertEqual(s2["records"]["late"], s1["records"]["late"])
        self.assertGreater(s2["records"]["accepted"], s1["records"]["accepted"] + 1000)
        self.assertEqual(s2["records"]["dropped"], 0)


if __name__ == "__main__":
    unittest.main()
