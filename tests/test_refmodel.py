#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Unit tests of the reference model (tests/refmodel.py) on hand-built captures.

Run: python3 -m unittest discover -s tests -p 'test_refmodel.py'
"""

import io
import json
import math
import os
import struct
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refmodel  # noqa: E402

T0 = 1732233600 * 10**9          # 2024-11-22T00:00:00Z, a window boundary
S = 10**9
MS = 10**6


# ---------------------------------------------------------------- builders

def udp(payload, dport=9700, ulen=None):
    n = len(payload) + 8 if ulen is None else ulen
    return struct.pack(">HHHH", 40000, dport, n, 0) + payload


def ipv4(l4, proto=17, opts=b"", flags_frag=0x4000, tot=None, ver=4, ihl=None):
    hl = 20 + len(opts)
    h = struct.pack(">BBHHHBBH4s4s",
                    (ver << 4) | ((hl // 4) if ihl is None else ihl), 0,
                    hl + len(l4) if tot is None else tot, 1, flags_frag, 64, proto, 0,
                    bytes([10, 0, 0, 1]), bytes([10, 255, 0, 1]))
    return h + opts + l4


def ipv6(l4, nh=17, ext=b"", plen=None, ver=6):
    n = len(ext) + len(l4) if plen is None else plen
    return (struct.pack(">IHBB", ver << 28, n, nh, 64) + b"\xfd" + b"\0" * 15
            + b"\xfd" + b"\0" * 14 + b"\x01" + ext + l4)


def eth(l3, ethertype=0x0800, tags=()):
    f = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02"
    for t in tags:
        f += struct.pack(">HH", t, 10)
    f += struct.pack(">H", ethertype) + l3
    return f + b"\0" * max(0, 60 - len(f))


def dgram(payload, **kw):
    """An Ethernet/IPv4/UDP frame to port 9700."""
    return eth(ipv4(udp(payload, **kw)))


def pcap_bytes(frames, nano=True, endian="<"):
    """frames: [(ts_ns, frame bytes)]."""
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for ts, f in frames:
        frac = ts % S if nano else ts % S // 1000
        out.append(struct.pack(endian + "IIII", ts // S, frac, len(f), len(f)) + f)
    return b"".join(out)


def snr1(dev, ts_ms, values, flags=0, magic=b"SNR1", reserved=0):
    """values: [(metric_id, float)]."""
    b = dev.encode() if isinstance(dev, str) else dev
    out = magic + struct.pack("<BBHQ", len(b), len(values), flags, ts_ms) + b
    for mid, v in values:
        out += struct.pack("<HHf", mid, reserved, v)
    return out


def run(frames, sets=(), loops=1):
    """frames: [(ts_ns, frame)] or [(ts_ns, payload bytes)] -> Model."""
    cfg = refmodel.Config()
    for s in sets:
        cfg.set_arg(s)
    m = refmodel.Model(cfg)
    m.run([(t, f) for t, f in frames], loops)
    return m


def payloads(items, sets=(), loops=1):
    """items: [(ts_ns, payload)] sent as IPv4/UDP datagrams to 9700."""
    return run([(t, dgram(p)) for t, p in items], sets, loops)


def reasons(m):
    return {k: v for k, v in m.rejected.items() if v}


def j(**kw):
    return json.dumps(kw).encode()


# ---------------------------------------------------------------- tests

class PcapTest(unittest.TestCase):
    def test_magics_and_endianness(self):
        frames = [(T0 + 123456789, b"x" * 20), (T0 + 2 * S + 5000, b"y" * 30)]
        with tempfile.TemporaryDirectory() as d:
            for nano in (True, False):
                for endian in ("<", ">"):
                    p = os.path.join(d, "c.pcap")
                    with open(p, "wb") as f:
                        f.write(pcap_bytes(frames, nano, endian))
                    got = refmodel.read_pcap(p)
                    want = [(T0 + (123456789 if nano else 123456000), b"x" * 20),
                            (T0 + 2 * S + 5000, b"y" * 30)]
                    self.assertEqual(got, want, (nano, endian))

    def test_not_pcap(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "c.pcap")
            with open(p, "wb") as f:
                f.write(b"\x0a\x0d\x0d\x0a" + b"\0" * 40)
            with self.assertRaises(refmodel.ModelError):
                refmodel.read_pcap(p)

    def test_loop_span(self):
        self.assertEqual(refmodel.loop_span([(T0, b"")]), MS)
        self.assertEqual(refmodel.loop_span([(T0, b""), (T0 + 10 * S, b"")]), 20 * S)
        fr = [(T0 + i * 1000, b"") for i in range(5)]
        self.assertEqual(refmodel.loop_span(fr), 4000 + MS)


class FrameTest(unittest.TestCase):
    P = j(device_id="d", temperature=1.5)

    def cls(self, frame):
        return refmodel.classify(frame, {9700})

    def test_good_and_padding(self):
        c, p = self.cls(dgram(b"{}"))
        self.assertEqual((c, p), (refmodel.PKT_DATAGRAM, b"{}"))

    def test_vlan_qinq(self):
        l3 = ipv4(udp(self.P))
        for tags in ((0x8100,), (0x88a8, 0x8100), (0x8100, 0x8100)):
            self.assertEqual(self.cls(eth(l3, tags=tags)), (refmodel.PKT_DATAGRAM, self.P))
        self.assertEqual(self.cls(eth(l3, tags=(0x88a8, 0x8100, 0x8100)))[0],
                         refmodel.PKT_IGNORED)
        cut = eth(l3, tags=(0x8100,))[:16]
        self.assertEqual(self.cls(cut)[0], refmodel.PKT_MALFORMED)

    def test_ignored(self):
        for f in (eth(b"\0" * 28, 0x0806), eth(b"\0" * 20, 0x88cc),
                  eth(ipv4(b"\0" * 20, proto=6)), eth(ipv4(b"\0" * 8, proto=1)),
                  dgram(self.P, dport=9701), eth(ipv6(b"\0" * 8, nh=58), 0x86dd),
                  eth(ipv4(b"\0" * 20, proto=6, flags_frag=0x2000))):
            self.assertEqual(self.cls(f)[0], refmodel.PKT_IGNORED, f)

    def test_ipv4_malformed(self):
        good = ipv4(udp(self.P))
        cases = [
            eth(good)[:10],                                 # cut in Ethernet
            eth(good)[:14 + 12],                            # cut in IPv4 header
            eth(ipv4(udp(self.P), ver=5)),                  # version
            eth(ipv4(udp(self.P), ihl=4)),                  # IHL < 5
            eth(ipv4(udp(self.P), tot=19)),                 # total < header
            eth(ipv4(udp(self.P), tot=len(good) + 100)),    # total > frame
            eth(ipv4(udp(self.P)[:5], tot=25)),             # cut in UDP header
            eth(ipv4(udp(self.P, ulen=7))),                 # UDP length < 8
            eth(ipv4(udp(self.P, ulen=len(self.P) + 9))),   # UDP length > IP payload
            eth(ipv4(udp(self.P, dport=53, ulen=3))),       # malformed on any port
        ]
        for f in cases:
            self.assertEqual(self.cls(f)[0], refmodel.PKT_MALFORMED, f.hex())

    def test_ipv4_options_and_lengths(self):
        f = eth(ipv4(udp(self.P), opts=b"\x94\x04\0\0"))
        self.assertEqual(self.cls(f), (refmodel.PKT_DATAGRAM, self.P))
        # payload ends at the UDP length, not at the IP or frame end
        f = eth(ipv4(udp(self.P + b"junk", ulen=len(self.P) + 8)))
        self.assertEqual(self.cls(f), (refmodel.PKT_DATAGRAM, self.P))

    def test_ipv4_fragments(self):
        for ff in (0x2000, 0x0001, 0x2010):
            f = eth(ipv4(udp(self.P), flags_frag=ff))
            self.assertEqual(self.cls(f)[0], refmodel.PKT_FRAGMENT)

    def test_ipv6(self):
        f = eth(ipv6(udp(self.P)), 0x86dd)
        self.assertEqual(self.cls(f), (refmodel.PKT_DATAGRAM, self.P))
        hbh = bytes([60, 0, 1, 4, 0, 0, 0, 0])
        dst = bytes([17, 1]) + b"\0" * 14
        f = eth(ipv6(udp(self.P), nh=0, ext=hbh + dst), 0x86dd)
        self.assertEqual(self.cls(f), (refmodel.PKT_DATAGRAM, self.P))
        bad = [
            eth(ipv6(udp(self.P)), 0x86dd)[:14 + 30],
            eth(ipv6(udp(self.P), ver=4), 0x86dd),
            eth(ipv6(udp(self.P), plen=len(self.P) + 100), 0x86dd),
            eth(ipv6(b"", nh=0, ext=bytes([17, 3]) + b"\0" * 6), 0x86dd),  # ext cut
            eth(ipv6(udp(self.P)[:4]), 0x86dd),
        ]
        for b in bad:
            self.assertEqual(self.cls(b)[0], refmodel.PKT_MALFORMED, b.hex())

    def test_ipv6_fragments(self):
        first = bytes([17, 0]) + struct.pack(">HI", 1, 7)         # offset 0, M
        later = bytes([17, 0]) + struct.pack(">HI", 100 << 3, 7)  # offset 100
        tcp = bytes([6, 0]) + struct.pack(">HI", 100 << 3, 7)
        self.assertEqual(self.cls(eth(ipv6(udp(self.P), nh=44, ext=first), 0x86dd))[0],
                         refmodel.PKT_FRAGMENT)
        self.assertEqual(self.cls(eth(ipv6(b"x" * 16, nh=44, ext=later), 0x86dd))[0],
                         refmodel.PKT_FRAGMENT)
        self.assertEqual(self.cls(eth(ipv6(b"x" * 16, nh=44, ext=tcp), 0x86dd))[0],
                         refmodel.PKT_IGNORED)

    def test_counters(self):
        m = run([(T0, dgram(self.P)), (T0 + 1, eth(b"\0" * 28, 0x0806)),
                 (T0 + 2, dgram(self.P)[:20]), (T0 + 3, eth(ipv4(udp(self.P), flags_frag=1)))])
        s = m.summary()
        self.assertEqual(s["packets"], {"rx": 4, "ignored": 1, "malformed": 1})
        self.assertEqual(s["datagrams"], 2)
        self.assertEqual(s["records"]["rejected_by_reason"]["fragment"], 1)
        self.assertEqual(s["records"]["accepted"], 1)


class DecodeCase(unittest.TestCase):
    """Decode one payload with the default config (+ --set overrides)."""

    def one(self, payload, sets=(), arrival=T0):
        return refmodel.decode_payload(self.cfg(sets), payload, arrival)

    @staticmethod
    def cfg(sets=()):
        c = refmodel.Config()
        for s in sets:
            c.set_arg(s)
        c.finish()
        return c


class JsonTest(DecodeCase):
    def test_good(self):
        r = self.one(b'{"device_id":"dev-1","ts":1732233600123,"temperature":21.5,'
                     b'"humidity":40,"other":1,"pressure":"n/a","vibration":null,'
                     b'"nested":{"temperature":5},"arr":[1,2]}')
        self.assertEqual(r, [(b"dev-1", T0 + 123 * MS, {0: 21.5, 1: 40.0})])

    def test_ndjson_lines_independent(self):
        p = (b'{"device_id":"a","temperature":1}\n\n  \r\n{"device_id":"b",\n'
             b'{"device_id":"c","temperature":3}\r\n')
        r = self.one(p)
        self.assertEqual(r, [(b"a", None, {0: 1.0}), "bad_json", (b"c", None, {0: 3.0})])

    def test_bad_json(self):
        for line in (b'{"device_id":"a","temperature":1} x', b'{"device_id":"a",}',
                     b'{"device_id":"a","temperature":NaN}',
                     b'{"device_id":"a","temperature":-Infinity}',
                     b'{"device_id":"a\xff","temperature":1}',
                     b'{"device_id":"a\xed\xa0\x80","temperature":1}',
                     b'{"device_id":"a\x01","temperature":1}',
                     b'{"device_id":"a","temperature":01}', b'{"a":1}{"b":2}',
                     b"{'device_id':'a'}", b'{"device_id":"a","x":' + b"[" * 70 + b"]" * 70
                     + b"}"):
            self.assertEqual(self.one(line), ["bad_json"], line)
        # not an object: a line of NDJSON
        self.assertEqual(self.one(b'{"device_id":"a","temperature":1}\n42'),
                         [(b"a", None, {0: 1.0}), "bad_json"])

    def test_array(self):
        p = b' [{"device_id":"a","temperature":1}, 5, {"sensor_id":"b","humidity":2}]'
        self.assertEqual(self.one(p), [(b"a", None, {0: 1.0}), "bad_json",
                                       (b"b", None, {1: 2.0})])
        self.assertEqual(self.one(b'[{"device_id":"a","temperature":1},'), ["bad_json"])
        self.assertEqual(self.one(b'[{"device_id":"a"}]\n[]'), ["bad_json"])
        self.assertEqual(self.one(b"[]"), [])

    def test_device_id(self):
        self.assertEqual(self.one(b'{"temperature":1}'), ["missing_device_id"])
        for v in (b"5", b"null", b'""', b'"' + b"x" * 65 + b'"', b"true", b'"\\ud800"'):
            self.assertEqual(self.one(b'{"device_id":' + v + b',"temperature":1}'),
                             ["bad_device_id"], v)
        self.assertEqual(self.one(b'{"device_id":"' + b"x" * 64 + b'","temperature":1}')[0][0],
                         b"x" * 64)
        # first of device_id_fields wins, whatever the key order
        self.assertEqual(self.one(b'{"sensor_id":"s","device_id":"d","temperature":1}')[0][0],
                         b"d")
        self.assertEqual(self.one(b'{"sensor_id":"s","device_id":null,"temperature":1}'),
                         ["bad_device_id"])
        # escapes are decoded; multi-byte UTF-8 counts bytes
        self.assertEqual(self.one(b'{"device_id":"dev\\u002d1","temperature":1}')[0][0],
                         b"dev-1")
        self.assertEqual(self.one(b'{"device_id":"' + "\u00e9".encode() * 33
                                  + b'","temperature":1}'), ["bad_device_id"])
        r = self.one(b'{"id":"x","temperature":1}', sets=["input.device_id_fields=id"])
        self.assertEqual(r[0][0], b"x")

    def test_timestamps(self):
        cases = {
            b"1732233600": T0, b"1732233600.5": T0 + 500 * MS,
            b"1732233600123": T0 + 123 * MS, b"1732233600123456": T0 + 123456000,
            b"1732233600123456789": T0 + 123456789, b"1.7322336e12": T0,
            b'"2024-11-22T00:00:00Z"': T0, b'"2024-11-22T01:30:00.25+01:30"': T0 + 250 * MS,
            b'"2024-11-21T23:00:00-01:00"': T0, b'"2024-11-22t00:00:00.123456789123z"':
            T0 + 123456789, b'"2024-11-22 00:00:01"': T0 + S, b"0": 0,
            b'"2024-11-22T00:00:60Z"': T0 + 60 * S, b"1732233600.123456789": T0 + 123456789,
        }
        for ts, want in cases.items():
            r = self.one(b'{"device_id":"a","ts":' + ts + b',"temperature":1}',
                         arrival=T0 + 10 * S)
            self.assertEqual(r[0][1], want, ts)
        for ts in (b"-1", b"null", b'"yesterday"', b'"2024-02-30T00:00:00Z"',
                   b'"2024-11-22T24:00:00Z"', b'"2024-11-22T00:00:61Z"', b"1e300",
                   b"9223372036854775808", b"true", b"{}", b'"1732233600"',
                   b'"1969-12-31T23:59:59Z"', b'"2262-04-12T00:00:00Z"', b"1e999"):
            r = self.one(b'{"device_id":"a","ts":' + ts + b',"temperature":1}')
            self.assertEqual(r, ["bad_timestamp"], ts)
        # ts wins over timestamp, even when bad
        r = self.one(b'{"device_id":"a","timestamp":1732233600,"ts":null,"temperature":1}')
        self.assertEqual(r, ["bad_timestamp"])
        r = self.one(b'{"device_id":"a","timestamp":1732233601,"temperature":1}')
        self.assertEqual(r[0][1], T0 + S)
        # configured unit
        r = self.one(b'{"device_id":"a","ts":1732233600,"temperature":1}',
                     sets=["input.json_ts_unit=ms"], arrival=T0)
        self.assertEqual(r[0][1], 1732233600 * MS)

    def test_future(self):
        base = b'{"device_id":"a","temperature":1,"ts":'
        self.assertEqual(self.one(base + b"1732233900000}"), [(b"a", T0 + 300 * S, {0: 1.0})])
        self.assertEqual(self.one(base + b"1732233900001}"), ["future_timestamp"])
        self.assertEqual(self.one(base + b"1732233610000}", sets=["input.max_future=10s"])[0][1],
                         T0 + 10 * S)
        self.assertEqual(self.one(base + b"1732233610001}", sets=["input.max_future=10s"]),
                         ["future_timestamp"])

    def test_metrics_and_ranges(self):
        self.assertEqual(self.one(b'{"device_id":"a","rssi":1,"Temperature":2}'),
                         ["no_metrics"])
        self.assertEqual(self.one(b'{"device_id":"a","temperature":"21"}'), ["no_metrics"])
        self.assertEqual(self.one(b'{"device_id":"a","temperature":1e999}'), ["out_of_range"])
        rs = ["input.range.temperature=-60, 150"]
        self.assertEqual(self.one(b'{"device_id":"a","temperature":150}', rs)[0][2], {0: 150.0})
        self.assertEqual(self.one(b'{"device_id":"a","temperature":-60}', rs)[0][2], {0: -60.0})
        self.assertEqual(self.one(b'{"device_id":"a","temperature":150.0001}', rs),
                         ["out_of_range"])
        self.assertEqual(self.one(b'{"device_id":"a","humidity":1,"temperature":-61}', rs),
                         ["out_of_range"])
        # check order: device id before timestamp before metrics
        self.assertEqual(self.one(b'{"ts":-1,"temperature":1e999}'), ["missing_device_id"])
        self.assertEqual(self.one(b'{"device_id":"a","ts":-1}'), ["bad_timestamp"])
        self.assertEqual(self.one(b'{"device_id":"a","ts":1932233600}'), ["future_timestamp"])
        # numbers are correctly rounded
        r = self.one(b'{"device_id":"a","temperature":0.1,"humidity":2.2250738585072011e-308}')
        self.assertEqual(r[0][2], {0: 0.1, 1: 2.2250738585072011e-308})
        r = self.one(b'{"device_id":"a","temperature":123456789012345678901234567890}')
        self.assertEqual(r[0][2], {0: 1.2345678901234568e29})

    def test_encoding_detection(self):
        self.assertEqual(self.one(b""), ["bad_line"])
        self.assertEqual(self.one(b" \r\n\t"), ["bad_line"])
        self.assertEqual(self.one(b"", ["input.encoding=json"]), ["bad_json"])
        self.assertEqual(self.one(b"  ", ["input.encoding=snr1"]), ["truncated"])
        self.assertEqual(self.one(b'{"device_id":"a","temperature":1}', ["input.encoding=influx"]),
                         ["bad_line"])
        self.assertEqual(self.one(b"m,device_id=a temperature=1", ["input.encoding=snr1"]),
                         ["bad_binary"])


class InfluxTest(DecodeCase):
    def test_good(self):
        p = (b"# a comment\n\n  \t\nweather,site=x,device_id=dev-1 temperature=21.5,"
             b"humidity=40i,pressure=1013u,ok=true,note=\"a, b=c \\\"q\\\" \\\\\",vibration=.5 "
             b"1732233600000000000\r\n")
        self.assertEqual(self.one(p), [(b"dev-1", T0, {0: 21.5, 1: 40.0, 2: 1013.0, 3: 0.5})])

    def test_escapes(self):
        r = self.one(b"my\\ meas\\,x,device\\_id=no,device_id=dev\\ 1\\,a\\=b\\\\ "
                     b"temp\\ x=1,temperature=2")
        self.assertEqual(r, [(b"dev 1,a=b\\", None, {0: 2.0})])
        r = self.one(b"m,device_id=a\\b temperature=1")
        self.assertEqual(r[0][0], b"a\\b")
        r = self.one(b"m,device_id=a temperature=1,pressure=2 1732233600000000000   ")
        self.assertEqual(r[0][1], T0)

    def test_id_priority_and_missing(self):
        r = self.one(b"m,sensor_id=s,device_id=d temperature=1")
        self.assertEqual(r[0][0], b"d")
        r = self.one(b"m,sensor_id=s temperature=1")
        self.assertEqual(r[0][0], b"s")
        self.assertEqual(self.one(b"m,site=x temperature=1"), ["missing_device_id"])
        self.assertEqual(self.one(b"m,device_id=" + b"x" * 65 + b" temperature=1"),
                         ["bad_device_id"])
        self.assertEqual(self.one(b"m,device_id=\xff temperature=1"), ["bad_device_id"])

    def test_bad_line(self):
        for line in (b"m", b"m,device_id=a", b"m,device_id=a ", b"m,device_id= temperature=1",
                     b"m,=a temperature=1", b"m,device_id temperature=1",
                     b"m,device_id=a temperature=abc", b"m,device_id=a temperature=",
                     b"m,device_id=a temperature=1,", b"m,device_id=a =1",
                     b"m,device_id=a temperature=1.5i", b"m,device_id=a temperature=-1u",
                     b"m,device_id=a temperature=9223372036854775808i",
                     b"m,device_id=a temperature=18446744073709551616u",
                     b"m,device_id=a temperature=NaN", b"m,device_id=a temperature=inf",
                     b'm,device_id=a s="open', b"m,device_id=a temperature=1 12.5",
                     b"m,device_id=a temperature=1 1 2", b"m,device_id=a=b temperature=1",
                     b",device_id=a temperature=1", b"m,device_id=a, temperature=1",
                     b"m,device_id=a temperature=1 1732233600000000000x"):
            self.assertEqual(self.one(line), ["bad_line"], line)

    def test_values_and_time(self):
        r = self.one(b"m,device_id=a temperature=-1.5e2,humidity=-7i,"
                     b"pressure=18446744073709551615u")
        self.assertEqual(r[0][2], {0: -150.0, 1: -7.0, 2: 18446744073709551615.0})
        self.assertEqual(self.one(b"m,device_id=a temperature=1e400"), ["out_of_range"])
        self.assertEqual(self.one(b"m,device_id=a ok=true,s=\"x\""), ["no_metrics"])
        self.assertEqual(self.one(b"m,device_id=a temperature=1 -5"), ["bad_timestamp"])
        self.assertEqual(self.one(b"m,device_id=a temperature=1 9223372036854775808"),
                         ["bad_timestamp"])
        r = self.one(b"m,device_id=a temperature=1 1732233600", ["input.influx_precision=s"])
        self.assertEqual(r[0][1], T0)
        self.assertEqual(self.one(b"m,device_id=a temperature=1 9223372037",
                                  ["input.influx_precision=s"]), ["bad_timestamp"])
        self.assertEqual(self.one(b"m,device_id=a temperature=1 1732234000000000000"),
                         ["future_timestamp"])


class Snr1Test(DecodeCase):
    TS = 1732233600000

    def test_good_records(self):
        p = (snr1("dev-1", self.TS, [(0, 21.5), (3, 0.25)])
             + snr1("dev-2", self.TS + 1, [(1, 40.0)]))
        self.assertEqual(self.one(p), [(b"dev-1", T0, {0: 21.5, 3: 0.25}),
                                       (b"dev-2", T0 + MS, {1: 40.0})])
        r = self.one(snr1("d", self.TS, [(0, 0.1)]))
        self.assertEqual(r[0][2][0], struct.unpack("<f", struct.pack("<f", 0.1))[0])

    def test_truncated(self):
        a = snr1("dev-1", self.TS, [(0, 1.0)])
        for cut in (1, 8, 15, 16, 20, len(a) - 1):
            self.assertEqual(self.one(a + a[:cut]), [(b"dev-1", T0, {0: 1.0}), "truncated"],
                             cut)

    def test_bad_header_stops(self):
        a = snr1("dev-1", self.TS, [(0, 1.0)])
        for bad in (snr1("d", self.TS, [(0, 1.0)], magic=b"SNR2"),
                    snr1("d", self.TS, [(0, 1.0)], flags=1),
                    snr1("d", self.TS, [], ),
                    b"SNR1" + struct.pack("<BBHQ", 0, 1, 0, self.TS) + b"\0" * 8,
                    b"SNR1" + struct.pack("<BBHQ", 65, 1, 0, self.TS) + b"x" * 73,
                    b"SNR1" + struct.pack("<BBHQ", 1, 65, 0, self.TS) + b"x" * 521):
            self.assertEqual(self.one(a + bad + a), [(b"dev-1", T0, {0: 1.0}), "bad_binary"],
                             bad)

    def test_record_level(self):
        a = snr1("dev-1", self.TS, [(0, 1.0)])
        cases = [
            (snr1("d", self.TS, [(4, 1.0)]), "bad_binary"),
            (snr1("d", self.TS, [(0, 1.0), (0, 2.0)]), "bad_binary"),
            (snr1("d", self.TS, [(0, 1.0)], reserved=1), "bad_binary"),
            (snr1(b"\xc0\x80", self.TS, [(0, 1.0)]), "bad_device_id"),
            (snr1("d", 2**63 // MS + 1, [(0, 1.0)]), "bad_timestamp"),
            (snr1("d", self.TS + 301000, [(0, 1.0)]), "future_timestamp"),
            (snr1("d", self.TS, [(0, float("nan"))]), "out_of_range"),
            (snr1("d", self.TS, [(1, float("inf"))]), "out_of_range"),
        ]
        for rec, why in cases:
            self.assertEqual(self.one(rec + a), [why, (b"dev-1", T0, {0: 1.0})], why)


class WindowTest(unittest.TestCase):
    def rec(self, dev, t_ms, **metrics):
        d = {"device_id": dev, "ts": t_ms}
        d.update(metrics)
        return json.dumps(d).encode()

    def test_tumbling_late_and_stats(self):
        t0 = T0 // MS
        items = [
            (T0 + 1 * S, self.rec("a", t0 + 1000, temperature=1.0)),
            (T0 + 2 * S, self.rec("a", t0 + 2000, temperature=2.0, humidity=5.0)),
            (T0 + 3 * S, self.rec("b", t0 + 3000, temperature=4.0)),
            # watermark -> 70 s - 5 s = 65 s: window [0, 60) closes
            (T0 + 70 * S, self.rec("a", t0 + 70000, temperature=10.0)),
            (T0 + 71 * S, self.rec("a", t0 + 59999, temperature=99.0)),   # late
            (T0 + 72 * S, self.rec("b", t0 + 60000, temperature=7.0)),    # on time
        ]
        m = payloads(items)
        s = m.summary()
        self.assertEqual(s["records"]["accepted"], 5)
        self.assertEqual(s["records"]["late"], 1)
        self.assertEqual(s["windows"]["emitted"], 4)
        res = {(r["device_id"], r["window_start"]): r for r in m.results()}
        a0 = res[("a", t0)]
        self.assertEqual(a0["window_end"], t0 + 60000)
        self.assertEqual(a0["count"], 2)
        self.assertEqual(a0["metrics"]["temperature"],
                         {"count": 2, "min": 1.0, "max": 2.0, "sum": 3.0, "avg": 1.5,
                          "stddev": 0.5})
        self.assertEqual(a0["metrics"]["humidity"]["count"], 1)
        self.assertEqual(a0["metrics"]["humidity"]["stddev"], 0.0)
        self.assertEqual(res[("a", t0 + 60000)]["count"], 1)
        self.assertEqual(res[("b", t0 + 60000)]["metrics"]["temperature"]["max"], 7.0)

    def test_welford_order(self):
        vals = [0.1, 0.7, 1e3, -2.5, 3.3333, 1e-3]
        items = [(T0 + i * MS, self.rec("a", T0 // MS + i, temperature=v))
                 for i, v in enumerate(vals)]
        st = payloads(items).results()[0]["metrics"]["temperature"]
        mean = m2 = 0.0
        sm = 0.0
        for n, v in enumerate(vals, 1):
            sm += v
            d = v - mean
            mean += d / n
            m2 += d * (v - mean)
        self.assertEqual(st["sum"], sm)
        self.assertEqual(st["avg"], sm / len(vals))
        self.assertEqual(st["stddev"], math.sqrt(m2 / len(vals)))
        self.assertAlmostEqual(st["stddev"], _pstdev(vals), places=9)

    def test_hopping(self):
        sets = ["window.size=60s", "window.slide=20s"]
        t0 = T0 // MS
        items = [(T0 + 45 * S, self.rec("a", t0 + 45000, temperature=1.0)),   # k = 0, 1, 2
                 # W = 105 - 5 = 100 s: windows ending <= 100 s close
                 (T0 + 105 * S, self.rec("a", t0 + 105000, temperature=2.0)),
                 # 50 s lies in [0,60) [20,80) [40,100): all closed -> late
                 (T0 + 106 * S, self.rec("a", t0 + 50000, temperature=3.0)),
                 # 70 s lies in [20,80) [40,100) [60,120): joins only [60,120)
                 (T0 + 107 * S, self.rec("a", t0 + 70000, temperature=4.0))]
        m = payloads(items, sets)
        got = {r["window_start"] - t0: r["count"] for r in m.results()}
        self.assertEqual(got, {0: 1, 20000: 1, 40000: 1, 60000: 2, 80000: 1, 100000: 1})
        self.assertEqual(m.late, 1)
        self.assertEqual(m.accepted, 3)
        self.assertTrue(all(r["window_end"] - r["window_start"] == 60000 for r in m.results()))

    def test_idle_advance(self):
        t0 = T0 // MS
        arp = eth(b"\0" * 28, 0x0806)
        frames = [(T0 + 10 * S, dgram(self.rec("a", t0 + 10000, temperature=1.0))),
                  # 70 s of silence: W = (10 - 5) + 70 = 75 s > 60 s
                  (T0 + 80 * S, arp),
                  (T0 + 81 * S, dgram(self.rec("b", t0 + 30000, temperature=1.0)))]
        m = run(frames)
        self.assertEqual((m.accepted, m.late), (1, 1))
        # without the idle frame the record arrives 71 s after the last: the
        # advance happens before it is judged as well
        m = run([frames[0], frames[2]])
        self.assertEqual((m.accepted, m.late), (1, 1))
        # idle_timeout longer than the gap: no advance, W = 5 s
        m = run(frames, ["window.idle_timeout=2m"])
        self.assertEqual((m.accepted, m.late), (2, 0))
        # below the timeout nothing moves
        m = run([frames[0], (T0 + 19 * S, arp),
                 (T0 + 19 * S + 1, dgram(self.rec("b", t0 + 4000, temperature=1.0)))])
        self.assertEqual((m.accepted, m.late), (2, 0))

    def test_arrival_time_and_defaults(self):
        t0 = T0 // MS
        items = [(T0 + 61 * S, self.rec("a", t0 + 1000, temperature=1.0)),
                 (T0 + 62 * S, b'{"device_id":"a","temperature":2}')]
        m = payloads(items, ["window.time=arrival"])
        r = m.results()
        self.assertEqual([(x["window_start"], x["count"]) for x in r], [(t0 + 60000, 2)])
        m = payloads(items)
        self.assertEqual(sorted((x["window_start"], x["count"]) for x in m.results()),
                         [(t0, 1), (t0 + 60000, 1)])

    def test_loop(self):
        t0 = T0 // MS
        items = [(T0 + 1 * S, self.rec("a", t0 + 1000, temperature=1.0)),
                 (T0 + 2 * S, b'{"device_id":"a","temperature":2}'),
                 (T0 + 41 * S, self.rec("a", t0 + 41000, temperature=3.0))]
        m = payloads(items, loops=3)
        # span = 40 s + max(1 ms, 20 s) = 60 s: each pass is one window later
        got = [(x["window_start"] - t0, x["count"]) for x in m.results()]
        self.assertEqual(got, [(0, 3), (60000, 3), (120000, 3)])
        self.assertEqual(m.summary()["packets"]["rx"], 9)


def _pstdev(vals):
    mu = sum(vals) / len(vals)
    return math.sqrt(sum((v - mu) ** 2 for v in vals) / len(vals))


class CliTest(unittest.TestCase):
    def test_end_to_end_and_compare(self):
        t0 = T0 // MS
        frames = [(T0 + i * S, dgram(json.dumps({"device_id": "d%d" % (i % 3), "ts": t0 + i * 1000,
                                                 "temperature": i * 0.1}).encode()))
                  for i in range(200)]
        with tempfile.TemporaryDirectory() as d:
            cap = os.path.join(d, "c.pcap")
            with open(cap, "wb") as f:
                f.write(pcap_bytes(frames))
            exp = os.path.join(d, "e.json")
            with redirect_stderr(io.StringIO()):
                self.assertEqual(refmodel.main([cap, "--set", "window.size=30s", "--set",
                                                "window.slide=30s", "--out", exp]), 0)
            with open(exp) as f:
                e = json.load(f)
            s = e["summary"]
            self.assertEqual(s["packets"]["rx"], 200)
            self.assertEqual(s["records"]["accepted"], 200)
            self.assertEqual(sum(w["count"] for w in e["windows"]), 200)
            self.assertEqual(s["windows"]["emitted"], len(e["windows"]))
            # what weir would print: same windows, shuffled, with extra fields
            msgs = os.path.join(d, "m.jsonl")
            ws = list(reversed(e["windows"]))
            for w in ws:
                w["extra"] = 1
            with open(msgs, "w") as f:
                f.write("".join(json.dumps(w) + "\n" for w in ws))
            summ = os.path.join(d, "s.json")
            act = dict(s, kafka={"delivered": len(ws), "failed": 0})
            with open(summ, "w") as f:
                json.dump(act, f)
            args = [cap, "--set", "window.size=30s", "--set", "window.slide=30s",
                    "--compare", msgs, "--summary", summ]
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(refmodel.main(args), 0, err.getvalue())
                self.assertEqual(refmodel.main(["--expected", exp, "--compare", msgs]), 0)
            # tiny float noise passes, a real difference does not
            ws[0]["metrics"]["temperature"]["sum"] *= 1 + 1e-14
            self._write(msgs, ws)
            with redirect_stderr(io.StringIO()):
                self.assertEqual(refmodel.main(args), 0)
            ws[0]["metrics"]["temperature"]["max"] += 1e-9
            self._write(msgs, ws)
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(refmodel.main(args), 1)
            self.assertIn("temperature.max", err.getvalue())
            ws[0]["metrics"]["temperature"]["max"] -= 1e-9
            self._write(msgs, ws[1:] + ws[:2])  # one missing... and one duplicated
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(refmodel.main(args), 1)
            self.assertIn("expected 1 message(s), got 2", err.getvalue())
            self._write(msgs, ws)
            act["records"] = dict(act["records"], late=1)
            with open(summ, "w") as f:
                json.dump(act, f)
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(refmodel.main(args), 1)
            self.assertIn("records.late", err.getvalue())

    @staticmethod
    def _write(path, ws):
        with open(path, "w") as f:
            f.write("".join(json.dumps(w) + "\n" for w in ws))

    def test_config_file_and_errors(self):
        with tempfile.TemporaryDirectory() as d:
            conf = os.path.join(d, "w.conf")
            with open(conf, "w") as f:
                f.write("[input]\nudp_ports = 9800, 9801 ; two\nmetrics = a, b\n"
                        "[window]\nsize = 2m\nslide = 1m\n[kafka]\nbrokers = embedded\n")
            cfg = refmodel.Config()
            cfg.load_ini(conf)
            self.assertEqual(cfg.udp_ports, {9800, 9801})
            self.assertEqual(cfg.metrics, ["a", "b"])
            self.assertEqual((cfg.size, cfg.slide), (120 * S, 60 * S))
            cap = os.path.join(d, "c.pcap")
            with open(cap, "wb") as f:
                f.write(pcap_bytes([]))
            out = io.StringIO()
            with redirect_stderr(io.StringIO()), redirect_stdout(out):
                self.assertEqual(refmodel.main([cap, "--set", "window.size=90s"]), 2)
                self.assertEqual(refmodel.main([cap, "--set", "window.size"]), 2)
                self.assertEqual(refmodel.main([cap, "-c", conf]), 0)
            self.assertEqual(json.loads(out.getvalue())["summary"]["packets"]["rx"], 0)
        self.assertEqual(refmodel.parse_duration("1.5s"), 1500 * MS)
        self.assertEqual(refmodel.parse_duration("250ms"), 250 * MS)
        self.assertEqual(refmodel.parse_duration("2"), 2 * S)
        self.assertEqual(refmodel.parse_duration("1h"), 3600 * S)


if __name__ == "__main__":
    unittest.main()
