#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Overload and bounds (issue 5): ten times more distinct devices than
[aggregator] max_devices, into a broker with 100 ms of added round-trip time
(a sink that cannot keep up). weir must keep running, count every record
the device table had no room for (dropped_by_reason.devices_full) with at
most one log line a second, keep the SPEC 7 invariants, deliver exactly one
message per emitted device window, and stay within the memory it uses for
max_devices devices (peak RSS compared with a run of exactly max_devices
devices, same record count).

Usage: WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_overload.py
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from test_faults import Broker, build_dir

MAX_DEVICES = 2000
RECORDS = 120000


def peak_rss_kib(pid, stop, out):
    """Poll VmHWM of pid until stop is set; out[0] = the last value (KiB)."""
    while not stop.is_set():
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        out[0] = int(line.split()[1])
        except OSError:
            break
        time.sleep(0.05)


class OverloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("kcat") is None:
            raise unittest.SkipTest("kcat not installed")
        cls.tools = os.path.join(build_dir(), "tools")
        cls.tmp = tempfile.mkdtemp(prefix="weir-overload-")
        cls.caps = {}
        for devices in (MAX_DEVICES, 10 * MAX_DEVICES):
            cap = os.path.join(cls.tmp, "d%d.pcap" % devices)
            subprocess.run([os.path.join(cls.tools, "weir-gen"), "-o", cap, "--devices",
                            str(devices), "--count", str(RECORDS), "--rate", "40000",
                            "--encoding", "json", "--vlan", "0", "--ipv6", "0", "--seed",
                            "3", "-q"], check=True)
            cls.caps[devices] = cap

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_weir(self, devices):
        d = tempfile.mkdtemp(dir=self.tmp)
        broker = Broker(self.tools, d)
        self.addCleanup(broker.stop)
        broker.fault("rtt 100")
        err = open(os.path.join(d, "weir.err"), "w+")
        self.addCleanup(err.close)
        args = [os.path.join(self.tools, "weir"), "replay", self.caps[devices],
                "--set", "aggregator.max_devices=%d" % MAX_DEVICES,
                "--set", "window.size=1s", "--set", "window.slide=1s",
                "--set", "window.allowed_lateness=100ms",
                "--set", "control.socket=" + os.path.join(d, "weir.sock"),
                "--set", "control.metrics_listen=", "--set", "kafka.brokers=" + broker.addr,
                "--set", "topics.aggregated=agg"]
        t0 = time.time()
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        stop, rss = threading.Event(), [0]
        th = threading.Thread(target=peak_rss_kib, args=(p.pid, stop, rss))
        th.start()
        out, _ = p.communicate(timeout=600)
        stop.set()
        th.join()
        wall = time.time() - t0
        err.seek(0)
        log = err.read()
        self.assertEqual(p.returncode, 0, log[-2000:])
        s = json.loads(out)
        r = subprocess.run(["kcat", "-b", broker.addr, "-t", "agg", "-C", "-e", "-q", "-f",
                            "%k\t%s\n"], capture_output=True, text=True, timeout=300)
        msgs = [json.loads(line.split("\t", 1)[1]) for line in r.stdout.splitlines() if line]
        return s, msgs, rss[0], log, wall

    def test_ten_times_max_devices_with_a_slow_sink(self):
        base, base_msgs, base_rss, _, _ = self.run_weir(MAX_DEVICES)
        s, msgs, rss, log, wall = self.run_weir(10 * MAX_DEVICES)

        # the baseline fits: nothing dropped
        self.assertEqual(base["records"]["dropped"], 0, base)
        # overload: the table refuses devices beyond max_devices, and counts them
        drop = s["records"]["dropped_by_reason"]["devices_full"]
        self.assertGreater(drop, 0, s)
        self.assertEqual(s["records"]["dropped"], drop, s)
        self.assertEqual(s["records"]["accepted"] + s["records"]["late"] +
                         s["records"]["rejected"] + drop, RECORDS, s)
        # SPEC 7: every emitted window accounted for, exactly once in Kafka
        k = s["kafka"]
        self.assertEqual(s["windows"]["emitted"] + k.get("replayed", 0),
                         k["delivered"] + k["failed"] + k.get("spilled", 0), s)
        self.assertEqual(k["failed"], 0, s)
        keys = [(m["device_id"], m["window_start"]) for m in msgs]
        self.assertEqual(len(keys), len(set(keys)), "duplicate (device, window)")
        self.assertEqual(len(keys), s["windows"]["emitted"])
        self.assertEqual(sum(m["count"] for m in msgs), s["records"]["accepted"])
        # never more than max_devices devices at once in any window
        per_window = {}
        for dev, ws in keys:
            per_window.setdefault(ws, set()).add(dev)
        self.assertLessEqual(max(len(v) for v in per_window.values()), MAX_DEVICES)
        # one log line a second at most
        lines = log.count("event=devices_full")
        self.assertGreater(lines, 0)
        self.assertLessEqual(lines, int(wall) + 2, "devices_full logged %d times in %.1f s"
                             % (lines, wall))
        # memory: within what max_devices devices take (+10% and 16 MiB of slack
        # for librdkafka's queues, which hold more while the broker is slow)
        self.assertGreater(base_rss, 0)
        self.assertLessEqual(rss, base_rss * 1.10 + 16 * 1024,
                             "peak RSS %d KiB with 10x devices vs %d KiB" % (rss, base_rss))


if __name__ == "__main__":
    unittest.main()
