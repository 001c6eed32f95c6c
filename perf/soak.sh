#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Soak run (issue 5): weir replays a capture in a loop at a fixed rate into a
# weir-devbroker while broker faults are injected on a schedule; every
# minute it prints the counters and weir's RSS, at the end the summary and
# the accounting invariant (emitted + replayed = delivered + failed + spilled).
#
#   perf/soak.sh [--build DIR] [--minutes N] [--rate RECORDS_PER_S] [--devices N]
#
# Schedule (minute m of the run, from 1): every 5th minute the broker is down
# for 30 s; every 7th minute it has 200 ms RTT for 60 s. Results that time out
# (message.timeout.ms 10 s) go to a spill journal and are replayed after.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-gcc
MINUTES=30
RATE=20000
DEVICES=1000
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--minutes) MINUTES=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--devices) DEVICES=$2; shift 2 ;;
	*) echo "usage: $0 [--build DIR] [--minutes N] [--rate R] [--devices N]" >&2; exit 2 ;;
	esac
done
T=$BUILD/tools
WORK=$(mktemp -d /tmp/weir-soak-XXXXXX)
BROKER_PID=
WEIR_PID=
cleanup() {
	[ -n "$WEIR_PID" ] && kill "$WEIR_PID" 2>/dev/null || true
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null || true
	exec 3>&- || true
}
trap cleanup EXIT

"$T/weir-gen" -o "$WORK/cap.pcap" --devices "$DEVICES" --rate "$RATE" --duration 60 \
	--encoding json=1,influx=1,snr1=1 --jitter 1 -q
mkfifo "$WORK/cmds"
"$T/weir-devbroker" --partitions 64 --commands --bootstrap-file "$WORK/bs" \
	<"$WORK/cmds" >/dev/null 2>"$WORK/broker.err" &
BROKER_PID=$!
exec 3>"$WORK/cmds"
for _ in $(seq 100); do [ -s "$WORK/bs" ] && break; sleep 0.1; done
BS=$(cat "$WORK/bs")
SOCK=$WORK/weir.sock
# loops enough for the whole run (60 s per loop at 1x)
"$T/weir" replay "$WORK/cap.pcap" --speed 1x --loop $((MINUTES + 2)) \
	--set kafka.brokers="$BS" --set control.socket="$SOCK" --set control.metrics_listen= \
	--set window.size=10s --set window.slide=10s \
	--set sink.spill_dir="$WORK/spill" --set kafka.message.timeout.ms=10000 \
	>"$WORK/summary.json" 2>"$WORK/weir.err" &
WEIR_PID=$!
echo "soak: work dir $WORK, broker $BS, weir pid $WEIR_PID, $MINUTES min at $RATE records/s"

stats() {
	"$T/weirctl" -s "$SOCK" --json stats 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin); k = s["kafka"]
print("rx=%d accepted=%d dropped=%d emitted=%d delivered=%d failed=%d spilled=%d replayed=%d "
      "pending=%d" % (s["packets"]["rx"], s["records"]["accepted"], s["records"]["dropped"],
      s["windows"]["emitted"], k["delivered"], k["failed"], k["spilled"], k["replayed"],
      k["journal"]["pending"]))' || echo "stats unavailable"
}

start=$(date +%s)
for m in $(seq 1 "$MINUTES"); do
	if [ $((m % 5)) -eq 0 ]; then
		echo down >&3; sleep 30; echo up >&3; sleep 30
	elif [ $((m % 7)) -eq 0 ]; then
		echo "rtt 200" >&3; sleep 60; echo "rtt 0" >&3
	else
		sleep 60
	fi
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$WEIR_PID/status" 2>/dev/null || echo 0)
	printf 'soak: t=%4ds rss_kb=%s %s\n' $(( $(date +%s) - start )) "$rss" "$(stats)"
done
kill -TERM "$WEIR_PID"
wait "$WEIR_PID" || echo "soak: weir exited $?"
WEIR_PID=
python3 - "$WORK/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
k = s["kafka"]
lhs = s["windows"]["emitted"] + k["replayed"]
rhs = k["delivered"] + k["failed"] + k["spilled"]
print("soak: summary emitted=%d delivered=%d failed=%d spilled=%d replayed=%d pending=%d "
      "dropped=%d" % (s["windows"]["emitted"], k["delivered"], k["failed"], k["spilled"],
                      k["replayed"], k["journal"]["pending"], s["records"]["dropped"]))
print("soak: invariant emitted+replayed=%d delivered+failed+spilled=%d %s"
      % (lhs, rhs, "OK" if lhs == rhs else "BROKEN"))
sys.exit(0 if lhs == rhs else 1)
EOF
