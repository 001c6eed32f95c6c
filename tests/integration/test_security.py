# SPDX-License-Identifier: BSD-3-Clause
"""Security and bad configuration (issue 5, "Security" and "Bad input").

- the weirctl socket is mode 0660 and owned by [control] socket_group;
- the metrics listener is on loopback by default and a warning is logged
  when it is configured on any other address;
- `weirctl get` shows "(hidden)" for passwords and private keys, and the
  secret appears in no output or log;
- every weirctl set and flush is logged with the peer's pid and uid;
- [kafka] keys reach librdkafka as they are: SASL/SSL misconfigurations
  stop weir with librdkafka's reason;
- [control] user: every thread switches to the user (run as root here,
  against weir-devbroker), weirctl keeps working, results are delivered,
  the socket is removed at exit; the cases that cannot work are refused
  with a message that says why;
- bad configuration values stop weir before any output, naming where the
  key was set, the key, and what is wrong.

    python3 -m unittest tests/integration/test_security.py
    WEIR_BUILD=build-asan python3 -m unittest tests/integration/test_security.py
"""
import grp
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "hunter2-S3cr3t-pw"
KEY_SECRET = "kp-S3cr3t-77"


def build_dir():
    want = os.environ.get("WEIR_BUILD")
    for d in ([want] if want else ["build-gcc", "build"]):
        path = d if os.path.isabs(d) else os.path.join(ROOT, d)
        if os.path.exists(os.path.join(path, "tools", "weirctl")):
            return path
    raise unittest.SkipTest("no build with tools/weirctl (set WEIR_BUILD)")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def non_loopback_ip():
    """An address of this host that is not loopback, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))    # no packet is sent
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def some_group():
    """A group other than ours for socket_group (nogroup where it exists)."""
    for name in ("nogroup", "nobody", "daemon"):
        try:
            return grp.getgrnam(name)
        except KeyError:
            pass
    return grp.getgrgid(os.getgid())


class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.build = build_dir()
        cls.tmp = tempfile.mkdtemp(prefix="weir-sec-test-")
        os.chmod(cls.tmp, 0o755)    # an unprivileged weir must reach its files
        cls.cap = os.path.join(cls.tmp, "cap.pcap")
        subprocess.run([cls.tool("weir-gen"), "-o", cls.cap, "--devices", "20", "--rate",
                        "200", "--duration", "6", "-q"], check=True)
        os.chmod(cls.cap, 0o644)
        bfile = os.path.join(cls.tmp, "bootstrap")
        cls.broker = subprocess.Popen([cls.tool("weir-devbroker"), "--partitions", "4",
                                       "--bootstrap-file", bfile],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(bfile) and time.time() < deadline:
            time.sleep(0.05)
        with open(bfile) as f:
            cls.bootstrap = f.read().strip()

    @classmethod
    def tearDownClass(cls):
        if cls.broker.poll() is None:
            cls.broker.send_signal(signal.SIGTERM)
            try:
                cls.broker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.broker.kill()
                cls.broker.wait()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tool(cls, name):
        return os.path.join(cls.build, "tools", name)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def weir(self, *args, timeout=60):
        return subprocess.run([self.tool("weir"), "replay", self.cap] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def ctl(self, sock, *args):
        return subprocess.run([self.tool("weirctl"), "-s", sock] + list(args),
                              capture_output=True, text=True, timeout=20)

    def start_paced(self, conf, *extra, loops=1):
        """weir replay at 1x (6 s a loop) in the background; returns (proc, err path)."""
        errpath = os.path.join(self.tmp, "weir-%d.err" % time.monotonic_ns())
        err = open(errpath, "w")
        p = subprocess.Popen([self.tool("weir"), "replay", self.cap, "-c", conf, "--speed",
                              "1x", "--loop", str(loops), "--set", "window.size=2s",
                              "--set", "window.slide=2s"]
                             + list(extra), stdout=subprocess.PIPE, stderr=err, text=True)
        err.close()
        return p, errpath

    def wait_socket(self, proc, sock):
        deadline = time.time() + 20
        while not os.path.exists(sock) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(sock), "weir did not create " + sock)
        # the control thread answers once the pipeline runs
        while time.time() < deadline:
            if self.ctl(sock, "status").returncode == 0:
                return
            time.sleep(0.1)

    def finish(self, proc, errpath):
        try:
            out, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        with open(errpath) as f:
            return out, f.read()

    # --- socket, metrics, secrets, audit ---------------------------------

    def test_socket_metrics_secrets(self):
        group = some_group()
        port = free_port()
        sock = os.path.join(self.tmp, "run1", "weir.sock")
        conf = self.write("secrets.conf", (
            "[kafka]\nbrokers = %s\nclient.id = weir-sec-test\nsasl.username = weir\n"
            "sasl.password = \"%s\"\nssl.key.password = %s\n"
            "[control]\nsocket = %s\nsocket_group = %s\nmetrics_listen = 127.0.0.1:%d\n")
            % (self.bootstrap, SECRET, KEY_SECRET, sock, group.gr_name, port))
        # long enough for every command below even under ASan on a busy host
        proc, errpath = self.start_paced(conf, loops=5)
        try:
            self.wait_socket(proc, sock)
            st = os.stat(sock)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(st.st_mode & 0o777, 0o660)
            self.assertEqual(st.st_gid, group.gr_gid)

            one = self.ctl(sock, "--json", "get", "kafka.sasl.password")
            self.assertEqual(one.returncode, 0, one.stderr)
            self.assertEqual(json.loads(one.stdout)["value"], "(hidden)")
            one = self.ctl(sock, "get", "kafka.ssl.key.password")
            self.assertIn("(hidden)", one.stdout)
            every = self.ctl(sock, "--json", "get")
            self.assertEqual(every.returncode, 0, every.stderr)
            ro = json.loads(every.stdout)["read_only"]
            self.assertEqual(ro["kafka.sasl.password"], "(hidden)")
            self.assertEqual(ro["kafka.ssl.key.password"], "(hidden)")
            self.assertEqual(ro["kafka.sasl.username"], "weir")     # no secret: shown
            self.assertEqual(ro["kafka.client.id"], "weir-sec-test")
            self.assertEqual(ro["control.socket_group"], group.gr_name)
            human = self.ctl(sock, "get")
            for text in (every.stdout, human.stdout, one.stdout):
                self.assertNotIn(SECRET, text)
                self.assertNotIn(KEY_SECRET, text)
            # a secret cannot be set (nor echoed) at run time
            r = self.ctl(sock, "set", "kafka.sasl.password", "x" + SECRET)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("read-only at run time", r.stdout + r.stderr)
            self.assertNotIn(SECRET, r.stdout + r.stderr)

            # a bad value names the key and says what is wrong
            bad = [
                (("log.level", "loud"), "log.level: 'loud' is not error, warning, notice, "
                 "info or debug"),
                (("topics.rejected_rate", "1.5"), "topics.rejected_rate: '1.5' is not a "
                 "whole number of dead letters per second"),
                (("input.range.temperature", "5"), "input.range.temperature: '5' is not "
                 "\"min, max\""),
                (("input.range.temperature", "9, 1"), "input.range.temperature: '9, 1' is "
                 "not \"min, max\" (min <= max)"),
                (("window.allowed_lateness", "10x"), "window.allowed_lateness: '10x' is not "
                 "a duration"),
                (("input.max_future", "-1s"), "input.max_future: '-1s' is not a duration"),
                (("window.idle_timeout", "0s"), "window.idle_timeout must be greater than 0"),
                (("window.allowed_lateness", "100h"), "window.allowed_lateness 100h is above"),
                (("window", "bogus"), "window: 'bogus' is not \"SIZE SLIDE\""),
                (("window.size", "3s"), "window size 3s, slide 2s: both must be > 0 and the "
                 "size a multiple"),
                (("input.range.nosuch", "1, 2"), "unknown key 'input.range.nosuch'"),
                (("kafka.brokers", "h:1"), "kafka.brokers is read-only at run time"),
            ]
            for args, msg in bad:
                r = self.ctl(sock, "set", *args)
                self.assertEqual(r.returncode, 1, args)
                self.assertIn(msg, r.stdout + r.stderr, args)

            # changes are logged with who made them
            r = self.ctl(sock, "set", "window.allowed_lateness", "2s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            # metrics: on loopback, and only there
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                self.assertIn(b"200", c.recv(64))
            ip = non_loopback_ip()
            if ip is not None:
                with self.assertRaises(OSError):
                    socket.create_connection((ip, port), timeout=2).close()
            proc.send_signal(signal.SIGTERM)    # done: stop feeding, flush, exit
        finally:
            out, err = self.finish(proc, errpath)
        self.assertEqual(proc.returncode, 0, err)
        summary = json.loads(out)
        self.assertGreater(summary["windows"]["emitted"], 0)
        self.assertNotIn(SECRET, out + err)
        self.assertNotIn(KEY_SECRET, out + err)
        self.assertNotIn("not a loopback address", err)
        self.assertRegex(err, r"event=ctl_set key=window\.allowed_lateness ok=true "
                              r"peer_pid=\d+ peer_uid=%d peer_gid=\d+" % os.getuid())
        self.assertIn("event=ctl_set key=kafka.sasl.password ok=false", err)
        self.assertFalse(os.path.exists(sock), "socket left behind")

    def test_metrics_exposure_warning(self):
        port = free_port()
        r = self.weir("--set", "control.metrics_listen=0.0.0.0:%d" % port,
                      "--set", "control.socket=", "--set", "kafka.brokers=" + self.bootstrap)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: [control] metrics_listen 0.0.0.0:%d is not a loopback "
                      "address" % port, r.stderr)
        r = self.weir("--set", "control.metrics_listen=:%d" % port,
                      "--set", "control.socket=", "--set", "kafka.brokers=" + self.bootstrap)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("metrics_listen (all addresses) is not a loopback", r.stderr)

    def test_metrics_default_loopback(self):
        r = subprocess.run([self.tool("weir"), "config", "--keys"], capture_output=True,
                           text=True, check=True)
        line = [l for l in r.stdout.splitlines() if l.startswith("control.metrics_listen")]
        self.assertEqual(len(line), 1)
        self.assertTrue(line[0].split()[-1].startswith("127.0.0.1:"), line[0])

    # --- Kafka TLS/SASL passthrough --------------------------------------

    def test_kafka_passthrough_errors(self):
        cases = [
            (["kafka.security.protocol=SASL_PLAINTEXT", "kafka.sasl.mechanisms=PLAIN"],
             "[kafka] producer: sasl.username and sasl.password must be set"),
            (["kafka.security.protocol=SASL_PLAINTEXT", "kafka.sasl.mechanisms=NOPE"],
             "[kafka] producer: Unsupported SASL mechanism: NOPE"),
            (["kafka.security.protocol=SSL", "kafka.ssl.ca.location=/nonexistent/ca.pem"],
             "[kafka] producer: ssl.ca.location failed"),
            (["kafka.security.protocol=TLS"],
             "--set kafka.security.protocol=TLS: [kafka] security.protocol: librdkafka: "),
            (["kafka.sasl.password=" + SECRET, "kafka.no.such.property=1"],
             "--set kafka.no.such.property=1: [kafka] no.such.property: librdkafka: "
             "No such configuration property"),
        ]
        for sets, msg in cases:
            args = []
            for s in sets:
                args += ["--set", s]
            r = self.weir("--set", "control.socket=", "--set", "control.metrics_listen=",
                          *args)
            self.assertNotEqual(r.returncode, 0, sets)
            self.assertIn(msg, r.stderr, sets)
            self.assertEqual(r.stdout, "", sets)
            self.assertNotIn(SECRET, r.stderr)

    # --- privilege drop ---------------------------------------------------

    def test_user_switch(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to switch users")
        try:
            user = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        sock = os.path.join(self.tmp, "run2", "weir.sock")
        conf = self.write("user.conf", (
            "[kafka]\nbrokers = %s\n[control]\nsocket = %s\nuser = nobody\n"
            "metrics_listen =\n") % (self.bootstrap, sock))
        proc, errpath = self.start_paced(conf)
        try:
            self.wait_socket(proc, sock)
            uids = set()
            for tid in os.listdir("/proc/%d/task" % proc.pid):
                with open("/proc/%d/task/%s/status" % (proc.pid, tid)) as f:
                    for line in f:
                        if line.startswith("Uid:"):
                            uids.add(tuple(int(x) for x in line.split()[1:]))
            self.assertEqual(uids, {(user.pw_uid,) * 4})
            # root still reaches the socket, handed over to the user
            self.assertEqual(os.stat(sock).st_uid, user.pw_uid)
            r = self.ctl(sock, "--json", "status")
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            out, err = self.finish(proc, errpath)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("running as user nobody (uid %d" % user.pw_uid, err)
        summary = json.loads(out)
        self.assertGreater(summary["windows"]["emitted"], 0)
        self.assertEqual(summary["kafka"]["delivered"], summary["windows"]["emitted"])
        self.assertFalse(os.path.exists(sock), "socket left behind")

    def test_user_refusals(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        base = ["--set", "control.socket=", "--set", "control.metrics_listen="]
        r = self.weir(*base, "--set", "control.user=nobody")
        self.assertEqual(r.returncode, 2)
        self.assertIn("[control] user = nobody: the embedded broker (librdkafka's mock "
                      "cluster) stops when weir switches users", r.stderr)
        self.assertEqual(r.stdout, "")
        r = self.weir(*base, "--set", "control.user=root",
                      "--set", "kafka.brokers=" + self.bootstrap)
        self.assertEqual(r.returncode, 2)
        self.assertIn("[control] user = root: that is root (uid 0)", r.stderr)
        if shutil.which("setpriv"):
            r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=%d" %
                                pwd.getpwnam("nobody").pw_gid, "--clear-groups",
                                self.tool("weir"), "replay", self.cap, *base,
                                "--set", "control.user=daemon",
                                "--set", "kafka.brokers=" + self.bootstrap],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("[control] user = daemon: weir runs as uid %d, not root"
                          % pwd.getpwnam("nobody").pw_uid, r.stderr)

    # --- bad configuration --------------------------------------------------

    def test_bad_config_messages(self):
        cases = [
            ("control.socket_group=no-such-group-weir",
             "--set control.socket_group=no-such-group-weir: [control] socket_group: no "
             "group named \"no-such-group-weir\" on this host"),
            ("control.user=no-such-user-weir",
             "--set control.user=no-such-user-weir: [control] user: no user named "
             "\"no-such-user-weir\" on this host"),
            ("control.metrics_listen=9109",
             "--set control.metrics_listen=9109: [control] metrics_listen: \"9109\" is not "
             "host:port"),
            ("control.socket=/" + "s" * 110,
             "[control] socket: is 111 bytes long; a Unix socket path holds at most 107"),
            ("kafka.sasl.password=" + "p" * 300,
             "--set kafka.sasl.password=(hidden): [kafka] sasl.password: key or value "
             "longer than 255 bytes"),
            ("window.size=10x", "--set window.size=10x: [window] size: \"10x\" is not a "
             "duration"),
            ("window.slide=7s", "[window] size 60s (default) is not a multiple of [window] "
             "slide 7s (--set window.slide=7s)"),
            ("input.udp_ports=70000", "[input] udp_ports: \"70000\" is not a UDP port"),
            ("input.range.temperature=5", "[input] range.temperature: \"5\" needs two "
             "numbers \"min, max\""),
            ("input.encoding=xml", "[input] encoding: \"xml\" is not one of auto, json, "
             "influx, snr1"),
            ("aggregator.workers=99", "[aggregator] workers: \"99\" is out of range (0..16)"),
            ("dataplane.ring_size=3000", "[dataplane] ring_size: \"3000\" is not a power of "
             "two"),
            ("topics.aggregated=a b", "[topics] aggregated: \"a b\" is not a Kafka topic "
             "name"),
            ("topics.rejected_rate=-1", "[topics] rejected_rate: \"-1\" is not a whole "
             "number"),
            ("kafka.brokers=nohost", "[kafka] brokers: \"nohost\" is not host:port"),
            ("nosuch.key=1", "--set nosuch.key=1: unknown section [nosuch]"),
            ("window.nosuch=1", "--set window.nosuch=1: unknown key [window] nosuch"),
        ]
        for setarg, msg in cases:
            r = self.weir("--set", setarg)
            self.assertEqual(r.returncode, 2, setarg)
            self.assertIn(msg, r.stderr, setarg)
            self.assertEqual(r.stdout, "", setarg)
            self.assertNotIn("p" * 300, r.stderr)
        conf = self.write("bad.conf", "[control]\n; the group\nsocket_group = nope-weir\n")
        r = self.weir("-c", conf)
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:3: [control] socket_group: no group named \"nope-weir\"" % conf,
                      r.stderr)


if __name__ == "__main__":
    unittest.main()
