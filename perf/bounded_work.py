#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Work per packet is linear in the payload: adversarial payloads of 4 KB and
60 KB per datagram (tiny JSON records, many fields, escapes, nesting to 62,
line protocol, minimal SNR1 records) through perf-microbench's decoder loop;
prints ns per payload byte for both sizes and their ratio (a quadratic path
would show a ratio near 15).

    python3 perf/bounded_work.py [--build build-gcc]
"""
import argparse
import json
import os
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def frame(payload, port=9700):
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip


def write_pcap(path, payload, reps):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        t = 1732233600 * 10**9
        fr = frame(payload)
        for _ in range(reps):
            t += 1000
            f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(fr), len(fr)) + fr)


def fill(unit, size):
    return (unit * (size // len(unit) + 1))[:size - size % len(unit)]


def payload(kind, size):
    if kind == "json_tiny":
        return fill(b"{}\n", size)
    if kind == "json_records":
        return fill(b'{"device_id":"d1","temperature":21.5}\n', size)
    if kind == "json_fields":
        body = b",".join(b'"f%d":%d' % (i, i) for i in range(size // 10))
        p = (b'{"device_id":"d1",' + body)[:size - 40]
        return p[:p.rfind(b",")] + b',"temperature":1}'
    if kind == "json_escapes":
        return b'{"device_id":"d1","x":"' + fill(b"\\u0041\\n", size - 60) + \
            b'","temperature":1}'
    if kind == "json_nested":
        return fill(b'{"device_id":"d1","a":' + b"[" * 62 + b"]" * 62 +
                    b',"temperature":1}\n', size)
    if kind == "influx_lines":
        return fill(b"m,device_id=d1 temperature=21.5\n", size)
    if kind == "snr1_records":
        return fill(b"SNR1" + bytes([2, 1]) + b"\0\0" + struct.pack("<Q", 1732233600000) +
                    b"d1" + struct.pack("<HHf", 0, 0, 21.5), size)
    raise ValueError(kind)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-gcc")
    ap.add_argument("--seconds", default="0.3")
    a = ap.parse_args()
    bench = os.path.join(ROOT, a.build, "perf", "perf-microbench")
    kinds = ["json_tiny", "json_records", "json_fields", "json_escapes", "json_nested",
             "influx_lines", "snr1_records"]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            enc = kind.split("_")[0]
            per_byte = []
            for size in (4000, 60000):
                cap = os.path.join(tmp, "%s_%d.pcap" % (kind, size))
                write_pcap(cap, payload(kind, size), max(1, 2000000 // size))
                out = subprocess.run([bench, "--" + enc, cap, "--devices", "100",
                                      "--seconds", a.seconds], capture_output=True,
                                     text=True, check=True).stdout
                d = json.loads(out)["decode"][enc]
                per_byte.append(d["ns_per_datagram"] / size)
            print("%-14s %7.2f ns/byte at 4 KB  %7.2f ns/byte at 60 KB  ratio %.2f"
                  % (kind, per_byte[0], per_byte[1], per_byte[1] / per_byte[0]))


if __name__ == "__main__":
    main()
