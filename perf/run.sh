#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# weir performance harness (SPEC §8, issue 4). Builds a release tree,
# generates captures with weir-gen and, per encoding x devices, measures:
# the ceiling (perf-ceiling), `weir replay --speed max` with 1 and 0
# aggregator lcores, the kernel-socket baseline (perf-kernel-tx ->
# perf-kernel-rx over loopback), medians of $REPS runs; then latency at half
# the measured max rate, resident memory per device-window at the largest
# device count, and the microbenchmarks. Prints a Markdown table on stdout
# and writes results.json (perf/results.json; --smoke: under the build dir).
#
#   perf/run.sh            full run (about 5-10 minutes on 2 cores)
#   perf/run.sh --smoke    tiny captures, seconds; checks every figure is
#                          produced (never asserts on time)
#   PERF_CASES="json-big" perf/run.sh   re-run only these cases (and the
#                          memory and microbenchmarks), keep the others' files
#
# The 1,000,000-device case runs once per mode and has no latency run: its
# end-of-input flush of ~1e6 windows through the embedded broker takes
# minutes (see perf/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
case "${1:-}" in
--smoke) SMOKE=1 ;;
"") ;;
*) echo "usage: perf/run.sh [--smoke]" >&2; exit 2 ;;
esac

BUILD=${PERF_BUILD:-build-perf}
if [ "$SMOKE" = 1 ]; then
	N=20000; N_BIG=30000; DEV_BIG=10000; REPS=1
	WORK=$BUILD/perf-smoke; RESULTS=$WORK/results.json; MB_SECONDS=0.02
else
	N=2000000; N_BIG=3000000; DEV_BIG=1000000; REPS=3
	WORK=$BUILD/perf-work; RESULTS=perf/results.json; MB_SECONDS=0.3
fi
DEV=10000
START_S=1732233600	# weir-gen's default --start; the kernel receiver's arrival clock
START_NS=${START_S}000000000
PORT=${PERF_PORT:-$((20000 + $$ % 20000))}

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" -Dbuildtype=release -Db_ndebug=true -Dtests=false >/dev/null
fi
ninja -C "$BUILD" -j2 tools/weir tools/weir-gen perf/perf-ceiling perf/perf-kernel-rx \
	perf/perf-kernel-tx perf/perf-microbench >/dev/null
WEIR=$BUILD/tools/weir
GEN=$BUILD/tools/weir-gen
P=$BUILD/perf
log() { echo "perf: $*" >&2; }

# case name, encoding, devices, datagrams
ALL=("snr1-10k snr1 $DEV $N" "json-10k json $DEV $N" "influx-10k influx $DEV $N"
	"json-big json $DEV_BIG $N_BIG")
CASES=()
if [ -z "${PERF_CASES:-}" ]; then
	CASES=("${ALL[@]}")
	rm -rf "$WORK"
else
	for c in "${ALL[@]}"; do
		set -- $c
		case " $PERF_CASES " in *" $1 "*) CASES+=("$c"); rm -f "$WORK/$1".* ;; esac
	done
fi
mkdir -p "$WORK"

gen() {	# out, encoding, devices, count
	# rate 1e6 records/s: a few seconds of event time, inside one 60 s window
	"$GEN" -o "$1" --encoding "$2" --devices "$3" --count "$4" --rate 1000000 \
		--start "$START_S" --vlan 0 --ipv6 0 --seed 1 -q
}

median() {	# summary files -> the one with the median packets/s
	python3 -c '
import json, sys
def pps(f):
    d = json.load(open(f))
    return d["packets_per_s"] if "packets_per_s" in d else d["throughput"]["packets_per_s"]
runs = sorted(sys.argv[1:], key=pps)
print(runs[len(runs) // 2])' "$@"
}

# weir replay under a poller that keeps the last VmHWM seen (kB) in OUT.hwm
weir_run() {	# out-prefix, weir replay args...
	local out=$1 pid hwm=0 k v rest
	shift
	"$WEIR" replay "$@" >"$out.json" 2>"$out.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ -r "/proc/$pid/status" ]; then
			while read -r k v rest; do
				if [ "$k" = "VmHWM:" ]; then hwm=$v; fi
			done <"/proc/$pid/status" 2>/dev/null || true
		fi
		sleep 0.05
	done
	if ! wait "$pid"; then
		log "weir replay $* failed:"; tail -5 "$out.err" >&2; return 1
	fi
	echo "$hwm" >"$out.hwm"
}

kernel_run() {	# out-prefix, capture, datagrams
	local out=$1 cap=$2 count=$3 rx i
	rm -f "$out.ready"
	"$P/perf-kernel-rx" --port "$PORT" --count "$count" --idle-ms 1000 \
		--max-devices "$DEV_BIG" --ready-file "$out.ready" --clock-start "$START_NS" >"$out.krx.json" 2>"$out.krx.err" &
	rx=$!
	for i in $(seq 300); do
		[ -f "$out.ready" ] && break
		kill -0 "$rx" 2>/dev/null || break
		sleep 0.1
	done
	[ -f "$out.ready" ] || { log "perf-kernel-rx did not start"; cat "$out.krx.err" >&2; return 1; }
	"$P/perf-kernel-tx" "$cap" --port "$PORT" >"$out.ktx.json" 2>"$out.ktx.err"
	wait "$rx" || { log "perf-kernel-rx failed"; cat "$out.krx.err" >&2; return 1; }
}

for c in "${CASES[@]}"; do
	set -- $c
	log "generating $1 ($2, $3 devices, $4 datagrams)"
	gen "$WORK/$1.pcap" "$2" "$3" "$4"
	echo "$3" >"$WORK/$1.devices"
done
# memory baseline: same size and encoding as the big capture, few devices
gen "$WORK/mem-base.pcap" json 100 "$N_BIG"

for c in "${CASES[@]}"; do
	set -- $c
	name=$1 cap=$WORK/$1.pcap reps=$REPS
	[ "$name" = json-big ] && [ "$SMOKE" = 0 ] && reps=1
	for r in $(seq "$reps"); do
		log "$name run $r/$reps: ceiling"
		"$P/perf-ceiling" "$cap" >"$WORK/$name.ceiling.$r.json" 2>"$WORK/$name.ceiling.$r.err"
		log "$name run $r/$reps: weir replay workers=1"
		weir_run "$WORK/$name.weir1.$r" "$cap" --speed max --set aggregator.workers=1
		log "$name run $r/$reps: weir replay workers=0"
		weir_run "$WORK/$name.weir0.$r" "$cap" --speed max --set aggregator.workers=0
		log "$name run $r/$reps: kernel baseline"
		kernel_run "$WORK/$name.kernel.$r" "$cap" "$4"
	done
	[ "$name" = json-big ] && [ "$SMOKE" = 0 ] && continue
	# latency at half the median max rate (workers = 1, the default)
	best=$(median "$WORK/$name".weir1.*.json)
	half=$(python3 -c "import json,sys; \
print(max(1000, int(json.load(open(sys.argv[1]))['throughput']['packets_per_s'] / 2)))" "$best")
	log "$name: latency run at ${half} pps"
	weir_run "$WORK/$name.lat" "$cap" --speed "${half}pps" --set aggregator.workers=1
	echo "$half" >"$WORK/$name.lat.pps"
done

log "memory baseline (100 devices)"
weir_run "$WORK/mem-base" "$WORK/mem-base.pcap" --speed max --set aggregator.workers=1

log "microbenchmarks"
"$P/perf-microbench" --snr1 "$WORK/snr1-10k.pcap" --json "$WORK/json-10k.pcap" \
	--influx "$WORK/influx-10k.pcap" --devices "$DEV,$DEV_BIG" --seconds "$MB_SECONDS" \
	--kafka-results "$DEV" \
	>"$WORK/microbench.json" 2>"$WORK/microbench.err"

python3 perf/report.py "$WORK" "$RESULTS" $([ "$SMOKE" = 1 ] && echo --smoke)
