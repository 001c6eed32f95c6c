#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""weir reference model: what `weir replay CAPTURE` must output.

Written from SPEC.md sections 3, 4, 5 and 7 only (never from the C code), so that
the integration tests compare two independent implementations. Python 3
standard library only.

Usage:
  refmodel.py CAPTURE.pcap [-c weir.conf] [--set section.key=value ...]
              [--loop N] [--out expected.json]
  refmodel.py (CAPTURE.pcap | --expected expected.json) [--set ...] [--loop N]
              --compare MESSAGES.jsonl [--summary SUMMARY.json]

expected.json = {"summary": {...SPEC 7 counters...}, "windows": [...SPEC 5...]}.

Exact rules this model follows where the spec leaves a choice (the C replay
follows the same ones):

Replay clock and --loop
  arrival = pcap timestamp in ns (+ shift). Pass i (0-based) of --loop N uses
  shift = i * span, added to arrival times and to decoded event times (not to
  arrival-defaulted times: they already use the shifted arrival), with
    raw  = max(0, ts(last frame in file) - ts(first frame in file))
    gap  = raw // (frames - 1) if frames >= 2 else 0
    span = raw + max(1 ms, gap)                         (all integer ns)
  future_timestamp compares event + shift > arrival + shift + max_future.

Watermark, late, windows (SPEC 4), in capture order
  Windows k: [k*D, k*D + S) in ns. t = event time (window.time = event) or
  arrival time (window.time = arrival). W starts undefined (-infinity).
  Idle advance, before every captured frame (whatever its class):
    if a valid record was seen and arrival - last_valid_arrival >= idle_timeout:
      W = max(W, W_at_last_valid + (arrival - last_valid_arrival))
    where W_at_last_valid is W right after the last valid record.
  Each valid record (passed every check), in order:
    W = max(W, t - allowed_lateness)            (before judging it)
    last_valid_arrival = arrival; W_at_last_valid = W
    late when floor(t/D)*D + S <= W (every window holding t is closed);
    else it joins windows first_k .. floor(t/D), first_k the first window
    holding t whose end > W. Late records count as valid (they move
    last_valid_arrival; they can never raise W).
  A window is emitted when it closes (W >= end) or at the final flush; each
  (device, window) that received a record is one emitted window. Times in
  the output are ms: start_ns // 1e6, end_ns // 1e6.
  Per metric, in capture order: count, min, max, sum by plain float addition,
  avg = sum / count, Welford (delta = v - mean; mean += delta / n;
  m2 += delta * (v - mean)), stddev = sqrt(m2 / n).

Frames (SPEC 3)
  Ethernet II; up to two tags of type 0x8100 / 0x88a8 (a third tag: ignored).
  IPv4: malformed when cut inside the 20-byte header or the options, version
  != 4, IHL < 5, total length < IHL*4 or > bytes after L2. Protocol != UDP:
  ignored. MF set or offset != 0: fragment (any port: later fragments carry
  no port). UDP: malformed when fewer than 8 bytes of IP payload, UDP length
  < 8 or > IP payload; then destination port not configured: ignored.
  IPv6: malformed when cut inside the 40-byte header, version != 6, payload
  length > bytes after the header; extension headers 0, 43, 60 are walked
  (length (hdr[1]+1)*8, malformed when cut inside, bounded by the payload
  length); a fragment header (44, 8 bytes) makes the packet a fragment when
  its chain leads to UDP (offset != 0: its next header field is 17; offset 0:
  the walk continues and reaches UDP), atomic fragments included; any other
  next header: ignored. No checksum is verified.

Payload (SPEC 3)
  Blank = space, tab, CR, LF. Detection: starts with "SNR1" -> SNR1; first
  non-blank '{' or '[' -> JSON; else line protocol; unless input.encoding
  pins it. An empty or all-blank payload is one record rejected bad_json
  (encoding json), truncated (snr1) or bad_line (auto, influx).
  Record checks in order: decoder syntax (bad_json / bad_line / bad_binary /
  truncated), device id (missing_device_id; bad_device_id: not a string,
  null, empty, > 64 bytes, not valid UTF-8), bad_timestamp, future_timestamp,
  no_metrics, out_of_range (value outside [min, max] inclusive, NaN, inf).
  Repeated keys (JSON keys, tags, fields) are taken in order: a later id or
  time field of the same or higher priority replaces an earlier one; a later
  numeric metric value replaces an earlier one; a non-numeric metric value is
  skipped (does not clear).
  JSON: NDJSON lines split at LF; a line with only blanks is no record. Each
  line: strict UTF-8, exactly one object (json module, strict, no NaN /
  Infinity). '[' first: the whole payload is one array (broken or invalid
  UTF-8: one bad_json; "[]" holds no record; a non-object element: one
  bad_json). Nesting deeper than 64 (the outermost container is level 1) is
  bad_json (array mode: the whole array). Keys are compared after unescaping.
  A lone surrogate escape in a device id makes it bad_device_id. Numbers
  become doubles as strtod does (overflow: inf -> out_of_range). Time: "ts"
  (wins) or "timestamp"; integer literal: exact integer, unit by magnitude
  (auto) or input.json_ts_unit, ns = v * unit, > int64 max or < 0 ->
  bad_timestamp; number with '.', 'e': exact decimal, ns = trunc(v * unit)
  (not through a double), >= 2^63 or v < 0 -> bad_timestamp; string:
  RFC 3339 "YYYY-MM-DD(T|t| )HH:MM:SS[.frac][Z|z|+HH:MM|-HH:MM]" (no zone =
  UTC, fraction truncated to ns, second 60 = next second); anything else
  (null, bool, object, array) -> bad_timestamp.
  Line protocol: lines split at LF, one trailing CR dropped; leading spaces
  and tabs skipped; blank lines and lines starting '#' are no record.
  measurement[,k=v...] SP+ field=v[,field=v...] [SP+ ts] [SP*]. In the
  measurement, tag keys, tag values and field keys a backslash before ',',
  '=', ' ' or '\\' escapes it, any other backslash is literal; keys and
  values must be non-empty; an unescaped '=' in a tag value is an error.
  Field values: float -?(D+[.D*]|.D+)([eE][+-]?D+)?, integer -?D+i (int64),
  unsigned D+u (uint64), booleans t T true True TRUE f F false False FALSE,
  strings "..." (\\" and \\\\ escapes; skipped). ts: -?D+ in ns (or
  input.influx_precision); negative or beyond int64 ns -> bad_timestamp.
  SNR1: fewer than 16 bytes left -> truncated (stop); wrong magic, flags !=
  0, id_len or n_values out of 1..64 -> bad_binary (stop); body cut ->
  truncated (stop); unknown/repeated metric id or reserved != 0 ->
  bad_binary (next record); ts_ms * 1e6 > int64 max -> bad_timestamp.
"""

import argparse
import datetime
import decimal
import json
import math
import re
import struct
import sys
from fractions import Fraction

INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
NS_PER_MS = 1000000

REASONS = ["bad_json", "bad_line", "bad_binary", "truncated", "fragment",
           "missing_device_id", "bad_device_id", "bad_timestamp",
           "future_timestamp", "no_metrics", "out_of_range"]

UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}

PKT_DATAGRAM, PKT_FRAGMENT, PKT_IGNORED, PKT_MALFORMED = range(4)

JSON_MAX_DEPTH = 64
BLANK = b" \t\r\n"


class ModelError(Exception):
    """Bad command line, config or capture file."""


# ---------------------------------------------------------------- config

_DUR_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|ms|s|m|h)?\s*$")
_DUR_MULT = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, None: 10**9,
             "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration(text):
    """Duration with ns/us/ms/s/m/h suffix (bare = seconds) -> int ns."""
    m = _DUR_RE.match(text)
    if not m:
        raise ModelError("bad duration %r" % text)
    return int(Fraction(m.group(1)) * _DUR_MULT[m.group(2)])


def _list(text):
    return [x.strip() for x in text.split(",") if x.strip()]


class Config:
    """The subset of weir's configuration that decides the output."""

    def __init__(self):
        self.udp_ports = {9700}
        self.metrics = ["temperature", "humidity", "pressure", "vibration"]
        self.device_id_fields = ["device_id", "sensor_id"]
        self.ranges = {}
        self.max_future = 5 * 60 * 10**9
        self.encoding = "auto"
        self.json_ts_unit = "auto"
        self.influx_precision = "ns"
        self.size = 60 * 10**9
        self.slide = 60 * 10**9
        self.lateness = 5 * 10**9
        self.idle_timeout = 10 * 10**9
        self.time = "event"

    def set(self, section, key, value):
        section = section.strip()
        key = key.strip()
        value = value.strip()
        if section == "input":
            if key == "udp_ports":
                ports = set()
                for p in _list(value):
                    if not p.isdigit() or not 0 < int(p) < 65536:
                        raise ModelError("input.udp_ports: bad port %r" % p)
                    ports.add(int(p))
                self.udp_ports = ports
            elif key == "metrics":
                self.metrics = _list(value)
            elif key == "device_id_fields":
                self.device_id_fields = _list(value)
            elif key.startswith("range."):
                parts = _list(value)
                if len(parts) != 2:
                    raise ModelError("input.%s: need two numbers" % key)
                self.ranges[key[6:]] = (float(parts[0]), float(parts[1]))
            elif key == "max_future":
                self.max_future = parse_duration(value)
            elif key == "encoding":
                if value not in ("auto", "json", "influx", "snr1"):
                    raise ModelError("input.encoding: bad value %r" % value)
                self.encoding = value
            elif key == "json_ts_unit":
                if value not in ("auto", "s", "ms", "us", "ns"):
                    raise ModelError("input.json_ts_unit: bad value %r" % value)
                self.json_ts_unit = value
            elif key == "influx_precision":
                if value not in ("auto", "s", "ms", "us", "ns"):
                    raise ModelError("input.influx_precision: bad value %r" % value)
                self.influx_precision = "ns" if value == "auto" else value
        elif section == "window":
            if key == "size":
                self.size = parse_duration(value)
            elif key == "slide":
                self.slide = parse_duration(value)
            elif key == "allowed_lateness":
                self.lateness = parse_duration(value)
            elif key == "idle_timeout":
                self.idle_timeout = parse_duration(value)
            elif key == "time":
                if value not in ("event", "arrival"):
                    raise ModelError("window.time: bad value %r" % value)
                self.time = value
        # every other section / key does not change the output

    def set_arg(self, assignment):
        """'section.key=value', split at the first dot."""
        if "=" not in assignment or "." not in assignment.split("=", 1)[0]:
            raise ModelError("--set %s: expected section.key=value" % assignment)
        lhs, value = assignment.split("=", 1)
        section, key = lhs.split(".", 1)
        self.set(section, key, value)

    def load_ini(self, path):
        section = None
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if not line or line[0] in ";#":
                    continue
                if line.startswith("["):
                    section = line.strip("[]").strip()
                    continue
                if "=" not in line or section is None:
                    raise ModelError("%s: cannot parse %r" % (path, line))
                key, value = line.split("=", 1)
                # inline comments: ' ;' starts one
                value = re.split(r"\s;", value, 1)[0]
                self.set(section, key, value)

    def check(self):
        if self.size <= 0 or self.slide <= 0 or self.size % self.slide:
            raise ModelError("window.size must be a positive multiple of window.slide")

    def finish(self):
        """Derived lookup tables."""
        self.check()
        self.metric_index = {m: i for i, m in enumerate(self.metrics)}
        self.metric_index_b = {m.encode(): i for i, m in enumerate(self.metrics)}
        self.id_prio = {f: i for i, f in enumerate(self.device_id_fields)}
        self.id_prio_b = {f.encode(): i for i, f in enumerate(self.device_id_fields)}
        inf = float("inf")
        self.bounds = [self.ranges.get(m, (-inf, inf)) for m in self.metrics]


# ---------------------------------------------------------------- capture

def read_pcap(path):
    """Classic pcap (us or ns magic, either byte order) -> [(ts_ns, frame)]."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ModelError("%s: not a pcap file (too short)" % path)
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
             b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in table:
        raise ModelError("%s: not a classic pcap file (magic %s)" % (path, magic.hex()))
    end, mult = table[magic]
    linktype = struct.unpack_from(end + "I", data, 20)[0] & 0x0fffffff
    if linktype != 1:
        raise ModelError("%s: link type %d, need Ethernet (1)" % (path, linktype))
    hdr = struct.Struct(end + "IIII")
    out = []
    off = 24
    n = len(data)
    while off < n:
        if n - off < 16:
            raise ModelError("%s: truncated record header at %d" % (path, off))
        sec, frac, caplen, _ = hdr.unpack_from(data, off)
        off += 16
        if n - off < caplen:
            raise ModelError("%s: truncated record at %d" % (path, off))
        out.append((sec * 10**9 + frac * mult, data[off:off + caplen]))
        off += caplen
    return out


def loop_span(frames):
    if not frames:
        return NS_PER_MS
    raw = max(0, frames[-1][0] - frames[0][0])
    gap = raw // (len(frames) - 1) if len(frames) >= 2 else 0
    return raw + max(NS_PER_MS, gap)


# ---------------------------------------------------------------- L2-L4

def classify(f, ports):
    """-> (class, payload or None)."""
    n = len(f)
    if n < 14:
        return PKT_MALFORMED, None
    et = (f[12] << 8) | f[13]
    off = 14
    for _ in range(2):
        if et in (0x8100, 0x88a8):
            if n - off < 4:
                return PKT_MALFORMED, None
            et = (f[off + 2] << 8) | f[off + 3]
            off += 4
    if et == 0x0800:
        return _ipv4(f, off, ports)
    if et == 0x86dd:
        return _ipv6(f, off, ports)
    return PKT_IGNORED, None


def _udp(f, l4, avail, ports):
    if avail < 8:
        return PKT_MALFORMED, None
    ulen = (f[l4 + 4] << 8) | f[l4 + 5]
    if ulen < 8 or ulen > avail:
        return PKT_MALFORMED, None
    dport = (f[l4 + 2] << 8) | f[l4 + 3]
    if dport not in ports:
        return PKT_IGNORED, None
    return PKT_DATAGRAM, f[l4 + 8:l4 + ulen]


def _ipv4(f, off, ports):
    room = len(f) - off
    if room < 20:
        return PKT_MALFORMED, None
    ver = f[off] >> 4
    ihl = (f[off] & 15) * 4
    if ver != 4 or ihl < 20 or room < ihl:
        return PKT_MALFORMED, None
    tot = (f[off + 2] << 8) | f[off + 3]
    if tot < ihl or tot > room:
        return PKT_MALFORMED, None
    if f[off + 9] != 17:
        return PKT_IGNORED, None
    frag = (f[off + 6] << 8) | f[off + 7]
    if frag & 0x3fff:
        return PKT_FRAGMENT, None
    return _udp(f, off + ihl, tot - ihl, ports)


def _ipv6(f, off, ports):
    room = len(f) - off
    if room < 40:
        return PKT_MALFORMED, None
    if f[off] >> 4 != 6:
        return PKT_MALFORMED, None
    plen = (f[off + 4] << 8) | f[off + 5]
    if plen > room - 40:
        return PKT_MALFORMED, None
    nh = f[off + 6]
    p = off + 40
    end = p + plen
    fragmented = False
    while True:
        if nh in (0, 43, 60):
            if end - p < 2:
                return PKT_MALFORMED, None
            hl = (f[p + 1] + 1) * 8
            if end - p < hl:
                return PKT_MALFORMED, None
            nh = f[p]
            p += hl
        elif nh == 44:
            if end - p < 8:
                return PKT_MALFORMED, None
            nxt = f[p]
            offset = ((f[p + 2] << 8) | f[p + 3]) >> 3
            p += 8
            fragmented = True
            if offset != 0:
                return (PKT_FRAGMENT if nxt == 17 else PKT_IGNORED), None
            nh = nxt
        elif nh == 17:
            if fragmented:
                return PKT_FRAGMENT, None
            return _udp(f, p, end - p, ports)
        else:
            return PKT_IGNORED, None


# ---------------------------------------------------------------- records
#
# A decoded record is either a reason string (rejected) or a tuple
# (id_bytes, event_ns or None, {metric_index: value}) that passed every check
# except the watermark. event_ns is before the loop shift.

def _utf8_ok(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def finish_record(cfg, id_state, id_bytes, ts_state, ts_ns, values, arrival):
    """Common checks in SPEC order. id_state/ts_state: None=absent, 'bad', 'ok'."""
    if id_state is None:
        return "missing_device_id"
    if id_state == "bad" or not 1 <= len(id_bytes) <= 64 or not _utf8_ok(id_bytes):
        return "bad_device_id"
    if ts_state == "bad":
        return "bad_timestamp"
    if ts_state == "ok" and ts_ns > arrival + cfg.max_future:
        return "future_timestamp"
    if not values:
        return "no_metrics"
    for i, v in values.items():
        lo, hi = cfg.bounds[i]
        if not math.isfinite(v) or v < lo or v > hi:
            return "out_of_range"
    return (id_bytes, ts_ns if ts_state == "ok" else None, values)


def time_from_int(v, unit):
    """Exact integer epoch -> ns, or None when negative / beyond int64 ns."""
    if v < 0 or v > INT64_MAX:
        return None
    if unit == "auto":
        unit = "s" if v < 10**11 else "ms" if v < 10**14 else "us" if v < 10**17 else "ns"
    ns = v * UNIT_NS[unit]
    return ns if ns <= INT64_MAX else None


def time_from_double(d, unit):
    if not math.isfinite(d) or d < 0:
        return None
    if unit == "auto":
        unit = "s" if d < 1e11 else "ms" if d < 1e14 else "us" if d < 1e17 else "ns"
    p = d * float(UNIT_NS[unit])
    if p >= 9223372036854775808.0:
        return None
    return int(p)


_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                      r"([Zz]|[+-]\d{2}:\d{2})?")
_EPOCH_ORD = datetime.date(1970, 1, 1).toordinal()


def time_from_rfc3339(s):
    m = _RFC3339.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    # second 60 (a leap second) is accepted and lands on the next second
    if h > 23 or mi > 59 or sec > 60:
        return None
    try:
        days = datetime.date(y, mo, d).toordinal() - _EPOCH_ORD
    except ValueError:
        return None
    off = 0
    z = m.group(8)
    if z and z not in "Zz":
        oh, om = int(z[1:3]), int(z[4:6])
        if oh > 23 or om > 59:
            return None
        off = (oh * 3600 + om * 60) * (1 if z[0] == "+" else -1)
    frac = m.group(7)
    frac_ns = int((frac[1:] + "000000000")[:9]) if frac else 0
    ns = (days * 86400 + h * 3600 + mi * 60 + sec - off) * 10**9 + frac_ns
    if ns < 0 or ns > INT64_MAX:
        return None
    return ns


# ---- JSON

class JNum:
    __slots__ = ("text", "is_int")

    def __init__(self, text, is_int):
        self.text = text
        self.is_int = is_int


class JObj:
    __slots__ = ("pairs",)

    def __init__(self, pairs):
        self.pairs = pairs


def _reject_constant(name):
    raise ValueError("non-finite literal " + name)


_DECODER = json.JSONDecoder(object_pairs_hook=JObj, strict=True,
                            parse_int=lambda s: JNum(s, True),
                            parse_float=lambda s: JNum(s, False),
                            parse_constant=_reject_constant)


def _depth(v):
    """Nesting depth of containers (1 for a flat object), iterative."""
    best = 0
    stack = [(v, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, JObj):
            best = max(best, d)
            if best > JSON_MAX_DEPTH:
                return best
            stack.extend((y, d + 1) for _, y in x.pairs if isinstance(y, (JObj, list)))
        elif isinstance(x, list):
            best = max(best, d)
            if best > JSON_MAX_DEPTH:
                return best
            stack.extend((y, d + 1) for y in x if isinstance(y, (JObj, list)))
    return best


def _json_parse(b):
    """bytes -> parsed value, or None when not valid JSON / too deep."""
    try:
        s = b.decode("utf-8")
        v = _DECODER.decode(s)
    except (ValueError, RecursionError):
        return None
    # deeper than the bound needs more brackets than that: skip the walk
    if b.count(b"{") + b.count(b"[") > JSON_MAX_DEPTH and _depth(v) > JSON_MAX_DEPTH:
        return None
    return v


def _json_number_time(n, unit):
    if n.is_int:
        digits = n.text.lstrip("-")
        if len(digits) > 30:
            return None
        return time_from_int(int(n.text), unit)
    return time_from_decimal(n.text, unit)


def time_from_decimal(text, unit):
    """A JSON number with '.' or an exponent, converted exactly (not via a
    double): ns = trunc(decimal value * unit)."""
    try:
        d = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    if not d.is_finite() or d < 0:
        return None
    if d.adjusted() > 30:
        return None
    if unit == "auto":
        unit = ("s" if d < 10**11 else "ms" if d < 10**14 else "us" if d < 10**17
                else "ns")
    with decimal.localcontext() as ctx:
        ctx.prec = 80
        ns = int(d * UNIT_NS[unit])
    return ns if ns <= INT64_MAX else None


def json_record(cfg, obj, arrival):
    if not isinstance(obj, JObj):
        return "bad_json"
    id_prio = ts_prio = None
    id_val = ts_val = None
    values = {}
    idp = cfg.id_prio
    mi = cfg.metric_index
    for k, v in obj.pairs:
        p = idp.get(k)
        if p is not None and (id_prio is None or p <= id_prio):
            id_prio, id_val = p, v
        if k == "ts" or k == "timestamp":
            p = 0 if k == "ts" else 1
            if ts_prio is None or p <= ts_prio:
                ts_prio, ts_val = p, v
        i = mi.get(k)
        if i is not None and isinstance(v, JNum):
            values[i] = float(v.text)
    id_state = None
    id_bytes = b""
    if id_prio is not None:
        id_state = "bad"
        if isinstance(id_val, str):
            try:
                id_bytes = id_val.encode("utf-8")
                id_state = "ok"
            except UnicodeEncodeError:
                pass
    ts_state = None
    ts_ns = None
    if ts_prio is not None:
        if isinstance(ts_val, JNum):
            ts_ns = _json_number_time(ts_val, cfg.json_ts_unit)
        elif isinstance(ts_val, str):
            ts_ns = time_from_rfc3339(ts_val)
        ts_state = "bad" if ts_ns is None else "ok"
    return finish_record(cfg, id_state, id_bytes, ts_state, ts_ns, values, arrival)


def decode_json(cfg, p, arrival):
    out = []
    s = p.lstrip(BLANK)
    if s[:1] == b"[":
        v = _json_parse(p)
        if not isinstance(v, list):
            return ["bad_json"]
        for el in v:
            out.append(json_record(cfg, el, arrival))
        return out
    for line in p.split(b"\n"):
        if not line.strip(BLANK):
            continue
        v = _json_parse(line)
        if v is None:
            out.append("bad_json")
        else:
            out.append(json_record(cfg, v, arrival))
    return out


# ---- line protocol

_FLOAT_RE = re.compile(rb"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(rb"-?\d+i")
_UINT_RE = re.compile(rb"\d+u")
_TS_RE = re.compile(rb"-?\d+")
_BOOLS = {b"t", b"T", b"true", b"True", b"TRUE", b"f", b"F", b"false", b"False", b"FALSE"}


class _Bad(Exception):
    pass


# Escaped token: a backslash takes the next byte with it (an escape when that
# byte is one of , = space backslash, else both stay literal); a trailing
# backslash is literal. Tokens end at an unescaped byte of their stop set.
_TOK_KEY = re.compile(rb"(?:[^\\,= ]|\\.|\\$)*")     # stops at , = space
_TOK_MEAS = re.compile(rb"(?:[^\\, ]|\\.|\\$)*")     # stops at , space
_UNESC = re.compile(rb"\\([,= \\])")


def _influx_token(s, i, pattern):
    """-> (unescaped token, index of the stop byte or len(s))."""
    m = pattern.match(s, i)
    tok = m.group()
    if 0x5c in tok:
        tok = _UNESC.sub(rb"\1", tok)
    return tok, m.end()


def influx_line(cfg, s, arrival):
    n = len(s)
    meas, i = _influx_token(s, 0, _TOK_MEAS)
    if not meas or i >= n:
        raise _Bad()
    id_prio = None
    id_bytes = b""
    if s[i] == 0x2c:
        while True:
            key, i = _influx_token(s, i + 1, _TOK_KEY)
            if not key or i >= n or s[i] != 0x3d:
                raise _Bad()
            val, i = _influx_token(s, i + 1, _TOK_KEY)
            if not val or i >= n or s[i] == 0x3d:
                raise _Bad()
            p = cfg.id_prio_b.get(key)
            if p is not None and (id_prio is None or p <= id_prio):
                id_prio, id_bytes = p, val
            if s[i] == 0x20:
                break
    while i < n and s[i] == 0x20:
        i += 1
    if i >= n:
        raise _Bad()
    values = {}
    while True:
        key, i = _influx_token(s, i, _TOK_KEY)
        if not key or i >= n or s[i] != 0x3d:
            raise _Bad()
        i += 1
        if i < n and s[i] == 0x22:
            i += 1
            while True:
                if i >= n:
                    raise _Bad()
                c = s[i]
                if c == 0x5c and i + 1 < n and s[i + 1] in b'"\\':
                    i += 2
                elif c == 0x22:
                    i += 1
                    break
                else:
                    i += 1
            if i < n and s[i] not in b", ":
                raise _Bad()
        else:
            j = i
            while j < n and s[j] not in b", ":
                j += 1
            tok = s[i:j]
            i = j
            idx = cfg.metric_index_b.get(key)
            if _FLOAT_RE.fullmatch(tok):
                if idx is not None:
                    values[idx] = float(tok)
            elif _INT_RE.fullmatch(tok):
                v = int(tok[:-1])
                if v < -(1 << 63) or v > INT64_MAX:
                    raise _Bad()
                if idx is not None:
                    values[idx] = float(v)
            elif _UINT_RE.fullmatch(tok):
                v = int(tok[:-1])
                if v > UINT64_MAX:
                    raise _Bad()
                if idx is not None:
                    values[idx] = float(v)
            elif tok not in _BOOLS:
                raise _Bad()
        if i >= n or s[i] == 0x20:
            break
        i += 1  # ','
    while i < n and s[i] == 0x20:
        i += 1
    ts_state = None
    ts_ns = None
    if i < n:
        j = i
        while j < n and s[j] != 0x20:
            j += 1
        tok = s[i:j]
        if not _TS_RE.fullmatch(tok):
            raise _Bad()
        while j < n and s[j] == 0x20:
            j += 1
        if j != n:
            raise _Bad()
        v = int(tok) if len(tok) <= 30 else INT64_MAX + 1
        ts_ns = time_from_int(v, cfg.influx_precision)
        ts_state = "bad" if ts_ns is None else "ok"
    id_state = None if id_prio is None else "ok"
    return finish_record(cfg, id_state, id_bytes, ts_state, ts_ns, values, arrival)


def decode_influx(cfg, p, arrival):
    out = []
    for line in p.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        line = line.lstrip(b" \t")
        if not line.strip(b" \t\r") or line[0] == 0x23:
            continue
        try:
            out.append(influx_line(cfg, line, arrival))
        except _Bad:
            out.append("bad_line")
    return out


# ---- SNR1

_SNR1_HDR = struct.Struct("<4sBBHQ")
_SNR1_VAL = struct.Struct("<HHf")


def decode_snr1(cfg, p, arrival):
    out = []
    off = 0
    n = len(p)
    nm = len(cfg.metrics)
    while off < n:
        if n - off < 16:
            out.append("truncated")
            break
        magic, id_len, n_values, flags, ts_ms = _SNR1_HDR.unpack_from(p, off)
        if magic != b"SNR1" or flags != 0 or not 1 <= id_len <= 64 or not 1 <= n_values <= 64:
            out.append("bad_binary")
            break
        rec_len = 16 + id_len + 8 * n_values
        if n - off < rec_len:
            out.append("truncated")
            break
        dev = p[off + 16:off + 16 + id_len]
        values = {}
        bad = False
        q = off + 16 + id_len
        for _ in range(n_values):
            mid, res, val = _SNR1_VAL.unpack_from(p, q)
            q += 8
            if mid >= nm or mid in values or res != 0:
                bad = True
            values[mid] = val
        off += rec_len
        if bad:
            out.append("bad_binary")
            continue
        ts_ns = time_from_int(ts_ms, "ms")
        out.append(finish_record(cfg, "ok", dev, "bad" if ts_ns is None else "ok",
                                 ts_ns, values, arrival))
    return out


def decode_payload(cfg, p, arrival):
    """Records of one UDP payload (arrival = unshifted capture time)."""
    enc = None
    if p[:4] == b"SNR1":
        enc = "snr1"
    else:
        s = p.lstrip(BLANK)
        if s:
            enc = "json" if s[0] in b"{[" else "influx"
    if enc is None:
        return [{"json": "bad_json", "snr1": "truncated"}.get(cfg.encoding, "bad_line")]
    if cfg.encoding != "auto":
        enc = cfg.encoding
    if enc == "snr1":
        return decode_snr1(cfg, p, arrival)
    if enc == "json":
        return decode_json(cfg, p, arrival)
    return decode_influx(cfg, p, arrival)


# ---------------------------------------------------------------- pipeline

class Model:
    def __init__(self, cfg):
        cfg.finish()
        self.cfg = cfg
        self.rx = self.ignored = self.malformed = self.datagrams = 0
        self.accepted = self.late = 0
        self.rejected = dict.fromkeys(REASONS, 0)
        self.W = None
        self.last_valid_arrival = None
        self.W_at_last_valid = None
        self.windows = {}   # (id bytes, k) -> [count, {metric: [n,min,max,sum,mean,m2]}]

    def run(self, frames, loops=1):
        cfg = self.cfg
        span = loop_span(frames)
        cache = [None] * len(frames)
        for lp in range(loops):
            shift = lp * span
            for idx, (ts, frame) in enumerate(frames):
                c = cache[idx]
                if c is None:
                    cls, payload = classify(frame, cfg.udp_ports)
                    recs = decode_payload(cfg, payload, ts) if cls == PKT_DATAGRAM else None
                    c = cache[idx] = (cls, recs)
                self.packet(ts + shift, shift, c[0], c[1])

    def packet(self, arrival, shift, cls, recs):
        self.rx += 1
        if self.last_valid_arrival is not None:
            idle = arrival - self.last_valid_arrival
            if idle >= self.cfg.idle_timeout:
                w = self.W_at_last_valid + idle
                if w > self.W:
                    self.W = w
        if cls == PKT_IGNORED:
            self.ignored += 1
            return
        if cls == PKT_MALFORMED:
            self.malformed += 1
            return
        self.datagrams += 1
        if cls == PKT_FRAGMENT:
            self.rejected["fragment"] += 1
            return
        for r in recs:
            if isinstance(r, str):
                self.rejected[r] += 1
            else:
                self.record(arrival, shift, r)

    def record(self, arrival, shift, r):
        cfg = self.cfg
        dev, ev, values = r
        if cfg.time == "arrival" or ev is None:
            t = arrival
        else:
            t = ev + shift
        w = t - cfg.lateness
        if self.W is None or w > self.W:
            self.W = w
        W = self.W
        self.last_valid_arrival = arrival
        self.W_at_last_valid = W
        S, D = cfg.size, cfg.slide
        last_k = t // D
        if last_k * D + S <= W:
            self.late += 1
            return
        self.accepted += 1
        first_k = max((t - S) // D + 1, (W - S) // D + 1)
        for k in range(first_k, last_k + 1):
            win = self.windows.get((dev, k))
            if win is None:
                win = self.windows[(dev, k)] = [0, {}]
            win[0] += 1
            st = win[1]
            for i, v in values.items():
                s = st.get(i)
                if s is None:
                    st[i] = [1, v, v, v, v, 0.0]
                    continue
                s[0] += 1
                if v < s[1]:
                    s[1] = v
                if v > s[2]:
                    s[2] = v
                s[3] += v
                delta = v - s[4]
                s[4] += delta / s[0]
                s[5] += delta * (v - s[4])

    def summary(self):
        return {
            "packets": {"rx": self.rx, "ignored": self.ignored, "malformed": self.malformed},
            "datagrams": self.datagrams,
            "records": {"accepted": self.accepted, "late": self.late,
                        "rejected": sum(self.rejected.values()), "dropped": 0,
                        "rejected_by_reason": dict(self.rejected)},
            "windows": {"emitted": len(self.windows)},
        }

    def results(self):
        cfg = self.cfg
        out = []
        for (dev, k), (count, st) in self.windows.items():
            start = k * cfg.slide
            metrics = {}
            for i in sorted(st):
                n, mn, mx, sm, _, m2 = st[i]
                metrics[cfg.metrics[i]] = {"count": n, "min": mn, "max": mx, "sum": sm,
                                           "avg": sm / n, "stddev": math.sqrt(m2 / n)}
            out.append({"device_id": dev.decode("utf-8"),
                        "window_start": start // NS_PER_MS,
                        "window_end": (start + cfg.size) // NS_PER_MS,
                        "count": count, "metrics": metrics})
        out.sort(key=lambda r: (r["window_start"], r["window_end"], r["device_id"]))
        return out


# ---------------------------------------------------------------- compare

def _close(a, b):
    if a == b:
        return True
    if not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    if abs(a) < 1e-6 and abs(b) < 1e-6:
        return abs(a - b) <= 1e-9
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def compare_windows(expected, actual, limit=10):
    """-> list of human readable differences (empty when equal)."""
    diffs = []

    def key(r):
        return (r.get("device_id"), r.get("window_start"), r.get("window_end"))

    exp = {}
    for r in expected:
        exp.setdefault(key(r), []).append(r)
    act = {}
    for r in actual:
        act.setdefault(key(r), []).append(r)
    for k in sorted(set(exp) | set(act), key=repr):
        e, a = exp.get(k, []), act.get(k, [])
        if len(e) != len(a):
            diffs.append("window %s: expected %d message(s), got %d" % (k, len(e), len(a)))
            continue
        for er, ar in zip(e, a):
            if er["count"] != ar.get("count"):
                diffs.append("window %s: count expected %s got %s"
                             % (k, er["count"], ar.get("count")))
            em, am = er["metrics"], ar.get("metrics") or {}
            if set(em) != set(am):
                diffs.append("window %s: metrics expected %s got %s"
                             % (k, sorted(em), sorted(am)))
                continue
            for m in sorted(em):
                for f in ("count", "min", "max"):
                    if em[m][f] != am[m].get(f):
                        diffs.append("window %s %s.%s: expected %r got %r"
                                     % (k, m, f, em[m][f], am[m].get(f)))
                for f in ("sum", "avg", "stddev"):
                    if not _close(em[m][f], am[m].get(f)):
                        diffs.append("window %s %s.%s: expected %r got %r"
                                     % (k, m, f, em[m][f], am[m].get(f)))
        if len(diffs) >= limit:
            break
    return diffs


def compare_summary(expected, actual):
    diffs = []

    def get(d, path):
        for p in path:
            if not isinstance(d, dict) or p not in d:
                return None
            d = d[p]
        return d

    paths = [("packets", "rx"), ("packets", "ignored"), ("packets", "malformed"),
             ("datagrams",), ("records", "accepted"), ("records", "late"),
             ("records", "rejected"), ("records", "dropped"), ("windows", "emitted")]
    paths += [("records", "rejected_by_reason", r) for r in REASONS]
    for p in paths:
        e, a = get(expected, p), get(actual, p)
        if a is None and e == 0 and len(p) == 3:
            continue
        if e != a:
            diffs.append("summary %s: expected %r got %r" % (".".join(p), e, a))
    return diffs


def load_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise ModelError("%s:%d: not JSON: %s" % (path, n, e))
    return out


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="weir reference model (SPEC 3-5, 7).")
    ap.add_argument("capture", nargs="?", help="classic pcap capture")
    ap.add_argument("-c", "--config", help="weir INI config file")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--loop", type=int, default=1, help="replay passes (default 1)")
    ap.add_argument("--out", help="write expected JSON here (default stdout)")
    ap.add_argument("--expected", help="with --compare: read expected JSON instead of a capture")
    ap.add_argument("--compare", metavar="MESSAGES.jsonl",
                    help="Kafka message values, one JSON per line")
    ap.add_argument("--summary", help="with --compare: weir's summary JSON")
    a = ap.parse_args(argv)
    try:
        if a.loop < 1:
            raise ModelError("--loop must be >= 1")
        if a.expected:
            with open(a.expected, encoding="utf-8") as f:
                exp = json.load(f)
        else:
            if not a.capture:
                raise ModelError("need a capture (or --expected with --compare)")
            cfg = Config()
            if a.config:
                cfg.load_ini(a.config)
            for s in a.set:
                cfg.set_arg(s)
            model = Model(cfg)
            model.run(read_pcap(a.capture), a.loop)
            exp = {"summary": model.summary(), "windows": model.results()}
        if not a.compare:
            # one window per line: readable, diffable, and the C encoder is used
            text = ('{"summary": %s,\n "windows": [\n' % json.dumps(exp["summary"])
                    + ",\n".join(json.dumps(w) for w in exp["windows"]) + "\n]}\n")
            if a.out:
                with open(a.out, "w", encoding="utf-8") as f:
                    f.write(text)
            else:
                sys.stdout.write(text)
            return 0
        diffs = compare_windows(exp["windows"], load_jsonl(a.compare))
        if a.summary:
            with open(a.summary, encoding="utf-8") as f:
                diffs = compare_summary(exp["summary"], json.load(f)) + diffs
    except (ModelError, OSError, ValueError, KeyError) as e:
        print("refmodel: error: %s" % e, file=sys.stderr)
        return 2
    if diffs:
        print("refmodel: MISMATCH (%d difference(s) shown, first first):" % len(diffs),
              file=sys.stderr)
        for d in diffs:
            print("  " + d, file=sys.stderr)
        return 1
    print("refmodel: match: %d windows" % len(exp["windows"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
