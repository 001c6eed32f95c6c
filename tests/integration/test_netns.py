# SPDX-License-Identifier: BSD-3-Clause
"""weir on a live network (issue 6): two network namespaces joined by a
veth pair. `weir run` receives on one end through net_af_packet, with
`[input] address`/`address6` set and no address on that end in the kernel
(so only weir can answer); from the other namespace `ping`, `arping` and
`ping -6` must be answered, then clients no one here wrote send records:
Debian's python3-influxdb (its UDP line-protocol client), socat sending
JSON, and a JSON datagram larger than the MTU that the sender's kernel
fragments. Every (device, window) in Kafka must match what was sent.
Three port set-ups run the same tests: AF_PACKET (the kernel reassembles),
AF_PACKET with two RX queues (rx_queues = 2 over qpairs = 2), and AF_XDP
(weir reassembles; skipped when the kernel refuses the XDP socket).

Needs root (namespaces); skipped otherwise.

    python3 -m unittest tests/integration/test_netns.py
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
from wtest import build_dir  # noqa: E402

WEIR_IP, PEER_IP = "10.99.0.2", "10.99.0.1"
WEIR_IP6, PEER_IP6 = "fd00:99::2", "fd00:99::1"
PORT = 9700
WINDOW_S = 10
# net_af_packet joins a fanout group with the kernel's defrag flag: a
# fragmented datagram reaches weir whole, so frames (and mbufs) must hold it
FRAME = 16384


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


# The Debian python3-influxdb lives in the system interpreter's dist-packages.
SYS_PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"

INFLUX_CLIENT = r"""
import sys
from influxdb import InfluxDBClient
host, port, t0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = InfluxDBClient(host=host, use_udp=True, udp_port=port)
points = []
for i in range(30):
    points.append({"measurement": "env", "tags": {"device_id": "influx-%d" % (i % 3)},
                   "time": t0 + i * 100000000,
                   "fields": {"temperature": 20.0 + i * 0.25, "humidity": float(40 + i)}})
c.write_points(points, time_precision="n")
"""


class NetnsTest(unittest.TestCase):
    QUEUES = 1
    PMD = "af_packet"

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root for network namespaces")
        for tool in ("ip", "ping", "arping", "socat", "kcat"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(tool + " is not installed")
        cls.build = build_dir("weir")
        cls.tools = os.path.join(cls.build, "tools")
        cls.tmp = tempfile.mkdtemp(prefix="weir-netns-")
        tag = str(os.getpid())
        cls.ns_w, cls.ns_s = "weirw" + tag, "weirs" + tag
        cls.procs = []
        r = sh("ip", "netns", "add", cls.ns_w, check=False)
        if r.returncode != 0:
            raise unittest.SkipTest("cannot create a network namespace here: " +
                                    r.stderr.strip())
        cls.addClassCleanup(cls.teardown_ns)
        sh("ip", "netns", "add", cls.ns_s)
        r = sh("ip", "link", "add", "vw" + tag, "type", "veth", "peer", "name", "vs" + tag,
               check=False)
        if r.returncode != 0:
            raise unittest.SkipTest("cannot create a veth pair here: " + r.stderr.strip())
        sh("ip", "link", "set", "vw" + tag, "netns", cls.ns_w)
        sh("ip", "link", "set", "vs" + tag, "netns", cls.ns_s)
        cls.if_w, cls.if_s = "vw" + tag, "vs" + tag
        w = ["ip", "netns", "exec", cls.ns_w]
        s = ["ip", "netns", "exec", cls.ns_s]
        # weir's end: up, no address, no kernel IPv6 (weir alone answers)
        sh(*w, "sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % cls.if_w)
        sh(*w, "ip", "link", "set", "lo", "up")
        sh(*w, "ip", "link", "set", cls.if_w, "up")
        sh(*s, "ip", "link", "set", "lo", "up")
        sh(*s, "ip", "addr", "add", PEER_IP + "/24", "dev", cls.if_s)
        sh(*s, "ip", "addr", "add", PEER_IP6 + "/64", "dev", cls.if_s, "nodad")
        sh(*s, "ip", "link", "set", cls.if_s, "up")
        cls.w, cls.s = w, s

        bfile = os.path.join(cls.tmp, "bootstrap")
        cls.broker = subprocess.Popen(w + [os.path.join(cls.tools, "weir-devbroker"),
                                           "--partitions", "2", "--bootstrap-file", bfile],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.procs.append(cls.broker)
        deadline = time.time() + 10
        while not os.path.exists(bfile) and time.time() < deadline:
            time.sleep(0.05)
        with open(bfile) as f:
            cls.bootstrap = f.read().strip()
        cls.sock = os.path.join(cls.tmp, "weir.sock")
        conf = os.path.join(cls.tmp, "weir.conf")
        with open(conf, "w") as f:
            f.write("[input]\naddress = %s\naddress6 = %s\n"
                    "[window]\nsize = %ds\nslide = %ds\nallowed_lateness = 60s\n"
                    "[aggregator]\nmax_devices = 1000\n"
                    "[dataplane]\nmbufs = %d\nmbuf_size = %d\nrx_queues = %d\n"
                    "[kafka]\nbrokers = %s\n"
                    "[control]\nsocket = %s\nmetrics_listen =\n"
                    % (WEIR_IP, WEIR_IP6, WINDOW_S, WINDOW_S, cls.mbufs(), cls.mbuf_size(), cls.QUEUES,
                       cls.bootstrap, cls.sock))
        cls.err = open(os.path.join(cls.tmp, "weir.err"), "w+")
        cls.weir = subprocess.Popen(
            w + [os.path.join(cls.tools, "weir"), "run", "-c", conf, "--",
                 cls.vdev()],
            stdout=subprocess.PIPE, stderr=cls.err, text=True)
        cls.procs.append(cls.weir)
        deadline = time.time() + 30
        while not os.path.exists(cls.sock) and time.time() < deadline:
            if cls.weir.poll() is not None:
                break
            time.sleep(0.1)
        if not os.path.exists(cls.sock):
            cls.err.seek(0)
            log = cls.err.read()
            if cls.PMD == "af_xdp" and "af_xdp" in log.lower():
                raise unittest.SkipTest("AF_XDP is not usable here:\n" + log[-1500:])
            raise RuntimeError("weir did not start:\n" + log)

    @classmethod
    def vdev(cls):
        if cls.PMD == "af_xdp":
            return "--vdev=net_af_xdp0,iface=%s,start_queue=0,queue_count=%d" % (
                cls.if_w, cls.QUEUES)
        return "--vdev=net_af_packet0,iface=%s,framesz=%d,blocksz=%d,qpairs=%d" % (
            cls.if_w, FRAME, FRAME, cls.QUEUES)

    @classmethod
    def mbufs(cls):
        # AF_XDP fills its umem fill ring (1024 descriptors) from the pool up front
        return 4095 if cls.PMD == "af_xdp" else 1023

    @classmethod
    def mbuf_size(cls):
        # AF_PACKET hands over datagrams the kernel reassembled: whole frames;
        # AF_XDP hands over the wire's fragments, weir reassembles them
        return 2176 if cls.PMD == "af_xdp" else FRAME + 128

    @classmethod
    def teardown_ns(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in (cls.ns_w, cls.ns_s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ctl(self, *args):
        r = sh(os.path.join(self.tools, "weirctl"), "-s", self.sock, "--json", *args)
        return json.loads(r.stdout)

    def test_1_ping_arping_nd(self):
        r = sh(*self.s, "arping", "-c", "2", "-w", "10", "-I", self.if_s, WEIR_IP,
               check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("reply from " + WEIR_IP, r.stdout.lower())
        r = sh(*self.s, "ping", "-c", "3", "-i", "0.2", "-W", "5", "-s", "1000", WEIR_IP,
               check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("3 received", r.stdout)
        # IPv6: neighbour discovery first, then the echo
        r = sh(*self.s, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "5", WEIR_IP6,
               check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("3 received", r.stdout)
        st = self.ctl("stats")
        self.assertGreaterEqual(st["packets"]["host_replies"], 2 + 3 + 3 + 1)
        self.assertEqual(st["packets"]["host_tx_failed"], 0)

    def test_2_clients(self):
        now_ms = int(time.time() * 1000)
        t0 = (now_ms // 1000 - 30) * 1000      # well inside max_future, in the past
        sent = {}                               # (device, window_start_ms) -> [values]

        def note(dev, ts_ms, v):
            ws = ts_ms // (WINDOW_S * 1000) * WINDOW_S * 1000
            sent.setdefault((dev, ws), []).append(v)

        # socat: one JSON record per datagram
        for i in range(20):
            ts = t0 + i * 200
            rec = {"device_id": "socat-%d" % (i % 2), "ts": ts, "temperature": 10.0 + i}
            sh(*self.s, "socat", "-u", "-", "UDP4-SENDTO:%s:%d" % (WEIR_IP, PORT),
               input=json.dumps(rec) + "\n")
            note(rec["device_id"], ts, rec["temperature"])
        # socat over IPv6
        rec = {"device_id": "socat-v6", "ts": t0, "temperature": 7.5}
        sh(*self.s, "socat", "-u", "-", "UDP6-SENDTO:[%s]:%d" % (WEIR_IP6, PORT),
           input=json.dumps(rec) + "\n")
        note("socat-v6", t0, 7.5)
        # one JSON array of 80 records, ~6 KB: the sender's kernel fragments it
        big = [{"device_id": "big-%d" % (i % 4), "ts": t0 + 1000 + i,
                "temperature": -5.0 + i / 8.0, "pad": "x" * 40} for i in range(80)]
        payload = json.dumps(big)
        self.assertGreater(len(payload), 3 * 1500)
        self.assertLess(len(payload), FRAME - 100)
        sh(*self.s, "socat", "-u", "-b", "65000", "-", "UDP4-SENDTO:%s:%d" % (WEIR_IP, PORT),
           input=payload)
        for r in big:
            note(r["device_id"], r["ts"], r["temperature"])
        # Debian's InfluxDB client, UDP line protocol
        sh(*self.s, SYS_PY, "-c", INFLUX_CLIENT, WEIR_IP, str(PORT), str(t0 * 1000000))
        for i in range(30):
            note("influx-%d" % (i % 3), t0 + i * 100, 20.0 + i * 0.25)

        time.sleep(1.0)
        os.kill(self.weir.pid, signal.SIGTERM)
        self.weir.communicate(timeout=60)
        self.assertEqual(self.weir.returncode, 0)
        # weir run writes its summary on stderr
        self.err.seek(0)
        lines = [l for l in self.err.read().splitlines() if l.startswith('{"packets"')]
        self.assertTrue(lines, "no summary from weir run")
        summary = json.loads(lines[-1])
        got = {}
        r = sh(*self.w, "kcat", "-b", self.bootstrap, "-t", "aggregated", "-C", "-e",
               "-q", "-f", "%s\n", timeout=60)
        for line in r.stdout.splitlines():
            m = json.loads(line)
            got[(m["device_id"], m["window_start"])] = m
        for key, vals in sent.items():
            self.assertIn(key, got, "no aggregate for %s; summary %s" % (key, summary))
            t = got[key]["metrics"]["temperature"]
            self.assertEqual(t["count"], len(vals), key)
            self.assertEqual(t["min"], min(vals), key)
            self.assertEqual(t["max"], max(vals), key)
            self.assertAlmostEqual(t["sum"], sum(vals), places=9)
        self.assertEqual(set(got), set(sent))
        self.assertEqual(summary["records"]["rejected"], 0, summary)
        self.assertEqual(summary["records"]["late"], 0, summary)
        self.assertEqual(summary["packets"]["malformed"], 0, summary)
        self.assertEqual(summary["records"]["accepted"],
                         sum(m["count"] for m in got.values()), summary)
        queues = [q["packets"] for q in summary["rx_queues"]]
        self.assertEqual(len(queues), self.QUEUES)
        self.assertEqual(sum(queues), summary["packets"]["rx"])
        if self.PMD == "af_xdp":
            self.assertGreaterEqual(summary["packets"]["reassembled"], 1, summary)
        if self.QUEUES > 1:
            # two dozen flows (every socat has its own source port) over the
            # kernel's fanout hash: both queues get some
            self.assertTrue(all(n > 0 for n in queues), queues)


class NetnsTwoQueuesTest(NetnsTest):
    """The same through two RX queues: AF_PACKET qpairs=2 (a fanout group
    the kernel spreads by flow hash), one RX lcore each; ARP, ND and echo
    answered on the queue they came in on."""
    QUEUES = 2



class NetnsAfXdpTest(NetnsTest):
    """The same on AF_XDP (the README's example for hosts without a DPDK
    NIC): an XDP program on the veth end redirects to weir's socket, the
    kernel does not reassemble, weir's rte_ip_frag does."""
    PMD = "af_xdp"


if __name__ == "__main__":
    unittest.main()
