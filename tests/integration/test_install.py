# SPDX-License-Identifier: BSD-3-Clause
"""Installing weir on a host (issue 6): `meson install` lays out the
binaries, /etc/weir/weir.conf and a systemd unit that systemd accepts;
scripts/setup-host.sh --dry-run plans without changing anything and refuses
the NIC of the default route; `weirctl reload` (the unit's ExecReload)
applies a changed config file to a running weir.

    python3 -m unittest tests/integration/test_install.py
"""
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
SETUP = os.path.join(ROOT, "scripts", "setup-host.sh")


def host_state():
    """What setup-host.sh could change: hugepages and NIC drivers."""
    with open("/proc/meminfo") as f:
        huge = [l for l in f if l.startswith("HugePages_")]
    drivers = {}
    for i in sorted(os.listdir("/sys/class/net")):
        link = os.path.join("/sys/class/net", i, "device", "driver")
        drivers[i] = os.path.realpath(link) if os.path.exists(link) else None
    return huge, drivers


class InstallTest(unittest.TestCase):
    def test_meson_install_layout(self):
        tmp = tempfile.mkdtemp(prefix="weir-install-")
        try:
            b = os.path.join(tmp, "build")
            dest = os.path.join(tmp, "dest")
            subprocess.run(["meson", "setup", b, "--prefix=/usr", "--sysconfdir=/etc",
                            "-Dtests=false"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["ninja", "-C", b, "-j2", "tools/weir", "tools/weirctl",
                            "tools/weir-gen", "tools/weir-devbroker"], check=True,
                           stdout=subprocess.DEVNULL)
            env = dict(os.environ, DESTDIR=dest)
            subprocess.run(["meson", "install", "-C", b, "--no-rebuild", "--quiet"],
                           env=env, check=True, stdout=subprocess.DEVNULL)
            for f in ("usr/bin/weir", "usr/bin/weirctl", "usr/bin/weir-gen",
                      "usr/bin/weir-devbroker", "etc/weir/weir.conf",
                      "usr/lib/systemd/system/weir.service", "usr/share/doc/weir/README.md"):
                self.assertTrue(os.path.exists(os.path.join(dest, f)), f)
            with open(os.path.join(dest, "usr/lib/systemd/system/weir.service")) as f:
                unit = f.read()
            self.assertIn("ExecStart=/usr/bin/weir run -c /etc/weir/weir.conf", unit)
            self.assertIn("ExecReload=/usr/bin/weirctl -c /etc/weir/weir.conf reload", unit)
            self.assertIn("dev-hugepages.mount", unit)
            self.assertNotIn("@", unit)
            # the installed config is what the binary says the defaults are
            gen = subprocess.run([os.path.join(dest, "usr/bin/weir"), "config"],
                                 capture_output=True, text=True, check=True).stdout
            with open(os.path.join(dest, "etc/weir/weir.conf")) as f:
                self.assertEqual(f.read(), gen)
            if shutil.which("systemd-analyze"):
                # systemd parses it (binaries pointed at the staged tree)
                local = unit.replace("/usr/bin/", dest + "/usr/bin/").replace(
                    "/etc/weir/", dest + "/etc/weir/")
                path = os.path.join(tmp, "weir.service")
                with open(path, "w") as f:
                    f.write(local)
                r = subprocess.run(["systemd-analyze", "verify", path],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("weir.service:", r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_setup_host_dry_run_changes_nothing(self):
        before = host_state()
        r = subprocess.run([SETUP, "--dry-run"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        for want in ("== CPU", "== hugepages", "would run: dpdk-hugepages.py", "== NICs",
                     "default route via", "isolcpus=", "dry run: nothing was changed"):
            self.assertIn(want, r.stdout)
        self.assertEqual(host_state(), before)

    def test_setup_host_refuses_default_route_nic(self):
        out = subprocess.run(["ip", "-o", "route", "show", "default"], capture_output=True,
                             text=True).stdout.split()
        if "dev" not in out:
            self.skipTest("no default route here")
        iface = out[out.index("dev") + 1]
        if not os.path.exists(os.path.join("/sys/class/net", iface, "device")):
            self.skipTest("the default route's interface is virtual")
        before = host_state()
        r = subprocess.run([SETUP, "--dry-run", "--nic", iface], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("refusing", r.stdout)
        self.assertNotIn("would run: dpdk-devbind.py", r.stdout)
        self.assertEqual(host_state(), before)

    def test_setup_host_usage_errors(self):
        for args in (["--bogus"], ["--nic"], ["--hugepages", "lots"], ["--pagesize", "4K"],
                     ["--driver", "e1000"]):
            r = subprocess.run([SETUP] + args, capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("setup-host:", r.stderr)
        r = subprocess.run([SETUP, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--dry-run", r.stdout)


class ReloadTest(unittest.TestCase):
    """weirctl reload against a paced weir replay started with a config file."""

    def test_reload(self):
        tools = os.path.join(build_dir(), "tools")
        tmp = tempfile.mkdtemp(prefix="weir-reload-")
        sock = os.path.join(tmp, "weir.sock")
        conf = os.path.join(tmp, "weir.conf")
        cap = os.path.join(tmp, "cap.pcap")
        base = ("[window]\nsize = 10s\nslide = 10s\nallowed_lateness = 1s\n"
                "[control]\nsocket = %s\nmetrics_listen =\n" % sock)
        with open(conf, "w") as f:
            f.write(base)
        subprocess.run([os.path.join(tools, "weir-gen"), "-o", cap, "--devices", "20",
                        "--rate", "200", "--duration", "40", "-q"], check=True)
        err = open(os.path.join(tmp, "weir.err"), "w+")
        weir = subprocess.Popen([os.path.join(tools, "weir"), "replay", cap, "-c", conf,
                                 "--speed", "1x"], stdout=subprocess.DEVNULL, stderr=err)
        ctl = os.path.join(tools, "weirctl")
        try:
            deadline = time.time() + 20
            while not os.path.exists(sock) and time.time() < deadline:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(sock), "weir did not open its control socket")
            r = subprocess.run([ctl, "-c", conf, "reload"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("0 applied, 0 refused, 0 need a restart", r.stdout)

            with open(conf, "w") as f:
                f.write(base.replace("allowed_lateness = 1s", "allowed_lateness = 2500ms") +
                        "[input]\nmax_future = 30s\n[dataplane]\nburst = 64\n")
            # no -c: the daemon names its own (absolute) config file
            r = subprocess.run([ctl, "-s", sock, "reload"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("window.allowed_lateness: 1s -> 2500ms", r.stdout)
            self.assertIn("input.max_future: 5m -> 30s", r.stdout)
            self.assertIn("dataplane.burst: 32 -> 64", r.stdout)
            self.assertIn("2 applied, 0 refused, 1 need a restart", r.stdout)
            r = subprocess.run([ctl, "-s", sock, "get", "window.allowed_lateness"],
                               capture_output=True, text=True)
            self.assertIn("2500ms", r.stdout)

            # a window change goes through set window, as one change
            with open(conf, "a") as f:
                f.write("[window]\nsize = 20s\n")
            r = subprocess.run([ctl, "-s", sock, "reload"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("window: 10s/10s -> 20s/10s", r.stdout)

            # a broken file changes nothing and names the line
            with open(conf, "a") as f:
                f.write("[window]\nallowed_lateness = soon\n")
            r = subprocess.run([ctl, "-s", sock, "reload"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertIn("allowed_lateness", r.stderr)
            self.assertIn("nothing changed", r.stderr)
            r = subprocess.run([ctl, "-s", sock, "get", "window.allowed_lateness"],
                               capture_output=True, text=True)
            self.assertIn("2500ms", r.stdout)
        finally:
            weir.send_signal(signal.SIGTERM)
            try:
                weir.wait(timeout=30)
            except subprocess.TimeoutExpired:
                weir.kill()
                weir.wait()
            err.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
