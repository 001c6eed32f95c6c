#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Collects the JSON written by perf/run.sh into results.json and prints the
Markdown tables. Usage: report.py WORKDIR RESULTS.json [--smoke]
With --smoke it exits 1 when any figure is missing (never on time)."""

import datetime
import glob
import json
import os
import platform
import statistics
import sys

CASES = [("snr1-10k", "SNR1"), ("json-10k", "JSON"), ("influx-10k", "Influx"),
         ("json-big", "JSON")]
TARGETS = {"snr1-10k": 15e6, "json-10k": 8e6, "influx-10k": 6e6, "json-big": 5e6}


def load(path):
    """First line of a tool's stdout as JSON; None when absent or cut short."""
    try:
        with open(path) as f:
            return json.loads(f.readline())
    except (OSError, ValueError):
        return None


def pps(d):
    return d["packets_per_s"] if "packets_per_s" in d else d["throughput"]["packets_per_s"]


def median_run(runs):
    """The run with the median packets/s (odd counts: the middle one)."""
    return sorted(runs, key=pps)[len(runs) // 2]


def weir_side(work, name, tag):
    files = [f for f in sorted(glob.glob(os.path.join(work, f"{name}.{tag}.*.json")))
             if load(f) is not None]
    runs = [load(f) for f in files]
    if not runs:
        return None
    m = median_run(runs)
    secs = m["throughput"]["seconds"]
    hwm = []
    for f in files:
        h = f[:-5] + ".hwm"
        if os.path.exists(h):
            hwm.append(int(open(h).read().split()[0]))
    return {
        "packets_per_s": pps(m),
        "records_per_s": m["records"]["accepted"] / secs if secs > 0 else 0.0,
        "runs_packets_per_s": [pps(r) for r in runs],
        "packets": m["packets"]["rx"],
        "records_accepted": m["records"]["accepted"],
        "dropped_max": max(r["records"]["dropped"] for r in runs),
        "rejected_max": max(r["records"]["rejected"] for r in runs),
        "windows_emitted": m["windows"]["emitted"],
        "kafka_failed_max": max(r["kafka"]["failed"] for r in runs),
        "vmhwm_kb": hwm,
    }


def kernel_side(work, name):
    runs = []
    for f in sorted(glob.glob(os.path.join(work, f"{name}.kernel.*.krx.json"))):
        rx = load(f)
        tx = load(f.replace(".krx.json", ".ktx.json"))
        if rx is None or tx is None:
            continue
        rx["sent"] = tx["datagrams"]
        rx["sender_pps"] = tx["packets_per_s"]
        rx["lost"] = tx["datagrams"] - rx["datagrams"]
        runs.append(rx)
    if not runs:
        return None
    m = median_run(runs)
    return {
        "packets_per_s": m["packets_per_s"],
        "records_per_s": m["records_per_s"],
        "runs_packets_per_s": [r["packets_per_s"] for r in runs],
        "sender_packets_per_s": m["sender_pps"],
        "lost_max": max(r["lost"] for r in runs),
        "udp_drops_max": max(r["udp_drops"] for r in runs),
        "records_accepted": m["records"]["accepted"],
        "windows": m["windows"],
    }


def ceiling_side(work, name):
    runs = [r for r in (load(f) for f in
                        sorted(glob.glob(os.path.join(work, f"{name}.ceiling.*.json"))))
            if r is not None]
    if not runs:
        return None
    return {"packets_per_s": pps(median_run(runs)),
            "runs_packets_per_s": [pps(r) for r in runs]}


def latency_side(work, name):
    f = os.path.join(work, f"{name}.lat.json")
    d = load(f)
    if d is None:
        return None
    return {"target_pps": int(open(f[:-5] + ".pps").read()),
            "achieved_pps": pps(d),
            "max_lag_s": d["throughput"]["max_lag_s"],
            "dropped": d["records"]["dropped"],
            "rx_to_agg_ns": d["latency_ns"]["rx_to_agg"],
            "close_to_ack_ns": d["latency_ns"]["close_to_ack"]}


def memory(work, big):
    def hwm(prefix):
        files = sorted(glob.glob(os.path.join(work, prefix)))
        vals = [int(open(f).read().split()[0]) for f in files]
        return statistics.median(vals) if vals else None
    base = hwm("mem-base.hwm")
    top = hwm("json-big.weir1.*.hwm")
    if base is None or top is None or big is None:
        return None
    cap_delta = (os.path.getsize(os.path.join(work, "json-big.pcap")) -
                 os.path.getsize(os.path.join(work, "mem-base.pcap")))
    windows = big["windows_emitted"]
    delta = (top - base) * 1024 - cap_delta
    return {"vmhwm_kb_big": top, "vmhwm_kb_base": base, "capture_bytes_delta": cap_delta,
            "device_windows": windows,
            "bytes_per_device_window": delta / windows if windows else None}


def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "nproc": os.cpu_count(), "kernel": platform.release()}


def fmt_pps(v):
    return "n/a" if v is None else f"{v / 1e6:.3f} M"


def ratio(a, b):
    return None if not a or not b else a / b


def main():
    work, out = sys.argv[1], sys.argv[2]
    smoke = "--smoke" in sys.argv[3:]
    res = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "smoke": smoke, "machine": machine(), "cases": []}
    missing = []
    for name, enc in CASES:
        big = name.endswith("big")
        w1, w0 = weir_side(work, name, "weir1"), weir_side(work, name, "weir0")
        ce, ke, la = ceiling_side(work, name), kernel_side(work, name), latency_side(work, name)
        for what, v in (("weir workers=1", w1), ("weir workers=0", w0), ("ceiling", ce),
                        ("kernel", ke), ("latency", la)):
            if v is None and not (what == "latency" and big and not smoke):
                missing.append(f"{name}: {what}")
        best = max((x for x in (w1, w0) if x), key=lambda x: x["packets_per_s"], default=None)
        c = {"name": name, "encoding": enc,
             "devices": int(open(os.path.join(work, f"{name}.devices")).read()),
             "devices_seen": (w1 or {}).get("windows_emitted"),
             "weir_workers1": w1, "weir_workers0": w0, "ceiling": ce, "kernel": ke,
             "latency": la,
             "weir_best_packets_per_s": best and best["packets_per_s"],
             "weir_over_ceiling": ratio(best and best["packets_per_s"],
                                        ce and ce["packets_per_s"]),
             "weir_over_kernel": ratio(best and best["packets_per_s"],
                                       ke and ke["packets_per_s"]),
             "target_packets_per_s": None if smoke else TARGETS[name],
             "big": big}
        res["cases"].append(c)
    big = next(c for c in res["cases"] if c["big"])["weir_workers1"]
    res["memory"] = memory(work, big)
    if res["memory"] is None:
        missing.append("memory")
    mb = os.path.join(work, "microbench.json")
    res["microbench"] = load(mb)
    if res["microbench"] is None:
        missing.append("microbench")
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")

    print("| encoding | devices | weir pps (1 agg lcore) | weir pps (inline) | records/s "
          "| ceiling pps | kernel pps | weir/ceiling | weir/kernel | drops weir / kernel |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in res["cases"]:
        w1, w0, ce, ke = c["weir_workers1"], c["weir_workers0"], c["ceiling"], c["kernel"]
        best = max((x for x in (w1, w0) if x), key=lambda x: x["packets_per_s"], default=None)
        drops_w = max((x["dropped_max"] for x in (w1, w0) if x), default=None)
        drops_k = ke and ke["lost_max"]
        print(f"| {c['encoding']} | {c['devices']:,} | {fmt_pps(w1 and w1['packets_per_s'])} "
              f"| {fmt_pps(w0 and w0['packets_per_s'])} "
              f"| {fmt_pps(best and best['records_per_s'])} "
              f"| {fmt_pps(ce and ce['packets_per_s'])} | {fmt_pps(ke and ke['packets_per_s'])} "
              f"| {c['weir_over_ceiling'] or 0:.2f} | {c['weir_over_kernel'] or 0:.2f} "
              f"| {drops_w} / {drops_k} |")
    print()
    print("| latency run | rate (pps) | rx→agg p50 / p99 / p99.9 (µs) "
          "| close→ack p50 / p99 / p99.9 (ms) | max lag (s) |")
    print("|---|---|---|---|---|")
    for c in res["cases"]:
        la = c["latency"]
        if la is None:
            continue
        r, k = la["rx_to_agg_ns"], la["close_to_ack_ns"]
        print(f"| {c['name']} | {la['target_pps']:,} | {r['p50'] / 1e3:.1f} / {r['p99'] / 1e3:.1f}"
              f" / {r['p999'] / 1e3:.1f} | {k['p50'] / 1e6:.1f} / {k['p99'] / 1e6:.1f} / "
              f"{k['p999'] / 1e6:.1f} | {la['max_lag_s']:.3f} |")
    print()
    m = res["memory"]
    if m is not None and m["bytes_per_device_window"] is not None:
        print(f"Memory: {m['bytes_per_device_window']:.0f} resident bytes per device-window "
              f"({m['device_windows']:,} device-windows open; VmHWM {m['vmhwm_kb_big'] / 1024:.0f}"
              f" MiB vs {m['vmhwm_kb_base'] / 1024:.0f} MiB with 100 devices, capture size "
              f"difference removed)")
    mbr = res["microbench"]
    if mbr is not None:
        print()
        print("| microbenchmark | ns |")
        print("|---|---|")
        for enc, d in mbr["decode"].items():
            print(f"| decode {enc} (per record) | {d['ns_per_record']:.1f} |")
        for n, d in mbr["agg_table"].items():
            print(f"| device table lookup+update, {int(n):,} devices | {d['ns_per_update']:.1f} |")
        print(f"| agg_devkey_hash | {mbr['devkey_hash_ns']:.1f} |")
        print(f"| hdr_record | {mbr['hdr_record_ns']:.1f} |")
        snk = mbr.get("sink")
        if snk is not None:
            print(f"| sink double (fast / snprintf+strtod) | {snk['double_ns']:.1f} / "
                  f"{snk['double_plain_ns']:.1f} |")
            print(f"| sink result JSON ({snk['metrics']} metrics) | {snk['result_json_ns']:.1f} |")
            k = snk.get("kafka")
            if k is not None:
                lat = k["close_to_ack_ns"]
                print(f"\nSink: {k['results']:,} results in one window close through snk_loop "
                      f"into the embedded broker: {k['results_per_s']:,.0f} results/s, "
                      f"close->ack p50 {lat['p50'] / 1e6:.1f} ms p99 {lat['p99'] / 1e6:.1f} ms, "
                      f"{k['failed']} failed")
    print(f"\nresults: {out}", file=sys.stderr)
    if missing:
        print("perf: missing figures: " + ", ".join(missing), file=sys.stderr)
        return 1 if smoke else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
